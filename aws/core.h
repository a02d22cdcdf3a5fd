/*
 * core.h - what every AWS service client shares: endpoint resolution, the
 * region, credentials, an HTTP connection pool, a stop flag and the
 * sign-send-retry loop.  The protocol (URL, body, how an error answer reads)
 * stays with the service client (aws/client.c for Lambda's REST-JSON,
 * aws/cloudwatch.c for the Query protocol), which plugs it in through
 * struct aws_protocol.
 *
 * Endpoint, in this order (the SDK convention): $AWS_ENDPOINT_URL_<SERVICE>,
 * $AWS_ENDPOINT_URL, the configuration's endpoint, the service's default
 * https://<prefix>.<region>.amazonaws.com (".cn" appended for cn-* regions
 * when the service asks for it).
 *
 * A core is shared by every thread: the credential provider and the pool are
 * thread-safe, each send borrows one libcurl handle (kept alive between
 * calls) and gives it back.
 */
#ifndef ALIASD_AWS_CORE_H
#define ALIASD_AWS_CORE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include "aws/client.h"
#include "aws/credentials.h"
#include "aws/http.h"
#include "aws/ratelimit.h"
#include "aws/retry.h"
#include "aws/sigv4.h"
#include "util/error.h"

#define AWS_CORE_POOL_MAX 32

/*
 * Split an endpoint URL (http:// or https://, host[:port][/path], no user,
 * query or fragment, nothing below ' ' or above '~') into *ret_base (the URL
 * without trailing slashes) and *ret_host (the authority as signed: lower
 * case, the scheme's default port dropped).  Both malloc'ed.
 */
int aws_endpoint_parse(const char *url, char **ret_base, char **ret_host, struct error *err);

/*
 * The endpoint URL for a service (see above), malloc'ed in *ret.
 * `env_service` is the suffix of its variable ("LAMBDA", "CLOUDWATCH"),
 * `config_endpoint` may be NULL, `host_prefix` names the default host
 * ("lambda", "monitoring"); `china_suffix` appends ".cn" for cn-* regions.
 */
int aws_endpoint_resolve(const char *env_service, const char *config_endpoint, const char *host_prefix,
                         bool china_suffix, const char *region, char **ret, struct error *err);

struct aws_core_options {
	const char *env_service; /* "LAMBDA" */
	const char *host_prefix; /* "lambda" */
	bool china_suffix;
	const char *region_hint;   /* appended to the "no AWS region" message, e.g. ", or pass --region" */
	size_t pool_max;           /* 1..AWS_CORE_POOL_MAX; 0 = AWS_CORE_POOL_MAX */
	size_t max_response_bytes; /* when opt->http leaves it 0; 0 = aws/http.h's default */
};

struct aws_core {
	char *region;
	char *endpoint; /* scheme://authority[/base], no trailing slash */
	char *host;     /* authority as signed (default port dropped) */
	struct aws_credentials_provider *provider;
	bool borrowed_provider; /* opt->credentials_provider: not freed here */
	struct aws_credentials static_creds;
	bool has_static;
	struct retry_policy retry;
	struct http_options http_opt;
	bool has_http_opt;
	atomic_bool stop;
	atomic_uint_fast64_t retries;

	pthread_mutex_t pool_lock;
	struct http_client *pool[AWS_CORE_POOL_MAX];
	size_t n_pool, pool_max;
};

/*
 * Fill `core` from the client options (region, profile, endpoint, retry,
 * http, static_credentials) and the service's `so`.  On failure `core` is
 * released already.
 */
int aws_core_init(struct aws_core *core, const struct aws_client_options *opt,
                  const struct aws_core_options *so, struct error *err);
/* Accepts a zeroed core.  No send may be in flight. */
void aws_core_release(struct aws_core *core);

/* Async-signal-safe. */
void aws_core_stop(struct aws_core *core);
bool aws_core_stopped(const struct aws_core *core);

/*
 * A protocol's error reader: fill `aerr` (cleared, never NULL) from the
 * error answer `resp` to `operation` (status, code, message, request id, a
 * complete message and its kind) and return the negative errno;
 * *ret_throttle: the answer asks to slow down (the rate limiter slows down,
 * the attempt is retried as a 429 is).  `creds` were used to sign.
 */
typedef int (*aws_error_reader)(const char *operation, const struct http_response *resp,
                                const struct aws_credentials *creds, struct aws_error *aerr,
                                bool *ret_throttle, void *ctx);
/* Outcome counter: "ok" or "transport" (error codes: the reader counts them). */
typedef void (*aws_outcome_fn)(const char *operation, const char *outcome, void *ctx);

struct aws_protocol {
	const char *service; /* SigV4 service: "lambda", "monitoring" */
	aws_error_reader read_error;
	aws_outcome_fn count; /* NULL: nothing counted */
	void *ctx;
	/* credential failures say "<operation>: " first */
	bool prefix_credential_errors;
};

struct aws_send {
	const char *operation; /* for messages and counters */
	const char *method;
	const char *url;        /* the full URL */
	const char *sign_path;  /* the canonical URI */
	const char *sign_query; /* the query as sent, NULL = none */
	/* Content-Type, sent when there is a body; signed too when sign_content_type */
	const char *content_type;
	bool sign_content_type;
	const char *body; /* NULL = none */
	size_t body_len;
	/* Instead of body: streamed (aws/http.h) and the hex SHA-256 of all of it. */
	const struct http_body_reader *body_reader;
	const char *body_sha256_hex;
	struct ratelimit *rl; /* a token per attempt; slowed down on throttling; NULL = no limit */
	/* Further headers, sent and signed (Invoke's X-Amz-Invocation-Type); at most AWS_SEND_HEADERS */
	const struct http_header *headers;
	size_t n_headers;
	/*
	 * The request may have an effect (Invoke): once it may have reached the
	 * server it is not sent again.  Only a refused connection and a
	 * throttling answer (429: nothing ran) are retried.
	 */
	bool no_resend;
	/*
	 * Bounds the whole call, retries and their waits included (-ETIMEDOUT
	 * after it); 0 = each attempt has the HTTP options' total timeout.
	 */
	unsigned timeout_ms;
};

#define AWS_SEND_HEADERS 4

/*
 * Send `req` with retries (aws/retry.h): a token of req->rl, fresh
 * credentials, SigV4 signature, then the transport.  Returns 0 with the body
 * of any 2xx answer in *ret_body (may be NULL) and its status in *ret_status
 * (may be NULL), else a negative errno with aerr filled (see aws/client.h):
 * -ECANCELED (CANCELED) after aws_core_stop(), credential and signing
 * failures CREDENTIALS, transport errors by aws_transport_kind(), error
 * answers as the protocol's reader says.
 */
int aws_core_send(struct aws_core *core, const struct aws_protocol *proto, const struct aws_send *req,
                  long *ret_status, struct buf *ret_body, struct aws_error *aerr);
/*
 * The same, handing out the whole 2xx answer (status, headers, body) in
 * *ret (released with http_response_release; written only on success).
 */
int aws_core_send_response(struct aws_core *core, const struct aws_protocol *proto,
                           const struct aws_send *req, struct http_response *ret, struct aws_error *aerr);

/*
 * The headers one signed request sends: X-Amz-Date, Authorization,
 * Content-Type (when `content_type`), X-Amz-Security-Token (when the
 * credentials have one).  `p` is signed as given, with "host" (and
 * "content-type" when `sign_content_type`) as its headers, and p->headers
 * (at most AWS_SEND_HEADERS; the caller sends them) besides.  ret_headers has
 * room for AWS_SIGNED_HEADERS entries pointing into `sig`, `creds` and
 * `content_type`.  Returns the count.
 */
#define AWS_SIGNED_HEADERS 4
int aws_core_sign(struct sigv4_params *p, const char *host, const char *content_type, bool sign_content_type,
                  const struct aws_credentials *creds, struct sigv4_result *sig,
                  struct http_header ret_headers[AWS_SIGNED_HEADERS], struct error *err);

#endif
