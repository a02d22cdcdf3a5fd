/*
 * remote.c - talking to the remote: libgit2's callbacks (credentials, host
 * key and certificate trust, progress and cancel), ref resolution,
 * manifest_repo_remote_head/fetch, and the history check (see repo.h).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>

#include "manifest/known_hosts.h"
#include "manifest/repo_internal.h"
#include "util/buf.h"
#include "util/error.h"

/* State of one network operation, given to libgit2's callbacks. */
struct repo_cb {
	struct manifest_repo *r;
	unsigned userpass_tries, key_tries, username_tries;
	bool auth_refused;   /* the server refused what we sent */
	bool no_credentials; /* the server asked and we have nothing to send */
	bool trust_refused;  /* host key / certificate refused */
	bool too_big;
	bool canceled;
	int key_errno; /* the SSH key file cannot be read (errno) */
	struct error trust_err;
};

static int repo_cb_credentials(git_credential **out, const char *url, const char *username_from_url,
                               unsigned int allowed, void *payload)
{
	struct repo_cb *cb = payload;
	struct manifest_repo *r = cb->r;
	const char *user = username_from_url && *username_from_url ? username_from_url : "git";

	/* the token is for HTTP(S) only: never offered as an SSH password */
	if (r->kind == REPO_URL_HTTP && (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT)) {
		if (!r->token || !*r->token) {
			cb->no_credentials = true;
			git_error_set_str(GIT_ERROR_NET, "authentication required: no token given");
			return GIT_EAUTH;
		}
		{
			/* never hand the token to another server (a redirect) */
			char want[300], asked[300];

			repo_url_authority(r->url, want, sizeof(want));
			repo_url_authority(url ? url : "", asked, sizeof(asked));
			if (strcmp(want, asked)) {
				cb->no_credentials = true;
				git_error_set_str(GIT_ERROR_NET,
				                  "refusing to send the token to another server");
				return GIT_EAUTH;
			}
		}
		if (cb->userpass_tries++) {
			cb->auth_refused = true;
			git_error_set_str(GIT_ERROR_NET, "the token was refused");
			return GIT_EAUTH;
		}
		return git_credential_userpass_plaintext_new(
		    out, r->token_user ? r->token_user : "x-access-token", r->token);
	}
	if (allowed & GIT_CREDENTIAL_SSH_KEY) {
		char def[PATH_MAX];
		const char *key = r->ssh_key_file;

		if (cb->key_tries++) {
			cb->auth_refused = true;
			git_error_set_str(GIT_ERROR_NET, "the SSH key was refused");
			return GIT_EAUTH;
		}
		if (!key && repo_home()) {
			snprintf(def, sizeof(def), "%s/.ssh/id_ed25519", repo_home());
			if (access(def, R_OK) < 0)
				snprintf(def, sizeof(def), "%s/.ssh/id_rsa", repo_home());
			if (access(def, R_OK) == 0)
				key = def;
		}
		if (!key) {
			cb->no_credentials = true;
			git_error_set_str(GIT_ERROR_NET, "authentication required: no SSH key given");
			return GIT_EAUTH;
		}
		/*
		 * A key file that cannot be read is a configuration error: checked
		 * here, else libssh2's failure to open it comes back as a plain
		 * libgit2 error (-EIO, "retry later").
		 */
		if (access(key, R_OK) < 0) {
			cb->key_errno = errno ? errno : EACCES;
			git_error_set_str(GIT_ERROR_NET, "the SSH key file cannot be read");
			return GIT_EAUTH;
		}
		return git_credential_ssh_key_new(out, user, NULL, key, NULL);
	}
	if (allowed & GIT_CREDENTIAL_USERNAME) {
		if (cb->username_tries++) {
			cb->auth_refused = true;
			git_error_set_str(GIT_ERROR_NET, "the user name was refused");
			return GIT_EAUTH;
		}
		return git_credential_username_new(out, user);
	}
	cb->no_credentials = true;
	git_error_set_str(GIT_ERROR_NET, "the server asks for an unsupported kind of authentication");
	return GIT_EAUTH;
}

static int repo_cb_certificate(git_cert *cert, int valid, const char *host, void *payload)
{
	struct repo_cb *cb = payload;
	struct manifest_repo *r = cb->r;

	if (cert->cert_type == GIT_CERT_HOSTKEY_LIBSSH2) {
		const git_cert_hostkey *hk = (const git_cert_hostkey *)cert;
		char def[PATH_MAX];
		const char *file = r->known_hosts;
		int rc;

		if (!file) {
			if (!repo_home()) {
				error_set(&cb->trust_err, -EACCES, "no known_hosts file: HOME is not set");
				goto refuse;
			}
			snprintf(def, sizeof(def), "%s/.ssh/known_hosts", repo_home());
			file = def;
		}
		if (!(hk->type & GIT_CERT_SSH_RAW) || !hk->hostkey || !hk->hostkey_len) {
			error_set(&cb->trust_err, -EACCES, "the SSH server's raw host key is not available");
			goto refuse;
		}
		rc = manifest_repo_known_hosts_check(file, r->ssh_host ? r->ssh_host : host, r->ssh_port,
		                                     (const unsigned char *)hk->hostkey, hk->hostkey_len,
		                                     &cb->trust_err);
		if (rc == 0)
			return 0;
		if (rc == -ENOENT)
			cb->trust_err.code = -EACCES;
		goto refuse;
	}
	if (valid)
		return 0;
	{
		/* libgit2's verification result (e.g. "not correctly signed by the trusted CA") */
		const git_error *e = git_error_last();

		error_set(&cb->trust_err, -EACCES, "the TLS certificate of %s is not trusted%s%.300s",
		          host ? host : "?", e && e->message && *e->message ? ": " : "",
		          e && e->message ? e->message : "");
	}
refuse:
	cb->trust_refused = true;
	git_error_set_str(GIT_ERROR_SSL, cb->trust_err.msg);
	return GIT_ECERTIFICATE;
}

/* Progress of any kind: feed the caller's watchdog, honour a cancel. */
static int repo_cb_alive(struct repo_cb *cb, uint64_t received_bytes)
{
	if (cb->r->canceled) {
		cb->canceled = true;
		git_error_set_str(GIT_ERROR_NET, "canceled");
		return -1;
	}
	if (cb->r->progress)
		cb->r->progress(cb->r->progress_arg, received_bytes);
	return 0;
}

static int repo_cb_sideband(const char *str, int len, void *payload)
{
	(void)str;
	(void)len;
	return repo_cb_alive(payload, 0);
}

static int repo_cb_progress(const git_indexer_progress *stats, void *payload)
{
	struct repo_cb *cb = payload;

	if (repo_cb_alive(cb, stats->received_bytes) < 0)
		return -1;
	if (stats->received_bytes > REPO_FETCH_BYTES_MAX) {
		cb->too_big = true;
		git_error_set_str(GIT_ERROR_NET, "the download exceeds the size limit");
		return -1;
	}
	return 0;
}

static void repo_callbacks(git_remote_callbacks *cbs, struct repo_cb *cb, struct manifest_repo *r)
{
	memset(cb, 0, sizeof(*cb));
	cb->r = r;
	git_remote_init_callbacks(cbs, GIT_REMOTE_CALLBACKS_VERSION);
	cbs->credentials = repo_cb_credentials;
	cbs->certificate_check = repo_cb_certificate;
	cbs->transfer_progress = repo_cb_progress;
	cbs->sideband_progress = repo_cb_sideband;
	cbs->payload = cb;
}

/* Translate the failure of a network operation. */
static int repo_net_fail(struct manifest_repo *r, struct repo_cb *cb, int gitrc, const char *what,
                         struct error *err)
{
	char m[ERROR_MSG_MAX];

	if (cb->canceled || r->canceled)
		return repo_fail(err, -ECANCELED, r->token, "%s %s: canceled", what, r->description);
	if (cb->trust_refused) {
		snprintf(m, sizeof(m), "%s", cb->trust_err.msg);
		return repo_fail(err, -EACCES, r->token, "%s %s: %s", what, r->description, m);
	}
	if (cb->key_errno)
		return repo_fail(err, -EACCES, r->token, "%s %s: cannot read the SSH key file %s: %s", what,
		                 r->description, r->ssh_key_file ? r->ssh_key_file : "?",
		                 strerror(cb->key_errno));
	if (cb->auth_refused)
		return repo_fail(err, -EACCES, r->token, "%s %s: authentication failed (%s)", what,
		                 r->description,
		                 cb->userpass_tries ? "the token was refused" : "the SSH key was refused");
	if (cb->no_credentials)
		return repo_fail(err, -EACCES, r->token, "%s %s: the server requires authentication (%s)",
		                 what, r->description,
		                 r->kind == REPO_URL_HTTP ? "set a token" : "set an SSH key");
	if (repo_io_watch_fired(m, sizeof(m)))
		return repo_fail(err, -ETIMEDOUT, r->token, "%s %s: %s", what, r->description, m);
	if (repo_io_timed_out()) {
		const git_error *e = git_error_last();

		return repo_fail(err, -ETIMEDOUT, r->token, "%s %s: %s", what, r->description,
		                 e && e->message ? e->message : "timed out");
	}
	if (cb->too_big)
		return repo_fail(err, -E2BIG, r->token, "%s %s: more than %llu bytes to download", what,
		                 r->description, (unsigned long long)REPO_FETCH_BYTES_MAX);
	snprintf(m, sizeof(m), "%s %s", what, r->description);
	return repo_git_fail(err, gitrc, r->token, m);
}

/* What the ref resolved to on the remote. */
struct repo_target {
	char name[REPO_NAME_BUF]; /* remote ref name, e.g. "refs/heads/main" or "HEAD"; "" = commit id */
	git_oid raw;              /* what the ref points at (a tag object for annotated tags) */
	git_oid peeled;           /* its commit, when advertised */
	bool has_peeled;
};

static const git_remote_head *repo_head_find(const git_remote_head **heads, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(heads[i]->name, name))
			return heads[i];
	return NULL;
}

/* Match the configured ref against the advertised refs; -ENOENT if none. */
static int repo_target_match(const struct manifest_repo *r, const git_remote_head **heads, size_t n,
                             struct repo_target *t)
{
	char cands[2][REPO_NAME_BUF];
	char peel[REPO_NAME_BUF + 8];
	int nc = 0;

	if (!r->ref || !strcmp(r->ref, "HEAD")) {
		snprintf(cands[nc++], sizeof(cands[0]), "HEAD");
	} else if (!strncmp(r->ref, "refs/", 5)) {
		snprintf(cands[nc++], sizeof(cands[0]), "%s", r->ref);
	} else {
		snprintf(cands[nc++], sizeof(cands[0]), "refs/heads/%s", r->ref);
		snprintf(cands[nc++], sizeof(cands[0]), "refs/tags/%s", r->ref);
	}
	for (int i = 0; i < nc; i++) {
		const git_remote_head *h = repo_head_find(heads, n, cands[i]), *p;

		if (!h)
			continue;
		size_t len = strnlen(cands[i], sizeof(cands[i]) - 1);

		memcpy(t->name, cands[i], len);
		t->name[len] = '\0';
		git_oid_cpy(&t->raw, &h->oid);
		memcpy(peel, cands[i], len);
		memcpy(peel + len, "^{}", 4);
		p = repo_head_find(heads, n, peel);
		t->has_peeled = p != NULL;
		if (p)
			git_oid_cpy(&t->peeled, &p->oid);
		return 0;
	}
	return -ENOENT;
}

static int repo_connect(struct manifest_repo *r, git_remote **ret, struct repo_cb *cb,
                        git_remote_callbacks *cbs, struct error *err)
{
	git_remote_create_options copts;
	git_remote *remote = NULL;
	int grc;

	repo_callbacks(cbs, cb, r);
	/*
	 * No url.<base>.insteadOf rewriting: the cache's config is ours, and
	 * libgit2 1.5's config regex matching leaks pcre2 match data per entry
	 * (fixed upstream in libgit2 PR 6382), which a daemon would pay per poll.
	 */
	git_remote_create_options_init(&copts, GIT_REMOTE_CREATE_OPTIONS_VERSION);
	copts.repository = r->cache;
	copts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
	grc = git_remote_create_with_opts(&remote, r->url, &copts);
	if (grc < 0)
		return repo_git_fail(err, grc, r->token, "invalid repository URL");
	grc = git_remote_connect(remote, GIT_DIRECTION_FETCH, cbs, NULL, NULL);
	if (grc < 0) {
		int rc = repo_net_fail(r, cb, grc, "cannot connect to", err);

		git_remote_free(remote);
		return rc;
	}
	*ret = remote;
	return 0;
}

/* Look up a commit id (full or abbreviated) in the cache; -ENOENT if absent. */
static int repo_commit_local(struct manifest_repo *r, const char *hex, git_oid *ret, struct error *err)
{
	git_oid prefix;
	git_object *obj = NULL, *commit = NULL;
	size_t len = strlen(hex);
	int grc, rc;

	grc = git_oid_fromstrn(&prefix, hex, len);
	if (grc < 0)
		return repo_git_fail(err, grc, NULL, "invalid commit id");
	grc = git_object_lookup_prefix(&obj, r->cache, &prefix, len, GIT_OBJECT_ANY);
	if (grc == GIT_ENOTFOUND)
		return error_set(err, -ENOENT, "commit %s not found in %s", hex, r->description);
	if (grc == GIT_EAMBIGUOUS)
		return error_set(err, -EINVAL, "commit id %s is ambiguous in %s", hex, r->description);
	if (grc < 0)
		return repo_git_fail(err, grc, r->token, "cannot look up commit");
	grc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
	if (grc < 0) {
		rc = error_set(err, -EINVAL, "%s does not name a commit in %s", hex, r->description);
		goto out;
	}
	git_oid_cpy(ret, git_object_id(commit));
	rc = 0;
out:
	git_object_free(commit);
	git_object_free(obj);
	return rc;
}

static bool repo_has_object(struct manifest_repo *r, const git_oid *oid)
{
	git_odb *odb = NULL;
	bool has = false;

	if (git_repository_odb(&odb, r->cache) == 0)
		has = git_odb_exists(odb, oid) == 1;
	git_odb_free(odb);
	return has;
}

/*
 * Download with `refspecs` on a connected remote and update the cache's refs.
 */
static int repo_download(struct manifest_repo *r, git_remote *remote, struct repo_cb *cb,
                         git_remote_callbacks *cbs, char **specs, size_t nspecs, bool update_tips,
                         struct error *err)
{
	git_fetch_options fo;
	git_strarray arr = {specs, nspecs};
	int grc;

	git_fetch_options_init(&fo, GIT_FETCH_OPTIONS_VERSION);
	fo.callbacks = *cbs;
	fo.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;
	fo.prune = GIT_FETCH_NO_PRUNE;
	fo.update_fetchhead = 0;
	grc = git_remote_download(remote, &arr, &fo);
	if (grc < 0)
		return repo_net_fail(r, cb, grc, "cannot fetch", err);
	r->downloads++;
	/*
	 * The refs only anchor what was fetched; the caller looks objects up by
	 * id.  Another process updating the same refs (a lock) is no failure.
	 */
	if (update_tips)
		(void)git_remote_update_tips(remote, cbs, 0, GIT_REMOTE_DOWNLOAD_TAGS_NONE, "aliasd fetch");
	return 1;
}

/*
 * Point the cache's ref `name` at `oid`, waiting (bounded) while another
 * process holds the ref's lock.
 */
static int repo_ref_set(struct manifest_repo *r, const char *name, const git_oid *oid, struct error *err)
{
	for (int attempt = 0;; attempt++) {
		git_reference *ref = NULL;
		git_oid cur;
		int grc;

		if (git_reference_name_to_id(&cur, r->cache, name) == 0 && git_oid_equal(&cur, oid))
			return 0;
		grc = git_reference_create(&ref, r->cache, name, oid, 1, "aliasd fetch");
		git_reference_free(ref);
		if (grc == 0)
			return 0;
		if (grc != GIT_ELOCKED || attempt >= 200)
			return repo_git_fail(err, grc, r->token, "cannot update the cache's ref");
		nanosleep(&(struct timespec){.tv_nsec = 5000000 + (attempt % 7) * 1000000}, NULL);
	}
}

/* Peel `oid` (a commit or a tag) in the cache to its commit. */
static int repo_peel_commit(struct manifest_repo *r, const git_oid *oid, git_oid *ret, struct error *err)
{
	git_object *obj = NULL, *commit = NULL;
	char hex[MANIFEST_OID_HEX_SIZE];
	int grc, rc;

	git_oid_tostr(hex, sizeof(hex), oid);
	grc = git_object_lookup(&obj, r->cache, oid, GIT_OBJECT_ANY);
	if (grc < 0)
		return repo_fail(err, -EIO, r->token, "%s: object %s missing after the fetch", r->description,
		                 hex);
	grc = git_object_peel(&commit, obj, GIT_OBJECT_COMMIT);
	if (grc < 0) {
		rc = repo_fail(err, -EINVAL, r->token, "%s: %s does not point to a commit", r->description,
		               hex);
		goto out;
	}
	git_oid_cpy(ret, git_object_id(commit));
	rc = 0;
out:
	git_object_free(commit);
	git_object_free(obj);
	return rc;
}

/*
 * The core of remote_head and fetch: list the remote's refs, resolve the ref,
 * and (fetch) make sure the commit is in the cache.  Returns 1 if objects
 * were downloaded, else 0.
 */
static int repo_resolve(struct manifest_repo *r, bool fetch, char ret_oid[MANIFEST_OID_HEX_SIZE],
                        struct error *err)
{
	git_remote *remote = NULL;
	git_remote_callbacks cbs;
	struct repo_cb cb;
	struct repo_target t;
	const git_remote_head **heads = NULL;
	size_t nheads = 0;
	git_oid result;
	bool hexref = r->ref && repo_is_hex(r->ref, 4, 40);
	struct repo_watch watch;
	bool watching = false;
	int rc, grc, downloaded = 0;

	memset(&t, 0, sizeof(t));
	if (r->folder) {
		ret_oid[0] = '\0';
		return 0;
	}
	if (r->canceled)
		return repo_fail(err, -ECANCELED, r->token, "%s: canceled", r->description);
	/* A full commit id already in the cache: no network at all. */
	if (hexref && strlen(r->ref) == 40) {
		rc = repo_commit_local(r, r->ref, &result, NULL);
		if (rc == 0)
			goto done;
	}
	repo_io_begin(r->timeout_ms, &r->canceled, r->progress, r->progress_arg);
	if (r->kind == REPO_URL_SSH) {
		/* libssh2 does the SSH I/O: the timeouts and the cancel come from the watchdog */
		rc = repo_io_watch_begin(&watch);
		if (rc < 0) {
			repo_io_end();
			return error_set(err, -EIO, "cannot set up the SSH timeout watchdog: %s",
			                 strerror(-rc));
		}
		watching = true;
	}
	rc = repo_connect(r, &remote, &cb, &cbs, err);
	if (rc < 0)
		goto out;
	grc = git_remote_ls(&heads, &nheads, remote);
	if (grc < 0) {
		rc = repo_net_fail(r, &cb, grc, "cannot list refs of", err);
		goto out;
	}
	rc = (hexref && strlen(r->ref) == 40) ? -ENOENT : repo_target_match(r, heads, nheads, &t);
	if (rc == -ENOENT && hexref) {
		/* a commit id: in the cache already, or fetch every branch and tag */
		char *specs[] = {"+refs/heads/*:refs/aliasd/refs/heads/*",
		                 "+refs/tags/*:refs/aliasd/refs/tags/*"};

		rc = repo_commit_local(r, r->ref, &result, NULL);
		if (rc == 0)
			goto done;
		rc = repo_download(r, remote, &cb, &cbs, specs, 2, true, err);
		if (rc < 0)
			goto out;
		downloaded = 1;
		rc = repo_commit_local(r, r->ref, &result, err);
		if (rc < 0) {
			if (rc == -ENOENT)
				rc = error_set(err, -ENOENT,
				               "commit %s not found on %s (no branch or tag reaches it)",
				               r->ref, r->description);
			goto out;
		}
		goto done;
	}
	if (rc == -ENOENT) {
		if (!r->ref || !strcmp(r->ref, "HEAD"))
			rc = repo_fail(err, -ENOENT, r->token,
			               "%s: the remote has no HEAD (empty repository?)", r->description);
		else
			rc = repo_fail(err, -ENOENT, r->token, "%s: no branch, tag or ref named \"%s\"",
			               r->description, r->ref);
		goto out;
	}

	if (!fetch) {
		/* ls-remote only: the advertised commit, or peel locally if we can */
		if (t.has_peeled) {
			git_oid_cpy(&result, &t.peeled);
		} else {
			git_object *obj = NULL, *commit = NULL;

			git_oid_cpy(&result, &t.raw);
			if (git_object_lookup(&obj, r->cache, &t.raw, GIT_OBJECT_ANY) == 0 &&
			    git_object_peel(&commit, obj, GIT_OBJECT_COMMIT) == 0)
				git_oid_cpy(&result, git_object_id(commit));
			git_object_free(commit);
			git_object_free(obj);
		}
		goto done;
	}

	{
		char local[REPO_NAME_BUF + 16], spec[2 * REPO_NAME_BUF + 40];
		char *specs[1] = {spec};

		snprintf(local, sizeof(local), "refs/aliasd/%s", t.name);
		if (!repo_has_object(r, &t.raw) || (t.has_peeled && !repo_has_object(r, &t.peeled))) {
			snprintf(spec, sizeof(spec), "+%s:%s", t.name, local);
			rc = repo_download(r, remote, &cb, &cbs, specs, 1, false, err);
			if (rc < 0)
				goto out;
			downloaded = 1;
		}
		rc = repo_peel_commit(r, &t.raw, &result, err);
		if (rc < 0)
			goto out;
		rc = repo_ref_set(r, local, &t.raw, err);
		if (rc < 0)
			goto out;
	}
done:
	git_oid_tostr(ret_oid, MANIFEST_OID_HEX_SIZE, &result);
	rc = downloaded;
out:
	if (remote) {
		git_remote_disconnect(remote);
		git_remote_free(remote);
	}
	if (watching)
		repo_io_watch_end(&watch); /* after git_remote_free: the streams are gone */
	repo_io_end();
	return rc;
}

int manifest_repo_remote_head(struct manifest_repo *r, char ret_oid[MANIFEST_OID_HEX_SIZE], struct error *err)
{
	char oid[MANIFEST_OID_HEX_SIZE];
	int rc = repo_resolve(r, false, oid, err);

	if (rc < 0)
		return rc;
	memcpy(ret_oid, oid, sizeof(oid));
	return 0;
}

int manifest_repo_fetch(struct manifest_repo *r, char ret_oid[MANIFEST_OID_HEX_SIZE], struct error *err)
{
	char oid[MANIFEST_OID_HEX_SIZE];
	int rc = repo_resolve(r, true, oid, err);

	if (rc < 0)
		return rc;
	memcpy(ret_oid, oid, sizeof(oid));
	return rc;
}

/* A full commit id that the cache holds, as a commit: 0, -EINVAL or -ENOENT. */
static int repo_commit_known(struct manifest_repo *r, const char *hex, const char *what, git_oid *ret,
                             struct error *err)
{
	git_commit *commit = NULL;
	int grc;

	if (!hex || !repo_is_hex(hex, 40, 40))
		return error_set(err, -EINVAL, "%s: a full commit id is required, not \"%.64s\"", what,
		                 hex ? hex : "(null)");
	git_oid_fromstr(ret, hex);
	grc = git_commit_lookup(&commit, r->cache, ret);
	git_commit_free(commit);
	if (grc == GIT_ENOTFOUND || grc == GIT_EINVALIDSPEC)
		return error_set(err, -ENOENT, "%s commit %s is not in the cache of %s", what, hex,
		                 r->description);
	if (grc < 0)
		return repo_git_fail(err, grc, r->token, "cannot look up a commit");
	return 0;
}

int manifest_repo_descends_from(struct manifest_repo *r, const char *oid, const char *ancestor,
                                struct error *err)
{
	git_oid a, b;
	int rc, grc;

	if (r->folder)
		return error_set(err, -EINVAL, "%s is a folder: it has no history", r->description);
	rc = repo_commit_known(r, oid, "new", &a, err);
	if (rc < 0)
		return rc;
	rc = repo_commit_known(r, ancestor, "old", &b, err);
	if (rc < 0)
		return rc;
	if (git_oid_equal(&a, &b))
		return 1;
	grc = git_graph_descendant_of(r->cache, &a, &b);
	if (grc < 0) /* a commit reachable from `oid` is missing (shallow or broken cache) */
		return repo_git_fail(err, grc, r->token, "cannot walk the history");
	return grc ? 1 : 0;
}
