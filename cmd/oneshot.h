/*
 * oneshot.h - the code `aliasd plan` and `aliasd apply` share (cmd/oneshot.c).
 */
#ifndef ALIASD_CMD_ONESHOT_H
#define ALIASD_CMD_ONESHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "manifest/load.h"
#include "reconcile/reconcile.h"

/*
 * Parse the options, read the snapshot, reconcile every valid function
 * (dry-run unless `apply`), print the outcome: plan one line per failed
 * function on stderr; apply each step as it completes and the failed
 * functions, once each, in a list on stderr at the end.  Returns the exit
 * status: plan 0 in sync, 2 changes pending, 1 errors; apply 0 converged, 1
 * any failure (manifest errors included, a rollout that rolled back, a
 * signal while waiting); both EXIT_USAGE (64) on a usage error.
 * apply runs rollouts to the end: while a result has next_check it sleeps
 * until the earliest and reconciles those functions again, printing each
 * step (--no-wait: once, then it prints what is pending).
 */
int cmd_oneshot(const char *verb, int argc, char **argv, bool apply, const char *usage);

/*
 * `aliasd rollout promote|abort|retry FUNCTION ALIAS` (cmd/rollout.c): the
 * same options and snapshot as apply, then one reconcile of FUNCTION with
 * the command for ALIAS (reconcile.h, struct reconcile_rollout_cmd), no
 * waiting.  An unknown function, an alias it does not declare or one
 * without a rollout: 1 with a message, nothing called.
 */
struct oneshot_rollout {
	const char *function;
	const char *alias;
	enum rollout_command command;
};
int cmd_oneshot_rollout(const char *verb, int argc, char **argv, const char *usage,
                        const struct oneshot_rollout *cmd);

/*
 * --format markdown (oneshot_md.c): a comment-ready report for a pull
 * request: a heading with the commit, the summary line in bold, per function
 * that changes a ```diff block of the planner's lines (release names and
 * versions: "~ alias Prod: v1 (1) → v2 (2)"), the failed functions, the
 * manifest errors (file:line:col) and the functions in sync.  Backticks in
 * names become ' so nothing escapes its code span.
 */
void oneshot_print_markdown(FILE *out, const struct manifest_set *set, const struct reconcile_result *res,
                            size_t n, bool apply, size_t n_changed, size_t n_sync, size_t n_failed);

#endif
