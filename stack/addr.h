/*
 * addr.h - an IPv4 or IPv6 address with a port, as the stack sees it.
 *
 * Addresses are kept in network byte order in ip[]; an IPv4 address uses
 * ip[0..3] and leaves the rest zero.  The port is in host byte order.
 */
#ifndef MPS_ADDR_H
#define MPS_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MPS_AF_INET 4
#define MPS_AF_INET6 6

typedef struct mps_addr {
	uint8_t family; /* MPS_AF_INET or MPS_AF_INET6, 0 = unset */
	uint8_t ip[16];
	uint16_t port; /* host byte order, 0 = none */
} mps_addr;

/* Longest text mps_addr_format writes, with the terminating NUL. */
#define MPS_ADDR_STRLEN 56

/* mps_addr_parse reads "1.2.3.4", "1.2.3.4:80", "::1", "[::1]:80".
 * Returns 0 or MPS_ERR_INVAL. */
int mps_addr_parse(mps_addr *out, const char *text);

/* mps_addr_format writes "1.2.3.4:80" or "[::1]:80" (no port part if 0). */
const char *mps_addr_format(const mps_addr *a, char buf[MPS_ADDR_STRLEN]);

/* Equality of family and IP only / of family, IP and port. */
bool mps_addr_ip_eq(const mps_addr *a, const mps_addr *b);
bool mps_addr_eq(const mps_addr *a, const mps_addr *b);

/* Build from raw network-order bytes. */
void mps_addr_set_v4(mps_addr *a, const uint8_t ip[4], uint16_t port);
void mps_addr_set_v6(mps_addr *a, const uint8_t ip[16], uint16_t port);

/* A 32-bit hash of the IP and port, for demux tables. */
uint32_t mps_addr_hash(const mps_addr *a, uint32_t seed);

#endif
