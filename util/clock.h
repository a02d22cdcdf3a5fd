/*
 * clock.h - the monotonic clock, in one place.
 *
 * CLOCK_MONOTONIC: never jumps with the wall clock (NTP, an operator's
 * `date -s`), so deadlines, timeouts and rate limits measured with it hold.
 * Its zero is arbitrary: compare two readings, never print one.
 */
#ifndef ALIASD_UTIL_CLOCK_H
#define ALIASD_UTIL_CLOCK_H

#include <stdint.h>

/* Nanoseconds on CLOCK_MONOTONIC. */
uint64_t clock_monotonic_ns(void);
/* Milliseconds on CLOCK_MONOTONIC. */
uint64_t clock_monotonic_ms(void);
/* Milliseconds from `start_ms` (a clock_monotonic_ms reading) to now; 0 if start is ahead. */
uint64_t clock_elapsed_ms(uint64_t start_ms);

#endif
