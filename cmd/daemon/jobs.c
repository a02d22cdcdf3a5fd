/*
 * jobs.c - the worker pool: the loop queues the functions the core says are
 * due, workers run reconcile_function(), the loop records each result in the
 * core.  See shell.h for threads and locks.
 */
#include <errno.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cmd/daemon/feedback.h"
#include "cmd/daemon/shell.h"
#include "util/log.h"

static void actual_free(struct core_alias *a, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(a[i].name);
	free(a);
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
		opt.on_event = log_step;
		opt.source = j->gen->src;
		opt.revision = j->gen->revision;
		/* a new commit plans from the cache; a resync reads the aliases afresh */
		opt.cache_use = j->from_cache ? RECONCILE_CACHE_PLAN : RECONCILE_CACHE_ALIASES;
		t0 = clock_monotonic_ms();
		j->status = reconcile_function(d.rctx, j->fn, &opt, &j->res);
		j->seconds = (double)(clock_monotonic_ms() - t0) / 1000.0;

		pthread_mutex_lock(&d.qlock);
		j->next = d.done;
		d.done = j;
		pthread_mutex_unlock(&d.qlock);
		daemon_wake();
	}
}

int jobs_workers_grow(unsigned n)
{
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

static void job_finish(struct job *j, uint64_t now)
{
	struct core_fn *st = j->st;
	char msg[ERROR_MSG_MAX + ERROR_FILE_MAX + 64], errtext[ERROR_MSG_MAX + ERROR_FILE_MAX + 32];
	bool canceled = j->status == -ECANCELED || reconcile_ctx_stopped(d.rctx);
	const char *result = j->status == 0 ? "success" : canceled ? "canceled" : "failure";
	enum error_kind kind = j->status == 0 ? ERROR_KIND_UNSPECIFIED : job_kind(j, canceled);
	enum core_outcome o;
	uint64_t wait = 0;

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
	if (j->actual_ok) {
		actual_free(st->actual, st->n_actual);
		st->actual = j->actual;
		st->n_actual = j->n_actual;
		st->actual_known = true;
		j->actual = NULL;
		j->n_actual = 0;
	}
	o = core_finish(&d.core, st, j->gen, j->hash, j->status, kind, msg, now, daemon_random_u32(), &wait);
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
	actual_free(j->actual, j->n_actual);
	free(j);
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
	if (finished && idle)
		malloc_trim(0);
}
