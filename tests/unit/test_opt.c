/*
 * test_opt.c - TCP options and MPTCP suboptions: parse, size, write.
 */
#include "mps_err.h"
#include "opt.h"
#include "pkt.h"
#include "unit.h"

#include <CUnit/CUnit.h>
#include <stdio.h>
#include <string.h>

#define SYN MPS_TH_SYN
#define SYNACK (MPS_TH_SYN | MPS_TH_ACK)
#define ACK MPS_TH_ACK

/* --- helpers ---------------------------------------------------------------- */

/* Field-by-field equality of the parts of a and b that a->present covers. */
static bool test_opts_eq(const mps_opts *a, const mps_opts *b)
{
	uint32_t p = a->present;
	int i;

	if (a->present != b->present)
		return false;
	if ((p & MPS_OPT_MSS) && a->mss != b->mss)
		return false;
	if ((p & MPS_OPT_WSCALE) && a->wscale != b->wscale)
		return false;
	if ((p & MPS_OPT_TS) && (a->ts_val != b->ts_val || a->ts_ecr != b->ts_ecr))
		return false;
	if (p & MPS_OPT_SACK) {
		if (a->nsack != b->nsack)
			return false;
		for (i = 0; i < a->nsack; i++)
			if (a->sack[i].left != b->sack[i].left ||
			    a->sack[i].right != b->sack[i].right)
				return false;
	}
	if (p & MPS_OPT_MPC) {
		if (a->mpc.version != b->mpc.version || a->mpc.flags != b->mpc.flags ||
		    a->mpc.nkeys != b->mpc.nkeys || a->mpc.has_dll != b->mpc.has_dll ||
		    a->mpc.has_csum != b->mpc.has_csum)
			return false;
		if (a->mpc.nkeys >= 1 && a->mpc.key_sender != b->mpc.key_sender)
			return false;
		if (a->mpc.nkeys == 2 && a->mpc.key_receiver != b->mpc.key_receiver)
			return false;
		if (a->mpc.has_dll && a->mpc.dll != b->mpc.dll)
			return false;
		if (a->mpc.has_csum && a->mpc.csum != b->mpc.csum)
			return false;
	}
	if (p & MPS_OPT_JOIN) {
		if (a->join.form != b->join.form)
			return false;
		switch (a->join.form) {
		case MPS_JOIN_SYN:
			if (a->join.token != b->join.token)
				return false;
			/* fall through */
		case MPS_JOIN_SYNACK:
			if (a->join.nonce != b->join.nonce || a->join.backup != b->join.backup ||
			    a->join.addr_id != b->join.addr_id)
				return false;
			if (a->join.form == MPS_JOIN_SYNACK && a->join.hmac64 != b->join.hmac64)
				return false;
			break;
		default:
			if (memcmp(a->join.hmac160, b->join.hmac160, 20) != 0)
				return false;
		}
	}
	if (p & MPS_OPT_DSS) {
		if (a->dss.has_ack != b->dss.has_ack || a->dss.has_map != b->dss.has_map ||
		    a->dss.fin != b->dss.fin || a->dss.has_csum != b->dss.has_csum)
			return false;
		if (a->dss.has_ack &&
		    (a->dss.ack64 != b->dss.ack64 || a->dss.data_ack != b->dss.data_ack))
			return false;
		if (a->dss.has_map && (a->dss.map64 != b->dss.map64 || a->dss.dsn != b->dss.dsn ||
				       a->dss.ssn != b->dss.ssn || a->dss.dll != b->dss.dll))
			return false;
		if (a->dss.has_csum && a->dss.csum != b->dss.csum)
			return false;
	}
	if (p & MPS_OPT_ADD_ADDR) {
		if (a->add_addr.echo != b->add_addr.echo ||
		    a->add_addr.has_port != b->add_addr.has_port ||
		    a->add_addr.has_hmac != b->add_addr.has_hmac ||
		    a->add_addr.id != b->add_addr.id ||
		    !mps_addr_eq(&a->add_addr.addr, &b->add_addr.addr))
			return false;
		if (a->add_addr.has_hmac && a->add_addr.hmac != b->add_addr.hmac)
			return false;
	}
	if (p & MPS_OPT_RM_ADDR) {
		if (a->rm_addr.n != b->rm_addr.n ||
		    memcmp(a->rm_addr.ids, b->rm_addr.ids, a->rm_addr.n) != 0)
			return false;
	}
	if ((p & MPS_OPT_PRIO) &&
	    (a->prio.backup != b->prio.backup || a->prio.has_id != b->prio.has_id ||
	     (a->prio.has_id && a->prio.id != b->prio.id)))
		return false;
	if ((p & MPS_OPT_FAIL) && a->fail.dsn != b->fail.dsn)
		return false;
	if ((p & MPS_OPT_FASTCLOSE) && a->fastclose.key != b->fastclose.key)
		return false;
	if ((p & MPS_OPT_TCPRST) &&
	    (a->tcprst.flags != b->tcprst.flags || a->tcprst.reason != b->tcprst.reason))
		return false;
	if (p & MPS_OPT_EXP) {
		if (a->exp.len != b->exp.len || a->exp.nibble != b->exp.nibble ||
		    memcmp(a->exp.data, b->exp.data, a->exp.len) != 0)
			return false;
	}
	return true;
}

/* Write o, check size == written, parse back with tcp_flags, compare.
 * Returns the written length. */
static int test_roundtrip(const mps_opts *o, uint8_t tcp_flags)
{
	uint8_t buf[256];
	mps_opts back;
	int size = mps_opt_size(o), n;

	CU_ASSERT_TRUE(size >= 0);
	n = mps_opt_write(buf, sizeof(buf), o);
	CU_ASSERT_EQUAL(n, size);
	CU_ASSERT_EQUAL(n % 4, 0);
	if (n < 0)
		return n;
	CU_ASSERT_EQUAL(mps_opt_parse(&back, buf, (size_t)n, tcp_flags), 0);
	CU_ASSERT_EQUAL(back.malformed, 0);
	CU_ASSERT_TRUE(test_opts_eq(o, &back));
	return n;
}

/* Parse one option given as bytes; return the parsed struct. */
static mps_opts test_parse1(const uint8_t *b, size_t len, uint8_t tcp_flags, int *rc)
{
	mps_opts o;

	*rc = mps_opt_parse(&o, b, len, tcp_flags);
	return o;
}

/* Build an MPTCP option of total length len with the given subtype byte,
 * payload bytes counting up from 0x10, and check it is flagged malformed. */
static void test_expect_bad(uint8_t subtype_byte, size_t len, uint8_t tcp_flags, uint32_t bit,
			    uint8_t flags_byte)
{
	uint8_t b[64];
	mps_opts o;
	size_t i;

	b[0] = MPS_MPTCP_KIND;
	b[1] = (uint8_t)len;
	b[2] = subtype_byte;
	for (i = 3; i < len; i++)
		b[i] = (uint8_t)(0x10 + i);
	if (len > 3)
		b[3] = flags_byte;
	CU_ASSERT_EQUAL(mps_opt_parse(&o, b, len, tcp_flags), 0);
	if (!(o.malformed & bit) || (o.present & bit))
		fprintf(stderr,
			"\n  expected malformed: subtype byte 0x%02x len %zu flags 0x%02x\n",
			subtype_byte, len, (unsigned)tcp_flags);
	CU_ASSERT_TRUE((o.malformed & bit) != 0);
	CU_ASSERT_FALSE((o.present & bit) != 0);
}

/* --- plain TCP options ---------------------------------------------------------- */

static void test_opt_syn_with_mpc_fits_24_bytes(void)
{
	mps_opts o = {
	    .present = MPS_OPT_MSS | MPS_OPT_SACK_PERM | MPS_OPT_TS | MPS_OPT_WSCALE | MPS_OPT_MPC,
	    .mss = 1460,
	    .wscale = 7,
	    .ts_val = 0x01020304,
	    .mpc = {.version = 1, .flags = MPS_MPC_FLAG_H},
	};
	uint8_t buf[40];
	static const uint8_t want[24] = {2, 4, 0x05, 0xb4, 4, 2, 8, 10, 1, 2,	 3,    4,
					 0, 0, 0,    0,	   3, 3, 7, 30, 4, 0x01, 0x01, 1};

	CU_ASSERT_EQUAL(mps_opt_size(&o), 24);
	CU_ASSERT_EQUAL(mps_opt_write(buf, sizeof(buf), &o), 24);
	CU_ASSERT_EQUAL(memcmp(buf, want, 24), 0);
	CU_ASSERT_EQUAL(test_roundtrip(&o, SYN), 24);
}

static void test_opt_tcp_basic_roundtrip(void)
{
	mps_opts o = {.present = MPS_OPT_TS, .ts_val = 0xfffffffe, .ts_ecr = 7};
	int n;

	CU_ASSERT_EQUAL(test_roundtrip(&o, ACK), 12);
	for (n = 1; n <= MPS_SACK_MAX; n++) {
		memset(&o, 0, sizeof(o));
		o.present = MPS_OPT_SACK | MPS_OPT_TS;
		o.nsack = (uint8_t)n;
		for (int i = 0; i < n; i++) {
			o.sack[i].left = 1000u * (unsigned)i;
			o.sack[i].right = 1000u * (unsigned)i + 500;
		}
		CU_ASSERT_EQUAL(mps_opt_len(&o, MPS_OPT_SACK), 2 + 8 * n);
		test_roundtrip(&o, ACK);
	}
}

static void test_opt_wscale_clamped_to_14(void)
{
	static const uint8_t b[] = {3, 3, 15, 1};
	int rc;
	mps_opts o = test_parse1(b, sizeof(b), SYN, &rc);

	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_TRUE(o.present & MPS_OPT_WSCALE);
	CU_ASSERT_EQUAL(o.wscale, 14);
}

static void test_opt_syn_only_options_ignored_elsewhere(void)
{
	static const uint8_t b[] = {2, 4, 5, 0xb4, 3, 3, 7, 4, 2, 1, 1, 1};
	int rc;
	mps_opts o = test_parse1(b, sizeof(b), ACK, &rc);

	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(o.present, 0);
	CU_ASSERT_EQUAL(o.malformed, 0);
	o = test_parse1(b, sizeof(b), SYNACK, &rc);
	CU_ASSERT_EQUAL(o.present, MPS_OPT_MSS | MPS_OPT_WSCALE | MPS_OPT_SACK_PERM);
	CU_ASSERT_EQUAL(o.mss, 1460);
	CU_ASSERT_EQUAL(o.wscale, 7);
}

static void test_opt_tcp_bad_lengths_flagged(void)
{
	static const struct {
		uint8_t bytes[44];
		size_t len;
		uint32_t bit;
	} cases[] = {
	    {{2, 3, 5}, 3, MPS_OPT_MSS},
	    {{2, 5, 5, 0xb4, 0}, 5, MPS_OPT_MSS},
	    {{3, 2}, 2, MPS_OPT_WSCALE},
	    {{3, 4, 7, 0}, 4, MPS_OPT_WSCALE},
	    {{4, 3, 0}, 3, MPS_OPT_SACK_PERM},
	    {{8, 9, 0, 0, 0, 1, 0, 0, 0}, 9, MPS_OPT_TS},
	    {{8, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0}, 11, MPS_OPT_TS},
	    {{5, 2}, 2, MPS_OPT_SACK},
	    {{5, 9, 0, 0, 0, 1, 0, 0, 0}, 9, MPS_OPT_SACK},
	    {{5, 11, 0, 0, 0, 1, 0, 0, 0, 2, 0}, 11, MPS_OPT_SACK},
	    {{5, 42}, 42, MPS_OPT_SACK}, /* 5 blocks */
	};
	size_t i;
	int rc;
	mps_opts o;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = test_parse1(cases[i].bytes, cases[i].len, SYN, &rc);
		CU_ASSERT_EQUAL(rc, 0);
		CU_ASSERT_EQUAL(o.malformed, cases[i].bit);
		CU_ASSERT_EQUAL(o.present, 0);
	}
}

static void test_opt_nop_eol_unknown_skipped(void)
{
	/* NOP, unknown kind 99 (len 4), TS, EOL, then garbage ignored. */
	static const uint8_t b[] = {1, 99, 4, 0xaa, 0xbb, 8, 10, 0, 0,	 0,
				    5, 0,  0, 0,    6,	  0, 2,	 0, 0xff};
	int rc;
	mps_opts o = test_parse1(b, sizeof(b), ACK, &rc);

	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(o.present, MPS_OPT_TS);
	CU_ASSERT_EQUAL(o.ts_val, 5);
	CU_ASSERT_EQUAL(o.ts_ecr, 6);
	/* An empty list is fine, even with a NULL pointer. */
	CU_ASSERT_EQUAL(mps_opt_parse(&o, NULL, 0, ACK), 0);
	CU_ASSERT_EQUAL(o.present, 0);
}

static void test_opt_broken_list_malformed(void)
{
	static const struct {
		uint8_t bytes[8];
		size_t len;
	} cases[] = {
	    {{8, 0}, 2},	       /* length 0 */
	    {{1, 99, 1, 0}, 4},	       /* length 1 */
	    {{8, 10, 0, 0, 0, 1}, 6},  /* runs past the end */
	    {{1, 1, 1, 2}, 4},	       /* a kind with no length byte */
	    {{30, 12, 0x01, 0x81}, 4}, /* MPTCP running past the end */
	    {{4, 2, 99}, 3},	       /* unknown kind, no length byte */
	};
	size_t i;
	int rc;
	mps_opts o;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		o = test_parse1(cases[i].bytes, cases[i].len, SYN, &rc);
		CU_ASSERT_EQUAL(rc, MPS_ERR_MALFORMED);
		CU_ASSERT_EQUAL(o.present, 0); /* reset, even what parsed before */
	}
}

static void test_opt_first_of_a_kind_wins(void)
{
	static const uint8_t tcp[] = {2, 4, 0x05, 0xb4, 2, 4, 0x02, 0x00};
	/* Two DSS (32-bit acks 1 then 2); a bad MP_PRIO then a good one. */
	static const uint8_t mp[] = {30, 8, 0x20, 0x01, 0, 0,	 0, 1, 30, 8, 0x20, 0x01, 0,
				     0,	 0, 2,	  30,	5, 0x50, 1, 2, 30, 3, 0x51, 1};
	int rc;
	mps_opts o = test_parse1(tcp, sizeof(tcp), SYN, &rc);

	CU_ASSERT_EQUAL(o.present, MPS_OPT_MSS);
	CU_ASSERT_EQUAL(o.mss, 1460);
	o = test_parse1(mp, sizeof(mp), ACK, &rc);
	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(o.present, MPS_OPT_DSS);
	CU_ASSERT_EQUAL(o.malformed, MPS_OPT_PRIO);
	CU_ASSERT_EQUAL(o.dss.data_ack, 1u);
	CU_ASSERT_FALSE(o.prio.backup);
}

/* --- MP_CAPABLE -------------------------------------------------------------------- */

static void test_opt_mpc_every_form_roundtrip(void)
{
	mps_opts o = {.present = MPS_OPT_MPC,
		      .mpc = {.version = 1, .flags = MPS_MPC_FLAG_A | MPS_MPC_FLAG_H}};

	/* SYN: no key (RFC 8684 §3.1). */
	CU_ASSERT_EQUAL(mps_opt_len(&o, MPS_OPT_MPC), 4);
	test_roundtrip(&o, SYN);
	/* SYN-ACK: the sender's key. */
	o.mpc.nkeys = 1;
	o.mpc.key_sender = 0xe4680a1ad3cd8528ull;
	CU_ASSERT_EQUAL(mps_opt_len(&o, MPS_OPT_MPC), 12);
	test_roundtrip(&o, SYNACK);
	/* Version 0 SYN with a key: parses, version reported. */
	o.mpc.version = 0;
	test_roundtrip(&o, SYN);
	o.mpc.version = 1;
	/* Third ACK: both keys. */
	o.mpc.nkeys = 2;
	o.mpc.key_sender = 0x2a0595489e8ba137ull;
	o.mpc.key_receiver = 0xe4680a1ad3cd8528ull;
	CU_ASSERT_EQUAL(mps_opt_len(&o, MPS_OPT_MPC), 20);
	test_roundtrip(&o, ACK);
	/* First data: + data-level length, + checksum. */
	o.mpc.has_dll = true;
	o.mpc.dll = 517;
	CU_ASSERT_EQUAL(mps_opt_len(&o, MPS_OPT_MPC), 22);
	test_roundtrip(&o, ACK | MPS_TH_PSH);
	o.mpc.has_csum = true;
	o.mpc.csum = 0xbeef;
	CU_ASSERT_EQUAL(mps_opt_len(&o, MPS_OPT_MPC), 24);
	test_roundtrip(&o, ACK);
}

static void test_opt_mpc_other_version_parses(void)
{
	static const uint8_t b[] = {30, 4, 0x02, 0x01};
	int rc;
	mps_opts o = test_parse1(b, sizeof(b), SYN, &rc);

	CU_ASSERT_EQUAL(o.present, MPS_OPT_MPC);
	CU_ASSERT_EQUAL(o.mpc.version, 2);
	CU_ASSERT_EQUAL(o.mpc.nkeys, 0);
}

static void test_opt_mpc_bad_lengths_flagged(void)
{
	size_t len;

	for (len = 3; len <= 30; len++) {
		if (len != 4 && len != 12)
			test_expect_bad(0x01, len, SYN, MPS_OPT_MPC, 0x81);
		if (len != 12)
			test_expect_bad(0x01, len, SYNACK, MPS_OPT_MPC, 0x81);
		if (len != 20 && len != 22 && len != 24)
			test_expect_bad(0x01, len, ACK, MPS_OPT_MPC, 0x81);
	}
	/* v1 SYN carrying a key: not a v1 form. */
	test_expect_bad(0x01, 12, SYN, MPS_OPT_MPC, 0x81);
}

static void test_opt_mpc_linux_synack_bytes(void)
{
	/* A Linux SYN-ACK's options: MSS 1460, SACK_PERM, TS, NOP, WS 7,
	 * MP_CAPABLE v1 flags A|H with Key-B. */
	static const uint8_t b[32] = {
	    0x02, 0x04, 0x05, 0xb4, 0x04, 0x02, 0x08, 0x0a, 0x9a, 0x1e, 0x5c,
	    0x01, 0x6b, 0x3c, 0x77, 0x10, 0x01, 0x03, 0x03, 0x07, 0x1e, 0x0c,
	    0x01, 0x81, 0xe4, 0x68, 0x0a, 0x1a, 0xd3, 0xcd, 0x85, 0x28,
	};
	int rc;
	mps_opts o = test_parse1(b, sizeof(b), SYNACK, &rc);

	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(o.present, MPS_OPT_MSS | MPS_OPT_SACK_PERM | MPS_OPT_TS | MPS_OPT_WSCALE |
				       MPS_OPT_MPC);
	CU_ASSERT_EQUAL(o.malformed, 0);
	CU_ASSERT_EQUAL(o.mss, 1460);
	CU_ASSERT_EQUAL(o.wscale, 7);
	CU_ASSERT_EQUAL(o.ts_val, 0x9a1e5c01u);
	CU_ASSERT_EQUAL(o.ts_ecr, 0x6b3c7710u);
	CU_ASSERT_EQUAL(o.mpc.version, 1);
	CU_ASSERT_EQUAL(o.mpc.flags, MPS_MPC_FLAG_A | MPS_MPC_FLAG_H);
	CU_ASSERT_EQUAL(o.mpc.nkeys, 1);
	CU_ASSERT_EQUAL(o.mpc.key_sender, 0xe4680a1ad3cd8528ull);
	CU_ASSERT_FALSE(o.mpc.has_dll);
	CU_ASSERT_FALSE(o.mpc.has_csum);
}

/* --- MP_JOIN -------------------------------------------------------------------------- */

static void test_opt_join_every_form_roundtrip(void)
{
	mps_opts o = {.present = MPS_OPT_JOIN,
		      .join = {.form = MPS_JOIN_SYN,
			       .backup = true,
			       .addr_id = 3,
			       .token = 0xbe7b732c,
			       .nonce = 0xc5f5677f}};
	int i;

	CU_ASSERT_EQUAL(test_roundtrip(&o, SYN), 12);
	o.join.backup = false;
	test_roundtrip(&o, SYN);
	o.join.form = MPS_JOIN_SYNACK;
	o.join.hmac64 = 0xfbd7ce4d1188e461ull;
	o.join.nonce = 0x59807218;
	CU_ASSERT_EQUAL(test_roundtrip(&o, SYNACK), 16);
	o.join.form = MPS_JOIN_ACK;
	for (i = 0; i < 20; i++)
		o.join.hmac160[i] = (uint8_t)(0xa0 + i);
	CU_ASSERT_EQUAL(test_roundtrip(&o, ACK), 24);
}

static void test_opt_join_bad_lengths_flagged(void)
{
	size_t len;

	for (len = 3; len <= 30; len++) {
		if (len != 12)
			test_expect_bad(0x10, len, SYN, MPS_OPT_JOIN, 0);
		if (len != 16)
			test_expect_bad(0x10, len, SYNACK, MPS_OPT_JOIN, 0);
		if (len != 24)
			test_expect_bad(0x10, len, ACK, MPS_OPT_JOIN, 0);
	}
}

/* --- DSS ---------------------------------------------------------------------------------- */

static void test_opt_dss_every_form_roundtrip(void)
{
	unsigned m;
	int want, n;

	/* Every combination of A, a, M, m, F and checksum presence. */
	for (m = 0; m < 64; m++) {
		mps_opts o = {.present = MPS_OPT_DSS};

		o.dss.has_ack = m & 1;
		o.dss.ack64 = m & 2;
		o.dss.has_map = m & 4;
		o.dss.map64 = m & 8;
		o.dss.fin = m & 16;
		o.dss.has_csum = m & 32;
		o.dss.data_ack = o.dss.ack64 ? 0x86b0cdd848783383ull : 0x48783383u;
		o.dss.dsn = o.dss.map64 ? 0xca2fbced01898d42ull : 0x01898d42u;
		o.dss.ssn = 1;
		o.dss.dll = 1400;
		o.dss.csum = 0x1234;
		if (o.dss.has_csum && !o.dss.has_map) {
			CU_ASSERT_EQUAL(mps_opt_len(&o, MPS_OPT_DSS), MPS_ERR_INVAL);
			continue;
		}
		/* a / m without A / M carry nothing and are not echoed back. */
		if (!o.dss.has_ack)
			o.dss.ack64 = false;
		if (!o.dss.has_map)
			o.dss.map64 = false;
		want = 4 + (o.dss.has_ack ? (o.dss.ack64 ? 8 : 4) : 0) +
		       (o.dss.has_map ? (o.dss.map64 ? 8 : 4) + 6 : 0) + (o.dss.has_csum ? 2 : 0);
		CU_ASSERT_EQUAL(mps_opt_len(&o, MPS_OPT_DSS), want);
		n = test_roundtrip(&o, ACK);
		CU_ASSERT_EQUAL(n, (want + 3) & ~3);
	}
}

static void test_opt_dss_bad_lengths_flagged(void)
{
	unsigned fl;
	size_t len, want;

	for (fl = 0; fl < 32; fl++) {
		want = 4;
		if (fl & 1)
			want += (fl & 2) ? 8u : 4u;
		if (fl & 4)
			want += ((fl & 8) ? 8u : 4u) + 6;
		for (len = 3; len <= 34; len++) {
			if (len == want || ((fl & 4) && len == want + 2))
				continue;
			test_expect_bad(0x20, len, ACK, MPS_OPT_DSS, (uint8_t)fl);
		}
	}
}

static void test_opt_dss_linux_bytes(void)
{
	/* NOP NOP TS, then DSS: A|a|M|m, 8-byte DATA_ACK, 8-byte DSN, subflow
	 * seq 1, length 1400, checksum 0x1234 (28 bytes). */
	static const uint8_t b[40] = {
	    0x01, 0x01, 0x08, 0x0a, 0,	  0,	0,    9,    0,	  0,	0,    8,    0x1e, 0x1c,
	    0x20, 0x0f, 0x86, 0xb0, 0xcd, 0xd8, 0x48, 0x78, 0x33, 0x83, 0xca, 0x2f, 0xbc, 0xed,
	    0x01, 0x89, 0x8d, 0x42, 0x00, 0x00, 0x00, 0x01, 0x05, 0x78, 0x12, 0x34,
	};
	int rc;
	mps_opts o = test_parse1(b, sizeof(b), ACK, &rc);

	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(o.present, MPS_OPT_TS | MPS_OPT_DSS);
	CU_ASSERT_TRUE(o.dss.has_ack && o.dss.ack64 && o.dss.has_map && o.dss.map64);
	CU_ASSERT_TRUE(o.dss.has_csum);
	CU_ASSERT_FALSE(o.dss.fin);
	CU_ASSERT_EQUAL(o.dss.data_ack, 0x86b0cdd848783383ull);
	CU_ASSERT_EQUAL(o.dss.dsn, 0xca2fbced01898d42ull);
	CU_ASSERT_EQUAL(o.dss.ssn, 1u);
	CU_ASSERT_EQUAL(o.dss.dll, 1400);
	CU_ASSERT_EQUAL(o.dss.csum, 0x1234);
}

static void test_opt_dss_32bit_ack_only(void)
{
	/* The most common Linux DSS: a 32-bit DATA_ACK alone. */
	static const uint8_t b[8] = {0x1e, 0x08, 0x20, 0x01, 0x48, 0x78, 0x33, 0x83};
	int rc;
	mps_opts o = test_parse1(b, sizeof(b), ACK, &rc);

	CU_ASSERT_EQUAL(o.present, MPS_OPT_DSS);
	CU_ASSERT_TRUE(o.dss.has_ack);
	CU_ASSERT_FALSE(o.dss.ack64);
	CU_ASSERT_FALSE(o.dss.has_map);
	CU_ASSERT_EQUAL(o.dss.data_ack, 0x48783383u);
}

/* --- ADD_ADDR ------------------------------------------------------------------------------ */

static void test_opt_add_addr_every_form_roundtrip(void)
{
	static const uint8_t ip4[4] = {10, 77, 2, 2};
	static const uint8_t ip6[16] = {0x20, 0x01, 0x0d, 0xb8, 1, 2,  3,  4,
					5,    6,    7,	  8,	9, 10, 11, 12};
	static const int want[2][2][2] = {{{16, 18}, {28, 30}}, {{8, 10}, {20, 22}}};
	int echo, v6, port;

	for (echo = 0; echo < 2; echo++)
		for (v6 = 0; v6 < 2; v6++)
			for (port = 0; port < 2; port++) {
				mps_opts o = {.present = MPS_OPT_ADD_ADDR};

				if (v6)
					mps_addr_set_v6(&o.add_addr.addr, ip6, port ? 8443 : 0);
				else
					mps_addr_set_v4(&o.add_addr.addr, ip4, port ? 8443 : 0);
				o.add_addr.echo = echo;
				o.add_addr.has_hmac = !echo;
				o.add_addr.has_port = port;
				o.add_addr.id = 9;
				o.add_addr.hmac = echo ? 0 : 0x1518a1163aa8ea4full;
				CU_ASSERT_EQUAL(mps_opt_len(&o, MPS_OPT_ADD_ADDR),
						want[echo][v6][port]);
				test_roundtrip(&o, ACK);
			}
}

static void test_opt_add_addr_known_bytes(void)
{
	/* From B, id 1, 10.77.2.2, no port, with the HMAC of the kernel
	 * vector (DESIGN test vectors). */
	static const uint8_t b[16] = {0x1e, 0x10, 0x30, 0x01, 0x0a, 0x4d, 0x02, 0x02,
				      0x15, 0x18, 0xa1, 0x16, 0x3a, 0xa8, 0xea, 0x4f};
	static const uint8_t ip[4] = {10, 77, 2, 2};
	uint8_t out[16];
	int rc;
	mps_opts o = test_parse1(b, sizeof(b), ACK, &rc);

	CU_ASSERT_EQUAL(o.present, MPS_OPT_ADD_ADDR);
	CU_ASSERT_FALSE(o.add_addr.echo);
	CU_ASSERT_TRUE(o.add_addr.has_hmac);
	CU_ASSERT_FALSE(o.add_addr.has_port);
	CU_ASSERT_EQUAL(o.add_addr.id, 1);
	CU_ASSERT_EQUAL(o.add_addr.addr.family, MPS_AF_INET);
	CU_ASSERT_EQUAL(memcmp(o.add_addr.addr.ip, ip, 4), 0);
	CU_ASSERT_EQUAL(o.add_addr.addr.port, 0);
	CU_ASSERT_EQUAL(o.add_addr.hmac, 0x1518a1163aa8ea4full);
	CU_ASSERT_EQUAL(mps_opt_write(out, sizeof(out), &o), 16);
	CU_ASSERT_EQUAL(memcmp(out, b, 16), 0);
}

static void test_opt_add_addr_bad_lengths_flagged(void)
{
	size_t len;

	for (len = 3; len <= 40; len++) {
		if (len != 16 && len != 18 && len != 28 && len != 30)
			test_expect_bad(0x30, len, ACK, MPS_OPT_ADD_ADDR, 1);
		if (len != 8 && len != 10 && len != 20 && len != 22)
			test_expect_bad(0x31, len, ACK, MPS_OPT_ADD_ADDR, 1);
	}
}

/* --- the small suboptions ----------------------------------------------------------------------
 */

static void test_opt_rm_addr_roundtrip_and_bad(void)
{
	mps_opts o = {.present = MPS_OPT_RM_ADDR};
	int n;

	for (n = 1; n <= MPS_RM_ADDR_MAX; n++) {
		o.rm_addr.n = (uint8_t)n;
		o.rm_addr.ids[n - 1] = (uint8_t)(n * 7);
		CU_ASSERT_EQUAL(mps_opt_len(&o, MPS_OPT_RM_ADDR), 3 + n);
		test_roundtrip(&o, ACK);
	}
	test_expect_bad(0x40, 3, ACK, MPS_OPT_RM_ADDR, 0);
	test_expect_bad(0x40, 3 + MPS_RM_ADDR_MAX + 1, ACK, MPS_OPT_RM_ADDR, 0);
}

static void test_opt_prio_roundtrip_and_bad(void)
{
	mps_opts o = {.present = MPS_OPT_PRIO, .prio = {.backup = true}};

	CU_ASSERT_EQUAL(test_roundtrip(&o, ACK), 4);
	o.prio.backup = false;
	test_roundtrip(&o, ACK);
	o.prio.has_id = true;
	o.prio.id = 5;
	o.prio.backup = true;
	CU_ASSERT_EQUAL(mps_opt_len(&o, MPS_OPT_PRIO), 4);
	test_roundtrip(&o, ACK);
	test_expect_bad(0x51, 5, ACK, MPS_OPT_PRIO, 0);
	test_expect_bad(0x51, 12, ACK, MPS_OPT_PRIO, 0);
}

static void test_opt_fail_fastclose_tcprst_roundtrip_and_bad(void)
{
	mps_opts o = {
	    .present = MPS_OPT_FAIL,
	    .fail = {.dsn = 0x0123456789abcdefull},
	};
	size_t len;

	CU_ASSERT_EQUAL(test_roundtrip(&o, ACK), 12);
	o.present = MPS_OPT_FASTCLOSE;
	o.fastclose.key = 0xe4680a1ad3cd8528ull;
	CU_ASSERT_EQUAL(test_roundtrip(&o, ACK), 12);
	o.present = MPS_OPT_TCPRST;
	o.tcprst.flags = MPS_TCPRST_T | MPS_TCPRST_U;
	o.tcprst.reason = 5;
	CU_ASSERT_EQUAL(test_roundtrip(&o, MPS_TH_RST), 4);
	for (len = 3; len <= 20; len++) {
		if (len != 12) {
			test_expect_bad(0x60, len, ACK, MPS_OPT_FAIL, 0);
			test_expect_bad(0x70, len, ACK, MPS_OPT_FASTCLOSE, 0);
		}
		if (len != 4)
			test_expect_bad(0x89, len, MPS_TH_RST, MPS_OPT_TCPRST, 0);
	}
}

static void test_opt_fastclose_layout(void)
{
	mps_opts o = {.present = MPS_OPT_FASTCLOSE, .fastclose = {.key = 0x0102030405060708ull}};
	static const uint8_t want[12] = {30, 12, 0x70, 0, 1, 2, 3, 4, 5, 6, 7, 8};
	uint8_t buf[12];

	CU_ASSERT_EQUAL(mps_opt_write(buf, sizeof(buf), &o), 12);
	CU_ASSERT_EQUAL(memcmp(buf, want, 12), 0);
}

static void test_opt_tcprst_layout(void)
{
	mps_opts o = {.present = MPS_OPT_TCPRST, .tcprst = {.flags = MPS_TCPRST_T, .reason = 6}};
	static const uint8_t want[4] = {30, 4, 0x81, 6};
	uint8_t buf[4];

	CU_ASSERT_EQUAL(mps_opt_write(buf, sizeof(buf), &o), 4);
	CU_ASSERT_EQUAL(memcmp(buf, want, 4), 0);
}

static void test_opt_experimental_roundtrip_and_bad(void)
{
	mps_opts o = {.present = MPS_OPT_EXP, .exp = {.nibble = 0x5}};
	int n;

	for (n = 0; n <= MPS_OPT_EXP_MAX; n++) {
		o.exp.len = (uint8_t)n;
		if (n)
			o.exp.data[n - 1] = (uint8_t)(0xc0 + n);
		CU_ASSERT_EQUAL(mps_opt_len(&o, MPS_OPT_EXP), 3 + n);
		test_roundtrip(&o, n & 1 ? SYN : ACK);
	}
	test_expect_bad(0xf0, 3 + MPS_OPT_EXP_MAX + 1, ACK, MPS_OPT_EXP, 0);
}

static void test_opt_mptcp_unknown_or_short_ignored(void)
{
	/* Subtype 9 (unknown), then an MPTCP option with no subtype byte. */
	static const uint8_t b[] = {30, 4, 0x90, 0, 30, 2, 1, 1};
	int rc;
	mps_opts o = test_parse1(b, sizeof(b), ACK, &rc);

	CU_ASSERT_EQUAL(rc, 0);
	CU_ASSERT_EQUAL(o.present, 0);
	CU_ASSERT_EQUAL(o.malformed, 0);
}

/* --- sizing and writing ------------------------------------------------------------------------
 */

static void test_opt_size_equals_write_for_many_combinations(void)
{
	static const uint32_t bits[] = {
	    MPS_OPT_MSS,  MPS_OPT_WSCALE, MPS_OPT_SACK_PERM, MPS_OPT_TS,       MPS_OPT_SACK,
	    MPS_OPT_MPC,  MPS_OPT_JOIN,	  MPS_OPT_DSS,	     MPS_OPT_ADD_ADDR, MPS_OPT_RM_ADDR,
	    MPS_OPT_PRIO, MPS_OPT_FAIL,	  MPS_OPT_FASTCLOSE, MPS_OPT_TCPRST,   MPS_OPT_EXP,
	};
	uint8_t buf[512], buf2[512];
	mps_opts back;
	unsigned seed = 777;
	int round, sum, n;
	size_t i;

	for (round = 0; round < 2000; round++) {
		mps_opts o = {0};

		seed = seed * 1103515245u + 12345u;
		o.present = (seed >> 4) & (MPS_OPT_TCP_ANY | MPS_OPT_MPTCP_ANY);
		o.nsack = (uint8_t)(1 + (seed >> 9) % MPS_SACK_MAX);
		o.mpc.nkeys = (uint8_t)((seed >> 11) % 3);
		o.mpc.has_dll = o.mpc.nkeys == 2 && (seed & 0x10000);
		o.mpc.has_csum = o.mpc.has_dll && (seed & 0x20000);
		o.join.form = (uint8_t)(1 + (seed >> 13) % 3);
		o.dss.has_ack = seed & 0x40000;
		o.dss.ack64 = seed & 0x80000;
		o.dss.has_map = seed & 0x100000;
		o.dss.map64 = seed & 0x200000;
		o.dss.has_csum = o.dss.has_map && (seed & 0x400000);
		o.add_addr.echo = seed & 0x800000;
		o.add_addr.has_hmac = !o.add_addr.echo;
		o.add_addr.has_port = seed & 0x1000000;
		o.add_addr.addr.family = (seed & 0x2000000) ? MPS_AF_INET6 : MPS_AF_INET;
		o.rm_addr.n = (uint8_t)(1 + (seed >> 15) % MPS_RM_ADDR_MAX);
		o.prio.has_id = seed & 0x4000000;
		o.exp.len = (uint8_t)((seed >> 7) % (MPS_OPT_EXP_MAX + 1));
		sum = 0;
		for (i = 0; i < sizeof(bits) / sizeof(bits[0]); i++)
			if (o.present & bits[i])
				sum += mps_opt_len(&o, bits[i]);
		n = mps_opt_write(buf, sizeof(buf), &o);
		CU_ASSERT_EQUAL(n, mps_opt_size(&o));
		CU_ASSERT_EQUAL(n, (sum + 3) & ~3);
		if (n > 0)
			CU_ASSERT_EQUAL(mps_opt_write(buf2, (size_t)n - 1, &o), MPS_ERR_NOBUF);
		/* Whatever was written is a well-formed option list. */
		CU_ASSERT_EQUAL(mps_opt_parse(&back, buf, (size_t)n, ACK), 0);
	}
}

static void test_opt_write_nobuf_when_cap_short(void)
{
	mps_opts o = {.present = MPS_OPT_TS | MPS_OPT_DSS,
		      .dss = {.has_ack = true, .has_map = true, .map64 = true}};
	uint8_t buf[64];
	int n = mps_opt_size(&o);

	CU_ASSERT_EQUAL(n, 12 + 20);
	CU_ASSERT_EQUAL(mps_opt_write(buf, (size_t)n - 1, &o), MPS_ERR_NOBUF);
	CU_ASSERT_EQUAL(mps_opt_write(buf, 0, &o), MPS_ERR_NOBUF);
	CU_ASSERT_EQUAL(mps_opt_write(buf, (size_t)n, &o), n);
	/* Nothing present: zero bytes, any cap. */
	o.present = 0;
	CU_ASSERT_EQUAL(mps_opt_size(&o), 0);
	CU_ASSERT_EQUAL(mps_opt_write(buf, 0, &o), 0);
}

static void test_opt_padding_is_nops(void)
{
	mps_opts o = {.present = MPS_OPT_WSCALE, .wscale = 9};
	uint8_t buf[8];

	CU_ASSERT_EQUAL(mps_opt_write(buf, sizeof(buf), &o), 4);
	CU_ASSERT_EQUAL(buf[0], 3);
	CU_ASSERT_EQUAL(buf[1], 3);
	CU_ASSERT_EQUAL(buf[2], 9);
	CU_ASSERT_EQUAL(buf[3], MPS_TCPOPT_NOP);
}

static void test_opt_impossible_combinations_inval(void)
{
	uint8_t buf[64];
	mps_opts o;

#define EXPECT_INVAL(setup, bit)                                                                   \
	do {                                                                                       \
		memset(&o, 0, sizeof(o));                                                          \
		o.present = (bit);                                                                 \
		setup;                                                                             \
		CU_ASSERT_EQUAL(mps_opt_len(&o, (bit)), MPS_ERR_INVAL);                            \
		CU_ASSERT_EQUAL(mps_opt_size(&o), MPS_ERR_INVAL);                                  \
		CU_ASSERT_EQUAL(mps_opt_write(buf, sizeof(buf), &o), MPS_ERR_INVAL);               \
	} while (0)

	EXPECT_INVAL(o.nsack = 0, MPS_OPT_SACK);
	EXPECT_INVAL(o.nsack = 5, MPS_OPT_SACK);
	EXPECT_INVAL(o.mpc.nkeys = 3, MPS_OPT_MPC);
	EXPECT_INVAL((o.mpc.nkeys = 2, o.mpc.has_csum = true), MPS_OPT_MPC);
	EXPECT_INVAL((o.mpc.nkeys = 1, o.mpc.has_dll = true), MPS_OPT_MPC);
	EXPECT_INVAL(o.join.form = 0, MPS_OPT_JOIN);
	EXPECT_INVAL(o.join.form = 4, MPS_OPT_JOIN);
	EXPECT_INVAL((o.dss.has_ack = true, o.dss.has_csum = true), MPS_OPT_DSS);
	EXPECT_INVAL(o.add_addr.has_hmac = true, MPS_OPT_ADD_ADDR);
	EXPECT_INVAL((o.add_addr.addr.family = MPS_AF_INET, o.add_addr.echo = true,
		      o.add_addr.has_hmac = true),
		     MPS_OPT_ADD_ADDR);
	EXPECT_INVAL(o.add_addr.addr.family = MPS_AF_INET, MPS_OPT_ADD_ADDR);
	EXPECT_INVAL(o.rm_addr.n = 0, MPS_OPT_RM_ADDR);
	EXPECT_INVAL(o.rm_addr.n = MPS_RM_ADDR_MAX + 1, MPS_OPT_RM_ADDR);
	EXPECT_INVAL(o.exp.len = MPS_OPT_EXP_MAX + 1, MPS_OPT_EXP);
#undef EXPECT_INVAL

	memset(&o, 0, sizeof(o));
	CU_ASSERT_EQUAL(mps_opt_len(&o, 0), MPS_ERR_INVAL);
	CU_ASSERT_EQUAL(mps_opt_len(&o, MPS_OPT_MSS | MPS_OPT_TS), MPS_ERR_INVAL);
	CU_ASSERT_EQUAL(mps_opt_len(&o, 1u << 20), MPS_ERR_INVAL);
	o.present = 1u << 20;
	CU_ASSERT_EQUAL(mps_opt_size(&o), MPS_ERR_INVAL);
}

static void test_opt_data_segment_packing(void)
{
	/* TS + DSS (32-bit ack, 64-bit map, no checksum) packed without
	 * per-option padding: 10 + 22 = 32 bytes. */
	mps_opts o = {.present = MPS_OPT_TS | MPS_OPT_DSS,
		      .ts_val = 1,
		      .ts_ecr = 2,
		      .dss = {.has_ack = true,
			      .has_map = true,
			      .map64 = true,
			      .data_ack = 5,
			      .dsn = 6,
			      .ssn = 7,
			      .dll = 8}};

	CU_ASSERT_EQUAL(mps_opt_len(&o, MPS_OPT_TS), 10);
	CU_ASSERT_EQUAL(mps_opt_len(&o, MPS_OPT_DSS), 22);
	CU_ASSERT_EQUAL(test_roundtrip(&o, ACK), 32);
}

static CU_TestInfo tests_opt[] = {
    {"syn_with_mpc_fits_24_bytes", test_opt_syn_with_mpc_fits_24_bytes},
    {"tcp_basic_roundtrip", test_opt_tcp_basic_roundtrip},
    {"wscale_clamped_to_14", test_opt_wscale_clamped_to_14},
    {"syn_only_options_ignored_elsewhere", test_opt_syn_only_options_ignored_elsewhere},
    {"tcp_bad_lengths_flagged", test_opt_tcp_bad_lengths_flagged},
    {"nop_eol_unknown_skipped", test_opt_nop_eol_unknown_skipped},
    {"broken_list_malformed", test_opt_broken_list_malformed},
    {"first_of_a_kind_wins", test_opt_first_of_a_kind_wins},
    {"mpc_every_form_roundtrip", test_opt_mpc_every_form_roundtrip},
    {"mpc_other_version_parses", test_opt_mpc_other_version_parses},
    {"mpc_bad_lengths_flagged", test_opt_mpc_bad_lengths_flagged},
    {"mpc_linux_synack_bytes", test_opt_mpc_linux_synack_bytes},
    {"join_every_form_roundtrip", test_opt_join_every_form_roundtrip},
    {"join_bad_lengths_flagged", test_opt_join_bad_lengths_flagged},
    {"dss_every_form_roundtrip", test_opt_dss_every_form_roundtrip},
    {"dss_bad_lengths_flagged", test_opt_dss_bad_lengths_flagged},
    {"dss_linux_bytes", test_opt_dss_linux_bytes},
    {"dss_32bit_ack_only", test_opt_dss_32bit_ack_only},
    {"add_addr_every_form_roundtrip", test_opt_add_addr_every_form_roundtrip},
    {"add_addr_known_bytes", test_opt_add_addr_known_bytes},
    {"add_addr_bad_lengths_flagged", test_opt_add_addr_bad_lengths_flagged},
    {"rm_addr_roundtrip_and_bad", test_opt_rm_addr_roundtrip_and_bad},
    {"prio_roundtrip_and_bad", test_opt_prio_roundtrip_and_bad},
    {"fail_fastclose_tcprst_roundtrip_and_bad", test_opt_fail_fastclose_tcprst_roundtrip_and_bad},
    {"fastclose_layout", test_opt_fastclose_layout},
    {"tcprst_layout", test_opt_tcprst_layout},
    {"experimental_roundtrip_and_bad", test_opt_experimental_roundtrip_and_bad},
    {"mptcp_unknown_or_short_ignored", test_opt_mptcp_unknown_or_short_ignored},
    {"size_equals_write_for_many_combinations", test_opt_size_equals_write_for_many_combinations},
    {"write_nobuf_when_cap_short", test_opt_write_nobuf_when_cap_short},
    {"padding_is_nops", test_opt_padding_is_nops},
    {"impossible_combinations_inval", test_opt_impossible_combinations_inval},
    {"data_segment_packing", test_opt_data_segment_packing},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(opt, tests_opt);
