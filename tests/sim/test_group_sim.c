/*
 * test_group_sim.c - the group extension (DESIGN.md §3) in the simulator:
 * one client, several replica servers sharing a group key, each server on
 * its own path.  Every run must deliver the served file byte-exact and
 * completely (sim_xfer_run checks each byte); the scenarios add their own
 * checks: each server's share, the longest delivery gap when a server or
 * its path dies, the refusal of a replica with other bytes or another group
 * key, and goodput against the sum of the path rates.
 *
 * Failures (a server dies silently, or its path goes down) are drawn
 * uniformly, per seed, over the transfer: mid-transfer (both servers
 * deliver; enforced) and early (from the moment the client holds the
 * TICKET).  Before the TICKET the
 * client cannot join anyone else (it does not know N): not tested.
 *
 * The case where the server the client connected to is the one with other
 * bytes has its own small client (dv_*): see the comment there.
 *
 * Per-server bytes are the TCP payload delivered down that server's path
 * (sim link statistics): they include retransmissions, the probe and the
 * overlaps, so shares are approximate.
 *
 * One summary line per scenario on stdout:
 *   gsim: NAME seeds N failures F worst-gap G ms (seed S) ...
 * plus, for the first failing seed, its reason and the last packet events.
 * Reproduce one with SIM_SCENARIO=NAME SIM_SEED=N [SIM_PCAP=file]
 *     tests/sim/sim_tests group_sim
 * or with tests/sim/simrun --group --servers 2 ... (the line printed).
 *
 * Environment (as tests/sim/test_scenarios.c): SIM_SEEDS=N, SIM_SEED=N,
 * SIM_SCENARIO=S, SIM_KNOWN_FAIL=1 (enforce gsim_known_fail[]).
 */
#include "../unit/unit.h"
#include "sim_app.h"

#include "group.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define MS MPS_NS_PER_MS
#include "gsim.h"


/* A size near base that differs with the seed (up to 64 KiB less): on
 * clean links the seed changes only keys, nonces and ISNs, so the size
 * moves the end of the stream across chunk and overlap boundaries. */
static uint64_t gsim_size(uint64_t seed, uint64_t base)
{
	return base - gsim_uniform(seed, 0x5173, 0, 65536);
}

/* Every server that was asked to serve took part: the join was accepted. */
static const char *gsim_check_joined(const sim_xfer_cfg *cfg, const sim_xfer_result *r, char *buf,
				     size_t size)
{
	size_t i;

	if (!r->client.info.mptcp || !r->client.info.group) {
		snprintf(buf, size, "no group connection (mptcp %d group %d)", r->client.info.mptcp,
			 r->client.info.group);
		return buf;
	}
	for (i = 1; i < cfg->nservers; i++)
		if (r->server_stats[i].group_joins_accepted != 1) {
			snprintf(buf, size, "server %zu: %" PRIu64 " group joins accepted", i + 1,
				 r->server_stats[i].group_joins_accepted);
			return buf;
		}
	return NULL;
}

/* Each server's share of the downstream payload is at least min. */
static const char *gsim_check_shares(const sim_xfer_cfg *cfg, const sim_xfer_result *r, double min,
				     char *buf, size_t size)
{
	uint64_t total = 0;
	size_t i;

	for (i = 0; i < cfg->nservers; i++)
		total += gsim_server_bytes(cfg, r, i);
	for (i = 0; i < cfg->nservers; i++) {
		double share = (double)gsim_server_bytes(cfg, r, i) / (double)(total ? total : 1);
		if (share < min) {
			snprintf(buf, size,
				 "server %zu sent %.1f %% (%" PRIu64 " of %" PRIu64
				 " bytes), below %.0f %%",
				 i + 1, share * 100, gsim_server_bytes(cfg, r, i), total,
				 min * 100);
			return buf;
		}
	}
	return NULL;
}

/* --- split over two and three servers -------------------------------------------------- */

static const sim_dir_cfg gsim_5ms_20mbit = {.delay_ns = 5 * MS, .rate_bps = 20000000};

static void setup_split(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	const size_t *n = arg;

	cfg->size = gsim_size(seed, 2000000);
	cfg->time_limit = 30000 * MS;
	gsim_servers(cfg, *n, &gsim_5ms_20mbit);
}

static const char *check_split(const sim_xfer_cfg *cfg, const sim_xfer_result *r, const void *arg,
			       char *buf, size_t size)
{
	const size_t *n = arg;

	if (gsim_check_joined(cfg, r, buf, size) != NULL)
		return buf;
	/* equal links: a fair split, loosely */
	return gsim_check_shares(cfg, r, *n == 2 ? 0.30 : 0.15, buf, size);
}

static void test_group_split_two_servers_is_exact_and_shared(void)
{
	static const size_t n = 2;
	static const gsim_scen sc = {.name = "group_split_two_servers",
				     .seeds = 200,
				     .setup = setup_split,
				     .check = check_split,
				     .arg = &n,
				     .per_server = true};
	gsim_run(&sc);
}

static void test_group_split_three_servers_is_exact_and_shared(void)
{
	static const size_t n = 3;
	static const gsim_scen sc = {.name = "group_split_three_servers",
				     .seeds = 50,
				     .setup = setup_split,
				     .check = check_split,
				     .arg = &n,
				     .per_server = true};
	gsim_run(&sc);
}

/* --- a server dies, or its path goes down ------------------------------------------------ */

/* Longest delivery gap allowed when a server or its path dies: the stall
 * detection (GC_STALL, 100 ms, + 2 RTT) and the regrant's round trip, with
 * margin. */
#define GSIM_FAIL_MAX_GAP (300 * MS)

/* Moments of the clean two-server transfer of setup_fail (2 MB over two
 * 5 ms / 20 Mbit/s paths; identical for every seed): server 1 sends the
 * TICKET at 15.1 ms and it reaches the client at 20.1 ms; server 2 has
 * joined, been probed and delivered its first chunk by about 70 ms; the
 * stream ends at about 490 ms. */
#define GSIM_TICKET_AT_CLIENT (21 * MS)
#define GSIM_STARTED (100 * MS)
#define GSIM_ENDS (480 * MS)

typedef struct fail_arg {
	size_t server;	   /* which server fails (0: the one the client connected to) */
	bool link_down;	   /* its path goes down (else the node dies silently) */
	uint64_t from, to; /* the moment is drawn uniformly in [from, to) */
} fail_arg;

static uint64_t fail_moment(const sim_xfer_cfg *cfg, const fail_arg *fa)
{
	return fa->link_down ? cfg->path[fa->server].down_at : cfg->server_dies_at[fa->server];
}

static void setup_fail(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	const fail_arg *fa = arg;
	uint64_t at = gsim_uniform(seed, 0xdead, fa->from, fa->to);

	cfg->size = 2000000;
	cfg->time_limit = 10000 * MS; /* 20 times the clean transfer */
	gsim_servers(cfg, 2, &gsim_5ms_20mbit);
	if (fa->link_down)
		cfg->path[fa->server].down_at = at;
	else
		cfg->server_dies_at[fa->server] = at;
}

static void describe_fail(const sim_xfer_cfg *cfg, const void *arg, char *buf, size_t size)
{
	const fail_arg *fa = arg;
	double at = (double)fail_moment(cfg, fa) / 1e6;
	char what[40];

	if (fa->link_down)
		snprintf(what, sizeof(what), "--down %zu@%.1f", fa->server, at);
	else
		snprintf(what, sizeof(what), "--server%s-dies %.1f", fa->server == 0 ? "" : "2",
			 at);
	snprintf(buf, size,
		 "%s %zu at %.1f ms; simrun --seed %" PRIu64
		 " --group --servers 2 --rate 20 --delay 5 --size 2000000 --limit 10 %s",
		 fa->link_down ? "path down of server" : "death of server", fa->server + 1, at,
		 cfg->seed, what);
}

static const char *check_fail(const sim_xfer_cfg *cfg, const sim_xfer_result *r, const void *arg,
			      char *buf, size_t size)
{
	(void)cfg;
	(void)arg;
	if (r->client.max_gap_ns > GSIM_FAIL_MAX_GAP) {
		snprintf(buf, size, "delivery stalled %.1f ms (until %.1f ms; limit %.0f ms)",
			 (double)r->client.max_gap_ns / 1e6, (double)r->client.max_gap_at / 1e6,
			 (double)GSIM_FAIL_MAX_GAP / 1e6);
		return buf;
	}
	return NULL;
}

#define GSIM_FAIL_SEEDS 300
#define GSIM_EARLY_SEEDS 100

/* Mid-transfer: uniform over the transfer once both servers deliver. */
static void test_group_server1_dies_mid_transfer(void)
{
	static const fail_arg a = {0, false, GSIM_STARTED, GSIM_ENDS};
	static const gsim_scen sc = {.name = "group_server1_dies",
				     .seeds = GSIM_FAIL_SEEDS,
				     .setup = setup_fail,
				     .check = check_fail,
				     .describe = describe_fail,
				     .arg = &a};
	gsim_run(&sc);
}

static void test_group_server2_dies_mid_transfer(void)
{
	static const fail_arg a = {1, false, GSIM_STARTED, GSIM_ENDS};
	static const gsim_scen sc = {.name = "group_server2_dies",
				     .seeds = GSIM_FAIL_SEEDS,
				     .setup = setup_fail,
				     .check = check_fail,
				     .describe = describe_fail,
				     .arg = &a};
	gsim_run(&sc);
}

static void test_group_server1_path_down_mid_transfer(void)
{
	static const fail_arg a = {0, true, GSIM_STARTED, GSIM_ENDS};
	static const gsim_scen sc = {.name = "group_server1_path_down",
				     .seeds = GSIM_FAIL_SEEDS,
				     .setup = setup_fail,
				     .check = check_fail,
				     .describe = describe_fail,
				     .arg = &a};
	gsim_run(&sc);
}

static void test_group_server2_path_down_mid_transfer(void)
{
	static const fail_arg a = {1, true, GSIM_STARTED, GSIM_ENDS};
	static const gsim_scen sc = {.name = "group_server2_path_down",
				     .seeds = GSIM_FAIL_SEEDS,
				     .setup = setup_fail,
				     .check = check_fail,
				     .describe = describe_fail,
				     .arg = &a};
	gsim_run(&sc);
}

/* Early: from the moment the client holds the TICKET (before that no
 * other server can be joined: the client does not know N) until both
 * servers deliver.  Known failures, see gsim_known_fail[]. */
static void test_group_server1_dies_early(void)
{
	static const fail_arg a = {0, false, GSIM_TICKET_AT_CLIENT, GSIM_STARTED};
	static const gsim_scen sc = {.name = "group_server1_dies_early",
				     .seeds = GSIM_EARLY_SEEDS,
				     .setup = setup_fail,
				     .check = check_fail,
				     .describe = describe_fail,
				     .arg = &a};
	gsim_run(&sc);
}

static void test_group_server2_dies_early(void)
{
	static const fail_arg a = {1, false, GSIM_TICKET_AT_CLIENT, GSIM_STARTED};
	static const gsim_scen sc = {.name = "group_server2_dies_early",
				     .seeds = GSIM_EARLY_SEEDS,
				     .setup = setup_fail,
				     .check = check_fail,
				     .describe = describe_fail,
				     .arg = &a};
	gsim_run(&sc);
}

static void test_group_server1_path_down_early(void)
{
	static const fail_arg a = {0, true, GSIM_TICKET_AT_CLIENT, GSIM_STARTED};
	static const gsim_scen sc = {.name = "group_server1_path_down_early",
				     .seeds = GSIM_EARLY_SEEDS,
				     .setup = setup_fail,
				     .check = check_fail,
				     .describe = describe_fail,
				     .arg = &a};
	gsim_run(&sc);
}

static void test_group_server2_path_down_early(void)
{
	static const fail_arg a = {1, true, GSIM_TICKET_AT_CLIENT, GSIM_STARTED};
	static const gsim_scen sc = {.name = "group_server2_path_down_early",
				     .seeds = GSIM_EARLY_SEEDS,
				     .setup = setup_fail,
				     .check = check_fail,
				     .describe = describe_fail,
				     .arg = &a};
	gsim_run(&sc);
}

/* --- replicas that must be refused --------------------------------------------------- */

static void setup_diverge(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	(void)arg;
	cfg->size = gsim_size(seed, 1000000);
	cfg->time_limit = 30000 * MS;
	gsim_servers(cfg, 2, &gsim_5ms_20mbit);
	cfg->diverge_at[1] = 1;
}

static const char *check_diverge(const sim_xfer_cfg *cfg, const sim_xfer_result *r, const void *arg,
				 char *buf, size_t size)
{
	uint64_t from2 = gsim_server_bytes(cfg, r, 1);

	(void)arg;
	if (r->client_stats.divergences < 1) {
		snprintf(buf, size, "the diverging replica was not detected (divergences 0)");
		return buf;
	}
	/* it may send its probe (and what was in flight), not a share */
	if (from2 > cfg->size / 10) {
		snprintf(buf, size, "the diverging replica still sent %" PRIu64 " bytes", from2);
		return buf;
	}
	return NULL;
}

static void test_group_diverging_replica_is_dropped(void)
{
	static const gsim_scen sc = {.name = "group_diverging_replica",
				     .seeds = 100,
				     .setup = setup_diverge,
				     .check = check_diverge,
				     .per_server = true};
	gsim_run(&sc);
}

/*
 * The replica the client connected to (server 1) has other bytes.  The
 * client cannot tell which replica is right, only that they differ: it
 * trusts the server it connected to (its bytes are the reference the others
 * are probed against), so the player gets server 1's file, whole and
 * consistent, and server 2 - here the one with the right file - is dropped
 * at its probe.  sim_xfer_run's client checks against the served pattern,
 * so this case has its own small client: it expects server 1's file (the
 * pattern with every byte xor 0x33, see sim_server_app_set_diverge) and
 * looks at the client's view of both servers (mps_conn_get_peers).
 */
#define DV_SIZE 1000000u
#define DV_XOR 0x33 /* what a diverging sim server does to each byte */

typedef struct dv_client {
	sim_node *node;
	mps_connect_params p;
	mps_addr join;
	mps_conn *c;
	bool started, connected, eof, failed, closed;
	int err;
	char req[32];
	size_t reqlen, reqoff;
	uint64_t received;
	uint64_t first_bad; /* first offset that is not server 1's byte, or UINT64_MAX */
	mps_peer_info peers[SIM_XFER_MAX_SERVERS];
	size_t npeers;
} dv_client;

static void dv_event(void *ctx, sim_node *n, mps_conn *c, enum mps_event ev, int err)
{
	dv_client *a = ctx;

	(void)n;
	if (c != a->c)
		return;
	if (ev == MPS_EV_CONNECTED)
		a->connected = true;
	if (ev == MPS_EV_CLOSED && !a->eof) {
		a->failed = true;
		a->err = err;
	}
}

static void dv_read(dv_client *a, uint64_t now)
{
	uint8_t buf[16384];
	ssize_t rc, i;

	for (;;) {
		rc = mps_conn_recv(a->c, buf, sizeof(buf), now);
		if (rc == MPS_ERR_AGAIN)
			return;
		if (rc < 0) {
			a->failed = true;
			a->err = (int)rc;
			return;
		}
		if (rc == 0) {
			a->eof = true;
			a->npeers = mps_conn_get_peers(a->c, a->peers, SIM_XFER_MAX_SERVERS);
			return;
		}
		for (i = 0; i < rc; i++)
			if (a->first_bad == UINT64_MAX &&
			    buf[i] !=
				(uint8_t)(sim_pattern_byte(a->received + (uint64_t)i) ^ DV_XOR))
				a->first_bad = a->received + (uint64_t)i;
		a->received += (uint64_t)rc;
	}
}

static void dv_run(void *ctx, sim_node *n, uint64_t now)
{
	dv_client *a = ctx;
	ssize_t k;

	if (!a->started) {
		a->started = true;
		if (mps_connect(sim_node_stack(n), &a->p, now, &a->c) < 0) {
			a->c = NULL;
			a->failed = true;
		}
		return;
	}
	if (a->c == NULL || a->closed)
		return;
	if (a->connected && a->reqoff < a->reqlen) {
		k = mps_conn_send(a->c, (const uint8_t *)a->req + a->reqoff, a->reqlen - a->reqoff,
				  now);
		if (k > 0)
			a->reqoff += (size_t)k;
	}
	if (a->connected && !a->failed)
		dv_read(a, now);
	if (a->eof || a->failed) {
		mps_conn_close(a->c, now);
		a->closed = true;
	}
}

static bool dv_finished(void *ctx)
{
	const dv_client *a = ctx;

	return a->eof || a->failed;
}

/* One run; returns NULL when right, or what is wrong (into buf). */
static const char *dv_one(uint64_t seed, char *buf, size_t size, uint64_t *from2)
{
	static uint8_t gk[MPS_GROUP_KEY_LEN];
	sim_dir_cfg d = gsim_5ms_20mbit;
	mps_addr caddr, saddr[2];
	sim_server_app *srv[2] = {NULL, NULL};
	sim_link *links[2] = {NULL, NULL};
	mps_stack_stats st;
	mps_config cfg;
	sim_app app;
	dv_client a;
	const char *why = NULL;
	sim_dir_stats ds;
	size_t i;
	int rc;
	sim *s;

	for (i = 0; i < MPS_GROUP_KEY_LEN; i++)
		gk[i] = (uint8_t)(0x3c + 5 * i);
	s = sim_new(seed);
	CU_ASSERT_FATAL(s != NULL);
	memset(&a, 0, sizeof(a));
	memset(&cfg, 0, sizeof(cfg));
	sim_xfer_addr(&caddr, false, 0);
	a.node = sim_add_node(s, "client", &cfg, &caddr, 1);
	CU_ASSERT_FATAL(a.node != NULL);
	cfg.group_key = gk;
	for (i = 0; i < 2; i++) {
		sim_node *n;
		sim_xfer_addr(&saddr[i], true, i);
		n = sim_add_node(s, i == 0 ? "server1" : "server2", &cfg, &saddr[i], 1);
		CU_ASSERT_FATAL(n != NULL);
		CU_ASSERT_FATAL(mps_listen(sim_node_stack(n), &saddr[i]) == 0);
		srv[i] = sim_server_app_new(n);
		CU_ASSERT_FATAL(srv[i] != NULL);
		sim_server_app_set_diverge(srv[i], i == 0);
		links[i] = sim_add_link(s, &caddr, &saddr[i], &d, &d);
		CU_ASSERT_FATAL(links[i] != NULL);
	}
	a.join = saddr[1];
	a.p.remote = saddr[0];
	a.p.local = caddr;
	a.p.join = &a.join;
	a.p.njoin = 1;
	a.p.group = true;
	a.first_bad = UINT64_MAX;
	a.reqlen = (size_t)snprintf(a.req, sizeof(a.req), "GET %u\n", DV_SIZE);
	app.event = dv_event;
	app.run = dv_run;
	app.ctx = &a;
	sim_node_set_app(a.node, &app);
	sim_node_wake_at(a.node, 0);
	rc = sim_run(s, 30000 * MS, dv_finished, &a);
	mps_stack_get_stats(sim_node_stack(a.node), &st);
	sim_link_get_stats(links[1], SIM_BA, &ds);
	*from2 = ds.payload_delivered;
	if (!a.eof) {
		snprintf(buf, size, "no end of stream (%s; run %s) after %" PRIu64 " bytes",
			 mps_strerror(a.err), mps_strerror(rc), a.received);
		why = buf;
	} else if (a.received != DV_SIZE || a.first_bad != UINT64_MAX) {
		snprintf(buf, size,
			 "%" PRIu64 " bytes, first not from server 1 at %" PRIu64 " (of %u)",
			 a.received, a.first_bad, DV_SIZE);
		why = buf;
	} else if (a.npeers != 2 || strcmp(a.peers[0].state, "active") != 0 ||
		   strcmp(a.peers[1].state, "dropped") != 0 ||
		   a.peers[1].reason != MPS_ERR_DIVERGE) {
		snprintf(buf, size, "servers: %s (%s), %s (%s)",
			 a.npeers > 0 ? a.peers[0].state : "-",
			 a.npeers > 0 ? mps_strerror(a.peers[0].reason) : "-",
			 a.npeers > 1 ? a.peers[1].state : "-",
			 a.npeers > 1 ? mps_strerror(a.peers[1].reason) : "-");
		why = buf;
	} else if (st.divergences < 1) {
		snprintf(buf, size, "divergences %" PRIu64, st.divergences);
		why = buf;
	}
	sim_free(s); /* the stacks first: they free the connections */
	for (i = 0; i < 2; i++)
		sim_server_app_free(srv[i]);
	return why;
}

static void test_group_first_server_diverging_keeps_its_stream(void)
{
	const char *one = getenv("SIM_SEED"), *many = getenv("SIM_SEEDS");
	const char *only = getenv("SIM_SCENARIO");
	const char *name = "group_first_server_diverges";
	uint64_t first = gsim_first_seed(name), last, seed, from2, max2 = 0;
	unsigned failures = 0, runs = 0;
	char buf[200];

	if (only != NULL && only[0] != '\0' && strstr(name, only) == NULL)
		return;
	last = first + (many != NULL && atoi(many) > 0 ? (unsigned)atoi(many) : 100) - 1;
	if (one != NULL && one[0] != '\0')
		first = last = strtoull(one, NULL, 10);
	printf("\n");
	for (seed = first; seed <= last; seed++, runs++) {
		const char *why = dv_one(seed, buf, sizeof(buf), &from2);
		if (why != NULL && ++failures <= 5)
			printf("  gsim: %s seed %" PRIu64 ": %s\n", name, seed, why);
		if (from2 > max2)
			max2 = from2;
	}
	printf("  gsim: %-26s seeds %4u failures %3u: the stream is server 1's file, server 2 "
	       "dropped after at most %" PRIu64 " bytes\n",
	       name, runs, failures, max2);
	CU_ASSERT_EQUAL(failures, 0);
}

static void setup_other_group(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	(void)arg;
	cfg->size = gsim_size(seed, 1000000);
	cfg->time_limit = 30000 * MS;
	gsim_servers(cfg, 2, &gsim_5ms_20mbit);
	cfg->other_group[1] = 1;
}

static const char *check_other_group(const sim_xfer_cfg *cfg, const sim_xfer_result *r,
				     const void *arg, char *buf, size_t size)
{
	(void)arg;
	if (r->server_stats[1].group_joins_refused < 1 ||
	    r->server_stats[1].group_joins_accepted != 0 || r->server[1].accepted != 0 ||
	    gsim_server_bytes(cfg, r, 1) != 0) {
		snprintf(buf, size,
			 "server of another group: joins refused %" PRIu64 " accepted %" PRIu64
			 ", connections %" PRIu64 ", bytes %" PRIu64,
			 r->server_stats[1].group_joins_refused,
			 r->server_stats[1].group_joins_accepted, r->server[1].accepted,
			 gsim_server_bytes(cfg, r, 1));
		return buf;
	}
	return NULL;
}

static void test_group_server_of_another_group_is_refused(void)
{
	static const gsim_scen sc = {.name = "group_other_group_refused",
				     .seeds = 50,
				     .setup = setup_other_group,
				     .check = check_other_group};
	gsim_run(&sc);
}

/* --- scheduling modes ------------------------------------------------------------------ */

static void setup_mode(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	const enum mps_sched_mode *m = arg;

	cfg->size = gsim_size(seed, 1000000);
	cfg->time_limit = 30000 * MS;
	gsim_servers(cfg, 2, &gsim_5ms_20mbit);
	cfg->mode = *m;
}

static const char *check_mode(const sim_xfer_cfg *cfg, const sim_xfer_result *r, const void *arg,
			      char *buf, size_t size)
{
	(void)arg;
	return gsim_check_joined(cfg, r, buf, size);
}

static void test_group_redundant_mode_is_exact(void)
{
	static const enum mps_sched_mode m = MPS_SCHED_REDUNDANT;
	static const gsim_scen sc = {.name = "group_redundant",
				     .seeds = 100,
				     .setup = setup_mode,
				     .check = check_mode,
				     .arg = &m,
				     .per_server = true};
	gsim_run(&sc);
}

static void test_group_deadline_mode_is_exact(void)
{
	static const enum mps_sched_mode m = MPS_SCHED_DEADLINE;
	static const gsim_scen sc = {.name = "group_deadline",
				     .seeds = 100,
				     .setup = setup_mode,
				     .check = check_mode,
				     .arg = &m,
				     .per_server = true};
	gsim_run(&sc);
}

/* --- goodput against the sum of the rates ------------------------------------------------ */

typedef struct rate_arg {
	uint64_t rate[2]; /* bit/s of server 1's and server 2's path */
} rate_arg;

static void setup_rates(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	const rate_arg *ra = arg;
	sim_dir_cfg d = {.delay_ns = 10 * MS};
	size_t i;

	(void)seed;
	cfg->size = 16000000;
	cfg->time_limit = 60000 * MS;
	gsim_servers(cfg, 2, &d);
	for (i = 0; i < 2; i++) {
		/* A FIFO of one bandwidth-delay product (at least the default
		 * 64 KiB): with 64 KiB, half the BDP of 50 Mbit/s x 20 ms,
		 * congestion control alone cannot fill that path (one plain
		 * subflow gets about 32 of 50 Mbit/s) and 50 + 10 ends near
		 * 77 % of the sum whatever the scheduler does. */
		uint64_t bdp = ra->rate[i] / 8 * 2 * d.delay_ns / 1000000000ull;
		cfg->path[i].up.rate_bps = cfg->path[i].down.rate_bps = ra->rate[i];
		if (bdp > SIM_DEFAULT_QUEUE)
			cfg->path[i].down.queue_bytes = (uint32_t)bdp;
	}
}

static const char *check_rates(const sim_xfer_cfg *cfg, const sim_xfer_result *r, const void *arg,
			       char *buf, size_t size)
{
	const rate_arg *ra = arg;
	double sum = (double)(ra->rate[0] + ra->rate[1]);

	(void)cfg;
	/* loosely here; the 95 % goal is for the netns test */
	if (r->goodput_bps < 0.8 * sum || r->goodput_bps > sum) {
		snprintf(buf, size, "goodput %.2f Mbit/s = %.1f %% of the sum %.0f Mbit/s",
			 r->goodput_bps / 1e6, r->goodput_bps * 100 / sum, sum / 1e6);
		return buf;
	}
	return NULL;
}

static void test_group_10_plus_10_mbit_goodput_near_sum(void)
{
	static const rate_arg a = {{10000000, 10000000}};
	static const gsim_scen sc = {.name = "group_rate_10+10mbit",
				     .seeds = 5,
				     .setup = setup_rates,
				     .check = check_rates,
				     .arg = &a,
				     .per_server = true};
	gsim_run(&sc);
}

static void test_group_50_plus_10_mbit_goodput_near_sum(void)
{
	static const rate_arg a = {{50000000, 10000000}};
	static const gsim_scen sc = {.name = "group_rate_50+10mbit",
				     .seeds = 5,
				     .setup = setup_rates,
				     .check = check_rates,
				     .arg = &a,
				     .per_server = true};
	gsim_run(&sc);
}

/* --- loss ------------------------------------------------------------------------------ */

static void setup_loss(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	sim_dir_cfg d = gsim_5ms_20mbit;

	(void)seed;
	(void)arg;
	d.loss_pm = 10;
	cfg->size = 500000;
	cfg->time_limit = 30000 * MS;
	gsim_servers(cfg, 2, &d);
}

/* 10 + 10 Mbit/s with 1 % loss on both servers' paths: a loss burst may make
 * a server look slow for a moment; it must get ranges again and carry its
 * share (a slow server once stayed idle for good: about 45 % of the sum). */
static void setup_rates_loss(sim_xfer_cfg *cfg, uint64_t seed, const void *arg)
{
	size_t i;

	setup_rates(cfg, seed, arg);
	for (i = 0; i < 2; i++) {
		cfg->path[i].up.delay_ns = cfg->path[i].down.delay_ns = 5 * MS;
		cfg->path[i].up.loss_pm = cfg->path[i].down.loss_pm = 10;
	}
}

static const char *check_rates_loss(const sim_xfer_cfg *cfg, const sim_xfer_result *r,
				    const void *arg, char *buf, size_t size)
{
	const rate_arg *ra = arg;
	double sum = (double)(ra->rate[0] + ra->rate[1]);

	(void)cfg;
	if (r->goodput_bps < 0.7 * sum) {
		snprintf(buf, size, "goodput %.2f Mbit/s = %.1f %% of the sum %.0f Mbit/s under 1 %% loss",
			 r->goodput_bps / 1e6, r->goodput_bps * 100 / sum, sum / 1e6);
		return buf;
	}
	return NULL;
}

static void test_group_10_plus_10_mbit_with_loss_keeps_both_servers(void)
{
	static const rate_arg a = {{10000000, 10000000}};
	static const gsim_scen sc = {.name = "group_rate_10+10mbit_loss_1pct",
				     .seeds = 16,
				     .setup = setup_rates_loss,
				     .check = check_rates_loss,
				     .arg = &a,
				     .per_server = true};
	gsim_run(&sc);
}

static void test_group_loss_1pct_both_servers_is_exact(void)
{
	static const gsim_scen sc = {
	    .name = "group_loss_1pct_both", .seeds = 200, .setup = setup_loss};
	gsim_run(&sc);
}

static CU_TestInfo tests_group_sim[] = {
    {"group_split_two_servers_is_exact_and_shared",
     test_group_split_two_servers_is_exact_and_shared},
    {"group_split_three_servers_is_exact_and_shared",
     test_group_split_three_servers_is_exact_and_shared},
    {"group_server1_dies_mid_transfer", test_group_server1_dies_mid_transfer},
    {"group_server2_dies_mid_transfer", test_group_server2_dies_mid_transfer},
    {"group_server1_path_down_mid_transfer", test_group_server1_path_down_mid_transfer},
    {"group_server2_path_down_mid_transfer", test_group_server2_path_down_mid_transfer},
    {"group_server1_dies_early", test_group_server1_dies_early},
    {"group_server2_dies_early", test_group_server2_dies_early},
    {"group_server1_path_down_early", test_group_server1_path_down_early},
    {"group_server2_path_down_early", test_group_server2_path_down_early},
    {"group_diverging_replica_is_dropped", test_group_diverging_replica_is_dropped},
    {"group_first_server_diverging_keeps_its_stream",
     test_group_first_server_diverging_keeps_its_stream},
    {"group_server_of_another_group_is_refused", test_group_server_of_another_group_is_refused},
    {"group_redundant_mode_is_exact", test_group_redundant_mode_is_exact},
    {"group_deadline_mode_is_exact", test_group_deadline_mode_is_exact},
    {"group_10_plus_10_mbit_goodput_near_sum", test_group_10_plus_10_mbit_goodput_near_sum},
    {"group_50_plus_10_mbit_goodput_near_sum", test_group_50_plus_10_mbit_goodput_near_sum},
    {"group_loss_1pct_both_servers_is_exact", test_group_loss_1pct_both_servers_is_exact},
    {"group_10_plus_10_mbit_with_loss_keeps_both_servers",
     test_group_10_plus_10_mbit_with_loss_keeps_both_servers},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(group_sim, tests_group_sim);
