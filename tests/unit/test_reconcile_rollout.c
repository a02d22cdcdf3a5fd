/*
 * test_reconcile_rollout.c - every transition of DESIGN §6 on the pure
 * rollout machine, with a small simulated world (an alias, a durable record,
 * alarms, a preTraffic function and a clock) that applies the decisions, and
 * "kills" the driver between storing the record and acting on it.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "aws/cloudwatch.h"
#include "reconcile/rollout.h"
#include "tests/unit/harness.h"
#include "util/buf.h"

struct world {
	struct rollout_spec spec;
	struct rollout_alias alias;
	struct rollout_progress rec; /* the durable store */
	unsigned desired;
	const char *id;
	enum rollout_alarms alarms;
	const char *alarm;
	int64_t alarms_since;
	enum rollout_pre_traffic pre_outcome; /* what the preTraffic function does when invoked */
	enum rollout_pre_traffic pre;         /* its outcome for pre_to (what the caller passes) */
	unsigned pre_to;
	int64_t now;
	unsigned updates, creates, invokes, record_writes;
	double max_weight_seen; /* of the new version, before it was primary */
	int64_t start;
};

static void world_init(struct world *w, const unsigned *steps, size_t n, unsigned interval)
{
	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < n; i++)
		w->spec.steps[i] = steps[i];
	w->spec.n_steps = n;
	w->spec.interval_s = interval;
	w->alias = (struct rollout_alias){.exists = true, .primary = 1};
	w->desired = 2;
	w->id = "c1";
	w->now = 1000000;
	w->start = w->now;
}

static struct rollout_decision decide_cmd(struct world *w, enum rollout_command cmd)
{
	struct rollout_input in = {
	    .spec = &w->spec,
	    .desired = w->desired,
	    .desired_id = w->id,
	    .alias = w->alias,
	    .record = &w->rec,
	    .alarms = w->alarms,
	    .alarm = w->alarm,
	    .alarms_since = w->alarms_since,
	    .pre_traffic =
	        w->pre_to == w->rec.to && w->rec.state == ROLLOUT_PROGRESSING ? w->pre : ROLLOUT_PRE_NOT_RUN,
	    .pre_traffic_reason = "exit 1",
	    .command = cmd,
	    .now = w->now,
	};
	struct rollout_decision d;
	struct error err = ERROR_INIT;
	int r = rollout_next(&in, &d, &err);

	if (r < 0) {
		HARNESS_FAIL("rollout_next: %d %s", r, err.msg);
		memset(&d, 0, sizeof(d));
	}
	return d;
}

static struct rollout_decision decide(struct world *w)
{
	return decide_cmd(w, ROLLOUT_CMD_NONE);
}

static void store(struct world *w, const struct rollout_decision *d)
{
	if (d->record_changed) {
		w->rec = d->record;
		w->record_writes++;
	}
}

static void act(struct world *w, const struct rollout_decision *d)
{
	const struct rollout_action *a = &d->action;

	switch (a->kind) {
	case ROLLOUT_ACT_NONE:
		break;
	case ROLLOUT_ACT_CREATE:
		w->alias = (struct rollout_alias){.exists = true, .primary = a->to};
		w->creates++;
		break;
	case ROLLOUT_ACT_PRE_TRAFFIC:
		w->pre = w->pre_outcome;
		w->pre_to = a->to;
		w->invokes++;
		break;
	case ROLLOUT_ACT_SHIFT:
		w->alias = (struct rollout_alias){
		    .exists = true, .primary = a->from, .extra = a->to, .weight = a->weight};
		if (a->weight > w->max_weight_seen)
			w->max_weight_seen = a->weight;
		w->updates++;
		break;
	case ROLLOUT_ACT_FINISH:
		w->alias = (struct rollout_alias){.exists = true, .primary = a->to};
		w->updates++;
		break;
	case ROLLOUT_ACT_ROLLBACK:
		w->alias = (struct rollout_alias){.exists = true, .primary = a->from};
		w->updates++;
		break;
	}
}

/* One full turn: decide, store, act. */
static struct rollout_decision turn(struct world *w)
{
	struct rollout_decision d = decide(w);

	store(w, &d);
	act(w, &d);
	return d;
}

/*
 * Drive until nothing is pending: act at once after an action, otherwise
 * jump the clock to next_check.  Bounded.  Returns the number of turns.
 */
static unsigned run(struct world *w, unsigned max_turns)
{
	unsigned n = 0;

	while (n < max_turns) {
		struct rollout_decision d = turn(w);

		n++;
		if (d.action.kind != ROLLOUT_ACT_NONE)
			continue;
		if (!d.next_check)
			break;
		if (d.next_check > w->now)
			w->now = d.next_check;
		else
			w->now++;
	}
	return n;
}

static const unsigned canary[] = {10, 50};

TEST(rollout_spec_bounds_and_text)
{
	struct rollout_spec s = {.steps = {10, 50}, .n_steps = 2, .interval_s = 300};
	struct error err = ERROR_INIT;
	struct buf b = BUF_INIT;

	CHECK_INT(rollout_spec_check(&s, &err), 0);
	CHECK_INT(rollout_spec_describe(&s, &b), 0);
	CHECK_STR(b.ptr, "[10%, 50%] every 5m");
	buf_reset(&b);
	s.interval_s = 3;
	rollout_spec_describe(&s, &b);
	CHECK_STR(b.ptr, "[10%, 50%] every 3s");
	buf_reset(&b);
	s.n_steps = 0;
	rollout_spec_describe(&s, &b);
	CHECK_STR(b.ptr, "all at once");
	buf_release(&b);

	s = (struct rollout_spec){.steps = {50, 50}, .n_steps = 2, .interval_s = 60};
	CHECK_INT(rollout_spec_check(&s, &err), -EINVAL);
	s = (struct rollout_spec){.steps = {0}, .n_steps = 1, .interval_s = 60};
	CHECK_INT(rollout_spec_check(&s, &err), -EINVAL);
	s = (struct rollout_spec){.steps = {100}, .n_steps = 1, .interval_s = 60};
	CHECK_INT(rollout_spec_check(&s, &err), -EINVAL);
	s = (struct rollout_spec){.steps = {10}, .n_steps = 1, .interval_s = 0};
	CHECK_INT(rollout_spec_check(&s, &err), -EINVAL);
	s = (struct rollout_spec){.steps = {10}, .n_steps = 1, .interval_s = 86401};
	CHECK_INT(rollout_spec_check(&s, &err), -EINVAL);
	s = (struct rollout_spec){.steps = {10}, .n_steps = 1, .interval_s = 60, .n_alarms = 11};
	CHECK_INT(rollout_spec_check(&s, &err), -EINVAL);
	s = (struct rollout_spec){.n_steps = 11, .interval_s = 60};
	CHECK_INT(rollout_spec_check(&s, &err), -EINVAL);
	CHECK_INT(rollout_spec_check(NULL, &err), -EINVAL);
}

TEST(rollout_guard_period_bounds)
{
	static const unsigned cases[][2] = {{1, 1},  {3, 1},   {9, 1},    {10, 2},
	                                    {49, 9}, {50, 10}, {300, 10}, {86400, 10}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct rollout_spec s = {.interval_s = cases[i][0]};

		CHECKF(rollout_guard_period(&s) == cases[i][1], "interval %u: %u", cases[i][0],
		       rollout_guard_period(&s));
	}
}

TEST(rollout_new_alias_created_at_once)
{
	struct world w;
	struct rollout_decision d;

	world_init(&w, canary, 2, 300);
	w.alias.exists = false;
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_CREATE);
	CHECK_INT(d.action.to, 2);
	CHECK_INT(w.rec.state, ROLLOUT_SUCCEEDED);
	CHECK_INT(run(&w, 10), 1);
	CHECK_INT(w.creates, 1);
	CHECK_INT(w.updates, 0);
}

TEST(rollout_in_sync_does_nothing)
{
	struct world w;
	struct rollout_decision d;

	world_init(&w, canary, 2, 300);
	w.alias.primary = 2;
	d = decide(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_NONE);
	CHECK(!d.record_changed);
	CHECK(d.next_check == 0);
}

TEST(rollout_start_advance_finish)
{
	struct world w;
	struct rollout_decision d;
	int64_t t0;

	world_init(&w, canary, 2, 300);
	t0 = w.now;
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_SHIFT);
	CHECK_INT(d.action.from, 1);
	CHECK_INT(d.action.to, 2);
	CHECK_INT(d.action.percent, 10);
	CHECK(rollout_weight_is(d.action.weight, 10));
	CHECK(d.record_changed);
	CHECK_INT(w.rec.state, ROLLOUT_PROGRESSING);
	CHECK_INT(w.rec.step, 1);
	CHECK_INT(w.rec.since, t0);
	CHECK_STR(w.rec.desired_id, "c1");
	CHECK_INT(d.next_check, t0 + 300); /* no alarms: the step's end */

	/* one second short of the interval: nothing, and no record write */
	w.now = t0 + 299;
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_NONE);
	CHECK(!d.record_changed);
	CHECK_INT(d.next_check, t0 + 300);

	w.now = t0 + 300;
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_SHIFT);
	CHECK_INT(d.action.percent, 50);
	CHECK_INT(w.rec.step, 2);
	CHECK_INT(w.rec.since, t0 + 300);

	w.now = t0 + 600;
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_FINISH);
	CHECK_INT(d.action.to, 2);
	CHECK_INT(w.rec.state, ROLLOUT_SUCCEEDED);
	CHECK(d.next_check == 0);
	CHECK(w.alias.primary == 2 && w.alias.extra == 0);

	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_NONE);
	CHECK(!d.record_changed);
	CHECK_INT(w.updates, 3);
}

TEST(rollout_alarm_checks_on_the_guard_period)
{
	struct world w;
	struct rollout_decision d;

	world_init(&w, canary, 2, 300);
	w.spec.n_alarms = 1;
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_SHIFT);
	CHECK_INT(d.next_check, w.now + 10); /* min(300/5, 10) */
	w.spec.interval_s = 3;
	w.now += 1;
	d = decide(&w);
	CHECK_INT(d.next_check, w.now + 1); /* never under 1 s */
}

TEST(rollout_alarm_rolls_back_and_stays)
{
	struct world w;
	struct rollout_decision d;
	unsigned writes;

	world_init(&w, canary, 2, 300);
	w.spec.n_alarms = 2;
	turn(&w); /* step 1 */
	w.now += 20;
	w.alarms = ROLLOUT_ALARMS_ALARM;
	w.alarm = "my-fn-errors";
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_ROLLBACK);
	CHECK_INT(d.action.from, 1);
	CHECK_INT(w.rec.state, ROLLOUT_ROLLED_BACK);
	CHECK(strstr(w.rec.reason, "my-fn-errors") != NULL);
	CHECK(w.alias.primary == 1 && w.alias.extra == 0);
	CHECK(d.next_check == 0);

	/* the alarm clears, time passes, Git says the same: nothing, not even a write */
	w.alarms = ROLLOUT_ALARMS_OK;
	writes = w.record_writes;
	for (int i = 0; i < 5; i++) {
		w.now += 1000;
		d = turn(&w);
		CHECK_INT(d.action.kind, ROLLOUT_ACT_NONE);
		CHECK(!d.record_changed);
	}
	CHECK_INT(w.record_writes, writes);
	CHECK_INT(w.updates, 2);

	/* a commit that changes this function's declared state: start again */
	w.id = "c2";
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_SHIFT);
	CHECK_INT(w.rec.state, ROLLOUT_PROGRESSING);
	CHECK_STR(w.rec.desired_id, "c2");
}

TEST(rollout_retry_command_restarts)
{
	struct world w;
	struct rollout_decision d;

	world_init(&w, canary, 2, 300);
	w.spec.n_alarms = 1;
	turn(&w);
	w.alarms = ROLLOUT_ALARMS_ALARM;
	w.alarm = "a";
	turn(&w);
	CHECK_INT(w.rec.state, ROLLOUT_ROLLED_BACK);
	w.alarms = ROLLOUT_ALARMS_OK;
	d = decide_cmd(&w, ROLLOUT_CMD_RETRY);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_SHIFT);
	CHECK_INT(d.action.percent, 10);
	CHECK_INT(d.record.state, ROLLOUT_PROGRESSING);
	CHECK_INT(d.record.step, 1);
}

TEST(rollout_alarm_before_traffic)
{
	struct world w;
	struct rollout_decision d;

	/* an alarm already in ALARM: nothing moves */
	world_init(&w, canary, 2, 300);
	w.spec.n_alarms = 1;
	w.alarms = ROLLOUT_ALARMS_ALARM;
	w.alarm = "errors";
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_NONE);
	CHECK_INT(w.rec.state, ROLLOUT_ROLLED_BACK);
	CHECK_INT(w.updates, 0);
}

TEST(rollout_missing_alarm_stops_before_traffic)
{
	struct world w;
	struct rollout_decision d;

	world_init(&w, canary, 2, 300);
	w.spec.n_alarms = 1;
	w.alarms = ROLLOUT_ALARMS_MISSING;
	w.alarm = "my-fn-erors";
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_NONE);
	CHECK_INT(w.rec.state, ROLLOUT_ROLLED_BACK);
	CHECK(strstr(w.rec.reason, "my-fn-erors") && strstr(w.rec.reason, "does not exist"));
	run(&w, 20);
	CHECK_INT(w.updates, 0);
	CHECK(w.max_weight_seen == 0.0);

	/* an alarm deleted mid-rollout: the guard is gone, back to A */
	world_init(&w, canary, 2, 300);
	w.spec.n_alarms = 1;
	turn(&w);
	w.alarms = ROLLOUT_ALARMS_MISSING;
	w.alarm = "gone";
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_ROLLBACK);
	CHECK_INT(w.rec.state, ROLLOUT_ROLLED_BACK);
}

TEST(rollout_unreadable_alarms_hold)
{
	struct world w;
	struct rollout_decision d;
	int64_t t0;

	world_init(&w, canary, 2, 60);
	w.spec.n_alarms = 1;
	t0 = w.now;
	turn(&w); /* step 1 at 10% */
	w.alarms = ROLLOUT_ALARMS_UNREADABLE;
	w.alarms_since = t0 + 5;
	/* far past the interval, for many steps' worth: held, never advanced, never rolled back */
	for (int i = 1; i <= 50; i++) {
		w.now = t0 + 30 * i;
		d = turn(&w);
		CHECKF(d.action.kind == ROLLOUT_ACT_NONE, "turn %d: %s", i,
		       rollout_action_name(d.action.kind));
		CHECK_INT(d.next_check, w.now + 10);
	}
	CHECK_INT(w.rec.state, ROLLOUT_PROGRESSING);
	CHECK_INT(w.rec.step, 1);
	CHECK(strstr(w.rec.reason, "unreadable") != NULL);
	CHECK(rollout_weight_is(w.alias.weight, 10));
	CHECK_INT(w.updates, 1);
	/* readable again: the step is long done, so it advances */
	w.alarms = ROLLOUT_ALARMS_OK;
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_SHIFT);
	CHECK_INT(d.action.percent, 50);
	CHECK_STR(w.rec.reason, "");

	/* unreadable before any traffic: nothing moves */
	world_init(&w, canary, 2, 60);
	w.spec.n_alarms = 1;
	w.alarms = ROLLOUT_ALARMS_UNREADABLE;
	for (int i = 0; i < 10; i++) {
		d = turn(&w);
		CHECK_INT(d.action.kind, ROLLOUT_ACT_NONE);
		w.now += 100;
	}
	CHECK_INT(w.updates, 0);
	CHECK_INT(w.rec.step, 0);
}

TEST(rollout_pre_traffic)
{
	struct world w;
	struct rollout_decision d;

	/* success: invoked once, then step 1 */
	world_init(&w, canary, 2, 300);
	w.spec.pre_traffic = true;
	w.pre_outcome = ROLLOUT_PRE_SUCCEEDED;
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_PRE_TRAFFIC);
	CHECK_INT(d.action.from, 1);
	CHECK_INT(d.action.to, 2);
	CHECK_INT(w.rec.state, ROLLOUT_PROGRESSING);
	CHECK_INT(w.rec.step, 0);
	CHECK_INT(w.updates, 0);
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_SHIFT);
	run(&w, 50);
	CHECK_INT(w.invokes, 1);
	CHECK_INT(w.rec.state, ROLLOUT_SUCCEEDED);

	/* failure: rolled back, no traffic ever moved */
	world_init(&w, canary, 2, 300);
	w.spec.pre_traffic = true;
	w.pre_outcome = ROLLOUT_PRE_FAILED;
	run(&w, 50);
	CHECK_INT(w.invokes, 1);
	CHECK_INT(w.updates, 0);
	CHECK(w.max_weight_seen == 0.0);
	CHECK_INT(w.rec.state, ROLLOUT_ROLLED_BACK);
	CHECK(strstr(w.rec.reason, "preTraffic") != NULL);
	CHECK(w.alias.primary == 1 && w.alias.extra == 0);
}

TEST(rollout_revert_during_step)
{
	struct world w;
	struct rollout_decision d;
	unsigned before;

	world_init(&w, canary, 2, 300);
	turn(&w); /* {1, 2: 0.1} */
	before = w.updates;
	w.desired = 1; /* git revert */
	w.id = "c2";
	w.now += 5;
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_ROLLBACK);
	CHECK_INT(d.action.from, 1);
	CHECK_INT(w.rec.state, ROLLOUT_ROLLED_BACK);
	CHECK(w.alias.primary == 1 && w.alias.extra == 0);
	run(&w, 20);
	CHECK_INT(w.updates - before, 1); /* exactly one call */
}

TEST(rollout_revert_before_traffic_moved)
{
	struct world w;
	struct rollout_decision d;

	/* preTraffic asked for, then Git goes back: nothing to undo, no call at all */
	world_init(&w, canary, 2, 300);
	w.spec.pre_traffic = true;
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_PRE_TRAFFIC);
	w.pre = ROLLOUT_PRE_NOT_RUN; /* its answer never came */
	w.desired = 1;
	w.id = "c2";
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_NONE);
	CHECK_INT(w.rec.state, ROLLOUT_ROLLED_BACK);
	CHECK(strstr(w.rec.reason, "reverted") != NULL);
	run(&w, 10);
	CHECK_INT(w.updates, 0);
}

TEST(rollout_retarget_restarts_from_a)
{
	struct world w;
	struct rollout_decision d;

	world_init(&w, canary, 2, 300);
	turn(&w); /* {1, 2: 0.1} */
	w.now += 310;
	turn(&w); /* {1, 2: 0.5} */
	w.desired = 3;
	w.id = "c3";
	d = turn(&w);
	/* B's traffic goes back to A first */
	CHECK_INT(d.action.kind, ROLLOUT_ACT_ROLLBACK);
	CHECK_INT(d.action.from, 1);
	CHECK_INT(w.rec.state, ROLLOUT_PROGRESSING);
	CHECK_INT(w.rec.from, 1);
	CHECK_INT(w.rec.to, 3);
	CHECK_INT(w.rec.step, 0);
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_SHIFT);
	CHECK_INT(d.action.from, 1);
	CHECK_INT(d.action.to, 3);
	CHECK_INT(d.action.percent, 10);
	run(&w, 50);
	CHECK(w.alias.primary == 3 && w.alias.extra == 0);
	CHECK_INT(w.rec.state, ROLLOUT_SUCCEEDED);
}

TEST(rollout_all_at_once_is_one_update)
{
	struct world w;
	struct rollout_spec s = {0};
	struct rollout_decision d;

	REQUIRE(rollout_spec_codedeploy("AllAtOnce", &s) == 0);
	world_init(&w, NULL, 0, s.interval_s);
	w.spec.n_alarms = 1;
	d = turn(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_FINISH);
	CHECK_INT(d.action.to, 2);
	run(&w, 20);
	CHECK_INT(w.updates, 1);
	CHECK(w.max_weight_seen == 0.0);
	CHECK_INT(w.rec.state, ROLLOUT_SUCCEEDED);
}

TEST(rollout_promote_and_abort)
{
	struct world w;
	struct rollout_decision d;

	world_init(&w, canary, 2, 300);
	turn(&w);
	d = decide_cmd(&w, ROLLOUT_CMD_PROMOTE);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_FINISH);
	CHECK_INT(d.record.state, ROLLOUT_SUCCEEDED);
	d = decide_cmd(&w, ROLLOUT_CMD_ABORT);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_ROLLBACK);
	CHECK_INT(d.record.state, ROLLOUT_ROLLED_BACK);
	CHECK_STR(d.record.reason, "aborted");
	store(&w, &d);
	act(&w, &d);
	/* promote after a rollback: the operator overrides it */
	d = decide_cmd(&w, ROLLOUT_CMD_PROMOTE);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_FINISH);
	CHECK_INT(d.record.state, ROLLOUT_SUCCEEDED);
}

/*
 * kill -9 at each point: after the K-th decision's record is stored, its
 * action is lost (the process died); a restart decides again from the
 * stored record and the observed alias.  Whatever K, the rollout ends the
 * same, the record never goes backwards, never names another rollout, and
 * the alias never reaches 100% before every step has had its full interval.
 */
TEST(rollout_kill_at_each_point)
{
	static const unsigned steps[] = {10, 50, 90};

	for (unsigned kill = 0; kill < 12; kill++) {
		struct world w;
		unsigned turns = 0, last_step = 0;
		int64_t reached_full = 0;

		world_init(&w, steps, 3, 60);
		w.spec.n_alarms = 1;
		w.spec.pre_traffic = true;
		w.pre_outcome = ROLLOUT_PRE_SUCCEEDED;
		while (turns < 500) {
			struct rollout_decision d = decide(&w);

			store(&w, &d);
			if (w.rec.state == ROLLOUT_PROGRESSING) {
				CHECKF(w.rec.from == 1 && w.rec.to == 2, "kill %u: record names %u->%u", kill,
				       w.rec.from, w.rec.to);
				CHECKF(w.rec.step >= last_step, "kill %u: step went back %u -> %u", kill,
				       last_step, w.rec.step);
				last_step = w.rec.step;
			}
			if (turns++ == kill) {
				/* killed: the action is lost, and the preTraffic outcome with it */
				w.pre = ROLLOUT_PRE_NOT_RUN;
				w.now += 7;
				continue;
			}
			act(&w, &d);
			if (!reached_full && w.alias.primary == 2)
				reached_full = w.now;
			if (d.action.kind != ROLLOUT_ACT_NONE)
				continue;
			if (!d.next_check)
				break;
			w.now = d.next_check > w.now ? d.next_check : w.now + 1;
		}
		CHECKF(w.rec.state == ROLLOUT_SUCCEEDED, "kill %u: %s", kill,
		       rollout_state_name(w.rec.state));
		CHECKF(w.alias.primary == 2 && w.alias.extra == 0, "kill %u", kill);
		CHECKF(reached_full - w.start >= 3 * 60, "kill %u: 100%% after %lld s", kill,
		       (long long)(reached_full - w.start));
		CHECKF(w.updates <= 5, "kill %u: %u updates", kill,
		       w.updates); /* 3 shifts + finish + a redo */
	}
}

TEST(rollout_restart_continues_from_record)
{
	/* a fresh process with only the stored record continues at its step */
	struct world w;
	struct rollout_decision d;

	world_init(&w, canary, 2, 300);
	turn(&w);
	w.now += 310;
	turn(&w); /* step 2 at 50% since t0+310 */
	w.now += 100;
	d = decide(&w); /* "restart": same inputs, no memory */
	CHECK_INT(d.action.kind, ROLLOUT_ACT_NONE);
	CHECK_INT(d.record.step, 2);
	CHECK_INT(d.next_check, w.rec.since + 300);

	/* killed after storing step 2 but before its UpdateAlias: the same step again */
	world_init(&w, canary, 2, 300);
	turn(&w);
	w.now += 310;
	d = decide(&w);
	store(&w, &d); /* not acted on */
	w.now += 1000;
	d = decide(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_SHIFT);
	CHECK_INT(d.action.percent, 50);
	CHECK_INT(d.record.step, 2);
	CHECK_INT(d.record.since, w.now); /* its clock starts when its traffic does */

	/* killed after storing Succeeded but before the final UpdateAlias: finish, not restart */
	world_init(&w, canary, 1, 300);
	turn(&w);
	w.now += 300;
	d = decide(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_FINISH);
	store(&w, &d);
	d = decide(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_FINISH);

	/* killed after storing RolledBack but before UpdateAlias(A): roll back again */
	world_init(&w, canary, 2, 300);
	w.spec.n_alarms = 1;
	turn(&w);
	w.alarms = ROLLOUT_ALARMS_ALARM;
	w.alarm = "x";
	d = decide(&w);
	store(&w, &d);
	w.alarms = ROLLOUT_ALARMS_OK;
	d = decide(&w);
	CHECK_INT(d.action.kind, ROLLOUT_ACT_ROLLBACK);
	CHECK(!d.record_changed);
}

TEST(rollout_bad_input)
{
	struct rollout_spec s = {.steps = {10}, .n_steps = 1, .interval_s = 60};
	struct rollout_input in = {.spec = &s, .desired = 0, .alias = {.exists = true, .primary = 1}};
	struct rollout_decision d;
	struct error err = ERROR_INIT;

	CHECK_INT(rollout_next(&in, &d, &err), -EINVAL);
	in.desired = 2;
	in.desired_id = "bad id";
	CHECK_INT(rollout_next(&in, &d, &err), -EINVAL);
	in.desired_id = NULL;
	in.alias.primary = 0;
	CHECK_INT(rollout_next(&in, &d, &err), -EINVAL);
	in.alias.primary = 1;
	s.interval_s = 0;
	CHECK_INT(rollout_next(&in, &d, &err), -EINVAL);
	CHECK_INT(rollout_next(NULL, &d, &err), -EINVAL);
}

TEST(rollout_record_round_trip)
{
	struct rollout_progress p = {.state = ROLLOUT_ROLLED_BACK,
	                             .from = 3,
	                             .to = 4,
	                             .step = 2,
	                             .since = 1764470000,
	                             .desired_id = "ab12:cd-3.x_y"};
	struct rollout_progress q;
	struct error err = ERROR_INIT;
	struct buf b = BUF_INIT;

	snprintf(p.reason, sizeof(p.reason), "alarm my fn/errors%% é is in ALARM");
	REQUIRE(rollout_progress_format(&p, &b) == 0);
	CHECK(strchr(b.ptr, '\n') == NULL);
	CHECK(b.len <= ROLLOUT_TEXT_MAX);
	CHECK_STR(b.ptr, "aliasd-rollout/1 state=RolledBack from=3 to=4 step=2 since=1764470000 "
	                 "id=ab12:cd-3.x_y reason=alarm%20my%20fn%2Ferrors%25%20%C3%A9%20is%20in%20ALARM");
	REQUIRE(rollout_progress_parse(b.ptr, b.len, &q, &err) == 0);
	CHECK(p.state == q.state && p.from == q.from && p.to == q.to && p.step == q.step &&
	      p.since == q.since);
	CHECK_STR(q.reason, p.reason);
	CHECK_STR(q.desired_id, p.desired_id);
	/* a trailing newline is fine */
	buf_putc(&b, '\n');
	CHECK_INT(rollout_progress_parse(b.ptr, b.len, &q, &err), 0);

	/* every state, an empty id and reason, the biggest numbers */
	for (int st = ROLLOUT_PROGRESSING; st <= ROLLOUT_ROLLED_BACK; st++) {
		struct rollout_progress r = {
		    .state = st, .from = 4294967295u, .to = 1, .step = ROLLOUT_MAX_STEPS, .since = INT64_MAX};

		buf_reset(&b);
		REQUIRE(rollout_progress_format(&r, &b) == 0);
		CHECKF(rollout_progress_parse(b.ptr, b.len, &q, &err) == 0, "%s: %s", b.ptr, err.msg);
		CHECK(q.state == r.state && q.from == r.from && q.since == r.since && q.step == r.step);
	}
	/* the longest reason fits the text form */
	memset(p.reason, '%', ROLLOUT_REASON_MAX - 1);
	p.reason[ROLLOUT_REASON_MAX - 1] = '\0';
	p.state = ROLLOUT_PROGRESSING;
	buf_reset(&b);
	REQUIRE(rollout_progress_format(&p, &b) == 0);
	CHECK(b.len <= ROLLOUT_TEXT_MAX);
	CHECK_INT(rollout_progress_parse(b.ptr, b.len, &q, &err), 0);
	CHECK_STR(q.reason, p.reason);
	buf_release(&b);
}

TEST(rollout_record_rejects_corrupt)
{
	static const char *const bad[] = {
	    "",
	    "aliasd-rollout/2 state=Progressing from=1 to=2 step=1 since=5 id= reason=",
	    "aliasd-rollout/1 state=Going from=1 to=2 step=1 since=5 id= reason=",
	    "aliasd-rollout/1 state=Progressing from=1 to=0 step=1 since=5 id= reason=",
	    "aliasd-rollout/1 state=Progressing from=1 to=2 step=11 since=5 id= reason=",
	    "aliasd-rollout/1 state=Progressing from=01 to=2 step=1 since=5 id= reason=",
	    "aliasd-rollout/1 state=Progressing from=-1 to=2 step=1 since=5 id= reason=",
	    "aliasd-rollout/1 state=Progressing from=1 to=2 step=1 since=-5 id= reason=",
	    "aliasd-rollout/1 state=Progressing from=4294967296 to=2 step=1 since=5 id= reason=",
	    "aliasd-rollout/1 state=Progressing from=1 to=2 step=1 since=9223372036854775808 id= reason=",
	    "aliasd-rollout/1 state=Progressing from=1 to=2 step=1 since=5 id=a/b reason=",
	    "aliasd-rollout/1 state=Progressing from=1 to=2 step=1 since=5 id= reason=a b",
	    "aliasd-rollout/1 state=Progressing from=1 to=2 step=1 since=5 id= reason=%4",
	    "aliasd-rollout/1 state=Progressing from=1 to=2 step=1 since=5 id= reason=%zz",
	    "aliasd-rollout/1 state=Progressing from=1 to=2 step=1 since=5 id= reason=%0A",
	    "aliasd-rollout/1 state=Progressing from=1 to=2 step=1 since=5 id=",
	    "aliasd-rollout/1 state=Progressing from=1 to=2 step=1 since=5 reason= id=",
	    "aliasd-rollout/1 state=Progressing from=1 to=2 step=1 since=5 id= reason= extra=1",
	    "aliasd-rollout/1 state=Progressing  from=1 to=2 step=1 since=5 id= reason=",
	    "aliasd-rollout/1 state=Progressing from=0 to=2 step=1 since=5 id= reason=",
	    "aliasd-rollout/1 state=Progressing from=1 to=2 step=1 since= id= reason=",
	    "aliasd-rollout/1",
	    "{\"state\":\"Progressing\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct rollout_progress q = {.from = 77};
		struct error err = ERROR_INIT;

		CHECKF(rollout_progress_parse(bad[i], strlen(bad[i]), &q, &err) == -EBADMSG, "accepted: %s",
		       bad[i]);
		CHECKF(q.from == 77, "case %zu wrote *ret", i);
	}
	/* an embedded NUL */
	{
		static const char t[] =
		    "aliasd-rollout/1 state=Progressing from=1 to=2 step=1 since=5 id= reason=a\0b";
		struct rollout_progress q;
		struct error err = ERROR_INIT;

		CHECK_INT(rollout_progress_parse(t, sizeof(t) - 1, &q, &err), -EBADMSG);
	}
	/* the text form refuses what the parser would */
	{
		struct rollout_progress p = {.state = ROLLOUT_PROGRESSING, .from = 1, .to = 0};
		struct buf b = BUF_INIT;

		CHECK_INT(rollout_progress_format(&p, &b), -EINVAL);
		p.to = 2;
		snprintf(p.desired_id, sizeof(p.desired_id), "has space");
		CHECK_INT(rollout_progress_format(&p, &b), -EINVAL);
		buf_release(&b);
	}
}

TEST(rollout_alarms_from_cloudwatch)
{
	struct cloudwatch_alarm items[3] = {
	    {.name = (char *)"ok", .state = CLOUDWATCH_OK},
	    {.name = (char *)"typo", .state = CLOUDWATCH_MISSING},
	    {.name = (char *)"errors", .state = CLOUDWATCH_ALARM},
	};
	struct cloudwatch_alarms a = {items, 3};
	const char *name = "x";

	/* ALARM wins over a missing one: roll back first */
	CHECK_INT(rollout_alarms_reading(&a, &name), ROLLOUT_ALARMS_ALARM);
	CHECK_STR(name, "errors");
	items[2].state = CLOUDWATCH_INSUFFICIENT_DATA; /* not ALARM */
	CHECK_INT(rollout_alarms_reading(&a, &name), ROLLOUT_ALARMS_MISSING);
	CHECK_STR(name, "typo");
	items[1].state = CLOUDWATCH_UNKNOWN;
	CHECK_INT(rollout_alarms_reading(&a, &name), ROLLOUT_ALARMS_UNREADABLE);
	CHECK_STR(name, "typo");
	items[1].state = CLOUDWATCH_OK;
	CHECK_INT(rollout_alarms_reading(&a, &name), ROLLOUT_ALARMS_OK);
	CHECK(name == NULL);
	a.n = 0;
	CHECK_INT(rollout_alarms_reading(&a, NULL), ROLLOUT_ALARMS_OK);
	CHECK_INT(rollout_alarms_reading(NULL, NULL), ROLLOUT_ALARMS_OK);
}

TEST(rollout_weight_of_record)
{
	struct rollout_spec s = {.steps = {10, 50}, .n_steps = 2, .interval_s = 60};
	struct rollout_progress p = {.state = ROLLOUT_PROGRESSING, .from = 1, .to = 2};

	CHECK(rollout_progress_weight(&s, &p) == 0.0);
	p.step = 1;
	CHECK(rollout_weight_is(rollout_progress_weight(&s, &p), 10));
	p.step = 2;
	CHECK(rollout_weight_is(rollout_progress_weight(&s, &p), 50));
	p.step = 5; /* the spec lost steps: the last one */
	CHECK(rollout_weight_is(rollout_progress_weight(&s, &p), 50));
	p.state = ROLLOUT_SUCCEEDED;
	CHECK(rollout_progress_weight(&s, &p) == 1.0);
	p.state = ROLLOUT_ROLLED_BACK;
	CHECK(rollout_progress_weight(&s, &p) == 0.0);
	CHECK(rollout_progress_weight(&s, NULL) == 0.0);
	CHECK(rollout_weight_is(0.1, 10) && !rollout_weight_is(0.11, 10) &&
	      rollout_weight_is(0.1 + 1e-9, 10));
}

TEST_MAIN(rollout_alarms_from_cloudwatch, rollout_weight_of_record, rollout_spec_bounds_and_text,
          rollout_guard_period_bounds, rollout_new_alias_created_at_once, rollout_in_sync_does_nothing,
          rollout_start_advance_finish, rollout_alarm_checks_on_the_guard_period,
          rollout_alarm_rolls_back_and_stays, rollout_retry_command_restarts, rollout_alarm_before_traffic,
          rollout_missing_alarm_stops_before_traffic, rollout_unreadable_alarms_hold, rollout_pre_traffic,
          rollout_revert_during_step, rollout_revert_before_traffic_moved, rollout_retarget_restarts_from_a,
          rollout_all_at_once_is_one_update, rollout_promote_and_abort, rollout_kill_at_each_point,
          rollout_restart_continues_from_record, rollout_bad_input, rollout_record_round_trip,
          rollout_record_rejects_corrupt)
