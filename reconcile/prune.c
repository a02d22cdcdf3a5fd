/*
 * prune.c - which published versions keepVersions deletes, and how a
 * deletion reads in a plan (the pruning part of reconcile/plan.h; pure).
 *
 * A version is deleted only when nothing may still need it: no alias
 * references it (a declared target, or an observed alias that is not
 * declared and stays: one that prune.aliases deletes goes before the
 * versions in the same plan), no Progressing rollout record names it, no
 * declared release resolves to it, no release of the last keepHistory
 * commits resolves to it, and it is not one of the newest keepVersions.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "reconcile/plan.h"
#include "reconcile/rollout.h"
#include "util/parse.h"

struct protect {
	long *v;
	size_t n, alloc;
};

static int protect_add(struct protect *p, long version)
{
	if (version <= 0)
		return 0;
	if (p->n == p->alloc) {
		size_t na = p->alloc ? p->alloc * 2 : 32;
		long *nv = realloc(p->v, na * sizeof(*nv));

		if (!nv)
			return -ENOMEM;
		p->v = nv;
		p->alloc = na;
	}
	p->v[p->n++] = version;
	return 0;
}

static int cmp_long(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

static bool protected_has(const struct protect *p, long version)
{
	return p->n && bsearch(&version, p->v, p->n, sizeof(*p->v), cmp_long) != NULL;
}

static long ref_version(const struct plan_ref *ref, const long *resolved)
{
	return ref->release >= 0 ? resolved[ref->release] : ref->version;
}

static bool alias_declared(const struct plan_desired *d, const char *name)
{
	for (size_t i = 0; i < d->n_aliases; i++)
		if (!strcmp(d->aliases[i].name, name))
			return true;
	return false;
}

/*
 * A Progressing rollout record (reconcile/rollout.h) in an alias's
 * description, the whole description or one line of it: its from and to.
 */
static int protect_rollout(struct protect *p, const char *description)
{
	const char *at = description ? strstr(description, "aliasd-rollout/") : NULL;
	struct rollout_progress rp;
	int r;

	if (!at)
		return 0;
	if (rollout_progress_parse(at, strlen(at), &rp, NULL) < 0 &&
	    rollout_progress_parse(at, strcspn(at, "\n"), &rp, NULL) < 0)
		return 0;
	if (rp.state != ROLLOUT_PROGRESSING)
		return 0;
	r = protect_add(p, (long)rp.from);
	return r < 0 ? r : protect_add(p, (long)rp.to);
}

static int protect_build(struct protect *p, const struct plan_desired *d, const struct plan_observed *o,
                         const long *resolved)
{
	int r = 0;

	for (size_t i = 0; r >= 0 && i < d->n_releases; i++)
		r = protect_add(p, resolved[i]);
	for (size_t i = 0; r >= 0 && i < d->n_aliases; i++) {
		r = protect_add(p, ref_version(&d->aliases[i].primary, resolved));
		if (r >= 0 && d->aliases[i].weighted)
			r = protect_add(p, ref_version(&d->aliases[i].extra, resolved));
	}
	for (size_t i = 0; r >= 0 && i < o->n_aliases; i++) {
		const struct plan_observed_alias *oa = &o->aliases[i];

		/*
		 * A declared alias is moved, and an undeclared one deleted with
		 * prune.aliases, before any version is (apply stops at the first
		 * failure): then the desired targets are what counts.
		 */
		if (!alias_declared(d, oa->name) && !d->prune_aliases) {
			r = protect_add(p, oa->version);
			if (r >= 0)
				r = protect_add(p, oa->extra_version);
		}
		if (r >= 0)
			r = protect_rollout(p, oa->description);
	}
	for (size_t i = 0; r >= 0 && i < d->n_history; i++)
		r = protect_add(p, plan_resolve_release(d, -1, &d->history[i], o));
	if (r >= 0 && p->n)
		qsort(p->v, p->n, sizeof(*p->v), cmp_long);
	return r;
}

int plan_prune_select(long **ret_versions, size_t *ret_n, const struct plan_desired *d,
                      const struct plan_observed *o, const long *resolved, size_t n_publish)
{
	struct protect p = {0};
	long *nums = NULL, *del = NULL;
	size_t keep, n_del = 0;
	int r = -ENOMEM;

	if (d->keep_versions < 0 || !o->n_versions) {
		*ret_versions = NULL;
		*ret_n = 0;
		return 0;
	}
	nums = calloc(o->n_versions, sizeof(*nums));
	del = calloc(o->n_versions, sizeof(*del));
	if (!nums || !del || protect_build(&p, d, o, resolved) < 0)
		goto out;
	for (size_t i = 0; i < o->n_versions; i++)
		nums[i] = o->versions[i].number;
	qsort(nums, o->n_versions, sizeof(*nums), cmp_long);
	/* the versions this plan publishes are the newest ones */
	keep = (size_t)d->keep_versions > n_publish ? (size_t)d->keep_versions - n_publish : 0;
	/* oldest first, past the newest `keep` */
	for (size_t i = 0; i + keep < o->n_versions; i++)
		if (nums[i] > 0 && !protected_has(&p, nums[i]))
			del[n_del++] = nums[i];
	*ret_versions = n_del ? del : NULL;
	*ret_n = n_del;
	if (n_del)
		del = NULL;
	r = 0;
out:
	free(p.v);
	free(nums);
	free(del);
	return r;
}

static bool trace_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
	       c == '_' || c == '-';
}

size_t plan_version_trace(char *out, size_t outsz, const char *description)
{
	const char *p = description, *name, *end;
	size_t n;

	if (outsz)
		out[0] = '\0';
	if (!p)
		return 0;
	/* RELEASE: [A-Za-z0-9._-]{1,64}, not all digits */
	for (name = p; trace_char(*p); p++)
		;
	if (p == name || p - name > 64 || strspn(name, "0123456789") == (size_t)(p - name))
		return 0;
	/* " @" and 7 to 40 lower-case hex digits */
	if (p[0] == ' ' && p[1] == '@') {
		const char *h = p + 2;

		while ((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f'))
			h++;
		if (h - (p + 2) < 7 || h - (p + 2) > 40)
			return 0;
		p = h;
	}
	end = p;
	if (*p && !(p[0] == ':' && p[1] == ' '))
		return 0;
	n = (size_t)(end - name);
	if (n + 1 > outsz)
		return 0;
	memcpy(out, name, n);
	out[n] = '\0';
	return n;
}

int plan_delete_version_describe(struct buf *out, const struct plan_observed *o, long version)
{
	const struct plan_version *v = plan_version_find(o, version);
	char trace[PLAN_DESCRIPTION_MAX + 1], size[SIZE_FORMAT_MAX];
	int r = buf_printf(out, "- version %ld", version);

	if (r < 0 || !v)
		return r < 0 ? r : 0;
	size_format(v->code_size > 0 ? (uint64_t)v->code_size : 0, size, sizeof(size));
	if (plan_version_trace(trace, sizeof(trace), v->description))
		r = buf_printf(out, " (%s, %s)", trace, size);
	else
		r = buf_printf(out, " (%s)", size);
	return r < 0 ? r : 0;
}
