#include "cmd/cmd.h"

static const char usage[] =
	"aliasd status [--json]\n"
	"\n"
	"Show what the running daemon reports.\n";

int cmd_status(int argc, char **argv)
{
	return cmd_not_built("status", argc, argv, usage);
}
