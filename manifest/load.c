/*
 * load.c - manifests of a snapshot -> validated model (DESIGN.md §1).
 *
 * Every problem is appended to set->errors as "file:line:col: key.path: what";
 * nothing stops at the first error.  See load.h for the isolation rules.
 */
#include "manifest/load.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/yaml.h"
#include "util/codec.h"
#include "util/parse.h"

#define KEYPATH_MAX 320

struct zip_cache_entry {
	char *path;
	uint64_t size;
	char sha256[MANIFEST_SHA256_B64_SIZE];
	int status; /* 0 ok, else `msg` says what is wrong */
	char msg[384];
};

struct loader {
	struct manifest_source *src;
	struct manifest_set *set;
	struct errlist *errs;
	size_t funcs_alloc;
	struct zip_cache_entry *zips;
	size_t n_zips, zips_alloc;
	size_t *zip_slots;    /* open addressing: index + 1 into zips, 0 = empty */
	size_t zip_slots_cap; /* power of two */
	struct manifest_load_options opt;
};

/* ---------------------------------------------------------------- helpers */

static char *xstrdup(const char *s)
{
	return s ? strdup(s) : NULL;
}

static bool all_digits(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s))
			return false;
	return true;
}

/* Every character of `s` in `charset` (letters/digits given by flags), length 1..max. */
static bool name_ok(const char *s, size_t max, const char *extra)
{
	size_t n = strlen(s);

	if (n < 1 || n > max)
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(extra, *s))
			return false;
	return true;
}

void manifest_sha256_base64(const void *data, size_t len, char out[MANIFEST_SHA256_B64_SIZE])
{
	unsigned char md[SHA256_DIGEST_LENGTH];

	SHA256(data, len, md);
	codec_digest_base64(out, md);
}

/* A SHA-256 as 64 hex digits or 44 base64 characters -> base64 in `out`. */
static int sha256_normalise(const char *s, char out[MANIFEST_SHA256_B64_SIZE])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	size_t n = strlen(s);

	if (n == 64) {
		if (codec_hex_decode(md, sizeof(md), s) < 0)
			return -EINVAL;
		codec_digest_base64(out, md);
		return 0;
	}
	if (n == 44 && s[43] == '=') {
		unsigned char tmp[48];

		for (size_t i = 0; i < 43; i++)
			if (codec_base64_digit((unsigned char)s[i]) < 0)
				return -EINVAL;
		if (EVP_DecodeBlock(tmp, (const unsigned char *)s, 44) != 33)
			return -EINVAL;
		/* re-encode: rejects non-canonical trailing bits */
		codec_digest_base64(out, tmp);
		return strcmp(out, s) ? -EINVAL : 0;
	}
	return -EINVAL;
}

static void keypath(char *out, const char *prefix, const char *key)
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

/* Error at `node` (or at `fallback` when node is NULL). */
#define ERR(node, ...) yaml_error(l->errs, (node), -EINVAL, __VA_ARGS__)

static void missing(struct loader *l, const struct yaml_node *map, const char *prefix, const char *key)
{
	if (prefix && *prefix)
		ERR(map, "%s: missing required key \"%s\"", prefix, key);
	else
		ERR(map, "missing required key \"%s\"", key);
}

/* Get an optional string; returns 1 if present and valid, 0 if absent, <0 on error. */
static int opt_string(struct loader *l, const struct yaml_node *map, const char *prefix, const char *key,
                      size_t max, char **ret)
{
	const struct yaml_node *n = yaml_map_get(map, key);
	char path[KEYPATH_MAX];
	const char *s;
	int r;

	if (!n)
		return 0;
	keypath(path, prefix, key);
	r = yaml_get_string(n, path, max, &s, l->errs);
	if (r < 0)
		return r;
	*ret = strdup(s);
	return *ret ? 1 : -ENOMEM;
}

/* ---------------------------------------------------------------- config */

static const char *const reserved_env[] = {
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    NULL,
};

static bool role_ok(const char *s)
{
	/* arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+ */
	const char *p;

	if (strncmp(s, "arn:", 4))
		return false;
	p = s + 4;
	if (!strncmp(p, "aws", 3)) {
		p += 3;
		while (isalpha((unsigned char)*p) || *p == '-')
			p++;
	}
	if (strncmp(p, ":iam::", 6))
		return false;
	p += 6;
	for (int i = 0; i < 12; i++, p++)
		if (!isdigit((unsigned char)*p))
			return false;
	if (strncmp(p, ":role/", 6))
		return false;
	p += 6;
	if (!*p)
		return false;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("+=,.@-_/", *p))
			return false;
	return strlen(s) <= 2048;
}

static int env_cmp(const void *a, const void *b)
{
	return strcmp(((const struct manifest_env_var *)a)->name, ((const struct manifest_env_var *)b)->name);
}

static void config_free(struct manifest_config *c)
{
	free(c->runtime);
	free(c->handler);
	free(c->role);
	free(c->description);
	for (size_t i = 0; i < c->n_env; i++) {
		free(c->env[i].name);
		free(c->env[i].value);
	}
	free(c->env);
	memset(c, 0, sizeof(*c));
}

static int config_copy(struct manifest_config *dst, const struct manifest_config *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->set = src->set;
	dst->memory_size = src->memory_size;
	dst->timeout = src->timeout;
	dst->ephemeral_storage = src->ephemeral_storage;
	dst->runtime = xstrdup(src->runtime);
	dst->handler = xstrdup(src->handler);
	dst->role = xstrdup(src->role);
	dst->description = xstrdup(src->description);
	if ((src->runtime && !dst->runtime) || (src->handler && !dst->handler) || (src->role && !dst->role) ||
	    (src->description && !dst->description))
		goto nomem;
	if (src->n_env) {
		dst->env = calloc(src->n_env, sizeof(*dst->env));
		if (!dst->env)
			goto nomem;
		for (size_t i = 0; i < src->n_env; i++) {
			dst->env[i].name = strdup(src->env[i].name);
			dst->env[i].value = strdup(src->env[i].value);
			dst->n_env = i + 1;
			if (!dst->env[i].name || !dst->env[i].value)
				goto nomem;
		}
	}
	return 0;
nomem:
	config_free(dst);
	return -ENOMEM;
}

/* Move the fields set in `over` into `base` (a release's overrides). */
static void config_overlay(struct manifest_config *base, struct manifest_config *over)
{
#define MOVE_STR(bit, field)                                                                                 \
	if (over->set & (bit)) {                                                                             \
		free(base->field);                                                                           \
		base->field = over->field;                                                                   \
		over->field = NULL;                                                                          \
	}
	MOVE_STR(MANIFEST_CFG_RUNTIME, runtime)
	MOVE_STR(MANIFEST_CFG_HANDLER, handler)
	MOVE_STR(MANIFEST_CFG_ROLE, role)
	MOVE_STR(MANIFEST_CFG_DESCRIPTION, description)
#undef MOVE_STR
	if (over->set & MANIFEST_CFG_MEMORY)
		base->memory_size = over->memory_size;
	if (over->set & MANIFEST_CFG_TIMEOUT)
		base->timeout = over->timeout;
	if (over->set & MANIFEST_CFG_EPHEMERAL)
		base->ephemeral_storage = over->ephemeral_storage;
	if (over->set & MANIFEST_CFG_ENVIRONMENT) {
		for (size_t i = 0; i < base->n_env; i++) {
			free(base->env[i].name);
			free(base->env[i].value);
		}
		free(base->env);
		base->env = over->env;
		base->n_env = over->n_env;
		over->env = NULL;
		over->n_env = 0;
	}
	base->set |= over->set;
}

static int parse_environment(struct loader *l, const struct yaml_node *n, const char *path,
                             struct manifest_config *c)
{
	size_t total = 0;
	int bad = 0;

	if (yaml_is_null(n))
		n = NULL; /* "environment:" with nothing: an empty map */
	if (n && yaml_expect_mapping(n, path, l->errs) < 0)
		return -EINVAL;
	c->set |= MANIFEST_CFG_ENVIRONMENT;
	if (!n || !n->n_pairs)
		return 0;
	c->env = calloc(n->n_pairs, sizeof(*c->env));
	if (!c->env)
		return -ENOMEM;
	for (size_t i = 0; i < n->n_pairs; i++) {
		const struct yaml_node *k = n->pairs[i].key, *v = n->pairs[i].value;
		char kp[KEYPATH_MAX];
		const char *val;
		bool key_ok;

		keypath(kp, path, k->str);
		key_ok = k->len == strlen(k->str) && k->len >= 2 && isalpha((unsigned char)k->str[0]) &&
		         name_ok(k->str, 1024, "_");
		if (!key_ok) {
			ERR(k,
			    "%s: invalid variable name (letters, digits and _, starting with a letter, at "
			    "least 2 characters)",
			    kp);
			bad = 1;
			continue;
		}
		for (size_t j = 0; reserved_env[j]; j++)
			if (!strcmp(k->str, reserved_env[j])) {
				ERR(k, "%s: %s is reserved by Lambda and cannot be set", kp, k->str);
				key_ok = false;
				bad = 1;
			}
		if (!key_ok)
			continue;
		if (v && yaml_is_null(v)) {
			ERR(v, "%s: expected a string, got null (write \"\" for an empty value)", kp);
			bad = 1;
			continue;
		}
		if (yaml_get_string(v, kp, 0, &val, l->errs) < 0) {
			bad = 1;
			continue;
		}
		total += k->len + strlen(val);
		c->env[c->n_env].name = strdup(k->str);
		c->env[c->n_env].value = strdup(val);
		c->n_env++;
		if (!c->env[c->n_env - 1].name || !c->env[c->n_env - 1].value)
			return -ENOMEM;
	}
	if (total > MANIFEST_ENV_MAX_BYTES) {
		ERR(n, "%s: variables total %zu bytes, more than Lambda's limit of %d", path, total,
		    MANIFEST_ENV_MAX_BYTES);
		bad = 1;
	}
	if (c->n_env)
		qsort(c->env, c->n_env, sizeof(*c->env), env_cmp);
	return bad ? -EINVAL : 0;
}

static int parse_config(struct loader *l, const struct yaml_node *n, const char *prefix,
                        struct manifest_config *c)
{
	static const char *const keys[] = {"runtime",     "handler",          "role",
	                                   "memorySize",  "timeout",          "environment",
	                                   "description", "ephemeralStorage", NULL};
	char kp[KEYPATH_MAX];
	const struct yaml_node *v;
	int64_t num;
	int r;

	memset(c, 0, sizeof(*c));
	if (yaml_expect_mapping(n, prefix, l->errs) < 0)
		return -EINVAL;
	yaml_check_keys(n, prefix, keys, l->errs);

	r = opt_string(l, n, prefix, "runtime", 0, &c->runtime);
	if (r == -ENOMEM)
		return r;
	if (r > 0) {
		if (!name_ok(c->runtime, 32, ".") || !islower((unsigned char)c->runtime[0]))
			ERR(yaml_map_get(n, "runtime"),
			    "%s.runtime: invalid runtime \"%.64s\" (e.g. python3.12, nodejs20.x, "
			    "provided.al2023)",
			    prefix, c->runtime);
		else
			c->set |= MANIFEST_CFG_RUNTIME;
	}
	r = opt_string(l, n, prefix, "handler", 128, &c->handler);
	if (r == -ENOMEM)
		return r;
	if (r > 0) {
		bool ok = *c->handler != '\0';
		for (const char *p = c->handler; *p; p++)
			if (isspace((unsigned char)*p))
				ok = false;
		if (!ok)
			ERR(yaml_map_get(n, "handler"), "%s.handler: must be non-empty with no spaces",
			    prefix);
		else
			c->set |= MANIFEST_CFG_HANDLER;
	}
	r = opt_string(l, n, prefix, "role", 0, &c->role);
	if (r == -ENOMEM)
		return r;
	if (r > 0) {
		if (!role_ok(c->role))
			ERR(yaml_map_get(n, "role"),
			    "%s.role: not an IAM role ARN (arn:aws:iam::123456789012:role/name), got "
			    "\"%.80s\"",
			    prefix, c->role);
		else
			c->set |= MANIFEST_CFG_ROLE;
	}
	r = opt_string(l, n, prefix, "description", MANIFEST_DESCRIPTION_MAX, &c->description);
	if (r == -ENOMEM)
		return r;
	if (r > 0)
		c->set |= MANIFEST_CFG_DESCRIPTION;

	keypath(kp, prefix, "memorySize");
	v = yaml_map_get(n, "memorySize");
	if (v && yaml_get_int(v, kp, MANIFEST_MEMORY_MIN, MANIFEST_MEMORY_MAX, &num, l->errs) == 0) {
		c->memory_size = (int)num;
		c->set |= MANIFEST_CFG_MEMORY;
	}
	keypath(kp, prefix, "timeout");
	v = yaml_map_get(n, "timeout");
	if (v && yaml_get_int(v, kp, MANIFEST_TIMEOUT_MIN, MANIFEST_TIMEOUT_MAX, &num, l->errs) == 0) {
		c->timeout = (int)num;
		c->set |= MANIFEST_CFG_TIMEOUT;
	}
	keypath(kp, prefix, "ephemeralStorage");
	v = yaml_map_get(n, "ephemeralStorage");
	if (v && yaml_get_int(v, kp, MANIFEST_EPHEMERAL_MIN, MANIFEST_EPHEMERAL_MAX, &num, l->errs) == 0) {
		c->ephemeral_storage = (int)num;
		c->set |= MANIFEST_CFG_EPHEMERAL;
	}
	keypath(kp, prefix, "environment");
	v = yaml_map_key(n, "environment");
	if (v) {
		r = parse_environment(l, yaml_map_get(n, "environment"), kp, c);
		if (r == -ENOMEM)
			return r;
	}
	return 0;
}

/* ---------------------------------------------------------------- code */

static size_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

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

static int parse_zip(struct loader *l, const struct yaml_node *n, const char *path,
                     struct manifest_code *code)
{
	struct zip_cache_entry *ce;
	enum source_type type;
	struct error e = ERROR_INIT;
	struct buf data = BUF_INIT_CAP((size_t)MANIFEST_ZIP_MAX);
	const char *s, *why = NULL;
	uint64_t size;
	char *norm;
	int r;

	if (yaml_get_string(n, path, 4096, &s, l->errs) < 0)
		return -EINVAL;
	norm = zip_path_normalise(s, &why);
	if (!norm)
		return ERR(n, "%s: \"%.128s\" %s", path, s, why);
	code->zip_path = norm;
	ce = zip_cache_find(l, norm);
	if (ce) {
		if (ce->status)
			return ERR(n, "%s: %s", path, ce->msg);
		code->zip_size = ce->size;
		memcpy(code->sha256, ce->sha256, 45);
		return 0;
	}
	if (l->n_zips == l->zips_alloc) {
		size_t na = l->zips_alloc ? l->zips_alloc * 2 : 16;
		struct zip_cache_entry *p = realloc(l->zips, na * sizeof(*p));
		if (!p)
			return -ENOMEM;
		l->zips = p;
		l->zips_alloc = na;
	}
	ce = &l->zips[l->n_zips];
	memset(ce, 0, sizeof(*ce));
	ce->path = strdup(norm);
	if (!ce->path)
		return -ENOMEM;
	l->n_zips++;
	if (zip_cache_index(l) < 0)
		return -ENOMEM;
	ce->status = -EINVAL;

	r = manifest_source_stat(l->src, norm, &type, &size, &e);
	if (r < 0) {
		snprintf(ce->msg, sizeof(ce->msg), "%.128s: %.200s", norm, e.msg);
		return ERR(n, "%s: %s", path, ce->msg);
	}
	switch (type) {
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
	if (type == SOURCE_FILE && size > MANIFEST_ZIP_MAX)
		snprintf(ce->msg, sizeof(ce->msg),
		         "%s is %llu bytes, more than Lambda's direct upload limit of 50 MiB (52428800 "
		         "bytes): use s3",
		         norm, (unsigned long long)size);
	if (ce->msg[0])
		return ERR(n, "%s: %s", path, ce->msg);
	r = manifest_source_read(l->src, norm, (size_t)MANIFEST_ZIP_MAX, &data, &e);
	if (r < 0) {
		buf_release(&data);
		if (r == -ENOMEM)
			return r;
		snprintf(ce->msg, sizeof(ce->msg), "cannot read %.128s: %.200s", norm, e.msg);
		return ERR(n, "%s: %s", path, ce->msg);
	}
	ce->size = data.len;
	manifest_sha256_base64(data.ptr, data.len, ce->sha256);
	buf_release(&data);
	ce->status = 0;
	code->zip_size = ce->size;
	memcpy(code->sha256, ce->sha256, 45);
	return 0;
}

static bool bucket_ok(const char *s)
{
	size_t n = strlen(s);

	if (n < 3 || n > 63 || s[n - 1] == '.')
		return false;
	return name_ok(s, 63, ".-_");
}

static int parse_s3(struct loader *l, const struct yaml_node *n, const char *path, struct manifest_code *code)
{
	static const char *const keys[] = {"bucket", "key", "objectVersion", NULL};
	int bad = 0, r;

	if (yaml_expect_mapping(n, path, l->errs) < 0)
		return -EINVAL;
	if (yaml_check_keys(n, path, keys, l->errs) < 0)
		bad = 1;
	r = opt_string(l, n, path, "bucket", 0, &code->s3_bucket);
	if (r == -ENOMEM)
		return r;
	if (r == 0) {
		missing(l, n, path, "bucket");
		bad = 1;
	} else if (r > 0 && !bucket_ok(code->s3_bucket)) {
		ERR(yaml_map_get(n, "bucket"), "%s.bucket: invalid S3 bucket name \"%.80s\"", path,
		    code->s3_bucket);
		bad = 1;
	} else if (r < 0) {
		bad = 1;
	}
	r = opt_string(l, n, path, "key", 1024, &code->s3_key);
	if (r == -ENOMEM)
		return r;
	if (r == 0) {
		missing(l, n, path, "key");
		bad = 1;
	} else if (r > 0 && !*code->s3_key) {
		ERR(yaml_map_get(n, "key"), "%s.key: must not be empty", path);
		bad = 1;
	} else if (r < 0) {
		bad = 1;
	}
	r = opt_string(l, n, path, "objectVersion", 1024, &code->s3_object_version);
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
	code->image_uri = strdup(s);
	if (!code->image_uri)
		return -ENOMEM;
	memcpy(code->sha256, at + 8, 64);
	code->sha256[64] = '\0';
	return 0;
}

static int parse_code(struct loader *l, const struct yaml_node *n, const char *prefix,
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
		keypath(kp, prefix, "zipFile");
		return parse_zip(l, zip, kp, code);
	}
	if (s3) {
		code->kind = MANIFEST_CODE_S3;
		keypath(kp, prefix, "s3");
		return parse_s3(l, s3, kp, code);
	}
	code->kind = MANIFEST_CODE_IMAGE;
	keypath(kp, prefix, "imageUri");
	return parse_image(l, img, kp, code);
}

/* ---------------------------------------------------------------- releases */

static void release_free(struct manifest_release *r)
{
	free(r->name);
	free(r->code.zip_path);
	free(r->code.s3_bucket);
	free(r->code.s3_key);
	free(r->code.s3_object_version);
	free(r->code.image_uri);
	free(r->description);
	config_free(&r->config);
}

static int parse_release(struct loader *l, struct manifest_function *f, const struct yaml_node *key,
                         const struct yaml_node *n, struct manifest_release *rel)
{
	static const char *const keys[] = {"code", "sha256", "description", "config", "version", NULL};
	static const char *const version_excludes[] = {"code", "sha256", "config", NULL};
	char prefix[KEYPATH_MAX], kp[KEYPATH_MAX];
	const struct yaml_node *v;
	int r;

	keypath(prefix, "releases", key->str);
	rel->line = key->line;
	rel->col = key->col;
	rel->name = strdup(key->str);
	if (!rel->name)
		return -ENOMEM;
	if (key->len != strlen(key->str) || !name_ok(key->str, 64, "._-"))
		ERR(key, "%s: invalid release name (1 to 64 letters, digits, '.', '_' or '-')", prefix);
	else if (all_digits(key->str))
		ERR(key, "%s: release names cannot be all digits (a number means a published version)",
		    prefix);

	if (yaml_expect_mapping(n, prefix, l->errs) < 0)
		return -EINVAL;
	yaml_check_keys(n, prefix, keys, l->errs);

	v = yaml_map_get(n, "version");
	if (v) {
		int64_t ver;

		keypath(kp, prefix, "version");
		if (yaml_get_int(v, kp, 1, 0xffffffffLL, &ver, l->errs) == 0)
			rel->version = ver;
		for (size_t i = 0; version_excludes[i]; i++) {
			const struct yaml_node *k = yaml_map_key(n, version_excludes[i]);
			if (k)
				ERR(k,
				    "%s.%s: not allowed with version (an adopted version is used as it is)",
				    prefix, version_excludes[i]);
		}
		r = opt_string(l, n, prefix, "description", MANIFEST_DESCRIPTION_MAX, &rel->description);
		if (r == -ENOMEM)
			return r;
		return 0;
	}

	r = opt_string(l, n, prefix, "description", MANIFEST_DESCRIPTION_MAX, &rel->description);
	if (r == -ENOMEM)
		return r;

	v = yaml_map_get(n, "code");
	if (!v) {
		missing(l, n, prefix, "code");
	} else {
		keypath(kp, prefix, "code");
		r = parse_code(l, v, kp, &rel->code);
		if (r == -ENOMEM)
			return r;
	}

	v = yaml_map_get(n, "sha256");
	keypath(kp, prefix, "sha256");
	if (v) {
		const char *s;
		char norm[MANIFEST_SHA256_B64_SIZE];

		if (yaml_get_string(v, kp, 0, &s, l->errs) == 0) {
			if (sha256_normalise(s, norm) < 0)
				ERR(v,
				    "%s: not a SHA-256 (64 hex digits or 44 base64 characters), got "
				    "\"%.80s\"",
				    kp, s);
			else if (rel->code.kind == MANIFEST_CODE_IMAGE)
				ERR(v, "%s: not used with imageUri (the image digest is the hash)", kp);
			else if (rel->code.kind == MANIFEST_CODE_ZIP && rel->code.sha256[0] &&
			         strcmp(norm, rel->code.sha256))
				ERR(v, "%s: does not match %s (its SHA-256 is %s)", kp, rel->code.zip_path,
				    rel->code.sha256);
			else if (rel->code.kind == MANIFEST_CODE_S3)
				memcpy(rel->code.sha256, norm, 45);
		}
	} else if (rel->code.kind == MANIFEST_CODE_S3) {
		ERR(n,
		    "%s: missing required key \"sha256\" (s3 code needs the SHA-256 of the zip, base64 or "
		    "hex)",
		    prefix);
	}

	/* effective config = function config + overrides */
	r = config_copy(&rel->config, &f->config);
	if (r < 0)
		return r;
	v = yaml_map_get(n, "config");
	if (v) {
		struct manifest_config over;

		keypath(kp, prefix, "config");
		r = parse_config(l, v, kp, &over);
		if (r == 0)
			config_overlay(&rel->config, &over);
		config_free(&over);
		if (r == -ENOMEM)
			return r;
	}
	return 0;
}

static int parse_releases(struct loader *l, struct manifest_function *f, const struct yaml_node *n)
{
	if (!n || yaml_is_null(n))
		return 0;
	if (yaml_expect_mapping(n, "releases", l->errs) < 0)
		return -EINVAL;
	if (!n->n_pairs)
		return 0;
	f->releases = calloc(n->n_pairs, sizeof(*f->releases));
	if (!f->releases)
		return -ENOMEM;
	for (size_t i = 0; i < n->n_pairs; i++) {
		int r =
		    parse_release(l, f, n->pairs[i].key, n->pairs[i].value, &f->releases[f->n_releases++]);
		if (r == -ENOMEM)
			return r;
	}
	return 0;
}

/* ---------------------------------------------------------------- aliases */

static void alias_free(struct manifest_alias *a)
{
	free(a->name);
	free(a->primary.release);
	free(a->weighted.release);
	free(a->description);
}

static int find_release(const struct manifest_function *f, const char *name, size_t *ret)
{
	for (size_t i = 0; i < f->n_releases; i++)
		if (!strcmp(f->releases[i].name, name)) {
			*ret = i;
			return 0;
		}
	return -ENOENT;
}

/*
 * A target written as a value or a weights key: a plain integer is a version
 * number, anything else a release name.  `force` 1: must be a release; 2: must
 * be a version (long form keys).
 */
static int parse_target(struct loader *l, const struct manifest_function *f, const struct yaml_node *n,
                        const char *path, int force, struct manifest_target *t)
{
	char q[160];

	if (!n)
		return -ENOENT;
	if (n->kind != YAML_KIND_SCALAR || yaml_is_null(n))
		return ERR(n, "%s: expected a release name or a version number, got %s", path,
		           yaml_describe(n));
	if (force == 2 || (force == 0 && yaml_is_int(n))) {
		int64_t v;

		if (!yaml_is_int(n))
			return ERR(n, "%s: expected a version number, got \"%.64s\"", path, n->str);
		if (parse_i64(n->str, INT64_MIN, INT64_MAX, &v, NULL) < 0 || v > 0xffffffffLL)
			return ERR(n, "%s: version number %.32s is too large", path, n->str);
		if (v < 1)
			return ERR(n, "%s: version numbers start at 1, got %s", path, n->str);
		t->version = v;
		return 0;
	}
	if (force == 1 && yaml_is_int(n))
		return ERR(n, "%s: %s is a version number: write version: %s", path, n->str, n->str);
	if (n->len != strlen(n->str))
		return ERR(n, "%s: must not contain a NUL character", path);
	if (find_release(f, n->str, &t->release_index) < 0) {
		snprintf(q, sizeof(q), "%.64s", n->str);
		if (all_digits(n->str))
			return ERR(n,
			           "%s: release \"%s\" is not declared (a quoted number is a release name: "
			           "write %s without quotes for version %s)",
			           path, q, q, q);
		return ERR(n, "%s: release \"%s\" is not declared in releases", path, q);
	}
	t->release = strdup(n->str);
	return t->release ? 0 : -ENOMEM;
}

static bool target_same(const struct manifest_target *a, const struct manifest_target *b)
{
	if (a->release && b->release)
		return !strcmp(a->release, b->release);
	if (!a->release && !b->release)
		return a->version == b->version;
	return false;
}

static int parse_alias(struct loader *l, const struct manifest_function *f, const struct yaml_node *key,
                       const struct yaml_node *n, struct manifest_alias *a)
{
	static const char *const keys[] = {"release", "version", "weights", "description", NULL};
	char prefix[KEYPATH_MAX], kp[KEYPATH_MAX];
	const struct yaml_node *rel, *ver, *w;
	int r;

	keypath(prefix, "aliases", key->str);
	a->line = key->line;
	a->col = key->col;
	a->name = strdup(key->str);
	if (!a->name)
		return -ENOMEM;
	if (key->len != strlen(key->str) || !name_ok(key->str, 128, "_-"))
		ERR(key, "%s: invalid alias name (1 to 128 letters, digits, '_' or '-')", prefix);
	else if (all_digits(key->str))
		ERR(key, "%s: alias names cannot be all digits", prefix);

	if (!n || n->kind != YAML_KIND_MAPPING) {
		r = parse_target(l, f, n, prefix, 0, &a->primary);
		return r == -ENOMEM ? r : 0;
	}
	yaml_check_keys(n, prefix, keys, l->errs);
	r = opt_string(l, n, prefix, "description", MANIFEST_DESCRIPTION_MAX, &a->description);
	if (r == -ENOMEM)
		return r;
	rel = yaml_map_get(n, "release");
	ver = yaml_map_get(n, "version");
	if (rel && ver) {
		ERR(yaml_map_key(n, "version"), "%s: give release or version, not both", prefix);
		return 0;
	}
	if (!rel && !ver) {
		ERR(n, "%s: missing required key \"release\" (or \"version\")", prefix);
		return 0;
	}
	keypath(kp, prefix, rel ? "release" : "version");
	r = parse_target(l, f, rel ? rel : ver, kp, rel ? 1 : 2, &a->primary);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return 0;

	w = yaml_map_get(n, "weights");
	keypath(kp, prefix, "weights");
	if (!w || yaml_is_null(w))
		return 0;
	if (yaml_expect_mapping(w, kp, l->errs) < 0)
		return 0;
	if (w->n_pairs == 0)
		return 0;
	if (w->n_pairs > 1) {
		ERR(w->pairs[1].key,
		    "%s: at most one additional version (Lambda routes to two versions at most)", kp);
		return 0;
	}
	{
		const struct yaml_node *wk = w->pairs[0].key, *wv = w->pairs[0].value;
		char wp[KEYPATH_MAX];
		double weight;

		keypath(wp, kp, wk->str);
		r = parse_target(l, f, wk, wp, 0, &a->weighted);
		if (r == -ENOMEM)
			return r;
		if (r < 0)
			return 0;
		if (target_same(&a->weighted, &a->primary)) {
			ERR(wk, "%s: the weighted version must differ from the primary", wp);
			return 0;
		}
		if (yaml_get_double(wv, wp, -1e300, 1e300, &weight, l->errs) < 0)
			return 0;
		if (!(weight > 0 && weight < 1)) {
			ERR(wv, "%s: weight must be between 0 and 1 (exclusive), got %s", wp, wv->str);
			return 0;
		}
		a->has_weight = true;
		a->weight = weight;
	}
	return 0;
}

static int parse_aliases(struct loader *l, struct manifest_function *f, const struct yaml_node *n)
{
	if (!n || yaml_is_null(n))
		return 0;
	if (yaml_expect_mapping(n, "aliases", l->errs) < 0)
		return -EINVAL;
	if (!n->n_pairs)
		return 0;
	f->aliases = calloc(n->n_pairs, sizeof(*f->aliases));
	if (!f->aliases)
		return -ENOMEM;
	for (size_t i = 0; i < n->n_pairs; i++) {
		int r = parse_alias(l, f, n->pairs[i].key, n->pairs[i].value, &f->aliases[f->n_aliases++]);
		if (r == -ENOMEM)
			return r;
	}
	return 0;
}

static void parse_prune(struct loader *l, struct manifest_function *f, const struct yaml_node *n)
{
	static const char *const keys[] = {"aliases", "keepVersions", NULL};
	const struct yaml_node *v;
	int64_t keep;
	bool b;

	f->prune.aliases = false;
	f->prune.keep_versions = -1;
	if (!n || yaml_is_null(n))
		return;
	if (yaml_expect_mapping(n, "prune", l->errs) < 0)
		return;
	yaml_check_keys(n, "prune", keys, l->errs);
	v = yaml_map_get(n, "aliases");
	if (v && yaml_get_bool(v, "prune.aliases", &b, l->errs) == 0)
		f->prune.aliases = b;
	v = yaml_map_get(n, "keepVersions");
	if (v && !yaml_is_null(v) && yaml_get_int(v, "prune.keepVersions", 0, 1000000, &keep, l->errs) == 0)
		f->prune.keep_versions = keep;
}

/* ---------------------------------------------------------------- function */

static void function_free(struct manifest_function *f)
{
	free(f->name);
	free(f->region);
	free(f->account);
	free(f->file);
	config_free(&f->config);
	for (size_t i = 0; i < f->n_releases; i++)
		release_free(&f->releases[i]);
	free(f->releases);
	for (size_t i = 0; i < f->n_aliases; i++)
		alias_free(&f->aliases[i]);
	free(f->aliases);
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
static int arn_parse(const char *s, char **ret_region, char **ret_account, const char **why)
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
	if (strlen(fields[4]) != 12 || !all_digits(fields[4])) {
		*why = "has an invalid account id (12 digits)";
		return -EINVAL;
	}
	if (!name_ok(fields[6], 64, "_-")) {
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

static struct manifest_function *function_add(struct loader *l)
{
	struct manifest_set *set = l->set;

	if (set->n_functions == l->funcs_alloc) {
		size_t na = l->funcs_alloc ? l->funcs_alloc * 2 : 16;
		struct manifest_function *p = realloc(set->functions, na * sizeof(*p));
		if (!p)
			return NULL;
		set->functions = p;
		l->funcs_alloc = na;
	}
	memset(&set->functions[set->n_functions], 0, sizeof(set->functions[0]));
	return &set->functions[set->n_functions++];
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
		missing(l, root, NULL, "apiVersion");
	else if (yaml_get_string(v, "apiVersion", 0, &s, l->errs) == 0 && strcmp(s, "aliasd/v1"))
		ERR(v, "apiVersion: unsupported \"%.64s\" (expected aliasd/v1)", s);
	v = yaml_map_get(root, "kind");
	if (!v)
		missing(l, root, NULL, "kind");
	else if (yaml_get_string(v, "kind", 0, &s, l->errs) == 0 && strcmp(s, "Function"))
		ERR(v, "kind: unsupported \"%.64s\" (expected Function)", s);

	name_node = yaml_map_get(root, "name");
	if (!name_node) {
		missing(l, root, NULL, "name");
		return 0;
	}
	if (yaml_get_string(name_node, "name", 0, &s, l->errs) < 0)
		return 0;

	f = function_add(l);
	if (!f)
		return -ENOMEM;
	f->name = strdup(s);
	f->file = strdup(path);
	if (!f->name || !f->file)
		return -ENOMEM;
	f->line = name_node->line;
	f->col = name_node->col;
	f->doc_index = doc->index;
	f->prune.keep_versions = -1;

	if (!strncmp(s, "arn:", 4)) {
		r = arn_parse(s, &region, &f->account, &why);
		if (r == -ENOMEM)
			return r;
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
	} else if (!name_ok(s, 64, "_-")) {
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
		else if (!region && !(region = strdup(s)))
			return -ENOMEM;
	}
	f->region = region;

	v = yaml_map_get(root, "config");
	if (v) {
		r = parse_config(l, v, "config", &f->config);
		if (r == -ENOMEM)
			return r;
	}
	r = parse_releases(l, f, yaml_map_get(root, "releases"));
	if (r == -ENOMEM)
		return r;
	r = parse_aliases(l, f, yaml_map_get(root, "aliases"));
	if (r == -ENOMEM)
		return r;
	parse_prune(l, f, yaml_map_get(root, "prune"));

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

/* ---------------------------------------------------------------- set */

/*
 * The identity of a declaration: bare function name, region and account,
 * after the load options' defaults.  A NULL region or account is unknown and
 * may be anything: two declarations are the same function unless their names
 * differ, or both regions are known and differ, or both accounts are known
 * and differ.  That relation is not transitive, so it is checked per name
 * with two orders: by (region, account) and by account alone, unknown first.
 */
struct fn_ident {
	const char *name, *region, *account;
	size_t i; /* index into set->functions */
};

static int nstrcmp(const char *a, const char *b)
{
	if (!a || !b)
		return !!a - !!b; /* unknown first */
	return strcmp(a, b);
}

static int ident_cmp_region(const void *pa, const void *pb)
{
	const struct fn_ident *a = pa, *b = pb;
	int c = strcmp(a->name, b->name);

	if (!c)
		c = nstrcmp(a->region, b->region);
	if (!c)
		c = nstrcmp(a->account, b->account);
	return c ? c : (a->i > b->i) - (a->i < b->i);
}

static int ident_cmp_account(const void *pa, const void *pb)
{
	const struct fn_ident *a = pa, *b = pb;
	int c = strcmp(a->name, b->name);

	if (!c)
		c = nstrcmp(a->account, b->account);
	return c ? c : (a->i > b->i) - (a->i < b->i);
}

static const char *bare_name(const struct manifest_function *f)
{
	const char *p;

	/* only a valid ARN has an account; its name is the last field */
	if (f->account && (p = strrchr(f->name, ':')))
		return p + 1;
	return f->name;
}

/* First index in [lo, hi) whose field (region or account) is not below `key`. */
static size_t ident_lower(const struct fn_ident *v, size_t lo, size_t hi, bool by_region, const char *key)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *k = by_region ? v[mid].region : v[mid].account;

		if (nstrcmp(k, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * In [lo, hi) of `v` (one name, and one region or all regions: sorted by
 * account, the unknown ones first), a declaration other than `e` whose account may be
 * e's, or NULL.
 */
static const struct fn_ident *ident_witness(const struct fn_ident *v, size_t lo, size_t hi,
                                            const struct fn_ident *e)
{
	size_t k;

	if (lo >= hi)
		return NULL;
	if (!e->account || !v[lo].account) { /* anything in the range matches */
		if (v[lo].i != e->i)
			return &v[lo];
		return lo + 1 < hi ? &v[lo + 1] : NULL;
	}
	k = ident_lower(v, lo, hi, false, e->account);
	for (; k < hi && !nstrcmp(v[k].account, e->account); k++)
		if (v[k].i != e->i)
			return &v[k];
	return NULL;
}

/* A declaration that may be the same function as `e`, or NULL. */
static const struct fn_ident *ident_conflict(const struct fn_ident *by_r, const struct fn_ident *by_a,
                                             size_t lo, size_t hi, const struct fn_ident *e)
{
	const struct fn_ident *w;
	size_t r_lo, r_hi, n_lo;

	if (!e->region) /* any region: search the whole name group by account */
		return ident_witness(by_a, lo, hi, e);
	/* its own region, then the declarations whose region is unknown */
	r_lo = ident_lower(by_r, lo, hi, true, e->region);
	for (r_hi = r_lo; r_hi < hi && !nstrcmp(by_r[r_hi].region, e->region); r_hi++)
		;
	w = ident_witness(by_r, r_lo, r_hi, e);
	if (w)
		return w;
	for (n_lo = lo; n_lo < hi && !by_r[n_lo].region; n_lo++)
		;
	return ident_witness(by_r, lo, n_lo, e);
}

static void report_duplicate(struct loader *l, struct manifest_function *f, const struct manifest_function *o)
{
	const char *fr = f->region, * or = o->region;

	if (!strcmp(f->name, o->name) && !nstrcmp(fr, or)) {
		errlist_add(l->errs, -EINVAL, f->file, f->line, f->col,
		            "name: function \"%.128s\" is declared more than once (also at %s:%u:%u)",
		            f->name, o->file, o->line, o->col);
	} else {
		char where[160] = "";

		if (!fr != ! or)
			snprintf(where, sizeof(where),
			         "; %s gives no region and the default region %s%s: give the region in both",
			         fr ? "that one" : "this one", l->opt.default_region ? "is " : "may be ",
			         fr ? fr : or);
		errlist_add(l->errs, -EINVAL, f->file, f->line, f->col,
		            "name: function \"%.128s\" is declared more than once (also at %s:%u:%u as "
		            "\"%.128s\"%s%s%s)",
		            f->name, o->file, o->line, o->col, o->name, or ? " in " : "", or ? or : "",
		            where);
	}
	f->n_errors++;
}

static int check_duplicate_functions(struct loader *l)
{
	struct manifest_set *set = l->set;
	size_t n = set->n_functions;
	struct fn_ident *by_r, *by_a;
	const struct manifest_function **other;

	if (n < 2)
		return 0;
	by_r = calloc(n, sizeof(*by_r));
	by_a = calloc(n, sizeof(*by_a));
	other = calloc(n, sizeof(*other));
	if (!by_r || !by_a || !other) {
		free(by_r);
		free(by_a);
		free(other);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const struct manifest_function *f = &set->functions[i];

		by_r[i].name = bare_name(f);
		by_r[i].region = f->region ? f->region : l->opt.default_region;
		by_r[i].account = f->account ? f->account : l->opt.default_account;
		by_r[i].i = i;
	}
	memcpy(by_a, by_r, n * sizeof(*by_a));
	qsort(by_r, n, sizeof(*by_r), ident_cmp_region);
	qsort(by_a, n, sizeof(*by_a), ident_cmp_account);
	/* both orders group by name first: the groups have the same bounds */
	for (size_t lo = 0, hi; lo < n; lo = hi) {
		for (hi = lo + 1; hi < n && !strcmp(by_r[hi].name, by_r[lo].name); hi++)
			;
		for (size_t k = lo; hi - lo > 1 && k < hi; k++) {
			const struct fn_ident *w = ident_conflict(by_r, by_a, lo, hi, &by_r[k]);

			if (w)
				other[by_r[k].i] = &set->functions[w->i];
		}
	}
	/* report in file order: the errors are sorted later anyway */
	for (size_t i = 0; i < n; i++)
		if (other[i])
			report_duplicate(l, &set->functions[i], other[i]);
	free(by_r);
	free(by_a);
	free(other);
	return 0;
}

static bool path_hidden(const char *p)
{
	if (*p == '.')
		return true;
	for (; *p; p++)
		if (p[0] == '/' && p[1] == '.')
			return true;
	return false;
}

static int load_file(struct loader *l, const char *path, struct manifest_file *file)
{
	struct yaml_limits lim = YAML_LIMITS_MANIFEST;
	struct buf data = BUF_INIT_CAP(MANIFEST_FILE_MAX);
	struct yaml_stream *stream = NULL;
	struct error e = ERROR_INIT;
	int r;

	r = manifest_source_read(l->src, path, MANIFEST_FILE_MAX, &data, &e);
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
		errlist_add(l->errs, r, path, 0, 0, "cannot read: %s", e.msg);
		file->broken = true;
		r = 0;
		goto out;
	}
	r = yaml_stream_parse(&stream, path, data.ptr, data.len, &lim, l->errs);
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
	yaml_stream_free(stream);
	buf_release(&data);
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

int manifest_load_with(struct manifest_set **ret_set, struct manifest_source *src, const char *subdir,
                       const struct manifest_load_options *opt, struct error *err)
{
	struct loader l = {0};
	struct manifest_set *set;
	enum source_type type;
	uint64_t size;
	char **paths = NULL, *dir = NULL;
	size_t n_paths = 0;
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
	l.errs = &set->errors;

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
	set->files = calloc(n_paths + 1, sizeof(*set->files));
	if (!set->files) {
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_paths; i++) {
		struct manifest_file *file;

		if (path_hidden(paths[i]))
			continue; /* .github/ workflows and friends are not manifests */
		file = &set->files[set->n_files++];
		file->path = paths[i];
		paths[i] = NULL;
		r = load_file(&l, file->path, file);
		if (r < 0) {
			error_set(err, r, "%s: %s", file->path, strerror(-r));
			goto out;
		}
	}
	r = check_duplicate_functions(&l);
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
	r = 0;
out:
	manifest_paths_free(paths, n_paths);
	for (size_t i = 0; i < l.n_zips; i++)
		free(l.zips[i].path);
	free(l.zips);
	free(l.zip_slots);
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
	for (size_t i = 0; i < set->n_functions; i++)
		function_free(&set->functions[i]);
	free(set->functions);
	for (size_t i = 0; i < set->n_files; i++)
		free(set->files[i].path);
	free(set->files);
	errlist_free(&set->errors);
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
