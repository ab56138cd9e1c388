/*
 * test_crypto.c - known-answer tests for stack/crypto.c.
 *
 * MPTCP vectors come from a Linux kernel MPTCP handshake (DESIGN/STYLE
 * docs); HMAC vectors from RFC 4231 §4.2, §4.3 and §4.7; the extra ADD_ADDR
 * vectors (with a port, IPv6) were cross-checked with Python's hmac module.
 */
#include "unit.h"

#include "addr.h"
#include "crypto.h"

#include <string.h>

#define KEY_A 0x2a0595489e8ba137ULL
#define KEY_B 0xe4680a1ad3cd8528ULL
#define RAND_A 0xc5f5677fU
#define RAND_B 0x59807218U

/* crypto_test_unhex decodes an even-length lowercase hex string into out. */
static size_t crypto_test_unhex(uint8_t *out, const char *hex)
{
	size_t n = 0;

	while (hex[0] != '\0' && hex[1] != '\0') {
		unsigned hi = (unsigned)(hex[0] <= '9' ? hex[0] - '0' : hex[0] - 'a' + 10);
		unsigned lo = (unsigned)(hex[1] <= '9' ? hex[1] - '0' : hex[1] - 'a' + 10);

		out[n++] = (uint8_t)(hi << 4 | lo);
		hex += 2;
	}
	return n;
}

static void test_crypto_init_is_idempotent(void)
{
	CU_ASSERT_EQUAL(mps_crypto_init(), 0);
	CU_ASSERT_EQUAL(mps_crypto_init(), 0);
}

static void test_sha256_known_answers(void)
{
	static const struct {
		const char *msg;
		const char *digest;
	} kat[] = {
	    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
	    {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
	};
	uint8_t want[32], got[32];
	size_t i;

	for (i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		crypto_test_unhex(want, kat[i].digest);
		mps_sha256(got, kat[i].msg, strlen(kat[i].msg));
		CU_ASSERT_EQUAL(memcmp(got, want, 32), 0);
	}
}

static void test_hmac_sha256_rfc4231_cases(void)
{
	uint8_t key_tc1[20], key_tc6[131];
	const struct {
		const uint8_t *key;
		size_t keylen;
		const char *msg;
		const char *mac;
	} kat[] = {
	    /* RFC 4231 §4.2, test case 1 */
	    {key_tc1, sizeof(key_tc1), "Hi There",
	     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"},
	    /* RFC 4231 §4.3, test case 2: a key shorter than the output */
	    {(const uint8_t *)"Jefe", 4, "what do ya want for nothing?",
	     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"},
	    /* RFC 4231 §4.7, test case 6: a key longer than the block */
	    {key_tc6, sizeof(key_tc6), "Test Using Larger Than Block-Size Key - Hash Key First",
	     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"},
	};
	uint8_t want[32], got[32];
	size_t i;

	memset(key_tc1, 0x0b, sizeof(key_tc1));
	memset(key_tc6, 0xaa, sizeof(key_tc6));
	for (i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		crypto_test_unhex(want, kat[i].mac);
		mps_hmac_sha256(got, kat[i].key, kat[i].keylen, kat[i].msg, strlen(kat[i].msg));
		CU_ASSERT_EQUAL_FATAL(memcmp(got, want, 32), 0);
	}
}

static void test_key_token_idsn_linux_vectors(void)
{
	static const struct {
		uint64_t key;
		uint32_t token;
		uint64_t idsn;
	} kat[] = {
	    {KEY_A, 0xcc960a2bU, 0x86b0cdd848783382ULL},
	    {KEY_B, 0xbe7b732cU, 0xca2fbced01898d41ULL},
	};
	size_t i;

	for (i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		uint32_t token = 0;
		uint64_t idsn = 0;

		mps_key_token_idsn(kat[i].key, &token, &idsn);
		CU_ASSERT_EQUAL(token, kat[i].token);
		CU_ASSERT_EQUAL(idsn, kat[i].idsn);
		CU_ASSERT_EQUAL(mps_key_token(kat[i].key), kat[i].token);
	}
}

static void test_key_token_idsn_accepts_null_outputs(void)
{
	uint32_t token = 0;
	uint64_t idsn = 0;

	mps_key_token_idsn(KEY_A, &token, NULL);
	CU_ASSERT_EQUAL(token, 0xcc960a2bU);
	mps_key_token_idsn(KEY_A, NULL, &idsn);
	CU_ASSERT_EQUAL(idsn, 0x86b0cdd848783382ULL);
	mps_key_token_idsn(KEY_A, NULL, NULL);
}

static void test_join_hmac64_linux_synack_vector(void)
{
	/* SYN-ACK from B: leftmost 64 bits of HMAC(KB‖KA, RB‖RA). */
	CU_ASSERT_EQUAL(mps_join_hmac64(KEY_B, KEY_A, RAND_B, RAND_A), 0xfbd7ce4d1188e461ULL);
	/* The order of keys and nonces matters. */
	CU_ASSERT_NOT_EQUAL(mps_join_hmac64(KEY_A, KEY_B, RAND_A, RAND_B), 0xfbd7ce4d1188e461ULL);
}

static void test_join_hmac160_linux_third_ack_vector(void)
{
	uint8_t want[20], got[20];

	/* Third ACK from A: leftmost 160 bits of HMAC(KA‖KB, RA‖RB). */
	crypto_test_unhex(want, "131a7be7fce6bafef7bfe33ec625d340d6782eb6");
	mps_join_hmac160(got, KEY_A, KEY_B, RAND_A, RAND_B);
	CU_ASSERT_TRUE(mps_ct_equal(got, want, sizeof(want)));
}

static void test_join_hmac64_is_prefix_of_hmac160(void)
{
	uint8_t mac[20];
	uint64_t v = 0;
	int i;

	mps_join_hmac160(mac, KEY_B, KEY_A, RAND_B, RAND_A);
	for (i = 0; i < 8; i++)
		v = v << 8 | mac[i];
	CU_ASSERT_EQUAL(v, mps_join_hmac64(KEY_B, KEY_A, RAND_B, RAND_A));
}

static void test_addaddr_hmac_vectors(void)
{
	static const struct {
		uint64_t k1, k2;
		uint8_t id;
		const char *addr;
		uint64_t mac;
	} kat[] = {
	    /* Linux vector: B announces 10.77.2.2 without a port. */
	    {KEY_B, KEY_A, 1, "10.77.2.2", 0x1518a1163aa8ea4fULL},
	    /* With a port (cross-checked with Python). */
	    {KEY_B, KEY_A, 3, "10.88.2.1:443", 0x018150eeb61a1c44ULL},
	    /* IPv6 with a port (cross-checked with Python). */
	    {KEY_A, KEY_B, 2, "[2001:db8::1]:8080", 0x823508d0ef310b1aULL},
	};
	size_t i;

	for (i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
		mps_addr a;

		CU_ASSERT_EQUAL_FATAL(mps_addr_parse(&a, kat[i].addr), 0);
		CU_ASSERT_EQUAL(mps_addaddr_hmac(kat[i].k1, kat[i].k2, kat[i].id, &a), kat[i].mac);
	}
}

static void test_ct_equal_compares_bytes(void)
{
	uint8_t a[33], b[33];

	memset(a, 0x5a, sizeof(a));
	memcpy(b, a, sizeof(b));
	CU_ASSERT_TRUE(mps_ct_equal(a, b, sizeof(a)));
	CU_ASSERT_TRUE(mps_ct_equal(a, b, 0));
	b[32] ^= 0x01;
	CU_ASSERT_FALSE(mps_ct_equal(a, b, sizeof(a)));
	CU_ASSERT_TRUE(mps_ct_equal(a, b, 32));
	b[32] = a[32];
	b[0] ^= 0x80;
	CU_ASSERT_FALSE(mps_ct_equal(a, b, sizeof(a)));
}

static void test_memzero_wipes(void)
{
	uint8_t buf[24];
	uint8_t zero[24] = {0};

	memset(buf, 0xff, sizeof(buf));
	mps_memzero(buf, sizeof(buf));
	CU_ASSERT_EQUAL(memcmp(buf, zero, sizeof(buf)), 0);
}

static void test_random_bytes_fills_buffer(void)
{
	uint8_t a[32], b[32];
	uint8_t zero[32] = {0};

	memset(a, 0, sizeof(a));
	memset(b, 0, sizeof(b));
	mps_random_bytes(a, sizeof(a));
	mps_random_bytes(b, sizeof(b));
	/* 2^-256 chances of a false failure. */
	CU_ASSERT_NOT_EQUAL(memcmp(a, zero, sizeof(a)), 0);
	CU_ASSERT_NOT_EQUAL(memcmp(a, b, sizeof(a)), 0);
}

static CU_TestInfo tests_crypto[] = {
    {"crypto_init_is_idempotent", test_crypto_init_is_idempotent},
    {"sha256_known_answers", test_sha256_known_answers},
    {"hmac_sha256_rfc4231_cases", test_hmac_sha256_rfc4231_cases},
    {"key_token_idsn_linux_vectors", test_key_token_idsn_linux_vectors},
    {"key_token_idsn_accepts_null_outputs", test_key_token_idsn_accepts_null_outputs},
    {"join_hmac64_linux_synack_vector", test_join_hmac64_linux_synack_vector},
    {"join_hmac160_linux_third_ack_vector", test_join_hmac160_linux_third_ack_vector},
    {"join_hmac64_is_prefix_of_hmac160", test_join_hmac64_is_prefix_of_hmac160},
    {"addaddr_hmac_vectors", test_addaddr_hmac_vectors},
    {"ct_equal_compares_bytes", test_ct_equal_compares_bytes},
    {"memzero_wipes", test_memzero_wipes},
    {"random_bytes_fills_buffer", test_random_bytes_fills_buffer},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(crypto, tests_crypto)
