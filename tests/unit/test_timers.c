/*
 * test_timers.c - the stack's timer heap (stack.c): many connections with
 * random deadlines come out in deadline order, each exactly when due, and
 * connections whose deadline moved or that were freed are handled right.
 * Also the other per-handshake savings of stack.c: the random pool.
 */
#include "unit.h"

#include "core.h"

#include <stdlib.h>
#include <string.h>

#define TM_CONNS 5000

static void tm_output(void *user, const uint8_t *pkt, size_t len, const mps_out_meta *meta)
{
	(void)user, (void)pkt, (void)len, (void)meta;
}

static uint64_t tm_rand(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

/* tm_arm sets c's ANNOUNCE timer (its expiry handling only clears it on a
 * connection without subflows) the way the stack's own code does. */
static void tm_arm(mps_conn *c, uint64_t when)
{
	c->timers[CONN_TIMER_ANNOUNCE] = when;
	stack_touch(c->stack, c);
}

static void test_timers_heap_order_update_remove(void)
{
	mps_config cfg;
	mps_stack *s;
	static mps_conn *conns[TM_CONNS];
	static uint64_t when[TM_CONNS];
	uint64_t x = 0x9E3779B97F4A7C15ull, min, prev = 0, t;
	size_t i, live = TM_CONNS, handled = 0, expected = 0;
	bool order_ok = true, exact_ok = true;

	memset(&cfg, 0, sizeof(cfg));
	cfg.cb.output = tm_output;
	CU_ASSERT_FATAL(mps_stack_new(&s, &cfg) == 0);
	CU_ASSERT_EQUAL(mps_stack_next_expiry(s), MPS_TIME_NONE);
	for (i = 0; i < TM_CONNS; i++) {
		conns[i] = conn_new(s, true);
		CU_ASSERT_FATAL(conns[i] != NULL);
		/* Few distinct values, so many ties too. */
		when[i] = 1000 + tm_rand(&x) % 20000;
		tm_arm(conns[i], when[i]);
	}
	stack_timers_flush(s);
	CU_ASSERT_TRUE(stack_timers_consistent(s));
	min = MPS_TIME_NONE;
	for (i = 0; i < TM_CONNS; i++)
		min = when[i] < min ? when[i] : min;
	CU_ASSERT_EQUAL(mps_stack_next_expiry(s), min);

	/* Move a third of the deadlines (some to never), free a tenth. */
	for (i = 0; i < TM_CONNS; i += 3) {
		uint64_t r = tm_rand(&x);
		when[i] = (r & 15) == 0 ? MPS_TIME_NONE : 500 + r % 30000;
		tm_arm(conns[i], when[i]);
	}
	for (i = 1; i < TM_CONNS; i += 10) {
		conn_free(conns[i]);
		conns[i] = NULL;
		live--;
	}
	stack_timers_flush(s);
	CU_ASSERT_TRUE(stack_timers_consistent(s));
	CU_ASSERT_EQUAL(s->nconns, live);
	min = MPS_TIME_NONE;
	for (i = 0; i < TM_CONNS; i++)
		if (conns[i] != NULL) {
			min = when[i] < min ? when[i] : min;
			expected += when[i] != MPS_TIME_NONE;
		}
	CU_ASSERT_EQUAL(mps_stack_next_expiry(s), min);

	/* Run every expiry: each instant handles exactly the connections due
	 * then, in increasing order of time. */
	while ((t = mps_stack_next_expiry(s)) != MPS_TIME_NONE) {
		size_t due = 0, n = 0;
		if (t < prev)
			order_ok = false;
		prev = t;
		for (i = 0; i < TM_CONNS; i++)
			due += conns[i] != NULL && when[i] == t;
		mps_stack_handle_expiry(s, t);
		for (i = 0; i < TM_CONNS; i++) {
			if (conns[i] == NULL)
				continue;
			if (when[i] == t) {
				n += conns[i]->timers[CONN_TIMER_ANNOUNCE] == MPS_TIME_NONE;
				when[i] = MPS_TIME_NONE;
			} else if (conns[i]->timers[CONN_TIMER_ANNOUNCE] != when[i]) {
				exact_ok = false; /* handled early, or lost */
			}
		}
		if (n != due || due == 0)
			exact_ok = false;
		handled += n;
		if (handled > TM_CONNS)
			break;
	}
	CU_ASSERT_TRUE(order_ok);
	CU_ASSERT_TRUE(exact_ok);
	CU_ASSERT_EQUAL(handled, expected);
	CU_ASSERT_TRUE(stack_timers_consistent(s));
	CU_ASSERT_EQUAL(s->theap_n, 0);
	mps_stack_free(s);
}

/* A connection that re-arms at the instant being handled is handled once
 * per call, not in a loop, and stays filed at that instant. */
static void test_timers_rearm_at_now_once(void)
{
	mps_config cfg;
	mps_stack *s;
	mps_conn *c;

	memset(&cfg, 0, sizeof(cfg));
	cfg.cb.output = tm_output;
	CU_ASSERT_FATAL(mps_stack_new(&s, &cfg) == 0);
	c = conn_new(s, true);
	CU_ASSERT_FATAL(c != NULL);
	tm_arm(c, 100);
	c->timers[CONN_TIMER_RETRANS] = 100; /* also due: handled together */
	stack_timers_flush(s);
	CU_ASSERT_EQUAL(mps_stack_next_expiry(s), 100);
	mps_stack_handle_expiry(s, 100);
	CU_ASSERT_EQUAL(c->timers[CONN_TIMER_ANNOUNCE], MPS_TIME_NONE);
	CU_ASSERT_EQUAL(c->timers[CONN_TIMER_RETRANS], MPS_TIME_NONE);
	CU_ASSERT_EQUAL(mps_stack_next_expiry(s), MPS_TIME_NONE);
	CU_ASSERT_TRUE(stack_timers_consistent(s));
	mps_stack_free(s);
}

/* The hash tables are sized from max_conns. */
static void test_timers_hash_sized_from_max_conns(void)
{
	mps_config cfg;
	mps_stack *s;

	memset(&cfg, 0, sizeof(cfg));
	cfg.cb.output = tm_output;
	CU_ASSERT_FATAL(mps_stack_new(&s, &cfg) == 0);
	CU_ASSERT_EQUAL(s->cfg.max_conns, 65536);
	CU_ASSERT_EQUAL(s->hash_mask + 1, 65536);
	mps_stack_free(s);
	cfg.max_conns = 100;
	CU_ASSERT_FATAL(mps_stack_new(&s, &cfg) == 0);
	CU_ASSERT_EQUAL(s->hash_mask + 1, STACK_HASH_MIN);
	mps_stack_free(s);
	cfg.max_conns = 100000;
	CU_ASSERT_FATAL(mps_stack_new(&s, &cfg) == 0);
	CU_ASSERT_EQUAL(s->hash_mask + 1, 131072);
	mps_stack_free(s);
}

/* Without a random callback, stack_random serves the bytes of one
 * getrandom() over several calls: they never repeat across calls or pool
 * refills, and every byte handed out is wiped from the pool. */
static void test_stack_random_pool_serves_and_wipes(void)
{
	mps_config cfg;
	mps_stack *s;
	static uint64_t v[200];
	size_t i, j, used;
	bool distinct = true, wiped = true;

	memset(&cfg, 0, sizeof(cfg));
	cfg.cb.output = tm_output;
	CU_ASSERT_FATAL(mps_stack_new(&s, &cfg) == 0);
	for (i = 0; i < 200; i++)
		stack_random(s, &v[i], sizeof(v[i])); /* 1600 bytes: several refills */
	for (i = 0; i < 200; i++)
		for (j = i + 1; j < 200; j++)
			distinct = distinct && v[i] != v[j];
	CU_ASSERT_TRUE(distinct);
	/* A 3-byte read leaves the rest of the pool for later calls. */
	{
		uint8_t b[3];
		size_t before = s->rnd_left;
		stack_random(s, b, sizeof(b));
		CU_ASSERT_EQUAL(s->rnd_left, before >= 3 ? before - 3 : sizeof(s->rnd_pool) - 3);
	}
	used = sizeof(s->rnd_pool) - s->rnd_left;
	CU_ASSERT(used > 0);
	for (i = 0; i < used; i++)
		wiped = wiped && s->rnd_pool[i] == 0;
	CU_ASSERT_TRUE(wiped);
	mps_stack_free(s);
}

static CU_TestInfo tests_timers[] = {
    {"timers_heap_order_update_remove", test_timers_heap_order_update_remove},
    {"timers_rearm_at_now_once", test_timers_rearm_at_now_once},
    {"timers_hash_sized_from_max_conns", test_timers_hash_sized_from_max_conns},
    {"stack_random_pool_serves_and_wipes", test_stack_random_pool_serves_and_wipes},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(timers, tests_timers)
