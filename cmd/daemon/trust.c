/*
 * trust.c - repository.verify in the daemon: see trust.h.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "cmd/daemon/feedback.h"
#include "cmd/daemon/shell.h"
#include "cmd/daemon/trust.h"
#include "manifest/verify.h"
#include "util/log.h"

enum trust_state { TRUST_NONE, TRUST_TRUSTED, TRUST_UNTRUSTED, TRUST_ERROR };

/* What /status shows (under d.lock; written by the loop thread). */
static struct {
	enum trust_state state;
	char commit[CORE_REV_LEN];
	struct verify_result v;
	char error[ERROR_MSG_MAX];
	char refused[CORE_REV_LEN]; /* the head last refused: logged and counted once */
	struct verify_result good;  /* the last trusted verdict, and its commit */
	char good_commit[CORE_REV_LEN];
} t;

static struct metric_family *m_untrusted;

/* The metric's label for a verdict (no spaces). */
static const char *verdict_label(enum verify_verdict v)
{
	switch (v) {
	case VERIFY_TRUSTED:
		return "trusted";
	case VERIFY_UNSIGNED:
		return "unsigned";
	case VERIFY_UNKNOWN_KEY:
		return "unknown_key";
	case VERIFY_BAD_SIGNATURE:
		return "bad_signature";
	case VERIFY_PROVIDER_MISMATCH:
		return "provider_mismatch";
	case VERIFY_EXPIRED_OR_REVOKED:
		return "expired_or_revoked";
	}
	return "other";
}

int trust_metrics_setup(void)
{
	static const char *const l_reason[] = {"reason", NULL};

	m_untrusted = metrics_family_add(d.metrics, "aliasd_untrusted_commits_total",
	                                 "Head commits refused by repository.verify, each counted once, "
	                                 "by reason (unsigned, unknown_key, bad_signature, "
	                                 "provider_mismatch, expired_or_revoked).",
	                                 METRIC_COUNTER, l_reason, NULL, 0);
	if (!m_untrusted)
		return -ENOMEM;
	for (int v = VERIFY_UNSIGNED; v <= VERIFY_EXPIRED_OR_REVOKED; v++)
		metrics_counter_add(m_untrusted, (const char *[]){verdict_label(v)}, 0);
	return 0;
}

int trust_verify(struct manifest_repo *repo, const char *oid, struct git_result *res)
{
	const struct config *c = d.cfg;
	struct verify_config vc = {
	    .provider = (enum verify_provider)c->verify_provider,
	    .allowed_signers_file = c->verify_allowed_signers_file,
	    .keyring_file = c->verify_keyring_file,
	    .state_dir = c->state_dir,
	};
	int r;

	if (!c->verify_provider)
		return 0;
	snprintf(res->step, sizeof(res->step), "verify");
	if (!oid[0] || !manifest_repo_cache_path(repo)[0]) {
		error_set(&res->err, -EINVAL,
		          "repository.verify: a folder has no commit to verify: use a Git repository");
		error_set_kind(&res->err, ERROR_KIND_TERMINAL);
		return res->status = -EINVAL;
	}
	r = manifest_commit_verify(&res->trust, manifest_repo_cache_path(repo), oid, &vc, &res->err);
	if (r < 0) {
		error_prefix(&res->err, "commit %.7s", oid);
		return res->status = r;
	}
	res->verified = true;
	if (res->trust.verdict == VERIFY_TRUSTED) {
		res->step[0] = '\0';
		return 0;
	}
	snprintf(res->head, sizeof(res->head), "%s", oid);
	error_set(&res->err, -EPERM, "commit %.7s: untrusted: %s", oid, res->trust.reason);
	error_set_kind(&res->err, ERROR_KIND_TERMINAL);
	return res->status = -EPERM;
}

bool trust_finish(uint64_t now, const struct git_result *res)
{
	char text[ERROR_MSG_MAX + ERROR_FILE_MAX + 64];
	bool first, verify_step = !strcmp(res->step, "verify");

	if (!res->verified && !verify_step) {
		/* the ref went back to the trusted commit loaded: its verdict holds again */
		pthread_mutex_lock(&d.lock);
		if (res->status == 0 && !res->gen && t.state != TRUST_TRUSTED && t.good_commit[0] &&
		    !strcmp(res->head, t.good_commit)) {
			t.state = TRUST_TRUSTED;
			t.v = t.good;
			t.error[0] = '\0';
			memcpy(t.commit, t.good_commit, sizeof(t.commit));
			t.refused[0] = '\0';
		}
		pthread_mutex_unlock(&d.lock);
		return false;
	}
	pthread_mutex_lock(&d.lock);
	if (res->verified) {
		t.state = res->trust.verdict == VERIFY_TRUSTED ? TRUST_TRUSTED : TRUST_UNTRUSTED;
		t.v = res->trust;
		t.error[0] = '\0';
		snprintf(t.commit, sizeof(t.commit), "%s",
		         res->status < 0 ? res->head
		         : res->gen      ? res->gen->revision
		                         : res->head);
		if (t.state == TRUST_TRUSTED && (res->gen || res->reverified)) {
			t.good = t.v;
			memcpy(t.good_commit, t.commit, sizeof(t.good_commit));
		}
		if (t.state == TRUST_UNTRUSTED && res->reverified) {
			/* the loaded commit, no longer trusted (a reloaded policy): keep saying so */
			t.good_commit[0] = '\0';
			d.reverify = true;
		}
	} else {
		t.state = TRUST_ERROR;
		memset(&t.v, 0, sizeof(t.v));
		error_format(&res->err, t.error, sizeof(t.error));
		snprintf(t.commit, sizeof(t.commit), "%s", res->head); /* the head fetched */
	}
	if (t.state != TRUST_UNTRUSTED) {
		t.refused[0] = '\0';
		pthread_mutex_unlock(&d.lock);
		return false;
	}
	/* untrusted: keep everything as it is, say why, poll again as usual */
	core_poll_ok(&d.core, now, daemon_random_u32());
	snprintf(d.remote_rev, sizeof(d.remote_rev), "%s", res->head);
	first = strcmp(t.refused, res->head) != 0;
	snprintf(t.refused, sizeof(t.refused), "%s", res->head);
	error_format(&res->err, text, sizeof(text));
	daemon_set_str(&d.load_error, text);
	pthread_mutex_unlock(&d.lock);
	if (!first)
		return true;
	metrics_counter_add(m_untrusted, (const char *[]){verdict_label(res->trust.verdict)}, 1);
	log_event(LOG_WARNING, "untrusted commit refused", "revision", res->head, "reason",
	          verdict_label(res->trust.verdict), "signer", res->trust.signer[0] ? res->trust.signer : "-",
	          "key", res->trust.key[0] ? res->trust.key : "-", "error", text, NULL);
	feedback_commit_untrusted(res->head, text); /* a failure status and an `untrusted` event */
	return true;
}

/* A string into JSON, "" as null, bytes that are not UTF-8 as \xNN. */
static void add_str(cJSON *o, const char *key, const char *s)
{
	struct buf b = BUF_INIT;

	if (!s || !*s)
		cJSON_AddNullToObject(o, key);
	else if (log_utf8_valid(s))
		cJSON_AddStringToObject(o, key, s);
	else if (log_escape(&b, s, false) == 0 && b.ptr)
		cJSON_AddStringToObject(o, key, b.ptr);
	else
		cJSON_AddNullToObject(o, key);
	buf_release(&b);
}

void trust_status_json(cJSON *root)
{
	static const char *const names[] = {"unknown", "trusted", "untrusted", "error"};
	cJSON *o;

	if (!d.cfg->verify_provider)
		return;
	o = cJSON_AddObjectToObject(root, "trust");
	if (!o)
		return;
	cJSON_AddStringToObject(o, "provider", verify_provider_name(d.cfg->verify_provider));
	cJSON_AddStringToObject(o, "state", names[t.state]);
	add_str(o, "reason", t.state == TRUST_ERROR ? t.error : t.v.reason);
	add_str(o, "signer", t.v.signer);
	add_str(o, "key", t.v.key);
	add_str(o, "commit", t.commit);
}
