/* sort.c — see sort.h. */
#include "common/sort.h"

int mrl_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}
