/*
 * Unit tests for manifest/dir.c: a folder as a manifest source.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "manifest/source.h"
#include "tests/unit/harness.h"

static char root[256];

static void put(const char *rel, const char *content)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	REQUIRE(f);
	fputs(content, f);
	fclose(f);
}

static void mk(const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	REQUIRE(mkdir(path, 0755) == 0);
}

static void lnk(const char *target, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	REQUIRE(symlink(target, path) == 0);
}

static void rm_rf(const char *dir)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cleanup of %s failed\n", dir);
}

static struct manifest_source *fixture(void)
{
	struct manifest_source *src = NULL;
	struct error err = ERROR_INIT;

	snprintf(root, sizeof(root), "/tmp/aliasd-test-dir-XXXXXX");
	REQUIRE(mkdtemp(root));
	mk("b");
	mk("b/c");
	mk(".git");
	mk("real");
	put("z.yaml", "z: 1\n");
	put("a.yml", "a: 1\n");
	put("b/c/d.yaml", "d: 1\n");
	put("b/notes.txt", "x\n");
	put(".git/config.yaml", "no: 1\n");
	put("real/x.yaml", "x: 1\n");
	put("real/x.zip", "PK");
	lnk("real", "linkdir");
	lnk("z.yaml", "link.yaml");
	lnk("/etc/passwd", "escape.zip");
	REQUIRE(manifest_source_dir_open(&src, root, &err) == 0);
	return src;
}

TEST(dir_path_valid)
{
	static const struct {
		const char *p;
		int ok;
	} cases[] = {
	    {"", 1},     {"a", 1}, {"a/b.zip", 1}, {".hidden/x", 1}, {"a..b", 1}, {"/a", 0},  {"a/", 0},
	    {"a//b", 0}, {".", 0}, {"..", 0},      {"a/../b", 0},    {"./a", 0},  {"a/.", 0},
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		CHECKF(manifest_path_valid(cases[i].p) == cases[i].ok, "\"%s\" should be %s", cases[i].p,
		       cases[i].ok ? "valid" : "invalid");
	CHECK(!manifest_path_valid(NULL));
}

TEST(dir_list_sorted_no_symlinks)
{
	struct manifest_source *src = fixture();
	struct error err = ERROR_INIT;
	char **paths = NULL;
	size_t n = 0;

	REQUIRE(manifest_source_list(src, "", &paths, &n, &err) == 0);
	REQUIRE(n == 4);
	CHECK_STR(paths[0], "a.yml");
	CHECK_STR(paths[1], "b/c/d.yaml");
	CHECK_STR(paths[2], "real/x.yaml");
	CHECK_STR(paths[3], "z.yaml");
	manifest_paths_free(paths, n);
	REQUIRE(manifest_source_list(src, "b", &paths, &n, &err) == 0);
	REQUIRE(n == 1);
	CHECK_STR(paths[0], "b/c/d.yaml");
	manifest_paths_free(paths, n);
	CHECK_INT(manifest_source_list(src, "nope", &paths, &n, &err), -ENOENT);
	CHECK_INT(manifest_source_list(src, "linkdir", &paths, &n, &err), -ENOENT);
	CHECK_INT(manifest_source_list(src, "../", &paths, &n, &err), -EINVAL);
	manifest_source_free(src);
	rm_rf(root);
}

TEST(dir_stat_types)
{
	static const struct {
		const char *p;
		enum source_type t;
		uint64_t size;
	} cases[] = {
	    {"", SOURCE_DIR, 0},
	    {"b", SOURCE_DIR, 0},
	    {"real/x.zip", SOURCE_FILE, 2},
	    {"link.yaml", SOURCE_SYMLINK, 0},
	    {"escape.zip", SOURCE_SYMLINK, 0},
	    {"linkdir/x.zip", SOURCE_SYMLINK, 0}, /* behind a symlinked folder */
	    {"missing.zip", SOURCE_MISSING, 0},
	    {"z.yaml/x", SOURCE_MISSING, 0},
	};
	struct manifest_source *src = fixture();
	struct error err = ERROR_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		enum source_type t = SOURCE_OTHER;
		uint64_t size = 99;

		CHECKF(manifest_source_stat(src, cases[i].p, &t, &size, &err) == 0, "%s: %s", cases[i].p,
		       err.msg);
		CHECKF(t == cases[i].t, "%s: type %d, expected %d", cases[i].p, (int)t, (int)cases[i].t);
		CHECKF(size == cases[i].size, "%s: size %llu", cases[i].p, (unsigned long long)size);
	}
	{
		enum source_type t;
		uint64_t size;
		CHECK_INT(manifest_source_stat(src, "/etc/passwd", &t, &size, &err), -EINVAL);
		CHECK_INT(manifest_source_stat(src, "b/../z.yaml", &t, &size, &err), -EINVAL);
	}
	manifest_source_free(src);
	rm_rf(root);
}

TEST(dir_read_rules)
{
	struct manifest_source *src = fixture();
	struct error err = ERROR_INIT;
	struct buf b = BUF_INIT;

	CHECK_INT(manifest_source_read(src, "b/c/d.yaml", 100, &b, &err), 0);
	CHECK_STR(b.ptr, "d: 1\n");
	CHECK_INT(manifest_source_read(src, "a.yml", 100, &b, &err), 0);
	CHECK_STR(b.ptr, "d: 1\na: 1\n"); /* appends */
	buf_reset(&b);
	CHECK_INT(manifest_source_read(src, "a.yml", 4, &b, &err), -E2BIG);
	CHECK_INT(b.len, 0);
	CHECK_INT(manifest_source_read(src, "link.yaml", 100, &b, &err), -ELOOP);
	CHECK_INT(manifest_source_read(src, "escape.zip", 100, &b, &err), -ELOOP);
	CHECK_INT(manifest_source_read(src, "linkdir/x.zip", 100, &b, &err), -ELOOP);
	CHECK_INT(manifest_source_read(src, "b", 100, &b, &err), -EISDIR);
	CHECK_INT(manifest_source_read(src, "nope", 100, &b, &err), -ENOENT);
	CHECK_INT(manifest_source_read(src, "../etc/passwd", 100, &b, &err), -EINVAL);
	CHECK_INT(b.len, 0);
	/* ->check: what a read would say, without the contents */
	{
		static const char *const paths[] = {
		    "b/c/d.yaml", "a.yml", "link.yaml",     "escape.zip", "linkdir/x.zip",
		    "b",          "nope",  "../etc/passwd", "real/x.zip", "z.yaml/x.zip"};

		REQUIRE(src->ops->check);
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			struct error rerr = ERROR_INIT, cerr = ERROR_INIT;
			uint64_t size = 99;
			int rr, cr;

			buf_reset(&b);
			rr = manifest_source_read(src, paths[i], 100, &b, &rerr);
			cr = src->ops->check(src, paths[i], 100, &size, &cerr);
			CHECKF(rr == cr, "%s: check %d, read %d", paths[i], cr, rr);
			if (cr == 0)
				CHECKF(size == b.len, "%s: size %llu", paths[i], (unsigned long long)size);
			else
				CHECK_STR(cerr.msg, rerr.msg);
		}
		CHECK_INT(src->ops->check(src, "a.yml", 4, &(uint64_t){0}, &err), -E2BIG);
		buf_reset(&b);
	}
	CHECK_STR(src->revision, "");
	CHECK_STR(src->description, root);
	buf_release(&b);
	manifest_source_free(src);
	rm_rf(root);
}

TEST(dir_open_errors)
{
	struct manifest_source *src = NULL;
	struct error err = ERROR_INIT;

	CHECK_INT(manifest_source_dir_open(&src, "/nonexistent/aliasd", &err), -ENOENT);
	CHECK(src == NULL);
	CHECK_INT(manifest_source_dir_open(&src, "/etc/passwd", &err), -ENOTDIR);
	CHECK(strstr(err.msg, "not a directory") != NULL);
}

/* Folders kept open (manifest/dir.c keeps 8): many folders, interleaved, from two threads. */
#define MANY_DIRS 20

static void *read_many(void *arg)
{
	struct manifest_source *src = arg;
	struct error err = ERROR_INIT;
	struct buf b = BUF_INIT;
	long bad = 0;

	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < MANY_DIRS; i++) {
			int k = (i * 7 + round) % MANY_DIRS;
			char path[64], want[64];
			enum source_type t;
			uint64_t size;

			snprintf(path, sizeof(path), "d%02d/sub/f.yaml", k);
			snprintf(want, sizeof(want), "f: %d\n", k);
			buf_reset(&b);
			if (manifest_source_read(src, path, 100, &b, &err) != 0 || strcmp(b.ptr, want))
				bad++;
			snprintf(path, sizeof(path), "d%02d/sub/missing.zip", k);
			if (manifest_source_stat(src, path, &t, &size, &err) != 0 || t != SOURCE_MISSING)
				bad++;
			snprintf(path, sizeof(path), "d%02d/f.yaml", k);
			if (manifest_source_stat(src, path, &t, &size, &err) != 0 || t != SOURCE_FILE)
				bad++;
		}
	}
	buf_release(&b);
	return (void *)bad;
}

TEST(dir_many_folders_kept_open)
{
	struct manifest_source *src = fixture();
	pthread_t th;
	void *bad_other = NULL, *bad_here;

	for (int i = 0; i < MANY_DIRS; i++) {
		char rel[64], content[32];

		snprintf(rel, sizeof(rel), "d%02d", i);
		mk(rel);
		snprintf(rel, sizeof(rel), "d%02d/sub", i);
		mk(rel);
		snprintf(rel, sizeof(rel), "d%02d/sub/f.yaml", i);
		snprintf(content, sizeof(content), "f: %d\n", i);
		put(rel, content);
		snprintf(rel, sizeof(rel), "d%02d/f.yaml", i);
		put(rel, content);
	}
	REQUIRE(pthread_create(&th, NULL, read_many, src) == 0);
	bad_here = read_many(src);
	REQUIRE(pthread_join(th, &bad_other) == 0);
	CHECK_INT((long)bad_here, 0);
	CHECK_INT((long)bad_other, 0);
	{
		/* a folder kept open still sees what changes in it */
		struct error err = ERROR_INIT;
		struct buf b = BUF_INIT;

		put("d03/sub/f.yaml", "changed: 1\n");
		CHECK_INT(manifest_source_read(src, "d03/sub/f.yaml", 100, &b, &err), 0);
		CHECK_STR(b.ptr, "changed: 1\n");
		lnk("/etc/passwd", "d03/sub/new.zip");
		CHECK_INT(manifest_source_read(src, "d03/sub/new.zip", 100, &b, &err), -ELOOP);
		buf_release(&b);
	}
	manifest_source_free(src);
	rm_rf(root);
}

TEST_MAIN(dir_path_valid, dir_list_sorted_no_symlinks, dir_stat_types, dir_read_rules, dir_open_errors,
          dir_many_folders_kept_open)
