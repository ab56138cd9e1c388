/* addr.c - parsing, printing and comparing mps_addr. */
#include "addr.h"
#include "mps_err.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int addr_parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v;

	if (*s == '\0')
		return MPS_ERR_INVAL;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v <= 0 || v > 65535)
		return MPS_ERR_INVAL;
	*port = (uint16_t)v;
	return 0;
}

int mps_addr_parse(mps_addr *out, const char *text)
{
	char host[64];
	const char *port = NULL;
	const char *colon;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (text == NULL)
		return MPS_ERR_INVAL;
	if (text[0] == '[') {
		const char *close = strchr(text, ']');
		if (close == NULL)
			return MPS_ERR_INVAL;
		n = (size_t)(close - text - 1);
		if (close[1] == ':')
			port = close + 2;
		else if (close[1] != '\0')
			return MPS_ERR_INVAL;
		text++;
	} else {
		colon = strchr(text, ':');
		if (colon != NULL && strchr(colon + 1, ':') == NULL) {
			n = (size_t)(colon - text);
			port = colon + 1;
		} else {
			n = strlen(text);
		}
	}
	if (n == 0 || n >= sizeof(host))
		return MPS_ERR_INVAL;
	memcpy(host, text, n);
	host[n] = '\0';
	if (inet_pton(AF_INET, host, out->ip) == 1)
		out->family = MPS_AF_INET;
	else if (inet_pton(AF_INET6, host, out->ip) == 1)
		out->family = MPS_AF_INET6;
	else
		return MPS_ERR_INVAL;
	if (port != NULL && addr_parse_port(port, &out->port) != 0)
		return MPS_ERR_INVAL;
	return 0;
}

const char *mps_addr_format(const mps_addr *a, char buf[MPS_ADDR_STRLEN])
{
	char ip[INET6_ADDRSTRLEN];

	if (a->family == MPS_AF_INET6) {
		inet_ntop(AF_INET6, a->ip, ip, sizeof(ip));
		if (a->port)
			snprintf(buf, MPS_ADDR_STRLEN, "[%s]:%u", ip, a->port);
		else
			snprintf(buf, MPS_ADDR_STRLEN, "%s", ip);
	} else if (a->family == MPS_AF_INET) {
		inet_ntop(AF_INET, a->ip, ip, sizeof(ip));
		if (a->port)
			snprintf(buf, MPS_ADDR_STRLEN, "%s:%u", ip, a->port);
		else
			snprintf(buf, MPS_ADDR_STRLEN, "%s", ip);
	} else {
		snprintf(buf, MPS_ADDR_STRLEN, "(none)");
	}
	return buf;
}

bool mps_addr_ip_eq(const mps_addr *a, const mps_addr *b)
{
	size_t n = a->family == MPS_AF_INET6 ? 16 : 4;

	return a->family == b->family && memcmp(a->ip, b->ip, n) == 0;
}

bool mps_addr_eq(const mps_addr *a, const mps_addr *b)
{
	return mps_addr_ip_eq(a, b) && a->port == b->port;
}

void mps_addr_set_v4(mps_addr *a, const uint8_t ip[4], uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = MPS_AF_INET;
	memcpy(a->ip, ip, 4);
	a->port = port;
}

void mps_addr_set_v6(mps_addr *a, const uint8_t ip[16], uint16_t port)
{
	memset(a, 0, sizeof(*a));
	a->family = MPS_AF_INET6;
	memcpy(a->ip, ip, 16);
	a->port = port;
}

uint32_t mps_addr_hash(const mps_addr *a, uint32_t seed)
{
	/* FNV-1a over the family, address and port; seeded per stack. */
	uint32_t h = 2166136261u ^ seed;
	size_t n = a->family == MPS_AF_INET6 ? 16 : 4;
	size_t i;

	h = (h ^ a->family) * 16777619u;
	for (i = 0; i < n; i++)
		h = (h ^ a->ip[i]) * 16777619u;
	h = (h ^ (a->port >> 8)) * 16777619u;
	h = (h ^ (a->port & 0xff)) * 16777619u;
	return h;
}
