/*
 * opts.h - the command line of mpsd (DESIGN.md §4), parsed into a struct.
 *
 *   mpsd keygen
 *   mpsd server --tun NAME --addr ADDR [--addr ADDR]... --listen ADDR:PORT
 *               (--serve DIR | --backend HOST:PORT)
 *               [--group-key FILE] [--announce ADDR:PORT]... [--ctl PATH]
 *   mpsd client --tun NAME --addr ADDR [--addr ADDR]... --connect ADDR:PORT
 *               [--join ADDR:PORT]... --listen HOST:PORT [--ctl PATH]
 *               [--group] [--sched split|redundant|deadline]
 *   common:     [--mtu N] [--no-mptcp] [--no-offload] [--cc NAME] [--cc-coupled NAME]
 *               [--send-timeout SECS] [--ctl-group GROUP]
 *               [-v|--verbose]... [-h|--help] [--version]
 *
 * Parsing does no I/O except reading the group key file (mode and content
 * are checked here, so a bad key fails before any device is created) and
 * looking up the --ctl-group name (getgrnam).
 */
#ifndef MPS_OPTS_H
#define MPS_OPTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define MPS_OPTS_MAX_ADDRS 16
#define MPS_GROUP_KEY_BYTES 32
#define MPS_OPTS_ERRLEN 256
#define MPS_SEND_TIMEOUT_DEFAULT_MS 60000 /* as nginx's send_timeout */

enum mps_role {
	MPS_ROLE_NONE,
	MPS_ROLE_KEYGEN,
	MPS_ROLE_SERVER,
	MPS_ROLE_CLIENT,
};

struct mps_opts {
	enum mps_role role;
	bool help, version;
	int verbose;
	const char *tun;
	mps_addr addrs[MPS_OPTS_MAX_ADDRS]; /* owned by the stack; no port */
	size_t naddrs;
	mps_addr listen;  /* server: stack address; client: local kernel socket */
	mps_addr connect; /* client */
	mps_addr joins[MPS_OPTS_MAX_ADDRS];
	size_t njoins;
	const char *serve; /* server: directory, or NULL */
	mps_addr backend;  /* server: family 0 when --serve */
	const char *group_key_file;
	bool has_group_key;
	uint8_t group_key[MPS_GROUP_KEY_BYTES];      /* the file's first key: current */
	bool has_group_key_prev;
	uint8_t group_key_prev[MPS_GROUP_KEY_BYTES]; /* its second, if any: previous */
	mps_addr announce[MPS_OPTS_MAX_ADDRS];
	size_t nannounce;
	const char *ctl; /* NULL: mps_ctl_default_path() */
	long ctl_gid;	 /* --ctl-group: the group that may use it too; -1: none */
	unsigned mtu;	 /* 0: the stack's default (1500) */
	bool no_mptcp;
	bool no_offload; /* --no-offload: plain TUN reads/writes */
	const char *cc;	 /* --cc: mps_config.cc (NULL: the stack's default, cubic) */
	const char *cc_coupled; /* --cc-coupled: mps_config.cc_coupled (NULL: lia) */
	uint32_t send_timeout_ms; /* --send-timeout: mps_config.send_timeout */
	bool has_send_timeout;    /* given (else MPS_SEND_TIMEOUT_DEFAULT_MS) */
	bool group;	 /* client: ask for group service (--group) */
	int sched;	 /* client: enum mps_sched_mode (split by default) */
};

/* Exit statuses of mpsd. */
#define MPS_EXIT_OK 0
#define MPS_EXIT_RUNTIME 1 /* cannot create TUN, listen, read a file, ... */
#define MPS_EXIT_USAGE 2   /* bad flag, missing argument, bad address */

/*
 * mps_opts_parse fills o from argv (argv[0] is the program).  On error, err
 * gets one line without a newline, starting with "mpsd: ".
 *
 * Returns MPS_EXIT_OK (o is complete; o->help or o->version may be set and
 * then nothing else is checked), MPS_EXIT_USAGE (bad flag, missing or extra
 * argument, bad address, bad number, flag not valid for the role), or
 * MPS_EXIT_RUNTIME (group key file unreadable, readable by others, or not
 * base64 of 32 bytes).
 */
int mps_opts_parse(struct mps_opts *o, int argc, char **argv, char *err, size_t errlen);

/*
 * mps_opts_load_group_key reads a group key file: the mode must give no
 * read permission to group or others, the content is what
 * mps_opts_parse_group_keys takes.  keys[0] gets the current key, keys[1]
 * the previous one when the file holds two (*nkeys says how many).
 *
 * Returns 0, or MPS_EXIT_RUNTIME with err filled ("mpsd: group key file X
 * is readable by others (mode 0644); chmod 600 it", ...).  The buffer is
 * wiped on every path, and keys on failure.
 */
int mps_opts_load_group_key(const char *path, uint8_t keys[2][MPS_GROUP_KEY_BYTES], size_t *nkeys,
			    char *err, size_t errlen);

/*
 * mps_opts_parse_group_keys reads the text of a group key file: one key per
 * line, base64 of MPS_GROUP_KEY_BYTES bytes (what mpsd keygen prints);
 * blanks around a key, blank lines and lines starting with '#' are
 * ignored.  One key (the current one) or two (the current one, then the
 * previous one, while a rotation is under way: doc/protocol.md "Group key
 * rotation").  No I/O.
 *
 * Returns 0 with *nkeys set, MPS_ERR_MALFORMED (a line that is not a key),
 * MPS_ERR_INVAL (no key, or more than two).  keys are wiped on failure.
 */
int mps_opts_parse_group_keys(const char *text, size_t len, uint8_t keys[2][MPS_GROUP_KEY_BYTES],
			      size_t *nkeys);

/* The usage text for --help. */
const char *mps_opts_usage(void);

#endif
