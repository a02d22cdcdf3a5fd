/*
 * test_aws_lambda_invoke.c - Lambda Invoke (aws/lambda_invoke.c): the
 * request, the answer's headers and payload, and the call against a scripted
 * loopback server: no automatic resend once sent (only a refused connection
 * and a 429), no control-plane token, the timeout bounding a hanging function.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aws/lambda.h"
#include "aws/lambda_wire.h"
#include "tests/unit/harness.h"

/* ---- the request ------------------------------------------------------------------- */

TEST(request)
{
	struct aws_request req;
	struct error err = ERROR_INIT;
	struct buf path = BUF_INIT, query = BUF_INIT;

	REQUIRE(lambda_invoke_request(&req, "arn:aws:lambda:us-east-1:123456789012:function:smoke", "Prod",
	                              "{\"a\": [1, \"é\"]}", 1500, &err) == 0);
	CHECK_STR(req.operation, "Invoke");
	CHECK_STR(req.method, "POST");
	REQUIRE(aws_request_path(&req, &path, &query) == 0);
	CHECK_STR(path.ptr,
	          "/2015-03-31/functions/arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Asmoke/"
	          "invocations");
	CHECK_STR(query.ptr, "Qualifier=Prod");
	CHECK_STR(req.body, "{\"a\": [1, \"é\"]}");
	CHECK(req.body_len == strlen("{\"a\": [1, \"é\"]}"));
	CHECK(req.quota == AWS_QUOTA_NONE);
	CHECK(req.no_resend);
	CHECK(req.timeout_ms == 1500);
	REQUIRE(req.n_headers == 1);
	CHECK_STR(req.headers[0].name, "X-Amz-Invocation-Type");
	CHECK_STR(req.headers[0].value, "RequestResponse");
	buf_release(&path);
	buf_release(&query);

	/* no qualifier, no payload: $LATEST with "{}" */
	REQUIRE(lambda_invoke_request(&req, "smoke", NULL, NULL, 0, &err) == 0);
	REQUIRE(aws_request_path(&req, &path, &query) == 0);
	CHECK_STR(path.ptr, "/2015-03-31/functions/smoke/invocations");
	CHECK_STR(query.ptr, "");
	CHECK_STR(req.body, "{}");
	REQUIRE(lambda_invoke_request(&req, "smoke", "", " null ", 0, &err) == 0);
	REQUIRE(aws_request_path(&req, &path, &query) == 0);
	CHECK(query.len == 0);
	buf_release(&path);
	buf_release(&query);
}

TEST(request_rejects)
{
	static const struct {
		const char *name, *fn, *payload, *msg;
	} cases[] = {
	    {"no function", "", "{}", "function name"},
	    {"not json", "f", "{a:1}", "not one JSON value"},
	    {"trailing garbage", "f", "{} x", "not one JSON value"},
	    {"two values", "f", "1 2", "not one JSON value"},
	    {"empty", "f", "", "not one JSON value"},
	    {"bad utf-8", "f", "\"\xc3\x28\"", "UTF-8"},
	};
	struct aws_request req;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct error err = ERROR_INIT;
		int r = lambda_invoke_request(&req, cases[i].fn, NULL, cases[i].payload, 0, &err);

		CHECKF(r == -EINVAL, "%s: %d", cases[i].name, r);
		CHECKF(strstr(err.msg, cases[i].msg) != NULL, "%s: %s", cases[i].name, err.msg);
	}
	{
		size_t n = LAMBDA_INVOKE_REQUEST_MAX + 1;
		char *big = malloc(n + 1);
		struct error err = ERROR_INIT;

		REQUIRE(big);
		memset(big, ' ', n);
		big[0] = '1';
		big[n] = '\0';
		CHECK_INT(lambda_invoke_request(&req, "f", NULL, big, 0, &err), -EINVAL);
		CHECK(strstr(err.msg, "over Lambda's") != NULL);
		free(big);
	}
}

/* ---- the answer ---------------------------------------------------------------------- */

TEST(result_parse)
{
	struct lambda_invoke_result r = {0};
	struct error err = ERROR_INIT;
	const char *body = "{\"errorMessage\":\"boom\",\"errorType\":\"Error\",\"stackTrace\":[]}";

	REQUIRE(lambda_invoke_result_parse(200, "Unhandled", "7", body, strlen(body), &r, &err) == 0);
	CHECK(r.status == 200);
	CHECK_STR(r.function_error, "Unhandled");
	CHECK_STR(r.executed_version, "7");
	CHECK_STR(r.payload, body);
	CHECK(r.payload_len == strlen(body));
	CHECK(!r.payload_truncated);
	lambda_invoke_result_release(&r);
	CHECK(r.payload == NULL);

	/* success: no function error; $LATEST; empty body */
	REQUIRE(lambda_invoke_result_parse(200, NULL, "$LATEST", "", 0, &r, &err) == 0);
	CHECK_STR(r.function_error, "");
	CHECK_STR(r.executed_version, "$LATEST");
	CHECK_STR(r.payload, "");
	lambda_invoke_result_release(&r);
	REQUIRE(lambda_invoke_result_parse(200, NULL, NULL, NULL, 0, &r, &err) == 0);
	CHECK_STR(r.executed_version, "");
	CHECK_STR(r.payload, "");
	lambda_invoke_result_release(&r);

	/* a function error header that is present but empty is still a failure */
	REQUIRE(lambda_invoke_result_parse(200, "", "1", "null", 4, &r, &err) == 0);
	CHECK_STR(r.function_error, "Unhandled");
	lambda_invoke_result_release(&r);
	/* odd bytes in a header never get into our strings */
	REQUIRE(lambda_invoke_result_parse(200, "Handled\x01x", "1", "null", 4, &r, &err) == 0);
	CHECK_STR(r.function_error, "Handled?x");
	lambda_invoke_result_release(&r);

	CHECK_INT(lambda_invoke_result_parse(202, NULL, NULL, "", 0, &r, &err), -EPROTO);
	CHECK_INT(lambda_invoke_result_parse(200, NULL, "v1", "", 0, &r, &err), -EBADMSG);
	CHECK(strstr(err.msg, "X-Amz-Executed-Version") != NULL);
	CHECK_INT(lambda_invoke_result_parse(200, NULL, "1234567890123456", "", 0, &r, &err), -EBADMSG);
}

TEST(result_truncated_on_character_boundary)
{
	size_t n = LAMBDA_INVOKE_PAYLOAD_MAX + 100;
	char *body = malloc(n);
	struct lambda_invoke_result r = {0};
	struct error err = ERROR_INIT;

	REQUIRE(body);
	/* "é" (2 bytes) straddles the cut: the kept part ends before it */
	memset(body, 'a', n);
	memcpy(body + LAMBDA_INVOKE_PAYLOAD_MAX - 1, "\xc3\xa9", 2);
	REQUIRE(lambda_invoke_result_parse(200, NULL, "1", body, n, &r, &err) == 0);
	CHECK(r.payload_truncated);
	CHECK(r.payload_len == LAMBDA_INVOKE_PAYLOAD_MAX - 1);
	CHECK(strlen(r.payload) == r.payload_len);
	lambda_invoke_result_release(&r);
	/* a 3-byte character that ends exactly at the cut is kept whole */
	memset(body, 'a', n);
	memcpy(body + LAMBDA_INVOKE_PAYLOAD_MAX - 3, "\xe2\x82\xac", 3);
	REQUIRE(lambda_invoke_result_parse(200, NULL, "1", body, n, &r, &err) == 0);
	CHECK(r.payload_len == LAMBDA_INVOKE_PAYLOAD_MAX);
	CHECK(!memcmp(r.payload + LAMBDA_INVOKE_PAYLOAD_MAX - 3, "\xe2\x82\xac", 3));
	lambda_invoke_result_release(&r);
	/* a 4-byte character cut after its second byte is dropped whole */
	memset(body, 'a', n);
	memcpy(body + LAMBDA_INVOKE_PAYLOAD_MAX - 2, "\xf0\x9d\x84\x9e", 4);
	REQUIRE(lambda_invoke_result_parse(200, NULL, "1", body, n, &r, &err) == 0);
	CHECK(r.payload_len == LAMBDA_INVOKE_PAYLOAD_MAX - 2);
	lambda_invoke_result_release(&r);
	/* exactly the maximum: nothing truncated */
	memset(body, 'b', n);
	REQUIRE(lambda_invoke_result_parse(200, NULL, "1", body, LAMBDA_INVOKE_PAYLOAD_MAX, &r, &err) == 0);
	CHECK(!r.payload_truncated);
	CHECK(r.payload_len == LAMBDA_INVOKE_PAYLOAD_MAX);
	lambda_invoke_result_release(&r);
	free(body);
}

/* ---- the call, against a scripted server --------------------------------------------- */

enum action { ANSWER, HANG, CLOSE };

struct step {
	enum action action;
	const char *response; /* ANSWER: the whole HTTP response */
};

#define MAX_STEPS 8

struct server {
	int fd, port;
	pthread_t thread;
	struct step steps[MAX_STEPS];
	size_t n_steps;
	atomic_int requests; /* requests read */
	atomic_bool quit;
	char last_request[8192];
};

/* Read one request (headers and a Content-Length body) into buf; its length or -1. */
static int read_request(int fd, char *buf, size_t size)
{
	size_t n = 0;
	char *end = NULL;
	long clen = 0;

	while (n + 1 < size) {
		ssize_t k = read(fd, buf + n, size - 1 - n);

		if (k <= 0)
			return -1;
		n += (size_t)k;
		buf[n] = '\0';
		if (!end && (end = strstr(buf, "\r\n\r\n"))) {
			const char *cl = strcasestr(buf, "\r\ncontent-length:");

			clen = cl ? strtol(cl + 17, NULL, 10) : 0;
		}
		if (end && n >= (size_t)(end + 4 - buf) + (size_t)clen)
			return (int)n;
	}
	return -1;
}

static void *serve(void *arg)
{
	struct server *s = arg;

	for (size_t i = 0; i < s->n_steps && !atomic_load(&s->quit); i++) {
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			break;
		if (read_request(c, s->last_request, sizeof(s->last_request)) > 0)
			atomic_fetch_add(&s->requests, 1);
		switch (s->steps[i].action) {
		case ANSWER:
			if (write(c, s->steps[i].response, strlen(s->steps[i].response)) < 0)
				break;
			break;
		case HANG:
			for (int t = 0; t < 200 && !atomic_load(&s->quit); t++)
				usleep(50000); /* at most 10 s, less when the test ends */
			break;
		case CLOSE:
			break;
		}
		close(c);
	}
	return NULL;
}

static void server_start(struct server *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	REQUIRE(s->fd >= 0);
	REQUIRE(bind(s->fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	REQUIRE(listen(s->fd, 8) == 0);
	REQUIRE(getsockname(s->fd, (struct sockaddr *)&a, &len) == 0);
	s->port = ntohs(a.sin_port);
	REQUIRE(pthread_create(&s->thread, NULL, serve, s) == 0);
}

static void server_stop(struct server *s)
{
	atomic_store(&s->quit, true);
	shutdown(s->fd, SHUT_RDWR);
	close(s->fd);
	pthread_join(s->thread, NULL);
}

static struct aws_client *client_for(int port, double control_rate)
{
	static struct aws_credentials creds = {.access_key_id = (char *)"AKIDEXAMPLE",
	                                       .secret_access_key = (char *)"secret"};
	static const struct retry_policy rp = {3, 1, 1, 1}; /* three attempts, no waiting */
	struct aws_client_options o = {
	    .region = "us-east-1", .retry = &rp, .static_credentials = &creds, .control_rate = control_rate};
	struct aws_client *c = NULL;
	struct error err = ERROR_INIT;
	char ep[64];

	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", port);
	o.endpoint = ep;
	unsetenv("AWS_ENDPOINT_URL_LAMBDA");
	unsetenv("AWS_ENDPOINT_URL");
	if (aws_client_new(&c, &o, &err) < 0)
		fprintf(stderr, "aws_client_new: %s\n", err.msg);
	return c;
}

/* A whole HTTP answer (malloc'ed); status_line like "200 OK". */
static char *response(const char *status_line, const char *headers, const char *body)
{
	char *s = NULL;

	if (asprintf(&s,
	             "HTTP/1.1 %s\r\nContent-Type: application/json\r\n%sContent-Length: %zu\r\n"
	             "Connection: close\r\n\r\n%s",
	             status_line, headers, strlen(body), body) < 0)
		return NULL;
	return s;
}

static char *answer(const char *headers, const char *body)
{
	return response("200 OK", headers, body);
}

TEST(call_function_error_and_request_on_the_wire)
{
	struct server s = {0};
	struct aws_client *c;
	struct lambda_invoke_result r = {0};
	struct aws_error aerr = AWS_ERROR_INIT;
	char *ans = answer("X-Amz-Function-Error: Unhandled\r\nX-Amz-Executed-Version: 3\r\n",
	                   "{\"errorMessage\":\"smoke failed\",\"errorType\":\"Error\",\"stackTrace\":[]}");

	REQUIRE(ans);
	s.steps[0] = (struct step){ANSWER, ans};
	s.n_steps = 1;
	server_start(&s);
	c = client_for(s.port, 0);
	REQUIRE(c);
	CHECK_INT(lambda_invoke(c, "smoke", "Prod", "{\"x\":1}", 5000, &r, &aerr), 0);
	CHECK_STR(r.function_error, "Unhandled");
	CHECK_STR(r.executed_version, "3");
	CHECK(strstr(r.payload, "smoke failed") != NULL);
	CHECK(strncmp(s.last_request,
	              "POST /2015-03-31/functions/smoke/invocations?Qualifier=Prod HTTP/1.1\r\n", 70) == 0);
	CHECK(strcasestr(s.last_request, "\r\nX-Amz-Invocation-Type: RequestResponse\r\n") != NULL);
	CHECK(strstr(s.last_request, "SignedHeaders=host;x-amz-date;x-amz-invocation-type,") != NULL);
	CHECK(strstr(s.last_request, "\r\n\r\n{\"x\":1}") != NULL);
	lambda_invoke_result_release(&r);
	aws_client_free(c);
	server_stop(&s);
	free(ans);
}

TEST(call_error_answers_are_not_resent)
{
	static const struct {
		const char *name, *status, *code, *body;
		int errno_;
		enum error_kind kind;
	} cases[] = {
	    {"500", "500 Internal Server Error", "ServiceException", "{\"Message\":\"internal\"}", -EIO,
	     ERROR_KIND_TRANSIENT},
	    {"502", "502 Bad Gateway", "EC2ThrottledException", "{\"message\":\"throttled\"}", -EIO,
	     ERROR_KIND_TRANSIENT},
	    {"404", "404 Not Found", "ResourceNotFoundException", "{\"Message\":\"Function not found\"}",
	     -ENOENT, ERROR_KIND_NOT_FOUND},
	    {"413", "413 Request Entity Too Large", "RequestTooLargeException", "{\"message\":\"big\"}",
	     -EPROTO, ERROR_KIND_TERMINAL},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct server s = {0};
		struct aws_client *c;
		struct lambda_invoke_result r = {0};
		struct aws_error aerr = AWS_ERROR_INIT;
		char hdr[128], *resp;
		int rc;

		snprintf(hdr, sizeof(hdr), "X-Amzn-ErrorType: %s\r\n", cases[i].code);
		resp = response(cases[i].status, hdr, cases[i].body);
		REQUIRE(resp);
		for (size_t k = 0; k < 3; k++)
			s.steps[k] = (struct step){ANSWER, resp};
		s.n_steps = 3;
		server_start(&s);
		c = client_for(s.port, 0);
		REQUIRE(c);
		rc = lambda_invoke(c, "smoke", NULL, NULL, 5000, &r, &aerr);
		CHECKF(rc == cases[i].errno_, "%s: %d", cases[i].name, rc);
		CHECKF(!strcmp(aerr.code, cases[i].code), "%s: %s", cases[i].name, aerr.code);
		CHECKF(aerr.err.kind == cases[i].kind, "%s: %s", cases[i].name,
		       error_kind_name(aerr.err.kind));
		CHECKF(atomic_load(&s.requests) == 1, "%s: %d requests", cases[i].name,
		       atomic_load(&s.requests));
		CHECK(aerr.attempts == 1);
		CHECK(r.payload == NULL); /* not written on failure */
		aws_client_free(c);
		server_stop(&s);
		free(resp);
	}
}

TEST(call_reset_after_sending_is_not_resent)
{
	struct server s = {0};
	struct aws_client *c;
	struct lambda_invoke_result r = {0};
	struct aws_error aerr = AWS_ERROR_INIT;
	int rc;

	s.steps[0] = s.steps[1] = s.steps[2] = (struct step){CLOSE, NULL};
	s.n_steps = 3;
	server_start(&s);
	c = client_for(s.port, 0);
	REQUIRE(c);
	rc = lambda_invoke(c, "smoke", NULL, NULL, 5000, &r, &aerr);
	CHECKF(rc == -ECONNRESET, "%d %s", rc, aerr.err.msg);
	CHECK(atomic_load(&s.requests) == 1);
	CHECK(aerr.attempts == 1);
	aws_client_free(c);
	server_stop(&s);
}

TEST(call_throttled_is_retried)
{
	struct server s = {0};
	struct aws_client *c;
	struct lambda_invoke_result r = {0};
	struct aws_error aerr = AWS_ERROR_INIT;
	char *ans = answer("X-Amz-Executed-Version: 1\r\n", "\"ok\"");
	char *throttled = response("429 Too Many Requests", "X-Amzn-ErrorType: TooManyRequestsException\r\n",
	                           "{\"Reason\":\"ConcurrentInvocationLimitExceeded\",\"message\":\"Rate\"}");

	REQUIRE(ans && throttled);
	s.steps[0] = (struct step){ANSWER, throttled};
	s.steps[1] = (struct step){ANSWER, ans};
	s.n_steps = 2;
	server_start(&s);
	c = client_for(s.port, 0);
	REQUIRE(c);
	CHECKF(lambda_invoke(c, "smoke", "1", "[]", 5000, &r, &aerr) == 0, "%s", aerr.err.msg);
	CHECK(atomic_load(&s.requests) == 2);
	CHECK(aerr.attempts == 2);
	CHECK_STR(r.function_error, "");
	CHECK_STR(r.payload, "\"ok\"");
	lambda_invoke_result_release(&r);
	aws_client_free(c);
	server_stop(&s);
	free(ans);
	free(throttled);
}

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) + (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

TEST(call_hanging_function_times_out)
{
	struct server s = {0};
	struct aws_client *c;
	struct lambda_invoke_result r = {0};
	struct aws_error aerr = AWS_ERROR_INIT;
	struct timespec t0;
	int rc;

	s.steps[0] = s.steps[1] = (struct step){HANG, NULL};
	s.n_steps = 2;
	server_start(&s);
	c = client_for(s.port, 0);
	REQUIRE(c);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = lambda_invoke(c, "smoke", NULL, NULL, 400, &r, &aerr);
	CHECKF(rc == -ETIMEDOUT, "%d %s", rc, aerr.err.msg);
	CHECK(aerr.err.kind == ERROR_KIND_TRANSIENT);
	CHECK(atomic_load(&s.requests) == 1);
	/* bounded by the timeout (the server would hang 10 s); generous for a loaded machine */
	CHECKF(seconds_since(&t0) < 8.0, "took %.1f s", seconds_since(&t0));
	aws_client_free(c);
	server_stop(&s);
}

TEST(call_takes_no_control_plane_token)
{
	struct server s = {0};
	struct aws_client *c;
	struct timespec t0;
	char *ans = answer("X-Amz-Executed-Version: 2\r\n", "{}");

	REQUIRE(ans);
	for (size_t i = 0; i < 4; i++)
		s.steps[i] = (struct step){ANSWER, ans};
	s.n_steps = 4;
	server_start(&s);
	/* one control-plane call per 100 s: a second token would block the test for that long */
	c = client_for(s.port, 0.01);
	REQUIRE(c);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 4; i++) {
		struct lambda_invoke_result r = {0};
		struct aws_error aerr = AWS_ERROR_INIT;

		CHECKF(lambda_invoke(c, "smoke", NULL, "{}", 20000, &r, &aerr) == 0, "%d: %s", i,
		       aerr.err.msg);
		CHECK_STR(r.executed_version, "2");
		lambda_invoke_result_release(&r);
	}
	CHECKF(seconds_since(&t0) < 30.0, "took %.1f s", seconds_since(&t0));
	CHECK(atomic_load(&s.requests) == 4);
	aws_client_free(c);
	server_stop(&s);
	free(ans);
}

TEST(call_refused_connection_is_retried)
{
	struct aws_client *c;
	struct lambda_invoke_result r = {0};
	struct aws_error aerr = AWS_ERROR_INIT;
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	REQUIRE(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	REQUIRE(getsockname(fd, (struct sockaddr *)&a, &len) == 0);
	port = ntohs(a.sin_port);
	close(fd); /* nobody listens there */
	c = client_for(port, 0);
	REQUIRE(c);
	CHECK_INT(lambda_invoke(c, "smoke", NULL, NULL, 5000, &r, &aerr), -ECONNREFUSED);
	CHECK(aerr.attempts == 3); /* never reached the server: safe to try again */
	/* a bad payload is refused before anything is sent */
	CHECK_INT(lambda_invoke(c, "smoke", NULL, "{", 5000, &r, &aerr), -EINVAL);
	CHECK(aerr.err.kind == ERROR_KIND_TERMINAL);
	CHECK(aerr.attempts == 0);
	aws_client_free(c);
}

TEST_MAIN(request, request_rejects, result_parse, result_truncated_on_character_boundary,
          call_function_error_and_request_on_the_wire, call_error_answers_are_not_resent,
          call_reset_after_sending_is_not_resent, call_throttled_is_retried, call_hanging_function_times_out,
          call_takes_no_control_plane_token, call_refused_connection_is_retried)
