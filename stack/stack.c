/*
 * stack.c - the stack object: owned addresses, listeners, demultiplexing of
 * incoming packets to subflows (4-tuple hash) and connections (token hash),
 * RSTs for segments that belong to nothing, timers, and deferred freeing.
 *
 * Input: mps_stack_input() -> mps_pkt_parse() -> mps_opt_parse()
 *        -> stack_lookup() -> sf_input()            (known 4-tuple)
 *                          -> conn_listen_syn()     (SYN to a listener)
 *                          -> stack_send_rst_for()  (anything else)
 *        -> stack_reap() (frees what closed, refiles touched timers)
 *
 * Timers: every connection with a pending expiry sits in a binary min-heap
 * keyed by that expiry.  Whatever may change a connection's timers (a timer
 * set, a packet for it, an application call on it, its expiry handling)
 * marks it touched; the end of the call (stack_reap) recomputes the key of
 * each touched connection and moves it in the heap: O(log n) per touched
 * connection, and mps_stack_next_expiry is the heap's top.
 */
#include "core.h"

#include <stdlib.h>
#include <string.h>

#define STACK_PORT_LO 32768
#define STACK_PORT_HI 60999

void stack_random(mps_stack *s, void *buf, size_t len)
{
	uint8_t *out = buf;

	if (s->cfg.cb.random != NULL) {
		s->cfg.cb.random(s->cfg.user, buf, len);
		return;
	}
	/* A handshake asks for a few bytes several times (key, ISS, nonce):
	 * one getrandom() per 256 bytes instead of one per call.
	 * Bytes handed out are wiped from the pool. */
	while (len > 0) {
		size_t n;

		if (s->rnd_left == 0) {
			mps_random_bytes(s->rnd_pool, sizeof(s->rnd_pool));
			s->rnd_left = sizeof(s->rnd_pool);
		}
		n = len < s->rnd_left ? len : s->rnd_left;
		memcpy(out, s->rnd_pool + sizeof(s->rnd_pool) - s->rnd_left, n);
		mps_memzero(s->rnd_pool + sizeof(s->rnd_pool) - s->rnd_left, n);
		s->rnd_left -= n;
		out += n;
		len -= n;
	}
}

void stack_output(mps_stack *s, const uint8_t *pkt, size_t len)
{
	mps_out_meta meta;

	memset(&meta, 0, sizeof(meta));
	stack_output_meta(s, pkt, len, &meta);
}

void stack_output_meta(mps_stack *s, const uint8_t *pkt, size_t len, const mps_out_meta *meta)
{
	int i;

	s->st.pkts_out++;
	s->st.bytes_out += len;
	for (i = 0; i < meta->npayload; i++)
		s->st.bytes_out += meta->payload[i].len;
	if (meta->gso_size > 0)
		s->st.gso_out++;
	s->cfg.cb.output(s->cfg.user, pkt, len, meta);
}

void stack_event(mps_stack *s, mps_conn *c, enum mps_event ev, int err)
{
	if (c->released || s->cfg.cb.event == NULL)
		return;
	s->cfg.cb.event(s->cfg.user, c, ev, err);
}

uint32_t stack_ts_now(const mps_stack *s, uint64_t now)
{
	return s->ts_offset + (uint32_t)(now / MPS_NS_PER_MS);
}

/* --- hashes ---------------------------------------------------------------- */

static uint32_t stack_tuple_hash(const mps_stack *s, const mps_addr *local, const mps_addr *remote)
{
	return (mps_addr_hash(local, s->hash_seed) * 31u + mps_addr_hash(remote, s->hash_seed)) &
	       s->hash_mask;
}

static mps_sf *stack_lookup(const mps_stack *s, const mps_addr *local, const mps_addr *remote)
{
	mps_sf *sf = s->sf_hash[stack_tuple_hash(s, local, remote)];

	for (; sf != NULL; sf = sf->hnext)
		if (mps_addr_eq(&sf->local, local) && mps_addr_eq(&sf->remote, remote))
			return sf;
	return NULL;
}

void stack_sf_hash_add(mps_stack *s, mps_sf *sf)
{
	uint32_t h;

	if (sf->hashed)
		return;
	h = stack_tuple_hash(s, &sf->local, &sf->remote);
	sf->hnext = s->sf_hash[h];
	s->sf_hash[h] = sf;
	sf->hashed = true;
}

void stack_sf_hash_del(mps_stack *s, mps_sf *sf)
{
	mps_sf **pp;

	if (!sf->hashed)
		return;
	pp = &s->sf_hash[stack_tuple_hash(s, &sf->local, &sf->remote)];
	for (; *pp != NULL; pp = &(*pp)->hnext)
		if (*pp == sf) {
			*pp = sf->hnext;
			break;
		}
	sf->hashed = false;
	s->reap_needed = true;
}

mps_conn *stack_conn_by_token(mps_stack *s, uint32_t token)
{
	mps_conn *c = s->tok_hash[token & s->hash_mask];

	for (; c != NULL; c = c->tnext)
		if (c->local_token == token)
			return c;
	return NULL;
}

void stack_token_add(mps_stack *s, mps_conn *c)
{
	mps_conn **head = &s->tok_hash[c->local_token & s->hash_mask];

	if (c->token_hashed)
		return;
	c->tnext = *head;
	*head = c;
	c->token_hashed = true;
}

void stack_token_del(mps_stack *s, mps_conn *c)
{
	mps_conn **pp;

	if (!c->token_hashed)
		return;
	for (pp = &s->tok_hash[c->local_token & s->hash_mask]; *pp != NULL; pp = &(*pp)->tnext)
		if (*pp == c) {
			*pp = c->tnext;
			break;
		}
	c->token_hashed = false;
}

/* --- addresses -------------------------------------------------------------- */

bool stack_owns_ip(const mps_stack *s, const mps_addr *a)
{
	return stack_addr_id(s, a) >= 0;
}

int stack_addr_id(const mps_stack *s, const mps_addr *a)
{
	size_t i;

	for (i = 0; i < s->naddrs; i++)
		if (mps_addr_ip_eq(&s->addrs[i], a))
			return (int)i;
	return -1;
}

uint8_t stack_announce_id(const mps_stack *s, size_t i)
{
	int id = stack_addr_id(s, &s->announce[i]);

	return id >= 0 ? (uint8_t)(id + 1) : (uint8_t)(1 + STACK_MAX_ADDRS + i);
}

int stack_local_id(const mps_stack *s, const mps_conn *c, const mps_addr *a)
{
	const mps_sf *sf;
	size_t i;
	int id;

	for (sf = c->sfs; sf != NULL; sf = sf->next)
		if (sf->is_initial && mps_addr_ip_eq(&sf->local, a))
			return 0;
	for (i = 0; i < s->nannounce; i++)
		if (mps_addr_ip_eq(&s->announce[i], a))
			return stack_announce_id(s, i);
	id = stack_addr_id(s, a);
	return id >= 0 ? id + 1 : 0;
}

uint16_t stack_pick_port(mps_stack *s, const mps_addr *local, const mps_addr *remote)
{
	mps_addr l = *local;
	uint32_t r;
	int tries;

	for (tries = 0; tries < 64; tries++) {
		stack_random(s, &r, sizeof(r));
		l.port = (uint16_t)(STACK_PORT_LO + r % (STACK_PORT_HI - STACK_PORT_LO + 1));
		if (stack_lookup(s, &l, remote) == NULL)
			return l.port;
	}
	return 0;
}

int mps_stack_add_addr(mps_stack *s, const mps_addr *a)
{
	int id;

	if (a->family != MPS_AF_INET && a->family != MPS_AF_INET6)
		return MPS_ERR_INVAL;
	id = stack_addr_id(s, a);
	if (id >= 0)
		return MPS_ERR_EXIST;
	if (s->naddrs == STACK_MAX_ADDRS)
		return MPS_ERR_NOMEM;
	s->addrs[s->naddrs] = *a;
	s->addrs[s->naddrs].port = 0;
	return (int)s->naddrs++;
}

int mps_stack_set_group_keys(mps_stack *s, const uint8_t *key, const uint8_t *prev)
{
	if (key == NULL && prev != NULL)
		return MPS_ERR_INVAL;
	mps_memzero(s->group_key, sizeof(s->group_key));
	mps_memzero(s->group_key_prev, sizeof(s->group_key_prev));
	s->has_group_key = key != NULL;
	s->has_group_key_prev = prev != NULL;
	if (key != NULL)
		memcpy(s->group_key, key, MPS_GROUP_KEY_LEN);
	if (prev != NULL)
		memcpy(s->group_key_prev, prev, MPS_GROUP_KEY_LEN);
	return 0;
}

int mps_stack_add_announce(mps_stack *s, const mps_addr *a)
{
	if (a->family != MPS_AF_INET && a->family != MPS_AF_INET6)
		return MPS_ERR_INVAL;
	if (s->nannounce == STACK_MAX_ADDRS)
		return MPS_ERR_NOMEM;
	s->announce[s->nannounce++] = *a;
	return 0;
}

int mps_listen(mps_stack *s, const mps_addr *local)
{
	size_t i;

	if (local->port == 0 || !stack_owns_ip(s, local))
		return MPS_ERR_INVAL;
	for (i = 0; i < s->nlisten; i++)
		if (mps_addr_eq(&s->listen[i], local))
			return MPS_ERR_EXIST;
	if (s->nlisten == STACK_MAX_LISTEN)
		return MPS_ERR_NOMEM;
	s->listen[s->nlisten++] = *local;
	return 0;
}

/* A SYN to this address: is someone listening?  A JOIN may come to any
 * address we own on a listening port (announced addresses included). */
static bool stack_listening(const mps_stack *s, const mps_addr *dst, bool join)
{
	size_t i;

	for (i = 0; i < s->nlisten; i++) {
		if (s->listen[i].port != dst->port)
			continue;
		if (join || mps_addr_ip_eq(&s->listen[i], dst))
			return true;
	}
	return false;
}

static void theap_file(mps_stack *s, mps_conn *c, uint64_t key);

/* --- life cycle ---------------------------------------------------------------- */

/* The largest super-segment payload: an IP packet is at most 65535 bytes, of
 * which IPv6 + TCP + 40 bytes of options take 100. */
#define STACK_GSO_MAX (65535u - 100u)

int mps_stack_new(mps_stack **out, const mps_config *cfg)
{
	mps_stack *s;

	if (cfg == NULL || cfg->cb.output == NULL)
		return MPS_ERR_INVAL;
	if ((cfg->cc != NULL && !mps_cc_valid(cfg->cc, false)) ||
	    (cfg->cc_coupled != NULL && !mps_cc_valid(cfg->cc_coupled, true)))
		return MPS_ERR_INVAL;
	if (mps_crypto_init() != 0)
		return MPS_ERR_INVAL;
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return MPS_ERR_NOMEM;
	s->cfg = *cfg;
	if (s->cfg.mtu == 0)
		s->cfg.mtu = 1500;
	if (s->cfg.mtu < 1280)
		s->cfg.mtu = 1280;
	if (s->cfg.sndbuf == 0)
		s->cfg.sndbuf = 4u << 20;
	if (s->cfg.rcvbuf == 0)
		s->cfg.rcvbuf = 4u << 20;
	if (s->cfg.max_conns == 0)
		s->cfg.max_conns = 65536;
	if ((s->cfg.gso_max > 0 || s->cfg.out_iov) && !s->cfg.csum_offload)
		return free(s), MPS_ERR_INVAL;
	if (s->cfg.gso_max > STACK_GSO_MAX)
		s->cfg.gso_max = STACK_GSO_MAX;
	/* Buckets: a power of two at least max_conns (chains stay short). */
	s->hash_mask = STACK_HASH_MIN - 1;
	while (s->hash_mask + 1 < s->cfg.max_conns && s->hash_mask + 1 < STACK_HASH_MAX)
		s->hash_mask = 2 * s->hash_mask + 1;
	s->sf_hash = calloc((size_t)s->hash_mask + 1, sizeof(*s->sf_hash));
	s->tok_hash = calloc((size_t)s->hash_mask + 1, sizeof(*s->tok_hash));
	s->obuf_cap = 65536 + 128;
	s->obuf = malloc(s->obuf_cap);
	if (s->obuf == NULL || s->sf_hash == NULL || s->tok_hash == NULL) {
		free(s->obuf);
		free(s->sf_hash);
		free(s->tok_hash);
		free(s);
		return MPS_ERR_NOMEM;
	}
	mps_stack_set_group_keys(s, cfg->group_key, cfg->group_key != NULL ? cfg->group_key_prev : NULL);
	s->cfg.group_key = NULL; /* never keep the caller's pointers */
	s->cfg.group_key_prev = NULL;
	s->cc = mps_cc_find(cfg->cc != NULL ? cfg->cc : "cubic");
	s->cc_coupled = mps_cc_find(cfg->cc_coupled != NULL ? cfg->cc_coupled : "lia");
	s->cfg.cc = s->cfg.cc_coupled = NULL;
	stack_random(s, &s->hash_seed, sizeof(s->hash_seed));
	stack_random(s, &s->ts_offset, sizeof(s->ts_offset));
	*out = s;
	return 0;
}

void mps_stack_free(mps_stack *s)
{
	if (s == NULL)
		return;
	while (s->conns != NULL)
		conn_free(s->conns);
	mps_memzero(s->group_key, sizeof(s->group_key));
	mps_memzero(s->group_key_prev, sizeof(s->group_key_prev));
	mps_memzero(s->rnd_pool, sizeof(s->rnd_pool));
	free(s->obuf);
	free(s->sf_hash);
	free(s->tok_hash);
	free(s->theap);
	free(s);
}

void stack_reap(mps_stack *s)
{
	mps_conn *c, *todo = s->touched;
	bool reap = s->reap_needed;

	/* Only a connection touched by this call can have closed something:
	 * the touched list is the whole work, O(touched), not O(conns). */
	s->touched = NULL;
	s->reap_needed = false;
	while ((c = todo) != NULL) {
		todo = c->touch_next;
		c->touched = false;
		if (reap && conn_reapable(c)) {
			conn_free(c);
			continue;
		}
		if (reap)
			conn_reap_subflows(c);
		theap_file(s, c, conn_next_expiry(c));
	}
	/* Freeing may have asked for another round; nothing is touched now. */
	s->reap_needed = false;
}

/* --- input ---------------------------------------------------------------------- */

void stack_send_rst_for(mps_stack *s, const mps_pkt *p)
{
	mps_tcp_out o;
	int n;

	/* RFC 9293 §3.10.7.1: answer a segment that belongs to nothing. */
	if (p->flags & MPS_TH_RST)
		return;
	memset(&o, 0, sizeof(o));
	o.src = &p->dst;
	o.dst = &p->src;
	if (p->flags & MPS_TH_ACK) {
		o.seq = p->ack;
		o.flags = MPS_TH_RST;
	} else {
		o.seq = 0;
		o.ack = p->seq + (uint32_t)p->paylen + ((p->flags & MPS_TH_SYN) ? 1 : 0) +
			((p->flags & MPS_TH_FIN) ? 1 : 0);
		o.flags = MPS_TH_RST | MPS_TH_ACK;
	}
	n = mps_pkt_build_tcp(s->obuf, s->obuf_cap, &o, 0);
	if (n > 0) {
		s->st.rst_sent++;
		stack_output(s, s->obuf, (size_t)n);
	}
}

static int stack_input_tcp(mps_stack *s, const mps_pkt *p, uint64_t now)
{
	mps_opts o;
	mps_sf *sf;

	if (!stack_owns_ip(s, &p->dst)) {
		s->st.drop_other++;
		return MPS_ERR_NOTCONN;
	}
	if (mps_opt_parse(&o, p->opts, p->optlen, p->flags) != 0) {
		s->st.drop_malformed++;
		return MPS_ERR_MALFORMED;
	}
	sf = stack_lookup(s, &p->dst, &p->src);
	if (sf != NULL) {
		stack_touch(s, sf->conn);
		sf_input(sf, p, &o, now);
		return 0;
	}
	if ((p->flags & (MPS_TH_SYN | MPS_TH_ACK | MPS_TH_RST)) == MPS_TH_SYN &&
	    stack_listening(s, &p->dst, (o.present & MPS_OPT_JOIN) != 0)) {
		if (o.malformed)
			s->st.opt_malformed++;
		conn_listen_syn(s, p, &o, now);
		return 0;
	}
	s->st.drop_noconn++;
	stack_send_rst_for(s, p);
	return MPS_ERR_NOTCONN;
}

int mps_stack_input(mps_stack *s, const uint8_t *pkt, size_t len, uint64_t now)
{
	return mps_stack_input_meta(s, pkt, len, now, NULL);
}

int mps_stack_input_meta(mps_stack *s, const uint8_t *pkt, size_t len, uint64_t now,
			 const mps_in_meta *meta)
{
	mps_pkt p;
	int rc;

	s->now = now;
	s->st.pkts_in++;
	s->st.bytes_in += len;
	if (meta != NULL && meta->gso_size > 0)
		s->st.gro_in++;
	rc = mps_pkt_parse(&p, pkt, len, meta != NULL && meta->csum_ok ? MPS_PKT_NO_CSUM_CHECK : 0);
	if (rc == MPS_ERR_CHECKSUM) {
		s->st.drop_checksum++;
		return rc;
	}
	if (rc != 0) {
		if (rc == MPS_ERR_MALFORMED)
			s->st.drop_malformed++;
		else
			s->st.drop_other++;
		return rc;
	}
	if (p.proto == MPS_IPPROTO_TCP)
		rc = stack_input_tcp(s, &p, now);
	else
		rc = 0; /* ICMP errors: noted, TCP recovers by itself */
	stack_reap(s);
	return rc;
}

/* --- timers ------------------------------------------------------------------------ */

static bool theap_less(const mps_conn *a, const mps_conn *b)
{
	return a->theap_key < b->theap_key || (a->theap_key == b->theap_key && a->serial < b->serial);
}

static void theap_put(mps_stack *s, size_t i, mps_conn *c)
{
	s->theap[i] = c;
	c->theap_idx = i;
}

/* theap_fix restores the heap order around slot i (up, then down). */
static void theap_fix(mps_stack *s, size_t i)
{
	mps_conn *c = s->theap[i];

	while (i > 0 && theap_less(c, s->theap[(i - 1) / 2])) {
		theap_put(s, i, s->theap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		const mps_conn *mc = c;

		if (l < s->theap_n && theap_less(s->theap[l], mc))
			m = l, mc = s->theap[l];
		if (l + 1 < s->theap_n && theap_less(s->theap[l + 1], mc))
			m = l + 1;
		if (m == i)
			break;
		theap_put(s, i, s->theap[m]);
		i = m;
	}
	theap_put(s, i, c);
}

static void theap_remove(mps_stack *s, mps_conn *c)
{
	size_t i = c->theap_idx;

	if (i == THEAP_NONE)
		return;
	c->theap_idx = THEAP_NONE;
	s->theap_n--;
	if (i < s->theap_n) {
		theap_put(s, i, s->theap[s->theap_n]);
		theap_fix(s, i);
	}
}

/* theap_file puts c under key (MPS_TIME_NONE: out of the heap).  When the
 * heap cannot grow (out of memory) c stays touched, to be filed later. */
static void theap_file(mps_stack *s, mps_conn *c, uint64_t key)
{
	if (key == MPS_TIME_NONE) {
		theap_remove(s, c);
		c->theap_key = key;
		return;
	}
	c->theap_key = key;
	if (c->theap_idx != THEAP_NONE) {
		theap_fix(s, c->theap_idx);
		return;
	}
	if (s->theap_n == s->theap_cap) {
		size_t n = s->theap_cap ? 2 * s->theap_cap : 64;
		mps_conn **h = realloc(s->theap, n * sizeof(*h));

		if (h == NULL) {
			stack_touch(s, c);
			return;
		}
		s->theap = h;
		s->theap_cap = n;
	}
	theap_put(s, s->theap_n++, c);
	theap_fix(s, c->theap_idx);
}

void stack_touch(mps_stack *s, mps_conn *c)
{
	if (c->touched)
		return;
	c->touched = true;
	c->touch_next = s->touched;
	s->touched = c;
}

void stack_timers_flush(mps_stack *s)
{
	mps_conn *c, *todo = s->touched;

	s->touched = NULL;
	while ((c = todo) != NULL) {
		todo = c->touch_next;
		c->touched = false;
		theap_file(s, c, conn_next_expiry(c));
	}
}

void stack_timers_forget(mps_stack *s, mps_conn *c)
{
	mps_conn **pp;

	theap_remove(s, c);
	if (!c->touched)
		return;
	for (pp = &s->touched; *pp != NULL; pp = &(*pp)->touch_next)
		if (*pp == c) {
			*pp = c->touch_next;
			break;
		}
	c->touched = false;
}

bool stack_timers_consistent(const mps_stack *s)
{
	const mps_conn *c;
	size_t i, n = 0;

	for (i = 0; i < s->theap_n; i++)
		if (s->theap[i]->theap_idx != i || (i > 0 && theap_less(s->theap[i], s->theap[(i - 1) / 2])))
			return false;
	for (c = s->conns; c != NULL; c = c->next) {
		uint64_t x = conn_next_expiry(c);

		if (c->touched || c->theap_key != x || (x != MPS_TIME_NONE) != (c->theap_idx != THEAP_NONE))
			return false;
		if (conn_reapable(c))
			return false; /* stack_reap missed it */
		n += c->theap_idx != THEAP_NONE;
	}
	return n == s->theap_n;
}

uint64_t mps_stack_next_expiry(const mps_stack *s)
{
	/* Every public call files what it touched before it returns; this
	 * only matters if a callback asks in the middle of one.  The stack
	 * was allocated non-const by mps_stack_new. */
	if (s->touched != NULL)
		stack_timers_flush((mps_stack *)s);
	return s->theap_n > 0 ? s->theap[0]->theap_key : MPS_TIME_NONE;
}

void mps_stack_handle_expiry(mps_stack *s, uint64_t now)
{
	mps_conn *c, *due = NULL;

	s->now = now;
	stack_timers_flush(s);
	/* Take the due connections out of the heap first (each is handled
	 * once even if it re-arms a timer at now), then handle them in
	 * expiry order; freeing waits for stack_reap. */
	while (s->theap_n > 0 && s->theap[0]->theap_key <= now) {
		c = s->theap[0];
		theap_remove(s, c);
		c->theap_key = MPS_TIME_NONE;
		c->touched = true; /* refiled by the flush in stack_reap */
		c->touch_next = due;
		due = c;
	}
	/* due is in reverse order: reverse it. */
	{
		mps_conn *rev = NULL, *n;
		for (c = due; c != NULL; c = n) {
			n = c->touch_next;
			c->touch_next = rev;
			rev = c;
		}
		due = rev;
	}
	for (c = due; c != NULL; c = c->touch_next)
		conn_handle_timers(c, now);
	/* Hand them over to the touched list (other connections touched
	 * meanwhile are already on it). */
	while ((c = due) != NULL) {
		due = c->touch_next;
		c->touch_next = s->touched;
		s->touched = c;
	}
	stack_reap(s);
}

/* --- introspection ----------------------------------------------------------------- */

mps_conn *mps_stack_conn_first(mps_stack *s)
{
	return s->conns;
}

mps_conn *mps_stack_conn_next(mps_stack *s, mps_conn *c)
{
	(void)s;
	return c->next;
}

void mps_stack_get_stats(const mps_stack *s, mps_stack_stats *st)
{
	*st = s->st;
}
