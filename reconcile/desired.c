/*
 * desired.c - manifest model -> planner's desired state (see reconcile.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/sigv4.h"
#include "reconcile/internal.h"
#include "reconcile/reconcile.h"

static int dup_opt(char **dst, const char *src)
{
	if (!src) {
		*dst = NULL;
		return 0;
	}
	*dst = strdup(src);
	return *dst ? 0 : -ENOMEM;
}

static void manifest_env_get(const void *vars, size_t i, const char **ret_name, const char **ret_value)
{
	const struct manifest_env_var *v = (const struct manifest_env_var *)vars + i;

	*ret_name = v->name;
	*ret_value = v->value;
}

static int config_from_manifest(struct plan_config *c, const struct manifest_config *m)
{
	int r = 0;

	if (m->set & MANIFEST_CFG_RUNTIME)
		r = plan_config_set(c, PLAN_CFG_RUNTIME, m->runtime ? m->runtime : "");
	if (r >= 0 && (m->set & MANIFEST_CFG_HANDLER))
		r = plan_config_set(c, PLAN_CFG_HANDLER, m->handler ? m->handler : "");
	if (r >= 0 && (m->set & MANIFEST_CFG_ROLE))
		r = plan_config_set(c, PLAN_CFG_ROLE, m->role ? m->role : "");
	if (r >= 0 && (m->set & MANIFEST_CFG_MEMORY))
		r = reconcile_config_set_num(c, PLAN_CFG_MEMORY_SIZE, m->memory_size);
	if (r >= 0 && (m->set & MANIFEST_CFG_TIMEOUT))
		r = reconcile_config_set_num(c, PLAN_CFG_TIMEOUT, m->timeout);
	if (r >= 0 && (m->set & MANIFEST_CFG_EPHEMERAL))
		r = reconcile_config_set_num(c, PLAN_CFG_EPHEMERAL_STORAGE, m->ephemeral_storage);
	if (r >= 0 && (m->set & MANIFEST_CFG_DESCRIPTION))
		r = plan_config_set(c, PLAN_CFG_DESCRIPTION, m->description ? m->description : "");
	if (r >= 0 && (m->set & MANIFEST_CFG_ENVIRONMENT))
		r = reconcile_config_set_env(c, m->env, m->n_env, manifest_env_get);
	return r < 0 ? r : 0;
}

static int code_from_manifest(struct plan_code *c, const struct manifest_code *m)
{
	int r = 0;

	switch (m->kind) {
	case MANIFEST_CODE_NONE:
		c->kind = PLAN_CODE_NONE;
		return 0;
	case MANIFEST_CODE_ZIP:
		c->kind = PLAN_CODE_ZIP;
		r = dup_opt(&c->zip_path, m->zip_path);
		break;
	case MANIFEST_CODE_S3:
		c->kind = PLAN_CODE_S3;
		r = dup_opt(&c->s3_bucket, m->s3_bucket);
		if (r >= 0)
			r = dup_opt(&c->s3_key, m->s3_key);
		if (r >= 0)
			r = dup_opt(&c->s3_version, m->s3_object_version);
		break;
	case MANIFEST_CODE_IMAGE:
		c->kind = PLAN_CODE_IMAGE;
		r = dup_opt(&c->image_uri, m->image_uri);
		break;
	}
	snprintf(c->sha256, sizeof(c->sha256), "%s", m->sha256);
	return r;
}

static struct plan_ref target_ref(const struct manifest_target *t)
{
	if (t->release)
		return (struct plan_ref){(long)t->release_index, 0};
	return (struct plan_ref){-1, (long)t->version};
}

/* One field of the canonical form: its length, a colon, its bytes (unambiguous whatever it holds). */
static int canon_str(struct buf *b, const char *s)
{
	if (!s)
		return buf_puts(b, "-;");
	return buf_printf(b, "%zu:%s;", strlen(s), s);
}

static int canon_ref(struct buf *b, const struct manifest_target *t)
{
	if (t->release)
		return buf_printf(b, "r%zu;", t->release_index);
	return buf_printf(b, "v%lld;", (long long)t->version);
}

/*
 * The canonical form of a function's declared state (what the daemon and
 * every aliasd compute the same way from the same manifest): the releases'
 * names, pins, code and effective managed config, the aliases' targets,
 * weights, descriptions and rollouts.  Comments, key order, other functions
 * and the commit do not enter it.
 */
static int desired_canonical(struct buf *b, const struct plan_desired *d, const struct manifest_function *fn)
{
	int r = buf_puts(b, "aliasd-desired/1;");

	if (r >= 0)
		r = canon_str(b, d->function);
	for (size_t i = 0; r >= 0 && i < d->n_releases; i++) {
		const struct plan_release *pr = &d->releases[i];

		r = buf_printf(b, "R;%ld;%d;", pr->pin, (int)pr->code.kind);
		if (r >= 0)
			r = canon_str(b, pr->name);
		if (r >= 0)
			r = canon_str(b, pr->code.sha256);
		if (r >= 0)
			r = canon_str(b, pr->code.s3_bucket);
		if (r >= 0)
			r = canon_str(b, pr->code.s3_key);
		if (r >= 0)
			r = canon_str(b, pr->code.s3_version);
		if (r >= 0)
			r = canon_str(b, pr->code.image_uri);
		if (r >= 0)
			r = canon_str(b, pr->description);
		for (int f = 0; r >= 0 && f < PLAN_CFG_N; f++)
			r = canon_str(b, (pr->config.mask & (1u << f)) ? pr->config.val[f] : NULL);
	}
	for (size_t i = 0; r >= 0 && i < fn->n_aliases; i++) {
		const struct manifest_alias *ma = &fn->aliases[i];
		const struct manifest_rollout *ro = ma->rollout;

		r = buf_puts(b, "A;");
		if (r >= 0)
			r = canon_str(b, ma->name);
		if (r >= 0)
			r = canon_ref(b, &ma->primary);
		if (r >= 0 && ma->has_weight) {
			r = canon_ref(b, &ma->weighted);
			if (r >= 0)
				r = buf_printf(b, "%.9g;", ma->weight);
		}
		if (r >= 0)
			r = canon_str(b, ma->description);
		if (r >= 0 && ro) {
			r = buf_printf(b, "O;%u;%zu;", ro->spec.interval_s, ro->spec.n_steps);
			for (size_t k = 0; r >= 0 && k < ro->spec.n_steps; k++)
				r = buf_printf(b, "%u;", ro->spec.steps[k]);
			for (size_t k = 0; r >= 0 && k < ro->spec.n_alarms; k++)
				r = canon_str(b, ro->alarms ? ro->alarms[k] : NULL);
			if (r >= 0)
				r = canon_str(b, ro->pre_traffic);
		}
	}
	return r < 0 ? r : 0;
}

/* d->desired_id: 16 hex digits of SHA-256 over desired_canonical(). */
static int desired_id(struct plan_desired *d, const struct manifest_function *fn)
{
	struct buf b = BUF_INIT;
	char hex[CODEC_SHA256_HEX_SIZE];
	int r = desired_canonical(&b, d, fn);

	if (r >= 0) {
		sigv4_sha256_hex(b.ptr ? b.ptr : "", b.len, hex);
		snprintf(d->desired_id, sizeof(d->desired_id), "%.16s", hex);
	}
	buf_release(&b);
	return r;
}

int reconcile_desired_from_manifest(struct plan_desired *ret, const struct manifest_function *fn,
                                    const char *revision, struct error *err)
{
	struct plan_desired d = {0};
	int r = -ENOMEM;

	d.keep_versions = -1;
	if (fn->n_errors)
		return error_set(err, -EINVAL, "function %s has manifest errors", fn->name);
	if (fn->n_releases > PLAN_MAX_RELEASES || fn->n_aliases > PLAN_MAX_ALIASES)
		return error_set(err, -E2BIG, "function %s: too many releases or aliases", fn->name);
	if (dup_opt(&d.function, fn->name) < 0 ||
	    dup_opt(&d.commit, revision && *revision ? revision : NULL) < 0)
		goto out;
	d.prune_aliases = fn->prune.aliases;
	d.keep_versions = fn->prune.keep_versions >= 0 ? (long)fn->prune.keep_versions : -1;
	if (fn->n_releases) {
		d.releases = calloc(fn->n_releases, sizeof(*d.releases));
		if (!d.releases)
			goto out;
	}
	d.n_releases = fn->n_releases;
	for (size_t i = 0; i < fn->n_releases; i++) {
		const struct manifest_release *mr = &fn->releases[i];
		struct plan_release *pr = &d.releases[i];

		if (dup_opt(&pr->name, mr->name) < 0 || dup_opt(&pr->description, mr->description) < 0)
			goto out;
		pr->pin = mr->version > 0 ? (long)mr->version : 0;
		if (pr->pin <= 0) {
			if ((r = code_from_manifest(&pr->code, &mr->code)) < 0)
				goto out;
			if ((r = config_from_manifest(&pr->config, &mr->config)) < 0)
				goto out;
			r = -ENOMEM;
		}
	}
	if (fn->n_aliases) {
		d.aliases = calloc(fn->n_aliases, sizeof(*d.aliases));
		if (!d.aliases)
			goto out;
	}
	d.n_aliases = fn->n_aliases;
	for (size_t i = 0; i < fn->n_aliases; i++) {
		const struct manifest_alias *ma = &fn->aliases[i];
		struct plan_alias *pa = &d.aliases[i];

		if (dup_opt(&pa->name, ma->name) < 0 || dup_opt(&pa->description, ma->description) < 0)
			goto out;
		pa->primary = target_ref(&ma->primary);
		if (ma->has_weight) {
			pa->weighted = true;
			pa->extra = target_ref(&ma->weighted);
			pa->weight = ma->weight;
		}
		if (ma->rollout) {
			pa->has_rollout = true;
			pa->rollout = ma->rollout->spec;
			free(pa->description); /* the record lives there (DESIGN §6) */
			pa->description = NULL;
		}
		if ((pa->primary.release >= 0 && (size_t)pa->primary.release >= fn->n_releases) ||
		    (pa->weighted && pa->extra.release >= 0 && (size_t)pa->extra.release >= fn->n_releases)) {
			r = error_set(err, -EINVAL, "alias %s: release index out of range", ma->name);
			goto out;
		}
	}
	if ((r = desired_id(&d, fn)) < 0)
		goto out;
	*ret = d;
	return 0;
out:
	plan_desired_release(&d);
	if (r == -ENOMEM)
		error_set(err, r, "out of memory");
	return r;
}
