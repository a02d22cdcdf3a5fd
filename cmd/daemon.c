/*
 * daemon.c - the aliasd daemon loop, see daemon.h.
 *
 * Threads:
 *  - the loop (the caller of daemon_run): Git, manifests, scheduling, and the
 *    only writer of the function table;
 *  - `concurrency` workers: reconcile_function(), one job at a time,
 *    results (with the aliases as Lambda has them) handed back to the loop;
 *  - the signal thread: sigtimedwait() for SIGTERM/INT/HUP/USR1, and the
 *    systemd watchdog;
 *  - libmicrohttpd's thread: /status, /metrics, /healthz, webhooks.
 * `d.lock` protects the function table and the status fields (read by the
 * HTTP thread); `d.qlock` the job queues.
 */
#include "cmd/daemon.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <openssl/evp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "cmd/config.h"
#include "cmd/httpd.h"
#include "cmd/metrics.h"
#include "cmd/notify.h"
#include "manifest/load.h"
#include "manifest/repo.h"
#include "reconcile/reconcile.h"
#include "util/log.h"

#ifndef ALIASD_VERSION
#define ALIASD_VERSION "unknown"
#endif

#define MAX_THREADS  CONFIG_CONCURRENCY_MAX
#define ERRORS_SHOWN 50 /* manifest errors kept for /status */

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
	}
	hash_i64(h, fn->prune.aliases);
	hash_i64(h, fn->prune.keep_versions);
	EVP_DigestFinal_ex(h, ret, &n);
	EVP_MD_CTX_free(h);
}

/* ------------------------------------------------------------------- state */

/* One loaded commit: the manifests and the snapshot their zips are read from. */
struct gen {
	struct manifest_set *set;
	struct manifest_source *src;
	char revision[41];
	unsigned refs; /* functions and jobs using it (loop thread only) */
	struct gen *next;
};

struct alias_actual {
	char *name;
	long version, extra;
	double weight;
};

struct fnst {
	char *name, *region; /* the key */
	char *file;          /* where declared last */
	unsigned line, col;
	struct gen *gen; /* last good desired state: gen + function */
	const struct manifest_function *fn;
	unsigned char hash[32];
	bool invalid;         /* the newest commit's manifest is broken for it */
	char *manifest_error; /* first of its errors, "file:line:col: msg" */
	enum daemon_sync_state state;
	char applied_rev[41], attempted_rev[41];
	char *last_error; /* last reconcile failure, "file:line:col: msg" */
	unsigned failures;
	uint64_t due; /* monotonic ms; UINT64_MAX = nothing scheduled */
	bool in_flight;
	struct alias_actual *actual;
	size_t n_actual;
	bool actual_known;
	time_t last_success; /* wall clock, 0 = never */
	bool seen;           /* scratch during a load */
	bool removed;        /* no longer declared; freed when no job holds it */
};

struct job {
	struct fnst *st;
	struct gen *gen;
	const struct manifest_function *fn;
	unsigned char hash[32];
	struct reconcile_result res;
	int status;
	struct alias_actual *actual;
	size_t n_actual;
	bool actual_ok;
	double seconds;
	struct job *next;
};

struct daemon {
	struct config *cfg;
	const char *config_path;
	int efd; /* eventfd: wakes the loop */
	atomic_bool stop, reload, poke, reconcile_all;
	atomic_uint_fast64_t heartbeat; /* monotonic ms of the loop's last sign of life */
	atomic_bool waiting;            /* the loop sleeps in poll(): alive by definition */

	struct manifest_repo *repo;
	struct reconcile_ctx *rctx;
	struct httpd *httpd;
	struct metrics *metrics;
	struct metric_family *m_reconcile, *m_duration, *m_functions, *m_revision, *m_aws, *m_git, *m_errors,
	    *m_up;

	pthread_mutex_t lock; /* fns, gens' status view, status fields */
	struct fnst **fns;
	size_t n_fns, alloc_fns;
	struct gen *gens;
	bool loaded;          /* a load succeeded at least once */
	char remote_rev[41];  /* what the remote said last */
	char loaded_rev[41];  /* newest commit loaded */
	char applied_rev[41]; /* newest commit whose every valid function converged */
	char *load_error;     /* last load/git failure; NULL when fine */
	unsigned git_failures;
	time_t last_poll, last_load;
	char *manifest_errors[ERRORS_SHOWN];
	size_t n_manifest_errors, total_manifest_errors;
	char repo_desc[512];

	/* jobs */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct job *queue, **queue_tail, *done;
	bool workers_exit;
	pthread_t workers[MAX_THREADS];
	unsigned n_workers;
	unsigned in_flight;
	unsigned long jobs_done; /* reconciles finished since start */
	struct reconcile_options ropt_template;

	uint64_t next_poll;
	char status_line[256];
};

static struct daemon d;

static uint64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint32_t random_u32(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)mono_ms() * 2654435761u;
	return r;
}

static void wake(void)
{
	uint64_t one = 1;
	ssize_t n = write(d.efd, &one, sizeof(one));

	(void)n;
}

static void alive(void)
{
	atomic_store(&d.heartbeat, mono_ms());
}

static void actual_free(struct alias_actual *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(a[i].name);
	free(a);
}

static void gen_unref(struct gen *g)
{
	if (g && g->refs)
		g->refs--;
}

/* Free every generation nobody uses (loop thread, lock held). */
static void gens_collect(void)
{
	struct gen **pp = &d.gens;

	while (*pp) {
		struct gen *g = *pp;

		if (g->refs == 0) {
			*pp = g->next;
			manifest_set_free(g->set);
			manifest_source_free(g->src);
			free(g);
		} else {
			pp = &g->next;
		}
	}
}

static void fnst_free(struct fnst *st)
{
	if (!st)
		return;
	free(st->name);
	free(st->region);
	free(st->file);
	free(st->manifest_error);
	free(st->last_error);
	actual_free(st->actual, st->n_actual);
	free(st);
}

static bool streq_null(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return !strcmp(a, b);
}

static struct fnst *fn_find(const char *name, const char *region)
{
	for (size_t i = 0; i < d.n_fns; i++)
		if (!d.fns[i]->removed && !strcmp(d.fns[i]->name, name) &&
		    streq_null(d.fns[i]->region, region))
			return d.fns[i];
	return NULL;
}

static struct fnst *fn_add(const char *name, const char *region)
{
	struct fnst *st;

	if (d.n_fns == d.alloc_fns) {
		size_t n = d.alloc_fns ? d.alloc_fns * 2 : 64;
		struct fnst **p = realloc(d.fns, n * sizeof(*p));

		if (!p)
			return NULL;
		d.fns = p;
		d.alloc_fns = n;
	}
	st = calloc(1, sizeof(*st));
	if (!st)
		return NULL;
	st->name = strdup(name);
	st->region = region ? strdup(region) : NULL;
	if (!st->name || (region && !st->region)) {
		fnst_free(st);
		return NULL;
	}
	st->due = UINT64_MAX;
	st->state = DAEMON_OUT_OF_SYNC;
	d.fns[d.n_fns++] = st;
	return st;
}

/* Drop removed functions that no job holds (lock held). */
static void fns_collect(void)
{
	size_t o = 0;

	for (size_t i = 0; i < d.n_fns; i++) {
		struct fnst *st = d.fns[i];

		if (st->removed && !st->in_flight) {
			gen_unref(st->gen);
			fnst_free(st);
		} else {
			d.fns[o++] = st;
		}
	}
	d.n_fns = o;
}

static void set_str(char **dst, const char *s)
{
	free(*dst);
	*dst = s ? strdup(s) : NULL;
}

/* ------------------------------------------------------------------ metrics */

static const double duration_buckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};

static int metrics_setup(void)
{
	static const char *const l_result[] = {"result", NULL};
	static const char *const l_state[] = {"state", NULL};
	static const char *const l_revision[] = {"revision", NULL};
	static const char *const l_aws[] = {"operation", "code", NULL};
	static const char *const l_git[] = {"kind", "result", NULL};
	int r = metrics_new(&d.metrics);

	if (r < 0)
		return r;
	d.m_up =
	    metrics_family_add(d.metrics, "aliasd_up", "1 while the daemon runs; 0 until the first load.",
	                       METRIC_GAUGE, NULL, NULL, 0);
	d.m_reconcile =
	    metrics_family_add(d.metrics, "aliasd_reconcile_total",
	                       "Function reconcile passes by result (success, failure, canceled).",
	                       METRIC_COUNTER, l_result, NULL, 0);
	d.m_duration = metrics_family_add(
	    d.metrics, "aliasd_reconcile_duration_seconds", "Duration of one function reconcile pass.",
	    METRIC_HISTOGRAM, NULL, duration_buckets, sizeof(duration_buckets) / sizeof(duration_buckets[0]));
	d.m_functions = metrics_family_add(d.metrics, "aliasd_functions", "Managed functions by sync state.",
	                                   METRIC_GAUGE, l_state, NULL, 0);
	d.m_revision = metrics_family_add(
	    d.metrics, "aliasd_last_applied_revision_info",
	    "Newest commit applied completely: no manifest error, every function synced (value 1).",
	    METRIC_GAUGE, l_revision, NULL, 0);
	d.m_errors =
	    metrics_family_add(d.metrics, "aliasd_manifest_errors",
	                       "Manifest errors in the newest loaded commit.", METRIC_GAUGE, NULL, NULL, 0);
	d.m_aws = metrics_family_add(
	    d.metrics, "aliasd_aws_requests_total",
	    "Lambda API requests by operation and outcome (ok, AWS error code, HTTP_<status>, transport).",
	    METRIC_COUNTER, l_aws, NULL, 0);
	d.m_git =
	    metrics_family_add(d.metrics, "aliasd_git_requests_total",
	                       "Git remote operations by kind (ls-remote, fetch) and result (ok, error).",
	                       METRIC_COUNTER, l_git, NULL, 0);
	if (!d.m_up || !d.m_reconcile || !d.m_duration || !d.m_functions || !d.m_revision || !d.m_errors ||
	    !d.m_aws || !d.m_git)
		return -ENOMEM;
	metrics_gauge_set(d.m_up, NULL, 0);
	metrics_gauge_set(d.m_errors, NULL, 0);
	for (int s = DAEMON_SYNCED; s <= DAEMON_FAILED; s++)
		metrics_gauge_set(d.m_functions, (const char *[]){daemon_sync_state_name(s)}, 0);
	for (int k = 0; k < 2; k++)
		for (int ok = 0; ok < 2; ok++)
			metrics_counter_add(
			    d.m_git, (const char *[]){k ? "fetch" : "ls-remote", ok ? "ok" : "error"}, 0);
	for (int i = 0; i < 3; i++)
		metrics_counter_add(d.m_reconcile,
		                    (const char *[]){i == 0   ? "success"
		                                     : i == 1 ? "failure"
		                                              : "canceled"},
		                    0);
	return 0;
}

static void aws_counter_cb(const char *operation, const char *outcome, uint64_t count, void *ctx)
{
	(void)ctx;
	metrics_counter_add(d.m_aws, (const char *[]){operation, outcome}, (double)count);
}

/* Region names the functions use, plus the default (NULL); lock held. */
static size_t regions_used(const char **out, size_t max)
{
	size_t n = 0;

	out[n++] = NULL;
	for (size_t i = 0; i < d.n_fns && n < max; i++) {
		const char *r = d.fns[i]->region;
		bool have = false;

		if (!r)
			continue;
		for (size_t j = 1; j < n && !have; j++)
			have = !strcmp(out[j], r);
		if (!have)
			out[n++] = r;
	}
	return n;
}

static int cb_metrics(void *ctx, struct buf *out)
{
	const char *regions[RECONCILE_MAX_REGIONS];
	char copies[RECONCILE_MAX_REGIONS][64];
	size_t n = 0;
	bool any;

	(void)ctx;
	pthread_mutex_lock(&d.lock);
	any = d.jobs_done > 0;
	if (any)
		n = regions_used(regions, RECONCILE_MAX_REGIONS);
	for (size_t i = 0; i < n; i++) {
		if (regions[i])
			snprintf(copies[i], sizeof(copies[i]), "%s", regions[i]);
		regions[i] = regions[i] ? copies[i] : NULL;
	}
	pthread_mutex_unlock(&d.lock);
	/*
	 * Outside the lock: the clients exist (every listed region has been
	 * reconciled), and counting must never hold up the loop.
	 */
	metrics_family_clear(d.m_aws);
	for (size_t i = 0; i < n && d.rctx; i++) {
		struct aws_client *c = NULL;

		if (reconcile_ctx_client(d.rctx, regions[i], &c, NULL) == 0 && c)
			aws_client_counters_foreach(c, aws_counter_cb, NULL);
	}
	return metrics_render(d.metrics, out);
}

/* Gauges from the table (lock held). */
static void metrics_states_update(void)
{
	double count[4] = {0, 0, 0, 0};

	for (size_t i = 0; i < d.n_fns; i++)
		if (!d.fns[i]->removed)
			count[d.fns[i]->state]++;
	for (int s = DAEMON_SYNCED; s <= DAEMON_FAILED; s++)
		metrics_gauge_set(d.m_functions, (const char *[]){daemon_sync_state_name(s)}, count[s]);
}

/* ------------------------------------------------------------------- status */

static void json_time(cJSON *o, const char *key, time_t t)
{
	char s[32];
	struct tm tm;

	if (!t) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	gmtime_r(&t, &tm);
	strftime(s, sizeof(s), "%Y-%m-%dT%H:%M:%SZ", &tm);
	cJSON_AddStringToObject(o, key, s);
}

static void json_str_or_null(cJSON *o, const char *key, const char *s)
{
	if (s && *s)
		cJSON_AddStringToObject(o, key, s);
	else
		cJSON_AddNullToObject(o, key);
}

static void target_text(char *out, size_t outsz, const struct manifest_target *t)
{
	if (t->release)
		snprintf(out, outsz, "%s", t->release);
	else
		snprintf(out, outsz, "%" PRId64, t->version);
}

static cJSON *function_json(const struct fnst *st)
{
	cJSON *o = cJSON_CreateObject(), *desired, *actual; /* the caller adds o to its array */
	char text[320], a[140], b[140];

	if (!o)
		return NULL;
	cJSON_AddStringToObject(o, "name", st->name);
	json_str_or_null(o, "region", st->region);
	json_str_or_null(o, "file", st->file);
	cJSON_AddNumberToObject(o, "line", st->line);
	cJSON_AddStringToObject(o, "state", daemon_sync_state_name(st->state));
	desired = cJSON_AddObjectToObject(o, "desired");
	for (size_t i = 0; desired && st->fn && i < st->fn->n_aliases; i++) {
		const struct manifest_alias *al = &st->fn->aliases[i];

		target_text(a, sizeof(a), &al->primary);
		if (al->has_weight) {
			target_text(b, sizeof(b), &al->weighted);
			snprintf(text, sizeof(text), "%s (+%s %g%%)", a, b, al->weight * 100);
		} else {
			snprintf(text, sizeof(text), "%s", a);
		}
		cJSON_AddStringToObject(desired, al->name, text);
	}
	if (st->actual_known) {
		actual = cJSON_AddObjectToObject(o, "actual");
		for (size_t i = 0; actual && i < st->n_actual; i++) {
			const struct alias_actual *al = &st->actual[i];

			if (al->extra)
				snprintf(text, sizeof(text), "%ld (+%ld %g%%)", al->version, al->extra,
				         al->weight * 100);
			else
				snprintf(text, sizeof(text), "%ld", al->version);
			cJSON_AddStringToObject(actual, al->name, text);
		}
	} else {
		cJSON_AddNullToObject(o, "actual");
	}
	json_str_or_null(o, "lastAppliedRevision", st->applied_rev);
	json_str_or_null(o, "lastAttemptedRevision", st->attempted_rev);
	json_str_or_null(o, "desiredRevision", st->gen ? st->gen->revision : NULL);
	json_str_or_null(o, "lastError", st->invalid ? st->manifest_error : st->last_error);
	json_str_or_null(o, "manifestError", st->invalid ? st->manifest_error : NULL);
	json_str_or_null(o, "reconcileError", st->last_error);
	cJSON_AddNumberToObject(o, "failures", st->failures);
	json_time(o, "lastSuccess", st->last_success);
	return o;
}

static int cb_status(void *ctx, struct buf *out)
{
	cJSON *root = cJSON_CreateObject(), *fns, *errs, *git; /* freed below with cJSON_Delete */
	size_t counts[4] = {0, 0, 0, 0};
	char *text = NULL;
	int r = -ENOMEM;

	(void)ctx;
	if (!root)
		return -ENOMEM;
	pthread_mutex_lock(&d.lock);
	cJSON_AddStringToObject(root, "version", ALIASD_VERSION);
	cJSON_AddStringToObject(root, "repository", d.repo_desc);
	cJSON_AddStringToObject(root, "ref", d.cfg->repo_ref);
	cJSON_AddStringToObject(root, "path", d.cfg->repo_path);
	cJSON_AddBoolToObject(root, "ready", d.loaded);
	json_str_or_null(root, "remoteRevision", d.remote_rev);
	json_str_or_null(root, "lastAttemptedRevision", d.loaded_rev);
	json_str_or_null(root, "lastAppliedRevision", d.applied_rev);
	json_time(root, "lastPoll", d.last_poll);
	json_time(root, "lastLoad", d.last_load);
	git = cJSON_AddObjectToObject(root, "git");
	if (git) {
		cJSON_AddStringToObject(git, "state", d.load_error ? "error" : "ok");
		json_str_or_null(git, "error", d.load_error);
		cJSON_AddNumberToObject(git, "consecutiveFailures", d.git_failures);
	}
	errs = cJSON_AddArrayToObject(root, "errors");
	for (size_t i = 0; errs && i < d.n_manifest_errors; i++)
		cJSON_AddItemToArray(errs, cJSON_CreateString(d.manifest_errors[i])); /* takes the item */
	cJSON_AddNumberToObject(root, "errorCount", (double)d.total_manifest_errors);
	fns = cJSON_AddArrayToObject(root, "functions");
	for (size_t i = 0; fns && i < d.n_fns; i++) {
		if (d.fns[i]->removed)
			continue;
		counts[d.fns[i]->state]++;
		cJSON_AddItemToArray(fns, function_json(d.fns[i])); /* takes the item */
	}
	{
		cJSON *sum = cJSON_AddObjectToObject(root, "summary");

		for (int s = DAEMON_SYNCED; sum && s <= DAEMON_FAILED; s++)
			cJSON_AddNumberToObject(sum, daemon_sync_state_name(s), (double)counts[s]);
	}
	pthread_mutex_unlock(&d.lock);
	text = cJSON_PrintUnformatted(root);
	if (text) {
		r = buf_puts(out, text);
		if (r >= 0)
			r = buf_putc(out, '\n');
	}
	cJSON_free(text);
	cJSON_Delete(root);
	malloc_trim(0); /* the tree of a big /status was thousands of small blocks */
	return r < 0 ? r : 0;
}

static int cb_health(void *ctx, struct buf *out)
{
	bool loaded;

	(void)ctx;
	pthread_mutex_lock(&d.lock);
	loaded = d.loaded;
	if (!loaded) /* say why, so that a failing probe can be acted on */
		buf_printf(out, "starting: no manifests loaded yet%s%s", d.load_error ? ": " : "",
		           d.load_error ? d.load_error : "");
	pthread_mutex_unlock(&d.lock);
	return loaded ? 0 : -EAGAIN;
}

static void cb_push(void *ctx, const char *ref, const char *after)
{
	(void)ctx;
	(void)ref;
	(void)after;
	/* Any verified push: asking the remote where our ref points costs one
	 * round trip and tells whether it moved. */
	atomic_store(&d.poke, true);
	wake();
}

/* One line for systemd and the log; lock held. */
static void status_line_update(void)
{
	size_t counts[4] = {0, 0, 0, 0}, total = 0;
	char line[256];

	for (size_t i = 0; i < d.n_fns; i++)
		if (!d.fns[i]->removed) {
			counts[d.fns[i]->state]++;
			total++;
		}
	if (!d.loaded)
		snprintf(line, sizeof(line), "starting: %s",
		         d.load_error ? d.load_error : "loading manifests");
	else
		snprintf(
		    line, sizeof(line), "%zu/%zu functions synced, %zu progressing, %zu failed, rev %.7s%s%s",
		    counts[DAEMON_SYNCED], total, counts[DAEMON_PROGRESSING] + counts[DAEMON_OUT_OF_SYNC],
		    counts[DAEMON_FAILED], d.loaded_rev[0] ? d.loaded_rev : "(folder)",
		    d.load_error ? "; git: " : "", d.load_error ? d.load_error : "");
	if (strcmp(line, d.status_line)) {
		memcpy(d.status_line, line, sizeof(line));
		notify_status("%s", line);
	}
	metrics_states_update();
}

/* ------------------------------------------------------------------ workers */

/*
 * Copy the aliases the reconcile observed (and wrote) for the function's
 * status.  Called on the loop thread: long-lived data is allocated from the
 * loop's malloc arena, never from a worker's (where it would pin pages that
 * malloc_trim() could otherwise return).
 */
static void take_aliases(struct job *j)
{
	struct reconcile_result *r = &j->res;

	if (!r->observed)
		return;
	j->actual = calloc(r->n_aliases ? r->n_aliases : 1, sizeof(*j->actual));
	if (!j->actual)
		return;
	for (size_t i = 0; i < r->n_aliases; i++) {
		j->actual[i].name = strdup(r->aliases[i].name ? r->aliases[i].name : "?");
		j->actual[i].version = r->aliases[i].version;
		j->actual[i].extra = r->aliases[i].extra_version;
		j->actual[i].weight = r->aliases[i].weight;
		j->n_actual = i + 1;
		if (!j->actual[i].name)
			return;
	}
	j->actual_ok = true;
}

/*
 * Every write reconcile makes, as it completes, so the journal is the audit
 * trail of what aliasd changed in Lambda (and why a step failed).
 */
static void log_step(void *arg, const char *function, enum reconcile_event ev, enum plan_step_kind kind,
                     const char *text, const char *detail)
{
	(void)arg;
	(void)kind;
	switch (ev) {
	case RECONCILE_EVENT_DONE:
		log_event(LOG_NOTICE, "step applied", "function", function, "step", text, "result", detail,
		          NULL);
		break;
	case RECONCILE_EVENT_FAILED:
		log_event(LOG_WARNING, "step failed", "function", function, "step", text, "error", detail,
		          NULL);
		break;
	case RECONCILE_EVENT_REPLAN:
		log_event(LOG_INFO, "observing again", "function", function, "reason", detail, NULL);
		break;
	case RECONCILE_EVENT_PLANNED:
		break;
	}
}

static void *worker_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct job *j;
		struct reconcile_options opt;
		uint64_t t0;

		pthread_mutex_lock(&d.qlock);
		while (!d.queue && !d.workers_exit)
			pthread_cond_wait(&d.qcond, &d.qlock);
		if (!d.queue) {
			pthread_mutex_unlock(&d.qlock);
			return NULL;
		}
		j = d.queue;
		d.queue = j->next;
		if (!d.queue)
			d.queue_tail = &d.queue;
		pthread_mutex_unlock(&d.qlock);

		opt = d.ropt_template;
		opt.source = j->gen->src;
		opt.revision = j->gen->revision;
		t0 = mono_ms();
		j->status = reconcile_function(d.rctx, j->fn, &opt, &j->res);
		j->seconds = (double)(mono_ms() - t0) / 1000.0;

		pthread_mutex_lock(&d.qlock);
		j->next = d.done;
		d.done = j;
		pthread_mutex_unlock(&d.qlock);
		wake();
	}
}

static int workers_grow(unsigned n)
{
	while (d.n_workers < n && d.n_workers < MAX_THREADS) {
		int r = pthread_create(&d.workers[d.n_workers], NULL, worker_main, NULL);

		if (r)
			return -r;
		d.n_workers++;
	}
	return 0;
}

static void workers_join(void)
{
	pthread_mutex_lock(&d.qlock);
	d.workers_exit = true;
	pthread_cond_broadcast(&d.qcond);
	pthread_mutex_unlock(&d.qlock);
	for (unsigned i = 0; i < d.n_workers; i++)
		pthread_join(d.workers[i], NULL);
	d.n_workers = 0;
}

/* Queue every due function, up to `concurrency` in flight (loop thread). */
static void schedule(uint64_t now)
{
	pthread_mutex_lock(&d.lock);
	for (size_t i = 0; i < d.n_fns && d.in_flight < d.cfg->concurrency; i++) {
		struct fnst *st = d.fns[i];
		struct job *j;

		if (st->removed || st->in_flight || !st->fn || st->due > now)
			continue;
		j = calloc(1, sizeof(*j));
		if (!j)
			break;
		j->st = st;
		j->gen = st->gen;
		j->gen->refs++;
		j->fn = st->fn;
		memcpy(j->hash, st->hash, sizeof(j->hash));
		st->in_flight = true;
		st->state = DAEMON_PROGRESSING;
		snprintf(st->attempted_rev, sizeof(st->attempted_rev), "%s", st->gen->revision);
		d.in_flight++;
		pthread_mutex_lock(&d.qlock);
		*d.queue_tail = j;
		d.queue_tail = &j->next;
		pthread_cond_signal(&d.qcond);
		pthread_mutex_unlock(&d.qlock);
	}
	pthread_mutex_unlock(&d.lock);
}

/*
 * The newest load is "applied" when it has no manifest error and every
 * function is synced to it (lock held).
 */
static void applied_update(void)
{
	char *rev = NULL;

	/* a commit with manifest errors is attempted, never (completely) applied */
	if (!d.loaded || d.total_manifest_errors)
		return;
	for (size_t i = 0; i < d.n_fns; i++) {
		struct fnst *st = d.fns[i];

		if (st->removed || st->invalid)
			continue;
		if (st->state != DAEMON_SYNCED || !st->gen || strcmp(st->gen->revision, d.loaded_rev))
			return;
	}
	rev = d.loaded_rev;
	if (strcmp(d.applied_rev, rev)) {
		snprintf(d.applied_rev, sizeof(d.applied_rev), "%s", rev);
		metrics_family_clear(d.m_revision);
		metrics_gauge_set(d.m_revision, (const char *[]){rev[0] ? rev : "folder"}, 1);
		log_event(LOG_NOTICE, "revision applied", "revision", rev[0] ? rev : "(folder)", NULL);
	}
}

static void job_finish(struct job *j, uint64_t now)
{
	struct fnst *st = j->st;
	char msg[ERROR_MSG_MAX + ERROR_FILE_MAX + 64], errtext[ERROR_MSG_MAX + ERROR_FILE_MAX + 32];
	bool canceled = j->status == -ECANCELED || reconcile_ctx_stopped(d.rctx);
	const char *result = j->status == 0 ? "success" : canceled ? "canceled" : "failure";

	metrics_counter_add(d.m_reconcile, (const char *[]){result}, 1);
	metrics_histogram_observe(d.m_duration, NULL, j->seconds);

	take_aliases(j);
	pthread_mutex_lock(&d.lock);
	d.jobs_done++;
	st->in_flight = false;
	d.in_flight--;
	if (j->actual_ok) {
		actual_free(st->actual, st->n_actual);
		st->actual = j->actual;
		st->n_actual = j->n_actual;
		st->actual_known = true;
		j->actual = NULL;
		j->n_actual = 0;
	}
	if (st->removed) {
		/* nothing to record */
	} else if (memcmp(j->hash, st->hash, sizeof(j->hash))) {
		/* a newer commit changed it meanwhile: that one wins, at once */
		st->due = now;
		st->state = DAEMON_OUT_OF_SYNC;
	} else if (j->status == 0) {
		if (st->failures || st->state != DAEMON_SYNCED || j->res.changed)
			log_event(j->res.changed ? LOG_NOTICE : LOG_INFO,
			          j->res.changed ? "function reconciled" : "function in sync", "function",
			          st->name, "region", st->region, "revision", j->gen->revision, NULL);
		st->failures = 0;
		st->state = st->invalid ? DAEMON_FAILED : DAEMON_SYNCED;
		snprintf(st->applied_rev, sizeof(st->applied_rev), "%s", j->gen->revision);
		set_str(&st->last_error, NULL);
		st->last_success = time(NULL);
		st->due =
		    d.cfg->resync_ms ? now + daemon_jitter_ms(d.cfg->resync_ms, random_u32()) : UINT64_MAX;
	} else if (canceled) {
		st->state = DAEMON_OUT_OF_SYNC;
		st->due = now;
	} else {
		uint64_t wait;
		char waits[32];

		st->failures++;
		wait = daemon_backoff_ms(st->failures, DAEMON_BACKOFF_BASE_MS, d.cfg->backoff_max_ms);
		st->due = now + wait;
		st->state = DAEMON_FAILED;
		error_format(&j->res.err, errtext, sizeof(errtext));
		if (st->file && !j->res.err.file[0])
			snprintf(msg, sizeof(msg), "%s:%u:%u: %s", st->file, st->line, st->col, errtext);
		else
			snprintf(msg, sizeof(msg), "%s", errtext);
		set_str(&st->last_error, msg);
		snprintf(waits, sizeof(waits), "%.1fs", (double)wait / 1000.0);
		log_event(LOG_ERR, "reconcile failed", "function", st->name, "region", st->region, "revision",
		          j->gen->revision, "error", msg, "retry_in", waits, NULL);
	}
	gen_unref(j->gen);
	applied_update();
	pthread_mutex_unlock(&d.lock);
	reconcile_result_release(&j->res);
	actual_free(j->actual, j->n_actual);
	free(j);
}

static void jobs_collect(uint64_t now)
{
	struct job *list;
	bool finished = false, idle;

	pthread_mutex_lock(&d.qlock);
	list = d.done;
	d.done = NULL;
	pthread_mutex_unlock(&d.qlock);
	while (list) {
		struct job *next = list->next;

		job_finish(list, now);
		list = next;
		finished = true;
	}
	pthread_mutex_lock(&d.lock);
	fns_collect();
	gens_collect();
	idle = d.in_flight == 0;
	pthread_mutex_unlock(&d.lock);
	if (finished && idle)
		malloc_trim(0);
}

/* --------------------------------------------------------------- git + load */

static void set_load_error(const char *what, const struct error *err)
{
	char text[ERROR_MSG_MAX + ERROR_FILE_MAX + 64], full[sizeof(text) + 64];

	error_format(err, text, sizeof(text));
	snprintf(full, sizeof(full), "%s: %s", what, text);
	pthread_mutex_lock(&d.lock);
	set_str(&d.load_error, full);
	pthread_mutex_unlock(&d.lock);
}

static void git_failed(const char *what, const struct error *err, uint64_t now)
{
	uint64_t wait,
	    cap = d.cfg->backoff_max_ms > d.cfg->interval_ms ? d.cfg->backoff_max_ms : d.cfg->interval_ms;
	char waits[32], count[16], text[ERROR_MSG_MAX + ERROR_FILE_MAX + 64];
	unsigned failures;

	pthread_mutex_lock(&d.lock);
	failures = ++d.git_failures;
	pthread_mutex_unlock(&d.lock);
	wait = daemon_backoff_ms(failures, d.cfg->interval_ms, cap);
	d.next_poll = now + daemon_jitter_ms(wait, random_u32());
	set_load_error(what, err);
	error_format(err, text, sizeof(text));
	snprintf(waits, sizeof(waits), "%.1fs", (double)wait / 1000.0);
	snprintf(count, sizeof(count), "%u", failures);
	log_event(failures == 1 ? LOG_ERR : LOG_WARNING, "repository unavailable", "step", what, "error",
	          text, "failures", count, "retry_in", waits, NULL);
}

/* Errors of the set that belong to `fn`'s file, first one as text. */
static void manifest_error_for(const struct manifest_set *set, const char *file, char **ret)
{
	char text[ERROR_MSG_MAX + ERROR_FILE_MAX + 32];

	for (size_t i = 0; i < set->errors.len; i++)
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

/* Take a freshly loaded commit into use (loop thread; the caller holds a reference on g). */
static void gen_apply(struct gen *g, uint64_t now)
{
	const struct manifest_set *set = g->set;
	size_t changed = 0, kept = 0, removed = 0;
	char num[4][24];

	char prev_rev[41];

	pthread_mutex_lock(&d.lock);
	memcpy(prev_rev, d.loaded_rev, sizeof(prev_rev));
	g->next = d.gens;
	d.gens = g;
	for (size_t i = 0; i < d.n_fns; i++)
		d.fns[i]->seen = false;
	for (size_t i = 0; i < set->n_functions; i++) {
		const struct manifest_function *fn = &set->functions[i];
		struct fnst *st = fn_find(fn->name, fn->region);
		unsigned char h[32];

		if (!st)
			st = fn_add(fn->name, fn->region);
		if (!st)
			continue;
		st->seen = true;
		set_str(&st->file, fn->file);
		st->line = fn->line;
		st->col = fn->col;
		if (fn->n_errors) {
			if (!st->invalid)
				kept += st->fn != NULL;
			st->invalid = true;
			manifest_error_for(set, fn->file, &st->manifest_error);
			st->state = DAEMON_FAILED;
			continue;
		}
		if (st->invalid && st->fn && !st->in_flight)
			st->state = DAEMON_OUT_OF_SYNC;
		st->invalid = false;
		set_str(&st->manifest_error, NULL);
		daemon_function_hash(fn, h);
		if (!st->fn || memcmp(h, st->hash, sizeof(h))) {
			memcpy(st->hash, h, sizeof(h));
			st->due = now;
			st->failures = 0; /* a newer desired state supersedes a failing one */
			set_str(&st->last_error, NULL);
			if (!st->in_flight)
				st->state = DAEMON_OUT_OF_SYNC;
			changed++;
		} else if (st->state == DAEMON_FAILED && !st->last_error && !st->in_flight) {
			st->state = DAEMON_SYNCED; /* was only invalid; the good state is live */
		}
		gen_unref(st->gen);
		st->gen = g;
		g->refs++;
		st->fn = fn;
	}
	for (size_t i = 0; i < d.n_fns; i++) {
		struct fnst *st = d.fns[i];

		if (st->seen || st->removed)
			continue;
		if (st->fn && file_broken(set, st->file)) {
			/* its file is broken: keep the last good state */
			st->invalid = true;
			manifest_error_for(set, st->file, &st->manifest_error);
			st->state = DAEMON_FAILED;
			kept++;
			continue;
		}
		st->removed = true;
		removed++;
		log_event(LOG_NOTICE, "function no longer managed", "function", st->name, "region",
		          st->region, NULL);
	}
	fns_collect();
	for (size_t i = 0; i < d.n_manifest_errors; i++)
		free(d.manifest_errors[i]);
	d.n_manifest_errors = 0;
	for (size_t i = 0; i < set->errors.len && i < ERRORS_SHOWN; i++) {
		char text[ERROR_MSG_MAX + ERROR_FILE_MAX + 32];

		error_format(&set->errors.items[i], text, sizeof(text));
		d.manifest_errors[d.n_manifest_errors] = strdup(text);
		if (d.manifest_errors[d.n_manifest_errors])
			d.n_manifest_errors++;
	}
	d.total_manifest_errors = manifest_set_error_count(set);
	metrics_gauge_set(d.m_errors, NULL, (double)d.total_manifest_errors);
	snprintf(d.loaded_rev, sizeof(d.loaded_rev), "%s", g->revision);
	d.last_load = time(NULL);
	d.loaded = true;
	set_str(&d.load_error, NULL);
	gens_collect();
	applied_update();
	pthread_mutex_unlock(&d.lock);

	snprintf(num[0], sizeof(num[0]), "%zu", set->n_functions);
	snprintf(num[1], sizeof(num[1]), "%zu", changed);
	snprintf(num[2], sizeof(num[2]), "%zu", manifest_set_error_count(set));
	snprintf(num[3], sizeof(num[3]), "%zu", kept);
	log_event(manifest_set_error_count(set)                                   ? LOG_WARNING
	          : (changed || kept || removed || strcmp(prev_rev, g->revision)) ? LOG_NOTICE
	                                                                          : LOG_DEBUG,
	          "manifests loaded", "revision", g->revision[0] ? g->revision : "(folder)", "functions",
	          num[0], "changed", num[1], "errors", num[2], "kept_last_good", num[3], NULL);
	for (size_t i = 0; i < set->errors.len && i < ERRORS_SHOWN; i++) {
		char text[ERROR_MSG_MAX + ERROR_FILE_MAX + 32];

		error_format(&set->errors.items[i], text, sizeof(text));
		log_event(LOG_WARNING, "manifest error", "error", text, NULL);
	}
}

/* Poll the remote; fetch and load when it moved.  Loop thread, no lock. */
static void poll_git(uint64_t now)
{
	struct error err = ERROR_INIT;
	char head[41] = "", fetched[41] = "";
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct gen *g;
	int r;

	d.last_poll = time(NULL);
	r = manifest_repo_remote_head(d.repo, head, &err);
	metrics_counter_add(d.m_git, (const char *[]){"ls-remote", r < 0 ? "error" : "ok"}, 1);
	alive();
	if (r < 0) {
		git_failed("ls-remote", &err, now);
		return;
	}
	pthread_mutex_lock(&d.lock);
	snprintf(d.remote_rev, sizeof(d.remote_rev), "%s", head);
	pthread_mutex_unlock(&d.lock);
	if (d.loaded && head[0] && !strcmp(head, d.loaded_rev)) {
		if (d.git_failures)
			log_event(LOG_NOTICE, "repository reachable again", "revision", head, NULL);
		pthread_mutex_lock(&d.lock);
		d.git_failures = 0;
		set_str(&d.load_error, NULL);
		pthread_mutex_unlock(&d.lock);
		d.next_poll = now + daemon_jitter_ms(d.cfg->interval_ms, random_u32());
		return;
	}
	r = manifest_repo_fetch(d.repo, fetched, &err);
	metrics_counter_add(d.m_git, (const char *[]){"fetch", r < 0 ? "error" : "ok"}, 1);
	alive();
	if (r < 0) {
		git_failed("fetch", &err, now);
		return;
	}
	r = manifest_repo_source(d.repo, fetched, &src, &err);
	if (r < 0) {
		git_failed("open commit", &err, now);
		return;
	}
	r = manifest_load(&set, src, d.cfg->repo_path[0] ? d.cfg->repo_path : NULL, &err);
	alive();
	if (r < 0) {
		manifest_source_free(src);
		git_failed("load manifests", &err, now);
		return;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		manifest_set_free(set);
		manifest_source_free(src);
		error_set(&err, -ENOMEM, "out of memory");
		git_failed("load manifests", &err, now);
		return;
	}
	g->set = set;
	g->src = src;
	snprintf(g->revision, sizeof(g->revision), "%s", fetched[0] ? fetched : src->revision);
	if (d.git_failures)
		log_event(LOG_NOTICE, "repository reachable again", "revision", g->revision, NULL);
	pthread_mutex_lock(&d.lock);
	d.git_failures = 0;
	pthread_mutex_unlock(&d.lock);
	d.next_poll = now + daemon_jitter_ms(d.cfg->interval_ms, random_u32());
	g->refs = 1; /* ours until the end of this function: a commit may have no valid function */
	if (!d.loaded) {
		gen_apply(g, now);
		metrics_gauge_set(d.m_up, NULL, 1);
		notify_send("READY=1");
		log_event(LOG_NOTICE, "ready", "revision", g->revision[0] ? g->revision : "(folder)", NULL);
	} else {
		gen_apply(g, now);
	}
	pthread_mutex_lock(&d.lock);
	gen_unref(g);
	gens_collect();
	pthread_mutex_unlock(&d.lock);
	malloc_trim(0); /* the previous commit's manifests are gone */
}

/* ------------------------------------------------------------------ signals */

static void *signal_main(void *arg)
{
	sigset_t *set = arg;
	uint64_t wd_usec = 0;
	struct timespec ts;
	bool wd = notify_watchdog_usec(&wd_usec) > 0;

	if (wd) {
		uint64_t half = wd_usec / 2;

		ts.tv_sec = (time_t)(half / 1000000);
		ts.tv_nsec = (long)(half % 1000000) * 1000;
	} else {
		ts.tv_sec = 3600;
		ts.tv_nsec = 0;
	}
	for (;;) {
		siginfo_t si;
		int sig = sigtimedwait(set, &si, &ts);

		if (sig < 0) {
			/* ping only while the loop shows signs of life */
			if (errno == EAGAIN && wd &&
			    (atomic_load(&d.waiting) ||
			     (mono_ms() - atomic_load(&d.heartbeat)) * 1000 < wd_usec))
				notify_send("WATCHDOG=1");
			if (atomic_load(&d.stop))
				return NULL;
			continue;
		}
		switch (sig) {
		case SIGTERM:
		case SIGINT:
			if (!atomic_exchange(&d.stop, true)) {
				if (d.rctx)
					reconcile_ctx_stop(d.rctx);
			}
			wake();
			return NULL;
		case SIGHUP:
			atomic_store(&d.reload, true);
			wake();
			break;
		case SIGUSR1:
			atomic_store(&d.reconcile_all, true);
			atomic_store(&d.poke, true);
			wake();
			break;
		default:
			break;
		}
	}
}

/* -------------------------------------------------------------------- setup */

static void log_errlist(const char *event, const struct errlist *errs)
{
	char text[ERROR_MSG_MAX + ERROR_FILE_MAX + 32];

	for (size_t i = 0; i < errs->len; i++) {
		error_format(&errs->items[i], text, sizeof(text));
		log_event(LOG_ERR, event, "error", text, NULL);
	}
}

static int repo_open(const struct config *c, struct manifest_repo **ret, struct error *err)
{
	struct manifest_repo_options o = {
	    .url = c->repo_url,
	    .ref = c->repo_ref,
	    .state_dir = c->state_dir,
	    .token = c->token.len ? c->token.ptr : NULL,
	    .token_user = c->token_user,
	    .ssh_key_file = c->ssh_key_file,
	    .ssh_known_hosts_file = c->known_hosts_file,
	    .ca_file = c->ca_file,
	};

	return manifest_repo_open(ret, &o, err);
}

static int rctx_open(const struct config *c, struct reconcile_ctx **ret, struct error *err)
{
	struct reconcile_ctx_options o;

	memset(&o, 0, sizeof(o));
	o.client.region = c->aws_region;
	o.client.endpoint = c->aws_endpoint;
	o.client.control_rate = c->rate_limit;
	return reconcile_ctx_new(ret, &o, err);
}

static void apply_log_config(const struct config *c)
{
	log_setup((enum log_format)c->log_format, c->log_level, LOG_PREFIX_AUTO);
}

/* SIGHUP: a new config, or keep the old one. */
static void reload_config(uint64_t now)
{
	struct errlist errs = ERRLIST_INIT;
	struct config *nc = NULL, *old = d.cfg;
	struct error err = ERROR_INIT;
	bool repo_changed;

	notify_send("RELOADING=1");
	if (config_load(&nc, d.config_path, &errs) < 0) {
		log_errlist("config error", &errs);
		log_event(LOG_ERR, "config reload refused, keeping the running configuration", "file",
		          d.config_path, NULL);
		errlist_free(&errs);
		notify_send("READY=1");
		return;
	}
	errlist_free(&errs);
	repo_changed = strcmp(old->repo_url, nc->repo_url) || strcmp(old->repo_ref, nc->repo_ref) ||
	               strcmp(old->repo_path, nc->repo_path) || strcmp(old->state_dir, nc->state_dir) ||
	               !streq_null(old->token.ptr, nc->token.ptr) ||
	               !streq_null(old->ssh_key_file, nc->ssh_key_file) ||
	               !streq_null(old->known_hosts_file, nc->known_hosts_file) ||
	               !streq_null(old->ca_file, nc->ca_file) || !streq_null(old->token_user, nc->token_user);
	if (repo_changed) {
		struct manifest_repo *nr = NULL;

		if (repo_open(nc, &nr, &err) < 0) {
			char text[ERROR_MSG_MAX + 64];

			error_format(&err, text, sizeof(text));
			log_event(LOG_ERR, "config reload refused, keeping the running configuration",
			          "error", text, NULL);
			config_free(nc);
			notify_send("READY=1");
			return;
		}
		manifest_repo_free(d.repo);
		d.repo = nr;
	}
	if (!streq_null(old->aws_region, nc->aws_region) ||
	    !streq_null(old->aws_endpoint, nc->aws_endpoint) || old->rate_limit != nc->rate_limit)
		log_event(LOG_WARNING, "aws settings change on restart only", "setting",
		          "aws.region, aws.endpoint, reconcile.rateLimit", NULL);
	if (!streq_null(old->listen, nc->listen))
		log_event(LOG_WARNING, "server.listen changes on restart only", "listen", old->listen, NULL);
	if (d.httpd)
		httpd_secret_set(d.httpd, nc->webhook_secret.len ? nc->webhook_secret.ptr : NULL,
		                 nc->webhook_secret.len);
	if (workers_grow(nc->concurrency) < 0) {
		char want[16], have[16];

		snprintf(want, sizeof(want), "%u", nc->concurrency);
		snprintf(have, sizeof(have), "%u", d.n_workers);
		log_event(LOG_WARNING, "cannot start more worker threads, reconciling with fewer",
		          "concurrency", want, "workers", have, NULL);
	}
	apply_log_config(nc);

	pthread_mutex_lock(&d.lock);
	/* keep the old listen settings: the server keeps running on them */
	free(nc->listen);
	nc->listen = old->listen ? strdup(old->listen) : NULL;
	memcpy(nc->listen_host, old->listen_host, sizeof(nc->listen_host));
	nc->listen_port = old->listen_port;
	d.cfg = nc;
	snprintf(d.repo_desc, sizeof(d.repo_desc), "%s", manifest_repo_description(d.repo));
	/* force a load from the new repository; stays ready: the old state is kept until it loads */
	if (repo_changed)
		d.loaded_rev[0] = '\0';
	/* a changed resync applies from now on */
	for (size_t i = 0; i < d.n_fns; i++)
		if (d.fns[i]->state == DAEMON_SYNCED && !d.fns[i]->in_flight && nc->resync_ms &&
		    d.fns[i]->due > now + nc->resync_ms)
			d.fns[i]->due = now + daemon_jitter_ms(nc->resync_ms, random_u32());
	pthread_mutex_unlock(&d.lock);
	config_free(old);
	atomic_store(&d.poke, true);
	log_event(LOG_NOTICE, "config reloaded", "file", d.config_path, NULL);
	notify_send("READY=1");
}

static void shutdown_all(void)
{
	httpd_stop(d.httpd);
	d.httpd = NULL;
	workers_join();
	pthread_mutex_lock(&d.lock);
	for (size_t i = 0; i < d.n_fns; i++) {
		gen_unref(d.fns[i]->gen);
		fnst_free(d.fns[i]);
	}
	free(d.fns);
	d.fns = NULL;
	d.n_fns = d.alloc_fns = 0;
	gens_collect();
	for (size_t i = 0; i < d.n_manifest_errors; i++)
		free(d.manifest_errors[i]);
	d.n_manifest_errors = 0;
	set_str(&d.load_error, NULL);
	pthread_mutex_unlock(&d.lock);
	reconcile_ctx_free(d.rctx);
	d.rctx = NULL;
	manifest_repo_free(d.repo);
	d.repo = NULL;
	metrics_free(d.metrics);
	d.metrics = NULL;
	config_free(d.cfg);
	d.cfg = NULL;
	if (d.efd >= 0)
		close(d.efd);
	d.efd = -1;
}

int daemon_run(const char *config_path)
{
	struct errlist errs = ERRLIST_INIT;
	struct error err = ERROR_INIT;
	sigset_t sigs;
	pthread_t sigthread;
	bool sigthread_up = false;
	int status = 1, r;
	char text[ERROR_MSG_MAX + ERROR_FILE_MAX + 32];

	memset(&d, 0, sizeof(d));
	d.efd = -1;
	/*
	 * Memory: workers allocate and free a lot (HTTP bodies, JSON); with one
	 * malloc arena per thread the freed memory stays spread over many arenas.
	 * Two arenas, and malloc_trim() whenever the workers go idle, keep the
	 * resident size of an idle daemon close to what it really holds.
	 */
	mallopt(M_ARENA_MAX, 2);
	mallopt(M_MMAP_THRESHOLD, 128 * 1024); /* big transient buffers go back at free() */
	d.config_path = config_path;
	pthread_mutex_init(&d.lock, NULL);
	pthread_mutex_init(&d.qlock, NULL);
	pthread_cond_init(&d.qcond, NULL);
	d.queue_tail = &d.queue;

	/* Signals: blocked everywhere (threads inherit the mask), read by one thread. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (config_load(&d.cfg, config_path, &errs) < 0) {
		log_errlist("config error", &errs);
		errlist_free(&errs);
		log_event(LOG_ERR, "cannot start: invalid configuration", "file", config_path, NULL);
		goto out;
	}
	apply_log_config(d.cfg);
	d.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d.efd < 0 || metrics_setup() < 0) {
		log_event(LOG_ERR, "cannot start", "error", strerror(errno ? errno : ENOMEM), NULL);
		goto out;
	}
	r = repo_open(d.cfg, &d.repo, &err);
	if (r < 0) {
		error_format(&err, text, sizeof(text));
		log_event(LOG_ERR, "cannot start: repository", "error", text, NULL);
		goto out;
	}
	snprintf(d.repo_desc, sizeof(d.repo_desc), "%s", manifest_repo_description(d.repo));
	r = rctx_open(d.cfg, &d.rctx, &err);
	if (r < 0) {
		error_format(&err, text, sizeof(text));
		log_event(LOG_ERR, "cannot start: aws", "error", text, NULL);
		goto out;
	}
	if (d.cfg->listen) {
		struct httpd_handlers h = {NULL, cb_status, cb_metrics, cb_health, cb_push};
		char port[8];

		r = httpd_start(&d.httpd, d.cfg->listen_host, d.cfg->listen_port,
		                d.cfg->webhook_secret.len ? d.cfg->webhook_secret.ptr : NULL,
		                d.cfg->webhook_secret.len, &h, &err);
		if (r < 0) {
			error_format(&err, text, sizeof(text));
			log_event(LOG_ERR, "cannot start: http server", "error", text, NULL);
			goto out;
		}
		snprintf(port, sizeof(port), "%u", httpd_port(d.httpd));
		log_event(LOG_INFO, "http server listening", "address", d.cfg->listen_host, "port", port,
		          "webhook",
		          d.cfg->webhook_secret.len ? "enabled" : "disabled (no webhookSecretFile)", NULL);
	}
	memset(&d.ropt_template, 0, sizeof(d.ropt_template));
	d.ropt_template.on_event = log_step;
	r = workers_grow(d.cfg->concurrency);
	if (r < 0) {
		log_event(LOG_ERR, "cannot start: worker threads", "error", strerror(-r), NULL);
		goto out;
	}
	if (pthread_create(&sigthread, NULL, signal_main, &sigs) == 0)
		sigthread_up = true;
	log_event(LOG_NOTICE, "aliasd started", "repository", d.repo_desc, "ref", d.cfg->repo_ref, "path",
	          d.cfg->repo_path[0] ? d.cfg->repo_path : "/", NULL);

	d.next_poll = mono_ms();
	while (!atomic_load(&d.stop)) {
		uint64_t now = mono_ms(), next;
		struct pollfd pfd;
		uint64_t drain;
		int timeout;

		alive();
		jobs_collect(now);
		if (atomic_exchange(&d.reload, false))
			reload_config(now);
		if (atomic_exchange(&d.poke, false))
			d.next_poll = now;
		if (atomic_exchange(&d.reconcile_all, false)) {
			pthread_mutex_lock(&d.lock);
			for (size_t i = 0; i < d.n_fns; i++)
				if (d.fns[i]->fn)
					d.fns[i]->due = now;
			pthread_mutex_unlock(&d.lock);
			log_event(LOG_NOTICE, "reconcile requested (SIGUSR1)", NULL);
		}
		if (now >= d.next_poll) {
			poll_git(now);
			now = mono_ms();
		}
		if (atomic_load(&d.stop))
			break;
		schedule(now);

		pthread_mutex_lock(&d.lock);
		status_line_update();
		next = d.next_poll;
		if (d.in_flight < d.cfg->concurrency)
			for (size_t i = 0; i < d.n_fns; i++)
				if (!d.fns[i]->in_flight && d.fns[i]->fn && !d.fns[i]->removed &&
				    d.fns[i]->due < next)
					next = d.fns[i]->due;
		pthread_mutex_unlock(&d.lock);

		now = mono_ms();
		timeout = next <= now ? 0 : next - now > 3600000 ? 3600000 : (int)(next - now);
		pfd.fd = d.efd;
		pfd.events = POLLIN;
		atomic_store(&d.waiting, true);
		r = poll(&pfd, 1, timeout);
		atomic_store(&d.waiting, false);
		alive();
		if (r > 0) {
			ssize_t n = read(d.efd, &drain, sizeof(drain));

			(void)n;
		}
	}

	notify_send("STOPPING=1");
	log_event(LOG_NOTICE, "stopping", "in_flight", d.in_flight ? "yes" : "no", NULL);
	if (d.rctx)
		reconcile_ctx_stop(d.rctx);
	/* let the workers finish their call in flight; drop what is queued */
	pthread_mutex_lock(&d.qlock);
	while (d.queue) {
		struct job *j = d.queue;

		d.queue = j->next;
		j->status = -ECANCELED;
		j->next = d.done;
		d.done = j;
	}
	d.queue_tail = &d.queue;
	pthread_mutex_unlock(&d.qlock);
	workers_join();
	jobs_collect(mono_ms());
	status = 0;
	log_event(LOG_NOTICE, "stopped", NULL);
out:
	if (sigthread_up) {
		atomic_store(&d.stop, true);
		pthread_kill(sigthread, SIGTERM); /* blocked: sigtimedwait in that thread takes it */
		pthread_join(sigthread, NULL);
	}
	if (d.metrics || d.cfg)
		shutdown_all();
	return status;
}
