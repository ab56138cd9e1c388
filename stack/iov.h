/*
 * iov.h - a read-only byte span, shared by the packet codec and the buffers.
 *
 * Both stack/pkt.h and the buffer modules (rob, sbuf) use mps_iov; the guard
 * lets either header define it first.  An mps_iov never owns its bytes: they
 * belong to whatever buffer handed it out and stay valid only until that
 * buffer is next changed.
 */
#ifndef MPS_IOV_H
#define MPS_IOV_H

#include <stddef.h>
#include <stdint.h>

#ifndef MPS_IOV_DEFINED
#define MPS_IOV_DEFINED
typedef struct mps_iov {
	const uint8_t *base;
	size_t len;
} mps_iov;
#endif

/* A writable byte span inside a buffer (see mps_sbuf_reserve). */
typedef struct mps_wiov {
	uint8_t *base;
	size_t len;
} mps_wiov;

#endif
