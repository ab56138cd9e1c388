/*
 * test_scenarios.c - whole transfers through the simulator, each over many
 * seeds: clean TCP and MPTCP, two subflows, random loss, reordering and
 * duplication, a path going down, rate-limited paths (also under 1 % loss:
 * goodput near the sum of the rates), and lost handshake
 * and DATA_FIN packets.  Every run must deliver the server's pattern
 * byte-exact and completely (sim_xfer_run checks each byte).
 *
 * One summary line per scenario on stdout:
 *   sim: NAME seeds N failures F worst-gap G ms worst-done D ms goodput X Mbit/s
 * and, for the first failing seed of a scenario, its reason and the last
 * packet events (the run is repeated with tracing on: runs are exact
 * functions of their seed).  Reproduce one with tests/sim/simrun or
 * SIM_SCENARIO=NAME SIM_SEED=N [SIM_PCAP=file] [SIM_TRACE=1]
 *     tests/sim/sim_tests sim_scenarios
 *
 * Environment:
 *   SIM_SEEDS=N       run N seeds per scenario instead of the default
 *   SIM_SEED=N        run only seed N (the seeds printed are the real ones:
 *                     each scenario draws from its own range)
 *   SIM_SCENARIO=S    run only the scenarios whose name contains S
 *   SIM_KNOWN_FAIL=1  enforce the scenarios listed in scen_known_fail[]
 *                     (failures caused by stack bugs that are being fixed);
 *                     otherwise they run and report, but do not fail.
 */
#include "../unit/unit.h"
#include "sim_app.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MS MPS_NS_PER_MS

/* Scenarios failing because of stack bugs (see the report in the commit
 * log and the traces printed when they run).  Remove a name once it passes:
 * the run says so. */
static const char *const scen_known_fail[] = {
    NULL,
};

/* --- the harness ---------------------------------------------------------------- */

typedef void (*scen_setup_fn)(sim_xfer_cfg *cfg, uint64_t seed, const void *arg);
/* Returns NULL when r is right, or what is wrong (into buf). */
typedef const char *(*scen_check_fn)(const sim_xfer_cfg *cfg, const sim_xfer_result *r,
				     const void *arg, char *buf, size_t size);

static bool scen_env_flag(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

static bool scen_is_known_fail(const char *name)
{
	size_t i;

	for (i = 0; scen_known_fail[i] != NULL; i++)
		if (strcmp(scen_known_fail[i], name) == 0)
			return true;
	return false;
}

/* The first seed of a scenario: scenarios draw from disjoint seed ranges so
 * that, say, the 1 % and 2 % loss runs do not lose the same packets. */
static uint64_t scen_first_seed(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name != '\0'; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	return (uint64_t)(h % 100000u) * 100000u + 1;
}

static void scen_run(const char *name, unsigned nseeds, scen_setup_fn setup, scen_check_fn check,
		     const void *arg)
{
	const char *one = getenv("SIM_SEED"), *many = getenv("SIM_SEEDS");
	const char *only = getenv("SIM_SCENARIO");
	uint64_t first = scen_first_seed(name), last, seed, worst_gap = 0, worst_done = 0,
		 worst_gap_seed = 0;
	double gp_sum = 0, gp_min = 0;
	unsigned failures = 0, ngp = 0;
	bool known = scen_is_known_fail(name);
	char buf[200];

	if (only != NULL && only[0] != '\0' && strstr(name, only) == NULL)
		return;
	if (many != NULL && atoi(many) > 0)
		nseeds = (unsigned)atoi(many);
	last = first + nseeds - 1;
	if (one != NULL && one[0] != '\0')
		first = last = strtoull(one, NULL, 10);
	printf("\n"); /* ends CUnit's "Test: ..." line */
	for (seed = first; seed <= last; seed++) {
		sim_xfer_result r;
		sim_xfer_cfg cfg;
		const char *why;

		sim_xfer_defaults(&cfg);
		cfg.seed = seed;
		setup(&cfg, seed, arg);
		sim_xfer_run(&cfg, &r);
		why = !r.ok ? r.why : check != NULL ? check(&cfg, &r, arg, buf, sizeof(buf)) : NULL;
		if (why != NULL) {
			failures++;
			if (failures <= 3)
				printf("  sim: %s seed %" PRIu64 ": %s\n", name, seed, why);
			if (failures == 1) {
				/* the same run again, traced (setup again: it
				 * resets the state of filters) */
				sim_xfer_defaults(&cfg);
				cfg.seed = seed;
				setup(&cfg, seed, arg);
				cfg.trace_lines = 30;
				cfg.trace_out = stdout;
				sim_xfer_run(&cfg, &r);
			}
			continue;
		}
		if (r.client.max_gap_ns > worst_gap) {
			worst_gap = r.client.max_gap_ns;
			worst_gap_seed = seed;
		}
		if (r.client.t_done - cfg.start > worst_done)
			worst_done = r.client.t_done - cfg.start;
		if (r.goodput_bps > 0) {
			gp_sum += r.goodput_bps;
			if (ngp == 0 || r.goodput_bps < gp_min)
				gp_min = r.goodput_bps;
			ngp++;
		}
	}
	printf("  sim: %-34s seeds %4" PRIu64 " failures %4u worst-gap %8.1f ms (seed %" PRIu64
	       ") worst-done %8.1f ms goodput %6.2f Mbit/s (min %6.2f)",
	       name, last - first + 1, failures, (double)worst_gap / 1e6, worst_gap_seed,
	       (double)worst_done / 1e6, ngp ? gp_sum / ngp / 1e6 : 0.0, gp_min / 1e6);
	if (known && !scen_env_flag("SIM_KNOWN_FAIL")) {
		if (failures == 0)
			printf(
			    "\n  sim: %s is listed as a known failure but passed: remove it from "
			    "scen_known_fail[]",
			    name);
		else
			printf(" KNOWN FAILURE (not counted; SIM_KNOWN_FAIL=1 enforces it)");
		printf("\n");
		return;
	}
	printf("\n");
	CU_ASSERT_EQUAL(failures, 0);
}

static void scen_both(sim_xfer_path *p, const sim_dir_cfg *d)
{
	p->up = *d;
	p->down = *d;
}

/* n client addresses, one path each to server 0, all with d both ways. */
static void scen_paths(sim_xfer_cfg *cfg, size_t n, const sim_dir_cfg *d)
{
	size_t i;

	cfg->nclient_addrs = cfg->npaths = n;
	for (i = 0; i < n; i++) {
		cfg->path[i].client = (uint8_t)i;
		cfg->path[i].server = 0;
		scen_both(&cfg->path[i], d);
	}
}

static const char *check_mptcp(const sim_xfer_cfg *cfg, const sim_xfer_result *r, const void *arg,
			       char *buf, size_t size)
{
	(void)cfg;
	(void)arg;
	if (!r->client.info.mptcp || r->client.info.fallback) {
		snprintf(buf, size, "MPTCP not negotiated (mptcp %d fallback %d)",
			 r->client.info.mptcp, r->client.info.fallback);
		return buf;
	}
	return NULL;
}

/* --- 1, 2: clean transfers ---------------------------------------------------------- */

static void setup_plain_tcp(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	sim_dir_cfg d = {.delay_ns = 5 * MS};

	(void)seed;
	(void)arg;
	cfg->size = 1000000;
	cfg->no_mptcp = true;
	cfg->wait_close = true;
	scen_paths(cfg, 1, &d);
}

static const char *check_plain_tcp(const sim_xfer_cfg *cfg, const sim_xfer_result *r,
				   const void *arg, char *buf, size_t size)
{
	(void)cfg;
	(void)arg;
	if (r->client.info.mptcp) {
		snprintf(buf, size, "MPTCP negotiated with a no_mptcp server");
		return buf;
	}
	return NULL;
}

static void test_plain_tcp_1mb_clean_is_exact(void)
{
	scen_run("plain_tcp_1mb_clean", 20, setup_plain_tcp, check_plain_tcp, NULL);
}

static void setup_mptcp_4mb(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	sim_dir_cfg d = {.delay_ns = 5 * MS};

	(void)seed;
	(void)arg;
	cfg->size = 4000000;
	cfg->wait_close = true;
	scen_paths(cfg, 1, &d);
}

static void test_mptcp_one_path_4mb_clean_is_exact(void)
{
	scen_run("mptcp_one_path_4mb_clean", 10, setup_mptcp_4mb, check_mptcp, NULL);
}

/* --- 3: two subflows ------------------------------------------------------------------- */

static void setup_two_subflows(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	sim_dir_cfg d = {.delay_ns = 5 * MS, .rate_bps = 20000000};

	(void)seed;
	(void)arg;
	cfg->size = 2000000;
	scen_paths(cfg, 2, &d);
	cfg->path[1].up.delay_ns = cfg->path[1].down.delay_ns = 8 * MS;
}

static const char *check_two_subflows(const sim_xfer_cfg *cfg, const sim_xfer_result *r,
				      const void *arg, char *buf, size_t size)
{
	size_t i, busy = 0;

	if (check_mptcp(cfg, r, arg, buf, size) != NULL)
		return buf;
	for (i = 0; i < r->client.nsfs; i++)
		if (r->client.sfs[i].bytes_received > 0)
			busy++;
	if (r->client.info.nsubflows < 2 || busy < 2) {
		snprintf(buf, size, "%zu subflows, %zu of them carried data",
			 r->client.info.nsubflows, busy);
		return buf;
	}
	for (i = 0; i < 2; i++) {
		if (r->link[i][SIM_BA].payload_delivered == 0) {
			snprintf(buf, size, "no payload went down path %zu", i);
			return buf;
		}
	}
	return NULL;
}

static void test_two_addresses_give_two_busy_subflows(void)
{
	scen_run("two_subflows_both_carry_data", 20, setup_two_subflows, check_two_subflows, NULL);
}

/* --- 4: random loss --------------------------------------------------------------------- */

typedef struct loss_arg {
	uint32_t pm;
	size_t paths;	 /* 1 or 2 */
	bool both_lossy; /* with 2 paths: loss on both (else only on path 0) */
} loss_arg;

static void setup_loss(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	const loss_arg *la = arg;
	sim_dir_cfg d = {.delay_ns = 5 * MS, .rate_bps = 20000000, .loss_pm = la->pm};

	(void)seed;
	cfg->size = 200000;
	cfg->time_limit = 30000 * MS; /* the bound: every run completes within 30 s */
	scen_paths(cfg, la->paths, &d);
	if (la->paths == 2) {
		cfg->path[1].up.delay_ns = cfg->path[1].down.delay_ns = 8 * MS;
		if (!la->both_lossy)
			cfg->path[1].up.loss_pm = cfg->path[1].down.loss_pm = 0;
	}
}

#define LOSS_SEEDS 1000

static void test_loss_1pct_one_path(void)
{
	static const loss_arg a = {10, 1, false};
	scen_run("loss_1pct_one_path", LOSS_SEEDS, setup_loss, NULL, &a);
}

static void test_loss_2pct_one_path(void)
{
	static const loss_arg a = {20, 1, false};
	scen_run("loss_2pct_one_path", LOSS_SEEDS, setup_loss, NULL, &a);
}

static void test_loss_5pct_one_path(void)
{
	static const loss_arg a = {50, 1, false};
	scen_run("loss_5pct_one_path", LOSS_SEEDS, setup_loss, NULL, &a);
}

static void test_loss_2pct_one_of_two_paths(void)
{
	static const loss_arg a = {20, 2, false};
	scen_run("loss_2pct_one_of_two_paths", LOSS_SEEDS, setup_loss, NULL, &a);
}

static void test_loss_1pct_both_paths(void)
{
	static const loss_arg a = {10, 2, true};
	scen_run("loss_1pct_both_paths", LOSS_SEEDS, setup_loss, NULL, &a);
}

static void test_loss_5pct_both_paths(void)
{
	static const loss_arg a = {50, 2, true};
	scen_run("loss_5pct_both_paths", LOSS_SEEDS, setup_loss, NULL, &a);
}

/* The same with TSO on both ends: super-segments are cut by the simulated
 * device, and a lost piece is recovered like any lost segment. */
static void setup_loss_gso(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	setup_loss(cfg, seed, arg);
	cfg->gso = true;
	cfg->size = 1000000;
}

static void test_loss_2pct_both_paths_with_gso(void)
{
	static const loss_arg a = {20, 2, true};
	scen_run("loss_2pct_both_paths_with_gso", 300, setup_loss_gso, NULL, &a);
}

/* --- 5: reordering and duplication ------------------------------------------------------- */

typedef struct mess_arg {
	size_t paths;
	uint32_t reorder_pm, dup_pm;
} mess_arg;

static void setup_mess(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	const mess_arg *m = arg;
	sim_dir_cfg d = {.delay_ns = 5 * MS,
			 .rate_bps = 50000000,
			 .reorder_pm = m->reorder_pm,
			 .reorder_ns = 3 * MS,
			 .dup_pm = m->dup_pm};

	(void)seed;
	cfg->size = 500000;
	cfg->time_limit = 30000 * MS;
	scen_paths(cfg, m->paths, &d);
}

static void test_reordering_one_path_is_exact(void)
{
	static const mess_arg a = {1, 50, 0};
	scen_run("reorder_5pct_one_path", 300, setup_mess, NULL, &a);
}

static void test_duplication_one_path_is_exact(void)
{
	static const mess_arg a = {1, 0, 50};
	scen_run("duplicate_5pct_one_path", 300, setup_mess, NULL, &a);
}

static void test_reordering_and_duplication_two_paths_are_exact(void)
{
	static const mess_arg a = {2, 50, 20};
	scen_run("reorder_dup_two_paths", 300, setup_mess, NULL, &a);
}

/* --- 6: a path goes down ----------------------------------------------------------------- */

typedef struct down_arg {
	size_t path; /* 0: the initial subflow's path, 1: the joined one's */
} down_arg;

/* Longest delivery gap allowed when a path dies (a few RTOs). */
#define DOWN_MAX_GAP (3000 * MS)

static void setup_path_down(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	const down_arg *da = arg;
	sim_dir_cfg d = {.delay_ns = 10 * MS, .rate_bps = 10000000};

	cfg->size = 2000000;
	cfg->time_limit = 60000 * MS;
	scen_paths(cfg, 2, &d);
	/* between 300 and 790 ms: mid-transfer (2 MB take about 1 s on 20 Mbit/s) */
	cfg->path[da->path].down_at = 300 * MS + (seed % 50) * 10 * MS;
}

static const char *check_path_down(const sim_xfer_cfg *cfg, const sim_xfer_result *r,
				   const void *arg, char *buf, size_t size)
{
	(void)cfg;
	(void)arg;
	if (r->client.max_gap_ns > DOWN_MAX_GAP) {
		snprintf(buf, size, "delivery stalled %.1f ms (limit %.1f ms)",
			 (double)r->client.max_gap_ns / 1e6, (double)DOWN_MAX_GAP / 1e6);
		return buf;
	}
	return NULL;
}

static void test_initial_path_down_completes_on_other(void)
{
	static const down_arg a = {0};
	scen_run("initial_path_down_mid_transfer", 50, setup_path_down, check_path_down, &a);
}

static void test_joined_path_down_completes_on_other(void)
{
	static const down_arg a = {1};
	scen_run("joined_path_down_mid_transfer", 50, setup_path_down, check_path_down, &a);
}

/* --- 7: rate-limited paths: goodput against their sum --------------------------------------- */

static void setup_rates(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	const size_t *paths = arg;
	sim_dir_cfg d = {.delay_ns = 10 * MS, .rate_bps = 10000000};

	(void)seed;
	cfg->size = 8000000;
	cfg->time_limit = 60000 * MS;
	scen_paths(cfg, *paths, &d);
}

static const char *check_rates(const sim_xfer_cfg *cfg, const sim_xfer_result *r, const void *arg,
			       char *buf, size_t size)
{
	const size_t *paths = arg;
	double sum = 10e6 * (double)*paths;

	(void)cfg;
	/* loosely: at least 40 % of the sum of the path rates, never above it */
	if (r->goodput_bps < 0.4 * sum || r->goodput_bps > sum) {
		snprintf(buf, size, "goodput %.2f Mbit/s against a sum of %.0f Mbit/s",
			 r->goodput_bps / 1e6, sum / 1e6);
		return buf;
	}
	return NULL;
}

static void test_one_10mbit_path_goodput(void)
{
	static const size_t paths = 1;
	scen_run("rate_10mbit_one_path_goodput", 5, setup_rates, check_rates, &paths);
}

static void test_two_10mbit_paths_goodput_near_sum(void)
{
	static const size_t paths = 2;
	scen_run("rate_10+10mbit_goodput", 5, setup_rates, check_rates, &paths);
}

/* Rate-limited paths with 1 % random loss both ways (short delay): loss
 * recovery (RACK-TLP, PRR) keeps the goodput near the loss-free figure,
 * which is about 94 % of the sum of the rates here. */
typedef struct lossy_rates_arg {
	uint64_t rate[2];
	double min_share; /* of the sum of the rates */
} lossy_rates_arg;

static void setup_lossy_rates(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	const lossy_rates_arg *a = arg;
	size_t i;

	(void)seed;
	cfg->size = 12000000;
	cfg->time_limit = 60000 * MS;
	scen_paths(cfg, 2, &(sim_dir_cfg){.delay_ns = 1 * MS});
	for (i = 0; i < 2; i++) {
		sim_dir_cfg d = {.delay_ns = 1 * MS, .rate_bps = a->rate[i], .loss_pm = 10};
		scen_both(&cfg->path[i], &d);
	}
}

static const char *check_lossy_rates(const sim_xfer_cfg *cfg, const sim_xfer_result *r, const void *arg,
				     char *buf, size_t size)
{
	const lossy_rates_arg *a = arg;
	double sum = (double)(a->rate[0] + a->rate[1]);

	(void)cfg;
	if (r->goodput_bps < a->min_share * sum || r->goodput_bps > sum) {
		snprintf(buf, size, "goodput %.2f Mbit/s against a sum of %.0f Mbit/s under 1 %% loss",
			 r->goodput_bps / 1e6, sum / 1e6);
		return buf;
	}
	return NULL;
}

static void test_lossy_50_10mbit_paths_goodput(void)
{
	static const lossy_rates_arg a = {{50000000, 10000000}, 0.7};
	scen_run("rate_50+10mbit_loss_1pct_goodput", 5, setup_lossy_rates, check_lossy_rates, &a);
}

static void test_lossy_10_10mbit_paths_goodput(void)
{
	static const lossy_rates_arg a = {{10000000, 10000000}, 0.8};
	scen_run("rate_10+10mbit_loss_1pct_goodput", 5, setup_lossy_rates, check_lossy_rates, &a);
}

/* --- more servers ------------------------------------------------------------------------ */

static void setup_join_other_server(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	sim_dir_cfg d = {.delay_ns = 5 * MS, .rate_bps = 20000000};

	(void)seed;
	(void)arg;
	cfg->size = 500000;
	cfg->nservers = 2;
	cfg->join_servers = true;
	scen_paths(cfg, 1, &d);
	cfg->npaths = 2;
	cfg->path[1] = cfg->path[0];
	cfg->path[1].server = 1;
}

static const char *check_join_other_server(const sim_xfer_cfg *cfg, const sim_xfer_result *r,
					   const void *arg, char *buf, size_t size)
{
	if (check_mptcp(cfg, r, arg, buf, size) != NULL)
		return buf;
	/* Without a shared group key the second server cannot verify the
	 * join's token: it must refuse it (RFC 8684 §3.2) and create nothing. */
	if (r->server_stats[1].joins_refused + r->server_stats[1].rst_sent == 0 ||
	    r->server_stats[1].joins_accepted != 0 || r->server[1].accepted != 0) {
		snprintf(buf, size,
			 "second server: joins accepted %" PRIu64 " refused %" PRIu64
			 " rst %" PRIu64 " connections %" PRIu64,
			 r->server_stats[1].joins_accepted, r->server_stats[1].joins_refused,
			 r->server_stats[1].rst_sent, r->server[1].accepted);
		return buf;
	}
	if (r->link[0][SIM_BA].payload_delivered < cfg->size) {
		snprintf(buf, size, "only %" PRIu64 " bytes came from the first server",
			 r->link[0][SIM_BA].payload_delivered);
		return buf;
	}
	return NULL;
}

static void test_join_to_non_member_server_is_refused(void)
{
	scen_run("join_to_other_server_refused", 20, setup_join_other_server,
		 check_join_other_server, NULL);
}

/* --- 8: lost handshake packets and DATA_FIN -------------------------------------------------- */

enum drop_what {
	DROP_SYN,	 /* the client's first SYN (MP_CAPABLE) */
	DROP_SYNACK,	 /* the server's first SYN-ACK */
	DROP_THIRD_ACK,	 /* the client's first segment after the SYN-ACK */
	DROP_SERVER_FIN, /* the server's first DATA_FIN (or FIN when plain TCP) */
	DROP_CLIENT_FIN, /* the client's first DATA_FIN (or FIN when plain TCP) */
	DROP_JOIN_SYN,	 /* the first MP_JOIN SYN */
};

typedef struct drop_arg {
	enum drop_what what;
	bool plain;	/* plain TCP server */
	unsigned count; /* how many of them to drop */
} drop_arg;

typedef struct drop_state {
	const drop_arg *arg;
	unsigned dropped;
	bool synack_seen;
} drop_state;

static bool drop_match(drop_state *st, enum sim_dir dir, const sim_pkt_info *pi)
{
	bool syn = (pi->flags & SIM_TH_SYN) != 0, ack = (pi->flags & SIM_TH_ACK) != 0;
	bool fin = st->arg->plain ? (pi->flags & SIM_TH_FIN) != 0 : pi->data_fin;

	switch (st->arg->what) {
	case DROP_SYN:
		return dir == SIM_AB && syn && !ack && !pi->mp_join;
	case DROP_SYNACK:
		return dir == SIM_BA && syn && ack && !pi->mp_join;
	case DROP_THIRD_ACK:
		if (dir == SIM_BA && syn && ack)
			st->synack_seen = true;
		return dir == SIM_AB && !syn && st->synack_seen;
	case DROP_SERVER_FIN:
		return dir == SIM_BA && fin;
	case DROP_CLIENT_FIN:
		return dir == SIM_AB && fin;
	case DROP_JOIN_SYN:
		return dir == SIM_AB && syn && pi->mp_join;
	}
	return false;
}

static bool drop_filter(void *user, const sim_link *l, enum sim_dir dir, const sim_pkt_info *pi,
			uint64_t now)
{
	drop_state *st = user;

	(void)l;
	(void)now;
	if (st->dropped >= st->arg->count || !drop_match(st, dir, pi))
		return false;
	st->dropped++;
	return true;
}

/* The filter state lives across one run: scen_run calls setup before each. */
static drop_state drop_st;

static void setup_drop(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	const drop_arg *da = arg;
	sim_dir_cfg d = {.delay_ns = 5 * MS};

	(void)seed;
	memset(&drop_st, 0, sizeof(drop_st));
	drop_st.arg = da;
	cfg->size = 300000;
	cfg->no_mptcp = da->plain;
	cfg->wait_close = true;
	cfg->time_limit = 60000 * MS;
	cfg->filter = drop_filter;
	cfg->filter_user = &drop_st;
	scen_paths(cfg, da->what == DROP_JOIN_SYN ? 2 : 1, &d);
}

static const char *check_drop(const sim_xfer_cfg *cfg, const sim_xfer_result *r, const void *arg,
			      char *buf, size_t size)
{
	const drop_arg *da = arg;

	if (drop_st.dropped != da->count) {
		snprintf(buf, size, "the filter dropped %u packets, not %u", drop_st.dropped,
			 da->count);
		return buf;
	}
	if (!da->plain && check_mptcp(cfg, r, arg, buf, size) != NULL)
		return buf;
	if (da->what == DROP_JOIN_SYN && r->client.info.nsubflows < 2) {
		snprintf(buf, size, "the join was not retried (%zu subflows)",
			 r->client.info.nsubflows);
		return buf;
	}
	return NULL;
}

#define DROP_SEEDS 20

static void test_lost_syn_is_retransmitted(void)
{
	static const drop_arg a = {DROP_SYN, false, 1};
	scen_run("mptcp_syn_lost", DROP_SEEDS, setup_drop, check_drop, &a);
}

static void test_lost_synack_is_retransmitted(void)
{
	static const drop_arg a = {DROP_SYNACK, false, 1};
	scen_run("mptcp_synack_lost", DROP_SEEDS, setup_drop, check_drop, &a);
}

static void test_lost_third_ack_is_recovered(void)
{
	static const drop_arg a = {DROP_THIRD_ACK, false, 1};
	scen_run("mptcp_third_ack_lost", DROP_SEEDS, setup_drop, check_drop, &a);
}

static void test_lost_server_data_fin_is_retransmitted(void)
{
	static const drop_arg a = {DROP_SERVER_FIN, false, 1};
	scen_run("mptcp_server_data_fin_lost", DROP_SEEDS, setup_drop, check_drop, &a);
}

static void test_lost_client_data_fin_is_retransmitted(void)
{
	static const drop_arg a = {DROP_CLIENT_FIN, false, 1};
	scen_run("mptcp_client_data_fin_lost", DROP_SEEDS, setup_drop, check_drop, &a);
}

static void test_two_lost_syns_are_retransmitted(void)
{
	static const drop_arg a = {DROP_SYN, false, 2};
	scen_run("mptcp_two_syns_lost", DROP_SEEDS, setup_drop, check_drop, &a);
}

static void test_lost_join_syn_is_retransmitted(void)
{
	static const drop_arg a = {DROP_JOIN_SYN, false, 1};
	scen_run("mptcp_join_syn_lost", DROP_SEEDS, setup_drop, check_drop, &a);
}

static void test_plain_tcp_lost_syn_synack_third_ack(void)
{
	static const drop_arg syn = {DROP_SYN, true, 1}, synack = {DROP_SYNACK, true, 1},
			      third = {DROP_THIRD_ACK, true, 1};
	scen_run("tcp_syn_lost", DROP_SEEDS, setup_drop, check_drop, &syn);
	scen_run("tcp_synack_lost", DROP_SEEDS, setup_drop, check_drop, &synack);
	scen_run("tcp_third_ack_lost", DROP_SEEDS, setup_drop, check_drop, &third);
}

static void test_plain_tcp_lost_fins(void)
{
	static const drop_arg srv = {DROP_SERVER_FIN, true, 1}, cli = {DROP_CLIENT_FIN, true, 1};
	scen_run("tcp_server_fin_lost", DROP_SEEDS, setup_drop, check_drop, &srv);
	scen_run("tcp_client_fin_lost", DROP_SEEDS, setup_drop, check_drop, &cli);
}

static CU_TestInfo tests_scenarios[] = {
    {"plain_tcp_1mb_clean_is_exact", test_plain_tcp_1mb_clean_is_exact},
    {"mptcp_one_path_4mb_clean_is_exact", test_mptcp_one_path_4mb_clean_is_exact},
    {"two_addresses_give_two_busy_subflows", test_two_addresses_give_two_busy_subflows},
    {"loss_1pct_one_path", test_loss_1pct_one_path},
    {"loss_2pct_one_path", test_loss_2pct_one_path},
    {"loss_5pct_one_path", test_loss_5pct_one_path},
    {"loss_2pct_one_of_two_paths", test_loss_2pct_one_of_two_paths},
    {"loss_1pct_both_paths", test_loss_1pct_both_paths},
    {"loss_5pct_both_paths", test_loss_5pct_both_paths},
    {"loss_2pct_both_paths_with_gso", test_loss_2pct_both_paths_with_gso},
    {"reordering_one_path_is_exact", test_reordering_one_path_is_exact},
    {"duplication_one_path_is_exact", test_duplication_one_path_is_exact},
    {"reordering_and_duplication_two_paths_are_exact",
     test_reordering_and_duplication_two_paths_are_exact},
    {"initial_path_down_completes_on_other", test_initial_path_down_completes_on_other},
    {"joined_path_down_completes_on_other", test_joined_path_down_completes_on_other},
    {"one_10mbit_path_goodput", test_one_10mbit_path_goodput},
    {"two_10mbit_paths_goodput_near_sum", test_two_10mbit_paths_goodput_near_sum},
    {"lossy_50_10mbit_paths_goodput", test_lossy_50_10mbit_paths_goodput},
    {"lossy_10_10mbit_paths_goodput", test_lossy_10_10mbit_paths_goodput},
    {"join_to_non_member_server_is_refused", test_join_to_non_member_server_is_refused},
    {"lost_syn_is_retransmitted", test_lost_syn_is_retransmitted},
    {"two_lost_syns_are_retransmitted", test_two_lost_syns_are_retransmitted},
    {"lost_synack_is_retransmitted", test_lost_synack_is_retransmitted},
    {"lost_third_ack_is_recovered", test_lost_third_ack_is_recovered},
    {"lost_server_data_fin_is_retransmitted", test_lost_server_data_fin_is_retransmitted},
    {"lost_client_data_fin_is_retransmitted", test_lost_client_data_fin_is_retransmitted},
    {"lost_join_syn_is_retransmitted", test_lost_join_syn_is_retransmitted},
    {"plain_tcp_lost_syn_synack_third_ack", test_plain_tcp_lost_syn_synack_third_ack},
    {"plain_tcp_lost_fins", test_plain_tcp_lost_fins},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(sim_scenarios, tests_scenarios);
