/* cmd_info_suite.c — placeholder; replaced by the real command. */
#include "harness/hrn.h"
#include <stdio.h>
int hrn_info_suite(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "merilo info: not built yet\n");
	return HRN_EXIT_RUNTIME;
}
