/*
 * core_resync.c - the resync part of the daemon's pure core (core.h): how
 * long a resync of each (account, region) pair's functions takes at the
 * rate its limiter allows now, and the period each function's resyncs are
 * scheduled with.
 */
#include <stdio.h>
#include <string.h>

#include "cmd/daemon/core.h"

uint64_t core_resync_period_ms(uint64_t resync_ms, size_t n, double calls, double rate)
{
	double need;

	if (!resync_ms || rate <= 0 || calls <= 0)
		return resync_ms;
	need = (double)n * calls / (rate * CORE_RESYNC_SHARE) * 1000.0;
	if (need <= (double)resync_ms)
		return resync_ms;
	if (need > 1e15)
		need = 1e15;
	return ((uint64_t)need + 999) / 1000 * 1000;
}

/*
 * Field `field` (0-based, ':'-separated) of an ARN into out; "" when absent.
 * arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME: region 3, account 4.
 */
static void arn_field(const char *arn, int field, char *out, size_t outsz)
{
	const char *p = arn, *end;

	out[0] = '\0';
	if (!arn || strncmp(arn, "arn:", 4))
		return;
	for (int i = 0; i < field; i++) {
		p = strchr(p, ':');
		if (!p)
			return;
		p++;
	}
	end = strchr(p, ':');
	if (end && (size_t)(end - p) < outsz) {
		memcpy(out, p, (size_t)(end - p));
		out[end - p] = '\0';
	}
}

/* The pair of (account, region) normalised as core_rates says: "" for the defaults. */
static void pair_key(const struct core_resync *rs, const char *account, const char *region, char acc[13],
                     char reg[64])
{
	bool role = false;

	for (size_t i = 0; account && i < rs->n_roles && !role; i++)
		role = !strcmp(rs->roles[i], account);
	snprintf(acc, 13, "%s", role ? account : "");
	snprintf(reg, 64, "%s", region && strcmp(region, rs->default_region) ? region : "");
}

/* A function's pair, as reconcile/ctx.c picks its client. */
static void fn_pair_key(const struct core_resync *rs, const struct core_fn *st, char acc[13], char reg[64])
{
	char account[13], region[64];

	arn_field(st->name, 4, account, sizeof(account));
	if (st->region)
		snprintf(region, sizeof(region), "%s", st->region);
	else
		arn_field(st->name, 3, region, sizeof(region));
	pair_key(rs, account, region, acc, reg);
}

/* The index of a pair, added when new (the last one takes the overflow). */
static size_t pair_index(struct core_resync *rs, const char *acc, const char *reg)
{
	struct core_pair *p;

	for (size_t i = 0; i < rs->n_pairs; i++)
		if (!strcmp(rs->pairs[i].account, acc) && !strcmp(rs->pairs[i].region, reg))
			return i;
	if (rs->n_pairs == CORE_RESYNC_PAIRS)
		return CORE_RESYNC_PAIRS - 1;
	p = &rs->pairs[rs->n_pairs];
	memset(p, 0, sizeof(*p));
	snprintf(p->account, sizeof(p->account), "%s", acc);
	snprintf(p->region, sizeof(p->region), "%s", reg);
	return rs->n_pairs++;
}

/* The period a function's resyncs are scheduled with: its pair's. */
uint64_t core_fn_resync_period(const struct core *c, const struct core_fn *st)
{
	const struct core_resync *rs = &c->resync;
	char acc[13], reg[64];

	if (!c->opt.resync_ms || rs->spread_ms == 0)
		return c->opt.resync_ms; /* every pair fits: no lookup */
	fn_pair_key(rs, st, acc, reg);
	for (size_t i = 0; i < rs->n_pairs; i++)
		if (!strcmp(rs->pairs[i].account, acc) && !strcmp(rs->pairs[i].region, reg))
			return rs->pairs[i].period_ms;
	return rs->period_ms;
}

/* Count each pair's live functions, then each pair's period; show the longest. */
void core_resync_update(struct core *c)
{
	struct core_resync *rs = &c->resync;
	const struct core_pair *show = NULL;
	double show_need = -1;

	for (size_t i = 0; i < rs->n_pairs; i++)
		rs->pairs[i].functions = 0;
	for (size_t i = 0; i < c->n_fns; i++) {
		const struct core_fn *st = c->fns[i];
		char acc[13], reg[64];

		if (st->removed || !st->fn)
			continue;
		fn_pair_key(rs, st, acc, reg);
		rs->pairs[pair_index(rs, acc, reg)].functions++;
	}
	for (size_t i = 0; i < rs->n_pairs; i++) {
		struct core_pair *p = &rs->pairs[i];
		double rate = p->rate > 0 && p->rate < c->opt.rate ? p->rate : c->opt.rate;
		/* calls the pair's resync needs per second of its rate: what sets its period */
		double need = rate > 0 ? (double)p->functions / rate : (double)p->functions;

		p->period_ms = core_resync_period_ms(c->opt.resync_ms, p->functions, CORE_RESYNC_CALLS, rate);
		if (p->functions && need > show_need) {
			show = p;
			show_need = need;
		}
	}
	rs->period_ms = show ? show->period_ms : c->opt.resync_ms;
	rs->spread_ms = rs->period_ms > c->opt.resync_ms ? rs->period_ms : 0;
	rs->functions = show ? show->functions : 0;
	rs->rate = show && show->rate > 0 && show->rate < c->opt.rate ? show->rate : c->opt.rate;
	snprintf(rs->account, sizeof(rs->account), "%s", show ? show->account : "");
	snprintf(rs->region, sizeof(rs->region), "%s", show ? show->region : "");
}

void core_resync_rates(struct core *c, const struct core_rates *r)
{
	struct core_resync *rs = &c->resync;

	snprintf(rs->default_region, sizeof(rs->default_region), "%s",
	         r->default_region ? r->default_region : "");
	rs->n_roles = 0;
	for (size_t i = 0; i < r->n_role_accounts && rs->n_roles < CORE_RESYNC_PAIRS; i++)
		snprintf(rs->roles[rs->n_roles++], sizeof(rs->roles[0]), "%s", r->role_accounts[i]);
	/* the pairs are keyed anew (the defaults or the roles may have changed) */
	rs->n_pairs = 0;
	for (size_t i = 0; i < r->n_rates; i++) {
		char acc[13], reg[64];
		size_t k;

		pair_key(rs, r->rates[i].account && *r->rates[i].account ? r->rates[i].account : NULL,
		         r->rates[i].region, acc, reg);
		k = pair_index(rs, acc, reg);
		if (rs->pairs[k].rate <= 0 || r->rates[i].rate < rs->pairs[k].rate)
			rs->pairs[k].rate = r->rates[i].rate; /* two clients on one pair: the slower */
	}
	core_resync_update(c);
}

void core_resync_describe(const struct core_resync *rs, double configured, char *out, size_t outsz)
{
	size_t len;

	out[0] = '\0';
	if (!rs->spread_ms || !outsz)
		return;
	snprintf(out, outsz, "resync of %zu functions spread over %.0fs: rate %.3g/s", rs->functions,
	         (double)rs->spread_ms / 1000.0, rs->rate);
	len = strlen(out);
	if (rs->rate < configured && len < outsz)
		len += (size_t)snprintf(out + len, outsz - len, " (the limiter's now; configured %g/s)",
		                        configured);
	if ((rs->account[0] || rs->region[0]) && len < outsz)
		snprintf(out + len, outsz - len, " in account %s region %s",
		         rs->account[0] ? rs->account : "(default)",
		         rs->region[0] ? rs->region : "(default)");
}
