/*
 * mps.h - public API of the mpstream stack core.
 *
 * The core is a userspace TCP and MPTCP (RFC 8684) stack with no I/O: it never
 * reads a clock, sleeps or touches a file descriptor.  Time is a uint64_t in
 * nanoseconds passed to every call that may act (MPS_TIME_NONE = "no timer");
 * packets leave through the output callback; connection events through the
 * event callback.  Callbacks run synchronously inside the call that caused
 * them (mps_stack_input, mps_stack_handle_expiry, mps_conn_send, ...).
 *
 * Typical driver loop (apps/mpsd.c does this around epoll):
 *
 *     mps_stack_input(s, pkt, len, now);          for each packet from TUN
 *     mps_stack_handle_expiry(s, now);             when now >= next expiry
 *     timeout = mps_stack_next_expiry(s) - now;    sleep at most this long
 *
 * Ownership: the stack owns every mps_conn.  The application holds a
 * connection from MPS_EV_ACCEPT (server) or mps_connect (client) until it
 * calls mps_conn_close(); after that the stack finishes the close on its own,
 * frees the connection and sends no more events for it.
 */
#ifndef MPS_H
#define MPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "addr.h"
#include "iov.h"
#include "mps_err.h"

#define MPS_TIME_NONE UINT64_MAX
#define MPS_NS_PER_MS 1000000ull
#define MPS_NS_PER_US 1000ull

typedef struct mps_stack mps_stack;
typedef struct mps_conn mps_conn;

enum mps_event {
	MPS_EV_ACCEPT,    /* server: a new connection on a listener is established */
	MPS_EV_CONNECTED, /* client: the handshake completed */
	MPS_EV_READABLE,  /* in-order bytes (or the end of stream) can be read */
	MPS_EV_WRITABLE,  /* the send buffer has room again */
	MPS_EV_CLOSED,    /* the connection ended; err is 0 (orderly) or MPS_ERR_* */
	MPS_EV_SUBFLOW,   /* a subflow came up or went down (informational) */
};

/* Metadata of an output packet; gso_size > 0 means pkt is a TCP super-segment
 * to be cut into gso_size payload pieces (virtio-net GSO), and csum_partial
 * means the TCP checksum field holds only the pseudo-header sum. */
typedef struct mps_out_meta {
	uint16_t gso_size;
	bool csum_partial;
	/* With mps_config.out_iov: when npayload > 0, pkt holds only the IP
	 * and TCP headers and the payload follows in these pieces (they point
	 * into the send buffer: valid only during the call).  len counts the
	 * headers only. */
	const mps_iov *payload;
	int npayload;
} mps_out_meta;

typedef struct mps_callbacks {
	/* One IP packet leaves the stack.  pkt is owned by the stack and valid
	 * only during the call. */
	void (*output)(void *user, const uint8_t *pkt, size_t len, const mps_out_meta *meta);
	/* A connection event.  c stays valid during the call. */
	void (*event)(void *user, mps_conn *c, enum mps_event ev, int err);
	/* Random bytes (keys, nonces, ISNs).  NULL: libsodium's randombytes.
	 * The simulator passes a seeded generator to stay deterministic. */
	void (*random)(void *user, void *buf, size_t len);
} mps_callbacks;

typedef struct mps_config {
	mps_callbacks cb;
	void *user;         /* first argument of every callback */
	uint16_t mtu;       /* IP MTU of the device; 0 -> 1500 */
	uint32_t sndbuf;    /* connection send buffer, bytes; 0 -> 4 MiB */
	uint32_t rcvbuf;    /* connection receive buffer, bytes; 0 -> 4 MiB */
	bool no_mptcp;      /* plain TCP only: never offer nor accept MP_CAPABLE */
	bool dss_checksum;  /* ask for DSS checksums (RFC 8684 §3.3.1) */
	uint32_t max_conns; /* 0 -> 65536 */
	/* Group extension (server role): the 32-byte group key this server
	 * shares with its replicas, or NULL.  Copied; the stack wipes its copy
	 * when freed. */
	const uint8_t *group_key;
	/* The group key before the current one, or NULL: joins for
	 * connections accepted under it are still checked and answered (key
	 * rotation, doc/protocol.md); new connections use group_key.  Copied
	 * and wiped like it. */
	const uint8_t *group_key_prev;
	/* Offloads of the device behind the output callback (virtio-net header
	 * on a TUN, doc/performance.md).  gso_max > 0: data segments may be
	 * TCP super-segments of up to gso_max payload bytes, meta->gso_size
	 * telling the device where to cut them; every piece carries the same
	 * options, so the DSS mapping covers the whole super-segment, which
	 * RFC 8684 §3.3.1 allows.  csum_offload: TCP checksums are left partial
	 * (meta->csum_partial).  A super-segment needs csum_offload. */
	uint32_t gso_max;   /* 0 -> one MSS per packet; capped at 65535 - headers */
	bool csum_offload;
	/* The output callback takes data segments as headers + payload pieces
	 * (mps_out_meta.payload), so the stack does not copy the payload into
	 * a packet: the device's writev gathers it.  Needs csum_offload. */
	bool out_iov;
	/* Congestion control of every subflow (doc/congestion.md): "cubic"
	 * (NULL), "newreno", "lia" or "olia".  cc_coupled is what runs on
	 * subflows of one connection that share a server: "lia" (NULL), "olia",
	 * or "none" for cc everywhere.  Names are resolved, not kept. */
	const char *cc;
	const char *cc_coupled;
	/* A connection whose peer acknowledges nothing at the data level for
	 * this long while bytes (or our DATA_FIN) wait for its acknowledgment
	 * is aborted: MP_FASTCLOSE (RFC 8684 §3.5), or a RST on a plain TCP
	 * connection, and MPS_EV_CLOSED with MPS_ERR_TIMEOUT.  A peer that
	 * half-closed and stopped reading (a killed player whose kernel keeps
	 * its socket in FIN-WAIT-2 with a closed window) would otherwise hold
	 * the connection for good; nginx's send_timeout plays the same role.
	 * ns; 0 -> never.  Group clients are exempt (each server's silence is
	 * the group failover's business). */
	uint64_t send_timeout;
} mps_config;

/* What the device said about an input packet (virtio-net header). */
typedef struct mps_in_meta {
	uint16_t gso_size; /* > 0: a coalesced (GRO) segment of such pieces */
	bool csum_ok;      /* checksum verified or left partial by the kernel:
			    * don't verify it again */
} mps_in_meta;

/* How a group client spreads the download over its servers. */
enum mps_sched_mode {
	MPS_SCHED_SPLIT,     /* pull-based: each server asks for more as it delivers */
	MPS_SCHED_REDUNDANT, /* every server sends every byte */
	MPS_SCHED_DEADLINE,  /* split, with the ranges the player needs next also duplicated */
};

/* mps_stack_new creates a stack.  Returns 0, MPS_ERR_INVAL (no output
 * callback, or an unknown cc / cc_coupled name: see mps_cc_valid) or
 * MPS_ERR_NOMEM. */
int mps_stack_new(mps_stack **out, const mps_config *cfg);

/* mps_cc_valid tells whether name is accepted as mps_config.cc (coupled
 * false) or as mps_config.cc_coupled (coupled true). */
bool mps_cc_valid(const char *name, bool coupled);
void mps_stack_free(mps_stack *s);

/* mps_stack_add_addr makes the stack own an address (port ignored): packets
 * to it are ours, and the path manager uses it as a subflow source.
 * Returns the local address id (>= 0), MPS_ERR_EXIST or MPS_ERR_NOMEM. */
int mps_stack_add_addr(mps_stack *s, const mps_addr *a);

/* mps_stack_add_announce adds an address (and port, 0 = the connection's)
 * that server-side connections announce to MPTCP peers with ADD_ADDR.
 * Returns 0, MPS_ERR_NOMEM (list full) or MPS_ERR_INVAL. */
int mps_stack_add_announce(mps_stack *s, const mps_addr *a);

/* mps_stack_set_group_keys replaces the group keys (mps_config.group_key
 * and group_key_prev; both NULL: no group service from now on): new
 * connections use key, joins are checked against both.  Connections already
 * accepted keep their own MPTCP keys.  The old keys are wiped.  Returns 0,
 * or MPS_ERR_INVAL (prev without key). */
int mps_stack_set_group_keys(mps_stack *s, const uint8_t *key, const uint8_t *prev);

/* mps_stack_input hands one IP packet to the stack.  Returns 0 when the
 * packet was used, or the reason it was dropped (MPS_ERR_MALFORMED,
 * MPS_ERR_CHECKSUM, MPS_ERR_NOTCONN, MPS_ERR_AUTH, ...); drops are counted
 * in mps_stack_stats.  Nothing the peer sends can make this crash or leak. */
int mps_stack_input(mps_stack *s, const uint8_t *pkt, size_t len, uint64_t now);
/* The same with what the device said about the packet (meta may be NULL).
 * A coalesced segment may be up to 64 KiB long. */
int mps_stack_input_meta(mps_stack *s, const uint8_t *pkt, size_t len, uint64_t now,
			 const mps_in_meta *meta);

/* The earliest time at which mps_stack_handle_expiry must be called, or
 * MPS_TIME_NONE. */
uint64_t mps_stack_next_expiry(const mps_stack *s);
void mps_stack_handle_expiry(mps_stack *s, uint64_t now);

/* mps_listen accepts connections to local (an owned IP and a port).
 * Returns 0, MPS_ERR_EXIST, MPS_ERR_INVAL (address not owned) or NOMEM. */
int mps_listen(mps_stack *s, const mps_addr *local);

typedef struct mps_connect_params {
	mps_addr remote;       /* server IP and port */
	mps_addr local;        /* source IP; family 0 -> the first owned address of remote's family */
	const mps_addr *join;  /* further server addresses to open subflows to */
	size_t njoin;
	bool group;            /* ask for group service (DESIGN.md §3) */
	enum mps_sched_mode mode; /* group downstream scheduling */
} mps_connect_params;

/* mps_connect opens a connection (MP_CAPABLE SYN; plain TCP if the server
 * does not answer with MPTCP).  *out is valid until mps_conn_close.
 * Returns 0, MPS_ERR_INVAL, MPS_ERR_NOMEM. */
int mps_connect(mps_stack *s, const mps_connect_params *p, uint64_t now, mps_conn **out);

/* mps_conn_send queues bytes; returns the number taken (possibly 0 when the
 * send buffer is full: wait for MPS_EV_WRITABLE), or MPS_ERR_CLOSED /
 * MPS_ERR_STATE (after shutdown). */
ssize_t mps_conn_send(mps_conn *c, const uint8_t *data, size_t len, uint64_t now);
size_t mps_conn_send_space(const mps_conn *c);

/* Zero-copy sending: mps_conn_send_reserve points iov[0..*niov) at free
 * space at the end of the send buffer (two pieces when it wraps) for the
 * application to fill in place; mps_conn_send_commit then queues the first
 * n bytes written there, as mps_conn_send would.  The space offered may be
 * less than mps_conn_send_space (reserve again after a commit) and is valid
 * until the next call into the stack.  Both return the bytes offered /
 * queued (0 when the buffer is full), MPS_ERR_CLOSED or MPS_ERR_STATE. */
ssize_t mps_conn_send_reserve(mps_conn *c, mps_wiov iov[2], int *niov);
ssize_t mps_conn_send_commit(mps_conn *c, size_t n, uint64_t now);

/* mps_conn_recv copies in-order bytes out.  Returns > 0 bytes, 0 at the end
 * of the peer's stream (DATA_FIN / FIN), MPS_ERR_AGAIN when nothing is there
 * yet, or the error that ended the connection. */
ssize_t mps_conn_recv(mps_conn *c, uint8_t *buf, size_t len, uint64_t now);

/* Zero-copy reading: mps_conn_recv_peek points iov[0..*niov) at the
 * in-order bytes, in place in the receive buffer (two pieces when they wrap
 * its end), without consuming them; it returns what mps_conn_recv would
 * (the byte count, 0 at the end of stream, MPS_ERR_AGAIN or the error).
 * The pointers stay valid until the next call into the stack.
 * mps_conn_recv_consume then releases the first n of them (clamped to what
 * is readable), with the window updates mps_conn_recv does. */
ssize_t mps_conn_recv_peek(mps_conn *c, mps_iov iov[2], int *niov);
void mps_conn_recv_consume(mps_conn *c, size_t n, uint64_t now);

/* mps_conn_shutdown ends our direction: a DATA_FIN follows the queued data. */
int mps_conn_shutdown(mps_conn *c, uint64_t now);

/* mps_conn_close releases the handle (shutdown if not done).  The stack
 * delivers the rest, closes and frees the connection by itself. */
void mps_conn_close(mps_conn *c, uint64_t now);

/* mps_conn_abort tears the connection down at once (MP_FASTCLOSE, or RST
 * when fallen back) and releases the handle. */
void mps_conn_abort(mps_conn *c, uint64_t now);

void mps_conn_set_user(mps_conn *c, void *user);
void *mps_conn_get_user(const mps_conn *c);

/* --- introspection (mpsctl status) -------------------------------------- */

typedef struct mps_subflow_info {
	mps_addr local, remote;
	const char *state;      /* "SYN_SENT", "ESTABLISHED", ... */
	uint8_t local_id, remote_id;
	bool backup, is_initial;
	uint32_t srtt_us, rttvar_us, cwnd, ssthresh, mss;
	uint64_t bytes_sent, bytes_retrans, bytes_acked, bytes_received;
	uint32_t retrans_timeouts;
} mps_subflow_info;

typedef struct mps_conn_info {
	mps_addr local, remote;  /* of the initial subflow */
	const char *state;
	bool mptcp, fallback, is_server, group;
	uint32_t local_token, remote_token;
	uint64_t bytes_sent, bytes_acked, bytes_received, bytes_delivered;
	uint64_t data_ack_sent, data_ack_received;
	size_t nsubflows;        /* may exceed what was copied into the array */
} mps_conn_info;

/* Fills ci, and up to max subflows into sfs.  Returns the number copied. */
size_t mps_conn_get_info(const mps_conn *c, mps_conn_info *ci, mps_subflow_info *sfs, size_t max);

/* One server of a group connection, as the client sees it. */
typedef struct mps_peer_info {
	mps_addr addr;
	const char *state;       /* "probing", "active", "slow", "dead", "dropped" */
	uint64_t bytes;          /* downstream bytes received from it (new ones) */
	uint32_t share_permille; /* of all new downstream bytes */
	uint32_t srtt_us;
	uint64_t outstanding;    /* bytes asked of it and not yet received */
	uint32_t ranges;         /* ranges asked of it and not yet complete */
	uint64_t up_acked;       /* upstream bytes it acknowledged */
	int reason;              /* why it was dropped (MPS_ERR_*), 0 otherwise */
} mps_peer_info;

/* Fills up to max servers of a group connection; returns the number. */
size_t mps_conn_get_peers(const mps_conn *c, mps_peer_info *pi, size_t max);

/* Iterate over the stack's connections (including those being closed). */
mps_conn *mps_stack_conn_first(mps_stack *s);
mps_conn *mps_stack_conn_next(mps_stack *s, mps_conn *c);

typedef struct mps_stack_stats {
	uint64_t pkts_in, pkts_out, bytes_in, bytes_out;
	uint64_t gso_out; /* super-segments handed to the device */
	uint64_t gro_in;  /* coalesced segments read from it */
	uint64_t drop_malformed, drop_checksum, drop_noconn, drop_other;
	uint64_t opt_malformed;    /* MPTCP suboptions ignored for a bad length/content */
	uint64_t rst_sent, rst_received;
	uint64_t joins_accepted, joins_refused;
	uint64_t conns_opened, conns_accepted, conns_closed, fallbacks;
	uint64_t retransmits, rto_fired, reinjected_bytes;
	uint64_t group_joins_accepted, group_joins_refused, divergences;
	uint64_t send_timeouts; /* connections aborted after mps_config.send_timeout */
} mps_stack_stats;

void mps_stack_get_stats(const mps_stack *s, mps_stack_stats *st);

#endif
