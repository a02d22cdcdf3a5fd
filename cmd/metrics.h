/*
 * metrics.h - a small Prometheus registry and its text exposition (format 0.0.4).
 *
 * A registry holds metric families (counter, gauge, histogram), each with a
 * fixed list of label names; a family holds one series per distinct tuple of
 * label values, created on first use.  All calls are thread-safe (one mutex per
 * registry): reconcile workers count while the HTTP thread renders.
 *
 * Limits: at most METRICS_LABELS_MAX labels per family, METRICS_BUCKETS_MAX
 * histogram buckets, METRICS_SERIES_MAX series per family (a new tuple beyond
 * that is dropped with -E2BIG, so hostile label values cannot grow memory), and
 * label values are truncated to METRICS_VALUE_MAX bytes.
 *
 * Ownership: the registry owns its families; metrics_free() frees everything
 * (accepts NULL).  A family pointer stays valid until then.
 */
#ifndef ALIASD_CMD_METRICS_H
#define ALIASD_CMD_METRICS_H

#include <stddef.h>

#include "util/buf.h"

#define METRICS_LABELS_MAX  4
#define METRICS_BUCKETS_MAX 24
#define METRICS_SERIES_MAX  4096
#define METRICS_VALUE_MAX   256

enum metric_type { METRIC_COUNTER, METRIC_GAUGE, METRIC_HISTOGRAM };

struct metrics;
struct metric_family;

int metrics_new(struct metrics **ret);
void metrics_free(struct metrics *m);

/*
 * Add a family.  `name` [a-zA-Z_:][a-zA-Z0-9_:]*, `help` free text,
 * `labels` NULL-terminated list of label names (NULL for none), `buckets`
 * strictly increasing upper bounds for a histogram (+Inf is implicit).
 * Returns the family or NULL (bad arguments, out of memory).
 */
struct metric_family *metrics_family_add(struct metrics *m, const char *name, const char *help,
                                         enum metric_type type, const char *const *labels,
                                         const double *buckets, size_t nbuckets);

/*
 * Operate on the series with these label values (as many as the family has
 * label names; NULL when it has none).  Counters only go up (`inc` < 0 is
 * -EINVAL); gauges may be set or added to; histograms observe.
 * 0 on success, -EINVAL wrong type/value, -E2BIG series limit, -ENOMEM.
 */
int metrics_counter_add(struct metric_family *f, const char *const *values, double inc);
int metrics_gauge_set(struct metric_family *f, const char *const *values, double v);
int metrics_gauge_add(struct metric_family *f, const char *const *values, double delta);
int metrics_histogram_observe(struct metric_family *f, const char *const *values, double v);
/* Drop every series of the family (e.g. before setting an info gauge anew). */
void metrics_family_clear(struct metric_family *f);

/*
 * Append the text exposition of every family (HELP, TYPE, samples, in the
 * order the families were added) to `out`.  A family with no series still
 * gets its HELP/TYPE lines.  0 or -E2BIG/-ENOMEM from the buffer.
 */
int metrics_render(struct metrics *m, struct buf *out);

/* Append `s` escaped as a label value (\\, \", \n) to `out`. */
int metrics_escape_label(struct buf *out, const char *s);

#endif
