/*
 * credentials_ini.c - the AWS shared-file INI dialect (credentials_internal.h).
 */
#include "aws/credentials_chain.h"

#include <ctype.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/secret.h"

/* ---- INI ----------------------------------------------------------------- */

struct ini_entry {
	char *section, *key, *value;
};

struct aws_ini {
	struct ini_entry *e;
	size_t n, alloc;
	char **sections;
	size_t n_sections, alloc_sections;
};

void aws_ini_free(struct aws_ini *ini)
{
	if (!ini)
		return;
	for (size_t i = 0; i < ini->n; i++) {
		free(ini->e[i].section);
		free(ini->e[i].key);
		secret_free_str(ini->e[i].value);
	}
	for (size_t i = 0; i < ini->n_sections; i++)
		free(ini->sections[i]);
	free(ini->sections);
	free(ini->e);
	free(ini);
}

static char *strndup_trim(const char *s, size_t n)
{
	while (n && isspace((unsigned char)*s))
		s++, n--;
	while (n && isspace((unsigned char)s[n - 1]))
		n--;
	return strndup(s, n);
}

static int ini_add_section(struct aws_ini *ini, char *name)
{
	if (ini->n_sections == ini->alloc_sections) {
		size_t na = ini->alloc_sections ? ini->alloc_sections * 2 : 8;
		char **p = realloc(ini->sections, na * sizeof(*p));
		if (!p)
			return -ENOMEM;
		ini->sections = p;
		ini->alloc_sections = na;
	}
	ini->sections[ini->n_sections++] = name;
	return 0;
}

/*
 * Takes key and value: stored on success, freed (value wiped) on failure.
 * The key is lower-cased.
 */
static int ini_add(struct aws_ini *ini, const char *section, char *key, char *value)
{
	int r = -ENOMEM;

	if (ini->n >= INI_MAX_ENTRIES) {
		r = -E2BIG;
		goto fail;
	}
	if (ini->n == ini->alloc) {
		size_t na = ini->alloc ? ini->alloc * 2 : 16;
		struct ini_entry *p = realloc(ini->e, na * sizeof(*p));
		if (!p)
			goto fail;
		ini->e = p;
		ini->alloc = na;
	}
	ini->e[ini->n].section = strdup(section);
	if (!ini->e[ini->n].section)
		goto fail;
	for (char *c = key; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	ini->e[ini->n].key = key;
	ini->e[ini->n].value = value;
	ini->n++;
	return 0;
fail:
	free(key);
	secret_free_str(value);
	return r;
}

/* "profile   dev" -> "profile dev"; other names trimmed only. */
static char *section_normalize(const char *s, size_t n)
{
	char *t = strndup_trim(s, n), *rest;

	if (!t)
		return NULL;
	if (!strncmp(t, "profile", 7) && (t[7] == ' ' || t[7] == '\t')) {
		rest = t + 7;
		while (*rest == ' ' || *rest == '\t')
			rest++;
		memmove(t + 8, rest, strlen(rest) + 1);
		t[7] = ' ';
	}
	return t;
}

int aws_ini_parse(struct aws_ini **ret, const char *text, size_t len, const char *name, struct error *err)
{
	struct aws_ini *ini;
	char *section = NULL;
	size_t lineno = 0, last_key = SIZE_MAX; /* index of the last top-level key of this section */
	const char *p = text, *end = text + len;
	int r = 0;

	if (!name)
		name = "(config)";
	if (len > AWS_CREDENTIALS_FILE_MAX)
		return error_set(err, -E2BIG, "%s: larger than %d bytes", name, AWS_CREDENTIALS_FILE_MAX);
	if (memchr(text, '\0', len))
		return error_set(err, -EINVAL, "%s: contains a NUL byte", name);
	ini = calloc(1, sizeof(*ini));
	if (!ini)
		return error_set(err, -ENOMEM, "out of memory");
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *le = nl ? nl : end, *s = p, *eq;
		bool indented = p < le && (*p == ' ' || *p == '\t');

		lineno++;
		p = nl ? nl + 1 : end;
		while (s < le && isspace((unsigned char)*s))
			s++;
		if (s == le || *s == '#' || *s == ';')
			continue;
		if (*s == '[' && !indented) {
			const char *close = le - 1; /* le > s here */
			while (close > s && *close != ']')
				close--;
			if (close <= s || *close != ']') {
				r = error_set_at(err, -EINVAL, name, (unsigned)lineno, 1,
				                 "unterminated section header");
				goto out;
			}
			free(section);
			section = section_normalize(s + 1, (size_t)(close - s - 1));
			if (!section) {
				r = -ENOMEM;
				goto out;
			}
			char *copy = strdup(section);
			if (!copy || (r = ini_add_section(ini, copy)) < 0) {
				free(copy);
				r = -ENOMEM;
				goto out;
			}
			last_key = SIZE_MAX;
			continue;
		}
		if (!section)
			continue; /* before any section: ignored, as the SDKs do */
		eq = memchr(s, '=', (size_t)(le - s));
		if (indented && last_key != SIZE_MAX) {
			struct ini_entry *parent = &ini->e[last_key];
			if (!*parent->value && eq) {
				/* nested block: "s3 =\n  max_concurrent_requests = 10" */
				char *k = strndup_trim(s, (size_t)(eq - s)),
				     *v = strndup_trim(eq + 1, (size_t)(le - eq - 1));
				char *full = NULL;
				if (k && v && asprintf(&full, "%s.%s", parent->key, k) < 0)
					full = NULL;
				free(k);
				if (!full || !v) {
					free(full);
					secret_free_str(v);
					r = -ENOMEM;
					goto out;
				}
				r = ini_add(ini, section, full, v);
				if (r < 0)
					goto out;
			} else {
				/* continuation of the value (bounded: no quadratic copying) */
				char *more = strndup_trim(s, (size_t)(le - s)), *joined = NULL;
				size_t lines = 0;
				for (const char *c = parent->value; *c; c++)
					lines += *c == '\n';
				if (more && (lines >= INI_MAX_CONTINUATIONS ||
				             strlen(parent->value) + strlen(more) + 1 > INI_MAX_VALUE)) {
					secret_free_str(more);
					r = error_set_at(err, -E2BIG, name, (unsigned)lineno, 1,
					                 "value of %s continued past %d lines or %d bytes",
					                 parent->key, INI_MAX_CONTINUATIONS, INI_MAX_VALUE);
					goto out;
				}
				if (!more || asprintf(&joined, "%s\n%s", parent->value, more) < 0) {
					secret_free_str(more);
					r = -ENOMEM;
					goto out;
				}
				secret_free_str(more);
				secret_free_str(parent->value);
				parent->value = joined;
			}
			continue;
		}
		if (!eq) {
			r = error_set_at(err, -EINVAL, name, (unsigned)lineno, 1, "expected \"key = value\"");
			goto out;
		}
		char *k = strndup_trim(s, (size_t)(eq - s)), *v = strndup_trim(eq + 1, (size_t)(le - eq - 1));
		if (!k || !v) {
			free(k);
			secret_free_str(v);
			r = -ENOMEM;
			goto out;
		}
		if (!*k) {
			free(k);
			secret_free_str(v);
			r = error_set_at(err, -EINVAL, name, (unsigned)lineno, 1, "empty key");
			goto out;
		}
		r = ini_add(ini, section, k, v);
		if (r < 0) {
			if (r == -E2BIG)
				error_set_at(err, r, name, (unsigned)lineno, 1, "more than %d entries",
				             INI_MAX_ENTRIES);
			goto out;
		}
		last_key = ini->n - 1;
	}
out:
	free(section);
	if (r < 0) {
		if (err && !err->code)
			error_set(err, r, "%s: %s", name, strerror(-r));
		aws_ini_free(ini);
		return r;
	}
	*ret = ini;
	return 0;
}

const char *aws_ini_get(const struct aws_ini *ini, const char *section, const char *key)
{
	const char *v = NULL;

	for (size_t i = 0; ini && i < ini->n; i++)
		if (!strcmp(ini->e[i].section, section) && !strcmp(ini->e[i].key, key))
			v = ini->e[i].value;
	return v;
}

int aws_ini_has_section(const struct aws_ini *ini, const char *section)
{
	for (size_t i = 0; ini && i < ini->n_sections; i++)
		if (!strcmp(ini->sections[i], section))
			return 1;
	return 0;
}
