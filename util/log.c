#include "util/log.h"

#include <ctype.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "util/buf.h"

static struct {
	enum log_format format;
	int max_level;
	enum log_prefix prefix;
	int fd;
} cfg = {LOG_FORMAT_TEXT, LOG_INFO, LOG_PREFIX_AUTO, -1};

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;

static const char *const level_names[] = {
    "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug",
};

void log_setup(enum log_format format, int max_level, enum log_prefix prefix)
{
	cfg.format = format;
	cfg.max_level = max_level;
	cfg.prefix = prefix;
}

void log_set_fd(int fd)
{
	cfg.fd = fd;
}

int log_format_parse(const char *s, enum log_format *ret)
{
	if (!strcmp(s, "text"))
		*ret = LOG_FORMAT_TEXT;
	else if (!strcmp(s, "json"))
		*ret = LOG_FORMAT_JSON;
	else
		return -EINVAL;
	return 0;
}

int log_level_parse(const char *s, int *ret)
{
	for (int i = LOG_ERR; i <= LOG_DEBUG; i++)
		if (!strcmp(s, level_names[i])) {
			*ret = i;
			return 0;
		}
	if (!strcmp(s, "warn")) {
		*ret = LOG_WARNING;
		return 0;
	}
	return -EINVAL;
}

bool log_enabled(int level)
{
	return level <= cfg.max_level;
}

bool log_key_is_secret(const char *key)
{
	static const char *const words[] = {
	    "token",     "secret",     "password", "passwd", "authorization",
	    "signature", "credential", "private",  "cookie", "hmac",
	};
	size_t n = strlen(key);

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t w = strlen(words[i]);
		for (size_t j = 0; j + w <= n; j++)
			if (!strncasecmp(key + j, words[i], w))
				return true;
	}
	return false;
}

static bool use_prefix(void)
{
	if (cfg.prefix == LOG_PREFIX_ON)
		return true;
	if (cfg.prefix == LOG_PREFIX_OFF)
		return false;
	return getenv("JOURNAL_STREAM") != NULL;
}

size_t log_utf8_seq(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n;
	unsigned cp;

	if (p[0] < 0x80)
		return p[0] ? 1 : 0;
	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		n = 2;
		cp = p[0] & 0x1f;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		n = 3;
		cp = p[0] & 0x0f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		n = 4;
		cp = p[0] & 0x07;
	} else {
		return 0; /* continuation byte, overlong lead (c0, c1) or past U+10FFFF */
	}
	for (size_t i = 1; i < n; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0; /* also stops at the NUL */
		cp = (cp << 6) | (p[i] & 0x3f);
	}
	if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0; /* overlong, out of range, or a UTF-16 surrogate */
	return n;
}

int log_escape(struct buf *out, const char *s, bool controls)
{
	int r = 0;

	while (*s && r >= 0) {
		unsigned char c = (unsigned char)*s;
		size_t n = log_utf8_seq(s);

		if (n == 0) {
			r = buf_printf(out, "\\x%02x", c);
			s++;
			continue;
		}
		if (controls && (c < 0x20 || c == 0x7f || c == '\\')) {
			r = c == '\n'   ? buf_puts(out, "\\n")
			    : c == '\r' ? buf_puts(out, "\\r")
			    : c == '\t' ? buf_puts(out, "\\t")
			    : c == '\\' ? buf_puts(out, "\\\\")
			                : buf_printf(out, "\\x%02x", c);
			s++;
			continue;
		}
		r = buf_put(out, s, n);
		s += n;
	}
	return r < 0 ? r : 0;
}

bool log_utf8_valid(const char *s)
{
	while (*s) {
		size_t n = log_utf8_seq(s);

		if (!n)
			return false;
		s += n;
	}
	return true;
}

/* A JSON string: control characters escaped, bytes that are not UTF-8 as the text \xNN. */
static void json_string(struct buf *b, const char *s)
{
	buf_putc(b, '"');
	for (const unsigned char *p = (const unsigned char *)s; *p;) {
		size_t n = log_utf8_seq((const char *)p);

		if (n == 0) {
			buf_printf(b, "\\\\x%02x", *p);
			p++;
			continue;
		}
		switch (*p) {
		case '"':
			buf_puts(b, "\\\"");
			break;
		case '\\':
			buf_puts(b, "\\\\");
			break;
		case '\n':
			buf_puts(b, "\\n");
			break;
		case '\r':
			buf_puts(b, "\\r");
			break;
		case '\t':
			buf_puts(b, "\\t");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				buf_printf(b, "\\u%04x", *p);
			else
				buf_put(b, p, n);
		}
		p += n;
	}
	buf_putc(b, '"');
}

static bool needs_quotes(const char *s)
{
	if (!*s || !log_utf8_valid(s))
		return true;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++)
		if (isspace(*p) || *p == '"' || *p == '=' || *p < 0x20 || *p == 0x7f || *p == '\\')
			return true;
	return false;
}

static void text_value(struct buf *b, const char *s)
{
	if (!needs_quotes(s)) {
		buf_puts(b, s);
		return;
	}
	/* the JSON escaping rules make a quoted value unambiguous on one line */
	json_string(b, s);
}

void log_event(int level, const char *event, ...)
{
	struct buf line = BUF_INIT_CAP(64 * 1024);
	const char *key, *val;
	va_list ap;
	int fd;

	if (level < 0)
		level = 0;
	if (level > LOG_DEBUG)
		level = LOG_DEBUG;
	if (!log_enabled(level))
		return;

	if (use_prefix())
		buf_printf(&line, "<%d>", level);
	if (cfg.format == LOG_FORMAT_JSON) {
		char ts[32];
		struct timespec now;
		struct tm tm;

		clock_gettime(CLOCK_REALTIME, &now);
		gmtime_r(&now.tv_sec, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
		buf_printf(&line, "{\"time\":\"%s.%03ldZ\",\"level\":\"%s\",\"msg\":", ts,
		           now.tv_nsec / 1000000, level_names[level]);
		json_string(&line, event);
	} else {
		if (level <= LOG_ERR)
			buf_puts(&line, "error: ");
		else if (level == LOG_WARNING)
			buf_puts(&line, "warning: ");
		buf_puts(&line, event);
	}

	va_start(ap, event);
	while ((key = va_arg(ap, const char *)) != NULL) {
		val = va_arg(ap, const char *);
		if (!val)
			val = "-";
		if (log_key_is_secret(key))
			val = "[redacted]";
		if (cfg.format == LOG_FORMAT_JSON) {
			buf_putc(&line, ',');
			json_string(&line, key);
			buf_putc(&line, ':');
			json_string(&line, val);
		} else {
			buf_printf(&line, " %s=", key);
			text_value(&line, val);
		}
	}
	va_end(ap);
	if (cfg.format == LOG_FORMAT_JSON)
		buf_putc(&line, '}');
	buf_putc(&line, '\n');

	fd = cfg.fd >= 0 ? cfg.fd : STDERR_FILENO;
	pthread_mutex_lock(&log_lock);
	for (size_t off = 0; off < line.len;) {
		ssize_t n = write(fd, line.ptr + off, line.len - off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)n;
	}
	pthread_mutex_unlock(&log_lock);
	buf_release(&line);
}
