/*
 * test_cc.c - congestion control (stack/cc.c): CUBIC (RFC 9438), NewReno,
 * the coupled LIA (RFC 6356) and OLIA, and how a stack picks them
 * (mps_config.cc, cc_coupled).
 *
 * The algorithms are driven directly on real subflows of a real connection
 * (conn_new + sf_new on a stack made with mps_stack_new), put in the state
 * the test needs (established, an RTT estimate, a window), in virtual time:
 * an ACK clock delivers one segment per ACK, cwnd/SMSS ACKs per RTT, as a
 * bulk sender sees them on a path without queueing.  Figures are checked
 * against the equations of the RFCs, computed here from first principles.
 */
#include "unit.h"

#include "core.h"

#include <stdlib.h>
#include <string.h>

#define CX_MSS 1000u
#define CX_MS 1000000ull
#define CX_S 1000000000ull
#define SEG(n) ((uint32_t)(n) * CX_MSS)

typedef struct cx {
	mps_stack *s;
	mps_conn *c;
	uint64_t now;
	uint32_t rnd;
	unsigned nsf;
} cx;

static void cx_output(void *user, const uint8_t *pkt, size_t len, const mps_out_meta *meta)
{
	(void)user;
	(void)pkt;
	(void)len;
	(void)meta;
}

static void cx_random(void *user, void *buf, size_t len)
{
	cx *x = user;
	uint8_t *b = buf;
	size_t i;

	for (i = 0; i < len; i++)
		b[i] = (uint8_t)(++x->rnd * 151u + 7u);
}

static int cx_new_stack(cx *x, const char *cc, const char *coupled)
{
	mps_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.cb.output = cx_output;
	cfg.cb.random = cx_random;
	cfg.user = x;
	cfg.cc = cc;
	cfg.cc_coupled = coupled;
	return mps_stack_new(&x->s, &cfg);
}

/* A stack with the given choice (NULL: its default) and one client
 * connection without subflows yet; time starts at 1 s. */
static void cx_init(cx *x, const char *cc, const char *coupled)
{
	memset(x, 0, sizeof(*x));
	CU_ASSERT_FATAL(cx_new_stack(x, cc, coupled) == 0);
	x->c = conn_new(x->s, false);
	CU_ASSERT_FATAL(x->c != NULL);
	x->now = CX_S;
}

static void cx_free(cx *x)
{
	mps_stack_free(x->s);
}

/* An established subflow to remote (an IPv4 address) with a smoothed RTT
 * of rtt_ms, its cc initialised (initial window, slow start). */
static mps_sf *cx_sf(cx *x, const char *remote, uint64_t rtt_ms)
{
	mps_addr l, r;
	char buf[40];
	mps_sf *sf;

	snprintf(buf, sizeof(buf), "10.77.0.2:%u", 40000 + x->nsf++);
	CU_ASSERT_FATAL(mps_addr_parse(&l, buf) == 0);
	snprintf(buf, sizeof(buf), "%s:80", remote);
	CU_ASSERT_FATAL(mps_addr_parse(&r, buf) == 0);
	sf = sf_new(x->c, &l, &r);
	CU_ASSERT_FATAL(sf != NULL);
	sf->state = SF_ESTABLISHED;
	sf->mss = CX_MSS;
	sf->srtt = rtt_ms * CX_MS;
	sf->rtt_valid = true;
	sf->snd_una = sf->snd_nxt = sf->snd_max = 1;
	sf->cc->init(sf);
	return sf;
}

/* Congestion avoidance at a window of segs segments (slow start ended). */
static void cx_ca(mps_sf *sf, uint32_t segs)
{
	sf->cwnd = SEG(segs);
	sf->ssthresh = sf->cwnd;
}

/* A loss detected with the whole window in flight. */
static void cx_loss(cx *x, mps_sf *sf)
{
	sf->snd_nxt = sf->snd_una + sf->cwnd;
	sf->cc->on_loss(sf, x->now);
	sf->snd_nxt = sf->snd_una;
}

static uint64_t cx_gap(const mps_sf *sf)
{
	uint64_t segs = sf->cwnd / CX_MSS;

	return sf->srtt / (segs > 0 ? segs : 1);
}

/* The ACK clock: for dur ns, each subflow gets one-segment ACKs at the
 * rate cwnd/RTT, in time order across subflows. */
static void cx_run(cx *x, mps_sf **sfs, size_t n, uint64_t dur)
{
	uint64_t next[CONN_MAX_SUBFLOWS], end = x->now + dur;
	size_t i;

	for (i = 0; i < n; i++)
		next[i] = x->now + cx_gap(sfs[i]);
	for (;;) {
		size_t k = 0;
		for (i = 1; i < n; i++)
			if (next[i] < next[k])
				k = i;
		if (next[k] > end)
			break;
		x->now = next[k];
		sfs[k]->cc->on_ack(sfs[k], CX_MSS, x->now);
		next[k] += cx_gap(sfs[k]);
	}
	x->now = end;
}

/* One window of ACKs (cwnd/SMSS of them, as many as were sent) spread
 * over one RTT. */
static void cx_round(cx *x, mps_sf *sf)
{
	uint64_t n = sf->cwnd / CX_MSS, i, t0 = x->now;

	for (i = 1; i <= n; i++) {
		x->now = t0 + sf->srtt * i / n;
		sf->cc->on_ack(sf, CX_MSS, x->now);
	}
}

static void cx_run1(cx *x, mps_sf *sf, uint64_t dur)
{
	cx_run(x, &sf, 1, dur);
}

static double cx_segs(const mps_sf *sf)
{
	return (double)sf->cwnd / CX_MSS;
}

static double cx_cbrt(double v)
{
	double y = v > 1 ? v / 3 : 1;
	int i;

	for (i = 0; i < 200; i++)
		y -= (y * y * y - v) / (3 * y * y);
	return y;
}

static double cx_abs(double v)
{
	return v < 0 ? -v : v;
}

/* RFC 9438 eq. (1) and (2) in segments and seconds, beta 0.7, C 0.4. */
static double cx_k(double wmax)
{
	return cx_cbrt(wmax * 0.3 / 0.4);
}

static double cx_wcubic(double wmax, double t)
{
	double d = t - cx_k(wmax);

	return 0.4 * d * d * d + wmax;
}

/* --- selection and configuration ------------------------------------------------ */

static void test_cc_registry_knows_every_algorithm(void)
{
	CU_ASSERT_PTR_EQUAL(mps_cc_find("cubic"), &mps_cc_cubic);
	CU_ASSERT_PTR_EQUAL(mps_cc_find("newreno"), &mps_cc_newreno);
	CU_ASSERT_PTR_EQUAL(mps_cc_find("lia"), &mps_cc_lia);
	CU_ASSERT_PTR_EQUAL(mps_cc_find("olia"), &mps_cc_olia);
	CU_ASSERT_PTR_NULL(mps_cc_find("reno"));
	CU_ASSERT_PTR_NULL(mps_cc_find("none"));
	CU_ASSERT_PTR_NULL(mps_cc_find(""));
	CU_ASSERT_PTR_NULL(mps_cc_find(NULL));
	CU_ASSERT_TRUE(mps_cc_valid("olia", false));
	CU_ASSERT_TRUE(mps_cc_valid("none", true));
	CU_ASSERT_TRUE(mps_cc_valid("lia", true));
	CU_ASSERT_FALSE(mps_cc_valid("none", false));
	CU_ASSERT_FALSE(mps_cc_valid("cubic", true)); /* not a coupled algorithm */
	CU_ASSERT_FALSE(mps_cc_valid("CUBIC", false));
}

static void test_cc_stack_refuses_unknown_names(void)
{
	cx x;

	memset(&x, 0, sizeof(x));
	CU_ASSERT_EQUAL(cx_new_stack(&x, "bbr", NULL), MPS_ERR_INVAL);
	CU_ASSERT_EQUAL(cx_new_stack(&x, NULL, "cubic"), MPS_ERR_INVAL);
	CU_ASSERT_EQUAL(cx_new_stack(&x, NULL, "nonsense"), MPS_ERR_INVAL);
	CU_ASSERT_EQUAL(cx_new_stack(&x, "", NULL), MPS_ERR_INVAL);
	CU_ASSERT_EQUAL(cx_new_stack(&x, "olia", "none"), 0);
	mps_stack_free(x.s);
}

static void test_cc_default_is_cubic_with_lia_when_coupled(void)
{
	cx x;
	mps_sf *sf;

	cx_init(&x, NULL, NULL);
	CU_ASSERT_PTR_EQUAL(x.s->cc, &mps_cc_cubic);
	CU_ASSERT_PTR_EQUAL(x.s->cc_coupled, &mps_cc_lia);
	CU_ASSERT_PTR_NULL(x.s->cfg.cc); /* names are not kept */
	sf = cx_sf(&x, "10.88.1.1", 50);
	CU_ASSERT_PTR_EQUAL(sf->cc, &mps_cc_lia);
	/* alone on its server it is CUBIC: beta 0.7 */
	cx_ca(sf, 100);
	cx_loss(&x, sf);
	CU_ASSERT_EQUAL(sf->cwnd, SEG(70));
	cx_free(&x);
}

static void test_cc_coupled_none_gives_every_subflow_cc(void)
{
	cx x;
	mps_sf *a, *b;

	cx_init(&x, "newreno", "none");
	CU_ASSERT_PTR_NULL(x.s->cc_coupled);
	a = cx_sf(&x, "10.88.1.1", 50);
	b = cx_sf(&x, "10.88.1.1", 50);
	CU_ASSERT_PTR_EQUAL(a->cc, &mps_cc_newreno);
	CU_ASSERT_PTR_EQUAL(b->cc, &mps_cc_newreno);
	cx_ca(a, 100);
	cx_loss(&x, a);
	CU_ASSERT_EQUAL(a->cwnd, SEG(50));
	cx_free(&x);
}

/* The coupling set: same connection, same server, same ops, sending; not a
 * dead subflow.  Every subflow of a plain MPTCP connection ends at the one
 * server, whichever of its addresses it uses; a group client's subflows
 * share a server when they go to the same member. */
static void test_cc_coupled_set_is_the_subflows_sharing_a_server(void)
{
	cx x;
	mps_sf *a, *b, *c, *d, *set[CONN_MAX_SUBFLOWS];

	cx_init(&x, NULL, NULL);
	a = cx_sf(&x, "10.88.1.1", 50);
	b = cx_sf(&x, "10.88.1.1", 80);
	c = cx_sf(&x, "10.88.1.2", 50); /* the server's second address */
	d = cx_sf(&x, "10.88.1.1", 50);
	CU_ASSERT_EQUAL(mps_cc_coupled_set(a, set, CONN_MAX_SUBFLOWS), 4);
	CU_ASSERT_EQUAL(mps_cc_coupled_set(c, set, CONN_MAX_SUBFLOWS), 4);
	CU_ASSERT_PTR_EQUAL(set[0], c);
	d->dead = true;
	CU_ASSERT_EQUAL(mps_cc_coupled_set(a, set, CONN_MAX_SUBFLOWS), 3);
	b->cc = &mps_cc_olia;
	CU_ASSERT_EQUAL(mps_cc_coupled_set(a, set, CONN_MAX_SUBFLOWS), 2);
	CU_ASSERT_TRUE((set[0] == a && set[1] == c) || (set[0] == c && set[1] == a));
	/* a group client: members 0 and 1 are two servers */
	b->cc = a->cc;
	d->dead = false;
	x.c->group = true;
	a->peer = b->peer = d->peer = 0;
	c->peer = 1;
	CU_ASSERT_EQUAL(mps_cc_coupled_set(a, set, CONN_MAX_SUBFLOWS), 3);
	CU_ASSERT_EQUAL(mps_cc_coupled_set(c, set, CONN_MAX_SUBFLOWS), 1);
	CU_ASSERT_PTR_EQUAL(set[0], c);
	x.c->group = false;
	cx_free(&x);
}

/* --- slow start (RFC 3465) --------------------------------------------------------- */

static void test_cc_slow_start_counts_bytes_up_to_two_segments(void)
{
	static const char *const names[] = {"cubic", "newreno", "lia", "olia"};
	size_t i;

	for (i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		cx x;
		mps_sf *sf;

		cx_init(&x, names[i], "none");
		sf = cx_sf(&x, "10.88.1.1", 50);
		CU_ASSERT_EQUAL(sf->cwnd, SEG(10)); /* RFC 6928 IW */
		CU_ASSERT_EQUAL(sf->ssthresh, UINT32_MAX);
		sf->cc->on_ack(sf, CX_MSS, x.now);
		CU_ASSERT_EQUAL(sf->cwnd, SEG(11));
		sf->cc->on_ack(sf, 500, x.now);
		CU_ASSERT_EQUAL(sf->cwnd, SEG(11) + 500);
		sf->cc->on_ack(sf, 5 * CX_MSS, x.now); /* L = 2 SMSS */
		CU_ASSERT_EQUAL(sf->cwnd, SEG(13) + 500);
		/* one RTT of ACKs doubles the window */
		sf->cwnd = SEG(20);
		cx_round(&x, sf);
		CU_ASSERT(cx_abs(cx_segs(sf) - 40) <= 1);
		cx_free(&x);
	}
}

/* --- CUBIC (RFC 9438) ------------------------------------------------------------------ */

static void test_cc_cubic_reduces_by_beta_0_7(void)
{
	cx x;
	mps_sf *sf;

	cx_init(&x, "cubic", "none");
	sf = cx_sf(&x, "10.88.1.1", 100);
	cx_ca(sf, 100);
	cx_loss(&x, sf);
	CU_ASSERT_EQUAL(sf->ssthresh, SEG(70)); /* §4.6: flight * 0.7 */
	CU_ASSERT_EQUAL(sf->cwnd, SEG(70));
	/* never below two segments */
	cx_ca(sf, 2);
	cx_loss(&x, sf);
	CU_ASSERT_EQUAL(sf->cwnd, SEG(2));
	cx_free(&x);
}

/* §4.2: after a loss at W_max the window climbs the concave side of
 * W_cubic(t) = C (t - K)^3 + W_max, reaches W_max at t = K, and goes on up
 * the convex side. */
static void test_cc_cubic_window_follows_the_cubic_curve(void)
{
	cx x;
	mps_sf *sf;
	double k = cx_k(1000), w[5], t;
	int i;

	cx_init(&x, "cubic", "none");
	sf = cx_sf(&x, "10.88.1.1", 100);
	cx_ca(sf, 1000);
	cx_loss(&x, sf);
	w[0] = cx_segs(sf);
	CU_ASSERT(cx_abs(w[0] - 700) < 0.5);
	for (i = 1; i <= 4; i++) {
		cx_run1(&x, sf, (uint64_t)(k / 2 * (double)CX_S));
		w[i] = cx_segs(sf);
		t = k / 2 * i;
		/* the ACK clock lags the curve by at most about an RTT */
		CU_ASSERT(cx_abs(w[i] - cx_wcubic(1000, t)) <= 1 + 0.01 * cx_wcubic(1000, t));
	}
	CU_ASSERT(cx_abs(w[2] - 1000) <= 1);         /* W(K) = W_max within a segment */
	CU_ASSERT(w[1] - w[0] > w[2] - w[1]);        /* concave below W_max */
	CU_ASSERT(w[4] - w[3] > w[3] - w[2]);        /* convex above it */
	CU_ASSERT(w[3] - w[2] < 0.2 * (w[1] - w[0])); /* a plateau: 1/7 of it */
	cx_free(&x);
}

/* §4.7 fast convergence: a loss below the previous W_max sets
 * W_max = cwnd (1 + beta) / 2, so the plateau comes earlier and lower. */
static void test_cc_cubic_fast_convergence_lowers_w_max(void)
{
	cx x;
	mps_sf *sf;
	double k;

	cx_init(&x, "cubic", "none");
	sf = cx_sf(&x, "10.88.1.1", 100);
	cx_ca(sf, 1000);
	cx_loss(&x, sf);			    /* W_max 1000 */
	cx_run1(&x, sf, (uint64_t)(2.0 * CX_S)); /* below 1000 again */
	CU_ASSERT_FATAL(cx_segs(sf) < 950);
	cx_ca(sf, 900);
	cx_loss(&x, sf); /* W_max = 900 * 0.85 = 765, cwnd 630 */
	CU_ASSERT_EQUAL(sf->cwnd, SEG(630));
	/* K = cbrt((765 - 630) / 0.4) */
	k = cx_cbrt((765.0 - 630.0) / 0.4);
	cx_run1(&x, sf, (uint64_t)(k * (double)CX_S));
	CU_ASSERT(cx_abs(cx_segs(sf) - 765) <= 1);
	cx_run1(&x, sf, (uint64_t)(k / 2 * (double)CX_S));
	CU_ASSERT(cx_segs(sf) < 800); /* not climbing towards 900 */
	cx_free(&x);
}

/* §4.3: with a small RTT the Reno-friendly estimate W_est, growing by
 * alpha_cubic = 3 (1 - beta) / (1 + beta) segments per RTT up to
 * cwnd_prior and by one after, is above the cubic curve and sets cwnd. */
static void test_cc_cubic_reno_friendly_region_at_small_rtt(void)
{
	cx x;
	mps_sf *sf;
	double alpha = 3 * 0.3 / 1.7, w, cub;
	int n;

	cx_init(&x, "cubic", "none");
	sf = cx_sf(&x, "10.88.1.1", 1);
	cx_ca(sf, 20);
	cx_loss(&x, sf); /* 14 segments, cwnd_prior 20 */
	for (n = 1; n <= 20; n++) {
		cx_run1(&x, sf, sf->srtt);
		w = cx_segs(sf);
		cub = cx_wcubic(20, (double)n / 1000);
		CU_ASSERT(w >= cub);
		if (n <= 10)
			CU_ASSERT(cx_abs(w - (14 + alpha * n)) <= 1);
	}
	/* past cwnd_prior (after about 11 RTTs) one segment per RTT */
	CU_ASSERT(cx_abs(cx_segs(sf) - (20 + (20 - 6 / alpha))) <= 1.5);
	CU_ASSERT(cx_segs(sf) > cx_wcubic(20, 0.020) + 10);
	cx_free(&x);
}

/* With a long RTT and a large window the cubic curve is above W_est: the
 * window is CUBIC's, well above what Reno's 0.53 segments per RTT give. */
static void test_cc_cubic_region_at_large_bdp(void)
{
	cx x;
	mps_sf *sf;

	cx_init(&x, "cubic", "none");
	sf = cx_sf(&x, "10.88.1.1", 100);
	cx_ca(sf, 1000);
	cx_loss(&x, sf);
	cx_run1(&x, sf, 2 * CX_S); /* 20 RTTs */
	CU_ASSERT(cx_segs(sf) > 700 + 20 * 0.53 * 5);
	CU_ASSERT(cx_abs(cx_segs(sf) - cx_wcubic(1000, 2.0)) <= 10);
	cx_free(&x);
}

/* §4.2: the target is at most 1.5 cwnd, so after a long silence one RTT
 * of ACKs grows the window by at most half. */
static void test_cc_cubic_growth_is_limited_to_1_5_cwnd_per_rtt(void)
{
	cx x;
	mps_sf *sf;
	int i;

	cx_init(&x, "cubic", "none");
	sf = cx_sf(&x, "10.88.1.1", 100);
	cx_ca(sf, 100);
	cx_loss(&x, sf);
	sf->cc->on_ack(sf, CX_MSS, x.now); /* the epoch starts */
	x.now += 60 * CX_S;		    /* W_cubic(60 s) is huge */
	sf->cwnd = SEG(70);
	for (i = 0; i < 70; i++) /* the ACKs of one window */
		sf->cc->on_ack(sf, CX_MSS, x.now + sf->srtt * (uint64_t)i / 70);
	CU_ASSERT(cx_segs(sf) <= 70 * 1.5 + 1);
	CU_ASSERT(cx_segs(sf) >= 70 * 1.5 - 1);
	cx_free(&x);
}

/* §4.8: a timeout leaves one segment and ssthresh = 0.7 flight; the next
 * congestion avoidance starts with K = 0 at that window: it grows at
 * W_est's pace first, then convex, never back to the old W_max at once. */
static void test_cc_cubic_timeout(void)
{
	cx x;
	mps_sf *sf;
	double w0, w1, w4, w5;

	cx_init(&x, "cubic", "none");
	sf = cx_sf(&x, "10.88.1.1", 100);
	cx_ca(sf, 1000);
	sf->snd_nxt = sf->snd_una + sf->cwnd;
	sf->backoff = 1;
	sf->cc->on_rto(sf, x.now);
	sf->snd_nxt = sf->snd_una;
	CU_ASSERT_EQUAL(sf->cwnd, CX_MSS);
	CU_ASSERT_EQUAL(sf->ssthresh, SEG(700));
	/* a second timeout of the same episode keeps ssthresh */
	sf->backoff = 2;
	sf->cc->on_rto(sf, x.now);
	CU_ASSERT_EQUAL(sf->ssthresh, SEG(700));
	sf->backoff = 0;
	cx_run1(&x, sf, 11 * sf->srtt); /* slow start up to ssthresh */
	CU_ASSERT(sf->cwnd >= sf->ssthresh);
	w0 = cx_segs(sf);
	cx_run1(&x, sf, 1 * CX_S);
	w1 = cx_segs(sf);
	cx_run1(&x, sf, 3 * CX_S);
	w4 = cx_segs(sf);
	cx_run1(&x, sf, 1 * CX_S);
	w5 = cx_segs(sf);
	CU_ASSERT(w1 - w0 < 15); /* not concave towards the old W_max of 1000 */
	CU_ASSERT(w5 - w4 > 1.5 * (w1 - w0));
	/* t = 4..5 s: C (5^3 - 4^3) = 24.4 segments, or 25.5 with the
	 * target one RTT ahead (t + 0.1 s) */
	CU_ASSERT(w5 - w4 > 0.4 * (125 - 64) - 1);
	CU_ASSERT(w5 - w4 < 0.4 * (5.1 * 5.1 * 5.1 - 4.1 * 4.1 * 4.1) * 1.15);
	cx_free(&x);
}

/* A loss with more between snd_una and snd_nxt than cwnd (SACKed data sent
 * beyond holes) reduces from cwnd: a loss never raises the window. */
static void test_cc_loss_reduces_from_cwnd_when_flight_is_larger(void)
{
	static const char *const names[] = {"cubic", "lia"};
	size_t i;

	for (i = 0; i < 2; i++) {
		cx x;
		mps_sf *a, *b;

		cx_init(&x, names[i], i == 0 ? "none" : "lia");
		a = cx_sf(&x, "10.88.1.1", 50);
		b = cx_sf(&x, "10.88.1.1", 50);
		cx_ca(a, 100);
		cx_ca(b, 100);
		a->snd_nxt = a->snd_una + SEG(300);
		a->cc->on_loss(a, x.now);
		CU_ASSERT_EQUAL(a->cwnd, SEG(i == 0 ? 70 : 50));
		/* below cwnd, the flight is what counts */
		cx_ca(a, 100);
		a->snd_nxt = a->snd_una + SEG(40);
		a->cc->on_loss(a, x.now);
		CU_ASSERT_EQUAL(a->cwnd, SEG(i == 0 ? 28 : 20));
		a->snd_nxt = a->snd_una;
		cx_free(&x);
	}
}

/* Slow start rounds of a bulk sender: the window is in flight, each ACK
 * carries an RTT sample (RACK's) of rtt_ms and the sender refills. */
static void cx_ss_round(cx *x, mps_sf *sf, uint64_t rtt_ms)
{
	uint64_t n = sf->cwnd / CX_MSS, i, t0 = x->now;

	sf->snd_max = sf->snd_nxt = sf->snd_una + sf->cwnd;
	for (i = 1; i <= n; i++) {
		x->now = t0 + rtt_ms * CX_MS * i / n;
		sf->rack_rtt = rtt_ms * CX_MS;
		sf->snd_una += CX_MSS;
		sf->cc->on_ack(sf, CX_MSS, x->now);
		if (sf->snd_max < sf->snd_una + sf->cwnd)
			sf->snd_max = sf->snd_nxt = sf->snd_una + sf->cwnd;
	}
}

/* RFC 9406: while the round's minimum RTT stays, slow start doubles the
 * window per round; once it has risen by RttThresh (4 ms here), growth
 * drops to a quarter (CSS), and after five CSS rounds congestion avoidance
 * starts at the window reached, with no loss. */
static void test_cc_cubic_hystart_leaves_slow_start_when_rtt_rises(void)
{
	cx x;
	mps_sf *sf;
	uint32_t w0;
	int r;

	cx_init(&x, "cubic", "none");
	sf = cx_sf(&x, "10.88.1.1", 20);
	for (r = 0; r < 3; r++) {
		w0 = sf->cwnd;
		cx_ss_round(&x, sf, 20);
		CU_ASSERT(sf->cwnd >= 2 * w0 - CX_MSS);
	}
	CU_ASSERT_EQUAL(sf->ssthresh, UINT32_MAX);
	/* a queue builds: 20 -> 26 ms (RttThresh = max(4, 20 / 8) ms) */
	cx_ss_round(&x, sf, 26);
	w0 = sf->cwnd;
	cx_ss_round(&x, sf, 26);
	CU_ASSERT(sf->cwnd < w0 + w0 / 4 + 2 * CX_MSS); /* CSS: a quarter */
	CU_ASSERT(sf->cwnd > w0 + w0 / 4 - 2 * CX_MSS);
	CU_ASSERT_EQUAL(sf->ssthresh, UINT32_MAX);
	for (r = 0; r < 5 && sf->ssthresh == UINT32_MAX; r++)
		cx_ss_round(&x, sf, 26);
	CU_ASSERT(sf->ssthresh != UINT32_MAX);
	CU_ASSERT(r <= 4);
	/* set at the round's end; the rest of it was congestion avoidance */
	CU_ASSERT(sf->cwnd >= sf->ssthresh && sf->cwnd - sf->ssthresh < SEG(5));
	cx_free(&x);
}

/* A rise that goes away in CSS (the round's minimum under the baseline)
 * was not a queue: slow start resumes. */
static void test_cc_cubic_hystart_resumes_slow_start_after_a_spurious_rise(void)
{
	cx x;
	mps_sf *sf;
	uint32_t w0;
	int r;

	cx_init(&x, "cubic", "none");
	sf = cx_sf(&x, "10.88.1.1", 20);
	for (r = 0; r < 3; r++)
		cx_ss_round(&x, sf, 20);
	cx_ss_round(&x, sf, 26); /* into CSS */
	cx_ss_round(&x, sf, 20); /* back under the baseline */
	w0 = sf->cwnd;
	cx_ss_round(&x, sf, 20);
	CU_ASSERT(sf->cwnd >= 2 * w0 - CX_MSS);
	CU_ASSERT_EQUAL(sf->ssthresh, UINT32_MAX);
	cx_free(&x);
}

/* --- LIA (RFC 6356) ------------------------------------------------------------------------ */

/* RFC 6356 §3 alpha, from the windows (segments) and RTTs (s). */
static double cx_lia_alpha(mps_sf **sfs, size_t n)
{
	double total = 0, best = 0, sum = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		double w = cx_segs(sfs[i]), r = (double)sfs[i]->srtt / CX_S;
		total += w;
		sum += w / r;
		if (w / (r * r) > best)
			best = w / (r * r);
	}
	return total * best / (sum * sum);
}

/* Equal RTTs: together the two subflows grow by alpha segments per RTT,
 * alpha = cwnd_total max(cwnd_i / rtt_i^2) / (sum cwnd_i / rtt_i)^2, no
 * more than the one segment of a Reno flow on the best path. */
static void test_cc_lia_coupled_increase_is_alpha_per_rtt(void)
{
	static const uint32_t w[][2] = {{20, 20}, {30, 10}, {50, 5}};
	size_t i;

	for (i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
		cx x;
		mps_sf *sfs[2];
		double alpha, before, grew;

		cx_init(&x, NULL, "lia");
		sfs[0] = cx_sf(&x, "10.88.1.1", 50);
		sfs[1] = cx_sf(&x, "10.88.1.1", 50);
		cx_ca(sfs[0], w[i][0]);
		cx_ca(sfs[1], w[i][1]);
		alpha = cx_lia_alpha(sfs, 2);
		before = cx_segs(sfs[0]) + cx_segs(sfs[1]);
		cx_run(&x, sfs, 2, 10 * sfs[0]->srtt);
		grew = (cx_segs(sfs[0]) + cx_segs(sfs[1]) - before) / 10;
		CU_ASSERT(alpha <= 1.0 + 1e-9);
		CU_ASSERT(cx_abs(grew - alpha) < 0.05);
		CU_ASSERT(grew <= 1.0);
		cx_free(&x);
	}
}

/* Unequal RTTs: the rate the pair gains per second is no more than a
 * Reno flow would gain on the best path (mss / rtt^2 per second), and
 * no subflow grows faster than Reno on its own path. */
static void test_cc_lia_never_beats_reno_on_the_best_path(void)
{
	cx x;
	mps_sf *sfs[2];
	double w0[2], r[2], gain = 0, best = 0;
	size_t i;

	cx_init(&x, NULL, "lia");
	sfs[0] = cx_sf(&x, "10.88.1.1", 20);
	sfs[1] = cx_sf(&x, "10.88.1.1", 100);
	cx_ca(sfs[0], 10);
	cx_ca(sfs[1], 30);
	for (i = 0; i < 2; i++) {
		w0[i] = cx_segs(sfs[i]);
		r[i] = (double)sfs[i]->srtt / CX_S;
	}
	cx_run(&x, sfs, 2, 1 * CX_S);
	for (i = 0; i < 2; i++) {
		double dw = cx_segs(sfs[i]) - w0[i];
		gain += dw / r[i];		      /* segments/s of rate gained */
		CU_ASSERT(dw <= 1.0 / r[i] + 0.5);  /* Reno: one per RTT */
		if (1.0 / (r[i] * r[i]) > best)
			best = 1.0 / (r[i] * r[i]);
	}
	CU_ASSERT(gain > 0);
	CU_ASSERT(gain <= best * 1.05);
	cx_free(&x);
}

/* A lia subflow alone on its server behaves exactly as a CUBIC one, and
 * becomes LIA (halving, coupled increase) once a second subflow to the
 * same server exists. */
static void test_cc_lia_alone_is_cubic(void)
{
	cx x, y;
	mps_sf *a, *b, *other, *c;

	cx_init(&x, NULL, "lia");
	cx_init(&y, "cubic", "none");
	x.c->group = true; /* a group client: other goes to another member */
	a = cx_sf(&x, "10.88.1.1", 40);
	other = cx_sf(&x, "10.88.2.1", 40);
	a->peer = 0;
	other->peer = 1; /* another server: not coupled */
	c = cx_sf(&y, "10.88.1.1", 40);
	cx_ca(a, 200);
	cx_ca(other, 200);
	cx_ca(c, 200);
	cx_loss(&x, a);
	cx_loss(&y, c);
	CU_ASSERT_EQUAL(a->cwnd, c->cwnd);
	cx_run1(&x, a, 3 * CX_S);
	cx_run1(&y, c, 3 * CX_S);
	CU_ASSERT_EQUAL(a->cwnd, c->cwnd);
	CU_ASSERT(a->cwnd > SEG(150));

	b = cx_sf(&x, "10.88.1.1", 40);
	b->peer = 0;
	cx_ca(b, 50);
	cx_ca(a, 100);
	cx_loss(&x, a);
	CU_ASSERT_EQUAL(a->cwnd, SEG(50)); /* per-subflow halving */
	x.c->group = false;
	cx_free(&x);
	cx_free(&y);
}

/* --- OLIA -------------------------------------------------------------------------------- */

/* Two paths with the same RTT: path 0 has carried many bytes since its
 * last loss (the best path, a small window), path 1 just lost (the largest
 * window).  OLIA moves growth to path 0, where LIA grows the larger window
 * faster. */
static void cx_olia_scene(cx *x, const char *coupled, mps_sf **sfs)
{
	int i;

	cx_init(x, NULL, coupled);
	sfs[0] = cx_sf(x, "10.88.1.1", 50);
	sfs[1] = cx_sf(x, "10.88.1.1", 50);
	cx_ca(sfs[0], 10);
	cx_ca(sfs[1], 60);
	for (i = 0; i < 200; i++) /* 200 kB on path 0, no loss */
		sfs[0]->cc->on_ack(sfs[0], CX_MSS, x->now);
	for (i = 0; i < 20; i++)
		sfs[1]->cc->on_ack(sfs[1], CX_MSS, x->now);
	cx_ca(sfs[0], 10);
	cx_ca(sfs[1], 60);
	cx_loss(x, sfs[1]); /* 30 segments, l1 = 20 kB */
	for (i = 0; i < 5; i++)
		sfs[1]->cc->on_ack(sfs[1], CX_MSS, x->now);
	cx_ca(sfs[1], 30);
}

static void test_cc_olia_moves_window_to_the_best_path(void)
{
	cx x;
	mps_sf *sfs[2];
	double d0, d1, total;

	cx_olia_scene(&x, "olia", sfs);
	cx_run(&x, sfs, 2, 10 * sfs[0]->srtt);
	d0 = cx_segs(sfs[0]) - 10;
	d1 = cx_segs(sfs[1]) - 30;
	/* per RTT, from the OLIA equation with w = 10 and 30, equal RTTs:
	 * path 0: 10 ACKs * (10 / 40^2 + (1/2) / 10) = 0.5625,
	 * path 1: 30 ACKs * (30 / 40^2 - (1/2) / 30) = 0.0625 */
	CU_ASSERT(d0 > 4 * d1);
	CU_ASSERT(d0 > 10 * 0.5625 * 0.8);
	CU_ASSERT(d1 < 10 * 0.0625 * 2 + 0.2);
	total = d0 + d1;
	CU_ASSERT(total <= 10 * 1.0); /* still no more than one Reno flow */
	cx_free(&x);

	cx_olia_scene(&x, "lia", sfs);
	cx_run(&x, sfs, 2, 10 * sfs[0]->srtt);
	d0 = cx_segs(sfs[0]) - 10;
	d1 = cx_segs(sfs[1]) - 30;
	CU_ASSERT(d1 > d0); /* LIA: the larger window grows more */
	cx_free(&x);
}

/* When the best path already has the largest window, OLIA's alpha is zero
 * for everyone: the increase is (w_r / rtt_r^2) / (sum w_p / rtt_p)^2. */
static void test_cc_olia_no_shift_when_best_path_is_largest(void)
{
	cx x;
	mps_sf *sfs[2];
	int i;
	double d0, d1;

	cx_init(&x, NULL, "olia");
	sfs[0] = cx_sf(&x, "10.88.1.1", 50);
	sfs[1] = cx_sf(&x, "10.88.1.1", 50);
	cx_ca(sfs[0], 30);
	cx_ca(sfs[1], 10);
	for (i = 0; i < 200; i++)
		sfs[0]->cc->on_ack(sfs[0], CX_MSS, x.now);
	cx_ca(sfs[0], 30);
	cx_run(&x, sfs, 2, 10 * sfs[0]->srtt);
	d0 = cx_segs(sfs[0]) - 30;
	d1 = cx_segs(sfs[1]) - 10;
	/* per RTT: 30 * 30 / 1600 = 0.5625 and 10 * 10 / 1600 = 0.0625 */
	CU_ASSERT(cx_abs(d0 - 5.625) < 0.6);
	CU_ASSERT(cx_abs(d1 - 0.625) < 0.3);
	cx_free(&x);
}

static CU_TestInfo tests_cc[] = {
    {"test_cc_registry_knows_every_algorithm", test_cc_registry_knows_every_algorithm},
    {"test_cc_stack_refuses_unknown_names", test_cc_stack_refuses_unknown_names},
    {"test_cc_default_is_cubic_with_lia_when_coupled",
     test_cc_default_is_cubic_with_lia_when_coupled},
    {"test_cc_coupled_none_gives_every_subflow_cc", test_cc_coupled_none_gives_every_subflow_cc},
    {"test_cc_coupled_set_is_the_subflows_sharing_a_server",
     test_cc_coupled_set_is_the_subflows_sharing_a_server},
    {"test_cc_slow_start_counts_bytes_up_to_two_segments",
     test_cc_slow_start_counts_bytes_up_to_two_segments},
    {"test_cc_cubic_reduces_by_beta_0_7", test_cc_cubic_reduces_by_beta_0_7},
    {"test_cc_cubic_window_follows_the_cubic_curve", test_cc_cubic_window_follows_the_cubic_curve},
    {"test_cc_cubic_fast_convergence_lowers_w_max", test_cc_cubic_fast_convergence_lowers_w_max},
    {"test_cc_cubic_reno_friendly_region_at_small_rtt",
     test_cc_cubic_reno_friendly_region_at_small_rtt},
    {"test_cc_cubic_region_at_large_bdp", test_cc_cubic_region_at_large_bdp},
    {"test_cc_cubic_growth_is_limited_to_1_5_cwnd_per_rtt",
     test_cc_cubic_growth_is_limited_to_1_5_cwnd_per_rtt},
    {"test_cc_cubic_timeout", test_cc_cubic_timeout},
    {"test_cc_loss_reduces_from_cwnd_when_flight_is_larger",
     test_cc_loss_reduces_from_cwnd_when_flight_is_larger},
    {"test_cc_cubic_hystart_leaves_slow_start_when_rtt_rises",
     test_cc_cubic_hystart_leaves_slow_start_when_rtt_rises},
    {"test_cc_cubic_hystart_resumes_slow_start_after_a_spurious_rise",
     test_cc_cubic_hystart_resumes_slow_start_after_a_spurious_rise},
    {"test_cc_lia_coupled_increase_is_alpha_per_rtt", test_cc_lia_coupled_increase_is_alpha_per_rtt},
    {"test_cc_lia_never_beats_reno_on_the_best_path", test_cc_lia_never_beats_reno_on_the_best_path},
    {"test_cc_lia_alone_is_cubic", test_cc_lia_alone_is_cubic},
    {"test_cc_olia_moves_window_to_the_best_path", test_cc_olia_moves_window_to_the_best_path},
    {"test_cc_olia_no_shift_when_best_path_is_largest",
     test_cc_olia_no_shift_when_best_path_is_largest},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(cc, tests_cc)
