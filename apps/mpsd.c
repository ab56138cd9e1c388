/*
 * mpsd.c - the mpstream daemon: TUN device, stack, event loop, roles.
 *
 * main → mps_opts_parse → mpsd_setup (serve dir, player listener, TUN,
 *        routes, stack, ctl socket, epoll) → mpsd_loop → mpsd_shutdown
 *
 * mpsd_loop, one round:
 *   epoll_wait → TUN readable:  mps_tun_read until EAGAIN → mps_stack_input
 *              → timerfd:       mps_stack_handle_expiry
 *              → player listen: accept4 → mps_connect → relay (client role)
 *              → relay socket:  mark the relay dirty
 *              → ctl socket:    accept → read a line → status → write, close
 *              → signalfd:      stop
 *   mpsd_run_dirty → mps_relay_pump for every relay that had an event
 *   mpsd_arm_timer → timerfd at the absolute mps_stack_next_expiry
 *
 * Stack callbacks: output writes the packet to the TUN (a full queue drops
 * it, counted: TCP recovers); event only records the event in the relay and
 * marks it dirty, except MPS_EV_ACCEPT which creates the relay (HTTP
 * session or backend socket).  No stack call is made from inside a
 * callback (but mps_conn_set_user/get_info, and mps_conn_abort when memory
 * ran out), so the stack is not re-entered.
 *
 * Time: "now" is CLOCK_MONOTONIC in ns, the timerfd runs on the same clock
 * with TFD_TIMER_ABSTIME, so expiries are exact to the ns.
 */
#include "config.h"

#include "ctl.h"
#include "http.h"
#include "log.h"
#include "mps.h"
#include "opts.h"
#include "relay.h"
#include "tun.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

/* What an epoll event points at: the first int of the target struct. */
enum mpsd_kind {
	K_TUN = 1,
	K_TIMER,
	K_SIGNAL,
	K_LISTEN,
	K_CTL_LISTEN,
	K_CTL_CLIENT,
	K_RELAY_FD,
};

#define MPSD_MAX_EVENTS 64
#define MPSD_TUN_BATCH 256
#define MPSD_MAX_CTL_CLIENTS 16
#define MPSD_MAX_SUBFLOWS 32
#define MPSD_PKT_MAX 65536
/* Packets the kernel may queue on the TUN for us: a 4 MiB receive window
 * is ~2900 full segments; the default of 500 drops bursts. */
#define MPSD_TUN_QLEN 8192

struct mpsd_ctl_client {
	int kind; /* K_CTL_CLIENT */
	int fd;
	char req[MPS_CTL_MAX_REQUEST];
	size_t reqlen;
	mps_text reply;
	size_t sent;
	bool replying;
	struct mpsd_ctl_client *next, *prev;
};

struct mpsd {
	struct mps_opts o;
	const char *ctl_path;
	char tun[IFNAMSIZ];
	int epfd, tunfd, timerfd, sigfd, listenfd, ctlfd;
	/* epoll targets of the fixed descriptors */
	int k_tun, k_timer, k_signal, k_listen, k_ctl;
	mps_stack *stack;
	mps_http_server *http;
	mps_relay *relays; /* live relays, doubly linked */
	mps_relay *dirty;  /* to pump this round, via next_dirty */
	mps_relay *later;  /* to pump next round (pump stopped with work left) */
	mps_relay *dead;   /* finished, freed once no list can hold them */
	struct mpsd_ctl_client *ctl_clients;
	size_t nctl;
	uint64_t now, started, armed;
	uint64_t next_id, tun_drops, gso_drops;
	bool vnet; /* the TUN has a virtio-net header: offloads on */
	bool stop;
	uint8_t pkt[MPSD_PKT_MAX];
};

/* --- helpers -------------------------------------------------------------- */

static socklen_t mpsd_sockaddr(const mps_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == MPS_AF_INET6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->ip, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(a->port);
	memcpy(&s4->sin_addr, a->ip, 4);
	return sizeof(*s4);
}

static void mpsd_from_sockaddr(mps_addr *a, const struct sockaddr_storage *ss)
{
	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;

		mps_addr_set_v6(a, s6->sin6_addr.s6_addr, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;

		mps_addr_set_v4(a, (const uint8_t *)&s4->sin_addr, ntohs(s4->sin_port));
	}
}

static int mpsd_epoll_add(struct mpsd *d, int fd, uint32_t events, void *target)
{
	struct epoll_event ev = {.events = events, .data.ptr = target};

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

/* Close a socket with an RST (the peer sees an error, not an EOF). */
static void mpsd_close_rst(int fd)
{
	struct linger lg = {.l_onoff = 1, .l_linger = 0};

	setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	close(fd);
}

/* --- relays ----------------------------------------------------------------- */

static void mpsd_mark_dirty(struct mpsd *d, mps_relay *r)
{
	if (r->dirty || r->finished)
		return;
	r->dirty = true;
	r->next_dirty = d->dirty;
	d->dirty = r;
}

static void mpsd_add_relay(struct mpsd *d, mps_relay *r)
{
	r->id = ++d->next_id;
	r->prev = NULL;
	r->next = d->relays;
	if (d->relays != NULL)
		d->relays->prev = r;
	d->relays = r;
	mpsd_mark_dirty(d, r);
}

/* A finished relay leaves the live list; it is freed at the end of the
 * round, since a dirty list or this round's epoll events may still name it. */
static void mpsd_bury(struct mpsd *d, mps_relay *r)
{
	if (r->prev != NULL)
		r->prev->next = r->next;
	else
		d->relays = r->next;
	if (r->next != NULL)
		r->next->prev = r->prev;
	r->next = d->dead;
	r->prev = NULL;
	d->dead = r;
}

static void mpsd_free_dead(struct mpsd *d)
{
	while (d->dead != NULL) {
		mps_relay *r = d->dead;

		d->dead = r->next;
		mps_relay_free(r);
	}
}

static void mpsd_run_dirty(struct mpsd *d)
{
	unsigned budget = 100000;

	while (d->dirty != NULL && budget-- > 0) {
		mps_relay *r = d->dirty;

		d->dirty = r->next_dirty;
		r->dirty = false;
		if (r->finished)
			continue;
		if (mps_relay_pump(r, d->now)) {
			mpsd_bury(d, r);
		} else if (r->more && !r->dirty) {
			r->dirty = true; /* keeps event callbacks from queueing it twice */
			r->next_dirty = d->later;
			d->later = r;
		}
	}
}

/* The relays that stopped with work left get their turn after the next
 * (non-blocking) epoll_wait, so TUN input and timers are served between. */
static void mpsd_take_later(struct mpsd *d)
{
	while (d->later != NULL) {
		mps_relay *r = d->later;

		d->later = r->next_dirty;
		r->next_dirty = d->dirty;
		d->dirty = r;
	}
}

/* --- stack callbacks -------------------------------------------------------- */

static void mpsd_output(void *user, const uint8_t *pkt, size_t len, const mps_out_meta *meta)
{
	struct mpsd *d = user;
	ssize_t n;

	if (d->vnet) {
		mps_tun_vnet vh = {0, false, false};

		struct iovec pv[MPS_TUN_MAX_PIECES];
		int i, np = 0;

		if (meta != NULL) {
			vh.gso_size = meta->gso_size;
			vh.csum_partial = meta->csum_partial;
			np = meta->npayload < MPS_TUN_MAX_PIECES ? meta->npayload
								  : MPS_TUN_MAX_PIECES;
			for (i = 0; i < np; i++) {
				pv[i].iov_base = (void *)(uintptr_t)meta->payload[i].base;
				pv[i].iov_len = meta->payload[i].len;
			}
		}
		n = mps_tun_writev_vnet(d->tunfd, pkt, len, pv, np, &vh);
	} else if (meta != NULL && (meta->gso_size > 0 || meta->csum_partial)) {
		/* needs a virtio-net header: the device is opened without one */
		if (d->gso_drops++ == 0)
			mps_log(0, "mpsd: dropping GSO packets: TUN offload is not enabled");
		return;
	} else {
		n = mps_tun_write(d->tunfd, pkt, len);
	}
	if (n < 0) {
		d->tun_drops++;
		if (n != -EAGAIN)
			mps_log(2, "tun write: %s", strerror((int)-n));
	}
}

/* Server role: a connection came in; give it the HTTP server or a backend
 * socket.  Called from the event callback, so no stack call here. */
/* A relay forwards bytes as they come: Nagle's algorithm on its sockets
 * would hold the tail of a short answer until the player's delayed ACK
 * (40 ms on Linux), as it would for any proxy (nginx sets tcp_nodelay). */
static void mpsd_nodelay(int fd)
{
	int one = 1;

	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

static void mpsd_on_accept(struct mpsd *d, mps_conn *c)
{
	char a[MPS_ADDR_STRLEN], b[MPS_ADDR_STRLEN];
	mps_conn_info ci;
	mps_relay *r = NULL;
	int err;

	if (d->http != NULL) {
		mps_http_session *h;

		err = mps_http_session_new(&h, d->http);
		if (err == 0) {
			err = mps_relay_new(&r, c, &mps_relay_http_ops, h, "http", true);
			if (err < 0)
				mps_http_session_free(h);
		}
	} else {
		struct sockaddr_storage ss;
		socklen_t sl = mpsd_sockaddr(&d->o.backend, &ss);
		int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

		/* A failed socket() or connect() is not handled here: the relay
		 * gets the error from its first read (fd -1 gives EBADF) and
		 * aborts the connection from the pump, outside this callback. */
		if (fd >= 0)
			mpsd_nodelay(fd);
		if (fd < 0)
			mps_log(0, "mpsd: backend socket: %s", strerror(errno));
		else if (connect(fd, (struct sockaddr *)&ss, sl) < 0 && errno != EINPROGRESS)
			mps_log(1, "backend %s: %s", mps_addr_format(&d->o.backend, a),
				strerror(errno));
		err = mps_relay_new_fd(&r, c, fd, d->epfd, K_RELAY_FD, "backend", true);
	}
	if (err < 0) {
		/* Out of memory: nothing can carry the connection.  The only
		 * stack call made from inside a callback. */
		mps_log(0, "mpsd: cannot serve a new connection: %s", mps_strerror(err));
		mps_conn_set_user(c, NULL);
		mps_conn_abort(c, d->now);
		return;
	}
	mpsd_add_relay(d, r);
	if (mps_log_level() < 1)
		return; /* the addresses are not formatted for nothing */
	mps_conn_get_info(c, &ci, NULL, 0);
	mps_log(1, "conn #%llu (%s) accepted: %s -> %s, %s", (unsigned long long)r->id, r->app,
		mps_addr_format(&ci.remote, a), mps_addr_format(&ci.local, b),
		ci.fallback ? "fallback"
		: ci.mptcp  ? "mptcp"
			    : "tcp");
}

static void mpsd_event(void *user, mps_conn *c, enum mps_event ev, int err)
{
	struct mpsd *d = user;
	mps_relay *r = mps_conn_get_user(c);
	char a[MPS_ADDR_STRLEN];
	mps_conn_info ci;

	if (ev == MPS_EV_ACCEPT && r == NULL) {
		mpsd_on_accept(d, c);
		return;
	}
	if (r == NULL)
		return;
	mps_relay_on_event(r, ev, err);
	switch (ev) {
	case MPS_EV_CONNECTED:
		mps_conn_get_info(c, &ci, NULL, 0);
		mps_log(1, "conn #%llu (%s) connected to %s, %s", (unsigned long long)r->id, r->app,
			mps_addr_format(&ci.remote, a),
			ci.fallback ? "fallback"
			: ci.mptcp  ? "mptcp"
				    : "tcp");
		break;
	case MPS_EV_CLOSED:
		mps_log(err != 0 ? 1 : 2, "conn #%llu (%s) closed by the stack: %s",
			(unsigned long long)r->id, r->app,
			err != 0 ? mps_strerror(err) : "orderly");
		break;
	case MPS_EV_SUBFLOW:
		mps_log(2, "conn #%llu: subflow change%s%s", (unsigned long long)r->id,
			err != 0 ? ": " : "", err != 0 ? mps_strerror(err) : "");
		break;
	default:
		break;
	}
	mpsd_mark_dirty(d, r);
}

/* --- event sources ---------------------------------------------------------- */

static void mpsd_tun_readable(struct mpsd *d)
{
	int i;

	for (i = 0; i < MPSD_TUN_BATCH; i++) {
		mps_tun_vnet vh;
		mps_in_meta im;
		ssize_t n;

		if (d->vnet)
			n = mps_tun_read_vnet(d->tunfd, d->pkt, sizeof(d->pkt), &vh);
		else
			n = mps_tun_read(d->tunfd, d->pkt, sizeof(d->pkt));
		if (n == -EPROTO)
			continue; /* an offload we never asked for: not TCP */
		if (n < 0) {
			if (n != -EAGAIN)
				mps_log(0, "mpsd: tun read: %s", strerror((int)-n));
			return;
		}
		if (d->vnet) {
			im.gso_size = vh.gso_size;
			im.csum_ok = vh.csum_partial || vh.csum_valid;
			mps_stack_input_meta(d->stack, d->pkt, (size_t)n, d->now, &im);
		} else {
			mps_stack_input(d->stack, d->pkt, (size_t)n, d->now);
		}
	}
}

static void mpsd_timer(struct mpsd *d)
{
	uint64_t ticks;

	if (read(d->timerfd, &ticks, sizeof(ticks)) < 0) {
		/* EAGAIN: re-armed since it fired */
	}
	d->armed = 0; /* one-shot: not armed any more */
	if (mps_stack_next_expiry(d->stack) <= d->now)
		mps_stack_handle_expiry(d->stack, d->now);
}

static void mpsd_arm_timer(struct mpsd *d)
{
	uint64_t exp = mps_stack_next_expiry(d->stack);
	struct itimerspec its;

	if (exp == 0)
		exp = 1; /* it_value 0 would disarm */
	if (exp == d->armed)
		return;
	memset(&its, 0, sizeof(its));
	if (exp != MPS_TIME_NONE) {
		its.it_value.tv_sec = (time_t)(exp / 1000000000u);
		its.it_value.tv_nsec = (long)(exp % 1000000000u);
	}
	timerfd_settime(d->timerfd, TFD_TIMER_ABSTIME, &its, NULL);
	d->armed = exp;
}

/* Client role: every player connection becomes one MPTCP connection. */
static void mpsd_accept_players(struct mpsd *d)
{
	char a[MPS_ADDR_STRLEN], b[MPS_ADDR_STRLEN];
	struct sockaddr_storage ss;
	socklen_t sl;
	mps_relay *r;
	mps_conn *c;
	mps_addr peer;
	int fd, err;

	for (;;) {
		mps_connect_params p = {
		    .remote = d->o.connect,
		    .join = d->o.joins,
		    .njoin = d->o.njoins,
		    .group = d->o.group,
		    .mode = (enum mps_sched_mode)d->o.sched,
		};

		sl = sizeof(ss);
		fd =
		    accept4(d->listenfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
				mps_log(0, "mpsd: accept: %s", strerror(errno));
			return;
		}
		mpsd_from_sockaddr(&peer, &ss);
		mpsd_nodelay(fd);
		err = mps_connect(d->stack, &p, d->now, &c);
		if (err < 0) {
			mps_log(0, "mpsd: cannot connect to %s: %s",
				mps_addr_format(&d->o.connect, a), mps_strerror(err));
			mpsd_close_rst(fd);
			continue;
		}
		err = mps_relay_new_fd(&r, c, fd, d->epfd, K_RELAY_FD, "player", false);
		if (err < 0) {
			mps_conn_abort(c, d->now);
			continue;
		}
		mpsd_add_relay(d, r);
		mps_log(1, "conn #%llu (player) from %s: connecting to %s (+%zu join)",
			(unsigned long long)r->id, mps_addr_format(&peer, a),
			mps_addr_format(&d->o.connect, b), d->o.njoins);
	}
}

/* --- control socket --------------------------------------------------------- */

static void mpsd_status(struct mpsd *d, mps_text *t, bool json)
{
	mps_ctl_status st;
	mps_ctl_conn *conns = NULL;
	mps_subflow_info *sfs = NULL;
	mps_peer_info *peers = NULL;
	size_t n = 0, i = 0;
	mps_conn *c;

	for (c = mps_stack_conn_first(d->stack); c != NULL; c = mps_stack_conn_next(d->stack, c))
		n++;
	if (n > 0) {
		conns = calloc(n, sizeof(*conns));
		sfs = calloc(n * MPSD_MAX_SUBFLOWS, sizeof(*sfs));
		peers = calloc(n * MPSD_MAX_SUBFLOWS, sizeof(*peers));
		if (conns == NULL || sfs == NULL || peers == NULL) {
			free(conns);
			free(sfs);
			free(peers);
			mps_text_printf(t, "error: out of memory\n");
			return;
		}
	}
	for (c = mps_stack_conn_first(d->stack); c != NULL && i < n;
	     c = mps_stack_conn_next(d->stack, c), i++) {
		mps_relay *r = mps_conn_get_user(c);

		conns[i].sf = sfs + i * MPSD_MAX_SUBFLOWS;
		conns[i].nsf = mps_conn_get_info(c, &conns[i].info, sfs + i * MPSD_MAX_SUBFLOWS,
						 MPSD_MAX_SUBFLOWS);
		conns[i].peer = peers + i * MPSD_MAX_SUBFLOWS;
		conns[i].npeer = mps_conn_get_peers(c, peers + i * MPSD_MAX_SUBFLOWS, MPSD_MAX_SUBFLOWS);
		conns[i].app = r != NULL ? r->app : "closing";
		if (r != NULL) {
			conns[i].has_relay = true;
			conns[i].relay_up = r->bytes_up;
			conns[i].relay_down = r->bytes_down;
			conns[i].send_space = mps_conn_send_space(c);
		}
	}
	memset(&st, 0, sizeof(st));
	st.version = PACKAGE_VERSION;
	st.role = d->o.role == MPS_ROLE_SERVER ? "server" : "client";
	st.tun = d->tun;
	st.uptime_ns = d->now - d->started;
	st.tun_drops = d->tun_drops + d->gso_drops;
	mps_stack_get_stats(d->stack, &st.stats);
	st.conns = conns;
	st.nconns = i;
	mps_ctl_format_status(t, &st, json);
	free(conns);
	free(sfs);
	free(peers);
}

static void mpsd_ctl_close(struct mpsd *d, struct mpsd_ctl_client *cc)
{
	epoll_ctl(d->epfd, EPOLL_CTL_DEL, cc->fd, NULL);
	close(cc->fd);
	mps_text_free(&cc->reply);
	if (cc->prev != NULL)
		cc->prev->next = cc->next;
	else
		d->ctl_clients = cc->next;
	if (cc->next != NULL)
		cc->next->prev = cc->prev;
	d->nctl--;
	free(cc);
}

static void mpsd_ctl_accept(struct mpsd *d)
{
	struct mpsd_ctl_client *cc;
	int fd;

	for (;;) {
		fd = accept4(d->ctlfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			return;
		cc = d->nctl < MPSD_MAX_CTL_CLIENTS ? calloc(1, sizeof(*cc)) : NULL;
		if (cc == NULL) {
			close(fd);
			continue;
		}
		cc->kind = K_CTL_CLIENT;
		cc->fd = fd;
		if (mpsd_epoll_add(d, fd, EPOLLIN, cc) < 0) {
			close(fd);
			free(cc);
			continue;
		}
		cc->next = d->ctl_clients;
		if (d->ctl_clients != NULL)
			d->ctl_clients->prev = cc;
		d->ctl_clients = cc;
		d->nctl++;
	}
}

/* Write what is left of the reply; close when all is out or on error. */
static void mpsd_ctl_flush(struct mpsd *d, struct mpsd_ctl_client *cc)
{
	while (cc->sent < cc->reply.len) {
		ssize_t n = send(cc->fd, cc->reply.buf + cc->sent, cc->reply.len - cc->sent,
				 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct epoll_event ev = {.events = EPOLLOUT, .data.ptr = cc};

			epoll_ctl(d->epfd, EPOLL_CTL_MOD, cc->fd, &ev);
			return;
		}
		if (n < 0)
			break;
		cc->sent += (size_t)n;
	}
	mpsd_ctl_close(d, cc);
}

static void mpsd_ctl_event(struct mpsd *d, struct mpsd_ctl_client *cc)
{
	ssize_t n;
	int req;

	if (cc->replying) {
		mpsd_ctl_flush(d, cc);
		return;
	}
	n = recv(cc->fd, cc->req + cc->reqlen, sizeof(cc->req) - cc->reqlen, MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n < 0) {
		mpsd_ctl_close(d, cc);
		return;
	}
	cc->reqlen += (size_t)n;
	if (n > 0 && memchr(cc->req, '\n', cc->reqlen) == NULL && cc->reqlen < sizeof(cc->req))
		return; /* the line is not complete yet */
	req = mps_ctl_parse_request(cc->req, cc->reqlen);
	if (req == MPS_CTL_STATUS || req == MPS_CTL_STATUS_JSON)
		mpsd_status(d, &cc->reply, req == MPS_CTL_STATUS_JSON);
	else
		mps_text_printf(&cc->reply, "error: unknown request (try 'status' or "
					    "'status json')\n");
	cc->replying = true;
	mpsd_ctl_flush(d, cc);
}

/* --- setup and teardown ----------------------------------------------------- */

/* One line on stderr; returns the exit status for main. */
__attribute__((format(printf, 1, 2))) static int mpsd_fail(const char *fmt, ...)
{
	va_list ap;

	fputs("mpsd: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return MPS_EXIT_RUNTIME;
}

static int mpsd_tcp_listen(const mps_addr *a)
{
	struct sockaddr_storage ss;
	socklen_t sl = mpsd_sockaddr(a, &ss);
	int fd, one = 1, err;

	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, 128) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

static int mpsd_setup_tun(struct mpsd *d)
{
	char a[MPS_ADDR_STRLEN];
	size_t i;
	int err;

	d->tunfd = -EOPNOTSUPP;
	if (!d->o.no_offload) {
		d->tunfd = mps_tun_open(d->o.tun, MPS_TUN_VNET_HDR, d->tun);
		if (d->tunfd >= 0) {
			d->vnet = true;
			/* Without TSO reads we still write super-segments. */
			err = mps_tun_set_offload(d->tunfd, MPS_TUN_OFF_CSUM | MPS_TUN_OFF_TSO);
			if (err < 0)
				mps_log(0, "mpsd: no TSO/checksum offload on reads: %s",
					strerror(-err));
		} else if (d->tunfd == -EOPNOTSUPP) {
			mps_log(0, "mpsd: TUN without virtio-net header: offloads off");
		}
	}
	if (d->tunfd == -EOPNOTSUPP)
		d->tunfd = mps_tun_open(d->o.tun, 0, d->tun);
	if (d->tunfd < 0)
		return mpsd_fail("cannot create TUN device %s: %s", d->o.tun, strerror(-d->tunfd));
	err = mps_tun_set_mtu(d->tun, d->o.mtu ? d->o.mtu : 1500);
	if (err == 0)
		err = mps_tun_up(d->tun);
	if (err < 0)
		return mpsd_fail("cannot configure TUN device %s: %s", d->tun, strerror(-err));
	/* Not fatal: a short queue only costs drops (TCP recovers). */
	err = mps_tun_set_txqueuelen(d->tun, MPSD_TUN_QLEN);
	if (err < 0)
		mps_log(0, "mpsd: cannot set the queue length of %s: %s", d->tun, strerror(-err));
	for (i = 0; i < d->o.naddrs; i++) {
		const mps_addr *ad = &d->o.addrs[i];

		err = mps_tun_add_route(d->tun, ad, ad->family == MPS_AF_INET6 ? 128 : 32);
		if (err < 0)
			return mpsd_fail("cannot route %s into %s: %s", mps_addr_format(ad, a),
					 d->tun, strerror(-err));
	}
	return 0;
}

static int mpsd_setup_stack(struct mpsd *d)
{
	char a[MPS_ADDR_STRLEN];
	mps_config cfg;
	size_t i;
	int err;

	memset(&cfg, 0, sizeof(cfg));
	cfg.cb.output = mpsd_output;
	cfg.cb.event = mpsd_event;
	cfg.user = d;
	cfg.mtu = (uint16_t)d->o.mtu;
	cfg.no_mptcp = d->o.no_mptcp;
	cfg.cc = d->o.cc;
	cfg.cc_coupled = d->o.cc_coupled;
	cfg.send_timeout = (uint64_t)(d->o.has_send_timeout ? d->o.send_timeout_ms : MPS_SEND_TIMEOUT_DEFAULT_MS) *
			   1000000ull;
	if (d->vnet) {
		cfg.gso_max = 65535; /* the stack caps it to what fits a packet */
		cfg.csum_offload = true;
		cfg.out_iov = true; /* writev gathers the payload from the buffer */
	}
	cfg.group_key = d->o.has_group_key ? d->o.group_key : NULL;
	cfg.group_key_prev = d->o.has_group_key_prev ? d->o.group_key_prev : NULL;
	err = mps_stack_new(&d->stack, &cfg);
	if (err < 0)
		return mpsd_fail("cannot create the stack: %s", mps_strerror(err));
	for (i = 0; i < d->o.naddrs; i++) {
		err = mps_stack_add_addr(d->stack, &d->o.addrs[i]);
		if (err < 0 && err != MPS_ERR_EXIST)
			return mpsd_fail("cannot add address %s: %s",
					 mps_addr_format(&d->o.addrs[i], a), mps_strerror(err));
	}
	for (i = 0; i < d->o.nannounce; i++) {
		err = mps_stack_add_announce(d->stack, &d->o.announce[i]);
		if (err < 0)
			return mpsd_fail("cannot announce %s: %s",
					 mps_addr_format(&d->o.announce[i], a), mps_strerror(err));
	}
	if (d->o.role == MPS_ROLE_SERVER) {
		err = mps_listen(d->stack, &d->o.listen);
		if (err < 0)
			return mpsd_fail("cannot listen on %s: %s",
					 mps_addr_format(&d->o.listen, a), mps_strerror(err));
	}
	return 0;
}

static int mpsd_setup_loop(struct mpsd *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return mpsd_fail("sigprocmask: %s", strerror(errno));
	signal(SIGPIPE, SIG_IGN);
	d->sigfd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	d->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->sigfd < 0 || d->timerfd < 0 || d->epfd < 0)
		return mpsd_fail("cannot set up the event loop: %s", strerror(errno));
	d->k_tun = K_TUN;
	d->k_timer = K_TIMER;
	d->k_signal = K_SIGNAL;
	d->k_listen = K_LISTEN;
	d->k_ctl = K_CTL_LISTEN;
	if (mpsd_epoll_add(d, d->tunfd, EPOLLIN, &d->k_tun) < 0 ||
	    mpsd_epoll_add(d, d->timerfd, EPOLLIN, &d->k_timer) < 0 ||
	    mpsd_epoll_add(d, d->sigfd, EPOLLIN, &d->k_signal) < 0 ||
	    mpsd_epoll_add(d, d->ctlfd, EPOLLIN, &d->k_ctl) < 0 ||
	    (d->listenfd >= 0 && mpsd_epoll_add(d, d->listenfd, EPOLLIN, &d->k_listen) < 0))
		return mpsd_fail("cannot set up the event loop: %s", strerror(errno));
	return 0;
}

static int mpsd_setup(struct mpsd *d)
{
	char a[MPS_ADDR_STRLEN];
	int err;

	d->tunfd = d->listenfd = d->ctlfd = d->epfd = d->timerfd = d->sigfd = -1;
	d->ctl_path = d->o.ctl != NULL ? d->o.ctl : mps_ctl_default_path();
	d->started = d->now = mps_now_ns();
	/* cheap checks of the user's input first, then the privileged parts */
	if (d->o.serve != NULL) {
		size_t n = 0;

		err = mps_http_server_new(&d->http, d->o.serve);
		if (err == 0)
			err = mps_http_server_warm(d->http, &n);
		if (err < 0)
			return mpsd_fail("cannot serve %s: %s", d->o.serve, strerror(-err));
		mps_log(1, "serving %s: %zu file(s) hashed for their ETags", d->o.serve, n);
	}
	if (d->o.role == MPS_ROLE_CLIENT) {
		d->listenfd = mpsd_tcp_listen(&d->o.listen);
		if (d->listenfd < 0)
			return mpsd_fail("cannot listen on %s: %s",
					 mps_addr_format(&d->o.listen, a), strerror(-d->listenfd));
	}
	err = mpsd_setup_tun(d);
	if (err != 0)
		return err;
	err = mpsd_setup_stack(d);
	if (err != 0)
		return err;
	d->ctlfd = mps_ctl_listen(d->ctl_path, d->o.ctl_gid);
	if (d->ctlfd == -EADDRINUSE)
		return mpsd_fail("control socket %s is in use by another mpsd (use --ctl PATH)",
				 d->ctl_path);
	if (d->ctlfd < 0)
		return mpsd_fail("cannot create control socket %s: %s", d->ctl_path,
				 strerror(-d->ctlfd));
	err = mpsd_setup_loop(d);
	if (err != 0)
		return err;
	if (d->o.role == MPS_ROLE_SERVER)
		mps_log(1, "mpsd %s: server on %s, listening on %s, %s %s", PACKAGE_VERSION, d->tun,
			mps_addr_format(&d->o.listen, a), d->http ? "serving" : "backend",
			d->http ? d->o.serve : mps_addr_format(&d->o.backend, a));
	else
		mps_log(1, "mpsd %s: client on %s, players on %s", PACKAGE_VERSION, d->tun,
			mps_addr_format(&d->o.listen, a));
	return 0;
}

/* SIGHUP: read the group key file again (key rotation without a restart,
 * doc/protocol.md).  A file that does not load keeps the keys in use. */
static void mpsd_reload_keys(struct mpsd *d)
{
	uint8_t keys[2][MPS_GROUP_KEY_BYTES];
	char err[MPS_OPTS_ERRLEN];
	size_t n;

	if (d->o.group_key_file == NULL) {
		mps_log(0, "mpsd: SIGHUP: no --group-key file to read again");
		return;
	}
	if (mps_opts_load_group_key(d->o.group_key_file, keys, &n, err, sizeof(err)) != 0) {
		mps_log(0, "%s; the group keys in use are kept", err);
		return;
	}
	mps_stack_set_group_keys(d->stack, keys[0], n == 2 ? keys[1] : NULL);
	sodium_memzero(keys, sizeof(keys));
	mps_log(0, "mpsd: group key file %s read again: %zu key%s", d->o.group_key_file, n,
		n == 2 ? "s (the second for joins only)" : "");
}

static void mpsd_dispatch(struct mpsd *d, const struct epoll_event *ev)
{
	int kind = *(const int *)ev->data.ptr;
	struct signalfd_siginfo si;

	switch (kind) {
	case K_TUN:
		mpsd_tun_readable(d);
		break;
	case K_TIMER:
		mpsd_timer(d);
		break;
	case K_SIGNAL:
		if (read(d->sigfd, &si, sizeof(si)) != sizeof(si))
			break;
		if (si.ssi_signo == SIGHUP) {
			mpsd_reload_keys(d);
			break;
		}
		mps_log(1, "mpsd: signal %u, exiting", si.ssi_signo);
		d->stop = true;
		break;
	case K_LISTEN:
		mpsd_accept_players(d);
		break;
	case K_CTL_LISTEN:
		mpsd_ctl_accept(d);
		break;
	case K_CTL_CLIENT:
		mpsd_ctl_event(d, ev->data.ptr);
		break;
	case K_RELAY_FD: {
		struct mps_relay_fd *e = ev->data.ptr;

		mpsd_mark_dirty(d, e->relay);
		break;
	}
	}
}

static void mpsd_loop(struct mpsd *d)
{
	struct epoll_event evs[MPSD_MAX_EVENTS];
	int n, i;

	while (!d->stop) {
		mpsd_run_dirty(d);
		if (d->dirty == NULL)
			mpsd_free_dead(d);
		mpsd_arm_timer(d);
		n = epoll_wait(d->epfd, evs, MPSD_MAX_EVENTS,
			       d->later != NULL || d->dirty != NULL ? 0 : -1);
		if (n < 0 && errno != EINTR) {
			mps_log(0, "mpsd: epoll_wait: %s", strerror(errno));
			break;
		}
		d->now = mps_now_ns();
		mpsd_take_later(d);
		for (i = 0; i < n; i++)
			mpsd_dispatch(d, &evs[i]);
		if (mps_stack_next_expiry(d->stack) <= d->now)
			mps_stack_handle_expiry(d->stack, d->now);
	}
}

static void mpsd_shutdown(struct mpsd *d)
{
	d->now = mps_now_ns();
	/* Tell the peers (MP_FASTCLOSE / RST) and the players (RST): a stream
	 * cut by our exit must not look complete to anyone. */
	while (d->relays != NULL) {
		mps_relay *r = d->relays;

		mps_relay_abort(r, d->now);
		mpsd_bury(d, r);
	}
	mpsd_free_dead(d);
	while (d->ctl_clients != NULL)
		mpsd_ctl_close(d, d->ctl_clients);
	if (d->stack != NULL)
		mps_stack_free(d->stack);
	mps_http_server_free(d->http);
	if (d->ctlfd >= 0) {
		close(d->ctlfd);
		unlink(d->ctl_path);
	}
	if (d->listenfd >= 0)
		close(d->listenfd);
	if (d->tunfd >= 0)
		close(d->tunfd); /* the device goes away with its only fd */
	if (d->timerfd >= 0)
		close(d->timerfd);
	if (d->sigfd >= 0)
		close(d->sigfd);
	if (d->epfd >= 0)
		close(d->epfd);
	sodium_memzero(d->o.group_key, sizeof(d->o.group_key));
	sodium_memzero(d->o.group_key_prev, sizeof(d->o.group_key_prev));
}

static int mpsd_keygen(void)
{
	uint8_t key[MPS_GROUP_KEY_BYTES];
	char b64[sodium_base64_ENCODED_LEN(MPS_GROUP_KEY_BYTES, sodium_base64_VARIANT_ORIGINAL)];

	randombytes_buf(key, sizeof(key));
	sodium_bin2base64(b64, sizeof(b64), key, sizeof(key), sodium_base64_VARIANT_ORIGINAL);
	sodium_memzero(key, sizeof(key));
	printf("%s\n", b64);
	sodium_memzero(b64, sizeof(b64));
	return fflush(stdout) == 0 ? MPS_EXIT_OK : MPS_EXIT_RUNTIME;
}

int main(int argc, char **argv)
{
	char err[MPS_OPTS_ERRLEN];
	struct mpsd *d;
	int rc;

	d = calloc(1, sizeof(*d));
	if (d == NULL) {
		fputs("mpsd: out of memory\n", stderr);
		return MPS_EXIT_RUNTIME;
	}
	rc = mps_opts_parse(&d->o, argc, argv, err, sizeof(err));
	if (rc != MPS_EXIT_OK) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (d->o.help) {
		fputs(mps_opts_usage(), stdout);
		goto out;
	}
	if (d->o.version) {
		printf("mpsd %s\n", PACKAGE_VERSION);
		goto out;
	}
	if (sodium_init() < 0) {
		rc = mpsd_fail("cannot initialise libsodium");
		goto out;
	}
	if (d->o.role == MPS_ROLE_KEYGEN) {
		rc = mpsd_keygen();
		goto out;
	}
	mps_log_set_level(d->o.verbose);
	rc = mpsd_setup(d);
	if (rc == 0)
		mpsd_loop(d);
	mpsd_shutdown(d);
out:
	sodium_memzero(d->o.group_key, sizeof(d->o.group_key));
	sodium_memzero(d->o.group_key_prev, sizeof(d->o.group_key_prev));
	free(d);
	return rc;
}
