/*
 * aws_credentials_dump - resolve AWS credentials the way aliasd does and print
 * what was found, never the secret itself.
 *
 *   aws_credentials_dump [--profile P] [--sts-endpoint URL] [--now EPOCH]
 *                        [--get N] [--advance SECONDS] [--at S1,S2,...] [--threads N] [--region]
 *                        [--process-timeout-ms N]
 *
 * Calls aws_credentials_get N times (default 1) on one provider, the i-th at
 * now + i*advance, or at now + each offset of --at (a simulated clock: the
 * provider's cache and refresh logic see that time).  One line per call:
 *   ok source=<source> akid=<id> secret_sha256=<16 hex> token_sha256=<16 hex|-> expires_in=<s|never>
 *   error code=<negative errno> msg=<message, as error_format() writes it>
 * With --threads N, N threads each make the calls concurrently (lines may
 * interleave by thread, each line is whole).  --region prints
 * "region=<r>" or the error from aws_region_resolve instead.
 * Exit status: 0 when every call succeeded, 1 otherwise, 2 on usage errors.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/credentials.h"

static struct aws_credentials_provider *provider;
static time_t start_now;
static long n_gets = 1, advance_s;
static long at[64];
static int n_at;
static pthread_mutex_t out_lock = PTHREAD_MUTEX_INITIALIZER;
static int failures;

static void *run(void *arg)
{
	(void)arg;
	for (long i = 0; i < n_gets; i++) {
		struct aws_credentials c = {0};
		struct error err = ERROR_INIT;
		time_t now = start_now + (time_t)(n_at ? at[i] : i * advance_s);
		int r = aws_credentials_get(provider, now, &c, &err);

		pthread_mutex_lock(&out_lock);
		if (r < 0) {
			char msg[ERROR_MSG_MAX + ERROR_FILE_MAX + 32];
			printf("error code=%d msg=%s\n", r, error_format(&err, msg, sizeof(msg)));
			failures++;
		} else {
			char sh[65], th[65] = "-";
			char exp[32];
			sigv4_sha256_hex(c.secret_access_key, strlen(c.secret_access_key), sh);
			sh[16] = '\0';
			if (c.session_token) {
				sigv4_sha256_hex(c.session_token, strlen(c.session_token), th);
				th[16] = '\0';
			}
			if (c.expiration)
				snprintf(exp, sizeof(exp), "%lld", (long long)(c.expiration - now));
			else
				snprintf(exp, sizeof(exp), "never");
			printf("ok source=%s akid=%s secret_sha256=%s token_sha256=%s expires_in=%s\n",
			       c.source, c.access_key_id, sh, th, exp);
		}
		fflush(stdout);
		pthread_mutex_unlock(&out_lock);
		aws_credentials_release(&c);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct aws_credentials_options opt = {0};
	struct error err = ERROR_INIT;
	long threads = 1;
	int region = 0;

	start_now = time(NULL);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!strcmp(a, "--region")) {
			region = 1;
			continue;
		}
		if (!v) {
			fprintf(stderr, "usage: see the comment at the top of aws_credentials_dump.c\n");
			return 2;
		}
		i++;
		if (!strcmp(a, "--profile"))
			opt.profile = v;
		else if (!strcmp(a, "--process-timeout-ms"))
			opt.process_timeout_ms = strtol(v, NULL, 10);
		else if (!strcmp(a, "--sts-endpoint"))
			opt.sts_endpoint = v;
		else if (!strcmp(a, "--now"))
			start_now = (time_t)strtoll(v, NULL, 10);
		else if (!strcmp(a, "--get"))
			n_gets = strtol(v, NULL, 10);
		else if (!strcmp(a, "--advance"))
			advance_s = strtol(v, NULL, 10);
		else if (!strcmp(a, "--at")) {
			char *e = (char *)v;
			for (n_at = 0; n_at < 64 && *e;) {
				at[n_at++] = strtol(e, &e, 10);
				if (*e == ',')
					e++;
			}
			n_gets = n_at;
		} else if (!strcmp(a, "--threads"))
			threads = strtol(v, NULL, 10);
		else {
			fprintf(stderr, "unknown option %s\n", a);
			return 2;
		}
	}
	if (threads < 1 || threads > 64 || n_gets < 1 || n_gets > 1000)
		return 2;
	if (region) {
		char *r = NULL;
		int rc = aws_region_resolve(opt.profile, &r, &err);
		if (rc < 0) {
			printf("error code=%d msg=%s\n", rc, err.msg);
			return 1;
		}
		printf("region=%s\n", r);
		free(r);
		return 0;
	}
	if (aws_credentials_provider_new(&provider, &opt, &err) < 0) {
		printf("error code=%d msg=%s\n", err.code, err.msg);
		return 1;
	}
	if (threads == 1) {
		run(NULL);
	} else {
		pthread_t t[64];
		for (long i = 0; i < threads; i++)
			pthread_create(&t[i], NULL, run, NULL);
		for (long i = 0; i < threads; i++)
			pthread_join(t[i], NULL);
	}
	aws_credentials_provider_free(provider);
	return failures ? 1 : 0;
}
