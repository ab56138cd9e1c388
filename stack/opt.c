/*
 * opt.c - TCP options and MPTCP suboptions: parse into mps_opts, size,
 * write.
 *
 * Call chains:
 *   mps_opt_parse() -> opt_parse_tcp() | opt_parse_mptcp() -> opt_parse_<sub>()
 *   mps_opt_size()  -> mps_opt_len() per present bit
 *   mps_opt_write() -> mps_opt_size() -> opt_write_one() per present bit
 *
 * Parsers of one suboption check its length first and only then write
 * their part of mps_opts; they return false for a bad suboption, which the
 * caller records in o->malformed.
 */
#include "opt.h"
#include "mps_err.h"
#include "pkt.h"

#include <string.h>

#define OPT_LEN_MSS 4
#define OPT_LEN_WSCALE 3
#define OPT_LEN_SACK_PERM 2
#define OPT_LEN_TS 10
#define OPT_WSCALE_MAX 14 /* RFC 7323 §2.3 */

/* MPTCP suboption header: kind, length, subtype << 4 | low nibble. */
#define OPT_MP_HDR 3

/* DSS flags (RFC 8684 §3.3, Figure 9). */
#define OPT_DSS_A 0x01 /* DATA_ACK present */
#define OPT_DSS_a 0x02 /* DATA_ACK is 8 octets */
#define OPT_DSS_M 0x04 /* mapping present */
#define OPT_DSS_m 0x08 /* DSN is 8 octets */
#define OPT_DSS_F 0x10 /* DATA_FIN */

/* Marks a parser's returned bit as malformed. */
#define OPT_BAD 0x80000000u

#define OPT_ADD_ADDR_E 0x01 /* echo (RFC 8684 §3.4.1) */
#define OPT_BACKUP 0x01	    /* B bit of MP_JOIN and MP_PRIO */

/* Every option bit, in write order.  MP_EXPERIMENTAL comes last: Wireshark
 * 4.0's MPTCP analysis asserts on a SYN-ACK whose MP_EXPERIMENTAL precedes
 * MP_CAPABLE (doc/protocol.md, "Wireshark"); RFC 8684 peers don't care. */
static const uint32_t opt_order[] = {
    MPS_OPT_MSS,  MPS_OPT_SACK_PERM, MPS_OPT_TS,	MPS_OPT_WSCALE,	  MPS_OPT_SACK,
    MPS_OPT_MPC,  MPS_OPT_JOIN,	     MPS_OPT_DSS,	MPS_OPT_ADD_ADDR, MPS_OPT_RM_ADDR,
    MPS_OPT_PRIO, MPS_OPT_FAIL,	     MPS_OPT_FASTCLOSE, MPS_OPT_TCPRST,	  MPS_OPT_EXP,
};

#define OPT_ALL_BITS (MPS_OPT_TCP_ANY | MPS_OPT_MPTCP_ANY)

static inline uint16_t opt_get16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

static inline uint32_t opt_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static inline uint64_t opt_get64(const uint8_t *p)
{
	return (uint64_t)opt_get32(p) << 32 | opt_get32(p + 4);
}

static inline uint8_t *opt_put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
	return p + 2;
}

static inline uint8_t *opt_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
	return p + 4;
}

static inline uint8_t *opt_put64(uint8_t *p, uint64_t v)
{
	opt_put32(p, (uint32_t)(v >> 32));
	return opt_put32(p + 4, (uint32_t)v);
}

/* --- parse: plain TCP options ------------------------------------------- */

/* The MPS_OPT_* bit of a TCP option kind, 0 if we do not parse it. */
static uint32_t opt_tcp_bit(uint8_t kind)
{
	switch (kind) {
	case MPS_TCPOPT_MSS:
		return MPS_OPT_MSS;
	case MPS_TCPOPT_WSCALE:
		return MPS_OPT_WSCALE;
	case MPS_TCPOPT_SACK_PERM:
		return MPS_OPT_SACK_PERM;
	case MPS_TCPOPT_TS:
		return MPS_OPT_TS;
	case MPS_TCPOPT_SACK:
		return MPS_OPT_SACK;
	default:
		return 0;
	}
}

/* One TCP option (not MPTCP) of length len at b.  Returns the MPS_OPT_* bit
 * it fills, 0 to ignore it, or the bit | OPT_BAD when malformed. */
static uint32_t opt_parse_tcp(mps_opts *o, const uint8_t *b, size_t len, bool syn)
{
	size_t i, n;

	switch (b[0]) {
	case MPS_TCPOPT_MSS: /* RFC 9293 §3.2: only in SYN segments */
		if (!syn)
			return 0;
		if (len != OPT_LEN_MSS)
			return MPS_OPT_MSS | OPT_BAD;
		o->mss = opt_get16(b + 2);
		return MPS_OPT_MSS;
	case MPS_TCPOPT_WSCALE: /* RFC 7323 §2.2: only in SYN segments */
		if (!syn)
			return 0;
		if (len != OPT_LEN_WSCALE)
			return MPS_OPT_WSCALE | OPT_BAD;
		o->wscale = b[2] > OPT_WSCALE_MAX ? OPT_WSCALE_MAX : b[2];
		return MPS_OPT_WSCALE;
	case MPS_TCPOPT_SACK_PERM: /* RFC 2018 §2: only in SYN segments */
		if (!syn)
			return 0;
		if (len != OPT_LEN_SACK_PERM)
			return MPS_OPT_SACK_PERM | OPT_BAD;
		return MPS_OPT_SACK_PERM;
	case MPS_TCPOPT_TS:
		if (len != OPT_LEN_TS)
			return MPS_OPT_TS | OPT_BAD;
		o->ts_val = opt_get32(b + 2);
		o->ts_ecr = opt_get32(b + 6);
		return MPS_OPT_TS;
	case MPS_TCPOPT_SACK: /* RFC 2018 §3: 2 + 8n bytes */
		if (len < 10 || (len - 2) % 8 != 0 || (len - 2) / 8 > MPS_SACK_MAX)
			return MPS_OPT_SACK | OPT_BAD;
		n = (len - 2) / 8;
		for (i = 0; i < n; i++) {
			o->sack[i].left = opt_get32(b + 2 + 8 * i);
			o->sack[i].right = opt_get32(b + 6 + 8 * i);
		}
		o->nsack = (uint8_t)n;
		return MPS_OPT_SACK;
	default:
		return 0;
	}
}

/* --- parse: MPTCP suboptions -------------------------------------------- */

/* MP_CAPABLE, RFC 8684 §3.1 (Figure 4). */
static bool opt_parse_mpc(mps_opts *o, const uint8_t *b, size_t len, uint8_t tf)
{
	uint8_t version = b[2] & 0x0f;
	bool syn = tf & MPS_TH_SYN, ack = tf & MPS_TH_ACK;
	uint8_t nkeys;

	if (len < 4)
		return false;
	if (syn && !ack) {
		if (len == MPS_MPC_LEN_SYN)
			nkeys = 0;
		else if (len == MPS_MPC_LEN_SYNACK && version != 1)
			nkeys = 1; /* v0 (RFC 6824) SYN carries the key */
		else
			return false;
	} else if (syn) {
		if (len != MPS_MPC_LEN_SYNACK)
			return false;
		nkeys = 1;
	} else {
		if (len != MPS_MPC_LEN_ACK && len != MPS_MPC_LEN_DATA &&
		    len != MPS_MPC_LEN_DATA_CSUM)
			return false;
		nkeys = 2;
	}
	o->mpc.version = version;
	o->mpc.flags = b[3];
	o->mpc.nkeys = nkeys;
	if (nkeys >= 1)
		o->mpc.key_sender = opt_get64(b + 4);
	if (nkeys == 2)
		o->mpc.key_receiver = opt_get64(b + 12);
	if (len >= MPS_MPC_LEN_DATA) {
		o->mpc.has_dll = true;
		o->mpc.dll = opt_get16(b + 20);
	}
	if (len == MPS_MPC_LEN_DATA_CSUM) {
		o->mpc.has_csum = true;
		o->mpc.csum = opt_get16(b + 22);
	}
	return true;
}

/* MP_JOIN, RFC 8684 §3.2 (Figures 5, 6, 7): the form follows from the
 * length, which must match the segment type. */
static bool opt_parse_join(mps_opts *o, const uint8_t *b, size_t len, uint8_t tf)
{
	bool syn = tf & MPS_TH_SYN, ack = tf & MPS_TH_ACK;

	if (syn && !ack && len == MPS_JOIN_LEN_SYN) {
		o->join.form = MPS_JOIN_SYN;
		o->join.token = opt_get32(b + 4);
		o->join.nonce = opt_get32(b + 8);
	} else if (syn && ack && len == MPS_JOIN_LEN_SYNACK) {
		o->join.form = MPS_JOIN_SYNACK;
		o->join.hmac64 = opt_get64(b + 4);
		o->join.nonce = opt_get32(b + 12);
	} else if (!syn && len == MPS_JOIN_LEN_ACK) {
		o->join.form = MPS_JOIN_ACK;
		memcpy(o->join.hmac160, b + 4, sizeof(o->join.hmac160));
		return true;
	} else {
		return false;
	}
	o->join.backup = b[2] & OPT_BACKUP;
	o->join.addr_id = b[3];
	return true;
}

/* DSS, RFC 8684 §3.3 (Figure 9): the flags decide the field sizes; a
 * checksum is present when the length has 2 more bytes and a mapping. */
static bool opt_parse_dss(mps_opts *o, const uint8_t *b, size_t len)
{
	uint8_t fl;
	size_t want = 4, i = 4;
	bool has_ack, ack64, has_map, map64;

	if (len < 4)
		return false;
	fl = b[3];
	has_ack = fl & OPT_DSS_A;
	ack64 = has_ack && (fl & OPT_DSS_a);
	has_map = fl & OPT_DSS_M;
	map64 = has_map && (fl & OPT_DSS_m);
	if (has_ack)
		want += ack64 ? 8u : 4u;
	if (has_map)
		want += (map64 ? 8u : 4u) + 4 + 2;
	if (len != want && !(has_map && len == want + 2))
		return false;
	o->dss.has_ack = has_ack;
	o->dss.ack64 = ack64;
	o->dss.has_map = has_map;
	o->dss.map64 = map64;
	o->dss.fin = fl & OPT_DSS_F;
	if (has_ack) {
		o->dss.data_ack = ack64 ? opt_get64(b + i) : opt_get32(b + i);
		i += ack64 ? 8 : 4;
	}
	if (has_map) {
		o->dss.dsn = map64 ? opt_get64(b + i) : opt_get32(b + i);
		i += map64 ? 8 : 4;
		o->dss.ssn = opt_get32(b + i);
		o->dss.dll = opt_get16(b + i + 4);
		i += 6;
		if (len == want + 2) {
			o->dss.has_csum = true;
			o->dss.csum = opt_get16(b + i);
		}
	}
	return true;
}

/* ADD_ADDR v1, RFC 8684 §3.4.1 (Figure 15): the family and the port's
 * presence follow from the length; the HMAC is absent in an echo. */
static bool opt_parse_add_addr(mps_opts *o, const uint8_t *b, size_t len)
{
	bool echo = b[2] & OPT_ADD_ADDR_E;
	size_t base = 4 + (echo ? 0 : 8), alen;
	const uint8_t *a = b + 4;

	if (len < base)
		return false;
	switch (len - base) {
	case 4:
	case 6:
		alen = 4;
		mps_addr_set_v4(&o->add_addr.addr, a, 0);
		break;
	case 16:
	case 18:
		alen = 16;
		mps_addr_set_v6(&o->add_addr.addr, a, 0);
		break;
	default:
		return false;
	}
	o->add_addr.echo = echo;
	o->add_addr.id = b[3];
	if (len - base == alen + 2) {
		o->add_addr.has_port = true;
		o->add_addr.addr.port = opt_get16(a + alen);
		alen += 2;
	}
	if (!echo) {
		o->add_addr.has_hmac = true;
		o->add_addr.hmac = opt_get64(a + alen);
	}
	return true;
}

/* One MPTCP option (kind 30) of length len at b.  Returns its bit, 0 to
 * ignore it, or the bit | OPT_BAD. */
static uint32_t opt_parse_mptcp(mps_opts *o, const uint8_t *b, size_t len, uint8_t tf,
				uint32_t seen)
{
	uint32_t bit;
	bool ok;
	size_t n;

	if (len < OPT_MP_HDR)
		return 0; /* no subtype to blame */
	switch (b[2] >> 4) {
	case MPS_SUB_CAPABLE:
		bit = MPS_OPT_MPC;
		break;
	case MPS_SUB_JOIN:
		bit = MPS_OPT_JOIN;
		break;
	case MPS_SUB_DSS:
		bit = MPS_OPT_DSS;
		break;
	case MPS_SUB_ADD_ADDR:
		bit = MPS_OPT_ADD_ADDR;
		break;
	case MPS_SUB_REMOVE_ADDR:
		bit = MPS_OPT_RM_ADDR;
		break;
	case MPS_SUB_PRIO:
		bit = MPS_OPT_PRIO;
		break;
	case MPS_SUB_FAIL:
		bit = MPS_OPT_FAIL;
		break;
	case MPS_SUB_FASTCLOSE:
		bit = MPS_OPT_FASTCLOSE;
		break;
	case MPS_SUB_TCPRST:
		bit = MPS_OPT_TCPRST;
		break;
	case MPS_SUB_EXPERIMENTAL:
		bit = MPS_OPT_EXP;
		break;
	default:
		return 0;
	}
	if (seen & bit)
		return 0; /* first one wins */

	switch (bit) {
	case MPS_OPT_MPC:
		ok = opt_parse_mpc(o, b, len, tf);
		break;
	case MPS_OPT_JOIN:
		ok = opt_parse_join(o, b, len, tf);
		break;
	case MPS_OPT_DSS:
		ok = opt_parse_dss(o, b, len);
		break;
	case MPS_OPT_ADD_ADDR:
		ok = opt_parse_add_addr(o, b, len);
		break;
	case MPS_OPT_RM_ADDR: /* §3.4.2: 3 + n address ids */
		n = len - OPT_MP_HDR;
		ok = n >= 1 && n <= MPS_RM_ADDR_MAX;
		if (ok) {
			o->rm_addr.n = (uint8_t)n;
			memcpy(o->rm_addr.ids, b + OPT_MP_HDR, n);
		}
		break;
	case MPS_OPT_PRIO: /* §3.3.8: length 3; 4 carries an address id */
		ok = len == 3 || len == 4;
		if (ok) {
			o->prio.backup = b[2] & OPT_BACKUP;
			o->prio.has_id = len == 4;
			o->prio.id = len == 4 ? b[3] : 0;
		}
		break;
	case MPS_OPT_FAIL: /* §3.7: 64-bit DSN after 12 reserved bits */
		ok = len == 12;
		if (ok)
			o->fail.dsn = opt_get64(b + 4);
		break;
	case MPS_OPT_FASTCLOSE: /* §3.5: the receiver's 64-bit key */
		ok = len == 12;
		if (ok)
			o->fastclose.key = opt_get64(b + 4);
		break;
	case MPS_OPT_TCPRST: /* §3.6: flags U V W T, reason */
		ok = len == 4;
		if (ok) {
			o->tcprst.flags = b[2] & 0x0f;
			o->tcprst.reason = b[3];
		}
		break;
	default: /* MPS_OPT_EXP */
		n = len - OPT_MP_HDR;
		ok = n <= MPS_OPT_EXP_MAX;
		if (ok) {
			o->exp.len = (uint8_t)n;
			o->exp.nibble = b[2] & 0x0f;
			memcpy(o->exp.data, b + OPT_MP_HDR, n);
		}
		break;
	}
	return ok ? bit : bit | OPT_BAD;
}

/* Undo the partial writes of a suboption found bad. */
static void opt_clear(mps_opts *o, uint32_t bit)
{
	switch (bit) {
	case MPS_OPT_MPC:
		memset(&o->mpc, 0, sizeof(o->mpc));
		break;
	case MPS_OPT_JOIN:
		memset(&o->join, 0, sizeof(o->join));
		break;
	case MPS_OPT_DSS:
		memset(&o->dss, 0, sizeof(o->dss));
		break;
	case MPS_OPT_ADD_ADDR:
		memset(&o->add_addr, 0, sizeof(o->add_addr));
		break;
	default:
		break; /* the others write nothing before their check */
	}
}

int mps_opt_parse(mps_opts *o, const uint8_t *buf, size_t len, uint8_t tcp_flags)
{
	bool syn = tcp_flags & MPS_TH_SYN;
	size_t i = 0, olen;
	uint32_t r, bit;

	memset(o, 0, sizeof(*o));
	while (i < len) {
		if (buf[i] == MPS_TCPOPT_EOL)
			break;
		if (buf[i] == MPS_TCPOPT_NOP) {
			i++;
			continue;
		}
		/* RFC 9293 §3.1: kind, length (counting both), data. */
		if (len - i < 2)
			goto broken;
		olen = buf[i + 1];
		if (olen < 2 || olen > len - i)
			goto broken;
		if (buf[i] == MPS_MPTCP_KIND) {
			r = opt_parse_mptcp(o, buf + i, olen, tcp_flags, o->present | o->malformed);
		} else {
			/* First wins for TCP options too. */
			if (opt_tcp_bit(buf[i]) & (o->present | o->malformed))
				r = 0;
			else
				r = opt_parse_tcp(o, buf + i, olen, syn);
		}
		bit = r & ~OPT_BAD;
		if (r & OPT_BAD) {
			opt_clear(o, bit);
			o->malformed |= bit;
		} else {
			o->present |= bit;
		}
		i += olen;
	}
	return 0;
broken:
	memset(o, 0, sizeof(*o));
	return MPS_ERR_MALFORMED;
}

/* --- write -------------------------------------------------------------- */

static int opt_len_mpc(const mps_opts *o)
{
	switch (o->mpc.nkeys) {
	case 0:
	case 1:
		if (o->mpc.has_dll || o->mpc.has_csum)
			return MPS_ERR_INVAL;
		return o->mpc.nkeys ? MPS_MPC_LEN_SYNACK : MPS_MPC_LEN_SYN;
	case 2:
		if (o->mpc.has_csum && !o->mpc.has_dll)
			return MPS_ERR_INVAL;
		if (o->mpc.has_csum)
			return MPS_MPC_LEN_DATA_CSUM;
		return o->mpc.has_dll ? MPS_MPC_LEN_DATA : MPS_MPC_LEN_ACK;
	default:
		return MPS_ERR_INVAL;
	}
}

static int opt_len_dss(const mps_opts *o)
{
	int n = 4;

	if (o->dss.has_csum && !o->dss.has_map)
		return MPS_ERR_INVAL;
	if (o->dss.has_ack)
		n += o->dss.ack64 ? 8 : 4;
	if (o->dss.has_map)
		n += (o->dss.map64 ? 8 : 4) + 6 + (o->dss.has_csum ? 2 : 0);
	return n;
}

static int opt_len_add_addr(const mps_opts *o)
{
	int n = 4;

	if (o->add_addr.has_hmac == o->add_addr.echo)
		return MPS_ERR_INVAL;
	if (o->add_addr.addr.family == MPS_AF_INET)
		n += 4;
	else if (o->add_addr.addr.family == MPS_AF_INET6)
		n += 16;
	else
		return MPS_ERR_INVAL;
	if (o->add_addr.has_port)
		n += 2;
	if (o->add_addr.has_hmac)
		n += 8;
	return n;
}

int mps_opt_len(const mps_opts *o, uint32_t bit)
{
	switch (bit) {
	case MPS_OPT_MSS:
		return OPT_LEN_MSS;
	case MPS_OPT_WSCALE:
		return OPT_LEN_WSCALE;
	case MPS_OPT_SACK_PERM:
		return OPT_LEN_SACK_PERM;
	case MPS_OPT_TS:
		return OPT_LEN_TS;
	case MPS_OPT_SACK:
		if (o->nsack == 0 || o->nsack > MPS_SACK_MAX)
			return MPS_ERR_INVAL;
		return 2 + 8 * o->nsack;
	case MPS_OPT_MPC:
		return opt_len_mpc(o);
	case MPS_OPT_JOIN:
		switch (o->join.form) {
		case MPS_JOIN_SYN:
			return MPS_JOIN_LEN_SYN;
		case MPS_JOIN_SYNACK:
			return MPS_JOIN_LEN_SYNACK;
		case MPS_JOIN_ACK:
			return MPS_JOIN_LEN_ACK;
		default:
			return MPS_ERR_INVAL;
		}
	case MPS_OPT_DSS:
		return opt_len_dss(o);
	case MPS_OPT_ADD_ADDR:
		return opt_len_add_addr(o);
	case MPS_OPT_RM_ADDR:
		if (o->rm_addr.n == 0 || o->rm_addr.n > MPS_RM_ADDR_MAX)
			return MPS_ERR_INVAL;
		return OPT_MP_HDR + o->rm_addr.n;
	case MPS_OPT_PRIO:
		return o->prio.has_id ? 4 : 3;
	case MPS_OPT_FAIL:
	case MPS_OPT_FASTCLOSE:
		return 12;
	case MPS_OPT_TCPRST:
		return 4;
	case MPS_OPT_EXP:
		if (o->exp.len > MPS_OPT_EXP_MAX)
			return MPS_ERR_INVAL;
		return OPT_MP_HDR + o->exp.len;
	default:
		return MPS_ERR_INVAL;
	}
}

int mps_opt_size(const mps_opts *o)
{
	int total = 0, n;
	size_t i;

	if (o->present & ~OPT_ALL_BITS)
		return MPS_ERR_INVAL;
	for (i = 0; i < sizeof(opt_order) / sizeof(opt_order[0]); i++) {
		if (!(o->present & opt_order[i]))
			continue;
		n = mps_opt_len(o, opt_order[i]);
		if (n < 0)
			return n;
		total += n;
	}
	return (total + 3) & ~3;
}

/* Kind, length and (for MPTCP) the subtype byte; returns the next byte. */
static uint8_t *opt_mp_hdr(uint8_t *p, int len, uint8_t subtype, uint8_t nibble)
{
	p[0] = MPS_MPTCP_KIND;
	p[1] = (uint8_t)len;
	p[2] = (uint8_t)(subtype << 4 | (nibble & 0x0f));
	return p + 3;
}

static void opt_write_dss(uint8_t *p, int len, const mps_opts *o)
{
	uint8_t fl = 0;

	if (o->dss.has_ack)
		fl |= OPT_DSS_A | (o->dss.ack64 ? OPT_DSS_a : 0);
	if (o->dss.has_map)
		fl |= OPT_DSS_M | (o->dss.map64 ? OPT_DSS_m : 0);
	if (o->dss.fin)
		fl |= OPT_DSS_F;
	p = opt_mp_hdr(p, len, MPS_SUB_DSS, 0);
	*p++ = fl;
	if (o->dss.has_ack)
		p = o->dss.ack64 ? opt_put64(p, o->dss.data_ack)
				 : opt_put32(p, (uint32_t)o->dss.data_ack);
	if (o->dss.has_map) {
		p = o->dss.map64 ? opt_put64(p, o->dss.dsn) : opt_put32(p, (uint32_t)o->dss.dsn);
		p = opt_put32(p, o->dss.ssn);
		p = opt_put16(p, o->dss.dll);
		if (o->dss.has_csum)
			opt_put16(p, o->dss.csum);
	}
}

static void opt_write_add_addr(uint8_t *p, int len, const mps_opts *o)
{
	size_t alen = o->add_addr.addr.family == MPS_AF_INET6 ? 16 : 4;

	p = opt_mp_hdr(p, len, MPS_SUB_ADD_ADDR, o->add_addr.echo ? OPT_ADD_ADDR_E : 0);
	*p++ = o->add_addr.id;
	memcpy(p, o->add_addr.addr.ip, alen);
	p += alen;
	if (o->add_addr.has_port)
		p = opt_put16(p, o->add_addr.addr.port);
	if (o->add_addr.has_hmac)
		opt_put64(p, o->add_addr.hmac);
}

/* Write the option of one bit, len bytes (from mps_opt_len), at p. */
static void opt_write_one(uint8_t *p, int len, const mps_opts *o, uint32_t bit)
{
	int i;

	switch (bit) {
	case MPS_OPT_MSS:
		p[0] = MPS_TCPOPT_MSS;
		p[1] = OPT_LEN_MSS;
		opt_put16(p + 2, o->mss);
		break;
	case MPS_OPT_WSCALE:
		p[0] = MPS_TCPOPT_WSCALE;
		p[1] = OPT_LEN_WSCALE;
		p[2] = o->wscale;
		break;
	case MPS_OPT_SACK_PERM:
		p[0] = MPS_TCPOPT_SACK_PERM;
		p[1] = OPT_LEN_SACK_PERM;
		break;
	case MPS_OPT_TS:
		p[0] = MPS_TCPOPT_TS;
		p[1] = OPT_LEN_TS;
		opt_put32(p + 2, o->ts_val);
		opt_put32(p + 6, o->ts_ecr);
		break;
	case MPS_OPT_SACK:
		p[0] = MPS_TCPOPT_SACK;
		p[1] = (uint8_t)len;
		for (i = 0; i < o->nsack; i++) {
			opt_put32(p + 2 + 8 * i, o->sack[i].left);
			opt_put32(p + 6 + 8 * i, o->sack[i].right);
		}
		break;
	case MPS_OPT_MPC:
		p = opt_mp_hdr(p, len, MPS_SUB_CAPABLE, o->mpc.version);
		*p++ = o->mpc.flags;
		if (o->mpc.nkeys >= 1)
			p = opt_put64(p, o->mpc.key_sender);
		if (o->mpc.nkeys == 2)
			p = opt_put64(p, o->mpc.key_receiver);
		if (o->mpc.has_dll)
			p = opt_put16(p, o->mpc.dll);
		if (o->mpc.has_csum)
			opt_put16(p, o->mpc.csum);
		break;
	case MPS_OPT_JOIN:
		if (o->join.form == MPS_JOIN_ACK) {
			p = opt_mp_hdr(p, len, MPS_SUB_JOIN, 0);
			*p++ = 0; /* reserved */
			memcpy(p, o->join.hmac160, sizeof(o->join.hmac160));
			break;
		}
		p = opt_mp_hdr(p, len, MPS_SUB_JOIN, o->join.backup ? OPT_BACKUP : 0);
		*p++ = o->join.addr_id;
		if (o->join.form == MPS_JOIN_SYN) {
			p = opt_put32(p, o->join.token);
		} else {
			p = opt_put64(p, o->join.hmac64);
		}
		opt_put32(p, o->join.nonce);
		break;
	case MPS_OPT_DSS:
		opt_write_dss(p, len, o);
		break;
	case MPS_OPT_ADD_ADDR:
		opt_write_add_addr(p, len, o);
		break;
	case MPS_OPT_RM_ADDR:
		p = opt_mp_hdr(p, len, MPS_SUB_REMOVE_ADDR, 0);
		memcpy(p, o->rm_addr.ids, o->rm_addr.n);
		break;
	case MPS_OPT_PRIO:
		p = opt_mp_hdr(p, len, MPS_SUB_PRIO, o->prio.backup ? OPT_BACKUP : 0);
		if (o->prio.has_id)
			*p = o->prio.id;
		break;
	case MPS_OPT_FAIL:
		p = opt_mp_hdr(p, len, MPS_SUB_FAIL, 0);
		*p++ = 0;
		opt_put64(p, o->fail.dsn);
		break;
	case MPS_OPT_FASTCLOSE:
		p = opt_mp_hdr(p, len, MPS_SUB_FASTCLOSE, 0);
		*p++ = 0;
		opt_put64(p, o->fastclose.key);
		break;
	case MPS_OPT_TCPRST:
		p = opt_mp_hdr(p, len, MPS_SUB_TCPRST, o->tcprst.flags);
		*p = o->tcprst.reason;
		break;
	case MPS_OPT_EXP:
		p = opt_mp_hdr(p, len, MPS_SUB_EXPERIMENTAL, o->exp.nibble);
		memcpy(p, o->exp.data, o->exp.len);
		break;
	}
}

int mps_opt_write(uint8_t *buf, size_t cap, const mps_opts *o)
{
	int size = mps_opt_size(o), off = 0, n;
	size_t i;

	if (size < 0)
		return size;
	if ((size_t)size > cap)
		return MPS_ERR_NOBUF;
	for (i = 0; i < sizeof(opt_order) / sizeof(opt_order[0]); i++) {
		if (!(o->present & opt_order[i]))
			continue;
		n = mps_opt_len(o, opt_order[i]);
		opt_write_one(buf + off, n, o, opt_order[i]);
		off += n;
	}
	while (off < size)
		buf[off++] = MPS_TCPOPT_NOP;
	return size;
}
