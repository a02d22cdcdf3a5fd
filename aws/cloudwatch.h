/*
 * cloudwatch.h - CloudWatch DescribeAlarms over the Query protocol.
 *
 * What a rollout's guard needs (DESIGN §6): the state of a few alarms, by
 * name, and which of them do not exist.  One call covers up to
 * CLOUDWATCH_NAMES_PER_CALL names (more are sent in several calls), every
 * page of the answer is read (NextToken, at most CLOUDWATCH_MAX_PAGES).
 *
 * Wire (botocore's cloudwatch 2010-08-01 model): POST / with
 *   Content-Type: application/x-www-form-urlencoded; charset=utf-8
 *   Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1=..
 *   &AlarmTypes.member.1=CompositeAlarm&AlarmTypes.member.2=MetricAlarm&MaxRecords=100[&NextToken=..]
 * (both alarm types: without AlarmTypes AWS leaves composite alarms out, and
 * a declared composite alarm would look missing)
 * signed with SigV4, service "monitoring" (the body's SHA-256 is the payload
 * hash, the canonical URI is the endpoint's path, "/" by default).  Answers
 * are XML, read with aws/xml (bounded, no DTD).
 *
 * Endpoint, in this order (the SDK convention, as aws/client.h does for
 * Lambda): $AWS_ENDPOINT_URL_CLOUDWATCH, $AWS_ENDPOINT_URL, opt->endpoint
 * (the configuration's aws.endpoint), https://monitoring.{region}.amazonaws.com
 * (.com.cn for cn-* regions).
 *
 * Errors: a negative errno, and aerr->err carries the message and an
 * error_kind (util/error.h), from the AWS error code first, else the status:
 *   Throttling, ThrottlingException, RequestLimitExceeded, 429  -EAGAIN   TRANSIENT (retried)
 *   InternalFailure, ServiceUnavailable, 5xx                    -EIO      TRANSIENT (retried)
 *   transport: -ECONNREFUSED, -ECONNRESET, -ETIMEDOUT            as is     TRANSIENT (retried)
 *   InvalidClientTokenId, SignatureDoesNotMatch, ExpiredToken,
 *     IncompleteSignature, MissingAuthenticationToken, ...       -EACCES   CREDENTIALS
 *   no credentials / a failing credential source                 as is     CREDENTIALS
 *   AccessDenied, AccessDeniedException, OptInRequired, 401/403  -EACCES   TERMINAL
 *   ResourceNotFound, 404                                        -ENOENT   NOT_FOUND
 *   InvalidParameterValue, ValidationError, MissingParameter,
 *     InvalidNextToken, ..., other 400                           -EINVAL   TERMINAL
 *   a 2xx answer that is not a DescribeAlarmsResponse            -EBADMSG  TRANSIENT
 *   aws_client_stop-like cloudwatch_client_stop()                -ECANCELED CANCELED
 * Retries follow aws/retry.h (AWS_MAX_ATTEMPTS), a throttling answer also
 * slows the client's rate limiter down (aws/ratelimit.h).
 *
 * Thread safety: a client is shared by every thread (credentials, rate
 * limiter and HTTP pool are thread-safe).
 *
 * The endpoint, credentials, HTTP pool and the sign-send-retry loop are
 * aws/core.h's, shared with the Lambda client; form bodies and error answers
 * are aws/query.h's.
 */
#ifndef ALIASD_AWS_CLOUDWATCH_H
#define ALIASD_AWS_CLOUDWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "aws/client.h"
#include "aws/sigv4.h"
#include "util/buf.h"
#include "util/error.h"

#define CLOUDWATCH_API_VERSION    "2010-08-01"
#define CLOUDWATCH_NAMES_PER_CALL 100  /* AWS's limit for AlarmNames */
#define CLOUDWATCH_MAX_NAMES      1000 /* per cloudwatch_alarms_describe() */
#define CLOUDWATCH_MAX_PAGES      100
#define CLOUDWATCH_NAME_MAX       255 /* an alarm name is 1..255 characters */
#define CLOUDWATCH_DEFAULT_RATE   5.0 /* calls per second; DescribeAlarms' quota is 9 */
#define CLOUDWATCH_MAX_RESPONSE   ((size_t)4 << 20)

enum cloudwatch_state {
	CLOUDWATCH_MISSING = 0, /* the alarm does not exist (absent from the answer) */
	CLOUDWATCH_OK,
	CLOUDWATCH_ALARM,
	CLOUDWATCH_INSUFFICIENT_DATA,
	CLOUDWATCH_UNKNOWN, /* a StateValue this client does not know */
};

/* "missing", "OK", "ALARM", "INSUFFICIENT_DATA", "unknown". */
const char *cloudwatch_state_name(enum cloudwatch_state s);

struct cloudwatch_alarm {
	char *name; /* as requested */
	enum cloudwatch_state state;
	char *reason;     /* StateReason, "" if none (never NULL) */
	char updated[40]; /* StateUpdatedTimestamp as sent, "" if none */
};

/* One entry per distinct requested name, in the order first requested. */
struct cloudwatch_alarms {
	struct cloudwatch_alarm *items;
	size_t n;
};

#define CLOUDWATCH_ALARMS_INIT                                                                               \
	{                                                                                                    \
		NULL, 0                                                                                      \
	}

/* Frees every item; `a` is empty afterwards.  Accepts an empty struct. */
void cloudwatch_alarms_release(struct cloudwatch_alarms *a);
/* The first alarm in ALARM, else NULL. */
const struct cloudwatch_alarm *cloudwatch_alarms_first_in_alarm(const struct cloudwatch_alarms *a);
/* The first missing alarm, else NULL. */
const struct cloudwatch_alarm *cloudwatch_alarms_first_missing(const struct cloudwatch_alarms *a);

struct cloudwatch_client;

/*
 * `opt` may be NULL.  Used fields: region, profile, endpoint, retry, http,
 * static_credentials, min_rate, and control_rate as this client's rate
 * (0 = CLOUDWATCH_DEFAULT_RATE).
 */
int cloudwatch_client_new(struct cloudwatch_client **ret, const struct aws_client_options *opt,
                          struct error *err);
/* Accepts NULL.  No call may be in flight. */
void cloudwatch_client_free(struct cloudwatch_client *c);
/* Base URL without a trailing slash. */
const char *cloudwatch_client_endpoint(const struct cloudwatch_client *c);
const char *cloudwatch_client_region(const struct cloudwatch_client *c);
/* Async-signal-safe: no new attempts or calls after this. */
void cloudwatch_client_stop(struct cloudwatch_client *c);

/*
 * The state of each of names[0..n) (1..CLOUDWATCH_MAX_NAMES names, each
 * 1..255 bytes, duplicates counted once).  *ret is filled only on success
 * (free with cloudwatch_alarms_release).  Errors as above; -EINVAL for bad names.
 */
int cloudwatch_alarms_describe(struct cloudwatch_client *c, const char *const *names, size_t n,
                               struct cloudwatch_alarms *ret, struct aws_error *aerr);

/* ---- pure pieces, exposed for unit tests, tools and fuzzing ------------------------ */

/* The form body of one DescribeAlarms call (names[0..n), n <= 100), appended to out. */
int cloudwatch_describe_body(struct buf *out, const char *const *names, size_t n, const char *next_token);

/*
 * Read one DescribeAlarms answer: the state of every alarm in `into` that the
 * answer names is set (MetricAlarms and CompositeAlarms members); others are
 * left as they are.  *ret_next_token gets a malloc'ed NextToken, or NULL on
 * the last page.  -EBADMSG for anything but a DescribeAlarmsResponse.
 */
int cloudwatch_describe_parse(const char *text, size_t len, struct cloudwatch_alarms *into,
                              char **ret_next_token, struct error *err);

/*
 * Code, message and request id of an error answer
 * (<ErrorResponse><Error><Type/><Code/><Message/></Error><RequestId/>); ""
 * for what is absent (the body may be anything).  Always succeeds.
 */
void cloudwatch_error_parse(const char *body, size_t len, char *ret_code, size_t code_size, char *ret_message,
                            size_t message_size, char *ret_request_id, size_t request_id_size);

/* errno and kind for an error answer (table above). *ret_throttle: slow down and retry. */
int cloudwatch_error_classify(long status, const char *code, enum error_kind *ret_kind, bool *ret_throttle);

/*
 * The endpoint (see above), malloc'ed in *ret.  `config_endpoint` may be NULL.
 */
int cloudwatch_endpoint_resolve(const char *config_endpoint, const char *region, char **ret,
                                struct error *err);

/*
 * Sign one Query request for `host` and `path` at time `now`: fills the
 * header list a request sends (Host is implied by the URL; X-Amz-Date,
 * Authorization, Content-Type, X-Amz-Security-Token when the credentials have
 * one).  ret_headers has room for CLOUDWATCH_SIGNED_HEADERS entries pointing
 * into `sig` and `creds`, which must outlive them.  Returns the count.
 */
#define CLOUDWATCH_SIGNED_HEADERS 5
#define CLOUDWATCH_CONTENT_TYPE   "application/x-www-form-urlencoded; charset=utf-8"
int cloudwatch_request_sign(const char *host, const char *path, const char *region,
                            const struct aws_credentials *creds, time_t now, const char *body,
                            size_t body_len, struct sigv4_result *sig,
                            struct http_header ret_headers[CLOUDWATCH_SIGNED_HEADERS], struct error *err);

#endif
