/*
 * log.h - one line per event to stderr.
 *
 * A line starts with what happened (lower case, no full stop), then the facts
 * as key=value pairs:  alias updated function=orders alias=Prod from=3 to=4
 *
 * Formats: text (above) or json ({"level":"info","msg":"alias updated",
 * "function":"orders",...}).  With sd-daemon prefixes on (automatically when
 * JOURNAL_STREAM is set, or on request) every line starts with "<N>", the
 * syslog priority, so journald files it at the right level.
 *
 * Secrets are never logged: a value whose key names a secret (token, secret,
 * password, authorization, signature, credential, private, cookie, hmac) is replaced by
 * "[redacted]" whatever the caller passes.  Thread-safe: each line is written
 * with one write(2).
 */
#ifndef ALIASD_UTIL_LOG_H
#define ALIASD_UTIL_LOG_H

#include <stdbool.h>
#include <stddef.h>

#include "util/buf.h"
#include <syslog.h> /* LOG_ERR, LOG_WARNING, LOG_NOTICE, LOG_INFO, LOG_DEBUG */

enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };
enum log_prefix { LOG_PREFIX_AUTO, LOG_PREFIX_ON, LOG_PREFIX_OFF };

/* Defaults: text, LOG_INFO, prefix auto. Call again at any time (SIGHUP reload). */
void log_setup(enum log_format format, int max_level, enum log_prefix prefix);
/* "text"/"json" and "error"/"warning"/"notice"/"info"/"debug"; -EINVAL otherwise. */
int log_format_parse(const char *s, enum log_format *ret);
int log_level_parse(const char *s, int *ret);
bool log_enabled(int level);
/* Redirect output (tests); fd < 0 restores stderr. */
void log_set_fd(int fd);

/*
 * Log `event` with key/value string pairs, terminated by NULL:
 *   log_event(LOG_INFO, "alias updated", "function", fn, "alias", name, NULL);
 * A NULL value is printed as "-".
 */
void log_event(int level, const char *event, ...) __attribute__((sentinel));

/*
 * Names from a repository may hold any byte.  Every output escapes them:
 * JSON lines write a byte that is not part of valid UTF-8 as the text \xNN
 * (so strict parsers accept the line), text lines quote such values.
 */
/* Length (1-4) of the valid UTF-8 sequence `s` starts with; 0 if none (or at the NUL). */
size_t log_utf8_seq(const char *s);
/* True when all of `s` is valid UTF-8 (no overlongs, no surrogates). */
bool log_utf8_valid(const char *s);
/*
 * Append `s` to `out` with each byte that is not valid UTF-8 written as the
 * four characters \xNN.  With `controls`, control characters and the
 * backslash are escaped too (\n \r \t \\ \xNN), so the text stays on one
 * line of a table and reads back unambiguously.  Returns 0 or -ENOMEM/-E2BIG.
 */
int log_escape(struct buf *out, const char *s, bool controls);

/* True when `key` names a secret and its value must be redacted. */
bool log_key_is_secret(const char *key);

#endif
