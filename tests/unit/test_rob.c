/* test_rob.c - tests for stack/rob.c, the reassembly buffer. */
#include "unit.h"

#include "mps_err.h"
#include "rob.h"

#include <stdlib.h>
#include <string.h>

/* The byte every correct sender puts at sequence number q. */
static uint8_t rob_test_byte(uint64_t q)
{
	return (uint8_t)((q * 2654435761u) >> 11 ^ q);
}

/* rob_test_fill writes the reference bytes of [seq, seq+len) to p. */
static void rob_test_fill(uint8_t *p, uint64_t seq, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		p[i] = rob_test_byte(seq + i);
}

/* rob_test_put writes the reference bytes of [seq, seq+len); returns the
 * result of mps_rob_write and stores the accepted length in *acc. */
static int rob_test_put(mps_rob *r, uint64_t seq, size_t len, size_t *acc)
{
	uint8_t buf[4096];

	CU_ASSERT_FATAL(len <= sizeof(buf));
	rob_test_fill(buf, seq, len);
	return mps_rob_write(r, seq, buf, len, acc);
}

/* rob_test_read_ok reads n bytes and tells whether they are exactly the
 * reference bytes from the current head. */
static int rob_test_read_ok(mps_rob *r, size_t n)
{
	uint8_t got[4096], want[4096];
	uint64_t from = r->head;

	if (n > sizeof(got) || mps_rob_read(r, got, n) != n)
		return 0;
	rob_test_fill(want, from, n);
	return memcmp(got, want, n) == 0;
}

static void test_rob_init_rejects_bad_arguments(void)
{
	mps_rob r;

	CU_ASSERT_EQUAL(mps_rob_init(&r, 0, 0, 4), MPS_ERR_INVAL);
	CU_ASSERT_EQUAL(mps_rob_init(&r, 64, 0, 0), MPS_ERR_INVAL);
	CU_ASSERT_PTR_NULL(r.buf);
	mps_rob_free(&r);
}

static void test_rob_in_order(void)
{
	mps_rob r;
	size_t acc;

	CU_ASSERT_EQUAL_FATAL(mps_rob_init(&r, 100, 1000, 4), 0);
	CU_ASSERT_EQUAL(mps_rob_readable(&r), 0);
	CU_ASSERT_EQUAL(mps_rob_next(&r), 1000);
	CU_ASSERT_EQUAL(mps_rob_space(&r), 100);
	CU_ASSERT_EQUAL(rob_test_put(&r, 1000, 30, &acc), 30);
	CU_ASSERT_EQUAL(acc, 30);
	CU_ASSERT_EQUAL(rob_test_put(&r, 1030, 20, &acc), 20);
	CU_ASSERT_EQUAL(acc, 20);
	CU_ASSERT_EQUAL(mps_rob_readable(&r), 50);
	CU_ASSERT_EQUAL(mps_rob_next(&r), 1050);
	CU_ASSERT_EQUAL(mps_rob_space(&r), 50);
	CU_ASSERT_TRUE(rob_test_read_ok(&r, 50));
	CU_ASSERT_EQUAL(r.head, 1050);
	CU_ASSERT_EQUAL(mps_rob_space(&r), 100);
	CU_ASSERT_EQUAL(r.have.n, 0);
	mps_rob_free(&r);
}

static void test_rob_out_of_order_then_fill(void)
{
	mps_rob r;
	size_t acc;

	CU_ASSERT_EQUAL_FATAL(mps_rob_init(&r, 100, 0, 4), 0);
	CU_ASSERT_EQUAL(rob_test_put(&r, 40, 20, &acc), 20);
	CU_ASSERT_EQUAL(acc, 20); /* held, though not readable */
	CU_ASSERT_EQUAL(rob_test_put(&r, 10, 10, &acc), 10);
	CU_ASSERT_EQUAL(mps_rob_readable(&r), 0);
	CU_ASSERT_EQUAL(mps_rob_next(&r), 0);
	CU_ASSERT_EQUAL(mps_rob_space(&r), 100);
	CU_ASSERT_EQUAL(rob_test_put(&r, 0, 10, &acc), 10);
	CU_ASSERT_EQUAL(mps_rob_readable(&r), 20);
	CU_ASSERT_EQUAL(rob_test_put(&r, 20, 20, &acc), 20);
	CU_ASSERT_EQUAL(mps_rob_readable(&r), 60);
	CU_ASSERT_EQUAL(r.have.n, 1);
	CU_ASSERT_TRUE(rob_test_read_ok(&r, 60));
	mps_rob_free(&r);
}

static void test_rob_duplicate_stores_nothing_new(void)
{
	mps_rob r;
	size_t acc = 99;

	CU_ASSERT_EQUAL_FATAL(mps_rob_init(&r, 100, 0, 4), 0);
	CU_ASSERT_EQUAL(rob_test_put(&r, 20, 10, &acc), 10);
	CU_ASSERT_EQUAL(rob_test_put(&r, 20, 10, &acc), 0);
	CU_ASSERT_EQUAL(acc, 10);
	CU_ASSERT_EQUAL(rob_test_put(&r, 22, 5, NULL), 0);
	CU_ASSERT_EQUAL(r.have.n, 1);
	CU_ASSERT_EQUAL(mps_ranges_total(&r.have), 10);
	mps_rob_free(&r);
}

static void test_rob_partial_overlap_both_sides(void)
{
	mps_rob r;
	size_t acc;

	CU_ASSERT_EQUAL_FATAL(mps_rob_init(&r, 100, 0, 4), 0);
	CU_ASSERT_EQUAL(rob_test_put(&r, 20, 10, &acc), 10);
	/* overlaps the held run on its left and sticks out on its right */
	CU_ASSERT_EQUAL(rob_test_put(&r, 25, 10, &acc), 5);
	CU_ASSERT_EQUAL(acc, 10);
	/* sticks out on both sides of [20, 35) */
	CU_ASSERT_EQUAL(rob_test_put(&r, 15, 25, &acc), 10);
	CU_ASSERT_EQUAL(acc, 25);
	CU_ASSERT_EQUAL(r.have.n, 1);
	CU_ASSERT_EQUAL(r.have.r[0].start, 15);
	CU_ASSERT_EQUAL(r.have.r[0].end, 40);
	CU_ASSERT_EQUAL(rob_test_put(&r, 0, 15, &acc), 15);
	CU_ASSERT_TRUE(rob_test_read_ok(&r, 40));
	mps_rob_free(&r);
}

static void test_rob_write_beyond_window_accepts_prefix(void)
{
	mps_rob r;
	size_t acc;

	CU_ASSERT_EQUAL_FATAL(mps_rob_init(&r, 100, 0, 4), 0);
	CU_ASSERT_EQUAL(rob_test_put(&r, 80, 50, &acc), 20);
	CU_ASSERT_EQUAL(acc, 20);
	CU_ASSERT_EQUAL(r.have.r[0].end, 100);
	/* entirely beyond: nothing taken */
	CU_ASSERT_EQUAL(rob_test_put(&r, 100, 10, &acc), 0);
	CU_ASSERT_EQUAL(acc, 0);
	CU_ASSERT_EQUAL(rob_test_put(&r, 500, 10, &acc), 0);
	CU_ASSERT_EQUAL(acc, 0);
	/* after reading, the window moves on */
	CU_ASSERT_EQUAL(rob_test_put(&r, 0, 80, &acc), 80);
	CU_ASSERT_EQUAL(mps_rob_space(&r), 0);
	CU_ASSERT_TRUE(rob_test_read_ok(&r, 30));
	CU_ASSERT_EQUAL(rob_test_put(&r, 100, 40, &acc), 30);
	CU_ASSERT_EQUAL(acc, 30);
	CU_ASSERT_EQUAL(mps_rob_next(&r), 130);
	mps_rob_free(&r);
}

static void test_rob_write_entirely_before_head(void)
{
	mps_rob r;
	size_t acc;

	CU_ASSERT_EQUAL_FATAL(mps_rob_init(&r, 100, 0, 4), 0);
	CU_ASSERT_EQUAL(rob_test_put(&r, 0, 50, NULL), 50);
	CU_ASSERT_TRUE(rob_test_read_ok(&r, 50));
	/* already read: dropped but accepted, so the caller may ACK it */
	CU_ASSERT_EQUAL(rob_test_put(&r, 10, 30, &acc), 0);
	CU_ASSERT_EQUAL(acc, 30);
	CU_ASSERT_EQUAL(rob_test_put(&r, 20, 30, &acc), 0); /* ends at head */
	CU_ASSERT_EQUAL(acc, 30);
	CU_ASSERT_EQUAL(r.have.n, 0);
	/* straddling head: the part from head is stored */
	CU_ASSERT_EQUAL(rob_test_put(&r, 40, 20, &acc), 10);
	CU_ASSERT_EQUAL(acc, 20);
	CU_ASSERT_EQUAL(mps_rob_readable(&r), 10);
	/* a zero-length write does nothing */
	CU_ASSERT_EQUAL(mps_rob_write(&r, 45, NULL, 0, &acc), 0);
	CU_ASSERT_EQUAL(acc, 0);
	mps_rob_free(&r);
}

static void test_rob_accepted_counts_bytes_already_read(void)
{
	mps_rob r;
	size_t acc;

	CU_ASSERT_EQUAL_FATAL(mps_rob_init(&r, 100, 0, 4), 0);
	CU_ASSERT_EQUAL(rob_test_put(&r, 0, 10, NULL), 10);
	CU_ASSERT_TRUE(rob_test_read_ok(&r, 10));
	/* [5, 10) read, [10, 20) new: all accepted */
	CU_ASSERT_EQUAL(rob_test_put(&r, 5, 15, &acc), 10);
	CU_ASSERT_EQUAL(acc, 15);
	mps_rob_free(&r);
}

static void test_rob_divergence_detected_nothing_stored(void)
{
	mps_rob r;
	uint8_t buf[40];
	size_t acc = 99;
	mps_range before;

	CU_ASSERT_EQUAL_FATAL(mps_rob_init(&r, 100, 0, 4), 0);
	CU_ASSERT_EQUAL(rob_test_put(&r, 10, 10, NULL), 10);
	before = r.have.r[0];
	/* [0, 40) overlaps the held [10, 20); byte 15 differs */
	rob_test_fill(buf, 0, sizeof(buf));
	buf[15] ^= 0x01;
	CU_ASSERT_EQUAL(mps_rob_write(&r, 0, buf, sizeof(buf), &acc), MPS_ERR_DIVERGE);
	CU_ASSERT_EQUAL(acc, 0);
	CU_ASSERT_EQUAL(r.have.n, 1);
	CU_ASSERT_EQUAL(r.have.r[0].start, before.start);
	CU_ASSERT_EQUAL(r.have.r[0].end, before.end);
	CU_ASSERT_EQUAL(mps_rob_readable(&r), 0);
	/* a differing byte outside the held range is no divergence */
	buf[15] ^= 0x01;
	CU_ASSERT_EQUAL(mps_rob_write(&r, 0, buf, sizeof(buf), &acc), 30);
	CU_ASSERT_TRUE(rob_test_read_ok(&r, 40));
	mps_rob_free(&r);
}

static void test_rob_divergence_detected_across_two_runs(void)
{
	mps_rob r;
	uint8_t buf[60];

	CU_ASSERT_EQUAL_FATAL(mps_rob_init(&r, 100, 0, 4), 0);
	CU_ASSERT_EQUAL(rob_test_put(&r, 10, 10, NULL), 10);
	CU_ASSERT_EQUAL(rob_test_put(&r, 40, 10, NULL), 10);
	rob_test_fill(buf, 0, sizeof(buf));
	buf[49] ^= 0xff; /* last byte of the second run */
	CU_ASSERT_EQUAL(mps_rob_write(&r, 0, buf, sizeof(buf), NULL), MPS_ERR_DIVERGE);
	CU_ASSERT_EQUAL(r.have.n, 2);
	CU_ASSERT_EQUAL(mps_ranges_total(&r.have), 20);
	mps_rob_free(&r);
}

static void test_rob_full_range_set_stops_acceptance(void)
{
	mps_rob r;
	size_t acc;

	CU_ASSERT_EQUAL_FATAL(mps_rob_init(&r, 100, 0, 2), 0);
	CU_ASSERT_EQUAL(rob_test_put(&r, 10, 10, NULL), 10);
	CU_ASSERT_EQUAL(rob_test_put(&r, 30, 10, NULL), 10);
	/* a third hole above every held run cannot be recorded */
	CU_ASSERT_EQUAL(rob_test_put(&r, 50, 10, &acc), 0);
	CU_ASSERT_EQUAL(acc, 0);
	/* bytes that extend a held run still go in */
	CU_ASSERT_EQUAL(rob_test_put(&r, 40, 5, &acc), 5);
	CU_ASSERT_EQUAL(acc, 5);
	/* a run below the others wins over the highest one */
	CU_ASSERT_EQUAL(rob_test_put(&r, 0, 5, &acc), 5);
	CU_ASSERT_EQUAL(acc, 5);
	CU_ASSERT_EQUAL(r.have.n, 2);
	CU_ASSERT_EQUAL(r.have.r[1].start, 10);
	CU_ASSERT_EQUAL(mps_rob_readable(&r), 5);
	CU_ASSERT_EQUAL(rob_test_put(&r, 5, 5, NULL), 5);
	CU_ASSERT_TRUE(rob_test_read_ok(&r, 20));
	mps_rob_free(&r);
}

static void test_rob_peek_two_pieces_at_ring_wrap(void)
{
	mps_rob r;
	mps_iov iov[2];
	uint8_t want[60];

	CU_ASSERT_EQUAL_FATAL(mps_rob_init(&r, 64, 0, 4), 0);
	CU_ASSERT_EQUAL(mps_rob_peek(&r, iov), 0);
	CU_ASSERT_EQUAL(rob_test_put(&r, 0, 50, NULL), 50);
	CU_ASSERT_EQUAL(mps_rob_peek(&r, iov), 1);
	CU_ASSERT_EQUAL(iov[0].len, 50);
	mps_rob_consume(&r, 40);
	CU_ASSERT_EQUAL(rob_test_put(&r, 50, 50, NULL), 50);
	CU_ASSERT_EQUAL(mps_rob_peek(&r, iov), 2);
	CU_ASSERT_EQUAL(iov[0].len, 24);
	CU_ASSERT_EQUAL(iov[1].len, 36);
	rob_test_fill(want, 40, sizeof(want));
	CU_ASSERT_EQUAL(memcmp(iov[0].base, want, 24), 0);
	CU_ASSERT_EQUAL(memcmp(iov[1].base, want + 24, 36), 0);
	mps_rob_consume(&r, 1000); /* clamped to readable */
	CU_ASSERT_EQUAL(r.head, 100);
	CU_ASSERT_EQUAL(mps_rob_readable(&r), 0);
	mps_rob_free(&r);
}

static void test_rob_sequence_crossing_2pow32(void)
{
	const uint64_t start = 0xFFFFFF00u;
	mps_rob r;
	size_t acc;

	CU_ASSERT_EQUAL_FATAL(mps_rob_init(&r, 512, start, 4), 0);
	CU_ASSERT_EQUAL(rob_test_put(&r, start + 0x80, 0x100, &acc), 0x100);
	CU_ASSERT_EQUAL(acc, 0x100);
	CU_ASSERT_EQUAL(r.have.r[0].end, 0x100000080u);
	CU_ASSERT_EQUAL(mps_rob_readable(&r), 0);
	CU_ASSERT_EQUAL(rob_test_put(&r, start, 0x80, &acc), 0x80);
	CU_ASSERT_EQUAL(mps_rob_next(&r), 0x100000080u);
	CU_ASSERT_TRUE(rob_test_read_ok(&r, 0x180));
	/* the window [head, head + cap) lies above 2^32 now */
	CU_ASSERT_EQUAL(rob_test_put(&r, 0x100000080u + 512, 1, &acc), 0);
	CU_ASSERT_EQUAL(rob_test_put(&r, 0x100000080u + 511, 1, &acc), 1);
	mps_rob_free(&r);
}

static uint32_t rob_test_rand(uint32_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 17;
	*x ^= *x << 5;
	return *x;
}

#define ROB_RAND_ITERS 10000
#define ROB_RAND_CAP 1000

/*
 * Random writes and reads through a ring far smaller than the stream, so it
 * wraps thousands of times; checked against a byte-exact model (held[]
 * over absolute sequence numbers) and the reference stream.  The stream
 * starts below 2^32 and crosses it.  Every tenth write flips a byte that the
 * model says is held and must be refused without any change.
 */
static void test_rob_random_wrap_matches_reference(void)
{
	const uint64_t start = 0xFFFFF000u;
	const size_t span = (size_t)ROB_RAND_ITERS * 400 + 4 * ROB_RAND_CAP;
	uint8_t *held = calloc(span, 1);
	uint32_t seed = 0xC0FFEEu;
	mps_rob r;
	uint64_t wraps0;
	int it;

	CU_ASSERT_PTR_NOT_NULL_FATAL(held);
	CU_ASSERT_EQUAL_FATAL(mps_rob_init(&r, ROB_RAND_CAP, start, ROB_RAND_CAP), 0);
	wraps0 = start / ROB_RAND_CAP;
	for (it = 0; it < ROB_RAND_ITERS; it++) {
		uint32_t op = rob_test_rand(&seed) % 3;
		uint64_t head = r.head, q, seq, lo, hi, win = head + ROB_RAND_CAP;
		size_t len, acc = 0, want_acc, readable;
		uint8_t buf[400];
		int got, want_new = 0;

		if (op == 0) {
			size_t n = rob_test_rand(&seed) % 400;

			for (readable = 0; held[head + readable - start]; readable++)
				;
			CU_ASSERT_EQUAL_FATAL(mps_rob_readable(&r), readable);
			if (n > readable)
				n = readable;
			CU_ASSERT_TRUE_FATAL(rob_test_read_ok(&r, n));
			CU_ASSERT_EQUAL_FATAL(r.head, head + n);
			continue;
		}
		/* op 1: at next; op 2: anywhere near the window */
		if (op == 1)
			seq = mps_rob_next(&r);
		else
			seq = head - 64 + rob_test_rand(&seed) % (ROB_RAND_CAP + 128);
		if (seq < start)
			seq = start;
		len = rob_test_rand(&seed) % 300;
		rob_test_fill(buf, seq, len);

		lo = seq > head ? seq : head;
		hi = seq + len < win ? seq + len : win;
		if (it % 10 == 0) {
			for (q = lo; q < hi && !held[q - start]; q++)
				;
			if (q < hi) {
				size_t before = (size_t)mps_ranges_total(&r.have);

				buf[q - seq] ^= 0x5a;
				CU_ASSERT_EQUAL_FATAL(mps_rob_write(&r, seq, buf, len, &acc),
						      MPS_ERR_DIVERGE);
				CU_ASSERT_EQUAL_FATAL(mps_ranges_total(&r.have), before);
				continue;
			}
		}
		for (q = lo; q < hi; q++)
			if (!held[q - start]) {
				held[q - start] = 1;
				want_new++;
			}
		for (q = seq; q < seq + len && (q < head || held[q - start]); q++)
			;
		want_acc = (size_t)(q - seq);
		got = mps_rob_write(&r, seq, buf, len, &acc);
		CU_ASSERT_EQUAL_FATAL(got, want_new);
		CU_ASSERT_EQUAL_FATAL(acc, want_acc);
		CU_ASSERT_FATAL(r.have.n == 0 || r.have.r[0].start >= r.head);
		CU_ASSERT_FATAL(r.have.n == 0 || r.have.r[r.have.n - 1].end <= win);
	}
	/* the ring wrapped many times and the stream crossed 2^32 */
	CU_ASSERT(r.head / ROB_RAND_CAP - wraps0 > 500);
	CU_ASSERT(r.head > 0x100000000u);
	mps_rob_free(&r);
	free(held);
}

/*
 * With only three ranges, random writes get refused or forgotten; what was
 * accepted must still be held or read, and what is read must be exact.
 */
static void test_rob_random_few_ranges_stays_exact(void)
{
	uint32_t seed = 0xBADC0DEu;
	mps_rob r;
	int it;

	CU_ASSERT_EQUAL_FATAL(mps_rob_init(&r, 777, 5, 3), 0);
	for (it = 0; it < ROB_RAND_ITERS; it++) {
		uint64_t head = r.head;
		uint64_t seq = head - 32 + rob_test_rand(&seed) % 840;
		size_t len = rob_test_rand(&seed) % 200, acc = 0;
		int got;

		if (seq < 5)
			seq = 5;
		got = rob_test_put(&r, seq, len, &acc);
		CU_ASSERT_FATAL(got >= 0);
		CU_ASSERT_FATAL(acc <= len);
		if (seq + acc > head)
			CU_ASSERT_FATAL(
			    mps_ranges_contains(&r.have, seq > head ? seq : head, seq + acc));
		CU_ASSERT_FATAL(r.have.n <= 3);
		if (rob_test_rand(&seed) % 2)
			CU_ASSERT_TRUE_FATAL(rob_test_read_ok(
			    &r, mps_rob_readable(&r) < 300 ? mps_rob_readable(&r) : 300));
	}
	CU_ASSERT(r.head > 5 + 10 * 777);
	mps_rob_free(&r);
}

/* Growth: no ring until bytes arrive; a segment far ahead of head makes the
 * ring cover up to it (doubling from ROB_MIN_ALLOC, never beyond cap), and
 * bytes held before the move, wrapped ones included, are read back intact. */
static void test_rob_grows_on_demand_keeping_bytes(void)
{
	const size_t cap = 1u << 20;
	const uint64_t start = 0x7FFFF000u;
	mps_rob r;
	size_t acc;

	CU_ASSERT_EQUAL_FATAL(mps_rob_init(&r, cap, start, 8), 0);
	CU_ASSERT_PTR_NULL(r.buf);
	CU_ASSERT_PTR_NULL(r.have.r);
	CU_ASSERT_EQUAL(mps_rob_space(&r), cap);
	CU_ASSERT_EQUAL(rob_test_put(&r, start, 3000, &acc), 3000);
	CU_ASSERT_EQUAL(r.alloc, ROB_MIN_ALLOC);
	CU_ASSERT_TRUE(rob_test_read_ok(&r, 2900));
	/* Wrap the end of the 4 KiB ring with a run that stays unread. */
	CU_ASSERT_EQUAL(rob_test_put(&r, start + 3000, 3000, &acc), 3000);
	CU_ASSERT_EQUAL(r.alloc, ROB_MIN_ALLOC);
	/* A hole, then a segment 100 KiB ahead: the ring must grow to 128 KiB
	 * and move both held runs. */
	CU_ASSERT_EQUAL(rob_test_put(&r, start + 100000, 2000, &acc), 2000);
	CU_ASSERT_EQUAL(acc, 2000);
	CU_ASSERT_EQUAL(r.alloc, 32 * ROB_MIN_ALLOC);
	CU_ASSERT_EQUAL(r.have.n, 2);
	/* At the far end of the window: the ring becomes the whole cap. */
	CU_ASSERT_EQUAL(rob_test_put(&r, r.head + cap - 10, 100, &acc), 10);
	CU_ASSERT_EQUAL(r.alloc, cap);
	CU_ASSERT_EQUAL(mps_rob_readable(&r), 3100);
	CU_ASSERT_TRUE(rob_test_read_ok(&r, 3100));
	/* Fill the hole and read everything through to the far bytes. */
	{
		uint64_t q;
		bool ok = true;
		for (q = r.head; q < start + 100000; q += 4000) {
			size_t n = start + 100000 - q < 4000 ? (size_t)(start + 100000 - q) : 4000;
			ok = ok && rob_test_put(&r, q, n, &acc) == (int)n;
		}
		CU_ASSERT_TRUE(ok);
	}
	CU_ASSERT_EQUAL(mps_rob_next(&r), start + 102000);
	while (mps_rob_readable(&r) > 0)
		CU_ASSERT_TRUE_FATAL(rob_test_read_ok(&r, mps_rob_readable(&r) < 4096 ? mps_rob_readable(&r) : 4096));
	CU_ASSERT_PTR_NOT_NULL(r.buf); /* the far 10 bytes are still held */
	mps_rob_free(&r);
}

/* The ring is freed when the reader has consumed everything held, and is
 * allocated again with the next bytes. */
static void test_rob_frees_when_consumed(void)
{
	mps_rob r;
	size_t acc;

	CU_ASSERT_EQUAL_FATAL(mps_rob_init(&r, 1u << 20, 50, 8), 0);
	CU_ASSERT_EQUAL(rob_test_put(&r, 50, 1000, &acc), 1000);
	CU_ASSERT_PTR_NOT_NULL(r.buf);
	CU_ASSERT_TRUE(rob_test_read_ok(&r, 999));
	CU_ASSERT_PTR_NOT_NULL(r.buf);
	CU_ASSERT_TRUE(rob_test_read_ok(&r, 1));
	CU_ASSERT_PTR_NULL(r.buf);
	CU_ASSERT_EQUAL(r.alloc, 0);
	CU_ASSERT_EQUAL(mps_rob_space(&r), 1u << 20);
	/* Out of order after the free: both pieces land right. */
	CU_ASSERT_EQUAL(rob_test_put(&r, 1050 + 5000, 500, &acc), 500);
	CU_ASSERT_EQUAL(mps_rob_readable(&r), 0);
	CU_ASSERT_EQUAL(r.alloc, 2 * ROB_MIN_ALLOC);
	CU_ASSERT_EQUAL(rob_test_put(&r, 1050, 3000, &acc), 3000);
	CU_ASSERT_EQUAL(rob_test_put(&r, 4050, 2000, &acc), 2000);
	CU_ASSERT_EQUAL(mps_rob_readable(&r), 5500);
	CU_ASSERT_TRUE(rob_test_read_ok(&r, 4000));
	CU_ASSERT_TRUE(rob_test_read_ok(&r, 1500));
	CU_ASSERT_PTR_NULL(r.buf);
	mps_rob_free(&r);
}

/* Random segments in a large window, with the ring growing and being freed
 * along the way: everything read is the reference stream. */
static void test_rob_random_growth_matches_reference(void)
{
	const size_t cap = 256 * 1024;
	uint64_t start = 0xFFFF0000u, x = 88172645463325252ull;
	mps_rob r;
	int round, frees = 0, grew = 0;
	size_t acc, last_alloc = 0;

	CU_ASSERT_EQUAL_FATAL(mps_rob_init(&r, cap, start, 64), 0);
	for (round = 0; round < 20000; round++) {
		uint64_t off;
		size_t len;
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		/* Mostly just ahead of the expected byte, rarely far ahead. */
		off = (x >> 20) % ((x & 63) == 0 ? cap - 1400 : 2000);
		len = 1 + (size_t)((x >> 40) % 1400);
		CU_ASSERT_FATAL(rob_test_put(&r, mps_rob_next(&r) - 500 + off, len, &acc) >= 0);
		if (r.alloc > last_alloc)
			grew++;
		last_alloc = r.alloc;
		if ((x & 0x300) == 0 && mps_rob_readable(&r) > 0) {
			size_t n = mps_rob_readable(&r) < 4096 ? mps_rob_readable(&r) : 4096;
			CU_ASSERT_TRUE_FATAL(rob_test_read_ok(&r, n));
			if (r.buf == NULL)
				frees++;
		}
		CU_ASSERT_FATAL(r.alloc <= cap);
		CU_ASSERT_FATAL(r.have.n == 0 || r.have.r[r.have.n - 1].end - r.head <= r.alloc);
	}
	CU_ASSERT(grew >= 5);
	CU_ASSERT(frees >= 5);
	CU_ASSERT(r.head > start + 4 * cap);
	mps_rob_free(&r);
}

static CU_TestInfo tests_rob[] = {
    {"rob_init_rejects_bad_arguments", test_rob_init_rejects_bad_arguments},
    {"rob_in_order", test_rob_in_order},
    {"rob_out_of_order_then_fill", test_rob_out_of_order_then_fill},
    {"rob_duplicate_stores_nothing_new", test_rob_duplicate_stores_nothing_new},
    {"rob_partial_overlap_both_sides", test_rob_partial_overlap_both_sides},
    {"rob_write_beyond_window_accepts_prefix", test_rob_write_beyond_window_accepts_prefix},
    {"rob_write_entirely_before_head", test_rob_write_entirely_before_head},
    {"rob_accepted_counts_bytes_already_read", test_rob_accepted_counts_bytes_already_read},
    {"rob_divergence_detected_nothing_stored", test_rob_divergence_detected_nothing_stored},
    {"rob_divergence_detected_across_two_runs", test_rob_divergence_detected_across_two_runs},
    {"rob_full_range_set_stops_acceptance", test_rob_full_range_set_stops_acceptance},
    {"rob_peek_two_pieces_at_ring_wrap", test_rob_peek_two_pieces_at_ring_wrap},
    {"rob_sequence_crossing_2pow32", test_rob_sequence_crossing_2pow32},
    {"rob_random_wrap_matches_reference", test_rob_random_wrap_matches_reference},
    {"rob_random_few_ranges_stays_exact", test_rob_random_few_ranges_stays_exact},
    {"rob_grows_on_demand_keeping_bytes", test_rob_grows_on_demand_keeping_bytes},
    {"rob_frees_when_consumed", test_rob_frees_when_consumed},
    {"rob_random_growth_matches_reference", test_rob_random_growth_matches_reference},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(rob, tests_rob)
