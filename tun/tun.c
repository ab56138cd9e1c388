/*
 * tun.c - open and configure a TUN device; route addresses into it.
 *
 * mps_tun_open:      open /dev/net/tun → TUNSETIFF (IFF_TUN | IFF_NO_PI)
 *                    → O_NONBLOCK, FD_CLOEXEC → disable_ipv6=0
 * mps_tun_set_mtu,
 * mps_tun_up:        SIOCSIFMTU / SIOCGIFFLAGS + SIOCSIFFLAGS on a dgram socket
 * mps_tun_add_route: NETLINK_ROUTE socket → RTM_NEWROUTE → wait for the ACK
 */
#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#define TUN_DEV "/dev/net/tun"

static int tun_name_ok(const char *name)
{
	return name != NULL && name[0] != '\0' && strlen(name) < IFNAMSIZ;
}

/* Best effort: a kernel without IPv6 has no such file, and a device with
 * IPv6 disabled just cannot take IPv6 routes (mps_tun_add_route says so). */
static void tun_enable_ipv6(const char *ifname)
{
	char path[96];
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv6/conf/%s/disable_ipv6", ifname);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	if (write(fd, "0\n", 2) < 0) {
		/* read-only /proc/sys (container): nothing else to try */
	}
	close(fd);
}

int mps_tun_open(const char *name, unsigned flags, char ifname_out[IFNAMSIZ])
{
	struct ifreq ifr;
	int fd, err, fl;

	if (flags & ~MPS_TUN_VNET_HDR)
		return -EINVAL;
	if (flags & MPS_TUN_VNET_HDR)
		return -EOPNOTSUPP;
	if (name != NULL && strlen(name) >= IFNAMSIZ)
		return -EINVAL;

	fd = open(TUN_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (name != NULL)
		memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0)
		goto fail;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		goto fail;
	ifr.ifr_name[IFNAMSIZ - 1] = '\0';
	tun_enable_ipv6(ifr.ifr_name);
	if (ifname_out != NULL)
		memcpy(ifname_out, ifr.ifr_name, IFNAMSIZ);
	return fd;
fail:
	err = -errno;
	close(fd);
	return err;
}

/* Run one interface ioctl on a throwaway datagram socket. */
static int tun_ifreq(unsigned long req, struct ifreq *ifr)
{
	int s, err = 0;

	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	if (ioctl(s, req, ifr) < 0)
		err = -errno;
	close(s);
	return err;
}

int mps_tun_set_mtu(const char *name, unsigned mtu)
{
	struct ifreq ifr;

	/* 68 is the IPv4 minimum (RFC 791); 65535 the largest IP packet. */
	if (!tun_name_ok(name) || mtu < 68 || mtu > 65535)
		return -EINVAL;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_mtu = (int)mtu;
	return tun_ifreq(SIOCSIFMTU, &ifr);
}

int mps_tun_set_txqueuelen(const char *name, unsigned qlen)
{
	struct ifreq ifr;

	if (!tun_name_ok(name) || qlen == 0 || qlen > INT32_MAX)
		return -EINVAL;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	ifr.ifr_qlen = (int)qlen;
	return tun_ifreq(SIOCSIFTXQLEN, &ifr);
}

int mps_tun_up(const char *name)
{
	struct ifreq ifr;
	int err;

	if (!tun_name_ok(name))
		return -EINVAL;
	memset(&ifr, 0, sizeof(ifr));
	memcpy(ifr.ifr_name, name, strlen(name));
	err = tun_ifreq(SIOCGIFFLAGS, &ifr);
	if (err < 0)
		return err;
	ifr.ifr_flags |= IFF_UP;
	return tun_ifreq(SIOCSIFFLAGS, &ifr);
}

/* Append one route attribute to the request in buf (of total size cap). */
static int tun_rta_put(struct nlmsghdr *nh, size_t cap, unsigned short type, const void *data,
		       size_t len)
{
	struct rtattr *rta;
	size_t off = NLMSG_ALIGN(nh->nlmsg_len);

	if (off + RTA_SPACE(len) > cap)
		return -ENOBUFS;
	rta = (struct rtattr *)((char *)nh + off);
	rta->rta_type = type;
	rta->rta_len = (unsigned short)RTA_LENGTH(len);
	memcpy(RTA_DATA(rta), data, len);
	nh->nlmsg_len = (uint32_t)(off + RTA_SPACE(len));
	return 0;
}

/* Wait for the kernel's answer to request seq: NLMSG_ERROR with error 0 is
 * the ACK; a negative error is the -errno of the request. */
static int tun_nl_wait_ack(int s, uint32_t seq)
{
	union {
		char buf[4096];
		struct nlmsghdr align;
	} u;
	struct nlmsghdr *nh;
	ssize_t n;

	for (;;) {
		n = recv(s, u.buf, sizeof(u.buf), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (nh = &u.align; NLMSG_OK(nh, (size_t)n); nh = NLMSG_NEXT(nh, n)) {
			if (nh->nlmsg_seq != seq)
				continue;
			if (nh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nh);

				if (nh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
					return -EPROTO;
				return e->error;
			}
			if (nh->nlmsg_type == NLMSG_DONE)
				return 0;
		}
	}
}

int mps_tun_add_route(const char *ifname, const mps_addr *a, int prefix)
{
	union {
		char buf[256];
		struct nlmsghdr align;
	} u;
	struct nlmsghdr *nh = &u.align;
	struct sockaddr_nl sa = {.nl_family = AF_NETLINK};
	struct rtmsg *rtm;
	unsigned int ifindex;
	uint32_t oif;
	size_t alen;
	int s, err, maxp;
	struct timeval tv = {.tv_sec = 2};

	if (!tun_name_ok(ifname) || a == NULL)
		return -EINVAL;
	if (a->family == MPS_AF_INET) {
		alen = 4;
		maxp = 32;
	} else if (a->family == MPS_AF_INET6) {
		alen = 16;
		maxp = 128;
	} else {
		return -EINVAL;
	}
	if (prefix < 0 || prefix > maxp)
		return -EINVAL;
	ifindex = if_nametoindex(ifname);
	if (ifindex == 0)
		return -ENODEV;

	memset(&u, 0, sizeof(u));
	nh->nlmsg_len = NLMSG_LENGTH(sizeof(*rtm));
	nh->nlmsg_type = RTM_NEWROUTE;
	nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE;
	nh->nlmsg_seq = 1;
	rtm = NLMSG_DATA(nh);
	rtm->rtm_family = a->family == MPS_AF_INET ? AF_INET : AF_INET6;
	rtm->rtm_dst_len = (unsigned char)prefix;
	rtm->rtm_table = RT_TABLE_MAIN;
	rtm->rtm_protocol = RTPROT_BOOT;
	rtm->rtm_scope = RT_SCOPE_LINK;
	rtm->rtm_type = RTN_UNICAST;
	oif = ifindex;
	if (tun_rta_put(nh, sizeof(u), RTA_DST, a->ip, alen) < 0 ||
	    tun_rta_put(nh, sizeof(u), RTA_OIF, &oif, sizeof(oif)) < 0)
		return -EINVAL;

	s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (s < 0)
		return -errno;
	/* Never hang the daemon's start on a kernel that does not answer. */
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sendto(s, nh, nh->nlmsg_len, 0, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		err = -errno;
		close(s);
		return err;
	}
	err = tun_nl_wait_ack(s, nh->nlmsg_seq);
	close(s);
	return err;
}

ssize_t mps_tun_read(int fd, uint8_t *buf, size_t cap)
{
	ssize_t n;

	do {
		n = read(fd, buf, cap);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}

ssize_t mps_tun_write(int fd, const uint8_t *pkt, size_t len)
{
	ssize_t n;

	do {
		n = write(fd, pkt, len);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n;
}
