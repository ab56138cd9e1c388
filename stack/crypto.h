/*
 * crypto.h - the stack's only door to cryptography (libsodium underneath).
 *
 * Every hash, MAC and random number of the stack goes through here, so the
 * primitives can be audited in one place.  Intermediate secrets (keys laid out
 * as bytes, full HMAC outputs, MAC states) are wiped with sodium_memzero
 * before these functions return.  MACs received from a peer must be compared
 * with mps_ct_equal, never with memcmp.
 *
 * 64-bit MPTCP keys and 32-bit random numbers are host integers here; they
 * are fed to the hash as big-endian bytes, as on the wire (RFC 8684 §3.1).
 */
#ifndef MPS_CRYPTO_H
#define MPS_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define MPS_SHA256_LEN 32
#define MPS_JOIN_HMAC160_LEN 20

/* mps_crypto_init initialises libsodium; call it once before any other
 * function here (calling it again is harmless).
 * Returns 0, or MPS_ERR_INVAL if libsodium cannot be initialised. */
int mps_crypto_init(void);

/* mps_sha256 writes SHA-256(in[0..len)) to out. */
void mps_sha256(uint8_t out[32], const void *in, size_t len);

/* mps_hmac_sha256 writes HMAC-SHA256 (RFC 2104) of msg[0..len) under
 * key[0..keylen) to out; any key length is allowed (keys longer than the
 * 64-byte block are hashed first, as RFC 2104 says). */
void mps_hmac_sha256(uint8_t out[32], const void *key, size_t keylen, const void *msg, size_t len);

/* mps_random_bytes fills buf[0..len) from the system CSPRNG. */
void mps_random_bytes(void *buf, size_t len);

/* mps_ct_equal compares a[0..len) and b[0..len) in time that depends only
 * on len.  Returns true when they are equal (and for len 0). */
bool mps_ct_equal(const void *a, const void *b, size_t len);

/* mps_memzero wipes p[0..len) in a way the compiler may not optimise out. */
void mps_memzero(void *p, size_t len);

/* RFC 8684 §3.1/§3.2: token = most significant 32 bits of SHA-256(key) and
 * IDSN = least significant 64 bits, the key hashed as 8 big-endian bytes.
 * token or idsn may be NULL when that half is not wanted. */
void mps_key_token_idsn(uint64_t key, uint32_t *token, uint64_t *idsn);
uint32_t mps_key_token(uint64_t key);

/* HMAC-SHA256 keyed with k1‖k2 (16 bytes, big-endian keys) over r1‖r2
 * (8 bytes, big-endian random numbers), RFC 8684 §3.2:
 * - MP_JOIN SYN-ACK: leftmost 64 bits, as an integer (first byte most
 *   significant); the responder B sends mps_join_hmac64(KB, KA, RB, RA).
 * - third ACK: leftmost 160 bits; the initiator A sends
 *   mps_join_hmac160(out, KA, KB, RA, RB). */
uint64_t mps_join_hmac64(uint64_t k1, uint64_t k2, uint32_t r1, uint32_t r2);
void mps_join_hmac160(uint8_t out[20], uint64_t k1, uint64_t k2, uint32_t r1, uint32_t r2);

/* mps_addaddr_hmac computes the ADD_ADDR truncated HMAC (RFC 8684 §3.4.1):
 * the rightmost 64 bits of HMAC(k1‖k2, id ‖ address ‖ port), where the
 * address is 4 bytes (a->family MPS_AF_INET) or 16 bytes (MPS_AF_INET6) in
 * network order and the port is a->port as 2 big-endian bytes, zero when no
 * port is sent (the Linux kernel hashes the two zero bytes too).  The sender
 * uses its own key first: a host with key KB announcing to a peer with key
 * KA passes (KB, KA).  A family other than MPS_AF_INET6 is hashed as IPv4. */
uint64_t mps_addaddr_hmac(uint64_t k1, uint64_t k2, uint8_t id, const mps_addr *a);

#endif
