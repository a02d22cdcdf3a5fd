/*
 * test_aws_http.c - the pure parts of aws/http.c: RFC 3986 encoding and
 * decoding, response header lookup.  The transport itself is tested against
 * a loopback server in tests/aws/test_aws_http_transport.py.
 */
#include <errno.h>
#include <string.h>

#include "aws/http.h"
#include "tests/unit/harness.h"

TEST(uri_encode)
{
	static const struct {
		const char *in;
		bool slash;
		const char *want;
	} cases[] = {
	    {"", true, ""},
	    {"AZaz09-_.~", true, "AZaz09-_.~"},
	    {"a b", true, "a%20b"},
	    {"a+b=c&d", true, "a%2Bb%3Dc%26d"},
	    {"arn:aws:lambda:us-east-1:123456789012:function:f", true,
	     "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af"},
	    {"/a/b c/", false, "/a/b%20c/"},
	    {"/a/b", true, "%2Fa%2Fb"},
	    {"%", true, "%25"},
	    {"\xe2\x82\xac", true, "%E2%82%AC"}, /* UTF-8 bytes, upper-case hex */
	    {"*!'()", true, "%2A%21%27%28%29"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;
		CHECK_INT(http_uri_encode(&b, cases[i].in, strlen(cases[i].in), cases[i].slash), 0);
		CHECKF(!strcmp(b.ptr, cases[i].want), "encode(%s) = %s, want %s", cases[i].in, b.ptr,
		       cases[i].want);
		buf_release(&b);
	}
}

TEST(uri_encode_appends_and_nul)
{
	struct buf b = BUF_INIT;
	const char in[] = {'a', '\0', 'b'};

	buf_puts(&b, "x=");
	CHECK_INT(http_uri_encode(&b, in, 3, true), 0);
	CHECK_STR(b.ptr, "x=a%00b");
	buf_release(&b);
}

TEST(uri_encode_cap)
{
	struct buf b = BUF_INIT_CAP(8);

	buf_puts(&b, "ab");
	CHECK_INT(http_uri_encode(&b, "::::", 4, true), -E2BIG);
	CHECK_STR(b.ptr, "ab"); /* left as it was */
	buf_release(&b);
}

TEST(uri_decode)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"", ""},         {"a%20b", "a b"}, {"%e2%82%ac", "\xe2\x82\xac"},
	    {"a+b", "a+b"}, /* not form decoding */
	    {"100%", "100%"}, {"%4", "%4"},     {"%zz%41", "%zzA"},
	    {"%2F%2f", "//"},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf b = BUF_INIT;
		CHECK_INT(http_uri_decode(&b, cases[i].in, strlen(cases[i].in)), 0);
		CHECKF(!strcmp(b.ptr, cases[i].want), "decode(%s) = %s, want %s", cases[i].in, b.ptr,
		       cases[i].want);
		buf_release(&b);
	}
}

TEST(uri_roundtrip_all_bytes)
{
	char all[256];
	struct buf enc = BUF_INIT, dec = BUF_INIT;

	for (int i = 0; i < 256; i++)
		all[i] = (char)i;
	CHECK_INT(http_uri_encode(&enc, all, 256, true), 0);
	for (size_t i = 0; i < enc.len; i++)
		CHECK(strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~%",
		             enc.ptr[i]));
	CHECK_INT(http_uri_decode(&dec, enc.ptr, enc.len), 0);
	CHECK_INT(dec.len, 256);
	CHECK(memcmp(dec.ptr, all, 256) == 0);
	buf_release(&enc);
	buf_release(&dec);
}

TEST(response_header_lookup)
{
	struct http_header h[] = {{(char *)"Content-Type", (char *)"application/json"},
	                          {(char *)"x-amzn-RequestId", (char *)"abc"},
	                          {(char *)"X-Amzn-Requestid", (char *)"second"}};
	struct http_response r = {.status = 200, .body = BUF_INIT, .headers = h, .n_headers = 3};

	CHECK_STR(http_response_header(&r, "content-type"), "application/json");
	CHECK_STR(http_response_header(&r, "X-AMZN-REQUESTID"), "abc");
	CHECK(http_response_header(&r, "retry-after") == NULL);
	CHECK(http_response_header(NULL, "x") == NULL);
}

TEST(client_rejects_bad_requests)
{
	struct http_client *c = NULL;
	struct http_response r = HTTP_RESPONSE_INIT;
	struct error err = ERROR_INIT;
	struct http_header bad = {(char *)"X-A", (char *)"1\r\nInjected: yes"};
	struct http_request req = {
	    .method = "GET", .url = "http://127.0.0.1:1/", .headers = &bad, .n_headers = 1};

	REQUIRE(http_client_new(&c, NULL, &err) == 0);
	CHECK_INT(http_client_send(c, &req, &r, &err), -EINVAL);
	req.n_headers = 0;
	req.url = "gopher://127.0.0.1/";
	CHECK_INT(http_client_send(c, &req, &r, &err), -EINVAL);
	req.url = "http://127.0.0.1:1/";
	req.method = "get";
	CHECK_INT(http_client_send(c, &req, &r, &err), -EINVAL);
	CHECK_INT(r.status, 0); /* untouched */
	http_client_free(c);
	http_client_free(NULL);
	http_response_release(&r);
}

TEST_MAIN(uri_encode, uri_encode_appends_and_nul, uri_encode_cap, uri_decode, uri_roundtrip_all_bytes,
          response_header_lookup, client_rejects_bad_requests)
