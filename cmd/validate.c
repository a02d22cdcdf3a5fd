#include "cmd/cmd.h"

static const char usage[] =
	"aliasd validate [DIR | --repo URL [--ref REF]] [--path SUBDIR]\n"
	"\n"
	"Lint manifests offline: every error as path:line:col: message, exit 1 if any.\n";

int cmd_validate(int argc, char **argv)
{
	return cmd_not_built("validate", argc, argv, usage);
}
