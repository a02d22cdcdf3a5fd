/*
 * notify_status.c - commit status descriptions and event payloads, see notify_status.h.
 */
#include "cmd/notify_status.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

const char *notify_state_name(enum notify_state s)
{
	switch (s) {
	case NOTIFY_PENDING:
		return "pending";
	case NOTIFY_SUCCESS:
		return "success";
	case NOTIFY_FAILURE:
		return "failure";
	case NOTIFY_ERROR:
		return "error";
	}
	return "failure";
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when invalid. */
static size_t utf8_len(const unsigned char *s)
{
	unsigned char c = s[0];

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		return (s[1] & 0xc0) == 0x80 ? 2 : 0;
	if (c >= 0xe0 && c <= 0xef) {
		unsigned char lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 ? 3 : 0;
	}
	if (c >= 0xf0 && c <= 0xf4) {
		unsigned char lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;

		return s[1] >= lo && s[1] <= hi && (s[2] & 0xc0) == 0x80 && (s[3] & 0xc0) == 0x80 ? 4 : 0;
	}
	return 0;
}

/* Copy at most `maxchars` characters of `in` to out (one line, invalid bytes as '?'); chars in *ret_n. */
static size_t copy_chars(char *out, const char *in, size_t maxchars, size_t *ret_n)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t o = 0, n = 0;

	while (*s && n < maxchars) {
		size_t l = utf8_len(s);

		if (l == 0) {
			out[o++] = '?';
			s++;
		} else if (l == 1) {
			out[o++] = (*s < 0x20 || *s == 0x7f) ? ' ' : (char)*s;
			s++;
		} else {
			memcpy(out + o, s, l);
			o += l;
			s += l;
		}
		n++;
	}
	*ret_n = n;
	return o;
}

static size_t count_chars(const char *in)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t n = 0;

	while (*s) {
		size_t l = utf8_len(s);

		s += l ? l : 1;
		n++;
	}
	return n;
}

size_t notify_desc_clip(char out[NOTIFY_DESC_SIZE], const char *in)
{
	size_t o, n;

	if (count_chars(in) <= NOTIFY_DESC_MAX) {
		o = copy_chars(out, in, NOTIFY_DESC_MAX, &n);
		out[o] = '\0';
		return n;
	}
	o = copy_chars(out, in, NOTIFY_DESC_MAX - 3, &n);
	memcpy(out + o, "...", 4);
	return n + 3;
}

static const char *fn_word(enum notify_fn_state s)
{
	return s == NOTIFY_FN_ROLLED_BACK ? "rolled back" : "failed";
}

enum notify_state notify_status_compose(char ret_desc[NOTIFY_DESC_SIZE],
                                        const struct notify_commit_outcome *o)
{
	/* composed in full, then clipped: nothing here is longer than a few KiB per function */
	struct buf b = BUF_INIT_CAP(64 << 10);
	enum notify_state st;
	size_t nfail = 0, nprog = 0;

	for (size_t i = 0; i < o->nfns; i++) {
		if (o->fns[i].state == NOTIFY_FN_FAILED || o->fns[i].state == NOTIFY_FN_ROLLED_BACK)
			nfail++;
		else if (o->fns[i].state == NOTIFY_FN_PROGRESSING)
			nprog++;
	}

	if (o->untrusted) {
		st = NOTIFY_FAILURE;
		buf_printf(&b, "untrusted signature: %s", o->untrusted);
	} else if (o->manifest_error) {
		st = NOTIFY_FAILURE;
		buf_puts(&b, "invalid manifest: ");
		if (o->manifest_file && o->manifest_line)
			buf_printf(&b, "%s:%u: ", o->manifest_file, o->manifest_line);
		else if (o->manifest_file)
			buf_printf(&b, "%s: ", o->manifest_file);
		buf_puts(&b, o->manifest_error);
	} else if (nfail) {
		bool first = true;

		st = NOTIFY_FAILURE;
		if (nfail > 1)
			buf_printf(&b, "%zu of %zu functions failed: ", nfail, o->nfns);
		for (size_t i = 0; i < o->nfns; i++) {
			const struct notify_fn_outcome *f = &o->fns[i];
			bool why = f->reason && *f->reason;

			if (f->state != NOTIFY_FN_FAILED && f->state != NOTIFY_FN_ROLLED_BACK)
				continue;
			if (nfail == 1 && f->state == NOTIFY_FN_ROLLED_BACK && f->alias)
				buf_printf(&b, "rolled back %s/%s%s%s", f->function, f->alias,
				           why ? ": " : "", why ? f->reason : "");
			else if (nfail == 1)
				buf_printf(&b, "%s %s%s%s", f->function, fn_word(f->state), why ? ": " : "",
				           why ? f->reason : "");
			else if (f->state == NOTIFY_FN_ROLLED_BACK)
				buf_printf(&b, "%s%s%s%s: rolled back%s%s%s", first ? "" : "; ", f->function,
				           f->alias ? "/" : "", f->alias ? f->alias : "", why ? " (" : "",
				           why ? f->reason : "", why ? ")" : "");
			else
				buf_printf(&b, "%s%s: %s", first ? "" : "; ", f->function,
				           why ? f->reason : "failed");
			first = false;
		}
	} else if (nprog) {
		bool first = true, detail = false;

		st = NOTIFY_PENDING;
		for (size_t i = 0; i < o->nfns; i++)
			detail = detail || (o->fns[i].state == NOTIFY_FN_PROGRESSING && o->fns[i].alias);
		buf_puts(&b, !detail ? "rolling out " : nprog == 1 ? "rollout " : "rollouts ");
		for (size_t i = 0; i < o->nfns; i++) {
			const struct notify_fn_outcome *f = &o->fns[i];

			if (f->state != NOTIFY_FN_PROGRESSING)
				continue;
			buf_printf(&b, "%s%s", first ? "" : ", ", f->function);
			if (f->alias)
				buf_printf(&b, "/%s %u%% (step %u/%u)", f->alias, f->percent, f->step,
				           f->steps);
			first = false;
		}
	} else if (o->started) {
		st = NOTIFY_PENDING;
		buf_puts(&b, "applying commit");
	} else {
		st = NOTIFY_SUCCESS;
		if (o->nfns == 0)
			buf_puts(&b, "no functions to sync");
		else
			buf_printf(&b, "%zu function%s in sync", o->nfns, o->nfns == 1 ? "" : "s");
	}
	notify_desc_clip(ret_desc, b.ptr);
	buf_release(&b);
	return st;
}

/* Append cJSON's unformatted print of `o` (deleted here) to out. */
static int json_append(struct buf *out, cJSON *o)
{
	char *s = o ? cJSON_PrintUnformatted(o) : NULL;
	int r;

	cJSON_Delete(o);
	if (!s)
		return -ENOMEM;
	r = buf_puts(out, s);
	cJSON_free(s);
	return r;
}

/* cJSON_Add* return NULL on allocation failure; *ok records it. */
static void add_str(cJSON *o, const char *key, const char *v, bool *ok)
{
	if (!(v ? cJSON_AddStringToObject(o, key, v) : cJSON_AddNullToObject(o, key)))
		*ok = false;
}

int notify_status_json(struct buf *out, enum notify_state state, const char *description, const char *context,
                       const char *target_url)
{
	cJSON *o = cJSON_CreateObject();
	bool ok = o != NULL;

	if (o) {
		add_str(o, "state", notify_state_name(state), &ok);
		if (target_url)
			add_str(o, "target_url", target_url, &ok);
		add_str(o, "description", description ? description : "", &ok);
		add_str(o, "context", context ? context : "aliasd", &ok);
	}
	if (!ok) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	return json_append(out, o);
}

static const char *const event_names[] = {"applied",         "failed",           "rollout.rolledBack",
                                          "drift",           "untrusted",        "storage.warning",
                                          "rollout.started", "rollout.succeeded"};

const char *notify_event_name(enum notify_event_kind k)
{
	for (size_t i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++)
		if ((unsigned)k == 1u << i)
			return event_names[i];
	return NULL;
}

enum notify_event_kind notify_event_from_name(const char *name)
{
	if (!strcmp(name, "rolledBack"))
		return NOTIFY_EVENT_ROLLED_BACK; /* DESIGN §7's first spelling */
	for (size_t i = 0; i < sizeof(event_names) / sizeof(event_names[0]); i++)
		if (!strcmp(name, event_names[i]))
			return (enum notify_event_kind)(1u << i);
	return 0;
}

static void rfc3339(time_t t, char out[32])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int notify_event_json(struct buf *out, const struct notify_event *ev)
{
	const char *name = notify_event_name(ev->kind);
	char when[32];
	cJSON *o;
	bool ok;

	if (!name)
		return -EINVAL;
	rfc3339(ev->time, when);
	o = cJSON_CreateObject();
	ok = o != NULL;
	if (o) {
		add_str(o, "event", name, &ok);
		add_str(o, "time", when, &ok);
		add_str(o, "revision", ev->revision, &ok);
		add_str(o, "function", ev->function, &ok);
		add_str(o, "alias", ev->alias, &ok);
		add_str(o, "from", ev->from, &ok);
		add_str(o, "to", ev->to, &ok);
		add_str(o, "message", ev->message ? ev->message : "", &ok);
		if (ev->region)
			add_str(o, "region", ev->region, &ok);
	}
	if (!ok) {
		cJSON_Delete(o);
		return -ENOMEM;
	}
	return json_append(out, o);
}

/* Append s with Slack's three mrkdwn escapes, one line. */
static int slack_escape(struct buf *b, const char *s)
{
	int r = 0;

	for (; *s && r >= 0; s++) {
		switch (*s) {
		case '&':
			r = buf_puts(b, "&amp;");
			break;
		case '<':
			r = buf_puts(b, "&lt;");
			break;
		case '>':
			r = buf_puts(b, "&gt;");
			break;
		case '\n':
		case '\r':
		case '\t':
			r = buf_putc(b, ' ');
			break;
		default:
			r = buf_putc(b, *s);
		}
	}
	return r;
}

int notify_event_slack(struct buf *out, const struct notify_event *ev)
{
	const char *name = notify_event_name(ev->kind);
	struct buf t = BUF_INIT;
	cJSON *o;
	int r;

	if (!name)
		return -EINVAL;
	r = buf_puts(&t, "aliasd: ");
	if (r >= 0)
		r = buf_puts(&t, ev->kind == NOTIFY_EVENT_ROLLED_BACK         ? "rolled back"
		                 : ev->kind == NOTIFY_EVENT_UNTRUSTED         ? "untrusted commit"
		                 : ev->kind == NOTIFY_EVENT_STORAGE_WARNING   ? "code storage warning"
		                 : ev->kind == NOTIFY_EVENT_ROLLOUT_STARTED   ? "rollout started"
		                 : ev->kind == NOTIFY_EVENT_ROLLOUT_SUCCEEDED ? "rollout succeeded"
		                                                              : name);
	if (r >= 0 && ev->region) {
		r = buf_putc(&t, ' ');
		if (r >= 0)
			r = slack_escape(&t, ev->region);
	}
	if (r >= 0 && ev->function) {
		r = buf_putc(&t, ' ');
		if (r >= 0)
			r = slack_escape(&t, ev->function);
	}
	if (r >= 0 && ev->alias) {
		r = buf_putc(&t, ' ');
		if (r >= 0)
			r = slack_escape(&t, ev->alias);
	}
	if (r >= 0 && (ev->from || ev->to)) {
		r = buf_putc(&t, ' ');
		if (r >= 0 && ev->from)
			r = slack_escape(&t, ev->from);
		if (r >= 0 && ev->from && ev->to)
			r = buf_puts(&t, " -> ");
		if (r >= 0 && ev->to)
			r = slack_escape(&t, ev->to);
	}
	if (r >= 0 && ev->revision)
		r = buf_printf(&t, " (commit %.7s)", ev->revision);
	if (r >= 0 && ev->message && *ev->message) {
		r = buf_puts(&t, ": ");
		if (r >= 0)
			r = slack_escape(&t, ev->message);
	}
	if (r < 0)
		goto out;
	o = cJSON_CreateObject();
	if (!o || !cJSON_AddStringToObject(o, "text", t.ptr)) {
		cJSON_Delete(o);
		r = -ENOMEM;
		goto out;
	}
	r = json_append(out, o);
out:
	buf_release(&t);
	return r;
}
