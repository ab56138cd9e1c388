/*
 * hsload.c - MPTCP handshake load generator on a TUN device (tests/bench, row f).
 *
 *   hsload [-c N] [-i IFNAME] [-n NET] [-t MS] [-w SECONDS] SECONDS HOST:PORT
 *
 * Plays many MPTCP clients without kernel sockets: it opens its own TUN device,
 * routes the client network NET (default 10.99.0.0/16) into it, and writes and
 * reads the clients' packets itself, so the client side costs one packet build or
 * parse and one read or write per segment.  The host has to forward between the
 * TUN device and the way to HOST (ip_forward), and HOST's side must route NET back.
 *
 * Each of N slots (default 256, at most the addresses of NET less 2) has its own
 * source address in NET and runs one handshake after the other, each from a fresh
 * port (1024-65535 in turn) with a fresh key and ISS:
 *   -> SYN, MP_CAPABLE v1 (no key; flag H), MSS 1460
 *   <- SYN-ACK with MP_CAPABLE v1 and the server's key, acknowledging our ISS + 1
 *   -> ACK, MP_CAPABLE with both keys (RFC 8684 §3.1, the third ACK)
 *   -> RST with MP_FASTCLOSE (the server's key, §3.5): the server drops it at once
 * The handshake counts when the third ACK has been written.  The same slot then
 * sends its next SYN.  A SYN-ACK without MP_CAPABLE (a fallback to TCP) is reset
 * and counted as failed, a RST from the server as refused; a SYN unanswered for
 * -t MS (default 1000, a kernel client's first SYN retransmission) is abandoned
 * (timeout) and the slot starts over.
 *
 * A SYN-ACK that matches no handshake in progress (its SYN was abandoned, or the
 * server repeats it because our third ACK was lost) is answered with a RST.
 *
 * After SECONDS, no new SYN leaves; for up to -w SECONDS (default 1) the SYN-ACKs
 * still on their way are answered (third ACK and reset, counted in "total"), so
 * the server's count of accepted connections should equal "total".
 *
 * Output (stdout), one line:
 *   handshakes H seconds S rate R total T failed F refused X timeouts O stale A cpu C
 * H: completed in the first SECONDS, R = H / S; T: completed in all; A: SYN-ACKs reset as stale; C: the CPU
 * seconds hsload itself used (user + system, the packets' way through the
 * kernel in its writes included).
 */
#include "crypto.h"
#include "mps_err.h"
#include "opt.h"
#include "pkt.h"
#include "tun.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

enum { S_IDLE, S_SYN_SENT };

typedef struct slot {
	mps_addr local;
	uint32_t iss;
	uint64_t key;
	uint64_t sent_ns;
	int state;
	uint16_t next_port;
} slot;

static int tun_fd;
static mps_addr server;
static uint8_t out[256];
static unsigned long done, failed, refused, timeouts, stale, write_errs;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void usage(void)
{
	fprintf(stderr, "usage: hsload [-c N] [-i IFNAME] [-n NET/PREFIX] [-t MS] [-w SECONDS] SECONDS HOST:PORT\n");
	exit(2);
}

/* send_seg builds and writes one segment from slot s to the server. */
static void send_seg(const slot *s, uint32_t seq, uint32_t ack, uint8_t flags, const mps_opts *o)
{
	uint8_t opts[MPS_TCP_OPT_MAX];
	mps_tcp_out t;
	int optlen, len;
	ssize_t w;

	optlen = mps_opt_write(opts, sizeof(opts), o);
	if (optlen < 0 || optlen > MPS_TCP_OPT_MAX) {
		fprintf(stderr, "hsload: options: %d\n", optlen);
		exit(1);
	}
	memset(&t, 0, sizeof(t));
	t.src = &s->local;
	t.dst = &server;
	t.seq = seq;
	t.ack = ack;
	t.flags = flags;
	t.window = 65535;
	t.opts = opts;
	t.optlen = (size_t)optlen;
	len = mps_pkt_build_tcp(out, sizeof(out), &t, 0);
	if (len < 0) {
		fprintf(stderr, "hsload: build: %d\n", len);
		exit(1);
	}
	w = mps_tun_write(tun_fd, out, (size_t)len);
	if (w != len)
		write_errs++;
}

/* start sends slot s's next SYN, from a fresh port with a fresh key and ISS. */
static void start(slot *s, uint64_t now)
{
	mps_opts o;
	uint8_t rnd[12];

	mps_random_bytes(rnd, sizeof(rnd));
	memcpy(&s->key, rnd, 8);
	memcpy(&s->iss, rnd + 8, 4);
	s->local.port = s->next_port;
	s->next_port = s->next_port == 65535 ? 1024 : (uint16_t)(s->next_port + 1);
	s->state = S_SYN_SENT;
	s->sent_ns = now;
	memset(&o, 0, sizeof(o));
	o.present = MPS_OPT_MSS | MPS_OPT_MPC;
	o.mss = 1460;
	o.mpc.version = 1;
	o.mpc.flags = MPS_MPC_FLAG_H;
	o.mpc.nkeys = 0;
	send_seg(s, s->iss, 0, MPS_TH_SYN, &o);
}

/* on_synack completes slot s's handshake with the server's SYN-ACK p: the
 * third ACK, then the reset.  Returns true when the handshake completed. */
static bool on_synack(slot *s, const mps_pkt *p)
{
	mps_opts o, r;
	bool mptcp;

	if (mps_opt_parse(&r, p->opts, p->optlen, p->flags) != 0)
		memset(&r, 0, sizeof(r));
	mptcp = (r.present & MPS_OPT_MPC) && r.mpc.version == 1 && r.mpc.nkeys == 1;
	memset(&o, 0, sizeof(o));
	if (mptcp) {
		o.present = MPS_OPT_MPC;
		o.mpc.version = 1;
		o.mpc.flags = r.mpc.flags;
		o.mpc.nkeys = 2;
		o.mpc.key_sender = s->key;
		o.mpc.key_receiver = r.mpc.key_sender;
		send_seg(s, s->iss + 1, p->seq + 1, MPS_TH_ACK, &o);
		memset(&o, 0, sizeof(o));
		o.present = MPS_OPT_FASTCLOSE;
		o.fastclose.key = r.mpc.key_sender;
	}
	send_seg(s, s->iss + 1, p->seq + 1, MPS_TH_RST | MPS_TH_ACK, &o);
	s->state = S_IDLE;
	return mptcp;
}

int main(int argc, char **argv)
{
	const char *ifname = "hsl0", *net = "10.99.0.0/16";
	double secs, drain = 1.0;
	unsigned long nslots = 256, i, handshakes = 0;
	char dev[IFNAMSIZ], netbuf[64], *slash;
	mps_addr base;
	int prefix, opt, rc;
	uint32_t base32, naddr;
	slot *slots;
	uint64_t t0, t_end, t_stop, now, last_scan, syn_timeout = 1000000000u;
	uint8_t buf[2048];
	bool stopping = false;
	unsigned long pending = 1;
	struct rusage ru;

	while ((opt = getopt(argc, argv, "c:i:n:t:w:")) != -1) {
		switch (opt) {
		case 'c':
			nslots = strtoul(optarg, NULL, 10);
			break;
		case 'i':
			ifname = optarg;
			break;
		case 'n':
			net = optarg;
			break;
		case 't':
			syn_timeout = strtoull(optarg, NULL, 10) * 1000000u;
			break;
		case 'w':
			drain = atof(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2)
		usage();
	secs = atof(argv[optind]);
	if (secs <= 0 || syn_timeout == 0 || mps_addr_parse(&server, argv[optind + 1]) != 0 || server.port == 0 ||
	    server.family != MPS_AF_INET)
		usage();
	snprintf(netbuf, sizeof(netbuf), "%s", net);
	slash = strchr(netbuf, '/');
	if (slash == NULL)
		usage();
	*slash = 0;
	prefix = atoi(slash + 1);
	if (mps_addr_parse(&base, netbuf) != 0 || base.family != MPS_AF_INET || prefix < 8 || prefix > 30)
		usage();
	naddr = (1u << (32 - prefix)) - 2;
	if (nslots == 0 || nslots > naddr) {
		fprintf(stderr, "hsload: -c %lu: between 1 and %u for %s\n", nslots, naddr, net);
		return 2;
	}
	if (mps_crypto_init() != 0) {
		fprintf(stderr, "hsload: crypto init failed\n");
		return 1;
	}
	tun_fd = mps_tun_open(ifname, 0, dev);
	if (tun_fd < 0) {
		fprintf(stderr, "hsload: tun %s: %s\n", ifname, strerror(-tun_fd));
		return 1;
	}
	if ((rc = mps_tun_set_txqueuelen(dev, 8192)) != 0 || (rc = mps_tun_up(dev)) != 0 ||
	    (rc = mps_tun_add_route(dev, &base, prefix)) != 0) {
		fprintf(stderr, "hsload: configuring %s: %s\n", dev, strerror(-rc));
		return 1;
	}
	base32 = (uint32_t)base.ip[0] << 24 | (uint32_t)base.ip[1] << 16 | (uint32_t)base.ip[2] << 8 |
		 base.ip[3];
	base32 &= ~((1u << (32 - prefix)) - 1);
	slots = calloc(nslots, sizeof(*slots));
	if (slots == NULL)
		return 1;
	for (i = 0; i < nslots; i++) {
		uint32_t a = base32 + 1 + (uint32_t)i;
		uint8_t ip[4] = {(uint8_t)(a >> 24), (uint8_t)(a >> 16), (uint8_t)(a >> 8), (uint8_t)a};

		mps_addr_set_v4(&slots[i].local, ip, 0);
		slots[i].next_port = 1024;
	}

	t0 = now_ns();
	t_end = t0 + (uint64_t)(secs * 1e9);
	t_stop = t_end + (uint64_t)(drain * 1e9);
	last_scan = t0;
	for (i = 0; i < nslots; i++)
		start(&slots[i], t0);
	for (;;) {
		ssize_t n = mps_tun_read(tun_fd, buf, sizeof(buf));
		mps_pkt p;
		uint32_t a, idx;
		slot *s;

		if (n == -EAGAIN) {
			struct pollfd pfd = {.fd = tun_fd, .events = POLLIN};

			(void)poll(&pfd, 1, 10);
		}
		now = now_ns();
		if (!stopping && now >= t_end) {
			stopping = true;
			handshakes = done;
		}
		if (stopping)
			for (pending = 0, i = 0; i < nslots; i++)
				pending += slots[i].state == S_SYN_SENT;
		if (now >= t_stop)
			break;
		if (stopping && pending == 0)
			break;
		if (now - last_scan >= syn_timeout / 10) {
			/* abandon SYNs unanswered for -t MS */
			last_scan = now;
			for (i = 0; i < nslots; i++) {
				s = &slots[i];
				if (s->state == S_SYN_SENT && now - s->sent_ns >= syn_timeout) {
					timeouts++;
					s->state = S_IDLE;
					if (!stopping)
						start(s, now);
				}
			}
		}
		if (n < 0) {
			if (n != -EAGAIN && n != -EINTR) {
				fprintf(stderr, "hsload: read: %s\n", strerror((int)-n));
				return 1;
			}
			continue;
		}
		if (mps_pkt_parse(&p, buf, (size_t)n, 0) != 0 || p.proto != MPS_IPPROTO_TCP ||
		    p.dst.family != MPS_AF_INET || !mps_addr_eq(&p.src, &server))
			continue;
		a = (uint32_t)p.dst.ip[0] << 24 | (uint32_t)p.dst.ip[1] << 16 |
		    (uint32_t)p.dst.ip[2] << 8 | p.dst.ip[3];
		idx = a - base32 - 1;
		if (a <= base32 || idx >= nslots)
			continue;
		s = &slots[idx];
		if (s->state != S_SYN_SENT || p.dst.port != s->local.port) {
			/* A SYN-ACK for an abandoned SYN, or repeated because our
			 * third ACK was lost: reset it (RFC 9293 §3.10.7.1) so
			 * that the server keeps no state for it. */
			if ((p.flags & (MPS_TH_SYN | MPS_TH_ACK | MPS_TH_RST)) == (MPS_TH_SYN | MPS_TH_ACK)) {
				slot old = *s;
				mps_opts none;

				memset(&none, 0, sizeof(none));
				old.local.port = p.dst.port;
				send_seg(&old, p.ack, 0, MPS_TH_RST, &none);
				stale++;
			}
			continue;
		}
		if (p.flags & MPS_TH_RST) {
			if ((p.flags & MPS_TH_ACK) && p.ack == s->iss + 1) {
				refused++;
				s->state = S_IDLE;
				if (!stopping)
					start(s, now);
			}
			continue;
		}
		if ((p.flags & (MPS_TH_SYN | MPS_TH_ACK)) != (MPS_TH_SYN | MPS_TH_ACK) ||
		    p.ack != s->iss + 1)
			continue;
		if (on_synack(s, &p))
			done++;
		else
			failed++;
		if (!stopping)
			start(s, now);
	}
	getrusage(RUSAGE_SELF, &ru);
	if (write_errs > 0)
		fprintf(stderr, "hsload: %lu packets not written (TUN queue full?)\n", write_errs);
	printf("handshakes %lu seconds %.3f rate %.0f total %lu failed %lu refused %lu timeouts %lu stale %lu cpu %.2f\n",
	       handshakes, secs, (double)handshakes / secs, done, failed, refused, timeouts, stale,
	       (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
		       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
	close(tun_fd);
	free(slots);
	return 0;
}
