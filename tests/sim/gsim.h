/*
 * gsim.h - the harness of the group scenarios in the simulator
 * (test_group_sim.c, test_keepalive_sim.c): a scenario is a name, a number
 * of seeds, a setup that builds one seed's sim_xfer_cfg and a check of its
 * result; gsim_run runs it over its seeds (or SIM_SEED / SIM_SEEDS), prints
 * one summary line and, for the first failing seed, its reason and the last
 * packet events of the same run traced again.
 *
 * Environment: SIM_SEEDS=N, SIM_SEED=N, SIM_SCENARIO=S (a substring of the
 * names), SIM_KNOWN_FAIL=1 (enforce gsim_known_fail[] in gsim.c).
 */
#ifndef MPS_GSIM_H
#define MPS_GSIM_H

#include "sim_app.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef void (*gsim_setup_fn)(sim_xfer_cfg *cfg, uint64_t seed, const void *arg);
/* Returns NULL when r is right, or what is wrong (written into buf). */
typedef const char *(*gsim_check_fn)(const sim_xfer_cfg *cfg, const sim_xfer_result *r,
				     const void *arg, char *buf, size_t size);
/* Writes what a seed's setup chose (e.g. the failure's moment) into buf. */
typedef void (*gsim_describe_fn)(const sim_xfer_cfg *cfg, const void *arg, char *buf, size_t size);

/* One scenario: a name (also its seed range), a default number of seeds,
 * how to set a seed's run up and check it. */
typedef struct gsim_scen {
	const char *name;
	unsigned seeds;
	gsim_setup_fn setup;
	gsim_check_fn check;	   /* NULL: byte-exact and complete is enough */
	gsim_describe_fn describe; /* NULL: nothing to say */
	const void *arg;
	bool per_server; /* print bytes per server */
} gsim_scen;

/* Runs a scenario over its seeds; a failure is a CUnit assertion failure
 * unless the scenario is a known one (gsim_known_fail[]). */
void gsim_run(const gsim_scen *sc);

/* A group of n servers, each on its own path from the client's only
 * address, all paths with d both ways; the client knows them all. */
void gsim_servers(sim_xfer_cfg *cfg, size_t n, const sim_dir_cfg *d);

/* The first seed of a scenario: disjoint ranges per name (FNV-1a). */
uint64_t gsim_first_seed(const char *name);

/* A seeded draw, uniform in [lo, hi). */
uint64_t gsim_uniform(uint64_t seed, uint64_t salt, uint64_t lo, uint64_t hi);

/* Payload that went down the paths to server i. */
uint64_t gsim_server_bytes(const sim_xfer_cfg *cfg, const sim_xfer_result *r, size_t i);

#endif
