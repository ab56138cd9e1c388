/*
 * pkt.h - IPv4/IPv6 + TCP packet codec, ICMP errors about TCP, checksums.
 *
 * mps_pkt_parse turns the bytes of one IP packet (as read from the TUN
 * device) into a mps_pkt whose pointers point into the caller's buffer; the
 * buffer must outlive the mps_pkt.  mps_pkt_build_tcp writes one complete IP
 * packet carrying a TCP segment.  Nothing here allocates, does I/O or keeps
 * state between calls.
 *
 * Checksums are the Internet checksum of RFC 1071, computed 64 bits at a
 * time.  Every 16-bit checksum value returned or stored here is a number
 * meant to be written big-endian on the wire (buf[0] = v >> 8, buf[1] = v).
 */
#ifndef MPS_PKT_H
#define MPS_PKT_H

#include "addr.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* TCP header flags (RFC 9293 §3.1, RFC 3168 §6.1 for ECE/CWR). */
#define MPS_TH_FIN 0x01
#define MPS_TH_SYN 0x02
#define MPS_TH_RST 0x04
#define MPS_TH_PSH 0x08
#define MPS_TH_ACK 0x10
#define MPS_TH_URG 0x20
#define MPS_TH_ECE 0x40
#define MPS_TH_CWR 0x80

/* IP protocol numbers we handle. */
#define MPS_IPPROTO_ICMP 1
#define MPS_IPPROTO_TCP 6
#define MPS_IPPROTO_ICMPV6 58

/* ICMP / ICMPv6 error types reported in mps_pkt.icmp_type. */
#define MPS_ICMP_UNREACH 3 /* RFC 792; code 4 = fragmentation needed */
#define MPS_ICMP_UNREACH_NEEDFRAG 4
#define MPS_ICMP_TIMXCEED 11
#define MPS_ICMPV6_UNREACH 1	/* RFC 4443 §3.1 */
#define MPS_ICMPV6_PKT_TOOBIG 2 /* RFC 4443 §3.2 */
#define MPS_ICMPV6_TIMXCEED 3	/* RFC 4443 §3.3 */

/* Fixed header sizes. */
#define MPS_IPV4_HDR_LEN 20
#define MPS_IPV6_HDR_LEN 40
#define MPS_TCP_HDR_LEN 20
#define MPS_TCP_OPT_MAX 40

/* One piece of a gathered payload (also defined by stack/iov.h: the guard
 * lets either header come first). */
#ifndef MPS_IOV_DEFINED
#define MPS_IOV_DEFINED
typedef struct mps_iov {
	const uint8_t *base;
	size_t len;
} mps_iov;
#endif

/* A parsed packet; pointers point into the caller's buffer. */
typedef struct mps_pkt {
	mps_addr src, dst; /* IPs, and ports from the TCP header */
	uint8_t proto;	   /* MPS_IPPROTO_* */
	uint8_t ttl;	   /* TTL / hop limit */
	uint32_t seq, ack;
	uint8_t flags;	 /* MPS_TH_* */
	uint16_t window; /* raw, unscaled */
	uint16_t urg;
	const uint8_t *opts; /* TCP option bytes */
	size_t optlen;
	const uint8_t *payload; /* TCP payload */
	size_t paylen;
	/*
	 * ICMP/ICMPv6 errors (dest unreachable, time exceeded, frag needed /
	 * packet too big): type, code, next-hop MTU if given (0 if not;
	 * clamped to 65535 for ICMPv6), and the quoted TCP packet's
	 * addresses/ports + seq.  The quoted packet is one we sent, so
	 * icmp_src is our address and icmp_dst the peer's.  src/dst above then
	 * hold the ICMP packet's own IP addresses, with port 0.
	 */
	uint8_t icmp_type, icmp_code;
	uint16_t icmp_mtu;
	mps_addr icmp_src, icmp_dst;
	uint32_t icmp_seq;
} mps_pkt;

/* Skip TCP and ICMP checksum verification (offload already did it).  The
 * IPv4 header checksum is always verified. */
#define MPS_PKT_NO_CSUM_CHECK 0x1

/*
 * mps_pkt_parse parses one IPv4 or IPv6 packet holding TCP or an
 * ICMP/ICMPv6 error about TCP.
 *   p      reset, then filled in; its pointers point into buf
 *   buf    the packet, starting at the IP header
 *   len    bytes in buf; bytes beyond the IP total length are ignored
 *   flags  MPS_PKT_NO_CSUM_CHECK or 0
 * Checks: IP version, header lengths, total length vs len, IPv4 header
 * checksum, TCP data offset, TCP checksum (pseudo-header included, RFC 9293
 * §3.1), ICMP checksum.  IPv6 hop-by-hop (first only), routing (segments
 * left 0 only) and destination-options headers are skipped (RFC 8200 §4).
 * Returns
 *   0                    a TCP segment (proto MPS_IPPROTO_TCP) or an ICMP
 *                        error quoting a TCP segment (proto ICMP/ICMPV6)
 *   MPS_ERR_MALFORMED    truncated or inconsistent lengths or fields
 *   MPS_ERR_CHECKSUM     IPv4 header, TCP or ICMP checksum mismatch
 *   MPS_ERR_UNSUPPORTED  another protocol, an ICMP type that is not an error
 *                        or that quotes something other than TCP, an IPv4
 *                        or IPv6 fragment, a routing header still routing,
 *                        IPv6 jumbograms, an IPv4 ICMP quoting a fragment
 */
int mps_pkt_parse(mps_pkt *p, const uint8_t *buf, size_t len, unsigned flags);

/* Description of one TCP segment to build. */
typedef struct mps_tcp_out {
	const mps_addr *src, *dst; /* families must match; ports used */
	uint32_t seq, ack;
	uint8_t flags; /* MPS_TH_* */
	uint16_t window;
	const uint8_t *opts; /* already padded to a multiple of 4, <= 40 */
	size_t optlen;
	const mps_iov *payload; /* payload gathered from up to niov pieces */
	int niov;
	uint8_t ttl; /* 0 -> 64 */
} mps_tcp_out;

/* Write only the pseudo-header sum in the TCP checksum field, folded and not
 * complemented (virtio-net VIRTIO_NET_HDR_F_NEEDS_CSUM: the device finishes
 * the sum from offset mps_pkt_hdr_len(), field at +16). */
#define MPS_PKT_PARTIAL_CSUM 0x1
/* Write the IP and TCP headers only (lengths still count the payload, which
 * the caller sends from where it lies: zero-copy).  Needs PARTIAL_CSUM. */
#define MPS_PKT_HDR_ONLY 0x2

/*
 * mps_pkt_build_tcp writes a full IPv4 (DF set, id 0, no IP options) or IPv6
 * (no extension headers, flow label 0) packet with a TCP segment into buf.
 *   buf, cap  the output buffer
 *   o         the segment; o->payload may be NULL when o->niov is 0
 *   flags     MPS_PKT_PARTIAL_CSUM, MPS_PKT_PARTIAL_CSUM | MPS_PKT_HDR_ONLY, or 0
 * Returns the total length of the packet (with HDR_ONLY, only that length
 * minus the payload is written), or
 *   MPS_ERR_NOBUF  cap is smaller than the packet
 *   MPS_ERR_INVAL  NULL or family-mismatched addresses, optlen > 40 or not
 *                  a multiple of 4, opts NULL with optlen > 0, niov < 0,
 *                  a NULL iov base with a length, packet over 65535 bytes
 */
int mps_pkt_build_tcp(uint8_t *buf, size_t cap, const mps_tcp_out *o, unsigned flags);

/* mps_pkt_hdr_len returns the IP header size we write: 20 for MPS_AF_INET,
 * 40 for MPS_AF_INET6, 0 for anything else. */
size_t mps_pkt_hdr_len(uint8_t family);

/*
 * Internet checksum helpers (RFC 1071), usable in pieces of any length: a
 * piece may end on an odd byte and the next continue from there.
 */
typedef struct mps_csum {
	uint32_t sum; /* running one's complement sum, big-endian words */
	bool odd;     /* an odd number of bytes has been added so far */
} mps_csum;

/* mps_csum_init starts an empty sum. */
void mps_csum_init(mps_csum *c);
/* mps_csum_add adds len bytes of data (any alignment) to the sum. */
void mps_csum_add(mps_csum *c, const void *data, size_t len);
/* mps_csum_finish returns the folded, complemented checksum.  Over data
 * that already holds a correct checksum field it returns 0. */
uint16_t mps_csum_finish(const mps_csum *c);

/*
 * mps_dss_csum computes the DSS checksum (RFC 8684 §3.3.1): the Internet
 * checksum over a pseudo-header (64-bit DSN, 32-bit subflow sequence number
 * relative to the subflow's initial sequence number, 16-bit data-level
 * length, 16 zero bits) followed by the mapped payload.
 *   dsn      the mapping's full 64-bit data sequence number
 *   ssn_rel  the relative subflow sequence number as carried in the DSS
 *   dll      the data-level length
 *   iov      the mapped payload in niov pieces (may be NULL if niov is 0)
 * Returns the checksum value as sent in the option (mps_opts.dss.csum).
 * A receiver verifies by comparing the result with the received value.
 */
uint16_t mps_dss_csum(uint64_t dsn, uint32_t ssn_rel, uint16_t dll, const mps_iov *iov, int niov);

#endif
