/*
 * test_cmd_rollout_json.c - an alias's rollout as /status (and apply --json)
 * shows it: every field of a progressing and a rolled back rollout, and no
 * object for an alias without a record.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cmd/rollout_json.h"
#include "tests/unit/harness.h"

static char *print(const struct rollout_progress *p, unsigned percent, unsigned steps)
{
	struct reconcile_alias_state a;
	cJSON *o;
	char *s;

	memset(&a, 0, sizeof(a));
	a.name = (char *)"Prod";
	a.rollout = *p;
	a.rollout_percent = percent;
	a.rollout_steps = steps;
	o = rollout_json(&a);
	s = o ? cJSON_PrintUnformatted(o) : NULL;
	cJSON_Delete(o);
	return s;
}

TEST(rollout_json_progressing)
{
	struct rollout_progress p = {ROLLOUT_PROGRESSING, 3, 4, 1, 1764504003, "0123456789abcdef", ""};
	char *s = print(&p, 50, 2);

	CHECK_STR(
	    s, "{\"from\":3,\"to\":4,\"step\":1,\"of\":2,\"weight\":0.5,\"since\":\"2025-11-30T12:00:03Z\","
	       "\"state\":\"Progressing\",\"reason\":\"\"}");
	free(s);
}

TEST(rollout_json_rolled_back)
{
	struct rollout_progress p = {ROLLOUT_ROLLED_BACK,       3, 4, 1, 1764504003, "",
	                             "alarm errors is in ALARM"};
	char *s = print(&p, 0, 1);

	CHECK_STR(s,
	          "{\"from\":3,\"to\":4,\"step\":1,\"of\":1,\"weight\":0,\"since\":\"2025-11-30T12:00:03Z\","
	          "\"state\":\"RolledBack\",\"reason\":\"alarm errors is in ALARM\"}");
	free(s);
}

TEST(rollout_json_none)
{
	struct rollout_progress p;

	memset(&p, 0, sizeof(p));
	CHECK(print(&p, 0, 0) == NULL);
}

TEST_MAIN(rollout_json_progressing, rollout_json_rolled_back, rollout_json_none)
