#include "cmd/cmd.h"

static const char usage[] =
	"aliasd apply [--repo URL|DIR] [--ref REF] [--path SUBDIR] [--json]\n"
	"\n"
	"Reconcile once: make Lambda match the manifests.\n";

int cmd_apply(int argc, char **argv)
{
	return cmd_not_built("apply", argc, argv, usage);
}
