#include "util/parse.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Leading digits of `s` as an unsigned value; *end past them. */
static int digits(const char *s, const char **end, uint64_t *ret)
{
	uint64_t v = 0;
	const char *p = s;

	if (!isdigit((unsigned char)*p))
		return -EINVAL;
	for (; isdigit((unsigned char)*p); p++) {
		unsigned d = (unsigned)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -ERANGE;
		v = v * 10 + d;
	}
	*end = p;
	*ret = v;
	return 0;
}

int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *ret, struct error *err)
{
	const char *end;
	uint64_t v;
	int r;

	if (!s || !*s)
		return error_set(err, -EINVAL, "empty number");
	r = digits(s, &end, &v);
	if (r == -ERANGE)
		return error_set(err, -ERANGE, "number too large: \"%s\"", s);
	if (r < 0 || *end)
		return error_set(err, -EINVAL, "not a non-negative integer: \"%s\"", s);
	if (v < min || v > max)
		return error_set(err, -ERANGE, "%s is out of range (%llu to %llu)", s,
		                 (unsigned long long)min, (unsigned long long)max);
	*ret = v;
	return 0;
}

int parse_i64(const char *s, int64_t min, int64_t max, int64_t *ret, struct error *err)
{
	const char *p = s, *end;
	bool neg = false;
	uint64_t v;
	int64_t sv;
	int r;

	if (!s || !*s)
		return error_set(err, -EINVAL, "empty number");
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	r = digits(p, &end, &v);
	if (r == -ERANGE)
		return error_set(err, -ERANGE, "number too large: \"%s\"", s);
	if (r < 0 || *end)
		return error_set(err, -EINVAL, "not an integer: \"%s\"", s);
	if (neg) {
		if (v > (uint64_t)INT64_MAX + 1)
			return error_set(err, -ERANGE, "number too small: \"%s\"", s);
		sv = v == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)v;
	} else {
		if (v > (uint64_t)INT64_MAX)
			return error_set(err, -ERANGE, "number too large: \"%s\"", s);
		sv = (int64_t)v;
	}
	if (sv < min || sv > max)
		return error_set(err, -ERANGE, "%s is out of range (%lld to %lld)", s, (long long)min,
		                 (long long)max);
	*ret = sv;
	return 0;
}

int parse_int(const char *s, int min, int max, int *ret, struct error *err)
{
	int64_t v;
	int r = parse_i64(s, min, max, &v, err);

	if (r < 0)
		return r;
	*ret = (int)v;
	return 0;
}

int parse_double(const char *s, double min, double max, double *ret, struct error *err)
{
	char *end;
	double v;

	if (!s || !*s)
		return error_set(err, -EINVAL, "empty number");
	/* strtod accepts hex, inf, nan and leading space: refuse them */
	for (const char *p = s; *p; p++)
		if (!isdigit((unsigned char)*p) && !strchr("+-.eE", *p))
			return error_set(err, -EINVAL, "not a decimal number: \"%s\"", s);
	errno = 0;
	v = strtod(s, &end);
	if (end == s || *end)
		return error_set(err, -EINVAL, "not a decimal number: \"%s\"", s);
	if (errno == ERANGE || !isfinite(v))
		return error_set(err, -ERANGE, "number out of range: \"%s\"", s);
	if (v < min || v > max)
		return error_set(err, -ERANGE, "%s is out of range (%g to %g)", s, min, max);
	*ret = v;
	return 0;
}

int parse_duration_ms(const char *s, uint64_t *ret_ms, struct error *err)
{
	static const struct {
		const char *unit;
		uint64_t ms;
	} units[] = {
	    {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
	};
	const char *p = s;
	uint64_t total = 0;

	if (!s || !*s)
		return error_set(err, -EINVAL, "empty duration");
	while (*p) {
		const char *end, *u;
		uint64_t v, mul = 0;
		size_t ulen;
		int r = digits(p, &end, &v);

		if (r == -ERANGE)
			return error_set(err, -ERANGE, "duration too large: \"%s\"", s);
		if (r < 0)
			return error_set(err, -EINVAL,
			                 "invalid duration \"%s\" (expected e.g. 500ms, 30s, 5m, 1h)", s);
		u = end;
		while (isalpha((unsigned char)*end))
			end++;
		ulen = (size_t)(end - u);
		if (!ulen)
			return error_set(err, -EINVAL, "duration \"%s\" needs a unit (ms, s, m, h, d)", s);
		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
			if (strlen(units[i].unit) == ulen && !strncmp(u, units[i].unit, ulen))
				mul = units[i].ms;
		if (!mul)
			return error_set(err, -EINVAL,
			                 "unknown unit \"%.*s\" in duration \"%s\" (use ms, s, m, h, d)",
			                 (int)ulen, u, s);
		if (v > UINT64_MAX / mul || total > UINT64_MAX - v * mul)
			return error_set(err, -ERANGE, "duration too large: \"%s\"", s);
		total += v * mul;
		p = end;
	}
	*ret_ms = total;
	return 0;
}

int parse_size(const char *s, uint64_t *ret_bytes, struct error *err)
{
	static const struct {
		const char *unit;
		uint64_t mul;
	} units[] = {
	    {"", 1},
	    {"B", 1},
	    {"KiB", 1ULL << 10},
	    {"MiB", 1ULL << 20},
	    {"GiB", 1ULL << 30},
	    {"TiB", 1ULL << 40},
	    {"kB", 1000ULL},
	    {"KB", 1000ULL},
	    {"MB", 1000000ULL},
	    {"GB", 1000000000ULL},
	    {"TB", 1000000000000ULL},
	};
	const char *end;
	uint64_t v;
	int r;

	if (!s || !*s)
		return error_set(err, -EINVAL, "empty size");
	r = digits(s, &end, &v);
	if (r == -ERANGE)
		return error_set(err, -ERANGE, "size too large: \"%s\"", s);
	if (r < 0)
		return error_set(err, -EINVAL, "invalid size \"%s\" (expected e.g. 512, 64KiB, 50MiB)", s);
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].unit))
			continue;
		if (v > UINT64_MAX / units[i].mul)
			return error_set(err, -ERANGE, "size too large: \"%s\"", s);
		*ret_bytes = v * units[i].mul;
		return 0;
	}
	return error_set(err, -EINVAL,
	                 "unknown unit \"%s\" in size \"%s\" (use B, KiB, MiB, GiB, kB, MB, GB)", end, s);
}

int parse_bool(const char *s, int *ret, struct error *err)
{
	static const char *const yes[] = {"true", "True", "TRUE", "yes", "on"};
	static const char *const no[] = {"false", "False", "FALSE", "no", "off"};

	for (size_t i = 0; i < 5; i++) {
		if (!strcmp(s, yes[i])) {
			*ret = 1;
			return 0;
		}
		if (!strcmp(s, no[i])) {
			*ret = 0;
			return 0;
		}
	}
	return error_set(err, -EINVAL, "not a boolean: \"%s\" (use true or false)", s);
}

char *size_format(uint64_t bytes, char *out, size_t size)
{
	static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	double v = (double)bytes;
	size_t u = 0;

	if (!out || !size)
		return out;
	if (bytes < 1024) {
		snprintf(out, size, "%llu B", (unsigned long long)bytes);
		return out;
	}
	v /= 1024.0;
	/* 1023.96 MiB would print as "1024.0 MiB": move up a unit first */
	while (v >= 1024.0 - 0.05 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	snprintf(out, size, "%.1f %s", v, units[u]);
	return out;
}
