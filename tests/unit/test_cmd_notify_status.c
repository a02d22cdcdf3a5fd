/*
 * test_cmd_notify_status.c - commit status descriptions, event JSON and the slack text.
 */
#include <errno.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cmd/notify_status.h"
#include "tests/unit/harness.h"

/* Characters (code points) in a valid UTF-8 string. */
static size_t chars(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

TEST(states_and_descriptions)
{
	static const struct notify_fn_outcome synced[] = {
	    {"orders", NOTIFY_FN_SYNCED, NULL, NULL, 0, 0, 0},
	    {"payments", NOTIFY_FN_SYNCED, NULL, NULL, 0, 0, 0}};
	static const struct notify_fn_outcome one_failed[] = {
	    {"orders", NOTIFY_FN_SYNCED, NULL, NULL, 0, 0, 0},
	    {"payments", NOTIFY_FN_FAILED, "AccessDeniedException on UpdateAlias", NULL, 0, 0, 0}};
	static const struct notify_fn_outcome two_failed[] = {
	    {"orders", NOTIFY_FN_ROLLED_BACK, "alarm orders-errors", NULL, 0, 0, 0},
	    {"payments", NOTIFY_FN_FAILED, "version 9 does not exist", NULL, 0, 0, 0},
	    {"users", NOTIFY_FN_PROGRESSING, NULL, NULL, 0, 0, 0}};
	static const struct notify_fn_outcome rolled_back[] = {
	    {"orders", NOTIFY_FN_ROLLED_BACK, NULL, NULL, 0, 0, 0}};
	static const struct notify_fn_outcome progressing[] = {
	    {"orders", NOTIFY_FN_PROGRESSING, NULL, NULL, 0, 0, 0},
	    {"payments", NOTIFY_FN_SYNCED, NULL, NULL, 0, 0, 0},
	    {"users", NOTIFY_FN_PROGRESSING, NULL, NULL, 0, 0, 0}};
	static const struct notify_fn_outcome rollout_one[] = {
	    {"my-fn", NOTIFY_FN_PROGRESSING, NULL, "Prod", 50, 1, 1},
	    {"other", NOTIFY_FN_SYNCED, NULL, NULL, 0, 0, 0}};
	static const struct notify_fn_outcome rollout_two[] = {
	    {"my-fn", NOTIFY_FN_PROGRESSING, NULL, "Prod", 10, 1, 3},
	    {"other", NOTIFY_FN_PROGRESSING, NULL, "Live", 0, 0, 2}};
	static const struct notify_fn_outcome rollout_rb[] = {
	    {"my-fn", NOTIFY_FN_ROLLED_BACK, "alarm errors is in ALARM", "Prod", 0, 1, 1},
	    {"other", NOTIFY_FN_PROGRESSING, NULL, "Live", 0, 0, 2}};
	static const struct notify_fn_outcome rollout_rb2[] = {
	    {"my-fn", NOTIFY_FN_ROLLED_BACK, "alarm errors is in ALARM", "Prod", 0, 1, 1},
	    {"other", NOTIFY_FN_FAILED, "boom", NULL, 0, 0, 0}};
	static const struct {
		const char *name;
		struct notify_commit_outcome o;
		enum notify_state state;
		const char *desc;
	} cases[] = {
	    {"started", {.started = true}, NOTIFY_PENDING, "applying commit"},
	    {"synced", {.fns = synced, .nfns = 2}, NOTIFY_SUCCESS, "2 functions in sync"},
	    {"synced one", {.fns = synced, .nfns = 1}, NOTIFY_SUCCESS, "1 function in sync"},
	    {"empty", {0}, NOTIFY_SUCCESS, "no functions to sync"},
	    {"one failed",
	     {.started = true, .fns = one_failed, .nfns = 2},
	     NOTIFY_FAILURE,
	     "payments failed: AccessDeniedException on UpdateAlias"},
	    {"two failed",
	     {.fns = two_failed, .nfns = 3},
	     NOTIFY_FAILURE,
	     "2 of 3 functions failed: orders: rolled back (alarm orders-errors); payments: version 9 does "
	     "not "
	     "exist"},
	    {"rolled back", {.fns = rolled_back, .nfns = 1}, NOTIFY_FAILURE, "orders rolled back"},
	    {"progressing", {.fns = progressing, .nfns = 3}, NOTIFY_PENDING, "rolling out orders, users"},
	    {"one rollout",
	     {.fns = rollout_one, .nfns = 2},
	     NOTIFY_PENDING,
	     "rollout my-fn/Prod 50% (step 1/1)"},
	    {"two rollouts",
	     {.fns = rollout_two, .nfns = 2},
	     NOTIFY_PENDING,
	     "rollouts my-fn/Prod 10% (step 1/3), other/Live 0% (step 0/2)"},
	    {"rollout rolled back",
	     {.fns = rollout_rb, .nfns = 2},
	     NOTIFY_FAILURE,
	     "rolled back my-fn/Prod: alarm errors is in ALARM"},
	    {"rollout rolled back of two",
	     {.fns = rollout_rb2, .nfns = 2},
	     NOTIFY_FAILURE,
	     "2 of 2 functions failed: my-fn/Prod: rolled back (alarm errors is in ALARM); other: boom"},
	    {"untrusted",
	     {.untrusted = "signed by unknown key SHA256:abc", .fns = synced, .nfns = 2},
	     NOTIFY_FAILURE,
	     "untrusted signature: signed by unknown key SHA256:abc"},
	    {"manifest",
	     {.manifest_error = "unknown key 'alias'",
	      .manifest_file = "functions/orders.yaml",
	      .manifest_line = 12},
	     NOTIFY_FAILURE,
	     "invalid manifest: functions/orders.yaml:12: unknown key 'alias'"},
	    {"manifest no line",
	     {.manifest_error = "not a mapping", .manifest_file = "f.yaml"},
	     NOTIFY_FAILURE,
	     "invalid manifest: f.yaml: not a mapping"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char desc[NOTIFY_DESC_SIZE];
		enum notify_state st = notify_status_compose(desc, &cases[i].o);

		CHECKF(st == cases[i].state, "%s: state %s", cases[i].name, notify_state_name(st));
		CHECKF(!strcmp(desc, cases[i].desc), "%s: description '%s'", cases[i].name, desc);
	}
	CHECK_STR(notify_state_name(NOTIFY_PENDING), "pending");
	CHECK_STR(notify_state_name(NOTIFY_SUCCESS), "success");
	CHECK_STR(notify_state_name(NOTIFY_FAILURE), "failure");
}

TEST(long_description_names_the_first_failure)
{
	struct notify_fn_outcome fns[40];
	char names[40][32], desc[NOTIFY_DESC_SIZE];
	struct notify_commit_outcome o = {.fns = fns, .nfns = 40};

	for (int i = 0; i < 40; i++) {
		snprintf(names[i], sizeof(names[i]), "function-%02d", i);
		fns[i] = (struct notify_fn_outcome){
		    names[i], NOTIFY_FN_FAILED, "ResourceConflictException", NULL, 0, 0, 0};
	}
	CHECK_INT(notify_status_compose(desc, &o), NOTIFY_FAILURE);
	CHECK_INT(chars(desc), NOTIFY_DESC_MAX);
	CHECKF(!strncmp(desc, "40 of 40 functions failed: function-00: ResourceConflictException; ", 67),
	       "%s", desc);
	CHECK(!strcmp(desc + strlen(desc) - 3, "..."));
}

TEST(clip_is_utf8_safe)
{
	char in[1024], out[NOTIFY_DESC_SIZE];
	size_t n;

	/* 200 three-byte characters: cut at 137 + "..." */
	in[0] = '\0';
	for (int i = 0; i < 200; i++)
		strcat(in, "\xe2\x86\x92"); /* U+2192 */
	n = notify_desc_clip(out, in);
	CHECK_INT(n, NOTIFY_DESC_MAX);
	CHECK_INT(chars(out), NOTIFY_DESC_MAX);
	CHECK_INT(strlen(out), 137 * 3 + 3);
	CHECK(!strcmp(out + 137 * 3, "..."));

	/* exactly 140 four-byte characters: kept whole */
	in[0] = '\0';
	for (int i = 0; i < 140; i++)
		strcat(in, "\xf0\x9f\x9a\x80"); /* U+1F680 */
	CHECK_INT(notify_desc_clip(out, in), 140);
	CHECK_INT(strlen(out), 560);
	CHECK_INT(memcmp(out, in, 560), 0);

	/* control characters and invalid bytes */
	CHECK_INT(notify_desc_clip(out, "a\nb\tc\xff\xc3(d\xed\xa0\x80"), 12);
	CHECK_STR(out, "a b c?"
	               "?(d???");
	CHECK_INT(notify_desc_clip(out, "caf\xc3\xa9"), 4);
	CHECK_STR(out, "caf\xc3\xa9");
}

TEST(status_json)
{
	struct buf b = BUF_INIT;
	cJSON *o;

	CHECK_INT(notify_status_json(&b, NOTIFY_FAILURE, "orders failed: \"x\"", "aliasd/prod", NULL), 0);
	CHECK_STR(b.ptr, "{\"state\":\"failure\",\"description\":\"orders failed: "
	                 "\\\"x\\\"\",\"context\":\"aliasd/prod\"}");
	buf_reset(&b);
	CHECK_INT(notify_status_json(&b, NOTIFY_PENDING, "applying commit", NULL, "https://ci.example/1"), 0);
	o = cJSON_Parse(b.ptr);
	REQUIRE(o != NULL);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "state")), "pending");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "context")), "aliasd");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(o, "target_url")), "https://ci.example/1");
	cJSON_Delete(o);
	buf_release(&b);
}

TEST(event_names)
{
	static const char *const names[] = {"applied",         "failed",           "rollout.rolledBack",
	                                    "drift",           "untrusted",        "storage.warning",
	                                    "rollout.started", "rollout.succeeded"};
	unsigned all = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		enum notify_event_kind k = notify_event_from_name(names[i]);

		CHECKF(k != 0, "%s", names[i]);
		CHECK_STR(notify_event_name(k), names[i]);
		all |= k;
	}
	CHECK_INT(all, NOTIFY_EVENTS_ALL);
	CHECK_INT(notify_event_from_name("rolledBack"), NOTIFY_EVENT_ROLLED_BACK); /* the old spelling */
	CHECK_INT(notify_event_from_name("rolledback"), 0);
	CHECK_INT(notify_event_from_name("rollout"), 0);
	CHECK_INT(notify_event_from_name("Applied"), 0);
	CHECK_INT(notify_event_from_name(""), 0);
	CHECK(notify_event_name(0) == NULL);
	CHECK(notify_event_name((enum notify_event_kind)3) == NULL);
}

TEST(event_json)
{
	struct notify_event ev = {.kind = NOTIFY_EVENT_APPLIED,
	                          .time = 1790000000, /* 2026-09-21T14:13:20Z */
	                          .revision = "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d",
	                          .function = "orders",
	                          .alias = "Prod",
	                          .from = "3",
	                          .to = "4",
	                          .message = "promoted"};
	struct buf b = BUF_INIT;

	CHECK_INT(notify_event_json(&b, &ev), 0);
	CHECK_STR(b.ptr,
	          "{\"event\":\"applied\",\"time\":\"2026-09-21T14:13:20Z\",\"revision\":"
	          "\"1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d\",\"function\":\"orders\",\"alias\":\"Prod\","
	          "\"from\":\"3\",\"to\":\"4\",\"message\":\"promoted\"}");
	buf_reset(&b);
	ev = (struct notify_event){.kind = NOTIFY_EVENT_UNTRUSTED, .time = 0, .revision = "abc"};
	CHECK_INT(notify_event_json(&b, &ev), 0);
	CHECK_STR(b.ptr, "{\"event\":\"untrusted\",\"time\":\"1970-01-01T00:00:00Z\",\"revision\":\"abc\","
	                 "\"function\":null,\"alias\":null,\"from\":null,\"to\":null,\"message\":\"\"}");
	ev.kind = 0;
	CHECK_INT(notify_event_json(&b, &ev), -EINVAL);
	buf_release(&b);
}

TEST(event_slack)
{
	struct notify_event ev = {.kind = NOTIFY_EVENT_ROLLED_BACK,
	                          .revision = "1a2b3c4d5e6f7a8b9c0d1a2b3c4d5e6f7a8b9c0d",
	                          .function = "orders",
	                          .alias = "Prod",
	                          .from = "4",
	                          .to = "3",
	                          .message = "alarm <orders-errors> & more\nline"};
	struct buf b = BUF_INIT;
	cJSON *o;

	CHECK_INT(notify_event_slack(&b, &ev), 0);
	o = cJSON_Parse(b.ptr);
	REQUIRE(o != NULL);
	CHECK_INT(cJSON_GetArraySize(o), 1);
	CHECK_STR(
	    cJSON_GetStringValue(cJSON_GetObjectItem(o, "text")),
	    "aliasd: rolled back orders Prod 4 -> 3 (commit 1a2b3c4): alarm &lt;orders-errors&gt; &amp; more "
	    "line");
	cJSON_Delete(o);
	buf_reset(&b);
	ev = (struct notify_event){.kind = NOTIFY_EVENT_UNTRUSTED,
	                           .revision = "ffeeddccbbaa",
	                           .message = "signed by unknown key SHA256:x"};
	CHECK_INT(notify_event_slack(&b, &ev), 0);
	CHECK_STR(b.ptr,
	          "{\"text\":\"aliasd: untrusted commit (commit ffeeddc): signed by unknown key SHA256:x\"}");
	buf_reset(&b);
	ev = (struct notify_event){.kind = NOTIFY_EVENT_APPLIED, .function = "f", .to = "2"};
	CHECK_INT(notify_event_slack(&b, &ev), 0);
	CHECK_STR(b.ptr, "{\"text\":\"aliasd: applied f 2\"}");
	buf_reset(&b);
	ev = (struct notify_event){.kind = NOTIFY_EVENT_ROLLOUT_STARTED,
	                           .function = "f",
	                           .alias = "Prod",
	                           .from = "1",
	                           .to = "2",
	                           .message = "50% (step 1/1)"};
	CHECK_INT(notify_event_slack(&b, &ev), 0);
	CHECK_STR(b.ptr, "{\"text\":\"aliasd: rollout started f Prod 1 -> 2: 50% (step 1/1)\"}");
	buf_reset(&b);
	ev.kind = NOTIFY_EVENT_ROLLOUT_SUCCEEDED;
	ev.message = "promoted";
	CHECK_INT(notify_event_slack(&b, &ev), 0);
	CHECK_STR(b.ptr, "{\"text\":\"aliasd: rollout succeeded f Prod 1 -> 2: promoted\"}");
	buf_reset(&b);
	CHECK_INT(notify_event_json(&b, &ev), 0);
	CHECK(strstr(b.ptr, "\"event\":\"rollout.succeeded\"") != NULL);
	buf_release(&b);
}

TEST(event_storage_warning)
{
	struct notify_event ev = {.kind = NOTIFY_EVENT_STORAGE_WARNING,
	                          .time = 0,
	                          .message = "code storage of region us-east-1 at 80% of its limit",
	                          .region = "us-east-1"};
	struct buf b = BUF_INIT;

	CHECK_INT(notify_event_json(&b, &ev), 0);
	CHECK_STR(b.ptr,
	          "{\"event\":\"storage.warning\",\"time\":\"1970-01-01T00:00:00Z\",\"revision\":null,"
	          "\"function\":null,\"alias\":null,\"from\":null,\"to\":null,\"message\":\"code storage of "
	          "region us-east-1 at 80% of its limit\",\"region\":\"us-east-1\"}");
	buf_reset(&b);
	CHECK_INT(notify_event_slack(&b, &ev), 0);
	CHECK_STR(b.ptr,
	          "{\"text\":\"aliasd: code storage warning us-east-1: code storage of region us-east-1 at "
	          "80% of its limit\"}");
	buf_release(&b);
}

TEST_MAIN(states_and_descriptions, long_description_names_the_first_failure, clip_is_utf8_safe, status_json,
          event_names, event_json, event_slack, event_storage_warning)
