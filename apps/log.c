/* log.c - timestamped log lines on stderr, and the monotonic clock. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <time.h>

/* The only mutable state: set once from the command line. */
static int log_level;

uint64_t mps_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void mps_log_set_level(int level)
{
	log_level = level;
}

int mps_log_level(void)
{
	return log_level;
}

void mps_log(int level, const char *fmt, ...)
{
	char line[1024];
	uint64_t now;
	va_list ap;

	if (level > log_level)
		return;
	now = mps_now_ns();
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	/* one fprintf per line: lines of two processes do not interleave */
	fprintf(stderr, "[%6llu.%06llu] %s\n", (unsigned long long)(now / 1000000000u),
		(unsigned long long)(now / 1000u % 1000000u), line);
}
