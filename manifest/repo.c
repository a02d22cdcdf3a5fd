/*
 * repo.c - the manifest repository through libgit2 (see repo.h): the handle,
 * libgit2's global set-up, messages without secrets, one-shot snapshots.
 * The other parts are listed in repo_internal.h.
 *
 * libgit2 ownership rules used here and in the other parts: every git_*
 * object is freed with its own _free (git_remote_free, git_repository_free,
 * git_tree_free, ...); the array of git_remote_ls() belongs to the remote and
 * dies with it; git_error_last() is only valid until the next libgit2 call on
 * this thread, so it is copied into our `struct error` at once.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "manifest/repo_internal.h"
#include "util/buf.h"
#include "util/codec.h"
#include "util/error.h"
#include "util/secret.h"

/* ---- libgit2 global state ---------------------------------------------- */

static pthread_once_t repo_git_once = PTHREAD_ONCE_INIT;

static int repo_git_init_rc;

static pthread_mutex_t repo_ca_lock = PTHREAD_MUTEX_INITIALIZER;

static char *repo_ca_current; /* ca_file last given to libgit2 */

static void repo_git_init_once(void)
{
	git_stream_registration reg = {.version = GIT_STREAM_VERSION, .init = repo_stream_new};

	repo_git_init_rc = git_libgit2_init();
	if (repo_git_init_rc < 0)
		return;
	if (git_stream_register(GIT_STREAM_STANDARD, &reg) < 0) {
		git_libgit2_shutdown();
		repo_git_init_rc = -1;
		return;
	}
#ifdef ALIASD_VERSION
	git_libgit2_opts(GIT_OPT_SET_USER_AGENT, "aliasd/" ALIASD_VERSION);
#endif
	/*
	 * Pack files are read through mmap'ed windows that stay mapped (and
	 * resident) until a limit: libgit2's defaults (1 GiB windows, 8 GiB)
	 * kept every zip read from a pack resident, ~180 MiB for 4 x 45 MiB.
	 */
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_SIZE, (size_t)8 << 20);
	git_libgit2_opts(GIT_OPT_SET_MWINDOW_MAPPED_LIMIT, (size_t)32 << 20);
	/*
	 * Trees bigger than 4 KiB (libgit2's default limit) were never kept in
	 * the object cache: every manifest read (git_tree_entry_bypath) parsed
	 * the folder's tree again, and a folder of 10,000 manifests stored as a
	 * delta took 75 s to load instead of 0.7 s.  Such a tree costs ~65 bytes
	 * an entry while its snapshot is open.
	 */
	git_libgit2_opts(GIT_OPT_SET_CACHE_OBJECT_LIMIT, GIT_OBJECT_TREE, (size_t)16 << 20);
}

static int repo_git_init(struct error *err)
{
	pthread_once(&repo_git_once, repo_git_init_once);
	if (repo_git_init_rc < 0)
		return error_set(err, -EIO, "cannot initialise libgit2");
	return 0;
}

void manifest_repo_global_shutdown(void)
{
	pthread_mutex_lock(&repo_ca_lock);
	free(repo_ca_current);
	repo_ca_current = NULL;
	pthread_mutex_unlock(&repo_ca_lock);
	if (repo_git_init_rc > 0) {
		git_libgit2_shutdown();
		repo_git_init_rc = 0;
	}
}

static size_t repo_append(char *dst, size_t dstsz, size_t at, const char *s, size_t n)
{
	if (at + 1 >= dstsz)
		return at;
	if (n > dstsz - 1 - at)
		n = dstsz - 1 - at;
	memcpy(dst + at, s, n);
	dst[at + n] = '\0';
	return at + n;
}

/*
 * Copy `src` to `dst`, replacing every occurrence of `secret` (when non-empty)
 * by "***" and the userinfo of every URL ("scheme://userinfo@") by "***".
 */
static void repo_redact(char *dst, size_t dstsz, const char *src, const char *secret)
{
	size_t at = 0, slen = secret ? strlen(secret) : 0;

	if (!dstsz)
		return;
	dst[0] = '\0';
	while (*src) {
		if (slen && !strncmp(src, secret, slen)) {
			at = repo_append(dst, dstsz, at, "***", 3);
			src += slen;
			continue;
		}
		if (!strncmp(src, "://", 3)) {
			size_t n = strcspn(src + 3, "/@ \t\r\n'\"?#");

			at = repo_append(dst, dstsz, at, "://", 3);
			src += 3;
			if (src[n] == '@') {
				at = repo_append(dst, dstsz, at, "***@", 4);
				src += n + 1;
			}
			continue;
		}
		at = repo_append(dst, dstsz, at, src, 1);
		src++;
	}
}

int repo_fail(struct error *err, int code, const char *secret, const char *fmt, ...)
{
	char raw[ERROR_MSG_MAX], clean[ERROR_MSG_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(raw, sizeof(raw), fmt, ap);
	va_end(ap);
	repo_redact(clean, sizeof(clean), raw, secret);
	return error_set(err, code, "%s", clean);
}

static int repo_git_code(int gitrc)
{
	switch (gitrc) {
	case GIT_ENOTFOUND:
	case GIT_EUNBORNBRANCH:
		return -ENOENT;
	case GIT_EAUTH:
	case GIT_ECERTIFICATE:
	case GIT_EOWNER:
		return -EACCES;
	case GIT_EAMBIGUOUS:
	case GIT_EINVALIDSPEC:
	case GIT_EINVALID:
		return -EINVAL;
	default:
		return -EIO;
	}
}

/* Translate a libgit2 failure, keeping libgit2's message. */
int repo_git_fail(struct error *err, int gitrc, const char *secret, const char *what)
{
	const git_error *e = git_error_last();

	return repo_fail(err, repo_git_code(gitrc), secret, "%s: %s", what,
	                 e && e->message && *e->message ? e->message : "libgit2 error");
}

static char *repo_strdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

bool repo_is_hex(const char *s, size_t min, size_t max)
{
	size_t n = strlen(s);

	if (n < min || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isxdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* "mkdir -p" with mode for the components it creates. */
static int repo_mkdirs(const char *path, mode_t mode)
{
	char tmp[PATH_MAX];
	size_t n = strlen(path);

	if (n == 0 || n >= sizeof(tmp))
		return -ENAMETOOLONG;
	memcpy(tmp, path, n + 1);
	for (char *p = tmp + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(tmp, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* True if `path` is a valid source path (manifest/source.h). */
bool repo_path_ok(const char *path)
{
	const char *p = path;
	size_t n = strlen(path);

	if (n > REPO_PATH_MAX)
		return false;
	if (n == 0)
		return true;
	if (path[0] == '/' || path[n - 1] == '/')
		return false;
	while (*p) {
		size_t c = strcspn(p, "/");

		if (c == 0 || (c == 1 && p[0] == '.') || (c == 2 && p[0] == '.' && p[1] == '.'))
			return false;
		p += c;
		if (*p == '/')
			p++;
	}
	return true;
}

static int repo_ca_set(const char *ca_file, struct error *err)
{
	int rc = 0;

	pthread_mutex_lock(&repo_ca_lock);
	if (!repo_ca_current || strcmp(repo_ca_current, ca_file)) {
		struct stat st;
		/* Keep the system CAs: the file is loaded, then the system directory. */
		const char *sysdir =
		    stat("/etc/ssl/certs", &st) == 0 && S_ISDIR(st.st_mode) ? "/etc/ssl/certs" : NULL;
		int grc = git_libgit2_opts(GIT_OPT_SET_SSL_CERT_LOCATIONS, ca_file, sysdir);

		if (grc < 0) {
			rc = repo_git_fail(err, grc, NULL, "cannot load CA file");
		} else {
			char *dup = strdup(ca_file);

			if (!dup) {
				rc = error_set(err, -ENOMEM, "out of memory");
			} else {
				free(repo_ca_current);
				repo_ca_current = dup;
			}
		}
	}
	pthread_mutex_unlock(&repo_ca_lock);
	return rc;
}

static int repo_ref_check(const char *ref, struct error *err)
{
	char full[REPO_REF_MAX + 32];
	int valid = 0;

	if (!*ref || strlen(ref) > REPO_REF_MAX)
		return error_set(err, -EINVAL, "invalid ref \"%.64s\"", ref);
	if (!strcmp(ref, "HEAD"))
		return 0;
	snprintf(full, sizeof(full), "%s%s", strncmp(ref, "refs/", 5) ? "refs/heads/" : "", ref);
	if (git_reference_name_is_valid(&valid, full) < 0 || !valid)
		return error_set(err, -EINVAL, "invalid ref \"%.64s\"", ref);
	return 0;
}

void manifest_repo_free(struct manifest_repo *r)
{
	if (!r)
		return;
	git_repository_free(r->cache);
	free(r->url);
	free(r->ref);
	secret_free_str(r->token);
	free(r->token_user);
	free(r->ssh_key_file);
	free(r->known_hosts);
	free(r->ssh_host);
	free(r->cache_path);
	free(r->description);
	free(r);
}

int manifest_repo_open(struct manifest_repo **ret, const struct manifest_repo_options *opt, struct error *err)
{
	struct manifest_repo *r = NULL;
	struct buf state = BUF_INIT, cache = BUF_INIT, desc = BUF_INIT;
	char *stripped = NULL, *abs = NULL;
	const char *token;
	int rc, grc;

	if (!opt || !opt->url || !*opt->url)
		return error_set(err, -EINVAL, "no repository URL given");
	if (strlen(opt->url) > REPO_PATH_MAX)
		return error_set(err, -EINVAL, "repository URL too long");
	rc = repo_git_init(err);
	if (rc < 0)
		return rc;
	if (opt->ref) {
		rc = repo_ref_check(opt->ref, err);
		if (rc < 0)
			return rc;
	}
	r = calloc(1, sizeof(*r));
	if (!r)
		return error_set(err, -ENOMEM, "out of memory");
	token = opt->token ? opt->token : getenv("GIT_TOKEN");
	r->kind = repo_url_kind(opt->url);
	r->ssh_port = 22;
	r->timeout_ms = opt->timeout_ms > 0 && opt->timeout_ms < INT_MAX ? (int)opt->timeout_ms : 0;
	if (r->kind == REPO_URL_LOCAL) {
		abs = realpath(opt->url, NULL);
		if (!abs) {
			rc = error_set(err, -errno, "repository %s: %s", opt->url, strerror(errno));
			goto out;
		}
		rc = repo_local_kind(abs, opt->ref, &r->folder, err);
		if (rc < 0)
			goto out;
		r->url = abs;
		abs = NULL;
	} else {
		r->url = strdup(opt->url);
	}
	r->ref = repo_strdup(opt->ref);
	r->token = repo_strdup(token && *token ? token : NULL);
	r->token_user = repo_strdup(opt->token_user);
	r->ssh_key_file = repo_strdup(opt->ssh_key_file);
	r->known_hosts = repo_strdup(opt->ssh_known_hosts_file);
	stripped = repo_url_strip(r->url ? r->url : "");
	if (!r->url || (opt->ref && !r->ref) || (token && *token && !r->token) ||
	    (opt->token_user && !r->token_user) || (opt->ssh_key_file && !r->ssh_key_file) ||
	    (opt->ssh_known_hosts_file && !r->known_hosts) || !stripped) {
		rc = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (r->kind == REPO_URL_SSH) {
		rc = repo_url_ssh_host(r->url, &r->ssh_host, &r->ssh_port);
		if (rc < 0) {
			rc = repo_fail(err, rc == -ENOMEM ? rc : -EINVAL, r->token, "invalid SSH URL %s",
			               stripped);
			goto out;
		}
	}

	if (r->folder) {
		r->cache_path = strdup("");
		r->description = strdup(r->url);
		if (!r->cache_path || !r->description) {
			rc = error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		*ret = r;
		r = NULL;
		rc = 0;
		goto out;
	}

	if (opt->ca_file && *opt->ca_file) {
		rc = repo_ca_set(opt->ca_file, err);
		if (rc < 0)
			goto out;
	}
	{
		char clean[ERROR_MSG_MAX];

		repo_redact(clean, sizeof(clean), r->url, r->token);
		if (buf_printf(&desc, "%s@%s", clean, r->ref ? r->ref : "HEAD") < 0) {
			rc = error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		r->description = buf_detach(&desc, NULL);
	}
	rc = repo_state_dir(opt, &state, err);
	if (rc < 0)
		goto out;
	rc = repo_cache_name(state.ptr, stripped, &cache, err);
	if (rc < 0)
		goto out;
	{
		char *slash = strrchr(cache.ptr, '/');

		*slash = '\0';
		rc = repo_mkdirs(cache.ptr, 0700);
		*slash = '/';
		if (rc < 0) {
			rc = error_set(err, rc, "cannot create state directory %s: %s", state.ptr,
			               strerror(-rc));
			goto out;
		}
	}
	grc = git_repository_open_bare(&r->cache, cache.ptr);
	if (grc == GIT_ENOTFOUND) {
		rc = repo_cache_create(cache.ptr, err);
		if (rc < 0)
			goto out;
		grc = git_repository_open_bare(&r->cache, cache.ptr);
	}
	if (grc < 0) {
		rc = repo_git_fail(err, grc, r->token, "cannot open the cache clone");
		goto out;
	}
	r->cache_path = buf_detach(&cache, NULL);
	if (!r->description || !r->cache_path) {
		rc = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	*ret = r;
	r = NULL;
	rc = 0;
out:
	manifest_repo_free(r);
	free(stripped);
	free(abs);
	buf_release(&state);
	buf_release(&cache);
	buf_release(&desc);
	return rc;
}

void manifest_repo_trim(struct manifest_repo *r)
{
	git_repository *fresh = NULL;

	if (!r || r->folder || !r->cache)
		return;
	if (git_repository_open_bare(&fresh, r->cache_path) < 0)
		return; /* keep the handle it has */
	git_repository_free(r->cache);
	r->cache = fresh;
}

void manifest_repo_set_progress(struct manifest_repo *r, manifest_repo_progress_fn fn, void *arg)
{
	r->progress = fn;
	r->progress_arg = arg;
}

void manifest_repo_cancel(struct manifest_repo *r)
{
	if (r)
		r->canceled = 1;
}

const char *manifest_repo_description(const struct manifest_repo *r)
{
	return r->description;
}

const char *manifest_repo_cache_path(const struct manifest_repo *r)
{
	return r->cache_path;
}

unsigned manifest_repo_download_count(const struct manifest_repo *r)
{
	return r->downloads;
}

int manifest_repo_snapshot(struct manifest_source **ret, const struct manifest_repo_options *opt,
                           struct error *err)
{
	struct manifest_repo *r = NULL;
	char oid[MANIFEST_OID_HEX_SIZE];
	int rc;

	rc = manifest_repo_open(&r, opt, err);
	if (rc < 0)
		return rc;
	rc = manifest_repo_fetch(r, oid, err);
	if (rc >= 0)
		rc = manifest_repo_source(r, oid, ret, err);
	manifest_repo_free(r);
	return rc < 0 ? rc : 0;
}
