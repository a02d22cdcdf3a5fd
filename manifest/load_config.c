/*
 * load_config.c - a `config:` block (function or release level) -> struct
 * manifest_config, and the overlay of a release's config on the function's.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "manifest/load_internal.h"
#include "util/parse.h"

static const char *const reserved_env[] = {
    "_HANDLER",
    "_X_AMZN_TRACE_ID",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_EXECUTION_ENV",
    "AWS_LAMBDA_FUNCTION_NAME",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_VERSION",
    "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME",
    "AWS_LAMBDA_LOG_STREAM_NAME",
    "AWS_ACCESS_KEY",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_LAMBDA_RUNTIME_API",
    "LAMBDA_TASK_ROOT",
    "LAMBDA_RUNTIME_DIR",
    NULL,
};

static bool role_ok(const char *s)
{
	/* arn:(aws[a-zA-Z-]*)?:iam::\d{12}:role/?[a-zA-Z_0-9+=,.@\-_/]+ */
	const char *p;

	if (strncmp(s, "arn:", 4))
		return false;
	p = s + 4;
	if (!strncmp(p, "aws", 3)) {
		p += 3;
		while (isalpha((unsigned char)*p) || *p == '-')
			p++;
	}
	if (strncmp(p, ":iam::", 6))
		return false;
	p += 6;
	for (int i = 0; i < 12; i++, p++)
		if (!isdigit((unsigned char)*p))
			return false;
	if (strncmp(p, ":role/", 6))
		return false;
	p += 6;
	if (!*p)
		return false;
	for (; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("+=,.@-_/", *p))
			return false;
	return strlen(s) <= 2048;
}

static int env_cmp(const void *a, const void *b)
{
	return strcmp(((const struct manifest_env_var *)a)->name, ((const struct manifest_env_var *)b)->name);
}

/* Free a config copied with load_config_copy() (history.c; the model's live in an arena). */
void load_config_release(struct manifest_config *c)
{
	free(c->runtime);
	free(c->handler);
	free(c->role);
	free(c->description);
	for (size_t i = 0; i < c->n_env; i++) {
		free(c->env[i].name);
		free(c->env[i].value);
	}
	free(c->env);
	memset(c, 0, sizeof(*c));
}

int load_config_copy(struct manifest_config *dst, const struct manifest_config *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->set = src->set;
	dst->memory_size = src->memory_size;
	dst->timeout = src->timeout;
	dst->ephemeral_storage = src->ephemeral_storage;
	dst->runtime = src->runtime ? strdup(src->runtime) : NULL;
	dst->handler = src->handler ? strdup(src->handler) : NULL;
	dst->role = src->role ? strdup(src->role) : NULL;
	dst->description = src->description ? strdup(src->description) : NULL;
	if ((src->runtime && !dst->runtime) || (src->handler && !dst->handler) || (src->role && !dst->role) ||
	    (src->description && !dst->description))
		goto nomem;
	if (src->n_env) {
		dst->env = calloc(src->n_env, sizeof(*dst->env));
		if (!dst->env)
			goto nomem;
		for (size_t i = 0; i < src->n_env; i++) {
			dst->env[i].name = strdup(src->env[i].name);
			dst->env[i].value = strdup(src->env[i].value);
			dst->n_env = i + 1;
			if (!dst->env[i].name || !dst->env[i].value)
				goto nomem;
		}
	}
	return 0;
nomem:
	load_config_release(dst);
	return -ENOMEM;
}

/*
 * Take the fields set in `over` into `base` (a release's overrides); both live
 * in the same arena, so nothing is freed: what `base` shared with the
 * function's config stays the function's.
 */
void load_config_overlay(struct manifest_config *base, const struct manifest_config *over)
{
#define MOVE_STR(bit, field)                                                                                 \
	if (over->set & (bit))                                                                               \
		base->field = over->field;
	MOVE_STR(MANIFEST_CFG_RUNTIME, runtime)
	MOVE_STR(MANIFEST_CFG_HANDLER, handler)
	MOVE_STR(MANIFEST_CFG_ROLE, role)
	MOVE_STR(MANIFEST_CFG_DESCRIPTION, description)
#undef MOVE_STR
	if (over->set & MANIFEST_CFG_MEMORY)
		base->memory_size = over->memory_size;
	if (over->set & MANIFEST_CFG_TIMEOUT)
		base->timeout = over->timeout;
	if (over->set & MANIFEST_CFG_EPHEMERAL)
		base->ephemeral_storage = over->ephemeral_storage;
	if (over->set & MANIFEST_CFG_ENVIRONMENT) {
		base->env = over->env;
		base->n_env = over->n_env;
	}
	base->set |= over->set;
}

static int parse_environment(struct loader *l, const struct yaml_node *n, const char *path,
                             struct manifest_config *c)
{
	size_t total = 0;
	int bad = 0;

	if (yaml_is_null(n))
		n = NULL; /* "environment:" with nothing: an empty map */
	if (n && yaml_expect_mapping(n, path, l->errs) < 0)
		return -EINVAL;
	c->set |= MANIFEST_CFG_ENVIRONMENT;
	if (!n || !n->n_pairs)
		return 0;
	c->env = arena_calloc(l->arena, n->n_pairs, sizeof(*c->env));
	if (!c->env)
		return -ENOMEM;
	for (size_t i = 0; i < n->n_pairs; i++) {
		const struct yaml_node *k = n->pairs[i].key, *v = n->pairs[i].value;
		char kp[KEYPATH_MAX];
		const char *val;
		bool key_ok;

		load_keypath(kp, path, k->str);
		key_ok = k->len == strlen(k->str) && k->len >= 2 && isalpha((unsigned char)k->str[0]) &&
		         load_name_ok(k->str, 1024, "_");
		if (!key_ok) {
			ERR(k,
			    "%s: invalid variable name (letters, digits and _, starting with a letter, at "
			    "least 2 characters)",
			    kp);
			bad = 1;
			continue;
		}
		for (size_t j = 0; reserved_env[j]; j++)
			if (!strcmp(k->str, reserved_env[j])) {
				ERR(k, "%s: %s is reserved by Lambda and cannot be set", kp, k->str);
				key_ok = false;
				bad = 1;
			}
		if (!key_ok)
			continue;
		if (v && yaml_is_null(v)) {
			ERR(v, "%s: expected a string, got null (write \"\" for an empty value)", kp);
			bad = 1;
			continue;
		}
		if (yaml_get_string(v, kp, 0, &val, l->errs) < 0) {
			bad = 1;
			continue;
		}
		total += k->len + strlen(val);
		c->env[c->n_env].name = load_shared(l, k->str);
		c->env[c->n_env].value = load_shared(l, val);
		c->n_env++;
		if (!c->env[c->n_env - 1].name || !c->env[c->n_env - 1].value)
			return -ENOMEM;
	}
	if (total > MANIFEST_ENV_MAX_BYTES) {
		ERR(n, "%s: variables total %zu bytes, more than Lambda's limit of %d", path, total,
		    MANIFEST_ENV_MAX_BYTES);
		bad = 1;
	}
	if (c->n_env)
		qsort(c->env, c->n_env, sizeof(*c->env), env_cmp);
	return bad ? -EINVAL : 0;
}

int load_parse_config(struct loader *l, const struct yaml_node *n, const char *prefix,
                      struct manifest_config *c)
{
	static const char *const keys[] = {"runtime",     "handler",          "role",
	                                   "memorySize",  "timeout",          "environment",
	                                   "description", "ephemeralStorage", NULL};
	char kp[KEYPATH_MAX];
	const struct yaml_node *v;
	int64_t num;
	int r;

	memset(c, 0, sizeof(*c));
	if (yaml_expect_mapping(n, prefix, l->errs) < 0)
		return -EINVAL;
	yaml_check_keys(n, prefix, keys, l->errs);

	r = load_opt_shared(l, n, prefix, "runtime", 0, &c->runtime);
	if (r == -ENOMEM)
		return r;
	if (r > 0) {
		if (!load_name_ok(c->runtime, 32, ".") || !islower((unsigned char)c->runtime[0]))
			ERR(yaml_map_get(n, "runtime"),
			    "%s.runtime: invalid runtime \"%.64s\" (e.g. python3.12, nodejs20.x, "
			    "provided.al2023)",
			    prefix, c->runtime);
		else
			c->set |= MANIFEST_CFG_RUNTIME;
	}
	r = load_opt_shared(l, n, prefix, "handler", 128, &c->handler);
	if (r == -ENOMEM)
		return r;
	if (r > 0) {
		bool ok = *c->handler != '\0';
		for (const char *p = c->handler; *p; p++)
			if (isspace((unsigned char)*p))
				ok = false;
		if (!ok)
			ERR(yaml_map_get(n, "handler"), "%s.handler: must be non-empty with no spaces",
			    prefix);
		else
			c->set |= MANIFEST_CFG_HANDLER;
	}
	r = load_opt_string(l, n, prefix, "role", 0, &c->role);
	if (r == -ENOMEM)
		return r;
	if (r > 0) {
		if (!role_ok(c->role))
			ERR(yaml_map_get(n, "role"),
			    "%s.role: not an IAM role ARN (arn:aws:iam::123456789012:role/name), got "
			    "\"%.80s\"",
			    prefix, c->role);
		else
			c->set |= MANIFEST_CFG_ROLE;
	}
	r = load_opt_string(l, n, prefix, "description", MANIFEST_DESCRIPTION_MAX, &c->description);
	if (r == -ENOMEM)
		return r;
	if (r > 0)
		c->set |= MANIFEST_CFG_DESCRIPTION;

	load_keypath(kp, prefix, "memorySize");
	v = yaml_map_get(n, "memorySize");
	if (v && yaml_get_int(v, kp, MANIFEST_MEMORY_MIN, MANIFEST_MEMORY_MAX, &num, l->errs) == 0) {
		c->memory_size = (int)num;
		c->set |= MANIFEST_CFG_MEMORY;
	}
	load_keypath(kp, prefix, "timeout");
	v = yaml_map_get(n, "timeout");
	if (v && yaml_get_int(v, kp, MANIFEST_TIMEOUT_MIN, MANIFEST_TIMEOUT_MAX, &num, l->errs) == 0) {
		c->timeout = (int)num;
		c->set |= MANIFEST_CFG_TIMEOUT;
	}
	load_keypath(kp, prefix, "ephemeralStorage");
	v = yaml_map_get(n, "ephemeralStorage");
	if (v && yaml_get_int(v, kp, MANIFEST_EPHEMERAL_MIN, MANIFEST_EPHEMERAL_MAX, &num, l->errs) == 0) {
		c->ephemeral_storage = (int)num;
		c->set |= MANIFEST_CFG_EPHEMERAL;
	}
	load_keypath(kp, prefix, "environment");
	v = yaml_map_key(n, "environment");
	if (v) {
		r = parse_environment(l, yaml_map_get(n, "environment"), kp, c);
		if (r == -ENOMEM)
			return r;
	}
	return 0;
}
