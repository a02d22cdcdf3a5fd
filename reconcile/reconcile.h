/*
 * reconcile.h - make Lambda match the manifests, exactly once (DESIGN.md §2).
 *
 * For each function, independently of every other one:
 *   observe (ListVersionsByFunction + ListAliases: two calls, $LATEST is the
 *   first item of the version list; reconcile_batch may read a whole region's
 *   versions at once instead, see enum reconcile_read) -> plan (reconcile/plan.h, pure) ->
 *   apply the steps -> on a conflict or a lost answer, observe again and
 *   re-plan (at most opt->max_passes passes).
 *
 * Exactly once: a release is never published from a remembered state.
 * Before each PublishVersion aliasd reads $LATEST (GetFunction), checks that
 * its code and managed configuration are the release's, and publishes with
 * that CodeSha256 and that RevisionId: anyone else's change in between makes
 * the publish fail (400/412) instead of publishing their code as a release.
 * In a pass observed from a fleet listing (reconcile_batch), a function
 * that does not exist is created with Publish: true when the manifest
 * leaves config.description unset: version 1 is then exactly the uploaded
 * code, and the release's trace rides in the function's description, which
 * the version copies (a 409 says the function appeared meanwhile: observe
 * again).
 * When an answer is lost (connection dropped after Lambda applied the
 * write), the next pass observes again and resolution finds the published
 * version by CodeSha256 + configuration, so it is never published twice.
 * (aws/client retries a write whose connection dropped; for PublishVersion
 * that retry carries the RevisionId the lost publish already made stale, so
 * it fails with 412 and the re-plan finds the version.)  A kill at any
 * instruction leaves a state the next run finishes.
 *
 * Failures are decided by their kind (util/error.h, set by aws/client.h
 * from the AWS error code and HTTP status, never from message text):
 *  - CONFLICT (409 update in progress / exists, 412 stale RevisionId, a
 *    PublishVersion whose CodeSha256 guard Lambda rejected with 400
 *    InvalidParameterValueException, aliasd's own $LATEST check; also what a
 *    lost answer turns into), NOT_FOUND met while applying (something
 *    vanished meanwhile) and TRANSIENT (a transport error, a 429/5xx left
 *    after the client's retries, a wait that timed out): observe again and
 *    re-plan (at most max_passes passes, short backoff between);
 *  - CREDENTIALS (no credentials, a source that failed or expired, signing)
 *    and TERMINAL (denied, other 400s, the code storage quota, malformed
 *    answers, a failed update of aliasd's own, a manifest that cannot be
 *    planned such as a `version:` pin that is not published) and anything
 *    UNSPECIFIED: that function fails at once, no further pass, no retry of
 *    the write;
 *  - CANCELED: stopped.
 * A missing function is recognised only from ResourceNotFoundException
 * (ERROR_KIND_NOT_FOUND) on the version list, never from an errno alone.
 *
 * Waits: GetFunction ~100 ms then doubling to 1 s apart while $LATEST is
 * Pending/InProgress, GetFunctionConfiguration likewise for a new version;
 * each wait at most opt->wait_timeout_ms.
 *
 * Threads: one reconcile_ctx is shared by every worker; it holds one
 * aws_client per region (created on first use; rate limiters shared by all
 * workers).  reconcile_ctx_stop() is async-signal-safe (SIGTERM): the call
 * in flight finishes, no new call starts, results say -ECANCELED.
 *
 * Callbacks (opt->on_event) are serialised by the context's mutex: two
 * workers never call it at the same time; it must not call back into
 * reconcile.
 *
 * Library code never prints: everything comes back in results and events.
 */
#ifndef ALIASD_RECONCILE_H
#define ALIASD_RECONCILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws/client.h"
#include "manifest/history.h"
#include "manifest/model.h"
#include "manifest/source.h"
#include "reconcile/plan.h"
#include "reconcile/rollout.h"
#include "util/buf.h"
#include "util/error.h"

#define RECONCILE_DEFAULT_CONCURRENCY 8
#define RECONCILE_MAX_CONCURRENCY     64
#define RECONCILE_DEFAULT_PASSES      6
#define RECONCILE_DEFAULT_WAIT_MS     300000 /* a $LATEST update or a new version: 5 min at most */
#define RECONCILE_MAX_REGIONS         32

struct reconcile_ctx;
struct reconcile_cache;

#define RECONCILE_MAX_ROLES   64
#define RECONCILE_MAX_CLIENTS 256 /* (account, region) pairs */

/* aws.roles: the role to assume for an account's functions. */
struct reconcile_role {
	const char *account;     /* 12 digits */
	const char *role_arn;    /* arn:aws:iam::ACCOUNT:role/NAME */
	const char *external_id; /* NULL = none */
};

struct reconcile_ctx_options {
	/*
	 * Template for each region's client: region is replaced per client
	 * (NULL region in a manifest = this template's region, or the SDK's).
	 */
	struct aws_client_options client;
	/*
	 * Many accounts (copied): a function whose name is an ARN in one of
	 * these accounts is reconciled with credentials from STS AssumeRole of
	 * its role (signed with the default chain's credentials, cached and
	 * refreshed AWS_CREDENTIALS_REFRESH_S before expiry), through a client
	 * and rate limiter of its own per (account, region).  An ARN in an
	 * account not listed is refused (TERMINAL, "add aws.roles.ACCOUNT")
	 * unless it is the default credentials' own account (STS
	 * GetCallerIdentity, asked once); with no roles at all, every function
	 * uses the default credentials.
	 */
	const struct reconcile_role *roles;
	size_t n_roles;                /* at most RECONCILE_MAX_ROLES */
	const char *role_session_name; /* NULL = "aliasd" */
};

int reconcile_ctx_new(struct reconcile_ctx **ret, const struct reconcile_ctx_options *opt, struct error *err);
/* Accepts NULL.  No reconcile call may be running. */
void reconcile_ctx_free(struct reconcile_ctx *ctx);
/* Async-signal-safe: stop every client; running reconciles end with -ECANCELED. */
void reconcile_ctx_stop(struct reconcile_ctx *ctx);
bool reconcile_ctx_stopped(const struct reconcile_ctx *ctx);
/*
 * The client for `region` (NULL = the default), created on first use and
 * owned by the context.  Thread-safe.
 */
int reconcile_ctx_client(struct reconcile_ctx *ctx, const char *region, struct aws_client **ret,
                         struct error *err);
/*
 * The client for `account` (12 digits; NULL or "" = the default
 * credentials) in `region` (NULL = the default), per the roles above.
 * Thread-safe.  Errors: TERMINAL for an account without a role, the
 * provider's kind (CREDENTIALS) when the own account cannot be learnt.
 */
int reconcile_ctx_account_client(struct reconcile_ctx *ctx, const char *account, const char *region,
                                 struct aws_client **ret, struct error *err);
/*
 * What picks a function's client (for pacing by pair, cmd/daemon/core.h):
 * the default region's name into out ("" when unknown), and the accounts of
 * aws.roles (pointers owned by the context, valid for its life; returns how
 * many, at most `max` stored).
 */
void reconcile_ctx_default_region(struct reconcile_ctx *ctx, char *out, size_t outsz);
size_t reconcile_ctx_role_accounts(const struct reconcile_ctx *ctx, const char **out, size_t max);
/* Each client made so far: account ("" = the default credentials), region (NULL = the default). */
typedef void (*reconcile_client_fn)(const char *account, const char *region, struct aws_client *c, void *arg);
void reconcile_ctx_clients_foreach(struct reconcile_ctx *ctx, reconcile_client_fn fn, void *arg);
/*
 * The CloudWatch client for (`account`, `region`) (NULL/"" = the default
 * credentials, NULL region = the default), created on first use with the
 * credentials that account's Lambda client has (its aws.roles role), the
 * same endpoint override and stop flag, owned by the context.  Errors as
 * reconcile_ctx_account_client.  Thread-safe.
 */
struct cloudwatch_client;
int reconcile_ctx_cloudwatch(struct reconcile_ctx *ctx, const char *account, const char *region,
                             struct cloudwatch_client **ret, struct error *err);

enum reconcile_event {
	RECONCILE_EVENT_PLANNED, /* a write step of the first plan (dry-run and apply) */
	RECONCILE_EVENT_DONE,    /* a write step completed */
	RECONCILE_EVENT_FAILED,  /* a step failed; detail = why; a re-plan may follow */
	RECONCILE_EVENT_REPLAN,  /* observing again (detail = why) */
};

/*
 * `function` is the manifest's name, `kind` the step's kind (meaningless for
 * REPLAN), `text` the step's line (plan_step_describe), `detail` NULL or a
 * message.
 */
typedef void (*reconcile_event_fn)(void *arg, const char *function, enum reconcile_event ev,
                                   enum plan_step_kind kind, const char *text, const char *detail);

/*
 * How reconcile_batch reads the versions of a region's functions (DESIGN §8):
 *  - PER_FUNCTION: ListVersionsByFunction for each function (one counted
 *    call per 50 versions of each function);
 *  - FLEET: ListFunctions(FunctionVersion=ALL) pages for the whole region
 *    of an account (50 versions of any function a call), read once before
 *    the first pass; a function missing from it does not exist (no call at
 *    all for it);
 *  - AUTO: a function that prunes no versions (keepVersions unset) is read
 *    from its aliases: GetFunction for $LATEST, ListAliases (its one counted
 *    read), GetFunction for each version they serve and each one the
 *    manifest names by number; its versions are listed
 *    (ListVersionsByFunction) only when the plan needs them
 *    (plan_partial_enough: a release no alias serves yet, a pin not found).
 *    An in-sync function then costs 1 counted call, a promotion 2, a
 *    missing function nothing to read.  The functions that prune are read
 *    as FLEET for an (account, region) group with at least 2 of them,
 *    unless listing it takes more than half as many pages as it has such
 *    functions: then it stops there and falls back to PER_FUNCTION (what is
 *    wasted is bounded by half the per-function cost); a listing made for
 *    them serves the group's other functions too.
 * Groups: functions by plain name and ARNs in the default credentials' own
 * account share that account's listing of their region (made with the
 * default credentials); ARNs in an account of aws.roles share a listing of
 * (that account, region) made with its role.  The own account is known from
 * STS (asked once when aws.roles is set) or, without roles, from the
 * FunctionArns of the default credentials' listing; until then such ARNs are
 * not counted for the decision, and an ARN in another account without a
 * role is read per function.
 * Aliases are always read per function (ListAliases).  A listing serves each
 * function's first observation only; before writing an existing function's
 * $LATEST (upload, configure, publish) that function is observed afresh.
 */
enum reconcile_read {
	RECONCILE_READ_AUTO = 0,
	RECONCILE_READ_PER_FUNCTION,
	RECONCILE_READ_FLEET,
};

/*
 * What reconcile_batch did to read each (account, region) group (for
 * `--json` output).
 */
struct reconcile_read_region {
	char account[13]; /* "" = the default credentials (plain names, ARNs in their own account) */
	char region[64];  /* "" = the default region */
	size_t functions; /* functions of the batch in this region */
	bool fleet;       /* versions came from ListFunctions(FunctionVersion=ALL) */
	size_t aliased;   /* functions read from their aliases (AUTO: reconcile_observe_aliased) */
	unsigned pages;   /* ListFunctions pages read (also when it fell back) */
	size_t listed;    /* entries ($LATEST and versions) the listing held */
	char why[320];    /* why this strategy */
};

struct reconcile_read_report {
	struct reconcile_read_region regions[RECONCILE_MAX_REGIONS];
	size_t n;
};

/*
 * An operator's command for one alias's rollout (`aliasd rollout promote|abort|retry`):
 * reaches rollout_next() in the pass that reconciles `function` (the manifest's name).
 */
struct reconcile_rollout_cmd {
	const char *function;
	const char *alias;
	enum rollout_command command;
};

/*
 * What a fresh entry of reconcile_options.cache stands in for, in a
 * function's first observation:
 *  - OBSERVE: nothing; observe everything afresh and store it;
 *  - PLAN: everything: the plan is built from the entry without a call
 *    (a new commit's promotion: exactly its alias writes, which carry the
 *    cached RevisionIds);
 *  - ALIASES: $LATEST and the versions; the aliases are read afresh
 *    (ListAliases, one call): the daemon's resync, so alias drift is seen
 *    at every resync, and the versions at least once per entry lifetime.
 * Whatever the use, a plan from an entry that writes $LATEST (upload,
 * configure, publish) is dropped and the function observed afresh first
 * (never publish from a remembered state), and reconcile_batch lists no
 * region for a function an entry serves.
 */
enum reconcile_cache_use {
	RECONCILE_CACHE_OBSERVE = 0,
	RECONCILE_CACHE_PLAN,
	RECONCILE_CACHE_ALIASES,
};

struct reconcile_options {
	bool dry_run;             /* observe and plan only: no write call at all */
	unsigned max_passes;      /* 0 = RECONCILE_DEFAULT_PASSES */
	unsigned wait_timeout_ms; /* 0 = RECONCILE_DEFAULT_WAIT_MS, per wait */
	unsigned concurrency;     /* reconcile_batch: 0 = RECONCILE_DEFAULT_CONCURRENCY */
	/* Where zip files are read from (required to upload zip code). */
	struct manifest_source *source;
	/* Commit id for version descriptions ("" / NULL: a folder). */
	const char *revision;
	reconcile_event_fn on_event; /* may be NULL */
	void *arg;
	enum reconcile_read read; /* reconcile_batch: how versions are read (AUTO) */
	/* reconcile_batch: when not NULL, filled with what each region's read did */
	struct reconcile_read_report *read_report;
	/* NULL, or a rollout command for one alias (see reconcile/rollout_run.h) */
	const struct reconcile_rollout_cmd *rollout_cmd;
	/*
	 * prune.keepHistory: what the last commits declared
	 * (manifest/history.h, collected over the set the functions come
	 * from); NULL (or a history without this function): not read, and
	 * then no version of a function with keepHistory is deleted (a folder's
	 * history says no_history instead: keepHistory then counts as 0).
	 */
	const struct manifest_history *history;
	/*
	 * The daemon's cache of observed state (reconcile/cache.h), or NULL:
	 * observe every time (one-shot commands).  With a cache, every
	 * observation and the writes of every completed pass are stored in it,
	 * and a failed pass (a 412/409/404 met while writing included) drops
	 * the function's entry.
	 */
	struct reconcile_cache *cache;
	/* With a cache: what a fresh entry may stand in for (see the enum). */
	enum reconcile_cache_use cache_use;
};

/* A write step of the first plan, for output. */
struct reconcile_step_info {
	enum plan_step_kind kind;
	char *text;
};

/* An alias as Lambda has it (after this reconcile's own writes). */
struct reconcile_alias_state {
	char *name;
	long version;       /* 0: $LATEST or unknown */
	long extra_version; /* 0: no weighted version */
	double weight;
	/*
	 * A declared rollout (DESIGN §6): its progress as this reconcile left it
	 * (state ROLLOUT_NONE when the alias declares no rollout or none has
	 * started), for /status, /metrics and `aliasd status`.
	 */
	struct rollout_progress rollout;
	unsigned rollout_percent; /* the new version's share now, 0..100 */
	unsigned rollout_steps;   /* the spec's number of steps */
	/*
	 * The last plan of this reconcile held the alias (PLAN_STEP_ROLLOUT_HELD):
	 * its record says RolledBack for the declared target and desired_id and
	 * it is back on the old version; nothing is written until the declared
	 * state changes or `aliasd rollout retry`.  False for an alias this
	 * reconcile rolled back itself (the plan said ROLLOUT then).
	 */
	bool rollout_held;
};

struct reconcile_result {
	char *function;                      /* manifest name (owned) */
	char *region;                        /* manifest region or NULL (owned) */
	int status;                          /* 0 converged (dry-run: planned), else negative errno */
	struct error err;                    /* when status < 0; err.kind says what kind of failure
	                                        (never UNSPECIFIED: TERMINAL when nothing more is
	                                        known), so callers retry TRANSIENT/CONFLICT ones and
	                                        not the others */
	bool changed;                        /* dry-run: steps pending; apply: a write succeeded */
	unsigned writes;                     /* write calls that succeeded (apply) */
	unsigned passes;                     /* observe+plan rounds */
	struct reconcile_step_info *planned; /* write steps of the first plan (and ROLLOUT_HELD lines) */
	size_t n_planned;
	/*
	 * The aliases as last observed, with this run's successful alias writes
	 * (create/update/delete) applied on top: what Lambda has now, without
	 * observing again.  Valid when `observed` (at least one observation
	 * succeeded); sorted as Lambda lists them, new aliases appended.
	 */
	bool observed;
	struct reconcile_alias_state *aliases;
	size_t n_aliases;
	/*
	 * A rollout of this function waits for time to pass (its next step, its
	 * next alarm check): reconcile it again at this unix time.  0: nothing
	 * pending.
	 */
	int64_t next_check;
};

void reconcile_result_release(struct reconcile_result *r);

/*
 * Turn a valid manifest function (n_errors == 0) into the planner's desired
 * state.  Releases and aliases keep their order and indices.  -EINVAL for an
 * invalid function.
 */
int reconcile_desired_from_manifest(struct plan_desired *ret, const struct manifest_function *fn,
                                    const char *revision, struct error *err);

/*
 * Add a function's history (prune.keepHistory, manifest/history.h) to its
 * desired state: d->history gets one release per entry (code and managed
 * config, or the pin).  `l` may be NULL (nothing).  -ENOMEM.
 */
int reconcile_desired_history(struct plan_desired *d, const struct manifest_history_list *l,
                              struct error *err);

/*
 * Observe `function` through `c`: $LATEST and every version
 * (ListVersionsByFunction, all pages) and every alias (ListAliases, all
 * pages).  A missing function (ResourceNotFoundException, and only that) is
 * success with ret->exists = false; any other failure keeps its kind in
 * err->err.kind (err may be NULL).
 * State/LastUpdateStatus are not in the list: ret->state is ACTIVE and
 * ret->last_update SUCCESSFUL; apply reads GetFunction before any $LATEST write.
 */
int reconcile_observe(struct aws_client *c, const char *function, struct plan_observed *ret,
                      struct aws_error *err);

/*
 * Read `function`'s aliases afresh (ListAliases, all pages) into `o` (an
 * existing function's observed state), replacing the ones it holds.  On
 * failure `o` is unchanged and the kind is in err->err.kind.
 */
int reconcile_observe_aliases(struct aws_client *c, const char *function, struct plan_observed *o,
                              struct aws_error *err);

/*
 * Reconcile one manifest function (valid: n_errors == 0).  Fills *ret
 * (always, also on failure; release it with reconcile_result_release) and
 * returns ret->status.
 */
int reconcile_function(struct reconcile_ctx *ctx, const struct manifest_function *fn,
                       const struct reconcile_options *opt, struct reconcile_result *ret);

/*
 * Reconcile `n` functions on a pool of opt->concurrency threads.  ret has n
 * entries, ret[i] for fns[i] (each filled as by reconcile_function).  The
 * versions are read as opt->read says (see enum reconcile_read), once per
 * region before the pool starts.  One
 * function's failure never stops the others.  Returns 0 if every function
 * converged, else the status of the first failed one (in input order).
 */
int reconcile_batch(struct reconcile_ctx *ctx, const struct manifest_function *const *fns, size_t n,
                    const struct reconcile_options *opt, struct reconcile_result *ret);

#endif
