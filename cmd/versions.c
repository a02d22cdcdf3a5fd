#include "cmd/cmd.h"

static const char usage[] =
	"aliasd versions FUNCTION [--json]\n"
	"\n"
	"List published versions, their releases and the aliases on them.\n";

int cmd_versions(int argc, char **argv)
{
	return cmd_not_built("versions", argc, argv, usage);
}
