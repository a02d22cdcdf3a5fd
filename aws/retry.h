/*
 * retry.h - the AWS "standard" retry policy, as pure functions.
 *
 * Retryable: HTTP 429, 500, 502, 503, 504 and transport failures
 * (-ECONNRESET, -ETIMEDOUT, -ECONNREFUSED).  Not retryable: every other
 * status, in particular 409 (an update in progress: the reconciler waits and
 * re-plans, not the client), 412, 400 and 403.
 *
 * Attempts: AWS_MAX_ATTEMPTS (default 3), counting the first try.
 * Backoff before retry number `attempt` (1 = the first retry):
 *     random in [0, min(cap_ms, base_ms * 2^(attempt-1))]   ("full jitter")
 * A Retry-After header (delta seconds) replaces the backoff, bounded by
 * retry_after_max_ms.
 *
 * The random source is a small seeded generator so tests are reproducible.
 */
#ifndef ALIASD_AWS_RETRY_H
#define ALIASD_AWS_RETRY_H

#include <stdbool.h>
#include <stdint.h>

#include "util/error.h"

#define RETRY_DEFAULT_MAX_ATTEMPTS       3
#define RETRY_MAX_ATTEMPTS_LIMIT         100
#define RETRY_DEFAULT_BASE_MS            1000
#define RETRY_DEFAULT_CAP_MS             20000
#define RETRY_DEFAULT_RETRY_AFTER_MAX_MS 20000

struct retry_policy {
	unsigned max_attempts;       /* >= 1, first try included */
	uint64_t base_ms;            /* backoff base */
	uint64_t cap_ms;             /* backoff cap */
	uint64_t retry_after_max_ms; /* bound on a Retry-After delay */
};

#define RETRY_POLICY_DEFAULT                                                                                 \
	{                                                                                                    \
		RETRY_DEFAULT_MAX_ATTEMPTS, RETRY_DEFAULT_BASE_MS, RETRY_DEFAULT_CAP_MS,                     \
		    RETRY_DEFAULT_RETRY_AFTER_MAX_MS                                                         \
	}

/* xorshift64* state; never 0. */
struct retry_rng {
	uint64_t state;
};

void retry_rng_seed(struct retry_rng *rng, uint64_t seed);
/* Seed from the clock, pid and thread (not for cryptography). */
void retry_rng_seed_auto(struct retry_rng *rng);
uint64_t retry_rng_next(struct retry_rng *rng);

/*
 * The policy from the environment: AWS_MAX_ATTEMPTS (1..100), and, for tests,
 * ALIASD_AWS_RETRY_BASE_MS (0..60000) and ALIASD_AWS_RETRY_AFTER_MAX_MS.
 * Unset variables keep the defaults; a malformed one is -EINVAL naming it.
 */
int retry_policy_from_env(struct retry_policy *ret, struct error *err);

bool retry_status_is_retryable(long status);
/* `e` is a negative errno from the transport. */
bool retry_errno_is_retryable(int e);

/*
 * Retry-After as delta seconds ("3", "0", "1.5"): milliseconds in *ret_ms.
 * -EINVAL for anything else (HTTP dates are not used by AWS).
 */
int retry_after_parse(const char *value, uint64_t *ret_ms);

/* Full-jitter backoff before retry number `attempt` (>= 1). */
uint64_t retry_backoff_ms(const struct retry_policy *p, unsigned attempt, struct retry_rng *rng);

/*
 * Decide after attempt number `attempt` (1 = the first try) failed, either
 * with a transport error (transport_err < 0, status ignored) or with HTTP
 * `status`.  `retry_after` is the header value or NULL.  Returns true and
 * the delay in *ret_delay_ms when another attempt should be made.
 */
bool retry_decide(const struct retry_policy *p, unsigned attempt, int transport_err, long status,
                  const char *retry_after, struct retry_rng *rng, uint64_t *ret_delay_ms);

#endif
