/*
 * httpd.c - /healthz /metrics /status /hooks/github over libmicrohttpd, see httpd.h.
 */
#include "cmd/httpd.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

#include "util/clock.h"
#include "util/codec.h"
#include "util/log.h"

#define WATCHDOG_PERIOD_MS 250

/* One open connection, tracked from MHD's "started" to its "closed" notice. */
struct conn {
	struct conn *prev, *next;
	int fd;
	int family;             /* AF_INET / AF_INET6 / 0 unknown */
	unsigned char addr[16]; /* client address, without the port */
	uint64_t started_ms;    /* connection, or the end of its previous request */
	uint64_t deadline_ms;   /* of the current phase */
	bool in_body;           /* headers complete: the body/reply phase */
	bool cut;               /* shut down by us; MHD closes it next */
};

struct httpd {
	struct MHD_Daemon *mhd;
	struct httpd_handlers h;
	struct httpd_limits limits;
	pthread_mutex_t lock; /* secret, conns, stats */
	struct buf secret;
	uint16_t port;

	struct conn *conns; /* oldest first */
	struct conn *conns_tail;
	struct httpd_stats stats;
	unsigned webhooks; /* bodies being read; the MHD thread only */

	pthread_t watchdog;
	pthread_cond_t wake;
	bool watchdog_started, stopping;
};

/* Per-request state, allocated on the first call for a POST. */
struct request {
	struct buf body;
	bool too_big;
	bool counted; /* holds one of d->webhooks */
};

static void conn_unlink(struct httpd *d, struct conn *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	else
		d->conns_tail = c->prev;
	c->prev = c->next = NULL;
}

static void conn_append(struct httpd *d, struct conn *c)
{
	c->prev = d->conns_tail;
	c->next = NULL;
	if (d->conns_tail)
		d->conns_tail->next = c;
	else
		d->conns = c;
	d->conns_tail = c;
}

/*
 * Shut the socket down (MHD sees EOF and closes it; the fd stays MHD's to
 * close, after its "closed" notice has unlinked `c`).  With d->lock held.
 * False when it was already cut or cannot be.
 */
static bool conn_cut(struct conn *c)
{
	if (c->cut || c->fd < 0)
		return false;
	shutdown(c->fd, SHUT_RDWR);
	c->cut = true;
	return true;
}

static bool same_addr(const struct conn *a, const struct conn *b)
{
	return a->family && a->family == b->family &&
	       !memcmp(a->addr, b->addr, a->family == AF_INET6 ? 16 : 4);
}

/*
 * Keep HTTPD_EVICT_MARGIN connections free for each address and for the
 * server: cut the oldest connections still waiting for their headers (and at
 * least HTTPD_EVICT_AGE_MS old) beyond that.  Returns how many were cut.
 * With d->lock held.
 */
static unsigned conns_make_room(struct httpd *d, uint64_t now)
{
	unsigned total = 0, cut = 0;

	for (struct conn *c = d->conns; c; c = c->next)
		total += !c->cut;
	for (struct conn *c = d->conns; c; c = c->next) {
		unsigned same = 0;

		if (c->cut || c->in_body || c->started_ms + HTTPD_EVICT_AGE_MS > now)
			continue;
		for (struct conn *o = d->conns; o; o = o->next)
			same += !o->cut && (o == c || same_addr(o, c));
		if ((total + HTTPD_EVICT_MARGIN > d->limits.connections ||
		     same + HTTPD_EVICT_MARGIN > d->limits.per_ip) &&
		    conn_cut(c)) {
			total--;
			cut++;
		}
	}
	return cut;
}

static void notify_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
                              enum MHD_ConnectionNotificationCode code)
{
	struct httpd *d = cls;
	struct conn *c = *socket_context;

	if (code == MHD_CONNECTION_NOTIFY_STARTED) {
		const union MHD_ConnectionInfo *fd =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CONNECTION_FD);
		const union MHD_ConnectionInfo *ad =
		    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
		uint64_t now = clock_monotonic_ms();

		c = calloc(1, sizeof(*c));
		*socket_context = c;
		if (!c)
			return; /* untracked: MHD's idle timeout still applies */
		c->fd = fd ? fd->connect_fd : -1;
		if (ad && ad->client_addr && ad->client_addr->sa_family == AF_INET) {
			c->family = AF_INET;
			memcpy(c->addr, &((const struct sockaddr_in *)ad->client_addr)->sin_addr, 4);
		} else if (ad && ad->client_addr && ad->client_addr->sa_family == AF_INET6) {
			c->family = AF_INET6;
			memcpy(c->addr, &((const struct sockaddr_in6 *)ad->client_addr)->sin6_addr, 16);
		}
		c->started_ms = now;
		c->deadline_ms = now + d->limits.header_ms;
		pthread_mutex_lock(&d->lock);
		conn_append(d, c);
		d->stats.connections++;
		pthread_mutex_unlock(&d->lock);
		return;
	}
	if (code == MHD_CONNECTION_NOTIFY_CLOSED && c) {
		pthread_mutex_lock(&d->lock);
		conn_unlink(d, c);
		d->stats.connections--;
		pthread_mutex_unlock(&d->lock);
		free(c);
		*socket_context = NULL;
	}
}

static struct conn *conn_of(struct MHD_Connection *conn)
{
	const union MHD_ConnectionInfo *ci =
	    MHD_get_connection_info(conn, MHD_CONNECTION_INFO_SOCKET_CONTEXT);

	return ci ? ci->socket_context : NULL;
}

/* Headers complete: the body and the reply get body_ms from now (once per request). */
static void conn_headers_done(struct httpd *d, struct MHD_Connection *conn)
{
	struct conn *c = conn_of(conn);

	if (!c)
		return;
	pthread_mutex_lock(&d->lock);
	if (!c->in_body) {
		c->in_body = true;
		c->deadline_ms = clock_monotonic_ms() + d->limits.body_ms;
	}
	pthread_mutex_unlock(&d->lock);
}

/*
 * A request is over: a kept-alive connection waits for the next headers.  An
 * idle one is MHD's to close (idle_s, no warning): the deadline is at least a
 * second later, so only a client trickling its next request hits it.
 */
static void conn_request_done(struct httpd *d, struct MHD_Connection *conn)
{
	struct conn *c = conn_of(conn);
	uint64_t wait = d->limits.header_ms;

	if (!c)
		return;
	if (wait < (uint64_t)d->limits.idle_s * 1000 + 1000)
		wait = (uint64_t)d->limits.idle_s * 1000 + 1000;
	pthread_mutex_lock(&d->lock);
	c->in_body = false;
	c->started_ms = clock_monotonic_ms();
	c->deadline_ms = c->started_ms + wait;
	pthread_mutex_unlock(&d->lock);
}

/* Cut off every connection past its deadline, every WATCHDOG_PERIOD_MS, until stopped. */
static void *watchdog_main(void *arg)
{
	struct httpd *d = arg;

	pthread_mutex_lock(&d->lock);
	while (!d->stopping) {
		uint64_t now = clock_monotonic_ms(), headers = 0, bodies = 0, evicted;
		struct timespec ts;

		for (struct conn *c = d->conns; c; c = c->next) {
			if (now < c->deadline_ms || !conn_cut(c))
				continue;
			if (c->in_body)
				bodies++;
			else
				headers++;
		}
		evicted = conns_make_room(d, now);
		d->stats.cut_headers += headers;
		d->stats.cut_bodies += bodies;
		d->stats.evicted += evicted;
		if (headers || bodies || evicted) {
			char h[24], b[24], e[24];

			snprintf(h, sizeof(h), "%llu", (unsigned long long)headers);
			snprintf(b, sizeof(b), "%llu", (unsigned long long)bodies);
			snprintf(e, sizeof(e), "%llu", (unsigned long long)evicted);
			pthread_mutex_unlock(&d->lock); /* not across a write to the log */
			log_event(LOG_WARNING, "slow http clients cut off", "headers", h, "bodies", b,
			          "evicted", e, NULL);
			pthread_mutex_lock(&d->lock);
			if (d->stopping)
				break;
		}
		clock_gettime(CLOCK_MONOTONIC, &ts);
		ts.tv_nsec += (long)WATCHDOG_PERIOD_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&d->wake, &d->lock, &ts);
	}
	pthread_mutex_unlock(&d->lock);
	return NULL;
}

void httpd_stats_get(struct httpd *d, struct httpd_stats *ret)
{
	pthread_mutex_lock(&d->lock);
	*ret = d->stats;
	pthread_mutex_unlock(&d->lock);
}

int httpd_webhook_verify(const char *secret, size_t secret_len, const void *body, size_t body_len,
                         const char *signature_header)
{
	unsigned char mac[32], want[32];
	unsigned int mac_len = 0;
	const char *hex;

	if (!secret || secret_len == 0 || !signature_header)
		return -EACCES;
	if (strncmp(signature_header, "sha256=", 7))
		return -EACCES;
	hex = signature_header + 7;
	if (strlen(hex) != 64)
		return -EACCES;
	if (codec_hex_decode(want, sizeof(want), hex) < 0)
		return -EACCES;
	if (!HMAC(EVP_sha256(), secret, (int)secret_len, body, body_len, mac, &mac_len) || mac_len != 32)
		return -EACCES;
	if (CRYPTO_memcmp(mac, want, sizeof(mac)) != 0)
		return -EACCES;
	return 0;
}

int httpd_push_parse(const char *body, size_t len, char ret_ref[256], char ret_after[MANIFEST_OID_HEX_SIZE])
{
	cJSON *root = cJSON_ParseWithLength(body, len); /* freed with cJSON_Delete */
	const cJSON *ref, *after;

	if (!root || !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		return -EBADMSG;
	}
	ref = cJSON_GetObjectItemCaseSensitive(root, "ref");
	after = cJSON_GetObjectItemCaseSensitive(root, "after");
	ret_ref[0] = ret_after[0] = '\0';
	if (cJSON_IsString(ref) && strlen(ref->valuestring) < 256)
		strcpy(ret_ref, ref->valuestring);
	if (cJSON_IsString(after) && strlen(after->valuestring) < 41)
		strcpy(ret_after, after->valuestring);
	cJSON_Delete(root);
	return 0;
}

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned status, const char *type, const char *body,
                             size_t len, const char *allow)
{
	struct MHD_Response *resp;
	enum MHD_Result r;

	resp = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", type);
	MHD_add_response_header(resp, "Cache-Control", "no-store");
	if (allow)
		MHD_add_response_header(resp, "Allow", allow);
	r = MHD_queue_response(conn, status, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result reply_text(struct MHD_Connection *conn, unsigned status, const char *text)
{
	return reply(conn, status, "text/plain; charset=utf-8", text, strlen(text), NULL);
}

/* 503 to a webhook beyond the limit, before its body is read; the connection is closed. */
static enum MHD_Result reply_busy(struct MHD_Connection *conn)
{
	static const char text[] = "too many webhooks at once, retry later\n";
	struct MHD_Response *resp;
	enum MHD_Result r;

	resp = MHD_create_response_from_buffer(sizeof(text) - 1, (void *)text, MHD_RESPMEM_PERSISTENT);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, "Content-Type", "text/plain; charset=utf-8");
	MHD_add_response_header(resp, "Retry-After", "10");
	MHD_add_response_header(resp, "Connection", "close");
	r = MHD_queue_response(conn, MHD_HTTP_SERVICE_UNAVAILABLE, resp);
	MHD_destroy_response(resp);
	return r;
}

static enum MHD_Result serve_callback(struct MHD_Connection *conn, int (*fn)(void *, struct buf *), void *ctx,
                                      const char *type, unsigned bad_status)
{
	struct buf out = BUF_INIT_CAP((size_t)64 << 20);
	enum MHD_Result r;
	int rc = fn ? fn(ctx, &out) : 0;

	if (rc < 0) {
		if (out.len == 0)
			buf_printf(&out, "error: %s\n", strerror(-rc));
		r = reply(conn, bad_status, "text/plain; charset=utf-8", out.ptr, out.len, NULL);
	} else {
		r = reply(conn, MHD_HTTP_OK, type, out.ptr, out.len, NULL);
	}
	buf_release(&out);
	return r;
}

static enum MHD_Result webhook(struct httpd *d, struct MHD_Connection *conn, struct request *req)
{
	const char *event = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-GitHub-Event");
	const char *sig = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-Hub-Signature-256");
	const char *delivery = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "X-GitHub-Delivery");
	char ref[256], after[MANIFEST_OID_HEX_SIZE];
	int ok;

	if (req->too_big) {
		log_event(LOG_WARNING, "webhook refused", "reason", "body too large", NULL);
		return reply_text(conn, MHD_HTTP_CONTENT_TOO_LARGE, "payload too large\n");
	}
	pthread_mutex_lock(&d->lock);
	ok = httpd_webhook_verify(d->secret.len ? d->secret.ptr : NULL, d->secret.len, req->body.ptr,
	                          req->body.len, sig) == 0;
	pthread_mutex_unlock(&d->lock);
	if (!ok) {
		log_event(LOG_WARNING, "webhook refused", "reason",
		          sig ? "bad signature" : "missing signature", "delivery", delivery, NULL);
		return reply_text(conn, MHD_HTTP_UNAUTHORIZED, "bad or missing X-Hub-Signature-256\n");
	}
	if (event && !strcmp(event, "ping")) {
		log_event(LOG_INFO, "webhook ping", "delivery", delivery, NULL);
		return reply_text(conn, MHD_HTTP_OK, "pong\n");
	}
	if (!event || strcmp(event, "push")) {
		log_event(LOG_INFO, "webhook ignored", "event", event, "delivery", delivery, NULL);
		return reply_text(conn, MHD_HTTP_ACCEPTED, "ignored\n");
	}
	if (httpd_push_parse(req->body.ptr, req->body.len, ref, after) < 0)
		return reply_text(conn, MHD_HTTP_BAD_REQUEST, "push payload is not a JSON object\n");
	log_event(LOG_INFO, "webhook push", "ref", ref, "after", after, "delivery", delivery, NULL);
	if (d->h.push)
		d->h.push(d->h.ctx, ref, after);
	return reply_text(conn, MHD_HTTP_ACCEPTED, "accepted\n");
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                              const char *version, const char *upload_data, size_t *upload_data_size,
                              void **con_cls)
{
	struct httpd *d = cls;
	bool get = !strcmp(method, "GET") || !strcmp(method, "HEAD");
	bool post = !strcmp(method, "POST");
	struct request *req = *con_cls;

	(void)version;
	if (!req)
		conn_headers_done(d, conn);
	if (!strcmp(url, "/hooks/github")) {
		if (!post)
			return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "method not allowed\n",
			             19, "POST");
		if (!req) {
			const char *cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Content-Length");

			if (d->webhooks >= d->limits.webhooks) {
				pthread_mutex_lock(&d->lock);
				d->stats.webhooks_busy++;
				pthread_mutex_unlock(&d->lock);
				log_event(LOG_WARNING, "webhook refused", "reason", "too many at once", NULL);
				return reply_busy(conn);
			}
			req = calloc(1, sizeof(*req));
			if (!req)
				return MHD_NO;
			req->counted = true;
			d->webhooks++;
			buf_init(&req->body, HTTPD_BODY_MAX);
			*con_cls = req;
			const char *expect = MHD_lookup_connection_value(conn, MHD_HEADER_KIND, "Expect");

			if (cl && strtoull(cl, NULL, 10) > HTTPD_BODY_MAX)
				req->too_big = true;
			/*
			 * Too big: with "Expect: 100-continue" answer at once (the body is
			 * never sent); otherwise read and discard it, then answer, so that
			 * clients which send before reading see the 413, not a reset.
			 */
			if (!req->too_big || !expect || strcasecmp(expect, "100-continue"))
				return MHD_YES;
		}
		if (*upload_data_size) {
			if (!req->too_big && buf_put(&req->body, upload_data, *upload_data_size) < 0)
				req->too_big = true;
			*upload_data_size = 0;
			return MHD_YES;
		}
		return webhook(d, conn, req);
	}
	if (!strcmp(url, "/healthz") || !strcmp(url, "/metrics") || !strcmp(url, "/status")) {
		if (!get)
			return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", "method not allowed\n",
			             19, "GET, HEAD");
		if (!strcmp(url, "/metrics"))
			return serve_callback(conn, d->h.metrics, d->h.ctx,
			                      "text/plain; version=0.0.4; charset=utf-8",
			                      MHD_HTTP_INTERNAL_SERVER_ERROR);
		if (!strcmp(url, "/status"))
			return serve_callback(conn, d->h.status, d->h.ctx, "application/json",
			                      MHD_HTTP_INTERNAL_SERVER_ERROR);
		if (!d->h.health)
			return reply_text(conn, MHD_HTTP_OK, "ok\n");
		{
			struct buf out = BUF_INIT_CAP(4096);
			int rc = d->h.health(d->h.ctx, &out);
			enum MHD_Result r;

			if (rc < 0)
				buf_putc(&out, '\n');
			r = rc < 0 ? reply_text(conn, MHD_HTTP_SERVICE_UNAVAILABLE, out.ptr)
			           : reply_text(conn, MHD_HTTP_OK, "ok\n");
			buf_release(&out);
			return r;
		}
	}
	return reply_text(conn, MHD_HTTP_NOT_FOUND, "not found\n");
}

static void completed(void *cls, struct MHD_Connection *conn, void **con_cls,
                      enum MHD_RequestTerminationCode toe)
{
	struct httpd *d = cls;
	struct request *req = *con_cls;

	(void)toe;
	conn_request_done(d, conn);
	if (req) {
		if (req->counted)
			d->webhooks--;
		buf_release(&req->body);
		free(req);
		*con_cls = NULL;
	}
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	log_event(LOG_DEBUG, "http server", "detail", msg, NULL);
}

int httpd_secret_set(struct httpd *d, const char *secret, size_t secret_len)
{
	int r = 0;

	pthread_mutex_lock(&d->lock);
	buf_reset(&d->secret);
	if (secret && secret_len)
		r = buf_put(&d->secret, secret, secret_len);
	pthread_mutex_unlock(&d->lock);
	return r;
}

int httpd_start(struct httpd **ret, const char *host, uint16_t port, const char *secret, size_t secret_len,
                const struct httpd_handlers *h, struct error *err)
{
	return httpd_start_limits(ret, host, port, secret, secret_len, h, NULL, err);
}

int httpd_start_limits(struct httpd **ret, const char *host, uint16_t port, const char *secret,
                       size_t secret_len, const struct httpd_handlers *h, const struct httpd_limits *limits,
                       struct error *err)
{
	static const struct httpd_limits defaults = HTTPD_LIMITS_DEFAULT;
	pthread_condattr_t ca;
	struct sockaddr_storage ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl = sizeof(ss);
	unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ERROR_LOG;
	const union MHD_DaemonInfo *info;
	struct httpd *d;
	int r;

	if (!limits)
		limits = &defaults;
	if (!limits->connections || !limits->per_ip || !limits->webhooks || !limits->header_ms ||
	    !limits->body_ms || !limits->idle_s)
		return error_set(err, -EINVAL, "http server limits must not be 0");
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons(port);
	} else if (inet_pton(AF_INET6, host, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(port);
		flags |= MHD_USE_IPv6;
	} else {
		return error_set(err, -EINVAL, "listen address '%s' is not an IPv4 or IPv6 address", host);
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&d->wake, &ca);
	pthread_condattr_destroy(&ca);
	d->limits = *limits;
	buf_init(&d->secret, 4096);
	buf_mark_secret(&d->secret);
	if (h)
		d->h = *h;
	r = httpd_secret_set(d, secret, secret_len);
	if (r < 0)
		goto fail;
	errno = 0;
	d->mhd = MHD_start_daemon(
	    flags, port, NULL, NULL, handle, d, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, d, MHD_OPTION_SOCK_ADDR,
	    (struct sockaddr *)&ss, MHD_OPTION_CONNECTION_LIMIT, limits->connections,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, limits->per_ip, MHD_OPTION_CONNECTION_TIMEOUT, limits->idle_s,
	    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)128 * 1024, MHD_OPTION_NOTIFY_COMPLETED, completed, d,
	    MHD_OPTION_NOTIFY_CONNECTION, notify_connection, d, MHD_OPTION_END);
	if (!d->mhd) {
		r = errno ? -errno : -EADDRINUSE;
		error_set(err, r, "cannot listen on %s%s%s:%u: %s", strchr(host, ':') ? "[" : "", host,
		          strchr(host, ':') ? "]" : "", port, strerror(-r));
		goto fail;
	}
	r = -pthread_create(&d->watchdog, NULL, watchdog_main, d);
	if (r < 0) {
		error_set(err, r, "cannot start the http watchdog thread: %s", strerror(-r));
		MHD_stop_daemon(d->mhd);
		goto fail;
	}
	d->watchdog_started = true;
	info = MHD_get_daemon_info(d->mhd, MHD_DAEMON_INFO_LISTEN_FD);
	if (info && getsockname(info->listen_fd, (struct sockaddr *)&ss, &sl) == 0)
		d->port = ntohs(ss.ss_family == AF_INET6 ? sin6->sin6_port : sin->sin_port);
	else
		d->port = port;
	*ret = d;
	return 0;
fail:
	buf_release_secret(&d->secret);
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d);
	return r;
}

uint16_t httpd_port(const struct httpd *d)
{
	return d->port;
}

void httpd_stop(struct httpd *d)
{
	if (!d)
		return;
	if (d->watchdog_started) {
		pthread_mutex_lock(&d->lock);
		d->stopping = true;
		pthread_cond_signal(&d->wake);
		pthread_mutex_unlock(&d->lock);
		pthread_join(d->watchdog, NULL);
	}
	if (d->mhd)
		MHD_stop_daemon(d->mhd);
	buf_release_secret(&d->secret);
	pthread_cond_destroy(&d->wake);
	pthread_mutex_destroy(&d->lock);
	free(d);
}
