/*
 * test_opts.c - mpsd's command line (apps/opts.c).
 */
#include "unit.h"
#include "opts.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define OPTS_MAXARGS 40

/* Parse a command line given as one string of words separated by spaces. */
static int opts_run(struct mps_opts *o, char *err, const char *line)
{
	static char store[1024];
	char *argv[OPTS_MAXARGS + 1];
	int argc = 0;
	char *p;

	snprintf(store, sizeof(store), "mpsd %s", line);
	for (p = strtok(store, " "); p != NULL && argc < OPTS_MAXARGS; p = strtok(NULL, " "))
		argv[argc++] = p;
	argv[argc] = NULL;
	return mps_opts_parse(o, argc, argv, err, MPS_OPTS_ERRLEN);
}

#define SERVER_OK "server --tun mps0 --addr 10.88.1.1 --listen 10.88.1.1:80 --serve /tmp"
#define CLIENT_OK                                                                                  \
	"client --tun mps0 --addr 10.77.0.2 --connect 10.88.1.1:80 --listen 127.0.0.1:8080"

static void test_opts_server_line_fills_struct(void)
{
	struct mps_opts o;
	char err[MPS_OPTS_ERRLEN], a[MPS_ADDR_STRLEN];

	CU_ASSERT_EQUAL_FATAL(opts_run(&o, err,
				       "server --tun mps0 --addr 10.88.1.1 --addr fd00::1 "
				       "--listen 10.88.1.1:80 --backend localhost:8000 "
				       "--announce 10.88.2.1:80 --announce [fd00::2]:80 "
				       "--ctl /tmp/c.sock --mtu 1400 --no-mptcp --no-offload -v -v "
				       "--send-timeout 2.5"),
			      MPS_EXIT_OK);
	CU_ASSERT_EQUAL(o.role, MPS_ROLE_SERVER);
	CU_ASSERT_TRUE(o.has_send_timeout);
	CU_ASSERT_EQUAL(o.send_timeout_ms, 2500);
	CU_ASSERT_EQUAL(o.ctl_gid, -1);
	CU_ASSERT_STRING_EQUAL(o.tun, "mps0");
	CU_ASSERT_EQUAL(o.naddrs, 2);
	CU_ASSERT_STRING_EQUAL(mps_addr_format(&o.addrs[1], a), "fd00::1");
	CU_ASSERT_STRING_EQUAL(mps_addr_format(&o.listen, a), "10.88.1.1:80");
	CU_ASSERT_STRING_EQUAL(mps_addr_format(&o.backend, a), "127.0.0.1:8000");
	CU_ASSERT_PTR_NULL(o.serve);
	CU_ASSERT_EQUAL(o.nannounce, 2);
	CU_ASSERT_STRING_EQUAL(mps_addr_format(&o.announce[1], a), "[fd00::2]:80");
	CU_ASSERT_STRING_EQUAL(o.ctl, "/tmp/c.sock");
	CU_ASSERT_EQUAL(o.mtu, 1400);
	CU_ASSERT_TRUE(o.no_mptcp);
	CU_ASSERT_TRUE(o.no_offload);
	CU_ASSERT_EQUAL(o.verbose, 2);
	CU_ASSERT_FALSE(o.has_group_key);
}

static void test_opts_client_line_fills_struct(void)
{
	struct mps_opts o;
	char err[MPS_OPTS_ERRLEN], a[MPS_ADDR_STRLEN];

	CU_ASSERT_EQUAL_FATAL(opts_run(&o, err,
				       "client --tun=mps1 --addr 10.77.0.2 --connect 10.88.1.1:80 "
				       "--join 10.88.2.1:80 --join 10.88.3.1:8080 "
				       "--listen localhost:8080 --verbose"),
			      MPS_EXIT_OK);
	CU_ASSERT_EQUAL(o.role, MPS_ROLE_CLIENT);
	CU_ASSERT_STRING_EQUAL(o.tun, "mps1");
	CU_ASSERT_STRING_EQUAL(mps_addr_format(&o.connect, a), "10.88.1.1:80");
	CU_ASSERT_EQUAL(o.njoins, 2);
	CU_ASSERT_STRING_EQUAL(mps_addr_format(&o.joins[1], a), "10.88.3.1:8080");
	CU_ASSERT_STRING_EQUAL(mps_addr_format(&o.listen, a), "127.0.0.1:8080");
	CU_ASSERT_EQUAL(o.verbose, 1);
	CU_ASSERT_EQUAL(o.mtu, 0);
	CU_ASSERT_PTR_NULL(o.ctl);
}

/* --cc and --cc-coupled name what mps_config takes (both roles). */
static void test_opts_cc_names(void)
{
	struct mps_opts o;
	char err[MPS_OPTS_ERRLEN];

	CU_ASSERT_EQUAL_FATAL(opts_run(&o, err, SERVER_OK), MPS_EXIT_OK);
	CU_ASSERT_PTR_NULL(o.cc);
	CU_ASSERT_PTR_NULL(o.cc_coupled);
	CU_ASSERT_EQUAL_FATAL(opts_run(&o, err, SERVER_OK " --cc newreno --cc-coupled none"),
			      MPS_EXIT_OK);
	CU_ASSERT_STRING_EQUAL(o.cc, "newreno");
	CU_ASSERT_STRING_EQUAL(o.cc_coupled, "none");
	CU_ASSERT_EQUAL_FATAL(opts_run(&o, err, CLIENT_OK " --cc-coupled olia --cc lia"),
			      MPS_EXIT_OK);
	CU_ASSERT_STRING_EQUAL(o.cc, "lia");
	CU_ASSERT_STRING_EQUAL(o.cc_coupled, "olia");
}

static void test_opts_keygen_help_and_version(void)
{
	struct mps_opts o;
	char err[MPS_OPTS_ERRLEN];

	CU_ASSERT_EQUAL(opts_run(&o, err, "keygen"), MPS_EXIT_OK);
	CU_ASSERT_EQUAL(o.role, MPS_ROLE_KEYGEN);
	CU_ASSERT_EQUAL(opts_run(&o, err, "--help"), MPS_EXIT_OK);
	CU_ASSERT_TRUE(o.help);
	CU_ASSERT_EQUAL(opts_run(&o, err, "server --help"), MPS_EXIT_OK);
	CU_ASSERT_TRUE(o.help);
	CU_ASSERT_EQUAL(opts_run(&o, err, "--version"), MPS_EXIT_OK);
	CU_ASSERT_TRUE(o.version);
	CU_ASSERT_EQUAL(opts_run(&o, err, "client -h"), MPS_EXIT_OK);
	CU_ASSERT_TRUE(o.help);
	CU_ASSERT_PTR_NOT_NULL(strstr(mps_opts_usage(), "mpsd server --tun NAME"));
}

static const struct {
	const char *line;
	const char *msg;
} opts_usage_errors[] = {
    {"", "mpsd: missing command (keygen, server or client); see mpsd --help"},
    {"serve", "mpsd: unknown command 'serve'; see mpsd --help"},
    {"--tun x", "mpsd: missing command before '--tun'; see mpsd --help"},
    {"keygen -v", "mpsd: keygen takes no options"},
    {"keygen extra", "mpsd: unexpected argument 'extra'"},
    {SERVER_OK " --frobnicate", "mpsd: unknown option '--frobnicate'; see mpsd --help"},
    {SERVER_OK " -x", "mpsd: unknown option '-x'; see mpsd --help"},
    {SERVER_OK " --mtu", "mpsd: option '--mtu' needs an argument"},
    {SERVER_OK " stray", "mpsd: unexpected argument 'stray'"},
    {SERVER_OK " --join 10.88.2.1:80", "mpsd: --join is not an option of 'mpsd server'"},
    {CLIENT_OK " --serve /tmp", "mpsd: --serve is not an option of 'mpsd client'"},
    {CLIENT_OK " --group-key /k", "mpsd: --group-key is not an option of 'mpsd client'"},
    {"server --addr 10.88.1.1 --listen 10.88.1.1:80 --serve /tmp", "mpsd: missing --tun NAME"},
    {"server --tun t --listen 10.88.1.1:80 --serve /tmp", "mpsd: missing --addr ADDR"},
    {"server --tun t --addr 10.88.1.1 --serve /tmp", "mpsd: missing --listen ADDR:PORT"},
    {"server --tun t --addr 10.88.1.1 --listen 10.88.1.1:80",
     "mpsd: missing --serve DIR or --backend HOST:PORT"},
    {SERVER_OK " --backend 127.0.0.1:8000", "mpsd: --serve and --backend exclude each other"},
    {"server --tun t --addr 10.88.1.1 --listen 10.88.9.9:80 --serve /tmp",
     "mpsd: --listen 10.88.9.9:80 is not one of the --addr addresses"},
    {"client --tun t --addr 10.77.0.2 --listen 127.0.0.1:8080",
     "mpsd: missing --connect ADDR:PORT"},
    {"client --tun t --addr 10.77.0.2 --connect 10.88.1.1:80", "mpsd: missing --listen HOST:PORT"},
    {"client --tun t --addr 10.77.0.2 --connect [fd00::1]:80 --listen 127.0.0.1:1",
     "mpsd: no --addr of the address family of --connect [fd00::1]:80"},
    {CLIENT_OK " --join [fd00::1]:80",
     "mpsd: no --addr of the address family of --join [fd00::1]:80"},
    {SERVER_OK " --addr 10.1.1.1:5",
     "mpsd: bad address for --addr: '10.1.1.1:5' (want an IPv4 or IPv6 address, no port)"},
    {SERVER_OK " --addr nonsense",
     "mpsd: bad address for --addr: 'nonsense' (want an IPv4 or IPv6 address, no port)"},
    {CLIENT_OK " --join 10.88.2.1",
     "mpsd: bad address for --join: '10.88.2.1' (want ADDR:PORT or [IPV6]:PORT)"},
    {"client --tun t --addr 10.77.0.2 --connect 10.88.1.1:99999 --listen 127.0.0.1:1",
     "mpsd: bad address for --connect: '10.88.1.1:99999' (want ADDR:PORT or [IPV6]:PORT)"},
    {SERVER_OK " --announce host:80",
     "mpsd: bad address for --announce: 'host:80' (want ADDR:PORT or [IPV6]:PORT)"},
    {SERVER_OK " --mtu 100", "mpsd: bad --mtu '100' (want 576..65535)"},
    {SERVER_OK " --cc bbr", "mpsd: bad --cc 'bbr' (cubic, newreno, lia or olia)"},
    {CLIENT_OK " --cc none", "mpsd: bad --cc 'none' (cubic, newreno, lia or olia)"},
    {CLIENT_OK " --cc-coupled cubic", "mpsd: bad --cc-coupled 'cubic' (lia, olia or none)"},
    {SERVER_OK " --cc cubic --cc newreno", "mpsd: --cc given twice"},
    {SERVER_OK " --mtu 1500x", "mpsd: bad --mtu '1500x' (want 576..65535)"},
    {SERVER_OK " --send-timeout -1", "mpsd: bad --send-timeout '-1' (seconds, 0..86400)"},
    {SERVER_OK " --send-timeout 5s", "mpsd: bad --send-timeout '5s' (seconds, 0..86400)"},
    {SERVER_OK " --send-timeout 1 --send-timeout 2", "mpsd: --send-timeout given twice"},
    {SERVER_OK " --ctl-group no-such-group-here", "mpsd: unknown --ctl-group 'no-such-group-here'"},
    {SERVER_OK " --ctl-group 0 --ctl-group 0", "mpsd: --ctl-group given twice"},
    {SERVER_OK " --mtu 70000", "mpsd: bad --mtu '70000' (want 576..65535)"},
    {SERVER_OK " --tun again", "mpsd: --tun given twice"},
    {SERVER_OK " --listen 10.88.1.1:81", "mpsd: --listen given twice"},
    {"server --tun a/b --addr 10.88.1.1 --listen 10.88.1.1:80 --serve /tmp",
     "mpsd: bad --tun name 'a/b' (1..15 characters, no '/')"},
    {"server --tun abcdefghijklmnop --addr 10.88.1.1 --listen 10.88.1.1:80 --serve /tmp",
     "mpsd: bad --tun name 'abcdefghijklmnop' (1..15 characters, no '/')"},
};

static void test_opts_usage_errors_are_one_line_exit_2(void)
{
	struct mps_opts o;
	char err[MPS_OPTS_ERRLEN];
	size_t i;

	for (i = 0; i < sizeof(opts_usage_errors) / sizeof(opts_usage_errors[0]); i++) {
		int rc = opts_run(&o, err, opts_usage_errors[i].line);

		CU_ASSERT_EQUAL(rc, MPS_EXIT_USAGE);
		CU_ASSERT_STRING_EQUAL(err, opts_usage_errors[i].msg);
		CU_ASSERT_PTR_NULL(strchr(err, '\n'));
		if (rc != MPS_EXIT_USAGE || strcmp(err, opts_usage_errors[i].msg) != 0)
			fprintf(stderr, "\n  '%s' -> %d '%s'\n", opts_usage_errors[i].line, rc,
				err);
	}
}

/* Write a key file with the given content and mode; returns its path. */
static const char *opts_keyfile(char *path, const char *content, mode_t mode)
{
	int fd;

	strcpy(path, "/tmp/mps-key-XXXXXX");
	fd = mkstemp(path);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(write(fd, content, strlen(content)) == (ssize_t)strlen(content));
	close(fd);
	CU_ASSERT_FATAL(chmod(path, mode) == 0);
	return path;
}

static void test_opts_group_key_is_loaded(void)
{
	struct mps_opts o;
	char err[MPS_OPTS_ERRLEN], path[64], line[256];
	size_t i;
	bool ok = true;

	/* base64 of the bytes 0, 1, ..., 31 */
	opts_keyfile(path, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0600);
	snprintf(line, sizeof(line), SERVER_OK " --group-key %s", path);
	CU_ASSERT_EQUAL(opts_run(&o, err, line), MPS_EXIT_OK);
	CU_ASSERT_TRUE(o.has_group_key);
	for (i = 0; i < MPS_GROUP_KEY_BYTES; i++)
		ok &= o.group_key[i] == i;
	CU_ASSERT_TRUE(ok);
	CU_ASSERT_FALSE(o.has_group_key_prev);
	CU_ASSERT_STRING_EQUAL(o.group_key_file, path);
	unlink(path);
}

static void test_opts_group_key_file_with_the_previous_key_for_rotation(void)
{
	struct mps_opts o;
	char err[MPS_OPTS_ERRLEN], path[64], line[256];
	size_t i;
	bool ok = true;

	/* current: bytes 0..31; previous: bytes 32..63; comments and blanks */
	opts_keyfile(path,
		     "# rotated 2026-12-04\n"
		     "  AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=  \r\n"
		     "\n"
		     "ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8=\n",
		     0600);
	snprintf(line, sizeof(line), SERVER_OK " --group-key %s", path);
	CU_ASSERT_EQUAL(opts_run(&o, err, line), MPS_EXIT_OK);
	CU_ASSERT_TRUE(o.has_group_key);
	CU_ASSERT_TRUE(o.has_group_key_prev);
	for (i = 0; i < MPS_GROUP_KEY_BYTES; i++)
		ok &= o.group_key[i] == i && o.group_key_prev[i] == 32 + i;
	CU_ASSERT_TRUE(ok);
	unlink(path);
}

static void test_opts_group_key_readable_by_others_is_refused(void)
{
	struct mps_opts o;
	char err[MPS_OPTS_ERRLEN], path[64], line[256], want[256];

	opts_keyfile(path, "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0644);
	snprintf(line, sizeof(line), SERVER_OK " --group-key %s", path);
	snprintf(want, sizeof(want),
		 "mpsd: group key file %s is readable by others (mode 0644); chmod 600 it", path);
	CU_ASSERT_EQUAL(opts_run(&o, err, line), MPS_EXIT_RUNTIME);
	CU_ASSERT_STRING_EQUAL(err, want);
	CU_ASSERT_FALSE(o.has_group_key);
	chmod(path, 0640);
	snprintf(want, sizeof(want),
		 "mpsd: group key file %s is readable by others (mode 0640); chmod 600 it", path);
	CU_ASSERT_EQUAL(opts_run(&o, err, line), MPS_EXIT_RUNTIME);
	CU_ASSERT_STRING_EQUAL(err, want);
	unlink(path);
}

static void test_opts_group_key_with_bad_content_is_refused(void)
{
	static const char *bad[] = {
	    "", "not base64 at all!", "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd", /* 30 bytes */
	    "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gIQ==",			  /* 34 bytes */
	};
	struct mps_opts o;
	char err[MPS_OPTS_ERRLEN], path[64], line[256];
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		opts_keyfile(path, bad[i], 0600);
		snprintf(line, sizeof(line), SERVER_OK " --group-key %s", path);
		CU_ASSERT_EQUAL(opts_run(&o, err, line), MPS_EXIT_RUNTIME);
		CU_ASSERT_PTR_NOT_NULL(strstr(err, i == 0 ? "must hold one key, or two while rotating"
							  : "does not hold base64 keys of 32 bytes"));
		unlink(path);
	}
	/* three keys: one too many */
	opts_keyfile(path,
		     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
		     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
		     "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
		     0600);
	snprintf(line, sizeof(line), SERVER_OK " --group-key %s", path);
	CU_ASSERT_EQUAL(opts_run(&o, err, line), MPS_EXIT_RUNTIME);
	CU_ASSERT_PTR_NOT_NULL(strstr(err, "must hold one key, or two while rotating"));
	unlink(path);
	CU_ASSERT_EQUAL(opts_run(&o, err, SERVER_OK " --group-key /nonexistent/key"),
			MPS_EXIT_RUNTIME);
	CU_ASSERT_STRING_EQUAL(err, "mpsd: cannot open group key file /nonexistent/key: "
				    "No such file or directory");
}

/* Found by fuzz_opts: an argument with a newline made a two-line message. */
static void test_opts_error_quoting_a_newline_stays_one_line(void)
{
	char *argv[] = {(char *)"mpsd", (char *)"server", (char *)"--mtu", (char *)"1\n2", NULL};
	char err[MPS_OPTS_ERRLEN];
	struct mps_opts o;

	CU_ASSERT_EQUAL(mps_opts_parse(&o, 4, argv, err, sizeof(err)), MPS_EXIT_USAGE);
	CU_ASSERT_STRING_EQUAL(err, "mpsd: bad --mtu '1?2' (want 576..65535)");
	CU_ASSERT_PTR_NULL(strchr(err, '\n'));
}

static CU_TestInfo tests_opts[] = {
    {"error_quoting_a_newline_stays_one_line", test_opts_error_quoting_a_newline_stays_one_line},
    {"server_line_fills_struct", test_opts_server_line_fills_struct},
    {"client_line_fills_struct", test_opts_client_line_fills_struct},
    {"keygen_help_and_version", test_opts_keygen_help_and_version},
    {"cc_names", test_opts_cc_names},
    {"usage_errors_are_one_line_exit_2", test_opts_usage_errors_are_one_line_exit_2},
    {"group_key_is_loaded", test_opts_group_key_is_loaded},
    {"group_key_file_with_the_previous_key_for_rotation",
     test_opts_group_key_file_with_the_previous_key_for_rotation},
    {"group_key_readable_by_others_is_refused", test_opts_group_key_readable_by_others_is_refused},
    {"group_key_with_bad_content_is_refused", test_opts_group_key_with_bad_content_is_refused},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(opts, tests_opts)
