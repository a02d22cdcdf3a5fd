/*
 * load_code.c - a release's `code:` (zipFile, s3, imageUri) and its SHA-256;
 * zip files are read and hashed once per snapshot (the loader's zip cache).
 */
#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/evp.h>
#include <openssl/sha.h>

#include "manifest/history.h"
#include "manifest/load_internal.h"
#include "util/codec.h"
#include "util/parse.h"

/* SHA-256 fetched once: SHA256() looks the algorithm up again on every call (a third of hashing a 1 KiB zip).
 */
static EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

void manifest_sha256_base64(const void *data, size_t len, char out[MANIFEST_SHA256_B64_SIZE])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	pthread_once(&sha256_once, sha256_fetch);
	if (!sha256_md || !EVP_Digest(data, len, md, NULL, sha256_md, NULL))
		SHA256(data, len, md); /* no provider object (out of memory): the slow way */
	codec_digest_base64(out, md);
}

static size_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

/* ---- the loader's zip cache, by path (one snapshot) ---- */

static size_t *zip_slot(struct loader *l, const char *path)
{
	size_t mask = l->zip_slots_cap - 1, i = str_hash(path) & mask;

	while (l->zip_slots[i] && strcmp(l->zips[l->zip_slots[i] - 1].path, path))
		i = (i + 1) & mask;
	return &l->zip_slots[i];
}

static struct zip_cache_entry *zip_cache_find(struct loader *l, const char *path)
{
	size_t *slot;

	if (!l->zip_slots_cap)
		return NULL;
	slot = zip_slot(l, path);
	return *slot ? &l->zips[*slot - 1] : NULL;
}

/* Index zips[l->n_zips - 1] (just appended). */
static int zip_cache_index(struct loader *l)
{
	if (l->n_zips * 2 > l->zip_slots_cap) {
		size_t ncap = l->zip_slots_cap ? l->zip_slots_cap * 2 : 64;
		size_t *nv = calloc(ncap, sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		free(l->zip_slots);
		l->zip_slots = nv;
		l->zip_slots_cap = ncap;
		for (size_t i = 0; i + 1 < l->n_zips; i++)
			*zip_slot(l, l->zips[i].path) = i + 1;
	}
	*zip_slot(l, l->zips[l->n_zips - 1].path) = l->n_zips;
	return 0;
}

/*
 * Normalise a zipFile value: drop "./" components and repeated slashes.
 * Returns a malloc'ed path, or NULL with *why set.
 */
static char *zip_path_normalise(const char *s, const char **why)
{
	size_t n = strlen(s), o = 0;
	char *out;
	const char *p = s;

	if (!n) {
		*why = "must not be empty";
		return NULL;
	}
	if (s[0] == '/') {
		*why = "must be a path relative to the repository root, not an absolute path";
		return NULL;
	}
	out = malloc(n + 1);
	if (!out) {
		*why = "out of memory";
		return NULL;
	}
	while (*p) {
		const char *c = p;
		size_t cl;

		while (*p && *p != '/')
			p++;
		cl = (size_t)(p - c);
		if (*p == '/')
			p++;
		if (cl == 0 || (cl == 1 && c[0] == '.'))
			continue;
		if (cl == 2 && c[0] == '.' && c[1] == '.') {
			free(out);
			*why = "must not contain \"..\" (the file must be inside the repository)";
			return NULL;
		}
		if (o)
			out[o++] = '/';
		memcpy(out + o, c, cl);
		o += cl;
	}
	out[o] = '\0';
	if (!o || !manifest_path_valid(out)) {
		free(out);
		*why = "is not a valid path to a file";
		return NULL;
	}
	return out;
}

/* Fill `ce` (its path set, status -EINVAL) from the snapshot: 0, or -ENOMEM. */
static int zip_entry_fill(struct loader *l, struct zip_cache_entry *ce)
{
	const char *norm = ce->path;
	struct error e = ERROR_INIT;
	struct buf data = BUF_INIT_CAP((size_t)MANIFEST_ZIP_MAX);
	uint64_t size;
	int r;

	r = manifest_source_stat(l->src, norm, &ce->type, &size, &e);
	if (r < 0) {
		snprintf(ce->msg, sizeof(ce->msg), "%.128s: %.200s", norm, e.msg);
		ce->transient = true;
		return r == -ENOMEM ? r : 0;
	}
	switch (ce->type) {
	case SOURCE_FILE:
		break;
	case SOURCE_MISSING:
		snprintf(ce->msg, sizeof(ce->msg), "%s does not exist in the repository", norm);
		break;
	case SOURCE_SYMLINK:
		snprintf(ce->msg, sizeof(ce->msg),
		         "%s is a symbolic link (symlinks are never followed: point at the file itself)",
		         norm);
		break;
	case SOURCE_SUBMODULE:
		snprintf(ce->msg, sizeof(ce->msg), "%s is a Git submodule (submodules are never followed)",
		         norm);
		break;
	case SOURCE_DIR:
		snprintf(ce->msg, sizeof(ce->msg), "%s is a directory, not a zip file", norm);
		break;
	default:
		snprintf(ce->msg, sizeof(ce->msg), "%s is not a regular file", norm);
		break;
	}
	if (ce->type == SOURCE_FILE && (l->opt.zip_cache || l->opt.file_cache) && l->src->ops->blob_id &&
	    l->src->ops->blob_id(l->src, norm, ce->blob, &e) < 0) {
		ce->blob[0] = '\0';
		ce->transient = true; /* no id: a file naming it is not cached */
	}
	if (ce->type != SOURCE_FILE && ce->type != SOURCE_MISSING)
		ce->transient = true; /* rare: not worth caching (a file naming it is parsed again) */
	if (ce->type == SOURCE_FILE && size > MANIFEST_ZIP_MAX)
		snprintf(ce->msg, sizeof(ce->msg),
		         "%s is %llu bytes, more than Lambda's direct upload limit of 50 MiB (52428800 "
		         "bytes): use s3",
		         norm, (unsigned long long)size);
	if (ce->msg[0])
		return 0;
	if (ce->blob[0] && manifest_zip_cache_get(l->opt.zip_cache, ce->blob, &ce->size, ce->sha256)) {
		ce->status = 0;
		return 0;
	}
	if (l->opt.zip_no_hash && l->src->ops->check) {
		/* no hash wanted: that it could be read is enough */
		r = l->src->ops->check(l->src, norm, (size_t)MANIFEST_ZIP_MAX, &size, &e);
	} else {
		r = manifest_source_read(l->src, norm, (size_t)MANIFEST_ZIP_MAX, &data, &e);
		size = data.len;
	}
	if (r < 0) {
		buf_release(&data);
		if (r == -ENOMEM)
			return r;
		snprintf(ce->msg, sizeof(ce->msg), "cannot read %.128s: %.200s", norm, e.msg);
		ce->transient = true;
		return 0;
	}
	ce->size = size;
	if (!l->opt.zip_no_hash)
		manifest_sha256_base64(data.ptr, data.len, ce->sha256);
	buf_release(&data);
	ce->status = 0;
	if (ce->blob[0] && manifest_zip_cache_put(l->opt.zip_cache, ce->blob, ce->size, ce->sha256) < 0)
		return -ENOMEM;
	return 0;
}

struct zip_cache_entry *load_zip_entry(struct loader *l, const char *norm)
{
	struct zip_cache_entry *ce = zip_cache_find(l, norm);

	if (ce)
		return ce;
	if (l->n_zips == l->zips_alloc) {
		size_t na = l->zips_alloc ? l->zips_alloc * 2 : 16;
		struct zip_cache_entry *p = realloc(l->zips, na * sizeof(*p));
		if (!p)
			return NULL;
		l->zips = p;
		l->zips_alloc = na;
	}
	ce = &l->zips[l->n_zips];
	memset(ce, 0, sizeof(*ce));
	ce->path = strdup(norm);
	if (!ce->path)
		return NULL;
	l->n_zips++;
	if (zip_cache_index(l) < 0)
		return NULL;
	ce->status = -EINVAL;
	return zip_entry_fill(l, ce) < 0 ? NULL : ce;
}

int load_zip_hash(struct loader *l, struct manifest_code *code)
{
	struct zip_cache_entry *ce;
	struct buf data = BUF_INIT_CAP((size_t)MANIFEST_ZIP_MAX);
	struct error e = ERROR_INIT;
	int r;

	if (code->kind != MANIFEST_CODE_ZIP || !code->zip_path || code->sha256[0])
		return 0;
	ce = zip_cache_find(l, code->zip_path);
	if (!ce || ce->status)
		return 0; /* reported where it is named */
	if (!ce->sha256[0]) {
		r = manifest_source_read(l->src, ce->path, (size_t)MANIFEST_ZIP_MAX, &data, &e);
		if (r == -ENOMEM)
			return r;
		if (r >= 0)
			manifest_sha256_base64(data.ptr, data.len, ce->sha256);
		buf_release(&data);
	}
	memcpy(code->sha256, ce->sha256, MANIFEST_SHA256_B64_SIZE);
	return 0;
}

/* The current file depends on zip entry `ce` (once), first named by `path` (in the arena). */
static int dep_add(struct loader *l, const struct zip_cache_entry *ce, char *path)
{
	size_t idx = (size_t)(ce - l->zips);

	for (size_t i = 0; i < l->n_deps; i++)
		if (l->deps[i].idx == idx)
			return 0;
	if (l->n_deps == l->deps_alloc) {
		size_t na = l->deps_alloc ? l->deps_alloc * 2 : 8;
		struct unit_dep *p = realloc(l->deps, na * sizeof(*p));

		if (!p)
			return -ENOMEM;
		l->deps = p;
		l->deps_alloc = na;
	}
	l->deps[l->n_deps++] = (struct unit_dep){idx, path};
	return 0;
}

static int parse_zip(struct loader *l, const struct yaml_node *n, const char *path,
                     struct manifest_code *code)
{
	struct zip_cache_entry *ce;
	const char *s, *why = NULL;
	char *norm;

	if (yaml_get_string(n, path, 4096, &s, l->errs) < 0)
		return -EINVAL;
	norm = zip_path_normalise(s, &why);
	if (!norm) {
		if (!strcmp(why, "out of memory"))
			return -ENOMEM;
		return ERR(n, "%s: \"%.128s\" %s", path, s, why);
	}
	code->zip_path = arena_strdup(l->arena, norm);
	ce = code->zip_path ? load_zip_entry(l, norm) : NULL;
	free(norm);
	if (!ce || dep_add(l, ce, code->zip_path) < 0)
		return -ENOMEM;
	if (ce->status)
		return ERR(n, "%s: %s", path, ce->msg);
	code->zip_size = ce->size;
	memcpy(code->sha256, ce->sha256, 45);
	return 0;
}

static bool bucket_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 3 || n > 63 || s[n - 1] == '.')
		return false;
	return load_name_ok(s, 63, ".-_");
}

static int parse_s3(struct loader *l, const struct yaml_node *n, const char *path, struct manifest_code *code)
{
	static const char *const keys[] = {"bucket", "key", "objectVersion", NULL};
	int bad = 0, r;

	if (yaml_expect_mapping(n, path, l->errs) < 0)
		return -EINVAL;
	if (yaml_check_keys(n, path, keys, l->errs) < 0)
		bad = 1;
	r = load_opt_shared(l, n, path, "bucket", 0, &code->s3_bucket);
	if (r == -ENOMEM)
		return r;
	if (r == 0) {
		load_missing(l, n, path, "bucket");
		bad = 1;
	} else if (r > 0 && !bucket_ok(code->s3_bucket)) {
		ERR(yaml_map_get(n, "bucket"), "%s.bucket: invalid S3 bucket name \"%.80s\"", path,
		    code->s3_bucket);
		bad = 1;
	} else if (r < 0) {
		bad = 1;
	}
	r = load_opt_string(l, n, path, "key", 1024, &code->s3_key);
	if (r == -ENOMEM)
		return r;
	if (r == 0) {
		load_missing(l, n, path, "key");
		bad = 1;
	} else if (r > 0 && !*code->s3_key) {
		ERR(yaml_map_get(n, "key"), "%s.key: must not be empty", path);
		bad = 1;
	} else if (r < 0) {
		bad = 1;
	}
	r = load_opt_shared(l, n, path, "objectVersion", 1024, &code->s3_object_version);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		bad = 1;
	return bad ? -EINVAL : 0;
}

static int parse_image(struct loader *l, const struct yaml_node *n, const char *path,
                       struct manifest_code *code)
{
	const char *s, *at;

	if (yaml_get_string(n, path, 1024, &s, l->errs) < 0)
		return -EINVAL;
	at = strstr(s, "@sha256:");
	if (!at || at == s || strlen(at + 8) != 64)
		return ERR(n,
		           "%s: must be pinned by digest (repository@sha256:<64 hex digits>), got \"%.128s\"",
		           path, s);
	for (const char *p = at + 8; *p; p++)
		if (!isdigit((unsigned char)*p) && !(*p >= 'a' && *p <= 'f'))
			return ERR(n, "%s: the digest must be 64 lower-case hex digits, got \"%.128s\"", path,
			           s);
	code->image_uri = arena_strdup(l->arena, s);
	if (!code->image_uri)
		return -ENOMEM;
	memcpy(code->sha256, at + 8, 64);
	code->sha256[64] = '\0';
	return 0;
}

int load_parse_code(struct loader *l, const struct yaml_node *n, const char *prefix,
                    struct manifest_code *code)
{
	static const char *const keys[] = {"zipFile", "s3", "imageUri", NULL};
	const struct yaml_node *zip, *s3, *img;
	char kp[KEYPATH_MAX];
	int given;

	if (yaml_expect_mapping(n, prefix, l->errs) < 0)
		return -EINVAL;
	yaml_check_keys(n, prefix, keys, l->errs);
	zip = yaml_map_get(n, "zipFile");
	s3 = yaml_map_get(n, "s3");
	img = yaml_map_get(n, "imageUri");
	given = !!zip + !!s3 + !!img;
	if (given == 0)
		return ERR(n, "%s: needs one of zipFile, s3, imageUri", prefix);
	if (given > 1)
		return ERR(n, "%s: give only one of zipFile, s3, imageUri", prefix);
	if (zip) {
		code->kind = MANIFEST_CODE_ZIP;
		load_keypath(kp, prefix, "zipFile");
		return parse_zip(l, zip, kp, code);
	}
	if (s3) {
		code->kind = MANIFEST_CODE_S3;
		load_keypath(kp, prefix, "s3");
		return parse_s3(l, s3, kp, code);
	}
	code->kind = MANIFEST_CODE_IMAGE;
	load_keypath(kp, prefix, "imageUri");
	return parse_image(l, img, kp, code);
}
