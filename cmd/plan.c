#include "cmd/cmd.h"

static const char usage[] =
	"aliasd plan [--repo URL|DIR] [--ref REF] [--path SUBDIR] [--json]\n"
	"\n"
	"Show what apply would change; exit 0 in sync, 2 changes pending, 1 errors.\n";

int cmd_plan(int argc, char **argv)
{
	return cmd_not_built("plan", argc, argv, usage);
}
