/*
 * mpsctl.c - ask a running mpsd for its status over the control socket.
 *
 *   mpsctl [--ctl PATH] status [--json]
 *
 * Exit: 0 with the reply on stdout; 1 when the daemon is not there or
 * answered an error; 2 on a bad command line.
 */
#include "config.h"

#include "ctl.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#define MPSCTL_TIMEOUT_MS 5000

static const char mpsctl_usage[] = "usage: mpsctl [--ctl PATH] status [--json]\n"
				   "  --ctl PATH  control socket of mpsd (default $MPS_CTL, else "
				   "/run/mpsd.sock)\n"
				   "  --json      the status as one JSON object\n"
				   "  -h, --help  this text\n"
				   "  --version   print the version\n";

enum { MPSCTL_CTL = 0x100, MPSCTL_JSON, MPSCTL_VERSION };

static const struct option mpsctl_long[] = {
    {"ctl", required_argument, NULL, MPSCTL_CTL},
    {"json", no_argument, NULL, MPSCTL_JSON},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, MPSCTL_VERSION},
    {NULL, 0, NULL, 0},
};

int main(int argc, char **argv)
{
	const char *path = NULL, *cmd = NULL;
	bool json = false;
	mps_text reply;
	int c, err, i;

	opterr = 0;
	/* options may come before or after the command: "status --json" */
	while ((c = getopt_long(argc, argv, ":h", mpsctl_long, NULL)) != -1) {
		switch (c) {
		case MPSCTL_CTL:
			path = optarg;
			break;
		case MPSCTL_JSON:
			json = true;
			break;
		case 'h':
			fputs(mpsctl_usage, stdout);
			return 0;
		case MPSCTL_VERSION:
			printf("mpsctl %s\n", PACKAGE_VERSION);
			return 0;
		case ':':
			fprintf(stderr, "mpsctl: option '%s' needs an argument\n",
				argv[optind - 1]);
			return 2;
		default:
			fprintf(stderr, "mpsctl: unknown option '%s'; see mpsctl --help\n",
				argv[optind - 1]);
			return 2;
		}
	}
	for (i = optind; i < argc; i++) {
		if (cmd != NULL) {
			fprintf(stderr, "mpsctl: unexpected argument '%s'\n", argv[i]);
			return 2;
		}
		cmd = argv[i];
	}
	if (cmd == NULL) {
		fprintf(stderr, "mpsctl: missing command (status); see mpsctl --help\n");
		return 2;
	}
	if (strcmp(cmd, "status") != 0) {
		fprintf(stderr, "mpsctl: unknown command '%s'; see mpsctl --help\n", cmd);
		return 2;
	}
	if (path == NULL)
		path = mps_ctl_default_path();

	mps_text_init(&reply);
	err = mps_ctl_query(path, json ? "status json" : "status", &reply, MPSCTL_TIMEOUT_MS);
	if (err < 0) {
		if (err == -ENOENT || err == -ECONNREFUSED)
			fprintf(stderr, "mpsctl: cannot reach mpsd at %s: %s (is mpsd running?)\n",
				path, strerror(-err));
		else if (err == -EACCES || err == -EPERM)
			fprintf(stderr, "mpsctl: not allowed to talk to mpsd at %s: its control socket"
					" is for its owner and the group of mpsd --ctl-group\n",
				path);
		else
			fprintf(stderr, "mpsctl: cannot reach mpsd at %s: %s\n", path,
				strerror(-err));
		mps_text_free(&reply);
		return 1;
	}
	if (reply.len == 0 || strncmp(reply.buf, "error:", 6) == 0) {
		fprintf(stderr, "mpsctl: mpsd answered %s", reply.len ? reply.buf : "nothing\n");
		mps_text_free(&reply);
		return 1;
	}
	fwrite(reply.buf, 1, reply.len, stdout);
	mps_text_free(&reply);
	return fflush(stdout) == 0 ? 0 : 1;
}
