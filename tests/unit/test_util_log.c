#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tests/unit/harness.h"
#include "util/error.h"
#include "util/log.h"

/* Capture what log_event writes through a pipe. */
static char captured[8192];

static void capture(void (*fn)(void))
{
	int p[2];
	ssize_t n;

	if (pipe(p) < 0)
		abort();
	log_set_fd(p[1]);
	fn();
	log_set_fd(-1);
	close(p[1]);
	n = read(p[0], captured, sizeof(captured) - 1);
	captured[n > 0 ? n : 0] = '\0';
	close(p[0]);
}

static void emit_alias(void)
{
	log_event(LOG_INFO, "alias updated", "function", "orders", "alias", "Prod", "from", "3", "to", "4",
	          NULL);
}

static void emit_quoted(void)
{
	log_event(LOG_WARNING, "git fetch failed", "error", "connection refused \"x\"", "empty", "", "none",
	          NULL, NULL);
}

static void emit_secrets(void)
{
	log_event(LOG_ERR, "auth failed", "token", "ghp_SECRET1", "Authorization", "AWS4-HMAC SECRET2",
	          "webhookSecret", "SECRET3", "aws_secret_access_key", "SECRET4", "signature", "SECRET5",
	          "function", "orders", NULL);
}

static void emit_debug(void)
{
	log_event(LOG_DEBUG, "noise", NULL);
}

TEST(text_format)
{
	log_setup(LOG_FORMAT_TEXT, LOG_INFO, LOG_PREFIX_OFF);
	capture(emit_alias);
	CHECK_STR(captured, "alias updated function=orders alias=Prod from=3 to=4\n");
	capture(emit_quoted);
	CHECK_STR(captured,
	          "warning: git fetch failed error=\"connection refused \\\"x\\\"\" empty=\"\" none=-\n");
}

TEST(sd_daemon_prefix)
{
	log_setup(LOG_FORMAT_TEXT, LOG_INFO, LOG_PREFIX_ON);
	capture(emit_alias);
	CHECK_STR(captured, "<6>alias updated function=orders alias=Prod from=3 to=4\n");
	log_setup(LOG_FORMAT_TEXT, LOG_INFO, LOG_PREFIX_AUTO);
	setenv("JOURNAL_STREAM", "8:1234", 1);
	capture(emit_alias);
	CHECK(strncmp(captured, "<6>alias updated", 16) == 0);
	unsetenv("JOURNAL_STREAM");
	capture(emit_alias);
	CHECK(strncmp(captured, "alias updated", 13) == 0);
}

TEST(json_format)
{
	log_setup(LOG_FORMAT_JSON, LOG_INFO, LOG_PREFIX_OFF);
	capture(emit_alias);
	CHECK(strncmp(captured, "{\"time\":\"", 9) == 0);
	CHECK(strstr(captured, "\"level\":\"info\",\"msg\":\"alias updated\",\"function\":\"orders\","
	                       "\"alias\":\"Prod\",\"from\":\"3\",\"to\":\"4\"}\n") != NULL);
	capture(emit_quoted);
	CHECK(strstr(captured, "\"error\":\"connection refused \\\"x\\\"\"") != NULL);
	log_setup(LOG_FORMAT_TEXT, LOG_INFO, LOG_PREFIX_OFF);
}

TEST(secrets_never_logged)
{
	log_setup(LOG_FORMAT_TEXT, LOG_INFO, LOG_PREFIX_OFF);
	capture(emit_secrets);
	CHECKF(strstr(captured, "SECRET") == NULL, "secret leaked: %s", captured);
	CHECK(strstr(captured, "token=[redacted]") != NULL);
	CHECK(strstr(captured, "function=orders") != NULL);
	log_setup(LOG_FORMAT_JSON, LOG_INFO, LOG_PREFIX_OFF);
	capture(emit_secrets);
	CHECKF(strstr(captured, "SECRET") == NULL, "secret leaked: %s", captured);
	log_setup(LOG_FORMAT_TEXT, LOG_INFO, LOG_PREFIX_OFF);
}

TEST(level_filter)
{
	log_setup(LOG_FORMAT_TEXT, LOG_INFO, LOG_PREFIX_OFF);
	capture(emit_debug);
	CHECK_STR(captured, "");
	log_setup(LOG_FORMAT_TEXT, LOG_DEBUG, LOG_PREFIX_OFF);
	capture(emit_debug);
	CHECK_STR(captured, "noise\n");
	log_setup(LOG_FORMAT_TEXT, LOG_INFO, LOG_PREFIX_OFF);
}

TEST(parse_format_and_level)
{
	enum log_format f;
	int l;

	CHECK_INT(log_format_parse("json", &f), 0);
	CHECK_INT(f, LOG_FORMAT_JSON);
	CHECK_INT(log_format_parse("xml", &f), -EINVAL);
	CHECK_INT(log_level_parse("debug", &l), 0);
	CHECK_INT(l, LOG_DEBUG);
	CHECK_INT(log_level_parse("warn", &l), 0);
	CHECK_INT(l, LOG_WARNING);
	CHECK_INT(log_level_parse("loud", &l), -EINVAL);
}

TEST(error_struct)
{
	struct error err = ERROR_INIT;
	char out[256];

	CHECK_INT(error_set(&err, -EINVAL, "bad %s", "thing"), -EINVAL);
	CHECK_STR(error_format(&err, out, sizeof(out)), "bad thing");
	error_set_at(&err, -EINVAL, "fn.yaml", 3, 7, "unknown key \"%s\"", "foo");
	CHECK_STR(error_format(&err, out, sizeof(out)), "fn.yaml:3:7: unknown key \"foo\"");
	CHECK_INT(error_prefix(&err, "loading %s", "repo"), -EINVAL);
	CHECK_STR(err.msg, "loading repo: unknown key \"foo\"");
	CHECK_INT(error_set(NULL, -ENOENT, "dropped"), -ENOENT);
	error_clear(&err);
	CHECK_INT(err.code, 0);
}

TEST(errlist_sorted_like_a_compiler)
{
	struct errlist l = ERRLIST_INIT;

	errlist_add(&l, -EINVAL, "b.yaml", 1, 1, "third");
	errlist_add(&l, -EINVAL, "a.yaml", 9, 2, "second");
	errlist_add(&l, -EINVAL, "a.yaml", 2, 5, "first");
	errlist_add(&l, -EINVAL, "a.yaml", 9, 2, "second-b");
	CHECK_INT(errlist_sort(&l), 0);
	REQUIRE(l.len == 4);
	CHECK_STR(l.items[0].msg, "first");
	CHECK_STR(l.items[1].msg, "second");
	CHECK_STR(l.items[2].msg, "second-b");
	CHECK_STR(l.items[3].msg, "third");
	errlist_release(&l);
	l.max = 2;
	for (int i = 0; i < 5; i++)
		errlist_add(&l, -EINVAL, "x", 1, 1, "e%d", i);
	CHECK_INT(l.len, 2);
	CHECK_INT(l.dropped, 3);
	CHECK_INT(errlist_count(&l), 5);
	errlist_release(&l);
	/* a NULL list drops the detail but keeps the code */
	CHECK_INT(errlist_add(NULL, -EINVAL, "x", 1, 1, "dropped"), -EINVAL);
	CHECK_INT(errlist_count(NULL), 0);
	/* many errors in reverse order: sorted, and quickly (was quadratic) */
	l.max = 20000;
	for (unsigned i = 0; i < 20000; i++)
		errlist_add(&l, -EINVAL, "big.yaml", 20000 - i, 1, "e%u", i);
	CHECK_INT(errlist_sort(&l), 0);
	for (size_t i = 1; i < l.len; i++)
		if (l.items[i - 1].line > l.items[i].line) {
			HARNESS_FAIL("not sorted at %zu", i);
			break;
		}
	errlist_release(&l);
}

static void emit_hostile(void)
{
	log_event(LOG_WARNING, "manifest error", "error", "functions/ok\nINJECTED \xff\xc0\x80.yaml: bad",
	          "name", "caf\xc3\xa9", NULL);
}

TEST(hostile_bytes_escaped)
{
	log_setup(LOG_FORMAT_JSON, LOG_INFO, LOG_PREFIX_OFF);
	capture(emit_hostile);
	/* one line, strict UTF-8: a stray byte (and an overlong NUL) becomes the text \xNN */
	CHECK(strstr(captured, "\"error\":\"functions/ok\\nINJECTED \\\\xff\\\\xc0\\\\x80.yaml: bad\"") !=
	      NULL);
	CHECK(strstr(captured, "\"name\":\"caf\xc3\xa9\"") != NULL); /* valid UTF-8 kept */
	CHECK(strchr(captured, '\n') == captured + strlen(captured) - 1);
	CHECK(log_utf8_valid(captured));
	log_setup(LOG_FORMAT_TEXT, LOG_INFO, LOG_PREFIX_OFF);
	capture(emit_hostile);
	CHECK(strchr(captured, '\n') == captured + strlen(captured) - 1);
	CHECK(log_utf8_valid(captured));
	log_setup(LOG_FORMAT_TEXT, LOG_INFO, LOG_PREFIX_AUTO);
}

TEST(utf8_and_escape)
{
	static const struct {
		const char *in;
		size_t seq;
	} seqs[] = {
	    {"a", 1},
	    {"\xc3\xa9", 2},
	    {"\xe2\x82\xac", 3},
	    {"\xf0\x9f\x98\x80", 4},
	    {"\xff", 0},
	    {"\x80", 0},
	    {"\xc0\x80", 0},
	    {"\xe0\x80\x80", 0},
	    {"\xed\xa0\x80", 0},
	    {"\xf4\x90\x80\x80", 0},
	    {"\xc3", 0},
	    {"", 0},
	};
	struct buf b = BUF_INIT;

	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++)
		CHECKF(log_utf8_seq(seqs[i].in) == seqs[i].seq, "case %zu: %zu", i, log_utf8_seq(seqs[i].in));
	CHECK_INT(log_escape(&b,
	                     "a\nb\\c\x01\xff"
	                     "d\xc3\xa9",
	                     true),
	          0);
	CHECK_STR(b.ptr, "a\\nb\\\\c\\x01\\xffd\xc3\xa9");
	buf_truncate(&b, 0);
	CHECK_INT(log_escape(&b, "a\nb\xff", false), 0);
	CHECK_STR(b.ptr, "a\nb\\xff");
	buf_release(&b);
}

TEST_MAIN(text_format, sd_daemon_prefix, json_format, secrets_never_logged, level_filter,
          parse_format_and_level, error_struct, errlist_sorted_like_a_compiler, hostile_bytes_escaped,
          utf8_and_escape)
