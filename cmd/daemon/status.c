/*
 * status.c - what the daemon shows: /status JSON, /metrics, /healthz, the
 * systemd STATUS= line; and the webhook's poke.  See shell.h for threads.
 *
 * Every string that comes from a repository (file names, function and
 * alias names, errors quoting them) may hold any byte: it goes into JSON
 * through json_add_str(), which writes a byte that is not valid UTF-8 as
 * the text \xNN, so /status is strict UTF-8 JSON.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/daemon/ratemetrics.h"
#include "cmd/daemon/shell.h"
#include "cmd/daemon/storage.h"
#include "cmd/daemon/trust.h"
#include "cmd/notify.h"
#include "cmd/rollout_json.h"
#include "util/log.h"

#ifndef ALIASD_VERSION
#define ALIASD_VERSION "unknown"
#endif

#define REASON_MAX     160   /* characters of a failure reason in a metric label */
#define STATUS_SCRATCH 16384 /* one function printed in /status without an allocation (most fit) */

/* ------------------------------------------------------------------ metrics */

static const double duration_buckets[] = {0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300};

static const char *const kinds_counted[] = {"unspecified", "not-found", "conflict", "transient",
                                            "credentials", "terminal",  "canceled"};

int status_metrics_setup(void)
{
	static const char *const l_result[] = {"result", NULL};
	static const char *const l_state[] = {"state", NULL};
	static const char *const l_revision[] = {"revision", NULL};
	static const char *const l_aws[] = {"operation", "code", NULL};
	static const char *const l_git[] = {"kind", "result", NULL};
	static const char *const l_kind[] = {"kind", NULL};
	static const char *const l_fn_error[] = {"function", "state", "kind", "reason", NULL};
	static const char *const l_alias[] = {"function", "alias", NULL};
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
	d.m_failures = metrics_family_add(d.metrics, "aliasd_reconcile_failures_total",
	                                  "Failed function reconcile passes by error kind (transient, "
	                                  "conflict, credentials, terminal, not-found, unspecified).",
	                                  METRIC_COUNTER, l_kind, NULL, 0);
	d.m_fn_error = metrics_family_add(
	    d.metrics, "aliasd_function_error_info",
	    "Functions whose last reconcile failed (Failed, Stalled): the error kind and reason (value 1); "
	    "the function label is REGION:NAME when the manifest names a region.",
	    METRIC_GAUGE, l_fn_error, NULL, 0);
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
	d.m_rewinds =
	    metrics_family_add(d.metrics, "aliasd_git_rewinds_total",
	                       "Heads that did not descend from the last applied commit (force "
	                       "pushes), by result (applied, refused: repository.allowRewind false).",
	                       METRIC_COUNTER, l_result, NULL, 0);
	d.m_rollout_weight = metrics_family_add(
	    d.metrics, "aliasd_rollout_weight",
	    "The new version's share of an alias's traffic (0..1) while its rollout progresses; the "
	    "function label is REGION:NAME when the manifest names a region.",
	    METRIC_GAUGE, l_alias, NULL, 0);
	d.m_rollouts = metrics_family_add(d.metrics, "aliasd_rollouts_total",
	                                  "Rollouts ended, by result (succeeded, rolled_back: an alarm, "
	                                  "preTraffic or a revert; aborted, promoted: aliasd rollout).",
	                                  METRIC_COUNTER, l_result, NULL, 0);
	if (!d.m_up || !d.m_reconcile || !d.m_duration || !d.m_functions || !d.m_revision || !d.m_errors ||
	    !d.m_aws || !d.m_git || !d.m_failures || !d.m_fn_error || !d.m_rewinds || !d.m_rollout_weight ||
	    !d.m_rollouts)
		return -ENOMEM;
	if (trust_metrics_setup() < 0 || ratemetrics_setup(d.metrics) < 0)
		return -ENOMEM;
	metrics_counter_add(d.m_rewinds, (const char *[]){"applied"}, 0);
	metrics_counter_add(d.m_rewinds, (const char *[]){"refused"}, 0);
	for (int ch = CORE_ROLLOUT_SUCCEEDED; ch <= CORE_ROLLOUT_ABORTED; ch++)
		metrics_counter_add(d.m_rollouts, (const char *[]){core_rollout_change_name(ch)}, 0);
	metrics_gauge_set(d.m_up, NULL, 0);
	metrics_gauge_set(d.m_errors, NULL, 0);
	for (int s = 0; s < DAEMON_STATE_N; s++)
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
	for (size_t i = 0; i < sizeof(kinds_counted) / sizeof(kinds_counted[0]); i++)
		if (strcmp(kinds_counted[i], "canceled"))
			metrics_counter_add(d.m_failures, (const char *[]){kinds_counted[i]}, 0);
	return 0;
}

void status_rollout_counted(enum core_rollout_change change)
{
	const char *name = core_rollout_change_name(change);

	if (name && change != CORE_ROLLOUT_STARTED && change != CORE_ROLLOUT_STEPPED)
		metrics_counter_add(d.m_rollouts, (const char *[]){name}, 1);
}

void status_applied_revision(const char *rev)
{
	metrics_family_clear(d.m_revision);
	metrics_gauge_set(d.m_revision, (const char *[]){rev[0] ? rev : "folder"}, 1);
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
	for (size_t i = 0; i < d.core.n_fns && n < max; i++) {
		const char *r = d.core.fns[i]->region;
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

/* One gauge per failing function, with its reason (escaped, shortened); lock held. */
static void fn_errors_update(void)
{
	metrics_family_clear(d.m_fn_error);
	for (size_t i = 0; i < d.core.n_fns; i++) {
		const struct core_fn *st = d.core.fns[i];
		struct buf name = BUF_INIT, reason = BUF_INIT;

		if (st->removed || (st->state != DAEMON_FAILED && st->state != DAEMON_STALLED))
			continue;
		if (st->region) /* 4 labels at most: the region goes with the name */
			buf_printf(&name, "%s:", st->region);
		log_escape(&name, st->name, true);
		log_escape(&reason,
		           st->last_error       ? st->last_error
		           : st->manifest_error ? st->manifest_error
		                                : "",
		           true);
		if (reason.len > REASON_MAX)
			buf_truncate(&reason, REASON_MAX);
		metrics_gauge_set(
		    d.m_fn_error,
		    (const char *[]){name.ptr ? name.ptr : "", daemon_sync_state_name(st->state),
		                     st->last_error ? error_kind_name(st->error_kind) : "manifest",
		                     reason.ptr ? reason.ptr : ""},
		    1);
		buf_release(&name);
		buf_release(&reason);
	}
}

/* One gauge per alias whose rollout progresses; lock held. */
static void rollout_weights_update(void)
{
	metrics_family_clear(d.m_rollout_weight);
	for (size_t i = 0; i < d.core.n_fns; i++) {
		const struct core_fn *st = d.core.fns[i];
		struct buf name = BUF_INIT, alias = BUF_INIT;

		for (size_t k = 0; !st->removed && st->actual_known && k < st->n_actual; k++) {
			const struct core_alias *a = &st->actual[k];

			if (core_alias_rollout(a)->state != ROLLOUT_PROGRESSING)
				continue;
			buf_truncate(&name, 0);
			buf_truncate(&alias, 0);
			if (st->region)
				buf_printf(&name, "%s:", st->region);
			log_escape(&name, st->name, true);
			log_escape(&alias, a->name, true);
			metrics_gauge_set(
			    d.m_rollout_weight,
			    (const char *[]){name.ptr ? name.ptr : "", alias.ptr ? alias.ptr : ""},
			    (a->rollout_percent > 100 ? 100 : a->rollout_percent) / 100.0);
		}
		buf_release(&name);
		buf_release(&alias);
	}
}

int status_cb_metrics(void *ctx, struct buf *out)
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
	fn_errors_update();
	rollout_weights_update();
	pthread_mutex_unlock(&d.lock);
	/*
	 * Outside the lock: the clients exist (every listed region has been
	 * reconciled), and counting must never hold up the loop.
	 */
	metrics_family_clear(d.m_aws);
	struct aws_client *seen[RECONCILE_MAX_REGIONS];
	size_t n_seen = 0;
	for (size_t i = 0; i < n && d.rctx; i++) {
		struct aws_client *c = NULL;
		bool dup = false;

		if (reconcile_ctx_client(d.rctx, regions[i], &c, NULL) < 0 || !c)
			continue;
		/* the default region by name and as NULL are one client: count it once */
		for (size_t j = 0; j < n_seen && !dup; j++)
			dup = seen[j] == c;
		if (dup)
			continue;
		seen[n_seen++] = c;
		aws_client_counters_foreach(c, aws_counter_cb, NULL);
	}
	ratemetrics_update(any ? d.rctx : NULL, aws_counter_cb);
	return metrics_render(d.metrics, out);
}

/* ------------------------------------------------------------------- status */

/* "resync": the configured period, and the longer one it is spread over when it cannot fit (lock held). */
static void resync_json(cJSON *root)
{
	const struct core_resync *rs = &d.core.resync;
	cJSON *o = cJSON_AddObjectToObject(root, "resync");

	if (!o)
		return;
	cJSON_AddNumberToObject(o, "periodSeconds", (double)d.core.opt.resync_ms / 1000.0);
	cJSON_AddNumberToObject(o, "spreadSeconds", (double)rs->spread_ms / 1000.0);
	cJSON_AddNumberToObject(o, "functions", (double)rs->functions);
	cJSON_AddNumberToObject(o, "callsPerFunction", CORE_RESYNC_CALLS);
	cJSON_AddNumberToObject(o, "rate", rs->rate);
}

/* s as strict UTF-8 (bytes that are not: the text \xNN); NULL/"" -> null. */
static void json_add_str(cJSON *o, const char *key, const char *s)
{
	struct buf b = BUF_INIT;

	if (!s || !*s) {
		cJSON_AddNullToObject(o, key);
		return;
	}
	if (log_utf8_valid(s)) {
		cJSON_AddStringToObject(o, key, s);
		return;
	}
	if (log_escape(&b, s, false) == 0 && b.ptr)
		cJSON_AddStringToObject(o, key, b.ptr);
	else
		cJSON_AddStringToObject(o, key, "?");
	buf_release(&b);
}

static void json_add_item_str(cJSON *arr, const char *s)
{
	struct buf b = BUF_INIT;

	if (log_utf8_valid(s)) {
		cJSON_AddItemToArray(arr, cJSON_CreateString(s)); /* takes the item */
		return;
	}
	log_escape(&b, s, false);
	cJSON_AddItemToArray(arr, cJSON_CreateString(b.ptr ? b.ptr : "?"));
	buf_release(&b);
}

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

static void target_text(char *out, size_t outsz, const struct manifest_target *t)
{
	if (t->release)
		snprintf(out, outsz, "%s", t->release);
	else
		snprintf(out, outsz, "%" PRId64, t->version);
}

/*
 * "aliases": each alias as Lambda has it, with its rollout (absent when
 * none): [{"name", "version", "additionalVersion", "weight", "rollout"}].
 */
static void aliases_json(cJSON *o, const struct core_fn *st)
{
	cJSON *arr;

	if (!st->actual_known) {
		cJSON_AddNullToObject(o, "aliases");
		return;
	}
	arr = cJSON_AddArrayToObject(o, "aliases");
	for (size_t i = 0; arr && i < st->n_actual; i++) {
		const struct core_alias *al = &st->actual[i];
		cJSON *a = cJSON_CreateObject(), *ro;

		if (!a)
			return;
		json_add_str(a, "name", al->name);
		cJSON_AddNumberToObject(a, "version", (double)al->version);
		if (al->extra) {
			cJSON_AddNumberToObject(a, "additionalVersion", (double)al->extra);
			cJSON_AddNumberToObject(a, "weight", al->weight);
		} else {
			cJSON_AddNullToObject(a, "additionalVersion");
			cJSON_AddNumberToObject(a, "weight", 0);
		}
		ro = rollout_json(&(struct reconcile_alias_state){.name = al->name,
		                                                  .rollout = *core_alias_rollout(al),
		                                                  .rollout_percent = al->rollout_percent,
		                                                  .rollout_steps = al->rollout_steps});
		if (ro &&
		    !log_utf8_valid(core_alias_rollout(al)
		                        ->reason)) { /* a record written by hand: strict JSON all the same */
			cJSON_DeleteItemFromObjectCaseSensitive(ro, "reason");
			json_add_str(ro, "reason", core_alias_rollout(al)->reason);
		}
		if (ro)
			cJSON_AddItemToObject(a, "rollout", ro); /* takes ro */
		cJSON_AddItemToArray(arr, a);                    /* takes a */
	}
}

static cJSON *function_json(const struct core_fn *st)
{
	cJSON *o = cJSON_CreateObject(), *desired, *actual; /* the caller adds o to its array */
	char text[320], a[140], b[140];
	bool failed = st->state == DAEMON_FAILED || st->state == DAEMON_STALLED;

	if (!o)
		return NULL;
	json_add_str(o, "name", st->name);
	json_add_str(o, "region", st->region);
	json_add_str(o, "file", st->file);
	cJSON_AddNumberToObject(o, "line", st->line);
	cJSON_AddStringToObject(o, "state", daemon_sync_state_name(st->state));
	/* the desired state shown is the last good one when the newest manifest is broken */
	cJSON_AddBoolToObject(o, "keptLastGood", st->invalid && st->fn);
	cJSON_AddBoolToObject(o, "restored", st->restored);
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
		json_add_str(desired, al->name, text);
	}
	if (st->actual_known) {
		actual = cJSON_AddObjectToObject(o, "actual");
		for (size_t i = 0; actual && i < st->n_actual; i++) {
			const struct core_alias *al = &st->actual[i];

			if (al->extra)
				snprintf(text, sizeof(text), "%ld (+%ld %g%%)", al->version, al->extra,
				         al->weight * 100);
			else
				snprintf(text, sizeof(text), "%ld", al->version);
			json_add_str(actual, al->name, text);
		}
	} else {
		cJSON_AddNullToObject(o, "actual");
	}
	aliases_json(o, st);
	json_add_str(o, "lastAppliedRevision", st->applied_rev);
	json_add_str(o, "lastAttemptedRevision", st->attempted_rev);
	json_add_str(o, "desiredRevision", st->gen ? st->gen->revision : NULL);
	json_add_str(o, "lastError", st->invalid ? st->manifest_error : st->last_error);
	json_add_str(o, "manifestError", st->invalid ? st->manifest_error : NULL);
	json_add_str(o, "reconcileError", st->last_error);
	json_add_str(o, "errorKind", st->last_error && failed ? error_kind_name(st->error_kind) : NULL);
	json_add_str(o, "reason", failed ? st->last_error ? st->last_error : st->manifest_error : NULL);
	cJSON_AddNumberToObject(o, "failures", st->failures);
	json_time(o, "lastSuccess", st->last_success);
	return o;
}

/*
 * Append `item` printed without spaces: through `scratch` when it fits (no
 * allocation), else through one cJSON_PrintUnformatted.  0 or -ENOMEM.
 */
static int put_json(struct buf *out, const cJSON *item, char *scratch, size_t scratch_len)
{
	char *text;
	int r;

	if (cJSON_PrintPreallocated((cJSON *)item, scratch, (int)scratch_len, false))
		return buf_puts(out, scratch);
	text = cJSON_PrintUnformatted(item);
	if (!text)
		return -ENOMEM;
	r = buf_puts(out, text);
	cJSON_free(text);
	return r;
}

/*
 * /status.  The functions are written one at a time (each one's tree
 * built, printed and freed before the next): a whole document's tree at
 * 10,000 functions was some 400,000 small blocks, ~45 MB for each request,
 * which made the heap peak near 95 MiB during a cold sync and left it in
 * holes that the long-lived allocations made meanwhile kept resident.
 */
int status_cb_status(void *ctx, struct buf *out)
{
	cJSON *root = cJSON_CreateObject(), *errs, *git, *sum; /* freed below with cJSON_Delete */
	size_t counts[DAEMON_STATE_N], len;
	char *scratch = malloc(STATUS_SCRATCH), *text = NULL;
	int r = -ENOMEM;

	(void)ctx;
	if (!root || !scratch) {
		cJSON_Delete(root);
		free(scratch);
		return -ENOMEM;
	}
	pthread_mutex_lock(&d.lock);
	core_counts(&d.core, counts);
	cJSON_AddStringToObject(root, "version", ALIASD_VERSION);
	json_add_str(root, "repository", d.repo_desc);
	json_add_str(root, "ref", d.cfg->repo_ref);
	if (d.cfg->repo_path[0])
		json_add_str(root, "path", d.cfg->repo_path);
	else
		cJSON_AddStringToObject(root, "path", "");
	cJSON_AddBoolToObject(root, "ready", d.core.loaded);
	json_add_str(root, "remoteRevision", d.remote_rev);
	json_add_str(root, "lastAttemptedRevision", d.core.loaded_rev);
	json_add_str(root, "lastAppliedRevision", d.core.applied_rev);
	json_time(root, "lastPoll", d.last_poll);
	json_time(root, "lastLoad", d.last_load);
	git = cJSON_AddObjectToObject(root, "git");
	if (git) {
		cJSON_AddStringToObject(git, "state", d.load_error ? "error" : "ok");
		json_add_str(git, "error", d.load_error);
		cJSON_AddNumberToObject(git, "consecutiveFailures", d.core.git_failures);
	}
	trust_status_json(root);
	errs = cJSON_AddArrayToObject(root, "errors");
	for (size_t i = 0; errs && i < d.core.n_manifest_errors; i++)
		json_add_item_str(errs, d.core.manifest_errors[i]);
	cJSON_AddNumberToObject(root, "errorCount", (double)d.core.total_manifest_errors);
	storage_status_json(root);
	resync_json(root);
	/* the document so far without its closing brace, then "functions" and "summary" */
	text = cJSON_PrintUnformatted(root);
	len = text ? strlen(text) : 0;
	r = len >= 2 && text[len - 1] == '}' ? buf_put(out, text, len - 1) : -ENOMEM;
	cJSON_free(text);
	if (r >= 0)
		r = buf_puts(out, len > 2 ? ",\"functions\":[" : "\"functions\":[");
	for (size_t i = 0, n = 0; r >= 0 && i < d.core.n_fns; i++) {
		cJSON *o;

		if (d.core.fns[i]->removed)
			continue;
		o = function_json(d.core.fns[i]);
		r = o ? 0 : -ENOMEM;
		if (r >= 0 && n++)
			r = buf_putc(out, ',');
		if (r >= 0)
			r = put_json(out, o, scratch, STATUS_SCRATCH);
		cJSON_Delete(o);
	}
	sum = cJSON_CreateObject();
	for (int s = 0; sum && s < DAEMON_STATE_N; s++)
		cJSON_AddNumberToObject(sum, daemon_sync_state_name(s), (double)counts[s]);
	pthread_mutex_unlock(&d.lock);
	if (r >= 0)
		r = sum ? buf_puts(out, "],\"summary\":") : -ENOMEM;
	if (r >= 0)
		r = put_json(out, sum, scratch, STATUS_SCRATCH);
	if (r >= 0)
		r = buf_puts(out, "}\n");
	cJSON_Delete(sum);
	cJSON_Delete(root);
	free(scratch);
	/* the functions' blocks and the buffer's smaller steps stay resident in the HTTP thread's arena else
	 * (~0.9 MiB at 10,000 functions) */
	malloc_trim(0);
	return r < 0 ? r : 0;
}

int status_cb_health(void *ctx, struct buf *out)
{
	bool loaded;

	(void)ctx;
	pthread_mutex_lock(&d.lock);
	loaded = d.core.loaded;
	if (!loaded) /* say why, so that a failing probe can be acted on */
		buf_printf(out, "starting: no manifests loaded yet%s%s", d.load_error ? ": " : "",
		           d.load_error ? d.load_error : "");
	pthread_mutex_unlock(&d.lock);
	return loaded ? 0 : -EAGAIN;
}

void status_cb_push(void *ctx, const char *ref, const char *after)
{
	(void)ctx;
	(void)ref;
	(void)after;
	/*
	 * Any verified push: asking the remote where our ref points costs one
	 * round trip and tells whether it moved.  Pokes merge (core_poke).
	 */
	atomic_store(&d.poke, true);
	daemon_wake();
}

/* One line for systemd and the log; lock held. */
void status_line_update(void)
{
	size_t counts[DAEMON_STATE_N], total = core_counts(&d.core, counts);
	char line[256];

	if (!d.core.loaded)
		snprintf(line, sizeof(line), "starting: %s",
		         d.load_error ? d.load_error : "loading manifests");
	else
		snprintf(line, sizeof(line),
		         "%zu/%zu functions synced, %zu progressing, %zu failed, %zu stalled, rev %.7s%s%s",
		         counts[DAEMON_SYNCED], total,
		         counts[DAEMON_PROGRESSING] + counts[DAEMON_OUT_OF_SYNC], counts[DAEMON_FAILED],
		         counts[DAEMON_STALLED], d.core.loaded_rev[0] ? d.core.loaded_rev : "(folder)",
		         d.load_error ? "; git: " : "", d.load_error ? d.load_error : "");
	if (strcmp(line, d.status_line)) {
		memcpy(d.status_line, line, sizeof(line));
		notify_status("%s", line);
	}
	for (int s = 0; s < DAEMON_STATE_N; s++)
		metrics_gauge_set(d.m_functions, (const char *[]){daemon_sync_state_name(s)},
		                  (double)counts[s]);
}
