/*
 * test_group.c - the group extension's key derivation, join check and
 * MP_EXPERIMENTAL message codec (stack/group.c).
 */
#include "unit.h"

#include "crypto.h"
#include "group.h"
#include "mps_err.h"
#include "opt.h"

#include <string.h>

static void group_key(uint8_t gk[MPS_GROUP_KEY_LEN], uint8_t seed)
{
	size_t i;

	for (i = 0; i < MPS_GROUP_KEY_LEN; i++)
		gk[i] = (uint8_t)(seed + i * 7);
}

static void test_group_server_key_is_deterministic_per_group_and_nonce(void)
{
	uint8_t a[MPS_GROUP_KEY_LEN], b[MPS_GROUP_KEY_LEN];

	group_key(a, 1);
	group_key(b, 2);
	CU_ASSERT_EQUAL(mps_group_server_key(a, 42), mps_group_server_key(a, 42));
	CU_ASSERT_NOT_EQUAL(mps_group_server_key(a, 42), mps_group_server_key(a, 43));
	CU_ASSERT_NOT_EQUAL(mps_group_server_key(a, 42), mps_group_server_key(b, 42));
}

static void test_group_join_check_accepts_the_right_token(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN];
	uint64_t n = 0x0123456789abcdefull, ks = 0, want;

	group_key(gk, 9);
	want = mps_group_server_key(gk, n);
	CU_ASSERT(mps_group_check_join(gk, n, mps_key_token(want), &ks));
	CU_ASSERT_EQUAL(ks, want);
}

static void test_group_join_check_refuses_a_wrong_token_or_key(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN], other[MPS_GROUP_KEY_LEN];
	uint64_t n = 77, ks = 5;
	uint32_t tok;

	group_key(gk, 3);
	group_key(other, 4);
	tok = mps_key_token(mps_group_server_key(gk, n));
	CU_ASSERT(!mps_group_check_join(gk, n, tok ^ 1, &ks));
	CU_ASSERT(!mps_group_check_join(gk, n + 1, tok, &ks));
	CU_ASSERT(!mps_group_check_join(other, n, tok, &ks));
	CU_ASSERT_EQUAL(ks, 5); /* untouched on refusal */
}

static void gmsg_roundtrip(const mps_gmsg *in, int optlen)
{
	mps_opts o, back;
	mps_gmsg out;
	uint8_t buf[40];
	int n;

	memset(&o, 0, sizeof(o));
	CU_ASSERT_EQUAL_FATAL(mps_gmsg_put(&o, in), 0);
	CU_ASSERT_EQUAL(mps_opt_len(&o, MPS_OPT_EXP), optlen);
	n = mps_opt_write(buf, sizeof(buf), &o);
	CU_ASSERT_FATAL(n > 0);
	CU_ASSERT_EQUAL(mps_opt_parse(&back, buf, (size_t)n, in->type == MPS_GMSG_JOIN ? 0x02 : 0x10), 0);
	CU_ASSERT_FATAL(back.present & MPS_OPT_EXP);
	CU_ASSERT_EQUAL_FATAL(mps_gmsg_parse(&out, &back), 0);
	CU_ASSERT_EQUAL(out.type, in->type);
	CU_ASSERT_EQUAL(out.version, in->version);
	CU_ASSERT_EQUAL(out.backup, in->backup);
	CU_ASSERT_EQUAL(out.addr_id, in->addr_id);
	CU_ASSERT_EQUAL(out.token, in->token);
	CU_ASSERT_EQUAL(out.nonce, in->nonce);
	CU_ASSERT_EQUAL(out.n, in->n);
	CU_ASSERT_EQUAL(out.key_c, in->key_c);
	CU_ASSERT_EQUAL(out.dsn, in->dsn);
	CU_ASSERT_EQUAL(out.len, in->len);
}

static void test_group_messages_round_trip_with_documented_lengths(void)
{
	mps_gmsg req = {.type = MPS_GMSG_REQ};
	mps_gmsg ack = {.type = MPS_GMSG_ACK, .version = MPS_GROUP_VERSION};
	mps_gmsg ticket = {.type = MPS_GMSG_TICKET, .n = 0xfedcba9876543210ull};
	mps_gmsg tack = {.type = MPS_GMSG_TICKET_ACK};
	mps_gmsg join = {.type = MPS_GMSG_JOIN, .backup = true, .addr_id = 0x55, .token = 0xdeadbeef,
			 .nonce = 0x01020304, .n = 0x1122334455667788ull, .key_c = 0x99aabbccddeeff00ull};
	mps_gmsg range = {.type = MPS_GMSG_RANGE, .dsn = 0xffffffff00000010ull, .len = 65536};
	mps_gmsg probe = {.type = MPS_GMSG_PROBE, .dsn = 0x0123456789abcdefull, .len = 4096};
	mps_gmsg idle = {.type = MPS_GMSG_IDLE, .dsn = 0xfedcba9876543210ull};

	gmsg_roundtrip(&probe, 15);
	gmsg_roundtrip(&idle, 11);
	gmsg_roundtrip(&req, 3);
	gmsg_roundtrip(&ack, 4);
	gmsg_roundtrip(&ticket, 11);
	gmsg_roundtrip(&tack, 3);
	gmsg_roundtrip(&join, 28);
	gmsg_roundtrip(&range, 15);
}

static void test_group_join_syn_fits_with_mss_sackperm_wscale(void)
{
	mps_gmsg join = {.type = MPS_GMSG_JOIN, .token = 1, .nonce = 2, .n = 3, .key_c = 4};
	mps_opts o;

	memset(&o, 0, sizeof(o));
	o.present = MPS_OPT_MSS | MPS_OPT_SACK_PERM | MPS_OPT_WSCALE;
	o.mss = 1460;
	o.wscale = 7;
	CU_ASSERT_EQUAL(mps_gmsg_put(&o, &join), 0);
	CU_ASSERT(mps_opt_size(&o) <= 40);
	/* ...and timestamps are what gives way: with them it does not fit. */
	o.present |= MPS_OPT_TS;
	CU_ASSERT(mps_opt_size(&o) > 40);
}

static void test_group_message_with_wrong_length_is_malformed(void)
{
	mps_opts o;
	mps_gmsg m;

	memset(&o, 0, sizeof(o));
	o.present = MPS_OPT_EXP;
	o.exp.nibble = MPS_GMSG_TICKET;
	o.exp.len = 7;
	CU_ASSERT_EQUAL(mps_gmsg_parse(&m, &o), MPS_ERR_MALFORMED);
	o.exp.nibble = MPS_GMSG_JOIN;
	o.exp.len = 24;
	CU_ASSERT_EQUAL(mps_gmsg_parse(&m, &o), MPS_ERR_MALFORMED);
	o.exp.nibble = MPS_GMSG_IDLE;
	o.exp.len = 12; /* a RANGE's length */
	CU_ASSERT_EQUAL(mps_gmsg_parse(&m, &o), MPS_ERR_MALFORMED);
	o.exp.nibble = MPS_GMSG_PROBE;
	o.exp.len = 8;
	CU_ASSERT_EQUAL(mps_gmsg_parse(&m, &o), MPS_ERR_MALFORMED);
	o.exp.nibble = MPS_GMSG_MAX + 1;
	o.exp.len = 8;
	CU_ASSERT_EQUAL(mps_gmsg_parse(&m, &o), MPS_ERR_MALFORMED);
	o.exp.nibble = 0;
	o.exp.len = 0;
	CU_ASSERT_EQUAL(mps_gmsg_parse(&m, &o), MPS_ERR_MALFORMED);
	o.exp.nibble = 0xf;
	CU_ASSERT_EQUAL(mps_gmsg_parse(&m, &o), MPS_ERR_MALFORMED);
	o.present = 0;
	CU_ASSERT_EQUAL(mps_gmsg_parse(&m, &o), MPS_ERR_MALFORMED);
}

static CU_TestInfo tests_group[] = {
	{"test_group_server_key_is_deterministic_per_group_and_nonce",
	 test_group_server_key_is_deterministic_per_group_and_nonce},
	{"test_group_join_check_accepts_the_right_token", test_group_join_check_accepts_the_right_token},
	{"test_group_join_check_refuses_a_wrong_token_or_key", test_group_join_check_refuses_a_wrong_token_or_key},
	{"test_group_messages_round_trip_with_documented_lengths",
	 test_group_messages_round_trip_with_documented_lengths},
	{"test_group_join_syn_fits_with_mss_sackperm_wscale", test_group_join_syn_fits_with_mss_sackperm_wscale},
	{"test_group_message_with_wrong_length_is_malformed", test_group_message_with_wrong_length_is_malformed},
	CU_TEST_INFO_NULL,
};

UNIT_SUITE(group, tests_group)
