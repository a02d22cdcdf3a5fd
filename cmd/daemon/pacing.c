/*
 * pacing.c - the shell side of resync pacing (the pure side is
 * core_resync.c): each (account, region) limiter's current rate into the
 * core, and the log line when resyncs get spread or fit again.  Loop
 * thread, d.lock held.
 */
#include <stdio.h>

#include "aws/client.h"
#include "cmd/daemon/shell.h"
#include "reconcile/reconcile.h"
#include "util/log.h"

/*
 * Say (lock held) when resyncs get spread over a longer period, or fit
 * theirs again.  The period follows the limiters' current rates, which move
 * every second while they recover: a spread is said again only when it
 * moved by a quarter or more since it was last said, and any change at
 * most once a minute (/status always has the current one).
 */
void resync_say(uint64_t now)
{
	static uint64_t said, said_at;
	const struct core_resync *rs = &d.core.resync;
	char msg[320], period[32], rate[32], n[32];

	if (rs->spread_ms == said || (said_at && now < said_at + 60000) ||
	    (rs->spread_ms && said && rs->spread_ms * 4 < said * 5 && rs->spread_ms * 5 > said * 4))
		return;
	said = rs->spread_ms;
	said_at = now;
	snprintf(period, sizeof(period), "%.0fs", (double)d.core.opt.resync_ms / 1000.0);
	snprintf(rate, sizeof(rate), "%g", rs->rate);
	snprintf(n, sizeof(n), "%zu", rs->functions);
	if (!rs->spread_ms) {
		log_event(LOG_NOTICE, "resync fits its period again", "functions", n, "period", period,
		          "rate", rate, NULL);
		return;
	}
	core_resync_describe(rs, d.core.opt.rate, msg, sizeof(msg));
	log_event(LOG_NOTICE, msg, "period", period, NULL);
}

struct rates_acc {
	struct core_rate items[CORE_RESYNC_PAIRS];
	size_t n;
};

static void rate_add(const char *account, const char *region, struct aws_client *c, void *arg)
{
	struct rates_acc *acc = arg;

	if (acc->n < CORE_RESYNC_PAIRS)
		acc->items[acc->n++] = (struct core_rate){account, region, aws_client_control_rate(c)};
}

/*
 * Tell the core (lock held) what each (account, region) limiter allows now,
 * so resyncs are planned at the current rate, not the configured one (after
 * 429s the limiter is slower).  At most once a second unless `force`.
 */
void resync_rates(uint64_t now, bool force)
{
	static uint64_t last;
	struct rates_acc acc = {.n = 0};
	const char *roles[CORE_RESYNC_PAIRS];
	char region[64] = "";
	struct core_rates r;

	if (!d.rctx || (!force && last && now < last + 1000))
		return;
	last = now;
	reconcile_ctx_default_region(d.rctx, region, sizeof(region));
	reconcile_ctx_clients_foreach(d.rctx, rate_add, &acc);
	r = (struct core_rates){region, roles, 0, acc.items, acc.n};
	r.n_role_accounts = reconcile_ctx_role_accounts(d.rctx, roles, CORE_RESYNC_PAIRS);
	if (r.n_role_accounts > CORE_RESYNC_PAIRS)
		r.n_role_accounts = CORE_RESYNC_PAIRS;
	core_resync_rates(&d.core, &r);
}
