/*
 * validate.c - `aliasd validate`: lint manifests offline, like a compiler.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/cmd.h"
#include "manifest/load.h"
#include "manifest/repo.h"

static const char usage[] =
    "usage: aliasd validate [DIR] [--path SUBDIR]\n"
    "       aliasd validate --repo URL|DIR [--ref REF] [--path SUBDIR]\n"
    "\n"
    "Lint the manifests of a repository offline (no AWS access): read every\n"
    "*.yaml / *.yml file under SUBDIR (default: the whole repository; files and\n"
    "folders whose name starts with '.' are skipped), check every rule, and\n"
    "print ALL errors at once, sorted by file, line and column:\n"
    "\n"
    "  fn.yaml:12:17: releases.v2.code.zipFile: build/v2.zip does not exist in the repository\n"
    "\n"
    "Without errors it prints a summary on stdout, e.g.\n"
    "  12 functions, 31 releases, 40 aliases: ok\n"
    "\n"
    "Where manifests are read from:\n"
    "  DIR              a folder as it is on disk, uncommitted files included\n"
    "                   (default: the current directory)\n"
    "  --repo URL|DIR   a Git repository (https://, ssh://, file://, a local\n"
    "                   repository...): the tree of one commit is read straight\n"
    "                   from the object store, exactly as the daemon would\n"
    "  --ref REF        branch, tag or commit for --repo (default: remote HEAD);\n"
    "                   with DIR and --ref, DIR is read as a Git repository\n"
    "  --path SUBDIR    only read manifests under this folder of the repository\n"
    "                   (zipFile paths stay relative to the repository root)\n"
    "\n"
    "What is checked: YAML syntax (tabs, invalid UTF-8, duplicate keys), hard\n"
    "limits (4 MiB per file, nesting depth, node count, alias expansion),\n"
    "apiVersion aliasd/v1 and kind Function, unknown keys, types and Lambda's\n"
    "ranges (memorySize 128-10240, timeout 1-900...), function, release and\n"
    "alias names, aliases pointing at declared releases or version numbers,\n"
    "weights (one entry, not the primary, 0 < w < 1), zipFile (a regular file\n"
    "inside the repository, no '..', no symlink, at most 50 MiB, readable;\n"
    "hashed only to match a release's sha256: plan and apply hash it), s3 code\n"
    "with its sha256, imageUri pinned by @sha256 digest, rollouts (a\n"
    "CodeDeploy name, or steps increasing in 1..99, at most 10, an interval of\n"
    "1s..24h, up to 10 unique alarm names, preTraffic a function name or ARN;\n"
    "never with weights or description), and the same function declared twice.\n"
    "\n"
    "Exit status: 0 no errors, 1 errors found (or the repository could not be\n"
    "read), 64 usage error.\n";

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* A line of output with control characters escaped (a value may hold any). */
static void put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\x%02x", c);
		else
			fputc(c, f);
	}
	fputc('\n', f);
}

int cmd_validate(int argc, char **argv)
{
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct error err = ERROR_INIT;
	const char *dir = NULL, *url = NULL, *ref = NULL, *subdir = NULL;
	const char *prefix = NULL;
	/* validate prints no hash: zips are read (readable, size) but not hashed */
	struct manifest_load_options lopt = {.parse_threads = true, .zip_no_hash = true};
	bool used_repo = false;
	int r, status = 1;

	if (cmd_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int m;

		if ((m = cmd_opt_value(argc, argv, &i, "--repo", &url)) ||
		    (m = cmd_opt_value(argc, argv, &i, "--ref", &ref)) ||
		    (m = cmd_opt_value(argc, argv, &i, "--path", &subdir))) {
			if (m < 0)
				return cmd_usage_error("validate", "%s needs a value", a);
			continue;
		}
		if (!strcmp(a, "--") && i + 1 < argc && !dir) {
			dir = argv[++i];
			continue;
		}
		if (a[0] == '-')
			return cmd_usage_error("validate", "unknown option '%s'", a);
		if (dir)
			return cmd_usage_error("validate", "expects one DIR, got '%s' and '%s'", dir, a);
		dir = a;
	}
	if (url && dir)
		return cmd_usage_error("validate", "give DIR or --repo, not both");
	if (ref && !url) {
		url = dir ? dir : ".";
		dir = NULL;
	}

	/*
	 * A short-lived process that parses thousands of files: keep freed
	 * memory instead of giving it back to the kernel after each file (a
	 * parse's buffers sit at the top of the heap: a brk pair and fresh
	 * zeroed pages per file, 6,000 of each for 10,000 manifests).
	 */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	mallopt(M_TOP_PAD, 8 << 20);
	if (url) {
		struct manifest_repo_options opt = {0};

		opt.url = url;
		opt.ref = ref;
		used_repo = true;
		r = manifest_repo_snapshot(&src, &opt, &err);
	} else {
		if (!dir)
			dir = ".";
		r = manifest_source_dir_open(&src, dir, &err);
		/* print paths as the user can open them */
		if (strcmp(dir, ".") && strcmp(dir, "./"))
			prefix = dir;
	}
	if (r < 0) {
		fprintf(stderr, "aliasd validate: %s\n", err.msg);
		goto out;
	}
	r = manifest_load_with(&set, src, subdir, &lopt, &err);
	if (r < 0) {
		fprintf(stderr, "aliasd validate: %s\n", err.msg);
		goto out;
	}
	for (size_t i = 0; i < set->errors.len; i++) {
		const struct error *e = &set->errors.items[i];
		char line[ERROR_MSG_MAX + ERROR_FILE_MAX + 64];

		if (prefix && e->file[0]) {
			size_t pl = strlen(prefix);
			bool slash = pl && prefix[pl - 1] == '/';
			fprintf(stderr, "%s%s", prefix, slash ? "" : "/");
		}
		put_escaped(stderr, error_format(e, line, sizeof(line)));
	}
	if (set->errors.dropped)
		fprintf(stderr, "... and %zu more %s\n", set->errors.dropped,
		        plural(set->errors.dropped, "error", "errors"));
	if (manifest_set_error_count(set)) {
		size_t n = manifest_set_error_count(set);
		fprintf(stderr, "%zu %s\n", n, plural(n, "error", "errors"));
		goto out;
	}
	printf("%zu %s, %zu %s, %zu %s: ok\n", set->n_functions,
	       plural(set->n_functions, "function", "functions"), set->n_releases,
	       plural(set->n_releases, "release", "releases"), set->n_aliases,
	       plural(set->n_aliases, "alias", "aliases"));
	status = 0;
out:
	manifest_set_free(set);
	manifest_source_free(src);
	if (used_repo)
		manifest_repo_global_shutdown();
	return status;
}
