/*
 * rollout_run.h - the I/O side of a rollout (DESIGN §6): what apply does for
 * one PLAN_STEP_ROLLOUT.  The decisions are reconcile/rollout.h's (pure);
 * this file reads, invokes and writes, as reconcile/apply does for plan.h.
 *
 * The durable record lives in the alias's own Description on Lambda (the
 * `aliasd-rollout/1 ...` text of rollout_progress_format(), made to fit
 * Lambda's 256 characters): every rollout write is ONE UpdateAlias carrying
 * the FunctionVersion, the RoutingConfig, the Description = the new record
 * and the observed RevisionId, so a step and its record change together,
 * atomically; a racing writer (a second aliasd, `aliasd rollout abort`, a
 * human) makes it fail with 412 (CONFLICT): apply observes again and plans
 * again.  Reading the record costs no call (ListAliases returns it).
 *
 * One ROLLOUT step, for alias `a` of the function:
 *   1. the record: rollout_progress_parse(observed description) (anything
 *      else is no record);
 *   2. the alarms, one DescribeAlarms for the alias's alarms, only when the
 *      machine needs a reading (a rollout progressing or about to start, with
 *      alarms declared); a failed read is ROLLOUT_ALARMS_UNREADABLE since the
 *      time the record says (else now);
 *   3. rollout_next(now = wall clock);
 *   4. the action: SHIFT/FINISH/ROLLBACK as one UpdateAlias with the record;
 *      a changed record without an action as one UpdateAlias that keeps the
 *      routing (the step-0 record before preTraffic, a hold); PRE_TRAFFIC as
 *      lambda_invoke(preTraffic, {"alias": NAME, "from": "A", "to": "B"})
 *      (FunctionError or an error answer: failed);
 *   5. again at once while an action was performed or the record changed
 *      (at most ROLLOUT_RUN_MAX_ROUNDS rounds), with the alias as the write
 *      returned it.
 * Each write emits RECONCILE_EVENT_DONE with kind PLAN_STEP_ROLLOUT and a
 * text like "~ rollout Prod: 10% on v2 (2)" or "~ rollout Prod: rolled back
 * to v1 (1): alarm errors is in ALARM"; the result's alias gets its routing,
 * rollout, rollout_percent and rollout_steps, and res->next_check the
 * earliest next_check of the function's rollouts.
 */
#ifndef ALIASD_RECONCILE_ROLLOUT_RUN_H
#define ALIASD_RECONCILE_ROLLOUT_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "aws/client.h"
#include "manifest/model.h"
#include "reconcile/plan.h"
#include "reconcile/reconcile.h"
#include "util/buf.h"

#define ROLLOUT_RUN_MAX_ROUNDS 8
#define ROLLOUT_RECORD_MAX     256 /* Lambda's limit for an alias description */
#define ROLLOUT_PRE_TRAFFIC_MS 300000

struct rollout_run {
	struct reconcile_ctx *ctx;
	const struct reconcile_options *opt;
	const struct manifest_function *fn;
	struct aws_client *c; /* the function's Lambda client */
	const struct plan_desired *d;
	const struct plan *p;
	size_t alias;                   /* desired alias index (has_rollout) */
	struct plan_observed_alias *oa; /* observed; updated after each write */
	struct reconcile_result *res;
	unsigned writes; /* out: write calls that succeeded */
};

/*
 * Run one PLAN_STEP_ROLLOUT.  >= 0 on success, else a negative errno with
 * aerr filled (kinds as apply's: 412 CONFLICT re-plans).  A command that
 * does not fit the record (promote/abort with nothing in progress, retry
 * with nothing rolled back) is -EINVAL, TERMINAL.
 */
int reconcile_rollout_run(struct rollout_run *run, struct aws_error *aerr);

/*
 * After each observation: fill the result's rollout fields of every
 * declared rollout alias from the observed records (what /status shows for
 * an alias this pass does not write).
 */
void reconcile_rollout_observed(struct reconcile_result *res, const struct plan_desired *d,
                                const struct plan_observed *o);

/*
 * After each plan: set rollout_held on the result's alias of every
 * PLAN_STEP_ROLLOUT_HELD of `p` (the others stay as the observation left
 * them: false).
 */
void reconcile_rollout_held(struct reconcile_result *res, const struct plan_desired *d, const struct plan *p);

/* Set d->aliases[].command from opt->rollout_cmd when it names `function`. */
void reconcile_rollout_commands(struct plan_desired *d, const struct reconcile_options *opt,
                                const char *function);

/*
 * The record as the alias description carries it: rollout_progress_format
 * with the reason cut (on a UTF-8 character boundary) until the text fits
 * ROLLOUT_RECORD_MAX bytes.  Appended to out.
 */
int reconcile_rollout_record_text(const struct rollout_progress *p, struct buf *out);

#endif
