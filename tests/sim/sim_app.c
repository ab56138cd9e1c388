/*
 * sim_app.c - server and client application models, and sim_xfer_run()
 * (see sim_app.h).
 *
 * Both apps follow the rule of sim.h: event() only takes note, run() (after
 * the stack call returned) does the work:
 *   server run(): per connection read the request line -> send the pattern
 *                 while the stack takes it -> mps_conn_shutdown -> read until
 *                 the client's end of stream -> mps_conn_close
 *   client run(): mps_connect at the start time -> (CONNECTED) send the
 *                 request -> mps_conn_recv, check, time every delivery ->
 *                 end of stream -> snapshot mps_conn_get_info -> close
 */
#include "sim_app.h"
#include "group.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SIM_CHUNK 16384
#define SIM_REQ_MAX 64
#define SIM_SERVER_CONNS 16

/* --- pattern ----------------------------------------------------------------- */

static uint64_t app_mix(uint64_t x)
{
	x ^= 0x6a09e667f3bcc909ull;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
	return x ^ (x >> 31);
}

uint8_t sim_pattern_byte(uint64_t off)
{
	return (uint8_t)(app_mix(off >> 3) >> ((off & 7) * 8));
}

void sim_pattern_fill(uint8_t *buf, uint64_t off, size_t len)
{
	size_t i = 0;

	while (i < len && ((off + i) & 7) != 0) {
		buf[i] = sim_pattern_byte(off + i);
		i++;
	}
	for (; i + 8 <= len; i += 8) {
		uint64_t v = app_mix((off + i) >> 3);
		int k;
		for (k = 0; k < 8; k++)
			buf[i + (size_t)k] = (uint8_t)(v >> (k * 8));
	}
	for (; i < len; i++)
		buf[i] = sim_pattern_byte(off + i);
}

size_t sim_pattern_check(const uint8_t *buf, uint64_t off, size_t len)
{
	uint8_t want[SIM_CHUNK];
	size_t done = 0;

	while (done < len) {
		size_t k = len - done < sizeof(want) ? len - done : sizeof(want);
		size_t i;
		sim_pattern_fill(want, off + done, k);
		if (memcmp(want, buf + done, k) != 0) {
			for (i = 0; i < k; i++)
				if (want[i] != buf[done + i])
					return done + i;
		}
		done += k;
	}
	return len;
}

/* --- server app ----------------------------------------------------------------- */

typedef struct app_sconn {
	mps_conn *c;
	char req[SIM_REQ_MAX];
	size_t reqlen;
	bool have_req;
	bool keep;     /* the request was KEEP: read the next one after it */
	uint64_t size, sent;
	uint64_t off;  /* pattern offset of the response's first byte */
	bool shut;
	bool ended; /* CLOSED event seen */
	int err;
} app_sconn;

struct sim_server_app {
	sim_node *node;
	bool diverge;
	app_sconn conns[SIM_SERVER_CONNS];
	sim_server_stats st;
};

void sim_server_app_set_diverge(sim_server_app *a, bool diverge)
{
	a->diverge = diverge;
}

static void app_server_event(void *ctx, sim_node *n, mps_conn *c, enum mps_event ev, int err)
{
	sim_server_app *a = ctx;
	app_sconn *sc;
	size_t i;

	(void)n;
	if (ev == MPS_EV_ACCEPT) {
		a->st.accepted++;
		for (i = 0; i < SIM_SERVER_CONNS; i++) {
			if (a->conns[i].c == NULL) {
				memset(&a->conns[i], 0, sizeof(a->conns[i]));
				a->conns[i].c = c;
				mps_conn_set_user(c, &a->conns[i]);
				return;
			}
		}
		/* no room: leave it unowned and count it as refused */
		mps_conn_set_user(c, NULL);
		a->st.bad_requests++;
		return;
	}
	sc = mps_conn_get_user(c);
	if (sc == NULL)
		return;
	if (ev == MPS_EV_CLOSED) {
		sc->ended = true;
		sc->err = err;
	}
}

static void app_server_release(sim_server_app *a, app_sconn *sc, uint64_t now)
{
	if (sc->err != 0) {
		a->st.errors++;
		a->st.last_err = sc->err;
	} else {
		a->st.closed++;
	}
	mps_conn_close(sc->c, now);
	sc->c = NULL;
}

/* Reads a request line; true when one is complete (sc->size, sc->keep set). */
static bool app_server_request(sim_server_app *a, app_sconn *sc, uint64_t now)
{
	ssize_t rc;

	for (;;) {
		rc = mps_conn_recv(sc->c, (uint8_t *)sc->req + sc->reqlen, 1, now);
		if (rc == 0 && !sc->shut) {
			/* the client's end of stream between requests */
			sc->shut = true;
			mps_conn_shutdown(sc->c, now);
			app_server_release(a, sc, now);
			return false;
		}
		if (rc <= 0)
			return false;
		if (sc->req[sc->reqlen] == '\n') {
			char *end;
			sc->req[sc->reqlen] = '\0';
			sc->reqlen = 0;
			sc->keep = strncmp(sc->req, "KEEP ", 5) == 0;
			if (strncmp(sc->req, "GET ", 4) == 0)
				sc->size = strtoull(sc->req + 4, &end, 10);
			else if (sc->keep || strncmp(sc->req, "LAST ", 5) == 0)
				sc->size = strtoull(sc->req + 5, &end, 10);
			else {
				a->st.bad_requests++;
				sc->size = 0;
				sc->keep = false;
			}
			sc->sent = 0;
			return true;
		}
		if (++sc->reqlen == SIM_REQ_MAX) {
			a->st.bad_requests++;
			sc->reqlen = 0;
			sc->size = 0;
			sc->keep = false;
			return true;
		}
	}
}

static void app_server_conn(sim_server_app *a, app_sconn *sc, uint64_t now)
{
	uint8_t buf[SIM_CHUNK];
	ssize_t rc;

	for (;;) {
		if (!sc->have_req) {
			if (sc->shut || !app_server_request(a, sc, now))
				break;
			sc->have_req = true;
		}
		/* the response */
		while (sc->sent < sc->size) {
			size_t k = sc->size - sc->sent < sizeof(buf) ? (size_t)(sc->size - sc->sent)
								     : sizeof(buf);
			sim_pattern_fill(buf, sc->off + sc->sent, k);
			if (a->diverge) {
				size_t j;
				for (j = 0; j < k; j++)
					buf[j] ^= 0x33; /* another file */
			}
			rc = mps_conn_send(sc->c, buf, k, now);
			if (rc <= 0)
				break;
			sc->sent += (uint64_t)rc;
		}
		if (sc->sent < sc->size)
			break; /* the stack takes more later */
		a->st.served++;
		sc->off += sc->size;
		if (sc->keep) {
			sc->have_req = false; /* the next request */
			continue;
		}
		sc->shut = true;
		mps_conn_shutdown(sc->c, now);
		break;
	}
	if (sc->c == NULL)
		return;
	/* after the last response: wait for the client's end of stream */
	if (sc->shut) {
		for (;;) {
			rc = mps_conn_recv(sc->c, buf, sizeof(buf), now);
			if (rc > 0)
				continue;
			if (rc == 0) {
				app_server_release(a, sc, now);
				return;
			}
			if (rc < 0 && rc != MPS_ERR_AGAIN) {
				if (sc->err == 0)
					sc->err = (int)rc;
				app_server_release(a, sc, now);
				return;
			}
			break;
		}
	}
	if (sc->c != NULL && sc->ended)
		app_server_release(a, sc, now);
}

static void app_server_run(void *ctx, sim_node *n, uint64_t now)
{
	sim_server_app *a = ctx;
	size_t i;

	(void)n;
	for (i = 0; i < SIM_SERVER_CONNS; i++)
		if (a->conns[i].c != NULL)
			app_server_conn(a, &a->conns[i], now);
}

sim_server_app *sim_server_app_new(sim_node *n)
{
	sim_server_app *a = calloc(1, sizeof(*a));
	sim_app app;

	if (a == NULL)
		return NULL;
	a->node = n;
	app.event = app_server_event;
	app.run = app_server_run;
	app.ctx = a;
	sim_node_set_app(n, &app);
	return a;
}

void sim_server_app_free(sim_server_app *a)
{
	free(a);
}

void sim_server_app_get_stats(const sim_server_app *a, sim_server_stats *st)
{
	*st = a->st;
}

/* --- client app ------------------------------------------------------------------- */

struct sim_client_app {
	sim_node *node;
	mps_connect_params params;
	mps_addr join[SIM_XFER_MAX_SERVERS];
	uint64_t size; /* all the bytes expected (every response) */
	mps_conn *c;
	bool started, connected, req_sent, closed;
	int ended_err;
	bool ended;
	char req[SIM_REQ_MAX * 4];
	size_t reqlen, reqoff;
	uint64_t last_delivery;
	/* the script (one GET of size without one) */
	sim_req reqs[SIM_MAX_REQS];
	size_t nreqs;
	bool script;
	size_t next_req;    /* the next request to send */
	size_t cur_resp;    /* the response being received */
	uint64_t resp_end;  /* stream offset where it ends */
	uint64_t idle_from; /* when the last response completed */
	bool shut_sent;
	sim_client_result res;
};

static void app_client_fail(sim_client_app *a, int err, const char *why)
{
	if (a->res.failed || a->res.done)
		return;
	a->res.failed = true;
	a->res.err = err;
	snprintf(a->res.why, sizeof(a->res.why), "%s", why);
}

static void app_client_event(void *ctx, sim_node *n, mps_conn *c, enum mps_event ev, int err)
{
	sim_client_app *a = ctx;

	(void)n;
	if (c != a->c)
		return;
	if (ev == MPS_EV_CONNECTED && !a->connected) {
		a->connected = true;
		a->res.t_connected = sim_now(sim_node_sim(a->node));
		a->idle_from = a->res.t_connected; /* the first request's gap counts from here */
	}
	if (ev == MPS_EV_CLOSED) {
		a->ended = true;
		a->ended_err = err;
	}
}

static void app_client_close(sim_client_app *a, uint64_t now)
{
	if (a->c != NULL && !a->closed) {
		mps_conn_close(a->c, now);
		a->closed = true;
	}
}

/* Responses complete with the bytes received so far (empty ones at once). */
static void app_client_responses_done(sim_client_app *a, uint64_t now)
{
	while (a->script && a->cur_resp < a->next_req && a->res.received >= a->resp_end) {
		a->res.req_done[a->cur_resp] = now;
		a->idle_from = now;
		a->cur_resp++;
		if (a->cur_resp < a->nreqs)
			a->resp_end += a->reqs[a->cur_resp].size;
	}
}

/* Script: send the requests that are due (the next one once the previous
 * response is complete and its gap has passed, or at once if pipelined);
 * after the last response, shut down (unless the server closes). */
static void app_client_script(sim_client_app *a, uint64_t now)
{
	char why[160];

	app_client_responses_done(a, now);
	for (;;) {
		const sim_req *r;
		ssize_t k;
		if (a->reqoff < a->reqlen) {
			k = mps_conn_send(a->c, (const uint8_t *)a->req + a->reqoff, a->reqlen - a->reqoff, now);
			if (k < 0) {
				snprintf(why, sizeof(why), "send request %u: %s", (unsigned)a->next_req,
					 mps_strerror((int)k));
				app_client_fail(a, (int)k, why);
				app_client_close(a, now);
				return;
			}
			a->reqoff += (size_t)k;
			if (a->reqoff < a->reqlen)
				break; /* the rest when the stack takes it */
			if (a->res.t_request == 0)
				a->res.t_request = now;
		}
		if (a->next_req == a->nreqs)
			break;
		r = &a->reqs[a->next_req];
		if (!(a->next_req > 0 && r->pipelined)) {
			if (a->cur_resp < a->next_req)
				break; /* the previous response first */
			if (now < a->idle_from + r->gap) {
				sim_node_wake_at(a->node, a->idle_from + r->gap);
				break;
			}
		}
		a->reqlen = (size_t)snprintf(a->req, sizeof(a->req), "%s %" PRIu64 "\n",
					     r->last ? "LAST" : "KEEP", r->size);
		a->reqoff = 0;
		a->res.req_sent[a->next_req] = now;
		a->next_req++;
		app_client_responses_done(a, now); /* an empty response is complete */
	}
	if (a->cur_resp == a->nreqs && !a->shut_sent && !a->reqs[a->nreqs - 1].last) {
		a->shut_sent = true;
		mps_conn_shutdown(a->c, now);
	}
}

static void app_client_read(sim_client_app *a, uint64_t now)
{
	uint8_t buf[65536];
	char why[160];
	ssize_t rc;

	for (;;) {
		rc = mps_conn_recv(a->c, buf, sizeof(buf), now);
		if (rc == MPS_ERR_AGAIN)
			return;
		if (rc < 0) {
			snprintf(why, sizeof(why), "recv error %s after %" PRIu64 " bytes",
				 mps_strerror((int)rc), a->res.received);
			app_client_fail(a, (int)rc, why);
			app_client_close(a, now);
			return;
		}
		if (rc == 0) {
			if (a->res.received != a->size) {
				snprintf(why, sizeof(why),
					 "end of stream after %" PRIu64 " of %" PRIu64 " bytes",
					 a->res.received, a->size);
				app_client_fail(a, MPS_ERR_CLOSED, why);
			} else if (!a->res.failed) {
				a->res.done = true;
				a->res.t_done = now;
				a->res.nsfs = mps_conn_get_info(a->c, &a->res.info, a->res.sfs,
								SIM_MAX_SF_INFO);
			}
			app_client_close(a, now);
			return;
		}
		/* bytes: time them, check them */
		if (a->res.deliveries == 0) {
			a->res.t_first = now;
		} else if (now - a->last_delivery > a->res.max_gap_ns) {
			a->res.max_gap_ns = now - a->last_delivery;
			a->res.max_gap_at = now;
		}
		a->last_delivery = now;
		a->res.deliveries++;
		if (a->res.received + (uint64_t)rc > a->size) {
			snprintf(why, sizeof(why),
				 "%" PRIu64 " bytes more than the %" PRIu64 " asked",
				 a->res.received + (uint64_t)rc - a->size, a->size);
			app_client_fail(a, MPS_ERR_DIVERGE, why);
			app_client_close(a, now);
			return;
		}
		if (a->res.mismatch_at == UINT64_MAX) {
			size_t bad = sim_pattern_check(buf, a->res.received, (size_t)rc);
			if (bad < (size_t)rc) {
				a->res.mismatch_at = a->res.received + bad;
				snprintf(why, sizeof(why), "wrong byte at offset %" PRIu64,
					 a->res.mismatch_at);
				app_client_fail(a, MPS_ERR_DIVERGE, why);
			}
		}
		a->res.received += (uint64_t)rc;
		app_client_responses_done(a, now);
	}
}

static void app_client_run(void *ctx, sim_node *n, uint64_t now)
{
	sim_client_app *a = ctx;
	char why[160];
	int rc;

	if (!a->started) {
		a->started = true;
		a->res.t_start = now;
		rc = mps_connect(sim_node_stack(n), &a->params, now, &a->c);
		if (rc < 0) {
			a->c = NULL;
			snprintf(why, sizeof(why), "mps_connect: %s", mps_strerror(rc));
			app_client_fail(a, rc, why);
		}
		return;
	}
	if (a->c == NULL || a->closed)
		return;
	if (a->connected && a->script) {
		app_client_script(a, now);
		if (a->closed)
			return;
	} else if (a->connected && a->reqoff < a->reqlen) {
		ssize_t k = mps_conn_send(a->c, (const uint8_t *)a->req + a->reqoff,
					  a->reqlen - a->reqoff, now);
		if (k > 0) {
			a->reqoff += (size_t)k;
			if (a->reqoff == a->reqlen)
				a->res.t_request = now;
		} else if (k < 0) {
			snprintf(why, sizeof(why), "send request: %s", mps_strerror((int)k));
			app_client_fail(a, (int)k, why);
			app_client_close(a, now);
			return;
		}
	}
	if (a->connected)
		app_client_read(a, now);
	if (a->connected && a->script && !a->closed)
		app_client_script(a, now); /* a response completed: the next request */
	if (a->ended && !a->closed) {
		if (!a->res.done) {
			snprintf(why, sizeof(why), "connection closed (%s) after %" PRIu64 " bytes",
				 mps_strerror(a->ended_err), a->res.received);
			app_client_fail(a, a->ended_err ? a->ended_err : MPS_ERR_CLOSED, why);
		}
		app_client_close(a, now);
	}
}

sim_client_app *sim_client_app_new(sim_node *n, const mps_connect_params *p, uint64_t size,
				   uint64_t start)
{
	sim_client_app *a = calloc(1, sizeof(*a));
	sim_app app;
	size_t i;

	if (a == NULL)
		return NULL;
	a->node = n;
	a->params = *p;
	if (p->njoin > SIM_XFER_MAX_SERVERS) {
		free(a);
		return NULL;
	}
	for (i = 0; i < p->njoin; i++)
		a->join[i] = p->join[i];
	a->params.join = p->njoin > 0 ? a->join : NULL;
	a->size = size;
	a->res.mismatch_at = UINT64_MAX;
	a->reqlen = (size_t)snprintf(a->req, sizeof(a->req), "GET %" PRIu64 "\n", size);
	app.event = app_client_event;
	app.run = app_client_run;
	app.ctx = a;
	sim_node_set_app(n, &app);
	sim_node_wake_at(n, start);
	return a;
}

void sim_client_app_free(sim_client_app *a)
{
	free(a);
}

sim_client_app *sim_client_app_new_script(sim_node *n, const mps_connect_params *p, const sim_req *reqs,
					  size_t nreqs, uint64_t start)
{
	sim_client_app *a;
	uint64_t total = 0;
	size_t i;

	if (nreqs == 0 || nreqs > SIM_MAX_REQS)
		return NULL;
	for (i = 0; i < nreqs; i++)
		total += reqs[i].size;
	a = sim_client_app_new(n, p, total, start);
	if (a == NULL)
		return NULL;
	a->script = true;
	memcpy(a->reqs, reqs, nreqs * sizeof(reqs[0]));
	a->nreqs = nreqs;
	a->res.nreqs = nreqs;
	a->reqlen = a->reqoff = 0;
	a->resp_end = reqs[0].size;
	return a;
}

const sim_client_result *sim_client_app_result(const sim_client_app *a)
{
	return &a->res;
}

bool sim_client_app_finished(void *client_app)
{
	const sim_client_app *a = client_app;

	return a->res.done || a->res.failed;
}

/* --- the standard transfer ------------------------------------------------------------ */

void sim_xfer_defaults(sim_xfer_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->seed = 1;
	cfg->size = 1000000;
	cfg->nclient_addrs = 1;
	cfg->nservers = 1;
	cfg->npaths = 1;
}

void sim_xfer_addr(mps_addr *a, bool is_server, size_t idx)
{
	uint8_t ip[4];

	if (is_server) {
		ip[0] = 10;
		ip[1] = 88;
		ip[2] = (uint8_t)(1 + idx);
		ip[3] = 1;
		mps_addr_set_v4(a, ip, SIM_XFER_PORT);
	} else {
		ip[0] = 10;
		ip[1] = 77;
		ip[2] = 0;
		ip[3] = (uint8_t)(2 + idx);
		mps_addr_set_v4(a, ip, 0);
	}
}

typedef struct xfer_run {
	sim_client_app *client;
	sim_node *nodes[1 + SIM_XFER_MAX_SERVERS];
	size_t nnodes;
	const uint8_t *other_gk;
} xfer_run;

static bool xfer_all_closed(void *user)
{
	xfer_run *x = user;
	size_t i;

	for (i = 0; i < x->nnodes; i++)
		if (sim_node_alive(x->nodes[i]) &&
		    mps_stack_conn_first(sim_node_stack(x->nodes[i])) != NULL)
			return false;
	return true;
}

static int xfer_check_cfg(const sim_xfer_cfg *cfg)
{
	size_t i;

	if (cfg->nclient_addrs < 1 || cfg->nclient_addrs > SIM_XFER_MAX_CLIENT_ADDRS ||
	    cfg->nservers < 1 || cfg->nservers > SIM_XFER_MAX_SERVERS || cfg->npaths < 1 ||
	    cfg->npaths > SIM_XFER_MAX_PATHS)
		return MPS_ERR_INVAL;
	for (i = 0; i < cfg->npaths; i++)
		if (cfg->path[i].client >= cfg->nclient_addrs ||
		    cfg->path[i].server >= cfg->nservers)
			return MPS_ERR_INVAL;
	return 0;
}

static void xfer_why(sim_xfer_result *res, const char *why)
{
	if (res->why[0] == '\0')
		snprintf(res->why, sizeof(res->why), "%s", why);
}

int sim_xfer_run(const sim_xfer_cfg *cfg, sim_xfer_result *res)
{
	sim_server_app *srv[SIM_XFER_MAX_SERVERS] = {0};
	mps_addr caddr[SIM_XFER_MAX_CLIENT_ADDRS], saddr[SIM_XFER_MAX_SERVERS];
	sim_link *links[SIM_XFER_MAX_PATHS];
	mps_connect_params p;
	mps_config ccfg, scfg;
	xfer_run x;
	char why[200];
	size_t i;
	int rc = 0;
	sim *s;

	memset(res, 0, sizeof(*res));
	memset(&x, 0, sizeof(x));
	if (xfer_check_cfg(cfg) < 0)
		return MPS_ERR_INVAL;
	s = sim_new(cfg->seed);
	if (s == NULL)
		return MPS_ERR_NOMEM;
	if (cfg->pcap != NULL && sim_pcap_open(s, cfg->pcap) < 0)
		fprintf(stderr, "sim: cannot write %s\n", cfg->pcap);
	if (cfg->trace_lines > 0)
		sim_trace_keep(s, cfg->trace_lines);
	if (cfg->filter != NULL)
		sim_set_filter(s, cfg->filter, cfg->filter_user);

	memset(&ccfg, 0, sizeof(ccfg));
	ccfg.sndbuf = cfg->sndbuf;
	ccfg.rcvbuf = cfg->rcvbuf;
	if (cfg->gso) {
		ccfg.gso_max = 65535;
		ccfg.csum_offload = true;
		ccfg.out_iov = true;
	}
	ccfg.cc = cfg->cc != NULL ? cfg->cc : getenv("SIM_CC");
	ccfg.cc_coupled = cfg->cc_coupled != NULL ? cfg->cc_coupled : getenv("SIM_CC_COUPLED");
	scfg = ccfg;
	ccfg.no_mptcp = cfg->client_no_mptcp;
	scfg.no_mptcp = cfg->no_mptcp;
	{
		static uint8_t gk[2][MPS_GROUP_KEY_LEN];
		for (i = 0; i < MPS_GROUP_KEY_LEN; i++) {
			gk[0][i] = (uint8_t)(0xa5 ^ i);
			gk[1][i] = (uint8_t)(0x5a ^ (i * 3));
		}
		scfg.group_key = cfg->group ? gk[0] : NULL;
		x.other_gk = gk[1];
	}
	for (i = 0; i < cfg->nclient_addrs; i++)
		sim_xfer_addr(&caddr[i], false, i);
	x.nodes[x.nnodes++] = sim_add_node(s, "client", &ccfg, caddr, cfg->nclient_addrs);
	for (i = 0; i < cfg->nservers; i++) {
		char name[16];
		sim_node *n;
		sim_xfer_addr(&saddr[i], true, i);
		snprintf(name, sizeof(name), "server%u", (unsigned)(i + 1) % 100u);
		{
			mps_config one = scfg;
			if (cfg->group && cfg->other_group[i])
				one.group_key = x.other_gk;
			n = sim_add_node(s, name, &one, &saddr[i], 1);
		}
		x.nodes[x.nnodes++] = n;
		if (n == NULL || mps_listen(sim_node_stack(n), &saddr[i]) < 0) {
			rc = MPS_ERR_NOMEM;
			goto out;
		}
		srv[i] = sim_server_app_new(n);
		if (srv[i] == NULL) {
			rc = MPS_ERR_NOMEM;
			goto out;
		}
		sim_server_app_set_diverge(srv[i], cfg->diverge_at[i] != 0);
		if (cfg->server_dies_at[i] != 0)
			sim_node_kill_at(n, cfg->server_dies_at[i]);
	}
	if (x.nodes[0] == NULL) {
		rc = MPS_ERR_NOMEM;
		goto out;
	}
	for (i = 0; i < cfg->npaths; i++) {
		const sim_xfer_path *pa = &cfg->path[i];
		links[i] =
		    sim_add_link(s, &caddr[pa->client], &saddr[pa->server], &pa->up, &pa->down);
		if (links[i] == NULL) {
			rc = MPS_ERR_INVAL;
			goto out;
		}
		if (pa->down_at != 0)
			sim_link_down_at(links[i], pa->down_at, true);
		if (pa->up_at != 0)
			sim_link_down_at(links[i], pa->up_at, false);
	}

	memset(&p, 0, sizeof(p));
	p.remote = saddr[0];
	p.local = caddr[0];
	p.group = cfg->group;
	p.mode = cfg->mode;
	if (cfg->join_servers && cfg->nservers > 1) {
		p.join = &saddr[1];
		p.njoin = cfg->nservers - 1;
	}
	if (cfg->nreqs > 0)
		x.client = sim_client_app_new_script(x.nodes[0], &p, cfg->reqs, cfg->nreqs, cfg->start);
	else
		x.client = sim_client_app_new(x.nodes[0], &p, cfg->size, cfg->start);
	if (x.client == NULL) {
		rc = MPS_ERR_NOMEM;
		goto out;
	}

	res->rc = sim_run(s, cfg->start + (cfg->time_limit ? cfg->time_limit : 120000000000ull),
			  sim_client_app_finished, x.client);
	res->client = *sim_client_app_result(x.client);
	if (res->client.failed) {
		rc = res->client.err ? res->client.err : MPS_ERR_STATE;
		snprintf(why, sizeof(why), "client: %s", res->client.why);
		xfer_why(res, why);
	} else if (!res->client.done) {
		rc = res->rc ? res->rc : MPS_ERR_STATE;
		snprintf(why, sizeof(why), "%s at %.3f ms with %" PRIu64 " of %" PRIu64 " bytes",
			 res->rc == MPS_ERR_TIMEOUT ? "time limit"
			 : res->rc == MPS_ERR_AGAIN ? "stall (no event, no timer)"
			 : res->rc == MPS_ERR_STATE ? "timer livelock"
						    : "stopped",
			 (double)sim_now(s) / 1e6, res->client.received, cfg->size);
		xfer_why(res, why);
	} else if (res->client.t_done > res->client.t_request) {
		res->goodput_bps =
		    (double)cfg->size * 8e9 / (double)(res->client.t_done - res->client.t_request);
	}

	if (rc == 0 && cfg->wait_close) {
		uint64_t lim = sim_now(s) + (cfg->close_limit ? cfg->close_limit : 60000000000ull);
		int crc = sim_run(s, lim, xfer_all_closed, &x);
		res->closed = crc == 0;
		res->t_closed = sim_now(s);
		if (!res->closed) {
			rc = MPS_ERR_STATE;
			snprintf(why, sizeof(why), "connections not freed by %.3f ms (%s)",
				 (double)sim_now(s) / 1e6, mps_strerror(crc));
			xfer_why(res, why);
		}
	}
	res->t_end = sim_now(s);
	for (i = 0; i < cfg->npaths; i++) {
		sim_link_get_stats(links[i], SIM_AB, &res->link[i][SIM_AB]);
		sim_link_get_stats(links[i], SIM_BA, &res->link[i][SIM_BA]);
	}
	mps_stack_get_stats(sim_node_stack(x.nodes[0]), &res->client_stats);
	for (i = 0; i < cfg->nservers; i++) {
		sim_server_app_get_stats(srv[i], &res->server[i]);
		mps_stack_get_stats(sim_node_stack(x.nodes[1 + i]), &res->server_stats[i]);
	}
	sim_get_stats(s, &res->sim);
	res->ok = rc == 0;
	if (!res->ok && cfg->trace_out != NULL && cfg->trace_lines > 0) {
		fprintf(cfg->trace_out, "--- seed %" PRIu64 ": %s; last packet events:\n",
			cfg->seed, res->why);
		sim_trace_dump(s, cfg->trace_out);
	}
out:
	/* the stacks go first: freeing them frees connections the apps hold */
	sim_free(s);
	sim_client_app_free(x.client);
	for (i = 0; i < cfg->nservers; i++)
		sim_server_app_free(srv[i]);
	return rc;
}
