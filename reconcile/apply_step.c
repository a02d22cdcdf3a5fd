/*
 * apply_step.c - each planned step of a function against Lambda (create,
 * update code and configuration, publish, the alias writes, deletions, a
 * rollout's step) and the waits for $LATEST and new versions (see
 * apply_run.h).
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "aws/lambda.h"
#include "manifest/load.h"
#include "reconcile/apply_run.h"
#include "reconcile/rollout_run.h"
#include "reconcile/zip_budget.h"
#include "util/clock.h"

int apply_nap(struct run *run, unsigned ms)
{
	while (ms > 0) {
		unsigned slice = ms > 50 ? 50 : ms;
		struct timespec ts = {0, (long)slice * 1000000L};

		if (run->ctx->stopped)
			return -ECANCELED;
		nanosleep(&ts, NULL);
		ms -= slice;
	}
	return run->ctx->stopped ? -ECANCELED : 0;
}

static unsigned wait_limit(const struct run *run)
{
	return run->opt->wait_timeout_ms ? run->opt->wait_timeout_ms : RECONCILE_DEFAULT_WAIT_MS;
}

/*
 * Poll GetFunction until $LATEST is Active and not InProgress: ~100 ms, then
 * doubling to 1 s apart (Lambda's advice), bounded by the wait limit.
 */
static int wait_latest(struct run *run, struct aws_error *aerr)
{
	uint64_t deadline = clock_monotonic_ms() + wait_limit(run);
	unsigned delay = 100;
	int r;

	for (;;) {
		struct lambda_function f = {0};
		bool busy;

		r = lambda_function_get(run->c, run->fn->name, NULL, &f, aerr);
		if (r < 0)
			return r;
		busy = (f.config.state && !strcmp(f.config.state, "Pending")) ||
		       (f.config.last_update_status && !strcmp(f.config.last_update_status, "InProgress"));
		if (!busy && run->ours &&
		    ((f.config.state && !strcmp(f.config.state, "Failed")) ||
		     (f.config.last_update_status && !strcmp(f.config.last_update_status, "Failed")))) {
			/* our own create/update failed: retrying the same thing will not help */
			r = aws_error_set(
			    aerr, -EPROTO, "GetFunction", "update of %s failed: %s", run->fn->name,
			    f.config.last_update_status_reason ? f.config.last_update_status_reason
			    : f.config.state_reason            ? f.config.state_reason
			                                       : "no reason given");
			apply_fail_kind(aerr, ERROR_KIND_TERMINAL, r);
			lambda_function_release(&f);
			run->ours = false;
			return r;
		}
		if (!busy) {
			run->ours = false;
			plan_version_release(&run->latest);
			r = reconcile_version_from_lambda(&run->latest, &f.config);
			snprintf(run->rev, sizeof(run->rev), "%s",
			         f.config.revision_id ? f.config.revision_id : "");
			lambda_function_release(&f);
			if (r < 0)
				return aws_error_set(aerr, r, "GetFunction", "out of memory");
			run->fresh = true;
			return 0;
		}
		lambda_function_release(&f);
		if (clock_monotonic_ms() + delay > deadline)
			return apply_fail_kind(aerr, ERROR_KIND_TRANSIENT,
			                       aws_error_set(aerr, -ETIMEDOUT, "GetFunction",
			                                     "function %s still updating after %u ms",
			                                     run->fn->name, wait_limit(run)));
		if ((r = apply_nap(run, delay)) < 0)
			return apply_fail_kind(aerr, ERROR_KIND_CANCELED,
			                       aws_error_set(aerr, r, "GetFunction", "stopped"));
		delay = delay * 2 > 1000 ? 1000 : delay * 2;
	}
}

static int ensure_fresh(struct run *run, struct aws_error *aerr)
{
	return run->fresh ? 0 : wait_latest(run, aerr);
}

static int wait_version(struct run *run, long version, struct aws_error *aerr)
{
	uint64_t deadline = clock_monotonic_ms() + wait_limit(run);
	unsigned delay = 100;
	char q[32];
	int r;

	snprintf(q, sizeof(q), "%ld", version);
	for (;;) {
		struct lambda_function f = {0};
		bool pending, failed;

		/* GetFunction?Qualifier=N: the 100/s quota, not the shared 15/s one */
		r = lambda_function_get(run->c, run->fn->name, q, &f, aerr);
		if (r < 0)
			return r;
		pending = f.config.state && !strcmp(f.config.state, "Pending");
		failed = f.config.state && !strcmp(f.config.state, "Failed");
		lambda_function_release(&f);
		if (failed)
			return apply_fail_kind(aerr, ERROR_KIND_TRANSIENT,
			                       aws_error_set(aerr, -EIO, "GetFunction",
			                                     "version %ld of %s failed", version,
			                                     run->fn->name));
		if (!pending)
			return 0;
		if (clock_monotonic_ms() + delay > deadline)
			return apply_fail_kind(aerr, ERROR_KIND_TRANSIENT,
			                       aws_error_set(aerr, -ETIMEDOUT, "GetFunction",
			                                     "version %ld of %s still pending after %u ms",
			                                     version, run->fn->name, wait_limit(run)));
		if ((r = apply_nap(run, delay)) < 0)
			return apply_fail_kind(aerr, ERROR_KIND_CANCELED,
			                       aws_error_set(aerr, r, "GetFunction", "stopped"));
		delay = delay * 2 > 1000 ? 1000 : delay * 2;
	}
}

/* Configuration input of release `ri` (every managed field). */
struct cfg_input {
	struct lambda_config_input in;
	struct lambda_env_input *env;
};

static int cfg_input_build(struct cfg_input *ci, const struct manifest_config *m)
{
	memset(ci, 0, sizeof(*ci));
	if (m->set & MANIFEST_CFG_RUNTIME)
		ci->in.runtime = m->runtime;
	if (m->set & MANIFEST_CFG_HANDLER)
		ci->in.handler = m->handler;
	if (m->set & MANIFEST_CFG_ROLE)
		ci->in.role = m->role;
	if (m->set & MANIFEST_CFG_DESCRIPTION)
		ci->in.description = m->description ? m->description : "";
	if (m->set & MANIFEST_CFG_TIMEOUT)
		ci->in.timeout = m->timeout;
	if (m->set & MANIFEST_CFG_MEMORY)
		ci->in.memory_size = m->memory_size;
	if (m->set & MANIFEST_CFG_EPHEMERAL)
		ci->in.ephemeral_storage = m->ephemeral_storage;
	if (m->set & MANIFEST_CFG_ENVIRONMENT) {
		ci->env = calloc(m->n_env + 1, sizeof(*ci->env));
		if (!ci->env)
			return -ENOMEM;
		for (size_t i = 0; i < m->n_env; i++)
			ci->env[i] = (struct lambda_env_input){m->env[i].name, m->env[i].value};
		ci->in.set_environment = true;
		ci->in.env = ci->env;
		ci->in.n_env = m->n_env;
	}
	return 0;
}

/*
 * Code input of a release; zip bytes read (and hash-checked) into `zip`,
 * under a reservation of the zip budget (*held, given back by the caller
 * with zip_budget_release once the upload is over).
 */
static int code_input_build(struct run *run, struct lambda_code *code, const struct manifest_code *mc,
                            struct buf *zip, uint64_t *held, struct aws_error *aerr)
{
	struct error e = ERROR_INIT;
	uint64_t n;
	int r;

	memset(code, 0, sizeof(*code));
	switch (mc->kind) {
	case MANIFEST_CODE_ZIP:
		if (!run->opt->source)
			return aws_error_set(aerr, -EINVAL, "read", "no source to read %s from",
			                     mc->zip_path);
		n = 2 * mc->zip_size;
		r = zip_budget_reserve(&run->ctx->stopped, &n);
		if (r < 0)
			return aws_error_set(aerr, r, "read", "%s: stopped", mc->zip_path);
		*held = n;
		r = manifest_code_read_zip(run->opt->source, mc, zip, &e);
		zip_budget_release(held, n / 2); /* the blob is gone, our copy stays */
		if (r < 0)
			return aws_error_set(aerr, r, "read", "%s: %s", mc->zip_path, e.msg);
		code->zip = zip->ptr;
		code->zip_len = zip->len;
		return 0;
	case MANIFEST_CODE_S3:
		code->s3_bucket = mc->s3_bucket;
		code->s3_key = mc->s3_key;
		code->s3_object_version = mc->s3_object_version;
		return 0;
	case MANIFEST_CODE_IMAGE:
		code->image_uri = mc->image_uri;
		return 0;
	case MANIFEST_CODE_NONE:
		break;
	}
	return aws_error_set(aerr, -EINVAL, "read", "release has no code");
}

/*
 * Can CreateFunction carry the publish of the release it creates the
 * function with?  When the plan's next write is that very publish and the
 * manifest leaves `config.description` alone: then the function's
 * description is free to hold the release's trace, which `Publish: true`
 * copies into version 1 (a publish-with-create cannot set the version's own
 * description).  Only in a pass observed from a fleet listing (the
 * quota-frugal mode of reconcile_batch): elsewhere the calls stay as they
 * were, one PublishVersion per release.  Version 1 is exactly the uploaded
 * code of a function that did not exist: no one else's change can be
 * published by it (a function that appeared meanwhile makes CreateFunction
 * fail with 409, and nothing is published).
 */
static bool create_carries_publish(const struct run *run, const struct plan_step *s)
{
	const struct manifest_release *mr = &run->fn->releases[s->release];

	if (!run->frugal || (mr->config.set & MANIFEST_CFG_DESCRIPTION))
		return false;
	for (const struct plan_step *n = s + 1; n < run->p.steps + run->p.n_steps; n++) {
		if (n->kind == PLAN_STEP_WAIT_UPDATED)
			continue;
		return n->kind == PLAN_STEP_PUBLISH && n->release == s->release;
	}
	return false;
}

/* After CreateFunction with Publish: remember version 1 for the PUBLISH step. */
static void create_published(struct run *run, const struct plan_step *s,
                             const struct lambda_function_config *out)
{
	struct plan_version v = {0};

	if (reconcile_version_from_lambda(&v, out) < 0)
		return; /* out of memory: PublishVersion finds version 1 (nothing changed since) */
	if (v.number > 0 && !strcmp(v.code_sha256, run->d.releases[s->release].code.sha256)) {
		run->carried = s->release;
		run->carried_version = v.state == PLAN_STATE_PENDING ? v.number : -v.number;
		plan_version_release(&run->made);
		run->made = v; /* for the cache */
		return;
	}
	plan_version_release(&v);
}

static int step_create_function(struct run *run, const struct plan_step *s, struct aws_error *aerr)
{
	const struct manifest_release *mr = &run->fn->releases[s->release];
	struct lambda_create_input in = {0};
	struct lambda_function_config out = {0};
	struct cfg_input ci;
	struct buf zip = BUF_INIT_CAP(LAMBDA_MAX_ZIP_BYTES + 1);
	struct buf trace = BUF_INIT;
	uint64_t held = 0;
	int r;

	r = cfg_input_build(&ci, &mr->config);
	if (r < 0)
		return aws_error_set(aerr, r, "CreateFunction", "out of memory");
	r = code_input_build(run, &in.code, &mr->code, &zip, &held, aerr);
	if (r < 0)
		goto out;
	in.function_name = run->fn->name;
	in.config = ci.in;
	in.package_type = mr->code.kind == MANIFEST_CODE_IMAGE ? "Image" : "Zip";
	in.publish = false;
	if (create_carries_publish(run, s) &&
	    plan_publish_description(&trace, &run->d, (size_t)s->release) >= 0) {
		in.config.description = trace.ptr;
		in.publish = true;
	}
	r = lambda_function_create(run->c, &in, &out, aerr);
	if (r >= 0 && in.publish)
		create_published(run, s, &out);
	lambda_function_config_release(&out);
	run->fresh = false;
	run->ours = r >= 0;
out:
	buf_release(&trace);
	free(ci.env);
	buf_release(&zip);
	zip_budget_release(&held, held);
	return r;
}

static int step_update_code(struct run *run, const struct plan_step *s, struct aws_error *aerr)
{
	const struct manifest_release *mr = &run->fn->releases[s->release];
	struct lambda_code_input in = {0};
	struct lambda_function_config out = {0};
	struct buf zip = BUF_INIT_CAP(LAMBDA_MAX_ZIP_BYTES + 1);
	uint64_t held = 0;
	int r;

	r = ensure_fresh(run, aerr);
	if (r < 0)
		return r;
	r = code_input_build(run, &in.code, &mr->code, &zip, &held, aerr);
	if (r < 0)
		goto out;
	in.revision_id = run->rev[0] ? run->rev : NULL;
	in.publish = false;
	r = lambda_function_code_update(run->c, run->fn->name, &in, &out, aerr);
	lambda_function_config_release(&out);
	run->fresh = false;
	run->ours = r >= 0;
out:
	buf_release(&zip);
	zip_budget_release(&held, held);
	return r;
}

static int step_update_config(struct run *run, const struct plan_step *s, struct aws_error *aerr)
{
	const struct manifest_release *mr = &run->fn->releases[s->release];
	struct lambda_function_config out = {0};
	struct cfg_input ci;
	int r;

	r = ensure_fresh(run, aerr);
	if (r < 0)
		return r;
	r = cfg_input_build(&ci, &mr->config);
	if (r < 0)
		return aws_error_set(aerr, r, "UpdateFunctionConfiguration", "out of memory");
	ci.in.revision_id = run->rev[0] ? run->rev : NULL;
	r = lambda_function_config_update(run->c, run->fn->name, &ci.in, &out, aerr);
	lambda_function_config_release(&out);
	run->fresh = false;
	run->ours = r >= 0;
	free(ci.env);
	return r;
}

static int step_publish(struct run *run, const struct plan_step *s, long *ret_version, struct aws_error *aerr)
{
	const struct plan_release *rel = &run->d.releases[s->release];
	struct lambda_function_config out = {0};
	struct plan_version v = {0};
	struct buf desc = BUF_INIT;
	unsigned diff;
	int r;

	r = ensure_fresh(run, aerr);
	if (r < 0)
		return r;
	/*
	 * The guard: publish only what was just seen to be this release, with
	 * the RevisionId of that very observation.
	 */
	diff = plan_config_diff(&run->latest.config, &rel->config);
	if (strcmp(run->latest.code_sha256, rel->code.sha256) || diff) {
		run->fresh = false;
		r = aws_error_set(aerr, -ESTALE, "PublishVersion",
		                  "$LATEST of %s changed under aliasd (code %s%s): not publishing it as %s",
		                  run->fn->name, run->latest.code_sha256,
		                  diff ? ", configuration differs" : "", rel->name);
		return apply_fail_kind(aerr, ERROR_KIND_CONFLICT, r);
	}
	r = plan_publish_description(&desc, &run->d, (size_t)s->release);
	if (r < 0) {
		buf_release(&desc);
		return aws_error_set(aerr, r, "PublishVersion", "out of memory");
	}
	r = lambda_version_publish(run->c, run->fn->name, rel->code.sha256, run->rev[0] ? run->rev : NULL,
	                           desc.ptr, &out, aerr);
	buf_release(&desc);
	run->fresh = false;
	/*
	 * The CodeSha256 guard: Lambda answers a CodeSha256 that is no longer
	 * $LATEST's with 400 InvalidParameterValueException.  The request was
	 * checked against $LATEST just before, so for this call that code means
	 * the world moved: observe again.  (By code, never by message text.)
	 */
	if (r < 0 && aws_error_is(aerr, "InvalidParameterValueException"))
		return apply_fail_kind(aerr, ERROR_KIND_CONFLICT, r);
	if (r < 0)
		return r;
	r = reconcile_version_from_lambda(&v, &out);
	lambda_function_config_release(&out);
	if (r < 0)
		return aws_error_set(aerr, r, "PublishVersion", "out of memory");
	if (v.number <= 0 || strcmp(v.code_sha256, rel->code.sha256)) {
		r = aws_error_set(aerr, -EBADMSG, "PublishVersion",
		                  "published version %ld has code %s, expected %s", v.number, v.code_sha256,
		                  rel->code.sha256);
		plan_version_release(&v);
		return r;
	}
	*ret_version = v.number;
	if (v.state != PLAN_STATE_PENDING)
		*ret_version = -v.number; /* already active: no wait needed */
	plan_version_release(&run->made);
	run->made = v; /* for the cache */
	return 0;
}

long apply_ref_version(const struct run *run, const struct plan_ref *ref)
{
	return ref->release >= 0 ? run->p.resolved[ref->release] : ref->version;
}

static int step_alias(struct run *run, const struct plan_step *s, struct aws_error *aerr)
{
	const struct plan_alias *a = &run->d.aliases[s->alias];
	struct lambda_alias_input in = {0};
	struct lambda_alias out = {0};
	char primary[32], extra[32];
	long pv = apply_ref_version(run, &a->primary),
	     ev = a->weighted ? apply_ref_version(run, &a->extra) : 0;
	int r;

	if (pv <= 0 || (a->weighted && ev <= 0))
		return aws_error_set(aerr, -EINVAL, "alias", "alias %s: target version unknown", a->name);
	snprintf(primary, sizeof(primary), "%ld", pv);
	snprintf(extra, sizeof(extra), "%ld", ev);
	in.function_version = primary;
	in.description = a->description;
	if (a->weighted) {
		in.weight_version = extra;
		in.weight = a->weight;
	}
	if (s->kind == PLAN_STEP_CREATE_ALIAS) {
		r = lambda_alias_create(run->c, run->fn->name, a->name, &in, &out, aerr);
	} else {
		const struct plan_observed_alias *oa = &run->o.aliases[s->obs_alias];

		in.revision_id = oa->revision_id[0] ? oa->revision_id : NULL;
		r = lambda_alias_update(run->c, run->fn->name, a->name, &in, &out, aerr);
	}
	snprintf(run->alias_rev, sizeof(run->alias_rev), "%s",
	         r >= 0 && out.revision_id ? out.revision_id : "");
	lambda_alias_release(&out);
	if (r >= 0 &&
	    apply_result_alias_set(run->res, a->name, false, pv, ev, a->weighted ? a->weight : 0) < 0)
		return aws_error_set(aerr, -ENOMEM, "alias", "out of memory");
	return r;
}

/* reconcile/rollout_run.c does the rollout's writes and events; 1 = counted there. */
static int step_rollout(struct run *run, const struct plan_step *s, struct aws_error *aerr)
{
	struct rollout_run rr = {run->ctx, run->opt, run->fn,          run->c,
	                         &run->d,  &run->p,  (size_t)s->alias, &run->o.aliases[s->obs_alias],
	                         run->res, 0};
	int r = reconcile_rollout_run(&rr, aerr);

	run->res->writes += rr.writes;
	run->res->changed = run->res->changed || rr.writes > 0;
	return r < 0 ? r : 1;
}

int apply_step(struct run *run, const struct plan_step *s, char *detail, size_t detail_sz,
               struct aws_error *aerr)
{
	char q[32];
	long v = 0;
	int r;

	detail[0] = '\0';
	switch (s->kind) {
	case PLAN_STEP_CREATE_FUNCTION:
		return step_create_function(run, s, aerr);
	case PLAN_STEP_WAIT_UPDATED:
		return wait_latest(run, aerr);
	case PLAN_STEP_UPDATE_CODE:
		return step_update_code(run, s, aerr);
	case PLAN_STEP_UPDATE_CONFIG:
		return step_update_config(run, s, aerr);
	case PLAN_STEP_PUBLISH:
		if (run->carried == s->release) {
			/* CreateFunction published it: no call (1 = done without one) */
			v = run->carried_version;
			run->carried = -1;
			plan_resolution_set(&run->p, (size_t)s->release, v);
			snprintf(detail, detail_sz, "version %ld, published by CreateFunction",
			         v < 0 ? -v : v);
			return 1;
		}
		r = step_publish(run, s, &v, aerr);
		if (r < 0)
			return r;
		/* negative: already Active (remembered for WAIT_VERSION) */
		plan_resolution_set(&run->p, (size_t)s->release, v);
		snprintf(detail, detail_sz, "version %ld", v < 0 ? -v : v);
		return 0;
	case PLAN_STEP_WAIT_VERSION:
		v = run->p.resolved[s->release];
		if (v < 0) {
			run->p.resolved[s->release] = -v;
			return 0;
		}
		return wait_version(run, v, aerr);
	case PLAN_STEP_CREATE_ALIAS:
	case PLAN_STEP_UPDATE_ALIAS:
		return step_alias(run, s, aerr);
	case PLAN_STEP_DELETE_ALIAS:
		r = lambda_alias_delete(run->c, run->fn->name, run->o.aliases[s->obs_alias].name, aerr);
		if (r >= 0)
			apply_result_alias_set(run->res, run->o.aliases[s->obs_alias].name, true, 0, 0, 0);
		return r;
	case PLAN_STEP_DELETE_VERSION:
		/* only after this pass's alias moves: any failure before ended the pass */
		snprintf(q, sizeof(q), "%ld", s->version);
		r = lambda_function_delete(run->c, run->fn->name, q, aerr);
		if (r < 0 && error_kind_of(&aerr->err) == ERROR_KIND_NOT_FOUND) {
			/* someone else deleted it: what this step wanted (1 = done without a write) */
			aws_error_clear(aerr);
			snprintf(detail, detail_sz, "already deleted");
			return 1;
		}
		return r;
	case PLAN_STEP_ROLLOUT:
		/* the cache does not follow a rollout's own writes: the next job observes afresh */
		run->after_ok = false;
		return step_rollout(run, s, aerr);
	case PLAN_STEP_ROLLOUT_HELD:
		return 0;
	}
	return aws_error_set(aerr, -EINVAL, "apply", "unknown step");
}
