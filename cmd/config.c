/*
 * config.c - the daemon's configuration file, see config.h.
 */
#include "cmd/config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cmd/config_internal.h"
#include "manifest/yaml.h"
#include "util/file.h"
#include "util/log.h"
#include "util/parse.h"

#define PATH_MAX_LEN 4096

void config_free(struct config *c)
{
	if (!c)
		return;
	free(c->file);
	free(c->repo_url);
	free(c->repo_ref);
	free(c->repo_path);
	free(c->token_file);
	free(c->token_user);
	free(c->ssh_key_file);
	free(c->known_hosts_file);
	free(c->ca_file);
	free(c->aws_region);
	free(c->aws_endpoint);
	for (size_t i = 0; i < c->n_roles; i++) {
		free(c->roles[i].role_arn);
		free(c->roles[i].external_id);
	}
	free(c->roles);
	free(c->role_session_name);
	free(c->listen);
	free(c->webhook_secret_file);
	free(c->state_dir);
	free(c->verify_allowed_signers_file);
	free(c->verify_keyring_file);
	free(c->github_token_file);
	free(c->github_repository);
	free(c->github_api_url);
	free(c->github_context);
	for (size_t i = 0; i < c->n_webhooks; i++) {
		free(c->webhooks[i].url_file);
		buf_release_secret(&c->webhooks[i].url);
	}
	free(c->webhooks);
	buf_release_secret(&c->token);
	buf_release_secret(&c->webhook_secret);
	buf_release_secret(&c->github_token);
	free(c);
}

int config_path_expand(const char *path, char **ret, struct error *err)
{
	static const char *const prefixes[] = {"${CREDENTIALS_DIRECTORY}", "$CREDENTIALS_DIRECTORY"};
	const char *rest = path, *dir = NULL;
	char *out;

	for (size_t i = 0; i < 2 && !dir; i++) {
		size_t n = strlen(prefixes[i]);

		if (!strncmp(path, prefixes[i], n) && (path[n] == '/' || path[n] == '\0')) {
			dir = getenv("CREDENTIALS_DIRECTORY");
			if (!dir || !*dir)
				return error_set(err, -EINVAL,
				                 "uses $CREDENTIALS_DIRECTORY, which is not set "
				                 "(LoadCredential= in the unit)");
			rest = path + n;
		}
	}
	if (strchr(rest, '$'))
		return error_set(err, -EINVAL, "only a leading $CREDENTIALS_DIRECTORY is expanded");
	if (!dir && *path != '/')
		return error_set(err, -EINVAL, "must be an absolute path");
	if (asprintf(&out, "%s%s", dir ? dir : "", rest) < 0)
		return -ENOMEM;
	*ret = out;
	return 0;
}

int config_listen_parse(const char *s, char *ret_host, size_t hostsz, uint16_t *ret_port, struct error *err)
{
	const char *colon, *host = s;
	size_t hlen;
	int port;

	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return error_set(err, -EINVAL, "expected [address]:port");
		host = s + 1;
		hlen = (size_t)(close - host);
		colon = close + 1;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return error_set(err, -EINVAL, "expected address:port");
		if (memchr(s, ':', (size_t)(colon - s)))
			return error_set(err, -EINVAL, "an IPv6 address needs brackets: [address]:port");
		hlen = (size_t)(colon - s);
	}
	if (hlen == 0)
		return error_set(err, -EINVAL, "address missing (127.0.0.1 for loopback, 0.0.0.0 for all)");
	if (hlen >= hostsz)
		return error_set(err, -EINVAL, "address too long");
	if (parse_int(colon + 1, 0, 65535, &port, err) < 0)
		return error_prefix(err, "port");
	memcpy(ret_host, host, hlen);
	ret_host[hlen] = '\0';
	*ret_port = (uint16_t)port;
	return 0;
}

bool config_host_is_loopback(const char *host)
{
	struct in6_addr a6;
	struct in_addr a4;

	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (inet_pton(AF_INET6, host, &a6) != 1)
		return false;
	if (IN6_IS_ADDR_LOOPBACK(&a6))
		return true;
	return IN6_IS_ADDR_V4MAPPED(&a6) && a6.s6_addr[12] == 127;
}

int config_warnings(const struct config *c, struct errlist *warnings)
{
	struct in6_addr a6;
	struct in_addr a4;
	bool v4 = c->listen && inet_pton(AF_INET, c->listen_host, &a4) == 1;
	bool v6 = c->listen && inet_pton(AF_INET6, c->listen_host, &a6) == 1;
	int n = 0;

	/* not an address literal at all: the server refuses to start, with its own message */
	if ((v4 || v6) && !config_host_is_loopback(c->listen_host)) {
		bool any = (v4 && a4.s_addr == htonl(INADDR_ANY)) || (v6 && IN6_IS_ADDR_UNSPECIFIED(&a6));

		n++;
		if (any)
			errlist_add(warnings, 0, c->file, c->listen_at[0], c->listen_at[1],
			            "server.listen: the HTTP endpoint listens on all interfaces: "
			            "/metrics and /status are readable by anyone who can reach it");
		else
			errlist_add(warnings, 0, c->file, c->listen_at[0], c->listen_at[1],
			            "server.listen: the HTTP endpoint listens on %s, not on loopback: "
			            "/metrics and /status are readable by anyone who can reach it",
			            c->listen_host);
	}
	if (c->token_file && c->repo_url && !strncasecmp(c->repo_url, "http://", 7)) {
		n++;
		errlist_add(warnings, 0, c->file, c->repo_url_at[0], c->repo_url_at[1],
		            "repository.url: the Git token is sent unencrypted over http:// (use https://)");
	}
	if (c->github_token_file && c->github_api_url && !strncasecmp(c->github_api_url, "http://", 7)) {
		n++;
		errlist_add(
		    warnings, 0, c->file, c->github_api_url_at[0], c->github_api_url_at[1],
		    "notify.github.apiUrl: the GitHub token is sent unencrypted over http:// (use https://)");
	}
	return n;
}

const struct yaml_node *config_opt(const struct yaml_node *map, const char *key)
{
	const struct yaml_node *n = yaml_map_get(map, key);

	return n && yaml_is_null(n) ? NULL : n;
}

void config_get_str(struct parser *p, const struct yaml_node *map, const char *key, const char *what,
                    size_t max, char **out)
{
	const struct yaml_node *n = config_opt(map, key);
	const char *s;

	if (!n)
		return;
	if (yaml_get_string(n, what, max, &s, p->errs) < 0) {
		p->failed = 1;
		return;
	}
	free(*out);
	*out = strdup(s);
	if (!*out)
		p->failed = -ENOMEM;
}

void config_get_path(struct parser *p, const struct yaml_node *map, const char *key, const char *what,
                     char **out, unsigned at[2])
{
	const struct yaml_node *n = config_opt(map, key);
	struct error e = ERROR_INIT;
	const char *s;
	char *expanded;

	if (!n)
		return;
	if (yaml_get_string(n, what, PATH_MAX_LEN, &s, p->errs) < 0) {
		p->failed = 1;
		return;
	}
	if (!*s) {
		yaml_error(p->errs, n, -EINVAL, "%s: must not be empty", what);
		p->failed = 1;
		return;
	}
	if (config_path_expand(s, &expanded, &e) < 0) {
		yaml_error(p->errs, n, -EINVAL, "%s: %s", what, e.msg);
		p->failed = 1;
		return;
	}
	free(*out);
	*out = expanded;
	if (at) {
		at[0] = n->line;
		at[1] = n->col;
	}
}

static void get_duration(struct parser *p, const struct yaml_node *map, const char *key, const char *what,
                         uint64_t min, uint64_t max, uint64_t *out)
{
	const struct yaml_node *n = config_opt(map, key);
	struct error e = ERROR_INIT;
	const char *s;
	uint64_t ms;

	if (!n)
		return;
	s = n->kind == YAML_KIND_SCALAR ? n->str : NULL;
	if (!s || n->len != strlen(s) || n->len > 64 || (n->tag && strcmp(n->tag, "!!str"))) {
		yaml_error(p->errs, n, -EINVAL, "%s: expected a duration such as 30s, 5m or 1h, got %s", what,
		           yaml_describe(n));
		p->failed = 1;
		return;
	}
	if (parse_duration_ms(s, &ms, &e) < 0) {
		yaml_error(p->errs, n, -EINVAL, "%s: %s", what, e.msg);
		p->failed = 1;
		return;
	}
	if (ms < min || ms > max) {
		if (min)
			yaml_error(p->errs, n, -ERANGE, "%s: %s is out of range (%llums..%llums)", what, s,
			           (unsigned long long)min, (unsigned long long)max);
		else
			yaml_error(p->errs, n, -ERANGE, "%s: %s is out of range (at most %llums)", what, s,
			           (unsigned long long)max);
		p->failed = 1;
		return;
	}
	*out = ms;
}

void config_check_keys(struct parser *p, const struct yaml_node *map, const char *prefix,
                       const char *const keys[])
{
	if (yaml_check_keys(map, prefix, keys, p->errs) < 0)
		p->failed = 1;
}

/* A section: absent/null is fine (defaults), anything but a mapping is an error. */
const struct yaml_node *config_section(struct parser *p, const struct yaml_node *root, const char *key)
{
	const struct yaml_node *n = config_opt(root, key);

	if (!n)
		return NULL;
	if (yaml_expect_mapping(n, key, p->errs) < 0) {
		p->failed = 1;
		return NULL;
	}
	return n;
}

static void parse_repository(struct parser *p, struct config *c, const struct yaml_node *root)
{
	static const char *const keys[] = {"url",       "ref",         "path",       "interval",
	                                   "tokenFile", "tokenUser",   "sshKeyFile", "knownHostsFile",
	                                   "caFile",    "allowRewind", "verify",     NULL};
	const struct yaml_node *m = config_section(p, root, "repository"), *n;

	if (!m) {
		if (!yaml_map_get(root, "repository") || yaml_is_null(yaml_map_get(root, "repository"))) {
			yaml_error(p->errs, root, -EINVAL,
			           "repository: required (url of the manifest repository)");
			p->failed = 1;
		}
		return;
	}
	config_check_keys(p, m, "repository", keys);
	if (!config_opt(m, "url")) {
		yaml_error(p->errs, m, -EINVAL, "repository.url: required");
		p->failed = 1;
	}
	config_get_str(p, m, "url", "repository.url", 2048, &c->repo_url);
	n = config_opt(m, "url");
	if (n) {
		c->repo_url_at[0] = n->line;
		c->repo_url_at[1] = n->col;
	}
	if (c->repo_url && !*c->repo_url) {
		yaml_error(p->errs, yaml_map_get(m, "url"), -EINVAL, "repository.url: must not be empty");
		p->failed = 1;
	}
	config_get_str(p, m, "ref", "repository.ref", 256, &c->repo_ref);
	if (c->repo_ref && !*c->repo_ref) {
		yaml_error(p->errs, yaml_map_get(m, "ref"), -EINVAL, "repository.ref: must not be empty");
		p->failed = 1;
	}
	config_get_str(p, m, "path", "repository.path", 1024, &c->repo_path);
	n = config_opt(m, "path");
	if (n && c->repo_path) {
		/* normalise "functions/" and "./functions" to "functions"; refuse escapes */
		char *s = c->repo_path;
		size_t len;

		while (s[0] == '.' && s[1] == '/')
			memmove(s, s + 2, strlen(s + 2) + 1);
		if (!strcmp(s, "."))
			s[0] = '\0';
		len = strlen(s);
		while (len && s[len - 1] == '/')
			s[--len] = '\0';
		if (s[0] == '/' || !strcmp(s, "..") || !strncmp(s, "../", 3) || strstr(s, "/../") ||
		    (len >= 3 && !strcmp(s + len - 3, "/..")) || strstr(s, "//")) {
			yaml_error(p->errs, n, -EINVAL,
			           "repository.path: must be a relative path inside the repository");
			p->failed = 1;
		}
	}
	get_duration(p, m, "interval", "repository.interval", CONFIG_INTERVAL_MIN_MS, CONFIG_INTERVAL_MAX_MS,
	             &c->interval_ms);
	config_get_path(p, m, "tokenFile", "repository.tokenFile", &c->token_file, c->token_file_at);
	config_get_str(p, m, "tokenUser", "repository.tokenUser", 256, &c->token_user);
	config_get_path(p, m, "sshKeyFile", "repository.sshKeyFile", &c->ssh_key_file, c->ssh_key_file_at);
	config_get_path(p, m, "knownHostsFile", "repository.knownHostsFile", &c->known_hosts_file,
	                c->known_hosts_file_at);
	config_get_path(p, m, "caFile", "repository.caFile", &c->ca_file, c->ca_file_at);
	n = config_opt(m, "allowRewind");
	if (n && yaml_get_bool(n, "repository.allowRewind", &c->allow_rewind, p->errs) < 0)
		p->failed = 1;
	if (c->ssh_key_file && c->token_file) {
		yaml_error(
		    p->errs, yaml_map_key(m, "sshKeyFile"), -EINVAL,
		    "repository.sshKeyFile: give either tokenFile (HTTPS) or sshKeyFile (SSH), not both");
		p->failed = 1;
	}
	if (c->known_hosts_file && !c->ssh_key_file) {
		yaml_error(p->errs, yaml_map_key(m, "knownHostsFile"), -EINVAL,
		           "repository.knownHostsFile: only used with sshKeyFile");
		p->failed = 1;
	}
	config_parse_verify(p, c, m);
}

static bool chars_in(const char *s, const char *extra)
{
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
		      strchr(extra, *s)))
			return false;
	return true;
}

bool config_role_session_valid(const char *s)
{
	size_t n = strlen(s);

	return n >= 2 && n <= 64 && chars_in(s, "+=,.@_-");
}

int config_role_check(const char *account, const char *arn, const char *external_id, struct error *err)
{
	const char *p, *name;
	size_t n;

	if (strlen(account) != 12 || strspn(account, "0123456789") != 12)
		return error_set(err, -EINVAL, "expected a 12-digit AWS account id, not \"%.40s\"", account);
	/* arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME */
	if (strncmp(arn, "arn:", 4) || !(p = strchr(arn + 4, ':')) || p == arn + 4 || strncmp(p, ":iam::", 6))
		return error_set(err, -EINVAL, "expected a role ARN such as arn:aws:iam::%s:role/aliasd",
		                 account);
	p += 6;
	if (strncmp(p, account, 12) || p[12] != ':')
		return error_set(err, -EINVAL, "the role ARN %.200s is not in account %s (the key)", arn,
		                 account);
	p += 13;
	if (strncmp(p, "role/", 5))
		return error_set(err, -EINVAL, "expected a role ARN such as arn:aws:iam::%s:role/aliasd",
		                 account);
	name = strrchr(p, '/') + 1;
	n = strlen(p + 5);
	if (!*name || n > 512 || !chars_in(p + 5, "+=,.@_-/"))
		return error_set(err, -EINVAL, "the role ARN %.200s has no valid role name", arn);
	if (external_id &&
	    (strlen(external_id) < 2 || strlen(external_id) > 1224 || !chars_in(external_id, "+=,.@:/_-")))
		return error_set(err, -EINVAL, "externalId: 2..1224 characters of A-Z a-z 0-9 +=,.@:/_-");
	return 0;
}

int config_role_arg(const char *arg, struct config_role *ret, struct error *err)
{
	const char *eq = strchr(arg, '='), *ext;
	int r;

	memset(ret, 0, sizeof(*ret));
	if (!eq || eq - arg != 12)
		return error_set(err, -EINVAL,
		                 "expected ACCOUNT=ROLE_ARN (a 12-digit account id), got '%.100s'", arg);
	memcpy(ret->account, arg, 12);
	ext = strstr(eq + 1, ",externalId=");
	ret->role_arn = ext ? strndup(eq + 1, (size_t)(ext - eq - 1)) : strdup(eq + 1);
	if (ext && ret->role_arn && !(ret->external_id = strdup(ext + 12))) {
		config_role_release(ret);
		return error_set(err, -ENOMEM, "out of memory");
	}
	if (!ret->role_arn)
		return error_set(err, -ENOMEM, "out of memory");
	r = config_role_check(ret->account, ret->role_arn, ret->external_id, err);
	if (r < 0)
		config_role_release(ret);
	return r;
}

void config_role_release(struct config_role *r)
{
	free(r->role_arn);
	free(r->external_id);
	memset(r, 0, sizeof(*r));
}

static bool str_eq(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

bool config_roles_equal(const struct config *a, const struct config *b)
{
	if (a->n_roles != b->n_roles || !str_eq(a->role_session_name, b->role_session_name))
		return false;
	for (size_t i = 0; i < a->n_roles; i++)
		if (strcmp(a->roles[i].account, b->roles[i].account) ||
		    !str_eq(a->roles[i].role_arn, b->roles[i].role_arn) ||
		    !str_eq(a->roles[i].external_id, b->roles[i].external_id))
			return false;
	return true;
}

/* aws.roles: ACCOUNT: ARN, or ACCOUNT: {roleArn, externalId}. */
static void parse_roles(struct parser *p, struct config *c, const struct yaml_node *m)
{
	static const char *const keys[] = {"roleArn", "externalId", NULL};
	const struct yaml_node *r = config_section(p, m, "roles");

	if (!r)
		return;
	if (r->n_pairs > CONFIG_ROLES_MAX) {
		yaml_error(p->errs, r, -EINVAL, "aws.roles: at most %d accounts", CONFIG_ROLES_MAX);
		p->failed = 1;
		return;
	}
	c->roles = calloc(r->n_pairs ? r->n_pairs : 1, sizeof(*c->roles));
	if (!c->roles) {
		p->failed = -ENOMEM;
		return;
	}
	for (size_t i = 0; i < r->n_pairs; i++) {
		const struct yaml_node *k = r->pairs[i].key, *v = r->pairs[i].value;
		struct config_role *cr = &c->roles[c->n_roles];
		struct error e = ERROR_INIT;
		char what[64];
		const struct yaml_node *at = v;

		snprintf(what, sizeof(what), "aws.roles.%.20s", k->str);
		if (k->len != 12 || strspn(k->str, "0123456789") != 12) {
			yaml_error(p->errs, k, -EINVAL, "%s: expected a 12-digit AWS account id as the key",
			           what);
			p->failed = 1;
			continue;
		}
		if (v && v->kind == YAML_KIND_MAPPING) {
			config_check_keys(p, v, what, keys);
			config_get_str(p, v, "roleArn", what, 2048, &cr->role_arn);
			config_get_str(p, v, "externalId", what, 1224, &cr->external_id);
			if (!cr->role_arn) {
				yaml_error(p->errs, v, -EINVAL, "%s: roleArn is required", what);
				p->failed = 1;
			}
			at = config_opt(v, "roleArn") ? config_opt(v, "roleArn") : v;
		} else {
			config_get_str(p, r, k->str, what, 2048, &cr->role_arn);
		}
		c->n_roles++; /* freed with the config even when it fails below */
		if (!cr->role_arn)
			continue;
		memcpy(cr->account, k->str, 12);
		if (config_role_check(cr->account, cr->role_arn, cr->external_id, &e) < 0) {
			yaml_error(p->errs, at, -EINVAL, "%s: %s", what, e.msg);
			p->failed = 1;
		}
	}
}

static void parse_aws(struct parser *p, struct config *c, const struct yaml_node *root)
{
	static const char *const keys[] = {"region", "endpoint", "roles", "roleSessionName", NULL};
	const struct yaml_node *m = config_section(p, root, "aws");

	if (!m)
		return;
	config_check_keys(p, m, "aws", keys);
	config_get_str(p, m, "region", "aws.region", 64, &c->aws_region);
	if (c->aws_region) {
		const char *s = c->aws_region;
		bool ok = *s != '\0';

		for (; *s && ok; s++)
			ok = (*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-';
		if (!ok) {
			yaml_error(p->errs, config_opt(m, "region"), -EINVAL,
			           "aws.region: expected a region name such as us-east-1");
			p->failed = 1;
		}
	}
	config_get_str(p, m, "endpoint", "aws.endpoint", 2048, &c->aws_endpoint);
	if (c->aws_endpoint && !*c->aws_endpoint) {
		free(c->aws_endpoint); /* "" = the default endpoint */
		c->aws_endpoint = NULL;
	} else if (c->aws_endpoint && strncmp(c->aws_endpoint, "https://", 8) &&
	           strncmp(c->aws_endpoint, "http://", 7)) {
		yaml_error(p->errs, config_opt(m, "endpoint"), -EINVAL,
		           "aws.endpoint: expected an http:// or https:// URL");
		p->failed = 1;
	}
	parse_roles(p, c, m);
	config_get_str(p, m, "roleSessionName", "aws.roleSessionName", 64, &c->role_session_name);
	if (c->role_session_name && !config_role_session_valid(c->role_session_name)) {
		yaml_error(p->errs, config_opt(m, "roleSessionName"), -EINVAL,
		           "aws.roleSessionName: 2..64 characters of A-Z a-z 0-9 +=,.@_-");
		p->failed = 1;
	}
}

static void parse_reconcile(struct parser *p, struct config *c, const struct yaml_node *root)
{
	static const char *const keys[] = {"resync", "concurrency", "rateLimit", "backoffMax", NULL};
	const struct yaml_node *m = config_section(p, root, "reconcile"), *n;
	int64_t v;

	if (!m)
		return;
	config_check_keys(p, m, "reconcile", keys);
	get_duration(p, m, "resync", "reconcile.resync", 0, CONFIG_RESYNC_MAX_MS, &c->resync_ms);
	get_duration(p, m, "backoffMax", "reconcile.backoffMax", 1000, CONFIG_INTERVAL_MAX_MS,
	             &c->backoff_max_ms);
	n = config_opt(m, "concurrency");
	if (n) {
		if (yaml_get_int(n, "reconcile.concurrency", 1, CONFIG_CONCURRENCY_MAX, &v, p->errs) < 0)
			p->failed = 1;
		else
			c->concurrency = (unsigned)v;
	}
	n = config_opt(m, "rateLimit");
	if (n && yaml_get_double(n, "reconcile.rateLimit", 0.1, CONFIG_RATE_LIMIT_MAX, &c->rate_limit,
	                         p->errs) < 0)
		p->failed = 1;
}

static void parse_server(struct parser *p, struct config *c, const struct yaml_node *root)
{
	static const char *const keys[] = {"listen", "webhookSecretFile", NULL};
	const struct yaml_node *m = config_section(p, root, "server"), *n;
	struct error e = ERROR_INIT;

	if (m) {
		config_check_keys(p, m, "server", keys);
		n = yaml_map_get(m, "listen");
		if (n) {
			c->listen_at[0] = n->line;
			c->listen_at[1] = n->col;
		}
		if (n && yaml_is_null(n)) {
			free(c->listen); /* listen: ~  -> no HTTP server */
			c->listen = NULL;
		} else {
			config_get_str(p, m, "listen", "server.listen", 128, &c->listen);
		}
		if (c->listen && !*c->listen) {
			free(c->listen);
			c->listen = NULL;
		}
		config_get_path(p, m, "webhookSecretFile", "server.webhookSecretFile",
		                &c->webhook_secret_file, c->webhook_secret_file_at);
	}
	if (c->listen &&
	    config_listen_parse(c->listen, c->listen_host, sizeof(c->listen_host), &c->listen_port, &e) < 0) {
		yaml_error(p->errs, m ? config_opt(m, "listen") : NULL, -EINVAL, "server.listen: %s", e.msg);
		p->failed = 1;
	}
}

static void parse_log(struct parser *p, struct config *c, const struct yaml_node *root)
{
	static const char *const keys[] = {"format", "level", NULL};
	const struct yaml_node *m = config_section(p, root, "log"), *n;
	enum log_format f;
	const char *s;
	int level;

	if (!m)
		return;
	config_check_keys(p, m, "log", keys);
	n = config_opt(m, "format");
	if (n && yaml_get_string(n, "log.format", 16, &s, p->errs) == 0) {
		if (log_format_parse(s, &f) < 0) {
			yaml_error(p->errs, n, -EINVAL, "log.format: expected text or json");
			p->failed = 1;
		} else {
			c->log_format = (int)f;
		}
	} else if (n) {
		p->failed = 1;
	}
	n = config_opt(m, "level");
	if (n && yaml_get_string(n, "log.level", 16, &s, p->errs) == 0) {
		if (log_level_parse(s, &level) < 0) {
			yaml_error(p->errs, n, -EINVAL,
			           "log.level: expected error, warning, notice, info or debug");
			p->failed = 1;
		} else {
			c->log_level = level;
		}
	} else if (n) {
		p->failed = 1;
	}
}

static int config_defaults(struct config *c)
{
	c->repo_ref = strdup(CONFIG_DEFAULT_REF);
	c->repo_path = strdup("");
	c->interval_ms = CONFIG_DEFAULT_INTERVAL_MS;
	c->resync_ms = CONFIG_DEFAULT_RESYNC_MS;
	c->concurrency = CONFIG_DEFAULT_CONCURRENCY;
	c->rate_limit = CONFIG_DEFAULT_RATE_LIMIT;
	c->backoff_max_ms = CONFIG_DEFAULT_BACKOFF_MAX_MS;
	c->allow_rewind = true;
	c->listen = strdup(CONFIG_DEFAULT_LISTEN);
	c->state_dir = strdup(CONFIG_DEFAULT_STATE_DIR);
	c->role_session_name = strdup(CONFIG_DEFAULT_ROLE_SESSION);
	c->log_format = LOG_FORMAT_TEXT;
	c->log_level = LOG_INFO;
	buf_init(&c->token, CONFIG_SECRET_MAX + 2);
	buf_mark_secret(&c->token);
	buf_init(&c->webhook_secret, CONFIG_SECRET_MAX + 2);
	buf_mark_secret(&c->webhook_secret);
	buf_init(&c->github_token, CONFIG_SECRET_MAX + 2);
	buf_mark_secret(&c->github_token);
	if (!c->repo_ref || !c->repo_path || !c->listen || !c->state_dir || !c->role_session_name)
		return -ENOMEM;
	return 0;
}

int config_parse(struct config **ret, const char *file, const char *data, size_t len, struct errlist *errs)
{
	static const char *const keys[] = {"repository", "aws", "reconcile", "server",
	                                   "stateDir",   "log", "notify",    NULL};
	static const struct yaml_limits limits = YAML_LIMITS_CONFIG;
	struct parser p = {.errs = errs};
	struct yaml_stream *stream = NULL;
	const struct yaml_node *root;
	struct config *c;
	size_t before = errlist_count(errs);
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	r = config_defaults(c);
	if (r < 0)
		goto out;
	c->file = strdup(file);
	if (!c->file) {
		r = -ENOMEM;
		goto out;
	}
	r = yaml_stream_parse(&stream, file, data, len, &limits, errs);
	if (r < 0)
		goto out;
	if (stream->failed || errlist_count(errs) > before) {
		r = -EINVAL;
		goto out;
	}
	if (stream->n_docs != 1) {
		if (stream->n_docs == 0)
			errlist_add(errs, -EINVAL, file, 0, 0,
			            "empty configuration (repository.url is required)");
		else
			errlist_add(errs, -EINVAL, file, stream->docs[1].line, stream->docs[1].col,
			            "expected one YAML document, found %zu", stream->n_docs);
		r = -EINVAL;
		goto out;
	}
	root = stream->docs[0].root;
	if (!root || yaml_is_null(root)) {
		errlist_add(errs, -EINVAL, file, 0, 0, "empty configuration (repository.url is required)");
		r = -EINVAL;
		goto out;
	}
	if (yaml_expect_mapping(root, "configuration", errs) < 0) {
		r = -EINVAL;
		goto out;
	}
	config_check_keys(&p, root, NULL, keys);
	parse_repository(&p, c, root);
	parse_aws(&p, c, root);
	parse_reconcile(&p, c, root);
	parse_server(&p, c, root);
	config_get_path(&p, root, "stateDir", "stateDir", &c->state_dir, NULL);
	parse_log(&p, c, root);
	config_parse_notify(&p, c, root);
	if (p.failed < 0) {
		r = p.failed;
		goto out;
	}
	if (p.failed) {
		r = -EINVAL;
		goto out;
	}
	*ret = c;
	c = NULL;
	r = 0;
out:
	yaml_stream_free(stream);
	config_free(c);
	return r;
}

/* Read a file of at most `max` bytes into `out`. */
static int read_file(const char *path, size_t max, struct buf *out, struct error *err)
{
	struct stat st;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return error_set(err, -errno, "%s: %s", path, strerror(errno));
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		r = error_set(err, -EINVAL, "%s: not a regular file", path);
		goto out;
	}
	r = file_read_fd(out, fd, max, path, err);
out:
	close(fd);
	return r;
}

static int load_secret(struct config *c, const char *path, const unsigned at[2], const char *what,
                       struct buf *out, struct errlist *errs)
{
	struct error e = ERROR_INIT;
	int r;

	buf_reset(out);
	r = read_file(path, CONFIG_SECRET_MAX, out, &e);
	if (r == 0) {
		/* one trailing newline (echo secret > file) is not part of the secret */
		if (out->len && out->ptr[out->len - 1] == '\n')
			buf_truncate(out, out->len - 1);
		if (out->len && out->ptr[out->len - 1] == '\r')
			buf_truncate(out, out->len - 1);
		if (out->len == 0)
			r = error_set(&e, -EINVAL, "%s: empty", path);
		else if (memchr(out->ptr, '\0', out->len) || memchr(out->ptr, '\n', out->len))
			r = error_set(&e, -EINVAL, "%s: must be one line of text", path);
	}
	if (r < 0) {
		buf_reset(out);
		errlist_add(errs, r, c->file, at[0], at[1], "%s: %s", what, e.msg);
	}
	return r;
}

static int check_readable(struct config *c, const char *path, const unsigned at[2], const char *what,
                          struct errlist *errs)
{
	if (access(path, R_OK) == 0)
		return 0;
	return errlist_add(errs, -errno, c->file, at[0], at[1], "%s: %s: %s", what, path, strerror(errno));
}

int config_secrets_load(struct config *c, struct errlist *errs)
{
	int r = 0;

	if (c->token_file &&
	    load_secret(c, c->token_file, c->token_file_at, "repository.tokenFile", &c->token, errs) < 0)
		r = -EINVAL;
	if (c->webhook_secret_file && load_secret(c, c->webhook_secret_file, c->webhook_secret_file_at,
	                                          "server.webhookSecretFile", &c->webhook_secret, errs) < 0)
		r = -EINVAL;
	if (c->ssh_key_file &&
	    check_readable(c, c->ssh_key_file, c->ssh_key_file_at, "repository.sshKeyFile", errs) < 0)
		r = -EINVAL;
	if (c->known_hosts_file && check_readable(c, c->known_hosts_file, c->known_hosts_file_at,
	                                          "repository.knownHostsFile", errs) < 0)
		r = -EINVAL;
	if (c->ca_file && check_readable(c, c->ca_file, c->ca_file_at, "repository.caFile", errs) < 0)
		r = -EINVAL;
	if (c->verify_allowed_signers_file &&
	    check_readable(c, c->verify_allowed_signers_file, c->verify_file_at,
	                   "repository.verify.allowedSignersFile", errs) < 0)
		r = -EINVAL;
	if (c->verify_keyring_file && check_readable(c, c->verify_keyring_file, c->verify_file_at,
	                                             "repository.verify.keyringFile", errs) < 0)
		r = -EINVAL;
	if (c->github_token_file && load_secret(c, c->github_token_file, c->github_token_file_at,
	                                        "notify.github.tokenFile", &c->github_token, errs) < 0)
		r = -EINVAL;
	for (size_t i = 0; i < c->n_webhooks; i++) {
		struct config_webhook *w = &c->webhooks[i];
		char what[64];

		snprintf(what, sizeof(what), "notify.webhooks[%zu].urlFile", i);
		if (load_secret(c, w->url_file, w->url_file_at, what, &w->url, errs) < 0) {
			r = -EINVAL;
		} else if (strncmp(w->url.ptr, "https://", 8) && strncmp(w->url.ptr, "http://", 7)) {
			/* the URL is a secret: name the file, never the content */
			errlist_add(errs, -EINVAL, c->file, w->url_file_at[0], w->url_file_at[1],
			            "%s: %s: expected an http:// or https:// URL", what, w->url_file);
			buf_reset(&w->url);
			r = -EINVAL;
		}
	}
	return r;
}

int config_load(struct config **ret, const char *path, struct errlist *errs)
{
	struct buf data = BUF_INIT;
	struct error e = ERROR_INIT;
	struct config *c = NULL;
	int r;

	r = read_file(path, CONFIG_FILE_MAX, &data, &e);
	if (r < 0) {
		errlist_add(errs, r, NULL, 0, 0, "%s", e.msg);
		goto out;
	}
	r = config_parse(&c, path, data.ptr, data.len, errs);
	if (r < 0)
		goto out;
	r = config_secrets_load(c, errs);
	if (r < 0)
		goto out;
	*ret = c;
	c = NULL;
out:
	buf_release(&data);
	config_free(c);
	return r;
}
