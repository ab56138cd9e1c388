/* sbuf.c - send buffer: a ring of bytes holding [base, end). */
#include "sbuf.h"
#include "mps_err.h"

#include <stdlib.h>
#include <string.h>

static size_t sbuf_index(const mps_sbuf *s, uint64_t seq)
{
	return (size_t)(seq % s->cap);
}

/* sbuf_span splits the n ring bytes from seq into one or two pieces:
 * *first bytes at buf + *at, then n - *first bytes at buf. */
static void sbuf_span(const mps_sbuf *s, uint64_t seq, size_t n, size_t *at, size_t *first)
{
	*at = sbuf_index(s, seq);
	*first = s->cap - *at < n ? s->cap - *at : n;
}

int mps_sbuf_init(mps_sbuf *s, size_t cap, uint64_t start)
{
	memset(s, 0, sizeof(*s));
	if (cap == 0)
		return MPS_ERR_INVAL;
	s->buf = malloc(cap);
	if (s->buf == NULL)
		return MPS_ERR_NOMEM;
	s->cap = cap;
	s->base = start;
	s->end = start;
	return 0;
}

void mps_sbuf_free(mps_sbuf *s)
{
	free(s->buf);
	s->buf = NULL;
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
}

int mps_sbuf_reserve(mps_sbuf *s, struct mps_wiov iov[2])
{
	size_t n = mps_sbuf_space(s);
	size_t at, first;

	if (n == 0)
		return 0;
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
	size_t space = mps_sbuf_space(s);

	s->end += n < space ? n : space;
}
