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

#endif
