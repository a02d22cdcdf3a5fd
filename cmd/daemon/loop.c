/*
 * loop.c - `aliasd run`: the loop thread, the signal thread, Git, the state
 * file, config reloads.  See cmd/daemon.h for the behaviour and shell.h
 * for the threads; the decisions are the core's (core.h).
 */
#include "manifest/history.h"
#include "cmd/daemon.h"

#include <errno.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <unistd.h>

#include "cmd/daemon/feedback.h"
#include "cmd/daemon/shell.h"
#include "cmd/daemon/state.h"
#include "cmd/daemon/storage.h"
#include "cmd/daemon/trust.h"
#include "cmd/notify.h"
#include "manifest/load.h"
#include "reconcile/cache.h"
#include "util/log.h"

struct daemon d;

static struct state saved; /* the state file as read at start, until the first load used it */
static bool saved_pending;

uint32_t daemon_random_u32(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != sizeof(r))
		r = (uint32_t)clock_monotonic_ms() * 2654435761u;
	return r;
}

void daemon_wake(void)
{
	uint64_t one = 1;
	ssize_t n = write(d.efd, &one, sizeof(one));

	(void)n;
}

void daemon_alive(void)
{
	atomic_store(&d.heartbeat, clock_monotonic_ms());
}

void daemon_set_str(char **dst, const char *s)
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

static void core_options_from(struct core_options *o, const struct config *c)
{
	memset(o, 0, sizeof(*o));
	o->backoff_base_ms = DAEMON_BACKOFF_BASE_MS;
	o->backoff_max_ms = c->backoff_max_ms;
	o->resync_ms = c->resync_ms;
	o->interval_ms = c->interval_ms;
	o->rate = c->rate_limit;
}

/*
 * How long the observed-state cache trusts the versions of an entry: ten
 * resync periods (each resync reads the aliases afresh: one call; the
 * versions once in ten: an in-sync resync costs 1.1 counted calls per
 * function), or ten minutes without resyncs.
 */
static uint64_t cache_max_age_ms(const struct config *c)
{
	return c->resync_ms ? 10 * c->resync_ms : 600000;
}

/* ------------------------------------------------------------- state file */

/* Write the state file when what it should hold changed (loop thread). */
static void state_save(void)
{
	struct error err = ERROR_INIT;
	unsigned char digest[STATE_DIGEST_LEN];
	char *text = NULL;
	int r;

	if (!d.state_path)
		return;
	pthread_mutex_lock(&d.lock);
	r = state_text_from_core(&text, &d.core);
	pthread_mutex_unlock(&d.lock);
	if (r >= 0)
		state_digest(text, digest);
	if (r < 0 || (d.state_written && !memcmp(digest, d.state_digest, sizeof(digest)))) {
		free(text);
		return;
	}
	if (state_write(d.state_path, text, &err) < 0) {
		log_event(LOG_WARNING, "cannot write the state file", "error", err.msg, NULL);
		free(text);
		return;
	}
	free(text);
	memcpy(d.state_digest, digest, sizeof(digest));
	d.state_written = true;
}

/* At start: the state file, or a warning and a fresh start. */
static void state_load(void)
{
	struct error err = ERROR_INIT;
	struct buf path = BUF_INIT;
	int r;

	if (!manifest_repo_cache_path(d.repo)[0])
		return; /* a folder: no commit to come back to */
	if (buf_printf(&path, "%s/%s", d.cfg->state_dir, STATE_FILE_NAME) < 0)
		return;
	d.state_path = buf_detach(&path, NULL);
	r = state_read(&saved, d.state_path, &err);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		log_event(LOG_WARNING, "state file unreadable, starting afresh", "error", err.msg, NULL);
		return;
	}
	saved_pending = true;
}

/*
 * After the first load: functions the newest commit breaks get their last
 * good state back from the commit the state file names (if the cache clone
 * still has it and the function there still hashes the same).
 */
static void state_restore(uint64_t now)
{
	struct error err = ERROR_INIT;

	for (size_t i = 0; i < saved.n; i++) {
		char rev[CORE_REV_LEN];
		struct manifest_source *src = NULL;
		struct manifest_set *set = NULL;
		struct core_gen *g;
		bool wanted = false, taken = false;

		memcpy(rev, saved.items[i].revision, sizeof(rev)); /* entries are marked done below */
		if (!rev[0])
			continue;
		/* one load per commit: entries of the same commit are done together */
		for (size_t j = i; j < saved.n; j++) {
			struct core_fn *st;

			if (strcmp(saved.items[j].revision, rev))
				continue;
			pthread_mutex_lock(&d.lock);
			st = core_fn_find(&d.core, saved.items[j].name, saved.items[j].region);
			wanted = wanted || !st || (st->invalid && !st->fn);
			pthread_mutex_unlock(&d.lock);
		}
		if (wanted &&
		    (manifest_repo_source(d.repo, rev, &src, &err) < 0 ||
		     manifest_load(&set, src, d.cfg->repo_path[0] ? d.cfg->repo_path : NULL, &err) < 0)) {
			log_event(LOG_WARNING, "cannot read the last good commit again", "revision", rev,
			          "error", err.msg, NULL);
			manifest_source_free(src);
			src = NULL;
		}
		g = set ? calloc(1, sizeof(*g)) : NULL;
		if (g) {
			g->set = set;
			g->src = src;
			snprintf(g->revision, sizeof(g->revision), "%s", rev);
		} else if (set) {
			manifest_set_free(set);
			manifest_source_free(src);
		}
		for (size_t j = i; j < saved.n; j++) {
			struct state_entry *e = &saved.items[j];
			const struct manifest_function *fn;
			unsigned char h[CORE_HASH_LEN];

			if (strcmp(e->revision, rev))
				continue;
			fn = g ? manifest_set_find(g->set, e->name, e->region) : NULL;
			if (fn && !fn->n_errors) {
				daemon_function_hash(fn, h);
				pthread_mutex_lock(&d.lock);
				if (!memcmp(h, e->hash, sizeof(h)) &&
				    core_restore(&d.core, g, fn, now) == 1) {
					taken = true;
					log_event(LOG_NOTICE, "last good state restored", "function", e->name,
					          "region", e->region, "revision", rev, NULL);
				}
				pthread_mutex_unlock(&d.lock);
			}
			e->revision[0] = '\0'; /* done */
		}
		if (g && !taken) {
			manifest_set_free(g->set);
			manifest_source_free(g->src);
			free(g);
		}
	}
	state_release(&saved);
	saved_pending = false;
}

/* --------------------------------------------------------------- git + load */

static void set_load_error(const char *what, const struct error *err)
{
	char text[ERROR_MSG_MAX + ERROR_FILE_MAX + 64], full[sizeof(text) + 64];

	error_format(err, text, sizeof(text));
	snprintf(full, sizeof(full), "%s: %s", what, text);
	pthread_mutex_lock(&d.lock);
	daemon_set_str(&d.load_error, full);
	pthread_mutex_unlock(&d.lock);
}

static void git_failed(const char *what, const struct error *err, uint64_t now)
{
	char waits[32], count[16], text[ERROR_MSG_MAX + ERROR_FILE_MAX + 64];
	unsigned failures;
	uint64_t wait;

	if (atomic_load(&d.stop))
		return; /* canceled for the shutdown: nothing to report */
	pthread_mutex_lock(&d.lock);
	wait = core_poll_failed(&d.core, now, daemon_random_u32());
	failures = d.core.git_failures;
	pthread_mutex_unlock(&d.lock);
	set_load_error(what, err);
	error_format(err, text, sizeof(text));
	snprintf(waits, sizeof(waits), "%.1fs", (double)wait / 1000.0);
	snprintf(count, sizeof(count), "%u", failures);
	log_event(failures == 1 ? LOG_ERR : LOG_WARNING, "repository unavailable", "step", what, "error",
	          text, "failures", count, "retry_in", waits, NULL);
}

static void log_removed(void *arg, const struct core_fn *st)
{
	(void)arg;
	log_event(LOG_NOTICE, "function no longer managed", "function", st->name, "region", st->region, NULL);
}

/* Take a freshly loaded commit into use (loop thread; takes g). */
static void gen_apply(struct core_gen *g, uint64_t now)
{
	const struct manifest_set *set = g->set;
	struct core_load_stats stats = {0, 0, 0};
	char prev_rev[CORE_REV_LEN], num[4][24];
	size_t nerr = manifest_set_error_count(set);
	int r;

	pthread_mutex_lock(&d.lock);
	memcpy(prev_rev, d.core.loaded_rev, sizeof(prev_rev));
	r = core_load(&d.core, g, now, &stats, log_removed, NULL);
	if (r == 0) {
		/* no core_collect() before the end: g may hold no valid function */
		metrics_gauge_set(d.m_errors, NULL, (double)d.core.total_manifest_errors);
		d.last_load = time(NULL);
		daemon_set_str(&d.load_error, NULL);
	}
	pthread_mutex_unlock(&d.lock);
	if (r < 0) {
		struct error err = ERROR_INIT;

		manifest_history_free(g->history);
		manifest_set_free(g->set);
		manifest_source_free(g->src);
		free(g);
		error_set(&err, r, "out of memory");
		git_failed("load manifests", &err, now);
		return;
	}
	feedback_commit_loaded(g);
	if (saved_pending)
		state_restore(now);
	pthread_mutex_lock(&d.lock);
	if (core_applied_update(&d.core)) {
		status_applied_revision(d.core.applied_rev);
		feedback_commit_applied(d.core.applied_rev);
		log_event(LOG_NOTICE, "revision applied", "revision",
		          d.core.applied_rev[0] ? d.core.applied_rev : "(folder)", NULL);
	}
	pthread_mutex_unlock(&d.lock);
	state_save();

	snprintf(num[0], sizeof(num[0]), "%zu", set->n_functions);
	snprintf(num[1], sizeof(num[1]), "%zu", stats.changed);
	snprintf(num[2], sizeof(num[2]), "%zu", nerr);
	snprintf(num[3], sizeof(num[3]), "%zu", stats.kept);
	log_event(nerr ? LOG_WARNING
	          : (stats.changed || stats.kept || stats.removed || strcmp(prev_rev, g->revision))
	              ? LOG_NOTICE
	              : LOG_DEBUG,
	          "manifests loaded", "revision", g->revision[0] ? g->revision : "(folder)", "functions",
	          num[0], "changed", num[1], "errors", num[2], "kept_last_good", num[3], NULL);
	for (size_t i = 0; i < set->errors.len && i < CORE_ERRORS_SHOWN; i++) {
		char text[ERROR_MSG_MAX + ERROR_FILE_MAX + 32];

		error_format(&set->errors.items[i], text, sizeof(text));
		log_event(LOG_WARNING, "manifest error", "error", text, NULL);
	}
	pthread_mutex_lock(&d.lock);
	core_collect(&d.core);
	pthread_mutex_unlock(&d.lock);
}

static void git_ok(uint64_t now, const char *rev)
{
	unsigned failures;

	pthread_mutex_lock(&d.lock);
	failures = d.core.git_failures;
	core_poll_ok(&d.core, now, daemon_random_u32());
	daemon_set_str(&d.load_error, NULL);
	memset(d.rewind_refused, 0, sizeof(d.rewind_refused));
	pthread_mutex_unlock(&d.lock);
	if (failures)
		log_event(LOG_NOTICE, "repository reachable again", "revision", rev, NULL);
}

/*
 * repository.allowRewind: false and the head moved to a commit that does not
 * descend from the one applied: keep everything as it is, say why in
 * /status, warn once per refused head, poll again as usual.
 */
static void git_rewind_refused(uint64_t now, const struct git_result *res)
{
	char text[ERROR_MSG_MAX + ERROR_FILE_MAX + 64];
	bool first;

	pthread_mutex_lock(&d.lock);
	core_poll_ok(&d.core, now, daemon_random_u32());
	snprintf(d.remote_rev, sizeof(d.remote_rev), "%s", res->head);
	first = strcmp(d.rewind_refused, res->head) != 0;
	snprintf(d.rewind_refused, sizeof(d.rewind_refused), "%s", res->head);
	pthread_mutex_unlock(&d.lock);
	set_load_error(res->step, &res->err);
	if (!first)
		return;
	metrics_counter_add(d.m_rewinds, (const char *[]){"refused"}, 1);
	error_format(&res->err, text, sizeof(text));
	log_event(LOG_WARNING, "ref rewound: commit refused", "from", res->rewound_from, "to", res->head,
	          "error", text, NULL);
}

/* Ask the Git thread for a poll (loop thread, the thread idle). */
static void git_start(uint64_t now)
{
	char loaded[CORE_REV_LEN];
	struct error err = ERROR_INIT;
	struct git_request req = {loaded, d.cfg->repo_path,
	                          d.cfg->aws_region ? d.cfg->aws_region : d.env_region, d.cfg->allow_rewind,
	                          false};

	pthread_mutex_lock(&d.lock);
	core_poll_started(&d.core, now);
	memcpy(loaded, d.core.loaded ? d.core.loaded_rev : "", d.core.loaded ? sizeof(loaded) : 1);
	req.reverify = d.reverify && d.cfg->verify_provider;
	d.reverify = false;
	pthread_mutex_unlock(&d.lock);
	d.last_poll = time(NULL);
	if (git_thread_request(d.repo, &req) < 0) {
		error_set(&err, -ENOMEM, "out of memory");
		git_failed("ls-remote", &err, now);
	}
}

/* A finished poll: record it, take a new commit into use (loop thread, no lock). */
static void git_finish(uint64_t now, struct git_result *res)
{
	char head[CORE_REV_LEN];
	bool first;

	if (trust_finish(now, res))
		return; /* an untrusted head: refused */
	if (res->status < 0 && res->rewound) {
		git_rewind_refused(now, res);
		return;
	}
	if (res->status < 0) {
		git_failed(res->step, &res->err, now);
		return;
	}
	if (res->rewound && res->gen) {
		metrics_counter_add(d.m_rewinds, (const char *[]){"applied"}, 1);
		log_event(LOG_WARNING,
		          "ref rewound: applying a commit that does not descend from the last applied one",
		          "from", res->rewound_from, "to", res->gen->revision, NULL);
	}
	pthread_mutex_lock(&d.lock);
	snprintf(d.remote_rev, sizeof(d.remote_rev), "%s", res->head);
	first = !d.core.loaded;
	pthread_mutex_unlock(&d.lock);
	if (!res->gen) {
		git_ok(now, res->head);
		return;
	}
	memcpy(head, res->gen->revision, sizeof(head)); /* the gen belongs to the core from here on */
	git_ok(now, head);
	gen_apply(res->gen, now);
	res->gen = NULL;
	if (first) {
		metrics_gauge_set(d.m_up, NULL, 1);
		notify_send("READY=1");
		log_event(LOG_NOTICE, "ready", "revision", head[0] ? head : "(folder)", NULL);
	}
	malloc_trim(0); /* the previous commit's manifests are gone */
}

static void git_progress(void *arg, uint64_t received_bytes)
{
	(void)arg;
	(void)received_bytes;
	atomic_store(&d.git_heartbeat, clock_monotonic_ms()); /* data still arrives: not hung */
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
			/* ping only while the loop, and a Git poll in progress, show signs of life */
			if (errno == EAGAIN && wd) {
				uint64_t now = clock_monotonic_ms();
				bool loop_ok = atomic_load(&d.waiting) ||
				               (now - atomic_load(&d.heartbeat)) * 1000 < wd_usec;
				bool git_ok = !atomic_load(&d.git_busy) ||
				              (now - atomic_load(&d.git_heartbeat)) * 1000 < wd_usec;

				if (loop_ok && git_ok)
					notify_send("WATCHDOG=1");
			}
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
				pthread_mutex_lock(&d.lock);
				if (d.repo)
					manifest_repo_cancel(d.repo); /* a long fetch ends now */
				pthread_mutex_unlock(&d.lock);
			}
			daemon_wake();
			return NULL;
		case SIGHUP:
			atomic_store(&d.reload, true);
			daemon_wake();
			break;
		case SIGUSR1:
			atomic_store(&d.reconcile_all, true);
			atomic_store(&d.poke, true);
			daemon_wake();
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
	int r = manifest_repo_open(ret, &o, err);

	if (r >= 0)
		manifest_repo_set_progress(*ret, git_progress, NULL);
	return r;
}

static int rctx_open(const struct config *c, struct reconcile_ctx **ret, struct error *err)
{
	struct reconcile_ctx_options o;

	memset(&o, 0, sizeof(o));
	o.client.region = c->aws_region;
	o.client.endpoint = c->aws_endpoint;
	o.client.control_rate = c->rate_limit;
	if (c->n_roles) {
		struct reconcile_role roles[CONFIG_ROLES_MAX];

		for (size_t i = 0; i < c->n_roles && i < CONFIG_ROLES_MAX; i++)
			roles[i] = (struct reconcile_role){c->roles[i].account, c->roles[i].role_arn,
			                                   c->roles[i].external_id};
		o.roles = roles;
		o.n_roles = c->n_roles < CONFIG_ROLES_MAX ? c->n_roles : CONFIG_ROLES_MAX;
		o.role_session_name = c->role_session_name;
		return reconcile_ctx_new(ret, &o, err); /* copies the roles */
	}
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
	struct manifest_repo *old_repo = NULL;
	struct error err = ERROR_INIT;
	struct core_options copt;
	bool repo_changed;

	notify_send("RELOADING=1");
	if (config_load(&nc, d.config_path, &errs) < 0) {
		log_errlist("config error", &errs);
		log_event(LOG_ERR, "config reload refused, keeping the running configuration", "file",
		          d.config_path, NULL);
		errlist_release(&errs);
		notify_send("READY=1");
		return;
	}
	errlist_release(&errs);
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
		pthread_mutex_lock(&d.lock);
		old_repo = d.repo;
		d.repo = nr;
		pthread_mutex_unlock(&d.lock);
		manifest_repo_free(old_repo);
	}
	if (!streq_null(old->aws_region, nc->aws_region) ||
	    !streq_null(old->aws_endpoint, nc->aws_endpoint) || old->rate_limit != nc->rate_limit ||
	    !config_roles_equal(old, nc))
		log_event(LOG_WARNING, "aws settings change on restart only", "setting",
		          "aws.region, aws.endpoint, aws.roles, aws.roleSessionName, reconcile.rateLimit",
		          NULL);
	if (!streq_null(old->listen, nc->listen))
		log_event(LOG_WARNING, "server.listen changes on restart only", "listen", old->listen, NULL);
	if (d.httpd)
		httpd_secret_set(d.httpd, nc->webhook_secret.len ? nc->webhook_secret.ptr : NULL,
		                 nc->webhook_secret.len);
	if (jobs_workers_grow(nc->concurrency) < 0) {
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
	if (repo_changed) {
		d.core.loaded_rev[0] = '\0';
		core_poll_now(&d.core, now);
	} else {
		core_poke(&d.core, now);
	}
	/* repository.verify: its keys may have changed (the file being the same): check the head again */
	d.reverify = nc->verify_provider != 0;
	/* Stalled functions get another chance; a changed resync applies from now on */
	core_options_from(&copt, nc);
	resync_rates(now, true); /* the new period is planned at the rate allowed now */
	core_config_changed(&d.core, &copt, now, daemon_random_u32());
	pthread_mutex_unlock(&d.lock);
	reconcile_cache_set_max_age(d.cache, cache_max_age_ms(nc));
	feedback_configure(nc);
	config_free(old);
	log_event(LOG_NOTICE, "config reloaded", "file", d.config_path, NULL);
	notify_send("READY=1");
}

static void shutdown_all(void)
{
	httpd_stop(d.httpd);
	d.httpd = NULL;
	jobs_workers_join();
	pthread_mutex_lock(&d.lock);
	core_release(&d.core);
	daemon_set_str(&d.load_error, NULL);
	pthread_mutex_unlock(&d.lock);
	reconcile_ctx_free(d.rctx);
	d.rctx = NULL;
	reconcile_cache_free(d.cache);
	d.cache = NULL;
	manifest_repo_free(d.repo);
	d.repo = NULL;
	metrics_free(d.metrics);
	d.metrics = NULL;
	config_free(d.cfg);
	d.cfg = NULL;
	free(d.env_region);
	d.env_region = NULL;
	free(d.state_path);
	d.state_path = NULL;
	d.state_written = false;
	state_release(&saved);
	saved_pending = false;
	if (d.efd >= 0)
		close(d.efd);
	d.efd = -1;
}

/* One pass of the loop; returns the poll() timeout in ms. */
static int loop_pass(void)
{
	uint64_t now = clock_monotonic_ms(), next;
	struct git_result res;
	bool due, busy;

	daemon_alive();
	jobs_collect(now);
	if (git_thread_take(&res))
		git_finish(now, &res);
	/* a reload may replace the repository handle: not while a poll uses it */
	if (!git_thread_busy() && atomic_exchange(&d.reload, false))
		reload_config(now);
	pthread_mutex_lock(&d.lock);
	if (atomic_exchange(&d.poke, false))
		core_poke(&d.core, now);
	if (atomic_exchange(&d.reconcile_all, false)) {
		core_reconcile_all(&d.core, now);
		reconcile_cache_clear(d.cache); /* everything is observed afresh */
		log_event(LOG_NOTICE, "reconcile requested (SIGUSR1)", NULL);
	}
	resync_rates(now, false);
	resync_say(now);
	busy = git_thread_busy();
	due = !busy && core_poll_due(&d.core, now);
	pthread_mutex_unlock(&d.lock);
	if (due)
		git_start(now);
	if (atomic_load(&d.stop))
		return -1;
	jobs_schedule(now);
	storage_tick();

	pthread_mutex_lock(&d.lock);
	status_line_update();
	/* while a poll runs, its end wakes the loop: no deadline for the next one */
	next = core_next_deadline(&d.core, d.cfg->concurrency, !(busy || due));
	pthread_mutex_unlock(&d.lock);
	now = clock_monotonic_ms();
	return next <= now ? 0 : next - now > 3600000 ? 3600000 : (int)(next - now);
}

int daemon_run(const char *config_path)
{
	struct errlist errs = ERRLIST_INIT;
	struct error err = ERROR_INIT;
	struct core_options copt;
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
		errlist_release(&errs);
		log_event(LOG_ERR, "cannot start: invalid configuration", "file", config_path, NULL);
		goto out;
	}
	apply_log_config(d.cfg);
	if (aws_region_resolve(NULL, &d.env_region, NULL) < 0)
		d.env_region = NULL; /* unknown: twins are judged conservatively */
	config_warnings(d.cfg, &errs);
	for (size_t i = 0; i < errs.len; i++) {
		error_format(&errs.items[i], text, sizeof(text));
		log_event(LOG_WARNING, "configuration warning", "warning", text, NULL);
	}
	errlist_release(&errs);
	core_options_from(&copt, d.cfg);
	core_init(&d.core, &copt);
	d.efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (d.efd < 0 || status_metrics_setup() < 0) {
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
	state_load();
	r = rctx_open(d.cfg, &d.rctx, &err);
	if (r < 0) {
		error_format(&err, text, sizeof(text));
		log_event(LOG_ERR, "cannot start: aws", "error", text, NULL);
		goto out;
	}
	pthread_mutex_lock(&d.lock);
	resync_rates(clock_monotonic_ms(), true); /* the default region and the roles, before any load */
	pthread_mutex_unlock(&d.lock);
	if (d.cfg->listen) {
		struct httpd_handlers h = {NULL, status_cb_status, status_cb_metrics, status_cb_health,
		                           status_cb_push};
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
	r = reconcile_cache_new(&d.cache, cache_max_age_ms(d.cfg));
	if (r < 0) {
		log_event(LOG_ERR, "cannot start", "error", strerror(-r), NULL);
		goto out;
	}
	d.ropt_template.cache = d.cache;
	r = jobs_workers_grow(d.cfg->concurrency);
	if (r < 0) {
		log_event(LOG_ERR, "cannot start: worker threads", "error", strerror(-r), NULL);
		goto out;
	}
	r = feedback_start(d.cfg);
	if (r < 0) {
		log_event(LOG_ERR, "cannot start: notification thread", "error", strerror(-r), NULL);
		goto out;
	}
	r = git_thread_start();
	if (r < 0) {
		log_event(LOG_ERR, "cannot start: git thread", "error", strerror(-r), NULL);
		goto out;
	}
	r = storage_thread_start();
	if (r < 0) {
		log_event(LOG_ERR, "cannot start: code storage thread", "error", strerror(-r), NULL);
		goto out;
	}
	if (pthread_create(&sigthread, NULL, signal_main, &sigs) == 0)
		sigthread_up = true;
	log_event(LOG_NOTICE, "aliasd started", "repository", d.repo_desc, "ref", d.cfg->repo_ref, "path",
	          d.cfg->repo_path[0] ? d.cfg->repo_path : "/", NULL);

	while (!atomic_load(&d.stop)) {
		struct pollfd pfd;
		uint64_t drain;
		int timeout = loop_pass();

		if (timeout < 0)
			break;
		pfd.fd = d.efd;
		pfd.events = POLLIN;
		atomic_store(&d.waiting, true);
		r = poll(&pfd, 1, timeout);
		atomic_store(&d.waiting, false);
		daemon_alive();
		if (r > 0) {
			ssize_t n = read(d.efd, &drain, sizeof(drain));

			(void)n;
		}
	}

	notify_send("STOPPING=1");
	log_event(LOG_NOTICE, "stopping", "in_flight", d.core.in_flight ? "yes" : "no", NULL);
	git_thread_stop(); /* SIGTERM canceled its transfer */
	if (d.rctx)
		reconcile_ctx_stop(d.rctx);
	storage_thread_stop();
	/* let the workers finish their call in flight; drop what is queued */
	jobs_cancel_queued();
	jobs_workers_join();
	jobs_collect(clock_monotonic_ms());
	status = 0;
	log_event(LOG_NOTICE, "stopped", NULL);
out:
	if (sigthread_up) {
		atomic_store(&d.stop, true);
		pthread_kill(sigthread, SIGTERM); /* blocked: sigtimedwait in that thread takes it */
		pthread_join(sigthread, NULL);
	}
	git_thread_stop();
	storage_thread_stop();
	feedback_stop();
	if (d.metrics || d.cfg)
		shutdown_all();
	return status;
}
