/*
 * ctl.h - the control socket of mpsd and what it answers.
 *
 * Protocol: a Unix stream socket (default /run/mpsd.sock, or $MPS_CTL).  The
 * client sends one line, "status" or "status json"; the daemon writes the
 * reply and closes.  An unknown request gets "error: unknown request\n".
 *
 * This module has no stack calls: mpsd copies what it wants to show into a
 * struct mps_ctl_status (from mps_stack_get_stats, mps_conn_get_info and the
 * connection iterator) and mps_ctl_format_status renders it, as text or as
 * JSON through the small escaping JSON writer below.  That keeps the output
 * testable without a running stack.
 *
 * Errors: the socket helpers return -errno; the rest cannot fail except for
 * memory, which mps_text records (mps_text.oom) instead of returning.
 */
#ifndef MPS_CTL_H
#define MPS_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mps.h"

#define MPS_CTL_DEFAULT_PATH "/run/mpsd.sock"
#define MPS_CTL_MAX_REQUEST 256

/* --- growable text buffer ------------------------------------------------- */

/* buf[0..len) is the text, always NUL-terminated when buf != NULL; oom is set
 * (and later appends ignored) when an allocation failed. */
typedef struct mps_text {
	char *buf;
	size_t len, cap;
	bool oom;
} mps_text;

void mps_text_init(mps_text *t);
void mps_text_free(mps_text *t);
void mps_text_append(mps_text *t, const char *s, size_t len);
__attribute__((format(printf, 2, 3))) void mps_text_printf(mps_text *t, const char *fmt, ...);

/* --- JSON writer ---------------------------------------------------------- */

#define MPS_JSON_MAX_DEPTH 16

/* Writes valid JSON into t: commas and nesting are tracked here; strings
 * are escaped (", \, control characters, and every byte >= 0x80 as
 * \u00XX, so arbitrary bytes still give valid JSON).  key is the member name
 * inside an object and must be NULL inside an array or at the top. */
typedef struct mps_json {
	mps_text *t;
	int depth;
	bool need_comma[MPS_JSON_MAX_DEPTH];
} mps_json;

void mps_json_init(mps_json *j, mps_text *t);
void mps_json_begin_object(mps_json *j, const char *key);
void mps_json_end_object(mps_json *j);
void mps_json_begin_array(mps_json *j, const char *key);
void mps_json_end_array(mps_json *j);
void mps_json_string(mps_json *j, const char *key, const char *v); /* NULL -> null */
void mps_json_u64(mps_json *j, const char *key, uint64_t v);
void mps_json_bool(mps_json *j, const char *key, bool v);

/* --- requests and status -------------------------------------------------- */

enum mps_ctl_request {
	MPS_CTL_STATUS = 1,
	MPS_CTL_STATUS_JSON = 2,
};

/* mps_ctl_parse_request reads one request line (a trailing "\n" or "\r\n"
 * is allowed; words separated by blanks).  Returns MPS_CTL_STATUS,
 * MPS_CTL_STATUS_JSON or MPS_ERR_INVAL. */
int mps_ctl_parse_request(const char *line, size_t len);

typedef struct mps_ctl_conn {
	mps_conn_info info;
	const mps_subflow_info *sf; /* nsf entries (info.nsubflows may be more) */
	size_t nsf;
	const mps_peer_info *peer;  /* group connections: npeer servers */
	size_t npeer;
	const char *app;	       /* what the connection carries: "player", "http", ... */
	bool has_relay;		       /* mpsd still relays it: the three values below are set */
	uint64_t relay_up, relay_down; /* bytes local end -> conn, conn -> local end */
	size_t send_space;	       /* mps_conn_send_space */
} mps_ctl_conn;

typedef struct mps_ctl_status {
	const char *version;
	const char *role; /* "client" or "server" */
	const char *tun;
	uint64_t uptime_ns;
	uint64_t tun_drops; /* packets dropped because the TUN queue was full */
	mps_stack_stats stats;
	const mps_ctl_conn *conns;
	size_t nconns;
} mps_ctl_status;

/* Renders st as human-readable text or as one JSON object (with a final
 * newline) appended to t. */
void mps_ctl_format_status(mps_text *t, const mps_ctl_status *st, bool json);

/* --- sockets -------------------------------------------------------------- */

/* The path to use when none was given: $MPS_CTL, else MPS_CTL_DEFAULT_PATH. */
const char *mps_ctl_default_path(void);

/*
 * mps_ctl_listen binds and listens on path (nonblocking, close-on-exec).
 * A socket file left by a dead daemon is removed first; one that a live
 * daemon answers on is not touched.  The socket is for its owner only
 * (mode 0600, created so under umask 0177: no moment when others may
 * connect), or, with gid >= 0, for that group too (0660, chown to gid).
 *
 * Returns the fd, or -EADDRINUSE (another daemon answers there),
 * -ENAMETOOLONG (path longer than sun_path), -EEXIST (path exists and is
 * not a socket), or another -errno of socket/bind/listen/chown.
 */
int mps_ctl_listen(const char *path, long gid);

/*
 * mps_ctl_query connects to path, sends request plus "\n", and appends the
 * whole reply to reply (blocking, at most timeout_ms per read/write).
 *
 * Returns 0, -ENOENT / -ECONNREFUSED (no daemon), -ENAMETOOLONG, -ENOMEM,
 * -ETIMEDOUT, or another -errno.
 */
int mps_ctl_query(const char *path, const char *request, mps_text *reply, int timeout_ms);

#endif
