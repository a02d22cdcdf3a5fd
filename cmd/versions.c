/*
 * versions.c - `aliasd versions FUNCTION`: every published version, the
 * release and commit it was published from, and the aliases on it.
 */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/client.h"
#include "aws/lambda.h"
#include "cmd/cmd.h"
#include "manifest/source.h"
#include "util/log.h"
#include "util/parse.h"

static const char usage[] =
    "usage: aliasd versions FUNCTION [--json] [--region REGION]\n"
    "\n"
    "List the published versions of a Lambda function, newest last: version\n"
    "number, the release and commit aliasd published it from (parsed from the\n"
    "version description, written as 'RELEASE @COMMIT: description'), its\n"
    "CodeSha256, its code size (CodeSize), when it was last modified, and the\n"
    "aliases that route traffic to it, with weights (e.g. 'Canary -> 4 (90%)\n"
    "+ 5 (10%)').  Then the function's total code size: what its versions and\n"
    "$LATEST count against the region's code storage limit (see 'aliasd status').\n"
    "\n"
    "FUNCTION is a function name or ARN.\n"
    "\n"
    "Options:\n"
    "  --json           print JSON instead of a table\n"
    "  --region REGION  AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile)\n"
    "  -h, --help       show this help\n"
    "\n"
    "Credentials, region and endpoint follow the AWS SDK conventions (AWS_PROFILE,\n"
    "AWS_ACCESS_KEY_ID, ~/.aws/config, AWS_ENDPOINT_URL_LAMBDA, AWS_MAX_ATTEMPTS...).\n"
    "\n"
    "Exit status: 0 success, 1 failure (function not found, no credentials, AWS\n"
    "error), 64 usage error.\n";

/* "RELEASE @COMMIT: description" (also "RELEASE @COMMIT"). */
struct trace {
	char release[65];
	char commit[MANIFEST_OID_HEX_SIZE];
	const char *description; /* points into the original */
};

static void trace_parse(const char *desc, struct trace *t)
{
	const char *sp, *c, *end;
	size_t rlen, clen;

	memset(t, 0, sizeof(*t));
	t->description = desc ? desc : "";
	if (!desc)
		return;
	sp = strstr(desc, " @");
	if (!sp)
		return;
	rlen = (size_t)(sp - desc);
	if (rlen == 0 || rlen >= sizeof(t->release))
		return;
	for (size_t i = 0; i < rlen; i++)
		if (isspace((unsigned char)desc[i]))
			return;
	c = sp + 2;
	end = c;
	while (isxdigit((unsigned char)*end))
		end++;
	clen = (size_t)(end - c);
	if (clen < 7 || clen >= sizeof(t->commit))
		return;
	if (*end == ':')
		t->description = end[1] == ' ' ? end + 2 : end + 1;
	else if (*end == '\0')
		t->description = end;
	else
		return;
	memcpy(t->release, desc, rlen);
	memcpy(t->commit, c, clen);
}

static int version_cmp(const void *a, const void *b)
{
	const struct lambda_function_config *x = a, *y = b;
	unsigned long long vx = strtoull(x->version, NULL, 10), vy = strtoull(y->version, NULL, 10);

	return vx < vy ? -1 : vx > vy;
}

/* Percent with up to two decimals, no trailing zeros: 90, 12.5, 0.25. */
static void percent(double w, char *out, size_t size)
{
	char *p;

	snprintf(out, size, "%.2f", w * 100.0);
	p = strchr(out, '.');
	if (p) {
		char *e = out + strlen(out) - 1;

		while (e > p && *e == '0')
			*e-- = '\0';
		if (e == p)
			*e = '\0';
	}
}

/* "4 (90%) + 5 (10%)" or "4". */
static void routing_text(const struct lambda_alias *a, struct buf *out)
{
	double rest = 1.0;
	char pct[32];

	if (!a->n_weights) {
		buf_puts(out, a->function_version);
		return;
	}
	for (size_t i = 0; i < a->n_weights; i++)
		rest -= a->weights[i].weight;
	percent(rest < 0 ? 0 : rest, pct, sizeof(pct));
	buf_printf(out, "%s (%s%%)", a->function_version, pct);
	for (size_t i = 0; i < a->n_weights; i++) {
		percent(a->weights[i].weight, pct, sizeof(pct));
		buf_printf(out, " + %s (%s%%)", a->weights[i].version, pct);
	}
}

/* The share of a's traffic that goes to `version`; false if none does. */
static bool alias_share(const struct lambda_alias *a, const char *version, double *ret)
{
	double extra = 0;

	if (!strcmp(a->function_version, version)) {
		for (size_t k = 0; k < a->n_weights; k++)
			extra += a->weights[k].weight;
		*ret = 1.0 - extra;
		return true;
	}
	for (size_t k = 0; k < a->n_weights; k++)
		if (!strcmp(a->weights[k].version, version)) {
			*ret = a->weights[k].weight;
			return true;
		}
	return false;
}

/* Aliases routing to `version`, as "Prod, Canary (10%)". */
static void aliases_on(const struct lambda_alias_list *al, const char *version, struct buf *out)
{
	char pct[32];
	double share;

	for (size_t i = 0; i < al->n; i++) {
		const struct lambda_alias *a = &al->items[i];

		if (!alias_share(a, version, &share))
			continue;
		if (out->len)
			buf_puts(out, ", ");
		buf_puts(out, a->name);
		if (a->n_weights) {
			percent(share < 0 ? 0 : share, pct, sizeof(pct));
			buf_printf(out, " (%s%%)", pct);
		}
	}
}

static int width(const char *s)
{
	/* display width: count UTF-8 code points */
	int n = 0;

	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++)
		if ((*p & 0xc0) != 0x80)
			n++;
	return n;
}

static void pad(const char *s, int w, bool last)
{
	fputs(s, stdout);
	if (!last)
		for (int i = width(s); i < w + 2; i++)
			fputc(' ', stdout);
}

/* Printable copy: control characters become spaces (descriptions come from anyone). */
static char *clean(const char *s)
{
	char *d = strdup(s ? s : "");

	for (unsigned char *p = (unsigned char *)d; p && *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
	return d;
}

#define NCOL 8

/* Bytes of code stored for the function: published versions and $LATEST. */
struct code_total {
	uint64_t published, latest;
};

static struct code_total code_total(const struct lambda_config_list *vl)
{
	struct code_total t = {0, 0};

	for (size_t i = 0; i < vl->n; i++) {
		const struct lambda_function_config *v = &vl->items[i];
		uint64_t n = v->code_size > 0 ? (uint64_t)v->code_size : 0;

		if (!v->version || !strcmp(v->version, "$LATEST"))
			t.latest += n;
		else
			t.published += n;
	}
	return t;
}

static void print_table(const char *fn, const struct lambda_config_list *vl,
                        const struct lambda_alias_list *al)
{
	static const char *const head[NCOL] = {"VERSION",     "RELEASE", "COMMIT",  "LAST MODIFIED",
	                                       "CODE SHA256", "SIZE",    "ALIASES", "DESCRIPTION"};
	struct code_total total = code_total(vl);
	char sz[SIZE_FORMAT_MAX], pub[SIZE_FORMAT_MAX], latest[SIZE_FORMAT_MAX];
	int w[NCOL];
	size_t rows = 0;
	char ***cells = calloc(vl->n ? vl->n : 1, sizeof(char **));

	if (!cells)
		return;
	for (int k = 0; k < NCOL; k++)
		w[k] = width(head[k]);
	for (size_t i = 0; i < vl->n; i++) {
		const struct lambda_function_config *v = &vl->items[i];
		struct buf on = BUF_INIT;
		struct trace t;

		if (!v->version || !strcmp(v->version, "$LATEST"))
			continue;
		cells[rows] = calloc(NCOL, sizeof(char *));
		if (!cells[rows])
			break;
		trace_parse(v->description, &t);
		aliases_on(al, v->version, &on);
		cells[rows][0] = clean(v->version);
		cells[rows][1] = clean(*t.release ? t.release : "-");
		cells[rows][2] = clean(*t.commit ? t.commit : "-");
		cells[rows][3] = clean(v->last_modified ? v->last_modified : "-");
		cells[rows][4] = clean(v->code_sha256 ? v->code_sha256 : "-");
		cells[rows][5] =
		    clean(size_format(v->code_size > 0 ? (uint64_t)v->code_size : 0, sz, sizeof(sz)));
		cells[rows][6] = clean(on.len ? on.ptr : "-");
		cells[rows][7] = clean(*t.description ? t.description : "");
		buf_release(&on);
		for (int k = 0; k < NCOL; k++)
			if (cells[rows][k] && width(cells[rows][k]) > w[k])
				w[k] = width(cells[rows][k]);
		rows++;
	}
	printf("%s: %zu published %s\n\n", fn, rows, rows == 1 ? "version" : "versions");
	if (rows) {
		for (int k = 0; k < NCOL; k++)
			pad(head[k], w[k], k == NCOL - 1);
		fputc('\n', stdout);
		for (size_t r = 0; r < rows; r++) {
			for (int k = 0; k < NCOL; k++)
				pad(cells[r][k] ? cells[r][k] : "", w[k], k == NCOL - 1);
			fputc('\n', stdout);
		}
	}
	for (size_t r = 0; r < rows; r++) {
		for (int k = 0; k < NCOL; k++)
			free(cells[r][k]);
		free(cells[r]);
	}
	free(cells);
	printf("%stotal code size: %s (published versions %s + $LATEST %s)\n", rows ? "\n" : "",
	       size_format(total.published + total.latest, sz, sizeof(sz)),
	       size_format(total.published, pub, sizeof(pub)),
	       size_format(total.latest, latest, sizeof(latest)));

	if (al->n) {
		int aw = 0;

		printf("\nALIASES\n");
		for (size_t i = 0; i < al->n; i++)
			if (width(al->items[i].name) > aw)
				aw = width(al->items[i].name);
		for (size_t i = 0; i < al->n; i++) {
			struct buf route = BUF_INIT;
			char *name = clean(al->items[i].name);

			routing_text(&al->items[i], &route);
			printf("  ");
			pad(name ? name : "", aw, false);
			printf("→ %s\n", route.ptr);
			buf_release(&route);
			free(name);
		}
	}
}

static cJSON *to_json(const char *fn, const char *region, const struct lambda_config_list *vl,
                      const struct lambda_alias_list *al)
{
	cJSON *root = cJSON_CreateObject(), *versions, *aliases;
	struct code_total total = code_total(vl);

	if (!root)
		return NULL;
	cJSON_AddStringToObject(root, "function", fn);
	cJSON_AddStringToObject(root, "region", region);
	/* bytes: what the function stores in all (versions + $LATEST), and the two parts */
	cJSON_AddNumberToObject(root, "totalCodeSize", (double)(total.published + total.latest));
	cJSON_AddNumberToObject(root, "publishedCodeSize", (double)total.published);
	cJSON_AddNumberToObject(root, "latestCodeSize", (double)total.latest);
	versions = cJSON_AddArrayToObject(root, "versions");
	aliases = cJSON_AddArrayToObject(root, "aliases");
	if (!versions || !aliases) {
		cJSON_Delete(root);
		return NULL;
	}
	for (size_t i = 0; i < vl->n; i++) {
		const struct lambda_function_config *v = &vl->items[i];
		cJSON *o, *on;
		struct trace t;

		if (!v->version || !strcmp(v->version, "$LATEST"))
			continue;
		o = cJSON_CreateObject();
		if (!o || !cJSON_AddItemToArray(versions, o)) {
			cJSON_Delete(o);
			cJSON_Delete(root);
			return NULL;
		}
		trace_parse(v->description, &t);
		cJSON_AddStringToObject(o, "version", v->version);
		if (*t.release) {
			cJSON_AddStringToObject(o, "release", t.release);
			cJSON_AddStringToObject(o, "commit", t.commit);
		} else {
			cJSON_AddNullToObject(o, "release");
			cJSON_AddNullToObject(o, "commit");
		}
		cJSON_AddStringToObject(o, "description", t.description);
		cJSON_AddStringToObject(o, "rawDescription", v->description ? v->description : "");
		cJSON_AddStringToObject(o, "codeSha256", v->code_sha256 ? v->code_sha256 : "");
		cJSON_AddNumberToObject(o, "codeSize", (double)v->code_size);
		cJSON_AddStringToObject(o, "lastModified", v->last_modified ? v->last_modified : "");
		on = cJSON_AddArrayToObject(o, "aliases");
		for (size_t k = 0; on && k < al->n; k++) {
			double share;
			cJSON *x;

			if (!alias_share(&al->items[k], v->version, &share))
				continue;
			x = cJSON_CreateObject();
			cJSON_AddStringToObject(x, "name", al->items[k].name);
			cJSON_AddNumberToObject(x, "weight", share);
			if (!cJSON_AddItemToArray(on, x))
				cJSON_Delete(x);
		}
	}
	for (size_t i = 0; i < al->n; i++) {
		cJSON *a = lambda_alias_to_json(&al->items[i]);

		if (!a || !cJSON_AddItemToArray(aliases, a)) {
			cJSON_Delete(a);
			cJSON_Delete(root);
			return NULL;
		}
	}
	return root;
}

int cmd_versions(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"region", required_argument, NULL, 'r'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct aws_client_options copt = {0};
	struct aws_client *client = NULL;
	struct aws_error aerr = AWS_ERROR_INIT;
	struct error err = ERROR_INIT;
	struct lambda_config_list vl = {0};
	struct lambda_alias_list al = {0};
	bool json = false;
	const char *fn;
	int c, r, ret = 1;

	if (cmd_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	optind = 1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = true;
			break;
		case 'r':
			if (!*optarg)
				return cmd_usage_error("versions", "--region needs a value");
			copt.region = optarg;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		case ':':
			return cmd_usage_error("versions", "option '%s' needs a value", argv[optind - 1]);
		default:
			return cmd_usage_error("versions", "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cmd_usage_error("versions", "expects a FUNCTION name or ARN");
	if (argc - optind > 1)
		return cmd_usage_error("versions", "expects one FUNCTION, got %d arguments", argc - optind);
	fn = argv[optind];
	if (!*fn)
		return cmd_usage_error("versions", "FUNCTION is empty");

	r = aws_client_new(&client, &copt, &err);
	if (r < 0) {
		fprintf(stderr, "aliasd versions: %s\n", err.msg);
		goto out;
	}
	log_event(LOG_DEBUG, "listing versions", "function", fn, "region", aws_client_region(client),
	          "endpoint", aws_client_endpoint(client), NULL);
	r = lambda_versions_list(client, fn, &vl, &aerr);
	if (r == 0)
		r = lambda_aliases_list(client, fn, NULL, &al, &aerr);
	if (r < 0) {
		if (error_kind_of(&aerr.err) == ERROR_KIND_NOT_FOUND)
			fprintf(stderr, "aliasd versions: function '%s' not found in %s%s%s\n", fn,
			        aws_client_region(client), *aerr.message ? ": " : "", aerr.message);
		else
			fprintf(stderr, "aliasd versions: %s\n", aerr.err.msg);
		goto out;
	}
	/* published versions in numeric order ($LATEST first, skipped when printing) */
	{
		size_t start = 0;

		while (start < vl.n &&
		       (!vl.items[start].version || !strcmp(vl.items[start].version, "$LATEST")))
			start++;
		for (size_t i = start; i < vl.n; i++)
			if (!vl.items[i].version || !strcmp(vl.items[i].version, "$LATEST")) {
				struct lambda_function_config tmp = vl.items[i];

				vl.items[i] = vl.items[start];
				vl.items[start++] = tmp;
			}
		if (vl.n > start)
			qsort(vl.items + start, vl.n - start, sizeof(vl.items[0]), version_cmp);
	}
	{
		char n[32], p[32];

		snprintf(n, sizeof(n), "%zu", vl.n);
		snprintf(p, sizeof(p), "%u", vl.pages);
		log_event(LOG_DEBUG, "versions listed", "function", fn, "count", n, "pages", p, NULL);
	}
	if (json) {
		cJSON *j = to_json(fn, aws_client_region(client), &vl, &al);
		char *s = j ? cJSON_Print(j) : NULL;

		cJSON_Delete(j);
		if (!s) {
			fprintf(stderr, "aliasd versions: out of memory\n");
			goto out;
		}
		printf("%s\n", s);
		free(s);
	} else {
		print_table(fn, &vl, &al);
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, "aliasd versions: writing the output failed\n");
		goto out;
	}
	ret = 0;
out:
	lambda_config_list_release(&vl);
	lambda_alias_list_release(&al);
	aws_client_free(client);
	return ret;
}
