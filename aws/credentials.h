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
 * Expired credentials are never handed out.  When there are none to fall
 * back on, a failed lookup is remembered for AWS_CREDENTIALS_FAIL_CACHE_S
 * seconds: the calls in that window (many functions reconciled at once) get
 * the same error at once instead of each asking every source again (an
 * unreachable IMDS costs seconds per lookup).
 * Secrets never appear in error messages or logs.
 *
 * Files: credentials.c (provider, environment source, the chain and cache),
 * credentials_ini.c, credentials_parse.c (time, JSON, STS XML answers read
 * with aws/xml.h), credentials_files.c (shared files, profiles),
 * credentials_sts.c (AssumeRole, web identity, assume-role providers,
 * GetCallerIdentity),
 * credentials_process.c, credentials_metadata.c (ECS, IMDS);
 * credentials_chain.h is what they share, credentials_internal.h the parsers
 * exposed for tests and fuzzing.
 */
#ifndef ALIASD_AWS_CREDENTIALS_H
#define ALIASD_AWS_CREDENTIALS_H

#include <stddef.h>
#include <time.h>

#include "aws/sigv4.h" /* struct aws_credentials */
#include "util/error.h"

#define AWS_CREDENTIALS_REFRESH_S    (5 * 60) /* refresh this early */
#define AWS_CREDENTIALS_RETRY_S      30       /* wait this long after a failed refresh */
#define AWS_CREDENTIALS_FAIL_CACHE_S 10       /* a failed lookup is the answer for this long */
#define AWS_MAX_ROLE_CHAIN           8
#define AWS_PROCESS_TIMEOUT_S        60
#define AWS_CREDENTIALS_FILE_MAX     (1024 * 1024) /* bytes of a shared file */

struct aws_credentials_provider; /* thread-safe */

struct aws_credentials_options {
	const char *profile;      /* NULL = $AWS_PROFILE or "default" */
	const char *sts_endpoint; /* NULL = AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL, else
	                             https://sts.{region}.amazonaws.com */
	long process_timeout_ms;  /* credential_process time limit; 0 = AWS_PROCESS_TIMEOUT_S */
	/*
	 * An assume-role provider (aws.roles, many accounts): when role_arn is
	 * set the chain above is not consulted; the credentials are STS
	 * AssumeRole of role_arn (RoleSessionName role_session_name, default
	 * "aliasd"; ExternalId when not NULL), signed with credentials from
	 * `role_source` (required, borrowed: it must outlive this provider),
	 * at the STS endpoint of role_region (NULL = AWS_REGION,
	 * AWS_DEFAULT_REGION, else us-east-1).  Cached and refreshed as any
	 * temporary credentials (AWS_CREDENTIALS_REFRESH_S before expiry).
	 */
	const char *role_arn;
	const char *role_external_id;
	const char *role_session_name;
	const char *role_region;
	struct aws_credentials_provider *role_source;
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

/*
 * The 12-digit account id of the provider's credentials (STS
 * GetCallerIdentity, signed with them) into out (>= 13 bytes).  Not cached:
 * callers keep the answer.  Errors as aws_credentials_get, STS failures as
 * -EACCES/-EAGAIN/-EIO, -EBADMSG for an answer without an Account.
 */
int aws_credentials_account(struct aws_credentials_provider *p, time_t now, char *out, size_t outsz,
                            struct error *err);

/* Deep copy (strings duplicated). -ENOMEM. */
int aws_credentials_copy(struct aws_credentials *ret, const struct aws_credentials *src);

/*
 * Region: $AWS_REGION, $AWS_DEFAULT_REGION, the profile's `region` in the
 * config file (profile NULL = $AWS_PROFILE or "default"); -ENOENT if none.
 * *ret_region is malloc'ed.
 */
int aws_region_resolve(const char *profile, char **ret_region, struct error *err);

#endif
