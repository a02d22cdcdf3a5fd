/*
 * cache.h - the daemon's cache of observed state (DESIGN.md §8, issue #12).
 *
 * Per function (key: region + name), the last observation of it as aliasd's
 * own writes left it: $LATEST (with its RevisionId), every published version
 * with its code and configuration, every alias with its RevisionId.  The
 * daemon owns one for its whole life and hands it to reconcile through
 * reconcile_options.cache; one-shot commands pass NULL (every run observes).
 *
 * What reconcile does with it (reconcile.h says the same from its side):
 *  - every observation (a function's own reads or a fleet listing) and the
 *    writes of a pass that completed are stored: a pass that failed, and any
 *    CONFLICT/NOT_FOUND met while writing (412, 409, 404), drops the entry;
 *  - as reconcile_options.cache_use says, a fresh entry stands in for the
 *    first observation: all of it (PLAN: the plan is built from it without
 *    any call) or all but the aliases (ALIASES: one ListAliases).  Alias
 *    writes carry the RevisionIds it holds (someone else's write in between
 *    makes them fail with 412: the entry is dropped, the function is
 *    observed again and re-planned);
 *  - a plan from the cache that writes $LATEST (upload, configure, publish)
 *    is thrown away and the function observed afresh first: a release is
 *    never published from a remembered state (DESIGN §2);
 *  - an entry is fresh for max_age_ms after its versions were read (a
 *    pass planned from it keeps its age); the daemon reads the aliases
 *    afresh at each resync (ALIASES), so alias drift is repaired within one
 *    resync period, and the versions and $LATEST at least every
 *    max_age_ms (the daemon: ten resync periods).
 *
 * Memory: each entry is one packed allocation (one malloc instead of some
 * thirty: varints, each string once, SHA-256s and RevisionIds in binary; see
 * cache.c), without $LATEST's configuration (only plans that observe afresh
 * read it): about 320 bytes for 2 versions and 2 aliases (it was 670 with
 * plain strings and 8-byte integers), so ~3 MB for 10,000 functions.
 *
 * Threads: every function is safe to call from any thread at any time (one
 * mutex; entries are copied in and out, nothing is borrowed).
 */
#ifndef ALIASD_RECONCILE_CACHE_H
#define ALIASD_RECONCILE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "reconcile/plan.h"

struct reconcile_cache;

struct reconcile_cache_stats {
	size_t entries;
	size_t bytes;           /* packed entries and their keys */
	uint64_t hits;          /* fresh entries handed out */
	uint64_t misses;        /* no entry, or a stale one */
	uint64_t invalidations; /* entries dropped one by one (conflicts, failures) */
};

/* max_age_ms: how long an entry stays fresh (0 = until dropped).  -ENOMEM. */
int reconcile_cache_new(struct reconcile_cache **ret, uint64_t max_age_ms);
/* Accepts NULL.  No reconcile using it may be running. */
void reconcile_cache_free(struct reconcile_cache *c);
/* Change how long entries stay fresh (a configuration reload). */
void reconcile_cache_set_max_age(struct reconcile_cache *c, uint64_t max_age_ms);

/*
 * A copy of the fresh entry of `function` in `region` (NULL or "" = the
 * default) into *ret (release with plan_observed_release): 1 found, 0 none
 * (or stale: it is dropped), -ENOMEM.  `now_ms` is clock_monotonic_ms().
 */
int reconcile_cache_get(struct reconcile_cache *c, const char *region, const char *function, uint64_t now_ms,
                        struct plan_observed *ret);
/* Does `function` have a fresh entry?  (For reconcile_batch: no listing for it.) */
bool reconcile_cache_fresh(struct reconcile_cache *c, const char *region, const char *function,
                           uint64_t now_ms);
/*
 * Store (a copy of) `o` as the state of `function`.  `observed`: its
 * versions were read afresh: the entry is fresh from `now_ms`; false (it was
 * planned from the entry, only its aliases read or written): the entry keeps
 * the age it had, so the versions are read again once it is max_age_ms old
 * (no fresh entry left: nothing is stored).  Only an existing function is
 * stored (o->exists false, or a partial observation without the version list,
 * drops the entry).  -ENOMEM (the entry is then dropped).
 */
int reconcile_cache_put(struct reconcile_cache *c, const char *region, const char *function,
                        const struct plan_observed *o, bool observed, uint64_t now_ms);
/* Drop the entry of `function` (none: nothing happens). */
void reconcile_cache_invalidate(struct reconcile_cache *c, const char *region, const char *function);
/* Drop every entry. */
void reconcile_cache_clear(struct reconcile_cache *c);
void reconcile_cache_stats(struct reconcile_cache *c, struct reconcile_cache_stats *ret);

/* ---- for reconcile/apply.c: the observed state after one write ---- */

/*
 * Deep copy of `src` into *dst (overwritten).  -ENOMEM (dst then empty).
 */
int reconcile_observed_copy(struct plan_observed *dst, const struct plan_observed *src);

/*
 * Apply the effect of the successful write step `s` of plan `p` (built from
 * `d` and `o`) to `after` (a copy of `o` with the earlier steps applied):
 *  - CREATE_ALIAS / UPDATE_ALIAS: the alias now targets `version`
 *    (`extra`/`weight` when weighted) with the declared description (when
 *    managed) and RevisionId `alias_rev` ("" = unknown: the entry is then not
 *    worth keeping, -ESTALE);
 *  - DELETE_ALIAS / DELETE_VERSION: gone;
 *  - PUBLISH / CREATE_FUNCTION: `made` (taken: *made is emptied) is the
 *    version just published (number 0: none); CREATE_FUNCTION also makes the
 *    function exist;
 *  - UPDATE_CODE / UPDATE_CONFIG: $LATEST changed; `after` keeps the old
 *    one, which only a plan that writes $LATEST would read, and such a plan
 *    always observes afresh first.
 * Returns 0, -ESTALE when `after` can no longer be trusted, -ENOMEM.
 */
int reconcile_observed_apply(struct plan_observed *after, const struct plan *p, const struct plan_step *s,
                             const struct plan_desired *d, const struct plan_observed *o, long version,
                             long extra, double weight, const char *alias_rev, struct plan_version *made);

#endif
