/*
 * load_internal.h - shared by the files of the manifest loader; not a public
 * header: the manual is manifest/load.h.
 *
 *   load.c           snapshot -> files -> documents -> functions, the set API
 *   load_config.c    `config:` blocks (function and release level)
 *   load_code.c      release code: zip files (hashed once per snapshot), s3, image
 *   load_release.c   releases, aliases and prune
 *   load_rollout.c   an alias's `rollout:` (DESIGN §6)
 *   load_identity.c  the duplicate check: one function, one declaration
 *   load_ahead.c     files read and parsed ahead by a helper thread
 *
 * Every problem is appended to l->errs (ERR); nothing stops at the first one.
 */
#ifndef ALIASD_MANIFEST_LOAD_INTERNAL_H
#define ALIASD_MANIFEST_LOAD_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <stdatomic.h>

#include "manifest/load.h"
#include "manifest/yaml.h"
#include "util/arena.h"

#define KEYPATH_MAX 320

/* What a snapshot holds at a zipFile path (once per path and load). */
struct zip_cache_entry {
	char *path;
	enum source_type type;
	char blob[MANIFEST_OID_HEX_SIZE]; /* Git blob id of a regular file, else "" */
	bool transient;                   /* status is a failure to read, not a fact of the snapshot */
	uint64_t size;
	char sha256[MANIFEST_SHA256_B64_SIZE];
	int status; /* 0 ok, else `msg` says what is wrong */
	char msg[384];
};

/*
 * Strings many functions repeat (region, runtime, handler, env names and
 * values, release and alias names, ...) kept once: a pool shared by the
 * units of a load, or of every load through one file cache, by counting.
 * Only the loading thread adds; a string never changes once added.
 * load_cache.c
 */
struct load_pool {
	atomic_size_t refs;
	struct arena arena;
	char **slots;  /* open addressing, NULL = empty */
	size_t cap, n; /* cap: a power of two, or 0 */
};
/* A new pool (one reference), or NULL. */
struct load_pool *load_pool_new(void);
struct load_pool *load_pool_ref(struct load_pool *p);
void load_pool_unref(struct load_pool *p); /* accepts NULL */
/* A reference to the pool a load with file cache `c` (NULL: none) shares strings in; NULL: ENOMEM. */
struct load_pool *load_pool_for(struct manifest_file_cache *c);
/* Nothing more is added to `p`: its lookup table goes (the strings stay).  Accepts NULL. */
void load_pool_done(struct load_pool *p);
/* Pooled strings are at most this long; a longer one is copied to the unit. */
#define LOAD_POOL_STR_MAX 48

/* A Git blob id in binary. */
#define UNIT_BLOB_SIZE 20

/* A zip file a manifest file's result depends on: the same type and blob, the same result. */
struct unit_zip {
	char *path; /* the first release's code.zip_path naming it */
	unsigned char blob[UNIT_BLOB_SIZE];
	unsigned char type; /* enum source_type: SOURCE_FILE or SOURCE_MISSING */
};

/*
 * One manifest file parsed and validated on its own (everything but the
 * set-level checks): the functions it declares, its errors, the zips it
 * depends on.  Everything, the struct itself included, lives in `chunks`
 * (an arena's), one malloc of exactly its size (errors, if any, in their own
 * errlist; short common strings in `pool`).
 * Shared by counting between the sets that hold it and the file cache;
 * never modified once built (a set works on copies of the function
 * structs).  load_cache.c
 */
struct manifest_unit {
	atomic_size_t refs;
	struct arena_chunk *chunks;
	char *path;
	struct manifest_function *functions;
	struct unit_zip *zips;
	struct errlist *errors; /* located in this file, in the order found; NULL: none */
	struct load_pool *pool; /* a reference to the pool some of its strings are in, or NULL */
	unsigned n_functions, n_zips, n_documents;
	unsigned char blob[UNIT_BLOB_SIZE];
	bool has_blob;  /* the source gave the file's blob id */
	bool cacheable; /* no transient failure (read errors) in it */
	bool broken;    /* manifest_file.broken */
};

/* The current file depends on zip entry `idx`, first named by `path` (in the arena). */
struct unit_dep {
	size_t idx;
	char *path;
};

struct load_ahead;

struct loader {
	struct manifest_source *src;
	struct load_ahead *ahead; /* files parsed ahead (load_ahead.c), or NULL */
	struct manifest_set *set;
	struct errlist *errs; /* the current unit's */
	struct arena *arena;  /* the current unit's: &scratch */
	struct manifest_unit *unit;
	struct arena scratch;   /* a file is parsed here, then copied to an arena of its exact size */
	struct errlist uerrs;   /* the current unit's errors while it is parsed */
	struct load_pool *pool; /* a reference, or NULL: strings are not shared */
	/* the current unit's functions while it is parsed (copied into its arena after) */
	struct manifest_function *fv;
	size_t n_fv, fv_alloc;
	/* the current unit's zips */
	struct unit_dep *deps;
	size_t n_deps, deps_alloc;
	struct zip_cache_entry *zips;
	size_t n_zips, zips_alloc;
	size_t *zip_slots;    /* open addressing: index + 1 into zips, 0 = empty */
	size_t zip_slots_cap; /* power of two */
	struct manifest_load_options opt;
};

/* Error at `node` (or at `fallback` when node is NULL). */
#define ERR(node, ...) yaml_error(l->errs, (node), -EINVAL, __VA_ARGS__)

/* load.c: helpers for every part */
bool load_all_digits(const char *s);
bool load_name_ok(const char *s, size_t max, const char *extra);
void load_keypath(char *out, const char *prefix, const char *key);
void load_missing(struct loader *l, const struct yaml_node *map, const char *prefix, const char *key);
int load_opt_string(struct loader *l, const struct yaml_node *map, const char *prefix, const char *key,
                    size_t max, char **ret);
/* The same for a value functions often share (a runtime, a bucket): pooled. */
int load_opt_shared(struct loader *l, const struct yaml_node *map, const char *prefix, const char *key,
                    size_t max, char **ret);
/* A copy of `s` for the model: from l->pool when it has one and `s` is short, else in l->arena. */
char *load_shared(struct loader *l, const char *s);
/*
 * A full Lambda function ARN without a qualifier: 0 and its region and account
 * (malloc'ed, the caller frees them), or -EINVAL with *why saying what is wrong.
 */
int load_arn_parse(const char *s, char **ret_region, char **ret_account, const char **why);

/* load_config.c: `config:` blocks */
void load_config_release(struct manifest_config *c);
int load_config_copy(struct manifest_config *dst, const struct manifest_config *src);
void load_config_overlay(struct manifest_config *base, const struct manifest_config *over);
int load_parse_config(struct loader *l, const struct yaml_node *n, const char *prefix,
                      struct manifest_config *c);

/*
 * load_code.c: the entry of zip path `norm` in this snapshot (looked up once
 * per load: stat, blob id, size and hash through the zip hash cache), or
 * NULL when out of memory.
 */
struct zip_cache_entry *load_zip_entry(struct loader *l, const char *norm);
int load_parse_code(struct loader *l, const struct yaml_node *n, const char *prefix,
                    struct manifest_code *code);
/*
 * With opt.zip_no_hash: hash the zip of `code` after all, for a check that
 * needs it (a release's `sha256:`); nothing for other code or a zip with a
 * problem.  0, or -ENOMEM.
 */
int load_zip_hash(struct loader *l, struct manifest_code *code);

/* load_release.c: releases, aliases, prune */
void load_release_release(struct manifest_release *r);
int load_parse_releases(struct loader *l, struct manifest_function *f, const struct yaml_node *n);
int load_parse_aliases(struct loader *l, struct manifest_function *f, const struct yaml_node *n);
void load_parse_prune(struct loader *l, struct manifest_function *f, const struct yaml_node *n);

/*
 * load_rollout.c: the value `n` of an alias's `rollout` key (`key`), `prefix`
 * the alias's key path.  *ret is NULL for a null value, else a rollout
 * (filled as far as it is valid; errors go to l->errs) in l->arena.
 * 0, or -ENOMEM.
 */
int load_parse_rollout(struct loader *l, const struct manifest_function *f, const struct yaml_node *key,
                       const struct yaml_node *n, const char *prefix, struct manifest_rollout **ret);

/* load_cache.c: units and the file cache */
/* 40 hex digits -> binary; false if `hex` is not a blob id. */
bool load_blob_bin(const char *hex, unsigned char out[UNIT_BLOB_SIZE]);
/* A new unit of `path` in l->scratch (reset), with one reference; NULL when out of memory. */
struct manifest_unit *load_unit_start(struct loader *l, const char *path, const char *blob_hex);
/* The unit parsed in l->scratch moved to an arena of its own (the scratch is reused); NULL: ENOMEM. */
struct manifest_unit *load_unit_seal(struct loader *l, struct manifest_unit *u);
void load_unit_unref(struct manifest_unit *u);
/* Is every zip `u` depends on the same in this snapshot?  1 yes, 0 no, -ENOMEM. */
int load_unit_deps_same(struct loader *l, const struct manifest_unit *u);
/* The cached unit of (path, blob) with a reference for the caller, or NULL. */
struct manifest_unit *load_cache_get(struct manifest_file_cache *c, const char *path, const char *blob);
/* Keep exactly the cacheable units of this load (`units`, n of them).  -ENOMEM (the cache is then emptied).
 */
int load_cache_keep(struct manifest_file_cache *c, struct manifest_unit *const *units, size_t n, size_t hits,
                    size_t misses);

/* A unit's errors: at most this many are recorded (the rest are counted). */
#define LOAD_UNIT_ERRORS_MAX 10000

/*
 * load_ahead.c: a file read and parsed ahead of its turn.  What reading it
 * gave (read_r < 0: read_msg says why, nothing parsed), then what parsing it
 * gave: parse_r (-ENOMEM) or the stream, with the parse's errors in `errs`
 * (at most LOAD_UNIT_ERRORS_MAX, as a unit's), as yaml_stream_parse() gives them.
 */
struct load_parsed {
	int read_r;
	char *read_msg; /* malloc'ed; NULL when read_r >= 0 */
	int parse_r;
	struct yaml_stream *stream;
	struct errlist errs;
};
void load_parsed_release(struct load_parsed *p);
/*
 * Start reading `paths` (n of them, kept by the caller until the stop) from
 * `src` on the calling thread and parsing them on a helper thread, in a
 * window of a few files ahead of the one taken.  0, -ENOMEM or -EAGAIN (no
 * thread: parse in line).
 */
int load_ahead_start(struct load_ahead **ret, struct manifest_source *src, const char *const *paths,
                     size_t n);
/*
 * The next file's result into *ret (the caller releases it), `path` being
 * that next file; -EINVAL if it is not (the caller then reads it itself).
 * The calling thread is the one that started `a`.
 */
int load_ahead_take(struct load_ahead *a, const char *path, struct load_parsed *ret);
/* Tests: how long a take waits for the helper before parsing the file too (0: not at all). */
void load_ahead_set_wait(struct load_ahead *a, long ns);
/* Stop the helper and free everything (accepts NULL). */
void load_ahead_stop(struct load_ahead *a);

/* load_identity.c: one function, one declaration */
int load_check_duplicates(struct loader *l);

#endif
