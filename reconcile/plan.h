/*
 * plan.h - the pure heart of aliasd: (desired, observed) -> ordered steps.
 * reconcile/resolve.c resolves releases to versions, reconcile/plan.c plans.
 *
 * Nothing here does I/O.  reconcile/observe fills a `struct plan_observed` from
 * Lambda, reconcile/desired fills a `struct plan_desired` from the manifest
 * model, plan_build() decides, reconcile/apply runs the steps.
 *
 * Invariants plan_build() guarantees (tests/unit/test_reconcile_plan.c holds
 * each one):
 *  - An alias step only ever targets the resolution of a declared release, a
 *    declared `version:` pin or a declared numeric alias version.  A numeric
 *    target that is not published is an error for the whole function, never a
 *    step.
 *  - A release that resolves (its `version:` pin, else of the published
 *    versions whose CodeSha256 and every managed config field match: the
 *    newest one served (primary or weighted) by an alias the manifest
 *    declares with that release, else, when nothing prunes versions, the
 *    newest one any alias serves, else the newest) is never published again; an in-sync function plans
 *    zero steps.  Two unresolved
 *    releases with the same code and configuration are published once
 *    (plan->same_as), never twice around a different one.
 *  - $LATEST is only touched to publish an unresolved release: a human change
 *    to $LATEST is never "repaired" and never published.
 *  - Rollback (the alias's target already published) is exactly one
 *    UPDATE_ALIAS step.
 *  - Each PUBLISH step is preceded (when needed) by WAIT_UPDATED, UPDATE_CODE,
 *    WAIT_UPDATED, UPDATE_CONFIG, WAIT_UPDATED and followed by WAIT_VERSION;
 *    the apply side sends the release's CodeSha256 and the RevisionId of the
 *    last observation that showed $LATEST equal to the release.
 *  - An alias with a rollout never has its description managed; a change of
 *    its target, a Progressing record in its description or an operator
 *    command is one PLAN_STEP_ROLLOUT (a new alias is a CREATE_ALIAS on the
 *    target); a RolledBack record for the same target and desired_id, with
 *    the alias back on the old version, is a ROLLOUT_HELD and no write.
 *  - Alias writes come after every publish; deletions come last.  An alias
 *    delete only happens with prune.aliases; a version delete only with
 *    keepVersions, and never for a version that an alias (declared target,
 *    or an observed alias that stays) references, primary or weighted, nor
 *    the `from`/`to` of a Progressing rollout record in an observed alias's
 *    description, nor one that resolves a declared release (it would be
 *    republished on the next pass), nor one that a release of
 *    desired->history resolves to (prune.keepHistory: a revert is then one
 *    UpdateAlias), nor one of the newest `keepVersions` versions.
 *    Deletions are planned oldest first (reconcile/prune.c).
 *  - From a partial observation (plan_observed.partial) the plan is the one
 *    the full observation gives, or -ENODATA and no plan: whenever
 *    plan_partial_enough() is true (every release resolves to a version an
 *    alias serves or to its pin, every numeric target was read, nothing is
 *    pruned), and only then.  Such a plan publishes nothing.
 *
 * Configuration: each managed field holds a canonical string (numbers in
 * decimal, environment as canonical JSON with sorted keys, see
 * plan_env_canonical()); a field whose bit is clear in `mask` is not managed
 * and never compared nor sent.
 *
 * Ownership: every `char *` inside plan_desired / plan_observed is malloc'ed
 * and owned by the struct; free with plan_desired_release() / plan_observed_release().
 * A `struct plan` borrows nothing: steps hold indices into the desired and
 * observed structs it was built from, which must outlive it.
 */
#ifndef ALIASD_RECONCILE_PLAN_H
#define ALIASD_RECONCILE_PLAN_H

#include <stdbool.h>
#include <stddef.h>

#include "reconcile/rollout.h"
#include "util/buf.h"
#include "util/error.h"

#define PLAN_SHA_MAX         72  /* base64 SHA-256 is 44 chars; hex 64 */
#define PLAN_REVISION_MAX    72  /* RevisionId (a UUID) */
#define PLAN_DESCRIPTION_MAX 256 /* Lambda's limit for version descriptions */
#define PLAN_MAX_RELEASES    1000
#define PLAN_MAX_ALIASES     1000
#define PLAN_DESIRED_ID_SIZE 17 /* 16 hex digits */

enum plan_cfg_field {
	PLAN_CFG_RUNTIME,
	PLAN_CFG_HANDLER,
	PLAN_CFG_ROLE,
	PLAN_CFG_MEMORY_SIZE,
	PLAN_CFG_TIMEOUT,
	PLAN_CFG_ENVIRONMENT,       /* canonical JSON object of the variables */
	PLAN_CFG_EPHEMERAL_STORAGE, /* MB, decimal */
	PLAN_CFG_DESCRIPTION,       /* the function's ($LATEST) description */
	PLAN_CFG_N
};

/* Manifest spelling of each field ("memorySize"), for messages. */
extern const char *const plan_cfg_names[PLAN_CFG_N];
/* Lambda API spelling of each field ("MemorySize"). */
extern const char *const plan_cfg_api_names[PLAN_CFG_N];

struct plan_config {
	unsigned mask;         /* bit (1u << field): managed / known */
	char *val[PLAN_CFG_N]; /* canonical value when the bit is set, else NULL */
};

enum plan_code_kind {
	PLAN_CODE_NONE = 0, /* a `version:` pin: no code of its own */
	PLAN_CODE_ZIP,      /* zip file in the snapshot */
	PLAN_CODE_S3,
	PLAN_CODE_IMAGE,
};

struct plan_code {
	enum plan_code_kind kind;
	char sha256[PLAN_SHA_MAX];             /* CodeSha256 as Lambda reports it (base64) */
	char *zip_path;                        /* ZIP: path in the snapshot (for messages and reading) */
	char *s3_bucket, *s3_key, *s3_version; /* S3 (s3_version may be NULL) */
	char *image_uri;                       /* IMAGE */
};

struct plan_release {
	char *name;
	long pin;                  /* > 0: adopt published version `pin` as is */
	struct plan_code code;     /* unless pinned */
	struct plan_config config; /* effective managed config (function + release overrides) */
	char *description;         /* user's description, may be NULL */
};

/* An alias target: a declared release (index) or a number. */
struct plan_ref {
	long release; /* index into desired->releases, or -1 */
	long version; /* when release < 0: the published version number */
};

struct plan_alias {
	char *name;
	struct plan_ref primary;
	bool weighted;
	struct plan_ref extra; /* when weighted */
	double weight;         /* 0 < weight < 1 */
	char *description;     /* NULL: not managed */
	/*
	 * A declared rollout (DESIGN §6): a change of the target is a
	 * PLAN_STEP_ROLLOUT, run by reconcile/rollout_run; the description is
	 * then never managed (it holds the rollout's record).  The spec is a
	 * copy; alarm names and preTraffic stay in the manifest model.
	 */
	bool has_rollout;
	struct rollout_spec rollout;
	/* An operator's command for this pass (`aliasd rollout ...`): plans a ROLLOUT step whatever the
	 * record */
	enum rollout_command command;
};

struct plan_desired {
	char *function; /* name or ARN */
	char *commit;   /* snapshot revision (40 hex) or NULL/"" for a folder */
	struct plan_release *releases;
	size_t n_releases;
	struct plan_alias *aliases;
	size_t n_aliases;
	bool prune_aliases;
	long keep_versions; /* < 0: never delete versions */
	/*
	 * Fingerprint of the function's declared state (16 hex digits of a
	 * SHA-256 over its releases, aliases and rollouts in a canonical form):
	 * a rolled-back rollout is tried again only when it changes.  "" = none.
	 */
	char desired_id[PLAN_DESIRED_ID_SIZE];
	/*
	 * prune.keepHistory: what the last N commits declared (releases of
	 * older manifests of this function, each with its code and effective
	 * config, or a `version:` pin; names and descriptions are for messages
	 * only).  The version each resolves to as plan_resolve() would (its pin,
	 * else the newest match) is never deleted.  Only read with keep_versions
	 * >= 0.
	 */
	struct plan_release *history;
	size_t n_history;
};

enum plan_state { PLAN_STATE_ACTIVE = 0, PLAN_STATE_PENDING, PLAN_STATE_INACTIVE, PLAN_STATE_FAILED };
enum plan_update { PLAN_UPDATE_SUCCESSFUL = 0, PLAN_UPDATE_IN_PROGRESS, PLAN_UPDATE_FAILED };

struct plan_version {
	long number; /* 0 = $LATEST */
	char code_sha256[PLAN_SHA_MAX];
	struct plan_config config; /* every field it reports, canonical */
	char *description;         /* may be NULL */
	enum plan_state state;
	long long code_size; /* CodeSize in bytes, 0 when unknown */
};

struct plan_observed_alias {
	char *name;
	long version;       /* 0 if it points at $LATEST (never aliasd's doing) */
	long extra_version; /* 0 = no weighted version */
	double weight;
	char *description;
	char revision_id[PLAN_REVISION_MAX];
};

struct plan_observed {
	bool exists;
	struct plan_version latest; /* $LATEST */
	char revision_id[PLAN_REVISION_MAX];
	enum plan_state state;
	enum plan_update last_update;
	struct plan_version *versions; /* published, any order */
	size_t n_versions;
	struct plan_observed_alias *aliases;
	size_t n_aliases;
	/*
	 * versions holds only what a function's aliases serve (primary and
	 * weighted) plus the versions the desired state names by number (pins,
	 * numeric alias targets) that exist: an observation without the version
	 * list (reconcile_observe_aliased).  plan_build() plans from it only
	 * when plan_partial_enough() says it gives the plan a full observation
	 * would; it never publishes from one.
	 */
	bool partial;
};

enum plan_step_kind {
	PLAN_STEP_CREATE_FUNCTION, /* release: code + config of desired->releases[release] */
	PLAN_STEP_WAIT_UPDATED,    /* until State Active and LastUpdateStatus not InProgress */
	PLAN_STEP_UPDATE_CODE,     /* release */
	PLAN_STEP_UPDATE_CONFIG,   /* release, config_mask = fields that differ */
	PLAN_STEP_PUBLISH,         /* release */
	PLAN_STEP_WAIT_VERSION,    /* release: until its new version is Active */
	PLAN_STEP_CREATE_ALIAS,    /* alias (desired index) */
	PLAN_STEP_UPDATE_ALIAS,    /* alias (desired index), obs_alias (observed index) */
	PLAN_STEP_DELETE_ALIAS,    /* obs_alias (observed index) */
	PLAN_STEP_DELETE_VERSION,  /* version */
	/*
	 * alias (desired index), obs_alias: a rollout alias (has_rollout) whose
	 * target changed, whose record (its observed description) says
	 * Progressing, or that an operator command names: reconcile/rollout_run
	 * decides with rollout_next() and writes what it says.
	 */
	PLAN_STEP_ROLLOUT,
	/*
	 * Not a write: a rollout alias whose record says RolledBack for this
	 * target and desired_id, and that is back on the old version: nothing is
	 * written until the declared state changes or `aliasd rollout retry`.
	 */
	PLAN_STEP_ROLLOUT_HELD,
};

struct plan_step {
	enum plan_step_kind kind;
	long release;   /* desired release index, or -1 */
	long alias;     /* desired alias index, or -1 */
	long obs_alias; /* observed alias index, or -1 */
	long version;   /* DELETE_VERSION */
	unsigned config_mask;
};

struct plan {
	struct plan_step *steps;
	size_t n_steps;
	/*
	 * Per desired release: the version it resolves to (> 0), or 0 when a
	 * PUBLISH step of this plan will create it (apply fills it in).
	 */
	long *resolved;
	size_t n_resolved;
	/*
	 * Per desired release: -1, or the index of an EARLIER release of this
	 * plan with the same code and managed configuration that this plan
	 * publishes.  Such a release gets no steps of its own (publishing it
	 * again after a different release would create a second version of the
	 * same code): apply sets its resolution when that release is published
	 * (plan_resolution_set()).
	 */
	long *same_as;
};

#define PLAN_INIT                                                                                            \
	{                                                                                                    \
		NULL, 0, NULL, 0, NULL                                                                       \
	}

/*
 * Record that release `release` was published as `version`: sets
 * p->resolved for it and for every release that is the same as it.
 */
void plan_resolution_set(struct plan *p, size_t release, long version);

/* True for every kind that writes (everything but the two WAIT kinds and ROLLOUT_HELD). */
bool plan_step_is_write(enum plan_step_kind kind);
/* "create-function", "wait-updated", ..., for JSON output and logs. */
const char *plan_step_kind_name(enum plan_step_kind kind);
size_t plan_count_writes(const struct plan *p);

/*
 * Resolve each release of `d` against `o`: ret_resolved[i] = version number,
 * or 0 if unresolved.  `ret_resolved` has d->n_releases entries.  A `version:`
 * pin that is not published: -ENOENT with the release named in err.
 * Of several matching versions the newest one that an alias declared with
 * this release serves wins, else (keep_versions < 0: pruning protects what
 * resolves, which must not move when an alias does) the newest one any
 * alias serves, else the newest: an alias already on a copy of its release stays there (no write,
 * its provisioned concurrency left alone), and the answer needs no version
 * that no alias serves whenever some alias serves a match.
 */
int plan_resolve(long *ret_resolved, const struct plan_desired *d, const struct plan_observed *o,
                 struct error *err);

/*
 * Build the ordered steps that make `o` match `d`.  On success *ret (which
 * must be PLAN_INIT or released) owns its arrays; free with plan_release().
 * Errors (nothing written to *ret): -ENOENT a pinned/numeric version is not
 * published; -EINVAL the desired state cannot be reached (e.g. the function
 * does not exist and no release has code, an index out of range); -ENOMEM.
 */
int plan_build(struct plan *ret, const struct plan_desired *d, const struct plan_observed *o,
               struct error *err);
void plan_release(struct plan *p);

/*
 * One human line for step `s` (no newline), Terraform-style:
 *   "+ create function my-fn (code 3f9a1b2c, from artifacts/Version1.zip)"
 *   "~ update code for release v2 (code 3f9a1b2c, from artifacts/Version2.zip)"
 *   "~ update configuration for release v2: memorySize, timeout"
 *   "+ publish release v2 (code 3f9a1b2c, from artifacts/Version2.zip)"
 *   "~ alias Prod: v1 (1) -> v2 (2)"  (the arrow is U+2192)
 *   "+ alias Test: v2 (new)"
 *   "- alias Old (3)"
 *   "- version 3 (v1 @1a2b3c4, 12.4 MiB)"  (plan_delete_version_describe)
 *   "~ alias Prod: v1 (1) -> v2 (2) by rollout [10%, 50%] every 5m"   (ROLLOUT)
 *   "= alias Prod: rolled back (REASON); aliasd rollout retry FN Prod" (ROLLOUT_HELD)
 * WAIT steps render as "  wait ..." lines.  Version numbers come from
 * p->resolved (0 = "new").  Appends to `out`.
 */
int plan_step_describe(struct buf *out, const struct plan *p, const struct plan_step *s,
                       const struct plan_desired *d, const struct plan_observed *o);

/*
 * Pruning (reconcile/prune.c).  The published versions of `o` that
 * keepVersions deletes, given the releases' resolutions `resolved` (0 = this
 * plan publishes it; `n_publish` such versions) and every protection listed
 * at the top: *ret_versions (malloc'ed, oldest first, may be NULL with
 * *ret_n = 0).  Nothing when d->keep_versions < 0.  -ENOMEM.
 */
int plan_prune_select(long **ret_versions, size_t *ret_n, const struct plan_desired *d,
                      const struct plan_observed *o, const long *resolved, size_t n_publish);

/*
 * The trace of a version as aliasd publishes it (see
 * plan_publish_description()): "v2 @ab12cd3" from "v2 @ab12cd3: first
 * release", "v2" from "v2"; 0 and "" when `description` is not one of
 * aliasd's (or NULL).  Returns the trace's length.
 */
size_t plan_version_trace(char *out, size_t outsz, const char *description);

/*
 * The line of a DELETE_VERSION step: "- version 3 (r1 @1a2b3c4, 12.4 MiB)",
 * "- version 3 (12.4 MiB)" without a trace, "- version 3" when `o` does not
 * list it.  Appends to out.
 */
int plan_delete_version_describe(struct buf *out, const struct plan_observed *o, long version);

/*
 * The description PublishVersion carries: "RELEASE @COMMIT7: DESCRIPTION",
 * "RELEASE @COMMIT7", "RELEASE: DESCRIPTION" or "RELEASE", cut at
 * PLAN_DESCRIPTION_MAX bytes on a UTF-8 character boundary.  Appends to out.
 */
int plan_publish_description(struct buf *out, const struct plan_desired *d, size_t release);

/*
 * Canonical environment: {"K1":"V1","K2":"V2"} with keys sorted bytewise and
 * JSON string escaping; n == 0 gives {}.  Appends to out.
 */
int plan_env_canonical(struct buf *out, const char *const *keys, const char *const *vals, size_t n);

/* Short hex form of a base64 (or hex) CodeSha256: the first 8 hex digits. */
void plan_sha_short(char out[16], const char *sha256);

/*
 * True if `v`'s code and every field managed by `r->config` match, except
 * the description: a published version's Description is aliasd's trace
 * ("v2 @ab12cd3: ..."), so the function description a manifest manages is
 * applied to $LATEST before a publish but never decides resolution.
 */
bool plan_version_matches(const struct plan_version *v, const struct plan_release *r);

/*
 * Fields managed by `want` whose value differs in `have` (a field absent from
 * `have` equals "" and "{}", as Lambda omits empty values).
 */
unsigned plan_config_diff(const struct plan_config *have, const struct plan_config *want);

/* Set every field that `src` manages in `dst` (others untouched). -ENOMEM. */
int plan_config_overlay(struct plan_config *dst, const struct plan_config *src);
/*
 * What plan_resolve() gives release `r`, d->releases[index] (-1: a release
 * of d->history, which no alias declares): 0 unresolved; a pin as it is,
 * published or not.
 */
long plan_resolve_release(const struct plan_desired *d, long index, const struct plan_release *r,
                          const struct plan_observed *o);

/*
 * Does the partial observation `o` (plan_observed.partial) plan as the full
 * one would?  True when the function exists, nothing prunes versions
 * (keep_versions < 0), every release resolves to its pin (read) or to a
 * version an observed alias serves, and every numeric alias target was
 * read.  A full observation is always enough.
 */
bool plan_partial_enough(const struct plan_desired *d, const struct plan_observed *o);

/* The published version `number` of `o`, or NULL. */
const struct plan_version *plan_version_find(const struct plan_observed *o, long number);

int plan_config_set(struct plan_config *c, enum plan_cfg_field f, const char *val);
int plan_config_copy(struct plan_config *dst, const struct plan_config *src);
void plan_config_release(struct plan_config *c);

void plan_desired_release(struct plan_desired *d);
void plan_observed_release(struct plan_observed *o);
void plan_version_release(struct plan_version *v);

#endif
