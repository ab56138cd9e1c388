/*
 * tun.c - open and configure a TUN device; route addresses into it.
 *
 * mps_tun_open:      open /dev/net/tun → TUNSETIFF (IFF_TUN | IFF_NO_PI)
 *                    → O_NONBLOCK, FD_CLOEXEC → disable_ipv6=0
 * mps_tun_set_mtu,
 * mps_tun_up:        SIOCSIFMTU / SIOCGIFFLAGS + SIOCSIFFLAGS on a dgram socket
 * mps_tun_add_route: NETLINK_ROUTE socket → RTM_NEWROUTE → wait for the ACK
 * mps_tun_*_vnet:    readv/writev of a struct virtio_net_hdr + the packet
 *                    (the header's 16-bit fields are host-endian: a TUN
 *                    device without TUNSETVNETLE/BE uses the legacy
 *                    virtio layout, which is the host's order)
 */
#include "tun.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
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
	if (name != NULL && strlen(name) >= IFNAMSIZ)
		return -EINVAL;

	fd = open(TUN_DEV, O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(&ifr, 0, sizeof(ifr));
	ifr.ifr_flags = IFF_TUN | IFF_NO_PI;
	if (flags & MPS_TUN_VNET_HDR)
		ifr.ifr_flags |= IFF_VNET_HDR;
	if (name != NULL)
		memcpy(ifr.ifr_name, name, strlen(name));
	if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
		/* A kernel without IFF_VNET_HDR says EINVAL for the flag. */
		if ((flags & MPS_TUN_VNET_HDR) && errno == EINVAL)
			errno = EOPNOTSUPP;
		goto fail;
	}
	if (flags & MPS_TUN_VNET_HDR) {
		int hsz = (int)sizeof(struct virtio_net_hdr);

		if (ioctl(fd, TUNSETVNETHDRSZ, &hsz) < 0)
			goto fail;
	}
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

int mps_tun_set_offload(int fd, unsigned off)
{
	unsigned long f = 0;

	if (off & ~(MPS_TUN_OFF_CSUM | MPS_TUN_OFF_TSO))
		return -EINVAL;
	if ((off & MPS_TUN_OFF_TSO) && !(off & MPS_TUN_OFF_CSUM))
		return -EINVAL; /* the kernel refuses TSO without CSUM too */
	if (off & MPS_TUN_OFF_CSUM)
		f |= TUN_F_CSUM;
	if (off & MPS_TUN_OFF_TSO)
		f |= TUN_F_TSO4 | TUN_F_TSO6;
	if (ioctl(fd, TUNSETOFFLOAD, f) < 0)
		return -errno;
	return 0;
}

ssize_t mps_tun_read_vnet(int fd, uint8_t *buf, size_t cap, mps_tun_vnet *vh)
{
	struct virtio_net_hdr h;
	struct iovec iov[2];
	ssize_t n;

	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = buf;
	iov[1].iov_len = cap;
	do {
		n = readv(fd, iov, 2);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if ((size_t)n < sizeof(h))
		return -EPROTO;
	n -= (ssize_t)sizeof(h);
	memset(vh, 0, sizeof(*vh));
	switch (h.gso_type & (uint8_t)~VIRTIO_NET_HDR_GSO_ECN) {
	case VIRTIO_NET_HDR_GSO_NONE:
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (h.gso_size == 0)
			return -EPROTO;
		vh->gso_size = h.gso_size;
		break;
	default:
		return -EPROTO; /* UDP: we never asked for it */
	}
	if (h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		/* csum_start is the transport header; +16 is TCP's field. */
		if (h.csum_offset != 16 || h.csum_start + 18u > (size_t)n)
			return vh->gso_size ? -EPROTO : n; /* not TCP: not ours */
		vh->csum_partial = true;
	}
	if (h.flags & VIRTIO_NET_HDR_F_DATA_VALID)
		vh->csum_valid = true;
	return n;
}

ssize_t mps_tun_write_vnet(int fd, const uint8_t *pkt, size_t len, const mps_tun_vnet *vh)
{
	return mps_tun_writev_vnet(fd, pkt, len, NULL, 0, vh);
}

ssize_t mps_tun_writev_vnet(int fd, const uint8_t *pkt, size_t len, const struct iovec *payload,
			    int npayload, const mps_tun_vnet *vh)
{
	struct virtio_net_hdr h;
	struct iovec iov[2 + MPS_TUN_MAX_PIECES];
	size_t iphl;
	ssize_t n;
	int i;

	if (npayload < 0 || npayload > MPS_TUN_MAX_PIECES || (npayload > 0 && payload == NULL))
		return -EINVAL;

	memset(&h, 0, sizeof(h));
	if (vh != NULL && (vh->gso_size > 0 || vh->csum_partial)) {
		if (len < 1)
			return -EINVAL;
		if ((pkt[0] >> 4) == 4)
			iphl = (size_t)(pkt[0] & 0xf) * 4;
		else if ((pkt[0] >> 4) == 6)
			iphl = 40;
		else
			return -EINVAL;
		if (len < iphl + 20 || ((pkt[0] >> 4) == 4 ? pkt[9] : pkt[6]) != IPPROTO_TCP)
			return -EINVAL;
		if (vh->gso_size > 0 && !vh->csum_partial)
			return -EINVAL;
		h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		h.csum_start = (uint16_t)iphl;
		h.csum_offset = 16;
		if (vh->gso_size > 0) {
			h.gso_type = (pkt[0] >> 4) == 4 ? VIRTIO_NET_HDR_GSO_TCPV4
						       : VIRTIO_NET_HDR_GSO_TCPV6;
			h.gso_size = vh->gso_size;
			h.hdr_len = (uint16_t)(iphl + (size_t)(pkt[iphl + 12] >> 4) * 4);
		}
	}
	iov[0].iov_base = &h;
	iov[0].iov_len = sizeof(h);
	iov[1].iov_base = (void *)(uintptr_t)pkt;
	iov[1].iov_len = len;
	for (i = 0; i < npayload; i++)
		iov[2 + i] = payload[i];
	do {
		n = writev(fd, iov, 2 + npayload);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	return n >= (ssize_t)sizeof(h) ? n - (ssize_t)sizeof(h) : 0;
}
