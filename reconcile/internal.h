/*
 * internal.h - helpers shared by the files of reconcile/, not part of its API.
 */
#ifndef ALIASD_RECONCILE_INTERNAL_H
#define ALIASD_RECONCILE_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>

#include "aws/cloudwatch.h"
#include "aws/lambda.h"
#include "reconcile/plan.h"
#include "reconcile/reconcile.h"

/* Every configuration field aliasd manages, canonical (see plan.h), from a Lambda answer. */
/*
 * The shared context (reconcile/ctx.c): one client per (account, region),
 * the stop flag.
 */
struct region_client {
	char account[13]; /* "" = the default credentials */
	char *region;     /* NULL = default */
	struct aws_client *client;
};

/* aws.roles: one assume-role credential provider per account, made on first use. */
struct account_role {
	char account[13];
	char *role_arn, *external_id;
	struct aws_credentials_provider *provider; /* NULL until first use */
};

struct region_cloudwatch {
	char account[13]; /* "" = the default credentials */
	char *region;     /* NULL = default */
	struct cloudwatch_client *client;
};

struct reconcile_ctx {
	pthread_mutex_t lock;       /* clients, roles, own_account */
	pthread_mutex_t event_lock; /* serialises on_event */
	struct aws_client_options copt;
	char *region, *profile, *endpoint;
	struct region_client clients[RECONCILE_MAX_CLIENTS];
	atomic_size_t n_clients;
	struct region_cloudwatch cloudwatch[RECONCILE_MAX_CLIENTS]; /* DescribeAlarms (rollouts) */
	atomic_size_t n_cloudwatch;
	atomic_int stopped; /* lock-free: set from signal context and other threads */
	struct account_role *roles;
	size_t n_roles;
	char *role_session_name;
	struct aws_credentials_provider *home; /* source of every AssumeRole; NULL until first use */
	char own_account[13];                  /* the default credentials' account, "" = not asked yet */
	pthread_mutex_t own_lock;              /* one GetCallerIdentity at a time (not under `lock`) */
};

/*
 * The credential provider for `account` (12 digits, NULL/"" = default):
 * *ret is the account's assume-role provider (owned by the context), or
 * NULL when the default chain applies (the caller makes its own, as
 * aws_client_new does).  Errors as reconcile_ctx_account_client.  For the
 * other AWS clients of a function (CloudWatch): pass *ret as
 * aws_client_options.credentials_provider.
 */
int reconcile_ctx_account_credentials(struct reconcile_ctx *ctx, const char *account,
                                      struct aws_credentials_provider **ret, struct error *err);
/*
 * The account of a function ARN (arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME)
 * into out (13 bytes), "" for a plain name.  -EINVAL when malformed.
 */
int reconcile_function_account(const struct manifest_function *fn, char out[13]);

/* Every configuration field aliasd manages, canonical (see plan.h), from a Lambda answer. */
int reconcile_config_from_lambda(struct plan_config *c, const struct lambda_function_config *lc);
/* A version (or $LATEST: number 0) from a Lambda answer; *v is overwritten. */
int reconcile_version_from_lambda(struct plan_version *v, const struct lambda_function_config *lc);

/* Set the numeric field `f` to the decimal form of `v`. */
int reconcile_config_set_num(struct plan_config *c, enum plan_cfg_field f, long v);

/*
 * Set PLAN_CFG_ENVIRONMENT to the canonical form (plan_env_canonical) of the
 * n variables of `vars`; get(vars, i, ...) hands out the name and value of
 * the i-th, borrowed.  The canonical text is wiped after use.  Returns >= 0
 * or a negative errno (-ENOMEM).
 */
int reconcile_config_set_env(struct plan_config *c, const void *vars, size_t n,
                             void (*get)(const void *vars, size_t i, const char **ret_name,
                                         const char **ret_value));

/*
 * One function's entries in a region's ListFunctions(FunctionVersion=ALL)
 * listing ($LATEST first, then its versions ascending; n = 0: the function
 * was not in the listing, so it did not exist when the region was listed).
 */
struct reconcile_listed {
	const struct lambda_function_config *items;
	size_t n;
};

/* Sort a ListFunctions(FunctionVersion=ALL) listing by name, then $LATEST, then versions ascending. */
void reconcile_listing_sort(struct lambda_function_config *items, size_t n);
/* `name`'s entries in a sorted listing (n = 0: none; items then points where they would be). */
struct reconcile_listed reconcile_listing_find(const struct lambda_function_config *items, size_t n,
                                               const char *name);

/*
 * reconcile_observe with the versions taken from a listing: only ListAliases
 * is called, and nothing at all for a function the listing does not have
 * (ret->exists = false).  err is required.
 */
int reconcile_observe_listed(struct aws_client *c, const char *function, const struct reconcile_listed *l,
                             struct plan_observed *ret, struct aws_error *err);

/*
 * The partial observation (plan_observed.partial) of `function` without its
 * version list: $LATEST (GetFunction), the aliases (ListAliases: the one
 * quota-counted call) and, each by GetFunction, the versions they serve and
 * those `d` names by number (pins, numeric alias targets; one that does not
 * exist is left out).  A function that does not exist: ret->exists false,
 * and it is not partial.  err is required.
 */
int reconcile_observe_aliased(struct aws_client *c, const char *function, const struct plan_desired *d,
                              struct plan_observed *ret, struct aws_error *err);

/*
 * Complete a partial observation: $LATEST and the versions from
 * ListVersionsByFunction, the aliases `o` has.  A function gone meanwhile
 * leaves o->exists false.  err is required.
 */
int reconcile_observe_versions(struct aws_client *c, const char *function, struct plan_observed *o,
                               struct aws_error *err);

/*
 * reconcile_function, observing its first pass from `listed` when not NULL,
 * else from the aliases when `aliased` (reconcile_observe_aliased, then the
 * version list only if the plan needs it) (fleet.c).
 */
int reconcile_function_listed(struct reconcile_ctx *ctx, const struct manifest_function *fn,
                              const struct reconcile_options *opt, const struct reconcile_listed *listed,
                              bool aliased, struct reconcile_result *ret);

/*
 * The manifest's region, else the region of a function ARN, else "" (the
 * default).  -EINVAL when it does not fit or the ARN is malformed.
 */
int reconcile_function_region(const struct manifest_function *fn, char *out, size_t outsz);

/* aws.roles has a role for `account` (12 digits). */
bool reconcile_ctx_has_role(const struct reconcile_ctx *ctx, const char *account);
/* aws.roles is not empty. */
bool reconcile_ctx_has_roles(const struct reconcile_ctx *ctx);
/*
 * The default credentials' own account into out: known already, else asked
 * of STS (GetCallerIdentity, once per context) when `ask`; -ENOENT when it
 * is not known and not asked, else as reconcile_ctx_account_credentials.
 */
int reconcile_ctx_own_account(struct reconcile_ctx *ctx, bool ask, char out[13], struct error *err);

/* ---- fleet.c: how reconcile_batch reads each (account, region) group ---- */

/*
 * The name a ListFunctions listing has a function under: a plain name as it
 * is, the NAME of arn:PARTITION:lambda:REGION:ACCOUNT:function:NAME (a
 * pointer into `name`); NULL when it cannot be listed (qualified or
 * malformed).
 */
const char *reconcile_listing_name(const char *name);

/* The account of a listing's FunctionArns into out ("" when it has none). */
void reconcile_listing_account(const struct lambda_config_list *ls, char out[13]);

/* One group: the functions whose versions one listing could serve. */
struct reconcile_group {
	struct reconcile_read_region info; /* info.account: "" = the default credentials */
	size_t listable;                   /* functions counted for the decision */
	char own[13]; /* "" group: the default credentials' account, when known or seen in the listing */
	struct lambda_config_list ls; /* sorted (reconcile_listing_sort) when info.fleet */
};

struct reconcile_groups {
	struct reconcile_group groups[RECONCILE_MAX_REGIONS];
	size_t n;
};

/* Where a function of the batch is read from. */
struct reconcile_group_of {
	int group;                /* index in reconcile_groups, -1: none (malformed, too many groups) */
	const char *listing_name; /* counted for its group's listing: its name there; NULL: not counted */
	char account[13];         /* of its ARN, "" for a plain name */
};

struct reconcile_groups_in {
	/* the default credentials' account, NULL = not known */
	const char *own_account;
	/* the default region's name (a function naming it joins the "" group), NULL = not known */
	const char *default_region;
	/* does aws.roles have a role for the account */
	bool (*has_role)(void *arg, const char *account);
	/*
	 * NULL, or true for a function that is not to be counted for the
	 * decision (the daemon's cache serves it, auto reads it from its
	 * aliases); a listing made for the others still serves it
	 */
	bool (*skip)(void *arg, const struct manifest_function *fn);
	void *arg;
};

/*
 * Group the batch by (account, region), as its client is picked
 * (reconcile/ctx.c): plain names and ARNs in accounts without a role go to
 * ("", region), the default credentials; ARNs in an account with a role to
 * (account, region); the default region's name is region "".  A function is counted for its group's listing
 * (and gets listing_name) when a listing of that group holds it: a plain name, an ARN in a role's account, an
 * ARN in the own account when that is known. `f` must be zeroed; ret has n entries.
 */
void reconcile_groups_plan(struct reconcile_groups *f, const struct manifest_function *const *fns, size_t n,
                           const struct reconcile_groups_in *in, struct reconcile_group_of *ret);

/*
 * The decision for a group with `listable` functions (see enum
 * reconcile_read): true = list it, reading at most *ret_budget pages (0 =
 * all); false = per function.  `why` says which and why.
 */
bool reconcile_read_decide(enum reconcile_read read, size_t listable, unsigned *ret_budget, char *why,
                           size_t whysz);

/*
 * Does group g's listing serve fn (of: its place)?  A counted function when
 * the group was listed; an ARN in an account without a role when the group
 * is the default credentials' and its listing (or STS) shows that account.
 */
bool reconcile_group_member(const struct reconcile_group *g, const struct reconcile_group_of *of,
                            const struct manifest_function *fn);

#endif
