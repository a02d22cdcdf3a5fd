/*
 * fleet.c - reconcile_batch: read a region's versions in bulk when that costs
 * fewer quota-counted calls, then reconcile every function on a worker pool
 * (see reconcile.h, enum reconcile_read).  A listing is made with the
 * default credentials' client, so only functions by plain name (always in
 * that account) are read from it: a function named by an ARN may be in
 * another account (aws.roles) and is read per function, with the client of
 * its (account, region).
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

struct fleet_region {
	struct reconcile_read_region info;
	size_t plain;                 /* functions named by a plain name (no ARN) */
	struct lambda_config_list ls; /* sorted by name, $LATEST first, then versions ascending */
};

struct fleet {
	struct fleet_region regions[RECONCILE_MAX_REGIONS];
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

static bool plain_name(const char *name)
{
	return name && *name && !strchr(name, ':');
}

/* The region's index for fn, creating it; -1 when it has none (bad ARN, too many). */
static int region_of(struct fleet *f, const struct manifest_function *fn)
{
	char region[sizeof(f->regions[0].info.region)];

	if (reconcile_function_region(fn, region, sizeof(region)) < 0)
		return -1;
	for (size_t i = 0; i < f->n; i++)
		if (!strcmp(f->regions[i].info.region, region))
			return (int)i;
	if (f->n == RECONCILE_MAX_REGIONS)
		return -1;
	snprintf(f->regions[f->n].info.region, sizeof(region), "%s", region);
	return (int)f->n++;
}

/* Will the cache stand in for fn's first observation?  (No listing for it.) */
static bool served_by_cache(const struct reconcile_options *opt, const struct fleet_region *fr,
                            const struct manifest_function *fn)
{
	return opt->cache && opt->cache_use != RECONCILE_CACHE_OBSERVE &&
	       reconcile_cache_fresh(opt->cache, fr->info.region, fn->name, clock_monotonic_ms());
}

/* List the region's versions if that is the cheaper read (see enum reconcile_read). */
static void region_list(struct reconcile_ctx *ctx, const struct reconcile_options *opt,
                        struct fleet_region *fr)
{
	struct reconcile_read_region *info = &fr->info;
	struct aws_error aerr = AWS_ERROR_INIT;
	struct aws_client *c;
	struct error err = ERROR_INIT;
	unsigned budget;
	int r;

	if (opt->read == RECONCILE_READ_PER_FUNCTION) {
		snprintf(info->why, sizeof(info->why), "per-function listing asked for");
		return;
	}
	if (fr->plain == 0 || (opt->read == RECONCILE_READ_AUTO && fr->plain < 2)) {
		snprintf(info->why, sizeof(info->why),
		         "%zu function(s) by name: ListVersionsByFunction is cheaper", fr->plain);
		return;
	}
	if (reconcile_ctx_client(ctx, info->region[0] ? info->region : NULL, &c, &err) < 0) {
		snprintf(info->why, sizeof(info->why), "no client: %.100s", err.msg);
		return;
	}
	/* AUTO: at most half as many pages as functions, else per function is cheaper */
	budget = opt->read == RECONCILE_READ_FLEET ? 0 : (unsigned)(fr->plain / 2 > 0 ? fr->plain / 2 : 1);
	r = lambda_functions_list_bounded(c, true, budget, &fr->ls, &aerr);
	info->pages = fr->ls.pages;
	if (r < 0) {
		if (r == -E2BIG)
			snprintf(
			    info->why, sizeof(info->why),
			    "the region holds more than %u pages of versions for %zu functions: per function",
			    budget, fr->plain);
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
	         "%u ListFunctions page(s) instead of %zu ListVersionsByFunction", info->pages, fr->plain);
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
	const struct fleet *fleet;
	const int *region; /* per function: index in fleet, -1 none */
	pthread_mutex_t lock;
	size_t next;
};

static void *pool_worker(void *arg)
{
	struct pool *pool = arg;

	for (;;) {
		const struct fleet_region *fr = NULL;
		struct reconcile_listed l;
		size_t i;

		pthread_mutex_lock(&pool->lock);
		i = pool->next++;
		pthread_mutex_unlock(&pool->lock);
		if (i >= pool->n)
			break;
		if (pool->region && pool->region[i] >= 0)
			fr = &pool->fleet->regions[pool->region[i]];
		if (fr && fr->info.fleet && plain_name(pool->fns[i]->name) &&
		    !served_by_cache(pool->opt, fr, pool->fns[i])) {
			l = reconcile_listing_find(fr->ls.items, fr->ls.n, pool->fns[i]->name);
			reconcile_function_listed(pool->ctx, pool->fns[i], pool->opt, &l, &pool->ret[i]);
		} else {
			reconcile_function(pool->ctx, pool->fns[i], pool->opt, &pool->ret[i]);
		}
	}
	return NULL;
}

int reconcile_batch(struct reconcile_ctx *ctx, const struct manifest_function *const *fns, size_t n,
                    const struct reconcile_options *opt, struct reconcile_result *ret)
{
	struct pool pool = {ctx, fns, n, opt, ret, NULL, NULL, PTHREAD_MUTEX_INITIALIZER, 0};
	unsigned want = opt->concurrency ? opt->concurrency : RECONCILE_DEFAULT_CONCURRENCY;
	pthread_t threads[RECONCILE_MAX_CONCURRENCY];
	struct fleet *fleet = calloc(1, sizeof(*fleet));
	int *region = calloc(n + 1, sizeof(*region));
	size_t started = 0;

	if (opt->read_report)
		memset(opt->read_report, 0, sizeof(*opt->read_report));
	if (fleet && region) {
		/* without memory every function simply reads its own versions */
		for (size_t i = 0; i < n; i++) {
			region[i] = region_of(fleet, fns[i]);
			if (region[i] < 0)
				continue;
			fleet->regions[region[i]].info.functions++;
			if (plain_name(fns[i]->name) &&
			    !served_by_cache(opt, &fleet->regions[region[i]], fns[i]))
				fleet->regions[region[i]].plain++;
		}
		for (size_t k = 0; k < fleet->n && !reconcile_ctx_stopped(ctx); k++)
			region_list(ctx, opt, &fleet->regions[k]);
		pool.fleet = fleet;
		pool.region = region;
		if (opt->read_report) {
			for (size_t k = 0; k < fleet->n; k++)
				opt->read_report->regions[k] = fleet->regions[k].info;
			opt->read_report->n = fleet->n;
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
	if (fleet)
		for (size_t k = 0; k < fleet->n; k++)
			lambda_config_list_release(&fleet->regions[k].ls);
	free(fleet);
	free(region);
	for (size_t i = 0; i < n; i++)
		if (ret[i].status < 0)
			return ret[i].status;
	return 0;
}
