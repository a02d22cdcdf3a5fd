/*
 * yaml.h - a small, bounded YAML node tree on top of libyaml, with typed
 * accessors that report errors as "file:line:col: message".
 *
 * Used for manifests (manifest/load.c) and the daemon's configuration file.
 *
 * Parsing turns libyaml's event stream into a tree of three node kinds
 * (scalar, sequence, mapping).  Every node carries its 1-based line and column
 * (libyaml's marks are 0-based; +1 is applied here once), the file name it
 * came from (for messages), and for scalars the style (plain or quoted/block)
 * and explicit tag, so that a quoted "3" is a string while a plain 3 is an
 * integer.
 *
 * Invariants and limits (struct yaml_limits):
 *  - input larger than max_bytes is refused before libyaml sees it;
 *  - nesting deeper than max_depth, or more than max_nodes nodes, stops the
 *    parse with an error at the offending place;
 *  - anchors and aliases: with allow_aliases = false every alias is an error.
 *    With allow_aliases = true an alias becomes a pointer to the anchored
 *    node (no copy), and each alias counts the full expanded size of its
 *    target against max_nodes (and its height against max_depth), so a
 *    "billion laughs" document fails after max_nodes expanded nodes instead
 *    of growing without bound.  The tree is then a DAG: do not write through
 *    node pointers.
 *  - mapping keys must be scalars; a duplicate key (same text, both plain or
 *    both non-plain or not) is reported at the second occurrence, naming the
 *    first.  Duplicate keys do not stop the parse: the document is marked
 *    (`n_errors`) and later lookups find the first occurrence.
 *  - every yaml_event_t is deleted, also on error paths.
 *
 * A stream holds every document of one file.  When libyaml reports a syntax
 * error, or a hard limit is hit, the documents completed before that point
 * are kept, `stream->failed` is set, and one error is appended.  Documents
 * are independent: `doc->n_errors` counts the errors (duplicate keys,
 * non-scalar keys) found inside that document.
 *
 * Memory: all nodes and strings of a stream live in one arena owned by the
 * stream; yaml_stream_free() releases everything (accepts NULL).  Node
 * pointers are valid until then.
 *
 * Accessors: all take the node, a `what` naming the value for the message
 * (a key path such as "releases.v2.config.memorySize"), and an errlist.  They
 * return 0 on success, a negative errno after appending exactly one error
 * otherwise, and write their output only on success.  A NULL node (an absent
 * key) returns -ENOENT and appends nothing: report missing keys at the parent.
 *
 * `errs` may be NULL everywhere: errors are then dropped (and doc->n_errors
 * stays 0).  No global state: different streams may be parsed and read from
 * different threads at the same time.
 */
#ifndef ALIASD_MANIFEST_YAML_H
#define ALIASD_MANIFEST_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "util/error.h"

enum yaml_kind {
	YAML_KIND_SCALAR = 1,
	YAML_KIND_SEQUENCE,
	YAML_KIND_MAPPING,
};

enum yaml_style {
	YAML_STYLE_PLAIN = 0, /* unquoted: may be a number, bool or null */
	YAML_STYLE_SINGLE,    /* 'quoted' */
	YAML_STYLE_DOUBLE,    /* "quoted" */
	YAML_STYLE_LITERAL,   /* | block */
	YAML_STYLE_FOLDED,    /* > block */
};

struct yaml_node;

struct yaml_pair {
	struct yaml_node *key; /* always a scalar */
	struct yaml_node *value;
};

struct yaml_node {
	enum yaml_kind kind;
	unsigned line, col; /* 1-based start of the node */
	const char *file;   /* file name for messages (owned by the stream) */
	const char *tag;    /* explicit tag as written ("!!str", "tag:..."), or NULL */
	size_t weight;      /* nodes in this subtree, aliases expanded */
	unsigned height;    /* 1 for a scalar, 1 + max child height otherwise */
	/* YAML_KIND_SCALAR */
	const char *str; /* NUL-terminated; may contain NUL bytes ("\0") */
	size_t len;
	enum yaml_style style;
	/* YAML_KIND_SEQUENCE */
	struct yaml_node **items;
	size_t n_items;
	/* YAML_KIND_MAPPING, in document order */
	struct yaml_pair *pairs;
	size_t n_pairs;
};

struct yaml_doc {
	struct yaml_node *root; /* NULL for an empty document ("---" alone) */
	unsigned line, col;     /* where the document starts */
	unsigned index;         /* 0-based position in the file */
	size_t n_errors;        /* errors this document added (duplicate keys...) */
};

struct yaml_limits {
	size_t max_bytes;   /* input size */
	unsigned max_depth; /* nesting: a top-level scalar is depth 1 */
	size_t max_nodes;   /* per stream, aliases expanded */
	bool allow_aliases;
};

/* Limits for manifests: 4 MiB, depth 64, 200000 nodes, aliases counted. */
#define YAML_LIMITS_MANIFEST                                                                                 \
	{                                                                                                    \
		(size_t)4 << 20, 64, 200000, true                                                            \
	}
/* Limits for the daemon's config file: 1 MiB, depth 32, 20000 nodes, no aliases. */
#define YAML_LIMITS_CONFIG                                                                                   \
	{                                                                                                    \
		(size_t)1 << 20, 32, 20000, false                                                            \
	}

struct yaml_stream {
	char *file; /* as given to yaml_stream_parse */
	struct yaml_doc *docs;
	size_t n_docs;
	bool failed; /* syntax error or limit: documents after it are unknown */
	void *arena;
};

/*
 * Parse `len` bytes of `data` (need not be NUL-terminated) from `file` (a name
 * for messages).  Errors go to `errs` as "file:line:col: message".
 * Returns 0 with *ret_stream set, also when the YAML is broken (see
 * stream->failed and errs); -ENOMEM (nothing returned) when out of memory.
 */
int yaml_stream_parse(struct yaml_stream **ret_stream, const char *file, const char *data, size_t len,
                      const struct yaml_limits *limits, struct errlist *errs);
void yaml_stream_free(struct yaml_stream *stream);

/* Append "file:line:col: fmt..." at `node` (file/line/col 0 when node is NULL). */
int yaml_error(struct errlist *errs, const struct yaml_node *node, int code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Plain (untagged) null: empty, "~", "null", "Null", "NULL", or tagged !!null. */
bool yaml_is_null(const struct yaml_node *node);
/* Words for messages: "a mapping", "a list", "a string", "an integer", "a number", "a boolean", "null". */
const char *yaml_describe(const struct yaml_node *node);
/*
 * A scalar quoted for a message into `out` (returned): at most ~40
 * characters then "...", quotes and backslashes escaped, control bytes as
 * \xNN.  64 bytes of `out` are enough.
 */
const char *yaml_quote(const struct yaml_node *node, char *out, size_t outsz);

/* Mapping lookup by key text (first occurrence); NULL if absent or not a mapping. */
struct yaml_node *yaml_map_get(const struct yaml_node *map, const char *key);
/* The key node for `key` (for positions), or NULL. */
struct yaml_node *yaml_map_key(const struct yaml_node *map, const char *key);

/*
 * Each appends "what: expected a mapping, got a list" (etc.) and returns
 * -EINVAL if the node is not of that kind (NULL: -ENOENT, nothing appended).
 */
int yaml_expect_mapping(const struct yaml_node *node, const char *what, struct errlist *errs);
int yaml_expect_sequence(const struct yaml_node *node, const char *what, struct errlist *errs);
int yaml_expect_scalar(const struct yaml_node *node, const char *what, struct errlist *errs);

/*
 * A string: any non-null scalar (a plain 123 is the string "123"), without
 * NUL bytes, at most `max_len` bytes (0 = no limit).  *ret points into the tree.
 */
int yaml_get_string(const struct yaml_node *node, const char *what, size_t max_len, const char **ret,
                    struct errlist *errs);
/* An integer: a plain (or !!int tagged) decimal scalar within [min, max]. */
int yaml_get_int(const struct yaml_node *node, const char *what, int64_t min, int64_t max, int64_t *ret,
                 struct errlist *errs);
/* A number: a plain decimal scalar (integer or fraction) within [min, max]. */
int yaml_get_double(const struct yaml_node *node, const char *what, double min, double max, double *ret,
                    struct errlist *errs);
/* A boolean: plain true/false (also True/FALSE/yes/no/on/off). */
int yaml_get_bool(const struct yaml_node *node, const char *what, bool *ret, struct errlist *errs);

/* True if `node` is a plain untagged scalar written as decimal digits [+-]?[0-9]+. */
bool yaml_is_int(const struct yaml_node *node);

/*
 * Every key of mapping `map` must be one of `allowed` (NULL-terminated).
 * Appends "prefix.key: unknown key (expected one of: a, b, c)" at each other
 * key ("key: ..." when prefix is "" or NULL) and returns -EINVAL if there was
 * any; 0 otherwise (also when `map` is not a mapping: nothing to check).
 */
int yaml_check_keys(const struct yaml_node *map, const char *prefix, const char *const allowed[],
                    struct errlist *errs);

#endif
