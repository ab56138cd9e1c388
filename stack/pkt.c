/*
 * pkt.c - IPv4/IPv6 + TCP packet codec, ICMP errors about TCP, checksums.
 *
 * Call chains:
 *   mps_pkt_parse() -> pkt_parse_v4() | pkt_parse_v6()
 *                   -> pkt_parse_tcp() | pkt_parse_icmp4() | pkt_parse_icmp6()
 *   mps_pkt_build_tcp() -> pkt_write_ip() -> payload gather -> checksum
 *
 * All multi-byte fields are read and written byte by byte (big-endian), so
 * the input buffer needs no alignment.  The checksum core loads 8 bytes at a
 * time with memcpy and sums them in native order; RFC 1071 §2(B) makes the
 * sum byte-order independent, so it is converted to big-endian once per call.
 */
#include "pkt.h"
#include "mps_err.h"

#include <string.h>

#define PKT_IPV6_NH_HOPOPTS 0
#define PKT_IPV6_NH_ROUTING 43
#define PKT_IPV6_NH_FRAGMENT 44
#define PKT_IPV6_NH_DSTOPTS 60

#define PKT_DEFAULT_TTL 64

static inline uint16_t pkt_get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t pkt_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline void pkt_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static inline void pkt_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

/* --- checksum ----------------------------------------------------------- */

/* One's complement add of two 64-bit values (end-around carry). */
static inline uint64_t csum_add64(uint64_t acc, uint64_t w)
{
	acc += w;
	return acc + (acc < w);
}

/*
 * csum_native sums len bytes as native-order 16-bit words and returns the
 * folded 16-bit sum in native order (its in-memory bytes are the sum's
 * big-endian bytes).  An odd final byte is padded with a zero byte after it.
 */
static uint16_t csum_native(const uint8_t *p, size_t len)
{
	uint64_t acc = 0, w0, w1, w2, w3;
	uint32_t w32;
	uint16_t w16;

	while (len >= 32) {
		memcpy(&w0, p, 8);
		memcpy(&w1, p + 8, 8);
		memcpy(&w2, p + 16, 8);
		memcpy(&w3, p + 24, 8);
		acc = csum_add64(acc, w0);
		acc = csum_add64(acc, w1);
		acc = csum_add64(acc, w2);
		acc = csum_add64(acc, w3);
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		memcpy(&w0, p, 8);
		acc = csum_add64(acc, w0);
		p += 8;
		len -= 8;
	}
	if (len >= 4) {
		memcpy(&w32, p, 4);
		acc = csum_add64(acc, w32);
		p += 4;
		len -= 4;
	}
	if (len >= 2) {
		memcpy(&w16, p, 2);
		acc = csum_add64(acc, w16);
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = {p[0], 0};

		memcpy(&w16, last, 2);
		acc = csum_add64(acc, w16);
	}
	/* Fold 64 -> 32 -> 16 bits, keeping end-around carries. */
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffffffu) + (acc >> 32);
	acc = (acc & 0xffffu) + (acc >> 16);
	acc = (acc & 0xffffu) + (acc >> 16);
	return (uint16_t)acc;
}

static inline uint16_t csum_swap16(uint16_t v)
{
	return (uint16_t)(v << 8 | v >> 8);
}

void mps_csum_init(mps_csum *c)
{
	c->sum = 0;
	c->odd = false;
}

void mps_csum_add(mps_csum *c, const void *data, size_t len)
{
	uint16_t native, v;
	uint8_t b[2];

	if (len == 0)
		return;
	native = csum_native(data, len);
	memcpy(b, &native, 2);
	v = pkt_get16(b);
	/* A piece that starts at an odd offset has its bytes in the other
	 * halves of the 16-bit words: swap its sum (RFC 1071 §2(B)). */
	if (c->odd)
		v = csum_swap16(v);
	c->sum += v;
	c->sum = (c->sum & 0xffffu) + (c->sum >> 16);
	if (len & 1)
		c->odd = !c->odd;
}

/* The folded sum, not complemented. */
static uint16_t csum_fold(const mps_csum *c)
{
	uint32_t s = c->sum;

	s = (s & 0xffffu) + (s >> 16);
	s = (s & 0xffffu) + (s >> 16);
	return (uint16_t)s;
}

uint16_t mps_csum_finish(const mps_csum *c)
{
	return (uint16_t)~csum_fold(c);
}

uint16_t mps_dss_csum(uint64_t dsn, uint32_t ssn_rel, uint16_t dll, const mps_iov *iov, int niov)
{
	uint8_t ph[16];
	mps_csum c;
	int i;

	/* RFC 8684 §3.3.1, Figure 10: DSN (8), subflow seq (4), data-level
	 * length (2), zeros (2). */
	pkt_put32(ph, (uint32_t)(dsn >> 32));
	pkt_put32(ph + 4, (uint32_t)dsn);
	pkt_put32(ph + 8, ssn_rel);
	pkt_put16(ph + 12, dll);
	pkt_put16(ph + 14, 0);
	mps_csum_init(&c);
	mps_csum_add(&c, ph, sizeof(ph));
	for (i = 0; i < niov; i++)
		mps_csum_add(&c, iov[i].base, iov[i].len);
	return mps_csum_finish(&c);
}

/* Start a sum with the TCP/ICMPv6 pseudo-header (RFC 9293 §3.1, RFC 8200
 * §8.1).  ip4/ip6 hold the two addresses in src, dst order. */
static void pkt_pseudo_v4(mps_csum *c, const uint8_t *src, const uint8_t *dst, uint8_t proto,
			  size_t len)
{
	uint8_t ph[12];

	memcpy(ph, src, 4);
	memcpy(ph + 4, dst, 4);
	ph[8] = 0;
	ph[9] = proto;
	pkt_put16(ph + 10, (uint16_t)len);
	mps_csum_init(c);
	mps_csum_add(c, ph, sizeof(ph));
}

static void pkt_pseudo_v6(mps_csum *c, const uint8_t *src, const uint8_t *dst, uint8_t proto,
			  size_t len)
{
	uint8_t ph[40];

	memcpy(ph, src, 16);
	memcpy(ph + 16, dst, 16);
	pkt_put32(ph + 32, (uint32_t)len);
	ph[36] = 0;
	ph[37] = 0;
	ph[38] = 0;
	ph[39] = proto;
	mps_csum_init(c);
	mps_csum_add(c, ph, sizeof(ph));
}

/* --- parse -------------------------------------------------------------- */

/* TCP header + checksum.  pseudo is the pseudo-header sum so far. */
static int pkt_parse_tcp(mps_pkt *p, const uint8_t *seg, size_t seglen, mps_csum *pseudo,
			 unsigned flags)
{
	size_t doff;

	if (seglen < MPS_TCP_HDR_LEN)
		return MPS_ERR_MALFORMED;
	doff = (size_t)(seg[12] >> 4) * 4;
	if (doff < MPS_TCP_HDR_LEN || doff > seglen)
		return MPS_ERR_MALFORMED;
	if (!(flags & MPS_PKT_NO_CSUM_CHECK)) {
		mps_csum_add(pseudo, seg, seglen);
		if (mps_csum_finish(pseudo) != 0)
			return MPS_ERR_CHECKSUM;
	}
	p->proto = MPS_IPPROTO_TCP;
	p->src.port = pkt_get16(seg);
	p->dst.port = pkt_get16(seg + 2);
	p->seq = pkt_get32(seg + 4);
	p->ack = pkt_get32(seg + 8);
	p->flags = seg[13];
	p->window = pkt_get16(seg + 14);
	p->urg = pkt_get16(seg + 18);
	p->opts = seg + MPS_TCP_HDR_LEN;
	p->optlen = doff - MPS_TCP_HDR_LEN;
	p->payload = seg + doff;
	p->paylen = seglen - doff;
	return 0;
}

/* The first 8 bytes of a quoted TCP header: ports and sequence number
 * (RFC 792 and RFC 4443 §2.4(c) guarantee at least that much). */
static int pkt_quoted_tcp(mps_pkt *p, const uint8_t *th, size_t len)
{
	if (len < 8)
		return MPS_ERR_MALFORMED;
	p->icmp_src.port = pkt_get16(th);
	p->icmp_dst.port = pkt_get16(th + 2);
	p->icmp_seq = pkt_get32(th + 4);
	return 0;
}

static int pkt_parse_icmp4(mps_pkt *p, const uint8_t *icmp, size_t len, unsigned flags)
{
	const uint8_t *q;
	size_t qlen, qihl;
	mps_csum c;

	if (len < 8)
		return MPS_ERR_MALFORMED;
	if (icmp[0] != MPS_ICMP_UNREACH && icmp[0] != MPS_ICMP_TIMXCEED)
		return MPS_ERR_UNSUPPORTED;
	if (!(flags & MPS_PKT_NO_CSUM_CHECK)) {
		mps_csum_init(&c);
		mps_csum_add(&c, icmp, len);
		if (mps_csum_finish(&c) != 0)
			return MPS_ERR_CHECKSUM;
	}
	/* The quoted IP header and at least 8 bytes of its payload. */
	q = icmp + 8;
	qlen = len - 8;
	if (qlen < MPS_IPV4_HDR_LEN || q[0] >> 4 != 4)
		return MPS_ERR_MALFORMED;
	qihl = (size_t)(q[0] & 0x0f) * 4;
	if (qihl < MPS_IPV4_HDR_LEN || qihl > qlen)
		return MPS_ERR_MALFORMED;
	if (q[9] != MPS_IPPROTO_TCP)
		return MPS_ERR_UNSUPPORTED;
	/* A non-first fragment quotes no TCP header. */
	if (pkt_get16(q + 6) & 0x1fff)
		return MPS_ERR_UNSUPPORTED;
	mps_addr_set_v4(&p->icmp_src, q + 12, 0);
	mps_addr_set_v4(&p->icmp_dst, q + 16, 0);
	if (pkt_quoted_tcp(p, q + qihl, qlen - qihl) != 0)
		return MPS_ERR_MALFORMED;
	p->proto = MPS_IPPROTO_ICMP;
	p->icmp_type = icmp[0];
	p->icmp_code = icmp[1];
	/* RFC 1191 §4: next-hop MTU in the low 16 bits of the unused word. */
	if (icmp[0] == MPS_ICMP_UNREACH && icmp[1] == MPS_ICMP_UNREACH_NEEDFRAG)
		p->icmp_mtu = pkt_get16(icmp + 6);
	return 0;
}

static int pkt_parse_v4(mps_pkt *p, const uint8_t *buf, size_t len, unsigned flags)
{
	size_t ihl, tot;
	mps_csum c;

	if (len < MPS_IPV4_HDR_LEN)
		return MPS_ERR_MALFORMED;
	ihl = (size_t)(buf[0] & 0x0f) * 4;
	tot = pkt_get16(buf + 2);
	if (ihl < MPS_IPV4_HDR_LEN || tot < ihl || tot > len)
		return MPS_ERR_MALFORMED;
	mps_csum_init(&c);
	mps_csum_add(&c, buf, ihl);
	if (mps_csum_finish(&c) != 0)
		return MPS_ERR_CHECKSUM;
	/* MF set or a fragment offset: we do no reassembly (DF is set on all
	 * we send, RFC 1191). */
	if (pkt_get16(buf + 6) & 0x3fff)
		return MPS_ERR_UNSUPPORTED;
	mps_addr_set_v4(&p->src, buf + 12, 0);
	mps_addr_set_v4(&p->dst, buf + 16, 0);
	p->ttl = buf[8];
	switch (buf[9]) {
	case MPS_IPPROTO_TCP:
		pkt_pseudo_v4(&c, buf + 12, buf + 16, MPS_IPPROTO_TCP, tot - ihl);
		return pkt_parse_tcp(p, buf + ihl, tot - ihl, &c, flags);
	case MPS_IPPROTO_ICMP:
		return pkt_parse_icmp4(p, buf + ihl, tot - ihl, flags);
	default:
		return MPS_ERR_UNSUPPORTED;
	}
}

/*
 * pkt_v6_skip walks the extension headers of the IPv6 packet in buf[0..len)
 * (RFC 8200 §4): hop-by-hop (only first), routing with segments left 0 and
 * destination options are skipped; a fragment header is refused.  On
 * return *nh is the upper-layer protocol and *off its offset.
 */
static int pkt_v6_skip(const uint8_t *buf, size_t len, uint8_t *nh, size_t *off)
{
	uint8_t next = buf[6];
	size_t o = MPS_IPV6_HDR_LEN, hl;

	for (;;) {
		switch (next) {
		case PKT_IPV6_NH_HOPOPTS:
			/* RFC 8200 §4.1: only right after the IPv6 header. */
			if (o != MPS_IPV6_HDR_LEN)
				return MPS_ERR_MALFORMED;
			break;
		case PKT_IPV6_NH_ROUTING:
			if (o + 4 > len)
				return MPS_ERR_MALFORMED;
			/* Segments left != 0: this packet is not for us yet. */
			if (buf[o + 3] != 0)
				return MPS_ERR_UNSUPPORTED;
			break;
		case PKT_IPV6_NH_DSTOPTS:
			break;
		case PKT_IPV6_NH_FRAGMENT:
			return MPS_ERR_UNSUPPORTED;
		default:
			*nh = next;
			*off = o;
			return 0;
		}
		if (o + 2 > len)
			return MPS_ERR_MALFORMED;
		hl = ((size_t)buf[o + 1] + 1) * 8;
		if (hl > len - o)
			return MPS_ERR_MALFORMED;
		next = buf[o];
		o += hl;
	}
}

static int pkt_parse_icmp6(mps_pkt *p, const uint8_t *ip, const uint8_t *icmp, size_t len,
			   unsigned flags)
{
	const uint8_t *q;
	size_t qlen, qoff;
	uint32_t mtu;
	uint8_t qnh;
	mps_csum c;
	int rc;

	if (len < 8)
		return MPS_ERR_MALFORMED;
	if (icmp[0] != MPS_ICMPV6_UNREACH && icmp[0] != MPS_ICMPV6_PKT_TOOBIG &&
	    icmp[0] != MPS_ICMPV6_TIMXCEED)
		return MPS_ERR_UNSUPPORTED;
	if (!(flags & MPS_PKT_NO_CSUM_CHECK)) {
		/* RFC 4443 §2.3: the checksum includes a pseudo-header. */
		pkt_pseudo_v6(&c, ip + 8, ip + 24, MPS_IPPROTO_ICMPV6, len);
		mps_csum_add(&c, icmp, len);
		if (mps_csum_finish(&c) != 0)
			return MPS_ERR_CHECKSUM;
	}
	q = icmp + 8;
	qlen = len - 8;
	if (qlen < MPS_IPV6_HDR_LEN || q[0] >> 4 != 6)
		return MPS_ERR_MALFORMED;
	rc = pkt_v6_skip(q, qlen, &qnh, &qoff);
	if (rc != 0)
		return rc;
	if (qnh != MPS_IPPROTO_TCP)
		return MPS_ERR_UNSUPPORTED;
	mps_addr_set_v6(&p->icmp_src, q + 8, 0);
	mps_addr_set_v6(&p->icmp_dst, q + 24, 0);
	if (pkt_quoted_tcp(p, q + qoff, qlen - qoff) != 0)
		return MPS_ERR_MALFORMED;
	p->proto = MPS_IPPROTO_ICMPV6;
	p->icmp_type = icmp[0];
	p->icmp_code = icmp[1];
	if (icmp[0] == MPS_ICMPV6_PKT_TOOBIG) {
		mtu = pkt_get32(icmp + 4);
		p->icmp_mtu = mtu > 0xffff ? 0xffff : (uint16_t)mtu;
	}
	return 0;
}

static int pkt_parse_v6(mps_pkt *p, const uint8_t *buf, size_t len, unsigned flags)
{
	size_t plen, tot, off;
	uint8_t nh;
	mps_csum c;
	int rc;

	if (len < MPS_IPV6_HDR_LEN)
		return MPS_ERR_MALFORMED;
	plen = pkt_get16(buf + 4);
	/* Payload length 0 means a jumbogram (RFC 2675) or nothing at all. */
	if (plen == 0)
		return MPS_ERR_UNSUPPORTED;
	tot = MPS_IPV6_HDR_LEN + plen;
	if (tot > len)
		return MPS_ERR_MALFORMED;
	rc = pkt_v6_skip(buf, tot, &nh, &off);
	if (rc != 0)
		return rc;
	mps_addr_set_v6(&p->src, buf + 8, 0);
	mps_addr_set_v6(&p->dst, buf + 24, 0);
	p->ttl = buf[7];
	switch (nh) {
	case MPS_IPPROTO_TCP:
		pkt_pseudo_v6(&c, buf + 8, buf + 24, MPS_IPPROTO_TCP, tot - off);
		return pkt_parse_tcp(p, buf + off, tot - off, &c, flags);
	case MPS_IPPROTO_ICMPV6:
		return pkt_parse_icmp6(p, buf, buf + off, tot - off, flags);
	default:
		return MPS_ERR_UNSUPPORTED;
	}
}

int mps_pkt_parse(mps_pkt *p, const uint8_t *buf, size_t len, unsigned flags)
{
	int rc;

	memset(p, 0, sizeof(*p));
	if (buf == NULL || len == 0)
		return MPS_ERR_MALFORMED;
	switch (buf[0] >> 4) {
	case 4:
		rc = pkt_parse_v4(p, buf, len, flags);
		break;
	case 6:
		rc = pkt_parse_v6(p, buf, len, flags);
		break;
	default:
		return MPS_ERR_MALFORMED;
	}
	if (rc != 0)
		memset(p, 0, sizeof(*p));
	return rc;
}

/* --- build -------------------------------------------------------------- */

size_t mps_pkt_hdr_len(uint8_t family)
{
	switch (family) {
	case MPS_AF_INET:
		return MPS_IPV4_HDR_LEN;
	case MPS_AF_INET6:
		return MPS_IPV6_HDR_LEN;
	default:
		return 0;
	}
}

/* Write the IP header for a TCP segment of tcplen bytes. */
static void pkt_write_ip(uint8_t *buf, const mps_tcp_out *o, size_t tcplen)
{
	uint8_t ttl = o->ttl ? o->ttl : PKT_DEFAULT_TTL;
	mps_csum c;

	if (o->src->family == MPS_AF_INET) {
		buf[0] = 0x45;
		buf[1] = 0;
		pkt_put16(buf + 2, (uint16_t)(MPS_IPV4_HDR_LEN + tcplen));
		pkt_put16(buf + 4, 0);	    /* id 0: DF set, RFC 6864 §4.1 */
		pkt_put16(buf + 6, 0x4000); /* DF */
		buf[8] = ttl;
		buf[9] = MPS_IPPROTO_TCP;
		pkt_put16(buf + 10, 0);
		memcpy(buf + 12, o->src->ip, 4);
		memcpy(buf + 16, o->dst->ip, 4);
		mps_csum_init(&c);
		mps_csum_add(&c, buf, MPS_IPV4_HDR_LEN);
		pkt_put16(buf + 10, mps_csum_finish(&c));
	} else {
		pkt_put32(buf, 0x60000000u);
		pkt_put16(buf + 4, (uint16_t)tcplen);
		buf[6] = MPS_IPPROTO_TCP;
		buf[7] = ttl;
		memcpy(buf + 8, o->src->ip, 16);
		memcpy(buf + 24, o->dst->ip, 16);
	}
}

int mps_pkt_build_tcp(uint8_t *buf, size_t cap, const mps_tcp_out *o, unsigned flags)
{
	size_t hl, paylen = 0, tcplen, total, off;
	uint8_t *th;
	mps_csum c;
	int i;

	if (o == NULL || o->src == NULL || o->dst == NULL || o->src->family != o->dst->family)
		return MPS_ERR_INVAL;
	hl = mps_pkt_hdr_len(o->src->family);
	if (hl == 0)
		return MPS_ERR_INVAL;
	if (o->optlen > MPS_TCP_OPT_MAX || (o->optlen & 3) || (o->optlen && o->opts == NULL))
		return MPS_ERR_INVAL;
	if (o->niov < 0 || (o->niov > 0 && o->payload == NULL))
		return MPS_ERR_INVAL;
	for (i = 0; i < o->niov; i++) {
		if (o->payload[i].len && o->payload[i].base == NULL)
			return MPS_ERR_INVAL;
		if (o->payload[i].len > 0xffff)
			return MPS_ERR_INVAL;
		paylen += o->payload[i].len;
		if (paylen > 0xffff)
			return MPS_ERR_INVAL;
	}
	tcplen = MPS_TCP_HDR_LEN + o->optlen + paylen;
	/* IPv4 total length / IPv6 payload length are 16-bit fields. */
	if ((o->src->family == MPS_AF_INET ? hl + tcplen : tcplen) > 0xffff)
		return MPS_ERR_INVAL;
	total = hl + tcplen;
	if ((flags & MPS_PKT_HDR_ONLY) && !(flags & MPS_PKT_PARTIAL_CSUM))
		return MPS_ERR_INVAL; /* a full checksum needs the payload here */
	if (buf == NULL || cap < ((flags & MPS_PKT_HDR_ONLY) ? total - paylen : total))
		return MPS_ERR_NOBUF;

	pkt_write_ip(buf, o, tcplen);
	th = buf + hl;
	pkt_put16(th, o->src->port);
	pkt_put16(th + 2, o->dst->port);
	pkt_put32(th + 4, o->seq);
	pkt_put32(th + 8, o->ack);
	th[12] = (uint8_t)(((MPS_TCP_HDR_LEN + o->optlen) / 4) << 4);
	th[13] = o->flags;
	pkt_put16(th + 14, o->window);
	pkt_put16(th + 16, 0);
	pkt_put16(th + 18, 0);
	if (o->optlen)
		memcpy(th + MPS_TCP_HDR_LEN, o->opts, o->optlen);
	off = MPS_TCP_HDR_LEN + o->optlen;
	for (i = 0; i < o->niov && !(flags & MPS_PKT_HDR_ONLY); i++) {
		if (o->payload[i].len)
			memcpy(th + off, o->payload[i].base, o->payload[i].len);
		off += o->payload[i].len;
	}

	if (o->src->family == MPS_AF_INET)
		pkt_pseudo_v4(&c, o->src->ip, o->dst->ip, MPS_IPPROTO_TCP, tcplen);
	else
		pkt_pseudo_v6(&c, o->src->ip, o->dst->ip, MPS_IPPROTO_TCP, tcplen);
	if (flags & MPS_PKT_PARTIAL_CSUM) {
		pkt_put16(th + 16, csum_fold(&c));
	} else {
		mps_csum_add(&c, th, tcplen);
		pkt_put16(th + 16, mps_csum_finish(&c));
	}
	return (int)total;
}
