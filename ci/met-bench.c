/* met-bench.c — the speed of what metrics itself costs: the bootstrap that every
 * `merilo run` aggregate and `merilo compare` pays (met_boot_mean_ci and
 * met_boot_paired_diff_ci, default 10,000 resamples on 500 items) and a start/stop
 * pair of the phase timer around every timed step (over 10^6 pairs). Best of REPS
 * (the machine is shared: the best is the one least disturbed). Figures for
 * `make bench`, never tests: a test must not time anything (it fails on a loaded
 * machine). docs/statistics.md quotes them.
 *
 * Built and run by ci/bench.sh against $BUILD/libmetrics.a; prints one markdown
 * table on stdout. Usage: met-bench [REPS] (default 5). */
#include "metrics/met.h"

#include <stdio.h>
#include <stdlib.h>

enum { N_ITEMS = 500, N_PAIRS = 1000000 };

int main(int argc, char **argv)
{
	const int reps = argc > 1 && atoi(argv[1]) > 0 ? atoi(argv[1]) : 5;
	static double a[N_ITEMS], b[N_ITEMS];
	struct mrl_rng rng;
	mrl_rng_seed(&rng, 2024);
	for (int i = 0; i < N_ITEMS; i++) { /* right (1) or wrong (0) per item under A and B */
		a[i] = mrl_rng_uniform(&rng) < 0.8;
		b[i] = mrl_rng_uniform(&rng) < 0.7;
	}
	struct met_boot_opts opts;
	met_boot_opts_init(&opts);
	struct mrl_err err = { 0 };
	struct met_ci ci;
	double best[3] = { 0, 0, 0 }; /* ms, ms, ns per pair */
	for (int r = 0; r < reps; r++) {
		for (int k = 0; k < 2; k++) {
			const uint64_t t0 = met_now_ns();
			const int rc = k == 0 ? met_boot_mean_ci(a, N_ITEMS, &opts, &ci, &err) :
						met_boot_paired_diff_ci(a, b, N_ITEMS, &opts, &ci, &err);
			const double ms = (double)(met_now_ns() - t0) / 1e6;
			if (rc) {
				fprintf(stderr, "met-bench: %s\n", err.msg);
				return 1;
			}
			if (r == 0 || ms < best[k])
				best[k] = ms;
		}
		struct met_phase_timer t;
		met_phase_timer_init(&t);
		const uint64_t t0 = met_now_ns();
		for (int i = 0; i < N_PAIRS; i++) {
			met_phase_start(&t, MET_PHASE_TOKENIZE);
			met_phase_stop(&t, MET_PHASE_TOKENIZE);
		}
		const double pair_ns = (double)(met_now_ns() - t0) / N_PAIRS;
		if (r == 0 || pair_ns < best[2])
			best[2] = pair_ns;
	}
	printf("| metrics cost | best |\n|---|---|\n");
	printf("| bootstrap mean CI, %zu resamples x %d items | %.2f ms |\n", opts.n_resamples, N_ITEMS, best[0]);
	printf("| paired bootstrap CI of a difference, %zu x %d | %.2f ms |\n", opts.n_resamples, N_ITEMS, best[1]);
	printf("| phase timer start/stop pair (wall) | %.1f ns |\n", best[2]);
	printf("\n(best of %d each; one thread)\n", reps);
	return 0;
}
