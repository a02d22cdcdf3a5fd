/*
 * fuzz_aws_lambda_invoke.c - Invoke's answer parser and request builder
 * (aws/lambda_invoke.c).  Input: a status selector byte, then
 * "FUNCTION_ERROR NUL EXECUTED_VERSION NUL BODY" (a missing field is an
 * absent header).  The kept payload must be a NUL-terminated prefix of the
 * body of at most LAMBDA_INVOKE_PAYLOAD_MAX bytes, valid UTF-8 when the body
 * is, and the result must turn into JSON; the body as a request payload is
 * accepted only when it is one JSON value.
 */
#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws/lambda.h"
#include "aws/lambda_wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const long statuses[] = {200, 200, 200, 202, 204, 500};
	struct lambda_invoke_result r = {0};
	struct aws_request req;
	struct error err = ERROR_INIT;
	char *copy, *fe = NULL, *ev = NULL, *body;
	size_t body_len;
	long status;

	if (size < 1)
		return 0;
	status = statuses[data[0] % (sizeof(statuses) / sizeof(statuses[0]))];
	copy = malloc(size + 1);
	if (!copy)
		return 0;
	memcpy(copy, data + 1, size - 1);
	copy[size - 1] = '\0';
	body = copy;
	body_len = size - 1;
	/* up to two NUL-terminated header values in front of the body */
	for (int k = 0; k < 2; k++) {
		char *nul = memchr(body, '\0', body_len);

		if (!nul)
			break;
		if (k == 0)
			fe = body;
		else
			ev = body;
		body_len -= (size_t)(nul + 1 - body);
		body = nul + 1;
	}
	if (lambda_invoke_result_parse(status, fe, ev, body, body_len, &r, &err) >= 0) {
		cJSON *j;

		if (status != 200 || !r.payload || r.payload[r.payload_len] != '\0' ||
		    r.payload_len > LAMBDA_INVOKE_PAYLOAD_MAX || r.payload_len > body_len ||
		    memcmp(r.payload, body, r.payload_len) != 0 ||
		    r.payload_truncated != (r.payload_len < body_len))
			abort();
		if (lambda_utf8_valid(body, body_len) && !lambda_utf8_valid(r.payload, r.payload_len))
			abort();
		if (fe && !r.function_error[0])
			abort(); /* a function error header, even empty, is a failure */
		j = lambda_invoke_result_to_json(&r);
		if (!j)
			abort();
		cJSON_Delete(j);
		lambda_invoke_result_release(&r);
	}
	/* the body as a request payload (it must be NUL-free for the C string API) */
	if (!memchr(body, '\0', body_len) && lambda_invoke_request(&req, "f", ev, body, 0, &err) >= 0) {
		cJSON *j = cJSON_ParseWithLength(req.body, req.body_len);

		if (!j || req.body_len != strlen(body) || req.quota != AWS_QUOTA_NONE || !req.no_resend)
			abort();
		cJSON_Delete(j);
	}
	free(copy);
	return 0;
}
