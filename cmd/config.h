/*
 * config.h - the daemon's configuration file (default /etc/aliasd/aliasd.yaml).
 *
 *   repository: {url, ref, path, interval, tokenFile, tokenUser, sshKeyFile,
 *                knownHostsFile, caFile, allowRewind,
 *                verify: {provider: ssh|gpg, allowedSignersFile | keyringFile}}
 *   aws:        {region, endpoint, roles: {ACCOUNT: ROLE_ARN | {roleArn, externalId}},
 *                roleSessionName}
 *   reconcile:  {resync, concurrency, rateLimit, backoffMax}
 *   server:     {listen, webhookSecretFile}
 *   stateDir:   /var/lib/aliasd
 *   log:        {format, level}
 *   notify:     {github: {tokenFile, repository, apiUrl, context},
 *                webhooks: [{urlFile, format: slack|json, events: [...]}]}
 *
 * repository.verify (DESIGN.md §7): provider ssh takes allowedSignersFile
 * (git's allowed-signers format), provider gpg takes keyringFile (armored
 * public keys); the other file is an error.  notify.github.repository is
 * "owner/name", by default taken from repository.url when that is on
 * github.com or on the host of apiUrl; apiUrl is an http(s) URL (default
 * https://api.github.com, trailing '/' removed); context defaults to
 * "aliasd".  A webhook's format defaults to json, its events to all of
 * applied, failed, rolledBack, drift, untrusted (cmd/notify_status.h).
 *
 * aws.roles (many accounts, DESIGN.md §8): each key is a 12-digit account id,
 * each value the ARN of the role aliasd assumes there
 * (arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME, ACCOUNT equal to the key), or
 * a mapping {roleArn, externalId}; at most CONFIG_ROLES_MAX.  externalId is
 * 2..1224 characters of [A-Za-z0-9+=,.@:/-]; roleSessionName (default
 * "aliasd") 2..64 of [A-Za-z0-9+=,.@_-].
 *
 * Parsed with manifest/yaml.h and strict: unknown keys, wrong types, values out
 * of range are errors, every one reported (all at once) as
 * "file:line:col: message" in the caller's errlist.
 *
 * Files named by *File keys may start with "$CREDENTIALS_DIRECTORY/" or
 * "${CREDENTIALS_DIRECTORY}/": the prefix is replaced by the environment
 * variable systemd's LoadCredential= sets (an error when it is unset).
 * Secrets (token, webhook secret, GitHub token, webhook URLs) are read by config_load() into secret
 * buffers (wiped on free), at most CONFIG_SECRET_MAX bytes, one trailing
 * newline removed; an empty secret is an error.  The SSH key and known_hosts
 * files are only checked for readability: libgit2 reads them itself.
 *
 * Ownership: config_free() releases everything (accepts NULL).
 */
#ifndef ALIASD_CMD_CONFIG_H
#define ALIASD_CMD_CONFIG_H

#include <stdbool.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/error.h"

#define CONFIG_DEFAULT_PATH "/etc/aliasd/aliasd.yaml"
#define CONFIG_FILE_MAX     ((size_t)1 << 20)
#define CONFIG_SECRET_MAX   4096

/* Defaults. */
#define CONFIG_DEFAULT_REF            "main"
#define CONFIG_DEFAULT_INTERVAL_MS    60000ULL
#define CONFIG_DEFAULT_RESYNC_MS      600000ULL
#define CONFIG_DEFAULT_CONCURRENCY    8
#define CONFIG_DEFAULT_RATE_LIMIT     10.0
#define CONFIG_DEFAULT_BACKOFF_MAX_MS 300000ULL
#define CONFIG_DEFAULT_LISTEN         "127.0.0.1:9410"
#define CONFIG_DEFAULT_STATE_DIR      "/var/lib/aliasd"
#define CONFIG_DEFAULT_GITHUB_API     "https://api.github.com"
#define CONFIG_DEFAULT_GITHUB_CONTEXT "aliasd"

/* Ranges. */
#define CONFIG_INTERVAL_MIN_MS      100ULL
#define CONFIG_INTERVAL_MAX_MS      86400000ULL  /* 1 day */
#define CONFIG_RESYNC_MAX_MS        604800000ULL /* 7 days; 0 = never */
#define CONFIG_CONCURRENCY_MAX      64
#define CONFIG_RATE_LIMIT_MAX       100.0
#define CONFIG_WEBHOOKS_MAX         16
#define CONFIG_ROLES_MAX            64
#define CONFIG_DEFAULT_ROLE_SESSION "aliasd"

enum config_webhook_format {
	CONFIG_WEBHOOK_JSON = 0,
	CONFIG_WEBHOOK_SLACK,
};

struct config_webhook {
	char *url_file; /* expanded path */
	unsigned url_file_at[2];
	enum config_webhook_format format;
	unsigned events; /* enum notify_event_kind bits; NOTIFY_EVENTS_ALL by default */
	struct buf url;  /* secret, filled by config_secrets_load() */
};

/* aws.roles: one account's role. */
struct config_role {
	char account[13];  /* 12 digits */
	char *role_arn;    /* arn:aws:iam::ACCOUNT:role/NAME */
	char *external_id; /* NULL = none */
};

struct config {
	char *file; /* where it was read from */

	char *repo_url;  /* required */
	char *repo_ref;  /* "main" by default */
	char *repo_path; /* "" = repository root */
	uint64_t interval_ms;
	char *token_file; /* expanded paths, NULL when not given */
	char *token_user; /* NULL = the repository module's default */
	char *ssh_key_file;
	char *known_hosts_file;
	char *ca_file;
	bool allow_rewind; /* true (default): a head that is not a descendant of the last applied commit is
	                      applied */

	char *aws_region;          /* NULL = from the environment */
	char *aws_endpoint;        /* NULL = AWS default */
	struct config_role *roles; /* aws.roles, in file order */
	size_t n_roles;
	char *role_session_name; /* "aliasd" by default */

	uint64_t resync_ms; /* 0 = never */
	unsigned concurrency;
	double rate_limit;       /* requests per second */
	uint64_t backoff_max_ms; /* cap of per-function and Git retry backoff */

	char *listen;         /* "host:port" as written; NULL = no HTTP server */
	char listen_host[64]; /* address without brackets */
	uint16_t listen_port; /* 0 = any free port */
	char *webhook_secret_file;

	char *state_dir;

	int log_format; /* enum log_format */
	int log_level;  /* LOG_ERR..LOG_DEBUG */

	/* repository.verify: verify_provider is an enum verify_provider (manifest/verify.h), 0 = off */
	int verify_provider;
	char *verify_allowed_signers_file; /* ssh */
	char *verify_keyring_file;         /* gpg */
	unsigned verify_file_at[2];

	/* notify.github: github_token_file != NULL when the section is given */
	char *github_token_file;
	char *github_repository; /* "owner/name" */
	char *github_api_url;    /* without trailing '/' */
	char *github_context;
	unsigned github_token_file_at[2], github_api_url_at[2];
	struct buf github_token; /* secret; empty when no notify.github */

	/* notify.webhooks */
	struct config_webhook *webhooks;
	size_t n_webhooks;

	/* Where each *File key (and url, listen) was written (1-based; 0 = not given), for messages. */
	unsigned token_file_at[2], ssh_key_file_at[2], known_hosts_file_at[2], ca_file_at[2],
	    webhook_secret_file_at[2], repo_url_at[2], listen_at[2];

	/* Filled by config_load() (not by config_parse). */
	struct buf token;          /* secret; empty when no tokenFile */
	struct buf webhook_secret; /* secret; empty when no webhookSecretFile */
};

/*
 * Parse `len` bytes of YAML text named `file` (for messages).  Pure: reads no
 * other file (secrets stay unread, *File paths are expanded).  Returns 0 with
 * *ret set, or -EINVAL with every problem in `errs` (-ENOMEM).
 */
int config_parse(struct config **ret, const char *file, const char *data, size_t len, struct errlist *errs);

/*
 * Read `path` (at most CONFIG_FILE_MAX bytes), parse it and read the secrets.
 * Errors as above; a missing file is "path: No such file or directory".
 */
int config_load(struct config **ret, const char *path, struct errlist *errs);

/*
 * Read the secret files of a parsed config into c->token, c->webhook_secret,
 * c->github_token and each webhook's url (which must be an http(s) URL), and
 * check that the other files (SSH key, known_hosts, CA, allowed signers,
 * keyring) are readable.
 */
int config_secrets_load(struct config *c, struct errlist *errs);

/*
 * Expand a leading $CREDENTIALS_DIRECTORY or ${CREDENTIALS_DIRECTORY} in
 * `path`; *ret is malloc'ed.  -EINVAL when the variable is referenced but
 * unset, or any other '$' appears.
 */
int config_path_expand(const char *path, char **ret, struct error *err);

/*
 * Append to `warnings` what is allowed but probably unwise in a parsed config,
 * as "file:line:col: message" (code 0), for `aliasd run` and `run -n` to
 * print at start:
 *   - server.listen on an address other than loopback (127.0.0.0/8, ::1):
 *     /metrics and /status are readable by anyone who can reach it;
 *   - a Git token (repository.tokenFile) with an http:// URL: sent unencrypted;
 *   - the GitHub token with an http:// notify.github.apiUrl: the same;
 * Pure (reads nothing but `c`).  Returns how many were found (`warnings`
 * may be NULL to only count them).
 */
int config_warnings(const struct config *c, struct errlist *warnings);

/* True when `host` (an IPv4 or IPv6 literal, no brackets) is a loopback address. */
bool config_host_is_loopback(const char *host);

/*
 * "owner/name" of a GitHub repository URL (https://HOST/owner/name[.git],
 * git@HOST:owner/name[.git], ssh://git@HOST/owner/name[.git]) when HOST is
 * github.com or `api_host` (NULL = only github.com).  *ret is malloc'ed.
 * Returns 0, or -EINVAL when the URL is not such a URL.
 */
int config_github_repository(const char *url, const char *api_host, char **ret);

/* Split "host:port" / "[v6]:port" (port 0..65535). */
int config_listen_parse(const char *s, char *ret_host, size_t hostsz, uint16_t *ret_port, struct error *err);

/*
 * Check one aws.roles entry: `account` is 12 digits and `arn` a role ARN in
 * that account; `external_id` may be NULL.  -EINVAL with the reason in err
 * (no file position); also used for `plan/apply --role ACCOUNT=ARN`.
 */
int config_role_check(const char *account, const char *arn, const char *external_id, struct error *err);
/*
 * `--role ACCOUNT=ARN[,externalId=ID]` (plan/apply) into *ret (fields
 * malloc'ed: release with config_role_release), checked as aws.roles is.
 */
int config_role_arg(const char *arg, struct config_role *ret, struct error *err);
void config_role_release(struct config_role *r);
/* True when two configs have the same aws.roles and roleSessionName. */
bool config_roles_equal(const struct config *a, const struct config *b);
/* roleSessionName's rule: 2..64 characters of [A-Za-z0-9+=,.@_-]. */
bool config_role_session_valid(const char *s);

void config_free(struct config *c);

#endif
