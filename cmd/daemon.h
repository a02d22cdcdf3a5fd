/*
 * daemon.h - `aliasd run`: the GitOps loop of DESIGN.md §3.
 *
 *   loop:
 *     if the poll is due (interval, jittered +-10%), a webhook/SIGUSR1 asked,
 *     or the config was reloaded: ask the remote where the ref points
 *     (cheap, no objects); when it moved: fetch, load every manifest from
 *     the commit's tree, validate
 *     for each function whose desired state changed, whose retry is due or
 *     whose resync is due: queue a reconcile (worker pool, `concurrency`)
 *     publish status (/status, /metrics, STATUS=), sleep until the next
 *     deadline or a wake-up (eventfd)
 *
 * Per function: the last GOOD desired state is kept.  A commit whose
 * manifest for a function is broken leaves that function on its previous
 * good state (shown with keptLastGood and the error's file:line:col, its
 * state saying how that last good state does in Lambda) and applies every
 * other function.  A newer commit that changes a function's desired state
 * supersedes a failing one at once (its backoff is reset).  Failures back
 * off exponentially per function (1 s doubling, capped at backoffMax),
 * except terminal ones (AccessDenied, a validation error, a pinned version
 * that does not exist): the function is Stalled with the reason and not
 * retried until its manifest or the config changes (or SIGUSR1).  Git
 * failures back off from the poll interval, doubling, capped at
 * max(interval, backoffMax).  A webhook push or SIGUSR1 polls at once; more
 * of them merge into at most one poll per 2 s, and none cuts a Git backoff
 * short (nor logs a warning of its own).  Nothing is ever
 * retried in a hot loop.
 *
 * Revisions (/status): lastAttemptedRevision is the newest commit loaded;
 * lastAppliedRevision the newest commit applied completely (no manifest
 * error, every function synced to it).  Per function, lastAppliedRevision is
 * the commit its last successful reconcile used.
 *
 * Durable state (cmd/daemon/state.h): <stateDir>/daemon-state.json names,
 * per function, the commit of its last good desired state.  Restarted on a
 * broken commit, the daemon reads those commits again from its cache clone:
 * the functions the commit breaks stay on their last good state
 * (keptLastGood, restored), not Failed.
 *
 * Sync states: Synced (the desired state is live), OutOfSync (a reconcile is
 * due), Progressing (being reconciled), Failed (the last reconcile failed,
 * retried with backoff; or the function's manifest is broken and it has no
 * last good state), Stalled (the last reconcile failed terminally).
 *
 * Watchdog: Git runs on its own thread (cmd/daemon/git.c).  WATCHDOG=1 is
 * sent while the loop shows signs of life and, during a Git poll, the
 * transfer does too (libgit2's progress reports): one that stalls for
 * WatchdogSec stops the pings, so systemd still catches a real hang.
 *
 * systemd: READY=1 after the first successful load, STATUS= one-liners,
 * WATCHDOG=1 every WATCHDOG_USEC/2, RELOADING=1/READY=1 around SIGHUP,
 * STOPPING=1.  Signals are never handled asynchronously: they are blocked
 * in every thread and read by one thread with sigtimedwait().
 *   SIGTERM/SIGINT  cancel a Git transfer, finish the API calls in flight, exit 0
 *   SIGHUP          reload the config (invalid: refused, old one kept)
 *   SIGUSR1         poll Git and reconcile every function now
 */
#ifndef ALIASD_CMD_DAEMON_H
#define ALIASD_CMD_DAEMON_H

#include "cmd/daemon/core.h"

/*
 * Run the daemon with the configuration file `config_path` until SIGTERM or
 * SIGINT.  Returns the process exit status: 0 after a clean stop, 1 when it
 * could not start (config invalid, address in use, ...; logged).
 */
int daemon_run(const char *config_path);

#endif
