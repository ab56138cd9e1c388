/*
 * log.h - mpsd's log lines and clock.
 *
 * Lines go to stderr as "[   1234.567890] text", the timestamp being
 * CLOCK_MONOTONIC in seconds (the same clock as the stack's "now"), so they
 * can be lined up with packet captures and with each other across daemons
 * on one host.  Level 1 is -v (connections), 2 is -vv (subflows, drops).
 */
#ifndef MPS_LOG_H
#define MPS_LOG_H

#include <stdint.h>

/* CLOCK_MONOTONIC in nanoseconds: the "now" handed to the stack. */
uint64_t mps_now_ns(void);

/* Lines of a level above this are not printed (default 0: errors only). */
void mps_log_set_level(int level);
int mps_log_level(void);

/* Print one line at level (0 = always). A newline is added. */
__attribute__((format(printf, 2, 3))) void mps_log(int level, const char *fmt, ...);

#endif
