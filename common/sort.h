/* sort.h — comparators for qsort() that several modules need.
 */
#ifndef MRL_SORT_H
#define MRL_SORT_H

/* qsort comparator for doubles, ascending: (x > y) - (x < y). A NaN compares
 * equal to everything, so arrays with NaN get no defined order (callers that
 * may hold NaN filter it out first); -0.0 and 0.0 compare equal. */
int mrl_cmp_double(const void *a, const void *b);

/* qsort comparator for an array of strings (const char *), in byte order (strcmp). */
int mrl_cmp_str_ptr(const void *a, const void *b);

/* strcmp with runs of digits compared as numbers ("it-16" < "it-102"; leading
 * zeros: the shorter run first when the values are equal), the order people expect
 * of item ids; otherwise byte order. */
int mrl_strcmp_natural(const char *a, const char *b);

#endif
