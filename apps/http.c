/*
 * http.c - deterministic HTTP/1.1 static file server (state machine).
 *
 * Call chain:
 *   mps_http_feed() → (drop request body bytes) → append to in[] → http_advance()
 *   mps_http_pull() → header bytes, then pread() of the body → http_finish()
 *                   → http_advance()
 *   http_advance()  → http_header_end() → http_parse() fills a struct
 *                     http_req → http_respond() builds the response head and
 *                     opens the file (http_open, http_etag, http_range)
 *
 * Invariants of a session:
 *   in[0..inlen)      request bytes not parsed yet (never body bytes: those
 *                     are dropped on arrival while skip > 0);
 *   responding        out[outpos..outlen) and then `left` bytes of fd from
 *                     `off` are still to be pulled;
 *   done              no response is pending and the connection must close;
 *                     input is dropped from then on.
 * Only one response is built at a time; requests pipelined behind it wait
 * in in[] (at most MPS_HTTP_MAX_HEADER bytes: then mps_http_feed_space is 0).
 * in[] is allocated when request bytes arrive and freed when they have all
 * been parsed, so an idle session is a few hundred bytes.
 */
#include "http.h"
#include "mps_err.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define HTTP_ETAG_CACHE 32
#define HTTP_HASH_CHUNK 65536
#define HTTP_OUT_MAX 640

struct http_etag_entry {
	bool valid;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
	uint64_t used; /* LRU stamp */
	uint8_t tag[MPS_HTTP_ETAG_BYTES];
};

struct mps_http_server {
	int dirfd;
	char *root; /* realpath of the served directory */
	size_t rootlen;
	uint64_t stamp;
	struct http_etag_entry cache[HTTP_ETAG_CACHE];
	uint8_t *scratch; /* HTTP_HASH_CHUNK bytes for hashing */
	uint64_t hashed;  /* files hashed so far (cache misses) */
};

struct mps_http_session {
	mps_http_server *srv;
	uint8_t *in; /* MPS_HTTP_MAX_HEADER bytes, NULL while inlen is 0 */
	size_t inlen;
	uint64_t skip; /* request body bytes still to drop */
	char out[HTTP_OUT_MAX];
	size_t outlen, outpos;
	int fd;
	uint64_t off, left;
	bool responding;
	bool close_after;
	bool eof;
	bool done;
	uint64_t nreq;
};

/* A request, parsed into a plain struct before anything acts on it. */
struct http_req {
	bool bad;
	bool head; /* method HEAD */
	bool get;  /* method GET */
	int minor; /* HTTP/1.<minor> */
	const char *target;
	size_t target_len;
	bool has_host;
	bool conn_close;
	bool has_te;
	bool has_clen;
	uint64_t clen;
	int nrange;
	const char *range;
	size_t range_len;
};

enum http_range_kind { HTTP_RANGE_NONE, HTTP_RANGE_OK, HTTP_RANGE_UNSAT };

/* --- server ------------------------------------------------------------- */

int mps_http_server_new(mps_http_server **out, const char *dir)
{
	mps_http_server *srv;
	int err;

	*out = NULL;
	srv = calloc(1, sizeof(*srv));
	if (srv == NULL)
		return -ENOMEM;
	srv->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (srv->dirfd < 0) {
		err = -errno;
		free(srv);
		return err;
	}
	/* Listing needs read permission even for root-less runs: check now,
	 * so "unreadable" is reported at start, not on the first request. */
	if (faccessat(srv->dirfd, ".", R_OK | X_OK, AT_EACCESS) < 0) {
		err = -errno;
		goto fail;
	}
	srv->root = realpath(dir, NULL);
	srv->scratch = malloc(HTTP_HASH_CHUNK);
	if (srv->root == NULL || srv->scratch == NULL) {
		err = srv->root == NULL ? -errno : -ENOMEM;
		goto fail;
	}
	srv->rootlen = strlen(srv->root);
	*out = srv;
	return 0;
fail:
	close(srv->dirfd);
	free(srv->root);
	free(srv->scratch);
	free(srv);
	return err;
}

static int http_etag(mps_http_server *srv, int fd, const struct stat *st,
		     uint8_t tag[MPS_HTTP_ETAG_BYTES]);

/* Hash the regular files under the directory fd (depth levels deep) into
 * the ETag cache until it is full.  Symbolic links are not followed. */
static int http_warm_dir(mps_http_server *srv, int dfd, int depth, size_t *n)
{
	struct dirent *de;
	DIR *dir;
	int err = 0;

	dir = fdopendir(dfd);
	if (dir == NULL) {
		err = -errno;
		close(dfd);
		return err;
	}
	while (err == 0 && *n < HTTP_ETAG_CACHE && (de = readdir(dir)) != NULL) {
		uint8_t tag[MPS_HTTP_ETAG_BYTES];
		struct stat st;
		int fd;

		if (de->d_name[0] == '.')
			continue;
		fd = openat(dirfd(dir), de->d_name,
			    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
		if (fd < 0)
			continue; /* a symbolic link, or unreadable: served as today */
		if (fstat(fd, &st) < 0) {
			close(fd);
			continue;
		}
		if (S_ISDIR(st.st_mode) && depth > 0) {
			err = http_warm_dir(srv, fd, depth - 1, n); /* takes fd */
			continue;
		}
		if (S_ISREG(st.st_mode) && http_etag(srv, fd, &st, tag) == 0)
			(*n)++;
		close(fd);
	}
	closedir(dir);
	return err;
}

int mps_http_server_warm(mps_http_server *srv, size_t *nfiles)
{
	size_t n = 0;
	int fd, err;

	fd = openat(srv->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	err = http_warm_dir(srv, fd, 8, &n);
	if (nfiles != NULL)
		*nfiles = n;
	return err;
}

uint64_t mps_http_server_hashed(const mps_http_server *srv)
{
	return srv->hashed;
}

void mps_http_server_free(mps_http_server *srv)
{
	if (srv == NULL)
		return;
	close(srv->dirfd);
	free(srv->root);
	free(srv->scratch);
	free(srv);
}

const char *mps_http_content_type(const char *path)
{
	static const struct {
		const char *ext;
		const char *type;
	} types[] = {
	    {"mp4", "video/mp4"},
	    {"m4v", "video/mp4"},
	    {"m4s", "video/iso.segment"},
	    {"m4a", "audio/mp4"},
	    {"ts", "video/mp2t"},
	    {"webm", "video/webm"},
	    {"m3u8", "application/vnd.apple.mpegurl"},
	    {"mpd", "application/dash+xml"},
	    {"html", "text/html"},
	    {"htm", "text/html"},
	    {"txt", "text/plain"},
	    {"json", "application/json"},
	    {"css", "text/css"},
	    {"js", "text/javascript"},
	};
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(path, '.');
	size_t i;

	if (dot == NULL || (slash != NULL && dot < slash))
		return "application/octet-stream";
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* Hash the whole content of fd (BLAKE2b, crypto_generichash).  0 or -errno;
 * -EIO when the file is shorter than st says. */
static int http_hash_file(mps_http_server *srv, int fd, off_t size,
			  uint8_t tag[MPS_HTTP_ETAG_BYTES])
{
	crypto_generichash_state st;
	off_t off = 0;
	ssize_t n;

	crypto_generichash_init(&st, NULL, 0, MPS_HTTP_ETAG_BYTES);
	while (off < size) {
		size_t want = HTTP_HASH_CHUNK;

		if ((off_t)want > size - off)
			want = (size_t)(size - off);
		n = pread(fd, srv->scratch, want, off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			return -EIO;
		crypto_generichash_update(&st, srv->scratch, (unsigned long long)n);
		off += n;
	}
	crypto_generichash_final(&st, tag, MPS_HTTP_ETAG_BYTES);
	srv->hashed++;
	return 0;
}

/* The ETag of an open file, from the cache when (dev, ino, size, mtime)
 * match, else hashed and cached in the least recently used slot. */
static int http_etag(mps_http_server *srv, int fd, const struct stat *st,
		     uint8_t tag[MPS_HTTP_ETAG_BYTES])
{
	struct http_etag_entry *e, *victim = &srv->cache[0];
	size_t i;
	int err;

	srv->stamp++;
	for (i = 0; i < HTTP_ETAG_CACHE; i++) {
		e = &srv->cache[i];
		if (e->valid && e->dev == st->st_dev && e->ino == st->st_ino &&
		    e->size == st->st_size && e->mtime.tv_sec == st->st_mtim.tv_sec &&
		    e->mtime.tv_nsec == st->st_mtim.tv_nsec) {
			e->used = srv->stamp;
			memcpy(tag, e->tag, MPS_HTTP_ETAG_BYTES);
			return 0;
		}
		if (!e->valid || (victim->valid && e->used < victim->used))
			victim = e;
	}
	err = http_hash_file(srv, fd, st->st_size, tag);
	if (err < 0)
		return err;
	victim->valid = true;
	victim->dev = st->st_dev;
	victim->ino = st->st_ino;
	victim->size = st->st_size;
	victim->mtime = st->st_mtim;
	victim->used = srv->stamp;
	memcpy(victim->tag, tag, MPS_HTTP_ETAG_BYTES);
	return 0;
}

/* --- request parsing ------------------------------------------------------ */

static bool http_is_tchar(int c)
{
	/* token characters, RFC 9110 §5.6.2 */
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	       (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

static bool http_is_ows(int c)
{
	return c == ' ' || c == '\t';
}

/* Find the end of the header section in buf: the offset just after the
 * empty line.  0 when not complete yet; -1 on a bare CR (RFC 9112 §2.2). */
static long http_header_end(const uint8_t *buf, size_t len)
{
	size_t pos = 0, i;

	for (;;) {
		const uint8_t *nl = memchr(buf + pos, '\n', len - pos);
		size_t end;

		if (nl == NULL)
			break;
		end = (size_t)(nl - buf);
		for (i = pos; i < end; i++)
			if (buf[i] == '\r' && i + 1 != end)
				return -1;
		if (end == pos || (end == pos + 1 && buf[pos] == '\r'))
			return (long)(end + 1);
		pos = end + 1;
	}
	for (i = pos; i + 1 < len; i++)
		if (buf[i] == '\r')
			return -1;
	return 0;
}

static bool http_token_eq(const char *a, size_t alen, const char *b)
{
	return alen == strlen(b) && strncasecmp(a, b, alen) == 0;
}

/* Parse a decimal without sign or spaces, up to UINT64_MAX / 10. */
static bool http_parse_u64(const char *s, size_t len, uint64_t *v)
{
	size_t i;

	if (len == 0 || len > 18)
		return false;
	*v = 0;
	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		*v = *v * 10 + (uint64_t)(s[i] - '0');
	}
	return true;
}

/* "Connection: a, close" -- RFC 9110 §7.6.1 */
static bool http_conn_has_close(const char *v, size_t len)
{
	size_t i = 0;

	while (i < len) {
		size_t s, e;

		while (i < len && (http_is_ows(v[i]) || v[i] == ','))
			i++;
		s = i;
		while (i < len && v[i] != ',')
			i++;
		e = i;
		while (e > s && http_is_ows(v[e - 1]))
			e--;
		if (http_token_eq(v + s, e - s, "close"))
			return true;
	}
	return false;
}

static void http_parse_field(struct http_req *r, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	const char *v;
	size_t nlen, vlen, i;
	uint64_t n = 0;

	if (colon == NULL || colon == line) {
		r->bad = true;
		return;
	}
	nlen = (size_t)(colon - line);
	for (i = 0; i < nlen; i++)
		if (!http_is_tchar((unsigned char)line[i])) {
			/* includes whitespace before the colon, RFC 9112 §5.1 */
			r->bad = true;
			return;
		}
	v = colon + 1;
	vlen = len - nlen - 1;
	while (vlen > 0 && http_is_ows(*v)) {
		v++;
		vlen--;
	}
	while (vlen > 0 && http_is_ows(v[vlen - 1]))
		vlen--;
	for (i = 0; i < vlen; i++)
		if (v[i] == '\0' || (v[i] < ' ' && v[i] != '\t') || v[i] == 0x7f) {
			r->bad = true;
			return;
		}

	if (http_token_eq(line, nlen, "host")) {
		if (r->has_host) /* RFC 9112 §3.2: more than one Host */
			r->bad = true;
		r->has_host = true;
	} else if (http_token_eq(line, nlen, "connection")) {
		if (http_conn_has_close(v, vlen))
			r->conn_close = true;
	} else if (http_token_eq(line, nlen, "transfer-encoding")) {
		r->has_te = true;
	} else if (http_token_eq(line, nlen, "content-length")) {
		if (!http_parse_u64(v, vlen, &n) || (r->has_clen && n != r->clen))
			r->bad = true; /* RFC 9112 §6.3 item 5 */
		r->has_clen = true;
		r->clen = n;
	} else if (http_token_eq(line, nlen, "range")) {
		r->nrange++;
		r->range = v;
		r->range_len = vlen;
	}
}

/* Parse the header section buf[0..len) (it ends with the empty line). */
static void http_parse(struct http_req *r, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len, *sp1, *sp2, *eol;
	size_t llen, mlen;

	memset(r, 0, sizeof(*r));
	eol = memchr(p, '\n', len);
	llen = (size_t)(eol - p);
	if (llen > 0 && p[llen - 1] == '\r')
		llen--;
	/* request-line = method SP request-target SP HTTP-version (§3) */
	sp1 = memchr(p, ' ', llen);
	if (sp1 == NULL) {
		r->bad = true;
		return;
	}
	sp2 = memchr(sp1 + 1, ' ', llen - (size_t)(sp1 + 1 - p));
	if (sp2 == NULL || sp1 == p || sp2 == sp1 + 1) {
		r->bad = true;
		return;
	}
	mlen = (size_t)(sp1 - p);
	for (size_t i = 0; i < mlen; i++)
		if (!http_is_tchar((unsigned char)p[i]))
			r->bad = true;
	r->get = mlen == 3 && memcmp(p, "GET", 3) == 0;
	r->head = mlen == 4 && memcmp(p, "HEAD", 4) == 0;
	r->target = sp1 + 1;
	r->target_len = (size_t)(sp2 - sp1 - 1);
	for (size_t i = 0; i < r->target_len; i++)
		if ((unsigned char)r->target[i] <= ' ' || r->target[i] == 0x7f)
			r->bad = true;
	if ((size_t)(p + llen - sp2 - 1) != 8 || memcmp(sp2 + 1, "HTTP/1.", 7) != 0 ||
	    (sp2[8] != '0' && sp2[8] != '1')) {
		r->bad = true;
		return;
	}
	r->minor = sp2[8] - '0';

	p = eol + 1;
	while (p < end && !r->bad) {
		eol = memchr(p, '\n', (size_t)(end - p));
		llen = (size_t)(eol - p);
		if (llen > 0 && p[llen - 1] == '\r')
			llen--;
		if (llen == 0)
			break;
		if (http_is_ows(*p)) { /* obs-fold, RFC 9112 §5.2 */
			r->bad = true;
			break;
		}
		http_parse_field(r, p, llen);
		p = eol + 1;
	}
}

static int http_hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * Turn the request target into a path relative to the served directory:
 * query dropped, %XX decoded, "." and empty segments dropped.  Returns 0,
 * 400 (bad target or encoding), 403 (a ".." segment) or 404 (the root, or
 * a path ending in '/': directories have no index).
 */
static int http_target_path(const char *t, size_t len, char *out, size_t cap)
{
	char dec[PATH_MAX];
	size_t n = 0, i, o = 0;
	const char *q;

	/* absolute-form (RFC 9112 §3.2.2): keep the path part */
	if (len > 7 && strncasecmp(t, "http://", 7) == 0) {
		const char *slash = memchr(t + 7, '/', len - 7);

		if (slash == NULL)
			return 404;
		len -= (size_t)(slash - t);
		t = slash;
	}
	if (len == 0 || t[0] != '/')
		return 400;
	q = memchr(t, '?', len);
	if (q != NULL)
		len = (size_t)(q - t);
	q = memchr(t, '#', len);
	if (q != NULL)
		len = (size_t)(q - t);
	for (i = 0; i < len; i++) {
		int c = (unsigned char)t[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= len)
				return 400;
			hi = http_hexval((unsigned char)t[i + 1]);
			lo = http_hexval((unsigned char)t[i + 2]);
			if (hi < 0 || lo < 0)
				return 400;
			c = hi * 16 + lo;
			if (c == 0)
				return 400;
			i += 2;
		}
		if (n + 1 >= sizeof(dec))
			return 404; /* longer than any path */
		dec[n++] = (char)c;
	}
	dec[n] = '\0';

	for (i = 0; i < n;) {
		size_t s = i, sl;

		while (i < n && dec[i] != '/')
			i++;
		sl = i - s;
		if (i < n)
			i++;
		if (sl == 0 || (sl == 1 && dec[s] == '.'))
			continue;
		if (sl == 2 && dec[s] == '.' && dec[s + 1] == '.')
			return 403;
		if (o + sl + 2 > cap)
			return 404;
		if (o > 0)
			out[o++] = '/';
		memcpy(out + o, dec + s, sl);
		o += sl;
	}
	out[o] = '\0';
	/* no index files: a directory, or a file named as one, is not found */
	return o == 0 || dec[n - 1] == '/' ? 404 : 0;
}

/* Is the opened fd inside the served directory?  Resolves what was really
 * opened (symlinks included) through /proc/self/fd, or realpath(3) of the
 * joined path when /proc is not mounted. */
static bool http_inside_root(const mps_http_server *srv, int fd, const char *rel)
{
	char link[64], real[PATH_MAX], *rp = NULL;
	const char *path = real;
	ssize_t n;
	bool ok;

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, real, sizeof(real) - 1);
	if (n > 0) {
		real[n] = '\0';
	} else {
		char joined[PATH_MAX];

		if ((size_t)snprintf(joined, sizeof(joined), "%s/%s", srv->root, rel) >=
		    sizeof(joined))
			return false;
		rp = realpath(joined, NULL);
		if (rp == NULL)
			return false;
		path = rp;
	}
	if (srv->rootlen == 1) /* root is "/" */
		ok = true;
	else
		ok = strncmp(path, srv->root, srv->rootlen) == 0 && path[srv->rootlen] == '/';
	free(rp);
	return ok;
}

/* Parse a Range value (RFC 9110 §14.1.2) against size.  Only one range is
 * served; several ranges, another unit or bad syntax make us ignore the
 * header (§14.2 allows it) and send the whole file. */
static enum http_range_kind http_range(const char *v, size_t len, uint64_t size, uint64_t *first,
				       uint64_t *last)
{
	const char *dash;
	uint64_t a, b;

	if (len < 6 || strncasecmp(v, "bytes=", 6) != 0)
		return HTTP_RANGE_NONE;
	v += 6;
	len -= 6;
	while (len > 0 && http_is_ows(*v)) {
		v++;
		len--;
	}
	while (len > 0 && http_is_ows(v[len - 1]))
		len--;
	if (memchr(v, ',', len) != NULL)
		return HTTP_RANGE_NONE;
	dash = memchr(v, '-', len);
	if (dash == NULL)
		return HTTP_RANGE_NONE;
	if (dash == v) { /* suffix-range: the last n bytes */
		if (!http_parse_u64(v + 1, len - 1, &b))
			return HTTP_RANGE_NONE;
		if (b == 0 || size == 0)
			return HTTP_RANGE_UNSAT;
		if (b > size)
			b = size;
		*first = size - b;
		*last = size - 1;
		return HTTP_RANGE_OK;
	}
	if (!http_parse_u64(v, (size_t)(dash - v), &a))
		return HTTP_RANGE_NONE;
	if ((size_t)(dash - v) + 1 == len) {
		b = UINT64_MAX;
	} else {
		if (!http_parse_u64(dash + 1, len - (size_t)(dash - v) - 1, &b))
			return HTTP_RANGE_NONE;
		if (b < a)
			return HTTP_RANGE_NONE; /* invalid range-spec, §14.1.1 */
	}
	if (a >= size)
		return HTTP_RANGE_UNSAT;
	*first = a;
	*last = b >= size ? size - 1 : b;
	return HTTP_RANGE_OK;
}

/* --- responses ------------------------------------------------------------ */

static const char *http_reason(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 206:
		return "Partial Content";
	case 400:
		return "Bad Request";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 416:
		return "Range Not Satisfiable";
	default:
		return "Internal Server Error";
	}
}

/* Append to the response head; the head is small by construction. */
__attribute__((format(printf, 2, 3))) static void http_out(mps_http_session *h, const char *fmt,
							   ...)
{
	va_list ap;
	int n;

	if (h->outlen >= sizeof(h->out))
		return;
	va_start(ap, fmt);
	n = vsnprintf(h->out + h->outlen, sizeof(h->out) - h->outlen, fmt, ap);
	va_end(ap);
	if (n > 0)
		h->outlen += (size_t)n < sizeof(h->out) - h->outlen
				 ? (size_t)n
				 : sizeof(h->out) - h->outlen - 1;
}

/* An error answer with a one-line text body ("404 Not Found\n"). */
static void http_error(mps_http_session *h, int status, bool head, uint64_t size)
{
	const char *reason = http_reason(status);
	char body[64];
	int blen;

	if (status == 400)
		h->close_after = true;
	blen = snprintf(body, sizeof(body), "%d %s\n", status, reason);
	http_out(h, "HTTP/1.1 %d %s\r\nServer: mpstream\r\n", status, reason);
	if (status == 405)
		http_out(h, "Allow: GET, HEAD\r\n");
	if (status == 416)
		http_out(h, "Content-Range: bytes */%" PRIu64 "\r\n", size);
	http_out(h, "Content-Type: text/plain\r\nContent-Length: %d\r\n", blen);
	if (h->close_after)
		http_out(h, "Connection: close\r\n");
	http_out(h, "\r\n");
	if (!head)
		http_out(h, "%s", body);
}

/* Open rel under the root; returns the fd or an HTTP status (>= 400) as a
 * negative number. */
static int http_open(mps_http_session *h, const char *rel, struct stat *st)
{
	int fd;

	fd = openat(h->srv->dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		switch (errno) {
		case EACCES:
		case EPERM:
			return -403;
		case ENOENT:
		case ENOTDIR:
		case ENAMETOOLONG:
		case ELOOP:
			return -404;
		default:
			return -500;
		}
	}
	if (!http_inside_root(h->srv, fd, rel)) {
		close(fd);
		return -403;
	}
	if (fstat(fd, st) < 0) {
		close(fd);
		return -500;
	}
	if (!S_ISREG(st->st_mode)) {
		close(fd);
		return -404;
	}
	return fd;
}

/* Build the answer to r: the head into out[], and the body source. */
static void http_respond(mps_http_session *h, const struct http_req *r)
{
	char rel[PATH_MAX];
	char hex[2 * MPS_HTTP_ETAG_BYTES + 1];
	uint8_t tag[MPS_HTTP_ETAG_BYTES];
	uint64_t size, first = 0, last = 0;
	enum http_range_kind rk = HTTP_RANGE_NONE;
	struct stat st;
	int fd, status;

	h->outlen = h->outpos = 0;
	h->left = 0;
	h->responding = true;
	h->nreq++;
	if (r->bad) {
		http_error(h, 400, false, 0);
		return;
	}
	/* HTTP/1.0 has no persistent connections by default (RFC 9112 §9.3);
	 * a body framed by Transfer-Encoding is not parsed, so we cannot find
	 * the next request after it: close in both cases. */
	if (r->conn_close || r->minor == 0 || r->has_te)
		h->close_after = true;
	if (r->minor == 1 && !r->has_host) { /* RFC 9112 §3.2 */
		http_error(h, 400, r->head, 0);
		return;
	}
	if (!r->get && !r->head) {
		http_error(h, 405, false, 0);
		return;
	}
	status = http_target_path(r->target, r->target_len, rel, sizeof(rel));
	if (status != 0) {
		http_error(h, status, r->head, 0);
		return;
	}
	fd = http_open(h, rel, &st);
	if (fd < 0) {
		http_error(h, -fd, r->head, 0);
		return;
	}
	if (http_etag(h->srv, fd, &st, tag) < 0) {
		close(fd);
		http_error(h, 500, r->head, 0);
		return;
	}
	size = (uint64_t)st.st_size;
	/* Range is defined for GET only: ignored on HEAD (RFC 9110 §14.2). */
	if (r->get && r->nrange == 1)
		rk = http_range(r->range, r->range_len, size, &first, &last);
	if (rk == HTTP_RANGE_UNSAT) {
		close(fd);
		http_error(h, 416, false, size);
		return;
	}
	sodium_bin2hex(hex, sizeof(hex), tag, sizeof(tag));
	if (rk == HTTP_RANGE_NONE) {
		first = 0;
		last = size - 1; /* unused when size == 0 */
	}
	http_out(h, "HTTP/1.1 %d %s\r\nServer: mpstream\r\n", rk == HTTP_RANGE_OK ? 206 : 200,
		 http_reason(rk == HTTP_RANGE_OK ? 206 : 200));
	http_out(h, "Content-Type: %s\r\n", mps_http_content_type(rel));
	http_out(h, "Content-Length: %" PRIu64 "\r\n", size == 0 ? 0 : last - first + 1);
	http_out(h, "Accept-Ranges: bytes\r\nETag: \"%s\"\r\n", hex);
	if (rk == HTTP_RANGE_OK)
		http_out(h, "Content-Range: bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64 "\r\n", first,
			 last, size);
	if (h->close_after)
		http_out(h, "Connection: close\r\n");
	http_out(h, "\r\n");
	if (r->head || size == 0) {
		close(fd);
		return;
	}
	h->fd = fd;
	h->off = first;
	h->left = last - first + 1;
}

/* The current response is fully pulled. */
static void http_finish(mps_http_session *h)
{
	if (h->fd >= 0) {
		close(h->fd);
		h->fd = -1;
	}
	h->responding = false;
	h->outlen = h->outpos = 0;
	if (h->close_after) {
		h->done = true;
		h->inlen = 0;
	}
}

/* Drop n bytes from the front of in[]. */
static void http_consume(mps_http_session *h, size_t n)
{
	if (n == 0)
		return;
	memmove(h->in, h->in + n, h->inlen - n);
	h->inlen -= n;
}

/* Give in[] back once nothing is buffered in it. */
static void http_in_trim(mps_http_session *h)
{
	if (h->inlen == 0 && h->in != NULL) {
		free(h->in);
		h->in = NULL;
	}
}

/* Start the next response if a complete request is buffered. */
static void http_advance(mps_http_session *h)
{
	struct http_req r;
	size_t n;
	long end;

	while (!h->responding && !h->done) {
		if (h->inlen == 0) {
			if (h->eof) /* nothing more will come */
				h->done = true;
			return;
		}
		/* RFC 9112 §2.2: ignore empty lines before a request-line */
		n = 0;
		while (n < h->inlen && (h->in[n] == '\r' || h->in[n] == '\n'))
			n++;
		http_consume(h, n);
		end = http_header_end(h->in, h->inlen);
		if (end < 0 || (end == 0 && h->inlen >= MPS_HTTP_MAX_HEADER)) {
			/* bare CR, or a header section too long */
			memset(&r, 0, sizeof(r));
			r.bad = true;
			h->inlen = 0;
			http_respond(h, &r);
			return;
		}
		if (end == 0) {
			if (h->eof) /* a partial request at EOF gets no answer */
				h->done = true;
			return;
		}
		http_parse(&r, (const char *)h->in, (size_t)end);
		http_respond(h, &r);
		http_consume(h, (size_t)end);
		if (h->close_after) {
			h->inlen = 0; /* nothing after this request is read */
			return;
		}
		if (r.has_clen) {
			n = r.clen < h->inlen ? (size_t)r.clen : h->inlen;
			http_consume(h, n);
			h->skip = r.clen - n;
		}
	}
}

/* --- sessions ------------------------------------------------------------- */

int mps_http_session_new(mps_http_session **out, mps_http_server *srv)
{
	mps_http_session *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (h == NULL)
		return MPS_ERR_NOMEM;
	h->srv = srv;
	h->fd = -1;
	*out = h;
	return 0;
}

void mps_http_session_free(mps_http_session *h)
{
	if (h == NULL)
		return;
	if (h->fd >= 0)
		close(h->fd);
	free(h->in);
	free(h);
}

size_t mps_http_feed_space(const mps_http_session *h)
{
	if (h->done || h->close_after)
		return MPS_HTTP_MAX_HEADER; /* dropped anyway */
	return MPS_HTTP_MAX_HEADER - h->inlen;
}

size_t mps_http_feed(mps_http_session *h, const uint8_t *data, size_t len)
{
	size_t taken = 0, n;

	if (h->done || h->close_after)
		return len;
	while (taken < len) {
		if (h->skip > 0) {
			n = len - taken < h->skip ? len - taken : (size_t)h->skip;
			h->skip -= n;
			taken += n;
			continue;
		}
		n = MPS_HTTP_MAX_HEADER - h->inlen;
		if (n > len - taken)
			n = len - taken;
		if (n == 0)
			break;
		if (h->in == NULL && (h->in = malloc(MPS_HTTP_MAX_HEADER)) == NULL)
			break; /* out of memory: the bytes wait in the connection */
		memcpy(h->in + h->inlen, data + taken, n);
		h->inlen += n;
		taken += n;
		http_advance(h);
		if (h->done || h->close_after) {
			http_in_trim(h);
			return len;
		}
	}
	http_in_trim(h);
	return taken;
}

void mps_http_feed_eof(mps_http_session *h)
{
	h->eof = true;
	http_advance(h);
	http_in_trim(h);
}

ssize_t mps_http_pull(mps_http_session *h, uint8_t *buf, size_t cap)
{
	size_t done = 0, n;
	ssize_t r;

	http_advance(h);
	while (done < cap && h->responding) {
		if (h->outpos < h->outlen) {
			n = h->outlen - h->outpos;
			if (n > cap - done)
				n = cap - done;
			memcpy(buf + done, h->out + h->outpos, n);
			h->outpos += n;
			done += n;
			continue;
		}
		if (h->left > 0) {
			n = cap - done;
			if (n > h->left)
				n = (size_t)h->left;
			r = pread(h->fd, buf + done, n, (off_t)h->off);
			if (r < 0 && errno == EINTR)
				continue;
			if (r <= 0) { /* shrunk under us, or an I/O error */
				http_finish(h);
				h->done = true;
				h->inlen = 0;
				return MPS_ERR_IO;
			}
			h->off += (uint64_t)r;
			h->left -= (uint64_t)r;
			done += (size_t)r;
			continue;
		}
		http_finish(h);
		http_advance(h);
	}
	http_in_trim(h);
	return (ssize_t)done;
}

bool mps_http_done(const mps_http_session *h)
{
	return h->done && !h->responding;
}

uint64_t mps_http_requests(const mps_http_session *h)
{
	return h->nreq;
}
