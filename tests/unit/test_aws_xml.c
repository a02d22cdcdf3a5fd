/*
 * test_aws_xml.c - the bounded XML reader: trees, lookups, namespaces, limits,
 * DTD refusal (billion laughs, external entities) and malformed input.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws/xml.h"
#include "util/buf.h"
#include "tests/unit/harness.h"

static const char describe_alarms[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<DescribeAlarmsResponse xmlns=\"http://monitoring.amazonaws.com/doc/2010-08-01/\">\n"
    "  <DescribeAlarmsResult>\n"
    "    <MetricAlarms>\n"
    "      <member><AlarmName>errors</AlarmName><StateValue>OK</StateValue></member>\n"
    "      <!-- a comment -->\n"
    "      <member><AlarmName>p99 &amp; &lt;more&gt; &#233;</AlarmName>"
    "<StateValue>ALARM</StateValue></member>\n"
    "      <other/>\n"
    "      <member><AlarmName><![CDATA[raw <x>]]></AlarmName><StateValue>INSUFFICIENT_DATA</StateValue>"
    "</member>\n"
    "    </MetricAlarms>\n"
    "    <NextToken>abc+/=</NextToken>\n"
    "  </DescribeAlarmsResult>\n"
    "  <ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>\n"
    "</DescribeAlarmsResponse>\n";

TEST(xml_tree_and_lookups)
{
	struct xml_node *doc = NULL;
	struct error err = ERROR_INIT;
	const struct xml_node *m;
	const char *names[4] = {0}, *states[4] = {0};
	size_t n = 0;

	REQUIRE(xml_parse(&doc, describe_alarms, strlen(describe_alarms), NULL, &err) == 0);
	CHECK_STR(doc->name, "");
	CHECK_STR(xml_child(doc, NULL)->name, "DescribeAlarmsResponse");
	CHECK_STR(xml_text(doc, "DescribeAlarmsResponse/DescribeAlarmsResult/NextToken"), "abc+/=");
	CHECK_STR(xml_text(doc, "DescribeAlarmsResponse/ResponseMetadata/RequestId"), "r-1");
	CHECK(xml_text(doc, "DescribeAlarmsResponse/Nope") == NULL);
	CHECK(xml_find(doc, "DescribeAlarmsResponse/DescribeAlarmsResult/MetricAlarms/member/X") == NULL);
	CHECK(xml_find(doc, "") == doc);
	CHECK(xml_find(NULL, "a") == NULL);
	for (m = xml_find(doc, "DescribeAlarmsResponse/DescribeAlarmsResult/MetricAlarms/member"); m;
	     m = xml_next(m)) {
		REQUIRE(n < 4);
		names[n] = xml_text(m, "AlarmName");
		states[n] = xml_text(m, "StateValue");
		n++;
	}
	CHECK_INT(n, 3); /* <other/> between members is skipped by xml_next */
	CHECK_STR(names[0], "errors");
	CHECK_STR(states[0], "OK");
	CHECK_STR(names[1], "p99 & <more> \xc3\xa9");
	CHECK_STR(states[1], "ALARM");
	CHECK_STR(names[2], "raw <x>");
	CHECK_STR(states[2], "INSUFFICIENT_DATA");
	/* a container's own text is only its whitespace, never its children's */
	m = xml_find(doc, "DescribeAlarmsResponse/DescribeAlarmsResult/MetricAlarms/member");
	CHECK_STR(m->text, "");
	CHECK_INT(m->text_len, 0);
	CHECK(m->parent && !strcmp(m->parent->name, "MetricAlarms"));
	xml_free(doc);
}

TEST(xml_namespaces_dropped)
{
	static const char text[] = "<a:Error xmlns:a=\"urn:x\" xmlns=\"urn:y\"><a:Code>Throttling</a:Code>"
	                           "<Message attr=\"1\">Rate exceeded</Message></a:Error>";
	static const char unbound[] = "<x:Error><x:Code>c</x:Code></x:Error>";
	struct xml_node *doc = NULL;
	struct error err = ERROR_INIT;

	REQUIRE(xml_parse(&doc, text, strlen(text), NULL, &err) == 0);
	CHECK_STR(xml_text(doc, "Error/Code"), "Throttling");
	CHECK_STR(xml_text(doc, "Error/Message"), "Rate exceeded");
	xml_free(doc);
	doc = NULL;
	CHECK_INT(xml_parse(&doc, unbound, strlen(unbound), NULL, &err), -EBADMSG);
	CHECK(doc == NULL);
}

TEST(xml_doctype_refused)
{
	static const char *const cases[] = {
	    /* billion laughs */
	    "<?xml version=\"1.0\"?><!DOCTYPE lolz [<!ENTITY lol \"lol\">"
	    "<!ENTITY lol1 \"&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;\">"
	    "<!ENTITY lol2 \"&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;\">]>"
	    "<lolz>&lol2;</lolz>",
	    /* external entity (XXE) */
	    "<!DOCTYPE r [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><r>&x;</r>",
	    /* external DTD */
	    "<!DOCTYPE r SYSTEM \"http://127.0.0.1:1/evil.dtd\"><r/>",
	    /* an empty DOCTYPE */
	    "<!DOCTYPE r><r/>",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xml_node *doc = NULL;
		struct error err = ERROR_INIT;
		int r = xml_parse(&doc, cases[i], strlen(cases[i]), NULL, &err);

		CHECKF(r == -EBADMSG, "case %zu: %d", i, r);
		CHECKF(doc == NULL, "case %zu", i);
		CHECKF(strstr(err.msg, "DOCTYPE") != NULL, "case %zu: %s", i, err.msg);
	}
}

TEST(xml_undefined_entity)
{
	static const char text[] = "<r>&nope;</r>";
	struct xml_node *doc = NULL;
	struct error err = ERROR_INIT;

	CHECK_INT(xml_parse(&doc, text, strlen(text), NULL, &err), -EBADMSG);
	CHECK(strstr(err.msg, "line 1") != NULL);
}

TEST(xml_malformed)
{
	static const char *const cases[] = {
	    "",
	    "   ",
	    "<a>",
	    "<a></b>",
	    "<a/><b/>",
	    "text",
	    "<a>&#0;</a>",
	    "<a b='1' b='2'/>",
	    "\xff\xfe<a/>",
	    "<a>\xc3</a>",
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct xml_node *doc = NULL;
		struct error err = ERROR_INIT;
		int r = xml_parse(&doc, cases[i], strlen(cases[i]), NULL, &err);

		CHECKF(r == -EBADMSG, "case %zu: %d (%s)", i, r, err.msg);
		CHECKF(doc == NULL, "case %zu", i);
		CHECKF(err.msg[0] != '\0', "case %zu", i);
	}
}

TEST(xml_limits)
{
	struct xml_limits lim = {.max_bytes = 64, .max_depth = 3, .max_elements = 4};
	struct xml_node *doc = NULL;
	struct error err = ERROR_INIT;
	struct buf big = BUF_INIT;

	CHECK_INT(xml_parse(&doc, "<a><b><c/></b></a>", 18, &lim, &err), 0);
	xml_free(doc);
	doc = NULL;
	CHECK_INT(xml_parse(&doc, "<a><b><c><d/></c></b></a>", 25, &lim, &err), -E2BIG);
	CHECK(doc == NULL);
	CHECK_INT(xml_parse(&doc, "<a><b/><b/><b/></a>", 19, &lim, &err), 0);
	xml_free(doc);
	doc = NULL;
	CHECK_INT(xml_parse(&doc, "<a><b/><b/><b/><b/></a>", 23, &lim, &err), -E2BIG);
	CHECK(doc == NULL);
	/* bytes */
	buf_puts(&big, "<a>");
	for (int i = 0; i < 70; i++)
		buf_putc(&big, 'x');
	buf_puts(&big, "</a>");
	CHECK_INT(xml_parse(&doc, big.ptr, big.len, &lim, &err), -E2BIG);
	CHECK(doc == NULL);
	/* default depth: 10,000 nested elements are refused, not recursed into */
	buf_reset(&big);
	for (int i = 0; i < 10000; i++)
		buf_puts(&big, "<a>");
	for (int i = 0; i < 10000; i++)
		buf_puts(&big, "</a>");
	CHECK_INT(xml_parse(&doc, big.ptr, big.len, NULL, &err), -E2BIG);
	CHECK(doc == NULL);
	buf_release(&big);
}

TEST(xml_wide_and_deep_tree_freed)
{
	/* many siblings and a chain at the depth limit, freed without leaks (ASan) */
	struct buf t = BUF_INIT;
	struct xml_node *doc = NULL;
	struct error err = ERROR_INIT;
	const struct xml_node *m;
	size_t n = 0;

	buf_puts(&t, "<r>");
	for (int i = 0; i < 5000; i++)
		buf_printf(&t, "<m>%d</m>", i);
	for (int i = 0; i < 30; i++)
		buf_puts(&t, "<d>");
	for (int i = 0; i < 30; i++)
		buf_puts(&t, "</d>");
	buf_puts(&t, "</r>");
	REQUIRE(xml_parse(&doc, t.ptr, t.len, NULL, &err) == 0);
	for (m = xml_find(doc, "r/m"); m; m = xml_next(m)) {
		char want[16];

		snprintf(want, sizeof(want), "%zu", n);
		CHECKF(!strcmp(m->text, want), "member %zu: %s", n, m->text);
		n++;
	}
	CHECK_INT(n, 5000);
	CHECK(xml_find(doc, "r/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d") != NULL);
	xml_free(doc);
	buf_release(&t);
	xml_free(NULL);
}

TEST(xml_text_split_across_callbacks)
{
	/* expat delivers text in pieces around references: the node holds it whole */
	static const char text[] = "<a>one&amp;two&#x41;three\nfour</a>";
	struct xml_node *doc = NULL;
	struct error err = ERROR_INIT;

	REQUIRE(xml_parse(&doc, text, strlen(text), NULL, &err) == 0);
	CHECK_STR(xml_text(doc, "a"), "one&twoAthree\nfour");
	CHECK_INT(xml_find(doc, "a")->text_len, strlen("one&twoAthree\nfour"));
	xml_free(doc);
}

TEST_MAIN(xml_tree_and_lookups, xml_namespaces_dropped, xml_doctype_refused, xml_undefined_entity,
          xml_malformed, xml_limits, xml_wide_and_deep_tree_freed, xml_text_split_across_callbacks)
