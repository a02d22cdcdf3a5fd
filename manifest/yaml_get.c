/*
 * yaml_get.c - typed accessors over the node tree, and the messages that say
 * what was found instead (see yaml.h).
 */
#include "manifest/yaml.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/parse.h"

int yaml_error(struct errlist *errs, const struct yaml_node *node, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	if (node)
		errlist_addv(errs, code, node->file, node->line, node->col, fmt, ap);
	else
		errlist_addv(errs, code, NULL, 0, 0, fmt, ap);
	va_end(ap);
	return code;
}

/* Quote a scalar for a message: at most ~40 characters, non-printables escaped. */
const char *yaml_quote(const struct yaml_node *n, char *out, size_t outsz)
{
	size_t o = 0;

	out[o++] = '"';
	for (size_t i = 0; i < n->len && o + 8 < outsz; i++) {
		unsigned char c = (unsigned char)n->str[i];

		if (i >= 40) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20 || c == 0x7f) {
			o += (size_t)snprintf(out + o, outsz - o, "\\x%02x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
	return out;
}

static bool tag_is(const struct yaml_node *n, const char *short_name)
{
	static const char prefix[] = "tag:yaml.org,2002:";

	if (!n->tag)
		return false;
	if (!strncmp(n->tag, prefix, sizeof(prefix) - 1))
		return !strcmp(n->tag + sizeof(prefix) - 1, short_name);
	return n->tag[0] == '!' && n->tag[1] == '!' && !strcmp(n->tag + 2, short_name);
}

bool yaml_is_null(const struct yaml_node *n)
{
	if (!n || n->kind != YAML_KIND_SCALAR)
		return false;
	if (n->tag)
		return tag_is(n, "null");
	if (n->style != YAML_STYLE_PLAIN)
		return false;
	return !strcmp(n->str, "") || !strcmp(n->str, "~") || !strcmp(n->str, "null") ||
	       !strcmp(n->str, "Null") || !strcmp(n->str, "NULL");
}

/* Skip an optional sign, then a run of digits: false if there was no digit. */
static bool skip_digits(const char **s, bool sign)
{
	const char *p = *s;

	if (sign && (*p == '+' || *p == '-'))
		p++;
	if (!isdigit((unsigned char)*p))
		return false;
	while (isdigit((unsigned char)*p))
		p++;
	*s = p;
	return true;
}

static bool text_is_int(const char *s)
{
	return skip_digits(&s, true) && !*s;
}

static bool text_is_decimal(const char *s)
{
	bool digits;

	if (*s == '+' || *s == '-')
		s++;
	digits = skip_digits(&s, false);
	if (*s == '.') {
		s++;
		digits = skip_digits(&s, false) || digits;
	}
	if (!digits)
		return false;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (!skip_digits(&s, true))
			return false;
	}
	return !*s;
}

static bool text_is_bool(const char *s)
{
	static const char *const words[] = {"true", "True", "TRUE", "false", "False", "FALSE",
	                                    "yes",  "Yes",  "YES",  "no",    "No",    "NO",
	                                    "on",   "On",   "ON",   "off",   "Off",   "OFF"};

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
		if (!strcmp(s, words[i]))
			return true;
	return false;
}

bool yaml_is_int(const struct yaml_node *n)
{
	if (!n || n->kind != YAML_KIND_SCALAR || n->len != strlen(n->str))
		return false;
	if (n->tag)
		return tag_is(n, "int") && text_is_int(n->str);
	return n->style == YAML_STYLE_PLAIN && text_is_int(n->str);
}

const char *yaml_describe(const struct yaml_node *n)
{
	if (!n)
		return "nothing";
	switch (n->kind) {
	case YAML_KIND_MAPPING:
		return "a mapping";
	case YAML_KIND_SEQUENCE:
		return "a list";
	case YAML_KIND_SCALAR:
		break;
	}
	if (yaml_is_null(n))
		return "null";
	if (n->tag && !tag_is(n, "str"))
		return "a tagged value";
	if (n->tag || n->style != YAML_STYLE_PLAIN)
		return "a string";
	if (text_is_int(n->str))
		return "an integer";
	if (text_is_decimal(n->str))
		return "a number";
	if (text_is_bool(n->str))
		return "a boolean";
	return "a string";
}

/* "got a list", "got the string \"x\"", "got null", "got 1.5" */
static const char *describe_got(const struct yaml_node *n, char *out, size_t outsz)
{
	char q[128];

	if (n->kind != YAML_KIND_SCALAR || yaml_is_null(n))
		snprintf(out, outsz, "%s", yaml_describe(n));
	else if (n->tag || n->style != YAML_STYLE_PLAIN)
		snprintf(out, outsz, "the string %s", yaml_quote(n, q, sizeof(q)));
	else
		snprintf(out, outsz, "%s %s", yaml_describe(n), yaml_quote(n, q, sizeof(q)));
	return out;
}

/* The first pair of `map` whose key text is `key`, or NULL. */
static const struct yaml_pair *map_pair(const struct yaml_node *map, const char *key)
{
	size_t klen;

	if (!map || map->kind != YAML_KIND_MAPPING)
		return NULL;
	klen = strlen(key);
	for (size_t i = 0; i < map->n_pairs; i++) {
		const struct yaml_node *k = map->pairs[i].key;
		if (k->len == klen && !memcmp(k->str, key, klen))
			return &map->pairs[i];
	}
	return NULL;
}

struct yaml_node *yaml_map_key(const struct yaml_node *map, const char *key)
{
	const struct yaml_pair *p = map_pair(map, key);

	return p ? p->key : NULL;
}

struct yaml_node *yaml_map_get(const struct yaml_node *map, const char *key)
{
	const struct yaml_pair *p = map_pair(map, key);

	return p ? p->value : NULL;
}

static int expect_kind(const struct yaml_node *n, enum yaml_kind kind, const char *what, const char *expected,
                       struct errlist *errs)
{
	char got[160];

	if (!n)
		return -ENOENT;
	if (n->kind == kind)
		return 0;
	return yaml_error(errs, n, -EINVAL, "%s: expected %s, got %s", what, expected,
	                  describe_got(n, got, sizeof(got)));
}

int yaml_expect_mapping(const struct yaml_node *n, const char *what, struct errlist *errs)
{
	return expect_kind(n, YAML_KIND_MAPPING, what, "a mapping", errs);
}

int yaml_expect_sequence(const struct yaml_node *n, const char *what, struct errlist *errs)
{
	return expect_kind(n, YAML_KIND_SEQUENCE, what, "a list", errs);
}

int yaml_expect_scalar(const struct yaml_node *n, const char *what, struct errlist *errs)
{
	return expect_kind(n, YAML_KIND_SCALAR, what, "a single value", errs);
}

int yaml_get_string(const struct yaml_node *n, const char *what, size_t max_len, const char **ret,
                    struct errlist *errs)
{
	char got[160];

	if (!n)
		return -ENOENT;
	if (n->kind != YAML_KIND_SCALAR || yaml_is_null(n))
		return yaml_error(errs, n, -EINVAL, "%s: expected a string, got %s", what,
		                  describe_got(n, got, sizeof(got)));
	if (n->tag && !tag_is(n, "str"))
		return yaml_error(errs, n, -EINVAL, "%s: expected a string, got a value tagged %s", what,
		                  n->tag);
	if (n->len != strlen(n->str))
		return yaml_error(errs, n, -EINVAL, "%s: must not contain a NUL character", what);
	if (max_len && n->len > max_len)
		return yaml_error(errs, n, -EINVAL, "%s: longer than %zu characters (%zu)", what, max_len,
		                  n->len);
	*ret = n->str;
	return 0;
}

int yaml_get_int(const struct yaml_node *n, const char *what, int64_t min, int64_t max, int64_t *ret,
                 struct errlist *errs)
{
	char got[160];
	int64_t v;

	if (!n)
		return -ENOENT;
	if (!yaml_is_int(n)) {
		if (n->kind == YAML_KIND_SCALAR && n->style != YAML_STYLE_PLAIN && !n->tag &&
		    text_is_int(n->str))
			return yaml_error(errs, n, -EINVAL,
			                  "%s: expected an integer, got the string %s (remove the quotes)",
			                  what, yaml_quote(n, got, sizeof(got)));
		return yaml_error(errs, n, -EINVAL, "%s: expected an integer, got %s", what,
		                  describe_got(n, got, sizeof(got)));
	}
	if (parse_i64(n->str, INT64_MIN, INT64_MAX, &v, NULL) < 0 || v < min || v > max)
		return yaml_error(errs, n, -ERANGE, "%s: must be between %lld and %lld, got %s", what,
		                  (long long)min, (long long)max, n->str);
	*ret = v;
	return 0;
}

int yaml_get_double(const struct yaml_node *n, const char *what, double min, double max, double *ret,
                    struct errlist *errs)
{
	char got[160];
	double v;
	bool ok;

	if (!n)
		return -ENOENT;
	ok = n->kind == YAML_KIND_SCALAR && n->len == strlen(n->str) && text_is_decimal(n->str) &&
	     (n->tag ? tag_is(n, "float") || tag_is(n, "int") : n->style == YAML_STYLE_PLAIN);
	if (!ok)
		return yaml_error(errs, n, -EINVAL, "%s: expected a number, got %s", what,
		                  describe_got(n, got, sizeof(got)));
	if (parse_double(n->str, -1e308, 1e308, &v, NULL) < 0 || v < min || v > max)
		return yaml_error(errs, n, -ERANGE, "%s: must be between %g and %g, got %s", what, min, max,
		                  n->str);
	*ret = v;
	return 0;
}

int yaml_get_bool(const struct yaml_node *n, const char *what, bool *ret, struct errlist *errs)
{
	char got[160];
	int v;

	if (!n)
		return -ENOENT;
	if (n->kind != YAML_KIND_SCALAR || (n->tag ? !tag_is(n, "bool") : n->style != YAML_STYLE_PLAIN) ||
	    parse_bool(n->str, &v, NULL) < 0)
		return yaml_error(errs, n, -EINVAL, "%s: expected true or false, got %s", what,
		                  describe_got(n, got, sizeof(got)));
	*ret = v;
	return 0;
}

int yaml_check_keys(const struct yaml_node *map, const char *prefix, const char *const allowed[],
                    struct errlist *errs)
{
	char list[512] = "", q[128];
	bool listed = false;
	size_t o = 0;
	int r = 0;

	if (!map || map->kind != YAML_KIND_MAPPING)
		return 0;
	for (size_t i = 0; i < map->n_pairs; i++) {
		const struct yaml_node *k = map->pairs[i].key;
		bool found = false;

		for (size_t j = 0; allowed[j] && !found; j++)
			found = strlen(allowed[j]) == k->len && !memcmp(allowed[j], k->str, k->len);
		if (found)
			continue;
		r = -EINVAL;
		if (k->len == 2 && !memcmp(k->str, "<<", 2) && k->style == YAML_STYLE_PLAIN) {
			yaml_error(errs, k, -EINVAL,
			           "%s%s<<: merge keys are not supported (write the keys out)",
			           prefix ? prefix : "", prefix && *prefix ? "." : "");
			continue;
		}
		/* the list for the message, once (only a file with a typo needs it) */
		for (size_t j = 0; !listed && allowed[j]; j++) {
			int w = snprintf(list + o, sizeof(list) - o, "%s%s", j ? ", " : "", allowed[j]);
			if (w < 0 || (size_t)w >= sizeof(list) - o)
				break;
			o += (size_t)w;
		}
		listed = true;
		yaml_quote(k, q, sizeof(q));
		/* strip the quotes for the key path: keys are usually plain words */
		q[strlen(q) - 1] = '\0';
		if (prefix && *prefix)
			yaml_error(errs, k, -EINVAL, "%s.%s: unknown key (expected one of: %s)", prefix,
			           q + 1, list);
		else
			yaml_error(errs, k, -EINVAL, "%s: unknown key (expected one of: %s)", q + 1, list);
		r = -EINVAL;
	}
	return r;
}
