/*
 * internal.h - helpers shared by the files of reconcile/, not part of its API.
 */
#ifndef ALIASD_RECONCILE_INTERNAL_H
#define ALIASD_RECONCILE_INTERNAL_H

#include "aws/lambda.h"
#include "reconcile/plan.h"

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

#endif
