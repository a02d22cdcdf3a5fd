/*
 * manifest_reload - load a Git ref's manifests twice in one process, as the
 * daemon does, with one zip hash cache and one parsed-file cache
 * (tests/bench/bench_manifest.py).
 *
 *   manifest_reload --url U --state-dir D [--ref R] [--path P]
 *
 * Fetches and loads the ref, prints "load1 SECONDS FUNCTIONS VALID HASHED
 * MODEL HEAP", then waits for a line on stdin (the caller commits
 * meanwhile), fetches and loads again and prints "load2 SECONDS FUNCTIONS
 * VALID HASHED HEAP PARSED".  SECONDS is the load alone (opening the commit
 * and manifest_load_with), not the fetch; HASHED the zips read and hashed by
 * that load; PARSED the manifest files parsed rather than taken from the
 * file cache.  MODEL is the memory of the model: the bytes (heap and mmap,
 * from mallinfo2) that freeing a set of the same commit loaded without the
 * file cache gives back, so nothing of it is shared.  HEAP is the heap
 * growth across the load, which also counts what the load leaves in
 * libgit2's caches (a pack's delta bases: ~300 bytes a function here) and
 * in the zip and file caches.  The first set is kept until the second is
 * loaded, as the daemon keeps its last generation.  Errors: "error: ..." on
 * stderr, exit 1.
 */
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/history.h"
#include "manifest/load.h"
#include "manifest/repo.h"
#include "util/clock.h"
#include "util/error.h"

static struct manifest_set *last_set; /* kept until the next load, as the daemon does */
static struct manifest_source *last_src;

static size_t mem_now(void)
{
	struct mallinfo2 m = mallinfo2();

	return m.uordblks + m.hblkhd;
}

/* The bytes a set of `src` (loaded without the file cache) gives back when freed. */
static long long model_bytes(struct manifest_source *src, const char *path, struct manifest_zip_cache *hc)
{
	struct manifest_load_options lo = {.zip_cache = hc};
	struct manifest_set *set = NULL;
	struct error err = ERROR_INIT;
	size_t before;

	if (manifest_load_with(&set, src, path, &lo, &err) < 0)
		return -1;
	before = mem_now();
	manifest_set_free(set);
	return (long long)before - (long long)mem_now();
}

static int load_once(struct manifest_repo *repo, const char *path, struct manifest_zip_cache *hc,
                     struct manifest_file_cache *fc, const char *label)
{
	struct manifest_load_options lo = {.zip_cache = hc, .file_cache = fc};
	struct manifest_file_cache_stats st;
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct error err = ERROR_INIT;
	char oid[MANIFEST_OID_HEX_SIZE];
	uint64_t t0, misses0, misses;
	size_t heap0, heap;

	if (manifest_repo_fetch(repo, oid, &err) < 0) {
		fprintf(stderr, "error: fetch: %s\n", err.msg);
		return -1;
	}
	misses0 = manifest_zip_cache_puts(hc);
	malloc_trim(0);
	heap0 = mallinfo2().uordblks;
	t0 = clock_monotonic_ns();
	if (manifest_repo_source(repo, oid, &src, &err) < 0 ||
	    manifest_load_with(&set, src, path, &lo, &err) < 0) {
		fprintf(stderr, "error: load: %s\n", err.msg);
		manifest_source_free(src);
		return -1;
	}
	printf("%s %.4f %zu %zu", label, (double)(clock_monotonic_ns() - t0) / 1e9, set->n_functions,
	       set->n_valid);
	misses = manifest_zip_cache_puts(hc);
	printf(" %llu", (unsigned long long)(misses - misses0));
	manifest_file_cache_stats(fc, &st);
	heap = mallinfo2().uordblks - heap0;
	if (!strcmp(label, "load1"))
		printf(" %lld %zu\n", model_bytes(src, path, hc), heap);
	else
		printf(" %zu %zu\n", heap, st.misses);
	fflush(stdout);
	manifest_set_free(last_set);
	manifest_source_free(last_src);
	last_set = set;
	last_src = src;
	return 0;
}

int main(int argc, char **argv)
{
	struct manifest_repo_options opt = {0};
	struct manifest_repo *repo = NULL;
	struct manifest_zip_cache *hc = NULL;
	struct manifest_file_cache *fc = NULL;
	struct error err = ERROR_INIT;
	const char *path = NULL;
	char line[64];
	int rc = 1;

	for (int i = 1; i + 1 < argc; i += 2) {
		if (!strcmp(argv[i], "--url"))
			opt.url = argv[i + 1];
		else if (!strcmp(argv[i], "--ref"))
			opt.ref = argv[i + 1];
		else if (!strcmp(argv[i], "--state-dir"))
			opt.state_dir = argv[i + 1];
		else if (!strcmp(argv[i], "--path"))
			path = argv[i + 1];
	}
	if (!opt.url) {
		fprintf(stderr, "usage: manifest_reload --url U --state-dir D [--ref R] [--path P]\n");
		return 2;
	}
	if (manifest_zip_cache_new(&hc, 0) < 0 || manifest_file_cache_new(&fc) < 0 ||
	    manifest_repo_open(&repo, &opt, &err) < 0) {
		fprintf(stderr, "error: open: %s\n", err.msg);
		goto out;
	}
	if (load_once(repo, path, hc, fc, "load1") < 0)
		goto out;
	if (!fgets(line, sizeof(line), stdin))
		goto out;
	if (load_once(repo, path, hc, fc, "load2") < 0)
		goto out;
	rc = 0;
out:
	manifest_set_free(last_set);
	manifest_source_free(last_src);
	manifest_file_cache_free(fc);
	manifest_repo_free(repo);
	manifest_zip_cache_free(hc);
	manifest_repo_global_shutdown();
	return rc;
}
