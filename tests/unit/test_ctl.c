/*
 * test_ctl.c - control socket helpers, the JSON writer and status output
 * (apps/ctl.c).
 */
#include "unit.h"
#include "ctl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void test_ctl_text_grows_and_stays_terminated(void)
{
	mps_text t;
	size_t i;

	mps_text_init(&t);
	for (i = 0; i < 1000; i++)
		mps_text_printf(&t, "%03zu,", i);
	CU_ASSERT_EQUAL(t.len, 4000);
	CU_ASSERT_EQUAL(strlen(t.buf), 4000);
	CU_ASSERT_NSTRING_EQUAL(t.buf + 3996, "999,", 4);
	CU_ASSERT_FALSE(t.oom);
	mps_text_free(&t);
	CU_ASSERT_PTR_NULL(t.buf);
}

static void test_ctl_json_nesting_and_commas(void)
{
	mps_text t;
	mps_json j;

	mps_text_init(&t);
	mps_json_init(&j, &t);
	mps_json_begin_object(&j, NULL);
	mps_json_u64(&j, "a", 1);
	mps_json_begin_array(&j, "b");
	mps_json_bool(&j, NULL, true);
	mps_json_string(&j, NULL, NULL);
	mps_json_begin_object(&j, NULL);
	mps_json_end_object(&j);
	mps_json_begin_array(&j, NULL);
	mps_json_end_array(&j);
	mps_json_end_array(&j);
	mps_json_u64(&j, "c", UINT64_MAX);
	mps_json_bool(&j, "d", false);
	mps_json_end_object(&j);
	CU_ASSERT_STRING_EQUAL(
	    t.buf, "{\"a\":1,\"b\":[true,null,{},[]],\"c\":18446744073709551615,\"d\":false}");
	mps_text_free(&t);
}

static void test_ctl_json_escapes_strings(void)
{
	mps_text t;
	mps_json j;

	mps_text_init(&t);
	mps_json_init(&j, &t);
	mps_json_begin_object(&j, NULL);
	mps_json_string(&j, "k\"ey", "q\" b\\ n\n t\t c\x01 x\x7f h\xc3\xa9");
	mps_json_end_object(&j);
	CU_ASSERT_STRING_EQUAL(t.buf, "{\"k\\\"ey\":\"q\\\" b\\\\ n\\n t\\t c\\u0001 x\x7f "
				      "h\\u00c3\\u00a9\"}");
	mps_text_free(&t);
}

static void test_ctl_parse_request_accepts_status_forms(void)
{
	CU_ASSERT_EQUAL(mps_ctl_parse_request("status", 6), MPS_CTL_STATUS);
	CU_ASSERT_EQUAL(mps_ctl_parse_request("status\n", 7), MPS_CTL_STATUS);
	CU_ASSERT_EQUAL(mps_ctl_parse_request("  status \r\n", 11), MPS_CTL_STATUS);
	CU_ASSERT_EQUAL(mps_ctl_parse_request("status json\n", 12), MPS_CTL_STATUS_JSON);
	CU_ASSERT_EQUAL(mps_ctl_parse_request("status\tjson", 11), MPS_CTL_STATUS_JSON);
}

static void test_ctl_parse_request_rejects_others(void)
{
	static const char *bad[] = {"",
				    "\n",
				    "stat",
				    "status xml",
				    "status json x",
				    "STATUS",
				    "status json json",
				    "statusjson",
				    "averyveryverylongwordthatdoesnotfit"};
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CU_ASSERT_EQUAL(mps_ctl_parse_request(bad[i], strlen(bad[i])), MPS_ERR_INVAL);
}

/* One client connection with two subflows, one of which has odd bytes in
 * its state name to exercise escaping. */
static void ctl_fixture(mps_ctl_status *st, mps_ctl_conn *c, mps_subflow_info sf[2])
{
	memset(st, 0, sizeof(*st));
	memset(c, 0, sizeof(*c));
	memset(sf, 0, 2 * sizeof(sf[0]));
	st->version = "0.1.0";
	st->role = "client";
	st->tun = "mps0";
	st->uptime_ns = 12345678901ull;
	st->tun_drops = 3;
	st->stats.pkts_in = 10;
	st->stats.pkts_out = 11;
	st->stats.conns_opened = 1;
	mps_addr_parse(&c->info.local, "10.77.0.2:40000");
	mps_addr_parse(&c->info.remote, "10.88.1.1:80");
	c->info.state = "ESTABLISHED";
	c->info.mptcp = true;
	c->info.local_token = 0xcc960a2b;
	c->info.remote_token = 0xbe7b732c;
	c->info.bytes_sent = 100;
	c->info.bytes_received = 5000;
	c->info.nsubflows = 2;
	c->app = "player";
	c->has_relay = true;
	c->relay_up = 85;
	c->relay_down = 4000;
	c->send_space = 65536;
	mps_addr_parse(&sf[0].local, "10.77.0.2:40000");
	mps_addr_parse(&sf[0].remote, "10.88.1.1:80");
	sf[0].state = "ESTABLISHED";
	sf[0].is_initial = true;
	sf[0].srtt_us = 1234;
	sf[0].rttvar_us = 500;
	sf[0].cwnd = 14480;
	sf[0].mss = 1448;
	mps_addr_parse(&sf[1].local, "[fd00::2]:40001");
	mps_addr_parse(&sf[1].remote, "[fd00::1]:80");
	sf[1].state = "SYN\"SENT\x01";
	sf[1].local_id = 1;
	sf[1].remote_id = 2;
	sf[1].backup = true;
	c->sf = sf;
	c->nsf = 2;
	st->conns = c;
	st->nconns = 1;
}

static void test_ctl_status_text_lists_connections_and_subflows(void)
{
	mps_ctl_status st;
	mps_ctl_conn c;
	mps_subflow_info sf[2];
	mps_text t;

	ctl_fixture(&st, &c, sf);
	mps_text_init(&t);
	mps_ctl_format_status(&t, &st, false);
	CU_ASSERT_STRING_EQUAL(
	    t.buf,
	    "mpsd 0.1.0, client, tun mps0, up 12.345 s\n"
	    "packets in 10 out 11, bytes in 0 out 0, tun drops 3\n"
	    "dropped: malformed 0 checksum 0 no-conn 0 other 0; bad options 0\n"
	    "connections opened 1 accepted 0 closed 0 fallbacks 0; joins accepted 0 refused 0\n"
	    "rst sent 0 received 0; retransmits 0 rto 0 reinjected 0 bytes\n"
	    "group joins accepted 0 refused 0; replicas dropped for differing bytes 0; send timeouts 0\n"
	    "1 connection\n"
	    "conn 0: 10.77.0.2:40000 -> 10.88.1.1:80 ESTABLISHED mptcp client player\n"
	    "  token local cc960a2b remote be7b732c\n"
	    "  relay up 85 down 4000 bytes, send space 65536\n"
	    "  bytes sent 100 acked 0 received 5000 delivered 0; data_ack sent 0 received 0\n"
	    "  2 subflows\n"
	    "  subflow 10.77.0.2:40000 -> 10.88.1.1:80 ESTABLISHED id 0/0 initial\n"
	    "    srtt 1.234 ms rttvar 0.500 ms cwnd 14480 ssthresh 0 mss 1448\n"
	    "    bytes sent 0 retrans 0 acked 0 received 0; rto 0\n"
	    "  subflow [fd00::2]:40001 -> [fd00::1]:80 SYN\"SENT\x01 id 1/2 backup\n"
	    "    srtt 0.000 ms rttvar 0.000 ms cwnd 0 ssthresh 0 mss 0\n"
	    "    bytes sent 0 retrans 0 acked 0 received 0; rto 0\n");
	mps_text_free(&t);
}

/* Run python3 -m json.tool on text; returns its exit status, or -1 when
 * python3 is not there (the check is then skipped). */
static int ctl_json_tool(const char *text)
{
	FILE *p;
	int rc;

	if (system("python3 -c '' >/dev/null 2>&1") != 0)
		return -1;
	p = popen("python3 -m json.tool >/dev/null 2>&1", "w");
	if (p == NULL)
		return -1;
	fputs(text, p);
	rc = pclose(p);
	return WIFEXITED(rc) ? WEXITSTATUS(rc) : 128;
}

static void test_ctl_status_json_is_valid_json(void)
{
	mps_ctl_status st;
	mps_ctl_conn c;
	mps_subflow_info sf[2];
	mps_text t;
	int rc;

	ctl_fixture(&st, &c, sf);
	mps_text_init(&t);
	mps_ctl_format_status(&t, &st, true);
	CU_ASSERT_PTR_NOT_NULL(strstr(t.buf, "\"local_token\":3432385067,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t.buf, "\"state\":\"SYN\\\"SENT\\u0001\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(t.buf, "\"remote\":\"[fd00::1]:80\""));
	CU_ASSERT_PTR_NOT_NULL(strstr(t.buf, "\"uptime_ms\":12345,"));
	CU_ASSERT_PTR_NOT_NULL(strstr(t.buf, "\"relay_down\":4000,\"send_space\":65536,"));
	CU_ASSERT_EQUAL(t.buf[t.len - 1], '\n');
	rc = ctl_json_tool(t.buf);
	if (rc >= 0)
		CU_ASSERT_EQUAL(rc, 0);
	/* and with no connection at all */
	st.nconns = 0;
	mps_text_free(&t);
	mps_ctl_format_status(&t, &st, true);
	CU_ASSERT_PTR_NOT_NULL(strstr(t.buf, "\"connections\":[]}"));
	rc = ctl_json_tool(t.buf);
	if (rc >= 0)
		CU_ASSERT_EQUAL(rc, 0);
	mps_text_free(&t);
}

static void test_ctl_default_path_follows_env(void)
{
	setenv("MPS_CTL", "/tmp/x.sock", 1);
	CU_ASSERT_STRING_EQUAL(mps_ctl_default_path(), "/tmp/x.sock");
	setenv("MPS_CTL", "", 1);
	CU_ASSERT_STRING_EQUAL(mps_ctl_default_path(), MPS_CTL_DEFAULT_PATH);
	unsetenv("MPS_CTL");
	CU_ASSERT_STRING_EQUAL(mps_ctl_default_path(), MPS_CTL_DEFAULT_PATH);
}

/* A child that answers one request: echoes "got <line>" and closes. */
static pid_t ctl_serve_once(int lfd)
{
	pid_t pid = fork();

	if (pid == 0) {
		char buf[MPS_CTL_MAX_REQUEST];
		char out[MPS_CTL_MAX_REQUEST + 8];
		ssize_t n;
		int c;

		do {
			c = accept(lfd, NULL, NULL);
		} while (c < 0 && errno == EAGAIN && usleep(1000) == 0);
		n = recv(c, buf, sizeof(buf) - 1, 0);
		if (n < 0)
			_exit(1);
		buf[n] = '\0';
		n = snprintf(out, sizeof(out), "got %s", buf);
		if (send(c, out, (size_t)n, 0) != n)
			_exit(1);
		close(c);
		_exit(0);
	}
	return pid;
}

static void test_ctl_query_round_trip(void)
{
	char path[] = "/tmp/mps-ctl-XXXXXX";
	char sock[64];
	mps_text reply;
	int lfd, st;
	pid_t pid;

	CU_ASSERT_FATAL(mkdtemp(path) != NULL);
	snprintf(sock, sizeof(sock), "%s/s", path);
	lfd = mps_ctl_listen(sock, -1);
	CU_ASSERT_FATAL(lfd >= 0);
	pid = ctl_serve_once(lfd);
	mps_text_init(&reply);
	CU_ASSERT_EQUAL(mps_ctl_query(sock, "status json", &reply, 2000), 0);
	CU_ASSERT_STRING_EQUAL(reply.buf, "got status json\n");
	waitpid(pid, &st, 0);
	mps_text_free(&reply);
	close(lfd);
	unlink(sock);
	rmdir(path);
}

static void test_ctl_listen_replaces_stale_but_not_live_socket(void)
{
	char path[] = "/tmp/mps-ctl-XXXXXX";
	char sock[64];
	int a, b;

	CU_ASSERT_FATAL(mkdtemp(path) != NULL);
	snprintf(sock, sizeof(sock), "%s/s", path);
	a = mps_ctl_listen(sock, -1);
	CU_ASSERT_FATAL(a >= 0);
	CU_ASSERT_EQUAL(mps_ctl_listen(sock, -1), -EADDRINUSE);
	close(a); /* the file stays: a dead daemon's socket */
	b = mps_ctl_listen(sock, -1);
	CU_ASSERT(b >= 0);
	close(b);
	unlink(sock);
	rmdir(path);
}

static void test_ctl_socket_is_for_its_owner_or_its_group(void)
{
	char path[] = "/tmp/mps-ctl-XXXXXX";
	char sock[64];
	struct stat st;
	int fd;

	CU_ASSERT_FATAL(mkdtemp(path) != NULL);
	snprintf(sock, sizeof(sock), "%s/s", path);
	fd = mps_ctl_listen(sock, -1);
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(stat(sock, &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0600);
	close(fd);
	unlink(sock);
	fd = mps_ctl_listen(sock, (long)getgid());
	CU_ASSERT_FATAL(fd >= 0);
	CU_ASSERT_FATAL(stat(sock, &st) == 0);
	CU_ASSERT_EQUAL(st.st_mode & 0777, 0660);
	CU_ASSERT_EQUAL(st.st_gid, getgid());
	close(fd);
	unlink(sock);
	rmdir(path);
}

static void test_ctl_listen_refuses_non_socket_file(void)
{
	char path[] = "/tmp/mps-ctl-XXXXXX";
	int fd = mkstemp(path);

	CU_ASSERT_FATAL(fd >= 0);
	close(fd);
	CU_ASSERT_EQUAL(mps_ctl_listen(path, -1), -EEXIST);
	unlink(path);
}

static void test_ctl_query_without_daemon_fails(void)
{
	mps_text reply;
	char longpath[200];

	mps_text_init(&reply);
	CU_ASSERT_EQUAL(mps_ctl_query("/tmp/mps-ctl-does-not-exist", "status", &reply, 100),
			-ENOENT);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	CU_ASSERT_EQUAL(mps_ctl_query(longpath, "status", &reply, 100), -ENAMETOOLONG);
	CU_ASSERT_EQUAL(reply.len, 0);
	mps_text_free(&reply);
}

static CU_TestInfo tests_ctl[] = {
    {"text_grows_and_stays_terminated", test_ctl_text_grows_and_stays_terminated},
    {"json_nesting_and_commas", test_ctl_json_nesting_and_commas},
    {"json_escapes_strings", test_ctl_json_escapes_strings},
    {"parse_request_accepts_status_forms", test_ctl_parse_request_accepts_status_forms},
    {"parse_request_rejects_others", test_ctl_parse_request_rejects_others},
    {"status_text_lists_connections_and_subflows",
     test_ctl_status_text_lists_connections_and_subflows},
    {"status_json_is_valid_json", test_ctl_status_json_is_valid_json},
    {"default_path_follows_env", test_ctl_default_path_follows_env},
    {"query_round_trip", test_ctl_query_round_trip},
    {"listen_replaces_stale_but_not_live_socket",
     test_ctl_listen_replaces_stale_but_not_live_socket},
    {"socket_is_for_its_owner_or_its_group", test_ctl_socket_is_for_its_owner_or_its_group},
    {"listen_refuses_non_socket_file", test_ctl_listen_refuses_non_socket_file},
    {"query_without_daemon_fails", test_ctl_query_without_daemon_fails},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(ctl, tests_ctl)
