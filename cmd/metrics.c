/*
 * metrics.c - Prometheus registry and text exposition, see metrics.h.
 */
#include "cmd/metrics.h"

#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct series {
	char *values[METRICS_LABELS_MAX];
	double value;                                   /* counter, gauge */
	double sum;                                     /* histogram */
	unsigned long long count;                       /* histogram */
	unsigned long long bucket[METRICS_BUCKETS_MAX]; /* histogram, not cumulative */
	struct series *next;
};

struct metric_family {
	struct metrics *reg;
	char *name, *help;
	enum metric_type type;
	char *labels[METRICS_LABELS_MAX];
	size_t nlabels;
	double buckets[METRICS_BUCKETS_MAX];
	size_t nbuckets;
	struct series *head, **tail;
	size_t nseries;
	struct metric_family *next;
};

struct metrics {
	pthread_mutex_t lock;
	struct metric_family *head, **tail;
};

int metrics_new(struct metrics **ret)
{
	struct metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	pthread_mutex_init(&m->lock, NULL);
	m->tail = &m->head;
	*ret = m;
	return 0;
}

static void series_free(struct series *s, size_t nlabels)
{
	for (size_t i = 0; i < nlabels; i++)
		free(s->values[i]);
	free(s);
}

static void family_free(struct metric_family *f)
{
	struct series *s, *next;

	for (s = f->head; s; s = next) {
		next = s->next;
		series_free(s, f->nlabels);
	}
	for (size_t i = 0; i < f->nlabels; i++)
		free(f->labels[i]);
	free(f->name);
	free(f->help);
	free(f);
}

void metrics_free(struct metrics *m)
{
	struct metric_family *f, *next;

	if (!m)
		return;
	for (f = m->head; f; f = next) {
		next = f->next;
		family_free(f);
	}
	pthread_mutex_destroy(&m->lock);
	free(m);
}

static bool name_valid(const char *s, bool colon)
{
	if (!s || !*s)
		return false;
	for (const char *p = s; *p; p++) {
		bool alpha =
		    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || *p == '_' || (colon && *p == ':');
		if (!alpha && !(p != s && *p >= '0' && *p <= '9'))
			return false;
	}
	return true;
}

struct metric_family *metrics_family_add(struct metrics *m, const char *name, const char *help,
                                         enum metric_type type, const char *const *labels,
                                         const double *buckets, size_t nbuckets)
{
	struct metric_family *f;

	if (!m || !name_valid(name, true) || !help)
		return NULL;
	if (type == METRIC_HISTOGRAM) {
		if (nbuckets == 0 || nbuckets > METRICS_BUCKETS_MAX || !buckets)
			return NULL;
		for (size_t i = 0; i < nbuckets; i++)
			if (!isfinite(buckets[i]) || (i && buckets[i] <= buckets[i - 1]))
				return NULL;
	} else if (nbuckets) {
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	f->reg = m;
	f->type = type;
	f->tail = &f->head;
	f->name = strdup(name);
	f->help = strdup(help);
	if (!f->name || !f->help)
		goto fail;
	for (size_t i = 0; labels && labels[i]; i++) {
		if (i >= METRICS_LABELS_MAX || !name_valid(labels[i], false) || !strcmp(labels[i], "le"))
			goto fail;
		f->labels[i] = strdup(labels[i]);
		if (!f->labels[i])
			goto fail;
		f->nlabels = i + 1;
	}
	if (nbuckets)
		memcpy(f->buckets, buckets, nbuckets * sizeof(double));
	f->nbuckets = nbuckets;

	pthread_mutex_lock(&m->lock);
	*m->tail = f;
	m->tail = &f->next;
	pthread_mutex_unlock(&m->lock);
	return f;
fail:
	family_free(f);
	return NULL;
}

/* With the registry lock held: the series for `values`, created if new. */
static int series_get(struct metric_family *f, const char *const *values, struct series **ret)
{
	struct series *s;

	for (size_t i = 0; i < f->nlabels; i++)
		if (!values || !values[i])
			return -EINVAL;
	for (s = f->head; s; s = s->next) {
		size_t i;

		for (i = 0; i < f->nlabels; i++)
			if (strncmp(s->values[i], values[i], METRICS_VALUE_MAX))
				break;
		if (i == f->nlabels) {
			*ret = s;
			return 0;
		}
	}
	if (f->nseries >= METRICS_SERIES_MAX)
		return -E2BIG;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (size_t i = 0; i < f->nlabels; i++) {
		s->values[i] = strndup(values[i], METRICS_VALUE_MAX);
		if (!s->values[i]) {
			series_free(s, i);
			return -ENOMEM;
		}
	}
	*f->tail = s;
	f->tail = &s->next;
	f->nseries++;
	*ret = s;
	return 0;
}

static int family_update(struct metric_family *f, const char *const *values, enum metric_type type, int op,
                         double v)
{
	struct series *s;
	int r;

	if (!f || f->type != type || isnan(v))
		return -EINVAL;
	pthread_mutex_lock(&f->reg->lock);
	r = series_get(f, values, &s);
	if (r < 0)
		goto out;
	switch (op) {
	case 0: /* add */
		s->value += v;
		break;
	case 1: /* set */
		s->value = v;
		break;
	default: /* observe */
		s->sum += v;
		s->count++;
		for (size_t i = 0; i < f->nbuckets; i++)
			if (v <= f->buckets[i]) {
				s->bucket[i]++;
				break;
			}
		break;
	}
out:
	pthread_mutex_unlock(&f->reg->lock);
	return r;
}

int metrics_counter_add(struct metric_family *f, const char *const *values, double inc)
{
	if (inc < 0 || isinf(inc))
		return -EINVAL;
	return family_update(f, values, METRIC_COUNTER, 0, inc);
}

int metrics_gauge_set(struct metric_family *f, const char *const *values, double v)
{
	return family_update(f, values, METRIC_GAUGE, 1, v);
}

int metrics_gauge_add(struct metric_family *f, const char *const *values, double delta)
{
	return family_update(f, values, METRIC_GAUGE, 0, delta);
}

int metrics_histogram_observe(struct metric_family *f, const char *const *values, double v)
{
	return family_update(f, values, METRIC_HISTOGRAM, 2, v);
}

void metrics_family_clear(struct metric_family *f)
{
	struct series *s, *next;

	if (!f)
		return;
	pthread_mutex_lock(&f->reg->lock);
	for (s = f->head; s; s = next) {
		next = s->next;
		series_free(s, f->nlabels);
	}
	f->head = NULL;
	f->tail = &f->head;
	f->nseries = 0;
	pthread_mutex_unlock(&f->reg->lock);
}

int metrics_escape_label(struct buf *out, const char *s)
{
	int r = 0;

	for (; *s && r >= 0; s++) {
		if (*s == '\\')
			r = buf_puts(out, "\\\\");
		else if (*s == '"')
			r = buf_puts(out, "\\\"");
		else if (*s == '\n')
			r = buf_puts(out, "\\n");
		else
			r = buf_putc(out, *s);
	}
	return r;
}

static int put_help(struct buf *out, const char *s)
{
	int r = 0;

	for (; *s && r >= 0; s++) {
		if (*s == '\\')
			r = buf_puts(out, "\\\\");
		else if (*s == '\n')
			r = buf_puts(out, "\\n");
		else
			r = buf_putc(out, *s);
	}
	return r;
}

static int put_number(struct buf *out, double v)
{
	if (isinf(v))
		return buf_puts(out, v > 0 ? "+Inf" : "-Inf");
	char tmp[40];

	if (v == floor(v) && fabs(v) < 1e15)
		return buf_printf(out, "%.0f", v);
	/* the shortest of %.15g/%.17g that reads back exactly */
	snprintf(tmp, sizeof(tmp), "%.15g", v);
	if (strtod(tmp, NULL) != v)
		snprintf(tmp, sizeof(tmp), "%.17g", v);
	return buf_puts(out, tmp);
}

/* name{l1="v1",...[,le="x"]} value\n */
static int put_sample(struct buf *out, const struct metric_family *f, const struct series *s,
                      const char *suffix, const char *le, double v)
{
	int r = buf_printf(out, "%s%s", f->name, suffix);
	bool any = false;

	for (size_t i = 0; r >= 0 && i < f->nlabels; i++) {
		r = buf_printf(out, "%s%s=\"", any ? "," : "{", f->labels[i]);
		if (r >= 0)
			r = metrics_escape_label(out, s->values[i]);
		if (r >= 0)
			r = buf_putc(out, '"');
		any = true;
	}
	if (r >= 0 && le) {
		r = buf_printf(out, "%sle=\"%s\"", any ? "," : "{", le);
		any = true;
	}
	if (r >= 0 && any)
		r = buf_putc(out, '}');
	if (r >= 0)
		r = buf_putc(out, ' ');
	if (r >= 0)
		r = put_number(out, v);
	if (r >= 0)
		r = buf_putc(out, '\n');
	return r;
}

static const char *const type_names[] = {"counter", "gauge", "histogram"};

static int render_family(struct buf *out, const struct metric_family *f)
{
	int r = buf_printf(out, "# HELP %s ", f->name);

	if (r >= 0)
		r = put_help(out, f->help);
	if (r >= 0)
		r = buf_printf(out, "\n# TYPE %s %s\n", f->name, type_names[f->type]);
	for (const struct series *s = f->head; r >= 0 && s; s = s->next) {
		if (f->type != METRIC_HISTOGRAM) {
			r = put_sample(out, f, s, "", NULL, s->value);
			continue;
		}
		unsigned long long cum = 0;
		char le[64];

		for (size_t i = 0; r >= 0 && i < f->nbuckets; i++) {
			struct buf lb = BUF_INIT_CAP(sizeof(le) - 1);

			cum += s->bucket[i];
			r = put_number(&lb, f->buckets[i]);
			if (r >= 0) {
				memcpy(le, lb.ptr, lb.len + 1);
				r = put_sample(out, f, s, "_bucket", le, (double)cum);
			}
			buf_release(&lb);
		}
		if (r >= 0)
			r = put_sample(out, f, s, "_bucket", "+Inf", (double)s->count);
		if (r >= 0)
			r = put_sample(out, f, s, "_sum", NULL, s->sum);
		if (r >= 0)
			r = put_sample(out, f, s, "_count", NULL, (double)s->count);
	}
	return r;
}

int metrics_render(struct metrics *m, struct buf *out)
{
	int r = 0;

	pthread_mutex_lock(&m->lock);
	for (const struct metric_family *f = m->head; r >= 0 && f; f = f->next)
		r = render_family(out, f);
	pthread_mutex_unlock(&m->lock);
	return r < 0 ? r : 0;
}
