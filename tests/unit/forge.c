/*
 * forge.c - the forged peer of tests/unit: a segment builder, a capturing
 * output callback, handshakes through the public API, virtual time.
 *
 * Call chains:
 *   fx_send() -> forge_tcp() -> mps_opt_write() + mps_pkt_build_tcp()
 *             -> mps_stack_input() -> ... -> fx_output() -> fx_capture()
 *   fx_advance() / fx_fire() -> mps_stack_handle_expiry() -> fx_output()
 */
#include "forge.h"

#include "core.h"
#include "crypto.h"
#include "seq.h"

#include <stdlib.h>
#include <string.h>

#define FX_DEFAULT_BUF (256u * 1024)
#define FX_DEFAULT_RTT (10 * FX_MS)
#define FX_PEER_ISS 0x10000000u
#define FX_TS_BASE 5000u

/* --- the builder ------------------------------------------------------------ */

int forge_tcp(uint8_t *buf, size_t cap, const forge_seg *s)
{
	uint8_t opts[64];
	int n = 0;
	mps_tcp_out out;
	mps_iov iov;

	if (s->o != NULL) {
		n = mps_opt_write(opts, sizeof(opts), s->o);
		if (n < 0)
			return MPS_ERR_INVAL;
	}
	if ((size_t)n + s->rawlen > MPS_TCP_OPT_MAX)
		return MPS_ERR_INVAL;
	if (s->rawlen > 0)
		memcpy(opts + n, s->raw, s->rawlen);
	n += (int)s->rawlen;
	while (n % 4 != 0)
		opts[n++] = MPS_TCPOPT_NOP;
	memset(&out, 0, sizeof(out));
	out.src = s->src;
	out.dst = s->dst;
	out.seq = s->seq;
	out.ack = s->ack;
	out.flags = s->flags;
	out.window = s->window;
	out.opts = opts;
	out.optlen = (size_t)n;
	iov.base = s->data;
	iov.len = s->len;
	out.payload = &iov;
	out.niov = s->len > 0 ? 1 : 0;
	return mps_pkt_build_tcp(buf, cap, &out, 0);
}

/* --- callbacks ------------------------------------------------------------------ */

static void fx_random(void *user, void *buf, size_t len)
{
	fx *f = user;
	uint8_t *b = buf;
	size_t i;

	if (len == sizeof(uint64_t) && f->nforce > 0) {
		memcpy(buf, &f->force_keys[0], sizeof(uint64_t));
		memmove(&f->force_keys[0], &f->force_keys[1], (f->nforce - 1) * sizeof(uint64_t));
		f->nforce--;
		return;
	}
	for (i = 0; i < len; i++) {
		f->rng ^= f->rng << 13;
		f->rng ^= f->rng >> 7;
		f->rng ^= f->rng << 17;
		b[i] = (uint8_t)(f->rng >> 11);
	}
}

fx_sf *fx_sf_of(fx *f, const mps_pkt *p)
{
	size_t i;

	for (i = 0; i < f->nsf; i++) {
		fx_sf *sf = &f->sf[i];
		if (!mps_addr_eq(&sf->peer, &p->dst) || !mps_addr_ip_eq(&sf->stack, &p->src))
			continue;
		if (sf->stack.port == p->src.port)
			return sf;
	}
	return NULL;
}

/* The peer's view follows what the stack sends on each subflow. */
static void fx_track(fx *f, const fx_cap *c)
{
	const mps_pkt *p = &c->p;
	fx_sf *sf = fx_sf_of(f, p);
	uint32_t end;
	size_t i;

	if (sf == NULL && (p->flags & (MPS_TH_SYN | MPS_TH_ACK)) == MPS_TH_SYN) {
		/* The stack opens a subflow (client role): a new end. */
		for (i = 0; i < f->nsf; i++)
			if (f->sf[i].stack.port == 0 && mps_addr_eq(&f->sf[i].peer, &p->dst) &&
			    mps_addr_ip_eq(&f->sf[i].stack, &p->src))
				break;
		if (i == f->nsf && f->nsf < FX_MAX_SF) {
			memset(&f->sf[f->nsf], 0, sizeof(f->sf[0]));
			f->sf[f->nsf].peer = p->dst;
			f->sf[f->nsf].window = f->opts.window;
			f->sf[f->nsf].wscale = f->opts.no_ws ? 0 : f->opts.wscale;
			f->sf[f->nsf].iss = FX_PEER_ISS + 0x01000000u * (uint32_t)f->nsf;
			f->sf[f->nsf].snd_nxt = f->sf[f->nsf].iss;
			f->nsf++;
		}
		if (i < f->nsf) {
			sf = &f->sf[i];
			sf->stack = p->src;
		}
	}
	if (sf == NULL)
		return;
	if (p->flags & MPS_TH_SYN) {
		sf->irs = p->seq;
		sf->seen_nxt = p->seq + 1;
		sf->synced = true;
	}
	end = p->seq + (uint32_t)p->paylen + ((p->flags & MPS_TH_SYN) ? 1 : 0) +
	      ((p->flags & MPS_TH_FIN) ? 1 : 0);
	if (sf->synced && !(p->flags & MPS_TH_RST) && mps_seq_gt(end, sf->seen_nxt))
		sf->seen_nxt = end;
	if (c->orc != 0)
		return;
	if (c->o.present & MPS_OPT_TS)
		sf->ts_recent = c->o.ts_val;
	if ((c->o.present & MPS_OPT_MPC) && c->o.mpc.nkeys >= 1 && (p->flags & MPS_TH_SYN)) {
		f->stack_key = c->o.mpc.key_sender;
		mps_key_token_idsn(f->stack_key, &f->stack_token, &f->stack_idsn);
		if (f->dsn_seen == 0)
			f->dsn_seen = f->stack_idsn + 1;
	}
	if ((c->o.present & MPS_OPT_DSS) && c->o.dss.has_map) {
		uint64_t dsn = c->o.dss.map64
				   ? c->o.dss.dsn
				   : mps_seq_expand32(f->dsn_seen, (uint32_t)c->o.dss.dsn);
		if (dsn + c->o.dss.dll > f->dsn_seen)
			f->dsn_seen = dsn + c->o.dss.dll;
	}
	if ((c->o.present & MPS_OPT_JOIN) && c->o.join.form == MPS_JOIN_SYNACK) {
		sf->stack_nonce = c->o.join.nonce;
		sf->stack_id = c->o.join.addr_id;
		sf->stack_hmac64 = c->o.join.hmac64;
	}
	if ((c->o.present & MPS_OPT_JOIN) && c->o.join.form == MPS_JOIN_SYN) {
		sf->stack_nonce = c->o.join.nonce;
		sf->stack_id = c->o.join.addr_id;
	}
}

/* Complete a partial TCP checksum (VIRTIO_NET_HDR_F_NEEDS_CSUM): the field
 * holds the folded pseudo-header sum; summing the whole segment over it
 * gives the real checksum.  A wrong partial sum then fails mps_pkt_parse. */
static void fx_finish_csum(uint8_t *pkt, size_t len)
{
	size_t hl = (pkt[0] >> 4) == 4 ? (size_t)(pkt[0] & 0xf) * 4 : 40;
	mps_csum cs;
	uint16_t v;

	CU_ASSERT_FATAL(len >= hl + 20);
	mps_csum_init(&cs);
	mps_csum_add(&cs, pkt + hl, len - hl);
	v = mps_csum_finish(&cs);
	pkt[hl + 16] = (uint8_t)(v >> 8);
	pkt[hl + 17] = (uint8_t)v;
}

static void fx_free_big(fx *f)
{
	size_t i;

	for (i = 0; i < f->ncap; i++) {
		free(f->cap[i].big);
		f->cap[i].big = NULL;
	}
}

static void fx_output(void *user, const uint8_t *pkt, size_t len, const mps_out_meta *meta)
{
	fx *f = user;
	fx_cap *c;

	size_t total = len;
	uint8_t *buf;
	int k;

	CU_ASSERT_FATAL(meta != NULL);
	/* headers + payload pieces (out_iov): gather them as writev would */
	CU_ASSERT(meta->npayload == 0 || f->opts.gso_max > 0);
	for (k = 0; k < meta->npayload; k++)
		total += meta->payload[k].len;
	CU_ASSERT_FATAL(total <= FX_PKT_MAX || meta->gso_size > 0);
	/* Only a stack told so may leave checksums partial or cut late. */
	CU_ASSERT(!meta->csum_partial || f->opts.gso_max > 0);
	CU_ASSERT(meta->gso_size == 0 || meta->csum_partial);
	if (f->ncap == FX_CAP_MAX) {
		f->lost++;
		return;
	}
	c = &f->cap[f->ncap++];
	c->big = NULL;
	buf = c->data;
	if (total > FX_PKT_MAX) {
		c->big = malloc(total);
		CU_ASSERT_FATAL(c->big != NULL);
		buf = c->big;
	}
	memcpy(buf, pkt, len);
	for (k = 0; k < meta->npayload; k++) {
		memcpy(buf + len, meta->payload[k].base, meta->payload[k].len);
		len += meta->payload[k].len;
	}
	c->len = len;
	c->meta = *meta;
	c->when = f->now;
	if (meta->csum_partial)
		fx_finish_csum(buf, len); /* what the device does */
	c->rc = mps_pkt_parse(&c->p, buf, len, 0);
	c->orc = c->rc == 0 ? mps_opt_parse(&c->o, c->p.opts, c->p.optlen, c->p.flags) : -1;
	CU_ASSERT(c->rc == 0); /* the stack only sends well-formed packets */
	CU_ASSERT(c->orc == 0);
	if (c->rc == 0)
		fx_track(f, c);
}

static void fx_event(void *user, mps_conn *c, enum mps_event ev, int err)
{
	fx *f = user;

	if ((unsigned)ev <= MPS_EV_SUBFLOW)
		f->nev[ev]++;
	switch (ev) {
	case MPS_EV_ACCEPT:
		f->conn = c;
		break;
	case MPS_EV_CLOSED:
		f->closed = true;
		f->close_err = err;
		break;
	case MPS_EV_SUBFLOW:
		f->subflow_err = err;
		break;
	default:
		break;
	}
}

/* --- set up ----------------------------------------------------------------------- */

static void fx_parse_addr(mps_addr *a, const char *text)
{
	CU_ASSERT_FATAL(mps_addr_parse(a, text) == 0);
}

static void fx_init_common(fx *f, fx_opts o, const char *own)
{
	mps_config cfg;
	mps_addr a;

	memset(f, 0, sizeof(*f));
	if (o.window == 0)
		o.window = 65535;
	if (o.mss == 0)
		o.mss = 1460;
	if (o.rtt == 0)
		o.rtt = FX_DEFAULT_RTT;
	if (o.key == 0)
		o.key = FX_KEY_A;
	if (o.iss == 0)
		o.iss = FX_PEER_ISS;
	f->opts = o;
	f->rng = 0x9e3779b97f4a7c15ull;
	f->now = 1000 * FX_MS;
	f->cap = calloc(FX_CAP_MAX, sizeof(*f->cap));
	CU_ASSERT_FATAL(f->cap != NULL);
	if (o.stack_key != 0)
		fx_force_key(f, o.stack_key);
	f->key = o.key;
	mps_key_token_idsn(f->key, &f->token, &f->idsn);
	f->dsn_nxt = f->idsn + 1;
	memset(&cfg, 0, sizeof(cfg));
	cfg.cb.output = fx_output;
	cfg.cb.event = fx_event;
	cfg.cb.random = fx_random;
	cfg.user = f;
	cfg.rcvbuf = o.rcvbuf ? o.rcvbuf : FX_DEFAULT_BUF;
	cfg.sndbuf = o.sndbuf ? o.sndbuf : FX_DEFAULT_BUF;
	cfg.cc = o.cc;
	cfg.send_timeout = o.send_timeout;
	cfg.no_mptcp = o.stack_no_mptcp;
	cfg.gso_max = o.gso_max;
	cfg.csum_offload = o.gso_max > 0;
	cfg.out_iov = o.gso_max > 0; /* and the zero-copy output */
	CU_ASSERT_FATAL(mps_stack_new(&f->s, &cfg) == 0);
	fx_parse_addr(&a, own);
	CU_ASSERT_FATAL(mps_stack_add_addr(f->s, &a) >= 0);
}

void fx_init_server(fx *f, fx_opts o)
{
	mps_addr l;

	fx_init_common(f, o, "10.88.1.1");
	f->server = true;
	fx_parse_addr(&l, "10.88.1.1:8080");
	CU_ASSERT_FATAL(mps_listen(f->s, &l) == 0);
	if (o.announce != NULL) {
		fx_parse_addr(&l, o.announce);
		CU_ASSERT_FATAL(mps_stack_add_announce(f->s, &l) == 0);
	}
	fx_sf_add(f, "10.77.0.2:40000", NULL);
}

void fx_init_client(fx *f, fx_opts o)
{
	fx_init_common(f, o, "10.77.0.2");
	f->server = false;
	fx_sf_add(f, "10.88.1.1:8080", "10.77.0.2");
}

void fx_free(fx *f)
{
	mps_stack_free(f->s);
	f->s = NULL;
	if (f->cap != NULL)
		fx_free_big(f);
	free(f->cap);
	f->cap = NULL;
}

fx_sf *fx_sf_add(fx *f, const char *peer, const char *stack)
{
	fx_sf *sf;

	CU_ASSERT_FATAL(f->nsf < FX_MAX_SF);
	sf = &f->sf[f->nsf];
	memset(sf, 0, sizeof(*sf));
	fx_parse_addr(&sf->peer, peer);
	fx_parse_addr(&sf->stack, stack != NULL ? stack : "10.88.1.1:8080");
	sf->iss = f->opts.iss + 0x01000000u * (uint32_t)f->nsf;
	sf->snd_nxt = sf->iss;
	sf->window = f->opts.window;
	sf->wscale = f->opts.no_ws ? 0 : f->opts.wscale;
	sf->addr_id = (uint8_t)f->nsf;
	f->nsf++;
	return sf;
}

void fx_force_key(fx *f, uint64_t key)
{
	CU_ASSERT_FATAL(f->nforce < FX_FORCE_MAX);
	f->force_keys[f->nforce++] = key;
}

void fx_opt_syn(const fx *f, const fx_sf *sf, mps_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->present = MPS_OPT_MSS;
	o->mss = f->opts.mss;
	if (!f->opts.no_sack)
		o->present |= MPS_OPT_SACK_PERM;
	if (!f->opts.no_ws) {
		o->present |= MPS_OPT_WSCALE;
		o->wscale = sf->wscale;
	}
	if (!f->opts.no_ts) {
		o->present |= MPS_OPT_TS;
		o->ts_val = FX_TS_BASE + (uint32_t)(f->now / FX_MS);
		o->ts_ecr = sf->ts_recent;
	}
}

void setup_established_server(fx *f, fx_opts o)
{
	fx_sf *sf;
	mps_opts so;
	const fx_cap *synack;

	fx_init_server(f, o);
	sf = &f->sf[0];
	fx_opt_syn(f, sf, &so);
	if (o.mptcp) {
		so.present |= MPS_OPT_MPC;
		so.mpc.version = 1;
		so.mpc.flags = MPS_MPC_FLAG_H | (o.csum ? MPS_MPC_FLAG_A : 0);
		so.mpc.nkeys = 0;
	}
	CU_ASSERT_FATAL(fx_send(f, sf, (fx_seg){.flags = MPS_TH_SYN, .o = &so, .no_ts = true}) ==
			0);
	synack = fx_last(f, sf, MPS_TH_SYN | MPS_TH_ACK, MPS_TH_SYN | MPS_TH_ACK);
	CU_ASSERT_FATAL(synack != NULL);
	CU_ASSERT_FATAL(synack->p.ack == sf->iss + 1);
	sf->rcv_nxt = sf->irs + 1;
	sf->ts = (synack->o.present & MPS_OPT_TS) != 0;
	f->mptcp = o.mptcp && (synack->o.present & MPS_OPT_MPC) != 0;
	fx_advance(f, o.rtt ? o.rtt : FX_DEFAULT_RTT);
	memset(&so, 0, sizeof(so));
	if (f->mptcp) {
		so.present = MPS_OPT_MPC;
		so.mpc.version = 1;
		so.mpc.flags = MPS_MPC_FLAG_H | (o.csum ? MPS_MPC_FLAG_A : 0);
		so.mpc.nkeys = 2;
		so.mpc.key_sender = f->key;
		so.mpc.key_receiver = f->stack_key;
		f->data_ack = f->stack_idsn + 1;
	}
	CU_ASSERT_FATAL(fx_send(f, sf, (fx_seg){.flags = MPS_TH_ACK, .o = &so}) == 0);
	CU_ASSERT_FATAL(f->conn != NULL);
	CU_ASSERT_FATAL(f->nev[MPS_EV_ACCEPT] == 1);
}

void setup_established_client(fx *f, fx_opts o)
{
	mps_connect_params cp;
	const fx_cap *syn;
	fx_sf *sf;
	mps_opts so;

	fx_init_client(f, o);
	sf = &f->sf[0];
	memset(&cp, 0, sizeof(cp));
	cp.remote = sf->peer;
	CU_ASSERT_FATAL(mps_connect(f->s, &cp, f->now, &f->conn) == 0);
	syn = fx_last(f, sf, MPS_TH_SYN | MPS_TH_ACK, MPS_TH_SYN);
	CU_ASSERT_FATAL(syn != NULL);
	sf->rcv_nxt = sf->irs + 1;
	fx_opt_syn(f, sf, &so);
	if (!(syn->o.present & MPS_OPT_SACK_PERM))
		so.present &= ~MPS_OPT_SACK_PERM;
	if (!(syn->o.present & MPS_OPT_WSCALE))
		so.present &= ~MPS_OPT_WSCALE;
	if (!(syn->o.present & MPS_OPT_TS))
		so.present &= ~MPS_OPT_TS;
	sf->ts = (so.present & MPS_OPT_TS) != 0;
	f->mptcp = o.mptcp && (syn->o.present & MPS_OPT_MPC) != 0;
	if (f->mptcp) {
		so.present |= MPS_OPT_MPC;
		so.mpc.version = 1;
		so.mpc.flags = MPS_MPC_FLAG_H | (o.csum ? MPS_MPC_FLAG_A : 0);
		so.mpc.nkeys = 1;
		so.mpc.key_sender = f->key;
	}
	fx_advance(f, o.rtt ? o.rtt : FX_DEFAULT_RTT);
	CU_ASSERT_FATAL(
	    fx_send(f, sf, (fx_seg){.flags = MPS_TH_SYN | MPS_TH_ACK, .o = &so, .no_ts = true}) ==
	    0);
	CU_ASSERT_FATAL(f->nev[MPS_EV_CONNECTED] == 1);
	if (f->mptcp) {
		/* The client's key is on its third ACK (RFC 8684 §3.1). */
		const fx_cap *ack = fx_last(f, sf, 0xff, MPS_TH_ACK);
		CU_ASSERT_FATAL(ack != NULL);
		CU_ASSERT_FATAL(ack->o.present & MPS_OPT_MPC);
		f->stack_key = ack->o.mpc.key_sender;
		mps_key_token_idsn(f->stack_key, &f->stack_token, &f->stack_idsn);
		f->data_ack = f->stack_idsn + 1;
		f->dsn_seen = f->stack_idsn + 1;
	}
}

/* --- sending ---------------------------------------------------------------------- */

int fx_send(fx *f, fx_sf *sf, fx_seg seg)
{
	uint8_t small[FX_PKT_MAX], *buf = small;
	size_t cap = sizeof(small);
	mps_opts o;
	forge_seg fs;
	int n, rc;

	if (seg.len + 100 > cap) { /* a coalesced (GRO) segment */
		cap = seg.len + 100;
		buf = malloc(cap);
		CU_ASSERT_FATAL(buf != NULL);
	}

	memset(&o, 0, sizeof(o));
	if (seg.o != NULL)
		o = *seg.o;
	if (sf->ts && !seg.no_ts && !(o.present & MPS_OPT_TS)) {
		o.present |= MPS_OPT_TS;
		o.ts_val = FX_TS_BASE + (uint32_t)(f->now / FX_MS);
		o.ts_ecr = sf->ts_recent;
	}
	memset(&fs, 0, sizeof(fs));
	fs.src = &sf->peer;
	fs.dst = &sf->stack;
	fs.seq = sf->snd_nxt + (uint32_t)seg.dseq;
	fs.ack = sf->rcv_nxt + (uint32_t)seg.dack;
	fs.flags = seg.flags;
	fs.window = seg.win_set ? seg.window : sf->window;
	fs.o = &o;
	fs.raw = seg.raw;
	fs.rawlen = seg.rawlen;
	fs.data = seg.data;
	fs.len = seg.len;
	n = forge_tcp(buf, cap, &fs);
	CU_ASSERT_FATAL(n > 0);
	if (seg.dseq == 0 && !seg.keep)
		sf->snd_nxt += (uint32_t)seg.len + ((seg.flags & MPS_TH_SYN) ? 1 : 0) +
			       ((seg.flags & MPS_TH_FIN) ? 1 : 0);
	if (seg.bad_csum)
		buf[20 + 16] ^= 0x5a; /* IPv4 without options: TCP at 20 */
	rc = mps_stack_input_meta(f->s, buf, (size_t)n, f->now, seg.meta);
	if (buf != small)
		free(buf);
	CU_ASSERT(stack_timers_consistent(f->s)); /* the timer heap kept up */
	return rc;
}

void fx_opt_data_ack(const fx *f, mps_opts *o)
{
	o->present |= MPS_OPT_DSS;
	o->dss.has_ack = true;
	o->dss.ack64 = true;
	o->dss.data_ack = f->data_ack;
}

void fx_opt_map(mps_opts *o, uint64_t dsn, uint32_t ssn, uint16_t dll)
{
	o->present |= MPS_OPT_DSS;
	o->dss.has_map = true;
	o->dss.map64 = true;
	o->dss.dsn = dsn;
	o->dss.ssn = ssn;
	o->dss.dll = dll;
}

uint32_t fx_ssn(const fx_sf *sf)
{
	return sf->snd_nxt - sf->iss;
}

int fx_ack(fx *f, fx_sf *sf)
{
	mps_opts o;

	memset(&o, 0, sizeof(o));
	sf->rcv_nxt = sf->seen_nxt;
	if (f->mptcp) {
		if (f->dsn_seen > f->data_ack)
			f->data_ack = f->dsn_seen;
		fx_opt_data_ack(f, &o);
	}
	return fx_send(f, sf, (fx_seg){.flags = MPS_TH_ACK, .o = &o});
}

int fx_send_data(fx *f, fx_sf *sf, uint64_t dsn, const void *data, size_t len)
{
	mps_opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	if (f->mptcp) {
		fx_opt_data_ack(f, &o);
		fx_opt_map(&o, dsn, fx_ssn(sf), (uint16_t)len);
	}
	rc = fx_send(f, sf,
		     (fx_seg){.flags = MPS_TH_ACK | MPS_TH_PSH, .o = &o, .data = data, .len = len});
	if (dsn == f->dsn_nxt)
		f->dsn_nxt += len;
	return rc;
}

/* --- looking at the output ----------------------------------------------------------- */

void fx_clear(fx *f)
{
	fx_free_big(f);
	f->ncap = 0;
	f->lost = 0;
}

/* Was c sent on sf (NULL: anywhere)? */
static bool fx_on(const fx_cap *c, const fx_sf *sf)
{
	if (c->rc != 0)
		return false;
	if (sf == NULL)
		return true;
	return mps_addr_eq(&c->p.dst, &sf->peer) && mps_addr_eq(&c->p.src, &sf->stack);
}

size_t fx_count(const fx *f, const fx_sf *sf, uint8_t mask, uint8_t want)
{
	size_t i, n = 0;

	for (i = 0; i < f->ncap; i++)
		if (fx_on(&f->cap[i], sf) && (f->cap[i].p.flags & mask) == want)
			n++;
	return n;
}

const fx_cap *fx_first(const fx *f, const fx_sf *sf, uint8_t mask, uint8_t want)
{
	size_t i;

	for (i = 0; i < f->ncap; i++)
		if (fx_on(&f->cap[i], sf) && (f->cap[i].p.flags & mask) == want)
			return &f->cap[i];
	return NULL;
}

const fx_cap *fx_last(const fx *f, const fx_sf *sf, uint8_t mask, uint8_t want)
{
	size_t i;

	for (i = f->ncap; i > 0; i--)
		if (fx_on(&f->cap[i - 1], sf) && (f->cap[i - 1].p.flags & mask) == want)
			return &f->cap[i - 1];
	return NULL;
}

size_t fx_count_data(const fx *f, const fx_sf *sf)
{
	size_t i, n = 0;

	for (i = 0; i < f->ncap; i++)
		if (fx_on(&f->cap[i], sf) && f->cap[i].p.paylen > 0)
			n++;
	return n;
}

size_t fx_count_opt(const fx *f, const fx_sf *sf, uint32_t bits)
{
	size_t i, n = 0;

	for (i = 0; i < f->ncap; i++)
		if (fx_on(&f->cap[i], sf) && f->cap[i].orc == 0 && (f->cap[i].o.present & bits))
			n++;
	return n;
}

/* --- time, application --------------------------------------------------------------- */

void fx_advance(fx *f, uint64_t ns)
{
	uint64_t target = f->now + ns, t;

	for (;;) {
		t = mps_stack_next_expiry(f->s);
		if (t == MPS_TIME_NONE || t > target)
			break;
		if (t > f->now)
			f->now = t;
		mps_stack_handle_expiry(f->s, f->now);
		CU_ASSERT(stack_timers_consistent(f->s));
	}
	f->now = target;
}

uint64_t fx_fire(fx *f)
{
	uint64_t t = mps_stack_next_expiry(f->s);

	if (t == MPS_TIME_NONE)
		return t;
	if (t > f->now)
		f->now = t;
	mps_stack_handle_expiry(f->s, f->now);
	CU_ASSERT(stack_timers_consistent(f->s));
	return f->now;
}

size_t fx_read(fx *f, uint8_t *buf, size_t cap, bool *eof)
{
	size_t got = 0;
	ssize_t r;

	if (eof != NULL)
		*eof = false;
	while (f->conn != NULL && got < cap) {
		r = mps_conn_recv(f->conn, buf + got, cap - got, f->now);
		if (r == 0 && eof != NULL)
			*eof = true;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return got;
}

mps_stack_stats fx_stats(const fx *f)
{
	mps_stack_stats st;

	mps_stack_get_stats(f->s, &st);
	return st;
}

void fx_pattern(uint8_t *buf, size_t len, uint32_t seed)
{
	uint32_t x = seed * 2654435761u + 1;
	size_t i;

	for (i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (uint8_t)x;
	}
}

bool fx_known_fail_enabled(void)
{
	const char *v = getenv("UNIT_KNOWN_FAIL");

	return v != NULL && strcmp(v, "1") == 0;
}
