/*
 * rollout_run.c - the I/O side of a rollout: alarms, preTraffic, the
 * UpdateAlias that carries each step and its record (see rollout_run.h).
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/cloudwatch.h"
#include "aws/lambda.h"
#include "reconcile/internal.h"
#include "reconcile/rollout_run.h"

int reconcile_rollout_record_text(const struct rollout_progress *p, struct buf *out)
{
	struct rollout_progress q = *p;
	size_t start = out->len;
	int r;

	for (;;) {
		size_t n;

		buf_truncate(out, start);
		r = rollout_progress_format(&q, out);
		if (r < 0)
			return r;
		if (out->len - start <= ROLLOUT_RECORD_MAX)
			return 0;
		n = strlen(q.reason);
		if (!n)
			return -E2BIG;
		/* drop the last character (and any continuation bytes before it) */
		while (n > 0 && ((unsigned char)q.reason[n - 1] & 0xC0) == 0x80)
			n--;
		if (n > 0)
			n--;
		q.reason[n] = '\0';
	}
}

static long version_number(const char *s)
{
	char *end;
	long v;

	if (!s || !*s)
		return 0;
	errno = 0;
	v = strtol(s, &end, 10);
	return errno || *end || v < 0 ? 0 : v;
}

static struct reconcile_alias_state *result_alias(struct reconcile_result *res, const char *name)
{
	for (size_t i = 0; i < res->n_aliases; i++)
		if (!strcmp(res->aliases[i].name, name))
			return &res->aliases[i];
	return NULL;
}

static void result_rollout(struct reconcile_result *res, const char *name, const struct rollout_spec *spec,
                           const struct rollout_progress *rec)
{
	struct reconcile_alias_state *a = result_alias(res, name);

	if (!a)
		return;
	a->rollout = rec ? *rec : (struct rollout_progress){0};
	a->rollout_percent = (unsigned)lround(rollout_progress_weight(spec, &a->rollout) * 100.0);
	a->rollout_steps = (unsigned)spec->n_steps;
}

void reconcile_rollout_observed(struct reconcile_result *res, const struct plan_desired *d,
                                const struct plan_observed *o)
{
	res->next_check = 0;
	for (size_t i = 0; i < d->n_aliases; i++) {
		const struct plan_alias *a = &d->aliases[i];
		struct rollout_progress rec = {0};

		if (!a->has_rollout)
			continue;
		for (size_t k = 0; k < o->n_aliases; k++) {
			const char *desc = o->aliases[k].description;

			if (!strcmp(o->aliases[k].name, a->name) && desc)
				(void)rollout_progress_parse(desc, strlen(desc), &rec, NULL);
		}
		result_rollout(res, a->name, &a->rollout, &rec);
	}
}

void reconcile_rollout_held(struct reconcile_result *res, const struct plan_desired *d, const struct plan *p)
{
	for (size_t i = 0; i < p->n_steps; i++) {
		const struct plan_step *s = &p->steps[i];
		struct reconcile_alias_state *a;

		if (s->kind != PLAN_STEP_ROLLOUT_HELD || s->alias < 0 || (size_t)s->alias >= d->n_aliases)
			continue;
		if ((a = result_alias(res, d->aliases[s->alias].name)))
			a->rollout_held = true;
	}
}

void reconcile_rollout_commands(struct plan_desired *d, const struct reconcile_options *opt,
                                const char *function)
{
	const struct reconcile_rollout_cmd *cmd = opt->rollout_cmd;

	if (!cmd || !cmd->function || !cmd->alias || strcmp(cmd->function, function))
		return;
	for (size_t i = 0; i < d->n_aliases; i++)
		if (d->aliases[i].has_rollout && !strcmp(d->aliases[i].name, cmd->alias))
			d->aliases[i].command = cmd->command;
}

/* ---- one step ---- */

static void emit(struct rollout_run *run, const char *text, const char *detail)
{
	if (!run->opt->on_event)
		return;
	pthread_mutex_lock(&run->ctx->event_lock);
	run->opt->on_event(run->opt->arg, run->fn->name, RECONCILE_EVENT_DONE, PLAN_STEP_ROLLOUT, text,
	                   detail);
	pthread_mutex_unlock(&run->ctx->event_lock);
}

/* "v2 (2)" when a declared release resolves to it, else "2". */
static int vlabel(struct buf *out, const struct rollout_run *run, unsigned v)
{
	for (size_t i = 0; i < run->d->n_releases && i < run->p->n_resolved; i++)
		if (run->p->resolved[i] == (long)v)
			return buf_printf(out, "%s (%u)", run->d->releases[i].name, v);
	return buf_printf(out, "%u", v);
}

static const struct manifest_rollout *declared(const struct rollout_run *run)
{
	const char *name = run->d->aliases[run->alias].name;

	for (size_t i = 0; i < run->fn->n_aliases; i++)
		if (!strcmp(run->fn->aliases[i].name, name))
			return run->fn->aliases[i].rollout;
	return NULL;
}

static bool clean_on(const struct plan_observed_alias *oa, unsigned v)
{
	return oa->version == (long)v && oa->extra_version == 0;
}

/* Does rollout_next need an alarm reading for this record? */
static bool needs_alarms(const struct rollout_progress *rec, const struct plan_observed_alias *oa,
                         unsigned desired, enum rollout_command cmd)
{
	if (cmd == ROLLOUT_CMD_ABORT || cmd == ROLLOUT_CMD_PROMOTE)
		return false;
	if (rec->state == ROLLOUT_PROGRESSING)
		return rec->to == desired; /* a revert needs none */
	return !clean_on(oa, desired);
}

/* Read the alarms; *names_out keeps the answer (ret_alarm points into it). */
static enum rollout_alarms read_alarms(struct rollout_run *run, const struct manifest_rollout *ro,
                                       const struct rollout_progress *rec, int64_t now,
                                       struct cloudwatch_alarms *cw, const char **ret_alarm,
                                       int64_t *ret_since)
{
	struct cloudwatch_client *c = NULL;
	struct aws_error aerr = AWS_ERROR_INIT;
	char region[64], account[13];
	const char *prefix = "alarms unreadable since ";
	int r;

	*ret_alarm = NULL;
	*ret_since = now;
	if (!strncmp(rec->reason, prefix, strlen(prefix)))
		*ret_since = strtoll(rec->reason + strlen(prefix), NULL, 10);
	if (reconcile_function_region(run->fn, region, sizeof(region)) < 0)
		region[0] = '\0';
	if (reconcile_function_account(run->fn, account) < 0)
		account[0] = '\0';
	r = reconcile_ctx_cloudwatch(run->ctx, account, region[0] ? region : NULL, &c, &aerr.err);
	if (r >= 0)
		r = cloudwatch_alarms_describe(c, (const char *const *)ro->alarms, ro->spec.n_alarms, cw,
		                               &aerr);
	if (r < 0) {
		char text[512];

		snprintf(text, sizeof(text), "~ rollout %s: alarms unreadable",
		         run->d->aliases[run->alias].name);
		if (run->opt->on_event) {
			pthread_mutex_lock(&run->ctx->event_lock);
			run->opt->on_event(run->opt->arg, run->fn->name, RECONCILE_EVENT_FAILED,
			                   PLAN_STEP_ROLLOUT, text, aerr.err.msg);
			pthread_mutex_unlock(&run->ctx->event_lock);
		}
		return ROLLOUT_ALARMS_UNREADABLE;
	}
	return rollout_alarms_reading(cw, ret_alarm);
}

/* Invoke preTraffic: SUCCEEDED, or FAILED with why in `reason`. -ECANCELED when stopped. */
static int pre_traffic(struct rollout_run *run, const struct manifest_rollout *ro, unsigned from, unsigned to,
                       enum rollout_pre_traffic *ret, char *reason, size_t reason_sz)
{
	struct lambda_invoke_result ir = {0};
	struct aws_error aerr = AWS_ERROR_INIT;
	char payload[512];
	struct buf text = BUF_INIT;
	const char *alias = run->d->aliases[run->alias].name;
	int r;

	snprintf(payload, sizeof(payload), "{\"alias\":\"%s\",\"from\":\"%u\",\"to\":\"%u\"}", alias, from,
	         to);
	r = lambda_invoke(run->c, ro->pre_traffic, NULL, payload, ROLLOUT_PRE_TRAFFIC_MS, &ir, &aerr);
	if (r < 0 && error_kind_of(&aerr.err) == ERROR_KIND_CANCELED) {
		lambda_invoke_result_release(&ir);
		return -ECANCELED;
	}
	if (r < 0) {
		*ret = ROLLOUT_PRE_FAILED;
		snprintf(reason, reason_sz, "%.200s", aerr.err.msg[0] ? aerr.err.msg : strerror(-r));
	} else if (ir.function_error[0] || ir.status < 200 || ir.status > 299) {
		*ret = ROLLOUT_PRE_FAILED;
		snprintf(reason, reason_sz, "%.64s %.31s%s%.120s", ro->pre_traffic,
		         ir.function_error[0] ? ir.function_error : "error", ir.payload ? ": " : "",
		         ir.payload ? ir.payload : "");
	} else {
		*ret = ROLLOUT_PRE_SUCCEEDED;
		reason[0] = '\0';
	}
	lambda_invoke_result_release(&ir);
	buf_printf(&text, "~ rollout %s: preTraffic %s %s", alias, ro->pre_traffic,
	           *ret == ROLLOUT_PRE_SUCCEEDED ? "succeeded" : "failed");
	emit(run, text.ptr, *ret == ROLLOUT_PRE_FAILED ? reason : NULL);
	buf_release(&text);
	return 0;
}

/* The text of a performed decision, for the DONE event. */
static void describe(struct buf *t, struct rollout_run *run, const struct rollout_decision *dec,
                     const struct rollout_spec *spec)
{
	const char *alias = run->d->aliases[run->alias].name;
	const struct rollout_action *a = &dec->action;

	buf_printf(t, "~ rollout %s: ", alias);
	switch (a->kind) {
	case ROLLOUT_ACT_SHIFT:
		buf_printf(t, "%u%% on ", a->percent);
		vlabel(t, run, a->to);
		buf_printf(t, ", step %u of %zu", dec->record.step, spec->n_steps);
		break;
	case ROLLOUT_ACT_FINISH:
	case ROLLOUT_ACT_CREATE:
		buf_puts(t, "100% on ");
		vlabel(t, run, a->to);
		buf_puts(t, ", done");
		break;
	case ROLLOUT_ACT_ROLLBACK:
		buf_puts(t, "rolled back to ");
		vlabel(t, run, a->from);
		if (dec->record.state == ROLLOUT_ROLLED_BACK)
			buf_printf(t, ": %s", dec->record.reason);
		break;
	case ROLLOUT_ACT_NONE:
	case ROLLOUT_ACT_PRE_TRAFFIC:
		if (dec->record.state == ROLLOUT_PROGRESSING && dec->record.step == 0) {
			buf_puts(t, "started ");
			vlabel(t, run, dec->record.from);
			buf_puts(t, " \u2192 ");
			vlabel(t, run, dec->record.to);
		} else {
			buf_printf(t, "%s", rollout_state_name(dec->record.state));
			if (dec->record.reason[0])
				buf_printf(t, ": %s", dec->record.reason);
		}
		break;
	}
}

/* One UpdateAlias: the decision's routing (or the observed one) and its record. */
static int write_alias(struct rollout_run *run, const struct rollout_decision *dec, struct aws_error *aerr)
{
	struct plan_observed_alias *oa = run->oa;
	struct lambda_alias_input in = {0};
	struct lambda_alias out = {0};
	struct buf desc = BUF_INIT;
	char primary[32], extra[32];
	long pv = oa->version, ev = oa->extra_version;
	double w = oa->weight;
	int r;

	switch (dec->action.kind) {
	case ROLLOUT_ACT_SHIFT:
		pv = dec->action.from, ev = dec->action.to, w = dec->action.weight;
		break;
	case ROLLOUT_ACT_FINISH:
	case ROLLOUT_ACT_CREATE: /* the alias exists but serves $LATEST: an update */
		pv = dec->action.to, ev = 0, w = 0;
		break;
	case ROLLOUT_ACT_ROLLBACK:
		pv = dec->action.from, ev = 0, w = 0;
		break;
	case ROLLOUT_ACT_NONE:
	case ROLLOUT_ACT_PRE_TRAFFIC:
		break;
	}
	if (pv <= 0)
		return aws_error_set(aerr, -EINVAL, "rollout", "alias %s: no version to point at", oa->name);
	snprintf(primary, sizeof(primary), "%ld", pv);
	snprintf(extra, sizeof(extra), "%ld", ev);
	in.function_version = primary;
	if (ev > 0) {
		in.weight_version = extra;
		in.weight = w;
	}
	if (dec->record.state != ROLLOUT_NONE) {
		if (reconcile_rollout_record_text(&dec->record, &desc) < 0) {
			buf_release(&desc);
			return aws_error_set(aerr, -ENOMEM, "rollout", "alias %s: cannot format the record",
			                     oa->name);
		}
		in.description = desc.ptr;
	}
	in.revision_id = oa->revision_id[0] ? oa->revision_id : NULL;
	r = lambda_alias_update(run->c, run->fn->name, oa->name, &in, &out, aerr);
	if (r >= 0) {
		struct reconcile_alias_state *ra = result_alias(run->res, oa->name);
		char *nd = out.description ? strdup(out.description) : (desc.ptr ? strdup(desc.ptr) : NULL);

		run->writes++;
		oa->version = out.function_version ? version_number(out.function_version) : pv;
		oa->extra_version = out.n_weights ? version_number(out.weights[0].version) : 0;
		oa->weight = out.n_weights ? out.weights[0].weight : 0;
		if (!out.function_version) {
			oa->extra_version = ev;
			oa->weight = w;
		}
		free(oa->description);
		oa->description = nd;
		snprintf(oa->revision_id, sizeof(oa->revision_id), "%s",
		         out.revision_id ? out.revision_id : "");
		if (ra) {
			ra->version = oa->version;
			ra->extra_version = oa->extra_version;
			ra->weight = oa->weight;
		}
	}
	lambda_alias_release(&out);
	buf_release(&desc);
	return r;
}

static int command_check(struct rollout_run *run, const struct rollout_progress *rec,
                         enum rollout_command cmd, struct aws_error *aerr)
{
	const char *alias = run->d->aliases[run->alias].name;
	int r = 0;

	if ((cmd == ROLLOUT_CMD_PROMOTE || cmd == ROLLOUT_CMD_ABORT) && rec->state != ROLLOUT_PROGRESSING)
		r = aws_error_set(aerr, -EINVAL, "rollout", "%s %s: no rollout in progress to %s (%s)",
		                  run->fn->name, alias, cmd == ROLLOUT_CMD_PROMOTE ? "promote" : "abort",
		                  rollout_state_name(rec->state));
	else if (cmd == ROLLOUT_CMD_RETRY && rec->state != ROLLOUT_ROLLED_BACK)
		r = aws_error_set(aerr, -EINVAL, "rollout", "%s %s: no rolled-back rollout to retry (%s)",
		                  run->fn->name, alias, rollout_state_name(rec->state));
	if (r < 0)
		error_set_kind(&aerr->err, ERROR_KIND_TERMINAL);
	return r;
}

int reconcile_rollout_run(struct rollout_run *run, struct aws_error *aerr)
{
	const struct plan_alias *a = &run->d->aliases[run->alias];
	const struct manifest_rollout *ro = declared(run);
	enum rollout_command cmd = a->command;
	enum rollout_pre_traffic pre = ROLLOUT_PRE_NOT_RUN;
	char pre_reason[ROLLOUT_REASON_MAX] = "";
	struct rollout_progress rec = {0};
	struct rollout_decision dec = {0};
	long desired = a->primary.release >= 0 ? run->p->resolved[a->primary.release] : a->primary.version;
	int64_t next = 0;
	int r = 0;

	if (!ro || !a->has_rollout)
		return aws_error_set(aerr, -EINVAL, "rollout", "alias %s declares no rollout", a->name);
	if (desired <= 0)
		return aws_error_set(aerr, -EINVAL, "rollout", "alias %s: target version unknown", a->name);
	for (unsigned round = 0; round < ROLLOUT_RUN_MAX_ROUNDS; round++) {
		struct cloudwatch_alarms cw = CLOUDWATCH_ALARMS_INIT;
		struct rollout_input in = {0};
		struct buf text = BUF_INIT;
		struct timespec ts;
		int64_t now;

		clock_gettime(CLOCK_REALTIME, &ts);
		now = (int64_t)ts.tv_sec;

		if (run->ctx->stopped) {
			r = aws_error_set(aerr, -ECANCELED, "rollout", "stopped");
			error_set_kind(&aerr->err, ERROR_KIND_CANCELED);
			break;
		}
		memset(&rec, 0, sizeof(rec));
		if (run->oa->description)
			(void)rollout_progress_parse(run->oa->description, strlen(run->oa->description), &rec,
			                             NULL);
		if (round == 0 && cmd != ROLLOUT_CMD_NONE && (r = command_check(run, &rec, cmd, aerr)) < 0)
			break;
		in.spec = &a->rollout;
		in.desired = (unsigned)desired;
		in.desired_id = run->d->desired_id;
		in.alias.exists = true;
		in.alias.primary = (unsigned)(run->oa->version > 0 ? run->oa->version : 0);
		in.alias.extra = (unsigned)(run->oa->extra_version > 0 ? run->oa->extra_version : 0);
		in.alias.weight = in.alias.extra ? run->oa->weight : 0;
		in.record = &rec;
		in.command = cmd;
		in.now = now;
		in.pre_traffic = pre;
		in.pre_traffic_reason = pre_reason;
		if (ro->spec.n_alarms && needs_alarms(&rec, run->oa, (unsigned)desired, cmd))
			in.alarms = read_alarms(run, ro, &rec, now, &cw, &in.alarm, &in.alarms_since);
		if (!in.alias.primary) {
			/* on $LATEST (never aliasd's doing): no traffic to shift from a
			 * published version; put it on B in one call, as a new alias */
			in.alias.exists = false;
			in.alias.extra = 0;
		}
		r = rollout_next(&in, &dec, &aerr->err);
		if (r < 0) {
			error_set_kind(&aerr->err, ERROR_KIND_TERMINAL);
			cloudwatch_alarms_release(&cw);
			break;
		}
		cloudwatch_alarms_release(&cw);
		if (dec.record_changed && dec.record.state == ROLLOUT_PROGRESSING &&
		    dec.record.since == now && ts.tv_nsec > 0) {
			/*
			 * The record counts whole seconds: a step that begins at
			 * 12:00:03.9 is recorded as beginning at 12:00:04, so it lasts
			 * at least its interval (never up to a second less).
			 */
			dec.record.since = now + 1;
			if (dec.next_check == now + (int64_t)a->rollout.interval_s)
				dec.next_check++;
		}
		next = dec.next_check;
		if (dec.action.kind == ROLLOUT_ACT_NONE && !dec.record_changed)
			break;
		if (dec.action.kind != ROLLOUT_ACT_PRE_TRAFFIC || dec.record_changed) {
			describe(&text, run, &dec, &a->rollout);
			r = write_alias(run, &dec, aerr);
			if (r < 0) {
				buf_release(&text);
				break;
			}
			emit(run, text.ptr, NULL);
			buf_release(&text);
		}
		if (dec.action.kind == ROLLOUT_ACT_PRE_TRAFFIC) {
			r = pre_traffic(run, ro, dec.action.from, dec.action.to, &pre, pre_reason,
			                sizeof(pre_reason));
			if (r < 0) {
				aws_error_set(aerr, r, "rollout", "stopped");
				error_set_kind(&aerr->err, ERROR_KIND_CANCELED);
				break;
			}
		}
		cmd = ROLLOUT_CMD_NONE; /* a command acts once */
	}
	memset(&rec, 0, sizeof(rec));
	if (run->oa->description)
		(void)rollout_progress_parse(run->oa->description, strlen(run->oa->description), &rec, NULL);
	result_rollout(run->res, a->name, &a->rollout, &rec);
	if (r >= 0 && next > 0 && (!run->res->next_check || next < run->res->next_check))
		run->res->next_check = next;
	return r;
}
