/*
 * test_cmd_daemon_core.c - the daemon's pure core (cmd/daemon/core.h),
 * transition by transition: new commit, broken commit (keep last good, not
 * Failed), fixing commit, a newer commit superseding a failing one (also
 * while its reconcile runs), backoff growth and cap, resync due, terminal
 * (Stalled) vs transient failures, canceled jobs, removed functions, the
 * state file's restore, the Git poll schedule with poke coalescing, and
 * rollouts: checks on time and ahead of the queue, Progressing/Stalled,
 * the retry within the guard period, and each rollout change named once.
 * Commits are real manifest sets loaded from in-memory sources.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/daemon/core.h"
#include "manifest/load.h"
#include "tests/unit/harness.h"

#define REV1 "1111111111111111111111111111111111111111"
#define REV2 "2222222222222222222222222222222222222222"
#define REV3 "3333333333333333333333333333333333333333"
#define REV4 "4444444444444444444444444444444444444444"

static const char zip_bytes[] = "PK\x05\x06 bytes are bytes";

/* A function manifest; prod "v9" names an undeclared release: broken. */
static char *fn_yaml(const char *name, const char *prod)
{
	static char text[4][1024];
	static int next;
	char *t = text[next++ % 4];

	snprintf(t, sizeof(text[0]),
	         "apiVersion: aliasd/v1\n"
	         "kind: Function\n"
	         "name: %s\n"
	         "config:\n"
	         "  runtime: python3.12\n"
	         "  handler: app.handler\n"
	         "  role: arn:aws:iam::123456789012:role/r\n"
	         "releases:\n"
	         "  v1:\n"
	         "    code: {zipFile: z/one.zip}\n"
	         "  v2:\n"
	         "    code: {zipFile: z/one.zip}\n"
	         "    description: two\n"
	         "aliases:\n"
	         "  Prod: %s\n",
	         name, prod);
	return t;
}

/* A commit: a.yaml and b.yaml (NULL = absent). */
static struct core_gen *gen_new(const char *rev, const char *a, const char *b)
{
	struct manifest_mem_file files[3];
	struct error err = ERROR_INIT;
	struct core_gen *g = calloc(1, sizeof(*g));
	size_t n = 0;

	if (!g)
		return NULL;
	files[n++] = (struct manifest_mem_file){"z/one.zip", zip_bytes, sizeof(zip_bytes) - 1, false};
	if (a)
		files[n++] = (struct manifest_mem_file){"a.yaml", a, strlen(a), false};
	if (b)
		files[n++] = (struct manifest_mem_file){"b.yaml", b, strlen(b), false};
	if (manifest_source_mem_open(&g->src, files, n, &err) < 0 ||
	    manifest_load(&g->set, g->src, NULL, &err) < 0) {
		fprintf(stderr, "gen_new: %s\n", err.msg);
		manifest_source_free(g->src);
		free(g);
		return NULL;
	}
	snprintf(g->revision, sizeof(g->revision), "%s", rev);
	return g;
}

static void gen_drop(struct core_gen *g)
{
	if (!g)
		return;
	manifest_set_free(g->set);
	manifest_source_free(g->src);
	free(g);
}

static const struct core_options opts = {
    .backoff_base_ms = 1000, .backoff_max_ms = 5000, .resync_ms = 60000, .interval_ms = 30000};

static int load(struct core *c, const char *rev, const char *a, const char *b, uint64_t now,
                struct core_load_stats *stats)
{
	struct core_gen *g = gen_new(rev, a, b);
	int r;

	if (!g)
		return -EINVAL;
	r = core_load(c, g, now, stats, NULL, NULL);
	if (r < 0)
		gen_drop(g);
	return r;
}

/* Run every due job to completion with the same result. */
static size_t finish_all(struct core *c, uint64_t now, int status, enum error_kind kind,
                         enum core_outcome *last)
{
	struct core_fn *st;
	size_t n = 0;

	while ((st = core_next_job(c, now, 8)) != NULL) {
		enum core_outcome o = core_finish(c, st, st->gen, st->hash, status, kind,
		                                  status ? "a.yaml:1:1: boom" : NULL, now, 0, NULL);

		if (last)
			*last = o;
		n++;
	}
	return n;
}

TEST(core_new_commit)
{
	struct core c;
	struct core_load_stats s;
	struct core_fn *a, *b;

	core_init(&c, &opts);
	CHECK(core_poll_due(&c, 0));
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), fn_yaml("beta", "v1"), 100, &s) == 0);
	CHECK_INT((int)s.changed, 2);
	CHECK_INT((int)s.kept, 0);
	CHECK(c.loaded);
	CHECK_STR(c.loaded_rev, REV1);
	a = core_fn_find(&c, "alpha", NULL);
	b = core_fn_find(&c, "beta", NULL);
	REQUIRE(a && b);
	CHECK_INT(a->state, DAEMON_OUT_OF_SYNC);
	CHECK_U64(a->due, 100);
	CHECK(!core_applied_update(&c)); /* nothing synced yet */

	/* one worker: one job at a time */
	REQUIRE(core_next_job(&c, 100, 1) == a);
	CHECK_INT(a->state, DAEMON_PROGRESSING);
	CHECK_STR(a->attempted_rev, REV1);
	CHECK(core_next_job(&c, 100, 1) == NULL);
	CHECK_INT(core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 150, 0, NULL),
	          CORE_OUTCOME_SUCCESS);
	CHECK_INT(a->state, DAEMON_SYNCED);
	CHECK_STR(a->applied_rev, REV1);
	CHECK(!core_applied_update(&c)); /* beta still out of sync */
	CHECK_INT((int)finish_all(&c, 150, 0, ERROR_KIND_UNSPECIFIED, NULL), 1);
	CHECK(core_applied_update(&c));
	CHECK_STR(c.applied_rev, REV1);
	CHECK(!core_applied_update(&c)); /* reported once */

	/* the same manifests again: nothing changes, nothing is due */
	REQUIRE(load(&c, REV2, fn_yaml("alpha", "v1"), fn_yaml("beta", "v1"), 200, &s) == 0);
	CHECK_INT((int)s.changed, 0);
	CHECK(core_next_job(&c, 200, 8) == NULL);
	CHECK_STR(a->gen->revision, REV2);
	core_collect(&c);
	CHECK(c.gens && !c.gens->next); /* REV1 freed: nobody holds it */
	core_release(&c);
}

TEST(core_broken_commit_keeps_last_good)
{
	struct core c;
	struct core_load_stats s;
	struct core_fn *a, *b;
	const struct manifest_function *good;

	core_init(&c, &opts);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), fn_yaml("beta", "v1"), 0, &s) == 0);
	finish_all(&c, 0, 0, ERROR_KIND_UNSPECIFIED, NULL);
	CHECK(core_applied_update(&c));
	a = core_fn_find(&c, "alpha", NULL);
	good = a->fn;

	/* alpha breaks, beta is promoted: beta applies, alpha keeps its last good state */
	REQUIRE(load(&c, REV2, fn_yaml("alpha", "v9"), fn_yaml("beta", "v2"), 10, &s) == 0);
	CHECK_INT((int)s.changed, 1);
	CHECK_INT((int)s.kept, 1);
	b = core_fn_find(&c, "beta", NULL);
	CHECK(a->invalid);
	CHECK(a->fn == good);
	CHECK_STR(a->gen->revision, REV1);
	CHECK_INT(a->state, DAEMON_SYNCED); /* its last good state is live: not Failed */
	CHECKF(a->manifest_error && !strncmp(a->manifest_error, "a.yaml:", 7), "%s", a->manifest_error);
	CHECK(!a->last_error);
	CHECK_INT(b->state, DAEMON_OUT_OF_SYNC);
	CHECK(core_next_job(&c, 10, 8) == b);
	CHECK(core_next_job(&c, 10, 8) == NULL); /* alpha is not touched */
	core_finish(&c, b, b->gen, b->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 20, 0, NULL);
	CHECK(!core_applied_update(&c)); /* a commit with errors is never applied */
	CHECK_STR(c.applied_rev, REV1);
	CHECK_INT((int)c.total_manifest_errors, 1);

	/* a YAML syntax error: alpha is not even declared; its file is broken */
	REQUIRE(load(&c, REV3, "kind: [\n", fn_yaml("beta", "v2"), 30, &s) == 0);
	CHECK(core_fn_find(&c, "alpha", NULL) == a);
	CHECK(!a->removed && a->invalid && a->fn == good);
	CHECK_INT(a->state, DAEMON_SYNCED);
	CHECK_INT((int)s.kept, 1);
	CHECK_INT((int)s.removed, 0);

	/* the fixing commit applies at once */
	REQUIRE(load(&c, REV4, fn_yaml("alpha", "v2"), fn_yaml("beta", "v2"), 40, &s) == 0);
	CHECK(!a->invalid && !a->manifest_error);
	CHECK_INT(a->state, DAEMON_OUT_OF_SYNC);
	CHECK_U64(a->due, 40);
	CHECK_INT((int)finish_all(&c, 40, 0, ERROR_KIND_UNSPECIFIED, NULL), 1);
	CHECK(core_applied_update(&c));
	CHECK_STR(c.applied_rev, REV4);
	core_release(&c);
}

TEST(core_broken_without_last_good_fails)
{
	struct core c;
	struct core_fn *a;

	core_init(&c, &opts);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v9"), NULL, 0, NULL) == 0);
	a = core_fn_find(&c, "alpha", NULL);
	REQUIRE(a);
	CHECK(a->invalid && !a->fn);
	CHECK_INT(a->state, DAEMON_FAILED);
	CHECK(core_next_job(&c, 0, 8) == NULL);
	core_release(&c);
}

TEST(core_newer_commit_supersedes_failing)
{
	struct core c;
	struct core_fn *a;
	uint64_t wait = 0;

	core_init(&c, &opts);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), NULL, 0, NULL) == 0);
	a = core_fn_find(&c, "alpha", NULL);
	REQUIRE(core_next_job(&c, 0, 8) == a);
	CHECK_INT(
	    core_finish(&c, a, a->gen, a->hash, -EIO, ERROR_KIND_TRANSIENT, "a.yaml:1:1: 500", 0, 0, &wait),
	    CORE_OUTCOME_RETRY);
	CHECK_INT(a->state, DAEMON_FAILED);
	CHECK_U64(wait, 1000);
	CHECK_STR(a->last_error, "a.yaml:1:1: 500");
	/* a newer commit that changes alpha: due at once, failures forgotten */
	REQUIRE(load(&c, REV2, fn_yaml("alpha", "v2"), NULL, 10, NULL) == 0);
	CHECK_U64(a->due, 10);
	CHECK_INT((int)a->failures, 0);
	CHECK(!a->last_error);
	CHECK_INT(a->state, DAEMON_OUT_OF_SYNC);

	/* superseded while its reconcile runs: the result is not recorded */
	{
		struct core_gen *jg;
		unsigned char jh[CORE_HASH_LEN];

		REQUIRE(core_next_job(&c, 10, 8) == a);
		jg = a->gen;
		memcpy(jh, a->hash, sizeof(jh));
		REQUIRE(load(&c, REV3, fn_yaml("alpha", "v1"), NULL, 20, NULL) == 0);
		CHECK_INT(a->state, DAEMON_PROGRESSING); /* still running */
		CHECK(core_next_job(&c, 20, 8) == NULL); /* one job per function */
		CHECK_INT(core_finish(&c, a, jg, jh, 0, ERROR_KIND_UNSPECIFIED, NULL, 25, 0, NULL),
		          CORE_OUTCOME_SUPERSEDED);
		CHECK_INT(a->state, DAEMON_OUT_OF_SYNC);
		CHECK_U64(a->due, 25);
		CHECK(a->applied_rev[0] == '\0');
		core_collect(&c);
		REQUIRE(core_next_job(&c, 25, 8) == a);
		CHECK_STR(a->attempted_rev, REV3);
		core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 30, 0, NULL);
		CHECK_STR(a->applied_rev, REV3);
	}
	core_release(&c);
}

TEST(core_backoff_grows_and_caps)
{
	static const uint64_t want[] = {1000, 2000, 4000, 5000, 5000};
	struct core c;
	struct core_fn *a;
	uint64_t now = 0;

	core_init(&c, &opts);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), NULL, 0, NULL) == 0);
	a = core_fn_find(&c, "alpha", NULL);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		uint64_t wait = 0;

		REQUIRE(core_next_job(&c, now, 8) == a);
		CHECK_INT(core_finish(&c, a, a->gen, a->hash, -EIO, ERROR_KIND_TRANSIENT, "x", now, 0, &wait),
		          CORE_OUTCOME_RETRY);
		CHECKF(wait == want[i], "failure %zu: wait %" PRIu64 ", want %" PRIu64, i + 1, wait, want[i]);
		CHECK_U64(a->due, now + want[i]);
		CHECK_INT((int)a->failures, (int)i + 1);
		CHECK(core_next_job(&c, now + want[i] - 1, 8) == NULL); /* not before */
		CHECK_U64(core_next_deadline(&c, 8, true),
		          now + want[i] < c.next_poll ? now + want[i] : c.next_poll);
		CHECK_U64(core_next_deadline(&c, 8, false), now + want[i]);
		now += want[i];
	}
	/* success resets the count */
	REQUIRE(core_next_job(&c, now, 8) == a);
	core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, now, 0, NULL);
	CHECK_INT((int)a->failures, 0);
	CHECK(!a->last_error);
	core_release(&c);
	CHECK_U64(daemon_backoff_ms(64, 1000, 5000), 5000);
}

TEST(core_resync_due)
{
	struct core c;
	struct core_options o = opts;
	struct core_fn *a;

	core_init(&c, &opts);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), NULL, 0, NULL) == 0);
	a = core_fn_find(&c, "alpha", NULL);
	REQUIRE(core_next_job(&c, 0, 8) == a);
	core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 1000, 0, NULL);
	CHECK_U64(a->due, 1000 + 54000); /* resync - 10% with rnd 0 */
	CHECK(core_next_job(&c, 1000 + 53999, 8) == NULL);
	REQUIRE(core_next_job(&c, 1000 + 54000, 8) == a);
	core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 60000, 12000, NULL);
	CHECK_U64(a->due, 60000 + 66000); /* + 10% */
	/* a shorter resync after a reload applies from now on */
	o.resync_ms = 10000;
	core_config_changed(&c, &o, 61000, 0);
	CHECK_U64(a->due, 61000 + 10000); /* the one function: at the end of the new period */
	/* resync off: nothing scheduled after a success */
	o.resync_ms = 0;
	core_config_changed(&c, &o, 62000, 0);
	REQUIRE(core_next_job(&c, 71000, 8) == a);
	core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 71000, 0, NULL);
	CHECK_U64(a->due, CORE_NEVER);
	core_release(&c);
}

TEST(core_resync_period_fits_or_spreads)
{
	/* 10,000 functions x 1.1 calls at 15/s (80% of it): 916.7 s > 10 min */
	CHECK_U64(core_resync_period_ms(600000, 10000, 1.1, 15), 917000);
	/* 1,000 functions fit easily: the configured period */
	CHECK_U64(core_resync_period_ms(600000, 1000, 1.1, 15), 600000);
	/* exactly at the limit: still fits */
	CHECK_U64(core_resync_period_ms(600000, 6000, 1.0, 12.5), 600000);
	CHECK_U64(core_resync_period_ms(600000, 6001, 1.0, 12.5), 601000);
	/* never: stays never; no rate: no pacing */
	CHECK_U64(core_resync_period_ms(0, 10000, 1.1, 15), 0);
	CHECK_U64(core_resync_period_ms(600000, 10000, 1.1, 0), 600000);
}

TEST(core_resync_spread_schedules_longer)
{
	struct core c;
	struct core_options o = opts;
	struct core_fn *a;

	o.rate = 15;
	core_init(&c, &o);
	CHECK_U64(c.resync.period_ms, 60000);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), fn_yaml("beta", "v1"), 0, NULL) == 0);
	CHECK_U64(c.resync.functions, 2);
	CHECK_U64(c.resync.spread_ms, 0); /* 2 functions fit a minute */
	CHECK_U64(c.resync.period_ms, 60000);
	/* a rate so low that 2 functions need 2 x 1.1 / (0.01 x 0.8) = 275 s */
	o.rate = 0.01;
	core_config_changed(&c, &o, 0, 0);
	CHECK_U64(c.resync.spread_ms, 275000);
	CHECK_U64(c.resync.period_ms, 275000);
	a = core_fn_find(&c, "alpha", NULL);
	REQUIRE(core_next_job(&c, 0, 8) == a);
	core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 1000, 0, NULL);
	CHECK_U64(a->due, 1000 + 247500); /* the spread period - 10% with rnd 0 */
	/* one function removed: it fits again */
	o.rate = 0.02;
	core_config_changed(&c, &o, 2000, 0);
	CHECK_U64(c.resync.spread_ms, 138000);
	REQUIRE(load(&c, REV2, fn_yaml("alpha", "v1"), NULL, 3000, NULL) == 0);
	CHECK_U64(c.resync.functions, 1);
	CHECK_U64(c.resync.spread_ms, 69000);
	o.rate = 1;
	core_config_changed(&c, &o, 4000, 0);
	CHECK_U64(c.resync.spread_ms, 0);
	CHECK_U64(c.resync.period_ms, 60000);
	CHECK_U64(a->due, 4000 + 60000); /* rescheduled within the shorter period */
	core_release(&c);
}

/* The limiter's current rate, not the configured one, sets the spread (issue 12). */
TEST(core_resync_paced_by_current_rate)
{
	struct core c;
	struct core_options o = opts;
	struct core_rate now[2] = {{"", "us-east-1", 15}, {NULL, NULL, 0}};
	struct core_rates r = {"us-east-1", NULL, 0, now, 1};
	char msg[256];
	struct core_fn *a;

	o.rate = 15;
	core_init(&c, &o);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), fn_yaml("beta", "v1"), 0, NULL) == 0);
	core_resync_rates(&c, &r);
	CHECK_U64(c.resync.spread_ms, 0); /* 2 functions fit a minute at 15/s */
	CHECK(c.resync.rate == 15);
	core_resync_describe(&c.resync, 15, msg, sizeof(msg));
	CHECK_STR(msg, "");
	/* after 429s the limiter allows 0.02/s: 2 x 1.1 / (0.02 x 0.8) = 137.5 s */
	now[0].rate = 0.02;
	core_resync_rates(&c, &r);
	CHECK_U64(c.resync.spread_ms, 138000);
	CHECK_U64(c.resync.period_ms, 138000);
	CHECK_U64(c.resync.functions, 2);
	CHECK(c.resync.rate == 0.02);
	core_resync_describe(&c.resync, 15, msg, sizeof(msg));
	CHECK_STR(msg,
	          "resync of 2 functions spread over 138s: rate 0.02/s (the limiter's now; configured 15/s)");
	/* halved again: spread twice as long */
	now[0].rate = 0.01;
	core_resync_rates(&c, &r);
	CHECK_U64(c.resync.spread_ms, 275000);
	a = core_fn_find(&c, "alpha", NULL);
	REQUIRE(core_next_job(&c, 0, 8) == a);
	core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 1000, 0, NULL);
	CHECK_U64(a->due, 1000 + 247500); /* the spread period - 10% with rnd 0 */
	/* a load keeps the rate it was told */
	REQUIRE(load(&c, REV2, fn_yaml("alpha", "v1"), fn_yaml("beta", "v2"), 2000, NULL) == 0);
	CHECK_U64(c.resync.spread_ms, 275000);
	/* recovered; never above the configured rate: fits again */
	now[0].rate = 100;
	core_resync_rates(&c, &r);
	CHECK_U64(c.resync.spread_ms, 0);
	CHECK(c.resync.rate == 15);
	core_release(&c);
}

/* Each (account, region) pair's functions are paced by that pair's rate. */
TEST(core_resync_paced_per_pair)
{
	static const char *const roles[] = {"111122223333"};
	struct core c;
	struct core_options o = opts;
	struct core_rate now[3] = {
	    {"", "us-east-1", 15}, {"111122223333", "eu-west-1", 0.01}, {"", NULL, 15}};
	struct core_rates r = {"us-east-1", roles, 1, now, 2};
	const char *arn = "arn:aws:lambda:eu-west-1:111122223333:function:beta";
	char msg[256];
	struct core_fn *a, *b;

	o.rate = 15;
	core_init(&c, &o);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), fn_yaml(arn, "v1"), 0, NULL) == 0);
	core_resync_rates(&c, &r);
	/* beta alone in its pair at 0.01/s: 1 x 1.1 / (0.01 x 0.8) = 137.5 s; alpha's pair fits */
	CHECK_U64(c.resync.n_pairs, 2);
	CHECK_U64(c.resync.spread_ms, 138000);
	CHECK_U64(c.resync.functions, 1);
	CHECK_STR(c.resync.account, "111122223333");
	CHECK_STR(c.resync.region, "eu-west-1");
	core_resync_describe(&c.resync, 15, msg, sizeof(msg));
	CHECK_STR(msg, "resync of 1 functions spread over 138s: rate 0.01/s (the limiter's now; configured "
	               "15/s) in account 111122223333 region eu-west-1");
	a = core_fn_find(&c, "alpha", NULL);
	b = core_fn_find(&c, arn, "eu-west-1"); /* the loader gives it its ARN's region */
	REQUIRE(a && b);
	REQUIRE(core_next_job(&c, 0, 8) != NULL);
	REQUIRE(core_next_job(&c, 0, 8) != NULL);
	core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 1000, 0, NULL);
	core_finish(&c, b, b->gen, b->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 1000, 0, NULL);
	CHECK_U64(a->due, 1000 + 54000);  /* its own pair's period: the configured minute */
	CHECK_U64(b->due, 1000 + 124200); /* 138 s - 10% */
	/* without a role that ARN is the default credentials' (its own account): one pair per region */
	r.n_role_accounts = 0;
	r.n_rates = 3; /* the default region's client, also listed as NULL: the same pair */
	now[1].rate = 15;
	core_resync_rates(&c, &r);
	CHECK_U64(c.resync.n_pairs, 2);
	CHECK_STR(c.resync.account, "");
	CHECK_U64(c.resync.spread_ms, 0);
	core_release(&c);
}

/* A reload that shortens the period spreads the resyncs evenly, never all at one instant. */
TEST(core_resync_reload_spreads_evenly)
{
	struct core c;
	struct core_options o = opts;
	struct core_fn *st;
	uint64_t dues[2];
	size_t n = 0;

	o.resync_ms = 600000;
	core_init(&c, &o);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), fn_yaml("beta", "v1"), 0, NULL) == 0);
	while ((st = core_next_job(&c, 0, 8)) != NULL)
		core_finish(&c, st, st->gen, st->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 1000, 0, NULL);
	o.resync_ms = 60000;
	core_config_changed(&c, &o, 2000, 0);
	for (size_t i = 0; i < c.n_fns; i++)
		dues[n++] = c.fns[i]->due;
	REQUIRE(n == 2);
	CHECK_U64(dues[0] < dues[1] ? dues[0] : dues[1], 2000 + 30000);
	CHECK_U64(dues[0] < dues[1] ? dues[1] : dues[0], 2000 + 60000);
	core_release(&c);
}

TEST(core_from_cache_only_for_new_desired_state)
{
	struct core c;
	struct core_fn *a;

	core_init(&c, &opts);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), NULL, 0, NULL) == 0);
	a = core_fn_find(&c, "alpha", NULL);
	CHECK(a->from_cache); /* a new desired state */
	REQUIRE(core_next_job(&c, 0, 8) == a);
	core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 1000, 0, NULL);
	CHECK(!a->from_cache); /* its resync reads Lambda */
	REQUIRE(load(&c, REV2, fn_yaml("alpha", "v2"), NULL, 2000, NULL) == 0);
	CHECK(a->from_cache);
	REQUIRE(core_next_job(&c, 2000, 8) == a);
	core_finish(&c, a, a->gen, a->hash, -EAGAIN, ERROR_KIND_CONFLICT, "x", 3000, 0, NULL);
	CHECK(!a->from_cache); /* a retry observes */
	REQUIRE(load(&c, REV3, fn_yaml("alpha", "v1"), NULL, 4000, NULL) == 0);
	CHECK(a->from_cache);
	core_reconcile_all(&c, 5000);
	CHECK(!a->from_cache); /* SIGUSR1: everything afresh */
	core_release(&c);
}

TEST(core_terminal_stalls)
{
	struct core c;
	struct core_fn *a;

	core_init(&c, &opts);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), NULL, 0, NULL) == 0);
	a = core_fn_find(&c, "alpha", NULL);
	REQUIRE(core_next_job(&c, 0, 8) == a);
	CHECK_INT(core_finish(&c, a, a->gen, a->hash, -EACCES, ERROR_KIND_TERMINAL,
	                      "a.yaml:1:1: AccessDeniedException: no", 0, 0, NULL),
	          CORE_OUTCOME_STALLED);
	CHECK_INT(a->state, DAEMON_STALLED);
	CHECK_INT(a->error_kind, ERROR_KIND_TERMINAL);
	CHECK_STR(a->last_error, "a.yaml:1:1: AccessDeniedException: no");
	CHECK_U64(a->due, CORE_NEVER);
	CHECK(core_next_job(&c, 1000000000, 8) == NULL); /* never retried by itself */
	/* the same desired state in a newer commit: still Stalled */
	REQUIRE(load(&c, REV2, fn_yaml("alpha", "v1"), NULL, 10, NULL) == 0);
	CHECK_INT(a->state, DAEMON_STALLED);
	CHECK(core_next_job(&c, 1000000000, 8) == NULL);
	/* a config change: another chance */
	core_config_changed(&c, &opts, 20, 0);
	CHECK_U64(a->due, 20);
	REQUIRE(core_next_job(&c, 20, 8) == a);
	CHECK_INT(core_finish(&c, a, a->gen, a->hash, -EACCES, ERROR_KIND_TERMINAL, "again", 30, 0, NULL),
	          CORE_OUTCOME_STALLED);
	CHECK_INT((int)a->failures, 2);
	/* SIGUSR1: everything, Stalled too */
	core_reconcile_all(&c, 40);
	CHECK_U64(a->due, 40);
	REQUIRE(core_next_job(&c, 40, 8) == a);
	core_finish(&c, a, a->gen, a->hash, -EACCES, ERROR_KIND_TERMINAL, "again", 50, 0, NULL);
	/* a changed desired state: retried at once, the past forgotten */
	REQUIRE(load(&c, REV3, fn_yaml("alpha", "v2"), NULL, 60, NULL) == 0);
	CHECK_INT(a->state, DAEMON_OUT_OF_SYNC);
	CHECK_U64(a->due, 60);
	CHECK_INT((int)a->failures, 0);
	CHECK_INT(a->error_kind, ERROR_KIND_UNSPECIFIED);
	core_release(&c);
}

TEST(core_retryable_kinds)
{
	static const enum error_kind kinds[] = {ERROR_KIND_TRANSIENT, ERROR_KIND_CONFLICT,
	                                        ERROR_KIND_CREDENTIALS, ERROR_KIND_NOT_FOUND,
	                                        ERROR_KIND_UNSPECIFIED};

	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		struct core c;
		struct core_fn *a;
		uint64_t wait = 0;

		core_init(&c, &opts);
		REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), NULL, 0, NULL) == 0);
		a = core_fn_find(&c, "alpha", NULL);
		REQUIRE(core_next_job(&c, 0, 8) == a);
		CHECKF(core_finish(&c, a, a->gen, a->hash, -EIO, kinds[i], "x", 0, 0, &wait) ==
		           CORE_OUTCOME_RETRY,
		       "kind %s", error_kind_name(kinds[i]));
		CHECKF(a->state == DAEMON_FAILED && wait == 1000 && a->due == 1000, "kind %s",
		       error_kind_name(kinds[i]));
		CHECK_INT(a->error_kind, kinds[i]);
		core_release(&c);
	}
}

TEST(core_canceled_changes_nothing)
{
	struct core c;
	struct core_fn *a;

	core_init(&c, &opts);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), NULL, 0, NULL) == 0);
	a = core_fn_find(&c, "alpha", NULL);
	REQUIRE(core_next_job(&c, 0, 8) == a);
	core_finish(&c, a, a->gen, a->hash, -EIO, ERROR_KIND_TRANSIENT, "x", 0, 0, NULL);
	REQUIRE(core_next_job(&c, 1000, 8) == a);
	CHECK_INT(core_finish(&c, a, a->gen, a->hash, -ECANCELED, ERROR_KIND_CANCELED, NULL, 1500, 0, NULL),
	          CORE_OUTCOME_CANCELED);
	CHECK_INT((int)a->failures, 1);
	CHECK_STR(a->last_error, "x");
	CHECK_U64(a->due, 1500);
	CHECK_INT((int)c.in_flight, 0);
	core_release(&c);
}

static int removed_calls;
static void on_removed(void *arg, const struct core_fn *fn)
{
	(void)arg;
	if (!strcmp(fn->name, "beta"))
		removed_calls++;
}

TEST(core_removed_function)
{
	struct core c;
	struct core_fn *b;
	struct core_gen *g;
	struct core_load_stats s;

	core_init(&c, &opts);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), fn_yaml("beta", "v1"), 0, NULL) == 0);
	b = core_fn_find(&c, "beta", NULL);
	REQUIRE(core_next_job(&c, 0, 8) != NULL);
	REQUIRE(core_next_job(&c, 0, 8) == b); /* beta in flight */
	g = gen_new(REV2, fn_yaml("alpha", "v1"), NULL);
	REQUIRE(g);
	REQUIRE(core_load(&c, g, 10, &s, on_removed, NULL) == 0);
	CHECK_INT(removed_calls, 1);
	CHECK_INT((int)s.removed, 1);
	CHECK(b->removed);
	CHECK(core_fn_find(&c, "beta", NULL) == NULL);
	core_collect(&c);
	CHECK_INT((int)c.n_fns, 2); /* kept while its job runs */
	CHECK_INT(core_finish(&c, b, b->gen, b->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 20, 0, NULL),
	          CORE_OUTCOME_REMOVED);
	core_collect(&c);
	CHECK_INT((int)c.n_fns, 1);
	core_release(&c);
}

/* `n` functions "fn-0000"... (from `first`), one YAML document each, in one file. */
static char *many_yaml(int first, int n)
{
	size_t size = (size_t)n * 400 + 1, len = 0;
	char *t = malloc(size);

	if (!t)
		return NULL;
	for (int i = first; i < first + n; i++) {
		char name[16];

		snprintf(name, sizeof(name), "fn-%04d", i);
		len += (size_t)snprintf(t + len, size - len, "%s%s", i > first ? "---\n" : "",
		                        fn_yaml(name, "v1"));
	}
	return t;
}

/* Functions are found by their key through an index: thousands, removed, declared again. */
TEST(core_find_by_key_at_scale)
{
	struct core c;
	struct core_fn *st, *gone;
	char name[16];
	char *all = many_yaml(0, 2000), *half = many_yaml(0, 1000);

	REQUIRE(all && half);
	core_init(&c, &opts);
	CHECK(core_fn_find(&c, "fn-0000", NULL) == NULL); /* empty */
	REQUIRE(load(&c, REV1, all, NULL, 0, NULL) == 0);
	CHECK_INT((int)c.n_fns, 2000);
	for (int i = 0; i < 2000; i++) {
		snprintf(name, sizeof(name), "fn-%04d", i);
		st = core_fn_find(&c, name, NULL);
		REQUIRE(st != NULL);
		CHECK_STR(st->name, name);
		CHECK(st->region == NULL);
	}
	CHECK(core_fn_find(&c, "fn-2000", NULL) == NULL);
	CHECK(core_fn_find(&c, "fn-0001", "eu-west-1") == NULL); /* another region: another key */
	/* half of them removed; one of those still in flight */
	gone = core_fn_find(&c, "fn-1500", NULL);
	while ((st = core_next_job(&c, 0, 1)) != gone) {
		REQUIRE(st != NULL);
		core_finish(&c, st, st->gen, st->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 0, 0, NULL);
	}
	REQUIRE(load(&c, REV2, half, NULL, 10, NULL) == 0);
	core_collect(&c);
	CHECK_INT((int)c.n_fns, 1001); /* fn-1500 kept while its job runs */
	CHECK(core_fn_find(&c, "fn-1500", NULL) == NULL);
	CHECK(core_fn_find(&c, "fn-1999", NULL) == NULL);
	CHECK(core_fn_find(&c, "fn-0999", NULL) != NULL);
	/* declared again: a new entry, found; the removed one is not */
	REQUIRE(load(&c, REV3, all, NULL, 20, NULL) == 0);
	st = core_fn_find(&c, "fn-1500", NULL);
	REQUIRE(st != NULL);
	CHECK(st != gone && !st->removed && gone->removed);
	CHECK_INT(core_finish(&c, gone, gone->gen, gone->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 30, 0, NULL),
	          CORE_OUTCOME_REMOVED);
	core_collect(&c);
	CHECK_INT((int)c.n_fns, 2000);
	for (int i = 0; i < 2000; i += 7) {
		snprintf(name, sizeof(name), "fn-%04d", i);
		st = core_fn_find(&c, name, NULL);
		CHECK(st != NULL && !strcmp(st->name, name));
	}
	core_release(&c);
	free(all);
	free(half);
}

TEST(core_restore_last_good)
{
	struct core c;
	struct core_gen *old = gen_new(REV1, fn_yaml("alpha", "v1"), fn_yaml("beta", "v1"));
	struct core_gen *old2 = gen_new(REV1, fn_yaml("alpha", "v1"), fn_yaml("beta", "v1"));
	const struct manifest_function *fa, *fb;
	struct core_fn *a, *b;

	REQUIRE(old && old2);
	fa = manifest_set_find(old->set, "alpha", NULL);
	fb = manifest_set_find(old->set, "beta", NULL);
	REQUIRE(fa && fb);
	/* restarted on a commit that breaks alpha and beta's whole file */
	core_init(&c, &opts);
	REQUIRE(load(&c, REV2, fn_yaml("alpha", "v9"), "kind: [\n", 0, NULL) == 0);
	a = core_fn_find(&c, "alpha", NULL);
	REQUIRE(a);
	CHECK_INT(a->state, DAEMON_FAILED);
	CHECK(core_fn_find(&c, "beta", NULL) == NULL);

	CHECK_INT(core_restore(&c, old, fa, 5), 1);
	CHECK(a->fn == fa && a->gen == old && a->restored && a->invalid);
	CHECK_INT(a->state, DAEMON_OUT_OF_SYNC); /* confirmed by a reconcile: writes only on drift */
	CHECK_U64(a->due, 5);
	CHECKF(a->manifest_error && !strncmp(a->manifest_error, "a.yaml:", 7), "%s", a->manifest_error);
	CHECK_INT(core_restore(&c, old, fb, 5), 1); /* undeclared, but its file is broken */
	b = core_fn_find(&c, "beta", NULL);
	REQUIRE(b);
	CHECK(b->fn == fb && b->invalid && b->restored);
	CHECKF(b->manifest_error && !strncmp(b->manifest_error, "b.yaml:", 7), "%s", b->manifest_error);
	CHECK_INT(core_restore(&c, old, fa, 6), 0); /* has a last good state now */
	CHECK_INT((int)finish_all(&c, 5, 0, ERROR_KIND_UNSPECIFIED, NULL), 2);
	CHECK_INT(a->state, DAEMON_SYNCED);
	CHECK(!core_applied_update(&c));
	/* the fixing commit declares exactly the last good state: nothing to do */
	REQUIRE(load(&c, REV3, fn_yaml("alpha", "v1"), fn_yaml("beta", "v1"), 8, NULL) == 0);
	CHECK(!a->invalid && !a->restored && !a->manifest_error);
	CHECK_STR(a->gen->revision, REV3);
	CHECK(core_next_job(&c, 8, 8) == NULL);
	CHECK(core_applied_update(&c));
	CHECK_STR(c.applied_rev, REV3);
	/* a function that is valid in the newest commit is not restored */
	core_release(&c);
	core_init(&c, &opts);
	REQUIRE(load(&c, REV2, fn_yaml("alpha", "v2"), fn_yaml("gamma", "v1"), 0, NULL) == 0);
	CHECK_INT(core_restore(&c, old2, manifest_set_find(old2->set, "alpha", NULL), 0), 0);
	/* nor one that is simply gone (its file not broken) */
	CHECK_INT(core_restore(&c, old2, manifest_set_find(old2->set, "beta", NULL), 0), 0);
	gen_drop(old2);
	core_release(&c);
}

TEST(core_git_schedule_and_pokes)
{
	struct core c;
	uint64_t wait;

	core_init(&c, &opts);
	CHECK(core_poll_due(&c, 0));
	core_poll_started(&c, 1000);
	CHECK(!core_poll_due(&c, 1000));
	core_poll_ok(&c, 1200, 0);
	CHECK_U64(c.next_poll, 1200 + 27000);
	/* a lone poke right after a regular poll: at once */
	core_poke(&c, 1300);
	CHECK_U64(c.next_poll, 1300);
	core_poll_started(&c, 1300);
	core_poll_ok(&c, 1400, 0);
	/* a storm of pokes after it is one poll, a gap after the poke's poll */
	for (int i = 0; i < 2000; i++)
		core_poke(&c, 1400 + (uint64_t)i / 4);
	CHECK_U64(c.next_poll, 1300 + CORE_POKE_GAP_MS);
	core_poll_started(&c, 1300 + CORE_POKE_GAP_MS);
	core_poll_ok(&c, 1300 + CORE_POKE_GAP_MS, 0);
	core_poke(&c, 1400 + CORE_POKE_GAP_MS);
	CHECK_U64(c.next_poll, 1300 + 2 * CORE_POKE_GAP_MS);
	core_poll_started(&c, 1300 + 2 * CORE_POKE_GAP_MS);
	core_poll_ok(&c, 1300 + 2 * CORE_POKE_GAP_MS, 0);
	/* a poke while a poll runs: one more poll after it, not an interval later */
	core_poll_started(&c, 10000);
	core_poke(&c, 10100);
	core_poll_ok(&c, 10200, 0);
	CHECK_U64(c.next_poll, 10100);
	core_poll_started(&c, 10200);
	core_poll_ok(&c, 10300, 0);
	CHECK_U64(c.next_poll, 10300 + 27000);
	/* a poke long after the last poll: at once */
	core_poke(&c, 20000);
	CHECK_U64(c.next_poll, 20000);
	core_poll_started(&c, 20000);
	/* Git failing: backoff doubles from the interval, capped; pokes don't cut it short */
	wait = core_poll_failed(&c, 21000, 0);
	CHECK_U64(wait, 30000);
	CHECK_U64(c.next_poll, 21000 + 27000);
	core_poke(&c, 25000);
	CHECK_U64(c.next_poll, 21000 + 27000);
	core_poll_started(&c, 48000);
	CHECK_U64(core_poll_failed(&c, 48000, 0), 30000); /* cap max(interval, backoffMax) */
	CHECK_INT((int)c.git_failures, 2);
	/* the repository settings changed: poll now */
	core_poll_now(&c, 50000);
	CHECK(core_poll_due(&c, 50000));
	core_poll_started(&c, 50000);
	core_poll_ok(&c, 50000, 0);
	CHECK_INT((int)c.git_failures, 0);
	core_release(&c);
}

TEST(core_states_and_counts)
{
	struct core c;
	size_t counts[DAEMON_STATE_N];

	CHECK_STR(daemon_sync_state_name(DAEMON_STALLED), "Stalled");
	core_init(&c, &opts);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), fn_yaml("beta", "v9"), 0, NULL) == 0);
	CHECK_INT((int)core_counts(&c, counts), 2);
	CHECK_INT((int)counts[DAEMON_OUT_OF_SYNC], 1);
	CHECK_INT((int)counts[DAEMON_FAILED], 1);
	core_release(&c);
}

/* ---------------------------------------------------------------- rollouts */

/*
 * An alias "Prod" with a rollout record (ROLLOUT_NONE: none, a NULL
 * record); the records live in a static pool, as the tests need no free.
 */
static struct core_alias rollout_alias(enum rollout_state state, unsigned from, unsigned to, unsigned step,
                                       int64_t since, const char *reason)
{
	static struct rollout_progress pool[64];
	static size_t used;
	struct core_alias a;
	struct rollout_progress *p = &pool[used++ % 64];

	memset(&a, 0, sizeof(a));
	memset(p, 0, sizeof(*p));
	a.name = (char *)"Prod";
	a.version = (long)from;
	p->state = state;
	p->from = from;
	p->to = to;
	p->step = step;
	p->since = since;
	snprintf(p->desired_id, sizeof(p->desired_id), "0123456789abcdef");
	snprintf(p->reason, sizeof(p->reason), "%s", reason ? reason : "");
	a.rollout = state == ROLLOUT_NONE ? NULL : p;
	a.rollout_steps = 2;
	a.rollout_percent = state == ROLLOUT_PROGRESSING && step ? (step == 1 ? 10 : 50) : 0;
	a.rollout_failed = core_rollout_failed(core_alias_rollout(&a));
	return a;
}

TEST(core_rollout_check_time)
{
	/* unix seconds against the wall clock now (ms), onto the monotonic clock */
	CHECK_U64(core_check_time(0, 1700000000000, 5000), CORE_NEVER);
	CHECK_U64(core_check_time(1700000003, 1700000000500, 5000), 5000 + 2500);
	CHECK_U64(core_check_time(1700000000, 1700000000500, 5000), 5000); /* past: now */
	CHECK_U64(core_check_time(-5, 1700000000500, 5000), CORE_NEVER);
}

TEST(core_rollout_check_jumps_queue)
{
	struct core c;
	struct core_options o = opts;
	struct core_fn *a, *b;
	struct core_alias prog = rollout_alias(ROLLOUT_PROGRESSING, 1, 2, 1, 100, NULL);
	enum core_outcome out;

	o.resync_ms = 0; /* checks do not depend on resync */
	core_init(&c, &o);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), fn_yaml("beta", "v1"), 0, NULL) == 0);
	a = core_fn_find(&c, "alpha", NULL);
	b = core_fn_find(&c, "beta", NULL);
	REQUIRE(core_next_job(&c, 0, 8) == a);
	REQUIRE(core_next_job(&c, 0, 8) == b);
	out = core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 500, 0, NULL);
	CHECK_INT((int)core_rollout_finish(&c, a, out, NULL, 0, CORE_NEVER, 0, 500), CORE_OUTCOME_SUCCESS);
	CHECK_U64(a->due, CORE_NEVER);
	CHECK_INT(a->state, DAEMON_SYNCED);
	/* beta's rollout waits: due at its check, and Progressing (its commit is not applied) */
	out = core_finish(&c, b, b->gen, b->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 500, 0, NULL);
	CHECK_INT((int)core_rollout_finish(&c, b, out, &prog, 1, 1500, 1000, 500), CORE_OUTCOME_SUCCESS);
	CHECK_U64(b->due, 1500);
	CHECK_U64(b->check_due, 1500);
	CHECK_INT(b->state, DAEMON_PROGRESSING);
	CHECK(!core_applied_update(&c));
	CHECK_U64(core_next_deadline(&c, 8, false), 1500);
	core_poll_started(&c, 0);
	core_poll_ok(&c, 500, 0);                         /* next poll at 500 + 27000 */
	CHECK_U64(core_next_deadline(&c, 8, true), 1500); /* sooner than the Git poll (0 + interval) */
	CHECK(core_next_job(&c, 1499, 8) == NULL);
	/* everything due (SIGUSR1): the check goes first though alpha comes first in the table */
	core_reconcile_all(&c, 1400);
	REQUIRE(core_next_job(&c, 1500, 1) == b);
	CHECK_U64(b->check_due, CORE_NEVER);
	CHECK(core_next_job(&c, 1500, 1) == NULL); /* one worker */
	/* the rollout finished: Synced, the commit applied, nothing more pending */
	prog = rollout_alias(ROLLOUT_SUCCEEDED, 1, 2, 2, 1500, NULL);
	out = core_finish(&c, b, b->gen, b->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 1600, 0, NULL);
	CHECK_INT((int)core_rollout_finish(&c, b, out, &prog, 1, CORE_NEVER, 1000, 1600),
	          CORE_OUTCOME_SUCCESS);
	CHECK_INT(b->state, DAEMON_SYNCED);
	CHECK_U64(b->due, CORE_NEVER);
	REQUIRE(core_next_job(&c, 1600, 8) == a);
	core_rollout_finish(&c, a, core_finish(&c, a, a->gen, a->hash, 0, 0, NULL, 1700, 0, NULL), NULL, 0,
	                    CORE_NEVER, 0, 1700);
	CHECK(core_applied_update(&c));
	CHECK_STR(c.applied_rev, REV1);
	core_release(&c);
}

/* All workers busy with a long reconcile: a due rollout check still starts (a guard lane), nothing else. */
TEST(core_rollout_check_takes_guard_lane)
{
	struct core c;
	struct core_options o = opts;
	struct core_fn *a, *b, *g;
	struct core_alias prog = rollout_alias(ROLLOUT_PROGRESSING, 1, 2, 1, 100, NULL);
	enum core_outcome out;

	o.resync_ms = 0;
	core_init(&c, &o);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), fn_yaml("beta", "v1"), 0, NULL) == 0);
	a = core_fn_find(&c, "alpha", NULL);
	b = core_fn_find(&c, "beta", NULL);
	/* beta's rollout waits for its check at 1500 */
	REQUIRE(core_next_job(&c, 0, 1) == a);
	CHECK(core_next_job(&c, 0, 1) == NULL); /* concurrency 1: beta waits for a worker */
	out = core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 100, 0, NULL);
	core_rollout_finish(&c, a, out, NULL, 0, CORE_NEVER, 0, 100);
	REQUIRE(core_next_job(&c, 100, 1) == b);
	out = core_finish(&c, b, b->gen, b->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 500, 0, NULL);
	CHECK_INT((int)core_rollout_finish(&c, b, out, &prog, 1, 1500, 1000, 500), CORE_OUTCOME_SUCCESS);
	/* alpha starts a long reconcile (SIGUSR1) and holds the only worker */
	core_reconcile_all(&c, 600);
	REQUIRE(core_next_job(&c, 600, 1) == a);
	CHECK(core_next_job(&c, 600, 1) == NULL);          /* beta is due (SIGUSR1), but not a check yet */
	CHECK_U64(core_next_deadline(&c, 1, false), 1500); /* the guard lane wakes for the check only */
	CHECK(core_next_job(&c, 1499, 1) == NULL);
	g = core_next_job(&c, 1500, 1);
	CHECK(g == b); /* the check runs beside alpha's reconcile */
	CHECK_INT((int)c.in_flight, 2);
	CHECK(core_next_job(&c, 1500, 1) == NULL); /* at most one guard lane */
	CHECK_U64(core_next_deadline(&c, 1, false), CORE_NEVER);
	core_release(&c);
}

TEST(core_rollout_check_before_resync)
{
	struct core c;
	struct core_fn *a;
	struct core_alias prog = rollout_alias(ROLLOUT_PROGRESSING, 1, 2, 1, 100, NULL);
	enum core_outcome out;

	core_init(&c, &opts);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), NULL, 0, NULL) == 0);
	a = core_fn_find(&c, "alpha", NULL);
	REQUIRE(core_next_job(&c, 0, 8) == a);
	out = core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 1000, 0, NULL);
	core_rollout_finish(&c, a, out, &prog, 1, 4000, 1000, 1000);
	CHECK_U64(a->due, 4000); /* not the resync's 55000 */
	/* a later check than the resync does not postpone the resync */
	REQUIRE(core_next_job(&c, 4000, 8) == a);
	out = core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 4000, 0, NULL);
	core_rollout_finish(&c, a, out, &prog, 1, 4000 + 100000, 1000, 4000);
	CHECK_U64(a->due, 4000 + 54000);
	CHECK_U64(a->check_due, 4000 + 100000);
	/* progressing without a check from the engine: the guard period is the latest */
	REQUIRE(core_next_job(&c, 58000, 8) == a);
	out = core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 58000, 0, NULL);
	core_rollout_finish(&c, a, out, &prog, 1, CORE_NEVER, 2000, 58000);
	CHECK_U64(a->due, 60000);
	core_release(&c);
}

TEST(core_rollout_failure_retried_within_guard)
{
	struct core c;
	struct core_fn *a;
	struct core_alias prog = rollout_alias(ROLLOUT_PROGRESSING, 1, 2, 1, 100, NULL);
	enum core_outcome out;
	uint64_t now = 0;

	core_init(&c, &opts);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), NULL, 0, NULL) == 0);
	a = core_fn_find(&c, "alpha", NULL);
	/* failures back off 1, 2, 4, 5 s; with a rollout progressing never beyond the 2 s guard */
	for (int i = 0; i < 4; i++) {
		REQUIRE(core_next_job(&c, now, 8) == a);
		out = core_finish(&c, a, a->gen, a->hash, -EIO, ERROR_KIND_TRANSIENT, "x", now, 0, NULL);
		CHECK_INT((int)core_rollout_finish(&c, a, out, &prog, 1, CORE_NEVER, 2000, now),
		          CORE_OUTCOME_RETRY);
		CHECK_INT(a->state, DAEMON_FAILED);
		CHECK(a->due <= now + 2000);
		CHECK_U64(a->due, now + (i == 0 ? 1000 : 2000));
		now = a->due;
	}
	/* without a rollout in progress the backoff is the backoff */
	REQUIRE(core_next_job(&c, now, 8) == a);
	out = core_finish(&c, a, a->gen, a->hash, -EIO, ERROR_KIND_TRANSIENT, "x", now, 0, NULL);
	core_rollout_finish(&c, a, out, NULL, 0, CORE_NEVER, 2000, now);
	CHECK_U64(a->due, now + 5000);
	core_release(&c);
}

TEST(core_rollout_rolled_back_stalls)
{
	struct core c;
	struct core_fn *a;
	struct core_alias rb = rollout_alias(ROLLOUT_ROLLED_BACK, 1, 2, 1, 100, "alarm errors is in ALARM");
	struct core_alias rev =
	    rollout_alias(ROLLOUT_ROLLED_BACK, 1, 2, 1, 100, "reverted: version 1 is desired again");
	enum core_outcome out;

	core_init(&c, &opts);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), NULL, 0, NULL) == 0);
	a = core_fn_find(&c, "alpha", NULL);
	REQUIRE(core_next_job(&c, 0, 8) == a);
	out = core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 1000, 0, NULL);
	CHECK_INT((int)core_rollout_finish(&c, a, out, &rb, 1, CORE_NEVER, 1000, 1000), CORE_OUTCOME_STALLED);
	CHECK_INT(a->state, DAEMON_STALLED);
	CHECK_STR(a->last_error, "rollout of alias Prod rolled back: alarm errors is in ALARM");
	CHECK_INT(a->error_kind, ERROR_KIND_TERMINAL);
	CHECK_U64(a->due, 1000 + CORE_HELD_CHECK_MS); /* looked at (a CLI retry), sooner than the resync */
	CHECK(!core_applied_update(&c));
	/* a revert in Git is no failure */
	REQUIRE(load(&c, REV2, fn_yaml("alpha", "v2"), NULL, 2000, NULL) == 0);
	REQUIRE(core_next_job(&c, 2000, 8) == a);
	CHECK(a->last_error == NULL);
	out = core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 2500, 0, NULL);
	CHECK_INT((int)core_rollout_finish(&c, a, out, &rev, 1, CORE_NEVER, 1000, 2500),
	          CORE_OUTCOME_SUCCESS);
	CHECK_INT(a->state, DAEMON_SYNCED);
	CHECK(core_applied_update(&c));
	/* an old record of another desired version, not held: no failure either */
	core_reconcile_all(&c, 3000);
	REQUIRE(core_next_job(&c, 3000, 8) == a);
	rb.rollout_failed = false;
	out = core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 3000, 0, NULL);
	CHECK_INT((int)core_rollout_finish(&c, a, out, &rb, 1, CORE_NEVER, 1000, 3000), CORE_OUTCOME_SUCCESS);
	CHECK_INT(a->state, DAEMON_SYNCED);
	core_release(&c);
}

TEST(core_rollout_new_commit_supersedes_check)
{
	struct core c;
	struct core_fn *a;
	struct core_alias prog = rollout_alias(ROLLOUT_PROGRESSING, 1, 2, 1, 100, NULL);
	unsigned char hash[CORE_HASH_LEN];
	struct core_gen *g;
	enum core_outcome out;

	core_init(&c, &opts);
	REQUIRE(load(&c, REV1, fn_yaml("alpha", "v1"), NULL, 0, NULL) == 0);
	a = core_fn_find(&c, "alpha", NULL);
	REQUIRE(core_next_job(&c, 0, 8) == a);
	out = core_finish(&c, a, a->gen, a->hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 1000, 0, NULL);
	core_rollout_finish(&c, a, out, &prog, 1, 9000, 1000, 1000);
	CHECK_U64(a->due, 9000);
	REQUIRE(load(&c, REV2, fn_yaml("alpha", "v2"), NULL, 2000, NULL) == 0);
	CHECK_U64(a->due, 2000);
	CHECK_U64(a->check_due, CORE_NEVER);
	/* a check that finishes for the old desired state is superseded, its next check dropped */
	REQUIRE(core_next_job(&c, 2000, 8) == a);
	memcpy(hash, a->hash, sizeof(hash));
	g = a->gen;
	REQUIRE(load(&c, REV3, fn_yaml("alpha", "v1"), NULL, 2100, NULL) == 0);
	out = core_finish(&c, a, g, hash, 0, ERROR_KIND_UNSPECIFIED, NULL, 2200, 0, NULL);
	CHECK_INT((int)out, CORE_OUTCOME_SUPERSEDED);
	CHECK_INT((int)core_rollout_finish(&c, a, out, &prog, 1, 9000, 1000, 2200), CORE_OUTCOME_SUPERSEDED);
	CHECK_U64(a->due, 2200);
	core_release(&c);
}

TEST(core_rollout_changes)
{
	struct core_alias none = rollout_alias(ROLLOUT_NONE, 0, 0, 0, 0, NULL);
	struct core_alias p0 = rollout_alias(ROLLOUT_PROGRESSING, 1, 2, 0, 100, NULL);
	struct core_alias p1 = rollout_alias(ROLLOUT_PROGRESSING, 1, 2, 1, 100, NULL);
	struct core_alias p1b = rollout_alias(ROLLOUT_PROGRESSING, 1, 2, 1, 130, NULL); /* step re-issued */
	struct core_alias p2 = rollout_alias(ROLLOUT_PROGRESSING, 1, 2, 2, 200, NULL);
	struct core_alias c3 = rollout_alias(ROLLOUT_PROGRESSING, 1, 3, 1, 210, NULL); /* retarget */
	struct core_alias ok = rollout_alias(ROLLOUT_SUCCEEDED, 1, 2, 2, 300, NULL);
	struct core_alias promoted = rollout_alias(ROLLOUT_SUCCEEDED, 1, 2, 1, 300, NULL);
	struct core_alias created = rollout_alias(ROLLOUT_SUCCEEDED, 0, 2, 0, 300, NULL);
	struct core_alias rb = rollout_alias(ROLLOUT_ROLLED_BACK, 1, 2, 1, 300, "alarm errors is in ALARM");
	struct core_alias ab = rollout_alias(ROLLOUT_ROLLED_BACK, 1, 2, 1, 300, "aborted");
	struct core_alias ok0 = rollout_alias(ROLLOUT_SUCCEEDED, 1, 2, 0, 300, NULL);

	ok0.rollout_steps = 0; /* AllAtOnce */
	CHECK_INT(core_rollout_change(&none, &p0, 0), CORE_ROLLOUT_STARTED);
	CHECK_INT(core_rollout_change(&none, &p1, 0), CORE_ROLLOUT_STARTED);
	CHECK_INT(core_rollout_change(&ok, &c3, 0), CORE_ROLLOUT_STARTED); /* a newer rollout */
	CHECK_INT(core_rollout_change(&p1, &c3, 0), CORE_ROLLOUT_STARTED);
	CHECK_INT(core_rollout_change(&p0, &p1, 0), CORE_ROLLOUT_STEPPED);
	CHECK_INT(core_rollout_change(&p1, &p2, 0), CORE_ROLLOUT_STEPPED);
	CHECK_INT(core_rollout_change(&p1, &p1, 0), CORE_ROLLOUT_SAME); /* a guard check */
	CHECK_INT(core_rollout_change(&p1, &p1b, 0), CORE_ROLLOUT_SAME);
	CHECK_INT(core_rollout_change(&p2, &ok, 0), CORE_ROLLOUT_SUCCEEDED);
	CHECK_INT(core_rollout_change(&none, &ok0, 0), CORE_ROLLOUT_SUCCEEDED); /* AllAtOnce */
	CHECK_INT(core_rollout_change(&p1, &promoted, 0), CORE_ROLLOUT_PROMOTED);
	/* at the last step: promoted when it ended before the step's interval was up */
	p2.rollout_interval = ok.rollout_interval = 100;
	CHECK_INT(core_rollout_change(&p2, &ok, 0), CORE_ROLLOUT_SUCCEEDED); /* 200 + 100 <= 300 */
	ok.rollout->since = 250;
	CHECK_INT(core_rollout_change(&p2, &ok, 0), CORE_ROLLOUT_PROMOTED);
	CHECK_INT(core_rollout_change(NULL, &ok, 0), CORE_ROLLOUT_SUCCEEDED); /* nothing known before */
	ok.rollout->since = 300;
	CHECK_INT(core_rollout_change(&p1, &rb, 0), CORE_ROLLOUT_ROLLED_BACK);
	CHECK_INT(core_rollout_change(&p0, &rb, 0), CORE_ROLLOUT_ROLLED_BACK);
	CHECK_INT(core_rollout_change(&p1, &ab, 0), CORE_ROLLOUT_ABORTED);
	CHECK_INT(core_rollout_change(&none, &created, 0), CORE_ROLLOUT_SAME);
	/* an outcome is reported once */
	CHECK_INT(core_rollout_change(&ok, &ok, 0), CORE_ROLLOUT_SAME);
	CHECK_INT(core_rollout_change(&rb, &rb, 0), CORE_ROLLOUT_SAME);
	CHECK_INT(core_rollout_change(&p1, &none, 0), CORE_ROLLOUT_SAME);
	CHECK_INT(core_rollout_change(&p1, NULL, 0), CORE_ROLLOUT_SAME);
	/* nothing known before: only what this reconcile did (since >= its start) */
	CHECK_INT(core_rollout_change(NULL, &rb, 301), CORE_ROLLOUT_SAME);
	CHECK_INT(core_rollout_change(NULL, &rb, 300), CORE_ROLLOUT_ROLLED_BACK);
	CHECK_INT(core_rollout_change(NULL, &p1, 100), CORE_ROLLOUT_STARTED);
	CHECK_INT(core_rollout_change(NULL, &p2, 150), CORE_ROLLOUT_STEPPED);
	CHECK_INT(core_rollout_change(NULL, &p1, 150), CORE_ROLLOUT_SAME);
	CHECK_STR(core_rollout_change_name(CORE_ROLLOUT_ROLLED_BACK), "rolled_back");
	CHECK_STR(core_rollout_change_name(CORE_ROLLOUT_PROMOTED), "promoted");
	CHECK(core_rollout_change_name(CORE_ROLLOUT_SAME) == NULL);
	/* failures: not a revert */
	CHECK(core_rollout_failed(rb.rollout));
	CHECK(core_rollout_failed(ab.rollout));
	CHECK(!core_rollout_failed(ok.rollout));
	rb = rollout_alias(ROLLOUT_ROLLED_BACK, 1, 2, 1, 300, "reverted: version 1 is desired again");
	CHECK(!core_rollout_failed(rb.rollout));
}

/* An alias holds a rollout record only when it has one (a record is ~350 bytes). */
TEST(core_alias_rollout_record)
{
	struct core_alias *a = core_aliases_new(2, (const char *[]){"Prod", "Test"});
	struct rollout_progress p;

	REQUIRE(a != NULL);
	CHECK_STR(a[0].name, "Prod");
	CHECK_STR(a[1].name, "Test");
	CHECK_INT(a[1].version, 0);
	CHECK_INT(core_alias_rollout(&a[0])->state, ROLLOUT_NONE);
	CHECK_STR(core_alias_rollout(&a[0])->reason, "");
	memset(&p, 0, sizeof(p));
	CHECK_INT(core_alias_set_rollout(&a[0], &p), 0); /* ROLLOUT_NONE: no record */
	CHECK(a[0].rollout == NULL);
	CHECK_INT(core_alias_set_rollout(&a[0], NULL), 0);
	CHECK(a[0].rollout == NULL);
	p.state = ROLLOUT_ROLLED_BACK;
	p.from = 3;
	p.to = 4;
	snprintf(p.reason, sizeof(p.reason), "alarm Errors");
	CHECK_INT(core_alias_set_rollout(&a[1], &p), 0);
	CHECK(a[1].rollout != NULL && a[1].rollout != &p);
	CHECK_INT(core_alias_rollout(&a[1])->to, 4);
	CHECK_STR(core_alias_rollout(&a[1])->reason, "alarm Errors");
	CHECK(core_rollout_failed(core_alias_rollout(&a[1])));
	p.state = ROLLOUT_PROGRESSING;
	CHECK_INT(core_alias_set_rollout(&a[1], &p), 0); /* replaces (the old one is freed) */
	CHECK_INT(core_alias_rollout(&a[1])->state, ROLLOUT_PROGRESSING);
	core_aliases_free(a, 2); /* names and records: the leak checker sees the rest */
	core_aliases_free(NULL, 0);
	a = core_aliases_new(0, NULL); /* none: still an array to hold */
	REQUIRE(a != NULL);
	core_aliases_free(a, 0);
}

TEST(core_rollout_in_hash_and_guard)
{
	struct core_gen *g = gen_new(REV1, fn_yaml("alpha", "v1"), NULL);
	struct manifest_function *fn;
	struct manifest_rollout ro;
	unsigned char h1[CORE_HASH_LEN], h2[CORE_HASH_LEN], h3[CORE_HASH_LEN];

	REQUIRE(g);
	fn = &g->set->functions[0];
	REQUIRE(fn->n_aliases == 1);
	CHECK_U64(core_guard_ms(fn), 0);
	daemon_function_hash(fn, h1);
	memset(&ro, 0, sizeof(ro));
	ro.spec.n_steps = 1;
	ro.spec.steps[0] = 50;
	ro.spec.interval_s = 30;
	fn->aliases[0].rollout = &ro;
	daemon_function_hash(fn, h2);
	CHECK(memcmp(h1, h2, sizeof(h1)) != 0);
	CHECK_U64(core_guard_ms(fn), 6000); /* interval / 5 */
	ro.spec.interval_s = 3;
	daemon_function_hash(fn, h3);
	CHECK(memcmp(h2, h3, sizeof(h2)) != 0);
	CHECK_U64(core_guard_ms(fn), 1000); /* never under 1 s */
	ro.spec.interval_s = 3600;
	CHECK_U64(core_guard_ms(fn), 10000); /* never over 10 s */
	fn->aliases[0].rollout = NULL;
	gen_drop(g);
}

TEST_MAIN(core_new_commit, core_resync_paced_by_current_rate, core_resync_paced_per_pair,
          core_broken_commit_keeps_last_good, core_broken_without_last_good_fails,
          core_newer_commit_supersedes_failing, core_backoff_grows_and_caps, core_resync_due,
          core_resync_period_fits_or_spreads, core_resync_spread_schedules_longer,
          core_resync_reload_spreads_evenly, core_from_cache_only_for_new_desired_state, core_terminal_stalls,
          core_retryable_kinds, core_canceled_changes_nothing, core_removed_function,
          core_find_by_key_at_scale, core_restore_last_good, core_git_schedule_and_pokes,
          core_states_and_counts, core_rollout_check_time, core_rollout_check_jumps_queue,
          core_rollout_check_takes_guard_lane, core_rollout_check_before_resync,
          core_rollout_failure_retried_within_guard, core_rollout_rolled_back_stalls,
          core_rollout_new_commit_supersedes_check, core_rollout_changes, core_alias_rollout_record,
          core_rollout_in_hash_and_guard)
