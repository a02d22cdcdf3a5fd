/*
 * ratelimit.c - token buckets with AIMD (see ratelimit.h).
 */
#include "aws/ratelimit.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <time.h>

#include "util/clock.h"

#define NS_PER_S           1000000000.0
#define THROTTLE_WINDOW_NS 1000000000ull /* at most one decrease per second */
#define SLEEP_SLICE_NS     50000000ull
#define QUIET_NS           1000000000ull /* recovery starts one second after the last 429 */

uint64_t ratelimit_clock_monotonic(void *ctx)
{
	(void)ctx;
	return clock_monotonic_ns();
}

int ratelimit_init(struct ratelimit *rl, const struct ratelimit_options *opt)
{
	if (!opt || !isfinite(opt->rate) || opt->rate <= 0 || !isfinite(opt->burst) || opt->burst < 0 ||
	    !isfinite(opt->min_rate) || opt->min_rate < 0 || !isfinite(opt->recover_per_s) ||
	    opt->recover_per_s < 0)
		return -EINVAL;
	memset(rl, 0, sizeof(*rl));
	if (pthread_mutex_init(&rl->lock, NULL))
		return -ENOMEM;
	rl->max_rate = opt->rate;
	rl->rate = opt->rate;
	rl->burst = opt->burst > 0 ? opt->burst : fmax(1.0, opt->rate);
	if (rl->burst < 1)
		rl->burst = 1;
	rl->min_rate = opt->min_rate > 0 ? fmin(opt->min_rate, opt->rate) : fmin(opt->rate, 0.5);
	rl->recover_per_s = opt->recover_per_s > 0 ? opt->recover_per_s : fmax(opt->rate / 20.0, 0.1);
	rl->clock = opt->clock ? opt->clock : ratelimit_clock_monotonic;
	rl->clock_ctx = opt->clock_ctx;
	rl->tokens = rl->burst;
	rl->last_ns = rl->clock(rl->clock_ctx);
	return 0;
}

void ratelimit_release(struct ratelimit *rl)
{
	if (!rl || !rl->clock)
		return;
	pthread_mutex_destroy(&rl->lock);
	rl->clock = NULL;
}

/* Caller holds the lock. */
static void refill(struct ratelimit *rl, uint64_t now)
{
	uint64_t quiet_from = rl->last_ns;
	double dt;

	if (now <= rl->last_ns)
		return;
	dt = (double)(now - rl->last_ns) / NS_PER_S;
	/* tokens accrue at the rate in force, then the rate recovers */
	rl->tokens = fmin(rl->burst, rl->tokens + dt * rl->rate);
	/* ... but only over the time that was quiet: a second after the last 429 on */
	if (rl->throttled_once && rl->last_429_ns + QUIET_NS > quiet_from)
		quiet_from = rl->last_429_ns + QUIET_NS;
	if (rl->rate < rl->max_rate && now > quiet_from)
		rl->rate =
		    fmin(rl->max_rate, rl->rate + (double)(now - quiet_from) / NS_PER_S * rl->recover_per_s);
	rl->last_ns = now;
}

uint64_t ratelimit_reserve(struct ratelimit *rl)
{
	uint64_t wait = 0;
	double w;

	pthread_mutex_lock(&rl->lock);
	refill(rl, rl->clock(rl->clock_ctx));
	rl->tokens -= 1.0;
	if (rl->tokens < 0) {
		w = -rl->tokens / rl->rate * NS_PER_S;
		wait = w > 3600.0 * NS_PER_S ? (uint64_t)(3600.0 * NS_PER_S) : (uint64_t)ceil(w);
	}
	pthread_mutex_unlock(&rl->lock);
	return wait;
}

int ratelimit_acquire(struct ratelimit *rl, const atomic_bool *stop)
{
	uint64_t wait = ratelimit_reserve(rl);

	while (wait > 0) {
		uint64_t slice = wait < SLEEP_SLICE_NS ? wait : SLEEP_SLICE_NS;
		struct timespec ts = {(time_t)(slice / 1000000000ull), (long)(slice % 1000000000ull)};

		if (stop && atomic_load(stop))
			return -ECANCELED;
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			if (stop && atomic_load(stop))
				return -ECANCELED;
		wait -= slice;
	}
	return 0;
}

void ratelimit_on_throttle(struct ratelimit *rl)
{
	uint64_t now;

	pthread_mutex_lock(&rl->lock);
	now = rl->clock(rl->clock_ctx);
	refill(rl, now);
	rl->last_429_ns = now; /* every 429 restarts the quiet time, decrease or not */
	if (!rl->throttled_once || now - rl->last_throttle_ns >= THROTTLE_WINDOW_NS) {
		rl->rate = fmax(rl->min_rate, rl->rate / 2.0);
		if (rl->tokens > 0)
			rl->tokens = 0; /* no burst right after a throttle */
		rl->last_throttle_ns = now;
		rl->throttled_once = true;
		rl->throttles++;
	}
	pthread_mutex_unlock(&rl->lock);
}

double ratelimit_rate(struct ratelimit *rl)
{
	double r;

	pthread_mutex_lock(&rl->lock);
	refill(rl, rl->clock(rl->clock_ctx));
	r = rl->rate;
	pthread_mutex_unlock(&rl->lock);
	return r;
}

uint64_t ratelimit_throttles(struct ratelimit *rl)
{
	uint64_t n;

	pthread_mutex_lock(&rl->lock);
	n = rl->throttles;
	pthread_mutex_unlock(&rl->lock);
	return n;
}
