/*
 * rollout_json.c - an alias's rollout as JSON (see rollout_json.h).
 */
#include <time.h>

#include "cmd/rollout_json.h"

cJSON *rollout_json(const struct reconcile_alias_state *a)
{
	const struct rollout_progress *p = &a->rollout;
	cJSON *o;
	char since[32] = "";
	time_t t = (time_t)p->since;
	struct tm tm;

	if (p->state == ROLLOUT_NONE)
		return NULL;
	o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (gmtime_r(&t, &tm))
		strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddNumberToObject(o, "from", p->from);
	cJSON_AddNumberToObject(o, "to", p->to);
	cJSON_AddNumberToObject(o, "step", p->step);
	cJSON_AddNumberToObject(o, "of", a->rollout_steps);
	cJSON_AddNumberToObject(o, "weight", a->rollout_percent / 100.0);
	cJSON_AddStringToObject(o, "since", since);
	cJSON_AddStringToObject(o, "state", rollout_state_name(p->state));
	cJSON_AddStringToObject(o, "reason", p->reason);
	return o;
}
