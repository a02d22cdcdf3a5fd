/*
 * test_manifest_ahead.c - files parsed ahead on a helper thread
 * (manifest_load_options.parse_threads, manifest/load_ahead.c) give exactly
 * the set of a load that parses each file in line: every function, file and
 * error, in the same order, for a snapshot with every kind of problem
 * (syntax errors, limits, duplicate keys, bad UTF-8, unreadable files,
 * missing zips, twice-declared functions, multi-document files).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/load.h"
#include "manifest/load_internal.h"
#include "tests/unit/harness.h"

#define N_FILES 300

struct snap {
	struct manifest_mem_file f[N_FILES + 64];
	char path[N_FILES + 64][64];
	char *data[N_FILES + 64];
	size_t n;
};

static void snap_add(struct snap *s, const char *path, const char *data, size_t len, bool symlink)
{
	REQUIRE(s->n < sizeof(s->f) / sizeof(s->f[0]));
	snprintf(s->path[s->n], sizeof(s->path[s->n]), "%s", path);
	s->data[s->n] = malloc(len + 1);
	REQUIRE(s->data[s->n]);
	memcpy(s->data[s->n], data, len);
	s->data[s->n][len] = '\0';
	s->f[s->n] = (struct manifest_mem_file){s->path[s->n], s->data[s->n], len, symlink};
	s->n++;
}

static void snap_free(struct snap *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->data[i]);
}

static const char good[] = "apiVersion: aliasd/v1\n"
                           "kind: Function\n"
                           "name: fn-%d\n"
                           "config: {runtime: python3.12, handler: app.handler, memorySize: 256}\n"
                           "releases:\n"
                           "  v1: {code: {zipFile: z/%d.zip}}\n"
                           "  v2: {code: {imageUri: \"r/x@sha256:%064d\"}}\n"
                           "aliases: {Prod: v1, Canary: {release: v1, weights: {v2: 0.1}}}\n";

/* File i: a good function, or one of the problems, by i % 16. */
static void make_file(struct snap *s, int i)
{
	char path[64], text[2048];
	int len;

	snprintf(path, sizeof(path), "fns/%03d/f%d.yaml", i / 50, i);
	len = snprintf(text, sizeof(text), good, i, i, i);
	switch (i % 16) {
	case 1: /* a tab */
		len = snprintf(text, sizeof(text), "apiVersion: aliasd/v1\nkind: Function\n\tname: x%d\n", i);
		break;
	case 2: /* duplicate keys, twice */
		len += snprintf(text + len, sizeof(text) - (size_t)len, "name: again\nkind: Function\n");
		break;
	case 3: /* invalid UTF-8 */
		text[40] = (char)0xff;
		break;
	case 4: /* a syntax error after a good document */
		len = snprintf(text, sizeof(text), good, i, i, i);
		len += snprintf(text + len, sizeof(text) - (size_t)len, "---\nname: [unclosed\n");
		break;
	case 5: /* declared twice: the function of the file before */
		len = snprintf(text, sizeof(text), good, i - 1, i, i);
		break;
	case 6: /* a missing zip and an unknown key */
		len = snprintf(text, sizeof(text), good, i, 100000 + i, i);
		len += snprintf(text + len, sizeof(text) - (size_t)len, "colour: blue\n");
		break;
	case 7: /* aliases: a billion laughs, stopped by the node limit */
		len = snprintf(text, sizeof(text),
		               "a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		               "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		               "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		               "d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		               "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n"
		               "f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n");
		break;
	case 8: /* cannot be read (failing_read) */
		snprintf(path, sizeof(path), "fns/%03d/unreadable%d.yaml", i / 50, i);
		break;
	case 9: /* empty documents and a good one */
		len = snprintf(text, sizeof(text), "---\n---\n");
		len += snprintf(text + len, sizeof(text) - (size_t)len, good, i, i, i);
		break;
	case 10: /* no name: the file is broken */
		len = snprintf(text, sizeof(text), "apiVersion: aliasd/v1\nkind: Function\n");
		break;
	default:
		break;
	}
	snap_add(s, path, text, (size_t)len, false);
}

static void make_snap(struct snap *s, int n)
{
	char path[64];

	memset(s, 0, sizeof(*s));
	for (int i = 0; i < n; i++)
		make_file(s, i);
	for (int i = 0; i < n; i += 7) {
		snprintf(path, sizeof(path), "z/%d.zip", i);
		snap_add(s, path, "PK zip", 6, false);
	}
	snap_add(s, ".github/ci.yaml", "on: push\n\tbad", 13, false); /* hidden: not read */
}

/* Everything a set says, as text: two sets are the same when their texts are. */
static void set_dump(const struct manifest_set *set, struct buf *out)
{
	buf_printf(out, "%zu functions %zu files %zu valid %zu releases %zu aliases %zu errors\n",
	           set->n_functions, set->n_files, set->n_valid, set->n_releases, set->n_aliases,
	           manifest_set_error_count(set));
	for (size_t i = 0; i < set->n_files; i++) {
		const struct manifest_file *f = &set->files[i];

		buf_printf(out, "file %s broken=%d docs=%zu errors=%zu\n", f->path, f->broken, f->n_documents,
		           f->n_errors);
	}
	for (size_t i = 0; i < set->n_functions; i++) {
		const struct manifest_function *f = &set->functions[i];

		buf_printf(out, "fn %s %s:%u:%u doc=%zu errors=%zu releases=%zu aliases=%zu\n", f->name,
		           f->file, f->line, f->col, (size_t)f->doc_index, f->n_errors, f->n_releases,
		           f->n_aliases);
		for (size_t k = 0; k < f->n_releases; k++)
			buf_printf(out, "  release %s kind=%d zip=%s sha=%s\n", f->releases[k].name,
			           (int)f->releases[k].code.kind,
			           f->releases[k].code.zip_path ? f->releases[k].code.zip_path : "-",
			           f->releases[k].code.sha256);
		for (size_t k = 0; k < f->n_aliases; k++)
			buf_printf(out, "  alias %s %u:%u\n", f->aliases[k].name, f->aliases[k].line,
			           f->aliases[k].col);
	}
	for (size_t i = 0; i < set->errors.len; i++) {
		const struct error *e = &set->errors.items[i];

		buf_printf(out, "error %s:%u:%u: %s\n", e->file, e->line, e->col, e->msg);
	}
}

/* A source whose reads of "unreadable*" files fail, as a disk's might. */
static const struct manifest_source_ops *mem_ops;
static struct manifest_source_ops failing_ops;

static int failing_read(struct manifest_source *src, const char *path, size_t max, struct buf *out,
                        struct error *err)
{
	if (strstr(path, "/unreadable"))
		return error_set(err, -EIO, "%s: Input/output error", path);
	return mem_ops->read(src, path, max, out, err);
}

static int open_snap(const struct snap *s, struct manifest_source **ret)
{
	struct error err = ERROR_INIT;
	int r = manifest_source_mem_open(ret, s->f, s->n, &err);

	if (r < 0)
		return r;
	mem_ops = (*ret)->ops;
	failing_ops = *mem_ops;
	failing_ops.read = failing_read;
	(*ret)->ops = &failing_ops;
	return 0;
}

static int load_dump(const struct snap *s, bool threads, struct buf *out)
{
	struct manifest_load_options lo = {.parse_threads = threads};
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct error err = ERROR_INIT;
	int r;

	r = open_snap(s, &src);
	if (r < 0)
		return r;
	r = manifest_load_with(&set, src, "", &lo, &err);
	if (r >= 0)
		set_dump(set, out);
	manifest_set_free(set);
	manifest_source_free(src);
	return r;
}

static bool two_cpus(void)
{
	cpu_set_t set;

	return sched_getaffinity(0, sizeof(set), &set) == 0 && CPU_COUNT(&set) >= 2;
}

TEST(ahead_same_set_as_in_line)
{
	struct snap s;
	struct buf in_line = BUF_INIT, ahead = BUF_INIT;

	make_snap(&s, N_FILES);
	REQUIRE(load_dump(&s, false, &in_line) == 0);
	/* the snapshot has what it should: every kind of problem */
	CHECK(strstr(in_line.ptr, "a tab: YAML indentation must use spaces") != NULL);
	CHECK(strstr(in_line.ptr, "duplicate key \"name\"") != NULL);
	CHECK(strstr(in_line.ptr, "invalid text") != NULL);
	CHECK(strstr(in_line.ptr, "too many YAML nodes") != NULL);
	CHECK(strstr(in_line.ptr, "cannot read") != NULL);
	CHECK(strstr(in_line.ptr, "does not exist in the repository") != NULL);
	CHECK(strstr(in_line.ptr, "declared") != NULL || strstr(in_line.ptr, "twice") != NULL);
	CHECK(strstr(in_line.ptr, "broken=1 docs=1") != NULL);
	CHECK(strstr(in_line.ptr, ".github") == NULL);
	/* many times: a race would show as a difference some time */
	for (int round = 0; round < 20; round++) {
		buf_reset(&ahead);
		REQUIRE(load_dump(&s, true, &ahead) == 0);
		CHECKF(ahead.len == in_line.len && !memcmp(ahead.ptr, in_line.ptr, in_line.len),
		       "round %d: the set differs from the in-line load", round);
		if (ahead.len != in_line.len || memcmp(ahead.ptr, in_line.ptr, in_line.len))
			break;
	}
	buf_release(&in_line);
	buf_release(&ahead);
	snap_free(&s);
}

TEST(ahead_few_files_and_subdirs)
{
	struct snap s;
	struct buf a = BUF_INIT, b = BUF_INIT;

	/* fewer files than a helper is started for, and around the window's size */
	for (int n = 1; n < 80; n += 13) {
		make_snap(&s, n);
		buf_reset(&a);
		buf_reset(&b);
		REQUIRE(load_dump(&s, false, &a) == 0);
		REQUIRE(load_dump(&s, true, &b) == 0);
		CHECKF(!strcmp(a.ptr, b.ptr), "%d files: the sets differ", n);
		snap_free(&s);
	}
	buf_release(&a);
	buf_release(&b);
}

/*
 * The helper itself: results in order, each as yaml_stream_parse() gives it,
 * also when the loader does not wait for the helper (it parses the file too).
 */
TEST(ahead_takes_in_order)
{
	struct yaml_limits lim = YAML_LIMITS_MANIFEST;
	struct manifest_source *src = NULL;
	struct load_ahead *a = NULL;
	const char *paths[N_FILES];
	struct snap s;
	size_t n = 0;

	make_snap(&s, N_FILES);
	for (size_t i = 0; i < s.n && n < N_FILES; i++)
		if (!strncmp(s.path[i], "fns/", 4))
			paths[n++] = s.path[i];
	REQUIRE(open_snap(&s, &src) == 0);
	if (!two_cpus()) {
		CHECK_INT(load_ahead_start(&a, src, paths, n), -EAGAIN);
		fprintf(stderr, "one CPU: the helper is not started (checked), nothing more to test\n");
		goto out;
	}
	REQUIRE(load_ahead_start(&a, src, paths, n) == 0);
	{
		struct load_parsed p;

		CHECK_INT(load_ahead_take(a, paths[1], &p), -EINVAL); /* not the next one */
	}
	for (size_t i = 0; i < n; i++) {
		if (i == n / 2)
			load_ahead_set_wait(a,
			                    0); /* from here the loader parses a file the helper is on too */
		struct load_parsed p;
		struct errlist want = {.max = LOAD_UNIT_ERRORS_MAX};
		struct yaml_stream *ws = NULL;
		struct buf data = BUF_INIT;
		struct error re = ERROR_INIT;
		int rr;

		REQUIRE(load_ahead_take(a, paths[i], &p) == 0);
		rr = manifest_source_read(src, paths[i], MANIFEST_FILE_MAX, &data, &re);
		CHECKF(p.read_r == rr, "%s: read %d, expected %d", paths[i], p.read_r, rr);
		if (rr < 0) {
			CHECK_STR(p.read_msg, re.msg);
			CHECK(p.stream == NULL);
		} else {
			REQUIRE(yaml_stream_parse(&ws, paths[i], data.ptr, data.len, &lim, &want) == 0);
			REQUIRE(p.parse_r == 0 && p.stream);
			CHECKF(p.stream->n_docs == ws->n_docs, "%s: %zu documents, expected %zu", paths[i],
			       p.stream->n_docs, ws->n_docs);
			CHECK_INT(p.stream->failed, ws->failed);
			CHECK_INT(errlist_count(&p.errs), errlist_count(&want));
			for (size_t k = 0; k < want.len && k < p.errs.len; k++)
				CHECK_STR(p.errs.items[k].msg, want.items[k].msg);
		}
		yaml_stream_free(ws);
		errlist_release(&want);
		buf_release(&data);
		load_parsed_release(&p);
	}
	{
		struct load_parsed p;

		CHECK_INT(load_ahead_take(a, "fns/none.yaml", &p), -EINVAL); /* past the end */
	}
out:
	load_ahead_stop(a);
	manifest_source_free(src);
	snap_free(&s);
}

/* Stopped early (a load that fails half way): the helper ends, nothing leaks (ASan). */
TEST(ahead_stop_early)
{
	struct manifest_source *src = NULL;
	const char *paths[N_FILES];
	struct snap s;
	size_t n = 0;

	if (!two_cpus())
		return;
	make_snap(&s, N_FILES);
	for (size_t i = 0; i < s.n && n < N_FILES; i++)
		if (!strncmp(s.path[i], "fns/", 4))
			paths[n++] = s.path[i];
	REQUIRE(open_snap(&s, &src) == 0);
	for (size_t stop_at = 0; stop_at < 40; stop_at += 9) {
		struct load_ahead *a = NULL;

		REQUIRE(load_ahead_start(&a, src, paths, n) == 0);
		load_ahead_set_wait(a, stop_at % 2 ? 0 : 100000);
		for (size_t i = 0; i < stop_at; i++) {
			struct load_parsed p;

			CHECK_INT(load_ahead_take(a, paths[i], &p), 0);
			load_parsed_release(&p);
		}
		load_ahead_stop(a);
	}
	manifest_source_free(src);
	snap_free(&s);
}

TEST_MAIN(ahead_same_set_as_in_line, ahead_few_files_and_subdirs, ahead_takes_in_order, ahead_stop_early)
