/*
 * jobs.c - the worker pool: the loop queues the functions the core says are
 * due, workers run reconcile_function(), the loop records each result in the
 * core.  See shell.h for threads and locks.
 */
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/daemon/feedback.h"
#include "cmd/daemon/shell.h"
#include "reconcile/cache.h"
#include "util/log.h"

/*
 * Whether alias `a` (of j, before st->actual takes it) is a rollout of the
 * desired state that rolled back and stays so: rolled back by this
 * reconcile, or held there by its plan (`held`: the result's rollout_held).
 */
static bool rollout_failed(const struct core_fn *st, const struct job *j, const struct core_alias *a,
                           bool held)
{
	static const struct core_alias none;
	const struct core_alias *before = st->actual_known ? &none : NULL;
	enum core_rollout_change ch;

	if (!core_rollout_failed(core_alias_rollout(a)))
		return false;
	if (held)
		return true;
	for (size_t k = 0; st->actual_known && k < st->n_actual; k++)
		if (!strcmp(st->actual[k].name, a->name))
			before = &st->actual[k];
	ch = core_rollout_change(before, a, j->started_s);
	return ch == CORE_ROLLOUT_ROLLED_BACK || ch == CORE_ROLLOUT_ABORTED;
}

/*
 * Copy the aliases the reconcile observed (and wrote) for the function's
 * status.  Called on the loop thread: long-lived data is allocated from the
 * loop's malloc arena, never from a worker's (where it would pin pages that
 * malloc_trim() could otherwise return).
 */
static void take_aliases(struct job *j)
{
	struct reconcile_result *r = &j->res;
	const char **names;

	if (!r->observed)
		return;
	names = calloc(r->n_aliases ? r->n_aliases : 1, sizeof(*names));
	if (!names)
		return;
	for (size_t i = 0; i < r->n_aliases; i++)
		names[i] = r->aliases[i].name ? r->aliases[i].name : "?";
	j->actual = core_aliases_new(r->n_aliases, names);
	free(names);
	if (!j->actual)
		return;
	for (size_t i = 0; i < r->n_aliases; i++) {
		j->actual[i].version = r->aliases[i].version;
		j->actual[i].extra = r->aliases[i].extra_version;
		j->actual[i].weight = r->aliases[i].weight;
		j->actual[i].rollout_percent = r->aliases[i].rollout_percent;
		j->actual[i].rollout_steps = r->aliases[i].rollout_steps;
		for (size_t k = 0; j->fn && k < j->fn->n_aliases; k++)
			if (j->fn->aliases[k].rollout && !strcmp(j->fn->aliases[k].name, j->actual[i].name))
				j->actual[i].rollout_interval = j->fn->aliases[k].rollout->spec.interval_s;
		j->n_actual = i + 1;
		if (core_alias_set_rollout(&j->actual[i], &r->aliases[i].rollout) < 0)
			return;
		j->actual[i].rollout_failed =
		    rollout_failed(j->st, j, &j->actual[i], r->aliases[i].rollout_held);
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
		opt.on_event = log_step;
		opt.source = j->gen->src;
		opt.revision = j->gen->revision;
		opt.history = j->gen->history;
		/* a new commit plans from the cache; a resync reads the aliases afresh */
		opt.cache_use = j->from_cache ? RECONCILE_CACHE_PLAN : RECONCILE_CACHE_ALIASES;
		t0 = clock_monotonic_ms();
		j->started_s = (int64_t)time(NULL);
		j->status = reconcile_function(d.rctx, j->fn, &opt, &j->res);
		j->seconds = (double)(clock_monotonic_ms() - t0) / 1000.0;

		pthread_mutex_lock(&d.qlock);
		j->next = d.done;
		d.done = j;
		pthread_mutex_unlock(&d.qlock);
		daemon_wake();
	}
}

int jobs_workers_grow(unsigned concurrency)
{
	unsigned n = concurrency + CORE_GUARD_LANES;

	while (d.n_workers < n && d.n_workers < DAEMON_MAX_THREADS) {
		int r = pthread_create(&d.workers[d.n_workers], NULL, worker_main, NULL);

		if (r)
			return -r;
		d.n_workers++;
	}
	return 0;
}

void jobs_workers_join(void)
{
	pthread_mutex_lock(&d.qlock);
	d.workers_exit = true;
	pthread_cond_broadcast(&d.qcond);
	pthread_mutex_unlock(&d.qlock);
	for (unsigned i = 0; i < d.n_workers; i++)
		pthread_join(d.workers[i], NULL);
	d.n_workers = 0;
}

/* Drop what is queued (shutdown): each job finishes as canceled. */
void jobs_cancel_queued(void)
{
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
}

/* Queue every due function, up to `concurrency` in flight (loop thread). */
void jobs_schedule(uint64_t now)
{
	struct core_fn *st;

	pthread_mutex_lock(&d.lock);
	while ((st = core_next_job(&d.core, now, d.cfg->concurrency)) != NULL) {
		struct job *j = calloc(1, sizeof(*j));

		if (!j) {
			/* give it back: due again at the next pass */
			core_finish(&d.core, st, st->gen, st->hash, -ECANCELED, ERROR_KIND_CANCELED, NULL,
			            now, 0, NULL);
			break;
		}
		j->st = st;
		j->gen = st->gen;
		j->fn = st->fn;
		j->from_cache = st->from_cache;
		memcpy(j->hash, st->hash, sizeof(j->hash));
		pthread_mutex_lock(&d.qlock);
		*d.queue_tail = j;
		d.queue_tail = &j->next;
		pthread_cond_signal(&d.qcond);
		pthread_mutex_unlock(&d.qlock);
	}
	pthread_mutex_unlock(&d.lock);
}

/* The kind a failed job is recorded with. */
static enum error_kind job_kind(const struct job *j, bool canceled)
{
	if (canceled)
		return ERROR_KIND_CANCELED;
	return error_kind_of(&j->res.err);
}

/*
 * Each alias's rollout outcome, counted once (before st->actual takes the
 * job's aliases; lock held).
 */
static void rollouts_count(const struct core_fn *st, const struct job *j)
{
	static const struct core_alias none; /* an alias without a record */

	for (size_t i = 0; j->actual_ok && i < j->n_actual; i++) {
		const struct core_alias *before = st->actual_known ? &none : NULL;
		enum core_rollout_change ch;

		for (size_t k = 0; st->actual_known && k < st->n_actual; k++)
			if (!strcmp(st->actual[k].name, j->actual[i].name))
				before = &st->actual[k];
		const struct rollout_progress *p = core_alias_rollout(&j->actual[i]);
		char from[16], to[16];

		ch = core_rollout_change(before, &j->actual[i], j->started_s);
		if (ch == CORE_ROLLOUT_SAME || ch == CORE_ROLLOUT_STEPPED)
			continue;
		snprintf(from, sizeof(from), "%u", p->from);
		snprintf(to, sizeof(to), "%u", p->to);
		log_event(
		    ch == CORE_ROLLOUT_ROLLED_BACK || ch == CORE_ROLLOUT_ABORTED ? LOG_WARNING : LOG_NOTICE,
		    ch == CORE_ROLLOUT_STARTED                                    ? "rollout started"
		    : ch == CORE_ROLLOUT_SUCCEEDED || ch == CORE_ROLLOUT_PROMOTED ? "rollout succeeded"
		                                                                  : "rollout rolled back",
		    "function", st->name, "region", st->region, "alias", j->actual[i].name, "from", from,
		    "to", to, "result", core_rollout_change_name(ch), "reason",
		    p->reason[0] ? p->reason : NULL, NULL);
		if (ch != CORE_ROLLOUT_STARTED)
			status_rollout_counted(ch);
	}
}

#define MEMORY_LOG_GAP_MS 10000

static void u64_text(char *out, size_t n, uint64_t v)
{
	snprintf(out, n, "%" PRIu64, v);
}

/*
 * Debug: what the heap holds, once the workers went idle and the heap was
 * trimmed: tests/bench/bench_daemon.py reads it to tell the resident size
 * apart (heap in use, of which the observed-state cache; the rest is code,
 * stacks and free pages).  The heap figures are mallinfo2()'s, whose "in
 * use" counts malloc's own bookkeeping too: an upper bound.  One line when
 * the number of Synced functions changed, else at most one per
 * MEMORY_LOG_GAP_MS.  Loop thread.
 */
static void memory_log(uint64_t now)
{
	static uint64_t last;
	static size_t last_synced = SIZE_MAX;
	size_t counts[DAEMON_STATE_N], total;
	struct reconcile_cache_stats cs = {0};
	struct mallinfo2 mi;
	char fns[24], synced[24], in_use[24], mmapped[24], free_bytes[24], entries[24], bytes[24];

	if (!log_enabled(LOG_DEBUG))
		return;
	pthread_mutex_lock(&d.lock);
	total = core_counts(&d.core, counts);
	pthread_mutex_unlock(&d.lock);
	if (counts[DAEMON_SYNCED] == last_synced && now - last < MEMORY_LOG_GAP_MS)
		return;
	last = now;
	last_synced = counts[DAEMON_SYNCED];
	mi = mallinfo2(); /* every arena */
	if (d.cache)
		reconcile_cache_stats(d.cache, &cs);
	u64_text(fns, sizeof(fns), total);
	u64_text(synced, sizeof(synced), counts[DAEMON_SYNCED]);
	u64_text(in_use, sizeof(in_use), (uint64_t)(mi.uordblks + mi.hblkhd));
	u64_text(mmapped, sizeof(mmapped), (uint64_t)mi.hblkhd);
	u64_text(free_bytes, sizeof(free_bytes), (uint64_t)mi.fordblks);
	u64_text(entries, sizeof(entries), cs.entries);
	u64_text(bytes, sizeof(bytes), cs.bytes);
	log_event(LOG_DEBUG, "memory", "functions", fns, "synced", synced, "heap_in_use", in_use,
	          "heap_mmapped", mmapped, "heap_free", free_bytes, "cache_entries", entries, "cache_bytes",
	          bytes, NULL);
}

/*
 * The rollout side of a finished job (lock held, after core_finish): the
 * next check, and the state the rollouts give the function.
 */
static enum core_outcome rollouts_schedule(struct core_fn *st, const struct job *j, enum core_outcome o,
                                           uint64_t guard_ms, uint64_t now)
{
	struct timespec ts;
	int64_t wall_ms;

	clock_gettime(CLOCK_REALTIME, &ts);
	wall_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	return core_rollout_finish(&d.core, st, o, st->actual, st->n_actual,
	                           core_check_time(j->res.next_check, wall_ms, now), guard_ms, now);
}

static void job_finish(struct job *j, uint64_t now)
{
	struct core_fn *st = j->st;
	char msg[ERROR_MSG_MAX + ERROR_FILE_MAX + 64], errtext[ERROR_MSG_MAX + ERROR_FILE_MAX + 32];
	bool canceled = j->status == -ECANCELED || reconcile_ctx_stopped(d.rctx);
	const char *result = j->status == 0 ? "success" : canceled ? "canceled" : "failure";
	enum error_kind kind = j->status == 0 ? ERROR_KIND_UNSPECIFIED : job_kind(j, canceled);
	enum core_outcome o;
	uint64_t wait = 0, guard_ms = core_guard_ms(j->fn);

	metrics_counter_add(d.m_reconcile, (const char *[]){result}, 1);
	metrics_histogram_observe(d.m_duration, NULL, j->seconds);
	if (j->status != 0 && !canceled)
		metrics_counter_add(d.m_failures, (const char *[]){error_kind_name(kind)}, 1);

	msg[0] = '\0';
	if (j->status != 0) {
		error_format(&j->res.err, errtext, sizeof(errtext));
		if (st->file && !j->res.err.file[0])
			snprintf(msg, sizeof(msg), "%s:%u:%u: %s", st->file, st->line, st->col, errtext);
		else
			snprintf(msg, sizeof(msg), "%s", errtext);
	}
	take_aliases(j);
	feedback_job_finished(st, j, canceled, msg);
	pthread_mutex_lock(&d.lock);
	d.jobs_done++;
	rollouts_count(st, j);
	if (j->actual_ok) {
		core_aliases_free(st->actual, st->n_actual);
		st->actual = j->actual;
		st->n_actual = j->n_actual;
		st->actual_known = true;
		j->actual = NULL;
		j->n_actual = 0;
	}
	o = core_finish(&d.core, st, j->gen, j->hash, j->status, kind, msg, now, daemon_random_u32(), &wait);
	o = rollouts_schedule(st, j, o, guard_ms, now);
	switch (o) {
	case CORE_OUTCOME_SUCCESS:
		st->last_success = time(NULL);
		log_event(j->res.changed ? LOG_NOTICE : LOG_INFO,
		          j->res.changed ? "function reconciled" : "function in sync", "function", st->name,
		          "region", st->region, "revision", j->gen->revision, NULL);
		break;
	case CORE_OUTCOME_RETRY: {
		char waits[32];

		snprintf(waits, sizeof(waits), "%.1fs", (double)wait / 1000.0);
		log_event(LOG_ERR, "reconcile failed", "function", st->name, "region", st->region, "revision",
		          j->gen->revision, "error", msg, "kind", error_kind_name(kind), "retry_in", waits,
		          NULL);
		break;
	}
	case CORE_OUTCOME_STALLED:
		if (j->status == 0)
			break; /* a rollout rolled back: logged as it happened */
		log_event(LOG_ERR, "reconcile failed, stalled until its manifest or the config changes",
		          "function", st->name, "region", st->region, "revision", j->gen->revision, "error",
		          msg, "kind", error_kind_name(kind), NULL);
		break;
	case CORE_OUTCOME_SUPERSEDED:
	case CORE_OUTCOME_CANCELED:
	case CORE_OUTCOME_REMOVED:
		break;
	}
	if (core_applied_update(&d.core)) {
		const char *rev = d.core.applied_rev;

		status_applied_revision(rev);
		feedback_commit_applied(rev);
		log_event(LOG_NOTICE, "revision applied", "revision", rev[0] ? rev : "(folder)", NULL);
	}
	pthread_mutex_unlock(&d.lock);
	reconcile_result_release(&j->res);
	core_aliases_free(j->actual, j->n_actual);
	free(j);
}

/*
 * No job runs (loop thread; only the loop starts jobs): the loaded commits'
 * libgit2 handles, opened again by zip reads for uploads, are closed with
 * their caches and pack maps (manifest_source_trim).
 */
static void sources_trim(void)
{
	pthread_mutex_lock(&d.lock);
	for (struct core_gen *g = d.core.gens; g; g = g->next)
		manifest_source_trim(g->src);
	pthread_mutex_unlock(&d.lock);
}

void jobs_collect(uint64_t now)
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
	core_collect(&d.core);
	idle = d.core.in_flight == 0;
	pthread_mutex_unlock(&d.lock);
	if (finished && idle) {
		sources_trim();
		malloc_trim(0);
		memory_log(now);
	}
}
