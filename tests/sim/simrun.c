/*
 * simrun.c - run one simulated transfer from the command line, to reproduce
 * a seed that a scenario reported.
 *
 *   simrun [--seed N] [--size BYTES[k|M]] [--paths N] [--loss PCT] [--rate MBPS]
 *          [--delay MS] [--queue BYTES] [--reorder PCT] [--reorder-ms MS]
 *          [--dup PCT] [--down PATH@MS] [--no-mptcp] [--limit S] [--close]
 *          [--servers N] [--server-dies MS]
 *          [--pcap FILE] [--trace] [--trace-lines N] [--cc NAME] [--cc-coupled NAME]
 *
 * Path i is client address i -> server 1, with the same settings in both
 * directions.  --loss, --rate, --delay, --queue, --reorder and --dup take a
 * value or a comma-separated list with one value per path (the last value
 * repeats): --delay 5,8.  --servers N adds servers 2..N (10.88.N.1), joined
 * from the first client address over paths of path 0's settings (numbered
 * after the client's paths); --server-dies kills server 1 silently.  Loss, reordering and
 * duplication are in percent (resolution 0.1 %).  --down 1@500 takes path 1 (0-based) down at 500
 * ms.  --trace prints every packet event on stderr (as SIM_TRACE=1 does); when the run fails, the
 * last N packet events (default 40) are printed on stderr.  Exit status 0 when the transfer
 * completed byte-exact, 1 when not, 2 for bad arguments.  --cc and --cc-coupled pick the
 * congestion control of every stack (mps_config.cc, cc_coupled; doc/congestion.md).
 */
#include "sim_app.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static void simrun_usage(void)
{
	fprintf(stderr,
		"usage: simrun [--seed N] [--size BYTES[k|M]] [--paths N] [--loss PCT]\n"
		"              [--rate MBPS] [--delay MS] [--queue BYTES] [--reorder PCT]\n"
		"              [--reorder-ms MS] [--dup PCT] [--down PATH@MS] [--no-mptcp]\n"
		"              [--limit S] [--close] [--pcap FILE] [--trace] [--trace-lines N]\n"
		"              [--servers N] [--server-dies MS] [--server2-dies MS]\n"
		"              [--group] [--redundant|--deadline] [--diverge I] [--other-group I]\n"
		"              [--gso] [--cc NAME] [--cc-coupled NAME]\n");
}

static int simrun_num(const char *s, double *out)
{
	char *end;

	*out = strtod(s, &end);
	if (end == s || *out < 0)
		return -1;
	if (*end == 'k' || *end == 'K') {
		*out *= 1e3;
		end++;
	} else if (*end == 'M') {
		*out *= 1e6;
		end++;
	}
	return *end == '\0' ? 0 : -1;
}

static uint32_t simrun_pm(double pct)
{
	double pm = pct * 10.0 + 0.5;

	return pm > 1000 ? 1000 : (uint32_t)pm;
}

/* The i-th value of a comma-separated list (the last one for i past its
 * end), or -1 when it does not parse. */
static int simrun_list(const char *list, size_t i, double *out)
{
	char item[64];
	const char *p = list, *comma;
	size_t n;

	for (;;) {
		comma = strchr(p, ',');
		if (i == 0 || comma == NULL)
			break;
		p = comma + 1;
		i--;
	}
	n = comma ? (size_t)(comma - p) : strlen(p);
	if (n >= sizeof(item))
		return -1;
	memcpy(item, p, n);
	item[n] = '\0';
	return simrun_num(item, out);
}

/* Options whose value may be a per-path list. */
enum { SR_LOSS, SR_RATE, SR_DELAY, SR_QUEUE, SR_REORDER, SR_DUP, SR_COUNT };
static const char *const simrun_path_opts[SR_COUNT] = {"--loss",  "--rate",    "--delay",
						       "--queue", "--reorder", "--dup"};

static int simrun_path_cfg(const char *const lists[SR_COUNT], size_t i, double reorder_ms,
			   sim_dir_cfg *d)
{
	double v[SR_COUNT] = {0};
	size_t k;

	for (k = 0; k < SR_COUNT; k++)
		if (lists[k] != NULL && simrun_list(lists[k], i, &v[k]) < 0)
			return -1;
	memset(d, 0, sizeof(*d));
	d->loss_pm = simrun_pm(v[SR_LOSS]);
	d->rate_bps = (uint64_t)(v[SR_RATE] * 1e6);
	d->delay_ns = (uint64_t)(v[SR_DELAY] * 1e6);
	d->queue_bytes = (uint32_t)v[SR_QUEUE];
	d->reorder_pm = simrun_pm(v[SR_REORDER]);
	d->reorder_ns = (uint64_t)(reorder_ms * 1e6);
	d->dup_pm = simrun_pm(v[SR_DUP]);
	return 0;
}

int main(int argc, char **argv)
{
	const char *lists[SR_COUNT] = {NULL};
	sim_xfer_cfg cfg;
	sim_xfer_result res;
	double v, reorder_ms = 5;
	long down_path = -1;
	size_t nservers = 1;
	double down_ms = 0;
	size_t i, j;
	int k, rc;

	setvbuf(stdout, NULL, _IOLBF, 0); /* keep the order with the trace on stderr */
	sim_xfer_defaults(&cfg);
	cfg.trace_lines = 40;
	cfg.trace_out = stderr;
	for (k = 1; k < argc; k++) {
		const char *o = argv[k];
		const char *a = k + 1 < argc ? argv[k + 1] : NULL;
		bool takes = true, listed = false;

		for (j = 0; j < SR_COUNT; j++) {
			if (a != NULL && strcmp(o, simrun_path_opts[j]) == 0) {
				lists[j] = a;
				listed = true;
			}
		}
		if (listed) {
			/* checked per path below */
		} else if (strcmp(o, "--no-mptcp") == 0) {
			cfg.no_mptcp = true;
			takes = false;
		} else if (strcmp(o, "--group") == 0) {
			cfg.group = true;
			takes = false;
		} else if (strcmp(o, "--gso") == 0) {
			cfg.gso = true;
			takes = false;
		} else if (strcmp(o, "--redundant") == 0) {
			cfg.mode = MPS_SCHED_REDUNDANT;
			takes = false;
		} else if (strcmp(o, "--deadline") == 0) {
			cfg.mode = MPS_SCHED_DEADLINE;
			takes = false;
		} else if (strcmp(o, "--close") == 0) {
			cfg.wait_close = true;
			takes = false;
		} else if (strcmp(o, "--trace") == 0) {
			setenv("SIM_TRACE", "1", 1);
			takes = false;
		} else if (strcmp(o, "--help") == 0 || strcmp(o, "-h") == 0) {
			simrun_usage();
			return 0;
		} else if (a == NULL) {
			simrun_usage();
			return 2;
		} else if (strcmp(o, "--pcap") == 0) {
			cfg.pcap = a;
		} else if (strcmp(o, "--cc") == 0 && mps_cc_valid(a, false)) {
			cfg.cc = a;
		} else if (strcmp(o, "--cc-coupled") == 0 && mps_cc_valid(a, true)) {
			cfg.cc_coupled = a;
		} else if (strcmp(o, "--down") == 0) {
			char *end;
			down_path = strtol(a, &end, 10);
			if (*end != '@' || simrun_num(end + 1, &down_ms) < 0) {
				simrun_usage();
				return 2;
			}
		} else if (simrun_num(a, &v) < 0) {
			simrun_usage();
			return 2;
		} else if (strcmp(o, "--seed") == 0) {
			cfg.seed = (uint64_t)v;
		} else if (strcmp(o, "--size") == 0) {
			cfg.size = (uint64_t)v;
		} else if (strcmp(o, "--paths") == 0) {
			cfg.npaths = cfg.nclient_addrs = (size_t)v;
		} else if (strcmp(o, "--reorder-ms") == 0) {
			reorder_ms = v;
		} else if (strcmp(o, "--trace-lines") == 0) {
			cfg.trace_lines = (size_t)v;
		} else if (strcmp(o, "--servers") == 0) {
			nservers = (size_t)v;
		} else if (strcmp(o, "--server-dies") == 0) {
			cfg.server_dies_at[0] = (uint64_t)(v * 1e6);
		} else if (strcmp(o, "--server2-dies") == 0) {
			cfg.server_dies_at[1] = (uint64_t)(v * 1e6);
		} else if (strcmp(o, "--diverge") == 0) {
			cfg.diverge_at[(size_t)v] = 1;
		} else if (strcmp(o, "--other-group") == 0) {
			cfg.other_group[(size_t)v] = 1;
		} else if (strcmp(o, "--limit") == 0) {
			cfg.time_limit = (uint64_t)(v * 1e9);
		} else {
			simrun_usage();
			return 2;
		}
		if (takes)
			k++;
	}
	if (cfg.npaths < 1 || cfg.npaths + nservers - 1 > SIM_XFER_MAX_PATHS || nservers < 1 ||
	    nservers > SIM_XFER_MAX_SERVERS ||
	    (down_path >= 0 && (size_t)down_path >= cfg.npaths)) {
		simrun_usage();
		return 2;
	}
	for (i = 0; i < cfg.npaths; i++) {
		cfg.path[i].client = (uint8_t)i;
		cfg.path[i].server = 0;
		if (simrun_path_cfg(lists, i, reorder_ms, &cfg.path[i].up) < 0) {
			simrun_usage();
			return 2;
		}
		cfg.path[i].down = cfg.path[i].up;
	}
	/* further servers: joined from the first client address */
	for (i = 1; i < nservers; i++) {
		sim_xfer_path *p = &cfg.path[cfg.npaths++];
		*p = cfg.path[0];
		p->server = (uint8_t)i;
	}
	cfg.nservers = nservers;
	cfg.join_servers = nservers > 1;
	if (down_path >= 0)
		cfg.path[down_path].down_at = (uint64_t)(down_ms * 1e6);

	rc = sim_xfer_run(&cfg, &res);
	printf("seed %" PRIu64 ": %s%s%s\n", cfg.seed, res.ok ? "ok" : "FAILED", res.ok ? "" : ": ",
	       res.ok ? "" : res.why);
	printf("  received %" PRIu64 "/%" PRIu64 " bytes, connected %.3f ms, done %.3f ms, "
	       "goodput %.3f Mbit/s, longest gap %.3f ms (at %.3f ms)\n",
	       res.client.received, cfg.size, (double)res.client.t_connected / 1e6,
	       (double)res.client.t_done / 1e6, res.goodput_bps / 1e6,
	       (double)res.client.max_gap_ns / 1e6, (double)res.client.max_gap_at / 1e6);
	printf("  mptcp %d fallback %d subflows %zu\n", res.client.info.mptcp,
	       res.client.info.fallback, res.client.info.nsubflows);
	for (i = 0; i < res.client.nsfs; i++) {
		const mps_subflow_info *sf = &res.client.sfs[i];
		char l[MPS_ADDR_STRLEN], r[MPS_ADDR_STRLEN];
		printf("  subflow %s -> %s %s: received %" PRIu64 " sent %" PRIu64
		       " retrans %" PRIu64 " srtt %u us rto-fired %u\n",
		       mps_addr_format(&sf->local, l), mps_addr_format(&sf->remote, r), sf->state,
		       sf->bytes_received, sf->bytes_sent, sf->bytes_retrans, sf->srtt_us,
		       sf->retrans_timeouts);
	}
	for (i = 0; i < cfg.npaths; i++) {
		const sim_dir_stats *u = &res.link[i][SIM_AB], *w = &res.link[i][SIM_BA];
		printf("  path %zu: up %" PRIu64 "/%" PRIu64 " pkts (loss %" PRIu64
		       ", queue %" PRIu64 ", down %" PRIu64 "), down %" PRIu64 "/%" PRIu64
		       " pkts (loss %" PRIu64 ", queue %" PRIu64 ", down %" PRIu64
		       "), payload down %" PRIu64 "\n",
		       i, u->pkts_delivered, u->pkts_offered, u->drops[SIM_DROP_LOSS],
		       u->drops[SIM_DROP_QUEUE], u->drops[SIM_DROP_DOWN], w->pkts_delivered,
		       w->pkts_offered, w->drops[SIM_DROP_LOSS], w->drops[SIM_DROP_QUEUE],
		       w->drops[SIM_DROP_DOWN], w->payload_delivered);
	}
	printf("  client: retransmits %" PRIu64 " rto %" PRIu64 " rst in/out %" PRIu64 "/%" PRIu64
	       "; server: retransmits %" PRIu64 " rto %" PRIu64 " reinjected %" PRIu64
	       " rst in/out %" PRIu64 "/%" PRIu64 "; events %" PRIu64 ", virtual end %.3f ms\n",
	       res.client_stats.retransmits, res.client_stats.rto_fired,
	       res.client_stats.rst_received, res.client_stats.rst_sent,
	       res.server_stats[0].retransmits, res.server_stats[0].rto_fired,
	       res.server_stats[0].reinjected_bytes, res.server_stats[0].rst_received,
	       res.server_stats[0].rst_sent, res.sim.events, (double)res.t_end / 1e6);
	for (i = 1; i < cfg.nservers; i++)
		printf("  server %zu: joins accepted %" PRIu64 " refused %" PRIu64
		       ", rst out %" PRIu64 ", accepted %" PRIu64 "\n",
		       i + 1, res.server_stats[i].joins_accepted, res.server_stats[i].joins_refused,
		       res.server_stats[i].rst_sent, res.server[i].accepted);
	if (res.client.err != 0)
		printf("  client error: %s\n", mps_strerror(res.client.err));
	if (rc == MPS_ERR_INVAL || rc == MPS_ERR_NOMEM)
		return 2;
	return res.ok ? 0 : 1;
}
