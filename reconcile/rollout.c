/*
 * rollout.c - the pure rollout step machine (see rollout.h).
 */
#include "reconcile/rollout.h"

#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/cloudwatch.h"
#include "util/codec.h"

/* ---- spec ------------------------------------------------------------------------- */

unsigned rollout_guard_period(const struct rollout_spec *spec)
{
	unsigned g = spec->interval_s / 5;

	if (g > ROLLOUT_GUARD_MAX)
		g = ROLLOUT_GUARD_MAX;
	return g < 1 ? 1 : g;
}

static int duration_put(struct buf *out, unsigned s)
{
	if (s % 3600 == 0)
		return buf_printf(out, "%uh", s / 3600);
	if (s % 60 == 0)
		return buf_printf(out, "%um", s / 60);
	return buf_printf(out, "%us", s);
}

int rollout_spec_describe(const struct rollout_spec *spec, struct buf *out)
{
	int r = 0;

	if (!spec->n_steps)
		return buf_puts(out, "all at once");
	r = buf_putc(out, '[');
	for (size_t i = 0; r >= 0 && i < spec->n_steps; i++)
		r = buf_printf(out, "%s%u%%", i ? ", " : "", spec->steps[i]);
	if (r >= 0)
		r = buf_puts(out, "] every ");
	if (r >= 0)
		r = duration_put(out, spec->interval_s);
	return r < 0 ? r : 0;
}

/* ---- names --------------------------------------------------------------------------- */

static const char *const state_names[] = {"None", "Progressing", "Succeeded", "RolledBack"};

const char *rollout_state_name(enum rollout_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

const char *rollout_action_name(enum rollout_action_kind k)
{
	static const char *const names[] = {"none", "create", "pre-traffic", "shift", "finish", "rollback"};

	return (unsigned)k < sizeof(names) / sizeof(names[0]) ? names[k] : "?";
}

bool rollout_weight_is(double w, unsigned percent)
{
	return fabs(w - percent / 100.0) < 0.0005;
}

enum rollout_alarms rollout_alarms_reading(const struct cloudwatch_alarms *a, const char **ret_alarm)
{
	static const struct {
		enum cloudwatch_state state;
		enum rollout_alarms reading;
	} order[] = {
	    {CLOUDWATCH_ALARM, ROLLOUT_ALARMS_ALARM},
	    {CLOUDWATCH_MISSING, ROLLOUT_ALARMS_MISSING},
	    {CLOUDWATCH_UNKNOWN, ROLLOUT_ALARMS_UNREADABLE},
	};

	for (size_t o = 0; o < sizeof(order) / sizeof(order[0]); o++)
		for (size_t i = 0; a && i < a->n; i++)
			if (a->items[i].state == order[o].state) {
				if (ret_alarm)
					*ret_alarm = a->items[i].name;
				return order[o].reading;
			}
	if (ret_alarm)
		*ret_alarm = NULL;
	return ROLLOUT_ALARMS_OK;
}

double rollout_progress_weight(const struct rollout_spec *spec, const struct rollout_progress *p)
{
	if (!p)
		return 0.0;
	switch (p->state) {
	case ROLLOUT_PROGRESSING:
		if (!p->step || !spec || !spec->n_steps)
			return 0.0;
		return spec->steps[(p->step <= spec->n_steps ? p->step : spec->n_steps) - 1] / 100.0;
	case ROLLOUT_SUCCEEDED:
		return 1.0;
	default:
		return 0.0;
	}
}

static bool id_valid(const char *id)
{
	size_t n = strlen(id);

	if (n >= ROLLOUT_ID_MAX)
		return false;
	for (const char *p = id; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
		      *p == '.' || *p == '_' || *p == ':' || *p == '-'))
			return false;
	return true;
}

/* ---- the record's text form ------------------------------------------------------------ */

#define TEXT_MAGIC "aliasd-rollout/1"

static bool unreserved(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
	       c == '_' || c == '.' || c == '~';
}

int rollout_progress_format(const struct rollout_progress *p, struct buf *out)
{
	int r;

	if (p->state < ROLLOUT_PROGRESSING || p->state > ROLLOUT_ROLLED_BACK || p->since < 0 ||
	    p->step > ROLLOUT_MAX_STEPS || !p->to || !id_valid(p->desired_id) ||
	    strnlen(p->reason, ROLLOUT_REASON_MAX) >= ROLLOUT_REASON_MAX)
		return -EINVAL;
	r = buf_printf(out, TEXT_MAGIC " state=%s from=%u to=%u step=%u since=%" PRId64 " id=%s reason=",
	               rollout_state_name(p->state), p->from, p->to, p->step, p->since, p->desired_id);
	for (const unsigned char *s = (const unsigned char *)p->reason; r >= 0 && *s; s++)
		r = unreserved(*s) ? buf_putc(out, (char)*s) : buf_printf(out, "%%%02X", *s);
	return r < 0 ? r : 0;
}

/* Decimal without sign or leading zeros, at most `max`. */
static bool parse_dec(const char *s, size_t n, uint64_t max, uint64_t *ret)
{
	uint64_t v = 0;

	if (!n || n > 19 || (n > 1 && s[0] == '0'))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return false;
	*ret = v;
	return true;
}

int rollout_progress_parse(const char *text, size_t len, struct rollout_progress *ret, struct error *err)
{
	static const char *const keys[] = {"state", "from", "to", "step", "since", "id", "reason"};
	struct rollout_progress p = {0};
	const char *s = text, *end;
	uint64_t v;

	if (!text)
		return error_set(err, -EBADMSG, "rollout record: empty");
	if (len && text[len - 1] == '\n')
		len--;
	if (len > ROLLOUT_TEXT_MAX || memchr(text, '\0', len))
		return error_set(err, -EBADMSG, "rollout record: too long or binary");
	end = text + len;
	if ((size_t)(end - s) < strlen(TEXT_MAGIC) + 1 || memcmp(s, TEXT_MAGIC " ", strlen(TEXT_MAGIC) + 1))
		return error_set(err, -EBADMSG, "rollout record: not an " TEXT_MAGIC " record");
	s += strlen(TEXT_MAGIC) + 1;
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		size_t klen = strlen(keys[k]);
		const char *val, *vend;
		size_t vlen;

		if ((size_t)(end - s) <= klen || memcmp(s, keys[k], klen) || s[klen] != '=')
			return error_set(err, -EBADMSG, "rollout record: expected %s=", keys[k]);
		val = s + klen + 1;
		vend = memchr(val, ' ', (size_t)(end - val));
		if (!vend)
			vend = end;
		if ((vend == end) != (k == sizeof(keys) / sizeof(keys[0]) - 1))
			return error_set(err, -EBADMSG, "rollout record: wrong number of fields at %s",
			                 keys[k]);
		vlen = (size_t)(vend - val);
		switch (k) {
		case 0:
			p.state = ROLLOUT_NONE;
			for (int st = ROLLOUT_PROGRESSING; st <= ROLLOUT_ROLLED_BACK; st++)
				if (strlen(state_names[st]) == vlen && !memcmp(val, state_names[st], vlen))
					p.state = (enum rollout_state)st;
			if (p.state == ROLLOUT_NONE)
				return error_set(err, -EBADMSG, "rollout record: unknown state");
			break;
		case 1:
		case 2:
		case 3:
			if (!parse_dec(val, vlen, k == 3 ? ROLLOUT_MAX_STEPS : UINT_MAX, &v) ||
			    (k == 2 && !v))
				return error_set(err, -EBADMSG, "rollout record: bad %s", keys[k]);
			if (k == 1)
				p.from = (unsigned)v;
			else if (k == 2)
				p.to = (unsigned)v;
			else
				p.step = (unsigned)v;
			break;
		case 4:
			if (!parse_dec(val, vlen, INT64_MAX, &v))
				return error_set(err, -EBADMSG, "rollout record: bad since");
			p.since = (int64_t)v;
			break;
		case 5:
			if (vlen >= ROLLOUT_ID_MAX)
				return error_set(err, -EBADMSG, "rollout record: bad id");
			memcpy(p.desired_id, val, vlen);
			p.desired_id[vlen] = '\0';
			if (!id_valid(p.desired_id))
				return error_set(err, -EBADMSG, "rollout record: bad id");
			break;
		default: {
			size_t o = 0;

			for (size_t i = 0; i < vlen; i++) {
				int c = (unsigned char)val[i];

				if (c == '%') {
					int hi = i + 2 < vlen ? codec_hex_digit(val[i + 1]) : -1;
					int lo = i + 2 < vlen ? codec_hex_digit(val[i + 2]) : -1;

					if (hi < 0 || lo < 0)
						return error_set(err, -EBADMSG,
						                 "rollout record: bad escape in reason");
					c = hi * 16 + lo;
					i += 2;
				} else if (!unreserved((unsigned char)c)) {
					return error_set(err, -EBADMSG,
					                 "rollout record: unencoded byte in reason");
				}
				if (c < 0x20 || c == 0x7f || o + 1 >= ROLLOUT_REASON_MAX)
					return error_set(err, -EBADMSG, "rollout record: bad reason");
				p.reason[o++] = (char)c;
			}
			p.reason[o] = '\0';
		}
		}
		s = vend + (vend < end);
	}
	if (p.step && p.state == ROLLOUT_PROGRESSING && !p.from)
		return error_set(err, -EBADMSG, "rollout record: a progressing rollout needs from");
	*ret = p;
	return 0;
}

/* ---- the machine ------------------------------------------------------------------------- */

struct ctx {
	const struct rollout_input *in;
	const struct rollout_spec *spec;
	struct rollout_decision *d;
	const char *id;
	unsigned guard;
};

static void set_reason(struct rollout_progress *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void set_reason(struct rollout_progress *p, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p->reason, sizeof(p->reason), fmt, ap);
	va_end(ap);
	for (char *s = p->reason; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			*s = ' ';
}

static bool alias_clean_on(const struct rollout_alias *a, unsigned v)
{
	return a->primary == v && a->extra == 0;
}

static void act(struct ctx *c, enum rollout_action_kind kind, unsigned from, unsigned to, unsigned percent)
{
	c->d->action.kind = kind;
	c->d->action.from = from;
	c->d->action.to = to;
	c->d->action.percent = percent;
	c->d->action.weight = kind == ROLLOUT_ACT_SHIFT ? percent / 100.0 : 0.0;
}

static void record(struct ctx *c, const struct rollout_progress *p)
{
	if (memcmp(&c->d->record, p, sizeof(*p)))
		c->d->record_changed = true;
	c->d->record = *p;
}

/* The next time the step must be looked at: its end, or the next alarm check. */
static int64_t step_check(struct ctx *c, int64_t since)
{
	int64_t end = since + (int64_t)c->spec->interval_s;
	int64_t guard = c->in->now + (int64_t)c->guard;

	if (c->spec->n_alarms && guard < end)
		return guard;
	return end > c->in->now ? end : c->in->now;
}

/* Roll back: the record says why, the alias goes back to `from` (unless it is there). */
static void roll_back(struct ctx *c, struct rollout_progress p, const char *reason)
{
	p.state = ROLLOUT_ROLLED_BACK;
	p.since = c->in->now;
	set_reason(&p, "%s", reason);
	record(c, &p);
	if (p.from && !alias_clean_on(&c->in->alias, p.from))
		act(c, ROLLOUT_ACT_ROLLBACK, p.from, p.to, 0);
	c->d->next_check = 0;
}

static void finish(struct ctx *c, struct rollout_progress p)
{
	p.state = ROLLOUT_SUCCEEDED;
	p.since = c->in->now;
	p.reason[0] = '\0';
	record(c, &p);
	if (!alias_clean_on(&c->in->alias, p.to))
		act(c, ROLLOUT_ACT_FINISH, p.from, p.to, 100);
	c->d->next_check = 0;
}

/* Move to step k+1 of p (or finish after the last). */
static void advance(struct ctx *c, struct rollout_progress p)
{
	if (p.step >= c->spec->n_steps) {
		finish(c, p);
		return;
	}
	p.step++;
	p.since = c->in->now;
	p.reason[0] = '\0';
	record(c, &p);
	act(c, ROLLOUT_ACT_SHIFT, p.from, p.to, c->spec->steps[p.step - 1]);
	c->d->next_check = step_check(c, p.since);
}

/* A progressing rollout p with p.to == desired. */
static void progress(struct ctx *c, struct rollout_progress p)
{
	const struct rollout_input *in = c->in;
	const struct rollout_alias *a = &in->alias;
	char why[ROLLOUT_REASON_MAX];

	if (in->command == ROLLOUT_CMD_PROMOTE) {
		finish(c, p);
		return;
	}
	if (in->command == ROLLOUT_CMD_ABORT) {
		roll_back(c, p, "aborted");
		return;
	}
	/* the guard comes first, at every step, before anything moves */
	switch (in->alarms) {
	case ROLLOUT_ALARMS_ALARM:
		snprintf(why, sizeof(why), "alarm %s is in ALARM", in->alarm ? in->alarm : "?");
		roll_back(c, p, why);
		return;
	case ROLLOUT_ALARMS_MISSING:
		snprintf(why, sizeof(why), "alarm %s does not exist", in->alarm ? in->alarm : "?");
		roll_back(c, p, why);
		return;
	case ROLLOUT_ALARMS_UNREADABLE:
		/* hold: no traffic moves, no step advances, the step's clock runs on */
		set_reason(&p, "alarms unreadable since %" PRId64, in->alarms_since);
		record(c, &p);
		c->d->next_check = in->now + (int64_t)c->guard;
		return;
	case ROLLOUT_ALARMS_OK:
		break;
	}
	if (!strncmp(p.reason, "alarms unreadable", 17)) {
		p.reason[0] = '\0';
		record(c, &p);
	}

	if (p.step == 0) {
		/* no traffic has moved: the alias must be on A alone first */
		if (!alias_clean_on(a, p.from)) {
			record(c, &p);
			act(c, ROLLOUT_ACT_ROLLBACK, p.from, p.to, 0);
			c->d->next_check = in->now;
			return;
		}
		if (c->spec->pre_traffic) {
			if (in->pre_traffic == ROLLOUT_PRE_NOT_RUN) {
				record(c, &p);
				act(c, ROLLOUT_ACT_PRE_TRAFFIC, p.from, p.to, 0);
				c->d->next_check = in->now;
				return;
			}
			if (in->pre_traffic == ROLLOUT_PRE_FAILED) {
				snprintf(why, sizeof(why), "preTraffic failed: %s",
				         in->pre_traffic_reason ? in->pre_traffic_reason : "error");
				roll_back(c, p, why);
				return;
			}
		}
		advance(c, p);
		return;
	}

	if (alias_clean_on(a, p.to)) {
		/* someone (promote, a human) already finished it */
		finish(c, p);
		return;
	}
	if (p.step > c->spec->n_steps) {
		/* the spec lost steps mid-rollout: the last one is done when its time is */
		if (in->now >= p.since + (int64_t)c->spec->interval_s) {
			finish(c, p);
		} else {
			record(c, &p);
			c->d->next_check = step_check(c, p.since);
		}
		return;
	}
	if (a->primary != p.from || a->extra != p.to ||
	    !rollout_weight_is(a->weight, c->spec->steps[p.step - 1])) {
		/* the alias is behind the record (a kill after the record was stored):
		 * the same step again, its clock restarted */
		p.since = in->now;
		record(c, &p);
		act(c, ROLLOUT_ACT_SHIFT, p.from, p.to, c->spec->steps[p.step - 1]);
		c->d->next_check = step_check(c, p.since);
		return;
	}
	if (in->now >= p.since + (int64_t)c->spec->interval_s) {
		advance(c, p);
		return;
	}
	record(c, &p);
	c->d->next_check = step_check(c, p.since);
}

/* No rollout for desired yet: start one from what the alias serves. */
static void start(struct ctx *c)
{
	const struct rollout_input *in = c->in;
	const struct rollout_alias *a = &in->alias;
	struct rollout_progress p = {0};

	if (alias_clean_on(a, in->desired))
		return; /* in sync: nothing to do, record untouched */
	p.to = in->desired;
	p.since = in->now;
	snprintf(p.desired_id, sizeof(p.desired_id), "%s", c->id);
	if (a->primary == in->desired) {
		/* B is primary already, with another version weighted: drop the weights */
		p.from = a->extra;
		finish(c, p);
		return;
	}
	p.state = ROLLOUT_PROGRESSING;
	p.from = a->primary;
	record(c, &p);
	progress(c, p);
}

int rollout_next(const struct rollout_input *in, struct rollout_decision *ret, struct error *err)
{
	struct rollout_decision d = {0};
	struct rollout_progress rec = {0};
	struct ctx c = {.in = in, .d = &d};
	int r;

	if (!in)
		return error_set(err, -EINVAL, "rollout: no input");
	r = rollout_spec_check(in->spec, err);
	if (r < 0)
		return r;
	c.spec = in->spec;
	c.guard = rollout_guard_period(in->spec);
	c.id = in->desired_id ? in->desired_id : "";
	if (!id_valid(c.id))
		return error_set(err, -EINVAL, "rollout: bad desired id '%s'", c.id);
	if (!in->desired)
		return error_set(err, -EINVAL, "rollout: no desired version");
	if (in->alias.exists && (!in->alias.primary ||
	                         (in->alias.extra && !(in->alias.weight >= 0.0 && in->alias.weight <= 1.0))))
		return error_set(err, -EINVAL, "rollout: bad observed alias");
	if (in->record && in->record->state != ROLLOUT_NONE)
		rec = *in->record;
	d.record = rec;

	if (!in->alias.exists) {
		/* a new alias: no traffic to shift */
		struct rollout_progress p = {0};

		p.state = ROLLOUT_SUCCEEDED;
		p.to = in->desired;
		p.since = in->now;
		snprintf(p.desired_id, sizeof(p.desired_id), "%s", c.id);
		record(&c, &p);
		act(&c, ROLLOUT_ACT_CREATE, 0, in->desired, 100);
		*ret = d;
		return 0;
	}

	switch (rec.state) {
	case ROLLOUT_PROGRESSING:
		if (rec.to == in->desired) {
			progress(&c, rec);
		} else if (rec.from == in->desired) {
			char why[64];

			snprintf(why, sizeof(why), "reverted: version %u is desired again", rec.from);
			roll_back(&c, rec, why);
		} else {
			/* retarget: restart from A to the new version */
			struct rollout_progress p = {0};

			p.state = ROLLOUT_PROGRESSING;
			p.from = rec.from;
			p.to = in->desired;
			p.since = in->now;
			snprintf(p.desired_id, sizeof(p.desired_id), "%s", c.id);
			record(&c, &p);
			progress(&c, p);
		}
		break;
	case ROLLOUT_SUCCEEDED:
		if (rec.to != in->desired)
			start(&c);
		else if (!alias_clean_on(&in->alias, rec.to))
			act(&c, ROLLOUT_ACT_FINISH, rec.from, rec.to, 100);
		break;
	case ROLLOUT_ROLLED_BACK:
		if (rec.to != in->desired) {
			start(&c);
		} else if (in->command == ROLLOUT_CMD_PROMOTE) {
			finish(&c, rec);
		} else if (in->command == ROLLOUT_CMD_RETRY || strcmp(rec.desired_id, c.id)) {
			if (rec.from && !alias_clean_on(&in->alias, rec.from)) {
				/* still on its way back: finish the rollback first */
				act(&c, ROLLOUT_ACT_ROLLBACK, rec.from, rec.to, 0);
				d.next_check = in->now;
			} else {
				start(&c);
			}
		} else if (rec.from && !alias_clean_on(&in->alias, rec.from)) {
			act(&c, ROLLOUT_ACT_ROLLBACK, rec.from, rec.to, 0);
		}
		break;
	case ROLLOUT_NONE:
		start(&c);
		break;
	}
	*ret = d;
	return 0;
}
