/*
 * query.h - the AWS Query protocol (CloudWatch, STS, ...): form-encoded
 * request bodies and XML error answers, for a client built on aws/core.h.
 *
 * Error answers read <ErrorResponse><Error><Code/><Message/></Error><RequestId/>
 * (also a bare <Error>, and EC2's <Response><Errors><Error>); the code decides
 * errno and kind (util/error.h) first, else the status:
 *   Throttling, ThrottlingException, RequestLimitExceeded, 429  -EAGAIN   TRANSIENT, throttling
 *   InternalFailure, ServiceUnavailable, 5xx                    -EIO      TRANSIENT
 *   InvalidClientTokenId, SignatureDoesNotMatch, ExpiredToken,
 *     IncompleteSignature, MissingAuthenticationToken, ...       -EACCES   CREDENTIALS
 *   AccessDenied, AccessDeniedException, OptInRequired, 401/403  -EACCES   TERMINAL
 *   ResourceNotFound, 404                                        -ENOENT   NOT_FOUND
 *   InvalidParameterValue, ValidationError, MissingParameter,
 *     InvalidNextToken, ..., other 400                           -EINVAL   TERMINAL
 *   anything else                                                -EPROTO   TERMINAL
 */
#ifndef ALIASD_AWS_QUERY_H
#define ALIASD_AWS_QUERY_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/client.h"
#include "aws/credentials.h"
#include "aws/http.h"
#include "util/buf.h"
#include "util/error.h"

/* Append "[&]name=<value percent-encoded>" to a form body. */
int aws_query_form_put(struct buf *out, const char *name, const char *value);

/* Copy `src` (NULL: "") into dst, truncated, control characters made spaces. */
void aws_query_text_copy(char *dst, size_t size, const char *src);

/* Code, message and request id of an error answer; "" for what is absent (body may be anything). */
void aws_query_error_parse(const char *body, size_t len, char *ret_code, size_t code_size, char *ret_message,
                           size_t message_size, char *ret_request_id, size_t request_id_size);

/* errno and kind for an error answer (table above). *ret_throttle: slow down and retry. */
int aws_query_error_classify(long status, const char *code, enum error_kind *ret_kind, bool *ret_throttle);

/*
 * The error reader (aws/core.h's aws_error_reader) of a Query service: fills
 * aerr with "<operation>: <code> (HTTP <status>[, credentials from <source>]): <message>",
 * the kind, code, message and request id (the body's, else x-amzn-RequestId).
 */
int aws_query_read_error(const char *operation, const struct http_response *resp,
                         const struct aws_credentials *creds, struct aws_error *aerr, bool *ret_throttle,
                         void *ctx);

#endif
