/* test_sbuf.c - tests for stack/sbuf.c, the send buffer. */
#include "unit.h"

#include "mps_err.h"
#include "sbuf.h"

#include <string.h>

static uint8_t sbuf_test_byte(uint64_t q)
{
	return (uint8_t)(q * 131u + (q >> 8));
}

static void sbuf_test_fill(uint8_t *p, uint64_t seq, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = sbuf_test_byte(seq + i);
}

/* sbuf_test_peek_ok tells whether [seq, seq+len) peeks as the reference
 * bytes, in the expected number of pieces. */
static int sbuf_test_peek_ok(const mps_sbuf *s, uint64_t seq, size_t len, int pieces)
{
	uint8_t want[512];
	mps_iov iov[2];
	size_t off = 0;
	int i, cnt = mps_sbuf_peek(s, seq, len, iov);

	if (cnt != pieces || len > sizeof(want))
		return 0;
	sbuf_test_fill(want, seq, len);
	for (i = 0; i < cnt; i++) {
		if (iov[i].len == 0 || memcmp(iov[i].base, want + off, iov[i].len) != 0)
			return 0;
		off += iov[i].len;
	}
	return off == len;
}

static void test_sbuf_init_rejects_zero_capacity(void)
{
	mps_sbuf s;

	CU_ASSERT_EQUAL(mps_sbuf_init(&s, 0, 0), MPS_ERR_INVAL);
	CU_ASSERT_PTR_NULL(s.buf);
	mps_sbuf_free(&s);
}

static void test_sbuf_append_until_full(void)
{
	mps_sbuf s;
	uint8_t data[80];

	CU_ASSERT_EQUAL_FATAL(mps_sbuf_init(&s, 64, 1000), 0);
	CU_ASSERT_EQUAL(mps_sbuf_space(&s), 64);
	sbuf_test_fill(data, 1000, sizeof(data));
	CU_ASSERT_EQUAL(mps_sbuf_append(&s, data, 40), 40);
	CU_ASSERT_EQUAL(mps_sbuf_append(&s, data + 40, 40), 24);
	CU_ASSERT_EQUAL(mps_sbuf_space(&s), 0);
	CU_ASSERT_EQUAL(mps_sbuf_used(&s), 64);
	CU_ASSERT_EQUAL(mps_sbuf_append(&s, data, 1), 0);
	CU_ASSERT_EQUAL(s.base, 1000);
	CU_ASSERT_EQUAL(s.end, 1064);
	CU_ASSERT_TRUE(sbuf_test_peek_ok(&s, 1000, 64, 2)); /* 1000 % 64 = 40 */
	mps_sbuf_free(&s);
}

static void test_sbuf_append_and_peek_across_ring_wrap(void)
{
	mps_sbuf s;
	uint8_t data[64];

	CU_ASSERT_EQUAL_FATAL(mps_sbuf_init(&s, 64, 0), 0);
	sbuf_test_fill(data, 0, 50);
	CU_ASSERT_EQUAL(mps_sbuf_append(&s, data, 50), 50);
	mps_sbuf_release(&s, 40);
	sbuf_test_fill(data, 50, 40);
	CU_ASSERT_EQUAL(mps_sbuf_append(&s, data, 40), 40); /* 14 + 26 across the end */
	CU_ASSERT_TRUE(sbuf_test_peek_ok(&s, 40, 50, 2));
	CU_ASSERT_TRUE(sbuf_test_peek_ok(&s, 40, 24, 1)); /* up to the ring end */
	CU_ASSERT_TRUE(sbuf_test_peek_ok(&s, 64, 26, 1)); /* from the ring start */
	CU_ASSERT_TRUE(sbuf_test_peek_ok(&s, 60, 10, 2));
	mps_sbuf_free(&s);
}

static void test_sbuf_release_moves_base(void)
{
	mps_sbuf s;
	uint8_t data[32];

	CU_ASSERT_EQUAL_FATAL(mps_sbuf_init(&s, 32, 100), 0);
	sbuf_test_fill(data, 100, 32);
	mps_sbuf_append(&s, data, 32);
	mps_sbuf_release(&s, 110);
	CU_ASSERT_EQUAL(s.base, 110);
	CU_ASSERT_EQUAL(mps_sbuf_space(&s), 10);
	mps_sbuf_release(&s, 105); /* stale: no going back */
	CU_ASSERT_EQUAL(s.base, 110);
	mps_sbuf_release(&s, 1000); /* beyond end: clamped */
	CU_ASSERT_EQUAL(s.base, 132);
	CU_ASSERT_EQUAL(mps_sbuf_used(&s), 0);
	CU_ASSERT_EQUAL(mps_sbuf_space(&s), 32);
	mps_sbuf_free(&s);
}

static void test_sbuf_peek_out_of_range(void)
{
	mps_sbuf s;
	mps_iov iov[2];
	uint8_t data[40];

	CU_ASSERT_EQUAL_FATAL(mps_sbuf_init(&s, 64, 0), 0);
	sbuf_test_fill(data, 0, 40);
	mps_sbuf_append(&s, data, 40);
	mps_sbuf_release(&s, 10);
	CU_ASSERT_EQUAL(mps_sbuf_peek(&s, 9, 5, iov), MPS_ERR_INVAL);	/* released */
	CU_ASSERT_EQUAL(mps_sbuf_peek(&s, 30, 11, iov), MPS_ERR_INVAL); /* past end */
	CU_ASSERT_EQUAL(mps_sbuf_peek(&s, 41, 0, iov), MPS_ERR_INVAL);
	CU_ASSERT_EQUAL(mps_sbuf_peek(&s, 10, SIZE_MAX, iov), MPS_ERR_INVAL);
	CU_ASSERT_EQUAL(mps_sbuf_peek(&s, 40, 0, iov), 0); /* empty, at end */
	CU_ASSERT_TRUE(sbuf_test_peek_ok(&s, 10, 30, 1));
	mps_sbuf_free(&s);
}

static void test_sbuf_reserve_commit(void)
{
	mps_sbuf s;
	mps_wiov w[2];
	uint8_t data[64];
	size_t i;

	CU_ASSERT_EQUAL_FATAL(mps_sbuf_init(&s, 64, 0), 0);
	sbuf_test_fill(data, 0, 48);
	mps_sbuf_append(&s, data, 48);
	mps_sbuf_release(&s, 32);
	/* free space: [48, 64) at the ring end, then [0, 32) at its start */
	CU_ASSERT_EQUAL(mps_sbuf_reserve(&s, w), 2);
	CU_ASSERT_EQUAL(w[0].len, 16);
	CU_ASSERT_EQUAL(w[1].len, 32);
	CU_ASSERT_PTR_EQUAL(w[1].base, s.buf);
	sbuf_test_fill(data, 48, 40);
	memcpy(w[0].base, data, 16);
	memcpy(w[1].base, data + 16, 24);
	mps_sbuf_commit(&s, 40);
	CU_ASSERT_EQUAL(s.end, 88);
	CU_ASSERT_TRUE(sbuf_test_peek_ok(&s, 32, 56, 2));
	CU_ASSERT_EQUAL(mps_sbuf_reserve(&s, w), 1);
	CU_ASSERT_EQUAL(w[0].len, 8);
	for (i = 0; i < 8; i++)
		w[0].base[i] = sbuf_test_byte(88 + i);
	mps_sbuf_commit(&s, 100); /* clamped to the space */
	CU_ASSERT_EQUAL(s.end, 96);
	CU_ASSERT_EQUAL(mps_sbuf_reserve(&s, w), 0);
	CU_ASSERT_TRUE(sbuf_test_peek_ok(&s, 32, 64, 2));
	mps_sbuf_free(&s);
}

static void test_sbuf_sequence_crossing_2pow32(void)
{
	const uint64_t start = 0xFFFFFF00u;
	mps_sbuf s;
	uint8_t data[300];
	int round;

	CU_ASSERT_EQUAL_FATAL(mps_sbuf_init(&s, 500, start), 0);
	for (round = 0; round < 10; round++) {
		uint64_t at = s.end;

		sbuf_test_fill(data, at, sizeof(data));
		CU_ASSERT_EQUAL(mps_sbuf_append(&s, data, sizeof(data)), sizeof(data));
		CU_ASSERT_TRUE(sbuf_test_peek_ok(&s, at, 300, (at % 500) + 300 > 500 ? 2 : 1));
		mps_sbuf_release(&s, s.end - 100);
	}
	CU_ASSERT(s.end > 0x100000000u);
	mps_sbuf_free(&s);
}

static CU_TestInfo tests_sbuf[] = {
    {"sbuf_init_rejects_zero_capacity", test_sbuf_init_rejects_zero_capacity},
    {"sbuf_append_until_full", test_sbuf_append_until_full},
    {"sbuf_append_and_peek_across_ring_wrap", test_sbuf_append_and_peek_across_ring_wrap},
    {"sbuf_release_moves_base", test_sbuf_release_moves_base},
    {"sbuf_peek_out_of_range", test_sbuf_peek_out_of_range},
    {"sbuf_reserve_commit", test_sbuf_reserve_commit},
    {"sbuf_sequence_crossing_2pow32", test_sbuf_sequence_crossing_2pow32},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(sbuf, tests_sbuf)
