/*
 * conn.c - the MPTCP connection (RFC 8684): MP_CAPABLE v1 and MP_JOIN
 * handshakes, DSS mappings and DATA_ACK, connection-level reassembly and
 * flow control, DATA_FIN, data-level retransmission across subflows,
 * ADD_ADDR / REMOVE_ADDR, MP_PRIO, MP_FASTCLOSE, MP_TCPRST, MP_FAIL and the
 * fallback to plain TCP.  A plain TCP connection is a connection with one
 * subflow and no MPTCP, so the application sees one kind of object.
 *
 * Handshake (client):  mps_connect() -> sf_connect() [MP_CAPABLE SYN]
 *   -> conn_sf_synack() [server key] -> conn_sf_established() -> pm
 * Handshake (server):  stack -> conn_listen_syn() -> sf_accept_syn()
 *   -> conn_sf_established() [third ACK: both keys] -> MPS_EV_ACCEPT
 * Data out: mps_conn_send() -> conn_push() -> sched pick -> sf_queue_map()
 * Data in:  sf -> conn_sf_rx_data() [DSS map -> DSN] -> mps_rob_write()
 *           -> MPS_EV_READABLE -> mps_conn_recv()
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

#define CONN_RETRANS_MIN (200 * MPS_NS_PER_MS)
#define CONN_ANNOUNCE_INTERVAL (1000 * MPS_NS_PER_MS)
#define CONN_ANNOUNCE_TRIES 5
#define CONN_LINGER (30000 * MPS_NS_PER_MS)
#define CONN_ROB_RANGES 256


static uint64_t conn_retrans_timeout(const mps_conn *c);

static void conn_timer_set(mps_conn *c, enum conn_timer t, uint64_t when)
{
	c->timers[t] = when;
	stack_touch(c->stack, c);
}

/* --- life cycle ---------------------------------------------------------- */

static uint64_t conn_new_key(mps_stack *s)
{
	uint64_t key;
	int tries;

	/* The token must be unique among our connections (RFC 8684 §3.1). */
	for (tries = 0; tries < 16; tries++) {
		stack_random(s, &key, sizeof(key));
		if (key != 0 && stack_conn_by_token(s, mps_key_token(key)) == NULL)
			return key;
	}
	return 0; /* never reuse a token: refuse the connection instead */
}

mps_conn *conn_new(mps_stack *s, bool is_server)
{
	return conn_new_keyed(s, is_server, 0);
}

/* A connection with a given local key (group members), or a random one
 * (key 0). */
mps_conn *conn_new_keyed(mps_stack *s, bool is_server, uint64_t key)
{
	mps_conn *c;
	size_t i;

	if (s->nconns >= s->cfg.max_conns)
		return NULL;
	c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->stack = s;
	c->is_server = is_server;
	c->state = CONN_SYN;
	c->local_key = key != 0 ? key : conn_new_key(s);
	if (c->local_key == 0) {
		free(c);
		return NULL;
	}
	mps_key_token_idsn(c->local_key, &c->local_token, &c->local_idsn);
	if (mps_sbuf_init(&c->snd, s->cfg.sndbuf, c->local_idsn + 1) != 0) {
		free(c);
		return NULL;
	}
	c->snd.hold = true; /* freed by CONN_TIMER_TRIM */
	c->snd_una = c->snd_nxt = c->local_idsn + 1;
	c->snd_wnd_end = c->snd_una;
	for (i = 0; i < CONN_TIMER_COUNT; i++)
		c->timers[i] = MPS_TIME_NONE;
	c->theap_idx = THEAP_NONE;
	c->theap_key = MPS_TIME_NONE;
	c->serial = s->conn_serial++;
	c->next = s->conns;
	if (s->conns)
		s->conns->prev = c;
	s->conns = c;
	s->nconns++;
	return c;
}

void conn_free(mps_conn *c)
{
	mps_stack *s = c->stack;
	mps_sf *sf, *n;

	for (sf = c->sfs; sf != NULL; sf = n) {
		n = sf->next;
		stack_sf_hash_del(s, sf);
		sf_free(sf);
	}
	stack_token_del(s, c);
	stack_timers_forget(s, c);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	s->nconns--;
	mps_sbuf_free(&c->snd);
	mps_rob_free(&c->rcv);
	mps_memzero(&c->local_key, sizeof(c->local_key));
	mps_memzero(&c->remote_key, sizeof(c->remote_key));
	if (c->peers != NULL) {
		size_t i;
		for (i = 0; i < c->npeers; i++)
			mps_ranges_free(&c->peers[i].probe_seen);
	}
	free(c->peers); /* the group block, if any */
	free(c);
}

/* The group arrays, allocated together (see core.h). */
struct conn_group_block {
	conn_peer peers[CONN_MAX_PEERS];
	conn_grant grants[CONN_MAX_GRANTS];
	mps_range sgrants[CONN_MAX_GRANTS];
	uint8_t probe_ref[GROUP_PROBE];
};

bool conn_group_alloc(mps_conn *c)
{
	struct conn_group_block *b;

	if (c->peers != NULL)
		return true;
	b = calloc(1, sizeof(*b));
	if (b == NULL)
		return false;
	c->peers = b->peers; /* the block's address: freed through it */
	c->grants = b->grants;
	c->sgrants = b->sgrants;
	c->probe_ref = b->probe_ref;
	return true;
}

int conn_init_rcv(mps_conn *c, uint64_t start)
{
	if (c->rcv.cap != 0)
		return 0;
	int rc = mps_rob_init(&c->rcv, c->stack->cfg.rcvbuf, start, CONN_ROB_RANGES);

	c->rcv.hold = true; /* freed by CONN_TIMER_TRIM, not at every drain */
	return rc;
}

/* Buffers are kept while data moves and freed CONN_TRIM_DELAY after it
 * stops (an idle connection holds none): freeing at every drain made a
 * busy connection fault its 4 MiB ring in again and again. */
#define CONN_TRIM_DELAY (1000 * MPS_NS_PER_MS)

static void conn_trim_later(mps_conn *c, uint64_t now)
{
	c->timers[CONN_TIMER_TRIM] = now + CONN_TRIM_DELAY;
}

/* The connection ended: report once to the application. */
void conn_set_closed(mps_conn *c, int err, uint64_t now)
{
	mps_sf *sf;

	if (c->state == CONN_CLOSED)
		return;
	/* A server connection the application never saw (handshake not
	 * completed) goes without an event and is freed by the stack: a
	 * refused passive open returns to LISTEN (RFC 9293 §3.10.7.4). */
	if (c->is_server && c->state == CONN_SYN)
		c->released = true;
	c->stack->reap_needed = true;
	c->state = CONN_CLOSED;
	if (c->err == 0)
		c->err = err;
	for (sf = c->sfs; sf != NULL; sf = sf->next)
		if (sf->state != SF_CLOSED && sf->state != SF_TIME_WAIT) {
			if (err != 0)
				sf_kill(sf, err, now);
		}
	c->stack->st.conns_closed++;
	if (!c->released && !c->closed_reported && (c->is_server ? c->mptcp || c->fallback || true : true)) {
		c->closed_reported = true;
		stack_event(c->stack, c, MPS_EV_CLOSED, c->err);
	}
}

bool conn_reapable(const mps_conn *c)
{
	mps_sf *sf;

	if (!c->released)
		return false;
	for (sf = c->sfs; sf != NULL; sf = sf->next)
		if (sf->state != SF_CLOSED)
			return false;
	return true;
}

/* Free closed subflows (called from the stack, outside any sf call chain). */
void conn_reap_subflows(mps_conn *c)
{
	mps_sf **pp = &c->sfs, *sf;

	/* Closed subflows stay visible (mpsctl status) until there are too
	 * many of them. */
	if (c->nsf <= CONN_MAX_SUBFLOWS)
		return;
	while ((sf = *pp) != NULL) {
		if (sf->state == SF_CLOSED && !sf->hashed) {
			*pp = sf->next;
			c->nsf--;
			sf_free(sf);
			continue;
		}
		pp = &sf->next;
	}
}

/* --- helpers -------------------------------------------------------------- */

static mps_sf *conn_initial_sf(const mps_conn *c)
{
	mps_sf *sf;

	for (sf = c->sfs; sf != NULL; sf = sf->next)
		if (sf->is_initial)
			return sf;
	return NULL;
}

size_t conn_live_subflows(const mps_conn *c, const mps_sf *except)
{
	const mps_sf *sf;
	size_t n = 0;

	for (sf = c->sfs; sf != NULL; sf = sf->next)
		if (sf != except && sf->state != SF_CLOSED && !sf->dead)
			n++;
	return n;
}

/* Data-level ACK to send: the next DSN expected, plus one for a DATA_FIN
 * that has been reached (RFC 8684 §3.3.3). */
static uint64_t conn_data_ack(const mps_conn *c)
{
	uint64_t next = mps_rob_next(&c->rcv);

	if (c->rcv_fin && next == c->rcv_fin_dsn)
		return next + 1;
	return next;
}

uint64_t conn_rcv_space(const mps_conn *c)
{
	if (c->rcv.cap == 0)
		return c->stack->cfg.rcvbuf;
	return mps_rob_space(&c->rcv);
}

int conn_sf_peek(mps_conn *c, uint64_t dsn, size_t len, mps_iov iov[2])
{
	if (c->group && c->is_server && dsn < c->snd.base)
		return gs_peek(c, dsn, len, iov); /* a new client probing us */
	return mps_sbuf_peek(&c->snd, dsn, len, iov);
}

/* Release send-buffer bytes that no one can need again: acknowledged at the
 * data level and not outstanding at the subflow level on any subflow (a
 * subflow must be able to retransmit what it sent even after another
 * subflow got it through). */
static void conn_release_sndbuf(mps_conn *c)
{
	uint64_t low = c->snd_una;
	size_t before = mps_sbuf_space(&c->snd);
	mps_sf *sf;
	size_t i;

	/* A dead subflow (its data reinjected elsewhere) does not pin the
	 * buffer: if it would need bytes that are released, it is reset. */
	for (sf = c->sfs; sf != NULL; sf = sf->next) {
		if (sf->state == SF_CLOSED || sf->dead)
			continue;
		for (i = 0; i < sf->maps_n; i++) {
			const sf_map *m = &sf->maps[(sf->maps_head + i) % sf->maps_cap];
			/* A group member's probe answers come from a kept copy
			 * (gs_peek): they never pin the buffer. */
			if (c->group && c->is_server && m->dsn + m->len <= c->local_idsn + 1 + c->probe_ref_len)
				continue;
			if (m->dsn < low)
				low = m->dsn;
		}
	}
	mps_sbuf_release(&c->snd, low);
	if (c->snd.buf != NULL && c->snd.base == c->snd.end)
		conn_trim_later(c, c->stack->now);
	for (sf = c->sfs; sf != NULL; sf = sf->next) {
		if (sf->state == SF_CLOSED || !sf->dead || sf->maps_n == 0)
			continue;
		for (i = 0; i < sf->maps_n; i++)
			if (sf->maps[(sf->maps_head + i) % sf->maps_cap].dsn < c->snd.base)
				break;
		if (i < sf->maps_n) {
			sf_send_rst(sf, c->stack->now, 0);
			sf->maps_n = 0;
			sf_kill(sf, MPS_ERR_TIMEOUT, c->stack->now);
		}
	}
	if (mps_sbuf_space(&c->snd) > before && !c->shut_wr)
		stack_event(c->stack, c, MPS_EV_WRITABLE, 0);
}

/* --- options on outgoing segments ---------------------------------------- */

static void conn_opts_dss(mps_conn *c, mps_sf *sf, const sf_seg *seg, mps_opts *o, int room)
{
	int need;

	(void)sf;
	o->present |= MPS_OPT_DSS;
	o->dss.has_ack = c->rcv.cap != 0;
	o->dss.ack64 = true;
	o->dss.data_ack = o->dss.has_ack ? conn_data_ack(c) : 0;
	if (seg->map != NULL && seg->len > 0) {
		o->dss.has_map = true;
		o->dss.map64 = true;
		o->dss.dsn = seg->map->dsn;
		o->dss.ssn = (uint32_t)seg->map->ssn;
		o->dss.dll = (uint16_t)seg->map->len;
		if (c->csum) {
			mps_iov iov[2];
			int n = mps_sbuf_peek(&c->snd, seg->map->dsn, seg->map->len, iov);
			o->dss.has_csum = true;
			o->dss.csum = n < 0 ? 0 : mps_dss_csum(seg->map->dsn, (uint32_t)seg->map->ssn,
							      o->dss.dll, iov, n);
		}
	} else if (c->fin_sent_dsn && !c->fin_acked && !(seg->flags & MPS_TH_RST)) {
		/* DATA_FIN on a segment without data: subflow sequence 0,
		 * data-level length 1 (RFC 8684 §3.3.3). */
		o->dss.has_map = true;
		o->dss.map64 = true;
		o->dss.fin = true;
		o->dss.dsn = c->fin_dsn;
		o->dss.ssn = 0;
		o->dss.dll = 1;
		if (c->csum) {
			o->dss.has_csum = true;
			o->dss.csum = mps_dss_csum(c->fin_dsn, 0, 1, NULL, 0);
		}
	}
	need = mps_opt_len(o, MPS_OPT_DSS);
	if (need > room) {
		o->dss.ack64 = false; /* a 32-bit DATA_ACK saves 4 bytes */
		o->dss.data_ack &= 0xffffffffu;
	}
}

bool conn_sf_signal_pending(const mps_conn *c, const mps_sf *sf)
{
	size_t i;

	if (!c->mptcp || c->fallback)
		return false;
	if (c->necho > 0 || c->nrm_pending > 0 || sf->prio_pending)
		return true;
	for (i = 0; i < c->nann; i++)
		if (!c->ann[i].echoed && c->ann[i].next_send <= c->stack->now)
			return true;
	return c->group && gc_signal_pending(c, sf);
}

/* Add a further suboption if it still fits, else take it out again. */
static bool conn_opts_try(mps_opts *o, uint32_t bit, int room_total)
{
	o->present |= bit;
	if (mps_opt_size(o) > room_total) {
		o->present &= ~bit;
		return false;
	}
	return true;
}

void conn_sf_options(mps_conn *c, mps_sf *sf, const sf_seg *seg, mps_opts *o, int room)
{
	mps_stack *s = c->stack;
	int total = mps_opt_size(o) + room; /* all of the 40 bytes */
	size_t i;

	if (seg->flags & MPS_TH_SYN) {
		bool synack = (seg->flags & MPS_TH_ACK) != 0;
		if (sf->group_join && !synack) {
			/* Group JOIN instead of MP_JOIN (doc/protocol.md). */
			mps_gmsg g = {.type = MPS_GMSG_JOIN,
				      .backup = sf->backup,
				      .addr_id = sf->local_id,
				      .token = c->remote_token,
				      .nonce = sf->local_nonce,
				      .n = c->group_n,
				      .key_c = c->local_key};
			mps_gmsg_put(o, &g);
		} else if (sf->is_join) {
			o->present |= MPS_OPT_JOIN;
			o->join.form = synack ? MPS_JOIN_SYNACK : MPS_JOIN_SYN;
			o->join.backup = sf->backup;
			o->join.addr_id = sf->local_id;
			o->join.nonce = sf->local_nonce;
			if (synack)
				o->join.hmac64 = mps_join_hmac64(c->local_key, c->remote_key, sf->local_nonce,
								 sf->remote_nonce);
			else
				o->join.token = c->remote_token;
		} else if ((synack && c->mptcp) || (!synack && !s->cfg.no_mptcp)) {
			o->present |= MPS_OPT_MPC;
			o->mpc.version = 1;
			o->mpc.flags = MPS_MPC_FLAG_H | (c->csum || (!synack && s->cfg.dss_checksum)
								 ? MPS_MPC_FLAG_A : 0);
			o->mpc.nkeys = synack ? 1 : 0;
			o->mpc.key_sender = c->local_key;
			if ((!synack && c->group_asked) || (synack && c->group)) {
				mps_gmsg g = {.type = synack ? MPS_GMSG_ACK : MPS_GMSG_REQ,
					      .version = MPS_GROUP_VERSION};
				mps_gmsg_put(o, &g);
				if (mps_opt_size(o) > total)
					o->present &= ~MPS_OPT_EXP;
			}
		}
		return;
	}
	if (!c->mptcp || c->fallback)
		return;
	if (seg->flags & MPS_TH_RST) {
		o->present |= MPS_OPT_TCPRST;
		o->tcprst.flags = 0;
		o->tcprst.reason = 0;
		if (c->fastclose_pending) {
			o->fastclose.key = c->remote_key;
			conn_opts_try(o, MPS_OPT_FASTCLOSE, total);
		}
		return;
	}
	/* The initiator's third ACK and first data carry MP_CAPABLE with both
	 * keys until the server shows it has them (RFC 8684 §3.1). */
	if (sf->is_initial && !c->is_server && sf->mpc_ack_pending &&
	    (seg->map == NULL || (seg->map->ssn == 1 && seg->map->dsn == c->local_idsn + 1))) {
		o->present |= MPS_OPT_MPC;
		o->mpc.version = 1;
		o->mpc.flags = MPS_MPC_FLAG_H | (c->csum ? MPS_MPC_FLAG_A : 0);
		o->mpc.nkeys = 2;
		o->mpc.key_sender = c->local_key;
		o->mpc.key_receiver = c->remote_key;
		if (seg->map != NULL && seg->len > 0) {
			o->mpc.has_dll = true;
			o->mpc.dll = (uint16_t)seg->map->len;
			if (c->csum) {
				mps_iov iov[2];
				int n = mps_sbuf_peek(&c->snd, seg->map->dsn, seg->map->len, iov);
				o->mpc.has_csum = true;
				o->mpc.csum = n < 0 ? 0 : mps_dss_csum(seg->map->dsn, 1, o->mpc.dll, iov, n);
			}
		}
		return;
	}
	/* The join initiator's third ACK carries its HMAC (RFC 8684 §3.2). */
	if (sf->is_join && !c->is_server && !sf->join_confirmed && seg->map == NULL) {
		o->present |= MPS_OPT_JOIN;
		o->join.form = MPS_JOIN_ACK;
		mps_join_hmac160(o->join.hmac160, c->local_key, c->remote_key, sf->local_nonce,
				 sf->remote_nonce);
		return;
	}
	if (c->fastclose_pending) {
		o->present |= MPS_OPT_FASTCLOSE;
		o->fastclose.key = c->remote_key;
		return;
	}
	conn_opts_dss(c, sf, seg, o, total - mps_opt_size(o));
	if (mps_opt_size(o) > total) {
		/* No room for the mapping's DSS: keep only the DATA_ACK. */
		o->dss.has_map = false;
		o->dss.has_csum = false;
		o->dss.fin = false;
	}
	if (seg->len > 0)
		return; /* signals travel on pure ACKs */
	/* Pending ADD_ADDR announcements and echoes (RFC 8684 §3.4.1). */
	for (i = 0; i < c->nann; i++) {
		conn_announce *a = &c->ann[i];
		if (a->echoed || a->next_send > s->now)
			continue;
		o->add_addr.echo = false;
		o->add_addr.id = a->id;
		o->add_addr.addr = a->addr;
		o->add_addr.has_port = a->addr.port != 0;
		o->add_addr.has_hmac = true;
		o->add_addr.hmac = mps_addaddr_hmac(c->local_key, c->remote_key, a->id, &a->addr);
		if (conn_opts_try(o, MPS_OPT_ADD_ADDR, total)) {
			a->tries++;
			a->next_send = s->now + CONN_ANNOUNCE_INTERVAL;
			if (a->tries >= CONN_ANNOUNCE_TRIES)
				a->echoed = true; /* give up */
			conn_timer_set(c, CONN_TIMER_ANNOUNCE, a->next_send);
		}
		break;
	}
	if (!(o->present & MPS_OPT_ADD_ADDR) && c->necho > 0) {
		o->add_addr.echo = true;
		o->add_addr.id = c->echo[0].id;
		o->add_addr.addr = c->echo[0].addr;
		o->add_addr.has_port = c->echo[0].addr.port != 0;
		o->add_addr.has_hmac = false;
		if (conn_opts_try(o, MPS_OPT_ADD_ADDR, total)) {
			memmove(&c->echo[0], &c->echo[1], (c->necho - 1) * sizeof(c->echo[0]));
			c->necho--;
		}
	}
	if (c->group)
		gc_options(c, sf, seg, o, total);
	if (c->nrm_pending > 0) {
		o->rm_addr.n = (uint8_t)c->nrm_pending;
		memcpy(o->rm_addr.ids, c->rm_pending, c->nrm_pending);
		if (conn_opts_try(o, MPS_OPT_RM_ADDR, total))
			c->nrm_pending = 0;
	}
	if (sf->prio_pending) {
		o->prio.backup = sf->backup;
		if (conn_opts_try(o, MPS_OPT_PRIO, total))
			sf->prio_pending = false;
	}
}

/* --- handshake ------------------------------------------------------------ */

void conn_keys_learned(mps_conn *c, uint64_t remote_key)
{
	c->remote_key = remote_key;
	mps_key_token_idsn(remote_key, &c->remote_token, &c->remote_idsn);
	c->keys_known = true;
}

void conn_listen_syn(mps_stack *s, const mps_pkt *p, const mps_opts *o, uint64_t now)
{
	mps_conn *c;
	mps_sf *sf;
	mps_addr local = p->dst, remote = p->src;

	if ((o->present & MPS_OPT_EXP) && gs_listen_syn(s, p, o, now))
		return; /* a group JOIN (accepted or refused) */
	if (o->present & MPS_OPT_JOIN) {
		/* RFC 8684 §3.2: find the connection by its token; refuse
		 * before creating any state if there is none. */
		c = o->join.form == MPS_JOIN_SYN ? stack_conn_by_token(s, o->join.token) : NULL;
		if (c == NULL || c->state != CONN_ESTABLISHED || c->fallback || !c->keys_known ||
		    conn_live_subflows(c, NULL) >= CONN_MAX_SUBFLOWS) {
			s->st.joins_refused++;
			stack_send_rst_for(s, p);
			return;
		}
		sf = sf_new(c, &local, &remote);
		if (sf == NULL) {
			s->st.drop_other++;
			return;
		}
		sf->is_join = true;
		sf->remote_id = o->join.addr_id;
		sf->peer_backup = o->join.backup;
		sf->remote_nonce = o->join.nonce;
		stack_random(s, &sf->local_nonce, sizeof(sf->local_nonce));
		sf->local_id = (uint8_t)stack_local_id(s, c, &local);
		sf_accept_syn(sf, p, o, now);
		return;
	}
	c = conn_new(s, true);
	if (c == NULL) {
		s->st.drop_other++;
		return;
	}
	c->remote0 = remote;
	if ((o->present & MPS_OPT_MPC) && o->mpc.version == 1 && !s->cfg.no_mptcp) {
		/* MP_CAPABLE v1 SYN: we answer with our key (RFC 8684 §3.1). */
		mps_gmsg g;
		c->mptcp = true;
		c->csum = s->cfg.dss_checksum || (o->mpc.flags & MPS_MPC_FLAG_A);
		if (s->has_group_key && (o->present & MPS_OPT_EXP) && mps_gmsg_parse(&g, o) == 0 &&
		    g.type == MPS_GMSG_REQ && !gs_setup_key(c)) {
			conn_free(c); /* Key-S from the group key and a fresh N, or refuse */
			s->st.drop_other++;
			return;
		}
		stack_token_add(s, c);
	}
	sf = sf_new(c, &local, &remote);
	if (sf == NULL) {
		conn_free(c);
		s->st.drop_other++;
		return;
	}
	sf->is_initial = true;
	sf_accept_syn(sf, p, o, now);
}

int conn_sf_synack(mps_conn *c, mps_sf *sf, const mps_opts *o, uint64_t now)
{
	mps_stack *s = c->stack;

	(void)now;
	if (sf->is_join) {
		uint64_t expect;
		if (!(o->present & MPS_OPT_JOIN) || o->join.form != MPS_JOIN_SYNACK) {
			s->st.joins_refused++;
			return MPS_ERR_AUTH;
		}
		sf->remote_nonce = o->join.nonce;
		expect = mps_join_hmac64(c->remote_key, c->local_key, sf->remote_nonce, sf->local_nonce);
		if (!mps_ct_equal(&expect, &o->join.hmac64, sizeof(expect))) {
			s->st.joins_refused++;
			return MPS_ERR_AUTH;
		}
		sf->remote_id = o->join.addr_id;
		sf->peer_backup = o->join.backup;
		return 0;
	}
	if ((o->present & MPS_OPT_MPC) && o->mpc.version == 1 && o->mpc.nkeys >= 1 && !s->cfg.no_mptcp) {
		mps_gmsg g;
		c->mptcp = true;
		c->csum = s->cfg.dss_checksum || (o->mpc.flags & MPS_MPC_FLAG_A);
		conn_keys_learned(c, o->mpc.key_sender);
		stack_token_add(s, c);
		sf->mpc_ack_pending = true;
		if (c->group_asked && (o->present & MPS_OPT_EXP) && mps_gmsg_parse(&g, o) == 0 &&
		    g.type == MPS_GMSG_ACK && g.version == MPS_GROUP_VERSION && conn_group_alloc(c))
			c->group = true;
		return conn_init_rcv(c, c->remote_idsn + 1);
	}
	/* No MPTCP in the SYN-ACK: plain TCP (RFC 8684 §3.7). */
	if (!s->cfg.no_mptcp)
		s->st.fallbacks++;
	c->mptcp = false;
	c->fallback = !s->cfg.no_mptcp;
	c->fb_dsn0 = 1;
	c->fb_ssn0 = 1;
	return conn_init_rcv(c, 1);
}

void conn_established(mps_conn *c, uint64_t now)
{
	mps_sf *init = conn_initial_sf(c);

	c->state = CONN_ESTABLISHED;
	/* Until the first DATA_ACK, the subflow's window is the data-level
	 * window (both are relative to the same first byte here). */
	if (init != NULL && c->snd_wnd_end < c->snd_una + init->snd_wnd)
		c->snd_wnd_end = c->snd_una + init->snd_wnd;
	if (c->is_server) {
		c->stack->st.conns_accepted++;
		stack_event(c->stack, c, MPS_EV_ACCEPT, 0);
	} else {
		stack_event(c->stack, c, MPS_EV_CONNECTED, 0);
	}
	if (c->mptcp && !c->fallback)
		pm_conn_established(c, now);
	if (c->group && !c->is_server)
		gc_established(c, now);
	if (c->group && c->is_server && !c->group_member) {
		conn_ack_soon(c); /* the TICKET rides on ACKs until confirmed */
		c->timers[CONN_TIMER_GROUP] = now;
	}
	conn_push(c, now); /* data queued before the handshake completed */
}

int conn_sf_established(mps_conn *c, mps_sf *sf, const mps_opts *o, uint64_t now)
{
	mps_stack *s = c->stack;

	if (sf->is_join) {
		if (!c->is_server) {
			/* Third ACK (with our HMAC) was just sent. */
			sf_join_ack_sent(sf, now);
			stack_event(s, c, MPS_EV_SUBFLOW, 0);
			return 0;
		}
		if (!(o->present & MPS_OPT_JOIN) || o->join.form != MPS_JOIN_ACK) {
			s->st.joins_refused++;
			return MPS_ERR_AUTH;
		} else {
			uint8_t expect[20];
			bool ok;
			mps_join_hmac160(expect, c->remote_key, c->local_key, sf->remote_nonce, sf->local_nonce);
			ok = mps_ct_equal(expect, o->join.hmac160, sizeof(expect));
			mps_memzero(expect, sizeof(expect));
			if (!ok) {
				s->st.joins_refused++;
				return MPS_ERR_AUTH;
			}
		}
		s->st.joins_accepted++;
		sf->join_confirmed = true;
		sf->ack_now = true; /* the fourth ACK */
		if (c->group_member && c->state == CONN_SYN) {
			/* The first subflow of a connection another member
			 * accepted: now it is ours too. */
			s->st.group_joins_accepted++;
			conn_established(c, now);
			return 0;
		}
		stack_event(s, c, MPS_EV_SUBFLOW, 0);
		conn_push(c, now);
		return 0;
	}
	if (!c->is_server) {
		conn_established(c, now);
		return 0;
	}
	/* Server, initial subflow: the third ACK (or the first data). */
	if (c->mptcp) {
		if ((o->present & MPS_OPT_MPC) && o->mpc.nkeys == 2) {
			if (o->mpc.key_receiver != c->local_key)
				return MPS_ERR_AUTH;
			conn_keys_learned(c, o->mpc.key_sender);
			if (conn_init_rcv(c, c->remote_idsn + 1) != 0)
				return MPS_ERR_NOMEM;
		} else {
			/* Options stripped on the way: plain TCP (RFC 8684 §3.7). */
			stack_token_del(s, c);
			c->mptcp = false;
			c->fallback = true;
			s->st.fallbacks++;
		}
	}
	if (!c->mptcp) {
		c->fb_dsn0 = 1;
		c->fb_ssn0 = 1;
		if (conn_init_rcv(c, 1) != 0)
			return MPS_ERR_NOMEM;
		/* Our DSN space continues from relative seq 1 too. */
		c->snd.base = c->snd.end = c->snd_una = c->snd_nxt = c->local_idsn + 1;
	}
	conn_established(c, now);
	return 0;
}

/* --- receiving ------------------------------------------------------------ */

static bool conn_sf_can_ack(const mps_sf *sf)
{
	return sf->state == SF_ESTABLISHED || sf->state == SF_CLOSE_WAIT || sf->state == SF_FIN_WAIT_1 ||
	       sf->state == SF_FIN_WAIT_2;
}

/* Have one subflow send an ACK (with DATA_ACK, DATA_FIN, signals) soon:
 * the live one with the lowest RTT, a backed-off one only if none else. */
static void conn_ack_best(mps_conn *c, int peer)
{
	mps_sf *sf, *best = NULL;

	for (sf = c->sfs; sf != NULL; sf = sf->next) {
		if (!conn_sf_can_ack(sf) || (peer >= 0 && sf->peer != peer))
			continue;
		if (best == NULL || (best->dead || best->backoff > 0) > (sf->dead || sf->backoff > 0) ||
		    ((best->dead || best->backoff > 0) == (sf->dead || sf->backoff > 0) && sf->srtt < best->srtt))
			best = sf;
	}
	if (best != NULL)
		best->ack_now = true;
}

void conn_ack_soon(mps_conn *c)
{
	conn_ack_best(c, -1);
}

/* An ACK soon on a subflow to one server of a group connection. */
void conn_ack_peer(mps_conn *c, uint8_t peer)
{
	conn_ack_best(c, peer);
}

/* Every subflow that can still talk sends an ACK now (repeats). */
static void conn_ack_all(mps_conn *c, uint64_t now)
{
	mps_sf *sf;

	for (sf = c->sfs; sf != NULL; sf = sf->next)
		if (conn_sf_can_ack(sf))
			sf_send_ack(sf, now);
}

static void conn_check_done(mps_conn *c, uint64_t now)
{
	mps_sf *sf;
	bool rx_done = c->rcv_fin && mps_rob_next(&c->rcv) == c->rcv_fin_dsn;
	bool tx_done = c->fin_acked;

	if (c->fallback || !c->mptcp)
		return;
	if (!(rx_done && tx_done) || c->state == CONN_CLOSED)
		return;
	/* RFC 8684 §3.3.3: both DATA_FINs acknowledged: close the subflows. */
	c->state = CONN_CLOSING;
	for (sf = c->sfs; sf != NULL; sf = sf->next)
		sf_close(sf, now);
	if (conn_live_subflows(c, NULL) == 0 || c->nsf == 0)
		conn_set_closed(c, 0, now);
}

static bool conn_window_bound(const mps_conn *c);
static void conn_persist_update(mps_conn *c, uint64_t now);
static void conn_send_timer_update(mps_conn *c, uint64_t now);
static bool conn_send_pending(const mps_conn *c);
static void conn_abort(mps_conn *c, int err, uint64_t now);

static void conn_data_ack_in(mps_conn *c, mps_sf *sf, const mps_pkt *p, const mps_opts *o, uint64_t now)
{
	uint64_t ack, top, edge;

	ack = o->dss.ack64 ? o->dss.data_ack : mps_seq_expand32(c->snd_una, (uint32_t)o->dss.data_ack);
	if (c->group && !c->is_server) {
		/* Each server acknowledges the upstream on its own. */
		if (gc_data_ack_in(c, sf, ack, now)) {
			c->fully_established = true;
			sf->mpc_ack_pending = false;
			conn_release_sndbuf(c);
			edge = ack + ((uint64_t)p->window << sf->snd_wscale);
			if (edge > c->snd_wnd_end)
				c->snd_wnd_end = edge;
			conn_check_done(c, now);
		}
		return;
	}
	/* A group member is acknowledged for bytes the other members sent,
	 * even before its own application has produced them. */
	top = c->group ? c->snd.end + (64u << 20) : c->snd_nxt + (c->fin_sent_dsn ? 1 : 0);
	if (ack > top || ack < c->snd_una) {
		/* Old (reordered) or bogus DATA_ACK. */
		if (ack < c->snd_una)
			return;
		return;
	}
	c->fully_established = true;
	sf->mpc_ack_pending = false;
	if (ack > c->snd_una) {
		c->snd_una = ack;
		if (c->fin_sent_dsn && ack > c->fin_dsn)
			c->fin_acked = true;
		conn_release_sndbuf(c);
		/* Progress at the data level: restart the data-level
		 * retransmission timer, or stop it when nothing (no data,
		 * no DATA_FIN) is outstanding. */
		c->retrans_una = c->snd_una;
		c->retrans_backoff = 0;
		conn_timer_set(c, CONN_TIMER_RETRANS,
			       c->snd_una < c->snd_nxt || (c->fin_sent_dsn && !c->fin_acked)
				       ? now + conn_retrans_timeout(c)
				       : MPS_TIME_NONE);
	}
	/* RFC 8684 §3.3.4: the window is relative to the DATA_ACK. */
	edge = ack + ((uint64_t)p->window << sf->snd_wscale);
	if (edge > c->snd_wnd_end) {
		bool was_shut = c->snd_nxt >= c->snd_wnd_end;

		c->snd_wnd_end = edge;
		/* The subflow pushed when its ACK arrived, before this
		 * window was known: data held back by the old one goes now
		 * (a pure window update moves nothing else). */
		if (was_shut && c->snd_nxt < c->snd.end)
			conn_push(c, now);
	}
	conn_persist_update(c, now); /* the subflow's push came before this DATA_ACK */
	conn_send_timer_update(c, now);
	conn_check_done(c, now);
}

static void conn_rx_add_addr(mps_conn *c, const mps_opts *o, uint64_t now)
{
	mps_stack *s = c->stack;
	size_t i;

	if (o->add_addr.echo) {
		for (i = 0; i < c->nann; i++)
			if (c->ann[i].id == o->add_addr.id)
				c->ann[i].echoed = true;
		return;
	}
	if (o->add_addr.has_hmac) {
		uint64_t expect = mps_addaddr_hmac(c->remote_key, c->local_key, o->add_addr.id,
						   &o->add_addr.addr);
		if (!mps_ct_equal(&expect, &o->add_addr.hmac, sizeof(expect))) {
			s->st.opt_malformed++;
			return;
		}
	} else {
		s->st.opt_malformed++;
		return; /* v1 requires the HMAC */
	}
	if (c->necho < CONN_MAX_ECHO) {
		c->echo[c->necho].id = o->add_addr.id;
		c->echo[c->necho].addr = o->add_addr.addr;
		c->necho++;
	}
	conn_ack_soon(c);
	pm_add_remote(c, &o->add_addr.addr, o->add_addr.id, true, now);
}

void conn_sf_rx_options(mps_conn *c, mps_sf *sf, const mps_pkt *p, const mps_opts *o, uint64_t now)
{
	mps_stack *s = c->stack;
	size_t i;

	if (o->malformed)
		s->st.opt_malformed++;
	if (!c->mptcp || c->fallback)
		return;
	if ((o->present & MPS_OPT_FASTCLOSE) && o->fastclose.key == c->local_key) {
		/* RFC 8684 §3.5: the peer tears the connection down; answer
		 * with RST on every subflow. */
		for (sf = c->sfs; sf != NULL; sf = sf->next)
			if (sf->state != SF_CLOSED)
				sf_send_rst(sf, now, 0);
		conn_set_closed(c, MPS_ERR_FASTCLOSE, now);
		return;
	}
	/* A repeated MP_JOIN third ACK: our fourth ACK was lost (§3.2). */
	if ((o->present & MPS_OPT_JOIN) && o->join.form == MPS_JOIN_ACK && sf->is_join && c->is_server)
		sf->ack_now = true;
	if (o->present & MPS_OPT_DSS) {
		sf->rx_seen_dss = true;
		if (o->dss.has_ack && c->rcv.cap != 0)
			conn_data_ack_in(c, sf, p, o, now);
		if (o->dss.fin && o->dss.has_map) {
			uint64_t fin;
			uint64_t dsn = o->dss.map64 ? o->dss.dsn
						    : mps_seq_expand32(mps_rob_next(&c->rcv), (uint32_t)o->dss.dsn);
			fin = dsn + (o->dss.dll ? o->dss.dll - 1 : 0);
			if (!c->rcv_fin) {
				c->rcv_fin = true;
				c->rcv_fin_dsn = fin;
			}
			if (c->group && !c->is_server)
				gc_rx_data_fin(c, fin, now); /* the stream exists up to there */
			if (mps_rob_next(&c->rcv) == c->rcv_fin_dsn) {
				stack_event(s, c, MPS_EV_READABLE, 0);
				conn_ack_soon(c);
			}
			conn_check_done(c, now);
		}
	}
	if (c->group && (o->present & MPS_OPT_EXP))
		gc_rx_options(c, sf, o, now);
	if (o->present & MPS_OPT_ADD_ADDR)
		conn_rx_add_addr(c, o, now);
	if (o->present & MPS_OPT_RM_ADDR)
		for (i = 0; i < o->rm_addr.n; i++)
			pm_remove_remote(c, o->rm_addr.ids[i], now);
	if (o->present & MPS_OPT_PRIO)
		sf->peer_backup = o->prio.backup;
	if (o->present & MPS_OPT_FAIL) {
		/* RFC 8684 §3.7: on a single subflow, fall back to TCP. */
		if (conn_live_subflows(c, NULL) <= 1) {
			c->fallback = true;
			c->fb_dsn0 = mps_rob_next(&c->rcv);
			c->fb_ssn0 = sf->rcv_nxt;
			s->st.fallbacks++;
		} else {
			sf_send_rst(sf, now, 0);
			sf_kill(sf, MPS_ERR_CHECKSUM, now);
		}
	}
}

static void conn_rx_map_add(mps_sf *sf, uint64_t ssn, uint64_t dsn, uint32_t len, uint16_t dll,
			    bool has_csum, uint16_t csum)
{
	sf_map *m;
	size_t i;

	for (i = 0; i < SF_RX_MAPS; i++)
		if (sf->rx_maps[i].len && sf->rx_maps[i].ssn == ssn && sf->rx_maps[i].dsn == dsn) {
			if (len > sf->rx_maps[i].len)
				sf->rx_maps[i].len = len;
			return;
		}
	m = &sf->rx_maps[sf->rx_maps_next];
	m->ssn = ssn;
	m->dsn = dsn;
	m->len = len;
	m->dll = dll;
	m->has_csum = has_csum;
	m->csum = csum;
	sf->rx_maps_next = (sf->rx_maps_next + 1) % SF_RX_MAPS;
}

static const sf_map *conn_rx_map_find(const mps_sf *sf, uint64_t ssn)
{
	size_t i;

	for (i = 0; i < SF_RX_MAPS; i++) {
		const sf_map *m = &sf->rx_maps[i];
		if (m->len && ssn >= m->ssn && ssn < m->ssn + m->len)
			return m;
	}
	return NULL;
}

/* DSS checksums (RFC 8684 §3.3.1): a mapping's bytes are collected in order
 * on the subflow and handed to the connection only when the whole mapping
 * is there and its checksum verifies.  Returns the bytes taken. */
static size_t conn_rx_csum(mps_conn *c, mps_sf *sf, const sf_map *m, uint64_t pos, const uint8_t *data,
			   size_t n, bool *failed)
{
	mps_iov iov;
	size_t acc;

	if (sf->stage == NULL) {
		sf->stage = malloc(65536);
		if (sf->stage == NULL)
			return 0;
	}
	if (sf->stage_ssn != m->ssn || pos == m->ssn) {
		sf->stage_ssn = m->ssn;
		sf->stage_len = 0;
	}
	if (pos != m->ssn + sf->stage_len)
		return 0;
	memcpy(sf->stage + sf->stage_len, data, n);
	sf->stage_len += (uint32_t)n;
	if (sf->stage_len < m->len)
		return n;
	iov.base = sf->stage;
	iov.len = m->len;
	if (mps_dss_csum(m->dsn, (uint32_t)m->ssn, m->dll, &iov, 1) != m->csum) {
		c->stack->st.drop_checksum++;
		*failed = true;
		return 0;
	}
	sf->stage_len = 0;
	sf->stage_ssn = UINT64_MAX;
	if (mps_rob_write(&c->rcv, m->dsn, iov.base, m->len, &acc) > 0)
		c->bytes_received += m->len;
	return n;
}

/* A mapping failed its checksum: its bytes cannot be trusted and were
 * acknowledged at the subflow level in part, so they cannot come again on
 * this subflow.  With other subflows, reset this one (the sender reinjects
 * the data); on the only subflow, end the connection with an explicit
 * error rather than deliver anything doubtful (RFC 8684 §3.7). */
static void conn_csum_failed(mps_conn *c, mps_sf *sf, uint64_t now)
{
	sf_send_rst(sf, now, 0);
	sf_kill(sf, MPS_ERR_CHECKSUM, now);
	if (conn_live_subflows(c, NULL) == 0)
		conn_set_closed(c, MPS_ERR_CHECKSUM, now);
}

static void conn_deliverable(mps_conn *c, uint64_t before)
{
	if (mps_rob_next(&c->rcv) > before || (c->rcv_fin && mps_rob_next(&c->rcv) == c->rcv_fin_dsn))
		stack_event(c->stack, c, MPS_EV_READABLE, 0);
}

size_t conn_sf_rx_data(mps_conn *c, mps_sf *sf, uint64_t seq, const uint8_t *data, size_t len,
		       const mps_opts *o, uint64_t now)
{
	mps_stack *s = c->stack;
	uint64_t before, pos, end;
	size_t accepted = 0, acc;
	int rc;

	if (c->rcv.cap == 0 || c->state == CONN_CLOSED)
		return 0;
	before = mps_rob_next(&c->rcv);
	if (c->mptcp && !c->fallback) {
		if ((o->present & MPS_OPT_DSS) && o->dss.has_map && !(o->dss.ssn == 0 && o->dss.fin)) {
			uint64_t ssn = mps_seq_expand32(sf->rcv_nxt, o->dss.ssn);
			uint64_t dsn = o->dss.map64 ? o->dss.dsn : mps_seq_expand32(before, (uint32_t)o->dss.dsn);
			uint32_t dl = o->dss.dll - (o->dss.fin ? 1 : 0);
			if (c->csum && !o->dss.has_csum) {
				/* RFC 8684 §3.3: checksums were negotiated; a
				 * mapping without one is a protocol error. */
				s->st.drop_checksum++;
				conn_csum_failed(c, sf, now);
				return 0;
			}
			if (o->dss.dll == 0) {
				/* An infinite mapping: the peer fell back to TCP
				 * (RFC 8684 §3.7); the DSN follows the subflow. */
				c->fallback = true;
				c->fb_dsn0 = dsn;
				c->fb_ssn0 = ssn;
				s->st.fallbacks++;
			} else {
				conn_rx_map_add(sf, ssn, dsn, dl, o->dss.dll, c->csum && o->dss.has_csum,
						o->dss.csum);
			}
		} else if ((o->present & MPS_OPT_MPC) && o->mpc.has_dll && sf->is_initial) {
			conn_rx_map_add(sf, 1, c->remote_idsn + 1, o->mpc.dll, o->mpc.dll,
					c->csum && o->mpc.has_csum, o->mpc.csum);
		} else if (!sf->rx_seen_dss && sf->is_initial && conn_live_subflows(c, NULL) == 1 &&
			   conn_rx_map_find(sf, seq) == NULL) {
			/* Data without any mapping on the only subflow: a
			 * middlebox strips the options.  Fall back to TCP with
			 * an infinite mapping (RFC 8684 §3.7). */
			c->fallback = true;
			c->fb_dsn0 = before;
			c->fb_ssn0 = sf->rcv_nxt;
			s->st.fallbacks++;
		}
	}
	if (!c->mptcp || c->fallback) {
		uint64_t dsn = c->fb_dsn0 + (seq - c->fb_ssn0);
		rc = mps_rob_write(&c->rcv, dsn, data, len, &accepted);
		if (rc == MPS_ERR_DIVERGE)
			return 0;
		c->bytes_received += (uint64_t)(rc > 0 ? rc : 0);
		conn_deliverable(c, before);
		return accepted;
	}
	if (c->csum && seq != sf->rcv_nxt)
		return 0; /* checksummed mappings are collected in order */
	pos = seq;
	end = seq + len;
	while (pos < end) {
		const sf_map *m = conn_rx_map_find(sf, pos);
		uint64_t mend, n;
		if (m == NULL)
			break; /* no mapping yet: not acknowledged, resent later */
		mend = m->ssn + m->len;
		n = (mend < end ? mend : end) - pos;
		if (m->has_csum) {
			bool failed = false;
			acc = conn_rx_csum(c, sf, m, pos, data + (pos - seq), (size_t)n, &failed);
			if (failed) {
				conn_csum_failed(c, sf, now);
				return 0;
			}
			accepted += acc;
			if (acc < n)
				break;
			pos += n;
			continue;
		}
		if (c->group && !c->is_server)
			rc = gc_rx_data(c, sf, m->dsn + (pos - m->ssn), data + (pos - seq), (size_t)n, &acc, now);
		else
			rc = mps_rob_write(&c->rcv, m->dsn + (pos - m->ssn), data + (pos - seq), (size_t)n,
					   &acc);
		if (rc == MPS_ERR_DIVERGE) {
			/* Bytes for the same DSN differ: never splice them. */
			s->st.drop_other++;
			break;
		}
		if (rc > 0)
			c->bytes_received += (uint64_t)rc;
		accepted += acc;
		if (acc < n)
			break;
		pos += n;
	}
	(void)now;
	conn_deliverable(c, before);
	return accepted;
}

void conn_sf_fin(mps_conn *c, mps_sf *sf, uint64_t now)
{
	if (c->mptcp && !c->fallback) {
		/* A subflow FIN does not end the data stream (RFC 8684 §3.3.3);
		 * close our side of that subflow too. */
		if (sf->state == SF_CLOSE_WAIT && (c->state == CONN_CLOSING || c->state == CONN_CLOSED))
			sf_close(sf, now);
		return;
	}
	/* Plain TCP: the FIN is the end of the stream. */
	c->rcv_fin = true;
	c->rcv_fin_dsn = mps_rob_next(&c->rcv);
	stack_event(c->stack, c, MPS_EV_READABLE, 0);
}

/* Move the data a subflow still holds un-acknowledged (at the data level)
 * to the other subflows (RFC 8684 §3.3.6). */
static void conn_reinject_from(mps_conn *c, mps_sf *from, bool allow_backup, uint64_t now)
{
	size_t i;

	for (i = 0; i < from->maps_n; i++) {
		const sf_map *m = &from->maps[(from->maps_head + i) % from->maps_cap];
		uint64_t start = m->dsn, end = m->dsn + m->len;
		if (end <= c->snd_una)
			continue;
		if (start < c->snd_una)
			start = c->snd_una;
		while (start < end) {
			mps_sf *to = mps_sched_default.pick_any(c, from);
			uint64_t n = end - start;
			/* RFC 8684 §3.3.8: a backup subflow takes data only when
			 * no regular one can (here: when from is dead). */
			if (to == NULL || ((to->backup || to->peer_backup) && !allow_backup))
				return;
			if (n > 65535)
				n = 65535;
			sf_queue_map(to, start, (uint32_t)n);
			c->stack->st.reinjected_bytes += n;
			start += n;
			sf_output(to, now);
		}
	}
}

void conn_sf_closed(mps_conn *c, mps_sf *sf, int err, uint64_t now)
{
	if (c->state == CONN_CLOSED)
		return;
	stack_event(c->stack, c, MPS_EV_SUBFLOW, err);
	if (c->group && !c->is_server)
		gc_sf_gone(c, sf, err, now);
	if (c->mptcp && !c->fallback && conn_live_subflows(c, sf) > 0) {
		if (err != 0)
			conn_reinject_from(c, sf, true, now);
		sf->maps_n = 0;
		conn_release_sndbuf(c);
		if (c->state == CONN_CLOSING && conn_live_subflows(c, sf) == 0)
			conn_set_closed(c, 0, now);
		return;
	}
	if (conn_live_subflows(c, sf) > 0)
		return;
	/* The last subflow is gone. */
	if (err == 0 && ((c->rcv_fin && (c->fin_acked || !c->mptcp || c->fallback)) || c->state == CONN_CLOSING))
		conn_set_closed(c, 0, now);
	else
		conn_set_closed(c, err != 0 ? err : MPS_ERR_RESET, now);
}

void conn_sf_rto(mps_conn *c, mps_sf *sf, uint64_t now)
{
	/* A subflow that times out may be dead (server or path gone):
	 * reinject its outstanding data on the others at once rather than
	 * wait out the backoff (RFC 8684 §3.3.6). */
	if (!c->mptcp || c->fallback || conn_live_subflows(c, sf) == 0)
		return;
	if (sf->backoff >= 1 && !sf->dead) {
		sf->dead = sf->backoff >= 3;
		conn_reinject_from(c, sf, sf->dead, now);
		if (sf->dead)
			conn_release_sndbuf(c);
	}
}

void conn_sf_pto(mps_conn *c, mps_sf *sf, uint64_t now)
{
	/* Nothing came back on sf for two RTTs: its path or server may be
	 * gone.  Its outstanding data goes on the other subflows as well
	 * (RFC 8684 §3.3.6 allows reinjection at any time; the receiver
	 * keeps one copy), so a dead path costs about two RTTs, not the
	 * 200 ms minimum RTO.  A group client has its own stall detection. */
	if (!c->mptcp || c->fallback || sf->dead || (c->group && !c->is_server))
		return;
	if (conn_live_subflows(c, sf) == 0)
		return;
	conn_reinject_from(c, sf, false, now);
}

void conn_sf_acked(mps_conn *c, mps_sf *sf, uint64_t now)
{
	if (sf->dead && sf->backoff == 0)
		sf->dead = false; /* it came back */
	if (!c->mptcp || c->fallback) {
		/* Plain TCP: subflow ACK is the data ACK. */
		uint64_t ack = c->local_idsn + sf->snd_una - (sf->fin_sent && sf->snd_una > sf->snd_end ? 1 : 0);
		if (ack > c->snd_una) {
			size_t before = mps_sbuf_space(&c->snd);
			c->snd_una = ack;
			mps_sbuf_release(&c->snd, ack);
			if (c->snd.base == c->snd.end)
				conn_trim_later(c, now);
			if (mps_sbuf_space(&c->snd) > before && !c->shut_wr)
				stack_event(c->stack, c, MPS_EV_WRITABLE, 0);
		}
		c->snd_wnd_end = UINT64_MAX;
	} else {
		conn_release_sndbuf(c);
	}
	conn_push(c, now);
}

/* --- sending --------------------------------------------------------------- */

void conn_push(mps_conn *c, uint64_t now)
{
	mps_sf *sf;

	if (c->state == CONN_CLOSED || c->state == CONN_SYN)
		return;
	if (!c->mptcp || c->fallback) {
		sf = conn_initial_sf(c);
		if (sf == NULL)
			return;
		if (c->snd_nxt < c->snd.end && sf_can_send_data(sf)) {
			uint64_t n = c->snd.end - c->snd_nxt;
			while (n > 0) {
				uint32_t k = n > 65535 ? 65535 : (uint32_t)n;
				sf_queue_map(sf, c->snd_nxt, k);
				c->snd_nxt += k;
				n -= k;
			}
		}
		if (c->shut_wr && c->snd_nxt == c->snd.end && !sf->fin_queued)
			sf_close(sf, now);
		sf_output(sf, now);
		return;
	}
	if (c->group && !c->is_server) {
		gc_schedule(c, now);      /* every server is asked for its share of the downstream */
		gc_push_upstream(c, now); /* and gets all the upstream */
	} else if (c->group) {
		gs_push(c, now);          /* a member sends only what it is asked for */
	}
	while (!c->group && c->snd_nxt < c->snd.end && c->snd_nxt < c->snd_wnd_end) {
		uint64_t n = c->snd.end - c->snd_nxt;
		uint32_t room;
		sf = mps_sched_default.pick(c);
		if (sf == NULL)
			break;
		room = sf_cwnd_room(sf);
		if (c->snd_wnd_end - c->snd_nxt < n)
			n = c->snd_wnd_end - c->snd_nxt;
		if (n > room)
			n = room;
		if (n > 65535)
			n = 65535;
		if (c->csum && n > sf_seg_payload(sf))
			n = sf_seg_payload(sf);
		if (n == 0)
			break;
		sf_queue_map(sf, c->snd_nxt, (uint32_t)n);
		c->snd_nxt += n;
		c->bytes_sent += n;
		sf_output(sf, now);
	}
	if (c->shut_wr && !c->fin_sent_dsn && (c->snd_nxt == c->snd.end || (c->group && c->is_server))) {
		c->fin_sent_dsn = true;
		c->fin_dsn = c->snd.end;
		if (c->group && !c->is_server)
			conn_ack_all(c, now); /* every server needs it */
		else
			conn_ack_soon(c);
	}
	if ((c->snd_una < c->snd_nxt || (c->fin_sent_dsn && !c->fin_acked)) &&
	    c->timers[CONN_TIMER_RETRANS] == MPS_TIME_NONE) {
		c->retrans_una = c->snd_una;
		conn_timer_set(c, CONN_TIMER_RETRANS, now + conn_retrans_timeout(c));
	}
	conn_persist_update(c, now);
	conn_send_timer_update(c, now);
	for (sf = c->sfs; sf != NULL; sf = sf->next)
		if (sf->state != SF_CLOSED)
			sf_output(sf, now);
}

/* mps_config.send_timeout: runs while bytes or our DATA_FIN wait for the
 * peer's acknowledgment, from the last data-level progress. */
static bool conn_send_pending(const mps_conn *c)
{
	return c->snd_una < c->snd.end || (c->mptcp && !c->fallback && c->fin_sent_dsn && !c->fin_acked);
}

static void conn_send_timer_update(mps_conn *c, uint64_t now)
{
	uint64_t t = c->stack->cfg.send_timeout;

	if (t == 0 || (c->group && !c->is_server))
		return;
	if (!conn_send_pending(c)) {
		c->timers[CONN_TIMER_SEND] = MPS_TIME_NONE;
		return;
	}
	if (c->snd_una != c->send_mark || c->timers[CONN_TIMER_SEND] == MPS_TIME_NONE) {
		c->send_mark = c->snd_una;
		c->timers[CONN_TIMER_SEND] = now + t;
	}
}

/* Data-level persist (RFC 9293 §3.8.6.1, one level up): bytes wait, none
 * is outstanding at the data level, so only the windows hold them back
 * (the connection's, or every subflow's).  Were the window update that
 * reopens them lost, nothing would ever move again.  After a while one
 * byte goes to a subflow beyond the windows; that subflow's own persist
 * timer probes with it until the peer's answer tells the windows again. */
static bool conn_window_bound(const mps_conn *c)
{
	return c->mptcp && !c->fallback && !c->group && c->snd_nxt < c->snd.end &&
	       c->snd_una == c->snd_nxt && !c->shut_wr;
}

static void conn_persist_update(mps_conn *c, uint64_t now)
{
	if (!conn_window_bound(c))
		c->timers[CONN_TIMER_PERSIST] = MPS_TIME_NONE;
	else if (c->timers[CONN_TIMER_PERSIST] == MPS_TIME_NONE)
		conn_timer_set(c, CONN_TIMER_PERSIST, now + conn_retrans_timeout(c));
}

static void conn_persist_probe(mps_conn *c, uint64_t now)
{
	mps_sf *sf;

	if (!conn_window_bound(c))
		return;
	sf = mps_sched_default.pick_any(c, NULL);
	if (sf == NULL)
		return;
	sf_queue_map(sf, c->snd_nxt, 1);
	c->snd_nxt += 1;
	c->bytes_sent += 1;
	c->retrans_una = c->snd_una;
	conn_timer_set(c, CONN_TIMER_RETRANS, now + conn_retrans_timeout(c));
	sf_output(sf, now);
}

/* --- timers ------------------------------------------------------------------ */

uint64_t conn_next_expiry(const mps_conn *c)
{
	uint64_t t = MPS_TIME_NONE, x;
	const mps_sf *sf;
	size_t i;

	for (i = 0; i < CONN_TIMER_COUNT; i++)
		if (c->timers[i] < t)
			t = c->timers[i];
	for (sf = c->sfs; sf != NULL; sf = sf->next) {
		x = sf_next_expiry(sf);
		if (x < t)
			t = x;
	}
	return t;
}

static uint64_t conn_best_rto(const mps_conn *c);

/* The data-level retransmission timeout: twice the best subflow RTO,
 * doubled per retransmission without progress. */
static uint64_t conn_retrans_timeout(const mps_conn *c)
{
	uint64_t t = 2 * conn_best_rto(c);
	uint32_t i;

	for (i = 0; i < c->retrans_backoff && t < 60000 * MPS_NS_PER_MS; i++)
		t *= 2;
	return t;
}

/* No DATA_ACK progress for a whole timeout (RFC 8684 §3.3.6): the bytes at
 * the head may have been acknowledged by a subflow and then lost by the
 * receiver, or be stuck on a subflow that died silently.  Send the head
 * again on the best subflow, and the DATA_FIN on every subflow. */
static void conn_on_retrans_timeout(mps_conn *c, uint64_t now)
{
	if (c->state == CONN_CLOSED || !c->mptcp || c->fallback)
		return;
	if (!c->group && c->snd_una < c->snd_nxt && c->snd_una == c->retrans_una) {
		uint64_t n = c->snd_nxt - c->snd_una;
		mps_sf *to = mps_sched_default.pick_any(c, NULL);
		if (to != NULL) {
			if (n > 65535)
				n = 65535;
			if (c->csum && n > sf_seg_payload(to))
				n = sf_seg_payload(to);
			sf_queue_map(to, c->snd_una, (uint32_t)n);
			c->stack->st.reinjected_bytes += n;
			sf_output(to, now);
		}
	}
	if (c->fin_sent_dsn && !c->fin_acked)
		conn_ack_all(c, now);
	if (c->snd_una < c->snd_nxt || (c->fin_sent_dsn && !c->fin_acked)) {
		c->retrans_una = c->snd_una;
		c->retrans_backoff++;
		conn_timer_set(c, CONN_TIMER_RETRANS, now + conn_retrans_timeout(c));
	}
}

static uint64_t conn_best_rto(const mps_conn *c)
{
	const mps_sf *sf;
	uint64_t best = UINT64_MAX;

	for (sf = c->sfs; sf != NULL; sf = sf->next)
		if (sf->state == SF_ESTABLISHED && !sf->dead && sf->rtt_valid && sf->rto < best)
			best = sf->rto;
	return best == UINT64_MAX ? CONN_RETRANS_MIN : best;
}

void conn_handle_timers(mps_conn *c, uint64_t now)
{
	mps_sf *sf, *next;

	for (sf = c->sfs; sf != NULL; sf = next) {
		next = sf->next;
		if (sf->state != SF_CLOSED && sf_next_expiry(sf) <= now)
			sf_handle_timers(sf, now);
	}
	if (c->timers[CONN_TIMER_SEND] <= now) {
		/* Nothing acknowledged for send_timeout: the peer is gone or
		 * stopped reading for good. */
		c->timers[CONN_TIMER_SEND] = MPS_TIME_NONE;
		if (conn_send_pending(c) && c->snd_una == c->send_mark) {
			c->stack->st.send_timeouts++;
			conn_abort(c, MPS_ERR_TIMEOUT, now);
			return;
		}
		conn_send_timer_update(c, now); /* progress the update missed */
	}
	if (c->timers[CONN_TIMER_RETRANS] <= now) {
		c->timers[CONN_TIMER_RETRANS] = MPS_TIME_NONE;
		conn_on_retrans_timeout(c, now);
	}
	if (c->timers[CONN_TIMER_ANNOUNCE] <= now) {
		c->timers[CONN_TIMER_ANNOUNCE] = MPS_TIME_NONE;
		conn_ack_soon(c);
		for (sf = c->sfs; sf != NULL; sf = sf->next)
			if (sf->ack_now)
				sf_send_ack(sf, now);
	}
	if (c->timers[CONN_TIMER_PERSIST] <= now) {
		c->timers[CONN_TIMER_PERSIST] = MPS_TIME_NONE;
		conn_persist_probe(c, now);
	}
	if (c->timers[CONN_TIMER_TRIM] <= now) {
		c->timers[CONN_TIMER_TRIM] = MPS_TIME_NONE;
		mps_rob_trim(&c->rcv);
		mps_sbuf_trim(&c->snd);
	}
	if (c->timers[CONN_TIMER_GROUP] <= now) {
		c->timers[CONN_TIMER_GROUP] = MPS_TIME_NONE;
		if (c->state != CONN_CLOSED)
			gc_timer(c, now);
	}
	if (c->timers[CONN_TIMER_LINGER] <= now) {
		c->timers[CONN_TIMER_LINGER] = MPS_TIME_NONE;
		for (sf = c->sfs; sf != NULL; sf = sf->next)
			if (sf->state != SF_CLOSED) {
				sf_send_rst(sf, now, 0);
				sf_kill(sf, MPS_ERR_TIMEOUT, now);
			}
		conn_set_closed(c, MPS_ERR_TIMEOUT, now);
	}
}

/* --- public API -------------------------------------------------------------- */

int mps_connect(mps_stack *s, const mps_connect_params *p, uint64_t now, mps_conn **out)
{
	mps_conn *c;
	mps_sf *sf;
	mps_addr local;
	size_t i;

	s->now = now;
	if (p->remote.family == 0 || p->remote.port == 0)
		return MPS_ERR_INVAL;
	if (p->local.family != 0) {
		local = p->local;
		if (!stack_owns_ip(s, &local))
			return MPS_ERR_INVAL;
	} else {
		for (i = 0; i < s->naddrs; i++)
			if (s->addrs[i].family == p->remote.family)
				break;
		if (i == s->naddrs)
			return MPS_ERR_INVAL;
		local = s->addrs[i];
	}
	local.port = stack_pick_port(s, &local, &p->remote);
	if (local.port == 0)
		return MPS_ERR_NOMEM;
	c = conn_new(s, false);
	if (c == NULL)
		return MPS_ERR_NOMEM;
	c->remote0 = p->remote;
	c->group_asked = p->group && !s->cfg.no_mptcp;
	c->mode = p->mode;
	for (i = 0; i < p->njoin && c->nraddr < CONN_MAX_RADDR; i++) {
		c->raddr[c->nraddr].addr = p->join[i];
		c->raddr[c->nraddr].id = 0;
		c->raddr[c->nraddr].from_peer = false;
		c->nraddr++;
	}
	sf = sf_new(c, &local, &p->remote);
	if (sf == NULL) {
		conn_free(c);
		return MPS_ERR_NOMEM;
	}
	sf->is_initial = true;
	s->st.conns_opened++;
	sf_connect(sf, now);
	*out = c;
	stack_reap(s);
	return 0;
}

ssize_t mps_conn_send(mps_conn *c, const uint8_t *data, size_t len, uint64_t now)
{
	size_t n;

	c->stack->now = now;
	if (c->state == CONN_CLOSED)
		return c->err ? c->err : MPS_ERR_CLOSED;
	if (c->shut_wr)
		return MPS_ERR_STATE;
	stack_touch(c->stack, c);
	if (c->group && c->is_server)
		gs_on_append(c, c->snd.end, data, len);
	n = mps_sbuf_append(&c->snd, data, len);
	if (c->group && c->is_server && c->snd_una > c->snd.base)
		conn_release_sndbuf(c); /* bytes the client already has from another member */
	if (n > 0)
		conn_push(c, now);
	stack_reap(c->stack);
	return (ssize_t)n;
}

ssize_t mps_conn_send_reserve(mps_conn *c, mps_wiov iov[2], int *niov)
{
	size_t n = 0;
	int i;

	*niov = 0;
	if (c->state == CONN_CLOSED)
		return c->err ? c->err : MPS_ERR_CLOSED;
	if (c->shut_wr)
		return MPS_ERR_STATE;
	*niov = mps_sbuf_reserve(&c->snd, iov);
	for (i = 0; i < *niov; i++)
		n += iov[i].len;
	return (ssize_t)n;
}

ssize_t mps_conn_send_commit(mps_conn *c, size_t n, uint64_t now)
{
	mps_wiov iov[2];
	uint64_t at = c->snd.end;
	size_t room = 0, left;
	int cnt, i;

	c->stack->now = now;
	if (c->state == CONN_CLOSED)
		return c->err ? c->err : MPS_ERR_CLOSED;
	if (c->shut_wr)
		return MPS_ERR_STATE;
	stack_touch(c->stack, c);
	cnt = mps_sbuf_reserve(&c->snd, iov);
	for (i = 0; i < cnt; i++)
		room += iov[i].len;
	if (n > room)
		n = room;
	if (n == 0) {
		stack_reap(c->stack);
		return 0;
	}
	if (c->group && c->is_server)
		for (i = 0, left = n; i < cnt && left > 0; i++) {
			size_t k = iov[i].len < left ? iov[i].len : left;
			gs_on_append(c, at, iov[i].base, k); /* the probe keeps its copy */
			at += k;
			left -= k;
		}
	mps_sbuf_commit(&c->snd, n);
	if (c->group && c->is_server && c->snd_una > c->snd.base)
		conn_release_sndbuf(c); /* bytes the client already has from another member */
	conn_push(c, now);
	stack_reap(c->stack);
	return (ssize_t)n;
}

size_t mps_conn_send_space(const mps_conn *c)
{
	if (c->state == CONN_CLOSED || c->shut_wr)
		return 0;
	return mps_sbuf_space(&c->snd);
}

/* What a read that found nothing returns. */
static ssize_t conn_recv_empty(mps_conn *c)
{
	if (c->rcv_fin && mps_rob_next(&c->rcv) == c->rcv_fin_dsn) {
		c->eof_delivered = true;
		return 0;
	}
	if (c->state == CONN_CLOSED)
		return c->err ? c->err : 0;
	return MPS_ERR_AGAIN;
}

/* After the application took n bytes: window updates. */
static void conn_after_read(mps_conn *c, size_t n, uint64_t now)
{
	mps_sf *sf;

	c->bytes_delivered += n;
	if (c->rcv.have.n == 0)
		conn_trim_later(c, now);
	if (c->group && !c->is_server)
		conn_push(c, now); /* the window moved: ask for more, and send the RANGEs */
	/* Window update when a subflow's window could open by a good amount
	 * (receiver-side silly window avoidance, RFC 9293 §3.8.6.2.2: by
	 * min(half the buffer, MSS) or more).  What counts is the window this
	 * subflow's latest ACK told, not the widest it ever told: an ACK on it
	 * may have closed the window since (the buffer filled through another
	 * subflow), and the peer holds that subflow shut until told again. */
	for (sf = c->sfs; sf != NULL; sf = sf->next) {
		uint64_t cur, can, step;
		if (!conn_sf_can_ack(sf))
			continue;
		cur = sf->rcv_wnd_edge > sf->rcv_nxt ? sf->rcv_wnd_edge - sf->rcv_nxt : 0;
		can = sf_rcv_window(sf);
		step = 2u * sf->mss < c->rcv.cap / 2 ? 2u * sf->mss : c->rcv.cap / 2;
		if (can >= cur + step && cur < c->rcv.cap / 2)
			sf_send_ack(sf, now);
	}
	/* The same at the data level: subflows that shared the data each
	 * think their window is wide while the connection's was closed.
	 * Every subflow hears it: the peer may hold a closed window on each
	 * (Linux does the same, mptcp_cleanup_rbuf). */
	if (c->mptcp && !c->fallback) {
		uint64_t next = mps_rob_next(&c->rcv), space = conn_rcv_space(c);
		uint64_t cur = c->rcv_edge_adv > next ? c->rcv_edge_adv - next : 0;
		uint64_t edge = c->rcv_edge_adv;

		if (cur < c->rcv.cap / 2 && next + space >= edge + 2u * 1460u)
			for (sf = c->sfs; sf != NULL; sf = sf->next)
				if (conn_sf_can_ack(sf))
					sf_send_ack(sf, now);
	}
	stack_reap(c->stack);
}

ssize_t mps_conn_recv(mps_conn *c, uint8_t *buf, size_t len, uint64_t now)
{
	uint64_t head;
	size_t n;

	c->stack->now = now;
	if (c->rcv.cap == 0)
		return c->state == CONN_CLOSED ? (c->err ? c->err : MPS_ERR_CLOSED) : MPS_ERR_AGAIN;
	head = c->rcv.head;
	n = mps_rob_read(&c->rcv, buf, len);
	if (n == 0)
		return conn_recv_empty(c);
	stack_touch(c->stack, c);
	if (c->group && !c->is_server)
		gc_on_read(c, head, buf, n);
	conn_after_read(c, n, now);
	return (ssize_t)n;
}

ssize_t mps_conn_recv_peek(mps_conn *c, mps_iov iov[2], int *niov)
{
	size_t n = 0;
	int i;

	*niov = 0;
	if (c->rcv.cap == 0)
		return c->state == CONN_CLOSED ? (c->err ? c->err : MPS_ERR_CLOSED) : MPS_ERR_AGAIN;
	*niov = mps_rob_peek(&c->rcv, iov);
	for (i = 0; i < *niov; i++)
		n += iov[i].len;
	if (n == 0) {
		*niov = 0;
		return conn_recv_empty(c);
	}
	return (ssize_t)n;
}

void mps_conn_recv_consume(mps_conn *c, size_t n, uint64_t now)
{
	size_t avail;

	c->stack->now = now;
	if (c->rcv.cap == 0)
		return;
	avail = mps_rob_readable(&c->rcv);
	if (n > avail)
		n = avail;
	if (n == 0)
		return;
	stack_touch(c->stack, c);
	if (c->group && !c->is_server) {
		/* the stream's first bytes are kept before they go */
		mps_iov iov[2];
		uint64_t at = c->rcv.head;
		int k, cnt = mps_rob_peek(&c->rcv, iov);
		size_t left = n;

		for (k = 0; k < cnt && left > 0; k++) {
			size_t take = iov[k].len < left ? iov[k].len : left;
			gc_on_read(c, at, iov[k].base, take);
			at += take;
			left -= take;
		}
	}
	mps_rob_consume(&c->rcv, n);
	conn_after_read(c, n, now);
}

int mps_conn_shutdown(mps_conn *c, uint64_t now)
{
	c->stack->now = now;
	if (c->state == CONN_CLOSED)
		return MPS_ERR_CLOSED;
	if (c->shut_wr)
		return 0;
	stack_touch(c->stack, c);
	c->shut_wr = true;
	conn_push(c, now);
	stack_reap(c->stack);
	return 0;
}

void mps_conn_close(mps_conn *c, uint64_t now)
{
	mps_stack *s = c->stack;

	s->now = now;
	stack_touch(s, c);
	c->released = true;
	s->reap_needed = true;
	if (c->state != CONN_CLOSED) {
		if (!c->shut_wr) {
			c->shut_wr = true;
			conn_push(c, now);
		}
		conn_timer_set(c, CONN_TIMER_LINGER, now + CONN_LINGER);
	}
	stack_reap(s);
}

/* Abort: RST on every subflow, with MP_FASTCLOSE on an MPTCP connection
 * (RFC 8684 §3.5), and the connection ends with err. */
static void conn_abort(mps_conn *c, int err, uint64_t now)
{
	mps_sf *sf;

	if (c->state == CONN_CLOSED)
		return;
	c->fastclose_pending = c->mptcp && !c->fallback && c->keys_known;
	for (sf = c->sfs; sf != NULL; sf = sf->next)
		if (sf->state != SF_CLOSED) {
			sf_send_rst(sf, now, 0);
			sf_kill(sf, err, now);
		}
	conn_set_closed(c, err, now);
}

void mps_conn_abort(mps_conn *c, uint64_t now)
{
	mps_stack *s = c->stack;

	s->now = now;
	stack_touch(s, c);
	c->released = true;
	conn_abort(c, MPS_ERR_RESET, now);
	stack_reap(s);
}

void mps_conn_set_user(mps_conn *c, void *user)
{
	c->user = user;
}

void *mps_conn_get_user(const mps_conn *c)
{
	return c->user;
}

static const char *conn_state_name(const mps_conn *c)
{
	switch (c->state) {
	case CONN_SYN: return "SYN";
	case CONN_ESTABLISHED: return "ESTABLISHED";
	case CONN_CLOSING: return "CLOSING";
	case CONN_CLOSED: return "CLOSED";
	}
	return "?";
}

size_t mps_conn_get_info(const mps_conn *c, mps_conn_info *ci, mps_subflow_info *sfs, size_t max)
{
	const mps_sf *sf, *init = conn_initial_sf(c);
	size_t n = 0;

	memset(ci, 0, sizeof(*ci));
	if (init != NULL) {
		ci->local = init->local;
		ci->remote = init->remote;
	} else {
		ci->remote = c->remote0;
	}
	ci->state = conn_state_name(c);
	ci->mptcp = c->mptcp;
	ci->fallback = c->fallback;
	ci->is_server = c->is_server;
	ci->group = c->group;
	ci->local_token = c->local_token;
	ci->remote_token = c->remote_token;
	ci->bytes_sent = c->bytes_sent;
	ci->bytes_acked = c->snd_una - (c->local_idsn + 1);
	ci->bytes_received = c->bytes_received;
	ci->bytes_delivered = c->bytes_delivered;
	ci->data_ack_received = c->snd_una;
	ci->data_ack_sent = c->rcv.cap != 0 ? conn_data_ack(c) : 0;
	ci->nsubflows = c->nsf;
	for (sf = c->sfs; sf != NULL && n < max; sf = sf->next, n++) {
		mps_subflow_info *si = &sfs[n];
		memset(si, 0, sizeof(*si));
		si->local = sf->local;
		si->remote = sf->remote;
		si->state = sf_state_name(sf->state);
		si->local_id = sf->local_id;
		si->remote_id = sf->remote_id;
		si->backup = sf->backup || sf->peer_backup;
		si->is_initial = sf->is_initial;
		si->srtt_us = (uint32_t)(sf->srtt / MPS_NS_PER_US);
		si->rttvar_us = (uint32_t)(sf->rttvar / MPS_NS_PER_US);
		si->cwnd = sf->cwnd;
		si->ssthresh = sf->ssthresh;
		si->mss = sf->mss;
		si->bytes_sent = sf->bytes_sent;
		si->bytes_retrans = sf->bytes_retrans;
		si->bytes_acked = sf->bytes_acked;
		si->bytes_received = sf->bytes_received;
		si->retrans_timeouts = sf->rto_count;
	}
	return n;
}
