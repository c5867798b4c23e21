/* sort.h — comparators for qsort() that several modules need.
 */
#ifndef MRL_SORT_H
#define MRL_SORT_H

/* qsort comparator for doubles, ascending: (x > y) - (x < y). A NaN compares
 * equal to everything, so arrays with NaN get no defined order (callers that
 * may hold NaN filter it out first); -0.0 and 0.0 compare equal. */
int mrl_cmp_double(const void *a, const void *b);

#endif
