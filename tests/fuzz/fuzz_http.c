/*
 * fuzz_http.c - libFuzzer target for the built-in HTTP server's request
 * parser and answers (apps/http.c): the input is what a client sends on one
 * connection, fed in pieces (the first byte sets the piece size), with the
 * answers pulled as a relay would.  The served tree is a directory made
 * once with a few files.  No crash, and the session ends when the input
 * ends (EOF) within a bounded number of pulls.
 */
#include "http.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static mps_http_server *fz_srv;

static void fz_file(const char *dir, const char *name, size_t n)
{
	char path[256];
	FILE *fp;
	size_t i;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fp = fopen(path, "w");
	if (fp == NULL)
		abort();
	for (i = 0; i < n; i++)
		fputc((int)(i * 7 % 251), fp);
	fclose(fp);
}

static void fz_setup(void)
{
	static char dir[] = "/tmp/mps-fuzz-http-XXXXXX";
	char sub[300];

	if (mkdtemp(dir) == NULL)
		abort();
	fz_file(dir, "small", 100);
	fz_file(dir, "empty", 0);
	fz_file(dir, "video.mp4", 70000);
	snprintf(sub, sizeof(sub), "%s/d", dir);
	mkdir(sub, 0755);
	fz_file(sub, "index.html", 10);
	if (mps_http_server_new(&fz_srv, dir) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[65536];
	mps_http_session *h;
	size_t piece, pos = 0;
	int pulls = 0;

	if (fz_srv == NULL)
		fz_setup();
	if (size < 1 || mps_http_session_new(&h, fz_srv) != 0)
		return 0;
	piece = (size_t)data[0] % 64 + 1;
	data++;
	size--;
	while (pos < size) {
		size_t room = mps_http_feed_space(h), k = size - pos;
		if (k > piece)
			k = piece;
		if (room == 0) {
			if (mps_http_pull(h, out, sizeof(out)) <= 0 && mps_http_feed_space(h) == 0)
				break; /* nothing to pull and no room: stuck */
			continue;
		}
		if (k > room)
			k = room;
		pos += mps_http_feed(h, data + pos, k);
		(void)mps_http_pull(h, out, sizeof(out));
	}
	mps_http_feed_eof(h);
	/* After the client's EOF the answers drain and the session ends: a
	 * session that neither sends nor ends would hang its connection. */
	while (!mps_http_done(h)) {
		ssize_t r = mps_http_pull(h, out, sizeof(out));
		if (r < 0)
			break;
		if (r == 0 && ++pulls > 3)
			abort();
	}
	mps_http_session_free(h);
	return 0;
}
