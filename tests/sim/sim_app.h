/*
 * sim_app.h - application models for the simulator, and the standard
 * transfer scenario built from them.
 *
 * The server app answers each connection's request line "GET <n>\n" with n
 * bytes of the deterministic pattern (byte i = sim_pattern_byte(i)), then
 * shuts its direction down, and closes when the client's end of stream
 * arrives.  A keep-alive connection carries request lines "KEEP <n>\n"
 * (answered with the next n bytes of the connection's pattern stream, the
 * connection stays open for the next request) and "LAST <n>\n" (answered,
 * then the server shuts down as after GET); a server that reads the
 * client's end of stream between requests shuts down and closes.  The
 * pattern stream of a connection is the concatenation of its responses, so
 * replicas answering the same requests send the same bytes at the same DSNs.
 *
 * The client app connects at a given time, sends the request (or, with a
 * script, each request of it in turn: sim_req), reads everything with
 * mps_conn_recv, checks every byte against the pattern and records the time
 * of every delivery (for the longest delivery gap) and of every response.
 *
 * sim_xfer_run() builds a whole run: client node (10.77.0.2, 10.77.0.3, ...),
 * server nodes (10.88.1.1:80, 10.88.2.1:80, ...), one link per path, the
 * apps, and runs it to the end.  Everything in it follows from cfg, so one
 * cfg (seed included) is one exact run.
 */
#ifndef MPS_SIM_APP_H
#define MPS_SIM_APP_H

#include "sim.h"

/* --- the pattern ----------------------------------------------------------- */

/* Byte at stream offset off of every served stream. */
uint8_t sim_pattern_byte(uint64_t off);
/* Writes the pattern bytes [off, off+len) into buf. */
void sim_pattern_fill(uint8_t *buf, uint64_t off, size_t len);
/* The offset of the first byte of buf that differs from the pattern at off,
 * or len if none does. */
size_t sim_pattern_check(const uint8_t *buf, uint64_t off, size_t len);

/* --- server app -------------------------------------------------------------- */

typedef struct sim_server_app sim_server_app;

typedef struct sim_server_stats {
	uint64_t accepted; /* MPS_EV_ACCEPT */
	uint64_t served;   /* requests answered completely (shutdown sent) */
	uint64_t closed;   /* connections released after the peer's end */
	uint64_t errors;   /* connections that ended with an error */
	uint64_t bad_requests;
	int last_err;
} sim_server_stats;

/* sim_server_app_new attaches a server app to node n (which should listen).
 * Returns NULL when out of memory. */
sim_server_app *sim_server_app_new(sim_node *n);
/* The server sends other bytes (a replica holding another file). */
void sim_server_app_set_diverge(sim_server_app *a, bool diverge);
void sim_server_app_free(sim_server_app *a);
void sim_server_app_get_stats(const sim_server_app *a, sim_server_stats *st);

/* --- client app -------------------------------------------------------------- */

typedef struct sim_client_app sim_client_app;

#define SIM_MAX_SF_INFO 8
#define SIM_MAX_REQS 64

/* One request of a keep-alive script. */
typedef struct sim_req {
	uint64_t size;	/* response bytes asked (0 is a valid, empty response) */
	uint64_t gap;	/* idle time after the previous response (or the connection) */
	bool pipelined; /* sent right after the previous request, without waiting for
			 * its response (gap ignored) */
	bool last;	/* the server closes after answering it ("LAST") */
} sim_req;

typedef struct sim_client_result {
	bool done;     /* all size bytes, byte-exact, then the end of stream */
	bool failed;   /* an error, a wrong byte, too many or too few bytes */
	char why[160]; /* what failed */
	int err;       /* the MPS_ERR_* that ended the connection, or 0 */
	uint64_t received;
	uint64_t mismatch_at; /* first wrong offset, or UINT64_MAX */
	uint64_t t_start, t_connected, t_request, t_first, t_done; /* virtual ns */
	uint64_t max_gap_ns; /* longest time between two deliveries */
	uint64_t max_gap_at; /* when that gap ended */
	uint64_t deliveries; /* mps_conn_recv calls that returned bytes */
	/* script: when each request was sent and its response complete (0: not) */
	size_t nreqs;
	uint64_t req_sent[SIM_MAX_REQS], req_done[SIM_MAX_REQS];
	/* client side connection, as seen when the end of stream arrived */
	mps_conn_info info;
	mps_subflow_info sfs[SIM_MAX_SF_INFO];
	size_t nsfs;
} sim_client_result;

/* sim_client_app_new attaches a client app to node n: at time start it
 * connects with p (p->join is copied) and asks for size bytes.
 * Returns NULL when out of memory. */
sim_client_app *sim_client_app_new(sim_node *n, const mps_connect_params *p, uint64_t size,
				   uint64_t start);
/* The same with a keep-alive script of nreqs (1..SIM_MAX_REQS) requests:
 * each request after the previous response and its gap (or pipelined); after
 * the last response the client shuts its direction down, unless the last
 * request was "last", and is done at the server's end of stream. */
sim_client_app *sim_client_app_new_script(sim_node *n, const mps_connect_params *p, const sim_req *reqs,
					  size_t nreqs, uint64_t start);
void sim_client_app_free(sim_client_app *a);
const sim_client_result *sim_client_app_result(const sim_client_app *a);
/* True once the client is done or failed (a sim_done_fn). */
bool sim_client_app_finished(void *client_app);

/* --- the standard transfer ----------------------------------------------------- */

#define SIM_XFER_MAX_PATHS 4
#define SIM_XFER_MAX_CLIENT_ADDRS 4
#define SIM_XFER_MAX_SERVERS 4
#define SIM_XFER_PORT 80

typedef struct sim_xfer_path {
	uint8_t client;	      /* index of the client address: 10.77.0.(2+client) */
	uint8_t server;	      /* index of the server: 10.88.(1+server).1 */
	sim_dir_cfg up, down; /* client -> server, server -> client */
	uint64_t down_at;     /* the link goes down at this time; 0 = never */
	uint64_t up_at;	      /* and comes back at this time; 0 = never */
} sim_xfer_path;

typedef struct sim_xfer_cfg {
	uint64_t seed;
	uint64_t size;	      /* bytes the server sends */
	const sim_req *reqs;  /* a keep-alive script instead of one GET of size (size ignored) */
	size_t nreqs;
	size_t nclient_addrs; /* addresses the client owns (>= 1) */
	size_t nservers;      /* server nodes (>= 1); the client connects to server 0 */
	bool join_servers;    /* the client also gets servers 1.. as join targets */
	size_t npaths;
	sim_xfer_path path[SIM_XFER_MAX_PATHS];
	uint64_t server_dies_at[SIM_XFER_MAX_SERVERS]; /* 0 = never */
	bool no_mptcp;				       /* the servers speak plain TCP only */
	bool group;                                    /* servers share a group key; the client asks for group service */
	enum mps_sched_mode mode;                      /* group downstream scheduling */
	uint8_t other_group[SIM_XFER_MAX_SERVERS];     /* 1 = that server has another group key */
	uint8_t diverge_at[SIM_XFER_MAX_SERVERS];      /* 1 = that server's bytes differ (another file) */
	bool client_no_mptcp;			       /* the client does not offer MPTCP */
	uint32_t sndbuf, rcvbuf;		       /* 0 = the stack's default */
	bool gso; /* both ends write super-segments with partial checksums (TSO) */
	const char *cc, *cc_coupled; /* mps_config's (NULL: $SIM_CC, $SIM_CC_COUPLED or the stack's) */
	uint64_t start;				       /* when the client connects */
	uint64_t time_limit;  /* virtual time limit of the transfer; 0 = 120 s */
	bool wait_close;      /* then run on until both ends freed the connection */
	uint64_t close_limit; /* virtual time allowed for that; 0 = 60 s */
	sim_filter_fn filter; /* optional drop filter, with its user pointer */
	void *filter_user;
	size_t trace_lines; /* keep this many trace lines (0 = none) */
	FILE *trace_out;    /* where to dump them when the run fails (NULL: nowhere) */
	const char *pcap;   /* write a pcap of the run (NULL: $SIM_PCAP or none) */
} sim_xfer_cfg;

typedef struct sim_xfer_result {
	bool ok; /* done, byte-exact, and (wait_close) closed */
	int rc;	 /* what sim_run returned for the transfer */
	sim_client_result client;
	sim_server_stats server[SIM_XFER_MAX_SERVERS];
	bool closed; /* wait_close: every connection freed on both ends */
	uint64_t t_closed;
	uint64_t t_end;	    /* virtual time when the run stopped */
	double goodput_bps; /* size * 8 / (t_done - t_request) */
	sim_dir_stats link[SIM_XFER_MAX_PATHS][2];
	mps_stack_stats client_stats, server_stats[SIM_XFER_MAX_SERVERS];
	sim_stats sim;
	char why[200]; /* first reason the run is not ok */
} sim_xfer_result;

/* sim_xfer_defaults: one client address, one server, one clean path, 1 MB,
 * seed 1. */
void sim_xfer_defaults(sim_xfer_cfg *cfg);

/* sim_xfer_addr writes the client (is_server false) or server address idx. */
void sim_xfer_addr(mps_addr *a, bool is_server, size_t idx);

/* sim_xfer_run runs cfg and fills res.  Returns 0 when res->ok, MPS_ERR_INVAL
 * for a bad cfg, MPS_ERR_NOMEM, or the first failure's code (the client's
 * error, MPS_ERR_DIVERGE for a wrong byte, MPS_ERR_TIMEOUT, MPS_ERR_AGAIN
 * for a stall, MPS_ERR_STATE for a timer livelock or an unclean close). */
int sim_xfer_run(const sim_xfer_cfg *cfg, sim_xfer_result *res);

#endif
