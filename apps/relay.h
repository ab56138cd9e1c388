/*
 * relay.h - move a byte stream between an MPTCP connection and a local end.
 *
 * One pump (mps_relay_pump) serves every path of mpsd:
 *   client role:  player's kernel TCP socket  <->  mps_conn to the servers
 *   server role:  mps_conn from a client      <->  kernel TCP socket to --backend
 *                 mps_conn from a client      <->  built-in HTTP server (apps/http.h)
 * The local end is reached through mps_relay_ops, so the flow control is
 * written once:
 *   up   (local -> conn): read the local end only while the connection has
 *        send space, and only when the previous chunk was taken; resume on
 *        MPS_EV_WRITABLE.
 *   down (conn -> local): call mps_conn_recv only when the local end took
 *        the previous chunk, so unread bytes stay in the stack and its
 *        receive window closes; resume when the local end is writable.
 *   end:  local EOF -> mps_conn_shutdown (DATA_FIN after the data);
 *         mps_conn_recv() == 0 -> ops->end (shutdown(SHUT_WR) on a socket);
 *         both done -> mps_conn_close and the local end is released.
 *   errors: MPS_EV_CLOSED with an error, or a failed mps_conn_* call ->
 *         the local end is released with abort=true (a socket gets an RST,
 *         so a player sees an explicit error and never a stream that looks
 *         complete); a local error -> mps_conn_abort (MP_FASTCLOSE / RST).
 *
 * Ownership: mpsd owns each mps_relay and the list links in it.  The relay
 * holds the mps_conn handle (it is the conn's user pointer) until it
 * finishes; then it has called mps_conn_close or mps_conn_abort and released
 * the local end, and mpsd frees it with mps_relay_free.
 *
 * Re-entrancy: the stack's event callback must only call mps_relay_on_event
 * (which records the event); mpsd pumps the relay after the stack call
 * returned.
 */
#ifndef MPS_RELAY_H
#define MPS_RELAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "mps.h"

typedef struct mps_relay_ops {
	/* Bytes from the local end for the connection: > 0, 0 at the end of
	 * the local stream, MPS_ERR_AGAIN when none now, or another MPS_ERR_*
	 * (the local end failed). */
	ssize_t (*read)(void *ctx, uint8_t *buf, size_t cap);
	/* Bytes from the connection for the local end: returns how many were
	 * taken (> 0), MPS_ERR_AGAIN, or another MPS_ERR_*. */
	ssize_t (*write)(void *ctx, const uint8_t *buf, size_t len);
	/* The connection's stream ended in order: no more write calls. */
	void (*end)(void *ctx);
	/* The relay wants to be pumped when the local end can be read (rd) or
	 * written (wr).  NULL when the local end is never waited for. */
	void (*want)(void *ctx, bool rd, bool wr);
	/* The relay is done with the local end; abort: it ended in error. */
	void (*release)(void *ctx, bool abort);
	/* Close the connection as soon as the local stream ended and was
	 * sent, without waiting for the peer's end (HTTP: the server closes). */
	bool close_on_local_eof;
} mps_relay_ops;

/* A kernel socket as the local end.  kind is left for the event loop: a
 * pointer to this struct is the epoll data, and kind is its first member. */
struct mps_relay_fd {
	int kind;
	int fd;
	int epfd;
	uint32_t events; /* what epoll has now; 0 = not registered */
	int err;	 /* errno of the failure that ended it, for the log */
	struct mps_relay *relay;
};

extern const mps_relay_ops mps_relay_fd_ops;   /* ctx: struct mps_relay_fd */
extern const mps_relay_ops mps_relay_http_ops; /* ctx: mps_http_session */

typedef struct mps_relay {
	mps_conn *conn;
	const mps_relay_ops *ops;
	void *ctx;
	const char *app; /* "player", "backend", "http": for logs and status */
	uint64_t id;
	bool connected;	 /* the handshake completed: data may flow */
	bool local_eof;	 /* ops->read returned 0 */
	bool conn_shut;	 /* mps_conn_shutdown done */
	bool conn_eof;	 /* mps_conn_recv returned 0 */
	bool closed;	 /* MPS_EV_CLOSED seen */
	int close_err;	 /* its error */
	bool finished;	 /* both ends released; only mps_relay_free is left */
	int fail;	 /* the error that ended the relay, 0 when orderly */
	bool fail_local; /* ... and it came from the local end */
	bool more;	 /* the pump stopped with work left: pump again soon */
	bool want_rd, want_wr;
	uint64_t bytes_up, bytes_down;
	bool down_blocked; /* the local end took part of what was there */
	struct mps_relay_fd fd_end; /* the local end when it is a socket */
	/* list links, owned by mpsd */
	struct mps_relay *next, *prev, *next_dirty;
	bool dirty;
} mps_relay;

/*
 * mps_relay_new makes a relay for c (which becomes c's user pointer).
 *   ops, ctx   the local end; for a socket use mps_relay_new_fd
 *   connected  false on the client until MPS_EV_CONNECTED
 * Returns 0 or MPS_ERR_NOMEM.
 */
int mps_relay_new(mps_relay **out, mps_conn *c, const mps_relay_ops *ops, void *ctx,
		  const char *app, bool connected);

/* mps_relay_new_fd: the local end is the nonblocking socket fd, registered
 * in epfd with kind as the first word of the epoll data.  The relay owns fd
 * from now on, also on failure.  Returns 0, MPS_ERR_NOMEM or MPS_ERR_IO. */
int mps_relay_new_fd(mps_relay **out, mps_conn *c, int fd, int epfd, int kind, const char *app,
		     bool connected);

/* Record a connection event (from the stack's event callback). */
void mps_relay_on_event(mps_relay *r, enum mps_event ev, int err);

/* Move what can be moved now, in both directions.  Returns true when the
 * relay finished (both ends released): free it with mps_relay_free. */
bool mps_relay_pump(mps_relay *r, uint64_t now);

/* Tear both ends down now (daemon exit): mps_conn_abort and an RST on a
 * socket.  The relay is finished afterwards. */
void mps_relay_abort(mps_relay *r, uint64_t now);

void mps_relay_free(mps_relay *r);

#endif
