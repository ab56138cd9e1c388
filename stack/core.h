/*
 * core.h - internal structures of the stack: stack, MPTCP connection, TCP
 * subflow.  Not part of the public API (mps.h); shared by stack.c, conn.c,
 * sf.c, pm.c, sched.c, cc.c and the unit tests that drive them.
 *
 * Sequence numbers: inside the stack every TCP sequence number is a 64-bit
 * value relative to the subflow's initial sequence number (0 = the SYN, 1 =
 * the first data byte), so comparisons never wrap.  The 32-bit wire value is
 * iss + rel (send side) or irs + rel (receive side); received 32-bit values
 * are expanded against the current position with mps_seq_expand32().  This is
 * also exactly the "relative subflow sequence number" of a DSS mapping
 * (RFC 8684 §3.3.1).  Data sequence numbers (DSN) are plain 64-bit values.
 *
 * Ownership: the stack owns connections (mps_stack.conns) and each
 * connection owns its subflows (mps_conn.sfs).  A subflow is also linked in
 * the stack's 4-tuple hash table while it has a 4-tuple.
 */
#ifndef MPS_CORE_H
#define MPS_CORE_H

#include "mps.h"
#include "cc.h"
#include "crypto.h"
#include "group.h"
#include "opt.h"
#include "pkt.h"
#include "ranges.h"
#include "rob.h"
#include "sbuf.h"
#include "seq.h"

typedef struct mps_sf mps_sf;

enum sf_state {
	SF_CLOSED,
	SF_SYN_SENT,
	SF_SYN_RCVD,
	SF_ESTABLISHED,
	SF_FIN_WAIT_1,
	SF_FIN_WAIT_2,
	SF_CLOSING,
	SF_TIME_WAIT,
	SF_CLOSE_WAIT,
	SF_LAST_ACK,
};

/* A send-side mapping: subflow bytes [ssn, ssn+len) carry DSN [dsn, dsn+len).
 * A DATA_FIN alone is a mapping with len 0 and fin set (it is sent with the
 * "no data" form: subflow sequence 0, data-level length 1, RFC 8684 §3.3.3). */
typedef struct sf_map {
	uint64_t ssn;
	uint64_t dsn;
	uint32_t len;
	uint16_t dll;      /* receive side: data-level length as sent (DATA_FIN included) */
	uint16_t csum;     /* receive side: the DSS checksum to verify */
	bool has_csum;
} sf_map;

#define SF_RX_MAPS 8

/* A transmitted byte range [start, start+len) of the send side, with the
 * time of its latest (re)transmission: the per-segment state of RACK (RFC
 * 8985 §6.1).  A range is what one call sent (it may be larger than the
 * MSS); SACK blocks and partial retransmissions split it. */
typedef struct sf_txr {
	uint64_t start;
	uint64_t xmit;     /* ns */
	uint32_t len;
	uint8_t flags;     /* SF_SEG_* */
} sf_txr;

#define SF_SEG_SACKED 1  /* selectively acknowledged */
#define SF_SEG_LOST 2    /* marked lost and not retransmitted since */
#define SF_SEG_RETRANS 4 /* retransmitted at least once */

/* Timers of a subflow, named after the event that fires them. */
enum sf_timer {
	SF_TIMER_RTO,       /* retransmission timeout, RFC 6298 */
	SF_TIMER_DELACK,    /* delayed ACK, RFC 9293 §3.8.6.3 */
	SF_TIMER_JOIN_ACK,  /* MP_JOIN third ACK not yet acknowledged, RFC 8684 §3.2 */
	SF_TIMER_TIME_WAIT, /* 2*MSL */
	SF_TIMER_REO,       /* RACK reordering timer, RFC 8985 §6.3 */
	SF_TIMER_PTO,       /* tail loss probe, RFC 8985 §7.2 */
	SF_TIMER_COUNT,
};

struct mps_sf {
	mps_conn *conn;
	mps_sf *next;      /* in conn->sfs */
	mps_sf *hnext;     /* in the stack's 4-tuple hash chain */
	bool hashed;

	mps_addr local, remote;
	enum sf_state state;
	uint8_t local_id, remote_id;
	bool is_initial;   /* the MP_CAPABLE subflow */
	bool is_join;      /* opened or accepted with MP_JOIN */
	bool backup;       /* our priority for sending on it */
	bool peer_backup;  /* the peer asked us to use it only as a backup */
	bool join_confirmed; /* join initiator: third ACK acknowledged */
	bool dead;         /* given up: no new data, outstanding reinjected */
	bool prio_pending; /* send MP_PRIO with our backup flag */
	bool reset_sent;
	int close_err;

	/* send side (relative sequence numbers, see the top of this file) */
	uint32_t iss;
	uint64_t snd_una, snd_nxt, snd_max, snd_end;
	uint64_t snd_wl1, snd_wl2; /* segment seq/ack of the last window update */
	uint64_t snd_wnd;          /* peer's receive window, scaled, bytes */
	uint64_t max_snd_wnd;
	bool fin_queued;           /* a FIN follows snd_end */
	bool fin_sent;
	uint16_t peer_mss;         /* from the peer's SYN; 536 if absent */
	uint16_t mss;              /* payload bytes per segment without options */
	uint8_t snd_wscale;        /* shift to apply to the peer's window field */
	uint8_t rcv_wscale;        /* shift the peer applies to our window field */
	bool ws_ok, ts_ok, sack_ok;
	sf_map *maps;              /* ring of send mappings covering [snd_una, snd_end) */
	size_t maps_head, maps_n, maps_cap;

	/* loss recovery and congestion control */
	uint32_t cwnd, ssthresh;   /* bytes */
	uint32_t dupacks;
	bool in_recovery;
	uint64_t recover;          /* NewReno "recover", RFC 6582 */
	mps_ranges sacked;         /* SACK scoreboard above snd_una (RFC 6675) */
	uint64_t high_rxt;         /* RFC 6675 HighRxt: retransmitted up to here */
	/* SACK peers: the transmitted ranges of [snd_una, snd_max), allocated
	 * only while data is in flight, and their byte counts (pipe, RFC 6675
	 * §2, is snd_max - snd_una - sacked_bytes - lost_bytes). */
	sf_txr *segs;
	uint32_t segs_head, segs_n, segs_cap;
	uint64_t sacked_bytes, lost_bytes, retrans_bytes;
	uint64_t lost_hint;        /* no range below this is marked lost */
	bool rto_recovery;         /* in_recovery entered by a timeout */
	/* RACK (RFC 8985 §6) */
	uint64_t rack_xmit, rack_end; /* the most recently sent delivered range */
	uint64_t rack_rtt, rack_min_rtt;
	uint64_t rack_fack;        /* highest delivered byte */
	uint64_t rack_dsack_round;
	bool rack_reordering;
	uint8_t rack_reo_mult, rack_reo_persist;
	/* TLP (RFC 8985 §7) */
	bool tlp_out;              /* a probe is outstanding (TLP.end_seq valid) */
	bool tlp_retrans;          /* it was a retransmission */
	uint64_t tlp_end;
	/* Proportional Rate Reduction in fast recovery (RFC 6937) */
	uint64_t prr_delivered, prr_out, prr_recover_fs;
	const mps_cc_ops *cc;
	uint64_t cc_state[MPS_CC_WORDS]; /* private state of the cc algorithm */
	uint64_t srtt, rttvar, rto; /* ns */
	bool rtt_valid;
	uint64_t rtt_seq;          /* Karn: timed segment, when timestamps are off */
	uint64_t rtt_time;
	bool rtt_timing;
	uint32_t backoff;          /* consecutive RTOs: timeout = rto << backoff */
	uint32_t join_tries;       /* third-ACK retransmissions of MP_JOIN */

	/* receive side */
	uint32_t irs;
	uint64_t rcv_nxt;
	uint64_t rcv_adv;          /* right edge of the window we advertised */
	uint64_t rcv_wnd_edge;     /* right edge our latest ACK told (may be below rcv_adv) */
	mps_ranges rcv_ooo;        /* out-of-order ranges above rcv_nxt */
	sf_map rx_maps[SF_RX_MAPS];/* recently seen DSS mappings */
	size_t rx_maps_next;
	bool fin_received;
	uint64_t fin_seq;          /* relative seq of the peer's FIN */
	uint32_t ts_recent;
	uint64_t last_ack_sent;    /* RFC 7323 §4.3 Last.ACK.sent */
	uint32_t unacked_segs;     /* full segments received since our last ACK */
	bool wnd_opened;           /* a pure window update opened snd_wnd: push */
	bool ack_now;
	bool signal_more;          /* the options left a signal for another pure ACK */
	bool dsack_pending;        /* report [dsack_l, dsack_r) as a DSACK (RFC 2883) */
	uint64_t dsack_l, dsack_r;

	/* MPTCP per subflow */
	uint32_t local_nonce, remote_nonce;
	uint64_t expected_hmac64;  /* join initiator: the SYN-ACK HMAC we expect */
	bool mpc_ack_pending;      /* client: keep MP_CAPABLE on data until DATA_ACK */
	bool rx_seen_dss;          /* a DSS arrived on this subflow */
	uint8_t *stage;            /* DSS checksums: the mapping being collected */
	uint64_t stage_ssn;
	uint32_t stage_len;
	/* group extension */
	uint8_t peer;              /* client: which server (index in conn->peers) */
	bool group_join;           /* client: opened with a group JOIN SYN */

	uint64_t timers[SF_TIMER_COUNT];

	/* statistics */
	uint64_t bytes_sent, bytes_retrans, bytes_acked, bytes_received;
	uint32_t rto_count;
	uint32_t tlp_count, rack_lost_count; /* probes sent, ranges marked lost by RACK */
};

/* A remote address learned from ADD_ADDR, or given with --join. */
typedef struct conn_raddr {
	mps_addr addr;   /* port 0 = the connection's port */
	uint8_t id;
	bool from_peer;  /* announced by ADD_ADDR (else a local --join target) */
	bool tried;
	bool removed;
} conn_raddr;

/* An address we announce with ADD_ADDR until echoed (RFC 8684 §3.4.1). */
typedef struct conn_announce {
	mps_addr addr;
	uint8_t id;
	bool echoed;
	uint64_t next_send;
	uint8_t tries;
} conn_announce;

#define CONN_MAX_RADDR 8
#define CONN_MAX_ANNOUNCE 8
#define CONN_MAX_SUBFLOWS 8
#define CONN_MAX_ECHO 4

#define CONN_MAX_PEERS 8
#define CONN_MAX_GRANTS 96
#define GROUP_PROBE 4096        /* bytes a new server must match before it is trusted */
#define GROUP_FIRST_RANGE 65536 /* the accepting server's first range, asked implicitly */
#define GROUP_UP_HISTORY (1u << 20) /* upstream kept for servers that join late */

enum peer_state {
	PEER_NONE,
	PEER_PROBING, /* joined: its first bytes are compared, never delivered */
	PEER_ACTIVE,
	PEER_SLOW,    /* no progress: its ranges went to the others */
	PEER_DEAD,    /* all its subflows are gone */
	PEER_DROPPED, /* refused: bytes differ, or upstream history exceeded */
	PEER_CLOSED,  /* its subflows all ended cleanly (FIN): its stream is over */
};

/* Client: one server of a group connection. */
typedef struct conn_peer {
	mps_addr addr;     /* its IP (port 0) */
	enum peer_state state;
	uint64_t up_nxt;   /* upstream: next DSN to map to it */
	uint64_t up_una;   /* upstream: its DATA_ACK */
	uint64_t rx_bytes; /* downstream bytes it delivered first */
	uint64_t rx_last;  /* when it last sent downstream bytes */
	uint64_t slow_since; /* when it became slow, or last got a probation range */
	uint64_t rate_bps; /* smoothed downstream rate */
	uint64_t rate_mark_t, rate_mark_b;
	uint32_t probe_ok; /* bytes of the stream's start it matched, from the first on */
	uint32_t probe_asked; /* PROBE asked up to this offset of the stream */
	mps_ranges probe_seen; /* offsets of the stream's start it sent and matched (while probing) */
	bool idle_valid;   /* it said IDLE at idle_dsn and sent nothing beyond since */
	bool owing;        /* at the last tick the client waited for its bytes */
	uint64_t idle_dsn;
	uint64_t joined_at;
	int reason;        /* why dropped */
} conn_peer;

/* Client: a range of the downstream asked of one server (RANGE message). */
typedef struct conn_grant {
	uint64_t start, end; /* DSN [start, end) */
	uint8_t peer;
	bool probe;          /* compared, not delivered (PROBE, else RANGE) */
	bool sent;           /* RANGE / PROBE went out at least once */
	uint64_t asked_at;
	uint64_t sent_at;
	uint64_t last_missing;  /* progress tracking: bytes missing when last checked */
	uint64_t last_progress; /* ...and when that last went down */
} conn_grant;

enum conn_state {
	CONN_SYN,         /* handshake under way on the initial subflow */
	CONN_ESTABLISHED,
	CONN_CLOSING,     /* DATA_FIN exchange under way */
	CONN_CLOSED,
};

enum conn_timer {
	CONN_TIMER_RETRANS,  /* data-level retransmission (reinjection) */
	CONN_TIMER_ANNOUNCE, /* ADD_ADDR retransmission */
	CONN_TIMER_LINGER,   /* released but the peer never finishes */
	CONN_TIMER_GROUP,    /* group: ticket repeats, server progress checks */
	CONN_TIMER_TRIM,     /* buffers idle for a while: give their memory back */
	CONN_TIMER_PERSIST,  /* data waits behind closed windows: probe them */
	CONN_TIMER_SEND,     /* no data-level progress for send_timeout: abort */
	CONN_TIMER_COUNT,
};

struct mps_conn {
	mps_stack *stack;
	mps_conn *next, *prev; /* in stack->conns */
	mps_conn *tnext;       /* in the token hash chain */
	bool token_hashed;
	/* timer heap (stack.c): the earliest expiry of the connection and its
	 * subflows, recomputed at the end of every call that touched it */
	size_t theap_idx;      /* place in stack->theap, THEAP_NONE if absent */
	uint64_t theap_key;    /* the expiry it is filed under */
	uint64_t serial;       /* creation order: breaks ties between equal keys */
	mps_conn *touch_next;  /* in stack->touched */
	bool touched;
	void *user;
	bool released;         /* the application called mps_conn_close */
	bool closed_reported;
	int err;               /* why it ended */
	enum conn_state state;

	bool is_server;
	bool mptcp;            /* MP_CAPABLE negotiated */
	bool fallback;         /* plain TCP on the initial subflow */
	bool csum;             /* DSS checksums in use */
	bool keys_known;       /* both keys known */
	bool fully_established;/* we know the peer has our key */
	uint64_t local_key, remote_key;
	uint32_t local_token, remote_token;
	uint64_t local_idsn, remote_idsn;

	mps_sf *sfs;
	size_t nsf;
	uint8_t next_local_id;
	mps_addr remote0;      /* the server address of the initial subflow */

	/* send side, data level */
	mps_sbuf snd;
	uint64_t snd_una;      /* DATA_ACK received */
	uint64_t snd_nxt;      /* next new DSN to schedule */
	uint64_t snd_wnd_end;  /* data_ack + peer window: DSN not to go beyond */
	bool shut_wr;          /* the application shut down its direction */
	bool fin_sent_dsn;     /* DATA_FIN has been mapped */
	uint64_t fin_dsn;      /* DSN of our DATA_FIN */
	bool fin_acked;
	uint64_t retrans_una;  /* snd_una when the retrans timer was armed */
	uint64_t send_mark;    /* snd_una when CONN_TIMER_SEND was last armed */
	uint64_t rcv_edge_adv; /* DATA_ACK + window of our latest ACK (data level) */
	uint32_t retrans_backoff; /* data-level retransmissions without progress */

	/* receive side, data level */
	mps_rob rcv;
	bool rcv_fin;          /* DATA_FIN received (fin at rcv_fin_dsn) */
	uint64_t rcv_fin_dsn;
	bool eof_delivered;
	bool data_ack_pending;
	uint64_t fb_dsn0;      /* fallback: DSN of subflow relative seq 1 */
	uint64_t fb_ssn0;

	/* path manager */
	conn_raddr raddr[CONN_MAX_RADDR];
	size_t nraddr;
	conn_announce ann[CONN_MAX_ANNOUNCE];
	size_t nann;
	conn_raddr echo[CONN_MAX_ECHO]; /* ADD_ADDR echoes to send */
	size_t necho;
	uint8_t rm_pending[MPS_RM_ADDR_MAX];
	size_t nrm_pending;
	bool fastclose_pending;

	uint64_t timers[CONN_TIMER_COUNT];

	/* group extension (gconn.c) */
	bool group;              /* group service in use */
	bool group_asked;        /* client: asked for it in the SYN */
	uint64_t group_n;        /* the nonce N (server: picked; client: ticket) */
	bool have_ticket;        /* client: N known */
	bool ticket_ack_pending; /* client: confirm the ticket */
	bool ticket_acked;       /* server: the client confirmed it */
	bool group_member;       /* server: created by a group JOIN */
	enum mps_sched_mode mode;
	/* The four arrays below live in one block allocated when the group
	 * service starts (conn_group_alloc): NULL on every other connection,
	 * which so stays small (13 KB less each). */
	conn_peer *peers;        /* CONN_MAX_PEERS */
	size_t npeers;
	conn_grant *grants;      /* CONN_MAX_GRANTS */
	size_t ngrants;
	uint64_t next_grant;     /* client: lowest DSN not yet asked of anyone */
	uint8_t last_grant_peer;
	uint8_t *probe_ref;      /* GROUP_PROBE: client: first downstream bytes read; server: first sent */
	size_t probe_ref_len;
	mps_range *sgrants;      /* CONN_MAX_GRANTS: server: ranges asked of us, not yet mapped */
	size_t nsgrants;
	uint64_t content_hw;     /* client: the stream exists up to here (bytes or IDLE of a server) */
	uint64_t sprobe_start, sprobe_end; /* server: PROBE asked of us, not yet mapped */
	uint64_t idle_told;      /* server: the write end our last IDLE gave */
	bool idle_pending;       /* server: an IDLE goes on the next pure ACK */
	bool idle_asked;         /* server: a RANGE or PROBE came since our last IDLE */
	uint64_t idle_sent_at;   /* server: when */
	uint64_t ticket_due;     /* server: when the TICKET is repeated on an idle connection */
	bool ticket_just_sent;   /* server: our last pure ACK carried the TICKET */

	uint64_t bytes_sent, bytes_received, bytes_delivered;
	uint64_t data_ack_sent;
};

#define STACK_MAX_ADDRS 16
#define STACK_MAX_LISTEN 16
/* Hash buckets: a power of two at least max_conns, within these bounds. */
#define STACK_HASH_MIN 4096
#define STACK_HASH_MAX (1u << 20)
#define THEAP_NONE SIZE_MAX

struct mps_stack {
	mps_config cfg;
	mps_addr addrs[STACK_MAX_ADDRS];
	size_t naddrs;
	mps_addr listen[STACK_MAX_LISTEN];
	size_t nlisten;
	mps_addr announce[STACK_MAX_ADDRS];
	size_t nannounce;
	mps_conn *conns;
	size_t nconns;
	mps_sf **sf_hash;       /* hash_mask + 1 buckets */
	mps_conn **tok_hash;    /* hash_mask + 1 buckets */
	uint32_t hash_mask;
	/* timers: a binary min-heap of the connections that have an expiry,
	 * keyed by (theap_key, serial), and the connections touched by the
	 * current call whose key must be recomputed */
	mps_conn **theap;
	size_t theap_n, theap_cap;
	mps_conn *touched;
	uint64_t conn_serial;
	/* random bytes fetched ahead (stack_random); the last rnd_left are unused */
	uint8_t rnd_pool[256];
	size_t rnd_left;
	uint32_t hash_seed;
	uint64_t now;
	uint32_t ts_offset;
	uint8_t group_key[MPS_GROUP_KEY_LEN];
	bool has_group_key;
	uint8_t group_key_prev[MPS_GROUP_KEY_LEN]; /* the key before it (rotation) */
	bool has_group_key_prev;
	uint8_t *obuf;          /* scratch for building output packets */
	size_t obuf_cap;
	bool reap_needed;       /* something closed: free it at the end of the call */
	mps_stack_stats st;
	const mps_cc_ops *cc;         /* mps_config.cc */
	const mps_cc_ops *cc_coupled; /* mps_config.cc_coupled; NULL: "none" */
};

/* --- stack.c ------------------------------------------------------------ */
void stack_random(mps_stack *s, void *buf, size_t len);
void stack_output(mps_stack *s, const uint8_t *pkt, size_t len);
void stack_output_meta(mps_stack *s, const uint8_t *pkt, size_t len, const mps_out_meta *meta);
void stack_event(mps_stack *s, mps_conn *c, enum mps_event ev, int err);
void stack_sf_hash_add(mps_stack *s, mps_sf *sf);
void stack_sf_hash_del(mps_stack *s, mps_sf *sf);
mps_conn *stack_conn_by_token(mps_stack *s, uint32_t token);
void stack_token_add(mps_stack *s, mps_conn *c);
void stack_token_del(mps_stack *s, mps_conn *c);
bool stack_owns_ip(const mps_stack *s, const mps_addr *a);
int stack_addr_id(const mps_stack *s, const mps_addr *a);
/* The address id we use for a local address on connection c (0 for the
 * initial subflow's address, RFC 8684 §3.4). */
int stack_local_id(const mps_stack *s, const mps_conn *c, const mps_addr *a);
/* The ADD_ADDR id of announce entry i. */
uint8_t stack_announce_id(const mps_stack *s, size_t i);
/* A free ephemeral port for local -> remote, or 0. */
uint16_t stack_pick_port(mps_stack *s, const mps_addr *local, const mps_addr *remote);
/* Free what was closed during the current call (deferred so no call chain
 * ever holds a freed subflow or connection), then refile the touched
 * connections in the timer heap. */
void stack_reap(mps_stack *s);
/* c's timers may have changed: refile it before the call returns. */
void stack_touch(mps_stack *s, mps_conn *c);
/* Refile every touched connection in the timer heap. */
void stack_timers_flush(mps_stack *s);
/* c is going away: out of the heap and the touched list. */
void stack_timers_forget(mps_stack *s, mps_conn *c);
/* Tests: true when the heap is well formed, every connection is filed
 * under its current expiry and none that could be freed was left. */
bool stack_timers_consistent(const mps_stack *s);
/* Send a RST answering an unacceptable segment (RFC 9293 §3.10.7.1). */
void stack_send_rst_for(mps_stack *s, const mps_pkt *p);
uint32_t stack_ts_now(const mps_stack *s, uint64_t now);

/* --- sf.c: TCP subflow (RFC 9293, 6298, 7323, 5961, 6582) ------------------ */
mps_sf *sf_new(mps_conn *c, const mps_addr *local, const mps_addr *remote);
void sf_free(mps_sf *sf);
/* Active open: sends the SYN. */
int sf_connect(mps_sf *sf, uint64_t now);
/* Passive open from a SYN that the connection layer accepted. */
int sf_accept_syn(mps_sf *sf, const mps_pkt *p, const mps_opts *o, uint64_t now);
void sf_input(mps_sf *sf, const mps_pkt *p, const mps_opts *o, uint64_t now);
/* Queue DSN [dsn, dsn+len) for sending on this subflow. */
int sf_queue_map(mps_sf *sf, uint64_t dsn, uint32_t len);
/* Send what the windows allow; then an ACK if one is due. */
void sf_output(mps_sf *sf, uint64_t now);
void sf_send_ack(mps_sf *sf, uint64_t now);
void sf_send_rst(mps_sf *sf, uint64_t now, uint8_t reason);
void sf_close(mps_sf *sf, uint64_t now);   /* orderly FIN */
void sf_handle_timers(mps_sf *sf, uint64_t now);
uint64_t sf_next_expiry(const mps_sf *sf);
bool sf_can_send_data(const mps_sf *sf);
uint32_t sf_cwnd_room(const mps_sf *sf);
uint32_t sf_seg_payload(const mps_sf *sf);
uint64_t sf_bytes_in_flight(const mps_sf *sf);
const char *sf_state_name(enum sf_state st);
/* The advertised window, unscaled bytes. */
uint64_t sf_rcv_window(const mps_sf *sf);
void sf_join_ack_sent(mps_sf *sf, uint64_t now);
/* Close at once without a packet (the connection is torn down). */
void sf_kill(mps_sf *sf, int err, uint64_t now);

/* --- conn.c: MPTCP connection (RFC 8684) ------------------------------------ */
mps_conn *conn_new(mps_stack *s, bool is_server);
void conn_free(mps_conn *c);
/* Listener: a SYN arrived on a listening address. */
void conn_listen_syn(mps_stack *s, const mps_pkt *p, const mps_opts *o, uint64_t now);
/* sf.c asks what MPTCP options to put on a segment it is building. */
typedef struct sf_seg {
	uint8_t flags;     /* MPS_TH_* */
	uint64_t seq;      /* relative */
	uint32_t len;      /* payload */
	const sf_map *map; /* mapping the payload belongs to, or NULL */
	bool rexmit;
} sf_seg;
void conn_sf_options(mps_conn *c, mps_sf *sf, const sf_seg *seg, mps_opts *o, int room);
/* sf.c reports: the SYN-ACK (client side) arrived with these options.
 * Returns 0 to go on, or an error to reset the subflow. */
int conn_sf_synack(mps_conn *c, mps_sf *sf, const mps_opts *o, uint64_t now);
/* sf.c reports: handshake done (ESTABLISHED reached), with the options of
 * the segment that completed it (server side: the third ACK). */
int conn_sf_established(mps_conn *c, mps_sf *sf, const mps_opts *o, uint64_t now);
/* sf.c reports MPTCP options of an acceptable segment in a synchronised state. */
void conn_sf_rx_options(mps_conn *c, mps_sf *sf, const mps_pkt *p, const mps_opts *o, uint64_t now);
/* sf.c hands in payload at relative seq; returns the number of bytes of the
 * prefix it accepted (so the subflow may acknowledge them). */
size_t conn_sf_rx_data(mps_conn *c, mps_sf *sf, uint64_t seq, const uint8_t *data, size_t len,
		       const mps_opts *o, uint64_t now);
/* sf.c reports progress / problems. */
void conn_sf_acked(mps_conn *c, mps_sf *sf, uint64_t now);
void conn_sf_fin(mps_conn *c, mps_sf *sf, uint64_t now);
void conn_sf_closed(mps_conn *c, mps_sf *sf, int err, uint64_t now);
void conn_sf_rto(mps_conn *c, mps_sf *sf, uint64_t now);
/* sf.c: a tail loss probe went out on sf (nothing came back for two RTTs). */
void conn_sf_pto(mps_conn *c, mps_sf *sf, uint64_t now);
/* Does a pure ACK on sf have something to say (ADD_ADDR, echo, RANGE...)? */
bool conn_sf_signal_pending(const mps_conn *c, const mps_sf *sf);
bool gc_signal_pending(const mps_conn *c, const mps_sf *sf);
/* The receive window to advertise (connection level, RFC 8684 §3.3.4). */
uint64_t conn_rcv_space(const mps_conn *c);
int conn_sf_peek(mps_conn *c, uint64_t dsn, size_t len, mps_iov iov[2]);
void conn_push(mps_conn *c, uint64_t now);
void conn_handle_timers(mps_conn *c, uint64_t now);
uint64_t conn_next_expiry(const mps_conn *c);
bool conn_reapable(const mps_conn *c);
void conn_reap_subflows(mps_conn *c);

/* --- gconn.c: the group extension on a connection --------------------------- */
/* client */
void gc_established(mps_conn *c, uint64_t now);
void gc_sf_assign(mps_conn *c, mps_sf *sf, uint64_t now);
void gc_push_upstream(mps_conn *c, uint64_t now);
bool gc_data_ack_in(mps_conn *c, mps_sf *sf, uint64_t ack, uint64_t now);
void gc_schedule(mps_conn *c, uint64_t now);
/* Downstream bytes for dsn from subflow sf: returns what mps_rob_write
 * returns, with *acc the accepted prefix. */
int gc_rx_data(mps_conn *c, mps_sf *sf, uint64_t dsn, const uint8_t *data, size_t n, size_t *acc,
	       uint64_t now);
void gc_on_read(mps_conn *c, uint64_t dsn, const uint8_t *buf, size_t n);
/* gconn.c: a server's DATA_FIN at fin (the stream exists up to there). */
void gc_rx_data_fin(mps_conn *c, uint64_t fin, uint64_t now);
void gc_sf_gone(mps_conn *c, mps_sf *sf, int err, uint64_t now);
/* both */
void gc_options(mps_conn *c, mps_sf *sf, const sf_seg *seg, mps_opts *o, int total);
void gc_rx_options(mps_conn *c, mps_sf *sf, const mps_opts *o, uint64_t now);
void gc_timer(mps_conn *c, uint64_t now);
/* server */
bool gs_listen_syn(mps_stack *s, const mps_pkt *p, const mps_opts *o, uint64_t now);
bool gs_setup_key(mps_conn *c);
void gs_push(mps_conn *c, uint64_t now);
int gs_peek(mps_conn *c, uint64_t dsn, size_t len, mps_iov iov[2]);
void gs_on_append(mps_conn *c, uint64_t dsn, const uint8_t *data, size_t n);

/* --- conn.c helpers shared with gconn.c ---------------------------------- */
mps_conn *conn_new_keyed(mps_stack *s, bool is_server, uint64_t key);
void conn_keys_learned(mps_conn *c, uint64_t remote_key);
int conn_init_rcv(mps_conn *c, uint64_t start);
/* The group arrays of c (peers, grants, sgrants, probe_ref), zeroed; before
 * c->group is set.  Returns false when memory ran out. */
bool conn_group_alloc(mps_conn *c);
void conn_ack_soon(mps_conn *c);
void conn_ack_peer(mps_conn *c, uint8_t peer);
size_t conn_live_subflows(const mps_conn *c, const mps_sf *except);
void conn_set_closed(mps_conn *c, int err, uint64_t now);
void conn_established(mps_conn *c, uint64_t now);

/* --- pm.c: path manager --------------------------------------------------- */
void pm_conn_established(mps_conn *c, uint64_t now);
void pm_add_remote(mps_conn *c, const mps_addr *a, uint8_t id, bool from_peer, uint64_t now);
void pm_open_subflows(mps_conn *c, uint64_t now);
void pm_remove_remote(mps_conn *c, uint8_t id, uint64_t now);

/* --- sched.c: which subflow sends the next data ---------------------------- */
typedef struct mps_sched_ops {
	const char *name;
	/* The subflow that should carry new data now, or NULL. */
	mps_sf *(*pick)(mps_conn *c);
	/* A subflow other than except to take reinjected data, or NULL. */
	mps_sf *(*pick_any)(mps_conn *c, const mps_sf *except);
} mps_sched_ops;
extern const mps_sched_ops mps_sched_default;

#endif
