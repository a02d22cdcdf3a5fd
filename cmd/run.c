#include "cmd/cmd.h"

static const char usage[] =
	"aliasd run [-c FILE] [-n]\n"
	"\n"
	"Run the daemon (default config /etc/aliasd/aliasd.yaml).\n";

int cmd_run(int argc, char **argv)
{
	return cmd_not_built("run", argc, argv, usage);
}
