/*
 * fuzz_stack.c - libFuzzer target: a peer that says anything to a running
 * server stack (listener with a group key, the built-in behaviour of an
 * application that answers and reads).
 *
 * The input is a script of records; the harness plays the peer of one
 * 4-tuple (or a second one, for joins) and builds every packet with the
 * stack's own builder, so checksums are right and the bytes reach the state
 * machines.  Record: one opcode byte, then its arguments:
 *
 *   0  SYN        optlen (1), options (optlen, <= 40)
 *   1  segment    flags (1), dseq (1, signed), dack (1, signed), window (2),
 *                 optlen (1), options, paylen (2, <= 1400), payload: seq is our
 *                 next byte + dseq, ack the stack's next byte + dack
 *   2  time       ms (2): the clock moves, timers run
 *   3  app        what (1): send (2-byte length), read, shutdown, close
 *   4  raw        len (2), bytes: an IP packet as it comes, checksums not
 *                 checked (csum_ok), anything at all
 *
 * In options, an MP_CAPABLE with the receiver's key field is patched with
 * the key the stack sent in its SYN-ACK (the fuzzer cannot guess a random
 * key), so the MPTCP handshake and everything after it can be reached.
 * Beyond "no crash, no sanitizer report", the stack's timer heap must stay
 * consistent and every packet it sends must parse.
 */
#include "mps.h"
#include "mps_err.h"
#include "opt.h"
#include "pkt.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
bool stack_timers_consistent(const mps_stack *s);

#define MS 1000000ull

typedef struct fz {
	mps_stack *s;
	mps_conn *conn;
	uint64_t now, rng;
	/* the peer's view of the subflow */
	mps_addr peer, local;
	uint32_t snd_nxt;  /* our next sequence number */
	uint32_t rcv_nxt;  /* the stack's next sequence number we acknowledge */
	uint64_t stack_key; /* from the SYN-ACK's MP_CAPABLE */
	bool have_key;
} fz;

static void fz_random(void *user, void *buf, size_t len)
{
	fz *f = user;
	uint8_t *b = buf;
	size_t i;

	for (i = 0; i < len; i++) {
		f->rng = f->rng * 6364136223846793005ull + 1442695040888963407ull;
		b[i] = (uint8_t)(f->rng >> 56);
	}
}

static void fz_output(void *user, const uint8_t *pkt, size_t len, const mps_out_meta *meta)
{
	fz *f = user;
	mps_pkt p;
	mps_opts o;

	(void)meta;
	/* What the stack sends must parse (its checksums are full here). */
	if (mps_pkt_parse(&p, pkt, len, 0) != 0)
		abort();
	if (p.proto != MPS_IPPROTO_TCP)
		return;
	if (mps_opt_parse(&o, p.opts, p.optlen, p.flags) != 0)
		abort();
	if (p.flags & MPS_TH_SYN)
		f->rcv_nxt = p.seq + 1;
	if ((o.present & MPS_OPT_MPC) && o.mpc.nkeys >= 1) {
		f->stack_key = o.mpc.key_sender;
		f->have_key = true;
	}
}

static void fz_event(void *user, mps_conn *c, enum mps_event ev, int err)
{
	fz *f = user;

	(void)err;
	if (ev == MPS_EV_ACCEPT && f->conn == NULL)
		f->conn = c;
}

/* The MP_CAPABLE receiver key of an option list is the stack's. */
static void fz_patch_key(const fz *f, uint8_t *opt, size_t len)
{
	size_t i = 0;

	while (i < len) {
		uint8_t kind = opt[i];
		size_t l;
		if (kind == 0)
			break;
		if (kind == 1) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			break;
		l = opt[i + 1];
		if (l < 2 || i + l > len)
			break;
		/* MP_CAPABLE (subtype 0) of 20 or more bytes: sender key at
		 * +4, receiver key at +12 (RFC 8684 §3.1) */
		if (kind == 30 && l >= 20 && (opt[i + 2] >> 4) == 0 && f->have_key) {
			int k;
			for (k = 0; k < 8; k++)
				opt[i + 12 + (size_t)k] = (uint8_t)(f->stack_key >> (56 - 8 * k));
		}
		i += l;
	}
}

static void fz_send(fz *f, uint8_t flags, uint32_t seq, uint32_t ack, uint16_t win, const uint8_t *opt,
		    size_t optlen, const uint8_t *pay, size_t paylen)
{
	uint8_t ob[40], pkt[1600];
	mps_iov iov = {pay, paylen};
	mps_tcp_out t;
	size_t padded = (optlen + 3) & ~(size_t)3;
	int n;

	memset(ob, 1, sizeof(ob)); /* NOP padding */
	memcpy(ob, opt, optlen);
	fz_patch_key(f, ob, optlen);
	memset(&t, 0, sizeof(t));
	t.src = &f->peer;
	t.dst = &f->local;
	t.seq = seq;
	t.ack = ack;
	t.flags = flags;
	t.window = win;
	t.opts = ob;
	t.optlen = padded;
	t.payload = &iov;
	t.niov = paylen ? 1 : 0;
	n = mps_pkt_build_tcp(pkt, sizeof(pkt), &t, 0);
	if (n > 0)
		mps_stack_input(f->s, pkt, (size_t)n, f->now);
}

/* Reads n bytes from *d (advancing); false when the input is short. */
static bool fz_take(const uint8_t **d, size_t *left, void *out, size_t n)
{
	if (*left < n)
		return false;
	if (out != NULL)
		memcpy(out, *d, n);
	*d += n;
	*left -= n;
	return true;
}

static void fz_app(fz *f, uint8_t what, uint16_t n)
{
	static uint8_t buf[65536];

	if (f->conn == NULL)
		return;
	switch (what % 4) {
	case 0:
		memset(buf, 'x', n);
		(void)mps_conn_send(f->conn, buf, n, f->now);
		break;
	case 1:
		(void)mps_conn_recv(f->conn, buf, sizeof(buf), f->now);
		break;
	case 2:
		(void)mps_conn_shutdown(f->conn, f->now);
		break;
	default:
		mps_conn_close(f->conn, f->now);
		f->conn = NULL;
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t gk[32] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
				       17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32};
	mps_config cfg;
	mps_addr a;
	fz f;
	int steps = 0;

	memset(&f, 0, sizeof(f));
	f.rng = 42;
	f.now = 1000 * MS;
	memset(&cfg, 0, sizeof(cfg));
	cfg.cb.output = fz_output;
	cfg.cb.event = fz_event;
	cfg.cb.random = fz_random;
	cfg.user = &f;
	cfg.rcvbuf = cfg.sndbuf = 256 * 1024;
	cfg.group_key = gk;
	cfg.send_timeout = 5000 * MS;
	if (mps_stack_new(&f.s, &cfg) != 0)
		return 0;
	mps_addr_parse(&a, "10.88.1.1");
	mps_stack_add_addr(f.s, &a);
	mps_addr_parse(&f.local, "10.88.1.1:80");
	mps_listen(f.s, &f.local);
	mps_addr_parse(&f.peer, "10.77.0.2:40000");
	f.snd_nxt = 1000;

	while (size > 0 && steps++ < 256) {
		uint8_t op = 0, optlen = 0, opt[40], flags = 0, what = 0;
		int8_t dseq = 0, dack = 0;
		uint16_t win = 0, len = 0;

		fz_take(&data, &size, &op, 1);
		switch (op % 5) {
		case 0: /* SYN */
			if (!fz_take(&data, &size, &optlen, 1) || optlen > 40 ||
			    !fz_take(&data, &size, opt, optlen))
				goto out;
			f.have_key = false;
			fz_send(&f, MPS_TH_SYN, f.snd_nxt - 1, 0, 65535, opt, optlen, NULL, 0);
			break;
		case 1: /* segment */
			if (!fz_take(&data, &size, &flags, 1) || !fz_take(&data, &size, &dseq, 1) ||
			    !fz_take(&data, &size, &dack, 1) || !fz_take(&data, &size, &win, 2) ||
			    !fz_take(&data, &size, &optlen, 1) || optlen > 40 ||
			    !fz_take(&data, &size, opt, optlen) || !fz_take(&data, &size, &len, 2))
				goto out;
			len %= 1401;
			if (size < len)
				len = (uint16_t)size;
			fz_send(&f, flags, f.snd_nxt + (uint32_t)(int32_t)dseq,
				f.rcv_nxt + (uint32_t)(int32_t)dack, win, opt, optlen, data, len);
			if (dseq == 0)
				f.snd_nxt += len + ((flags & (MPS_TH_SYN | MPS_TH_FIN)) ? 1 : 0);
			fz_take(&data, &size, NULL, len);
			break;
		case 2: /* time */
			if (!fz_take(&data, &size, &len, 2))
				goto out;
			f.now += (uint64_t)(len % 4000) * MS;
			mps_stack_handle_expiry(f.s, f.now);
			break;
		case 3: /* app */
			if (!fz_take(&data, &size, &what, 1) || !fz_take(&data, &size, &len, 2))
				goto out;
			fz_app(&f, what, len);
			break;
		default: /* raw */
			if (!fz_take(&data, &size, &len, 2))
				goto out;
			if (size < len)
				len = (uint16_t)size;
			{
				mps_in_meta m = {.csum_ok = true};
				uint8_t *copy = malloc(len ? len : 1);
				if (copy != NULL) {
					memcpy(copy, data, len);
					mps_stack_input_meta(f.s, copy, len, f.now, &m);
					free(copy);
				}
			}
			fz_take(&data, &size, NULL, len);
			break;
		}
		if (!stack_timers_consistent(f.s))
			abort();
		/* The application reads what comes, as mpsd would. */
		fz_app(&f, 1, 0);
	}
out:
	mps_stack_free(f.s);
	return 0;
}
