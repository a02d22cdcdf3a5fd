/*
 * client.c - AWS Lambda client: URL building, SigV4, rate limits, retries,
 * error parsing and counters (see client.h).
 */
#include "aws/client.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "aws/ratelimit.h"
#include "aws/sigv4.h"

#ifndef ALIASD_VERSION
#define ALIASD_VERSION "unknown"
#endif

#define POOL_MAX       32
#define SLEEP_SLICE_MS 50

struct counter {
	char operation[48];
	char outcome[64];
	uint64_t count;
};

struct aws_client {
	char *region;
	char *endpoint; /* scheme://authority[/base], no trailing slash */
	char *host;     /* authority as signed (default port dropped) */
	struct aws_credentials_provider *provider;
	struct aws_credentials static_creds;
	bool has_static;
	struct retry_policy retry;
	struct http_options http_opt;
	bool has_http_opt;
	struct ratelimit rl_get_function;
	struct ratelimit rl_control;
	atomic_bool stop;

	pthread_mutex_t pool_lock;
	struct http_client *pool[POOL_MAX];
	size_t n_pool;

	pthread_mutex_t counters_lock;
	struct counter counters[AWS_COUNTERS_MAX];
	size_t n_counters;
	uint64_t retries;
};

/* ---- aws_error ------------------------------------------------------------- */

void aws_error_clear(struct aws_error *e)
{
	if (!e)
		return;
	error_clear(&e->err);
	e->status = 0;
	e->code[0] = e->message[0] = e->operation[0] = e->request_id[0] = '\0';
	e->attempts = 0;
}

bool aws_error_is(const struct aws_error *e, const char *code)
{
	return e && code && !strcmp(e->code, code);
}

int aws_error_set(struct aws_error *e, int code, const char *operation, const char *fmt, ...)
{
	va_list ap;

	if (!e)
		return code;
	aws_error_clear(e);
	snprintf(e->operation, sizeof(e->operation), "%s", operation ? operation : "");
	va_start(ap, fmt);
	error_setv(&e->err, code, fmt, ap);
	va_end(ap);
	return code;
}

static void copy_trunc(char *dst, size_t size, const char *src, size_t len)
{
	if (!size)
		return;
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

/* Code normalisation: drop from ':' on, then everything up to the last '#'. */
static void code_normalise(const char *raw, char *ret, size_t size)
{
	size_t len = strcspn(raw, ":");
	const char *hash = NULL;

	for (size_t i = 0; i < len; i++)
		if (raw[i] == '#')
			hash = raw + i;
	if (hash) {
		len -= (size_t)(hash + 1 - raw);
		raw = hash + 1;
	}
	while (len && isspace((unsigned char)*raw)) {
		raw++;
		len--;
	}
	while (len && isspace((unsigned char)raw[len - 1]))
		len--;
	copy_trunc(ret, size, raw, len);
	/* keep it printable: a code is an identifier */
	for (char *p = ret; *p; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			*p = '?';
}

static void message_clean(char *s)
{
	for (unsigned char *p = (unsigned char *)s; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

void aws_error_parse(const char *header, const char *body, size_t body_len, char *ret_code, size_t code_size,
                     char *ret_message, size_t message_size)
{
	cJSON *root = NULL;
	const cJSON *v;

	if (code_size)
		ret_code[0] = '\0';
	if (message_size)
		ret_message[0] = '\0';
	if (body && body_len && body_len <= (1u << 20))
		root = cJSON_ParseWithLength(body, body_len);
	if (root && !cJSON_IsObject(root)) {
		cJSON_Delete(root);
		root = NULL;
	}
	if (header && *header) {
		code_normalise(header, ret_code, code_size);
	} else if (root) {
		static const char *const keys[] = {"__type", "code", "Code"};

		for (size_t i = 0; i < 3; i++) {
			v = cJSON_GetObjectItemCaseSensitive(root, keys[i]);
			if (cJSON_IsString(v) && v->valuestring && *v->valuestring) {
				code_normalise(v->valuestring, ret_code, code_size);
				break;
			}
		}
	}
	if (root) {
		v = cJSON_GetObjectItemCaseSensitive(root, "message");
		if (!cJSON_IsString(v) || !v->valuestring)
			v = cJSON_GetObjectItemCaseSensitive(root, "Message");
		if (cJSON_IsString(v) && v->valuestring) {
			copy_trunc(ret_message, message_size, v->valuestring, strlen(v->valuestring));
			message_clean(ret_message);
		}
	}
	cJSON_Delete(root);
}

int aws_error_errno(long status, const char *code)
{
	if (code && !strcmp(code, "CodeStorageExceededException"))
		return -ENOSPC;
	switch (status) {
	case 404:
		return -ENOENT;
	case 409:
		return -EBUSY;
	case 412:
		return -ESTALE;
	case 429:
		return -EAGAIN;
	case 401:
	case 403:
		return -EACCES;
	case 400:
		return -EINVAL;
	}
	if (status >= 500)
		return -EIO;
	return -EPROTO;
}

static bool code_in(const char *code, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(code, *list))
			return true;
	return false;
}

enum error_kind aws_error_kind(long status, const char *code)
{
	static const char *const conflict[] = {"ResourceConflictException", "PreconditionFailedException",
	                                       "PreconditionFailed", NULL};
	static const char *const transient[] = {"TooManyRequestsException",
	                                        "Throttling",
	                                        "ThrottlingException",
	                                        "ThrottledException",
	                                        "RequestLimitExceeded",
	                                        "ServiceException",
	                                        "ResourceNotReadyException",
	                                        "ServiceUnavailable",
	                                        "ServiceUnavailableException",
	                                        "InternalFailure",
	                                        "RequestTimeout",
	                                        "RequestTimeoutException",
	                                        NULL};
	static const char *const credentials[] = {"ExpiredTokenException",
	                                          "ExpiredToken",
	                                          "UnrecognizedClientException",
	                                          "InvalidClientTokenId",
	                                          "InvalidSignatureException",
	                                          "SignatureDoesNotMatch",
	                                          "MissingAuthenticationTokenException",
	                                          "IncompleteSignature",
	                                          NULL};

	if (!code)
		code = "";
	if (!strcmp(code, "ResourceNotFoundException"))
		return ERROR_KIND_NOT_FOUND;
	if (code_in(code, conflict))
		return ERROR_KIND_CONFLICT;
	if (code_in(code, transient))
		return ERROR_KIND_TRANSIENT;
	if (code_in(code, credentials))
		return ERROR_KIND_CREDENTIALS;
	if (*code)
		/* a code we know nothing more of: 409/412/429/5xx still say what happened */
		return status == 409 || status == 412   ? ERROR_KIND_CONFLICT
		       : status == 429 || status >= 500 ? ERROR_KIND_TRANSIENT
		                                        : ERROR_KIND_TERMINAL;
	switch (status) {
	case 409:
	case 412:
		return ERROR_KIND_CONFLICT;
	case 429:
		return ERROR_KIND_TRANSIENT;
	}
	/* a 404 without ResourceNotFoundException is a wrong endpoint, not a missing function */
	return status >= 500 ? ERROR_KIND_TRANSIENT : ERROR_KIND_TERMINAL;
}

enum error_kind aws_transport_kind(int code)
{
	switch (code) {
	case -ECONNREFUSED:
	case -ECONNRESET:
	case -ETIMEDOUT:
	case -EAGAIN:
		return ERROR_KIND_TRANSIENT;
	case -ECANCELED:
		return ERROR_KIND_CANCELED;
	}
	return ERROR_KIND_TERMINAL;
}

/* ---- URL ------------------------------------------------------------------------- */

int aws_request_path(const struct aws_request *req, struct buf *ret_path, struct buf *ret_query)
{
	bool first = true;
	int r;

	r = buf_putc(ret_path, '/');
	if (r >= 0)
		r = buf_puts(ret_path, req->api_version ? req->api_version : AWS_LAMBDA_API_VERSION);
	for (size_t i = 0; r >= 0 && i < req->n_segments && i < AWS_MAX_PATH_SEGMENTS; i++) {
		const char *s = req->segments[i] ? req->segments[i] : "";

		r = buf_putc(ret_path, '/');
		if (r >= 0)
			r = http_uri_encode(ret_path, s, strlen(s), true);
	}
	if (r >= 0 && req->trailing_slash)
		r = buf_putc(ret_path, '/');
	for (size_t i = 0; r >= 0 && i < req->n_query && i < AWS_MAX_QUERY; i++) {
		const struct aws_query_param *q = &req->query[i];

		if (!q->name || !q->value)
			continue;
		if (!first)
			r = buf_putc(ret_query, '&');
		first = false;
		if (r >= 0)
			r = http_uri_encode(ret_query, q->name, strlen(q->name), true);
		if (r >= 0)
			r = buf_putc(ret_query, '=');
		if (r >= 0)
			r = http_uri_encode(ret_query, q->value, strlen(q->value), true);
	}
	return r < 0 ? r : 0;
}

/* ---- client -------------------------------------------------------------------------- */

/* Split the endpoint into the normalised base and the host to sign. */
static int endpoint_parse(const char *url, char **ret_base, char **ret_host, struct error *err)
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

int aws_client_new(struct aws_client **ret, const struct aws_client_options *opt, struct error *err)
{
	static const struct aws_client_options defaults = {0};
	struct aws_client *c;
	struct ratelimit_options ro = {0};
	const char *ep;
	char *url = NULL;
	int r;

	if (!opt)
		opt = &defaults;
	c = calloc(1, sizeof(*c));
	if (!c)
		return error_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&c->pool_lock, NULL);
	pthread_mutex_init(&c->counters_lock, NULL);
	atomic_init(&c->stop, false);

	if (opt->retry) {
		c->retry = *opt->retry;
		if (c->retry.max_attempts < 1)
			c->retry.max_attempts = 1;
	} else {
		r = retry_policy_from_env(&c->retry, err);
		if (r < 0)
			goto fail;
	}
	if (opt->http) {
		c->http_opt = *opt->http;
		c->has_http_opt = true;
	}

	if (opt->region && *opt->region) {
		c->region = strdup(opt->region);
		if (!c->region) {
			r = error_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
	} else {
		r = aws_region_resolve(opt->profile, &c->region, err);
		if (r < 0) {
			if (r == -ENOENT)
				error_set(err, r,
				          "no AWS region: set AWS_REGION, AWS_DEFAULT_REGION or the "
				          "profile's region, "
				          "or pass --region");
			goto fail;
		}
	}
	for (const char *p = c->region; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '-') {
			r = error_set(err, -EINVAL, "region '%s' is not a region name", c->region);
			goto fail;
		}

	ep = getenv("AWS_ENDPOINT_URL_LAMBDA");
	if (!ep || !*ep)
		ep = getenv("AWS_ENDPOINT_URL");
	if (!ep || !*ep)
		ep = opt->endpoint;
	if (!ep || !*ep) {
		if (asprintf(&url, "https://lambda.%s.amazonaws.com", c->region) < 0) {
			url = NULL;
			r = error_set(err, -ENOMEM, "out of memory");
			goto fail;
		}
		ep = url;
	}
	r = endpoint_parse(ep, &c->endpoint, &c->host, err);
	free(url);
	if (r < 0)
		goto fail;

	if (opt->static_credentials) {
		r = aws_credentials_copy(&c->static_creds, opt->static_credentials);
		if (r < 0) {
			error_set(err, r, "out of memory");
			goto fail;
		}
		c->has_static = true;
	} else {
		struct aws_credentials_options co = {.profile = opt->profile, .sts_endpoint = NULL};

		r = aws_credentials_provider_new(&c->provider, &co, err);
		if (r < 0)
			goto fail;
	}

	ro.min_rate = opt->min_rate > 0 ? opt->min_rate : 0;
	ro.rate = opt->get_function_rate > 0 ? opt->get_function_rate : AWS_DEFAULT_GET_FUNCTION_RATE;
	r = ratelimit_init(&c->rl_get_function, &ro);
	if (r < 0) {
		error_set(err, r, "bad GetFunction rate %g", ro.rate);
		goto fail;
	}
	ro.rate = opt->control_rate > 0 ? opt->control_rate : AWS_DEFAULT_CONTROL_RATE;
	r = ratelimit_init(&c->rl_control, &ro);
	if (r < 0) {
		error_set(err, r, "bad control-plane rate %g", ro.rate);
		goto fail;
	}
	*ret = c;
	return 0;
fail:
	aws_client_free(c);
	return r;
}

void aws_client_free(struct aws_client *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_pool; i++)
		http_client_free(c->pool[i]);
	aws_credentials_provider_free(c->provider);
	if (c->has_static)
		aws_credentials_release(&c->static_creds);
	ratelimit_release(&c->rl_get_function);
	ratelimit_release(&c->rl_control);
	pthread_mutex_destroy(&c->pool_lock);
	pthread_mutex_destroy(&c->counters_lock);
	free(c->region);
	free(c->endpoint);
	free(c->host);
	free(c);
}

const char *aws_client_region(const struct aws_client *c)
{
	return c->region;
}

const char *aws_client_endpoint(const struct aws_client *c)
{
	return c->endpoint;
}

void aws_client_stop(struct aws_client *c)
{
	atomic_store(&c->stop, true);
}

bool aws_client_stopped(const struct aws_client *c)
{
	return atomic_load(&((struct aws_client *)c)->stop);
}

/* ---- counters ---------------------------------------------------------------------------- */

static void counter_add(struct aws_client *c, const char *op, const char *outcome)
{
	struct counter *k = NULL;

	pthread_mutex_lock(&c->counters_lock);
	for (size_t i = 0; i < c->n_counters; i++)
		if (!strcmp(c->counters[i].operation, op) && !strcmp(c->counters[i].outcome, outcome)) {
			k = &c->counters[i];
			break;
		}
	if (!k) {
		if (c->n_counters < AWS_COUNTERS_MAX - 1) {
			k = &c->counters[c->n_counters++];
			snprintf(k->operation, sizeof(k->operation), "%s", op);
			snprintf(k->outcome, sizeof(k->outcome), "%s", outcome);
		} else {
			/* the last slot collects everything beyond the cap */
			k = &c->counters[AWS_COUNTERS_MAX - 1];
			snprintf(k->operation, sizeof(k->operation), "other");
			snprintf(k->outcome, sizeof(k->outcome), "other");
			c->n_counters = AWS_COUNTERS_MAX;
		}
	}
	k->count++;
	pthread_mutex_unlock(&c->counters_lock);
}

void aws_client_counters_foreach(struct aws_client *c, aws_counter_fn fn, void *ctx)
{
	pthread_mutex_lock(&c->counters_lock);
	for (size_t i = 0; i < c->n_counters; i++)
		fn(c->counters[i].operation, c->counters[i].outcome, c->counters[i].count, ctx);
	pthread_mutex_unlock(&c->counters_lock);
}

uint64_t aws_client_retries(struct aws_client *c)
{
	uint64_t n;

	pthread_mutex_lock(&c->counters_lock);
	n = c->retries;
	pthread_mutex_unlock(&c->counters_lock);
	return n;
}

uint64_t aws_client_throttles(struct aws_client *c)
{
	return ratelimit_throttles(&c->rl_get_function) + ratelimit_throttles(&c->rl_control);
}

/* ---- the call ------------------------------------------------------------------------------ */

static int pool_get(struct aws_client *c, struct http_client **ret, struct error *err)
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

static void pool_put(struct aws_client *c, struct http_client *h)
{
	if (!h)
		return;
	pthread_mutex_lock(&c->pool_lock);
	if (c->n_pool < POOL_MAX) {
		c->pool[c->n_pool++] = h;
		h = NULL;
	}
	pthread_mutex_unlock(&c->pool_lock);
	http_client_free(h);
}

/* Sleep ms, in slices; false if stopped meanwhile. */
static bool sleep_unless_stopped(struct aws_client *c, uint64_t ms)
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

static void kind_set(struct aws_error *aerr, enum error_kind kind)
{
	if (aerr)
		error_set_kind(&aerr->err, kind);
}

static int get_credentials(struct aws_client *c, struct aws_credentials *ret, struct error *err)
{
	if (c->has_static)
		return aws_credentials_copy(ret, &c->static_creds) < 0
		           ? error_set(err, -ENOMEM, "out of memory")
		           : 0;
	return aws_credentials_get(c->provider, time(NULL), ret, err);
}

/* Fill aerr from an HTTP error answer; returns the errno. */
static int http_error(struct aws_client *c, const struct aws_request *req, const struct http_response *resp,
                      const struct aws_credentials *creds, struct aws_error *aerr)
{
	char code[128], message[512];
	const char *rid;
	int e;

	aws_error_parse(http_response_header(resp, "x-amzn-errortype"), resp->body.ptr, resp->body.len, code,
	                sizeof(code), message, sizeof(message));
	e = aws_error_errno(resp->status, code);
	counter_add(c, req->operation, *code ? code : "HTTP_error");
	if (!aerr)
		return e;
	aws_error_clear(aerr);
	aerr->status = resp->status;
	snprintf(aerr->code, sizeof(aerr->code), "%s", code);
	snprintf(aerr->message, sizeof(aerr->message), "%s", message);
	snprintf(aerr->operation, sizeof(aerr->operation), "%s", req->operation);
	rid = http_response_header(resp, "x-amzn-requestid");
	snprintf(aerr->request_id, sizeof(aerr->request_id), "%s", rid ? rid : "");
	if (resp->status == 403 || resp->status == 401) {
		const char *hint = "";

		if (!strcmp(code, "InvalidSignatureException") || !strcmp(code, "SignatureDoesNotMatch"))
			hint = "the request signature was rejected: check the secret access key and the "
			       "system clock";
		else if (!strcmp(code, "UnrecognizedClientException"))
			hint = "the access key is not known to AWS (wrong key, or wrong endpoint/region)";
		else if (!strcmp(code, "ExpiredTokenException"))
			hint = "the session token has expired";
		else
			hint = "access denied: check the IAM policy";
		error_set(&aerr->err, e, "%s: %s (HTTP %ld, credentials from %s): %s%s%s", req->operation,
		          *code ? code : "error", resp->status,
		          creds && creds->source[0] ? creds->source : "?", hint, *message ? ": " : "",
		          message);
	} else if (!strcmp(code, "CodeStorageExceededException")) {
		/* the whole region is blocked: say so, and what frees space */
		error_set(&aerr->err, e,
		          "%s: CodeStorageExceededException (HTTP %ld): the Lambda code storage of region %s "
		          "is full%s%s%s; free it by deleting versions nothing needs (prune.keepVersions in "
		          "the manifests; 'aliasd versions FUNCTION' shows what each version stores) or ask "
		          "AWS for a higher limit",
		          req->operation, resp->status, c->region, *message ? " (" : "", message,
		          *message ? ")" : "");
	} else {
		error_set(&aerr->err, e, "%s: %s (HTTP %ld)%s%s", req->operation, *code ? code : "error",
		          resp->status, *message ? ": " : "", message);
	}
	error_set_kind(&aerr->err, aws_error_kind(resp->status, code));
	return e;
}

int aws_client_call(struct aws_client *c, const struct aws_request *req, long *ret_status,
                    struct buf *ret_body, struct aws_error *aerr)
{
	static _Thread_local struct retry_rng rng;
	static _Thread_local bool rng_seeded;
	struct buf path = BUF_INIT, query = BUF_INIT, url = BUF_INIT;
	struct aws_credentials creds = {0};
	struct http_client *h = NULL;
	struct error e = ERROR_INIT;
	struct ratelimit *rl = req->quota == AWS_QUOTA_GET_FUNCTION ? &c->rl_get_function : &c->rl_control;
	unsigned attempt = 0;
	int r;

	if (!rng_seeded) {
		retry_rng_seed_auto(&rng);
		rng_seeded = true;
	}
	aws_error_clear(aerr);
	r = aws_request_path(req, &path, &query);
	if (r >= 0)
		r = buf_printf(&url, "%s%s%s%s", c->endpoint, path.ptr, query.len ? "?" : "", query.ptr);
	if (r < 0) {
		r = aws_error_set(aerr, r, req->operation, "%s: request URL too long", req->operation);
		kind_set(aerr, ERROR_KIND_TERMINAL);
		goto out;
	}
	r = pool_get(c, &h, &e);
	if (r < 0) {
		r = aws_error_set(aerr, r, req->operation, "%s: %s", req->operation, e.msg);
		kind_set(aerr, ERROR_KIND_TERMINAL);
		goto out;
	}

	for (;;) {
		struct http_header sign_hdr[1] = {{(char *)"host", c->host}};
		struct http_header send_hdr[6];
		size_t n_send = 0;
		struct sigv4_params sp = {
		    .method = req->method,
		    .path = path.ptr,
		    .query = query.len ? query.ptr : NULL,
		    .headers = sign_hdr,
		    .n_headers = 1,
		    .payload = req->body,
		    .payload_len = req->body ? req->body_len : 0,
		    .payload_sha256_hex = req->body_reader ? req->body_sha256_hex : NULL,
		    .region = c->region,
		    .service = "lambda",
		    .double_encode_path = true,
		};
		struct sigv4_result sig = SIGV4_RESULT_INIT;
		struct http_request hr = {0};
		struct http_response resp = HTTP_RESPONSE_INIT;
		uint64_t delay = 0;
		bool again;
		int tr;

		attempt++;
		if (atomic_load(&c->stop)) {
			if (attempt == 1)
				r = aws_error_set(aerr, -ECANCELED, req->operation, "%s: not sent: stopping",
				                  req->operation);
			if (attempt == 1)
				kind_set(aerr, ERROR_KIND_CANCELED);
			goto out; /* r holds the last attempt's error */
		}
		if (ratelimit_acquire(rl, &c->stop) < 0) {
			if (attempt == 1)
				r = aws_error_set(aerr, -ECANCELED, req->operation, "%s: not sent: stopping",
				                  req->operation);
			if (attempt == 1)
				kind_set(aerr, ERROR_KIND_CANCELED);
			goto out;
		}
		aws_credentials_release(&creds);
		memset(&creds, 0, sizeof(creds));
		error_clear(&e);
		r = get_credentials(c, &creds, &e);
		if (r < 0) {
			/* not about this operation: the same for every call */
			r = aws_error_set(aerr, r, req->operation, "%s", e.msg);
			kind_set(aerr, ERROR_KIND_CREDENTIALS);
			goto out;
		}
		sp.now = time(NULL);
		r = sigv4_sign(&sp, &creds, &sig, &e);
		if (r < 0) {
			sigv4_result_release(&sig);
			r = aws_error_set(aerr, r, req->operation, "%s: signing failed: %s", req->operation,
			                  e.msg);
			kind_set(aerr, ERROR_KIND_CREDENTIALS);
			goto out;
		}
		send_hdr[n_send++] = (struct http_header){(char *)"X-Amz-Date", sig.amz_date};
		send_hdr[n_send++] = (struct http_header){(char *)"Authorization", sig.authorization.ptr};
		if (creds.session_token)
			send_hdr[n_send++] =
			    (struct http_header){(char *)"X-Amz-Security-Token", creds.session_token};
		if (req->body || req->body_reader)
			send_hdr[n_send++] =
			    (struct http_header){(char *)"Content-Type", (char *)"application/json"};
		send_hdr[n_send++] =
		    (struct http_header){(char *)"User-Agent", (char *)"aliasd/" ALIASD_VERSION};
		hr.method = req->method;
		hr.url = url.ptr;
		hr.headers = send_hdr;
		hr.n_headers = n_send;
		hr.body = req->body;
		hr.body_len = req->body ? req->body_len : 0;
		hr.body_reader = req->body_reader;
		error_clear(&e);
		tr = http_client_send(h, &hr, &resp, &e);
		sigv4_result_release(&sig);
		if (tr < 0) {
			counter_add(c, req->operation, "transport");
			r = aws_error_set(aerr, tr, req->operation, "%s: %s", req->operation, e.msg);
			kind_set(aerr, aws_transport_kind(tr));
			if (aerr)
				aerr->attempts = attempt;
			again = retry_decide(&c->retry, attempt, tr, 0, NULL, &rng, &delay);
			if (tr != -E2BIG && tr != -EINVAL) {
				/* the connection may be broken: start afresh */
				http_client_free(h);
				h = NULL;
				if (again) {
					error_clear(&e);
					r = pool_get(c, &h, &e);
					if (r < 0) {
						r = aws_error_set(aerr, r, req->operation, "%s: %s",
						                  req->operation, e.msg);
						kind_set(aerr, ERROR_KIND_TERMINAL);
						goto out;
					}
					r = tr;
				}
			}
		} else if (resp.status >= 200 && resp.status < 300) {
			long status = resp.status;

			counter_add(c, req->operation, "ok");
			if (ret_status)
				*ret_status = status;
			if (ret_body) {
				buf_release(ret_body);
				*ret_body = resp.body;
				resp.body = (struct buf)BUF_INIT;
			}
			http_response_release(&resp);
			if (aerr) {
				aerr->status = status;
				aerr->attempts = attempt;
			}
			r = 0;
			goto out;
		} else {
			r = http_error(c, req, &resp, &creds, aerr);
			if (aerr)
				aerr->attempts = attempt;
			if (resp.status == 429)
				ratelimit_on_throttle(rl);
			again = retry_decide(&c->retry, attempt, 0, resp.status,
			                     http_response_header(&resp, "retry-after"), &rng, &delay);
			http_response_release(&resp);
		}
		if (!again)
			goto out;
		pthread_mutex_lock(&c->counters_lock);
		c->retries++;
		pthread_mutex_unlock(&c->counters_lock);
		if (!sleep_unless_stopped(c, delay))
			goto out;
	}
out:
	pool_put(c, h);
	aws_credentials_release(&creds);
	buf_release(&path);
	buf_release(&query);
	buf_release(&url);
	return r;
}
