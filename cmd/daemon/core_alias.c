/*
 * core_alias.c - a function's aliases as Lambda has them (struct
 * core_alias, core.h): one allocation for the array and its names, and a
 * rollout record only for an alias that has one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cmd/daemon/core.h"

const struct rollout_progress *core_alias_rollout(const struct core_alias *a)
{
	static const struct rollout_progress none; /* ROLLOUT_NONE */

	return a->rollout ? a->rollout : &none;
}

int core_alias_set_rollout(struct core_alias *a, const struct rollout_progress *p)
{
	free(a->rollout);
	a->rollout = NULL;
	if (!p || p->state == ROLLOUT_NONE)
		return 0;
	a->rollout = malloc(sizeof(*a->rollout));
	if (!a->rollout)
		return -ENOMEM;
	*a->rollout = *p;
	return 0;
}

struct core_alias *core_aliases_new(size_t n, const char *const *names)
{
	size_t size = (n ? n : 1) * sizeof(struct core_alias);
	struct core_alias *a;
	char *p;

	for (size_t i = 0; i < n; i++)
		size += strlen(names[i]) + 1;
	a = calloc(1, size);
	if (!a)
		return NULL;
	p = (char *)(a + (n ? n : 1)); /* the names follow the array: one malloc, not 1 + n */
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]) + 1;

		a[i].name = memcpy(p, names[i], len);
		p += len;
	}
	return a;
}

void core_aliases_free(struct core_alias *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++)
		free(a[i].rollout);
	free(a);
}
