/* test_ranges.c - tests for stack/ranges.c. */
#include "unit.h"

#include "mps_err.h"
#include "ranges.h"

#include <stdlib.h>
#include <string.h>

/* ranges_test_is checks that s holds exactly the n ranges of want. */
static int ranges_test_is(const mps_ranges *s, const mps_range *want, size_t n)
{
	size_t i;

	if (s->n != n)
		return 0;
	for (i = 0; i < n; i++)
		if (s->r[i].start != want[i].start || s->r[i].end != want[i].end)
			return 0;
	return 1;
}

#define RANGES_IS(s, ...)                                                                          \
	do {                                                                                       \
		const mps_range want_[] = {__VA_ARGS__};                                           \
		CU_ASSERT_TRUE(ranges_test_is((s), want_, sizeof(want_) / sizeof(want_[0])));      \
	} while (0)

static void test_ranges_add_to_empty(void)
{
	mps_ranges s;

	CU_ASSERT_EQUAL_FATAL(mps_ranges_init(&s, 8), 0);
	CU_ASSERT_EQUAL(s.n, 0);
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 10, 20), 10);
	RANGES_IS(&s, {10, 20});
	CU_ASSERT_EQUAL(mps_ranges_total(&s), 10);
	mps_ranges_free(&s);
}

static void test_ranges_add_empty_interval_is_noop(void)
{
	mps_ranges s;

	CU_ASSERT_EQUAL_FATAL(mps_ranges_init(&s, 8), 0);
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 10, 10), 0);
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 20, 10), 0);
	CU_ASSERT_EQUAL(s.n, 0);
	mps_ranges_free(&s);
}

static void test_ranges_merge_adjacent(void)
{
	mps_ranges s;

	CU_ASSERT_EQUAL_FATAL(mps_ranges_init(&s, 8), 0);
	mps_ranges_add(&s, 10, 20);
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 20, 30), 10); /* touches on the right */
	RANGES_IS(&s, {10, 30});
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 5, 10), 5); /* touches on the left */
	RANGES_IS(&s, {5, 30});
	mps_ranges_free(&s);
}

static void test_ranges_merge_overlap(void)
{
	mps_ranges s;

	CU_ASSERT_EQUAL_FATAL(mps_ranges_init(&s, 8), 0);
	mps_ranges_add(&s, 10, 20);
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 15, 25), 5);
	RANGES_IS(&s, {10, 25});
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 5, 12), 5);
	RANGES_IS(&s, {5, 25});
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 7, 20), 0); /* inside: nothing new */
	RANGES_IS(&s, {5, 25});
	mps_ranges_free(&s);
}

static void test_ranges_merge_spanning_several(void)
{
	mps_ranges s;

	CU_ASSERT_EQUAL_FATAL(mps_ranges_init(&s, 8), 0);
	mps_ranges_add(&s, 10, 20);
	mps_ranges_add(&s, 30, 40);
	mps_ranges_add(&s, 50, 60);
	mps_ranges_add(&s, 70, 80);
	/* [15, 55) swallows [30,40), joins [10,20) and [50,60); gaps 20-30, 40-50 */
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 15, 55), 20);
	RANGES_IS(&s, {10, 60}, {70, 80});
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 0, 100), 100 - 60);
	RANGES_IS(&s, {0, 100});
	mps_ranges_free(&s);
}

static void test_ranges_insert_in_middle(void)
{
	mps_ranges s;

	CU_ASSERT_EQUAL_FATAL(mps_ranges_init(&s, 8), 0);
	mps_ranges_add(&s, 10, 20);
	mps_ranges_add(&s, 50, 60);
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 30, 40), 10);
	RANGES_IS(&s, {10, 20}, {30, 40}, {50, 60});
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 0, 5), 5); /* at the front */
	RANGES_IS(&s, {0, 5}, {10, 20}, {30, 40}, {50, 60});
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 21, 29), 8); /* in a gap, touching none */
	RANGES_IS(&s, {0, 5}, {10, 20}, {21, 29}, {30, 40}, {50, 60});
	mps_ranges_free(&s);
}

static void test_ranges_remove_below_splits_range(void)
{
	mps_ranges s;

	CU_ASSERT_EQUAL_FATAL(mps_ranges_init(&s, 8), 0);
	mps_ranges_add(&s, 10, 20);
	mps_ranges_add(&s, 30, 40);
	mps_ranges_add(&s, 50, 60);
	mps_ranges_remove_below(&s, 35);
	RANGES_IS(&s, {35, 40}, {50, 60});
	mps_ranges_remove_below(&s, 40); /* at a range end: the range goes */
	RANGES_IS(&s, {50, 60});
	mps_ranges_remove_below(&s, 45); /* in a gap: nothing changes */
	RANGES_IS(&s, {50, 60});
	mps_ranges_remove_below(&s, 100);
	CU_ASSERT_EQUAL(s.n, 0);
	mps_ranges_free(&s);
}

static void test_ranges_contig_end(void)
{
	mps_ranges s;

	CU_ASSERT_EQUAL_FATAL(mps_ranges_init(&s, 8), 0);
	CU_ASSERT_EQUAL(mps_ranges_contig_end(&s, 7), 7);
	mps_ranges_add(&s, 10, 20);
	mps_ranges_add(&s, 30, 40);
	CU_ASSERT_EQUAL(mps_ranges_contig_end(&s, 10), 20);
	CU_ASSERT_EQUAL(mps_ranges_contig_end(&s, 19), 20);
	CU_ASSERT_EQUAL(mps_ranges_contig_end(&s, 20), 20); /* end is excluded */
	CU_ASSERT_EQUAL(mps_ranges_contig_end(&s, 9), 9);
	CU_ASSERT_EQUAL(mps_ranges_contig_end(&s, 35), 40);
	CU_ASSERT_EQUAL(mps_ranges_contig_end(&s, 45), 45);
	mps_ranges_free(&s);
}

static void test_ranges_contains_and_covered(void)
{
	mps_ranges s;

	CU_ASSERT_EQUAL_FATAL(mps_ranges_init(&s, 8), 0);
	mps_ranges_add(&s, 10, 20);
	mps_ranges_add(&s, 30, 40);
	CU_ASSERT_TRUE(mps_ranges_contains(&s, 10, 20));
	CU_ASSERT_TRUE(mps_ranges_contains(&s, 12, 18));
	CU_ASSERT_TRUE(mps_ranges_contains(&s, 50, 50)); /* empty */
	CU_ASSERT_FALSE(mps_ranges_contains(&s, 9, 20));
	CU_ASSERT_FALSE(mps_ranges_contains(&s, 10, 21));
	CU_ASSERT_FALSE(mps_ranges_contains(&s, 15, 35));
	CU_ASSERT_FALSE(mps_ranges_contains(&s, 45, 46));
	CU_ASSERT_EQUAL(mps_ranges_covered(&s, 0, 100), 20);
	CU_ASSERT_EQUAL(mps_ranges_covered(&s, 15, 35), 10);
	CU_ASSERT_EQUAL(mps_ranges_covered(&s, 20, 30), 0);
	CU_ASSERT_EQUAL(mps_ranges_covered(&s, 35, 35), 0);
	mps_ranges_free(&s);
}

static void test_ranges_capacity_drops_new_highest_range(void)
{
	mps_ranges s;

	CU_ASSERT_EQUAL_FATAL(mps_ranges_init(&s, 2), 0);
	mps_ranges_add(&s, 10, 20);
	mps_ranges_add(&s, 30, 40);
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 50, 60), 0);
	RANGES_IS(&s, {10, 20}, {30, 40});
	/* Merging still works when full. */
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 40, 45), 5);
	RANGES_IS(&s, {10, 20}, {30, 45});
	mps_ranges_free(&s);
}

static void test_ranges_capacity_keeps_lowest_ranges(void)
{
	mps_ranges s;

	CU_ASSERT_EQUAL_FATAL(mps_ranges_init(&s, 2), 0);
	mps_ranges_add(&s, 10, 20);
	mps_ranges_add(&s, 30, 40);
	/* A new range below the highest one is recorded; the highest goes. */
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 0, 5), 5);
	RANGES_IS(&s, {0, 5}, {10, 20});
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 22, 25), 0);
	RANGES_IS(&s, {0, 5}, {10, 20});
	mps_ranges_free(&s);
}

static void test_ranges_zero_capacity_records_nothing(void)
{
	mps_ranges s;

	CU_ASSERT_EQUAL_FATAL(mps_ranges_init(&s, 0), 0);
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 1, 2), 0);
	CU_ASSERT_EQUAL(s.n, 0);
	mps_ranges_free(&s);
}

static void test_ranges_clear_and_free(void)
{
	mps_ranges s;

	CU_ASSERT_EQUAL_FATAL(mps_ranges_init(&s, 4), 0);
	mps_ranges_add(&s, 1, 2);
	mps_ranges_add(&s, 5, 9);
	mps_ranges_clear(&s);
	CU_ASSERT_EQUAL(s.n, 0);
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 1, 2), 1);
	mps_ranges_free(&s);
	CU_ASSERT_PTR_NULL(s.r);
	mps_ranges_free(&s); /* twice is harmless */
}

/* Randomised comparison against a bitmap over a small universe. */
#define RANGES_U 256

static uint32_t ranges_test_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

static void test_ranges_random_matches_bitmap(void)
{
	mps_ranges s;
	uint8_t bits[RANGES_U];
	uint32_t seed = 0x1234567u;
	int it;

	CU_ASSERT_EQUAL_FATAL(mps_ranges_init(&s, RANGES_U), 0);
	memset(bits, 0, sizeof(bits));
	for (it = 0; it < 5000; it++) {
		uint64_t a = ranges_test_rand(&seed) % RANGES_U;
		uint64_t b = a + ranges_test_rand(&seed) % 8;
		uint64_t q, fresh = 0, lo, hi, want;
		size_t i;

		if (b > RANGES_U)
			b = RANGES_U;
		if (ranges_test_rand(&seed) % 50 == 0) {
			mps_ranges_remove_below(&s, a);
			memset(bits, 0, (size_t)a);
			continue;
		}
		for (q = a; q < b; q++)
			if (!bits[q]) {
				bits[q] = 1;
				fresh++;
			}
		CU_ASSERT_EQUAL_FATAL(mps_ranges_add(&s, a, b), fresh);
		/* invariants: sorted, non-empty, non-touching, matching bits */
		for (i = 0; i < s.n; i++) {
			CU_ASSERT_FATAL(s.r[i].start < s.r[i].end);
			if (i > 0)
				CU_ASSERT_FATAL(s.r[i - 1].end < s.r[i].start);
		}
		lo = ranges_test_rand(&seed) % RANGES_U;
		hi = lo + ranges_test_rand(&seed) % 16;
		if (hi > RANGES_U)
			hi = RANGES_U;
		for (want = 0, q = lo; q < hi; q++)
			want += bits[q];
		CU_ASSERT_EQUAL_FATAL(mps_ranges_covered(&s, lo, hi), want);
		CU_ASSERT_EQUAL_FATAL(mps_ranges_contains(&s, lo, hi), want == hi - lo);
		for (q = lo; q < RANGES_U && bits[q]; q++)
			;
		CU_ASSERT_EQUAL_FATAL(mps_ranges_contig_end(&s, lo), q);
	}
	mps_ranges_free(&s);
}

/* The array is allocated with the first range and grows up to max; full
 * at max, the capacity rule applies as before. */
static void test_ranges_lazy_growth(void)
{
	mps_ranges s;
	uint64_t i;

	CU_ASSERT_EQUAL_FATAL(mps_ranges_init(&s, 10), 0);
	CU_ASSERT_PTR_NULL(s.r);
	CU_ASSERT_EQUAL(s.alloc, 0);
	CU_ASSERT_EQUAL(mps_ranges_contig_end(&s, 5), 5);
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 100, 110), 10);
	CU_ASSERT_PTR_NOT_NULL(s.r);
	CU_ASSERT(s.alloc >= 1 && s.alloc < 10);
	for (i = 1; i < 10; i++)
		CU_ASSERT_EQUAL(mps_ranges_add(&s, 100 + 20 * i, 110 + 20 * i), 10);
	CU_ASSERT_EQUAL(s.n, 10);
	CU_ASSERT_EQUAL(s.alloc, 10);
	/* Full: a new highest range is dropped, a new lowest one evicts. */
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 1000, 1001), 0);
	CU_ASSERT_EQUAL(mps_ranges_add(&s, 10, 20), 10);
	CU_ASSERT_EQUAL(s.n, 10);
	CU_ASSERT_EQUAL(s.r[0].start, 10);
	CU_ASSERT_EQUAL(s.r[9].start, 260);
	for (i = 0; i + 1 < s.n; i++)
		CU_ASSERT(s.r[i].end < s.r[i + 1].start);
	mps_ranges_free(&s);
}

static CU_TestInfo tests_ranges[] = {
    {"ranges_add_to_empty", test_ranges_add_to_empty},
    {"ranges_add_empty_interval_is_noop", test_ranges_add_empty_interval_is_noop},
    {"ranges_merge_adjacent", test_ranges_merge_adjacent},
    {"ranges_merge_overlap", test_ranges_merge_overlap},
    {"ranges_merge_spanning_several", test_ranges_merge_spanning_several},
    {"ranges_insert_in_middle", test_ranges_insert_in_middle},
    {"ranges_remove_below_splits_range", test_ranges_remove_below_splits_range},
    {"ranges_contig_end", test_ranges_contig_end},
    {"ranges_contains_and_covered", test_ranges_contains_and_covered},
    {"ranges_capacity_drops_new_highest_range", test_ranges_capacity_drops_new_highest_range},
    {"ranges_capacity_keeps_lowest_ranges", test_ranges_capacity_keeps_lowest_ranges},
    {"ranges_zero_capacity_records_nothing", test_ranges_zero_capacity_records_nothing},
    {"ranges_clear_and_free", test_ranges_clear_and_free},
    {"ranges_random_matches_bitmap", test_ranges_random_matches_bitmap},
    {"ranges_lazy_growth", test_ranges_lazy_growth},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(ranges, tests_ranges)
