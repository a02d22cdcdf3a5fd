/*
 * test_aws_cloudwatch.c - the pure pieces of aws/cloudwatch: request bodies,
 * answers, error XML, error classification, endpoints and signing.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aws/cloudwatch.h"
#include "aws/query.h"
#include "tests/unit/harness.h"

static struct cloudwatch_alarms want(const char *const *names, size_t n)
{
	struct cloudwatch_alarms a = {calloc(n, sizeof(struct cloudwatch_alarm)), n};

	for (size_t i = 0; i < n; i++) {
		a.items[i].name = strdup(names[i]);
		a.items[i].reason = strdup("");
	}
	return a;
}

TEST(cloudwatch_body)
{
	static const char *const names[] = {"errors", "p99 latency", "a+b/c=é~"};
	struct buf b = BUF_INIT;
	const char *many[101];

	CHECK_INT(cloudwatch_describe_body(&b, names, 3, NULL), 0);
	CHECK_STR(b.ptr, "Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1=errors&"
	                 "AlarmNames.member.2=p99%20latency&AlarmNames.member.3=a%2Bb%2Fc%3D%C3%A9~&"
	                 "AlarmTypes.member.1=CompositeAlarm&AlarmTypes.member.2=MetricAlarm&MaxRecords=100");
	buf_reset(&b);
	CHECK_INT(cloudwatch_describe_body(&b, names, 1, "tok+/="), 0);
	CHECK_STR(b.ptr, "Action=DescribeAlarms&Version=2010-08-01&AlarmNames.member.1=errors&"
	                 "AlarmTypes.member.1=CompositeAlarm&AlarmTypes.member.2=MetricAlarm&MaxRecords=100&"
	                 "NextToken=tok%2B%2F%3D");
	for (size_t i = 0; i < 101; i++)
		many[i] = "x";
	buf_reset(&b);
	CHECK_INT(cloudwatch_describe_body(&b, many, 101, NULL), -E2BIG);
	buf_release(&b);
}

static const char answer[] =
    "<DescribeAlarmsResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">"
    "<DescribeAlarmsResult><MetricAlarms>"
    "<member><AlarmName>errors</AlarmName><StateValue>ALARM</StateValue>"
    "<StateReason>Threshold Crossed: 1 datapoint [3.0] was &gt;= 1.0\n</StateReason>"
    "<StateUpdatedTimestamp>2026-11-30T03:00:00.000Z</StateUpdatedTimestamp>"
    "<Dimensions><member><Name>FunctionName</Name><Value>f</Value></member></Dimensions></member>"
    "<member><AlarmName>p99</AlarmName><StateValue>INSUFFICIENT_DATA</StateValue></member>"
    "<member><AlarmName>not-asked</AlarmName><StateValue>ALARM</StateValue></member>"
    "<member><AlarmName>odd</AlarmName><StateValue>SOMETHING_NEW</StateValue></member>"
    "</MetricAlarms><CompositeAlarms><member><AlarmName>composite</AlarmName><StateValue>OK</StateValue>"
    "</member></CompositeAlarms><NextToken>page2</NextToken></DescribeAlarmsResult>"
    "<ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></DescribeAlarmsResponse>";

TEST(cloudwatch_parse_answer)
{
	static const char *const names[] = {"errors", "p99", "missing", "odd", "composite"};
	struct cloudwatch_alarms a = want(names, 5);
	struct error err = ERROR_INIT;
	char *token = NULL;

	REQUIRE(cloudwatch_describe_parse(answer, strlen(answer), &a, &token, &err) == 0);
	CHECK_STR(token, "page2");
	CHECK_INT(a.items[0].state, CLOUDWATCH_ALARM);
	CHECK_STR(a.items[0].reason, "Threshold Crossed: 1 datapoint [3.0] was >= 1.0 ");
	CHECK_STR(a.items[0].updated, "2026-11-30T03:00:00.000Z");
	CHECK_INT(a.items[1].state, CLOUDWATCH_INSUFFICIENT_DATA);
	CHECK_INT(a.items[2].state, CLOUDWATCH_MISSING); /* absent is missing, never OK */
	CHECK_INT(a.items[3].state, CLOUDWATCH_UNKNOWN);
	CHECK_INT(a.items[4].state, CLOUDWATCH_OK);
	CHECK_STR(cloudwatch_alarms_first_in_alarm(&a)->name, "errors");
	CHECK_STR(cloudwatch_alarms_first_missing(&a)->name, "missing");
	CHECK_STR(cloudwatch_state_name(a.items[1].state), "INSUFFICIENT_DATA");
	free(token);
	cloudwatch_alarms_release(&a);
	CHECK(a.items == NULL && a.n == 0);
	cloudwatch_alarms_release(&a);
}

TEST(cloudwatch_parse_last_page_and_garbage)
{
	static const char *const names[] = {"x"};
	static const char last[] = "<DescribeAlarmsResponse><DescribeAlarmsResult><MetricAlarms/>"
	                           "</DescribeAlarmsResult></DescribeAlarmsResponse>";
	static const char *const bad[] = {
	    "",
	    "not xml",
	    "<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>",
	    "<DescribeAlarmsResponse/>",
	    "<!DOCTYPE x [<!ENTITY a 'b'>]><DescribeAlarmsResponse/>",
	    "<DescribeAlarmsResponse><DescribeAlarmsResult>",
	};
	struct cloudwatch_alarms a = want(names, 1);
	struct error err = ERROR_INIT;
	char *token = (char *)"untouched";

	CHECK_INT(cloudwatch_describe_parse(last, strlen(last), &a, &token, &err), 0);
	CHECK(token == NULL);
	CHECK_INT(a.items[0].state, CLOUDWATCH_MISSING);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		token = (char *)"untouched";
		CHECKF(cloudwatch_describe_parse(bad[i], strlen(bad[i]), &a, &token, &err) == -EBADMSG,
		       "case %zu", i);
		CHECKF(!strcmp(token, "untouched"), "case %zu", i);
	}
	cloudwatch_alarms_release(&a);
}

TEST(cloudwatch_error_xml)
{
	static const char body[] =
	    "<ErrorResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">"
	    "<Error><Type>Sender</Type><Code>Throttling</Code><Message>Rate\nexceeded</Message>"
	    "</Error><RequestId>req-1</RequestId></ErrorResponse>";
	char code[64], msg[128], rid[64];

	cloudwatch_error_parse(body, strlen(body), code, sizeof(code), msg, sizeof(msg), rid, sizeof(rid));
	CHECK_STR(code, "Throttling");
	CHECK_STR(msg, "Rate exceeded");
	CHECK_STR(rid, "req-1");
	cloudwatch_error_parse("<html>502 Bad Gateway</html>", 28, code, sizeof(code), msg, sizeof(msg), rid,
	                       sizeof(rid));
	CHECK_STR(code, "");
	CHECK_STR(msg, "");
	cloudwatch_error_parse(NULL, 0, code, sizeof(code), msg, sizeof(msg), rid, sizeof(rid));
	CHECK_STR(code, "");
	cloudwatch_error_parse("<Error><Code>a b<x/></Code></Error>", 35, code, sizeof(code), msg,
	                       sizeof(msg), rid, sizeof(rid));
	CHECK_STR(code, "a?b");
}

TEST(cloudwatch_error_kinds)
{
	static const struct {
		long status;
		const char *code;
		int err;
		enum error_kind kind;
		bool throttle;
	} cases[] = {
	    {400, "Throttling", -EAGAIN, ERROR_KIND_TRANSIENT, true},
	    {400, "RequestLimitExceeded", -EAGAIN, ERROR_KIND_TRANSIENT, true},
	    {429, "", -EAGAIN, ERROR_KIND_TRANSIENT, true},
	    {500, "InternalFailure", -EIO, ERROR_KIND_TRANSIENT, false},
	    {503, "", -EIO, ERROR_KIND_TRANSIENT, false},
	    {403, "AccessDenied", -EACCES, ERROR_KIND_TERMINAL, false},
	    {400, "AccessDeniedException", -EACCES, ERROR_KIND_TERMINAL, false},
	    {403, "", -EACCES, ERROR_KIND_TERMINAL, false},
	    {403, "InvalidClientTokenId", -EACCES, ERROR_KIND_CREDENTIALS, false},
	    {403, "SignatureDoesNotMatch", -EACCES, ERROR_KIND_CREDENTIALS, false},
	    {400, "ExpiredToken", -EACCES, ERROR_KIND_CREDENTIALS, false},
	    {404, "ResourceNotFound", -ENOENT, ERROR_KIND_NOT_FOUND, false},
	    {400, "ValidationError", -EINVAL, ERROR_KIND_TERMINAL, false},
	    {400, "InvalidNextToken", -EINVAL, ERROR_KIND_TERMINAL, false},
	    {400, "SomethingNew", -EINVAL, ERROR_KIND_TERMINAL, false},
	    {418, "", -EPROTO, ERROR_KIND_TERMINAL, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum error_kind kind = ERROR_KIND_UNSPECIFIED;
		bool throttle = !cases[i].throttle;
		int e = cloudwatch_error_classify(cases[i].status, cases[i].code, &kind, &throttle);

		CHECKF(e == cases[i].err, "%ld %s: errno %d", cases[i].status, cases[i].code, e);
		CHECKF(kind == cases[i].kind, "%ld %s: kind %s", cases[i].status, cases[i].code,
		       error_kind_name(kind));
		CHECKF(throttle == cases[i].throttle, "%ld %s: throttle", cases[i].status, cases[i].code);
	}
}

TEST(cloudwatch_endpoint_order)
{
	char *ep = NULL;
	struct error err = ERROR_INIT;

	unsetenv("AWS_ENDPOINT_URL_CLOUDWATCH");
	unsetenv("AWS_ENDPOINT_URL");
	REQUIRE(cloudwatch_endpoint_resolve(NULL, "eu-west-1", &ep, &err) == 0);
	CHECK_STR(ep, "https://monitoring.eu-west-1.amazonaws.com");
	free(ep);
	REQUIRE(cloudwatch_endpoint_resolve(NULL, "cn-north-1", &ep, &err) == 0);
	CHECK_STR(ep, "https://monitoring.cn-north-1.amazonaws.com.cn");
	free(ep);
	REQUIRE(cloudwatch_endpoint_resolve("http://config:1", "eu-west-1", &ep, &err) == 0);
	CHECK_STR(ep, "http://config:1");
	free(ep);
	setenv("AWS_ENDPOINT_URL", "http://all:2", 1);
	REQUIRE(cloudwatch_endpoint_resolve("http://config:1", "eu-west-1", &ep, &err) == 0);
	CHECK_STR(ep, "http://all:2");
	free(ep);
	setenv("AWS_ENDPOINT_URL_CLOUDWATCH", "http://cw:3", 1);
	REQUIRE(cloudwatch_endpoint_resolve("http://config:1", "eu-west-1", &ep, &err) == 0);
	CHECK_STR(ep, "http://cw:3");
	free(ep);
	unsetenv("AWS_ENDPOINT_URL_CLOUDWATCH");
	unsetenv("AWS_ENDPOINT_URL");
}

TEST(cloudwatch_client_endpoint_and_bad_names)
{
	struct aws_credentials creds = {.access_key_id = (char *)"AKID", .secret_access_key = (char *)"s"};
	struct aws_client_options opt = {
	    .region = "us-east-1", .endpoint = "http://127.0.0.1:9/base/", .static_credentials = &creds};
	struct cloudwatch_client *c = NULL;
	struct cloudwatch_alarms a = CLOUDWATCH_ALARMS_INIT;
	struct aws_error aerr = AWS_ERROR_INIT;
	struct error err = ERROR_INIT;
	const char *names[2] = {"ok", ""};
	char longname[300];

	unsetenv("AWS_ENDPOINT_URL_CLOUDWATCH");
	unsetenv("AWS_ENDPOINT_URL");
	REQUIRE(cloudwatch_client_new(&c, &opt, &err) == 0);
	CHECK_STR(cloudwatch_client_endpoint(c), "http://127.0.0.1:9/base");
	CHECK_STR(cloudwatch_client_region(c), "us-east-1");
	CHECK_INT(cloudwatch_alarms_describe(c, names, 2, &a, &aerr), -EINVAL);
	CHECK_INT(error_kind_of(&aerr.err), ERROR_KIND_TERMINAL);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	names[1] = longname;
	CHECK_INT(cloudwatch_alarms_describe(c, names, 2, &a, &aerr), -EINVAL);
	CHECK_INT(cloudwatch_alarms_describe(c, names, 0, &a, &aerr), -EINVAL);
	CHECK(a.items == NULL);
	/* stopped: nothing is sent */
	cloudwatch_client_stop(c);
	CHECK_INT(cloudwatch_alarms_describe(c, names, 1, &a, &aerr), -ECANCELED);
	CHECK_INT(error_kind_of(&aerr.err), ERROR_KIND_CANCELED);
	cloudwatch_client_free(c);
	cloudwatch_client_free(NULL);

	opt.endpoint = "ftp://x";
	CHECK_INT(cloudwatch_client_new(&c, &opt, &err), -EINVAL);
	opt.endpoint = NULL;
	opt.region = "us east";
	CHECK_INT(cloudwatch_client_new(&c, &opt, &err), -EINVAL);
}

TEST(cloudwatch_sign)
{
	struct aws_credentials creds = {.access_key_id = (char *)"AKIDEXAMPLE",
	                                .secret_access_key =
	                                    (char *)"wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
	                                .session_token = (char *)"tok"};
	struct sigv4_result sig = SIGV4_RESULT_INIT;
	struct http_header h[CLOUDWATCH_SIGNED_HEADERS];
	struct error err = ERROR_INIT;
	static const char body[] = "Action=DescribeAlarms&Version=2010-08-01";
	int n;

	n = cloudwatch_request_sign("monitoring.us-east-1.amazonaws.com", "/", "us-east-1", &creds,
	                            1796007600, body, strlen(body), &sig, h, &err);
	REQUIRE(n == 4);
	CHECK_STR(h[0].name, "X-Amz-Date");
	CHECK_STR(h[0].value, "20261130T030000Z");
	CHECK_STR(h[1].name, "Authorization");
	CHECK(!strncmp(
	    h[1].value,
	    "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/us-east-1/monitoring/aws4_request, "
	    "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=",
	    strlen("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261130/us-east-1/monitoring/aws4_request, "
	           "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, Signature=")));
	CHECK_STR(h[2].value, CLOUDWATCH_CONTENT_TYPE);
	CHECK_STR(h[3].name, "X-Amz-Security-Token");
	sigv4_result_release(&sig);
}

TEST(query_read_error)
{
	static const char throttled[] = "<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
	                                "<Message>Rate exceeded</Message></Error><RequestId>rid-1</RequestId>"
	                                "</ErrorResponse>";
	struct http_header hdr[1] = {{(char *)"x-amzn-RequestId", (char *)"rid-header"}};
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct aws_credentials creds = {0};
	struct aws_error aerr = AWS_ERROR_INIT;
	bool throttle = false;

	resp.status = 400;
	REQUIRE(buf_puts(&resp.body, throttled) >= 0);
	resp.headers = hdr;
	resp.n_headers = 1;
	CHECK_INT(aws_query_read_error("GetCallerIdentity", &resp, &creds, &aerr, &throttle, NULL), -EAGAIN);
	CHECK(throttle);
	CHECK(aerr.err.kind == ERROR_KIND_TRANSIENT);
	CHECK_INT((int)aerr.status, 400);
	CHECK_STR(aerr.code, "Throttling");
	CHECK_STR(aerr.request_id, "rid-1");
	CHECK_STR(aerr.operation, "GetCallerIdentity");
	CHECK_STR(aerr.err.msg, "GetCallerIdentity: Throttling (HTTP 400): Rate exceeded");

	/* no XML: the status decides, the request id comes from the header */
	buf_reset(&resp.body);
	resp.status = 403;
	snprintf(creds.source, sizeof(creds.source), "environment");
	CHECK_INT(aws_query_read_error("Op", &resp, &creds, &aerr, &throttle, NULL), -EACCES);
	CHECK(!throttle);
	CHECK(aerr.err.kind == ERROR_KIND_TERMINAL);
	CHECK_STR(aerr.request_id, "rid-header");
	CHECK_STR(aerr.err.msg, "Op: error (HTTP 403, credentials from environment)");
	resp.headers = NULL;
	resp.n_headers = 0;
	buf_release(&resp.body);
}

TEST_MAIN(cloudwatch_body, cloudwatch_parse_answer, cloudwatch_parse_last_page_and_garbage,
          cloudwatch_error_xml, cloudwatch_error_kinds, cloudwatch_endpoint_order,
          cloudwatch_client_endpoint_and_bad_names, cloudwatch_sign, query_read_error)
