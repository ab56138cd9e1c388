/*
 * group.c - group extension: key derivation and MP_EXPERIMENTAL messages.
 *
 * Key-S = first 8 bytes of crypto_kdf_derive_from_key(16 bytes, subkey id N,
 * context "mpsgroup", group key).  N is chosen at random by the accepting
 * server; a member that receives N in a JOIN only goes on if the token the
 * client sent is the token of the Key-S it derives, i.e. a 32-bit tag over N
 * under the group key: a value a peer made up is refused before any state is
 * created (doc/protocol.md, "Security").
 */
#include "group.h"
#include "crypto.h"
#include "mps_err.h"

#include <sodium.h>
#include <string.h>

static const uint8_t gmsg_len[] = {
	[MPS_GMSG_REQ] = 0,
	[MPS_GMSG_ACK] = 1,
	[MPS_GMSG_TICKET] = 8,
	[MPS_GMSG_TICKET_ACK] = 0,
	[MPS_GMSG_JOIN] = 25,
	[MPS_GMSG_RANGE] = 12,
	[MPS_GMSG_PROBE] = 12,
	[MPS_GMSG_IDLE] = 8,
};

static uint64_t group_get64(const uint8_t *p)
{
	uint64_t v = 0;
	int i;

	for (i = 0; i < 8; i++)
		v = (v << 8) | p[i];
	return v;
}

static uint32_t group_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void group_put64(uint8_t *p, uint64_t v)
{
	int i;

	for (i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

static void group_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

int mps_gmsg_parse(mps_gmsg *m, const mps_opts *o)
{
	const uint8_t *d = o->exp.data;

	memset(m, 0, sizeof(*m));
	if (!(o->present & MPS_OPT_EXP))
		return MPS_ERR_MALFORMED;
	m->type = o->exp.nibble;
	if (m->type < MPS_GMSG_REQ || m->type > MPS_GMSG_MAX || o->exp.len != gmsg_len[m->type])
		return MPS_ERR_MALFORMED;
	switch (m->type) {
	case MPS_GMSG_ACK:
		m->version = d[0];
		break;
	case MPS_GMSG_TICKET:
		m->n = group_get64(d);
		break;
	case MPS_GMSG_JOIN:
		m->backup = (d[0] & 0x80) != 0;
		m->addr_id = d[0] & 0x7f;
		m->token = group_get32(d + 1);
		m->nonce = group_get32(d + 5);
		m->n = group_get64(d + 9);
		m->key_c = group_get64(d + 17);
		break;
	case MPS_GMSG_RANGE:
	case MPS_GMSG_PROBE:
		m->dsn = group_get64(d);
		m->len = group_get32(d + 8);
		break;
	case MPS_GMSG_IDLE:
		m->dsn = group_get64(d);
		break;
	default:
		break;
	}
	return 0;
}

int mps_gmsg_put(mps_opts *o, const mps_gmsg *m)
{
	uint8_t *d = o->exp.data;

	if (m->type < MPS_GMSG_REQ || m->type > MPS_GMSG_MAX)
		return MPS_ERR_INVAL;
	o->exp.nibble = m->type;
	o->exp.len = gmsg_len[m->type];
	switch (m->type) {
	case MPS_GMSG_ACK:
		d[0] = m->version;
		break;
	case MPS_GMSG_TICKET:
		group_put64(d, m->n);
		break;
	case MPS_GMSG_JOIN:
		d[0] = (uint8_t)((m->backup ? 0x80 : 0) | (m->addr_id & 0x7f));
		group_put32(d + 1, m->token);
		group_put32(d + 5, m->nonce);
		group_put64(d + 9, m->n);
		group_put64(d + 17, m->key_c);
		break;
	case MPS_GMSG_RANGE:
	case MPS_GMSG_PROBE:
		group_put64(d, m->dsn);
		group_put32(d + 8, m->len);
		break;
	case MPS_GMSG_IDLE:
		group_put64(d, m->dsn);
		break;
	default:
		break;
	}
	o->present |= MPS_OPT_EXP;
	return 0;
}

uint64_t mps_group_server_key(const uint8_t gk[MPS_GROUP_KEY_LEN], uint64_t n)
{
	uint8_t sub[16];
	uint64_t k;

	crypto_kdf_derive_from_key(sub, sizeof(sub), n, "mpsgroup", gk);
	k = group_get64(sub);
	mps_memzero(sub, sizeof(sub));
	return k;
}

bool mps_group_check_join(const uint8_t gk[MPS_GROUP_KEY_LEN], uint64_t n, uint32_t token, uint64_t *key_s)
{
	uint64_t k = mps_group_server_key(gk, n);
	uint32_t t = mps_key_token(k);
	bool ok = mps_ct_equal(&t, &token, sizeof(t));

	if (ok)
		*key_s = k;
	mps_memzero(&k, sizeof(k));
	return ok;
}
