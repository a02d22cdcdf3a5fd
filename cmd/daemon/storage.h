/*
 * storage.h - the daemon's code storage telemetry (DESIGN.md §9): Lambda's
 * GetAccountSettings for every region the manifests use, at start (once the
 * first manifests are loaded), whenever a load brings a region not read yet,
 * and then every reconcile.resync.
 *
 * Results:
 *  - /metrics: aliasd_code_storage_bytes{region} and
 *    aliasd_code_storage_limit_bytes{region} (the last good reading);
 *  - /status: "codeStorage": {REGION: {used, limit, percent, checked, error}};
 *  - the log: a warning when a region's usage reaches 80% and again at 90% of
 *    its limit, once per crossing (falling below and rising again warns
 *    again); a failed reading is logged and keeps the last good values;
 *  - the same crossings as storage.warning webhook events
 *    (feedback_storage_warning), sent from the loop thread by storage_tick().
 *
 * Threads: its own thread does the calls (never the loop); a mutex of its own
 * guards the readings, so status_cb_status() may call storage_status_json()
 * with d.lock held.  Internal to cmd/daemon/.
 */
#ifndef ALIASD_CMD_DAEMON_STORAGE_H
#define ALIASD_CMD_DAEMON_STORAGE_H

#include <stdint.h>

#define STORAGE_MAX_REGIONS 32

struct cJSON;

/* Loop thread, after status_metrics_setup() and the reconcile context: the metrics and the thread. */
int storage_thread_start(void);
/* Stop and join (idempotent; a call in flight ends when the reconcile context is stopped). */
void storage_thread_stop(void);
/* Loop thread, each pass: cheap; wakes the thread when a new commit was loaded. */
void storage_tick(void);
/* Add "codeStorage" to the /status document. */
void storage_status_json(struct cJSON *root);

/* Pure: the threshold (80 or 90, in percent) that used/limit has reached; 0 below 80% or no limit. */
int storage_threshold(int64_t used, int64_t limit);

#endif
