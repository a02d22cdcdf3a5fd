/*
 * core.c - endpoint, region, credentials, HTTP pool and the
 * sign-send-retry loop shared by the AWS service clients (see core.h).
 */
#include "aws/core.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#ifndef ALIASD_VERSION
#define ALIASD_VERSION "unknown"
#endif

#define SLEEP_SLICE_MS 50

/* ---- endpoint ---------------------------------------------------------------------- */

int aws_endpoint_parse(const char *url, char **ret_base, char **ret_host, struct error *err)
{
	const char *auth, *end;
	size_t alen, blen;
	bool https;
	char *base, *host;

	if (!strncasecmp(url, "https://", 8)) {
		https = true;
		auth = url + 8;
	} else if (!strncasecmp(url, "http://", 7)) {
		https = false;
		auth = url + 7;
	} else {
		return error_set(err, -EINVAL, "endpoint '%s' is not an http:// or https:// URL", url);
	}
	end = auth + strcspn(auth, "/?#");
	alen = (size_t)(end - auth);
	if (!alen || memchr(auth, '@', alen) || *end == '?' || *end == '#')
		return error_set(err, -EINVAL, "endpoint '%s' is not a plain URL (host[:port][/path])", url);
	for (size_t i = 0; i < alen; i++)
		if ((unsigned char)auth[i] <= ' ' || (unsigned char)auth[i] >= 0x7f)
			return error_set(err, -EINVAL, "endpoint '%s' has a bad host", url);
	for (const char *p = end; *p; p++)
		if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
			return error_set(err, -EINVAL, "endpoint '%s' has a bad path", url);
	blen = strlen(url);
	while (blen > (size_t)(end - url) && url[blen - 1] == '/')
		blen--;
	base = strndup(url, blen);
	if (https && alen > 4 && !memcmp(end - 4, ":443", 4))
		alen -= 4;
	else if (!https && alen > 3 && !memcmp(end - 3, ":80", 3))
		alen -= 3;
	host = strndup(auth, alen);
	if (!base || !host) {
		free(base);
		free(host);
		return error_set(err, -ENOMEM, "out of memory");
	}
	for (char *p = host; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	*ret_base = base;
	*ret_host = host;
	return 0;
}

int aws_endpoint_resolve(const char *env_service, const char *config_endpoint, const char *host_prefix,
                         bool china_suffix, const char *region, char **ret, struct error *err)
{
	char var[64];
	const char *ep;
	char *s;

	snprintf(var, sizeof(var), "AWS_ENDPOINT_URL_%s", env_service);
	ep = getenv(var);
	if (!ep || !*ep)
		ep = getenv("AWS_ENDPOINT_URL");
	if (!ep || !*ep)
		ep = config_endpoint;
	if (ep && *ep)
		s = strdup(ep);
	else if (asprintf(&s, "https://%s.%s.amazonaws.com%s", host_prefix, region,
	                  china_suffix && !strncmp(region, "cn-", 3) ? ".cn" : "") < 0)
		s = NULL;
	if (!s)
		return error_set(err, -ENOMEM, "out of memory");
	*ret = s;
	return 0;
}

/* ---- the core ------------------------------------------------------------------------ */

int aws_core_init(struct aws_core *core, const struct aws_client_options *opt,
                  const struct aws_core_options *so, struct error *err)
{
	static const struct aws_client_options defaults = {0};
	char *url = NULL;
	int r;

	if (!opt)
		opt = &defaults;
	memset(core, 0, sizeof(*core));
	pthread_mutex_init(&core->pool_lock, NULL);
	atomic_init(&core->stop, false);
	atomic_init(&core->retries, 0);
	core->pool_max = so->pool_max && so->pool_max <= AWS_CORE_POOL_MAX ? so->pool_max : AWS_CORE_POOL_MAX;
	if (opt->retry) {
		core->retry = *opt->retry;
		if (core->retry.max_attempts < 1)
			core->retry.max_attempts = 1;
	} else {
		r = retry_policy_from_env(&core->retry, err);
		if (r < 0)
			goto fail;
	}
	if (opt->http) {
		core->http_opt = *opt->http;
		core->has_http_opt = true;
	}
	if (so->max_response_bytes && !core->http_opt.max_response_bytes) {
		core->http_opt.max_response_bytes = so->max_response_bytes;
		core->has_http_opt = true;
	}

	if (opt->region && *opt->region) {
		core->region = strdup(opt->region);
		if (!core->region) {
			r = error_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
	} else {
		r = aws_region_resolve(opt->profile, &core->region, err);
		if (r < 0) {
			if (r == -ENOENT)
				error_set(err, r,
				          "no AWS region: set AWS_REGION, AWS_DEFAULT_REGION or the "
				          "profile's region%s",
				          so->region_hint ? so->region_hint : "");
			goto fail;
		}
	}
	for (const char *p = core->region; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-') {
			r = error_set(err, -EINVAL, "region '%s' is not a region name", core->region);
			goto fail;
		}
	r = aws_endpoint_resolve(so->env_service, opt->endpoint, so->host_prefix, so->china_suffix,
	                         core->region, &url, err);
	if (r >= 0)
		r = aws_endpoint_parse(url, &core->endpoint, &core->host, err);
	free(url);
	if (r < 0)
		goto fail;

	if (opt->static_credentials) {
		r = aws_credentials_copy(&core->static_creds, opt->static_credentials);
		if (r < 0) {
			error_set(err, r, "out of memory");
			goto fail;
		}
		core->has_static = true;
	} else if (opt->credentials_provider) {
		core->provider = opt->credentials_provider;
		core->borrowed_provider = true;
	} else {
		struct aws_credentials_options co = {.profile = opt->profile, .sts_endpoint = NULL};

		r = aws_credentials_provider_new(&core->provider, &co, err);
		if (r < 0)
			goto fail;
	}
	return 0;
fail:
	aws_core_release(core);
	return r;
}

void aws_core_release(struct aws_core *core)
{
	if (!core)
		return;
	for (size_t i = 0; i < core->n_pool; i++)
		http_client_free(core->pool[i]);
	if (!core->borrowed_provider)
		aws_credentials_provider_free(core->provider);
	if (core->has_static)
		aws_credentials_release(&core->static_creds);
	pthread_mutex_destroy(&core->pool_lock);
	free(core->region);
	free(core->endpoint);
	free(core->host);
	memset(core, 0, sizeof(*core));
}

void aws_core_stop(struct aws_core *core)
{
	atomic_store(&core->stop, true);
}

bool aws_core_stopped(const struct aws_core *core)
{
	return atomic_load(&((struct aws_core *)core)->stop);
}

/* ---- signing ----------------------------------------------------------------------------- */

int aws_core_sign(struct sigv4_params *p, const char *host, const char *content_type, bool sign_content_type,
                  const struct aws_credentials *creds, struct sigv4_result *sig,
                  struct http_header ret_headers[AWS_SIGNED_HEADERS], struct error *err)
{
	struct http_header sign_hdr[2 + AWS_SEND_HEADERS] = {
	    {(char *)"host", (char *)host},
	    {(char *)"content-type", (char *)content_type},
	};
	const struct http_header *extra = p->headers;
	size_t n_extra = p->n_headers;
	int n = 0, r;

	if (n_extra > AWS_SEND_HEADERS)
		return error_set(err, -E2BIG, "more than %d further headers to sign", AWS_SEND_HEADERS);
	p->n_headers = content_type && sign_content_type ? 2 : 1;
	for (size_t i = 0; i < n_extra; i++)
		sign_hdr[p->n_headers++] = extra[i];
	p->headers = sign_hdr;
	r = sigv4_sign(p, creds, sig, err);
	p->headers = extra;
	p->n_headers = n_extra;
	if (r < 0)
		return r;
	ret_headers[n++] = (struct http_header){(char *)"X-Amz-Date", sig->amz_date};
	ret_headers[n++] = (struct http_header){(char *)"Authorization", sig->authorization.ptr};
	if (content_type)
		ret_headers[n++] = (struct http_header){(char *)"Content-Type", (char *)content_type};
	if (creds->session_token)
		ret_headers[n++] = (struct http_header){(char *)"X-Amz-Security-Token", creds->session_token};
	return n;
}

/* ---- the send ------------------------------------------------------------------------------ */

static int pool_get(struct aws_core *c, struct http_client **ret, struct error *err)
{
	struct http_client *h = NULL;

	pthread_mutex_lock(&c->pool_lock);
	if (c->n_pool)
		h = c->pool[--c->n_pool];
	pthread_mutex_unlock(&c->pool_lock);
	if (h) {
		*ret = h;
		return 0;
	}
	return http_client_new(ret, c->has_http_opt ? &c->http_opt : NULL, err);
}

static void pool_put(struct aws_core *c, struct http_client *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&c->pool_lock);
	if (c->n_pool < c->pool_max) {
		c->pool[c->n_pool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->pool_lock);
	http_client_free(h);
}

/* A client of one call's own, outside the pool: its total timeout is what the call has left. */
static int own_client(struct aws_core *c, uint64_t timeout_ms, struct http_client **ret, struct error *err)
{
	struct http_options o = {0};

	if (c->has_http_opt)
		o = c->http_opt;
	o.total_timeout_ms = timeout_ms ? (long)timeout_ms : 1;
	return http_client_new(ret, &o, err);
}

/* Sleep ms, in slices; false if stopped meanwhile. */
static bool sleep_unless_stopped(struct aws_core *c, uint64_t ms)
{
	while (ms > 0) {
		uint64_t slice = ms < SLEEP_SLICE_MS ? ms : SLEEP_SLICE_MS;
		struct timespec ts = {(time_t)(slice / 1000), (long)(slice % 1000) * 1000000L};

		if (atomic_load(&c->stop))
			return false;
		while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
			;
		ms -= slice;
	}
	return !atomic_load(&c->stop);
}

static int get_credentials(struct aws_core *c, struct aws_credentials *ret, struct error *err)
{
	if (c->has_static)
		return aws_credentials_copy(ret, &c->static_creds) < 0
		           ? error_set(err, -ENOMEM, "out of memory")
		           : 0;
	return aws_credentials_get(c->provider, time(NULL), ret, err);
}

static int fail(struct aws_error *aerr, int code, enum error_kind kind, const char *operation,
                const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static int fail(struct aws_error *aerr, int code, enum error_kind kind, const char *operation,
                const char *fmt, ...)
{
	char msg[ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	aws_error_set(aerr, code, operation, "%s", msg);
	error_set_kind(&aerr->err, kind);
	return code;
}

static void count(const struct aws_protocol *proto, const char *operation, const char *outcome)
{
	if (proto->count)
		proto->count(operation, outcome, proto->ctx);
}

/* Monotonic milliseconds. */
static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

/* The 2xx answer goes to *ret_resp when it is not NULL, else to ret_status and ret_body. */
static int send_call(struct aws_core *c, const struct aws_protocol *proto, const struct aws_send *req,
                     long *ret_status, struct buf *ret_body, struct http_response *ret_resp,
                     struct aws_error *ret_aerr)
{
	static _Thread_local struct retry_rng rng;
	static _Thread_local bool rng_seeded;
	struct aws_error local = AWS_ERROR_INIT;
	struct aws_error *aerr = ret_aerr ? ret_aerr : &local;
	const char *op = req->operation;
	const char *ctype = req->body || req->body_reader ? req->content_type : NULL;
	struct aws_credentials creds = {0};
	struct http_client *h = NULL;
	struct error e = ERROR_INIT;
	uint64_t deadline = req->timeout_ms ? now_ms() + req->timeout_ms : 0;
	unsigned attempt = 0;
	int r;

	if (!rng_seeded) {
		retry_rng_seed_auto(&rng);
		rng_seeded = true;
	}
	aws_error_clear(aerr);
	if (req->n_headers > AWS_SEND_HEADERS) {
		r = fail(aerr, -E2BIG, ERROR_KIND_TERMINAL, op, "%s: too many request headers", op);
		goto out;
	}
	r = deadline ? 0 : pool_get(c, &h, &e); /* with a deadline: a client per attempt */
	if (r < 0) {
		r = fail(aerr, r, ERROR_KIND_TERMINAL, op, "%s: %s", op, e.msg);
		goto out;
	}
	for (;;) {
		struct http_header hdr[AWS_SIGNED_HEADERS + AWS_SEND_HEADERS + 1];
		struct sigv4_params sp = {
		    .headers = req->headers,
		    .n_headers = req->n_headers,
		    .method = req->method,
		    .path = req->sign_path,
		    .query = req->sign_query,
		    .payload = req->body,
		    .payload_len = req->body ? req->body_len : 0,
		    .payload_sha256_hex = req->body_reader ? req->body_sha256_hex : NULL,
		    .region = c->region,
		    .service = proto->service,
		    .double_encode_path = true,
		};
		struct sigv4_result sig = SIGV4_RESULT_INIT;
		struct http_request hr = {0};
		struct http_response resp = HTTP_RESPONSE_INIT;
		uint64_t delay = 0;
		bool again, throttle = false;
		int n, tr;

		attempt++;
		if (atomic_load(&c->stop) || (req->rl && ratelimit_acquire(req->rl, &c->stop) < 0)) {
			if (attempt == 1)
				r = fail(aerr, -ECANCELED, ERROR_KIND_CANCELED, op, "%s: not sent: stopping",
				         op);
			goto out; /* r holds the last attempt's error */
		}
		aws_credentials_release(&creds);
		memset(&creds, 0, sizeof(creds));
		error_clear(&e);
		r = get_credentials(c, &creds, &e);
		if (r < 0) {
			if (proto->prefix_credential_errors)
				r = fail(aerr, r, ERROR_KIND_CREDENTIALS, op, "%s: %s", op, e.msg);
			else /* not about this operation: the same for every call */
				r = fail(aerr, r, ERROR_KIND_CREDENTIALS, op, "%s", e.msg);
			goto out;
		}
		sp.now = time(NULL);
		error_clear(&e);
		n = aws_core_sign(&sp, c->host, ctype, req->sign_content_type, &creds, &sig, hdr, &e);
		if (n < 0) {
			sigv4_result_release(&sig);
			r = fail(aerr, n, ERROR_KIND_CREDENTIALS, op, "%s: signing failed: %s", op, e.msg);
			goto out;
		}
		for (size_t i = 0; i < req->n_headers; i++)
			hdr[n++] = req->headers[i];
		hdr[n++] = (struct http_header){(char *)"User-Agent", (char *)"aliasd/" ALIASD_VERSION};
		if (deadline) {
			uint64_t now = now_ms();

			http_client_free(h);
			h = NULL;
			if (now >= deadline) {
				sigv4_result_release(&sig);
				r = fail(aerr, -ETIMEDOUT, ERROR_KIND_TRANSIENT, op,
				         "%s: timed out after %u ms", op, req->timeout_ms);
				goto out;
			}
			error_clear(&e);
			r = own_client(c, deadline - now, &h, &e);
			if (r < 0) {
				sigv4_result_release(&sig);
				r = fail(aerr, r, ERROR_KIND_TERMINAL, op, "%s: %s", op, e.msg);
				goto out;
			}
		}
		hr.method = req->method;
		hr.url = req->url;
		hr.headers = hdr;
		hr.n_headers = (size_t)n;
		hr.body = req->body;
		hr.body_len = req->body ? req->body_len : 0;
		hr.body_reader = req->body_reader;
		http_client_set_cancel(h, &c->stop); /* a stop aborts the transfer in flight too */
		error_clear(&e);
		tr = http_client_send(h, &hr, &resp, &e);
		sigv4_result_release(&sig);
		if (tr < 0) {
			count(proto, op, "transport");
			r = fail(aerr, tr, aws_transport_kind(tr), op, "%s: %s", op, e.msg);
			aerr->attempts = attempt;
			again = retry_decide(&c->retry, attempt, tr, 0, NULL, &rng, &delay);
			/* only a refused connection surely never reached the server */
			if (req->no_resend && tr != -ECONNREFUSED)
				again = false;
			if (tr != -E2BIG && tr != -EINVAL) {
				/* the connection may be broken: start afresh */
				http_client_free(h);
				h = NULL;
				if (again && !deadline) {
					error_clear(&e);
					r = pool_get(c, &h, &e);
					if (r < 0) {
						r = fail(aerr, r, ERROR_KIND_TERMINAL, op, "%s: %s", op,
						         e.msg);
						goto out;
					}
					r = tr;
				}
			}
		} else if (resp.status >= 200 && resp.status < 300) {
			long status = resp.status;

			count(proto, op, "ok");
			if (ret_resp) {
				*ret_resp = resp;
				resp = (struct http_response)HTTP_RESPONSE_INIT;
			}
			if (ret_status)
				*ret_status = status;
			if (ret_body) {
				buf_release(ret_body);
				*ret_body = resp.body;
				resp.body = (struct buf)BUF_INIT;
			}
			http_response_release(&resp);
			aerr->status = status;
			aerr->attempts = attempt;
			r = 0;
			goto out;
		} else {
			aws_error_clear(aerr);
			r = proto->read_error(op, &resp, &creds, aerr, &throttle, proto->ctx);
			aerr->attempts = attempt;
			if (throttle && req->rl)
				ratelimit_on_throttle(req->rl);
			/* a throttling answer is as retryable as a 429, whatever its status */
			again = retry_decide(&c->retry, attempt, 0, throttle ? 429 : resp.status,
			                     http_response_header(&resp, "retry-after"), &rng, &delay);
			if (req->no_resend && !throttle)
				again = false;
			http_response_release(&resp);
		}
		if (!again)
			goto out;
		if (deadline && now_ms() + delay >= deadline)
			goto out; /* no time left for another attempt */
		atomic_fetch_add(&c->retries, 1);
		if (!sleep_unless_stopped(c, delay))
			goto out;
	}
out:
	if (deadline)
		http_client_free(h); /* its timeout is this call's */
	else
		pool_put(c, h);
	aws_credentials_release(&creds);
	return r;
}

int aws_core_send(struct aws_core *c, const struct aws_protocol *proto, const struct aws_send *req,
                  long *ret_status, struct buf *ret_body, struct aws_error *aerr)
{
	return send_call(c, proto, req, ret_status, ret_body, NULL, aerr);
}

int aws_core_send_response(struct aws_core *c, const struct aws_protocol *proto, const struct aws_send *req,
                           struct http_response *ret, struct aws_error *aerr)
{
	return send_call(c, proto, req, NULL, NULL, ret, aerr);
}
