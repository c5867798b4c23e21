/* args.c — small parsers shared by the commands' option loops. */
#include "harness/hrn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int hrn_parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int hrn_parse_backend(const char *s, enum eng_backend *out)
{
	if (!strcmp(s, "cpu"))
		*out = ENG_BACKEND_CPU;
	else if (!strcmp(s, "cuda"))
		*out = ENG_BACKEND_CUDA;
	else
		return -1;
	return 0;
}
