/*
 * xml.h - a small, bounded XML reader (expat) for AWS Query-protocol answers.
 *
 * xml_parse() reads a whole document into a tree of elements: each node has
 * its local name and its character data.  That is all an AWS answer needs
 * (CloudWatch, STS): attributes are ignored, comments and processing
 * instructions are skipped.
 *
 * Invariants (tests/unit/test_aws_xml.c holds each one):
 *  - Hostile input is bounded: at most lim->max_bytes of input, lim->max_depth
 *    nesting, lim->max_elements elements; anything beyond is -E2BIG, never a
 *    partial tree.
 *  - No DTD at all: a document with a DOCTYPE (internal subset or external) is
 *    refused with -EBADMSG, so no entity is ever defined, expanded or fetched
 *    ("billion laughs" and XXE are impossible); expat's own amplification
 *    protection is also set where the library has it.  Only the five
 *    predefined entities and character references are decoded.
 *  - Namespaces are tolerated and dropped: <DescribeAlarmsResponse
 *    xmlns="http://monitoring.amazonaws.com/doc/2010-08-01/"> and <ns:Code>
 *    give the names "DescribeAlarmsResponse" and "Code".  An undeclared
 *    prefix is malformed XML (-EBADMSG).
 *  - Malformed XML (expat's errors, text after the root, no root) is -EBADMSG
 *    with expat's message, line and column in err.
 *  - A node's text is never NULL and always NUL-terminated; it is the
 *    concatenation of the element's own character data (a child's text is
 *    not included), kept as is (not trimmed).  Text may contain NUL bytes
 *    (&#0; is not XML, but expat refuses it anyway): text_len is exact.
 *
 * Ownership: xml_parse() returns a document node (name "") whose only child
 * is the root element; xml_free() frees the whole tree.  Every pointer into
 * the tree is valid until then.  The tree is read-only after parsing and may
 * be read by several threads.
 */
#ifndef ALIASD_AWS_XML_H
#define ALIASD_AWS_XML_H

#include <stdbool.h>
#include <stddef.h>

#include "util/error.h"

#define XML_DEFAULT_MAX_BYTES    ((size_t)8 << 20)
#define XML_DEFAULT_MAX_DEPTH    32
#define XML_DEFAULT_MAX_ELEMENTS 200000

struct xml_limits {
	size_t max_bytes;    /* 0 = XML_DEFAULT_MAX_BYTES */
	size_t max_depth;    /* 0 = XML_DEFAULT_MAX_DEPTH (the root element is depth 1) */
	size_t max_elements; /* 0 = XML_DEFAULT_MAX_ELEMENTS */
};

struct xml_node {
	char *name; /* local name, never NULL ("" for the document node) */
	char *text; /* never NULL */
	size_t text_len;
	struct xml_node *parent; /* NULL for the document node */
	struct xml_node *first_child, *last_child;
	struct xml_node *next; /* next sibling, any name */
};

/*
 * Parse text[0..len).  `lim` may be NULL (defaults).  On success *ret_doc
 * is the document node (free with xml_free).  Errors: -EBADMSG malformed or
 * refused (DOCTYPE), -E2BIG over a limit, -ENOMEM; err says which, with the
 * line and column when expat knows them.
 */
int xml_parse(struct xml_node **ret_doc, const char *text, size_t len, const struct xml_limits *lim,
              struct error *err);
/* Accepts NULL. */
void xml_free(struct xml_node *doc);

/*
 * The first element reached from `node` by `path`, a '/'-separated list of
 * local names, each naming a child of the previous one ("A/B/C": node's child
 * A, its child B, its child C); at each level the first child of that name is
 * taken.  "" is `node` itself.  NULL when absent or node is NULL.
 */
const struct xml_node *xml_find(const struct xml_node *node, const char *path);
/* The text of xml_find(node, path), or NULL when the element is absent. */
const char *xml_text(const struct xml_node *node, const char *path);
/* The next sibling of `node` with the same name, NULL at the end: iterate
 * "…/MetricAlarms/member" with for (m = xml_find(...); m; m = xml_next(m)). */
const struct xml_node *xml_next(const struct xml_node *node);
/* The first child of `node` named `name` (NULL: any name). */
const struct xml_node *xml_child(const struct xml_node *node, const char *name);

#endif
