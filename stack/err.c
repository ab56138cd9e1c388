/* err.c - texts for the MPS_ERR_* codes. */
#include "mps_err.h"

const char *mps_strerror(int err)
{
	switch (err) {
	case MPS_OK: return "success";
	case MPS_ERR_INVAL: return "invalid argument";
	case MPS_ERR_NOMEM: return "out of memory";
	case MPS_ERR_MALFORMED: return "malformed packet or option";
	case MPS_ERR_CHECKSUM: return "checksum mismatch";
	case MPS_ERR_NOBUF: return "buffer too small";
	case MPS_ERR_AGAIN: return "try again";
	case MPS_ERR_NOTCONN: return "no such connection";
	case MPS_ERR_STATE: return "not allowed in this state";
	case MPS_ERR_AUTH: return "authentication failed";
	case MPS_ERR_RESET: return "connection reset by peer";
	case MPS_ERR_TIMEOUT: return "connection timed out";
	case MPS_ERR_CLOSED: return "connection closed";
	case MPS_ERR_EXIST: return "already exists";
	case MPS_ERR_NOTFOUND: return "not found";
	case MPS_ERR_UNSUPPORTED: return "not supported";
	case MPS_ERR_DIVERGE: return "replica bytes differ";
	case MPS_ERR_FALLBACK: return "fell back to plain TCP";
	case MPS_ERR_FASTCLOSE: return "connection fast-closed by peer";
	case MPS_ERR_WINDOW: return "outside the receive window";
	case MPS_ERR_IO: return "local I/O error";
	}
	return "unknown error";
}

bool mps_err_is_fatal(int err)
{
	switch (err) {
	case MPS_ERR_NOMEM:
	case MPS_ERR_RESET:
	case MPS_ERR_TIMEOUT:
	case MPS_ERR_CLOSED:
	case MPS_ERR_FASTCLOSE:
		return true;
	default:
		return false;
	}
}
