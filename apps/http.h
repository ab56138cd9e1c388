/*
 * http.h - a deterministic HTTP/1.1 static file server as a state machine.
 *
 * No sockets inside: the caller feeds the bytes the client sent and pulls
 * the bytes to send back.  Files are opened under one directory and read
 * with pread(2) while pulling, so a response never sits in memory whole.
 *
 * Determinism (DESIGN.md §3): two replicas holding the same file answer an
 * identical request with byte-identical responses.  So there is no Date and
 * no Last-Modified; the ETag is a hash of the file's content; headers come in
 * a fixed order.
 *
 * Supported (RFC 9110, RFC 9112): GET and HEAD; pipelined and keep-alive
 * requests; one byte range per request (bytes=a-b, a-, -n) with 206 / 416;
 * "Connection: close"; HTTP/1.0 (answered, then closed).  Answers 400 (bad
 * request line or header, header section over MPS_HTTP_MAX_HEADER bytes,
 * HTTP/1.1 without Host), 403 (path escapes the directory, permission),
 * 404 (missing, not a regular file: directories have no index), 405 (+Allow),
 * 416 (+Content-Range: bytes * /size), 500 (I/O error before the headers).
 *
 * Typical use (apps/mpsd.c):
 *
 *     space = mps_http_feed_space(h);    read at most that much, then
 *     mps_http_feed(h, in, n);
 *     n = mps_http_pull(h, out, cap);    send n bytes; repeat while > 0
 *     if (mps_http_done(h)) close the connection after sending;
 */
#ifndef MPS_HTTP_H
#define MPS_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Largest header section (request line, fields, final empty line). */
#define MPS_HTTP_MAX_HEADER 8192

/* Length of the content hash behind the ETag (bytes; twice that in hex). */
#define MPS_HTTP_ETAG_BYTES 16

typedef struct mps_http_server mps_http_server;
typedef struct mps_http_session mps_http_session;

/*
 * mps_http_server_new opens dir as the root of the served tree and makes an
 * empty ETag cache.  Needs libsodium initialised (sodium_init).
 *
 * Returns 0, or -errno: -ENOENT, -ENOTDIR, -EACCES (cannot open or list
 * dir), -ENOMEM, or another -errno from open(2) / realpath(3).
 */
int mps_http_server_new(mps_http_server **out, const char *dir);

/* mps_http_server_warm hashes the regular files of the tree (up to the size
 * of the ETag cache, 32 files, 8 directory levels; symbolic links are not
 * followed) so that the first request for a file does not stall the daemon
 * while its ETag is computed (BLAKE2b of the whole content: about a second
 * per GiB).  *nfiles (may be NULL) gets the number of files hashed.
 * Returns 0 or -errno of opening a directory. */
int mps_http_server_warm(mps_http_server *srv, size_t *nfiles);

/* How many files have been hashed so far (ETag cache misses). */
uint64_t mps_http_server_hashed(const mps_http_server *srv);

/* Frees the server; every session of it must be freed first. */
void mps_http_server_free(mps_http_server *srv);

/* mps_http_content_type maps a path's extension to a media type;
 * "application/octet-stream" when unknown.  The string is static. */
const char *mps_http_content_type(const char *path);

/* mps_http_session_new starts the state of one client connection.
 * Returns 0 or MPS_ERR_NOMEM. */
int mps_http_session_new(mps_http_session **out, mps_http_server *srv);

/* Frees the session and closes the file it may hold open. */
void mps_http_session_free(mps_http_session *h);

/* How many bytes mps_http_feed takes now.  0 means the input buffer is full
 * of requests not answered yet: pull first (backpressure, do not read more
 * from the client). */
size_t mps_http_feed_space(const mps_http_session *h);

/*
 * mps_http_feed hands bytes the client sent.  Takes at most
 * mps_http_feed_space() bytes; after the session decided to close, input is
 * taken and dropped.
 *
 * Returns the number of bytes taken (<= len).
 */
size_t mps_http_feed(mps_http_session *h, const uint8_t *data, size_t len);

/* mps_http_feed_eof says the client will send no more (FIN).  Complete
 * requests already fed are still answered; then the session is done. */
void mps_http_feed_eof(mps_http_session *h);

/*
 * mps_http_pull writes up to cap bytes of response into buf: the answers to
 * every complete request fed so far, in order.
 *
 * Returns the number of bytes written (> 0), 0 when there is nothing to send
 * until more input comes (or when done), or MPS_ERR_IO when a file could not
 * be read after its headers were produced (the file shrank or the disk
 * failed): the response cannot be completed, so the connection must be
 * aborted, never ended as if the stream were whole.
 */
ssize_t mps_http_pull(mps_http_session *h, uint8_t *buf, size_t cap);

/* True when every response has been pulled and the connection should now
 * be closed (the client asked, an error, HTTP/1.0, or EOF from the client). */
bool mps_http_done(const mps_http_session *h);

/* Number of requests parsed so far (statistics, tests). */
uint64_t mps_http_requests(const mps_http_session *h);

#endif
