/*
 * test_keepalive_sim.c - group connections that carry what players really
 * send (issue 14): sequences of requests on one keep-alive connection, with
 * responses of any size (empty ones, ones that end at, just before and just
 * after the GROUP_PROBE bytes a new server is checked on, many MB), idle
 * gaps longer than any of the client's timers, pipelined requests, a server
 * that closes right after a short response, and servers that die at random
 * moments.
 *
 * Every run checks, through the client app (sim_app.c), that every byte of
 * every response is the server's pattern byte at its place in the stream
 * and that the stream ends exactly after the last response.  The scenarios
 * add a bound on each short response's time, from its request to its last
 * byte: a short response waits for nothing but its own round trip.
 *
 * Reproduce one seed with SIM_SCENARIO=NAME SIM_SEED=N tests/sim/sim_tests
 * keepalive_sim (SIM_PCAP=file for a capture); the failing seed's script is
 * printed.  Environment as gsim.h.
 */
#include "../unit/unit.h"
#include "gsim.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#define MS MPS_NS_PER_MS

/* Responses up to this size are "short": their time is bounded. */
#define KA_SHORT (64u * 1024)

/* The bound on a short response with no server death near it: the request
 * up and the response down (one RTT of the slowest path, since the client
 * cannot choose which server's range a response falls in); the rounds its
 * segments need at the slowest congestion window a subflow can have after
 * earlier losses on these shallow, tail-drop queues (one segment after an
 * RTO, growing by one segment per round: k rounds carry k(k+1)/2 segments;
 * a fresh subflow, starting at ten and doubling, is faster); its
 * transmission at the slowest rate, twice over; and a margin of one RTT and
 * 20 ms for a lost segment's fast repair and the ACK clock.  Any of the
 * client's timers (GC_STALL 50 ms, a RANGE asked again after 100 ms,
 * GC_PROMOTE 300 ms, GC_DEAD_LIVE 10 s) waited on by mistake overruns it on
 * the short paths (RTT 1 and 20 ms), where a round is cheap. */
static uint64_t ka_short_bound(uint64_t rtt_max, uint64_t rate_min, uint64_t size)
{
	uint64_t segs = (size + 1399) / 1400, k = 0;

	while (k * (k + 1) / 2 < segs)
		k++;
	return (2 + k) * rtt_max + size * 8 * 1000000000ull / rate_min * 2 + 20 * MS;
}

/* With a server death in the response's time: the stall detection
 * (GC_STALL 50 ms + 2 smoothed RTTs), the regrant's round trip, and when
 * the survivor was still being checked, GC_PROMOTE (300 ms) before it is
 * trusted: 500 ms more than the bound above covers all of it. */
#define KA_DEATH_EXTRA (500 * MS)

typedef struct ka_arg {
	bool random;	  /* else the fixed script of boundary sizes */
	bool deaths;	  /* a server may die (random scripts) */
	size_t nservers;  /* fixed script: servers */
	uint64_t delay;	  /* fixed script: one-way delay of every path */
} ka_arg;

/* The script of the current seed (gsim runs seeds one after the other). */
static sim_req ka_reqs[SIM_MAX_REQS];

static const uint64_t ka_sizes[] = {
    0,	  1,	 100,	 500,	4095,	4096,	 4097,	  4160,	   5000,
    16384, 65535, 65536, 65600, 200000, 1000000, 2000000, 3000000,
};

static const uint64_t ka_gaps[] = {
    0, 0, 5 * MS, 50 * MS, 300 * MS, 2000 * MS, 11000 * MS,
};

/* The fixed script: every boundary size, idle gaps longer than the dead
 * server timers (GC_DEAD_LIVE is 10 s), pipelined requests. */
static size_t ka_fixed(sim_req *r)
{
	static const sim_req fixed[] = {
	    {.size = 100},
	    {.size = 0, .gap = 20 * MS},
	    {.size = 4095},
	    {.size = 4096, .gap = 11000 * MS},
	    {.size = 4097},
	    {.size = 1000000, .gap = 300 * MS},
	    {.size = 100, .pipelined = true},
	    {.size = 0, .pipelined = true},
	    {.size = 5000, .gap = 2000 * MS},
	    {.size = 65536},
	    {.size = 1, .gap = 12000 * MS},
	    {.size = 300},
	};
	memcpy(r, fixed, sizeof(fixed));
	return sizeof(fixed) / sizeof(fixed[0]);
}

static size_t ka_random(sim_req *r, uint64_t seed, uint64_t *total)
{
	size_t n = (size_t)gsim_uniform(seed, 0x6b61, 4, 13), i;

	*total = 0;
	for (i = 0; i < n; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		r[i].size = ka_sizes[gsim_uniform(seed, 0x100 + i, 0, sizeof(ka_sizes) / sizeof(ka_sizes[0]))];
		if (*total + r[i].size > 6000000)
			r[i].size = ka_sizes[gsim_uniform(seed, 0x200 + i, 0, 9)]; /* keep runs short */
		*total += r[i].size;
		if (i > 0 && gsim_uniform(seed, 0x300 + i, 0, 100) < 15)
			r[i].pipelined = true;
		else
			r[i].gap = ka_gaps[gsim_uniform(seed, 0x400 + i, 0, sizeof(ka_gaps) / sizeof(ka_gaps[0]))];
	}
	/* One script in five: the server closes right after the last response. */
	r[n - 1].last = gsim_uniform(seed, 0x500, 0, 5) == 0;
	return n;
}

static void ka_setup(sim_xfer_cfg *cfg, uint64_t seed, const void *argp)
{
	const ka_arg *arg = argp;
	uint64_t total = 0, gaps = 0, rate_min = UINT64_MAX, span;
	size_t i, n;

	if (!arg->random) {
		sim_dir_cfg d = {.delay_ns = arg->delay, .rate_bps = 20000000};
		n = ka_fixed(ka_reqs);
		gsim_servers(cfg, arg->nservers, &d);
	} else {
		static const uint64_t delays[] = {MS / 2, 10 * MS, 40 * MS};
		static const uint64_t rates[] = {10000000, 20000000, 50000000};
		sim_dir_cfg d = {0};
		n = ka_random(ka_reqs, seed, &total);
		gsim_servers(cfg, (size_t)gsim_uniform(seed, 0x600, 2, 4), &d);
		for (i = 0; i < cfg->nservers; i++) {
			d.delay_ns = delays[gsim_uniform(seed, 0x700 + i, 0, 3)];
			d.rate_bps = rates[gsim_uniform(seed, 0x800 + i, 0, 3)];
			cfg->path[i].up = d;
			cfg->path[i].down = d;
		}
	}
	total = 0;
	for (i = 0; i < n; i++) {
		gaps += ka_reqs[i].gap;
		total += ka_reqs[i].size;
	}
	for (i = 0; i < cfg->npaths; i++)
		if (cfg->path[i].down.rate_bps < rate_min)
			rate_min = cfg->path[i].down.rate_bps;
	/* what the script takes at the slowest rate, with no failure */
	span = gaps + total * 8 * 1000000000ull / rate_min;
	/* A server dies in one run of two, at a moment drawn over the run
	 * (after the first second: before the TICKET the client knows no
	 * other server's key, by design). */
	if (arg->deaths && gsim_uniform(seed, 0x900, 0, 2) == 0) {
		size_t who = (size_t)gsim_uniform(seed, 0xa00, 0, cfg->nservers);
		cfg->server_dies_at[who] = gsim_uniform(seed, 0xb00, 1000 * MS, 1000 * MS + span + 1);
	}
	cfg->reqs = ka_reqs;
	cfg->nreqs = n;
	cfg->time_limit = gaps + 4 * (span - gaps) + 30000 * MS;
}

static uint64_t ka_rtt_max(const sim_xfer_cfg *cfg)
{
	uint64_t m = 0;
	size_t i;

	for (i = 0; i < cfg->npaths; i++) {
		uint64_t rtt = cfg->path[i].up.delay_ns + cfg->path[i].down.delay_ns;
		if (rtt > m)
			m = rtt;
	}
	return m;
}

static uint64_t ka_rate_min(const sim_xfer_cfg *cfg)
{
	uint64_t m = UINT64_MAX;
	size_t i;

	for (i = 0; i < cfg->npaths; i++)
		if (cfg->path[i].down.rate_bps != 0 && cfg->path[i].down.rate_bps < m)
			m = cfg->path[i].down.rate_bps;
	return m;
}

static uint64_t ka_death(const sim_xfer_cfg *cfg)
{
	size_t i;

	for (i = 0; i < cfg->nservers; i++)
		if (cfg->server_dies_at[i] != 0)
			return cfg->server_dies_at[i];
	return 0;
}

static const char *ka_check(const sim_xfer_cfg *cfg, const sim_xfer_result *r, const void *arg,
			    char *buf, size_t size)
{
	const sim_client_result *c = &r->client;
	uint64_t rtt = ka_rtt_max(cfg), rate = ka_rate_min(cfg), death = ka_death(cfg);
	uint64_t failed_over = UINT64_MAX;
	size_t i, j;

	(void)arg;
	for (i = 0; i < c->nreqs; i++) {
		const sim_req *q = &cfg->reqs[i];
		uint64_t took, bound;
		bool near_death;
		if (c->req_done[i] == 0) {
			snprintf(buf, size, "response %zu (%" PRIu64 " bytes) never completed", i, q->size);
			return buf;
		}
		took = c->req_done[i] - c->req_sent[i];
		/* A dead server is found when the stream goes on without it:
		 * at the first response after the death that needs its range
		 * (an idle server's death shows only then).  That response
		 * and those in flight with it may take the failover's time;
		 * one asked once it completed may not. */
		near_death = death != 0 && c->req_done[i] >= death && c->req_sent[i] < failed_over;
		/* A pipelined response waits for the ones before it in its
		 * pipeline: bounded only when they are all short, by the sum. */
		bound = near_death ? KA_DEATH_EXTRA : 0;
		for (j = i + 1; j-- > 0;) {
			if (cfg->reqs[j].size > KA_SHORT)
				break;
			bound += ka_short_bound(rtt, rate, cfg->reqs[j].size);
			if (j == 0 || !cfg->reqs[j].pipelined)
				break;
		}
		if (near_death && took > bound - KA_DEATH_EXTRA && c->req_done[i] < failed_over)
			failed_over = c->req_done[i]; /* this one waited for the failover */
		if (cfg->reqs[j].size > KA_SHORT)
			continue;
		if (took > bound) {
			snprintf(buf, size,
				 "response %zu (%" PRIu64 " bytes%s) took %.1f ms, bound %.1f ms (sent at %.1f ms%s)",
				 i, q->size, q->pipelined ? ", pipelined" : "", (double)took / 1e6,
				 (double)bound / 1e6, (double)c->req_sent[i] / 1e6,
				 near_death ? ", near the death" : "");
			return buf;
		}
	}
	return NULL;
}

static void ka_describe(const sim_xfer_cfg *cfg, const void *arg, char *buf, size_t size)
{
	size_t i, k = 0;
	int w;

	(void)arg;
	w = snprintf(buf, size, "%zu servers, rtt max %.1f ms, rate min %.0f Mbit/s, death %.1f ms; script:",
		     cfg->nservers, (double)ka_rtt_max(cfg) / 1e6, (double)ka_rate_min(cfg) / 1e6,
		     (double)ka_death(cfg) / 1e6);
	if (w > 0)
		k = (size_t)w;
	for (i = 0; i < cfg->nreqs && k < size; i++) {
		w = snprintf(buf + k, size - k, " %" PRIu64 "%s@%.0f", cfg->reqs[i].size,
			     cfg->reqs[i].last ? "L" : cfg->reqs[i].pipelined ? "P" : "",
			     (double)cfg->reqs[i].gap / 1e6);
		if (w < 0)
			break;
		k += (size_t)w;
	}
}

static void test_keepalive_boundary_sizes_two_servers(void)
{
	static const ka_arg a = {.nservers = 2, .delay = 10 * MS};
	static const gsim_scen sc = {.name = "ka_boundary_two",
				     .seeds = 20,
				     .setup = ka_setup,
				     .check = ka_check,
				     .describe = ka_describe,
				     .arg = &a};
	gsim_run(&sc);
}

static void test_keepalive_boundary_sizes_three_servers(void)
{
	static const ka_arg a = {.nservers = 3, .delay = MS / 2};
	static const gsim_scen sc = {.name = "ka_boundary_three",
				     .seeds = 20,
				     .setup = ka_setup,
				     .check = ka_check,
				     .describe = ka_describe,
				     .arg = &a};
	gsim_run(&sc);
}

static void test_keepalive_random_sequences_with_deaths(void)
{
	static const ka_arg a = {.random = true, .deaths = true};
	static const gsim_scen sc = {.name = "ka_random",
				     .seeds = 500,
				     .setup = ka_setup,
				     .check = ka_check,
				     .describe = ka_describe,
				     .arg = &a};
	gsim_run(&sc);
}

static CU_TestInfo tests_keepalive_sim[] = {
    {"keepalive_boundary_sizes_two_servers", test_keepalive_boundary_sizes_two_servers},
    {"keepalive_boundary_sizes_three_servers", test_keepalive_boundary_sizes_three_servers},
    {"keepalive_random_sequences_with_deaths", test_keepalive_random_sequences_with_deaths},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(keepalive_sim, tests_keepalive_sim);
