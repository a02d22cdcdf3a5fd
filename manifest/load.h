/*
 * load.h - read and validate every manifest of a snapshot.
 *
 * manifest_load() reads all *.yaml / *.yml files under `subdir` of a source
 * (manifest/source.h: a folder or a Git commit tree; nothing else is read),
 * parses them with the bounded YAML layer (manifest/yaml.h), validates every
 * rule of DESIGN.md §1 and returns a struct manifest_set.  Validation never
 * stops at the first problem: all errors of the snapshot are collected in
 * set->errors as "path:line:col: message", sorted by file, line, column.
 *
 * Paths with a component starting with '.' are skipped (.github/workflows/
 * ci.yml and the like are not manifests).  zipFile paths are relative to the
 * snapshot's root, whatever `subdir` is.  The source is the only way in: a
 * symlink, a submodule or a path outside the snapshot is never followed.
 *
 * Per-function isolation (how the daemon must use the result):
 *  - set->functions lists every function whose name could be read.  A
 *    function with n_errors == 0 is valid: apply it.  A function with
 *    n_errors > 0 is invalid: do not touch it (keep its last good state).
 *  - set->files lists every manifest file read.  file->broken is set when
 *    something in that file could not be attributed to a function: a YAML
 *    syntax error, a hard limit (size, depth, nodes, alias expansion), or a
 *    document whose name is missing or unreadable.  The functions such a
 *    file declares are then (partly) unknown.  The daemon must keep the last
 *    good state of every function that this file declared at the last good
 *    load and that is not in set->functions now (map file -> function names
 *    from its previous good load: manifest_set_file_functions() gives them).
 *    Documents of a broken file that were read completely before the problem
 *    are still loaded and validated normally.
 *  - a function is identified by (name as written, region): `region:` if
 *    given, else the region of its ARN, else "" (the daemon's default); that
 *    is the key of manifest_set_find().  A function declared twice is invalid
 *    in both places; neither copy is applied.  "Twice" compares what Lambda
 *    would resolve: the bare name (an ARN's last field), the region (the
 *    default region for a declaration without one) and the account (the
 *    ARN's, or the caller's for a plain name).  A region or account that is
 *    not known (no manifest_load_options default) may be anything, so
 *    `fn` and `arn:aws:lambda:us-east-1:123456789012:function:fn` are the
 *    same function offline, and so are `fn` without `region:` and `fn` with
 *    `region: us-east-1` unless the default region is known and differs.
 *    Partial ARNs ("123456789012:function:fn", "function:fn") and qualified
 *    names ("fn:Prod", an ARN with ":7") are rejected, not resolved.
 *  - manifest_load() itself fails (negative errno, `err` set) only when the
 *    snapshot cannot be read at all: `subdir` invalid or missing, listing
 *    fails, out of memory.  A file that cannot be read is a file-level
 *    error ("path: cannot read: ...") and marks the file broken.
 *
 * Ownership: the caller frees the set with manifest_set_free() (accepts NULL).
 * The source is not kept: zip contents are not stored in the model; read them
 * again with manifest_code_read_zip() (which checks the hash) when uploading.
 *
 * Reloads (struct manifest_file_cache below): each manifest file is parsed
 * and validated on its own into a unit (what it declares, its errors, the
 * zips it depends on); the set refers to its files' units and holds its own
 * copies of the function structs, on which the set-level checks (duplicates)
 * run.  With a file cache, a file whose Git blob is unchanged, and whose
 * zips' blobs are unchanged, is neither read nor parsed again: its unit is
 * shared with the previous set.  The result is the same as a cold load.
 *
 * Threads: a set is read-only once loaded; any thread may read it and any
 * one thread may free it (units are shared by atomic counts), also while
 * another load runs.  A file cache is used by one load at a time.
 */
#ifndef ALIASD_MANIFEST_LOAD_H
#define ALIASD_MANIFEST_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest/model.h"
#include "manifest/source.h"
#include "util/buf.h"
#include "util/error.h"

/* At most this many manifest files per snapshot. */
#define MANIFEST_MAX_FILES 100000

struct manifest_file {
	char *path;         /* repository path */
	bool broken;        /* see above */
	size_t n_documents; /* documents read completely */
	size_t n_errors;    /* errors located in this file (any document) */
};

struct manifest_set {
	char revision[MANIFEST_OID_HEX_SIZE]; /* source->revision: commit id, "" for a folder */
	struct manifest_function *functions;  /* in file order, then document order */
	size_t n_functions;
	struct manifest_file *files; /* sorted by path */
	size_t n_files;
	struct errlist errors; /* every error, sorted */
	size_t n_valid;        /* functions with n_errors == 0 */
	size_t n_releases;     /* over all functions */
	size_t n_aliases;
	/* private (load.c): the parsed files the strings and arrays above live in */
	struct manifest_unit **units;
	size_t n_units;
};

/*
 * Load every manifest under `subdir` ("" or NULL: the whole snapshot) of
 * `src`.  Returns 0 and *ret_set (also when manifests have errors: see
 * set->errors), or a negative errno with `err` set.
 */
int manifest_load(struct manifest_set **ret_set, struct manifest_source *src, const char *subdir,
                  struct error *err);
void manifest_set_free(struct manifest_set *set);

/*
 * What the caller knows about where plain declarations land (all optional).
 * They only make the duplicate check above finer: with the default region
 * known, `fn` and `fn` + `region: eu-west-1` are two functions when the
 * default is another region; with the caller's account known, `fn` and an
 * ARN in another account are two functions.  The model is not changed
 * (function->region stays NULL for the default region).  `aliasd validate`
 * without credentials passes neither and is therefore at least as strict as
 * the daemon.
 */
struct manifest_zip_cache; /* manifest/history.h */
struct manifest_load_options {
	const char *default_region;  /* e.g. "us-east-1"; NULL: unknown */
	const char *default_account; /* 12 digits, of the credentials in use; NULL: unknown */
	/*
	 * Zip sizes and hashes by Git blob id, kept by the caller across loads
	 * (manifest/history.h): a zip whose blob is in it is neither read nor
	 * hashed again.  Only a source with ->blob_id uses it.  NULL: none.
	 */
	struct manifest_zip_cache *zip_cache;
	/*
	 * Parsed manifest files by (path, Git blob id), kept by the caller across
	 * loads (below).  Only a source with ->blob_id uses it; give a zip_cache
	 * too, or checking a cached file's zips hashes them.  NULL: none.
	 */
	struct manifest_file_cache *file_cache;
	/*
	 * Parse files on a helper thread while the loading thread validates
	 * (true: when there are many files and no file_cache).  The result,
	 * errors and their order included, is the same; only a caller that may
	 * start a thread sets it (`aliasd validate`).
	 */
	bool parse_threads;
	/*
	 * Check zip files as always (type, size, read in full) but do not hash
	 * them: every code.sha256 of a zip release stays "".  For a caller
	 * that only reports errors (`aliasd validate`): hashing is most of the
	 * cost of big zips, and no check depends on it.  Neither cache above is
	 * used then (they hold hashes).
	 */
	bool zip_no_hash;
};

/*
 * A cache of parsed manifest files for reloads of a Git repository (the
 * daemon keeps one across polls; manifest/history.c does not use it).  A
 * file is taken from it when its path and blob id are the same and every
 * zip it names still has the same blob (or is still missing); anything else
 * (a changed, added, deleted or renamed file; a zip changed, added or
 * deleted; a file that could not be read) is parsed again.  After each load
 * it holds exactly the units of that load: it is bounded by the size of the
 * repository's latest snapshot, and it keeps them alive while the sets
 * that use them are freed.  Not thread-safe: one load at a time uses it.
 */
struct manifest_file_cache;
int manifest_file_cache_new(struct manifest_file_cache **ret);
void manifest_file_cache_free(struct manifest_file_cache *c); /* accepts NULL */
struct manifest_file_cache_stats {
	size_t files;        /* units held now */
	size_t hits, misses; /* files of the last load taken from it / parsed */
	size_t total_hits;   /* since the cache was made */
	size_t total_misses;
};
void manifest_file_cache_stats(const struct manifest_file_cache *c, struct manifest_file_cache_stats *ret);

/*
 * Do `a` and `b` declare the same function, as the duplicate check above
 * decides (bare name, region and account after the defaults of `opt`,
 * which may be NULL)?  For matching a function across commits.
 */
bool manifest_function_same(const struct manifest_function *a, const struct manifest_function *b,
                            const struct manifest_load_options *opt);

/* manifest_load() with options (`opt` may be NULL: nothing known). */
int manifest_load_with(struct manifest_set **ret_set, struct manifest_source *src, const char *subdir,
                       const struct manifest_load_options *opt, struct error *err);

/* Total errors (including any dropped past the errlist's cap). */
size_t manifest_set_error_count(const struct manifest_set *set);

/* The function named `name` in `region` (NULL = default region), or NULL. */
const struct manifest_function *manifest_set_find(const struct manifest_set *set, const char *name,
                                                  const char *region);

/*
 * Names of the functions that `path` declares in this set (valid or not),
 * as pointers into the set, in document order.  The array is malloc'ed (free
 * it, not the strings); *ret_n may be 0.
 */
int manifest_set_file_functions(const struct manifest_set *set, const char *path, const char ***ret_names,
                                size_t *ret_n);

/*
 * Read a ZIP release's bytes from `src` into `out` and check that they still
 * hash to code->sha256.  -EINVAL if the code is not a zip, -EBADMSG if the hash
 * differs, and the source's errors otherwise.
 */
int manifest_code_read_zip(struct manifest_source *src, const struct manifest_code *code, struct buf *out,
                           struct error *err);

/* SHA-256 of `data` as base64 (44 characters + NUL) into `out`. */
void manifest_sha256_base64(const void *data, size_t len, char out[MANIFEST_SHA256_B64_SIZE]);

/*
 * An in-memory source (tests, fuzzing): `n` files given as path/content pairs
 * (copied).  Paths must be valid (manifest_path_valid()).  Directories are
 * implied by the paths.  A file with `symlink` set stats as a symlink (and
 * cannot be read), for tests of the zipFile rules.
 */
struct manifest_mem_file {
	const char *path;
	const char *data;
	size_t len;
	bool symlink;
};
int manifest_source_mem_open(struct manifest_source **ret, const struct manifest_mem_file *files, size_t n,
                             struct error *err);
/* The same with Git blob ids (->blob_id), as a commit's tree has: for tests of the caches. */
int manifest_source_mem_open_blobs(struct manifest_source **ret, const struct manifest_mem_file *files,
                                   size_t n, struct error *err);

#endif
