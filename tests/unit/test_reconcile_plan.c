/*
 * test_reconcile_plan.c - plan_build() and plan_resolve() with no server.
 *
 * Each test builds a desired state (the classic my-lambda-function with
 * releases v1/v2 and aliases Prod/Test, varied) and an observed state, plans,
 * and compares the step kinds with the expected sequence.  check_invariants()
 * runs on every plan: aliases only target declared resolutions, each publish
 * is preceded by its code/config updates and followed by a version wait,
 * alias writes come after publishes, deletions last, and no referenced
 * version is deleted.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/codec.h"
#include "reconcile/plan.h"
#include "tests/unit/harness.h"
#include "tests/unit/plan_builders.h"

static long ref_target(const struct plan *p, const struct plan_ref *r)
{
	return r->release >= 0 ? p->resolved[r->release] : r->version;
}

static bool step_deletes_version(const struct plan *p, long v)
{
	for (size_t i = 0; i < p->n_steps; i++)
		if (p->steps[i].kind == PLAN_STEP_DELETE_VERSION && p->steps[i].version == v)
			return true;
	return false;
}

static void check_invariants(const char *name, const struct plan *p, const struct plan_desired *d,
                             const struct plan_observed *o)
{
	bool seen_alias_write = false, seen_delete = false;

	for (size_t i = 0; i < p->n_steps; i++) {
		const struct plan_step *s = &p->steps[i];

		switch (s->kind) {
		case PLAN_STEP_PUBLISH: {
			const struct plan_release *r = &d->releases[s->release];

			CHECKF(!seen_alias_write && !seen_delete, "%s: publish after alias write/delete",
			       name);
			CHECKF(p->resolved[s->release] == 0, "%s: publishing resolved release %s", name,
			       r->name);
			CHECKF(r->pin <= 0, "%s: publishing pinned release", name);
			CHECKF(i + 1 < p->n_steps && p->steps[i + 1].kind == PLAN_STEP_WAIT_VERSION &&
			           p->steps[i + 1].release == s->release,
			       "%s: publish not followed by its wait", name);
			break;
		}
		case PLAN_STEP_UPDATE_CODE:
		case PLAN_STEP_UPDATE_CONFIG:
		case PLAN_STEP_CREATE_FUNCTION: {
			bool published_later = false;

			CHECKF(!seen_alias_write && !seen_delete, "%s: $LATEST write after aliases", name);
			/* $LATEST is only written for a release that is then published */
			for (size_t j = i + 1; j < p->n_steps; j++)
				if (p->steps[j].kind == PLAN_STEP_PUBLISH &&
				    p->steps[j].release == s->release)
					published_later = true;
			CHECKF(published_later, "%s: $LATEST written for release %ld that is never published",
			       name, s->release);
			break;
		}
		case PLAN_STEP_CREATE_ALIAS:
		case PLAN_STEP_UPDATE_ALIAS:
		case PLAN_STEP_ROLLOUT: {
			const struct plan_alias *a = &d->aliases[s->alias];
			const struct plan_ref *refs[2] = {&a->primary, a->weighted ? &a->extra : NULL};

			seen_alias_write = true;
			CHECKF(!seen_delete, "%s: alias write after a delete", name);
			for (int k = 0; k < 2; k++) {
				long v;

				if (!refs[k])
					continue;
				v = ref_target(p, refs[k]);
				if (refs[k]->release >= 0) {
					/* declared release: resolved, or published by this plan (maybe as its
					 * twin) */
					long rel = refs[k]->release;
					bool published = v > 0;

					if (p->same_as && p->same_as[rel] >= 0)
						rel = p->same_as[rel];
					for (size_t j = 0; j < i && !published; j++)
						published = p->steps[j].kind == PLAN_STEP_PUBLISH &&
						            p->steps[j].release == rel;
					CHECKF(published, "%s: alias %s on an unpublished release", name,
					       a->name);
				} else {
					bool exists = false;

					for (size_t j = 0; j < o->n_versions; j++)
						exists |= o->versions[j].number == v;
					CHECKF(exists, "%s: alias %s on missing version %ld", name, a->name,
					       v);
				}
			}
			break;
		}
		case PLAN_STEP_ROLLOUT_HELD:
			CHECKF(d->aliases[s->alias].has_rollout, "%s: held without a rollout", name);
			break;
		case PLAN_STEP_DELETE_ALIAS:
			CHECKF(d->prune_aliases, "%s: alias delete without prune", name);
			seen_delete = true;
			break;
		case PLAN_STEP_DELETE_VERSION:
			seen_delete = true;
			CHECKF(d->keep_versions >= 0, "%s: version delete without keepVersions", name);
			for (size_t j = 0; j < d->n_releases; j++)
				CHECKF(p->resolved[j] != s->version,
				       "%s: deleting version %ld of a declared release", name, s->version);
			for (size_t j = 0; j < d->n_aliases; j++) {
				CHECKF(ref_target(p, &d->aliases[j].primary) != s->version,
				       "%s: deleting version %ld an alias targets", name, s->version);
				if (d->aliases[j].weighted)
					CHECKF(ref_target(p, &d->aliases[j].extra) != s->version,
					       "%s: deleting weighted version %ld", name, s->version);
			}
			break;
		case PLAN_STEP_WAIT_UPDATED:
		case PLAN_STEP_WAIT_VERSION:
			break;
		}
	}
	(void)step_deletes_version;
}

/* "C W P V" etc.: one letter per step kind */
static char kind_letter(enum plan_step_kind k)
{
	switch (k) {
	case PLAN_STEP_CREATE_FUNCTION:
		return 'F';
	case PLAN_STEP_WAIT_UPDATED:
		return 'W';
	case PLAN_STEP_UPDATE_CODE:
		return 'C';
	case PLAN_STEP_UPDATE_CONFIG:
		return 'G';
	case PLAN_STEP_PUBLISH:
		return 'P';
	case PLAN_STEP_WAIT_VERSION:
		return 'V';
	case PLAN_STEP_CREATE_ALIAS:
		return 'a';
	case PLAN_STEP_UPDATE_ALIAS:
		return 'u';
	case PLAN_STEP_DELETE_ALIAS:
		return 'd';
	case PLAN_STEP_DELETE_VERSION:
		return 'x';
	case PLAN_STEP_ROLLOUT:
		return 'r';
	case PLAN_STEP_ROLLOUT_HELD:
		return 'h';
	}
	return '?';
}

static void plan_shape(char *out, size_t outsz, const struct plan *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_steps && n + 1 < outsz; i++)
		out[n++] = kind_letter(p->steps[i].kind);
	out[n] = '\0';
}

/* plan, check invariants and compare the shape */
static void expect_plan(const char *name, struct plan *p, const struct plan_desired *d,
                        const struct plan_observed *o, const char *shape)
{
	struct error err = ERROR_INIT;
	char got[256];
	int r = plan_build(p, d, o, &err);

	CHECKF(r == 0, "%s: plan_build = %d (%s)", name, r, err.msg);
	if (r < 0)
		return;
	plan_shape(got, sizeof(got), p);
	CHECKF(!strcmp(got, shape), "%s: steps \"%s\", expected \"%s\"", name, got, shape);
	check_invariants(name, p, d, o);
}

static void describe(char *out, size_t outsz, const struct plan *p, size_t i, const struct plan_desired *d,
                     const struct plan_observed *o)
{
	struct buf b = BUF_INIT;

	if (i >= p->n_steps || plan_step_describe(&b, p, &p->steps[i], d, o) < 0)
		snprintf(out, outsz, "(none)");
	else
		snprintf(out, outsz, "%s", b.ptr);
	buf_release(&b);
}

/* ---- tests ---- */

TEST(create_function_from_nothing)
{
	struct plan_desired d;
	struct plan_observed o = {0};
	struct plan p = PLAN_INIT;
	char line[512];

	shas_init();
	classic(&d);
	expect_plan("create", &p, &d, &o, "FWPVCWPVaa");
	CHECK_INT(p.steps[0].release, 0);
	CHECK_INT(p.resolved[0], 0);
	CHECK_INT(p.resolved[1], 0);
	CHECK_INT(plan_count_writes(&p), 6);
	describe(line, sizeof(line), &p, 0, &d, &o);
	CHECK(!strncmp(line, "+ create function my-lambda-function with release v1 (code aaaaaaaa", 66));
	describe(line, sizeof(line), &p, 2, &d, &o);
	CHECK_STR(line, "+ publish release v1 (code aaaaaaaa\u2026, from artifacts/Version1.zip)");
	describe(line, sizeof(line), &p, 8, &d, &o);
	CHECK_STR(line, "+ alias Prod: v1 (new)");
	plan_release(&p);
	plan_desired_release(&d);
}

TEST(in_sync_plans_nothing)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;

	shas_init();
	classic(&d);
	classic_synced(&o);
	expect_plan("in sync", &p, &d, &o, "");
	CHECK_INT(p.resolved[0], 1);
	CHECK_INT(p.resolved[1], 2);
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(add_release_publishes_it_once)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;
	char line[512];

	shas_init();
	classic(&d);
	/* only v1 is there: $LATEST holds v1's code */
	observed_init(&o, SHA_A, "128");
	add_version(&o, 1, SHA_A, "128");
	add_obs_alias(&o, "Prod", 1);
	expect_plan("add v2", &p, &d, &o, "CWPVa");
	describe(line, sizeof(line), &p, 0, &d, &o);
	CHECK_STR(line, "~ update code for release v2 (code bbbbbbbb\u2026, from artifacts/Version2.zip)");
	describe(line, sizeof(line), &p, 4, &d, &o);
	CHECK_STR(line, "+ alias Test: v2 (new)");
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(promote_is_one_alias_update)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;
	char line[512];

	shas_init();
	classic(&d);
	d.aliases[0].primary = ref_of(&d, "v2"); /* Prod: v2 */
	classic_synced(&o);
	expect_plan("promote", &p, &d, &o, "u");
	CHECK_INT(p.steps[0].alias, 0);
	CHECK_INT(p.steps[0].obs_alias, 0);
	describe(line, sizeof(line), &p, 0, &d, &o);
	CHECK_STR(line, "~ alias Prod: v1 (1) \u2192 v2 (2)");
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(rollback_is_one_alias_update)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;
	char line[512];

	shas_init();
	classic(&d); /* Prod: v1 again (the revert) */
	classic_synced(&o);
	o.aliases[0].version = 2; /* Prod was promoted to 2 */
	expect_plan("rollback", &p, &d, &o, "u");
	CHECK_INT(plan_count_writes(&p), 1);
	describe(line, sizeof(line), &p, 0, &d, &o);
	CHECK_STR(line, "~ alias Prod: v2 (2) \u2192 v1 (1)");
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(human_latest_change_is_never_published)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;

	shas_init();
	classic(&d);
	/* everything resolved, someone uploaded other code to $LATEST */
	classic_synced(&o);
	snprintf(o.latest.code_sha256, sizeof(o.latest.code_sha256), "%s", SHA_H);
	REQUIRE(plan_config_set(&o.latest.config, PLAN_CFG_MEMORY_SIZE, "1024") == 0);
	expect_plan("human, resolved", &p, &d, &o, "");
	plan_release(&p);
	plan_observed_release(&o);

	/* v2 unresolved: v2's code (and config) is put back before the publish */
	observed_init(&o, SHA_H, "1024");
	add_version(&o, 1, SHA_A, "128");
	add_obs_alias(&o, "Prod", 1);
	expect_plan("human, unresolved", &p, &d, &o, "CWGWPVa");
	CHECK_INT(p.steps[2].config_mask, 1u << PLAN_CFG_MEMORY_SIZE);
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(alias_drift_is_moved_back)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;

	shas_init();
	classic(&d);
	classic_synced(&o);
	add_version(&o, 3, SHA_C, "128"); /* a human's version */
	o.aliases[1].version = 3;         /* Test moved by hand */
	expect_plan("drift", &p, &d, &o, "u");
	CHECK_INT(p.steps[0].alias, 1);
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(resolve_newest_matching_version)
{
	struct plan_desired d;
	struct plan_observed o;
	long res[2];

	shas_init();
	classic(&d);
	observed_init(&o, SHA_A, "128");
	add_version(&o, 1, SHA_A, "128");
	add_version(&o, 4, SHA_A, "128");
	add_version(&o, 2, SHA_B, "256"); /* code matches v2, config does not */
	add_version(&o, 3, SHA_A, "256");
	CHECK_INT(plan_resolve(res, &d, &o, NULL), 0);
	CHECK_INT(res[0], 4);
	CHECK_INT(res[1], 0);
	/* a field the manifest does not manage (timeout differs 3/30) never matters */
	add_version(&o, 6, SHA_B, "128");
	CHECK_INT(plan_resolve(res, &d, &o, NULL), 0);
	CHECK_INT(res[1], 6);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(config_only_release)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;
	char line[512];

	shas_init();
	classic(&d);
	/* v2 = v1's code with more memory */
	snprintf(d.releases[1].code.sha256, sizeof(d.releases[1].code.sha256), "%s", SHA_A);
	REQUIRE(plan_config_set(&d.releases[1].config, PLAN_CFG_MEMORY_SIZE, "256") == 0);
	observed_init(&o, SHA_A, "128");
	add_version(&o, 1, SHA_A, "128");
	add_obs_alias(&o, "Prod", 1);
	add_obs_alias(&o, "Test", 1);
	expect_plan("config only", &p, &d, &o, "GWPVu");
	CHECK_INT(p.steps[0].config_mask, 1u << PLAN_CFG_MEMORY_SIZE);
	describe(line, sizeof(line), &p, 0, &d, &o);
	CHECK_STR(line, "~ update configuration for release v2: memorySize");
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(waits_for_in_progress_update)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;

	shas_init();
	classic(&d);
	observed_init(&o, SHA_A, "128");
	o.last_update = PLAN_UPDATE_IN_PROGRESS;
	add_version(&o, 1, SHA_A, "128");
	add_obs_alias(&o, "Prod", 1);
	add_obs_alias(&o, "Test", 1);
	expect_plan("in progress", &p, &d, &o, "WCWPVu");
	plan_release(&p);
	plan_observed_release(&o);

	/* $LATEST already holds v2 (a crash after the update): publish only */
	observed_init(&o, SHA_B, "128");
	o.state = PLAN_STATE_PENDING;
	add_version(&o, 1, SHA_A, "128");
	add_obs_alias(&o, "Prod", 1);
	add_obs_alias(&o, "Test", 1);
	expect_plan("pending, code there", &p, &d, &o, "WPVu");
	plan_release(&p);
	plan_observed_release(&o);

	observed_init(&o, SHA_B, "128");
	add_version(&o, 1, SHA_A, "128");
	add_obs_alias(&o, "Prod", 1);
	add_obs_alias(&o, "Test", 1);
	expect_plan("code there", &p, &d, &o, "PVu");
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(adoption_with_pins_writes_nothing)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;
	struct error err = ERROR_INIT;

	shas_init();
	memset(&d, 0, sizeof(d));
	d.function = strdup("legacy-fn");
	d.keep_versions = -1;
	add_release(&d, "old", NULL, NULL, 1);
	add_release(&d, "new", NULL, NULL, 2);
	add_alias(&d, "Prod", "old");
	add_alias(&d, "Test", "new");
	add_alias(&d, "Pinned", "#3");
	/* made by hand: $LATEST is something else entirely */
	observed_init(&o, SHA_H, "512");
	add_version(&o, 1, SHA_A, "128");
	add_version(&o, 2, SHA_B, "256");
	add_version(&o, 3, SHA_C, "128");
	add_obs_alias(&o, "Prod", 1);
	add_obs_alias(&o, "Test", 2);
	add_obs_alias(&o, "Pinned", 3);
	expect_plan("adoption", &p, &d, &o, "");
	CHECK_INT(p.resolved[0], 1);
	CHECK_INT(p.resolved[1], 2);
	plan_release(&p);

	/* a pin that is not published is an error, not a write */
	d.releases[1].pin = 9;
	CHECK_INT(plan_build(&p, &d, &o, &err), -ENOENT);
	CHECK(strstr(err.msg, "version 9") != NULL);
	CHECK(p.steps == NULL);
	d.releases[1].pin = 2;
	/* a numeric alias on a missing version too */
	d.aliases[2].primary.version = 7;
	error_clear(&err);
	CHECK_INT(plan_build(&p, &d, &o, &err), -ENOENT);
	CHECK(strstr(err.msg, "Pinned") != NULL);
	/* function missing and only pins: error */
	plan_observed_release(&o);
	CHECK_INT(plan_build(&p, &d, &o, &err), -ENOENT);
	plan_desired_release(&d);
}

TEST(numeric_alias_targets)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;
	char line[512];

	shas_init();
	classic(&d);
	add_alias(&d, "Pinned", "#3");
	classic_synced(&o);
	add_version(&o, 3, SHA_C, "128");
	expect_plan("numeric", &p, &d, &o, "a");
	describe(line, sizeof(line), &p, 0, &d, &o);
	CHECK_STR(line, "+ alias Pinned: 3");
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(weights)
{
	static const struct {
		const char *name;
		long obs_extra;
		double obs_weight;
		bool desired_weighted;
		const char *shape;
	} cases[] = {
	    {"add weight", 0, 0, true, "u"},
	    {"same weight", 2, 0.1, true, ""},
	    {"same weight, float noise", 2, 0.1000000001, true, ""},
	    {"other weight", 2, 0.2, true, "u"},
	    {"weight on other version", 1, 0.1, true, "u"},
	    {"clear weight", 2, 0.1, false, "u"},
	    {"no weight", 0, 0, false, ""},
	};

	shas_init();
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct plan_desired d;
		struct plan_observed o;
		struct plan p = PLAN_INIT;
		struct plan_alias *a;
		struct plan_observed_alias *oa;

		classic(&d);
		a = add_alias(&d, "Canary", "v1");
		if (cases[i].desired_weighted)
			set_weight(&d, a, "v2", 0.1);
		classic_synced(&o);
		oa = add_obs_alias(&o, "Canary", 1);
		oa->extra_version = cases[i].obs_extra;
		oa->weight = cases[i].obs_weight;
		expect_plan(cases[i].name, &p, &d, &o, cases[i].shape);
		plan_release(&p);
		plan_desired_release(&d);
		plan_observed_release(&o);
	}
}

TEST(weighted_describe)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;
	char line[512];

	shas_init();
	classic(&d);
	set_weight(&d, &d.aliases[0], "v2", 0.1);
	classic_synced(&o);
	expect_plan("canary", &p, &d, &o, "u");
	describe(line, sizeof(line), &p, 0, &d, &o);
	CHECK_STR(line, "~ alias Prod: v1 (1) \u2192 v1 (1) + 10% v2 (2)");
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(alias_description)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;

	shas_init();
	classic(&d);
	classic_synced(&o);
	o.aliases[0].description = strdup("by hand");
	expect_plan("unmanaged description", &p, &d, &o, "");
	plan_release(&p);
	d.aliases[0].description = strdup("production");
	expect_plan("managed description", &p, &d, &o, "u");
	plan_release(&p);
	free(o.aliases[0].description);
	o.aliases[0].description = strdup("production");
	expect_plan("managed description equal", &p, &d, &o, "");
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(prune_aliases)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;
	char line[512];

	shas_init();
	classic(&d);
	d.aliases[0].primary = ref_of(&d, "v2");
	classic_synced(&o);
	add_obs_alias(&o, "Old", 1);
	expect_plan("prune off", &p, &d, &o, "u");
	plan_release(&p);
	d.prune_aliases = true;
	expect_plan("prune on", &p, &d, &o, "ud");
	describe(line, sizeof(line), &p, 1, &d, &o);
	CHECK_STR(line, "- alias Old (v1 (1))");
	CHECK_INT(p.steps[1].obs_alias, 2);
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(prune_versions)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;

	shas_init();
	classic(&d);
	classic_synced(&o);
	/* 3: a human's alias Old (kept: prune.aliases off); 4..7: unreferenced */
	for (long v = 3; v <= 7; v++)
		add_version(&o, v, SHA_H, "128");
	add_obs_alias(&o, "Old", 3);
	o.aliases[2].extra_version = 4; /* weighted: referenced too */
	o.aliases[2].weight = 0.5;

	d.keep_versions = 2; /* keep 6, 7 */
	expect_plan("keep 2", &p, &d, &o, "x");
	CHECK_INT(p.steps[0].version, 5);
	plan_release(&p);

	d.keep_versions = 0; /* nothing kept by age; references still protect */
	expect_plan("keep 0", &p, &d, &o, "xxx");
	CHECK_INT(p.steps[0].version, 5);
	CHECK_INT(p.steps[1].version, 6);
	CHECK_INT(p.steps[2].version, 7);
	plan_release(&p);

	/* with prune.aliases the Old alias goes first, then its versions */
	d.prune_aliases = true;
	expect_plan("keep 0 + prune aliases", &p, &d, &o, "dxxxxx");
	CHECK_INT(p.steps[1].version, 3);
	plan_release(&p);

	d.keep_versions = 100;
	d.prune_aliases = false;
	expect_plan("keep 100", &p, &d, &o, "");
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(prune_versions_counts_new_publishes)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;

	shas_init();
	classic(&d);
	observed_init(&o, SHA_A, "128");
	add_version(&o, 1, SHA_H, "128");
	add_version(&o, 2, SHA_H, "128");
	add_version(&o, 3, SHA_A, "128");
	add_obs_alias(&o, "Prod", 3);
	add_obs_alias(&o, "Test", 3);
	d.keep_versions = 2;
	/* v2 published now (newest); of 1..3 only one more stays by age: 3 (v1 anyway) */
	expect_plan("keep 2 with a publish", &p, &d, &o, "CWPVuxx");
	CHECK_INT(p.steps[5].version, 1);
	CHECK_INT(p.steps[6].version, 2);
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(no_code_to_create)
{
	struct plan_desired d;
	struct plan_observed o = {0};
	struct plan p = PLAN_INIT;
	struct error err = ERROR_INIT;

	shas_init();
	memset(&d, 0, sizeof(d));
	d.function = strdup("fn");
	d.keep_versions = -1;
	add_alias(&d, "Prod", "#1");
	CHECK_INT(plan_build(&p, &d, &o, &err), -ENOENT);
	plan_desired_release(&d);
}

TEST(publish_description)
{
	struct plan_desired d;
	struct buf b = BUF_INIT;
	char big[600];

	shas_init();
	classic(&d);
	d.releases[1].description = strdup("second release");
	CHECK_INT(plan_publish_description(&b, &d, 1), 0);
	CHECK_STR(b.ptr, "v2 @abcdef0: second release");
	buf_reset(&b);
	CHECK_INT(plan_publish_description(&b, &d, 0), 0);
	CHECK_STR(b.ptr, "v1 @abcdef0");
	buf_reset(&b);
	free(d.commit);
	d.commit = NULL;
	CHECK_INT(plan_publish_description(&b, &d, 1), 0);
	CHECK_STR(b.ptr, "v2: second release");
	buf_reset(&b);
	/* 2-byte characters: the cut never splits one */
	for (size_t i = 0; i + 2 < sizeof(big); i += 2) {
		big[i] = (char)0xc3;
		big[i + 1] = (char)0xa9;
		big[i + 2] = '\0';
	}
	free(d.releases[1].description);
	d.releases[1].description = strdup(big);
	CHECK_INT(plan_publish_description(&b, &d, 1), 0);
	CHECK(b.len <= PLAN_DESCRIPTION_MAX);
	CHECK(b.len >= PLAN_DESCRIPTION_MAX - 1);
	CHECK(((unsigned char)b.ptr[b.len - 1] & 0xC0) == 0x80); /* ends on a whole é */
	buf_release(&b);
	plan_desired_release(&d);
}

TEST(env_canonical)
{
	const char *keys[] = {"ZED", "A", "Q"};
	const char *vals[] = {"z", "quote\"back\\slash", "line\n"};
	struct buf b = BUF_INIT;

	CHECK_INT(plan_env_canonical(&b, keys, vals, 3), 0);
	CHECK_STR(b.ptr, "{\"A\":\"quote\\\"back\\\\slash\",\"Q\":\"line\\u000a\",\"ZED\":\"z\"}");
	buf_reset(&b);
	CHECK_INT(plan_env_canonical(&b, NULL, NULL, 0), 0);
	CHECK_STR(b.ptr, "{}");
	buf_release(&b);
}

TEST(env_absent_equals_empty)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;

	shas_init();
	classic(&d);
	for (size_t i = 0; i < 2; i++)
		REQUIRE(plan_config_set(&d.releases[i].config, PLAN_CFG_ENVIRONMENT, "{}") == 0);
	classic_synced(&o); /* versions report no Environment at all */
	expect_plan("empty env", &p, &d, &o, "");
	plan_release(&p);
	REQUIRE(plan_config_set(&d.releases[1].config, PLAN_CFG_ENVIRONMENT, "{\"A\":\"1\"}") == 0);
	expect_plan("env differs", &p, &d, &o, "GWPVu");
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(sha_forms)
{
	char out[PLAN_SHA_MAX], s[16];

	/* SHA-256 of the empty string, hex and base64 */
	CHECK_INT(
	    codec_sha256_normalise(out, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
	    0);
	CHECK_STR(out, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	CHECK_INT(codec_sha256_normalise(out, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="), 0);
	CHECK_STR(out, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	CHECK_INT(codec_sha256_normalise(out, "47DEQpj8HBSa"), -EINVAL);
	CHECK_INT(codec_sha256_normalise(out, "zz" HEX_H), -EINVAL); /* 66 chars */
	CHECK_INT(
	    codec_sha256_normalise(out, "zzzz12341234123412341234123412341234123412341234123412341234abcd"),
	    -EINVAL);
	plan_sha_short(s, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
	CHECK_STR(s, "e3b0c442");
}

TEST(rerun_after_apply_plans_nothing)
{
	/* simulate apply of the create plan, then plan again: zero steps */
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;

	shas_init();
	classic(&d);
	REQUIRE(plan_config_set(&d.releases[0].config, PLAN_CFG_TIMEOUT, "3") == 0);
	REQUIRE(plan_config_set(&d.releases[1].config, PLAN_CFG_TIMEOUT, "3") == 0);
	observed_init(&o, SHA_B, "128");
	add_version(&o, 1, SHA_A, "128");
	add_version(&o, 3, SHA_B, "128"); /* timeout "3": odd numbers */
	add_obs_alias(&o, "Prod", 1);
	add_obs_alias(&o, "Test", 3);
	expect_plan("rerun", &p, &d, &o, "");
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(same_code_twice_is_published_once)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;
	char line[512];

	shas_init();
	classic(&d);
	/* v3 = v1's code and config again (a "rollback" under a new name), Prod: v3 */
	add_release(&d, "v3", SHA_A, "128", 0);
	d.aliases[0].primary = ref_of(&d, "v3");
	observed_init(&o, SHA_H, "128");
	/* publish v1, v2; v3 gets no steps of its own (publishing it after v2 would duplicate v1) */
	expect_plan("same code", &p, &d, &o, "CWPVCWPVaa");
	CHECK_INT(p.same_as[2], 0);
	CHECK_INT(p.same_as[0], -1);
	CHECK_INT(p.same_as[1], -1);
	describe(line, sizeof(line), &p, 8, &d, &o);
	CHECK_STR(line, "+ alias Prod: v3 (new)");
	/* apply records v1's version: v3 gets it too */
	plan_resolution_set(&p, 0, -5); /* -5: already active */
	CHECK_INT(p.resolved[0], -5);
	CHECK_INT(p.resolved[2], 5);
	CHECK_INT(p.resolved[1], 0);
	plan_release(&p);

	/* once v1 is published, v3 resolves to the same version */
	add_version(&o, 5, SHA_A, "128");
	add_version(&o, 6, SHA_B, "128");
	add_obs_alias(&o, "Prod", 5);
	add_obs_alias(&o, "Test", 6);
	expect_plan("same code, converged", &p, &d, &o, "");
	CHECK_INT(p.resolved[2], 5);
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST_MAIN(same_code_twice_is_published_once, create_function_from_nothing, in_sync_plans_nothing,
          add_release_publishes_it_once, promote_is_one_alias_update, rollback_is_one_alias_update,
          human_latest_change_is_never_published, alias_drift_is_moved_back, resolve_newest_matching_version,
          config_only_release, waits_for_in_progress_update, adoption_with_pins_writes_nothing,
          numeric_alias_targets, weights, weighted_describe, alias_description, prune_aliases, prune_versions,
          prune_versions_counts_new_publishes, no_code_to_create, publish_description, env_canonical,
          env_absent_equals_empty, sha_forms, rerun_after_apply_plans_nothing)
