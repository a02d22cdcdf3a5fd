/*
 * rollout.h - the pure step machine of a progressive rollout (DESIGN §6).
 *
 * A rollout is a state of an alias, not a loop.  rollout_next() takes what
 * is known now (the spec, the desired version B, the observed alias, the
 * durable progress record, the alarm reading, the preTraffic outcome, an
 * operator command and `now`) and returns ONE next action, the progress
 * record to store, and when to look again.  Nothing here does I/O or reads a
 * clock: the caller (daemon, `aliasd apply`, `aliasd rollout ...`) observes,
 * calls rollout_next(), stores the record, performs the action, and calls
 * again.
 *
 * The caller's protocol (what makes kill -9 safe):
 *   1. observe the alias; read the alarms; call rollout_next();
 *   2. if decision.record_changed: store decision.record durably (write,
 *      fsync, rename, or a conditional write);
 *   3. perform decision.action (one Lambda call, or the preTraffic invoke);
 *   4. call again at once after an action, else at decision.next_check.
 * The record is written BEFORE the action (an intent).  A kill between 2 and 3
 * leaves a record ahead of the alias; the next rollout_next() sees the alias
 * behind the record and issues the same action again (UpdateAlias is
 * idempotent).  So a restart continues the same rollout: it never starts
 * over and never jumps to 100%.
 *
 * Invariants (tests/unit/test_reconcile_rollout.c holds each one):
 *  - Traffic only moves forward to the NEXT step (or to 100% after the last
 *    one) when the current step has lasted `interval` AND the alarm reading
 *    is ROLLOUT_ALARMS_OK.  Unreadable alarms hold the step: no advance, no
 *    rollback.  A re-issued step (the alias is behind the record) restarts
 *    that step's clock (time counts only while the traffic is there).
 *  - Any alarm in ALARM during a rollout -> ROLLBACK (UpdateAlias(A), no
 *    weights) in that same decision, state RolledBack, reason = the alarm's
 *    name.  A declared alarm that does not exist -> RolledBack before any
 *    traffic moves (or at once, if it disappears mid-rollout): a typo never
 *    switches the guard off.  A failed preTraffic -> RolledBack with no
 *    traffic ever moved.
 *  - RolledBack stays RolledBack (no write at all, once the alias is on A)
 *    until the desired state changes: another desired version, or another
 *    `desired_id` (the caller's fingerprint of the function's declared
 *    state), or ROLLOUT_CMD_RETRY.
 *  - Git back to A during a rollout (revert) -> exactly one ROLLBACK.  Git to
 *    a third version C -> the rollout restarts from A to C (the alias is put
 *    back on A first if B carries traffic).
 *  - A new alias is created on B at once (no traffic to shift).  AllAtOnce
 *    (no steps) is exactly one UpdateAlias (FINISH), after the same gates
 *    (preTraffic, alarms exist and are not in ALARM).
 *  - The guard period is max(1 s, min(interval / 5, 10 s)).
 *
 * Versions are published version numbers (>= 1); 0 means "none".
 */
#ifndef ALIASD_RECONCILE_ROLLOUT_H
#define ALIASD_RECONCILE_ROLLOUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "manifest/rollout.h"
#include "util/buf.h"
#include "util/error.h"

#define ROLLOUT_GUARD_MAX  10 /* seconds: the slowest alarm check */
#define ROLLOUT_REASON_MAX 256
#define ROLLOUT_ID_MAX     72 /* desired_id: [A-Za-z0-9._:-], e.g. a hex digest */

/* max(1, min(interval / 5, 10)) seconds. */
unsigned rollout_guard_period(const struct rollout_spec *spec);
/* "[10%, 50%] every 5m" or "all at once": appended to out. */
int rollout_spec_describe(const struct rollout_spec *spec, struct buf *out);

/* ---- the durable progress record --------------------------------------------- */

enum rollout_state {
	ROLLOUT_NONE = 0,    /* no record */
	ROLLOUT_PROGRESSING, /* from -> to, at `step` */
	ROLLOUT_SUCCEEDED,   /* the alias serves `to` with no weights (or is being put there) */
	ROLLOUT_ROLLED_BACK, /* the alias serves `from` with no weights (or is being put back) */
};

struct rollout_progress {
	enum rollout_state state;
	unsigned from, to; /* A and B; from = 0 for an alias created on B */
	unsigned step;     /* 0 = no traffic moved yet (preTraffic, gates); k = at steps[k-1] */
	int64_t since;     /* when the current step began (or the state was reached), unix seconds */
	char desired_id[ROLLOUT_ID_MAX]; /* the caller's desired_id when this rollout started */
	char reason[ROLLOUT_REASON_MAX]; /* RolledBack: why (alarm name, preTraffic, revert...) */
};

/* "Progressing", "Succeeded", "RolledBack", "None". */
const char *rollout_state_name(enum rollout_state s);

/*
 * Compact one-line text form, for whatever durable store the caller uses
 * (at most ROLLOUT_TEXT_MAX bytes):
 *   aliasd-rollout/1 state=Progressing from=3 to=4 step=1 since=1764470000 id=HEX reason=ENC
 * reason is percent-encoded (RFC 3986 unreserved set kept).  Appended to out.
 */
#define ROLLOUT_TEXT_MAX 1024
int rollout_progress_format(const struct rollout_progress *p, struct buf *out);
/*
 * The inverse.  Strict: the exact field order, decimal numbers without
 * signs or leading zeros, a known state, step <= ROLLOUT_MAX_STEPS, to >= 1,
 * a valid id, a reason that decodes to printable text; a trailing newline is
 * allowed.  -EBADMSG (err says which field) and *ret untouched otherwise.
 */
int rollout_progress_parse(const char *text, size_t len, struct rollout_progress *ret, struct error *err);

/* ---- one decision -------------------------------------------------------------- */

struct rollout_alias {
	bool exists;
	unsigned primary; /* the alias's FunctionVersion */
	unsigned extra;   /* the weighted additional version, 0 = none */
	double weight;    /* its weight, 0..1 (0 when extra == 0) */
};

enum rollout_alarms {
	ROLLOUT_ALARMS_OK = 0,     /* every declared alarm exists and none is in ALARM (or none declared) */
	ROLLOUT_ALARMS_ALARM,      /* `alarm` is in ALARM */
	ROLLOUT_ALARMS_MISSING,    /* `alarm` does not exist */
	ROLLOUT_ALARMS_UNREADABLE, /* the last DescribeAlarms failed; unreadable since `alarms_since` */
};

enum rollout_pre_traffic {
	ROLLOUT_PRE_NOT_RUN = 0, /* not invoked for this record's (from, to) yet */
	ROLLOUT_PRE_SUCCEEDED,
	ROLLOUT_PRE_FAILED, /* FunctionError or an error answer; `pre_traffic_reason` says which */
};

enum rollout_command {
	ROLLOUT_CMD_NONE = 0,
	ROLLOUT_CMD_PROMOTE, /* `aliasd rollout promote`: finish now */
	ROLLOUT_CMD_ABORT,   /* `aliasd rollout abort`: roll back now */
	ROLLOUT_CMD_RETRY,   /* `aliasd rollout retry`: start a rolled-back rollout again */
};

struct rollout_input {
	const struct rollout_spec *spec;       /* required */
	unsigned desired;                      /* B: the version the manifest wants, >= 1 */
	const char *desired_id;                /* fingerprint of the function's declared state; may be NULL */
	struct rollout_alias alias;            /* observed */
	const struct rollout_progress *record; /* NULL or state ROLLOUT_NONE: no record */
	enum rollout_alarms alarms;            /* the latest reading */
	const char *alarm;                     /* ALARM/MISSING: which alarm (may be NULL) */
	int64_t alarms_since;                  /* UNREADABLE: since when */
	enum rollout_pre_traffic pre_traffic;  /* outcome for record (from, to), if invoked */
	const char *pre_traffic_reason;        /* FAILED: why (may be NULL) */
	enum rollout_command command;
	int64_t now; /* unix seconds */
};

enum rollout_action_kind {
	ROLLOUT_ACT_NONE = 0,
	ROLLOUT_ACT_CREATE,      /* CreateAlias on `to`, no weights */
	ROLLOUT_ACT_PRE_TRAFFIC, /* invoke preTraffic with {"alias", "from", "to"}, then call again */
	ROLLOUT_ACT_SHIFT,       /* UpdateAlias(primary = from, {to: weight}) */
	ROLLOUT_ACT_FINISH,      /* UpdateAlias(to), no weights */
	ROLLOUT_ACT_ROLLBACK,    /* UpdateAlias(from), no weights */
};

/* "none", "create", "pre-traffic", "shift", "finish", "rollback". */
const char *rollout_action_name(enum rollout_action_kind k);

struct rollout_action {
	enum rollout_action_kind kind;
	unsigned from, to;
	unsigned percent; /* SHIFT: steps[k-1]; FINISH/CREATE: 100; else 0 */
	double weight;    /* SHIFT: percent / 100.0 */
};

struct rollout_decision {
	struct rollout_action action;
	struct rollout_progress record; /* the record to store (a copy of the input's when unchanged) */
	bool record_changed;            /* store `record` before performing `action` */
	int64_t next_check;             /* absolute time to call again; 0 = nothing pending
	                                   (call again on the next change of the desired state) */
};

/*
 * Decide.  -EINVAL (err says why) for a NULL or invalid spec, desired 0, or
 * an alias that names version 0; *ret untouched then.
 */
int rollout_next(const struct rollout_input *in, struct rollout_decision *ret, struct error *err);

/*
 * The guard's reading from a DescribeAlarms answer (aws/cloudwatch.h): ALARM
 * when any alarm is in ALARM, else MISSING when any does not exist, else
 * UNREADABLE when any state is one this build does not know, else OK (an
 * empty answer, for a rollout without alarms, is OK).  *ret_alarm (may be
 * NULL) names the alarm for ALARM, MISSING and UNREADABLE; it points into `a`.
 */
struct cloudwatch_alarms;
enum rollout_alarms rollout_alarms_reading(const struct cloudwatch_alarms *a, const char **ret_alarm);

/*
 * The weight of the new version that the record stands for (for /status and
 * aliasd_rollout_weight): steps[step-1] / 100 while progressing (0 at step
 * 0), 1 when succeeded, 0 when rolled back or without a record.
 */
double rollout_progress_weight(const struct rollout_spec *spec, const struct rollout_progress *p);

/* True when alias weight `w` is step `percent` (Lambda keeps weights as doubles). */
bool rollout_weight_is(double w, unsigned percent);

#endif
