/*
 * sim.h - a deterministic in-process network simulator for the stack core.
 *
 * A sim holds nodes (one mps_stack each, with its own addresses) joined by
 * links.  A link joins one address of a client node (end A) to one address of
 * a server node (end B); each direction has a rate, a one-way delay, a FIFO
 * queue with a byte limit (tail drop), random loss, reordering, duplication,
 * and a "down" state that can be switched at a virtual time.  A packet that a
 * stack outputs is routed by its (source IP, destination IP) to the link with
 * those two ends; without one it is dropped and counted (sim_stats.noroute).
 *
 * Time is virtual (uint64_t ns, starting at 0).  The event loop keeps a
 * priority queue of deliveries and scheduled changes; each step advances
 * the clock to the earliest of the next event and every live stack's
 * mps_stack_next_expiry(), and runs it.  Every random choice (losses, the
 * stacks' keys, nonces and ISNs through mps_config.cb.random) comes from
 * generators seeded from the sim's seed, so one seed is one exact run.
 *
 * The simulator uses only the public API (mps.h).  Applications run outside
 * the stack: the event callback of a node's app is called from inside the
 * stack call (it must only take note), and its run callback right after the
 * stack call returned (it may then call mps_conn_send/recv/close freely).
 *
 * Debugging: SIM_PCAP=FILE writes every packet that a stack outputs (before
 * the link decides its fate) to FILE in pcap format (LINKTYPE_RAW); "{seed}"
 * in FILE is replaced by the seed.  SIM_TRACE=1 prints one line per packet
 * event on stderr; sim_trace_keep() keeps the last lines in memory so that a
 * failing test can print them (sim_trace_dump).
 *
 * Ownership: the sim owns its nodes, links, stacks and queued packets;
 * sim_free() releases everything.  Nothing here is thread-safe.
 */
#ifndef MPS_SIM_H
#define MPS_SIM_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "mps.h"

typedef struct sim sim;
typedef struct sim_node sim_node;
typedef struct sim_link sim_link;

/* Default FIFO limit of a rate-limited direction when queue_bytes is 0. */
#define SIM_DEFAULT_QUEUE 65536u

/* One direction of a link.  All-zero is a perfect link: infinite rate, no
 * delay, no loss. */
typedef struct sim_dir_cfg {
	uint64_t rate_bps;    /* bits per second; 0 = infinite (no queueing) */
	uint64_t delay_ns;    /* one-way propagation delay */
	uint32_t queue_bytes; /* FIFO limit in bytes (tail drop); 0 = SIM_DEFAULT_QUEUE */
	uint32_t loss_pm;     /* random loss, per mille (0..1000) */
	uint32_t reorder_pm;  /* per mille of packets held back by reorder_ns more */
	uint64_t reorder_ns;
	uint32_t dup_pm; /* per mille of packets delivered twice */
} sim_dir_cfg;

/* Directions of a link: from end A (client side) to end B, and back. */
enum sim_dir {
	SIM_AB = 0,
	SIM_BA = 1,
};

/* Why a packet did not arrive. */
enum sim_drop {
	SIM_DROP_LOSS,	 /* random loss */
	SIM_DROP_QUEUE,	 /* FIFO full (tail drop) */
	SIM_DROP_DOWN,	 /* the link was down when sent or when due */
	SIM_DROP_DEAD,	 /* the destination node was dead */
	SIM_DROP_FILTER, /* a scenario's filter chose it */
	SIM_DROP_COUNT,
};

typedef struct sim_dir_stats {
	uint64_t pkts_offered, bytes_offered; /* handed to this direction */
	uint64_t pkts_delivered, bytes_delivered;
	uint64_t payload_delivered; /* TCP payload bytes delivered */
	uint64_t drops[SIM_DROP_COUNT];
	uint64_t reordered, duplicated;
	uint32_t max_queue_bytes; /* highest FIFO occupancy seen */
} sim_dir_stats;

typedef struct sim_stats {
	uint64_t events;       /* steps run */
	uint64_t noroute;      /* packets with no link for (src IP, dst IP) */
	uint64_t input_errors; /* deliveries mps_stack_input refused */
	uint64_t gso_split;    /* super-segments cut into packets */
	uint64_t unparsable;   /* output that is not IPv4/IPv6 */
} sim_stats;

/* What the simulator reads from a packet (for filters and traces).  Parsed
 * leniently by the simulator itself: fields it cannot see stay zero. */
enum {
	SIM_TH_FIN = 0x01,
	SIM_TH_SYN = 0x02,
	SIM_TH_RST = 0x04,
	SIM_TH_PSH = 0x08,
	SIM_TH_ACK = 0x10,
};

typedef struct sim_pkt_info {
	bool tcp;	   /* an IPv4/IPv6 TCP segment that parsed */
	mps_addr src, dst; /* with TCP ports */
	uint32_t seq, ack;
	uint8_t flags; /* SIM_TH_* */
	uint16_t win;
	uint32_t payload; /* TCP payload bytes */
	uint32_t len;	  /* IP packet length */
	/* MPTCP (RFC 8684 §3): which suboptions are present */
	bool mp_capable, mp_join, add_addr, rm_addr, mp_prio, mp_fail, fastclose, tcprst,
	    mp_experimental;
	bool dss, dss_has_ack, dss_has_map, data_fin;
	uint64_t data_ack, dsn; /* as on the wire (32 or 64 bits) */
	uint16_t dss_len;	/* data-level length of the mapping */
} sim_pkt_info;

/* sim_pkt_parse fills pi from an IP packet; returns 0, or MPS_ERR_MALFORMED
 * when it is not a TCP segment the simulator understands (pi->tcp false). */
int sim_pkt_parse(const uint8_t *pkt, size_t len, sim_pkt_info *pi);

/* sim_pkt_format writes a one-line summary of pi into buf (always
 * NUL-terminated) and returns buf. */
const char *sim_pkt_format(const sim_pkt_info *pi, char *buf, size_t size);

/* A scenario's filter: called for every packet a direction accepts (before
 * loss and queueing).  Returns true to drop it (SIM_DROP_FILTER). */
typedef bool (*sim_filter_fn)(void *user, const sim_link *l, enum sim_dir dir,
			      const sim_pkt_info *pi, uint64_t now);

/* The application on a node.  event() runs inside a stack call: note what
 * happened (keep c), do not call the stack.  run() runs after every stack
 * call of this node that raised at least one event, and at the times given
 * to sim_node_wake_at(), outside the stack: the app may use the stack and its
 * connections there.  Either may be NULL. */
typedef struct sim_app {
	void (*event)(void *ctx, sim_node *n, mps_conn *c, enum mps_event ev, int err);
	void (*run)(void *ctx, sim_node *n, uint64_t now);
	void *ctx;
} sim_app;

/* sim_new creates an empty simulator at time 0.  Opens $SIM_PCAP if set.
 * Returns NULL when out of memory. */
sim *sim_new(uint64_t seed);
void sim_free(sim *s);
uint64_t sim_now(const sim *s);
uint64_t sim_seed(const sim *s);
void sim_get_stats(const sim *s, sim_stats *st);

/* sim_pcap_open writes every packet from now on to path (replacing the one
 * opened before).  Returns 0, or MPS_ERR_IO. */
int sim_pcap_open(sim *s, const char *path);

/* sim_add_node creates a node with a stack made from cfg (output, event,
 * random and user are the simulator's; the rest is taken from cfg, NULL =
 * all defaults) that owns the naddrs addresses.  The node's generator is
 * seeded from the sim's seed and the node's index.
 * Returns the node, or NULL (out of memory, or the stack refused an
 * address or the config). */
sim_node *sim_add_node(sim *s, const char *name, const mps_config *cfg, const mps_addr *addrs,
		       size_t naddrs);
void sim_node_set_app(sim_node *n, const sim_app *app);
mps_stack *sim_node_stack(const sim_node *n);
const char *sim_node_name(const sim_node *n);
sim *sim_node_sim(const sim_node *n);
bool sim_node_alive(const sim_node *n);
/* sim_node_kill_at makes the node die (silently) at time at: the sim stops
 * calling its stack and drops everything sent to it. */
void sim_node_kill_at(sim_node *n, uint64_t at);
/* sim_node_wake_at calls the node's app run() at time at (e.g. to connect). */
void sim_node_wake_at(sim_node *n, uint64_t at);

/* sim_add_link joins address a (of some node) with address b (of another):
 * ab configures a->b, ba b->a.  Returns the link, or NULL when out of memory
 * or when a link between those addresses exists already. */
sim_link *sim_add_link(sim *s, const mps_addr *a, const mps_addr *b, const sim_dir_cfg *ab,
		       const sim_dir_cfg *ba);
/* The link between the two IPs (either order), or NULL. */
sim_link *sim_find_link(const sim *s, const mps_addr *a, const mps_addr *b);
/* sim_link_down_at switches both directions down (or up again) at time at. */
void sim_link_down_at(sim_link *l, uint64_t at, bool down);
bool sim_link_is_down(const sim_link *l);
void sim_link_get_stats(const sim_link *l, enum sim_dir dir, sim_dir_stats *st);
const mps_addr *sim_link_end(const sim_link *l, enum sim_dir from);
void sim_set_filter(sim *s, sim_filter_fn fn, void *user);

/* A tap: called for every packet about to be handed to a stack (after every
 * drop decision), e.g. to count what arrived. */
typedef void (*sim_tap_fn)(void *user, const sim_link *l, enum sim_dir dir, const sim_pkt_info *pi,
			   uint64_t now);
void sim_set_tap(sim *s, sim_tap_fn fn, void *user);

/* sim_node_output hands pkt to the network as if n's stack had output it
 * (meta may be NULL): for tests that forge packets. */
void sim_node_output(sim_node *n, const uint8_t *pkt, size_t len, const mps_out_meta *meta);

/* Stop conditions of sim_run. */
typedef bool (*sim_done_fn)(void *user);

/* sim_run runs events until done(user) is true (checked after every step),
 * the clock would pass until, or nothing is left to do.
 * Returns 0 (done), MPS_ERR_TIMEOUT (until reached; the clock is then at
 * until), MPS_ERR_AGAIN (no event and no timer left: a stall), or
 * MPS_ERR_STATE (a stack kept asking for its timer at the same instant
 * without progress: a timer livelock). */
int sim_run(sim *s, uint64_t until, sim_done_fn done, void *user);

/* sim_trace_keep keeps the last n packet-event lines (0 = stop keeping). */
void sim_trace_keep(sim *s, size_t n);
/* sim_trace_dump prints the kept lines, oldest first, to f. */
void sim_trace_dump(const sim *s, FILE *f);

/* splitmix64: the simulator's generator, exported for the app models. */
uint64_t sim_rand_next(uint64_t *state);

#endif
