/*
 * apply.c - one function's pass (observe, plan, run each step through
 * apply_step.c, re-plan on conflicts, the cache hook, the results) and
 * the worker pool over many functions (see reconcile.h, apply_run.h).
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/lambda.h"
#include "manifest/load.h"
#include "reconcile/apply_run.h"
#include "reconcile/cache.h"
#include "reconcile/internal.h"
#include "reconcile/rollout_run.h"
#include "reconcile/reconcile.h"
#include "util/clock.h"

/* ---- results ---- */

void reconcile_result_release(struct reconcile_result *r)
{
	if (!r)
		return;
	free(r->function);
	free(r->region);
	for (size_t i = 0; i < r->n_planned; i++)
		free(r->planned[i].text);
	free(r->planned);
	for (size_t i = 0; i < r->n_aliases; i++)
		free(r->aliases[i].name);
	free(r->aliases);
	memset(r, 0, sizeof(*r));
}

static void result_aliases_clear(struct reconcile_result *r)
{
	for (size_t i = 0; i < r->n_aliases; i++)
		free(r->aliases[i].name);
	free(r->aliases);
	r->aliases = NULL;
	r->n_aliases = 0;
	r->observed = false;
}

/* The observed aliases become the result's. */
static int result_aliases_observed(struct reconcile_result *r, const struct plan_observed *o)
{
	result_aliases_clear(r);
	r->aliases = calloc(o->n_aliases + 1, sizeof(*r->aliases));
	if (!r->aliases)
		return -ENOMEM;
	for (size_t i = 0; i < o->n_aliases; i++) {
		struct reconcile_alias_state *a = &r->aliases[i];

		if (!(a->name = strdup(o->aliases[i].name))) {
			result_aliases_clear(r);
			return -ENOMEM;
		}
		a->version = o->aliases[i].version;
		a->extra_version = o->aliases[i].extra_version;
		a->weight = o->aliases[i].weight;
		r->n_aliases = i + 1;
	}
	r->observed = true;
	return 0;
}

/* Record a successful alias write: version 0 with `deleted` removes it. */
int apply_result_alias_set(struct reconcile_result *r, const char *name, bool deleted, long version,
                           long extra_version, double weight)
{
	struct reconcile_alias_state *a = NULL, *na;

	if (!r->observed)
		return 0;
	for (size_t i = 0; i < r->n_aliases; i++)
		if (!strcmp(r->aliases[i].name, name))
			a = &r->aliases[i];
	if (deleted) {
		if (a) {
			free(a->name);
			memmove(a, a + 1, (size_t)(&r->aliases[r->n_aliases] - (a + 1)) * sizeof(*a));
			r->n_aliases--;
		}
		return 0;
	}
	if (!a) {
		na = realloc(r->aliases, (r->n_aliases + 1) * sizeof(*na));
		if (!na)
			return -ENOMEM;
		r->aliases = na;
		a = &r->aliases[r->n_aliases];
		memset(a, 0, sizeof(*a)); /* no rollout record: a new alias */
		if (!(a->name = strdup(name)))
			return -ENOMEM;
		r->n_aliases++;
	}
	a->version = version;
	a->extra_version = extra_version;
	a->weight = weight;
	return 0;
}

/* ---- one function ---- */

static void emit(struct run *run, enum reconcile_event ev, enum plan_step_kind kind, const char *text,
                 const char *detail)
{
	if (!run->opt->on_event)
		return;
	pthread_mutex_lock(&run->ctx->event_lock);
	run->opt->on_event(run->opt->arg, run->fn->name, ev, kind, text, detail);
	pthread_mutex_unlock(&run->ctx->event_lock);
}

/*
 * May observing again and re-planning fix this failure?  By kind only: a
 * conflict or a lost answer (409, 412, the publish guard), something that
 * vanished meanwhile (404 ResourceNotFoundException) and a transient failure
 * left after the client's retries: yes.  Credentials, terminal (denied,
 * invalid, quota, malformed answers, unspecified) and cancel: no, the
 * function fails at once.
 */
static bool replannable(const struct aws_error *aerr)
{
	switch (error_kind_of(&aerr->err)) {
	case ERROR_KIND_CONFLICT:
	case ERROR_KIND_NOT_FOUND:
	case ERROR_KIND_TRANSIENT:
		return true;
	default:
		return false;
	}
}

static int record_planned(struct run *run)
{
	struct reconcile_result *res = run->res;
	size_t n = run->p.n_steps, k = 0;

	res->planned = calloc(n + 1, sizeof(*res->planned));
	if (!res->planned)
		return -ENOMEM;
	for (size_t i = 0; i < run->p.n_steps; i++) {
		const struct plan_step *s = &run->p.steps[i];
		struct buf b = BUF_INIT;

		/* a held rollout is no write, but the plan says so (and how to retry it) */
		if (!plan_step_is_write(s->kind) && s->kind != PLAN_STEP_ROLLOUT_HELD)
			continue;
		if (plan_step_describe(&b, &run->p, s, &run->d, &run->o) < 0) {
			buf_release(&b);
			return -ENOMEM;
		}
		res->planned[k].kind = s->kind;
		res->planned[k].text = buf_detach(&b, NULL);
		if (!res->planned[k].text)
			return -ENOMEM;
		res->n_planned = ++k;
		emit(run, RECONCILE_EVENT_PLANNED, s->kind, res->planned[k - 1].text, NULL);
	}
	return 0;
}

/* Does the plan write $LATEST (upload, configure, publish)? */
static bool plan_touches_latest(const struct plan *p)
{
	for (size_t i = 0; i < p->n_steps; i++)
		if (p->steps[i].kind == PLAN_STEP_UPDATE_CODE ||
		    p->steps[i].kind == PLAN_STEP_UPDATE_CONFIG || p->steps[i].kind == PLAN_STEP_PUBLISH)
			return true;
	return false;
}

/* ---- the cache hook (reconcile/cache.h) ---- */

/* The first observation from the cache: 1 = from it, 0 = observe, < 0 failed (ListAliases). */
static int cache_observe(struct run *run, struct aws_error *aerr)
{
	bool first = !run->cache_spent;
	int r;

	run->cached = false;
	run->cache_spent = true; /* the cache serves the first observation only */
	if (!run->opt->cache || run->opt->cache_use == RECONCILE_CACHE_OBSERVE || !first)
		return 0;
	if (reconcile_cache_get(run->opt->cache, run->region, run->fn->name, clock_monotonic_ms(), &run->o) <=
	    0)
		return 0;
	if (run->opt->cache_use == RECONCILE_CACHE_ALIASES &&
	    (r = reconcile_observe_aliases(run->c, run->fn->name, &run->o, aerr)) < 0)
		return r;
	return (run->cached = true);
}

/* A write step succeeded (r: step_run's, 1 = done without a call): apply it to `after`. */
static void cache_note(struct run *run, const struct plan_step *s, int r)
{
	const struct plan_alias *a = s->alias >= 0 ? &run->d.aliases[s->alias] : NULL;
	long v = a ? apply_ref_version(run, &a->primary) : 0,
	     ev = a && a->weighted ? apply_ref_version(run, &a->extra) : 0;

	if (!run->after_ok || r > 0)
		return;
	if (reconcile_observed_apply(&run->after, &run->p, s, &run->d, &run->o, v, ev, a ? a->weight : 0,
	                             run->alias_rev, &run->made) < 0)
		run->after_ok = false;
	plan_version_release(&run->made);
}

/* The pass ended (r as run_pass returns): store what it left, or drop the entry. */
static void cache_end(struct run *run, int r)
{
	if (!run->opt->cache)
		return;
	if (r == 0 && run->after_ok)
		reconcile_cache_put(run->opt->cache, run->region, run->fn->name, &run->after, !run->cached,
		                    clock_monotonic_ms());
	else
		reconcile_cache_invalidate(run->opt->cache, run->region, run->fn->name);
	plan_observed_release(&run->after);
	plan_version_release(&run->made);
	run->after_ok = false;
}

/*
 * The first observation from the aliases (reconcile_observe_aliased), and
 * the version list only when the plan needs it (plan_partial_enough): a
 * promotion or an in-sync function is then its one ListAliases.
 */
static int observe_aliased(struct run *run, struct aws_error *aerr)
{
	int r = reconcile_observe_aliased(run->c, run->fn->name, &run->d, &run->o, aerr);

	if (r >= 0 && run->o.partial && !plan_partial_enough(&run->d, &run->o))
		r = reconcile_observe_versions(run->c, run->fn->name, &run->o, aerr);
	return r;
}

/* One pass: observe, plan, apply.  1 = a re-plan may help, 0 = done, < 0 failed for good. */
static int run_pass(struct run *run, struct aws_error *aerr)
{
	const struct reconcile_listed *listed = run->listed;
	bool aliased = run->aliased;
	struct error perr = ERROR_INIT;
	int r;

	run->listed = NULL; /* a listing serves the first observation only */
	run->aliased = false;
again:
	plan_release(&run->p);
	plan_observed_release(&run->o);
	run->fresh = false;
	run->ours = false;
	run->carried = -1;
	if (listed)
		r = reconcile_observe_listed(run->c, run->fn->name, listed, &run->o, aerr);
	else if (aliased)
		r = observe_aliased(run, aerr);
	else if ((r = cache_observe(run, aerr)) == 0)
		r = reconcile_observe(run->c, run->fn->name, &run->o, aerr);
	if (r < 0)
		return replannable(aerr) ? 1 : r;
	if ((r = result_aliases_observed(run->res, &run->o)) < 0)
		return aws_error_set(aerr, r, "observe", "out of memory");
	reconcile_rollout_observed(run->res, &run->d, &run->o);
	r = plan_build(&run->p, &run->d, &run->o, &perr);
	if (r < 0) {
		/* a manifest that cannot be planned (a pinned version that does not exist) */
		aws_error_clear(aerr);
		aerr->err = perr;
		error_set_kind(&aerr->err, ERROR_KIND_TERMINAL);
		return r;
	}
	reconcile_rollout_held(run->res, &run->d, &run->p);
	/*
	 * A listing may be minutes old by now.  Alias writes carry their own
	 * RevisionId guard and a missing function is guarded by CreateFunction
	 * itself (409 if it exists), but what is published must be resolved
	 * against the function's versions as they are now: before touching an
	 * existing $LATEST, observe it afresh (ListVersionsByFunction) and plan
	 * again.
	 */
	if ((listed || run->cached) && !run->opt->dry_run && run->o.exists && plan_touches_latest(&run->p)) {
		listed = NULL;
		goto again;
	}
	plan_observed_release(&run->after);
	run->after_ok = run->opt->cache && reconcile_observed_copy(&run->after, &run->o) >= 0;
	run->frugal = listed != NULL || aliased;
	if (!run->res->planned && (r = record_planned(run)) < 0)
		return aws_error_set(aerr, r, "plan", "out of memory");
	if (run->opt->dry_run) {
		run->res->changed = plan_count_writes(&run->p) > 0;
		return 0;
	}
	for (size_t i = 0; i < run->p.n_steps; i++) {
		const struct plan_step *s = &run->p.steps[i];
		char detail[64];
		struct buf text = BUF_INIT;

		if (run->ctx->stopped)
			return apply_fail_kind(aerr, ERROR_KIND_CANCELED,
			                       aws_error_set(aerr, -ECANCELED, "apply", "stopped"));
		/* describe before running: versions are still "new" for publish */
		plan_step_describe(&text, &run->p, s, &run->d, &run->o);
		r = apply_step(run, s, detail, sizeof(detail), aerr);
		if (r < 0) {
			emit(run, RECONCILE_EVENT_FAILED, s->kind, text.ptr, aerr->err.msg);
			buf_release(&text);
			return replannable(aerr) ? 1 : r;
		}
		if (plan_step_is_write(s->kind) && s->kind != PLAN_STEP_ROLLOUT) {
			cache_note(run, s, r);
			if (r == 0)
				run->res->writes++;
			run->res->changed = true;
			emit(run, RECONCILE_EVENT_DONE, s->kind, text.ptr, detail[0] ? detail : NULL);
		}
		buf_release(&text);
	}
	return 0;
}

int reconcile_function(struct reconcile_ctx *ctx, const struct manifest_function *fn,
                       const struct reconcile_options *opt, struct reconcile_result *ret)
{
	return reconcile_function_listed(ctx, fn, opt, NULL, false, ret);
}

int reconcile_function_listed(struct reconcile_ctx *ctx, const struct manifest_function *fn,
                              const struct reconcile_options *opt, const struct reconcile_listed *listed,
                              bool aliased, struct reconcile_result *ret)
{
	struct run run = {0};
	struct aws_error aerr = AWS_ERROR_INIT;
	unsigned passes = opt->max_passes ? opt->max_passes : RECONCILE_DEFAULT_PASSES;
	char region[64], account[13];
	int r;

	memset(ret, 0, sizeof(*ret));
	run.ctx = ctx;
	run.opt = opt;
	run.fn = fn;
	run.res = ret;
	run.listed = listed;
	run.aliased = aliased && !listed;
	run.d.keep_versions = -1;
	ret->function = strdup(fn->name ? fn->name : "");
	ret->region = fn->region ? strdup(fn->region) : NULL;
	if (!ret->function || (fn->region && !ret->region)) {
		r = error_set(&ret->err, -ENOMEM, "out of memory");
		goto out;
	}
	r = reconcile_desired_from_manifest(&run.d, fn, opt->revision, &ret->err);
	if (r >= 0 && fn->prune.keep_history > 0) {
		const struct manifest_history_list *hl = manifest_history_find(opt->history, fn);

		if (hl)
			r = reconcile_desired_history(&run.d, hl, &ret->err);
		else if (!opt->history || !opt->history->no_history)
			run.d.keep_versions = -1; /* not read: delete nothing a revert may need */
	}
	if (r < 0) {
		error_set_kind(&ret->err, ERROR_KIND_TERMINAL);
		goto out;
	}
	reconcile_rollout_commands(&run.d, opt, fn->name);
	r = reconcile_function_region(fn, region, sizeof(region));
	snprintf(run.region, sizeof(run.region), "%s", r >= 0 ? region : "");
	if (r < 0) {
		error_set(&ret->err, r, "function %s: cannot read the region of its ARN", fn->name);
		error_set_kind(&ret->err, ERROR_KIND_TERMINAL);
		goto out;
	}
	r = reconcile_function_account(fn, account);
	if (r < 0) {
		error_set(&ret->err, r, "function %s: cannot read the account of its ARN", fn->name);
		error_set_kind(&ret->err, ERROR_KIND_TERMINAL);
		goto out;
	}
	r = reconcile_ctx_account_client(ctx, account, region[0] ? region : NULL, &run.c, &ret->err);
	if (r < 0) {
		if (error_kind_of(&ret->err) == ERROR_KIND_UNSPECIFIED)
			error_set_kind(&ret->err, ERROR_KIND_TERMINAL);
		goto out;
	}
	for (unsigned pass = 0; pass < passes; pass++) {
		if (ctx->stopped) {
			r = error_set(&ret->err, -ECANCELED, "stopped");
			error_set_kind(&ret->err, ERROR_KIND_CANCELED);
			goto out;
		}
		if (pass > 0)
			emit(&run, RECONCILE_EVENT_REPLAN, PLAN_STEP_WAIT_UPDATED, NULL, aerr.err.msg);
		aws_error_clear(&aerr);
		ret->passes = pass + 1;
		r = run_pass(&run, &aerr);
		cache_end(&run, r);
		if (r <= 0)
			break;
		/* a conflict: give the other writer (or Lambda) a moment */
		if (pass + 1 < passes && apply_nap(&run, 100u << (pass < 4 ? pass : 4)) < 0) {
			r = error_set(&ret->err, -ECANCELED, "stopped");
			error_set_kind(&ret->err, ERROR_KIND_CANCELED);
			goto out;
		}
	}
	if (r > 0) {
		r = aerr.err.code < 0 ? aerr.err.code : -EAGAIN;
		ret->err = aerr.err;
		error_prefix(&ret->err, "gave up after %u passes", ret->passes);
	} else if (r < 0) {
		ret->err = aerr.err;
		if (ret->err.code == 0)
			error_set(&ret->err, r, "%s", strerror(-r));
	}
out:
	ret->status = r < 0 ? r : 0;
	if (r < 0 && ret->err.code == 0)
		ret->err.code = r;
	if (r < 0 && error_kind_of(&ret->err) == ERROR_KIND_UNSPECIFIED)
		ret->err.kind = ERROR_KIND_TERMINAL; /* nobody said: retrying will not help */
	plan_release(&run.p);
	plan_observed_release(&run.o);
	plan_desired_release(&run.d);
	plan_version_release(&run.latest);
	plan_observed_release(&run.after);
	plan_version_release(&run.made);
	return ret->status;
}
