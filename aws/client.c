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

#include "aws/core.h"
#include "aws/ratelimit.h"

#define POOL_MAX 32

struct counter {
	char operation[48];
	char outcome[64];
	uint64_t count;
};

struct aws_client {
	struct aws_core core;
	struct ratelimit rl_get_function;
	struct ratelimit rl_control;

	pthread_mutex_t counters_lock;
	struct counter counters[AWS_COUNTERS_MAX];
	size_t n_counters;
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

int aws_client_new(struct aws_client **ret, const struct aws_client_options *opt, struct error *err)
{
	static const struct aws_client_options defaults = {0};
	static const struct aws_core_options so = {
	    .env_service = "LAMBDA",
	    .host_prefix = "lambda",
	    .region_hint = ", or pass --region",
	    .pool_max = POOL_MAX,
	};
	struct aws_client *c;
	struct ratelimit_options ro = {0};
	int r;

	if (!opt)
		opt = &defaults;
	c = calloc(1, sizeof(*c));
	if (!c)
		return error_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&c->counters_lock, NULL);
	r = aws_core_init(&c->core, opt, &so, err);
	if (r < 0) {
		pthread_mutex_destroy(&c->counters_lock);
		free(c);
		return r;
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
	aws_core_release(&c->core);
	ratelimit_release(&c->rl_get_function);
	ratelimit_release(&c->rl_control);
	pthread_mutex_destroy(&c->counters_lock);
	free(c);
}

const char *aws_client_region(const struct aws_client *c)
{
	return c->core.region;
}

const char *aws_client_endpoint(const struct aws_client *c)
{
	return c->core.endpoint;
}

void aws_client_stop(struct aws_client *c)
{
	aws_core_stop(&c->core);
}

bool aws_client_stopped(const struct aws_client *c)
{
	return aws_core_stopped(&c->core);
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
	return atomic_load(&c->core.retries);
}

uint64_t aws_client_throttles(struct aws_client *c)
{
	return ratelimit_throttles(&c->rl_get_function) + ratelimit_throttles(&c->rl_control);
}

double aws_client_control_rate(struct aws_client *c)
{
	return ratelimit_rate(&c->rl_control);
}

/* ---- the call ------------------------------------------------------------------------------ */

/* Lambda's error reader (aws/core.h): REST-JSON errors; a 429 is throttling. */
static int http_error(const char *operation, const struct http_response *resp,
                      const struct aws_credentials *creds, struct aws_error *aerr, bool *ret_throttle,
                      void *ctx)
{
	struct aws_client *c = ctx;
	char code[128], message[512];
	const char *rid;
	int e;

	aws_error_parse(http_response_header(resp, "x-amzn-errortype"), resp->body.ptr, resp->body.len, code,
	                sizeof(code), message, sizeof(message));
	e = aws_error_errno(resp->status, code);
	counter_add(c, operation, *code ? code : "HTTP_error");
	*ret_throttle = resp->status == 429;
	aws_error_clear(aerr);
	aerr->status = resp->status;
	snprintf(aerr->code, sizeof(aerr->code), "%s", code);
	snprintf(aerr->message, sizeof(aerr->message), "%s", message);
	snprintf(aerr->operation, sizeof(aerr->operation), "%s", operation);
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
		error_set(&aerr->err, e, "%s: %s (HTTP %ld, credentials from %s): %s%s%s", operation,
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
		          operation, resp->status, c->core.region, *message ? " (" : "", message,
		          *message ? ")" : "");
	} else {
		error_set(&aerr->err, e, "%s: %s (HTTP %ld)%s%s", operation, *code ? code : "error",
		          resp->status, *message ? ": " : "", message);
	}
	error_set_kind(&aerr->err, aws_error_kind(resp->status, code));
	return e;
}

static void outcome_count(const char *operation, const char *outcome, void *ctx)
{
	counter_add(ctx, operation, outcome);
}

static struct ratelimit *quota_limiter(struct aws_client *c, enum aws_quota q)
{
	switch (q) {
	case AWS_QUOTA_GET_FUNCTION:
		return &c->rl_get_function;
	case AWS_QUOTA_NONE:
		return NULL;
	case AWS_QUOTA_CONTROL:
		break;
	}
	return &c->rl_control;
}

/* The 2xx answer to *ret_resp when not NULL, else to ret_status and ret_body. */
static int client_call(struct aws_client *c, const struct aws_request *req, long *ret_status,
                       struct buf *ret_body, struct http_response *ret_resp, struct aws_error *aerr)
{
	const struct aws_protocol proto = {
	    .service = "lambda",
	    .read_error = http_error,
	    .count = outcome_count,
	    .ctx = c,
	};
	struct buf path = BUF_INIT, query = BUF_INIT, url = BUF_INIT;
	int r;

	r = aws_request_path(req, &path, &query);
	if (r >= 0)
		r = buf_printf(&url, "%s%s%s%s", c->core.endpoint, path.ptr, query.len ? "?" : "", query.ptr);
	if (r < 0) {
		r = aws_error_set(aerr, r, req->operation, "%s: request URL too long", req->operation);
		if (aerr)
			error_set_kind(&aerr->err, ERROR_KIND_TERMINAL);
	} else {
		const struct aws_send send = {
		    .operation = req->operation,
		    .method = req->method,
		    .url = url.ptr,
		    .sign_path = path.ptr,
		    .sign_query = query.len ? query.ptr : NULL,
		    .content_type = "application/json",
		    .body = req->body,
		    .body_len = req->body_len,
		    .body_reader = req->body_reader,
		    .body_sha256_hex = req->body_sha256_hex,
		    .rl = quota_limiter(c, req->quota),
		    .headers = req->headers,
		    .n_headers = req->n_headers,
		    .no_resend = req->no_resend,
		    .timeout_ms = req->timeout_ms,
		};

		r = ret_resp ? aws_core_send_response(&c->core, &proto, &send, ret_resp, aerr)
		             : aws_core_send(&c->core, &proto, &send, ret_status, ret_body, aerr);
	}
	buf_release(&path);
	buf_release(&query);
	buf_release(&url);
	return r;
}

int aws_client_call(struct aws_client *c, const struct aws_request *req, long *ret_status,
                    struct buf *ret_body, struct aws_error *aerr)
{
	return client_call(c, req, ret_status, ret_body, NULL, aerr);
}

int aws_client_call_response(struct aws_client *c, const struct aws_request *req, struct http_response *ret,
                             struct aws_error *aerr)
{
	return client_call(c, req, NULL, NULL, ret, aerr);
}
