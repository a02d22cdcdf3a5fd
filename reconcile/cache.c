/*
 * cache.c - the daemon's cache of observed state: a hash table of packed
 * entries behind one mutex (see cache.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/cache.h"
#include "util/buf.h"

struct entry {
	struct entry *next;
	uint64_t hash;
	uint64_t stored; /* monotonic ms */
	size_t key_len;  /* key = region '\n' name, NUL-terminated, then the packed state */
	size_t len;      /* bytes of packed state after the key */
	char data[];
};

struct reconcile_cache {
	pthread_mutex_t lock;
	uint64_t max_age;
	struct entry **buckets;
	size_t n_buckets; /* a power of two */
	struct reconcile_cache_stats st;
};

/* ---- packing: one allocation per entry ---- */

static int put_bytes(struct buf *b, const void *p, size_t n)
{
	return buf_put(b, p, n);
}

static int put_str(struct buf *b, const char *s)
{
	int r = buf_putc(b, s ? 1 : 0);

	if (r >= 0 && s)
		r = buf_put(b, s, strlen(s) + 1);
	return r;
}

static int put_long(struct buf *b, long v)
{
	return put_bytes(b, &v, sizeof(v));
}

static int put_version(struct buf *b, const struct plan_version *v)
{
	int r = put_long(b, v->number);

	if (r >= 0)
		r = put_str(b, v->code_sha256);
	if (r >= 0)
		r = put_bytes(b, &v->config.mask, sizeof(v->config.mask));
	for (int f = 0; r >= 0 && f < PLAN_CFG_N; f++)
		if (v->config.mask & (1u << f))
			r = put_str(b, v->config.val[f]);
	if (r >= 0)
		r = put_str(b, v->description);
	if (r >= 0)
		r = put_long(b, (long)v->state);
	return r;
}

/*
 * $LATEST is kept without its configuration and description: only a plan
 * that writes $LATEST reads them, and such a plan always observes afresh
 * (cache.h); its code and RevisionId stay.  A third less memory.
 */
static int pack(struct buf *b, const struct plan_observed *o)
{
	struct plan_version latest = o->latest;
	int r;

	latest.config = (struct plan_config){0, {NULL}};
	latest.description = NULL;
	r = put_version(b, &latest);

	if (r >= 0)
		r = put_str(b, o->revision_id);
	if (r >= 0)
		r = put_long(b, (long)o->state);
	if (r >= 0)
		r = put_long(b, (long)o->last_update);
	if (r >= 0)
		r = put_long(b, (long)o->n_versions);
	for (size_t i = 0; r >= 0 && i < o->n_versions; i++)
		r = put_version(b, &o->versions[i]);
	if (r >= 0)
		r = put_long(b, (long)o->n_aliases);
	for (size_t i = 0; r >= 0 && i < o->n_aliases; i++) {
		const struct plan_observed_alias *a = &o->aliases[i];

		r = put_str(b, a->name);
		if (r >= 0)
			r = put_long(b, a->version);
		if (r >= 0)
			r = put_long(b, a->extra_version);
		if (r >= 0)
			r = put_bytes(b, &a->weight, sizeof(a->weight));
		if (r >= 0)
			r = put_str(b, a->description);
		if (r >= 0)
			r = put_str(b, a->revision_id);
	}
	return r;
}

struct reader {
	const char *p, *end;
	bool bad;
};

static void get_bytes(struct reader *rd, void *out, size_t n)
{
	if (rd->bad || (size_t)(rd->end - rd->p) < n) {
		rd->bad = true;
		memset(out, 0, n);
		return;
	}
	memcpy(out, rd->p, n);
	rd->p += n;
}

static long get_long(struct reader *rd)
{
	long v;

	get_bytes(rd, &v, sizeof(v));
	return v;
}

/* A borrowed string (NULL: absent). */
static const char *get_str(struct reader *rd)
{
	char present = 0;
	const char *s, *nul;

	get_bytes(rd, &present, 1);
	if (!present || rd->bad)
		return NULL;
	s = rd->p;
	nul = memchr(s, '\0', (size_t)(rd->end - s));
	if (!nul) {
		rd->bad = true;
		return NULL;
	}
	rd->p = nul + 1;
	return s;
}

static void get_fixed(struct reader *rd, char *out, size_t outsz)
{
	const char *s = get_str(rd);

	snprintf(out, outsz, "%s", s ? s : "");
}

/* -ENOMEM, -EBADMSG (never: we packed it) */
static int get_dup(struct reader *rd, char **out)
{
	const char *s = get_str(rd);

	*out = NULL;
	if (s && !(*out = strdup(s)))
		return -ENOMEM;
	return rd->bad ? -EBADMSG : 0;
}

static int get_version(struct reader *rd, struct plan_version *v)
{
	int r = 0;

	v->number = get_long(rd);
	get_fixed(rd, v->code_sha256, sizeof(v->code_sha256));
	get_bytes(rd, &v->config.mask, sizeof(v->config.mask));
	for (int f = 0; r >= 0 && f < PLAN_CFG_N; f++)
		if (v->config.mask & (1u << f))
			r = get_dup(rd, &v->config.val[f]);
	if (r >= 0)
		r = get_dup(rd, &v->description);
	v->state = (enum plan_state)get_long(rd);
	return r < 0 ? r : rd->bad ? -EBADMSG : 0;
}

static int unpack(struct reader *rd, struct plan_observed *ret)
{
	struct plan_observed o = {0};
	long n;
	int r;

	o.exists = true;
	r = get_version(rd, &o.latest);
	get_fixed(rd, o.revision_id, sizeof(o.revision_id));
	o.state = (enum plan_state)get_long(rd);
	o.last_update = (enum plan_update)get_long(rd);
	n = get_long(rd);
	if (r < 0 || rd->bad || n < 0 || n > 1000000)
		goto bad;
	o.versions = calloc((size_t)n + 1, sizeof(*o.versions));
	if (!o.versions)
		goto nomem;
	for (long i = 0; i < n; i++) {
		if ((r = get_version(rd, &o.versions[i])) < 0) {
			o.n_versions = (size_t)i + 1;
			goto fail;
		}
		o.n_versions = (size_t)i + 1;
	}
	n = get_long(rd);
	if (rd->bad || n < 0 || n > 1000000)
		goto bad;
	o.aliases = calloc((size_t)n + 1, sizeof(*o.aliases));
	if (!o.aliases)
		goto nomem;
	for (long i = 0; i < n; i++) {
		struct plan_observed_alias *a = &o.aliases[i];

		o.n_aliases = (size_t)i + 1;
		if ((r = get_dup(rd, &a->name)) < 0)
			goto fail;
		a->version = get_long(rd);
		a->extra_version = get_long(rd);
		get_bytes(rd, &a->weight, sizeof(a->weight));
		if ((r = get_dup(rd, &a->description)) < 0)
			goto fail;
		get_fixed(rd, a->revision_id, sizeof(a->revision_id));
		if (!a->name)
			goto bad;
	}
	if (rd->bad)
		goto bad;
	*ret = o;
	return 0;
bad:
	r = -EBADMSG;
	goto fail;
nomem:
	r = -ENOMEM;
fail:
	plan_observed_release(&o);
	return r;
}

/* ---- the table ---- */

static uint64_t key_hash(const char *region, const char *function)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *p = region; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ '\n') * 1099511628211ULL;
	for (const char *p = function; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return h;
}

static bool key_is(const struct entry *e, const char *region, const char *function)
{
	size_t rl = strlen(region);

	return !strncmp(e->data, region, rl) && e->data[rl] == '\n' && !strcmp(e->data + rl + 1, function);
}

static size_t entry_bytes(const struct entry *e)
{
	return sizeof(*e) + e->key_len + 1 + e->len;
}

/* The slot holding `function`'s entry (or the NULL slot at the end of its chain). */
static struct entry **slot(struct reconcile_cache *c, const char *region, const char *function)
{
	struct entry **pp = &c->buckets[key_hash(region, function) & (c->n_buckets - 1)];

	while (*pp && !key_is(*pp, region, function))
		pp = &(*pp)->next;
	return pp;
}

static void unlink_entry(struct reconcile_cache *c, struct entry **pp)
{
	struct entry *e = *pp;

	*pp = e->next;
	c->st.entries--;
	c->st.bytes -= entry_bytes(e);
	free(e);
}

/* Double the buckets when the table holds more entries than buckets (no memory: stay). */
static void maybe_grow(struct reconcile_cache *c)
{
	size_t n = c->n_buckets * 2;
	struct entry **nb;

	if (c->st.entries < c->n_buckets)
		return;
	nb = calloc(n, sizeof(*nb));
	if (!nb)
		return;
	for (size_t i = 0; i < c->n_buckets; i++) {
		struct entry *e = c->buckets[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = nb[e->hash & (n - 1)];
			nb[e->hash & (n - 1)] = e;
		}
	}
	free(c->buckets);
	c->buckets = nb;
	c->n_buckets = n;
}

int reconcile_cache_new(struct reconcile_cache **ret, uint64_t max_age_ms)
{
	struct reconcile_cache *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->n_buckets = 64;
	c->buckets = calloc(c->n_buckets, sizeof(*c->buckets));
	if (!c->buckets) {
		free(c);
		return -ENOMEM;
	}
	pthread_mutex_init(&c->lock, NULL);
	c->max_age = max_age_ms;
	*ret = c;
	return 0;
}

void reconcile_cache_clear(struct reconcile_cache *c)
{
	if (!c)
		return;
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n_buckets; i++)
		while (c->buckets[i])
			unlink_entry(c, &c->buckets[i]);
	pthread_mutex_unlock(&c->lock);
}

void reconcile_cache_free(struct reconcile_cache *c)
{
	if (!c)
		return;
	reconcile_cache_clear(c);
	pthread_mutex_destroy(&c->lock);
	free(c->buckets);
	free(c);
}

void reconcile_cache_set_max_age(struct reconcile_cache *c, uint64_t max_age_ms)
{
	pthread_mutex_lock(&c->lock);
	c->max_age = max_age_ms;
	pthread_mutex_unlock(&c->lock);
}

int reconcile_cache_get(struct reconcile_cache *c, const char *region, const char *function, uint64_t now_ms,
                        struct plan_observed *ret)
{
	struct entry **pp, *e;
	struct reader rd;
	int r;

	if (!region)
		region = "";
	pthread_mutex_lock(&c->lock);
	pp = slot(c, region, function);
	e = *pp;
	if (e && c->max_age && now_ms - e->stored >= c->max_age) {
		unlink_entry(c, pp);
		e = NULL;
	}
	if (!e) {
		c->st.misses++;
		pthread_mutex_unlock(&c->lock);
		return 0;
	}
	rd = (struct reader){e->data + e->key_len + 1, e->data + e->key_len + 1 + e->len, false};
	r = unpack(&rd, ret);
	if (r < 0)
		unlink_entry(c, pp);
	else
		c->st.hits++;
	pthread_mutex_unlock(&c->lock);
	return r < 0 ? (r == -ENOMEM ? r : 0) : 1;
}

bool reconcile_cache_fresh(struct reconcile_cache *c, const char *region, const char *function,
                           uint64_t now_ms)
{
	const struct entry *e;
	bool fresh;

	if (!region)
		region = "";
	pthread_mutex_lock(&c->lock);
	e = *slot(c, region, function);
	fresh = e && (!c->max_age || now_ms - e->stored < c->max_age);
	pthread_mutex_unlock(&c->lock);
	return fresh;
}

int reconcile_cache_put(struct reconcile_cache *c, const char *region, const char *function,
                        const struct plan_observed *o, bool observed, uint64_t now_ms)
{
	struct buf b = BUF_INIT;
	struct entry *e = NULL, **pp;
	size_t kl;
	int r;

	if (!region)
		region = "";
	if (!o->exists) {
		reconcile_cache_invalidate(c, region, function);
		return 0;
	}
	kl = strlen(region) + 1 + strlen(function);
	r = pack(&b, o);
	if (r >= 0 && !(e = malloc(sizeof(*e) + kl + 1 + b.len)))
		r = -ENOMEM;
	if (r < 0) {
		buf_release(&b);
		reconcile_cache_invalidate(c, region, function);
		return r;
	}
	e->next = NULL;
	e->hash = key_hash(region, function);
	e->stored = now_ms;
	e->key_len = kl;
	e->len = b.len;
	snprintf(e->data, kl + 1, "%s\n%s", region, function);
	memcpy(e->data + kl + 1, b.ptr, b.len);
	buf_release(&b);
	pthread_mutex_lock(&c->lock);
	pp = slot(c, region, function);
	if (!observed && (!*pp || (c->max_age && now_ms - (*pp)->stored >= c->max_age))) {
		/* nothing to keep the age of (dropped or stale meanwhile): not worth storing */
		pthread_mutex_unlock(&c->lock);
		free(e);
		return 0;
	}
	if (!observed)
		e->stored = (*pp)->stored;
	if (*pp) {
		e->next = (*pp)->next;
		c->st.bytes -= entry_bytes(*pp);
		free(*pp);
		*pp = e;
	} else {
		*pp = e;
		c->st.entries++;
	}
	c->st.bytes += entry_bytes(e);
	maybe_grow(c);
	pthread_mutex_unlock(&c->lock);
	return 0;
}

void reconcile_cache_invalidate(struct reconcile_cache *c, const char *region, const char *function)
{
	struct entry **pp;

	if (!region)
		region = "";
	pthread_mutex_lock(&c->lock);
	pp = slot(c, region, function);
	if (*pp) {
		unlink_entry(c, pp);
		c->st.invalidations++;
	}
	pthread_mutex_unlock(&c->lock);
}

void reconcile_cache_stats(struct reconcile_cache *c, struct reconcile_cache_stats *ret)
{
	pthread_mutex_lock(&c->lock);
	*ret = c->st;
	pthread_mutex_unlock(&c->lock);
}

/* ---- the observed state after a write ---- */

static int version_copy(struct plan_version *dst, const struct plan_version *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->number = src->number;
	memcpy(dst->code_sha256, src->code_sha256, sizeof(dst->code_sha256));
	dst->state = src->state;
	if (src->description && !(dst->description = strdup(src->description)))
		return -ENOMEM;
	return plan_config_copy(&dst->config, &src->config);
}

int reconcile_observed_copy(struct plan_observed *dst, const struct plan_observed *src)
{
	struct plan_observed o = {0};

	o.exists = src->exists;
	memcpy(o.revision_id, src->revision_id, sizeof(o.revision_id));
	o.state = src->state;
	o.last_update = src->last_update;
	o.versions = calloc(src->n_versions + 1, sizeof(*o.versions));
	o.aliases = calloc(src->n_aliases + 1, sizeof(*o.aliases));
	if (!o.versions || !o.aliases || version_copy(&o.latest, &src->latest) < 0)
		goto nomem;
	for (size_t i = 0; i < src->n_versions; i++) {
		o.n_versions = i + 1;
		if (version_copy(&o.versions[i], &src->versions[i]) < 0)
			goto nomem;
	}
	for (size_t i = 0; i < src->n_aliases; i++) {
		const struct plan_observed_alias *s = &src->aliases[i];
		struct plan_observed_alias *a = &o.aliases[i];

		o.n_aliases = i + 1;
		*a = *s;
		a->name = a->description = NULL;
		if (!(a->name = strdup(s->name)) ||
		    (s->description && !(a->description = strdup(s->description))))
			goto nomem;
	}
	*dst = o;
	return 0;
nomem:
	plan_observed_release(&o);
	memset(dst, 0, sizeof(*dst));
	return -ENOMEM;
}

static struct plan_observed_alias *alias_find(struct plan_observed *o, const char *name)
{
	for (size_t i = 0; i < o->n_aliases; i++)
		if (!strcmp(o->aliases[i].name, name))
			return &o->aliases[i];
	return NULL;
}

static int alias_set(struct plan_observed *after, const struct plan_alias *a, long version, long extra,
                     double weight, const char *alias_rev)
{
	struct plan_observed_alias *oa = alias_find(after, a->name);

	if (!alias_rev || !alias_rev[0])
		return -ESTALE;
	if (!oa) {
		struct plan_observed_alias *na =
		    realloc(after->aliases, (after->n_aliases + 1) * sizeof(*na));

		if (!na)
			return -ENOMEM;
		after->aliases = na;
		oa = &na[after->n_aliases];
		memset(oa, 0, sizeof(*oa));
		if (!(oa->name = strdup(a->name)))
			return -ENOMEM;
		after->n_aliases++;
	}
	oa->version = version;
	oa->extra_version = a->weighted ? extra : 0;
	oa->weight = a->weighted ? weight : 0;
	if (a->description) {
		char *desc = strdup(a->description);

		if (!desc)
			return -ENOMEM;
		free(oa->description);
		oa->description = desc;
	}
	snprintf(oa->revision_id, sizeof(oa->revision_id), "%s", alias_rev);
	return 0;
}

static void alias_remove(struct plan_observed *after, const char *name)
{
	struct plan_observed_alias *oa = alias_find(after, name);
	size_t i;

	if (!oa)
		return;
	i = (size_t)(oa - after->aliases);
	free(oa->name);
	free(oa->description);
	memmove(oa, oa + 1, (after->n_aliases - i - 1) * sizeof(*oa));
	after->n_aliases--;
}

static void version_remove(struct plan_observed *after, long number)
{
	for (size_t i = 0; i < after->n_versions; i++) {
		if (after->versions[i].number != number)
			continue;
		plan_version_release(&after->versions[i]);
		memmove(&after->versions[i], &after->versions[i + 1],
		        (after->n_versions - i - 1) * sizeof(after->versions[0]));
		after->n_versions--;
		return;
	}
}

static int version_add(struct plan_observed *after, struct plan_version *made)
{
	struct plan_version *nv;

	if (made->number <= 0)
		return -ESTALE; /* a publish whose answer we do not hold: observe next time */
	version_remove(after, made->number);
	nv = realloc(after->versions, (after->n_versions + 1) * sizeof(*nv));
	if (!nv)
		return -ENOMEM;
	after->versions = nv;
	nv[after->n_versions] = *made;
	/* the pass waits for it to be Active before it completes (WAIT_VERSION) */
	nv[after->n_versions].state = PLAN_STATE_ACTIVE;
	after->n_versions++;
	memset(made, 0, sizeof(*made));
	return 0;
}

int reconcile_observed_apply(struct plan_observed *after, const struct plan *p, const struct plan_step *s,
                             const struct plan_desired *d, const struct plan_observed *o, long version,
                             long extra, double weight, const char *alias_rev, struct plan_version *made)
{
	(void)p;
	switch (s->kind) {
	case PLAN_STEP_CREATE_ALIAS:
	case PLAN_STEP_UPDATE_ALIAS:
		if (s->alias < 0 || (size_t)s->alias >= d->n_aliases)
			return -ESTALE;
		return alias_set(after, &d->aliases[s->alias], version, extra, weight, alias_rev);
	case PLAN_STEP_DELETE_ALIAS:
		if (s->obs_alias < 0 || (size_t)s->obs_alias >= o->n_aliases)
			return -ESTALE;
		alias_remove(after, o->aliases[s->obs_alias].name);
		return 0;
	case PLAN_STEP_DELETE_VERSION:
		version_remove(after, s->version);
		return 0;
	case PLAN_STEP_CREATE_FUNCTION:
		after->exists = true;
		after->revision_id[0] = '\0';
		if (made->number <= 0)
			return 0;                /* created without a publish: PUBLISH adds the version */
		return version_add(after, made); /* the create carried the publish of version 1 */
	case PLAN_STEP_PUBLISH:
		return version_add(after, made);
	case PLAN_STEP_UPDATE_CODE:
	case PLAN_STEP_UPDATE_CONFIG:
		after->revision_id[0] = '\0'; /* $LATEST moved: its old RevisionId is stale */
		return 0;
	case PLAN_STEP_WAIT_UPDATED:
	case PLAN_STEP_WAIT_VERSION:
	case PLAN_STEP_ROLLOUT_HELD:
		return 0;
	case PLAN_STEP_ROLLOUT: /* its writes are the rollout's own: apply drops the entry */
		return -ESTALE;
	}
	return -ESTALE;
}
