/*
 * test_aws_retry.c - the standard retry policy with a seeded generator.
 */
#include <errno.h>
#include <stdlib.h>

#include "aws/retry.h"
#include "tests/unit/harness.h"

TEST(retry_retryable)
{
	static const struct {
		long status;
		bool retry;
	} cases[] = {
	    {200, false}, {400, false}, {403, false}, {404, false}, {409, false}, {412, false},
	    {429, true},  {500, true},  {501, false}, {502, true},  {503, true},  {504, true},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECKF(retry_status_is_retryable(cases[i].status) == cases[i].retry, "status %ld",
		       cases[i].status);
	CHECK(retry_errno_is_retryable(-ECONNRESET));
	CHECK(retry_errno_is_retryable(-ETIMEDOUT));
	CHECK(retry_errno_is_retryable(-ECONNREFUSED));
	CHECK(!retry_errno_is_retryable(-EPROTO));
	CHECK(!retry_errno_is_retryable(-E2BIG));
	CHECK(!retry_errno_is_retryable(-EINVAL));
}

TEST(retry_rng_reproducible)
{
	struct retry_rng a, b, c;

	retry_rng_seed(&a, 42);
	retry_rng_seed(&b, 42);
	retry_rng_seed(&c, 43);
	for (int i = 0; i < 100; i++) {
		uint64_t x = retry_rng_next(&a), y = retry_rng_next(&b), z = retry_rng_next(&c);

		CHECK(x == y);
		CHECK(x != z);
	}
	retry_rng_seed(&a, 0);
	CHECK(a.state != 0);
}

TEST(retry_backoff_bounds)
{
	struct retry_policy p = RETRY_POLICY_DEFAULT;
	struct retry_rng rng;

	retry_rng_seed(&rng, 7);
	for (unsigned attempt = 1; attempt <= 12; attempt++) {
		uint64_t ceiling = 1000ull << (attempt - 1), max_seen = 0, min_seen = UINT64_MAX;

		if (ceiling > 20000)
			ceiling = 20000;
		for (int i = 0; i < 2000; i++) {
			uint64_t d = retry_backoff_ms(&p, attempt, &rng);

			CHECKF(d <= ceiling, "attempt %u: %llu > %llu", attempt, (unsigned long long)d,
			       (unsigned long long)ceiling);
			if (d > max_seen)
				max_seen = d;
			if (d < min_seen)
				min_seen = d;
		}
		/* full jitter: spread over the whole range */
		CHECKF(max_seen > ceiling * 9 / 10, "attempt %u: max %llu", attempt,
		       (unsigned long long)max_seen);
		CHECKF(min_seen < ceiling / 10 + 1, "attempt %u: min %llu", attempt,
		       (unsigned long long)min_seen);
	}
	/* huge attempt numbers do not overflow */
	CHECK(retry_backoff_ms(&p, 4000000000u, &rng) <= 20000);
	p.base_ms = 0;
	CHECK_U64(retry_backoff_ms(&p, 3, &rng), 0);
}

TEST(retry_after)
{
	uint64_t ms = 7;

	CHECK_INT(retry_after_parse("3", &ms), 0);
	CHECK_U64(ms, 3000);
	CHECK_INT(retry_after_parse("0", &ms), 0);
	CHECK_U64(ms, 0);
	CHECK_INT(retry_after_parse("1.5", &ms), 0);
	CHECK_U64(ms, 1500);
	CHECK_INT(retry_after_parse(" 2", &ms), 0);
	CHECK_U64(ms, 2000);
	ms = 7;
	CHECK_INT(retry_after_parse("", &ms), -EINVAL);
	CHECK_INT(retry_after_parse("-1", &ms), -EINVAL);
	CHECK_INT(retry_after_parse("Wed, 21 Oct 2015 07:28:00 GMT", &ms), -EINVAL);
	CHECK_INT(retry_after_parse("3s", &ms), -EINVAL);
	CHECK_INT(retry_after_parse("nan", &ms), -EINVAL);
	CHECK_INT(retry_after_parse(NULL, &ms), -EINVAL);
	CHECK_U64(ms, 7);
}

TEST(retry_decide_cases)
{
	struct retry_policy p = RETRY_POLICY_DEFAULT;
	struct retry_rng rng;
	uint64_t d = 12345;

	retry_rng_seed(&rng, 1);
	CHECK(retry_decide(&p, 1, 0, 500, NULL, &rng, &d));
	CHECK(d <= 1000);
	CHECK(retry_decide(&p, 2, 0, 503, NULL, &rng, &d));
	CHECK(d <= 2000);
	CHECK(!retry_decide(&p, 3, 0, 503, NULL, &rng, &d)); /* 3 attempts made */
	CHECK(!retry_decide(&p, 1, 0, 409, NULL, &rng, &d));
	CHECK(!retry_decide(&p, 1, 0, 412, NULL, &rng, &d));
	CHECK(!retry_decide(&p, 1, 0, 403, NULL, &rng, &d));
	CHECK(!retry_decide(&p, 1, 0, 400, NULL, &rng, &d));
	CHECK(retry_decide(&p, 1, -ECONNRESET, 0, NULL, &rng, &d));
	CHECK(!retry_decide(&p, 1, -EPROTO, 0, NULL, &rng, &d));
	/* Retry-After honoured and bounded */
	CHECK(retry_decide(&p, 1, 0, 429, "4", &rng, &d));
	CHECK_U64(d, 4000);
	CHECK(retry_decide(&p, 1, 0, 429, "3600", &rng, &d));
	CHECK_U64(d, 20000);
	CHECK(retry_decide(&p, 1, 0, 429, "garbage", &rng, &d));
	CHECK(d <= 1000);
	p.max_attempts = 1;
	CHECK(!retry_decide(&p, 1, 0, 500, NULL, &rng, &d));
}

TEST(retry_env)
{
	struct retry_policy p = {0, 0, 0, 0};
	struct error err = ERROR_INIT;

	unsetenv("AWS_MAX_ATTEMPTS");
	unsetenv("ALIASD_AWS_RETRY_BASE_MS");
	unsetenv("ALIASD_AWS_RETRY_AFTER_MAX_MS");
	CHECK_INT(retry_policy_from_env(&p, &err), 0);
	CHECK_INT(p.max_attempts, 3);
	CHECK_U64(p.base_ms, 1000);
	setenv("AWS_MAX_ATTEMPTS", "10", 1);
	setenv("ALIASD_AWS_RETRY_BASE_MS", "20", 1);
	CHECK_INT(retry_policy_from_env(&p, &err), 0);
	CHECK_INT(p.max_attempts, 10);
	CHECK_U64(p.base_ms, 20);
	setenv("AWS_MAX_ATTEMPTS", "0", 1);
	CHECK_INT(retry_policy_from_env(&p, &err), -EINVAL);
	CHECK(strstr(err.msg, "AWS_MAX_ATTEMPTS") != NULL);
	CHECK_INT(p.max_attempts, 10);
	setenv("AWS_MAX_ATTEMPTS", "x", 1);
	CHECK_INT(retry_policy_from_env(&p, &err), -EINVAL);
	unsetenv("AWS_MAX_ATTEMPTS");
	unsetenv("ALIASD_AWS_RETRY_BASE_MS");
}

TEST_MAIN(retry_retryable, retry_rng_reproducible, retry_backoff_bounds, retry_after, retry_decide_cases,
          retry_env)
