/*
 * test_manifest_history.c - prune.keepHistory: parsing and bounds, and the
 * walk over a real Git repository's first-parent commits (built by the git
 * CLI in a temporary directory this binary creates and removes): what each
 * window holds, identity matching, zip hashes cached by blob id, a folder
 * without history.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/history.h"
#include "manifest/load.h"
#include "manifest/repo.h"
#include "tests/unit/harness.h"

static char tmp[256];

static void cleanup(void)
{
	char cmd[512];

	manifest_repo_global_shutdown();
	if (tmp[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmp);
	}
}

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[4096], full[4400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	snprintf(full, sizeof(full), "cd '%s' && ( %s ) >/dev/null 2>&1", tmp, cmd);
	return system(full);
}

/* ---- parsing ---- */

static struct manifest_set *load_text(const char *yaml)
{
	struct manifest_mem_file f = {"fn.yaml", yaml, strlen(yaml), false};
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct error err = ERROR_INIT;

	REQUIRE(manifest_source_mem_open(&src, &f, 1, &err) == 0);
	REQUIRE(manifest_load(&set, src, NULL, &err) == 0);
	manifest_source_free(src);
	return set;
}

#define DOC(prune)                                                                                           \
	"apiVersion: aliasd/v1\nkind: Function\nname: fn\nreleases:\n  r1:\n    version: 1\n"                \
	"aliases:\n  Prod: r1\nprune:\n" prune

TEST(keep_history_parses)
{
	struct manifest_set *set = load_text(DOC("  keepVersions: 1\n  keepHistory: 3\n"));

	CHECK_INT((int)manifest_set_error_count(set), 0);
	REQUIRE(set->n_functions == 1);
	CHECK_INT((int)set->functions[0].prune.keep_history, 3);
	CHECK_INT((int)set->functions[0].prune.keep_versions, 1);
	manifest_set_free(set);

	set = load_text(DOC("  keepVersions: 1\n  keepHistory: 100\n"));
	CHECK_INT((int)manifest_set_error_count(set), 0);
	CHECK_INT((int)set->functions[0].prune.keep_history, 100);
	manifest_set_free(set);

	set = load_text(DOC("  keepVersions: 1\n"));
	CHECK_INT((int)set->functions[0].prune.keep_history, 0);
	manifest_set_free(set);
}

TEST(keep_history_bounds)
{
	static const char *const bad[] = {"0", "101", "-1", "3.5", "many"};
	char line[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char doc[512];
		struct manifest_set *set;

		snprintf(doc, sizeof(doc), DOC("  keepVersions: 1\n  keepHistory: %s\n"), bad[i]);
		set = load_text(doc);
		CHECKF(manifest_set_error_count(set) == 1, "keepHistory: %s: %zu errors", bad[i],
		       manifest_set_error_count(set));
		if (set->errors.len) {
			error_format(&set->errors.items[0], line, sizeof(line));
			CHECKF(strstr(line, "fn.yaml:11:16: prune.keepHistory:") != NULL, "%s", line);
			if (i < 3)
				CHECKF(strstr(line, "between 1 and 100") != NULL, "%s", line);
		}
		CHECK_INT((int)set->functions[0].n_errors, 1);
		manifest_set_free(set);
	}
}

TEST(keep_history_needs_keep_versions)
{
	struct manifest_set *set = load_text(DOC("  aliases: true\n  keepHistory: 5\n"));
	char line[512];

	REQUIRE(manifest_set_error_count(set) == 1);
	error_format(&set->errors.items[0], line, sizeof(line));
	CHECKF(strstr(line, "fn.yaml:11:3: prune.keepHistory needs keepVersions") != NULL, "%s", line);
	CHECK_INT((int)set->functions[0].n_errors, 1);
	manifest_set_free(set);
}

/* ---- the walk ---- */

/*
 * bare.git: commits c1..c5; commit k declares only release rk of `fn`
 * (zip artifacts/rk.zip, created in that commit) with keepVersions 1 and
 * keepHistory 3, and function `other` (keepHistory 2) always with the same
 * zip common.zip.  c3 names fn by its ARN; c4 also declares `fn` in another
 * region (another function).
 */
static char heads[6][41];

static void setup_repo(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	setenv("GIT_AUTHOR_NAME", "Test", 1);
	setenv("GIT_AUTHOR_EMAIL", "t@example.com", 1);
	setenv("GIT_COMMITTER_NAME", "Test", 1);
	setenv("GIT_COMMITTER_EMAIL", "t@example.com", 1);
	setenv("GIT_CONFIG_NOSYSTEM", "1", 1);
	setenv("GIT_CONFIG_GLOBAL", "/dev/null", 1);
	snprintf(tmp, sizeof(tmp), "%s/aliasd-test-history-XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	REQUIRE(mkdtemp(tmp) != NULL);
	atexit(cleanup);
	REQUIRE(
	    sh("git init -q -b main work && mkdir -p work/artifacts && printf common > work/common.zip") ==
	    0);
	for (int k = 1; k <= 5; k++) {
		const char *name = k == 3 ? "arn:aws:lambda:us-east-1:123456789012:function:fn" : "fn";
		FILE *f;
		char path[512];

		REQUIRE(sh("printf zip%d > work/artifacts/r%d.zip", k, k) == 0);
		snprintf(path, sizeof(path), "%s/work/fn.yaml", tmp);
		f = fopen(path, "w");
		REQUIRE(f);
		fprintf(f,
		        "apiVersion: aliasd/v1\nkind: Function\nname: %s\nregion: us-east-1\n"
		        "config: {runtime: python3.12, handler: app.handler}\n"
		        "releases:\n  r%d:\n    code: {zipFile: artifacts/r%d.zip}\n"
		        "aliases:\n  Prod: r%d\nprune: {keepVersions: 1, keepHistory: 3}\n"
		        "---\napiVersion: aliasd/v1\nkind: Function\nname: other\nregion: us-east-1\n"
		        "releases:\n  o%d:\n    code: {zipFile: common.zip}\n"
		        "aliases:\n  Prod: o%d\nprune: {keepVersions: 1, keepHistory: 2}\n",
		        name, k, k, k, k, k);
		if (k == 4)
			fprintf(f, "---\napiVersion: aliasd/v1\nkind: Function\nname: fn\nregion: eu-west-1\n"
			           "releases:\n  eu:\n    version: 7\naliases:\n  Prod: eu\n");
		fclose(f);
		REQUIRE(sh("cd work && git add -A && git commit -q -m c%d", k) == 0);
		REQUIRE(sh("cd work && git rev-parse HEAD > ../head%d", k) == 0);
		snprintf(path, sizeof(path), "%s/head%d", tmp, k);
		f = fopen(path, "r");
		REQUIRE(f && fgets(heads[k], sizeof(heads[k]), f));
		fclose(f);
		heads[k][40] = '\0';
	}
	REQUIRE(sh("git clone -q --bare work bare.git") == 0);
}

static struct manifest_source *snapshot(struct manifest_repo **ret_repo, const char *oid)
{
	char url[512], state[512];
	struct manifest_repo_options opt = {0};
	struct manifest_source *src = NULL;
	struct error err = ERROR_INIT;
	char head[41];

	snprintf(url, sizeof(url), "%s/bare.git", tmp);
	snprintf(state, sizeof(state), "%s/state", tmp);
	opt.url = url;
	opt.state_dir = state;
	REQUIRE(manifest_repo_open(ret_repo, &opt, &err) == 0);
	REQUIRE(manifest_repo_fetch(*ret_repo, head, &err) >= 0);
	CHECK_STR(head, heads[5]);
	REQUIRE(manifest_repo_source(*ret_repo, oid, &src, &err) == 0);
	return src;
}

static const struct manifest_history_list *list_of(const struct manifest_history *h,
                                                   const struct manifest_set *set, const char *name)
{
	for (size_t i = 0; i < set->n_functions; i++)
		if (!strcmp(set->functions[i].name, name))
			return manifest_history_find(h, &set->functions[i]);
	return NULL;
}

TEST(history_window_and_identity)
{
	struct manifest_repo *repo = NULL;
	struct manifest_source *src;
	struct manifest_set *set = NULL;
	struct manifest_history *h = NULL;
	const struct manifest_history_list *l;
	struct error err = ERROR_INIT;
	char sha3[MANIFEST_SHA256_B64_SIZE];

	setup_repo();
	src = snapshot(&repo, heads[5]);
	REQUIRE(manifest_load(&set, src, NULL, &err) == 0);
	REQUIRE(manifest_set_error_count(set) == 0);
	REQUIRE(manifest_history_collect(&h, src, NULL, set, NULL, NULL, &err) == 0);
	CHECK(!h->no_history);
	CHECK_INT((int)h->commits, 3);
	l = list_of(h, set, "fn");
	REQUIRE(l);
	CHECK_INT((int)l->commits, 3);
	/* c5, c4 (its eu-west-1 twin is another function), c3 (by ARN): r5, r4, r3 */
	REQUIRE(l->n == 3);
	CHECK_STR(l->entries[0].release.name, "r5");
	CHECK_STR(l->entries[0].commit, heads[5]);
	CHECK_STR(l->entries[1].release.name, "r4");
	CHECK_STR(l->entries[1].commit, heads[4]);
	CHECK_STR(l->entries[2].release.name, "r3");
	CHECK_STR(l->entries[2].commit, heads[3]);
	manifest_sha256_base64("zip3", 4, sha3);
	CHECK_STR(l->entries[2].release.code.sha256, sha3);
	CHECK_INT((int)l->entries[2].release.code.kind, MANIFEST_CODE_ZIP);
	CHECK(l->entries[2].release.config.set & MANIFEST_CFG_RUNTIME);
	l = list_of(h, set, "other");
	REQUIRE(l);
	CHECK_INT((int)l->commits, 2);
	/* o5 and o4: the same zip and config, kept once (as the newest) */
	REQUIRE(l->n == 1);
	CHECK_STR(l->entries[0].release.name, "o5");
	CHECK_STR(l->entries[0].commit, heads[5]);
	manifest_history_free(h);
	manifest_set_free(set);
	manifest_source_free(src);

	/* at c2 the walk ends at the root commit */
	src = NULL;
	REQUIRE(manifest_repo_source(repo, heads[2], &src, &err) == 0);
	REQUIRE(manifest_load(&set, src, NULL, &err) == 0);
	REQUIRE(manifest_history_collect(&h, src, NULL, set, NULL, NULL, &err) == 0);
	CHECK_INT((int)h->commits, 2);
	l = list_of(h, set, "fn");
	REQUIRE(l && l->n == 2);
	CHECK_STR(l->entries[1].release.name, "r1");
	manifest_history_free(h);
	manifest_set_free(set);
	manifest_source_free(src);
	manifest_repo_free(repo);
}

static void count_progress(void *arg, unsigned commits)
{
	*(unsigned *)arg = commits;
}

TEST(history_hashes_each_zip_once)
{
	struct manifest_repo *repo = NULL;
	struct manifest_source *src;
	struct manifest_set *set = NULL;
	struct manifest_history *h = NULL;
	struct manifest_zip_cache *cache = NULL;
	struct manifest_load_options opt = {0};
	struct manifest_history_options hopt = {0};
	struct error err = ERROR_INIT;
	unsigned seen = 0;

	setup_repo();
	REQUIRE(manifest_zip_cache_new(&cache, 0) == 0);
	opt.zip_cache = cache;
	hopt.cache = cache;
	hopt.progress = count_progress;
	hopt.arg = &seen;
	src = snapshot(&repo, heads[5]);
	REQUIRE(manifest_load_with(&set, src, NULL, &opt, &err) == 0);
	CHECK_INT((int)manifest_zip_cache_puts(cache), 2); /* r5.zip, common.zip */
	REQUIRE(manifest_history_collect(&h, src, NULL, set, &opt, &hopt, &err) == 0);
	/* c4 and c3 add r4.zip and r3.zip; common.zip is the same blob: found */
	CHECK_INT((int)manifest_zip_cache_puts(cache), 4);
	CHECK_INT((int)manifest_zip_cache_hits(cache), 2);
	CHECK_INT((int)seen, 3); /* called after c4 (2 commits) and c3 (3): the last count */
	manifest_history_free(h);
	/* the next poll: nothing hashed again */
	REQUIRE(manifest_history_collect(&h, src, NULL, set, &opt, &hopt, &err) == 0);
	CHECK_INT((int)manifest_zip_cache_puts(cache), 4);
	CHECK_INT((int)manifest_zip_cache_hits(cache), 6);
	REQUIRE(list_of(h, set, "fn") && list_of(h, set, "fn")->n == 3);
	manifest_history_free(h);
	manifest_set_free(set);
	manifest_source_free(src);
	manifest_repo_free(repo);
	manifest_zip_cache_free(cache);
}

/* Two lists hold the same releases (names, hashes, commits) in the same order. */
static void same_list(const struct manifest_history_list *a, const struct manifest_history_list *b)
{
	REQUIRE(a && b);
	CHECK_INT((int)a->n, (int)b->n);
	CHECK_INT((int)a->commits, (int)b->commits);
	for (size_t k = 0; k < a->n && k < b->n; k++) {
		CHECK_STR(a->entries[k].release.name, b->entries[k].release.name);
		CHECK_STR(a->entries[k].release.code.sha256, b->entries[k].release.code.sha256);
		CHECK_STR(a->entries[k].commit, b->entries[k].commit);
	}
}

TEST(history_derives_from_the_parent_commits)
{
	struct manifest_repo *repo = NULL;
	struct manifest_source *src, *src4 = NULL;
	struct manifest_set *set = NULL, *set4 = NULL;
	struct manifest_history *full = NULL, *h4 = NULL, *h = NULL, *h3 = NULL;
	struct manifest_history_options hopt = {0};
	struct error err = ERROR_INIT;

	setup_repo();
	src = snapshot(&repo, heads[5]);
	REQUIRE(manifest_repo_source(repo, heads[4], &src4, &err) == 0);
	REQUIRE(manifest_load(&set, src, NULL, &err) == 0);
	REQUIRE(manifest_load(&set4, src4, NULL, &err) == 0);
	REQUIRE(manifest_history_collect(&full, src, NULL, set, NULL, NULL, &err) == 0);
	CHECK_INT((int)full->loaded, 2); /* c4, c3 */
	CHECK(!full->ended);
	REQUIRE(manifest_history_collect(&h4, src4, NULL, set4, NULL, NULL, &err) == 0);
	CHECK_INT((int)h4->loaded, 2); /* c3, c2 */

	/* c5 from c4's history: nothing older is loaded, the same result */
	hopt.prev = h4;
	manifest_set_free(set4); /* prev does not need its set */
	REQUIRE(manifest_history_collect(&h, src, NULL, set, NULL, &hopt, &err) == 0);
	CHECK_INT((int)h->loaded, 0);
	CHECK_INT((int)h->commits, 3);
	CHECK_STR(h->window[0], heads[5]);
	CHECK_STR(h->window[1], heads[4]);
	CHECK_STR(h->window[2], heads[3]);
	same_list(list_of(h, set, "fn"), list_of(full, set, "fn"));
	same_list(list_of(h, set, "other"), list_of(full, set, "other"));

	/* prev of another commit (not the parent): walked in full */
	hopt.prev = h;
	REQUIRE(manifest_history_collect(&h3, src, NULL, set, NULL, &hopt, &err) == 0);
	CHECK_INT((int)h3->loaded, 2);
	same_list(list_of(h3, set, "fn"), list_of(full, set, "fn"));
	/* shared by counting: one more owner, two frees */
	CHECK(manifest_history_ref(h3) == h3);
	manifest_history_free(h3);
	manifest_history_free(h3);
	manifest_history_free(h);
	manifest_history_free(h4);
	manifest_history_free(full);
	manifest_set_free(set);
	manifest_source_free(src4);
	manifest_source_free(src);
	manifest_repo_free(repo);
}

TEST(folder_has_no_history)
{
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct manifest_history *h = NULL;
	struct error err = ERROR_INIT;
	char dir[512];

	setup_repo();
	snprintf(dir, sizeof(dir), "%s/work", tmp);
	REQUIRE(manifest_source_dir_open(&src, dir, &err) == 0);
	REQUIRE(manifest_load(&set, src, NULL, &err) == 0);
	REQUIRE(manifest_history_collect(&h, src, NULL, set, NULL, NULL, &err) == 0);
	CHECK(h->no_history);
	CHECK(list_of(h, set, "fn") && list_of(h, set, "fn")->n == 0);
	manifest_history_free(h);
	manifest_set_free(set);
	manifest_source_free(src);
}

TEST(zip_cache_bounded)
{
	struct manifest_zip_cache *c = NULL;
	char id[41], sha[MANIFEST_SHA256_B64_SIZE];
	uint64_t size = 0;

	REQUIRE(manifest_zip_cache_new(&c, 4) == 0);
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "%040x", i);
		REQUIRE(manifest_zip_cache_put(c, id, (uint64_t)i, "sha") == 0);
		CHECK(manifest_zip_cache_get(c, id, &size, sha));
		CHECK_INT((int)size, i);
	}
	snprintf(id, sizeof(id), "%040x", 0);
	CHECK(!manifest_zip_cache_get(c, id, &size, sha)); /* started over */
	CHECK(!manifest_zip_cache_get(c, "not-an-id", &size, sha));
	manifest_zip_cache_free(c);
}

TEST_MAIN(keep_history_parses, keep_history_bounds, keep_history_needs_keep_versions,
          history_window_and_identity, history_hashes_each_zip_once, history_derives_from_the_parent_commits,
          folder_has_no_history, zip_cache_bounded)
