/*
 * load_rollout.c - an alias's `rollout:` (DESIGN §6): a CodeDeploy name, or a
 * mapping of steps, interval, alarms and preTraffic (or `type:` with alarms
 * and preTraffic).  The bounds are manifest/rollout.h's.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/load_internal.h"
#include "util/parse.h"

#define ALARM_NAME_MAX 255 /* characters, as CloudWatch counts them */

/* "Canary10Percent5Minutes, ..., AllAtOnce" into out (always terminated). */
static const char *known_names(char *out, size_t size)
{
	size_t len = 0;

	out[0] = '\0';
	for (size_t i = 0; rollout_codedeploy_name(i); i++) {
		int n = snprintf(out + len, size - len, "%s%s", i ? ", " : "", rollout_codedeploy_name(i));

		if (n < 0 || (size_t)n >= size - len)
			break;
		len += (size_t)n;
	}
	return out;
}

/* A CodeDeploy name at `n` (`path` names it): fills r->spec's steps and interval. */
static int parse_name(struct loader *l, const struct yaml_node *n, const char *path,
                      struct manifest_rollout *r)
{
	char names[400], q[64];
	const char *s;

	if (yaml_get_string(n, path, 0, &s, l->errs) < 0)
		return 0;
	if (rollout_spec_codedeploy(s, &r->spec) < 0) {
		ERR(n,
		    "%s: unknown rollout %s (CodeDeploy's predefined Lambda configurations are %s, "
		    "also as CodeDeployDefault.Lambda<name>; or a mapping with steps and interval)",
		    path, yaml_quote(n, q, sizeof(q)), known_names(names, sizeof(names)));
		return 0;
	}
	r->codedeploy = load_shared(l, s);
	return r->codedeploy ? 0 : -ENOMEM;
}

static void parse_steps(struct loader *l, const struct yaml_node *n, const char *path,
                        struct manifest_rollout *r)
{
	char ip[KEYPATH_MAX + 24];

	if (yaml_expect_sequence(n, path, l->errs) < 0)
		return;
	for (size_t i = 0; i < n->n_items; i++) {
		const struct yaml_node *it = n->items[i];
		int64_t v;

		snprintf(ip, sizeof(ip), "%s[%zu]", path, i);
		if (i == ROLLOUT_MAX_STEPS) {
			ERR(it, "%s: at most %d steps", ip, ROLLOUT_MAX_STEPS);
			return;
		}
		if (yaml_get_int(it, ip, 1, 99, &v, l->errs) < 0)
			return;
		if (i && (unsigned)v <= r->spec.steps[i - 1]) {
			ERR(it, "%s: steps must increase (%u after %u)", ip, (unsigned)v,
			    r->spec.steps[i - 1]);
			return;
		}
		r->spec.steps[r->spec.n_steps++] = (unsigned)v;
	}
}

static void parse_interval(struct loader *l, const struct yaml_node *n, const char *path,
                           struct manifest_rollout *r)
{
	struct error err = ERROR_INIT;
	uint64_t ms;
	const char *s;

	if (yaml_get_string(n, path, 0, &s, l->errs) < 0)
		return;
	if (parse_duration_ms(s, &ms, &err) < 0) {
		ERR(n, "%s: %s", path, err.msg);
		return;
	}
	if (ms % 1000) {
		ERR(n, "%s: must be whole seconds, got %s", path, s);
		return;
	}
	if (ms < (uint64_t)ROLLOUT_MIN_INTERVAL * 1000 || ms > (uint64_t)ROLLOUT_MAX_INTERVAL * 1000) {
		ERR(n, "%s: must be between 1s and 24h, got %s", path, s);
		return;
	}
	r->spec.interval_s = (unsigned)(ms / 1000);
}

/* Characters of UTF-8 text (the YAML reader has checked the encoding); false on a control character. */
static bool alarm_name_ok(const char *s, size_t *ret_chars)
{
	size_t chars = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			return false;
		if ((c & 0xc0) != 0x80)
			chars++;
	}
	*ret_chars = chars;
	return true;
}

static int parse_alarms(struct loader *l, const struct yaml_node *n, const char *path,
                        struct manifest_rollout *r)
{
	char ip[KEYPATH_MAX + 24], q[64];
	size_t count;

	if (yaml_is_null(n))
		return 0;
	if (yaml_expect_sequence(n, path, l->errs) < 0)
		return 0;
	count = n->n_items;
	if (count > ROLLOUT_MAX_ALARMS) {
		snprintf(ip, sizeof(ip), "%s[%d]", path, ROLLOUT_MAX_ALARMS);
		ERR(n->items[ROLLOUT_MAX_ALARMS], "%s: at most %d alarms", ip, ROLLOUT_MAX_ALARMS);
		count = ROLLOUT_MAX_ALARMS;
	}
	if (!count)
		return 0;
	r->alarms = arena_calloc(l->arena, count, sizeof(*r->alarms));
	if (!r->alarms)
		return -ENOMEM;
	for (size_t i = 0; i < count; i++) {
		const struct yaml_node *it = n->items[i];
		const char *s;
		size_t chars;
		bool dup = false;

		snprintf(ip, sizeof(ip), "%s[%zu]", path, i);
		if (yaml_get_string(it, ip, 0, &s, l->errs) < 0)
			continue;
		if (!alarm_name_ok(s, &chars)) {
			ERR(it, "%s: alarm names cannot contain control characters, got %s", ip,
			    yaml_quote(it, q, sizeof(q)));
			continue;
		}
		if (chars < 1 || chars > ALARM_NAME_MAX) {
			ERR(it, "%s: alarm names are 1 to %d characters, got %zu", ip, ALARM_NAME_MAX, chars);
			continue;
		}
		for (size_t j = 0; j < r->spec.n_alarms; j++)
			if (!strcmp(r->alarms[j], s))
				dup = true;
		if (dup) {
			ERR(it, "%s: alarm %s is listed twice", ip, yaml_quote(it, q, sizeof(q)));
			continue;
		}
		r->alarms[r->spec.n_alarms] = load_shared(l, s);
		if (!r->alarms[r->spec.n_alarms])
			return -ENOMEM;
		r->spec.n_alarms++;
	}
	return 0;
}

/* A function name or a full function ARN, as a manifest's `name:` is checked. */
static int parse_pre_traffic(struct loader *l, const struct manifest_function *f, const struct yaml_node *n,
                             const char *path, struct manifest_rollout *r)
{
	char *region = NULL, *account = NULL, q[64];
	const char *s, *why = NULL;
	int rc;

	if (yaml_get_string(n, path, 0, &s, l->errs) < 0)
		return 0;
	yaml_quote(n, q, sizeof(q));
	if (!strncmp(s, "arn:", 4)) {
		rc = load_arn_parse(s, &region, &account, &why);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0) {
			ERR(n, "%s: %s %s", path, q, why);
			return 0;
		}
		if (f->region && strcmp(f->region, region))
			ERR(n, "%s: the function is in %s, not in the function's region %s", path, region,
			    f->region);
		free(region);
		free(account);
	} else if (strchr(s, ':')) {
		ERR(n,
		    "%s: %s is a partial ARN or a qualified name (write the function name or its "
		    "full ARN arn:aws:lambda:REGION:ACCOUNT:function:NAME, without a version or alias)",
		    path, q);
		return 0;
	} else if (!load_name_ok(s, 64, "_-")) {
		ERR(n,
		    "%s: invalid function name %s (1 to 64 letters, digits, '_' or '-', or a function "
		    "ARN)",
		    path, q);
		return 0;
	}
	r->pre_traffic = arena_strdup(l->arena, s);
	r->spec.pre_traffic = r->pre_traffic != NULL;
	return r->pre_traffic ? 0 : -ENOMEM;
}

static int parse_mapping(struct loader *l, const struct manifest_function *f, const struct yaml_node *n,
                         const char *path, struct manifest_rollout *r)
{
	static const char *const keys[] = {"type", "steps", "interval", "alarms", "preTraffic", NULL};
	const struct yaml_node *type = yaml_map_get(n, "type"), *steps = yaml_map_get(n, "steps");
	const struct yaml_node *interval = yaml_map_get(n, "interval"), *v;
	char kp[KEYPATH_MAX];
	int rc;

	yaml_check_keys(n, path, keys, l->errs);
	if (type) {
		load_keypath(kp, path, "type");
		rc = parse_name(l, type, kp, r);
		if (rc < 0)
			return rc;
		for (size_t i = 0; i < 2; i++) {
			const char *k = i ? "interval" : "steps";

			if (yaml_map_key(n, k))
				ERR(yaml_map_key(n, k),
				    "%s.%s: give type, or steps and interval, not both (a type sets them)",
				    path, k);
		}
	} else if (!steps) {
		ERR(n, "%s: missing required key \"steps\" (or \"type\", a CodeDeploy name)", path);
	} else {
		load_keypath(kp, path, "steps");
		parse_steps(l, steps, kp, r);
		r->spec.interval_s = 60; /* all at once: only sets the guard period */
		if (interval) {
			load_keypath(kp, path, "interval");
			parse_interval(l, interval, kp, r);
		} else if (steps->kind == YAML_KIND_SEQUENCE && steps->n_items) {
			ERR(n, "%s: missing required key \"interval\" (the time at each step, e.g. 5m)",
			    path);
		}
	}
	v = yaml_map_get(n, "alarms");
	if (v) {
		load_keypath(kp, path, "alarms");
		rc = parse_alarms(l, v, kp, r);
		if (rc < 0)
			return rc;
	}
	v = yaml_map_get(n, "preTraffic");
	if (v) {
		load_keypath(kp, path, "preTraffic");
		rc = parse_pre_traffic(l, f, v, kp, r);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int load_parse_rollout(struct loader *l, const struct manifest_function *f, const struct yaml_node *key,
                       const struct yaml_node *n, const char *prefix, struct manifest_rollout **ret)
{
	struct manifest_rollout *r;
	struct error err = ERROR_INIT;
	char path[KEYPATH_MAX];
	size_t before = errlist_count(l->errs);
	int rc;

	*ret = NULL;
	if (!n || yaml_is_null(n))
		return 0;
	r = arena_alloc(l->arena, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->line = key->line;
	r->col = key->col;
	load_keypath(path, prefix, "rollout");
	if (n->kind == YAML_KIND_MAPPING)
		rc = parse_mapping(l, f, n, path, r);
	else if (n->kind == YAML_KIND_SCALAR)
		rc = parse_name(l, n, path, r);
	else
		rc = ERR(n, "%s: expected a CodeDeploy name or a mapping, got %s", path, yaml_describe(n));
	if (rc == -ENOMEM)
		return rc;
	/* The final word on the bounds, should the checks above ever miss one. */
	if (errlist_count(l->errs) == before && rollout_spec_check(&r->spec, &err) < 0)
		ERR(n, "%s: %s", path, err.msg);
	*ret = r;
	return 0;
}
