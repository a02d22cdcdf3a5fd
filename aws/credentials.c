/*
 * credentials.c - the AWS SDK default credential chain (see credentials.h).
 *
 * Each source is a function that returns 0 with credentials, SOURCE_SKIP when
 * it is not configured (the reason goes into the "tried" list), or a negative
 * errno when it is configured but failed (the chain stops: falling through
 * to another identity would be a surprise).
 */
#include "aws/credentials.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <openssl/crypto.h>

#include "aws/http.h"
#include "aws/sigv4.h"
#include "util/file.h"

extern char **environ;

#define SOURCE_SKIP              1
#define INI_MAX_ENTRIES          4096
#define INI_MAX_CONTINUATIONS    64          /* indented lines continuing one value */
#define INI_MAX_VALUE            (64 * 1024) /* bytes of a continued value */
#define TOKEN_FILE_MAX           (64 * 1024)
#define PROCESS_OUTPUT_MAX       (64 * 1024)
#define METADATA_RESPONSE_MAX    (64 * 1024)
#define STS_RESPONSE_MAX         (256 * 1024)
#define IMDS_DEFAULT_ENDPOINT    "http://169.254.169.254"
#define IMDS_DEFAULT_ENDPOINT_V6 "http://[fd00:ec2::254]"
#define ECS_DEFAULT_HOST         "169.254.170.2"

/* ---- small helpers ------------------------------------------------------- */

/* getenv, but an empty value counts as unset. */
static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static void wipe_free(char *s)
{
	if (s) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void aws_credentials_release(struct aws_credentials *c)
{
	if (!c)
		return;
	wipe_free(c->access_key_id);
	wipe_free(c->secret_access_key);
	wipe_free(c->session_token);
	c->access_key_id = c->secret_access_key = c->session_token = NULL;
	c->expiration = 0;
	c->source[0] = '\0';
}

int aws_credentials_copy(struct aws_credentials *ret, const struct aws_credentials *src)
{
	struct aws_credentials c = {0};

	c.access_key_id = src->access_key_id ? strdup(src->access_key_id) : NULL;
	c.secret_access_key = src->secret_access_key ? strdup(src->secret_access_key) : NULL;
	c.session_token = src->session_token ? strdup(src->session_token) : NULL;
	if ((src->access_key_id && !c.access_key_id) || (src->secret_access_key && !c.secret_access_key) ||
	    (src->session_token && !c.session_token)) {
		aws_credentials_release(&c);
		return -ENOMEM;
	}
	c.expiration = src->expiration;
	memcpy(c.source, src->source, sizeof(c.source));
	c.source[sizeof(c.source) - 1] = '\0';
	*ret = c;
	return 0;
}

/* Fill *ret from borrowed strings (copied). */
static int creds_make(struct aws_credentials *ret, const char *akid, const char *secret, const char *token,
                      time_t expiration, const char *source)
{
	struct aws_credentials src = {.access_key_id = (char *)akid,
	                              .secret_access_key = (char *)secret,
	                              .session_token = (char *)(token && *token ? token : NULL),
	                              .expiration = expiration};

	size_t n = strlen(source);
	if (n >= sizeof(src.source))
		n = sizeof(src.source) - 1; /* "profile:<long name>" is cut, on purpose */
	memcpy(src.source, source, n);
	src.source[n] = '\0';
	return aws_credentials_copy(ret, &src);
}

/* An access key id is printable, no spaces; checked so it can go into headers and messages. */
static bool akid_valid(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++, n++)
		if (!isalnum((unsigned char)*s))
			return false;
	return n >= 4 && n <= 128;
}

static bool secret_valid(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++, n++)
		if ((unsigned char)*s <= ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return n >= 1 && n <= 1024;
}

static bool token_valid(const char *s)
{
	size_t n = 0;

	for (; s && *s; s++, n++)
		if ((unsigned char)*s < ' ' || (unsigned char)*s >= 0x7f)
			return false;
	return n <= 16384;
}

/* Check a set of credentials from outside; message names `what`, never the values. */
static int creds_check(const char *akid, const char *secret, const char *token, const char *what,
                       struct error *err)
{
	if (!akid || !*akid)
		return error_set(err, -EBADMSG, "%s: no access key id", what);
	if (!secret || !*secret)
		return error_set(err, -EBADMSG, "%s: no secret access key", what);
	if (!akid_valid(akid))
		return error_set(err, -EBADMSG, "%s: malformed access key id", what);
	if (!secret_valid(secret))
		return error_set(err, -EBADMSG, "%s: malformed secret access key", what);
	if (token && !token_valid(token))
		return error_set(err, -EBADMSG, "%s: malformed session token", what);
	return 0;
}

/* Read a whole (small) file: file_read_fd's codes, -ENOENT when missing. */
static int file_read(const char *path, size_t max, struct buf *out, struct error *err)
{
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return error_set(err, -errno, "%s: %s", path, strerror(errno));
	r = file_read_fd(out, fd, max, path, err);
	close(fd);
	return r;
}

static void trim_buf(struct buf *b)
{
	size_t s = 0, e = b->len;

	while (s < e && isspace((unsigned char)b->ptr[s]))
		s++;
	while (e > s && isspace((unsigned char)b->ptr[e - 1]))
		e--;
	if (s)
		memmove(b->ptr, b->ptr + s, e - s);
	buf_truncate(b, e - s);
}

/* ---- time ---------------------------------------------------------------- */

static int digits(const char **s, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!isdigit((unsigned char)(*s)[i]))
			return -EINVAL;
		v = v * 10 + ((*s)[i] - '0');
	}
	*s += n;
	*ret = v;
	return 0;
}

int aws_time_parse_iso8601(const char *s, time_t *ret)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec, oh = 0, om = 0, sign = 0;
	time_t t;

	if (!s)
		return -EINVAL;
	if (digits(&s, 4, &y) || *s++ != '-' || digits(&s, 2, &mo) || *s++ != '-' || digits(&s, 2, &d))
		return -EINVAL;
	if (*s != 'T' && *s != 't' && *s != ' ')
		return -EINVAL;
	s++;
	if (digits(&s, 2, &h) || *s++ != ':' || digits(&s, 2, &mi) || *s++ != ':' || digits(&s, 2, &sec))
		return -EINVAL;
	if (*s == '.') {
		s++;
		if (!isdigit((unsigned char)*s))
			return -EINVAL;
		for (int i = 0; isdigit((unsigned char)*s); s++, i++)
			if (i > 12)
				return -EINVAL;
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		sign = *s++ == '+' ? 1 : -1;
		if (digits(&s, 2, &oh))
			return -EINVAL;
		if (*s == ':')
			s++;
		if (digits(&s, 2, &om))
			return -EINVAL;
		if (oh > 23 || om > 59)
			return -EINVAL;
	} else {
		return -EINVAL;
	}
	if (*s)
		return -EINVAL;
	if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
		return -EINVAL;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1)
		return -EINVAL;
	t -= sign * (oh * 3600 + om * 60);
	*ret = t;
	return 0;
}

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
		wipe_free(ini->e[i].value);
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
	wipe_free(value);
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
					wipe_free(v);
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
					wipe_free(more);
					r = error_set_at(err, -E2BIG, name, (unsigned)lineno, 1,
					                 "value of %s continued past %d lines or %d bytes",
					                 parent->key, INI_MAX_CONTINUATIONS, INI_MAX_VALUE);
					goto out;
				}
				if (!more || asprintf(&joined, "%s\n%s", parent->value, more) < 0) {
					wipe_free(more);
					r = -ENOMEM;
					goto out;
				}
				wipe_free(more);
				wipe_free(parent->value);
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
			wipe_free(v);
			r = -ENOMEM;
			goto out;
		}
		if (!*k) {
			free(k);
			wipe_free(v);
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

/* ---- JSON / XML responses ------------------------------------------------ */

static const char *json_str(const cJSON *o, const char *name)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* cJSON_Delete, after wiping the top-level strings (the secrets are there). Accepts NULL. */
static void json_delete_wiped(cJSON *root)
{
	cJSON *it;

	if (!root)
		return;
	cJSON_ArrayForEach(it, root)
	{
		if (cJSON_IsString(it) && it->valuestring)
			OPENSSL_cleanse(it->valuestring, strlen(it->valuestring));
	}
	cJSON_Delete(root);
}

int aws_credentials_parse_json(const char *text, size_t len, int need_version, const char *source,
                               struct aws_credentials *ret, struct error *err)
{
	cJSON *root;
	const cJSON *ver;
	const char *akid, *secret, *token, *exp;
	time_t expiration = 0;
	int r;

	if (len > PROCESS_OUTPUT_MAX)
		return error_set(err, -E2BIG, "%s: credentials document too large", source);
	root = cJSON_ParseWithLength(text, len);
	if (!root || !cJSON_IsObject(root)) {
		r = error_set(err, -EBADMSG, "%s: credentials are not a JSON object", source);
		goto out;
	}
	if (need_version) {
		ver = cJSON_GetObjectItemCaseSensitive(root, "Version");
		if (!cJSON_IsNumber(ver) || ver->valuedouble != 1) {
			r = error_set(err, -EBADMSG, "%s: \"Version\": 1 required", source);
			goto out;
		}
	}
	akid = json_str(root, "AccessKeyId");
	secret = json_str(root, "SecretAccessKey");
	token = json_str(root, "Token");
	if (!token)
		token = json_str(root, "SessionToken");
	exp = json_str(root, "Expiration");
	r = creds_check(akid, secret, token, source, err);
	if (r < 0)
		goto out;
	if (exp && aws_time_parse_iso8601(exp, &expiration) < 0) {
		r = error_set(err, -EBADMSG, "%s: malformed Expiration", source);
		goto out;
	}
	r = creds_make(ret, akid, secret, token, expiration, source);
	if (r < 0)
		error_set(err, r, "out of memory");
out:
	json_delete_wiped(root);
	return r;
}

/* Decode the five XML entities and numeric references into out. */
static int xml_unescape(struct buf *out, const char *s, size_t n)
{
	int r = 0;

	for (size_t i = 0; i < n && r >= 0; i++) {
		if (s[i] != '&') {
			r = buf_putc(out, s[i]);
			continue;
		}
		const char *semi = memchr(s + i, ';', n - i);
		size_t l = semi ? (size_t)(semi - (s + i)) + 1 : 0;
		if (!semi || l > 12)
			return -EBADMSG;
		if (l == 5 && !memcmp(s + i, "&amp;", 5))
			r = buf_putc(out, '&');
		else if (l == 4 && !memcmp(s + i, "&lt;", 4))
			r = buf_putc(out, '<');
		else if (l == 4 && !memcmp(s + i, "&gt;", 4))
			r = buf_putc(out, '>');
		else if (l == 6 && !memcmp(s + i, "&quot;", 6))
			r = buf_putc(out, '"');
		else if (l == 6 && !memcmp(s + i, "&apos;", 6))
			r = buf_putc(out, '\'');
		else if (l >= 4 && s[i + 1] == '#') {
			char num[16];
			unsigned long v;
			char *e;
			memcpy(num, s + i + 2, l - 3);
			num[l - 3] = '\0';
			v = (num[0] == 'x' || num[0] == 'X') ? strtoul(num + 1, &e, 16)
			                                     : strtoul(num, &e, 10);
			if (*e || v == 0 || v > 0x7f) /* ASCII only: credentials are ASCII */
				return -EBADMSG;
			r = buf_putc(out, (char)v);
		} else {
			return -EBADMSG;
		}
		i += l - 1;
	}
	return r;
}

/*
 * Text of the first <tag>...</tag> inside [s, s+n) (no attributes on the tag,
 * as STS writes them), unescaped, into out.  -ENOENT if absent.
 */
static int xml_text(const char *s, size_t n, const char *tag, struct buf *out, const char **ret_start,
                    size_t *ret_len)
{
	char open[64], close[64];
	const char *a, *b;

	snprintf(open, sizeof(open), "<%s>", tag);
	snprintf(close, sizeof(close), "</%s>", tag);
	a = memmem(s, n, open, strlen(open));
	if (!a)
		return -ENOENT;
	a += strlen(open);
	b = memmem(a, n - (size_t)(a - s), close, strlen(close));
	if (!b)
		return -EBADMSG;
	if (ret_start)
		*ret_start = a;
	if (ret_len)
		*ret_len = (size_t)(b - a);
	if (!out)
		return 0;
	return xml_unescape(out, a, (size_t)(b - a));
}

int aws_credentials_parse_sts_xml(const char *text, size_t len, const char *source,
                                  struct aws_credentials *ret, struct error *err)
{
	struct buf akid = BUF_INIT_CAP(256), secret = BUF_INIT_CAP(1024), token = BUF_INIT_CAP(16384),
	           exp = BUF_INIT_CAP(64);
	const char *cs;
	size_t cl;
	time_t expiration = 0;
	int r;

	buf_mark_secret(&secret);
	buf_mark_secret(&token);
	if (len > STS_RESPONSE_MAX) {
		r = error_set(err, -E2BIG, "%s: STS response too large", source);
		goto out;
	}
	r = xml_text(text, len, "Credentials", NULL, &cs, &cl);
	if (r < 0) {
		r = error_set(err, -EBADMSG, "%s: no <Credentials> in the STS response", source);
		goto out;
	}
	if (xml_text(cs, cl, "AccessKeyId", &akid, NULL, NULL) < 0 ||
	    xml_text(cs, cl, "SecretAccessKey", &secret, NULL, NULL) < 0 ||
	    xml_text(cs, cl, "SessionToken", &token, NULL, NULL) < 0 ||
	    xml_text(cs, cl, "Expiration", &exp, NULL, NULL) < 0) {
		r = error_set(err, -EBADMSG, "%s: incomplete or malformed <Credentials> in the STS response",
		              source);
		goto out;
	}
	trim_buf(&akid);
	trim_buf(&secret);
	trim_buf(&token);
	trim_buf(&exp);
	r = creds_check(akid.ptr, secret.ptr, token.ptr, source, err);
	if (r < 0)
		goto out;
	if (!token.len) {
		r = error_set(err, -EBADMSG, "%s: no session token in the STS response", source);
		goto out;
	}
	if (aws_time_parse_iso8601(exp.ptr, &expiration) < 0) {
		r = error_set(err, -EBADMSG, "%s: malformed Expiration in the STS response", source);
		goto out;
	}
	r = creds_make(ret, akid.ptr, secret.ptr, token.ptr, expiration, source);
	if (r < 0)
		error_set(err, r, "out of memory");
out:
	buf_release(&akid);
	buf_release_secret(&secret);
	buf_release_secret(&token);
	buf_release(&exp);
	return r;
}

/* A short, printable excerpt of a server's error message (no secrets are in STS errors). */
static void sanitize_copy(char *out, size_t outsz, const char *s, size_t n)
{
	size_t j = 0;

	for (size_t i = 0; i < n && j + 1 < outsz; i++)
		out[j++] = (unsigned char)s[i] >= ' ' && (unsigned char)s[i] < 0x7f ? s[i] : ' ';
	out[j] = '\0';
}

/* ---- the provider -------------------------------------------------------- */

struct aws_credentials_provider {
	pthread_mutex_t lock;
	char *profile;      /* NULL = resolve from the environment at each fetch */
	char *sts_endpoint; /* NULL = from the environment */
	struct aws_credentials cached;
	bool have_cached;
	time_t retry_after; /* after a failed refresh, keep using `cached` until then */
	long process_timeout_ms;
	struct http_client *sts_http, *meta_http;
};

/* State of one resolution of the chain. */
struct chain {
	struct aws_credentials_provider *p;
	time_t now;
	struct buf tried; /* "environment: not set; ..." */
	char *profile;
	bool profile_explicit;
	struct aws_ini *cred_ini, *conf_ini;
	char *cred_path, *conf_path;
	bool files_loaded;
};

static int tried_add(struct chain *ch, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int tried_add(struct chain *ch, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (ch->tried.len)
		buf_puts(&ch->tried, "; ");
	va_start(ap, fmt);
	r = buf_vprintf(&ch->tried, fmt, ap);
	va_end(ap);
	return r;
}

int aws_credentials_provider_new(struct aws_credentials_provider **ret,
                                 const struct aws_credentials_options *opt, struct error *err)
{
	struct aws_credentials_provider *p = calloc(1, sizeof(*p));

	if (!p)
		return error_set(err, -ENOMEM, "out of memory");
	pthread_mutex_init(&p->lock, NULL);
	p->process_timeout_ms =
	    opt && opt->process_timeout_ms > 0 ? opt->process_timeout_ms : AWS_PROCESS_TIMEOUT_S * 1000L;
	if (opt && opt->profile && !(p->profile = strdup(opt->profile)))
		goto oom;
	if (opt && opt->sts_endpoint && !(p->sts_endpoint = strdup(opt->sts_endpoint)))
		goto oom;
	*ret = p;
	return 0;
oom:
	aws_credentials_provider_free(p);
	return error_set(err, -ENOMEM, "out of memory");
}

void aws_credentials_provider_free(struct aws_credentials_provider *p)
{
	if (!p)
		return;
	aws_credentials_release(&p->cached);
	http_client_free(p->sts_http);
	http_client_free(p->meta_http);
	free(p->profile);
	free(p->sts_endpoint);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

/* ---- shared files -------------------------------------------------------- */

static int home_path(char **ret, const char *rel)
{
	const char *home = env("HOME");
	struct passwd pw, *res = NULL;
	char pwbuf[4096];

	if (!home) {
		if (getpwuid_r(getuid(), &pw, pwbuf, sizeof(pwbuf), &res) || !res || !res->pw_dir)
			return -ENOENT;
		home = res->pw_dir;
	}
	return asprintf(ret, "%s/%s", home, rel) < 0 ? -ENOMEM : 0;
}

static int expand_tilde(char **ret, const char *path)
{
	if (path[0] == '~' && (path[1] == '/' || !path[1]))
		return home_path(ret, path[1] ? path + 2 : "");
	*ret = strdup(path);
	return *ret ? 0 : -ENOMEM;
}

/* Load one shared file; a missing file is an empty one. */
static int ini_load(struct aws_ini **ret, const char *path, struct error *err)
{
	struct buf b = BUF_INIT;
	int r;

	buf_mark_secret(&b);
	r = file_read(path, AWS_CREDENTIALS_FILE_MAX, &b, err);
	if (r == -ENOENT || r == -ENOTDIR) {
		error_clear(err);
		r = aws_ini_parse(ret, "", 0, path, err);
	} else if (r >= 0) {
		r = aws_ini_parse(ret, b.ptr, b.len, path, err);
	}
	buf_release_secret(&b);
	return r;
}

static int files_paths(char **ret_cred, char **ret_conf)
{
	const char *c = env("AWS_SHARED_CREDENTIALS_FILE"), *f = env("AWS_CONFIG_FILE");
	int r;

	r = c ? expand_tilde(ret_cred, c) : home_path(ret_cred, ".aws/credentials");
	if (r < 0)
		return r;
	r = f ? expand_tilde(ret_conf, f) : home_path(ret_conf, ".aws/config");
	if (r < 0) {
		free(*ret_cred);
		*ret_cred = NULL;
	}
	return r;
}

static int chain_load_files(struct chain *ch, struct error *err)
{
	int r;

	if (ch->files_loaded)
		return 0;
	r = files_paths(&ch->cred_path, &ch->conf_path);
	if (r < 0)
		return error_set(err, r, "cannot locate ~/.aws: HOME not set");
	r = ini_load(&ch->cred_ini, ch->cred_path, err);
	if (r >= 0)
		r = ini_load(&ch->conf_ini, ch->conf_path, err);
	if (r >= 0)
		ch->files_loaded = true;
	return r;
}

/* A profile's key: the credentials file first, then the config file. */
static const char *profile_get(const struct chain *ch, const char *profile, const char *key)
{
	char sect[300];
	const char *v = aws_ini_get(ch->cred_ini, profile, key);

	if (v)
		return v;
	snprintf(sect, sizeof(sect), "profile %s", profile);
	v = aws_ini_get(ch->conf_ini, sect, key);
	if (!v && !strcmp(profile, "default"))
		v = aws_ini_get(ch->conf_ini, "default", key);
	return v;
}

static bool profile_exists(const struct chain *ch, const char *profile)
{
	char sect[300];

	snprintf(sect, sizeof(sect), "profile %s", profile);
	return aws_ini_has_section(ch->cred_ini, profile) || aws_ini_has_section(ch->conf_ini, sect) ||
	       (!strcmp(profile, "default") && aws_ini_has_section(ch->conf_ini, "default"));
}

static const char *profile_region(const struct chain *ch, const char *profile)
{
	char sect[300];
	const char *v;

	snprintf(sect, sizeof(sect), "profile %s", profile);
	v = aws_ini_get(ch->conf_ini, sect, "region");
	if (!v && !strcmp(profile, "default"))
		v = aws_ini_get(ch->conf_ini, "default", "region");
	return v && *v ? v : NULL;
}

int aws_region_resolve(const char *profile, char **ret_region, struct error *err)
{
	struct chain ch = {0};
	const char *v = env("AWS_REGION");
	char *s;
	int r;

	if (!v)
		v = env("AWS_DEFAULT_REGION");
	if (v) {
		s = strdup(v);
		if (!s)
			return error_set(err, -ENOMEM, "out of memory");
		*ret_region = s;
		return 0;
	}
	if (!profile)
		profile = env("AWS_PROFILE");
	if (!profile)
		profile = "default";
	r = chain_load_files(&ch, err);
	if (r >= 0) {
		v = profile_region(&ch, profile);
		if (!v) {
			r = error_set(err, -ENOENT,
			              "no AWS region: set AWS_REGION or AWS_DEFAULT_REGION, or region in "
			              "profile %s of %s",
			              profile, ch.conf_path);
		} else if (!(s = strdup(v))) {
			r = error_set(err, -ENOMEM, "out of memory");
		} else {
			*ret_region = s;
		}
	}
	aws_ini_free(ch.cred_ini);
	aws_ini_free(ch.conf_ini);
	free(ch.cred_path);
	free(ch.conf_path);
	return r;
}

/* ---- HTTP helpers -------------------------------------------------------- */

/* The client in *slot, made with `o` on first use (kept for the provider's life). */
static int cached_client(struct http_client **slot, const struct http_options *o, struct http_client **ret,
                         struct error *err)
{
	int r;

	if (!*slot) {
		r = http_client_new(slot, o, err);
		if (r < 0)
			return r;
	}
	*ret = *slot;
	return 0;
}

static int meta_client(struct aws_credentials_provider *p, struct http_client **ret, struct error *err)
{
	struct http_options o = {.connect_timeout_ms = 1000,
	                         .total_timeout_ms = 3000,
	                         .max_response_bytes = METADATA_RESPONSE_MAX};

	return cached_client(&p->meta_http, &o, ret, err);
}

static int sts_client(struct aws_credentials_provider *p, struct http_client **ret, struct error *err)
{
	struct http_options o = {
	    .connect_timeout_ms = 5000, .total_timeout_ms = 15000, .max_response_bytes = STS_RESPONSE_MAX};

	return cached_client(&p->sts_http, &o, ret, err);
}

/* host[:port] of an http(s) URL into out (at most outsz-1 bytes). */
static int url_host(const char *url, char *out, size_t outsz)
{
	const char *h = strstr(url, "://"), *e;
	size_t n;

	if (!h)
		return -EINVAL;
	h += 3;
	e = h + strcspn(h, "/?#");
	if (memchr(h, '@', (size_t)(e - h)))
		return -EINVAL; /* no userinfo */
	n = (size_t)(e - h);
	if (n == 0 || n >= outsz)
		return -EINVAL;
	memcpy(out, h, n);
	out[n] = '\0';
	return 0;
}

/* ---- source: environment ------------------------------------------------- */

static int source_env(struct chain *ch, struct aws_credentials *ret, struct error *err)
{
	const char *akid = env("AWS_ACCESS_KEY_ID"), *secret = env("AWS_SECRET_ACCESS_KEY"),
	           *token = env("AWS_SESSION_TOKEN");
	int r;

	if (!akid && !secret) {
		tried_add(ch, "environment: AWS_ACCESS_KEY_ID not set");
		return SOURCE_SKIP;
	}
	if (!akid)
		return error_set(
		    err, -EINVAL,
		    "environment: AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is missing");
	if (!secret)
		return error_set(
		    err, -EINVAL,
		    "environment: AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is missing");
	r = creds_check(akid, secret, token, "environment", err);
	if (r < 0)
		return r;
	r = creds_make(ret, akid, secret, token, 0, "environment");
	return r < 0 ? error_set(err, r, "out of memory") : 0;
}

/* ---- STS ----------------------------------------------------------------- */

static int sts_endpoint(struct chain *ch, const char *region, char **ret)
{
	const char *e = ch->p->sts_endpoint;

	if (!e)
		e = env("AWS_ENDPOINT_URL_STS");
	if (!e)
		e = env("AWS_ENDPOINT_URL");
	if (e) {
		size_t n = strlen(e);
		while (n && e[n - 1] == '/')
			n--;
		*ret = strndup(e, n);
		return *ret ? 0 : -ENOMEM;
	}
	return asprintf(ret, "https://sts.%s.amazonaws.com%s", region,
	                !strncmp(region, "cn-", 3) ? ".cn" : "") < 0
	           ? -ENOMEM
	           : 0;
}

static const char *chain_region(struct chain *ch, const char *profile)
{
	const char *r = env("AWS_REGION");

	if (!r)
		r = env("AWS_DEFAULT_REGION");
	if (!r && profile && ch->files_loaded)
		r = profile_region(ch, profile);
	return r ? r : "us-east-1";
}

static int form_add(struct buf *b, const char *name, const char *value)
{
	int r = buf_printf(b, "%s%s=", b->len ? "&" : "", name);

	return r < 0 ? r : http_uri_encode(b, value, strlen(value), true);
}

/*
 * POST an STS query-API call; `signer` NULL = unsigned (web identity).
 * Parses the credentials out of the response.
 */
static int sts_call(struct chain *ch, const char *region, const struct buf *form,
                    const struct aws_credentials *signer, const char *source, const char *what,
                    struct aws_credentials *ret, struct error *err)
{
	struct http_client *http;
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct sigv4_result sig = SIGV4_RESULT_INIT;
	struct http_header h[5];
	size_t nh = 0;
	char *endpoint = NULL, *url = NULL, host[256];
	int r;

	r = sts_endpoint(ch, region, &endpoint);
	if (r < 0)
		return error_set(err, r, "out of memory");
	if (url_host(endpoint, host, sizeof(host)) < 0) {
		r = error_set(err, -EINVAL, "%s: bad STS endpoint %s", what, endpoint);
		goto out;
	}
	if (asprintf(&url, "%s/", endpoint) < 0) {
		url = NULL;
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	r = sts_client(ch->p, &http, err);
	if (r < 0)
		goto out;
	h[nh++] = (struct http_header){(char *)"Host", host};
	h[nh++] = (struct http_header){(char *)"Content-Type",
	                               (char *)"application/x-www-form-urlencoded; charset=utf-8"};
	if (signer) {
		struct sigv4_params sp = {.method = "POST",
		                          .path = "/",
		                          .headers = h,
		                          .n_headers = nh,
		                          .payload = form->ptr,
		                          .payload_len = form->len,
		                          .region = region,
		                          .service = "sts",
		                          .now = time(NULL),
		                          .double_encode_path = true};
		r = sigv4_sign(&sp, signer, &sig, err);
		if (r < 0)
			goto out;
		h[nh++] = (struct http_header){(char *)"X-Amz-Date", sig.amz_date};
		h[nh++] = (struct http_header){(char *)"Authorization", sig.authorization.ptr};
		if (signer->session_token)
			h[nh++] = (struct http_header){(char *)"X-Amz-Security-Token", signer->session_token};
	}
	struct http_request req = {.method = "POST",
	                           .url = url,
	                           .headers = h,
	                           .n_headers = nh,
	                           .body = form->ptr,
	                           .body_len = form->len};
	r = http_client_send(http, &req, &resp, err);
	if (r < 0) {
		error_prefix(err, "%s", what);
		goto out;
	}
	if (resp.status != 200) {
		struct buf code = BUF_INIT_CAP(128), msg = BUF_INIT_CAP(512);
		char c[130] = "", m[300] = "";
		xml_text(resp.body.ptr, resp.body.len, "Code", &code, NULL, NULL);
		xml_text(resp.body.ptr, resp.body.len, "Message", &msg, NULL, NULL);
		sanitize_copy(c, sizeof(c), code.ptr, code.len);
		sanitize_copy(m, sizeof(m), msg.ptr, msg.len);
		r = resp.status == 403 || resp.status == 401   ? -EACCES
		    : resp.status >= 500 || resp.status == 429 ? -EAGAIN
		                                               : -EIO;
		error_set(err, r, "%s: STS %s returned HTTP %ld%s%s%s%s", what, endpoint, resp.status,
		          *c ? " " : "", c, *m ? ": " : "", m);
		buf_release(&code);
		buf_release(&msg);
		goto out;
	}
	r = aws_credentials_parse_sts_xml(resp.body.ptr, resp.body.len, source, ret, err);
	if (r < 0)
		error_prefix(err, "%s", what);
out:
	http_response_release(&resp);
	sigv4_result_release(&sig);
	free(endpoint);
	free(url);
	return r;
}

static void default_session_name(char *out, size_t outsz, time_t now)
{
	snprintf(out, outsz, "aliasd-%lld", (long long)now);
}

static int read_token_file(const char *path, struct buf *out, const char *what, struct error *err)
{
	int r;

	r = file_read(path, TOKEN_FILE_MAX, out, err);
	if (r < 0)
		return error_prefix(err, "%s: cannot read the token file", what);
	trim_buf(out);
	if (!out->len)
		return error_set(err, -EINVAL, "%s: token file %s is empty", what, path);
	return 0;
}

static int web_identity(struct chain *ch, const char *token_file, const char *role_arn, const char *session,
                        const char *region, const char *what, struct aws_credentials *ret, struct error *err)
{
	struct buf token = BUF_INIT, form = BUF_INIT;
	char sess[64];
	int r;

	buf_mark_secret(&token);
	buf_mark_secret(&form);
	if (!session) {
		default_session_name(sess, sizeof(sess), ch->now);
		session = sess;
	}
	r = read_token_file(token_file, &token, what, err);
	if (r < 0)
		goto out;
	if ((r = form_add(&form, "Action", "AssumeRoleWithWebIdentity")) < 0 ||
	    (r = form_add(&form, "Version", "2011-06-15")) < 0 ||
	    (r = form_add(&form, "RoleArn", role_arn)) < 0 ||
	    (r = form_add(&form, "RoleSessionName", session)) < 0 ||
	    (r = form_add(&form, "WebIdentityToken", token.ptr)) < 0) {
		r = error_set(err, r, "%s: cannot build the request", what);
		goto out;
	}
	r = sts_call(ch, region, &form, NULL, "web-identity", what, ret, err);
out:
	buf_release_secret(&token);
	buf_release_secret(&form);
	return r;
}

static int source_web_identity_env(struct chain *ch, struct aws_credentials *ret, struct error *err)
{
	const char *file = env("AWS_WEB_IDENTITY_TOKEN_FILE"), *role = env("AWS_ROLE_ARN");

	/* as botocore: AWS_ROLE_ARN alone is not a web identity configuration */
	if (!file) {
		tried_add(ch, "web-identity: AWS_WEB_IDENTITY_TOKEN_FILE not set");
		return SOURCE_SKIP;
	}
	if (!role)
		return error_set(
		    err, -EINVAL,
		    "web-identity: AWS_WEB_IDENTITY_TOKEN_FILE is set but AWS_ROLE_ARN is missing");
	return web_identity(ch, file, role, env("AWS_ROLE_SESSION_NAME"), chain_region(ch, NULL),
	                    "web-identity", ret, err);
}

/* ---- credential_process -------------------------------------------------- */

static int run_process(const char *cmd, long timeout_ms, const char *what, struct buf *out, struct error *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	int pipefd[2], status = 0, r = 0;
	pid_t pid;
	char *argv[] = {(char *)"sh", (char *)"-c", (char *)cmd, NULL};
	struct timespec start, now;
	bool exited = false;

	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return error_set(err, -errno, "%s: pipe: %s", what, strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pipefd[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawnattr_init(&attr);
	posix_spawnattr_setpgroup(&attr, 0);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP);
	r = posix_spawn(&pid, "/bin/sh", &fa, &attr, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	close(pipefd[1]);
	if (r) {
		close(pipefd[0]);
		return error_set(err, -r, "%s: cannot run /bin/sh: %s", what, strerror(r));
	}
	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
		long elapsed_ms;
		char chunk[4096];
		ssize_t n;

		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed_ms = (now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000;
		if (elapsed_ms >= timeout_ms) {
			r = error_set(err, -ETIMEDOUT, "%s: credential_process did not finish within %.1f s",
			              what, timeout_ms / 1000.0);
			break;
		}
		int pr = poll(&pfd, 1, (int)(timeout_ms - elapsed_ms));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr <= 0)
			continue; /* timeout is checked at the top */
		n = read(pipefd[0], chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break; /* EOF: the process closed stdout */
		if (out->len + (size_t)n > PROCESS_OUTPUT_MAX) {
			r = error_set(err, -E2BIG, "%s: credential_process output over %d bytes", what,
			              PROCESS_OUTPUT_MAX);
			OPENSSL_cleanse(chunk, sizeof(chunk));
			break;
		}
		if (buf_put(out, chunk, (size_t)n) < 0) {
			r = error_set(err, -ENOMEM, "out of memory");
			break;
		}
		OPENSSL_cleanse(chunk, sizeof(chunk));
	}
	close(pipefd[0]);
	if (r < 0) {
		kill(-pid, SIGKILL);
		kill(pid, SIGKILL);
	} else {
		/* stdout closed: give the process the rest of its time to exit */
		for (;;) {
			pid_t w = waitpid(pid, &status, WNOHANG);
			if (w == pid) {
				exited = true;
				break;
			}
			if (w < 0 && errno != EINTR)
				break;
			clock_gettime(CLOCK_MONOTONIC, &now);
			if ((now.tv_sec - start.tv_sec) * 1000 + (now.tv_nsec - start.tv_nsec) / 1000000 >=
			    timeout_ms) {
				kill(-pid, SIGKILL);
				kill(pid, SIGKILL);
				r = error_set(err, -ETIMEDOUT,
				              "%s: credential_process did not exit within %.1f s", what,
				              timeout_ms / 1000.0);
				break;
			}
			usleep(5000);
		}
	}
	if (!exited)
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	if (r >= 0 && (!WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		if (WIFEXITED(status))
			r = error_set(err, -EIO, "%s: credential_process exited with status %d", what,
			              WEXITSTATUS(status));
		else
			r = error_set(err, -EIO, "%s: credential_process killed by signal %d", what,
			              WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	}
	return r;
}

static int credential_process(struct chain *ch, const char *cmd, const char *what,
                              struct aws_credentials *ret, struct error *err)
{
	struct buf out = BUF_INIT;
	char *line;
	int r;

	/* a value continued on indented lines is one command line (botocore splits it with shlex) */
	line = strdup(cmd);
	if (!line)
		return error_set(err, -ENOMEM, "out of memory");
	for (char *c = line; *c; c++)
		if (*c == '\n' || *c == '\r')
			*c = ' ';
	buf_mark_secret(&out);
	r = run_process(line, ch->p->process_timeout_ms, what, &out, err);
	free(line);
	if (r >= 0) {
		r = aws_credentials_parse_json(out.ptr, out.len, 1, "process", ret, err);
		if (r < 0)
			error_prefix(err, "%s: credential_process output", what);
	}
	buf_release_secret(&out);
	return r;
}

/* ---- ECS ----------------------------------------------------------------- */

/* http:// is allowed only to loopback and the ECS/EKS agent addresses. */
static bool ecs_http_host_allowed(const char *hostport)
{
	char host[256];
	const char *e;
	size_t n;
	struct in_addr a4;
	struct in6_addr a6;

	if (hostport[0] == '[') {
		e = strchr(hostport, ']');
		if (!e)
			return false;
		n = (size_t)(e - hostport - 1);
		if (n >= sizeof(host))
			return false;
		memcpy(host, hostport + 1, n);
		host[n] = '\0';
		if (inet_pton(AF_INET6, host, &a6) != 1)
			return false;
		return IN6_IS_ADDR_LOOPBACK(&a6) || !strcasecmp(host, "fd00:ec2::23");
	}
	n = strcspn(hostport, ":");
	if (n >= sizeof(host))
		return false;
	memcpy(host, hostport, n);
	host[n] = '\0';
	if (!strcasecmp(host, "localhost"))
		return true;
	if (inet_pton(AF_INET, host, &a4) != 1)
		return false;
	return (ntohl(a4.s_addr) >> 24) == 127 || !strcmp(host, "169.254.170.2") ||
	       !strcmp(host, "169.254.170.23");
}

static int source_ecs(struct chain *ch, struct aws_credentials *ret, struct error *err)
{
	const char *rel = env("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"),
	           *full = env("AWS_CONTAINER_CREDENTIALS_FULL_URI");
	const char *tfile = env("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"),
	           *tenv = env("AWS_CONTAINER_AUTHORIZATION_TOKEN");
	struct buf token = BUF_INIT;
	struct http_client *http;
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct http_header h[1];
	size_t nh = 0;
	char *url = NULL, host[256];
	int r;

	buf_mark_secret(&token);
	if (!rel && !full) {
		tried_add(ch, "ecs: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI and _FULL_URI not set");
		return SOURCE_SKIP;
	}
	if (rel) {
		const char *override = env("AWS_CONTAINER_CREDENTIALS_HOST_OVERRIDE");
		if (rel[0] != '/') {
			r = error_set(err, -EINVAL,
			              "ecs: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI must start with '/'");
			goto out;
		}
		if (asprintf(&url, "http://%s%s", override ? override : ECS_DEFAULT_HOST, rel) < 0) {
			url = NULL;
			r = error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
	} else {
		bool https = !strncasecmp(full, "https://", 8), http_ = !strncasecmp(full, "http://", 7);
		if ((!https && !http_) || url_host(full, host, sizeof(host)) < 0) {
			r = error_set(err, -EINVAL,
			              "ecs: AWS_CONTAINER_CREDENTIALS_FULL_URI is not an http(s) URL");
			goto out;
		}
		if (http_ && !ecs_http_host_allowed(host)) {
			r = error_set(
			    err, -EINVAL,
			    "ecs: AWS_CONTAINER_CREDENTIALS_FULL_URI over http must point at a loopback or "
			    "ECS/EKS agent address, not %s",
			    host);
			goto out;
		}
		url = strdup(full);
		if (!url) {
			r = error_set(err, -ENOMEM, "out of memory");
			goto out;
		}
	}
	if (tfile) {
		r = read_token_file(tfile, &token, "ecs", err);
		if (r < 0)
			goto out;
	} else if (tenv) {
		r = buf_puts(&token, tenv);
		if (r < 0)
			goto out;
	}
	if (token.len) {
		if (!token_valid(token.ptr)) {
			r = error_set(err, -EINVAL, "ecs: malformed authorization token");
			goto out;
		}
		h[nh++] = (struct http_header){(char *)"Authorization", token.ptr};
	}
	r = meta_client(ch->p, &http, err);
	if (r < 0)
		goto out;
	struct http_request req = {.method = "GET", .url = url, .headers = h, .n_headers = nh};
	r = http_client_send(http, &req, &resp, err);
	if (r < 0) {
		error_prefix(err, "ecs");
		goto out;
	}
	if (resp.status != 200) {
		r = error_set(err, resp.status == 401 || resp.status == 403 ? -EACCES : -EIO,
		              "ecs: %s returned HTTP %ld", url, resp.status);
		goto out;
	}
	r = aws_credentials_parse_json(resp.body.ptr, resp.body.len, 0, "ecs", ret, err);
out:
	http_response_release(&resp);
	buf_release_secret(&token);
	free(url);
	return r;
}

/* ---- IMDSv2 -------------------------------------------------------------- */

static int imds_send(struct http_client *http, const char *method, const char *url,
                     const struct http_header *h, size_t nh, struct http_response *resp, struct error *err)
{
	struct http_request req = {.method = method, .url = url, .headers = h, .n_headers = nh};
	int r = -EIO;

	for (int attempt = 0; attempt < 2; attempt++) {
		r = http_client_send(http, &req, resp, err);
		if (r >= 0 && resp->status >= 500 && attempt == 0) {
			http_response_release(resp);
			continue;
		}
		if (r >= 0 || (r != -ECONNREFUSED && r != -ECONNRESET && r != -ETIMEDOUT))
			break;
	}
	return r;
}

static int source_imds(struct chain *ch, struct aws_credentials *ret, struct error *err)
{
	const char *dis = env("AWS_EC2_METADATA_DISABLED"), *ep = env("AWS_EC2_METADATA_SERVICE_ENDPOINT");
	struct http_client *http;
	struct http_response resp = HTTP_RESPONSE_INIT;
	struct buf token = BUF_INIT, role = BUF_INIT_CAP(256);
	struct http_header h[1];
	char *base = NULL, *url = NULL;
	size_t n;
	int r;

	buf_mark_secret(&token);
	if (dis && !strcasecmp(dis, "true")) {
		tried_add(ch, "imds: disabled by AWS_EC2_METADATA_DISABLED");
		return SOURCE_SKIP;
	}
	if (!ep) {
		const char *mode = env("AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE");
		ep = mode && !strcasecmp(mode, "IPv6") ? IMDS_DEFAULT_ENDPOINT_V6 : IMDS_DEFAULT_ENDPOINT;
	}
	n = strlen(ep);
	while (n && ep[n - 1] == '/')
		n--;
	base = strndup(ep, n);
	if (!base)
		return error_set(err, -ENOMEM, "out of memory");
	r = meta_client(ch->p, &http, err);
	if (r < 0)
		goto out;

	/* 1. session token */
	if (asprintf(&url, "%s/latest/api/token", base) < 0) {
		url = NULL;
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	h[0] = (struct http_header){(char *)"X-aws-ec2-metadata-token-ttl-seconds", (char *)"21600"};
	r = imds_send(http, "PUT", url, h, 1, &resp, err);
	if (r < 0)
		goto fail;
	if (resp.status != 200) {
		r = error_set(err, resp.status == 403 ? -EACCES : -EIO, "PUT %s returned HTTP %ld", url,
		              resp.status);
		goto fail;
	}
	trim_buf(&resp.body);
	if (!resp.body.len || !token_valid(resp.body.ptr) || (r = buf_puts(&token, resp.body.ptr)) < 0) {
		r = error_set(err, -EBADMSG, "malformed session token from %s", url);
		goto fail;
	}
	http_response_release(&resp);
	h[0] = (struct http_header){(char *)"X-aws-ec2-metadata-token", token.ptr};

	/* 2. the role name */
	free(url);
	if (asprintf(&url, "%s/latest/meta-data/iam/security-credentials/", base) < 0) {
		url = NULL;
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	r = imds_send(http, "GET", url, h, 1, &resp, err);
	if (r < 0)
		goto fail;
	if (resp.status == 404) {
		r = error_set(err, -ENOENT, "no IAM role attached to this instance (%s: HTTP 404)", url);
		goto fail;
	}
	if (resp.status != 200) {
		r = error_set(err, -EIO, "GET %s returned HTTP %ld", url, resp.status);
		goto fail;
	}
	n = strcspn(resp.body.ptr, "\r\n");
	r = buf_put(&role, resp.body.ptr, n);
	trim_buf(&role);
	if (r < 0 || !role.len) {
		r = error_set(err, -EBADMSG, "malformed role name from %s", url);
		goto fail;
	}
	for (const char *c = role.ptr; *c; c++)
		if (!isalnum((unsigned char)*c) && !strchr("+=,.@_-", *c)) {
			r = error_set(err, -EBADMSG, "malformed role name from %s", url);
			goto fail;
		}
	http_response_release(&resp);

	/* 3. the credentials */
	free(url);
	if (asprintf(&url, "%s/latest/meta-data/iam/security-credentials/%s", base, role.ptr) < 0) {
		url = NULL;
		r = error_set(err, -ENOMEM, "out of memory");
		goto out;
	}
	r = imds_send(http, "GET", url, h, 1, &resp, err);
	if (r < 0)
		goto fail;
	if (resp.status != 200) {
		r = error_set(err, -EIO, "GET %s returned HTTP %ld", url, resp.status);
		goto fail;
	}
	{
		cJSON *root = cJSON_ParseWithLength(resp.body.ptr, resp.body.len);
		const char *code = root ? json_str(root, "Code") : NULL;
		bool ok = !code || !strcmp(code, "Success");
		char c[64] = "";
		if (!ok)
			sanitize_copy(c, sizeof(c), code, strlen(code));
		json_delete_wiped(root);
		if (!ok) {
			r = error_set(err, -EIO, "%s: Code %s", url, c);
			goto fail;
		}
	}
	r = aws_credentials_parse_json(resp.body.ptr, resp.body.len, 0, "imds", ret, err);
	goto out;
fail:
	error_prefix(err, "imds");
out:
	http_response_release(&resp);
	buf_release_secret(&token);
	buf_release(&role);
	free(base);
	free(url);
	return r;
}

/* ---- profiles ------------------------------------------------------------ */

static int profile_resolve(struct chain *ch, const char *name, const char **visited, int depth,
                           struct aws_credentials *ret, struct error *err);

static int profile_static(struct chain *ch, const char *name, struct aws_credentials *ret, struct error *err)
{
	const char *akid = profile_get(ch, name, "aws_access_key_id"),
	           *secret = profile_get(ch, name, "aws_secret_access_key"),
	           *token = profile_get(ch, name, "aws_session_token");
	char what[300], src[64];
	int r;

	snprintf(what, sizeof(what), "profile %s", name);
	if (!akid || !*akid)
		return error_set(err, -EINVAL, "%s: aws_access_key_id missing (aws_secret_access_key is set)",
		                 what);
	if (!secret || !*secret)
		return error_set(err, -EINVAL, "%s: aws_secret_access_key missing (aws_access_key_id is set)",
		                 what);
	r = creds_check(akid, secret, token && *token ? token : NULL, what, err);
	if (r < 0)
		return r;
	snprintf(src, sizeof(src), "profile:%s", name);
	r = creds_make(ret, akid, secret, token, 0, src);
	return r < 0 ? error_set(err, r, "out of memory") : 0;
}

static int profile_assume_role(struct chain *ch, const char *name, const char *role_arn, const char **visited,
                               int depth, struct aws_credentials *ret, struct error *err)
{
	const char *source = profile_get(ch, name, "source_profile"),
	           *csrc = profile_get(ch, name, "credential_source"),
	           *wif = profile_get(ch, name, "web_identity_token_file"),
	           *session = profile_get(ch, name, "role_session_name"),
	           *external = profile_get(ch, name, "external_id"),
	           *duration = profile_get(ch, name, "duration_seconds");
	const char *region = chain_region(ch, name);
	struct aws_credentials base = {0};
	struct buf form = BUF_INIT;
	char what[300], sess[64];
	int r;

	snprintf(what, sizeof(what), "profile %s", name);
	if (wif && *wif && !(source && *source))
		return web_identity(ch, wif, role_arn, session, region, what, ret, err);
	if (source && *source) {
		if (!strcmp(source, name)) {
			/* a profile that is its own source: its static keys sign the AssumeRole */
			r = profile_static(ch, name, &base, err);
		} else {
			r = profile_resolve(ch, source, visited, depth + 1, &base, err);
			if (r == SOURCE_SKIP)
				r = error_set(err, -EINVAL, "%s: source_profile %s has no credentials", what,
				              source);
		}
	} else if (csrc && *csrc) {
		if (!strcmp(csrc, "Environment"))
			r = source_env(ch, &base, err);
		else if (!strcmp(csrc, "EcsContainer"))
			r = source_ecs(ch, &base, err);
		else if (!strcmp(csrc, "Ec2InstanceMetadata"))
			r = source_imds(ch, &base, err);
		else
			return error_set(err, -EINVAL, "%s: unknown credential_source %s", what, csrc);
		if (r == SOURCE_SKIP)
			r = error_set(err, -EINVAL, "%s: credential_source %s is not available", what, csrc);
	} else {
		return error_set(err, -EINVAL,
		                 "%s: role_arn needs source_profile, credential_source or "
		                 "web_identity_token_file",
		                 what);
	}
	if (r < 0)
		goto out;
	if (base.expiration && base.expiration <= ch->now) {
		r = error_set(err, -EINVAL, "%s: the source credentials are expired", what);
		goto out;
	}
	if (!session) {
		default_session_name(sess, sizeof(sess), ch->now);
		session = sess;
	}
	if ((r = form_add(&form, "Action", "AssumeRole")) < 0 ||
	    (r = form_add(&form, "Version", "2011-06-15")) < 0 ||
	    (r = form_add(&form, "RoleArn", role_arn)) < 0 ||
	    (r = form_add(&form, "RoleSessionName", session)) < 0 ||
	    (external && *external && (r = form_add(&form, "ExternalId", external)) < 0)) {
		r = error_set(err, r, "out of memory");
		goto out;
	}
	if (duration && *duration) {
		char *e;
		long d = strtol(duration, &e, 10);
		if (*e || d < 900 || d > 43200) {
			r = error_set(err, -EINVAL, "%s: duration_seconds must be 900..43200", what);
			goto out;
		}
		r = form_add(&form, "DurationSeconds", duration);
		if (r < 0)
			goto out;
	}
	r = sts_call(ch, region, &form, &base, "assume-role", what, ret, err);
out:
	aws_credentials_release(&base);
	buf_release(&form);
	return r;
}

/*
 * Credentials of one profile: 0, SOURCE_SKIP (the profile exists but holds no
 * credentials, or does not exist), or an error.
 */
static int profile_resolve(struct chain *ch, const char *name, const char **visited, int depth,
                           struct aws_credentials *ret, struct error *err)
{
	const char *role, *akid, *secret, *proc;
	char what[300];

	snprintf(what, sizeof(what), "profile %s", name);
	if (depth >= AWS_MAX_ROLE_CHAIN)
		return error_set(err, -ELOOP, "%s: source_profile chain longer than %d", what,
		                 AWS_MAX_ROLE_CHAIN);
	for (int i = 0; i < depth; i++)
		if (!strcmp(visited[i], name))
			return error_set(err, -ELOOP, "%s: source_profile loop", what);
	visited[depth] = name;
	if (!profile_exists(ch, name)) {
		if (depth > 0)
			return error_set(err, -ENOENT, "source profile %s not found in %s or %s", name,
			                 ch->cred_path, ch->conf_path);
		return SOURCE_SKIP;
	}
	role = profile_get(ch, name, "role_arn");
	akid = profile_get(ch, name, "aws_access_key_id");
	secret = profile_get(ch, name, "aws_secret_access_key");
	proc = profile_get(ch, name, "credential_process");
	if (role && *role)
		return profile_assume_role(ch, name, role, visited, depth, ret, err);
	if ((akid && *akid) || (secret && *secret))
		return profile_static(ch, name, ret, err);
	if (proc && *proc)
		return credential_process(ch, proc, what, ret, err);
	if (profile_get(ch, name, "sso_start_url") || profile_get(ch, name, "sso_session"))
		return error_set(
		    err, -EINVAL,
		    "%s: AWS IAM Identity Center (SSO) profiles are not supported; use credential_process "
		    "= aws configure export-credentials --profile %s --format process",
		    what, name);
	if (depth > 0)
		return error_set(err, -EINVAL, "%s: no credentials in the profile", what);
	return SOURCE_SKIP;
}

static int source_profile(struct chain *ch, struct aws_credentials *ret, struct error *err)
{
	const char *visited[AWS_MAX_ROLE_CHAIN + 1];
	int r;

	r = chain_load_files(ch, err);
	if (r < 0)
		return r;
	r = profile_resolve(ch, ch->profile, visited, 0, ret, err);
	if (r == SOURCE_SKIP) {
		if (ch->profile_explicit && !profile_exists(ch, ch->profile))
			return error_set(err, -ENOENT, "profile %s: not found in %s or %s", ch->profile,
			                 ch->cred_path, ch->conf_path);
		tried_add(ch, "profile %s: %s in %s or %s", ch->profile,
		          profile_exists(ch, ch->profile) ? "no credentials" : "not found", ch->cred_path,
		          ch->conf_path);
	}
	return r;
}

/* ---- the chain ----------------------------------------------------------- */

static int chain_resolve(struct aws_credentials_provider *p, time_t now, struct aws_credentials *ret,
                         struct error *err)
{
	static int (*const sources[])(struct chain *, struct aws_credentials *, struct error *) = {
	    source_env, source_web_identity_env, source_profile, source_ecs, source_imds,
	};
	struct chain ch = {.p = p, .now = now, .tried = BUF_INIT_CAP(ERROR_MSG_MAX)};
	struct aws_credentials c = {0};
	const char *prof = p->profile;
	int r = SOURCE_SKIP;

	if (prof)
		ch.profile_explicit = true;
	else if ((prof = env("AWS_PROFILE")))
		ch.profile_explicit = true;
	else
		prof = "default";
	ch.profile = strdup(prof);
	if (!ch.profile)
		return error_set(err, -ENOMEM, "out of memory");
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		r = sources[i](&ch, &c, err);
		if (r != SOURCE_SKIP)
			break;
	}
	if (r == SOURCE_SKIP) {
		r = error_set(err, -ENOENT,
		              "no AWS credentials found: set AWS_PROFILE (a profile of ~/.aws/config), or "
		              "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with an IAM role "
		              "(tried %s)",
		              ch.tried.ptr);
	} else if (r < 0) {
		if (ch.tried.len)
			error_prefix(err, "no usable AWS credentials (tried %s)", ch.tried.ptr);
	} else if (c.expiration && c.expiration <= now) {
		r = error_set(err, -EINVAL,
		              "%s: credentials already expired: refresh them (e.g. aws sso login) or "
		              "fix the source",
		              c.source);
		aws_credentials_release(&c);
	} else {
		*ret = c;
	}
	buf_release(&ch.tried);
	free(ch.profile);
	aws_ini_free(ch.cred_ini);
	aws_ini_free(ch.conf_ini);
	free(ch.cred_path);
	free(ch.conf_path);
	return r;
}

int aws_credentials_get(struct aws_credentials_provider *p, time_t now, struct aws_credentials *ret,
                        struct error *err)
{
	struct aws_credentials fresh = {0};
	int r;

	pthread_mutex_lock(&p->lock);
	if (p->have_cached &&
	    (p->cached.expiration == 0 || now < p->cached.expiration - AWS_CREDENTIALS_REFRESH_S ||
	     (now < p->retry_after && now < p->cached.expiration))) {
		r = aws_credentials_copy(ret, &p->cached);
		if (r < 0)
			error_set(err, r, "out of memory");
		goto out;
	}
	r = chain_resolve(p, now, &fresh, err);
	if (r < 0) {
		/* refresh failed: the old credentials are still good until they expire */
		if (p->have_cached && now < p->cached.expiration) {
			p->retry_after = now + AWS_CREDENTIALS_RETRY_S;
			error_clear(err);
			r = aws_credentials_copy(ret, &p->cached);
			if (r < 0)
				error_set(err, r, "out of memory");
		}
		goto out;
	}
	aws_credentials_release(&p->cached);
	p->cached = fresh;
	p->have_cached = true;
	p->retry_after = 0;
	r = aws_credentials_copy(ret, &p->cached);
	if (r < 0)
		error_set(err, r, "out of memory");
out:
	pthread_mutex_unlock(&p->lock);
	return r < 0 ? r : 0;
}
