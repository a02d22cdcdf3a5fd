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
#include "util/codec.h"

struct entry {
	struct entry *next;
	uint64_t hash;
	uint64_t stored;  /* monotonic ms */
	uint32_t key_len; /* key = region '\n' name, NUL-terminated, then the packed state */
	uint32_t len;     /* bytes of packed state after the key */
	char data[];
};

struct reconcile_cache {
	pthread_mutex_t lock;
	uint64_t max_age;
	struct entry **buckets;
	size_t n_buckets; /* a power of two */
	struct reconcile_cache_stats st;
};

/*
 * ---- packing: one allocation per entry ----
 *
 * The format lives only in this process's memory, so it is as small as is
 * simple (10,000 functions hold 10,000 entries):
 *  - integers are LEB128 varints (signed ones zigzagged): one byte for
 *    most version numbers, states, counts and config masks;
 *  - a string is a tag byte, then:
 *      S_TEXT  its bytes and a NUL;
 *      S_SAME  a varint: the offset of the tag of the same string packed
 *              earlier in the entry in another form (a function's versions
 *              mostly share their configuration and $LATEST its code with
 *              the newest version: each is stored once);
 *      S_SHA   32 bytes: a base64 SHA-256 as Lambda writes it (44 chars);
 *      S_UUID  16 bytes: a lowercase RevisionId (36 chars);
 *    S_NONE (no bytes) is NULL.  A binary form is used only when it reads
 *    back as exactly the same text.
 */
enum { S_NONE = 0, S_TEXT, S_SAME, S_SHA, S_UUID };

#define SAME_MIN  2  /* a 1-character string is stored again: a reference is not smaller */
#define SAME_SEEN 48 /* strings an entry remembers for S_SAME */
#define UUID_LEN  36

struct packer {
	struct buf b;
	struct {
		const char *s;
		size_t off; /* of its tag in b */
	} seen[SAME_SEEN];
	size_t n_seen;
};

static int put_bytes(struct packer *pk, const void *p, size_t n)
{
	return buf_put(&pk->b, p, n);
}

static int put_uvar(struct packer *pk, uint64_t v)
{
	unsigned char out[10];
	size_t n = 0;

	do {
		out[n] = (unsigned char)(v & 0x7f);
		v >>= 7;
		if (v)
			out[n] |= 0x80;
		n++;
	} while (v);
	return put_bytes(pk, out, n);
}

static int put_long(struct packer *pk, long v)
{
	uint64_t u = (uint64_t)v;

	return put_uvar(pk, (u << 1) ^ (v < 0 ? UINT64_MAX : 0)); /* zigzag: small negatives stay small */
}

/* 16 bytes of a lowercase 8-4-4-4-12 UUID; false when `s` is not one. */
static bool uuid_decode(unsigned char out[16], const char *s)
{
	char hex[33];
	size_t n = 0;

	if (strlen(s) != UUID_LEN)
		return false;
	for (size_t i = 0; i < UUID_LEN; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash != (s[i] == '-') ||
		    (!dash && !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))))
			return false;
		if (!dash)
			hex[n++] = s[i];
	}
	hex[n] = '\0';
	return codec_hex_decode(out, 16, hex) == 0;
}

static void uuid_encode(char out[UUID_LEN + 1], const unsigned char in[16])
{
	char hex[33];
	size_t n = 0;

	codec_hex_encode(hex, in, 16);
	for (size_t i = 0; i < UUID_LEN; i++)
		out[i] = i == 8 || i == 13 || i == 18 || i == 23 ? '-' : hex[n++];
	out[UUID_LEN] = '\0';
}

static int put_str(struct packer *pk, const char *s)
{
	unsigned char md[32];
	char back[CODEC_SHA256_B64_SIZE];
	size_t len, off = pk->b.len;
	int r;

	if (!s)
		return buf_putc(&pk->b, S_NONE);
	len = strlen(s);
	if (len >= SAME_MIN)
		for (size_t i = 0; i < pk->n_seen; i++)
			if (!strcmp(pk->seen[i].s, s)) {
				r = buf_putc(&pk->b, S_SAME);
				return r < 0 ? r : put_uvar(pk, pk->seen[i].off);
			}
	if (len >= SAME_MIN && pk->n_seen < SAME_SEEN) {
		pk->seen[pk->n_seen].s = s; /* `s` outlives the packing */
		pk->seen[pk->n_seen++].off = off;
	}
	if (len == CODEC_SHA256_B64_SIZE - 1 && codec_digest_base64_decode(md, s) == 0) {
		codec_digest_base64(back, md);
		if (!strcmp(back, s)) {
			r = buf_putc(&pk->b, S_SHA);
			return r < 0 ? r : put_bytes(pk, md, sizeof(md));
		}
	}
	if (uuid_decode(md, s)) {
		r = buf_putc(&pk->b, S_UUID);
		return r < 0 ? r : put_bytes(pk, md, 16);
	}
	r = buf_putc(&pk->b, S_TEXT);
	return r < 0 ? r : put_bytes(pk, s, len + 1);
}

static int put_version(struct packer *pk, const struct plan_version *v)
{
	int r = put_long(pk, v->number);

	if (r >= 0)
		r = put_str(pk, v->code_sha256);
	if (r >= 0)
		r = put_uvar(pk, v->config.mask);
	for (int f = 0; r >= 0 && f < PLAN_CFG_N; f++)
		if (v->config.mask & (1u << f))
			r = put_str(pk, v->config.val[f]);
	if (r >= 0)
		r = put_str(pk, v->description);
	if (r >= 0)
		r = put_long(pk, (long)v->state);
	return r;
}

/*
 * $LATEST is kept without its configuration and description: only a plan
 * that writes $LATEST reads them, and such a plan always observes afresh
 * (cache.h); its code and RevisionId stay.  A third less memory.
 */
static int pack(struct packer *pk, const struct plan_observed *o)
{
	struct plan_version latest = o->latest;
	int r;

	latest.config = (struct plan_config){0, {NULL}};
	latest.description = NULL;
	r = put_version(pk, &latest);

	if (r >= 0)
		r = put_str(pk, o->revision_id);
	if (r >= 0)
		r = put_long(pk, (long)o->state);
	if (r >= 0)
		r = put_long(pk, (long)o->last_update);
	if (r >= 0)
		r = put_uvar(pk, o->n_versions);
	for (size_t i = 0; r >= 0 && i < o->n_versions; i++)
		r = put_version(pk, &o->versions[i]);
	if (r >= 0)
		r = put_uvar(pk, o->n_aliases);
	for (size_t i = 0; r >= 0 && i < o->n_aliases; i++) {
		const struct plan_observed_alias *a = &o->aliases[i];

		r = put_str(pk, a->name);
		if (r >= 0)
			r = put_long(pk, a->version);
		if (r >= 0)
			r = put_long(pk, a->extra_version);
		if (r >= 0)
			r = buf_putc(&pk->b, a->weight != 0); /* most aliases route no weight */
		if (r >= 0 && a->weight != 0)
			r = put_bytes(pk, &a->weight, sizeof(a->weight));
		if (r >= 0)
			r = put_str(pk, a->description);
		if (r >= 0)
			r = put_str(pk, a->revision_id);
	}
	return r;
}

struct reader {
	const char *start, *p, *end;
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

static uint64_t get_uvar(struct reader *rd)
{
	uint64_t v = 0;

	for (unsigned shift = 0; shift < 64; shift += 7) {
		unsigned char c = 0;

		get_bytes(rd, &c, 1);
		if (rd->bad)
			return 0;
		v |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80))
			return v;
	}
	rd->bad = true;
	return 0;
}

static long get_long(struct reader *rd)
{
	uint64_t u = get_uvar(rd);

	return (long)((u >> 1) ^ (u & 1 ? UINT64_MAX : 0));
}

/*
 * The string (NULL: absent), borrowed from the entry or, for a binary
 * form, written into `scratch`.
 */
static const char *get_str(struct reader *rd, char scratch[PLAN_SHA_MAX])
{
	unsigned char tag = S_NONE, md[32];
	const char *s, *nul;
	uint64_t off;
	struct reader at;

	get_bytes(rd, &tag, 1);
	if (rd->bad)
		return NULL;
	switch (tag) {
	case S_NONE:
		return NULL;
	case S_SAME:
		off = get_uvar(rd);
		if (rd->bad || off >= (uint64_t)(rd->p - rd->start) || rd->start[off] == S_SAME) {
			rd->bad = true;
			return NULL;
		}
		at = (struct reader){rd->start, rd->start + off, rd->end, false};
		s = get_str(&at, scratch); /* one level: it is not S_SAME */
		rd->bad = at.bad;
		return s;
	case S_SHA:
		get_bytes(rd, md, sizeof(md));
		codec_digest_base64(scratch, md);
		return rd->bad ? NULL : scratch;
	case S_UUID:
		get_bytes(rd, md, 16);
		uuid_encode(scratch, md);
		return rd->bad ? NULL : scratch;
	case S_TEXT:
		s = rd->p;
		nul = memchr(s, '\0', (size_t)(rd->end - s));
		if (!nul) {
			rd->bad = true;
			return NULL;
		}
		rd->p = nul + 1;
		return s;
	default:
		rd->bad = true;
		return NULL;
	}
}

static void get_fixed(struct reader *rd, char *out, size_t outsz)
{
	char scratch[PLAN_SHA_MAX];
	const char *s = get_str(rd, scratch);

	snprintf(out, outsz, "%s", s ? s : "");
}

/* -ENOMEM, -EBADMSG (never: we packed it) */
static int get_dup(struct reader *rd, char **out)
{
	char scratch[PLAN_SHA_MAX];
	const char *s = get_str(rd, scratch);

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
	v->config.mask = (unsigned)get_uvar(rd);
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
	uint64_t n;
	int r;

	o.exists = true;
	r = get_version(rd, &o.latest);
	get_fixed(rd, o.revision_id, sizeof(o.revision_id));
	o.state = (enum plan_state)get_long(rd);
	o.last_update = (enum plan_update)get_long(rd);
	n = get_uvar(rd);
	if (r < 0 || rd->bad || n > 1000000)
		goto bad;
	o.versions = calloc((size_t)n + 1, sizeof(*o.versions));
	if (!o.versions)
		goto nomem;
	for (uint64_t i = 0; i < n; i++) {
		if ((r = get_version(rd, &o.versions[i])) < 0) {
			o.n_versions = (size_t)i + 1;
			goto fail;
		}
		o.n_versions = (size_t)i + 1;
	}
	n = get_uvar(rd);
	if (rd->bad || n > 1000000)
		goto bad;
	o.aliases = calloc((size_t)n + 1, sizeof(*o.aliases));
	if (!o.aliases)
		goto nomem;
	for (uint64_t i = 0; i < n; i++) {
		struct plan_observed_alias *a = &o.aliases[i];
		unsigned char weighted = 0;

		o.n_aliases = (size_t)i + 1;
		if ((r = get_dup(rd, &a->name)) < 0)
			goto fail;
		a->version = get_long(rd);
		a->extra_version = get_long(rd);
		get_bytes(rd, &weighted, 1);
		if (weighted)
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
	rd = (struct reader){e->data + e->key_len + 1, e->data + e->key_len + 1,
	                     e->data + e->key_len + 1 + e->len, false};
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
	struct packer pk = {.b = BUF_INIT};
	struct entry *e = NULL, **pp;
	size_t kl;
	int r;

	if (!region)
		region = "";
	if (!o->exists || o->partial) {
		/* an entry stands in for the version list: never one without it */
		reconcile_cache_invalidate(c, region, function);
		return 0;
	}
	kl = strlen(region) + 1 + strlen(function);
	r = pack(&pk, o);
	if (r >= 0 && (kl > UINT32_MAX / 2 || pk.b.len > UINT32_MAX / 2))
		r = -ENOMEM; /* never in practice */
	if (r >= 0 && !(e = malloc(sizeof(*e) + kl + 1 + pk.b.len)))
		r = -ENOMEM;
	if (r < 0) {
		buf_release(&pk.b);
		reconcile_cache_invalidate(c, region, function);
		return r;
	}
	e->next = NULL;
	e->hash = key_hash(region, function);
	e->stored = now_ms;
	e->key_len = (uint32_t)kl;
	e->len = (uint32_t)pk.b.len;
	snprintf(e->data, kl + 1, "%s\n%s", region, function);
	memcpy(e->data + kl + 1, pk.b.ptr, pk.b.len);
	buf_release(&pk.b);
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
	o.partial = src->partial;
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
