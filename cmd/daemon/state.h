/*
 * state.h - the daemon's durable state file (DESIGN.md §3): what must
 * survive a restart, namely the last good desired state of each function,
 * kept as the commit it came from (re-read from the cache clone at start)
 * and the hash of the function's desired state in that commit.
 *
 * File: <stateDir>/daemon-state.json, one JSON object:
 *   {"format": "aliasd-state/1",
 *    "functions": [{"name": "orders", "region": null,
 *                   "file": "functions/orders.yaml",
 *                   "revision": "<40 hex: the commit>",
 *                   "hash": "<64 hex: daemon_function_hash()>"}, ...]}
 * Only Git sources are recorded (a folder has no commit to read again).
 * Written atomically: a temporary file in the same directory, fsync, rename,
 * fsync of the directory; so a crash leaves the old file or the new one.
 * A missing file is a fresh start; a corrupt one (bad JSON, a bad field,
 * too big) is a warning and a fresh start, never a crash.
 */
#ifndef ALIASD_CMD_DAEMON_STATE_H
#define ALIASD_CMD_DAEMON_STATE_H

#include <stddef.h>

#include "cmd/daemon/core.h"
#include "util/error.h"

#define STATE_FILE_NAME "daemon-state.json"
#define STATE_FORMAT    "aliasd-state/1"
#define STATE_FILE_MAX  ((size_t)64 << 20)

struct state_entry {
	char *name;
	char *region; /* NULL = the default region */
	char *file;
	char revision[CORE_REV_LEN];
	unsigned char hash[CORE_HASH_LEN];
};

struct state {
	struct state_entry *items;
	size_t n;
};

/*
 * The state file's text for what `c` holds now: every function with a last
 * good desired state from a commit.  *ret_text is malloc'ed.  Pure.
 */
int state_text_from_core(char **ret_text, const struct core *c);

/*
 * SHA-256 of a state file's text: the daemon keeps this rather than the
 * text it last wrote (some 240 bytes per function: 2.4 MB at 10,000) to
 * tell whether the file must be written again.
 */
#define STATE_DIGEST_LEN 32
void state_digest(const char *text, unsigned char ret[STATE_DIGEST_LEN]);

/* Parse a state file's text: 0, -EBADMSG (err says what), -ENOMEM. */
int state_parse(struct state *ret, const char *text, size_t len, struct error *err);

/*
 * Read and parse `path`: 0, -ENOENT (no file: a fresh start), -EBADMSG
 * (corrupt), or another negative errno (err says which).
 */
int state_read(struct state *ret, const char *path, struct error *err);

/* Replace `path` with `text` atomically (see above). */
int state_write(const char *path, const char *text, struct error *err);

/* Accepts an empty state. */
void state_release(struct state *s);

#endif
