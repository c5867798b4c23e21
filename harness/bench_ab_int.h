/* bench_ab_int.h — what bench_ab.c (the gate's measurements) uses from
 * bench_ab_stats.c (its arithmetic). Internal to the harness.
 */
#ifndef MRL_BENCH_AB_INT_H
#define MRL_BENCH_AB_INT_H

#include <stddef.h>
#include <stdint.h>

#include "harness/bench.h"

/* The median of x[0..n) (n > 0), sorted in scratch (n doubles, the caller's). */
double hrn_ab_median(double *scratch, const double *x, size_t n);
/* d's result of test at threads, or NULL. */
const struct hrn_bench_result *hrn_ab_find_result(const struct hrn_bench_doc *d, const char *test, int64_t threads);

#endif
