/*
 * ratemetrics.c - aliasd_aws_rate_limit and aliasd_aws_throttled_total per
 * (account, region), see ratemetrics.h.
 */
#include "cmd/daemon/ratemetrics.h"

#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "aws/client.h"
#include "cmd/metrics.h"
#include "reconcile/reconcile.h"

static struct metric_family *m_rate, *m_throttled;

int ratemetrics_setup(struct metrics *m)
{
	static const char *const labels[] = {"account", "region", NULL};

	m_rate =
	    metrics_family_add(m, "aliasd_aws_rate_limit",
	                       "Current adaptive Lambda control-plane request rate (requests/s) per account "
	                       "(\"default\": the daemon's own credentials) and region.",
	                       METRIC_GAUGE, labels, NULL, 0);
	m_throttled = metrics_family_add(m, "aliasd_aws_throttled_total",
	                                 "Throttling answers (429) from Lambda per account and region.",
	                                 METRIC_COUNTER, labels, NULL, 0);
	return m_rate && m_throttled ? 0 : -ENOMEM;
}

static bool is_throttle(const char *outcome)
{
	return !strcmp(outcome, "TooManyRequestsException") || !strcmp(outcome, "ThrottlingException") ||
	       !strcmp(outcome, "Throttling") || !strcmp(outcome, "HTTP_429");
}

static void count_throttles(const char *operation, const char *outcome, uint64_t count, void *arg)
{
	(void)operation;
	if (is_throttle(outcome))
		*(uint64_t *)arg += count;
}

static void one_client(const char *account, const char *region, struct aws_client *c, void *arg)
{
	const char *labels[2] = {account && *account ? account : "default", aws_client_region(c)};
	aws_counter_fn requests = *(aws_counter_fn *)arg;
	uint64_t throttled = 0;

	(void)region;
	if (!labels[1])
		labels[1] = "";
	aws_client_counters_foreach(c, count_throttles, &throttled);
	metrics_gauge_set(m_rate, labels, aws_client_control_rate(c));
	metrics_counter_add(m_throttled, labels, (double)throttled);
	if (requests && account && *account)
		aws_client_counters_foreach(c, requests, NULL);
}

void ratemetrics_update(struct reconcile_ctx *ctx, aws_counter_fn requests)
{
	if (!m_rate || !m_throttled)
		return;
	metrics_family_clear(m_rate);
	metrics_family_clear(m_throttled);
	if (ctx)
		reconcile_ctx_clients_foreach(ctx, one_client, &requests);
}
