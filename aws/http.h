/*
 * http.h - aliasd's HTTP transport (libcurl): one request in, one response out.
 *
 * Transport only: no retries, no signing, no AWS knowledge (aws/client does
 * those).  Invariants:
 *  - TLS peer and host verification are always on; nothing here can turn them
 *    off.  The CA bundle is opt->ca_bundle, else $AWS_CA_BUNDLE, else the
 *    system's.
 *  - The standard proxy variables (http_proxy, https_proxy, HTTPS_PROXY,
 *    ALL_PROXY, NO_PROXY/no_proxy) are honoured, as libcurl does by default.
 *  - Response bodies are capped while receiving (opt->max_response_bytes): a
 *    larger answer stops the transfer with -E2BIG; headers are capped too
 *    (at most HTTP_MAX_HEADERS headers, HTTP_MAX_HEADER_BYTES in all).
 *  - No "Expect: 100-continue", no signals (CURLOPT_NOSIGNAL), redirects are
 *    not followed, only http:// and https:// URLs are accepted.
 *  - A client is used by one thread at a time; it keeps connections alive and
 *    reuses them for later requests to the same host.
 */
#ifndef ALIASD_AWS_HTTP_H
#define ALIASD_AWS_HTTP_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include "util/error.h"

#define HTTP_MAX_HEADERS      128
#define HTTP_MAX_HEADER_BYTES (64 * 1024)
#define HTTP_CANCEL_POLL_MS   1000 /* libcurl calls the progress callback at least once a second */

struct http_header {
	char *name;
	char *value;
};

struct http_options {
	long connect_timeout_ms;   /* 0 = 5000 */
	long total_timeout_ms;     /* 0 = 30000 (whole request, connect included) */
	size_t max_response_bytes; /* 0 = 16 MiB */
	const char *ca_bundle;     /* NULL = $AWS_CA_BUNDLE, else the system's; copied */
};

/*
 * A request body produced while it is sent, for uploads too big to copy
 * (aws/lambda's zip files).  read() writes up to n bytes into buf and
 * returns how many, 0 at the end (which comes after exactly `len` bytes), or
 * a negative errno; rewind() makes the next read() start again at the first
 * byte.  http_client_send rewinds the reader before sending (so the same
 * reader can be sent again by a retry) and whenever libcurl needs to send
 * the body again.
 */
struct http_body_reader {
	size_t len;
	long (*read)(void *ctx, char *buf, size_t n);
	int (*rewind)(void *ctx);
	void *ctx;
};

struct http_request {
	const char *method; /* "GET", "PUT", "POST", "DELETE", ... */
	const char *url;    /* http:// or https:// */
	const struct http_header
	    *headers; /* sent as given (names and values); may be NULL if n_headers == 0 */
	size_t n_headers;
	const void *body; /* may be NULL when body_len == 0 */
	size_t body_len;
	const struct http_body_reader *body_reader; /* instead of body (then NULL): a streamed body */
};

struct http_response {
	long status;                 /* 100..599 */
	struct buf body;             /* owned; NUL-terminated; marked secret (wiped on growth and release) */
	struct http_header *headers; /* owned; names as received, values trimmed; final response only */
	size_t n_headers;
};

#define HTTP_RESPONSE_INIT                                                                                   \
	{                                                                                                    \
		0, BUF_INIT, NULL, 0                                                                         \
	}

struct http_client; /* one per thread: one libcurl easy handle, connections kept alive and reused */

/* `opt` may be NULL (all defaults). Calls http_global_init(). */
int http_client_new(struct http_client **ret, const struct http_options *opt, struct error *err);
/* Accepts NULL. */
void http_client_free(struct http_client *c);

/*
 * Send `req` and wait for the whole response.  Any HTTP status is success
 * (returns >= 0 and fills *ret, which the caller releases with
 * http_response_release).  Transport failures, with the message in err and
 * *ret untouched:
 *   -ECONNREFUSED  nobody listening / host unreachable / DNS failure
 *   -ECONNRESET    connection reset, empty reply, closed mid-response
 *   -ETIMEDOUT     connect or total timeout
 *   -EPROTO        TLS failure, malformed response
 *   -E2BIG         response body (or headers) over the cap
 *   -EINVAL        bad URL or request
 *   -EIO           the body reader failed (its errno is in the message)
 *   -ECANCELED     the client's cancel flag was set (before or during the transfer)
 *   -ENOMEM
 */
int http_client_send(struct http_client *c, const struct http_request *req, struct http_response *ret,
                     struct error *err);

/*
 * `flag` (NULL: none) is a flag another thread or a signal handler may set:
 * a transfer of this client in flight is then aborted within about
 * HTTP_CANCEL_POLL_MS (libcurl's progress callback, called at least that
 * often while waiting) and fails with -ECANCELED; set before a send, the send
 * fails at once.  The flag must outlive the client's sends.
 */
void http_client_set_cancel(struct http_client *c, const atomic_bool *flag);

/*
 * Number of new connections the client opened during its last
 * http_client_send (0 when an existing connection was reused).  For tests
 * and metrics.
 */
long http_client_last_new_connections(const struct http_client *c);

/* Case-insensitive lookup; the first match, NULL if absent. */
const char *http_response_header(const struct http_response *r, const char *name);
/* Frees everything; `r` is HTTP_RESPONSE_INIT afterwards. Accepts an empty response. */
void http_response_release(struct http_response *r);

/*
 * RFC 3986 percent-encoding of s[0..len): the unreserved set A-Za-z0-9-_.~
 * is kept, every other byte becomes %XX (upper-case hex); encode_slash=false
 * keeps '/'.  Appends to `out`. -E2BIG/-ENOMEM from the buffer.
 */
int http_uri_encode(struct buf *out, const char *s, size_t len, bool encode_slash);
/*
 * The inverse: %XX sequences decoded (either case), '+' kept as '+' (this is
 * not form decoding).  A malformed escape ('%' not followed by two hex digits)
 * is copied literally.  Appends to `out`.
 */
int http_uri_decode(struct buf *out, const char *s, size_t len);

/* curl_global_init once, thread-safe (pthread_once). */
void http_global_init(void);

#endif
