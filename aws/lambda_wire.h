/*
 * lambda_wire.h - Lambda's wire format: the pure response parsers and
 * request-body builders behind the operations of lambda.h, exposed for unit
 * tests, fuzzing and the test tool.  Production code calls the operations.
 */
#ifndef ALIASD_AWS_LAMBDA_WIRE_H
#define ALIASD_AWS_LAMBDA_WIRE_H

#include <stdbool.h>
#include <stddef.h>

#include "aws/lambda.h"
#include "util/buf.h"
#include "util/error.h"

/* `op` names the operation in messages. -EBADMSG, -E2BIG, -ENOMEM. */
int lambda_function_config_parse(const char *op, const char *json, size_t len,
                                 struct lambda_function_config *ret, struct error *err);
int lambda_function_parse(const char *op, const char *json, size_t len, struct lambda_function *ret,
                          struct error *err);
int lambda_alias_parse(const char *op, const char *json, size_t len, struct lambda_alias *ret,
                       struct error *err);
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

/* True if s[0..len) is valid UTF-8 (no overlongs, no surrogates). */
bool lambda_utf8_valid(const char *s, size_t len);

#endif
