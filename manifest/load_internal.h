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
 *
 * Every problem is appended to l->errs (ERR); nothing stops at the first one.
 */
#ifndef ALIASD_MANIFEST_LOAD_INTERNAL_H
#define ALIASD_MANIFEST_LOAD_INTERNAL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest/load.h"
#include "manifest/yaml.h"

#define KEYPATH_MAX 320

struct zip_cache_entry {
	char *path;
	uint64_t size;
	char sha256[MANIFEST_SHA256_B64_SIZE];
	int status; /* 0 ok, else `msg` says what is wrong */
	char msg[384];
};

struct loader {
	struct manifest_source *src;
	struct manifest_set *set;
	struct errlist *errs;
	size_t funcs_alloc;
	struct zip_cache_entry *zips;
	size_t n_zips, zips_alloc;
	size_t *zip_slots;    /* open addressing: index + 1 into zips, 0 = empty */
	size_t zip_slots_cap; /* power of two */
	struct manifest_load_options opt;
};

/* Error at `node` (or at `fallback` when node is NULL). */
#define ERR(node, ...) yaml_error(l->errs, (node), -EINVAL, __VA_ARGS__)

/* load.c: helpers for every part */
char *load_strdup(const char *s);
bool load_all_digits(const char *s);
bool load_name_ok(const char *s, size_t max, const char *extra);
void load_keypath(char *out, const char *prefix, const char *key);
void load_missing(struct loader *l, const struct yaml_node *map, const char *prefix, const char *key);
int load_opt_string(struct loader *l, const struct yaml_node *map, const char *prefix, const char *key,
                    size_t max, char **ret);
/*
 * A full Lambda function ARN without a qualifier: 0 and its region and account
 * (malloc'ed, the caller frees them), or -EINVAL with *why saying what is wrong.
 */
int load_arn_parse(const char *s, char **ret_region, char **ret_account, const char **why);

/* load_config.c: `config:` blocks */
void load_config_release(struct manifest_config *c);
int load_config_copy(struct manifest_config *dst, const struct manifest_config *src);
void load_config_overlay(struct manifest_config *base, struct manifest_config *over);
int load_parse_config(struct loader *l, const struct yaml_node *n, const char *prefix,
                      struct manifest_config *c);

int load_parse_code(struct loader *l, const struct yaml_node *n, const char *prefix,
                    struct manifest_code *code);

/* load_release.c: releases, aliases, prune */
void load_release_release(struct manifest_release *r);
int load_parse_releases(struct loader *l, struct manifest_function *f, const struct yaml_node *n);
void load_alias_release(struct manifest_alias *a);
int load_parse_aliases(struct loader *l, struct manifest_function *f, const struct yaml_node *n);
void load_parse_prune(struct loader *l, struct manifest_function *f, const struct yaml_node *n);

/*
 * load_rollout.c: the value `n` of an alias's `rollout` key (`key`), `prefix`
 * the alias's key path.  *ret is NULL for a null value, else a rollout
 * (filled as far as it is valid; errors go to l->errs) that
 * load_rollout_free() releases.  0, or -ENOMEM.
 */
int load_parse_rollout(struct loader *l, const struct manifest_function *f, const struct yaml_node *key,
                       const struct yaml_node *n, const char *prefix, struct manifest_rollout **ret);
void load_rollout_free(struct manifest_rollout *r);

/* load_identity.c: one function, one declaration */
int load_check_duplicates(struct loader *l);

#endif
