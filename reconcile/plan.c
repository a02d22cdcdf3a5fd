/*
 * plan.c - plan the steps from (desired, observed), and render them (pure; see plan.h).
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/plan.h"
#include "util/codec.h"

const char *const plan_cfg_names[PLAN_CFG_N] = {
    "runtime", "handler", "role", "memorySize", "timeout", "environment", "ephemeralStorage", "description",
};

const char *const plan_cfg_api_names[PLAN_CFG_N] = {
    "Runtime", "Handler", "Role", "MemorySize", "Timeout", "Environment", "EphemeralStorage", "Description",
};

#define WEIGHT_EPSILON 1e-6

bool plan_step_is_write(enum plan_step_kind kind)
{
	return kind != PLAN_STEP_WAIT_UPDATED && kind != PLAN_STEP_WAIT_VERSION &&
	       kind != PLAN_STEP_ROLLOUT_HELD;
}

const char *plan_step_kind_name(enum plan_step_kind kind)
{
	switch (kind) {
	case PLAN_STEP_CREATE_FUNCTION:
		return "create-function";
	case PLAN_STEP_WAIT_UPDATED:
		return "wait-updated";
	case PLAN_STEP_UPDATE_CODE:
		return "update-code";
	case PLAN_STEP_UPDATE_CONFIG:
		return "update-config";
	case PLAN_STEP_PUBLISH:
		return "publish";
	case PLAN_STEP_WAIT_VERSION:
		return "wait-version";
	case PLAN_STEP_CREATE_ALIAS:
		return "create-alias";
	case PLAN_STEP_UPDATE_ALIAS:
		return "update-alias";
	case PLAN_STEP_DELETE_ALIAS:
		return "delete-alias";
	case PLAN_STEP_DELETE_VERSION:
		return "delete-version";
	case PLAN_STEP_ROLLOUT:
		return "rollout";
	case PLAN_STEP_ROLLOUT_HELD:
		return "rollout-held";
	}
	return "unknown";
}

size_t plan_count_writes(const struct plan *p)
{
	size_t n = 0;

	for (size_t i = 0; i < p->n_steps; i++)
		if (plan_step_is_write(p->steps[i].kind))
			n++;
	return n;
}

/* ---- freeing ---- */

static void code_free(struct plan_code *c)
{
	free(c->zip_path);
	free(c->s3_bucket);
	free(c->s3_key);
	free(c->s3_version);
	free(c->image_uri);
}

void plan_desired_release(struct plan_desired *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n_releases; i++) {
		free(d->releases[i].name);
		code_free(&d->releases[i].code);
		plan_config_release(&d->releases[i].config);
		free(d->releases[i].description);
	}
	free(d->releases);
	for (size_t i = 0; i < d->n_aliases; i++) {
		free(d->aliases[i].name);
		free(d->aliases[i].description);
	}
	free(d->aliases);
	for (size_t i = 0; i < d->n_history; i++) {
		free(d->history[i].name);
		code_free(&d->history[i].code);
		plan_config_release(&d->history[i].config);
		free(d->history[i].description);
	}
	free(d->history);
	free(d->function);
	free(d->commit);
	memset(d, 0, sizeof(*d));
	d->keep_versions = -1;
}

void plan_version_release(struct plan_version *v)
{
	if (!v)
		return;
	plan_config_release(&v->config);
	free(v->description);
	v->description = NULL;
}

void plan_observed_release(struct plan_observed *o)
{
	if (!o)
		return;
	plan_version_release(&o->latest);
	for (size_t i = 0; i < o->n_versions; i++)
		plan_version_release(&o->versions[i]);
	free(o->versions);
	for (size_t i = 0; i < o->n_aliases; i++) {
		free(o->aliases[i].name);
		free(o->aliases[i].description);
	}
	free(o->aliases);
	memset(o, 0, sizeof(*o));
}

void plan_release(struct plan *p)
{
	if (!p)
		return;
	free(p->steps);
	free(p->resolved);
	free(p->same_as);
	p->steps = NULL;
	p->resolved = NULL;
	p->same_as = NULL;
	p->n_steps = p->n_resolved = 0;
}

void plan_resolution_set(struct plan *p, size_t release, long version)
{
	if (release >= p->n_resolved)
		return;
	p->resolved[release] = version;
	for (size_t k = 0; p->same_as && k < p->n_resolved; k++)
		if (p->same_as[k] == (long)release)
			p->resolved[k] = version < 0 ? -version : version;
}

/* Would a version published for `a` also resolve `b`? */
static bool same_release(const struct plan_release *a, const struct plan_release *b)
{
	if (a->pin > 0 || b->pin > 0 || a->code.kind == PLAN_CODE_NONE || b->code.kind == PLAN_CODE_NONE)
		return false;
	if (strcmp(a->code.sha256, b->code.sha256))
		return false;
	/* every field b manages, a sets to the same value (a's description never counts) */
	for (int f = 0; f < PLAN_CFG_N; f++) {
		if (f == PLAN_CFG_DESCRIPTION || !(b->config.mask & (1u << f)))
			continue;
		if (!(a->config.mask & (1u << f)) || strcmp(a->config.val[f], b->config.val[f]))
			return false;
	}
	return true;
}

/* ---- build ---- */

struct builder {
	struct plan_step *steps;
	size_t n, alloc;
};

static int add_step(struct builder *b, enum plan_step_kind kind, long release, long alias, long obs_alias,
                    long version, unsigned mask)
{
	if (b->n == b->alloc) {
		size_t na = b->alloc ? b->alloc * 2 : 16;
		struct plan_step *ns = realloc(b->steps, na * sizeof(*ns));

		if (!ns)
			return -ENOMEM;
		b->steps = ns;
		b->alloc = na;
	}
	b->steps[b->n++] = (struct plan_step){kind, release, alias, obs_alias, version, mask};
	return 0;
}

/* Version a ref resolves to: > 0 known, 0 published by this plan. */
static long ref_version(const struct plan_ref *ref, const long *resolved)
{
	return ref->release >= 0 ? resolved[ref->release] : ref->version;
}

static int ref_check(const struct plan_ref *ref, const struct plan_desired *d, const struct plan_observed *o,
                     const char *alias, struct error *err)
{
	if (ref->release >= 0) {
		if ((size_t)ref->release >= d->n_releases)
			return error_set(err, -EINVAL, "alias %s: release index out of range", alias);
		return 0;
	}
	if (ref->version <= 0)
		return error_set(err, -EINVAL, "alias %s: invalid version %ld", alias, ref->version);
	if (!o->exists || !plan_version_find(o, ref->version))
		return error_set(err, -ENOENT, "alias %s: version %ld is not published", alias, ref->version);
	return 0;
}

static const struct plan_observed_alias *obs_alias_find(const struct plan_observed *o, const char *name,
                                                        long *ret_idx)
{
	for (size_t i = 0; i < o->n_aliases; i++) {
		if (!strcmp(o->aliases[i].name, name)) {
			*ret_idx = (long)i;
			return &o->aliases[i];
		}
	}
	*ret_idx = -1;
	return NULL;
}

static bool alias_in_sync(const struct plan_alias *a, const struct plan_observed_alias *oa,
                          const long *resolved)
{
	long pv = ref_version(&a->primary, resolved);

	if (pv <= 0 || oa->version != pv)
		return false;
	if (a->weighted) {
		long ev = ref_version(&a->extra, resolved);

		if (ev <= 0 || oa->extra_version != ev || fabs(oa->weight - a->weight) > WEIGHT_EPSILON)
			return false;
	} else if (oa->extra_version != 0) {
		return false;
	}
	if (!a->has_rollout && a->description &&
	    strcmp(a->description, oa->description ? oa->description : ""))
		return false;
	return true;
}

/* The rollout record an observed alias's description holds, or state ROLLOUT_NONE. */
static struct rollout_progress observed_record(const struct plan_observed_alias *oa)
{
	struct rollout_progress rec = {0};

	if (oa && oa->description)
		(void)rollout_progress_parse(oa->description, strlen(oa->description), &rec, NULL);
	return rec;
}

/*
 * A rollout alias that exists: PLAN_STEP_ROLLOUT, PLAN_STEP_ROLLOUT_HELD, or
 * -1 for nothing to do (see plan.h).
 */
static int rollout_step_kind(const struct plan_desired *d, const struct plan_alias *a,
                             const struct plan_observed_alias *oa, const long *resolved)
{
	struct rollout_progress rec = observed_record(oa);
	long b = ref_version(&a->primary, resolved);

	if (a->command != ROLLOUT_CMD_NONE || rec.state == ROLLOUT_PROGRESSING)
		return PLAN_STEP_ROLLOUT;
	if (rec.state == ROLLOUT_ROLLED_BACK && b > 0 && rec.to == (unsigned long)b &&
	    !strcmp(rec.desired_id, d->desired_id) &&
	    (!rec.from || (oa->version == (long)rec.from && oa->extra_version == 0)))
		return PLAN_STEP_ROLLOUT_HELD;
	if (alias_in_sync(a, oa, resolved))
		return -1;
	return PLAN_STEP_ROLLOUT;
}

static bool alias_declared(const struct plan_desired *d, const char *name)
{
	for (size_t i = 0; i < d->n_aliases; i++)
		if (!strcmp(d->aliases[i].name, name))
			return true;
	return false;
}

int plan_build(struct plan *ret, const struct plan_desired *d, const struct plan_observed *o,
               struct error *err)
{
	struct builder b = {0};
	long *resolved = NULL, *same_as = NULL;
	const char *sim_sha;              /* $LATEST code as it will be */
	struct plan_config sim_cfg = {0}; /* $LATEST config as it will be */
	bool need_wait;
	size_t n_publish = 0;
	int r;

	if (d->n_releases > PLAN_MAX_RELEASES || d->n_aliases > PLAN_MAX_ALIASES)
		return error_set(err, -E2BIG, "too many releases or aliases");
	if (!plan_partial_enough(d, o))
		return error_set(err, -ENODATA, "function %s: planning needs its version list", d->function);
	resolved = calloc(d->n_releases + 1, sizeof(*resolved));
	same_as = calloc(d->n_releases + 1, sizeof(*same_as));
	if (!resolved || !same_as) {
		free(resolved);
		free(same_as);
		return -ENOMEM;
	}
	for (size_t i = 0; i < d->n_releases; i++)
		same_as[i] = -1;
	r = plan_resolve(resolved, d, o, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < d->n_aliases; i++) {
		const struct plan_alias *a = &d->aliases[i];

		r = ref_check(&a->primary, d, o, a->name, err);
		if (r >= 0 && a->weighted)
			r = ref_check(&a->extra, d, o, a->name, err);
		if (r < 0)
			goto out;
	}

	sim_sha = o->exists ? o->latest.code_sha256 : "";
	if (o->exists && (r = plan_config_copy(&sim_cfg, &o->latest.config)) < 0)
		goto out;
	need_wait =
	    o->exists && (o->state == PLAN_STATE_PENDING || o->last_update == PLAN_UPDATE_IN_PROGRESS);

	if (!o->exists) {
		long first = -1;

		for (size_t i = 0; i < d->n_releases; i++) {
			if (d->releases[i].pin <= 0 && d->releases[i].code.kind != PLAN_CODE_NONE) {
				first = (long)i;
				break;
			}
		}
		if (first < 0) {
			r = error_set(err, -EINVAL,
			              "function %s does not exist and no release has code to create it",
			              d->function);
			goto out;
		}
		r = add_step(&b, PLAN_STEP_CREATE_FUNCTION, first, -1, -1, 0, d->releases[first].config.mask);
		if (r < 0)
			goto out;
		sim_sha = d->releases[first].code.sha256;
		if ((r = plan_config_overlay(&sim_cfg, &d->releases[first].config)) < 0)
			goto out;
		need_wait = true;
	}

	for (size_t i = 0; i < d->n_releases; i++) {
		const struct plan_release *rel = &d->releases[i];
		unsigned mask;

		if (resolved[i] > 0)
			continue;
		if (rel->code.kind == PLAN_CODE_NONE || !rel->code.sha256[0]) {
			r = error_set(err, -EINVAL, "release %s has no code", rel->name);
			goto out;
		}
		/* published by this plan already under another name? */
		for (size_t j = 0; j < i && same_as[i] < 0; j++)
			if (resolved[j] == 0 && same_as[j] < 0 && same_release(&d->releases[j], rel))
				same_as[i] = (long)j;
		if (same_as[i] >= 0)
			continue;
		if (strcmp(sim_sha, rel->code.sha256)) {
			if (need_wait &&
			    (r = add_step(&b, PLAN_STEP_WAIT_UPDATED, (long)i, -1, -1, 0, 0)) < 0)
				goto out;
			if ((r = add_step(&b, PLAN_STEP_UPDATE_CODE, (long)i, -1, -1, 0, 0)) < 0)
				goto out;
			need_wait = true;
			sim_sha = rel->code.sha256;
		}
		mask = plan_config_diff(&sim_cfg, &rel->config);
		if (mask) {
			if (need_wait &&
			    (r = add_step(&b, PLAN_STEP_WAIT_UPDATED, (long)i, -1, -1, 0, 0)) < 0)
				goto out;
			if ((r = add_step(&b, PLAN_STEP_UPDATE_CONFIG, (long)i, -1, -1, 0, mask)) < 0)
				goto out;
			need_wait = true;
			/* managed fields now hold the release's values; the rest stay */
			if ((r = plan_config_overlay(&sim_cfg, &rel->config)) < 0)
				goto out;
		}
		if (need_wait && (r = add_step(&b, PLAN_STEP_WAIT_UPDATED, (long)i, -1, -1, 0, 0)) < 0)
			goto out;
		if ((r = add_step(&b, PLAN_STEP_PUBLISH, (long)i, -1, -1, 0, 0)) < 0)
			goto out;
		if ((r = add_step(&b, PLAN_STEP_WAIT_VERSION, (long)i, -1, -1, 0, 0)) < 0)
			goto out;
		need_wait = false;
		n_publish++;
	}

	for (size_t i = 0; i < d->n_aliases; i++) {
		const struct plan_alias *a = &d->aliases[i];
		const struct plan_observed_alias *oa;
		long oi;

		oa = obs_alias_find(o, a->name, &oi);
		if (!oa) {
			r = add_step(&b, PLAN_STEP_CREATE_ALIAS, -1, (long)i, -1, 0, 0);
		} else if (a->has_rollout) {
			int k = rollout_step_kind(d, a, oa, resolved);

			r = k < 0 ? 0 : add_step(&b, (enum plan_step_kind)k, -1, (long)i, oi, 0, 0);
		} else if (!alias_in_sync(a, oa, resolved)) {
			r = add_step(&b, PLAN_STEP_UPDATE_ALIAS, -1, (long)i, oi, 0, 0);
		} else {
			r = 0;
		}
		if (r < 0)
			goto out;
	}

	if (d->prune_aliases) {
		for (size_t i = 0; i < o->n_aliases; i++) {
			if (alias_declared(d, o->aliases[i].name))
				continue;
			if ((r = add_step(&b, PLAN_STEP_DELETE_ALIAS, -1, -1, (long)i, 0, 0)) < 0)
				goto out;
		}
	}

	if (d->keep_versions >= 0 && o->exists) {
		long *del = NULL;
		size_t n_del = 0;

		r = plan_prune_select(&del, &n_del, d, o, resolved, n_publish);
		for (size_t i = 0; r >= 0 && i < n_del; i++)
			r = add_step(&b, PLAN_STEP_DELETE_VERSION, -1, -1, -1, del[i], 0);
		free(del);
		if (r < 0)
			goto out;
	}

	ret->steps = b.steps;
	ret->n_steps = b.n;
	ret->resolved = resolved;
	ret->n_resolved = d->n_releases;
	ret->same_as = same_as;
	b.steps = NULL;
	resolved = NULL;
	same_as = NULL;
	r = 0;
out:
	plan_config_release(&sim_cfg);
	free(b.steps);
	free(resolved);
	free(same_as);
	return r;
}

/* ---- text ---- */

void plan_sha_short(char out[16], const char *sha256)
{
	unsigned char raw[32];

	if (sha256 && codec_digest_base64_decode(raw, sha256) == 0) {
		codec_hex_encode(out, raw, 4);
		return;
	}
	snprintf(out, 16, "%.8s", sha256 && *sha256 ? sha256 : "?");
}

static int json_str(struct buf *out, const char *s)
{
	int r = buf_putc(out, '"');

	for (const unsigned char *p = (const unsigned char *)s; r >= 0 && *p; p++) {
		if (*p == '"' || *p == '\\')
			r = buf_printf(out, "\\%c", *p);
		else if (*p < 0x20)
			r = buf_printf(out, "\\u%04x", *p);
		else
			r = buf_putc(out, (char)*p);
	}
	return r < 0 ? r : buf_putc(out, '"');
}

struct kv {
	const char *k, *v;
};

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct kv *)a)->k, ((const struct kv *)b)->k);
}

int plan_env_canonical(struct buf *out, const char *const *keys, const char *const *vals, size_t n)
{
	struct kv *kv = NULL;
	int r;

	if (n) {
		kv = calloc(n, sizeof(*kv));
		if (!kv)
			return -ENOMEM;
		for (size_t i = 0; i < n; i++)
			kv[i] = (struct kv){keys[i], vals[i] ? vals[i] : ""};
		qsort(kv, n, sizeof(*kv), kv_cmp);
	}
	r = buf_putc(out, '{');
	for (size_t i = 0; r >= 0 && i < n; i++) {
		if (i)
			r = buf_putc(out, ',');
		if (r >= 0)
			r = json_str(out, kv[i].k);
		if (r >= 0)
			r = buf_putc(out, ':');
		if (r >= 0)
			r = json_str(out, kv[i].v);
	}
	if (r >= 0)
		r = buf_putc(out, '}');
	free(kv);
	return r < 0 ? r : 0;
}

int plan_publish_description(struct buf *out, const struct plan_desired *d, size_t release)
{
	const struct plan_release *rel = &d->releases[release];
	struct buf tmp = BUF_INIT;
	size_t n;
	int r;

	r = buf_puts(&tmp, rel->name);
	if (r >= 0 && d->commit && *d->commit)
		r = buf_printf(&tmp, " @%.7s", d->commit);
	if (r >= 0 && rel->description && *rel->description)
		r = buf_printf(&tmp, ": %s", rel->description);
	if (r < 0)
		goto out;
	n = tmp.len;
	if (n > PLAN_DESCRIPTION_MAX) {
		n = PLAN_DESCRIPTION_MAX;
		/* back up to the start of a UTF-8 character */
		while (n > 0 && ((unsigned char)tmp.ptr[n] & 0xC0) == 0x80)
			n--;
	}
	r = buf_put(out, tmp.ptr, n);
out:
	buf_release(&tmp);
	return r < 0 ? r : 0;
}

/* "v1 (1)", "v2 (new)", "7", "7 (v3)" */
static int version_label(struct buf *out, const struct plan *p, const struct plan_desired *d, long version,
                         long release)
{
	if (release < 0 && version > 0) {
		/* name the declared release that resolves to it, if any */
		for (size_t i = 0; i < d->n_releases && i < p->n_resolved; i++) {
			if (p->resolved[i] == version) {
				release = (long)i;
				break;
			}
		}
	}
	if (release >= 0) {
		if (version > 0)
			return buf_printf(out, "%s (%ld)", d->releases[release].name, version);
		return buf_printf(out, "%s (new)", d->releases[release].name);
	}
	if (version == 0)
		return buf_puts(out, "$LATEST");
	return buf_printf(out, "%ld", version);
}

static int ref_label(struct buf *out, const struct plan *p, const struct plan_desired *d,
                     const struct plan_ref *ref)
{
	if (ref->release >= 0)
		return version_label(out, p, d, p->resolved[ref->release], ref->release);
	return version_label(out, p, d, ref->version, -1);
}

static int desired_routing_label(struct buf *out, const struct plan *p, const struct plan_desired *d,
                                 const struct plan_alias *a)
{
	int r = ref_label(out, p, d, &a->primary);

	if (r >= 0 && a->weighted) {
		r = buf_printf(out, " + %g%% ", a->weight * 100.0);
		if (r >= 0)
			r = ref_label(out, p, d, &a->extra);
	}
	return r;
}

static int observed_routing_label(struct buf *out, const struct plan *p, const struct plan_desired *d,
                                  const struct plan_observed_alias *oa)
{
	int r = version_label(out, p, d, oa->version, -1);

	if (r >= 0 && oa->extra_version > 0) {
		r = buf_printf(out, " + %g%% ", oa->weight * 100.0);
		if (r >= 0)
			r = version_label(out, p, d, oa->extra_version, -1);
	}
	return r;
}

/* "~ alias NAME: FROM → " (FROM left out when the alias is not observed). */
static int alias_move_label(struct buf *out, const struct plan *p, const struct plan_desired *d,
                            const struct plan_alias *a, const struct plan_observed_alias *oa)
{
	int r = buf_printf(out, "~ alias %s: ", a->name);

	if (r >= 0 && oa)
		r = observed_routing_label(out, p, d, oa);
	if (r >= 0)
		r = buf_puts(out, " \u2192 ");
	return r;
}

static int code_label(struct buf *out, const struct plan_code *c)
{
	char s[16];

	plan_sha_short(s, c->sha256);
	switch (c->kind) {
	case PLAN_CODE_ZIP:
		return buf_printf(out, " (code %s\u2026, from %s)", s, c->zip_path ? c->zip_path : "?");
	case PLAN_CODE_S3:
		return buf_printf(out, " (code %s\u2026, from s3://%s/%s%s%s)", s,
		                  c->s3_bucket ? c->s3_bucket : "?", c->s3_key ? c->s3_key : "?",
		                  c->s3_version ? "?versionId=" : "", c->s3_version ? c->s3_version : "");
	case PLAN_CODE_IMAGE:
		return buf_printf(out, " (image %s)", c->image_uri ? c->image_uri : "?");
	case PLAN_CODE_NONE:
		break;
	}
	return 0;
}

int plan_step_describe(struct buf *out, const struct plan *p, const struct plan_step *s,
                       const struct plan_desired *d, const struct plan_observed *o)
{
	const struct plan_release *rel =
	    s->release >= 0 && (size_t)s->release < d->n_releases ? &d->releases[s->release] : NULL;
	const struct plan_alias *a =
	    s->alias >= 0 && (size_t)s->alias < d->n_aliases ? &d->aliases[s->alias] : NULL;
	const struct plan_observed_alias *oa =
	    s->obs_alias >= 0 && (size_t)s->obs_alias < o->n_aliases ? &o->aliases[s->obs_alias] : NULL;
	int r = 0;

	switch (s->kind) {
	case PLAN_STEP_CREATE_FUNCTION:
		r = buf_printf(out, "+ create function %s with release %s", d->function,
		               rel ? rel->name : "?");
		if (r >= 0 && rel)
			r = code_label(out, &rel->code);
		break;
	case PLAN_STEP_WAIT_UPDATED:
		r = buf_printf(out, "  wait for $LATEST to finish updating");
		break;
	case PLAN_STEP_UPDATE_CODE:
		r = buf_printf(out, "~ update code for release %s", rel ? rel->name : "?");
		if (r >= 0 && rel)
			r = code_label(out, &rel->code);
		break;
	case PLAN_STEP_UPDATE_CONFIG:
		r = buf_printf(out, "~ update configuration for release %s:", rel ? rel->name : "?");
		for (int f = 0, first = 1; r >= 0 && f < PLAN_CFG_N; f++) {
			if (!(s->config_mask & (1u << f)))
				continue;
			r = buf_printf(out, "%s %s", first ? "" : ",", plan_cfg_names[f]);
			first = 0;
		}
		break;
	case PLAN_STEP_PUBLISH:
		r = buf_printf(out, "+ publish release %s", rel ? rel->name : "?");
		if (r >= 0 && rel)
			r = code_label(out, &rel->code);
		break;
	case PLAN_STEP_WAIT_VERSION:
		r = buf_printf(out, "  wait for release %s's version to be active", rel ? rel->name : "?");
		break;
	case PLAN_STEP_CREATE_ALIAS:
		if (!a)
			return -EINVAL;
		r = buf_printf(out, "+ alias %s: ", a->name);
		if (r >= 0)
			r = desired_routing_label(out, p, d, a);
		break;
	case PLAN_STEP_UPDATE_ALIAS:
		if (!a)
			return -EINVAL;
		r = alias_move_label(out, p, d, a, oa);
		if (r >= 0)
			r = desired_routing_label(out, p, d, a);
		break;
	case PLAN_STEP_DELETE_ALIAS:
		r = buf_printf(out, "- alias %s", oa ? oa->name : "?");
		if (r >= 0 && oa) {
			r = buf_puts(out, " (");
			if (r >= 0)
				r = observed_routing_label(out, p, d, oa);
			if (r >= 0)
				r = buf_putc(out, ')');
		}
		break;
	case PLAN_STEP_DELETE_VERSION:
		r = plan_delete_version_describe(out, o, s->version);
		break;
	case PLAN_STEP_ROLLOUT:
		if (!a)
			return -EINVAL;
		r = alias_move_label(out, p, d, a, oa);
		if (r >= 0)
			r = ref_label(out, p, d, &a->primary);
		if (r >= 0)
			r = buf_puts(out, " by rollout ");
		if (r >= 0)
			r = rollout_spec_describe(&a->rollout, out);
		if (r >= 0 && a->command != ROLLOUT_CMD_NONE)
			r = buf_printf(out, " (%s)",
			               a->command == ROLLOUT_CMD_PROMOTE ? "promote"
			               : a->command == ROLLOUT_CMD_ABORT ? "abort"
			                                                 : "retry");
		break;
	case PLAN_STEP_ROLLOUT_HELD: {
		struct rollout_progress rec = observed_record(oa);

		if (!a)
			return -EINVAL;
		r = buf_printf(out, "= alias %s: rolled back (%s); aliasd rollout retry %s %s", a->name,
		               rec.reason[0] ? rec.reason : "no reason", d->function, a->name);
		break;
	}
	}
	return r < 0 ? r : 0;
}
