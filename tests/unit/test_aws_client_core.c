/*
 * test_aws_client_core.c - the request core shared by the AWS clients
 * (aws/core.h): endpoint parsing and resolution, the signed headers, and a
 * send that never reaches the protocol's error reader when stopped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/core.h"
#include "tests/unit/harness.h"

TEST(endpoint_parse_normalises)
{
	static const struct {
		const char *url, *base, *host;
	} cases[] = {
	    {"https://Lambda.EU-west-1.amazonaws.com:443/", "https://Lambda.EU-west-1.amazonaws.com:443",
	     "lambda.eu-west-1.amazonaws.com"},
	    {"http://127.0.0.1:80", "http://127.0.0.1:80", "127.0.0.1"},
	    {"http://127.0.0.1:4567/base//", "http://127.0.0.1:4567/base", "127.0.0.1:4567"},
	    {"HTTPS://h:8443", "HTTPS://h:8443", "h:8443"},
	};
	struct error err = ERROR_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *base = NULL, *host = NULL;

		CHECK_INT(aws_endpoint_parse(cases[i].url, &base, &host, &err), 0);
		CHECK_STR(base, cases[i].base);
		CHECK_STR(host, cases[i].host);
		free(base);
		free(host);
	}
}

TEST(endpoint_parse_rejects)
{
	static const char *const bad[] = {
	    "ftp://h",       "h:80",       "http://",      "http://user@h", "http://h?x=1",
	    "http://h#frag", "http://h h", "http://h/a b", "http://h/\x7f",
	};
	struct error err = ERROR_INIT;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char *base = NULL, *host = NULL;

		CHECKF(aws_endpoint_parse(bad[i], &base, &host, &err) == -EINVAL, "%s accepted", bad[i]);
		CHECK(base == NULL && host == NULL);
		CHECK(strstr(err.msg, "endpoint") != NULL);
	}
}

TEST(endpoint_resolve_order)
{
	struct error err = ERROR_INIT;
	char *ep = NULL;

	unsetenv("AWS_ENDPOINT_URL_LAMBDA");
	unsetenv("AWS_ENDPOINT_URL");
	REQUIRE(aws_endpoint_resolve("LAMBDA", NULL, "lambda", false, "cn-north-1", &ep, &err) == 0);
	CHECK_STR(ep, "https://lambda.cn-north-1.amazonaws.com");
	free(ep);
	REQUIRE(aws_endpoint_resolve("LAMBDA", "", "lambda", true, "cn-north-1", &ep, &err) == 0);
	CHECK_STR(ep, "https://lambda.cn-north-1.amazonaws.com.cn");
	free(ep);
	REQUIRE(aws_endpoint_resolve("LAMBDA", "http://config:1", "lambda", false, "eu-west-1", &ep, &err) ==
	        0);
	CHECK_STR(ep, "http://config:1");
	free(ep);
	setenv("AWS_ENDPOINT_URL", "http://all:2", 1);
	REQUIRE(aws_endpoint_resolve("LAMBDA", "http://config:1", "lambda", false, "eu-west-1", &ep, &err) ==
	        0);
	CHECK_STR(ep, "http://all:2");
	free(ep);
	setenv("AWS_ENDPOINT_URL_LAMBDA", "http://lambda:3", 1);
	REQUIRE(aws_endpoint_resolve("LAMBDA", "http://config:1", "lambda", false, "eu-west-1", &ep, &err) ==
	        0);
	CHECK_STR(ep, "http://lambda:3");
	free(ep);
	/* another service's variable is not ours */
	REQUIRE(aws_endpoint_resolve("CLOUDWATCH", NULL, "monitoring", true, "eu-west-1", &ep, &err) == 0);
	CHECK_STR(ep, "http://all:2");
	free(ep);
	unsetenv("AWS_ENDPOINT_URL_LAMBDA");
	unsetenv("AWS_ENDPOINT_URL");
}

TEST(sign_headers)
{
	struct aws_credentials creds = {0};
	struct error err = ERROR_INIT;

	creds.access_key_id = (char *)"AKIDEXAMPLE";
	creds.secret_access_key = (char *)"secret";
	for (int signed_ct = 0; signed_ct < 2; signed_ct++) {
		struct sigv4_params sp = {
		    .method = "POST",
		    .path = "/",
		    .payload = "a=1",
		    .payload_len = 3,
		    .region = "us-east-1",
		    .service = "monitoring",
		    .now = 1700000000,
		    .double_encode_path = true,
		};
		struct sigv4_result sig = SIGV4_RESULT_INIT;
		struct http_header h[AWS_SIGNED_HEADERS];
		int n = aws_core_sign(&sp, "h:1", "text/x", signed_ct, &creds, &sig, h, &err);

		REQUIRE(n == 3);
		CHECK_STR(h[0].name, "X-Amz-Date");
		CHECK_STR(h[0].value, "20231114T221320Z");
		CHECK_STR(h[1].name, "Authorization");
		CHECK(strstr(h[1].value,
		             signed_ct ? "SignedHeaders=content-type;host;" : "SignedHeaders=host;") != NULL);
		CHECK_STR(h[2].name, "Content-Type");
		CHECK_STR(h[2].value, "text/x");
		sigv4_result_release(&sig);
	}
	{
		struct sigv4_params sp = {.method = "GET",
		                          .path = "/",
		                          .region = "us-east-1",
		                          .service = "lambda",
		                          .now = 1700000000,
		                          .double_encode_path = true};
		struct sigv4_result sig = SIGV4_RESULT_INIT;
		struct http_header h[AWS_SIGNED_HEADERS];
		int n;

		creds.session_token = (char *)"tok";
		n = aws_core_sign(&sp, "h:1", NULL, false, &creds, &sig, h, &err);
		REQUIRE(n == 3);
		CHECK_STR(h[2].name, "X-Amz-Security-Token");
		CHECK_STR(h[2].value, "tok");
		sigv4_result_release(&sig);
	}
}

static int reader_calls;

static int count_reader(const char *operation, const struct http_response *resp,
                        const struct aws_credentials *creds, struct aws_error *aerr, bool *ret_throttle,
                        void *ctx)
{
	(void)operation;
	(void)resp;
	(void)creds;
	(void)aerr;
	(void)ctx;
	reader_calls++;
	*ret_throttle = false;
	return -EIO;
}

TEST(send_after_stop_is_canceled)
{
	static const struct aws_core_options so = {.env_service = "TESTSVC", .host_prefix = "testsvc"};
	static const struct aws_protocol proto = {.service = "testsvc", .read_error = count_reader};
	struct aws_credentials creds = {0};
	struct retry_policy rp = {1, 1, 1, 1};
	struct aws_client_options o = {.region = "us-east-1",
	                               .retry = &rp,
	                               .static_credentials = &creds,
	                               .endpoint = "http://127.0.0.1:9/x/"};
	struct ratelimit_options ro = {.rate = 100};
	struct ratelimit rl;
	struct aws_core core;
	struct aws_error aerr = AWS_ERROR_INIT;
	struct error err = ERROR_INIT;
	struct aws_send send = {
	    .operation = "Op", .method = "GET", .url = "http://127.0.0.1:9/x/", .sign_path = "/", .rl = &rl};

	creds.access_key_id = (char *)"AKIDEXAMPLE";
	creds.secret_access_key = (char *)"secret";
	unsetenv("AWS_ENDPOINT_URL_TESTSVC");
	unsetenv("AWS_ENDPOINT_URL");
	REQUIRE(ratelimit_init(&rl, &ro) == 0);
	REQUIRE(aws_core_init(&core, &o, &so, &err) == 0);
	CHECK_STR(core.endpoint, "http://127.0.0.1:9/x");
	CHECK_STR(core.host, "127.0.0.1:9");
	CHECK_STR(core.region, "us-east-1");
	CHECK(!aws_core_stopped(&core));
	aws_core_stop(&core);
	CHECK(aws_core_stopped(&core));
	CHECK_INT(aws_core_send(&core, &proto, &send, NULL, NULL, &aerr), -ECANCELED);
	CHECK(aerr.err.kind == ERROR_KIND_CANCELED);
	CHECK_STR(aerr.operation, "Op");
	CHECK(strstr(aerr.err.msg, "Op: not sent") != NULL);
	CHECK_INT((int)aerr.attempts, 0);
	CHECK_INT(reader_calls, 0);
	/* and with no aws_error to fill */
	CHECK_INT(aws_core_send(&core, &proto, &send, NULL, NULL, NULL), -ECANCELED);
	aws_core_release(&core);
	ratelimit_release(&rl);
}

TEST(init_rejects_bad_region_and_endpoint)
{
	static const struct aws_core_options so = {.env_service = "TESTSVC", .host_prefix = "testsvc"};
	struct aws_credentials creds = {0};
	struct aws_client_options o = {.region = "us east", .static_credentials = &creds};
	struct aws_core core;
	struct error err = ERROR_INIT;

	unsetenv("AWS_ENDPOINT_URL_TESTSVC");
	unsetenv("AWS_ENDPOINT_URL");
	CHECK_INT(aws_core_init(&core, &o, &so, &err), -EINVAL);
	CHECK(strstr(err.msg, "region") != NULL);
	o.region = "us-east-1";
	o.endpoint = "ftp://x";
	CHECK_INT(aws_core_init(&core, &o, &so, &err), -EINVAL);
	CHECK(strstr(err.msg, "ftp://x") != NULL);
	setenv("AWS_ENDPOINT_URL_TESTSVC", "http://ok:1", 1);
	CHECK_INT(aws_core_init(&core, &o, &so, &err), 0);
	CHECK_STR(core.endpoint, "http://ok:1");
	aws_core_release(&core);
	unsetenv("AWS_ENDPOINT_URL_TESTSVC");
}

TEST_MAIN(endpoint_parse_normalises, endpoint_parse_rejects, endpoint_resolve_order, sign_headers,
          send_after_stop_is_canceled, init_rejects_bad_region_and_endpoint)
