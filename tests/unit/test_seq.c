/* test_seq.c - sequence number comparisons and 32 -> 64-bit expansion. */
#include "seq.h"
#include "unit.h"

#include <CUnit/CUnit.h>

static void test_seq_compare_plain(void)
{
	CU_ASSERT_TRUE(mps_seq_lt(1, 2));
	CU_ASSERT_FALSE(mps_seq_lt(2, 2));
	CU_ASSERT_TRUE(mps_seq_leq(2, 2));
	CU_ASSERT_TRUE(mps_seq_gt(3, 2));
	CU_ASSERT_FALSE(mps_seq_gt(2, 2));
	CU_ASSERT_TRUE(mps_seq_geq(2, 2));
	CU_ASSERT_FALSE(mps_seq_geq(1, 2));
	CU_ASSERT_FALSE(mps_seq_leq(3, 2));
}

static void test_seq_compare_across_wrap(void)
{
	/* 0xfffffff0 comes before 0x10 once the space wraps. */
	CU_ASSERT_TRUE(mps_seq_lt(0xfffffff0u, 0x10u));
	CU_ASSERT_TRUE(mps_seq_leq(0xfffffff0u, 0x10u));
	CU_ASSERT_TRUE(mps_seq_gt(0x10u, 0xfffffff0u));
	CU_ASSERT_TRUE(mps_seq_geq(0x10u, 0xfffffff0u));
	CU_ASSERT_FALSE(mps_seq_lt(0x10u, 0xfffffff0u));
	CU_ASSERT_TRUE(mps_seq_lt(0xffffffffu, 0u));
	CU_ASSERT_TRUE(mps_seq_gt(0u, 0xffffffffu));
	/* Just under half the space away is still "after". */
	CU_ASSERT_TRUE(mps_seq_lt(0u, 0x7fffffffu));
	CU_ASSERT_TRUE(mps_seq_gt(0x7fffffffu, 0u));
	/* Exactly half: (int32_t)0x80000000 is negative both ways round. */
	CU_ASSERT_TRUE(mps_seq_lt(0x80000000u, 0u));
	CU_ASSERT_TRUE(mps_seq_lt(0u, 0x80000000u));
}

static void test_seq_expand32_same_epoch(void)
{
	CU_ASSERT_EQUAL(mps_seq_expand32(0x500001000ull, 0x1200u), 0x500001200ull);
	CU_ASSERT_EQUAL(mps_seq_expand32(0x500001000ull, 0x0f00u), 0x500000f00ull);
	CU_ASSERT_EQUAL(mps_seq_expand32(0x500001000ull, 0x1000u), 0x500001000ull);
}

static void test_seq_expand32_near_zero(void)
{
	/* ref just past an epoch boundary, value just before it. */
	CU_ASSERT_EQUAL(mps_seq_expand32(0x700000010ull, 0xfffffff0u), 0x6fffffff0ull);
	CU_ASSERT_EQUAL(mps_seq_expand32(0x700000010ull, 0x20u), 0x700000020ull);
	/* ref 0: a value "before" it wraps the 64-bit space backwards. */
	CU_ASSERT_EQUAL(mps_seq_expand32(0, 0xffffffffu), UINT64_MAX);
	CU_ASSERT_EQUAL(mps_seq_expand32(0, 5), 5u);
}

static void test_seq_expand32_near_2_32(void)
{
	/* ref just before an epoch boundary, value just after it. */
	CU_ASSERT_EQUAL(mps_seq_expand32(0x3fffffff0ull, 0x10u), 0x400000010ull);
	CU_ASSERT_EQUAL(mps_seq_expand32(0x3fffffff0ull, 0xffffffe0u), 0x3ffffffe0ull);
	CU_ASSERT_EQUAL(mps_seq_expand32(0xfffffff0ull, 0x10u), 0x100000010ull);
	/* 64-bit wrap forwards. */
	CU_ASSERT_EQUAL(mps_seq_expand32(UINT64_MAX - 5, 3u), 3u);
}

static void test_seq_expand32_big_jumps(void)
{
	uint64_t ref = 0x123456789abcdef0ull;

	/* Up to 2^31 - 1 forwards and 2^31 backwards. */
	CU_ASSERT_EQUAL(mps_seq_expand32(ref, (uint32_t)ref + 0x7fffffffu), ref + 0x7fffffffu);
	CU_ASSERT_EQUAL(mps_seq_expand32(ref, (uint32_t)ref - 0x7fffffffu), ref - 0x7fffffffu);
	CU_ASSERT_EQUAL(mps_seq_expand32(ref, (uint32_t)ref + 0x80000000u), ref - 0x80000000u);
	/* Every result has v as its low bits and lies within 2^31 of ref. */
	for (uint64_t d = 0; d < 0x100000000ull; d += 0x01234567ull) {
		uint32_t v = (uint32_t)(ref + d);
		uint64_t x = mps_seq_expand32(ref, v);
		int64_t diff = (int64_t)(x - ref);

		CU_ASSERT_EQUAL((uint32_t)x, v);
		CU_ASSERT_TRUE(diff >= -0x80000000ll && diff < 0x80000000ll);
	}
}

static void test_seq_min_max64(void)
{
	CU_ASSERT_EQUAL(mps_min64(3, UINT64_MAX), 3u);
	CU_ASSERT_EQUAL(mps_max64(3, UINT64_MAX), UINT64_MAX);
	CU_ASSERT_EQUAL(mps_min64(7, 7), 7u);
	CU_ASSERT_EQUAL(mps_max64(0, 1), 1u);
}

static CU_TestInfo tests_seq[] = {
    {"compare_plain", test_seq_compare_plain},
    {"compare_across_wrap", test_seq_compare_across_wrap},
    {"expand32_same_epoch", test_seq_expand32_same_epoch},
    {"expand32_near_zero", test_seq_expand32_near_zero},
    {"expand32_near_2_32", test_seq_expand32_near_2_32},
    {"expand32_big_jumps", test_seq_expand32_big_jumps},
    {"min_max64", test_seq_min_max64},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(seq, tests_seq);
