/*
 * load.c - manifests of a snapshot -> validated model (DESIGN.md §1): the
 * driver (files, documents, the function's identity fields) and the set
 * API.  The parts are listed in load_internal.h.
 *
 * Every problem is appended to set->errors as "file:line:col: key.path: what";
 * nothing stops at the first error.  See load.h for the isolation rules.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/load_internal.h"
#include "util/parse.h"

bool load_all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Every character of `s` in `charset` (letters/digits given by flags), length 1..max. */
bool load_name_ok(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n < 1 || n > max)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

void load_keypath(char *out, const char *prefix, const char *key)
{
	size_t pl = prefix ? strlen(prefix) : 0, kl = strnlen(key, 64);

	if (pl > KEYPATH_MAX - 66)
		pl = KEYPATH_MAX - 66;
	if (pl) {
		memcpy(out, prefix, pl);
		out[pl++] = '.';
	}
	memcpy(out + pl, key, kl);
	out[pl + kl] = '\0';
}

void load_missing(struct loader *l, const struct yaml_node *map, const char *prefix, const char *key)
{
	if (prefix && *prefix)
		ERR(map, "%s: missing required key \"%s\"", prefix, key);
	else
		ERR(map, "missing required key \"%s\"", key);
}

/* Get an optional string; returns 1 if present and valid, 0 if absent, <0 on error. */
static int opt_string(struct loader *l, const struct yaml_node *map, const char *prefix, const char *key,
                      size_t max, char **ret, bool shared)
{
	const struct yaml_node *n = yaml_map_get(map, key);
	char path[KEYPATH_MAX];
	const char *s;
	int r;

	if (!n)
		return 0;
	load_keypath(path, prefix, key);
	r = yaml_get_string(n, path, max, &s, l->errs);
	if (r < 0)
		return r;
	*ret = shared ? load_shared(l, s) : arena_strdup(l->arena, s);
	return *ret ? 1 : -ENOMEM;
}

int load_opt_string(struct loader *l, const struct yaml_node *map, const char *prefix, const char *key,
                    size_t max, char **ret)
{
	return opt_string(l, map, prefix, key, max, ret, false);
}

int load_opt_shared(struct loader *l, const struct yaml_node *map, const char *prefix, const char *key,
                    size_t max, char **ret)
{
	return opt_string(l, map, prefix, key, max, ret, true);
}

static bool region_ok(const char *s)
{
	/* [a-z]{2}(-[a-z]+)+-[0-9]+ e.g. us-east-1, us-gov-west-1, eu-central-2 */
	const char *p = s;
	int parts = 0;

	if (!islower((unsigned char)p[0]) || !islower((unsigned char)p[1]) || p[2] != '-')
		return false;
	p += 3;
	for (;;) {
		const char *start = p;
		while (islower((unsigned char)*p))
			p++;
		if (p == start || *p != '-')
			break;
		p++;
		parts++;
	}
	if (!parts || !isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	return !*p && strlen(s) <= 32;
}

/*
 * arn:(aws[a-zA-Z-]*)?:lambda:<region>:<12 digits>:function:<name>[:qualifier]
 * Returns 0 and the region and account (malloc'ed) or a message.
 */
int load_arn_parse(const char *s, char **ret_region, char **ret_account, const char **why)
{
	char buf[512], *fields[8];
	size_t nf = 0;
	char *p;

	if (strlen(s) >= sizeof(buf)) {
		*why = "is too long";
		return -EINVAL;
	}
	strcpy(buf, s);
	for (p = buf; nf < 8;) {
		fields[nf++] = p;
		p = strchr(p, ':');
		if (!p)
			break;
		*p++ = '\0';
	}
	if (nf < 7 || strcmp(fields[0], "arn") || strncmp(fields[1], "aws", 3) ||
	    strcmp(fields[2], "lambda") || strcmp(fields[5], "function")) {
		*why = "is not a Lambda function ARN (arn:aws:lambda:REGION:ACCOUNT:function:NAME)";
		return -EINVAL;
	}
	if (!region_ok(fields[3])) {
		*why = "has an invalid region";
		return -EINVAL;
	}
	if (strlen(fields[4]) != 12 || !load_all_digits(fields[4])) {
		*why = "has an invalid account id (12 digits)";
		return -EINVAL;
	}
	if (!load_name_ok(fields[6], 64, "_-")) {
		*why = "has an invalid function name ([A-Za-z0-9_-]{1,64})";
		return -EINVAL;
	}
	if (nf > 7) {
		*why = "must not include a version or alias qualifier (aliasd manages them)";
		return -EINVAL;
	}
	*ret_region = strdup(fields[3]);
	*ret_account = strdup(fields[4]);
	if (!*ret_region || !*ret_account) {
		free(*ret_region);
		free(*ret_account);
		*ret_region = *ret_account = NULL;
		*why = "out of memory";
		return -ENOMEM;
	}
	return 0;
}

/* A new function of the current file (copied into its unit when the file is done). */
static struct manifest_function *function_add(struct loader *l)
{
	if (l->n_fv == l->fv_alloc) {
		size_t na = l->fv_alloc ? l->fv_alloc * 2 : 16;
		struct manifest_function *p = realloc(l->fv, na * sizeof(*p));
		if (!p)
			return NULL;
		l->fv = p;
		l->fv_alloc = na;
	}
	memset(&l->fv[l->n_fv], 0, sizeof(l->fv[0]));
	return &l->fv[l->n_fv++];
}

/* A malloc'ed string (load_arn_parse's) into the arena; NULL stays NULL.  -ENOMEM. */
static int to_arena(struct loader *l, char **s)
{
	char *c;

	if (!*s)
		return 0;
	c = arena_strdup(l->arena, *s);
	free(*s);
	*s = c;
	return c ? 0 : -ENOMEM;
}

/* Returns 1 if the function's name was read, 0 if not (the file is then broken), <0 ENOMEM. */
static int load_document(struct loader *l, const char *path, const struct yaml_doc *doc)
{
	static const char *const keys[] = {"apiVersion", "kind",    "name",  "region", "config",
	                                   "releases",   "aliases", "prune", NULL};
	const struct yaml_node *root = doc->root, *v, *name_node;
	struct manifest_function *f;
	size_t before = errlist_count(l->errs);
	char *region = NULL;
	const char *s, *why = NULL;
	bool has_version_alias = false;
	int r;

	if (yaml_expect_mapping(root, "document", l->errs) < 0)
		return 0;
	yaml_check_keys(root, "", keys, l->errs);

	v = yaml_map_get(root, "apiVersion");
	if (!v)
		load_missing(l, root, NULL, "apiVersion");
	else if (yaml_get_string(v, "apiVersion", 0, &s, l->errs) == 0 && strcmp(s, "aliasd/v1"))
		ERR(v, "apiVersion: unsupported \"%.64s\" (expected aliasd/v1)", s);
	v = yaml_map_get(root, "kind");
	if (!v)
		load_missing(l, root, NULL, "kind");
	else if (yaml_get_string(v, "kind", 0, &s, l->errs) == 0 && strcmp(s, "Function"))
		ERR(v, "kind: unsupported \"%.64s\" (expected Function)", s);

	name_node = yaml_map_get(root, "name");
	if (!name_node) {
		load_missing(l, root, NULL, "name");
		return 0;
	}
	if (yaml_get_string(name_node, "name", 0, &s, l->errs) < 0)
		return 0;

	f = function_add(l);
	if (!f)
		return -ENOMEM;
	(void)path;
	f->name = arena_strdup(l->arena, s);
	f->file = l->unit->path;
	if (!f->name)
		return -ENOMEM;
	f->line = name_node->line;
	f->col = name_node->col;
	f->doc_index = doc->index;
	f->prune.keep_versions = -1;

	if (!strncmp(s, "arn:", 4)) {
		r = load_arn_parse(s, &region, &f->account, &why);
		if (r == -ENOMEM || to_arena(l, &f->account) < 0 || to_arena(l, &region) < 0)
			return -ENOMEM;
		if (r < 0)
			ERR(name_node, "name: \"%.128s\" %s", s, why);
	} else if (strchr(s, ':')) {
		/*
		 * Lambda would take "123456789012:function:fn", "function:fn" or
		 * "fn:Prod" too, but a partial ARN hides its region and a qualifier
		 * names something aliasd manages: one spelling per function.
		 */
		ERR(name_node,
		    "name: \"%.128s\" is a partial ARN or a qualified name (write the function name or "
		    "its full ARN arn:aws:lambda:REGION:ACCOUNT:function:NAME, without a version or alias)",
		    s);
	} else if (!load_name_ok(s, 64, "_-")) {
		ERR(name_node,
		    "name: invalid function name \"%.128s\" (1 to 64 letters, digits, '_' or '-', or a "
		    "function ARN)",
		    s);
	}

	v = yaml_map_get(root, "region");
	if (v && yaml_get_string(v, "region", 0, &s, l->errs) == 0) {
		if (!region_ok(s))
			ERR(v, "region: invalid region \"%.64s\" (e.g. us-east-1)", s);
		else if (region && strcmp(region, s))
			ERR(v, "region: %s differs from the region in the function ARN (%s)", s, region);
		else if (!region && !(region = load_shared(l, s)))
			return -ENOMEM;
	}
	f->region = region;

	v = yaml_map_get(root, "config");
	if (v) {
		r = load_parse_config(l, v, "config", &f->config);
		if (r == -ENOMEM)
			return r;
	}
	r = load_parse_releases(l, f, yaml_map_get(root, "releases"));
	if (r == -ENOMEM)
		return r;
	r = load_parse_aliases(l, f, yaml_map_get(root, "aliases"));
	if (r == -ENOMEM)
		return r;
	load_parse_prune(l, f, yaml_map_get(root, "prune"));

	for (size_t i = 0; i < f->n_aliases; i++)
		if (!f->aliases[i].primary.release && f->aliases[i].primary.version > 0)
			has_version_alias = true;
	v = yaml_map_get(root, "releases");
	if (!has_version_alias && (!v || yaml_is_null(v) || (v->kind == YAML_KIND_MAPPING && !v->n_pairs))) {
		const struct yaml_node *at = yaml_map_key(root, "releases");
		ERR(at ? at : root, "a function needs at least one release or an alias to a version number");
	}

	f->n_errors = doc->n_errors + (errlist_count(l->errs) - before);
	return 1;
}

/* Fewer files than this are parsed in line: a thread costs more than it gives. */
#define LOAD_AHEAD_MIN_FILES 32

static bool path_hidden(const char *p)
{
	if (*p == '.')
		return true;
	for (; *p; p++)
		if (p[0] == '/' && p[1] == '.')
			return true;
	return false;
}

/* `path` into the current unit; *ret_stream is the parse (the caller frees it, once the unit is sealed). */
static int load_file(struct loader *l, const char *path, struct manifest_unit *file,
                     struct yaml_stream **ret_stream)
{
	struct yaml_limits lim = YAML_LIMITS_MANIFEST;
	struct buf data = BUF_INIT_CAP(MANIFEST_FILE_MAX);
	struct yaml_stream *stream = NULL;
	struct error e = ERROR_INIT;
	struct load_parsed ahead = {0};
	const char *why = e.msg;
	bool parsed = false;
	int r;

	if (l->ahead && load_ahead_take(l->ahead, path, &ahead) == 0) {
		parsed = true;
		r = ahead.read_r;
		if (ahead.read_msg)
			why = ahead.read_msg;
	} else {
		r = manifest_source_read(l->src, path, MANIFEST_FILE_MAX, &data, &e);
	}
	if (r == -ENOMEM)
		goto out;
	if (r == -E2BIG) {
		enum source_type type;
		uint64_t size = 0;

		manifest_source_stat(l->src, path, &type, &size, NULL);
		errlist_add(
		    l->errs, -E2BIG, path, 0, 0,
		    "file is %llu bytes, more than the limit of %zu bytes (4 MiB) for one manifest file",
		    (unsigned long long)size, MANIFEST_FILE_MAX);
		file->broken = true;
		r = 0;
		goto out;
	}
	if (r < 0) {
		errlist_add(l->errs, r, path, 0, 0, "cannot read: %s", why);
		file->broken = true;
		file->cacheable = false; /* not a fact of the blob */
		r = 0;
		goto out;
	}
	if (parsed) {
		/* as if parsed here: its errors are the first of the unit's */
		r = ahead.parse_r;
		stream = ahead.stream;
		ahead.stream = NULL;
		errlist_release(l->errs);
		*l->errs = ahead.errs;
		memset(&ahead.errs, 0, sizeof(ahead.errs));
	} else {
		r = yaml_stream_parse(&stream, path, data.ptr, data.len, &lim, l->errs);
	}
	if (r < 0)
		goto out;
	buf_release(&data);
	if (stream->failed)
		file->broken = true;
	file->n_documents = stream->n_docs;
	for (size_t i = 0; i < stream->n_docs; i++) {
		const struct yaml_doc *doc = &stream->docs[i];

		if (!doc->root || yaml_is_null(doc->root))
			continue; /* an empty document: nothing declared */
		r = load_document(l, path, doc);
		if (r < 0)
			goto out;
		if (r == 0)
			file->broken = true;
	}
	r = 0;
out:
	*ret_stream = stream;
	buf_release(&data);
	load_parsed_release(&ahead);
	return r;
}

static int err_file_cmp(const char *a, const struct manifest_file *f)
{
	return strcmp(a, f->path);
}

static void count_file_errors(struct manifest_set *set)
{
	for (size_t i = 0; i < set->errors.len; i++) {
		const char *file = set->errors.items[i].file;
		size_t lo = 0, hi = set->n_files;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			int c = err_file_cmp(file, &set->files[mid]);
			if (!c) {
				set->files[mid].n_errors++;
				break;
			}
			if (c < 0)
				hi = mid;
			else
				lo = mid + 1;
		}
	}
}

static char *subdir_normalise(const char *s)
{
	size_t n;
	char *out;

	if (!s)
		s = "";
	while (s[0] == '.' && s[1] == '/')
		s += 2;
	if (!strcmp(s, "."))
		s = "";
	out = strdup(s);
	if (!out)
		return NULL;
	n = strlen(out);
	while (n && out[n - 1] == '/')
		out[--n] = '\0';
	return out;
}

int manifest_load(struct manifest_set **ret_set, struct manifest_source *src, const char *subdir,
                  struct error *err)
{
	return manifest_load_with(ret_set, src, subdir, NULL, err);
}

/* Parse `path` (blob id `blob`, "" if none) into a new unit. */
static int unit_parse(struct loader *l, const char *path, const char *blob, struct manifest_unit **ret)
{
	struct manifest_unit *u = load_unit_start(l, path, blob);
	struct yaml_stream *stream = NULL;
	int r = 0;

	if (!u)
		return -ENOMEM;
	l->unit = u;
	l->arena = &l->scratch;
	errlist_release(&l->uerrs);
	l->uerrs.max = LOAD_UNIT_ERRORS_MAX;
	l->errs = &l->uerrs;
	l->n_fv = 0;
	l->n_deps = 0;
	r = load_file(l, u->path, u, &stream);
	if (r >= 0 && l->n_fv) {
		u->functions = arena_memdup(l->arena, l->fv, l->n_fv * sizeof(*l->fv));
		if (!u->functions)
			r = -ENOMEM;
		else
			u->n_functions = (unsigned)l->n_fv;
	}
	if (r >= 0 && l->n_deps) {
		u->zips = arena_calloc(l->arena, l->n_deps, sizeof(*u->zips));
		if (!u->zips)
			r = -ENOMEM;
		for (size_t i = 0; r >= 0 && i < l->n_deps; i++) {
			const struct zip_cache_entry *ce = &l->zips[l->deps[i].idx];
			struct unit_zip *z = &u->zips[i];

			z->path = l->deps[i].path;
			z->type = (unsigned char)ce->type;
			if (ce->blob[0] && !load_blob_bin(ce->blob, z->blob))
				u->cacheable = false;
			if (ce->transient)
				u->cacheable = false;
			u->n_zips = (unsigned)i + 1;
		}
	}
	if (r >= 0 && (l->uerrs.len || l->uerrs.dropped)) {
		u->errors = malloc(sizeof(*u->errors));
		if (!u->errors) {
			r = -ENOMEM;
		} else {
			*u->errors = l->uerrs;
			memset(&l->uerrs, 0, sizeof(l->uerrs));
		}
	}
	if (r >= 0) {
		struct manifest_unit *sealed = load_unit_seal(l, u);

		if (!sealed)
			r = -ENOMEM;
		else
			u = sealed;
	}
	/*
	 * Only now: the unit's allocation goes below the parse's, not in the
	 * hole it leaves at the top of the heap (which malloc would give back
	 * and take again for every file: a brk pair per file).
	 */
	yaml_stream_free(stream);
	l->unit = NULL;
	l->arena = NULL;
	l->errs = NULL;
	if (r < 0) {
		if (u->errors) {
			errlist_release(u->errors);
			free(u->errors);
		}
		load_pool_unref(u->pool);
		arena_reset(&l->scratch); /* the unit was there */
		return r;
	}
	*ret = u;
	return 0;
}

/* The unit of `path`: from the file cache when it still holds, else parsed.  *hit says which. */
static int unit_get(struct loader *l, const char *path, struct manifest_unit **ret, bool *hit)
{
	struct manifest_source *src = l->src;
	struct manifest_unit *u = NULL;
	char blob[MANIFEST_OID_HEX_SIZE] = "";
	int r;

	*hit = false;
	if (l->opt.file_cache && src->ops->blob_id) {
		if (src->ops->blob_id(src, path, blob, NULL) < 0)
			blob[0] = '\0';
		else
			u = load_cache_get(l->opt.file_cache, path, blob);
	}
	if (u) {
		r = load_unit_deps_same(l, u);
		if (r > 0) {
			*hit = true;
			*ret = u;
			return 0;
		}
		load_unit_unref(u);
		if (r < 0)
			return r;
	}
	return unit_parse(l, path, blob, ret);
}

/* The set's own view of its units: files, function copies, errors. */
static int set_assemble(struct manifest_set *set)
{
	size_t n = 0;

	for (size_t i = 0; i < set->n_units; i++)
		n += set->units[i]->n_functions;
	set->functions = calloc(n + 1, sizeof(*set->functions));
	set->files = calloc(set->n_units + 1, sizeof(*set->files));
	if (!set->functions || !set->files)
		return -ENOMEM;
	for (size_t i = 0; i < set->n_units; i++) {
		const struct manifest_unit *u = set->units[i];
		struct manifest_file *file = &set->files[set->n_files++];

		file->path = u->path;
		file->broken = u->broken;
		file->n_documents = u->n_documents;
		if (u->n_functions)
			memcpy(&set->functions[set->n_functions], u->functions,
			       u->n_functions * sizeof(*u->functions));
		set->n_functions += u->n_functions;
		for (size_t k = 0; u->errors && k < u->errors->len; k++)
			errlist_add_error(&set->errors, &u->errors->items[k]);
		if (u->errors)
			set->errors.dropped += u->errors->dropped;
	}
	return 0;
}

int manifest_load_with(struct manifest_set **ret_set, struct manifest_source *src, const char *subdir,
                       const struct manifest_load_options *opt, struct error *err)
{
	struct loader l = {0};
	struct manifest_set *set;
	enum source_type type;
	uint64_t size;
	char **paths = NULL, *dir = NULL;
	const char **visible = NULL;
	size_t n_paths = 0, n_visible = 0, hits = 0, misses = 0;
	int r;

	set = calloc(1, sizeof(*set));
	dir = subdir_normalise(subdir);
	if (!set || !dir) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	memcpy(set->revision, src->revision, sizeof(set->revision));
	set->revision[MANIFEST_OID_HEX_SIZE - 1] = '\0';
	set->errors.max = 10000;
	l.src = src;
	l.set = set;
	if (opt)
		l.opt = *opt;
	if (l.opt.zip_no_hash)
		l.opt.zip_cache = NULL, l.opt.file_cache = NULL; /* they hold hashes */

	if (!manifest_path_valid(dir)) {
		r = error_set(err, -EINVAL,
		              "invalid manifest path \"%s\" (a relative path inside the repository)", dir);
		goto out;
	}
	if (*dir) {
		r = manifest_source_stat(src, dir, &type, &size, err);
		if (r < 0)
			goto out;
		if (type != SOURCE_DIR) {
			r = error_set(err, -ENOENT, "%s: %s in %s", dir,
			              type == SOURCE_MISSING ? "no such directory" : "not a directory",
			              src->description ? src->description : "the repository");
			goto out;
		}
	}
	r = manifest_source_list(src, dir, &paths, &n_paths, err);
	if (r < 0)
		goto out;
	if (n_paths > MANIFEST_MAX_FILES) {
		r = error_set(err, -E2BIG, "%zu manifest files, more than the limit of %d", n_paths,
		              MANIFEST_MAX_FILES);
		goto out;
	}
	set->units = calloc(n_paths + 1, sizeof(*set->units));
	l.pool = load_pool_for(l.opt.file_cache);
	if (!set->units || !l.pool) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	if (l.opt.parse_threads && !l.opt.file_cache && n_paths >= LOAD_AHEAD_MIN_FILES) {
		/* a cold load of many files: parse ahead on a helper thread (none: parse in line) */
		visible = calloc(n_paths, sizeof(*visible));
		if (!visible) {
			r = error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < n_paths; i++)
			if (!path_hidden(paths[i]))
				visible[n_visible++] = paths[i];
		if (load_ahead_start(&l.ahead, src, visible, n_visible) == -ENOMEM) {
			r = error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	for (size_t i = 0; i < n_paths; i++) {
		bool hit;

		if (path_hidden(paths[i]))
			continue; /* .github/ workflows and friends are not manifests */
		r = unit_get(&l, paths[i], &set->units[set->n_units], &hit);
		if (r < 0) {
			error_set(err, r, "%s: %s", paths[i], strerror(-r));
			goto out;
		}
		set->n_units++;
		if (hit)
			hits++;
		else
			misses++;
	}
	l.errs = &set->errors;
	r = set_assemble(set);
	if (r >= 0)
		r = load_check_duplicates(&l);
	if (r < 0) {
		error_set(err, r, "out of memory");
		goto out;
	}
	if (errlist_sort(&set->errors) < 0) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	count_file_errors(set);
	for (size_t i = 0; i < set->n_functions; i++) {
		set->n_releases += set->functions[i].n_releases;
		set->n_aliases += set->functions[i].n_aliases;
		if (!set->functions[i].n_errors)
			set->n_valid++;
	}
	/* the cache keeps this load's units (out of memory only empties it) */
	if (l.opt.file_cache)
		load_cache_keep(l.opt.file_cache, set->units, set->n_units, hits, misses);
	r = 0;
out:
	load_ahead_stop(l.ahead);
	free(visible);
	manifest_paths_free(paths, n_paths);
	for (size_t i = 0; i < l.n_zips; i++)
		free(l.zips[i].path);
	free(l.zips);
	free(l.zip_slots);
	free(l.fv);
	free(l.deps);
	arena_release(&l.scratch);
	errlist_release(&l.uerrs);
	if (!l.opt.file_cache)
		load_pool_done(l.pool); /* this load's own: nothing more goes in */
	load_pool_unref(l.pool);
	free(dir);
	if (r < 0) {
		manifest_set_free(set);
		return r;
	}
	*ret_set = set;
	return 0;
}

void manifest_set_free(struct manifest_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n_units; i++)
		load_unit_unref(set->units[i]);
	free(set->units);
	free(set->functions);
	free(set->files);
	errlist_release(&set->errors);
	free(set);
}

size_t manifest_set_error_count(const struct manifest_set *set)
{
	return errlist_count(&set->errors);
}

const struct manifest_function *manifest_set_find(const struct manifest_set *set, const char *name,
                                                  const char *region)
{
	for (size_t i = 0; i < set->n_functions; i++) {
		const struct manifest_function *f = &set->functions[i];
		if (!strcmp(f->name, name) && !strcmp(f->region ? f->region : "", region ? region : ""))
			return f;
	}
	return NULL;
}

int manifest_set_file_functions(const struct manifest_set *set, const char *path, const char ***ret_names,
                                size_t *ret_n)
{
	const char **v = calloc(set->n_functions + 1, sizeof(*v));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < set->n_functions; i++)
		if (!strcmp(set->functions[i].file, path))
			v[n++] = set->functions[i].name;
	*ret_names = v;
	*ret_n = n;
	return 0;
}

int manifest_code_read_zip(struct manifest_source *src, const struct manifest_code *code, struct buf *out,
                           struct error *err)
{
	size_t start = out->len;
	char sha[MANIFEST_SHA256_B64_SIZE];
	int r;

	if (code->kind != MANIFEST_CODE_ZIP || !code->zip_path)
		return error_set(err, -EINVAL, "release code is not a zip file");
	r = manifest_source_read(src, code->zip_path, (size_t)MANIFEST_ZIP_MAX, out, err);
	if (r < 0)
		return r;
	manifest_sha256_base64(out->ptr + start, out->len - start, sha);
	if (strcmp(sha, code->sha256)) {
		buf_truncate(out, start);
		return error_set(err, -EBADMSG, "%s changed since it was validated (SHA-256 %s, expected %s)",
		                 code->zip_path, sha, code->sha256);
	}
	return 0;
}
