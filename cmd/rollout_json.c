/* rollout_json.c - a rollout's progress as JSON, see rollout_json.h. */
#include "cmd/rollout_json.h"

#include <stdbool.h>
#include <time.h>

#include "util/buf.h"
#include "util/log.h"

static bool add_text(cJSON *o, const char *key, const char *s)
{
	struct buf b = BUF_INIT;
	bool ok;

	if (!s || !*s)
		return cJSON_AddNullToObject(o, key) != NULL;
	if (log_utf8_valid(s))
		return cJSON_AddStringToObject(o, key, s) != NULL;
	ok = log_escape(&b, s, false) == 0 && b.ptr && cJSON_AddStringToObject(o, key, b.ptr);
	buf_release(&b);
	return ok;
}

cJSON *rollout_json(const struct rollout_progress *p, unsigned percent, unsigned steps)
{
	cJSON *o;
	char when[32] = "";
	bool ok;

	if (!p || p->state == ROLLOUT_NONE)
		return NULL;
	o = cJSON_CreateObject();
	if (!o)
		return NULL;
	if (p->since > 0) {
		time_t t = (time_t)p->since;
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	if (percent > 100)
		percent = 100;
	ok = (p->from ? cJSON_AddNumberToObject(o, "from", p->from) : cJSON_AddNullToObject(o, "from")) &&
	     cJSON_AddNumberToObject(o, "to", p->to) && cJSON_AddNumberToObject(o, "step", p->step) &&
	     cJSON_AddNumberToObject(o, "of", steps) &&
	     cJSON_AddNumberToObject(o, "weight", percent / 100.0) && add_text(o, "since", when) &&
	     cJSON_AddStringToObject(o, "state", rollout_state_name(p->state)) &&
	     add_text(o, "reason", p->reason);
	if (!ok) {
		cJSON_Delete(o);
		return NULL;
	}
	return o;
}
