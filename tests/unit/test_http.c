/*
 * test_http.c - the deterministic HTTP file server (apps/http.c).
 *
 * Every test builds a fresh directory under /tmp with a few files, feeds
 * requests and compares the pulled bytes with the exact expected response.
 */
#include "unit.h"
#include "http.h"
#include "mps_err.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HELLO "hello world\n"
#define HELLO_TAG "c0cdb4699cdaa9eea4c563a934f1d52b" /* BLAKE2b-128("hello world\n") */
#define EMPTY_TAG "cae66941d9efbd404e4d88758ea67670" /* BLAKE2b-128("") */
#define BIG_SIZE 300000

struct http_fx {
	char dir[64];
	mps_http_server *srv;
	mps_http_session *h;
	char out[BIG_SIZE + 4096];
	size_t outlen;
};

static void fx_write(struct http_fx *fx, const char *name, const void *data, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", fx->dir, name);
	f = fopen(path, "wb");
	CU_ASSERT_FATAL(f != NULL);
	if (len > 0)
		CU_ASSERT_FATAL(fwrite(data, 1, len, f) == len);
	fclose(f);
}

static uint8_t fx_big_byte(size_t i)
{
	return (uint8_t)((i * 7 + i / 251) & 0xff);
}

static struct http_fx *fx_new(void)
{
	struct http_fx *fx = calloc(1, sizeof(*fx));
	char path[256];
	uint8_t *big;
	size_t i;

	CU_ASSERT_FATAL(fx != NULL);
	CU_ASSERT_FATAL(sodium_init() >= 0);
	strcpy(fx->dir, "/tmp/mps-http-XXXXXX");
	CU_ASSERT_FATAL(mkdtemp(fx->dir) != NULL);
	fx_write(fx, "hello.txt", HELLO, strlen(HELLO));
	fx_write(fx, "empty.bin", "", 0);
	big = malloc(BIG_SIZE);
	CU_ASSERT_FATAL(big != NULL);
	for (i = 0; i < BIG_SIZE; i++)
		big[i] = fx_big_byte(i);
	fx_write(fx, "big.mp4", big, BIG_SIZE);
	free(big);
	snprintf(path, sizeof(path), "%s/sub", fx->dir);
	CU_ASSERT_FATAL(mkdir(path, 0755) == 0);
	fx_write(fx, "sub/a b.html", "<p>x</p>", 8);
	snprintf(path, sizeof(path), "%s/out", fx->dir);
	CU_ASSERT_FATAL(symlink("/etc/passwd", path) == 0);
	snprintf(path, sizeof(path), "%s/link.txt", fx->dir);
	CU_ASSERT_FATAL(symlink("hello.txt", path) == 0);
	CU_ASSERT_FATAL(mps_http_server_new(&fx->srv, fx->dir) == 0);
	CU_ASSERT_FATAL(mps_http_session_new(&fx->h, fx->srv) == 0);
	return fx;
}

static int fx_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void fx_free(struct http_fx *fx)
{
	mps_http_session_free(fx->h);
	mps_http_server_free(fx->srv);
	nftw(fx->dir, fx_rm, 8, FTW_DEPTH | FTW_PHYS);
	free(fx);
}

/* Pull everything available into fx->out, pull_size bytes at a time. */
static ssize_t fx_pull(struct http_fx *fx, size_t pull_size)
{
	ssize_t n;

	for (;;) {
		size_t cap = sizeof(fx->out) - 1 - fx->outlen;

		if (cap > pull_size)
			cap = pull_size;
		n = mps_http_pull(fx->h, (uint8_t *)fx->out + fx->outlen, cap);
		if (n <= 0)
			break;
		fx->outlen += (size_t)n;
	}
	fx->out[fx->outlen] = '\0';
	return n;
}

/* Feed req whole (pulling when the input is full), then pull it all. */
static const char *fx_run(struct http_fx *fx, const char *req)
{
	size_t len = strlen(req), off = 0;

	while (off < len) {
		off += mps_http_feed(fx->h, (const uint8_t *)req + off, len - off);
		fx_pull(fx, 65536);
	}
	fx_pull(fx, 65536);
	return fx->out;
}

static const char *hello_200 = "HTTP/1.1 200 OK\r\n"
			       "Server: mpstream\r\n"
			       "Content-Type: text/plain\r\n"
			       "Content-Length: 12\r\n"
			       "Accept-Ranges: bytes\r\n"
			       "ETag: \"" HELLO_TAG "\"\r\n"
			       "\r\n" HELLO;

static void test_http_get_whole_file_is_200_with_content_etag(void)
{
	struct http_fx *fx = fx_new();

	CU_ASSERT_STRING_EQUAL(fx_run(fx, "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"), hello_200);
	CU_ASSERT_FALSE(mps_http_done(fx->h));
	CU_ASSERT_EQUAL(mps_http_requests(fx->h), 1);
	fx_free(fx);
}

static void test_http_empty_file_is_200_with_zero_length(void)
{
	struct http_fx *fx = fx_new();

	CU_ASSERT_STRING_EQUAL(fx_run(fx, "GET /empty.bin HTTP/1.1\r\nHost: x\r\n\r\n"),
			       "HTTP/1.1 200 OK\r\nServer: mpstream\r\n"
			       "Content-Type: application/octet-stream\r\n"
			       "Content-Length: 0\r\nAccept-Ranges: bytes\r\n"
			       "ETag: \"" EMPTY_TAG "\"\r\n\r\n");
	fx_free(fx);
}

static void test_http_head_sends_headers_only(void)
{
	struct http_fx *fx = fx_new();
	char want[512];

	snprintf(want, sizeof(want), "%.*s", (int)(strlen(hello_200) - strlen(HELLO)), hello_200);
	CU_ASSERT_STRING_EQUAL(fx_run(fx, "HEAD /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"), want);
	fx_free(fx);
}

static void test_http_head_ignores_range(void)
{
	struct http_fx *fx = fx_new();
	char want[512];

	snprintf(want, sizeof(want), "%.*s", (int)(strlen(hello_200) - strlen(HELLO)), hello_200);
	CU_ASSERT_STRING_EQUAL(
	    fx_run(fx, "HEAD /hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-1\r\n\r\n"), want);
	fx_free(fx);
}

static const char *hello_206(char *buf, size_t cap, const char *range, const char *body)
{
	snprintf(buf, cap,
		 "HTTP/1.1 206 Partial Content\r\nServer: mpstream\r\n"
		 "Content-Type: text/plain\r\nContent-Length: %zu\r\n"
		 "Accept-Ranges: bytes\r\nETag: \"" HELLO_TAG "\"\r\n"
		 "Content-Range: bytes %s/12\r\n\r\n%s",
		 strlen(body), range, body);
	return buf;
}

static void test_http_range_first_last_is_206(void)
{
	struct http_fx *fx = fx_new();
	char want[512];

	CU_ASSERT_STRING_EQUAL(
	    fx_run(fx, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=2-6\r\n\r\n"),
	    hello_206(want, sizeof(want), "2-6", "llo w"));
	fx_free(fx);
}

static void test_http_range_last_beyond_size_is_clamped(void)
{
	struct http_fx *fx = fx_new();
	char want[512];

	CU_ASSERT_STRING_EQUAL(
	    fx_run(fx, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nrange: BYTES=6-999\r\n\r\n"),
	    hello_206(want, sizeof(want), "6-11", "world\n"));
	fx_free(fx);
}

static void test_http_range_open_ended_is_206(void)
{
	struct http_fx *fx = fx_new();
	char want[512];

	CU_ASSERT_STRING_EQUAL(
	    fx_run(fx, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=10-\r\n\r\n"),
	    hello_206(want, sizeof(want), "10-11", "d\n"));
	fx_free(fx);
}

static void test_http_range_suffix_is_206(void)
{
	struct http_fx *fx = fx_new();
	char want[512];

	CU_ASSERT_STRING_EQUAL(
	    fx_run(fx, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=-3\r\n\r\n"),
	    hello_206(want, sizeof(want), "9-11", "ld\n"));
	fx_free(fx);
}

static void test_http_range_suffix_longer_than_file_is_whole(void)
{
	struct http_fx *fx = fx_new();
	char want[512];

	CU_ASSERT_STRING_EQUAL(
	    fx_run(fx, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=-100\r\n\r\n"),
	    hello_206(want, sizeof(want), "0-11", HELLO));
	fx_free(fx);
}

static const char *range_416 = "HTTP/1.1 416 Range Not Satisfiable\r\nServer: mpstream\r\n"
			       "Content-Range: bytes */12\r\n"
			       "Content-Type: text/plain\r\nContent-Length: 26\r\n\r\n"
			       "416 Range Not Satisfiable\n";

static void test_http_range_past_end_is_416(void)
{
	struct http_fx *fx = fx_new();

	CU_ASSERT_STRING_EQUAL(
	    fx_run(fx, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=12-\r\n\r\n"),
	    range_416);
	fx_free(fx);
}

static void test_http_range_zero_suffix_is_416(void)
{
	struct http_fx *fx = fx_new();

	CU_ASSERT_STRING_EQUAL(
	    fx_run(fx, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=-0\r\n\r\n"), range_416);
	fx_free(fx);
}

static void test_http_range_on_empty_file_is_416(void)
{
	struct http_fx *fx = fx_new();

	CU_ASSERT_STRING_EQUAL(
	    fx_run(fx, "GET /empty.bin HTTP/1.1\r\nHost: x\r\nRange: bytes=0-\r\n\r\n"),
	    "HTTP/1.1 416 Range Not Satisfiable\r\nServer: mpstream\r\n"
	    "Content-Range: bytes */0\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 26\r\n\r\n"
	    "416 Range Not Satisfiable\n");
	fx_free(fx);
}

static void test_http_range_invalid_or_multiple_is_ignored(void)
{
	static const char *ranges[] = {"bytes=0-1,3-4", "bytes=5-2", "items=0-1",
				       "bytes=x-",	"bytes=-",   "bytes=1-2x"};
	char req[256];
	size_t i;

	for (i = 0; i < sizeof(ranges) / sizeof(ranges[0]); i++) {
		struct http_fx *fx = fx_new();

		snprintf(req, sizeof(req),
			 "GET /hello.txt HTTP/1.1\r\nHost: x\r\nRange: %s\r\n\r\n", ranges[i]);
		CU_ASSERT_STRING_EQUAL(fx_run(fx, req), hello_200);
		fx_free(fx);
	}
}

static const char *not_found = "HTTP/1.1 404 Not Found\r\nServer: mpstream\r\n"
			       "Content-Type: text/plain\r\nContent-Length: 14\r\n\r\n"
			       "404 Not Found\n";
static const char *forbidden = "HTTP/1.1 403 Forbidden\r\nServer: mpstream\r\n"
			       "Content-Type: text/plain\r\nContent-Length: 14\r\n\r\n"
			       "403 Forbidden\n";

static void test_http_missing_file_is_404(void)
{
	struct http_fx *fx = fx_new();

	CU_ASSERT_STRING_EQUAL(fx_run(fx, "GET /nope.mp4 HTTP/1.1\r\nHost: x\r\n\r\n"), not_found);
	fx_free(fx);
}

static void test_http_directory_is_404(void)
{
	static const char *targets[] = {"/", "/sub", "/sub/", "/hello.txt/"};
	char req[256];
	size_t i;

	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		struct http_fx *fx = fx_new();

		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", targets[i]);
		CU_ASSERT_STRING_EQUAL(fx_run(fx, req), not_found);
		fx_free(fx);
	}
}

static void test_http_head_404_has_no_body(void)
{
	struct http_fx *fx = fx_new();

	CU_ASSERT_STRING_EQUAL(fx_run(fx, "HEAD /nope HTTP/1.1\r\nHost: x\r\n\r\n"),
			       "HTTP/1.1 404 Not Found\r\nServer: mpstream\r\n"
			       "Content-Type: text/plain\r\nContent-Length: 14\r\n\r\n");
	fx_free(fx);
}

static void test_http_dotdot_is_403(void)
{
	static const char *targets[] = {"/../etc/passwd", "/sub/../hello.txt", "/%2e%2e/x",
					"/sub/%2E%2e", "/..%2fetc"};
	char req[256];
	size_t i;

	for (i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
		struct http_fx *fx = fx_new();

		snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\n\r\n", targets[i]);
		CU_ASSERT_STRING_EQUAL(fx_run(fx, req), forbidden);
		fx_free(fx);
	}
}

static void test_http_symlink_out_of_dir_is_403(void)
{
	struct http_fx *fx = fx_new();

	CU_ASSERT_STRING_EQUAL(fx_run(fx, "GET /out HTTP/1.1\r\nHost: x\r\n\r\n"), forbidden);
	fx_free(fx);
}

static void test_http_symlink_inside_dir_is_served(void)
{
	struct http_fx *fx = fx_new();

	CU_ASSERT_STRING_EQUAL(fx_run(fx, "GET /link.txt HTTP/1.1\r\nHost: x\r\n\r\n"), hello_200);
	fx_free(fx);
}

static void test_http_percent_decoding_dot_segments_and_query(void)
{
	struct http_fx *fx = fx_new();

	CU_ASSERT_STRING_EQUAL(
	    fx_run(fx, "GET /./%68ello.txt?x=1&y=/../ HTTP/1.1\r\nHost: x\r\n\r\n"), hello_200);
	mps_http_session_free(fx->h);
	CU_ASSERT_FATAL(mps_http_session_new(&fx->h, fx->srv) == 0);
	fx->outlen = 0;
	CU_ASSERT_STRING_EQUAL(fx_run(fx, "GET //sub/a%20b.html HTTP/1.1\r\nHost: x\r\n\r\n"),
			       "HTTP/1.1 200 OK\r\nServer: mpstream\r\n"
			       "Content-Type: text/html\r\nContent-Length: 8\r\n"
			       "Accept-Ranges: bytes\r\n"
			       "ETag: \"2b9f179a7b9375bc0efa65ec1683dea0\"\r\n\r\n<p>x</p>");
	fx_free(fx);
}

static void test_http_absolute_form_target_is_served(void)
{
	struct http_fx *fx = fx_new();

	CU_ASSERT_STRING_EQUAL(
	    fx_run(fx, "GET http://example.org/hello.txt HTTP/1.1\r\nHost: example.org\r\n\r\n"),
	    hello_200);
	fx_free(fx);
}

static const char *bad_request = "HTTP/1.1 400 Bad Request\r\nServer: mpstream\r\n"
				 "Content-Type: text/plain\r\nContent-Length: 16\r\n"
				 "Connection: close\r\n\r\n"
				 "400 Bad Request\n";

static void test_http_bad_request_is_400_and_closes(void)
{
	static const char *reqs[] = {
	    "GET /hello.txt\r\n\r\n",
	    "GET  /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /hello.txt HTTP/2.0\r\nHost: x\r\n\r\n",
	    "GET /hello.txt HTTP/1.1 \r\nHost: x\r\n\r\n",
	    "G(T /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET hello.txt HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /%2 HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /a%00b HTTP/1.1\r\nHost: x\r\n\r\n",
	    "GET /hello.txt HTTP/1.1\r\nHost : x\r\n\r\n",
	    "GET /hello.txt HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n",
	    "GET /hello.txt HTTP/1.1\r\nnocolon\r\n\r\n",
	    "GET /hello.txt HTTP/1.1\r\nHost: x\rY\r\n\r\n",
	    "GET /hello.txt HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
	    "GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 1x\r\n\r\n",
	    "GET /hello.txt HTTP/1.1\r\n\r\n", /* no Host */
	};
	size_t i;

	for (i = 0; i < sizeof(reqs) / sizeof(reqs[0]); i++) {
		struct http_fx *fx = fx_new();
		char req[512];

		/* a good request behind the bad one must not be answered */
		snprintf(req, sizeof(req), "%sGET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n", reqs[i]);
		CU_ASSERT_STRING_EQUAL(fx_run(fx, req), bad_request);
		if (strcmp(fx->out, bad_request) != 0)
			fprintf(stderr, "\ncase %zu: %s\n", i, fx->out);
		CU_ASSERT_TRUE(mps_http_done(fx->h));
		fx_free(fx);
	}
}

static void test_http_header_over_8k_is_400(void)
{
	struct http_fx *fx = fx_new();
	char *req = malloc(MPS_HTTP_MAX_HEADER + 100);
	size_t n;

	n = (size_t)sprintf(req, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-Pad: ");
	memset(req + n, 'a', MPS_HTTP_MAX_HEADER + 50 - n);
	strcpy(req + MPS_HTTP_MAX_HEADER + 50, "\r\n\r\n");
	CU_ASSERT_STRING_EQUAL(fx_run(fx, req), bad_request);
	CU_ASSERT_TRUE(mps_http_done(fx->h));
	free(req);
	fx_free(fx);
}

static void test_http_header_of_exactly_8k_is_accepted(void)
{
	struct http_fx *fx = fx_new();
	char *req = malloc(MPS_HTTP_MAX_HEADER + 1);
	size_t n;

	n = (size_t)sprintf(req, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nX-Pad: ");
	memset(req + n, 'a', MPS_HTTP_MAX_HEADER - 4 - n);
	strcpy(req + MPS_HTTP_MAX_HEADER - 4, "\r\n\r\n");
	CU_ASSERT_EQUAL(strlen(req), MPS_HTTP_MAX_HEADER);
	CU_ASSERT_STRING_EQUAL(fx_run(fx, req), hello_200);
	free(req);
	fx_free(fx);
}

static void test_http_other_method_is_405_with_allow(void)
{
	struct http_fx *fx = fx_new();

	CU_ASSERT_STRING_EQUAL(
	    fx_run(fx, "POST /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nabcde"
		       "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"),
	    "HTTP/1.1 405 Method Not Allowed\r\nServer: mpstream\r\n"
	    "Allow: GET, HEAD\r\n"
	    "Content-Type: text/plain\r\nContent-Length: 23\r\n\r\n"
	    "405 Method Not Allowed\n"
	    "HTTP/1.1 200 OK\r\nServer: mpstream\r\nContent-Type: text/plain\r\n"
	    "Content-Length: 12\r\nAccept-Ranges: bytes\r\nETag: \"" HELLO_TAG "\"\r\n"
	    "\r\n" HELLO);
	CU_ASSERT_FALSE(mps_http_done(fx->h));
	fx_free(fx);
}

static void test_http_request_body_is_skipped_across_feeds(void)
{
	struct http_fx *fx = fx_new();
	const char *a = "GET /hello.txt HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n01234";
	const char *b = "56789GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n";
	char want[1024];

	CU_ASSERT_EQUAL(mps_http_feed(fx->h, (const uint8_t *)a, strlen(a)), strlen(a));
	CU_ASSERT_EQUAL(mps_http_feed(fx->h, (const uint8_t *)b, strlen(b)), strlen(b));
	fx_pull(fx, 7);
	snprintf(want, sizeof(want), "%s%s", hello_200, hello_200);
	CU_ASSERT_STRING_EQUAL(fx->out, want);
	fx_free(fx);
}

static void test_http_connection_close_is_echoed_and_ends(void)
{
	struct http_fx *fx = fx_new();
	char want[1024];

	snprintf(want, sizeof(want), "%.*sConnection: close\r\n\r\n" HELLO,
		 (int)(strlen(hello_200) - strlen(HELLO) - 2), hello_200);
	CU_ASSERT_STRING_EQUAL(
	    fx_run(fx, "GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: keep-alive, Close\r\n\r\n"
		       "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"),
	    want);
	CU_ASSERT_TRUE(mps_http_done(fx->h));
	CU_ASSERT_EQUAL(mps_http_pull(fx->h, (uint8_t *)want, sizeof(want)), 0);
	fx_free(fx);
}

static void test_http_http10_is_answered_then_closed(void)
{
	struct http_fx *fx = fx_new();
	char want[1024];

	snprintf(want, sizeof(want), "%.*sConnection: close\r\n\r\n" HELLO,
		 (int)(strlen(hello_200) - strlen(HELLO) - 2), hello_200);
	CU_ASSERT_STRING_EQUAL(fx_run(fx, "GET /hello.txt HTTP/1.0\r\n\r\n"), want);
	CU_ASSERT_TRUE(mps_http_done(fx->h));
	fx_free(fx);
}

static const char *pipelined =
    "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n"
    "\r\n" /* an empty line between requests is ignored (RFC 9112 §2.2) */
    "HEAD /empty.bin HTTP/1.1\nHost: x\n\n" /* bare LF line ends */
    "GET /nope HTTP/1.1\r\nHost: x\r\n\r\n"
    "GET /hello.txt HTTP/1.1\r\nHost: x\r\nRange: bytes=0-4\r\n\r\n"
    "GET /hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

static void pipelined_expected(char *want, size_t cap)
{
	char r206[512];

	snprintf(want, cap,
		 "%s"
		 "HTTP/1.1 200 OK\r\nServer: mpstream\r\n"
		 "Content-Type: application/octet-stream\r\n"
		 "Content-Length: 0\r\nAccept-Ranges: bytes\r\n"
		 "ETag: \"" EMPTY_TAG "\"\r\n\r\n"
		 "%s%s"
		 "%.*sConnection: close\r\n\r\n" HELLO,
		 hello_200, not_found, hello_206(r206, sizeof(r206), "0-4", "hello"),
		 (int)(strlen(hello_200) - strlen(HELLO) - 2), hello_200);
}

static void test_http_pipelined_requests_are_answered_in_order(void)
{
	struct http_fx *fx = fx_new();
	char want[4096];

	pipelined_expected(want, sizeof(want));
	CU_ASSERT_STRING_EQUAL(fx_run(fx, pipelined), want);
	CU_ASSERT_EQUAL(mps_http_requests(fx->h), 5);
	CU_ASSERT_TRUE(mps_http_done(fx->h));
	fx_free(fx);
}

static void test_http_request_split_at_every_byte_boundary(void)
{
	size_t len = strlen(pipelined), cut;
	char want[4096];

	pipelined_expected(want, sizeof(want));
	for (cut = 0; cut <= len; cut++) {
		struct http_fx *fx = fx_new();

		CU_ASSERT_EQUAL(mps_http_feed(fx->h, (const uint8_t *)pipelined, cut), cut);
		fx_pull(fx, 3);
		CU_ASSERT_EQUAL(mps_http_feed(fx->h, (const uint8_t *)pipelined + cut, len - cut),
				len - cut);
		fx_pull(fx, 5);
		CU_ASSERT_STRING_EQUAL(fx->out, want);
		fx_free(fx);
	}
}

static void test_http_byte_at_a_time_feed_and_pull(void)
{
	struct http_fx *fx = fx_new();
	size_t len = strlen(pipelined), i;
	char want[4096];

	pipelined_expected(want, sizeof(want));
	for (i = 0; i < len; i++) {
		CU_ASSERT_EQUAL(mps_http_feed(fx->h, (const uint8_t *)pipelined + i, 1), 1);
		fx_pull(fx, 1);
	}
	CU_ASSERT_STRING_EQUAL(fx->out, want);
	fx_free(fx);
}

static void test_http_big_file_is_byte_exact_in_small_pulls(void)
{
	struct http_fx *fx = fx_new();
	const char *req = "GET /big.mp4 HTTP/1.1\r\nHost: x\r\nRange: bytes=1000-\r\n\r\n";
	const char *body;
	size_t i, bad = 0;

	CU_ASSERT_EQUAL(mps_http_feed(fx->h, (const uint8_t *)req, strlen(req)), strlen(req));
	fx_pull(fx, 1337);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->out, "Content-Type: video/mp4\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->out, "Content-Length: 299000\r\n"));
	CU_ASSERT_PTR_NOT_NULL(strstr(fx->out, "Content-Range: bytes 1000-299999/300000\r\n"));
	body = strstr(fx->out, "\r\n\r\n");
	CU_ASSERT_FATAL(body != NULL);
	body += 4;
	CU_ASSERT_EQUAL(fx->outlen - (size_t)(body - fx->out), BIG_SIZE - 1000);
	for (i = 0; i < BIG_SIZE - 1000; i++)
		bad += (uint8_t)body[i] != fx_big_byte(i + 1000);
	CU_ASSERT_EQUAL(bad, 0);
	fx_free(fx);
}

static void test_http_file_shrinking_mid_response_is_io_error(void)
{
	struct http_fx *fx = fx_new();
	const char *req = "GET /big.mp4 HTTP/1.1\r\nHost: x\r\n\r\n";
	char path[256];
	uint8_t buf[4096];
	ssize_t n;

	mps_http_feed(fx->h, (const uint8_t *)req, strlen(req));
	CU_ASSERT(mps_http_pull(fx->h, buf, sizeof(buf)) > 0);
	snprintf(path, sizeof(path), "%s/big.mp4", fx->dir);
	CU_ASSERT_FATAL(truncate(path, 5000) == 0);
	do {
		n = mps_http_pull(fx->h, buf, sizeof(buf));
	} while (n > 0);
	CU_ASSERT_EQUAL(n, MPS_ERR_IO);
	CU_ASSERT_TRUE(mps_http_done(fx->h));
	fx_free(fx);
}

static void test_http_feed_stops_when_input_is_full(void)
{
	struct http_fx *fx = fx_new();
	const char *one = "GET /big.mp4 HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t olen = strlen(one), n;
	char *many = malloc(olen * 1000);
	size_t i;

	for (i = 0; i < 1000; i++)
		memcpy(many + i * olen, one, olen);
	/* the first request starts a 300 kB answer; the rest wait in 8 KiB */
	n = mps_http_feed(fx->h, (const uint8_t *)many, olen * 1000);
	CU_ASSERT(n < olen * 1000);
	CU_ASSERT(n <= olen + MPS_HTTP_MAX_HEADER);
	CU_ASSERT_EQUAL(mps_http_feed_space(fx->h), MPS_HTTP_MAX_HEADER - (n - olen));
	CU_ASSERT_EQUAL(mps_http_feed(fx->h, (const uint8_t *)many + n, 10),
			mps_http_feed_space(fx->h) < 10 ? mps_http_feed_space(fx->h) : 10);
	free(many);
	fx_free(fx);
}

static void test_http_eof_answers_complete_requests_then_done(void)
{
	struct http_fx *fx = fx_new();
	const char *req = "GET /hello.txt HTTP/1.1\r\nHost: x\r\n\r\nGET /hel";

	mps_http_feed(fx->h, (const uint8_t *)req, strlen(req));
	mps_http_feed_eof(fx->h);
	CU_ASSERT_FALSE(mps_http_done(fx->h));
	fx_pull(fx, 100);
	CU_ASSERT_STRING_EQUAL(fx->out, hello_200);
	CU_ASSERT_TRUE(mps_http_done(fx->h));
	fx_free(fx);
}

static void test_http_eof_on_idle_session_is_done(void)
{
	struct http_fx *fx = fx_new();

	mps_http_feed_eof(fx->h);
	CU_ASSERT_TRUE(mps_http_done(fx->h));
	fx_free(fx);
}

static void test_http_replicas_answer_byte_identically(void)
{
	struct http_fx *a = fx_new(), *b = fx_new();
	struct timespec ts[2] = {{.tv_sec = 1000}, {.tv_sec = 1000}};
	char path[256];

	/* same content, different inode, directory and mtime */
	snprintf(path, sizeof(path), "%s/hello.txt", b->dir);
	CU_ASSERT(utimensat(AT_FDCWD, path, ts, 0) == 0);
	CU_ASSERT_STRING_EQUAL(fx_run(a, pipelined), fx_run(b, pipelined));
	fx_free(a);
	fx_free(b);
}

static void test_http_etag_follows_content_change(void)
{
	struct http_fx *fx = fx_new();
	const char *req = "HEAD /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n";

	CU_ASSERT_PTR_NOT_NULL(strstr(fx_run(fx, req), HELLO_TAG));
	fx_write(fx, "hello.txt", "", 0);
	fx->outlen = 0;
	CU_ASSERT_PTR_NOT_NULL(strstr(fx_run(fx, req), EMPTY_TAG));
	fx_write(fx, "hello.txt", HELLO, strlen(HELLO));
	fx->outlen = 0;
	CU_ASSERT_PTR_NOT_NULL(strstr(fx_run(fx, req), HELLO_TAG));
	fx_free(fx);
}

/* The tree is hashed once at start (regular files only, symbolic links not
 * followed), and a request after that hashes nothing. */
static void test_http_warm_hashes_the_tree_once(void)
{
	struct http_fx *fx = fx_new();
	const char *req = "HEAD /hello.txt HTTP/1.1\r\nHost: x\r\n\r\n";
	size_t n = 0;

	CU_ASSERT_EQUAL(mps_http_server_hashed(fx->srv), 0);
	CU_ASSERT_EQUAL(mps_http_server_warm(fx->srv, &n), 0);
	CU_ASSERT_EQUAL(n, 4); /* hello.txt empty.bin big.mp4 sub/a b.html */
	CU_ASSERT_EQUAL(mps_http_server_hashed(fx->srv), 4);
	CU_ASSERT_PTR_NOT_NULL(strstr(fx_run(fx, req), HELLO_TAG));
	CU_ASSERT_EQUAL(mps_http_server_hashed(fx->srv), 4);
	fx_free(fx);
}

static void test_http_content_type_from_extension(void)
{
	CU_ASSERT_STRING_EQUAL(mps_http_content_type("a/b.mp4"), "video/mp4");
	CU_ASSERT_STRING_EQUAL(mps_http_content_type("seg1.ts"), "video/mp2t");
	CU_ASSERT_STRING_EQUAL(mps_http_content_type("x.M3U8"), "application/vnd.apple.mpegurl");
	CU_ASSERT_STRING_EQUAL(mps_http_content_type("x.mpd"), "application/dash+xml");
	CU_ASSERT_STRING_EQUAL(mps_http_content_type("i.html"), "text/html");
	CU_ASSERT_STRING_EQUAL(mps_http_content_type("r.txt"), "text/plain");
	CU_ASSERT_STRING_EQUAL(mps_http_content_type("r.bin"), "application/octet-stream");
	CU_ASSERT_STRING_EQUAL(mps_http_content_type("noext"), "application/octet-stream");
	CU_ASSERT_STRING_EQUAL(mps_http_content_type("d.mp4/noext"), "application/octet-stream");
}

static void test_http_server_new_rejects_missing_or_non_directory(void)
{
	mps_http_server *srv;

	CU_ASSERT_EQUAL(mps_http_server_new(&srv, "/nonexistent/mps-http"), -ENOENT);
	CU_ASSERT_PTR_NULL(srv);
	CU_ASSERT_EQUAL(mps_http_server_new(&srv, "/etc/passwd"), -ENOTDIR);
	CU_ASSERT_PTR_NULL(srv);
}

static CU_TestInfo tests_http[] = {
    {"get_whole_file_is_200_with_content_etag", test_http_get_whole_file_is_200_with_content_etag},
    {"empty_file_is_200_with_zero_length", test_http_empty_file_is_200_with_zero_length},
    {"head_sends_headers_only", test_http_head_sends_headers_only},
    {"head_ignores_range", test_http_head_ignores_range},
    {"range_first_last_is_206", test_http_range_first_last_is_206},
    {"range_last_beyond_size_is_clamped", test_http_range_last_beyond_size_is_clamped},
    {"range_open_ended_is_206", test_http_range_open_ended_is_206},
    {"range_suffix_is_206", test_http_range_suffix_is_206},
    {"range_suffix_longer_than_file_is_whole", test_http_range_suffix_longer_than_file_is_whole},
    {"range_past_end_is_416", test_http_range_past_end_is_416},
    {"range_zero_suffix_is_416", test_http_range_zero_suffix_is_416},
    {"range_on_empty_file_is_416", test_http_range_on_empty_file_is_416},
    {"range_invalid_or_multiple_is_ignored", test_http_range_invalid_or_multiple_is_ignored},
    {"missing_file_is_404", test_http_missing_file_is_404},
    {"directory_is_404", test_http_directory_is_404},
    {"head_404_has_no_body", test_http_head_404_has_no_body},
    {"dotdot_is_403", test_http_dotdot_is_403},
    {"symlink_out_of_dir_is_403", test_http_symlink_out_of_dir_is_403},
    {"symlink_inside_dir_is_served", test_http_symlink_inside_dir_is_served},
    {"percent_decoding_dot_segments_and_query", test_http_percent_decoding_dot_segments_and_query},
    {"absolute_form_target_is_served", test_http_absolute_form_target_is_served},
    {"bad_request_is_400_and_closes", test_http_bad_request_is_400_and_closes},
    {"header_over_8k_is_400", test_http_header_over_8k_is_400},
    {"header_of_exactly_8k_is_accepted", test_http_header_of_exactly_8k_is_accepted},
    {"other_method_is_405_with_allow", test_http_other_method_is_405_with_allow},
    {"request_body_is_skipped_across_feeds", test_http_request_body_is_skipped_across_feeds},
    {"connection_close_is_echoed_and_ends", test_http_connection_close_is_echoed_and_ends},
    {"http10_is_answered_then_closed", test_http_http10_is_answered_then_closed},
    {"pipelined_requests_are_answered_in_order",
     test_http_pipelined_requests_are_answered_in_order},
    {"request_split_at_every_byte_boundary", test_http_request_split_at_every_byte_boundary},
    {"byte_at_a_time_feed_and_pull", test_http_byte_at_a_time_feed_and_pull},
    {"big_file_is_byte_exact_in_small_pulls", test_http_big_file_is_byte_exact_in_small_pulls},
    {"file_shrinking_mid_response_is_io_error", test_http_file_shrinking_mid_response_is_io_error},
    {"feed_stops_when_input_is_full", test_http_feed_stops_when_input_is_full},
    {"eof_answers_complete_requests_then_done", test_http_eof_answers_complete_requests_then_done},
    {"eof_on_idle_session_is_done", test_http_eof_on_idle_session_is_done},
    {"replicas_answer_byte_identically", test_http_replicas_answer_byte_identically},
    {"etag_follows_content_change", test_http_etag_follows_content_change},
    {"warm_hashes_the_tree_once", test_http_warm_hashes_the_tree_once},
    {"content_type_from_extension", test_http_content_type_from_extension},
    {"server_new_rejects_missing_or_non_directory",
     test_http_server_new_rejects_missing_or_non_directory},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(http, tests_http)
