/*
 * test_manifest_reload.c - the parsed-file cache (manifest_load_options.
 * file_cache): a load that takes unchanged files from the cache gives the
 * same set as a cold load, field by field, for every kind of change between
 * two commits; a file taken from the cache is not read; and a shared unit
 * is never changed by the set-level checks of a load.
 *
 * A "commit" is an in-memory source with Git blob ids
 * (manifest_source_mem_open_blobs); every read of a manifest is counted.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "manifest/history.h"
#include "manifest/load.h"
#include "tests/unit/harness.h"

/* ---- a snapshot under test: up to 16 files, changed between loads ---- */

#define MAX_FILES 16

struct snap {
	struct manifest_mem_file f[MAX_FILES];
	char path[MAX_FILES][64];
	char data[MAX_FILES][1024];
	size_t n;
};

static void snap_put(struct snap *s, const char *path, const char *data)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (!strcmp(s->path[i], path))
			break;
	if (i == s->n) {
		if (s->n == MAX_FILES)
			abort();
		s->n++;
	}
	snprintf(s->path[i], sizeof(s->path[i]), "%s", path);
	snprintf(s->data[i], sizeof(s->data[i]), "%s", data);
	s->f[i] = (struct manifest_mem_file){s->path[i], s->data[i], strlen(s->data[i]), false};
}

static void snap_del(struct snap *s, const char *path)
{
	for (size_t i = 0; i < s->n; i++)
		if (!strcmp(s->path[i], path)) {
			for (size_t k = i + 1; k < s->n; k++) {
				memcpy(s->path[k - 1], s->path[k], sizeof(s->path[k]));
				memcpy(s->data[k - 1], s->data[k], sizeof(s->data[k]));
			}
			s->n--;
			for (size_t k = 0; k < s->n; k++)
				s->f[k] = (struct manifest_mem_file){s->path[k], s->data[k],
				                                     strlen(s->data[k]), false};
			return;
		}
}

static const char fn_text[] = "apiVersion: aliasd/v1\n"
                              "kind: Function\n"
                              "name: %s\n"
                              "region: us-east-1\n"
                              "config:\n"
                              "  runtime: python3.12\n"
                              "  handler: app.handler\n"
                              "  role: arn:aws:iam::123456789012:role/r\n"
                              "  memorySize: 256\n"
                              "  environment: {AA: one, BB: two}\n"
                              "releases:\n"
                              "  v1: {code: {zipFile: z/%s.zip}, description: first}\n"
                              "  v2:\n"
                              "    code: {imageUri: \"r/x@sha256:%064d\"}\n"
                              "    config: {memorySize: 512, environment: {CC: three}}\n"
                              "  old: {version: 3}\n"
                              "aliases:\n"
                              "  Prod: v1\n"
                              "  Canary: {release: v1, weights: {v2: 0.25}, description: c}\n"
                              "  Slow: {release: v2, rollout: {steps: [10, 50], interval: 60s, "
                              "alarms: [a1]}}\n"
                              "prune: {aliases: true, keepVersions: 3}\n";

static void put_fn(struct snap *s, const char *file, const char *name)
{
	char text[1024];

	snprintf(text, sizeof(text), fn_text, name, name, 7);
	snap_put(s, file, text);
}

/* a, b, c in their files, each with its zip; d.yaml has two documents */
static void base(struct snap *s)
{
	memset(s, 0, sizeof(*s));
	put_fn(s, "fns/a.yaml", "a");
	put_fn(s, "fns/b.yaml", "b");
	put_fn(s, "fns/c.yaml", "c");
	snap_put(s, "z/a.zip", "zip a");
	snap_put(s, "z/b.zip", "zip b");
	snap_put(s, "z/c.zip", "zip c");
	snap_put(s, "z/d.zip", "zip d");
	snap_put(s, "fns/d.yaml",
	         "apiVersion: aliasd/v1\nkind: Function\nname: d1\n"
	         "releases: {v1: {code: {zipFile: z/d.zip}}}\naliases: {Prod: v1}\n"
	         "---\n"
	         "apiVersion: aliasd/v1\nkind: Function\nname: d2\n"
	         "releases: {v1: {code: {zipFile: z/d.zip}}}\n");
}

static const struct manifest_source_ops *blob_ops;
static struct manifest_source_ops counting_ops;
static int yaml_reads;

static int counting_read(struct manifest_source *src, const char *path, size_t max, struct buf *out,
                         struct error *err)
{
	size_t n = strlen(path);

	if (n > 5 && !strcmp(path + n - 5, ".yaml"))
		yaml_reads++;
	return blob_ops->read(src, path, max, out, err);
}

static struct manifest_source *open_snap(const struct snap *s)
{
	struct manifest_source *src = NULL;
	struct error err = ERROR_INIT;

	if (manifest_source_mem_open_blobs(&src, s->f, s->n, &err) < 0)
		return NULL;
	blob_ops = src->ops;
	counting_ops = *src->ops;
	counting_ops.read = counting_read;
	src->ops = &counting_ops;
	return src;
}

/* Load `s` with `fc` (NULL: cold, no cache). */
static struct manifest_set *load(const struct snap *s, struct manifest_file_cache *fc,
                                 struct manifest_zip_cache *zc)
{
	struct manifest_load_options lo = {.zip_cache = zc, .file_cache = fc};
	struct manifest_source *src = open_snap(s);
	struct manifest_set *set = NULL;
	struct error err = ERROR_INIT;

	if (!src)
		return NULL;
	if (manifest_load_with(&set, src, "", &lo, &err) < 0) {
		fprintf(stderr, "load: %s\n", err.msg);
		set = NULL;
	}
	manifest_source_free(src);
	return set;
}

/* ---- field-by-field comparison ---- */

static int n_diff;

#define DIFF(cond, ...)                                                                                      \
	do {                                                                                                 \
		if (cond) {                                                                                  \
			n_diff++;                                                                            \
			HARNESS_FAIL(__VA_ARGS__);                                                           \
		}                                                                                            \
	} while (0)

static bool str_differ(const char *a, const char *b)
{
	return (!a != !b) || (a && strcmp(a, b));
}

#define SDIFF(what, a, b)                                                                                    \
	DIFF(str_differ(a, b), "%s: \"%s\" != \"%s\"", what, (a) ? (a) : "(null)", (b) ? (b) : "(null)")
#define NDIFF(what, a, b) DIFF((a) != (b), "%s: %lld != %lld", what, (long long)(a), (long long)(b))

static void config_cmp(const char *w, const struct manifest_config *a, const struct manifest_config *b)
{
	NDIFF(w, a->set, b->set);
	SDIFF(w, a->runtime, b->runtime);
	SDIFF(w, a->handler, b->handler);
	SDIFF(w, a->role, b->role);
	NDIFF(w, a->memory_size, b->memory_size);
	NDIFF(w, a->timeout, b->timeout);
	NDIFF(w, a->ephemeral_storage, b->ephemeral_storage);
	SDIFF(w, a->description, b->description);
	NDIFF(w, a->n_env, b->n_env);
	for (size_t i = 0; i < a->n_env && i < b->n_env; i++) {
		SDIFF(w, a->env[i].name, b->env[i].name);
		SDIFF(w, a->env[i].value, b->env[i].value);
	}
}

static void target_cmp(const char *w, const struct manifest_target *a, const struct manifest_target *b)
{
	SDIFF(w, a->release, b->release);
	NDIFF(w, a->version, b->version);
	NDIFF(w, a->release_index, b->release_index);
}

static void function_cmp(const struct manifest_function *a, const struct manifest_function *b)
{
	const char *w = a->name;

	SDIFF("name", a->name, b->name);
	SDIFF(w, a->region, b->region);
	SDIFF(w, a->account, b->account);
	SDIFF(w, a->file, b->file);
	NDIFF(w, a->line, b->line);
	NDIFF(w, a->col, b->col);
	NDIFF(w, a->doc_index, b->doc_index);
	config_cmp(w, &a->config, &b->config);
	NDIFF(w, a->prune.aliases, b->prune.aliases);
	NDIFF(w, a->prune.keep_versions, b->prune.keep_versions);
	NDIFF(w, a->prune.keep_history, b->prune.keep_history);
	NDIFF(w, a->n_errors, b->n_errors);
	NDIFF(w, a->n_releases, b->n_releases);
	for (size_t i = 0; i < a->n_releases && i < b->n_releases; i++) {
		const struct manifest_release *ra = &a->releases[i], *rb = &b->releases[i];

		SDIFF(w, ra->name, rb->name);
		NDIFF(w, ra->line, rb->line);
		NDIFF(w, ra->col, rb->col);
		NDIFF(w, ra->version, rb->version);
		SDIFF(w, ra->description, rb->description);
		NDIFF(w, ra->code.kind, rb->code.kind);
		SDIFF(w, ra->code.zip_path, rb->code.zip_path);
		NDIFF(w, ra->code.zip_size, rb->code.zip_size);
		SDIFF(w, ra->code.s3_bucket, rb->code.s3_bucket);
		SDIFF(w, ra->code.s3_key, rb->code.s3_key);
		SDIFF(w, ra->code.s3_object_version, rb->code.s3_object_version);
		SDIFF(w, ra->code.image_uri, rb->code.image_uri);
		SDIFF(w, ra->code.sha256, rb->code.sha256);
		config_cmp(w, &ra->config, &rb->config);
	}
	NDIFF(w, a->n_aliases, b->n_aliases);
	for (size_t i = 0; i < a->n_aliases && i < b->n_aliases; i++) {
		const struct manifest_alias *aa = &a->aliases[i], *ab = &b->aliases[i];

		SDIFF(w, aa->name, ab->name);
		NDIFF(w, aa->line, ab->line);
		NDIFF(w, aa->col, ab->col);
		target_cmp(w, &aa->primary, &ab->primary);
		NDIFF(w, aa->has_weight, ab->has_weight);
		target_cmp(w, &aa->weighted, &ab->weighted);
		DIFF(aa->weight != ab->weight, "%s: weight %g != %g", w, aa->weight, ab->weight);
		SDIFF(w, aa->description, ab->description);
		DIFF(!aa->rollout != !ab->rollout, "%s: rollout given in one only", w);
		if (aa->rollout && ab->rollout) {
			const struct manifest_rollout *x = aa->rollout, *y = ab->rollout;

			NDIFF(w, x->line, y->line);
			NDIFF(w, x->col, y->col);
			SDIFF(w, x->codedeploy, y->codedeploy);
			DIFF(memcmp(&x->spec, &y->spec, sizeof(x->spec)), "%s: rollout spec differs", w);
			for (size_t k = 0; k < x->spec.n_alarms && k < y->spec.n_alarms; k++)
				SDIFF(w, x->alarms[k], y->alarms[k]);
			SDIFF(w, x->pre_traffic, y->pre_traffic);
		}
	}
}

/* Every field of every function, file and error: 0 when equal. */
static int set_cmp(const struct manifest_set *a, const struct manifest_set *b)
{
	n_diff = 0;
	SDIFF("revision", a->revision, b->revision);
	NDIFF("n_functions", a->n_functions, b->n_functions);
	NDIFF("n_files", a->n_files, b->n_files);
	NDIFF("n_valid", a->n_valid, b->n_valid);
	NDIFF("n_releases", a->n_releases, b->n_releases);
	NDIFF("n_aliases", a->n_aliases, b->n_aliases);
	NDIFF("errors", manifest_set_error_count(a), manifest_set_error_count(b));
	for (size_t i = 0; i < a->n_functions && i < b->n_functions; i++)
		function_cmp(&a->functions[i], &b->functions[i]);
	for (size_t i = 0; i < a->n_files && i < b->n_files; i++) {
		SDIFF("file", a->files[i].path, b->files[i].path);
		NDIFF(a->files[i].path, a->files[i].broken, b->files[i].broken);
		NDIFF(a->files[i].path, a->files[i].n_documents, b->files[i].n_documents);
		NDIFF(a->files[i].path, a->files[i].n_errors, b->files[i].n_errors);
	}
	for (size_t i = 0; i < a->errors.len && i < b->errors.len; i++) {
		const struct error *x = &a->errors.items[i], *y = &b->errors.items[i];

		SDIFF("error file", x->file, y->file);
		NDIFF("error line", x->line, y->line);
		NDIFF("error col", x->col, y->col);
		SDIFF("error", x->msg, y->msg);
	}
	return n_diff;
}

static bool has_error(const struct manifest_set *set, const char *needle)
{
	for (size_t i = 0; i < set->errors.len; i++) {
		char line[2048];

		snprintf(line, sizeof(line), "%s:%u:%u: %s", set->errors.items[i].file,
		         set->errors.items[i].line, set->errors.items[i].col, set->errors.items[i].msg);
		if (strstr(line, needle))
			return true;
	}
	return false;
}

static const struct manifest_function *find(const struct manifest_set *set, const char *name)
{
	for (size_t i = 0; i < set->n_functions; i++)
		if (!strcmp(set->functions[i].name, name))
			return &set->functions[i];
	return NULL;
}

/*
 * The reload machinery under test: `prev` was loaded with the cache (kept
 * alive, as the daemon keeps its last generation); `next` is loaded with the
 * cache and compared with a cold load of the same snapshot.  Returns the
 * cached set (the caller frees it) and the cache's misses in *misses.
 */
static struct manifest_set *reload_check(const struct snap *next, struct manifest_file_cache *fc,
                                         struct manifest_zip_cache *zc, size_t *misses, int *reads)
{
	struct manifest_file_cache_stats st;
	struct manifest_set *cold = load(next, NULL, NULL), *warm;

	yaml_reads = 0;
	warm = load(next, fc, zc);
	*reads = yaml_reads;
	manifest_file_cache_stats(fc, &st);
	*misses = st.misses;
	if (!cold || !warm) {
		HARNESS_FAIL("a load failed");
		manifest_set_free(cold);
		manifest_set_free(warm);
		return NULL;
	}
	CHECKF(set_cmp(warm, cold) == 0, "the cached load differs from a cold load");
	manifest_set_free(cold);
	return warm;
}

struct fixture {
	struct manifest_file_cache *fc;
	struct manifest_zip_cache *zc;
	struct manifest_set *prev;
	struct snap s;
};

static void fixture_start(struct fixture *fx)
{
	size_t misses;
	int reads;

	memset(fx, 0, sizeof(*fx));
	REQUIRE(manifest_file_cache_new(&fx->fc) == 0);
	REQUIRE(manifest_zip_cache_new(&fx->zc, 0) == 0);
	base(&fx->s);
	fx->prev = reload_check(&fx->s, fx->fc, fx->zc, &misses, &reads);
	REQUIRE(fx->prev);
	CHECK_INT((int)misses, 4); /* the first load parses every file */
	CHECK_INT(reads, 4);
}

/* Load fx->s (changed by the test) with the cache; checks it equals a cold load. */
static struct manifest_set *fixture_next(struct fixture *fx, size_t want_misses)
{
	size_t misses = 0;
	int reads = 0;
	struct manifest_set *set = reload_check(&fx->s, fx->fc, fx->zc, &misses, &reads);

	CHECKF(misses == want_misses, "%zu files parsed again, expected %zu", misses, want_misses);
	CHECKF(reads == (int)want_misses, "%d manifests read, expected %zu", reads, want_misses);
	manifest_set_free(fx->prev); /* the older generation goes after the new one is loaded */
	fx->prev = set;
	return set;
}

static void fixture_end(struct fixture *fx)
{
	manifest_file_cache_free(fx->fc); /* before the set: the set's references keep the units */
	manifest_set_free(fx->prev);
	manifest_zip_cache_free(fx->zc);
}

TEST(reload_unchanged_reads_nothing)
{
	struct fixture fx;
	struct manifest_file_cache_stats st;
	struct manifest_set *set;

	fixture_start(&fx);
	set = fixture_next(&fx, 0);
	REQUIRE(set);
	CHECK_INT((int)set->n_functions, 5);
	CHECK_INT((int)set->n_valid, 5);
	manifest_file_cache_stats(fx.fc, &st);
	CHECK_INT((int)st.hits, 4);
	CHECK_INT((int)st.files, 4);
	CHECK_INT((int)st.total_misses, 4);
	fixture_end(&fx);
}

TEST(reload_one_manifest_changed)
{
	struct fixture fx;
	struct manifest_set *set;
	const struct manifest_function *b;
	char text[1024];

	fixture_start(&fx);
	snprintf(text, sizeof(text), fn_text, "b", "b", 7);
	*strstr(text, "Prod: v1") = '\0';
	strcat(text, "Prod: v2\n");
	snap_put(&fx.s, "fns/b.yaml", text);
	set = fixture_next(&fx, 1);
	REQUIRE(set);
	b = find(set, "b");
	REQUIRE(b);
	CHECK_INT((int)b->n_aliases, 1);
	CHECK_STR(b->aliases[0].primary.release, "v2");
	fixture_end(&fx);
}

TEST(reload_zip_changed_rehashes_its_function)
{
	struct fixture fx;
	struct manifest_set *set;
	char old_sha[MANIFEST_CODE_SHA_SIZE];

	fixture_start(&fx);
	snprintf(old_sha, sizeof(old_sha), "%s", find(fx.prev, "b")->releases[0].code.sha256);
	snap_put(&fx.s, "z/b.zip", "zip b, version 2");
	set = fixture_next(&fx, 1); /* b.yaml, and nothing else */
	REQUIRE(set);
	CHECK(strcmp(find(set, "b")->releases[0].code.sha256, old_sha) != 0);
	CHECK_INT((int)find(set, "b")->releases[0].code.zip_size, 16);
	/* the zip shared by d1 and d2 (one file) changes: that file only */
	snap_put(&fx.s, "z/d.zip", "zip d, version 2");
	set = fixture_next(&fx, 1);
	REQUIRE(set);
	CHECK_STR(find(set, "d1")->releases[0].code.sha256, find(set, "d2")->releases[0].code.sha256);
	fixture_end(&fx);
}

TEST(reload_zip_deleted_then_added)
{
	struct fixture fx;
	struct manifest_set *set;

	fixture_start(&fx);
	snap_del(&fx.s, "z/c.zip");
	set = fixture_next(&fx, 1);
	REQUIRE(set);
	CHECK(has_error(set, "fns/c.yaml:12:"));
	CHECK(has_error(set, "z/c.zip does not exist in the repository"));
	CHECK_INT((int)find(set, "c")->n_errors, 1);
	/* still missing: the unit with the error is taken from the cache */
	set = fixture_next(&fx, 0);
	REQUIRE(set);
	CHECK(has_error(set, "z/c.zip does not exist"));
	/* back: the error is gone */
	snap_put(&fx.s, "z/c.zip", "zip c");
	set = fixture_next(&fx, 1);
	REQUIRE(set);
	CHECK_INT((int)manifest_set_error_count(set), 0);
	CHECK_INT((int)find(set, "c")->n_errors, 0);
	fixture_end(&fx);
}

TEST(reload_file_renamed_errors_name_the_new_path)
{
	struct fixture fx;
	struct manifest_set *set;
	char text[1024];

	fixture_start(&fx);
	snprintf(text, sizeof(text), "%s", fx.s.data[1]); /* fns/b.yaml */
	*strstr(text, "memorySize: 256") = '\0';
	strcat(text, "memorySize: 1\n");
	strcat(text, strstr(fx.s.data[1], "  environment:"));
	snap_put(&fx.s, "fns/b.yaml", text);
	set = fixture_next(&fx, 1);
	REQUIRE(set);
	CHECK(has_error(set, "fns/b.yaml:9:15: config.memorySize"));
	/* the same blob at another path: parsed again, the error says where it is now */
	snap_del(&fx.s, "fns/b.yaml");
	snap_put(&fx.s, "fns/renamed.yaml", text);
	set = fixture_next(&fx, 1);
	REQUIRE(set);
	CHECK(has_error(set, "fns/renamed.yaml:9:15: config.memorySize"));
	CHECK(!has_error(set, "fns/b.yaml"));
	CHECK_STR(find(set, "b")->file, "fns/renamed.yaml");
	fixture_end(&fx);
}

TEST(reload_duplicate_leaves_the_cached_unit_untouched)
{
	struct fixture fx;
	struct manifest_set *set, *kept;

	fixture_start(&fx);
	put_fn(&fx.s, "fns/twin.yaml", "a"); /* `a` again, in another file */
	set = fixture_next(&fx, 1);          /* twin.yaml only: a.yaml is cached */
	REQUIRE(set);
	CHECK_INT((int)find(set, "a")->n_errors, 1);
	CHECK(has_error(set, "fns/a.yaml:3:7: name: function \"a\" is declared more than once"));
	CHECK(has_error(set, "fns/twin.yaml:3:7: name: function \"a\" is declared more than once"));
	kept = set;
	fx.prev = NULL; /* keep this generation alive across the next load */
	snap_del(&fx.s, "fns/twin.yaml");
	set = fixture_next(&fx, 0); /* a.yaml from the cache, valid again */
	REQUIRE(set);
	CHECK_INT((int)find(set, "a")->n_errors, 0);
	CHECK_INT((int)manifest_set_error_count(set), 0);
	/* the older set still says what it said */
	CHECK_INT((int)find(kept, "a")->n_errors, 1);
	manifest_set_free(kept);
	fixture_end(&fx);
}

TEST(reload_broken_yaml_then_fixed)
{
	struct fixture fx;
	struct manifest_set *set;

	fixture_start(&fx);
	snap_put(&fx.s, "fns/c.yaml",
	         "apiVersion: aliasd/v1\nkind: Function\nname: c\nreleases: [unclosed\n");
	set = fixture_next(&fx, 1);
	REQUIRE(set);
	CHECK(set->files[2].broken);
	CHECK(find(set, "c") == NULL || find(set, "c")->n_errors > 0);
	set = fixture_next(&fx, 0); /* still broken, from the cache */
	REQUIRE(set);
	CHECK(set->files[2].broken);
	put_fn(&fx.s, "fns/c.yaml", "c");
	set = fixture_next(&fx, 1);
	REQUIRE(set);
	CHECK(!set->files[2].broken);
	CHECK_INT((int)find(set, "c")->n_errors, 0);
	fixture_end(&fx);
}

TEST(reload_release_config_shares_the_function_strings)
{
	struct snap s;
	struct manifest_set *set;
	const struct manifest_function *a;

	base(&s);
	set = load(&s, NULL, NULL);
	REQUIRE(set);
	a = find(set, "a");
	REQUIRE(a && a->n_releases == 3);
	/* v1 overrides nothing: the same strings and env array as the function */
	CHECK(a->releases[0].config.runtime == a->config.runtime);
	CHECK(a->releases[0].config.role == a->config.role);
	CHECK(a->releases[0].config.env == a->config.env);
	/* v2 overrides memorySize and the environment: the rest is still shared */
	CHECK(a->releases[1].config.handler == a->config.handler);
	CHECK(a->releases[1].config.env != a->config.env);
	CHECK_INT(a->releases[1].config.memory_size, 512);
	CHECK_INT((int)a->releases[1].config.n_env, 1);
	CHECK_STR(a->releases[1].config.env[0].value, "three");
	/* an alias's target release is the release's own name */
	CHECK(a->aliases[0].primary.release == a->releases[0].name);
	manifest_set_free(set);
}

TEST(reload_common_strings_are_shared)
{
	struct fixture fx;
	struct manifest_set *set;
	const struct manifest_function *a, *b;

	fixture_start(&fx);
	a = find(fx.prev, "a");
	b = find(fx.prev, "b");
	REQUIRE(a && b);
	/* one copy of a runtime, a region, an env name, a release name for the whole set */
	CHECK(a->config.runtime == b->config.runtime);
	CHECK(a->region == b->region);
	CHECK(a->config.env[0].name == b->config.env[0].name);
	CHECK(a->releases[0].name == b->releases[0].name);
	CHECK(a->name != b->name);
	/* a file parsed again in a later load shares them with the cached ones */
	put_fn(&fx.s, "fns/b.yaml", "b2");
	set = fixture_next(&fx, 1);
	REQUIRE(set);
	CHECK(find(set, "b2")->config.runtime == find(set, "a")->config.runtime);
	CHECK_STR(find(set, "b2")->config.runtime, "python3.12");
	fixture_end(&fx);
}

TEST(reload_folder_source_is_not_cached)
{
	struct snap s;
	struct manifest_file_cache *fc;
	struct manifest_file_cache_stats st;
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct manifest_load_options lo = {0};
	struct error err = ERROR_INIT;

	base(&s);
	REQUIRE(manifest_file_cache_new(&fc) == 0);
	lo.file_cache = fc;
	REQUIRE(manifest_source_mem_open(&src, s.f, s.n, &err) == 0); /* no blob ids */
	REQUIRE(manifest_load_with(&set, src, "", &lo, &err) == 0);
	manifest_file_cache_stats(fc, &st);
	CHECK_INT((int)st.files, 0);
	CHECK_INT((int)st.misses, 4);
	CHECK_INT((int)set->n_functions, 5);
	manifest_set_free(set);
	manifest_source_free(src);
	manifest_file_cache_free(fc);
}

TEST_MAIN(reload_unchanged_reads_nothing, reload_one_manifest_changed,
          reload_zip_changed_rehashes_its_function, reload_zip_deleted_then_added,
          reload_file_renamed_errors_name_the_new_path, reload_duplicate_leaves_the_cached_unit_untouched,
          reload_broken_yaml_then_fixed, reload_release_config_shares_the_function_strings,
          reload_common_strings_are_shared, reload_folder_source_is_not_cached)
