/*
 * cc.h - pluggable congestion control for subflows (ops struct + registry,
 * in the manner of Linux's tcp_congestion_ops).
 *
 * All hooks run inside the stack with the subflow's cwnd/ssthresh fields
 * (bytes) as their state, plus the private words sf->cc_state[].
 */
#ifndef MPS_CC_H
#define MPS_CC_H

#include <stdint.h>

struct mps_sf;

typedef struct mps_cc_ops {
	const char *name;
	/* A subflow starts: set the initial window (RFC 5681 §3.1 IW). */
	void (*init)(struct mps_sf *sf);
	/* acked new bytes were acknowledged outside loss recovery. */
	void (*on_ack)(struct mps_sf *sf, uint64_t acked, uint64_t now);
	/* Loss detected by duplicate ACKs / SACK: set ssthresh (and cwnd). */
	void (*on_loss)(struct mps_sf *sf, uint64_t now);
	/* Retransmission timeout (RFC 5681 §3.1: cwnd to the loss window). */
	void (*on_rto)(struct mps_sf *sf, uint64_t now);
} mps_cc_ops;

extern const mps_cc_ops mps_cc_newreno;

/* Registry: look an algorithm up by name; NULL if unknown. */
const mps_cc_ops *mps_cc_find(const char *name);

#endif
