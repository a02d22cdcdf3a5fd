/*
 * test_reconcile_plan_rollout.c - the planner's rules for an alias with a
 * rollout (plan.h), the desired_id's stability (desired.c) and the record
 * that fits an alias description (rollout_run.h).
 *
 * Versions 1 (v1, code A) and 2 (v2, code B) are published; Prod declares
 * v2 with a rollout [10%, 50%] every 5m.  The observed alias and its
 * description (the record) vary.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/load.h"
#include "reconcile/internal.h"
#include "reconcile/plan.h"
#include "reconcile/reconcile.h"
#include "reconcile/rollout_run.h"
#include "tests/unit/harness.h"
#include "util/codec.h"

#define HEX_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define HEX_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define ID    "0123456789abcdef"

static void config(struct plan_config *c)
{
	REQUIRE(plan_config_set(c, PLAN_CFG_RUNTIME, "python3.12") == 0);
	REQUIRE(plan_config_set(c, PLAN_CFG_HANDLER, "app.handler") == 0);
}

static void release(struct plan_desired *d, const char *name, const char *hex)
{
	struct plan_release *r = &d->releases[d->n_releases++];

	memset(r, 0, sizeof(*r));
	r->name = strdup(name);
	r->code.kind = PLAN_CODE_ZIP;
	REQUIRE(codec_sha256_normalise(r->code.sha256, hex) == 0);
	r->code.zip_path = strdup(name);
	config(&r->config);
}

/* my-fn: v1, v2; Prod -> v2 by rollout [10, 50] every 5m */
static void desired(struct plan_desired *d)
{
	memset(d, 0, sizeof(*d));
	d->function = strdup("my-fn");
	d->keep_versions = -1;
	d->releases = calloc(2, sizeof(*d->releases));
	d->aliases = calloc(1, sizeof(*d->aliases));
	REQUIRE(d->releases && d->aliases);
	release(d, "v1", HEX_A);
	release(d, "v2", HEX_B);
	d->n_aliases = 1;
	d->aliases[0].name = strdup("Prod");
	d->aliases[0].primary = (struct plan_ref){1, 0};
	d->aliases[0].has_rollout = true;
	d->aliases[0].rollout.steps[0] = 10;
	d->aliases[0].rollout.steps[1] = 50;
	d->aliases[0].rollout.n_steps = 2;
	d->aliases[0].rollout.interval_s = 300;
	snprintf(d->desired_id, sizeof(d->desired_id), "%s", ID);
}

static void version(struct plan_observed *o, long n, const char *hex)
{
	struct plan_version *v = &o->versions[o->n_versions++];

	memset(v, 0, sizeof(*v));
	v->number = n;
	REQUIRE(codec_sha256_normalise(v->code_sha256, hex) == 0);
	config(&v->config);
}

/* the alias Prod on `primary` (+ weight on `extra`), description `desc` (may be NULL); no alias if primary <
 * 0 */
static void observed(struct plan_observed *o, long primary, long extra, double weight, const char *desc)
{
	memset(o, 0, sizeof(*o));
	o->exists = true;
	REQUIRE(codec_sha256_normalise(o->latest.code_sha256, HEX_B) == 0);
	config(&o->latest.config);
	o->versions = calloc(2, sizeof(*o->versions));
	o->aliases = calloc(1, sizeof(*o->aliases));
	REQUIRE(o->versions && o->aliases);
	version(o, 1, HEX_A);
	version(o, 2, HEX_B);
	if (primary < 0)
		return;
	o->n_aliases = 1;
	o->aliases[0].name = strdup("Prod");
	o->aliases[0].version = primary;
	o->aliases[0].extra_version = extra;
	o->aliases[0].weight = weight;
	o->aliases[0].description = desc ? strdup(desc) : NULL;
	snprintf(o->aliases[0].revision_id, sizeof(o->aliases[0].revision_id), "rev-prod");
}

static char *record(enum rollout_state st, unsigned from, unsigned to, unsigned step, const char *id,
                    const char *reason)
{
	struct rollout_progress p = {0};
	struct buf b = BUF_INIT;

	p.state = st;
	p.from = from;
	p.to = to;
	p.step = step;
	p.since = 1764470000;
	snprintf(p.desired_id, sizeof(p.desired_id), "%s", id);
	snprintf(p.reason, sizeof(p.reason), "%s", reason);
	REQUIRE(rollout_progress_format(&p, &b) == 0);
	return buf_detach(&b, NULL);
}

/* Plan; the step kinds as letters (r = rollout, h = held, a = create alias, u = update alias). */
static void plan_of(const struct plan_desired *d, const struct plan_observed *o, char *shape, size_t n,
                    char *text, size_t tn)
{
	struct plan p = PLAN_INIT;
	struct error err = ERROR_INIT;
	size_t k = 0;

	REQUIRE(plan_build(&p, d, o, &err) == 0);
	text[0] = '\0';
	for (size_t i = 0; i < p.n_steps && k + 1 < n; i++) {
		const struct plan_step *s = &p.steps[i];
		struct buf b = BUF_INIT;

		shape[k++] = s->kind == PLAN_STEP_ROLLOUT        ? 'r'
		             : s->kind == PLAN_STEP_ROLLOUT_HELD ? 'h'
		             : s->kind == PLAN_STEP_CREATE_ALIAS ? 'a'
		             : s->kind == PLAN_STEP_UPDATE_ALIAS ? 'u'
		                                                 : '?';
		if (s->kind == PLAN_STEP_ROLLOUT_HELD)
			CHECK(!plan_step_is_write(s->kind));
		REQUIRE(plan_step_describe(&b, &p, s, d, o) == 0);
		snprintf(text, tn, "%s", b.ptr);
		buf_release(&b);
	}
	shape[k] = '\0';
	plan_release(&p);
}

static void check_plan(const struct plan_desired *d, const struct plan_observed *o, const char *want_shape,
                       const char *want_text)
{
	char shape[16], text[512];

	plan_of(d, o, shape, sizeof(shape), text, sizeof(text));
	CHECK_STR(shape, want_shape);
	if (want_text)
		CHECK_STR(text, want_text);
}

TEST(target_change_is_one_rollout_step)
{
	struct plan_desired d;
	struct plan_observed o;

	desired(&d);
	observed(&o, 1, 0, 0, "hand-written description");
	check_plan(&d, &o, "r", "~ alias Prod: v1 (1) \u2192 v2 (2) by rollout [10%, 50%] every 5m");
	plan_desired_release(&d);
	plan_observed_release(&o);
}

TEST(description_never_managed)
{
	struct plan_desired d;
	struct plan_observed o;
	char *rec = record(ROLLOUT_SUCCEEDED, 1, 2, 2, ID, "");

	desired(&d);
	/* in sync: a record, or any text, in the description is no reason to write */
	observed(&o, 2, 0, 0, rec);
	check_plan(&d, &o, "", NULL);
	plan_observed_release(&o);
	observed(&o, 2, 0, 0, "someone wrote this");
	check_plan(&d, &o, "", NULL);
	plan_observed_release(&o);
	plan_desired_release(&d);
	free(rec);
}

TEST(progressing_keeps_planning)
{
	struct plan_desired d;
	struct plan_observed o;
	char *rec = record(ROLLOUT_PROGRESSING, 1, 2, 1, ID, "");

	desired(&d);
	observed(&o, 1, 2, 0.1, rec);
	check_plan(&d, &o, "r",
	           "~ alias Prod: v1 (1) + 10% v2 (2) \u2192 v2 (2) by rollout [10%, 50%] every 5m");
	plan_observed_release(&o);
	/* even an alias that looks done: the machine decides (it records Succeeded) */
	observed(&o, 2, 0, 0, rec);
	check_plan(&d, &o, "r", NULL);
	plan_observed_release(&o);
	plan_desired_release(&d);
	free(rec);
}

TEST(rolled_back_is_held)
{
	struct plan_desired d;
	struct plan_observed o;
	char *rec = record(ROLLOUT_ROLLED_BACK, 1, 2, 1, ID, "alarm errors is in ALARM");

	desired(&d);
	observed(&o, 1, 0, 0, rec);
	check_plan(&d, &o, "h",
	           "= alias Prod: rolled back (alarm errors is in ALARM); aliasd rollout retry my-fn Prod");
	plan_observed_release(&o);
	/* not back on A yet: the machine finishes the rollback */
	observed(&o, 1, 2, 0.1, rec);
	check_plan(&d, &o, "r", NULL);
	plan_observed_release(&o);
	/* the declared state changed (another desired_id): try again */
	snprintf(d.desired_id, sizeof(d.desired_id), "fedcba9876543210");
	observed(&o, 1, 0, 0, rec);
	check_plan(&d, &o, "r", NULL);
	plan_observed_release(&o);
	/* retry asked */
	snprintf(d.desired_id, sizeof(d.desired_id), "%s", ID);
	d.aliases[0].command = ROLLOUT_CMD_RETRY;
	observed(&o, 1, 0, 0, rec);
	check_plan(&d, &o, "r", "~ alias Prod: v1 (1) \u2192 v2 (2) by rollout [10%, 50%] every 5m (retry)");
	plan_observed_release(&o);
	plan_desired_release(&d);
	free(rec);
}

TEST(rolled_back_other_target_starts_again)
{
	struct plan_desired d;
	struct plan_observed o;
	char *rec = record(ROLLOUT_ROLLED_BACK, 2, 1, 1, ID, "alarm errors is in ALARM");

	/* rolled back 2 -> 1 earlier; now Git wants 2 (the alias is on 2): in sync, nothing */
	desired(&d);
	observed(&o, 2, 0, 0, rec);
	check_plan(&d, &o, "", NULL);
	plan_observed_release(&o);
	plan_desired_release(&d);
	free(rec);
}

TEST(new_alias_is_created_on_target)
{
	struct plan_desired d;
	struct plan_observed o;

	desired(&d);
	observed(&o, -1, 0, 0, NULL);
	check_plan(&d, &o, "a", "+ alias Prod: v2 (2)");
	plan_observed_release(&o);
	plan_desired_release(&d);
}

TEST(all_at_once_text)
{
	struct plan_desired d;
	struct plan_observed o;

	desired(&d);
	d.aliases[0].rollout.n_steps = 0;
	d.aliases[0].rollout.interval_s = 60;
	observed(&o, 1, 0, 0, NULL);
	check_plan(&d, &o, "r", "~ alias Prod: v1 (1) \u2192 v2 (2) by rollout all at once");
	plan_observed_release(&o);
	plan_desired_release(&d);
}

TEST(prune_keeps_rollout_versions)
{
	struct plan_desired d;
	struct plan_observed o;
	char *rec = record(ROLLOUT_PROGRESSING, 1, 2, 1, ID, "");
	struct plan p = PLAN_INIT;
	struct error err = ERROR_INIT;

	/* keepVersions 0: only what something references is kept; Prod's rollout holds 1 and 2 */
	desired(&d);
	d.keep_versions = 0;
	d.releases[0].code.sha256[0] = 'X'; /* v1 resolves to nothing: version 1 is only the rollout's */
	observed(&o, 1, 2, 0.1, rec);
	REQUIRE(plan_build(&p, &d, &o, &err) == 0);
	for (size_t i = 0; i < p.n_steps; i++)
		CHECKF(p.steps[i].kind != PLAN_STEP_DELETE_VERSION, "deletes version %ld",
		       p.steps[i].version);
	plan_release(&p);
	plan_observed_release(&o);
	plan_desired_release(&d);
	free(rec);
}

/* ---- desired_id ---- */

static const char fn_a[] = "apiVersion: aliasd/v1\n"
                           "kind: Function\n"
                           "name: orders\n"
                           "releases:\n"
                           "  v1:\n"
                           "    code: {zipFile: one.zip}\n"
                           "  v2:\n"
                           "    code: {zipFile: two.zip}\n"
                           "aliases:\n"
                           "  Prod:\n"
                           "    release: v2\n"
                           "    rollout: {steps: [10, 50], interval: 5m, alarms: [errors]}\n";
/* the same, reformatted and commented */
static const char fn_a_comments[] = "# orders, the same declaration\n"
                                    "apiVersion: aliasd/v1\n"
                                    "kind: Function\n"
                                    "name: orders   # the service\n"
                                    "releases:\n"
                                    "  v1: {code: {zipFile: one.zip}}\n"
                                    "  v2:\n"
                                    "    code:\n"
                                    "      zipFile: two.zip\n"
                                    "aliases:\n"
                                    "  Prod:\n"
                                    "    rollout:\n"
                                    "      interval: 300s\n"
                                    "      steps: [10, 50]\n"
                                    "      alarms: [errors]\n"
                                    "    release: v2\n";
/* another alarm */
static const char fn_a_alarm[] = "apiVersion: aliasd/v1\n"
                                 "kind: Function\n"
                                 "name: orders\n"
                                 "releases:\n"
                                 "  v1:\n"
                                 "    code: {zipFile: one.zip}\n"
                                 "  v2:\n"
                                 "    code: {zipFile: two.zip}\n"
                                 "aliases:\n"
                                 "  Prod:\n"
                                 "    release: v2\n"
                                 "    rollout: {steps: [10, 50], interval: 5m, alarms: [p99]}\n";
static const char fn_other[] = "---\n"
                               "apiVersion: aliasd/v1\n"
                               "kind: Function\n"
                               "name: billing\n"
                               "releases:\n"
                               "  v1:\n"
                               "    code: {zipFile: one.zip}\n"
                               "aliases:\n"
                               "  Prod: v1\n";

/* desired_id of `orders` in a snapshot holding `yaml` (and `other` as a second file, if not NULL) */
static void id_of(const char *yaml, const char *other, const char *zip2, char out[PLAN_DESIRED_ID_SIZE])
{
	struct manifest_mem_file files[] = {
	    {"orders.yaml", yaml, strlen(yaml), false},
	    {"one.zip", "PK one", 6, false},
	    {"two.zip", zip2, strlen(zip2), false},
	    {"billing.yaml", other ? other : "", other ? strlen(other) : 0, false},
	};
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct plan_desired d = {0};
	struct error err = ERROR_INIT;
	const struct manifest_function *fn = NULL;

	REQUIRE(manifest_source_mem_open(&src, files, other ? 4 : 3, &err) == 0);
	if (manifest_load(&set, src, NULL, &err) < 0)
		fprintf(stderr, "load: %s\n", err.msg);
	REQUIRE(set);
	for (size_t i = 0; i < set->n_functions; i++)
		if (!strcmp(set->functions[i].name, "orders"))
			fn = &set->functions[i];
	REQUIRE(fn && fn->n_errors == 0);
	REQUIRE(reconcile_desired_from_manifest(
	            &d, fn, other ? "1111111111111111111111111111111111111111" : NULL, &err) == 0);
	CHECK_INT(strlen(d.desired_id), 16);
	CHECK(d.aliases[0].has_rollout && d.aliases[0].description == NULL);
	memcpy(out, d.desired_id, PLAN_DESIRED_ID_SIZE);
	plan_desired_release(&d);
	manifest_set_free(set);
	manifest_source_free(src);
}

TEST(desired_id_stability)
{
	char a[PLAN_DESIRED_ID_SIZE], b[PLAN_DESIRED_ID_SIZE], c[PLAN_DESIRED_ID_SIZE],
	    e[PLAN_DESIRED_ID_SIZE], f[PLAN_DESIRED_ID_SIZE];

	id_of(fn_a, NULL, "PK two", a);
	id_of(fn_a_comments, NULL, "PK two", b);
	id_of(fn_a, fn_other, "PK two", c); /* another function and another commit */
	id_of(fn_a_alarm, NULL, "PK two", e);
	id_of(fn_a, NULL, "PK two, rebuilt", f);
	CHECK_STR(a, b);
	CHECK_STR(a, c);
	CHECK(strcmp(a, e) != 0);
	CHECK(strcmp(a, f) != 0);
}

/* ---- the record in 256 characters ---- */

TEST(record_fits_description)
{
	struct rollout_progress p = {0}, q;
	struct buf b = BUF_INIT;
	struct error err = ERROR_INIT;
	char reason[ROLLOUT_REASON_MAX];
	size_t n = 0;

	p.state = ROLLOUT_ROLLED_BACK;
	p.from = 4000000000u;
	p.to = 4000000001u;
	p.step = 10;
	p.since = 1764470000;
	snprintf(p.desired_id, sizeof(p.desired_id), "%s", ID);
	/* "é" is two bytes, percent-encoded as six: far too long, cut between characters */
	while (n + 2 < sizeof(reason)) {
		reason[n++] = (char)0xc3;
		reason[n++] = (char)0xa9;
	}
	reason[n] = '\0';
	snprintf(p.reason, sizeof(p.reason), "%s", reason);
	REQUIRE(reconcile_rollout_record_text(&p, &b) == 0);
	CHECK(b.len <= ROLLOUT_RECORD_MAX);
	CHECK(b.len > ROLLOUT_RECORD_MAX - 6);
	REQUIRE(rollout_progress_parse(b.ptr, b.len, &q, &err) == 0);
	CHECK_INT(q.state, ROLLOUT_ROLLED_BACK);
	CHECK_U64(q.to, 4000000001u);
	CHECK_STR(q.desired_id, ID);
	CHECK(strlen(q.reason) > 0 && strlen(q.reason) % 2 == 0);
	CHECK(!strncmp(q.reason, reason, strlen(q.reason)));
	buf_release(&b);

	/* a short one is untouched */
	snprintf(p.reason, sizeof(p.reason), "alarm errors is in ALARM");
	REQUIRE(reconcile_rollout_record_text(&p, &b) == 0);
	REQUIRE(rollout_progress_parse(b.ptr, b.len, &q, &err) == 0);
	CHECK_STR(q.reason, "alarm errors is in ALARM");
	buf_release(&b);
}

TEST_MAIN(target_change_is_one_rollout_step, description_never_managed, progressing_keeps_planning,
          rolled_back_is_held, rolled_back_other_target_starts_again, new_alias_is_created_on_target,
          all_at_once_text, prune_keeps_rollout_versions, desired_id_stability, record_fits_description)
