/*
 * pm.c - the path manager: which subflows a connection opens and which
 * addresses it announces.
 *
 * Client: once the connection is established it opens a subflow (MP_JOIN,
 * RFC 8684 §3.2) from each further local address to the server, one to each
 * --join target, and one to each address the server announces (ADD_ADDR).
 * Server: announces the addresses given with mps_stack_add_announce()
 * (ADD_ADDR with HMAC, repeated until echoed, RFC 8684 §3.4.1); servers do
 * not open subflows themselves.
 */
#include "core.h"

#include <string.h>

static bool pm_have_subflow(const mps_conn *c, const mps_addr *local, const mps_addr *remote)
{
	const mps_sf *sf;

	for (sf = c->sfs; sf != NULL; sf = sf->next)
		if (sf->state != SF_CLOSED && mps_addr_ip_eq(&sf->local, local) &&
		    mps_addr_eq(&sf->remote, remote))
			return true;
	return false;
}

static void pm_open(mps_conn *c, const mps_addr *local_ip, const mps_addr *remote, uint8_t remote_id,
		    uint64_t now)
{
	mps_stack *s = c->stack;
	mps_addr local = *local_ip;
	mps_sf *sf;

	if (c->nsf >= 2 * CONN_MAX_SUBFLOWS || pm_have_subflow(c, &local, remote))
		return;
	local.port = stack_pick_port(s, &local, remote);
	if (local.port == 0)
		return;
	sf = sf_new(c, &local, remote);
	if (sf == NULL)
		return;
	sf->is_join = true;
	sf->group_join = c->group;
	sf->remote_id = remote_id;
	sf->local_id = (uint8_t)stack_local_id(s, c, &local);
	stack_random(s, &sf->local_nonce, sizeof(sf->local_nonce));
	if (c->group)
		gc_sf_assign(c, sf, now);
	sf_connect(sf, now);
}

void pm_open_subflows(mps_conn *c, uint64_t now)
{
	mps_stack *s = c->stack;
	const mps_sf *init = NULL, *sf;
	size_t i;

	if (c->is_server || !c->mptcp || c->fallback || c->state != CONN_ESTABLISHED)
		return;
	if (c->group && !c->have_ticket)
		return; /* group joins need the ticket's N */
	for (sf = c->sfs; sf != NULL; sf = sf->next)
		if (sf->is_initial)
			init = sf;
	if (init == NULL)
		return;
	/* A subflow from each further local address to the server. */
	for (i = 0; i < s->naddrs; i++) {
		if (s->addrs[i].family != c->remote0.family || mps_addr_ip_eq(&s->addrs[i], &init->local))
			continue;
		pm_open(c, &s->addrs[i], &c->remote0, 0, now);
	}
	/* One to each announced or --join address. */
	for (i = 0; i < c->nraddr; i++) {
		conn_raddr *r = &c->raddr[i];
		mps_addr dst = r->addr;
		if (r->removed || r->tried || dst.family != init->local.family)
			continue;
		if (dst.port == 0)
			dst.port = c->remote0.port;
		r->tried = true;
		pm_open(c, &init->local, &dst, r->id, now);
	}
}

void pm_conn_established(mps_conn *c, uint64_t now)
{
	mps_stack *s = c->stack;
	size_t i;

	if (c->is_server) {
		for (i = 0; i < s->nannounce && c->nann < CONN_MAX_ANNOUNCE; i++) {
			conn_announce *a = &c->ann[c->nann++];
			memset(a, 0, sizeof(*a));
			a->addr = s->announce[i];
			a->id = stack_announce_id(s, i);
			a->next_send = now;
		}
		if (c->nann > 0)
			c->timers[CONN_TIMER_ANNOUNCE] = now;
		return;
	}
	pm_open_subflows(c, now);
}

void pm_add_remote(mps_conn *c, const mps_addr *a, uint8_t id, bool from_peer, uint64_t now)
{
	size_t i;

	for (i = 0; i < c->nraddr; i++)
		if (mps_addr_eq(&c->raddr[i].addr, a) && !c->raddr[i].removed)
			return;
	if (c->nraddr == CONN_MAX_RADDR)
		return;
	c->raddr[c->nraddr].addr = *a;
	c->raddr[c->nraddr].id = id;
	c->raddr[c->nraddr].from_peer = from_peer;
	c->raddr[c->nraddr].tried = false;
	c->raddr[c->nraddr].removed = false;
	c->nraddr++;
	pm_open_subflows(c, now);
}

void pm_remove_remote(mps_conn *c, uint8_t id, uint64_t now)
{
	mps_sf *sf;
	size_t i;

	/* RFC 8684 §3.4.2: subflows to a removed address are closed. */
	for (i = 0; i < c->nraddr; i++)
		if (c->raddr[i].from_peer && c->raddr[i].id == id)
			c->raddr[i].removed = true;
	for (sf = c->sfs; sf != NULL; sf = sf->next)
		if (sf->state != SF_CLOSED && sf->remote_id == id && !sf->is_initial) {
			sf_send_rst(sf, now, 0);
			sf_kill(sf, MPS_ERR_RESET, now);
		}
}
