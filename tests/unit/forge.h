/*
 * forge.h - a forged peer for driving one mps_stack in virtual time.
 *
 * The tests of tests/unit/test_sf.c and test_mptcp.c play the other end of
 * a connection by hand: they forge IPv4/TCP segments with chosen flags,
 * sequence numbers, windows and options (mps_opts + mps_opt_write +
 * mps_pkt_build_tcp), feed them to mps_stack_input() and look at what the
 * stack answers, captured by the output callback and parsed back with
 * mps_pkt_parse() + mps_opt_parse().  Time is virtual: f->now, advanced by
 * the tests; timers run through mps_stack_next_expiry() and
 * mps_stack_handle_expiry().  Random bytes come from a seeded generator, so
 * every run is the same.
 *
 * Addresses: in the server role the stack owns 10.88.1.1 and listens on
 * port 8080, the peer is 10.77.0.2:40000; in the client role the stack owns
 * 10.77.0.2 and connects to the peer at 10.88.1.1:8080.
 *
 * Sequence numbers in fx_sf are 32-bit wire values.  The peer does not
 * track the stack's data by itself: the tests decide what to acknowledge
 * (fx_ack() acknowledges everything the stack sent so far).
 *
 * Ownership: fx_init_* allocate, fx_free releases the stack (and with it
 * every connection) and the capture buffer.  Captured packets stay valid
 * until fx_clear() or fx_free().
 */
#ifndef MPS_TEST_FORGE_H
#define MPS_TEST_FORGE_H

#include "unit.h"

#include "mps.h"
#include "opt.h"
#include "pkt.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FX_CAP_MAX 2048 /* packets kept between two fx_clear() */
#define FX_PKT_MAX 2048 /* bytes of one captured packet */
#define FX_MAX_SF 16
#define FX_FORCE_MAX 32

/* Keys of the Linux kernel handshake vectors (DESIGN / STYLE.md): the
 * forged peer uses Key-A unless told otherwise. */
#define FX_KEY_A 0x2a0595489e8ba137ull
#define FX_KEY_B 0xe4680a1ad3cd8528ull

#define FX_MS MPS_NS_PER_MS

/* --- the pure builder --------------------------------------------------- */

/* One TCP segment to forge. */
typedef struct forge_seg {
	const mps_addr *src, *dst; /* IPv4 addresses with ports */
	uint32_t seq, ack;
	uint8_t flags; /* MPS_TH_* */
	uint16_t window;
	const mps_opts *o;  /* options to write (NULL: none) */
	const uint8_t *raw; /* bytes written after o's, as they are */
	size_t rawlen;
	const void *data; /* payload */
	size_t len;
} forge_seg;

/*
 * forge_tcp writes one IPv4 packet with the TCP segment s into buf.  The
 * options are o's (mps_opt_write), then the raw bytes, then NOPs up to a
 * multiple of 4.
 * Returns the packet length, MPS_ERR_INVAL (options over 40 bytes, or
 * mps_opt_write refused o) or MPS_ERR_NOBUF.
 */
int forge_tcp(uint8_t *buf, size_t cap, const forge_seg *s);

/* --- the fixture ---------------------------------------------------------- */

/* One packet the stack sent.  rc != 0 means it did not parse (p and o are
 * then not valid); orc is mps_opt_parse's result. */
typedef struct fx_cap {
	uint8_t data[FX_PKT_MAX];
	uint8_t *big; /* a super-segment longer than data (fx_opts.gso_max) */
	size_t len;
	mps_out_meta meta; /* what the stack said about it */
	uint64_t when;
	int rc, orc;
	mps_pkt p;
	mps_opts o;
} fx_cap;

/* The forged peer's end of one subflow. */
typedef struct fx_sf {
	mps_addr peer;	    /* our address and port */
	mps_addr stack;	    /* the stack's address and port */
	uint32_t iss;	    /* our initial sequence number */
	uint32_t snd_nxt;   /* the next sequence number we send */
	uint32_t irs;	    /* the stack's initial sequence number */
	uint32_t rcv_nxt;   /* what we acknowledge */
	uint32_t seen_nxt;  /* end of the highest thing the stack sent */
	bool synced;	    /* irs is known */
	uint16_t window;    /* the window field we send */
	uint8_t wscale;	    /* the shift we announced */
	bool ts;	    /* timestamps negotiated */
	uint32_t ts_recent; /* the stack's last TSval */
	uint32_t nonce;	    /* MP_JOIN: ours */
	uint32_t stack_nonce;
	uint8_t addr_id;       /* MP_JOIN: our address id */
	uint8_t stack_id;      /* MP_JOIN: the stack's address id */
	uint64_t stack_hmac64; /* MP_JOIN: the stack's SYN-ACK HMAC */
} fx_sf;

/* How a fixture is set up (zero = the default noted). */
typedef struct fx_opts {
	bool mptcp;		    /* the peer speaks MPTCP (MP_CAPABLE) */
	bool csum;		    /* the peer asks for DSS checksums */
	bool no_ts, no_sack, no_ws; /* options left out of the peer's SYN */
	uint16_t mss;		    /* the peer's MSS; 0 -> 1460 */
	uint8_t wscale;		    /* the peer's window shift */
	uint16_t window;	    /* the peer's window field; 0 -> 65535 */
	uint32_t rcvbuf;	    /* stack config; 0 -> 256 KiB */
	uint32_t sndbuf;	    /* stack config; 0 -> 256 KiB */
	bool stack_no_mptcp;	    /* stack config no_mptcp */
	uint64_t key;		    /* the peer's MPTCP key; 0 -> FX_KEY_A */
	uint64_t stack_key;	    /* force the stack's first key; 0 -> random */
	uint64_t rtt;		    /* handshake round trip; 0 -> 10 ms */
	uint32_t iss;		    /* the peer's ISS; 0 -> a fixed value */
	const char *announce;	    /* server role: mps_stack_add_announce("ip[:port]") */
	uint32_t gso_max;	    /* stack config gso_max (implies csum_offload) */
	const char *cc;		    /* stack config cc; NULL -> the default (cubic) */
	uint64_t send_timeout;	    /* stack config send_timeout; 0 -> never */
} fx_opts;

typedef struct fx {
	mps_stack *s;
	fx_opts opts;
	bool server; /* the stack's role */
	uint64_t now;
	uint64_t rng;
	uint64_t force_keys[FX_FORCE_MAX]; /* 8-byte random draws to hand out */
	size_t nforce;

	fx_cap *cap; /* FX_CAP_MAX entries */
	size_t ncap, lost;

	unsigned nev[MPS_EV_SUBFLOW + 1];
	mps_conn *conn; /* accepted (server) or connected (client) */
	bool closed;
	int close_err;
	int subflow_err; /* err of the last MPS_EV_SUBFLOW */

	fx_sf sf[FX_MAX_SF];
	size_t nsf;

	/* MPTCP, as the peer sees it */
	bool mptcp;
	uint64_t key, stack_key;
	uint32_t token, stack_token;
	uint64_t idsn, stack_idsn;
	uint64_t dsn_nxt;  /* the next DSN we send */
	uint64_t data_ack; /* the DATA_ACK we send */
	uint64_t dsn_seen; /* end of the highest mapping the stack sent */
} fx;

/* fx_init_server: a stack that owns 10.88.1.1 and listens on :8080;
 * sf[0] is 10.77.0.2:40000 -> 10.88.1.1:8080, nothing sent yet. */
void fx_init_server(fx *f, fx_opts o);
/* fx_init_client: a stack that owns 10.77.0.2; sf[0] is the peer
 * 10.88.1.1:8080 (the stack's port is learned from its SYN). */
void fx_init_client(fx *f, fx_opts o);
void fx_free(fx *f);

/* Full handshakes through the public API.  The peer's SYN carries MSS,
 * SACK_PERM, TS and WS unless o says otherwise, and MP_CAPABLE with
 * o.mptcp.  On return f->conn is the established connection. */
void setup_established_server(fx *f, fx_opts o);
void setup_established_client(fx *f, fx_opts o);

/* Adds a subflow end: peer "ip:port" talking to the stack's "ip:port"
 * (stack NULL: the listener / initial server address).  Returns it. */
fx_sf *fx_sf_add(fx *f, const char *peer, const char *stack);
/* The subflow end whose 4-tuple matches p (from the stack), or NULL. */
fx_sf *fx_sf_of(fx *f, const mps_pkt *p);

/* --- sending ------------------------------------------------------------ */

/* A segment from the peer on a subflow.  seq = snd_nxt + dseq and
 * ack = rcv_nxt + dack; TS is added when the subflow uses timestamps.  After
 * sending, snd_nxt moves past the payload (and SYN / FIN) when dseq is 0
 * and keep is false. */
typedef struct fx_seg {
	uint8_t flags; /* MPS_TH_*; nothing implied */
	int64_t dseq, dack;
	const mps_opts *o;
	const uint8_t *raw; /* raw option bytes after o's */
	size_t rawlen;
	const void *data;
	size_t len;
	bool keep;
	bool no_ts;
	bool win_set; /* use window below instead of sf->window */
	uint16_t window;
	const mps_in_meta *meta; /* handed to mps_stack_input_meta (may be NULL) */
	bool bad_csum;		 /* spoil the TCP checksum */
} fx_seg;

/* Returns what mps_stack_input returned. */
int fx_send(fx *f, fx_sf *sf, fx_seg seg);
/* Sends a pure ACK of everything the stack sent on sf (and, with MPTCP,
 * a DATA_ACK of everything it mapped).  Returns mps_stack_input's result. */
int fx_ack(fx *f, fx_sf *sf);
/* Sends data at DSN dsn with a 64-bit DSS mapping and DATA_ACK (plain TCP:
 * no options).  Moves snd_nxt, and dsn_nxt when dsn == dsn_nxt. */
int fx_send_data(fx *f, fx_sf *sf, uint64_t dsn, const void *data, size_t len);

/* Option helpers: a 64-bit DATA_ACK of f->data_ack; a 64-bit mapping. */
void fx_opt_data_ack(const fx *f, mps_opts *o);
void fx_opt_map(mps_opts *o, uint64_t dsn, uint32_t ssn, uint16_t dll);
/* The TCP options of the peer's SYN: MSS, then SACK_PERM, WS and TS unless
 * the fixture options leave them out (ts_ecr = sf->ts_recent). */
void fx_opt_syn(const fx *f, const fx_sf *sf, mps_opts *o);
/* The relative subflow sequence number of our next byte on sf. */
uint32_t fx_ssn(const fx_sf *sf);

/* Forces the next 8-byte random draws (MPTCP keys) of the stack. */
void fx_force_key(fx *f, uint64_t key);

/* --- looking at what came out ---------------------------------------------- */

void fx_clear(fx *f);
/* Packets captured on sf (NULL: any) whose flags & mask == want. */
size_t fx_count(const fx *f, const fx_sf *sf, uint8_t mask, uint8_t want);
/* The first / last of them, or NULL. */
const fx_cap *fx_first(const fx *f, const fx_sf *sf, uint8_t mask, uint8_t want);
const fx_cap *fx_last(const fx *f, const fx_sf *sf, uint8_t mask, uint8_t want);
/* Packets captured on sf (NULL: any) that carry payload. */
size_t fx_count_data(const fx *f, const fx_sf *sf);
/* Packets captured on sf (NULL: any) with any of the MPS_OPT_* bits. */
size_t fx_count_opt(const fx *f, const fx_sf *sf, uint32_t bits);

/* --- time and the application ------------------------------------------------ */

/* Runs the timers due up to now + ns, then sets now to that. */
void fx_advance(fx *f, uint64_t ns);
/* Jumps to the next timer and runs it; returns the new now, or
 * MPS_TIME_NONE when no timer is set (now unchanged). */
uint64_t fx_fire(fx *f);
/* Reads what f->conn has, up to cap bytes; *eof (may be NULL) tells
 * whether the end of stream was seen.  Returns the number read. */
size_t fx_read(fx *f, uint8_t *buf, size_t cap, bool *eof);
/* The stack's statistics. */
mps_stack_stats fx_stats(const fx *f);
/* A deterministic byte pattern, different per seed. */
void fx_pattern(uint8_t *buf, size_t len, uint32_t seed);

/* --- known failures ------------------------------------------------------------ */

/* Tests that reveal stack bugs live in a separate table, registered only
 * when the environment has UNIT_KNOWN_FAIL=1, so that `make check` stays
 * green while the bug is open. */
bool fx_known_fail_enabled(void);

#define FX_KNOWN_FAIL_SUITE(name, table)                                                           \
	__attribute__((constructor)) static void fx_register_##name(void)                          \
	{                                                                                          \
		if (fx_known_fail_enabled())                                                       \
			unit_add_suite(#name, table);                                              \
	}

#endif
