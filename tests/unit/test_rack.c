/*
 * test_rack.c - loss detection of a SACK sender: RACK and TLP (RFC 8985) on
 * the byte-range scoreboard of sf.c, and the RTO behind them (RFC 6298,
 * RFC 6675 §5.1).  Plain TCP with SACK and timestamps, the stack as the
 * server, a forged receiver and virtual time (tests/unit/forge.h); the
 * handshake gives an SRTT of 10 ms.
 */
#include "forge.h"

#include "core.h"


#include <stdlib.h>
#include <string.h>

#define RK_MAXSEG 64

static void rk_app_send(fx *f, size_t len, uint32_t seed)
{
	uint8_t *buf = malloc(len);

	CU_ASSERT_FATAL(buf != NULL);
	fx_pattern(buf, len, seed);
	CU_ASSERT_EQUAL(mps_conn_send(f->conn, buf, len, f->now), (ssize_t)len);
	free(buf);
}

/* The data segments captured since the last fx_clear, in order. */
typedef struct rk_segs {
	size_t n;
	uint32_t seq[RK_MAXSEG], len[RK_MAXSEG];
	uint64_t when[RK_MAXSEG];
} rk_segs;

static rk_segs rk_data(const fx *f)
{
	rk_segs r;
	size_t i;

	memset(&r, 0, sizeof(r));
	for (i = 0; i < f->ncap && r.n < RK_MAXSEG; i++) {
		if (f->cap[i].p.paylen == 0)
			continue;
		r.seq[r.n] = f->cap[i].p.seq;
		r.len[r.n] = (uint32_t)f->cap[i].p.paylen;
		r.when[r.n] = f->cap[i].when;
		r.n++;
	}
	return r;
}

/* Data segments captured since the last fx_clear that start at seq. */
static size_t rk_count_at(const fx *f, uint32_t seq)
{
	size_t i, n = 0;

	for (i = 0; i < f->ncap; i++)
		if (f->cap[i].p.paylen > 0 && f->cap[i].p.seq == seq)
			n++;
	return n;
}

/* Payload bytes captured since the last fx_clear that lie in [l, r). */
static uint64_t rk_bytes_in(const fx *f, uint32_t l, uint32_t r)
{
	size_t i;
	uint64_t n = 0;

	for (i = 0; i < f->ncap; i++) {
		const mps_pkt *p = &f->cap[i].p;
		uint32_t a = p->seq, b = p->seq + (uint32_t)p->paylen;
		if (p->paylen == 0)
			continue;
		if (mps_seq_lt(a, l))
			a = l;
		if (mps_seq_gt(b, r))
			b = r;
		if (mps_seq_lt(a, b))
			n += b - a;
	}
	return n;
}

/* An ACK of everything below ack with up to three SACK blocks [l, r). */
static void rk_sack(fx *f, uint32_t ack, int nblk, const uint32_t *l, const uint32_t *r)
{
	fx_sf *sf = &f->sf[0];
	mps_opts o;
	int i;

	memset(&o, 0, sizeof(o));
	if (nblk > 0) {
		o.present = MPS_OPT_SACK;
		o.nsack = (uint8_t)nblk;
		for (i = 0; i < nblk; i++) {
			o.sack[i].left = l[i];
			o.sack[i].right = r[i];
		}
	}
	fx_send(f, sf, (fx_seg){.flags = MPS_TH_ACK, .dack = (int32_t)(ack - sf->rcv_nxt), .o = &o});
}

/* The stack's subflow (plain TCP: the only one). */
static mps_sf *rk_sf(const fx *f)
{
	return f->conn->sfs;
}

/* A server with n segments of data sent at once (cwnd allows 10). */
static rk_segs rk_setup_cc(fx *f, size_t bytes, const char *cc)
{
	rk_segs s;

	setup_established_server(f, (fx_opts){.sndbuf = 1u << 20, .cc = cc});
	fx_clear(f);
	rk_app_send(f, bytes, 3);
	s = rk_data(f);
	CU_ASSERT_FATAL(s.n >= 6);
	return s;
}

static rk_segs rk_setup(fx *f, size_t bytes)
{
	return rk_setup_cc(f, bytes, NULL);
}

static uint32_t rk_end(const rk_segs *s, size_t i)
{
	return s->seq[i] + s->len[i];
}

/* RFC 8985 §6.2: a retransmission that is lost again is detected when data
 * sent after it is SACKed, without waiting for the RTO. */
static void test_rack_lost_retransmission_is_resent_without_rto(void)
{
	fx f;
	rk_segs s, s2;
	uint32_t l, r;
	uint64_t t0;

	s = rk_setup(&f, 14 * 1448);
	CU_ASSERT_FATAL(s.n == 10);
	t0 = f.now;
	/* Segment 0 lost: the others arrive. */
	fx_advance(&f, 10 * FX_MS);
	fx_clear(&f);
	l = s.seq[1];
	r = rk_end(&s, 9);
	rk_sack(&f, s.seq[0], 1, &l, &r);
	CU_ASSERT_EQUAL(rk_count_at(&f, s.seq[0]), 1); /* fast retransmit */
	s2 = rk_data(&f);
	CU_ASSERT_FATAL(s2.n >= 2); /* and new data after it */
	/* The retransmission is lost too; the new data arrives. */
	fx_advance(&f, 10 * FX_MS);
	fx_clear(&f);
	r = s2.seq[s2.n - 1] + s2.len[s2.n - 1];
	rk_sack(&f, s.seq[0], 1, &l, &r);
	CU_ASSERT_EQUAL(rk_count_at(&f, s.seq[0]), 1); /* resent again, at once */
	CU_ASSERT(f.now - t0 < 50 * FX_MS);
	CU_ASSERT_EQUAL(fx_stats(&f).rto_fired, 0);
	/* Everything acknowledged: the scoreboard is given back. */
	fx_ack(&f, &f.sf[0]);
	fx_advance(&f, 10 * FX_MS);
	fx_ack(&f, &f.sf[0]);
	CU_ASSERT_EQUAL(rk_sf(&f)->snd_una, rk_sf(&f)->snd_max);
	CU_ASSERT_PTR_NULL(rk_sf(&f)->segs);
	fx_free(&f);
}

/* Reordering: a segment SACKed above a hole with fewer than DupThresh
 * segments SACKed waits for the reordering window (min_RTT / 4); the
 * missing segment arriving within it is never retransmitted. */
static void test_rack_reordering_within_the_window_is_not_loss(void)
{
	fx f;
	rk_segs s;
	uint32_t l, r;

	s = rk_setup(&f, 10 * 1448);
	fx_advance(&f, 10 * FX_MS);
	fx_clear(&f);
	l = s.seq[1];
	r = rk_end(&s, 1);
	rk_sack(&f, s.seq[0], 1, &l, &r);
	CU_ASSERT_EQUAL(fx_count_data(&f, &f.sf[0]), 0);
	fx_advance(&f, 1 * FX_MS);
	rk_sack(&f, rk_end(&s, 1), 0, NULL, NULL); /* segment 0 came late */
	fx_advance(&f, 300 * FX_MS);
	CU_ASSERT_EQUAL(rk_count_at(&f, s.seq[0]), 0);
	CU_ASSERT_EQUAL(rk_count_at(&f, s.seq[1]), 0);
	fx_free(&f);
}

/* RFC 8985 §6.3: with no further ACK, the reordering timer marks the hole
 * lost once its RTT plus the window has passed, long before the RTO. */
static void test_rack_reorder_timer_fires(void)
{
	fx f;
	rk_segs s;
	uint32_t l, r;
	uint64_t t0, t_ack;

	s = rk_setup(&f, 10 * 1448);
	t0 = s.when[0];
	fx_advance(&f, 10 * FX_MS);
	fx_clear(&f);
	l = s.seq[1];
	r = rk_end(&s, 1);
	t_ack = f.now;
	rk_sack(&f, s.seq[0], 1, &l, &r);
	CU_ASSERT_EQUAL(fx_count_data(&f, &f.sf[0]), 0);
	CU_ASSERT_NOT_EQUAL_FATAL(fx_fire(&f), MPS_TIME_NONE);
	/* Due at send time + RACK.rtt (10 ms) + min_RTT / 4 (2.5 ms). */
	CU_ASSERT(f.now > t_ack);
	CU_ASSERT(f.now - t0 <= 10 * FX_MS + 10 * FX_MS / 4);
	CU_ASSERT_EQUAL(rk_count_at(&f, s.seq[0]), 1);
	CU_ASSERT_EQUAL(rk_count_at(&f, s.seq[1]), 0);
	CU_ASSERT_EQUAL(fx_stats(&f).rto_fired, 0);
	fx_free(&f);
}

/* RFC 8985 §7.3: with nothing new to send, the probe at PTO = 2 * SRTT is
 * the last segment again. */
static void test_tlp_probe_resends_the_last_segment_at_pto(void)
{
	fx f;
	rk_segs s;
	uint64_t t0;

	s = rk_setup(&f, 6 * 1448);
	CU_ASSERT_FATAL(s.n == 6);
	t0 = s.when[5];
	fx_clear(&f);
	CU_ASSERT_NOT_EQUAL_FATAL(fx_fire(&f), MPS_TIME_NONE);
	CU_ASSERT_EQUAL(f.now - t0, 2 * rk_sf(&f)->srtt);
	CU_ASSERT_EQUAL(fx_count_data(&f, &f.sf[0]), 1);
	CU_ASSERT_EQUAL(rk_count_at(&f, s.seq[5]), 1);
	CU_ASSERT_EQUAL(fx_stats(&f).rto_fired, 0);
	fx_free(&f);
}

/* RFC 8985 §7.3: new data waiting for cwnd goes out as the probe. */
static void test_tlp_probe_sends_new_data_when_there_is_some(void)
{
	fx f;
	rk_segs s, p;

	s = rk_setup(&f, 14 * 1448);
	CU_ASSERT_FATAL(s.n == 10);
	fx_clear(&f);
	CU_ASSERT_NOT_EQUAL_FATAL(fx_fire(&f), MPS_TIME_NONE);
	p = rk_data(&f);
	CU_ASSERT_EQUAL_FATAL(p.n, 1);
	CU_ASSERT_EQUAL(p.seq[0], rk_end(&s, 9));
	CU_ASSERT_EQUAL(fx_stats(&f).rto_fired, 0);
	fx_free(&f);
}

/* The last two segments are lost: the probe's SACK lets RACK find the
 * other one, and the tail is repaired without an RTO. */
static void test_tlp_repairs_a_tail_loss_without_rto(void)
{
	fx f;
	rk_segs s;
	uint32_t l, r;

	s = rk_setup(&f, 10 * 1448);
	fx_advance(&f, 10 * FX_MS);
	rk_sack(&f, s.seq[8], 0, NULL, NULL); /* 0..7 arrived */
	fx_clear(&f);
	CU_ASSERT_NOT_EQUAL_FATAL(fx_fire(&f), MPS_TIME_NONE); /* the PTO */
	CU_ASSERT_EQUAL(rk_count_at(&f, s.seq[9]), 1);
	CU_ASSERT_EQUAL(rk_count_at(&f, s.seq[8]), 0);
	fx_advance(&f, 10 * FX_MS);
	fx_clear(&f);
	l = s.seq[9];
	r = rk_end(&s, 9);
	rk_sack(&f, s.seq[8], 1, &l, &r);
	CU_ASSERT_EQUAL(rk_count_at(&f, s.seq[8]), 1);
	rk_sack(&f, rk_end(&s, 9), 0, NULL, NULL);
	CU_ASSERT_EQUAL(rk_sf(&f)->snd_una, rk_sf(&f)->snd_max);
	CU_ASSERT_EQUAL(fx_stats(&f).rto_fired, 0);
	fx_free(&f);
}

/* Nothing arrives at all: after the probe the RTO still fires, resends
 * from the first byte and backs off (RFC 6298 §5.5). */
static void test_rto_follows_the_probe_when_everything_is_lost(void)
{
	fx f;
	rk_segs s;
	uint64_t t_probe, t_rto, t_rto2;

	s = rk_setup(&f, 10 * 1448);
	CU_ASSERT_NOT_EQUAL_FATAL(fx_fire(&f), MPS_TIME_NONE); /* the probe */
	t_probe = f.now;
	CU_ASSERT_EQUAL(fx_stats(&f).rto_fired, 0);
	fx_clear(&f);
	CU_ASSERT_NOT_EQUAL_FATAL(fx_fire(&f), MPS_TIME_NONE);
	t_rto = f.now;
	CU_ASSERT_EQUAL(fx_stats(&f).rto_fired, 1);
	CU_ASSERT(t_rto - t_probe >= 200 * FX_MS);
	CU_ASSERT_EQUAL(fx_count_data(&f, &f.sf[0]), 1); /* cwnd is one segment */
	CU_ASSERT_EQUAL(rk_count_at(&f, s.seq[0]), 1);
	fx_clear(&f);
	CU_ASSERT_NOT_EQUAL_FATAL(fx_fire(&f), MPS_TIME_NONE);
	t_rto2 = f.now;
	CU_ASSERT_EQUAL(fx_stats(&f).rto_fired, 2);
	CU_ASSERT_EQUAL(t_rto2 - t_rto, 2 * (t_rto - t_probe));
	CU_ASSERT_EQUAL(rk_count_at(&f, s.seq[0]), 1);
	fx_free(&f);
}

/* After an RTO the SACKed data is not sent again: only the holes are, in
 * slow start, until the cumulative ACK jumps over the SACKed block. */
static void test_rto_resends_only_what_was_not_sacked(void)
{
	fx f;
	rk_segs s, d;
	uint32_t l, r, ack;
	size_t i;
	int round;

	s = rk_setup(&f, 10 * 1448);
	fx_advance(&f, 10 * FX_MS);
	l = s.seq[5];
	r = rk_end(&s, 9);
	rk_sack(&f, s.seq[0], 1, &l, &r); /* 0..4 lost: fast retransmit starts */
	/* The retransmissions are lost too, and nothing else arrives. */
	for (round = 0; round < 4 && fx_stats(&f).rto_fired == 0; round++) {
		fx_clear(&f);
		CU_ASSERT_NOT_EQUAL_FATAL(fx_fire(&f), MPS_TIME_NONE);
	}
	CU_ASSERT_EQUAL_FATAL(fx_stats(&f).rto_fired, 1);
	CU_ASSERT_EQUAL(rk_data(&f).n, 1); /* the loss window: one segment */
	CU_ASSERT_EQUAL(rk_count_at(&f, s.seq[0]), 1);
	/* From now on everything arrives. */
	for (round = 0; round < 10 && rk_sf(&f)->snd_una < rk_sf(&f)->snd_max; round++) {
		d = rk_data(&f);
		ack = s.seq[0];
		for (i = 0; i < d.n; i++)
			if (mps_seq_gt(d.seq[i] + d.len[i], ack))
				ack = d.seq[i] + d.len[i];
		if (ack == l)
			ack = r;
		CU_ASSERT(rk_bytes_in(&f, l, r) == 0);
		fx_clear(&f);
		fx_advance(&f, 10 * FX_MS);
		rk_sack(&f, ack, mps_seq_lt(ack, l) ? 1 : 0, &l, &r);
	}
	CU_ASSERT_EQUAL(rk_sf(&f)->snd_una, rk_sf(&f)->snd_max);
	CU_ASSERT_EQUAL(fx_stats(&f).rto_fired, 1);
	fx_free(&f);
}

/* PRR (RFC 6937): in fast recovery with the pipe above ssthresh, the
 * sender goes on at about ssthresh / flight segments per segment delivered,
 * instead of waiting silently until the pipe has drained below cwnd. */
static void test_prr_spreads_the_reduction_over_the_round(void)
{
	fx f;
	rk_segs s, w, d;
	uint32_t l, r;
	size_t i, sent = 0;

	/* NewReno, for ssthresh = half the flight in the figures below */
	s = rk_setup_cc(&f, 60 * 1448, "newreno");
	CU_ASSERT_FATAL(s.n == 10);
	fx_advance(&f, 10 * FX_MS);
	fx_clear(&f);
	for (i = 0; i < 10; i++)
		rk_sack(&f, rk_end(&s, i), 0, NULL, NULL); /* slow start: cwnd 20 segments */
	w = rk_data(&f);
	CU_ASSERT_EQUAL_FATAL(w.n, 20);
	fx_advance(&f, 10 * FX_MS);
	/* w[0] is lost; w[1..3] arrive: fast retransmit, ssthresh 10. */
	l = w.seq[1];
	r = rk_end(&w, 3);
	fx_clear(&f);
	rk_sack(&f, w.seq[0], 1, &l, &r);
	CU_ASSERT_EQUAL(rk_count_at(&f, w.seq[0]), 1);
	CU_ASSERT_EQUAL(rk_data(&f).n, 1);
	/* Six more arrive, one ACK each; the pipe (17) stays above 10. */
	for (i = 4; i < 10; i++) {
		fx_clear(&f);
		r = rk_end(&w, i);
		rk_sack(&f, w.seq[0], 1, &l, &r);
		d = rk_data(&f);
		if (i == 4)
			CU_ASSERT_EQUAL(d.n, 0); /* 1 * 10 / 20 rounds up to the retransmission */
		sent += d.n;
	}
	/* ceil(6 * 10 / 20) = 3 segments in all, the retransmission one of them. */
	CU_ASSERT_EQUAL(sent, 2);
	CU_ASSERT_EQUAL(fx_stats(&f).rto_fired, 0);
	fx_free(&f);
}

/* RFC 2883: a duplicate segment is answered with a DSACK block for it,
 * below the cumulative ACK, in front of the SACK blocks. */
static void test_dsack_reports_a_duplicate_segment(void)
{
	fx f;
	fx_sf *sf;
	const fx_cap *a;
	uint32_t first;

	setup_established_server(&f, (fx_opts){0});
	sf = &f.sf[0];
	first = sf->snd_nxt;
	fx_send(&f, sf, (fx_seg){.flags = MPS_TH_ACK | MPS_TH_PSH, .data = "first", .len = 5});
	fx_advance(&f, 100 * FX_MS);
	fx_clear(&f);
	fx_send(&f, sf, (fx_seg){.flags = MPS_TH_ACK | MPS_TH_PSH, .dseq = -5, .data = "first", .len = 5});
	a = fx_last(&f, sf, 0xff, MPS_TH_ACK);
	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT_EQUAL(a->p.ack, first + 5);
	CU_ASSERT_FATAL((a->o.present & MPS_OPT_SACK) != 0);
	CU_ASSERT_EQUAL(a->o.sack[0].left, first);
	CU_ASSERT_EQUAL(a->o.sack[0].right, first + 5);
	/* Reported once: the next ACK has no DSACK. */
	fx_clear(&f);
	fx_send(&f, sf, (fx_seg){.flags = MPS_TH_ACK | MPS_TH_PSH, .data = "again", .len = 5});
	fx_advance(&f, 100 * FX_MS);
	a = fx_last(&f, sf, 0xff, MPS_TH_ACK);
	CU_ASSERT_FATAL(a != NULL);
	CU_ASSERT_EQUAL(a->o.present & MPS_OPT_SACK, 0);
	fx_free(&f);
}

/* RFC 8985 §7.4: a probe that was a retransmission and comes back as a
 * DSACK repaired nothing: cwnd stays.  Without the DSACK, an ACK for the
 * probe's data arriving again means it repaired a loss: cwnd is reduced. */
static void test_tlp_dsack_keeps_cwnd_and_repair_reduces_it(void)
{
	fx f;
	rk_segs s;
	uint32_t l, r, cwnd;

	s = rk_setup(&f, 6 * 1448);
	CU_ASSERT_NOT_EQUAL_FATAL(fx_fire(&f), MPS_TIME_NONE); /* probe: segment 5 again */
	fx_advance(&f, 10 * FX_MS);
	rk_sack(&f, rk_end(&s, 5), 0, NULL, NULL); /* the originals arrived */
	cwnd = rk_sf(&f)->cwnd;
	l = s.seq[5];
	r = rk_end(&s, 5);
	rk_sack(&f, rk_end(&s, 5), 1, &l, &r); /* and the probe: a DSACK */
	CU_ASSERT_EQUAL(rk_sf(&f)->cwnd, cwnd);
	CU_ASSERT_FALSE(rk_sf(&f)->tlp_out);
	fx_free(&f);

	s = rk_setup(&f, 6 * 1448);
	CU_ASSERT_NOT_EQUAL_FATAL(fx_fire(&f), MPS_TIME_NONE);
	fx_advance(&f, 10 * FX_MS);
	rk_sack(&f, s.seq[5], 0, NULL, NULL);	    /* segment 5 was lost */
	rk_sack(&f, rk_end(&s, 5), 0, NULL, NULL); /* the probe repaired it */
	CU_ASSERT_TRUE(rk_sf(&f)->tlp_out);	    /* a DSACK may still come */
	cwnd = rk_sf(&f)->cwnd;
	rk_sack(&f, rk_end(&s, 5), 0, NULL, NULL); /* none did */
	CU_ASSERT(rk_sf(&f)->cwnd < cwnd);
	CU_ASSERT_FALSE(rk_sf(&f)->tlp_out);
	fx_free(&f);
}

/* RFC 8985 §6.2 step 4: a DSACK (a retransmission was spurious) widens the
 * reordering window to twice min_RTT / 4, so the reorder timer waits longer. */
static void test_rack_dsack_widens_the_reordering_window(void)
{
	fx f;
	rk_segs s, n;
	uint32_t l, r;
	uint64_t t_sent;

	s = rk_setup(&f, 20 * 1448);
	fx_advance(&f, 10 * FX_MS);
	/* Everything arrived, and a DSACK says some part arrived twice. */
	l = s.seq[0];
	r = rk_end(&s, 0);
	fx_clear(&f);
	rk_sack(&f, rk_end(&s, 9), 1, &l, &r);
	CU_ASSERT_EQUAL(rk_sf(&f)->rack_reo_mult, 2);
	n = rk_data(&f);
	CU_ASSERT_FATAL(n.n >= 3);
	t_sent = n.when[0];
	/* Of the new flight only the second segment arrives: the first is
	 * given RACK.rtt + 2 * min_RTT / 4 = 10 + 5 ms. */
	fx_advance(&f, 10 * FX_MS);
	l = n.seq[1];
	r = rk_end(&n, 1);
	fx_clear(&f);
	rk_sack(&f, n.seq[0], 1, &l, &r);
	CU_ASSERT_EQUAL(fx_count_data(&f, &f.sf[0]), 0);
	CU_ASSERT_NOT_EQUAL_FATAL(fx_fire(&f), MPS_TIME_NONE);
	CU_ASSERT_EQUAL(f.now - t_sent, 10 * FX_MS + 2 * (10 * FX_MS / 4));
	CU_ASSERT_EQUAL(rk_count_at(&f, n.seq[0]), 1);
	fx_free(&f);
}

/* A super-segment (TSO) is one range on the scoreboard until SACK blocks
 * cut it: a SACK of its middle gets exactly the bytes below resent. */
static void test_rack_super_segment_is_cut_by_sack_blocks(void)
{
	fx f;
	rk_segs s;
	uint32_t mss, start, l, r;

	/* NewReno: the window after the loss is half the flight (CUBIC's
	 * 0.7 would let the whole hole go at once). */
	setup_established_server(
	    &f, (fx_opts){.sndbuf = 1u << 20, .gso_max = 65535, .wscale = 7, .cc = "newreno"});
	fx_clear(&f);
	rk_app_send(&f, 10 * 1448, 4);
	s = rk_data(&f);
	CU_ASSERT_FATAL(s.n >= 1);
	CU_ASSERT_FATAL(s.len[0] > 4 * 1448); /* a super-segment went out */
	CU_ASSERT_EQUAL_FATAL(rk_sf(&f)->segs_n, 1);
	mss = 1448;
	start = s.seq[0];
	fx_advance(&f, 10 * FX_MS);
	fx_clear(&f);
	l = start + 3 * mss;
	r = start + 7 * mss;
	rk_sack(&f, start, 1, &l, &r);
	/* [start, start + 3 mss) is lost (4 segments SACKed above it); what
	 * lies above the block was sent at the same time, after it in
	 * sequence, so it is not.  cwnd (half the flight) lets 2 mss go. */
	CU_ASSERT_EQUAL(rk_bytes_in(&f, start, start + 3 * mss), 2 * mss);
	CU_ASSERT_EQUAL(rk_bytes_in(&f, l, start + 10 * mss), 0);
	/* Those arrive: the last lost mss follows, nothing else. */
	fx_advance(&f, 10 * FX_MS);
	rk_sack(&f, start + 2 * mss, 1, &l, &r);
	CU_ASSERT_EQUAL(rk_bytes_in(&f, start, start + 3 * mss), 3 * mss);
	CU_ASSERT_EQUAL(rk_bytes_in(&f, l, r), 0);
	CU_ASSERT(rk_sf(&f)->segs_n >= 3);
	fx_free(&f);
}

static CU_TestInfo tests_rack[] = {
    {"test_rack_lost_retransmission_is_resent_without_rto",
     test_rack_lost_retransmission_is_resent_without_rto},
    {"test_rack_reordering_within_the_window_is_not_loss",
     test_rack_reordering_within_the_window_is_not_loss},
    {"test_rack_reorder_timer_fires", test_rack_reorder_timer_fires},
    {"test_tlp_probe_resends_the_last_segment_at_pto", test_tlp_probe_resends_the_last_segment_at_pto},
    {"test_tlp_probe_sends_new_data_when_there_is_some",
     test_tlp_probe_sends_new_data_when_there_is_some},
    {"test_tlp_repairs_a_tail_loss_without_rto", test_tlp_repairs_a_tail_loss_without_rto},
    {"test_rto_follows_the_probe_when_everything_is_lost",
     test_rto_follows_the_probe_when_everything_is_lost},
    {"test_rto_resends_only_what_was_not_sacked", test_rto_resends_only_what_was_not_sacked},
    {"test_prr_spreads_the_reduction_over_the_round", test_prr_spreads_the_reduction_over_the_round},
    {"test_dsack_reports_a_duplicate_segment", test_dsack_reports_a_duplicate_segment},
    {"test_tlp_dsack_keeps_cwnd_and_repair_reduces_it", test_tlp_dsack_keeps_cwnd_and_repair_reduces_it},
    {"test_rack_dsack_widens_the_reordering_window", test_rack_dsack_widens_the_reordering_window},
    {"test_rack_super_segment_is_cut_by_sack_blocks", test_rack_super_segment_is_cut_by_sack_blocks},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(rack, tests_rack)
