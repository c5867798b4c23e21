/* args.c — small parsers shared by the commands' option loops.
 * Each takes the whole string (no trailing junk), returns 0 or -1 and leaves
 * *out alone on failure; the caller words the usage error. */
#include "harness/hrn.h"

#include <errno.h>
#include <math.h>
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

int hrn_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	/* strtoull quietly negates "-1" to ULLONG_MAX */
	if (!*s || *s == '-')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int hrn_parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || end == s || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int hrn_parse_fraction(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !isfinite(v))
		return -1;
	if (*end == '%' && !end[1])
		v /= 100;
	else if (*end)
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
