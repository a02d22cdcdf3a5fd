/*
 * test_reconcile_cache.c - the daemon's cache of observed state: entries go
 * in and come out unchanged, age out, are dropped; and a plan applied to an
 * observation (reconcile_observed_apply) then stored and read back plans
 * nothing more: what the cache holds after a pass is what Lambda holds.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/cache.h"
#include "reconcile/plan.h"
#include "tests/unit/harness.h"
#include "util/codec.h"

static char SHA1[PLAN_SHA_MAX], SHA2[PLAN_SHA_MAX], SHA3[PLAN_SHA_MAX];

static void shas(void)
{
	REQUIRE(codec_sha256_normalise(
	            SHA1, "1111111111111111111111111111111111111111111111111111111111111111") == 0);
	REQUIRE(codec_sha256_normalise(
	            SHA2, "2222222222222222222222222222222222222222222222222222222222222222") == 0);
	REQUIRE(codec_sha256_normalise(
	            SHA3, "3333333333333333333333333333333333333333333333333333333333333333") == 0);
}

static void set_cfg(struct plan_config *c, const char *mem)
{
	REQUIRE(plan_config_set(c, PLAN_CFG_MEMORY_SIZE, mem) >= 0);
	REQUIRE(plan_config_set(c, PLAN_CFG_RUNTIME, "python3.12") >= 0);
	REQUIRE(plan_config_set(c, PLAN_CFG_ENVIRONMENT, "{\"A\":\"1\"}") >= 0);
}

static void add_version(struct plan_observed *o, long n, const char *sha, const char *desc)
{
	struct plan_version *v;

	o->versions = realloc(o->versions, (o->n_versions + 1) * sizeof(*o->versions));
	REQUIRE(o->versions);
	v = &o->versions[o->n_versions++];
	memset(v, 0, sizeof(*v));
	v->number = n;
	snprintf(v->code_sha256, sizeof(v->code_sha256), "%s", sha);
	v->description = desc ? strdup(desc) : NULL;
	set_cfg(&v->config, "128");
}

static void add_alias(struct plan_observed *o, const char *name, long v, long extra, double w,
                      const char *rev)
{
	struct plan_observed_alias *a;

	o->aliases = realloc(o->aliases, (o->n_aliases + 1) * sizeof(*o->aliases));
	REQUIRE(o->aliases);
	a = &o->aliases[o->n_aliases++];
	memset(a, 0, sizeof(*a));
	a->name = strdup(name);
	a->version = v;
	a->extra_version = extra;
	a->weight = w;
	a->description = strdup("managed by aliasd");
	snprintf(a->revision_id, sizeof(a->revision_id), "%s", rev);
}

/* A function with versions 1 (SHA1) and 2 (SHA2), Prod -> 1, Test -> 2 weighted to 1. */
static void observed_two(struct plan_observed *o)
{
	memset(o, 0, sizeof(*o));
	o->exists = true;
	snprintf(o->latest.code_sha256, sizeof(o->latest.code_sha256), "%s", SHA2);
	set_cfg(&o->latest.config, "128");
	snprintf(o->revision_id, sizeof(o->revision_id), "latest-rev");
	add_version(o, 1, SHA1, "v1 @0123456");
	add_version(o, 2, SHA2, NULL);
	add_alias(o, "Prod", 1, 0, 0, "prod-rev-1");
	add_alias(o, "Test", 2, 1, 0.25, "test-rev-1");
}

static void check_same(const struct plan_observed *a, const struct plan_observed *b)
{
	CHECK(a->exists == b->exists);
	CHECK_STR(a->revision_id, b->revision_id);
	CHECK_STR(a->latest.code_sha256, b->latest.code_sha256);
	/* $LATEST's configuration is not kept (only plans that observe afresh read it) */
	CHECK_U64(b->latest.config.mask, 0);
	REQUIRE(a->n_versions == b->n_versions && a->n_aliases == b->n_aliases);
	for (size_t i = 0; i < a->n_versions; i++) {
		const struct plan_version *x = &a->versions[i], *y = &b->versions[i];

		CHECK_INT(x->number, y->number);
		CHECK_STR(x->code_sha256, y->code_sha256);
		CHECK(!x->description == !y->description);
		if (x->description && y->description)
			CHECK_STR(x->description, y->description);
		CHECK_U64(x->config.mask, y->config.mask);
		CHECK_U64(plan_config_diff(&x->config, &y->config), 0);
		CHECK_U64(plan_config_diff(&y->config, &x->config), 0);
		CHECK_INT(x->state, y->state);
	}
	for (size_t i = 0; i < a->n_aliases; i++) {
		const struct plan_observed_alias *x = &a->aliases[i], *y = &b->aliases[i];

		CHECK_STR(x->name, y->name);
		CHECK_INT(x->version, y->version);
		CHECK_INT(x->extra_version, y->extra_version);
		CHECK(fabs(x->weight - y->weight) < 1e-12);
		CHECK_STR(x->description, y->description);
		CHECK_STR(x->revision_id, y->revision_id);
	}
}

TEST(put_get_round_trip)
{
	struct reconcile_cache *c;
	struct plan_observed o, got, gone = {0};
	struct reconcile_cache_stats st;

	shas();
	observed_two(&o);
	REQUIRE(reconcile_cache_new(&c, 0) == 0);
	CHECK_INT(reconcile_cache_get(c, NULL, "fn", 1000, &got), 0); /* nothing yet */
	CHECK_INT(reconcile_cache_put(c, NULL, "fn", &o, true, 1000), 0);
	CHECK_INT(reconcile_cache_get(c, "", "fn", 1000, &got), 1); /* NULL region = "" */
	check_same(&o, &got);
	plan_observed_release(&got);
	/* another region, another function: another entry */
	CHECK_INT(reconcile_cache_get(c, "eu-west-1", "fn", 1000, &got), 0);
	CHECK_INT(reconcile_cache_get(c, NULL, "fn2", 1000, &got), 0);
	CHECK(reconcile_cache_fresh(c, NULL, "fn", 1000));
	CHECK(!reconcile_cache_fresh(c, "eu-west-1", "fn", 1000));
	/* a function that does not exist is never remembered */
	CHECK_INT(reconcile_cache_put(c, NULL, "fn", &gone, true, 1000), 0);
	CHECK_INT(reconcile_cache_get(c, NULL, "fn", 1000, &got), 0);
	reconcile_cache_stats(c, &st);
	CHECK_U64(st.entries, 0);
	CHECK_U64(st.bytes, 0);
	CHECK_U64(st.hits, 1);
	plan_observed_release(&o);
	reconcile_cache_free(c);
}

TEST(entries_age_out_and_are_dropped)
{
	struct reconcile_cache *c;
	struct plan_observed o, got;
	struct reconcile_cache_stats st;

	shas();
	observed_two(&o);
	REQUIRE(reconcile_cache_new(&c, 5000) == 0);
	CHECK_INT(reconcile_cache_put(c, "r", "a", &o, true, 1000), 0);
	CHECK_INT(reconcile_cache_put(c, "r", "b", &o, true, 1000), 0);
	CHECK_INT(reconcile_cache_get(c, "r", "a", 5999, &got), 1);
	plan_observed_release(&got);
	CHECK(!reconcile_cache_fresh(c, "r", "a", 6000));
	CHECK_INT(reconcile_cache_get(c, "r", "a", 6000, &got), 0); /* max age: stale, dropped */
	CHECK_INT(reconcile_cache_put(c, "r", "a", &o, true, 6000), 0);
	CHECK_INT(reconcile_cache_get(c, "r", "a", 6000, &got), 1); /* a put refreshes it */
	plan_observed_release(&got);
	/* a pass planned from it (versions not read) keeps its age... */
	CHECK_INT(reconcile_cache_put(c, "r", "a", &o, false, 10000), 0);
	CHECK(reconcile_cache_fresh(c, "r", "a", 10999));
	CHECK(!reconcile_cache_fresh(c, "r", "a", 11000));
	/* ...and stores nothing when no fresh entry is left */
	CHECK_INT(reconcile_cache_put(c, "r", "c", &o, false, 10000), 0);
	CHECK(!reconcile_cache_fresh(c, "r", "c", 10000));
	CHECK_INT(reconcile_cache_put(c, "r", "a", &o, false, 11000), 0);
	CHECK(!reconcile_cache_fresh(c, "r", "a", 11000));
	CHECK_INT(reconcile_cache_put(c, "r", "a", &o, true, 6000), 0);
	reconcile_cache_invalidate(c, "r", "a");
	reconcile_cache_invalidate(c, "r", "nothing");
	CHECK_INT(reconcile_cache_get(c, "r", "a", 6000, &got), 0);
	reconcile_cache_stats(c, &st);
	CHECK_U64(st.entries, 1);
	CHECK_U64(st.invalidations, 1);
	reconcile_cache_set_max_age(c, 0); /* forever */
	CHECK_INT(reconcile_cache_get(c, "r", "b", 1000000, &got), 1);
	plan_observed_release(&got);
	reconcile_cache_clear(c);
	reconcile_cache_stats(c, &st);
	CHECK_U64(st.entries, 0);
	CHECK_U64(st.bytes, 0);
	plan_observed_release(&o);
	reconcile_cache_free(c);
}

/* Many functions: the table grows and finds each one; packed entries are small. */
TEST(many_functions)
{
	struct reconcile_cache *c;
	struct plan_observed o, got;
	struct reconcile_cache_stats st;
	char name[32];

	shas();
	observed_two(&o);
	REQUIRE(reconcile_cache_new(&c, 0) == 0);
	for (int i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "fn-%05d", i);
		o.aliases[0].version = i % 2 + 1;
		REQUIRE(reconcile_cache_put(c, "us-east-1", name, &o, true, 1) == 0);
	}
	reconcile_cache_stats(c, &st);
	CHECK_U64(st.entries, 10000);
	CHECKF(st.bytes / 10000 < 512, "%zu bytes per entry", st.bytes / 10000);
	for (int i = 0; i < 10000; i += 997) {
		snprintf(name, sizeof(name), "fn-%05d", i);
		REQUIRE(reconcile_cache_get(c, "us-east-1", name, 1, &got) == 1);
		CHECK_INT(got.aliases[0].version, i % 2 + 1);
		plan_observed_release(&got);
	}
	plan_observed_release(&o);
	reconcile_cache_free(c);
}

struct hammer {
	struct reconcile_cache *c;
	const struct plan_observed *o;
	int id, bad;
};

static void *hammer_main(void *arg)
{
	struct hammer *h = arg;
	char name[32];

	for (int i = 0; i < 2000; i++) {
		struct plan_observed got;

		snprintf(name, sizeof(name), "fn-%d", i % 50);
		if ((i + h->id) % 3 == 0)
			reconcile_cache_invalidate(h->c, NULL, name);
		else if (reconcile_cache_put(h->c, NULL, name, h->o, true, 1) < 0)
			h->bad++;
		if (reconcile_cache_get(h->c, NULL, name, 1, &got) == 1) {
			if (got.n_aliases != 2 || strcmp(got.aliases[1].revision_id, "test-rev-1"))
				h->bad++;
			plan_observed_release(&got);
		}
	}
	return NULL;
}

TEST(threads_share_it)
{
	struct reconcile_cache *c;
	struct plan_observed o;
	pthread_t t[4];
	struct hammer h[4];

	shas();
	observed_two(&o);
	REQUIRE(reconcile_cache_new(&c, 0) == 0);
	for (int i = 0; i < 4; i++) {
		h[i] = (struct hammer){c, &o, i, 0};
		REQUIRE(pthread_create(&t[i], NULL, hammer_main, &h[i]) == 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		CHECK_INT(h[i].bad, 0);
	}
	plan_observed_release(&o);
	reconcile_cache_free(c);
}

/* ---- after a plan's writes, the cache plans nothing more ---- */

static void desired_base(struct plan_desired *d, size_t n)
{
	memset(d, 0, sizeof(*d));
	d->function = strdup("fn");
	d->keep_versions = -1;
	d->n_releases = n;
	d->releases = calloc(n, sizeof(*d->releases));
	REQUIRE(d->releases);
	for (size_t i = 0; i < n; i++) {
		struct plan_release *r = &d->releases[i];

		r->name = strdup(i == 0 ? "v1" : i == 1 ? "v2" : "v3");
		r->code.kind = PLAN_CODE_ZIP;
		snprintf(r->code.sha256, sizeof(r->code.sha256), "%s", i == 0 ? SHA1 : i == 1 ? SHA2 : SHA3);
		r->code.zip_path = strdup("x.zip");
		set_cfg(&r->config, "128");
	}
	d->aliases = calloc(4, sizeof(*d->aliases));
	REQUIRE(d->aliases);
}

static void desired_alias(struct plan_desired *d, const char *name, long rel, long extra, double w)
{
	struct plan_alias *a = &d->aliases[d->n_aliases++];

	a->name = strdup(name);
	a->primary = (struct plan_ref){rel, 0};
	if (extra >= 0) {
		a->weighted = true;
		a->extra = (struct plan_ref){extra, 0};
		a->weight = w;
	}
	a->description = strdup("managed by aliasd");
}

/*
 * Run plan `p` against `o` the way apply does: each write through
 * reconcile_observed_apply (a publish makes version `next`, an alias write
 * returns RevisionId "new-N"); returns how many writes.
 */
static int simulate(struct plan *p, const struct plan_desired *d, const struct plan_observed *o,
                    struct plan_observed *after, long next)
{
	int writes = 0;

	REQUIRE(reconcile_observed_copy(after, o) == 0);
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct plan_step *s = &p->steps[i];
		const struct plan_alias *a = s->alias >= 0 ? &d->aliases[s->alias] : NULL;
		struct plan_version made = {0};
		char rev[32];
		long v = 0, ev = 0;

		if (s->kind == PLAN_STEP_PUBLISH) {
			made.number = next;
			snprintf(made.code_sha256, sizeof(made.code_sha256), "%s",
			         d->releases[s->release].code.sha256);
			REQUIRE(plan_config_copy(&made.config, &d->releases[s->release].config) == 0);
			made.state = PLAN_STATE_PENDING;
			plan_resolution_set(p, (size_t)s->release, next++);
		}
		if (a) {
			v = a->primary.release >= 0 ? p->resolved[a->primary.release] : a->primary.version;
			ev = a->weighted
			         ? (a->extra.release >= 0 ? p->resolved[a->extra.release] : a->extra.version)
			         : 0;
		}
		snprintf(rev, sizeof(rev), "new-%zu", i);
		CHECK_INT(reconcile_observed_apply(after, p, s, d, o, v, ev, a ? a->weight : 0, rev, &made),
		          0);
		plan_version_release(&made);
		writes += plan_step_is_write(s->kind);
	}
	return writes;
}

TEST(after_writes_the_cache_plans_nothing)
{
	struct {
		const char *name;
		long prod, test_extra; /* release indices (test_extra -1: Test not weighted) */
		bool prune;
		long keep;
		size_t releases;
		int writes; /* of the first plan */
	} cases[] = {
	    {"promote Prod", 1, -1, false, -1, 2, 2}, /* Prod 1 -> 2, Test unweighted */
	    {"new release", 2, 0, false, -1, 3, 4},   /* publish v3, Prod -> v3, Test weights */
	    {"prune alias", 1, 0, true, 0, 2, 3},     /* Prod, Test, Canary (version 1 resolves v1: kept) */
	};

	shas();
	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct plan_desired d;
		struct plan_observed o, after, got;
		struct plan p = PLAN_INIT, p2 = PLAN_INIT;
		struct error err = ERROR_INIT;
		struct reconcile_cache *c;
		int writes;

		observed_two(&o);
		add_alias(&o, "Canary", 1, 0, 0, "canary-rev");
		desired_base(&d, cases[k].releases);
		d.prune_aliases = cases[k].prune;
		d.keep_versions = cases[k].keep;
		desired_alias(&d, "Prod", cases[k].prod, -1, 0);
		desired_alias(&d, "Test", 1, cases[k].test_extra, 0.5);
		if (!cases[k].prune)
			desired_alias(&d, "Canary", 0, -1, 0);
		REQUIRE(plan_build(&p, &d, &o, &err) == 0);
		writes = simulate(&p, &d, &o, &after, 3);
		CHECKF(writes == cases[k].writes, "%s: %d writes", cases[k].name, writes);
		REQUIRE(reconcile_cache_new(&c, 0) == 0);
		REQUIRE(reconcile_cache_put(c, NULL, "fn", &after, true, 1) == 0);
		REQUIRE(reconcile_cache_get(c, NULL, "fn", 1, &got) == 1);
		CHECKF(plan_build(&p2, &d, &got, &err) == 0, "%s: %s", cases[k].name, err.msg);
		CHECKF(p2.n_steps == 0, "%s: %zu steps after the writes (first %d)", cases[k].name,
		       p2.n_steps, p2.n_steps ? (int)p2.steps[0].kind : -1);
		/* alias writes left their new RevisionIds: the next write carries them */
		for (size_t i = 0; i < got.n_aliases; i++)
			if (!strcmp(got.aliases[i].name, "Prod") && cases[k].prod != 0)
				CHECKF(!strncmp(got.aliases[i].revision_id, "new-", 4),
				       "%s: Prod revision %s", cases[k].name, got.aliases[i].revision_id);
		if (cases[k].prune)
			for (size_t i = 0; i < got.n_aliases; i++)
				CHECKF(strcmp(got.aliases[i].name, "Canary"), "%s: Canary kept",
				       cases[k].name);
		plan_release(&p);
		plan_release(&p2);
		plan_observed_release(&o);
		plan_observed_release(&after);
		plan_observed_release(&got);
		plan_desired_release(&d);
		reconcile_cache_free(c);
	}
}

/* An alias write whose answer held no RevisionId leaves nothing worth keeping. */
TEST(alias_write_without_revision_is_not_kept)
{
	struct plan_desired d;
	struct plan_observed o, after;
	struct plan p = PLAN_INIT;
	struct error err = ERROR_INIT;
	struct plan_version made = {0};

	shas();
	observed_two(&o);
	desired_base(&d, 2);
	desired_alias(&d, "Prod", 1, -1, 0);
	REQUIRE(plan_build(&p, &d, &o, &err) == 0);
	REQUIRE(p.n_steps == 1 && p.steps[0].kind == PLAN_STEP_UPDATE_ALIAS);
	REQUIRE(reconcile_observed_copy(&after, &o) == 0);
	CHECK_INT(reconcile_observed_apply(&after, &p, &p.steps[0], &d, &o, 2, 0, 0, "", &made), -ESTALE);
	/* and a publish whose version is unknown neither */
	CHECK_INT(reconcile_observed_apply(&after, &p,
	                                   &(struct plan_step){PLAN_STEP_PUBLISH, 2, -1, -1, 0, 0}, &d, &o, 0,
	                                   0, 0, NULL, &made),
	          -ESTALE);
	plan_release(&p);
	plan_observed_release(&o);
	plan_observed_release(&after);
	plan_desired_release(&d);
}

/*
 * What the bench's functions look like in Lambda: two versions sharing
 * their configuration, RevisionIds as UUIDs, CodeSha256 in base64.
 */
static void observed_real(struct plan_observed *o)
{
	static const char *const cfg[][2] = {{"runtime", "python3.12"},
	                                     {"handler", "app.handler"},
	                                     {"role", "arn:aws:iam::123456789012:role/bench-role"},
	                                     {"memory", "128"},
	                                     {"timeout", "3"},
	                                     {"storage", "512"}};

	memset(o, 0, sizeof(*o));
	o->exists = true;
	snprintf(o->latest.code_sha256, sizeof(o->latest.code_sha256), "%s", SHA2);
	snprintf(o->revision_id, sizeof(o->revision_id), "8f2ad0a4-5b1e-4c1d-9f3e-0123456789ab");
	add_version(o, 1, SHA1, NULL);
	add_version(o, 2, SHA2, NULL);
	for (size_t i = 0; i < o->n_versions; i++) {
		plan_config_release(&o->versions[i].config);
		REQUIRE(plan_config_set(&o->versions[i].config, PLAN_CFG_RUNTIME, cfg[0][1]) >= 0);
		REQUIRE(plan_config_set(&o->versions[i].config, PLAN_CFG_HANDLER, cfg[1][1]) >= 0);
		REQUIRE(plan_config_set(&o->versions[i].config, PLAN_CFG_ROLE, cfg[2][1]) >= 0);
		REQUIRE(plan_config_set(&o->versions[i].config, PLAN_CFG_MEMORY_SIZE, cfg[3][1]) >= 0);
		REQUIRE(plan_config_set(&o->versions[i].config, PLAN_CFG_TIMEOUT, cfg[4][1]) >= 0);
		REQUIRE(plan_config_set(&o->versions[i].config, PLAN_CFG_EPHEMERAL_STORAGE, cfg[5][1]) >= 0);
		REQUIRE(plan_config_set(&o->versions[i].config, PLAN_CFG_DESCRIPTION, "") >= 0);
	}
	add_alias(o, "Prod", 1, 0, 0, "0b7d1c52-3f0e-4d7a-8e55-a1b2c3d4e5f6");
	add_alias(o, "Test", 2, 0, 0, "c0ffee00-1234-4abc-8def-00112233aabb");
}

/*
 * Entries are packed small (varints, strings stored once, SHA-256s and
 * UUIDs in binary) and read back exactly, whatever a string looks like.
 */
TEST(entries_are_compact_and_exact)
{
	struct reconcile_cache *c;
	struct plan_observed o, got;
	struct reconcile_cache_stats st;
	/* near misses of the binary forms stay text, and come back as they were */
	static const char *const revs[] = {
	    "0B7D1C52-3F0E-4D7A-8E55-A1B2C3D4E5F6",  /* uppercase */
	    "0b7d1c52-3f0e-4d7a-8e55-a1b2c3d4e5f",   /* short */
	    "0b7d1c523-f0e-4d7a-8e55-a1b2c3d4e5f6",  /* a dash moved */
	    "0b7d1c52-3f0e-4d7a-8e55-a1b2c3d4e5fg",  /* not hex */
	    "0b7d1c52-3f0e-4d7a-8e55-a1b2c3d4e5f6x", /* long */
	    "",
	};

	shas();
	observed_real(&o);
	REQUIRE(reconcile_cache_new(&c, 0) == 0);
	REQUIRE(reconcile_cache_put(c, NULL, "scale-fn-00000", &o, true, 1) == 0);
	reconcile_cache_stats(c, &st);
	CHECKF(st.bytes < 330, "%zu bytes for the entry", st.bytes);
	REQUIRE(reconcile_cache_get(c, NULL, "scale-fn-00000", 1, &got) == 1);
	check_same(&o, &got);
	CHECK_STR(got.versions[1].config.val[PLAN_CFG_ROLE], "arn:aws:iam::123456789012:role/bench-role");
	CHECK_STR(got.versions[1].config.val[PLAN_CFG_DESCRIPTION], "");
	plan_observed_release(&got);

	/* numbers of any size and sign, weights, descriptions absent or empty */
	o.versions[0].number = 2147483647L * 4;
	o.versions[1].number = -1;
	o.aliases[0].extra_version = 0x7fffffffffffffffL;
	o.aliases[1].extra_version = 1;
	o.aliases[1].weight = 0.125;
	free(o.aliases[1].description);
	o.aliases[1].description = strdup("");
	o.versions[0].description = strdup("release v1 @0123456");
	o.versions[1].description = strdup("release v1 @0123456"); /* the same again */
	o.state = PLAN_STATE_FAILED;
	o.last_update = PLAN_UPDATE_IN_PROGRESS;
	/* a 44-character string that is not canonical base64 (its padding bits set) */
	snprintf(o.versions[0].code_sha256, sizeof(o.versions[0].code_sha256), "%.42sB=", SHA1);
	for (size_t i = 0; i < sizeof(revs) / sizeof(revs[0]); i++) {
		snprintf(o.aliases[0].revision_id, sizeof(o.aliases[0].revision_id), "%s", revs[i]);
		snprintf(o.revision_id, sizeof(o.revision_id), "%s", revs[(i + 1) % 6]);
		REQUIRE(reconcile_cache_put(c, "eu-west-1", "fn", &o, true, 1) == 0);
		REQUIRE(reconcile_cache_get(c, "eu-west-1", "fn", 1, &got) == 1);
		check_same(&o, &got);
		CHECK_STR(got.aliases[1].description, "");
		CHECK_STR(got.versions[1].description, "release v1 @0123456");
		CHECK_INT(got.state, PLAN_STATE_FAILED);
		CHECK_INT(got.last_update, PLAN_UPDATE_IN_PROGRESS);
		CHECK(got.versions[0].number == 2147483647L * 4);
		CHECK(got.aliases[0].extra_version == 0x7fffffffffffffffL);
		plan_observed_release(&got);
	}
	plan_observed_release(&o);
	reconcile_cache_free(c);
}

TEST_MAIN(put_get_round_trip, entries_age_out_and_are_dropped, many_functions, threads_share_it,
          after_writes_the_cache_plans_nothing, alias_write_without_revision_is_not_kept,
          entries_are_compact_and_exact)
