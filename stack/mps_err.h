/*
 * mps_err.h - error codes of the mpstream stack.
 *
 * Every function of the stack that can fail returns a negative MPS_ERR_*
 * value, or a length / zero on success, in one signed return ("lengths or
 * errors in one int").  mps_err_is_fatal() says which errors end a connection.
 */
#ifndef MPS_ERR_H
#define MPS_ERR_H

#include <stdbool.h>

enum mps_err {
	MPS_OK = 0,
	MPS_ERR_INVAL = -1,       /* an argument is out of range */
	MPS_ERR_NOMEM = -2,       /* allocation failed */
	MPS_ERR_MALFORMED = -3,   /* a packet or option does not parse */
	MPS_ERR_CHECKSUM = -4,    /* IP/TCP/DSS checksum mismatch */
	MPS_ERR_NOBUF = -5,       /* output buffer too small */
	MPS_ERR_AGAIN = -6,       /* nothing to do now (window full, no data) */
	MPS_ERR_NOTCONN = -7,     /* no connection for that packet / state */
	MPS_ERR_STATE = -8,       /* not allowed in the current state */
	MPS_ERR_AUTH = -9,        /* an HMAC or token does not verify */
	MPS_ERR_RESET = -10,      /* the peer reset the connection */
	MPS_ERR_TIMEOUT = -11,    /* retransmissions exhausted */
	MPS_ERR_CLOSED = -12,     /* operation on a closed connection */
	MPS_ERR_EXIST = -13,      /* the object already exists */
	MPS_ERR_NOTFOUND = -14,   /* no such object */
	MPS_ERR_UNSUPPORTED = -15,/* valid but not supported (e.g. MPTCP v0) */
	MPS_ERR_DIVERGE = -16,    /* overlapping bytes differ from those held */
	MPS_ERR_FALLBACK = -17,   /* MPTCP fell back to plain TCP */
	MPS_ERR_FASTCLOSE = -18,  /* the peer sent MP_FASTCLOSE */
	MPS_ERR_WINDOW = -19,     /* outside the receive window */
	MPS_ERR_IO = -20,         /* a local read or write failed (apps: file, socket) */
};

/* mps_strerror returns a static, human-readable text for an MPS_ERR_* code. */
const char *mps_strerror(int err);

/* mps_err_is_fatal tells whether an error ends the connection it came from. */
bool mps_err_is_fatal(int err);

#endif
