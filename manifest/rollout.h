/*
 * rollout.h - a rollout's declaration (DESIGN §6): the manifest's `rollout:`
 * of an alias, as steps and an interval, and CodeDeploy's predefined Lambda
 * configurations by name.  Pure.  The step machine that runs a rollout is
 * reconcile/rollout.h; the manifest model (manifest/model.h) holds a spec
 * with its alarm names and preTraffic function.
 */
#ifndef ALIASD_MANIFEST_ROLLOUT_H
#define ALIASD_MANIFEST_ROLLOUT_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define ROLLOUT_MAX_STEPS    10
#define ROLLOUT_MAX_ALARMS   10
#define ROLLOUT_MIN_INTERVAL 1     /* seconds */
#define ROLLOUT_MAX_INTERVAL 86400 /* 24 h */

/* ---- the spec (the manifest's `rollout:`) -------------------------------------- */

struct rollout_spec {
	unsigned steps[ROLLOUT_MAX_STEPS]; /* percent on the new version, increasing, 1..99 */
	size_t n_steps;                    /* 0 = AllAtOnce */
	unsigned interval_s;               /* time at each step, ROLLOUT_MIN..MAX_INTERVAL */
	size_t n_alarms;                   /* 0..ROLLOUT_MAX_ALARMS; the names stay with the caller */
	bool pre_traffic;                  /* a preTraffic function is declared */
};

/*
 * CodeDeploy's predefined Lambda configurations, by name, case-sensitive,
 * as SAM spells them ("Canary10Percent5Minutes") or as CodeDeploy does
 * ("CodeDeployDefault.LambdaCanary10Percent5Minutes"):
 * Canary10Percent5/10/15/30Minutes (10%, then 100% after the interval),
 * Linear10PercentEvery1Minute, Linear10PercentEvery2/3/10Minutes (10%, 20%,
 * ... 90%, each for the interval, then 100%), AllAtOnce (no steps; the
 * interval, 60 s, only sets the guard period).  Fills steps and interval
 * only (alarms and preTraffic are untouched).  -ENOENT for any other name.
 */
int rollout_spec_codedeploy(const char *name, struct rollout_spec *spec);
/*
 * The i-th predefined name as SAM spells it (i from 0), NULL past the last:
 * for messages and documentation that list them.
 */
const char *rollout_codedeploy_name(size_t i);
/* Every bound of the spec above; -EINVAL naming the first problem. */
int rollout_spec_check(const struct rollout_spec *spec, struct error *err);

#endif
