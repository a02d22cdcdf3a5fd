/*
 * load_release.c - `releases:`, `aliases:` (targets and weights) and `prune:`.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/codec.h"
#include "manifest/load_internal.h"
#include "util/parse.h"

/* A release copied with malloc (history.c's copies; the model's live in an arena). */
void load_release_release(struct manifest_release *r)
{
	free(r->name);
	free(r->code.zip_path);
	free(r->code.s3_bucket);
	free(r->code.s3_key);
	free(r->code.s3_object_version);
	free(r->code.image_uri);
	free(r->description);
	load_config_release(&r->config);
}

static int parse_release(struct loader *l, struct manifest_function *f, const struct yaml_node *key,
                         const struct yaml_node *n, struct manifest_release *rel)
{
	static const char *const keys[] = {"code", "sha256", "description", "config", "version", NULL};
	static const char *const version_excludes[] = {"code", "sha256", "config", NULL};
	char prefix[KEYPATH_MAX], kp[KEYPATH_MAX];
	const struct yaml_node *v;
	int r;

	load_keypath(prefix, "releases", key->str);
	rel->line = key->line;
	rel->col = key->col;
	rel->name = load_shared(l, key->str);
	if (!rel->name)
		return -ENOMEM;
	if (key->len != strlen(key->str) || !load_name_ok(key->str, 64, "._-"))
		ERR(key, "%s: invalid release name (1 to 64 letters, digits, '.', '_' or '-')", prefix);
	else if (load_all_digits(key->str))
		ERR(key, "%s: release names cannot be all digits (a number means a published version)",
		    prefix);

	if (yaml_expect_mapping(n, prefix, l->errs) < 0)
		return -EINVAL;
	yaml_check_keys(n, prefix, keys, l->errs);

	v = yaml_map_get(n, "version");
	if (v) {
		int64_t ver;

		load_keypath(kp, prefix, "version");
		if (yaml_get_int(v, kp, 1, 0xffffffffLL, &ver, l->errs) == 0)
			rel->version = ver;
		for (size_t i = 0; version_excludes[i]; i++) {
			const struct yaml_node *k = yaml_map_key(n, version_excludes[i]);
			if (k)
				ERR(k,
				    "%s.%s: not allowed with version (an adopted version is used as it is)",
				    prefix, version_excludes[i]);
		}
		r = load_opt_shared(l, n, prefix, "description", MANIFEST_DESCRIPTION_MAX, &rel->description);
		if (r == -ENOMEM)
			return r;
		return 0;
	}

	r = load_opt_shared(l, n, prefix, "description", MANIFEST_DESCRIPTION_MAX, &rel->description);
	if (r == -ENOMEM)
		return r;

	v = yaml_map_get(n, "code");
	if (!v) {
		load_missing(l, n, prefix, "code");
	} else {
		load_keypath(kp, prefix, "code");
		r = load_parse_code(l, v, kp, &rel->code);
		if (r == -ENOMEM)
			return r;
	}

	v = yaml_map_get(n, "sha256");
	load_keypath(kp, prefix, "sha256");
	if (v) {
		const char *s;
		char norm[MANIFEST_SHA256_B64_SIZE];

		if (yaml_get_string(v, kp, 0, &s, l->errs) == 0) {
			if (codec_sha256_normalise(norm, s) < 0)
				ERR(v,
				    "%s: not a SHA-256 (64 hex digits or 44 base64 characters), got "
				    "\"%.80s\"",
				    kp, s);
			else if (rel->code.kind == MANIFEST_CODE_IMAGE)
				ERR(v, "%s: not used with imageUri (the image digest is the hash)", kp);
			else if (rel->code.kind == MANIFEST_CODE_ZIP && load_zip_hash(l, &rel->code) < 0)
				return -ENOMEM;
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

	/* effective config = function config + overrides (sharing the function's strings) */
	rel->config = f->config;
	v = yaml_map_get(n, "config");
	if (v) {
		struct manifest_config over;

		load_keypath(kp, prefix, "config");
		r = load_parse_config(l, v, kp, &over);
		if (r == 0)
			load_config_overlay(&rel->config, &over);
		if (r == -ENOMEM)
			return r;
	}
	return 0;
}

int load_parse_releases(struct loader *l, struct manifest_function *f, const struct yaml_node *n)
{
	if (!n || yaml_is_null(n))
		return 0;
	if (yaml_expect_mapping(n, "releases", l->errs) < 0)
		return -EINVAL;
	if (!n->n_pairs)
		return 0;
	f->releases = arena_calloc(l->arena, n->n_pairs, sizeof(*f->releases));
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
		if (load_all_digits(n->str))
			return ERR(n,
			           "%s: release \"%s\" is not declared (a quoted number is a release name: "
			           "write %s without quotes for version %s)",
			           path, q, q, q);
		return ERR(n, "%s: release \"%s\" is not declared in releases", path, q);
	}
	t->release = f->releases[t->release_index].name; /* the same string */
	return 0;
}

static bool target_same(const struct manifest_target *a, const struct manifest_target *b)
{
	if (a->release && b->release)
		return !strcmp(a->release, b->release);
	if (!a->release && !b->release)
		return a->version == b->version;
	return false;
}

/* `rollout:` of a long-form alias, and the keys it excludes. */
static int parse_alias_rollout(struct loader *l, const struct manifest_function *f, const struct yaml_node *n,
                               const char *prefix, struct manifest_alias *a)
{
	const struct yaml_node *key = yaml_map_key(n, "rollout"), *k, *w;
	int r;

	if (!key)
		return 0;
	r = load_parse_rollout(l, f, key, yaml_map_get(n, "rollout"), prefix, &a->rollout);
	if (r < 0 || !a->rollout)
		return r;
	w = yaml_map_get(n, "weights");
	if (w && !yaml_is_null(w) && !(w->kind == YAML_KIND_MAPPING && !w->n_pairs))
		ERR(yaml_map_key(n, "weights"),
		    "%s.weights: an alias with weights cannot declare a rollout: the rollout sets the "
		    "weights",
		    prefix);
	k = yaml_map_key(n, "description");
	if (k)
		ERR(k,
		    "%s.description: not allowed with rollout: the description of a rollout alias "
		    "records its progress (README, Rollouts)",
		    prefix);
	return 0;
}

static int parse_alias(struct loader *l, const struct manifest_function *f, const struct yaml_node *key,
                       const struct yaml_node *n, struct manifest_alias *a)
{
	static const char *const keys[] = {"release", "version", "weights", "description", "rollout", NULL};
	char prefix[KEYPATH_MAX], kp[KEYPATH_MAX];
	const struct yaml_node *rel, *ver, *w;
	int r;

	load_keypath(prefix, "aliases", key->str);
	a->line = key->line;
	a->col = key->col;
	a->name = load_shared(l, key->str);
	if (!a->name)
		return -ENOMEM;
	if (key->len != strlen(key->str) || !load_name_ok(key->str, 128, "_-"))
		ERR(key, "%s: invalid alias name (1 to 128 letters, digits, '_' or '-')", prefix);
	else if (load_all_digits(key->str))
		ERR(key, "%s: alias names cannot be all digits", prefix);

	if (!n || n->kind != YAML_KIND_MAPPING) {
		r = parse_target(l, f, n, prefix, 0, &a->primary);
		return r == -ENOMEM ? r : 0;
	}
	yaml_check_keys(n, prefix, keys, l->errs);
	r = load_opt_shared(l, n, prefix, "description", MANIFEST_DESCRIPTION_MAX, &a->description);
	if (r == -ENOMEM)
		return r;
	r = parse_alias_rollout(l, f, n, prefix, a);
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
	load_keypath(kp, prefix, rel ? "release" : "version");
	r = parse_target(l, f, rel ? rel : ver, kp, rel ? 1 : 2, &a->primary);
	if (r == -ENOMEM)
		return r;
	if (r < 0)
		return 0;

	w = yaml_map_get(n, "weights");
	load_keypath(kp, prefix, "weights");
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

		load_keypath(wp, kp, wk->str);
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

int load_parse_aliases(struct loader *l, struct manifest_function *f, const struct yaml_node *n)
{
	if (!n || yaml_is_null(n))
		return 0;
	if (yaml_expect_mapping(n, "aliases", l->errs) < 0)
		return -EINVAL;
	if (!n->n_pairs)
		return 0;
	f->aliases = arena_calloc(l->arena, n->n_pairs, sizeof(*f->aliases));
	if (!f->aliases)
		return -ENOMEM;
	for (size_t i = 0; i < n->n_pairs; i++) {
		int r = parse_alias(l, f, n->pairs[i].key, n->pairs[i].value, &f->aliases[f->n_aliases++]);
		if (r == -ENOMEM)
			return r;
	}
	return 0;
}

void load_parse_prune(struct loader *l, struct manifest_function *f, const struct yaml_node *n)
{
	static const char *const keys[] = {"aliases", "keepVersions", "keepHistory", NULL};
	const struct yaml_node *v, *h;
	int64_t keep;
	bool b;

	f->prune.aliases = false;
	f->prune.keep_versions = -1;
	f->prune.keep_history = 0;
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
	h = yaml_map_get(n, "keepHistory");
	if (!h || yaml_is_null(h))
		return;
	/* "prune.keepHistory: must be between 1 and 100, got 0" */
	if (yaml_get_int(h, "prune.keepHistory", 1, MANIFEST_KEEP_HISTORY_MAX, &keep, l->errs) < 0)
		return;
	/* history only narrows what keepVersions deletes: alone it would mean nothing */
	if (!v || yaml_is_null(v))
		ERR(yaml_map_key(n, "keepHistory"),
		    "prune.keepHistory needs keepVersions: keepHistory only keeps versions that "
		    "keepVersions would delete (add keepVersions: N)");
	else
		f->prune.keep_history = keep;
}
