/*
 * test_sim.c - tests of the simulator itself: packet parsing, the link model
 * (delay, rate, FIFO limit, loss, reordering, duplication, down), routing,
 * node death, GSO splitting, pcap output, the event loop's stop reasons, the
 * pattern and the determinism of whole runs.
 *
 * Packets are forged by a small builder (sim_test_pkt) and injected with
 * sim_node_output(); a tap records what arrives and when.
 */
#include "../unit/unit.h"
#include "sim.h"
#include "sim_app.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MS MPS_NS_PER_MS

/* --- helpers ------------------------------------------------------------------ */

typedef struct tap_log {
	size_t n;
	uint64_t t[256];
	uint32_t seq[256];
	enum sim_dir dir[256];
	uint16_t len[256];
	bool csum_ok[256];
} tap_log;

static void tap_record(void *user, const sim_link *l, enum sim_dir dir, const sim_pkt_info *pi,
		       uint64_t now)
{
	tap_log *t = user;

	(void)l;
	if (t->n == 256 || dir != SIM_AB)
		return; /* only A->B: B's stack answers forged segments with RSTs */
	t->t[t->n] = now;
	t->seq[t->n] = pi->seq;
	t->dir[t->n] = dir;
	t->len[t->n] = (uint16_t)pi->payload;
	t->n++;
}

static void ip4(mps_addr *a, uint8_t x, uint8_t y, uint8_t z, uint8_t w)
{
	uint8_t ip[4] = {x, y, z, w};

	mps_addr_set_v4(a, ip, 0);
}

static uint32_t test_sum(uint32_t sum, const uint8_t *p, size_t len)
{
	size_t i;

	for (i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	return sum;
}

static uint16_t test_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

/* An IPv4 TCP packet from a:1000 to b:80 with payload bytes and optional
 * TCP options (opt, optlen a multiple of 4); correct checksums.  Returns its
 * length. */
static size_t sim_test_pkt(uint8_t *buf, const mps_addr *a, const mps_addr *b, uint32_t seq,
			   uint8_t flags, const uint8_t *opt, size_t optlen, size_t payload)
{
	size_t thl = 20 + optlen, len = 20 + thl + payload, i;
	uint32_t sum;
	uint16_t c;

	memset(buf, 0, len);
	buf[0] = 0x45;
	buf[2] = (uint8_t)(len >> 8);
	buf[3] = (uint8_t)len;
	buf[8] = 64;
	buf[9] = 6;
	memcpy(buf + 12, a->ip, 4);
	memcpy(buf + 16, b->ip, 4);
	c = test_fold(test_sum(0, buf, 20));
	buf[10] = (uint8_t)(c >> 8);
	buf[11] = (uint8_t)c;
	buf[20] = 1000 >> 8;
	buf[21] = 1000 & 0xff;
	buf[23] = 80;
	buf[24] = (uint8_t)(seq >> 24);
	buf[25] = (uint8_t)(seq >> 16);
	buf[26] = (uint8_t)(seq >> 8);
	buf[27] = (uint8_t)seq;
	buf[32] = (uint8_t)((thl / 4) << 4);
	buf[33] = flags;
	buf[34] = 0xff;
	buf[35] = 0xff;
	if (optlen > 0)
		memcpy(buf + 40, opt, optlen);
	for (i = 0; i < payload; i++)
		buf[20 + thl + i] = (uint8_t)i;
	sum = test_sum(0, buf + 12, 8) + 6 + (uint32_t)(thl + payload);
	c = test_fold(test_sum(sum, buf + 20, thl + payload));
	buf[36] = (uint8_t)(c >> 8);
	buf[37] = (uint8_t)c;
	return len;
}

/* A sim with nodes A (10.0.0.1) and B (10.0.0.2) and a link A-B. */
typedef struct two_nodes {
	sim *s;
	sim_node *na, *nb;
	sim_link *l;
	mps_addr a, b;
	tap_log tap;
} two_nodes;

static void two_nodes_setup(two_nodes *t, uint64_t seed, const sim_dir_cfg *ab)
{
	memset(t, 0, sizeof(*t));
	ip4(&t->a, 10, 0, 0, 1);
	ip4(&t->b, 10, 0, 0, 2);
	t->s = sim_new(seed);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->s);
	t->na = sim_add_node(t->s, "A", NULL, &t->a, 1);
	t->nb = sim_add_node(t->s, "B", NULL, &t->b, 1);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->na);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->nb);
	t->l = sim_add_link(t->s, &t->a, &t->b, ab, NULL);
	CU_ASSERT_PTR_NOT_NULL_FATAL(t->l);
	sim_set_tap(t->s, tap_record, &t->tap);
}

static void two_nodes_send(two_nodes *t, size_t n, size_t payload)
{
	uint8_t buf[2000];
	size_t i, len;

	for (i = 0; i < n; i++) {
		len = sim_test_pkt(buf, &t->a, &t->b, (uint32_t)(1000 + i), SIM_TH_ACK, NULL, 0,
				   payload);
		sim_node_output(t->na, buf, len, NULL);
	}
}

/* --- packet parsing ---------------------------------------------------------------- */

static void test_parse_reads_tcp_and_dss(void)
{
	/* DSS with A, a (64-bit DATA_ACK), M (32-bit DSN), F; RFC 8684 §3.3 */
	uint8_t opt[24] = {30, 22, 0x20, 0x01 | 0x02 | 0x04 | 0x10,
			   0,  0,  0,	 0,
			   0,  0,  0x12, 0x34,
			   0,  0,  0x10, 0x00,
			   0,  0,  0,	 1,
			   0,  5,  1,	 1};
	mps_addr a, b;
	sim_pkt_info pi;
	uint8_t buf[200];
	char line[300];
	size_t len;

	ip4(&a, 10, 77, 0, 2);
	ip4(&b, 10, 88, 1, 1);
	len = sim_test_pkt(buf, &a, &b, 0xdeadbeef, SIM_TH_ACK | SIM_TH_FIN, opt, sizeof(opt), 5);
	CU_ASSERT_EQUAL(sim_pkt_parse(buf, len, &pi), 0);
	CU_ASSERT_TRUE(pi.tcp);
	CU_ASSERT_TRUE(mps_addr_ip_eq(&pi.src, &a));
	CU_ASSERT_EQUAL(pi.src.port, 1000);
	CU_ASSERT_EQUAL(pi.dst.port, 80);
	CU_ASSERT_EQUAL(pi.seq, 0xdeadbeef);
	CU_ASSERT_EQUAL(pi.flags, SIM_TH_ACK | SIM_TH_FIN);
	CU_ASSERT_EQUAL(pi.payload, 5);
	CU_ASSERT_TRUE(pi.dss);
	CU_ASSERT_TRUE(pi.dss_has_ack);
	CU_ASSERT_EQUAL(pi.data_ack, 0x1234);
	CU_ASSERT_TRUE(pi.dss_has_map);
	CU_ASSERT_EQUAL(pi.dsn, 0x1000);
	CU_ASSERT_EQUAL(pi.dss_len, 5);
	CU_ASSERT_TRUE(pi.data_fin);
	CU_ASSERT_FALSE(pi.mp_capable);
	sim_pkt_format(&pi, line, sizeof(line));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "DATA_FIN"));
	CU_ASSERT_PTR_NOT_NULL(strstr(line, "10.77.0.2:1000 > 10.88.1.1:80"));
}

static void test_parse_rejects_non_tcp(void)
{
	uint8_t junk[40] = {0x45, 0, 0, 40, 0, 0, 0, 0, 64, 17};
	sim_pkt_info pi;

	CU_ASSERT_EQUAL(sim_pkt_parse(junk, sizeof(junk), &pi), MPS_ERR_MALFORMED);
	CU_ASSERT_FALSE(pi.tcp);
	CU_ASSERT_EQUAL(sim_pkt_parse(junk, 3, &pi), MPS_ERR_MALFORMED);
}

/* --- link model ---------------------------------------------------------------------- */

static void test_link_delays_by_one_way_delay(void)
{
	sim_dir_cfg ab = {.delay_ns = 10 * MS};
	two_nodes t;

	two_nodes_setup(&t, 1, &ab);
	two_nodes_send(&t, 2, 100);
	CU_ASSERT_EQUAL(sim_run(t.s, 1000 * MS, NULL, NULL), MPS_ERR_AGAIN);
	CU_ASSERT_EQUAL(t.tap.n, 2);
	CU_ASSERT_EQUAL(t.tap.t[0], 10 * MS);
	CU_ASSERT_EQUAL(t.tap.t[1], 10 * MS);
	CU_ASSERT_EQUAL(t.tap.seq[0], 1000); /* FIFO order at equal times */
	CU_ASSERT_EQUAL(t.tap.seq[1], 1001);
	sim_free(t.s);
}

static void test_link_serializes_at_rate(void)
{
	/* 1250-byte packets at 10 Mbit/s: 1 ms each */
	sim_dir_cfg ab = {.rate_bps = 10000000, .delay_ns = 5 * MS, .queue_bytes = 100000};
	two_nodes t;
	size_t i;

	two_nodes_setup(&t, 1, &ab);
	two_nodes_send(&t, 4, 1250 - 40);
	sim_run(t.s, 1000 * MS, NULL, NULL);
	CU_ASSERT_EQUAL_FATAL(t.tap.n, 4);
	for (i = 0; i < 4; i++)
		CU_ASSERT_EQUAL(t.tap.t[i], (i + 1) * MS + 5 * MS);
	sim_free(t.s);
}

static void test_link_tail_drops_when_queue_full(void)
{
	sim_dir_cfg ab = {.rate_bps = 1000000, .queue_bytes = 3000};
	sim_dir_stats st;
	two_nodes t;

	two_nodes_setup(&t, 1, &ab);
	two_nodes_send(&t, 5, 1000 - 40);
	sim_run(t.s, 1000 * MS, NULL, NULL);
	sim_link_get_stats(t.l, SIM_AB, &st);
	CU_ASSERT_EQUAL(st.pkts_offered, 5);
	CU_ASSERT_EQUAL(st.pkts_delivered, 3);
	CU_ASSERT_EQUAL(st.drops[SIM_DROP_QUEUE], 2);
	CU_ASSERT_EQUAL(st.max_queue_bytes, 3000);
	CU_ASSERT_EQUAL(t.tap.n, 3);
	sim_free(t.s);
}

static void test_link_loses_per_mille_deterministically(void)
{
	sim_dir_cfg ab = {.loss_pm = 100};
	sim_dir_stats st1, st2;
	two_nodes t;

	two_nodes_setup(&t, 42, &ab);
	two_nodes_send(&t, 5000, 0);
	sim_link_get_stats(t.l, SIM_AB, &st1);
	sim_free(t.s);
	CU_ASSERT_TRUE(st1.drops[SIM_DROP_LOSS] > 400 && st1.drops[SIM_DROP_LOSS] < 600);
	two_nodes_setup(&t, 42, &ab);
	two_nodes_send(&t, 5000, 0);
	sim_link_get_stats(t.l, SIM_AB, &st2);
	sim_free(t.s);
	CU_ASSERT_EQUAL(st1.drops[SIM_DROP_LOSS], st2.drops[SIM_DROP_LOSS]);
	two_nodes_setup(&t, 43, &ab);
	two_nodes_send(&t, 5000, 0);
	sim_link_get_stats(t.l, SIM_AB, &st2);
	sim_free(t.s);
	CU_ASSERT_NOT_EQUAL(st1.drops[SIM_DROP_LOSS], st2.drops[SIM_DROP_LOSS]);
}

static void test_link_reorders_by_extra_delay(void)
{
	sim_dir_cfg ab = {.delay_ns = 1 * MS, .reorder_pm = 1000, .reorder_ns = 7 * MS};
	sim_dir_stats st;
	two_nodes t;

	two_nodes_setup(&t, 1, &ab);
	two_nodes_send(&t, 1, 0);
	sim_run(t.s, 1000 * MS, NULL, NULL);
	CU_ASSERT_EQUAL_FATAL(t.tap.n, 1);
	CU_ASSERT_EQUAL(t.tap.t[0], 8 * MS);
	sim_link_get_stats(t.l, SIM_AB, &st);
	CU_ASSERT_EQUAL(st.reordered, 1);
	sim_free(t.s);
}

static void test_link_duplicates(void)
{
	sim_dir_cfg ab = {.delay_ns = 1 * MS, .dup_pm = 1000};
	two_nodes t;

	two_nodes_setup(&t, 1, &ab);
	two_nodes_send(&t, 3, 10);
	sim_run(t.s, 1000 * MS, NULL, NULL);
	CU_ASSERT_EQUAL(t.tap.n, 6);
	sim_free(t.s);
}

static void test_link_down_drops_sent_and_in_flight(void)
{
	sim_dir_cfg ab = {.delay_ns = 10 * MS};
	sim_dir_stats st;
	two_nodes t;

	two_nodes_setup(&t, 1, &ab);
	two_nodes_send(&t, 1, 0); /* due at 10 ms, link down at 5 ms */
	sim_link_down_at(t.l, 5 * MS, true);
	sim_link_down_at(t.l, 20 * MS, false);
	CU_ASSERT_EQUAL(sim_run(t.s, 6 * MS, NULL, NULL), MPS_ERR_TIMEOUT);
	CU_ASSERT_EQUAL(sim_now(t.s), 6 * MS);
	CU_ASSERT_TRUE(sim_link_is_down(t.l));
	two_nodes_send(&t, 1, 0); /* sent while down */
	sim_run(t.s, 30 * MS, NULL, NULL);
	CU_ASSERT_FALSE(sim_link_is_down(t.l));
	two_nodes_send(&t, 1, 0); /* sent after it came back */
	sim_run(t.s, 100 * MS, NULL, NULL);
	sim_link_get_stats(t.l, SIM_AB, &st);
	CU_ASSERT_EQUAL(st.drops[SIM_DROP_DOWN], 2);
	CU_ASSERT_EQUAL(t.tap.n, 1);
	sim_free(t.s);
}

static void test_route_counts_packets_without_link(void)
{
	uint8_t buf[100];
	mps_addr other;
	sim_stats st;
	two_nodes t;
	size_t len;

	two_nodes_setup(&t, 1, NULL);
	ip4(&other, 10, 0, 0, 9);
	len = sim_test_pkt(buf, &t.a, &other, 1, SIM_TH_SYN, NULL, 0, 0);
	sim_node_output(t.na, buf, len, NULL);
	sim_get_stats(t.s, &st);
	CU_ASSERT_EQUAL(st.noroute, 1);
	CU_ASSERT_PTR_NULL(sim_find_link(t.s, &t.a, &other));
	CU_ASSERT_PTR_EQUAL(sim_find_link(t.s, &t.b, &t.a), t.l);
	CU_ASSERT_PTR_NULL(sim_add_link(t.s, &t.b, &t.a, NULL, NULL));
	sim_free(t.s);
}

static void test_dead_node_receives_nothing(void)
{
	sim_dir_cfg ab = {.delay_ns = 10 * MS};
	sim_dir_stats st;
	two_nodes t;

	two_nodes_setup(&t, 1, &ab);
	sim_node_kill_at(t.nb, 5 * MS);
	two_nodes_send(&t, 2, 0);
	sim_run(t.s, 100 * MS, NULL, NULL);
	CU_ASSERT_FALSE(sim_node_alive(t.nb));
	sim_link_get_stats(t.l, SIM_AB, &st);
	CU_ASSERT_EQUAL(st.drops[SIM_DROP_DEAD], 2);
	CU_ASSERT_EQUAL(t.tap.n, 0);
	sim_free(t.s);
}

static void test_gso_super_segment_is_cut(void)
{
	mps_out_meta meta = {.gso_size = 1000, .csum_partial = false};
	uint8_t buf[3000];
	sim_stats st;
	two_nodes t;
	size_t len;

	two_nodes_setup(&t, 1, NULL);
	len = sim_test_pkt(buf, &t.a, &t.b, 5000, SIM_TH_ACK | SIM_TH_PSH, NULL, 0, 2500);
	sim_node_output(t.na, buf, len, &meta);
	sim_run(t.s, 10 * MS, NULL, NULL);
	sim_get_stats(t.s, &st);
	CU_ASSERT_EQUAL(st.gso_split, 1);
	CU_ASSERT_EQUAL_FATAL(t.tap.n, 3);
	CU_ASSERT_EQUAL(t.tap.seq[0], 5000);
	CU_ASSERT_EQUAL(t.tap.seq[1], 6000);
	CU_ASSERT_EQUAL(t.tap.seq[2], 7000);
	CU_ASSERT_EQUAL(t.tap.len[0], 1000);
	CU_ASSERT_EQUAL(t.tap.len[2], 500);
	/* the pieces carry valid checksums: B's stack took them (it answered
	 * each with a RST instead of counting a checksum drop) */
	{
		mps_stack_stats ss;
		mps_stack_get_stats(sim_node_stack(t.nb), &ss);
		CU_ASSERT_EQUAL(ss.drop_checksum, 0);
		CU_ASSERT_EQUAL(ss.pkts_in, 3);
	}
	sim_free(t.s);
}

static void test_run_stops_at_limit_and_when_idle(void)
{
	two_nodes t;

	two_nodes_setup(&t, 1, NULL);
	CU_ASSERT_EQUAL(sim_run(t.s, 50 * MS, NULL, NULL), MPS_ERR_AGAIN);
	CU_ASSERT_EQUAL(sim_now(t.s), 0);
	sim_free(t.s);
}

static void test_pcap_file_has_header_and_records(void)
{
	char path[] = "/tmp/sim-test-pcap-XXXXXX";
	sim_dir_cfg ab = {.delay_ns = 1 * MS};
	uint32_t hdr[6];
	two_nodes t;
	FILE *f;
	long size;
	int fd;

	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	two_nodes_setup(&t, 1, &ab);
	CU_ASSERT_EQUAL(sim_pcap_open(t.s, path), 0);
	two_nodes_send(&t, 2, 10);
	sim_free(t.s);
	f = fopen(path, "rb");
	CU_ASSERT_PTR_NOT_NULL_FATAL(f);
	CU_ASSERT_EQUAL(fread(hdr, sizeof(hdr), 1, f), 1);
	CU_ASSERT_EQUAL(hdr[0], 0xa1b23c4d);
	CU_ASSERT_EQUAL(hdr[5], 101);
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	CU_ASSERT_EQUAL(size, 24 + 2 * (16 + 50));
	fclose(f);
	unlink(path);
	CU_ASSERT_EQUAL(sim_pcap_open(t.s = sim_new(1), "/nonexistent/dir/x.pcap"), MPS_ERR_IO);
	sim_free(t.s);
}

/* --- pattern and whole runs ---------------------------------------------------------- */

static void test_pattern_fill_matches_bytes_and_check_finds_errors(void)
{
	uint8_t buf[100];
	size_t i;

	sim_pattern_fill(buf, 13, sizeof(buf));
	for (i = 0; i < sizeof(buf); i++)
		CU_ASSERT_EQUAL(buf[i], sim_pattern_byte(13 + i));
	CU_ASSERT_EQUAL(sim_pattern_check(buf, 13, sizeof(buf)), sizeof(buf));
	buf[57] ^= 1;
	CU_ASSERT_EQUAL(sim_pattern_check(buf, 13, sizeof(buf)), 57);
	/* not a short period */
	CU_ASSERT_NOT_EQUAL(memcmp(buf, buf + 8, 16), 0);
}

static void test_xfer_same_seed_same_run(void)
{
	sim_xfer_result r1, r2;
	sim_xfer_cfg cfg;

	sim_xfer_defaults(&cfg);
	cfg.size = 300000;
	cfg.seed = 7;
	cfg.path[0].up.delay_ns = cfg.path[0].down.delay_ns = 5 * MS;
	cfg.path[0].down.loss_pm = 20;
	cfg.path[0].down.rate_bps = 20000000;
	sim_xfer_run(&cfg, &r1);
	sim_xfer_run(&cfg, &r2);
	CU_ASSERT_EQUAL(r1.ok, r2.ok);
	CU_ASSERT_EQUAL(r1.client.t_done, r2.client.t_done);
	CU_ASSERT_EQUAL(r1.sim.events, r2.sim.events);
	CU_ASSERT_EQUAL(r1.client.info.local_token, r2.client.info.local_token);
	CU_ASSERT_EQUAL(r1.link[0][SIM_BA].drops[SIM_DROP_LOSS],
			r2.link[0][SIM_BA].drops[SIM_DROP_LOSS]);
	cfg.seed = 8;
	sim_xfer_run(&cfg, &r2);
	CU_ASSERT_NOT_EQUAL(r1.client.info.local_token, r2.client.info.local_token);
}

static void test_xfer_rejects_bad_config(void)
{
	sim_xfer_result r;
	sim_xfer_cfg cfg;

	sim_xfer_defaults(&cfg);
	cfg.npaths = 0;
	CU_ASSERT_EQUAL(sim_xfer_run(&cfg, &r), MPS_ERR_INVAL);
	sim_xfer_defaults(&cfg);
	cfg.path[0].client = 1; /* only one client address */
	CU_ASSERT_EQUAL(sim_xfer_run(&cfg, &r), MPS_ERR_INVAL);
}

static CU_TestInfo tests_sim[] = {
    {"parse_reads_tcp_and_dss", test_parse_reads_tcp_and_dss},
    {"parse_rejects_non_tcp", test_parse_rejects_non_tcp},
    {"link_delays_by_one_way_delay", test_link_delays_by_one_way_delay},
    {"link_serializes_at_rate", test_link_serializes_at_rate},
    {"link_tail_drops_when_queue_full", test_link_tail_drops_when_queue_full},
    {"link_loses_per_mille_deterministically", test_link_loses_per_mille_deterministically},
    {"link_reorders_by_extra_delay", test_link_reorders_by_extra_delay},
    {"link_duplicates", test_link_duplicates},
    {"link_down_drops_sent_and_in_flight", test_link_down_drops_sent_and_in_flight},
    {"route_counts_packets_without_link", test_route_counts_packets_without_link},
    {"dead_node_receives_nothing", test_dead_node_receives_nothing},
    {"gso_super_segment_is_cut", test_gso_super_segment_is_cut},
    {"run_stops_at_limit_and_when_idle", test_run_stops_at_limit_and_when_idle},
    {"pcap_file_has_header_and_records", test_pcap_file_has_header_and_records},
    {"pattern_fill_matches_bytes_and_check_finds_errors",
     test_pattern_fill_matches_bytes_and_check_finds_errors},
    {"xfer_same_seed_same_run", test_xfer_same_seed_same_run},
    {"xfer_rejects_bad_config", test_xfer_rejects_bad_config},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(sim, tests_sim);
