/*
 * rollout_json.h - a rollout's progress as JSON (DESIGN §6), the one shape
 * /status shows per alias (and any `--json` output may reuse):
 *
 *   {"from": 3, "to": 4, "step": 1, "of": 2, "weight": 0.1,
 *    "since": "2026-11-30T12:00:03Z", "state": "Progressing", "reason": null}
 *
 * from is null for an alias created on its version (no traffic shifted);
 * weight is the new version's share now (0..1); state is Progressing,
 * Succeeded or RolledBack; reason (null when none) says why it rolled back
 * or why it holds.  Text that is not valid UTF-8 is escaped (\xNN), so the
 * output is strict JSON whatever a record held.  Pure.
 */
#ifndef ALIASD_CMD_ROLLOUT_JSON_H
#define ALIASD_CMD_ROLLOUT_JSON_H

#include <cjson/cJSON.h>

#include "reconcile/rollout.h"

/*
 * The object for progress `p` (`percent`: the new version's share now,
 * 0..100; `steps`: the spec's number of steps), or NULL when p has no
 * record (ROLLOUT_NONE) or memory ran out.  The caller owns the result.
 */
cJSON *rollout_json(const struct rollout_progress *p, unsigned percent, unsigned steps);

#endif
