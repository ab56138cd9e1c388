/*
 * sim.c - the deterministic network simulator (see sim.h).
 *
 * Call chain of one packet:
 *   stack output callback sim_output() -> sim_gso_split() (super-segments)
 *     -> sim_send() -> sim_route() -> sim_link_send()   (filter, down, loss,
 *        FIFO and rate, delay, reordering, duplication)
 *     -> sim_push() a DELIVER event
 *   sim_run() -> sim_step() -> sim_deliver() -> mps_stack_input()
 *                           -> sim_node_after_call() -> app run()
 *   timers: sim_step() -> mps_stack_handle_expiry() -> sim_node_after_call()
 *
 * Link model of one direction: a transmitter busy until busy_until sends
 * packets in FIFO order at rate_bps; a packet offered at time t waits until
 * max(t, busy_until), takes len*8/rate to transmit, then delay_ns to
 * propagate.  The FIFO holds the bytes not yet transmitted; a packet that
 * does not fit under queue_bytes is dropped (tail drop).  A reordered packet
 * is delivered reorder_ns later than its place in the FIFO says (without
 * holding up the packets behind it); a duplicated one is delivered twice.
 */
#include "sim.h"
#include "core.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define SIM_MAX_NODES 16
#define SIM_MAX_LINKS 32
#define SIM_MAX_NODE_ADDRS 8
/* Consecutive timer runs at one instant after which sim_run gives up. */
#define SIM_LIVELOCK_STEPS 100000
/* Rounds of app run() after one stack call (each may raise new events). */
#define SIM_MAX_APP_ROUNDS 64

struct sim_node {
	sim *sim;
	size_t index;
	char name[16];
	mps_stack *stack;
	mps_addr addrs[SIM_MAX_NODE_ADDRS];
	size_t naddrs;
	uint64_t rng;
	bool alive;
	bool evented; /* an event was raised since run() was last called */
	sim_app app;
};

typedef struct sim_dir_state {
	sim_dir_cfg cfg;
	uint64_t rng;
	uint64_t busy_until;
	sim_dir_stats st;
} sim_dir_state;

struct sim_link {
	sim *sim;
	size_t index;
	mps_addr end[2]; /* end[SIM_AB] is A, end[SIM_BA] is B */
	sim_dir_state dir[2];
	bool down;
};

enum sim_ev_type {
	SIM_EV_DELIVER,
	SIM_EV_LINK,
	SIM_EV_KILL,
	SIM_EV_WAKE,
};

typedef struct sim_event {
	uint64_t time;
	uint64_t order; /* ties broken by scheduling order: deterministic */
	enum sim_ev_type type;
	sim_link *link;
	enum sim_dir dir;
	bool down;
	sim_node *node;
	uint32_t payload;
	size_t len;
	uint8_t pkt[];
} sim_event;

typedef struct sim_trace_line {
	uint64_t time;
	char what[40];
	sim_pkt_info pi;
} sim_trace_line;

struct sim {
	uint64_t seed;
	uint64_t now;
	uint64_t order;
	sim_node *nodes[SIM_MAX_NODES];
	size_t nnodes;
	sim_link *links[SIM_MAX_LINKS];
	size_t nlinks;
	sim_event **heap;
	size_t nheap, heap_cap;
	sim_filter_fn filter;
	void *filter_user;
	sim_tap_fn tap;
	void *tap_user;
	sim_stats st;
	FILE *pcap;
	bool trace_live;
	sim_trace_line *trace;
	size_t trace_cap, trace_n, trace_next;
	uint8_t *gso_buf;
	size_t gso_cap;
	uint8_t *iov_buf; /* a headers + payload-pieces packet, gathered */
	size_t iov_cap;
};

static const char *const sim_drop_names[SIM_DROP_COUNT] = {
    [SIM_DROP_LOSS] = "loss",	   [SIM_DROP_QUEUE] = "queue full", [SIM_DROP_DOWN] = "link down",
    [SIM_DROP_DEAD] = "node dead", [SIM_DROP_FILTER] = "filter",
};

/* --- random numbers ------------------------------------------------------- */

uint64_t sim_rand_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* A generator state for stream `which` of the run: independent streams so
 * that adding a link does not change the losses of another. */
static uint64_t sim_rand_stream(uint64_t seed, uint64_t which)
{
	uint64_t st = seed ^ (which * 0xd1b54a32d192ed03ull);

	return sim_rand_next(&st);
}

/* True with probability pm per mille. */
static bool sim_rand_pm(uint64_t *state, uint32_t pm)
{
	if (pm == 0)
		return false;
	return sim_rand_next(state) % 1000 < pm;
}

static void sim_node_random(void *user, void *buf, size_t len)
{
	sim_node *n = user;
	uint8_t *p = buf;

	while (len > 0) {
		uint64_t v = sim_rand_next(&n->rng);
		size_t k = len < 8 ? len : 8;
		memcpy(p, &v, k);
		p += k;
		len -= k;
	}
}

/* --- event heap ------------------------------------------------------------ */

static bool sim_ev_before(const sim_event *a, const sim_event *b)
{
	if (a->time != b->time)
		return a->time < b->time;
	return a->order < b->order;
}

static int sim_push(sim *s, sim_event *ev)
{
	size_t i;

	if (s->nheap == s->heap_cap) {
		size_t cap = s->heap_cap ? s->heap_cap * 2 : 256;
		sim_event **h = realloc(s->heap, cap * sizeof(*h));
		if (h == NULL) {
			free(ev);
			return MPS_ERR_NOMEM;
		}
		s->heap = h;
		s->heap_cap = cap;
	}
	ev->order = s->order++;
	i = s->nheap++;
	while (i > 0) {
		size_t parent = (i - 1) / 2;
		if (!sim_ev_before(ev, s->heap[parent]))
			break;
		s->heap[i] = s->heap[parent];
		i = parent;
	}
	s->heap[i] = ev;
	return 0;
}

static sim_event *sim_pop(sim *s)
{
	sim_event *top, *last;
	size_t i = 0;

	if (s->nheap == 0)
		return NULL;
	top = s->heap[0];
	last = s->heap[--s->nheap];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= s->nheap)
			break;
		if (c + 1 < s->nheap && sim_ev_before(s->heap[c + 1], s->heap[c]))
			c++;
		if (!sim_ev_before(s->heap[c], last))
			break;
		s->heap[i] = s->heap[c];
		i = c;
	}
	if (s->nheap > 0)
		s->heap[i] = last;
	return top;
}

static sim_event *sim_event_new(enum sim_ev_type type, uint64_t time, size_t len)
{
	sim_event *ev = calloc(1, sizeof(*ev) + len);

	if (ev == NULL)
		return NULL;
	ev->type = type;
	ev->time = time;
	ev->len = len;
	return ev;
}

/* --- packets: parse, format, checksums ------------------------------------ */

static uint32_t sim_be16(const uint8_t *p)
{
	return (uint32_t)p[0] << 8 | p[1];
}

static uint32_t sim_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static uint64_t sim_be64(const uint8_t *p)
{
	return (uint64_t)sim_be32(p) << 32 | sim_be32(p + 4);
}

/* Where the IP header says the TCP header starts and how long the IP
 * packet is.  Returns 0 or MPS_ERR_MALFORMED. */
static int sim_ip_bounds(const uint8_t *pkt, size_t len, size_t *l4, size_t *iplen, int *family)
{
	if (len < 1)
		return MPS_ERR_MALFORMED;
	if (pkt[0] >> 4 == 4) {
		size_t ihl = (size_t)(pkt[0] & 0x0f) * 4;
		if (len < 20 || ihl < 20 || len < ihl || pkt[9] != 6)
			return MPS_ERR_MALFORMED;
		*iplen = sim_be16(pkt + 2);
		*l4 = ihl;
		*family = MPS_AF_INET;
	} else if (pkt[0] >> 4 == 6) {
		if (len < 40 || pkt[6] != 6)
			return MPS_ERR_MALFORMED;
		*iplen = 40 + sim_be16(pkt + 4);
		*l4 = 40;
		*family = MPS_AF_INET6;
	} else {
		return MPS_ERR_MALFORMED;
	}
	if (*iplen > len || *iplen < *l4 + 20)
		return MPS_ERR_MALFORMED;
	return 0;
}

/* The MPTCP option (kind 30) at o, olen bytes long (RFC 8684 §3). */
static void sim_parse_mptcp(const uint8_t *o, size_t olen, sim_pkt_info *pi)
{
	unsigned sub, fl;
	size_t off;

	if (olen < 3)
		return;
	sub = o[2] >> 4;
	switch (sub) {
	case 0:
		pi->mp_capable = true;
		return;
	case 1:
		pi->mp_join = true;
		return;
	case 3:
		pi->add_addr = true;
		return;
	case 4:
		pi->rm_addr = true;
		return;
	case 5:
		pi->mp_prio = true;
		return;
	case 6:
		pi->mp_fail = true;
		return;
	case 7:
		pi->fastclose = true;
		return;
	case 8:
		pi->tcprst = true;
		return;
	case 15:
		pi->mp_experimental = true;
		return;
	case 2:
		break;
	default:
		return;
	}
	/* DSS, RFC 8684 §3.3 Figure 9: flags A=0x01 a=0x02 M=0x04 m=0x08 F=0x10 */
	if (olen < 4)
		return;
	pi->dss = true;
	fl = o[3];
	off = 4;
	pi->data_fin = (fl & 0x10) != 0;
	if (fl & 0x01) {
		size_t n = (fl & 0x02) ? 8 : 4;
		if (olen < off + n)
			return;
		pi->dss_has_ack = true;
		pi->data_ack = n == 8 ? sim_be64(o + off) : sim_be32(o + off);
		off += n;
	}
	if (fl & 0x04) {
		size_t n = (fl & 0x08) ? 8 : 4;
		if (olen < off + n + 6)
			return;
		pi->dss_has_map = true;
		pi->dsn = n == 8 ? sim_be64(o + off) : sim_be32(o + off);
		off += n + 4;
		pi->dss_len = (uint16_t)sim_be16(o + off);
	}
}

int sim_pkt_parse(const uint8_t *pkt, size_t len, sim_pkt_info *pi)
{
	size_t l4, iplen, doff, i;
	const uint8_t *th;
	int family;

	memset(pi, 0, sizeof(*pi));
	pi->len = (uint32_t)len;
	if (sim_ip_bounds(pkt, len, &l4, &iplen, &family) < 0)
		return MPS_ERR_MALFORMED;
	th = pkt + l4;
	if (family == MPS_AF_INET) {
		mps_addr_set_v4(&pi->src, pkt + 12, (uint16_t)sim_be16(th));
		mps_addr_set_v4(&pi->dst, pkt + 16, (uint16_t)sim_be16(th + 2));
	} else {
		mps_addr_set_v6(&pi->src, pkt + 8, (uint16_t)sim_be16(th));
		mps_addr_set_v6(&pi->dst, pkt + 24, (uint16_t)sim_be16(th + 2));
	}
	doff = (size_t)(th[12] >> 4) * 4;
	if (doff < 20 || l4 + doff > iplen)
		return MPS_ERR_MALFORMED;
	pi->tcp = true;
	pi->len = (uint32_t)iplen;
	pi->seq = sim_be32(th + 4);
	pi->ack = sim_be32(th + 8);
	pi->flags = th[13] & 0x1f;
	pi->win = (uint16_t)sim_be16(th + 14);
	pi->payload = (uint32_t)(iplen - l4 - doff);
	for (i = 20; i < doff;) {
		uint8_t kind = th[i];
		size_t olen;
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= doff)
			break;
		olen = th[i + 1];
		if (olen < 2 || i + olen > doff)
			break;
		if (kind == 30)
			sim_parse_mptcp(th + i, olen, pi);
		i += olen;
	}
	return 0;
}

const char *sim_pkt_format(const sim_pkt_info *pi, char *buf, size_t size)
{
	char a[MPS_ADDR_STRLEN], b[MPS_ADDR_STRLEN], fl[8];
	size_t n = 0, k = 0;
	int w;

	if (size == 0)
		return buf;
	buf[0] = '\0';
	if (!pi->tcp) {
		snprintf(buf, size, "(not TCP, %" PRIu32 " bytes)", pi->len);
		return buf;
	}
	if (pi->flags & SIM_TH_SYN)
		fl[k++] = 'S';
	if (pi->flags & SIM_TH_FIN)
		fl[k++] = 'F';
	if (pi->flags & SIM_TH_RST)
		fl[k++] = 'R';
	if (pi->flags & SIM_TH_PSH)
		fl[k++] = 'P';
	if (pi->flags & SIM_TH_ACK)
		fl[k++] = '.';
	fl[k] = '\0';
	w = snprintf(buf, size, "%s > %s [%s] seq %" PRIu32 " ack %" PRIu32 " win %u len %" PRIu32,
		     mps_addr_format(&pi->src, a), mps_addr_format(&pi->dst, b), fl, pi->seq,
		     pi->ack, pi->win, pi->payload);
	if (w < 0 || (size_t)w >= size)
		return buf;
	n = (size_t)w;
#define SIM_APPEND(...)                                                                            \
	do {                                                                                       \
		if (n < size) {                                                                    \
			w = snprintf(buf + n, size - n, __VA_ARGS__);                              \
			if (w > 0)                                                                 \
				n += (size_t)w;                                                    \
		}                                                                                  \
	} while (0)
	if (pi->mp_capable)
		SIM_APPEND(" MP_CAPABLE");
	if (pi->mp_join)
		SIM_APPEND(" MP_JOIN");
	if (pi->dss) {
		SIM_APPEND(" DSS(");
		if (pi->dss_has_ack)
			SIM_APPEND("ack %" PRIu64, pi->data_ack);
		if (pi->dss_has_map)
			SIM_APPEND("%sdsn %" PRIu64 " len %u", pi->dss_has_ack ? " " : "", pi->dsn,
				   pi->dss_len);
		if (pi->data_fin)
			SIM_APPEND(" DATA_FIN");
		SIM_APPEND(")");
	}
	if (pi->add_addr)
		SIM_APPEND(" ADD_ADDR");
	if (pi->rm_addr)
		SIM_APPEND(" REMOVE_ADDR");
	if (pi->mp_prio)
		SIM_APPEND(" MP_PRIO");
	if (pi->mp_fail)
		SIM_APPEND(" MP_FAIL");
	if (pi->fastclose)
		SIM_APPEND(" MP_FASTCLOSE");
	if (pi->tcprst)
		SIM_APPEND(" MP_TCPRST");
	if (pi->mp_experimental)
		SIM_APPEND(" MP_EXPERIMENTAL");
#undef SIM_APPEND
	return buf;
}

/* RFC 1071 sum of len bytes, folded later. */
static uint64_t sim_sum(uint64_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += sim_be16(p + i);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t sim_fold(uint64_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* Recompute the IPv4 header checksum (if IPv4) and the full TCP checksum of
 * a packet whose bounds sim_ip_bounds accepted. */
static void sim_fix_checksums(uint8_t *pkt, size_t l4, size_t iplen, int family)
{
	uint64_t sum = 0;
	uint16_t c;

	if (family == MPS_AF_INET) {
		pkt[10] = pkt[11] = 0;
		c = sim_fold(sim_sum(0, pkt, l4));
		pkt[10] = (uint8_t)(c >> 8);
		pkt[11] = (uint8_t)c;
		sum = sim_sum(sum, pkt + 12, 8);
	} else {
		sum = sim_sum(sum, pkt + 8, 32);
	}
	sum += 6 + (iplen - l4);
	pkt[l4 + 16] = pkt[l4 + 17] = 0;
	c = sim_fold(sim_sum(sum, pkt + l4, iplen - l4));
	pkt[l4 + 16] = (uint8_t)(c >> 8);
	pkt[l4 + 17] = (uint8_t)c;
}

/* --- trace and pcap -------------------------------------------------------- */

static void sim_trace(sim *s, const char *what, const sim_pkt_info *pi)
{
	if (s->trace_live) {
		char line[320];
		fprintf(stderr, "%12.6f ms %-28s %s\n", (double)s->now / 1e6, what,
			sim_pkt_format(pi, line, sizeof(line)));
	}
	if (s->trace_cap > 0) {
		sim_trace_line *t = &s->trace[s->trace_next];
		t->time = s->now;
		snprintf(t->what, sizeof(t->what), "%s", what);
		t->pi = *pi;
		s->trace_next = (s->trace_next + 1) % s->trace_cap;
		if (s->trace_n < s->trace_cap)
			s->trace_n++;
	}
}

static bool sim_tracing(const sim *s)
{
	return s->trace_live || s->trace_cap > 0;
}

void sim_trace_keep(sim *s, size_t n)
{
	free(s->trace);
	s->trace = NULL;
	s->trace_cap = s->trace_n = s->trace_next = 0;
	if (n == 0)
		return;
	s->trace = calloc(n, sizeof(*s->trace));
	if (s->trace != NULL)
		s->trace_cap = n;
}

void sim_trace_dump(const sim *s, FILE *f)
{
	size_t i,
	    first = (s->trace_next + s->trace_cap - s->trace_n) % (s->trace_cap ? s->trace_cap : 1);
	char line[320];

	for (i = 0; i < s->trace_n; i++) {
		const sim_trace_line *t = &s->trace[(first + i) % s->trace_cap];
		fprintf(f, "%12.6f ms %-28s %s\n", (double)t->time / 1e6, t->what,
			sim_pkt_format(&t->pi, line, sizeof(line)));
	}
}

static void sim_put32(FILE *f, uint32_t v)
{
	fwrite(&v, sizeof(v), 1, f);
}

int sim_pcap_open(sim *s, const char *path)
{
	char name[512];
	const char *mark = strstr(path, "{seed}");
	FILE *f;

	if (mark != NULL) {
		snprintf(name, sizeof(name), "%.*s%" PRIu64 "%s", (int)(mark - path), path, s->seed,
			 mark + 6);
		path = name;
	}
	f = fopen(path, "wb");
	if (f == NULL)
		return MPS_ERR_IO;
	if (s->pcap != NULL)
		fclose(s->pcap);
	s->pcap = f;
	/* pcap file header, nanosecond variant, in host byte order */
	sim_put32(f, 0xa1b23c4d);
	sim_put32(f, 2u | 4u << 16);
	sim_put32(f, 0);
	sim_put32(f, 0);
	sim_put32(f, 65535);
	sim_put32(f, 101); /* LINKTYPE_RAW */
	return 0;
}

static void sim_pcap_write(sim *s, const uint8_t *pkt, size_t len)
{
	uint32_t cap = len > 65535 ? 65535 : (uint32_t)len;

	sim_put32(s->pcap, (uint32_t)(s->now / 1000000000ull));
	sim_put32(s->pcap, (uint32_t)(s->now % 1000000000ull));
	sim_put32(s->pcap, cap);
	sim_put32(s->pcap, (uint32_t)len);
	fwrite(pkt, 1, cap, s->pcap);
}

/* --- links ------------------------------------------------------------------ */

/* The link and direction for a packet from src to dst (IPs only). */
static sim_link *sim_route(const sim *s, const mps_addr *src, const mps_addr *dst,
			   enum sim_dir *dir)
{
	size_t i;

	for (i = 0; i < s->nlinks; i++) {
		sim_link *l = s->links[i];
		if (mps_addr_ip_eq(&l->end[SIM_AB], src) && mps_addr_ip_eq(&l->end[SIM_BA], dst)) {
			*dir = SIM_AB;
			return l;
		}
		if (mps_addr_ip_eq(&l->end[SIM_BA], src) && mps_addr_ip_eq(&l->end[SIM_AB], dst)) {
			*dir = SIM_BA;
			return l;
		}
	}
	return NULL;
}

static sim_node *sim_owner(const sim *s, const mps_addr *ip)
{
	size_t i, j;

	for (i = 0; i < s->nnodes; i++)
		for (j = 0; j < s->nodes[i]->naddrs; j++)
			if (mps_addr_ip_eq(&s->nodes[i]->addrs[j], ip))
				return s->nodes[i];
	return NULL;
}

static void sim_drop(sim *s, sim_dir_state *d, enum sim_drop why, const sim_pkt_info *pi)
{
	char what[40];

	d->st.drops[why]++;
	if (sim_tracing(s)) {
		snprintf(what, sizeof(what), "drop (%s)", sim_drop_names[why]);
		sim_trace(s, what, pi);
	}
}

/* Bytes not yet transmitted in direction d at time now. */
static uint64_t sim_backlog(const sim_dir_state *d, uint64_t now)
{
	unsigned __int128 bits;

	if (d->cfg.rate_bps == 0 || d->busy_until <= now)
		return 0;
	bits = (unsigned __int128)(d->busy_until - now) * d->cfg.rate_bps;
	return (uint64_t)((bits + 8000000000ull - 1) / 8000000000ull);
}

static void sim_schedule_delivery(sim *s, sim_link *l, enum sim_dir dir, const uint8_t *pkt,
				  size_t len, uint32_t payload, uint64_t at)
{
	sim_event *ev = sim_event_new(SIM_EV_DELIVER, at, len);

	if (ev == NULL)
		return;
	ev->link = l;
	ev->dir = dir;
	ev->payload = payload;
	memcpy(ev->pkt, pkt, len);
	sim_push(s, ev);
}

static void sim_link_send(sim *s, sim_link *l, enum sim_dir dir, const uint8_t *pkt, size_t len,
			  const sim_pkt_info *pi)
{
	sim_dir_state *d = &l->dir[dir];
	uint64_t at = s->now, limit, backlog;
	bool lost, reorder, dup;

	d->st.pkts_offered++;
	d->st.bytes_offered += len;
	/* Draw every random number for every packet so that one setting (say,
	 * the loss rate) does not shift the draws of the others. */
	lost = sim_rand_pm(&d->rng, d->cfg.loss_pm);
	reorder = sim_rand_pm(&d->rng, d->cfg.reorder_pm);
	dup = sim_rand_pm(&d->rng, d->cfg.dup_pm);
	if (l->down) {
		sim_drop(s, d, SIM_DROP_DOWN, pi);
		return;
	}
	if (s->filter != NULL && s->filter(s->filter_user, l, dir, pi, s->now)) {
		sim_drop(s, d, SIM_DROP_FILTER, pi);
		return;
	}
	if (lost) {
		sim_drop(s, d, SIM_DROP_LOSS, pi);
		return;
	}
	if (d->cfg.rate_bps > 0) {
		uint64_t tx;
		limit = d->cfg.queue_bytes ? d->cfg.queue_bytes : SIM_DEFAULT_QUEUE;
		backlog = sim_backlog(d, s->now);
		if (backlog + len > limit) {
			sim_drop(s, d, SIM_DROP_QUEUE, pi);
			return;
		}
		if (backlog + len > d->st.max_queue_bytes)
			d->st.max_queue_bytes = (uint32_t)(backlog + len);
		tx = (uint64_t)(((unsigned __int128)len * 8000000000ull + d->cfg.rate_bps - 1) /
				d->cfg.rate_bps);
		if (d->busy_until < s->now)
			d->busy_until = s->now;
		d->busy_until += tx;
		at = d->busy_until;
	}
	at += d->cfg.delay_ns;
	if (reorder && d->cfg.reorder_ns > 0) {
		at += d->cfg.reorder_ns;
		d->st.reordered++;
	}
	if (sim_tracing(s)) {
		char what[40];
		snprintf(what, sizeof(what), "send link %zu %s%s%s", l->index,
			 dir == SIM_AB ? "A>B" : "B>A", reorder ? " late" : "", dup ? " dup" : "");
		sim_trace(s, what, pi);
	}
	sim_schedule_delivery(s, l, dir, pkt, len, pi->payload, at);
	if (dup) {
		d->st.duplicated++;
		sim_schedule_delivery(s, l, dir, pkt, len, pi->payload, at);
	}
}

/* One packet from node n, after GSO splitting. */
static void sim_send(sim *s, sim_node *n, const uint8_t *pkt, size_t len)
{
	sim_pkt_info pi;
	enum sim_dir dir;
	sim_link *l;

	(void)n;
	if (s->pcap != NULL)
		sim_pcap_write(s, pkt, len);
	if (sim_pkt_parse(pkt, len, &pi) < 0) {
		s->st.unparsable++;
		return;
	}
	l = sim_route(s, &pi.src, &pi.dst, &dir);
	if (l == NULL) {
		s->st.noroute++;
		if (sim_tracing(s))
			sim_trace(s, "drop (no route)", &pi);
		return;
	}
	sim_link_send(s, l, dir, pkt, len, &pi);
}

/* Cut a TCP super-segment into gso_size payload pieces (the work a virtio-net
 * device does for VIRTIO_NET_HDR_GSO_TCPV4/6), or complete a partial
 * checksum. */
static void sim_gso_split(sim *s, sim_node *n, const uint8_t *pkt, size_t len,
			  const mps_out_meta *meta)
{
	size_t l4, iplen, hlen, payload, off;
	uint32_t seq;
	uint8_t flags;
	int family;

	if (sim_ip_bounds(pkt, len, &l4, &iplen, &family) < 0) {
		sim_send(s, n, pkt, len);
		return;
	}
	hlen = l4 + (size_t)(pkt[l4 + 12] >> 4) * 4;
	if (hlen > iplen) {
		sim_send(s, n, pkt, len);
		return;
	}
	if (s->gso_cap < iplen) {
		uint8_t *b = realloc(s->gso_buf, iplen);
		if (b == NULL)
			return;
		s->gso_buf = b;
		s->gso_cap = iplen;
	}
	payload = iplen - hlen;
	if (meta->gso_size == 0 || payload <= meta->gso_size) {
		memcpy(s->gso_buf, pkt, iplen);
		sim_fix_checksums(s->gso_buf, l4, iplen, family);
		sim_send(s, n, s->gso_buf, iplen);
		return;
	}
	s->st.gso_split++;
	seq = sim_be32(pkt + l4 + 4);
	flags = pkt[l4 + 13];
	for (off = 0; off < payload; off += meta->gso_size) {
		size_t k = payload - off < meta->gso_size ? payload - off : meta->gso_size;
		size_t plen = hlen + k;
		uint8_t *b = s->gso_buf;
		uint32_t sq = seq + (uint32_t)off;
		bool last = off + k == payload;

		memcpy(b, pkt, hlen);
		memcpy(b + hlen, pkt + hlen + off, k);
		if (family == MPS_AF_INET) {
			uint32_t id = sim_be16(pkt + 4) + (uint32_t)(off / meta->gso_size);
			b[2] = (uint8_t)(plen >> 8);
			b[3] = (uint8_t)plen;
			b[4] = (uint8_t)(id >> 8);
			b[5] = (uint8_t)id;
		} else {
			b[4] = (uint8_t)((plen - 40) >> 8);
			b[5] = (uint8_t)(plen - 40);
		}
		b[l4 + 4] = (uint8_t)(sq >> 24);
		b[l4 + 5] = (uint8_t)(sq >> 16);
		b[l4 + 6] = (uint8_t)(sq >> 8);
		b[l4 + 7] = (uint8_t)sq;
		/* FIN and PSH belong to the last piece only */
		b[l4 + 13] = last ? flags : (uint8_t)(flags & ~(SIM_TH_FIN | SIM_TH_PSH));
		sim_fix_checksums(b, l4, plen, family);
		sim_send(s, n, b, plen);
	}
}

static void sim_output(void *user, const uint8_t *pkt, size_t len, const mps_out_meta *meta)
{
	sim_node *n = user;
	sim *s = n->sim;

	if (meta != NULL && meta->npayload > 0) {
		/* headers + payload pieces: gather them as writev would */
		size_t total = len;
		int k;

		for (k = 0; k < meta->npayload; k++)
			total += meta->payload[k].len;
		if (s->iov_cap < total) {
			uint8_t *b = realloc(s->iov_buf, total);
			if (b == NULL)
				return;
			s->iov_buf = b;
			s->iov_cap = total;
		}
		memcpy(s->iov_buf, pkt, len);
		for (k = 0; k < meta->npayload; k++) {
			memcpy(s->iov_buf + len, meta->payload[k].base, meta->payload[k].len);
			len += meta->payload[k].len;
		}
		pkt = s->iov_buf;
	}

	if (meta != NULL && (meta->gso_size > 0 || meta->csum_partial))
		sim_gso_split(s, n, pkt, len, meta);
	else
		sim_send(s, n, pkt, len);
}

/* --- nodes ------------------------------------------------------------------ */

static void sim_event_cb(void *user, mps_conn *c, enum mps_event ev, int err)
{
	sim_node *n = user;

	n->evented = true;
	if (n->app.event != NULL)
		n->app.event(n->app.ctx, n, c, ev, err);
}

/* After a stack call of n: let its app act on what happened. */
static void sim_node_after_call(sim_node *n)
{
	int round;

	if (n->alive && !stack_timers_consistent(n->stack)) {
		/* The stack's timer heap lost track of a connection. */
		fprintf(stderr, "sim: timer heap inconsistent at %" PRIu64 "\n", n->sim->now);
		abort();
	}

	for (round = 0; round < SIM_MAX_APP_ROUNDS && n->evented && n->alive; round++) {
		n->evented = false;
		if (n->app.run != NULL)
			n->app.run(n->app.ctx, n, n->sim->now);
	}
}

sim_node *sim_add_node(sim *s, const char *name, const mps_config *cfg, const mps_addr *addrs,
		       size_t naddrs)
{
	mps_config c;
	sim_node *n;
	size_t i;

	if (s->nnodes == SIM_MAX_NODES || naddrs > SIM_MAX_NODE_ADDRS)
		return NULL;
	n = calloc(1, sizeof(*n));
	if (n == NULL)
		return NULL;
	n->sim = s;
	n->index = s->nnodes;
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->rng = sim_rand_stream(s->seed, 0x100 + n->index);
	n->alive = true;
	if (cfg != NULL)
		c = *cfg;
	else
		memset(&c, 0, sizeof(c));
	c.cb.output = sim_output;
	c.cb.event = sim_event_cb;
	c.cb.random = sim_node_random;
	c.user = n;
	if (mps_stack_new(&n->stack, &c) < 0) {
		free(n);
		return NULL;
	}
	for (i = 0; i < naddrs; i++) {
		if (mps_stack_add_addr(n->stack, &addrs[i]) < 0) {
			mps_stack_free(n->stack);
			free(n);
			return NULL;
		}
		n->addrs[i] = addrs[i];
	}
	n->naddrs = naddrs;
	s->nodes[s->nnodes++] = n;
	return n;
}

void sim_node_set_app(sim_node *n, const sim_app *app)
{
	if (app != NULL)
		n->app = *app;
	else
		memset(&n->app, 0, sizeof(n->app));
}

mps_stack *sim_node_stack(const sim_node *n)
{
	return n->stack;
}

const char *sim_node_name(const sim_node *n)
{
	return n->name;
}

sim *sim_node_sim(const sim_node *n)
{
	return n->sim;
}

bool sim_node_alive(const sim_node *n)
{
	return n->alive;
}

void sim_node_kill_at(sim_node *n, uint64_t at)
{
	sim_event *ev = sim_event_new(SIM_EV_KILL, at, 0);

	if (ev == NULL)
		return;
	ev->node = n;
	sim_push(n->sim, ev);
}

void sim_node_wake_at(sim_node *n, uint64_t at)
{
	sim_event *ev = sim_event_new(SIM_EV_WAKE, at, 0);

	if (ev == NULL)
		return;
	ev->node = n;
	sim_push(n->sim, ev);
}

/* --- links (public) --------------------------------------------------------- */

sim_link *sim_add_link(sim *s, const mps_addr *a, const mps_addr *b, const sim_dir_cfg *ab,
		       const sim_dir_cfg *ba)
{
	sim_link *l;

	if (s->nlinks == SIM_MAX_LINKS || sim_find_link(s, a, b) != NULL)
		return NULL;
	l = calloc(1, sizeof(*l));
	if (l == NULL)
		return NULL;
	l->sim = s;
	l->index = s->nlinks;
	l->end[SIM_AB] = *a;
	l->end[SIM_BA] = *b;
	l->end[SIM_AB].port = l->end[SIM_BA].port = 0;
	if (ab != NULL)
		l->dir[SIM_AB].cfg = *ab;
	if (ba != NULL)
		l->dir[SIM_BA].cfg = *ba;
	l->dir[SIM_AB].rng = sim_rand_stream(s->seed, 0x200 + 2 * l->index);
	l->dir[SIM_BA].rng = sim_rand_stream(s->seed, 0x200 + 2 * l->index + 1);
	s->links[s->nlinks++] = l;
	return l;
}

sim_link *sim_find_link(const sim *s, const mps_addr *a, const mps_addr *b)
{
	enum sim_dir dir;

	return sim_route(s, a, b, &dir);
}

void sim_link_down_at(sim_link *l, uint64_t at, bool down)
{
	sim_event *ev = sim_event_new(SIM_EV_LINK, at, 0);

	if (ev == NULL)
		return;
	ev->link = l;
	ev->down = down;
	sim_push(l->sim, ev);
}

bool sim_link_is_down(const sim_link *l)
{
	return l->down;
}

void sim_link_get_stats(const sim_link *l, enum sim_dir dir, sim_dir_stats *st)
{
	*st = l->dir[dir].st;
}

const mps_addr *sim_link_end(const sim_link *l, enum sim_dir from)
{
	return &l->end[from];
}

void sim_set_filter(sim *s, sim_filter_fn fn, void *user)
{
	s->filter = fn;
	s->filter_user = user;
}

void sim_set_tap(sim *s, sim_tap_fn fn, void *user)
{
	s->tap = fn;
	s->tap_user = user;
}

void sim_node_output(sim_node *n, const uint8_t *pkt, size_t len, const mps_out_meta *meta)
{
	sim_output(n, pkt, len, meta);
}

/* --- the sim ----------------------------------------------------------------- */

sim *sim_new(uint64_t seed)
{
	const char *pcap = getenv("SIM_PCAP");
	const char *trace = getenv("SIM_TRACE");
	sim *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->seed = seed;
	s->trace_live = trace != NULL && trace[0] != '\0' && strcmp(trace, "0") != 0;
	if (pcap != NULL && pcap[0] != '\0' && sim_pcap_open(s, pcap) < 0)
		fprintf(stderr, "sim: cannot write %s\n", pcap);
	return s;
}

void sim_free(sim *s)
{
	size_t i;

	if (s == NULL)
		return;
	while (s->nheap > 0)
		free(sim_pop(s));
	free(s->heap);
	for (i = 0; i < s->nnodes; i++) {
		mps_stack_free(s->nodes[i]->stack);
		free(s->nodes[i]);
	}
	for (i = 0; i < s->nlinks; i++)
		free(s->links[i]);
	if (s->pcap != NULL)
		fclose(s->pcap);
	free(s->trace);
	free(s->gso_buf);
	free(s->iov_buf);
	free(s);
}

uint64_t sim_now(const sim *s)
{
	return s->now;
}

uint64_t sim_seed(const sim *s)
{
	return s->seed;
}

void sim_get_stats(const sim *s, sim_stats *st)
{
	*st = s->st;
}

static void sim_deliver(sim *s, sim_event *ev)
{
	sim_link *l = ev->link;
	enum sim_dir dir = ev->dir;
	sim_dir_state *d = &l->dir[dir];
	sim_node *to = sim_owner(s, &l->end[dir == SIM_AB ? SIM_BA : SIM_AB]);
	sim_pkt_info pi;
	bool tracing = sim_tracing(s);

	if (tracing || s->tap != NULL)
		sim_pkt_parse(ev->pkt, ev->len, &pi);
	if (l->down) {
		d->st.drops[SIM_DROP_DOWN]++;
		if (tracing)
			sim_trace(s, "drop (link down)", &pi);
		return;
	}
	if (to == NULL || !to->alive) {
		d->st.drops[SIM_DROP_DEAD]++;
		if (tracing)
			sim_trace(s, "drop (node dead)", &pi);
		return;
	}
	d->st.pkts_delivered++;
	d->st.bytes_delivered += ev->len;
	d->st.payload_delivered += ev->payload;
	if (tracing) {
		char what[40];
		snprintf(what, sizeof(what), "recv %s", to->name);
		sim_trace(s, what, &pi);
	}
	if (s->tap != NULL)
		s->tap(s->tap_user, l, dir, &pi, s->now);
	if (mps_stack_input(to->stack, ev->pkt, ev->len, s->now) < 0)
		s->st.input_errors++;
	sim_node_after_call(to);
}

static void sim_handle_event(sim *s, sim_event *ev)
{
	switch (ev->type) {
	case SIM_EV_DELIVER:
		sim_deliver(s, ev);
		break;
	case SIM_EV_LINK:
		ev->link->down = ev->down;
		break;
	case SIM_EV_KILL:
		ev->node->alive = false;
		break;
	case SIM_EV_WAKE:
		if (ev->node->alive && ev->node->app.run != NULL) {
			ev->node->app.run(ev->node->app.ctx, ev->node, s->now);
			sim_node_after_call(ev->node);
		}
		break;
	}
}

int sim_run(sim *s, uint64_t until, sim_done_fn done, void *user)
{
	uint64_t stuck_at = MPS_TIME_NONE;
	unsigned stuck = 0;

	for (;;) {
		uint64_t t_ev, t_tm = MPS_TIME_NONE, t;
		sim_node *tn = NULL;
		size_t i;

		if (done != NULL && done(user))
			return 0;
		t_ev = s->nheap > 0 ? s->heap[0]->time : MPS_TIME_NONE;
		for (i = 0; i < s->nnodes; i++) {
			uint64_t e;
			if (!s->nodes[i]->alive)
				continue;
			e = mps_stack_next_expiry(s->nodes[i]->stack);
			if (e < t_tm) {
				t_tm = e;
				tn = s->nodes[i];
			}
		}
		t = t_ev < t_tm ? t_ev : t_tm;
		if (t == MPS_TIME_NONE)
			return MPS_ERR_AGAIN;
		if (t > until) {
			s->now = until;
			return MPS_ERR_TIMEOUT;
		}
		if (t > s->now)
			s->now = t;
		s->st.events++;
		if (t_ev <= t_tm) {
			sim_event *ev = sim_pop(s);
			sim_handle_event(s, ev);
			free(ev);
			continue;
		}
		/* A timer: the same instant again and again is a livelock. */
		if (stuck_at == s->now) {
			if (++stuck > SIM_LIVELOCK_STEPS)
				return MPS_ERR_STATE;
		} else {
			stuck_at = s->now;
			stuck = 0;
		}
		mps_stack_handle_expiry(tn->stack, s->now);
		sim_node_after_call(tn);
	}
}
