/*
 * history.c - the releases the last commits declared, and the zip hash
 * cache by blob id (see history.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/history.h"
#include "manifest/load_internal.h"
#include "util/codec.h"

/* ---- the zip cache: open addressing on the blob id ---- */

/* The blob id in binary: 80 bytes a zip, not 104 (10,000 zips: 1.3 MiB of slots, not 3.4) */
struct zip_slot {
	uint64_t size;
	unsigned char id[20];
	char sha256[MANIFEST_SHA256_B64_SIZE];
	bool used;
};

struct manifest_zip_cache {
	pthread_mutex_t lock;
	struct zip_slot *slots;
	size_t cap; /* 0, or a power of two, at most 3/4 full */
	size_t n, max;
	size_t puts, hits;
};

int manifest_zip_cache_new(struct manifest_zip_cache **ret, size_t max)
{
	struct manifest_zip_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->max = max ? max : MANIFEST_ZIP_CACHE_DEFAULT;
	pthread_mutex_init(&c->lock, NULL); /* slots come with the first put, and grow */
	*ret = c;
	return 0;
}

void manifest_zip_cache_free(struct manifest_zip_cache *c)
{
	if (!c)
		return;
	pthread_mutex_destroy(&c->lock);
	free(c->slots);
	free(c);
}

static bool blob_id_ok(const char *id)
{
	size_t n = 0;

	for (; id && id[n]; n++)
		if (!((id[n] >= '0' && id[n] <= '9') || (id[n] >= 'a' && id[n] <= 'f')))
			return false;
	return n == 40;
}

/* The slot of `id` (binary), or the empty slot where it goes.  Under the lock. */
static struct zip_slot *zip_find(struct manifest_zip_cache *c, const unsigned char id[20])
{
	size_t mask = c->cap - 1, i = 0;

	/* a blob id is already a hash: its first 8 bytes will do */
	for (int k = 0; k < 8; k++)
		i = (i << 8) | id[k];
	for (i &= mask; c->slots[i].used && memcmp(c->slots[i].id, id, 20); i = (i + 1) & mask)
		;
	return &c->slots[i];
}

/* Twice the slots (1024 at first), every entry moved over.  Under the lock. */
static int grow(struct manifest_zip_cache *c)
{
	size_t ncap = c->cap ? c->cap * 2 : 1024;
	struct zip_slot *old = c->slots;
	size_t ocap = c->cap;

	c->slots = calloc(ncap, sizeof(*c->slots));
	if (!c->slots) {
		c->slots = old;
		return -ENOMEM;
	}
	c->cap = ncap;
	for (size_t i = 0; i < ocap; i++)
		if (old[i].used)
			*zip_find(c, old[i].id) = old[i];
	free(old);
	return 0;
}

bool manifest_zip_cache_get(struct manifest_zip_cache *c, const char *blob_id, uint64_t *ret_size,
                            char ret_sha256[MANIFEST_SHA256_B64_SIZE])
{
	struct zip_slot *s;
	unsigned char id[20];
	bool found = false;

	if (!c || !blob_id_ok(blob_id) || codec_hex_decode(id, sizeof(id), blob_id) < 0)
		return false;
	pthread_mutex_lock(&c->lock);
	s = c->cap ? zip_find(c, id) : NULL;
	if (s && s->used) {
		*ret_size = s->size;
		memcpy(ret_sha256, s->sha256, MANIFEST_SHA256_B64_SIZE);
		c->hits++;
		found = true;
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

int manifest_zip_cache_put(struct manifest_zip_cache *c, const char *blob_id, uint64_t size,
                           const char *sha256)
{
	struct zip_slot *s;
	unsigned char id[20];

	if (!c || !blob_id_ok(blob_id) || codec_hex_decode(id, sizeof(id), blob_id) < 0 || !sha256 ||
	    strlen(sha256) >= MANIFEST_SHA256_B64_SIZE)
		return 0;
	pthread_mutex_lock(&c->lock);
	if (c->n >= c->max) { /* full: start over (simple, bounded) */
		memset(c->slots, 0, c->cap * sizeof(*c->slots));
		c->n = 0;
	}
	if ((c->n + 1) * 4 > c->cap * 3 && grow(c) < 0) { /* at most 3/4 full */
		pthread_mutex_unlock(&c->lock);
		return -ENOMEM;
	}
	s = zip_find(c, id);
	if (!s->used) {
		memcpy(s->id, id, sizeof(id));
		s->used = true;
		c->n++;
	}
	s->size = size;
	snprintf(s->sha256, sizeof(s->sha256), "%s", sha256);
	c->puts++;
	pthread_mutex_unlock(&c->lock);
	return 0;
}

size_t manifest_zip_cache_puts(struct manifest_zip_cache *c)
{
	size_t n;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	n = c->puts;
	pthread_mutex_unlock(&c->lock);
	return n;
}

size_t manifest_zip_cache_hits(struct manifest_zip_cache *c)
{
	size_t n;

	if (!c)
		return 0;
	pthread_mutex_lock(&c->lock);
	n = c->hits;
	pthread_mutex_unlock(&c->lock);
	return n;
}

/* ---- the walk ---- */

struct manifest_history *manifest_history_ref(struct manifest_history *h)
{
	if (h)
		__atomic_add_fetch(&h->refs, 1, __ATOMIC_RELAXED);
	return h;
}

void manifest_history_free(struct manifest_history *h)
{
	if (!h || __atomic_sub_fetch(&h->refs, 1, __ATOMIC_ACQ_REL) > 0)
		return;
	for (size_t i = 0; i < h->n_functions; i++) {
		struct manifest_history_list *l = &h->functions[i];

		for (size_t k = 0; k < l->n; k++)
			load_release_release(&l->entries[k].release);
		free(l->entries);
		free(l->name);
		free(l->region);
		free(l->account);
	}
	free(h->functions);
	free(h->window);
	free(h->key);
	free(h);
}

const struct manifest_history_list *manifest_history_find(const struct manifest_history *h,
                                                          const struct manifest_function *fn)
{
	size_t i;

	if (!h || !fn || !h->set || fn < h->set->functions || fn >= h->set->functions + h->set->n_functions)
		return NULL;
	i = (size_t)(fn - h->set->functions);
	return i < h->n_functions ? &h->functions[i] : NULL;
}

/* What resolution needs of `src`: name, pin, code kind and hash, config. */
static int release_copy(struct manifest_release *dst, const struct manifest_release *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->name = strdup(src->name ? src->name : "");
	dst->line = src->line;
	dst->col = src->col;
	dst->version = src->version;
	dst->code.kind = src->code.kind;
	dst->code.zip_size = src->code.zip_size;
	memcpy(dst->code.sha256, src->code.sha256, sizeof(dst->code.sha256));
	if (!dst->name || load_config_copy(&dst->config, &src->config) < 0) {
		load_release_release(dst);
		return -ENOMEM;
	}
	return 0;
}

static bool str_eq(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

/* The same managed fields with the same values (env sorted by name: compared in order). */
static bool config_equal(const struct manifest_config *a, const struct manifest_config *b)
{
	if (a->set != b->set || !str_eq(a->runtime, b->runtime) || !str_eq(a->handler, b->handler) ||
	    !str_eq(a->role, b->role) || a->memory_size != b->memory_size || a->timeout != b->timeout ||
	    a->ephemeral_storage != b->ephemeral_storage || !str_eq(a->description, b->description) ||
	    a->n_env != b->n_env)
		return false;
	for (size_t i = 0; i < a->n_env; i++)
		if (!str_eq(a->env[i].name, b->env[i].name) || !str_eq(a->env[i].value, b->env[i].value))
			return false;
	return true;
}

/* Is `r` (declared in an older commit) already in `list` with the same pin, code and config? */
static bool list_has(const struct manifest_history_list *list, const struct manifest_release *r)
{
	for (size_t k = 0; k < list->n; k++) {
		const struct manifest_release *e = &list->entries[k].release;

		if (e->version == r->version && e->code.kind == r->code.kind &&
		    !strcmp(e->code.sha256, r->code.sha256) && config_equal(&e->config, &r->config))
			return true;
	}
	return false;
}

/* Add every release of `g` (declared in `commit`) that `list` lacks. */
static int list_add(struct manifest_history_list *list, const struct manifest_function *g, const char *commit)
{
	struct manifest_history_entry *ne;

	if (!g->n_releases)
		return 0;
	ne = realloc(list->entries, (list->n + g->n_releases) * sizeof(*ne));
	if (!ne)
		return -ENOMEM;
	list->entries = ne;
	for (size_t k = 0; k < g->n_releases; k++) {
		if (list_has(list, &g->releases[k]))
			continue;
		if (release_copy(&ne[list->n].release, &g->releases[k]) < 0)
			return -ENOMEM;
		snprintf(ne[list->n].commit, sizeof(ne[list->n].commit), "%s", commit);
		list->n++;
	}
	return 0;
}

/* Commit number `depth` of the window (set `old`, id `commit`): add what each function's window holds. */
static int history_add_commit(struct manifest_history *h, const struct manifest_set *old, const char *commit,
                              unsigned depth, const struct manifest_load_options *opt)
{
	const struct manifest_set *set = h->set;

	for (size_t i = 0; i < set->n_functions; i++) {
		const struct manifest_function *f = &set->functions[i];

		if (f->n_errors || f->prune.keep_history <= (int64_t)depth)
			continue;
		h->functions[i].commits = depth + 1;
		for (size_t j = 0; j < old->n_functions; j++) {
			const struct manifest_function *g = &old->functions[j];
			int r;

			if (g->n_errors || !manifest_function_same(f, g, opt))
				continue;
			if ((r = list_add(&h->functions[i], g, commit)) < 0)
				return r;
		}
	}
	return 0;
}

static char *dup_or_null(const char *s, bool *ok)
{
	char *d = s ? strdup(s) : NULL;

	if (s && !d)
		*ok = false;
	return d;
}

/* "subdir\nregion\naccount": what makes two collects comparable. */
static char *history_key(const char *subdir, const struct manifest_load_options *opt)
{
	char *k = NULL;

	if (asprintf(&k, "%s\n%s\n%s", subdir ? subdir : "",
	             opt && opt->default_region ? opt->default_region : "",
	             opt && opt->default_account ? opt->default_account : "") < 0)
		return NULL;
	return k;
}

static int window_add(struct manifest_history *h, unsigned max, const char *id)
{
	if (!h->window && !(h->window = calloc(max, sizeof(*h->window))))
		return -ENOMEM;
	if (h->commits < max)
		snprintf(h->window[h->commits], sizeof(h->window[0]), "%s", id);
	return 0;
}

static int identity_cmp(const char *an, const char *ar, const char *aa, const char *bn, const char *br,
                        const char *ba)
{
	int c = strcmp(an, bn);

	if (!c)
		c = strcmp(ar ? ar : "", br ? br : "") ?: (!ar - !br);
	if (!c)
		c = strcmp(aa ? aa : "", ba ? ba : "") ?: (!aa - !ba);
	return c;
}

static int list_cmp(const void *pa, const void *pb)
{
	const struct manifest_history_list *a = *(const struct manifest_history_list *const *)pa;
	const struct manifest_history_list *b = *(const struct manifest_history_list *const *)pb;

	return identity_cmp(a->name, a->region, a->account, b->name, b->region, b->account);
}

/* prev's list of exactly f's identity (sorted index of prev's lists), or NULL. */
static const struct manifest_history_list *prev_find(const struct manifest_history_list *const *idx, size_t n,
                                                     const struct manifest_function *f)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = identity_cmp(idx[mid]->name, idx[mid]->region, idx[mid]->account, f->name, f->region,
		                     f->account);

		if (!c)
			return idx[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Is `id` one of the first `n` commits of prev's window? */
static bool in_window(const struct manifest_history *prev, unsigned n, const char *id)
{
	for (unsigned k = 0; k < n && k < prev->commits; k++)
		if (!strcmp(prev->window[k], id))
			return true;
	return false;
}

/*
 * Derive h (its current commit added already) from `prev`, collected for
 * the parent commit: 1 done, 0 not possible (walk in full), -ENOMEM.
 */
static int history_from_prev(struct manifest_history *h, const struct manifest_history *prev,
                             const char *parent, unsigned depth_max)
{
	const struct manifest_set *set = h->set;
	const struct manifest_history_list **idx = NULL;
	size_t n_idx = 0;
	int r = 0;

	if (!prev || prev->no_history || !prev->commits || !prev->window || strcmp(prev->window[0], parent) ||
	    !prev->key || !h->key || strcmp(prev->key, h->key))
		return 0;
	idx = calloc(prev->n_functions + 1, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < prev->n_functions; i++)
		if (prev->functions[i].name && prev->functions[i].keep_history > 0)
			idx[n_idx++] = &prev->functions[i];
	qsort(idx, n_idx, sizeof(*idx), list_cmp);
	/* every function with keepHistory must be covered deeply enough */
	for (size_t i = 0; i < set->n_functions; i++) {
		const struct manifest_function *f = &set->functions[i];
		const struct manifest_history_list *pl;
		unsigned need = (unsigned)f->prune.keep_history - 1; /* commits wanted from prev */

		if (f->n_errors || f->prune.keep_history <= 1)
			continue;
		pl = prev_find(idx, n_idx, f);
		if (!pl || (pl->commits < need && !(prev->ended && pl->commits == prev->commits)))
			goto out; /* r = 0 */
	}
	for (size_t i = 0; i < set->n_functions; i++) {
		const struct manifest_function *f = &set->functions[i];
		struct manifest_history_list *l = &h->functions[i];
		const struct manifest_history_list *pl;
		unsigned need;

		if (f->n_errors || f->prune.keep_history <= 1)
			continue;
		need = (unsigned)f->prune.keep_history - 1;
		pl = prev_find(idx, n_idx, f);
		for (size_t k = 0; k < pl->n; k++) {
			const struct manifest_history_entry *e = &pl->entries[k];
			struct manifest_history_entry *ne;

			if (!in_window(prev, need, e->commit) || list_has(l, &e->release))
				continue;
			ne = realloc(l->entries, (l->n + 1) * sizeof(*ne));
			if (!ne) {
				r = -ENOMEM;
				goto out;
			}
			l->entries = ne;
			if (release_copy(&ne[l->n].release, &e->release) < 0) {
				r = -ENOMEM;
				goto out;
			}
			memcpy(ne[l->n].commit, e->commit, sizeof(ne[l->n].commit));
			l->n++;
		}
		l->commits = 1 + (pl->commits < need ? pl->commits : need);
	}
	for (unsigned k = 0; k < prev->commits && h->commits < depth_max; k++) {
		if ((r = window_add(h, depth_max, prev->window[k])) < 0)
			goto out;
		h->commits++;
	}
	h->ended = prev->ended && prev->commits + 1 <= depth_max;
	r = 1;
out:
	free(idx);
	return r;
}

int manifest_history_collect(struct manifest_history **ret, struct manifest_source *src, const char *subdir,
                             const struct manifest_set *set, const struct manifest_load_options *opt,
                             const struct manifest_history_options *hopt, struct error *err)
{
	struct manifest_history *h = calloc(1, sizeof(*h));
	struct manifest_load_options lo = {0};
	struct manifest_source *cur = NULL; /* owned, once past src */
	int64_t depth_max = 0;
	int r = -ENOMEM;

	if (!h)
		return error_set(err, -ENOMEM, "out of memory");
	h->refs = 1;
	h->set = set;
	if (opt)
		lo = *opt;
	lo.zip_cache = hopt ? hopt->cache : NULL;
	lo.file_cache = NULL; /* older commits: the cache keeps only the latest load's files */
	for (size_t i = 0; i < set->n_functions; i++)
		if (!set->functions[i].n_errors && set->functions[i].prune.keep_history > depth_max)
			depth_max = set->functions[i].prune.keep_history;
	if (set->n_functions) {
		h->functions = calloc(set->n_functions, sizeof(*h->functions));
		if (!h->functions)
			goto fail;
		h->n_functions = set->n_functions;
	}
	for (size_t i = 0; i < set->n_functions; i++) {
		const struct manifest_function *f = &set->functions[i];
		struct manifest_history_list *l = &h->functions[i];
		bool ok = true;

		if (f->n_errors || f->prune.keep_history <= 0)
			continue;
		l->name = dup_or_null(f->name, &ok);
		l->region = dup_or_null(f->region, &ok);
		l->account = dup_or_null(f->account, &ok);
		l->keep_history = f->prune.keep_history;
		if (!ok)
			goto fail;
	}
	if (!(h->key = history_key(subdir, opt)))
		goto fail;
	if (!depth_max) {
		*ret = h;
		return 0;
	}
	if (!src->ops->blob_id || !src->revision[0]) {
		h->no_history = true;
		*ret = h;
		return 0;
	}
	/* the current commit is the first of every window */
	if ((r = history_add_commit(h, set, src->revision, 0, opt)) < 0 ||
	    (r = window_add(h, (unsigned)depth_max, src->revision)) < 0)
		goto fail;
	h->commits = 1;
	if (hopt && hopt->prev && depth_max > 1) {
		struct manifest_source *parent = NULL;

		r = manifest_source_parent(src, &parent, err);
		if (r == 1)
			r = history_from_prev(h, hopt->prev, parent->revision, (unsigned)depth_max);
		manifest_source_free(parent);
		if (r == -ENOMEM)
			goto fail;
		if (r == 1) {
			*ret = h;
			return 0;
		}
		/* anything else: walk in full (its own errors are reported there) */
		error_clear(err);
	}
	for (unsigned depth = 1; depth < (unsigned)depth_max; depth++) {
		struct manifest_source *parent = NULL;
		struct manifest_set *old = NULL;

		r = manifest_source_parent(cur ? cur : src, &parent, err);
		if (r == -EINVAL && !cur) {
			h->no_history = true;
			break;
		}
		if (r < 0)
			goto fail_err;
		if (r == 0) {
			h->ended = true; /* the root commit, or a shallow clone's edge */
			break;
		}
		manifest_source_free(cur);
		cur = parent;
		r = manifest_load_with(&old, cur, subdir, &lo, err);
		if (r == -ENOMEM)
			goto fail_err;
		if (r < 0) { /* an older tree without the manifest folder: the window ends here */
			h->ended = true;
			break;
		}
		h->loaded++;
		r = history_add_commit(h, old, cur->revision, depth, opt);
		manifest_set_free(old); /* what the history needs is copied */
		if (r >= 0)
			r = window_add(h, (unsigned)depth_max, cur->revision);
		if (r < 0)
			goto fail;
		h->commits = depth + 1;
		if (hopt && hopt->progress)
			hopt->progress(hopt->arg, h->commits);
	}
	manifest_source_free(cur);
	*ret = h;
	return 0;
fail:
	error_set(err, r, "out of memory");
fail_err:
	manifest_source_free(cur);
	manifest_history_free(h);
	return r;
}
