/*
 * resolve.c - configuration values and release resolution (pure; see plan.h):
 * which published version, if any, already is each declared release.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/plan.h"

/* ---- config ---- */

int plan_config_set(struct plan_config *c, enum plan_cfg_field f, const char *val)
{
	char *copy;

	if ((unsigned)f >= PLAN_CFG_N || !val)
		return -EINVAL;
	copy = strdup(val);
	if (!copy)
		return -ENOMEM;
	free(c->val[f]);
	c->val[f] = copy;
	c->mask |= 1u << f;
	return 0;
}

void plan_config_release(struct plan_config *c)
{
	if (!c)
		return;
	for (int f = 0; f < PLAN_CFG_N; f++) {
		free(c->val[f]);
		c->val[f] = NULL;
	}
	c->mask = 0;
}

int plan_config_copy(struct plan_config *dst, const struct plan_config *src)
{
	struct plan_config tmp = {0};

	if (plan_config_overlay(&tmp, src) < 0) {
		plan_config_release(&tmp);
		return -ENOMEM;
	}
	plan_config_release(dst);
	*dst = tmp;
	return 0;
}

/* Set every field managed by `src` in `dst`. */
int plan_config_overlay(struct plan_config *dst, const struct plan_config *src)
{
	for (int f = 0; f < PLAN_CFG_N; f++) {
		if (!(src->mask & (1u << f)))
			continue;
		if (plan_config_set(dst, (enum plan_cfg_field)f, src->val[f] ? src->val[f] : "") < 0)
			return -ENOMEM;
	}
	return 0;
}

static bool cfg_equal(const struct plan_config *have, const struct plan_config *want, int f)
{
	const char *a = (have->mask & (1u << f)) && have->val[f] ? have->val[f] : NULL;
	const char *b = want->val[f] ? want->val[f] : "";

	if (!a) {
		/* Lambda omits empty fields: an absent value equals "" or {} */
		return !*b || !strcmp(b, "{}");
	}
	return !strcmp(a, b);
}

unsigned plan_config_diff(const struct plan_config *have, const struct plan_config *want)
{
	unsigned mask = 0;

	for (int f = 0; f < PLAN_CFG_N; f++)
		if ((want->mask & (1u << f)) && !cfg_equal(have, want, f))
			mask |= 1u << f;
	return mask;
}

bool plan_version_matches(const struct plan_version *v, const struct plan_release *r)
{
	if (r->code.kind == PLAN_CODE_NONE || !r->code.sha256[0])
		return false;
	if (strcmp(v->code_sha256, r->code.sha256))
		return false;
	/* a version's Description is the publish trace, not configuration */
	return (plan_config_diff(&v->config, &r->config) & ~(1u << PLAN_CFG_DESCRIPTION)) == 0;
}

/* ---- resolve ---- */

const struct plan_version *plan_version_find(const struct plan_observed *o, long number)
{
	for (size_t i = 0; i < o->n_versions; i++)
		if (o->versions[i].number == number)
			return &o->versions[i];
	return NULL;
}

/*
 * Does observed alias `oa` serve `number` (primary or weighted), and, when
 * `d` is given, does the manifest declare that alias with release `release`
 * as a target?
 */
static bool serves(const struct plan_observed_alias *oa, long number, const struct plan_desired *d,
                   long release)
{
	if (oa->version != number && oa->extra_version != number)
		return false;
	if (!d)
		return true;
	for (size_t k = 0; k < d->n_aliases; k++) {
		const struct plan_alias *a = &d->aliases[k];

		if (strcmp(a->name, oa->name))
			continue;
		return a->primary.release == release || (a->weighted && a->extra.release == release);
	}
	return false;
}

static bool aliased(const struct plan_observed *o, long number, const struct plan_desired *d, long release)
{
	for (size_t i = 0; i < o->n_aliases; i++)
		if (serves(&o->aliases[i], number, d, release))
			return true;
	return false;
}

long plan_resolve_release(const struct plan_desired *d, long index, const struct plan_release *r,
                          const struct plan_observed *o)
{
	long newest = 0, served = 0, declared = 0;

	if (r->pin > 0)
		return r->pin;
	if (!o->exists)
		return 0;
	for (size_t j = 0; j < o->n_versions; j++) {
		const struct plan_version *v = &o->versions[j];

		if (!plan_version_matches(v, r))
			continue;
		if (v->number > newest)
			newest = v->number;
		if (d && d->keep_versions < 0 && v->number > served && aliased(o, v->number, NULL, -1))
			served = v->number;
		if (index >= 0 && v->number > declared && aliased(o, v->number, d, index))
			declared = v->number;
	}
	return declared > 0 ? declared : served > 0 ? served : newest;
}

bool plan_partial_enough(const struct plan_desired *d, const struct plan_observed *o)
{
	if (!o->partial)
		return true;
	if (!o->exists || d->keep_versions >= 0)
		return false;
	for (size_t i = 0; i < d->n_releases; i++) {
		const struct plan_release *r = &d->releases[i];
		long v = plan_resolve_release(d, (long)i, r, o);

		if (r->pin > 0 ? !plan_version_find(o, r->pin) : v <= 0 || !aliased(o, v, NULL, -1))
			return false;
	}
	for (size_t i = 0; i < d->n_aliases; i++) {
		const struct plan_alias *a = &d->aliases[i];

		if (a->primary.release < 0 && !plan_version_find(o, a->primary.version))
			return false;
		if (a->weighted && a->extra.release < 0 && !plan_version_find(o, a->extra.version))
			return false;
	}
	return true;
}

int plan_resolve(long *ret_resolved, const struct plan_desired *d, const struct plan_observed *o,
                 struct error *err)
{
	long *res;

	if (d->n_releases == 0)
		return 0;
	res = calloc(d->n_releases, sizeof(*res));
	if (!res)
		return -ENOMEM;
	for (size_t i = 0; i < d->n_releases; i++) {
		const struct plan_release *r = &d->releases[i];

		if (r->pin > 0 && (!o->exists || !plan_version_find(o, r->pin))) {
			free(res);
			return error_set(err, -ENOENT, "release %s: version %ld is not published", r->name,
			                 r->pin);
		}
		res[i] = plan_resolve_release(d, (long)i, r, o);
	}
	memcpy(ret_resolved, res, d->n_releases * sizeof(*res));
	free(res);
	return 0;
}
