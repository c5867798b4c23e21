/* sort.c — see sort.h. */
#include "common/sort.h"

#include <string.h>

int mrl_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int mrl_strcmp_natural(const char *a, const char *b)
{
	while (*a && *b) {
		if (*a >= '0' && *a <= '9' && *b >= '0' && *b <= '9') {
			const char *za = a, *zb = b;
			while (*za == '0')
				za++;
			while (*zb == '0')
				zb++;
			size_t la = 0, lb = 0;
			while (za[la] >= '0' && za[la] <= '9')
				la++;
			while (zb[lb] >= '0' && zb[lb] <= '9')
				lb++;
			if (la != lb)
				return la < lb ? -1 : 1;
			const int c = strncmp(za, zb, la);
			if (c)
				return c;
			const size_t ra = (size_t)(za - a) + la, rb = (size_t)(zb - b) + lb;
			if (ra != rb)
				return ra < rb ? -1 : 1;
			a += ra, b += rb;
			continue;
		}
		if (*a != *b)
			return (unsigned char)*a < (unsigned char)*b ? -1 : 1;
		a++, b++;
	}
	return *a ? 1 : *b ? -1 : 0;
}

int mrl_cmp_str_ptr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}
