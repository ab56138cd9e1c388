/*
 * rob.h - reassembly buffer indexed by a 64-bit sequence number (a DSN, or a
 * subflow sequence number expanded to 64 bits).
 *
 * The buffer holds the window [head, head + cap) in a ring of alloc bytes:
 * sequence number q lives at buf[q % alloc].  Data enters anywhere in the
 * window (out of order, duplicated, overlapping); the application reads the
 * contiguous prefix that starts at head.
 *
 * Memory: the ring is allocated when bytes arrive, as a power of two
 * (ROB_MIN_ALLOC at least, cap at most) that covers head up to the highest
 * byte held, doubled when data lands beyond it, and freed when the reader
 * has consumed everything held.  An idle connection holds no ring.
 *
 * Invariants, true after every call:
 *   - have covers exactly the bytes held, all within [head, head + alloc),
 *     and alloc <= cap;
 *   - the readable prefix is [head, next) with next = mps_rob_next(r) =
 *     mps_ranges_contig_end(&have, head);
 *   - bytes of buf outside have are garbage.
 *
 * Ownership: the rob owns buf and have; the caller owns the struct.
 * Sequence numbers must stay below 2^64 - cap (no 64-bit wrap).
 */
#ifndef MPS_ROB_H
#define MPS_ROB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "iov.h"
#include "ranges.h"

/* The first allocation (smaller when cap is). */
#define ROB_MIN_ALLOC 4096

typedef struct mps_rob {
	uint8_t *buf;	 /* alloc bytes, NULL while alloc is 0 */
	size_t alloc;	 /* ring size now: 0 .. cap */
	size_t cap;	 /* window size, 1 .. INT_MAX */
	uint64_t head;	 /* first byte not yet consumed */
	mps_ranges have; /* bytes held, subset of [head, head + cap) */
	bool hold;	 /* keep the ring when it empties (mps_rob_trim frees) */
} mps_rob;

/* mps_rob_init sets up an empty buffer of cap bytes whose first expected
 * byte is start, tracking at most max_ranges separate held ranges (holes
 * beyond that are refused, see mps_rob_write).
 * Returns 0, MPS_ERR_INVAL (cap 0 or above INT_MAX, max_ranges 0) or
 * MPS_ERR_NOMEM; on error nothing is left allocated. */
int mps_rob_init(mps_rob *r, size_t cap, uint64_t start, size_t max_ranges);

/* mps_rob_trim frees the ring if nothing is held (with hold set, emptying
 * it does not: a busy connection would otherwise free and fault in its ring
 * at every drain). */
void mps_rob_trim(mps_rob *r);
/* mps_rob_free releases the storage.  Safe on a zeroed or freed rob. */
void mps_rob_free(mps_rob *r);

/* mps_rob_write stores [seq, seq+len) from data.  Bytes before head
 * (already read) are dropped; bytes at or beyond head+cap are not accepted.
 * *accepted (may be NULL) gets the length of the prefix of the input that is
 * now held or was already read, so the caller knows up to where it may
 * acknowledge; if the range set is full, acceptance stops at the first byte
 * that could not be recorded (then a higher held range may also have been
 * forgotten to make room, see ranges.h).
 * Bytes already held that the input overlaps are compared with the new
 * ones: if any differ, nothing is stored, *accepted is 0 and
 * MPS_ERR_DIVERGE is returned (replicas must send byte-identical streams;
 * DESIGN.md §3).  If the ring cannot grow (out of memory) nothing is
 * stored.
 * Returns the number of bytes newly stored (>= 0) or MPS_ERR_DIVERGE. */
int mps_rob_write(mps_rob *r, uint64_t seq, const uint8_t *data, size_t len, size_t *accepted);

/* mps_rob_readable returns the number of contiguous bytes from head. */
size_t mps_rob_readable(const mps_rob *r);

/* mps_rob_next returns head + readable: the next byte expected in order. */
uint64_t mps_rob_next(const mps_rob *r);

/* mps_rob_space returns cap - (next - head): the window left from next. */
size_t mps_rob_space(const mps_rob *r);

/* mps_rob_peek points iov[0..count) at the readable bytes, in order; they
 * are two pieces when they wrap the end of the ring.  The pointers stay
 * valid until the next write or consume.  Returns count (0..2). */
int mps_rob_peek(const mps_rob *r, mps_iov iov[2]);

/* mps_rob_byte returns the held byte at seq (seq must be held). */
uint8_t mps_rob_byte(const mps_rob *r, uint64_t seq);

/* mps_rob_consume advances head by n; n larger than readable is clamped. */
void mps_rob_consume(mps_rob *r, size_t n);

/* mps_rob_read copies up to len readable bytes to dst and consumes them.
 * Returns the number copied. */
size_t mps_rob_read(mps_rob *r, uint8_t *dst, size_t len);

#endif
