/*
 * ctx.c - the context every reconcile shares: one Lambda client (and rate
 * limiter) and one CloudWatch client per region, created on first use,
 * and the stop flag (see reconcile.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/internal.h"
#include "reconcile/reconcile.h"

int reconcile_ctx_new(struct reconcile_ctx **ret, const struct reconcile_ctx_options *opt, struct error *err)
{
	struct reconcile_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return error_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&ctx->lock, NULL);
	pthread_mutex_init(&ctx->event_lock, NULL);
	if (opt)
		ctx->copt = opt->client;
	atomic_init(&ctx->n_clients, 0);
	atomic_init(&ctx->n_cloudwatch, 0);
	if ((ctx->copt.region && !(ctx->region = strdup(ctx->copt.region))) ||
	    (ctx->copt.profile && !(ctx->profile = strdup(ctx->copt.profile))) ||
	    (ctx->copt.endpoint && !(ctx->endpoint = strdup(ctx->copt.endpoint)))) {
		reconcile_ctx_free(ctx);
		return error_set(err, -ENOMEM, "out of memory");
	}
	ctx->copt.region = ctx->region;
	ctx->copt.profile = ctx->profile;
	ctx->copt.endpoint = ctx->endpoint;
	*ret = ctx;
	return 0;
}

void reconcile_ctx_free(struct reconcile_ctx *ctx)
{
	size_t n;

	if (!ctx)
		return;
	n = atomic_load(&ctx->n_clients);
	for (size_t i = 0; i < n; i++) {
		aws_client_free(ctx->clients[i].client);
		free(ctx->clients[i].region);
	}
	n = atomic_load(&ctx->n_cloudwatch);
	for (size_t i = 0; i < n; i++) {
		cloudwatch_client_free(ctx->cloudwatch[i].client);
		free(ctx->cloudwatch[i].region);
	}
	free(ctx->region);
	free(ctx->profile);
	free(ctx->endpoint);
	pthread_mutex_destroy(&ctx->lock);
	pthread_mutex_destroy(&ctx->event_lock);
	free(ctx);
}

void reconcile_ctx_stop(struct reconcile_ctx *ctx)
{
	size_t n = atomic_load(&ctx->n_clients);

	ctx->stopped = 1;
	for (size_t i = 0; i < n; i++)
		aws_client_stop(ctx->clients[i].client);
	n = atomic_load(&ctx->n_cloudwatch);
	for (size_t i = 0; i < n; i++)
		cloudwatch_client_stop(ctx->cloudwatch[i].client);
}

bool reconcile_ctx_stopped(const struct reconcile_ctx *ctx)
{
	return ctx->stopped != 0;
}

static bool same_region(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

/*
 * One client (one rate limiter) per real region: a manifest without a
 * region and one naming the default region share it.  Called with ctx->lock
 * held.  (The one place a client's key is decided: a later key by account
 * belongs here.)
 */
static const char *real_region(struct reconcile_ctx *ctx, const char *region)
{
	if (region)
		return region;
	if (!ctx->region) {
		char *def = NULL;

		if (aws_region_resolve(ctx->profile, &def, NULL) == 0) {
			ctx->region = def;
			ctx->copt.region = def;
		}
	}
	return ctx->region;
}

int reconcile_ctx_client(struct reconcile_ctx *ctx, const char *region, struct aws_client **ret,
                         struct error *err)
{
	struct aws_client_options o;
	struct aws_client *c = NULL;
	size_t n;
	int r = 0;

	pthread_mutex_lock(&ctx->lock);
	region = real_region(ctx, region);
	n = atomic_load(&ctx->n_clients);
	for (size_t i = 0; i < n; i++) {
		if (same_region(ctx->clients[i].region, region)) {
			*ret = ctx->clients[i].client;
			goto out;
		}
	}
	if (n >= RECONCILE_MAX_REGIONS) {
		r = error_set(err, -E2BIG, "more than %d regions", RECONCILE_MAX_REGIONS);
		goto out;
	}
	o = ctx->copt;
	if (region)
		o.region = region;
	r = aws_client_new(&c, &o, err);
	if (r < 0)
		goto out;
	ctx->clients[n].client = c;
	ctx->clients[n].region = region ? strdup(region) : NULL;
	if (region && !ctx->clients[n].region) {
		aws_client_free(c);
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (ctx->stopped)
		aws_client_stop(c);
	atomic_store(&ctx->n_clients, n + 1);
	*ret = c;
out:
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

int reconcile_ctx_cloudwatch(struct reconcile_ctx *ctx, const char *region, struct cloudwatch_client **ret,
                             struct error *err)
{
	struct aws_client_options o;
	struct cloudwatch_client *c = NULL;
	size_t n;
	int r = 0;

	pthread_mutex_lock(&ctx->lock);
	region = real_region(ctx, region);
	n = atomic_load(&ctx->n_cloudwatch);
	for (size_t i = 0; i < n; i++) {
		if (same_region(ctx->cloudwatch[i].region, region)) {
			*ret = ctx->cloudwatch[i].client;
			goto out;
		}
	}
	if (n >= RECONCILE_MAX_REGIONS) {
		r = error_set(err, -E2BIG, "more than %d regions", RECONCILE_MAX_REGIONS);
		goto out;
	}
	o = ctx->copt;
	if (region)
		o.region = region;
	o.control_rate = 0; /* CloudWatch's own rate (CLOUDWATCH_DEFAULT_RATE), not Lambda's */
	r = cloudwatch_client_new(&c, &o, err);
	if (r < 0)
		goto out;
	ctx->cloudwatch[n].client = c;
	ctx->cloudwatch[n].region = region ? strdup(region) : NULL;
	if (region && !ctx->cloudwatch[n].region) {
		cloudwatch_client_free(c);
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (ctx->stopped)
		cloudwatch_client_stop(c);
	atomic_store(&ctx->n_cloudwatch, n + 1);
	*ret = c;
out:
	pthread_mutex_unlock(&ctx->lock);
	return r;
}
