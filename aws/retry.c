/*
 * retry.c - AWS "standard" retry policy (see retry.h).
 */
#include "aws/retry.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "util/clock.h"
#include "util/parse.h"

void retry_rng_seed(struct retry_rng *rng, uint64_t seed)
{
	/* splitmix64 step so that small seeds give unrelated streams */
	uint64_t z = seed + 0x9e3779b97f4a7c15ull;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	rng->state = z ? z : 0x2545f4914f6cdd1dull;
}

void retry_rng_seed_auto(struct retry_rng *rng)
{
	uint64_t ns = clock_monotonic_ns();

	retry_rng_seed(rng,
	               ns ^ (ns << 32) ^ ((uint64_t)getpid() << 16) ^ (uint64_t)(uintptr_t)pthread_self());
}

uint64_t retry_rng_next(struct retry_rng *rng)
{
	uint64_t x = rng->state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng->state = x;
	return x * 0x2545f4914f6cdd1dull;
}

static int env_u64(const char *name, uint64_t min, uint64_t max, uint64_t *ret, struct error *err)
{
	const char *v = getenv(name);
	struct error e = ERROR_INIT;
	int r;

	if (!v || !*v)
		return 0;
	r = parse_u64(v, min, max, ret, &e);
	if (r < 0)
		return error_set(err, -EINVAL, "%s: %s", name, e.msg);
	return 1;
}

int retry_policy_from_env(struct retry_policy *ret, struct error *err)
{
	struct retry_policy p = RETRY_POLICY_DEFAULT;
	uint64_t v;
	int r;

	r = env_u64("AWS_MAX_ATTEMPTS", 1, RETRY_MAX_ATTEMPTS_LIMIT, &v, err);
	if (r < 0)
		return r;
	if (r > 0)
		p.max_attempts = (unsigned)v;
	r = env_u64("ALIASD_AWS_RETRY_BASE_MS", 0, 60000, &v, err);
	if (r < 0)
		return r;
	if (r > 0)
		p.base_ms = v;
	r = env_u64("ALIASD_AWS_RETRY_AFTER_MAX_MS", 0, 60000, &v, err);
	if (r < 0)
		return r;
	if (r > 0)
		p.retry_after_max_ms = v;
	*ret = p;
	return 0;
}

bool retry_status_is_retryable(long status)
{
	return status == 429 || status == 500 || status == 502 || status == 503 || status == 504;
}

bool retry_errno_is_retryable(int e)
{
	return e == -ECONNRESET || e == -ETIMEDOUT || e == -ECONNREFUSED;
}

int retry_after_parse(const char *value, uint64_t *ret_ms)
{
	double s;

	if (!value)
		return -EINVAL;
	while (*value == ' ' || *value == '\t')
		value++;
	if (parse_double(value, 0, 86400.0 * 365, &s, NULL) < 0)
		return -EINVAL;
	*ret_ms = (uint64_t)llround(s * 1000.0);
	return 0;
}

uint64_t retry_backoff_ms(const struct retry_policy *p, unsigned attempt, struct retry_rng *rng)
{
	uint64_t ceiling = p->base_ms;

	if (attempt < 1)
		attempt = 1;
	for (unsigned i = 1; i < attempt && ceiling < p->cap_ms; i++)
		ceiling *= 2;
	if (ceiling > p->cap_ms)
		ceiling = p->cap_ms;
	if (ceiling == 0)
		return 0;
	return retry_rng_next(rng) % (ceiling + 1);
}

bool retry_decide(const struct retry_policy *p, unsigned attempt, int transport_err, long status,
                  const char *retry_after, struct retry_rng *rng, uint64_t *ret_delay_ms)
{
	uint64_t ra;

	if (attempt >= p->max_attempts)
		return false;
	if (transport_err < 0) {
		if (!retry_errno_is_retryable(transport_err))
			return false;
	} else if (!retry_status_is_retryable(status)) {
		return false;
	}
	if (transport_err >= 0 && retry_after && retry_after_parse(retry_after, &ra) == 0) {
		*ret_delay_ms = ra > p->retry_after_max_ms ? p->retry_after_max_ms : ra;
		return true;
	}
	*ret_delay_ms = retry_backoff_ms(p, attempt, rng);
	return true;
}
