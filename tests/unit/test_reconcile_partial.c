/*
 * test_reconcile_partial.c - plans from a partial observation (only the
 * versions the aliases serve, plus those named by number) against plans from
 * the full version list.
 *
 * The promise (plan.h): whenever plan_partial_enough() says so, the plan from
 * the partial observation is the full observation's plan, step by step and
 * line by line, and it publishes nothing; otherwise plan_build() refuses it
 * (-ENODATA).  A seeded generator walks thousands of (desired, observed)
 * pairs: duplicate versions, weighted aliases, pins and numeric targets that
 * may not exist, pruning; the named cases pin down the resolution rule.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/plan.h"
#include "tests/unit/harness.h"
#include "tests/unit/plan_builders.h"
#include "util/buf.h"

/* What reconcile_observe_aliased() would have seen of `o`. */
static void partial_of(struct plan_observed *ret, const struct plan_observed *o, const struct plan_desired *d)
{
	memset(ret, 0, sizeof(*ret));
	ret->exists = o->exists;
	ret->partial = true;
	snprintf(ret->revision_id, sizeof(ret->revision_id), "%s", o->revision_id);
	snprintf(ret->latest.code_sha256, sizeof(ret->latest.code_sha256), "%s", o->latest.code_sha256);
	REQUIRE(plan_config_copy(&ret->latest.config, &o->latest.config) == 0);
	for (size_t i = 0; i < o->n_aliases; i++) {
		struct plan_observed_alias *a = add_obs_alias(ret, o->aliases[i].name, o->aliases[i].version);

		a->extra_version = o->aliases[i].extra_version;
		a->weight = o->aliases[i].weight;
		if (o->aliases[i].description)
			a->description = strdup(o->aliases[i].description);
	}
	for (size_t i = 0; i < o->n_versions; i++) {
		const struct plan_version *v = &o->versions[i];
		bool keep = false;

		for (size_t k = 0; k < o->n_aliases && !keep; k++)
			keep = o->aliases[k].version == v->number || o->aliases[k].extra_version == v->number;
		for (size_t k = 0; k < d->n_releases && !keep; k++)
			keep = d->releases[k].pin == v->number;
		for (size_t k = 0; k < d->n_aliases && !keep; k++) {
			const struct plan_alias *a = &d->aliases[k];

			keep = (a->primary.release < 0 && a->primary.version == v->number) ||
			       (a->weighted && a->extra.release < 0 && a->extra.version == v->number);
		}
		if (!keep)
			continue;
		ret->versions = realloc(ret->versions, (ret->n_versions + 1) * sizeof(*ret->versions));
		REQUIRE(ret->versions);
		memset(&ret->versions[ret->n_versions], 0, sizeof(ret->versions[0]));
		ret->versions[ret->n_versions].number = v->number;
		snprintf(ret->versions[ret->n_versions].code_sha256, sizeof(v->code_sha256), "%s",
		         v->code_sha256);
		REQUIRE(plan_config_copy(&ret->versions[ret->n_versions].config, &v->config) == 0);
		ret->n_versions++;
	}
}

static bool plan_publishes(const struct plan *p)
{
	for (size_t i = 0; i < p->n_steps; i++) {
		enum plan_step_kind k = p->steps[i].kind;

		if (k == PLAN_STEP_CREATE_FUNCTION || k == PLAN_STEP_UPDATE_CODE ||
		    k == PLAN_STEP_UPDATE_CONFIG || k == PLAN_STEP_PUBLISH)
			return true;
	}
	return false;
}

/* The two plans are the same, step by step, and say the same lines. */
static void same_plans(const char *what, const struct plan *a, const struct plan_observed *oa,
                       const struct plan *b, const struct plan_observed *ob, const struct plan_desired *d)
{
	CHECKF(a->n_steps == b->n_steps, "%s: %zu steps vs %zu", what, a->n_steps, b->n_steps);
	for (size_t i = 0; i < d->n_releases; i++)
		CHECKF(a->resolved[i] == b->resolved[i], "%s: release %zu resolves to %ld vs %ld", what, i,
		       a->resolved[i], b->resolved[i]);
	for (size_t i = 0; i < a->n_steps && i < b->n_steps; i++) {
		const struct plan_step *x = &a->steps[i], *y = &b->steps[i];
		struct buf lx = BUF_INIT, ly = BUF_INIT;

		CHECKF(x->kind == y->kind && x->release == y->release && x->alias == y->alias &&
		           x->obs_alias == y->obs_alias && x->version == y->version &&
		           x->config_mask == y->config_mask,
		       "%s: step %zu differs", what, i);
		REQUIRE(plan_step_describe(&lx, a, x, d, oa) >= 0);
		REQUIRE(plan_step_describe(&ly, b, y, d, ob) >= 0);
		CHECKF(!strcmp(lx.ptr ? lx.ptr : "", ly.ptr ? ly.ptr : ""), "%s: step %zu says '%s' vs '%s'",
		       what, i, lx.ptr, ly.ptr);
		buf_release(&lx);
		buf_release(&ly);
	}
}

/* A small deterministic generator (the same walk on every run). */
static unsigned long seed = 12345;

static unsigned pick(unsigned n)
{
	seed = seed * 6364136223846793005UL + 1442695040888963407UL;
	return (unsigned)((seed >> 33) % n);
}

static const char *sha_pick(void)
{
	const char *s[] = {SHA_A, SHA_B, SHA_C};

	return s[pick(3)];
}

static const char *memory_pick(void)
{
	return pick(8) ? "128" : "256";
}

static void random_world(struct plan_desired *d, struct plan_observed *o)
{
	static const char *const obs_names[] = {"Prod", "Test", "Canary", "Old"};
	static const char *const names[] = {"Prod", "Test", "Canary", "New"};
	unsigned n_versions = pick(7), n_obs = pick(4), n_rel = 1 + pick(3), n_alias = pick(4);
	long numbers[8];
	char target[16];

	memset(d, 0, sizeof(*d));
	d->function = strdup("my-lambda-function");
	d->commit = strdup("abcdef0123456789abcdef0123456789abcdef01");
	d->keep_versions = pick(8) ? -1 : (long)pick(3);
	d->prune_aliases = pick(3) == 0;
	observed_init(o, sha_pick(), memory_pick());
	for (unsigned i = 0; i < n_versions; i++) {
		/* gaps: some versions were deleted */
		numbers[i] = (i > 0 ? numbers[i - 1] : 0) + 1 + (pick(3) == 0);
		add_version(o, numbers[i], sha_pick(), memory_pick());
	}
	for (unsigned i = 0; i < n_obs && n_versions > 0; i++) {
		struct plan_observed_alias *a = add_obs_alias(o, obs_names[i], numbers[pick(n_versions)]);

		if (pick(4) == 0) {
			a->extra_version = numbers[pick(n_versions)];
			a->weight = 0.1;
			if (a->extra_version == a->version)
				a->extra_version = 0;
		}
	}
	for (unsigned i = 0; i < n_rel; i++) {
		char name[16];

		snprintf(name, sizeof(name), "r%u", i);
		add_release(d, name, sha_pick(), memory_pick(), pick(6) ? 0 : 1 + (long)pick(9));
	}
	for (unsigned i = 0; i < n_alias; i++) {
		struct plan_alias *a;

		if (pick(5) == 0)
			snprintf(target, sizeof(target), "#%u", 1 + pick(9));
		else
			snprintf(target, sizeof(target), "r%u", pick(n_rel));
		a = add_alias(d, names[i], target);
		if (pick(5) == 0) {
			snprintf(target, sizeof(target), "r%u", pick(n_rel));
			set_weight(d, a, target, 0.25);
			if (a->extra.release == a->primary.release)
				a->weighted = false;
		}
	}
}

TEST(partial_plan_is_the_full_plan_or_refused)
{
	unsigned enough = 0, refused = 0, no_steps = 0;

	shas_init();
	for (int iter = 0; iter < 10000; iter++) {
		struct plan_desired d;
		struct plan_observed o, part;
		struct plan full = PLAN_INIT, pp = PLAN_INIT;
		int rf, rp;
		char what[32];

		snprintf(what, sizeof(what), "world %d", iter);
		random_world(&d, &o);
		partial_of(&part, &o, &d);
		rf = plan_build(&full, &d, &o, NULL);
		rp = plan_build(&pp, &d, &part, NULL);
		if (plan_partial_enough(&d, &part)) {
			enough++;
			CHECKF(rp == rf, "%s: partial %d, full %d", what, rp, rf);
			if (rp == 0 && rf == 0) {
				same_plans(what, &pp, &part, &full, &o, &d);
				CHECKF(!plan_publishes(&pp), "%s: a partial plan publishes", what);
				no_steps += pp.n_steps == 0;
			}
		} else {
			refused++;
			CHECKF(rp == -ENODATA, "%s: not enough, yet plan_build said %d", what, rp);
		}
		/* a full observation is always enough */
		CHECK(plan_partial_enough(&d, &o));
		plan_release(&full);
		plan_release(&pp);
		plan_desired_release(&d);
		plan_observed_release(&o);
		plan_observed_release(&part);
	}
	/* the walk covers both answers, and plans with and without steps */
	CHECKF(enough > 800 && refused > 800, "enough %u, refused %u", enough, refused);
	CHECKF(no_steps > 200 && no_steps < enough, "in-sync partial plans: %u of %u", no_steps, enough);
}

TEST(aliased_copy_wins_over_a_newer_one)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;
	long res[2];

	shas_init();
	classic(&d);
	classic_synced(&o);
	add_version(&o, 5, SHA_A, "128"); /* somebody published v1's code again */
	CHECK_INT(plan_resolve(res, &d, &o, NULL), 0);
	CHECK_INT(res[0], 1); /* Prod serves 1: it stays there */
	REQUIRE(plan_build(&p, &d, &o, NULL) == 0);
	CHECK_INT((long)p.n_steps, 0);
	plan_release(&p);
	/* with no alias on any copy, the newest one */
	free(o.aliases[0].name);
	o.aliases[0] = o.aliases[1]; /* only Test (on 2) is left */
	o.n_aliases = 1;
	CHECK_INT(plan_resolve(res, &d, &o, NULL), 0);
	CHECK_INT(res[0], 5);
	CHECK_INT(res[1], 2);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(promotion_from_the_aliases_alone)
{
	struct plan_desired d;
	struct plan_observed o, part;
	struct plan p = PLAN_INIT;

	shas_init();
	classic(&d);
	classic_synced(&o);
	d.aliases[0].primary = ref_of(&d, "v2"); /* promote Prod to v2 */
	partial_of(&part, &o, &d);
	CHECK(plan_partial_enough(&d, &part));
	REQUIRE(plan_build(&p, &d, &part, NULL) == 0);
	REQUIRE(p.n_steps == 1);
	CHECK_INT(p.steps[0].kind, PLAN_STEP_UPDATE_ALIAS);
	CHECK_INT(p.resolved[1], 2);
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
	plan_observed_release(&part);
}

TEST(what_needs_the_version_list)
{
	struct plan_desired d;
	struct plan_observed o, part;
	struct plan p = PLAN_INIT;
	struct error err = ERROR_INIT;

	shas_init();
	/* rollback to v1, which no alias serves: only the list can say it exists */
	classic(&d);
	classic_synced(&o);
	o.aliases[0].version = 2;
	partial_of(&part, &o, &d);
	CHECK(!plan_partial_enough(&d, &part));
	CHECK_INT(plan_build(&p, &d, &part, &err), -ENODATA);
	CHECK(strstr(err.msg, "version list") != NULL);
	plan_observed_release(&part);
	/* pruning needs every version */
	d.aliases[0].primary = ref_of(&d, "v2");
	d.keep_versions = 3;
	partial_of(&part, &o, &d);
	CHECK(!plan_partial_enough(&d, &part));
	plan_observed_release(&part);
	plan_desired_release(&d);
	/* a pin that was read is enough; one that was not found is not */
	classic(&d);
	d.releases[0].pin = 1;
	partial_of(&part, &o, &d);
	CHECK(plan_partial_enough(&d, &part));
	plan_observed_release(&part);
	d.releases[0].pin = 7;
	partial_of(&part, &o, &d);
	CHECK(!plan_partial_enough(&d, &part));
	CHECK_INT(plan_build(&p, &d, &o, NULL), -ENOENT); /* the full list says why */
	plan_observed_release(&part);
	plan_desired_release(&d);
	/* a function that does not exist is never partial */
	classic(&d);
	plan_observed_release(&o);
	memset(&o, 0, sizeof(o));
	o.partial = true;
	CHECK(!plan_partial_enough(&d, &o));
	plan_desired_release(&d);
}

TEST_MAIN(partial_plan_is_the_full_plan_or_refused, aliased_copy_wins_over_a_newer_one,
          promotion_from_the_aliases_alone, what_needs_the_version_list)
