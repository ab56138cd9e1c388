/*
 * opt.h - TCP options and MPTCP suboptions (RFC 9293 §3.2, RFC 7323,
 * RFC 2018, RFC 8684 §3).
 *
 * Parsing fills a plain struct and never touches connection state: the
 * state machine consumes the struct afterwards.  Every suboption length is
 * checked strictly against its form; a bad one is ignored and its bit set
 * in mps_opts.malformed (never in .present).
 *
 * Writing is two-phase: mps_opt_size (or mps_opt_len per option) says how
 * many bytes the options in o->present take, the caller trims what does not
 * fit in the 40 bytes, then mps_opt_write serialises them.  Options are
 * packed back to back with no alignment padding between them; only the
 * total is padded to a multiple of 4 with NOPs, so
 *     mps_opt_size(o) == round_up(sum of mps_opt_len(o, bit), 4).
 *
 * Every 64-bit value is big-endian on the wire.  32-bit DATA_ACK / DSN forms
 * are returned in the low 32 bits of the 64-bit fields; expand them with
 * mps_seq_expand32.
 */
#ifndef MPS_OPT_H
#define MPS_OPT_H

#include "addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TCP option kinds. */
enum {
	MPS_TCPOPT_EOL = 0,
	MPS_TCPOPT_NOP = 1,
	MPS_TCPOPT_MSS = 2,	  /* RFC 9293 §3.2 */
	MPS_TCPOPT_WSCALE = 3,	  /* RFC 7323 §2.2 */
	MPS_TCPOPT_SACK_PERM = 4, /* RFC 2018 §2 */
	MPS_TCPOPT_SACK = 5,	  /* RFC 2018 §3 */
	MPS_TCPOPT_TS = 8,	  /* RFC 7323 §3.2 */
};

enum { MPS_MPTCP_KIND = 30 };

enum mps_mptcp_subtype {
	MPS_SUB_CAPABLE = 0,
	MPS_SUB_JOIN = 1,
	MPS_SUB_DSS = 2,
	MPS_SUB_ADD_ADDR = 3,
	MPS_SUB_REMOVE_ADDR = 4,
	MPS_SUB_PRIO = 5,
	MPS_SUB_FAIL = 6,
	MPS_SUB_FASTCLOSE = 7,
	MPS_SUB_TCPRST = 8,
	MPS_SUB_EXPERIMENTAL = 0xf,
};

/* Bits of mps_opts.present / .malformed. */
#define MPS_OPT_MSS (1u << 0)
#define MPS_OPT_WSCALE (1u << 1)
#define MPS_OPT_SACK_PERM (1u << 2)
#define MPS_OPT_TS (1u << 3)
#define MPS_OPT_SACK (1u << 4)
#define MPS_OPT_MPC (1u << 5)
#define MPS_OPT_JOIN (1u << 6)
#define MPS_OPT_DSS (1u << 7)
#define MPS_OPT_ADD_ADDR (1u << 8)
#define MPS_OPT_RM_ADDR (1u << 9)
#define MPS_OPT_PRIO (1u << 10)
#define MPS_OPT_FAIL (1u << 11)
#define MPS_OPT_FASTCLOSE (1u << 12)
#define MPS_OPT_TCPRST (1u << 13)
#define MPS_OPT_EXP (1u << 14)
#define MPS_OPT_TCP_ANY                                                                            \
	(MPS_OPT_MSS | MPS_OPT_WSCALE | MPS_OPT_SACK_PERM | MPS_OPT_TS | MPS_OPT_SACK)
#define MPS_OPT_MPTCP_ANY                                                                          \
	(MPS_OPT_MPC | MPS_OPT_JOIN | MPS_OPT_DSS | MPS_OPT_ADD_ADDR | MPS_OPT_RM_ADDR |           \
	 MPS_OPT_PRIO | MPS_OPT_FAIL | MPS_OPT_FASTCLOSE | MPS_OPT_TCPRST | MPS_OPT_EXP)

/* MP_CAPABLE flags (RFC 8684 §3.1): A = checksum required, B = extensibility,
 * C = do not establish subflows to the source address, H = HMAC-SHA256. */
#define MPS_MPC_FLAG_A 0x80
#define MPS_MPC_FLAG_B 0x40
#define MPS_MPC_FLAG_C 0x20
#define MPS_MPC_FLAG_H 0x01

/* MP_JOIN forms (RFC 8684 §3.2). */
#define MPS_JOIN_SYN 1	  /* length 12: token, nonce */
#define MPS_JOIN_SYNACK 2 /* length 16: 64-bit HMAC, nonce */
#define MPS_JOIN_ACK 3	  /* length 24: 160-bit HMAC */

/* MP_TCPRST flags (RFC 8684 §3.6), low nibble of the subtype byte. */
#define MPS_TCPRST_U 0x8
#define MPS_TCPRST_V 0x4
#define MPS_TCPRST_W 0x2
#define MPS_TCPRST_T 0x1

#define MPS_RM_ADDR_MAX 8
#define MPS_OPT_EXP_MAX 36
#define MPS_SACK_MAX 4

/* Wire lengths of the fixed-size MPTCP forms (RFC 8684 §3). */
#define MPS_MPC_LEN_SYN 4
#define MPS_MPC_LEN_SYNACK 12
#define MPS_MPC_LEN_ACK 20
#define MPS_MPC_LEN_DATA 22
#define MPS_MPC_LEN_DATA_CSUM 24
#define MPS_JOIN_LEN_SYN 12
#define MPS_JOIN_LEN_SYNACK 16
#define MPS_JOIN_LEN_ACK 24

typedef struct mps_opts {
	uint32_t present;   /* which fields below are valid (MPS_OPT_*) */
	uint32_t malformed; /* suboptions seen but ignored: bad length/contents */
	uint16_t mss;
	uint8_t wscale; /* clamped to 14 on parse (RFC 7323 §2.3) */
	uint32_t ts_val, ts_ecr;
	uint8_t nsack; /* 1..MPS_SACK_MAX */
	struct {
		uint32_t left, right;
	} sack[MPS_SACK_MAX];
	struct {
		uint8_t version; /* written as given: set it (1) when writing */
		uint8_t flags;	 /* MPS_MPC_FLAG_* */
		/* 0 (SYN v1), 1 (SYN-ACK, or v0 SYN), 2 (third ACK / first data) */
		uint8_t nkeys;
		uint64_t key_sender, key_receiver; /* key_sender = the sending host's key */
		bool has_dll;
		uint16_t dll; /* data-level length (first-data form) */
		bool has_csum;
		uint16_t csum;
	} mpc;
	struct {
		uint8_t form; /* MPS_JOIN_* (form from length: 12, 16, 24) */
		bool backup;  /* SYN and SYN-ACK */
		uint8_t addr_id;
		uint32_t token, nonce; /* token: SYN; nonce: SYN and SYN-ACK */
		uint64_t hmac64;       /* SYN-ACK */
		uint8_t hmac160[20];   /* ACK */
	} join;
	struct {
		bool has_ack, ack64, has_map, map64, fin, has_csum;
		uint64_t data_ack, dsn;
		uint32_t ssn; /* relative subflow sequence number */
		uint16_t dll, csum;
	} dss;
	struct {
		bool echo, has_port, has_hmac;
		uint8_t id;
		mps_addr addr; /* family from the length; port 0 if absent */
		uint64_t hmac;
	} add_addr;
	struct {
		uint8_t n;
		uint8_t ids[MPS_RM_ADDR_MAX];
	} rm_addr;
	struct {
		bool backup, has_id;
		uint8_t id;
	} prio;
	struct {
		uint64_t dsn;
	} fail;
	struct {
		uint64_t key; /* the receiver's key (RFC 8684 §3.5) */
	} fastclose;
	struct {
		uint8_t flags;	/* MPS_TCPRST_* bits as on the wire (low nibble) */
		uint8_t reason; /* RFC 8684 §3.6 reason code */
	} tcprst;
	struct {
		/* MP_EXPERIMENTAL: raw bytes after the subtype byte */
		uint8_t len;
		uint8_t data[MPS_OPT_EXP_MAX];
		uint8_t nibble; /* low nibble of the subtype byte, as on the wire */
	} exp;
} mps_opts;

/*
 * mps_opt_parse parses the TCP option bytes of one segment into o.
 *   o          reset first, then filled in
 *   buf, len   the option bytes (mps_pkt.opts / .optlen); buf may be NULL
 *              when len is 0
 *   tcp_flags  the segment's MPS_TH_* flags: they tell SYN / SYN-ACK / other
 * Unknown TCP options and unknown MPTCP subtypes are skipped.  EOL ends the
 * list.  MSS/WS/SACK_PERM only count on SYN segments (ignored elsewhere).
 * The first occurrence of an option or MPTCP subtype wins; later ones are
 * ignored.  Lengths accepted (anything else sets the bit in o->malformed):
 *   MSS 4, WS 3, SACK_PERM 2, TS 10, SACK 2 + 8n (n = 1..4)
 *   MP_CAPABLE (RFC 8684 §3.1): SYN 4 (any version) or 12 (version != 1,
 *     the v0 form with a key); SYN-ACK 12; others 20, 22 (+ data-level
 *     length), 24 (+ checksum).  A version other than 1 parses, with
 *     mpc.version set, so the caller can fall back.
 *   MP_JOIN (§3.2): 12 on SYN, 16 on SYN-ACK, 24 on non-SYN segments
 *   DSS (§3.3, Figure 9): 4 + ack (0/4/8) + map (0/10/14) + csum (0/2;
 *     only with a mapping), from the A, a, M, m flags
 *   ADD_ADDR v1 (§3.4.1): E=0: 16/18 (IPv4 [+port]), 28/30 (IPv6);
 *     E=1: 8/10, 20/22
 *   REMOVE_ADDR 3 + n (n = 1..8), MP_PRIO 3 (or 4 with an address id),
 *   MP_FAIL 12, MP_FASTCLOSE 12, MP_TCPRST 4, MP_EXPERIMENTAL 3..39
 * Returns
 *   0                  parsed (bad suboptions are flagged in o->malformed)
 *   MPS_ERR_MALFORMED  the option list itself is broken: a length byte
 *                      < 2 or an option running past len; o is reset
 */
int mps_opt_parse(mps_opts *o, const uint8_t *buf, size_t len, uint8_t tcp_flags);

/*
 * mps_opt_size returns the bytes mps_opt_write will use for o->present,
 * padded to a multiple of 4, or MPS_ERR_INVAL when a present option cannot
 * be encoded (see mps_opt_len).
 */
int mps_opt_size(const mps_opts *o);

/*
 * mps_opt_write serialises the options of o->present into buf in a fixed,
 * compact order: MSS, SACK_PERM, TS, WS, SACK blocks, then MP_CAPABLE,
 * MP_JOIN, DSS, ADD_ADDR, REMOVE_ADDR, MP_PRIO, MP_FAIL, MP_FASTCLOSE,
 * MP_TCPRST, MP_EXPERIMENTAL; NOPs pad the end to a multiple of 4.  Forms
 * are chosen from the fields: MP_CAPABLE from nkeys/has_dll/has_csum, JOIN
 * from form, DSS from its bools, ADD_ADDR from addr.family/has_port/echo/
 * has_hmac.  The result may exceed 40 bytes: fitting is the caller's job.
 *   buf, cap  the output buffer
 *   o         the options to write
 * Returns the length written (== mps_opt_size(o)), or
 *   MPS_ERR_NOBUF  cap is too small
 *   MPS_ERR_INVAL  an impossible field combination (see mps_opt_len)
 */
int mps_opt_write(uint8_t *buf, size_t cap, const mps_opts *o);

/*
 * mps_opt_len returns the wire length (unpadded) of one option as currently
 * filled in o, whether or not its bit is in o->present.
 *   bit  exactly one MPS_OPT_* bit
 * Returns the length or MPS_ERR_INVAL for: not exactly one known bit,
 * nsack 0 or > 4, mpc.nkeys > 2, has_dll/has_csum with nkeys != 2,
 * has_csum without has_dll, join.form not MPS_JOIN_*, dss.has_csum
 * without has_map, add_addr.addr.family unset, add_addr.has_hmac ==
 * add_addr.echo (RFC 8684 §3.4.1: the echo carries no HMAC), rm_addr.n
 * 0 or > 8, exp.len > 36.
 */
int mps_opt_len(const mps_opts *o, uint32_t bit);

#endif
