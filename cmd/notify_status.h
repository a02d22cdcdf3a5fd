/*
 * notify_status.h - what aliasd tells GitHub and chat about a commit (DESIGN.md §7).
 *
 * Pure: no I/O, no clock (times are parameters).  From the outcome of a
 * commit this composes
 *  - the GitHub commit status: a state (pending, success, failure) and a
 *    description of at most NOTIFY_DESC_MAX characters (Unicode code points,
 *    GitHub's limit) that names what failed, and the JSON request body of
 *    POST /repos/{owner}/{repo}/statuses/{sha};
 *  - event objects {event, time, revision, function, alias, from, to, message}
 *    as JSON, and the one-line `slack` form {"text": "..."}.
 *
 * State rules (first that applies):
 *   untrusted commit                         -> failure "untrusted signature: REASON"
 *   invalid manifest                         -> failure "invalid manifest: FILE:LINE: MESSAGE"
 *   any function failed or rolled back       -> failure "N of M functions failed: F: REASON; ..."
 *                                               (one rollout: "rolled back F/ALIAS: REASON")
 *   any rollout progressing                  -> pending  "rollout F/ALIAS 50% (step 1/2)" (one),
 *                                               "rollouts F/A 10% (step 1/3), G/B 50% (step 2/2)"
 *                                               ("rolling out F, G" without alias details)
 *   work started                             -> pending  "applying commit"
 *   every function in sync                   -> success  "N functions in sync"
 *
 * Descriptions are one line (control characters become spaces) and cut at a
 * UTF-8 character boundary, ending in "..." when cut.
 */
#ifndef ALIASD_CMD_NOTIFY_STATUS_H
#define ALIASD_CMD_NOTIFY_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "util/buf.h"

/* GitHub's limit on a commit status description, in characters. */
#define NOTIFY_DESC_MAX 140
/* Bytes a description may take (4 per character at most) plus the NUL. */
#define NOTIFY_DESC_SIZE (NOTIFY_DESC_MAX * 4 + 1)

enum notify_state {
	NOTIFY_PENDING = 0,
	NOTIFY_SUCCESS,
	NOTIFY_FAILURE,
	NOTIFY_ERROR, /* the commit was superseded before its outcome was known */
};

/* "pending", "success", "failure", "error": GitHub's names. */
const char *notify_state_name(enum notify_state s);

enum notify_fn_state {
	NOTIFY_FN_SYNCED = 0,
	NOTIFY_FN_FAILED,      /* `reason` says why */
	NOTIFY_FN_PROGRESSING, /* a gradual rollout is under way */
	NOTIFY_FN_ROLLED_BACK, /* a rollout was rolled back; `reason` says why (alarm, hook) */
};

struct notify_fn_outcome {
	const char *function; /* never NULL */
	enum notify_fn_state state;
	const char *reason; /* NULL or "" when none */
	/* PROGRESSING, ROLLED_BACK: the alias whose rollout it is (NULL = not known) */
	const char *alias;
	unsigned percent, step, steps; /* PROGRESSING with alias: the new version's share, step k of n */
};

struct notify_commit_outcome {
	bool started;               /* work on the commit began; nothing final yet */
	const char *untrusted;      /* non-NULL: the commit is untrusted, the verify reason */
	const char *manifest_error; /* non-NULL: the commit's manifests are invalid, this message */
	const char *manifest_file;  /* its file (NULL = unknown) */
	unsigned manifest_line;     /* 1-based; 0 = unknown */
	const struct notify_fn_outcome *fns;
	size_t nfns;
};

/*
 * Compose the state and the description (NUL-terminated into `ret_desc`, of
 * NOTIFY_DESC_SIZE bytes) for outcome `o`.  Returns the state.
 */
enum notify_state notify_status_compose(char ret_desc[NOTIFY_DESC_SIZE],
                                        const struct notify_commit_outcome *o);

/*
 * Copy `in` into `out` (NOTIFY_DESC_SIZE bytes) as one line of at most
 * NOTIFY_DESC_MAX characters, cut at a character boundary ("..." appended
 * when cut).  Invalid UTF-8 bytes become '?'.  Returns the characters written.
 */
size_t notify_desc_clip(char out[NOTIFY_DESC_SIZE], const char *in);

/*
 * The JSON body of a commit status: {"state","description","context"} and
 * "target_url" when non-NULL.  Appends to `out`; 0 or -ENOMEM/-E2BIG.
 */
int notify_status_json(struct buf *out, enum notify_state state, const char *description, const char *context,
                       const char *target_url);

/*
 * Event kinds, as bits for a webhook's `events` filter.  Rollouts (DESIGN
 * §6): rollout.started when traffic starts to move (or preTraffic runs),
 * rollout.rolledBack when an alarm, preTraffic, a revert or `aliasd rollout
 * abort` put the old version back, rollout.succeeded when the new version
 * serves alone (also after `aliasd rollout promote`).
 */
enum notify_event_kind {
	NOTIFY_EVENT_APPLIED = 1 << 0,
	NOTIFY_EVENT_FAILED = 1 << 1,
	NOTIFY_EVENT_ROLLED_BACK = 1 << 2, /* rollout.rolledBack */
	NOTIFY_EVENT_DRIFT = 1 << 3,
	NOTIFY_EVENT_UNTRUSTED = 1 << 4,
	NOTIFY_EVENT_STORAGE_WARNING = 1 << 5, /* a region's code storage crossed 80% or 90% */
	NOTIFY_EVENT_ROLLOUT_STARTED = 1 << 6,
	NOTIFY_EVENT_ROLLOUT_SUCCEEDED = 1 << 7,
};
#define NOTIFY_EVENTS_ALL 0xff

/*
 * "applied", "failed", "rollout.rolledBack", "drift", "untrusted",
 * "storage.warning", "rollout.started", "rollout.succeeded"; NULL for
 * anything else.
 */
const char *notify_event_name(enum notify_event_kind k);
/*
 * The kind named `name` (exact spelling above; "rolledBack", the name of
 * earlier versions, is rollout.rolledBack), or 0.
 */
enum notify_event_kind notify_event_from_name(const char *name);

struct notify_event {
	enum notify_event_kind kind;
	time_t time;          /* rendered as RFC 3339 UTC */
	const char *revision; /* full commit id; NULL = null */
	const char *function; /* NULL = null (e.g. an untrusted commit) */
	const char *alias;
	const char *from; /* versions as strings ("3"); NULL = null */
	const char *to;
	const char *message; /* NULL = "" */
	const char *region;  /* storage.warning: the region; NULL = no "region" key */
};

/* Append the event as one JSON object to `out`: 0 or -ENOMEM/-E2BIG, -EINVAL for an unknown kind. */
int notify_event_json(struct buf *out, const struct notify_event *ev);

/*
 * Append the slack form {"text": "..."} to `out`.  The text is one line:
 *   "aliasd: applied orders Prod 3 -> 4 (commit 1a2b3c4): MESSAGE"
 *   "aliasd: rollout started orders Prod 3 -> 4 (commit 1a2b3c4): 10% (step 1/2)"
 * with only the parts the event has, and Slack's mrkdwn escapes (&, <, >).
 */
int notify_event_slack(struct buf *out, const struct notify_event *ev);

#endif
