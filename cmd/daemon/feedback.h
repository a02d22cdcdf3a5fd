/*
 * feedback.h - results flow back (DESIGN.md §7): GitHub commit statuses and
 * webhook events, sent by one thread of its own.
 *
 * The loop thread reports what happens to a commit and to each function
 * (feedback_commit_*, feedback_job_finished); this module decides what that
 * means (cmd/notify_status composes the texts) and queues the requests.
 * Nothing here blocks the caller on the network:
 *  - one bounded FIFO per sink (notify.github, each notify.webhooks entry),
 *    FEEDBACK_QUEUE_MAX requests; when full the oldest is dropped (counted);
 *  - requests of one sink go out in order (a GitHub `pending` never lands
 *    after its `success`); a failed one (transport error, 408, 429, 5xx) is
 *    retried after 1 s, 2 s, 4 s, ... at most FEEDBACK_ATTEMPTS times, then
 *    logged and counted as failed;
 *  - aliasd_notifications_total{sink="github|webhook",result="ok|failed|dropped|retried"}.
 * The GitHub token and webhook URLs are secrets: never logged.
 *
 * Commit statuses: one per state change of a commit (pending when the
 * daemon takes it into use, failure on a manifest error or a failed
 * function, success when every function is in sync), not one per poll.
 * A function that fails and then recovers at the same commit turns failure
 * into success; after success, later failures (a resync) are events only.
 * Statuses are sent again for the commit loaded at start after a restart.
 * Events: applied (an alias moved; the commit fully applied), failed (first
 * failure of a function, an invalid manifest), drift (a resync of a function
 * already applied at that commit had to write: someone changed it outside
 * aliasd), untrusted (feedback_commit_untrusted), storage.warning (a
 * region's code storage crossed 80% or 90%: feedback_storage_warning,
 * through storage_tick()), and for rollouts
 * (DESIGN §6) rollout.started, rollout.succeeded (also promoted) and
 * rollout.rolledBack (an alarm, preTraffic, a revert, an abort), each once
 * as it happens (core_rollout_change); a rollout's steps are not `applied`.
 * While a rollout of the commit progresses its status stays pending with a
 * text naming the step ("rollout my-fn/Prod 50% (step 1/1)", sent again
 * only when that text changes, not per check); a rollout rolled back makes
 * it failure ("rolled back my-fn/Prod: alarm errors is in ALARM"); success
 * comes when every function is in sync, every rollout finished.
 *
 * All calls but the sender thread's own are made from the loop thread.
 */
#ifndef ALIASD_CMD_DAEMON_FEEDBACK_H
#define ALIASD_CMD_DAEMON_FEEDBACK_H

#include <stdbool.h>

#include "cmd/config.h"
#include "cmd/daemon/core.h"

#define FEEDBACK_QUEUE_MAX 64
#define FEEDBACK_ATTEMPTS  5

struct job;

/* Register the metric family and start the sender thread with `c`'s notify section. 0 or -errno. */
int feedback_start(const struct config *c);
/* A reloaded config: keeps the queues when the notify section is unchanged, else starts over. */
void feedback_configure(const struct config *c);
/* Send what is queued for at most ~2 s more, then join the thread.  Safe when not started. */
void feedback_stop(void);

/* The daemon took commit `g` into use (its manifests loaded); before core_collect(). */
void feedback_commit_loaded(const struct core_gen *g);
/* Every function converged at `rev` (lastAppliedRevision moved). */
void feedback_commit_applied(const char *rev);
/*
 * A region's code storage reached 80% or 90% of its limit (once per
 * crossing, as the log says it): a storage.warning event with the region.
 */
void feedback_storage_warning(const char *region, const char *message);
/* Commit `rev` is not applied: its signature did not verify (`reason`). */
void feedback_commit_untrusted(const char *rev, const char *reason);
/*
 * A reconcile finished: call before core_finish(), with j->actual taken
 * (the aliases as they are now) and st->actual still the ones before.
 * `message` is the failure text ("" on success).  Records in st the
 * desired state it converged to (st->converged: drift detection).
 */
void feedback_job_finished(struct core_fn *st, const struct job *j, bool canceled, const char *message);

#endif
