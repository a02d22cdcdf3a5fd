/*
 * httpd.h - the daemon's HTTP endpoint (libmicrohttpd, one internal thread).
 *
 *   GET  /healthz       200 "ok\n" (or 503 with the reason from the callback)
 *   GET  /metrics       200 Prometheus text (text/plain; version=0.0.4)
 *   GET  /status        200 JSON from the callback
 *   POST /hooks/github  GitHub webhook: X-GitHub-Event push or ping,
 *                       X-Hub-Signature-256 "sha256=<hex HMAC-SHA256(secret, body)>"
 *                       verified in constant time (CRYPTO_memcmp) before
 *                       anything else happens.  ping: 200.  push: the `ref`
 *                       is passed to the callback (which wakes the loop), 202.
 *                       Missing/bad signature or no secret configured: 401,
 *                       nothing triggered.  Body > HTTPD_BODY_MAX: 413.
 *                       Other events: 202 and ignored.
 *   anything else       404; a known path with the wrong method 405 (+ Allow).
 *
 * Binds to the configured address only (loopback by default).  Callbacks run
 * on the server's thread: they must be quick and thread-safe with respect to
 * the daemon loop.  The webhook secret can be replaced at any time
 * (httpd_secret_set, SIGHUP reload); it is kept in a wiped buffer.
 *
 * Slow clients (struct httpd_limits, defaults below) cannot lock others out:
 *   - a request's headers must arrive within header_ms of the connection (on
 *     a kept-alive connection: within the larger of header_ms and idle_s + 1 s
 *     of the end of the previous request, so that MHD closes idle ones), and
 *     its body and the reply within body_ms of the headers: total deadlines,
 *     not inactivity timeouts (a client trickling 1 byte/s is cut off all the
 *     same; MHD's idle timeout idle_s still applies on top);
 *   - at most `connections` connections in all and `per_ip` per client
 *     address (beyond that MHD closes new ones at once); HTTPD_EVICT_MARGIN
 *     of both are kept free by cutting off the oldest connections still
 *     waiting for their headers (for at least HTTPD_EVICT_AGE_MS), so health
 *     checks from the same address as a flood (127.0.0.1) still get in;
 *   - at most `webhooks` webhook bodies are read at once; beyond that a POST
 *     /hooks/github gets 503 (Retry-After, connection closed) at once, so the
 *     connections left over answer /healthz and /metrics.
 * Cut-offs are done by a small watchdog thread (shutdown(2) on the socket,
 * which MHD then closes) and counted in httpd_stats.
 */
#ifndef ALIASD_CMD_HTTPD_H
#define ALIASD_CMD_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include "manifest/source.h"
#include "util/buf.h"
#include "util/error.h"

#define HTTPD_BODY_MAX ((size_t)1 << 20)

/* Defaults of struct httpd_limits. */
#define HTTPD_CONNECTIONS_MAX    256   /* in all */
#define HTTPD_CONNECTIONS_PER_IP 128   /* per client address */
#define HTTPD_WEBHOOKS_MAX       16    /* webhook bodies being read at once */
#define HTTPD_HEADER_TIMEOUT_MS  10000 /* connection (or previous request) -> headers complete */
#define HTTPD_BODY_TIMEOUT_MS    10000 /* headers -> body read and reply sent (GitHub waits 10 s) */
#define HTTPD_TIMEOUT_S          10    /* MHD's inactivity timeout */

#define HTTPD_EVICT_MARGIN 8    /* connections kept free by evicting header-less ones */
#define HTTPD_EVICT_AGE_MS 1000 /* a connection younger than this is never evicted */

struct httpd_limits {
	unsigned connections, per_ip, webhooks;
	unsigned header_ms, body_ms, idle_s;
};

#define HTTPD_LIMITS_DEFAULT                                                                                 \
	{                                                                                                    \
		HTTPD_CONNECTIONS_MAX, HTTPD_CONNECTIONS_PER_IP, HTTPD_WEBHOOKS_MAX,                         \
		    HTTPD_HEADER_TIMEOUT_MS, HTTPD_BODY_TIMEOUT_MS, HTTPD_TIMEOUT_S                          \
	}

/* Counters since start (read with httpd_stats_get; for /metrics). */
struct httpd_stats {
	uint64_t cut_headers;   /* connections cut off: headers too slow */
	uint64_t cut_bodies;    /* connections cut off: body or reply too slow */
	uint64_t evicted;       /* header-less connections evicted to make room */
	uint64_t webhooks_busy; /* webhooks answered 503: too many at once */
	unsigned connections;   /* open now */
};

struct httpd_handlers {
	void *ctx;
	/* Append the /status JSON to `out`; negative errno -> 500. */
	int (*status)(void *ctx, struct buf *out);
	/* Append the /metrics text to `out`; negative errno -> 500. */
	int (*metrics)(void *ctx, struct buf *out);
	/* 0 healthy; negative errno unhealthy with a reason in `out` -> 503.  NULL: always healthy. */
	int (*health)(void *ctx, struct buf *out);
	/* A verified push for `ref` ("refs/heads/main"; "" if the payload has none). */
	void (*push)(void *ctx, const char *ref, const char *after);
};

struct httpd;

/*
 * Start serving on host:port (an IPv4 or IPv6 literal; port 0 = any free
 * port, see httpd_port).  `secret` may be NULL (webhooks then refused).
 * Handlers are copied.  -EADDRINUSE, -EACCES, -EINVAL (bad address) with `err`.
 */
int httpd_start(struct httpd **ret, const char *host, uint16_t port, const char *secret, size_t secret_len,
                const struct httpd_handlers *h, struct error *err);
/* Same with explicit limits (NULL = HTTPD_LIMITS_DEFAULT); -EINVAL when a limit is 0. */
int httpd_start_limits(struct httpd **ret, const char *host, uint16_t port, const char *secret,
                       size_t secret_len, const struct httpd_handlers *h, const struct httpd_limits *limits,
                       struct error *err);
/* The port actually bound. */
uint16_t httpd_port(const struct httpd *d);
/* Replace the webhook secret (NULL/0 = none).  Thread-safe. */
int httpd_secret_set(struct httpd *d, const char *secret, size_t secret_len);
/* A snapshot of the counters.  Thread-safe. */
void httpd_stats_get(struct httpd *d, struct httpd_stats *ret);
/* Stop the threads, close the sockets, free.  Accepts NULL. */
void httpd_stop(struct httpd *d);

/*
 * Check a GitHub signature header against HMAC-SHA256(secret, body):
 * 0 when it matches, -EACCES otherwise (missing, malformed, wrong, or no
 * secret).  Constant time in the comparison.
 */
int httpd_webhook_verify(const char *secret, size_t secret_len, const void *body, size_t body_len,
                         const char *signature_header);

/*
 * The `ref` and `after` of a push payload (JSON), copied into ret_ref[256]
 * and ret_after[MANIFEST_OID_HEX_SIZE] ("" when absent).  -EBADMSG when the body is not a JSON
 * object.
 */
int httpd_push_parse(const char *body, size_t len, char ret_ref[256], char ret_after[MANIFEST_OID_HEX_SIZE]);

#endif
