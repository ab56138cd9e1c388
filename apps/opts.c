/*
 * opts.c - parse mpsd's command line into struct mps_opts.
 *
 * mps_opts_parse → subcommand → getopt_long loop (opts_addr_* per flag)
 *                → opts_check_role (required flags) → mps_opts_load_group_key
 */
#include "opts.h"
#include "mps_err.h"

#include "mps.h"

#include <errno.h>
#include <grp.h>
#include <fcntl.h>
#include <getopt.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum {
	OPT_TUN = 0x100,
	OPT_ADDR,
	OPT_LISTEN,
	OPT_CONNECT,
	OPT_JOIN,
	OPT_SERVE,
	OPT_BACKEND,
	OPT_GROUP_KEY,
	OPT_ANNOUNCE,
	OPT_CTL,
	OPT_MTU,
	OPT_NO_MPTCP,
	OPT_NO_OFFLOAD,
	OPT_CC,
	OPT_CC_COUPLED,
	OPT_GROUP,
	OPT_SCHED,
	OPT_SEND_TIMEOUT,
	OPT_CTL_GROUP,
	OPT_VERSION,
};

/* Which role may use an option. */
#define OPTS_SERVER 1
#define OPTS_CLIENT 2
#define OPTS_BOTH 3

static const struct option opts_long[] = {
    {"tun", required_argument, NULL, OPT_TUN},
    {"addr", required_argument, NULL, OPT_ADDR},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"connect", required_argument, NULL, OPT_CONNECT},
    {"join", required_argument, NULL, OPT_JOIN},
    {"serve", required_argument, NULL, OPT_SERVE},
    {"backend", required_argument, NULL, OPT_BACKEND},
    {"group-key", required_argument, NULL, OPT_GROUP_KEY},
    {"announce", required_argument, NULL, OPT_ANNOUNCE},
    {"ctl", required_argument, NULL, OPT_CTL},
    {"mtu", required_argument, NULL, OPT_MTU},
    {"no-mptcp", no_argument, NULL, OPT_NO_MPTCP},
    {"no-offload", no_argument, NULL, OPT_NO_OFFLOAD},
    {"cc", required_argument, NULL, OPT_CC},
    {"cc-coupled", required_argument, NULL, OPT_CC_COUPLED},
    {"group", no_argument, NULL, OPT_GROUP},
    {"sched", required_argument, NULL, OPT_SCHED},
    {"send-timeout", required_argument, NULL, OPT_SEND_TIMEOUT},
    {"ctl-group", required_argument, NULL, OPT_CTL_GROUP},
    {"verbose", no_argument, NULL, 'v'},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static const char opts_usage_text[] =
    "usage: mpsd keygen          (a new group key; to rotate, the key file holds the\n"
    "                             new key, then the old one, until the old is dropped)\n"
    "       mpsd server --tun NAME --addr ADDR [--addr ADDR]... --listen ADDR:PORT\n"
    "                   (--serve DIR | --backend HOST:PORT)\n"
    "                   [--group-key FILE] [--announce ADDR:PORT]... [--ctl PATH]\n"
    "       mpsd client --tun NAME --addr ADDR [--addr ADDR]... --connect ADDR:PORT\n"
    "                   [--join ADDR:PORT]... --listen HOST:PORT [--ctl PATH]\n"
    "                   [--group] [--sched split|redundant|deadline]\n"
    "common options:\n"
    "  --mtu N        IP MTU of the TUN device (576..65535, default 1500)\n"
    "  --no-mptcp     plain TCP only: never offer nor accept MPTCP\n"
    "  --no-offload   one MTU-sized packet per TUN read/write, full checksums\n"
    "                 (default: virtio-net header, TSO/GRO, checksum offload)\n"
    "  --cc NAME      congestion control: cubic (default), newreno, lia, olia\n"
    "  --cc-coupled NAME  for subflows of a connection sharing a server:\n"
    "                 lia (default), olia, or none (--cc everywhere)\n"
    "  --send-timeout SECS  abort (MP_FASTCLOSE) a connection whose peer\n"
    "                 acknowledges nothing for SECS while data waits (default 60,\n"
    "                 0: never); a player that stopped reading for good\n"
    "  --ctl-group GROUP  members of GROUP may use the control socket too\n"
    "                 (default: its owner only, mode 0600)\n"
    "  -v, --verbose  log connection events to stderr (twice: more)\n"
    "  -h, --help     this text\n"
    "  --version      print the version\n"
    "The control socket defaults to $MPS_CTL, else /run/mpsd.sock.\n";

const char *mps_opts_usage(void)
{
	return opts_usage_text;
}

__attribute__((format(printf, 3, 4))) static int opts_fail(char *err, size_t errlen,
							   const char *fmt, ...)
{
	va_list ap;
	int n;

	n = snprintf(err, errlen, "mpsd: ");
	if (n < 0 || (size_t)n >= errlen)
		return MPS_EXIT_USAGE;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	return MPS_EXIT_USAGE;
}

static int opts_flag_roles(int id)
{
	switch (id) {
	case OPT_CONNECT:
	case OPT_JOIN:
	case OPT_GROUP:
	case OPT_SCHED:
		return OPTS_CLIENT;
	case OPT_SERVE:
	case OPT_BACKEND:
	case OPT_GROUP_KEY:
	case OPT_ANNOUNCE:
		return OPTS_SERVER;
	default:
		return OPTS_BOTH;
	}
}

static const char *opts_flag_name(int id)
{
	size_t i;

	for (i = 0; opts_long[i].name != NULL; i++)
		if (opts_long[i].val == id)
			return opts_long[i].name;
	return "?";
}

/* Parse an address; with_port: a port is required, else forbidden.
 * "localhost" is accepted for local kernel sockets (allow_localhost). */
static int opts_addr(mps_addr *out, const char *text, bool with_port, bool allow_localhost, int id,
		     char *err, size_t errlen)
{
	char buf[80];

	if (allow_localhost && strncmp(text, "localhost:", 10) == 0) {
		snprintf(buf, sizeof(buf), "127.0.0.1:%s", text + 10);
		text = buf;
	}
	if (mps_addr_parse(out, text) != 0 || (with_port && out->port == 0) ||
	    (!with_port && out->port != 0)) {
		if (with_port)
			return opts_fail(err, errlen,
					 "bad address for --%s: '%s' (want ADDR:PORT or "
					 "[IPV6]:PORT)",
					 opts_flag_name(id), text);
		return opts_fail(err, errlen,
				 "bad address for --%s: '%s' (want an IPv4 or IPv6 address, "
				 "no port)",
				 opts_flag_name(id), text);
	}
	return 0;
}

static int opts_add_addr(mps_addr *list, size_t *n, const char *text, bool with_port, int id,
			 char *err, size_t errlen)
{
	int rc;

	if (*n == MPS_OPTS_MAX_ADDRS)
		return opts_fail(err, errlen, "too many --%s (at most %d)", opts_flag_name(id),
				 MPS_OPTS_MAX_ADDRS);
	rc = opts_addr(&list[*n], text, with_port, false, id, err, errlen);
	if (rc == 0)
		(*n)++;
	return rc;
}

static int opts_once(const void *already, int id, char *err, size_t errlen)
{
	if (already)
		return opts_fail(err, errlen, "--%s given twice", opts_flag_name(id));
	return 0;
}

static bool opts_has_family(const struct mps_opts *o, const mps_addr *a)
{
	size_t i;

	for (i = 0; i < o->naddrs; i++)
		if (o->addrs[i].family == a->family)
			return true;
	return false;
}

/* Required flags and consistency, once everything is read. */
static int opts_check_role(struct mps_opts *o, char *err, size_t errlen)
{
	char a[MPS_ADDR_STRLEN];
	size_t i;
	bool owned = false;

	if (o->tun == NULL)
		return opts_fail(err, errlen, "missing --tun NAME");
	if (o->naddrs == 0)
		return opts_fail(err, errlen, "missing --addr ADDR");
	if (o->listen.family == 0)
		return opts_fail(err, errlen, "missing --listen %s",
				 o->role == MPS_ROLE_SERVER ? "ADDR:PORT" : "HOST:PORT");
	if (o->role == MPS_ROLE_SERVER) {
		if (o->serve == NULL && o->backend.family == 0)
			return opts_fail(err, errlen, "missing --serve DIR or --backend HOST:PORT");
		if (o->serve != NULL && o->backend.family != 0)
			return opts_fail(err, errlen, "--serve and --backend exclude each other");
		for (i = 0; i < o->naddrs; i++)
			owned |= mps_addr_ip_eq(&o->addrs[i], &o->listen);
		if (!owned)
			return opts_fail(err, errlen,
					 "--listen %s is not one of the --addr addresses",
					 mps_addr_format(&o->listen, a));
		return 0;
	}
	if (o->connect.family == 0)
		return opts_fail(err, errlen, "missing --connect ADDR:PORT");
	if (!opts_has_family(o, &o->connect))
		return opts_fail(err, errlen, "no --addr of the address family of --connect %s",
				 mps_addr_format(&o->connect, a));
	for (i = 0; i < o->njoins; i++)
		if (!opts_has_family(o, &o->joins[i]))
			return opts_fail(err, errlen,
					 "no --addr of the address family of --join %s",
					 mps_addr_format(&o->joins[i], a));
	return 0;
}

static int opts_send_timeout(struct mps_opts *o, const char *text, char *err, size_t errlen)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end == text || *end != '\0' || !(v >= 0 && v <= 86400))
		return opts_fail(err, errlen, "bad --send-timeout '%s' (seconds, 0..86400)", text);
	o->send_timeout_ms = (uint32_t)(v * 1000 + 0.5);
	o->has_send_timeout = true;
	return 0;
}

static int opts_mtu(struct mps_opts *o, const char *text, char *err, size_t errlen)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(text, &end, 10);
	if (errno != 0 || end == text || *end != '\0' || text[0] == '-' || v < 576 || v > 65535)
		return opts_fail(err, errlen, "bad --mtu '%s' (want 576..65535)", text);
	o->mtu = (unsigned)v;
	return 0;
}

/* One option of the getopt loop. */
static int opts_one(struct mps_opts *o, int id, const char *arg, char *err, size_t errlen)
{
	int rc = 0;

	switch (id) {
	case OPT_TUN:
		rc = opts_once(o->tun, id, err, errlen);
		if (rc == 0 && (arg[0] == '\0' || strlen(arg) >= 16 || strchr(arg, '/') != NULL))
			rc = opts_fail(err, errlen,
				       "bad --tun name '%s' (1..15 characters, no '/')", arg);
		o->tun = arg;
		break;
	case OPT_ADDR:
		rc = opts_add_addr(o->addrs, &o->naddrs, arg, false, id, err, errlen);
		break;
	case OPT_LISTEN:
		rc = opts_once(o->listen.family ? o : NULL, id, err, errlen);
		if (rc == 0)
			rc = opts_addr(&o->listen, arg, true, o->role == MPS_ROLE_CLIENT, id, err,
				       errlen);
		break;
	case OPT_CONNECT:
		rc = opts_once(o->connect.family ? o : NULL, id, err, errlen);
		if (rc == 0)
			rc = opts_addr(&o->connect, arg, true, false, id, err, errlen);
		break;
	case OPT_JOIN:
		rc = opts_add_addr(o->joins, &o->njoins, arg, true, id, err, errlen);
		break;
	case OPT_SERVE:
		rc = opts_once(o->serve, id, err, errlen);
		o->serve = arg;
		break;
	case OPT_BACKEND:
		rc = opts_once(o->backend.family ? o : NULL, id, err, errlen);
		if (rc == 0)
			rc = opts_addr(&o->backend, arg, true, true, id, err, errlen);
		break;
	case OPT_GROUP_KEY:
		rc = opts_once(o->group_key_file, id, err, errlen);
		o->group_key_file = arg;
		break;
	case OPT_ANNOUNCE:
		rc = opts_add_addr(o->announce, &o->nannounce, arg, true, id, err, errlen);
		break;
	case OPT_CTL:
		rc = opts_once(o->ctl, id, err, errlen);
		if (rc == 0 && arg[0] == '\0')
			rc = opts_fail(err, errlen, "empty --ctl path");
		o->ctl = arg;
		break;
	case OPT_MTU:
		rc = opts_mtu(o, arg, err, errlen);
		break;
	case OPT_CTL_GROUP:
		rc = opts_once(o->ctl_gid >= 0 ? o : NULL, id, err, errlen);
		if (rc == 0) {
			const struct group *gr = getgrnam(arg);
			char *end;
			unsigned long v = strtoul(arg, &end, 10);
			if (gr != NULL)
				o->ctl_gid = (long)gr->gr_gid;
			else if (arg[0] != '\0' && *end == '\0' && v < 0x7fffffffUL)
				o->ctl_gid = (long)v; /* a numeric gid */
			else
				rc = opts_fail(err, errlen, "unknown --ctl-group '%s'", arg);
		}
		break;
	case OPT_SEND_TIMEOUT:
		rc = opts_once(o->has_send_timeout ? o : NULL, id, err, errlen);
		if (rc == 0)
			rc = opts_send_timeout(o, arg, err, errlen);
		break;
	case OPT_NO_MPTCP:
		o->no_mptcp = true;
		break;
	case OPT_NO_OFFLOAD:
		o->no_offload = true;
		break;
	case OPT_CC:
		rc = opts_once(o->cc, id, err, errlen);
		if (rc == 0 && !mps_cc_valid(arg, false))
			rc = opts_fail(err, errlen, "bad --cc '%s' (cubic, newreno, lia or olia)", arg);
		o->cc = arg;
		break;
	case OPT_CC_COUPLED:
		rc = opts_once(o->cc_coupled, id, err, errlen);
		if (rc == 0 && !mps_cc_valid(arg, true))
			rc = opts_fail(err, errlen, "bad --cc-coupled '%s' (lia, olia or none)", arg);
		o->cc_coupled = arg;
		break;
	case OPT_GROUP:
		o->group = true;
		break;
	case OPT_SCHED:
		if (strcmp(arg, "split") == 0)
			o->sched = 0;
		else if (strcmp(arg, "redundant") == 0)
			o->sched = 1;
		else if (strcmp(arg, "deadline") == 0)
			o->sched = 2;
		else
			rc = opts_fail(err, errlen, "bad --sched '%s' (split, redundant or deadline)", arg);
		break;
	case 'v':
		o->verbose++;
		break;
	case 'h':
		o->help = true;
		break;
	case OPT_VERSION:
		o->version = true;
		break;
	}
	return rc;
}

static int opts_parse(struct mps_opts *o, int argc, char **argv, char *err, size_t errlen)
{
	const char *cmd;
	int c, rc, mask, idx;

	memset(o, 0, sizeof(*o));
	o->ctl_gid = -1;
	err[0] = '\0';
	if (argc < 2)
		return opts_fail(err, errlen,
				 "missing command (keygen, server or client); see mpsd --help");
	cmd = argv[1];
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		o->help = true;
		return MPS_EXIT_OK;
	}
	if (strcmp(cmd, "--version") == 0) {
		o->version = true;
		return MPS_EXIT_OK;
	}
	if (strcmp(cmd, "keygen") == 0)
		o->role = MPS_ROLE_KEYGEN;
	else if (strcmp(cmd, "server") == 0)
		o->role = MPS_ROLE_SERVER;
	else if (strcmp(cmd, "client") == 0)
		o->role = MPS_ROLE_CLIENT;
	else if (cmd[0] == '-')
		return opts_fail(err, errlen, "missing command before '%s'; see mpsd --help", cmd);
	else
		return opts_fail(err, errlen, "unknown command '%s'; see mpsd --help", cmd);

	mask = o->role == MPS_ROLE_SERVER ? OPTS_SERVER : OPTS_CLIENT;
	/* argv+1: getopt takes "server" for the program name.  optind = 0
	 * makes glibc start afresh (the tests parse many command lines). */
	optind = 0;
	opterr = 0;
	while ((c = getopt_long(argc - 1, argv + 1, "+:vh", opts_long, &idx)) != -1) {
		const char *what = argv[optind]; /* the word just read (argv is shifted) */

		if (c == '?') {
			if (optopt != 0 && optopt < 0x100)
				return opts_fail(err, errlen,
						 "unknown option '-%c'; see mpsd --help", optopt);
			return opts_fail(err, errlen, "unknown option '%s'; see mpsd --help", what);
		}
		if (c == ':')
			return opts_fail(err, errlen, "option '%s' needs an argument", what);
		if (o->role == MPS_ROLE_KEYGEN && c != 'h' && c != OPT_VERSION)
			return opts_fail(err, errlen, "keygen takes no options");
		if ((opts_flag_roles(c) & mask) == 0)
			return opts_fail(err, errlen, "--%s is not an option of 'mpsd %s'",
					 opts_flag_name(c), cmd);
		rc = opts_one(o, c, optarg, err, errlen);
		if (rc != 0)
			return rc;
	}
	if (optind < argc - 1)
		return opts_fail(err, errlen, "unexpected argument '%s'", argv[optind + 1]);
	if (o->help || o->version || o->role == MPS_ROLE_KEYGEN)
		return MPS_EXIT_OK;
	rc = opts_check_role(o, err, errlen);
	if (rc != 0)
		return rc;
	if (o->group_key_file != NULL) {
		uint8_t keys[2][MPS_GROUP_KEY_BYTES];
		size_t nkeys;
		rc = mps_opts_load_group_key(o->group_key_file, keys, &nkeys, err, errlen);
		if (rc == 0) {
			memcpy(o->group_key, keys[0], MPS_GROUP_KEY_BYTES);
			o->has_group_key = true;
			if (nkeys == 2) {
				memcpy(o->group_key_prev, keys[1], MPS_GROUP_KEY_BYTES);
				o->has_group_key_prev = true;
			}
		}
		sodium_memzero(keys, sizeof(keys));
		if (rc != 0)
			return rc;
	}
	return MPS_EXIT_OK;
}

/* A message that quotes what the user typed stays one line: control
 * characters (a newline in an argument or a file name) become '?'. */
static void opts_oneline(char *err)
{
	for (; *err != '\0'; err++)
		if ((unsigned char)*err < 0x20 || *err == 0x7f)
			*err = '?';
}

int mps_opts_parse(struct mps_opts *o, int argc, char **argv, char *err, size_t errlen)
{
	int rc = opts_parse(o, argc, argv, err, errlen);

	if (rc != MPS_EXIT_OK)
		opts_oneline(err);
	return rc;
}

int mps_opts_parse_group_keys(const char *text, size_t len, uint8_t keys[2][MPS_GROUP_KEY_BYTES],
			      size_t *nkeys)
{
	size_t pos = 0, n = 0;
	int rc = 0;

	while (pos < len && rc == 0) {
		size_t a = pos, b, binlen = 0;
		while (pos < len && text[pos] != '\n')
			pos++;
		b = pos++;
		while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r'))
			a++;
		while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r'))
			b--;
		if (a == b || text[a] == '#')
			continue;
		if (n == 2) {
			rc = MPS_ERR_INVAL;
			break;
		}
		if (sodium_base642bin(keys[n], MPS_GROUP_KEY_BYTES, text + a, b - a, NULL, &binlen, NULL,
				      sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    binlen != MPS_GROUP_KEY_BYTES)
			rc = MPS_ERR_MALFORMED;
		else
			n++;
	}
	if (rc == 0 && n == 0)
		rc = MPS_ERR_INVAL;
	if (rc != 0) {
		sodium_memzero(keys, 2 * MPS_GROUP_KEY_BYTES);
		n = 0;
	}
	*nkeys = n;
	return rc;
}

int mps_opts_load_group_key(const char *path, uint8_t keys[2][MPS_GROUP_KEY_BYTES], size_t *nkeys,
			    char *err, size_t errlen)
{
	char buf[512];
	struct stat st;
	ssize_t n;
	int fd, rc = MPS_EXIT_RUNTIME;

	*nkeys = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		snprintf(err, errlen, "mpsd: cannot open group key file %s: %s", path,
			 strerror(errno));
		opts_oneline(err);
		return MPS_EXIT_RUNTIME;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "mpsd: group key file %s is not a regular file", path);
		goto out;
	}
	if (st.st_mode & (S_IRGRP | S_IROTH)) {
		snprintf(err, errlen,
			 "mpsd: group key file %s is readable by others (mode %04o); chmod 600 it",
			 path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	n = read(fd, buf, sizeof(buf));
	if (n < 0) {
		snprintf(err, errlen, "mpsd: cannot read group key file %s: %s", path,
			 strerror(errno));
		goto out;
	}
	if ((size_t)n == sizeof(buf)) {
		snprintf(err, errlen, "mpsd: group key file %s is too long for two keys", path);
		goto out;
	}
	switch (mps_opts_parse_group_keys(buf, (size_t)n, keys, nkeys)) {
	case 0:
		rc = 0;
		break;
	case MPS_ERR_INVAL:
		snprintf(err, errlen,
			 "mpsd: group key file %s must hold one key, or two while rotating "
			 "(the current one first)",
			 path);
		break;
	default:
		snprintf(err, errlen,
			 "mpsd: group key file %s does not hold base64 keys of %d bytes, one per "
			 "line (make one with 'mpsd keygen')",
			 path, MPS_GROUP_KEY_BYTES);
		break;
	}
out:
	if (rc != 0) {
		sodium_memzero(keys, 2 * MPS_GROUP_KEY_BYTES);
		opts_oneline(err);
	}
	sodium_memzero(buf, sizeof(buf));
	close(fd);
	return rc;
}
