/*
 * test_aws_lambda_client.c - the pure parts of aws/client: error code
 * extraction, errno mapping, URL/path building, endpoint selection, stop.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "aws/lambda.h"
#include "tests/unit/harness.h"

TEST(error_codes)
{
	static const struct {
		const char *name, *header, *body, *code, *message;
	} cases[] = {
	    {"header wins", "ResourceNotFoundException", "{\"__type\":\"Other\",\"message\":\"m\"}",
	     "ResourceNotFoundException", "m"},
	    {"header with colon", "ResourceConflictException:http://internal.amazon.com/coral/com.amazon/",
	     "{}", "ResourceConflictException", ""},
	    {"header with hash", "aws.protocoltests#FooError", NULL, "FooError", ""},
	    {"hash and colon", "com.amazon.coral#TooManyRequestsException:http://x#y", "",
	     "TooManyRequestsException", ""},
	    {"__type", NULL,
	     "{\"__type\":\"com.amazonaws.lambda#PreconditionFailedException\",\"Message\":\"M\"}",
	     "PreconditionFailedException", "M"},
	    {"empty header falls back", "", "{\"__type\":\"ServiceException\"}", "ServiceException", ""},
	    {"code", NULL, "{\"code\":\"InvalidParameterValueException\",\"message\":\"bad\"}",
	     "InvalidParameterValueException", "bad"},
	    {"Code", NULL, "{\"Code\":\"AccessDeniedException\",\"Message\":\"no\"}", "AccessDeniedException",
	     "no"},
	    {"__type before code", NULL, "{\"code\":\"B\",\"__type\":\"A\"}", "A", ""},
	    {"message before Message", NULL, "{\"message\":\"lower\",\"Message\":\"upper\"}", "", "lower"},
	    {"not json", NULL, "<html>502 Bad Gateway</html>", "", ""},
	    {"array", NULL, "[\"__type\"]", "", ""},
	    {"type not string", NULL, "{\"__type\":5,\"code\":\"C\"}", "C", ""},
	    {"control chars", NULL, "{\"__type\":\"X\",\"message\":\"a\\nb\"}", "X", "a b"},
	    {"nothing", NULL, NULL, "", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char code[128] = "junk", msg[256] = "junk";

		aws_error_parse(cases[i].header, cases[i].body, cases[i].body ? strlen(cases[i].body) : 0,
		                code, sizeof(code), msg, sizeof(msg));
		CHECKF(!strcmp(code, cases[i].code), "%s: code '%s'", cases[i].name, code);
		CHECKF(!strcmp(msg, cases[i].message), "%s: message '%s'", cases[i].name, msg);
	}
	/* truncation into small buffers */
	{
		char code[6], msg[4];

		aws_error_parse("ResourceNotFoundException", "{\"message\":\"long message\"}", 26, code,
		                sizeof(code), msg, sizeof(msg));
		CHECK_STR(code, "Resou");
		CHECK_STR(msg, "lon");
	}
}

TEST(error_errno)
{
	CHECK_INT(aws_error_errno(404, "ResourceNotFoundException"), -ENOENT);
	CHECK_INT(aws_error_errno(409, "ResourceConflictException"), -EBUSY);
	CHECK_INT(aws_error_errno(412, "PreconditionFailedException"), -ESTALE);
	CHECK_INT(aws_error_errno(429, "TooManyRequestsException"), -EAGAIN);
	CHECK_INT(aws_error_errno(403, "InvalidSignatureException"), -EACCES);
	CHECK_INT(aws_error_errno(400, "InvalidParameterValueException"), -EINVAL);
	CHECK_INT(aws_error_errno(400, "CodeStorageExceededException"), -ENOSPC);
	CHECK_INT(aws_error_errno(500, "ServiceException"), -EIO);
	CHECK_INT(aws_error_errno(502, ""), -EIO);
	CHECK_INT(aws_error_errno(418, ""), -EPROTO);
}

TEST(error_helpers)
{
	struct aws_error e = AWS_ERROR_INIT;

	CHECK_INT(aws_error_set(&e, -EINVAL, "GetAlias", "bad %s", "thing"), -EINVAL);
	CHECK_STR(e.err.msg, "bad thing");
	CHECK_STR(e.operation, "GetAlias");
	CHECK_INT(e.err.code, -EINVAL);
	snprintf(e.code, sizeof(e.code), "ResourceConflictException");
	CHECK(aws_error_is(&e, "ResourceConflictException"));
	CHECK(!aws_error_is(&e, "ResourceNotFoundException"));
	CHECK(!aws_error_is(NULL, "x"));
	aws_error_clear(&e);
	CHECK_STR(e.code, "");
	CHECK_INT(e.err.code, 0);
	CHECK_INT(aws_error_set(NULL, -EIO, "x", "y"), -EIO);
}

static void check_path(const struct aws_request *req, const char *path, const char *query)
{
	struct buf p = BUF_INIT, q = BUF_INIT;

	CHECK_INT(aws_request_path(req, &p, &q), 0);
	CHECK_STR(p.ptr, path);
	CHECK_STR(q.ptr, query);
	buf_release(&p);
	buf_release(&q);
}

TEST(paths)
{
	struct aws_request r1 = {.segments = {"functions", "my-fn"}, .n_segments = 2};
	struct aws_request r2 = {
	    .segments = {"functions", "arn:aws:lambda:us-east-1:123456789012:function:my-fn", "aliases",
	                 "Prod"},
	    .n_segments = 4,
	};
	struct aws_request r3 = {
	    .segments = {"functions", "f", "versions"},
	    .n_segments = 3,
	    .query = {{"Marker", "ab+c/d=="}, {"MaxItems", "50"}},
	    .n_query = 2,
	};
	struct aws_request r4 = {
	    .segments = {"functions"},
	    .n_segments = 1,
	    .trailing_slash = true,
	    .query = {{"Marker", NULL}, {"MaxItems", "50"}, {"FunctionVersion", "ALL"}},
	    .n_query = 3,
	};
	struct aws_request r5 = {
	    .segments = {"functions", "f:3", "configuration"},
	    .n_segments = 3,
	    .query = {{"Qualifier", NULL}},
	    .n_query = 1,
	};
	struct aws_request r6 = {.segments = {"functions", "a b/c%d"}, .n_segments = 2};
	struct aws_request r7 = {
	    .api_version = "2016-08-19",
	    .segments = {"account-settings"},
	    .n_segments = 1,
	    .trailing_slash = true,
	};

	check_path(&r1, "/2015-03-31/functions/my-fn", "");
	check_path(&r2,
	           "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/"
	           "aliases/Prod",
	           "");
	check_path(&r3, "/2015-03-31/functions/f/versions", "Marker=ab%2Bc%2Fd%3D%3D&MaxItems=50");
	check_path(&r4, "/2015-03-31/functions/", "MaxItems=50&FunctionVersion=ALL");
	check_path(&r5, "/2015-03-31/functions/f%3A3/configuration", "");
	check_path(&r6, "/2015-03-31/functions/a%20b%2Fc%25d", "");
	check_path(&r7, "/2016-08-19/account-settings/", "");
}

static const struct aws_credentials test_creds = {(char *)"AKIDEXAMPLE", (char *)"secret", NULL, 0, "test"};

TEST(endpoints)
{
	static const struct {
		const char *lambda_env, *env, *opt, *want;
		int code;
	} cases[] = {
	    {NULL, NULL, NULL, "https://lambda.eu-west-3.amazonaws.com", 0},
	    {NULL, NULL, "http://127.0.0.1:9/", "http://127.0.0.1:9", 0},
	    {NULL, "http://localhost:4566", "http://127.0.0.1:9", "http://localhost:4566", 0},
	    {"https://lambda.example:8443/base//", "http://localhost:4566", NULL,
	     "https://lambda.example:8443/base", 0},
	    {"ftp://x", NULL, NULL, NULL, -EINVAL},
	    {"http://user@host", NULL, NULL, NULL, -EINVAL},
	    {"http://", NULL, NULL, NULL, -EINVAL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct aws_client_options o = {
		    .region = "eu-west-3", .endpoint = cases[i].opt, .static_credentials = &test_creds};
		struct aws_client *c = NULL;
		struct error err = ERROR_INIT;
		int r;

		if (cases[i].lambda_env)
			setenv("AWS_ENDPOINT_URL_LAMBDA", cases[i].lambda_env, 1);
		else
			unsetenv("AWS_ENDPOINT_URL_LAMBDA");
		if (cases[i].env)
			setenv("AWS_ENDPOINT_URL", cases[i].env, 1);
		else
			unsetenv("AWS_ENDPOINT_URL");
		r = aws_client_new(&c, &o, &err);
		CHECKF(r == cases[i].code, "case %zu: %d (%s)", i, r, err.msg);
		if (r == 0) {
			CHECKF(!strcmp(aws_client_endpoint(c), cases[i].want), "case %zu: %s", i,
			       aws_client_endpoint(c));
			CHECK_STR(aws_client_region(c), "eu-west-3");
		}
		aws_client_free(c);
	}
	unsetenv("AWS_ENDPOINT_URL_LAMBDA");
	unsetenv("AWS_ENDPOINT_URL");
	{
		struct aws_client_options o = {.region = "us-east-1;rm", .static_credentials = &test_creds};
		struct aws_client *c = NULL;

		CHECK_INT(aws_client_new(&c, &o, NULL), -EINVAL);
	}
}

static void count_cb(const char *op, const char *outcome, uint64_t n, void *ctx)
{
	char *s = ctx;
	size_t len = strlen(s);

	snprintf(s + len, 512 - len, "%s/%s=%llu;", op, outcome, (unsigned long long)n);
}

TEST(stop_and_transport)
{
	/* nobody listens on port 1: a transport error, retried max_attempts times */
	struct retry_policy p = {.max_attempts = 2, .base_ms = 1, .cap_ms = 1, .retry_after_max_ms = 1};
	struct aws_client_options o = {.region = "us-east-1",
	                               .endpoint = "http://127.0.0.1:1",
	                               .static_credentials = &test_creds,
	                               .retry = &p};
	struct aws_client *c = NULL;
	struct aws_error e = AWS_ERROR_INIT;
	struct lambda_alias a = {0};
	char counters[512] = "";
	int r;

	unsetenv("AWS_ENDPOINT_URL_LAMBDA");
	unsetenv("AWS_ENDPOINT_URL");
	REQUIRE(aws_client_new(&c, &o, NULL) == 0);
	r = lambda_alias_get(c, "f", "Prod", &a, &e);
	CHECK_INT(r, -ECONNREFUSED);
	CHECK_INT(e.attempts, 2);
	CHECK_INT(e.status, 0);
	CHECK_STR(e.operation, "GetAlias");
	CHECK(a.name == NULL);
	CHECK_U64(aws_client_retries(c), 1);
	aws_client_counters_foreach(c, count_cb, counters);
	CHECK_STR(counters, "GetAlias/transport=2;");
	/* missing arguments are refused before anything is sent */
	CHECK_INT(lambda_alias_get(c, "f", NULL, &a, &e), -EINVAL);
	CHECK_INT(lambda_function_get(c, "", NULL, NULL, &e), -EINVAL);
	/* after stop: nothing is sent */
	aws_client_stop(c);
	CHECK(aws_client_stopped(c));
	CHECK_INT(lambda_alias_get(c, "f", "Prod", &a, &e), -ECANCELED);
	CHECK(strstr(e.err.msg, "stopping") != NULL);
	counters[0] = '\0';
	aws_client_counters_foreach(c, count_cb, counters);
	CHECK_STR(counters, "GetAlias/transport=2;");
	aws_client_free(c);
}

TEST_MAIN(error_codes, error_errno, error_helpers, paths, endpoints, stop_and_transport)
