/*
 * yaml.c - libyaml events -> bounded node tree (limits, anchors and aliases,
 * duplicate keys).  The typed accessors are in yaml_get.c.
 */
#include "manifest/yaml.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "util/parse.h"

#define ARENA_BLOCK ((size_t)64 << 10)

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	_Alignas(16) unsigned char data[];
};

struct arena {
	struct arena_block *head;
};

static void *arena_alloc(struct arena *a, size_t n)
{
	struct arena_block *b = a->head;

	n = (n + 15) & ~(size_t)15;
	if (!b || b->size - b->used < n) {
		size_t size = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;
		struct arena_block *nb = malloc(sizeof(*nb) + size);

		if (!nb)
			return NULL;
		nb->size = size;
		nb->used = 0;
		if (size != ARENA_BLOCK && b) {
			/* a big one-off allocation: keep the current block as head */
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			a->head = nb;
		}
		b = nb;
	}
	void *p = b->data + b->used;
	b->used += n;
	return p;
}

static void arena_free(struct arena *a)
{
	struct arena_block *b, *next;

	if (!a)
		return;
	for (b = a->head; b; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

static char *arena_strndup(struct arena *a, const char *s, size_t n)
{
	char *p = arena_alloc(a, n + 1);

	if (!p)
		return NULL;
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

struct anchor {
	char *name; /* malloc'ed */
	struct yaml_node *node;
};

struct frame {
	struct yaml_node *node;   /* collection being built */
	char *anchor;             /* pending anchor (malloc'ed), or NULL */
	struct yaml_node **items; /* sequence items, or keys/values alternating */
	size_t n, alloc;
};

struct builder {
	struct yaml_stream *stream;
	struct arena *arena;
	const struct yaml_limits *lim;
	struct errlist *errs;
	const char *data;
	size_t len;
	struct frame *frames;
	size_t depth;           /* frames in use */
	size_t nodes;           /* expanded node count */
	struct anchor *anchors; /* open addressing, power of two */
	size_t n_anchors, anchor_cap;
	struct yaml_doc *doc; /* document being built */
	size_t doc_errs_before;
	size_t docs_alloc;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static void anchors_clear(struct builder *b)
{
	for (size_t i = 0; i < b->anchor_cap; i++) {
		free(b->anchors[i].name);
		b->anchors[i].name = NULL;
		b->anchors[i].node = NULL;
	}
	b->n_anchors = 0;
}

static struct anchor *anchor_slot(struct builder *b, const char *name)
{
	size_t mask = b->anchor_cap - 1;
	size_t i = (size_t)hash_str(name) & mask;

	while (b->anchors[i].name && strcmp(b->anchors[i].name, name))
		i = (i + 1) & mask;
	return &b->anchors[i];
}

static int anchor_set(struct builder *b, char *name, struct yaml_node *node)
{
	struct anchor *a;

	if ((b->n_anchors + 1) * 2 > b->anchor_cap) {
		size_t ncap = b->anchor_cap ? b->anchor_cap * 2 : 16;
		struct anchor *old = b->anchors;
		size_t oldcap = b->anchor_cap;

		b->anchors = calloc(ncap, sizeof(*b->anchors));
		if (!b->anchors) {
			b->anchors = old;
			free(name);
			return -ENOMEM;
		}
		b->anchor_cap = ncap;
		for (size_t i = 0; i < oldcap; i++)
			if (old[i].name)
				*anchor_slot(b, old[i].name) = old[i];
		free(old);
	}
	a = anchor_slot(b, name);
	if (a->name) {
		free(name); /* redefinition: the later node wins, as in YAML */
	} else {
		a->name = name;
		b->n_anchors++;
	}
	a->node = node;
	return 0;
}

static struct yaml_node *anchor_get(struct builder *b, const char *name)
{
	struct anchor *a;

	if (!b->anchor_cap)
		return NULL;
	a = anchor_slot(b, name);
	return a->name ? a->node : NULL;
}

static int add_error_at_mark(struct builder *b, yaml_mark_t mark, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int add_error_at_mark(struct builder *b, yaml_mark_t mark, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	errlist_addv(b->errs, code, b->stream->file, (unsigned)mark.line + 1, (unsigned)mark.column + 1, fmt,
	             ap);
	va_end(ap);
	return code;
}

static struct yaml_node *node_new(struct builder *b, enum yaml_kind kind, yaml_mark_t mark, const char *tag)
{
	struct yaml_node *n = arena_alloc(b->arena, sizeof(*n));

	if (!n)
		return NULL;
	memset(n, 0, sizeof(*n));
	n->kind = kind;
	n->line = (unsigned)mark.line + 1;
	n->col = (unsigned)mark.column + 1;
	n->file = b->stream->file;
	n->weight = 1;
	n->height = 1;
	if (tag) {
		n->tag = arena_strndup(b->arena, tag, strlen(tag));
		if (!n->tag)
			return NULL;
	}
	return n;
}

/* Count `weight` more nodes; error if over the limit. */
static int count_nodes(struct builder *b, size_t weight, yaml_mark_t mark)
{
	if (weight > b->lim->max_nodes || b->nodes > b->lim->max_nodes - weight)
		return add_error_at_mark(
		    b, mark, -E2BIG,
		    "too many YAML nodes (more than %zu, aliases expanded): refusing to parse further",
		    b->lim->max_nodes);
	b->nodes += weight;
	return 0;
}

static int frame_push_item(struct frame *f, struct yaml_node *n)
{
	if (f->n == f->alloc) {
		size_t na = f->alloc ? f->alloc * 2 : 8;
		struct yaml_node **p = realloc(f->items, na * sizeof(*p));
		if (!p)
			return -ENOMEM;
		f->items = p;
		f->alloc = na;
	}
	f->items[f->n++] = n;
	return 0;
}

static int key_cmp(const struct yaml_node *a, const struct yaml_node *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->str, b->str, n);

	if (c)
		return c;
	return a->len < b->len ? -1 : a->len > b->len;
}

static int pair_idx_cmp(const void *pa, const void *pb, void *ctx)
{
	const struct yaml_pair *pairs = ctx;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	int c = key_cmp(pairs[a].key, pairs[b].key);

	if (c)
		return c;
	return a < b ? -1 : a > b;
}

static void report_duplicate(struct builder *b, const struct yaml_node *first, const struct yaml_node *dup)
{
	char q[128];

	yaml_error(b->errs, dup, -EINVAL, "duplicate key %s (first defined at line %u, column %u)",
	           yaml_quote(dup, q, sizeof(q)), first->line, first->col);
}

static int check_duplicates(struct builder *b, const struct yaml_pair *pairs, size_t n)
{
	if (n <= 16) {
		for (size_t i = 1; i < n; i++)
			for (size_t j = 0; j < i; j++)
				if (!key_cmp(pairs[i].key, pairs[j].key)) {
					report_duplicate(b, pairs[j].key, pairs[i].key);
					break;
				}
		return 0;
	}
	size_t *idx = malloc(n * sizeof(*idx));
	if (!idx)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		idx[i] = i;
	qsort_r(idx, n, sizeof(*idx), pair_idx_cmp, (void *)pairs);
	for (size_t i = 1; i < n; i++) {
		size_t first = i - 1;
		while (i < n && !key_cmp(pairs[idx[first]].key, pairs[idx[i]].key)) {
			report_duplicate(b, pairs[idx[first]].key, pairs[idx[i]].key);
			i++;
		}
	}
	free(idx);
	return 0;
}

/* Attach a finished node to the parent frame, or make it the document root. */
static int attach(struct builder *b, struct yaml_node *n, yaml_mark_t mark)
{
	struct frame *f;

	if (!b->depth) {
		if (b->doc)
			b->doc->root = n;
		return 0;
	}
	f = &b->frames[b->depth - 1];
	if (f->node->kind == YAML_KIND_MAPPING && f->n % 2 == 0 && n->kind != YAML_KIND_SCALAR) {
		/* a key that is not a scalar: record the error, keep a placeholder */
		(void)mark;
		yaml_error(b->errs, n, -EINVAL, "mapping keys must be plain values, not %s",
		           yaml_describe(n));
	}
	return frame_push_item(f, n);
}

static int finish_collection(struct builder *b, yaml_mark_t end_mark)
{
	struct frame *f = &b->frames[b->depth - 1];
	struct yaml_node *n = f->node;
	size_t weight = 1;
	unsigned height = 0;
	int r = 0;

	(void)end_mark;
	for (size_t i = 0; i < f->n; i++) {
		weight += f->items[i]->weight;
		if (f->items[i]->height > height)
			height = f->items[i]->height;
	}
	n->weight = weight;
	n->height = height + 1;
	if (n->kind == YAML_KIND_SEQUENCE) {
		if (f->n) {
			n->items = arena_alloc(b->arena, f->n * sizeof(*n->items));
			if (!n->items)
				return -ENOMEM;
			memcpy(n->items, f->items, f->n * sizeof(*n->items));
		}
		n->n_items = f->n;
	} else {
		size_t np = 0;

		n->pairs = arena_alloc(b->arena, (f->n / 2 + 1) * sizeof(*n->pairs));
		if (!n->pairs)
			return -ENOMEM;
		for (size_t i = 0; i + 1 < f->n; i += 2) {
			if (f->items[i]->kind != YAML_KIND_SCALAR)
				continue; /* reported in attach() */
			n->pairs[np].key = f->items[i];
			n->pairs[np].value = f->items[i + 1];
			np++;
		}
		n->n_pairs = np;
		r = check_duplicates(b, n->pairs, np);
	}
	if (f->anchor) {
		char *name = f->anchor;
		f->anchor = NULL;
		if (anchor_set(b, name, n) < 0)
			return -ENOMEM;
	}
	free(f->items);
	f->items = NULL;
	f->n = f->alloc = 0;
	b->depth--;
	if (r < 0)
		return r;
	return attach(b, n, end_mark);
}

/* The limits every new node passes: nesting depth, anchors, node count. */
static int node_admit(struct builder *b, const yaml_event_t *ev, const char *anchor)
{
	if (b->depth + 1 > b->lim->max_depth)
		return add_error_at_mark(b, ev->start_mark, -E2BIG,
		                         "nesting deeper than %u levels: refusing to parse further",
		                         b->lim->max_depth);
	if (anchor && !b->lim->allow_aliases)
		return add_error_at_mark(b, ev->start_mark, -EINVAL, "anchors (&%s) are not allowed here",
		                         anchor);
	return count_nodes(b, 1, ev->start_mark);
}

static int start_collection(struct builder *b, enum yaml_kind kind, yaml_event_t *ev)
{
	const char *tag, *anchor;
	struct yaml_node *n;
	struct frame *f;
	int r;

	if (kind == YAML_KIND_SEQUENCE) {
		tag = (const char *)ev->data.sequence_start.tag;
		anchor = (const char *)ev->data.sequence_start.anchor;
		if (ev->data.sequence_start.implicit)
			tag = NULL;
	} else {
		tag = (const char *)ev->data.mapping_start.tag;
		anchor = (const char *)ev->data.mapping_start.anchor;
		if (ev->data.mapping_start.implicit)
			tag = NULL;
	}
	r = node_admit(b, ev, anchor);
	if (r < 0)
		return r;
	n = node_new(b, kind, ev->start_mark, tag);
	if (!n)
		return -ENOMEM;
	f = &b->frames[b->depth++];
	memset(f, 0, sizeof(*f));
	f->node = n;
	if (anchor) {
		f->anchor = strdup(anchor);
		if (!f->anchor)
			return -ENOMEM;
	}
	return 0;
}

static int on_scalar(struct builder *b, yaml_event_t *ev)
{
	const char *tag = (const char *)ev->data.scalar.tag;
	const char *anchor = (const char *)ev->data.scalar.anchor;
	struct yaml_node *n;
	int r;

	r = node_admit(b, ev, anchor);
	if (r < 0)
		return r;
	/* a tag resolved implicitly (no "!" written) is not recorded */
	if (ev->data.scalar.plain_implicit || ev->data.scalar.quoted_implicit)
		tag = NULL;
	n = node_new(b, YAML_KIND_SCALAR, ev->start_mark, tag);
	if (!n)
		return -ENOMEM;
	n->str = arena_strndup(b->arena, (const char *)ev->data.scalar.value, ev->data.scalar.length);
	if (!n->str)
		return -ENOMEM;
	n->len = ev->data.scalar.length;
	switch (ev->data.scalar.style) {
	case YAML_SINGLE_QUOTED_SCALAR_STYLE:
		n->style = YAML_STYLE_SINGLE;
		break;
	case YAML_DOUBLE_QUOTED_SCALAR_STYLE:
		n->style = YAML_STYLE_DOUBLE;
		break;
	case YAML_LITERAL_SCALAR_STYLE:
		n->style = YAML_STYLE_LITERAL;
		break;
	case YAML_FOLDED_SCALAR_STYLE:
		n->style = YAML_STYLE_FOLDED;
		break;
	default:
		n->style = YAML_STYLE_PLAIN;
		break;
	}
	if (anchor) {
		char *name = strdup(anchor);
		if (!name || anchor_set(b, name, n) < 0)
			return -ENOMEM;
	}
	return attach(b, n, ev->start_mark);
}

static int on_alias(struct builder *b, yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct yaml_node *target;
	int r;

	if (!b->lim->allow_aliases)
		return add_error_at_mark(b, ev->start_mark, -EINVAL, "aliases (*%s) are not allowed here",
		                         name);
	target = anchor_get(b, name);
	if (!target) {
		for (size_t i = 0; i < b->depth; i++)
			if (b->frames[i].anchor && !strcmp(b->frames[i].anchor, name))
				return add_error_at_mark(
				    b, ev->start_mark, -EINVAL,
				    "alias *%s refers to a node that contains it (recursive)", name);
		return add_error_at_mark(b, ev->start_mark, -EINVAL,
		                         "alias *%s refers to an undefined anchor", name);
	}
	if (b->depth + target->height > b->lim->max_depth)
		return add_error_at_mark(
		    b, ev->start_mark, -E2BIG,
		    "nesting deeper than %u levels (alias *%s expanded): refusing to parse further",
		    b->lim->max_depth, name);
	r = count_nodes(b, target->weight, ev->start_mark);
	if (r < 0)
		return r;
	return attach(b, target, ev->start_mark);
}

static int doc_start(struct builder *b, yaml_event_t *ev)
{
	struct yaml_stream *s = b->stream;

	if (s->n_docs == b->docs_alloc) {
		size_t na = b->docs_alloc ? b->docs_alloc * 2 : 4;
		struct yaml_doc *p = realloc(s->docs, na * sizeof(*p));
		if (!p)
			return -ENOMEM;
		s->docs = p;
		b->docs_alloc = na;
	}
	b->doc = &s->docs[s->n_docs];
	memset(b->doc, 0, sizeof(*b->doc));
	b->doc->line = (unsigned)ev->start_mark.line + 1;
	b->doc->col = (unsigned)ev->start_mark.column + 1;
	b->doc->index = (unsigned)s->n_docs;
	b->doc_errs_before = errlist_count(b->errs);
	anchors_clear(b);
	return 0;
}

static void doc_end(struct builder *b)
{
	if (!b->doc)
		return;
	b->doc->n_errors = errlist_count(b->errs) - b->doc_errs_before;
	b->stream->n_docs++;
	b->doc = NULL;
}

/* Line and column (1-based, in characters) of byte `offset`. */
static void offset_to_mark(const char *data, size_t len, size_t offset, unsigned *ret_line, unsigned *ret_col)
{
	unsigned line = 1, col = 1;

	for (size_t i = 0; i < offset && i < len; i++) {
		unsigned char c = (unsigned char)data[i];
		if (c == '\n') {
			line++;
			col = 1;
		} else if ((c & 0xc0) != 0x80) {
			col++;
		}
	}
	*ret_line = line;
	*ret_col = col;
}

static void report_parser_error(struct builder *b, yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "unknown error";
	unsigned line, col;
	char hint[96] = "";

	if (p->error == YAML_MEMORY_ERROR) {
		errlist_add(b->errs, -ENOMEM, b->stream->file, 0, 0, "out of memory while parsing YAML");
		return;
	}
	if (p->error == YAML_READER_ERROR) {
		offset_to_mark(b->data, b->len, p->problem_offset, &line, &col);
		if (p->problem_value != -1)
			errlist_add(b->errs, -EILSEQ, b->stream->file, line, col,
			            "invalid text: %s (byte 0x%02x)", problem,
			            (unsigned)p->problem_value & 0xff);
		else
			errlist_add(b->errs, -EILSEQ, b->stream->file, line, col, "invalid text: %s",
			            problem);
		return;
	}
	line = (unsigned)p->problem_mark.line + 1;
	col = (unsigned)p->problem_mark.column + 1;
	if (p->problem_mark.index < b->len && b->data[p->problem_mark.index] == '\t')
		snprintf(hint, sizeof(hint), " (a tab: YAML indentation must use spaces)");
	if (p->context)
		errlist_add(b->errs, -EBADMSG, b->stream->file, line, col,
		            "syntax error: %s, %s started at line %zu, column %zu%s", problem, p->context,
		            p->context_mark.line + 1, p->context_mark.column + 1, hint);
	else
		errlist_add(b->errs, -EBADMSG, b->stream->file, line, col, "syntax error: %s%s", problem,
		            hint);
}

void yaml_stream_free(struct yaml_stream *s)
{
	if (!s)
		return;
	arena_free(s->arena);
	free(s->docs);
	free(s->file);
	free(s);
}

int yaml_stream_parse(struct yaml_stream **ret_stream, const char *file, const char *data, size_t len,
                      const struct yaml_limits *limits, struct errlist *errs)
{
	static const struct yaml_limits dflt = YAML_LIMITS_MANIFEST;
	struct builder b = {0};
	struct yaml_stream *s;
	yaml_parser_t parser;
	bool parser_ready = false, done = false;
	int r = 0;

	if (!limits)
		limits = &dflt;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->file = strdup(file ? file : "");
	s->arena = calloc(1, sizeof(struct arena));
	b.frames = calloc((size_t)limits->max_depth + 1, sizeof(*b.frames));
	if (!s->file || !s->arena || !b.frames) {
		r = -ENOMEM;
		goto out;
	}
	b.stream = s;
	b.arena = s->arena;
	b.lim = limits;
	b.errs = errs;
	b.data = data;
	b.len = len;

	if (len > limits->max_bytes) {
		errlist_add(errs, -E2BIG, s->file, 0, 0, "file is %zu bytes, more than the limit of %zu", len,
		            limits->max_bytes);
		s->failed = true;
		goto out;
	}
	if (!yaml_parser_initialize(&parser)) {
		r = -ENOMEM;
		goto out;
	}
	parser_ready = true;
	yaml_parser_set_input_string(&parser, (const unsigned char *)data, len);

	while (!done) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev)) {
			report_parser_error(&b, &parser);
			s->failed = true;
			if (parser.error == YAML_MEMORY_ERROR)
				r = -ENOMEM;
			break;
		}
		switch (ev.type) {
		case YAML_STREAM_END_EVENT:
			done = true;
			break;
		case YAML_DOCUMENT_START_EVENT:
			r = doc_start(&b, &ev);
			break;
		case YAML_DOCUMENT_END_EVENT:
			doc_end(&b);
			break;
		case YAML_SCALAR_EVENT:
			r = on_scalar(&b, &ev);
			break;
		case YAML_ALIAS_EVENT:
			r = on_alias(&b, &ev);
			break;
		case YAML_SEQUENCE_START_EVENT:
			r = start_collection(&b, YAML_KIND_SEQUENCE, &ev);
			break;
		case YAML_MAPPING_START_EVENT:
			r = start_collection(&b, YAML_KIND_MAPPING, &ev);
			break;
		case YAML_SEQUENCE_END_EVENT:
		case YAML_MAPPING_END_EVENT:
			r = b.depth ? finish_collection(&b, ev.start_mark) : -EINVAL;
			break;
		default:
			break;
		}
		yaml_event_delete(&ev);
		if (r < 0) {
			s->failed = true;
			if (r != -ENOMEM)
				r = 0; /* reported: a broken file, not a failure of the call */
			break;
		}
	}

out:
	if (parser_ready)
		yaml_parser_delete(&parser);
	for (size_t i = 0; b.frames && i < b.depth + 1 && i <= limits->max_depth; i++) {
		free(b.frames[i].items);
		free(b.frames[i].anchor);
	}
	free(b.frames);
	anchors_clear(&b);
	free(b.anchors);
	if (r < 0) {
		yaml_stream_free(s);
		return r;
	}
	*ret_stream = s;
	return 0;
}
