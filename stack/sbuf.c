/*
 * sbuf.c - send buffer: a ring of bytes holding [base, end).
 *
 * The ring is allocated on demand: nothing until the first append, then a
 * power of two that fits what is held (at least SBUF_MIN_ALLOC, at most
 * cap), doubled as the application writes more; it is freed as soon as
 * everything has been acknowledged.  An idle connection holds no buffer.
 */
#include "sbuf.h"
#include "mps_err.h"

#include <stdlib.h>
#include <string.h>

static size_t sbuf_index(const mps_sbuf *s, uint64_t seq)
{
	return (size_t)(seq % s->alloc);
}

/* sbuf_span splits the n ring bytes from seq into one or two pieces:
 * *first bytes at buf + *at, then n - *first bytes at buf. */
static void sbuf_span(const mps_sbuf *s, uint64_t seq, size_t n, size_t *at, size_t *first)
{
	*at = sbuf_index(s, seq);
	*first = s->alloc - *at < n ? s->alloc - *at : n;
}

/* sbuf_grow makes the ring at least need bytes long (need <= cap), moving
 * the held bytes to their places in the new ring.  Returns 0 or
 * MPS_ERR_NOMEM (the buffer is left as it was). */
static int sbuf_grow(mps_sbuf *s, size_t need)
{
	size_t n = s->alloc ? s->alloc : SBUF_MIN_ALLOC, at, first, used = mps_sbuf_used(s);
	uint8_t *nb;
	mps_sbuf t;

	while (n < need && n <= s->cap / 2)
		n *= 2;
	if (n < need || n > s->cap)
		n = s->cap;
	if (n <= s->alloc)
		return 0;
	nb = malloc(n);
	if (nb == NULL)
		return MPS_ERR_NOMEM;
	t = *s;
	t.buf = nb;
	t.alloc = n;
	if (used > 0) {
		/* Copy the held bytes piecewise: old ring -> new ring. */
		mps_iov iov[2];
		uint64_t q = s->base;
		int i, cnt = mps_sbuf_peek(s, s->base, used, iov);

		for (i = 0; i < cnt; i++) {
			sbuf_span(&t, q, iov[i].len, &at, &first);
			memcpy(nb + at, iov[i].base, first);
			memcpy(nb, iov[i].base + first, iov[i].len - first);
			q += iov[i].len;
		}
	}
	free(s->buf);
	*s = t;
	return 0;
}

int mps_sbuf_init(mps_sbuf *s, size_t cap, uint64_t start)
{
	memset(s, 0, sizeof(*s));
	if (cap == 0)
		return MPS_ERR_INVAL;
	s->cap = cap;
	s->base = start;
	s->end = start;
	return 0;
}

void mps_sbuf_free(mps_sbuf *s)
{
	free(s->buf);
	s->buf = NULL;
	s->alloc = 0;
	s->cap = 0;
}

size_t mps_sbuf_used(const mps_sbuf *s)
{
	return (size_t)(s->end - s->base);
}

size_t mps_sbuf_space(const mps_sbuf *s)
{
	return s->cap - mps_sbuf_used(s);
}

size_t mps_sbuf_append(mps_sbuf *s, const uint8_t *data, size_t len)
{
	size_t n = len < mps_sbuf_space(s) ? len : mps_sbuf_space(s);
	size_t at, first;

	if (n == 0)
		return 0;
	if (mps_sbuf_used(s) + n > s->alloc && sbuf_grow(s, mps_sbuf_used(s) + n) != 0) {
		/* Out of memory: take what fits in the ring we have. */
		n = s->alloc - mps_sbuf_used(s);
		if (n == 0)
			return 0;
	}
	sbuf_span(s, s->end, n, &at, &first);
	memcpy(s->buf + at, data, first);
	memcpy(s->buf, data + first, n - first);
	s->end += n;
	return n;
}

int mps_sbuf_peek(const mps_sbuf *s, uint64_t seq, size_t len, mps_iov iov[2])
{
	size_t at, first;

	if (seq < s->base || seq > s->end || len > s->end - seq)
		return MPS_ERR_INVAL;
	if (len == 0)
		return 0;
	sbuf_span(s, seq, len, &at, &first);
	iov[0].base = s->buf + at;
	iov[0].len = first;
	if (first == len)
		return 1;
	iov[1].base = s->buf;
	iov[1].len = len - first;
	return 2;
}

void mps_sbuf_release(mps_sbuf *s, uint64_t upto)
{
	if (upto > s->end)
		upto = s->end;
	if (upto > s->base)
		s->base = upto;
	if (!s->hold)
		mps_sbuf_trim(s); /* everything acknowledged: give the memory back */
}

void mps_sbuf_trim(mps_sbuf *s)
{
	if (s->base == s->end && s->buf != NULL) {
		free(s->buf);
		s->buf = NULL;
		s->alloc = 0;
	}
}

int mps_sbuf_reserve(mps_sbuf *s, struct mps_wiov iov[2])
{
	size_t n, at, first;

	if (mps_sbuf_space(s) == 0)
		return 0;
	if (mps_sbuf_used(s) == s->alloc && sbuf_grow(s, s->alloc + 1) != 0)
		return 0;
	n = s->alloc - mps_sbuf_used(s);
	sbuf_span(s, s->end, n, &at, &first);
	iov[0].base = s->buf + at;
	iov[0].len = first;
	if (first == n)
		return 1;
	iov[1].base = s->buf;
	iov[1].len = n - first;
	return 2;
}

void mps_sbuf_commit(mps_sbuf *s, size_t n)
{
	size_t room = s->alloc - mps_sbuf_used(s);

	s->end += n < room ? n : room;
}
