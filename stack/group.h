/*
 * group.h - the group extension (DESIGN.md §3, doc/protocol.md "Group
 * extension"): replica servers share a 32-byte group key; the accepting
 * server's MPTCP key is derived from the group key and a fresh nonce N it
 * picks, so any member can verify and answer a join for that connection.
 *
 * Messages travel in MPTCP's MP_EXPERIMENTAL option (subtype 0xf); the low
 * nibble of the subtype byte is the message type and the payload follows:
 *
 *   type  name        sent by / on          payload                              option length
 *   1     REQ         client SYN            -                                    3
 *   2     ACK         server SYN-ACK        version (1)                          4
 *   3     TICKET      server, ACKs          N (8)                                11
 *   4     TICKET_ACK  client, ACKs          -                                    3
 *   5     JOIN        client SYN (member)   flags|id (1) token (4) R (4)         28
 *                                           N (8) Key-C (8)
 *   6     RANGE       client, ACKs          DSN (8) length (4)                   15
 *   7     PROBE       client, ACKs          DSN (8) length (4)                   15
 *   8     IDLE        server, ACKs          DSN (8)                              11
 *
 * RANGE asks for stream data (sent as the application writes it, above the
 * DATA_ACK); PROBE asks for bytes of the first GROUP_PROBE of the stream
 * that the client already holds, to compare (served from the server's kept
 * copy, below the DATA_ACK too).  IDLE: every byte asked of the server below
 * DSN is sent, DSN is where its application's writes end, and what else it
 * was asked waits for its application.
 * All values big-endian.  JOIN's first byte: bit 7 = backup, bits 0..6 =
 * the client's address id.  A JOIN SYN carries MSS, SACK-permitted and
 * window scale but no timestamps: 4 + 2 + 3 + 28 = 37 of the 40 bytes.
 */
#ifndef MPS_GROUP_H
#define MPS_GROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "opt.h"

#define MPS_GROUP_KEY_LEN 32
#define MPS_GROUP_VERSION 1

enum mps_gmsg_type {
	MPS_GMSG_REQ = 1,
	MPS_GMSG_ACK = 2,
	MPS_GMSG_TICKET = 3,
	MPS_GMSG_TICKET_ACK = 4,
	MPS_GMSG_JOIN = 5,
	MPS_GMSG_RANGE = 6,
	MPS_GMSG_PROBE = 7,
	MPS_GMSG_IDLE = 8,
	MPS_GMSG_MAX = MPS_GMSG_IDLE,
};

typedef struct mps_gmsg {
	uint8_t type;       /* MPS_GMSG_* */
	uint8_t version;    /* ACK */
	bool backup;        /* JOIN */
	uint8_t addr_id;    /* JOIN: the client's address id (7 bits) */
	uint32_t token;     /* JOIN: token of Key-S */
	uint32_t nonce;     /* JOIN: the client's random R (as MP_JOIN's) */
	uint64_t n;         /* TICKET, JOIN: the server's nonce N */
	uint64_t key_c;     /* JOIN: the client's key */
	uint64_t dsn;       /* RANGE, PROBE: first DSN asked; IDLE: end of the server's writes */
	uint32_t len;       /* RANGE, PROBE: how many bytes */
} mps_gmsg;

/* mps_gmsg_parse decodes the MP_EXPERIMENTAL payload of o (o->present must
 * have MPS_OPT_EXP).  Strict: the length must be exactly the type's.
 * Returns 0, MPS_ERR_MALFORMED (bad length / unknown type). */
int mps_gmsg_parse(mps_gmsg *m, const mps_opts *o);

/* mps_gmsg_put fills o->exp with m and sets MPS_OPT_EXP.  Returns 0 or
 * MPS_ERR_INVAL (unknown type). */
int mps_gmsg_put(mps_opts *o, const mps_gmsg *m);

/* The server key Key-S: the first 64 bits of BLAKE2b-based KDF output of
 * the group key with N as the subkey id (libsodium crypto_kdf, context
 * "mpsgroup"). */
uint64_t mps_group_server_key(const uint8_t gk[MPS_GROUP_KEY_LEN], uint64_t n);

/* A JOIN's check (before any state is created): derive Key-S from N and
 * compare its token with the token the client sent.  On success, *key_s
 * gets Key-S.  Returns true if they match. */
bool mps_group_check_join(const uint8_t gk[MPS_GROUP_KEY_LEN], uint64_t n, uint32_t token, uint64_t *key_s);

#endif
