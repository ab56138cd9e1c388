/*
 * test_conn.c - connection-level behaviour of the stack, driven through the
 * public API: two stacks joined by a packet queue in virtual time (a tiny
 * version of tests/sim without rates or delays), plus checks on what goes on
 * the wire, parsed back with the codec.
 */
#include "unit.h"

#include "mps.h"
#include "opt.h"
#include "pkt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T_MAXPKT 2048
#define T_QLEN 4096

typedef struct t_pkt {
	uint8_t data[1600];
	size_t len;
} t_pkt;

typedef struct t_net t_net;

typedef struct t_host {
	t_net *net;
	mps_stack *s;
	mps_addr addr[2];
	int naddr;
	mps_conn *conn;      /* client: the connection; server: the accepted one */
	uint8_t *rx;         /* received bytes */
	size_t rxlen, rxcap;
	bool eof, closed;
	int close_err;
	size_t tx_total, tx_done; /* server: bytes to send */
	bool shut;
	bool wait_request;   /* server: send only after the client's request */
	uint64_t rng;
} t_host;

struct t_net {
	t_pkt q[T_QLEN];
	size_t head, n;
	t_host cli, srv;
	uint64_t now;
	uint32_t drop_every; /* drop every Nth packet (0 = none) */
	uint32_t count;
	bool strip_mptcp;    /* remove MPTCP options in flight (a middlebox) */
	uint32_t corrupt_nth; /* flip a payload byte of the Nth data packet, fixing the TCP checksum */
	uint32_t data_count;
	uint64_t mpc_seen, dss_seen, join_seen;
};

static uint8_t t_pattern(size_t i)
{
	return (uint8_t)((i * 2654435761u) >> 13);
}

static void t_random(void *user, void *buf, size_t len)
{
	t_host *h = user;
	uint8_t *b = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		h->rng ^= h->rng << 13;
		h->rng ^= h->rng >> 7;
		h->rng ^= h->rng << 17;
		b[i] = (uint8_t)h->rng;
	}
}

/* Rebuild pkt (parsed as p) with other option bytes and payload: the
 * middleboxes below edit a copy and write the packet back with correct
 * IP and TCP checksums. */
static void t_rebuild(uint8_t *pkt, const mps_pkt *p, const uint8_t *opts, const uint8_t *payload)
{
	mps_tcp_out out;
	mps_iov iov = {payload, p->paylen};

	memset(&out, 0, sizeof(out));
	out.src = &p->src;
	out.dst = &p->dst;
	out.seq = p->seq;
	out.ack = p->ack;
	out.flags = p->flags;
	out.window = p->window;
	out.opts = opts;
	out.optlen = p->optlen;
	out.payload = &iov;
	out.niov = 1;
	mps_pkt_build_tcp(pkt, 1600, &out, 0);
}

/* Replace every MPTCP option by NOPs. */
static void t_strip(uint8_t *pkt, size_t len)
{
	mps_pkt p;
	uint8_t copy[1600], opts[40];
	size_t i = 0;

	if (mps_pkt_parse(&p, pkt, len, 0) != 0 || p.proto != MPS_IPPROTO_TCP)
		return;
	memcpy(opts, p.opts, p.optlen);
	while (i < p.optlen) {
		if (opts[i] == 0)
			break;
		if (opts[i] == 1) {
			i++;
			continue;
		}
		if (i + 1 >= p.optlen || opts[i + 1] < 2)
			break;
		if (opts[i] == 30)
			memset(opts + i, 1, opts[i + 1]);
		i += opts[i + 1];
	}
	memcpy(copy, p.payload, p.paylen);
	t_rebuild(pkt, &p, opts, copy);
}

/* A middlebox that changes one payload byte and fixes the TCP checksum, so
 * only the DSS checksum can tell (RFC 8684 §3.3.1). */
static void t_corrupt(uint8_t *pkt, size_t len)
{
	mps_pkt p;
	uint8_t copy[1600], opts[40];

	if (mps_pkt_parse(&p, pkt, len, 0) != 0 || p.paylen < 2)
		return;
	memcpy(copy, p.payload, p.paylen);
	copy[p.paylen / 2] ^= 0x5a;
	memcpy(opts, p.opts, p.optlen);
	t_rebuild(pkt, &p, opts, copy);
}

static bool t_want_csum;

static void t_output(void *user, const uint8_t *pkt, size_t len, const mps_out_meta *meta)
{
	t_host *h = user;
	t_net *n = h->net;
	t_pkt *slot;
	mps_pkt p;
	mps_opts o;

	(void)meta;
	CU_ASSERT_FATAL(len <= sizeof(n->q[0].data));
	if (mps_pkt_parse(&p, pkt, len, 0) == 0 && mps_opt_parse(&o, p.opts, p.optlen, p.flags) == 0) {
		if (o.present & MPS_OPT_MPC)
			n->mpc_seen++;
		if (o.present & MPS_OPT_DSS)
			n->dss_seen++;
		if (o.present & MPS_OPT_JOIN)
			n->join_seen++;
		if (getenv("T_TRACE")) {
			char a[MPS_ADDR_STRLEN], b[MPS_ADDR_STRLEN];
			fprintf(stderr, "%8.3f %s > %s fl %02x seq %u ack %u len %zu opts %04x\n",
				(double)n->now / 1e6, mps_addr_format(&p.src, a), mps_addr_format(&p.dst, b),
				p.flags, p.seq, p.ack, p.paylen, o.present);
		}
	}
	n->count++;
	if (n->drop_every && n->count % n->drop_every == 0)
		return;
	if (n->n == T_QLEN)
		return; /* queue full: dropped */
	slot = &n->q[(n->head + n->n) % T_QLEN];
	memcpy(slot->data, pkt, len);
	slot->len = len;
	if (n->strip_mptcp)
		t_strip(slot->data, len);
	if (n->corrupt_nth && p.paylen > 100 && ++n->data_count == n->corrupt_nth)
		t_corrupt(slot->data, len);
	n->n++;
}

static void t_srv_pump(t_host *h)
{
	uint8_t buf[16384];

	if (h->wait_request && h->rxlen < 4)
		return;
	while (h->conn && h->tx_done < h->tx_total) {
		size_t k = h->tx_total - h->tx_done, i;
		ssize_t r;
		if (k > sizeof(buf))
			k = sizeof(buf);
		for (i = 0; i < k; i++)
			buf[i] = t_pattern(h->tx_done + i);
		r = mps_conn_send(h->conn, buf, k, h->net->now);
		if (r <= 0)
			break;
		h->tx_done += (size_t)r;
	}
	if (h->conn && h->tx_done == h->tx_total && !h->shut) {
		h->shut = true;
		mps_conn_shutdown(h->conn, h->net->now);
	}
}

static void t_read_all(t_host *h)
{
	uint8_t buf[8192];
	ssize_t r;

	while (h->conn) {
		r = mps_conn_recv(h->conn, buf, sizeof(buf), h->net->now);
		if (r == 0) {
			h->eof = true;
			if (!h->shut && h->tx_total == 0) {
				h->shut = true;
				mps_conn_shutdown(h->conn, h->net->now);
			}
			break;
		}
		if (r < 0)
			break;
		if (h->rxlen + (size_t)r > h->rxcap) {
			h->rxcap = (h->rxlen + (size_t)r) * 2;
			h->rx = realloc(h->rx, h->rxcap);
		}
		memcpy(h->rx + h->rxlen, buf, (size_t)r);
		h->rxlen += (size_t)r;
	}
}

static void t_event(void *user, mps_conn *c, enum mps_event ev, int err)
{
	t_host *h = user;

	if (getenv("T_TRACE"))
		fprintf(stderr, "event %d on %s err %d\n", ev, h == &h->net->srv ? "srv" : "cli", err);
	switch (ev) {
	case MPS_EV_ACCEPT:
		h->conn = c;
		t_srv_pump(h);
		break;
	case MPS_EV_READABLE:
		t_read_all(h);
		if (h->tx_total)
			t_srv_pump(h);
		break;
	case MPS_EV_WRITABLE:
		t_srv_pump(h);
		break;
	case MPS_EV_CLOSED:
		h->closed = true;
		h->close_err = err;
		break;
	default:
		break;
	}
}

static void t_host_init(t_net *n, t_host *h, const char *a1, const char *a2, uint64_t seed, bool no_mptcp)
{
	mps_config cfg;

	memset(h, 0, sizeof(*h));
	h->net = n;
	h->rng = seed;
	memset(&cfg, 0, sizeof(cfg));
	cfg.cb.output = t_output;
	cfg.cb.event = t_event;
	cfg.cb.random = t_random;
	cfg.user = h;
	cfg.no_mptcp = no_mptcp;
	cfg.dss_checksum = t_want_csum;
	cfg.rcvbuf = 256 * 1024;
	cfg.sndbuf = 256 * 1024;
	CU_ASSERT_FATAL(mps_stack_new(&h->s, &cfg) == 0);
	CU_ASSERT_FATAL(mps_addr_parse(&h->addr[0], a1) == 0);
	CU_ASSERT(mps_stack_add_addr(h->s, &h->addr[0]) >= 0);
	h->naddr = 1;
	if (a2 != NULL) {
		CU_ASSERT_FATAL(mps_addr_parse(&h->addr[1], a2) == 0);
		CU_ASSERT(mps_stack_add_addr(h->s, &h->addr[1]) >= 0);
		h->naddr = 2;
	}
}

static t_host *t_owner(t_net *n, const uint8_t *pkt, size_t len)
{
	mps_pkt p;
	int i;

	if (mps_pkt_parse(&p, pkt, len, 0) != 0)
		return NULL;
	for (i = 0; i < n->cli.naddr; i++)
		if (mps_addr_ip_eq(&p.dst, &n->cli.addr[i]))
			return &n->cli;
	for (i = 0; i < n->srv.naddr; i++)
		if (mps_addr_ip_eq(&p.dst, &n->srv.addr[i]))
			return &n->srv;
	return NULL;
}

/* Run until the client saw EOF and both sides closed, or a time limit. */
static void t_run(t_net *n, uint64_t limit)
{
	while (n->now < limit) {
		if (n->n > 0) {
			t_pkt *p = &n->q[n->head];
			t_host *h;
			static uint8_t buf[1600];
			size_t len = p->len;
			memcpy(buf, p->data, len);
			n->head = (n->head + 1) % T_QLEN;
			n->n--;
			n->now += 10 * MPS_NS_PER_US;
			h = t_owner(n, buf, len);
			if (h != NULL)
				mps_stack_input(h->s, buf, len, n->now);
		} else {
			uint64_t a = mps_stack_next_expiry(n->cli.s);
			uint64_t b = mps_stack_next_expiry(n->srv.s);
			uint64_t t = a < b ? a : b;
			if (t == MPS_TIME_NONE) {
				if (getenv("T_TRACE"))
					fprintf(stderr, "t_run: idle at %.3f ms\n", (double)n->now / 1e6);
				break;
			}
			if (t > n->now)
				n->now = t;
			mps_stack_handle_expiry(n->cli.s, n->now);
			mps_stack_handle_expiry(n->srv.s, n->now);
		}
		t_srv_pump(&n->srv);
		if (n->cli.eof && n->cli.closed && n->srv.closed && n->n == 0)
			break;
	}
}

static t_net *t_setup2(bool srv_no_mptcp, bool cli_no_mptcp, const char *cli2, size_t bytes)
{
	t_net *n = calloc(1, sizeof(*n));
	mps_addr listen;
	mps_connect_params cp;

	t_host_init(n, &n->cli, "10.77.0.2", cli2, 0x1234567, cli_no_mptcp);
	t_host_init(n, &n->srv, "10.88.1.1", NULL, 0x7654321, srv_no_mptcp);
	n->srv.tx_total = bytes;
	CU_ASSERT_FATAL(mps_addr_parse(&listen, "10.88.1.1:8080") == 0);
	CU_ASSERT_FATAL(mps_listen(n->srv.s, &listen) == 0);
	memset(&cp, 0, sizeof(cp));
	cp.remote = listen;
	return n;
}

static t_net *t_setup(bool srv_no_mptcp, const char *cli2, size_t bytes)
{
	return t_setup2(srv_no_mptcp, false, cli2, bytes);
}

static void t_connect(t_net *n)
{
	mps_connect_params cp;

	memset(&cp, 0, sizeof(cp));
	mps_addr_parse(&cp.remote, "10.88.1.1:8080");
	CU_ASSERT_FATAL(mps_connect(n->cli.s, &cp, n->now, &n->cli.conn) == 0);
}

static void t_check_payload(t_net *n, size_t bytes)
{
	size_t i, bad = 0;

	CU_ASSERT_EQUAL(n->cli.rxlen, bytes);
	for (i = 0; i < n->cli.rxlen && i < bytes; i++)
		if (n->cli.rx[i] != t_pattern(i))
			bad++;
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(n->cli.eof);
}

static void t_teardown(t_net *n)
{
	if (n->cli.conn)
		mps_conn_close(n->cli.conn, n->now);
	if (n->srv.conn)
		mps_conn_close(n->srv.conn, n->now);
	t_run(n, n->now + 10ull * 1000 * MPS_NS_PER_MS);
	mps_stack_free(n->cli.s);
	mps_stack_free(n->srv.s);
	free(n->cli.rx);
	free(n->srv.rx);
	free(n);
}

static void test_conn_mptcp_transfer_is_byte_exact(void)
{
	t_net *n = t_setup(false, NULL, 1000000);
	mps_conn_info ci;
	mps_subflow_info si[4];

	t_connect(n);
	t_run(n, 60ull * 1000 * MPS_NS_PER_MS);
	t_check_payload(n, 1000000);
	mps_conn_get_info(n->cli.conn, &ci, si, 4);
	CU_ASSERT(ci.mptcp);
	CU_ASSERT(!ci.fallback);
	CU_ASSERT(n->mpc_seen >= 3);
	CU_ASSERT(n->dss_seen > 0);
	t_teardown(n);
}

static void test_conn_plain_tcp_server_falls_back(void)
{
	t_net *n = t_setup(true, NULL, 300000);
	mps_conn_info ci;

	t_connect(n);
	t_run(n, 60ull * 1000 * MPS_NS_PER_MS);
	t_check_payload(n, 300000);
	mps_conn_get_info(n->cli.conn, &ci, NULL, 0);
	CU_ASSERT(!ci.mptcp);
	CU_ASSERT(n->dss_seen == 0);
	t_teardown(n);
}

static void test_conn_plain_tcp_client_is_served(void)
{
	t_net *n = t_setup2(false, true, NULL, 300000);
	mps_conn_info ci;

	t_connect(n);
	t_run(n, 60ull * 1000 * MPS_NS_PER_MS);
	t_check_payload(n, 300000);
	CU_ASSERT_FATAL(n->srv.conn != NULL);
	mps_conn_get_info(n->srv.conn, &ci, NULL, 0);
	CU_ASSERT(!ci.mptcp);
	CU_ASSERT(n->mpc_seen == 0);
	t_teardown(n);
}

static void test_conn_plain_tcp_request_response(void)
{
	t_net *n = t_setup2(false, true, NULL, 300000);

	n->srv.wait_request = true;
	t_connect(n);
	CU_ASSERT(mps_conn_send(n->cli.conn, (const uint8_t *)"GET /", 5, n->now) == 5);
	t_run(n, 60ull * 1000 * MPS_NS_PER_MS);
	t_check_payload(n, 300000);
	t_teardown(n);
}

static void test_conn_mptcp_request_response(void)
{
	t_net *n = t_setup2(false, false, NULL, 300000);

	n->srv.wait_request = true;
	t_connect(n);
	CU_ASSERT(mps_conn_send(n->cli.conn, (const uint8_t *)"GET /", 5, n->now) == 5);
	t_run(n, 60ull * 1000 * MPS_NS_PER_MS);
	t_check_payload(n, 300000);
	t_teardown(n);
}

static void test_conn_stripped_options_fall_back(void)
{
	t_net *n = t_setup(false, NULL, 300000);

	n->strip_mptcp = true;
	t_connect(n);
	t_run(n, 60ull * 1000 * MPS_NS_PER_MS);
	t_check_payload(n, 300000);
	t_teardown(n);
}

static void test_conn_two_client_addresses_join(void)
{
	t_net *n = t_setup(false, "10.77.0.3", 2000000);
	mps_conn_info ci;
	mps_subflow_info si[4];
	size_t k, i, used = 0;

	t_connect(n);
	t_run(n, 60ull * 1000 * MPS_NS_PER_MS);
	t_check_payload(n, 2000000);
	CU_ASSERT(n->join_seen >= 3);
	k = mps_conn_get_info(n->srv.conn, &ci, si, 4);
	CU_ASSERT_EQUAL(k, 2);
	for (i = 0; i < k; i++)
		if (si[i].bytes_sent > 0)
			used++;
	CU_ASSERT_EQUAL(used, 2);
	t_teardown(n);
}

static void test_conn_survives_periodic_loss(void)
{
	t_net *n = t_setup(false, NULL, 500000);

	n->drop_every = 37;
	t_connect(n);
	t_run(n, 120ull * 1000 * MPS_NS_PER_MS);
	t_check_payload(n, 500000);
	t_teardown(n);
}

static void test_conn_dss_checksum_transfer_is_byte_exact(void)
{
	t_net *n;
	mps_conn_info ci;

	t_want_csum = true;
	n = t_setup(false, "10.77.0.3", 600000);
	t_want_csum = false;
	n->srv.wait_request = true;
	t_connect(n);
	CU_ASSERT(mps_conn_send(n->cli.conn, (const uint8_t *)"GET /", 5, n->now) == 5);
	t_run(n, 60ull * 1000 * MPS_NS_PER_MS);
	t_check_payload(n, 600000);
	mps_conn_get_info(n->cli.conn, &ci, NULL, 0);
	CU_ASSERT(ci.mptcp);
	t_teardown(n);
}

static void test_conn_dss_checksum_catches_corruption(void)
{
	t_net *n;
	size_t i, bad = 0;

	t_want_csum = true;
	n = t_setup(false, NULL, 300000);
	t_want_csum = false;
	n->corrupt_nth = 20;
	t_connect(n);
	t_run(n, 60ull * 1000 * MPS_NS_PER_MS);
	/* One subflow: the connection ends with an explicit error, and
	 * nothing corrupted was ever delivered. */
	for (i = 0; i < n->cli.rxlen; i++)
		if (n->cli.rx[i] != t_pattern(i))
			bad++;
	CU_ASSERT_EQUAL(bad, 0);
	CU_ASSERT(n->cli.rxlen < 300000);
	CU_ASSERT(n->cli.closed);
	CU_ASSERT_EQUAL(n->cli.close_err, MPS_ERR_CHECKSUM);
	t_teardown(n);
}

static CU_TestInfo tests_conn[] = {
	{"test_conn_dss_checksum_transfer_is_byte_exact", test_conn_dss_checksum_transfer_is_byte_exact},
	{"test_conn_dss_checksum_catches_corruption", test_conn_dss_checksum_catches_corruption},
	{"test_conn_mptcp_transfer_is_byte_exact", test_conn_mptcp_transfer_is_byte_exact},
	{"test_conn_plain_tcp_server_falls_back", test_conn_plain_tcp_server_falls_back},
	{"test_conn_plain_tcp_client_is_served", test_conn_plain_tcp_client_is_served},
	{"test_conn_plain_tcp_request_response", test_conn_plain_tcp_request_response},
	{"test_conn_mptcp_request_response", test_conn_mptcp_request_response},
	{"test_conn_stripped_options_fall_back", test_conn_stripped_options_fall_back},
	{"test_conn_two_client_addresses_join", test_conn_two_client_addresses_join},
	{"test_conn_survives_periodic_loss", test_conn_survives_periodic_loss},
	CU_TEST_INFO_NULL,
};

UNIT_SUITE(conn, tests_conn)
