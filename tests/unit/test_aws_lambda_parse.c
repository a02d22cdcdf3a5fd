/*
 * test_aws_lambda_parse.c - Lambda response parsers and request builders on
 * good and hostile inputs.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <math.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/lambda.h"
#include "aws/lambda_wire.h"
#include "tests/unit/harness.h"

static const char full_config[] =
    "{\"FunctionName\":\"orders\",\"FunctionArn\":\"arn:aws:lambda:us-east-1:123456789012:function:orders:"
    "3\","
    "\"Runtime\":\"python3.12\",\"Role\":\"arn:aws:iam::123456789012:role/r\",\"Handler\":\"app.handler\","
    "\"CodeSize\":1234,\"Description\":\"v2 @ab12cd3: first\",\"Timeout\":3,\"MemorySize\":128,"
    "\"LastModified\":\"2026-11-27T10:00:00.000+0000\",\"CodeSha256\":\"2jmj7l5rSw0yVb/vlWAYkK/YBwk=\","
    "\"Version\":\"3\",\"Environment\":{\"Variables\":{\"LOG_LEVEL\":\"info\",\"TOKEN\":\"s3cret\"}},"
    "\"TracingConfig\":{\"Mode\":\"PassThrough\"},\"RevisionId\":\"rev-1\","
    "\"Layers\":[{\"Arn\":\"arn:aws:lambda:us-east-1:1:layer:l:1\",\"CodeSize\":10}],"
    "\"State\":\"Active\",\"StateReason\":null,\"LastUpdateStatus\":\"Successful\",\"PackageType\":\"Zip\","
    "\"Architectures\":[\"x86_64\"],\"EphemeralStorage\":{\"Size\":512},\"SnapStart\":{\"ApplyOn\":\"None\"},"
    "\"Unknown\":{\"deep\":[1,2,3]}}";

TEST(config_full)
{
	struct lambda_function_config c = {0};
	struct error err = ERROR_INIT;

	REQUIRE(lambda_function_config_parse("GetFunctionConfiguration", full_config, strlen(full_config), &c,
	                                     &err) == 0);
	CHECK_STR(c.function_name, "orders");
	CHECK_STR(c.function_arn, "arn:aws:lambda:us-east-1:123456789012:function:orders:3");
	CHECK_STR(c.runtime, "python3.12");
	CHECK_STR(c.handler, "app.handler");
	CHECK_INT(c.code_size, 1234);
	CHECK_STR(c.description, "v2 @ab12cd3: first");
	CHECK_INT(c.timeout, 3);
	CHECK_INT(c.memory_size, 128);
	CHECK_STR(c.code_sha256, "2jmj7l5rSw0yVb/vlWAYkK/YBwk=");
	CHECK_STR(c.version, "3");
	CHECK(c.has_environment);
	REQUIRE(c.n_env == 2);
	CHECK_STR(c.env[0].name, "LOG_LEVEL");
	CHECK_STR(c.env[1].value, "s3cret");
	CHECK_STR(c.tracing_mode, "PassThrough");
	CHECK_STR(c.revision_id, "rev-1");
	REQUIRE(c.n_layers == 1);
	CHECK_INT(c.layers[0].code_size, 10);
	CHECK_STR(c.state, "Active");
	CHECK(c.state_reason == NULL);
	CHECK_STR(c.last_update_status, "Successful");
	CHECK_STR(c.package_type, "Zip");
	REQUIRE(c.n_architectures == 1);
	CHECK_STR(c.architectures[0], "x86_64");
	CHECK_INT(c.ephemeral_storage, 512);
	lambda_function_config_release(&c);
	CHECK(c.function_name == NULL);
	lambda_function_config_release(&c); /* twice is fine */
}

TEST(config_minimal)
{
	struct lambda_function_config c = {0};

	REQUIRE(lambda_function_config_parse("op", "{}", 2, &c, NULL) == 0);
	CHECK(c.function_name == NULL);
	CHECK(!c.has_environment);
	CHECK_INT(c.timeout, 0);
	lambda_function_config_release(&c);
}

static const struct {
	const char *name;
	const char *json;
	int code;
	const char *msg; /* substring of the message */
} bad_configs[] = {
    {"empty", "", -EBADMSG, "op: response is not valid JSON"},
    {"truncated", "{\"FunctionName\":\"x\"", -EBADMSG, "not valid JSON"},
    {"array root", "[]", -EBADMSG, "not a JSON object"},
    {"string root", "\"x\"", -EBADMSG, "not a JSON object"},
    {"name number", "{\"FunctionName\":1}", -EBADMSG, "op: response field FunctionName is not a string"},
    {"timeout string", "{\"Timeout\":\"3\"}", -EBADMSG, "Timeout is not a number"},
    {"timeout fraction", "{\"Timeout\":3.5}", -EBADMSG, "Timeout is not an integer"},
    {"timeout negative", "{\"Timeout\":-1}", -EBADMSG, "Timeout is out of range"},
    {"timeout huge", "{\"Timeout\":1e300}", -EBADMSG, "Timeout is out of range"},
    {"codesize huge", "{\"CodeSize\":1e30}", -EBADMSG, "CodeSize is out of range"},
    {"env not object", "{\"Environment\":[]}", -EBADMSG, "Environment is not an object"},
    {"vars not object", "{\"Environment\":{\"Variables\":\"a\"}}", -EBADMSG,
     "Environment.Variables is not an object"},
    {"var not string", "{\"Environment\":{\"Variables\":{\"A\":1}}}", -EBADMSG,
     "Environment.Variables.A is not a string"},
    {"arch not array", "{\"Architectures\":\"x86_64\"}", -EBADMSG, "Architectures is not an array"},
    {"arch item", "{\"Architectures\":[\"x\",2]}", -EBADMSG, "Architectures[1] is not a string"},
    {"layer not object", "{\"Layers\":[1]}", -EBADMSG, "Layers[0] is not an object"},
    {"layer arn missing", "{\"Layers\":[{}]}", -EBADMSG, "Layers[0].Arn is missing"},
    {"ephemeral", "{\"EphemeralStorage\":{\"Size\":true}}", -EBADMSG,
     "EphemeralStorage.Size is not a number"},
    {"bad utf8", "{\"FunctionName\":\"\xff\"}", -EBADMSG, "not valid UTF-8"},
    {"overlong utf8", "{\"FunctionName\":\"\xc0\xaf\"}", -EBADMSG, "not valid UTF-8"},
    {"surrogate utf8", "{\"FunctionName\":\"\xed\xa0\x80\"}", -EBADMSG, "not valid UTF-8"},
    {"cut utf8", "{\"FunctionName\":\"\xe2\x82", -EBADMSG, "not valid UTF-8"},
};

TEST(config_hostile)
{
	for (size_t i = 0; i < sizeof(bad_configs) / sizeof(bad_configs[0]); i++) {
		struct lambda_function_config c = {0};
		struct error err = ERROR_INIT;
		int r = lambda_function_config_parse("op", bad_configs[i].json, strlen(bad_configs[i].json),
		                                     &c, &err);

		CHECKF(r == bad_configs[i].code, "%s: returned %d", bad_configs[i].name, r);
		CHECKF(strstr(err.msg, bad_configs[i].msg) != NULL, "%s: message '%s'", bad_configs[i].name,
		       err.msg);
		CHECKF(c.function_name == NULL && c.env == NULL, "%s: output written on error",
		       bad_configs[i].name);
	}
}

TEST(config_oversized)
{
	size_t n = LAMBDA_MAX_RESPONSE + 10;
	char *big = malloc(n + 1);
	struct lambda_function_config c = {0};
	struct error err = ERROR_INIT;

	REQUIRE(big);
	memset(big, ' ', n);
	big[0] = '{';
	big[n - 1] = '}';
	big[n] = '\0';
	CHECK_INT(lambda_function_config_parse("op", big, n, &c, &err), -E2BIG);
	free(big);
	/* deep nesting is refused by cJSON's nesting limit, not by a crash */
	{
		size_t depth = 100000;
		char *deep = malloc(depth * 2 + 20);

		REQUIRE(deep);
		strcpy(deep, "{\"X\":");
		for (size_t i = 0; i < depth; i++)
			deep[5 + i] = '[';
		for (size_t i = 0; i < depth; i++)
			deep[5 + depth + i] = ']';
		strcpy(deep + 5 + 2 * depth, "}");
		CHECK_INT(lambda_function_config_parse("op", deep, strlen(deep), &c, &err), -EBADMSG);
		free(deep);
	}
	/* a NUL inside the length */
	CHECK_INT(lambda_function_config_parse("op", "{}\0{}", 5, &c, &err), -EBADMSG);
	CHECK_INT(lambda_function_config_parse("op", "{} {}", 5, &c, &err), -EBADMSG);
	CHECK_INT(lambda_function_config_parse("op", "{} \n", 4, &c, &err), 0);
	lambda_function_config_release(&c);
}

TEST(function_parse)
{
	static const char json[] = "{\"Configuration\":{\"FunctionName\":\"img\",\"PackageType\":\"Image\"},"
	                           "\"Code\":{\"RepositoryType\":\"ECR\",\"ImageUri\":\"r/x@sha256:abc\","
	                           "\"ResolvedImageUri\":\"r/x@sha256:abc\"},\"Tags\":{\"a\":\"b\"}}";
	struct lambda_function f = {0};
	struct error err = ERROR_INIT;

	REQUIRE(lambda_function_parse("GetFunction", json, strlen(json), &f, &err) == 0);
	CHECK_STR(f.config.function_name, "img");
	CHECK_STR(f.config.package_type, "Image");
	CHECK_STR(f.image_uri, "r/x@sha256:abc");
	CHECK_STR(f.code_repository_type, "ECR");
	lambda_function_release(&f);

	CHECK_INT(lambda_function_parse("GetFunction", "{}", 2, &f, &err), -EBADMSG);
	CHECK_STR(err.msg, "GetFunction: response field Configuration is missing");
	CHECK_INT(lambda_function_parse("GetFunction", "{\"Configuration\":{\"Version\":[]}}", 32, &f, &err),
	          -EBADMSG);
	CHECK_STR(err.msg, "GetFunction: response field Configuration.Version is not a string");
	CHECK_INT(lambda_function_parse("GetFunction", "{\"Configuration\":{},\"Code\":{\"ImageUri\":5}}", 42,
	                                &f, &err),
	          -EBADMSG);
	CHECK_STR(err.msg, "GetFunction: response field Code.ImageUri is not a string");
}

TEST(alias_parse)
{
	static const char json[] =
	    "{\"AliasArn\":\"arn:aws:lambda:us-east-1:1:function:f:Canary\",\"Name\":\"Canary\","
	    "\"FunctionVersion\":\"4\",\"Description\":\"\",\"RevisionId\":\"r\","
	    "\"RoutingConfig\":{\"AdditionalVersionWeights\":{\"5\":0.1}}}";
	struct lambda_alias a = {0};
	struct error err = ERROR_INIT;

	REQUIRE(lambda_alias_parse("GetAlias", json, strlen(json), &a, &err) == 0);
	CHECK_STR(a.name, "Canary");
	CHECK_STR(a.function_version, "4");
	CHECK_STR(a.description, "");
	REQUIRE(a.n_weights == 1);
	CHECK_STR(a.weights[0].version, "5");
	CHECK(fabs(a.weights[0].weight - 0.1) < 1e-12);
	lambda_alias_release(&a);

	static const struct {
		const char *json, *msg;
	} bad[] = {
	    {"{\"FunctionVersion\":\"1\"}", "GetAlias: response field Name is missing"},
	    {"{\"Name\":\"A\"}", "GetAlias: response field FunctionVersion is missing"},
	    {"{\"Name\":\"A\",\"FunctionVersion\":1}",
	     "GetAlias: response field FunctionVersion is not a string"},
	    {"{\"Name\":\"A\",\"FunctionVersion\":\"1\",\"RoutingConfig\":[]}",
	     "RoutingConfig is not an object"},
	    {"{\"Name\":\"A\",\"FunctionVersion\":\"1\",\"RoutingConfig\":{\"AdditionalVersionWeights\":{"
	     "\"2\":\"x\"}}}",
	     "RoutingConfig.AdditionalVersionWeights.2 is not a number"},
	    {"{\"Name\":\"A\",\"FunctionVersion\":\"1\",\"RoutingConfig\":{\"AdditionalVersionWeights\":{"
	     "\"2\":1.5}}}",
	     "is not a weight between 0 and 1"},
	    {"{\"Name\":\"A\",\"FunctionVersion\":\"1\",\"RoutingConfig\":{\"AdditionalVersionWeights\":{"
	     "\"\":0.5}}}",
	     "has no version"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECKF(lambda_alias_parse("GetAlias", bad[i].json, strlen(bad[i].json), &a, &err) == -EBADMSG,
		       "case %zu accepted", i);
		CHECKF(strstr(err.msg, bad[i].msg) != NULL, "case %zu: '%s'", i, err.msg);
		CHECK(a.name == NULL);
	}
	/* RoutingConfig null / empty: no weights */
	{
		static const char nullrc[] =
		    "{\"Name\":\"A\",\"FunctionVersion\":\"1\",\"RoutingConfig\":null}";

		REQUIRE(lambda_alias_parse("op", nullrc, strlen(nullrc), &a, &err) == 0);
	}
	CHECK_INT(a.n_weights, 0);
	lambda_alias_release(&a);
}

TEST(versions_pages)
{
	struct lambda_config_list l = {0};
	struct error err = ERROR_INIT;
	char *marker = NULL;
	static const char p1[] =
	    "{\"Versions\":[{\"Version\":\"$LATEST\"},{\"Version\":\"1\"}],\"NextMarker\":\"a+b/c=\"}";
	static const char p2[] = "{\"Versions\":[{\"Version\":\"2\"},{\"Version\":\"3\"},{\"Version\":4}]}";
	static const char p3[] = "{\"Versions\":[{\"Version\":\"2\"}],\"NextMarker\":null}";
	static const char p4[] = "{\"Versions\":[{\"Version\":\"5\"}],\"NextMarker\":\"\"}";

	REQUIRE(lambda_versions_page_parse("ListVersionsByFunction", p1, strlen(p1), "Versions", &l, &marker,
	                                   &err) == 0);
	CHECK_INT(l.n, 2);
	CHECK_STR(marker, "a+b/c=");
	free(marker);
	marker = NULL;
	/* the third item of the second page is item [4] overall */
	CHECK_INT(lambda_versions_page_parse("ListVersionsByFunction", p2, strlen(p2), "Versions", &l,
	                                     &marker, &err),
	          -EBADMSG);
	CHECK_STR(err.msg, "ListVersionsByFunction: response field Versions[4].Version is not a string");
	CHECK_INT(l.n, 2); /* unchanged on error */
	CHECK(marker == NULL);
	REQUIRE(lambda_versions_page_parse("op", p3, strlen(p3), "Versions", &l, &marker, &err) == 0);
	CHECK(marker == NULL);
	REQUIRE(lambda_versions_page_parse("op", p4, strlen(p4), "Versions", &l, &marker, &err) == 0);
	CHECK(marker == NULL);
	REQUIRE(l.n == 4);
	CHECK_STR(l.items[0].version, "$LATEST");
	CHECK_STR(l.items[3].version, "5");
	/* missing list = empty page */
	REQUIRE(lambda_versions_page_parse("op", "{}", 2, "Versions", &l, &marker, &err) == 0);
	CHECK_INT(l.n, 4);
	CHECK_INT(lambda_versions_page_parse("op", "{\"Versions\":{}}", 15, "Versions", &l, &marker, &err),
	          -EBADMSG);
	CHECK_INT(lambda_versions_page_parse("op", "{\"Versions\":[1]}", 16, "Versions", &l, &marker, &err),
	          -EBADMSG);
	CHECK_STR(err.msg, "op: response field Versions[4] is not an object");
	CHECK_INT(lambda_versions_page_parse("op", "{\"Versions\":[],\"NextMarker\":7}", 30, "Versions", &l,
	                                     &marker, &err),
	          -EBADMSG);
	CHECK_STR(err.msg, "op: response field NextMarker is not a string");
	lambda_config_list_release(&l);
}

TEST(list_cap)
{
	struct lambda_config_list l = {0};
	struct error err = ERROR_INIT;
	char *marker = NULL;
	struct buf b = BUF_INIT;

	buf_puts(&b, "{\"Functions\":[");
	for (int i = 0; i < 5001; i++)
		buf_puts(&b, i ? ",{}" : "{}");
	buf_puts(&b, "]}");
	REQUIRE(lambda_versions_page_parse("ListFunctions", b.ptr, b.len, "Functions", &l, &marker, &err) ==
	        0);
	CHECK_INT(l.n, 5001);
	CHECK_INT(lambda_versions_page_parse("ListFunctions", b.ptr, b.len, "Functions", &l, &marker, &err),
	          -E2BIG);
	CHECK_INT(l.n, 5001);
	lambda_config_list_release(&l);
	buf_release(&b);
}

TEST(aliases_pages)
{
	struct lambda_alias_list l = {0};
	struct error err = ERROR_INIT;
	char *marker = NULL;
	static const char p1[] =
	    "{\"Aliases\":[{\"Name\":\"Prod\",\"FunctionVersion\":\"1\"}],\"NextMarker\":\"m\"}";
	static const char p2[] =
	    "{\"Aliases\":[{\"Name\":\"Test\",\"FunctionVersion\":\"2\"},{\"Name\":\"X\"}]}";

	REQUIRE(lambda_aliases_page_parse("ListAliases", p1, strlen(p1), &l, &marker, &err) == 0);
	CHECK_STR(marker, "m");
	free(marker);
	marker = NULL;
	CHECK_INT(lambda_aliases_page_parse("ListAliases", p2, strlen(p2), &l, &marker, &err), -EBADMSG);
	CHECK_STR(err.msg, "ListAliases: response field Aliases[2].FunctionVersion is missing");
	CHECK_INT(l.n, 1);
	CHECK_INT(lambda_aliases_page_parse("ListAliases", "{\"Aliases\":[null]}", 18, &l, &marker, &err),
	          -EBADMSG);
	lambda_alias_list_release(&l);
}

static cJSON *parse_body(struct buf *b)
{
	cJSON *j = cJSON_ParseWithLength(b->ptr, b->len);

	return j;
}

TEST(alias_body)
{
	struct buf b = BUF_INIT;
	struct error err = ERROR_INIT;
	struct lambda_alias_input in = {.function_version = "4",
	                                .description = "canary",
	                                .weight_version = "5",
	                                .weight = 0.1,
	                                .revision_id = "r1"};
	cJSON *j;

	REQUIRE(lambda_alias_body(&b, "Canary", &in, &err) == 0);
	j = parse_body(&b);
	REQUIRE(j);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "Name")), "Canary");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "FunctionVersion")), "4");
	CHECK(cJSON_GetObjectItem(j, "RevisionId") == NULL); /* create: no RevisionId */
	CHECK(
	    fabs(cJSON_GetNumberValue(cJSON_GetObjectItem(
	             cJSON_GetObjectItem(cJSON_GetObjectItem(j, "RoutingConfig"), "AdditionalVersionWeights"),
	             "5")) -
	         0.1) < 1e-12);
	cJSON_Delete(j);
	buf_reset(&b);

	/* update without weights: RoutingConfig with an empty map is still sent */
	in.weight_version = NULL;
	in.description = NULL;
	REQUIRE(lambda_alias_body(&b, NULL, &in, &err) == 0);
	CHECK_STR(b.ptr, "{\"FunctionVersion\":\"4\",\"RoutingConfig\":{\"AdditionalVersionWeights\":{}},"
	                 "\"RevisionId\":\"r1\"}");
	buf_reset(&b);

	in.function_version = NULL;
	CHECK_INT(lambda_alias_body(&b, "A", &in, &err), -EINVAL);
	in.function_version = "1";
	in.weight_version = "2";
	in.weight = 1.5;
	CHECK_INT(lambda_alias_body(&b, "A", &in, &err), -EINVAL);
	in.weight = NAN;
	CHECK_INT(lambda_alias_body(&b, "A", &in, &err), -EINVAL);
	CHECK_INT(b.len, 0);
	buf_release(&b);
}

TEST(code_and_config_bodies)
{
	struct buf b = BUF_INIT;
	struct error err = ERROR_INIT;
	struct lambda_code_input ci = {.code = {.zip = "PK\3\4", .zip_len = 4}, .revision_id = "r"};
	struct lambda_env_input env[] = {{"A", "1"}, {"B", ""}};
	struct lambda_config_input cfg = {.handler = "h",
	                                  .memory_size = 256,
	                                  .set_environment = true,
	                                  .env = env,
	                                  .n_env = 2,
	                                  .revision_id = "r2"};

	REQUIRE(lambda_code_body(&b, &ci, &err) == 0);
	CHECK_STR(b.ptr, "{\"ZipFile\":\"UEsDBA==\",\"RevisionId\":\"r\",\"Publish\":false}");
	buf_reset(&b);
	ci.code = (struct lambda_code){.s3_bucket = "bk", .s3_key = "k/1.zip", .s3_object_version = "v1"};
	REQUIRE(lambda_code_body(&b, &ci, &err) == 0);
	CHECK_STR(
	    b.ptr,
	    "{\"S3Bucket\":\"bk\",\"S3Key\":\"k/1.zip\",\"S3ObjectVersion\":\"v1\",\"RevisionId\":\"r\","
	    "\"Publish\":false}");
	buf_reset(&b);
	ci.code = (struct lambda_code){.image_uri = "r/x@sha256:00"};
	ci.revision_id = NULL;
	REQUIRE(lambda_code_body(&b, &ci, &err) == 0);
	CHECK_STR(b.ptr, "{\"ImageUri\":\"r/x@sha256:00\",\"Publish\":false}");
	buf_reset(&b);
	ci.code = (struct lambda_code){.image_uri = "x", .s3_bucket = "b", .s3_key = "k"};
	CHECK_INT(lambda_code_body(&b, &ci, &err), -EINVAL);
	ci.code = (struct lambda_code){.s3_bucket = "b"};
	CHECK_INT(lambda_code_body(&b, &ci, &err), -EINVAL);
	ci.code = (struct lambda_code){0};
	CHECK_INT(lambda_code_body(&b, &ci, &err), -EINVAL);
	CHECK_INT(b.len, 0);

	REQUIRE(lambda_config_body(&b, &cfg, &err) == 0);
	CHECK_STR(
	    b.ptr,
	    "{\"Handler\":\"h\",\"MemorySize\":256,\"Environment\":{\"Variables\":{\"A\":\"1\",\"B\":\"\"}},"
	    "\"RevisionId\":\"r2\"}");
	buf_reset(&b);
	/* nothing set: an empty update */
	cfg = (struct lambda_config_input){0};
	REQUIRE(lambda_config_body(&b, &cfg, &err) == 0);
	CHECK_STR(b.ptr, "{}");
	buf_reset(&b);

	REQUIRE(lambda_publish_body(&b, "abc=", "r3", "v1 @1234567: hi", &err) == 0);
	CHECK_STR(b.ptr,
	          "{\"CodeSha256\":\"abc=\",\"RevisionId\":\"r3\",\"Description\":\"v1 @1234567: hi\"}");
	buf_reset(&b);
	{
		char longdesc[300];

		memset(longdesc, 'x', sizeof(longdesc) - 1);
		longdesc[sizeof(longdesc) - 1] = '\0';
		CHECK_INT(lambda_publish_body(&b, NULL, NULL, longdesc, &err), -EINVAL);
	}
	buf_release(&b);
}

TEST(create_body)
{
	struct buf b = BUF_INIT;
	struct error err = ERROR_INIT;
	struct lambda_create_input in = {
	    .function_name = "f",
	    .config = {.runtime = "python3.12",
	               .role = "arn:aws:iam::1:role/r",
	               .handler = "a.h",
	               .timeout = 3},
	    .code = {.s3_bucket = "b", .s3_key = "k"},
	    .architecture = "arm64",
	};
	cJSON *j;

	REQUIRE(lambda_create_body(&b, &in, &err) == 0);
	j = parse_body(&b);
	REQUIRE(j);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(j, "FunctionName")), "f");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "Code"), "S3Key")), "k");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetArrayItem(cJSON_GetObjectItem(j, "Architectures"), 0)),
	          "arm64");
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "Publish")));
	CHECK(cJSON_GetNumberValue(cJSON_GetObjectItem(j, "Timeout")) == 3);
	cJSON_Delete(j);
	buf_reset(&b);
	in.config.role = NULL;
	CHECK_INT(lambda_create_body(&b, &in, &err), -EINVAL);
	in.config.role = "r";
	in.function_name = "";
	CHECK_INT(lambda_create_body(&b, &in, &err), -EINVAL);
	buf_release(&b);
}

TEST(to_json_roundtrip)
{
	struct lambda_function_config c = {0}, c2 = {0};
	struct error err = ERROR_INIT;
	cJSON *j;
	char *s;

	REQUIRE(lambda_function_config_parse("op", full_config, strlen(full_config), &c, &err) == 0);
	j = lambda_function_config_to_json(&c, false);
	REQUIRE(j);
	s = cJSON_PrintUnformatted(j);
	REQUIRE(s);
	CHECK(strstr(s, "s3cret") == NULL); /* secrets hidden by default */
	REQUIRE(lambda_function_config_parse("op", s, strlen(s), &c2, &err) == 0);
	CHECK_STR(c2.function_arn, c.function_arn);
	CHECK_STR(c2.env[1].value, "***");
	CHECK_INT(c2.memory_size, 128);
	CHECK_STR(c2.layers[0].arn, c.layers[0].arn);
	free(s);
	cJSON_Delete(j);
	lambda_function_config_release(&c);
	lambda_function_config_release(&c2);
}

TEST(utf8)
{
	CHECK(lambda_utf8_valid("", 0));
	CHECK(lambda_utf8_valid("plain", 5));
	CHECK(lambda_utf8_valid("\xc3\xa9", 2));
	CHECK(lambda_utf8_valid("\xe2\x82\xac", 3));
	CHECK(lambda_utf8_valid("\xf0\x9f\x98\x80", 4));
	CHECK(!lambda_utf8_valid("\xf4\x90\x80\x80", 4)); /* > U+10FFFF */
	CHECK(!lambda_utf8_valid("\xe0\x80\x80", 3));     /* overlong */
	CHECK(!lambda_utf8_valid("\x80", 1));
	CHECK(!lambda_utf8_valid("\xc3", 1));
	CHECK(!lambda_utf8_valid("\xf5\x80\x80\x80", 4));
}

/* Every byte of a stream, read in pieces of the sizes in steps[] (cycled). */
static void drain(struct lambda_body_stream *s, struct buf *out, const size_t *steps, size_t n_steps)
{
	char piece[5000];
	size_t got, i = 0;

	do {
		size_t want = steps[i++ % n_steps];

		got = lambda_body_stream_read(s, piece, want);
		REQUIRE(got <= want);
		REQUIRE(buf_put(out, piece, got) == 0);
	} while (got);
}

static void sha256_hex_of(const void *data, size_t len, char hex[65])
{
	unsigned char md[32];

	REQUIRE(EVP_Digest(data, len, md, NULL, EVP_sha256(), NULL) == 1);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

TEST(code_body_stream)
{
	static const size_t sizes[] = {0, 1, 2, 3, 4, 5, 767, 768, 769, 3071, 3072, 3073, 100003};
	static const size_t steps[] = {1, 7, 4096, 3, 5000, 2};
	unsigned char *zip = malloc(100003);
	struct error err = ERROR_INIT;

	REQUIRE(zip);
	for (size_t i = 0; i < 100003; i++)
		zip[i] = (unsigned char)(i * 2654435761u >> 13);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct lambda_code_input ci = {.code = {.zip = zip, .zip_len = sizes[k]}, .revision_id = "r"};
		struct lambda_body_stream s = {.head = BUF_INIT, .tail = BUF_INIT};
		struct buf got = BUF_INIT, want = BUF_INIT, again = BUF_INIT;
		char *b64 = malloc(sizes[k] / 3 * 4 + 5);
		char hex[65];

		REQUIRE(b64);
		EVP_EncodeBlock((unsigned char *)b64, zip, (int)sizes[k]);
		REQUIRE(buf_printf(&want, "{\"ZipFile\":\"%s\",\"RevisionId\":\"r\",\"Publish\":false}",
		                   b64) == 0);
		REQUIRE(lambda_code_body_stream(&s, &ci, &err) == 0);
		CHECK_U64(s.len, want.len);
		CHECK_U64(s.reader.len, want.len);
		drain(&s, &got, steps, sizeof(steps) / sizeof(steps[0]));
		CHECKF(got.len == want.len && !memcmp(got.ptr, want.ptr, want.len), "zip of %zu bytes",
		       sizes[k]);
		sha256_hex_of(want.ptr, want.len, hex);
		CHECK_STR(s.sha256_hex, hex);
		/* the reader rewinds and gives the same bytes again (a retry) */
		REQUIRE(s.reader.rewind(s.reader.ctx) == 0);
		drain(&s, &again, steps + 2, 1);
		CHECK(again.len == want.len && !memcmp(again.ptr, want.ptr, want.len));
		CHECK_INT(s.reader.read(s.reader.ctx, (char *)hex, 10), 0); /* at the end */
		lambda_body_stream_release(&s);
		lambda_body_stream_release(&s); /* released twice: fine */
		buf_release(&got);
		buf_release(&want);
		buf_release(&again);
		free(b64);
	}
	free(zip);
}

TEST(create_body_stream_placeholder)
{
	/* a variable named ZipFile and a value with the placeholder's byte stay where they are */
	static const unsigned char zip[] = {'P', 'K', 3, 4, 1, 0, 0xff};
	struct lambda_env_input env[] = {{"ZipFile", ""}, {"X", "\x01\"\x01"}};
	struct lambda_create_input in = {
	    .function_name = "f",
	    .config = {.role = "r", .set_environment = true, .env = env, .n_env = 2},
	    .code = {.zip = zip, .zip_len = sizeof(zip)},
	};
	struct lambda_body_stream s = {.head = BUF_INIT, .tail = BUF_INIT};
	struct error err = ERROR_INIT;
	struct buf body = BUF_INIT, drained = BUF_INIT;
	static const size_t step = 3;
	cJSON *j, *vars;

	REQUIRE(lambda_create_body(&body, &in, &err) == 0);
	j = parse_body(&body);
	REQUIRE(j);
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(j, "Code"), "ZipFile")),
	          "UEsDBAEA/w==");
	vars = cJSON_GetObjectItem(cJSON_GetObjectItem(j, "Environment"), "Variables");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(vars, "ZipFile")), "");
	CHECK_STR(cJSON_GetStringValue(cJSON_GetObjectItem(vars, "X")), "\x01\"\x01");
	CHECK(cJSON_IsFalse(cJSON_GetObjectItem(j, "Publish")));
	cJSON_Delete(j);

	REQUIRE(lambda_create_body_stream(&s, &in, &err) == 0);
	drain(&s, &drained, &step, 1);
	CHECK(drained.len == body.len && !memcmp(drained.ptr, body.ptr, body.len));
	lambda_body_stream_release(&s);

	/* over the direct-upload limit: refused before anything is read */
	in.code.zip_len = (size_t)LAMBDA_MAX_ZIP_BYTES + 1;
	CHECK_INT(lambda_create_body_stream(&s, &in, &err), -E2BIG);
	CHECK(strstr(err.msg, "direct-upload limit") != NULL);
	/* no zip: the stream is the whole body */
	in.code = (struct lambda_code){.s3_bucket = "b", .s3_key = "k"};
	REQUIRE(lambda_create_body_stream(&s, &in, &err) == 0);
	CHECK(s.zip == NULL && s.tail.len == 0 && s.len == s.head.len);
	lambda_body_stream_release(&s);
	buf_release(&body);
	buf_release(&drained);
}

TEST(account_settings)
{
	static const char good[] =
	    "{\"AccountLimit\":{\"TotalCodeSize\":80530636800,\"CodeSizeUnzipped\":262144000,"
	    "\"CodeSizeZipped\":52428800,\"ConcurrentExecutions\":1000,"
	    "\"UnreservedConcurrentExecutions\":1000},"
	    "\"AccountUsage\":{\"TotalCodeSize\":13005312,\"FunctionCount\":7}}";
	static const struct {
		const char *json, *msg;
	} hostile[] = {
	    {"{}", "GetAccountSettings: response field AccountLimit is missing"},
	    {"{\"AccountLimit\":{\"TotalCodeSize\":1}}",
	     "GetAccountSettings: response field AccountUsage is missing"},
	    {"{\"AccountLimit\":{},\"AccountUsage\":{\"TotalCodeSize\":1}}",
	     "GetAccountSettings: response field AccountLimit.TotalCodeSize is missing"},
	    {"{\"AccountLimit\":{\"TotalCodeSize\":5},\"AccountUsage\":{}}",
	     "GetAccountSettings: response field AccountUsage.TotalCodeSize is missing"},
	    {"{\"AccountLimit\":{\"TotalCodeSize\":\"5\"},\"AccountUsage\":{\"TotalCodeSize\":1}}",
	     "GetAccountSettings: response field AccountLimit.TotalCodeSize is not a number"},
	    {"{\"AccountLimit\":{\"TotalCodeSize\":-1},\"AccountUsage\":{\"TotalCodeSize\":1}}",
	     "GetAccountSettings: response field AccountLimit.TotalCodeSize is out of range"},
	    {"{\"AccountLimit\":{\"TotalCodeSize\":5},\"AccountUsage\":{\"TotalCodeSize\":1.5}}",
	     "GetAccountSettings: response field AccountUsage.TotalCodeSize is not an integer"},
	    {"{\"AccountLimit\":[],\"AccountUsage\":{\"TotalCodeSize\":1}}",
	     "GetAccountSettings: response field AccountLimit is not an object"},
	    {"[1]", "GetAccountSettings: response is not a JSON object"},
	};
	struct lambda_account_settings a = {0};
	struct error err = ERROR_INIT;

	REQUIRE(lambda_account_settings_parse("GetAccountSettings", good, strlen(good), &a, &err) == 0);
	CHECK_INT(a.code_storage_limit, 80530636800LL);
	CHECK_INT(a.code_storage_used, 13005312);
	CHECK_INT(a.function_count, 7);
	CHECK_INT(a.concurrent_executions, 1000);

	/* a zero usage (a fresh region) is a value, not "absent" */
	static const char zero[] = "{\"AccountLimit\":{\"TotalCodeSize\":100},"
	                           "\"AccountUsage\":{\"TotalCodeSize\":0}}";
	a = (struct lambda_account_settings){1, 2, 3, 4};
	REQUIRE(lambda_account_settings_parse("GetAccountSettings", zero, strlen(zero), &a, &err) == 0);
	CHECK_INT(a.code_storage_limit, 100);
	CHECK_INT(a.code_storage_used, 0);
	CHECK_INT(a.function_count, 0);

	for (size_t i = 0; i < sizeof(hostile) / sizeof(hostile[0]); i++) {
		a = (struct lambda_account_settings){1, 2, 3, 4};
		error_clear(&err);
		CHECK_INT(lambda_account_settings_parse("GetAccountSettings", hostile[i].json,
		                                        strlen(hostile[i].json), &a, &err),
		          -EBADMSG);
		CHECK_STR(err.msg, hostile[i].msg);
		CHECK_INT(a.code_storage_limit, 1); /* untouched on error */
	}
}

TEST_MAIN(account_settings, config_full, config_minimal, config_hostile, config_oversized, function_parse,
          alias_parse, versions_pages, list_cap, aliases_pages, alias_body, code_and_config_bodies,
          create_body, code_body_stream, create_body_stream_placeholder, to_json_roundtrip, utf8)
