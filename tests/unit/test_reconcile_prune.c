/*
 * test_reconcile_prune.c - which versions keepVersions deletes (reconcile/prune.c
 * through plan_build()): every protection on its own (aliases, weights,
 * rollout records, declared releases, keepHistory, the newest N), and how a
 * deletion reads in a plan.
 *
 * The function declares r1..r5 over time; version i holds release ri's code
 * (SHA i) unless a test says otherwise.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/plan.h"
#include "reconcile/rollout.h"
#include "tests/unit/harness.h"
#include "util/buf.h"
#include "util/codec.h"

static char SHA[8][PLAN_SHA_MAX];

static void shas_init(void)
{
	for (int i = 0; i < 8; i++) {
		char hex[65];

		memset(hex, "0123456789abcdef"[i + 1], 64);
		hex[64] = '\0';
		REQUIRE(codec_sha256_normalise(SHA[i], hex) == 0);
	}
}

static void set_config(struct plan_config *c, const char *memory)
{
	REQUIRE(plan_config_set(c, PLAN_CFG_RUNTIME, "python3.12") == 0);
	REQUIRE(plan_config_set(c, PLAN_CFG_MEMORY_SIZE, memory) == 0);
}

static void release_init(struct plan_release *r, const char *name, int sha, const char *memory, long pin)
{
	memset(r, 0, sizeof(*r));
	r->name = strdup(name);
	r->pin = pin;
	if (pin <= 0) {
		r->code.kind = PLAN_CODE_ZIP;
		snprintf(r->code.sha256, sizeof(r->code.sha256), "%s", SHA[sha]);
		set_config(&r->config, memory);
	}
}

/* Declares only r5 (SHA 5), Prod: r5, keepVersions: keep. */
static void desired_init(struct plan_desired *d, long keep)
{
	memset(d, 0, sizeof(*d));
	d->function = strdup("fn");
	d->keep_versions = keep;
	d->releases = calloc(1, sizeof(*d->releases));
	REQUIRE(d->releases);
	release_init(&d->releases[0], "r5", 5, "128", 0);
	d->n_releases = 1;
	d->aliases = calloc(1, sizeof(*d->aliases));
	REQUIRE(d->aliases);
	d->aliases[0].name = strdup("Prod");
	d->aliases[0].primary = (struct plan_ref){0, 0};
	d->n_aliases = 1;
}

static void history_add(struct plan_desired *d, const char *name, int sha, const char *memory, long pin)
{
	d->history = realloc(d->history, (d->n_history + 1) * sizeof(*d->history));
	REQUIRE(d->history);
	release_init(&d->history[d->n_history++], name, sha, memory, pin);
}

static void version_add(struct plan_observed *o, long number, int sha, const char *memory,
                        const char *description, long long size)
{
	struct plan_version *v;

	o->versions = realloc(o->versions, (o->n_versions + 1) * sizeof(*o->versions));
	REQUIRE(o->versions);
	v = &o->versions[o->n_versions++];
	memset(v, 0, sizeof(*v));
	v->number = number;
	snprintf(v->code_sha256, sizeof(v->code_sha256), "%s", SHA[sha]);
	set_config(&v->config, memory);
	v->description = description ? strdup(description) : NULL;
	v->code_size = size;
}

static struct plan_observed_alias *alias_add(struct plan_observed *o, const char *name, long version)
{
	struct plan_observed_alias *a;

	o->aliases = realloc(o->aliases, (o->n_aliases + 1) * sizeof(*o->aliases));
	REQUIRE(o->aliases);
	a = &o->aliases[o->n_aliases++];
	memset(a, 0, sizeof(*a));
	a->name = strdup(name);
	a->version = version;
	return a;
}

/* Versions 1..5 = r1..r5 (128 MB), $LATEST = r5, Prod on 5 (in sync). */
static void observed_init(struct plan_observed *o)
{
	char desc[128];

	memset(o, 0, sizeof(*o));
	o->exists = true;
	snprintf(o->latest.code_sha256, sizeof(o->latest.code_sha256), "%s", SHA[5]);
	set_config(&o->latest.config, "128");
	for (long v = 1; v <= 5; v++) {
		snprintf(desc, sizeof(desc), "r%ld @1a2b3c%ld: release %ld", v, v, v);
		version_add(o, v, (int)v, "128", desc, v * 1048576);
	}
	alias_add(o, "Prod", 5);
}

/* The versions the plan deletes, as "1,2" (and every step must be a delete). */
static void deleted(const struct plan_desired *d, const struct plan_observed *o, char *out, size_t outsz)
{
	struct plan p = PLAN_INIT;
	struct error err = ERROR_INIT;
	size_t at = 0;

	out[0] = '\0';
	REQUIRE(plan_build(&p, d, o, &err) == 0);
	for (size_t i = 0; i < p.n_steps; i++) {
		CHECK_INT(p.steps[i].kind, PLAN_STEP_DELETE_VERSION);
		at += (size_t)snprintf(out + at, outsz - at, "%s%ld", at ? "," : "", p.steps[i].version);
	}
	plan_release(&p);
}

TEST(keep_history_protects_the_last_commits)
{
	struct plan_desired d;
	struct plan_observed o;
	char got[64];

	shas_init();
	desired_init(&d, 1);
	observed_init(&o);
	deleted(&d, &o, got, sizeof(got));
	CHECK_STR(got, "1,2,3,4"); /* no history: keepVersions alone */
	history_add(&d, "r4", 4, "128", 0);
	history_add(&d, "r3", 3, "128", 0);
	deleted(&d, &o, got, sizeof(got));
	CHECK_STR(got, "1,2");
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(keep_history_matches_code_and_config)
{
	struct plan_desired d;
	struct plan_observed o;
	char got[64];

	shas_init();
	desired_init(&d, 0);
	observed_init(&o);
	history_add(&d, "r3", 3, "256", 0); /* r3's code, another memory size: not version 3 */
	history_add(&d, "r2", 6, "128", 0); /* code no version has */
	deleted(&d, &o, got, sizeof(got));
	CHECK_STR(got, "1,2,3,4");
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(keep_history_keeps_the_version_resolution_picks)
{
	struct plan_desired d;
	struct plan_observed o;
	char got[64];

	shas_init();
	desired_init(&d, 0);
	observed_init(&o);
	version_add(&o, 6, 2, "128", "r2 @1a2b3c6", 1); /* r2 again, newer */
	history_add(&d, "r2", 2, "128", 0);
	deleted(&d, &o, got, sizeof(got));
	CHECK_STR(got, "1,2,3,4"); /* 6 kept (the newest match), 2 goes */
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(keep_history_pins)
{
	struct plan_desired d;
	struct plan_observed o;
	char got[64];

	shas_init();
	desired_init(&d, 0);
	observed_init(&o);
	history_add(&d, "legacy", 0, NULL, 2);
	deleted(&d, &o, got, sizeof(got));
	CHECK_STR(got, "1,3,4");
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(aliases_protect_primary_and_weight)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan_observed_alias *a;
	char got[64];

	shas_init();
	desired_init(&d, 0);
	observed_init(&o);
	a = alias_add(&o, "Human", 1); /* not declared: stays */
	a->extra_version = 3;          /* referenced only by its weight */
	a->weight = 0.1;
	deleted(&d, &o, got, sizeof(got));
	CHECK_STR(got, "2,4");
	plan_desired_release(&d);
	plan_observed_release(&o);

	/* whatever the settings: keepVersions 0 and keepHistory never drop them */
	desired_init(&d, 0);
	observed_init(&o);
	a = alias_add(&o, "Human", 4);
	a->extra_version = 2;
	a->weight = 0.5;
	history_add(&d, "r1", 1, "128", 0);
	deleted(&d, &o, got, sizeof(got));
	CHECK_STR(got, "3");
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(declared_weight_is_never_deleted)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;
	struct error err = ERROR_INIT;

	shas_init();
	desired_init(&d, 0);
	observed_init(&o);
	d.aliases[0].weighted = true;
	d.aliases[0].extra = (struct plan_ref){-1, 2};
	d.aliases[0].weight = 0.2;
	REQUIRE(plan_build(&p, &d, &o, &err) == 0);
	/* update Prod, then delete 1, 3, 4: never 2 */
	REQUIRE(p.n_steps == 4);
	CHECK_INT(p.steps[0].kind, PLAN_STEP_UPDATE_ALIAS);
	CHECK_INT(p.steps[1].version, 1);
	CHECK_INT(p.steps[2].version, 3);
	CHECK_INT(p.steps[3].version, 4);
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(rollout_in_progress_is_kept)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan_observed_alias *a;
	struct rollout_progress rp = {0};
	struct buf rec = BUF_INIT;
	char got[64];

	shas_init();
	desired_init(&d, 0);
	observed_init(&o);
	rp.state = ROLLOUT_PROGRESSING;
	rp.from = 2;
	rp.to = 3;
	rp.step = 1;
	rp.since = 1764470000;
	snprintf(rp.desired_id, sizeof(rp.desired_id), "abc123");
	REQUIRE(rollout_progress_format(&rp, &rec) == 0);
	a = alias_add(&o, "Live", 2);
	a->description = strdup(rec.ptr);
	d.prune_aliases = false;
	/* Live is not declared and stays: 2 by reference, 3 by the record */
	deleted(&d, &o, got, sizeof(got));
	CHECK_STR(got, "1,4");
	/* a finished rollout protects nothing more than the alias itself */
	rp.state = ROLLOUT_SUCCEEDED;
	buf_truncate(&rec, 0);
	REQUIRE(rollout_progress_format(&rp, &rec) == 0);
	free(a->description);
	a->description = strdup(rec.ptr);
	deleted(&d, &o, got, sizeof(got));
	CHECK_STR(got, "1,3,4");
	/* the record on a line of its own after the user's text still counts */
	rp.state = ROLLOUT_PROGRESSING;
	rp.to = 4;
	buf_truncate(&rec, 0);
	REQUIRE(buf_puts(&rec, "canary of the week\n") >= 0);
	REQUIRE(rollout_progress_format(&rp, &rec) == 0);
	free(a->description);
	a->description = strdup(rec.ptr);
	deleted(&d, &o, got, sizeof(got));
	CHECK_STR(got, "1,3");
	buf_release(&rec);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(declared_releases_and_newest_are_kept)
{
	struct plan_desired d;
	struct plan_observed o;
	char got[64];

	shas_init();
	desired_init(&d, 0);
	observed_init(&o);
	/* r1 declared again (not aliased): it resolves to 1, which stays */
	d.releases = realloc(d.releases, 2 * sizeof(*d.releases));
	REQUIRE(d.releases);
	release_init(&d.releases[1], "r1", 1, "128", 0);
	d.n_releases = 2;
	deleted(&d, &o, got, sizeof(got));
	CHECK_STR(got, "2,3,4");
	d.keep_versions = 3; /* 3, 4, 5 by age */
	deleted(&d, &o, got, sizeof(got));
	CHECK_STR(got, "2");
	d.keep_versions = -1; /* no keepVersions: nothing at all */
	deleted(&d, &o, got, sizeof(got));
	CHECK_STR(got, "");
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(delete_line_names_trace_and_size)
{
	struct plan_desired d;
	struct plan_observed o;
	struct plan p = PLAN_INIT;
	struct error err = ERROR_INIT;
	struct buf line = BUF_INIT;

	shas_init();
	desired_init(&d, 3);
	observed_init(&o);
	o.versions[0].code_size = 13002342; /* 12.4 MiB */
	free(o.versions[1].description);    /* a human's version: no trace */
	o.versions[1].description = strdup("hotfix by hand");
	REQUIRE(plan_build(&p, &d, &o, &err) == 0);
	REQUIRE(p.n_steps == 2);
	REQUIRE(plan_step_describe(&line, &p, &p.steps[0], &d, &o) == 0);
	CHECK_STR(line.ptr, "- version 1 (r1 @1a2b3c1, 12.4 MiB)");
	buf_truncate(&line, 0);
	REQUIRE(plan_step_describe(&line, &p, &p.steps[1], &d, &o) == 0);
	CHECK_STR(line.ptr, "- version 2 (2.0 MiB)");
	buf_release(&line);
	plan_release(&p);
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(version_trace)
{
	char t[PLAN_DESCRIPTION_MAX + 1];

	CHECK_INT((int)plan_version_trace(t, sizeof(t), "v2 @ab12cd3: first release"), 11);
	CHECK_STR(t, "v2 @ab12cd3");
	CHECK_INT((int)plan_version_trace(t, sizeof(t), "v2 @ab12cd3"), 11);
	CHECK_INT((int)plan_version_trace(t, sizeof(t), "r1.0_b-2: text"), 8);
	CHECK_STR(t, "r1.0_b-2");
	CHECK_INT((int)plan_version_trace(t, sizeof(t), "v2"), 2);
	CHECK_INT((int)plan_version_trace(t, sizeof(t), "hotfix by hand"), 0);
	CHECK_STR(t, "");
	CHECK_INT((int)plan_version_trace(t, sizeof(t), "123 @ab12cd3"), 0); /* all digits */
	CHECK_INT((int)plan_version_trace(t, sizeof(t), "v2 @ab12"), 0);     /* short commit */
	CHECK_INT((int)plan_version_trace(t, sizeof(t), "v2 @AB12CD3"), 0);
	CHECK_INT((int)plan_version_trace(t, sizeof(t), "v2:x"), 0);
	CHECK_INT((int)plan_version_trace(t, sizeof(t), ""), 0);
	CHECK_INT((int)plan_version_trace(t, sizeof(t), NULL), 0);
	CHECK_INT((int)plan_version_trace(t, 4, "v2 @ab12cd3"), 0); /* does not fit */
}

TEST_MAIN(keep_history_protects_the_last_commits, keep_history_matches_code_and_config,
          keep_history_keeps_the_version_resolution_picks, keep_history_pins,
          aliases_protect_primary_and_weight, declared_weight_is_never_deleted, rollout_in_progress_is_kept,
          declared_releases_and_newest_are_kept, delete_line_names_trace_and_size, version_trace)
