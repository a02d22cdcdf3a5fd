/* feedback.c - GitHub commit statuses and webhook events (see feedback.h). */
#include "cmd/daemon/feedback.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/http.h"
#include "cmd/daemon/sentstatus.h"
#include "cmd/daemon/shell.h"
#include "cmd/notify_status.h"
#include "util/clock.h"
#include "util/log.h"
#include "util/secret.h"

#ifndef ALIASD_VERSION
#define ALIASD_VERSION "unknown"
#endif

#define SINKS_MAX        (1 + CONFIG_WEBHOOKS_MAX)
#define BACKOFF_FIRST_MS 1000ULL
#define DRAIN_MS         2000ULL

struct item {
	char *url;       /* secret for webhooks */
	struct buf auth; /* "Bearer TOKEN" (secret); empty for webhooks */
	struct buf body;
	unsigned attempts;
	uint64_t due; /* monotonic ms */
	struct item *next;
};

struct sink {
	bool github;
	enum config_webhook_format format;
	unsigned events;
	struct item *head, **tail;
	size_t count;
};

static struct {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	pthread_t thread;
	bool running, stopping;
	uint64_t drain_until;
	unsigned generation; /* bumped when the sinks are rebuilt */
	struct sink sinks[SINKS_MAX];
	size_t n_sinks;
	/* copies of the config (lock held to change; the loop thread reads them) */
	char *fingerprint; /* the notify section as one string: unchanged on reload = keep */
	char *status_url;  /* {apiUrl}/repos/{owner}/{repo}/statuses/ (no sha) */
	char *context;
	struct buf token;
	char *webhook_urls[CONFIG_WEBHOOKS_MAX];
	struct metric_family *m;
	/* loop thread only: the commit whose status we follow */
	char rev[CORE_REV_LEN];
	int state;                   /* enum notify_state last sent for rev, -1 none */
	char desc[NOTIFY_DESC_SIZE]; /* its description (a pending one changes as rollouts step) */
	bool manifest_failed;
	/*
	 * rev had a final status when the daemon stopped (<stateDir>/github-status):
	 * it is being checked again, so `pending` is not sent; a final state is,
	 * when it differs from the one sent.
	 */
	bool restored_final;
	char *sent_path; /* <stateDir>/github-status, NULL: not kept */
} fb = {.lock = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER, .state = -1};

static void count(bool github, const char *result)
{
	if (fb.m)
		metrics_counter_add(fb.m, (const char *[]){github ? "github" : "webhook", result}, 1);
}

static void item_free(struct item *it)
{
	if (!it)
		return;
	secret_free_str(it->url);
	buf_release_secret(&it->auth);
	buf_release(&it->body);
	free(it);
}

/* lock held */
static void sink_push(struct sink *s, struct item *it, bool front)
{
	if (front) {
		it->next = s->head;
		s->head = it;
		if (!it->next)
			s->tail = &it->next;
	} else {
		it->next = NULL;
		*s->tail = it;
		s->tail = &it->next;
	}
	s->count++;
	while (s->count > FEEDBACK_QUEUE_MAX) {
		struct item *old = s->head;

		s->head = old->next;
		if (!s->head)
			s->tail = &s->head;
		s->count--;
		count(s->github, "dropped");
		log_event(LOG_WARNING, "notification dropped: queue full", "sink",
		          s->github ? "github" : "webhook", NULL);
		item_free(old);
	}
}

/* lock held */
static void sinks_clear(void)
{
	for (size_t i = 0; i < fb.n_sinks; i++) {
		struct sink *s = &fb.sinks[i];

		while (s->head) {
			struct item *it = s->head;

			s->head = it->next;
			count(s->github, "dropped");
			item_free(it);
		}
		s->count = 0;
		s->tail = &s->head;
	}
	fb.n_sinks = 0;
	for (size_t i = 0; i < CONFIG_WEBHOOKS_MAX; i++) {
		secret_free_str(fb.webhook_urls[i]);
		fb.webhook_urls[i] = NULL;
	}
	free(fb.status_url);
	free(fb.context);
	fb.status_url = fb.context = NULL;
	buf_release_secret(&fb.token);
	fb.generation++;
}

static char *fingerprint_of(const struct config *c)
{
	struct buf b = BUF_INIT;

	buf_mark_secret(&b);
	if (c->github_token_file)
		buf_printf(&b, "gh\n%s\n%s\n%s\n%.*s\n", c->github_api_url ? c->github_api_url : "",
		           c->github_repository ? c->github_repository : "",
		           c->github_context ? c->github_context : "", (int)c->github_token.len,
		           c->github_token.ptr ? c->github_token.ptr : "");
	for (size_t i = 0; i < c->n_webhooks; i++)
		buf_printf(&b, "wh\n%d\n%u\n%.*s\n", (int)c->webhooks[i].format, c->webhooks[i].events,
		           (int)c->webhooks[i].url.len, c->webhooks[i].url.ptr ? c->webhooks[i].url.ptr : "");
	return buf_detach(&b, NULL);
}

/* lock held */
static void sinks_build(const struct config *c)
{
	if (c->github_token_file && c->github_token.len && c->github_repository) {
		struct sink *s = &fb.sinks[fb.n_sinks++];
		struct buf u = BUF_INIT;

		memset(s, 0, sizeof(*s));
		s->github = true;
		s->tail = &s->head;
		buf_printf(&u, "%s/repos/%s/statuses/",
		           c->github_api_url ? c->github_api_url : CONFIG_DEFAULT_GITHUB_API,
		           c->github_repository);
		fb.status_url = buf_detach(&u, NULL);
		fb.context = strdup(c->github_context ? c->github_context : CONFIG_DEFAULT_GITHUB_CONTEXT);
		buf_mark_secret(&fb.token);
		buf_put(&fb.token, c->github_token.ptr, c->github_token.len);
		/* a token file ends in a newline */
		while (fb.token.len &&
		       (fb.token.ptr[fb.token.len - 1] == '\n' || fb.token.ptr[fb.token.len - 1] == '\r'))
			buf_truncate(&fb.token, fb.token.len - 1);
	}
	for (size_t i = 0; i < c->n_webhooks && i < CONFIG_WEBHOOKS_MAX; i++) {
		struct sink *s = &fb.sinks[fb.n_sinks++];

		memset(s, 0, sizeof(*s));
		s->format = c->webhooks[i].format;
		s->events = c->webhooks[i].events;
		s->tail = &s->head;
		fb.webhook_urls[i] =
		    strndup(c->webhooks[i].url.ptr ? c->webhooks[i].url.ptr : "", c->webhooks[i].url.len);
	}
}

/* ------------------------------------------------------------------ sending */

enum send_result { SENT_OK, SENT_RETRY, SENT_FAILED };

static enum send_result send_one(struct http_client *hc, const struct item *it, bool github)
{
	struct http_header h[5];
	size_t n = 0;
	struct http_request req = {"POST", it->url, h, 0, it->body.ptr, it->body.len, NULL};
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct error err = ERROR_INIT;
	char code[24], text[ERROR_MSG_MAX + ERROR_FILE_MAX + 32];
	const char *sinkname = github ? "github" : "webhook";
	enum send_result res;
	int r;

	h[n++] = (struct http_header){(char *)"Content-Type", (char *)"application/json"};
	h[n++] = (struct http_header){(char *)"User-Agent", (char *)"aliasd/" ALIASD_VERSION};
	if (github) {
		h[n++] = (struct http_header){(char *)"Authorization", it->auth.ptr};
		h[n++] = (struct http_header){(char *)"Accept", (char *)"application/vnd.github+json"};
		h[n++] = (struct http_header){(char *)"X-GitHub-Api-Version", (char *)"2022-11-28"};
	}
	req.n_headers = n;
	r = http_client_send(hc, &req, &resp, &err);
	if (r < 0) {
		/* libcurl's message may carry the URL: a webhook's is a secret */
		snprintf(text, sizeof(text), "%s", github ? err.msg : strerror(-r));
		log_event(LOG_WARNING, "notification not delivered", "sink", sinkname, "error", text,
		          "attempt", (snprintf(code, sizeof(code), "%u", it->attempts), code), NULL);
		return SENT_RETRY;
	}
	if (resp.status >= 200 && resp.status < 300) {
		res = SENT_OK;
	} else {
		res = resp.status == 408 || resp.status == 429 || resp.status >= 500 ||
		              (github && resp.status == 403 &&
		               http_response_header(&resp, "X-RateLimit-Remaining") &&
		               !strcmp(http_response_header(&resp, "X-RateLimit-Remaining"), "0"))
		          ? SENT_RETRY
		          : SENT_FAILED;
		snprintf(code, sizeof(code), "%ld", resp.status);
		/* GitHub's answer is {"message": ...}; a webhook's body is not ours to log */
		snprintf(text, sizeof(text), "%.200s", github && resp.body.ptr ? resp.body.ptr : "");
		log_event(LOG_WARNING, "notification refused", "sink", sinkname, "status", code, "answer",
		          text, NULL);
	}
	http_response_release(&resp);
	return res;
}

static void *sender_main(void *arg)
{
	struct http_options opt = {2000, 5000, 64 * 1024, NULL}; /* a stop waits for one request at most */
	struct http_client *hc = NULL;
	struct error err = ERROR_INIT;

	(void)arg;
	if (http_client_new(&hc, &opt, &err) < 0)
		log_event(LOG_ERR, "notifications disabled: no HTTP client", "error", err.msg, NULL);
	pthread_mutex_lock(&fb.lock);
	for (;;) {
		uint64_t now = clock_monotonic_ms(), next = UINT64_MAX;
		struct sink *s = NULL;
		struct item *it;
		unsigned gen;
		bool github;
		enum send_result res;

		for (size_t i = 0; i < fb.n_sinks; i++)
			if (fb.sinks[i].head && fb.sinks[i].head->due < next) {
				next = fb.sinks[i].head->due;
				s = &fb.sinks[i];
			}
		if (fb.stopping && (!s || now >= fb.drain_until))
			break;
		if (!s || next > now) {
			uint64_t until = next;
			struct timespec ts;

			if (fb.stopping && fb.drain_until < until)
				until = fb.drain_until;
			if (until == UINT64_MAX) {
				pthread_cond_wait(&fb.cond, &fb.lock);
				continue;
			}
			/* the condition variable waits on CLOCK_REALTIME: convert the distance */
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += (time_t)((until - now) / 1000);
			ts.tv_nsec += (long)((until - now) % 1000) * 1000000L;
			if (ts.tv_nsec >= 1000000000L) {
				ts.tv_sec++;
				ts.tv_nsec -= 1000000000L;
			}
			pthread_cond_timedwait(&fb.cond, &fb.lock, &ts);
			continue;
		}
		it = s->head;
		s->head = it->next;
		if (!s->head)
			s->tail = &s->head;
		s->count--;
		gen = fb.generation;
		github = s->github;
		it->attempts++;
		pthread_mutex_unlock(&fb.lock);
		res = hc ? send_one(hc, it, github) : SENT_FAILED;
		pthread_mutex_lock(&fb.lock);
		if (res == SENT_RETRY && it->attempts < FEEDBACK_ATTEMPTS && gen == fb.generation &&
		    !fb.stopping) {
			count(github, "retried");
			it->due = clock_monotonic_ms() + (BACKOFF_FIRST_MS << (it->attempts - 1));
			sink_push(s, it, true); /* first again: the order of one sink holds */
			continue;
		}
		count(github, res == SENT_OK ? "ok" : "failed");
		if (res != SENT_OK)
			log_event(LOG_ERR, "notification failed", "sink", github ? "github" : "webhook",
			          NULL);
		item_free(it);
	}
	pthread_mutex_unlock(&fb.lock);
	http_client_free(hc);
	return NULL;
}

/* Queue `body` (taken) for sink `s` at `url`; lock held. */
static void enqueue(struct sink *s, const char *url, const char *sha, struct buf *body)
{
	struct item *it = calloc(1, sizeof(*it));

	if (!it) {
		buf_release(body);
		count(s->github, "dropped");
		return;
	}
	if (s->github) {
		size_t n = strlen(url) + strlen(sha) + 1;

		it->url = malloc(n);
		if (it->url)
			snprintf(it->url, n, "%s%s", url, sha);
		buf_mark_secret(&it->auth);
		buf_puts(&it->auth, "Bearer ");
		buf_put(&it->auth, fb.token.ptr, fb.token.len);
	} else {
		it->url = strdup(url);
	}
	it->body = *body;
	*body = (struct buf)BUF_INIT;
	it->due = clock_monotonic_ms();
	if (!it->url) {
		item_free(it);
		count(s->github, "dropped");
		return;
	}
	sink_push(s, it, false);
	pthread_cond_signal(&fb.cond);
}

/* ----------------------------------------------------------- what to send */

/* Queue `state` for `rev` on every GitHub sink (no deduplication here). */
static void post_status(const char *rev, enum notify_state state, const char *desc)
{
	struct buf body = BUF_INIT;
	bool any = false;

	log_event(LOG_INFO, "commit status", "revision", rev, "state", notify_state_name(state),
	          "description", desc, NULL);
	pthread_mutex_lock(&fb.lock);
	for (size_t i = 0; i < fb.n_sinks; i++) {
		if (!fb.sinks[i].github)
			continue;
		any = true;
		if (notify_status_json(&body, state, desc, fb.context, NULL) == 0)
			enqueue(&fb.sinks[i], fb.status_url, rev, &body);
		buf_release(&body);
	}
	pthread_mutex_unlock(&fb.lock);
	if (any && fb.sent_path) {
		struct sent_status ss = {.state = state};
		struct error err = ERROR_INIT;

		snprintf(ss.rev, sizeof(ss.rev), "%s", rev);
		snprintf(ss.desc, sizeof(ss.desc), "%s", desc);
		if (sent_status_write(fb.sent_path, &ss, &err) < 0)
			log_event(LOG_WARNING, "cannot record the commit status sent", "error", err.msg,
			          NULL);
	}
}

static void send_status(const char *rev, enum notify_state state, const char *desc)
{
	/* one status per state change; a pending one also when its text changes (a rollout's step) */
	if (strlen(rev) != 40 ||
	    ((int)state == fb.state && (state != NOTIFY_PENDING || !strcmp(desc, fb.desc))))
		return;
	if (fb.restored_final && state == NOTIFY_PENDING)
		return; /* re-checked after a restart: its outcome was sent already */
	fb.restored_final = false;
	fb.state = (int)state;
	snprintf(fb.desc, sizeof(fb.desc), "%s", desc);
	post_status(rev, state, desc);
}

static void send_event(const struct notify_event *ev)
{
	size_t w = 0;

	pthread_mutex_lock(&fb.lock);
	for (size_t i = 0; i < fb.n_sinks; i++) {
		struct sink *s = &fb.sinks[i];
		struct buf body = BUF_INIT;
		int r;

		if (s->github)
			continue;
		w++;
		if (!(s->events & ev->kind))
			continue;
		r = s->format == CONFIG_WEBHOOK_SLACK ? notify_event_slack(&body, ev)
		                                      : notify_event_json(&body, ev);
		if (r == 0)
			enqueue(s, fb.webhook_urls[w - 1], NULL, &body);
		buf_release(&body);
	}
	pthread_mutex_unlock(&fb.lock);
}

static void event(enum notify_event_kind kind, const char *rev, const char *fn, const char *alias,
                  const char *from, const char *to, const char *msg)
{
	struct notify_event ev = {kind, time(NULL), rev && rev[0] ? rev : NULL, fn, alias, from, to,
	                          msg,  NULL};

	send_event(&ev);
}

/*
 * Start following `rev` when it is new.  A commit left `pending` (a newer one
 * came before its outcome was known: a push during a rollout or a retry) gets
 * `error` naming its successor, so that GitHub does not show it pending
 * forever; the successor's own statuses tell the outcome.
 */
static void follow(const char *rev)
{
	if (!strcmp(fb.rev, rev))
		return;
	if (fb.state == NOTIFY_PENDING && strlen(fb.rev) == 40) {
		char desc[NOTIFY_DESC_SIZE];

		snprintf(desc, sizeof(desc), "superseded by %.7s before its outcome was known", rev);
		post_status(fb.rev, NOTIFY_ERROR, desc);
	}
	fb.restored_final = false;
	snprintf(fb.rev, sizeof(fb.rev), "%s", rev);
	fb.state = -1;
	fb.desc[0] = '\0';
	fb.manifest_failed = false;
}

void feedback_commit_loaded(const struct core_gen *g)
{
	const struct manifest_set *set = g->set;
	char desc[NOTIFY_DESC_SIZE];
	struct notify_commit_outcome o = {true, NULL, NULL, NULL, 0, NULL, 0};

	follow(g->revision);
	if (set->errors.len) {
		const struct error *e = &set->errors.items[0];
		char text[ERROR_MSG_MAX + ERROR_FILE_MAX + 64];

		o.manifest_error = e->msg;
		o.manifest_file = e->file[0] ? e->file : NULL;
		o.manifest_line = e->line;
		send_status(g->revision, notify_status_compose(desc, &o), desc);
		if (!fb.manifest_failed) {
			error_format(e, text, sizeof(text));
			event(NOTIFY_EVENT_FAILED, g->revision, NULL, NULL, NULL, NULL, text);
		}
		fb.manifest_failed = true;
		return;
	}
	send_status(g->revision, notify_status_compose(desc, &o), desc);
}

void feedback_commit_applied(const char *rev)
{
	char desc[NOTIFY_DESC_SIZE], msg[NOTIFY_DESC_SIZE + 32];
	size_t n = 0;

	if (strcmp(rev, fb.rev) || fb.manifest_failed || fb.state == NOTIFY_SUCCESS)
		return;
	for (size_t i = 0; i < d.core.n_fns; i++)
		n += !d.core.fns[i]->removed;
	snprintf(desc, sizeof(desc), "%zu function%s in sync", n, n == 1 ? "" : "s");
	send_status(rev, NOTIFY_SUCCESS, desc);
	snprintf(msg, sizeof(msg), "commit applied: %s", desc);
	event(NOTIFY_EVENT_APPLIED, rev, NULL, NULL, NULL, NULL, msg);
}

void feedback_storage_warning(const char *region, const char *message)
{
	struct notify_event ev = {
	    NOTIFY_EVENT_STORAGE_WARNING, time(NULL), NULL, NULL, NULL, NULL, NULL, message, region};

	send_event(&ev);
}

void feedback_commit_untrusted(const char *rev, const char *reason)
{
	char desc[NOTIFY_DESC_SIZE];
	struct notify_commit_outcome o = {false, reason, NULL, NULL, 0, NULL, 0};

	follow(rev);
	if (fb.state == NOTIFY_FAILURE)
		return;
	send_status(rev, notify_status_compose(desc, &o), desc);
	event(NOTIFY_EVENT_UNTRUSTED, rev, NULL, NULL, NULL, NULL, reason);
}

/*
 * Whether `st` had converged to desired state `hash` before (then a write now
 * repairs a change made outside aliasd), and remember `hash` as converged
 * (in the function's own state: no table of its own to search).
 */
static bool converged_before(struct core_fn *st, const unsigned char hash[CORE_HASH_LEN])
{
	bool before = st->converged_known && !memcmp(st->converged, hash, CORE_HASH_LEN);

	memcpy(st->converged, hash, CORE_HASH_LEN);
	st->converged_known = true;
	return before;
}

/* "4", or "3 (4 at 10%)" for a weighted alias */
static void version_text(char *out, size_t n, const struct core_alias *a)
{
	if (a->extra > 0 && a->weight > 0)
		snprintf(out, n, "%ld (%ld at %g%%)", a->version, a->extra, a->weight * 100.0);
	else
		snprintf(out, n, "%ld", a->version);
}

static void job_failed(const struct core_fn *st, const struct job *j, const char *message)
{
	struct notify_fn_outcome *outs;
	size_t n = 0;
	char desc[NOTIFY_DESC_SIZE];

	if (st->failures == 0) /* the first failure of a streak, not every retry */
		event(NOTIFY_EVENT_FAILED, j->gen->revision, st->name, NULL, NULL, NULL, message);
	/*
	 * The commit's status says how applying it went: once it is success, a
	 * later resync failure is an event, not a new status (nothing would set
	 * it back to success when the function recovers).
	 */
	if (strcmp(j->gen->revision, fb.rev) || fb.state == NOTIFY_FAILURE || fb.state == NOTIFY_SUCCESS)
		return;
	outs = calloc(d.core.n_fns + 1, sizeof(*outs));
	if (!outs)
		return;
	for (size_t i = 0; i < d.core.n_fns; i++) {
		const struct core_fn *f = d.core.fns[i];

		if (f->removed)
			continue;
		outs[n].function = f->name;
		if (f == st) {
			outs[n].state = NOTIFY_FN_FAILED;
			outs[n].reason = message;
		} else if (f->state == DAEMON_FAILED || f->state == DAEMON_STALLED) {
			outs[n].state = NOTIFY_FN_FAILED;
			outs[n].reason = f->last_error;
		} else {
			outs[n].state = f->state == DAEMON_SYNCED ? NOTIFY_FN_SYNCED : NOTIFY_FN_PROGRESSING;
		}
		n++;
	}
	{
		struct notify_commit_outcome o = {true, NULL, NULL, NULL, 0, outs, n};

		send_status(j->gen->revision, notify_status_compose(desc, &o), desc);
	}
	free(outs);
}

/* ---------------------------------------------------------------- rollouts */

/* Alias `name` of st before this job: NULL when not known, `none` when it had no such alias. */
static const struct core_alias *alias_before(const struct core_fn *st, const char *name)
{
	static const struct core_alias none;

	if (!st->actual_known)
		return NULL;
	for (size_t k = 0; k < st->n_actual; k++)
		if (!strcmp(st->actual[k].name, name))
			return &st->actual[k];
	return &none;
}

static enum core_rollout_change rollout_change(const struct core_fn *st, const struct job *j, size_t i)
{
	return core_rollout_change(alias_before(st, j->actual[i].name), &j->actual[i], j->started_s);
}

/* rollout.started, rollout.succeeded, rollout.rolledBack: each once, as it happens. */
static void rollout_events(const struct core_fn *st, const struct job *j)
{
	for (size_t i = 0; j->actual_ok && i < j->n_actual; i++) {
		const struct core_alias *a = &j->actual[i];
		const struct rollout_progress *p = core_alias_rollout(a);
		enum core_rollout_change ch = rollout_change(st, j, i);
		char from[16], to[16], msg[ROLLOUT_REASON_MAX + 64];

		if (ch == CORE_ROLLOUT_SAME || ch == CORE_ROLLOUT_STEPPED)
			continue;
		snprintf(from, sizeof(from), "%u", p->from);
		snprintf(to, sizeof(to), "%u", p->to);
		switch (ch) {
		case CORE_ROLLOUT_STARTED:
			if (p->step == 0)
				snprintf(msg, sizeof(msg), "no traffic moved yet (step 0/%u)",
				         a->rollout_steps);
			else
				snprintf(msg, sizeof(msg), "%u%% (step %u/%u)", a->rollout_percent, p->step,
				         a->rollout_steps);
			event(NOTIFY_EVENT_ROLLOUT_STARTED, j->gen->revision, st->name, a->name, from, to,
			      msg);
			break;
		case CORE_ROLLOUT_SUCCEEDED:
		case CORE_ROLLOUT_PROMOTED:
			event(NOTIFY_EVENT_ROLLOUT_SUCCEEDED, j->gen->revision, st->name, a->name,
			      p->from ? from : NULL, to,
			      ch == CORE_ROLLOUT_PROMOTED ? "promoted" : "succeeded");
			break;
		case CORE_ROLLOUT_ROLLED_BACK:
		case CORE_ROLLOUT_ABORTED:
			/* from -> to is the rollout's; the alias serves `from` again */
			event(NOTIFY_EVENT_ROLLED_BACK, j->gen->revision, st->name, a->name, from, to,
			      p->reason[0] ? p->reason : "rolled back");
			break;
		case CORE_ROLLOUT_SAME:
		case CORE_ROLLOUT_STEPPED:
			break;
		}
	}
}

/*
 * The commit's status while rollouts run (pending, naming each one's step)
 * or after one rolled back (failure, naming the alarm); success comes with
 * feedback_commit_applied() once every rollout finished.
 */
static void rollout_status(const struct core_fn *st, const struct job *j)
{
	struct notify_fn_outcome *outs;
	size_t n = 0, cap = 0, rolling = 0;
	char desc[NOTIFY_DESC_SIZE];

	if (strcmp(j->gen->revision, fb.rev) || fb.manifest_failed || fb.state == NOTIFY_FAILURE ||
	    fb.state == NOTIFY_SUCCESS)
		return;
	for (size_t i = 0; i < d.core.n_fns; i++)
		cap += 1 + (d.core.fns[i] == st ? j->n_actual : d.core.fns[i]->n_actual);
	outs = calloc(cap + 1, sizeof(*outs));
	if (!outs)
		return;
	for (size_t i = 0; i < d.core.n_fns; i++) {
		const struct core_fn *f = d.core.fns[i];
		const struct core_alias *al = f == st ? j->actual : f->actual;
		size_t nal = f == st ? (j->actual_ok ? j->n_actual : 0) : (f->actual_known ? f->n_actual : 0);
		struct core_rollouts r;

		if (f->removed)
			continue;
		core_rollouts_of(al, nal, &r);
		if (r.failed) {
			outs[n++] = (struct notify_fn_outcome){f->name,
			                                       NOTIFY_FN_ROLLED_BACK,
			                                       core_alias_rollout(r.failed)->reason,
			                                       r.failed->name,
			                                       0,
			                                       core_alias_rollout(r.failed)->step,
			                                       r.failed->rollout_steps};
			rolling++;
			continue;
		}
		if (f != st && (f->state == DAEMON_FAILED || f->state == DAEMON_STALLED)) {
			outs[n++] = (struct notify_fn_outcome){
			    f->name, NOTIFY_FN_FAILED, f->last_error, NULL, 0, 0, 0};
			continue;
		}
		for (size_t k = 0; k < nal; k++)
			if (core_alias_rollout(&al[k])->state == ROLLOUT_PROGRESSING) {
				outs[n++] = (struct notify_fn_outcome){f->name,
				                                       NOTIFY_FN_PROGRESSING,
				                                       NULL,
				                                       al[k].name,
				                                       al[k].rollout_percent,
				                                       core_alias_rollout(&al[k])->step,
				                                       al[k].rollout_steps};
				rolling++;
			}
		if (r.progressing == 0)
			outs[n++] =
			    (struct notify_fn_outcome){f->name, NOTIFY_FN_SYNCED, NULL, NULL, 0, 0, 0};
	}
	if (rolling) {
		struct notify_commit_outcome o = {true, NULL, NULL, NULL, 0, outs, n};

		send_status(j->gen->revision, notify_status_compose(desc, &o), desc);
	}
	free(outs);
}

void feedback_job_finished(struct core_fn *st, const struct job *j, bool canceled, const char *message)
{
	bool drift;
	size_t moved = 0;

	if (!st->removed)
		rollout_events(st, j); /* what happened happened, also in a superseded job */
	if (canceled || st->removed || memcmp(j->hash, st->hash, CORE_HASH_LEN))
		return; /* superseded by a newer commit: that one reports */
	if (j->status == 0)
		rollout_status(st, j);
	if (j->status != 0) {
		job_failed(st, j, message);
		return;
	}
	/*
	 * This desired state had converged before (seen by this process, or the
	 * same commit applied per the state file): what had to be written was
	 * changed by someone else.
	 */
	drift = converged_before(st, j->hash) ||
	        (st->applied_rev[0] && !strcmp(st->applied_rev, j->gen->revision));
	if (!j->res.changed)
		return;
	for (size_t i = 0; j->actual_ok && i < j->n_actual; i++) {
		const struct core_alias *now = &j->actual[i], *before = NULL;
		char from[96], to[96];

		/* a rollout's moves are its own events (rollout_events) */
		if (core_alias_rollout(now)->state == ROLLOUT_PROGRESSING ||
		    rollout_change(st, j, i) != CORE_ROLLOUT_SAME)
			continue;
		for (size_t k = 0; st->actual_known && k < st->n_actual; k++)
			if (!strcmp(st->actual[k].name, now->name))
				before = &st->actual[k];
		if (before && before->version == now->version && before->extra == now->extra &&
		    before->weight == now->weight)
			continue;
		if (before)
			version_text(from, sizeof(from), before);
		version_text(to, sizeof(to), now);
		event(drift ? NOTIFY_EVENT_DRIFT : NOTIFY_EVENT_APPLIED, j->gen->revision, st->name,
		      now->name, before ? from : NULL, to,
		      drift ? "changed outside aliasd, repaired" : "alias moved");
		moved++;
	}
	if (!moved) {
		/*
		 * What was written, as the planner said it ("~ alias Prod: v1 (2) -> v1 (1)"); a
		 * rollout's steps are its own events (rollout_events), not `applied`.
		 */
		struct buf m = BUF_INIT;
		size_t n = 0;

		buf_puts(&m, drift ? "changed outside aliasd, repaired" : "reconciled");
		for (size_t k = 0; k < j->res.n_planned && m.len < 400; k++) {
			if (j->res.planned[k].kind == PLAN_STEP_ROLLOUT ||
			    j->res.planned[k].kind == PLAN_STEP_ROLLOUT_HELD)
				continue;
			buf_printf(&m, "%s%s", n++ ? "; " : ": ", j->res.planned[k].text);
		}
		if (n || !j->res.n_planned)
			event(drift ? NOTIFY_EVENT_DRIFT : NOTIFY_EVENT_APPLIED, j->gen->revision, st->name,
			      NULL, NULL, NULL, m.len ? m.ptr : "");
		buf_release(&m);
	}
}

/* --------------------------------------------------------------- lifecycle */

/* The status sent last before a restart (<stateDir>/github-status), if any. */
static void sent_status_restore(const struct config *c)
{
	struct sent_status ss;
	struct error err = ERROR_INIT;
	struct buf path = BUF_INIT;
	int r;

	if (!c->state_dir || buf_printf(&path, "%s/%s", c->state_dir, SENT_STATUS_FILE_NAME) < 0) {
		buf_release(&path);
		return;
	}
	fb.sent_path = buf_detach(&path, NULL);
	r = sent_status_read(&ss, fb.sent_path, &err);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		log_event(LOG_WARNING, "ignoring the recorded commit status", "error", err.msg, NULL);
		return;
	}
	snprintf(fb.rev, sizeof(fb.rev), "%s", ss.rev);
	fb.state = (int)ss.state;
	snprintf(fb.desc, sizeof(fb.desc), "%s", ss.desc);
	fb.restored_final = ss.state != NOTIFY_PENDING;
}

int feedback_start(const struct config *c)
{
	static const char *const labels[] = {"sink", "result", NULL};
	int r;

	fb.m = metrics_family_add(d.metrics, "aliasd_notifications_total",
	                          "Commit statuses (sink github) and webhook events (sink webhook) by result "
	                          "(ok, failed, dropped: queue full, retried).",
	                          METRIC_COUNTER, labels, NULL, 0);
	pthread_mutex_lock(&fb.lock);
	fb.fingerprint = fingerprint_of(c);
	sinks_build(c);
	fb.stopping = false;
	pthread_mutex_unlock(&fb.lock);
	sent_status_restore(c);
	r = pthread_create(&fb.thread, NULL, sender_main, NULL);
	if (r != 0)
		return -r;
	fb.running = true;
	return 0;
}

void feedback_configure(const struct config *c)
{
	char *fp = fingerprint_of(c);

	pthread_mutex_lock(&fb.lock);
	if (fp && fb.fingerprint && !strcmp(fp, fb.fingerprint)) {
		secret_free_str(fp);
	} else {
		sinks_clear();
		secret_free_str(fb.fingerprint);
		fb.fingerprint = fp;
		sinks_build(c);
		fb.state = -1; /* a new sink hears the current commit's next state */
	}
	pthread_mutex_unlock(&fb.lock);
}

void feedback_stop(void)
{
	if (fb.running) {
		pthread_mutex_lock(&fb.lock);
		fb.stopping = true;
		fb.drain_until = clock_monotonic_ms() + DRAIN_MS;
		pthread_cond_signal(&fb.cond);
		pthread_mutex_unlock(&fb.lock);
		pthread_join(fb.thread, NULL);
		fb.running = false;
	}
	pthread_mutex_lock(&fb.lock);
	sinks_clear();
	secret_free_str(fb.fingerprint);
	fb.fingerprint = NULL;
	fb.m = NULL;
	free(fb.sent_path);
	fb.sent_path = NULL;
	pthread_mutex_unlock(&fb.lock);
}
