/*
 * fuzz_pkt.c - libFuzzer target for the IP/TCP/ICMP packet parser.
 *
 * Not built by default.  Build and run from the top of the tree:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Istack \
 *       tests/fuzz/fuzz_pkt.c stack/pkt.c stack/opt.c stack/addr.c stack/err.c \
 *       -o /tmp/fuzz_pkt && /tmp/fuzz_pkt -max_total_time=60
 *
 * Inputs are parsed twice: as given, then with a fixed-up IPv4 header
 * checksum and no TCP/ICMP checksum verification (so the fuzzer gets past
 * the checksums).  A parsed TCP segment is rebuilt with
 * mps_pkt_build_tcp and must parse again to the same fields; its options
 * go through mps_opt_parse.
 */
#include "mps_err.h"
#include "opt.h"
#include "pkt.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void fuzz_rebuild(const mps_pkt *p)
{
	static uint8_t out[65536];
	mps_iov iov = {p->payload, p->paylen};
	mps_tcp_out t = {
	    .src = &p->src,
	    .dst = &p->dst,
	    .seq = p->seq,
	    .ack = p->ack,
	    .flags = p->flags,
	    .window = p->window,
	    .opts = p->opts,
	    .optlen = p->optlen,
	    .payload = &iov,
	    .niov = 1,
	    .ttl = p->ttl,
	};
	mps_pkt q;
	int n;

	n = mps_pkt_build_tcp(out, sizeof(out), &t, 0);
	if (n < 0) {
		/* Only too-long packets (IPv6 + ext headers) may fail. */
		if (n != MPS_ERR_INVAL)
			abort();
		return;
	}
	if (mps_pkt_parse(&q, out, (size_t)n, 0) != 0)
		abort();
	if (!mps_addr_eq(&q.src, &p->src) || !mps_addr_eq(&q.dst, &p->dst) || q.seq != p->seq ||
	    q.ack != p->ack || q.flags != p->flags || q.window != p->window ||
	    q.optlen != p->optlen || q.paylen != p->paylen || q.ttl != (p->ttl ? p->ttl : 64))
		abort();
	if (memcmp(q.opts, p->opts, p->optlen) != 0 ||
	    (p->paylen && memcmp(q.payload, p->payload, p->paylen) != 0))
		abort();
}

/* Second pass: make a plausible IPv4 header checksum right, so the fuzzer
 * reaches the TCP/ICMP code without solving it. */
static void fuzz_fix_ip4_csum(uint8_t *b, size_t size)
{
	size_t ihl;
	mps_csum c;
	uint16_t v;

	if (size < 20 || b[0] >> 4 != 4)
		return;
	ihl = (size_t)(b[0] & 0x0f) * 4;
	if (ihl < 20 || ihl > size)
		return;
	b[10] = 0;
	b[11] = 0;
	mps_csum_init(&c);
	mps_csum_add(&c, b, ihl);
	v = mps_csum_finish(&c);
	b[10] = (uint8_t)(v >> 8);
	b[11] = (uint8_t)v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;
	mps_pkt p;
	mps_opts o;
	int rc;
	unsigned f;

	/* An exact-size heap copy lets ASan see any read past the end. */
	copy = malloc(size ? size : 1);
	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	for (f = 0; f < 2; f++) {
		if (f == 1)
			fuzz_fix_ip4_csum(copy, size);
		rc = mps_pkt_parse(&p, copy, size, f ? MPS_PKT_NO_CSUM_CHECK : 0);
		if (rc != 0) {
			if (rc != MPS_ERR_MALFORMED && rc != MPS_ERR_CHECKSUM &&
			    rc != MPS_ERR_UNSUPPORTED)
				abort();
			continue;
		}
		if (p.proto == MPS_IPPROTO_TCP) {
			if (p.optlen > 40 || p.opts + p.optlen != p.payload ||
			    p.payload + p.paylen > copy + size)
				abort();
			(void)mps_opt_parse(&o, p.opts, p.optlen, p.flags);
			fuzz_rebuild(&p);
		} else if (p.icmp_src.family != p.src.family) {
			abort();
		}
	}
	free(copy);
	return 0;
}
