/*
 * credentials.h - the AWS SDK default credential chain and region lookup.
 *
 * Sources, tried in the SDK's order; the first that is configured wins (a
 * source that is configured but fails is an error; one that is not
 * configured is skipped):
 *  1. environment: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN).
 *     Only one of the pair set is an error naming the missing variable.
 *  2. web identity: AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
 *     (+ AWS_ROLE_SESSION_NAME) -> STS AssumeRoleWithWebIdentity (unsigned).
 *     The token file without the role is an error; AWS_ROLE_ARN alone is
 *     ignored (as botocore does).
 *  3. shared files of the profile (AWS_PROFILE or "default"):
 *     ~/.aws/credentials ($AWS_SHARED_CREDENTIALS_FILE; sections "[name]") and
 *     ~/.aws/config ($AWS_CONFIG_FILE; "[profile name]", "[default]"); the
 *     credentials file wins key by key.  In a profile, in this order:
 *       role_arn + source_profile  -> STS AssumeRole signed with the source
 *                                     profile's credentials (chains of at
 *                                     most AWS_MAX_ROLE_CHAIN, loops refused;
 *                                     role_session_name, external_id,
 *                                     duration_seconds honoured);
 *       role_arn + credential_source (Environment, EcsContainer,
 *                  Ec2InstanceMetadata) -> AssumeRole signed with those;
 *       role_arn + web_identity_token_file -> AssumeRoleWithWebIdentity;
 *       aws_access_key_id + aws_secret_access_key (+ aws_session_token);
 *       credential_process -> run with /bin/sh -c (in its own process group,
 *                             killed after AWS_PROCESS_TIMEOUT_S seconds or
 *                             opt->process_timeout_ms), stdout capped, JSON
 *                             Version 1;
 *       sso_* (IAM Identity Center) -> an error pointing at credential_process.
 *     A named profile (opt->profile or AWS_PROFILE) that does not exist is an
 *     error; a profile without credentials (e.g. only a region) is skipped.
 *  4. ECS container credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI
 *     (against http://169.254.170.2, or the host:port in
 *     $AWS_CONTAINER_CREDENTIALS_HOST_OVERRIDE - a test hook) or
 *     AWS_CONTAINER_CREDENTIALS_FULL_URI (https, or http only to a loopback
 *     address or the ECS/EKS agent addresses), with
 *     AWS_CONTAINER_AUTHORIZATION_TOKEN / AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE
 *     sent as the Authorization header.
 *  5. EC2 IMDSv2 (unless AWS_EC2_METADATA_DISABLED=true): PUT /latest/api/token,
 *     then GET /latest/meta-data/iam/security-credentials/ and .../ROLE, at
 *     $AWS_EC2_METADATA_SERVICE_ENDPOINT (default http://169.254.169.254, or
 *     http://[fd00:ec2::254] with AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE=IPv6);
 *     1 s connect timeout, 2 attempts.
 * When nothing works, one error line names each source tried and why it
 * failed.  STS: opt->sts_endpoint, else $AWS_ENDPOINT_URL_STS, else
 * $AWS_ENDPOINT_URL, else https://sts.{region}.amazonaws.com (.com.cn for
 * cn-* regions; region from the environment, else the profile, else us-east-1).
 *
 * Temporary credentials are cached and refreshed AWS_CREDENTIALS_REFRESH_S
 * seconds before they expire; when a refresh fails the cached ones are used
 * (and the refresh retried after AWS_CREDENTIALS_RETRY_S) until they expire.
 * Expired credentials are never handed out.
 * Secrets never appear in error messages or logs.
 */
#ifndef ALIASD_AWS_CREDENTIALS_H
#define ALIASD_AWS_CREDENTIALS_H

#include <stddef.h>
#include <time.h>

#include "aws/sigv4.h" /* struct aws_credentials */
#include "util/error.h"

#define AWS_CREDENTIALS_REFRESH_S (5 * 60) /* refresh this early */
#define AWS_CREDENTIALS_RETRY_S   30       /* wait this long after a failed refresh */
#define AWS_MAX_ROLE_CHAIN        8
#define AWS_PROCESS_TIMEOUT_S     60
#define AWS_CREDENTIALS_FILE_MAX  (1024 * 1024) /* bytes of a shared file */

struct aws_credentials_provider; /* thread-safe */

struct aws_credentials_options {
	const char *profile;      /* NULL = $AWS_PROFILE or "default" */
	const char *sts_endpoint; /* NULL = AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, else
	                             https://sts.{region}.amazonaws.com */
	long process_timeout_ms;  /* credential_process time limit; 0 = AWS_PROCESS_TIMEOUT_S */
};

/* `opt` may be NULL. Reads nothing yet: sources are resolved on the first get. */
int aws_credentials_provider_new(struct aws_credentials_provider **ret,
                                 const struct aws_credentials_options *opt, struct error *err);
/*
 * Credentials valid at `now` (and, for temporary ones, for at least the
 * refresh margin when a refresh succeeded).  *ret is a deep copy; release
 * with aws_credentials_release.  Errors: -ENOENT no source configured,
 * -EACCES a source refused, -EINVAL a bad configuration, -EIO/-ETIMEDOUT/...
 * a source failed; err says which.
 */
int aws_credentials_get(struct aws_credentials_provider *p, time_t now, struct aws_credentials *ret,
                        struct error *err);
/* Wipes the secrets and frees; accepts a zeroed struct. */
void aws_credentials_release(struct aws_credentials *c);
/* Accepts NULL. */
void aws_credentials_provider_free(struct aws_credentials_provider *p);

/* Deep copy (strings duplicated). -ENOMEM. */
int aws_credentials_copy(struct aws_credentials *ret, const struct aws_credentials *src);

/*
 * Region: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's `region` in the
 * config file (profile NULL = $AWS_PROFILE or "default"); -ENOENT if none.
 * *ret_region is malloc'ed.
 */
int aws_region_resolve(const char *profile, char **ret_region, struct error *err);

/* ---- Parsers, exposed for unit tests and fuzzing ---------------------- */

/*
 * The AWS shared-file INI dialect, as botocore reads it: "[section]" headers
 * (inner whitespace of "[profile   x]" collapsed), "key = value" lines, '#'
 * and ';' full-line comments (no inline comments: values are taken whole),
 * keys lower-cased.  An indented line after a key with an empty value opens a
 * nested block ("s3 =\n  key = v", stored as "s3.key"); after a key with a
 * value it continues that value (joined with '\n').  Lines before any
 * section are ignored.  Caps:
 * AWS_CREDENTIALS_FILE_MAX bytes, 4096 entries.  `name` is used in messages.
 */
struct aws_ini;
int aws_ini_parse(struct aws_ini **ret, const char *text, size_t len, const char *name, struct error *err);
/* Value of `key` in `section` (exact section text, e.g. "profile dev"); NULL if absent. Last one wins. */
const char *aws_ini_get(const struct aws_ini *ini, const char *section, const char *key);
/* True when the section exists (even empty). */
int aws_ini_has_section(const struct aws_ini *ini, const char *section);
void aws_ini_free(struct aws_ini *ini);

/*
 * Credentials JSON as credential_process (Version 1), ECS and IMDS return:
 * AccessKeyId, SecretAccessKey, Token or SessionToken, Expiration (ISO 8601).
 * `need_version` requires "Version": 1.  `source` is copied into ret->source.
 */
int aws_credentials_parse_json(const char *text, size_t len, int need_version, const char *source,
                               struct aws_credentials *ret, struct error *err);
/* STS AssumeRole / AssumeRoleWithWebIdentity XML response (the <Credentials> element). */
int aws_credentials_parse_sts_xml(const char *text, size_t len, const char *source,
                                  struct aws_credentials *ret, struct error *err);
/* "2026-11-27T10:00:00Z", with optional fraction and "+00:00"/"-hh:mm" offset. */
int aws_time_parse_iso8601(const char *s, time_t *ret);

#endif
