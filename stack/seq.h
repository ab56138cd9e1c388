/*
 * seq.h - sequence number arithmetic (header only).
 *
 * TCP sequence numbers are compared modulo 2^32 (RFC 9293 §3.4): a is
 * "before" b when the signed 32-bit difference a - b is negative.  MPTCP
 * data sequence numbers are 64-bit, but DSS options may carry only their
 * low 32 bits (RFC 8684 §3.3.1); mps_seq_expand32 rebuilds the full value
 * against a 64-bit reference such as the current DATA_ACK.
 */
#ifndef MPS_SEQ_H
#define MPS_SEQ_H

#include <stdbool.h>
#include <stdint.h>

/* a < b, modulo 2^32. */
static inline bool mps_seq_lt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* a <= b, modulo 2^32. */
static inline bool mps_seq_leq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) <= 0;
}

/* a > b, modulo 2^32. */
static inline bool mps_seq_gt(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

/* a >= b, modulo 2^32. */
static inline bool mps_seq_geq(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) >= 0;
}

/*
 * mps_seq_expand32 returns the 64-bit value whose low 32 bits are v and
 * which is nearest to ref (RFC 8684 §3.3.1: a 32-bit DSN or DATA_ACK is
 * expanded against the current 64-bit value).
 *   ref  the 64-bit reference (e.g. the expected DSN or last DATA_ACK)
 *   v    the low 32 bits received
 * Arithmetic is modulo 2^64, so the result may wrap past 0 or 2^64 - 1 in
 * either direction, as 64-bit DSNs do.  A value exactly 2^31 away is taken
 * to lie before ref.
 */
static inline uint64_t mps_seq_expand32(uint64_t ref, uint32_t v)
{
	int32_t delta = (int32_t)(v - (uint32_t)ref);

	return ref + (uint64_t)(int64_t)delta;
}

/* Plain (not modular) minimum and maximum of two 64-bit values. */
static inline uint64_t mps_min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline uint64_t mps_max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

#endif
