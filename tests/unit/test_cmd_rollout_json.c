/*
 * test_cmd_rollout_json.c - a rollout's progress as /status shows it: every
 * field, null for what is not there, escaped text, no object without a record.
 */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cmd/rollout_json.h"
#include "tests/unit/harness.h"

static char *print(const struct rollout_progress *p, unsigned percent, unsigned steps)
{
	cJSON *o = rollout_json(p, percent, steps);
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;

	cJSON_Delete(o);
	return s;
}

TEST(rollout_json_progressing)
{
	struct rollout_progress p = {ROLLOUT_PROGRESSING, 3, 4, 1, 1764504003, "0123456789abcdef", ""};
	char *s = print(&p, 50, 2);

	CHECK_STR(
	    s, "{\"from\":3,\"to\":4,\"step\":1,\"of\":2,\"weight\":0.5,\"since\":\"2025-11-30T12:00:03Z\","
	       "\"state\":\"Progressing\",\"reason\":null}");
	free(s);
}

TEST(rollout_json_rolled_back_and_created)
{
	struct rollout_progress p = {ROLLOUT_ROLLED_BACK,       3, 4, 1, 1764504003, "",
	                             "alarm errors is in ALARM"};
	char *s = print(&p, 0, 1);

	CHECK_STR(s,
	          "{\"from\":3,\"to\":4,\"step\":1,\"of\":1,\"weight\":0,\"since\":\"2025-11-30T12:00:03Z\","
	          "\"state\":\"RolledBack\",\"reason\":\"alarm errors is in ALARM\"}");
	free(s);
	/* created on its version: from null; no time known: since null; weight capped at 1 */
	memset(&p, 0, sizeof(p));
	p.state = ROLLOUT_SUCCEEDED;
	p.to = 1;
	s = print(&p, 250, 0);
	CHECK_STR(s, "{\"from\":null,\"to\":1,\"step\":0,\"of\":0,\"weight\":1,\"since\":null,"
	             "\"state\":\"Succeeded\",\"reason\":null}");
	free(s);
}

TEST(rollout_json_escapes_and_none)
{
	struct rollout_progress p = {ROLLOUT_ROLLED_BACK, 1, 2, 0, 0, "", "alarm bad\xff name"};
	cJSON *o = rollout_json(&p, 0, 1);
	const cJSON *r = cJSON_GetObjectItemCaseSensitive(o, "reason");

	REQUIRE(o);
	CHECK(cJSON_IsString(r) && strstr(r->valuestring, "\\xff") != NULL);
	cJSON_Delete(o);
	memset(&p, 0, sizeof(p));
	CHECK(rollout_json(&p, 0, 0) == NULL);
	CHECK(rollout_json(NULL, 0, 0) == NULL);
}

TEST_MAIN(rollout_json_progressing, rollout_json_rolled_back_and_created, rollout_json_escapes_and_none)
