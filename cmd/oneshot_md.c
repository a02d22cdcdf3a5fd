/*
 * oneshot_md.c - `aliasd plan --format markdown` (and apply): a comment-ready
 * report for a pull request (see oneshot.h).
 */
#include <stdio.h>
#include <string.h>

#include "cmd/oneshot.h"
#include "util/error.h"

/* Text inside a code span or a fenced block: backticks would end it, newlines break the layout. */
static void put_code(FILE *out, const char *s)
{
	for (; s && *s; s++)
		fputc(*s == '`' ? '\'' : (*s == '\n' || *s == '\r') ? ' ' : *s, out);
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

static void put_function(FILE *out, const struct reconcile_result *r)
{
	fputs("`", out);
	put_code(out, r->function ? r->function : "?");
	fputs("`", out);
	if (r->region) {
		fputs(" (", out);
		put_code(out, r->region);
		fputs(")", out);
	}
}

void oneshot_print_markdown(FILE *out, const struct manifest_set *set, const struct reconcile_result *res,
                            size_t n, bool apply, size_t n_changed, size_t n_sync, size_t n_failed)
{
	size_t n_steps = 0, ne = set ? manifest_set_error_count(set) : 0, shown = 0;

	for (size_t i = 0; i < n; i++)
		if (res[i].status >= 0)
			n_steps += apply ? res[i].writes : res[i].n_planned;
	fprintf(out, "### aliasd %s", apply ? "apply" : "plan");
	if (set && set->revision[0])
		fprintf(out, " at `%.7s`", set->revision);
	fputs("\n\n", out);
	if (apply)
		fprintf(out, "**Apply: %zu %s changed (%zu %s), %zu in sync, %zu failed", n_changed,
		        plural(n_changed, "function", "functions"), n_steps,
		        plural(n_steps, "write", "writes"), n_sync, n_failed);
	else
		fprintf(out, "**Plan: %zu %s to change (%zu %s), %zu in sync, %zu failed", n_changed,
		        plural(n_changed, "function", "functions"), n_steps, plural(n_steps, "step", "steps"),
		        n_sync, n_failed);
	if (ne)
		fprintf(out, ", %zu manifest %s", ne, plural(ne, "error", "errors"));
	fputs(".**\n", out);

	/* what moves, per function: the planner's lines (release names and versions) */
	for (size_t i = 0; i < n; i++) {
		const struct reconcile_result *r = &res[i];

		if (r->status < 0 || !r->n_planned)
			continue;
		fputs("\n#### ", out);
		put_function(out, r);
		fputs("\n\n```diff\n", out);
		for (size_t k = 0; k < r->n_planned; k++) {
			put_code(out, r->planned[k].text);
			fputc('\n', out);
		}
		fputs("```\n", out);
	}
	for (size_t i = 0; i < n; i++) {
		const struct reconcile_result *r = &res[i];
		char line[ERROR_MSG_MAX + ERROR_FILE_MAX + 64];

		if (r->status >= 0)
			continue;
		if (!shown++)
			fputs("\n#### Failed\n\n", out);
		fputs("- ", out);
		put_function(out, r);
		fputs(": `", out);
		put_code(out, error_format(&r->err, line, sizeof(line)));
		fputs("`\n", out);
	}
	if (ne) {
		fputs("\n#### Manifest errors\n\n", out);
		for (size_t i = 0; i < set->errors.len; i++) {
			char line[ERROR_MSG_MAX + ERROR_FILE_MAX + 64];

			fputs("- `", out);
			put_code(out, error_format(&set->errors.items[i], line, sizeof(line)));
			fputs("`\n", out);
		}
		if (set->errors.dropped)
			fprintf(out, "- ... and %zu more\n", set->errors.dropped);
	}
	shown = 0;
	for (size_t i = 0; i < n; i++) {
		const struct reconcile_result *r = &res[i];

		if (r->status < 0 || (apply ? r->changed : r->n_planned > 0))
			continue;
		fputs(shown++ ? ", " : "\nIn sync: ", out);
		put_function(out, r);
	}
	if (shown)
		fputs(".\n", out);
}
