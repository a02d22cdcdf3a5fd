/*
 * fleet.c - reconcile_batch: read the versions of each (account, region)
 * group of functions in bulk when that costs fewer quota-counted calls,
 * then reconcile every function on a worker pool (see reconcile.h, enum
 * reconcile_read).  A group's listing is made with its account's client:
 * functions by plain name and ARNs in the default credentials' own account
 * share the default credentials' listing of their region; ARNs in an
 * account of aws.roles share a listing of (that account, region) made with
 * its role.  An ARN in an account that is neither is read per function.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/lambda.h"
#include "reconcile/cache.h"
#include "reconcile/internal.h"
#include "reconcile/reconcile.h"
#include "util/clock.h"

struct fleet {
	struct reconcile_group groups[RECONCILE_MAX_REGIONS];
	size_t n;
};

/*
 * The manifest's region, else the region of a function ARN
 * (arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME), else "" (the default).
 */
int reconcile_function_region(const struct manifest_function *fn, char *out, size_t outsz)
{
	const char *p, *end;

	out[0] = '\0';
	if (fn->region) {
		if (strlen(fn->region) >= outsz)
			return -EINVAL;
		snprintf(out, outsz, "%s", fn->region);
		return 0;
	}
	if (!fn->name || strncmp(fn->name, "arn:", 4))
		return 0;
	p = fn->name;
	for (int field = 0; field < 3; field++) {
		p = strchr(p, ':');
		if (!p)
			return -EINVAL;
		p++;
	}
	end = strchr(p, ':');
	if (!end || end == p || (size_t)(end - p) >= outsz)
		return -EINVAL;
	memcpy(out, p, (size_t)(end - p));
	out[end - p] = '\0';
	return 0;
}

int reconcile_function_account(const struct manifest_function *fn, char out[13])
{
	const char *p;

	out[0] = '\0';
	if (!fn->name || strncmp(fn->name, "arn:", 4))
		return 0;
	p = fn->name;
	for (int field = 0; field < 4; field++) {
		p = strchr(p, ':');
		if (!p)
			return -EINVAL;
		p++;
	}
	if (strspn(p, "0123456789") != 12 || p[12] != ':')
		return -EINVAL;
	memcpy(out, p, 12);
	out[12] = '\0';
	return 0;
}

/* "7" -> 7, "$LATEST" -> 0 (sorts first), junk -> -1 (last) */
static long entry_number(const char *v)
{
	char *end;
	long n;

	if (!v || !strcmp(v, "$LATEST"))
		return 0;
	n = strtol(v, &end, 10);
	return *end || n <= 0 ? -1 : n;
}

static int entry_cmp(const void *a, const void *b)
{
	const struct lambda_function_config *x = a, *y = b;
	int c = strcmp(x->function_name ? x->function_name : "", y->function_name ? y->function_name : "");
	unsigned long nx, ny;

	if (c)
		return c;
	nx = (unsigned long)entry_number(x->version);
	ny = (unsigned long)entry_number(y->version);
	return nx < ny ? -1 : nx > ny;
}

/*
 * The name a ListFunctions listing has a function under: a plain name as it
 * is, the NAME of arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME; NULL
 * when it cannot be listed (a qualified or malformed ARN).
 */
const char *reconcile_listing_name(const char *name)
{
	const char *p = name;

	if (!name || !*name)
		return NULL;
	if (strncmp(name, "arn:", 4))
		return strchr(name, ':') ? NULL : name;
	for (int field = 0; field < 5; field++) {
		p = strchr(p, ':');
		if (!p)
			return NULL;
		p++;
	}
	if (strncmp(p, "function:", 9) || !p[9] || strchr(p + 9, ':'))
		return NULL;
	return p + 9;
}

/* The group's index for (account, region), creating it; -1 when there are too many. */
static int group_index(struct reconcile_groups *f, const char *account, const char *region)
{
	struct reconcile_read_region *info;

	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->groups[i].info.account, account) && !strcmp(f->groups[i].info.region, region))
			return (int)i;
	if (f->n == RECONCILE_MAX_REGIONS)
		return -1;
	info = &f->groups[f->n].info;
	memset(&f->groups[f->n], 0, sizeof(f->groups[f->n]));
	snprintf(info->account, sizeof(info->account), "%s", account);
	snprintf(info->region, sizeof(info->region), "%s", region);
	return (int)f->n++;
}

void reconcile_groups_plan(struct reconcile_groups *f, const struct manifest_function *const *fns, size_t n,
                           const struct reconcile_groups_in *in, struct reconcile_group_of *ret)
{
	for (size_t i = 0; i < n; i++) {
		char region[sizeof(f->groups[0].info.region)], account[13];
		struct reconcile_group_of *g = &ret[i];
		const char *key = "";

		g->group = -1;
		g->listing_name = NULL;
		g->account[0] = '\0';
		if (reconcile_function_region(fns[i], region, sizeof(region)) < 0 ||
		    reconcile_function_account(fns[i], account) < 0)
			continue; /* malformed: reconcile_function says why */
		snprintf(g->account, sizeof(g->account), "%s", account);
		if (*account && in->has_role && in->has_role(in->arg, account))
			key = account; /* its role's client, a listing of its own */
		/* the default region by name and by omission share one client: one group */
		g->group = group_index(
		    f, key, in->default_region && !strcmp(region, in->default_region) ? "" : region);
		if (g->group < 0)
			continue;
		f->groups[g->group].info.functions++;
		/*
		 * An ARN in an account without a role is the default credentials'
		 * only when that is their own account: counted for the listing
		 * when that is known to be so, else it may still use one that
		 * turns out to be its account's (reconcile_group_member).
		 */
		if (*account && !*key && (!in->own_account || strcmp(in->own_account, account)))
			continue;
		g->listing_name = reconcile_listing_name(fns[i]->name);
		/* a skipped one still uses a listing that others make, when it comes to that */
		if (g->listing_name && !(in->skip && in->skip(in->arg, fns[i])))
			f->groups[g->group].listable++;
	}
}

bool reconcile_read_decide(enum reconcile_read read, size_t listable, unsigned *ret_budget, char *why,
                           size_t whysz)
{
	*ret_budget = 0;
	if (read == RECONCILE_READ_PER_FUNCTION) {
		snprintf(why, whysz, "per-function listing asked for");
		return false;
	}
	if (listable == 0 || (read == RECONCILE_READ_AUTO && listable < 2)) {
		snprintf(why, whysz, "%zu function(s) to read: ListVersionsByFunction is cheaper", listable);
		return false;
	}
	/* AUTO: at most half as many pages as functions, else per function is cheaper */
	*ret_budget = read == RECONCILE_READ_FLEET ? 0 : (unsigned)(listable / 2 > 0 ? listable / 2 : 1);
	return true;
}

void reconcile_listing_account(const struct lambda_config_list *ls, char out[13])
{
	struct manifest_function probe = {0};

	out[0] = '\0';
	for (size_t i = 0; i < ls->n && !*out; i++) {
		probe.name = ls->items[i].function_arn;
		if (reconcile_function_account(&probe, out) < 0)
			out[0] = '\0';
	}
}

bool reconcile_group_member(const struct reconcile_group *g, const struct reconcile_group_of *of,
                            const struct manifest_function *fn)
{
	const char *bare;

	if (!g->info.fleet)
		return false;
	if (of->listing_name)
		return true;
	/* an ARN in no role's account: listed if the listing shows it is that account's */
	if (!of->account[0] || g->info.account[0] || strcmp(g->own, of->account))
		return false;
	bare = reconcile_listing_name(fn->name);
	return bare != NULL;
}

/* Will the cache stand in for fn's first observation?  (No listing for it.) */
static bool served_by_cache(const struct reconcile_options *opt, const struct manifest_function *fn)
{
	char region[64];

	return opt->cache && opt->cache_use != RECONCILE_CACHE_OBSERVE &&
	       reconcile_function_region(fn, region, sizeof(region)) == 0 &&
	       reconcile_cache_fresh(opt->cache, region, fn->name, clock_monotonic_ms());
}

/*
 * Is fn's first look made from its aliases (reconcile_observe_aliased)?  In
 * AUTO, for a function that prunes no versions (pruning needs them all),
 * outside the daemon (its cache stands in).
 */
static bool reads_aliases(const struct reconcile_options *opt, const struct manifest_function *fn)
{
	return opt->read == RECONCILE_READ_AUTO && !opt->cache && fn->prune.keep_versions < 0;
}

struct batch_arg {
	struct reconcile_ctx *ctx;
	const struct reconcile_options *opt;
};

static bool fleet_has_role(void *arg, const char *account)
{
	return reconcile_ctx_has_role(((struct batch_arg *)arg)->ctx, account);
}

static bool fleet_skip(void *arg, const struct manifest_function *fn)
{
	const struct reconcile_options *opt = ((struct batch_arg *)arg)->opt;

	return served_by_cache(opt, fn) || reads_aliases(opt, fn);
}

/* List the group's versions if that is the cheaper read (see enum reconcile_read). */
static void group_list(struct reconcile_ctx *ctx, const struct reconcile_options *opt,
                       struct reconcile_group *fr)
{
	struct reconcile_read_region *info = &fr->info;
	struct aws_error aerr = AWS_ERROR_INIT;
	struct aws_client *c;
	struct error err = ERROR_INIT;
	unsigned budget;
	int r;

	if (!reconcile_read_decide(opt->read, fr->listable, &budget, info->why, sizeof(info->why))) {
		if (fr->listable == 0 && info->functions > 0 && opt->read == RECONCILE_READ_AUTO &&
		    !opt->cache)
			snprintf(info->why, sizeof(info->why),
			         "no function prunes versions: each is read from its aliases (ListAliases; "
			         "GetFunction for $LATEST and the versions they serve), its versions listed "
			         "only when its plan needs them");
		return;
	}
	if (reconcile_ctx_account_client(ctx, info->account[0] ? info->account : NULL,
	                                 info->region[0] ? info->region : NULL, &c, &err) < 0) {
		snprintf(info->why, sizeof(info->why), "no client: %.100s", err.msg);
		return;
	}
	r = lambda_functions_list_bounded(c, true, budget, &fr->ls, &aerr);
	info->pages = fr->ls.pages;
	if (r < 0) {
		if (r == -E2BIG)
			snprintf(
			    info->why, sizeof(info->why),
			    "the region holds more than %u pages of versions for %zu functions: per function",
			    budget, fr->listable);
		else
			snprintf(info->why, sizeof(info->why), "ListFunctions failed (%.250s): per function",
			         aerr.err.msg);
		aws_error_clear(&aerr);
		memset(&fr->ls, 0, sizeof(fr->ls));
		return;
	}
	aws_error_clear(&aerr);
	reconcile_listing_sort(fr->ls.items, fr->ls.n);
	info->fleet = true;
	info->listed = fr->ls.n;
	snprintf(info->why, sizeof(info->why),
	         "%u ListFunctions page(s) instead of %zu ListVersionsByFunction", info->pages, fr->listable);
	/* whose listing this is, for ARNs without a role */
	if (!info->account[0] && !fr->own[0])
		reconcile_listing_account(&fr->ls, fr->own);
}

void reconcile_listing_sort(struct lambda_function_config *items, size_t n)
{
	if (n > 1)
		qsort(items, n, sizeof(*items), entry_cmp);
}

struct reconcile_listed reconcile_listing_find(const struct lambda_function_config *items, size_t n,
                                               const char *name)
{
	struct reconcile_listed l = {NULL, 0};
	size_t lo = 0, hi = n;

	while (lo < hi) { /* first entry with function_name >= name */
		size_t mid = lo + (hi - lo) / 2;
		const char *m = items[mid].function_name;

		if (strcmp(m ? m : "", name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	l.items = items + lo;
	while (lo + l.n < n && items[lo + l.n].function_name && !strcmp(items[lo + l.n].function_name, name))
		l.n++;
	return l;
}

/* ---- worker pool ---- */

struct pool {
	struct reconcile_ctx *ctx;
	const struct manifest_function *const *fns;
	size_t n;
	const struct reconcile_options *opt;
	struct reconcile_result *ret;
	const struct reconcile_groups *groups;
	const struct reconcile_group_of *of; /* per function; NULL: no listing at all */
	pthread_mutex_t lock;
	size_t next;
};

static void *pool_worker(void *arg)
{
	struct pool *pool = arg;

	for (;;) {
		const struct reconcile_group *fr = NULL;
		const struct manifest_function *fn;
		struct reconcile_listed l;
		size_t i;

		pthread_mutex_lock(&pool->lock);
		i = pool->next++;
		pthread_mutex_unlock(&pool->lock);
		if (i >= pool->n)
			break;
		fn = pool->fns[i];
		if (pool->of && pool->of[i].group >= 0)
			fr = &pool->groups->groups[pool->of[i].group];
		if (fr && reconcile_group_member(fr, &pool->of[i], fn) && !served_by_cache(pool->opt, fn)) {
			l = reconcile_listing_find(fr->ls.items, fr->ls.n, reconcile_listing_name(fn->name));
			reconcile_function_listed(pool->ctx, fn, pool->opt, &l, false, &pool->ret[i]);
		} else {
			reconcile_function_listed(pool->ctx, fn, pool->opt, NULL,
			                          reads_aliases(pool->opt, fn), &pool->ret[i]);
		}
	}
	return NULL;
}

/*
 * The default credentials' own account, when it can be had without a cost
 * to the Lambda quota and some ARN without a role could use it: known
 * already, or asked of STS when aws.roles is set (such ARNs ask it anyway).
 */
static void own_for(struct reconcile_ctx *ctx, const struct manifest_function *const *fns, size_t n,
                    char out[13])
{
	struct error err = ERROR_INIT;
	bool want = false;

	out[0] = '\0';
	for (size_t i = 0; i < n && !want; i++) {
		char account[13];

		want = reconcile_function_account(fns[i], account) == 0 && *account &&
		       !reconcile_ctx_has_role(ctx, account);
	}
	if (want && reconcile_ctx_own_account(ctx, reconcile_ctx_has_roles(ctx), out, &err) < 0)
		out[0] = '\0'; /* those functions are read per function */
}

int reconcile_batch(struct reconcile_ctx *ctx, const struct manifest_function *const *fns, size_t n,
                    const struct reconcile_options *opt, struct reconcile_result *ret)
{
	struct pool pool = {ctx, fns, n, opt, ret, NULL, NULL, PTHREAD_MUTEX_INITIALIZER, 0};
	unsigned want = opt->concurrency ? opt->concurrency : RECONCILE_DEFAULT_CONCURRENCY;
	pthread_t threads[RECONCILE_MAX_CONCURRENCY];
	struct reconcile_groups *groups = calloc(1, sizeof(*groups));
	struct reconcile_group_of *of = calloc(n + 1, sizeof(*of));
	struct batch_arg barg = {ctx, opt};
	size_t started = 0;

	if (opt->read_report)
		memset(opt->read_report, 0, sizeof(*opt->read_report));
	if (groups && of) {
		/* without memory every function simply reads its own versions */
		char own[13], region[64];
		struct reconcile_groups_in in = {NULL, NULL, fleet_has_role, fleet_skip, &barg};

		own_for(ctx, fns, n, own);
		in.own_account = *own ? own : NULL;
		reconcile_ctx_default_region(ctx, region, sizeof(region));
		in.default_region = *region ? region : NULL;
		reconcile_groups_plan(groups, fns, n, &in, of);
		for (size_t k = 0; k < groups->n && !reconcile_ctx_stopped(ctx); k++) {
			if (!groups->groups[k].info.account[0])
				snprintf(groups->groups[k].own, sizeof(groups->groups[k].own), "%s", own);
			group_list(ctx, opt, &groups->groups[k]);
		}
		pool.groups = groups;
		pool.of = of;
		for (size_t i = 0; i < n; i++) {
			struct reconcile_group *g = of[i].group >= 0 ? &groups->groups[of[i].group] : NULL;

			if (g && reads_aliases(opt, fns[i]) && !reconcile_group_member(g, &of[i], fns[i]))
				g->info.aliased++;
		}
		if (opt->read_report) {
			for (size_t k = 0; k < groups->n; k++)
				opt->read_report->regions[k] = groups->groups[k].info;
			opt->read_report->n = groups->n;
		}
	}
	if (want > RECONCILE_MAX_CONCURRENCY)
		want = RECONCILE_MAX_CONCURRENCY;
	if (want > n)
		want = (unsigned)n;
	for (unsigned t = 1; t < want; t++) {
		if (pthread_create(&threads[started], NULL, pool_worker, &pool) != 0)
			break;
		started++;
	}
	pool_worker(&pool); /* the caller's thread works too */
	for (size_t t = 0; t < started; t++)
		pthread_join(threads[t], NULL);
	pthread_mutex_destroy(&pool.lock);
	if (groups)
		for (size_t k = 0; k < groups->n; k++)
			lambda_config_list_release(&groups->groups[k].ls);
	free(groups);
	free(of);
	for (size_t i = 0; i < n; i++)
		if (ret[i].status < 0)
			return ret[i].status;
	return 0;
}
