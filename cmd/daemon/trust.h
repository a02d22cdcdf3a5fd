/*
 * trust.h - repository.verify in the daemon (DESIGN.md §7): only a head
 * commit signed by a trusted key is loaded.  Internal to cmd/daemon/.
 *
 * The Git thread verifies the fetched head (trust_verify, in poll_once after
 * the rewind check, before loading) with manifest_commit_verify() on the
 * bare cache clone, GnuPG's home under stateDir.  The loop records the
 * verdict (trust_finish): an untrusted head is not applied (the last good
 * state stays), /status says why (git.error
 * "commit 1a2b3c4: untrusted: signed by unknown key SHA256:...", and the
 * `trust` object), aliasd_untrusted_commits_total{reason} counts each
 * refused head once and it is logged once; the Git thread polls again as
 * usual, so a following trusted commit applies.  A tool failure (gpg or
 * ssh-keygen missing or failing) is a Git failure of step "verify": not
 * applied either, retried with backoff.
 */
#ifndef ALIASD_CMD_DAEMON_TRUST_H
#define ALIASD_CMD_DAEMON_TRUST_H

#include <cjson/cJSON.h>
#include <stdbool.h>
#include <stdint.h>

struct git_result;
struct manifest_repo;

/* Metric families (status_metrics_setup). */
int trust_metrics_setup(void);

/*
 * Git thread: verify commit `oid` (fetched into repo's cache) when
 * repository.verify is configured (d.cfg is stable during a poll).  Returns
 * 0 when the commit may be loaded (trusted, or verify is off); a negative
 * errno with res->status, step "verify" and err set otherwise: -EPERM with
 * res->verified when a verdict says untrusted, another errno when no verdict
 * was reached.
 */
int trust_verify(struct manifest_repo *repo, const char *oid, struct git_result *res);

/*
 * Loop thread, no lock, first thing for a finished poll: record the verdict
 * for /status.  Returns true when the poll was an untrusted head, handled
 * here (the caller does nothing more with it).
 */
bool trust_finish(uint64_t now, const struct git_result *res);

/* /status: the `trust` object, when repository.verify is configured (d.lock held). */
void trust_status_json(cJSON *root);

#endif
