/*
 * xml.c - bounded XML reader over expat (see xml.h).
 */
#include "aws/xml.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/*
 * Debian's libexpat is built with XML_DTD (its expat_config.h says so); the
 * header declares the amplification limits only when the includer defines
 * it too.  We refuse every DTD anyway: the limits are a second fence.
 */
#ifndef XML_DTD
#define XML_DTD 1
#endif
#include <expat.h>

#define NS_SEP '\x01'

struct parse_state {
	XML_Parser parser;
	struct xml_node *doc;
	struct xml_node *cur;
	size_t depth, elements;
	size_t max_depth, max_elements;
	size_t text_total, max_text;
	int failure; /* 0, or the negative errno that stopped the parser */
	const char *why;
};

static void node_free_all(struct xml_node *doc)
{
	struct xml_node *n = doc;

	/* iterative post-order: no recursion on hostile depth.  A leaf reached
	 * here is always its parent's first child: detach it, free it, go on
	 * with its sibling (or back up to the parent, now one child fewer). */
	while (n) {
		struct xml_node *next;

		if (n->first_child) {
			n = n->first_child;
			continue;
		}
		next = n->next ? n->next : n->parent;
		if (n->parent)
			n->parent->first_child = n->next;
		free(n->name);
		free(n->text);
		free(n);
		n = next;
	}
}

void xml_free(struct xml_node *doc)
{
	node_free_all(doc);
}

static struct xml_node *node_new(const char *name, size_t name_len)
{
	struct xml_node *n = calloc(1, sizeof(*n));

	if (!n)
		return NULL;
	n->name = strndup(name, name_len);
	n->text = calloc(1, 1);
	if (!n->name || !n->text) {
		free(n->name);
		free(n->text);
		free(n);
		return NULL;
	}
	return n;
}

static void stop(struct parse_state *st, int code, const char *why)
{
	if (!st->failure) {
		st->failure = code;
		st->why = why;
	}
	XML_StopParser(st->parser, XML_FALSE);
}

static void XMLCALL on_start(void *ud, const XML_Char *name, const XML_Char **attrs)
{
	struct parse_state *st = ud;
	const char *local = strrchr(name, NS_SEP);
	struct xml_node *n;

	(void)attrs;
	if (st->failure)
		return;
	local = local ? local + 1 : name;
	if (++st->depth > st->max_depth) {
		stop(st, -E2BIG, "nesting deeper than the limit");
		return;
	}
	if (++st->elements > st->max_elements) {
		stop(st, -E2BIG, "more elements than the limit");
		return;
	}
	n = node_new(local, strlen(local));
	if (!n) {
		stop(st, -ENOMEM, "out of memory");
		return;
	}
	n->parent = st->cur;
	if (st->cur->last_child)
		st->cur->last_child->next = n;
	else
		st->cur->first_child = n;
	st->cur->last_child = n;
	st->cur = n;
}

static void XMLCALL on_end(void *ud, const XML_Char *name)
{
	struct parse_state *st = ud;

	(void)name;
	if (st->failure)
		return;
	st->depth--;
	if (st->cur->parent)
		st->cur = st->cur->parent;
}

static void XMLCALL on_text(void *ud, const XML_Char *s, int len)
{
	struct parse_state *st = ud;
	struct xml_node *n = st->cur;
	char *t;

	if (st->failure || len <= 0 || n == st->doc)
		return;
	if ((size_t)len > st->max_text - st->text_total) {
		stop(st, -E2BIG, "more text than the limit");
		return;
	}
	t = realloc(n->text, n->text_len + (size_t)len + 1);
	if (!t) {
		stop(st, -ENOMEM, "out of memory");
		return;
	}
	memcpy(t + n->text_len, s, (size_t)len);
	n->text = t;
	n->text_len += (size_t)len;
	n->text[n->text_len] = '\0';
	st->text_total += (size_t)len;
}

static void XMLCALL on_doctype(void *ud, const XML_Char *name, const XML_Char *sysid, const XML_Char *pubid,
                               int has_internal_subset)
{
	(void)name;
	(void)sysid;
	(void)pubid;
	(void)has_internal_subset;
	stop(ud, -EBADMSG, "a DOCTYPE is not allowed");
}

static void XMLCALL on_entity_decl(void *ud, const XML_Char *name, int is_param, const XML_Char *value,
                                   int value_len, const XML_Char *base, const XML_Char *sysid,
                                   const XML_Char *pubid, const XML_Char *notation)
{
	(void)name;
	(void)is_param;
	(void)value;
	(void)value_len;
	(void)base;
	(void)sysid;
	(void)pubid;
	(void)notation;
	stop(ud, -EBADMSG, "an entity declaration is not allowed");
}

int xml_parse(struct xml_node **ret_doc, const char *text, size_t len, const struct xml_limits *lim,
              struct error *err)
{
	struct parse_state st = {0};
	size_t max_bytes = lim && lim->max_bytes ? lim->max_bytes : XML_DEFAULT_MAX_BYTES;
	enum XML_Status status;
	int r = 0;

	st.max_depth = lim && lim->max_depth ? lim->max_depth : XML_DEFAULT_MAX_DEPTH;
	st.max_elements = lim && lim->max_elements ? lim->max_elements : XML_DEFAULT_MAX_ELEMENTS;
	st.max_text = max_bytes;
	if (len > max_bytes)
		return error_set(err, -E2BIG, "XML document of %zu bytes is over the limit of %zu", len,
		                 max_bytes);
	if (len > INT_MAX)
		return error_set(err, -E2BIG, "XML document too large");
	if (!text && len)
		return error_set(err, -EINVAL, "no XML text");

	st.doc = node_new("", 0);
	if (!st.doc)
		return error_set(err, -ENOMEM, "out of memory");
	st.cur = st.doc;
	st.parser = XML_ParserCreateNS(NULL, NS_SEP);
	if (!st.parser) {
		xml_free(st.doc);
		return error_set(err, -ENOMEM, "out of memory");
	}
	XML_SetUserData(st.parser, &st);
	XML_SetElementHandler(st.parser, on_start, on_end);
	XML_SetCharacterDataHandler(st.parser, on_text);
	XML_SetStartDoctypeDeclHandler(st.parser, on_doctype);
	XML_SetEntityDeclHandler(st.parser, on_entity_decl);
	XML_SetParamEntityParsing(st.parser, XML_PARAM_ENTITY_PARSING_NEVER);
#if XML_MAJOR_VERSION > 2 || (XML_MAJOR_VERSION == 2 && XML_MINOR_VERSION >= 4)
	XML_SetBillionLaughsAttackProtectionMaximumAmplification(st.parser, 10.0f);
	XML_SetBillionLaughsAttackProtectionActivationThreshold(st.parser, 1024 * 1024);
#endif

	status = XML_Parse(st.parser, text ? text : "", (int)len, XML_TRUE);
	if (st.failure) {
		r = st.failure;
		if (r == -ENOMEM)
			error_set(err, r, "out of memory");
		else
			error_set(err, r, "XML rejected at line %lu, column %lu: %s",
			          (unsigned long)XML_GetCurrentLineNumber(st.parser),
			          (unsigned long)XML_GetCurrentColumnNumber(st.parser) + 1, st.why);
	} else if (status != XML_STATUS_OK) {
		enum XML_Error code = XML_GetErrorCode(st.parser);

		r = code == XML_ERROR_NO_MEMORY ? -ENOMEM : -EBADMSG;
		error_set(err, r, "malformed XML at line %lu, column %lu: %s",
		          (unsigned long)XML_GetCurrentLineNumber(st.parser),
		          (unsigned long)XML_GetCurrentColumnNumber(st.parser) + 1, XML_ErrorString(code));
	} else if (!st.doc->first_child) {
		r = error_set(err, -EBADMSG, "malformed XML: no root element");
	}
	XML_ParserFree(st.parser);
	if (r < 0) {
		xml_free(st.doc);
		return r;
	}
	*ret_doc = st.doc;
	return 0;
}

const struct xml_node *xml_child(const struct xml_node *node, const char *name)
{
	if (!node)
		return NULL;
	for (const struct xml_node *c = node->first_child; c; c = c->next)
		if (!name || !strcmp(c->name, name))
			return c;
	return NULL;
}

const struct xml_node *xml_find(const struct xml_node *node, const char *path)
{
	const char *p = path ? path : "";

	while (node && *p) {
		size_t n = strcspn(p, "/");
		const struct xml_node *c;

		for (c = node->first_child; c; c = c->next)
			if (strlen(c->name) == n && !memcmp(c->name, p, n))
				break;
		node = c;
		p += n;
		if (*p == '/')
			p++;
	}
	return node;
}

const char *xml_text(const struct xml_node *node, const char *path)
{
	const struct xml_node *n = xml_find(node, path);

	return n ? n->text : NULL;
}

const struct xml_node *xml_next(const struct xml_node *node)
{
	if (!node)
		return NULL;
	for (const struct xml_node *s = node->next; s; s = s->next)
		if (!strcmp(s->name, node->name))
			return s;
	return NULL;
}
