/*
 * test_aws_ratelimit.c - token buckets and AIMD with a fake clock (no sleeping).
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>

#include "aws/ratelimit.h"
#include "tests/unit/harness.h"

#define MS 1000000ull
#define S  1000000000ull

static uint64_t fake_clock(void *ctx)
{
	return *(uint64_t *)ctx;
}

static void init(struct ratelimit *rl, uint64_t *now, double rate, double burst)
{
	struct ratelimit_options o = {.rate = rate, .burst = burst, .clock = fake_clock, .clock_ctx = now};

	REQUIRE(ratelimit_init(rl, &o) == 0);
}

TEST(ratelimit_invalid)
{
	struct ratelimit rl;
	struct ratelimit_options o = {.rate = 0};

	CHECK_INT(ratelimit_init(&rl, &o), -EINVAL);
	o.rate = -1;
	CHECK_INT(ratelimit_init(&rl, &o), -EINVAL);
	o.rate = NAN;
	CHECK_INT(ratelimit_init(&rl, &o), -EINVAL);
	o.rate = INFINITY;
	CHECK_INT(ratelimit_init(&rl, &o), -EINVAL);
	CHECK_INT(ratelimit_init(&rl, NULL), -EINVAL);
}

TEST(ratelimit_burst_then_wait)
{
	uint64_t now = 1000 * S;
	struct ratelimit rl;

	init(&rl, &now, 10, 10);
	for (int i = 0; i < 10; i++)
		CHECKF(ratelimit_reserve(&rl) == 0, "token %d should be free", i);
	/* the 11th waits 1/10 s, the 12th 2/10 s (reservations queue up) */
	CHECK_U64(ratelimit_reserve(&rl), 100 * MS);
	CHECK_U64(ratelimit_reserve(&rl), 200 * MS);
	/* after a second, 10 more tokens were made: 2 owed, 8 left */
	now += S;
	for (int i = 0; i < 8; i++)
		CHECKF(ratelimit_reserve(&rl) == 0, "token %d after refill", i);
	CHECK_U64(ratelimit_reserve(&rl), 100 * MS);
	ratelimit_release(&rl);
}

TEST(ratelimit_steady_rate)
{
	uint64_t now = 5 * S;
	struct ratelimit rl;
	int granted = 0;

	init(&rl, &now, 50, 1);
	/* 1 token burst; every 20 ms one more */
	for (int i = 0; i < 1000; i++) {
		if (ratelimit_reserve(&rl) == 0)
			granted++;
		else
			break;
	}
	CHECK_INT(granted, 1);
	now += 20 * MS; /* that reservation is now paid */
	now += 20 * MS;
	CHECK_U64(ratelimit_reserve(&rl), 0);
	CHECK_U64(ratelimit_reserve(&rl), 20 * MS);
	ratelimit_release(&rl);
}

TEST(ratelimit_burst_capped)
{
	uint64_t now = 0;
	struct ratelimit rl;
	int free_tokens = 0;

	init(&rl, &now, 10, 5);
	now += 3600 * S; /* a long idle time does not accumulate beyond the burst */
	while (ratelimit_reserve(&rl) == 0 && free_tokens < 100)
		free_tokens++;
	CHECK_INT(free_tokens, 5);
	ratelimit_release(&rl);
}

TEST(ratelimit_aimd)
{
	uint64_t now = 10 * S;
	struct ratelimit rl;

	init(&rl, &now, 16, 16);
	CHECK(fabs(ratelimit_rate(&rl) - 16) < 1e-9);
	ratelimit_on_throttle(&rl);
	CHECK(fabs(ratelimit_rate(&rl) - 8) < 1e-9);
	CHECK_U64(ratelimit_throttles(&rl), 1);
	/* more 429s from requests in flight within the same second count once */
	ratelimit_on_throttle(&rl);
	ratelimit_on_throttle(&rl);
	CHECK(fabs(ratelimit_rate(&rl) - 8) < 1e-9);
	CHECK_U64(ratelimit_throttles(&rl), 1);
	/* no burst right after a throttle: the next request waits 1/8 s */
	CHECK_U64(ratelimit_reserve(&rl), 125 * MS);
	now += S;
	/* the first second after a 429 is not quiet yet: no recovery */
	CHECK(fabs(ratelimit_rate(&rl) - 8) < 1e-6);
	now += S;
	/* one quiet second later: additive recovery 16/20 = 0.8 tokens/s per second */
	CHECK(fabs(ratelimit_rate(&rl) - 8.8) < 1e-6);
	ratelimit_on_throttle(&rl);
	CHECK(fabs(ratelimit_rate(&rl) - 4.4) < 1e-6);
	CHECK_U64(ratelimit_throttles(&rl), 2);
	/* never below min_rate */
	for (int i = 0; i < 20; i++) {
		now += S;
		ratelimit_on_throttle(&rl);
	}
	CHECK(ratelimit_rate(&rl) >= 0.5 - 1e-9);
	CHECK(ratelimit_rate(&rl) < 0.6 + 0.8);
	/* recovers fully, never above the configured rate */
	now += 3600 * S;
	CHECK(fabs(ratelimit_rate(&rl) - 16) < 1e-9);
	ratelimit_release(&rl);
}

TEST(ratelimit_recovers_only_when_quiet)
{
	uint64_t now = 5 * S;
	struct ratelimit rl;

	init(&rl, &now, 15, 15);
	/* starts at the configured share */
	CHECK(fabs(ratelimit_rate(&rl) - 15) < 1e-9);
	ratelimit_on_throttle(&rl);
	CHECK(fabs(ratelimit_rate(&rl) - 7.5) < 1e-9);
	/* a 429 every 0.6 s: too close to halve again each time, but never quiet */
	for (int i = 0; i < 10; i++) {
		now += 600 * MS;
		ratelimit_on_throttle(&rl);
	}
	/* halved at 1.2 s, 2.4 s, ... (at most once a second): 5 more times, floored at 0.5 */
	CHECK_U64(ratelimit_throttles(&rl), 6);
	CHECK(fabs(ratelimit_rate(&rl) - 0.5) < 1e-9);
	/* quiet now: one second of grace, then 15/20 = 0.75 tokens/s per second */
	now += S;
	CHECK(fabs(ratelimit_rate(&rl) - 0.5) < 1e-9);
	now += 2 * S;
	CHECK(fabs(ratelimit_rate(&rl) - 2.0) < 1e-9);
	/* slowly: 10 s after the 429s stopped it is still far below the configured rate */
	now += 7 * S;
	CHECK(fabs(ratelimit_rate(&rl) - (0.5 + 9 * 0.75)) < 1e-9);
	/* and never above it */
	now += 60 * S;
	CHECK(fabs(ratelimit_rate(&rl) - 15) < 1e-9);
	ratelimit_release(&rl);
}

struct thread_arg {
	struct ratelimit *rl;
	int free_tokens;
};

static void *worker(void *p)
{
	struct thread_arg *a = p;

	for (int i = 0; i < 1000; i++)
		if (ratelimit_reserve(a->rl) == 0)
			a->free_tokens++;
	return NULL;
}

TEST(ratelimit_threads)
{
	uint64_t now = 0; /* frozen clock: exactly `burst` tokens are free, whoever takes them */
	struct ratelimit rl;
	struct thread_arg args[4];
	pthread_t t[4];
	int total = 0;

	init(&rl, &now, 100, 100);
	for (int i = 0; i < 4; i++) {
		args[i].rl = &rl;
		args[i].free_tokens = 0;
		REQUIRE(pthread_create(&t[i], NULL, worker, &args[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		total += args[i].free_tokens;
	}
	CHECK_INT(total, 100);
	/* 4000 reserved at 100/s: the last one waits 39 s */
	CHECK_U64(ratelimit_reserve(&rl), 39010 * MS);
	ratelimit_release(&rl);
}

TEST(ratelimit_acquire_stop)
{
	uint64_t now = 0;
	struct ratelimit rl;
	atomic_bool stop = true;

	init(&rl, &now, 1, 1);
	CHECK_INT(ratelimit_acquire(&rl, &stop), 0); /* a free token: no wait, no check */
	CHECK_INT(ratelimit_acquire(&rl, &stop), -ECANCELED);
	ratelimit_release(&rl);
}

TEST_MAIN(ratelimit_invalid, ratelimit_burst_then_wait, ratelimit_steady_rate, ratelimit_burst_capped,
          ratelimit_aimd, ratelimit_recovers_only_when_quiet, ratelimit_threads, ratelimit_acquire_stop)
