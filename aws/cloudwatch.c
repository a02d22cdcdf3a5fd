/*
 * cloudwatch.c - CloudWatch DescribeAlarms over the Query protocol (see
 * cloudwatch.h).  Endpoint, credentials, HTTP pool and the sign-send-retry
 * loop are aws/core's; this file holds the protocol: the form body, the XML
 * answers and errors (a 400 Throttling is retried as a 429 is).
 */
#include "aws/cloudwatch.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/core.h"
#include "aws/credentials.h"
#include "aws/query.h"
#include "aws/ratelimit.h"
#include "aws/xml.h"

#define POOL_MAX  8
#define OPERATION "DescribeAlarms"

struct cloudwatch_client {
	struct aws_core core;
	char *path; /* the path to POST to: the endpoint's base path + "/" */
	struct ratelimit rl;
};

/* ---- alarms ------------------------------------------------------------------------ */

const char *cloudwatch_state_name(enum cloudwatch_state s)
{
	static const char *const names[] = {"missing", "OK", "ALARM", "INSUFFICIENT_DATA", "unknown"};

	return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "unknown";
}

void cloudwatch_alarms_release(struct cloudwatch_alarms *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->n; i++) {
		free(a->items[i].name);
		free(a->items[i].reason);
	}
	free(a->items);
	a->items = NULL;
	a->n = 0;
}

static const struct cloudwatch_alarm *first_in(const struct cloudwatch_alarms *a, enum cloudwatch_state s)
{
	for (size_t i = 0; a && i < a->n; i++)
		if (a->items[i].state == s)
			return &a->items[i];
	return NULL;
}

const struct cloudwatch_alarm *cloudwatch_alarms_first_in_alarm(const struct cloudwatch_alarms *a)
{
	return first_in(a, CLOUDWATCH_ALARM);
}

const struct cloudwatch_alarm *cloudwatch_alarms_first_missing(const struct cloudwatch_alarms *a)
{
	return first_in(a, CLOUDWATCH_MISSING);
}

/* ---- the request body ---------------------------------------------------------------- */

int cloudwatch_describe_body(struct buf *out, const char *const *names, size_t n, const char *next_token)
{
	char key[48];
	int r;

	if (n > CLOUDWATCH_NAMES_PER_CALL)
		return -E2BIG;
	r = aws_query_form_put(out, "Action", "DescribeAlarms");
	if (r >= 0)
		r = aws_query_form_put(out, "Version", CLOUDWATCH_API_VERSION);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		snprintf(key, sizeof(key), "AlarmNames.member.%zu", i + 1);
		r = aws_query_form_put(out, key, names[i]);
	}
	/* both kinds: a declared composite alarm must never look missing */
	if (r >= 0)
		r = aws_query_form_put(out, "AlarmTypes.member.1", "CompositeAlarm");
	if (r >= 0)
		r = aws_query_form_put(out, "AlarmTypes.member.2", "MetricAlarm");
	if (r >= 0)
		r = aws_query_form_put(out, "MaxRecords", "100");
	if (r >= 0 && next_token)
		r = aws_query_form_put(out, "NextToken", next_token);
	return r < 0 ? r : 0;
}

/* ---- answers ---------------------------------------------------------------------------- */

static enum cloudwatch_state state_parse(const char *s)
{
	if (!s)
		return CLOUDWATCH_UNKNOWN;
	if (!strcmp(s, "OK"))
		return CLOUDWATCH_OK;
	if (!strcmp(s, "ALARM"))
		return CLOUDWATCH_ALARM;
	if (!strcmp(s, "INSUFFICIENT_DATA"))
		return CLOUDWATCH_INSUFFICIENT_DATA;
	return CLOUDWATCH_UNKNOWN;
}

static int member_apply(const struct xml_node *m, struct cloudwatch_alarms *into)
{
	const char *name = xml_text(m, "AlarmName");
	const char *reason = xml_text(m, "StateReason");
	const char *updated = xml_text(m, "StateUpdatedTimestamp");

	if (!name)
		return 0;
	for (size_t i = 0; i < into->n; i++) {
		struct cloudwatch_alarm *a = &into->items[i];
		char *rs;

		if (strcmp(a->name, name))
			continue;
		rs = strdup(reason ? reason : "");
		if (!rs)
			return -ENOMEM;
		if (strlen(rs) > 1024)
			rs[1024] = '\0';
		for (char *p = rs; *p; p++)
			if ((unsigned char)*p < 0x20 || *p == 0x7f)
				*p = ' ';
		free(a->reason);
		a->reason = rs;
		a->state = state_parse(xml_text(m, "StateValue"));
		aws_query_text_copy(a->updated, sizeof(a->updated), updated);
	}
	return 0;
}

int cloudwatch_describe_parse(const char *text, size_t len, struct cloudwatch_alarms *into,
                              char **ret_next_token, struct error *err)
{
	static const char *const lists[] = {"MetricAlarms/member", "CompositeAlarms/member"};
	struct xml_limits lim = {.max_bytes = CLOUDWATCH_MAX_RESPONSE};
	struct xml_node *doc = NULL;
	const struct xml_node *result;
	const char *token;
	char *tok = NULL;
	int r;

	r = xml_parse(&doc, text, len, &lim, err);
	if (r < 0)
		return error_prefix(err, "DescribeAlarms answer");
	result = xml_find(doc, "DescribeAlarmsResponse/DescribeAlarmsResult");
	if (!result) {
		r = error_set(err, -EBADMSG,
		              "DescribeAlarms answer: no DescribeAlarmsResponse/DescribeAlarmsResult");
		goto out;
	}
	for (size_t l = 0; l < 2; l++)
		for (const struct xml_node *m = xml_find(result, lists[l]); m; m = xml_next(m)) {
			r = member_apply(m, into);
			if (r < 0) {
				error_set(err, r, "out of memory");
				goto out;
			}
		}
	token = xml_text(result, "NextToken");
	if (token && *token) {
		if (strlen(token) > 4096) {
			r = error_set(err, -EBADMSG, "DescribeAlarms answer: NextToken too long");
			goto out;
		}
		tok = strdup(token);
		if (!tok) {
			r = error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	*ret_next_token = tok;
	r = 0;
out:
	xml_free(doc);
	return r;
}

void cloudwatch_error_parse(const char *body, size_t len, char *ret_code, size_t code_size, char *ret_message,
                            size_t message_size, char *ret_request_id, size_t request_id_size)
{
	aws_query_error_parse(body, len, ret_code, code_size, ret_message, message_size, ret_request_id,
	                      request_id_size);
}

int cloudwatch_error_classify(long status, const char *code, enum error_kind *ret_kind, bool *ret_throttle)
{
	return aws_query_error_classify(status, code, ret_kind, ret_throttle);
}

/* ---- endpoint -------------------------------------------------------------------------- */

int cloudwatch_endpoint_resolve(const char *config_endpoint, const char *region, char **ret,
                                struct error *err)
{
	return aws_endpoint_resolve("CLOUDWATCH", config_endpoint, "monitoring", true, region, ret, err);
}

/* ---- client ------------------------------------------------------------------------------ */

int cloudwatch_client_new(struct cloudwatch_client **ret, const struct aws_client_options *opt,
                          struct error *err)
{
	static const struct aws_client_options defaults = {0};
	static const struct aws_core_options so = {
	    .env_service = "CLOUDWATCH",
	    .host_prefix = "monitoring",
	    .china_suffix = true,
	    .pool_max = POOL_MAX,
	    .max_response_bytes = CLOUDWATCH_MAX_RESPONSE,
	};
	struct ratelimit_options ro = {0};
	struct cloudwatch_client *c;
	const char *base_path;
	int r;

	if (!opt)
		opt = &defaults;
	c = calloc(1, sizeof(*c));
	if (!c)
		return error_set(err, -ENOMEM, "out of memory");
	r = aws_core_init(&c->core, opt, &so, err);
	if (r < 0) {
		free(c);
		return r;
	}
	base_path = strstr(c->core.endpoint, "://") + 3;
	base_path += strcspn(base_path, "/");
	if (asprintf(&c->path, "%s/", base_path) < 0) {
		c->path = NULL;
		r = error_set(err, -ENOMEM, "out of memory");
		goto fail;
	}
	ro.rate = opt->control_rate > 0 ? opt->control_rate : CLOUDWATCH_DEFAULT_RATE;
	ro.min_rate = opt->min_rate > 0 ? opt->min_rate : 0;
	r = ratelimit_init(&c->rl, &ro);
	if (r < 0) {
		error_set(err, r, "bad CloudWatch rate %g", ro.rate);
		goto fail;
	}
	*ret = c;
	return 0;
fail:
	cloudwatch_client_free(c);
	return r;
}

void cloudwatch_client_free(struct cloudwatch_client *c)
{
	if (!c)
		return;
	aws_core_release(&c->core);
	ratelimit_release(&c->rl);
	free(c->path);
	free(c);
}

const char *cloudwatch_client_endpoint(const struct cloudwatch_client *c)
{
	return c->core.endpoint;
}

const char *cloudwatch_client_region(const struct cloudwatch_client *c)
{
	return c->core.region;
}

void cloudwatch_client_stop(struct cloudwatch_client *c)
{
	aws_core_stop(&c->core);
}

/* ---- signing and the call ------------------------------------------------------------------ */

int cloudwatch_request_sign(const char *host, const char *path, const char *region,
                            const struct aws_credentials *creds, time_t now, const char *body,
                            size_t body_len, struct sigv4_result *sig,
                            struct http_header ret_headers[CLOUDWATCH_SIGNED_HEADERS], struct error *err)
{
	struct sigv4_params sp = {
	    .method = "POST",
	    .path = path,
	    .payload = body,
	    .payload_len = body_len,
	    .region = region,
	    .service = "monitoring",
	    .now = now,
	    .double_encode_path = true,
	};

	return aws_core_sign(&sp, host, CLOUDWATCH_CONTENT_TYPE, true, creds, sig, ret_headers, err);
}

static int fail(struct aws_error *aerr, int code, enum error_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int fail(struct aws_error *aerr, int code, enum error_kind kind, const char *fmt, ...)
{
	char msg[ERROR_MSG_MAX];
	va_list ap;

	if (!aerr)
		return code;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	aws_error_set(aerr, code, OPERATION, "%s", msg);
	error_set_kind(&aerr->err, kind);
	return code;
}

/* One DescribeAlarms request with retries; the 2xx body goes to ret_body. */
static int query_call(struct cloudwatch_client *c, const struct buf *body, struct buf *ret_body,
                      struct aws_error *aerr)
{
	static const struct aws_protocol proto = {
	    .service = "monitoring",
	    .read_error = aws_query_read_error,
	    .prefix_credential_errors = true,
	};
	struct buf url = BUF_INIT;
	int r;

	r = buf_printf(&url, "%s/", c->core.endpoint);
	if (r < 0) {
		r = fail(aerr, r, ERROR_KIND_TERMINAL, OPERATION ": URL too long");
	} else {
		const struct aws_send send = {
		    .operation = OPERATION,
		    .method = "POST",
		    .url = url.ptr,
		    .sign_path = c->path,
		    .content_type = CLOUDWATCH_CONTENT_TYPE,
		    .sign_content_type = true,
		    .body = body->ptr,
		    .body_len = body->len,
		    .rl = &c->rl,
		};

		r = aws_core_send(&c->core, &proto, &send, NULL, ret_body, aerr);
	}
	buf_release(&url);
	return r;
}

int cloudwatch_alarms_describe(struct cloudwatch_client *c, const char *const *names, size_t n,
                               struct cloudwatch_alarms *ret, struct aws_error *aerr)
{
	struct cloudwatch_alarms out = CLOUDWATCH_ALARMS_INIT;
	const char **chunk = NULL;
	struct buf body = BUF_INIT, answer = BUF_INIT;
	char *token = NULL;
	int r = 0;

	aws_error_clear(aerr);
	if (!n || n > CLOUDWATCH_MAX_NAMES)
		return fail(aerr, -EINVAL, ERROR_KIND_TERMINAL, OPERATION ": %zu alarm names, must be 1..%d",
		            n, CLOUDWATCH_MAX_NAMES);
	out.items = calloc(n, sizeof(*out.items));
	chunk = calloc(CLOUDWATCH_NAMES_PER_CALL, sizeof(*chunk));
	if (!out.items || !chunk) {
		r = fail(aerr, -ENOMEM, ERROR_KIND_TERMINAL, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		size_t len = names[i] ? strlen(names[i]) : 0;
		bool dup = false;

		if (!len || len > CLOUDWATCH_NAME_MAX) {
			r = fail(aerr, -EINVAL, ERROR_KIND_TERMINAL,
			         OPERATION ": alarm name %zu must be 1..%d bytes", i + 1,
			         CLOUDWATCH_NAME_MAX);
			goto out;
		}
		for (size_t j = 0; j < out.n && !dup; j++)
			dup = !strcmp(out.items[j].name, names[i]);
		if (dup)
			continue;
		out.items[out.n].name = strdup(names[i]);
		out.items[out.n].reason = strdup("");
		if (!out.items[out.n].name || !out.items[out.n].reason) {
			free(out.items[out.n].name);
			free(out.items[out.n].reason);
			r = fail(aerr, -ENOMEM, ERROR_KIND_TERMINAL, "out of memory");
			goto out;
		}
		out.n++;
	}
	for (size_t first = 0; first < out.n; first += CLOUDWATCH_NAMES_PER_CALL) {
		size_t k =
		    out.n - first < CLOUDWATCH_NAMES_PER_CALL ? out.n - first : CLOUDWATCH_NAMES_PER_CALL;
		unsigned pages = 0;

		for (size_t i = 0; i < k; i++)
			chunk[i] = out.items[first + i].name;
		do {
			struct error pe = ERROR_INIT;
			char *next = NULL;

			if (++pages > CLOUDWATCH_MAX_PAGES) {
				r = fail(aerr, -EBADMSG, ERROR_KIND_TRANSIENT,
				         OPERATION ": more than %d pages", CLOUDWATCH_MAX_PAGES);
				goto out;
			}
			buf_reset(&body);
			r = cloudwatch_describe_body(&body, chunk, k, token);
			if (r < 0) {
				r = fail(aerr, r, ERROR_KIND_TERMINAL, OPERATION ": request too large");
				goto out;
			}
			r = query_call(c, &body, &answer, aerr);
			if (r < 0)
				goto out;
			r = cloudwatch_describe_parse(answer.ptr, answer.len, &out, &next, &pe);
			buf_release_secret(&answer);
			if (r < 0) {
				r = fail(aerr, r, ERROR_KIND_TRANSIENT, OPERATION ": %s", pe.msg);
				goto out;
			}
			if (next && token && !strcmp(next, token)) {
				free(next);
				r = fail(aerr, -EBADMSG, ERROR_KIND_TRANSIENT,
				         OPERATION ": the same NextToken twice");
				goto out;
			}
			free(token);
			token = next;
		} while (token);
	}
	*ret = out;
	out = (struct cloudwatch_alarms)CLOUDWATCH_ALARMS_INIT;
	r = 0;
out:
	cloudwatch_alarms_release(&out);
	free(chunk);
	free(token);
	buf_release(&body);
	buf_release(&answer);
	return r;
}
