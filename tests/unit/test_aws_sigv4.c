/*
 * test_aws_sigv4.c - SigV4 against AWS's documented worked examples (the
 * sigv4 test-suite requests with AKIDEXAMPLE at 20150830T123600Z, and the IAM
 * ListUsers example), every stage checked.  The expected values were
 * computed with botocore's SigV4Auth (python3-botocore 1.29) and the two
 * documented signatures (get-vanilla 5fa00fa3..., IAM 5d672d79...) match
 * AWS's published ones.  tests/aws/test_aws_sigv4_botocore.py compares
 * thousands more generated requests.
 */
#include <errno.h>
#include <string.h>

#include "aws/sigv4.h"
#include "tests/unit/harness.h"

#define AKID       "AKIDEXAMPLE"
#define SECRET     "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define T_20150830 ((time_t)1440938160) /* 20150830T123600Z */
#define T_20261127 ((time_t)1795776300) /* 20261127T104500Z */
#define TOKEN      "AQoDYXdzEPT//////////wEXAMPLEtoken+/="

struct vector {
	const char *name, *method, *path, *query;
	struct http_header headers[4];
	size_t n_headers;
	const char *body, *service;
	const char *canonical, *string_to_sign, *authorization;
};

/* AKIDEXAMPLE, us-east-1, 20150830T123600Z, no session token */
static const struct vector suite[] = {
    {"get-vanilla",
     "GET",
     "/",
     NULL,
     {{"Host", "example.amazonaws.com"}},
     1,
     "",
     "service",
     "GET\n"
     "/\n"
     "\n"
     "host:example.amazonaws.com\n"
     "x-amz-date:20150830T123600Z\n"
     "\n"
     "host;x-amz-date\n"
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n"
     "20150830T123600Z\n"
     "20150830/us-east-1/service/aws4_request\n"
     "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
     "SignedHeaders=host;x-amz-date, "
     "Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"},
    {"get-vanilla-query-order-key-case",
     "GET",
     "/",
     "Param2=value2&Param1=value1",
     {{"Host", "example.amazonaws.com"}},
     1,
     "",
     "service",
     "GET\n"
     "/\n"
     "Param1=value1&Param2=value2\n"
     "host:example.amazonaws.com\n"
     "x-amz-date:20150830T123600Z\n"
     "\n"
     "host;x-amz-date\n"
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n"
     "20150830T123600Z\n"
     "20150830/us-east-1/service/aws4_request\n"
     "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
     "SignedHeaders=host;x-amz-date, "
     "Signature=b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500"},
    {"post-x-www-form-urlencoded",
     "POST",
     "/",
     NULL,
     {{"Content-Type", "application/x-www-form-urlencoded"}, {"Host", "example.amazonaws.com"}},
     2,
     "Param1=value1",
     "service",
     "POST\n"
     "/\n"
     "\n"
     "content-type:application/x-www-form-urlencoded\n"
     "host:example.amazonaws.com\n"
     "x-amz-date:20150830T123600Z\n"
     "\n"
     "content-type;host;x-amz-date\n"
     "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
     "AWS4-HMAC-SHA256\n"
     "20150830T123600Z\n"
     "20150830/us-east-1/service/aws4_request\n"
     "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
     "SignedHeaders=content-type;host;x-amz-date, "
     "Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"},
    {"get-header-value-trim",
     "GET",
     "/",
     NULL,
     {{"Host", "example.amazonaws.com"}, {"My-Header1", " value1"}, {"My-Header2", " \"a   b   c\""}},
     3,
     "",
     "service",
     "GET\n"
     "/\n"
     "\n"
     "host:example.amazonaws.com\n"
     "my-header1:value1\n"
     "my-header2:\"a b c\"\n"
     "x-amz-date:20150830T123600Z\n"
     "\n"
     "host;my-header1;my-header2;x-amz-date\n"
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n"
     "20150830T123600Z\n"
     "20150830/us-east-1/service/aws4_request\n"
     "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
     "SignedHeaders=host;my-header1;my-header2;x-amz-date, "
     "Signature=acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736"},
    {"get-slashes",
     "GET",
     "//example//",
     NULL,
     {{"Host", "example.amazonaws.com"}},
     1,
     "",
     "service",
     "GET\n"
     "/example/\n"
     "\n"
     "host:example.amazonaws.com\n"
     "x-amz-date:20150830T123600Z\n"
     "\n"
     "host;x-amz-date\n"
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n"
     "20150830T123600Z\n"
     "20150830/us-east-1/service/aws4_request\n"
     "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
     "SignedHeaders=host;x-amz-date, "
     "Signature=9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84"},
    {"get-space",
     "GET",
     "/example%20space/",
     NULL,
     {{"Host", "example.amazonaws.com"}},
     1,
     "",
     "service",
     "GET\n"
     "/example%2520space/\n"
     "\n"
     "host:example.amazonaws.com\n"
     "x-amz-date:20150830T123600Z\n"
     "\n"
     "host;x-amz-date\n"
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n"
     "20150830T123600Z\n"
     "20150830/us-east-1/service/aws4_request\n"
     "6a04b36fa5a84d8d24b4287d506da70f4d5289a1772e6c608495a841a8f38627",
     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
     "SignedHeaders=host;x-amz-date, "
     "Signature=446b817944c553435b35e813c261ff4e161fff982d1bacdef1c87f6785dd1662"},
    {"get-vanilla-empty-query-key",
     "GET",
     "/",
     "Param1=value1",
     {{"Host", "example.amazonaws.com"}},
     1,
     "",
     "service",
     "GET\n"
     "/\n"
     "Param1=value1\n"
     "host:example.amazonaws.com\n"
     "x-amz-date:20150830T123600Z\n"
     "\n"
     "host;x-amz-date\n"
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n"
     "20150830T123600Z\n"
     "20150830/us-east-1/service/aws4_request\n"
     "1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab",
     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
     "SignedHeaders=host;x-amz-date, "
     "Signature=a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb"},
    {"post-vanilla-query",
     "POST",
     "/",
     "Param1=value1",
     {{"Host", "example.amazonaws.com"}},
     1,
     "",
     "service",
     "POST\n"
     "/\n"
     "Param1=value1\n"
     "host:example.amazonaws.com\n"
     "x-amz-date:20150830T123600Z\n"
     "\n"
     "host;x-amz-date\n"
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n"
     "20150830T123600Z\n"
     "20150830/us-east-1/service/aws4_request\n"
     "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
     "SignedHeaders=host;x-amz-date, "
     "Signature=28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11"},
    {"iam-list-users",
     "GET",
     "/",
     "Action=ListUsers&Version=2010-05-08",
     {{"Host", "iam.amazonaws.com"}, {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}},
     2,
     "",
     "iam",
     "GET\n"
     "/\n"
     "Action=ListUsers&Version=2010-05-08\n"
     "content-type:application/x-www-form-urlencoded; charset=utf-8\n"
     "host:iam.amazonaws.com\n"
     "x-amz-date:20150830T123600Z\n"
     "\n"
     "content-type;host;x-amz-date\n"
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n"
     "20150830T123600Z\n"
     "20150830/us-east-1/iam/aws4_request\n"
     "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59",
     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, "
     "SignedHeaders=content-type;host;x-amz-date, "
     "Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"},
};

struct lvector {
	const char *name, *method, *path, *query;
	struct http_header headers[4];
	size_t n_headers;
	const char *body, *region, *service;
	const char *canonical, *string_to_sign, *authorization;
};

/* Lambda-shaped requests, AKIDEXAMPLE with session token TOKEN, 20261127T104500Z */
static const struct lvector lambda[] = {
    {"lambda-list-aliases-token",
     "GET",
     "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Amy-fn/aliases",
     "MaxItems=50&Marker=abc%2B%2F%3D%3D&FunctionVersion=",
     {{"Host", "lambda.us-east-1.amazonaws.com"}},
     1,
     "",
     "us-east-1",
     "lambda",
     "GET\n"
     "/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A123456789012%253Afunction%253Amy-fn/"
     "aliases\n"
     "FunctionVersion=&Marker=abc%2B%2F%3D%3D&MaxItems=50\n"
     "host:lambda.us-east-1.amazonaws.com\n"
     "x-amz-date:20261127T104500Z\n"
     "x-amz-security-token:AQoDYXdzEPT//////////wEXAMPLEtoken+/=\n"
     "\n"
     "host;x-amz-date;x-amz-security-token\n"
     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
     "AWS4-HMAC-SHA256\n"
     "20261127T104500Z\n"
     "20261127/us-east-1/lambda/aws4_request\n"
     "84c4821b5045cb403e5ea1ef66da683d25102d63a8c1884bfdbc7b7fae990d20",
     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/us-east-1/lambda/aws4_request, "
     "SignedHeaders=host;x-amz-date;x-amz-security-token, "
     "Signature=e13bb071c49d41eecb027d4de9584c9d62dbbcaad75e5827ea0b079c088bf929"},
    {"lambda-put-json-token",
     "PUT",
     "/2015-03-31/functions/my-fn/aliases/Prod",
     NULL,
     {{"Host", "lambda.eu-west-1.amazonaws.com"}, {"Content-Type", "application/json"}},
     2,
     "{\"FunctionVersion\":\"2\",\"RoutingConfig\":{\"AdditionalVersionWeights\":{}}}",
     "eu-west-1",
     "lambda",
     "PUT\n"
     "/2015-03-31/functions/my-fn/aliases/Prod\n"
     "\n"
     "content-type:application/json\n"
     "host:lambda.eu-west-1.amazonaws.com\n"
     "x-amz-date:20261127T104500Z\n"
     "x-amz-security-token:AQoDYXdzEPT//////////wEXAMPLEtoken+/=\n"
     "\n"
     "content-type;host;x-amz-date;x-amz-security-token\n"
     "d521d7b5f2eb0e76b2ccca5f1c328d8459e559692190ba0e24467e2971dcaa09",
     "AWS4-HMAC-SHA256\n"
     "20261127T104500Z\n"
     "20261127/eu-west-1/lambda/aws4_request\n"
     "2ef98a5719a8addcf8d5c02c156bb3ef3195f7383090183538c501c73de523e4",
     "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261127/eu-west-1/lambda/aws4_request, "
     "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, "
     "Signature=6a61b91dec4fdcffdcb247671e6ccd03ddf13065eb6ff4615c88f953f3fcb4c6"},
};

static void check_one(const char *name, const char *method, const char *path, const char *query,
                      const struct http_header *headers, size_t n_headers, const char *body,
                      const char *region, const char *service, time_t now, const char *token,
                      const char *want_canonical, const char *want_sts, const char *want_auth)
{
	struct aws_credentials creds = {.access_key_id = (char *)AKID,
	                                .secret_access_key = (char *)SECRET,
	                                .session_token = (char *)token};
	struct sigv4_params p = {
	    .method = method,
	    .path = path,
	    .query = query,
	    .headers = headers,
	    .n_headers = n_headers,
	    .payload = body,
	    .payload_len = strlen(body),
	    .region = region,
	    .service = service,
	    .now = now,
	    .double_encode_path = true,
	};
	struct buf canon = BUF_INIT, sh = BUF_INIT, sts = BUF_INIT, scope = BUF_INIT;
	struct sigv4_result res = SIGV4_RESULT_INIT;
	struct error err = ERROR_INIT;
	char date[17], sig[65];
	int r;

	CHECK_INT(sigv4_amz_date(now, date), 0);
	r = sigv4_canonical_request(&p, date, token, &canon, &sh, &err);
	CHECKF(r == 0, "%s: canonical request failed: %s", name, err.msg);
	CHECKF(!strcmp(canon.ptr, want_canonical), "%s: canonical request\n%s\nexpected\n%s", name, canon.ptr,
	       want_canonical);
	CHECKF(strstr(want_canonical, sh.ptr) != NULL, "%s: signed headers %s", name, sh.ptr);

	buf_printf(&scope, "%.8s/%s/%s/aws4_request", date, region, service);
	CHECK_INT(sigv4_string_to_sign(date, scope.ptr, want_canonical, &sts), 0);
	CHECKF(!strcmp(sts.ptr, want_sts), "%s: string to sign\n%s\nexpected\n%s", name, sts.ptr, want_sts);

	char date8[9];
	memcpy(date8, date, 8);
	date8[8] = '\0';
	CHECK_INT(sigv4_signature(SECRET, date8, region, service, want_sts, sig), 0);
	CHECKF(strstr(want_auth, sig) != NULL, "%s: signature %s not in %s", name, sig, want_auth);

	r = sigv4_sign(&p, &creds, &res, &err);
	CHECKF(r == 0, "%s: sign failed: %s", name, err.msg);
	CHECKF(!strcmp(res.authorization.ptr, want_auth), "%s: authorization\n%s\nexpected\n%s", name,
	       res.authorization.ptr, want_auth);
	CHECK_STR(res.amz_date, date);
	CHECK(res.authorization.secret);
	sigv4_result_release(&res);
	buf_release(&canon);
	buf_release(&sh);
	buf_release(&sts);
	buf_release(&scope);
}

TEST(aws_test_suite)
{
	for (size_t i = 0; i < sizeof(suite) / sizeof(suite[0]); i++) {
		const struct vector *v = &suite[i];
		check_one(v->name, v->method, v->path, v->query, v->headers, v->n_headers, v->body,
		          "us-east-1", v->service, T_20150830, NULL, v->canonical, v->string_to_sign,
		          v->authorization);
	}
}

TEST(lambda_with_token)
{
	for (size_t i = 0; i < sizeof(lambda) / sizeof(lambda[0]); i++) {
		const struct lvector *v = &lambda[i];
		check_one(v->name, v->method, v->path, v->query, v->headers, v->n_headers, v->body, v->region,
		          v->service, T_20261127, TOKEN, v->canonical, v->string_to_sign, v->authorization);
	}
}

/* Canonical request only, for one path/query/headers. */
static int canon_of(const char *path, const char *query, const struct http_header *h, size_t n, bool dbl,
                    struct buf *out, struct buf *sh)
{
	struct sigv4_params p = {.method = "GET",
	                         .path = path,
	                         .query = query,
	                         .headers = h,
	                         .n_headers = n,
	                         .region = "us-east-1",
	                         .service = "lambda",
	                         .double_encode_path = dbl};
	return sigv4_canonical_request(&p, NULL, NULL, out, sh, NULL);
}

/* Line `n` (0-based) of s, copied into out. */
static const char *line_of(const char *s, int n, char *out, size_t outsz)
{
	while (n-- > 0 && s)
		s = strchr(s, '\n') ? strchr(s, '\n') + 1 : NULL;
	if (!s)
		return "";
	size_t l = strcspn(s, "\n");
	if (l >= outsz)
		l = outsz - 1;
	memcpy(out, s, l);
	out[l] = '\0';
	return out;
}

TEST(path_encoding)
{
	static const struct {
		const char *wire;
		bool dbl;
		const char *want;
	} cases[] = {
	    {"", true, "/"},
	    {"/", true, "/"},
	    {"/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A1%3Afunction%3Af/aliases", true,
	     "/2015-03-31/functions/arn%253Aaws%253Alambda%253Aus-east-1%253A1%253Afunction%253Af/aliases"},
	    {"/a/./b/../c//d/", true, "/a/c/d/"},
	    {"/~user/a-b_c.d", true, "/~user/a-b_c.d"},
	    {"/with%20space", true, "/with%2520space"},
	    {"/s3/key%3Awith//double", false, "/s3/key%3Awith//double"},
	    {"", false, "/"},
	};
	struct http_header host = {(char *)"Host", (char *)"h"};
	char line[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf out = BUF_INIT, sh = BUF_INIT;
		CHECK_INT(canon_of(cases[i].wire, NULL, &host, 1, cases[i].dbl, &out, &sh), 0);
		CHECKF(!strcmp(line_of(out.ptr, 1, line, sizeof(line)), cases[i].want),
		       "path %s -> %s, want %s", cases[i].wire, line, cases[i].want);
		buf_release(&out);
		buf_release(&sh);
	}
}

TEST(query_canonical)
{
	static const struct {
		const char *wire, *want;
	} cases[] = {
	    {NULL, ""},
	    {"", ""},
	    {"b=2&a=1", "a=1&b=2"},
	    {"Marker=abc%2b%2f%3d", "Marker=abc%2B%2F%3D"}, /* lower-case hex re-encoded upper */
	    {"Marker=a+b", "Marker=a%2Bb"},                 /* '+' is not a space in SigV4 */
	    {"k=v:w/x", "k=v%3Aw%2Fx"},                     /* reserved characters encoded */
	    {"a=2&a=1&a=", "a=&a=1&a=2"},                   /* duplicates sorted by value */
	    {"flag&x=1", "flag=&x=1"},                      /* no '=' is an empty value */
	    {"x=%E2%82%AC&y=%7e", "x=%E2%82%AC&y=~"},       /* utf-8 kept encoded, '~' unreserved */
	    {"a=1&&b=2", "a=1&b=2"},
	    {"B=1&a=1", "B=1&a=1"}, /* byte order: upper case first */
	    {"bad=%zz", "bad=%25zz"},
	};
	struct http_header host = {(char *)"Host", (char *)"h"};
	char line[512];

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct buf out = BUF_INIT, sh = BUF_INIT;
		CHECK_INT(canon_of("/", cases[i].wire, &host, 1, true, &out, &sh), 0);
		CHECKF(!strcmp(line_of(out.ptr, 2, line, sizeof(line)), cases[i].want),
		       "query %s -> %s, want %s", cases[i].wire ? cases[i].wire : "(null)", line,
		       cases[i].want);
		buf_release(&out);
		buf_release(&sh);
	}
}

TEST(headers_canonical)
{
	struct http_header h[] = {
	    {(char *)"X-Dup", (char *)" b "},     {(char *)"host", (char *)"example.com"},
	    {(char *)"x-dup", (char *)"a\t\t c"}, {(char *)"User-Agent", (char *)"curl"},
	    {(char *)"X-Empty", (char *)"  "},    {(char *)"Content-Type", (char *)"application/json"},
	};
	struct buf out = BUF_INIT, sh = BUF_INIT;

	CHECK_INT(canon_of("/", NULL, h, 6, true, &out, &sh), 0);
	CHECK_STR(out.ptr,
	          "GET\n/\n\ncontent-type:application/json\nhost:example.com\nx-dup:b,a c\nx-empty:\n\n"
	          "content-type;host;x-dup;x-empty\n"
	          "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	CHECK_STR(sh.ptr, "content-type;host;x-dup;x-empty");
	buf_release(&out);
	buf_release(&sh);
}

TEST(bad_input)
{
	struct http_header nohost = {(char *)"X-A", (char *)"1"};
	struct http_header crlf[] = {{(char *)"Host", (char *)"h"}, {(char *)"X-A", (char *)"1\r\nX-B: 2"}};
	struct http_header badname[] = {{(char *)"Host", (char *)"h"}, {(char *)"X A", (char *)"1"}};
	struct http_header host = {(char *)"Host", (char *)"h"};
	struct buf out = BUF_INIT, sh = BUF_INIT;
	struct error err = ERROR_INIT;
	struct aws_credentials creds = {.access_key_id = (char *)AKID, .secret_access_key = (char *)SECRET};
	struct sigv4_params p = {.method = "GET",
	                         .path = "/",
	                         .headers = &host,
	                         .n_headers = 1,
	                         .region = "us-east-1",
	                         .service = "lambda",
	                         .now = T_20150830};
	struct sigv4_result res = SIGV4_RESULT_INIT;

	CHECK_INT(canon_of("/", NULL, &nohost, 1, true, &out, &sh), -EINVAL);
	CHECK_INT(canon_of("/", NULL, crlf, 2, true, &out, &sh), -EINVAL);
	CHECK_INT(canon_of("/", NULL, badname, 2, true, &out, &sh), -EINVAL);
	CHECK_INT(canon_of("relative", NULL, &host, 1, true, &out, &sh), -EINVAL);
	CHECK_INT(out.len, 0); /* nothing written on failure */

	p.region = "us-east-1/x";
	CHECK_INT(sigv4_sign(&p, &creds, &res, &err), -EINVAL);
	p.region = "us-east-1";
	creds.secret_access_key = (char *)"";
	CHECK_INT(sigv4_sign(&p, &creds, &res, &err), -EINVAL);
	CHECK(strstr(err.msg, SECRET) == NULL);
	CHECK_INT(res.authorization.len, 0);

	/* too many query parameters */
	struct buf q = BUF_INIT;
	for (int i = 0; i <= SIGV4_MAX_QUERY_PARAMS; i++)
		buf_printf(&q, "%sp%d=1", i ? "&" : "", i);
	CHECK_INT(canon_of("/", q.ptr, &host, 1, true, &out, &sh), -E2BIG);
	buf_release(&q);
	buf_release(&out);
	buf_release(&sh);
}

TEST(amz_date)
{
	char d[17];

	CHECK_INT(sigv4_amz_date(T_20150830, d), 0);
	CHECK_STR(d, "20150830T123600Z");
	CHECK_INT(sigv4_amz_date(0, d), 0);
	CHECK_STR(d, "19700101T000000Z");
	CHECK_INT(sigv4_amz_date(T_20261127, d), 0);
	CHECK_STR(d, "20261127T104500Z");
}

TEST(sha256_hex)
{
	char h[65];

	sigv4_sha256_hex("", 0, h);
	CHECK_STR(h, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	sigv4_sha256_hex("abc", 3, h);
	CHECK_STR(h, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(token_in_headers_not_duplicated)
{
	/* a caller that already put the token and date in the headers gets them signed once */
	struct http_header h[] = {{(char *)"Host", (char *)"h"},
	                          {(char *)"X-Amz-Date", (char *)"20150830T123600Z"},
	                          {(char *)"X-Amz-Security-Token", (char *)"tok"}};
	struct sigv4_params p = {.method = "GET",
	                         .path = "/",
	                         .headers = h,
	                         .n_headers = 3,
	                         .region = "us-east-1",
	                         .service = "lambda",
	                         .double_encode_path = true};
	struct buf out = BUF_INIT, sh = BUF_INIT;

	CHECK_INT(sigv4_canonical_request(&p, "20150830T123600Z", "tok", &out, &sh, NULL), 0);
	CHECK_STR(sh.ptr, "host;x-amz-date;x-amz-security-token");
	buf_release(&out);
	buf_release(&sh);
}

TEST_MAIN(aws_test_suite, lambda_with_token, path_encoding, query_canonical, headers_canonical, bad_input,
          amz_date, sha256_hex, token_in_headers_not_duplicated)
