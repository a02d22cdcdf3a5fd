/*
 * observe.c - what Lambda has, as the planner's observed state (reconcile.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/lambda.h"
#include "reconcile/internal.h"
#include "reconcile/reconcile.h"

/* "7" -> 7; "$LATEST" or junk -> 0 */
static long version_number(const char *s)
{
	char *end;
	long v;

	if (!s || !*s || *s == '$')
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0)
		return 0;
	return v;
}

static void lambda_env_get(const void *vars, size_t i, const char **ret_name, const char **ret_value)
{
	const struct lambda_env_var *v = (const struct lambda_env_var *)vars + i;

	*ret_name = v->name ? v->name : "";
	*ret_value = v->value;
}

int reconcile_config_from_lambda(struct plan_config *c, const struct lambda_function_config *lc)
{
	int r = 0;

	if (lc->runtime)
		r = plan_config_set(c, PLAN_CFG_RUNTIME, lc->runtime);
	if (r >= 0 && lc->handler)
		r = plan_config_set(c, PLAN_CFG_HANDLER, lc->handler);
	if (r >= 0 && lc->role)
		r = plan_config_set(c, PLAN_CFG_ROLE, lc->role);
	if (r >= 0 && lc->memory_size)
		r = reconcile_config_set_num(c, PLAN_CFG_MEMORY_SIZE, lc->memory_size);
	if (r >= 0 && lc->timeout)
		r = reconcile_config_set_num(c, PLAN_CFG_TIMEOUT, lc->timeout);
	if (r >= 0 && lc->ephemeral_storage)
		r = reconcile_config_set_num(c, PLAN_CFG_EPHEMERAL_STORAGE, lc->ephemeral_storage);
	if (r >= 0)
		r = plan_config_set(c, PLAN_CFG_DESCRIPTION, lc->description ? lc->description : "");
	if (r >= 0)
		r = reconcile_config_set_env(c, lc->env, lc->has_environment ? lc->n_env : 0, lambda_env_get);
	return r < 0 ? r : 0;
}

int reconcile_version_from_lambda(struct plan_version *v, const struct lambda_function_config *lc)
{
	memset(v, 0, sizeof(*v));
	v->number = version_number(lc->version);
	snprintf(v->code_sha256, sizeof(v->code_sha256), "%s", lc->code_sha256 ? lc->code_sha256 : "");
	v->code_size = lc->code_size > 0 ? (long long)lc->code_size : 0;
	if (lc->description && !(v->description = strdup(lc->description)))
		return -ENOMEM;
	if (lc->state && !strcmp(lc->state, "Pending"))
		v->state = PLAN_STATE_PENDING;
	else if (lc->state && !strcmp(lc->state, "Failed"))
		v->state = PLAN_STATE_FAILED;
	else if (lc->state && !strcmp(lc->state, "Inactive"))
		v->state = PLAN_STATE_INACTIVE;
	if (reconcile_config_from_lambda(&v->config, lc) < 0) {
		plan_version_release(v);
		return -ENOMEM;
	}
	return 0;
}

/* o->aliases (allocated for aliases->n) from a ListAliases answer; -ENOMEM. */
static int aliases_build(struct plan_observed *o, const struct lambda_alias_list *aliases)
{
	for (size_t i = 0; i < aliases->n; i++) {
		const struct lambda_alias *la = &aliases->items[i];
		struct plan_observed_alias *oa = &o->aliases[o->n_aliases];

		if (!la->name)
			continue;
		if (!(oa->name = strdup(la->name)))
			return -ENOMEM;
		o->n_aliases++;
		if (la->description && !(oa->description = strdup(la->description)))
			return -ENOMEM;
		oa->version = version_number(la->function_version);
		if (la->n_weights > 0) {
			oa->extra_version = version_number(la->weights[0].version);
			oa->weight = la->weights[0].weight;
		}
		snprintf(oa->revision_id, sizeof(oa->revision_id), "%s",
		         la->revision_id ? la->revision_id : "");
	}
	return 0;
}

/* o's $LATEST (its configuration, RevisionId and update state) from `lc`. */
static int latest_set(struct plan_observed *o, const struct lambda_function_config *lc)
{
	if (reconcile_version_from_lambda(&o->latest, lc) < 0)
		return -ENOMEM;
	snprintf(o->revision_id, sizeof(o->revision_id), "%s", lc->revision_id ? lc->revision_id : "");
	if (o->latest.state == PLAN_STATE_PENDING)
		o->state = PLAN_STATE_PENDING;
	if (lc->last_update_status && !strcmp(lc->last_update_status, "InProgress"))
		o->last_update = PLAN_UPDATE_IN_PROGRESS;
	return 0;
}

/*
 * The observed state from `n` version-list entries ($LATEST and published
 * versions of one function, in list order) and its aliases.
 */
static int observe_build(const char *function, const struct lambda_function_config *items, size_t n,
                         const struct lambda_alias_list *aliases, struct plan_observed *ret,
                         struct aws_error *err)
{
	struct plan_observed o = {0};
	bool have_latest = false;
	int r = -ENOMEM;

	o.exists = true;
	o.versions = calloc(n + 1, sizeof(*o.versions));
	o.aliases = calloc(aliases->n + 1, sizeof(*o.aliases));
	if (!o.versions || !o.aliases)
		goto nomem;
	for (size_t i = 0; i < n; i++) {
		const struct lambda_function_config *lc = &items[i];

		if (lc->version && !strcmp(lc->version, "$LATEST")) {
			if (have_latest)
				continue;
			if (latest_set(&o, lc) < 0)
				goto nomem;
			have_latest = true;
			continue;
		}
		if (version_number(lc->version) <= 0)
			continue;
		if (reconcile_version_from_lambda(&o.versions[o.n_versions], lc) < 0)
			goto nomem;
		o.n_versions++;
	}
	if (aliases_build(&o, aliases) < 0)
		goto nomem;
	if (!have_latest) {
		r = aws_error_set(err, -EBADMSG, "ListVersionsByFunction",
		                  "no $LATEST in the version list of %s", function);
		goto out;
	}
	*ret = o;
	memset(&o, 0, sizeof(o));
	r = 0;
	goto out;
nomem:
	r = aws_error_set(err, -ENOMEM, "observe", "out of memory");
out:
	plan_observed_release(&o);
	return r;
}

int reconcile_observe(struct aws_client *c, const char *function, struct plan_observed *ret,
                      struct aws_error *err)
{
	struct aws_error local = AWS_ERROR_INIT;
	struct plan_observed o = {0};
	int r;

	if (!err)
		err = &local;
	/* the versions ($LATEST first), then the aliases: a missing function reads nothing more */
	r = reconcile_observe_versions(c, function, &o, err);
	if (r >= 0 && o.exists)
		r = reconcile_observe_aliases(c, function, &o, err);
	if (r < 0) {
		plan_observed_release(&o);
		return r;
	}
	*ret = o;
	return 0;
}

int reconcile_observe_aliases(struct aws_client *c, const char *function, struct plan_observed *o,
                              struct aws_error *err)
{
	struct lambda_alias_list aliases = {0};
	struct plan_observed fresh = {0};
	struct plan_observed_alias *old;
	size_t n_old;
	int r;

	r = lambda_aliases_list(c, function, NULL, &aliases, err);
	if (r < 0)
		return r;
	fresh.aliases = calloc(aliases.n + 1, sizeof(*fresh.aliases));
	if (!fresh.aliases || aliases_build(&fresh, &aliases) < 0) {
		r = aws_error_set(err, -ENOMEM, "observe", "out of memory");
		goto out;
	}
	/* swap the alias lists; the old one goes with `fresh` */
	old = o->aliases;
	n_old = o->n_aliases;

	o->aliases = fresh.aliases;
	o->n_aliases = fresh.n_aliases;
	fresh.aliases = old;
	fresh.n_aliases = n_old;
	r = 0;
out:
	plan_observed_release(&fresh);
	lambda_alias_list_release(&aliases);
	return r;
}

int reconcile_observe_listed(struct aws_client *c, const char *function, const struct reconcile_listed *l,
                             struct plan_observed *ret, struct aws_error *err)
{
	struct lambda_alias_list aliases = {0};
	int r;

	if (l->n == 0) {
		/* not in the region's listing: no function (a CreateFunction would meet it: 409) */
		memset(ret, 0, sizeof(*ret));
		return 0;
	}
	r = lambda_aliases_list(c, function, NULL, &aliases, err);
	if (r < 0 && error_kind_of(&err->err) == ERROR_KIND_NOT_FOUND) {
		/* deleted since the listing */
		aws_error_clear(err);
		memset(ret, 0, sizeof(*ret));
		return 0;
	}
	if (r >= 0)
		r = observe_build(function, l->items, l->n, &aliases, ret, err);
	lambda_alias_list_release(&aliases);
	return r;
}

/* Add `number` to nums (at most max, no repeats); numbers <= 0 are skipped. */
static void number_add(long *nums, size_t *n, size_t max, long number)
{
	if (number <= 0 || *n == max)
		return;
	for (size_t i = 0; i < *n; i++)
		if (nums[i] == number)
			return;
	nums[(*n)++] = number;
}

/* GetFunction of version `number` into o->versions; 404 (no such version) adds nothing. */
static int version_read(struct aws_client *c, const char *function, long number, struct plan_observed *o,
                        struct aws_error *err)
{
	struct lambda_function f = {0};
	char q[24];
	int r;

	snprintf(q, sizeof(q), "%ld", number);
	r = lambda_function_get(c, function, q, &f, err);
	if (r < 0 && error_kind_of(&err->err) == ERROR_KIND_NOT_FOUND) {
		aws_error_clear(err);
		return 0;
	}
	if (r < 0)
		return r;
	r = reconcile_version_from_lambda(&o->versions[o->n_versions], &f.config);
	if (r >= 0 && o->versions[o->n_versions].number == number)
		o->n_versions++;
	else
		plan_version_release(&o->versions[o->n_versions]);
	lambda_function_release(&f);
	return r < 0 ? aws_error_set(err, r, "observe", "out of memory") : 0;
}

int reconcile_observe_aliased(struct aws_client *c, const char *function, const struct plan_desired *d,
                              struct plan_observed *ret, struct aws_error *err)
{
	struct lambda_function latest = {0};
	struct lambda_alias_list aliases = {0};
	struct plan_observed o = {0};
	size_t max, n = 0;
	long *nums = NULL;
	int r;

	memset(ret, 0, sizeof(*ret));
	r = lambda_function_get(c, function, NULL, &latest, err);
	if (r >= 0)
		r = lambda_aliases_list(c, function, NULL, &aliases, err);
	if (r < 0 && error_kind_of(&err->err) == ERROR_KIND_NOT_FOUND) {
		/* no function (or deleted between the two reads): nothing else to read */
		aws_error_clear(err);
		r = 0;
		goto out;
	}
	if (r < 0)
		goto out;
	max = 2 * aliases.n + d->n_releases + 2 * d->n_aliases;
	o.exists = true;
	o.partial = true;
	o.versions = calloc(max + 1, sizeof(*o.versions));
	o.aliases = calloc(aliases.n + 1, sizeof(*o.aliases));
	nums = calloc(max + 1, sizeof(*nums));
	if (!o.versions || !o.aliases || !nums || latest_set(&o, &latest.config) < 0 ||
	    aliases_build(&o, &aliases) < 0)
		goto nomem;
	/* what the aliases serve, and what the manifest names by number */
	for (size_t i = 0; i < o.n_aliases; i++) {
		number_add(nums, &n, max, o.aliases[i].version);
		number_add(nums, &n, max, o.aliases[i].extra_version);
	}
	for (size_t i = 0; i < d->n_releases; i++)
		number_add(nums, &n, max, d->releases[i].pin);
	for (size_t i = 0; i < d->n_aliases; i++) {
		if (d->aliases[i].primary.release < 0)
			number_add(nums, &n, max, d->aliases[i].primary.version);
		if (d->aliases[i].weighted && d->aliases[i].extra.release < 0)
			number_add(nums, &n, max, d->aliases[i].extra.version);
	}
	for (size_t i = 0; i < n; i++)
		if ((r = version_read(c, function, nums[i], &o, err)) < 0)
			goto out;
	*ret = o;
	memset(&o, 0, sizeof(o));
	r = 0;
	goto out;
nomem:
	r = aws_error_set(err, -ENOMEM, "observe", "out of memory");
out:
	free(nums);
	plan_observed_release(&o);
	lambda_function_release(&latest);
	lambda_alias_list_release(&aliases);
	return r;
}

int reconcile_observe_versions(struct aws_client *c, const char *function, struct plan_observed *o,
                               struct aws_error *err)
{
	struct lambda_config_list versions = {0};
	struct lambda_alias_list none = {0};
	struct plan_observed full = {0};
	struct plan_observed_alias *empty;
	int r;

	r = lambda_versions_list(c, function, &versions, err);
	if (r < 0 && error_kind_of(&err->err) == ERROR_KIND_NOT_FOUND) {
		/* deleted since its aliases were read */
		aws_error_clear(err);
		plan_observed_release(o);
		memset(o, 0, sizeof(*o));
		return 0;
	}
	if (r >= 0)
		r = observe_build(function, versions.items, versions.n, &none, &full, err);
	lambda_config_list_release(&versions);
	if (r < 0)
		return r;
	/* the new $LATEST and versions, the aliases already read (the empty list goes with o) */
	empty = full.aliases;
	full.aliases = o->aliases;
	o->aliases = empty;
	full.n_aliases = o->n_aliases;
	o->n_aliases = 0;
	plan_observed_release(o);
	*o = full;
	return 0;
}
