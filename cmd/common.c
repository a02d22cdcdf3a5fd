#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cmd/cmd.h"

int cmd_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "aliasd%s%s: ", verb ? " " : "", verb ? verb : "");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try 'aliasd %s%s--help')\n", verb ? verb : "", verb ? " " : "");
	return EXIT_USAGE;
}

int cmd_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	}
	return 0;
}

int cmd_opt_value(int argc, char **argv, int *i, const char *name, const char **ret)
{
	size_t n = strlen(name);
	const char *a = argv[*i];

	if (!strncmp(a, name, n) && a[n] == '=') {
		*ret = a + n + 1;
		return 1;
	}
	if (strcmp(a, name))
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*ret = argv[++*i];
	return 1;
}
