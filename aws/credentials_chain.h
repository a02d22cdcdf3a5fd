/*
 * credentials_chain.h - what the files of the credential chain share
 * (aws/credentials*.c); not part of aws/ API.  See credentials.h for the
 * chain itself and credentials_internal.h for the parsers.
 *
 * Each source is a function that returns 0 with credentials, SOURCE_SKIP when
 * it is not configured (the reason goes into the chain's "tried" list), or a
 * negative errno when it is configured but failed (the chain stops: falling
 * through to another identity would be a surprise).
 */
#ifndef ALIASD_AWS_CREDENTIALS_CHAIN_H
#define ALIASD_AWS_CREDENTIALS_CHAIN_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "aws/credentials.h"
#include "aws/credentials_internal.h"
#include "aws/http.h"
#include "util/buf.h"
#include "util/error.h"

#define SOURCE_SKIP              1
#define INI_MAX_ENTRIES          4096
#define INI_MAX_CONTINUATIONS    64          /* indented lines continuing one value */
#define INI_MAX_VALUE            (64 * 1024) /* bytes of a continued value */
#define TOKEN_FILE_MAX           (64 * 1024)
#define PROCESS_OUTPUT_MAX       (64 * 1024)
#define METADATA_RESPONSE_MAX    (64 * 1024)
#define STS_RESPONSE_MAX         (256 * 1024)
#define IMDS_DEFAULT_ENDPOINT    "http://169.254.169.254"
#define IMDS_DEFAULT_ENDPOINT_V6 "http://[fd00:ec2::254]"
#define ECS_DEFAULT_HOST         "169.254.170.2"

struct aws_credentials_provider {
	pthread_mutex_t lock;
	char *profile;      /* NULL = resolve from the environment at each fetch */
	char *sts_endpoint; /* NULL = from the environment */
	struct aws_credentials cached;
	bool have_cached;
	time_t retry_after; /* after a failed refresh, keep using `cached` until then */
	long process_timeout_ms;
	struct http_client *sts_http, *meta_http;
	struct error failure; /* the last failed resolution (code 0: none), handed out until */
	time_t failed_at;     /* failed_at + AWS_CREDENTIALS_FAIL_CACHE_S */
	/* an assume-role provider (opt->role_arn): AssumeRole signed with role_source's credentials */
	char *role_arn, *role_external_id, *role_session, *role_region;
	struct aws_credentials_provider *role_source; /* borrowed */
};

/* State of one resolution of the chain. */
struct chain {
	struct aws_credentials_provider *p;
	time_t now;
	struct buf tried; /* "environment: not set; ..." */
	char *profile;
	bool profile_explicit;
	struct aws_ini *cred_ini, *conf_ini;
	char *cred_path, *conf_path;
	bool files_loaded;
};

/* ---- helpers, the provider, the environment source, the chain and its cache (credentials.c) ---- */

/* getenv, but an empty value counts as unset. */
const char *cred_env(const char *name);
/* Fill *ret from borrowed strings (copied). */
int cred_make(struct aws_credentials *ret, const char *akid, const char *secret, const char *token,
              time_t expiration, const char *source);
/* A session token is printable ASCII, at most 16 KiB. */
bool cred_token_valid(const char *s);
/* Check a set of credentials from outside; message names `what`, never the values. */
int cred_check(const char *akid, const char *secret, const char *token, const char *what, struct error *err);
/* Read a whole (small) file: file_read_fd's codes, -ENOENT when missing. */
int cred_file_read(const char *path, size_t max, struct buf *out, struct error *err);
/* Strip leading and trailing whitespace in place. */
void cred_trim_buf(struct buf *b);
/* Append "; " and a formatted reason to the chain's "tried" list. */
int cred_tried_add(struct chain *ch, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The provider's HTTP clients, made on first use: metadata (ECS, IMDS: 1 s connect) and STS. */
int cred_meta_client(struct aws_credentials_provider *p, struct http_client **ret, struct error *err);
int cred_sts_client(struct aws_credentials_provider *p, struct http_client **ret, struct error *err);
/* host[:port] of an http(s) URL into out (at most outsz-1 bytes). */
int cred_url_host(const char *url, char *out, size_t outsz);
/*
 * The sources, in the chain's order: 0 with credentials, SOURCE_SKIP (not
 * configured: the reason is added to ch->tried), or a negative errno.
 */
int cred_source_env(struct chain *ch, struct aws_credentials *ret, struct error *err);

/* ---- time and responses (credentials_parse.c) ---- */

/* The string member `name` of `o`, NULL if absent or not a string. */
const char *cred_json_str(const cJSON *o, const char *name);
/* cJSON_Delete, after wiping the top-level strings (the secrets are there). Accepts NULL. */
void cred_json_delete_wiped(cJSON *root);
/* A short, printable excerpt of a server's error message (no secrets are in STS errors). */
void cred_sanitize_copy(char *out, size_t outsz, const char *s, size_t n);

/* ---- shared files and profiles (credentials_files.c) ---- */

/* The profile's `region` in the loaded config file, NULL if none. */
const char *cred_profile_region(const struct chain *ch, const char *profile);
int cred_source_profile(struct chain *ch, struct aws_credentials *ret, struct error *err);

/* ---- STS and web identity (credentials_sts.c) ---- */

/* The STS endpoint URL for `region` (see credentials.h); malloc'ed. */
int cred_sts_endpoint(struct chain *ch, const char *region, char **ret);
/* The region STS calls use: AWS_REGION, AWS_DEFAULT_REGION, the profile's (files loaded), else us-east-1. */
const char *cred_chain_region(struct chain *ch, const char *profile);
/* Append one form-encoded name=value pair to an STS query body. */
int cred_form_add(struct buf *b, const char *name, const char *value);
/*
 * The form of an STS AssumeRole of `role_arn` as `session`, with
 * `external_id` when given (NULL or ""): 0 or -ENOMEM.
 */
int cred_assume_role_form(struct buf *form, const char *role_arn, const char *session,
                          const char *external_id);
/*
 * POST an STS query-API call; `signer` NULL = unsigned (web identity).
 * Parses the credentials out of the response.
 */
int cred_sts_call(struct chain *ch, const char *region, const struct buf *form,
                  const struct aws_credentials *signer, const char *source, const char *what,
                  struct aws_credentials *ret, struct error *err);
/* "aliasd-<now>": the role session name when none is configured. */
void cred_default_session_name(char *out, size_t outsz, time_t now);
/* A web identity token file, trimmed, at most TOKEN_FILE_MAX bytes; empty is -EINVAL. */
int cred_read_token_file(const char *path, struct buf *out, const char *what, struct error *err);
/* AssumeRoleWithWebIdentity with the token in `token_file`. */
int cred_web_identity(struct chain *ch, const char *token_file, const char *role_arn, const char *session,
                      const char *region, const char *what, struct aws_credentials *ret, struct error *err);
int cred_source_web_identity_env(struct chain *ch, struct aws_credentials *ret, struct error *err);
/* An assume-role provider's only source: AssumeRole of p->role_arn signed with p->role_source's. */
int cred_source_role(struct chain *ch, struct aws_credentials *ret, struct error *err);

/* ---- credential_process (credentials_process.c) ---- */

/* Run a credential_process command and parse its Version 1 JSON. */
int cred_process(struct chain *ch, const char *cmd, const char *what, struct aws_credentials *ret,
                 struct error *err);

/* ---- ECS and IMDS (credentials_metadata.c) ---- */

int cred_source_ecs(struct chain *ch, struct aws_credentials *ret, struct error *err);
int cred_source_imds(struct chain *ch, struct aws_credentials *ret, struct error *err);

#endif
