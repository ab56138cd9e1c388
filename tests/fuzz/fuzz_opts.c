/*
 * fuzz_opts.c - libFuzzer target for mpsd's command line (apps/opts.c,
 * mps_opts_parse): the input, cut at NUL bytes, is argv after "mpsd".  Any
 * result must be one of the documented exit statuses, and an error must
 * come with a one-line message starting "mpsd: ".  --group-key paths are
 * replaced by a path that does not exist (no file is read).
 */
#include "opts.h"

#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_ARGS 32

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *argv[FZ_MAX_ARGS + 2];
	char err[MPS_OPTS_ERRLEN];
	struct mps_opts o;
	int argc = 1, rc, i;
	size_t pos = 0;

	if (buf == NULL)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	argv[0] = (char *)"mpsd";
	while (pos <= size && argc <= FZ_MAX_ARGS) {
		argv[argc++] = buf + pos;
		pos += strlen(buf + pos) + 1;
	}
	for (i = 1; i < argc; i++)
		if (strncmp(argv[i], "--group-key", 11) == 0 && i + 1 < argc)
			argv[i + 1] = (char *)"/nonexistent/mpstream-fuzz-key";
	argv[argc] = NULL;
	optind = 0; /* getopt starts over for every input */
	err[0] = '\0';
	rc = mps_opts_parse(&o, argc, argv, err, sizeof(err));
	if (rc != MPS_EXIT_OK && rc != MPS_EXIT_USAGE && rc != MPS_EXIT_RUNTIME)
		abort();
	if (rc != MPS_EXIT_OK && (strncmp(err, "mpsd: ", 6) != 0 || strchr(err, '\n') != NULL))
		abort();
	free(buf);
	return 0;
}
