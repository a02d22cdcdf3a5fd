/*
 * client.h - one AWS Lambda endpoint: signing, rate limiting, retries.
 *
 * An aws_client is shared by every thread of the process: the credential
 * provider, the two rate limiters and the counters are thread-safe, and
 * each call borrows an HTTP transport from a small pool (one libcurl handle
 * per concurrent caller, kept alive between calls).
 *
 * Endpoint, in this order: $AWS_ENDPOINT_URL_LAMBDA, $AWS_ENDPOINT_URL,
 * opt->endpoint, https://lambda.{region}.amazonaws.com.  Region: opt->region,
 * else aws_region_resolve() (AWS_REGION, AWS_DEFAULT_REGION, the profile).
 *
 * aws_client_call():
 *  - builds the URL: base + "/2015-03-31" + each path segment
 *    percent-encoded (names and ARNs: ':' -> %3A), query names and values
 *    encoded (pagination markers with + / = included);
 *  - waits for a token of the request's quota (GetFunction: its own bucket,
 *    Invoke (AWS_QUOTA_NONE): none, everything else: the shared
 *    control-plane bucket);
 *  - signs with SigV4 (service "lambda", path segments double-encoded);
 *  - sends; retries per aws/retry.h (429, 5xx, connection errors; a 429
 *    also slows the bucket down); a 403 is never retried;
 *  - returns 0 with the body for any 2xx, else a negative errno with the
 *    parsed AWS error in `struct aws_error`:
 *      404 -ENOENT, 409 -EBUSY, 412 -ESTALE, 429 -EAGAIN (retries used up),
 *      401/403 -EACCES, 400 -EINVAL (CodeStorageExceededException: -ENOSPC,
 *      TERMINAL, its message naming the region's full code storage and the advice
 *      to prune),
 *      other 4xx -EPROTO, 5xx -EIO, transport errors as aws/http.h says,
 *      -ECANCELED after aws_client_stop().
 *    and always the failure's kind in aerr->err.kind (aws_error_kind(),
 *    aws_transport_kind()): a credential lookup that fails (no source,
 *    expired, unreachable IMDS, credential_process failing) and a signing
 *    failure are ERROR_KIND_CREDENTIALS, a stop ERROR_KIND_CANCELED.  Decide
 *    by kind, not by errno: -ENOENT alone does not mean a missing resource
 *    (only ERROR_KIND_NOT_FOUND, from ResourceNotFoundException, does).
 *
 * Retried writes: when a write was applied but its answer was lost (reset
 * after the server acted), the retry may come back as 409 (CreateFunction,
 * CreateAlias) or 412 (a RevisionId that has moved on); callers observe
 * again and re-plan, as they do for any 409/412.
 *
 * Test knobs (environment): ALIASD_AWS_RETRY_BASE_MS, ALIASD_AWS_RETRY_AFTER_MAX_MS
 * (see aws/retry.h) shorten the waits.
 *
 * Stop: aws_client_stop() (async-signal-safe) aborts the transfer in flight
 * (within about HTTP_CANCEL_POLL_MS: a long Invoke does not hold a shutdown
 * up) and makes no new attempt and no new call; they fail with -ECANCELED
 * (ERROR_KIND_CANCELED).  A write aborted in flight may or may not have been
 * applied, as with a lost answer.
 *
 * The endpoint, region, credentials, HTTP pool and the sign-send-retry loop
 * are aws/core.h's (shared with aws/cloudwatch.h); this client adds the
 * REST-JSON protocol: URLs, JSON error answers, the two quotas, counters.
 */
#ifndef ALIASD_AWS_CLIENT_H
#define ALIASD_AWS_CLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/credentials.h"
#include "aws/http.h"
#include "aws/retry.h"
#include "util/buf.h"
#include "util/error.h"

#define AWS_LAMBDA_API_VERSION        "2015-03-31"
#define AWS_DEFAULT_GET_FUNCTION_RATE 50.0 /* per second; Lambda's quota is 100 */
#define AWS_DEFAULT_CONTROL_RATE      10.0 /* per second; Lambda's shared quota is 15 */
#define AWS_MAX_PATH_SEGMENTS         8
#define AWS_MAX_QUERY                 8

/*
 * What went wrong with an AWS call.  `err.code` is the negative errno the
 * call returned and `err.msg` a complete one-line message, e.g.
 * "GetAlias: ResourceNotFoundException (HTTP 404): Alias not found: ...".
 */
struct aws_error {
	struct error err;
	long status;        /* HTTP status of the last attempt; 0 = no HTTP answer */
	char code[128];     /* AWS error code ("ResourceConflictException"), "" if none */
	char message[512];  /* AWS message, "" if none */
	char operation[64]; /* "GetFunction", ... */
	char request_id[96];
	unsigned attempts; /* attempts made */
};

#define AWS_ERROR_INIT                                                                                       \
	{                                                                                                    \
		ERROR_INIT, 0, "", "", "", "", 0                                                             \
	}

void aws_error_clear(struct aws_error *e);
/* True when `e` holds AWS error code `code` (e may be NULL: false). */
bool aws_error_is(const struct aws_error *e, const char *code);
/* Record a local (non-HTTP) failure for `operation`; returns `code`. */
int aws_error_set(struct aws_error *e, int code, const char *operation, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

enum aws_quota {
	AWS_QUOTA_CONTROL = 0,  /* the shared 15 req/s quota */
	AWS_QUOTA_GET_FUNCTION, /* GetFunction's own 100 req/s */
	AWS_QUOTA_NONE,         /* not a control-plane call (Invoke): no token taken */
};

struct aws_client_options {
	const char *region;               /* NULL = aws_region_resolve(profile) */
	const char *profile;              /* NULL = $AWS_PROFILE or "default" */
	const char *endpoint;             /* the configuration's endpoint; env vars win */
	double get_function_rate;         /* 0 = AWS_DEFAULT_GET_FUNCTION_RATE */
	double control_rate;              /* 0 = AWS_DEFAULT_CONTROL_RATE */
	double min_rate;                  /* floor of the AIMD slow-down, 0 = ratelimit's default (0.5/s) */
	const struct retry_policy *retry; /* NULL = retry_policy_from_env() */
	const struct http_options *http;  /* NULL = defaults */
	/* Use these credentials instead of the default chain (tests); copied. */
	const struct aws_credentials *static_credentials;
	/*
	 * Else this provider (borrowed: it must outlive the client; e.g. an
	 * assume-role provider for another account, aws/credentials.h) instead
	 * of a default chain of the client's own.
	 */
	struct aws_credentials_provider *credentials_provider;
};

struct aws_client;

int aws_client_new(struct aws_client **ret, const struct aws_client_options *opt, struct error *err);
/* Accepts NULL.  No call may be in flight. */
void aws_client_free(struct aws_client *c);

const char *aws_client_region(const struct aws_client *c);
/* Base URL without a trailing slash, e.g. "http://127.0.0.1:4567". */
const char *aws_client_endpoint(const struct aws_client *c);

/* Async-signal-safe: no new attempts or calls after this one. */
void aws_client_stop(struct aws_client *c);
bool aws_client_stopped(const struct aws_client *c);

struct aws_query_param {
	const char *name;
	const char *value; /* NULL: the parameter is left out */
};

struct aws_request {
	const char *operation; /* "GetFunction", for messages and counters */
	const char *method;
	const char
	    *api_version; /* path prefix, NULL = AWS_LAMBDA_API_VERSION ("2016-08-19": GetAccountSettings) */
	/* path after /2015-03-31 (or api_version): segments, each encoded on its own ("functions", name,
	 * "aliases") */
	const char *segments[AWS_MAX_PATH_SEGMENTS];
	size_t n_segments;
	bool trailing_slash; /* "/functions/" (ListFunctions) */
	struct aws_query_param query[AWS_MAX_QUERY];
	size_t n_query;
	const char *body; /* JSON, NULL = none */
	size_t body_len;
	/* Instead of body: JSON produced while sending (aws/http.h) and the hex SHA-256 of all of it. */
	const struct http_body_reader *body_reader;
	const char *body_sha256_hex;
	enum aws_quota quota;
	/* Further headers, sent and signed (at most AWS_SEND_HEADERS, aws/core.h) */
	const struct http_header *headers;
	size_t n_headers;
	/* Not sent again once it may have reached the server: only a refused connection and a 429 are
	 * retried (Invoke: a function may have side effects) */
	bool no_resend;
	unsigned timeout_ms; /* bounds the whole call, retries included; 0 = the HTTP timeout per attempt */
};

/*
 * Send `req`.  On success (any 2xx) *ret_body receives the response body
 * (the caller releases it) and *ret_status the status.  See above for errors.
 * `ret_status` may be NULL.
 */
int aws_client_call(struct aws_client *c, const struct aws_request *req, long *ret_status,
                    struct buf *ret_body, struct aws_error *aerr);
/* The same, handing out the whole 2xx answer, headers included (release it with http_response_release). */
int aws_client_call_response(struct aws_client *c, const struct aws_request *req, struct http_response *ret,
                             struct aws_error *aerr);

/*
 * The path and query of `req` as sent on the wire, e.g.
 * "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af/aliases"
 * and "FunctionVersion=3&Marker=a%2Bb%3D".  Appended to the buffers.
 */
int aws_request_path(const struct aws_request *req, struct buf *ret_path, struct buf *ret_query);

/*
 * Error code and message from an error answer: `header` is the
 * X-Amzn-ErrorType value (may be NULL), `body` the JSON body (may be
 * anything).  Code: header first, else body "__type", else "code"/"Code";
 * anything after ':' is dropped, then anything up to the last '#'.
 * Message: "message" or "Message" ("" if none).  Always succeeds.
 */
void aws_error_parse(const char *header, const char *body, size_t body_len, char *ret_code, size_t code_size,
                     char *ret_message, size_t message_size);

/* errno for an HTTP error status and AWS code (see above). */
int aws_error_errno(long status, const char *code);

/*
 * The kind (util/error.h) of an HTTP error answer, by AWS error code first,
 * then by status; never by message text:
 *   ResourceNotFoundException                                   NOT_FOUND
 *   ResourceConflictException, PreconditionFailed(Exception),
 *     any other 409 / 412                                       CONFLICT
 *   TooManyRequestsException, Throttling(Exception), ServiceException,
 *     ResourceNotReadyException, any other 429 / 5xx            TRANSIENT
 *   ExpiredToken(Exception), UnrecognizedClientException,
 *     InvalidClientTokenId, InvalidSignatureException,
 *     SignatureDoesNotMatch, IncompleteSignature,
 *     MissingAuthenticationTokenException                       CREDENTIALS
 *   everything else: AccessDeniedException, 400
 *     InvalidParameterValueException, CodeStorageExceededException,
 *     a 404 without ResourceNotFoundException (a wrong endpoint)  TERMINAL
 */
enum error_kind aws_error_kind(long status, const char *code);
/*
 * The kind of a transport failure (aws/http.h): -ECONNREFUSED, -ECONNRESET,
 * -ETIMEDOUT TRANSIENT; -ECANCELED CANCELED; anything else (TLS failure,
 * oversized answer, bad URL) TERMINAL.
 */
enum error_kind aws_transport_kind(int code);

/* ---- counters, for metrics: one per (operation, outcome) -------------- */

#define AWS_COUNTERS_MAX 256

/* outcome: "ok", an AWS error code, "HTTP_<status>", or "transport" */
typedef void (*aws_counter_fn)(const char *operation, const char *outcome, uint64_t count, void *ctx);
/* Calls fn for every counter (under the lock: fn must not call the client). */
void aws_client_counters_foreach(struct aws_client *c, aws_counter_fn fn, void *ctx);
/* Number of retries and throttles so far. */
uint64_t aws_client_retries(struct aws_client *c);
uint64_t aws_client_throttles(struct aws_client *c);
/* The current adaptive rate of the control-plane bucket (requests/s, aws/ratelimit.h). */
double aws_client_control_rate(struct aws_client *c);

#endif
