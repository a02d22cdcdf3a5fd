/*
 * lambda_wire.h - Lambda's wire format: the pure response parsers and
 * request-body builders behind the operations of lambda.h, exposed for unit
 * tests, fuzzing and the test tool.  Production code calls the operations.
 */
#ifndef ALIASD_AWS_LAMBDA_WIRE_H
#define ALIASD_AWS_LAMBDA_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/http.h"
#include "aws/lambda.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/error.h"

/* `op` names the operation in messages. -EBADMSG, -E2BIG, -ENOMEM. */
int lambda_function_config_parse(const char *op, const char *json, size_t len,
                                 struct lambda_function_config *ret, struct error *err);
int lambda_function_parse(const char *op, const char *json, size_t len, struct lambda_function *ret,
                          struct error *err);
int lambda_alias_parse(const char *op, const char *json, size_t len, struct lambda_alias *ret,
                       struct error *err);
/* GetAccountSettings: both TotalCodeSize fields are required, integers in 0..2^53. */
int lambda_account_settings_parse(const char *op, const char *json, size_t len,
                                  struct lambda_account_settings *ret, struct error *err);
/*
 * One page of ListVersionsByFunction ("Versions") / ListFunctions
 * ("Functions") / ListAliases ("Aliases"): items appended to *list (which
 * is left unchanged on error), *ret_next_marker set to the malloc'ed
 * NextMarker or NULL.  -E2BIG past LAMBDA_MAX_LIST_ITEMS.
 */
int lambda_versions_page_parse(const char *op, const char *json, size_t len, const char *key,
                               struct lambda_config_list *list, char **ret_next_marker, struct error *err);
int lambda_aliases_page_parse(const char *op, const char *json, size_t len, struct lambda_alias_list *list,
                              char **ret_next_marker, struct error *err);

/* Request bodies (JSON, appended to out).  -EINVAL for a missing required field. */
int lambda_create_body(struct buf *out, const struct lambda_create_input *in, struct error *err);
int lambda_code_body(struct buf *out, const struct lambda_code_input *in, struct error *err);
int lambda_config_body(struct buf *out, const struct lambda_config_input *in, struct error *err);
int lambda_publish_body(struct buf *out, const char *code_sha256, const char *revision_id,
                        const char *description, struct error *err);
/* alias_name non-NULL for CreateAlias (sent as "Name"). */
int lambda_alias_body(struct buf *out, const char *alias_name, const struct lambda_alias_input *in,
                      struct error *err);

/*
 * A CreateFunction / UpdateFunctionCode body whose zip file is base64-encoded
 * while it is read, so that the zip bytes are the only big thing in memory:
 * `head`, base64 of the zip, `tail`, byte for byte what lambda_create_body /
 * lambda_code_body produce (they drain such a stream).  `reader` hands it to
 * aws/http (rewindable, for retries) and points at the struct itself: fill
 * it in place and never copy it.  sha256_hex is the hex SHA-256 of the whole
 * body (for SigV4), from a first pass at build time.  The zip bytes are
 * borrowed from the input: they must outlive the stream.  head and tail may
 * hold environment values: release wipes them.
 */
struct lambda_body_stream {
	struct buf head, tail;
	const unsigned char *zip; /* borrowed; NULL: no zip file (the body is head + tail) */
	size_t zip_len, b64_len;
	size_t len; /* of the whole body */
	size_t pos; /* of the next byte read */
	char sha256_hex[CODEC_SHA256_HEX_SIZE];
	struct http_body_reader reader;
};

/* *ret is overwritten (pass a zeroed one); errors as the *_body builders. */
int lambda_create_body_stream(struct lambda_body_stream *ret, const struct lambda_create_input *in,
                              struct error *err);
int lambda_code_body_stream(struct lambda_body_stream *ret, const struct lambda_code_input *in,
                            struct error *err);
/* Up to n bytes from the current position into out; 0 at the end. */
size_t lambda_body_stream_read(struct lambda_body_stream *s, char *out, size_t n);
/* Wipes and frees; accepts a zeroed or released stream. */
void lambda_body_stream_release(struct lambda_body_stream *s);

/*
 * Invoke's request (lambda_invoke()): fills *ret (its strings borrowed from
 * the arguments and static storage) with the operation, path, Qualifier
 * query, the signed X-Amz-Invocation-Type header, the body (payload, or
 * "{}" for NULL), no quota, no resend and the timeout.  -EINVAL: no
 * function, a payload that is not valid UTF-8 JSON or is over
 * LAMBDA_INVOKE_REQUEST_MAX bytes.
 */
int lambda_invoke_request(struct aws_request *ret, const char *fn, const char *qualifier, const char *payload,
                          unsigned timeout_ms, struct error *err);
/*
 * Invoke's 2xx answer: `status`, the X-Amz-Function-Error and
 * X-Amz-Executed-Version header values (NULL = absent) and the body, into
 * *ret (overwritten; see lambda_invoke()).  -EPROTO for a status other than
 * 200, -EBADMSG for an executed version that is not "$LATEST" or a number,
 * -ENOMEM.
 */
int lambda_invoke_result_parse(long status, const char *function_error, const char *executed_version,
                               const char *body, size_t len, struct lambda_invoke_result *ret,
                               struct error *err);

/* True if s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
bool lambda_utf8_valid(const char *s, size_t len);

#endif
