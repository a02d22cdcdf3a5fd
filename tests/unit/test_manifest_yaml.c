/*
 * Unit tests for manifest/yaml.{c,h}: the bounded node tree and accessors.
 */
#include <errno.h>
#include <string.h>

#include "manifest/yaml.h"
#include "tests/unit/harness.h"
#include "util/buf.h"

static struct yaml_stream *parse(const char *text, const struct yaml_limits *lim, struct errlist *errs)
{
	struct yaml_stream *s = NULL;
	int r = yaml_stream_parse(&s, "t.yaml", text, strlen(text), lim, errs);

	REQUIRE(r == 0 && s);
	return s;
}

static const char *first_error(const struct errlist *l, char *out, size_t n)
{
	if (!l->len)
		return "";
	return error_format(&l->items[0], out, n);
}

TEST(yaml_tree_marks_and_styles)
{
	struct errlist errs = ERRLIST_INIT;
	struct yaml_stream *s = parse("a: 3\nb: \"3\"\nc:\n  - x\n  - 'y'\nd: |\n  text\n", NULL, &errs);
	const struct yaml_node *root, *n;

	CHECK_INT(errs.len, 0);
	CHECK_INT(s->n_docs, 1);
	CHECK(!s->failed);
	root = s->docs[0].root;
	REQUIRE(root && root->kind == YAML_KIND_MAPPING);
	CHECK_INT(root->n_pairs, 4);
	n = yaml_map_get(root, "a");
	REQUIRE(n);
	CHECK_INT(n->line, 1);
	CHECK_INT(n->col, 4);
	CHECK(yaml_is_int(n));
	CHECK_INT(n->style, YAML_STYLE_PLAIN);
	n = yaml_map_get(root, "b");
	REQUIRE(n);
	CHECK(!yaml_is_int(n));
	CHECK_INT(n->style, YAML_STYLE_DOUBLE);
	CHECK_STR(yaml_describe(n), "a string");
	n = yaml_map_get(root, "c");
	REQUIRE(n && n->kind == YAML_KIND_SEQUENCE);
	CHECK_INT(n->n_items, 2);
	CHECK_INT(n->items[1]->style, YAML_STYLE_SINGLE);
	CHECK_INT(n->items[1]->line, 5);
	CHECK_INT(n->items[1]->col, 5);
	n = yaml_map_get(root, "d");
	REQUIRE(n);
	CHECK_STR(n->str, "text\n");
	CHECK_INT(n->style, YAML_STYLE_LITERAL);
	CHECK(yaml_map_get(root, "zz") == NULL);
	CHECK_INT(yaml_map_key(root, "c")->line, 3);
	yaml_stream_free(s);
	errlist_release(&errs);
}

TEST(yaml_typed_accessors)
{
	struct errlist errs = ERRLIST_INIT;
	struct yaml_stream *s =
	    parse("i: 42\nq: \"42\"\nneg: -5\nf: 0.25\nt: true\nn: ~\ne:\ns: hello\n", NULL, &errs);
	const struct yaml_node *root = s->docs[0].root;
	const char *str = NULL;
	int64_t v = 0;
	double d = 0;
	bool b = false;
	char msg[1600];

	CHECK_INT(yaml_get_int(yaml_map_get(root, "i"), "i", 0, 100, &v, &errs), 0);
	CHECK_INT(v, 42);
	CHECK_INT(yaml_get_int(yaml_map_get(root, "i"), "i", 0, 10, &v, &errs), -ERANGE);
	CHECK_STR(first_error(&errs, msg, sizeof(msg)), "t.yaml:1:4: i: must be between 0 and 10, got 42");
	CHECK_INT(v, 42); /* untouched on error */
	errlist_release(&errs);
	CHECK_INT(yaml_get_int(yaml_map_get(root, "q"), "q", 0, 100, &v, &errs), -EINVAL);
	CHECK_STR(first_error(&errs, msg, sizeof(msg)),
	          "t.yaml:2:4: q: expected an integer, got the string \"42\" (remove the quotes)");
	errlist_release(&errs);
	CHECK_INT(yaml_get_int(yaml_map_get(root, "neg"), "neg", -10, 10, &v, &errs), 0);
	CHECK_INT(v, -5);
	CHECK_INT(yaml_get_double(yaml_map_get(root, "f"), "f", 0, 1, &d, &errs), 0);
	CHECK(d == 0.25);
	CHECK_INT(yaml_get_bool(yaml_map_get(root, "t"), "t", &b, &errs), 0);
	CHECK(b);
	CHECK(yaml_is_null(yaml_map_get(root, "n")));
	CHECK(yaml_is_null(yaml_map_get(root, "e")));
	CHECK_INT(yaml_get_string(yaml_map_get(root, "n"), "n", 0, &str, &errs), -EINVAL);
	CHECK_INT(yaml_get_string(yaml_map_get(root, "s"), "s", 3, &str, &errs), -EINVAL);
	CHECK_INT(yaml_get_string(yaml_map_get(root, "s"), "s", 0, &str, &errs), 0);
	CHECK_STR(str, "hello");
	CHECK_INT(yaml_get_string(yaml_map_get(root, "i"), "i", 0, &str, &errs), 0);
	CHECK_STR(str, "42");
	CHECK_INT(yaml_get_string(NULL, "x", 0, &str, &errs), -ENOENT);
	CHECK_INT(errs.len, 2);
	CHECK_INT(yaml_expect_mapping(root, "root", &errs), 0);
	CHECK_INT(yaml_expect_sequence(root, "root", &errs), -EINVAL);
	CHECK_INT(errs.len, 3);
	yaml_stream_free(s);
	errlist_release(&errs);
}

TEST(yaml_check_keys_lists_allowed)
{
	static const char *const allowed[] = {"a", "b", NULL};
	struct errlist errs = ERRLIST_INIT;
	struct yaml_stream *s = parse("a: 1\nc: 2\nb: 3\n", NULL, &errs);
	char msg[1600];

	CHECK_INT(yaml_check_keys(s->docs[0].root, "cfg", allowed, &errs), -EINVAL);
	CHECK_INT(errs.len, 1);
	CHECK_STR(first_error(&errs, msg, sizeof(msg)),
	          "t.yaml:2:1: cfg.c: unknown key (expected one of: a, b)");
	yaml_stream_free(s);
	errlist_release(&errs);
}

TEST(yaml_duplicate_keys_reported)
{
	struct errlist errs = ERRLIST_INIT;
	struct yaml_stream *s;
	char msg[1600];
	struct buf big = BUF_INIT;

	s = parse("a: 1\nb: {x: 1, x: 2}\na: 3\n", NULL, &errs);
	CHECK_INT(errs.len, 2);
	CHECK_INT(s->docs[0].n_errors, 2);
	errlist_sort(&errs);
	CHECK_STR(error_format(&errs.items[0], msg, sizeof(msg)),
	          "t.yaml:2:11: duplicate key \"x\" (first defined at line 2, column 5)");
	CHECK_STR(error_format(&errs.items[1], msg, sizeof(msg)),
	          "t.yaml:3:1: duplicate key \"a\" (first defined at line 1, column 1)");
	/* lookups see the first occurrence */
	CHECK_STR(yaml_map_get(s->docs[0].root, "a")->str, "1");
	yaml_stream_free(s);
	errlist_release(&errs);

	/* a big mapping goes through the sorting path */
	for (int i = 0; i < 100; i++)
		buf_printf(&big, "k%d: v\n", i);
	buf_puts(&big, "k7: again\n");
	s = parse(big.ptr, NULL, &errs);
	CHECK_INT(errs.len, 1);
	CHECK_STR(first_error(&errs, msg, sizeof(msg)),
	          "t.yaml:101:1: duplicate key \"k7\" (first defined at line 8, column 1)");
	yaml_stream_free(s);
	errlist_release(&errs);
	buf_release(&big);
}

TEST(yaml_limits_depth_nodes_bytes)
{
	struct yaml_limits lim = {1000, 4, 10, true};
	struct errlist errs = ERRLIST_INIT;
	struct yaml_stream *s;
	char msg[1600];

	s = parse("[[[[x]]]]", &lim, &errs);
	CHECK(s->failed);
	CHECK_INT(s->n_docs, 0);
	CHECK_STR(first_error(&errs, msg, sizeof(msg)),
	          "t.yaml:1:5: nesting deeper than 4 levels: refusing to parse further");
	yaml_stream_free(s);
	errlist_release(&errs);

	s = parse("[1,2,3,4,5,6,7,8,9,10,11]", &lim, &errs);
	CHECK(s->failed);
	CHECK_INT(errs.len, 1);
	CHECK_INT(errs.items[0].code, -E2BIG);
	yaml_stream_free(s);
	errlist_release(&errs);

	lim.max_bytes = 5;
	s = parse("abcdef", &lim, &errs);
	CHECK(s->failed);
	CHECK_STR(first_error(&errs, msg, sizeof(msg)), "t.yaml: file is 6 bytes, more than the limit of 5");
	yaml_stream_free(s);
	errlist_release(&errs);
}

TEST(yaml_billion_laughs_bounded)
{
	struct yaml_limits lim = YAML_LIMITS_MANIFEST;
	struct errlist errs = ERRLIST_INIT;
	struct buf text = BUF_INIT;
	struct yaml_stream *s;
	char prev = 'a';

	buf_puts(&text, "a: &a [x, x, x, x, x, x, x, x, x, x]\n");
	for (char c = 'b'; c <= 'j'; c++) {
		buf_printf(&text, "%c: &%c [", c, c);
		for (int i = 0; i < 10; i++)
			buf_printf(&text, "%s*%c", i ? ", " : "", prev);
		buf_puts(&text, "]\n");
		prev = c;
	}
	s = parse(text.ptr, &lim, &errs);
	CHECK(s->failed);
	CHECK_INT(errs.len, 1);
	CHECK_INT(errs.items[0].code, -E2BIG);
	CHECK(strstr(errs.items[0].msg, "too many YAML nodes") != NULL);
	yaml_stream_free(s);
	errlist_release(&errs);
	buf_release(&text);
}

TEST(yaml_aliases_counted_or_refused)
{
	struct yaml_limits cfg = YAML_LIMITS_CONFIG;
	struct errlist errs = ERRLIST_INIT;
	struct yaml_stream *s;
	const struct yaml_node *root;
	char msg[1600];

	s = parse("a: &x {k: v}\nb: *x\n", NULL, &errs);
	CHECK_INT(errs.len, 0);
	root = s->docs[0].root;
	CHECK(yaml_map_get(root, "a") == yaml_map_get(root, "b"));
	CHECK_INT(root->weight, 1 + 1 + 3 + 1 + 3);
	yaml_stream_free(s);

	s = parse("a: &x {k: v}\nb: *x\n", &cfg, &errs);
	CHECK(s->failed);
	CHECK_STR(first_error(&errs, msg, sizeof(msg)), "t.yaml:1:4: anchors (&x) are not allowed here");
	yaml_stream_free(s);
	errlist_release(&errs);

	/* anchors are scoped to their document */
	s = parse("a: &x 1\n---\nb: *x\n", NULL, &errs);
	CHECK(s->failed);
	CHECK_INT(s->n_docs, 1);
	CHECK_STR(first_error(&errs, msg, sizeof(msg)), "t.yaml:3:4: alias *x refers to an undefined anchor");
	yaml_stream_free(s);
	errlist_release(&errs);
}

TEST(yaml_syntax_errors_keep_earlier_documents)
{
	struct errlist errs = ERRLIST_INIT;
	struct yaml_stream *s;
	char msg[1600];

	s = parse("a: 1\n---\nb: 2\n---\nc: [\n", NULL, &errs);
	CHECK(s->failed);
	CHECK_INT(s->n_docs, 2);
	CHECK_INT(s->docs[1].index, 1);
	CHECK_STR(yaml_map_get(s->docs[1].root, "b")->str, "2");
	CHECK_INT(errs.len, 1);
	CHECK(!strncmp(first_error(&errs, msg, sizeof(msg)), "t.yaml:6:1: syntax error: ", 26));
	yaml_stream_free(s);
	errlist_release(&errs);

	s = parse("a:\n\tb: 1\n", NULL, &errs);
	CHECK(s->failed);
	CHECK(strstr(errs.items[0].msg, "tab") != NULL);
	CHECK_INT(errs.items[0].line, 2);
	yaml_stream_free(s);
	errlist_release(&errs);

	{
		static const char bad[] = "a: \xff\n";
		REQUIRE(yaml_stream_parse(&s, "t.yaml", bad, sizeof(bad) - 1, NULL, &errs) == 0);
		CHECK(s->failed);
		CHECK_INT(errs.items[0].code, -EILSEQ);
		CHECK_INT(errs.items[0].line, 1);
		CHECK_INT(errs.items[0].col, 4);
		yaml_stream_free(s);
		errlist_release(&errs);
	}
}

TEST(yaml_empty_and_nul)
{
	struct errlist errs = ERRLIST_INIT;
	struct yaml_stream *s;
	const char *str;

	s = parse("", NULL, &errs);
	CHECK_INT(s->n_docs, 0);
	CHECK(!s->failed);
	yaml_stream_free(s);
	s = parse("a: \"x\\0y\"\n", NULL, &errs);
	CHECK_INT(yaml_map_get(s->docs[0].root, "a")->len, 3);
	CHECK_INT(yaml_get_string(yaml_map_get(s->docs[0].root, "a"), "a", 0, &str, &errs), -EINVAL);
	CHECK(strstr(errs.items[0].msg, "NUL") != NULL);
	yaml_stream_free(s);
	errlist_release(&errs);
}

TEST_MAIN(yaml_tree_marks_and_styles, yaml_typed_accessors, yaml_check_keys_lists_allowed,
          yaml_duplicate_keys_reported, yaml_limits_depth_nodes_bytes, yaml_billion_laughs_bounded,
          yaml_aliases_counted_or_refused, yaml_syntax_errors_keep_earlier_documents, yaml_empty_and_nul)
