/*
 * apply_run.h - one function's reconcile pass, shared by apply.c (the pass:
 * observe, plan, run the steps, re-plan on conflicts, the cache hook, the
 * results) and apply_step.c (each planned step against Lambda, and the
 * waits for $LATEST and new versions).  Internal to reconcile/.
 */
#ifndef ALIASD_RECONCILE_APPLY_RUN_H
#define ALIASD_RECONCILE_APPLY_RUN_H

#include <stdbool.h>

#include "aws/lambda.h"
#include "reconcile/internal.h"
#include "reconcile/plan.h"
#include "reconcile/reconcile.h"
#include "util/error.h"

struct run {
	struct reconcile_ctx *ctx;
	const struct reconcile_options *opt;
	const struct manifest_function *fn;
	struct reconcile_result *res;
	struct aws_client *c;
	struct plan_desired d;
	struct plan_observed o;
	struct plan p;
	/* $LATEST as last read by GetFunction in this pass */
	bool fresh;
	bool ours; /* the update in flight on $LATEST is this run's */
	char rev[PLAN_REVISION_MAX];
	struct plan_version latest;
	/* the fleet listing's entries for the first observation, then NULL */
	const struct reconcile_listed *listed;
	/*
	 * the first observation reads the aliases and the versions they serve
	 * only (reconcile_observe_aliased), then false
	 */
	bool aliased;
	/*
	 * this pass observed from a fleet listing or from the aliases:
	 * quota-frugal writes (CreateFunction publishes)
	 */
	bool frugal;
	/* the release whose publish CreateFunction carried (-1: none), and its version */
	long carried;
	long carried_version; /* negative: already Active */
	/* opt->cache: the observed state as this pass's writes left it (cache.h) */
	char region[64];
	bool cached;      /* this pass planned from the cache */
	bool cache_spent; /* the cache was asked once: observe from now on */
	bool after_ok;    /* `after` is worth storing when the pass completes */
	struct plan_observed after;
	struct plan_version made;          /* the version the last publish made */
	char alias_rev[PLAN_REVISION_MAX]; /* the RevisionId the last alias write returned */
};

/* Say what kind of failure aerr holds (util/error.h); returns code. */
static inline int apply_fail_kind(struct aws_error *aerr, enum error_kind kind, int code)
{
	if (aerr)
		error_set_kind(&aerr->err, kind);
	return code;
}

/* Sleep `ms`, in slices, returning early (-ECANCELED) on stop. */
int apply_nap(struct run *run, unsigned ms);

/*
 * Run step `s` of run->p: 0 done, 1 done without a write call, negative on
 * failure (aerr says what, with its kind); `detail` gets what the step made
 * ("version 3").
 */
int apply_step(struct run *run, const struct plan_step *s, char *detail, size_t detail_sz,
               struct aws_error *aerr);

/* The version a plan reference names (a release's resolved version, or a number). */
long apply_ref_version(const struct run *run, const struct plan_ref *ref);

/* The result's alias `name` as written (apply.c, results). */
int apply_result_alias_set(struct reconcile_result *r, const char *name, bool deleted, long version,
                           long extra_version, double weight);

#endif
