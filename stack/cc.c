/*
 * cc.c - congestion control algorithms.
 *
 * NewReno (RFC 5681 window growth, RFC 6582 recovery is driven by sf.c):
 * slow start with appropriate byte counting (RFC 3465, L = 2 SMSS), then
 * congestion avoidance growing cwnd by about one SMSS per RTT.
 */
#include "core.h"

#include <string.h>

/* RFC 5681 §3.1: IW = min(4*SMSS, max(2*SMSS, 4380)); RFC 6928 allows 10. */
#define CC_IW_SEGS 10

static uint32_t cc_flight(const mps_sf *sf)
{
	return (uint32_t)sf_bytes_in_flight(sf);
}

static void newreno_init(mps_sf *sf)
{
	sf->cwnd = CC_IW_SEGS * (uint32_t)sf->mss;
	sf->ssthresh = UINT32_MAX;
	sf->cc_state[0] = 0; /* bytes acked towards the next CA increase */
}

static void newreno_on_ack(mps_sf *sf, uint64_t acked, uint64_t now)
{
	uint32_t mss = sf->mss;

	(void)now;
	if (sf->cwnd < sf->ssthresh) {
		/* RFC 3465: increase by at most L = 2*SMSS per ACK. */
		uint64_t inc = acked < 2u * mss ? acked : 2u * mss;
		uint64_t cw = (uint64_t)sf->cwnd + inc;
		sf->cwnd = cw > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)cw;
		return;
	}
	/* Congestion avoidance, byte counting: one SMSS per cwnd acked. */
	sf->cc_state[0] += acked;
	if (sf->cc_state[0] >= sf->cwnd) {
		sf->cc_state[0] -= sf->cwnd;
		if (sf->cwnd < UINT32_MAX / 2)
			sf->cwnd += mss;
	}
}

static void newreno_on_loss(mps_sf *sf, uint64_t now)
{
	uint32_t half = cc_flight(sf) / 2;

	(void)now;
	/* RFC 5681 §3.2 equation (4). */
	sf->ssthresh = half > 2u * sf->mss ? half : 2u * sf->mss;
	sf->cwnd = sf->ssthresh;
	sf->cc_state[0] = 0;
}

static void newreno_on_rto(mps_sf *sf, uint64_t now)
{
	uint32_t half = cc_flight(sf) / 2;

	(void)now;
	if (!sf->in_recovery || sf->backoff == 0)
		sf->ssthresh = half > 2u * sf->mss ? half : 2u * sf->mss;
	sf->cwnd = sf->mss; /* loss window, RFC 5681 §3.1 */
	sf->cc_state[0] = 0;
}

const mps_cc_ops mps_cc_newreno = {
	.name = "newreno",
	.init = newreno_init,
	.on_ack = newreno_on_ack,
	.on_loss = newreno_on_loss,
	.on_rto = newreno_on_rto,
};

static const mps_cc_ops *const cc_registry[] = {
	&mps_cc_newreno,
};

const mps_cc_ops *mps_cc_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(cc_registry) / sizeof(cc_registry[0]); i++)
		if (strcmp(cc_registry[i]->name, name) == 0)
			return cc_registry[i];
	return NULL;
}
