/*
 * gconn.c - the group extension on a connection (DESIGN.md §3,
 * doc/protocol.md "Group extension").
 *
 * Server side (gs_*): the accepting server derives its key from the group
 * key and a fresh nonce N and hands N to the client in a TICKET; a member
 * that receives a group JOIN checks the token against the Key-S it derives
 * from N before creating anything, then answers like MP_JOIN; a member sends
 * only the downstream ranges the client asks for (RANGE).
 *
 * Client side (gc_*): one connection, several servers ("peers").  Upstream
 * bytes go to every server (a late joiner gets them replayed from the start
 * of the DSN space, within GROUP_UP_HISTORY).  Downstream, the client asks
 * each server for ranges of the stream:
 *   split      pull-based: a server gets a new chunk when what it has
 *              outstanding drops below its rate x (RTT + margin);
 *   redundant  every chunk is asked of every server;
 *   deadline   split, and the chunk the player needs next is also asked of
 *              a second server when it is late.
 * A server that delivers nothing for GC_STALL has its outstanding ranges
 * asked of the others.  A new server first answers a probe (the first
 * GROUP_PROBE bytes of the stream), compared with what the client already
 * has and never delivered; chunks that follow a chunk of another server
 * start GC_OVERLAP bytes early, so a replica whose bytes differ is caught in
 * the reassembly buffer (mps_rob_write returns MPS_ERR_DIVERGE) and dropped;
 * its bytes are never spliced into the stream.
 *
 * Call chains:
 *   conn_push -> gc_push_upstream, gc_schedule -> (RANGE on ACKs: gc_options)
 *   conn_sf_rx_data -> gc_rx_data -> mps_rob_write | probe compare
 *   conn_handle_timers -> gc_timer -> stall checks -> regrant
 *   conn_listen_syn -> gs_listen_syn (JOIN) ; conn_push -> gs_push
 */
#include "core.h"

#include <string.h>

#define GC_CHUNK (64u * 1024)
#define GC_RETRY (500 * MPS_NS_PER_MS) /* a slow server is given a range again after this */
#define GC_OVERLAP 64u
#define GC_TARGET_MIN (64u * 1024)
#define GC_TARGET_MAX (2u * 1024 * 1024)
#define GC_STALL (50 * MPS_NS_PER_MS)        /* no bytes for this long: ask the others */
#define GC_STALL_FIRST (500 * MPS_NS_PER_MS)  /* ...before the first server sent a byte */
#define GC_DEAD (3000 * MPS_NS_PER_MS)        /* silent and no live subflow: dead */
#define GC_DEAD_LIVE (10000 * MPS_NS_PER_MS) /* silent this long even with live subflows */
#define GC_PROMOTE (300 * MPS_NS_PER_MS)     /* no reference left this long: trust a probing server */
#define GC_TICK (10 * MPS_NS_PER_MS)
#define GC_RANGE_RESEND (100 * MPS_NS_PER_MS)
#define GS_TICKET_EVERY (200 * MPS_NS_PER_MS)
#define GS_IDLE_EVERY (20 * MPS_NS_PER_MS)  /* IDLEs nobody waits for: at most this often */

static const char *const gc_state_names[] = {
	[PEER_NONE] = "none",       [PEER_PROBING] = "probing", [PEER_ACTIVE] = "active",
	[PEER_SLOW] = "slow",       [PEER_DEAD] = "dead",       [PEER_DROPPED] = "dropped",
	[PEER_CLOSED] = "closed",
};

static uint64_t gc_start(const mps_conn *c)
{
	return c->remote_idsn + 1; /* first downstream DSN */
}

static void gc_arm(mps_conn *c, uint64_t when)
{
	if (when < c->timers[CONN_TIMER_GROUP])
		c->timers[CONN_TIMER_GROUP] = when;
}

static bool gc_peer_usable(const conn_peer *p)
{
	return p->state == PEER_ACTIVE || p->state == PEER_PROBING || p->state == PEER_SLOW;
}

/* The smallest smoothed RTT of a peer's established subflows, or 0. */
static uint64_t gc_peer_srtt(const mps_conn *c, uint8_t idx)
{
	const mps_sf *sf;
	uint64_t best = 0;

	for (sf = c->sfs; sf != NULL; sf = sf->next)
		if (sf->peer == idx && sf->state == SF_ESTABLISHED && sf->rtt_valid &&
		    (best == 0 || sf->srtt < best))
			best = sf->srtt;
	return best;
}

static bool gc_peer_has_live_sf(const mps_conn *c, uint8_t idx)
{
	const mps_sf *sf;

	for (sf = c->sfs; sf != NULL; sf = sf->next)
		if (sf->peer == idx && sf->state != SF_CLOSED && sf->state != SF_SYN_SENT && !sf->dead)
			return true;
	return false;
}

static int gc_find_peer(const mps_conn *c, const mps_addr *a)
{
	size_t i;

	for (i = 0; i < c->npeers; i++)
		if (mps_addr_ip_eq(&c->peers[i].addr, a))
			return (int)i;
	return -1;
}

static int gc_add_peer(mps_conn *c, const mps_addr *a, uint64_t now)
{
	conn_peer *p;

	if (c->npeers == CONN_MAX_PEERS)
		return -1;
	p = &c->peers[c->npeers];
	memset(p, 0, sizeof(*p));
	p->addr = *a;
	p->addr.port = 0;
	p->state = PEER_NONE;
	p->up_nxt = c->local_idsn + 1; /* replay the upstream from the start */
	p->up_una = c->local_idsn + 1;
	p->joined_at = now;
	mps_ranges_init(&p->probe_seen, 16);
	return (int)c->npeers++;
}

void gc_sf_assign(mps_conn *c, mps_sf *sf, uint64_t now)
{
	int i = gc_find_peer(c, &sf->remote);

	if (i < 0)
		i = gc_add_peer(c, &sf->remote, now);
	sf->peer = (uint8_t)(i < 0 ? 0 : i);
}

/* --- grants (client) ---------------------------------------------------- */

static bool gc_range_done(const mps_conn *c, uint64_t a, uint64_t b)
{
	uint64_t next = mps_rob_next(&c->rcv);

	if (c->rcv_fin && b > c->rcv_fin_dsn)
		b = c->rcv_fin_dsn;
	if (b <= a || b <= next)
		return true;
	if (a < next)
		a = next;
	return mps_ranges_contains(&c->rcv.have, a, b);
}

/* Offsets of the stream's start that probing server p still has to send
 * (and match) of [a, b). */
static uint64_t gc_probe_missing(const mps_conn *c, const conn_peer *p, uint64_t a, uint64_t b)
{
	uint64_t start = gc_start(c);

	return (b - a) - mps_ranges_covered(&p->probe_seen, a - start, b - start);
}

static bool gc_grant_done(const mps_conn *c, const conn_grant *g)
{
	if (g->probe) {
		const conn_peer *p = &c->peers[g->peer];
		return p->state != PEER_PROBING || gc_probe_missing(c, p, g->start, g->end) == 0;
	}
	return gc_range_done(c, g->start, g->end);
}

/* Bytes of g the client still misses (of a probe: still to compare). */
static uint64_t gc_grant_missing(const mps_conn *c, const conn_grant *g)
{
	uint64_t a = g->start, b = g->end, next = mps_rob_next(&c->rcv);

	if (g->probe)
		return gc_probe_missing(c, &c->peers[g->peer], a, b);
	if (c->rcv_fin && b > c->rcv_fin_dsn)
		b = c->rcv_fin_dsn;
	if (a < next)
		a = next;
	if (b <= a)
		return 0;
	return (b - a) - mps_ranges_covered(&c->rcv.have, a, b);
}

/* The first DSN of g the client still misses (of a probe: still to
 * compare), or g->end. */
static uint64_t gc_grant_first_missing(const mps_conn *c, const conn_grant *g)
{
	uint64_t a = g->start;

	if (g->probe) {
		const conn_peer *p = &c->peers[g->peer];
		uint64_t start = gc_start(c);
		while (a < g->end && mps_ranges_contains(&p->probe_seen, a - start, a - start + 1))
			a = start + mps_ranges_contig_end(&p->probe_seen, a - start);
		return a < g->end ? a : g->end;
	}
	if (a < mps_rob_next(&c->rcv))
		a = mps_rob_next(&c->rcv);
	while (a < g->end && mps_ranges_contains(&c->rcv.have, a, a + 1))
		a = mps_ranges_contig_end(&c->rcv.have, a);
	return a < g->end ? a : g->end;
}

/* Up to where the client waits for server p's bytes: everything, unless it
 * said IDLE since its last bytes; then up to the end of its writes, or
 * further where another server showed the stream goes on (it must have
 * those bytes too, or soon: replicas answer the same requests). */
static uint64_t gc_peer_limit(const mps_conn *c, const conn_peer *p)
{
	if (!p->idle_valid)
		return UINT64_MAX;
	return p->idle_dsn > c->content_hw ? p->idle_dsn : c->content_hw;
}

/* A grant the server cannot serve yet: all it misses lies beyond what the
 * server has written (its IDLE), and no server showed more of the stream.
 * Not lost, not late: it waits for the application. */
static bool gc_grant_parked(const mps_conn *c, const conn_grant *g)
{
	const conn_peer *p = &c->peers[g->peer];

	return gc_grant_first_missing(c, g) >= gc_peer_limit(c, p);
}

/* Does the client wait for bytes from server idx (its quiet time counts)? */
static bool gc_peer_owes(const mps_conn *c, uint8_t idx)
{
	size_t i;

	for (i = 0; i < c->ngrants; i++) {
		const conn_grant *g = &c->grants[i];
		if (g->peer == idx && !g->probe && !gc_grant_done(c, g) && !gc_grant_parked(c, g))
			return true;
	}
	return false;
}

static void gc_reap_grants(mps_conn *c)
{
	size_t i = 0;

	/* A failed server's unfinished ranges stay until another server's
	 * range covers them (gc_cover_orphans): they are the record of what
	 * is still to be fetched. */
	while (i < c->ngrants) {
		const conn_grant *g = &c->grants[i];
		if (gc_grant_done(c, g) || (g->probe && !gc_peer_usable(&c->peers[g->peer]))) {
			c->grants[i] = c->grants[--c->ngrants];
			continue;
		}
		i++;
	}
}

static uint64_t gc_outstanding(const mps_conn *c, uint8_t peer, uint32_t *count)
{
	uint64_t sum = 0;
	size_t i;

	if (count)
		*count = 0;
	for (i = 0; i < c->ngrants; i++)
		if (c->grants[i].peer == peer && !c->grants[i].probe) {
			sum += gc_grant_missing(c, &c->grants[i]);
			if (count)
				(*count)++;
		}
	return sum;
}

static bool gc_add_grant(mps_conn *c, uint8_t peer, uint64_t a, uint64_t b, bool probe, uint64_t now)
{
	conn_grant *g;

	if (c->ngrants == CONN_MAX_GRANTS || b <= a)
		return false;
	g = &c->grants[c->ngrants++];
	memset(g, 0, sizeof(*g));
	g->start = a;
	g->end = b;
	g->peer = peer;
	g->probe = probe;
	g->asked_at = now;
	conn_ack_peer(c, peer); /* the RANGE rides on an ACK to that server */
	gc_arm(c, now + GC_TICK);
	return true;
}

/* How much a server should have outstanding: its rate over two RTTs plus a
 * margin (room to grow), within [GC_TARGET_MIN, GC_TARGET_MAX].  Small
 * enough that what a dying server leaves behind is fetched again quickly. */
static uint64_t gc_target(const mps_conn *c, uint8_t idx)
{
	const conn_peer *p = &c->peers[idx];
	uint64_t rtt = 2 * gc_peer_srtt(c, idx) + 30 * MPS_NS_PER_MS;
	uint64_t t = p->rate_bps / 8 * rtt / 1000000000ull;

	if (t < GC_TARGET_MIN)
		t = GC_TARGET_MIN;
	if (t > GC_TARGET_MAX)
		t = GC_TARGET_MAX;
	return t;
}

/* The furthest DSN we may ask for: the receive window. */
static uint64_t gc_window_end(const mps_conn *c)
{
	uint64_t end = c->rcv.head + c->rcv.cap;

	if (c->rcv_fin && end > c->rcv_fin_dsn)
		end = c->rcv_fin_dsn;
	return end;
}

static void gc_drop_peer(mps_conn *c, uint8_t idx, int reason, uint64_t now);

static bool gc_has_active(const mps_conn *c)
{
	size_t i;

	for (i = 0; i < c->npeers; i++)
		if (c->peers[i].state == PEER_ACTIVE)
			return true;
	return false;
}

/* A probing server has matched the stream's start as far as it is known:
 * the first GROUP_PROBE bytes, or all of a shorter stream (everything any
 * server delivered or said it has written, up to the DATA_FIN).  A short or
 * idle stream is so checked entirely, not waited on. */
static void gc_probe_progress(mps_conn *c, uint8_t idx, uint64_t now)
{
	conn_peer *p = &c->peers[idx];
	uint64_t start = gc_start(c), need = GROUP_PROBE, known;

	if (p->state != PEER_PROBING)
		return;
	p->probe_ok = (uint32_t)mps_ranges_contig_end(&p->probe_seen, 0);
	known = c->content_hw > start ? c->content_hw - start : 0;
	if (known < need)
		need = known;
	if (c->rcv_fin && c->rcv_fin_dsn - start < need)
		need = c->rcv_fin_dsn - start;
	if (p->probe_ok < need || (need == 0 && !c->rcv_fin)) {
		/* No trusted server left (the one we connected to is slow or
		 * dead): once it matched all the client holds, there is
		 * nothing more to check it against. */
		uint64_t held = mps_rob_next(&c->rcv) - start;
		if (gc_has_active(c) || p->probe_ok < (held < GROUP_PROBE ? held : GROUP_PROBE))
			return;
	}
	p->state = PEER_ACTIVE;
	p->rx_last = now;
	mps_ranges_free(&p->probe_seen);
}

/* Ask a probing server for the bytes of the stream's start that the client
 * holds (read, kept in probe_ref, or still in the reassembly buffer) and
 * has not asked of it yet: everything it sends back can be compared.  One
 * PROBE at a time; more as the client gets more of the start. */
static void gc_probe_more(mps_conn *c, uint8_t idx, uint64_t now)
{
	conn_peer *p = &c->peers[idx];
	uint64_t start = gc_start(c), have = mps_rob_next(&c->rcv) - start;
	size_t i;

	gc_probe_progress(c, idx, now);
	if (p->state != PEER_PROBING)
		return;
	if (have > GROUP_PROBE)
		have = GROUP_PROBE;
	if (have <= p->probe_asked)
		return;
	for (i = 0; i < c->ngrants; i++)
		if (c->grants[i].peer == idx && c->grants[i].probe && !gc_grant_done(c, &c->grants[i]))
			return;
	if (gc_add_grant(c, idx, start + p->probe_asked, start + have, true, now))
		p->probe_asked = (uint32_t)have;
}

/* Ask servers for more of the stream (the pull-based split). */
void gc_schedule(mps_conn *c, uint64_t now)
{
	bool progress = true;
	size_t i;

	if (c->rcv.cap == 0 || c->state == CONN_CLOSED)
		return;
	/* A server whose join completed is probed before it is trusted. */
	for (i = 0; i < c->npeers; i++) {
		mps_sf *sf;
		if (c->peers[i].state != PEER_NONE)
			continue;
		for (sf = c->sfs; sf != NULL; sf = sf->next)
			if (sf->peer == i && sf->state == SF_ESTABLISHED && sf->join_confirmed)
				break;
		if (sf == NULL)
			continue;
		c->peers[i].state = PEER_PROBING;
		c->peers[i].rx_last = now;
	}
	for (i = 0; i < c->npeers; i++)
		if (c->peers[i].state == PEER_PROBING)
			gc_probe_more(c, (uint8_t)i, now);
	if (c->state == CONN_CLOSED)
		return;
	gc_reap_grants(c);
	if (c->next_grant < gc_start(c))
		c->next_grant = gc_start(c);
	while (progress && c->next_grant < gc_window_end(c)) {
		uint64_t a = c->next_grant, b;
		int best = -1;
		uint64_t best_need = 0;
		progress = false;
		/* The active server whose outstanding is the smallest share of
		 * its target gets the chunk: every server is kept about equally
		 * full, so a new one ramps up instead of being starved by a
		 * server whose large target it cannot reach. */
		for (i = 0; i < c->npeers; i++) {
			uint64_t out, tgt, fill;
			if (c->peers[i].state != PEER_ACTIVE)
				continue;
			out = gc_outstanding(c, (uint8_t)i, NULL);
			tgt = gc_target(c, (uint8_t)i);
			if (out >= tgt)
				continue;
			fill = out * 1024 / tgt;
			if (best < 0 || fill < best_need) {
				best = (int)i;
				best_need = fill;
			}
		}
		if (best < 0)
			break;
		b = a + GC_CHUNK;
		if (b > gc_window_end(c))
			b = gc_window_end(c);
		if (c->mode == MPS_SCHED_REDUNDANT) {
			for (i = 0; i < c->npeers; i++)
				if (c->peers[i].state == PEER_ACTIVE)
					gc_add_grant(c, (uint8_t)i, a, b, false, now);
		} else {
			uint64_t s = a;
			/* Overlap the previous chunk of another server, so a
			 * replica with other bytes is caught (DESIGN.md §3). */
			if (c->npeers > 1 && c->last_grant_peer != best && a > gc_start(c) + GC_OVERLAP)
				s = a - GC_OVERLAP;
			if (!gc_add_grant(c, (uint8_t)best, s, b, false, now))
				break;
			c->last_grant_peer = (uint8_t)best;
		}
		c->next_grant = b;
		progress = true;
	}
	if (c->mode == MPS_SCHED_DEADLINE && c->npeers > 1) {
		/* The chunk the player needs next, late: ask a second server. */
		uint64_t next = mps_rob_next(&c->rcv);
		for (i = 0; i < c->ngrants; i++) {
			conn_grant *g = &c->grants[i];
			uint64_t rtt = gc_peer_srtt(c, g->peer);
			size_t j;
			if (g->probe || next < g->start || next >= g->end || now - g->asked_at < 2 * rtt + 20 * MPS_NS_PER_MS)
				continue;
			for (j = 0; j < c->npeers; j++)
				if (j != g->peer && c->peers[j].state == PEER_ACTIVE) {
					uint64_t s = next, e = g->end;
					g->asked_at = now; /* once per lateness period */
					gc_add_grant(c, (uint8_t)j, s, e, false, now);
					break;
				}
			break;
		}
	}
}

/* Ask the others for what a server has outstanding (it stalled or died). */
static void gc_regrant(mps_conn *c, uint8_t from, uint64_t now)
{
	size_t i, n = c->ngrants;

	for (i = 0; i < n; i++) {
		conn_grant g = c->grants[i];
		uint64_t a = g.start, next = mps_rob_next(&c->rcv);
		uint64_t best_out = UINT64_MAX;
		int best = -1;
		size_t j;
		if (g.peer != from || g.probe || gc_grant_done(c, &g))
			continue;
		if (a < next)
			a = next;
		for (j = 0; j < c->npeers; j++) {
			uint64_t out;
			if (j == from || c->peers[j].state != PEER_ACTIVE)
				continue;
			out = gc_outstanding(c, (uint8_t)j, NULL);
			if (out < best_out) {
				best_out = out;
				best = (int)j;
			}
		}
		if (best < 0)
			return; /* nobody else: keep waiting for it */
		gc_add_grant(c, (uint8_t)best, a, g.end, false, now);
	}
}

/* Every unfinished range of a server that is not active (slow, dead,
 * dropped) must be covered by an unfinished range of an active server;
 * if not, it is asked of the active server with the least outstanding.
 * Run every tick, so no failure path can leave bytes nobody fetches. */
static void gc_cover_orphans(mps_conn *c, uint64_t now)
{
	size_t i, j, n = c->ngrants;

	for (i = 0; i < n; i++) {
		conn_grant g = c->grants[i];
		uint64_t a = g.start, next = mps_rob_next(&c->rcv), best_out = UINT64_MAX;
		int best = -1;
		bool covered = false;
		if (g.probe || c->peers[g.peer].state == PEER_ACTIVE || gc_grant_done(c, &g))
			continue;
		if (a < next)
			a = next;
		for (j = 0; j < c->ngrants && !covered; j++) {
			const conn_grant *h = &c->grants[j];
			covered = !h->probe && c->peers[h->peer].state == PEER_ACTIVE && h->start <= a &&
				  h->end >= g.end && !gc_grant_done(c, h);
		}
		if (covered)
			continue;
		for (j = 0; j < c->npeers; j++) {
			uint64_t out;
			if (c->peers[j].state != PEER_ACTIVE)
				continue;
			out = gc_outstanding(c, (uint8_t)j, NULL);
			if (out < best_out) {
				best_out = out;
				best = (int)j;
			}
		}
		if (best < 0)
			return;
		gc_add_grant(c, (uint8_t)best, a, g.end, false, now);
	}
}

/* --- client hooks ---------------------------------------------------------- */

void gc_established(mps_conn *c, uint64_t now)
{
	mps_sf *sf;

	if (c->npeers == 0)
		gc_add_peer(c, &c->remote0, now);
	c->peers[0].state = PEER_ACTIVE; /* the server we connected to is the reference */
	c->peers[0].rx_last = now;
	for (sf = c->sfs; sf != NULL; sf = sf->next)
		sf->peer = 0;
	c->next_grant = gc_start(c);
	/* The accepting server holds [start, start + GROUP_FIRST_RANGE) as
	 * asked without a RANGE (gs_setup_key). */
	if (gc_add_grant(c, 0, gc_start(c), gc_start(c) + GROUP_FIRST_RANGE, false, now)) {
		c->grants[c->ngrants - 1].sent = true;
		c->grants[c->ngrants - 1].sent_at = now;
		c->next_grant = gc_start(c) + GROUP_FIRST_RANGE;
		c->last_grant_peer = 0;
	}
	gc_arm(c, now + GC_TICK);
}

void gc_push_upstream(mps_conn *c, uint64_t now)
{
	size_t i;

	for (i = 0; i < c->npeers; i++) {
		conn_peer *p = &c->peers[i];
		if (!gc_peer_usable(p))
			continue;
		if (p->up_nxt < c->snd.base) {
			/* Its replay would need bytes already released: the
			 * history bound (DESIGN.md §3) was exceeded. */
			p->state = PEER_DROPPED;
			p->reason = MPS_ERR_NOBUF;
			continue;
		}
		while (p->up_nxt < c->snd.end) {
			mps_sf *sf, *best = NULL;
			uint64_t n = c->snd.end - p->up_nxt;
			uint32_t room;
			for (sf = c->sfs; sf != NULL; sf = sf->next)
				if (sf->peer == i && sf_can_send_data(sf) && sf_cwnd_room(sf) > 0 &&
				    (best == NULL || sf->srtt < best->srtt))
					best = sf;
			if (best == NULL)
				break;
			room = sf_cwnd_room(best);
			if (n > room)
				n = room;
			if (n > 65535)
				n = 65535;
			if (c->csum && n > sf_seg_payload(best))
				n = sf_seg_payload(best);
			sf_queue_map(best, p->up_nxt, (uint32_t)n);
			p->up_nxt += n;
			sf_output(best, now);
		}
	}
	c->snd_nxt = c->snd.end;
}

bool gc_data_ack_in(mps_conn *c, mps_sf *sf, uint64_t ack, uint64_t now)
{
	conn_peer *p = &c->peers[sf->peer];
	uint64_t top = c->snd.end + (c->fin_sent_dsn ? 1 : 0), low = UINT64_MAX;
	bool all_fin = true;
	size_t i;

	(void)now;
	if (ack > top || ack < p->up_una)
		return false;
	p->up_una = ack;
	for (i = 0; i < c->npeers; i++) {
		const conn_peer *q = &c->peers[i];
		if (!gc_peer_usable(q))
			continue;
		if (q->up_una < low)
			low = q->up_una;
		if (!(c->fin_sent_dsn && q->up_una > c->fin_dsn))
			all_fin = false;
	}
	if (low == UINT64_MAX)
		low = ack;
	/* Keep the first GROUP_UP_HISTORY bytes for servers that join later. */
	if (c->snd.end - (c->local_idsn + 1) <= GROUP_UP_HISTORY)
		low = c->local_idsn + 1;
	if (low > c->snd_una)
		c->snd_una = low;
	if (c->fin_sent_dsn && all_fin)
		c->fin_acked = true;
	return true;
}

static void gc_drop_peer(mps_conn *c, uint8_t idx, int reason, uint64_t now)
{
	conn_peer *p = &c->peers[idx];
	mps_sf *sf;
	size_t i, live = 0;

	if (p->state == PEER_DROPPED)
		return;
	p->state = PEER_DROPPED;
	p->reason = reason;
	gc_regrant(c, idx, now); /* its ranges go to the others before they are forgotten */
	if (reason == MPS_ERR_DIVERGE)
		c->stack->st.divergences++;
	for (sf = c->sfs; sf != NULL; sf = sf->next)
		if (sf->peer == idx && sf->state != SF_CLOSED) {
			sf_send_rst(sf, now, 0);
			sf->maps_n = 0;
			sf_kill(sf, reason, now);
		}
	for (i = 0; i < c->npeers; i++)
		if (gc_peer_usable(&c->peers[i]))
			live++;
	if (live == 0) {
		/* No consistent replica left: an explicit error, never a
		 * stream with spliced or missing bytes. */
		conn_set_closed(c, reason, now);
		return;
	}
	gc_schedule(c, now);
}

/* The other server whose grant covers dsn (the owner of bytes held there). */
static int gc_owner_of(const mps_conn *c, uint64_t dsn, uint8_t not_peer)
{
	size_t i;

	for (i = 0; i < c->ngrants; i++)
		if (c->grants[i].peer != not_peer && !c->grants[i].probe && dsn >= c->grants[i].start &&
		    dsn < c->grants[i].end)
			return c->grants[i].peer;
	return -1;
}

static void gc_rate_sample(conn_peer *p, uint64_t bytes, uint64_t now)
{
	if (p->rate_mark_t == 0) {
		p->rate_mark_t = now;
		p->rate_mark_b = p->rx_bytes;
	}
	p->rx_bytes += bytes;
	if (now - p->rate_mark_t >= 50 * MPS_NS_PER_MS) {
		uint64_t r = (p->rx_bytes - p->rate_mark_b) * 8 * 1000000000ull / (now - p->rate_mark_t);
		p->rate_bps = p->rate_bps ? (3 * p->rate_bps + r) / 4 : r;
		p->rate_mark_t = now;
		p->rate_mark_b = p->rx_bytes;
	}
}

/* A probing server's first bytes: compared with what the client holds of
 * the stream's start (the first GROUP_PROBE bytes read, kept in probe_ref,
 * or bytes still in the reassembly buffer), never stored.  All are taken
 * (acknowledged); bytes the client does not hold (it asks only for bytes it
 * holds) are not counted.  Returns 0 or MPS_ERR_DIVERGE. */
static int gc_probe_data(mps_conn *c, conn_peer *p, uint8_t idx, uint64_t dsn, const uint8_t *data, size_t n,
			 size_t *acc, uint64_t now)
{
	uint64_t start = gc_start(c), off, end = dsn + n;
	size_t i, k;

	*acc = n;
	if (dsn < start) {
		if (end <= start)
			return 0;
		data += start - dsn;
		dsn = start;
	}
	if (dsn >= start + GROUP_PROBE)
		return 0; /* beyond the probe: ignored until it is active */
	if (end > start + GROUP_PROBE)
		end = start + GROUP_PROBE;
	off = dsn - start;
	k = (size_t)(end - dsn);
	for (i = 0; i < k; i++) {
		uint64_t d = dsn + i;
		uint8_t held;
		if (off + i < c->probe_ref_len)
			held = c->probe_ref[off + i];
		else if (d >= c->rcv.head && mps_ranges_contains(&c->rcv.have, d, d + 1))
			held = mps_rob_byte(&c->rcv, d);
		else
			break; /* not held: not compared, not counted */
		if (held != data[i]) {
			gc_drop_peer(c, idx, MPS_ERR_DIVERGE, now);
			*acc = 0;
			return MPS_ERR_DIVERGE;
		}
	}
	if (i > 0) {
		mps_ranges_add(&p->probe_seen, off, off + i);
		p->rx_last = now;
		gc_probe_progress(c, idx, now);
		if (p->state == PEER_ACTIVE)
			gc_schedule(c, now);
	}
	return 0;
}

/* The stream exists up to dsn (a server sent bytes, or said it wrote them). */
static void gc_content(mps_conn *c, uint64_t dsn, uint64_t now)
{
	if (dsn > c->content_hw) {
		c->content_hw = dsn;
		gc_arm(c, now + GC_TICK); /* some server may now owe bytes */
	}
}

void gc_rx_data_fin(mps_conn *c, uint64_t fin, uint64_t now)
{
	gc_content(c, fin, now);
}

int gc_rx_data(mps_conn *c, mps_sf *sf, uint64_t dsn, const uint8_t *data, size_t n, size_t *acc, uint64_t now)
{
	uint8_t idx = sf->peer;
	conn_peer *p = &c->peers[idx];
	int rc;

	if (p->state == PEER_DROPPED) {
		*acc = 0;
		return 0;
	}
	if (n > 0 && p->idle_valid && dsn + n > p->idle_dsn)
		p->idle_valid = false; /* it wrote more since its IDLE */
	if (p->state == PEER_PROBING)
		return gc_probe_data(c, p, idx, dsn, data, n, acc, now);
	rc = mps_rob_write(&c->rcv, dsn, data, n, acc);
	if (rc == MPS_ERR_DIVERGE) {
		/* Two servers disagree.  The one we connected to (or, if it is
		 * gone, the one that has delivered longest) is trusted; the
		 * other is dropped (DESIGN.md §3). */
		int other = gc_owner_of(c, dsn, idx);
		if (idx != 0 && (other < 0 || idx > (uint8_t)other || other == 0))
			gc_drop_peer(c, idx, MPS_ERR_DIVERGE, now);
		else if (other >= 0)
			gc_drop_peer(c, (uint8_t)other, MPS_ERR_DIVERGE, now);
		else
			gc_drop_peer(c, idx, MPS_ERR_DIVERGE, now);
		*acc = 0;
		return rc;
	}
	if (n > 0) {
		p->rx_last = now;
		if (p->state == PEER_SLOW)
			p->state = PEER_ACTIVE;
		gc_content(c, dsn + n, now);
	}
	if (rc > 0)
		gc_rate_sample(p, (uint64_t)rc, now);
	return rc;
}

void gc_on_read(mps_conn *c, uint64_t dsn, const uint8_t *buf, size_t n)
{
	uint64_t off = dsn - gc_start(c);

	/* Keep the first bytes of the stream: a server that joins later is
	 * checked against them. */
	if (off != c->probe_ref_len || off >= GROUP_PROBE)
		return;
	if (n > GROUP_PROBE - off)
		n = (size_t)(GROUP_PROBE - off);
	memcpy(c->probe_ref + off, buf, n);
	c->probe_ref_len += n;
}

void gc_sf_gone(mps_conn *c, mps_sf *sf, int err, uint64_t now)
{
	uint8_t idx = sf->peer;
	conn_peer *p;

	if (idx >= c->npeers)
		return;
	p = &c->peers[idx];
	if (!gc_peer_usable(p) || gc_peer_has_live_sf(c, idx))
		return;
	/* A RST or the last subflow's death: an early signal (ICMP and RST
	 * come before any timeout).  A clean end (FIN after its DATA_FIN) is
	 * not a death; what it still owed goes to the others all the same. */
	p->state = err == 0 ? PEER_CLOSED : PEER_DEAD;
	p->reason = err;
	gc_regrant(c, idx, now);
	gc_schedule(c, now);
}

/* Do servers other than idx deliver? */
static bool gc_others_deliver(const mps_conn *c, uint8_t idx)
{
	size_t i;

	for (i = 0; i < c->npeers; i++)
		if (i != idx && c->peers[i].state == PEER_ACTIVE && c->peers[i].rx_bytes > 0)
			return true;
	return false;
}

/* Was the RANGE for g lost?  It is re-asked when it made no progress for
 * max(GC_RANGE_RESEND, 2 RTT + 50 ms) and either the server is idle, or a
 * range asked of it later is already arriving (it sends the lowest first,
 * so a quiet g while a later one flows means g never reached it). */
static bool gc_range_lost(const mps_conn *c, const conn_grant *g, uint64_t now)
{
	uint64_t rtt = gc_peer_srtt(c, g->peer), wait = 2 * rtt + 50 * MPS_NS_PER_MS;
	const conn_peer *p = &c->peers[g->peer];
	size_t i;

	if (wait < GC_RANGE_RESEND)
		wait = GC_RANGE_RESEND;
	/* It said its writes end below what it misses (a probing server
	 * behind the others): it most likely has the request and waits for
	 * its application; ask again, but seldom. */
	if (p->idle_valid && gc_grant_first_missing(c, g) >= p->idle_dsn && wait < GC_RETRY)
		wait = GC_RETRY;
	if (now - g->sent_at < wait || now - g->last_progress < wait)
		return false;
	if (now - p->rx_last >= rtt + 20 * MPS_NS_PER_MS)
		return true;
	for (i = 0; i < c->ngrants; i++) {
		const conn_grant *h = &c->grants[i];
		if (h != g && h->peer == g->peer && h->start > g->start && h->last_progress > g->sent_at &&
		    h->last_missing < h->end - h->start)
			return true;
	}
	return false;
}

/* Without any trusted (active) server, a probing server cannot be checked
 * against anything: after GC_PROMOTE it is trusted as it is (it is all there
 * is); with no server left at all the connection ends with an explicit
 * error rather than hang. */
static void gc_check_reference(mps_conn *c, uint64_t now)
{
	size_t i, active = 0, usable = 0;
	uint64_t last = 0;

	for (i = 0; i < c->npeers; i++) {
		const conn_peer *p = &c->peers[i];
		if (p->state == PEER_ACTIVE)
			active++;
		if (gc_peer_usable(p))
			usable++;
		if (p->state != PEER_PROBING && p->rx_last > last)
			last = p->rx_last;
	}
	if (usable == 0) {
		conn_set_closed(c, MPS_ERR_TIMEOUT, now);
		return;
	}
	if (active > 0 || now - last < GC_PROMOTE)
		return;
	for (i = 0; i < c->npeers; i++)
		if (c->peers[i].state == PEER_PROBING) {
			c->peers[i].state = PEER_ACTIVE;
			c->peers[i].rx_last = now;
			gc_regrant(c, 0, now);
			gc_schedule(c, now);
			return;
		}
}

void gc_timer(mps_conn *c, uint64_t now)
{
	size_t i;
	bool work = false;

	if (c->is_server) {
		if (!c->ticket_acked && c->group && !c->group_member && now >= c->ticket_due) {
			mps_sf *sf;
			conn_ack_soon(c); /* the TICKET again, even on an idle connection */
			for (sf = c->sfs; sf != NULL; sf = sf->next)
				if (sf->ack_now)
					sf_send_ack(sf, now);
			c->ticket_due = now + GS_TICKET_EVERY;
		}
		if (!c->ticket_acked && c->group && !c->group_member)
			gc_arm(c, c->ticket_due);
		conn_push(c, now); /* gs_push: an IDLE that waited for GS_IDLE_EVERY */
		return;
	}
	gc_reap_grants(c);
	for (i = 0; i < c->npeers; i++) {
		conn_peer *p = &c->peers[i];
		uint32_t count;
		uint64_t out, quiet, limit;
		if (!gc_peer_usable(p) || p->state == PEER_PROBING)
			continue;
		out = gc_outstanding(c, (uint8_t)i, &count);
		if (p->state == PEER_SLOW && (count == 0 || out == 0)) {
			if (now - p->slow_since < GC_RETRY) {
				gc_arm(c, p->slow_since + GC_RETRY);
				continue;
			}
			if (!gc_peer_has_live_sf(c, (uint8_t)i))
				continue; /* its subflows' own timers decide */
			/* Probation: a slow server is asked nothing, so it
			 * could never show it recovered (one lost burst made
			 * a live server idle for good).  It gets the range the
			 * player needs next, which another server has in hand
			 * too; bytes from it make it active again. */
			uint64_t a = mps_rob_next(&c->rcv), b = a + GC_CHUNK;

			if (b > gc_window_end(c))
				b = gc_window_end(c);
			p->slow_since = now;
			if (a < b)
				gc_add_grant(c, (uint8_t)i, a, b, false, now);
			continue;
		}
		if (!gc_peer_owes(c, (uint8_t)i) && (out == 0 || gc_peer_has_live_sf(c, (uint8_t)i))) {
			/* Nothing asked, or all it was asked waits for its
			 * application (it said IDLE, and no server has more):
			 * not quiet.  A server that dies now is found when the
			 * stream goes on elsewhere, or by its subflows. */
			p->owing = false;
			p->rx_last = p->rx_last > now ? p->rx_last : now;
			continue;
		}
		if (!p->owing) {
			/* It owes bytes from now on: its quiet time starts
			 * here (no tick ran while the connection was idle). */
			p->owing = true;
			p->rx_last = p->rx_last > now ? p->rx_last : now;
		}
		work = true;
		quiet = now - p->rx_last;
		/* The first server may need a while for its first byte (the
		 * application answers), unless another server showed that
		 * the stream is there; a joined one proved it answers. */
		limit = (p->rx_bytes || p->probe_ok || i != 0 || gc_others_deliver(c, (uint8_t)i) ||
				 c->content_hw > gc_start(c)
			     ? GC_STALL
			     : GC_STALL_FIRST) +
			2 * gc_peer_srtt(c, (uint8_t)i);
		if ((quiet >= GC_DEAD && !gc_peer_has_live_sf(c, (uint8_t)i)) || quiet >= GC_DEAD_LIVE) {
			p->state = PEER_DEAD;
			p->reason = MPS_ERR_TIMEOUT;
			gc_regrant(c, (uint8_t)i, now);
		} else if (quiet >= limit && p->state == PEER_ACTIVE) {
			/* No progress: its outstanding ranges go to the others. */
			p->state = PEER_SLOW;
			p->slow_since = now;
			gc_regrant(c, (uint8_t)i, now);
		}
	}
	gc_check_reference(c, now);
	if (c->state == CONN_CLOSED)
		return;
	gc_cover_orphans(c, now);
	/* A range that makes no progress: its RANGE (on an ACK, which is not
	 * retransmitted) may have been lost; ask again.  Duplicates are
	 * harmless: a server ignores a range it already has.  A range that
	 * waits for the server's application (parked) is not lost. */
	for (i = 0; i < c->ngrants; i++) {
		conn_grant *g = &c->grants[i];
		const conn_peer *p = &c->peers[g->peer];
		uint64_t miss = gc_grant_missing(c, g);
		if (g->last_progress == 0 || miss < g->last_missing) {
			g->last_missing = miss;
			g->last_progress = now;
		}
		if (!gc_peer_usable(p) || gc_grant_parked(c, g)) {
			g->last_progress = now;
			continue;
		}
		if (!g->sent || g->probe || p->state == PEER_PROBING)
			work = true;
		if (g->sent && gc_range_lost(c, g, now)) {
			uint64_t first = gc_grant_first_missing(c, g);
			if (first > g->start && first < g->end)
				g->start = first; /* ask only for what is missing */
			g->sent = false;
			g->last_progress = now;
			conn_ack_peer(c, g->peer);
		}
	}
	for (i = 0; i < c->npeers && !work; i++)
		if (c->peers[i].state == PEER_PROBING && !gc_has_active(c))
			work = true; /* gc_check_reference may promote it */
	if (work)
		gc_arm(c, now + GC_TICK);
	conn_push(c, now); /* new grants, new servers' upstream, pending ACKs */
}

/* --- options (both sides) ---------------------------------------------------- */

static conn_grant *gc_unsent_range(mps_conn *c, uint8_t peer)
{
	conn_grant *best = NULL;
	size_t i;

	for (i = 0; i < c->ngrants; i++) {
		conn_grant *gr = &c->grants[i];
		if (gr->peer == peer && !gr->sent && (best == NULL || gr->start < best->start))
			best = gr;
	}
	return best;
}

bool gc_signal_pending(const mps_conn *c, const mps_sf *sf)
{
	size_t i;

	if (c->is_server)
		return c->idle_pending || (!c->group_member && !c->ticket_acked);
	if (c->ticket_ack_pending && sf->peer == 0)
		return true;
	for (i = 0; i < c->ngrants; i++)
		if (c->grants[i].peer == sf->peer && !c->grants[i].sent)
			return true;
	return false;
}

void gc_options(mps_conn *c, mps_sf *sf, const sf_seg *seg, mps_opts *o, int total)
{
	conn_grant *range = NULL;
	mps_gmsg g;

	if (o->present & MPS_OPT_EXP || seg->len > 0)
		return;
	memset(&g, 0, sizeof(g));
	if (c->is_server) {
		bool ticket = !c->group_member && !c->ticket_acked;
		/* The TICKET and an IDLE take turns; the TICKET first (the
		 * client needs N to join anyone). */
		if (ticket && !(c->idle_pending && c->ticket_just_sent)) {
			g.type = MPS_GMSG_TICKET;
			g.n = c->group_n;
		} else if (c->idle_pending) {
			g.type = MPS_GMSG_IDLE;
			g.dsn = c->idle_told;
		} else {
			return;
		}
	} else if ((range = gc_unsent_range(c, sf->peer)) != NULL) {
		/* RANGE first: it is what keeps data flowing. */
		g.type = range->probe ? MPS_GMSG_PROBE : MPS_GMSG_RANGE;
		g.dsn = range->start;
		g.len = (uint32_t)(range->end - range->start);
	} else if (c->ticket_ack_pending && sf->peer == 0) {
		g.type = MPS_GMSG_TICKET_ACK; /* to the server that sent the TICKET */
	} else {
		return;
	}
	mps_gmsg_put(o, &g);
	if (mps_opt_size(o) > total) {
		o->present &= ~MPS_OPT_EXP;
		return;
	}
	if (range != NULL) {
		range->sent = true;
		range->sent_at = c->stack->now;
	}
	if (g.type == MPS_GMSG_TICKET_ACK)
		c->ticket_ack_pending = false;
	if (g.type == MPS_GMSG_IDLE)
		c->idle_pending = false;
	if (c->is_server) {
		c->ticket_just_sent = g.type == MPS_GMSG_TICKET;
		if (c->idle_pending)
			sf->signal_more = true; /* the IDLE on the next ACK */
		return;
	}
	/* More to say to this server: another ACK right after this one. */
	if (gc_unsent_range(c, sf->peer) != NULL || (c->ticket_ack_pending && sf->peer == 0))
		sf->signal_more = true;
}

static void gs_add_range(mps_conn *c, uint64_t a, uint64_t b)
{
	size_t i;

	for (i = 0; i < c->nsgrants; i++)
		if (c->sgrants[i].start == a && c->sgrants[i].end == b)
			return; /* a repeat */
	if (c->nsgrants == CONN_MAX_GRANTS)
		return; /* the client asks again later */
	c->sgrants[c->nsgrants].start = a;
	c->sgrants[c->nsgrants].end = b;
	c->nsgrants++;
}

/* A PROBE: one interval of the stream's first GROUP_PROBE bytes, the hull
 * of what is asked and not yet sent (a repeat asks part of it again). */
static void gs_add_probe(mps_conn *c, uint64_t a, uint64_t b)
{
	uint64_t pstart = c->local_idsn + 1;

	if (a < pstart)
		a = pstart;
	if (b > pstart + GROUP_PROBE)
		b = pstart + GROUP_PROBE;
	if (a >= b)
		return;
	if (c->sprobe_start == c->sprobe_end) {
		c->sprobe_start = a;
		c->sprobe_end = b;
		return;
	}
	if (a < c->sprobe_start)
		c->sprobe_start = a;
	if (b > c->sprobe_end)
		c->sprobe_end = b;
}

/* Client: a server said IDLE: all it was asked below dsn is sent, its
 * application has written up to dsn, and the rest waits for it. */
static void gc_rx_idle(mps_conn *c, uint8_t idx, uint64_t dsn, uint64_t now)
{
	conn_peer *p = &c->peers[idx];

	if (!gc_peer_usable(p))
		return;
	if (!p->idle_valid || dsn > p->idle_dsn) {
		p->idle_dsn = dsn;
		p->idle_valid = true;
	}
	p->rx_last = now;
	gc_content(c, dsn, now);
	if (p->state == PEER_SLOW && !gc_peer_owes(c, idx))
		p->state = PEER_ACTIVE; /* alive: it only had nothing to send */
	gc_arm(c, now + GC_TICK);
}

void gc_rx_options(mps_conn *c, mps_sf *sf, const mps_opts *o, uint64_t now)
{
	mps_gmsg g;

	if (mps_gmsg_parse(&g, o) != 0) {
		c->stack->st.opt_malformed++;
		return;
	}
	if (c->is_server) {
		if (g.type == MPS_GMSG_TICKET_ACK) {
			c->ticket_acked = true;
		} else if ((g.type == MPS_GMSG_RANGE || g.type == MPS_GMSG_PROBE) && g.len > 0) {
			if (g.type == MPS_GMSG_RANGE)
				gs_add_range(c, g.dsn, g.dsn + g.len);
			else
				gs_add_probe(c, g.dsn, g.dsn + g.len);
			c->idle_asked = true; /* a lost IDLE is told again */
			gs_push(c, now);
		}
		return;
	}
	if (g.type == MPS_GMSG_TICKET && !c->have_ticket) {
		c->group_n = g.n;
		c->have_ticket = true;
		c->ticket_ack_pending = true;
		conn_ack_peer(c, 0);
		pm_open_subflows(c, now); /* group joins can go now */
	} else if (g.type == MPS_GMSG_TICKET) {
		c->ticket_ack_pending = true; /* our TICKET_ACK was lost */
		conn_ack_peer(c, 0);
	} else if (g.type == MPS_GMSG_IDLE && sf->peer < c->npeers) {
		gc_rx_idle(c, sf->peer, g.dsn, now);
	}
}

/* --- server side ------------------------------------------------------------------ */

bool gs_setup_key(mps_conn *c)
{
	mps_stack *s = c->stack;
	uint64_t n = 0, key = 0;
	int tries;

	/* Key-S from the group key and a nonce of ours; never from a value
	 * the peer chose.  The token must be unique among our connections:
	 * after 16 collisions the connection is refused rather than reuse one. */
	for (tries = 0; tries < 16; tries++) {
		stack_random(s, &n, sizeof(n));
		key = mps_group_server_key(s->group_key, n);
		if (key != 0 && stack_conn_by_token(s, mps_key_token(key)) == NULL)
			break;
		key = 0;
	}
	if (key == 0 || !conn_group_alloc(c))
		return false;
	c->group = true;
	c->group_n = n;
	c->local_key = key;
	mps_key_token_idsn(key, &c->local_token, &c->local_idsn);
	c->snd.base = c->snd.end = c->snd_una = c->snd_nxt = c->snd_wnd_end = c->local_idsn + 1;
	/* The first range is asked implicitly: a RANGE cannot ride with the
	 * MP_CAPABLE the client's first segments carry, and the first
	 * response should not wait a round trip for it. */
	gs_add_range(c, c->local_idsn + 1, c->local_idsn + 1 + GROUP_FIRST_RANGE);
	mps_memzero(&key, sizeof(key));
	return true;
}

bool gs_listen_syn(mps_stack *s, const mps_pkt *p, const mps_opts *o, uint64_t now)
{
	mps_gmsg g;
	mps_conn *c;
	mps_sf *sf;
	uint64_t key_s = 0, key_prev = 0;
	bool ok_cur, ok_prev;
	mps_addr local = p->dst, remote = p->src;

	if (mps_gmsg_parse(&g, o) != 0 || g.type != MPS_GMSG_JOIN)
		return false;
	/* DESIGN.md §3: derive Key-S from N and check the token before any
	 * state exists; a join that fails is refused and counted. */
	/* Both keys are always tried (the same work whatever the JOIN): the
	 * current one, and the previous one while a rotation is under way. */
	ok_cur = s->has_group_key && mps_group_check_join(s->group_key, g.n, g.token, &key_s);
	ok_prev = s->has_group_key_prev && mps_group_check_join(s->group_key_prev, g.n, g.token, &key_prev);
	if (!ok_cur && ok_prev)
		key_s = key_prev;
	mps_memzero(&key_prev, sizeof(key_prev));
	if (!ok_cur && !ok_prev) {
		s->st.group_joins_refused++;
		s->st.joins_refused++;
		stack_send_rst_for(s, p);
		return true;
	}
	c = stack_conn_by_token(s, g.token);
	if (c != NULL) {
		/* We already serve this connection: an extra subflow. */
		if (c->remote_key != g.key_c || c->state != CONN_ESTABLISHED ||
		    conn_live_subflows(c, NULL) >= CONN_MAX_SUBFLOWS) {
			s->st.joins_refused++;
			stack_send_rst_for(s, p);
			mps_memzero(&key_s, sizeof(key_s));
			return true;
		}
	} else {
		c = conn_new_keyed(s, true, key_s);
		if (c != NULL && !conn_group_alloc(c)) {
			conn_free(c);
			c = NULL;
		}
		if (c == NULL) {
			s->st.drop_other++;
			mps_memzero(&key_s, sizeof(key_s));
			return true;
		}
		c->mptcp = true;
		c->group = true;
		c->group_member = true;
		c->group_n = g.n;
		c->ticket_acked = true;
		c->remote0 = remote;
		c->csum = s->cfg.dss_checksum;
		conn_keys_learned(c, g.key_c);
		stack_token_add(s, c);
		if (conn_init_rcv(c, c->remote_idsn + 1) != 0) {
			conn_free(c);
			mps_memzero(&key_s, sizeof(key_s));
			return true;
		}
	}
	mps_memzero(&key_s, sizeof(key_s));
	sf = sf_new(c, &local, &remote);
	if (sf == NULL) {
		if (c->state == CONN_SYN)
			conn_free(c);
		return true;
	}
	sf->is_join = true;
	sf->remote_id = g.addr_id;
	sf->peer_backup = g.backup;
	sf->remote_nonce = g.nonce;
	stack_random(s, &sf->local_nonce, sizeof(sf->local_nonce));
	sf->local_id = (uint8_t)stack_local_id(s, c, &local);
	sf_accept_syn(sf, p, o, now);
	return true;
}

/* Remember the first bytes we send: a client probes new members with them,
 * and by then our buffer may have released them. */
void gs_on_append(mps_conn *c, uint64_t dsn, const uint8_t *data, size_t n)
{
	uint64_t off = dsn - (c->local_idsn + 1);

	if (off != c->probe_ref_len || off >= GROUP_PROBE)
		return;
	if (n > GROUP_PROBE - off)
		n = (size_t)(GROUP_PROBE - off);
	memcpy(c->probe_ref + off, data, n);
	c->probe_ref_len += n;
}

int gs_peek(mps_conn *c, uint64_t dsn, size_t len, mps_iov iov[2])
{
	uint64_t off = dsn - (c->local_idsn + 1);

	if (dsn < c->local_idsn + 1 || off + len > c->probe_ref_len)
		return MPS_ERR_INVAL;
	iov[0].base = c->probe_ref + off;
	iov[0].len = len;
	return 1;
}

/* How much of an asked range can go now. */
enum gs_span {
	GS_SEND, /* [*a, *b) is written and still to send */
	GS_WAIT, /* its next byte is not written yet */
	GS_DONE, /* nothing of it is left to send */
};

/* A RANGE: stream data above the DATA_ACK, as the application writes it. */
static enum gs_span gs_span_range(const mps_conn *c, uint64_t *a, uint64_t *b)
{
	if (*b <= c->snd_una || *b <= c->snd.base)
		return GS_DONE;
	if (*a < c->snd.base)
		*a = c->snd.base;
	if (*a < c->snd_una)
		*a = c->snd_una;
	if (*a >= c->snd.end)
		return c->shut_wr ? GS_DONE : GS_WAIT;
	if (*b > c->snd.end)
		*b = c->snd.end;
	return GS_SEND;
}

/* A PROBE: bytes of the first GROUP_PROBE, below the DATA_ACK too (the
 * client holds them and compares), from our kept copy (gs_peek). */
static enum gs_span gs_span_probe(const mps_conn *c, uint64_t *a, uint64_t *b)
{
	uint64_t pend = c->local_idsn + 1 + c->probe_ref_len;

	if (*a >= *b)
		return GS_DONE;
	if (*a >= pend)
		return c->shut_wr ? GS_DONE : GS_WAIT;
	if (*b > pend)
		*b = pend;
	return GS_SEND;
}

/* Send what the client asked of us and we have: the PROBE first (it makes
 * us trusted), then RANGEs lowest DSN first (a range the client re-asks
 * after another server failed is the one its player waits for), no more
 * than the subflows' windows take: queued data would only delay the next
 * urgent range.  With nothing left to send, an IDLE tells the client where
 * our application's writes end (doc/protocol.md, "Short and idle
 * streams"): at once when something asked waits for them or when we were
 * asked something since the last IDLE (it may have been lost); otherwise
 * (nothing asked: the RANGE may have been lost, or not sent yet) at most
 * every GS_IDLE_EVERY. */
void gs_push(mps_conn *c, uint64_t now)
{
	bool waiting = false;

	for (;;) {
		mps_range *r = NULL;
		bool probe = false;
		uint64_t a = 0, b = 0, n;
		size_t i = 0;
		mps_sf *sf;
		uint32_t room;

		waiting = false;
		if (c->sprobe_start < c->sprobe_end) {
			uint64_t pa = c->sprobe_start, pb = c->sprobe_end;
			enum gs_span sp = gs_span_probe(c, &pa, &pb);
			if (sp == GS_DONE) {
				c->sprobe_start = c->sprobe_end = 0;
			} else if (sp == GS_WAIT) {
				waiting = true;
			} else {
				probe = true;
				a = pa;
				b = pb;
			}
		}
		while (!probe && i < c->nsgrants) {
			mps_range *q = &c->sgrants[i];
			uint64_t qa = q->start, qb = q->end;
			enum gs_span sp = gs_span_range(c, &qa, &qb);
			if (sp == GS_DONE) {
				*q = c->sgrants[--c->nsgrants];
				continue;
			}
			if (sp == GS_WAIT)
				waiting = true;
			else if (r == NULL || qa < a) {
				r = q;
				a = qa;
				b = qb;
			}
			i++;
		}
		if (!probe && r == NULL)
			break;
		sf = mps_sched_default.pick(c);
		if (sf == NULL)
			return; /* no room: the next ACK brings us back */
		room = sf_cwnd_room(sf);
		n = b - a;
		if (n > room)
			n = room;
		if (n > 65535)
			n = 65535;
		if (c->csum && n > sf_seg_payload(sf))
			n = sf_seg_payload(sf);
		if (n == 0)
			return;
		sf_queue_map(sf, a, (uint32_t)n);
		c->bytes_sent += n;
		if (probe) {
			c->sprobe_start = a + n;
			if (c->sprobe_start >= c->sprobe_end)
				c->sprobe_start = c->sprobe_end = 0;
		} else if (a + n >= r->end) {
			*r = c->sgrants[--c->nsgrants];
		} else {
			r->start = a + n;
		}
		sf_output(sf, now);
	}
	if (c->shut_wr || c->state == CONN_SYN || c->state == CONN_CLOSED)
		return; /* our DATA_FIN tells where the stream ends */
	if (c->snd.end == c->idle_told && !c->idle_asked)
		return;
	if (c->idle_asked || waiting || now - c->idle_sent_at >= GS_IDLE_EVERY) {
		c->idle_told = c->snd.end;
		c->idle_asked = false;
		c->idle_pending = true;
		c->idle_sent_at = now;
		conn_ack_soon(c);
	} else {
		gc_arm(c, c->idle_sent_at + GS_IDLE_EVERY); /* then tell the new end */
	}
}

/* --- introspection ----------------------------------------------------------------- */

size_t mps_conn_get_peers(const mps_conn *c, mps_peer_info *pi, size_t max)
{
	uint64_t total = 0;
	size_t i;

	if (!c->group || c->is_server)
		return 0;
	for (i = 0; i < c->npeers; i++)
		total += c->peers[i].rx_bytes;
	for (i = 0; i < c->npeers && i < max; i++) {
		const conn_peer *p = &c->peers[i];
		uint32_t count;
		memset(&pi[i], 0, sizeof(pi[i]));
		pi[i].addr = p->addr;
		pi[i].state = gc_state_names[p->state];
		pi[i].bytes = p->rx_bytes;
		pi[i].share_permille = total ? (uint32_t)(p->rx_bytes * 1000 / total) : 0;
		pi[i].srtt_us = (uint32_t)(gc_peer_srtt(c, (uint8_t)i) / MPS_NS_PER_US);
		pi[i].outstanding = gc_outstanding(c, (uint8_t)i, &count);
		pi[i].ranges = count;
		pi[i].up_acked = p->up_una - (c->local_idsn + 1);
		pi[i].reason = p->reason;
	}
	return i;
}
