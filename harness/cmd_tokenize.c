/* cmd_tokenize.c — placeholder until its issue lands; replaced by the real command. */
#include "harness/hrn.h"
#include <stdio.h>
int hrn_cmd_tokenize(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "merilo tokenize: not built yet\n");
	return HRN_EXIT_RUNTIME;
}
