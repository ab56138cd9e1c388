/*
 * gsim.c - the harness of the group scenarios (see gsim.h).
 */
#include "gsim.h"
#include "../unit/unit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Scenarios failing because of stack bugs: they run and report, but only
 * fail the suite with SIM_KNOWN_FAIL=1.  Remove a name once it passes. */
static const char *const gsim_known_fail[] = {
    NULL,
};

/* --- the harness ------------------------------------------------------------------ */

/* What a scenario gathers over its seeds. */
typedef struct gsim_sum {
	unsigned runs, failures, nok;
	uint64_t worst_gap, worst_gap_seed;
	double gp_sum, gp_min;
	unsigned ngp;
	uint64_t server_bytes[SIM_XFER_MAX_SERVERS]; /* summed over the runs */
	double share_min[SIM_XFER_MAX_SERVERS];
} gsim_sum;

static bool gsim_env_flag(const char *name)
{
	const char *v = getenv(name);

	return v != NULL && v[0] != '\0' && strcmp(v, "0") != 0;
}

static bool gsim_is_known_fail(const char *name)
{
	size_t i;

	for (i = 0; gsim_known_fail[i] != NULL; i++)
		if (strcmp(gsim_known_fail[i], name) == 0)
			return true;
	return false;
}

/* Disjoint seed ranges per scenario (FNV-1a of the name). */
uint64_t gsim_first_seed(const char *name)
{
	uint32_t h = 2166136261u;

	for (; *name != '\0'; name++)
		h = (h ^ (uint8_t)*name) * 16777619u;
	return (uint64_t)(h % 100000u) * 100000u + 1;
}

/* Payload that went down the paths to server i. */
uint64_t gsim_server_bytes(const sim_xfer_cfg *cfg, const sim_xfer_result *r, size_t i)
{
	uint64_t b = 0;
	size_t p;

	for (p = 0; p < cfg->npaths; p++)
		if (cfg->path[p].server == i)
			b += r->link[p][SIM_BA].payload_delivered;
	return b;
}

static void gsim_account(gsim_sum *sum, const sim_xfer_cfg *cfg, const sim_xfer_result *r,
			 uint64_t seed)
{
	uint64_t total = 0;
	size_t i;

	if (r->client.max_gap_ns > sum->worst_gap) {
		sum->worst_gap = r->client.max_gap_ns;
		sum->worst_gap_seed = seed;
	}
	if (r->goodput_bps > 0) {
		sum->gp_sum += r->goodput_bps;
		if (sum->ngp == 0 || r->goodput_bps < sum->gp_min)
			sum->gp_min = r->goodput_bps;
		sum->ngp++;
	}
	for (i = 0; i < cfg->nservers; i++)
		total += gsim_server_bytes(cfg, r, i);
	for (i = 0; i < cfg->nservers; i++) {
		uint64_t b = gsim_server_bytes(cfg, r, i);
		double share = total ? (double)b / (double)total : 0;
		sum->server_bytes[i] += b;
		if (sum->nok == 0 || share < sum->share_min[i])
			sum->share_min[i] = share;
	}
	sum->nok++;
}

/* Runs a scenario over its seeds (or the environment's); prints one summary
 * line, and bytes per server when the scenario asks. */
void gsim_run(const gsim_scen *sc)
{
	const char *one = getenv("SIM_SEED"), *many = getenv("SIM_SEEDS");
	const char *only = getenv("SIM_SCENARIO");
	uint64_t first = gsim_first_seed(sc->name), last, seed;
	bool known = gsim_is_known_fail(sc->name);
	unsigned nseeds = sc->seeds;
	size_t nservers = 1, i;
	gsim_sum sum;
	char buf[240], note[240];

	if (only != NULL && only[0] != '\0' && strstr(sc->name, only) == NULL)
		return;
	memset(&sum, 0, sizeof(sum));
	if (many != NULL && atoi(many) > 0)
		nseeds = (unsigned)atoi(many);
	last = first + nseeds - 1;
	if (one != NULL && one[0] != '\0')
		first = last = strtoull(one, NULL, 10);
	printf("\n");
	for (seed = first; seed <= last; seed++) {
		sim_xfer_result r;
		sim_xfer_cfg cfg;
		const char *why;

		sim_xfer_defaults(&cfg);
		cfg.seed = seed;
		sc->setup(&cfg, seed, sc->arg);
		nservers = cfg.nservers;
		sim_xfer_run(&cfg, &r);
		why = !r.ok		  ? r.why
		      : sc->check != NULL ? sc->check(&cfg, &r, sc->arg, buf, sizeof(buf))
					  : NULL;
		sum.runs++;
		if (why == NULL) {
			gsim_account(&sum, &cfg, &r, seed);
			continue;
		}
		sum.failures++;
		note[0] = '\0';
		if (sc->describe != NULL)
			sc->describe(&cfg, sc->arg, note, sizeof(note));
		if (sum.failures <= 30)
			printf("  gsim: %s seed %" PRIu64 ": %s%s%s\n", sc->name, seed, why,
			       note[0] ? "; " : "", note);
		if (sum.failures == 1) {
			/* the same run again, traced */
			sim_xfer_defaults(&cfg);
			cfg.seed = seed;
			sc->setup(&cfg, seed, sc->arg);
			cfg.trace_lines = 24;
			cfg.trace_out = stdout;
			sim_xfer_run(&cfg, &r);
		}
	}
	printf("  gsim: %-26s seeds %4u failures %3u worst-gap %6.1f ms (seed %" PRIu64
	       ") goodput %6.2f Mbit/s (min %6.2f)",
	       sc->name, sum.runs, sum.failures, (double)sum.worst_gap / 1e6, sum.worst_gap_seed,
	       sum.ngp ? sum.gp_sum / sum.ngp / 1e6 : 0.0, sum.gp_min / 1e6);
	if (sc->per_server && sum.nok > 0) {
		for (i = 0; i < nservers; i++)
			printf("\n  gsim: %-26s server %zu: %9.0f bytes/run, share min %4.1f %%",
			       sc->name, i + 1, (double)sum.server_bytes[i] / sum.nok,
			       sum.share_min[i] * 100);
	}
	if (known && !gsim_env_flag("SIM_KNOWN_FAIL")) {
		if (sum.failures == 0)
			printf(
			    "\n  gsim: %s is listed as a known failure but passed: remove it from "
			    "gsim_known_fail[]",
			    sc->name);
		else
			printf(" KNOWN FAILURE (not counted; SIM_KNOWN_FAIL=1 enforces it)");
		printf("\n");
		return;
	}
	printf("\n");
	CU_ASSERT_EQUAL(sum.failures, 0);
}

/* --- topologies -------------------------------------------------------------------- */

/* A group of n servers, each on its own path from the client's only
 * address, all paths with d both ways; the client knows them all. */
void gsim_servers(sim_xfer_cfg *cfg, size_t n, const sim_dir_cfg *d)
{
	size_t i;

	cfg->group = true;
	cfg->nservers = n;
	cfg->join_servers = true;
	cfg->nclient_addrs = 1;
	cfg->npaths = n;
	for (i = 0; i < n; i++) {
		cfg->path[i].client = 0;
		cfg->path[i].server = (uint8_t)i;
		cfg->path[i].up = *d;
		cfg->path[i].down = *d;
	}
}

/* A seeded draw, uniform in [lo, hi). */
uint64_t gsim_uniform(uint64_t seed, uint64_t salt, uint64_t lo, uint64_t hi)
{
	uint64_t st = seed * 0x9e3779b97f4a7c15ull ^ salt;

	return lo + sim_rand_next(&st) % (hi - lo);
}
