/*
 * aws_sigv4_dump - print every SigV4 stage for requests read from stdin.
 *
 * Input: one JSON object per line:
 *   {"method":"GET","path":"/x","query":"a=1" or null,"headers":[["Host","h"],...],
 *    "body_b64":"...","region":"us-east-1","service":"lambda","time":1440938160,
 *    "akid":"AKID","secret":"...","token":"..." or null,"double_encode":true}
 * Output: one JSON object per input line, in order:
 *   {"canonical":"...","string_to_sign":"...","authorization":"...","amz_date":"..."}
 * or {"error":"...","code":-22}.  Used by tests/aws/test_aws_sigv4_botocore.py.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "aws/sigv4.h"
#include "util/codec.h"

static int b64_decode(const char *s, struct buf *out)
{
	unsigned acc = 0;
	int bits = 0;

	for (; *s && *s != '='; s++) {
		int v = codec_base64_digit((unsigned char)*s);
		if (v < 0)
			return -EINVAL;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (buf_putc(out, (char)((acc >> bits) & 0xff)) < 0)
				return -ENOMEM;
		}
	}
	return 0;
}

static const char *str_or_null(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *one(const char *line)
{
	cJSON *in = cJSON_Parse(line), *out = cJSON_CreateObject(), *hs, *h;
	struct http_header headers[SIGV4_MAX_HEADERS + 8];
	struct buf body = BUF_INIT, canon = BUF_INIT, sh = BUF_INIT, sts = BUF_INIT, scope = BUF_INIT;
	struct sigv4_result res = SIGV4_RESULT_INIT;
	struct error err = ERROR_INIT;
	struct aws_credentials creds = {0};
	struct sigv4_params p = {0};
	char date[17];
	size_t n = 0;
	int r;

	if (!in) {
		cJSON_AddStringToObject(out, "error", "bad json");
		cJSON_AddNumberToObject(out, "code", -EINVAL);
		return out;
	}
	p.method = str_or_null(in, "method");
	p.path = str_or_null(in, "path");
	p.query = str_or_null(in, "query");
	p.region = str_or_null(in, "region");
	p.service = str_or_null(in, "service");
	p.now = (time_t)cJSON_GetNumberValue(cJSON_GetObjectItemCaseSensitive(in, "time"));
	p.double_encode_path = !cJSON_IsFalse(cJSON_GetObjectItemCaseSensitive(in, "double_encode"));
	hs = cJSON_GetObjectItemCaseSensitive(in, "headers");
	cJSON_ArrayForEach(h, hs)
	{
		if (n < sizeof(headers) / sizeof(headers[0]) && cJSON_GetArraySize(h) == 2) {
			headers[n].name = cJSON_GetStringValue(cJSON_GetArrayItem(h, 0));
			headers[n].value = cJSON_GetStringValue(cJSON_GetArrayItem(h, 1));
			n++;
		}
	}
	p.headers = headers;
	p.n_headers = n;
	if (str_or_null(in, "body_b64"))
		b64_decode(str_or_null(in, "body_b64"), &body);
	p.payload = body.ptr;
	p.payload_len = body.len;
	creds.access_key_id = (char *)str_or_null(in, "akid");
	creds.secret_access_key = (char *)str_or_null(in, "secret");
	creds.session_token = (char *)str_or_null(in, "token");

	r = sigv4_amz_date(p.now, date);
	if (r >= 0)
		r = sigv4_canonical_request(&p, date, creds.session_token, &canon, &sh, &err);
	if (r >= 0) {
		buf_printf(&scope, "%.8s/%s/%s/aws4_request", date, p.region, p.service);
		r = sigv4_string_to_sign(date, scope.ptr, canon.ptr, &sts);
	}
	if (r >= 0)
		r = sigv4_sign(&p, &creds, &res, &err);
	if (r < 0) {
		cJSON_AddStringToObject(out, "error", err.msg);
		cJSON_AddNumberToObject(out, "code", r);
	} else {
		cJSON_AddStringToObject(out, "canonical", canon.ptr);
		cJSON_AddStringToObject(out, "signed_headers", sh.ptr);
		cJSON_AddStringToObject(out, "string_to_sign", sts.ptr);
		cJSON_AddStringToObject(out, "authorization", res.authorization.ptr);
		cJSON_AddStringToObject(out, "amz_date", res.amz_date);
	}
	sigv4_result_release(&res);
	buf_release(&body);
	buf_release(&canon);
	buf_release(&sh);
	buf_release(&sts);
	buf_release(&scope);
	cJSON_Delete(in);
	return out;
}

int main(void)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;

	while ((n = getline(&line, &cap, stdin)) > 0) {
		if (n <= 1)
			continue;
		cJSON *out = one(line);
		char *s = cJSON_PrintUnformatted(out);
		puts(s ? s : "{\"error\":\"oom\"}");
		free(s);
		cJSON_Delete(out);
	}
	free(line);
	return 0;
}
