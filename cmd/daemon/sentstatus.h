/*
 * sentstatus.h - the last GitHub commit status the daemon sent, kept across
 * restarts, so that a restart does not post `pending` and `success` again on
 * a commit that already has its outcome (one status per state change, also
 * across restarts: DESIGN.md §7).
 *
 * File: <stateDir>/github-status, four lines:
 *   aliasd-github-status/1
 *   <40 hex: the commit>
 *   <state: pending | success | failure | error>
 *   <the description sent (one line, <= 140 characters)>
 * Written atomically (state_write(): temporary file, fsync, rename).  A
 * missing file is a fresh start; a corrupt one is ignored (the statuses of
 * the commit loaded at start are then sent again, as they would be without
 * the file), never a crash.
 */
#ifndef ALIASD_CMD_DAEMON_SENTSTATUS_H
#define ALIASD_CMD_DAEMON_SENTSTATUS_H

#include <stddef.h>

#include "cmd/daemon/core.h"
#include "cmd/notify_status.h"
#include "util/error.h"

#define SENT_STATUS_FILE_NAME "github-status"
#define SENT_STATUS_FORMAT    "aliasd-github-status/1"

struct sent_status {
	char rev[CORE_REV_LEN];
	enum notify_state state;
	char desc[NOTIFY_DESC_SIZE];
};

/* The file's text for `s` (malloc'ed into *ret_text).  0 or -ENOMEM.  Pure. */
int sent_status_text(char **ret_text, const struct sent_status *s);

/* Parse a file's text: 0, or -EBADMSG when it is not one this version wrote.  Pure. */
int sent_status_parse(struct sent_status *ret, const char *text, size_t len);

/* Read `path`: 0, -ENOENT (no file), -EBADMSG (corrupt), another -errno (err says which). */
int sent_status_read(struct sent_status *ret, const char *path, struct error *err);

/* Replace `path` with `s` atomically.  0 or -errno with `err` set. */
int sent_status_write(const char *path, const struct sent_status *s, struct error *err);

#endif
