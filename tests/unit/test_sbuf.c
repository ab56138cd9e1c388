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

/* Growth: nothing is allocated until data comes; the ring doubles from
 * SBUF_MIN_ALLOC as the application writes, never beyond cap, and every
 * byte held keeps its value across each move, including bytes that wrapped
 * the end of the smaller ring. */
static void test_sbuf_grows_on_demand_keeping_bytes(void)
{
	const size_t cap = 64 * 1024;
	const uint64_t start = 1000;
	static uint8_t data[64 * 1024];
	mps_sbuf s;
	mps_iov iov[2];
	size_t held, off;
	int i, cnt;
	bool ok = true;

	CU_ASSERT_EQUAL_FATAL(mps_sbuf_init(&s, cap, start), 0);
	CU_ASSERT_PTR_NULL(s.buf);
	CU_ASSERT_EQUAL(s.alloc, 0);
	CU_ASSERT_EQUAL(mps_sbuf_space(&s), cap);
	sbuf_test_fill(data, start, 3000);
	CU_ASSERT_EQUAL(mps_sbuf_append(&s, data, 3000), 3000);
	CU_ASSERT_EQUAL(s.alloc, SBUF_MIN_ALLOC);
	/* Release most of it, then write across the end of the 4 KiB ring. */
	mps_sbuf_release(&s, start + 2500);
	sbuf_test_fill(data, s.end, 3000);
	CU_ASSERT_EQUAL(mps_sbuf_append(&s, data, 3000), 3000);
	CU_ASSERT_EQUAL(s.alloc, SBUF_MIN_ALLOC);
	CU_ASSERT_EQUAL(mps_sbuf_peek(&s, s.base, mps_sbuf_used(&s), iov), 2);
	/* More than the ring holds: it doubles, the wrapped bytes move. */
	sbuf_test_fill(data, s.end, 5000);
	CU_ASSERT_EQUAL(mps_sbuf_append(&s, data, 5000), 5000);
	CU_ASSERT_EQUAL(s.alloc, 4 * SBUF_MIN_ALLOC);
	/* Up to the cap, never beyond. */
	held = mps_sbuf_used(&s);
	sbuf_test_fill(data, s.end, cap);
	CU_ASSERT_EQUAL(mps_sbuf_append(&s, data, cap), cap - held);
	CU_ASSERT_EQUAL(s.alloc, cap);
	CU_ASSERT_EQUAL(mps_sbuf_space(&s), 0);
	/* Every byte held is the one written at its sequence number. */
	cnt = mps_sbuf_peek(&s, s.base, mps_sbuf_used(&s), iov);
	CU_ASSERT(cnt >= 1);
	off = 0;
	for (i = 0; i < cnt; i++) {
		size_t k;
		for (k = 0; k < iov[i].len; k++)
			ok = ok && iov[i].base[k] == sbuf_test_byte(s.base + off + k);
		off += iov[i].len;
	}
	CU_ASSERT_EQUAL(off, cap);
	CU_ASSERT_TRUE(ok);
	mps_sbuf_free(&s);
}

/* The ring is freed once every byte is acknowledged, and comes back (at the
 * right places) with the next write. */
static void test_sbuf_frees_when_empty(void)
{
	mps_sbuf s;
	uint8_t data[6000];

	CU_ASSERT_EQUAL_FATAL(mps_sbuf_init(&s, 1u << 20, 7), 0);
	sbuf_test_fill(data, 7, sizeof(data));
	CU_ASSERT_EQUAL(mps_sbuf_append(&s, data, sizeof(data)), sizeof(data));
	CU_ASSERT_PTR_NOT_NULL(s.buf);
	mps_sbuf_release(&s, 7 + 5999);
	CU_ASSERT_PTR_NOT_NULL(s.buf); /* one byte still held */
	CU_ASSERT_TRUE(sbuf_test_peek_ok(&s, 7 + 5999, 1, 1));
	mps_sbuf_release(&s, 7 + 6000);
	CU_ASSERT_PTR_NULL(s.buf);
	CU_ASSERT_EQUAL(s.alloc, 0);
	CU_ASSERT_EQUAL(mps_sbuf_space(&s), 1u << 20);
	sbuf_test_fill(data, s.end, 400);
	CU_ASSERT_EQUAL(mps_sbuf_append(&s, data, 400), 400);
	CU_ASSERT_EQUAL(s.alloc, SBUF_MIN_ALLOC);
	CU_ASSERT_TRUE(sbuf_test_peek_ok(&s, 7 + 6000, 400, 1));
	mps_sbuf_free(&s);
}

/* Reserve on an unallocated buffer allocates; when the ring is full but
 * the cap is not reached, the next reserve grows it. */
static void test_sbuf_reserve_grows(void)
{
	mps_sbuf s;
	struct mps_wiov w[2];
	size_t i;

	CU_ASSERT_EQUAL_FATAL(mps_sbuf_init(&s, 3 * SBUF_MIN_ALLOC, 0), 0);
	CU_ASSERT_EQUAL(mps_sbuf_reserve(&s, w), 1);
	CU_ASSERT_EQUAL(w[0].len, SBUF_MIN_ALLOC);
	for (i = 0; i < w[0].len; i++)
		w[0].base[i] = sbuf_test_byte(i);
	mps_sbuf_commit(&s, w[0].len);
	CU_ASSERT_EQUAL(mps_sbuf_reserve(&s, w), 1);
	CU_ASSERT_EQUAL(s.alloc, 2 * SBUF_MIN_ALLOC);
	mps_sbuf_commit(&s, 0);
	CU_ASSERT_EQUAL(mps_sbuf_reserve(&s, w), 1);
	CU_ASSERT_EQUAL(w[0].len, SBUF_MIN_ALLOC);
	mps_sbuf_commit(&s, w[0].len); /* garbage, but committed */
	CU_ASSERT_EQUAL(mps_sbuf_reserve(&s, w), 1);
	CU_ASSERT_EQUAL(s.alloc, 3 * SBUF_MIN_ALLOC); /* capped, not 4x */
	CU_ASSERT_EQUAL(w[0].len, SBUF_MIN_ALLOC);
	CU_ASSERT_TRUE(sbuf_test_peek_ok(&s, 100, 200, 1));
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
    {"sbuf_grows_on_demand_keeping_bytes", test_sbuf_grows_on_demand_keeping_bytes},
    {"sbuf_frees_when_empty", test_sbuf_frees_when_empty},
    {"sbuf_reserve_grows", test_sbuf_reserve_grows},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(sbuf, tests_sbuf)
