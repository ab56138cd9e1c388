/*
 * relay.c - the pump between an mps_conn and a local end (see relay.h).
 *
 * mps_relay_pump → relay_up (mps_conn_send_reserve → ops->read →
 *                            mps_conn_send_commit; mps_conn_shutdown)
 *                → relay_down (mps_conn_recv_peek → ops->write →
 *                              mps_conn_recv_consume; ops->end)
 *                → repeat while either moved → relay_finish / relay_want
 *
 * No copy in user space between the local end and the stack: the local end
 * reads into the stack's send buffer and writes from its receive buffer.
 * A relay holds no buffer of its own.
 */
#include "relay.h"
#include "http.h"
#include "log.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

/* --- the relay -------------------------------------------------------------- */

int mps_relay_new(mps_relay **out, mps_conn *c, const mps_relay_ops *ops, void *ctx,
		  const char *app, bool connected)
{
	mps_relay *r = calloc(1, sizeof(*r));

	*out = NULL;
	if (r == NULL)
		return MPS_ERR_NOMEM;
	r->conn = c;
	r->ops = ops;
	r->ctx = ctx;
	r->app = app;
	r->connected = connected;
	r->fd_end.fd = -1;
	mps_conn_set_user(c, r);
	*out = r;
	return 0;
}

int mps_relay_new_fd(mps_relay **out, mps_conn *c, int fd, int epfd, int kind, const char *app,
		     bool connected)
{
	int err = mps_relay_new(out, c, &mps_relay_fd_ops, NULL, app, connected);

	if (err < 0) {
		close(fd);
		return err;
	}
	(*out)->ctx = &(*out)->fd_end;
	(*out)->fd_end.kind = kind;
	(*out)->fd_end.fd = fd;
	(*out)->fd_end.epfd = epfd;
	(*out)->fd_end.relay = *out;
	return 0;
}

void mps_relay_on_event(mps_relay *r, enum mps_event ev, int err)
{
	switch (ev) {
	case MPS_EV_CONNECTED:
	case MPS_EV_ACCEPT:
		r->connected = true;
		break;
	case MPS_EV_CLOSED:
		r->closed = true;
		r->close_err = err;
		break;
	default:
		break;
	}
}

/* Release both ends.  abort: mps_conn_abort (unless the stack already
 * closed the connection: then only the handle is released) and an error
 * close of the local end. */
static void relay_finish(mps_relay *r, uint64_t now, int fail)
{
	mps_conn *c = r->conn;

	r->fail = fail;
	r->finished = true;
	r->conn = NULL;
	mps_conn_set_user(c, NULL);
	if (fail != 0 && !r->closed)
		mps_conn_abort(c, now);
	else
		mps_conn_close(c, now);
	r->ops->release(r->ctx, fail != 0);
	if (fail != 0)
		mps_log(1, "conn #%llu (%s) aborted: %s%s; up %llu down %llu bytes",
			(unsigned long long)r->id, r->app, r->fail_local ? "local end: " : "",
			r->fail_local && r->ctx == &r->fd_end && r->fd_end.err != 0
			    ? strerror(r->fd_end.err)
			    : mps_strerror(fail),
			(unsigned long long)r->bytes_up, (unsigned long long)r->bytes_down);
	else
		mps_log(1, "conn #%llu (%s) closed; up %llu down %llu bytes",
			(unsigned long long)r->id, r->app, (unsigned long long)r->bytes_up,
			(unsigned long long)r->bytes_down);
}

/* local -> conn, zero-copy: the local end reads straight into free space of
 * the stack's send buffer.  Returns 1 when something moved, 0 when not, or
 * an error. */
static int relay_up(mps_relay *r, uint64_t now)
{
	int moved = 0;
	ssize_t n;

	if (!r->local_eof) {
		mps_wiov w[2];
		ssize_t space, k;
		int cnt;

		space = mps_conn_send_reserve(r->conn, w, &cnt);
		if (space < 0)
			return (int)space;
		if (space == 0)
			return 0; /* stop reading the local end: wait for MPS_EV_WRITABLE */
		n = r->ops->read(r->ctx, w[0].base, w[0].len);
		if (n > 0) {
			k = mps_conn_send_commit(r->conn, (size_t)n, now);
			if (k < 0)
				return (int)k;
			r->bytes_up += (uint64_t)k;
			return 1;
		}
		if (n == MPS_ERR_AGAIN)
			return 0;
		if (n < 0) {
			r->fail_local = true;
			return (int)n;
		}
		r->local_eof = true;
		moved = 1;
	}
	if (!r->conn_shut) {
		int err = mps_conn_shutdown(r->conn, now);

		if (err < 0)
			return err;
		r->conn_shut = true;
		moved = 1;
	}
	return moved;
}

/* conn -> local, zero-copy: the local end writes straight from the stack's
 * receive buffer, and what it does not take stays there (the window then
 * closes on the sender).  Returns 1 when something moved, 0 when not, or an
 * error. */
static int relay_down(mps_relay *r, uint64_t now)
{
	mps_iov iov[2];
	size_t taken = 0;
	ssize_t n;
	int cnt, i;

	if (r->conn_eof)
		return 0;
	n = mps_conn_recv_peek(r->conn, iov, &cnt);
	if (n > 0) {
		r->down_blocked = false;
		for (i = 0; i < cnt; i++) {
			ssize_t k = r->ops->write(r->ctx, iov[i].base, iov[i].len);

			if (k == MPS_ERR_AGAIN)
				k = 0;
			if (k < 0) {
				r->fail_local = true;
				return (int)k;
			}
			taken += (size_t)k;
			if ((size_t)k < iov[i].len) {
				r->down_blocked = true; /* wait until the local end drains */
				break;
			}
		}
		if (taken == 0)
			return 0;
		r->bytes_down += (uint64_t)taken;
		mps_conn_recv_consume(r->conn, taken, now);
		return 1;
	}
	if (n == MPS_ERR_AGAIN)
		return 0;
	if (n < 0)
		return (int)n;
	r->conn_eof = true;
	r->ops->end(r->ctx);
	return 1;
}

bool mps_relay_pump(mps_relay *r, uint64_t now)
{
	int up, down, guard;
	bool rd, wr;

	if (r->finished)
		return true;
	if (r->closed && r->close_err != 0) {
		relay_finish(r, now, r->close_err);
		return true;
	}
	if (!r->connected)
		return false;
	/* bounded: a fast local end must not starve the event loop */
	for (guard = 0; guard < 64; guard++) {
		up = relay_up(r, now);
		if (up < 0) {
			relay_finish(r, now, up);
			return true;
		}
		down = relay_down(r, now);
		if (down < 0) {
			relay_finish(r, now, down);
			return true;
		}
		if (r->closed && r->close_err != 0) { /* closed under our calls */
			relay_finish(r, now, r->close_err);
			return true;
		}
		if (up == 0 && down == 0)
			break;
	}
	if (r->conn_shut &&
	    (r->conn_eof || r->ops->close_on_local_eof)) {
		relay_finish(r, now, 0);
		return true;
	}
	rd = !r->local_eof && mps_conn_send_space(r->conn) > 0;
	wr = r->down_blocked;
	r->more = guard == 64; /* stopped with work left: mpsd pumps again */
	if (r->ops->want != NULL && (rd != r->want_rd || wr != r->want_wr))
		r->ops->want(r->ctx, rd, wr);
	r->want_rd = rd;
	r->want_wr = wr;
	return false;
}

void mps_relay_abort(mps_relay *r, uint64_t now)
{
	if (!r->finished)
		relay_finish(r, now, MPS_ERR_CLOSED);
}

void mps_relay_free(mps_relay *r)
{
	free(r);
}

/* --- a kernel socket as the local end ------------------------------------- */

static int relay_fd_err(int e)
{
	if (e == EAGAIN || e == EWOULDBLOCK)
		return MPS_ERR_AGAIN;
	if (e == ECONNRESET || e == EPIPE)
		return MPS_ERR_RESET;
	if (e == ETIMEDOUT)
		return MPS_ERR_TIMEOUT;
	return MPS_ERR_IO;
}

static ssize_t relay_fd_read(void *ctx, uint8_t *buf, size_t cap)
{
	struct mps_relay_fd *e = ctx;
	ssize_t n;

	do {
		n = recv(e->fd, buf, cap, MSG_DONTWAIT);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		int err = relay_fd_err(errno);

		if (err != MPS_ERR_AGAIN)
			e->err = errno;
		return err;
	}
	return n;
}

static ssize_t relay_fd_write(void *ctx, const uint8_t *buf, size_t len)
{
	struct mps_relay_fd *e = ctx;
	ssize_t n;

	do {
		n = send(e->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		int err = relay_fd_err(errno);

		if (err != MPS_ERR_AGAIN)
			e->err = errno;
		return err;
	}
	return n;
}

static void relay_fd_end(void *ctx)
{
	struct mps_relay_fd *e = ctx;

	shutdown(e->fd, SHUT_WR);
}

/* Register only what is wanted; with nothing wanted the fd leaves epoll,
 * so a hung-up socket that we do not read cannot make epoll spin. */
static void relay_fd_want(void *ctx, bool rd, bool wr)
{
	struct mps_relay_fd *e = ctx;
	struct epoll_event ev = {.data.ptr = e};
	uint32_t want = (rd ? EPOLLIN | EPOLLRDHUP : 0) | (wr ? EPOLLOUT : 0);

	if (want == e->events)
		return;
	ev.events = want;
	if (want == 0)
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, e->fd, NULL);
	else if (e->events == 0)
		epoll_ctl(e->epfd, EPOLL_CTL_ADD, e->fd, &ev);
	else
		epoll_ctl(e->epfd, EPOLL_CTL_MOD, e->fd, &ev);
	e->events = want;
}

static void relay_fd_release(void *ctx, bool abort)
{
	struct mps_relay_fd *e = ctx;

	if (e->fd < 0)
		return;
	if (e->events != 0)
		epoll_ctl(e->epfd, EPOLL_CTL_DEL, e->fd, NULL);
	e->events = 0;
	if (abort) {
		/* SO_LINGER 0: close sends an RST, the peer gets ECONNRESET */
		struct linger lg = {.l_onoff = 1, .l_linger = 0};

		setsockopt(e->fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
	}
	close(e->fd);
	e->fd = -1;
}

const mps_relay_ops mps_relay_fd_ops = {
    .read = relay_fd_read,
    .write = relay_fd_write,
    .end = relay_fd_end,
    .want = relay_fd_want,
    .release = relay_fd_release,
    .close_on_local_eof = false,
};

/* --- the built-in HTTP server as the local end ------------------------------ */

static ssize_t relay_http_read(void *ctx, uint8_t *buf, size_t cap)
{
	mps_http_session *h = ctx;
	ssize_t n = mps_http_pull(h, buf, cap);

	if (n != 0)
		return n;
	return mps_http_done(h) ? 0 : MPS_ERR_AGAIN;
}

static ssize_t relay_http_write(void *ctx, const uint8_t *buf, size_t len)
{
	mps_http_session *h = ctx;
	size_t n = mps_http_feed(h, buf, len);

	return n > 0 ? (ssize_t)n : MPS_ERR_AGAIN;
}

static void relay_http_end(void *ctx)
{
	mps_http_feed_eof(ctx);
}

static void relay_http_release(void *ctx, bool abort)
{
	(void)abort;
	mps_http_session_free(ctx);
}

const mps_relay_ops mps_relay_http_ops = {
    .read = relay_http_read,
    .write = relay_http_write,
    .end = relay_http_end,
    .want = NULL,
    .release = relay_http_release,
    .close_on_local_eof = true,
};
