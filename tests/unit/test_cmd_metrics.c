#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd/metrics.h"
#include "tests/unit/harness.h"

static const char *const result_label[] = {"result", NULL};

TEST(metrics_counter_gauge)
{
	struct metrics *m = NULL;
	struct metric_family *c, *g;
	struct buf out = BUF_INIT;

	REQUIRE(metrics_new(&m) == 0);
	c = metrics_family_add(m, "aliasd_reconcile_total", "Reconcile passes by result.", METRIC_COUNTER,
	                       result_label, NULL, 0);
	g = metrics_family_add(m, "aliasd_up", "Always 1.", METRIC_GAUGE, NULL, NULL, 0);
	REQUIRE(c && g);
	CHECK_INT(metrics_counter_add(c, (const char *[]){"success"}, 1), 0);
	CHECK_INT(metrics_counter_add(c, (const char *[]){"success"}, 2), 0);
	CHECK_INT(metrics_counter_add(c, (const char *[]){"failure"}, 1), 0);
	CHECK_INT(metrics_counter_add(c, (const char *[]){"failure"}, -1), -EINVAL);
	CHECK_INT(metrics_counter_add(c, NULL, 1), -EINVAL);
	CHECK_INT(metrics_gauge_set(c, (const char *[]){"x"}, 1), -EINVAL); /* wrong type */
	CHECK_INT(metrics_gauge_set(g, NULL, 1), 0);
	CHECK_INT(metrics_gauge_add(g, NULL, 0.5), 0);
	REQUIRE(metrics_render(m, &out) == 0);
	CHECK_STR(out.ptr, "# HELP aliasd_reconcile_total Reconcile passes by result.\n"
	                   "# TYPE aliasd_reconcile_total counter\n"
	                   "aliasd_reconcile_total{result=\"success\"} 3\n"
	                   "aliasd_reconcile_total{result=\"failure\"} 1\n"
	                   "# HELP aliasd_up Always 1.\n"
	                   "# TYPE aliasd_up gauge\n"
	                   "aliasd_up 1.5\n");
	buf_release(&out);
	metrics_free(m);
}

TEST(metrics_histogram)
{
	static const double b[] = {0.1, 1, 10};
	struct metrics *m = NULL;
	struct metric_family *h;
	struct buf out = BUF_INIT;

	REQUIRE(metrics_new(&m) == 0);
	h = metrics_family_add(m, "aliasd_reconcile_duration_seconds", "Time per function pass.",
	                       METRIC_HISTOGRAM, NULL, b, 3);
	REQUIRE(h);
	CHECK_INT(metrics_histogram_observe(h, NULL, 0.05), 0);
	CHECK_INT(metrics_histogram_observe(h, NULL, 0.1), 0); /* le is inclusive */
	CHECK_INT(metrics_histogram_observe(h, NULL, 5), 0);
	CHECK_INT(metrics_histogram_observe(h, NULL, 100), 0);
	CHECK_INT(metrics_histogram_observe(h, NULL, NAN), -EINVAL);
	REQUIRE(metrics_render(m, &out) == 0);
	CHECK_STR(out.ptr, "# HELP aliasd_reconcile_duration_seconds Time per function pass.\n"
	                   "# TYPE aliasd_reconcile_duration_seconds histogram\n"
	                   "aliasd_reconcile_duration_seconds_bucket{le=\"0.1\"} 2\n"
	                   "aliasd_reconcile_duration_seconds_bucket{le=\"1\"} 2\n"
	                   "aliasd_reconcile_duration_seconds_bucket{le=\"10\"} 3\n"
	                   "aliasd_reconcile_duration_seconds_bucket{le=\"+Inf\"} 4\n"
	                   "aliasd_reconcile_duration_seconds_sum 105.15\n"
	                   "aliasd_reconcile_duration_seconds_count 4\n");
	buf_release(&out);
	metrics_free(m);
}

TEST(metrics_escaping_and_clear)
{
	struct metrics *m = NULL;
	struct metric_family *f;
	struct buf out = BUF_INIT;
	static const char *const labels[] = {"revision", NULL};

	REQUIRE(metrics_new(&m) == 0);
	f = metrics_family_add(m, "aliasd_last_applied_revision_info",
	                       "Commit applied last;\nwith \\ in help.", METRIC_GAUGE, labels, NULL, 0);
	REQUIRE(f);
	CHECK_INT(metrics_gauge_set(f, (const char *[]){"a\"b\\c\nd"}, 1), 0);
	REQUIRE(metrics_render(m, &out) == 0);
	CHECK_STR(out.ptr,
	          "# HELP aliasd_last_applied_revision_info Commit applied last;\\nwith \\\\ in help.\n"
	          "# TYPE aliasd_last_applied_revision_info gauge\n"
	          "aliasd_last_applied_revision_info{revision=\"a\\\"b\\\\c\\nd\"} 1\n");
	buf_reset(&out);
	metrics_family_clear(f);
	CHECK_INT(metrics_gauge_set(f, (const char *[]){"abc123"}, 1), 0);
	REQUIRE(metrics_render(m, &out) == 0);
	CHECK(strstr(out.ptr, "{revision=\"abc123\"} 1\n") != NULL);
	CHECK(strstr(out.ptr, "a\\\"b") == NULL);
	buf_release(&out);
	metrics_free(m);
}

TEST(metrics_bad_definitions)
{
	static const double up[] = {1, 2}, down[] = {2, 1};
	struct metrics *m = NULL;

	REQUIRE(metrics_new(&m) == 0);
	CHECK(!metrics_family_add(m, "1bad", "x", METRIC_GAUGE, NULL, NULL, 0));
	CHECK(!metrics_family_add(m, "bad-name", "x", METRIC_GAUGE, NULL, NULL, 0));
	CHECK(!metrics_family_add(m, "ok", "x", METRIC_GAUGE, (const char *[]){"a:b", NULL}, NULL, 0));
	CHECK(!metrics_family_add(m, "ok", "x", METRIC_HISTOGRAM, (const char *[]){"le", NULL}, up, 2));
	CHECK(!metrics_family_add(m, "ok", "x", METRIC_HISTOGRAM, NULL, down, 2));
	CHECK(!metrics_family_add(m, "ok", "x", METRIC_HISTOGRAM, NULL, NULL, 0));
	CHECK(!metrics_family_add(m, "ok", "x", METRIC_COUNTER, NULL, up, 2));
	CHECK(!metrics_family_add(m, "ok", "x", METRIC_GAUGE, (const char *[]){"a", "b", "c", "d", "e", NULL},
	                          NULL, 0));
	CHECK(metrics_family_add(m, "ok:total", "x", METRIC_COUNTER, (const char *[]){"a", "b", NULL}, NULL,
	                         0));
	metrics_free(m);
	metrics_free(NULL);
}

TEST(metrics_series_cap)
{
	struct metrics *m = NULL;
	struct metric_family *f;
	char v[32];
	int r = 0, i;

	REQUIRE(metrics_new(&m) == 0);
	f = metrics_family_add(m, "x_total", "x", METRIC_COUNTER, result_label, NULL, 0);
	REQUIRE(f);
	for (i = 0; i <= METRICS_SERIES_MAX && r == 0; i++) {
		snprintf(v, sizeof(v), "v%d", i);
		r = metrics_counter_add(f, (const char *[]){v}, 1);
	}
	CHECK_INT(r, -E2BIG);
	CHECK_INT(i, METRICS_SERIES_MAX + 1);
	/* existing series still count */
	CHECK_INT(metrics_counter_add(f, (const char *[]){"v0"}, 1), 0);
	metrics_free(m);
}

struct worker {
	struct metric_family *c, *h;
};

static void *work(void *arg)
{
	struct worker *w = arg;

	for (int i = 0; i < 10000; i++) {
		metrics_counter_add(w->c, (const char *[]){i % 2 ? "success" : "failure"}, 1);
		metrics_histogram_observe(w->h, NULL, (double)(i % 7));
	}
	return NULL;
}

TEST(metrics_threads)
{
	static const double b[] = {1, 5};
	struct metrics *m = NULL;
	struct worker w;
	pthread_t t[4];
	struct buf out = BUF_INIT;

	REQUIRE(metrics_new(&m) == 0);
	w.c = metrics_family_add(m, "t_total", "t", METRIC_COUNTER, result_label, NULL, 0);
	w.h = metrics_family_add(m, "t_seconds", "t", METRIC_HISTOGRAM, NULL, b, 2);
	REQUIRE(w.c && w.h);
	for (int i = 0; i < 4; i++)
		REQUIRE(pthread_create(&t[i], NULL, work, &w) == 0);
	for (int i = 0; i < 4; i++) {
		metrics_render(m, &out);
		buf_reset(&out);
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	REQUIRE(metrics_render(m, &out) == 0);
	CHECK(strstr(out.ptr, "t_total{result=\"success\"} 20000\n") != NULL);
	CHECK(strstr(out.ptr, "t_total{result=\"failure\"} 20000\n") != NULL);
	CHECK(strstr(out.ptr, "t_seconds_count 40000\n") != NULL);
	buf_release(&out);
	metrics_free(m);
}

/* The exposition passes `promtool check metrics` (Debian package prometheus). */
TEST(metrics_promtool)
{
	static const double b[] = {0.005, 0.05, 0.5, 5, 60};
	struct metrics *m = NULL;
	struct metric_family *f;
	struct buf out = BUF_INIT;
	char path[] = "/tmp/test_metrics.XXXXXX", cmd[256], line[512];
	FILE *p;
	int fd, status;

	if (access("/usr/bin/promtool", X_OK) != 0) {
		CHECKF(0, "/usr/bin/promtool missing: apt-get install prometheus");
		return;
	}
	REQUIRE(metrics_new(&m) == 0);
	f = metrics_family_add(m, "aliasd_reconcile_total", "Function reconcile passes by result.",
	                       METRIC_COUNTER, result_label, NULL, 0);
	metrics_counter_add(f, (const char *[]){"success"}, 2);
	f = metrics_family_add(m, "aliasd_reconcile_duration_seconds", "Duration of one function pass.",
	                       METRIC_HISTOGRAM, NULL, b, 5);
	metrics_histogram_observe(f, NULL, 0.3);
	f = metrics_family_add(m, "aliasd_functions", "Functions by sync state.", METRIC_GAUGE,
	                       (const char *[]){"state", NULL}, NULL, 0);
	metrics_gauge_set(f, (const char *[]){"Synced"}, 3);
	f = metrics_family_add(m, "aliasd_aws_requests_total", "Lambda API requests.", METRIC_COUNTER,
	                       (const char *[]){"operation", "code", NULL}, NULL, 0);
	metrics_counter_add(f, (const char *[]){"GetFunction", "200"}, 5);
	metrics_counter_add(f, (const char *[]){"Update\"Alias\\", "4\n12"}, 1);
	REQUIRE(metrics_render(m, &out) == 0);
	fd = mkstemp(path);
	REQUIRE(fd >= 0);
	REQUIRE(write(fd, out.ptr, out.len) == (ssize_t)out.len);
	close(fd);
	snprintf(cmd, sizeof(cmd), "/usr/bin/promtool check metrics < %s 2>&1", path);
	p = popen(cmd, "r");
	REQUIRE(p);
	while (fgets(line, sizeof(line), p))
		fprintf(stderr, "promtool: %s", line);
	status = pclose(p);
	CHECKF(status == 0, "promtool check metrics failed (status %d) on:\n%s", status, out.ptr);
	unlink(path);
	buf_release(&out);
	metrics_free(m);
}

TEST_MAIN(metrics_counter_gauge, metrics_histogram, metrics_escaping_and_clear, metrics_bad_definitions,
          metrics_series_cap, metrics_threads, metrics_promtool)
