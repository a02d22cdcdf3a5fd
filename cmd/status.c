/*
 * status.c - `aliasd status`: what the running daemon reports on /status.
 */
#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/config.h"
#include "util/buf.h"
#include "util/file.h"
#include "util/log.h"
#include "util/parse.h"

#define STATUS_DEFAULT_URL "http://127.0.0.1:9410"
#define STATUS_MAX_BYTES   ((size_t)64 << 20)

static const char usage[] =
    "aliasd status [--json] [--url URL | -c FILE]\n"
    "\n"
    "Show what the running daemon reports: per function its sync state\n"
    "(Synced, OutOfSync, Progressing, Failed, Stalled), desired and actual\n"
    "aliases, the last applied and attempted commits and the last error with\n"
    "file:line (and its kind when Stalled).  A function whose newest manifest is\n"
    "broken shows its last good state and the manifest error beside it.  Names\n"
    "are escaped (\\n, \\xNN): one function, one line.  Per region in use,\n"
    "the Lambda code storage used against its limit (read at start and every\n"
    "resync).  With repository.verify, a trust: line says whether the last head\n"
    "checked was trusted, or why not.  An alias with a rollout has a line of its\n"
    "own: `rollout Prod: v1 \u2192 v2  50% (step 1/2) since 12:00:03` (UTC) while it\n"
    "progresses, `RolledBack: alarm errors is in ALARM` or `Succeeded` after.\n"
    "\n"
    "  --json       print the daemon's /status JSON as it is\n"
    "  --url URL    the daemon's HTTP endpoint (default " STATUS_DEFAULT_URL ",\n"
    "               server.listen in the configuration)\n"
    "  -c FILE      take the endpoint from server.listen of this configuration\n"
    "  -h, --help   this help\n"
    "\n"
    "Exit status: 0 the daemon answered, 1 it could not be reached or answered\n"
    "with an error, 64 usage error.\n";

static size_t collect(char *p, size_t sz, size_t n, void *ud)
{
	return buf_put(ud, p, sz * n) < 0 ? 0 : sz * n;
}

static const char *jstr(const cJSON *o, const char *key, const char *dflt)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) && v->valuestring ? v->valuestring : dflt;
}

static void short_rev(char out[16], const char *rev)
{
	snprintf(out, 16, "%.7s", rev && *rev ? rev : "-");
}

/* "Prod: v2 -> 2, Test: v1 -> 1" */
static void aliases_text(struct buf *out, const cJSON *fn)
{
	const cJSON *desired = cJSON_GetObjectItemCaseSensitive(fn, "desired");
	const cJSON *actual = cJSON_GetObjectItemCaseSensitive(fn, "actual");
	const cJSON *a;
	bool first = true;

	cJSON_ArrayForEach(a, desired)
	{
		const char *act = cJSON_IsObject(actual) ? jstr(actual, a->string, "none") : "?";

		buf_printf(out, "%s%s: %s -> %s", first ? "" : ", ", a->string,
		           cJSON_IsString(a) ? a->valuestring : "?", act);
		first = false;
	}
	if (first)
		buf_puts(out, "-");
}

/*
 * `s` as one line of text: names from a repository may hold newlines or
 * bytes that are not UTF-8 (util/log.h's escaping), never a fake table line.
 */
static const char *clean(struct buf *b, const char *s)
{
	buf_truncate(b, 0);
	if (log_escape(b, s ? s : "", true) < 0 || !b->ptr)
		return "?";
	return b->ptr;
}

/* "storage:" lines: each region's code storage against its limit (codeStorage of /status). */
static void print_storage(const cJSON *root, struct buf *t1, struct buf *t2)
{
	const cJSON *cs = cJSON_GetObjectItemCaseSensitive(root, "codeStorage"), *r;
	const char *label = "storage:   ";

	cJSON_ArrayForEach(r, cs)
	{
		const cJSON *used = cJSON_GetObjectItemCaseSensitive(r, "used");
		const cJSON *limit = cJSON_GetObjectItemCaseSensitive(r, "limit");
		const cJSON *pct = cJSON_GetObjectItemCaseSensitive(r, "percent");
		char u[SIZE_FORMAT_MAX], l[SIZE_FORMAT_MAX];

		if (!r->string)
			continue;
		if (cJSON_IsNumber(used) && cJSON_IsNumber(limit) && used->valuedouble >= 0 &&
		    limit->valuedouble >= 0) {
			printf("%s %s: %s of %s (%.1f%%)%s%s\n", label, clean(t1, r->string),
			       size_format((uint64_t)used->valuedouble, u, sizeof(u)),
			       size_format((uint64_t)limit->valuedouble, l, sizeof(l)),
			       cJSON_IsNumber(pct) ? pct->valuedouble : 0.0,
			       jstr(r, "error", NULL) ? "; last read failed: " : "",
			       clean(t2, jstr(r, "error", "")));
		} else {
			printf("%s %s: not read: %s\n", label, clean(t1, r->string),
			       clean(t2, jstr(r, "error", "?")));
		}
		label = "           ";
	}
}

/*
 * One line per alias with a rollout (the "rollout" of /status's aliases):
 *   rollout Prod: v1 → v2  50% (step 1/2) since 12:00:03
 *   rollout Prod: v1 → v2  RolledBack: alarm errors is in ALARM
 */
static void print_rollouts(const cJSON *fn, int wname, struct buf *t1, struct buf *t2)
{
	const cJSON *aliases = cJSON_GetObjectItemCaseSensitive(fn, "aliases"), *a;

	cJSON_ArrayForEach(a, aliases)
	{
		const cJSON *ro = cJSON_GetObjectItemCaseSensitive(a, "rollout");
		const cJSON *from = cJSON_GetObjectItemCaseSensitive(ro, "from");
		const cJSON *to = cJSON_GetObjectItemCaseSensitive(ro, "to");
		const cJSON *step = cJSON_GetObjectItemCaseSensitive(ro, "step");
		const cJSON *of = cJSON_GetObjectItemCaseSensitive(ro, "of");
		const cJSON *weight = cJSON_GetObjectItemCaseSensitive(ro, "weight");
		const char *state = jstr(ro, "state", "?"), *since = jstr(ro, "since", "");
		const char *reason = jstr(ro, "reason", NULL);
		char versions[64], clock[16] = "";

		if (!cJSON_IsObject(ro))
			continue;
		if (reason && !*reason)
			reason = NULL;
		if (cJSON_IsNumber(from) && from->valuedouble > 0)
			snprintf(versions, sizeof(versions), "v%.0f \u2192 v%.0f", from->valuedouble,
			         cJSON_IsNumber(to) ? to->valuedouble : 0.0);
		else
			snprintf(versions, sizeof(versions), "v%.0f",
			         cJSON_IsNumber(to) ? to->valuedouble : 0.0);
		if (strlen(since) >= 19) /* 2026-11-30T12:00:03Z: the time of day, UTC */
			snprintf(clock, sizeof(clock), " since %.8s", since + 11);
		printf("%-*s  rollout %s: %s  ", wname, "", clean(t1, jstr(a, "name", "?")), versions);
		if (!strcmp(state, "Progressing"))
			printf("%.0f%% (step %.0f/%.0f)%s%s%s\n",
			       cJSON_IsNumber(weight) ? weight->valuedouble * 100.0 : 0.0,
			       cJSON_IsNumber(step) ? step->valuedouble : 0.0,
			       cJSON_IsNumber(of) ? of->valuedouble : 0.0, clock, reason ? ": " : "",
			       clean(t2, reason ? reason : ""));
		else if (reason)
			printf("%s: %s\n", clean(t2, state), clean(t1, reason));
		else
			printf("%s%s\n", clean(t2, state), clock);
	}
}

static void print_table(const cJSON *root)
{
	const cJSON *fns = cJSON_GetObjectItemCaseSensitive(root, "functions");
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(root, "errors");
	const cJSON *git = cJSON_GetObjectItemCaseSensitive(root, "git");
	const cJSON *trust = cJSON_GetObjectItemCaseSensitive(root, "trust");
	const cJSON *fn, *e;
	struct buf t1 = BUF_INIT, t2 = BUF_INIT, t3 = BUF_INIT, t4 = BUF_INIT;
	char a[16], b[16], c[16];
	size_t wname = 8, wstate = 11;

	short_rev(a, jstr(root, "lastAppliedRevision", NULL));
	short_rev(b, jstr(root, "lastAttemptedRevision", NULL));
	short_rev(c, jstr(root, "remoteRevision", NULL));
	printf("repository: %s (ref %s, path %s)\n", clean(&t1, jstr(root, "repository", "?")),
	       clean(&t2, jstr(root, "ref", "?")),
	       *jstr(root, "path", "") ? clean(&t3, jstr(root, "path", "")) : "/");
	printf("revision:   applied %s, attempted %s, remote %s\n", clean(&t1, a), clean(&t2, b),
	       clean(&t3, c));
	printf("git:        %s\n",
	       clean(&t1, jstr(git, "error", NULL) ? jstr(git, "error", "") : jstr(git, "state", "?")));
	if (trust) /* repository.verify: the last head checked */
		printf("trust:      %s%s%s\n", clean(&t1, jstr(trust, "state", "?")),
		       jstr(trust, "reason", NULL) ? ": " : "", clean(&t2, jstr(trust, "reason", "")));
	print_storage(root, &t1, &t2);
	if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "ready")))
		printf("state:      starting (no manifests loaded yet)\n");
	cJSON_ArrayForEach(fn, fns)
	{
		size_t n = strlen(clean(&t1, jstr(fn, "name", "")));

		if (n > wname)
			wname = n;
	}
	if (wname > 64)
		wname = 64;
	printf("\n%-*s  %-*s  %-7s  %s\n", (int)wname, "FUNCTION", (int)wstate, "STATE", "APPLIED",
	       "ALIASES (desired -> actual)");
	cJSON_ArrayForEach(fn, fns)
	{
		struct buf al = BUF_INIT;
		const char *merr = jstr(fn, "manifestError", NULL);
		const char *rerr = jstr(fn, "reconcileError", NULL);
		const char *state = jstr(fn, "state", "?");

		aliases_text(&al, fn);
		short_rev(a, jstr(fn, "lastAppliedRevision", NULL));
		printf("%-*s  %-*s  %-7s  %s\n", (int)wname, clean(&t1, jstr(fn, "name", "?")), (int)wstate,
		       clean(&t2, state), clean(&t3, a), clean(&t4, al.ptr ? al.ptr : ""));
		if (merr && cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(fn, "keptLastGood")))
			printf("%-*s  manifest error, last good state kept: %s\n", (int)wname, "",
			       clean(&t1, merr));
		else if (merr)
			printf("%-*s  error: %s\n", (int)wname, "", clean(&t1, merr));
		if (rerr && !strcmp(state, "Stalled"))
			printf("%-*s  stalled (%s, not retried until the manifest or config changes): %s\n",
			       (int)wname, "", clean(&t2, jstr(fn, "errorKind", "?")), clean(&t1, rerr));
		else if (rerr)
			printf("%-*s  error: %s\n", (int)wname, "", clean(&t1, rerr));
		print_rollouts(fn, (int)wname, &t1, &t2);
		buf_release(&al);
	}
	if (cJSON_GetArraySize(errs) > 0) {
		printf("\nmanifest errors in %s:\n", b);
		cJSON_ArrayForEach(e, errs)
		{
			if (cJSON_IsString(e))
				printf("  %s\n", clean(&t1, e->valuestring));
		}
	}
	buf_release(&t1);
	buf_release(&t2);
	buf_release(&t3);
	buf_release(&t4);
}

/* "http://HOST:PORT" from server.listen of a config file (secrets not read). */
static int listen_url(const char *path, struct buf *url)
{
	struct errlist errs = ERRLIST_INIT;
	struct error e = ERROR_INIT;
	struct config *c = NULL;
	struct buf text = BUF_INIT_CAP(CONFIG_FILE_MAX);
	char line[ERROR_MSG_MAX + ERROR_FILE_MAX + 32];
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		r = -errno;
		fprintf(stderr, "aliasd status: %s: %s\n", path, strerror(-r));
		return r;
	}
	r = file_read_fd(&text, fd, CONFIG_FILE_MAX, path, &e);
	close(fd);
	if (r < 0) {
		fprintf(stderr, "aliasd status: %s\n", e.msg);
		goto out;
	}
	r = -EINVAL;
	if (config_parse(&c, path, text.ptr, text.len, &errs) < 0) {
		for (size_t i = 0; i < errs.len; i++)
			fprintf(stderr, "%s\n", error_format(&errs.items[i], line, sizeof(line)));
	} else if (!c->listen) {
		fprintf(stderr, "aliasd status: %s: server.listen is off: no HTTP endpoint\n", path);
	} else {
		const char *host = c->listen_host;

		if (!strcmp(host, "0.0.0.0"))
			host = "127.0.0.1";
		else if (!strcmp(host, "::"))
			host = "::1";
		buf_printf(url, strchr(host, ':') ? "http://[%s]:%u" : "http://%s:%u", host, c->listen_port);
		r = 0;
	}
out:
	config_free(c);
	errlist_release(&errs);
	buf_release(&text);
	return r;
}

int cmd_status(int argc, char **argv)
{
	static const struct option longopts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"url", required_argument, NULL, 'u'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	const char *base = STATUS_DEFAULT_URL, *config_path = NULL;
	struct buf body = BUF_INIT_CAP(STATUS_MAX_BYTES), url = BUF_INIT;
	char curlerr[CURL_ERROR_SIZE] = "";
	cJSON *root = NULL; /* freed with cJSON_Delete */
	long code = 0;
	int json = 0, c, r = 1;
	CURL *h = NULL;
	CURLcode cr;

	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:hc:", longopts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'u':
			base = optarg;
			break;
		case 'c':
			config_path = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return cmd_usage_error("status", "option '%s' needs a value", argv[optind - 1]);
		default:
			return cmd_usage_error("status", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cmd_usage_error("status", "unexpected argument '%s'", argv[optind]);
	if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8))
		return cmd_usage_error("status", "--url must start with http:// or https://");
	if (config_path) {
		if (listen_url(config_path, &url) < 0)
			goto out;
	} else {
		buf_puts(&url, base);
	}
	while (url.len && url.ptr[url.len - 1] == '/')
		buf_truncate(&url, url.len - 1);
	buf_puts(&url, "/status");

	h = curl_easy_init();
	if (!h) {
		fprintf(stderr, "aliasd status: cannot initialise libcurl\n");
		goto out;
	}
	curl_easy_setopt(h, CURLOPT_URL, url.ptr);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curlerr);
	cr = curl_easy_perform(h);
	if (cr != CURLE_OK) {
		fprintf(stderr, "aliasd status: %s: %s (is the daemon running? see --url)\n", url.ptr,
		        curlerr[0] ? curlerr : curl_easy_strerror(cr));
		goto out;
	}
	curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
	if (code != 200) {
		fprintf(stderr, "aliasd status: %s: HTTP %ld: %s\n", url.ptr, code, body.ptr);
		goto out;
	}
	if (json) {
		fputs(body.ptr, stdout);
		if (body.len && body.ptr[body.len - 1] != '\n')
			putchar('\n');
		r = 0;
		goto out;
	}
	root = cJSON_ParseWithLength(body.ptr, body.len);
	if (!cJSON_IsObject(root)) {
		fprintf(stderr, "aliasd status: %s: the answer is not a JSON object\n", url.ptr);
		goto out;
	}
	print_table(root);
	r = 0;
out:
	cJSON_Delete(root);
	if (h)
		curl_easy_cleanup(h);
	buf_release(&body);
	buf_release(&url);
	return r;
}
