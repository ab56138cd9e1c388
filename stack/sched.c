/*
 * sched.c - packet schedulers: which subflow carries the next data.
 *
 * The default scheduler picks, among the subflows that may send data and
 * have room in their congestion and receive windows, the one with the lowest
 * smoothed RTT; backup subflows (ours or the peer's MP_PRIO, RFC 8684
 * §3.3.8) only when no regular one is usable.
 */
#include "core.h"

static bool sched_usable(const mps_sf *sf)
{
	return sf->state != SF_CLOSED && sf_can_send_data(sf);
}

static uint64_t sched_rtt(const mps_sf *sf)
{
	return sf->rtt_valid ? sf->srtt : UINT64_MAX / 2;
}

static mps_sf *sched_lowest_rtt(mps_conn *c, const mps_sf *except, bool need_room, bool backup)
{
	mps_sf *sf, *best = NULL;

	for (sf = c->sfs; sf != NULL; sf = sf->next) {
		if (sf == except || !sched_usable(sf))
			continue;
		if ((sf->backup || sf->peer_backup) != backup)
			continue;
		if (need_room && sf_cwnd_room(sf) == 0)
			continue;
		if (best == NULL || sched_rtt(sf) < sched_rtt(best))
			best = sf;
	}
	return best;
}

static bool sched_regular_alive(const mps_conn *c)
{
	const mps_sf *sf;

	for (sf = c->sfs; sf != NULL; sf = sf->next)
		if (sched_usable(sf) && !sf->backup && !sf->peer_backup)
			return true;
	return false;
}

static mps_sf *sched_default_pick(mps_conn *c)
{
	mps_sf *sf = sched_lowest_rtt(c, NULL, true, false);

	if (sf == NULL && !sched_regular_alive(c))
		sf = sched_lowest_rtt(c, NULL, true, true);
	return sf;
}

static mps_sf *sched_default_pick_any(mps_conn *c, const mps_sf *except)
{
	mps_sf *sf = sched_lowest_rtt(c, except, false, false);

	if (sf == NULL)
		sf = sched_lowest_rtt(c, except, false, true);
	return sf;
}

const mps_sched_ops mps_sched_default = {
	.name = "default",
	.pick = sched_default_pick,
	.pick_any = sched_default_pick_any,
};
