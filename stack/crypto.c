/*
 * crypto.c - hashes, MACs and randomness of the stack, over libsodium.
 *
 * Each MPTCP helper lays its secret inputs out in a local byte array, runs the
 * MAC, extracts the truncated result and leaves through one exit path that
 * wipes every local buffer holding key material or a full MAC.
 */
#include "crypto.h"
#include "mps_err.h"

#include <sodium.h>
#include <string.h>

static void crypto_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void crypto_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void crypto_put_be64(uint8_t *p, uint64_t v)
{
	crypto_put_be32(p, (uint32_t)(v >> 32));
	crypto_put_be32(p + 4, (uint32_t)v);
}

static uint32_t crypto_get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t crypto_get_be64(const uint8_t *p)
{
	return (uint64_t)crypto_get_be32(p) << 32 | crypto_get_be32(p + 4);
}

int mps_crypto_init(void)
{
	/* sodium_init: 0 = done now, 1 = already done, -1 = failure. */
	return sodium_init() < 0 ? MPS_ERR_INVAL : 0;
}

void mps_sha256(uint8_t out[32], const void *in, size_t len)
{
	crypto_hash_sha256(out, in, len);
}

void mps_hmac_sha256(uint8_t out[32], const void *key, size_t keylen, const void *msg, size_t len)
{
	crypto_auth_hmacsha256_state st;

	/* The _init form takes any key length (crypto_auth_hmacsha256 itself
	 * wants exactly 32 bytes); longer-than-block keys are hashed first. */
	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, msg, len);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

void mps_random_bytes(void *buf, size_t len)
{
	randombytes_buf(buf, len);
}

bool mps_ct_equal(const void *a, const void *b, size_t len)
{
	return sodium_memcmp(a, b, len) == 0;
}

void mps_memzero(void *p, size_t len)
{
	sodium_memzero(p, len);
}

void mps_key_token_idsn(uint64_t key, uint32_t *token, uint64_t *idsn)
{
	uint8_t kb[8];
	uint8_t h[MPS_SHA256_LEN];

	/* RFC 8684 §3.1: the key is hashed in network byte order; the token
	 * is the most significant 32 bits of the digest (§3.2) and the IDSN
	 * its least significant 64 bits (§3.1). */
	crypto_put_be64(kb, key);
	mps_sha256(h, kb, sizeof(kb));
	if (token != NULL)
		*token = crypto_get_be32(h);
	if (idsn != NULL)
		*idsn = crypto_get_be64(h + MPS_SHA256_LEN - 8);
	sodium_memzero(kb, sizeof(kb));
	sodium_memzero(h, sizeof(h));
}

uint32_t mps_key_token(uint64_t key)
{
	uint32_t token;

	mps_key_token_idsn(key, &token, NULL);
	return token;
}

/* crypto_join_hmac computes the full HMAC(k1‖k2, r1‖r2) of RFC 8684 §3.2
 * into out; the caller truncates it and wipes out. */
static void crypto_join_hmac(uint8_t out[MPS_SHA256_LEN], uint64_t k1, uint64_t k2, uint32_t r1,
			     uint32_t r2)
{
	uint8_t key[16];
	uint8_t msg[8];

	crypto_put_be64(key, k1);
	crypto_put_be64(key + 8, k2);
	crypto_put_be32(msg, r1);
	crypto_put_be32(msg + 4, r2);
	mps_hmac_sha256(out, key, sizeof(key), msg, sizeof(msg));
	sodium_memzero(key, sizeof(key));
	sodium_memzero(msg, sizeof(msg));
}

uint64_t mps_join_hmac64(uint64_t k1, uint64_t k2, uint32_t r1, uint32_t r2)
{
	uint8_t mac[MPS_SHA256_LEN];
	uint64_t v;

	/* RFC 8684 §3.2: the SYN-ACK carries the leftmost 64 bits. */
	crypto_join_hmac(mac, k1, k2, r1, r2);
	v = crypto_get_be64(mac);
	sodium_memzero(mac, sizeof(mac));
	return v;
}

void mps_join_hmac160(uint8_t out[20], uint64_t k1, uint64_t k2, uint32_t r1, uint32_t r2)
{
	uint8_t mac[MPS_SHA256_LEN];

	/* RFC 8684 §3.2: the third ACK carries the leftmost 160 bits. */
	crypto_join_hmac(mac, k1, k2, r1, r2);
	memcpy(out, mac, MPS_JOIN_HMAC160_LEN);
	sodium_memzero(mac, sizeof(mac));
}

uint64_t mps_addaddr_hmac(uint64_t k1, uint64_t k2, uint8_t id, const mps_addr *a)
{
	uint8_t key[16];
	uint8_t msg[1 + 16 + 2];
	uint8_t mac[MPS_SHA256_LEN];
	size_t alen = a->family == MPS_AF_INET6 ? 16 : 4;
	uint64_t v;

	/* RFC 8684 §3.4.1: HMAC over Address ID, IP address and port, keyed
	 * with the sender's key first; the option carries the rightmost 64
	 * bits.  Without a port, Linux still hashes two zero bytes. */
	crypto_put_be64(key, k1);
	crypto_put_be64(key + 8, k2);
	msg[0] = id;
	memcpy(msg + 1, a->ip, alen);
	crypto_put_be16(msg + 1 + alen, a->port);
	mps_hmac_sha256(mac, key, sizeof(key), msg, 1 + alen + 2);
	v = crypto_get_be64(mac + MPS_SHA256_LEN - 8);
	sodium_memzero(key, sizeof(key));
	sodium_memzero(mac, sizeof(mac));
	return v;
}
