/*
 * test_reconcile_converge.c - plan, apply to a simulated Lambda, plan again.
 *
 * Thousands of random (desired, observed) pairs: releases drawn from a small
 * pool of code and memory settings (so releases share identities and match
 * versions a human published), aliases with and without weights, pins,
 * prune settings, a $LATEST holding anything.  Each plan is applied to a
 * small Lambda model with its semantics (PublishVersion returns the newest
 * version when $LATEST equals it; deleting a referenced version fails), then
 * planned again.  Properties:
 *  - one pass converges: the second plan is empty;
 *  - every alias targets exactly its declared resolution;
 *  - at most one version is created per code+configuration identity, and a
 *    release that already matched a version is never republished;
 *  - no referenced version is ever deleted, nothing is deleted without prune.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/codec.h"
#include "reconcile/plan.h"
#include "tests/unit/harness.h"

#define N_CASES 3000

static char SHAS[4][PLAN_SHA_MAX];
static const char *const MEMS[] = {"128", "256"};
static const char *const HEX[] = {
    "1111111111111111111111111111111111111111111111111111111111111111",
    "2222222222222222222222222222222222222222222222222222222222222222",
    "3333333333333333333333333333333333333333333333333333333333333333",
    "4444444444444444444444444444444444444444444444444444444444444444", /* only humans use it */
};

static unsigned seed = 12345;

static unsigned rnd(unsigned n)
{
	return (unsigned)rand_r(&seed) % n;
}

static void set_cfg(struct plan_config *c, const char *mem)
{
	REQUIRE(plan_config_set(c, PLAN_CFG_RUNTIME, "python3.12") == 0);
	REQUIRE(plan_config_set(c, PLAN_CFG_MEMORY_SIZE, mem) == 0);
}

static struct plan_version *add_version(struct plan_observed *o, long n, const char *sha,
                                        const struct plan_config *cfg)
{
	struct plan_version *v;

	o->versions = realloc(o->versions, (o->n_versions + 1) * sizeof(*o->versions));
	REQUIRE(o->versions);
	v = &o->versions[o->n_versions++];
	memset(v, 0, sizeof(*v));
	v->number = n;
	snprintf(v->code_sha256, sizeof(v->code_sha256), "%s", sha);
	REQUIRE(plan_config_copy(&v->config, cfg) == 0);
	return v;
}

static struct plan_observed_alias *alias_find(struct plan_observed *o, const char *name)
{
	for (size_t i = 0; i < o->n_aliases; i++)
		if (!strcmp(o->aliases[i].name, name))
			return &o->aliases[i];
	return NULL;
}

static struct plan_observed_alias *alias_add(struct plan_observed *o, const char *name)
{
	struct plan_observed_alias *a;

	o->aliases = realloc(o->aliases, (o->n_aliases + 1) * sizeof(*o->aliases));
	REQUIRE(o->aliases);
	a = &o->aliases[o->n_aliases++];
	memset(a, 0, sizeof(*a));
	a->name = strdup(name);
	return a;
}

static bool referenced(const struct plan_observed *o, long v)
{
	for (size_t i = 0; i < o->n_aliases; i++)
		if (o->aliases[i].version == v || o->aliases[i].extra_version == v)
			return true;
	return false;
}

static bool same_identity(const struct plan_version *a, const struct plan_version *b)
{
	return !strcmp(a->code_sha256, b->code_sha256) && !plan_config_diff(&a->config, &b->config) &&
	       !plan_config_diff(&b->config, &a->config);
}

static long ref_version(const struct plan *p, const struct plan_ref *r)
{
	return r->release >= 0 ? p->resolved[r->release] : r->version;
}

/* Lambda, simplified: apply `p` to `o`.  Returns the number of versions created. */
static int simulate(struct plan *p, const struct plan_desired *d, struct plan_observed *o, long *next_version,
                    const char *name)
{
	int created = 0;

	for (size_t i = 0; i < p->n_steps; i++) {
		const struct plan_step *s = &p->steps[i];
		const struct plan_release *rel = s->release >= 0 ? &d->releases[s->release] : NULL;

		switch (s->kind) {
		case PLAN_STEP_CREATE_FUNCTION:
			CHECKF(!o->exists, "%s: create of an existing function", name);
			o->exists = true;
			snprintf(o->latest.code_sha256, sizeof(o->latest.code_sha256), "%s",
			         rel->code.sha256);
			REQUIRE(plan_config_overlay(&o->latest.config, &rel->config) == 0);
			break;
		case PLAN_STEP_UPDATE_CODE:
			snprintf(o->latest.code_sha256, sizeof(o->latest.code_sha256), "%s",
			         rel->code.sha256);
			break;
		case PLAN_STEP_UPDATE_CONFIG:
			REQUIRE(plan_config_overlay(&o->latest.config, &rel->config) == 0);
			break;
		case PLAN_STEP_PUBLISH: {
			struct plan_version *newest = NULL;

			/* the guard: $LATEST must be the release (CodeSha256 + managed config) */
			CHECKF(!strcmp(o->latest.code_sha256, rel->code.sha256) &&
			           !plan_config_diff(&o->latest.config, &rel->config),
			       "%s: publishing a $LATEST that is not release %s", name, rel->name);
			for (size_t k = 0; k < o->n_versions; k++)
				if (!newest || o->versions[k].number > newest->number)
					newest = &o->versions[k];
			if (newest && same_identity(newest, &o->latest)) {
				plan_resolution_set(p, (size_t)s->release, newest->number);
			} else {
				for (size_t k = 0; k < o->n_versions; k++)
					CHECKF(!same_identity(&o->versions[k], &o->latest),
					       "%s: release %s published again (version %ld has it)", name,
					       rel->name, o->versions[k].number);
				add_version(o, *next_version, o->latest.code_sha256, &o->latest.config);
				plan_resolution_set(p, (size_t)s->release, (*next_version)++);
				created++;
			}
			break;
		}
		case PLAN_STEP_CREATE_ALIAS:
		case PLAN_STEP_UPDATE_ALIAS: {
			const struct plan_alias *a = &d->aliases[s->alias];
			struct plan_observed_alias *oa = alias_find(o, a->name);

			if (s->kind == PLAN_STEP_CREATE_ALIAS) {
				CHECKF(!oa, "%s: creating existing alias %s", name, a->name);
				oa = alias_add(o, a->name);
			}
			REQUIRE(oa);
			oa->version = ref_version(p, &a->primary);
			CHECKF(oa->version > 0, "%s: alias %s on an unknown version", name, a->name);
			oa->extra_version = a->weighted ? ref_version(p, &a->extra) : 0;
			oa->weight = a->weighted ? a->weight : 0;
			break;
		}
		case PLAN_STEP_DELETE_ALIAS: {
			struct plan_observed_alias *oa = &o->aliases[s->obs_alias];

			CHECKF(d->prune_aliases, "%s: alias delete without prune", name);
			free(oa->name);
			free(oa->description);
			memmove(oa, oa + 1, (o->n_aliases - (size_t)s->obs_alias - 1) * sizeof(*oa));
			o->n_aliases--;
			/* later DELETE_ALIAS indices refer to the original list: fix them */
			for (size_t j = i + 1; j < p->n_steps; j++)
				if (p->steps[j].kind == PLAN_STEP_DELETE_ALIAS &&
				    p->steps[j].obs_alias > s->obs_alias)
					p->steps[j].obs_alias--;
			break;
		}
		case PLAN_STEP_DELETE_VERSION:
			CHECKF(d->keep_versions >= 0, "%s: version delete without keepVersions", name);
			CHECKF(!referenced(o, s->version), "%s: deleting referenced version %ld (409)", name,
			       s->version);
			for (size_t k = 0; k < o->n_versions; k++) {
				if (o->versions[k].number == s->version) {
					plan_version_release(&o->versions[k]);
					memmove(&o->versions[k], &o->versions[k + 1],
					        (o->n_versions - k - 1) * sizeof(o->versions[k]));
					o->n_versions--;
					break;
				}
			}
			break;
		case PLAN_STEP_ROLLOUT:
		case PLAN_STEP_ROLLOUT_HELD:
			CHECKF(false, "%s: a rollout step without a rollout", name);
			break;
		case PLAN_STEP_WAIT_UPDATED:
		case PLAN_STEP_WAIT_VERSION:
			break;
		}
	}
	return created;
}

static void random_case(struct plan_desired *d, struct plan_observed *o, long *next_version)
{
	unsigned n_rel = 1 + rnd(4), n_alias = rnd(4);
	static const char *const alias_names[] = {"Prod", "Test", "Canary", "Old", "Human"};

	memset(d, 0, sizeof(*d));
	memset(o, 0, sizeof(*o));
	d->function = strdup("fn");
	d->commit = rnd(2) ? strdup("0123456789abcdef0123456789abcdef01234567") : NULL;
	d->keep_versions = rnd(3) ? -1 : (long)rnd(4);
	d->prune_aliases = rnd(3) == 0;

	/* observed: maybe nothing; else versions from the pool (humans included) */
	*next_version = 1;
	if (rnd(5)) {
		unsigned n_v = rnd(6);
		struct plan_config cfg = {0};

		o->exists = true;
		snprintf(o->latest.code_sha256, sizeof(o->latest.code_sha256), "%s", SHAS[rnd(4)]);
		set_cfg(&o->latest.config, MEMS[rnd(2)]);
		for (unsigned k = 0; k < n_v; k++) {
			plan_config_release(&cfg);
			set_cfg(&cfg, MEMS[rnd(2)]);
			*next_version += rnd(2); /* gaps: deleted versions */
			add_version(o, (*next_version)++, SHAS[rnd(4)], &cfg);
		}
		plan_config_release(&cfg);
		for (unsigned k = 0; o->n_versions && k < rnd(3); k++) {
			struct plan_observed_alias *a;

			if (alias_find(o, alias_names[k + 2]))
				continue;
			a = alias_add(o, alias_names[k + 2]);
			a->version = o->versions[rnd((unsigned)o->n_versions)].number;
		}
	}

	d->releases = calloc(n_rel, sizeof(*d->releases));
	REQUIRE(d->releases);
	d->n_releases = n_rel;
	for (unsigned i = 0; i < n_rel; i++) {
		struct plan_release *r = &d->releases[i];
		char name[16];

		snprintf(name, sizeof(name), "r%u", i);
		r->name = strdup(name);
		if (o->n_versions && rnd(6) == 0) {
			r->pin = o->versions[rnd((unsigned)o->n_versions)].number;
			continue;
		}
		r->code.kind = PLAN_CODE_ZIP;
		snprintf(r->code.sha256, sizeof(r->code.sha256), "%s", SHAS[rnd(3)]);
		r->code.zip_path = strdup("x.zip");
		set_cfg(&r->config, MEMS[rnd(2)]);
	}
	d->aliases = calloc(n_alias + 1, sizeof(*d->aliases));
	REQUIRE(d->aliases);
	for (unsigned i = 0; i < n_alias; i++) {
		struct plan_alias *a = &d->aliases[d->n_aliases++];

		a->name = strdup(alias_names[i]);
		a->primary = (struct plan_ref){(long)rnd(n_rel), 0};
		if (rnd(3) == 0 && n_rel > 1) {
			a->weighted = true;
			a->extra = (struct plan_ref){(long)((a->primary.release + 1) % n_rel), 0};
			a->weight = (1 + rnd(9)) / 10.0;
		}
	}
}

TEST(random_plans_converge_in_one_pass)
{
	int converged = 0, with_steps = 0;

	for (unsigned i = 0; i < 4; i++)
		REQUIRE(codec_sha256_normalise(SHAS[i], HEX[i]) == 0);
	for (int c = 0; c < N_CASES; c++) {
		struct plan_desired d;
		struct plan_observed o;
		struct plan p = PLAN_INIT, p2 = PLAN_INIT;
		struct error err = ERROR_INIT;
		long next_version, *before;
		char name[32];
		int r, created;
		size_t n_before;

		snprintf(name, sizeof(name), "case %d", c);
		random_case(&d, &o, &next_version);
		r = plan_build(&p, &d, &o, &err);
		if (r < 0) {
			/* only a pin/number that is not published may fail */
			CHECKF(r == -ENOENT || r == -EINVAL, "%s: plan_build %d (%s)", name, r, err.msg);
			goto next;
		}
		if (p.n_steps)
			with_steps++;
		before = calloc(d.n_releases + 1, sizeof(*before));
		REQUIRE(before);
		memcpy(before, p.resolved, d.n_releases * sizeof(*before));
		n_before = o.n_versions;
		created = simulate(&p, &d, &o, &next_version, name);
		/* resolved releases keep their versions: never republished */
		for (size_t k = 0; k < d.n_releases; k++)
			if (before[k] > 0)
				CHECKF(p.resolved[k] == before[k], "%s: release %zu moved", name, k);
		free(before);
		CHECKF(created <= (int)d.n_releases, "%s: %d versions for %zu releases", name, created,
		       d.n_releases);
		CHECKF(o.n_versions <= n_before + (size_t)created, "%s: versions appeared from nowhere",
		       name);

		r = plan_build(&p2, &d, &o, &err);
		CHECKF(r == 0, "%s: second plan_build %d (%s)", name, r, err.msg);
		if (r == 0) {
			CHECKF(p2.n_steps == 0, "%s: second plan has %zu steps (first kind %d)", name,
			       p2.n_steps, p2.n_steps ? (int)p2.steps[0].kind : -1);
			if (p2.n_steps == 0)
				converged++;
			for (size_t k = 0; k < d.n_aliases; k++) {
				const struct plan_alias *a = &d.aliases[k];
				const struct plan_observed_alias *oa = alias_find(&o, a->name);

				REQUIRE(oa);
				CHECKF(oa->version == ref_version(&p2, &a->primary), "%s: alias %s", name,
				       a->name);
				if (a->weighted)
					CHECKF(oa->extra_version == ref_version(&p2, &a->extra) &&
					           fabs(oa->weight - a->weight) < 1e-9,
					       "%s: alias %s weights", name, a->name);
			}
		}
		plan_release(&p2);
	next:
		plan_release(&p);
		plan_desired_release(&d);
		plan_observed_release(&o);
	}
	CHECKF(converged > N_CASES / 2, "only %d of %d cases planned and converged", converged, N_CASES);
	CHECKF(with_steps > N_CASES / 3, "only %d cases had anything to do", with_steps);
}

TEST_MAIN(random_plans_converge_in_one_pass)
