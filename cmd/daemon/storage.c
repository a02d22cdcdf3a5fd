/*
 * storage.c - code storage telemetry: GetAccountSettings per region in use
 * (see storage.h).
 */
#include "cmd/daemon/storage.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/lambda.h"
#include "cmd/daemon/feedback.h"
#include "cmd/daemon/shell.h"
#include "util/log.h"
#include "util/parse.h"

#define REGION_MAX 64

/* One region's last reading. */
struct reading {
	char region[REGION_MAX];
	bool ok;                   /* used/limit hold a good reading */
	int64_t used, limit;       /* bytes */
	int threshold;             /* storage_threshold() of the last good reading */
	time_t checked;            /* wall clock of the last attempt */
	char error[ERROR_MSG_MAX]; /* "" when the last attempt succeeded */
};

static struct {
	pthread_mutex_t mu; /* the fields below */
	pthread_cond_t cond;
	pthread_t thread;
	bool up, stop, kick;
	struct reading r[STORAGE_MAX_REGIONS];
	size_t n;
	struct metric_family *m_used, *m_limit;
	char tick_rev[CORE_REV_LEN]; /* loop thread only: the loaded commit last seen by storage_tick */
	/* crossings not yet sent as storage.warning events (storage_tick sends them) */
	struct {
		char region[REGION_MAX];
		char message[256];
	} pending[STORAGE_MAX_REGIONS];
	size_t n_pending;
} s = {.mu = PTHREAD_MUTEX_INITIALIZER, .cond = PTHREAD_COND_INITIALIZER};

int storage_threshold(int64_t used, int64_t limit)
{
	if (limit <= 0 || used <= 0)
		return 0;
	/* used * 100 >= limit * 90, without overflow for sizes up to 2^53 */
	if ((double)used * 100.0 >= (double)limit * 90.0)
		return 90;
	if ((double)used * 100.0 >= (double)limit * 80.0)
		return 80;
	return 0;
}

static struct reading *reading_find(const char *region, bool add)
{
	for (size_t i = 0; i < s.n; i++)
		if (!strcmp(s.r[i].region, region))
			return &s.r[i];
	if (!add || s.n >= STORAGE_MAX_REGIONS)
		return NULL;
	memset(&s.r[s.n], 0, sizeof(s.r[s.n]));
	snprintf(s.r[s.n].region, sizeof(s.r[s.n].region), "%s", region);
	return &s.r[s.n++];
}

/*
 * The distinct regions of the live functions (NULL = the default region,
 * first when present), copied under d.lock.  Returns how many.
 */
static size_t regions_in_use(char *ret[STORAGE_MAX_REGIONS], bool *ret_default)
{
	size_t n = 0;

	*ret_default = false;
	pthread_mutex_lock(&d.lock);
	for (size_t i = 0; i < d.core.n_fns; i++) {
		const struct core_fn *st = d.core.fns[i];
		bool seen = false;

		if (st->removed)
			continue;
		if (!st->region || !*st->region) {
			*ret_default = true;
			continue;
		}
		for (size_t k = 0; k < n && !seen; k++)
			seen = !strcmp(ret[k], st->region);
		if (!seen && n < STORAGE_MAX_REGIONS && (ret[n] = strdup(st->region)) != NULL)
			n++;
	}
	pthread_mutex_unlock(&d.lock);
	return n;
}

static void log_reading(const struct reading *r, int was)
{
	char used[SIZE_FORMAT_MAX], limit[SIZE_FORMAT_MAX], pct[16];

	size_format((uint64_t)r->used, used, sizeof(used));
	size_format((uint64_t)r->limit, limit, sizeof(limit));
	snprintf(pct, sizeof(pct), "%.1f", r->limit > 0 ? (double)r->used * 100.0 / (double)r->limit : 0.0);
	if (r->threshold > was) {
		pthread_mutex_lock(&s.mu);
		if (s.n_pending < STORAGE_MAX_REGIONS) {
			snprintf(s.pending[s.n_pending].region, REGION_MAX, "%s", r->region);
			snprintf(
			    s.pending[s.n_pending].message, sizeof(s.pending[0].message),
			    "code storage of region %s at %d%% of its limit (%s of %s, %s%%): prune "
			    "versions (prune.keepVersions, prune.keepHistory) or ask AWS for a higher limit",
			    r->region, r->threshold, used, limit, pct);
			s.n_pending++;
		}
		pthread_mutex_unlock(&s.mu);
		log_event(LOG_WARNING,
		          r->threshold >= 90 ? "code storage at 90% of the limit"
		                             : "code storage at 80% of the limit",
		          "region", r->region, "used", used, "limit", limit, "percent", pct, "advice",
		          "when it is full every publish in the region fails: prune versions "
		          "(prune.keepVersions) or ask AWS for a higher limit",
		          NULL);
	} else if (r->threshold < was)
		log_event(LOG_NOTICE, "code storage back under the warning threshold", "region", r->region,
		          "used", used, "limit", limit, "percent", pct, NULL);
	else
		log_event(LOG_DEBUG, "code storage read", "region", r->region, "used", used, "limit", limit,
		          "percent", pct, NULL);
}

/* GetAccountSettings for one region (NULL = the default); outside s.mu. */
static void read_region(const char *region)
{
	struct aws_client *c = NULL;
	struct aws_error aerr = AWS_ERROR_INIT;
	struct error err = ERROR_INIT;
	struct lambda_account_settings a = {0};
	struct reading *r;
	const char *name;
	int was, rc;

	rc = reconcile_ctx_client(d.rctx, region, &c, &err);
	if (rc < 0) {
		log_event(LOG_WARNING, "code storage not read", "region", region ? region : "(default)",
		          "error", err.msg, NULL);
		return;
	}
	name = aws_client_region(c);
	rc = lambda_account_settings_get(c, &a, &aerr);
	pthread_mutex_lock(&s.mu);
	r = reading_find(name, true);
	if (!r) {
		pthread_mutex_unlock(&s.mu);
		return;
	}
	r->checked = time(NULL);
	if (rc < 0) {
		snprintf(r->error, sizeof(r->error), "%s", aerr.err.msg);
		pthread_mutex_unlock(&s.mu);
		if (error_kind_of(&aerr.err) != ERROR_KIND_CANCELED)
			log_event(LOG_WARNING, "code storage not read", "region", name, "error", aerr.err.msg,
			          NULL);
		return;
	}
	was = r->ok ? r->threshold : 0;
	r->ok = true;
	r->error[0] = '\0';
	r->used = a.code_storage_used;
	r->limit = a.code_storage_limit;
	r->threshold = storage_threshold(r->used, r->limit);
	metrics_gauge_set(s.m_used, (const char *[]){name}, (double)r->used);
	metrics_gauge_set(s.m_limit, (const char *[]){name}, (double)r->limit);
	{
		struct reading copy = *r;

		pthread_mutex_unlock(&s.mu);
		log_reading(&copy, was);
	}
}

/* Read every region in use. */
static void read_all(void)
{
	char *regions[STORAGE_MAX_REGIONS];
	bool with_default;
	size_t n = regions_in_use(regions, &with_default);

	if (with_default)
		read_region(NULL);
	for (size_t i = 0; i < n; i++) {
		if (!atomic_load(&d.stop))
			read_region(regions[i]);
		free(regions[i]);
	}
}

/* A region in use has no reading yet (new manifests, or the first load). */
static bool region_unread(void)
{
	char *regions[STORAGE_MAX_REGIONS];
	bool with_default, missing = false;
	size_t n = regions_in_use(regions, &with_default);

	pthread_mutex_lock(&s.mu);
	/* the default region's name is known only from a reading: read once, then by name */
	if (with_default && s.n == 0)
		missing = true;
	for (size_t i = 0; i < n; i++) {
		if (!reading_find(regions[i], false))
			missing = true;
		free(regions[i]);
	}
	pthread_mutex_unlock(&s.mu);
	return missing;
}

static void *storage_main(void *arg)
{
	uint64_t last = 0; /* monotonic ms of the last full reading; 0 = none */

	(void)arg;
	pthread_mutex_lock(&s.mu);
	while (!s.stop) {
		uint64_t now = clock_monotonic_ms(), resync;
		struct timespec until;
		bool kicked = s.kick, due;

		s.kick = false;
		pthread_mutex_unlock(&s.mu);
		pthread_mutex_lock(&d.lock);
		resync = d.core.opt.resync_ms;
		pthread_mutex_unlock(&d.lock);
		due = last && resync && now - last >= resync;
		if (due || (kicked && region_unread())) {
			read_all();
			last = clock_monotonic_ms();
			if (!last)
				last = 1;
		}
		pthread_mutex_lock(&s.mu);
		if (s.stop || s.kick)
			continue;
		clock_gettime(CLOCK_REALTIME, &until);
		{
			/* until the next resync is due, or a minute when none is (a reload may set one) */
			uint64_t wait = 60000;

			if (last && resync) {
				now = clock_monotonic_ms();
				wait = now - last >= resync ? 0 : resync - (now - last);
			}
			until.tv_sec += (time_t)(wait / 1000);
			until.tv_nsec += (long)(wait % 1000) * 1000000L;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
		}
		pthread_cond_timedwait(&s.cond, &s.mu, &until);
	}
	pthread_mutex_unlock(&s.mu);
	return NULL;
}

int storage_thread_start(void)
{
	static const char *const l_region[] = {"region", NULL};
	int r;

	s.m_used = metrics_family_add(d.metrics, "aliasd_code_storage_bytes",
	                              "Lambda code storage used in the region (GetAccountSettings "
	                              "AccountUsage.TotalCodeSize), read at start and every resync.",
	                              METRIC_GAUGE, l_region, NULL, 0);
	s.m_limit = metrics_family_add(d.metrics, "aliasd_code_storage_limit_bytes",
	                               "Lambda code storage limit of the region (GetAccountSettings "
	                               "AccountLimit.TotalCodeSize).",
	                               METRIC_GAUGE, l_region, NULL, 0);
	if (!s.m_used || !s.m_limit)
		return -ENOMEM;
	s.stop = false;
	r = pthread_create(&s.thread, NULL, storage_main, NULL);
	if (r != 0)
		return -r;
	s.up = true;
	return 0;
}

void storage_thread_stop(void)
{
	if (!s.up)
		return;
	pthread_mutex_lock(&s.mu);
	s.stop = true;
	pthread_cond_signal(&s.cond);
	pthread_mutex_unlock(&s.mu);
	pthread_join(s.thread, NULL);
	s.up = false;
}

void storage_tick(void)
{
	char rev[CORE_REV_LEN];

	/* events are the loop thread's: send the crossings the thread saw */
	while (s.up) {
		char region[REGION_MAX], message[sizeof(s.pending[0].message)];

		pthread_mutex_lock(&s.mu);
		if (!s.n_pending) {
			pthread_mutex_unlock(&s.mu);
			break;
		}
		memcpy(region, s.pending[0].region, sizeof(region));
		memcpy(message, s.pending[0].message, sizeof(message));
		memmove(&s.pending[0], &s.pending[1], --s.n_pending * sizeof(s.pending[0]));
		pthread_mutex_unlock(&s.mu);
		feedback_storage_warning(region, message);
	}

	pthread_mutex_lock(&d.lock);
	memcpy(rev, d.core.loaded_rev, sizeof(rev));
	pthread_mutex_unlock(&d.lock);
	if (!s.up || !memcmp(rev, s.tick_rev, sizeof(rev)))
		return;
	memcpy(s.tick_rev, rev, sizeof(rev));
	pthread_mutex_lock(&s.mu);
	s.kick = true;
	pthread_cond_signal(&s.cond);
	pthread_mutex_unlock(&s.mu);
}

void storage_status_json(cJSON *root)
{
	cJSON *o = cJSON_AddObjectToObject(root, "codeStorage");

	if (!o)
		return;
	pthread_mutex_lock(&s.mu);
	for (size_t i = 0; i < s.n; i++) {
		const struct reading *r = &s.r[i];
		cJSON *x = cJSON_AddObjectToObject(o, r->region);
		char when[32];
		struct tm tm;

		if (!x)
			break;
		if (r->ok) {
			cJSON_AddNumberToObject(x, "used", (double)r->used);
			cJSON_AddNumberToObject(x, "limit", (double)r->limit);
			cJSON_AddNumberToObject(
			    x, "percent", r->limit > 0 ? (double)r->used * 100.0 / (double)r->limit : 0.0);
		} else {
			cJSON_AddNullToObject(x, "used");
			cJSON_AddNullToObject(x, "limit");
			cJSON_AddNullToObject(x, "percent");
		}
		gmtime_r(&r->checked, &tm);
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		cJSON_AddStringToObject(x, "checked", when);
		if (r->error[0])
			cJSON_AddStringToObject(x, "error", r->error);
		else
			cJSON_AddNullToObject(x, "error");
	}
	pthread_mutex_unlock(&s.mu);
}
