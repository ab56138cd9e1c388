/*
 * cc.c - congestion control algorithms (doc/congestion.md).
 *
 *   newreno  RFC 5681 window growth (RFC 6582 recovery is driven by sf.c)
 *   cubic    RFC 9438, the default, with HyStart++ (RFC 9406) in the
 *            initial slow start
 *   lia      RFC 6356 linked increases, for subflows sharing a server
 *   olia     opportunistic LIA (Khalili et al., draft-khalili-mptcp-
 *            congestion-control)
 *
 * Every algorithm starts in slow start with appropriate byte counting
 * (RFC 3465, L = 2 SMSS).  Windows are bytes; time is the ns value the
 * stack passes in.  CUBIC's curve and the coupled increases are evaluated
 * in double precision with the basic operations only (no libm), so a run
 * is the same on every IEEE 754 machine.
 */
#include "core.h"

#include <string.h>

/* RFC 5681 §3.1: IW = min(4*SMSS, max(2*SMSS, 4380)); RFC 6928 allows 10. */
#define CC_IW_SEGS 10
#define CC_CWND_MAX (UINT32_MAX / 2)

static uint32_t cc_flight(const mps_sf *sf)
{
	uint64_t f = sf_bytes_in_flight(sf);

	return f > CC_CWND_MAX ? CC_CWND_MAX : (uint32_t)f;
}

/* What a reduction starts from: the flight (RFC 5681 FlightSize, RFC 9438
 * §4.6), but never more than cwnd: with SACK, data sent beyond holes can
 * put far more than cwnd between snd_una and snd_nxt, and a loss must not
 * raise the window. */
static uint32_t cc_reduce_base(const mps_sf *sf)
{
	uint32_t f = cc_flight(sf);

	return f < sf->cwnd ? f : sf->cwnd;
}

static uint32_t cc_clamp(uint64_t w)
{
	return w > CC_CWND_MAX ? CC_CWND_MAX : (uint32_t)w;
}

static uint32_t cc_floor2(const mps_sf *sf, uint64_t w)
{
	return w > 2u * sf->mss ? cc_clamp(w) : 2u * (uint32_t)sf->mss;
}

static void cc_init_window(mps_sf *sf)
{
	sf->cwnd = CC_IW_SEGS * (uint32_t)sf->mss;
	sf->ssthresh = UINT32_MAX;
	memset(sf->cc_state, 0, sizeof(sf->cc_state));
}

/* RFC 3465: in slow start, grow by the bytes acked, at most L = 2*SMSS. */
static void cc_slow_start(mps_sf *sf, uint64_t acked)
{
	uint64_t inc = acked < 2u * sf->mss ? acked : 2u * sf->mss;

	sf->cwnd = cc_clamp((uint64_t)sf->cwnd + inc);
}

/* --- NewReno ------------------------------------------------------------ */

enum { NR_ACC = 0 /* bytes acked towards the next CA increase */ };

static void newreno_on_ack(mps_sf *sf, uint64_t acked, uint64_t now)
{
	(void)now;
	if (sf->cwnd < sf->ssthresh) {
		cc_slow_start(sf, acked);
		return;
	}
	/* Congestion avoidance, byte counting: one SMSS per cwnd acked. */
	sf->cc_state[NR_ACC] += acked;
	if (sf->cc_state[NR_ACC] >= sf->cwnd) {
		sf->cc_state[NR_ACC] -= sf->cwnd;
		sf->cwnd = cc_clamp((uint64_t)sf->cwnd + sf->mss);
	}
}

static void newreno_on_loss(mps_sf *sf, uint64_t now)
{
	(void)now;
	/* RFC 5681 §3.2 equation (4). */
	sf->ssthresh = cc_floor2(sf, cc_flight(sf) / 2);
	sf->cwnd = sf->ssthresh;
	sf->cc_state[NR_ACC] = 0;
}

static void newreno_on_rto(mps_sf *sf, uint64_t now)
{
	(void)now;
	if (!sf->in_recovery || sf->backoff == 0)
		sf->ssthresh = cc_floor2(sf, cc_flight(sf) / 2);
	sf->cwnd = sf->mss; /* loss window, RFC 5681 §3.1 */
	sf->cc_state[NR_ACC] = 0;
}

const mps_cc_ops mps_cc_newreno = {
	.name = "newreno",
	.init = cc_init_window,
	.on_ack = newreno_on_ack,
	.on_loss = newreno_on_loss,
	.on_rto = newreno_on_rto,
};

/* --- CUBIC, RFC 9438 ------------------------------------------------------ */

/* C = 0.4 segments/s^3 and beta_cubic = 0.7 (RFC 9438 §4.1, §4.6); the
 * Reno-friendly alpha_cubic = 3 (1 - beta) / (1 + beta) = 9/17 (§4.3). */
#define CUBIC_C 0.4
#define CUBIC_BETA_NUM 7
#define CUBIC_BETA_DEN 10
#define CUBIC_FP 16 /* fraction bits of CU_WEST */

enum {
	CU_WMAX = 0,  /* W_max, bytes; 0 until the first congestion event */
	CU_PRIOR = 1, /* cwnd_prior: cwnd before the last reduction, bytes */
	CU_K = 2,     /* K, ns */
	CU_EPOCH = 3, /* t_epoch + 1, ns; 0: no congestion avoidance stage yet */
	CU_WEST = 4,  /* W_est, bytes << CUBIC_FP */
	CU_ACC = 5,   /* sum of (target - cwnd) * acked not yet added to cwnd */
	/* HyStart++ (RFC 9406), initial slow start only */
	HS_END = 6,      /* windowEnd: the round ends when snd_una reaches it */
	HS_LAST_MIN = 7, /* lastRoundMinRTT + 1, ns (0: none) */
	HS_CUR_MIN = 8,  /* currentRoundMinRTT + 1, ns (0: none) */
	HS_SAMPLES = 9,  /* rttSampleCount */
	HS_CSS_BASE = 10,/* cssBaselineMinRtt + 1 while in CSS, else 0 */
	HS_CSS_ROUNDS = 11,
};

/* RFC 9406 §4.3 constants. */
#define HS_MIN_RTT_THRESH (4 * MPS_NS_PER_MS)
#define HS_MAX_RTT_THRESH (16 * MPS_NS_PER_MS)
#define HS_MIN_RTT_DIVISOR 8
#define HS_N_RTT_SAMPLE 8
#define HS_CSS_GROWTH_DIVISOR 4
#define HS_CSS_ROUNDS 5

/* Integer cube root: the largest y with y^3 <= v. */
static uint64_t cc_icbrt(uint64_t v)
{
	uint64_t y = 0;
	int s;

	for (s = 63; s >= 0; s -= 3) {
		uint64_t b;

		y <<= 1;
		b = 3 * y * (y + 1) + 1;
		if ((v >> s) >= b) {
			v -= b << s;
			y++;
		}
	}
	return y;
}

/* RFC 9438 §4.2 equation (2): K = cbrt((W_max - cwnd_epoch) / C), in ns.
 * In ms^3: (W_max - cwnd_epoch)/(0.4 mss) * 1e9 = diff * 2.5e9 / mss,
 * which fits 64 bits for any 32-bit diff. */
static uint64_t cubic_k(uint64_t wmax, uint64_t cwnd_epoch, uint32_t mss)
{
	uint64_t k3, k;

	if (wmax <= cwnd_epoch)
		return 0;
	k3 = (wmax - cwnd_epoch) * 2500000000ull / mss;
	k = cc_icbrt(k3);
	/* One Newton step from below refines the ms root to us. */
	if (k > 0) {
		uint64_t k_us = k * 1000 + (k3 - k * k * k) * 1000 / (3 * k * k);
		return k_us * 1000;
	}
	return 0;
}

/* RFC 9438 §4.2 equation (1): W_cubic(t) = C (t - K)^3 + W_max, in bytes,
 * t and K in ns. */
static double cubic_w(const mps_sf *sf, uint64_t t)
{
	double x = ((double)t - (double)sf->cc_state[CU_K]) / 1e9;

	return CUBIC_C * (double)sf->mss * x * x * x + (double)sf->cc_state[CU_WMAX];
}

static void cubic_epoch_start(mps_sf *sf, uint64_t now)
{
	uint64_t *st = sf->cc_state;

	st[CU_EPOCH] = now + 1;
	st[CU_ACC] = 0;
	/* §4.8: after a timeout (and before any loss) K = 0 and W_max is the
	 * window at the start of the stage. */
	if (st[CU_WMAX] <= sf->cwnd) {
		st[CU_WMAX] = sf->cwnd;
		st[CU_K] = 0;
	} else {
		st[CU_K] = cubic_k(st[CU_WMAX], sf->cwnd, sf->mss);
	}
	st[CU_WEST] = (uint64_t)sf->cwnd << CUBIC_FP;
}

/* The RTT sample of this ACK: RACK's, of the most recently sent segment it
 * delivered, else the smoothed one. */
static uint64_t cc_rtt_sample(const mps_sf *sf)
{
	return sf->rack_rtt != 0 ? sf->rack_rtt : sf->srtt;
}

/*
 * HyStart++ (RFC 9406 §4.2): slow start watches the minimum RTT of each
 * round; when it rises by RttThresh over the last round's (a queue
 * builds), Conservative Slow Start grows by a quarter, and after
 * CSS_ROUNDS rounds congestion avoidance takes over without the loss
 * burst of an overshoot.  A round whose minimum falls back under the
 * baseline resumes slow start.
 */
static void cubic_hystart(mps_sf *sf, uint64_t acked)
{
	uint64_t *st = sf->cc_state;
	uint64_t rtt = cc_rtt_sample(sf), inc = acked < 2u * sf->mss ? acked : 2u * sf->mss;
	bool round_end = sf->snd_una >= st[HS_END];

	if (round_end) {
		st[HS_LAST_MIN] = st[HS_CUR_MIN];
		st[HS_CUR_MIN] = 0;
		st[HS_SAMPLES] = 0;
		st[HS_END] = sf->snd_max > sf->snd_una ? sf->snd_max : sf->snd_una + 1;
		if (st[HS_CSS_BASE] != 0 && ++st[HS_CSS_ROUNDS] >= HS_CSS_ROUNDS) {
			sf->ssthresh = sf->cwnd; /* §4.2: on to congestion avoidance */
			return;
		}
	}
	if (st[HS_CSS_BASE] != 0)
		inc /= HS_CSS_GROWTH_DIVISOR;
	sf->cwnd = cc_clamp((uint64_t)sf->cwnd + inc);
	if (rtt == 0)
		return;
	if (st[HS_CUR_MIN] == 0 || rtt + 1 < st[HS_CUR_MIN])
		st[HS_CUR_MIN] = rtt + 1;
	st[HS_SAMPLES]++;
	if (st[HS_SAMPLES] < HS_N_RTT_SAMPLE || st[HS_LAST_MIN] == 0)
		return;
	if (st[HS_CSS_BASE] == 0) {
		uint64_t last = st[HS_LAST_MIN] - 1, thresh = last / HS_MIN_RTT_DIVISOR;
		if (thresh > HS_MAX_RTT_THRESH)
			thresh = HS_MAX_RTT_THRESH;
		if (thresh < HS_MIN_RTT_THRESH)
			thresh = HS_MIN_RTT_THRESH;
		if (st[HS_CUR_MIN] - 1 >= last + thresh) {
			st[HS_CSS_BASE] = st[HS_CUR_MIN];
			st[HS_CSS_ROUNDS] = 0;
		}
	} else if (st[HS_CUR_MIN] < st[HS_CSS_BASE]) {
		st[HS_CSS_BASE] = 0; /* the RTT rise was spurious */
	}
}

static void cubic_on_ack(mps_sf *sf, uint64_t acked, uint64_t now)
{
	uint64_t *st = sf->cc_state;
	uint64_t t, rtt, west_inc;
	double target, w_t, lo, hi;

	if (sf->cwnd < sf->ssthresh) {
		if (sf->ssthresh == UINT32_MAX)
			cubic_hystart(sf, acked);
		else
			cc_slow_start(sf, acked);
		return;
	}
	/* One ACK grows cwnd by at most what a window's worth of ACKs would
	 * (a cumulative ACK after a recovery may cover far more). */
	if (acked > sf->cwnd)
		acked = sf->cwnd;
	if (st[CU_EPOCH] == 0)
		cubic_epoch_start(sf, now);
	t = now + 1 > st[CU_EPOCH] ? now + 1 - st[CU_EPOCH] : 0;
	rtt = sf->rtt_valid ? sf->srtt : 0;

	/* §4.3 Reno-friendly region: W_est grows by alpha_cubic segments
	 * per cwnd acked, and by one once it has passed cwnd_prior. */
	if ((st[CU_WEST] >> CUBIC_FP) >= st[CU_PRIOR])
		west_inc = (acked * sf->mss << CUBIC_FP) / sf->cwnd;
	else
		west_inc = (9 * acked * sf->mss << CUBIC_FP) / (17 * (uint64_t)sf->cwnd);
	st[CU_WEST] += west_inc;
	w_t = cubic_w(sf, t);
	if (w_t < (double)(st[CU_WEST] >> CUBIC_FP)) {
		uint32_t est = cc_clamp(st[CU_WEST] >> CUBIC_FP);
		if (est > sf->cwnd)
			sf->cwnd = est;
		st[CU_ACC] = 0;
		return;
	}

	/* §4.4, §4.5: concave and convex regions towards W_cubic(t + RTT),
	 * the target kept within [cwnd, 1.5 cwnd] (§4.2). */
	target = cubic_w(sf, t + rtt);
	lo = (double)sf->cwnd;
	hi = 1.5 * (double)sf->cwnd;
	if (target < lo)
		target = lo;
	if (target > hi)
		target = hi;
	/* cwnd += (target - cwnd) / cwnd per SMSS acked, in bytes. */
	st[CU_ACC] += (uint64_t)(target - lo) * acked;
	if (st[CU_ACC] >= sf->cwnd) {
		uint64_t inc = st[CU_ACC] / sf->cwnd;
		st[CU_ACC] -= inc * sf->cwnd;
		sf->cwnd = cc_clamp((uint64_t)sf->cwnd + inc);
	}
}

static void cubic_on_loss(mps_sf *sf, uint64_t now)
{
	uint64_t *st = sf->cc_state;

	(void)now;
	/* §4.7 fast convergence: a flow whose window keeps shrinking
	 * releases bandwidth by lowering its plateau further. */
	if (st[CU_WMAX] != 0 && sf->cwnd < st[CU_WMAX])
		st[CU_WMAX] = (uint64_t)sf->cwnd * (CUBIC_BETA_DEN + CUBIC_BETA_NUM) /
			      (2 * CUBIC_BETA_DEN);
	else
		st[CU_WMAX] = sf->cwnd;
	st[CU_PRIOR] = sf->cwnd;
	/* §4.6: ssthresh = flight_size * beta_cubic, cwnd = max(ssthresh, 2). */
	sf->ssthresh = cc_floor2(sf, (uint64_t)cc_reduce_base(sf) * CUBIC_BETA_NUM / CUBIC_BETA_DEN);
	sf->cwnd = sf->ssthresh;
	st[CU_EPOCH] = 0;
	st[CU_ACC] = 0;
}

static void cubic_on_rto(mps_sf *sf, uint64_t now)
{
	uint64_t *st = sf->cc_state;

	(void)now;
	/* §4.8: Reno's loss window, ssthresh with beta_cubic (once per
	 * episode: not again for a retransmission lost in recovery or a
	 * backed-off timer). */
	if (!sf->in_recovery && sf->backoff <= 1) {
		st[CU_PRIOR] = sf->cwnd;
		sf->ssthresh =
		    cc_floor2(sf, (uint64_t)cc_reduce_base(sf) * CUBIC_BETA_NUM / CUBIC_BETA_DEN);
	}
	sf->cwnd = sf->mss;
	st[CU_WMAX] = 0; /* K = 0, W_max = cwnd at the next stage */
	st[CU_EPOCH] = 0;
	st[CU_ACC] = 0;
}

const mps_cc_ops mps_cc_cubic = {
	.name = "cubic",
	.init = cc_init_window,
	.on_ack = cubic_on_ack,
	.on_loss = cubic_on_loss,
	.on_rto = cubic_on_rto,
};

/* --- coupled: LIA (RFC 6356) and OLIA --------------------------------------- */

enum {
	CP_ACC = 12,   /* fraction of a byte of increase not yet applied, << 16, signed */
	CP_SINCE = 13, /* OLIA l2: bytes acked since the last loss */
	CP_L1 = 14,    /* OLIA l1: bytes acked between the last two losses */
	CP_MODE = 15,  /* 1: the last event was handled coupled */
	CP_BASE_WORDS = 12,
};

static bool cc_sf_sending(const mps_sf *sf)
{
	switch (sf->state) {
	case SF_ESTABLISHED:
	case SF_CLOSE_WAIT:
	case SF_FIN_WAIT_1:
	case SF_CLOSING:
	case SF_LAST_ACK:
		return !sf->dead && sf->rtt_valid && sf->mss > 0;
	default:
		return false;
	}
}

/* Do a and b (subflows of one connection) end at the same server?  Every
 * subflow of a plain MPTCP connection does, whatever addresses the server
 * uses (RFC 8684: one connection, one peer); a group client's subflows do
 * when they go to the same member (sf->peer); a group member's subflows
 * all end at itself. */
static bool cc_same_server(const mps_sf *a, const mps_sf *b)
{
	const mps_conn *c = a->conn;

	if (c->group && !c->is_server)
		return a->peer == b->peer;
	return true;
}

unsigned mps_cc_coupled_set(mps_sf *sf, mps_sf **set, unsigned max)
{
	mps_sf *o;
	unsigned n = 0;

	if (max > 0)
		set[n] = sf;
	n++;
	if (sf->conn == NULL)
		return n;
	for (o = sf->conn->sfs; o != NULL; o = o->next) {
		if (o == sf || o->cc != sf->cc || !cc_sf_sending(o) || !cc_same_server(o, sf))
			continue;
		if (n < max)
			set[n] = o;
		n++;
	}
	return n;
}

/* What a subflow alone on its server runs: the stack's uncoupled choice. */
static const mps_cc_ops *cc_base(const mps_sf *sf)
{
	const mps_cc_ops *b = sf->conn != NULL ? sf->conn->stack->cc : NULL;

	return b != NULL && !b->coupled ? b : &mps_cc_cubic;
}

/* Subflows coupled with sf right now (into set), or 0 when sf is alone
 * (and then its uncoupled state restarts if it was coupled before). */
static unsigned cp_set(mps_sf *sf, mps_sf **set)
{
	unsigned n = 0;

	if (cc_sf_sending(sf))
		n = mps_cc_coupled_set(sf, set, CONN_MAX_SUBFLOWS);
	if (n > CONN_MAX_SUBFLOWS)
		n = CONN_MAX_SUBFLOWS;
	if (n >= 2) {
		sf->cc_state[CP_MODE] = 1;
		return n;
	}
	if (sf->cc_state[CP_MODE] != 0) {
		memset(sf->cc_state, 0, CP_BASE_WORDS * sizeof(sf->cc_state[0]));
		sf->cc_state[CP_MODE] = 0;
	}
	return 0;
}

static double cp_rtt_s(const mps_sf *sf)
{
	double r = (double)sf->srtt / 1e9;

	return r > 1e-6 ? r : 1e-6;
}

/* Adds inc bytes (may be negative or fractional) to cwnd, keeping the
 * fraction for the next ACK; cwnd stays at least one SMSS. */
static void cp_add(mps_sf *sf, double inc)
{
	int64_t acc = (int64_t)sf->cc_state[CP_ACC] + (int64_t)(inc * 65536.0);
	int64_t whole = acc / 65536;
	int64_t w = (int64_t)sf->cwnd + whole;

	sf->cc_state[CP_ACC] = (uint64_t)(acc - whole * 65536);
	if (w < (int64_t)sf->mss)
		w = sf->mss;
	sf->cwnd = cc_clamp((uint64_t)w);
}

static void cp_init(mps_sf *sf)
{
	cc_base(sf)->init(sf);
	memset(sf->cc_state, 0, sizeof(sf->cc_state));
}

/* Decrease is per subflow: half the flight (RFC 6356 §3). */
static void cp_on_loss(mps_sf *sf, uint64_t now)
{
	mps_sf *set[CONN_MAX_SUBFLOWS];
	uint64_t *st = sf->cc_state;

	st[CP_L1] = st[CP_SINCE];
	st[CP_SINCE] = 0;
	if (cp_set(sf, set) == 0) {
		cc_base(sf)->on_loss(sf, now);
		return;
	}
	memset(st, 0, CP_BASE_WORDS * sizeof(st[0]));
	sf->ssthresh = cc_floor2(sf, cc_reduce_base(sf) / 2);
	sf->cwnd = sf->ssthresh;
	st[CP_ACC] = 0;
}

static void cp_on_rto(mps_sf *sf, uint64_t now)
{
	mps_sf *set[CONN_MAX_SUBFLOWS];
	uint64_t *st = sf->cc_state;

	if (!sf->in_recovery) {
		st[CP_L1] = st[CP_SINCE];
		st[CP_SINCE] = 0;
	}
	if (cp_set(sf, set) == 0) {
		cc_base(sf)->on_rto(sf, now);
		return;
	}
	memset(st, 0, CP_BASE_WORDS * sizeof(st[0]));
	if (!sf->in_recovery && sf->backoff <= 1)
		sf->ssthresh = cc_floor2(sf, cc_reduce_base(sf) / 2);
	sf->cwnd = sf->mss;
	st[CP_ACC] = 0;
}

/*
 * RFC 6356 §3: alpha = cwnd_total * max_i(cwnd_i / rtt_i^2) /
 * (sum_i cwnd_i / rtt_i)^2, and per ACK on subflow i
 * cwnd_i += min(alpha * acked * mss_i / cwnd_total, acked * mss_i / cwnd_i).
 */
static double lia_increase(mps_sf *sf, mps_sf *const *set, unsigned n, uint64_t acked)
{
	double total = 0, best = 0, sum = 0, alpha, coupled, alone;
	unsigned i;

	for (i = 0; i < n; i++) {
		double w = (double)set[i]->cwnd, r = cp_rtt_s(set[i]);
		total += w;
		sum += w / r;
		if (w / (r * r) > best)
			best = w / (r * r);
	}
	alpha = total * best / (sum * sum);
	coupled = alpha * (double)acked * (double)sf->mss / total;
	alone = (double)acked * (double)sf->mss / (double)sf->cwnd;
	return coupled < alone ? coupled : alone;
}

/* The ACK path both coupled algorithms share: alone on its server a subflow
 * runs the uncoupled choice, in slow start it grows as usual, and in
 * congestion avoidance by the algorithm's coupled increase. */
typedef double (*cp_increase_fn)(mps_sf *sf, mps_sf *const *set, unsigned n, uint64_t acked);

static void cp_on_ack(mps_sf *sf, uint64_t acked, uint64_t now, cp_increase_fn increase)
{
	mps_sf *set[CONN_MAX_SUBFLOWS];
	unsigned n;

	sf->cc_state[CP_SINCE] += acked;
	n = cp_set(sf, set);
	if (n == 0) {
		cc_base(sf)->on_ack(sf, acked, now);
		return;
	}
	if (sf->cwnd < sf->ssthresh) {
		cc_slow_start(sf, acked);
		return;
	}
	cp_add(sf, increase(sf, set, n, acked < sf->cwnd ? acked : sf->cwnd));
}

static void lia_on_ack(mps_sf *sf, uint64_t acked, uint64_t now)
{
	cp_on_ack(sf, acked, now, lia_increase);
}

const mps_cc_ops mps_cc_lia = {
	.name = "lia",
	.coupled = true,
	.init = cp_init,
	.on_ack = lia_on_ack,
	.on_loss = cp_on_loss,
	.on_rto = cp_on_rto,
};

/*
 * OLIA, per ACK of one segment on path r (windows w in segments):
 *   w_r += (w_r / rtt_r^2) / (sum_p w_p / rtt_p)^2 + alpha_r / w_r
 * with l_p = max(l1_p, l2_p) the bytes between the last two losses or since
 * the last one, B the paths of largest l_p / rtt_p^2 (presumably the best),
 * M those of largest window, and
 *   alpha_r =  1 / (|R| |B\M|)  if r in B\M (B\M not empty),
 *           = -1 / (|R| |M|)    if r in M and B\M not empty,
 *           =  0                otherwise,
 * which moves window from the largest paths to the best ones while keeping
 * the total increase of LIA's goals (Khalili et al., "MPTCP is not
 * Pareto-optimal", CoNEXT 2012).
 */
static double olia_alpha(const mps_sf *sf, mps_sf *const *set, unsigned n)
{
	double q[CONN_MAX_SUBFLOWS], qbest = 0;
	uint32_t wmax = 0;
	unsigned i, nb_m = 0, nm = 0;
	bool self_b = false, self_m = false;

	for (i = 0; i < n; i++) {
		const uint64_t *st = set[i]->cc_state;
		double l = (double)(st[CP_L1] > st[CP_SINCE] ? st[CP_L1] : st[CP_SINCE]);
		double r = cp_rtt_s(set[i]);
		q[i] = l / (r * r);
		if (q[i] > qbest)
			qbest = q[i];
		if (set[i]->cwnd > wmax)
			wmax = set[i]->cwnd;
	}
	for (i = 0; i < n; i++) {
		bool in_b = q[i] >= qbest, in_m = set[i]->cwnd >= wmax;
		nm += in_m;
		nb_m += in_b && !in_m;
		if (set[i] == sf) {
			self_b = in_b;
			self_m = in_m;
		}
	}
	if (nb_m == 0)
		return 0;
	if (self_b && !self_m)
		return 1.0 / ((double)n * (double)nb_m);
	if (self_m)
		return -1.0 / ((double)n * (double)nm);
	return 0;
}

static double olia_increase(mps_sf *sf, mps_sf *const *set, unsigned n, uint64_t acked)
{
	double sum = 0, w_r, r_r, segs;
	unsigned i;

	for (i = 0; i < n; i++)
		sum += (double)set[i]->cwnd / (double)set[i]->mss / cp_rtt_s(set[i]);
	w_r = (double)sf->cwnd / (double)sf->mss;
	r_r = cp_rtt_s(sf);
	segs = (double)acked / (double)sf->mss;
	return segs * (double)sf->mss *
	       ((w_r / (r_r * r_r)) / (sum * sum) + olia_alpha(sf, set, n) / w_r);
}

static void olia_on_ack(mps_sf *sf, uint64_t acked, uint64_t now)
{
	cp_on_ack(sf, acked, now, olia_increase);
}

const mps_cc_ops mps_cc_olia = {
	.name = "olia",
	.coupled = true,
	.init = cp_init,
	.on_ack = olia_on_ack,
	.on_loss = cp_on_loss,
	.on_rto = cp_on_rto,
};

/* --- registry --------------------------------------------------------------- */

static const mps_cc_ops *const cc_registry[] = {
	&mps_cc_cubic,
	&mps_cc_newreno,
	&mps_cc_lia,
	&mps_cc_olia,
};

const mps_cc_ops *mps_cc_find(const char *name)
{
	size_t i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < sizeof(cc_registry) / sizeof(cc_registry[0]); i++)
		if (strcmp(cc_registry[i]->name, name) == 0)
			return cc_registry[i];
	return NULL;
}

bool mps_cc_valid(const char *name, bool coupled)
{
	const mps_cc_ops *ops;

	if (name == NULL)
		return false;
	if (coupled && strcmp(name, "none") == 0)
		return true;
	ops = mps_cc_find(name);
	return ops != NULL && (!coupled || ops->coupled);
}
