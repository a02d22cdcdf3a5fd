/*
 * load_identity.c - one function, one declaration: the duplicate check over
 * the identity Lambda resolves (see load.h).
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/load_internal.h"

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

/*
 * First index in [lo, hi) whose field (region or account) is not below `key`
 * (above `key` when `upper`); the range is sorted on that field.
 */
static size_t ident_bound(const struct fn_ident *v, size_t lo, size_t hi, bool by_region, const char *key,
                          bool upper)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *k = by_region ? v[mid].region : v[mid].account;
		int c = nstrcmp(k, key);

		if (c < 0 || (upper && c == 0))
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * In [lo, hi) of `v` (one name, and one region or all regions: sorted by
 * account, the unknown ones first), a declaration other than `e` whose
 * account may be e's, or NULL.
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
	k = ident_bound(v, lo, hi, false, e->account, false);
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
	size_t r_lo, r_hi, n_hi;

	if (!e->region) /* any region: search the whole name group by account */
		return ident_witness(by_a, lo, hi, e);
	/* its own region, then the declarations whose region is unknown */
	r_lo = ident_bound(by_r, lo, hi, true, e->region, false);
	r_hi = ident_bound(by_r, r_lo, hi, true, e->region, true);
	w = ident_witness(by_r, r_lo, r_hi, e);
	if (w)
		return w;
	n_hi = ident_bound(by_r, lo, hi, true, NULL, true); /* the unknown regions come first */
	return ident_witness(by_r, lo, n_hi, e);
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

int load_check_duplicates(struct loader *l)
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

bool manifest_function_same(const struct manifest_function *a, const struct manifest_function *b,
                            const struct manifest_load_options *opt)
{
	const char *dr = opt ? opt->default_region : NULL, *da = opt ? opt->default_account : NULL;
	const char *ra = a->region ? a->region : dr, *rb = b->region ? b->region : dr;
	const char *aa = a->account ? a->account : da, *ab = b->account ? b->account : da;

	if (strcmp(bare_name(a), bare_name(b)))
		return false;
	if (ra && rb && strcmp(ra, rb))
		return false;
	return !(aa && ab && strcmp(aa, ab));
}
