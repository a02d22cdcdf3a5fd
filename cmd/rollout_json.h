/*
 * rollout_json.h - an alias's rollout as JSON, the one shape `aliasd apply
 * --json`, `aliasd rollout --json` and the daemon's /status share (DESIGN §6):
 *
 *   {"from": 1, "to": 2, "step": 1, "of": 2, "weight": 0.1,
 *    "since": "2026-11-30T07:00:00Z", "state": "Progressing", "reason": ""}
 *
 * from/to are version numbers (from 0: an alias created on `to`), step the
 * current step (0: no traffic moved yet), of the spec's number of steps,
 * weight the new version's share now (0..1), since when the step (or the
 * state) began, state Progressing|Succeeded|RolledBack, reason why it
 * rolled back ("" otherwise).
 */
#ifndef ALIASD_CMD_ROLLOUT_JSON_H
#define ALIASD_CMD_ROLLOUT_JSON_H

#include <cjson/cJSON.h>

#include "reconcile/reconcile.h"

/* NULL when the alias has no rollout record (state ROLLOUT_NONE) or out of memory. */
cJSON *rollout_json(const struct reconcile_alias_state *a);

#endif
