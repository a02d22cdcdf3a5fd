/*
 * core.c - the daemon's pure core, see core.h.
 */
#include "cmd/daemon/core.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/history.h"

/* ------------------------------------------------------------ pure helpers */

const char *daemon_sync_state_name(enum daemon_sync_state s)
{
	switch (s) {
	case DAEMON_SYNCED:
		return "Synced";
	case DAEMON_OUT_OF_SYNC:
		return "OutOfSync";
	case DAEMON_PROGRESSING:
		return "Progressing";
	case DAEMON_FAILED:
		return "Failed";
	case DAEMON_STALLED:
		return "Stalled";
	case DAEMON_STATE_N:
		break;
	}
	return "Unknown";
}

uint64_t daemon_backoff_ms(unsigned failures, uint64_t base_ms, uint64_t max_ms)
{
	uint64_t v = base_ms;

	if (failures == 0)
		return 0;
	for (unsigned i = 1; i < failures && v < max_ms; i++)
		v = v > UINT64_MAX / 2 ? UINT64_MAX : v * 2;
	return v < max_ms ? v : max_ms;
}

uint64_t daemon_jitter_ms(uint64_t interval_ms, uint32_t r)
{
	uint64_t span = interval_ms / 5; /* 20%: -10% .. +10% */

	if (span == 0)
		return interval_ms;
	return interval_ms - interval_ms / 10 + (uint64_t)r % (span + 1);
}

static void hash_bytes(EVP_MD_CTX *h, const void *p, size_t n)
{
	uint64_t len = n;

	EVP_DigestUpdate(h, &len, sizeof(len));
	if (n)
		EVP_DigestUpdate(h, p, n);
}

static void hash_str(EVP_MD_CTX *h, const char *s)
{
	if (!s) {
		hash_bytes(h, "\xff", 1); /* NULL differs from "" */
		EVP_DigestUpdate(h, "N", 1);
		return;
	}
	hash_bytes(h, s, strlen(s));
}

static void hash_i64(EVP_MD_CTX *h, int64_t v)
{
	hash_bytes(h, &v, sizeof(v));
}

static void hash_config(EVP_MD_CTX *h, const struct manifest_config *c)
{
	hash_i64(h, c->set);
	hash_str(h, c->runtime);
	hash_str(h, c->handler);
	hash_str(h, c->role);
	hash_i64(h, c->memory_size);
	hash_i64(h, c->timeout);
	hash_i64(h, c->ephemeral_storage);
	hash_str(h, c->description);
	hash_i64(h, (int64_t)c->n_env);
	for (size_t i = 0; i < c->n_env; i++) {
		hash_str(h, c->env[i].name);
		hash_str(h, c->env[i].value);
	}
}

static void hash_target(EVP_MD_CTX *h, const struct manifest_target *t)
{
	hash_str(h, t->release);
	hash_i64(h, t->version);
}

void daemon_function_hash(const struct manifest_function *fn, unsigned char ret[32])
{
	EVP_MD_CTX *h = EVP_MD_CTX_new();
	unsigned int n = 0;

	if (!h) {
		memset(ret, 0, 32);
		return;
	}
	EVP_DigestInit_ex(h, EVP_sha256(), NULL);
	hash_str(h, fn->name);
	hash_str(h, fn->region);
	hash_config(h, &fn->config);
	hash_i64(h, (int64_t)fn->n_releases);
	for (size_t i = 0; i < fn->n_releases; i++) {
		const struct manifest_release *r = &fn->releases[i];

		hash_str(h, r->name);
		hash_i64(h, r->version);
		hash_i64(h, r->code.kind);
		hash_str(h, r->code.zip_path);
		hash_i64(h, (int64_t)r->code.zip_size);
		hash_str(h, r->code.s3_bucket);
		hash_str(h, r->code.s3_key);
		hash_str(h, r->code.s3_object_version);
		hash_str(h, r->code.image_uri);
		hash_str(h, r->code.sha256);
		hash_str(h, r->description);
		hash_config(h, &r->config);
	}
	hash_i64(h, (int64_t)fn->n_aliases);
	for (size_t i = 0; i < fn->n_aliases; i++) {
		const struct manifest_alias *a = &fn->aliases[i];

		hash_str(h, a->name);
		hash_target(h, &a->primary);
		hash_i64(h, a->has_weight);
		if (a->has_weight) {
			hash_target(h, &a->weighted);
			hash_bytes(h, &a->weight, sizeof(a->weight));
		}
		hash_str(h, a->description);
		hash_i64(h, a->rollout != NULL);
		if (a->rollout) {
			const struct manifest_rollout *ro = a->rollout;

			hash_str(h, ro->codedeploy);
			hash_i64(h, (int64_t)ro->spec.n_steps);
			for (size_t k = 0; k < ro->spec.n_steps && k < ROLLOUT_MAX_STEPS; k++)
				hash_i64(h, ro->spec.steps[k]);
			hash_i64(h, ro->spec.interval_s);
			hash_i64(h, (int64_t)ro->spec.n_alarms);
			for (size_t k = 0; ro->alarms && k < ro->spec.n_alarms; k++)
				hash_str(h, ro->alarms[k]);
			hash_str(h, ro->pre_traffic);
		}
	}
	hash_i64(h, fn->prune.aliases);
	hash_i64(h, fn->prune.keep_versions);
	EVP_DigestFinal_ex(h, ret, &n);
	EVP_MD_CTX_free(h);
}

/* ------------------------------------------------------------------- table */

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? strdup(s) : NULL;
}

static bool streq_null(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

static void gen_free(struct core_gen *g)
{
	manifest_history_free(g->history);
	manifest_set_free(g->set);
	manifest_source_free(g->src);
	free(g);
}

static void gen_unref(struct core_gen *g)
{
	if (g && g->refs)
		g->refs--;
}

static void fn_free(struct core_fn *st)
{
	if (!st)
		return;
	free(st->file);
	free(st->manifest_error);
	free(st->last_error);
	core_aliases_free(st->actual, st->n_actual);
	free(st);
}

void core_init(struct core *c, const struct core_options *opt)
{
	memset(c, 0, sizeof(*c));
	c->opt = *opt;
	c->resync.period_ms = opt->resync_ms;
	c->resync.rate = opt->rate;
	c->next_poll = 0;
	c->last_poll_start = CORE_NEVER;
	c->last_poke_poll = CORE_NEVER;
}

void core_release(struct core *c)
{
	for (size_t i = 0; i < c->n_fns; i++)
		fn_free(c->fns[i]);
	free(c->fns);
	free(c->index);
	while (c->gens) {
		struct core_gen *g = c->gens;

		c->gens = g->next;
		gen_free(g);
	}
	for (size_t i = 0; i < c->n_manifest_errors; i++)
		free(c->manifest_errors[i]);
	memset(c, 0, sizeof(*c));
}

static size_t key_hash(const char *name, const char *region)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (const char *p = name; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	h = (h ^ 0xff) * 1099511628211ULL;
	for (const char *p = region; p && *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ULL;
	return (size_t)(h ^ (h >> 32));
}

static struct core_fn **index_slot(struct core *c, const struct core_fn *st)
{
	return &c->index[key_hash(st->name, st->region) & (c->n_index - 1)];
}

static void index_remove(struct core *c, struct core_fn *st)
{
	struct core_fn **pp;

	if (!c->index)
		return;
	for (pp = index_slot(c, st); *pp; pp = &(*pp)->hash_next)
		if (*pp == st) {
			*pp = st->hash_next;
			st->hash_next = NULL;
			return;
		}
}

/* Room for `n` functions in the index (a linear search of 10,000 per lookup made a load O(n^2)). */
static int index_reserve(struct core *c, size_t n)
{
	size_t size = c->n_index ? c->n_index : 64;
	struct core_fn **idx;

	while (size < n)
		size *= 2;
	if (c->index && size == c->n_index)
		return 0;
	idx = calloc(size, sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	free(c->index);
	c->index = idx;
	c->n_index = size;
	for (size_t i = 0; i < c->n_fns; i++) {
		struct core_fn **pp = index_slot(c, c->fns[i]);

		c->fns[i]->hash_next = *pp;
		*pp = c->fns[i];
	}
	return 0;
}

struct core_fn *core_fn_find(struct core *c, const char *name, const char *region)
{
	if (!c->index)
		return NULL;
	for (struct core_fn *st = c->index[key_hash(name, region) & (c->n_index - 1)]; st; st = st->hash_next)
		if (!st->removed && !strcmp(st->name, name) && streq_null(st->region, region))
			return st;
	return NULL;
}

static struct core_fn *fn_add(struct core *c, const char *name, const char *region)
{
	struct core_fn *st;

	if (c->n_fns == c->alloc_fns) {
		size_t n = c->alloc_fns ? c->alloc_fns * 2 : 64;
		struct core_fn **p = realloc(c->fns, n * sizeof(*p));

		if (!p)
			return NULL;
		c->fns = p;
		c->alloc_fns = n;
	}
	if (index_reserve(c, c->n_fns + 1) < 0)
		return NULL;
	/* the key lives after the struct: one malloc per function, not three */
	st = calloc(1, sizeof(*st) + strlen(name) + 1 + (region ? strlen(region) + 1 : 0));
	if (!st)
		return NULL;
	st->name = strcpy((char *)(st + 1), name);
	st->region = region ? strcpy((char *)(st + 1) + strlen(name) + 1, region) : NULL;
	st->due = CORE_NEVER;
	st->check_due = CORE_NEVER;
	st->state = DAEMON_OUT_OF_SYNC;
	c->fns[c->n_fns++] = st;
	st->hash_next = *index_slot(c, st);
	*index_slot(c, st) = st;
	return st;
}

void core_collect(struct core *c)
{
	struct core_gen **pp = &c->gens;
	size_t o = 0;

	for (size_t i = 0; i < c->n_fns; i++) {
		struct core_fn *st = c->fns[i];

		if (st->removed && !st->in_flight) {
			gen_unref(st->gen);
			index_remove(c, st);
			fn_free(st);
		} else {
			c->fns[o++] = st;
		}
	}
	c->n_fns = o;
	while (*pp) {
		struct core_gen *g = *pp;

		if (g->refs == 0) {
			*pp = g->next;
			gen_free(g);
		} else {
			pp = &g->next;
		}
	}
}

size_t core_counts(const struct core *c, size_t counts[DAEMON_STATE_N])
{
	size_t total = 0;

	for (int s = 0; s < DAEMON_STATE_N; s++)
		counts[s] = 0;
	for (size_t i = 0; i < c->n_fns; i++)
		if (!c->fns[i]->removed) {
			counts[c->fns[i]->state]++;
			total++;
		}
	return total;
}

/* -------------------------------------------------------------------- load */

/* The first error of the set located in `file`, as text. */
static void manifest_error_for(const struct manifest_set *set, const char *file, char **ret)
{
	char text[ERROR_MSG_MAX + ERROR_FILE_MAX + 32];

	for (size_t i = 0; file && i < set->errors.len; i++)
		if (!strcmp(set->errors.items[i].file, file)) {
			error_format(&set->errors.items[i], text, sizeof(text));
			set_str(ret, text);
			return;
		}
	set_str(ret, "invalid manifest (see the repository's errors)");
}

static bool file_broken(const struct manifest_set *set, const char *path)
{
	for (size_t i = 0; path && i < set->n_files; i++)
		if (!strcmp(set->files[i].path, path))
			return set->files[i].broken;
	return false;
}

/* A new desired state: it supersedes whatever happened to the old one. */
static void supersede(struct core_fn *st, const unsigned char h[CORE_HASH_LEN], uint64_t now)
{
	memcpy(st->hash, h, CORE_HASH_LEN);
	st->due = now;
	st->check_due = CORE_NEVER; /* the new desired state's reconcile says what is pending */
	st->from_cache = true;
	st->failures = 0;
	set_str(&st->last_error, NULL);
	st->error_kind = ERROR_KIND_UNSPECIFIED;
	st->restored = false;
	if (!st->in_flight)
		st->state = DAEMON_OUT_OF_SYNC;
}

int core_load(struct core *c, struct core_gen *g, uint64_t now, struct core_load_stats *ret_stats,
              void (*on_removed)(void *arg, const struct core_fn *fn), void *arg)
{
	const struct manifest_set *set = g->set;
	struct core_load_stats stats = {0, 0, 0};

	/* create every entry first: failing half-way must leave the table as it was */
	for (size_t i = 0; i < set->n_functions; i++) {
		const struct manifest_function *fn = &set->functions[i];

		if (!core_fn_find(c, fn->name, fn->region) && !fn_add(c, fn->name, fn->region))
			return -ENOMEM;
	}
	g->next = c->gens;
	c->gens = g;
	for (size_t i = 0; i < c->n_fns; i++)
		c->fns[i]->seen = false;
	for (size_t i = 0; i < set->n_functions; i++) {
		const struct manifest_function *fn = &set->functions[i];
		struct core_fn *st = core_fn_find(c, fn->name, fn->region);
		unsigned char h[CORE_HASH_LEN];

		st->seen = true;
		set_str(&st->file, fn->file);
		st->line = fn->line;
		st->col = fn->col;
		if (fn->n_errors) {
			/* keep the last good state; with none there is nothing to serve */
			st->invalid = true;
			manifest_error_for(set, fn->file, &st->manifest_error);
			if (!st->fn)
				st->state = DAEMON_FAILED;
			continue;
		}
		st->invalid = false;
		st->restored = false; /* declared validly again: no longer from the state file */
		set_str(&st->manifest_error, NULL);
		daemon_function_hash(fn, h);
		if (!st->fn || memcmp(h, st->hash, sizeof(h))) {
			supersede(st, h, now);
			stats.changed++;
		}
		gen_unref(st->gen);
		st->gen = g;
		g->refs++;
		st->fn = fn;
	}
	for (size_t i = 0; i < c->n_fns; i++) {
		struct core_fn *st = c->fns[i];

		if (st->seen || st->removed)
			continue;
		if (st->fn && file_broken(set, st->file)) {
			/* its file is broken: keep the last good state */
			st->invalid = true;
			manifest_error_for(set, st->file, &st->manifest_error);
			continue;
		}
		st->removed = true;
		stats.removed++;
		if (on_removed)
			on_removed(arg, st);
	}
	for (size_t i = 0; i < c->n_fns; i++)
		if (!c->fns[i]->removed && c->fns[i]->invalid && c->fns[i]->fn)
			stats.kept++;

	for (size_t i = 0; i < c->n_manifest_errors; i++)
		free(c->manifest_errors[i]);
	c->n_manifest_errors = 0;
	for (size_t i = 0; i < set->errors.len && i < CORE_ERRORS_SHOWN; i++) {
		char text[ERROR_MSG_MAX + ERROR_FILE_MAX + 32];

		error_format(&set->errors.items[i], text, sizeof(text));
		c->manifest_errors[c->n_manifest_errors] = strdup(text);
		if (c->manifest_errors[c->n_manifest_errors])
			c->n_manifest_errors++;
	}
	c->total_manifest_errors = manifest_set_error_count(set);
	snprintf(c->loaded_rev, sizeof(c->loaded_rev), "%s", g->revision);
	c->loaded = true;
	core_resync_update(c);
	if (ret_stats)
		*ret_stats = stats;
	return 0;
}

static bool gen_listed(const struct core *c, const struct core_gen *g)
{
	for (const struct core_gen *p = c->gens; p; p = p->next)
		if (p == g)
			return true;
	return false;
}

int core_restore(struct core *c, struct core_gen *g, const struct manifest_function *fn, uint64_t now)
{
	struct core_fn *st = core_fn_find(c, fn->name, fn->region);
	unsigned char h[CORE_HASH_LEN];

	if (fn->n_errors || !c->loaded || !c->gens)
		return 0;
	if (st && (!st->invalid || st->fn))
		return 0; /* valid now, or already has a last good state */
	if (!st) {
		/* undeclared: only when its file is broken in the newest load */
		const struct manifest_set *newest = NULL;

		for (const struct core_gen *p = c->gens; p && !newest; p = p->next)
			if (!strcmp(p->revision, c->loaded_rev) && p != g)
				newest = p->set;
		if (!newest || !file_broken(newest, fn->file))
			return 0;
		st = fn_add(c, fn->name, fn->region);
		if (!st)
			return -ENOMEM;
		set_str(&st->file, fn->file);
		st->line = fn->line;
		st->col = fn->col;
		st->invalid = true;
		manifest_error_for(newest, fn->file, &st->manifest_error);
	}
	if (!gen_listed(c, g)) {
		g->next = c->gens;
		c->gens = g;
	}
	daemon_function_hash(fn, h);
	supersede(st, h, now);
	st->from_cache = false; /* nothing of it was observed yet */
	st->restored = true;
	st->gen = g;
	g->refs++;
	st->fn = fn;
	return 1;
}

/* -------------------------------------------------------------------- jobs */

static bool job_ready(const struct core_fn *st, uint64_t now)
{
	return !st->removed && !st->in_flight && st->fn && st->due <= now;
}

struct core_fn *core_next_job(struct core *c, uint64_t now, unsigned concurrency)
{
	struct core_fn *st = NULL;

	if (c->in_flight >= concurrency + CORE_GUARD_LANES)
		return NULL;
	/*
	 * A rollout's due check jumps the queue, and may take a guard lane when
	 * every worker is busy: its guard and its steps keep time even while
	 * long reconciles (zip uploads) hold all `concurrency` workers.
	 */
	for (size_t i = 0; i < c->n_fns && !st; i++)
		if (job_ready(c->fns[i], now) && c->fns[i]->check_due <= now)
			st = c->fns[i];
	for (size_t i = 0; i < c->n_fns && !st && c->in_flight < concurrency; i++)
		if (job_ready(c->fns[i], now))
			st = c->fns[i];
	if (!st)
		return NULL;
	st->in_flight = true;
	st->check_due = CORE_NEVER; /* this reconcile's result says when to look again */
	st->state = DAEMON_PROGRESSING;
	st->gen->refs++;
	snprintf(st->attempted_rev, sizeof(st->attempted_rev), "%s", st->gen->revision);
	c->in_flight++;
	return st;
}

enum core_outcome core_finish(struct core *c, struct core_fn *st, struct core_gen *gen,
                              const unsigned char hash[CORE_HASH_LEN], int status, enum error_kind kind,
                              const char *message, uint64_t now, uint32_t rnd, uint64_t *ret_wait_ms)
{
	enum core_outcome o;

	st->in_flight = false;
	if (c->in_flight)
		c->in_flight--;
	if (st->removed) {
		o = CORE_OUTCOME_REMOVED;
	} else if (memcmp(hash, st->hash, CORE_HASH_LEN)) {
		/* a newer commit changed it meanwhile: that one wins, at once */
		st->due = now;
		st->state = DAEMON_OUT_OF_SYNC;
		o = CORE_OUTCOME_SUPERSEDED;
	} else if (status >= 0) {
		st->from_cache = false; /* next: the resync, observed afresh */
		st->failures = 0;
		st->state = DAEMON_SYNCED;
		snprintf(st->applied_rev, sizeof(st->applied_rev), "%s", gen->revision);
		set_str(&st->last_error, NULL);
		st->error_kind = ERROR_KIND_UNSPECIFIED;
		st->due = c->resync.period_ms ? now + daemon_jitter_ms(core_fn_resync_period(c, st), rnd)
		                              : CORE_NEVER;
		o = CORE_OUTCOME_SUCCESS;
	} else if (kind == ERROR_KIND_CANCELED || status == -ECANCELED) {
		st->state = DAEMON_OUT_OF_SYNC;
		st->due = now;
		o = CORE_OUTCOME_CANCELED;
	} else {
		st->from_cache = false;
		st->failures++;
		set_str(&st->last_error, message ? message : "reconcile failed");
		st->error_kind = kind;
		if (kind == ERROR_KIND_TERMINAL) {
			st->state = DAEMON_STALLED;
			st->due = CORE_NEVER;
			o = CORE_OUTCOME_STALLED;
		} else {
			uint64_t wait = daemon_backoff_ms(st->failures,
			                                  c->opt.backoff_base_ms ? c->opt.backoff_base_ms
			                                                         : DAEMON_BACKOFF_BASE_MS,
			                                  c->opt.backoff_max_ms);

			st->state = DAEMON_FAILED;
			st->due = now + wait;
			if (ret_wait_ms)
				*ret_wait_ms = wait;
			o = CORE_OUTCOME_RETRY;
		}
	}
	gen_unref(gen);
	return o;
}

bool core_applied_update(struct core *c)
{
	/* a commit with manifest errors is attempted, never (completely) applied */
	if (!c->loaded || c->total_manifest_errors)
		return false;
	for (size_t i = 0; i < c->n_fns; i++) {
		struct core_fn *st = c->fns[i];

		if (st->removed || st->invalid)
			continue;
		if (st->state != DAEMON_SYNCED || !st->gen || strcmp(st->gen->revision, c->loaded_rev))
			return false;
	}
	if (!strcmp(c->applied_rev, c->loaded_rev))
		return false;
	memcpy(c->applied_rev, c->loaded_rev, sizeof(c->applied_rev));
	return true;
}

/* ---------------------------------------------------------------- rollouts */

uint64_t core_check_time(int64_t next_check, int64_t wall_ms, uint64_t mono_ms)
{
	int64_t ahead;

	if (next_check <= 0)
		return CORE_NEVER;
	if (next_check > INT64_MAX / 1000)
		return CORE_NEVER - 1;
	ahead = next_check * 1000 - wall_ms;
	if (ahead <= 0)
		return mono_ms;
	if ((uint64_t)ahead >= CORE_NEVER - mono_ms)
		return CORE_NEVER - 1;
	return mono_ms + (uint64_t)ahead;
}

const char *core_rollout_change_name(enum core_rollout_change ch)
{
	switch (ch) {
	case CORE_ROLLOUT_STARTED:
		return "started";
	case CORE_ROLLOUT_STEPPED:
		return "stepped";
	case CORE_ROLLOUT_SUCCEEDED:
		return "succeeded";
	case CORE_ROLLOUT_PROMOTED:
		return "promoted";
	case CORE_ROLLOUT_ROLLED_BACK:
		return "rolled_back";
	case CORE_ROLLOUT_ABORTED:
		return "aborted";
	case CORE_ROLLOUT_SAME:
		break;
	}
	return NULL;
}

static bool same_rollout(const struct rollout_progress *a, const struct rollout_progress *b)
{
	return a->state != ROLLOUT_NONE && a->from == b->from && a->to == b->to &&
	       !strncmp(a->desired_id, b->desired_id, sizeof(a->desired_id));
}

enum core_rollout_change core_rollout_change(const struct core_alias *before, const struct core_alias *now,
                                             int64_t started_s)
{
	const struct rollout_progress *p = now ? core_alias_rollout(now) : NULL;
	const struct rollout_progress *b = before ? core_alias_rollout(before) : NULL;

	if (!p || p->state == ROLLOUT_NONE)
		return CORE_ROLLOUT_SAME;
	if (b && same_rollout(b, p) && b->state == p->state)
		return p->state == ROLLOUT_PROGRESSING && b->step != p->step ? CORE_ROLLOUT_STEPPED
		                                                             : CORE_ROLLOUT_SAME;
	if (!before && p->since < started_s)
		return CORE_ROLLOUT_SAME; /* not this reconcile's doing */
	switch (p->state) {
	case ROLLOUT_PROGRESSING:
		if (!before && p->step > 1)
			return CORE_ROLLOUT_STEPPED;
		return CORE_ROLLOUT_STARTED;
	case ROLLOUT_SUCCEEDED:
		if (!p->from)
			return CORE_ROLLOUT_SAME; /* created on its version: no traffic shifted */
		if (p->step < now->rollout_steps)
			return CORE_ROLLOUT_PROMOTED;
		if (b && same_rollout(b, p) && b->state == ROLLOUT_PROGRESSING && b->step == p->step &&
		    now->rollout_interval && p->since < b->since + (int64_t)now->rollout_interval)
			return CORE_ROLLOUT_PROMOTED; /* its last step's time was not up */
		return CORE_ROLLOUT_SUCCEEDED;
	case ROLLOUT_ROLLED_BACK:
		return !strcmp(p->reason, "aborted") ? CORE_ROLLOUT_ABORTED : CORE_ROLLOUT_ROLLED_BACK;
	case ROLLOUT_NONE:
		break;
	}
	return CORE_ROLLOUT_SAME;
}

bool core_rollout_failed(const struct rollout_progress *p)
{
	return p->state == ROLLOUT_ROLLED_BACK && strncmp(p->reason, "reverted", 8) != 0;
}

void core_rollouts_of(const struct core_alias *a, size_t n, struct core_rollouts *ret)
{
	struct core_rollouts r = {0, NULL};

	for (size_t i = 0; a && i < n; i++) {
		if (core_alias_rollout(&a[i])->state == ROLLOUT_PROGRESSING)
			r.progressing++;
		else if (!r.failed && a[i].rollout_failed)
			r.failed = &a[i];
	}
	*ret = r;
}

uint64_t core_guard_ms(const struct manifest_function *fn)
{
	uint64_t best = 0;

	for (size_t i = 0; fn && i < fn->n_aliases; i++) {
		uint64_t g;

		if (!fn->aliases[i].rollout)
			continue;
		g = (uint64_t)rollout_guard_period(&fn->aliases[i].rollout->spec) * 1000;
		if (!best || g < best)
			best = g;
	}
	return best;
}

enum core_outcome core_rollout_finish(struct core *c, struct core_fn *st, enum core_outcome o,
                                      const struct core_alias *a, size_t n, uint64_t check_at,
                                      uint64_t guard_ms, uint64_t now)
{
	struct core_rollouts r;

	(void)c;
	if (o != CORE_OUTCOME_SUCCESS && o != CORE_OUTCOME_RETRY)
		return o;
	core_rollouts_of(a, n, &r);
	/* a progressing rollout is never left without a check, nor behind a long backoff */
	if (r.progressing && guard_ms && (check_at == CORE_NEVER || o == CORE_OUTCOME_RETRY) &&
	    now + guard_ms < check_at)
		check_at = now + guard_ms;
	if (check_at != CORE_NEVER) {
		st->check_due = check_at;
		if (check_at < st->due)
			st->due = check_at;
	}
	if (o != CORE_OUTCOME_SUCCESS)
		return o;
	if (r.failed) {
		char text[ROLLOUT_REASON_MAX + 160];

		snprintf(text, sizeof(text), "rollout of alias %s rolled back: %s", r.failed->name,
		         core_alias_rollout(r.failed)->reason[0] ? core_alias_rollout(r.failed)->reason
		                                                 : "no reason recorded");
		set_str(&st->last_error, text);
		st->error_kind = ERROR_KIND_TERMINAL;
		st->state = DAEMON_STALLED;
		if (now + CORE_HELD_CHECK_MS < st->due)
			st->due = now + CORE_HELD_CHECK_MS; /* an `aliasd rollout retry` is followed */
		return CORE_OUTCOME_STALLED;
	}
	if (r.progressing)
		st->state = DAEMON_PROGRESSING;
	return o;
}

uint64_t core_next_deadline(const struct core *c, unsigned concurrency, bool poll)
{
	uint64_t next = poll ? c->next_poll : CORE_NEVER;

	if (c->in_flight >= concurrency + CORE_GUARD_LANES)
		return next;
	for (size_t i = 0; i < c->n_fns; i++) {
		const struct core_fn *st = c->fns[i];
		uint64_t at = st->due;

		if (st->in_flight || !st->fn || st->removed)
			continue;
		if (c->in_flight >= concurrency) /* only a guard lane is free: rollout checks only */
			at = st->check_due == CORE_NEVER ? CORE_NEVER
			     : st->check_due > at        ? st->check_due
			                                 : at;
		if (at < next)
			next = at;
	}
	return next;
}

void core_reconcile_all(struct core *c, uint64_t now)
{
	for (size_t i = 0; i < c->n_fns; i++)
		if (c->fns[i]->fn && !c->fns[i]->removed) {
			c->fns[i]->due = now;
			c->fns[i]->from_cache = false;
		}
}

/* A synced function whose next resync lies beyond one (new) period from now. */
static bool resync_too_late(const struct core *c, const struct core_fn *st, uint64_t now)
{
	return !st->removed && !st->in_flight && st->fn && st->state == DAEMON_SYNCED &&
	       c->resync.period_ms && st->due > now + core_fn_resync_period(c, st);
}

void core_config_changed(struct core *c, const struct core_options *opt, uint64_t now, uint32_t rnd)
{
	size_t late = 0, k = 0;

	(void)rnd;
	c->opt = *opt;
	core_resync_update(c);
	for (size_t i = 0; i < c->n_fns; i++)
		late += resync_too_late(c, c->fns[i], now);
	for (size_t i = 0; i < c->n_fns; i++) {
		struct core_fn *st = c->fns[i];

		if (resync_too_late(c, st, now)) {
			/* spread evenly over the new period, never all at one instant */
			st->due = now + (uint64_t)((double)core_fn_resync_period(c, st) * (double)++k /
			                           (double)late);
		} else if (!st->removed && !st->in_flight && st->fn && st->state == DAEMON_STALLED) {
			st->due = now;
			st->from_cache = false;
		}
	}
}

/* --------------------------------------------------------------------- git */

bool core_poll_due(const struct core *c, uint64_t now)
{
	return now >= c->next_poll;
}

void core_poll_started(struct core *c, uint64_t now)
{
	c->last_poll_start = now;
	c->next_poll = CORE_NEVER;
	if (c->poke_pending)
		c->last_poke_poll = now;
	c->poke_pending = false;
}

void core_poll_ok(struct core *c, uint64_t now, uint32_t rnd)
{
	uint64_t next = now + daemon_jitter_ms(c->opt.interval_ms, rnd);

	c->git_failures = 0;
	/* a poke during the poll (the push may have come after it): one more, as core_poke set */
	if (!c->poke_pending || c->next_poll > next)
		c->next_poll = next;
}

uint64_t core_poll_failed(struct core *c, uint64_t now, uint32_t rnd)
{
	uint64_t cap =
	    c->opt.backoff_max_ms > c->opt.interval_ms ? c->opt.backoff_max_ms : c->opt.interval_ms;
	uint64_t wait;

	c->git_failures++;
	wait = daemon_backoff_ms(c->git_failures, c->opt.interval_ms, cap);
	c->next_poll = now + daemon_jitter_ms(wait, rnd);
	c->poke_pending = false; /* failing: pokes wait for the backoff */
	return wait;
}

void core_poke(struct core *c, uint64_t now)
{
	uint64_t t = now;

	if (c->git_failures)
		return; /* the backoff decides when to try again */
	if (c->last_poke_poll != CORE_NEVER && c->last_poke_poll + CORE_POKE_GAP_MS > t)
		t = c->last_poke_poll + CORE_POKE_GAP_MS;
	if (t < c->next_poll) {
		c->next_poll = t;
		c->poke_pending = true;
	}
}

void core_poll_now(struct core *c, uint64_t now)
{
	c->next_poll = now;
}
