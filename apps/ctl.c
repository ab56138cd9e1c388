/*
 * ctl.c - control socket helpers, a text buffer, a JSON writer and the
 * rendering of "status" for mpsd / mpsctl.
 *
 *   mpsd:   mps_ctl_listen → (accept, read a line) → mps_ctl_parse_request
 *           → fill mps_ctl_status → mps_ctl_format_status → write, close
 *   mpsctl: mps_ctl_query → print the reply
 */
#include "ctl.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

/* --- text buffer ---------------------------------------------------------- */

void mps_text_init(mps_text *t)
{
	memset(t, 0, sizeof(*t));
}

void mps_text_free(mps_text *t)
{
	free(t->buf);
	mps_text_init(t);
}

static bool text_reserve(mps_text *t, size_t more)
{
	size_t cap;
	char *nb;

	if (t->oom)
		return false;
	if (t->len + more + 1 <= t->cap)
		return true;
	cap = t->cap ? t->cap : 256;
	while (cap < t->len + more + 1)
		cap *= 2;
	nb = realloc(t->buf, cap);
	if (nb == NULL) {
		t->oom = true;
		return false;
	}
	t->buf = nb;
	t->cap = cap;
	return true;
}

void mps_text_append(mps_text *t, const char *s, size_t len)
{
	if (!text_reserve(t, len))
		return;
	memcpy(t->buf + t->len, s, len);
	t->len += len;
	t->buf[t->len] = '\0';
}

void mps_text_printf(mps_text *t, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || !text_reserve(t, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	t->len += (size_t)n;
}

/* --- JSON writer ---------------------------------------------------------- */

void mps_json_init(mps_json *j, mps_text *t)
{
	memset(j, 0, sizeof(*j));
	j->t = t;
}

static void json_escaped(mps_text *t, const char *s)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *)s;
	char esc[6] = {'\\', 'u', '0', '0', 0, 0};

	mps_text_append(t, "\"", 1);
	for (; *p; p++) {
		const unsigned char *run = p;

		while (*p >= 0x20 && *p < 0x80 && *p != '"' && *p != '\\')
			p++;
		if (p > run)
			mps_text_append(t, (const char *)run, (size_t)(p - run));
		if (*p == '\0')
			break;
		if (*p == '"')
			mps_text_append(t, "\\\"", 2);
		else if (*p == '\\')
			mps_text_append(t, "\\\\", 2);
		else if (*p == '\n')
			mps_text_append(t, "\\n", 2);
		else if (*p == '\t')
			mps_text_append(t, "\\t", 2);
		else {
			/* control character, or a byte that may not be UTF-8:
			 * shown as the code point of the same value (Latin-1) */
			esc[4] = hex[*p >> 4];
			esc[5] = hex[*p & 0xf];
			mps_text_append(t, esc, sizeof(esc));
		}
	}
	mps_text_append(t, "\"", 1);
}

/* Comma and "key": before a value at the current level. */
static void json_member(mps_json *j, const char *key)
{
	if (j->need_comma[j->depth])
		mps_text_append(j->t, ",", 1);
	j->need_comma[j->depth] = true;
	if (key != NULL) {
		json_escaped(j->t, key);
		mps_text_append(j->t, ":", 1);
	}
}

static void json_open(mps_json *j, const char *key, char c)
{
	json_member(j, key);
	mps_text_append(j->t, &c, 1);
	if (j->depth + 1 < MPS_JSON_MAX_DEPTH)
		j->depth++;
	else
		j->t->oom = true; /* too deep: refuse to write garbage */
	j->need_comma[j->depth] = false;
}

static void json_close(mps_json *j, char c)
{
	mps_text_append(j->t, &c, 1);
	if (j->depth > 0)
		j->depth--;
}

void mps_json_begin_object(mps_json *j, const char *key)
{
	json_open(j, key, '{');
}

void mps_json_end_object(mps_json *j)
{
	json_close(j, '}');
}

void mps_json_begin_array(mps_json *j, const char *key)
{
	json_open(j, key, '[');
}

void mps_json_end_array(mps_json *j)
{
	json_close(j, ']');
}

void mps_json_string(mps_json *j, const char *key, const char *v)
{
	json_member(j, key);
	if (v == NULL)
		mps_text_append(j->t, "null", 4);
	else
		json_escaped(j->t, v);
}

void mps_json_u64(mps_json *j, const char *key, uint64_t v)
{
	json_member(j, key);
	mps_text_printf(j->t, "%" PRIu64, v);
}

void mps_json_bool(mps_json *j, const char *key, bool v)
{
	json_member(j, key);
	if (v)
		mps_text_append(j->t, "true", 4);
	else
		mps_text_append(j->t, "false", 5);
}

/* --- requests --------------------------------------------------------------- */

int mps_ctl_parse_request(const char *line, size_t len)
{
	char words[3][16];
	size_t nw = 0, i = 0;

	while (i < len) {
		size_t s, wl;

		while (i < len &&
		       (line[i] == ' ' || line[i] == '\t' || line[i] == '\r' || line[i] == '\n'))
			i++;
		if (i == len)
			break;
		s = i;
		while (i < len && line[i] != ' ' && line[i] != '\t' && line[i] != '\r' &&
		       line[i] != '\n')
			i++;
		wl = i - s;
		if (nw == 3 || wl >= sizeof(words[0]))
			return MPS_ERR_INVAL;
		memcpy(words[nw], line + s, wl);
		words[nw][wl] = '\0';
		nw++;
	}
	if (nw == 1 && strcmp(words[0], "status") == 0)
		return MPS_CTL_STATUS;
	if (nw == 2 && strcmp(words[0], "status") == 0 && strcmp(words[1], "json") == 0)
		return MPS_CTL_STATUS_JSON;
	return MPS_ERR_INVAL;
}

/* --- status --------------------------------------------------------------- */

static const char *ctl_kind(const mps_conn_info *ci)
{
	if (ci->fallback)
		return "fallback";
	if (ci->group)
		return "mptcp-group";
	return ci->mptcp ? "mptcp" : "tcp";
}

static void ctl_status_text(mps_text *t, const mps_ctl_status *st)
{
	const mps_stack_stats *s = &st->stats;
	char a[MPS_ADDR_STRLEN], b[MPS_ADDR_STRLEN];
	size_t i, k;

	mps_text_printf(t, "mpsd %s, %s, tun %s, up %" PRIu64 ".%03" PRIu64 " s\n",
			st->version ? st->version : "?", st->role ? st->role : "?",
			st->tun ? st->tun : "-", st->uptime_ns / 1000000000u,
			st->uptime_ns / 1000000u % 1000u);
	mps_text_printf(t,
			"packets in %" PRIu64 " out %" PRIu64 ", bytes in %" PRIu64 " out %" PRIu64
			", tun drops %" PRIu64 "\n",
			s->pkts_in, s->pkts_out, s->bytes_in, s->bytes_out, st->tun_drops);
	mps_text_printf(t,
			"dropped: malformed %" PRIu64 " checksum %" PRIu64 " no-conn %" PRIu64
			" other %" PRIu64 "; bad options %" PRIu64 "\n",
			s->drop_malformed, s->drop_checksum, s->drop_noconn, s->drop_other,
			s->opt_malformed);
	mps_text_printf(t,
			"connections opened %" PRIu64 " accepted %" PRIu64 " closed %" PRIu64
			" fallbacks %" PRIu64 "; joins accepted %" PRIu64 " refused %" PRIu64 "\n",
			s->conns_opened, s->conns_accepted, s->conns_closed, s->fallbacks,
			s->joins_accepted, s->joins_refused);
	mps_text_printf(t,
			"rst sent %" PRIu64 " received %" PRIu64 "; retransmits %" PRIu64
			" rto %" PRIu64 " reinjected %" PRIu64 " bytes\n",
			s->rst_sent, s->rst_received, s->retransmits, s->rto_fired,
			s->reinjected_bytes);
	mps_text_printf(t,
			"group joins accepted %" PRIu64 " refused %" PRIu64 "; replicas dropped for"
			" differing bytes %" PRIu64 "; send timeouts %" PRIu64 "\n",
			s->group_joins_accepted, s->group_joins_refused, s->divergences, s->send_timeouts);
	mps_text_printf(t, "%zu connection%s\n", st->nconns, st->nconns == 1 ? "" : "s");
	for (i = 0; i < st->nconns; i++) {
		const mps_ctl_conn *c = &st->conns[i];
		const mps_conn_info *ci = &c->info;

		mps_text_printf(
		    t, "conn %zu: %s -> %s %s %s %s%s%s\n", i, mps_addr_format(&ci->local, a),
		    mps_addr_format(&ci->remote, b), ci->state ? ci->state : "?", ctl_kind(ci),
		    ci->is_server ? "server" : "client", c->app ? " " : "", c->app ? c->app : "");
		if (ci->mptcp)
			mps_text_printf(t, "  token local %08" PRIx32 " remote %08" PRIx32 "\n",
					ci->local_token, ci->remote_token);
		if (c->has_relay)
			mps_text_printf(
			    t, "  relay up %" PRIu64 " down %" PRIu64 " bytes, send space %zu\n",
			    c->relay_up, c->relay_down, c->send_space);
		mps_text_printf(t,
				"  bytes sent %" PRIu64 " acked %" PRIu64 " received %" PRIu64
				" delivered %" PRIu64 "; data_ack sent %" PRIu64
				" received %" PRIu64 "\n",
				ci->bytes_sent, ci->bytes_acked, ci->bytes_received,
				ci->bytes_delivered, ci->data_ack_sent, ci->data_ack_received);
		for (k = 0; k < c->npeer; k++) {
			const mps_peer_info *pi = &c->peer[k];

			mps_text_printf(t,
					"  server %s %s: bytes %" PRIu64 " share %u.%u%% srtt %u.%03u ms"
					" outstanding %" PRIu64 " in %" PRIu32 " ranges%s%s\n",
					mps_addr_format(&pi->addr, a), pi->state, pi->bytes,
					pi->share_permille / 10, pi->share_permille % 10, pi->srtt_us / 1000,
					pi->srtt_us % 1000, pi->outstanding, pi->ranges,
					pi->reason ? "; " : "", pi->reason ? mps_strerror(pi->reason) : "");
		}
		mps_text_printf(t, "  %zu subflow%s\n", ci->nsubflows,
				ci->nsubflows == 1 ? "" : "s");
		for (k = 0; k < c->nsf; k++) {
			const mps_subflow_info *f = &c->sf[k];

			mps_text_printf(t, "  subflow %s -> %s %s id %u/%u%s%s\n",
					mps_addr_format(&f->local, a),
					mps_addr_format(&f->remote, b), f->state ? f->state : "?",
					f->local_id, f->remote_id, f->is_initial ? " initial" : "",
					f->backup ? " backup" : "");
			mps_text_printf(t,
					"    srtt %u.%03u ms rttvar %u.%03u ms cwnd %" PRIu32
					" ssthresh %" PRIu32 " mss %" PRIu32 "\n",
					f->srtt_us / 1000, f->srtt_us % 1000, f->rttvar_us / 1000,
					f->rttvar_us % 1000, f->cwnd, f->ssthresh, f->mss);
			mps_text_printf(t,
					"    bytes sent %" PRIu64 " retrans %" PRIu64
					" acked %" PRIu64 " received %" PRIu64 "; rto %" PRIu32
					"\n",
					f->bytes_sent, f->bytes_retrans, f->bytes_acked,
					f->bytes_received, f->retrans_timeouts);
		}
	}
}

static void ctl_status_json(mps_text *t, const mps_ctl_status *st)
{
	const mps_stack_stats *s = &st->stats;
	char a[MPS_ADDR_STRLEN];
	mps_json j;
	size_t i, k;

	mps_json_init(&j, t);
	mps_json_begin_object(&j, NULL);
	mps_json_string(&j, "version", st->version);
	mps_json_string(&j, "role", st->role);
	mps_json_string(&j, "tun", st->tun);
	mps_json_u64(&j, "uptime_ms", st->uptime_ns / 1000000u);
	mps_json_u64(&j, "tun_drops", st->tun_drops);
	mps_json_begin_object(&j, "stats");
	mps_json_u64(&j, "pkts_in", s->pkts_in);
	mps_json_u64(&j, "pkts_out", s->pkts_out);
	mps_json_u64(&j, "bytes_in", s->bytes_in);
	mps_json_u64(&j, "bytes_out", s->bytes_out);
	mps_json_u64(&j, "drop_malformed", s->drop_malformed);
	mps_json_u64(&j, "drop_checksum", s->drop_checksum);
	mps_json_u64(&j, "drop_noconn", s->drop_noconn);
	mps_json_u64(&j, "drop_other", s->drop_other);
	mps_json_u64(&j, "opt_malformed", s->opt_malformed);
	mps_json_u64(&j, "rst_sent", s->rst_sent);
	mps_json_u64(&j, "rst_received", s->rst_received);
	mps_json_u64(&j, "joins_accepted", s->joins_accepted);
	mps_json_u64(&j, "joins_refused", s->joins_refused);
	mps_json_u64(&j, "conns_opened", s->conns_opened);
	mps_json_u64(&j, "conns_accepted", s->conns_accepted);
	mps_json_u64(&j, "conns_closed", s->conns_closed);
	mps_json_u64(&j, "fallbacks", s->fallbacks);
	mps_json_u64(&j, "retransmits", s->retransmits);
	mps_json_u64(&j, "rto_fired", s->rto_fired);
	mps_json_u64(&j, "reinjected_bytes", s->reinjected_bytes);
	mps_json_u64(&j, "group_joins_accepted", s->group_joins_accepted);
	mps_json_u64(&j, "group_joins_refused", s->group_joins_refused);
	mps_json_u64(&j, "divergences", s->divergences);
	mps_json_u64(&j, "send_timeouts", s->send_timeouts);
	mps_json_end_object(&j);
	mps_json_begin_array(&j, "connections");
	for (i = 0; i < st->nconns; i++) {
		const mps_ctl_conn *c = &st->conns[i];
		const mps_conn_info *ci = &c->info;

		mps_json_begin_object(&j, NULL);
		mps_json_string(&j, "local", mps_addr_format(&ci->local, a));
		mps_json_string(&j, "remote", mps_addr_format(&ci->remote, a));
		mps_json_string(&j, "state", ci->state);
		mps_json_string(&j, "app", c->app);
		mps_json_bool(&j, "mptcp", ci->mptcp);
		mps_json_bool(&j, "fallback", ci->fallback);
		mps_json_bool(&j, "is_server", ci->is_server);
		mps_json_u64(&j, "local_token", ci->local_token);
		mps_json_u64(&j, "remote_token", ci->remote_token);
		mps_json_u64(&j, "bytes_sent", ci->bytes_sent);
		mps_json_u64(&j, "bytes_acked", ci->bytes_acked);
		mps_json_u64(&j, "bytes_received", ci->bytes_received);
		mps_json_u64(&j, "bytes_delivered", ci->bytes_delivered);
		mps_json_u64(&j, "data_ack_sent", ci->data_ack_sent);
		mps_json_u64(&j, "data_ack_received", ci->data_ack_received);
		if (c->has_relay) {
			mps_json_u64(&j, "relay_up", c->relay_up);
			mps_json_u64(&j, "relay_down", c->relay_down);
			mps_json_u64(&j, "send_space", c->send_space);
		}
		mps_json_bool(&j, "group", ci->group);
		mps_json_begin_array(&j, "servers");
		for (k = 0; k < c->npeer; k++) {
			const mps_peer_info *pi = &c->peer[k];

			mps_json_begin_object(&j, NULL);
			mps_json_string(&j, "addr", mps_addr_format(&pi->addr, a));
			mps_json_string(&j, "state", pi->state);
			mps_json_u64(&j, "bytes", pi->bytes);
			mps_json_u64(&j, "share_permille", pi->share_permille);
			mps_json_u64(&j, "srtt_us", pi->srtt_us);
			mps_json_u64(&j, "outstanding", pi->outstanding);
			mps_json_u64(&j, "ranges", pi->ranges);
			mps_json_u64(&j, "upstream_acked", pi->up_acked);
			mps_json_string(&j, "reason", pi->reason ? mps_strerror(pi->reason) : "");
			mps_json_end_object(&j);
		}
		mps_json_end_array(&j);
		mps_json_u64(&j, "nsubflows", ci->nsubflows);
		mps_json_begin_array(&j, "subflows");
		for (k = 0; k < c->nsf; k++) {
			const mps_subflow_info *f = &c->sf[k];

			mps_json_begin_object(&j, NULL);
			mps_json_string(&j, "local", mps_addr_format(&f->local, a));
			mps_json_string(&j, "remote", mps_addr_format(&f->remote, a));
			mps_json_string(&j, "state", f->state);
			mps_json_u64(&j, "local_id", f->local_id);
			mps_json_u64(&j, "remote_id", f->remote_id);
			mps_json_bool(&j, "backup", f->backup);
			mps_json_bool(&j, "initial", f->is_initial);
			mps_json_u64(&j, "srtt_us", f->srtt_us);
			mps_json_u64(&j, "rttvar_us", f->rttvar_us);
			mps_json_u64(&j, "cwnd", f->cwnd);
			mps_json_u64(&j, "ssthresh", f->ssthresh);
			mps_json_u64(&j, "mss", f->mss);
			mps_json_u64(&j, "bytes_sent", f->bytes_sent);
			mps_json_u64(&j, "bytes_retrans", f->bytes_retrans);
			mps_json_u64(&j, "bytes_acked", f->bytes_acked);
			mps_json_u64(&j, "bytes_received", f->bytes_received);
			mps_json_u64(&j, "retrans_timeouts", f->retrans_timeouts);
			mps_json_end_object(&j);
		}
		mps_json_end_array(&j);
		mps_json_end_object(&j);
	}
	mps_json_end_array(&j);
	mps_json_end_object(&j);
	mps_text_append(t, "\n", 1);
}

void mps_ctl_format_status(mps_text *t, const mps_ctl_status *st, bool json)
{
	if (json)
		ctl_status_json(t, st);
	else
		ctl_status_text(t, st);
}

/* --- sockets -------------------------------------------------------------- */

const char *mps_ctl_default_path(void)
{
	const char *env = getenv("MPS_CTL");

	return env != NULL && env[0] != '\0' ? env : MPS_CTL_DEFAULT_PATH;
}

static int ctl_sockaddr(const char *path, struct sockaddr_un *sa)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (path == NULL || path[0] == '\0')
		return -EINVAL;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	memcpy(sa->sun_path, path, strlen(path));
	return 0;
}

int mps_ctl_listen(const char *path, long gid)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old;
	int fd, err;

	err = ctl_sockaddr(path, &sa);
	if (err < 0)
		return err;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode))
			return -EEXIST;
		/* A socket file: does a daemon answer on it? */
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		err = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : -errno;
		close(fd);
		if (err == 0)
			return -EADDRINUSE;
		if (err == -ECONNREFUSED)
			unlink(path); /* left behind by a daemon that died */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* Status shows addresses and counters, nothing secret, but only the
	 * owner (and the --ctl-group) may talk to the daemon: the file is born
	 * 0600, never open to others even for a moment. */
	old = umask(0177);
	err = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ? -errno : 0;
	umask(old);
	if (err == 0 && gid >= 0 && (chown(path, (uid_t)-1, (gid_t)gid) < 0 || chmod(path, 0660) < 0))
		err = -errno;
	if (err == 0 && listen(fd, 16) < 0)
		err = -errno;
	if (err < 0) {
		close(fd);
		return err;
	}
	return fd;
}

/* Wait until fd is ready for events, at most timeout_ms. */
static int ctl_wait(int fd, short events, int timeout_ms)
{
	struct pollfd p = {.fd = fd, .events = events};
	int n;

	do {
		n = poll(&p, 1, timeout_ms);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n == 0 ? -ETIMEDOUT : 0;
}

int mps_ctl_query(const char *path, const char *request, mps_text *reply, int timeout_ms)
{
	struct sockaddr_un sa;
	char buf[4096];
	size_t len, off = 0;
	ssize_t n;
	int fd, err;

	err = ctl_sockaddr(path, &sa);
	if (err < 0)
		return err;
	len = strlen(request);
	if (len + 1 > MPS_CTL_MAX_REQUEST)
		return -EINVAL;
	memcpy(buf, request, len);
	buf[len++] = '\n';
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		goto out;
	}
	while (off < len) {
		err = ctl_wait(fd, POLLOUT, timeout_ms);
		if (err < 0)
			goto out;
		n = send(fd, buf + off, len - off, MSG_NOSIGNAL | MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err = -errno;
			goto out;
		}
		off += (size_t)n;
	}
	for (;;) {
		err = ctl_wait(fd, POLLIN, timeout_ms);
		if (err < 0)
			goto out;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			err = -errno;
			goto out;
		}
		if (n == 0)
			break;
		mps_text_append(reply, buf, (size_t)n);
	}
	err = reply->oom ? -ENOMEM : 0;
out:
	close(fd);
	return err;
}
