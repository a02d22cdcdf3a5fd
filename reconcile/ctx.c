/*
 * ctx.c - the context every reconcile shares: one Lambda client (and rate
 * limiter) and one CloudWatch client per (account, region), created on
 * first use, the assume-role credential providers of aws.roles, and the
 * stop flag (see reconcile.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/credentials.h"
#include "reconcile/internal.h"
#include "reconcile/reconcile.h"

static bool account_valid(const char *s)
{
	return s && strlen(s) == 12 && strspn(s, "0123456789") == 12;
}

static int roles_copy(struct reconcile_ctx *ctx, const struct reconcile_ctx_options *opt, struct error *err)
{
	if (opt->n_roles > RECONCILE_MAX_ROLES)
		return error_set(err, -E2BIG, "more than %d roles", RECONCILE_MAX_ROLES);
	ctx->roles = calloc(opt->n_roles, sizeof(*ctx->roles));
	if (!ctx->roles)
		return error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < opt->n_roles; i++) {
		const struct reconcile_role *in = &opt->roles[i];
		struct account_role *ar = &ctx->roles[i];

		if (!account_valid(in->account) || !in->role_arn)
			return error_set(err, -EINVAL, "aws.roles: bad account %s",
			                 in->account ? in->account : "");
		ctx->n_roles++;
		snprintf(ar->account, sizeof(ar->account), "%s", in->account);
		if (!(ar->role_arn = strdup(in->role_arn)) ||
		    (in->external_id && !(ar->external_id = strdup(in->external_id))))
			return error_set(err, -ENOMEM, "out of memory");
	}
	if (opt->role_session_name && !(ctx->role_session_name = strdup(opt->role_session_name)))
		return error_set(err, -ENOMEM, "out of memory");
	return 0;
}

int reconcile_ctx_new(struct reconcile_ctx **ret, const struct reconcile_ctx_options *opt, struct error *err)
{
	struct reconcile_ctx *ctx = calloc(1, sizeof(*ctx));

	if (!ctx)
		return error_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&ctx->lock, NULL);
	pthread_mutex_init(&ctx->event_lock, NULL);
	pthread_mutex_init(&ctx->own_lock, NULL);
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
	ctx->copt.credentials_provider = NULL;
	if (opt && opt->n_roles) {
		int r = roles_copy(ctx, opt, err);
		if (r < 0) {
			reconcile_ctx_free(ctx);
			return r;
		}
	}
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
	/* after the clients: they borrow these */
	for (size_t i = 0; i < ctx->n_roles; i++) {
		aws_credentials_provider_free(ctx->roles[i].provider);
		free(ctx->roles[i].role_arn);
		free(ctx->roles[i].external_id);
	}
	free(ctx->roles);
	aws_credentials_provider_free(ctx->home);
	free(ctx->role_session_name);
	free(ctx->region);
	free(ctx->profile);
	free(ctx->endpoint);
	pthread_mutex_destroy(&ctx->lock);
	pthread_mutex_destroy(&ctx->event_lock);
	pthread_mutex_destroy(&ctx->own_lock);
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

/* The default region, resolved once (lock held). */
static const char *default_region(struct reconcile_ctx *ctx)
{
	if (!ctx->region) {
		char *def = NULL;

		if (aws_region_resolve(ctx->profile, &def, NULL) == 0) {
			ctx->region = def;
			ctx->copt.region = def;
		}
	}
	return ctx->region;
}

/*
 * The client of (account, region), made on first use with `provider`
 * (NULL: a default chain of its own).  Lock held.
 */
static int client_get(struct reconcile_ctx *ctx, const char *account,
                      struct aws_credentials_provider *provider, const char *region, struct aws_client **ret,
                      struct error *err)
{
	struct aws_client_options o;
	struct aws_client *c = NULL;
	size_t n;
	int r;

	/*
	 * One client (one rate limiter) per real region: a manifest without a
	 * region and one naming the default region share it.
	 */
	if (!region)
		region = default_region(ctx);
	n = atomic_load(&ctx->n_clients);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(ctx->clients[i].account, account) &&
		    same_region(ctx->clients[i].region, region)) {
			*ret = ctx->clients[i].client;
			return 0;
		}
	}
	if (n >= RECONCILE_MAX_CLIENTS)
		return error_set(err, -E2BIG, "more than %d (account, region) pairs", RECONCILE_MAX_CLIENTS);
	o = ctx->copt;
	if (region)
		o.region = region;
	if (provider) {
		o.credentials_provider = provider;
		o.static_credentials = NULL;
	}
	r = aws_client_new(&c, &o, err);
	if (r < 0)
		return r;
	snprintf(ctx->clients[n].account, sizeof(ctx->clients[n].account), "%s", account);
	ctx->clients[n].client = c;
	ctx->clients[n].region = region ? strdup(region) : NULL;
	if (region && !ctx->clients[n].region) {
		aws_client_free(c);
		return error_set(err, -ENOMEM, "out of memory");
	}
	if (ctx->stopped)
		aws_client_stop(c);
	atomic_store(&ctx->n_clients, n + 1);
	*ret = c;
	return 0;
}

int reconcile_ctx_client(struct reconcile_ctx *ctx, const char *region, struct aws_client **ret,
                         struct error *err)
{
	int r;

	pthread_mutex_lock(&ctx->lock);
	r = client_get(ctx, "", NULL, region, ret, err);
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

static struct account_role *role_find(struct reconcile_ctx *ctx, const char *account)
{
	for (size_t i = 0; i < ctx->n_roles; i++)
		if (!strcmp(ctx->roles[i].account, account))
			return &ctx->roles[i];
	return NULL;
}

/* The home provider (the default chain): the source of every AssumeRole.  Lock held. */
static int home_get(struct reconcile_ctx *ctx, struct error *err)
{
	struct aws_credentials_options co = {.profile = ctx->profile};

	if (ctx->home)
		return 0;
	return aws_credentials_provider_new(&ctx->home, &co, err);
}

/*
 * The default credentials' account, asked of STS once: own_lock makes the
 * functions that need it at the same moment wait for one answer; the call
 * is made outside `lock` (other functions' clients are not held up).
 */
static int own_account(struct reconcile_ctx *ctx, char out[13], struct error *err)
{
	struct aws_credentials_provider *home;
	int r;

	pthread_mutex_lock(&ctx->own_lock);
	pthread_mutex_lock(&ctx->lock);
	snprintf(out, 13, "%s", ctx->own_account);
	r = *out ? 0 : home_get(ctx, err);
	home = ctx->home;
	pthread_mutex_unlock(&ctx->lock);
	if (r < 0 || *out)
		goto out;
	r = aws_credentials_account(home, time(NULL), out, 13, err);
	if (r < 0) {
		error_prefix(err, "cannot learn this daemon's own AWS account");
		if (error_kind_of(err) == ERROR_KIND_UNSPECIFIED)
			error_set_kind(err, r == -EAGAIN ? ERROR_KIND_TRANSIENT : ERROR_KIND_CREDENTIALS);
		goto out;
	}
	pthread_mutex_lock(&ctx->lock);
	snprintf(ctx->own_account, sizeof(ctx->own_account), "%s", out);
	pthread_mutex_unlock(&ctx->lock);
out:
	pthread_mutex_unlock(&ctx->own_lock);
	return r;
}

int reconcile_ctx_account_credentials(struct reconcile_ctx *ctx, const char *account,
                                      struct aws_credentials_provider **ret, struct error *err)
{
	struct account_role *ar;
	char own[13];
	int r = 0;

	*ret = NULL;
	if (!account || !*account || !ctx->n_roles)
		return 0;
	pthread_mutex_lock(&ctx->lock);
	ar = role_find(ctx, account);
	if (ar && !ar->provider) {
		struct aws_credentials_options co = {.role_arn = ar->role_arn,
		                                     .role_external_id = ar->external_id,
		                                     .role_session_name = ctx->role_session_name,
		                                     .role_region = default_region(ctx)};
		r = home_get(ctx, err);
		co.role_source = ctx->home;
		if (r >= 0)
			r = aws_credentials_provider_new(&ar->provider, &co, err);
	}
	if (ar && r >= 0)
		*ret = ar->provider;
	pthread_mutex_unlock(&ctx->lock);
	if (r < 0) {
		error_set_kind(err, ERROR_KIND_CREDENTIALS);
		return r;
	}
	if (ar)
		return 0;
	r = own_account(ctx, own, err);
	if (r < 0)
		return r;
	if (strcmp(own, account)) {
		r = error_set(
		    err, -EACCES,
		    "account %s has no role in aws.roles and is not this daemon's own account (%s): "
		    "add aws.roles.%s (the role to assume there)",
		    account, own, account);
		error_set_kind(err, ERROR_KIND_TERMINAL);
	}
	return r;
}

bool reconcile_ctx_has_role(const struct reconcile_ctx *ctx, const char *account)
{
	for (size_t i = 0; account && i < ctx->n_roles; i++)
		if (!strcmp(ctx->roles[i].account, account))
			return true;
	return false;
}

bool reconcile_ctx_has_roles(const struct reconcile_ctx *ctx)
{
	return ctx->n_roles > 0;
}

int reconcile_ctx_own_account(struct reconcile_ctx *ctx, bool ask, char out[13], struct error *err)
{
	pthread_mutex_lock(&ctx->lock);
	snprintf(out, 13, "%s", ctx->own_account);
	pthread_mutex_unlock(&ctx->lock);
	if (*out)
		return 0;
	if (!ask)
		return -ENOENT;
	return own_account(ctx, out, err);
}

int reconcile_ctx_account_client(struct reconcile_ctx *ctx, const char *account, const char *region,
                                 struct aws_client **ret, struct error *err)
{
	struct aws_credentials_provider *p = NULL;
	int r;

	r = reconcile_ctx_account_credentials(ctx, account, &p, err);
	if (r < 0)
		return r;
	pthread_mutex_lock(&ctx->lock);
	r = client_get(ctx, p ? account : "", p, region, ret, err);
	pthread_mutex_unlock(&ctx->lock);
	return r;
}

void reconcile_ctx_default_region(struct reconcile_ctx *ctx, char *out, size_t outsz)
{
	const char *r;

	pthread_mutex_lock(&ctx->lock);
	r = default_region(ctx);
	snprintf(out, outsz, "%s", r ? r : "");
	pthread_mutex_unlock(&ctx->lock);
}

size_t reconcile_ctx_role_accounts(const struct reconcile_ctx *ctx, const char **out, size_t max)
{
	size_t n = 0;

	for (; n < ctx->n_roles && n < max; n++)
		out[n] = ctx->roles[n].account;
	return ctx->n_roles;
}

void reconcile_ctx_clients_foreach(struct reconcile_ctx *ctx, reconcile_client_fn fn, void *arg)
{
	size_t n = atomic_load(&ctx->n_clients);

	/* clients are only ever appended, and live as long as the context */
	for (size_t i = 0; i < n; i++)
		fn(ctx->clients[i].account, ctx->clients[i].region, ctx->clients[i].client, arg);
}
int reconcile_ctx_cloudwatch(struct reconcile_ctx *ctx, const char *account, const char *region,
                             struct cloudwatch_client **ret, struct error *err)
{
	struct aws_credentials_provider *p = NULL;
	struct aws_client_options o;
	struct cloudwatch_client *c = NULL;
	size_t n;
	int r;

	/* the account's credentials, as its Lambda client has them */
	r = reconcile_ctx_account_credentials(ctx, account, &p, err);
	if (r < 0)
		return r;
	if (!p)
		account = "";
	pthread_mutex_lock(&ctx->lock);
	if (!region)
		region = default_region(ctx);
	n = atomic_load(&ctx->n_cloudwatch);
	for (size_t i = 0; i < n; i++) {
		if (!strcmp(ctx->cloudwatch[i].account, account) &&
		    same_region(ctx->cloudwatch[i].region, region)) {
			*ret = ctx->cloudwatch[i].client;
			goto out;
		}
	}
	if (n >= RECONCILE_MAX_CLIENTS) {
		r = error_set(err, -E2BIG, "more than %d (account, region) pairs", RECONCILE_MAX_CLIENTS);
		goto out;
	}
	o = ctx->copt;
	if (region)
		o.region = region;
	o.credentials_provider = p;
	o.control_rate = 0; /* CloudWatch's own rate (CLOUDWATCH_DEFAULT_RATE), not Lambda's */
	r = cloudwatch_client_new(&c, &o, err);
	if (r < 0)
		goto out;
	snprintf(ctx->cloudwatch[n].account, sizeof(ctx->cloudwatch[n].account), "%s", account);
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
