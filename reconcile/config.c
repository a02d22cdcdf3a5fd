/*
 * config.c - filling a plan_config from either side (internal.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "reconcile/internal.h"

int reconcile_config_set_num(struct plan_config *c, enum plan_cfg_field f, long v)
{
	char tmp[32];

	snprintf(tmp, sizeof(tmp), "%ld", v);
	return plan_config_set(c, f, tmp);
}

int reconcile_config_set_env(struct plan_config *c, const void *vars, size_t n,
                             void (*get)(const void *vars, size_t i, const char **ret_name,
                                         const char **ret_value))
{
	struct buf b = BUF_INIT;
	const char **keys = calloc(n + 1, sizeof(*keys));
	const char **vals = calloc(n + 1, sizeof(*vals));
	int r = -ENOMEM;

	if (keys && vals) {
		for (size_t i = 0; i < n; i++)
			get(vars, i, &keys[i], &vals[i]);
		r = plan_env_canonical(&b, keys, vals, n);
		if (r >= 0)
			r = plan_config_set(c, PLAN_CFG_ENVIRONMENT, b.ptr);
	}
	free(keys);
	free(vals);
	buf_release_secret(&b); /* the values are secrets */
	return r;
}
