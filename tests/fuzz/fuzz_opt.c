/*
 * fuzz_opt.c - libFuzzer target for the TCP/MPTCP option parser.
 *
 * Not built by default.  Build and run from the top of the tree:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Istack \
 *       tests/fuzz/fuzz_opt.c stack/opt.c stack/pkt.c stack/addr.c stack/err.c \
 *       -o /tmp/fuzz_opt && /tmp/fuzz_opt -max_total_time=60
 *
 * The first input byte is the TCP flags, the rest the option bytes.  Beyond
 * "no crash", it checks that whatever parses re-serialises, that
 * mps_opt_size matches what mps_opt_write returns, and that the written
 * bytes parse back to the same set of options.
 */
#include "mps_err.h"
#include "opt.h"
#include "pkt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[512], again[512];
	mps_opts o, back;
	uint8_t flags;
	int rc, n;

	if (size < 1)
		return 0;
	flags = data[0];
	rc = mps_opt_parse(&o, data + 1, size - 1, flags);
	if (rc != 0) {
		if (rc != MPS_ERR_MALFORMED || o.present != 0)
			abort();
		return 0;
	}
	if (o.present & o.malformed)
		abort();
	/* Whatever parsed can be written again, in as many bytes as sized. */
	n = mps_opt_size(&o);
	if (n < 0 || n % 4 != 0)
		abort();
	if (mps_opt_write(out, sizeof(out), &o) != n)
		abort();
	if (n > 0 && mps_opt_write(out, (size_t)n - 1, &o) != MPS_ERR_NOBUF)
		abort();
	/* And reads back with the same options present. */
	if (mps_opt_parse(&back, out, (size_t)n, flags) != 0)
		abort();
	if (back.present != o.present || back.malformed != 0)
		abort();
	/* Writing is idempotent: the re-parsed options write the same bytes. */
	if (mps_opt_write(again, sizeof(again), &back) != n || memcmp(out, again, (size_t)n) != 0)
		abort();
	return 0;
}
