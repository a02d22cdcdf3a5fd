/*
 * aws_cloudwatch_call - aws/cloudwatch from the command line, for the
 * integration tests.
 *
 *   aws_cloudwatch_call [--endpoint URL] [--region R] [--rate N] describe NAME...
 *       DescribeAlarms through cloudwatch_alarms_describe().  Endpoint (after
 *       the environment's), region and credentials as aliasd resolves them.
 *       Success: exit 0, stdout {"Alarms":[{"Name","State","Reason","Updated"}],"Attempts":N}.
 *       Failure: exit 1, stdout {"Error":{"Errno","Kind","Status","Code","Message","Text","Attempts"}}.
 *   aws_cloudwatch_call sign
 *       Reads one JSON object per line: {"host","path","region","akid","secret",
 *       "token" (or null),"time","names":[...],"next_token" (or null)} and prints
 *       {"body":"...","headers":[[name,value],...]} per line: the exact request
 *       cloudwatch_request_sign() and cloudwatch_describe_body() make, for
 *       tests/aws/test_aws_cloudwatch_botocore.py to re-sign with botocore.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/cloudwatch.h"

static int usage(void)
{
	fprintf(stderr,
	        "usage: aws_cloudwatch_call [--endpoint URL] [--region R] [--rate N] describe NAME...\n"
	        "       aws_cloudwatch_call sign < requests.jsonl\n");
	return 2;
}

static const char *jstr(const cJSON *o, const char *k)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int sign_one(const char *line)
{
	cJSON *in = cJSON_Parse(line), *out = cJSON_CreateObject(), *hs, *names;
	struct aws_credentials creds = {0};
	struct sigv4_result sig = SIGV4_RESULT_INIT;
	struct http_header hdr[CLOUDWATCH_SIGNED_HEADERS];
	struct error err = ERROR_INIT;
	struct buf body = BUF_INIT;
	const char **list = NULL;
	size_t n = 0;
	char *text;
	int r = -EINVAL;

	if (!in || !out)
		goto out;
	names = cJSON_GetObjectItemCaseSensitive(in, "names");
	n = (size_t)cJSON_GetArraySize(names);
	list = calloc(n + 1, sizeof(*list));
	if (!list)
		goto out;
	for (size_t i = 0; i < n; i++)
		list[i] = cJSON_GetArrayItem(names, (int)i)->valuestring;
	creds.access_key_id = (char *)jstr(in, "akid");
	creds.secret_access_key = (char *)jstr(in, "secret");
	creds.session_token = (char *)jstr(in, "token");
	r = cloudwatch_describe_body(&body, list, n, jstr(in, "next_token"));
	if (r >= 0)
		r = cloudwatch_request_sign(jstr(in, "host"), jstr(in, "path"), jstr(in, "region"), &creds,
		                            (time_t)cJSON_GetObjectItemCaseSensitive(in, "time")->valuedouble,
		                            body.ptr, body.len, &sig, hdr, &err);
	if (r < 0) {
		cJSON_AddStringToObject(out, "error", err.msg[0] ? err.msg : "failed");
		goto print;
	}
	cJSON_AddStringToObject(out, "body", body.ptr);
	hs = cJSON_AddArrayToObject(out, "headers");
	for (int i = 0; i < r; i++) {
		cJSON *pair = cJSON_CreateArray();

		cJSON_AddItemToArray(pair, cJSON_CreateString(hdr[i].name));
		cJSON_AddItemToArray(pair, cJSON_CreateString(hdr[i].value));
		cJSON_AddItemToArray(hs, pair); /* takes pair */
	}
print:
	text = cJSON_PrintUnformatted(out);
	if (text)
		printf("%s\n", text);
	free(text);
	r = 0;
out:
	sigv4_result_release(&sig);
	buf_release(&body);
	free(list);
	cJSON_Delete(in);
	cJSON_Delete(out);
	return r;
}

static int sign_main(void)
{
	char *line = NULL;
	size_t cap = 0;

	while (getline(&line, &cap, stdin) > 0)
		if (sign_one(line) < 0) {
			printf("{\"error\":\"bad input\"}\n");
		}
	free(line);
	return 0;
}

int main(int argc, char **argv)
{
	struct aws_client_options opt = {0};
	struct cloudwatch_client *c = NULL;
	struct cloudwatch_alarms alarms = CLOUDWATCH_ALARMS_INIT;
	struct aws_error aerr = AWS_ERROR_INIT;
	struct error err = ERROR_INIT;
	cJSON *out;
	char *text;
	int i = 1, r;

	for (; i + 1 < argc && !strncmp(argv[i], "--", 2); i += 2) {
		if (!strcmp(argv[i], "--endpoint"))
			opt.endpoint = argv[i + 1];
		else if (!strcmp(argv[i], "--region"))
			opt.region = argv[i + 1];
		else if (!strcmp(argv[i], "--rate"))
			opt.control_rate = atof(argv[i + 1]);
		else
			return usage();
	}
	if (i < argc && !strcmp(argv[i], "sign"))
		return sign_main();
	if (i + 1 >= argc || strcmp(argv[i], "describe"))
		return usage();
	r = cloudwatch_client_new(&c, &opt, &err);
	if (r < 0) {
		printf("{\"Error\":{\"Errno\":%d,\"Kind\":\"%s\",\"Text\":\"client: %s\"}}\n", r,
		       error_kind_name(error_kind_of(&err)), err.msg);
		return 1;
	}
	r = cloudwatch_alarms_describe(c, (const char *const *)argv + i + 1, (size_t)(argc - i - 1), &alarms,
	                               &aerr);
	out = cJSON_CreateObject();
	if (r < 0) {
		cJSON *e = cJSON_AddObjectToObject(out, "Error");

		cJSON_AddNumberToObject(e, "Errno", r);
		cJSON_AddStringToObject(e, "Kind", error_kind_name(error_kind_of(&aerr.err)));
		cJSON_AddNumberToObject(e, "Status", (double)aerr.status);
		cJSON_AddStringToObject(e, "Code", aerr.code);
		cJSON_AddStringToObject(e, "Message", aerr.message);
		cJSON_AddStringToObject(e, "Text", aerr.err.msg);
		cJSON_AddNumberToObject(e, "Attempts", aerr.attempts);
	} else {
		cJSON *list = cJSON_AddArrayToObject(out, "Alarms");

		for (size_t k = 0; k < alarms.n; k++) {
			cJSON *a = cJSON_CreateObject();

			cJSON_AddStringToObject(a, "Name", alarms.items[k].name);
			cJSON_AddStringToObject(a, "State", cloudwatch_state_name(alarms.items[k].state));
			cJSON_AddStringToObject(a, "Reason", alarms.items[k].reason);
			cJSON_AddStringToObject(a, "Updated", alarms.items[k].updated);
			cJSON_AddItemToArray(list, a); /* takes a */
		}
		cJSON_AddNumberToObject(out, "Attempts", aerr.attempts);
	}
	text = cJSON_PrintUnformatted(out);
	printf("%s\n", text ? text : "{}");
	free(text);
	cJSON_Delete(out);
	cloudwatch_alarms_release(&alarms);
	cloudwatch_client_free(c);
	return r < 0 ? 1 : 0;
}
