/*
 * lambda.h - every AWS Lambda control-plane operation aliasd uses, with typed
 * C structs in and out (field names from botocore's lambda model).
 *
 * Files: lambda.c (the operations), lambda_parse.c (answers), lambda_body.c
 * (request bodies, results as JSON), lambda_invoke.c (Invoke); the pure
 * parsers and builders are
 * declared in lambda_wire.h, for tests and fuzzing.
 *
 * Conventions:
 *  - `fn` is a function name, a partial ARN or a full ARN (encoded by the
 *    client).  `qualifier` may be NULL.
 *  - Outputs (`ret`) are written only on success and released with their
 *    *_release function, which accepts a zeroed struct.  Strings in outputs
 *    are malloc'ed and owned by the struct; a string field that the answer
 *    did not carry is NULL, a number it did not carry is 0 (the `has_*`
 *    flags tell "absent" from 0 where it matters).
 *  - Errors: see aws/client.h (404 -ENOENT, 409 -EBUSY, 412 -ESTALE, ...).
 *    A response that does not parse is -EBADMSG with a message naming the
 *    operation and the field, e.g.
 *    "ListVersionsByFunction: response field Versions[3].Version is not a string".
 *  - Environment variable values may be secrets: they are wiped on release.
 *
 * Parsers accept at most LAMBDA_MAX_RESPONSE bytes of valid UTF-8 JSON;
 * lists are followed through every page, up to LAMBDA_MAX_LIST_ITEMS items
 * and LAMBDA_MAX_PAGES pages, a repeated marker is an error (-ELOOP).
 */
#ifndef ALIASD_AWS_LAMBDA_H
#define ALIASD_AWS_LAMBDA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/client.h"
#include "util/buf.h"
#include "util/error.h"

#define LAMBDA_MAX_RESPONSE   (8u << 20)
#define LAMBDA_MAX_LIST_ITEMS 10000
#define LAMBDA_MAX_PAGES      2000
#define LAMBDA_MAX_ENV_VARS   1024
#define LAMBDA_MAX_WEIGHTS    16
#define LAMBDA_MAX_ZIP_BYTES  (50u << 20) /* direct upload limit */

struct lambda_env_var {
	char *name;
	char *value;
};

struct lambda_layer {
	char *arn;
	int64_t code_size;
};

/* FunctionConfiguration */
struct lambda_function_config {
	char *function_name;
	char *function_arn;
	char *runtime;
	char *role;
	char *handler;
	char *code_sha256;
	int64_t code_size;
	char *description;
	int timeout;     /* seconds, 0 = absent */
	int memory_size; /* MB, 0 = absent */
	bool has_environment;
	struct lambda_env_var *env; /* Environment.Variables */
	size_t n_env;
	char *version; /* "$LATEST", "1", ... */
	char *revision_id;
	char *state; /* Pending, Active, Inactive, Failed */
	char *state_reason;
	char *state_reason_code;
	char *last_update_status; /* Successful, Failed, InProgress */
	char *last_update_status_reason;
	char *last_update_status_reason_code;
	char *last_modified;
	char *package_type; /* Zip, Image */
	char *master_arn;
	char *kms_key_arn;
	char *tracing_mode;
	int ephemeral_storage; /* MB, 0 = absent */
	char **architectures;
	size_t n_architectures;
	struct lambda_layer *layers;
	size_t n_layers;
};

/* GetFunction: the configuration plus where the code is. */
struct lambda_function {
	struct lambda_function_config config;
	char *code_repository_type; /* "S3", "ECR" */
	char *code_location;        /* presigned URL */
	char *image_uri;            /* Code.ImageUri, image functions only */
	char *resolved_image_uri;
};

struct lambda_weight {
	char *version;
	double weight; /* 0..1 */
};

/* AliasConfiguration */
struct lambda_alias {
	char *alias_arn;
	char *name;
	char *function_version;
	char *description;
	char *revision_id;
	struct lambda_weight *weights; /* RoutingConfig.AdditionalVersionWeights */
	size_t n_weights;
};

/* GetAccountSettings: the region's code storage and functions (numbers only: nothing to release). */
struct lambda_account_settings {
	int64_t code_storage_limit;    /* AccountLimit.TotalCodeSize, bytes (required) */
	int64_t code_storage_used;     /* AccountUsage.TotalCodeSize, bytes (required) */
	int64_t function_count;        /* AccountUsage.FunctionCount, 0 = absent */
	int64_t concurrent_executions; /* AccountLimit.ConcurrentExecutions, 0 = absent */
};

struct lambda_config_list {
	struct lambda_function_config *items;
	size_t n;
	unsigned pages; /* pages fetched */
};

struct lambda_alias_list {
	struct lambda_alias *items;
	size_t n;
	unsigned pages;
};

void lambda_function_config_release(struct lambda_function_config *c);
void lambda_function_release(struct lambda_function *f);
void lambda_alias_release(struct lambda_alias *a);
void lambda_config_list_release(struct lambda_config_list *l);
void lambda_alias_list_release(struct lambda_alias_list *l);

/* ---- inputs ------------------------------------------------------------- */

struct lambda_env_input {
	const char *name;
	const char *value;
};

/* Exactly one of: zip (raw bytes, base64-encoded here), s3_bucket + s3_key, image_uri. */
struct lambda_code {
	const void *zip;
	size_t zip_len;
	const char *s3_bucket;
	const char *s3_key;
	const char *s3_object_version; /* may be NULL */
	const char *image_uri;
};

/* Configuration fields: NULL / 0 / false = not sent (not managed). */
struct lambda_config_input {
	const char *runtime;
	const char *role;
	const char *handler;
	const char *description;
	int timeout;
	int memory_size;
	int ephemeral_storage;
	bool set_environment; /* send Environment.Variables = env (may be empty) */
	const struct lambda_env_input *env;
	size_t n_env;
	bool set_layers; /* send Layers = layers (may be empty) */
	const char *const *layers;
	size_t n_layers;
	const char *revision_id; /* UpdateFunctionConfiguration only */
};

struct lambda_create_input {
	const char *function_name;         /* required */
	struct lambda_config_input config; /* role required; revision_id ignored */
	struct lambda_code code;
	const char *package_type; /* "Zip" (default) or "Image" */
	const char *architecture; /* "x86_64" / "arm64", NULL = default */
	bool publish;
};

struct lambda_code_input {
	struct lambda_code code;
	const char *revision_id; /* may be NULL */
	bool publish;            /* aliasd sends false and publishes itself */
};

/* CreateAlias / UpdateAlias. RoutingConfig is always sent: no weight_version = {} (clears weights). */
struct lambda_alias_input {
	const char *function_version; /* required for create; NULL = unchanged on update */
	const char *description;      /* NULL = not sent */
	const char *weight_version;   /* NULL = no additional version */
	double weight;                /* 0 < weight < 1 */
	const char *revision_id;      /* update only; NULL = not sent */
};

/* ---- operations ----------------------------------------------------------- */

int lambda_function_get(struct aws_client *c, const char *fn, const char *qualifier,
                        struct lambda_function *ret, struct aws_error *err);
int lambda_function_config_get(struct aws_client *c, const char *fn, const char *qualifier,
                               struct lambda_function_config *ret, struct aws_error *err);
int lambda_function_create(struct aws_client *c, const struct lambda_create_input *in,
                           struct lambda_function_config *ret, struct aws_error *err);
int lambda_function_code_update(struct aws_client *c, const char *fn, const struct lambda_code_input *in,
                                struct lambda_function_config *ret, struct aws_error *err);
int lambda_function_config_update(struct aws_client *c, const char *fn, const struct lambda_config_input *in,
                                  struct lambda_function_config *ret, struct aws_error *err);
/* code_sha256, revision_id, description may be NULL (not sent). */
int lambda_version_publish(struct aws_client *c, const char *fn, const char *code_sha256,
                           const char *revision_id, const char *description,
                           struct lambda_function_config *ret, struct aws_error *err);
/* Every version ($LATEST included, as Lambda lists it), all pages. */
int lambda_versions_list(struct aws_client *c, const char *fn, struct lambda_config_list *ret,
                         struct aws_error *err);
int lambda_alias_create(struct aws_client *c, const char *fn, const char *alias,
                        const struct lambda_alias_input *in, struct lambda_alias *ret, struct aws_error *err);
int lambda_alias_get(struct aws_client *c, const char *fn, const char *alias, struct lambda_alias *ret,
                     struct aws_error *err);
int lambda_alias_update(struct aws_client *c, const char *fn, const char *alias,
                        const struct lambda_alias_input *in, struct lambda_alias *ret, struct aws_error *err);
int lambda_alias_delete(struct aws_client *c, const char *fn, const char *alias, struct aws_error *err);
/* All pages; function_version (may be NULL) filters to aliases pointing at it. */
int lambda_aliases_list(struct aws_client *c, const char *fn, const char *function_version,
                        struct lambda_alias_list *ret, struct aws_error *err);
/* qualifier = a version number deletes that version; NULL deletes the function. */
int lambda_function_delete(struct aws_client *c, const char *fn, const char *qualifier,
                           struct aws_error *err);
/* All pages; all_versions sends FunctionVersion=ALL. */
int lambda_functions_list(struct aws_client *c, bool all_versions, struct lambda_config_list *ret,
                          struct aws_error *err);
/*
 * The same, reading at most max_pages pages (0 = no limit but the usual
 * LAMBDA_MAX_PAGES): -E2BIG when there are more.  ListFunctions with
 * FunctionVersion=ALL answers at most 50 items a page (every version of every
 * function of the region, $LATEST included), one quota-counted call a page.
 * On failure ret holds nothing but ret->pages, the pages it cost.
 */
int lambda_functions_list_bounded(struct aws_client *c, bool all_versions, unsigned max_pages,
                                  struct lambda_config_list *ret, struct aws_error *err);

/*
 * GetAccountSettings (GET /2016-08-19/account-settings/, the client's
 * region): code storage used and its limit.  Counted on the control quota.
 */
int lambda_account_settings_get(struct aws_client *c, struct lambda_account_settings *ret,
                                struct aws_error *err);

/*
 * The typed results back as JSON (botocore's field names), for
 * `aliasd versions --json` and the test tool.  NULL on out of memory; the
 * caller owns the tree (cJSON_Delete).  Environment values are included
 * only when with_env_values is true (else each value is "***").
 */
struct cJSON;
struct cJSON *lambda_function_config_to_json(const struct lambda_function_config *c, bool with_env_values);
struct cJSON *lambda_function_to_json(const struct lambda_function *f, bool with_env_values);
struct cJSON *lambda_alias_to_json(const struct lambda_alias *a);

/*
 * Invoke (RequestResponse) `fn` (a name or ARN; qualifier NULL = $LATEST, or
 * an alias or version number) with `payload` (JSON, NULL = "{}"; at most
 * LAMBDA_INVOKE_REQUEST_MAX bytes of valid UTF-8 JSON, else -EINVAL unsent):
 * POST /2015-03-31/functions/{fn}/invocations[?Qualifier=q], header
 * X-Amz-Invocation-Type: RequestResponse (signed, as botocore signs it).
 *
 * A 200 answer is success (0) even when the function failed:
 * ret->function_error is then the X-Amz-Function-Error header ("Unhandled"
 * or "Handled"; "Unhandled" if the header is present but empty), "" when the
 * function succeeded: the caller checks it.  ret->executed_version is the
 * X-Amz-Executed-Version header ("" if absent).  At most
 * LAMBDA_INVOKE_PAYLOAD_MAX bytes of the answer's payload are kept
 * (ret->payload, NUL-terminated, cut on a UTF-8 character boundary,
 * ret->payload_truncated); the rest is read and dropped (Lambda answers at
 * most 6 MB; the client's response cap bounds it anyway).  Another 2xx is
 * -EPROTO (RequestResponse answers 200).
 *
 * Error answers (4xx/5xx: ResourceNotFoundException, 429
 * TooManyRequestsException, 502 EC2ThrottledException, ...) fail as every
 * other call does (aws/client.h: errno and kind by code and status).
 * Invoke takes no token from the control-plane rate limiter (it has its own
 * quota: concurrency) and is never sent twice once it may have reached
 * Lambda (a function may have side effects): only a refused connection and
 * a 429 are retried.  `timeout_ms` bounds the whole call (a hanging
 * function: -ETIMEDOUT, kind TRANSIENT); 0 = the client's HTTP timeout (30 s
 * by default).  ret is written only on success; release it with
 * lambda_invoke_result_release() (accepts a zeroed one).
 */
#define LAMBDA_INVOKE_PAYLOAD_MAX 4096
#define LAMBDA_INVOKE_REQUEST_MAX 6291456 /* 6 MB, Lambda's synchronous request payload limit */
struct lambda_invoke_result {
	int status;              /* HTTP status (200) */
	char function_error[32]; /* "" when the function succeeded */
	char executed_version[16];
	char *payload; /* NUL-terminated, at most LAMBDA_INVOKE_PAYLOAD_MAX bytes */
	size_t payload_len;
	bool payload_truncated;
};
int lambda_invoke(struct aws_client *c, const char *fn, const char *qualifier, const char *payload,
                  unsigned timeout_ms, struct lambda_invoke_result *ret, struct aws_error *err);
void lambda_invoke_result_release(struct lambda_invoke_result *r);
/* The result as JSON: {"StatusCode", "FunctionError", "ExecutedVersion", "Payload", "PayloadTruncated"}
 * (botocore's names; Payload as text).  NULL on out of memory. */
struct cJSON *lambda_invoke_result_to_json(const struct lambda_invoke_result *r);

#endif
