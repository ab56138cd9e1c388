/*
 * fuzz_gmsg.c - libFuzzer target for the group messages (stack/group.c):
 * the input is the bytes of a TCP option list on a segment whose flags are
 * the first byte.  Whatever mps_opt_parse takes as MP_EXPERIMENTAL goes
 * through mps_gmsg_parse; a message that parses must write back the same
 * bytes (mps_gmsg_put) and parse again to the same fields.
 */
#include "group.h"
#include "mps_err.h"
#include "opt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	mps_opts o, w;
	mps_gmsg g, back;

	if (size < 1)
		return 0;
	if (mps_opt_parse(&o, data + 1, size - 1, data[0]) != 0 || !(o.present & MPS_OPT_EXP))
		return 0;
	if (mps_gmsg_parse(&g, &o) != 0)
		return 0;
	if (g.type < MPS_GMSG_REQ || g.type > MPS_GMSG_MAX)
		abort();
	memset(&w, 0, sizeof(w));
	if (mps_gmsg_put(&w, &g) != 0)
		abort();
	if (w.exp.nibble != o.exp.nibble || w.exp.len != o.exp.len ||
	    memcmp(w.exp.data, o.exp.data, o.exp.len) != 0) {
		/* only JOIN's flag byte may differ: bit 7 and 7 bits of id */
		if (g.type != MPS_GMSG_JOIN)
			abort();
	}
	if (mps_gmsg_parse(&back, &w) != 0 || memcmp(&back, &g, sizeof(g)) != 0)
		abort();
	return 0;
}
