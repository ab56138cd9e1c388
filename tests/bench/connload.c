/*
 * connload.c - connection load generator for the benchmarks (tests/bench).
 *
 *   connload [OPTIONS] idle N HOST:PORT      open N connections, keep them idle
 *   connload [OPTIONS] rate SECONDS HOST:PORT connect, complete the handshake,
 *                                            close; as many as possible
 *   connload [OPTIONS] serve PORT            a kernel listener: accept and keep
 *                                            (or, with -x, accept and close)
 *
 * Options:
 *   -T          plain TCP instead of MPTCP (IPPROTO_MPTCP is the default)
 *   -b ADDR     a local source address; repeat for several (used in turn)
 *   -c N        connections in flight at once (default 256)
 *   -x          serve: close every accepted connection at once
 *   -w SECONDS  idle: how long to wait for all N (default 60)
 *
 * One epoll loop, nonblocking connects.  A connection counts as handshaken
 * when the connect completes (SO_ERROR 0: the SYN-ACK came and our ACK left).
 * In rate mode it is then closed with SO_LINGER 0 (an RST, or MP_FASTCLOSE
 * for MPTCP), so no TIME_WAIT is left behind and the ephemeral ports of the
 * source addresses are reused at once.
 *
 * Output (stdout): idle prints "established N failed F" once every
 * connection is up (or after -w), then waits for SIGTERM/SIGINT; rate
 * prints "handshakes N failed F seconds S rate R"; serve prints
 * "accepted N errors E" when stopped (E: failed accepts other than EAGAIN;
 * the listen backlog is 65535, i.e. net.core.somaxconn).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif

#define MAX_SRC 64

static volatile sig_atomic_t stop;
static int proto = IPPROTO_MPTCP;
static struct sockaddr_storage srcs[MAX_SRC];
static int nsrc, next_src;
static int epfd;
static unsigned long ok, failed;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr, "usage: connload [-T] [-b ADDR]... [-c N] [-x] [-w S] idle N HOST:PORT\n"
			"       connload [-T] [-b ADDR]... [-c N] rate SECONDS HOST:PORT\n"
			"       connload [-T] [-x] serve PORT\n");
	exit(2);
}

/* parse_addr reads ADDR or ADDR:PORT (IPv6 as [ADDR]:PORT). */
static int parse_addr(const char *text, struct sockaddr_storage *ss, int need_port)
{
	char buf[128], *host = buf, *port = NULL;
	struct sockaddr_in *a4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)ss;

	if (strlen(text) >= sizeof(buf))
		return -1;
	strcpy(buf, text);
	if (buf[0] == '[') {
		char *e = strchr(buf, ']');
		if (e == NULL)
			return -1;
		*e = 0;
		host = buf + 1;
		if (e[1] == ':')
			port = e + 2;
	} else if (strchr(buf, ':') == strrchr(buf, ':') && strchr(buf, ':') != NULL) {
		port = strchr(buf, ':');
		*port++ = 0;
	}
	if (need_port && port == NULL)
		return -1;
	memset(ss, 0, sizeof(*ss));
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port ? (uint16_t)atoi(port) : 0);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port ? (uint16_t)atoi(port) : 0);
		return 0;
	}
	return -1;
}

static socklen_t ss_len(const struct sockaddr_storage *ss)
{
	return ss->ss_family == AF_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
}

/* start_connect opens one nonblocking connection to dst; 0 or -1. */
static int start_connect(const struct sockaddr_storage *dst)
{
	int fd = socket(dst->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto);
	struct epoll_event ev;
	int one = 1;

	if (fd < 0)
		return -1;
	if (nsrc > 0) {
		const struct sockaddr_storage *src = &srcs[next_src++ % nsrc];
		/* The port is picked at connect time, per destination. */
		(void)setsockopt(fd, SOL_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof(one));
		if (bind(fd, (const struct sockaddr *)src, ss_len(src)) < 0) {
			close(fd);
			return -1;
		}
	}
	if (connect(fd, (const struct sockaddr *)dst, ss_len(dst)) < 0 && errno != EINPROGRESS) {
		close(fd);
		return -1;
	}
	ev.events = EPOLLOUT;
	ev.data.fd = fd;
	if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return -1;
	}
	return 0;
}

/* connect_done tells whether fd's connect succeeded. */
static int connect_done(int fd)
{
	int err = 0;
	socklen_t l = sizeof(err);

	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &l) < 0)
		return 0;
	return err == 0;
}

static void close_rst(int fd)
{
	struct linger lg = {1, 0};

	(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

static void raise_nofile(void)
{
	struct rlimit rl = {1 << 20, 1 << 20};

	if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
		rl.rlim_cur = rl.rlim_max = 65536;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static int run_idle(long n, const struct sockaddr_storage *dst, int inflight, double wait_s)
{
	struct epoll_event evs[256];
	long started = 0, pending = 0;
	double t0 = now_s();

	while (!stop && ok + failed < (unsigned long)n && now_s() - t0 < wait_s) {
		int i, k;

		while (started < n && pending < inflight) {
			started++;
			if (start_connect(dst) < 0)
				failed++;
			else
				pending++;
		}
		k = epoll_wait(epfd, evs, 256, 100);
		for (i = 0; i < k; i++) {
			int fd = evs[i].data.fd;
			/* Established (or failed): no more events wanted. */
			epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL);
			pending--;
			if (connect_done(fd)) {
				ok++;
			} else {
				failed++;
				close(fd);
			}
		}
	}
	printf("established %lu failed %lu seconds %.2f\n", ok, failed, now_s() - t0);
	fflush(stdout);
	while (!stop)
		pause();
	return failed == 0 && ok == (unsigned long)n ? 0 : 1;
}

static int run_rate(double secs, const struct sockaddr_storage *dst, int inflight)
{
	struct epoll_event evs[256];
	long pending = 0;
	double t0 = now_s(), t;

	while (!stop && (t = now_s()) - t0 < secs) {
		int i, k;

		while (pending < inflight) {
			if (start_connect(dst) < 0) {
				failed++;
				break;
			}
			pending++;
		}
		k = epoll_wait(epfd, evs, 256, 10);
		for (i = 0; i < k; i++) {
			int fd = evs[i].data.fd;
			pending--;
			if (connect_done(fd))
				ok++;
			else
				failed++;
			close_rst(fd);
		}
	}
	t = now_s() - t0;
	printf("handshakes %lu failed %lu seconds %.3f rate %.1f\n", ok, failed, t, (double)ok / t);
	return 0;
}

static int run_serve(int port, int close_at_once)
{
	struct sockaddr_in6 a;
	struct epoll_event ev, evs[256];
	unsigned long accept_errs = 0;
	int last_err = 0;
	int lfd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, proto), one = 1, zero = 0;

	if (lfd < 0) {
		perror("socket");
		return 1;
	}
	memset(&a, 0, sizeof(a));
	a.sin6_family = AF_INET6;
	a.sin6_port = htons((uint16_t)port);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(lfd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
	if (bind(lfd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(lfd, 65535) < 0) {
		perror("bind/listen");
		return 1;
	}
	ev.events = EPOLLIN;
	ev.data.fd = lfd;
	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
	while (!stop) {
		int k = epoll_wait(epfd, evs, 256, 200), i;

		for (i = 0; i < k; i++) {
			int fd;
			for (;;) {
				fd = accept4(lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
				if (fd < 0) {
					if (errno == EAGAIN || errno == EWOULDBLOCK)
						break;
					accept_errs++;
					last_err = errno;
					if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
					    errno == ENOMEM)
						break;
					continue; /* e.g. ECONNABORTED: the next one */
				}
				ok++;
				if (close_at_once)
					close(fd);
			}
		}
	}
	printf("accepted %lu errors %lu", ok, accept_errs);
	if (accept_errs > 0)
		printf(" (last: %s)", strerror(last_err));
	printf("\n");
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_storage dst;
	struct sigaction sa;
	int opt, inflight = 256, close_at_once = 0;
	double wait_s = 60;

	while ((opt = getopt(argc, argv, "Tb:c:xw:")) != -1) {
		switch (opt) {
		case 'T':
			proto = IPPROTO_TCP;
			break;
		case 'b':
			if (nsrc == MAX_SRC || parse_addr(optarg, &srcs[nsrc], 0) < 0)
				usage();
			nsrc++;
			break;
		case 'c':
			inflight = atoi(optarg);
			break;
		case 'x':
			close_at_once = 1;
			break;
		case 'w':
			wait_s = atof(optarg);
			break;
		default:
			usage();
		}
	}
	argc -= optind;
	argv += optind;
	if (argc < 2 || inflight < 1)
		usage();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	raise_nofile();
	epfd = epoll_create1(EPOLL_CLOEXEC);
	if (epfd < 0) {
		perror("epoll_create1");
		return 1;
	}
	if (strcmp(argv[0], "serve") == 0)
		return run_serve(atoi(argv[1]), close_at_once);
	if (argc < 3 || parse_addr(argv[2], &dst, 1) < 0)
		usage();
	if (strcmp(argv[0], "idle") == 0)
		return run_idle(atol(argv[1]), &dst, inflight, wait_s);
	if (strcmp(argv[0], "rate") == 0)
		return run_rate(atof(argv[1]), &dst, inflight);
	usage();
	return 2;
}
