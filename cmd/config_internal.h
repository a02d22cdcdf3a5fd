/*
 * config_internal.h - what config.c shares with config_notify.c: the parse
 * in progress and the strict getters.  Not for other files.
 *
 * Each getter records its errors in p->errs as "file:line:col: WHAT: ..." and
 * sets p->failed (1 for input errors, -ENOMEM); it never stops the parse.
 */
#ifndef ALIASD_CMD_CONFIG_INTERNAL_H
#define ALIASD_CMD_CONFIG_INTERNAL_H

#include "cmd/config.h"
#include "manifest/yaml.h"

/* A parse in progress: the first error of a value never stops the others. */
struct parser {
	struct errlist *errs;
	int failed;
};

/* map[key], or NULL when absent or null. */
const struct yaml_node *config_opt(const struct yaml_node *map, const char *key);
/* A string of at most `max` bytes into *out (replaced, malloc'ed). */
void config_get_str(struct parser *p, const struct yaml_node *map, const char *key, const char *what,
                    size_t max, char **out);
/* A non-empty absolute path, $CREDENTIALS_DIRECTORY expanded, into *out; its place into at (may be NULL). */
void config_get_path(struct parser *p, const struct yaml_node *map, const char *key, const char *what,
                     char **out, unsigned at[2]);
/* Unknown keys of `map` are errors named "PREFIX.key". */
void config_check_keys(struct parser *p, const struct yaml_node *map, const char *prefix,
                       const char *const keys[]);
/* map[key] when it is a mapping; NULL when absent/null, or (an error) anything else. */
const struct yaml_node *config_section(struct parser *p, const struct yaml_node *root, const char *key);

/* repository.verify, inside the repository mapping `repo`. */
void config_parse_verify(struct parser *p, struct config *c, const struct yaml_node *repo);
/* notify (after repository: notify.github.repository defaults from repository.url). */
void config_parse_notify(struct parser *p, struct config *c, const struct yaml_node *root);

#endif
