/*
 * history.h - what the last commits of the ref declared (prune.keepHistory,
 * DESIGN.md §9).
 *
 * A revert must cost one UpdateAlias: the version an older commit's release
 * resolves to must still be there.  manifest_history_collect() walks the
 * first-parent chain of a Git snapshot (the snapshot's own commit counts as
 * the first), loads each commit's manifests with the same loader and
 * options, and for every valid function of the current set with
 * prune.keepHistory N collects the releases that its declarations in the
 * first N commits resolve to: code hash (CodeSha256) and effective managed
 * config, or a `version:` pin.  A function is matched across commits by its
 * resolved identity, as the duplicate check matches twins
 * (manifest_function_same()); a declaration with errors in an old commit is
 * skipped.  The walk stops early at a root commit or a shallow clone's edge.
 *
 * Nothing is uploaded and Lambda is never called: everything comes from the
 * Git object store.  Zip files are hashed once per blob: the caller keeps a
 * struct manifest_zip_cache across calls (the daemon across polls), so the
 * same zip in five commits is read and hashed once.
 *
 * A folder source (no Git) has no history: the result is then empty with
 * `no_history` set (keepHistory behaves as 0; the caller warns once).
 *
 * Ownership: the history owns copies of what it keeps (an older commit's
 * manifest set is freed as soon as it is read: memory grows with the
 * releases of the functions with keepHistory, not with the repository); it
 * borrows the current set (which must outlive it) to find a function's
 * list.  manifest_history_free() accepts NULL.
 *
 * Threads: a history is read-only after collect (any thread may read it).
 * A zip cache is thread-safe (a mutex): several loads may share it.
 */
#ifndef ALIASD_MANIFEST_HISTORY_H
#define ALIASD_MANIFEST_HISTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest/load.h"
#include "manifest/model.h"
#include "manifest/source.h"
#include "util/error.h"

/* Default capacity of a zip cache (entries); when full it starts over. */
#define MANIFEST_ZIP_CACHE_DEFAULT 200000

struct manifest_zip_cache;

/* A new, empty cache of at most `max` entries (0 = the default). */
int manifest_zip_cache_new(struct manifest_zip_cache **ret, size_t max);
void manifest_zip_cache_free(struct manifest_zip_cache *c);
/* True and the zip's size and base64 SHA-256 when `blob_id` (40 hex) is cached. */
bool manifest_zip_cache_get(struct manifest_zip_cache *c, const char *blob_id, uint64_t *ret_size,
                            char ret_sha256[MANIFEST_SHA256_B64_SIZE]);
/* Remember a zip (c may be NULL: nothing).  -ENOMEM. */
int manifest_zip_cache_put(struct manifest_zip_cache *c, const char *blob_id, uint64_t size,
                           const char *sha256);
/* Zips hashed (put) and found (get) since the cache was made: tests, metrics. */
size_t manifest_zip_cache_puts(struct manifest_zip_cache *c);
size_t manifest_zip_cache_hits(struct manifest_zip_cache *c);

/*
 * One release an older (or the current) commit declared for a function: a
 * copy of its name, `version:` pin, code kind and hash (code.sha256; no
 * paths) and effective config, owned by the history.
 */
struct manifest_history_entry {
	struct manifest_release release;
	char commit[MANIFEST_OID_HEX_SIZE]; /* the newest commit of the window that declared it */
};

/* The releases one function's window declared, newest commit first, each once. */
struct manifest_history_list {
	struct manifest_history_entry *entries;
	size_t n;
	unsigned commits; /* commits of the window actually read (<= keepHistory) */
	/* the function's identity and keepHistory (copies: a later collect reads them) */
	char *name, *region, *account;
	int64_t keep_history;
};

struct manifest_history {
	const struct manifest_set *set; /* the current set (borrowed; NULL once only `prev` of a collect) */
	bool no_history;                /* a folder: nothing collected */
	unsigned commits;               /* commits walked (the deepest window) */
	/* Per function of the current set (same index); n == 0 without keepHistory. */
	struct manifest_history_list *functions;
	size_t n_functions;
	/* The deepest window's commit ids, newest (the snapshot's) first; `commits` of them. */
	char (*window)[MANIFEST_OID_HEX_SIZE];
	bool ended;      /* the walk reached the root (or a shallow edge, or an unreadable tree) */
	unsigned loaded; /* older commits whose manifests this collect loaded (tests, logs) */
	char *key;       /* subdir and load defaults it was collected with */
	unsigned refs;   /* manifest_history_ref() */
};

/* How to walk (all optional). */
struct manifest_history_options {
	struct manifest_zip_cache *cache; /* used and filled; NULL: every zip is hashed */
	/*
	 * The history collected for the previous commit (the daemon's last
	 * poll).  When it was collected for the first parent of this snapshot's
	 * commit, with the same subdir and defaults, and covers every function
	 * with keepHistory deeply enough, the new history is derived from it and
	 * only this commit is read: one load per new commit instead of N.
	 * Otherwise (a rewind, a new function, a deeper keepHistory) the walk
	 * is done in full.  Its `set` is not used.
	 */
	const struct manifest_history *prev;
	/* After each older commit is read (liveness for a watchdog); must be cheap. */
	void (*progress)(void *arg, unsigned commits);
	void *arg;
};

/*
 * Collect the history of every function of `set` (loaded from `src` with
 * `subdir` and `opt`, which are used again for the older commits; `opt` may
 * be NULL) that has prune.keepHistory (`hopt` may be NULL).  An older
 * commit whose manifests cannot be read at all ends the walk there (what
 * was read counts).  Returns 0 and *ret, or a negative errno with `err` set
 * (out of memory, the object store failing).
 */
int manifest_history_collect(struct manifest_history **ret, struct manifest_source *src, const char *subdir,
                             const struct manifest_set *set, const struct manifest_load_options *opt,
                             const struct manifest_history_options *hopt, struct error *err);

/* The list of function `fn` (a pointer into the set given to collect), or NULL (h may be NULL). */
const struct manifest_history_list *manifest_history_find(const struct manifest_history *h,
                                                          const struct manifest_function *fn);

/*
 * A history is shared by counting (thread-safe): ref adds one owner,
 * manifest_history_free() drops one and frees with the last.  Returns h.
 */
struct manifest_history *manifest_history_ref(struct manifest_history *h);
void manifest_history_free(struct manifest_history *h);

#endif
