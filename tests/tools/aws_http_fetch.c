/*
 * aws_http_fetch - drive aws/http.c from tests (tests/aws/test_aws_http_transport.py).
 *
 *   aws_http_fetch [--max-bytes N] [--connect-ms N] [--total-ms N] [--method M]
 *                  [--header "Name: value"]... [--body TEXT] [--show-header NAME] URL...
 *
 * One client for all URLs (so connection reuse shows).  One line per URL:
 *   ok status=<code> len=<body bytes> new_conn=<0|1> body=<first 200 bytes, \n as \\n> [hdr=<value>]
 *   error code=<negative errno> msg=<message>
 * Exit status 0 when every request got a response.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/http.h"

int main(int argc, char **argv)
{
	struct http_options opt = {0};
	struct http_header headers[32];
	size_t nh = 0;
	const char *method = "GET", *body = NULL, *show = NULL;
	struct http_client *c = NULL;
	struct error err = ERROR_INIT;
	int failures = 0, i;

	for (i = 1; i < argc && !strncmp(argv[i], "--", 2); i += 2) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return 2;
		if (!strcmp(a, "--max-bytes"))
			opt.max_response_bytes = strtoull(v, NULL, 10);
		else if (!strcmp(a, "--connect-ms"))
			opt.connect_timeout_ms = strtol(v, NULL, 10);
		else if (!strcmp(a, "--total-ms"))
			opt.total_timeout_ms = strtol(v, NULL, 10);
		else if (!strcmp(a, "--method"))
			method = v;
		else if (!strcmp(a, "--body"))
			body = v;
		else if (!strcmp(a, "--show-header"))
			show = v;
		else if (!strcmp(a, "--header") && nh < 32) {
			char *colon = strchr(v, ':');
			if (!colon)
				return 2;
			headers[nh].name = strndup(v, (size_t)(colon - v));
			headers[nh].value = strdup(colon + 1 + (colon[1] == ' '));
			nh++;
		} else
			return 2;
	}
	if (http_client_new(&c, &opt, &err) < 0) {
		printf("error code=%d msg=%s\n", err.code, err.msg);
		return 1;
	}
	for (; i < argc; i++) {
		struct http_request req = {.method = method,
		                           .url = argv[i],
		                           .headers = headers,
		                           .n_headers = nh,
		                           .body = body,
		                           .body_len = body ? strlen(body) : 0};
		struct http_response resp = HTTP_RESPONSE_INIT;
		int r;

		error_clear(&err);
		r = http_client_send(c, &req, &resp, &err);
		if (r < 0) {
			printf("error code=%d msg=%s\n", r, err.msg);
			failures++;
		} else {
			printf("ok status=%ld len=%zu new_conn=%ld body=", resp.status, resp.body.len,
			       http_client_last_new_connections(c));
			for (size_t j = 0; j < resp.body.len && j < 200; j++) {
				char ch = resp.body.ptr[j];
				if (ch == '\n')
					fputs("\\n", stdout);
				else
					putchar(ch >= ' ' && ch < 0x7f ? ch : '?');
			}
			if (show) {
				const char *hv = http_response_header(&resp, show);
				printf(" hdr=%s", hv ? hv : "(none)");
			}
			putchar('\n');
		}
		fflush(stdout);
		http_response_release(&resp);
	}
	http_client_free(c);
	for (size_t j = 0; j < nh; j++) {
		free(headers[j].name);
		free(headers[j].value);
	}
	return failures ? 1 : 0;
}
