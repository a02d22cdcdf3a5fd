/*
 * test_aws_http_stop.c - a stop aborts a request in flight: against a
 * loopback server that reads the request and never answers, a send whose
 * cancel flag (http_client_set_cancel) or client (aws_client_stop) is set
 * from another thread ends with -ECANCELED within about a second, not when
 * the request's own timeout (minutes for a preTraffic Invoke) runs out.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "aws/client.h"
#include "aws/http.h"
#include "aws/lambda.h"
#include "tests/unit/harness.h"

/* Generous for a loaded 2-core machine; libcurl polls the flag about once a second. */
#define STOP_WITHIN_MS 3000
#define MAX_CONNS      8

struct hang_server {
	int fd, port;
	atomic_bool quit;
	atomic_int accepted;
	pthread_t thread;
};

/* Accept, read whatever comes, never answer; at most 60 s. */
static void *hang_main(void *arg)
{
	struct hang_server *s = arg;
	struct pollfd p[1 + MAX_CONNS];
	int n = 1;

	p[0] = (struct pollfd){.fd = s->fd, .events = POLLIN};
	for (int round = 0; round < 600 && !atomic_load(&s->quit); round++) {
		if (poll(p, (nfds_t)n, 100) <= 0)
			continue;
		if ((p[0].revents & POLLIN) && n < 1 + MAX_CONNS) {
			int c = accept(s->fd, NULL, NULL);

			if (c >= 0) {
				p[n++] = (struct pollfd){.fd = c, .events = POLLIN};
				atomic_fetch_add(&s->accepted, 1);
			}
		}
		for (int i = 1; i < n; i++) {
			char chunk[4096];

			if (p[i].revents & (POLLIN | POLLHUP) && recv(p[i].fd, chunk, sizeof(chunk), 0) <= 0)
				p[i].events = 0; /* closed by the client */
		}
	}
	for (int i = 1; i < n; i++)
		close(p[i].fd);
	return NULL;
}

static void hang_start(struct hang_server *s)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(a);

	atomic_init(&s->quit, false);
	atomic_init(&s->accepted, 0);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	REQUIRE(s->fd >= 0);
	REQUIRE(bind(s->fd, (struct sockaddr *)&a, sizeof(a)) == 0);
	REQUIRE(listen(s->fd, 4) == 0);
	REQUIRE(getsockname(s->fd, (struct sockaddr *)&a, &len) == 0);
	s->port = ntohs(a.sin_port);
	REQUIRE(pthread_create(&s->thread, NULL, hang_main, s) == 0);
}

static void hang_stop(struct hang_server *s)
{
	atomic_store(&s->quit, true);
	pthread_join(s->thread, NULL);
	close(s->fd);
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/* After 300 ms: set the flag, or stop the client; records when. */
struct stopper {
	atomic_bool *flag;
	struct aws_client *client;
	long long at;
	pthread_t thread;
};

static void *stopper_main(void *arg)
{
	struct stopper *st = arg;

	sleep_ms(300);
	st->at = now_ms();
	if (st->flag)
		atomic_store(st->flag, true);
	else
		aws_client_stop(st->client);
	return NULL;
}

TEST(cancel_flag_aborts_a_hanging_transfer)
{
	struct http_options opt = {.total_timeout_ms = 60000};
	struct http_client *c = NULL;
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct error err = ERROR_INIT;
	struct hang_server s;
	struct stopper st = {0};
	atomic_bool flag;
	char url[64];
	long long end;
	int r;

	atomic_init(&flag, false);
	hang_start(&s);
	snprintf(url, sizeof(url), "http://127.0.0.1:%d/hang", s.port);
	REQUIRE(http_client_new(&c, &opt, &err) == 0);
	http_client_set_cancel(c, &flag);
	st.flag = &flag;
	REQUIRE(pthread_create(&st.thread, NULL, stopper_main, &st) == 0);
	r = http_client_send(
	    c, &(struct http_request){.method = "POST", .url = url, .body = "{}", .body_len = 2}, &resp,
	    &err);
	end = now_ms();
	pthread_join(st.thread, NULL);
	CHECK_INT(r, -ECANCELED);
	CHECK_INT(err.code, -ECANCELED);
	CHECKF(end - st.at < STOP_WITHIN_MS, "ended %lld ms after the stop", end - st.at);
	CHECK_INT(atomic_load(&s.accepted), 1); /* it was in flight */
	CHECK_INT((int)resp.status, 0);         /* untouched */

	/* set before the call: fails at once, nothing sent */
	error_clear(&err);
	r = http_client_send(c, &(struct http_request){.method = "GET", .url = url}, &resp, &err);
	CHECK_INT(r, -ECANCELED);
	CHECK_INT(atomic_load(&s.accepted), 1);
	http_client_free(c);
	hang_stop(&s);
}

TEST(client_stop_aborts_an_invoke_in_flight)
{
	static struct aws_credentials creds = {.access_key_id = (char *)"AKIDEXAMPLE",
	                                       .secret_access_key = (char *)"secret"};
	static const struct retry_policy rp = {3, 1, 1, 1};
	struct aws_client_options o = {.region = "us-east-1", .retry = &rp, .static_credentials = &creds};
	struct lambda_invoke_result res = {0};
	struct aws_error aerr = AWS_ERROR_INIT;
	struct aws_client *c = NULL;
	struct error err = ERROR_INIT;
	struct hang_server s;
	struct stopper st = {0};
	char ep[64];
	long long end;
	int r;

	hang_start(&s);
	snprintf(ep, sizeof(ep), "http://127.0.0.1:%d", s.port);
	o.endpoint = ep;
	unsetenv("AWS_ENDPOINT_URL_LAMBDA");
	unsetenv("AWS_ENDPOINT_URL");
	REQUIRE(aws_client_new(&c, &o, &err) == 0);
	st.client = c;
	REQUIRE(pthread_create(&st.thread, NULL, stopper_main, &st) == 0);
	/* a preTraffic hook may run for minutes: the call's own timeout is far away */
	r = lambda_invoke(c, "pre-traffic", NULL, "{}", 300000, &res, &aerr);
	end = now_ms();
	pthread_join(st.thread, NULL);
	CHECK_INT(r, -ECANCELED);
	CHECK(aerr.err.kind == ERROR_KIND_CANCELED);
	CHECKF(end - st.at < STOP_WITHIN_MS, "ended %lld ms after the stop", end - st.at);
	CHECK_INT(atomic_load(&s.accepted), 1); /* one attempt, not retried */
	lambda_invoke_result_release(&res);
	aws_client_free(c);
	hang_stop(&s);
}

TEST_MAIN(cancel_flag_aborts_a_hanging_transfer, client_stop_aborts_an_invoke_in_flight)
