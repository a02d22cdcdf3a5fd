/*
 * load_cache.c - units (one manifest file parsed on its own, load_internal.h)
 * and the file cache that keeps them across loads (load.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/load_internal.h"
#include "util/codec.h"

struct manifest_file_cache {
	struct manifest_unit **slots; /* NULL = empty */
	size_t cap, n;                /* cap: a power of two, or 0 */
	size_t hits, misses, total_hits, total_misses;
	struct load_pool *pool; /* strings of the units it made (a reference) */
};

/* ---- the string pool ---- */

/* Rotate a file cache's pool (start a new one) past this many bytes of strings. */
#define POOL_MAX ((size_t)1 << 20)

struct load_pool *load_pool_new(void)
{
	struct load_pool *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	atomic_init(&p->refs, 1);
	arena_init(&p->arena, 4096);
	return p;
}

struct load_pool *load_pool_ref(struct load_pool *p)
{
	if (p)
		atomic_fetch_add_explicit(&p->refs, 1, memory_order_relaxed);
	return p;
}

void load_pool_unref(struct load_pool *p)
{
	if (!p || atomic_fetch_sub_explicit(&p->refs, 1, memory_order_acq_rel) != 1)
		return;
	arena_release(&p->arena);
	free(p->slots);
	free(p);
}

static size_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)(h ^ (h >> 31));
}

static char **pool_slot(char **slots, size_t cap, const char *s)
{
	size_t mask = cap - 1, i = str_hash(s) & mask;

	while (slots[i] && strcmp(slots[i], s))
		i = (i + 1) & mask;
	return &slots[i];
}

/* `s` from the pool, added if new; NULL when out of memory. */
static char *pool_intern(struct load_pool *p, const char *s)
{
	char **slot;

	if ((p->n + 1) * 4 > p->cap * 3) { /* at most 3/4 full */
		size_t ncap = p->cap ? p->cap * 2 : 256;
		char **nv = calloc(ncap, sizeof(*nv));

		if (!nv)
			return NULL;
		for (size_t i = 0; i < p->cap; i++)
			if (p->slots[i])
				*pool_slot(nv, ncap, p->slots[i]) = p->slots[i];
		free(p->slots);
		p->slots = nv;
		p->cap = ncap;
	}
	slot = pool_slot(p->slots, p->cap, s);
	if (!*slot) {
		*slot = arena_strdup(&p->arena, s);
		if (!*slot)
			return NULL;
		p->n++;
	}
	return *slot;
}

void load_pool_done(struct load_pool *p)
{
	if (!p)
		return;
	free(p->slots);
	p->slots = NULL;
	p->cap = p->n = 0;
}

char *load_shared(struct loader *l, const char *s)
{
	if (!s)
		return NULL;
	if (!l->pool || strlen(s) > LOAD_POOL_STR_MAX)
		return arena_strdup(l->arena, s);
	return pool_intern(l->pool, s);
}

/* The pool of a load: the file cache's (a new one once it is big), or one of its own. */
struct load_pool *load_pool_for(struct manifest_file_cache *c)
{
	if (!c)
		return load_pool_new();
	if (c->pool && c->pool->arena.used > POOL_MAX) {
		load_pool_done(c->pool);
		load_pool_unref(c->pool); /* the units using it keep it */
		c->pool = NULL;
	}
	if (!c->pool)
		c->pool = load_pool_new();
	return load_pool_ref(c->pool);
}

/* The scratch arena a file is parsed in: most files fit in one chunk, and are then compacted. */
#define SCRATCH_CHUNK ((size_t)256 << 10)

bool load_blob_bin(const char *hex, unsigned char out[UNIT_BLOB_SIZE])
{
	return strlen(hex) == 2 * UNIT_BLOB_SIZE && codec_hex_decode(out, UNIT_BLOB_SIZE, hex) == 0;
}

struct manifest_unit *load_unit_start(struct loader *l, const char *path, const char *blob_hex)
{
	struct manifest_unit *u;

	if (!l->scratch.chunk)
		arena_init(&l->scratch, SCRATCH_CHUNK);
	arena_reset(&l->scratch);
	u = arena_alloc(&l->scratch, sizeof(*u));
	if (!u)
		return NULL;
	u->path = arena_strdup(&l->scratch, path);
	if (!u->path)
		return NULL;
	atomic_init(&u->refs, 1);
	u->has_blob = blob_hex && load_blob_bin(blob_hex, u->blob);
	u->cacheable = true;
	u->pool = load_pool_ref(l->pool); /* the pool outlives every unit with its strings */
	return u;
}

#define MV(p) ((p) = arena_moved(m, (p)))

/* A config's strings; its env array's contents too unless `shared` (moved with the function's). */
static void move_config(const struct arena_move *m, struct manifest_config *c, bool shared)
{
	MV(c->runtime);
	MV(c->handler);
	MV(c->role);
	MV(c->description);
	MV(c->env);
	for (size_t i = 0; !shared && i < c->n_env; i++) {
		MV(c->env[i].name);
		MV(c->env[i].value);
	}
}

/* Every pointer of a function that was copied byte for byte with its arena. */
static void move_function(const struct arena_move *m, struct manifest_function *f)
{
	const struct manifest_env_var *env = f->config.env; /* as the releases may share it */

	MV(f->name);
	MV(f->region);
	MV(f->account);
	MV(f->file);
	move_config(m, &f->config, false);
	MV(f->releases);
	for (size_t i = 0; i < f->n_releases; i++) {
		struct manifest_release *r = &f->releases[i];

		MV(r->name);
		MV(r->description);
		MV(r->code.zip_path);
		MV(r->code.s3_bucket);
		MV(r->code.s3_key);
		MV(r->code.s3_object_version);
		MV(r->code.image_uri);
		move_config(m, &r->config, r->config.env == env);
	}
	MV(f->aliases);
	for (size_t i = 0; i < f->n_aliases; i++) {
		struct manifest_alias *a = &f->aliases[i];
		struct manifest_rollout *ro;

		MV(a->name);
		MV(a->primary.release);
		MV(a->weighted.release);
		MV(a->description);
		ro = MV(a->rollout);
		if (!ro)
			continue;
		MV(ro->codedeploy);
		MV(ro->pre_traffic);
		MV(ro->alarms);
		for (size_t k = 0; ro->alarms && k < ro->spec.n_alarms; k++)
			MV(ro->alarms[k]);
	}
}

struct manifest_unit *load_unit_seal(struct loader *l, struct manifest_unit *u)
{
	struct arena dst;
	struct arena_move mv;
	const struct arena_move *m = &mv;
	int r = arena_compact(&dst, &l->scratch, &mv.lo, &mv.hi, &mv.delta);

	if (r == -E2BIG) {
		/* a big file: it keeps the scratch's chunks, and a new scratch starts */
		u->chunks = arena_detach(&l->scratch);
		arena_init(&l->scratch, SCRATCH_CHUNK);
		return u;
	}
	if (r < 0)
		return NULL;
	u = arena_moved(m, u);
	MV(u->path);
	MV(u->functions);
	MV(u->zips);
	for (size_t i = 0; i < u->n_zips; i++)
		MV(u->zips[i].path);
	for (size_t i = 0; i < u->n_functions; i++)
		move_function(m, &u->functions[i]);
	u->chunks = arena_detach(&dst);
	return u;
}

#undef MV

void load_unit_unref(struct manifest_unit *u)
{
	if (!u || atomic_fetch_sub_explicit(&u->refs, 1, memory_order_acq_rel) != 1)
		return;
	if (u->errors) {
		errlist_release(u->errors);
		free(u->errors);
	}
	load_pool_unref(u->pool);
	arena_chunks_free(u->chunks); /* the unit itself is in them */
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
		unsigned char bin[UNIT_BLOB_SIZE] = {0};

		if (!ce)
			return -ENOMEM;
		if (ce->blob[0] && !load_blob_bin(ce->blob, bin))
			return 0;
		if (ce->transient || ce->type != (enum source_type)z->type ||
		    memcmp(bin, z->blob, sizeof(bin)))
			return 0;
	}
	return 1;
}

/* ---- the file cache: open addressing by (path, blob) ---- */

static size_t key_hash(const char *path, const unsigned char *blob)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *path; path++) {
		h ^= (unsigned char)*path;
		h *= 1099511628211ULL;
	}
	/* a blob id is already a hash: mix in its first 8 bytes */
	for (int k = 0; k < 8; k++)
		h = (h << 8 | h >> 56) ^ blob[k];
	return (size_t)(h ^ (h >> 29));
}

static struct manifest_unit **slot_of(struct manifest_unit **slots, size_t cap, const char *path,
                                      const unsigned char *blob)
{
	size_t mask = cap - 1, i = key_hash(path, blob) & mask;

	while (slots[i] && (memcmp(slots[i]->blob, blob, UNIT_BLOB_SIZE) || strcmp(slots[i]->path, path)))
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
	load_pool_unref(c->pool);
	free(c);
}

struct manifest_unit *load_cache_get(struct manifest_file_cache *c, const char *path, const char *blob)
{
	struct manifest_unit **s;
	unsigned char bin[UNIT_BLOB_SIZE];

	if (!c || !c->cap || !load_blob_bin(blob, bin))
		return NULL;
	s = slot_of(c->slots, c->cap, path, bin);
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
	while (cap * 3 < n * 4) /* at most 3/4 full */
		cap *= 2;
	slots = calloc(cap, sizeof(*slots));
	if (!slots) {
		cache_clear(c);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		struct manifest_unit **s;

		if (!units[i]->cacheable || !units[i]->has_blob)
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
