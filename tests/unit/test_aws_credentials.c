/*
 * test_aws_credentials.c - the parsers behind the credential chain: the
 * shared-file INI dialect, credentials JSON (credential_process, ECS, IMDS),
 * STS XML, ISO 8601 times.  The sources themselves are tested against
 * loopback servers in tests/aws/test_aws_credentials_*.py.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "aws/credentials.h"
#include "aws/credentials_internal.h"
#include "tests/unit/harness.h"

static struct aws_ini *parse(const char *text, int *ret_r, struct error *err)
{
	struct aws_ini *ini = NULL;

	*ret_r = aws_ini_parse(&ini, text, strlen(text), "test.ini", err);
	return ini;
}

TEST(ini_basic)
{
	const char *text = "ignored = before any section\n"
	                   "# comment\n"
	                   "; another\n"
	                   "[default]\n"
	                   "  Aws_Secret_Access_Key=  s3cr/et+=  \n" /* indented, but no key before it */
	                   "aws_access_key_id = AKIA1\n"
	                   "\n"
	                   "[profile   dev]  \n"
	                   "region = eu-west-1\n"
	                   "role_arn=arn:aws:iam::1:role/x\n"
	                   "region = eu-west-2\n"
	                   "[ empty ]\r\n"
	                   "[crlf]\r\n"
	                   "key = value\r\n"
	                   "url = https://x/?a=b#frag\n";
	struct error err = ERROR_INIT;
	int r;
	struct aws_ini *ini = parse(text, &r, &err);

	REQUIRE(r == 0);
	CHECK_STR(aws_ini_get(ini, "default", "aws_access_key_id"), "AKIA1");
	CHECK_STR(aws_ini_get(ini, "default", "aws_secret_access_key"), "s3cr/et+=");
	CHECK_STR(aws_ini_get(ini, "profile dev", "region"), "eu-west-2"); /* last wins */
	CHECK_STR(aws_ini_get(ini, "profile dev", "role_arn"), "arn:aws:iam::1:role/x");
	CHECK(aws_ini_has_section(ini, "empty"));
	CHECK(!aws_ini_has_section(ini, "nope"));
	CHECK_STR(aws_ini_get(ini, "crlf", "key"), "value");
	CHECK_STR(aws_ini_get(ini, "crlf", "url"), "https://x/?a=b#frag"); /* no inline comments */
	CHECK(aws_ini_get(ini, "default", "ignored") == NULL);
	CHECK(aws_ini_get(ini, "default", "region") == NULL);
	aws_ini_free(ini);
}

TEST(ini_nested_and_continuation)
{
	const char *text = "[profile dev]\n"
	                   "s3 =\n"
	                   "  max_concurrent_requests = 10\n"
	                   "  Addressing_Style = path\n"
	                   "region = us-east-2\n"
	                   "credential_process = /bin/tool\n"
	                   "   --flag\n";
	int r;
	struct aws_ini *ini = parse(text, &r, NULL);

	REQUIRE(r == 0);
	CHECK_STR(aws_ini_get(ini, "profile dev", "s3.max_concurrent_requests"), "10");
	CHECK_STR(aws_ini_get(ini, "profile dev", "s3.addressing_style"), "path");
	CHECK_STR(aws_ini_get(ini, "profile dev", "s3"), "");
	CHECK_STR(aws_ini_get(ini, "profile dev", "region"), "us-east-2");
	CHECK_STR(aws_ini_get(ini, "profile dev", "credential_process"), "/bin/tool\n--flag");
	aws_ini_free(ini);
	/* as in botocore (configparser): an indented line after a key continues its value */
	ini = parse("[d]\nk1 = a\n  k2 = b\n", &r, NULL);
	REQUIRE(r == 0);
	CHECK_STR(aws_ini_get(ini, "d", "k1"), "a\nk2 = b");
	CHECK(aws_ini_get(ini, "d", "k2") == NULL);
	aws_ini_free(ini);
}

TEST(ini_errors)
{
	static const struct {
		const char *text;
		unsigned line;
	} cases[] = {
	    {"[default\nkey = v\n", 1},
	    {"[default]\nno equals sign\n", 2},
	    {"[default]\n = value\n", 2},
	    {"[defau[prl", 1}, /* found by the fuzzer: unterminated header at the end of the input */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct error err = ERROR_INIT;
		int r;
		struct aws_ini *ini = parse(cases[i].text, &r, &err);
		CHECK_INT(r, -EINVAL);
		CHECK(ini == NULL);
		CHECK_STR(err.file, "test.ini");
		CHECK_INT(err.line, cases[i].line);
	}
	/* NUL byte */
	struct aws_ini *ini = NULL;
	CHECK_INT(aws_ini_parse(&ini, "[a]\nk=\0v\n", 8, "nul", NULL), -EINVAL);
	/* too many entries */
	struct buf b = BUF_INIT;
	buf_puts(&b, "[a]\n");
	for (int i = 0; i < 5000; i++)
		buf_printf(&b, "k%d = v\n", i);
	struct error err = ERROR_INIT;
	CHECK_INT(aws_ini_parse(&ini, b.ptr, b.len, "big", &err), -E2BIG);
	CHECK(ini == NULL);
	/* a value continued on too many lines */
	buf_reset(&b);
	buf_puts(&b, "[a]\nk = v\n");
	for (int i = 0; i < 100; i++)
		buf_puts(&b, "  more\n");
	err = (struct error)ERROR_INIT;
	CHECK_INT(aws_ini_parse(&ini, b.ptr, b.len, "cont", &err), -E2BIG);
	CHECK_INT(err.line, 67);
	buf_release(&b);
}

TEST(ini_empty)
{
	struct aws_ini *ini = NULL;

	CHECK_INT(aws_ini_parse(&ini, "", 0, NULL, NULL), 0);
	CHECK(aws_ini_get(ini, "default", "x") == NULL);
	aws_ini_free(ini);
	aws_ini_free(NULL);
}

TEST(iso8601)
{
	static const struct {
		const char *s;
		long long want; /* -1 = invalid */
	} cases[] = {
	    {"2015-08-30T12:36:00Z", 1440938160},
	    {"2015-08-30T12:36:00.123Z", 1440938160},
	    {"2015-08-30T14:36:00+02:00", 1440938160},
	    {"2015-08-30T10:36:00-0200", 1440938160},
	    {"2015-08-30t12:36:00z", 1440938160},
	    {"1970-01-01T00:00:00Z", 0},
	    {"2015-08-30T12:36:00", -1},
	    {"2015-08-30", -1},
	    {"2015-13-30T12:36:00Z", -1},
	    {"2015-08-30T12:36:00Zjunk", -1},
	    {"2015-08-30T25:36:00Z", -1},
	    {"", -1},
	    {"2015-08-30T12:36:00.Z", -1},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		time_t t = 12345;
		int r = aws_time_parse_iso8601(cases[i].s, &t);
		if (cases[i].want < 0) {
			CHECKF(r == -EINVAL, "%s accepted", cases[i].s);
			CHECK_INT(t, 12345);
		} else {
			CHECKF(r == 0 && (long long)t == cases[i].want, "%s -> %d %lld", cases[i].s, r,
			       (long long)t);
		}
	}
}

TEST(credentials_json)
{
	const char *ok = "{\"Version\":1,\"AccessKeyId\":\"ASIAX\",\"SecretAccessKey\":\"sec/ret+\","
	                 "\"SessionToken\":\"tok\",\"Expiration\":\"2015-08-30T12:36:00Z\"}";
	const char *ecs = "{\"AccessKeyId\":\"ASIAY\",\"SecretAccessKey\":\"s\",\"Token\":\"t2\","
	                  "\"Expiration\":\"2015-08-30T12:36:00Z\",\"RoleArn\":\"x\"}";
	struct aws_credentials c = {0};
	struct error err = ERROR_INIT;

	REQUIRE(aws_credentials_parse_json(ok, strlen(ok), 1, "process", &c, &err) == 0);
	CHECK_STR(c.access_key_id, "ASIAX");
	CHECK_STR(c.secret_access_key, "sec/ret+");
	CHECK_STR(c.session_token, "tok");
	CHECK_INT(c.expiration, 1440938160);
	CHECK_STR(c.source, "process");
	aws_credentials_release(&c);
	CHECK(c.access_key_id == NULL && c.secret_access_key == NULL);

	REQUIRE(aws_credentials_parse_json(ecs, strlen(ecs), 0, "ecs", &c, &err) == 0);
	CHECK_STR(c.session_token, "t2");
	aws_credentials_release(&c);
	/* ECS documents have no Version: refused when one is required */
	CHECK_INT(aws_credentials_parse_json(ecs, strlen(ecs), 1, "process", &c, &err), -EBADMSG);

	static const char *bad[] = {
	    "",
	    "[]",
	    "{",
	    "{\"Version\":1}",
	    "{\"Version\":1,\"AccessKeyId\":\"A K\",\"SecretAccessKey\":\"s\"}",
	    "{\"Version\":1,\"AccessKeyId\":\"AKIA\",\"SecretAccessKey\":\"s\",\"Expiration\":\"soon\"}",
	    "{\"Version\":1,\"AccessKeyId\":\"AKIA\",\"SecretAccessKey\":\"s e\"}",
	    "{\"Version\":1,\"AccessKeyId\":\"AKIA\",\"SecretAccessKey\":\"s\",\"SessionToken\":\"a\\nb\"}",
	    "{\"Version\":1,\"AccessKeyId\":5,\"SecretAccessKey\":\"s\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = (struct error)ERROR_INIT;
		CHECKF(aws_credentials_parse_json(bad[i], strlen(bad[i]), 1, "process", &c, &err) == -EBADMSG,
		       "accepted %s", bad[i]);
		CHECK(c.access_key_id == NULL);
	}
}

TEST(sts_xml)
{
	const char *ok = "<AssumeRoleResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
	                 "<AssumeRoleResult><AssumedRoleUser><Arn>a</Arn></AssumedRoleUser>\n"
	                 "<Credentials>\n"
	                 "  <AccessKeyId>ASIASTS1</AccessKeyId>\n"
	                 "  <SecretAccessKey>a&amp;b&lt;c&#47;d&#x2B;</SecretAccessKey>\n"
	                 "  <SessionToken>FwoGZX&quot;IvYXdz</SessionToken>\n"
	                 "  <Expiration>2015-08-30T12:36:00Z</Expiration>\n"
	                 "</Credentials></AssumeRoleResult></AssumeRoleResponse>";
	struct aws_credentials c = {0};
	struct error err = ERROR_INIT;

	REQUIRE(aws_credentials_parse_sts_xml(ok, strlen(ok), "assume-role", &c, &err) == 0);
	CHECK_STR(c.access_key_id, "ASIASTS1");
	CHECK_STR(c.secret_access_key, "a&b<c/d+");
	CHECK_STR(c.session_token, "FwoGZX\"IvYXdz");
	CHECK_INT(c.expiration, 1440938160);
	CHECK_STR(c.source, "assume-role");
	aws_credentials_release(&c);

	/* AWS's documented AssumeRoleWithWebIdentity answer */
	const char *wi =
	    "<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
	    "  <AssumeRoleWithWebIdentityResult>\n"
	    "    "
	    "<SubjectFromWebIdentityToken>amzn1.account.AF6RHO7KZU5XRVQJGXK6HB56KR2A</"
	    "SubjectFromWebIdentityToken>\n"
	    "    <Audience>client.5498841531868486423.1548@apps.example.com</Audience>\n"
	    "    <AssumedRoleUser>\n"
	    "      <Arn>arn:aws:sts::123456789012:assumed-role/FederatedWebIdentityRole/app1</Arn>\n"
	    "      <AssumedRoleId>AROACLKWSDQRAOEXAMPLE:app1</AssumedRoleId>\n"
	    "    </AssumedRoleUser>\n"
	    "    <Credentials>\n"
	    "      <SessionToken>AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE</SessionToken>\n"
	    "      <SecretAccessKey>wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY</SecretAccessKey>\n"
	    "      <Expiration>2014-10-24T23:00:23Z</Expiration>\n"
	    "      <AccessKeyId>ASgeIAIOSFODNN7EXAMPLE</AccessKeyId>\n"
	    "    </Credentials>\n"
	    "    <SourceIdentity>SourceIdentityValue</SourceIdentity>\n"
	    "    <Provider>www.amazon.com</Provider>\n"
	    "  </AssumeRoleWithWebIdentityResult>\n"
	    "  <ResponseMetadata>\n"
	    "    <RequestId>ad4156e9-bce1-11e2-82e6-6b6efEXAMPLE</RequestId>\n"
	    "  </ResponseMetadata>\n"
	    "</AssumeRoleWithWebIdentityResponse>\n";
	REQUIRE(aws_credentials_parse_sts_xml(wi, strlen(wi), "web-identity", &c, &err) == 0);
	CHECK_STR(c.access_key_id, "ASgeIAIOSFODNN7EXAMPLE");
	CHECK_STR(c.secret_access_key, "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
	CHECK_STR(c.session_token, "AQoDYXdzEE0a8ANXXXXXXXXNO1ewxE5TijQyp+IEXAMPLE");
	CHECK_INT(c.expiration, 1414191623);
	aws_credentials_release(&c);

	static const char *bad[] = {
	    "",
	    "<!DOCTYPE r [<!ENTITY x \"ASIA1\">]><AssumeRoleResponse><AssumeRoleResult><Credentials>"
	    "<AccessKeyId>&x;</AccessKeyId><SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken>"
	    "<Expiration>2015-08-30T12:36:00Z</Expiration></Credentials></AssumeRoleResult></"
	    "AssumeRoleResponse>",
	    "<AssumeRoleResponse><OtherResult><Credentials><AccessKeyId>ASIA1</AccessKeyId>"
	    "<SecretAccessKey>s</SecretAccessKey><SessionToken>t</SessionToken>"
	    "<Expiration>2015-08-30T12:36:00Z</Expiration></Credentials></OtherResult></AssumeRoleResponse>",
	    "<ErrorResponse><Error><Code>AccessDenied</Code></Error></ErrorResponse>",
	    "<Credentials><AccessKeyId>A</AccessKeyId></Credentials>",
	    "<Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
	    "<SessionToken>t</SessionToken><Expiration>never</Expiration></Credentials>",
	    "<Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s&bogus;</SecretAccessKey>"
	    "<SessionToken>t</SessionToken><Expiration>2015-08-30T12:36:00Z</Expiration></Credentials>",
	    "<Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s</SecretAccessKey>"
	    "<SessionToken></SessionToken><Expiration>2015-08-30T12:36:00Z</Expiration></Credentials>",
	    "<Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>s</SecretAccessKey>",
	    "<Credentials><AccessKeyId>ASIA1</AccessKeyId><SecretAccessKey>&#0;</SecretAccessKey>"
	    "<SessionToken>t</SessionToken><Expiration>2015-08-30T12:36:00Z</Expiration></Credentials>",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = (struct error)ERROR_INIT;
		CHECKF(aws_credentials_parse_sts_xml(bad[i], strlen(bad[i]), "sts", &c, &err) == -EBADMSG,
		       "accepted %s", bad[i]);
		CHECK(c.access_key_id == NULL);
	}
}

TEST(sts_error_and_account)
{
	/* AWS's documented error answer of the Query API */
	const char *e = "<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
	                "  <Error>\n    <Type>Sender</Type>\n    <Code>AccessDenied</Code>\n"
	                "    <Message>User: arn:aws:iam::111111111111:user/x is not authorized to perform: "
	                "sts:AssumeRole on resource: arn:aws:iam::222222222222:role/aliasd</Message>\n"
	                "  </Error>\n  <RequestId>4b0d5b5c-EXAMPLE</RequestId>\n</ErrorResponse>\n";
	char code[32], msg[64];

	CHECK_INT(aws_sts_parse_error(e, strlen(e), code, sizeof(code), msg, sizeof(msg)), 0);
	CHECK_STR(code, "AccessDenied");
	CHECK_STR(msg, "User: arn:aws:iam::111111111111:user/x is not authorized to per");
	CHECK_INT(aws_sts_parse_error("<ErrorResponse/>", 16, code, sizeof(code), msg, sizeof(msg)), -ENOENT);
	CHECK_STR(code, "");
	const char *ctl = "<Error><Code>Throttling\x01</Code></Error>";
	CHECK_INT(aws_sts_parse_error("oops <", 6, code, sizeof(code), msg, sizeof(msg)), -EBADMSG);
	CHECK_INT(aws_sts_parse_error(ctl, strlen(ctl), code, sizeof(code), msg, sizeof(msg)),
	          -EBADMSG); /* control characters are not XML */

	/* AWS's documented GetCallerIdentity answer */
	const char *a = "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\n"
	                "  <GetCallerIdentityResult>\n"
	                "    <Arn>arn:aws:iam::123456789012:user/Alice</Arn>\n"
	                "    <UserId>AKIAI44QH8DHBEXAMPLE</UserId>\n"
	                "    <Account>123456789012</Account>\n"
	                "  </GetCallerIdentityResult>\n"
	                "  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId>"
	                "</ResponseMetadata>\n</GetCallerIdentityResponse>\n";
	char acct[13];
	CHECK_INT(aws_sts_parse_account(a, strlen(a), acct, sizeof(acct)), 0);
	CHECK_STR(acct, "123456789012");
	const char *short_acct = "<GetCallerIdentityResponse><GetCallerIdentityResult><Account>1234</Account>"
	                         "</GetCallerIdentityResult></GetCallerIdentityResponse>";
	CHECK_INT(aws_sts_parse_account(short_acct, strlen(short_acct), acct, sizeof(acct)), -EBADMSG);
	CHECK_INT(aws_sts_parse_account(e, strlen(e), acct, sizeof(acct)), -EBADMSG);
}

TEST(copy_and_release)
{
	struct aws_credentials a = {.access_key_id = (char *)"AKIA",
	                            .secret_access_key = (char *)"s",
	                            .session_token = NULL,
	                            .expiration = 7,
	                            .source = "environment"};
	struct aws_credentials b = {0};

	CHECK_INT(aws_credentials_copy(&b, &a), 0);
	CHECK_STR(b.access_key_id, "AKIA");
	CHECK(b.access_key_id != a.access_key_id);
	CHECK(b.session_token == NULL);
	CHECK_INT(b.expiration, 7);
	CHECK_STR(b.source, "environment");
	aws_credentials_release(&b);
	aws_credentials_release(&b); /* twice is fine */
	aws_credentials_release(NULL);
}

TEST_MAIN(ini_basic, ini_nested_and_continuation, ini_errors, ini_empty, iso8601, credentials_json, sts_xml,
          sts_error_and_account, copy_and_release)
