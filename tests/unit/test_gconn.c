/*
 * test_gconn.c - the group extension on a connection, server side
 * (stack/gconn.c and its hooks in conn.c), driven through the public API
 * with forged segments and virtual time (tests/unit/forge.h):
 *   - the accepting server: MP_CAPABLE SYN with a group REQ -> SYN-ACK with
 *     the group ACK and Key-S derived from the nonce N it then gives in a
 *     TICKET, repeated until the TICKET_ACK;
 *   - a member: a group JOIN is checked against the token before anything
 *     exists, answered like MP_JOIN (RFC 8684 §3.2), and the member sends
 *     only the downstream ranges the client asks for (RANGE), at the DSNs of
 *     the accepting server.
 *
 * The forged peer is the group client.  The stacks under test get a group
 * key by being re-created with the fixture's own configuration plus the key
 * (gx_init_server): forge.c builds stacks without one.  Random 8-byte draws
 * of the stack are forced with fx_force_key: with a REQ, the first is the
 * connection's random key (conn_new) and the second the nonce N
 * (gs_setup_key), so N is known to the test.
 */
#include "forge.h"

#include "core.h"
#include "crypto.h"
#include "group.h"

#include <stdlib.h>
#include <string.h>

#define GX_N 0x0123456789abcdefull	    /* the nonce N the tests force */
#define GX_RANDOM_KEY 0x7e57000000c0ffeeull /* a key the stack would draw */
#define GX_TICKET_DATA 30000

/* --- helpers ------------------------------------------------------------------ */

static void gx_key(uint8_t gk[MPS_GROUP_KEY_LEN], uint8_t seed)
{
	size_t i;

	for (i = 0; i < MPS_GROUP_KEY_LEN; i++)
		gk[i] = (uint8_t)(seed * 31 + i * 7 + 1);
}

/* A server fixture (fx_init_server) whose stack has the group key gk (NULL:
 * none): the stack is made again from the same configuration plus the key,
 * owns 10.88.1.1 and listens on :8080. */
static void gx_init_server_rot(fx *f, fx_opts o, const uint8_t *gk, const uint8_t *prev)
{
	mps_config cfg;
	mps_addr a;

	fx_init_server(f, o);
	if (gk == NULL)
		return;
	cfg = f->s->cfg;
	cfg.group_key = gk;
	cfg.group_key_prev = prev;
	mps_stack_free(f->s);
	CU_ASSERT_FATAL(mps_stack_new(&f->s, &cfg) == 0);
	CU_ASSERT_FATAL(mps_addr_parse(&a, "10.88.1.1") == 0);
	CU_ASSERT_FATAL(mps_stack_add_addr(f->s, &a) >= 0);
	CU_ASSERT_FATAL(mps_addr_parse(&a, "10.88.1.1:8080") == 0);
	CU_ASSERT_FATAL(mps_listen(f->s, &a) == 0);
}

/* A server of the group of gk (no previous key). */
static void gx_init_server(fx *f, fx_opts o, const uint8_t *gk)
{
	gx_init_server_rot(f, o, gk, NULL);
}

/* The group message of a captured packet, if it has one that parses. */
static bool gx_gmsg(const fx_cap *c, mps_gmsg *g)
{
	return c->orc == 0 && (c->o.present & MPS_OPT_EXP) && mps_gmsg_parse(g, &c->o) == 0;
}

/* Packets on sf (NULL: any) carrying a group message of the type. */
static size_t gx_count_gmsg(const fx *f, const fx_sf *sf, uint8_t type)
{
	size_t i, n = 0;
	mps_gmsg g;

	for (i = 0; i < f->ncap; i++) {
		const fx_cap *c = &f->cap[i];
		if (c->rc != 0 || (sf != NULL && !mps_addr_eq(&c->p.dst, &sf->peer)))
			continue;
		if (gx_gmsg(c, &g) && g.type == type)
			n++;
	}
	return n;
}

/* The last packet with a group message of the type, its message in *g. */
static const fx_cap *gx_last_gmsg(const fx *f, uint8_t type, mps_gmsg *g)
{
	size_t i;

	for (i = f->ncap; i > 0; i--)
		if (gx_gmsg(&f->cap[i - 1], g) && g->type == type)
			return &f->cap[i - 1];
	return NULL;
}

/* The peer's MP_CAPABLE v1 SYN on sf, with a group REQ when req is set.
 * Returns the SYN-ACK (the stack's key is then in f->stack_key), or NULL. */
static const fx_cap *gx_syn(fx *f, fx_sf *sf, bool req)
{
	mps_gmsg g = {.type = MPS_GMSG_REQ};
	const fx_cap *sa;
	mps_opts o;

	fx_opt_syn(f, sf, &o);
	o.present |= MPS_OPT_MPC;
	o.mpc.version = 1;
	o.mpc.flags = MPS_MPC_FLAG_H;
	if (req)
		CU_ASSERT_FATAL(mps_gmsg_put(&o, &g) == 0);
	fx_send(f, sf, (fx_seg){.flags = MPS_TH_SYN, .o = &o, .no_ts = true});
	sa = fx_last(f, sf, MPS_TH_SYN | MPS_TH_ACK, MPS_TH_SYN | MPS_TH_ACK);
	if (sa != NULL) {
		sf->rcv_nxt = sf->irs + 1;
		sf->ts = (sa->o.present & MPS_OPT_TS) != 0;
		f->mptcp = (sa->o.present & MPS_OPT_MPC) != 0;
	}
	return sa;
}

/* The MP_CAPABLE third ACK with both keys (RFC 8684 §3.1). */
static void gx_third_ack(fx *f, fx_sf *sf)
{
	mps_opts o;

	memset(&o, 0, sizeof(o));
	o.present = MPS_OPT_MPC;
	o.mpc.version = 1;
	o.mpc.flags = MPS_MPC_FLAG_H;
	o.mpc.nkeys = 2;
	o.mpc.key_sender = f->key;
	o.mpc.key_receiver = f->stack_key;
	f->data_ack = f->stack_idsn + 1;
	CU_ASSERT_FATAL(fx_send(f, sf, (fx_seg){.flags = MPS_TH_ACK, .o = &o}) == 0);
}

/* The accepting server of a group connection: group key gk, N forced to n,
 * handshake done with a group REQ; f->conn is the connection. */
static void gx_setup_accepting(fx *f, const uint8_t *gk, uint64_t n)
{
	const fx_cap *sa;

	gx_init_server(f, (fx_opts){.mptcp = true}, gk);
	fx_force_key(f, GX_RANDOM_KEY);
	fx_force_key(f, n);
	sa = gx_syn(f, &f->sf[0], true);
	CU_ASSERT_FATAL(sa != NULL);
	CU_ASSERT_FATAL(f->mptcp);
	fx_advance(f, 10 * FX_MS);
	gx_third_ack(f, &f->sf[0]);
	CU_ASSERT_FATAL(f->conn != NULL);
}

/* The peer's group JOIN SYN on sf: MSS, SACK-permitted, window scale and
 * the JOIN message (no timestamps: doc/protocol.md).  Returns the SYN-ACK,
 * or NULL. */
static const fx_cap *gx_join_syn(fx *f, fx_sf *sf, uint32_t token, uint64_t n)
{
	mps_gmsg g = {
	    .type = MPS_GMSG_JOIN, .addr_id = sf->addr_id, .token = token, .n = n, .key_c = f->key};
	const fx_cap *sa;
	mps_opts o;

	sf->nonce = 0xa5a50000u + sf->addr_id;
	g.nonce = sf->nonce;
	fx_opt_syn(f, sf, &o);
	o.present &= ~MPS_OPT_TS;
	CU_ASSERT_FATAL(mps_gmsg_put(&o, &g) == 0);
	fx_send(f, sf, (fx_seg){.flags = MPS_TH_SYN, .o = &o, .no_ts = true});
	sa = fx_last(f, sf, MPS_TH_SYN | MPS_TH_ACK, MPS_TH_SYN | MPS_TH_ACK);
	if (sa != NULL) {
		sf->rcv_nxt = sf->irs + 1;
		sf->ts = (sa->o.present & MPS_OPT_TS) != 0;
	}
	return sa;
}

/* The join third ACK: HMAC(Key-C‖Key-S, R-A‖R-B), leftmost 160 bits
 * (RFC 8684 §3.2), spoiled when good is false. */
static int gx_join_ack(fx *f, fx_sf *sf, uint64_t key_s, bool good)
{
	mps_opts o;

	memset(&o, 0, sizeof(o));
	o.present = MPS_OPT_JOIN;
	o.join.form = MPS_JOIN_ACK;
	mps_join_hmac160(o.join.hmac160, f->key, key_s, sf->nonce, sf->stack_nonce);
	if (!good)
		o.join.hmac160[3] ^= 0x10;
	return fx_send(f, sf, (fx_seg){.flags = MPS_TH_ACK, .o = &o});
}

/* A member of the group of gk that accepted a right group JOIN for the
 * connection with nonce n; f->conn is that connection, and the peer's view
 * of the member's keys is filled in (the member never sends its key). */
static void gx_setup_member(fx *f, const uint8_t *gk, uint64_t n)
{
	uint64_t key_s = mps_group_server_key(gk, n);
	const fx_cap *sa;

	gx_init_server(f, (fx_opts){.mptcp = true}, gk);
	sa = gx_join_syn(f, &f->sf[0], mps_key_token(key_s), n);
	CU_ASSERT_FATAL(sa != NULL);
	fx_advance(f, 10 * FX_MS);
	CU_ASSERT_FATAL(gx_join_ack(f, &f->sf[0], key_s, true) == 0);
	CU_ASSERT_FATAL(f->conn != NULL);
	f->mptcp = true;
	f->stack_key = key_s;
	mps_key_token_idsn(key_s, &f->stack_token, &f->stack_idsn);
	f->data_ack = f->stack_idsn + 1;
	f->dsn_seen = f->stack_idsn + 1;
}

/* An ACK on sf with the DATA_ACK f->data_ack and a RANGE asking for
 * [dsn, dsn + len). */
static int gx_range(fx *f, fx_sf *sf, uint64_t dsn, uint32_t len)
{
	mps_gmsg g = {.type = MPS_GMSG_RANGE, .dsn = dsn, .len = len};
	mps_opts o;

	memset(&o, 0, sizeof(o));
	fx_opt_data_ack(f, &o);
	CU_ASSERT_FATAL(mps_gmsg_put(&o, &g) == 0);
	sf->rcv_nxt = sf->seen_nxt;
	return fx_send(f, sf, (fx_seg){.flags = MPS_TH_ACK, .o = &o});
}

/* What the stack sent on sf as downstream data, placed by DSN: byte
 * dsn - base goes to buf and is marked in got (both len long).  Counts in
 * *outside the bytes mapped outside [base, base + len) and in *bad the
 * data segments without a usable mapping.  Returns the payload bytes seen. */
static size_t gx_collect(const fx *f, const fx_sf *sf, uint64_t base, uint8_t *buf, bool *got,
			 size_t len, size_t *outside, size_t *bad)
{
	size_t i, total = 0;

	*outside = *bad = 0;
	for (i = 0; i < f->ncap; i++) {
		const fx_cap *c = &f->cap[i];
		uint32_t rel;
		size_t k;
		if (c->rc != 0 || c->p.paylen == 0 || !mps_addr_eq(&c->p.dst, &sf->peer))
			continue;
		total += c->p.paylen;
		if (c->orc != 0 || !(c->o.present & MPS_OPT_DSS) || !c->o.dss.has_map ||
		    !c->o.dss.map64) {
			(*bad)++;
			continue;
		}
		rel = c->p.seq - sf->irs; /* relative subflow sequence number */
		if (rel < c->o.dss.ssn || rel + c->p.paylen > c->o.dss.ssn + c->o.dss.dll) {
			(*bad)++;
			continue;
		}
		for (k = 0; k < c->p.paylen; k++) {
			uint64_t dsn = c->o.dss.dsn + (rel - c->o.dss.ssn) + k;
			if (dsn < base || dsn - base >= len) {
				(*outside)++;
				continue;
			}
			buf[dsn - base] = c->p.payload[k];
			got[dsn - base] = true;
		}
	}
	return total;
}

/* Are got[a, b) all set, and nothing else in got[0, len)? */
static bool gx_exactly(const bool *got, size_t len, size_t a, size_t b)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (got[i] != (i >= a && i < b))
			return false;
	return true;
}

/* --- the accepting server ------------------------------------------------------- */

static void test_gconn_group_req_gets_group_ack_and_key_from_ticket_nonce(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN];
	const fx_cap *sa, *tc;
	mps_gmsg g;
	fx f;

	gx_key(gk, 1);
	gx_init_server(&f, (fx_opts){.mptcp = true}, gk);
	fx_force_key(&f, GX_RANDOM_KEY);
	fx_force_key(&f, GX_N);
	sa = gx_syn(&f, &f.sf[0], true);
	CU_ASSERT_FATAL(sa != NULL);
	CU_ASSERT_FATAL(sa->o.present & MPS_OPT_MPC);
	CU_ASSERT_FATAL(gx_gmsg(sa, &g));
	CU_ASSERT_EQUAL(g.type, MPS_GMSG_ACK);
	CU_ASSERT_EQUAL(g.version, MPS_GROUP_VERSION);
	/* Key-S = KDF(group key, N): not the random key it would draw. */
	CU_ASSERT_NOT_EQUAL(f.stack_key, GX_RANDOM_KEY);
	CU_ASSERT_EQUAL(f.stack_key, mps_group_server_key(gk, GX_N));
	fx_advance(&f, 10 * FX_MS);
	fx_clear(&f);
	gx_third_ack(&f, &f.sf[0]);
	CU_ASSERT_FATAL(f.conn != NULL);
	CU_ASSERT_EQUAL(f.nev[MPS_EV_ACCEPT], 1);
	tc = gx_last_gmsg(&f, MPS_GMSG_TICKET, &g);
	CU_ASSERT_FATAL(tc != NULL);
	CU_ASSERT_EQUAL(tc->p.paylen, 0); /* on a pure ACK */
	CU_ASSERT_EQUAL(g.n, GX_N);
	/* The token the client will send in a JOIN is that of KDF(gk, N). */
	CU_ASSERT_EQUAL(f.stack_token, mps_key_token(mps_group_server_key(gk, g.n)));
	fx_free(&f);
}

static void test_gconn_syn_without_req_gets_a_random_key_and_no_ack(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN];
	const fx_cap *sa;
	fx f;

	gx_key(gk, 1);
	gx_init_server(&f, (fx_opts){.mptcp = true}, gk);
	fx_force_key(&f, GX_RANDOM_KEY);
	fx_force_key(&f, GX_N);
	sa = gx_syn(&f, &f.sf[0], false);
	CU_ASSERT_FATAL(sa != NULL);
	CU_ASSERT_FATAL(sa->o.present & MPS_OPT_MPC);
	CU_ASSERT_EQUAL(sa->o.present & MPS_OPT_EXP, 0);
	CU_ASSERT_EQUAL(f.stack_key, GX_RANDOM_KEY);
	fx_advance(&f, 10 * FX_MS);
	fx_clear(&f);
	gx_third_ack(&f, &f.sf[0]);
	CU_ASSERT_FATAL(f.conn != NULL);
	fx_advance(&f, 1000 * FX_MS);
	CU_ASSERT_EQUAL(fx_count_opt(&f, NULL, MPS_OPT_EXP), 0); /* no TICKET either */
	fx_free(&f);
}

static void test_gconn_stack_without_group_key_ignores_req(void)
{
	const fx_cap *sa;
	fx f;

	gx_init_server(&f, (fx_opts){.mptcp = true}, NULL);
	fx_force_key(&f, GX_RANDOM_KEY);
	fx_force_key(&f, GX_N);
	sa = gx_syn(&f, &f.sf[0], true);
	CU_ASSERT_FATAL(sa != NULL);
	CU_ASSERT_FATAL(sa->o.present & MPS_OPT_MPC); /* still a standard MPTCP server */
	CU_ASSERT_EQUAL(sa->o.present & MPS_OPT_EXP, 0);
	CU_ASSERT_EQUAL(f.stack_key, GX_RANDOM_KEY);
	fx_advance(&f, 10 * FX_MS);
	fx_clear(&f);
	gx_third_ack(&f, &f.sf[0]);
	CU_ASSERT_FATAL(f.conn != NULL);
	fx_advance(&f, 1000 * FX_MS);
	CU_ASSERT_EQUAL(fx_count_opt(&f, NULL, MPS_OPT_EXP), 0);
	fx_free(&f);
}

/* The client's confirmation: an ACK with the DATA_ACK and a TICKET_ACK. */
static void gx_ticket_ack(fx *f, fx_sf *sf)
{
	mps_gmsg g = {.type = MPS_GMSG_TICKET_ACK};
	mps_opts o;

	memset(&o, 0, sizeof(o));
	fx_opt_data_ack(f, &o);
	CU_ASSERT_FATAL(mps_gmsg_put(&o, &g) == 0);
	sf->rcv_nxt = sf->seen_nxt;
	CU_ASSERT_EQUAL(fx_send(f, sf, (fx_seg){.flags = MPS_TH_ACK, .o = &o}), 0);
}

/* The client's first TICKET was lost: while it keeps talking (ACKs, here
 * every 250 ms) the TICKET comes again; the TICKET_ACK stops it, with data
 * flowing too. */
static void test_gconn_ticket_repeats_until_ticket_ack(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN], data[GX_TICKET_DATA];
	mps_gmsg g;
	int k;
	fx f;

	gx_key(gk, 2);
	gx_setup_accepting(&f, gk, GX_N);
	fx_clear(&f);
	for (k = 0; k < 4; k++) {
		fx_advance(&f, 250 * FX_MS);
		fx_ack(&f, &f.sf[0]);
	}
	CU_ASSERT(gx_count_gmsg(&f, &f.sf[0], MPS_GMSG_TICKET) >= 3);
	CU_ASSERT_FATAL(gx_last_gmsg(&f, MPS_GMSG_TICKET, &g) != NULL);
	CU_ASSERT_EQUAL(g.n, GX_N);
	gx_ticket_ack(&f, &f.sf[0]);
	fx_advance(&f, 10 * FX_MS); /* an ACK already on its way may still carry one */
	fx_clear(&f);
	fx_pattern(data, sizeof(data), 63);
	CU_ASSERT_EQUAL(mps_conn_send(f.conn, data, sizeof(data), f.now), (ssize_t)sizeof(data));
	gx_range(&f, &f.sf[0], f.stack_idsn + 1, sizeof(data));
	for (k = 0; k < 20; k++) {
		fx_advance(&f, 100 * FX_MS);
		fx_ack(&f, &f.sf[0]);
	}
	CU_ASSERT(fx_count_data(&f, NULL) > 0);
	CU_ASSERT_EQUAL(gx_count_gmsg(&f, NULL, MPS_GMSG_TICKET), 0);
	CU_ASSERT(!f.closed);
	fx_free(&f);
}

/* Known failure: the TICKET timer (gc_timer, server branch, every
 * GS_TICKET_EVERY) only raises ack_now and sends nothing, so on a
 * connection where the client says nothing the TICKET is not repeated. */
static void test_gconn_ticket_repeats_on_an_idle_connection(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN];
	fx f;

	gx_key(gk, 2);
	gx_setup_accepting(&f, gk, GX_N);
	fx_clear(&f);
	fx_advance(&f, 1000 * FX_MS);
	CU_ASSERT(gx_count_gmsg(&f, &f.sf[0], MPS_GMSG_TICKET) >= 3);
	gx_ticket_ack(&f, &f.sf[0]);
	fx_advance(&f, 10 * FX_MS);
	fx_clear(&f);
	fx_advance(&f, 1000 * FX_MS);
	CU_ASSERT_EQUAL(gx_count_gmsg(&f, NULL, MPS_GMSG_TICKET), 0);
	fx_free(&f);
}

/* --- a member: the group JOIN ------------------------------------------------------ */

static void test_gconn_join_with_token_not_matching_n_is_refused_without_state(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN];
	uint32_t tok;
	const fx_cap *r;
	fx f;

	gx_key(gk, 3);
	gx_init_server(&f, (fx_opts){.mptcp = true}, gk);
	tok = mps_key_token(mps_group_server_key(gk, GX_N));
	CU_ASSERT_PTR_NULL(gx_join_syn(&f, &f.sf[0], tok ^ 0x00010000u, GX_N));
	r = fx_last(&f, &f.sf[0], MPS_TH_RST, MPS_TH_RST);
	CU_ASSERT_FATAL(r != NULL);
	CU_ASSERT_EQUAL(r->p.ack, f.sf[0].iss + 1);
	CU_ASSERT_EQUAL(fx_stats(&f).group_joins_refused, 1);
	CU_ASSERT_EQUAL(fx_stats(&f).group_joins_accepted, 0);
	CU_ASSERT_PTR_NULL(mps_stack_conn_first(f.s));
	/* The right token with another N is no better. */
	fx_sf_add(&f, "10.77.0.2:40001", NULL);
	CU_ASSERT_PTR_NULL(gx_join_syn(&f, &f.sf[1], tok, GX_N + 1));
	CU_ASSERT_EQUAL(fx_count(&f, &f.sf[1], MPS_TH_RST, MPS_TH_RST), 1);
	CU_ASSERT_EQUAL(fx_stats(&f).group_joins_refused, 2);
	CU_ASSERT_PTR_NULL(mps_stack_conn_first(f.s));
	CU_ASSERT_EQUAL(f.nev[MPS_EV_ACCEPT], 0);
	fx_free(&f);
}

static void test_gconn_join_with_key_of_another_group_is_refused_without_state(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN], other[MPS_GROUP_KEY_LEN];
	fx f;

	gx_key(gk, 3);
	gx_key(other, 4);
	gx_init_server(&f, (fx_opts){.mptcp = true}, gk);
	/* A connection that a server of another group accepted. */
	CU_ASSERT_PTR_NULL(
	    gx_join_syn(&f, &f.sf[0], mps_key_token(mps_group_server_key(other, GX_N)), GX_N));
	CU_ASSERT_EQUAL(fx_count(&f, &f.sf[0], MPS_TH_RST, MPS_TH_RST), 1);
	CU_ASSERT_EQUAL(fx_stats(&f).group_joins_refused, 1);
	CU_ASSERT_PTR_NULL(mps_stack_conn_first(f.s));
	fx_free(&f);
}

/* Key rotation (doc/protocol.md "Group key rotation"): a server holding the
 * new key and the previous one answers joins for connections accepted under
 * either, and accepts new connections under the new one only. */
static void test_gconn_join_under_the_previous_key_is_accepted_while_rotating(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN], prev[MPS_GROUP_KEY_LEN], old[MPS_GROUP_KEY_LEN];
	uint64_t key_s;
	fx f;

	gx_key(gk, 13);
	gx_key(prev, 14);
	gx_key(old, 15);
	/* a join for a connection accepted under the previous key */
	key_s = mps_group_server_key(prev, GX_N);
	gx_init_server_rot(&f, (fx_opts){.mptcp = true}, gk, prev);
	CU_ASSERT_FATAL(gx_join_syn(&f, &f.sf[0], mps_key_token(key_s), GX_N) != NULL);
	fx_advance(&f, 10 * FX_MS);
	CU_ASSERT_EQUAL(gx_join_ack(&f, &f.sf[0], key_s, true), 0);
	CU_ASSERT_FATAL(f.conn != NULL);
	CU_ASSERT_EQUAL(fx_stats(&f).group_joins_accepted, 1);
	fx_free(&f);
	/* one under a key older than that: refused, no state */
	gx_init_server_rot(&f, (fx_opts){.mptcp = true}, gk, prev);
	CU_ASSERT_PTR_NULL(
	    gx_join_syn(&f, &f.sf[0], mps_key_token(mps_group_server_key(old, GX_N)), GX_N));
	CU_ASSERT_EQUAL(fx_stats(&f).group_joins_refused, 1);
	CU_ASSERT_PTR_NULL(mps_stack_conn_first(f.s));
	fx_free(&f);
	/* a new connection: its key comes from the current group key */
	gx_init_server_rot(&f, (fx_opts){.mptcp = true}, gk, prev);
	fx_force_key(&f, GX_RANDOM_KEY);
	fx_force_key(&f, GX_N);
	CU_ASSERT_FATAL(gx_syn(&f, &f.sf[0], true) != NULL);
	CU_ASSERT_EQUAL(f.stack_key, mps_group_server_key(gk, GX_N));
	fx_free(&f);
}

static void test_gconn_join_to_stack_without_group_key_is_refused(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN];
	fx f;

	gx_key(gk, 3);
	gx_init_server(&f, (fx_opts){.mptcp = true}, NULL);
	CU_ASSERT_PTR_NULL(
	    gx_join_syn(&f, &f.sf[0], mps_key_token(mps_group_server_key(gk, GX_N)), GX_N));
	CU_ASSERT_EQUAL(fx_count(&f, &f.sf[0], MPS_TH_RST, MPS_TH_RST), 1);
	CU_ASSERT_PTR_NULL(mps_stack_conn_first(f.s));
	fx_free(&f);
}

static void test_gconn_join_synack_carries_hmac_of_derived_key(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN];
	uint64_t key_s;
	const fx_cap *sa;
	fx f;

	gx_key(gk, 5);
	key_s = mps_group_server_key(gk, GX_N);
	gx_init_server(&f, (fx_opts){.mptcp = true}, gk);
	sa = gx_join_syn(&f, &f.sf[0], mps_key_token(key_s), GX_N);
	CU_ASSERT_FATAL(sa != NULL);
	CU_ASSERT_EQUAL(sa->p.ack, f.sf[0].iss + 1);
	CU_ASSERT_FATAL(sa->o.present & MPS_OPT_JOIN);
	CU_ASSERT_EQUAL(sa->o.join.form, MPS_JOIN_SYNACK);
	/* Leftmost 64 bits of HMAC(Key-S‖Key-C, R-B‖R-A) (RFC 8684 §3.2). */
	CU_ASSERT_EQUAL(sa->o.join.hmac64,
			mps_join_hmac64(key_s, f.key, sa->o.join.nonce, f.sf[0].nonce));
	/* No timestamps were offered, none come back. */
	CU_ASSERT_EQUAL(sa->o.present & MPS_OPT_TS, 0);
	/* Nothing is accepted before the third ACK's HMAC is checked. */
	CU_ASSERT_EQUAL(f.nev[MPS_EV_ACCEPT], 0);
	fx_free(&f);
}

static void test_gconn_join_with_right_third_ack_is_accepted(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN];
	uint64_t key_s;
	mps_conn_info ci;
	fx f;

	gx_key(gk, 5);
	key_s = mps_group_server_key(gk, GX_N);
	gx_init_server(&f, (fx_opts){.mptcp = true}, gk);
	CU_ASSERT_FATAL(gx_join_syn(&f, &f.sf[0], mps_key_token(key_s), GX_N) != NULL);
	fx_advance(&f, 10 * FX_MS);
	fx_clear(&f);
	CU_ASSERT_EQUAL(gx_join_ack(&f, &f.sf[0], key_s, true), 0);
	CU_ASSERT_EQUAL(f.nev[MPS_EV_ACCEPT], 1);
	CU_ASSERT_FATAL(f.conn != NULL);
	CU_ASSERT_EQUAL(fx_count(&f, &f.sf[0], MPS_TH_RST, MPS_TH_RST), 0);
	CU_ASSERT(fx_count(&f, &f.sf[0], 0xff, MPS_TH_ACK) >= 1); /* the fourth ACK */
	CU_ASSERT_EQUAL(fx_stats(&f).group_joins_accepted, 1);
	CU_ASSERT_EQUAL(fx_stats(&f).group_joins_refused, 0);
	mps_conn_get_info(f.conn, &ci, NULL, 0);
	CU_ASSERT(ci.mptcp);
	CU_ASSERT(ci.group);
	CU_ASSERT(ci.is_server);
	CU_ASSERT_EQUAL(ci.local_token, mps_key_token(key_s));
	CU_ASSERT_EQUAL(ci.remote_token, f.token);
	/* A member gives no TICKET: the client has N already. */
	fx_advance(&f, 1000 * FX_MS);
	CU_ASSERT_EQUAL(gx_count_gmsg(&f, NULL, MPS_GMSG_TICKET), 0);
	fx_free(&f);
}

static void test_gconn_join_with_wrong_third_ack_is_reset_without_state(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN];
	uint64_t key_s;
	fx f;

	gx_key(gk, 5);
	key_s = mps_group_server_key(gk, GX_N);
	gx_init_server(&f, (fx_opts){.mptcp = true}, gk);
	CU_ASSERT_FATAL(gx_join_syn(&f, &f.sf[0], mps_key_token(key_s), GX_N) != NULL);
	fx_advance(&f, 10 * FX_MS);
	fx_clear(&f);
	gx_join_ack(&f, &f.sf[0], key_s, false);
	CU_ASSERT_EQUAL(fx_count(&f, &f.sf[0], MPS_TH_RST, MPS_TH_RST), 1);
	CU_ASSERT_EQUAL(f.nev[MPS_EV_ACCEPT], 0);
	CU_ASSERT_PTR_NULL(f.conn);
	CU_ASSERT_EQUAL(fx_stats(&f).group_joins_accepted, 0);
	CU_ASSERT_PTR_NULL(mps_stack_conn_first(f.s));
	/* ...and nothing appears later either. */
	fx_advance(&f, 1000 * FX_MS);
	CU_ASSERT_PTR_NULL(mps_stack_conn_first(f.s));
	CU_ASSERT_EQUAL(f.nev[MPS_EV_ACCEPT], 0);
	fx_free(&f);
}

/* --- a member: ranges ---------------------------------------------------------------- */

#define GX_DATA 20000

static void gx_member_with_data(fx *f, const uint8_t *gk, uint8_t *data)
{
	gx_setup_member(f, gk, GX_N);
	fx_pattern(data, GX_DATA, 61);
	fx_advance(f, 10 * FX_MS);
	fx_clear(f);
	CU_ASSERT_EQUAL_FATAL(mps_conn_send(f->conn, data, GX_DATA, f->now), GX_DATA);
}

static void test_gconn_member_sends_nothing_before_a_range(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN], data[GX_DATA];
	fx f;

	gx_key(gk, 6);
	gx_member_with_data(&f, gk, data);
	fx_advance(&f, 2000 * FX_MS);
	fx_ack(&f, &f.sf[0]);
	fx_advance(&f, 2000 * FX_MS);
	CU_ASSERT_EQUAL(fx_count_data(&f, NULL), 0);
	fx_free(&f);
}

static void test_gconn_member_sends_exactly_the_ranges_asked(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN], data[GX_DATA], got[GX_DATA];
	bool have[GX_DATA];
	size_t outside, bad, i;
	uint64_t base;
	fx f;

	gx_key(gk, 6);
	gx_member_with_data(&f, gk, data);
	base = f.stack_idsn + 1; /* the DSN of the stream's first byte */
	CU_ASSERT_EQUAL(gx_range(&f, &f.sf[0], base + 5000, 4000), 0);
	CU_ASSERT_EQUAL(gx_range(&f, &f.sf[0], base + 12000, 1500), 0);
	fx_advance(&f, 300 * FX_MS);
	fx_ack(&f, &f.sf[0]);
	fx_advance(&f, 300 * FX_MS);
	memset(have, 0, sizeof(have));
	gx_collect(&f, &f.sf[0], base, got, have, GX_DATA, &outside, &bad);
	CU_ASSERT_EQUAL(outside, 0);
	CU_ASSERT_EQUAL(bad, 0);
	for (i = 0; i < GX_DATA; i++)
		if (have[i] != ((i >= 5000 && i < 9000) || (i >= 12000 && i < 13500)))
			break;
	CU_ASSERT_EQUAL(i, GX_DATA);
	CU_ASSERT_EQUAL(memcmp(got + 5000, data + 5000, 4000), 0);
	CU_ASSERT_EQUAL(memcmp(got + 12000, data + 12000, 1500), 0);
	fx_free(&f);
}

static void test_gconn_member_sends_nothing_below_the_data_ack(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN], data[GX_DATA], got[GX_DATA];
	bool have[GX_DATA];
	size_t outside, bad;
	uint64_t base;
	fx f;

	gx_key(gk, 7);
	gx_member_with_data(&f, gk, data);
	base = f.stack_idsn + 1;
	/* The client got the first 15000 bytes from another member. */
	f.data_ack = base + 15000;
	CU_ASSERT_EQUAL(gx_range(&f, &f.sf[0], base + 6000, 4000), 0);
	fx_advance(&f, 300 * FX_MS);
	CU_ASSERT_EQUAL(fx_count_data(&f, NULL), 0);
	/* A range across the DATA_ACK: only the part above it. */
	CU_ASSERT_EQUAL(gx_range(&f, &f.sf[0], base + 14000, 2000), 0);
	fx_advance(&f, 300 * FX_MS);
	memset(have, 0, sizeof(have));
	gx_collect(&f, &f.sf[0], base, got, have, GX_DATA, &outside, &bad);
	CU_ASSERT_EQUAL(outside, 0);
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(gx_exactly(have, GX_DATA, 15000, 16000));
	CU_ASSERT_EQUAL(memcmp(got + 15000, data + 15000, 1000), 0);
	fx_free(&f);
}

/* --- DSN spaces --------------------------------------------------------------------------- */

static void test_gconn_member_dsn_space_equals_the_accepting_servers(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN], data[GX_DATA], got_a[GX_DATA], got_m[GX_DATA];
	bool have_a[GX_DATA], have_m[GX_DATA];
	size_t outside, bad;
	uint64_t base;
	mps_gmsg g;
	fx a, m;

	gx_key(gk, 8);
	fx_pattern(data, GX_DATA, 62);
	/* The accepting server: its N comes in the TICKET. */
	gx_setup_accepting(&a, gk, GX_N);
	CU_ASSERT_FATAL(gx_last_gmsg(&a, MPS_GMSG_TICKET, &g) != NULL);
	CU_ASSERT_EQUAL_FATAL(g.n, GX_N);
	base = a.stack_idsn + 1;
	/* The member, joined with that N and the same client key. */
	gx_setup_member(&m, gk, g.n);
	CU_ASSERT_EQUAL(m.stack_idsn, a.stack_idsn);
	fx_advance(&a, 10 * FX_MS);
	fx_advance(&m, 10 * FX_MS);
	fx_clear(&a);
	fx_clear(&m);
	CU_ASSERT_EQUAL_FATAL(mps_conn_send(a.conn, data, GX_DATA, a.now), GX_DATA);
	CU_ASSERT_EQUAL_FATAL(mps_conn_send(m.conn, data, GX_DATA, m.now), GX_DATA);
	/* The same RANGE to both: the same bytes at the same DSNs. */
	gx_range(&a, &a.sf[0], base + 3000, 2000);
	gx_range(&m, &m.sf[0], base + 3000, 2000);
	fx_advance(&a, 300 * FX_MS);
	fx_advance(&m, 300 * FX_MS);
	memset(have_a, 0, sizeof(have_a));
	memset(have_m, 0, sizeof(have_m));
	gx_collect(&a, &a.sf[0], base, got_a, have_a, GX_DATA, &outside, &bad);
	CU_ASSERT_EQUAL(outside + bad, 0);
	gx_collect(&m, &m.sf[0], base, got_m, have_m, GX_DATA, &outside, &bad);
	CU_ASSERT_EQUAL(outside + bad, 0);
	/* The accepting server also sends its implicit first range, which
	 * covers all of the data here. */
	CU_ASSERT(gx_exactly(have_a, GX_DATA, 0, GX_DATA));
	CU_ASSERT(gx_exactly(have_m, GX_DATA, 3000, 5000));
	CU_ASSERT_EQUAL(memcmp(got_a, data, GX_DATA), 0);
	CU_ASSERT_EQUAL(memcmp(got_m + 3000, data + 3000, 2000), 0);
	fx_free(&a);
	fx_free(&m);
}

/* --- short and idle streams (doc/protocol.md "Short and idle streams") ------------------- */

/* An ACK on sf with the DATA_ACK f->data_ack and a PROBE for [dsn, dsn + len). */
static int gx_probe(fx *f, fx_sf *sf, uint64_t dsn, uint32_t len)
{
	mps_gmsg g = {.type = MPS_GMSG_PROBE, .dsn = dsn, .len = len};
	mps_opts o;

	memset(&o, 0, sizeof(o));
	fx_opt_data_ack(f, &o);
	CU_ASSERT_FATAL(mps_gmsg_put(&o, &g) == 0);
	sf->rcv_nxt = sf->seen_nxt;
	return fx_send(f, sf, (fx_seg){.flags = MPS_TH_ACK, .o = &o});
}

/* The IDLE messages the stack sent, in order: their DSNs into dsns (up to
 * max); returns how many. */
static size_t gx_idles(const fx *f, uint64_t *dsns, size_t max)
{
	size_t i, n = 0;
	mps_gmsg g;

	for (i = 0; i < f->ncap; i++)
		if (gx_gmsg(&f->cap[i], &g) && g.type == MPS_GMSG_IDLE) {
			CU_ASSERT_EQUAL(f->cap[i].p.paylen, 0); /* on a pure ACK */
			if (n < max)
				dsns[n] = g.dsn;
			n++;
		}
	return n;
}

static void test_gconn_accepting_server_sends_a_short_response_without_waiting(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN], data[300], got[300];
	bool have[300];
	size_t outside, bad;
	uint64_t base, idle[4];
	fx f;

	gx_key(gk, 9);
	gx_setup_accepting(&f, gk, GX_N);
	base = f.stack_idsn + 1;
	fx_advance(&f, 10 * FX_MS);
	fx_clear(&f);
	/* A 300-byte answer, far below GROUP_PROBE, with no RANGE yet: the
	 * first range is asked implicitly and goes at once. */
	fx_pattern(data, sizeof(data), 63);
	CU_ASSERT_EQUAL_FATAL(mps_conn_send(f.conn, data, sizeof(data), f.now), (ssize_t)sizeof(data));
	fx_advance(&f, 1 * FX_MS);
	memset(have, 0, sizeof(have));
	gx_collect(&f, &f.sf[0], base, got, have, sizeof(data), &outside, &bad);
	CU_ASSERT_EQUAL(outside + bad, 0);
	CU_ASSERT(gx_exactly(have, sizeof(data), 0, sizeof(data)));
	CU_ASSERT_EQUAL(memcmp(got, data, sizeof(data)), 0);
	/* ...and then it says where its writes end. */
	CU_ASSERT_FATAL(gx_idles(&f, idle, 4) >= 1);
	CU_ASSERT_EQUAL(idle[gx_idles(&f, idle, 4) - 1], base + sizeof(data));
	fx_free(&f);
}

static void test_gconn_server_says_idle_where_its_writes_end(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN], data[GX_DATA];
	uint64_t base, idle[8];
	size_t n;
	fx f;

	gx_key(gk, 10);
	gx_setup_member(&f, gk, GX_N);
	fx_pattern(data, GX_DATA, 64);
	base = f.stack_idsn + 1;
	fx_advance(&f, 10 * FX_MS);
	fx_clear(&f);
	/* Asked for more than the application wrote: what is written goes,
	 * then an IDLE at the end of the writes. */
	CU_ASSERT_EQUAL(gx_range(&f, &f.sf[0], base + 4096, 60000), 0);
	fx_advance(&f, 1 * FX_MS);
	CU_ASSERT_EQUAL_FATAL(gx_idles(&f, idle, 8), 1);
	CU_ASSERT_EQUAL(idle[0], base); /* nothing written yet */
	fx_clear(&f);
	CU_ASSERT_EQUAL_FATAL(mps_conn_send(f.conn, data, 5000, f.now), 5000);
	fx_advance(&f, 1 * FX_MS);
	CU_ASSERT_EQUAL(fx_count_data(&f, NULL), 1); /* bytes 4096..5000 */
	CU_ASSERT_EQUAL_FATAL(gx_idles(&f, idle, 8), 1);
	CU_ASSERT_EQUAL(idle[0], base + 5000);
	/* The same RANGE again (the client thinks it was lost): the IDLE
	 * again, so a lost IDLE is repaired; nothing is sent twice. */
	fx_clear(&f);
	fx_ack(&f, &f.sf[0]);
	CU_ASSERT_EQUAL(gx_range(&f, &f.sf[0], base + 5000, 55096), 0);
	fx_advance(&f, 1 * FX_MS);
	CU_ASSERT_EQUAL(fx_count_data(&f, NULL), 0);
	n = gx_idles(&f, idle, 8);
	CU_ASSERT_EQUAL_FATAL(n, 1);
	CU_ASSERT_EQUAL(idle[0], base + 5000);
	/* An idle connection stays quiet: no IDLE without something new. */
	fx_clear(&f);
	fx_advance(&f, 30000 * FX_MS);
	CU_ASSERT_EQUAL(gx_idles(&f, idle, 8), 0);
	fx_free(&f);
}

static void test_gconn_probe_is_served_below_the_data_ack_from_the_kept_copy(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN], data[GX_DATA], got[GX_DATA];
	bool have[GX_DATA];
	size_t outside, bad;
	uint64_t base;
	fx f;

	gx_key(gk, 11);
	gx_member_with_data(&f, gk, data);
	base = f.stack_idsn + 1;
	/* The client has the first 15000 bytes from another member: a RANGE
	 * below that is done, a PROBE of the first bytes is answered from
	 * the copy the member keeps of them. */
	f.data_ack = base + 15000;
	CU_ASSERT_EQUAL(gx_range(&f, &f.sf[0], base + 100, 1000), 0);
	fx_advance(&f, 100 * FX_MS);
	CU_ASSERT_EQUAL(fx_count_data(&f, NULL), 0);
	CU_ASSERT_EQUAL(gx_probe(&f, &f.sf[0], base + 100, 1000), 0);
	fx_advance(&f, 100 * FX_MS);
	memset(have, 0, sizeof(have));
	gx_collect(&f, &f.sf[0], base, got, have, GX_DATA, &outside, &bad);
	CU_ASSERT_EQUAL(outside + bad, 0);
	CU_ASSERT(gx_exactly(have, GX_DATA, 100, 1100));
	CU_ASSERT_EQUAL(memcmp(got + 100, data + 100, 1000), 0);
	/* Beyond the first GROUP_PROBE bytes a PROBE asks nothing. */
	fx_clear(&f);
	CU_ASSERT_EQUAL(gx_probe(&f, &f.sf[0], base + 5000, 1000), 0);
	fx_advance(&f, 100 * FX_MS);
	CU_ASSERT_EQUAL(fx_count_data(&f, NULL), 0);
	fx_free(&f);
}

static void test_gconn_probe_of_bytes_not_written_waits_for_them(void)
{
	uint8_t gk[MPS_GROUP_KEY_LEN], data[GX_DATA], got[GX_DATA];
	bool have[GX_DATA];
	size_t outside, bad;
	uint64_t base, idle[4];
	fx f;

	gx_key(gk, 12);
	gx_setup_member(&f, gk, GX_N);
	fx_pattern(data, GX_DATA, 65);
	base = f.stack_idsn + 1;
	fx_advance(&f, 10 * FX_MS);
	fx_clear(&f);
	f.data_ack = base + 3000; /* the client has 3000 bytes from another server */
	CU_ASSERT_EQUAL(gx_probe(&f, &f.sf[0], base, 3000), 0);
	CU_ASSERT_EQUAL_FATAL(gx_idles(&f, idle, 4), 1);
	CU_ASSERT_EQUAL(idle[0], base); /* asked, nothing written */
	CU_ASSERT_EQUAL_FATAL(mps_conn_send(f.conn, data, 1000, f.now), 1000);
	fx_advance(&f, 10 * FX_MS);
	CU_ASSERT_EQUAL_FATAL(gx_idles(&f, idle, 4), 2);
	CU_ASSERT_EQUAL(idle[1], base + 1000); /* the probe waits for the rest */
	CU_ASSERT_EQUAL_FATAL(mps_conn_send(f.conn, data + 1000, 4000, f.now), 4000);
	fx_advance(&f, 10 * FX_MS);
	memset(have, 0, sizeof(have));
	gx_collect(&f, &f.sf[0], base, got, have, GX_DATA, &outside, &bad);
	CU_ASSERT_EQUAL(outside + bad, 0);
	CU_ASSERT(gx_exactly(have, GX_DATA, 0, 3000));
	CU_ASSERT_EQUAL(memcmp(got, data, 3000), 0);
	fx_free(&f);
}

static CU_TestInfo tests_gconn[] = {
    {"test_gconn_accepting_server_sends_a_short_response_without_waiting",
     test_gconn_accepting_server_sends_a_short_response_without_waiting},
    {"test_gconn_server_says_idle_where_its_writes_end", test_gconn_server_says_idle_where_its_writes_end},
    {"test_gconn_probe_is_served_below_the_data_ack_from_the_kept_copy",
     test_gconn_probe_is_served_below_the_data_ack_from_the_kept_copy},
    {"test_gconn_probe_of_bytes_not_written_waits_for_them",
     test_gconn_probe_of_bytes_not_written_waits_for_them},
    {"test_gconn_group_req_gets_group_ack_and_key_from_ticket_nonce",
     test_gconn_group_req_gets_group_ack_and_key_from_ticket_nonce},
    {"test_gconn_syn_without_req_gets_a_random_key_and_no_ack",
     test_gconn_syn_without_req_gets_a_random_key_and_no_ack},
    {"test_gconn_stack_without_group_key_ignores_req",
     test_gconn_stack_without_group_key_ignores_req},
    {"test_gconn_ticket_repeats_until_ticket_ack", test_gconn_ticket_repeats_until_ticket_ack},
    {"test_gconn_join_with_token_not_matching_n_is_refused_without_state",
     test_gconn_join_with_token_not_matching_n_is_refused_without_state},
    {"test_gconn_join_with_key_of_another_group_is_refused_without_state",
     test_gconn_join_with_key_of_another_group_is_refused_without_state},
    {"test_gconn_join_under_the_previous_key_is_accepted_while_rotating",
     test_gconn_join_under_the_previous_key_is_accepted_while_rotating},
    {"test_gconn_join_to_stack_without_group_key_is_refused",
     test_gconn_join_to_stack_without_group_key_is_refused},
    {"test_gconn_join_synack_carries_hmac_of_derived_key",
     test_gconn_join_synack_carries_hmac_of_derived_key},
    {"test_gconn_join_with_right_third_ack_is_accepted",
     test_gconn_join_with_right_third_ack_is_accepted},
    {"test_gconn_join_with_wrong_third_ack_is_reset_without_state",
     test_gconn_join_with_wrong_third_ack_is_reset_without_state},
    {"test_gconn_member_sends_nothing_before_a_range",
     test_gconn_member_sends_nothing_before_a_range},
    {"test_gconn_member_sends_exactly_the_ranges_asked",
     test_gconn_member_sends_exactly_the_ranges_asked},
    {"test_gconn_member_sends_nothing_below_the_data_ack",
     test_gconn_member_sends_nothing_below_the_data_ack},
    {"test_gconn_member_dsn_space_equals_the_accepting_servers",
     test_gconn_member_dsn_space_equals_the_accepting_servers},
    {"test_gconn_ticket_repeats_on_an_idle_connection",
     test_gconn_ticket_repeats_on_an_idle_connection},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(gconn, tests_gconn)

