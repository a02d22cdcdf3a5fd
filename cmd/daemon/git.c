/*
 * git.c - the Git thread: one poll at a time (ls-remote; when the ref moved,
 * fetch and load the commit's manifests), off the loop thread, so the loop
 * keeps recording reconciles, answering signals and feeding the watchdog
 * while a fetch runs.  The loop asks (git_thread_request) and takes the
 * result (git_thread_take); it never touches d.repo while a poll runs
 * (a config reload waits for it).  See shell.h for the watchdog rule.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/daemon/shell.h"
#include "cmd/daemon/trust.h"
#include "manifest/history.h"
#include "manifest/load.h"
#include "util/log.h"

static struct {
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool exit, requested;
	bool outstanding; /* requested and not taken yet (loop thread's view) */
	/* the request */
	struct manifest_repo *repo;
	char loaded_rev[CORE_REV_LEN];
	char *path, *region;
	bool allow_rewind, reverify;
	/* the result */
	struct git_result res;
	/*
	 * zip hashes by blob id, parsed manifest files by (path, blob id), and
	 * the last history, across polls (Git thread only: a set shares the
	 * cache's units by atomic counts, so the loop may free it any time)
	 */
	struct manifest_zip_cache *zips;
	struct manifest_file_cache *files;
	struct manifest_history *last_history;
	bool fetched; /* the poll fetched (Git thread) */
} g;

static bool warned_no_history; /* Git thread only */

static int fail(struct git_result *res, const char *step, int r)
{
	snprintf(res->step, sizeof(res->step), "%s", step);
	res->status = r < 0 ? r : -EIO;
	return res->status;
}

/*
 * prune.keepHistory: what the last commits declared (Git thread; zips and the
 * last history kept across polls, so a new commit costs one load).  When it cannot be read, *ret stays NULL
 * and reconcile deletes no version of a function with keepHistory (nothing a revert may need is lost); a
 * folder has no history: keepHistory counts as 0, with one warning per process.
 */
/* Each older commit read: the Git thread is alive (the watchdog rule, shell.h). */
static void history_alive(void *arg, unsigned commits)
{
	(void)arg;
	(void)commits;
	atomic_store(&d.git_heartbeat, clock_monotonic_ms());
}

static void history_collect(struct manifest_source *src, const char *path, const struct manifest_set *set,
                            const struct manifest_load_options *lo, struct manifest_history **ret)
{
	struct error err = ERROR_INIT;

	struct manifest_history_options hopt = {
	    .cache = g.zips, .progress = history_alive, .prev = g.last_history};

	if (manifest_history_collect(ret, src, path && path[0] ? path : NULL, set, lo, &hopt, &err) < 0) {
		*ret = NULL;
		manifest_history_free(g.last_history);
		g.last_history = NULL;
		log_event(LOG_WARNING, "cannot read the history for prune.keepHistory: no version is deleted",
		          "revision", src->revision, "error", err.msg, NULL);
		return;
	}
	/* the next commit's history derives from this one (one load instead of N) */
	manifest_history_free(g.last_history);
	g.last_history = manifest_history_ref(*ret);
	if ((*ret)->commits) {
		char commits[16], loaded[16];

		snprintf(commits, sizeof(commits), "%u", (*ret)->commits);
		snprintf(loaded, sizeof(loaded), "%u", (*ret)->loaded);
		log_event(LOG_DEBUG, "history read for prune.keepHistory", "revision", src->revision,
		          "commits", commits, "loaded", loaded, NULL);
	}
	if ((*ret)->no_history && !warned_no_history) {
		warned_no_history = true;
		log_event(LOG_WARNING,
		          "prune.keepHistory counts as 0: the repository is a folder without Git history",
		          NULL);
	}
}

/* One poll (Git thread). */
static void poll_once(struct manifest_repo *repo, const char *loaded_rev, const char *path,
                      const char *region, bool allow_rewind, bool reverify, struct git_result *res)
{
	struct manifest_load_options lo = {.default_region = region && region[0] ? region : NULL};
	char fetched[CORE_REV_LEN] = "";
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct manifest_history *history = NULL;
	struct core_gen *gen;
	bool unchanged;
	int r;

	r = manifest_repo_remote_head(repo, res->head, &res->err);
	metrics_counter_add(d.m_git, (const char *[]){"ls-remote", r < 0 ? "error" : "ok"}, 1);
	if (r < 0) {
		fail(res, "ls-remote", r);
		return;
	}
	unchanged = loaded_rev[0] && res->head[0] && !strcmp(res->head, loaded_rev);
	if (unchanged && !reverify)
		return;
	r = manifest_repo_fetch(repo, fetched, &res->err);
	g.fetched = true;
	metrics_counter_add(d.m_git, (const char *[]){"fetch", r < 0 ? "error" : "ok"}, 1);
	if (r < 0) {
		fail(res, "fetch", r);
		return;
	}
	/*
	 * A rewind: the new head does not descend from the commit loaded last.
	 * When the cache cannot tell (-ENOENT: the old commit is gone from it,
	 * e.g. a fresh cache), nothing is said: no evidence of a rewind.
	 */
	if (loaded_rev[0] && fetched[0] && strcmp(fetched, loaded_rev) &&
	    manifest_repo_descends_from(repo, fetched, loaded_rev, NULL) == 0) {
		res->rewound = true;
		snprintf(res->rewound_from, sizeof(res->rewound_from), "%s", loaded_rev);
		if (!allow_rewind) {
			snprintf(res->head, sizeof(res->head), "%s", fetched);
			error_set(&res->err, -EPERM,
			          "commit %.12s does not descend from the last applied commit %.12s (a force "
			          "push?): not applied, repository.allowRewind is false",
			          fetched, loaded_rev);
			fail(res, "rewind", -EPERM);
			return;
		}
	}
	res->reverified = unchanged && !strcmp(fetched, loaded_rev);
	if (trust_verify(repo, fetched, res) < 0)
		return; /* repository.verify: untrusted, or no verdict */
	if (res->reverified)
		return; /* the commit loaded, still trusted under the reloaded repository.verify */
	r = manifest_repo_source(repo, fetched, &src, &res->err);
	if (r < 0) {
		fail(res, "open commit", r);
		return;
	}
	if (!g.zips && manifest_zip_cache_new(&g.zips, 0) < 0)
		g.zips = NULL; /* no cache: every zip is hashed */
	lo.zip_cache = g.zips;
	if (!g.files && manifest_file_cache_new(&g.files) < 0)
		g.files = NULL; /* no cache: every file is parsed */
	lo.file_cache = g.files;
	r = manifest_load_with(&set, src, path && path[0] ? path : NULL, &lo, &res->err);
	if (r < 0) {
		manifest_source_free(src);
		fail(res, "load manifests", r);
		return;
	}
	if (g.files) {
		struct manifest_file_cache_stats st;
		char parsed[24], reused[24];

		manifest_file_cache_stats(g.files, &st);
		snprintf(parsed, sizeof(parsed), "%zu", st.misses);
		snprintf(reused, sizeof(reused), "%zu", st.hits);
		log_event(LOG_DEBUG, "manifests loaded", "revision", src->revision, "parsed", parsed,
		          "unchanged", reused, NULL);
	}
	history_collect(src, path, set, &lo, &history);
	/*
	 * The load is done: the snapshot's libgit2 handle (its object cache with
	 * the manifests' folder tree, the pack maps) is closed until a zip is
	 * read for an upload (at 10,000 manifests ~0.8 MB of heap and ~1 MiB of
	 * mapped pack and index pages).
	 */
	manifest_source_trim(src);
	gen = calloc(1, sizeof(*gen));
	if (!gen) {
		manifest_history_free(history);
		manifest_set_free(set);
		manifest_source_free(src);
		error_set(&res->err, -ENOMEM, "out of memory");
		fail(res, "load manifests", -ENOMEM);
		return;
	}
	gen->set = set;
	gen->src = src;
	gen->history = history;
	snprintf(gen->revision, sizeof(gen->revision), "%s", fetched[0] ? fetched : src->revision);
	res->gen = gen;
}

static void *git_main(void *arg)
{
	(void)arg;
	for (;;) {
		struct git_result res;
		struct manifest_repo *repo;
		char loaded_rev[CORE_REV_LEN], *path, *region;
		bool allow_rewind, reverify;

		pthread_mutex_lock(&g.lock);
		while (!g.requested && !g.exit)
			pthread_cond_wait(&g.cond, &g.lock);
		if (g.exit) {
			pthread_mutex_unlock(&g.lock);
			return NULL;
		}
		g.requested = false;
		repo = g.repo;
		memcpy(loaded_rev, g.loaded_rev, sizeof(loaded_rev));
		path = g.path;
		g.path = NULL;
		region = g.region;
		g.region = NULL;
		allow_rewind = g.allow_rewind;
		reverify = g.reverify;
		pthread_mutex_unlock(&g.lock);

		memset(&res, 0, sizeof(res));
		res.err = (struct error)ERROR_INIT;
		atomic_store(&d.git_heartbeat, clock_monotonic_ms());
		g.fetched = false;
		poll_once(repo, loaded_rev, path, region, allow_rewind, reverify, &res);
		if (g.fetched)
			manifest_repo_trim(repo); /* after the load's own handle: the packs close */
		free(path);
		free(region);
		res.done = true;

		pthread_mutex_lock(&g.lock);
		g.res = res;
		pthread_mutex_unlock(&g.lock);
		atomic_store(&d.git_busy, false);
		daemon_wake();
	}
}

int git_thread_start(void)
{
	int r;

	memset(&g, 0, sizeof(g));
	pthread_mutex_init(&g.lock, NULL);
	pthread_cond_init(&g.cond, NULL);
	r = pthread_create(&g.thread, NULL, git_main, NULL);
	if (r)
		return -r;
	g.started = true;
	return 0;
}

void git_thread_stop(void)
{
	if (!g.started)
		return;
	pthread_mutex_lock(&g.lock);
	g.exit = true;
	pthread_cond_signal(&g.cond);
	pthread_mutex_unlock(&g.lock);
	pthread_join(g.thread, NULL);
	g.started = false;
	free(g.path);
	g.path = NULL;
	free(g.region);
	g.region = NULL;
	manifest_zip_cache_free(g.zips);
	g.zips = NULL;
	manifest_file_cache_free(g.files);
	g.files = NULL;
	manifest_history_free(g.last_history);
	g.last_history = NULL;
	if (g.res.gen) {
		manifest_history_free(g.res.gen->history);
		manifest_set_free(g.res.gen->set);
		manifest_source_free(g.res.gen->src);
		free(g.res.gen);
	}
	memset(&g.res, 0, sizeof(g.res));
	g.outstanding = false;
	atomic_store(&d.git_busy, false);
}

bool git_thread_busy(void)
{
	bool busy;

	pthread_mutex_lock(&g.lock);
	busy = g.outstanding;
	pthread_mutex_unlock(&g.lock);
	return busy;
}

int git_thread_request(struct manifest_repo *repo, const struct git_request *req)
{
	char *copy = strdup(req->path ? req->path : ""), *region = strdup(req->region ? req->region : "");

	if (!copy || !region) {
		free(copy);
		free(region);
		return -ENOMEM;
	}
	atomic_store(&d.git_heartbeat, clock_monotonic_ms());
	atomic_store(&d.git_busy, true);
	pthread_mutex_lock(&g.lock);
	g.repo = repo;
	snprintf(g.loaded_rev, sizeof(g.loaded_rev), "%s", req->loaded_rev);
	free(g.path);
	g.path = copy;
	free(g.region);
	g.region = region;
	g.allow_rewind = req->allow_rewind;
	g.reverify = req->reverify;
	g.requested = true;
	g.outstanding = true;
	pthread_cond_signal(&g.cond);
	pthread_mutex_unlock(&g.lock);
	return 0;
}

bool git_thread_take(struct git_result *ret)
{
	bool done;

	pthread_mutex_lock(&g.lock);
	done = g.res.done;
	if (done) {
		*ret = g.res;
		memset(&g.res, 0, sizeof(g.res));
		g.outstanding = false;
	}
	pthread_mutex_unlock(&g.lock);
	return done;
}
