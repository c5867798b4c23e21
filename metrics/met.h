/* met.h — merilo's measurement module: clocks, a seeded PRNG and the statistics
 * that turn per-item results into claims (summaries, bootstrap CIs, paired tests).
 *
 * The idea: everything a report says about "A is better/faster than B" comes from
 * here, with the method, its parameters and its seed explicit in the call, so that
 * a number in a report can be recomputed. The methods and why they were chosen are
 * written up in docs/statistics.md.
 *
 * Conventions for the whole module:
 *  - No process-global state. Randomness comes from a caller-owned struct met_rng
 *    or from a seed passed in the options.
 *  - Input arrays are never modified or reordered; where a function needs a sorted
 *    copy it allocates and frees one itself.
 *  - Functions that can fail return 0 or a negative MRL_E* code and fill the
 *    caller's struct mrl_err (may be NULL) with a one-line message naming the
 *    function and the offending argument or index. NaN or infinite inputs are
 *    MRL_EINPUT.
 *  - "Paired" functions take two aligned arrays a[i], b[i] (same item i under
 *    condition A and condition B). Differences are always A minus B.
 */
#ifndef MRL_MET_H
#define MRL_MET_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* ======================================================================
 * Clocks (metrics/clock.c)
 * ====================================================================== */

/* Nanoseconds on CLOCK_MONOTONIC_RAW (not slewed by NTP; origin arbitrary,
 * only differences mean anything). Returns 0 if the clock cannot be read,
 * which does not happen on Linux. */
uint64_t met_now_ns(void);

/* Resolution of CLOCK_MONOTONIC_RAW in nanoseconds (0 if unknown). */
uint64_t met_clock_resolution_ns(void);

/* The phases of one evaluation item that the run loop times separately.
 * Tokenisation is its own phase so that it is never counted inside decode. */
enum met_phase {
	MET_PHASE_TOKENIZE = 0,
	MET_PHASE_PREFILL,
	MET_PHASE_DECODE,
	MET_PHASE_SAMPLING,
	MET_PHASE_SCORING,
	MET_PHASE_COUNT
};

/* Short lower-case name of a phase ("tokenize", "prefill", ...), a static
 * string; "unknown" for an out-of-range value. */
const char *met_phase_name(enum met_phase phase);

/* Per-phase accumulator of wall time. A plain value: the caller owns it (one per
 * run or per thread; no locking). Start/stop of a phase costs two clock reads;
 * the measured overhead of a pair is in docs/statistics.md.
 * A phase may be started while another runs (e.g. sampling inside decode), but
 * one phase cannot be nested in itself: a second start of a running phase
 * restarts it (the first interval is dropped) and is counted in n_misuse. */
struct met_phase_timer {
	uint64_t total_ns[MET_PHASE_COUNT]; /* accumulated time, ns */
	uint64_t n_intervals[MET_PHASE_COUNT]; /* completed start/stop pairs */
	uint64_t started_ns[MET_PHASE_COUNT]; /* start stamp of a running phase */
	uint32_t running; /* bit p set while phase p runs */
	uint32_t n_misuse; /* start of a running phase, or stop of a stopped one */
};

/* Zero all totals and counts. */
void met_phase_timer_init(struct met_phase_timer *t);

/* Start timing a phase (reads the clock once). Out-of-range phases are ignored
 * and counted in n_misuse. */
void met_phase_start(struct met_phase_timer *t, enum met_phase phase);

/* Stop timing a phase and add the interval to its total (reads the clock once).
 * A stop without a start adds nothing and is counted in n_misuse. */
void met_phase_stop(struct met_phase_timer *t, enum met_phase phase);

/* Add an interval measured elsewhere (e.g. CUDA events) to a phase, in ns. */
void met_phase_add_ns(struct met_phase_timer *t, enum met_phase phase, uint64_t ns);

/* Accumulated seconds of a phase (running intervals not included). */
double met_phase_seconds(const struct met_phase_timer *t, enum met_phase phase);

/* Add src's totals, counts and misuse count into dst (src unchanged). */
void met_phase_timer_merge(struct met_phase_timer *dst, const struct met_phase_timer *src);

/* ======================================================================
 * Seeded, splittable PRNG (metrics/rng.c): xoshiro256** seeded by splitmix64
 * ====================================================================== */

/* Generator state; a plain value owned by the caller. Copying it forks the
 * stream (both copies then yield the same numbers). */
struct met_rng {
	uint64_t s[4];
};

/* Seed from a 64-bit seed: the four state words are the first four outputs of
 * splitmix64 started at `seed` (Vigna's recommended seeding; never all-zero). */
void met_rng_seed(struct met_rng *rng, uint64_t seed);

/* Seed stream number `stream` of `seed`: a generator for, e.g., item `stream` of a
 * run, reproducible whatever order the items are processed in. Equivalent to
 * met_rng_seed(rng, seed ^ splitmix64_mix(stream + 1)); different streams of one seed
 * are statistically independent for all practical purposes. */
void met_rng_seed_stream(struct met_rng *rng, uint64_t seed, uint64_t stream);

/* Split: draw one word from parent (advancing it) and seed child from it. */
void met_rng_split(struct met_rng *parent, struct met_rng *child);

/* Advance by 2^128 steps (Vigna's jump): gives non-overlapping sub-streams. */
void met_rng_jump(struct met_rng *rng);

/* Next 64 random bits. */
uint64_t met_rng_next(struct met_rng *rng);

/* Uniform double in [0, 1) with 53 random bits. */
double met_rng_uniform(struct met_rng *rng);

/* Uniform integer in [0, bound), unbiased (Lemire's multiply-and-reject);
 * returns 0 when bound is 0. */
uint64_t met_rng_below(struct met_rng *rng, uint64_t bound);

/* ======================================================================
 * Statistics (metrics/stats.c)
 * ====================================================================== */

/* Summary of a sample. sd is the sample standard deviation (divisor n-1) and
 * se = sd / sqrt(n); both are NaN when n == 1. Percentiles use linear
 * interpolation between order statistics (numpy.percentile's default "linear"):
 * with x sorted ascending and h = (n-1) * q/100, the q-th percentile is
 * x[floor(h)] + (h - floor(h)) * (x[floor(h)+1] - x[floor(h)]). median == p50. */
struct met_summary {
	size_t n;
	double mean, sd, se;
	double median, min, max;
	double p50, p90, p99;
};

/* Summarise x[0..n). x is not modified. Errors: n == 0 or a NaN in x (MRL_EINPUT),
 * out of memory for the sorted copy (MRL_ENOMEM). */
int met_summary_compute(const double *x, size_t n, struct met_summary *out,
			struct mrl_err *err);

/* q-th percentile (0 <= q <= 100, linear interpolation as above) of an array that
 * the caller has already sorted ascending. n must be > 0 (returns NaN otherwise,
 * and for q outside [0, 100]). */
double met_percentile_sorted(const double *sorted, size_t n, double q);

/* Bootstrap options. Fill with met_boot_opts_init() and override fields. The seed
 * is part of the result: record it next to any CI you report. */
#define MET_BOOT_DEFAULT_RESAMPLES 10000
#define MET_BOOT_DEFAULT_LEVEL 0.95
#define MET_BOOT_DEFAULT_SEED 0x6d6572696c6fULL /* "merilo" */
struct met_boot_opts {
	uint64_t seed;      /* PRNG seed (met_rng_seed) */
	size_t n_resamples; /* B >= 1; default 10,000 */
	double level;       /* confidence level in (0, 1); default 0.95 */
};

/* Defaults: seed MET_BOOT_DEFAULT_SEED, B = 10,000, level 0.95. */
void met_boot_opts_init(struct met_boot_opts *opts);

/* A confidence interval: estimate is the statistic on the original sample, [lo, hi]
 * the percentile-method interval at `level`, built from n_resamples resamples with
 * `seed` (copied from the options so that a result carries its provenance). */
struct met_ci {
	double estimate, lo, hi;
	double level;
	size_t n_resamples;
	uint64_t seed;
};

/* Percentile-bootstrap CI of the mean of x[0..n): B resamples of n items drawn
 * with replacement; lo/hi are the (1-level)/2 and (1+level)/2 percentiles of the B
 * resample means (linear interpolation). opts NULL means defaults. Same seed, same
 * data -> bit-identical CI. x is not modified. Errors: n == 0, NaN, bad B or level
 * (MRL_EINPUT); MRL_ENOMEM. */
int met_boot_mean_ci(const double *x, size_t n, const struct met_boot_opts *opts,
		     struct met_ci *out, struct mrl_err *err);

/* Paired percentile-bootstrap CI of mean(a) - mean(b) for aligned a[i], b[i]: each
 * resample draws n item indices with replacement and uses the same indices in both
 * arrays (so the within-item correlation is kept). Equal to met_boot_mean_ci on the
 * differences a[i] - b[i]. Errors as met_boot_mean_ci. */
int met_boot_paired_diff_ci(const double *a, const double *b, size_t n,
			    const struct met_boot_opts *opts, struct met_ci *out,
			    struct mrl_err *err);

/* Exact McNemar test for paired binary outcomes (item right/wrong under A and B).
 * Discordant pairs: b = items right under A only, c = items right under B only.
 * Two-sided exact binomial p = min(1, 2 * P[X <= min(b, c)]), X ~ Bin(b + c, 1/2);
 * p = 1 when b + c == 0. Computed stably for any b + c: the largest term P[X = min]
 * by Loader's saddle-point formula (as R's dbinom), the tail by the ratio
 * recurrence relative to it. Relative error < 1e-12 against scipy's binomtest
 * from b + c = 1 up to 4e9 (tests/met_stats.c). */
double met_mcnemar_exact_p(uint64_t b, uint64_t c);

/* The 2x2 table of two aligned 0/1 outcome arrays (1 = right, 0 = wrong) and its
 * exact McNemar p-value. Note acc_A - acc_B = (only_a - only_b) / n. */
struct met_mcnemar {
	size_t n;
	size_t both_right;
	size_t only_a; /* "b": right under A, wrong under B */
	size_t only_b; /* "c": wrong under A, right under B */
	size_t both_wrong;
	double p;      /* met_mcnemar_exact_p(only_a, only_b) */
};

/* Count the table of a[0..n), b[0..n) and compute p. A value other than 0 or 1 is
 * MRL_EINPUT (naming the array and index); n == 0 gives an all-zero table, p = 1. */
int met_mcnemar_count(const int *a, const int *b, size_t n, struct met_mcnemar *out,
		      struct mrl_err *err);

/* Unpaired two-proportion z-test (pooled variance, no continuity correction,
 * two-sided normal p): k1 of n1 vs k2 of n2. For comparison with the paired test
 * only: it ignores that the items are the same, and is the wrong test for paired
 * data (see docs/statistics.md). *z gets (p1 - p2) / se. Errors: n1 or n2 zero,
 * k > n (MRL_EINPUT). When all or none are right, z = 0 and p = 1. */
int met_two_prop_z(uint64_t k1, uint64_t n1, uint64_t k2, uint64_t n2, double *z,
		   double *p, struct mrl_err *err);

/* Holm–Bonferroni step-down adjustment of p[0..n) into adj[0..n) (same order as
 * p; adj may equal p). adj_(i) = min(1, max_{j<=i} (n - j + 1) * p_(j)) with p_(1) <=
 * ... <= p_(n); reject H_i at family-wise level alpha iff adj[i] <= alpha. Errors:
 * p outside [0, 1] or NaN (MRL_EINPUT), MRL_ENOMEM. n == 0 is a no-op. */
int met_holm(const double *p, size_t n, double *adj, struct mrl_err *err);

/* Wilcoxon signed-rank test of "the differences are symmetric about 0", two-sided.
 * Zero differences are dropped (Wilcoxon's method); the remaining |d| are ranked
 * with average ranks for ties. Rule: exact null distribution when n_used <= 50 and
 * no |d| ties; otherwise the normal approximation with tie correction of the
 * variance and a continuity correction of 0.5. With n_used == 0, p = 1. */
#define MET_WILCOXON_EXACT_MAX_N 50
struct met_wilcoxon {
	size_t n_used;   /* nonzero differences */
	size_t n_zero;   /* zero differences dropped */
	double w_plus;   /* sum of ranks of positive differences */
	double w_minus;  /* sum of ranks of negative differences */
	double statistic; /* min(w_plus, w_minus), as scipy.stats.wilcoxon reports */
	double z;        /* normal-approximation z (continuity-corrected), NaN if exact;
			  * signed: > 0 when W+ exceeds its null mean (A larger).
			  * scipy reports -|z| instead. */
	double p;        /* two-sided p-value */
	int exact;       /* 1 if p comes from the exact distribution */
};

/* Signed-rank test on differences d[0..n) (d is not modified). Errors: NaN or
 * infinite d (MRL_EINPUT), MRL_ENOMEM. */
int met_wilcoxon_signed_rank(const double *d, size_t n, struct met_wilcoxon *out,
			     struct mrl_err *err);

/* Signed-rank test on paired samples: d[i] = a[i] - b[i]. */
int met_wilcoxon_paired(const double *a, const double *b, size_t n,
			struct met_wilcoxon *out, struct mrl_err *err);

/* Median of log(a[i] / b[i]) (natural log), e.g. a = candidate times, b = baseline
 * times: exp(*median) is the typical ratio, > 0 means A is larger. All values must
 * be finite and > 0 (MRL_EINPUT otherwise), n > 0. If log_ratios is not NULL it
 * receives the n log-ratios in item order (caller-owned, n doubles) — feed them to
 * met_wilcoxon_signed_rank for the matching test. */
int met_median_log_ratio(const double *a, const double *b, size_t n, double *median,
			 double *log_ratios, struct mrl_err *err);

#endif
