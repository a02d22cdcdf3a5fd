/*
 * test_aws_http.c - the pure parts of aws/http.c: RFC 3986 encoding and
 * decoding, response header lookup, and streamed request bodies (against a
 * small echo server on 127.0.0.1).  The rest of the transport is tested
 * against a loopback server in tests/aws/test_aws_http_transport.py.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

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

/* ---- streamed request bodies, against a one-shot echo server on 127.0.0.1 ---- */

struct echo_server {
	int fd;
	int port;
	int conns; /* connections to serve */
	pthread_t thread;
};

/* Answer each request with its body (and close): the client sees what it sent. */
static void *echo_main(void *arg)
{
	struct echo_server *e = arg;

	for (int k = 0; k < e->conns; k++) {
		struct timeval tv = {10, 0};
		struct buf in = BUF_INIT;
		char chunk[65536], head[128];
		size_t body_at = 0, clen = 0;
		int c = accept(e->fd, NULL, NULL);

		if (c < 0)
			break;
		setsockopt(c, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		for (;;) {
			ssize_t n = recv(c, chunk, sizeof(chunk), 0);
			const char *end, *cl;

			if (n <= 0)
				break;
			if (buf_put(&in, chunk, (size_t)n) < 0)
				break;
			if (!body_at && (end = strstr(in.ptr, "\r\n\r\n"))) {
				body_at = (size_t)(end - in.ptr) + 4;
				cl = strcasestr(in.ptr, "content-length:");
				clen = cl && cl < end ? strtoul(cl + 15, NULL, 10) : 0;
			}
			if (body_at && in.len - body_at >= clen)
				break;
		}
		if (body_at && in.len - body_at >= clen) {
			int hl = snprintf(
			    head, sizeof(head),
			    "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n", clen);

			if (send(c, head, (size_t)hl, MSG_NOSIGNAL) == hl)
				send(c, in.ptr + body_at, clen, MSG_NOSIGNAL);
		}
		close(c);
		buf_release(&in);
	}
	return NULL;
}

static void echo_start(struct echo_server *e, int conns)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	e->conns = conns;
	e->fd = socket(AF_INET, SOCK_STREAM, 0);
	REQUIRE(e->fd >= 0);
	REQUIRE(bind(e->fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	REQUIRE(listen(e->fd, 4) == 0);
	REQUIRE(getsockname(e->fd, (struct sockaddr *)&a, &len) == 0);
	e->port = ntohs(a.sin_port);
	REQUIRE(pthread_create(&e->thread, NULL, echo_main, e) == 0);
}

static void echo_stop(struct echo_server *e)
{
	shutdown(e->fd, SHUT_RDWR);
	pthread_join(e->thread, NULL);
	close(e->fd);
}

/* A reader of `len` bytes of a pattern, in pieces of at most `piece`; fails at `fail_at` if set. */
struct pattern {
	size_t len, pos, piece, fail_at;
	int rewinds;
};

static long pattern_read(void *ctx, char *buf, size_t n)
{
	struct pattern *p = ctx;
	size_t k = 0;

	if (p->fail_at && p->pos >= p->fail_at)
		return -ENOSPC;
	while (k < n && k < p->piece && p->pos < p->len)
		buf[k++] = (char)('a' + p->pos++ % 23);
	return (long)k;
}

static int pattern_rewind(void *ctx)
{
	struct pattern *p = ctx;

	p->pos = 0;
	p->rewinds++;
	return 0;
}

TEST(streamed_body)
{
	struct echo_server srv;
	struct http_client *c = NULL;
	struct error err = ERROR_INIT;
	struct pattern p = {.len = 3000001, .piece = 1000};
	struct http_body_reader rd = {p.len, pattern_read, pattern_rewind, &p};
	struct http_response r = HTTP_RESPONSE_INIT;
	char url[64];
	size_t bad = 0;

	echo_start(&srv, 3);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/up", srv.port);
	REQUIRE(http_client_new(&c, NULL, &err) == 0);
	{
		struct http_request req = {.method = "PUT", .url = url, .body_reader = &rd};

		p.pos = 17; /* a half-read reader: the send rewinds it first */
		REQUIRE(http_client_send(c, &req, &r, &err) == 0);
		CHECK_INT(r.status, 200);
		CHECK_U64(r.body.len, p.len);
		for (size_t i = 0; i < r.body.len; i++)
			bad += r.body.ptr[i] != (char)('a' + i % 23);
		CHECK_U64(bad, 0);
		CHECK(p.rewinds >= 1);
		http_response_release(&r);

		/* the same reader again, as a retry does */
		REQUIRE(http_client_send(c, &req, &r, &err) == 0);
		CHECK_U64(r.body.len, p.len);
		http_response_release(&r);

		/* a reader that fails mid-way: -EIO naming its error */
		p.fail_at = 100000;
		CHECK_INT(http_client_send(c, &req, &r, &err), -EIO);
		CHECK(strstr(err.msg, "reading the request body") != NULL);
		CHECK_INT(r.status, 0);

		/* a body and a reader at once */
		req.body = "x";
		req.body_len = 1;
		CHECK_INT(http_client_send(c, &req, &r, &err), -EINVAL);
	}
	http_client_free(c);
	echo_stop(&srv);
}

TEST_MAIN(uri_encode, uri_encode_appends_and_nul, uri_encode_cap, uri_decode, uri_roundtrip_all_bytes,
          response_header_lookup, client_rejects_bad_requests, streamed_body)
