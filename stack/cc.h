/*
 * cc.h - pluggable congestion control for subflows (ops struct + registry,
 * in the manner of Linux's tcp_congestion_ops).
 *
 * All hooks run inside the stack with the subflow's cwnd/ssthresh fields
 * (bytes) as their state, plus the private words sf->cc_state[].  Words
 * 0..11 belong to an uncoupled algorithm (NewReno, CUBIC), words 12..15 to a
 * coupled one (LIA, OLIA), which runs the uncoupled algorithm of the stack
 * (mps_stack.cc; CUBIC if that is coupled itself) on a subflow that has no
 * partner on its server.  doc/congestion.md says what each one does.
 */
#ifndef MPS_CC_H
#define MPS_CC_H

#include <stdbool.h>
#include <stdint.h>

struct mps_sf;

typedef struct mps_cc_ops {
	const char *name;
	/* Couples the subflows of a connection that share a server (RFC 6356). */
	bool coupled;
	/* A subflow starts: set the initial window (RFC 5681 §3.1 IW). */
	void (*init)(struct mps_sf *sf);
	/* acked new bytes were acknowledged outside loss recovery. */
	void (*on_ack)(struct mps_sf *sf, uint64_t acked, uint64_t now);
	/* Loss detected by duplicate ACKs / SACK: set ssthresh (and cwnd). */
	void (*on_loss)(struct mps_sf *sf, uint64_t now);
	/* Retransmission timeout (RFC 5681 §3.1: cwnd to the loss window). */
	void (*on_rto)(struct mps_sf *sf, uint64_t now);
} mps_cc_ops;

#define MPS_CC_WORDS 16 /* size of mps_sf.cc_state */

extern const mps_cc_ops mps_cc_newreno;
extern const mps_cc_ops mps_cc_cubic;
extern const mps_cc_ops mps_cc_lia;
extern const mps_cc_ops mps_cc_olia;

/* Registry: look an algorithm up by name; NULL if unknown. */
const mps_cc_ops *mps_cc_find(const char *name);

/* The coupling set of sf: its subflows of the same connection that end at
 * the same server (every subflow of a plain MPTCP connection, whatever
 * addresses the server has; a group client's subflows to one member) and
 * run the same ops (sf included), at most max of them into set.  Returns
 * how many there are. */
unsigned mps_cc_coupled_set(struct mps_sf *sf, struct mps_sf **set, unsigned max);

#endif
