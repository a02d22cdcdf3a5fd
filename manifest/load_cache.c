/*
 * load_cache.c - units (one manifest file parsed on its own, load_internal.h)
 * and the file cache that keeps them across loads (load.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/load_internal.h"

/* A file's model is small: chunks of this size waste little at the end. */
#define UNIT_CHUNK 1024

struct manifest_unit *load_unit_new(const char *path, const char *blob)
{
	struct arena a;
	struct manifest_unit *u;

	arena_init(&a, UNIT_CHUNK);
	u = arena_alloc(&a, sizeof(*u));
	if (!u) {
		arena_release(&a);
		return NULL;
	}
	u->arena = a; /* from here on, allocate from u->arena only */
	atomic_init(&u->refs, 1);
	u->path = arena_strdup(&u->arena, path);
	if (!u->path) {
		a = u->arena;
		arena_release(&a);
		return NULL;
	}
	snprintf(u->blob, sizeof(u->blob), "%s", blob ? blob : "");
	u->cacheable = true;
	u->errors.max = 10000;
	return u;
}

void load_unit_unref(struct manifest_unit *u)
{
	struct arena a;

	if (!u || atomic_fetch_sub_explicit(&u->refs, 1, memory_order_acq_rel) != 1)
		return;
	errlist_release(&u->errors);
	a = u->arena; /* the unit lives in its own arena */
	arena_release(&a);
}

static struct manifest_unit *unit_ref(struct manifest_unit *u)
{
	atomic_fetch_add_explicit(&u->refs, 1, memory_order_relaxed);
	return u;
}

int load_unit_deps_same(struct loader *l, const struct manifest_unit *u)
{
	for (size_t i = 0; i < u->n_zips; i++) {
		const struct unit_zip *z = &u->zips[i];
		struct zip_cache_entry *ce = load_zip_entry(l, z->path);

		if (!ce)
			return -ENOMEM;
		if (ce->transient || ce->type != z->type || strcmp(ce->blob, z->blob))
			return 0;
	}
	return 1;
}

/* ---- the file cache: open addressing by (path, blob) ---- */

struct manifest_file_cache {
	struct manifest_unit **slots; /* NULL = empty */
	size_t cap, n;                /* cap: a power of two, or 0 */
	size_t hits, misses, total_hits, total_misses;
};

static size_t key_hash(const char *path, const char *blob)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *path; path++) {
		h ^= (unsigned char)*path;
		h *= 1099511628211ULL;
	}
	/* a blob id is already a hash: mix in its first 16 hex digits */
	for (int k = 0; k < 16 && blob[k]; k++)
		h = (h << 4 | h >> 60) ^ (uint64_t)(unsigned char)blob[k];
	return (size_t)(h ^ (h >> 29));
}

static struct manifest_unit **slot_of(struct manifest_unit **slots, size_t cap, const char *path,
                                      const char *blob)
{
	size_t mask = cap - 1, i = key_hash(path, blob) & mask;

	while (slots[i] && (strcmp(slots[i]->blob, blob) || strcmp(slots[i]->path, path)))
		i = (i + 1) & mask;
	return &slots[i];
}

int manifest_file_cache_new(struct manifest_file_cache **ret)
{
	*ret = calloc(1, sizeof(**ret));
	return *ret ? 0 : -ENOMEM;
}

static void cache_clear(struct manifest_file_cache *c)
{
	for (size_t i = 0; i < c->cap; i++)
		load_unit_unref(c->slots[i]);
	free(c->slots);
	c->slots = NULL;
	c->cap = c->n = 0;
}

void manifest_file_cache_free(struct manifest_file_cache *c)
{
	if (!c)
		return;
	cache_clear(c);
	free(c);
}

struct manifest_unit *load_cache_get(struct manifest_file_cache *c, const char *path, const char *blob)
{
	struct manifest_unit **s;

	if (!c || !c->cap || !blob[0])
		return NULL;
	s = slot_of(c->slots, c->cap, path, blob);
	return *s ? unit_ref(*s) : NULL;
}

int load_cache_keep(struct manifest_file_cache *c, struct manifest_unit *const *units, size_t n, size_t hits,
                    size_t misses)
{
	struct manifest_unit **slots;
	size_t cap = 16, kept = 0;

	c->hits = hits;
	c->misses = misses;
	c->total_hits += hits;
	c->total_misses += misses;
	while (cap < n * 2)
		cap *= 2;
	slots = calloc(cap, sizeof(*slots));
	if (!slots) {
		cache_clear(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct manifest_unit **s;

		if (!units[i]->cacheable || !units[i]->blob[0])
			continue;
		s = slot_of(slots, cap, units[i]->path, units[i]->blob);
		if (*s)
			continue;
		*s = unit_ref(units[i]);
		kept++;
	}
	cache_clear(c); /* the units of older loads that this one did not use */
	c->slots = slots;
	c->cap = cap;
	c->n = kept;
	return 0;
}

void manifest_file_cache_stats(const struct manifest_file_cache *c, struct manifest_file_cache_stats *ret)
{
	memset(ret, 0, sizeof(*ret));
	if (!c)
		return;
	ret->files = c->n;
	ret->hits = c->hits;
	ret->misses = c->misses;
	ret->total_hits = c->total_hits;
	ret->total_misses = c->total_misses;
}
