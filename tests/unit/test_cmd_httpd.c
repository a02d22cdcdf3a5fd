#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cmd/httpd.h"
#include "tests/unit/harness.h"

struct ctx {
	int pushes;
	char ref[256], after[64];
	int healthy;
};

static int cb_status(void *c, struct buf *out)
{
	(void)c;
	return buf_puts(out, "{\"functions\":[]}");
}

static int cb_metrics(void *c, struct buf *out)
{
	(void)c;
	return buf_puts(out, "# HELP x y\n# TYPE x gauge\nx 1\n");
}

static int cb_health(void *c, struct buf *out)
{
	struct ctx *x = c;

	if (x->healthy)
		return 0;
	buf_puts(out, "no good load yet");
	return -EAGAIN;
}

static void cb_push(void *c, const char *ref, const char *after)
{
	struct ctx *x = c;

	x->pushes++;
	snprintf(x->ref, sizeof(x->ref), "%s", ref);
	snprintf(x->after, sizeof(x->after), "%s", after);
}

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
	buf_put(ud, p, sz * n);
	return sz * n;
}

/* One request; returns the HTTP status (0 on transport failure). */
static long request(uint16_t port, const char *method, const char *path, const char *body, size_t body_len,
                    const char *const *headers, struct buf *out, char *allow, size_t allowsz)
{
	CURL *c = curl_easy_init();
	struct curl_slist *hl = NULL;
	struct buf hdrs = BUF_INIT;
	char url[256];
	long status = 0;

	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &hdrs);
	if (body) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)body_len);
	}
	for (size_t i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	if (allow) {
		const char *a = strstr(hdrs.ptr, "Allow: ");

		allow[0] = '\0';
		if (a)
			sscanf(a + 7, "%63[^\r\n]", allow);
		(void)allowsz;
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	buf_release(&hdrs);
	return status;
}

static void sign(const char *secret, const char *body, size_t len, char out[80])
{
	unsigned char mac[32];
	unsigned int n = 0;

	HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac, &n);
	strcpy(out, "sha256=");
	for (int i = 0; i < 32; i++)
		sprintf(out + 7 + 2 * i, "%02x", mac[i]);
}

TEST(httpd_verify)
{
	static const char body[] = "{\"ref\":\"refs/heads/main\"}";
	char sig[80];

	sign("s3cret", body, strlen(body), sig);
	CHECK_INT(httpd_webhook_verify("s3cret", 6, body, strlen(body), sig), 0);
	/* uppercase hex is the same signature */
	for (char *p = sig + 7; *p; p++)
		if (*p >= 'a' && *p <= 'f')
			*p = (char)(*p - 'a' + 'A');
	CHECK_INT(httpd_webhook_verify("s3cret", 6, body, strlen(body), sig), 0);
	CHECK_INT(httpd_webhook_verify("s3creT", 6, body, strlen(body), sig), -EACCES);
	CHECK_INT(httpd_webhook_verify("s3cret", 6, body, strlen(body) - 1, sig), -EACCES);
	CHECK_INT(httpd_webhook_verify("s3cret", 6, body, strlen(body), NULL), -EACCES);
	CHECK_INT(httpd_webhook_verify(NULL, 0, body, strlen(body), sig), -EACCES);
	CHECK_INT(httpd_webhook_verify("s3cret", 6, body, strlen(body), "sha1=abc"), -EACCES);
	sig[20] = 'g';
	CHECK_INT(httpd_webhook_verify("s3cret", 6, body, strlen(body), sig), -EACCES);
	sig[20] = '\0';
	CHECK_INT(httpd_webhook_verify("s3cret", 6, body, strlen(body), sig), -EACCES);
	/* GitHub's documented example */
	CHECK_INT(
	    httpd_webhook_verify("It's a Secret to Everybody", 26, "Hello, World!", 13,
	                         "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"),
	    0);
}

TEST(httpd_push_payload)
{
	char ref[256], after[41];

	CHECK_INT(httpd_push_parse(
	              "{\"ref\":\"refs/heads/main\",\"after\":\"0123456789012345678901234567890123456789\"}",
	              78, ref, after),
	          0);
	CHECK_STR(ref, "refs/heads/main");
	CHECK_STR(after, "0123456789012345678901234567890123456789");
	CHECK_INT(httpd_push_parse("{\"zen\":\"x\"}", 11, ref, after), 0);
	CHECK_STR(ref, "");
	CHECK_INT(httpd_push_parse("[1]", 3, ref, after), -EBADMSG);
	CHECK_INT(httpd_push_parse("{", 1, ref, after), -EBADMSG);
}

TEST(httpd_endpoints)
{
	struct ctx x = {0};
	struct httpd_handlers h = {&x, cb_status, cb_metrics, cb_health, cb_push};
	struct httpd *d = NULL;
	struct error err = ERROR_INIT;
	struct buf out = BUF_INIT;
	char allow[64], sig[80];
	static const char push[] = "{\"ref\":\"refs/heads/main\",\"after\":\"abc\"}";
	uint16_t port;

	REQUIRE(httpd_start(&d, "127.0.0.1", 0, "topsecret", 9, &h, &err) == 0);
	port = httpd_port(d);
	CHECK(port != 0);

	CHECK_INT(request(port, "GET", "/healthz", NULL, 0, NULL, &out, NULL, 0), 503);
	CHECK_STR(out.ptr, "no good load yet\n");
	buf_reset(&out);
	x.healthy = 1;
	CHECK_INT(request(port, "GET", "/healthz", NULL, 0, NULL, &out, NULL, 0), 200);
	CHECK_STR(out.ptr, "ok\n");
	buf_reset(&out);
	CHECK_INT(request(port, "GET", "/status", NULL, 0, NULL, &out, NULL, 0), 200);
	CHECK_STR(out.ptr, "{\"functions\":[]}");
	buf_reset(&out);
	CHECK_INT(request(port, "GET", "/metrics", NULL, 0, NULL, &out, NULL, 0), 200);
	CHECK_STR(out.ptr, "# HELP x y\n# TYPE x gauge\nx 1\n");
	buf_reset(&out);
	CHECK_INT(request(port, "GET", "/nope", NULL, 0, NULL, &out, NULL, 0), 404);
	CHECK_INT(request(port, "GET", "/status/x", NULL, 0, NULL, &out, NULL, 0), 404);
	CHECK_INT(request(port, "POST", "/status", "x", 1, NULL, &out, allow, sizeof(allow)), 405);
	CHECK_STR(allow, "GET, HEAD");
	CHECK_INT(request(port, "GET", "/hooks/github", NULL, 0, NULL, &out, allow, sizeof(allow)), 405);
	CHECK_STR(allow, "POST");
	buf_reset(&out);

	/* webhook: unsigned, badly signed, wrongly signed -> 401, nothing triggered */
	CHECK_INT(request(port, "POST", "/hooks/github", push, strlen(push),
	                  (const char *[]){"X-GitHub-Event: push", NULL}, &out, NULL, 0),
	          401);
	sign("wrongsecret", push, strlen(push), sig);
	{
		char hdr[128];

		snprintf(hdr, sizeof(hdr), "X-Hub-Signature-256: %s", sig);
		CHECK_INT(request(port, "POST", "/hooks/github", push, strlen(push),
		                  (const char *[]){"X-GitHub-Event: push", hdr, NULL}, &out, NULL, 0),
		          401);
		CHECK_INT(x.pushes, 0);
		/* signed ping */
		sign("topsecret", "{\"zen\":\"hi\"}", 12, sig);
		snprintf(hdr, sizeof(hdr), "X-Hub-Signature-256: %s", sig);
		CHECK_INT(request(port, "POST", "/hooks/github", "{\"zen\":\"hi\"}", 12,
		                  (const char *[]){"X-GitHub-Event: ping", hdr, NULL}, &out, NULL, 0),
		          200);
		CHECK_INT(x.pushes, 0);
		/* signed push */
		sign("topsecret", push, strlen(push), sig);
		snprintf(hdr, sizeof(hdr), "X-Hub-Signature-256: %s", sig);
		CHECK_INT(request(port, "POST", "/hooks/github", push, strlen(push),
		                  (const char *[]){"X-GitHub-Event: push", hdr, NULL}, &out, NULL, 0),
		          202);
		CHECK_INT(x.pushes, 1);
		CHECK_STR(x.ref, "refs/heads/main");
		CHECK_STR(x.after, "abc");
		/* signed other event: accepted, ignored */
		CHECK_INT(request(port, "POST", "/hooks/github", push, strlen(push),
		                  (const char *[]){"X-GitHub-Event: issues", hdr, NULL}, &out, NULL, 0),
		          202);
		CHECK_INT(x.pushes, 1);
		/* secret rotated: the old signature no longer works */
		CHECK_INT(httpd_secret_set(d, "newsecret", 9), 0);
		CHECK_INT(request(port, "POST", "/hooks/github", push, strlen(push),
		                  (const char *[]){"X-GitHub-Event: push", hdr, NULL}, &out, NULL, 0),
		          401);
		/* no secret: refused */
		CHECK_INT(httpd_secret_set(d, NULL, 0), 0);
		CHECK_INT(request(port, "POST", "/hooks/github", push, strlen(push),
		                  (const char *[]){"X-GitHub-Event: push", hdr, NULL}, &out, NULL, 0),
		          401);
		CHECK_INT(x.pushes, 1);
	}
	/* more than 1 MiB: 413 */
	{
		size_t n = HTTPD_BODY_MAX + 1;
		char *big = malloc(n);

		REQUIRE(big);
		memset(big, 'a', n);
		CHECK_INT(request(port, "POST", "/hooks/github", big, n,
		                  (const char *[]){"X-GitHub-Event: push", NULL}, &out, NULL, 0),
		          413);
		/* exactly 1 MiB is read (and refused for its signature) */
		CHECK_INT(request(port, "POST", "/hooks/github", big, n - 1,
		                  (const char *[]){"X-GitHub-Event: push", NULL}, &out, NULL, 0),
		          401);
		free(big);
	}
	buf_release(&out);
	httpd_stop(d);
}

TEST(httpd_bind_errors)
{
	struct httpd *a = NULL, *b = NULL;
	struct error err = ERROR_INIT;

	CHECK_INT(httpd_start(&a, "localhost", 0, NULL, 0, NULL, &err), -EINVAL);
	CHECK(strstr(err.msg, "not an IPv4 or IPv6 address") != NULL);
	REQUIRE(httpd_start(&a, "127.0.0.1", 0, NULL, 0, NULL, &err) == 0);
	CHECK(httpd_start(&b, "127.0.0.1", httpd_port(a), NULL, 0, NULL, &err) < 0);
	CHECK(b == NULL);
	CHECK(strstr(err.msg, "cannot listen on 127.0.0.1:") != NULL);
	httpd_stop(a);
	httpd_stop(NULL);
}

static long mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* A raw client connection that has sent `head`. */
static int raw_connect(uint16_t port, const char *head)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	if (head && send(fd, head, strlen(head), MSG_NOSIGNAL) != (ssize_t)strlen(head)) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * Send `drip` (if any) every 100 ms and read what comes back into `answer`
 * until the server closes the connection: milliseconds that took, or -1 when
 * it was still open after `limit_ms`.
 */
static long trickle_until_closed(int fd, const char *drip, long limit_ms, struct buf *answer)
{
	long t0 = mono_ms();

	while (mono_ms() - t0 < limit_ms) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		char tmp[512];

		if (poll(&p, 1, 100) > 0) {
			ssize_t n = recv(fd, tmp, sizeof(tmp), 0);

			if (n <= 0)
				return mono_ms() - t0;
			if (answer)
				buf_put(answer, tmp, (size_t)n);
			continue;
		}
		if (drip && send(fd, drip, strlen(drip), MSG_NOSIGNAL) < 0)
			return mono_ms() - t0;
	}
	return -1;
}

static const struct httpd_limits fast = {32, 32, 2, 700, 700, 30};

TEST(httpd_header_deadline)
{
	struct httpd *d = NULL;
	struct error err = ERROR_INIT;
	struct httpd_stats st;
	struct buf out = BUF_INIT;
	long took;
	int fd;

	REQUIRE(httpd_start_limits(&d, "127.0.0.1", 0, "s", 1, NULL, &fast, &err) == 0);
	/* a byte every 100 ms keeps MHD's idle timeout away, not the deadline */
	fd = raw_connect(httpd_port(d), "GET /healthz HTTP/1.1\r\nX-Slow: ");
	REQUIRE(fd >= 0);
	took = trickle_until_closed(fd, "a", 8000, &out);
	close(fd);
	CHECKF(took >= 600 && took < 8000, "cut off after %ld ms", took);
	CHECK_INT((int)out.len, 0);
	httpd_stats_get(d, &st);
	CHECK_INT((int)st.cut_headers, 1);
	CHECK_INT((int)st.cut_bodies, 0);
	/* a prompt client is served on a kept-alive connection after the deadline of the first request */
	CHECK_INT(request(httpd_port(d), "GET", "/healthz", NULL, 0, NULL, &out, NULL, 0), 200);
	buf_release(&out);
	httpd_stop(d);
}

TEST(httpd_keepalive_deadline)
{
	/* (MHD closes the connection after a reply queued before the body, so a webhook it is) */
	static const char get[] = "POST /hooks/github HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}";
	struct httpd_limits lim = {32, 32, 2, 700, 700, 1};
	struct httpd *d = NULL;
	struct error err = ERROR_INIT;
	struct httpd_stats st;
	struct buf out = BUF_INIT;
	long took;
	int fd;

	REQUIRE(httpd_start_limits(&d, "127.0.0.1", 0, "s", 1, NULL, &lim, &err) == 0);
	/* idle after a request: MHD's idle timeout (1 s) closes it, no cut-off counted */
	fd = raw_connect(httpd_port(d), get);
	REQUIRE(fd >= 0);
	took = trickle_until_closed(fd, NULL, 8000, &out);
	close(fd);
	CHECKF(took >= 0, "still open");
	CHECKF(!strncmp(out.ptr, "HTTP/1.1 401", 12), "answer: %.40s", out.ptr);
	CHECKF(!strstr(out.ptr, "Connection: close"), "answer: %s", out.ptr);
	CHECKF(took >= 900, "closed after %ld ms", took);
	httpd_stats_get(d, &st);
	CHECK_INT((int)(st.cut_headers + st.cut_bodies), 0);
	/* trickling the next request: cut off after idle_s + 1 s (> header_ms) */
	buf_reset(&out);
	fd = raw_connect(httpd_port(d), get);
	REQUIRE(fd >= 0);
	while (out.len < 12 && trickle_until_closed(fd, NULL, 100, &out) < 0)
		;
	REQUIRE(send(fd, "GET /healthz HTTP/1.1\r\nX-Slow: ", 31, MSG_NOSIGNAL) == 31);
	took = trickle_until_closed(fd, "a", 8000, NULL);
	close(fd);
	CHECKF(took >= 1500 && took < 8000, "cut off after %ld ms", took);
	httpd_stats_get(d, &st);
	CHECK_INT((int)st.cut_headers, 1);
	buf_release(&out);
	httpd_stop(d);
}

TEST(httpd_body_deadline)
{
	struct httpd *d = NULL;
	struct error err = ERROR_INIT;
	struct httpd_stats st;
	struct buf out = BUF_INIT;
	long took;
	int fd;

	REQUIRE(httpd_start_limits(&d, "127.0.0.1", 0, "s", 1, NULL, &fast, &err) == 0);
	fd = raw_connect(httpd_port(d), "POST /hooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\n"
	                                "Content-Length: 1000\r\n\r\n");
	REQUIRE(fd >= 0);
	took = trickle_until_closed(fd, " ", 8000, &out);
	close(fd);
	CHECKF(took >= 600 && took < 8000, "cut off after %ld ms", took);
	CHECK_INT((int)out.len, 0);
	httpd_stats_get(d, &st);
	CHECK_INT((int)st.cut_headers, 0);
	CHECK_INT((int)st.cut_bodies, 1);
	CHECK_INT((int)st.webhooks_busy, 0);
	buf_release(&out);
	httpd_stop(d);
}

TEST(httpd_webhook_cap)
{
	static const char head[] = "POST /hooks/github HTTP/1.1\r\nHost: x\r\nX-GitHub-Event: push\r\n"
	                           "Content-Length: 1000\r\n\r\n";
	struct httpd_limits lim = {32, 32, 2, 5000, 20000, 30};
	struct httpd *d = NULL;
	struct error err = ERROR_INIT;
	struct httpd_stats st;
	struct buf out = BUF_INIT;
	int a, b, c;

	REQUIRE(httpd_start_limits(&d, "127.0.0.1", 0, "s", 1, NULL, &lim, &err) == 0);
	a = raw_connect(httpd_port(d), head);
	b = raw_connect(httpd_port(d), head);
	REQUIRE(a >= 0 && b >= 0);
	/* both are being read (the server answers neither) ... */
	CHECK(trickle_until_closed(a, NULL, 300, &out) == -1);
	CHECK(trickle_until_closed(b, NULL, 300, &out) == -1);
	CHECK_INT((int)out.len, 0);
	/* ... so a third webhook gets 503 at once, and /healthz is served */
	c = raw_connect(httpd_port(d), head);
	REQUIRE(c >= 0);
	CHECK(trickle_until_closed(c, NULL, 5000, &out) >= 0);
	close(c);
	CHECKF(!strncmp(out.ptr, "HTTP/1.1 503", 12), "answer: %.40s", out.ptr);
	CHECK(strstr(out.ptr, "Retry-After: 10\r\n") != NULL);
	buf_reset(&out);
	CHECK_INT(request(httpd_port(d), "GET", "/healthz", NULL, 0, NULL, &out, NULL, 0), 200);
	httpd_stats_get(d, &st);
	CHECK_INT((int)st.webhooks_busy, 1);
	/* the closed ones (503, /healthz) are gone as soon as MHD sees them closed */
	for (int i = 0; i < 500 && (httpd_stats_get(d, &st), st.connections > 2); i++)
		usleep(20000);
	CHECK_INT((int)st.connections, 2);
	/* the two slow ones go away: webhooks are read again */
	close(a);
	close(b);
	for (int i = 0; i < 500 && (httpd_stats_get(d, &st), st.connections); i++)
		usleep(20000);
	CHECK_INT((int)st.connections, 0);
	CHECK_INT(request(httpd_port(d), "POST", "/hooks/github", "{}", 2,
	                  (const char *[]){"X-GitHub-Event: push", NULL}, &out, NULL, 0),
	          401);
	httpd_stats_get(d, &st);
	CHECK_INT((int)st.webhooks_busy, 1);
	buf_release(&out);
	httpd_stop(d);
}

TEST(httpd_evicts_headerless_connections)
{
	/* 16 per address, 8 kept free: 16 silent connections from 127.0.0.1 fill it */
	struct httpd_limits lim = {64, 16, 2, 30000, 30000, 30};
	struct httpd *d = NULL;
	struct error err = ERROR_INIT;
	struct httpd_stats st;
	struct buf out = BUF_INIT;
	int fds[16], open_fds = 0;

	REQUIRE(httpd_start_limits(&d, "127.0.0.1", 0, "s", 1, NULL, &lim, &err) == 0);
	for (int i = 0; i < 16; i++)
		fds[i] = raw_connect(httpd_port(d), "GET /status HTTP/1.1\r\n");
	/* after HTTPD_EVICT_AGE_MS the oldest 8 are cut off, the newest 8 stay */
	for (int i = 0; i < 16; i++) {
		long took = fds[i] >= 0 ? trickle_until_closed(fds[i], NULL, i < 8 ? 8000 : 10, NULL) : 0;

		if (i < 8)
			CHECKF(took >= 0, "connection %d still open", i);
		open_fds += took < 0;
	}
	CHECK_INT(open_fds, 8);
	CHECK_INT(request(httpd_port(d), "GET", "/healthz", NULL, 0, NULL, &out, NULL, 0), 200);
	httpd_stats_get(d, &st);
	CHECK_INT((int)st.evicted, 8);
	CHECK_INT((int)st.cut_headers, 0);
	for (int i = 0; i < 16; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	buf_release(&out);
	httpd_stop(d);
}

TEST(httpd_limits_invalid)
{
	struct httpd_limits lim = {64, 16, 0, 1000, 1000, 10};
	struct httpd *d = NULL;
	struct error err = ERROR_INIT;

	CHECK_INT(httpd_start_limits(&d, "127.0.0.1", 0, NULL, 0, NULL, &lim, &err), -EINVAL);
	CHECK(d == NULL);
}

TEST_MAIN(httpd_verify, httpd_push_payload, httpd_endpoints, httpd_bind_errors, httpd_header_deadline,
          httpd_keepalive_deadline, httpd_body_deadline, httpd_webhook_cap,
          httpd_evicts_headerless_connections, httpd_limits_invalid)
