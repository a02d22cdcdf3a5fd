/*
 * lambda_invoke.c - Lambda Invoke (RequestResponse), for rollouts'
 * preTraffic functions: the request, the answer's headers and payload (see
 * lambda.h and lambda_wire.h).
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/lambda.h"
#include "aws/lambda_wire.h"

#define OPERATION "Invoke"

static const struct http_header invocation_type[] = {
    {(char *)"X-Amz-Invocation-Type", (char *)"RequestResponse"},
};

int lambda_invoke_request(struct aws_request *ret, const char *fn, const char *qualifier, const char *payload,
                          unsigned timeout_ms, struct error *err)
{
	const char *end = NULL;
	size_t len;
	cJSON *parsed;
	bool ok;

	if (!fn || !*fn)
		return error_set(err, -EINVAL, OPERATION ": a function name is required");
	if (qualifier && !*qualifier)
		qualifier = NULL;
	if (!payload)
		payload = "{}";
	len = strlen(payload);
	if (len > LAMBDA_INVOKE_REQUEST_MAX)
		return error_set(err, -EINVAL, OPERATION ": payload of %zu bytes is over Lambda's %u", len,
		                 (unsigned)LAMBDA_INVOKE_REQUEST_MAX);
	if (!lambda_utf8_valid(payload, len))
		return error_set(err, -EINVAL, OPERATION ": payload is not valid UTF-8");
	parsed = cJSON_ParseWithLengthOpts(payload, len, &end, false);
	ok = parsed != NULL;
	cJSON_Delete(parsed);
	while (ok && end < payload + len && isspace((unsigned char)*end))
		end++;
	if (!ok || end != payload + len)
		return error_set(err, -EINVAL, OPERATION ": payload is not one JSON value");

	*ret = (struct aws_request){
	    .operation = OPERATION,
	    .method = "POST",
	    .segments = {"functions", fn, "invocations"},
	    .n_segments = 3,
	    .query = {{"Qualifier", qualifier}},
	    .n_query = 1,
	    .body = payload,
	    .body_len = len,
	    .quota = AWS_QUOTA_NONE,
	    .headers = invocation_type,
	    .n_headers = 1,
	    .no_resend = true,
	    .timeout_ms = timeout_ms,
	};
	return 0;
}

/* "$LATEST" or 1..15 digits. */
static bool version_valid(const char *v)
{
	size_t n = strlen(v);

	if (!strcmp(v, "$LATEST"))
		return true;
	if (!n || n >= sizeof(((struct lambda_invoke_result *)0)->executed_version))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)v[i]))
			return false;
	return true;
}

/* Copy a header value, printable ASCII only (anything else becomes '?'), cut to size. */
static void copy_header(char *dst, size_t size, const char *src)
{
	size_t i = 0;

	for (; src[i] && i + 1 < size; i++)
		dst[i] = (unsigned char)src[i] < 0x20 || (unsigned char)src[i] >= 0x7f ? '?' : src[i];
	dst[i] = '\0';
}

/* The longest prefix of s[0..len) of at most max bytes that does not cut a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	size_t n = len < max ? len : max;

	if (n == len)
		return n;
	/* back off continuation bytes, then the lead byte whose sequence they belong to */
	for (size_t back = 0; back < 4 && n > 0; back++) {
		unsigned char b = (unsigned char)s[n - 1];

		if (b < 0x80)
			return n; /* ASCII: nothing cut */
		if (b >= 0xc0) {
			size_t need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : 2;

			/* the sequence starting at n-1 has back+1 of its bytes before the cut */
			return back + 1 >= need ? n + back : n - 1;
		}
		n--;
	}
	return n;
}

int lambda_invoke_result_parse(long status, const char *function_error, const char *executed_version,
                               const char *body, size_t len, struct lambda_invoke_result *ret,
                               struct error *err)
{
	struct lambda_invoke_result out = {.status = (int)status};
	size_t keep;

	if (status != 200)
		return error_set(err, -EPROTO, OPERATION ": unexpected HTTP status %ld for RequestResponse",
		                 status);
	if (executed_version && *executed_version) {
		if (!version_valid(executed_version))
			return error_set(err, -EBADMSG,
			                 OPERATION
			                 ": response header X-Amz-Executed-Version is not a version");
		copy_header(out.executed_version, sizeof(out.executed_version), executed_version);
	}
	if (function_error)
		copy_header(out.function_error, sizeof(out.function_error),
		            *function_error ? function_error : "Unhandled");
	if (!body)
		len = 0;
	keep = utf8_cut(body, len, LAMBDA_INVOKE_PAYLOAD_MAX);
	out.payload = malloc(keep + 1);
	if (!out.payload)
		return error_set(err, -ENOMEM, "out of memory");
	if (keep)
		memcpy(out.payload, body, keep);
	out.payload[keep] = '\0';
	out.payload_len = keep;
	out.payload_truncated = keep < len;
	*ret = out;
	return 0;
}

int lambda_invoke(struct aws_client *c, const char *fn, const char *qualifier, const char *payload,
                  unsigned timeout_ms, struct lambda_invoke_result *ret, struct aws_error *err)
{
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct aws_request req;
	struct error e = ERROR_INIT;
	int r;

	r = lambda_invoke_request(&req, fn, qualifier, payload, timeout_ms, &e);
	if (r < 0) {
		aws_error_set(err, r, OPERATION, "%s", e.msg);
		if (err)
			error_set_kind(&err->err, ERROR_KIND_TERMINAL);
		return r;
	}
	r = aws_client_call_response(c, &req, &resp, err);
	if (r < 0)
		return r;
	r = lambda_invoke_result_parse(resp.status, http_response_header(&resp, "x-amz-function-error"),
	                               http_response_header(&resp, "x-amz-executed-version"), resp.body.ptr,
	                               resp.body.len, ret, &e);
	if (r < 0) {
		aws_error_set(err, r, OPERATION, "%s", e.msg);
		if (err)
			error_set_kind(&err->err, ERROR_KIND_TERMINAL);
	}
	http_response_release(&resp);
	return r;
}

void lambda_invoke_result_release(struct lambda_invoke_result *r)
{
	if (!r)
		return;
	free(r->payload);
	memset(r, 0, sizeof(*r));
}

cJSON *lambda_invoke_result_to_json(const struct lambda_invoke_result *r)
{
	cJSON *o = cJSON_CreateObject();

	if (!o)
		return NULL;
	if (!cJSON_AddNumberToObject(o, "StatusCode", r->status) ||
	    (r->function_error[0] && !cJSON_AddStringToObject(o, "FunctionError", r->function_error)) ||
	    (r->executed_version[0] && !cJSON_AddStringToObject(o, "ExecutedVersion", r->executed_version)) ||
	    !cJSON_AddStringToObject(o, "Payload", r->payload ? r->payload : "") ||
	    !cJSON_AddBoolToObject(o, "PayloadTruncated", r->payload_truncated)) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}
