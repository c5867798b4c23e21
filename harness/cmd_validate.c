/* cmd_validate.c — placeholder until its issue lands; replaced by the real command. */
#include "harness/hrn.h"
#include <stdio.h>
int hrn_cmd_validate(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "merilo validate: not built yet\n");
	return HRN_EXIT_RUNTIME;
}
