/*
 * oneshot.c - what `aliasd plan` and `aliasd apply` share: read a snapshot,
 * reconcile every valid function once (dry-run for plan), print the outcome.
 */
#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cmd/cmd.h"
#include "cmd/config.h"
#include "cmd/oneshot.h"
#include "cmd/rollout_json.h"
#include "manifest/history.h"
#include "manifest/load.h"
#include "manifest/repo.h"
#include "manifest/verify.h"
#include "reconcile/reconcile.h"
#include "util/parse.h"

static struct reconcile_ctx *volatile oneshot_ctx;

static void on_signal(int sig)
{
	(void)sig;
	if (oneshot_ctx)
		reconcile_ctx_stop(oneshot_ctx);
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

struct printer {
	bool apply;
	bool json;
	bool markdown;
};

/* Apply: one line per completed (or failed) step, as it happens. */
static void on_event(void *arg, const char *function, enum reconcile_event ev, enum plan_step_kind kind,
                     const char *text, const char *detail)
{
	struct printer *pr = arg;

	(void)kind;
	if (pr->json || pr->markdown || !pr->apply)
		return;
	switch (ev) {
	case RECONCILE_EVENT_DONE:
		printf("%s: %s%s%s\n", function, text ? text : "?", detail ? ": " : "", detail ? detail : "");
		fflush(stdout);
		break;
	case RECONCILE_EVENT_FAILED:
		printf("%s: %s: failed: %s\n", function, text ? text : "?", detail ? detail : "?");
		fflush(stdout);
		break;
	case RECONCILE_EVENT_REPLAN:
		printf("%s: observing again (%s)\n", function, detail && *detail ? detail : "conflict");
		fflush(stdout);
		break;
	case RECONCILE_EVENT_PLANNED:
		break;
	}
}

/* `prefix`: the folder the paths are relative to, so they can be opened as printed (NULL: none). */
static void print_manifest_errors(const struct manifest_set *set, const char *prefix)
{
	for (size_t i = 0; i < set->errors.len; i++) {
		const struct error *e = &set->errors.items[i];
		char line[ERROR_MSG_MAX + ERROR_FILE_MAX + 64];

		if (prefix && e->file[0]) {
			size_t pl = strlen(prefix);

			fprintf(stderr, "%s%s", prefix, pl && prefix[pl - 1] == '/' ? "" : "/");
		}
		fprintf(stderr, "%s\n", error_format(e, line, sizeof(line)));
	}
	if (set->errors.dropped)
		fprintf(stderr, "... and %zu more errors\n", set->errors.dropped);
}

/* Planned steps that write (a held rollout's line is shown but writes nothing). */
static size_t planned_writes(const struct reconcile_result *r)
{
	size_t n = 0;

	for (size_t k = 0; k < r->n_planned; k++)
		n += plan_step_is_write(r->planned[k].kind);
	return n;
}

static const char *result_status(const struct reconcile_result *r, bool apply)
{
	if (r->status < 0)
		return "error";
	if (apply)
		return r->changed ? "applied" : "in-sync";
	return planned_writes(r) ? "changes" : "in-sync";
}

/* "2026-11-30T07:00:00Z" (iso) or "07:00:00 UTC". */
static void utc_time(char *out, size_t n, int64_t t, bool iso)
{
	time_t tt = (time_t)t;
	struct tm tm;

	out[0] = '\0';
	if (gmtime_r(&tt, &tm))
		strftime(out, n, iso ? "%Y-%m-%dT%H:%M:%SZ" : "%H:%M:%S UTC", &tm);
}

/* "Prod: 10% on 2 (step 1 of 2)" for each progressing rollout of r, appended to out. */
static void rollouts_line(char *out, size_t n, const struct reconcile_result *r)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t k = 0; k < r->n_aliases && len + 1 < n; k++) {
		const struct reconcile_alias_state *a = &r->aliases[k];
		int m;

		if (a->rollout.state != ROLLOUT_PROGRESSING)
			continue;
		m = snprintf(out + len, n - len, "%s%s: %u%% on %u (step %u of %u)", len ? ", " : "", a->name,
		             a->rollout_percent, a->rollout.to, a->rollout.step, a->rollout_steps);
		if (m < 0)
			break;
		len += (size_t)m < n - len ? (size_t)m : n - len - 1;
	}
}

/* What the progressing rollouts of r look like (to print a waiting line once per step). */
static unsigned long rollouts_signature(const struct reconcile_result *r)
{
	unsigned long h = 5381;

	for (size_t k = 0; k < r->n_aliases; k++)
		h = h * 33 + (unsigned long)r->aliases[k].rollout.state * 1000003ul +
		    r->aliases[k].rollout.step * 101ul + r->aliases[k].rollout.to;
	return h;
}

/* The run of `tmp` continues `into`: the first plan and the writes add up; tmp is consumed. */
static void result_merge(struct reconcile_result *into, struct reconcile_result *tmp)
{
	struct reconcile_step_info *pl = into->planned;
	size_t npl = into->n_planned;

	into->planned = tmp->planned;
	into->n_planned = tmp->n_planned;
	tmp->planned = pl;
	tmp->n_planned = npl;
	tmp->writes += into->writes;
	tmp->changed = tmp->changed || into->changed;
	tmp->passes += into->passes;
	reconcile_result_release(into);
	*into = *tmp;
	memset(tmp, 0, sizeof(*tmp));
}

/*
 * apply: run the rollouts to the end.  While a result has next_check, sleep
 * until the earliest (a signal ends the wait: -ECANCELED, the rollouts stay
 * where they are) and reconcile the due functions again.
 */
static int wait_rollouts(struct reconcile_ctx *ctx, const struct manifest_function **valid, size_t n,
                         struct reconcile_result *res, const struct reconcile_options *ropt,
                         const struct printer *pr)
{
	unsigned long *shown = calloc(n + 1, sizeof(*shown));

	if (!shown)
		return -ENOMEM;
	for (;;) {
		int64_t next = 0, now;

		for (size_t i = 0; i < n; i++)
			if (res[i].status >= 0 && res[i].next_check > 0 &&
			    (!next || res[i].next_check < next))
				next = res[i].next_check;
		if (!next)
			break;
		for (size_t i = 0; i < n && !pr->json && !pr->markdown; i++) {
			char t[32], line[512];

			if (res[i].status < 0 || !res[i].next_check ||
			    shown[i] == rollouts_signature(&res[i]))
				continue;
			shown[i] = rollouts_signature(&res[i]);
			utc_time(t, sizeof(t), res[i].next_check, false);
			rollouts_line(line, sizeof(line), &res[i]);
			printf("%s: rollout %s; next check at %s\n", res[i].function,
			       line[0] ? line : "pending", t);
			fflush(stdout);
		}
		while ((now = (int64_t)time(NULL)) < next) {
			struct timespec ts = {0, 100 * 1000000L};

			if (reconcile_ctx_stopped(ctx)) {
				free(shown);
				return -ECANCELED;
			}
			nanosleep(&ts, NULL);
		}
		for (size_t i = 0; i < n; i++) {
			struct reconcile_result tmp;

			if (reconcile_ctx_stopped(ctx)) {
				free(shown);
				return -ECANCELED;
			}
			if (res[i].status < 0 || !res[i].next_check || res[i].next_check > now)
				continue;
			reconcile_function(ctx, valid[i], ropt, &tmp);
			result_merge(&res[i], &tmp);
		}
	}
	free(shown);
	return 0;
}

/*
 * How each (account, region) group's versions were read (reconcile.h, enum
 * reconcile_read); account "default": the default credentials'.
 */
static void json_reads(cJSON *root, const struct reconcile_read_report *rep)
{
	cJSON *reads = cJSON_AddArrayToObject(root, "reads");

	for (size_t k = 0; k < rep->n; k++) {
		const struct reconcile_read_region *rr = &rep->regions[k];
		cJSON *o = cJSON_CreateObject();

		cJSON_AddStringToObject(o, "account", rr->account[0] ? rr->account : "default");
		cJSON_AddStringToObject(o, "region", rr->region);
		cJSON_AddStringToObject(o, "strategy",
		                        rr->fleet                                     ? "fleet"
		                        : rr->aliased && rr->aliased == rr->functions ? "aliases"
		                                                                      : "per-function");
		cJSON_AddNumberToObject(o, "functions", (double)rr->functions);
		cJSON_AddNumberToObject(o, "from_aliases", (double)rr->aliased);
		cJSON_AddNumberToObject(o, "list_pages", rr->pages);
		cJSON_AddNumberToObject(o, "listed_versions", (double)rr->listed);
		cJSON_AddStringToObject(o, "why", rr->why);
		cJSON_AddItemToArray(reads, o);
	}
}

static void print_json(const struct manifest_set *set, const struct reconcile_result *res, size_t n,
                       bool apply, size_t n_changed, size_t n_sync, size_t n_failed,
                       const struct reconcile_read_report *reads)
{
	cJSON *root = cJSON_CreateObject(), *fns = cJSON_AddArrayToObject(root, "functions");
	cJSON *errs = cJSON_AddArrayToObject(root, "manifest_errors"), *sum;
	char *text;

	for (size_t i = 0; i < n; i++) {
		const struct reconcile_result *r = &res[i];
		cJSON *f = cJSON_CreateObject(), *steps;

		cJSON_AddStringToObject(f, "name", r->function ? r->function : "");
		if (r->region)
			cJSON_AddStringToObject(f, "region", r->region);
		cJSON_AddStringToObject(f, "status", result_status(r, apply));
		steps = cJSON_AddArrayToObject(f, "steps");
		for (size_t k = 0; k < r->n_planned; k++) {
			cJSON *s = cJSON_CreateObject();

			cJSON_AddStringToObject(s, "op", plan_step_kind_name(r->planned[k].kind));
			cJSON_AddStringToObject(s, "text", r->planned[k].text);
			cJSON_AddItemToArray(steps, s);
		}
		if (apply)
			cJSON_AddNumberToObject(f, "writes", r->writes);
		if (r->observed) {
			/* what Lambda has now (after this run's alias writes) */
			cJSON *al = cJSON_AddObjectToObject(f, "aliases");

			for (size_t k = 0; k < r->n_aliases; k++) {
				cJSON *a = cJSON_CreateObject();

				cJSON_AddNumberToObject(a, "version", (double)r->aliases[k].version);
				if (r->aliases[k].extra_version > 0) {
					cJSON_AddNumberToObject(a, "extra_version",
					                        (double)r->aliases[k].extra_version);
					cJSON_AddNumberToObject(a, "weight", r->aliases[k].weight);
				}
				if (r->aliases[k].rollout.state != ROLLOUT_NONE)
					cJSON_AddItemToObject(a, "rollout", rollout_json(&r->aliases[k]));
				cJSON_AddItemToObject(al, r->aliases[k].name, a);
			}
		}
		if (r->next_check > 0) {
			char t[32];

			utc_time(t, sizeof(t), r->next_check, true);
			cJSON_AddStringToObject(f, "next_check", t);
		}
		if (r->status < 0) {
			cJSON_AddStringToObject(f, "error", r->err.msg);
			cJSON_AddStringToObject(f, "error_kind", error_kind_name(error_kind_of(&r->err)));
		}
		cJSON_AddItemToArray(fns, f);
	}
	for (size_t i = 0; set && i < set->errors.len; i++) {
		char line[ERROR_MSG_MAX + ERROR_FILE_MAX + 64];

		cJSON_AddItemToArray(
		    errs, cJSON_CreateString(error_format(&set->errors.items[i], line, sizeof(line))));
	}
	sum = cJSON_AddObjectToObject(root, "summary");
	cJSON_AddNumberToObject(sum, apply ? "changed" : "to_change", (double)n_changed);
	cJSON_AddNumberToObject(sum, "in_sync", (double)n_sync);
	cJSON_AddNumberToObject(sum, "failed", (double)n_failed);
	cJSON_AddNumberToObject(sum, "manifest_errors", set ? (double)manifest_set_error_count(set) : 0);
	if (set && set->revision[0])
		cJSON_AddStringToObject(root, "revision", set->revision);
	json_reads(root, reads);
	text = cJSON_Print(root);
	if (text)
		printf("%s\n", text);
	free(text);
	cJSON_Delete(root);
}

/*
 * --verify-ssh / --verify-gpg: fetch the ref's commit into the cache clone,
 * verify it there (GnuPG's home beside the cache: STATE/gnupg, STATE being
 * $XDG_CACHE_HOME/aliasd or ~/.cache/aliasd), and only then read it.
 * Returns 0 with *ret set, 1 (printed) when untrusted or on failure, EXIT_USAGE
 * for a folder (no commit to verify).
 */
static int snapshot_verified(const char *verb, const struct manifest_repo_options *ro,
                             struct verify_config *vc, struct manifest_source **ret)
{
	struct manifest_repo *repo = NULL;
	struct verify_result v;
	struct error err = ERROR_INIT;
	char oid[MANIFEST_OID_HEX_SIZE], state[4096], *slash;
	int r, status = 1;

	r = manifest_repo_open(&repo, ro, &err);
	if (r < 0) {
		fprintf(stderr, "aliasd %s: %s\n", verb, err.msg);
		return 1;
	}
	if (!manifest_repo_cache_path(repo)[0]) {
		manifest_repo_free(repo);
		return cmd_usage_error(verb,
		                       "--verify-%s needs a commit: %s is a folder read as it is on disk; "
		                       "give --ref REF (a Git repository) or a Git URL",
		                       verify_provider_name(vc->provider), ro->url);
	}
	/* the state directory: the cache is STATE/git/NAME.git */
	snprintf(state, sizeof(state), "%s", manifest_repo_cache_path(repo));
	for (int k = 0; k < 2 && (slash = strrchr(state, '/')) && slash != state; k++)
		*slash = '\0';
	vc->state_dir = state;
	r = manifest_repo_fetch(repo, oid, &err);
	if (r >= 0)
		r = manifest_commit_verify(&v, manifest_repo_cache_path(repo), oid, vc, &err);
	if (r < 0) {
		fprintf(stderr, "aliasd %s: %s\n", verb, err.msg);
		goto out;
	}
	if (v.verdict != VERIFY_TRUSTED) {
		fprintf(stderr, "aliasd %s: commit %.7s: untrusted: %s: nothing %s\n", verb, oid, v.reason,
		        strcmp(verb, "apply") ? "planned" : "applied");
		goto out;
	}
	r = manifest_repo_source(repo, oid, ret, &err);
	if (r < 0) {
		fprintf(stderr, "aliasd %s: %s\n", verb, err.msg);
		goto out;
	}
	status = 0;
out:
	manifest_repo_free(repo);
	return status;
}

/* The rollout command's function and alias exist and the alias declares a rollout; else print why. */
static bool rollout_target_ok(const char *verb, const struct manifest_set *set,
                              const struct oneshot_rollout *rc)
{
	const struct manifest_function *fn = NULL;

	for (size_t i = 0; i < set->n_functions; i++)
		if (!strcmp(set->functions[i].name, rc->function))
			fn = &set->functions[i];
	if (!fn) {
		fprintf(stderr, "aliasd %s: unknown function '%s' (no manifest declares it)\n", verb,
		        rc->function);
		return false;
	}
	if (fn->n_errors) {
		fprintf(stderr, "aliasd %s: function '%s' has manifest errors\n", verb, rc->function);
		return false;
	}
	for (size_t i = 0; i < fn->n_aliases; i++) {
		if (strcmp(fn->aliases[i].name, rc->alias))
			continue;
		if (!fn->aliases[i].rollout) {
			fprintf(stderr, "aliasd %s: alias '%s' of %s declares no rollout\n", verb, rc->alias,
			        rc->function);
			return false;
		}
		return true;
	}
	fprintf(stderr, "aliasd %s: function %s declares no alias '%s'\n", verb, rc->function, rc->alias);
	return false;
}

static int oneshot(const char *verb, int argc, char **argv, bool apply, const char *usage,
                   const struct oneshot_rollout *rcmd)
{
	struct manifest_source *src = NULL;
	struct manifest_set *set = NULL;
	struct reconcile_ctx *ctx = NULL;
	struct reconcile_ctx_options copt = {0};
	struct reconcile_role roles[RECONCILE_MAX_ROLES];
	struct config_role role_args[RECONCILE_MAX_ROLES];
	size_t n_roles = 0;
	struct reconcile_options ropt = {0};
	struct reconcile_read_report reads = {0};
	struct reconcile_result *res = NULL;
	const struct manifest_function **valid = NULL;
	struct manifest_repo_options ro = {0};
	struct manifest_load_options lo = {0};
	struct manifest_zip_cache *zips = NULL;
	struct manifest_history *history = NULL;
	char *default_region = NULL;
	struct printer pr = {apply, false, false};
	struct error err = ERROR_INIT;
	const char *url = NULL, *ref = NULL, *subdir = NULL, *conc = NULL, *rate = NULL, *only = NULL,
	           *region = NULL, *read = NULL, *vssh = NULL, *vgpg = NULL, *format = NULL, *role = NULL;
	struct sigaction sa, old_term, old_int;
	size_t n_valid = 0, n_changed = 0, n_sync = 0, n_failed = 0, n_steps = 0, n_bad, n_rolled_back = 0;
	struct reconcile_rollout_cmd rollout_cmd = {0};
	bool signals = false, no_wait = rcmd != NULL, stopped = false;
	int concurrency = RECONCILE_DEFAULT_CONCURRENCY;
	double rate_v = 0;
	int r, status = 1;

	if (cmd_wants_help(argc, argv)) {
		fputs(usage, stdout);
		return 0;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int m;

		if (!strcmp(a, "--json")) {
			pr.json = true;
			continue;
		}
		if ((m = cmd_opt_value(argc, argv, &i, "--role", &role))) {
			if (m < 0) {
				error_set(&err, -EINVAL, "needs a value");
				goto role_usage;
			}
			if (n_roles == RECONCILE_MAX_ROLES) {
				error_set(&err, -E2BIG, "at most %d", RECONCILE_MAX_ROLES);
				goto role_usage;
			}
			if (config_role_arg(role, &role_args[n_roles], &err) < 0)
				goto role_usage;
			roles[n_roles] =
			    (struct reconcile_role){role_args[n_roles].account, role_args[n_roles].role_arn,
			                            role_args[n_roles].external_id};
			n_roles++;
			continue;
		}
		if (apply && !rcmd && !strcmp(a, "--no-wait")) {
			no_wait = true;
			continue;
		}
		if ((m = cmd_opt_value(argc, argv, &i, "--repo", &url)) ||
		    (m = cmd_opt_value(argc, argv, &i, "--ref", &ref)) ||
		    (m = cmd_opt_value(argc, argv, &i, "--path", &subdir)) ||
		    (m = cmd_opt_value(argc, argv, &i, "--concurrency", &conc)) ||
		    (m = cmd_opt_value(argc, argv, &i, "--rate", &rate)) ||
		    (!rcmd && (m = cmd_opt_value(argc, argv, &i, "--function", &only))) ||
		    (m = cmd_opt_value(argc, argv, &i, "--region", &region)) ||
		    (m = cmd_opt_value(argc, argv, &i, "--listing", &read)) ||
		    (m = cmd_opt_value(argc, argv, &i, "--verify-ssh", &vssh)) ||
		    (m = cmd_opt_value(argc, argv, &i, "--verify-gpg", &vgpg)) ||
		    (m = cmd_opt_value(argc, argv, &i, "--format", &format))) {
			if (m < 0)
				return cmd_usage_error(verb, "%s needs a value", a);
			continue;
		}
		if (a[0] == '-')
			return cmd_usage_error(verb, "unknown option '%s'", a);
		if (url)
			return cmd_usage_error(verb, "expects one repository, got '%s' and '%s'", url, a);
		url = a;
	}
	if (conc && parse_int(conc, 1, RECONCILE_MAX_CONCURRENCY, &concurrency, &err) < 0)
		return cmd_usage_error(verb, "--concurrency: %s", err.msg);
	if (rate && parse_double(rate, 0.1, 100000, &rate_v, &err) < 0)
		return cmd_usage_error(verb, "--rate: %s", err.msg);
	if (read && !strcmp(read, "fleet"))
		ropt.read = RECONCILE_READ_FLEET;
	else if (read && !strcmp(read, "per-function"))
		ropt.read = RECONCILE_READ_PER_FUNCTION;
	else if (read && strcmp(read, "auto"))
		return cmd_usage_error(verb, "--listing: expected auto, fleet or per-function, got '%s'",
		                       read);
	if (vssh && vgpg)
		return cmd_usage_error(verb, "--verify-ssh and --verify-gpg exclude each other");
	if (format && !strcmp(format, "json"))
		pr.json = true;
	else if (format && !strcmp(format, "markdown"))
		pr.markdown = true;
	else if (format && strcmp(format, "text"))
		return cmd_usage_error(verb, "--format: expected text, json or markdown, got '%s'", format);
	if (pr.json && pr.markdown)
		return cmd_usage_error(verb, "--json and --format markdown exclude each other");
	if (!url)
		url = ".";
	if (rcmd) {
		only = rcmd->function;
		rollout_cmd.function = rcmd->function;
		rollout_cmd.alias = rcmd->alias;
		rollout_cmd.command = rcmd->command;
		ropt.rollout_cmd = &rollout_cmd;
	}

	ro.url = url;
	ro.ref = ref;
	if (vssh || vgpg) {
		struct verify_config vc = {.provider = vssh ? VERIFY_PROVIDER_SSH : VERIFY_PROVIDER_GPG,
		                           .allowed_signers_file = vssh,
		                           .keyring_file = vgpg};

		r = snapshot_verified(verb, &ro, &vc, &src);
		if (r) {
			status = r;
			goto out;
		}
	} else {
		r = manifest_repo_snapshot(&src, &ro, &err);
		if (r < 0) {
			fprintf(stderr, "aliasd %s: %s\n", verb, err.msg);
			goto out;
		}
	}
	/*
	 * The region a manifest without `region:` lands in, so that "fn" and
	 * "arn:...:us-east-1:...:function:fn" are known to be one function; when
	 * it cannot be resolved here the loader compares conservatively.
	 */
	if (!region && aws_region_resolve(NULL, &default_region, NULL) < 0)
		default_region = NULL;
	lo.default_region = region ? region : default_region;
	if (manifest_zip_cache_new(&zips, 0) < 0) {
		fprintf(stderr, "aliasd %s: out of memory\n", verb);
		goto out;
	}
	lo.zip_cache = zips;
	r = manifest_load_with(&set, src, subdir, &lo, &err);
	if (r < 0) {
		fprintf(stderr, "aliasd %s: %s\n", verb, err.msg);
		goto out;
	}
	/* prune.keepHistory: what the last commits declared (no uploads, no Lambda calls) */
	r = manifest_history_collect(&history, src, subdir, set, &lo,
	                             &(struct manifest_history_options){.cache = zips}, &err);
	if (r < 0) {
		fprintf(stderr, "aliasd %s: cannot read the history for prune.keepHistory: %s\n", verb,
		        err.msg);
		goto out;
	}
	if (history->no_history)
		fprintf(
		    stderr,
		    "aliasd %s: warning: %s is a folder without Git history: prune.keepHistory counts as 0 "
		    "(give a Git URL or --ref)\n",
		    verb, src->description ? src->description : url);
	if (!pr.json && !pr.markdown)
		print_manifest_errors(
		    set,
		    !ref && strcmp(url, ".") && strcmp(url, "./") && access(url, F_OK) == 0 ? url : NULL);
	if (rcmd && !rollout_target_ok(verb, set, rcmd))
		goto out;
	valid = calloc(set->n_functions + 1, sizeof(*valid));
	if (!valid) {
		fprintf(stderr, "aliasd %s: out of memory\n", verb);
		goto out;
	}
	for (size_t i = 0; i < set->n_functions; i++) {
		const struct manifest_function *f = &set->functions[i];

		if (f->n_errors)
			continue;
		if (only && strcmp(only, f->name))
			continue;
		valid[n_valid++] = f;
	}
	n_bad = set->n_functions - set->n_valid;
	for (size_t i = 0; i < set->n_files; i++)
		if (set->files[i].broken)
			n_bad++;

	copt.client.control_rate = rate_v;
	copt.client.region = region; /* manifests' own regions (and ARNs) still win */
	copt.roles = roles;
	copt.n_roles = n_roles;
	r = reconcile_ctx_new(&ctx, &copt, &err);
	if (r < 0) {
		fprintf(stderr, "aliasd %s: %s\n", verb, err.msg);
		goto out;
	}
	oneshot_ctx = ctx;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, &old_term);
	sigaction(SIGINT, &sa, &old_int);
	signals = true;

	res = calloc(n_valid + 1, sizeof(*res));
	if (!res) {
		fprintf(stderr, "aliasd %s: out of memory\n", verb);
		goto out;
	}
	ropt.dry_run = !apply;
	ropt.concurrency = (unsigned)concurrency;
	ropt.source = src;
	ropt.revision = set->revision;
	ropt.on_event = on_event;
	ropt.arg = &pr;
	ropt.read_report = &reads;
	ropt.history = history;
	reconcile_batch(ctx, valid, n_valid, &ropt, res);
	if (apply && !no_wait) {
		r = wait_rollouts(ctx, valid, n_valid, res, &ropt, &pr);
		if (r == -ECANCELED)
			stopped = true;
		else if (r < 0)
			fprintf(stderr, "aliasd %s: out of memory\n", verb);
	}

	for (size_t i = 0; i < n_valid; i++) {
		const struct reconcile_result *rr = &res[i];

		for (size_t k = 0; apply && !rcmd && rr->status >= 0 && k < rr->n_aliases; k++)
			n_rolled_back += rr->aliases[k].rollout.state == ROLLOUT_ROLLED_BACK;
		if (rr->status < 0)
			n_failed++;
		else if (apply ? rr->changed : planned_writes(rr) > 0)
			n_changed++;
		else
			n_sync++;
		n_steps += apply ? rr->writes : planned_writes(rr);
	}

	if (pr.json) {
		print_json(set, res, n_valid, apply, n_changed, n_sync, n_failed, &reads);
	} else if (pr.markdown) {
		oneshot_print_markdown(stdout, set, res, n_valid, apply, n_changed, n_sync, n_failed);
	} else {
		if (!apply) {
			for (size_t i = 0; i < n_valid; i++) {
				const struct reconcile_result *rr = &res[i];

				if (rr->status < 0)
					continue;
				if (!rr->n_planned) {
					printf("%s: in sync\n", rr->function);
					continue;
				}
				printf("%s:\n", rr->function);
				for (size_t k = 0; k < rr->n_planned; k++)
					printf("  %s\n", rr->planned[k].text);
			}
		} else {
			for (size_t i = 0; i < n_valid; i++)
				if (res[i].status >= 0 && !res[i].changed)
					printf("%s: in sync\n", res[i].function);
		}
		/* plan: one line per failed function, here; apply: in the list at the end */
		for (size_t i = 0; !apply && i < n_valid; i++) {
			char line[ERROR_MSG_MAX + ERROR_FILE_MAX + 64];

			if (res[i].status < 0)
				fprintf(stderr, "%s: error: %s\n", res[i].function,
				        error_format(&res[i].err, line, sizeof(line)));
		}
		if (apply)
			printf("Apply: %zu %s changed (%zu %s), %zu in sync, %zu failed", n_changed,
			       plural(n_changed, "function", "functions"), n_steps,
			       plural(n_steps, "write", "writes"), n_sync, n_failed);
		else
			printf("Plan: %zu %s to change (%zu %s), %zu in sync, %zu failed", n_changed,
			       plural(n_changed, "function", "functions"), n_steps,
			       plural(n_steps, "step", "steps"), n_sync, n_failed);
		if (manifest_set_error_count(set)) {
			size_t ne = manifest_set_error_count(set);

			printf(", %zu manifest %s", ne, plural(ne, "error", "errors"));
		}
		printf(".\n");
		fflush(stdout);
		for (size_t i = 0; apply && i < n_valid; i++) {
			char t[32], line[512];

			if (res[i].status < 0 || !res[i].next_check)
				continue;
			utc_time(t, sizeof(t), res[i].next_check, false);
			rollouts_line(line, sizeof(line), &res[i]);
			printf("%s: rollout %s pending; next step due at %s: run apply again (or let the "
			       "daemon) "
			       "to continue\n",
			       res[i].function, line[0] ? line : "", t);
		}
		if (stopped)
			fprintf(stderr,
			        "aliasd %s: stopped while waiting; every rollout stays at its step, "
			        "apply again to continue\n",
			        verb);
		for (size_t i = 0; apply && !rcmd && i < n_valid; i++)
			for (size_t k = 0; res[i].status >= 0 && k < res[i].n_aliases; k++)
				if (res[i].aliases[k].rollout.state == ROLLOUT_ROLLED_BACK)
					fprintf(
					    stderr,
					    "%s: rollout of %s rolled back: %s; aliasd rollout retry %s %s\n",
					    res[i].function, res[i].aliases[k].name,
					    res[i].aliases[k].rollout.reason, res[i].function,
					    res[i].aliases[k].name);
		if (apply && (n_failed || n_bad)) {
			fprintf(stderr, "Failed:\n");
			for (size_t i = 0; i < n_valid; i++)
				if (res[i].status < 0)
					fprintf(stderr, "  %s: %s\n", res[i].function, res[i].err.msg);
			for (size_t i = 0; i < set->n_functions; i++)
				if (set->functions[i].n_errors)
					fprintf(stderr, "  %s: invalid manifest (%s)\n",
					        set->functions[i].name,
					        set->functions[i].file ? set->functions[i].file : "?");
			for (size_t i = 0; i < set->n_files; i++)
				if (set->files[i].broken)
					fprintf(stderr, "  %s: file could not be read completely\n",
					        set->files[i].path);
		}
	}
	fflush(stdout);
	if (n_failed || n_bad || manifest_set_error_count(set) || n_rolled_back || stopped)
		status = 1;
	else if (!apply && n_changed)
		status = 2;
	else
		status = 0;
out:
	if (signals) {
		sigaction(SIGTERM, &old_term, NULL);
		sigaction(SIGINT, &old_int, NULL);
	}
	oneshot_ctx = NULL;
	for (size_t i = 0; res && i < n_valid; i++)
		reconcile_result_release(&res[i]);
	free(res);
	free(valid);
	free(default_region);
	reconcile_ctx_free(ctx);
	manifest_history_free(history);
	manifest_set_free(set);
	manifest_zip_cache_free(zips);
	manifest_source_free(src);
	manifest_repo_global_shutdown();
	for (size_t i = 0; i < n_roles; i++)
		config_role_release(&role_args[i]);
	return status;
role_usage:
	for (size_t i = 0; i < n_roles; i++)
		config_role_release(&role_args[i]);
	return cmd_usage_error(verb, "--role: %s", err.msg);
}

int cmd_oneshot(const char *verb, int argc, char **argv, bool apply, const char *usage)
{
	return oneshot(verb, argc, argv, apply, usage, NULL);
}

int cmd_oneshot_rollout(const char *verb, int argc, char **argv, const char *usage,
                        const struct oneshot_rollout *cmd)
{
	return oneshot(verb, argc, argv, true, usage, cmd);
}
