/*
 * repo_url.c - URL kinds, the SSH host of a URL, the authority for messages,
 * and the cache clone's place and creation (see repo.h).
 */
#include <ctype.h>
#include <errno.h>
#include <ftw.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "manifest/repo_internal.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/error.h"

/* Bytes of the URL's SHA-256 in the cache clone's name (40 hex digits). */
#define REPO_CACHE_HASH_BYTES 20

enum repo_url_kind repo_url_kind(const char *url)
{
	const char *colon, *slash;

	if (!strncmp(url, "file://", 7))
		return REPO_URL_FILE;
	if (!strncmp(url, "https://", 8) || !strncmp(url, "http://", 7))
		return REPO_URL_HTTP;
	if (!strncmp(url, "git://", 6))
		return REPO_URL_GIT;
	if (!strncmp(url, "ssh://", 6) || !strncmp(url, "git+ssh://", 10) || !strncmp(url, "ssh+git://", 10))
		return REPO_URL_SSH;
	if (strstr(url, "://"))
		return REPO_URL_SSH; /* unknown scheme: libgit2 refuses it with its message */
	/* scp-like "[user@]host:path": a colon before any slash */
	colon = strchr(url, ':');
	slash = strchr(url, '/');
	if (colon && colon != url && (!slash || colon < slash))
		return REPO_URL_SSH;
	return REPO_URL_LOCAL;
}

/*
 * The URL with its userinfo removed ("https://tok@host/x" -> "https://host/x"),
 * malloc'ed.  Used to name the cache and in descriptions.
 */
char *repo_url_strip(const char *url)
{
	const char *sep = strstr(url, "://");
	struct buf b = BUF_INIT;

	if (sep) {
		const char *host = sep + 3;
		size_t n = strcspn(host, "/@");

		if (host[n] == '@') {
			if (buf_put(&b, url, (size_t)(host - url)) < 0 || buf_puts(&b, host + n + 1) < 0)
				goto fail;
			return buf_detach(&b, NULL);
		}
	}
	if (buf_puts(&b, url) < 0)
		goto fail;
	return buf_detach(&b, NULL);
fail:
	buf_release(&b);
	return NULL;
}

/*
 * Host and port of an SSH URL ("ssh://[user@]host[:port]/p",
 * "[user@]host:path"), for known_hosts.
 */
int repo_url_ssh_host(const char *url, char **ret_host, int *ret_port)
{
	const char *p = url, *end;
	int port = 22;
	char *host;

	if (strstr(url, "://")) {
		p = strstr(url, "://") + 3;
		end = p + strcspn(p, "/");
		for (const char *at = p; at < end; at++)
			if (*at == '@')
				p = at + 1;
		if (*p == '[') {
			const char *close = memchr(p, ']', (size_t)(end - p));

			if (!close)
				return -EINVAL;
			host = strndup(p + 1, (size_t)(close - p - 1));
			p = close + 1;
		} else {
			size_t n = strcspn(p, ":/");

			host = strndup(p, n);
			p += n;
		}
		if (!host)
			return -ENOMEM;
		if (*p == ':' && p + 1 < end) {
			char *e;
			long v = strtol(p + 1, &e, 10);

			if (e != end || v < 1 || v > 65535) {
				free(host);
				return -EINVAL;
			}
			port = (int)v;
		}
	} else {
		const char *colon = strchr(url, ':');
		const char *at = memchr(url, '@', (size_t)(colon - url));

		if (at)
			p = at + 1;
		if (*p == '[') { /* "[::1]:path" */
			const char *close = strchr(p, ']');

			if (!close || close[1] != ':')
				return -EINVAL;
			host = strndup(p + 1, (size_t)(close - p - 1));
		} else {
			host = strndup(p, (size_t)(colon - p));
		}
		if (!host)
			return -ENOMEM;
	}
	if (!*host) {
		free(host);
		return -EINVAL;
	}
	*ret_host = host;
	*ret_port = port;
	return 0;
}

const char *repo_home(void)
{
	const char *h = getenv("HOME");

	return h && *h == '/' ? h : NULL;
}

/* The "host[:port]" part of a scheme://[userinfo@]host[:port]/... URL, or "". */
void repo_url_authority(const char *url, char *out, size_t outsz)
{
	const char *p = strstr(url, "://"), *end, *at;
	size_t n;

	out[0] = '\0';
	if (!p)
		return;
	p += 3;
	end = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(end - p));
	if (at)
		p = at + 1;
	n = (size_t)(end - p);
	if (n >= outsz)
		n = outsz - 1;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)p[i]);
	out[n] = '\0';
}

int repo_state_dir(const struct manifest_repo_options *opt, struct buf *out, struct error *err)
{
	const char *xdg = getenv("XDG_CACHE_HOME");

	if (opt->state_dir && *opt->state_dir)
		return buf_sets(out, opt->state_dir) < 0 ? error_set(err, -ENOMEM, "out of memory") : 0;
	if (xdg && *xdg == '/')
		return buf_printf(out, "%s/aliasd", xdg) < 0 ? error_set(err, -ENOMEM, "out of memory") : 0;
	if (repo_home())
		return buf_printf(out, "%s/.cache/aliasd", repo_home()) < 0
		           ? error_set(err, -ENOMEM, "out of memory")
		           : 0;
	return error_set(err, -EINVAL, "no state directory: set one, or HOME or XDG_CACHE_HOME");
}

/* <state>/git/<name>-<sha256(url)[:40]>.git */
int repo_cache_name(const char *state, const char *stripped, struct buf *out, struct error *err)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	char label[33], hex[2 * REPO_CACHE_HASH_BYTES + 1];
	size_t n = 0, len = strlen(stripped);
	const char *base;

	if (!EVP_Digest(stripped, len, md, &mdlen, EVP_sha256(), NULL))
		return error_set(err, -EIO, "sha256 failed");
	/* a readable label: the last path component without .git */
	while (len > 1 && (stripped[len - 1] == '/'))
		len--;
	base = stripped + len;
	while (base > stripped && base[-1] != '/' && base[-1] != ':')
		base--;
	if (len - (size_t)(base - stripped) > 4 && !strncmp(stripped + len - 4, ".git", 4))
		len -= 4;
	for (const char *p = base; p < stripped + len && n < sizeof(label) - 1; p++)
		if (isalnum((unsigned char)*p) || *p == '-' || *p == '_' || *p == '.')
			label[n++] = *p;
	label[n] = '\0';
	codec_hex_encode(hex, md, REPO_CACHE_HASH_BYTES); /* mdlen is 32 */
	if (buf_printf(out, "%s/git/%s%s%s.git", state, label, n ? "-" : "", hex) < 0)
		return error_set(err, -ENOMEM, "out of memory");
	return 0;
}

/*
 * Is the local path `path` read as a folder (true) or as a Git repository?
 * A bare repository is Git; a working tree or plain folder is a folder unless
 * a ref is given.
 */
int repo_local_kind(const char *path, const char *ref, bool *ret_folder, struct error *err)
{
	git_repository *repo = NULL;
	struct stat st;
	int grc;

	if (stat(path, &st) < 0)
		return error_set(err, -errno, "repository %s: %s", path, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return error_set(err, -ENOTDIR, "repository %s: not a directory", path);
	grc = git_repository_open_ext(&repo, path, GIT_REPOSITORY_OPEN_NO_SEARCH, NULL);
	if (grc == GIT_ENOTFOUND) {
		if (ref)
			return error_set(err, -EINVAL,
			                 "repository %s: a ref is given but it is not a Git repository",
			                 path);
		*ret_folder = true;
		return 0;
	}
	if (grc < 0)
		return repo_git_fail(err, grc, NULL, path);
	*ret_folder = !git_repository_is_bare(repo) && !ref;
	git_repository_free(repo);
	return 0;
}

static int repo_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path) < 0 ? -1 : 0;
}

/*
 * Create the bare cache clone at `path`, atomically: it is initialised under
 * a temporary name and renamed into place, so a concurrent process either
 * sees no repository or a complete one (the loser of a race discards its own).
 */
int repo_cache_create(const char *path, struct error *err)
{
	struct buf tmp = BUF_INIT;
	git_repository *repo = NULL;
	unsigned char rnd[8];
	int rc, grc;

	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		memset(rnd, 0, sizeof(rnd));
	if (buf_printf(&tmp, "%s.tmp-%ld-%02x%02x%02x%02x", path, (long)getpid(), rnd[0], rnd[1], rnd[2],
	               rnd[3]) < 0) {
		rc = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	grc = git_repository_init(&repo, tmp.ptr, 1);
	git_repository_free(repo);
	if (grc < 0) {
		rc = repo_git_fail(err, grc, NULL, "cannot create the cache clone");
		goto out;
	}
	if (rename(tmp.ptr, path) < 0 && errno != EEXIST && errno != ENOTEMPTY) {
		rc = error_set(err, -errno, "cannot create the cache clone %s: %s", path, strerror(errno));
		goto out;
	}
	rc = 0;
out:
	if (tmp.len)
		nftw(tmp.ptr, repo_rm_entry, 16, FTW_DEPTH | FTW_PHYS); /* gone if renamed */
	buf_release(&tmp);
	return rc;
}
