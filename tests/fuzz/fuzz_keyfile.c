/*
 * fuzz_keyfile.c - libFuzzer target for the group key file's text
 * (apps/opts.c, mps_opts_parse_group_keys): one or two base64 keys, one per
 * line.  Keys that parse must be 1 or 2; on failure the key buffer is wiped.
 */
#include "mps_err.h"
#include "opts.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t keys[2][MPS_GROUP_KEY_BYTES];
	char *text = malloc(size ? size : 1);
	size_t n = 99, i;
	int rc;

	if (text == NULL)
		return 0;
	memcpy(text, data, size);
	memset(keys, 0xee, sizeof(keys));
	rc = mps_opts_parse_group_keys(text, size, keys, &n);
	if (rc == 0 && (n < 1 || n > 2))
		abort();
	if (rc != 0) {
		if ((rc != MPS_ERR_MALFORMED && rc != MPS_ERR_INVAL) || n != 0)
			abort();
		for (i = 0; i < sizeof(keys); i++)
			if (((uint8_t *)keys)[i] != 0)
				abort(); /* a failed parse leaves no key bytes behind */
	}
	free(text);
	return 0;
}
