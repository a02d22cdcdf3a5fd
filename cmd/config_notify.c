/*
 * config_notify.c - the repository.verify and notify sections of the
 * configuration file (DESIGN.md §7), see config.h.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cmd/config.h"
#include "cmd/config_internal.h"
#include "cmd/notify_status.h"
#include "manifest/verify.h"
#include "manifest/yaml.h"

void config_parse_verify(struct parser *p, struct config *c, const struct yaml_node *repo)
{
	static const char *const keys[] = {"provider", "allowedSignersFile", "keyringFile", NULL};
	const struct yaml_node *m = config_section(p, repo, "verify"), *n;
	const char *s;

	if (!m)
		return;
	config_check_keys(p, m, "repository.verify", keys);
	config_get_path(p, m, "allowedSignersFile", "repository.verify.allowedSignersFile",
	                &c->verify_allowed_signers_file, NULL);
	config_get_path(p, m, "keyringFile", "repository.verify.keyringFile", &c->verify_keyring_file, NULL);
	n = config_opt(m, "provider");
	if (!n) {
		yaml_error(p->errs, m, -EINVAL, "repository.verify.provider: required (ssh or gpg)");
		p->failed = 1;
		return;
	}
	if (yaml_get_string(n, "repository.verify.provider", 16, &s, p->errs) < 0) {
		p->failed = 1;
		return;
	}
	if (!strcmp(s, "ssh")) {
		c->verify_provider = VERIFY_PROVIDER_SSH;
		n = config_opt(m, "allowedSignersFile");
		if (!n)
			yaml_error(p->errs, m, -EINVAL,
			           "repository.verify.allowedSignersFile: required with provider ssh");
		if (config_opt(m, "keyringFile"))
			yaml_error(p->errs, yaml_map_key(m, "keyringFile"), -EINVAL,
			           "repository.verify.keyringFile: only used with provider gpg "
			           "(ssh takes allowedSignersFile)");
		if (!n || config_opt(m, "keyringFile"))
			p->failed = 1;
	} else if (!strcmp(s, "gpg")) {
		c->verify_provider = VERIFY_PROVIDER_GPG;
		n = config_opt(m, "keyringFile");
		if (!n)
			yaml_error(p->errs, m, -EINVAL,
			           "repository.verify.keyringFile: required with provider gpg");
		if (config_opt(m, "allowedSignersFile"))
			yaml_error(p->errs, yaml_map_key(m, "allowedSignersFile"), -EINVAL,
			           "repository.verify.allowedSignersFile: only used with provider ssh "
			           "(gpg takes keyringFile)");
		if (!n || config_opt(m, "allowedSignersFile"))
			p->failed = 1;
	} else {
		yaml_error(p->errs, n, -EINVAL, "repository.verify.provider: expected ssh or gpg");
		p->failed = 1;
		return;
	}
	if (n) {
		c->verify_file_at[0] = n->line;
		c->verify_file_at[1] = n->col;
	}
}

static bool gh_name_ok(const char *s, size_t n, bool owner)
{
	if (n == 0 || n > (owner ? 39u : 100u) || (n == 1 && s[0] == '.') || (n == 2 && !strncmp(s, "..", 2)))
		return false;
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      ch == '-' || (!owner && (ch == '.' || ch == '_'))))
			return false;
	}
	return true;
}

/* "owner/name" well formed (GitHub's characters and lengths). */
static bool gh_repository_ok(const char *s)
{
	const char *slash = strchr(s, '/');

	return slash && gh_name_ok(s, (size_t)(slash - s), true) &&
	       gh_name_ok(slash + 1, strlen(slash + 1), false);
}

int config_github_repository(const char *url, const char *api_host, char **ret)
{
	const char *host, *path;
	size_t hlen, plen;
	char *out;

	if (!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7) || !strncmp(url, "ssh://", 6)) {
		host = strstr(url, "://") + 3;
		path = strchr(host, '/');
		if (!path)
			return -EINVAL;
		hlen = (size_t)(path - host);
		path++;
	} else {
		/* scp-like: [user@]host:owner/name */
		host = url;
		path = strchr(url, ':');
		if (!path || memchr(url, '/', (size_t)(path - url)))
			return -EINVAL;
		hlen = (size_t)(path - host);
		path++;
	}
	/* drop user@ and :port */
	for (const char *at = memchr(host, '@', hlen); at; at = memchr(host, '@', hlen)) {
		hlen -= (size_t)(at + 1 - host);
		host = at + 1;
	}
	{
		const char *colon = memchr(host, ':', hlen);

		if (colon)
			hlen = (size_t)(colon - host);
	}
	if (!((hlen == 10 && !strncasecmp(host, "github.com", 10)) ||
	      (api_host && strlen(api_host) == hlen && !strncasecmp(host, api_host, hlen))))
		return -EINVAL;
	plen = strlen(path);
	while (plen && path[plen - 1] == '/')
		plen--;
	if (plen > 4 && !strncmp(path + plen - 4, ".git", 4))
		plen -= 4;
	out = strndup(path, plen);
	if (!out)
		return -ENOMEM;
	if (!gh_repository_ok(out)) {
		free(out);
		return -EINVAL;
	}
	*ret = out;
	return 0;
}

/* The host of an http(s) URL, into out. */
static void url_host(const char *url, char *out, size_t outsz)
{
	const char *h = strstr(url, "://"), *end;
	size_t n;

	out[0] = '\0';
	if (!h)
		return;
	h += 3;
	end = h + strcspn(h, "/:?#");
	n = (size_t)(end - h);
	if (n < outsz) {
		memcpy(out, h, n);
		out[n] = '\0';
	}
}

static void parse_github(struct parser *p, struct config *c, const struct yaml_node *notify)
{
	static const char *const keys[] = {"tokenFile", "repository", "apiUrl", "context", NULL};
	const struct yaml_node *m = config_section(p, notify, "github"), *n;
	char host[256];

	if (!m)
		return;
	config_check_keys(p, m, "notify.github", keys);
	if (!config_opt(m, "tokenFile")) {
		yaml_error(p->errs, m, -EINVAL,
		           "notify.github.tokenFile: required (a GitHub token with "
		           "the statuses permission)");
		p->failed = 1;
	}
	config_get_path(p, m, "tokenFile", "notify.github.tokenFile", &c->github_token_file,
	                c->github_token_file_at);

	config_get_str(p, m, "apiUrl", "notify.github.apiUrl", 2048, &c->github_api_url);
	n = config_opt(m, "apiUrl");
	if (n) {
		c->github_api_url_at[0] = n->line;
		c->github_api_url_at[1] = n->col;
	}
	if (c->github_api_url) {
		char *u = c->github_api_url;
		size_t len = strlen(u);
		bool https = !strncmp(u, "https://", 8), http = !strncmp(u, "http://", 7);

		while (len && u[len - 1] == '/')
			u[--len] = '\0';
		if ((!https && !http) || len <= (size_t)(https ? 8 : 7) || strpbrk(u, " \t?#")) {
			yaml_error(p->errs, n, -EINVAL,
			           "notify.github.apiUrl: expected an http:// or https:// URL such as "
			           "https://api.github.com or https://HOST/api/v3");
			p->failed = 1;
		}
	} else {
		c->github_api_url = strdup(CONFIG_DEFAULT_GITHUB_API);
		if (!c->github_api_url) {
			p->failed = -ENOMEM;
			return;
		}
	}

	config_get_str(p, m, "context", "notify.github.context", 255, &c->github_context);
	if (c->github_context && !*c->github_context) {
		yaml_error(p->errs, config_opt(m, "context"), -EINVAL,
		           "notify.github.context: must not be empty");
		p->failed = 1;
	} else if (!c->github_context) {
		c->github_context = strdup(CONFIG_DEFAULT_GITHUB_CONTEXT);
		if (!c->github_context) {
			p->failed = -ENOMEM;
			return;
		}
	}

	config_get_str(p, m, "repository", "notify.github.repository", 256, &c->github_repository);
	if (c->github_repository && !gh_repository_ok(c->github_repository)) {
		yaml_error(p->errs, config_opt(m, "repository"), -EINVAL,
		           "notify.github.repository: expected owner/name, such as acme/lambda-releases");
		p->failed = 1;
	} else if (!c->github_repository) {
		int r;

		url_host(c->github_api_url, host, sizeof(host));
		r = c->repo_url
		        ? config_github_repository(c->repo_url, *host ? host : NULL, &c->github_repository)
		        : -EINVAL;
		if (r == -ENOMEM) {
			p->failed = r;
		} else if (r < 0 && c->repo_url) {
			yaml_error(p->errs, m, -EINVAL,
			           "notify.github.repository: required (repository.url is not a GitHub URL)");
			p->failed = 1;
		}
	}
}

static void parse_webhook(struct parser *p, struct config_webhook *w, const struct yaml_node *m, size_t i)
{
	static const char *const keys[] = {"urlFile", "format", "events", NULL};
	char what[64], prefix[48];
	const struct yaml_node *n;
	const char *s;

	snprintf(prefix, sizeof(prefix), "notify.webhooks[%zu]", i);
	if (yaml_expect_mapping(m, prefix, p->errs) < 0) {
		p->failed = 1;
		return;
	}
	config_check_keys(p, m, "notify.webhooks[]", keys);
	snprintf(what, sizeof(what), "%s.urlFile", prefix);
	if (!config_opt(m, "urlFile")) {
		yaml_error(p->errs, m, -EINVAL, "%s: required (a file holding the URL: it is a secret)",
		           what);
		p->failed = 1;
	}
	config_get_path(p, m, "urlFile", what, &w->url_file, w->url_file_at);

	snprintf(what, sizeof(what), "%s.format", prefix);
	n = config_opt(m, "format");
	if (n && yaml_get_string(n, what, 16, &s, p->errs) == 0) {
		if (!strcmp(s, "json"))
			w->format = CONFIG_WEBHOOK_JSON;
		else if (!strcmp(s, "slack"))
			w->format = CONFIG_WEBHOOK_SLACK;
		else {
			yaml_error(p->errs, n, -EINVAL, "%s: expected slack or json", what);
			p->failed = 1;
		}
	} else if (n) {
		p->failed = 1;
	}

	snprintf(what, sizeof(what), "%s.events", prefix);
	w->events = NOTIFY_EVENTS_ALL;
	n = config_opt(m, "events");
	if (!n)
		return;
	if (yaml_expect_sequence(n, what, p->errs) < 0) {
		p->failed = 1;
		return;
	}
	if (n->n_items == 0) {
		yaml_error(p->errs, n, -EINVAL, "%s: name at least one event (or leave it out for all)",
		           what);
		p->failed = 1;
		return;
	}
	w->events = 0;
	for (size_t j = 0; j < n->n_items; j++) {
		enum notify_event_kind k = 0;

		if (yaml_get_string(n->items[j], what, 32, &s, p->errs) < 0) {
			p->failed = 1;
			continue;
		}
		k = notify_event_from_name(s);
		if (!k) {
			yaml_error(p->errs, n->items[j], -EINVAL,
			           "%s: unknown event '%s' (expected applied, failed, drift, untrusted, "
			           "storage.warning, rollout.started, rollout.rolledBack or "
			           "rollout.succeeded)",
			           what, s);
			p->failed = 1;
		}
		w->events |= (unsigned)k;
	}
}

void config_parse_notify(struct parser *p, struct config *c, const struct yaml_node *root)
{
	static const char *const keys[] = {"github", "webhooks", NULL};
	const struct yaml_node *m = config_section(p, root, "notify"), *n;

	if (!m)
		return;
	config_check_keys(p, m, "notify", keys);
	parse_github(p, c, m);
	n = config_opt(m, "webhooks");
	if (!n)
		return;
	if (yaml_expect_sequence(n, "notify.webhooks", p->errs) < 0) {
		p->failed = 1;
		return;
	}
	if (n->n_items > CONFIG_WEBHOOKS_MAX) {
		yaml_error(p->errs, n, -EINVAL, "notify.webhooks: at most %d webhooks", CONFIG_WEBHOOKS_MAX);
		p->failed = 1;
		return;
	}
	if (n->n_items == 0)
		return;
	c->webhooks = calloc(n->n_items, sizeof(*c->webhooks));
	if (!c->webhooks) {
		p->failed = -ENOMEM;
		return;
	}
	c->n_webhooks = n->n_items;
	for (size_t i = 0; i < n->n_items; i++) {
		buf_init(&c->webhooks[i].url, CONFIG_SECRET_MAX + 2);
		buf_mark_secret(&c->webhooks[i].url);
		parse_webhook(p, &c->webhooks[i], n->items[i], i);
	}
}
