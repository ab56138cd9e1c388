/*
 * sbuf.h - send buffer indexed by a 64-bit sequence number (a DSN).
 *
 * A ring holding [base, end), at most cap bytes: the application appends at
 * end, the sender reads anywhere in [base, end) (first transmissions,
 * retransmissions, reinjection on another subflow) and the bytes are
 * released from base once acknowledged.  Sequence number q lives at
 * buf[q % alloc].
 *
 * Memory: the ring is allocated on demand and grows by doubling (from
 * SBUF_MIN_ALLOC, or cap if smaller, up to cap); when every byte has been
 * released it is freed (alloc 0, buf NULL).  So an idle connection costs
 * no buffer at all.
 *
 * Invariants: base <= end, end - base <= alloc <= cap; every byte of
 * [base, end) is valid.  The sbuf owns buf; the caller owns the struct.
 * Sequence numbers must stay below 2^64 - cap (no 64-bit wrap).
 */
#ifndef MPS_SBUF_H
#define MPS_SBUF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iov.h"


/* The first allocation (smaller when cap is). */
#define SBUF_MIN_ALLOC 4096

typedef struct mps_sbuf {
	uint8_t *buf;  /* alloc bytes, NULL while alloc is 0 */
	size_t alloc;  /* ring size now: 0 .. cap */
	size_t cap;    /* most bytes held: 1 .. SIZE_MAX */
	uint64_t base; /* first byte not yet acknowledged */
	uint64_t end;  /* next byte to append */
	bool hold;     /* keep the ring when it empties (mps_sbuf_trim frees) */
} mps_sbuf;

/* mps_sbuf_init sets up an empty buffer of at most cap bytes starting at
 * start; it allocates nothing yet.  Returns 0 or MPS_ERR_INVAL (cap 0). */
int mps_sbuf_init(mps_sbuf *s, size_t cap, uint64_t start);

/* mps_sbuf_trim frees the ring if everything was acknowledged (with hold
 * set, that alone does not free it). */
void mps_sbuf_trim(mps_sbuf *s);

/* mps_sbuf_free releases the storage.  Safe on a zeroed or freed sbuf. */
void mps_sbuf_free(mps_sbuf *s);

/* mps_sbuf_space returns how many bytes can be appended now. */
size_t mps_sbuf_space(const mps_sbuf *s);

/* mps_sbuf_used returns end - base, the bytes held. */
size_t mps_sbuf_used(const mps_sbuf *s);

/* mps_sbuf_append copies up to len bytes of data at end, growing the ring
 * as needed.  Returns the number of bytes taken (min(len, space), less only
 * when memory runs out). */
size_t mps_sbuf_append(mps_sbuf *s, const uint8_t *data, size_t len);

/* mps_sbuf_peek points iov[0..count) at the bytes [seq, seq+len), in order;
 * two pieces when they wrap the end of the ring.  The pointers stay valid
 * until the bytes are released or more are appended (the ring may move).
 * Returns count (0 for len 0, else 1 or 2), or MPS_ERR_INVAL if
 * [seq, seq+len) is not held entirely within [base, end). */
int mps_sbuf_peek(const mps_sbuf *s, uint64_t seq, size_t len, mps_iov iov[2]);

/* mps_sbuf_release frees the bytes below upto: base = max(base, min(upto,
 * end)); the ring itself when nothing is left.  Stale or excessive values
 * are harmless. */
void mps_sbuf_release(mps_sbuf *s, uint64_t upto);

/* mps_sbuf_reserve points iov[0..count) at free space after end, in order
 * (two pieces when it wraps), for a producer that writes in place;
 * mps_sbuf_commit then makes the first n bytes of it part of the buffer.
 * The space offered is what the ring has now (grown first if it is full),
 * so it may be less than mps_sbuf_space(): reserve again after a commit.
 * Returns count (0 when the buffer is full or memory ran out, else 1 or
 * 2). */
int mps_sbuf_reserve(mps_sbuf *s, struct mps_wiov iov[2]);

/* mps_sbuf_commit appends n bytes written through mps_sbuf_reserve;
 * n larger than the space is clamped. */
void mps_sbuf_commit(mps_sbuf *s, size_t n);

#endif
