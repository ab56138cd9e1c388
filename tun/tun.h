/*
 * tun.h - the TUN device: open, configure, route, read and write.
 *
 * The device is a layer-3 TUN (IFF_TUN | IFF_NO_PI): every read returns one
 * whole IP packet and every write takes one.  Configuration goes through an
 * ioctl socket (MTU, IFF_UP) and rtnetlink (routes), so no external "ip"
 * command is needed.  All functions return 0 / a length, or -errno.
 *
 * Only tun/ and apps/ touch file descriptors; the stack never sees this.
 */
#ifndef MPS_TUN_H
#define MPS_TUN_H

#include <net/if.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "addr.h"

/* Ask for a virtio-net header in front of every packet (IFF_VNET_HDR): the
 * device then takes TCP super-segments of up to 64 KiB with a partial
 * checksum and segments them itself (TSO), and, after mps_tun_set_offload,
 * hands us coalesced (GRO) segments the same way.  Read and write such a
 * device with mps_tun_read_vnet / mps_tun_write_vnet only. */
#define MPS_TUN_VNET_HDR 0x1u

/* What travels in the virtio-net header, in host terms. */
typedef struct mps_tun_vnet {
	uint16_t gso_size;   /* payload bytes per segment; 0: not a super-segment */
	bool csum_partial;   /* TCP checksum holds only the pseudo-header sum */
	bool csum_valid;     /* the kernel vouches for the checksum */
} mps_tun_vnet;

/* Offloads we accept on reads (TUNSETOFFLOAD). */
#define MPS_TUN_OFF_CSUM 0x1u /* partial checksums */
#define MPS_TUN_OFF_TSO 0x2u  /* TCP super-segments, IPv4 and IPv6 */

/*
 * mps_tun_open creates (or attaches to) the TUN device called name, or lets
 * the kernel pick a name when name is NULL or "".  The fd is nonblocking and
 * close-on-exec; the device disappears when the fd is closed (it is not
 * persistent).  IPv6 is enabled on it (disable_ipv6=0) when the sysctl
 * exists; the device gets no link-local address and needs none.
 *
 *   name        the interface name, at most IFNAMSIZ-1 bytes
 *   flags       0 or MPS_TUN_* bits
 *   ifname_out  receives the actual name (may be NULL)
 *
 * Returns the fd (>= 0), or -EINVAL (name too long, unknown flag),
 * -EOPNOTSUPP (the kernel has no virtio-net header on TUN), -ENOENT (no /dev/net/tun), -EPERM /
 * -EACCES (no CAP_NET_ADMIN), -EBUSY (name taken by another kind of device),
 * or another -errno from open(2) / ioctl(TUNSETIFF).
 */
int mps_tun_open(const char *name, unsigned flags, char ifname_out[IFNAMSIZ]);

/* mps_tun_set_mtu sets the MTU of the interface name.  Returns 0, -EINVAL
 * (mtu out of range, name too long), -ENODEV, -EPERM or another -errno. */
int mps_tun_set_mtu(const char *name, unsigned mtu);

/* mps_tun_set_txqueuelen sets how many packets the kernel queues for us to
 * read (default 500).  The queue must hold a receive window's worth of
 * segments, or a burst that arrives while mpsd is busy is dropped there.
 * Returns 0, -EINVAL (qlen 0, name too long), -ENODEV, -EPERM or -errno. */
int mps_tun_set_txqueuelen(const char *name, unsigned qlen);

/* mps_tun_up sets IFF_UP (and IFF_RUNNING is up to the kernel).  Returns 0,
 * -EINVAL, -ENODEV, -EPERM or another -errno. */
int mps_tun_up(const char *name);

/*
 * mps_tun_add_route routes a/prefix into the interface ifname through
 * rtnetlink (RTM_NEWROUTE with NLM_F_ACK; the kernel's answer is checked).
 * A route that already exists is replaced (NLM_F_REPLACE), so re-running is
 * harmless.  Used with prefix 32 / 128 to route the stack's own addresses.
 *
 * Returns 0, -EINVAL (family unset, prefix too long, name too long),
 * -ENODEV (no such interface), -EPERM, or the -errno the kernel answered.
 */
int mps_tun_add_route(const char *ifname, const mps_addr *a, int prefix);

/* mps_tun_read reads one packet into buf; cap should be at least the MTU
 * (the kernel cuts a longer packet silently).  Returns its length, -EAGAIN
 * when none is queued, or another -errno. */
ssize_t mps_tun_read(int fd, uint8_t *buf, size_t cap);

/* mps_tun_write writes one packet.  Returns len, -EAGAIN when the device
 * queue is full (the packet is not sent), or -errno. */
ssize_t mps_tun_write(int fd, const uint8_t *pkt, size_t len);

/* mps_tun_set_offload tells the kernel which offloads it may hand us on
 * reads (MPS_TUN_OFF_* bits; 0 turns them off).  Only for a device opened
 * with MPS_TUN_VNET_HDR.  Returns 0, -EINVAL (unknown bit, or TSO without
 * CSUM), or -errno of ioctl(TUNSETOFFLOAD). */
int mps_tun_set_offload(int fd, unsigned off);

/* mps_tun_read_vnet reads one packet from a MPS_TUN_VNET_HDR device: the
 * header goes to *vh, the IP packet (up to 64 KiB when TSO reads are on)
 * into buf.  Returns the packet's length, -EAGAIN, -EPROTO (a header we do
 * not understand: not TCP GSO, or a checksum offset outside TCP; the packet
 * is consumed), or another -errno. */
ssize_t mps_tun_read_vnet(int fd, uint8_t *buf, size_t cap, mps_tun_vnet *vh);

/* mps_tun_write_vnet writes one IP packet to a MPS_TUN_VNET_HDR device.
 * With vh->gso_size > 0 the packet is a TCP super-segment that the kernel
 * cuts into gso_size pieces (the TCP header, options included, is copied
 * into each); vh->csum_partial says the TCP checksum field holds only the
 * pseudo-header sum.  A super-segment must have csum_partial.  Returns len,
 * -EAGAIN, -EINVAL (not IPv4/IPv6 TCP where the header needs it), or -errno. */
ssize_t mps_tun_write_vnet(int fd, const uint8_t *pkt, size_t len, const mps_tun_vnet *vh);

/* The same with the packet in pieces: the headers (pkt, len) and then up to
 * MPS_TUN_MAX_PIECES payload pieces, gathered by writev(2) with no copy in
 * user space.  Returns the bytes written after the virtio-net header. */
#define MPS_TUN_MAX_PIECES 4
ssize_t mps_tun_writev_vnet(int fd, const uint8_t *pkt, size_t len, const struct iovec *payload,
			    int npayload, const mps_tun_vnet *vh);

#endif
