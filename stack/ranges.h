/*
 * ranges.h - a bounded set of disjoint half-open [start, end) uint64 ranges.
 *
 * Used for a subflow's received-segment tracking (SACK blocks), for the
 * reassembly buffer (stack/rob.h) and for a sender's SACK scoreboard.
 *
 * Invariants, true after every call:
 *   - r[0..n) is sorted by start, every range is non-empty (start < end),
 *     and two ranges neither overlap nor touch: r[i].end < r[i+1].start
 *     (adjacent ranges are merged);
 *   - n <= alloc <= max; r has room for alloc ranges.  It is allocated
 *     when the first range comes and grows by doubling up to max (an idle
 *     set costs no memory); if memory runs out the set behaves as full.
 *
 * Capacity: when an add needs a range that does not fit, the set keeps the
 * ranges nearest the low end.  A new range above every held one is dropped
 * (mps_ranges_add returns 0); a new range below some held one is recorded
 * and the highest held range is forgotten to make room.  For a receiver this
 * means forgetting the data farthest from delivery (RFC 2018 §8 allows a
 * receiver to discard data it has SACKed; cumulative ACKs never cover the
 * dropped bytes since they lie above a hole).
 *
 * Cost: O(n) per call; the sets are short (typically < 32 ranges).
 * The set owns r; the caller owns the mps_ranges struct itself.
 */
#ifndef MPS_RANGES_H
#define MPS_RANGES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mps_range {
	uint64_t start, end;
} mps_range;

typedef struct mps_ranges {
	mps_range *r; /* sorted, disjoint, non-adjacent */
	size_t n;     /* ranges held */
	size_t alloc; /* room in r now */
	size_t max;   /* most ranges held */
	bool no_evict; /* when full, refuse a new separate range instead of
			* forgetting the highest one, except a new lowest
			* range (the next bytes expected), which is always
			* taken: data that the peer may consider delivered is
			* forgotten only when the alternative is a stall */
} mps_ranges;

/* mps_ranges_init sets up an empty set that holds at most max ranges
 * (max 0 gives a set that records nothing); it allocates nothing yet.
 * Returns 0. */
int mps_ranges_init(mps_ranges *s, size_t max);

/* mps_ranges_free releases the storage; s may be reused after a new init.
 * Safe on a zeroed or already freed set. */
void mps_ranges_free(mps_ranges *s);

/* mps_ranges_clear empties the set, keeping its storage. */
void mps_ranges_clear(mps_ranges *s);

/* mps_ranges_add adds [start, end), merging with overlapping and adjacent
 * ranges.  Returns the number of bytes of [start, end) that were not covered
 * before and are now; 0 also when start >= end or when the range could not be
 * recorded for lack of room (see the capacity rule above). */
uint64_t mps_ranges_add(mps_ranges *s, uint64_t start, uint64_t end);

/* mps_ranges_remove_below drops every value < x, splitting the range that
 * straddles x. */
void mps_ranges_remove_below(mps_ranges *s, uint64_t x);

/* mps_ranges_contig_end returns the end of the range that covers x, or x
 * itself if x is not covered. */
uint64_t mps_ranges_contig_end(const mps_ranges *s, uint64_t x);

/* mps_ranges_contains tells whether [start, end) is covered entirely
 * (true for an empty interval). */
bool mps_ranges_contains(const mps_ranges *s, uint64_t start, uint64_t end);

/* mps_ranges_covered returns how many bytes of [start, end) are covered. */
uint64_t mps_ranges_covered(const mps_ranges *s, uint64_t start, uint64_t end);

/* mps_ranges_total returns the number of bytes covered by the whole set. */
uint64_t mps_ranges_total(const mps_ranges *s);

#endif
