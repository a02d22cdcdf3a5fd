/*
 * query.c - the AWS Query protocol's pieces (see query.h): form bodies and
 * XML error answers.
 */
#include "aws/query.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aws/xml.h"

int aws_query_form_put(struct buf *out, const char *name, const char *value)
{
	int r = buf_printf(out, "%s%s=", out->len ? "&" : "", name);

	if (r >= 0)
		r = http_uri_encode(out, value, strlen(value), true);
	return r;
}

void aws_query_text_copy(char *dst, size_t size, const char *src)
{
	size_t n;

	if (!size)
		return;
	n = strnlen(src ? src : "", size - 1);
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
	for (char *p = dst; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
}

void aws_query_error_parse(const char *body, size_t len, char *ret_code, size_t code_size, char *ret_message,
                           size_t message_size, char *ret_request_id, size_t request_id_size)
{
	struct xml_limits lim = {.max_bytes = 1 << 20, .max_depth = 8, .max_elements = 256};
	struct xml_node *doc = NULL;
	const struct xml_node *e;

	aws_query_text_copy(ret_code, code_size, "");
	aws_query_text_copy(ret_message, message_size, "");
	aws_query_text_copy(ret_request_id, request_id_size, "");
	if (!body || !len || xml_parse(&doc, body, len, &lim, NULL) < 0)
		return;
	/* Query services answer <ErrorResponse><Error>..; some proxies just <Error> */
	e = xml_find(doc, "ErrorResponse/Error");
	if (!e)
		e = xml_find(doc, "Error");
	if (!e)
		e = xml_find(doc, "Response/Errors/Error");
	if (e) {
		const char *code = xml_text(e, "Code");

		aws_query_text_copy(ret_code, code_size, code ? code : "");
		aws_query_text_copy(ret_message, message_size, xml_text(e, "Message"));
		for (char *p = ret_code; *p; p++)
			if (!isalnum((unsigned char)*p) && *p != '.' && *p != '_' && *p != '-')
				*p = '?';
	}
	e = xml_find(doc, "ErrorResponse/RequestId");
	if (!e)
		e = xml_find(doc, "Response/RequestID");
	if (e)
		aws_query_text_copy(ret_request_id, request_id_size, e->text);
	xml_free(doc);
}

static const struct {
	const char *code;
	int err;
	enum error_kind kind;
	bool throttle;
} error_codes[] = {
    {"Throttling", -EAGAIN, ERROR_KIND_TRANSIENT, true},
    {"ThrottlingException", -EAGAIN, ERROR_KIND_TRANSIENT, true},
    {"ThrottledException", -EAGAIN, ERROR_KIND_TRANSIENT, true},
    {"RequestLimitExceeded", -EAGAIN, ERROR_KIND_TRANSIENT, true},
    {"TooManyRequestsException", -EAGAIN, ERROR_KIND_TRANSIENT, true},
    {"InternalFailure", -EIO, ERROR_KIND_TRANSIENT, false},
    {"InternalServiceError", -EIO, ERROR_KIND_TRANSIENT, false},
    {"ServiceUnavailable", -EIO, ERROR_KIND_TRANSIENT, false},
    {"InvalidClientTokenId", -EACCES, ERROR_KIND_CREDENTIALS, false},
    {"UnrecognizedClientException", -EACCES, ERROR_KIND_CREDENTIALS, false},
    {"SignatureDoesNotMatch", -EACCES, ERROR_KIND_CREDENTIALS, false},
    {"InvalidSignatureException", -EACCES, ERROR_KIND_CREDENTIALS, false},
    {"IncompleteSignature", -EACCES, ERROR_KIND_CREDENTIALS, false},
    {"IncompleteSignatureException", -EACCES, ERROR_KIND_CREDENTIALS, false},
    {"MissingAuthenticationToken", -EACCES, ERROR_KIND_CREDENTIALS, false},
    {"MissingAuthenticationTokenException", -EACCES, ERROR_KIND_CREDENTIALS, false},
    {"ExpiredToken", -EACCES, ERROR_KIND_CREDENTIALS, false},
    {"ExpiredTokenException", -EACCES, ERROR_KIND_CREDENTIALS, false},
    {"RequestExpired", -EACCES, ERROR_KIND_CREDENTIALS, false},
    {"AccessDenied", -EACCES, ERROR_KIND_TERMINAL, false},
    {"AccessDeniedException", -EACCES, ERROR_KIND_TERMINAL, false},
    {"UnauthorizedOperation", -EACCES, ERROR_KIND_TERMINAL, false},
    {"OptInRequired", -EACCES, ERROR_KIND_TERMINAL, false},
    {"ResourceNotFound", -ENOENT, ERROR_KIND_NOT_FOUND, false},
    {"ResourceNotFoundException", -ENOENT, ERROR_KIND_NOT_FOUND, false},
    {"InvalidParameterValue", -EINVAL, ERROR_KIND_TERMINAL, false},
    {"InvalidParameterCombination", -EINVAL, ERROR_KIND_TERMINAL, false},
    {"MissingParameter", -EINVAL, ERROR_KIND_TERMINAL, false},
    {"ValidationError", -EINVAL, ERROR_KIND_TERMINAL, false},
    {"InvalidNextToken", -EINVAL, ERROR_KIND_TERMINAL, false},
    {"InvalidAction", -EINVAL, ERROR_KIND_TERMINAL, false},
    {"InvalidQueryParameter", -EINVAL, ERROR_KIND_TERMINAL, false},
    {"MalformedQueryString", -EINVAL, ERROR_KIND_TERMINAL, false},
};

int aws_query_error_classify(long status, const char *code, enum error_kind *ret_kind, bool *ret_throttle)
{
	enum error_kind kind = ERROR_KIND_TERMINAL;
	bool throttle = false;
	int e = -EPROTO;
	bool known = false;

	for (size_t i = 0; code && *code && i < sizeof(error_codes) / sizeof(error_codes[0]); i++)
		if (!strcmp(code, error_codes[i].code)) {
			e = error_codes[i].err;
			kind = error_codes[i].kind;
			throttle = error_codes[i].throttle;
			known = true;
			break;
		}
	if (!known) {
		if (status == 429) {
			e = -EAGAIN;
			kind = ERROR_KIND_TRANSIENT;
			throttle = true;
		} else if (status >= 500) {
			e = -EIO;
			kind = ERROR_KIND_TRANSIENT;
		} else if (status == 401 || status == 403) {
			e = -EACCES;
		} else if (status == 404) {
			e = -ENOENT;
			kind = ERROR_KIND_NOT_FOUND;
		} else if (status == 400) {
			e = -EINVAL;
		}
	}
	if (ret_kind)
		*ret_kind = kind;
	if (ret_throttle)
		*ret_throttle = throttle;
	return e;
}

int aws_query_read_error(const char *operation, const struct http_response *resp,
                         const struct aws_credentials *creds, struct aws_error *aerr, bool *ret_throttle,
                         void *ctx)
{
	char code[128], message[512], rid[96];
	enum error_kind kind;
	int e;

	aws_query_error_parse(resp->body.ptr, resp->body.len, code, sizeof(code), message, sizeof(message),
	                      rid, sizeof(rid));
	(void)ctx;
	e = aws_query_error_classify(resp->status, code, &kind, ret_throttle);
	aws_error_clear(aerr);
	aerr->status = resp->status;
	snprintf(aerr->code, sizeof(aerr->code), "%s", code);
	snprintf(aerr->message, sizeof(aerr->message), "%s", message);
	snprintf(aerr->operation, sizeof(aerr->operation), "%s", operation);
	if (!*rid) {
		const char *h = http_response_header(resp, "x-amzn-requestid");

		snprintf(rid, sizeof(rid), "%s", h ? h : "");
	}
	snprintf(aerr->request_id, sizeof(aerr->request_id), "%s", rid);
	if (kind == ERROR_KIND_CREDENTIALS || e == -EACCES)
		error_set(&aerr->err, e, "%s: %s (HTTP %ld, credentials from %s)%s%s", operation,
		          *code ? code : "error", resp->status,
		          creds && creds->source[0] ? creds->source : "?", *message ? ": " : "", message);
	else
		error_set(&aerr->err, e, "%s: %s (HTTP %ld)%s%s", operation, *code ? code : "error",
		          resp->status, *message ? ": " : "", message);
	error_set_kind(&aerr->err, kind);
	return e;
}
