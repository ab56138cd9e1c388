/*
 * sf.c - one TCP subflow: the RFC 9293 state machine with RFC 7323 window
 * scaling and timestamps, SACK-permitted and SACK blocks to the peer
 * (RFC 2018) and DSACK (RFC 2883), the retransmission timer of RFC 6298,
 * loss detection by RACK-TLP (RFC 8985) with PRR (RFC 6937) for SACK peers,
 * fast retransmit and NewReno recovery (RFC 5681, RFC 6582) for the others,
 * and the RST/SYN/ACK checks of RFC 5961.  Everything MPTCP is asked of
 * conn.c through the conn_sf_* hooks, so this file knows TCP only.
 *
 * Input:  stack_input() -> sf_input() -> sf_input_syn_sent() | sf_input_sync()
 *         -> sf_process_ack() -> conn_sf_rx_options() -> sf_process_data()
 *         -> conn_sf_rx_data() -> (application: MPS_EV_READABLE)
 * Output: conn_push() -> sf_queue_map() -> sf_output() -> sf_xmit()
 *         -> conn_sf_options() -> mps_opt_write() -> mps_pkt_build_tcp()
 *         -> stack_output() -> (driver: the output callback)
 * Timers: stack -> conn_handle_timers() -> sf_handle_timers() -> sf_on_reo()
 *         | sf_on_pto() | sf_on_rto()
 *
 * All sequence numbers here are 64-bit and relative (see core.h).
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

#define SF_RTO_INIT (1000 * MPS_NS_PER_MS)   /* RFC 6298 §2.1 */
#define SF_RTO_MIN (200 * MPS_NS_PER_MS)     /* as Linux; RFC 6298 says 1 s */
#define SF_RTO_MAX (60000 * MPS_NS_PER_MS)   /* RFC 6298 §2.5 */
#define SF_DELACK (20 * MPS_NS_PER_MS)       /* RFC 9293 §3.8.6.3: < 500 ms */
#define SF_TIME_WAIT_NS (2000 * MPS_NS_PER_MS)  /* short 2*MSL: ports are random */
#define SF_SYN_RETRIES 6
#define SF_JOIN_SYN_RETRIES 3
#define SF_DATA_RETRIES 12
#define SF_OOO_RANGES 64
#define SF_MAX_MAP 65535 /* data-level length is 16 bits (RFC 8684 §3.3.1) */
#define SF_SIGNAL_BURST 4  /* pure ACKs in a row for signals that queued up */

static const char *const sf_state_names[] = {
	[SF_CLOSED] = "CLOSED",
	[SF_SYN_SENT] = "SYN_SENT",
	[SF_SYN_RCVD] = "SYN_RCVD",
	[SF_ESTABLISHED] = "ESTABLISHED",
	[SF_FIN_WAIT_1] = "FIN_WAIT_1",
	[SF_FIN_WAIT_2] = "FIN_WAIT_2",
	[SF_CLOSING] = "CLOSING",
	[SF_TIME_WAIT] = "TIME_WAIT",
	[SF_CLOSE_WAIT] = "CLOSE_WAIT",
	[SF_LAST_ACK] = "LAST_ACK",
};

const char *sf_state_name(enum sf_state st)
{
	return sf_state_names[st];
}

static uint32_t sf_wire_seq(const mps_sf *sf, uint64_t rel)
{
	return sf->iss + (uint32_t)rel;
}

static uint32_t sf_wire_ack(const mps_sf *sf)
{
	return sf->irs + (uint32_t)sf->rcv_nxt;
}

static uint16_t sf_local_mss(const mps_sf *sf)
{
	uint16_t mtu = sf->conn->stack->cfg.mtu;

	return (uint16_t)(mtu - mps_pkt_hdr_len(sf->local.family) - 20);
}

/* The window scale we offer: enough for the connection receive buffer. */
static uint8_t sf_pick_wscale(uint32_t rcvbuf)
{
	uint8_t ws = 0;

	while (ws < 14 && (65535u << ws) < rcvbuf)
		ws++;
	return ws;
}

mps_sf *sf_new(mps_conn *c, const mps_addr *local, const mps_addr *remote)
{
	mps_stack *s = c->stack;
	mps_sf *sf = calloc(1, sizeof(*sf));
	size_t i;

	if (sf == NULL)
		return NULL;
	if (mps_ranges_init(&sf->rcv_ooo, SF_OOO_RANGES) != 0) {
		free(sf);
		return NULL;
	}
	if (mps_ranges_init(&sf->sacked, SF_OOO_RANGES) != 0) {
		mps_ranges_free(&sf->rcv_ooo);
		free(sf);
		return NULL;
	}
	sf->rcv_ooo.no_evict = true; /* what we SACKed stays held (no reneging) */
	/* sf->maps is allocated with the first mapping (sf_maps_grow). */
	sf->conn = c;
	sf->local = *local;
	sf->remote = *remote;
	sf->state = SF_CLOSED;
	stack_random(s, &sf->iss, sizeof(sf->iss));
	sf->snd_una = sf->snd_nxt = sf->snd_max = 0;
	sf->snd_end = 1; /* data starts after the SYN */
	sf->peer_mss = 536;
	sf->mss = sf_local_mss(sf);
	sf->rcv_wscale = sf_pick_wscale(s->cfg.rcvbuf);
	sf->cc = s->cc_coupled != NULL ? s->cc_coupled : s->cc;
	sf->rto = SF_RTO_INIT;
	sf->lost_hint = UINT64_MAX;
	sf->rack_reo_mult = 1;
	for (i = 0; i < SF_TIMER_COUNT; i++)
		sf->timers[i] = MPS_TIME_NONE;
	sf->next = c->sfs;
	c->sfs = sf;
	c->nsf++;
	stack_touch(s, c);
	return sf;
}

void sf_free(mps_sf *sf)
{
	mps_ranges_free(&sf->rcv_ooo);
	mps_ranges_free(&sf->sacked);
	free(sf->segs);
	free(sf->stage);
	free(sf->maps);
	free(sf);
}

uint64_t sf_bytes_in_flight(const mps_sf *sf)
{
	return sf->snd_nxt > sf->snd_una ? sf->snd_nxt - sf->snd_una : 0;
}

/* Payload per segment before options (MSS clamp of both sides). */
static uint32_t sf_mss_clamp(const mps_sf *sf)
{
	uint16_t local = sf_local_mss(sf);

	return sf->peer_mss < local ? sf->peer_mss : local;
}

/* Largest payload of a data segment, with the options a data segment uses
 * (timestamps 12 bytes; DSS with 64-bit DATA_ACK and DSN 28 bytes). */
uint32_t sf_seg_payload(const mps_sf *sf)
{
	uint32_t opt = sf->ts_ok ? 12 : 0;

	if (sf->conn->mptcp && !sf->conn->fallback)
		opt += 28;
	if (opt > 40)
		opt = 40;
	return sf_mss_clamp(sf) - opt;
}

/* Bytes the congestion and receive windows still allow to be queued. */
uint32_t sf_cwnd_room(const mps_sf *sf)
{
	uint64_t queued = sf->snd_end - sf->snd_una, used = queued, room, full = sf_seg_payload(sf);

	if (sf->snd_una == 0 || queued >= sf->snd_wnd)
		return 0;
	/* With SACK, the congestion window limits the pipe (RFC 6675 §2),
	 * not everything unacknowledged: SACKed and lost bytes left the
	 * network, so recovery keeps the ACK clock going with new data. */
	if (sf->sack_ok) {
		uint64_t out = sf->snd_max > sf->snd_una ? sf->snd_max - sf->snd_una : 0;
		uint64_t gone = sf->sacked_bytes + sf->lost_bytes;
		used = (out > gone ? out - gone : 0) + (sf->snd_end > sf->snd_nxt ? sf->snd_end - sf->snd_nxt : 0);
	}
	if (used >= sf->cwnd)
		return 0;
	room = sf->cwnd - used;
	if (room > sf->snd_wnd - queued)
		room = sf->snd_wnd - queued;
	/* Whole segments while data is queued: cwnd counts in MSS units of
	 * option-less segments, and a remainder would leave as a runt. */
	if (queued > 0 && full > 0)
		room -= room % full;
	return (uint32_t)room;
}

bool sf_can_send_data(const mps_sf *sf)
{
	if (sf->dead || sf->fin_queued)
		return false;
	if (sf->state != SF_ESTABLISHED && sf->state != SF_CLOSE_WAIT)
		return false;
	if (sf->is_join && !sf->join_confirmed && !sf->conn->is_server)
		return false;
	return true;
}

uint64_t sf_rcv_window(const mps_sf *sf)
{
	uint64_t w = conn_rcv_space(sf->conn);
	uint64_t max = (uint64_t)65535 << sf->rcv_wscale;

	return w > max ? max : w;
}

static void sf_timer_set(mps_sf *sf, enum sf_timer t, uint64_t when)
{
	sf->timers[t] = when;
	stack_touch(sf->conn->stack, sf->conn);
}

static void sf_timer_stop(mps_sf *sf, enum sf_timer t)
{
	sf->timers[t] = MPS_TIME_NONE;
}

uint64_t sf_next_expiry(const mps_sf *sf)
{
	uint64_t t = MPS_TIME_NONE;
	size_t i;

	for (i = 0; i < SF_TIMER_COUNT; i++)
		if (sf->timers[i] < t)
			t = sf->timers[i];
	return t;
}

/* --- mappings on the send side ------------------------------------------ */

static sf_map *sf_map_at(const mps_sf *sf, size_t i)
{
	return &sf->maps[(sf->maps_head + i) % sf->maps_cap];
}

/* The mappings are in ssn order: a binary search (a flight can hold
 * thousands of them). */
static const sf_map *sf_map_find(const mps_sf *sf, uint64_t seq)
{
	size_t lo = 0, hi = sf->maps_n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const sf_map *m = sf_map_at(sf, mid);
		if (m->ssn + m->len <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < sf->maps_n) {
		const sf_map *m = sf_map_at(sf, lo);
		if (seq >= m->ssn && seq < m->ssn + m->len)
			return m;
	}
	return NULL;
}

static int sf_maps_grow(mps_sf *sf)
{
	size_t ncap = sf->maps_cap ? sf->maps_cap * 2 : 16, i;
	sf_map *n = calloc(ncap, sizeof(*n));

	if (n == NULL)
		return MPS_ERR_NOMEM;
	for (i = 0; i < sf->maps_n; i++)
		n[i] = *sf_map_at(sf, i);
	free(sf->maps);
	sf->maps = n;
	sf->maps_cap = ncap;
	sf->maps_head = 0;
	return 0;
}

int sf_queue_map(mps_sf *sf, uint64_t dsn, uint32_t len)
{
	sf_map *last;
	int rc;

	if (len == 0)
		return 0;
	if (sf->maps_n > 0) {
		last = sf_map_at(sf, sf->maps_n - 1);
		/* Extend the last mapping when both sequence spaces continue
		 * and it has not been sent yet (its DSS is then still free to
		 * describe the longer range). */
		if (last->dsn + last->len == dsn && last->ssn + last->len == sf->snd_end &&
		    last->ssn >= sf->snd_max && last->len + len <= SF_MAX_MAP && !sf->conn->csum) {
			last->len += len;
			sf->snd_end += len;
			return 0;
		}
	}
	if (sf->maps_n == sf->maps_cap && (rc = sf_maps_grow(sf)) != 0)
		return rc;
	last = sf_map_at(sf, sf->maps_n);
	last->ssn = sf->snd_end;
	last->dsn = dsn;
	last->len = len;
	sf->maps_n++;
	sf->snd_end += len;
	return 0;
}

static void sf_maps_pop_acked(mps_sf *sf)
{
	while (sf->maps_n > 0) {
		sf_map *m = sf_map_at(sf, 0);
		if (m->ssn + m->len > sf->snd_una)
			break;
		sf->maps_head = (sf->maps_head + 1) % sf->maps_cap;
		sf->maps_n--;
	}
}

/* --- building and sending segments ------------------------------------- */

/* May a data segment with options o go out as a super-segment of pieces of
 * cap bytes?  Only when the device cuts them (gso_max) and every piece may
 * carry the same options: timestamps, SACK blocks and a DSS whose mapping
 * covers the whole super-segment (RFC 8684 §3.3.1 lets a mapping span
 * several segments, and repeating it is harmless).  Not with a DATA_FIN
 * (it must not be seen before the last byte) nor with signals, which must
 * arrive once. */
static bool sf_gso_ok(const mps_sf *sf, const mps_opts *o, uint32_t cap)
{
	const mps_stack *s = sf->conn->stack;

	if (s->cfg.gso_max < 2 * cap)
		return false;
	if (o->present & ~(MPS_OPT_TS | MPS_OPT_SACK | MPS_OPT_DSS))
		return false;
	return !((o->present & MPS_OPT_DSS) && o->dss.fin);
}

/* sf_xmit builds one segment at relative seq with up to maxlen payload bytes
 * from map (NULL for none) and sends it.  Returns the payload bytes sent. */
static uint32_t sf_xmit(mps_sf *sf, uint64_t seq, uint32_t maxlen, uint8_t flags, const sf_map *map,
			uint64_t now)
{
	mps_conn *c = sf->conn;
	mps_stack *s = c->stack;
	mps_opts o;
	sf_seg seg;
	uint8_t optbuf[40];
	mps_iov iov[2];
	int niov = 0, optlen, room, n;
	uint32_t len = 0, cap = UINT32_MAX;
	uint64_t wnd;
	mps_tcp_out out;
	mps_out_meta meta;

	memset(&o, 0, sizeof(o));
	if (flags & MPS_TH_SYN) {
		bool synack = (flags & MPS_TH_ACK) != 0;
		o.present |= MPS_OPT_MSS;
		o.mss = sf_local_mss(sf);
		if (!synack || sf->sack_ok)
			o.present |= MPS_OPT_SACK_PERM;
		if (!synack || sf->ws_ok) {
			o.present |= MPS_OPT_WSCALE;
			o.wscale = sf->rcv_wscale;
		}
		/* A group JOIN SYN leaves timestamps out to fit (doc/protocol.md). */
		if ((!synack && !sf->group_join) || (synack && sf->ts_ok)) {
			o.present |= MPS_OPT_TS;
			o.ts_val = stack_ts_now(s, now);
			o.ts_ecr = synack ? sf->ts_recent : 0;
		}
	} else if (sf->ts_ok) {
		o.present |= MPS_OPT_TS;
		o.ts_val = stack_ts_now(s, now);
		o.ts_ecr = sf->ts_recent;
	}
	seg.flags = flags;
	seg.seq = seq;
	seg.len = maxlen;
	seg.map = map;
	seg.rexmit = seq < sf->snd_max;
	room = 40 - mps_opt_size(&o);
	sf->signal_more = false;
	conn_sf_options(c, sf, &seg, &o, room);
	/* SACK blocks (RFC 2018) with the room that is left, newest first,
	 * after a DSACK block for a duplicate just received (RFC 2883). */
	if (sf->sack_ok && !(flags & MPS_TH_SYN) && (sf->rcv_ooo.n > 0 || sf->dsack_pending)) {
		size_t i;
		o.present |= MPS_OPT_SACK;
		o.nsack = 0;
		if (sf->dsack_pending && (flags & MPS_TH_ACK)) {
			o.sack[0].left = sf->irs + (uint32_t)sf->dsack_l;
			o.sack[0].right = sf->irs + (uint32_t)sf->dsack_r;
			o.nsack = 1;
			if (mps_opt_size(&o) > 40)
				o.nsack = 0;
		}
		for (i = sf->rcv_ooo.n; i > 0 && o.nsack < MPS_SACK_MAX; i--) {
			const mps_range *r = &sf->rcv_ooo.r[i - 1];
			if (r->end <= sf->rcv_nxt)
				continue;
			o.sack[o.nsack].left = sf->irs + (uint32_t)r->start;
			o.sack[o.nsack].right = sf->irs + (uint32_t)r->end;
			o.nsack++;
			if (mps_opt_size(&o) > 40) {
				o.nsack--;
				break;
			}
		}
		if (o.nsack == 0)
			o.present &= ~MPS_OPT_SACK;
	}
	optlen = mps_opt_write(optbuf, sizeof(optbuf), &o);
	if (optlen < 0)
		return 0;

	if (map != NULL && maxlen > 0) {
		cap = sf_mss_clamp(sf) - (uint32_t)optlen;
		len = maxlen < cap ? maxlen : cap;
		if (maxlen > cap && sf_gso_ok(sf, &o, cap)) {
			/* A super-segment of whole pieces (the last may be
			 * short): the device cuts it every cap bytes, copying
			 * these options into each piece. */
			uint32_t big = s->cfg.gso_max / cap * cap;
			len = maxlen < big ? maxlen : big;
		}
		niov = conn_sf_peek(c, map->dsn + (seq - map->ssn), len, iov);
		if (niov < 0)
			return 0;
	}

	wnd = sf_rcv_window(sf);
	memset(&out, 0, sizeof(out));
	out.src = &sf->local;
	out.dst = &sf->remote;
	out.seq = sf_wire_seq(sf, seq);
	out.ack = (flags & MPS_TH_ACK) ? sf_wire_ack(sf) : 0;
	out.flags = flags;
	if (flags & MPS_TH_SYN)
		out.window = (uint16_t)(wnd > 65535 ? 65535 : wnd);
	else
		out.window = (uint16_t)(wnd >> sf->rcv_wscale);
	out.opts = optbuf;
	out.optlen = (size_t)optlen;
	out.payload = iov;
	out.niov = niov;
	memset(&meta, 0, sizeof(meta));
	meta.gso_size = (uint16_t)(len > cap ? cap : 0);
	meta.csum_partial = s->cfg.csum_offload;
	if (s->cfg.out_iov && s->cfg.csum_offload && niov > 0) {
		/* zero-copy: headers here, the payload stays in the buffer */
		n = mps_pkt_build_tcp(s->obuf, s->obuf_cap, &out,
				      MPS_PKT_PARTIAL_CSUM | MPS_PKT_HDR_ONLY);
		if (n < 0)
			return 0;
		meta.payload = iov;
		meta.npayload = niov;
		n -= (int)len;
	} else {
		n = mps_pkt_build_tcp(s->obuf, s->obuf_cap, &out,
				      s->cfg.csum_offload ? MPS_PKT_PARTIAL_CSUM : 0);
		if (n < 0)
			return 0;
	}
	stack_output_meta(s, s->obuf, (size_t)n, &meta);

	if (flags & MPS_TH_ACK) {
		uint64_t edge = sf->rcv_nxt + ((flags & MPS_TH_SYN) ? wnd : (wnd >> sf->rcv_wscale) << sf->rcv_wscale);
		if (edge > sf->rcv_adv)
			sf->rcv_adv = edge;
		sf->rcv_wnd_edge = edge;
		/* The window is a data-level one (RFC 8684 §3.3.4): remember
		 * the right edge this ACK told the peer, for window updates. */
		if (c->mptcp && !c->fallback && !(flags & MPS_TH_SYN))
			c->rcv_edge_adv = mps_rob_next(&c->rcv) +
					  ((wnd >> sf->rcv_wscale) << sf->rcv_wscale);
		sf->last_ack_sent = sf->rcv_nxt;
		sf->dsack_pending = false;
		/* Signals travel on pure ACKs: a data segment leaves one due,
		 * and a pure ACK another when a signal did not fit in it. */
		sf->ack_now = sf->signal_more || (len > 0 && conn_sf_signal_pending(c, sf));
		sf->unacked_segs = 0;
		sf_timer_stop(sf, SF_TIMER_DELACK);
	}
	if (len > 0) {
		if (seq < sf->snd_max) {
			sf->bytes_retrans += len;
			s->st.retransmits++;
		} else {
			sf->bytes_sent += len;
		}
	}
	return len;
}

/* The current timeout: the RFC 6298 value doubled per backoff (§5.5). */
static uint64_t sf_rto_cur(const mps_sf *sf)
{
	uint64_t t = sf->rto;
	uint32_t i;

	for (i = 0; i < sf->backoff && t < SF_RTO_MAX; i++)
		t *= 2;
	return t < SF_RTO_MAX ? t : SF_RTO_MAX;
}

static void sf_arm_rto(mps_sf *sf, uint64_t now)
{
	sf_timer_set(sf, SF_TIMER_RTO, now + sf_rto_cur(sf));
}

static void sf_send_syn(mps_sf *sf, uint64_t now)
{
	uint8_t flags = MPS_TH_SYN | (sf->state == SF_SYN_RCVD ? MPS_TH_ACK : 0);

	sf_xmit(sf, 0, 0, flags, NULL, now);
	sf->rtt_time = now; /* the handshake gives the first RTT sample */
	if (sf->snd_max < 1)
		sf->snd_max = 1;
	sf->snd_nxt = 1;
	sf_arm_rto(sf, now);
}

int sf_connect(mps_sf *sf, uint64_t now)
{
	sf->state = SF_SYN_SENT;
	sf->cc->init(sf);
	stack_sf_hash_add(sf->conn->stack, sf);
	sf_send_syn(sf, now);
	return 0;
}

/* Negotiated options of the peer's SYN or SYN-ACK (RFC 7323 §1.3, §2.2). */
static void sf_take_syn_options(mps_sf *sf, const mps_opts *o, bool we_offered)
{
	if (o->present & MPS_OPT_MSS)
		sf->peer_mss = o->mss < 64 ? 64 : o->mss;
	sf->ws_ok = (o->present & MPS_OPT_WSCALE) && we_offered;
	if (sf->ws_ok)
		sf->snd_wscale = o->wscale;
	else
		sf->snd_wscale = sf->rcv_wscale = 0;
	sf->ts_ok = (o->present & MPS_OPT_TS) != 0;
	if (sf->ts_ok)
		sf->ts_recent = o->ts_val;
	sf->sack_ok = (o->present & MPS_OPT_SACK_PERM) != 0;
	sf->mss = (uint16_t)sf_mss_clamp(sf);
}

int sf_accept_syn(mps_sf *sf, const mps_pkt *p, const mps_opts *o, uint64_t now)
{
	sf->irs = p->seq;
	sf->rcv_nxt = 1;
	sf->rcv_adv = 1;
	sf_take_syn_options(sf, o, true);
	sf->snd_wnd = p->window; /* never scaled in a SYN (RFC 7323 §2.2) */
	sf->max_snd_wnd = sf->snd_wnd;
	sf->state = SF_SYN_RCVD;
	sf->cc->init(sf);
	stack_sf_hash_add(sf->conn->stack, sf);
	sf_send_syn(sf, now);
	return 0;
}

static void sf_seg_sent(mps_sf *sf, uint64_t seq, uint32_t len, uint64_t now);

/* Send one segment starting at seq (a retransmission or new data). */
static uint32_t sf_send_at(mps_sf *sf, uint64_t seq, uint64_t limit, uint64_t now)
{
	const sf_map *m;
	uint64_t end;
	uint32_t n;

	if (seq >= sf->snd_end) {
		if (sf->fin_queued && seq == sf->snd_end) {
			sf_xmit(sf, seq, 0, MPS_TH_FIN | MPS_TH_ACK, NULL, now);
			sf->fin_sent = true;
			sf_seg_sent(sf, seq, 1, now);
			if (sf->snd_max < seq + 1)
				sf->snd_max = seq + 1;
			return 1;
		}
		return 0;
	}
	m = sf_map_find(sf, seq);
	if (m == NULL)
		return 0;
	end = m->ssn + m->len;
	if (end > limit)
		end = limit;
	if (end <= seq)
		return 0;
	n = sf_xmit(sf, seq, (uint32_t)(end - seq), MPS_TH_ACK | MPS_TH_PSH, m, now);
	sf_seg_sent(sf, seq, n, now);
	return n;
}

/* --- the scoreboard of a SACK peer -------------------------------------------
 *
 * sf->segs holds the transmitted ranges of [snd_una, snd_max) in sequence
 * order, each with the time of its latest (re)transmission and its state
 * (SACKed, lost, retransmitted).  It is the RFC 6675 scoreboard kept in
 * byte ranges (a range is what one transmission carried, whatever its size;
 * SACK blocks and partial retransmissions split it) and the per-segment
 * state RACK needs (RFC 8985 §6.1).  It is allocated while data is in
 * flight and freed when everything is acknowledged.
 *
 * pipe (RFC 6675 §2) = snd_max - snd_una - sacked_bytes - lost_bytes. */

#define SF_WCDELACK (200 * MPS_NS_PER_MS) /* RFC 8985 §7.2 WCDelAckT */
#define SF_PTO_MIN (10 * MPS_NS_PER_MS)   /* as Linux: below it, delayed ACKs trigger probes */
#define SF_PTO_INIT (1000 * MPS_NS_PER_MS)

static sf_txr *sf_seg_at(const mps_sf *sf, uint32_t i)
{
	return &sf->segs[sf->segs_head + i];
}

static uint64_t sf_seg_end(const sf_txr *g)
{
	return g->start + g->len;
}

/* Opens a slot at index i (0..segs_n) and returns it, or NULL. */
static sf_txr *sf_seg_insert(mps_sf *sf, uint32_t i)
{
	if (sf->segs_head + sf->segs_n == sf->segs_cap) {
		if (sf->segs_head > 0) {
			memmove(sf->segs, sf->segs + sf->segs_head, sf->segs_n * sizeof(*sf->segs));
			sf->segs_head = 0;
		} else {
			uint32_t ncap = sf->segs_cap ? sf->segs_cap * 2 : 16;
			sf_txr *n = realloc(sf->segs, ncap * sizeof(*n));
			if (n == NULL)
				return NULL;
			sf->segs = n;
			sf->segs_cap = ncap;
		}
	}
	memmove(sf_seg_at(sf, i + 1), sf_seg_at(sf, i), (sf->segs_n - i) * sizeof(*sf->segs));
	sf->segs_n++;
	return sf_seg_at(sf, i);
}

/* Index of the first range ending above seq (segs_n if none). */
static uint32_t sf_seg_find(const mps_sf *sf, uint64_t seq)
{
	uint32_t lo = 0, hi = sf->segs_n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (sf_seg_end(sf_seg_at(sf, mid)) <= seq)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Makes a range start at seq if seq falls inside one.  Without memory the
 * range stays whole (callers then treat it as not covered). */
static void sf_seg_split(mps_sf *sf, uint64_t seq)
{
	uint32_t i = sf_seg_find(sf, seq);
	sf_txr *g, *n;

	if (i == sf->segs_n || sf_seg_at(sf, i)->start >= seq)
		return;
	n = sf_seg_insert(sf, i + 1);
	if (n == NULL)
		return;
	g = sf_seg_at(sf, i);
	*n = *g;
	n->start = seq;
	n->len = (uint32_t)(sf_seg_end(g) - seq);
	g->len = (uint32_t)(seq - g->start);
}

static void sf_seg_set_lost(mps_sf *sf, sf_txr *g)
{
	if (g->flags & (SF_SEG_LOST | SF_SEG_SACKED))
		return;
	g->flags |= SF_SEG_LOST;
	sf->lost_bytes += g->len;
	if (g->start < sf->lost_hint)
		sf->lost_hint = g->start;
}

static void sf_segs_free(mps_sf *sf)
{
	free(sf->segs);
	sf->segs = NULL;
	sf->segs_head = sf->segs_n = sf->segs_cap = 0;
	sf->sacked_bytes = sf->lost_bytes = sf->retrans_bytes = 0;
	sf->lost_hint = UINT64_MAX;
}

/* [seq, seq+len) left at time now: a new range, or a retransmission of
 * (parts of) recorded ones, which are no longer lost. */
static void sf_seg_sent(mps_sf *sf, uint64_t seq, uint32_t len, uint64_t now)
{
	uint64_t end = seq + len, top;
	sf_txr *g;
	uint32_t i;

	if (!sf->sack_ok || len == 0)
		return;
	if (sf->in_recovery)
		sf->prr_out += len;
	top = sf->segs_n ? sf_seg_end(sf_seg_at(sf, sf->segs_n - 1)) : sf->snd_max;
	if (top < sf->snd_una)
		top = sf->snd_una;
	if (end > top && seq < top) {
		if (sf->in_recovery)
			sf->prr_out -= end - top; /* counted again below */
		sf_seg_sent(sf, top, (uint32_t)(end - top), now);
		end = top;
	}
	if (seq >= top) {
		if (sf->segs_n > 0) {
			g = sf_seg_at(sf, sf->segs_n - 1);
			if (g->flags == 0 && g->xmit == now && sf_seg_end(g) == seq && g->len + len <= 65536) {
				g->len += len;
				return;
			}
		}
		g = sf_seg_insert(sf, sf->segs_n);
		if (g == NULL)
			return; /* untracked: counted in flight until acknowledged */
		g->start = seq;
		g->len = len;
		g->xmit = now;
		g->flags = 0;
		return;
	}
	sf_seg_split(sf, seq);
	sf_seg_split(sf, end);
	for (i = sf_seg_find(sf, seq); i < sf->segs_n; i++) {
		g = sf_seg_at(sf, i);
		if (g->start >= end)
			break;
		if (g->flags & SF_SEG_LOST) {
			g->flags &= (uint8_t)~SF_SEG_LOST;
			sf->lost_bytes -= g->len;
		}
		if (!(g->flags & SF_SEG_RETRANS))
			sf->retrans_bytes += g->len;
		g->flags |= SF_SEG_RETRANS;
		g->xmit = now;
	}
}

/* What one ACK delivered, for RACK (RFC 8985 §6.2 steps 1-3). */
typedef struct sf_rack_ack {
	bool have;
	bool retrans;
	bool ts;             /* the ACK echoed a timestamp */
	uint32_t tsecr;
	uint64_t xmit, end;  /* the most recently sent range it delivered */
	uint64_t fack;       /* the highest byte it delivered */
} sf_rack_ack;

/* RFC 8985 RACK_sent_after(). */
static bool sf_sent_after(uint64_t t1, uint64_t seq1, uint64_t t2, uint64_t seq2)
{
	return t1 > t2 || (t1 == t2 && seq1 > seq2);
}

static void sf_rack_delivered(mps_sf *sf, const sf_txr *g, sf_rack_ack *a)
{
	uint64_t end = sf_seg_end(g);

	/* Step 3: an original transmission delivered below a delivered byte. */
	if (end < sf->rack_fack && !(g->flags & SF_SEG_RETRANS))
		sf->rack_reordering = true;
	if (!a->have || sf_sent_after(g->xmit, end, a->xmit, a->end)) {
		a->have = true;
		a->xmit = g->xmit;
		a->end = end;
		a->retrans = (g->flags & SF_SEG_RETRANS) != 0;
	}
	if (end > a->fack)
		a->fack = end;
}

/* The cumulative ACK moved to ack: drop the ranges below it. */
static void sf_segs_acked(mps_sf *sf, uint64_t ack, sf_rack_ack *a)
{
	while (sf->segs_n > 0) {
		sf_txr *g = sf_seg_at(sf, 0);
		uint64_t cut;
		if (g->start >= ack)
			break;
		if (!(g->flags & SF_SEG_SACKED))
			sf_rack_delivered(sf, g, a);
		cut = sf_seg_end(g) <= ack ? g->len : ack - g->start;
		if (g->flags & SF_SEG_SACKED)
			sf->sacked_bytes -= cut;
		if (g->flags & SF_SEG_LOST)
			sf->lost_bytes -= cut;
		if (g->flags & SF_SEG_RETRANS)
			sf->retrans_bytes -= cut;
		if (cut < g->len) {
			g->start += cut;
			g->len -= (uint32_t)cut;
			break;
		}
		sf->segs_head++;
		sf->segs_n--;
	}
	if (sf->segs_n == 0)
		sf_segs_free(sf);
}

/* A SACK block [l, r) (RFC 2018) on the scoreboard. */
static void sf_segs_sack(mps_sf *sf, uint64_t l, uint64_t r, sf_rack_ack *a)
{
	uint32_t i;

	sf_seg_split(sf, l);
	sf_seg_split(sf, r);
	for (i = sf_seg_find(sf, l); i < sf->segs_n; i++) {
		sf_txr *g = sf_seg_at(sf, i);
		if (g->start >= r)
			break;
		if ((g->flags & SF_SEG_SACKED) || g->start < l || sf_seg_end(g) > r)
			continue;
		if (g->flags & SF_SEG_LOST) {
			g->flags &= (uint8_t)~SF_SEG_LOST;
			sf->lost_bytes -= g->len;
		}
		g->flags |= SF_SEG_SACKED;
		sf->sacked_bytes += g->len;
		sf_rack_delivered(sf, g, a);
	}
}

/* The receiver may have reneged (RFC 2018 §8): forget what it SACKed. */
static void sf_segs_unsack(mps_sf *sf)
{
	uint32_t i;

	for (i = 0; i < sf->segs_n; i++)
		sf_seg_at(sf, i)->flags &= (uint8_t)~SF_SEG_SACKED;
	sf->sacked_bytes = 0;
	mps_ranges_clear(&sf->sacked);
}

static uint64_t sf_pipe(const mps_sf *sf)
{
	uint64_t out = sf->snd_max - sf->snd_una, gone = sf->sacked_bytes + sf->lost_bytes;

	return out > gone ? out - gone : 0;
}

/* --- RACK (RFC 8985 §6) ----------------------------------------------------- */

/* Step 2: the RTT and send time of the most recently sent delivered range. */
static void sf_rack_update(mps_sf *sf, const sf_rack_ack *a, uint64_t now)
{
	uint64_t rtt;

	if (a->fack > sf->rack_fack)
		sf->rack_fack = a->fack;
	if (!a->have)
		return;
	rtt = now - a->xmit;
	/* A retransmission: the ACK may be for the original.  An echoed
	 * timestamp as recent as the retransmission says it is not; else an
	 * RTT clearly below the path's minimum says it is (3/4: a small
	 * segment is faster than the full ones that set the minimum). */
	if (a->retrans && !(a->ts && (int32_t)(a->tsecr - stack_ts_now(sf->conn->stack, a->xmit)) >= 0) &&
	    sf->rack_min_rtt != 0 && rtt < sf->rack_min_rtt * 3 / 4)
		return;
	sf->rack_rtt = rtt;
	if (!a->retrans && (sf->rack_min_rtt == 0 || rtt < sf->rack_min_rtt))
		sf->rack_min_rtt = rtt;
	if (sf->rack_end == 0 || sf_sent_after(a->xmit, a->end, sf->rack_xmit, sf->rack_end)) {
		sf->rack_xmit = a->xmit;
		sf->rack_end = a->end;
	}
}

/* Step 4: the reordering window. */
static uint64_t sf_rack_reo_wnd(const mps_sf *sf)
{
	uint64_t w;

	if (!sf->rack_reordering && (sf->in_recovery || sf->sacked_bytes >= 3u * sf_seg_payload(sf)))
		return 0;
	w = (uint64_t)(sf->rack_reo_mult ? sf->rack_reo_mult : 1) * sf->rack_min_rtt / 4;
	if (sf->rtt_valid && w > sf->srtt)
		w = sf->srtt;
	return w;
}

/* A DSACK arrived (RFC 8985 §6.2 step 4): widen the window, once a round. */
static void sf_rack_dsack(mps_sf *sf)
{
	if (sf->rack_dsack_round != 0 && sf->snd_una < sf->rack_dsack_round)
		return;
	sf->rack_dsack_round = sf->snd_max;
	if (sf->rack_reo_mult < 16)
		sf->rack_reo_mult = (uint8_t)((sf->rack_reo_mult ? sf->rack_reo_mult : 1) + 1);
	sf->rack_reo_persist = 16;
}

/* Step 5: mark what was sent before the most recently delivered range and
 * is older than an RTT plus the window.  Returns when the next undecided
 * range would be due (0 = none), for the reordering timer. */
static uint64_t sf_rack_detect(mps_sf *sf, uint64_t now)
{
	uint64_t reo, timeout = 0;
	uint32_t i;

	/* Without SACKed data or retransmissions, every range left was sent
	 * after what the cumulative ACK delivered: nothing to look at. */
	if (sf->rack_end == 0 || (sf->sacked_bytes == 0 && sf->retrans_bytes == 0))
		return 0;
	reo = sf_rack_reo_wnd(sf);
	for (i = 0; i < sf->segs_n; i++) {
		sf_txr *g = sf_seg_at(sf, i);
		uint64_t due;
		if (g->flags & (SF_SEG_SACKED | SF_SEG_LOST))
			continue;
		if (!sf_sent_after(sf->rack_xmit, sf->rack_end, g->xmit, sf_seg_end(g)))
			continue;
		due = g->xmit + sf->rack_rtt + reo;
		if (due <= now) {
			sf_seg_set_lost(sf, g);
			sf->rack_lost_count++;
		} else if (due - now > timeout) {
			timeout = due - now;
		}
	}
	return timeout;
}

static uint32_t sf_send_at(mps_sf *sf, uint64_t seq, uint64_t limit, uint64_t now);

/* Retransmit the ranges marked lost while the pipe allows (at least one
 * segment with force: the fast retransmit of RFC 6675 §5 step 4.3);
 * returns the pipe. */
static uint64_t sf_recovery_send_f(mps_sf *sf, uint64_t now, bool force)
{
	uint64_t pipe = sf_pipe(sf), full = sf_seg_payload(sf);
	uint32_t i;

	if (sf->lost_bytes == 0)
		return pipe;
	i = sf_seg_find(sf, sf->lost_hint == UINT64_MAX ? sf->snd_una : sf->lost_hint);
	/* One segment at a time while cwnd - pipe >= 1 SMSS (RFC 6675 §5 C). */
	while ((pipe + full <= sf->cwnd || force) && sf->lost_bytes > 0 && i < sf->segs_n) {
		sf_txr *g = sf_seg_at(sf, i);
		uint64_t at = g->start, lim;
		uint32_t n;
		if (!(g->flags & SF_SEG_LOST)) {
			i++;
			continue;
		}
		sf->lost_hint = at;
		/* A super-segment (TSO) goes out only as far as cwnd allows. */
		lim = sf->cwnd > pipe + full ? at + (sf->cwnd - pipe) : at + full;
		if (lim > sf_seg_end(g))
			lim = sf_seg_end(g);
		n = sf_send_at(sf, at, lim, now);
		if (n == 0)
			break;
		pipe += n;
		force = false;
		i = sf_seg_find(sf, at + n);
	}
	if (sf->lost_bytes == 0)
		sf->lost_hint = UINT64_MAX;
	return pipe;
}

static uint64_t sf_recovery_send(mps_sf *sf, uint64_t now)
{
	return sf_recovery_send_f(sf, now, false);
}

/* Take the SACK blocks of an ACK into the scoreboard (RFC 2018); true if
 * the first block is a DSACK (RFC 2883 §4). */
static bool sf_take_sacks(mps_sf *sf, const mps_opts *o, uint64_t ack, sf_rack_ack *a)
{
	bool dsack = false;
	uint8_t i;

	if (!sf->sack_ok || !(o->present & MPS_OPT_SACK))
		return false;
	for (i = 0; i < o->nsack; i++) {
		uint64_t l = mps_seq_expand32(sf->snd_una, o->sack[i].left - sf->iss);
		uint64_t r = mps_seq_expand32(sf->snd_una, o->sack[i].right - sf->iss);
		if (i == 0 && l < r) {
			uint64_t l1 = o->nsack > 1 ? mps_seq_expand32(sf->snd_una, o->sack[1].left - sf->iss) : 0;
			uint64_t r1 = o->nsack > 1 ? mps_seq_expand32(sf->snd_una, o->sack[1].right - sf->iss) : 0;
			if (r <= ack || (o->nsack > 1 && l >= l1 && r <= r1)) {
				dsack = true;
				continue;
			}
		}
		if (l < r && l >= sf->snd_una && r <= sf->snd_max) {
			mps_ranges_add(&sf->sacked, l, r);
			sf_segs_sack(sf, l, r, a);
		}
	}
	return dsack;
}

/* --- TLP (RFC 8985 §7) ------------------------------------------------------ */

/* Arms the probe timeout, or stops it when no probe is due. */
static void sf_tlp_arm(mps_sf *sf, uint64_t now)
{
	uint64_t pto;

	if (!sf->sack_ok || sf->in_recovery || sf->tlp_out || sf->snd_una >= sf->snd_max ||
	    sf->timers[SF_TIMER_REO] != MPS_TIME_NONE || sf->snd_wnd == 0) {
		sf_timer_stop(sf, SF_TIMER_PTO);
		return;
	}
	pto = sf->rtt_valid ? 2 * sf->srtt : SF_PTO_INIT;
	if (sf->rtt_valid && sf->snd_max - sf->snd_una <= sf->mss && pto < sf->srtt * 3 / 2 + SF_WCDELACK)
		pto = sf->srtt * 3 / 2 + SF_WCDELACK;
	if (pto < SF_PTO_MIN)
		pto = SF_PTO_MIN;
	/* A probe after the RTO would come too late. */
	if (sf->timers[SF_TIMER_RTO] != MPS_TIME_NONE && now + pto >= sf->timers[SF_TIMER_RTO]) {
		sf_timer_stop(sf, SF_TIMER_PTO);
		return;
	}
	sf_timer_set(sf, SF_TIMER_PTO, now + pto);
}

/* TLP loss detection (RFC 8985 §7.4) on an ACK. */
static void sf_tlp_ack(mps_sf *sf, uint64_t ack, bool advanced, bool dsack, uint64_t now)
{
	if (!sf->tlp_out)
		return;
	if (sf->tlp_retrans && dsack) {
		sf->tlp_out = false; /* the probe was a duplicate: nothing was lost */
		return;
	}
	if (ack < sf->tlp_end)
		return;
	if (!sf->tlp_retrans) {
		sf->tlp_out = false;
		return;
	}
	/* Up to the probe and no DSACK for it (yet): an ACK beyond it, or a
	 * duplicate one, means the probe repaired a loss.  React as to one. */
	if (ack > sf->tlp_end || !advanced) {
		sf->tlp_out = false;
		sf->cc->on_loss(sf, now);
	}
}

static void sf_enter_recovery(mps_sf *sf, uint64_t now)
{
	sf->cc->on_loss(sf, now);
	sf->recover = sf->snd_max;
	sf->in_recovery = true;
	sf->rto_recovery = false;
	sf->high_rxt = sf->snd_una;
	sf->rtt_timing = false; /* Karn */
	if (sf->sack_ok) {
		sf->prr_recover_fs = sf->snd_max - sf->snd_una;
		sf->prr_delivered = 0;
		sf->prr_out = 0;
		sf->tlp_out = false; /* the probe's loss is repaired here */
		sf_timer_stop(sf, SF_TIMER_PTO);
		sf_recovery_send_f(sf, now, true);
	} else {
		/* RFC 6582: NewReno, with window inflation. */
		sf->cwnd = sf->ssthresh + 3 * (uint32_t)sf->mss;
		sf_send_at(sf, sf->snd_una, sf->snd_end + 1, now);
		sf->high_rxt = sf->snd_una + 1;
	}
}

void sf_send_ack(mps_sf *sf, uint64_t now)
{
	sf_xmit(sf, sf->snd_nxt, 0, MPS_TH_ACK, NULL, now);
}

void sf_output(mps_sf *sf, uint64_t now)
{
	uint64_t wnd, limit;
	uint32_t n, full;
	bool sent_any = false;

	switch (sf->state) {
	case SF_ESTABLISHED:
	case SF_CLOSE_WAIT:
	case SF_FIN_WAIT_1:
	case SF_CLOSING:
	case SF_LAST_ACK:
		break;
	case SF_FIN_WAIT_2:
	case SF_TIME_WAIT:
		if (sf->ack_now)
			sf_send_ack(sf, now);
		return;
	default:
		return;
	}
	if (sf->is_join && !sf->join_confirmed && !sf->conn->is_server) {
		if (sf->ack_now)
			sf_send_ack(sf, now);
		return;
	}
	full = sf_seg_payload(sf);
	if (sf->in_recovery && sf->sack_ok)
		sf_recovery_send(sf, now); /* holes first, even with no new data */
	for (;;) {
		if (sf->snd_nxt > sf->snd_end)
			break;
		if (sf->snd_nxt == sf->snd_end && !(sf->fin_queued && sf->snd_max <= sf->snd_end + 1 &&
						     sf->snd_nxt == sf->snd_end))
			break;
		wnd = sf->cwnd < sf->snd_wnd ? sf->cwnd : sf->snd_wnd;
		limit = sf->snd_una + wnd;
		if (sf->sack_ok) {
			uint64_t pipe = sf->in_recovery ? sf_recovery_send(sf, now) : sf_pipe(sf);
			uint64_t rwnd_end = sf->snd_una + sf->snd_wnd;
			limit = sf->snd_nxt + (sf->cwnd > pipe ? sf->cwnd - pipe : 0);
			if (limit > rwnd_end)
				limit = rwnd_end;
		}
		if (sf->snd_nxt >= limit && sf->snd_nxt < sf->snd_end)
			break;
		/* Sender-side silly window avoidance (RFC 9293 §3.8.6.2.1):
		 * don't send a runt while data is in flight and more waits. */
		if (sf->snd_nxt < sf->snd_end && limit - sf->snd_nxt < full &&
		    sf->snd_end - sf->snd_nxt > limit - sf->snd_nxt && sf->snd_nxt > sf->snd_una)
			break;
		if (sf->snd_nxt < sf->snd_una)
			sf->snd_nxt = sf->snd_una;
		n = sf_send_at(sf, sf->snd_nxt, limit, now);
		if (n == 0)
			break;
		if (!sf->rtt_timing && sf->snd_nxt >= sf->snd_max) {
			sf->rtt_timing = true;
			sf->rtt_seq = sf->snd_nxt;
			sf->rtt_time = now;
		}
		sf->snd_nxt += n;
		if (sf->snd_nxt > sf->snd_max)
			sf->snd_max = sf->snd_nxt;
		sent_any = true;
	}
	if (sent_any && sf->timers[SF_TIMER_RTO] == MPS_TIME_NONE)
		sf_arm_rto(sf, now);
	if (sent_any)
		sf_tlp_arm(sf, now);
	/* Persist timer (RFC 9293 §3.8.6.1): data waits, nothing is in flight
	 * and the peer's window is closed: probe it when the timer fires. */
	if (sf->snd_nxt < sf->snd_end && sf->snd_una == sf->snd_max &&
	    sf->timers[SF_TIMER_RTO] == MPS_TIME_NONE)
		sf_arm_rto(sf, now);
	/* A few ACKs in a row when signals queue up (RANGEs to one server). */
	for (n = 0; sf->ack_now && n < SF_SIGNAL_BURST; n++)
		sf_send_ack(sf, now);
}

/* The sequence number of a RST the peer takes: SND.NXT, or, when we sent
 * beyond its window (a window probe, data it did not take), the right
 * edge of that window.  A receiver accepts a RST only at exactly RCV.NXT
 * when its window is shut, and only within the window otherwise (RFC 9293
 * §3.10.7.4, RFC 5961 §3.2); a killed reader's socket half-closed with a
 * shut window would never hear a RST at SND.NXT beyond it.  (Linux does the
 * same: tcp_acceptable_seq.) */
static uint64_t sf_acceptable_seq(const mps_sf *sf)
{
	uint64_t edge = sf->snd_una + sf->snd_wnd;

	return sf->snd_nxt <= edge ? sf->snd_nxt : edge;
}

void sf_send_rst(mps_sf *sf, uint64_t now, uint8_t reason)
{
	(void)reason;
	if (sf->reset_sent)
		return;
	sf->reset_sent = true;
	sf_xmit(sf, sf_acceptable_seq(sf), 0, MPS_TH_RST | MPS_TH_ACK, NULL, now);
	sf->conn->stack->st.rst_sent++;
}

/* The subflow is finished: unhash it and tell the connection (which frees
 * it later, outside any call chain that may still hold it). */
static void sf_set_closed(mps_sf *sf, int err, uint64_t now)
{
	size_t i;

	if (sf->state == SF_CLOSED && !sf->hashed)
		return;
	sf->state = SF_CLOSED;
	sf->close_err = err;
	for (i = 0; i < SF_TIMER_COUNT; i++)
		sf->timers[i] = MPS_TIME_NONE;
	stack_sf_hash_del(sf->conn->stack, sf);
	conn_sf_closed(sf->conn, sf, err, now);
}

void sf_close(mps_sf *sf, uint64_t now)
{
	switch (sf->state) {
	case SF_SYN_SENT:
	case SF_SYN_RCVD:
		sf_send_rst(sf, now, 0);
		sf_set_closed(sf, 0, now);
		return;
	case SF_ESTABLISHED:
		sf->fin_queued = true;
		sf->state = SF_FIN_WAIT_1;
		break;
	case SF_CLOSE_WAIT:
		sf->fin_queued = true;
		sf->state = SF_LAST_ACK;
		break;
	default:
		return;
	}
	sf_output(sf, now);
}

/* --- input -------------------------------------------------------------- */

static void sf_rtt_sample(mps_sf *sf, uint64_t r)
{
	uint64_t d;

	/* RFC 6298 §2.2 and §2.3, with alpha = 1/8 and beta = 1/4. */
	if (!sf->rtt_valid) {
		sf->srtt = r;
		sf->rttvar = r / 2;
		sf->rtt_valid = true;
	} else {
		d = sf->srtt > r ? sf->srtt - r : r - sf->srtt;
		sf->rttvar = (3 * sf->rttvar + d) / 4;
		sf->srtt = (7 * sf->srtt + r) / 8;
	}
	sf->rto = sf->srtt + (4 * sf->rttvar > MPS_NS_PER_MS ? 4 * sf->rttvar : MPS_NS_PER_MS);
	if (sf->rto < SF_RTO_MIN)
		sf->rto = SF_RTO_MIN;
	if (sf->rto > SF_RTO_MAX)
		sf->rto = SF_RTO_MAX;
}

static void sf_input_syn_sent(mps_sf *sf, const mps_pkt *p, const mps_opts *o, uint64_t now)
{
	mps_conn *c = sf->conn;
	int rc;

	/* RFC 9293 §3.10.7.3 */
	if (p->flags & MPS_TH_ACK) {
		if (p->ack != sf->iss + 1) {
			if (!(p->flags & MPS_TH_RST))
				stack_send_rst_for(c->stack, p);
			return;
		}
	}
	if (p->flags & MPS_TH_RST) {
		if (p->flags & MPS_TH_ACK)
			sf_set_closed(sf, MPS_ERR_RESET, now);
		return;
	}
	if (!(p->flags & MPS_TH_SYN) || !(p->flags & MPS_TH_ACK))
		return; /* simultaneous open is not supported */
	sf->irs = p->seq;
	sf->rcv_nxt = 1;
	sf->rcv_adv = 1;
	sf_take_syn_options(sf, o, true);
	sf->snd_una = 1;
	sf->snd_wnd = p->window;
	sf->max_snd_wnd = sf->snd_wnd;
	sf->snd_wl1 = 0;
	sf->snd_wl2 = 1;
	sf->backoff = 0;
	sf_timer_stop(sf, SF_TIMER_RTO);
	if (!sf->rtt_valid && sf->rto_count == 0 && now >= sf->rtt_time)
		sf_rtt_sample(sf, now - sf->rtt_time); /* Karn: not after a resent SYN */
	rc = conn_sf_synack(c, sf, o, now);
	if (rc < 0) {
		sf->rcv_nxt = 1;
		sf_send_rst(sf, now, 0);
		sf_set_closed(sf, rc, now);
		return;
	}
	sf->state = SF_ESTABLISHED;
	sf_send_ack(sf, now); /* the third ACK */
	rc = conn_sf_established(c, sf, o, now);
	if (rc < 0) {
		sf_send_rst(sf, now, 0);
		sf_set_closed(sf, rc, now);
	}
}

static void sf_enter_time_wait(mps_sf *sf, uint64_t now)
{
	sf->state = SF_TIME_WAIT;
	sf_timer_stop(sf, SF_TIMER_RTO);
	sf_timer_set(sf, SF_TIMER_TIME_WAIT, now + SF_TIME_WAIT_NS);
}

/* Our FIN is acknowledged: move on (RFC 9293 §3.10.7.4, fifth check). */
static void sf_fin_acked(mps_sf *sf, uint64_t now)
{
	switch (sf->state) {
	case SF_FIN_WAIT_1:
		sf->state = SF_FIN_WAIT_2;
		break;
	case SF_CLOSING:
		sf_enter_time_wait(sf, now);
		break;
	case SF_LAST_ACK:
		sf_set_closed(sf, 0, now);
		break;
	default:
		break;
	}
}

/* Retransmit the segment at snd_una (fast retransmit / partial ACK). */
static void sf_retransmit_head(mps_sf *sf, uint64_t now)
{
	sf_send_at(sf, sf->snd_una, sf->snd_end + 1, now);
	sf->rtt_timing = false; /* Karn */
}

/* PRR (RFC 6937 §3, with slow-start reduction bound): after an ACK that
 * delivered bytes in fast recovery, cwnd becomes pipe plus what may be sent
 * now, so that the reduction to ssthresh is spread over the round instead
 * of stopping the sender until the pipe drains. */
static void sf_prr(mps_sf *sf, uint64_t delivered)
{
	uint64_t pipe = sf_pipe(sf), sndcnt, limit;

	if (delivered == 0 || sf->prr_recover_fs == 0)
		return;
	sf->prr_delivered += delivered;
	if (pipe > sf->ssthresh) {
		uint64_t want = (sf->prr_delivered * sf->ssthresh + sf->prr_recover_fs - 1) / sf->prr_recover_fs;
		sndcnt = want > sf->prr_out ? want - sf->prr_out : 0;
	} else {
		limit = sf->prr_delivered > sf->prr_out ? sf->prr_delivered - sf->prr_out : 0;
		if (limit < delivered)
			limit = delivered;
		limit += sf->mss;
		sndcnt = sf->ssthresh - pipe < limit ? sf->ssthresh - pipe : limit;
	}
	sndcnt = pipe + sndcnt;
	sf->cwnd = sndcnt > UINT32_MAX / 2 ? UINT32_MAX / 2 : (uint32_t)sndcnt;
}

/* Loss detection of a SACK peer after an ACK: RACK (RFC 8985 §6.2), the
 * reordering timer, TLP episodes (§7.4), and fast recovery on loss. */
static void sf_sack_loss(mps_sf *sf, const sf_rack_ack *ra, uint64_t ack, bool advanced, bool dsack,
			 uint64_t delivered, uint64_t now)
{
	uint64_t timeout;
	bool was_in_recovery = sf->in_recovery && !sf->rto_recovery;

	sf_rack_update(sf, ra, now);
	if (dsack)
		sf_rack_dsack(sf);
	sf_tlp_ack(sf, ack, advanced, dsack, now);
	if (sf->snd_una >= sf->snd_max) {
		sf_timer_stop(sf, SF_TIMER_REO);
		sf_timer_stop(sf, SF_TIMER_PTO);
		return;
	}
	timeout = sf_rack_detect(sf, now);
	/* Duplicate ACKs without SACK blocks (no option room on the peer's
	 * ACKs): the first unacknowledged segment is lost (RFC 6675 §5). */
	if (sf->dupacks >= 3 && sf->sacked_bytes == 0 && !sf->in_recovery && sf->segs_n > 0) {
		sf_seg_split(sf, sf->snd_una + sf_seg_payload(sf));
		sf_seg_set_lost(sf, sf_seg_at(sf, 0));
	}
	if (timeout != 0)
		sf_timer_set(sf, SF_TIMER_REO, now + timeout);
	else
		sf_timer_stop(sf, SF_TIMER_REO);
	if (was_in_recovery && sf->in_recovery && !sf->rto_recovery)
		sf_prr(sf, delivered);
	if (sf->lost_bytes > 0 && !sf->in_recovery)
		sf_enter_recovery(sf, now);
	if (advanced)
		sf_tlp_arm(sf, now);
	else if (sf->timers[SF_TIMER_REO] != MPS_TIME_NONE || sf->in_recovery)
		sf_timer_stop(sf, SF_TIMER_PTO);
}

/* Returns false if the segment must be dropped after the ACK check. */
static bool sf_process_ack(mps_sf *sf, const mps_pkt *p, const mps_opts *o, uint64_t seq, uint64_t now)
{
	uint64_t ack = mps_seq_expand32(sf->snd_una, p->ack - sf->iss);
	uint64_t wnd = (uint64_t)p->window << sf->snd_wscale;
	bool wnd_changed = false, advanced = ack > sf->snd_una;
	sf_rack_ack ra = {0};
	uint64_t sacked_before = sf->sacked_bytes, una_before = sf->snd_una;
	bool dsack;

	ra.ts = sf->ts_ok && (o->present & MPS_OPT_TS);
	ra.tsecr = o->ts_ecr;

	if (ack > sf->snd_max) {
		sf->ack_now = true; /* RFC 9293: ACK of something not yet sent */
		return false;
	}
	if (ack + sf->max_snd_wnd < sf->snd_una) {
		sf->ack_now = true; /* RFC 5961 §5.2: too old, challenge ACK */
		return false;
	}
	dsack = sf_take_sacks(sf, o, ack, &ra);
	if (sf->snd_wl1 < seq || (sf->snd_wl1 == seq && sf->snd_wl2 <= ack)) {
		wnd_changed = wnd != sf->snd_wnd;
		if (wnd > sf->snd_wnd && !advanced)
			sf->wnd_opened = true; /* a pure window update: push after the options */
		sf->snd_wnd = wnd;
		sf->snd_wl1 = seq;
		sf->snd_wl2 = ack;
		if (wnd > sf->max_snd_wnd)
			sf->max_snd_wnd = wnd;
	}
	if (ack > sf->snd_una) {
		uint64_t acked = ack - sf->snd_una;
		bool fin_acked = sf->fin_sent && ack == sf->snd_end + 1;

		if (sf->rtt_timing && ack > sf->rtt_seq) {
			sf->rtt_timing = false;
			sf_rtt_sample(sf, now - sf->rtt_time);
		}
		if (sf->sack_ok)
			sf_segs_acked(sf, ack, &ra);
		sf->snd_una = ack;
		if (sf->snd_nxt < ack)
			sf->snd_nxt = ack;
		sf->backoff = 0;
		sf->bytes_acked += acked - (fin_acked ? 1 : 0);
		sf_maps_pop_acked(sf);
		mps_ranges_remove_below(&sf->sacked, ack);
		if (sf->in_recovery && sf->sack_ok) {
			/* After a timeout the window grows in slow start while
			 * the lost ranges are resent (RFC 5681 §3.1). */
			if (sf->rto_recovery)
				sf->cc->on_ack(sf, acked, now);
			if (ack >= sf->recover) {
				if (!sf->rto_recovery)
					sf->cwnd = sf->ssthresh;
				sf->in_recovery = false;
				sf->rto_recovery = false;
				sf->dupacks = 0;
				if (sf->rack_reo_persist > 0 && --sf->rack_reo_persist == 0)
					sf->rack_reo_mult = 1;
			}
			/* else: sf_output retransmits the lost ranges */
		} else if (sf->in_recovery) {
			if (ack >= sf->recover) {
				/* RFC 6582 §3.2 step 3: full acknowledgment. */
				uint64_t fl = sf_bytes_in_flight(sf) + sf->mss;
				sf->cwnd = (uint32_t)(fl < sf->ssthresh ? fl : sf->ssthresh);
				sf->in_recovery = false;
				sf->dupacks = 0;
			} else {
				/* Partial acknowledgment: retransmit, deflate. */
				sf_retransmit_head(sf, now);
				sf->high_rxt = sf->snd_una + 1;
				sf->cwnd = sf->cwnd > acked ? (uint32_t)(sf->cwnd - acked) : 0;
				sf->cwnd += sf->mss;
			}
		} else {
			sf->dupacks = 0;
			sf->cc->on_ack(sf, acked, now);
		}
		if (sf->snd_una >= sf->snd_max)
			sf_timer_stop(sf, SF_TIMER_RTO);
		else
			sf_arm_rto(sf, now);
		if (fin_acked)
			sf_fin_acked(sf, now);
		if (sf->state != SF_CLOSED)
			conn_sf_acked(sf->conn, sf, now);
	} else if (ack == sf->snd_una && p->paylen == 0 && !(p->flags & MPS_TH_FIN) && !wnd_changed &&
		   sf->snd_una < sf->snd_max) {
		/* A duplicate ACK (RFC 5681 §2). */
		sf->dupacks++;
		if (sf->in_recovery && !sf->sack_ok)
			sf->cwnd += sf->mss; /* RFC 6582 window inflation */
	}
	if (sf->sack_ok) {
		sf_sack_loss(sf, &ra, ack, advanced, dsack,
			     (advanced ? ack - una_before : 0) + sf->sacked_bytes - sacked_before, now);
		/* New SACK information shrank the pipe: more data may go now
		 * (without this the ACK clock stops in recovery until the
		 * cumulative ACK moves). */
		if (!advanced && sf->sacked_bytes > sacked_before && sf->state != SF_CLOSED)
			conn_push(sf->conn, now);
		return true;
	}
	/* Loss without SACK: three duplicate ACKs (RFC 5681 §3.2). */
	if (!sf->in_recovery && sf->snd_una > sf->recover && sf->snd_una < sf->snd_max && sf->dupacks >= 3)
		sf_enter_recovery(sf, now);
	return true;
}

static void sf_try_fin(mps_sf *sf, uint64_t now)
{
	if (!sf->fin_received || sf->rcv_nxt != sf->fin_seq)
		return;
	sf->rcv_nxt = sf->fin_seq + 1;
	sf->fin_received = false; /* consumed */
	sf->fin_seq = UINT64_MAX;
	sf->ack_now = true;
	switch (sf->state) {
	case SF_ESTABLISHED:
		sf->state = SF_CLOSE_WAIT;
		break;
	case SF_FIN_WAIT_1:
		if (sf->fin_sent && sf->snd_una == sf->snd_end + 1)
			sf_enter_time_wait(sf, now);
		else
			sf->state = SF_CLOSING;
		break;
	case SF_FIN_WAIT_2:
		sf_enter_time_wait(sf, now);
		break;
	default:
		break;
	}
	conn_sf_fin(sf->conn, sf, now);
}

/* Bytes [l, r) arrived again: the next ACK reports them (RFC 2883 §4). */
static void sf_dsack(mps_sf *sf, uint64_t l, uint64_t r)
{
	if (!sf->sack_ok || l >= r)
		return;
	sf->dsack_l = l;
	sf->dsack_r = r;
	sf->dsack_pending = true;
	sf->ack_now = true;
}

static void sf_process_data(mps_sf *sf, uint64_t seq, const uint8_t *data, size_t len, const mps_opts *o,
			    uint64_t now)
{
	bool ooo, had_ooo;
	size_t acc;
	uint64_t nxt;

	if (seq < sf->rcv_nxt) {
		uint64_t cut = sf->rcv_nxt - seq;
		sf_dsack(sf, seq, cut < len ? sf->rcv_nxt : seq + len);
		if (cut >= len) {
			sf->ack_now = true; /* a duplicate: tell the peer again */
			return;
		}
		data += cut;
		len -= cut;
		seq = sf->rcv_nxt;
	}
	if (seq + len > sf->rcv_adv) {
		len = sf->rcv_adv > seq ? (size_t)(sf->rcv_adv - seq) : 0;
		sf->ack_now = true;
	}
	if (len == 0)
		return;
	ooo = seq > sf->rcv_nxt;
	had_ooo = sf->rcv_ooo.n > 0;
	if (mps_ranges_contains(&sf->rcv_ooo, seq, seq + len)) {
		sf_dsack(sf, seq, seq + len);
		sf->ack_now = true;
		return;
	}
	acc = conn_sf_rx_data(sf->conn, sf, seq, data, len, o, now);
	if (acc > 0) {
		mps_ranges_add(&sf->rcv_ooo, seq, seq + acc);
		nxt = mps_ranges_contig_end(&sf->rcv_ooo, sf->rcv_nxt);
		if (nxt > sf->rcv_nxt) {
			sf->rcv_nxt = nxt;
			mps_ranges_remove_below(&sf->rcv_ooo, nxt);
		}
		sf->bytes_received += acc;
	}
	if (ooo || had_ooo || acc < len) {
		sf->ack_now = true;
	} else if ((sf->unacked_segs += len > sf_mss_clamp(sf) ? 2 : 1) >= 2) {
		/* A coalesced (GRO) segment counts as two or more: ACK it. */
		sf->ack_now = true;
	} else if (sf->timers[SF_TIMER_DELACK] == MPS_TIME_NONE) {
		sf_timer_set(sf, SF_TIMER_DELACK, now + SF_DELACK);
	}
}

/* Input in SYN_RCVD and every synchronised state (RFC 9293 §3.10.7.4). */
static void sf_input_sync(mps_sf *sf, const mps_pkt *p, const mps_opts *o, uint64_t now)
{
	mps_conn *c = sf->conn;
	uint64_t seq = mps_seq_expand32(sf->rcv_nxt, p->seq - sf->irs);
	uint64_t seglen = p->paylen + ((p->flags & MPS_TH_FIN) ? 1 : 0);
	uint64_t wnd = sf->rcv_adv > sf->rcv_nxt ? sf->rcv_adv - sf->rcv_nxt : 0;
	bool ok, ack_only = false;

	if (sf->state == SF_SYN_RCVD && (p->flags & MPS_TH_SYN) && !(p->flags & MPS_TH_ACK) &&
	    p->seq == sf->irs) {
		sf_send_syn(sf, now); /* our SYN-ACK was lost */
		return;
	}
	/* First check: is the segment acceptable? */
	if (seglen == 0)
		ok = wnd == 0 ? seq == sf->rcv_nxt : (seq >= sf->rcv_nxt && seq < sf->rcv_nxt + wnd);
	else
		ok = wnd != 0 && ((seq >= sf->rcv_nxt && seq < sf->rcv_nxt + wnd) ||
				  (seq + seglen - 1 >= sf->rcv_nxt && seq + seglen - 1 < sf->rcv_nxt + wnd));
	if (!ok && seglen == 0 && seq + 1 == sf->rcv_nxt)
		ok = false; /* keep-alive: answered by the ACK below */
	/* With a zero window no segment is acceptable, but its ACK is (RFC
	 * 9293 §3.10.7.4): one at RCV.NXT (the peer's next data, a window
	 * probe) is taken for its ACK, window and options, its data and FIN
	 * dropped.  Dropped whole, the ACK of what we sent is lost for as
	 * long as our reader is slow, and our own data times out again and
	 * again although the peer has it. */
	if (!ok && seglen > 0 && wnd == 0 && seq == sf->rcv_nxt && !(p->flags & (MPS_TH_RST | MPS_TH_SYN))) {
		ok = true;
		ack_only = true;
	}
	if (!ok) {
		if (!(p->flags & MPS_TH_RST))
			sf->ack_now = true;
		if (p->paylen > 0 && seq + p->paylen <= sf->rcv_nxt && !(p->flags & MPS_TH_RST))
			sf_dsack(sf, seq, seq + p->paylen); /* an old duplicate */
		return;
	}
	/* Second check: RST (RFC 5961 §3.2). */
	if (p->flags & MPS_TH_RST) {
		if (seq == sf->rcv_nxt) {
			c->stack->st.rst_received++;
			sf_set_closed(sf, MPS_ERR_RESET, now);
		} else {
			sf->ack_now = true; /* challenge ACK */
		}
		return;
	}
	/* Fourth check: SYN in a synchronised state (RFC 5961 §4.2). */
	if (p->flags & MPS_TH_SYN) {
		sf->ack_now = true;
		return;
	}
	if (!(p->flags & MPS_TH_ACK))
		return;
	if (sf->ts_ok && (o->present & MPS_OPT_TS) && seq <= sf->last_ack_sent)
		sf->ts_recent = o->ts_val; /* RFC 7323 §4.3: the earliest unacknowledged */

	if (sf->state == SF_SYN_RCVD) {
		uint64_t ack = mps_seq_expand32(0, p->ack - sf->iss);
		int rc;
		if (ack != 1) {
			stack_send_rst_for(c->stack, p);
			return;
		}
		sf->snd_una = 1;
		sf->snd_wnd = (uint64_t)p->window << sf->snd_wscale;
		sf->max_snd_wnd = sf->snd_wnd;
		sf->snd_wl1 = seq;
		sf->snd_wl2 = 1;
		sf_timer_stop(sf, SF_TIMER_RTO);
		sf->backoff = 0;
		if (sf->rto_count == 0 && now >= sf->rtt_time)
			sf_rtt_sample(sf, now - sf->rtt_time);
		sf->state = SF_ESTABLISHED;
		rc = conn_sf_established(c, sf, o, now);
		if (rc < 0) {
			sf_send_rst(sf, now, 0);
			sf_set_closed(sf, rc, now);
			return;
		}
	} else if (!sf_process_ack(sf, p, o, seq, now)) {
		return;
	}
	if (sf->state == SF_CLOSED)
		return;
	if (sf->is_join && !c->is_server && !sf->join_confirmed) {
		/* RFC 8684 §3.2: the responder's ACK of our third ACK. */
		sf->join_confirmed = true;
		sf_timer_stop(sf, SF_TIMER_JOIN_ACK);
		conn_push(c, now); /* the subflow may carry data now */
	}
	conn_sf_rx_options(c, sf, p, o, now);
	if (sf->state == SF_CLOSED)
		return;
	if (sf->wnd_opened) {
		/* Only the subflow's window moved (a window update, RFC 9293
		 * §3.8.6): data held back by it may go now.  Nothing else
		 * pushes then, as no byte was acknowledged. */
		sf->wnd_opened = false;
		conn_push(c, now);
	}
	if (ack_only) {
		sf->ack_now = true; /* tell the window again */
		return;
	}
	if (p->paylen > 0) {
		switch (sf->state) {
		case SF_ESTABLISHED:
		case SF_FIN_WAIT_1:
		case SF_FIN_WAIT_2:
			sf_process_data(sf, seq, p->payload, p->paylen, o, now);
			break;
		default:
			break; /* data after the peer's FIN is ignored */
		}
	}
	if (sf->state == SF_CLOSED)
		return;
	if (p->flags & MPS_TH_FIN) {
		uint64_t fs = seq + p->paylen;
		if (!sf->fin_received && fs >= sf->rcv_nxt) {
			sf->fin_received = true;
			sf->fin_seq = fs;
		}
		sf->ack_now = true;
	}
	sf_try_fin(sf, now);
}

void sf_input(mps_sf *sf, const mps_pkt *p, const mps_opts *o, uint64_t now)
{
	switch (sf->state) {
	case SF_CLOSED:
		return;
	case SF_SYN_SENT:
		sf_input_syn_sent(sf, p, o, now);
		break;
	case SF_TIME_WAIT:
		if (p->flags & MPS_TH_RST) {
			sf_set_closed(sf, 0, now);
			return;
		}
		if (p->flags & MPS_TH_FIN)
			sf_send_ack(sf, now);
		return;
	default:
		sf_input_sync(sf, p, o, now);
		break;
	}
	if (sf->state != SF_CLOSED)
		sf_output(sf, now);
}

/* --- timers ---------------------------------------------------------------- */

/* The RTO of a SACK peer (RFC 6675 §5.1, RFC 8985 §6.3): every range not
 * SACKed is lost and resent in order, in slow start; SACKed ranges are kept
 * unless a second timeout in a row suggests the receiver reneged. */
static bool sf_rto_sack(mps_sf *sf, uint64_t now)
{
	uint32_t i;

	if (sf->snd_wnd == 0)
		return false; /* a window probe: the persist code below */
	sf_timer_stop(sf, SF_TIMER_REO);
	sf_timer_stop(sf, SF_TIMER_PTO);
	sf->tlp_out = false;
	if (sf->backoff > 1)
		sf_segs_unsack(sf);
	for (i = 0; i < sf->segs_n; i++)
		sf_seg_set_lost(sf, sf_seg_at(sf, i));
	sf->in_recovery = true;
	sf->rto_recovery = true;
	sf->recover = sf->snd_max;
	sf_output(sf, now);
	sf_arm_rto(sf, now);
	conn_sf_rto(sf->conn, sf, now);
	return true;
}

/* The RACK reordering timer (RFC 8985 §6.3). */
static void sf_on_reo(mps_sf *sf, uint64_t now)
{
	uint64_t timeout;

	if (!sf->sack_ok || sf->snd_una >= sf->snd_max)
		return;
	timeout = sf_rack_detect(sf, now);
	if (timeout != 0)
		sf_timer_set(sf, SF_TIMER_REO, now + timeout);
	if (sf->lost_bytes > 0) {
		if (!sf->in_recovery)
			sf_enter_recovery(sf, now);
		sf_output(sf, now);
		conn_push(sf->conn, now);
	} else if (timeout == 0) {
		sf_tlp_arm(sf, now);
	}
}

/* The probe timeout (RFC 8985 §7.3): one segment of new data if the
 * receive window allows, else the last segment again; then the RTO. */
static void sf_on_pto(mps_sf *sf, uint64_t now)
{
	uint64_t wend = sf->snd_una + sf->snd_wnd, lim, out;
	uint32_t full = sf_seg_payload(sf), n = 0;

	if (!sf->sack_ok || sf->in_recovery || sf->tlp_out || sf->snd_una >= sf->snd_max)
		return;
	switch (sf->state) {
	case SF_ESTABLISHED:
	case SF_CLOSE_WAIT:
	case SF_FIN_WAIT_1:
	case SF_CLOSING:
	case SF_LAST_ACK:
		break;
	default:
		return;
	}
	if (sf->snd_nxt == sf->snd_max && sf->snd_nxt < wend) {
		if (sf->snd_nxt == sf->snd_end && !sf->fin_queued) {
			/* New data waits at the connection: one segment more
			 * than cwnd lets it come here and go out. */
			uint64_t before = sf->snd_max;
			sf->cwnd += full;
			conn_push(sf->conn, now);
			sf->cwnd -= full;
			if (sf->state == SF_CLOSED)
				return;
			n = (uint32_t)(sf->snd_max - before);
		} else if (sf->snd_nxt < sf->snd_end) {
			lim = sf->snd_nxt + full < wend ? sf->snd_nxt + full : wend;
			n = sf_send_at(sf, sf->snd_nxt, lim, now);
			sf->snd_nxt += n;
			if (sf->snd_nxt > sf->snd_max)
				sf->snd_max = sf->snd_nxt;
		}
		sf->tlp_retrans = false;
	}
	if (n == 0) {
		out = sf->snd_max - sf->snd_una;
		n = sf_send_at(sf, sf->snd_max - (out > full ? full : out), sf->snd_max, now);
		sf->tlp_retrans = true;
	}
	if (n == 0)
		return;
	sf->tlp_out = true;
	sf->tlp_end = sf->snd_max;
	sf->tlp_count++;
	sf_arm_rto(sf, now);
	conn_sf_pto(sf->conn, sf, now);
}

static void sf_on_rto(mps_sf *sf, uint64_t now)
{
	mps_stack *s = sf->conn->stack;

	sf->timers[SF_TIMER_RTO] = MPS_TIME_NONE;
	if (sf->state == SF_SYN_SENT || sf->state == SF_SYN_RCVD) {
		int max = sf->is_join ? SF_JOIN_SYN_RETRIES : SF_SYN_RETRIES;
		if (++sf->backoff > (uint32_t)max) {
			sf_set_closed(sf, MPS_ERR_TIMEOUT, now);
			return;
		}
		sf->rto_count++;
		sf_send_syn(sf, now);
		return;
	}
	if (sf->snd_una >= sf->snd_max) {
		if (sf->snd_nxt < sf->snd_end && sf_can_send_data(sf)) {
			/* Persist: probe the closed window with one byte. */
			uint32_t n = sf_send_at(sf, sf->snd_nxt, sf->snd_nxt + 1, now);
			sf->snd_nxt += n;
			if (sf->snd_nxt > sf->snd_max)
				sf->snd_max = sf->snd_nxt;
			if (sf->backoff < 6)
				sf->backoff++;
			sf_arm_rto(sf, now);
		}
		return;
	}
	s->st.rto_fired++;
	sf->rto_count++;
	if (++sf->backoff > SF_DATA_RETRIES) {
		sf_send_rst(sf, now, 0);
		sf_set_closed(sf, MPS_ERR_TIMEOUT, now);
		return;
	}
	if (sf->snd_wnd == 0 && sf->snd_nxt == sf->snd_una + 1) {
		/* Zero-window probe outstanding: not a loss. */
		sf->backoff--;
	} else {
		sf->cc->on_rto(sf, now);
	}
	sf->in_recovery = false;
	sf->dupacks = 0;
	sf->recover = sf->snd_max;
	sf->rtt_timing = false;
	if (sf->sack_ok && sf->segs_n > 0 && sf_rto_sack(sf, now))
		return;
	mps_ranges_clear(&sf->sacked); /* the receiver may have reneged */
	sf->snd_nxt = sf->snd_una; /* go back: resend from the first unacked byte */
	sf->rtt_timing = false;
	if (sf->snd_wnd == 0) {
		/* Persist: probe with one byte beyond the closed window. */
		uint32_t n = sf_send_at(sf, sf->snd_una, sf->snd_una + 1, now);
		sf->snd_nxt += n;
	} else {
		sf_output(sf, now);
	}
	sf_arm_rto(sf, now);
	conn_sf_rto(sf->conn, sf, now);
}

void sf_handle_timers(mps_sf *sf, uint64_t now)
{
	if (sf->timers[SF_TIMER_REO] <= now) {
		sf->timers[SF_TIMER_REO] = MPS_TIME_NONE;
		sf_on_reo(sf, now);
	}
	if (sf->timers[SF_TIMER_PTO] <= now) {
		sf->timers[SF_TIMER_PTO] = MPS_TIME_NONE;
		sf_on_pto(sf, now);
	}
	if (sf->timers[SF_TIMER_RTO] <= now)
		sf_on_rto(sf, now);
	if (sf->state == SF_CLOSED)
		return;
	if (sf->timers[SF_TIMER_DELACK] <= now) {
		sf->timers[SF_TIMER_DELACK] = MPS_TIME_NONE;
		sf_send_ack(sf, now);
	}
	if (sf->timers[SF_TIMER_JOIN_ACK] <= now) {
		/* Resend the third ACK of MP_JOIN until the responder acks it. */
		sf->timers[SF_TIMER_JOIN_ACK] = now + sf->rto;
		if (++sf->join_tries > SF_JOIN_SYN_RETRIES) {
			sf_send_rst(sf, now, 0);
			sf_set_closed(sf, MPS_ERR_TIMEOUT, now);
			return;
		}
		sf_send_ack(sf, now);
	}
	if (sf->timers[SF_TIMER_TIME_WAIT] <= now) {
		sf->timers[SF_TIMER_TIME_WAIT] = MPS_TIME_NONE;
		sf_set_closed(sf, 0, now);
	}
}

/* Called by conn.c when the join third ACK was sent (initiator side). */
void sf_join_ack_sent(mps_sf *sf, uint64_t now)
{
	sf->timers[SF_TIMER_JOIN_ACK] = now + sf->rto;
}

/* Abort without a packet (the connection is being torn down). */
void sf_kill(mps_sf *sf, int err, uint64_t now)
{
	sf_set_closed(sf, err, now);
}
