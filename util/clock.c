/*
 * clock.c - the monotonic clock (see clock.h).
 */
#include "util/clock.h"

#include <time.h>

uint64_t clock_monotonic_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t clock_monotonic_ms(void)
{
	return clock_monotonic_ns() / 1000000ull;
}

uint64_t clock_elapsed_ms(uint64_t start_ms)
{
	uint64_t now = clock_monotonic_ms();

	return now > start_ms ? now - start_ms : 0;
}
