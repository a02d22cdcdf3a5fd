/*
 * plan_builders.h - desired and observed states for the planner's unit tests
 * (test_reconcile_plan.c, test_reconcile_partial.c): the classic
 * my-lambda-function with releases v1/v2 and aliases Prod/Test, and builders
 * to vary it.  Code hashes SHA_A/B/C/H are set by shas_init().
 */
#ifndef ALIASD_TESTS_PLAN_BUILDERS_H
#define ALIASD_TESTS_PLAN_BUILDERS_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/plan.h"
#include "tests/unit/harness.h"
#include "util/codec.h"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define HEX_C "cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc"
#define HEX_H "1234123412341234123412341234123412341234123412341234123412341234"

static char SHA_A[PLAN_SHA_MAX], SHA_B[PLAN_SHA_MAX], SHA_C[PLAN_SHA_MAX], SHA_H[PLAN_SHA_MAX];

static inline void shas_init(void)
{
	REQUIRE(codec_sha256_normalise(SHA_A, HEX_A) == 0);
	REQUIRE(codec_sha256_normalise(SHA_B, HEX_B) == 0);
	REQUIRE(codec_sha256_normalise(SHA_C, HEX_C) == 0);
	REQUIRE(codec_sha256_normalise(SHA_H, HEX_H) == 0);
}

/* ---- builders ---- */

static inline void base_config(struct plan_config *c, const char *memory)
{
	REQUIRE(plan_config_set(c, PLAN_CFG_RUNTIME, "python3.12") == 0);
	REQUIRE(plan_config_set(c, PLAN_CFG_HANDLER, "app.handler") == 0);
	REQUIRE(plan_config_set(c, PLAN_CFG_MEMORY_SIZE, memory) == 0);
}

static inline void add_release(struct plan_desired *d, const char *name, const char *sha, const char *memory,
                               long pin)
{
	struct plan_release *r;

	d->releases = realloc(d->releases, (d->n_releases + 1) * sizeof(*d->releases));
	REQUIRE(d->releases);
	r = &d->releases[d->n_releases++];
	memset(r, 0, sizeof(*r));
	r->name = strdup(name);
	r->pin = pin;
	if (pin <= 0) {
		r->code.kind = PLAN_CODE_ZIP;
		snprintf(r->code.sha256, sizeof(r->code.sha256), "%s", sha);
		r->code.zip_path =
		    strdup(name[1] == '1' ? "artifacts/Version1.zip" : "artifacts/Version2.zip");
		base_config(&r->config, memory);
	}
}

static inline long release_index(const struct plan_desired *d, const char *name)
{
	for (size_t i = 0; i < d->n_releases; i++)
		if (!strcmp(d->releases[i].name, name))
			return (long)i;
	return -1;
}

/* target: a release name, or "#N" for a numeric version */
static inline struct plan_ref ref_of(const struct plan_desired *d, const char *target)
{
	if (target[0] == '#')
		return (struct plan_ref){-1, atol(target + 1)};
	return (struct plan_ref){release_index(d, target), 0};
}

static inline struct plan_alias *add_alias(struct plan_desired *d, const char *name, const char *target)
{
	struct plan_alias *a;

	d->aliases = realloc(d->aliases, (d->n_aliases + 1) * sizeof(*d->aliases));
	REQUIRE(d->aliases);
	a = &d->aliases[d->n_aliases++];
	memset(a, 0, sizeof(*a));
	a->name = strdup(name);
	a->primary = ref_of(d, target);
	return a;
}

static inline void set_weight(struct plan_desired *d, struct plan_alias *a, const char *target, double w)
{
	a->weighted = true;
	a->extra = ref_of(d, target);
	a->weight = w;
}

/* the classic: v1 (A), v2 (B), Prod: v1, Test: v2 */
static inline void classic(struct plan_desired *d)
{
	memset(d, 0, sizeof(*d));
	d->function = strdup("my-lambda-function");
	d->commit = strdup("abcdef0123456789abcdef0123456789abcdef01");
	d->keep_versions = -1;
	add_release(d, "v1", SHA_A, "128", 0);
	add_release(d, "v2", SHA_B, "128", 0);
	add_alias(d, "Prod", "v1");
	add_alias(d, "Test", "v2");
}

static inline void observed_init(struct plan_observed *o, const char *latest_sha, const char *memory)
{
	memset(o, 0, sizeof(*o));
	o->exists = true;
	snprintf(o->latest.code_sha256, sizeof(o->latest.code_sha256), "%s", latest_sha);
	base_config(&o->latest.config, memory);
	REQUIRE(plan_config_set(&o->latest.config, PLAN_CFG_TIMEOUT, "3") == 0);
	snprintf(o->revision_id, sizeof(o->revision_id), "rev-1");
}

static inline void add_version(struct plan_observed *o, long number, const char *sha, const char *memory)
{
	struct plan_version *v;

	o->versions = realloc(o->versions, (o->n_versions + 1) * sizeof(*o->versions));
	REQUIRE(o->versions);
	v = &o->versions[o->n_versions++];
	memset(v, 0, sizeof(*v));
	v->number = number;
	snprintf(v->code_sha256, sizeof(v->code_sha256), "%s", sha);
	base_config(&v->config, memory);
	/* a field no manifest manages: must never matter */
	REQUIRE(plan_config_set(&v->config, PLAN_CFG_TIMEOUT, number % 2 ? "3" : "30") == 0);
}

static inline struct plan_observed_alias *add_obs_alias(struct plan_observed *o, const char *name,
                                                        long version)
{
	struct plan_observed_alias *a;

	o->aliases = realloc(o->aliases, (o->n_aliases + 1) * sizeof(*o->aliases));
	REQUIRE(o->aliases);
	a = &o->aliases[o->n_aliases++];
	memset(a, 0, sizeof(*a));
	a->name = strdup(name);
	a->version = version;
	snprintf(a->revision_id, sizeof(a->revision_id), "alias-rev-%s", name);
	return a;
}

/* the classic, converged: versions 1 (A), 2 (B), Prod -> 1, Test -> 2 */
static inline void classic_synced(struct plan_observed *o)
{
	observed_init(o, SHA_B, "128");
	add_version(o, 1, SHA_A, "128");
	add_version(o, 2, SHA_B, "128");
	add_obs_alias(o, "Prod", 1);
	add_obs_alias(o, "Test", 2);
}

/* ---- checks ---- */

#endif
