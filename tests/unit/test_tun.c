/*
 * test_tun.c - the TUN device's virtio-net header against the real kernel.
 *
 * Each case runs in a child process that first moves into a network
 * namespace of its own (unshare(CLONE_NEWNET)), so nothing on the host
 * changes.  Two TUN devices: a super-segment written into tun A, addressed
 * to a prefix routed into tun B, is forwarded by the kernel and read from
 * B, either whole (B accepts TSO reads) or cut into MSS-sized segments with
 * full checksums (B does not).  Needs root (CAP_NET_ADMIN) and
 * /dev/net/tun: without them the cases say so and pass vacuously only for
 * that reason, which the log shows.
 */
#include "unit.h"

#include "pkt.h"
#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define TUN_PAY 20000u
#define TUN_MSS 1000u

static bool tun_usable(void)
{
	return geteuid() == 0 && access("/dev/net/tun", R_OK | W_OK) == 0;
}

static int tun_sysctl(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, v, strlen(v));
	close(fd);
	return n < 0 ? -errno : 0;
}

static int tun_up(const char *name, unsigned flags, char out[IFNAMSIZ])
{
	int fd = mps_tun_open(name, flags, out);

	if (fd < 0)
		return fd;
	if (mps_tun_set_mtu(out, 1500) < 0 || mps_tun_up(out) < 0) {
		close(fd);
		return -EIO;
	}
	return fd;
}

/* One TCP super-segment 10.99.0.1:1000 -> 10.98.0.2:2000, partial checksum. */
static int tun_super_segment(uint8_t *buf, size_t cap, uint8_t *pay)
{
	static const uint8_t src[4] = {10, 99, 0, 1}, dst[4] = {10, 98, 0, 2};
	mps_addr a, b;
	mps_iov iov = {pay, TUN_PAY};
	mps_tcp_out o = {.src = &a, .dst = &b, .seq = 1000, .ack = 1,
			 .flags = MPS_TH_ACK | MPS_TH_PSH, .window = 1000, .payload = &iov, .niov = 1};
	size_t i;

	for (i = 0; i < TUN_PAY; i++)
		pay[i] = (uint8_t)(i * 13 + i / 7);
	mps_addr_set_v4(&a, src, 1000);
	mps_addr_set_v4(&b, dst, 2000);
	return mps_pkt_build_tcp(buf, cap, &o, MPS_PKT_PARTIAL_CSUM);
}

/* The child: returns 0 when every check held, else the failed check's line. */
static int tun_child(bool b_tso)
{
	static uint8_t pkt[70000], got[70000], pay[TUN_PAY];
	char na[IFNAMSIZ], nb[IFNAMSIZ];
	mps_tun_vnet vh = {TUN_MSS, true, false}, rv;
	struct pollfd pfd;
	mps_addr net;
	static const uint8_t ip[4] = {10, 98, 0, 0};
	size_t seen = 0, pieces = 0;
	int fa, fb, n;

	if (unshare(CLONE_NEWNET) < 0)
		return __LINE__;
	if (tun_sysctl("/proc/sys/net/ipv4/ip_forward", "1") < 0)
		return __LINE__;
	fa = tun_up("mpsta", MPS_TUN_VNET_HDR, na);
	fb = tun_up("mpstb", MPS_TUN_VNET_HDR, nb);
	if (fa < 0 || fb < 0)
		return __LINE__;
	if (mps_tun_set_offload(fb, b_tso ? MPS_TUN_OFF_CSUM | MPS_TUN_OFF_TSO : 0) < 0)
		return __LINE__;
	if (mps_tun_set_offload(fb, MPS_TUN_OFF_TSO) != -EINVAL) /* TSO needs CSUM */
		return __LINE__;
	/* 10.99.0.1 must look reachable through A (reverse path), 10.98/24 through B */
	mps_addr_set_v4(&net, ip, 0);
	if (mps_tun_add_route(nb, &net, 24) < 0)
		return __LINE__;
	net.ip[1] = 99;
	if (mps_tun_add_route(na, &net, 24) < 0)
		return __LINE__;
	tun_sysctl("/proc/sys/net/ipv4/conf/all/rp_filter", "0");
	tun_sysctl("/proc/sys/net/ipv4/conf/mpsta/rp_filter", "0");
	n = tun_super_segment(pkt, sizeof(pkt), pay);
	if (n <= 0)
		return __LINE__;
	if (mps_tun_write_vnet(fa, pkt, (size_t)n, &vh) != n)
		return __LINE__;
	/* a super-segment without a partial checksum is refused */
	vh.csum_partial = false;
	if (mps_tun_write_vnet(fa, pkt, (size_t)n, &vh) != -EINVAL)
		return __LINE__;
	while (seen < TUN_PAY) {
		mps_pkt p;
		ssize_t r;

		pfd.fd = fb;
		pfd.events = POLLIN;
		if (poll(&pfd, 1, 2000) <= 0)
			return __LINE__;
		r = mps_tun_read_vnet(fb, got, sizeof(got), &rv);
		if (r == -EAGAIN)
			continue;
		if (r <= 0)
			return __LINE__;
		if (mps_pkt_parse(&p, got, (size_t)r,
				  rv.csum_partial || rv.csum_valid ? MPS_PKT_NO_CSUM_CHECK : 0) != 0)
			continue; /* not ours (an IPv6 router solicitation, say) */
		if (p.proto != MPS_IPPROTO_TCP || p.dst.port != 2000)
			continue;
		if (p.seq != 1000 + seen || memcmp(p.payload, pay + seen, p.paylen) != 0)
			return __LINE__;
		if (b_tso && (rv.gso_size != TUN_MSS || p.paylen != TUN_PAY))
			return __LINE__; /* handed to us whole */
		if (!b_tso && (rv.gso_size != 0 || p.paylen > TUN_MSS))
			return __LINE__; /* cut, each piece checked above */
		seen += p.paylen;
		pieces++;
	}
	if (pieces != (b_tso ? 1u : (TUN_PAY + TUN_MSS - 1) / TUN_MSS))
		return __LINE__;
	close(fa);
	close(fb);
	return 0;
}

static void tun_run(bool b_tso)
{
	pid_t pid;
	int st;

	if (!tun_usable()) {
		fprintf(stderr, "(test_tun: not root or no /dev/net/tun: skipped) ");
		return;
	}
	pid = fork();
	CU_ASSERT_FATAL(pid >= 0);
	if (pid == 0) {
		int line = tun_child(b_tso);

		if (line != 0)
			fprintf(stderr, "(test_tun: the check at test_tun.c:%d failed) ", line);
		_exit(line != 0);
	}
	CU_ASSERT_FATAL(waitpid(pid, &st, 0) == pid);
	CU_ASSERT(WIFEXITED(st));
	CU_ASSERT_EQUAL(WEXITSTATUS(st), 0);
}

static void test_tun_super_segment_read_whole_with_tso(void)
{
	tun_run(true);
}

static void test_tun_super_segment_cut_by_the_kernel_without_tso(void)
{
	tun_run(false);
}

static CU_TestInfo tests_tun[] = {
    {"test_tun_super_segment_read_whole_with_tso", test_tun_super_segment_read_whole_with_tso},
    {"test_tun_super_segment_cut_by_the_kernel_without_tso",
     test_tun_super_segment_cut_by_the_kernel_without_tso},
    CU_TEST_INFO_NULL,
};

UNIT_SUITE(tun, tests_tun)
