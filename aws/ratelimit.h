/*
 * ratelimit.h - token buckets with AIMD slow-down, shared by every thread of
 * an aws_client.
 *
 * A bucket holds at most `burst` tokens and refills at `rate` tokens per
 * second.  A caller takes one token per request; when none is left it is told
 * how long to wait (a reservation: the token is taken now, tokens may go
 * negative, so waiters are served in the order they asked).
 *
 * AIMD: the bucket starts at the configured rate (`max_rate`, the caller's
 * share of the quota).  A throttling answer (429) halves the rate (never
 * below `min_rate`, at most once a second, so a burst of 429s from requests
 * already in flight counts once) and empties the bucket; the rate then grows
 * back additively by `recover_per_s` tokens/s for each second of quiet (the
 * time from one second after the latest 429 on, so 429s that keep coming hold
 * the rate down even when they are too close together to halve it again), up
 * to `max_rate` and never above it.
 *
 * The clock is a parameter (monotonic nanoseconds), so unit tests never
 * sleep.  All functions are thread-safe (one mutex per bucket).
 */
#ifndef ALIASD_AWS_RATELIMIT_H
#define ALIASD_AWS_RATELIMIT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* Monotonic time in nanoseconds. */
typedef uint64_t (*ratelimit_clock_fn)(void *ctx);

/* The default clock: CLOCK_MONOTONIC. */
uint64_t ratelimit_clock_monotonic(void *ctx);

struct ratelimit {
	pthread_mutex_t lock;
	double max_rate; /* configured tokens per second (> 0) */
	double rate;     /* current rate, min_rate..max_rate */
	double min_rate;
	double burst;              /* bucket size (>= 1) */
	double recover_per_s;      /* additive increase, tokens/s per second */
	double tokens;             /* may be negative: outstanding reservations */
	uint64_t last_ns;          /* last refill */
	uint64_t last_throttle_ns; /* last decrease */
	uint64_t last_429_ns;      /* last 429 of any kind */
	bool throttled_once;
	uint64_t throttles; /* number of rate decreases (metrics) */
	ratelimit_clock_fn clock;
	void *clock_ctx;
};

struct ratelimit_options {
	double rate;              /* tokens/s, > 0 (required) */
	double burst;             /* 0 = max(1, rate) */
	double min_rate;          /* 0 = min(rate, 0.5) */
	double recover_per_s;     /* 0 = max(rate / 20, 0.1) */
	ratelimit_clock_fn clock; /* NULL = ratelimit_clock_monotonic */
	void *clock_ctx;
};

/* -EINVAL for a non-finite or non-positive rate. The bucket starts full. */
int ratelimit_init(struct ratelimit *rl, const struct ratelimit_options *opt);
/* Accepts a zeroed struct. */
void ratelimit_release(struct ratelimit *rl);

/*
 * Take one token.  Returns the nanoseconds the caller must wait before
 * sending (0 = go now).  Never blocks.
 */
uint64_t ratelimit_reserve(struct ratelimit *rl);

/*
 * Take one token and sleep until it is due (real sleep, in slices of at most
 * 50 ms so that *stop, when not NULL, is noticed).  -ECANCELED if *stop
 * became true while waiting (the token is consumed anyway).
 */
int ratelimit_acquire(struct ratelimit *rl, const atomic_bool *stop);

/* A 429 was received: multiplicative decrease (see above). */
void ratelimit_on_throttle(struct ratelimit *rl);

/* The current rate (tokens/s), after applying the additive recovery. */
double ratelimit_rate(struct ratelimit *rl);
/* Number of decreases so far. */
uint64_t ratelimit_throttles(struct ratelimit *rl);

#endif
