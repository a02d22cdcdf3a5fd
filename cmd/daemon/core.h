/*
 * core.h - the daemon's decisions, as pure functions over an explicit state
 * (DESIGN.md §3 and §4): the function table, the loaded commits
 * ("generations"), keep-last-good, supersede, per-function backoff, resync
 * and the Git poll schedule.  Nothing here locks, logs, reads a clock or does
 * I/O: the shell (loop.c, jobs.c) passes `now` (monotonic ms) and `rnd` (a
 * uniform random 32-bit value for jitter) and acts on what the core decided.
 * tests/unit/test_cmd_daemon_core.c holds each transition.
 *
 * Invariants:
 *  - A function's desired state (`fn`, inside generation `gen`) is always
 *    the newest VALID declaration seen for it: a commit whose manifest for
 *    it is broken leaves fn/gen/hash unchanged and only sets `invalid` and
 *    `manifest_error` ("keep last good").  Such a function is not Failed:
 *    its state says how its last good state is doing in Lambda.
 *  - A changed desired state (hash) supersedes whatever happened before: the
 *    failure count, last error and Stalled are cleared and it is due at once.
 *    A reconcile that finishes for an older hash is recorded as superseded
 *    (due again at once), never as a success or failure of the new one.
 *  - Failures of kind TERMINAL make a function Stalled: never retried until
 *    its hash changes, the configuration changes (core_config_changed) or a
 *    reconcile of everything is asked for (SIGUSR1, core_reconcile_all).
 *    Every other failure (TRANSIENT, CONFLICT, CREDENTIALS, NOT_FOUND, and
 *    UNSPECIFIED, as before kinds existed) backs off: base * 2^(n-1), capped
 *    at backoff_max.  CANCELED changes nothing (due again at once).
 *  - Success schedules the next resync (resync +-10%; never when resync is 0).
 *  - Rollouts (DESIGN §6; core_rollout_finish): a function whose reconcile
 *    left a rollout waiting for time (reconcile_result.next_check) is due
 *    again at that time, whatever the resync and the Git poll say, and such
 *    a due check goes first (core_next_job takes it before any other due
 *    function).  While a rollout progresses the function is Progressing
 *    (its commit is not applied yet); a rollout rolled back (an alarm, a
 *    failed preTraffic, `aliasd rollout abort`; not a revert in Git) makes
 *    it Stalled with the reason: the engine does not try again until the
 *    desired state changes, yet resyncs still repair drift, and it is
 *    looked at every CORE_HELD_CHECK_MS (reads only) so that an `aliasd
 *    rollout retry` or `promote` from the CLI is followed.  A failed
 *    reconcile during a rollout is retried within the guard period, never
 *    after a longer backoff.  A new desired state supersedes a pending check.
 *    A resync that cannot fit its period at the rate is spread over a longer
 *    period instead, so it is paced rather than throttled: each (account,
 *    region) pair's functions against that pair's rate as its limiter
 *    allows now (core_resync_rates; the configured rate until told), a
 *    function's next resync after that pair's period (see core_resync).
 *  - Only a job for a changed desired state may plan from the daemon's cache
 *    of observed state (core_fn.from_cache); resyncs, retries, SIGUSR1 and
 *    restored states observe Lambda afresh.
 *  - One job per function at a time, at most `concurrency` in flight, plus
 *    CORE_GUARD_LANES more that only a rollout's due check may take (so an
 *    alarm's rollback never waits for a long reconcile to end); a job holds
 *    a reference on the generation it reconciles.  The shell runs
 *    `concurrency + CORE_GUARD_LANES` workers.
 *  - A restored last good state (core_restore, from the state file) is used
 *    only for a function the newest commit breaks and that has no last good
 *    state of its own; a valid declaration replaces it.
 *  - Git: pokes (webhook, SIGUSR1) merge: while Git is failing a poke leaves
 *    the backoff alone; otherwise it moves the next poll to now, but never
 *    sooner than CORE_POKE_GAP_MS after the previous poll a poke caused
 *    (a lone push is polled at once; a storm costs one poll per gap).
 *  - A generation is freed (core_collect) once no function and no job holds
 *    it (`refs`); a removed function once no job holds it.
 *
 * Ownership: the core owns every core_fn and every generation added with
 * core_load()/core_restore() (their manifest set and source included).
 */
#ifndef ALIASD_CMD_DAEMON_CORE_H
#define ALIASD_CMD_DAEMON_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "manifest/load.h"
#include "manifest/model.h"
#include "manifest/source.h"
#include "reconcile/rollout.h"
#include "util/error.h"

#define CORE_REV_LEN           41 /* a full commit id + NUL */
#define CORE_HASH_LEN          32
#define CORE_ERRORS_SHOWN      50   /* manifest errors kept for /status */
#define CORE_POKE_GAP_MS       2000 /* webhook/SIGUSR1 polls at most this often */
#define CORE_GUARD_LANES       1    /* jobs beyond `concurrency`, for rollouts' due checks only */
#define CORE_NEVER             UINT64_MAX
#define DAEMON_BACKOFF_BASE_MS 1000ULL
#define CORE_HELD_CHECK_MS     30000 /* a rolled back rollout is looked at this often (rollout retry) */
#define CORE_RESYNC_CALLS      1.1 /* counted calls an in-sync resync costs a function (reconcile/cache.h) */
#define CORE_RESYNC_SHARE      0.8 /* of the rate resyncs may use: the rest is for commits and retries */

enum daemon_sync_state {
	DAEMON_SYNCED = 0,
	DAEMON_OUT_OF_SYNC,
	DAEMON_PROGRESSING,
	DAEMON_FAILED,
	DAEMON_STALLED,
	DAEMON_STATE_N
};

/* "Synced", "OutOfSync", "Progressing", "Failed", "Stalled". */
const char *daemon_sync_state_name(enum daemon_sync_state s);

/* base * 2^(failures-1), capped at max (failures 0 -> 0). */
uint64_t daemon_backoff_ms(unsigned failures, uint64_t base_ms, uint64_t max_ms);

/* interval +- 10%, `r` a uniform random 32-bit value. */
uint64_t daemon_jitter_ms(uint64_t interval_ms, uint32_t r);

/*
 * SHA-256 of everything in `fn` that is desired state (name, region, config,
 * releases, aliases, prune; not its file or position): two commits that
 * leave a function's manifest unchanged give the same hash.
 */
void daemon_function_hash(const struct manifest_function *fn, unsigned char ret[CORE_HASH_LEN]);

/* One loaded commit: the manifests and the snapshot their zips are read from. */
struct core_gen {
	struct manifest_set *set;    /* owned */
	struct manifest_source *src; /* owned */
	/* prune.keepHistory (manifest/history.h), owned; NULL: not read (no version deletes) */
	struct manifest_history *history;
	char revision[CORE_REV_LEN]; /* "" for a folder */
	unsigned refs;               /* functions and jobs using it */
	struct core_gen *next;
};

/* An alias as Lambda has it (for /status). */
struct core_alias {
	char *name;
	long version, extra;
	double weight;
	/*
	 * Its declared rollout's record, from the reconcile result (owned; read
	 * it with core_alias_rollout()).  NULL when it has none (ROLLOUT_NONE):
	 * most aliases have none, and a record is some 350 bytes, which every
	 * alias of 10,000 functions would otherwise hold.
	 */
	struct rollout_progress *rollout;
	unsigned rollout_percent;  /* the new version's share now, 0..100 */
	unsigned rollout_steps;    /* the spec's number of steps */
	unsigned rollout_interval; /* the spec's interval, seconds (0 = not known) */
	/*
	 * The rollout of the desired state rolled back and is held there (an
	 * alarm, preTraffic, an abort; not a revert, and not an old record of
	 * another desired version): set by the shell from what the reconcile
	 * did and planned (core_rollout_failed, PLAN_STEP_ROLLOUT_HELD).
	 */
	bool rollout_failed;
};

/* a->rollout, or a record in state ROLLOUT_NONE (never NULL). */
const struct rollout_progress *core_alias_rollout(const struct core_alias *a);

/*
 * a->rollout = a copy of `p` (NULL or ROLLOUT_NONE: none; the old record
 * is freed).  0, or -ENOMEM (a->rollout is then NULL).
 */
int core_alias_set_rollout(struct core_alias *a, const struct rollout_progress *p);

/*
 * `n` zeroed aliases named `names[i]`, in one allocation with their names
 * (NULL: -ENOMEM); free with core_aliases_free().
 */
struct core_alias *core_aliases_new(size_t n, const char *const *names);

/* Free what core_aliases_new() returned, with the aliases' records (NULL accepted). */
void core_aliases_free(struct core_alias *a, size_t n);

/*
 * One function.  The fields are ordered by size (pointers and 64-bit
 * values, then 32-bit, then bytes) so that the struct has no padding
 * holes: the daemon holds one per function (10,000 of them at fleet scale).
 */
struct core_fn {
	/* the key (region NULL = the default), in the core_fn's own allocation */
	const char *name, *region;
	char *file;           /* where declared last */
	struct core_gen *gen; /* last good desired state: gen + function; NULL = none */
	const struct manifest_function *fn;
	char *manifest_error; /* first of its errors, "file:line:col: msg" */
	char *last_error;     /* last reconcile failure, "file:line:col: msg" */
	struct core_alias *actual;
	size_t n_actual;
	struct core_fn *hash_next; /* the core's index by key (core_fn_find) */
	uint64_t due;              /* monotonic ms; CORE_NEVER = nothing scheduled */
	uint64_t check_due;        /* a rollout's next check (monotonic ms), CORE_NEVER = none */
	time_t last_success;       /* wall clock, 0 = never (set by the shell) */
	unsigned line, col;
	enum daemon_sync_state state;
	enum error_kind error_kind; /* of last_error */
	unsigned failures;
	unsigned char hash[CORE_HASH_LEN];
	/*
	 * The desired state (hash) it last converged to in this process: the
	 * shell's drift detection (feedback.c) says a write to a converged
	 * state repairs a change made outside aliasd.  Valid when converged_known.
	 */
	unsigned char converged[CORE_HASH_LEN];
	char applied_rev[CORE_REV_LEN], attempted_rev[CORE_REV_LEN];
	bool converged_known;
	bool invalid;  /* the newest commit's manifest is broken for it */
	bool restored; /* its last good state came from the state file */
	bool in_flight;
	/*
	 * Its next job is for a new desired state (a commit changed it): it may
	 * plan from the observed-state cache (reconcile/cache.h).  Every other
	 * job (resync, retry, SIGUSR1, a restored state) observes afresh.
	 */
	bool from_cache;
	bool actual_known;
	bool seen;    /* scratch during a load */
	bool removed; /* no longer declared; freed when no job holds it */
};

struct core_options {
	uint64_t backoff_base_ms; /* 0 = DAEMON_BACKOFF_BASE_MS */
	uint64_t backoff_max_ms;
	uint64_t resync_ms;   /* 0 = never */
	uint64_t interval_ms; /* Git poll interval */
	double rate; /* counted calls/s per account and region (reconcile.rateLimit); 0 = no pacing */
};

#define CORE_RESYNC_PAIRS 64 /* (account, region) pairs paced apart; more share the last one */

/* One (account, region) pair's control-plane rate as its limiter allows now. */
struct core_rate {
	const char *account; /* 12 digits; NULL/"" = the default credentials */
	const char *region;  /* NULL/"" = the default region */
	double rate;         /* requests/s now (aws_client_control_rate) */
};

/*
 * What the shell tells the core about the rates (core_resync_rates).  A
 * function's pair is (the account of its ARN when that account has a role,
 * else "" (the default credentials: plain names, its own account); its
 * manifest region, else its ARN's, with the default region's name being
 * ""), as reconcile/ctx.c picks its client.
 */
struct core_rates {
	const char *default_region;       /* the default region's name, NULL = unknown */
	const char *const *role_accounts; /* accounts of aws.roles */
	size_t n_role_accounts;
	const struct core_rate *rates; /* the limiters made so far; the others: opt.rate */
	size_t n_rates;
};

/* One pair's share of the resync (core_resync.pairs). */
struct core_pair {
	char account[13]; /* "" = the default credentials */
	char region[64];  /* "" = the default region */
	size_t functions; /* live functions */
	double rate;      /* min(its limiter's rate now, opt.rate); 0 = not known (opt.rate) */
	uint64_t period_ms;
};

/*
 * The resync as scheduled (DESIGN §8), recomputed at each load, config
 * change and core_resync_rates.  Each pair is paced by its own rate (one
 * throttled region does not slow the others down): a function's resync
 * comes after its pair's period; what is shown (/status, the log) is the
 * pair whose resync needs the longest period.  Resyncs already scheduled
 * keep their time (the limiter paces their calls); the next ones use the
 * new period.
 */
struct core_resync {
	uint64_t period_ms; /* the longest pair's: opt.resync_ms, or longer when spread */
	uint64_t spread_ms; /* 0: every pair fits the period; else the longest one (= period_ms) */
	size_t functions;   /* of that pair (no pacing: of the busiest pair) */
	double rate;        /* that pair's rate: what its limiter allows now, opt.rate until known */
	char account[13], region[64]; /* that pair ("" = default credentials / region) */
	/* inputs of core_resync_rates, kept for the recomputations */
	char default_region[64];
	char roles[CORE_RESYNC_PAIRS][13];
	size_t n_roles;
	struct core_pair pairs[CORE_RESYNC_PAIRS];
	size_t n_pairs;
};

/*
 * The period a resync of `n` functions costing `calls` counted calls each
 * needs at `rate` calls/s: max(resync_ms, n x calls / (rate x
 * CORE_RESYNC_SHARE)), rounded up to a second.  resync_ms 0 (never) stays
 * 0; rate <= 0: resync_ms.
 */
uint64_t core_resync_period_ms(uint64_t resync_ms, size_t n, double calls, double rate);

/*
 * The rates now (the shell calls this at each resync planning: before a
 * load or a config change is applied, and every second or so): recomputes
 * c->resync.  Copies what it keeps.
 */
struct core;
void core_resync_rates(struct core *c, const struct core_rates *r);

/*
 * The log line of a spread resync, saying the rate used: "resync of N
 * functions spread over Ss: rate R/s", then " (the limiter's now; configured
 * C/s)" when that is below `configured`, and " in account A region R" for a
 * pair other than the defaults.  "" when the resync is not spread.
 */
void core_resync_describe(const struct core_resync *rs, double configured, char *out, size_t outsz);

/* Recompute c->resync from the table and the rates last told (a load, a config change). */
void core_resync_update(struct core *c);
/* The period st's resyncs are scheduled with: its pair's. */
struct core_fn;
uint64_t core_fn_resync_period(const struct core *c, const struct core_fn *st);

struct core {
	struct core_options opt;
	struct core_fn **fns;
	size_t n_fns, alloc_fns;
	/* every core_fn by its key, chained through hash_next: core_fn_find in O(1) */
	struct core_fn **index;
	size_t n_index; /* buckets: a power of two, >= n_fns */
	struct core_gen *gens;
	bool loaded;                    /* a load succeeded at least once */
	char loaded_rev[CORE_REV_LEN];  /* newest commit loaded */
	char applied_rev[CORE_REV_LEN]; /* newest commit whose every valid function converged */
	char *manifest_errors[CORE_ERRORS_SHOWN];
	size_t n_manifest_errors, total_manifest_errors;
	unsigned in_flight;
	struct core_resync resync;
	/* Git schedule */
	uint64_t next_poll;       /* when to ask the remote next */
	uint64_t last_poll_start; /* CORE_NEVER before the first */
	uint64_t last_poke_poll;  /* start of the last poll a poke asked for; CORE_NEVER = none */
	bool poke_pending;        /* the next poll is a poke's */
	unsigned git_failures;
};

void core_init(struct core *c, const struct core_options *opt);
/* Free everything (jobs must be finished). */
void core_release(struct core *c);

/* The live function `name`/`region`, or NULL. */
struct core_fn *core_fn_find(struct core *c, const char *name, const char *region);

/* What core_load() saw, for the shell's log line. */
struct core_load_stats {
	size_t changed, kept, removed;
};

/*
 * A loaded commit: takes ownership of `g` (refs are the core's business;
 * g->refs must be 0) and applies keep-last-good and supersede to the table.
 * `on_removed` (may be NULL) is called for each function no longer declared.
 * Returns 0, or -ENOMEM (then nothing changed and g is not taken).
 */
int core_load(struct core *c, struct core_gen *g, uint64_t now, struct core_load_stats *ret_stats,
              void (*on_removed)(void *arg, const struct core_fn *fn), void *arg);

/*
 * Adopt `fn` of generation `g` (a commit read again from the state file) as
 * the last good state of a function the newest commit breaks and that has
 * none yet: the function named like fn is invalid in the newest load (or
 * undeclared because its file `fn->file` is broken there), with no desired
 * state.  `hash` must be fn's hash.  Takes ownership of `g` when it returns
 * 1 (adopted); 0 = nothing to adopt (g not taken); -ENOMEM.  The function is
 * due at once: its reconcile confirms the last good state, and writes only
 * if Lambda drifted from it.
 */
int core_restore(struct core *c, struct core_gen *g, const struct manifest_function *fn, uint64_t now);

/*
 * The next function to reconcile, or NULL when none is due (or
 * `concurrency` jobs are in flight).  It is marked in flight (Progressing,
 * attempted revision set) and holds a reference on its generation until
 * core_finish().
 */
struct core_fn *core_next_job(struct core *c, uint64_t now, unsigned concurrency);

/* How a finished reconcile was recorded. */
enum core_outcome {
	CORE_OUTCOME_SUCCESS,
	CORE_OUTCOME_SUPERSEDED, /* a newer desired state arrived meanwhile: due again now */
	CORE_OUTCOME_CANCELED,   /* stopped: due again now, nothing recorded */
	CORE_OUTCOME_RETRY,      /* failed, retried after *ret_wait_ms */
	CORE_OUTCOME_STALLED,    /* failed terminally: not retried */
	CORE_OUTCOME_REMOVED,    /* no longer declared: nothing recorded */
};

/*
 * A job started by core_next_job() finished.  `gen`/`hash` are what the job
 * reconciled; `status` 0 or a negative errno; `kind` its error kind
 * (ignored on success); `message` the failure as shown ("file:line:col: ...",
 * copied).  Releases the job's generation reference.
 */
enum core_outcome core_finish(struct core *c, struct core_fn *st, struct core_gen *gen,
                              const unsigned char hash[CORE_HASH_LEN], int status, enum error_kind kind,
                              const char *message, uint64_t now, uint32_t rnd, uint64_t *ret_wait_ms);

/*
 * Recompute the newest applied revision: the newest load is applied when it
 * has no manifest error and every function is synced to it.  Returns true
 * when c->applied_rev changed.
 */
bool core_applied_update(struct core *c);

/* ---- rollouts ------------------------------------------------------------------ */

/*
 * reconcile_result.next_check (unix seconds, 0 = none) as a monotonic
 * deadline: `wall_ms` and `mono_ms` are the two clocks read now.  A time in
 * the past is `mono_ms`; 0 is CORE_NEVER.
 */
uint64_t core_check_time(int64_t next_check, int64_t wall_ms, uint64_t mono_ms);

/* What one alias's rollout did between two observations (core_rollout_change). */
enum core_rollout_change {
	CORE_ROLLOUT_SAME = 0,    /* nothing to report (also: nothing known before) */
	CORE_ROLLOUT_STARTED,     /* a new rollout is Progressing */
	CORE_ROLLOUT_STEPPED,     /* the same rollout moved to another step */
	CORE_ROLLOUT_SUCCEEDED,   /* finished after its last step */
	CORE_ROLLOUT_PROMOTED,    /* finished before its time (`aliasd rollout promote`, or by hand) */
	CORE_ROLLOUT_ROLLED_BACK, /* an alarm, a missing alarm, preTraffic, or a revert in Git */
	CORE_ROLLOUT_ABORTED,     /* `aliasd rollout abort` */
};

/*
 * Compare an alias's rollout before (NULL: not known, e.g. the first
 * reconcile after a start) and now.  A rollout is one (from, to,
 * desired_id); an outcome is reported once: when the record reaches
 * Succeeded or RolledBack with something different before.  A rollout that
 * starts and ends in one reconcile (AllAtOnce) reports its outcome only.
 * With nothing known before, only what this reconcile did is reported: a
 * record whose `since` is at or after `started_s` (unix seconds, when the
 * reconcile began); the process before a restart reported the rest.  An
 * alias created on its version at once (from 0) is no rollout.  A rollout
 * that finished before its last step, or before its last step's interval
 * was up (seen from its step before), was promoted.
 */
enum core_rollout_change core_rollout_change(const struct core_alias *before, const struct core_alias *now,
                                             int64_t started_s);
/* "started", "stepped", "succeeded", "promoted", "rolled_back", "aborted"; NULL for SAME. */
const char *core_rollout_change_name(enum core_rollout_change c);

/*
 * A RolledBack record that may be a failure: rolled back by an alarm, a
 * missing alarm, a failed preTraffic or an abort; not a revert (the
 * desired state is the old version again: nothing failed).  Whether it is
 * the desired state's is the shell's to say (core_alias.rollout_failed).
 */
bool core_rollout_failed(const struct rollout_progress *p);

/* What a function's aliases say about its rollouts, after a reconcile. */
struct core_rollouts {
	size_t progressing;              /* aliases with a Progressing rollout */
	const struct core_alias *failed; /* the first with rollout_failed, or NULL */
};
void core_rollouts_of(const struct core_alias *a, size_t n, struct core_rollouts *ret);

/*
 * After core_finish() returned `o` for `st`, with the aliases the
 * reconcile left (`a`, `n`; st->actual may still be the old ones) and its
 * next check `check_at` (core_check_time; CORE_NEVER = none): schedules the
 * check, and makes the state say what the rollouts say (see the
 * invariants).  `guard_ms` is the shortest guard period of the function's
 * rollouts (rollout_guard_period, in ms; 0 = none declared): a failed
 * reconcile while a rollout progresses is due again within it.  Returns the
 * outcome as recorded: CORE_OUTCOME_STALLED for a success whose rollout
 * failed, else `o`.
 */
enum core_outcome core_rollout_finish(struct core *c, struct core_fn *st, enum core_outcome o,
                                      const struct core_alias *a, size_t n, uint64_t check_at,
                                      uint64_t guard_ms, uint64_t now);

/* The shortest guard period of fn's declared rollouts, in ms (0 = none). */
uint64_t core_guard_ms(const struct manifest_function *fn);

/*
 * Earliest deadline: the next poll (when `poll`), or a due function if a
 * worker is free (only a rollout's check when just a guard lane is).
 */
uint64_t core_next_deadline(const struct core *c, unsigned concurrency, bool poll);

/* Drop removed functions and generations nobody holds. */
void core_collect(struct core *c);

/* Counts by state over the live functions; returns the total. */
size_t core_counts(const struct core *c, size_t counts[DAEMON_STATE_N]);

/* SIGUSR1: every function with a desired state is due now (Stalled too). */
void core_reconcile_all(struct core *c, uint64_t now);

/*
 * New options (config reload): Stalled functions are due now (the config
 * may have been their problem), resync changes apply from now on: synced
 * functions whose next resync lies beyond the new period are spread evenly
 * over it (`rnd` is unused).
 */
void core_config_changed(struct core *c, const struct core_options *opt, uint64_t now, uint32_t rnd);

/* Git: is a poll due? */
bool core_poll_due(const struct core *c, uint64_t now);
/* Git: a poll starts now. */
void core_poll_started(struct core *c, uint64_t now);
/*
 * Git: the poll succeeded: next one after the interval (jittered), or as a
 * poke that arrived while it ran asked.
 */
void core_poll_ok(struct core *c, uint64_t now, uint32_t rnd);
/*
 * Git: the poll failed: back off from the interval, doubling, capped at
 * max(interval, backoff_max).  Returns the wait (before jitter); the
 * failure count is c->git_failures.
 */
uint64_t core_poll_failed(struct core *c, uint64_t now, uint32_t rnd);
/* Git: a webhook push or SIGUSR1 asks for a poll (see the invariants). */
void core_poke(struct core *c, uint64_t now);
/* Git: poll now whatever the backoff says (the repository settings changed). */
void core_poll_now(struct core *c, uint64_t now);

#endif
