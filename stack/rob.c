/*
 * rob.c - reassembly buffer: a ring of bytes plus the set of held ranges.
 *
 * mps_rob_write() → rob_clip() → rob_same() (divergence check against held
 * bytes) → rob_copy_in() → mps_ranges_add(); the reader side is
 * mps_rob_peek()/mps_rob_consume(), which drops consumed ranges.
 *
 * The ring is allocated on demand (rob_fit): nothing until bytes arrive,
 * then a power of two covering [head, the highest byte held), at least
 * ROB_MIN_ALLOC and at most cap; it doubles as data lands further ahead and
 * is freed when the reader has consumed everything held.
 */
#include "rob.h"
#include "mps_err.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* rob_win_end returns head + cap, saturated at UINT64_MAX. */
static uint64_t rob_win_end(const mps_rob *r)
{
	return r->head > UINT64_MAX - r->cap ? UINT64_MAX : r->head + r->cap;
}

static size_t rob_index(const mps_rob *r, uint64_t seq)
{
	return (size_t)(seq % r->alloc);
}

/* rob_copy_in writes n bytes from p at seq; [seq, seq+n) is in the ring. */
static void rob_copy_in(mps_rob *r, uint64_t seq, const uint8_t *p, size_t n)
{
	size_t i = rob_index(r, seq);
	size_t first = r->alloc - i < n ? r->alloc - i : n;

	memcpy(r->buf + i, p, first);
	memcpy(r->buf, p + first, n - first);
}

/* rob_same tells whether the n bytes held at seq equal p[0..n). */
static bool rob_same(const mps_rob *r, uint64_t seq, const uint8_t *p, size_t n)
{
	size_t i = rob_index(r, seq);
	size_t first = r->alloc - i < n ? r->alloc - i : n;

	return memcmp(r->buf + i, p, first) == 0 && memcmp(r->buf, p + first, n - first) == 0;
}

/* rob_fit makes the ring cover [head, upto) (upto - head <= cap), moving
 * the held bytes to their places in the new ring.  Returns 0 or
 * MPS_ERR_NOMEM (the buffer is left as it was). */
static int rob_fit(mps_rob *r, uint64_t upto)
{
	size_t need = (size_t)(upto - r->head), n = r->alloc ? r->alloc : ROB_MIN_ALLOC, k;
	mps_rob t;

	if (need <= r->alloc)
		return 0;
	while (n < need && n <= r->cap / 2)
		n *= 2;
	if (n < need || n > r->cap)
		n = r->cap;
	t = *r;
	t.alloc = n;
	t.buf = malloc(n);
	if (t.buf == NULL)
		return MPS_ERR_NOMEM;
	for (k = 0; k < r->have.n; k++) {
		/* Each held range, piecewise from the old ring. */
		uint64_t q = r->have.r[k].start;
		size_t len = (size_t)(r->have.r[k].end - q);
		size_t i = rob_index(r, q), first = r->alloc - i < len ? r->alloc - i : len;

		rob_copy_in(&t, q, r->buf + i, first);
		rob_copy_in(&t, q + first, r->buf, len - first);
	}
	free(r->buf);
	*r = t;
	return 0;
}

/* rob_shrink frees the ring when nothing is held. */
static void rob_shrink(mps_rob *r)
{
	if (!r->hold)
		mps_rob_trim(r);
}

void mps_rob_trim(mps_rob *r)
{
	if (r->have.n == 0 && r->buf != NULL) {
		free(r->buf);
		r->buf = NULL;
		r->alloc = 0;
	}
}

uint8_t mps_rob_byte(const mps_rob *r, uint64_t seq)
{
	return r->buf[rob_index(r, seq)];
}

int mps_rob_init(mps_rob *r, size_t cap, uint64_t start, size_t max_ranges)
{
	int err;

	memset(r, 0, sizeof(*r));
	if (cap == 0 || cap > INT_MAX || max_ranges == 0)
		return MPS_ERR_INVAL;
	err = mps_ranges_init(&r->have, max_ranges);
	if (err < 0)
		return err;
	/* Bytes we hold may already be acknowledged: never forget them. */
	r->have.no_evict = true;
	r->cap = cap;
	r->head = start;
	return 0;
}

void mps_rob_free(mps_rob *r)
{
	free(r->buf);
	r->buf = NULL;
	mps_ranges_free(&r->have);
	r->alloc = 0;
	r->cap = 0;
}

/* rob_accepted returns how long a prefix of [seq, seq+len) is read or held:
 * the bytes below head were read, and from max(seq, head) the held run. */
static size_t rob_accepted(const mps_rob *r, uint64_t seq, size_t len)
{
	uint64_t from = seq > r->head ? seq : r->head;
	uint64_t upto = mps_ranges_contig_end(&r->have, from);

	return upto - seq < len ? (size_t)(upto - seq) : len;
}

int mps_rob_write(mps_rob *r, uint64_t seq, const uint8_t *data, size_t len, size_t *accepted)
{
	uint64_t end = seq > UINT64_MAX - len ? UINT64_MAX : seq + len;
	uint64_t lo = seq > r->head ? seq : r->head;
	uint64_t hi = end < rob_win_end(r) ? end : rob_win_end(r);
	uint64_t added;
	size_t i;

	if (lo >= hi) {
		/* Nothing inside the window: all read already, or too far. */
		if (accepted != NULL)
			*accepted = len == 0 ? 0 : rob_accepted(r, seq, len);
		return 0;
	}
	if (rob_fit(r, hi) != 0) {
		/* Out of memory: take nothing, as if the window were shut. */
		if (accepted != NULL)
			*accepted = rob_accepted(r, seq, len);
		return 0;
	}
	/* DESIGN.md §3: a replica whose bytes differ must never be spliced
	 * in, so check every held byte the input overlaps before storing. */
	for (i = 0; i < r->have.n && r->have.r[i].start < hi; i++) {
		uint64_t a = r->have.r[i].start > lo ? r->have.r[i].start : lo;
		uint64_t b = r->have.r[i].end < hi ? r->have.r[i].end : hi;

		if (a < b && !rob_same(r, a, data + (a - seq), (size_t)(b - a))) {
			if (accepted != NULL)
				*accepted = 0;
			return MPS_ERR_DIVERGE;
		}
	}
	/* Held bytes are rewritten with identical ones; if the range cannot
	 * be recorded the copied bytes stay unowned garbage. */
	rob_copy_in(r, lo, data + (lo - seq), (size_t)(hi - lo));
	added = mps_ranges_add(&r->have, lo, hi);
	rob_shrink(r); /* the range could not be recorded and nothing else is held */
	if (accepted != NULL)
		*accepted = rob_accepted(r, seq, len);
	return (int)added;
}

size_t mps_rob_readable(const mps_rob *r)
{
	return (size_t)(mps_ranges_contig_end(&r->have, r->head) - r->head);
}

uint64_t mps_rob_next(const mps_rob *r)
{
	return mps_ranges_contig_end(&r->have, r->head);
}

size_t mps_rob_space(const mps_rob *r)
{
	return r->cap - mps_rob_readable(r);
}

int mps_rob_peek(const mps_rob *r, mps_iov iov[2])
{
	size_t n = mps_rob_readable(r);
	size_t i, first;

	if (n == 0)
		return 0;
	i = rob_index(r, r->head);
	first = r->alloc - i < n ? r->alloc - i : n;
	iov[0].base = r->buf + i;
	iov[0].len = first;
	if (first == n)
		return 1;
	iov[1].base = r->buf;
	iov[1].len = n - first;
	return 2;
}

void mps_rob_consume(mps_rob *r, size_t n)
{
	size_t avail = mps_rob_readable(r);

	r->head += n < avail ? n : avail;
	mps_ranges_remove_below(&r->have, r->head);
	rob_shrink(r);
}

size_t mps_rob_read(mps_rob *r, uint8_t *dst, size_t len)
{
	mps_iov iov[2];
	size_t done = 0;
	int i, cnt = mps_rob_peek(r, iov);

	for (i = 0; i < cnt && done < len; i++) {
		size_t n = iov[i].len < len - done ? iov[i].len : len - done;

		memcpy(dst + done, iov[i].base, n);
		done += n;
	}
	mps_rob_consume(r, done);
	return done;
}
