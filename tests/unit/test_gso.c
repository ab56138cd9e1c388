/*
 * test_gso.c - device offloads: TCP super-segments out (TSO/GSO), coalesced
 * segments in (GRO), partial checksums.
 *
 * The forged peer of forge.c completes every partial checksum the way a
 * virtio-net device does and parses the result, so a wrong partial sum
 * fails the capture.  A super-segment is checked as the device will cut it:
 * every piece carries the same options, so the DSS mapping must cover the
 * whole super-segment for the pieces to be valid on their own.
 */
#include "forge.h"

#include <stdlib.h>
#include <string.h>

#define GSO_MAX 65535u

static void gso_app_send(fx *f, size_t len, uint32_t seed)
{
	uint8_t *buf = malloc(len);

	CU_ASSERT_FATAL(buf != NULL);
	fx_pattern(buf, len, seed);
	CU_ASSERT_EQUAL(mps_conn_send(f->conn, buf, len, f->now), (ssize_t)len);
	free(buf);
}

/* Acknowledge everything (subflow and data level) until the stack has sent
 * want bytes of data or stops sending; returns the data bytes seen. */
static size_t gso_pump(fx *f, size_t want, size_t *supers)
{
	size_t i, seen = 0, done = 0;
	int rounds;

	for (rounds = 0; rounds < 200 && seen < want; rounds++) {
		for (i = done; i < f->ncap; i++) {
			const fx_cap *c = &f->cap[i];

			if (c->rc != 0 || c->p.paylen == 0)
				continue;
			seen += c->p.paylen;
			if (c->meta.gso_size > 0)
				(*supers)++;
		}
		done = f->ncap;
		fx_advance(f, 5 * FX_MS);
		fx_ack(f, &f->sf[0]);
		if (f->ncap == done)
			break;
	}
	return seen;
}

/* A window big enough for several super-segments in flight. */
static fx_opts gso_opts(uint32_t gso_max)
{
	return (fx_opts){.mptcp = true, .gso_max = gso_max, .wscale = 7, .sndbuf = 1u << 20};
}

static void test_gso_super_segments_carry_a_mapping_that_covers_them(void)
{
	fx f;
	size_t i, supers = 0, n = 0;

	setup_established_server(&f, gso_opts(GSO_MAX));
	fx_clear(&f);
	gso_app_send(&f, 400000, 7);
	gso_pump(&f, 400000, &supers);
	for (i = 0; i < f.ncap; i++) {
		const fx_cap *c = &f.cap[i];
		uint32_t rel, dll, ssn;

		if (c->rc != 0 || c->p.paylen == 0)
			continue;
		/* every packet leaves its checksum to the device */
		CU_ASSERT(c->meta.csum_partial);
		if (c->meta.gso_size == 0)
			continue;
		n++;
		/* whole pieces of one size, the last may be short */
		CU_ASSERT(c->p.paylen > c->meta.gso_size);
		CU_ASSERT(c->meta.gso_size + c->p.optlen <= 1460);
		CU_ASSERT(c->len <= 65535);
		CU_ASSERT_FATAL(c->o.present & MPS_OPT_DSS);
		CU_ASSERT_FATAL(c->o.dss.has_map);
		CU_ASSERT(!c->o.dss.fin);
		/* the mapping (relative subflow sequence numbers) covers it */
		rel = c->p.seq - f.sf[0].irs;
		ssn = c->o.dss.ssn;
		dll = c->o.dss.dll;
		CU_ASSERT(ssn <= rel);
		CU_ASSERT((uint64_t)ssn + dll >= (uint64_t)rel + c->p.paylen);
		/* only options every piece may repeat */
		CU_ASSERT((c->o.present & ~(MPS_OPT_TS | MPS_OPT_SACK | MPS_OPT_DSS)) == 0);
	}
	CU_ASSERT(n >= 3);
	CU_ASSERT_EQUAL(n, supers);
	CU_ASSERT(fx_stats(&f).gso_out >= n);
	fx_free(&f);
}

static void test_gso_off_by_default_sends_mss_sized_full_checksums(void)
{
	fx f;
	size_t i, supers = 0;

	setup_established_server(&f, gso_opts(0));
	fx_clear(&f);
	gso_app_send(&f, 100000, 8);
	CU_ASSERT(gso_pump(&f, 100000, &supers) >= 100000);
	CU_ASSERT_EQUAL(supers, 0);
	for (i = 0; i < f.ncap; i++) {
		CU_ASSERT(!f.cap[i].meta.csum_partial);
		CU_ASSERT(f.cap[i].p.paylen + f.cap[i].p.optlen <= 1460);
	}
	CU_ASSERT_EQUAL(fx_stats(&f).gso_out, 0);
	fx_free(&f);
}

/* The DATA_FIN must not reach the peer before the last byte, so the segment
 * that carries it is never cut into pieces that all repeat it. */
static void test_gso_data_fin_never_rides_a_super_segment(void)
{
	fx f;
	size_t i, fins = 0, supers = 0;

	setup_established_server(&f, gso_opts(GSO_MAX));
	fx_clear(&f);
	gso_app_send(&f, 30000, 9);
	CU_ASSERT_EQUAL(mps_conn_shutdown(f.conn, f.now), 0);
	gso_pump(&f, 30000, &supers);
	for (i = 0; i < f.ncap; i++) {
		const fx_cap *c = &f.cap[i];

		if (c->rc == 0 && (c->o.present & MPS_OPT_DSS) && c->o.dss.fin) {
			fins++;
			CU_ASSERT_EQUAL(c->meta.gso_size, 0);
		}
	}
	CU_ASSERT(fins >= 1);
	fx_free(&f);
}

static void test_gso_super_segment_never_exceeds_gso_max(void)
{
	fx f;
	size_t i, supers = 0;

	setup_established_server(&f, gso_opts(8000));
	fx_clear(&f);
	gso_app_send(&f, 200000, 10);
	gso_pump(&f, 200000, &supers);
	CU_ASSERT(supers > 0);
	for (i = 0; i < f.ncap; i++)
		CU_ASSERT(f.cap[i].p.paylen <= 8000);
	fx_free(&f);
}

static void test_gso_without_checksum_offload_is_refused(void)
{
	mps_config cfg;
	mps_stack *s = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.cb.output = NULL;
	CU_ASSERT_EQUAL(mps_stack_new(&s, &cfg), MPS_ERR_INVAL); /* no output */
	cfg.cb.output = (void (*)(void *, const uint8_t *, size_t, const mps_out_meta *))abort;
	cfg.gso_max = 65535;
	CU_ASSERT_EQUAL(mps_stack_new(&s, &cfg), MPS_ERR_INVAL);
	cfg.csum_offload = true;
	CU_ASSERT_EQUAL(mps_stack_new(&s, &cfg), 0);
	mps_stack_free(s);
}

/* GRO: the device hands us 40 KB in one segment under one mapping; it is
 * delivered whole and acknowledged at once (it stands for many segments). */
static void test_gro_coalesced_segment_is_delivered_and_acked_at_once(void)
{
	fx f;
	fx_sf *sf;
	uint8_t *data, *got;
	size_t len = 40000;
	mps_in_meta im = {1448, true};
	mps_opts o;
	uint64_t d;

	setup_established_server(&f, (fx_opts){.mptcp = true, .rcvbuf = 1u << 20});
	sf = &f.sf[0];
	data = malloc(len);
	got = malloc(len + 10);
	CU_ASSERT_FATAL(data != NULL && got != NULL);
	fx_pattern(data, len, 11);
	d = f.dsn_nxt;
	memset(&o, 0, sizeof(o));
	fx_opt_data_ack(&f, &o);
	fx_opt_map(&o, d, fx_ssn(sf), (uint16_t)len);
	fx_clear(&f);
	CU_ASSERT_EQUAL(fx_send(&f, sf,
				(fx_seg){.flags = MPS_TH_ACK, .o = &o, .data = data, .len = len,
					 .meta = &im}),
			0);
	/* no delayed ACK: the answer is out before any time passes */
	CU_ASSERT_FATAL(fx_last(&f, sf, MPS_TH_ACK, MPS_TH_ACK) != NULL);
	CU_ASSERT_EQUAL(fx_last(&f, sf, MPS_TH_ACK, MPS_TH_ACK)->p.ack, sf->snd_nxt);
	CU_ASSERT_EQUAL(fx_read(&f, got, len + 10, NULL), len);
	CU_ASSERT_EQUAL(memcmp(got, data, len), 0);
	CU_ASSERT_EQUAL(fx_stats(&f).gro_in, 1);
	free(data);
	free(got);
	fx_free(&f);
}

/* A checksum the kernel left partial (or verified) is not checked again;
 * without that word from the device a bad checksum is dropped and counted. */
static void test_gro_checksum_is_trusted_only_on_the_devices_word(void)
{
	fx f;
	fx_sf *sf;
	uint8_t data[500], got[600];
	mps_in_meta ok = {0, true};
	mps_opts o;

	setup_established_server(&f, (fx_opts){.mptcp = true});
	sf = &f.sf[0];
	fx_pattern(data, sizeof(data), 12);
	memset(&o, 0, sizeof(o));
	fx_opt_data_ack(&f, &o);
	fx_opt_map(&o, f.dsn_nxt, fx_ssn(sf), sizeof(data));
	CU_ASSERT_EQUAL(fx_send(&f, sf,
				(fx_seg){.flags = MPS_TH_ACK, .o = &o, .data = data,
					 .len = sizeof(data), .keep = true, .bad_csum = true}),
			MPS_ERR_CHECKSUM);
	CU_ASSERT_EQUAL(fx_stats(&f).drop_checksum, 1);
	CU_ASSERT_EQUAL(fx_read(&f, got, sizeof(got), NULL), 0);
	CU_ASSERT_EQUAL(fx_send(&f, sf,
				(fx_seg){.flags = MPS_TH_ACK, .o = &o, .data = data,
					 .len = sizeof(data), .bad_csum = true, .meta = &ok}),
			0);
	CU_ASSERT_EQUAL(fx_read(&f, got, sizeof(got), NULL), sizeof(data));
	CU_ASSERT_EQUAL(memcmp(got, data, sizeof(data)), 0);
	fx_free(&f);
}

static CU_TestInfo tests_gso[] = {
    {"test_gso_super_segments_carry_a_mapping_that_covers_them",
     test_gso_super_segments_carry_a_mapping_that_covers_them},
    {"test_gso_off_by_default_sends_mss_sized_full_checksums",
     test_gso_off_by_default_sends_mss_sized_full_checksums},
    {"test_gso_data_fin_never_rides_a_super_segment",
     test_gso_data_fin_never_rides_a_super_segment},
    {"test_gso_super_segment_never_exceeds_gso_max",
     test_gso_super_segment_never_exceeds_gso_max},
    {"test_gso_without_checksum_offload_is_refused", test_gso_without_checksum_offload_is_refused},
    {"test_gro_coalesced_segment_is_delivered_and_acked_at_once",
     test_gro_coalesced_segment_is_delivered_and_acked_at_once},
    {"test_gro_checksum_is_trusted_only_on_the_devices_word",
     test_gro_checksum_is_trusted_only_on_the_devices_word},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(gso, tests_gso)
