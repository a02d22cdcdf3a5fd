/*
 * reconcile_rollout_held(): the typed "this rollout is rolled back and held"
 * fact the daemon reads (reconcile_alias_state.rollout_held), set from the
 * plan's PLAN_STEP_ROLLOUT_HELD steps by desired alias, never from text.
 */
#include <stdbool.h>
#include <string.h>

#include "reconcile/plan.h"
#include "reconcile/reconcile.h"
#include "reconcile/rollout_run.h"
#include "tests/unit/harness.h"

TEST(held_steps_mark_their_alias_only)
{
	struct plan_alias da[3] = {{.name = "Prod"}, {.name = "Beta"}, {.name = "Pro"}};
	struct plan_desired d = {.function = "fn", .aliases = da, .n_aliases = 3};
	struct plan_step steps[3] = {
	    {.kind = PLAN_STEP_ROLLOUT, .release = -1, .alias = 1, .obs_alias = 1},
	    {.kind = PLAN_STEP_ROLLOUT_HELD, .release = -1, .alias = 2, .obs_alias = 2},
	    {.kind = PLAN_STEP_UPDATE_ALIAS, .release = -1, .alias = 0, .obs_alias = 0},
	};
	struct plan p = {.steps = steps, .n_steps = 3};
	struct reconcile_alias_state ra[3] = {{.name = "Prod"}, {.name = "Beta"}, {.name = "Pro"}};
	struct reconcile_result res = {.observed = true, .aliases = ra, .n_aliases = 3};

	reconcile_rollout_held(&res, &d, &p);
	CHECK(!ra[0].rollout_held); /* "Pro" is held, not "Prod" */
	CHECK(!ra[1].rollout_held); /* progressing, not held */
	CHECK(ra[2].rollout_held);
}

TEST(held_alias_missing_from_result_or_bad_index_is_ignored)
{
	struct plan_alias da[1] = {{.name = "Prod"}};
	struct plan_desired d = {.function = "fn", .aliases = da, .n_aliases = 1};
	struct plan_step steps[2] = {
	    {.kind = PLAN_STEP_ROLLOUT_HELD, .release = -1, .alias = 0, .obs_alias = 0},
	    {.kind = PLAN_STEP_ROLLOUT_HELD, .release = -1, .alias = 7, .obs_alias = -1},
	};
	struct plan p = {.steps = steps, .n_steps = 2};
	struct reconcile_alias_state ra[1] = {{.name = "Other"}};
	struct reconcile_result res = {.observed = true, .aliases = ra, .n_aliases = 1};

	reconcile_rollout_held(&res, &d, &p);
	CHECK(!ra[0].rollout_held);
	res.aliases[0].name = "Prod";
	reconcile_rollout_held(&res, &d, &p);
	CHECK(ra[0].rollout_held);
}

TEST_MAIN(held_steps_mark_their_alias_only, held_alias_missing_from_result_or_bad_index_is_ignored)
