/*
 * ranges.c - bounded sorted set of disjoint [start, end) ranges.
 *
 * A plain sorted array: every operation scans it linearly and shifts with
 * memmove, which is the fastest choice for the short sets we keep.  The
 * array is allocated when the first range comes and doubles (from
 * RANGES_MIN_ALLOC) up to max as more separate ranges are held.
 */
#include "ranges.h"
#include "mps_err.h"

#include <stdlib.h>
#include <string.h>

static uint64_t ranges_min(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t ranges_max(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* ranges_overlap returns how many bytes [a, b) and the range r share. */
static uint64_t ranges_overlap(const mps_range *r, uint64_t a, uint64_t b)
{
	uint64_t lo = ranges_max(a, r->start);
	uint64_t hi = ranges_min(b, r->end);

	return lo < hi ? hi - lo : 0;
}

#define RANGES_MIN_ALLOC 4

int mps_ranges_init(mps_ranges *s, size_t max)
{
	s->r = NULL;
	s->n = 0;
	s->alloc = 0;
	s->no_evict = false;
	s->max = max;
	return 0;
}

void mps_ranges_free(mps_ranges *s)
{
	free(s->r);
	s->r = NULL;
	s->n = 0;
	s->alloc = 0;
	s->max = 0;
}

/* ranges_grow makes room for one more range (n == alloc < max).
 * Returns false when memory runs out (the set is unchanged). */
static bool ranges_grow(mps_ranges *s)
{
	size_t n = s->alloc ? 2 * s->alloc : RANGES_MIN_ALLOC;
	mps_range *r;

	if (n > s->max)
		n = s->max;
	r = realloc(s->r, n * sizeof(*r));
	if (r == NULL)
		return false;
	s->r = r;
	s->alloc = n;
	return true;
}

void mps_ranges_clear(mps_ranges *s)
{
	s->n = 0;
}

uint64_t mps_ranges_add(mps_ranges *s, uint64_t start, uint64_t end)
{
	size_t i, j, k;
	uint64_t had = 0;

	if (start >= end)
		return 0;
	/* i: first range that ends at or after start (so may touch it);
	 * j: first range, from i, that starts strictly after end.  The ranges
	 * in [i, j) overlap or touch [start, end) and merge with it. */
	for (i = 0; i < s->n && s->r[i].end < start; i++)
		;
	for (j = i; j < s->n && s->r[j].start <= end; j++)
		had += ranges_overlap(&s->r[j], start, end);

	if (i == j) {
		/* Disjoint: a new range at index i. */
		if (s->n == s->alloc && s->n < s->max && !ranges_grow(s) && s->n == 0)
			return 0;
		if (s->n == s->alloc) {
			/* Full: a range that would be the highest is dropped;
			 * with no_evict, so is any but a new lowest one (the
			 * next expected bytes must always get in, or the
			 * stream could stall for good). */
			if (i == s->n || (s->no_evict && i != 0))
				return 0;
			s->n--;		  /* forget the highest range */
		}
		memmove(&s->r[i + 1], &s->r[i], (s->n - i) * sizeof(*s->r));
		s->r[i].start = start;
		s->r[i].end = end;
		s->n++;
		return end - start;
	}

	s->r[i].start = ranges_min(start, s->r[i].start);
	s->r[i].end = ranges_max(end, s->r[j - 1].end);
	k = j - i - 1; /* ranges swallowed by r[i] */
	if (k > 0) {
		memmove(&s->r[i + 1], &s->r[j], (s->n - j) * sizeof(*s->r));
		s->n -= k;
	}
	return (end - start) - had;
}

void mps_ranges_remove_below(mps_ranges *s, uint64_t x)
{
	size_t i;

	for (i = 0; i < s->n && s->r[i].end <= x; i++)
		;
	if (i > 0) {
		memmove(&s->r[0], &s->r[i], (s->n - i) * sizeof(*s->r));
		s->n -= i;
	}
	if (s->n > 0 && s->r[0].start < x)
		s->r[0].start = x;
}

uint64_t mps_ranges_contig_end(const mps_ranges *s, uint64_t x)
{
	size_t i;

	for (i = 0; i < s->n && s->r[i].start <= x; i++)
		if (x < s->r[i].end)
			return s->r[i].end;
	return x;
}

bool mps_ranges_contains(const mps_ranges *s, uint64_t start, uint64_t end)
{
	size_t i;

	if (start >= end)
		return true;
	/* Ranges never touch, so a covered interval lies in a single one. */
	for (i = 0; i < s->n && s->r[i].start <= start; i++)
		if (end <= s->r[i].end)
			return true;
	return false;
}

uint64_t mps_ranges_covered(const mps_ranges *s, uint64_t start, uint64_t end)
{
	uint64_t sum = 0;
	size_t i;

	if (start >= end)
		return 0;
	for (i = 0; i < s->n && s->r[i].start < end; i++)
		sum += ranges_overlap(&s->r[i], start, end);
	return sum;
}

uint64_t mps_ranges_total(const mps_ranges *s)
{
	uint64_t sum = 0;
	size_t i;

	for (i = 0; i < s->n; i++)
		sum += s->r[i].end - s->r[i].start;
	return sum;
}
