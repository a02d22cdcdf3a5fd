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
 * good state (reported as Failed with the error's file:line:col) and applies
 * every other function.  A newer commit that changes a function's desired
 * state supersedes a failing one at once (its backoff is reset).  Failures
 * back off exponentially per function (1 s doubling, capped at backoffMax);
 * Git failures back off from the poll interval, doubling, capped at
 * max(interval, backoffMax).  Nothing is ever retried in a hot loop.
 *
 * Revisions (/status): lastAttemptedRevision is the newest commit loaded;
 * lastAppliedRevision the newest commit applied completely (no manifest
 * error, every function synced to it).  Per function, lastAppliedRevision is
 * the commit its last successful reconcile used.  The last good state lives
 * in memory: after a restart on a broken commit, the functions it breaks are
 * reported Failed and left as they are in Lambda.
 *
 * Sync states: Synced (the desired state of the last good commit is live),
 * OutOfSync (a reconcile is queued), Progressing (being reconciled),
 * Failed (the last reconcile failed, or the newest commit's manifest for it
 * is invalid: last good state kept).
 *
 * systemd: READY=1 after the first successful load, STATUS= one-liners,
 * WATCHDOG=1 every WATCHDOG_USEC/2, RELOADING=1/READY=1 around SIGHUP,
 * STOPPING=1.  Signals are never handled asynchronously: they are blocked
 * in every thread and read by one thread with sigtimedwait().
 *   SIGTERM/SIGINT  finish the API calls in flight, exit 0
 *   SIGHUP          reload the config (invalid: refused, old one kept)
 *   SIGUSR1         poll Git and reconcile every function now
 */
#ifndef ALIASD_CMD_DAEMON_H
#define ALIASD_CMD_DAEMON_H

#include <stdint.h>

#include "manifest/model.h"

enum daemon_sync_state {
	DAEMON_SYNCED = 0,
	DAEMON_OUT_OF_SYNC,
	DAEMON_PROGRESSING,
	DAEMON_FAILED,
};

#define DAEMON_BACKOFF_BASE_MS 1000ULL

/*
 * Run the daemon with the configuration file `config_path` until SIGTERM or
 * SIGINT.  Returns the process exit status: 0 after a clean stop, 1 when it
 * could not start (config invalid, address in use, ...; logged).
 */
int daemon_run(const char *config_path);

/* "Synced", "OutOfSync", "Progressing", "Failed". */
const char *daemon_sync_state_name(enum daemon_sync_state s);

/* base * 2^(failures-1), capped at max (failures 0 -> 0). */
uint64_t daemon_backoff_ms(unsigned failures, uint64_t base_ms, uint64_t max_ms);

/* interval +- 10%, `r` a uniform random 32-bit value. */
uint64_t daemon_jitter_ms(uint64_t interval_ms, uint32_t r);

/*
 * SHA-256 of everything in `fn` that is desired state (name, region, config,
 * releases, aliases, prune; not its file or position): two commits that
 * leave a function's manifest unchanged give the same hash.
 */
void daemon_function_hash(const struct manifest_function *fn, unsigned char ret[32]);

#endif
