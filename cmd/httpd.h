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
 */
#ifndef ALIASD_CMD_HTTPD_H
#define ALIASD_CMD_HTTPD_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/error.h"

#define HTTPD_BODY_MAX        ((size_t)1 << 20)
#define HTTPD_CONNECTIONS_MAX 64
#define HTTPD_TIMEOUT_S       10

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
/* The port actually bound. */
uint16_t httpd_port(const struct httpd *d);
/* Replace the webhook secret (NULL/0 = none).  Thread-safe. */
int httpd_secret_set(struct httpd *d, const char *secret, size_t secret_len);
/* Stop the thread, close the socket, free.  Accepts NULL. */
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
 * and ret_after[41] ("" when absent).  -EBADMSG when the body is not a JSON
 * object.
 */
int httpd_push_parse(const char *body, size_t len, char ret_ref[256], char ret_after[41]);

#endif
