/*
 * tree.c - one commit's tree as a struct manifest_source (see source.h):
 * list, stat and read straight from the cache clone's object store.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <git2.h>

#include "manifest/repo_internal.h"
#include "util/buf.h"
#include "util/error.h"

/*
 * The repository handle and the root tree are opened on first use and may
 * be closed between uses (manifest_source_trim): a handle keeps libgit2's
 * object cache (a folder of 10,000 manifests is a tree of ~0.7 MB) and the
 * pack files open, mapped and resident, which a daemon holding a commit for
 * hours does not need between its rare zip reads.  `lock` guards repo, root
 * and users; the reads themselves run unlocked, as before.
 */
struct repo_tree {
	pthread_mutex_t lock;
	git_repository *repo; /* NULL: closed */
	git_tree *root;
	unsigned users;  /* operations in progress: never closed under them */
	char *repo_path; /* to open it again */
	git_oid tree_id; /* of root */
};

static struct repo_tree *repo_tree_of(struct manifest_source *src)
{
	return src->impl;
}

static struct repo_tree *repo_tree_new(void)
{
	struct repo_tree *t = calloc(1, sizeof(*t));

	if (t)
		pthread_mutex_init(&t->lock, NULL);
	return t;
}

/* Open (if closed) and hold the handle for one operation: 0, or a negative errno with `err` set. */
static int repo_tree_use(struct repo_tree *t, struct error *err)
{
	int grc = 0;

	pthread_mutex_lock(&t->lock);
	if (!t->repo) {
		grc = git_repository_open_bare(&t->repo, t->repo_path);
		if (grc == 0)
			grc = git_tree_lookup(&t->root, t->repo, &t->tree_id);
		if (grc < 0) {
			git_tree_free(t->root);
			git_repository_free(t->repo);
			t->root = NULL;
			t->repo = NULL;
		}
	}
	if (grc == 0)
		t->users++;
	pthread_mutex_unlock(&t->lock);
	return grc < 0 ? repo_git_fail(err, grc, NULL, "cannot open the cache clone again") : 0;
}

static void repo_tree_done(struct repo_tree *t)
{
	pthread_mutex_lock(&t->lock);
	t->users--;
	pthread_mutex_unlock(&t->lock);
}

static bool repo_yaml_name(const char *name)
{
	size_t n = strlen(name);

	return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

static bool repo_entry_name_ok(const char *name)
{
	return *name && strcmp(name, ".") && strcmp(name, "..") && !strchr(name, '/');
}

struct repo_list {
	git_repository *repo;
	struct buf path;
	char **items;
	size_t n, alloc;
	size_t visited;
	struct error *err;
};

static int repo_list_add(struct repo_list *l)
{
	char *dup;

	if (l->n >= REPO_LIST_MAX)
		return error_set(l->err, -E2BIG, "more than %d manifest files", REPO_LIST_MAX);
	if (l->n == l->alloc) {
		size_t na = l->alloc ? l->alloc * 2 : 16;
		char **ni = realloc(l->items, na * sizeof(*ni));

		if (!ni)
			return error_set(l->err, -ENOMEM, "out of memory");
		l->items = ni;
		l->alloc = na;
	}
	dup = strdup(l->path.ptr);
	if (!dup)
		return error_set(l->err, -ENOMEM, "out of memory");
	l->items[l->n++] = dup;
	return 0;
}

static int repo_list_walk(struct repo_list *l, const git_tree *tree, unsigned depth)
{
	size_t count = git_tree_entrycount(tree), base = l->path.len;
	int rc = 0;

	if (depth > REPO_TREE_DEPTH_MAX)
		return error_set(l->err, -E2BIG, "directories nested deeper than %d levels",
		                 REPO_TREE_DEPTH_MAX);
	for (size_t i = 0; i < count && rc == 0; i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		const char *name = git_tree_entry_name(e);
		git_filemode_t mode = git_tree_entry_filemode(e);

		if (++l->visited > REPO_TREE_VISIT_MAX)
			return error_set(l->err, -E2BIG, "more than %d tree entries", REPO_TREE_VISIT_MAX);
		if (!repo_entry_name_ok(name))
			return error_set(l->err, -EBADMSG, "invalid name in Git tree: \"%.64s\"", name);
		buf_truncate(&l->path, base);
		if ((base && buf_putc(&l->path, '/') < 0) || buf_puts(&l->path, name) < 0)
			return error_set(l->err, -E2BIG, "path too long");
		if (l->path.len > REPO_PATH_MAX)
			return error_set(l->err, -E2BIG, "path too long: %.64s...", l->path.ptr);
		if (mode == GIT_FILEMODE_TREE) {
			git_tree *sub = NULL;
			int grc = git_tree_lookup(&sub, l->repo, git_tree_entry_id(e));

			if (grc < 0)
				return repo_git_fail(l->err, grc, NULL, "cannot read tree");
			rc = repo_list_walk(l, sub, depth + 1);
			git_tree_free(sub);
		} else if ((mode == GIT_FILEMODE_BLOB || mode == GIT_FILEMODE_BLOB_EXECUTABLE) &&
		           repo_yaml_name(name)) {
			rc = repo_list_add(l);
		}
	}
	buf_truncate(&l->path, base);
	return rc;
}

static int repo_cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Find `path` ("" = root). -EINVAL bad path, -ENOENT missing (no message). */
static int repo_tree_entry(struct repo_tree *t, const char *path, git_tree_entry **ret, struct error *err)
{
	int grc;

	if (!repo_path_ok(path))
		return error_set(err, -EINVAL, "invalid path \"%.128s\"", path);
	grc = git_tree_entry_bypath(ret, t->root, path);
	if (grc == GIT_ENOTFOUND)
		return -ENOENT;
	if (grc < 0)
		return repo_git_fail(err, grc, NULL, path);
	return 0;
}

/*
 * `path` was not found: is a symlink or a submodule in the way?  Returns the
 * filemode of the first such component, 0 if none.
 */
static git_filemode_t repo_tree_blocker(struct repo_tree *t, const char *path)
{
	char prefix[REPO_PATH_MAX + 1];
	const char *slash = path;
	git_filemode_t mode = 0;

	while ((slash = strchr(slash, '/'))) {
		git_tree_entry *e = NULL;
		size_t n = (size_t)(slash - path);

		memcpy(prefix, path, n);
		prefix[n] = '\0';
		slash++;
		if (git_tree_entry_bypath(&e, t->root, prefix) < 0)
			break;
		mode = git_tree_entry_filemode(e);
		git_tree_entry_free(e);
		if (mode != GIT_FILEMODE_TREE)
			return mode == GIT_FILEMODE_LINK || mode == GIT_FILEMODE_COMMIT ? mode : 0;
	}
	return 0;
}

static int repo_src_list_open(struct manifest_source *src, const char *dir, char ***ret_paths, size_t *ret_n,
                              struct error *err)
{
	struct repo_tree *t = repo_tree_of(src);
	struct repo_list l = {.repo = t->repo, .path = BUF_INIT_CAP(REPO_PATH_MAX + 256), .err = err};
	git_tree_entry *e = NULL;
	git_tree *tree = NULL;
	const git_tree *start = t->root;
	int rc, grc;

	if (!dir)
		dir = "";
	if (*dir) {
		rc = repo_tree_entry(t, dir, &e, err);
		if (rc == -ENOENT || (rc == 0 && git_tree_entry_filemode(e) != GIT_FILEMODE_TREE)) {
			rc = error_set(err, -ENOENT, "%s: no such directory in %s", dir, src->description);
			goto out;
		}
		if (rc < 0)
			goto out;
		grc = git_tree_lookup(&tree, t->repo, git_tree_entry_id(e));
		if (grc < 0) {
			rc = repo_git_fail(err, grc, NULL, dir);
			goto out;
		}
		start = tree;
		if (buf_puts(&l.path, dir) < 0) {
			rc = error_set(err, -E2BIG, "path too long");
			goto out;
		}
	}
	rc = repo_list_walk(&l, start, 0);
	if (rc < 0)
		goto out;
	if (l.n)
		qsort(l.items, l.n, sizeof(*l.items), repo_cmp_str);
	*ret_paths = l.items;
	*ret_n = l.n;
	l.items = NULL;
	l.n = 0;
	rc = 0;
out:
	for (size_t i = 0; i < l.n; i++)
		free(l.items[i]);
	free(l.items);
	buf_release(&l.path);
	git_tree_free(tree);
	git_tree_entry_free(e);
	return rc;
}

static int repo_blob_size(struct repo_tree *t, const git_oid *id, uint64_t *ret, struct error *err)
{
	git_odb *odb = NULL;
	git_object_t type;
	size_t len = 0;
	int grc;

	grc = git_repository_odb(&odb, t->repo);
	if (grc == 0)
		grc = git_odb_read_header(&len, &type, odb, id);
	git_odb_free(odb);
	if (grc < 0)
		return repo_git_fail(err, grc, NULL, "cannot read object header");
	if (type != GIT_OBJECT_BLOB)
		return error_set(err, -EBADMSG, "object is not a blob");
	*ret = len;
	return 0;
}

static int repo_src_stat_open(struct manifest_source *src, const char *path, enum source_type *ret_type,
                              uint64_t *ret_size, struct error *err)
{
	struct repo_tree *t = repo_tree_of(src);
	git_tree_entry *e = NULL;
	enum source_type type;
	uint64_t size = 0;
	int rc;

	if (path && !*path) {
		*ret_type = SOURCE_DIR;
		*ret_size = 0;
		return 0;
	}
	rc = repo_tree_entry(t, path ? path : "", &e, err);
	if (rc == -ENOENT) {
		/* like the folder source: a path behind a symlink reports the symlink */
		switch (repo_tree_blocker(t, path)) {
		case GIT_FILEMODE_LINK:
			*ret_type = SOURCE_SYMLINK;
			break;
		case GIT_FILEMODE_COMMIT:
			*ret_type = SOURCE_SUBMODULE;
			break;
		default:
			*ret_type = SOURCE_MISSING;
			break;
		}
		*ret_size = 0;
		return 0;
	}
	if (rc < 0)
		return rc;
	switch (git_tree_entry_filemode(e)) {
	case GIT_FILEMODE_TREE:
		type = SOURCE_DIR;
		break;
	case GIT_FILEMODE_BLOB:
	case GIT_FILEMODE_BLOB_EXECUTABLE:
		type = SOURCE_FILE;
		rc = repo_blob_size(t, git_tree_entry_id(e), &size, err);
		break;
	case GIT_FILEMODE_LINK:
		type = SOURCE_SYMLINK;
		break;
	case GIT_FILEMODE_COMMIT:
		type = SOURCE_SUBMODULE;
		break;
	default:
		type = SOURCE_OTHER;
		break;
	}
	git_tree_entry_free(e);
	if (rc < 0)
		return rc;
	*ret_type = type;
	*ret_size = size;
	return 0;
}

/* The entry of regular file `path` of at most `max` bytes (the caller frees it) and its size. */
static int repo_file_entry(struct manifest_source *src, const char *path, size_t max, git_tree_entry **ret,
                           uint64_t *ret_size, struct error *err)
{
	struct repo_tree *t = repo_tree_of(src);
	git_tree_entry *e = NULL;
	uint64_t size = 0;
	int rc;

	if (!path)
		return error_set(err, -EINVAL, "no path");
	if (!*path)
		return error_set(err, -EISDIR, "the repository root is a directory");
	rc = repo_tree_entry(t, path, &e, err);
	if (rc == -ENOENT) {
		switch (repo_tree_blocker(t, path)) {
		case GIT_FILEMODE_LINK:
			return error_set(err, -ELOOP, "%s: a symbolic link is in the way (not followed)",
			                 path);
		case GIT_FILEMODE_COMMIT:
			return error_set(err, -EINVAL, "%s: a submodule is in the way (not followed)", path);
		default:
			return error_set(err, -ENOENT, "%s: no such file in %s", path, src->description);
		}
	}
	if (rc < 0)
		return rc;
	switch (git_tree_entry_filemode(e)) {
	case GIT_FILEMODE_BLOB:
	case GIT_FILEMODE_BLOB_EXECUTABLE:
		break;
	case GIT_FILEMODE_TREE:
		rc = error_set(err, -EISDIR, "%s: is a directory", path);
		goto out;
	case GIT_FILEMODE_LINK:
		rc = error_set(err, -ELOOP, "%s: is a symbolic link (not followed)", path);
		goto out;
	case GIT_FILEMODE_COMMIT:
		rc = error_set(err, -EINVAL, "%s: is a submodule (not followed)", path);
		goto out;
	default:
		rc = error_set(err, -EINVAL, "%s: is not a regular file", path);
		goto out;
	}
	rc = repo_blob_size(t, git_tree_entry_id(e), &size, err);
	if (rc < 0)
		goto out;
	if (size > max) {
		rc = error_set(err, -E2BIG, "%s: %llu bytes, more than the limit of %zu", path,
		               (unsigned long long)size, max);
		goto out;
	}
	*ret = e;
	*ret_size = size;
	return 0;
out:
	git_tree_entry_free(e);
	return rc;
}

static int repo_src_check_open(struct manifest_source *src, const char *path, size_t max, uint64_t *ret_size,
                               struct error *err)
{
	git_tree_entry *e = NULL;
	int rc = repo_file_entry(src, path, max, &e, ret_size, err);

	git_tree_entry_free(e);
	return rc;
}

static int repo_src_read_open(struct manifest_source *src, const char *path, size_t max, struct buf *out,
                              struct error *err)
{
	struct repo_tree *t = repo_tree_of(src);
	git_tree_entry *e = NULL;
	git_blob *blob = NULL;
	uint64_t size = 0;
	int rc, grc;

	rc = repo_file_entry(src, path, max, &e, &size, err);
	if (rc < 0)
		return rc;
	grc = git_blob_lookup(&blob, t->repo, git_tree_entry_id(e));
	if (grc < 0) {
		rc = repo_git_fail(err, grc, NULL, path);
		goto out;
	}
	if ((uint64_t)git_blob_rawsize(blob) != size) {
		rc = error_set(err, -EBADMSG, "%s: blob size changed while reading", path);
		goto out;
	}
	rc = buf_put(out, git_blob_rawcontent(blob), (size_t)size);
	if (rc < 0) {
		rc = error_set(err, rc, "%s: %s", path,
		               rc == -E2BIG ? "too large for the buffer" : "out of memory");
		goto out;
	}
	rc = 0;
out:
	git_blob_free(blob);
	git_tree_entry_free(e);
	return rc;
}

static void repo_src_free(struct manifest_source *src)
{
	struct repo_tree *t;

	if (!src)
		return;
	t = repo_tree_of(src);
	if (t) {
		git_tree_free(t->root);
		git_repository_free(t->repo);
		free(t->repo_path);
		pthread_mutex_destroy(&t->lock);
		free(t);
	}
	free(src->description);
	free(src);
}

static int repo_src_blob_id_open(struct manifest_source *src, const char *path,
                                 char ret[MANIFEST_OID_HEX_SIZE], struct error *err)
{
	struct repo_tree *t = repo_tree_of(src);
	git_tree_entry *e = NULL;
	int rc;

	rc = repo_tree_entry(t, path ? path : "", &e, err);
	if (rc == -ENOENT)
		return error_set(err, -ENOENT, "%s: no such file in %s", path, src->description);
	if (rc < 0)
		return rc;
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB || git_tree_entry_filemode(e) == GIT_FILEMODE_LINK)
		rc = error_set(err, -EINVAL, "%s: is not a regular file", path);
	else
		git_oid_tostr(ret, MANIFEST_OID_HEX_SIZE, git_tree_entry_id(e));
	git_tree_entry_free(e);
	return rc;
}

/* The operations: each holds the handle (opened again if it was closed) while it runs. */
static int repo_src_list(struct manifest_source *src, const char *dir, char ***ret_paths, size_t *ret_n,
                         struct error *err)
{
	int rc = repo_tree_use(repo_tree_of(src), err);

	if (rc < 0)
		return rc;
	rc = repo_src_list_open(src, dir, ret_paths, ret_n, err);
	repo_tree_done(repo_tree_of(src));
	return rc;
}

static int repo_src_stat(struct manifest_source *src, const char *path, enum source_type *ret_type,
                         uint64_t *ret_size, struct error *err)
{
	int rc = repo_tree_use(repo_tree_of(src), err);

	if (rc < 0)
		return rc;
	rc = repo_src_stat_open(src, path, ret_type, ret_size, err);
	repo_tree_done(repo_tree_of(src));
	return rc;
}

static int repo_src_read(struct manifest_source *src, const char *path, size_t max, struct buf *out,
                         struct error *err)
{
	int rc = repo_tree_use(repo_tree_of(src), err);

	if (rc < 0)
		return rc;
	rc = repo_src_read_open(src, path, max, out, err);
	repo_tree_done(repo_tree_of(src));
	return rc;
}

static int repo_src_check(struct manifest_source *src, const char *path, size_t max, uint64_t *ret_size,
                          struct error *err)
{
	int rc = repo_tree_use(repo_tree_of(src), err);

	if (rc < 0)
		return rc;
	rc = repo_src_check_open(src, path, max, ret_size, err);
	repo_tree_done(repo_tree_of(src));
	return rc;
}

static int repo_src_blob_id(struct manifest_source *src, const char *path, char ret[MANIFEST_OID_HEX_SIZE],
                            struct error *err)
{
	int rc = repo_tree_use(repo_tree_of(src), err);

	if (rc < 0)
		return rc;
	rc = repo_src_blob_id_open(src, path, ret, err);
	repo_tree_done(repo_tree_of(src));
	return rc;
}

static const struct manifest_source_ops repo_source_ops = {
    .list = repo_src_list,
    .stat = repo_src_stat,
    .read = repo_src_read,
    .check = repo_src_check,
    .free = repo_src_free,
    .blob_id = repo_src_blob_id,
};

int manifest_repo_source(struct manifest_repo *r, const char *oid, struct manifest_source **ret,
                         struct error *err)
{
	struct manifest_source *src = NULL;
	struct repo_tree *t = NULL;
	git_oid id;
	git_commit *commit = NULL;
	int rc, grc;

	if (r->folder)
		return manifest_source_dir_open(ret, r->url, err);
	if (!oid || !repo_is_hex(oid, 40, 40))
		return error_set(err, -EINVAL, "a full commit id is required, not \"%.64s\"",
		                 oid ? oid : "(null)");
	src = calloc(1, sizeof(*src));
	t = repo_tree_new();
	if (!src || !t) {
		free(src);
		free(t);
		return error_set(err, -ENOMEM, "out of memory");
	}
	src->ops = &repo_source_ops;
	src->impl = t;
	src->description = strdup(r->description);
	t->repo_path = strdup(r->cache_path);
	if (!src->description || !t->repo_path) {
		rc = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	grc = git_repository_open_bare(&t->repo, r->cache_path);
	if (grc < 0) {
		rc = repo_git_fail(err, grc, r->token, "cannot open the cache clone");
		goto out;
	}
	git_oid_fromstr(&id, oid);
	grc = git_commit_lookup(&commit, t->repo, &id);
	if (grc == GIT_ENOTFOUND) {
		rc = error_set(err, -ENOENT, "commit %s is not in the cache of %s (fetch first)", oid,
		               r->description);
		goto out;
	}
	if (grc < 0) {
		rc = repo_git_fail(err, grc, r->token, oid);
		goto out;
	}
	grc = git_commit_tree(&t->root, commit);
	if (grc < 0) {
		rc = repo_git_fail(err, grc, r->token, oid);
		goto out;
	}
	git_oid_cpy(&t->tree_id, git_tree_id(t->root));
	git_oid_tostr(src->revision, sizeof(src->revision), &id);
	*ret = src;
	src = NULL;
	rc = 0;
out:
	git_commit_free(commit);
	repo_src_free(src);
	return rc;
}

int manifest_source_parent(struct manifest_source *src, struct manifest_source **ret, struct error *err)
{
	struct manifest_source *ps = NULL;
	struct repo_tree *t, *pt = NULL;
	git_commit *commit = NULL, *parent = NULL;
	git_oid id;
	int rc, grc;

	if (!src || src->ops != &repo_source_ops || !repo_is_hex(src->revision, 40, 40))
		return error_set(err, -EINVAL, "%s has no Git history (a folder)",
		                 src && src->description ? src->description : "the source");
	t = repo_tree_of(src);
	rc = repo_tree_use(t, err);
	if (rc < 0)
		return rc;
	git_oid_fromstr(&id, src->revision);
	grc = git_commit_lookup(&commit, t->repo, &id);
	if (grc < 0) {
		rc = repo_git_fail(err, grc, NULL, src->revision);
		goto out;
	}
	if (git_commit_parentcount(commit) == 0) {
		rc = 0;
		goto out;
	}
	grc = git_commit_parent(&parent, commit, 0);
	if (grc == GIT_ENOTFOUND) { /* a shallow clone's edge */
		rc = 0;
		goto out;
	}
	if (grc < 0) {
		rc = repo_git_fail(err, grc, NULL, "cannot read the parent commit");
		goto out;
	}
	ps = calloc(1, sizeof(*ps));
	pt = repo_tree_new();
	if (!ps || !pt) {
		free(pt);
		rc = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	ps->ops = &repo_source_ops;
	ps->impl = pt;
	ps->description = strdup(src->description ? src->description : "");
	pt->repo_path = strdup(t->repo_path);
	if (!ps->description || !pt->repo_path) {
		rc = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	/* every object of the new source belongs to its own handle */
	git_oid_cpy(&id, git_commit_id(parent));
	git_commit_free(parent);
	parent = NULL;
	grc = git_repository_open_bare(&pt->repo, pt->repo_path);
	if (grc == 0)
		grc = git_commit_lookup(&parent, pt->repo, &id);
	if (grc == 0)
		grc = git_commit_tree(&pt->root, parent);
	if (grc < 0) {
		rc = repo_git_fail(err, grc, NULL, "cannot read the parent commit");
		goto out;
	}
	git_oid_cpy(&pt->tree_id, git_tree_id(pt->root));
	git_oid_tostr(ps->revision, sizeof(ps->revision), &id);
	*ret = ps;
	ps = NULL;
	rc = 1;
out:
	git_commit_free(parent);
	git_commit_free(commit);
	repo_src_free(ps);
	repo_tree_done(t);
	return rc;
}

void manifest_source_trim(struct manifest_source *src)
{
	struct repo_tree *t;

	if (!src || src->ops != &repo_source_ops)
		return;
	t = repo_tree_of(src);
	pthread_mutex_lock(&t->lock);
	if (t->users == 0) {
		git_tree_free(t->root);
		git_repository_free(t->repo);
		t->root = NULL;
		t->repo = NULL;
	}
	pthread_mutex_unlock(&t->lock);
}
