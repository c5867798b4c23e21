/* cmd_info_model.c — placeholder; replaced by the real command. */
#include "harness/hrn.h"
#include <stdio.h>
int hrn_info_model(int argc, char **argv)
{
	(void)argc; (void)argv;
	fprintf(stderr, "merilo info: not built yet\n");
	return HRN_EXIT_RUNTIME;
}
