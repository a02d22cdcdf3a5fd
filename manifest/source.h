/*
 * source.h - where manifests and zip files are read from.
 *
 * A source is one consistent snapshot of a repository: a folder on disk as it
 * is (manifest/dir.c) or the tree of one Git commit (manifest/repo.c), read
 * straight from the object store with no checkout.  The manifest loader only
 * sees this interface, so validation behaves identically for both.
 *
 * Paths are relative to the snapshot's root, '/'-separated, never starting with
 * '/' and never containing "." or ".." components ("" is the root itself).
 * The source refuses any other path with -EINVAL.
 *
 * Ownership: the caller owns the source and frees it with
 * manifest_source_free() (accepts NULL).  Strings returned through ret_*
 * arrays are malloc'ed and owned by the caller (free each, then the array).
 */
#ifndef ALIASD_MANIFEST_SOURCE_H
#define ALIASD_MANIFEST_SOURCE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"
#include "util/error.h"

enum source_type {
	SOURCE_MISSING = 0,
	SOURCE_FILE, /* regular file (Git: blob with mode 100644 or 100755) */
	SOURCE_DIR,
	SOURCE_SYMLINK,   /* never followed */
	SOURCE_SUBMODULE, /* Git gitlink; never followed */
	SOURCE_OTHER,     /* devices, fifos, ... */
};

struct manifest_source;

struct manifest_source_ops {
	/*
	 * Every regular file under `dir` (recursively, "" = root) whose name ends
	 * in .yaml or .yml, sorted bytewise; symlinks and submodules are skipped.
	 * -ENOENT if `dir` does not exist or is not a directory.
	 */
	int (*list)(struct manifest_source *src, const char *dir, char ***ret_paths, size_t *ret_n,
	            struct error *err);
	/* Type and size (bytes, 0 for non-files) of `path`, without following symlinks. */
	int (*stat)(struct manifest_source *src, const char *path, enum source_type *ret_type,
	            uint64_t *ret_size, struct error *err);
	/*
	 * Append the contents of regular file `path` to `out`.  -E2BIG (and
	 * nothing appended) if it is larger than `max` bytes; -ENOENT missing;
	 * -EISDIR/-ELOOP/-EINVAL for a directory, symlink or anything else.
	 */
	int (*read)(struct manifest_source *src, const char *path, size_t max, struct buf *out,
	            struct error *err);
	void (*free)(struct manifest_source *src);
	/*
	 * Optional (NULL for a folder): the Git blob id of regular file `path`
	 * (40 hex), so callers may cache what they derive from its content
	 * (manifest/history.h caches zip hashes by it).  Errors as ->read.
	 */
	int (*blob_id)(struct manifest_source *src, const char *path, char ret[41], struct error *err);
	/*
	 * Optional: could ->read read regular file `path` (at most `max`
	 * bytes)?  0 and its size, or ->read's errors, without reading the
	 * contents: a folder opens the file, a Git commit reads its object's
	 * header.  NULL: read it to know.
	 */
	int (*check)(struct manifest_source *src, const char *path, size_t max, uint64_t *ret_size,
	             struct error *err);
};

/* A full Git commit id as text: 40 hex digits and a NUL. */
#define MANIFEST_OID_HEX_SIZE 41

struct manifest_source {
	const struct manifest_source_ops *ops;
	/* Full commit id (40 hex) for a Git snapshot; "" for a plain folder. */
	char revision[MANIFEST_OID_HEX_SIZE];
	/* Human description for messages: "/srv/repo", "https://host/r.git@main". */
	char *description;
	void *impl;
};

static inline int manifest_source_list(struct manifest_source *src, const char *dir, char ***ret_paths,
                                       size_t *ret_n, struct error *err)
{
	return src->ops->list(src, dir, ret_paths, ret_n, err);
}

static inline int manifest_source_stat(struct manifest_source *src, const char *path,
                                       enum source_type *ret_type, uint64_t *ret_size, struct error *err)
{
	return src->ops->stat(src, path, ret_type, ret_size, err);
}

static inline int manifest_source_read(struct manifest_source *src, const char *path, size_t max,
                                       struct buf *out, struct error *err)
{
	return src->ops->read(src, path, max, out, err);
}

static inline void manifest_source_free(struct manifest_source *src)
{
	if (src)
		src->ops->free(src);
}

/*
 * Git snapshots only: a snapshot of the first parent of src's commit, read
 * from the same object store (it holds its own handle).  1 and *ret; 0 when
 * the commit has no parent, or its parent is not in the store (a shallow
 * clone's edge); -EINVAL for a source that is not a Git commit (a folder).
 * manifest/tree.c
 */
int manifest_source_parent(struct manifest_source *src, struct manifest_source **ret, struct error *err);

/*
 * Git snapshots only (nothing happens for a folder): close the repository
 * handle until the next operation opens it again.  With it go libgit2's
 * object cache and, when no other handle has them open, the pack files'
 * maps: resident memory that a long-lived snapshot (the daemon's loaded
 * commit) does not need between reads.  Nothing happens while an operation
 * is in progress on another thread.  What the source reads is unchanged.
 * manifest/tree.c
 */
void manifest_source_trim(struct manifest_source *src);

/* Free an array returned by ->list. */
void manifest_paths_free(char **paths, size_t n);

/* True if `path` is a valid relative path as described above. */
int manifest_path_valid(const char *path);

/* A folder on disk, as it is (a working tree's uncommitted files included). manifest/dir.c */
int manifest_source_dir_open(struct manifest_source **ret, const char *root, struct error *err);

#endif
