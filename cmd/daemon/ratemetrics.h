/*
 * ratemetrics.h - the adaptive rate of every AWS client in /metrics (issue
 * #12): one series per (account, region) the daemon has talked to.
 *
 *   aliasd_aws_rate_limit{account,region}      gauge: the control-plane
 *       limiter's current rate (requests/s): the configured share
 *       (reconcile.rateLimit), halved on each throttling answer, recovering
 *       when quiet, never above the share.
 *   aliasd_aws_throttled_total{account,region} counter: throttling answers
 *       (429 TooManyRequestsException, Throttling) received.
 *
 * account is the 12-digit id of an aws.roles account, or "default" for the
 * daemon's own credentials; region is the client's region.  Internal to
 * cmd/daemon/.
 */
#ifndef ALIASD_CMD_DAEMON_RATEMETRICS_H
#define ALIASD_CMD_DAEMON_RATEMETRICS_H

#include "aws/client.h" /* aws_counter_fn */

struct metrics;
struct reconcile_ctx;

/* The two families (status_metrics_setup).  -ENOMEM. */
int ratemetrics_setup(struct metrics *m);
/*
 * Refresh both from every client of `ctx` (may be NULL); before rendering.
 * `requests` (may be NULL) is also called with the request counters of the
 * clients of aws.roles accounts (those of the default credentials are
 * counted by the caller, per region).
 */
void ratemetrics_update(struct reconcile_ctx *ctx, aws_counter_fn requests);

#endif
