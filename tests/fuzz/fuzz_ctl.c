/*
 * fuzz_ctl.c - libFuzzer target for the control socket's request parser
 * (apps/ctl.c, mps_ctl_parse_request): any bytes a local client may send
 * on the socket, as one line.  The answer is one of the three documented.
 */
#include "ctl.h"
#include "mps_err.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *line = malloc(size ? size : 1);
	int rc;

	if (line == NULL)
		return 0;
	memcpy(line, data, size);
	rc = mps_ctl_parse_request(line, size);
	if (rc != MPS_CTL_STATUS && rc != MPS_CTL_STATUS_JSON && rc != MPS_ERR_INVAL)
		abort();
	free(line);
	return 0;
}
