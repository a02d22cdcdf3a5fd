/*
 * shell.h - the daemon's shell around its pure core (core.h): threads,
 * queues, I/O.  Internal to cmd/daemon/; the public entry is cmd/daemon.h.
 *
 * Threads:
 *  - the loop (loop.c, the caller of daemon_run): Git, manifests, the state
 *    file, scheduling, and the only writer of the core;
 *  - `concurrency` workers (jobs.c): reconcile_function(), one job at a time,
 *    results (with the aliases as Lambda has them) handed back to the loop;
 *  - the signal thread (loop.c): sigtimedwait() for SIGTERM/INT/HUP/USR1,
 *    and the systemd watchdog;
 *  - libmicrohttpd's thread (status.c): /status, /metrics, /healthz, webhooks.
 * `d.lock` protects the core and the status fields (read by the HTTP
 * thread); `d.qlock` the job queues.
 *
 *  - the Git thread (git.c): one poll at a time (ls-remote, fetch, load),
 *    asked for and collected by the loop.
 *
 * Liveness: WATCHDOG=1 is sent while the loop shows signs of life
 * (d.heartbeat, or sleeping in poll()) and, while a Git poll runs, the Git
 * thread does too: d.git_heartbeat is set when the poll starts and at each
 * of libgit2's progress reports, so a fetch that still receives data keeps
 * the watchdog fed and one that stalls for WatchdogSec stops it.
 */
#ifndef ALIASD_CMD_DAEMON_SHELL_H
#define ALIASD_CMD_DAEMON_SHELL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include "cmd/config.h"
#include "cmd/daemon/core.h"
#include "cmd/daemon/state.h"
#include "cmd/httpd.h"
#include "cmd/metrics.h"
#include "manifest/repo.h"
#include "manifest/verify.h"
#include "reconcile/reconcile.h"
#include "util/clock.h"
#include "util/buf.h"

#define DAEMON_MAX_THREADS (CONFIG_CONCURRENCY_MAX + CORE_GUARD_LANES)

struct job {
	struct core_fn *st;
	struct core_gen *gen;
	const struct manifest_function *fn;
	unsigned char hash[CORE_HASH_LEN];
	struct reconcile_result res;
	bool from_cache; /* may plan from d.cache (core_fn.from_cache) */
	int status;
	struct core_alias *actual;
	size_t n_actual;
	bool actual_ok;
	double seconds;
	int64_t started_s; /* wall clock when the reconcile began (unix seconds) */
	struct job *next;
};

struct daemon {
	struct config *cfg;
	const char *config_path;
	int efd; /* eventfd: wakes the loop */
	atomic_bool stop, reload, poke, reconcile_all;
	atomic_uint_fast64_t heartbeat;     /* monotonic ms of the loop's last sign of life */
	atomic_bool waiting;                /* the loop sleeps in poll(): alive by definition */
	atomic_bool git_busy;               /* a Git poll runs (git.c; for the watchdog) */
	atomic_uint_fast64_t git_heartbeat; /* monotonic ms of its last progress */

	struct manifest_repo *repo; /* swapped under d.lock (the signal thread cancels it) */
	struct reconcile_ctx *rctx;
	struct reconcile_cache *cache; /* observed state, for the daemon's life (reconcile/cache.h) */
	struct httpd *httpd;
	struct metrics *metrics;
	struct metric_family *m_reconcile, *m_duration, *m_functions, *m_revision, *m_aws, *m_git, *m_errors,
	    *m_up, *m_failures, *m_fn_error, *m_rewinds, *m_rollout_weight, *m_rollouts;

	pthread_mutex_t lock; /* core, status fields */
	struct core core;
	char remote_rev[CORE_REV_LEN];     /* what the remote said last */
	char *load_error;                  /* last load/git failure; NULL when fine */
	char rewind_refused[CORE_REV_LEN]; /* the head last refused as a rewind (warned once) */
	/*
	 * The next poll verifies the loaded head again although it did not move:
	 * set by a config reload with repository.verify on (a key may have been
	 * revoked), and kept while the loaded commit is found untrusted, so that
	 * /status keeps saying so until a trusted head or a trusting policy.
	 */
	bool reverify;
	char *env_region; /* the SDK's region (AWS_REGION, profile), when aws.region is unset */
	time_t last_poll, last_load;
	char repo_desc[512];
	char *state_path; /* the durable state file; NULL = none */
	/* state_digest() of what it holds (last written); only when state_written */
	unsigned char state_digest[STATE_DIGEST_LEN];
	bool state_written;

	/* jobs */
	pthread_mutex_t qlock;
	pthread_cond_t qcond;
	struct job *queue, **queue_tail, *done;
	bool workers_exit;
	pthread_t workers[DAEMON_MAX_THREADS];
	unsigned n_workers;
	unsigned long jobs_done; /* reconciles finished since start */
	struct reconcile_options ropt_template;

	char status_line[256];
};

extern struct daemon d;

/* loop.c */
uint32_t daemon_random_u32(void);
void daemon_wake(void);
void daemon_alive(void);
/* free(*dst), then a copy of s (NULL stays NULL) */
void daemon_set_str(char **dst, const char *s);

/* pacing.c (loop thread, d.lock held) */
/* Each (account, region) limiter's current rate into the core; at most once a second unless `force`. */
void resync_rates(uint64_t now, bool force);
/* Log when resyncs get spread over a longer period, or fit theirs again (rate-limited, see pacing.c). */
void resync_say(uint64_t now);

/* jobs.c (loop thread) */
/* Start workers up to `concurrency` + CORE_GUARD_LANES (the lanes for rollout checks); 0 or -errno. */
int jobs_workers_grow(unsigned concurrency);
void jobs_workers_join(void);
void jobs_schedule(uint64_t now);
void jobs_collect(uint64_t now);
void jobs_cancel_queued(void);

/* git.c */
struct git_result {
	bool done;
	int status;    /* 0, or a negative errno: `step` failed, `err` says why */
	char step[32]; /* "ls-remote", "fetch", "open commit", "load manifests" */
	struct error err;
	char head[CORE_REV_LEN]; /* where the remote's ref points */
	struct core_gen *gen;    /* the commit loaded (the taker owns it); NULL = unchanged */
	/*
	 * The fetched commit does not descend from `rewound_from`, the commit
	 * loaded before (a force push to an older or unrelated commit).  With
	 * allowRewind it is loaded all the same (gen set); without, status is
	 * -EPERM, step "rewind", and nothing is loaded.
	 */
	bool rewound;
	char rewound_from[CORE_REV_LEN];
	/* repository.verify (trust.c): step "verify" refused or could not check the head */
	bool verified;              /* a verdict was reached, in `trust` */
	struct verify_result trust; /* the head's verdict (trust.h) */
	bool reverified; /* the head was the commit loaded, verified again (git_request.reverify) */
};
int git_thread_start(void);
/* Join the thread (a poll in progress must have been canceled or be short). */
void git_thread_stop(void);
/* A poll was asked for and its result not taken yet. */
bool git_thread_busy(void);
/* What a poll needs besides the repository (copied by git_thread_request). */
struct git_request {
	const char *loaded_rev; /* the commit loaded last ("" = none): unchanged head, nothing to do */
	const char *path;       /* manifests' folder in the commit (NULL/"" = root) */
	const char *region;     /* where a manifest without `region:` lands (NULL = unknown) */
	bool allow_rewind;      /* false: a head not descending from loaded_rev is refused */
	bool reverify;          /* verify an unchanged head again (repository.verify was reloaded) */
};
/* Loop thread, not busy: poll `repo` (see git_result). */
int git_thread_request(struct manifest_repo *repo, const struct git_request *req);
/* Loop thread: the finished poll's result, once. */
bool git_thread_take(struct git_result *ret);

/* status.c */
int status_metrics_setup(void);
/* STATUS= line and the state gauges; lock held. */
void status_line_update(void);
/* A rollout's outcome (core_rollout_change: succeeded, promoted, rolled back, aborted), counted once. */
void status_rollout_counted(enum core_rollout_change change);
/* A newly applied revision into the metrics (lock held). */
void status_applied_revision(const char *rev);
int status_cb_status(void *ctx, struct buf *out);
int status_cb_metrics(void *ctx, struct buf *out);
int status_cb_health(void *ctx, struct buf *out);
void status_cb_push(void *ctx, const char *ref, const char *after);

#endif
