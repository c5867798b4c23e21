/* met.h — merilo's measurement module: clocks, a seeded PRNG and the statistics
 * that turn per-item results into claims (summaries, bootstrap CIs, paired tests).
 *
 * The idea: everything a report says about "A is better/faster than B" comes from
 * here, with the method, its parameters and its seed explicit in the call, so that
 * a number in a report can be recomputed. The methods and why they were chosen are
 * written up in docs/statistics.md.
 *
 * Conventions for the whole module:
 *  - No process-global state. Randomness comes from a caller-owned struct mrl_rng
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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/rng.h"

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

/* The seeded, splittable PRNG (struct mrl_rng) is common/rng.h: the engine's
 * sampling uses the same generator. */

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
	uint64_t seed;      /* PRNG seed (mrl_rng_seed) */
	size_t n_resamples; /* B >= 1; default 10,000 */
	double level;       /* confidence level in (0, 1); default 0.95 */
	/* May be NULL (the default): told of progress, n_done more resamples done,
	 * about every MET_BOOT_PROGRESS_DRAWS draws (a resample of n items is n
	 * draws) and once at the end, so that the calls add up to B. A caller with
	 * a progress line to draw (a big `merilo score`) passes one. */
	void (*progress)(void *arg, size_t n_done);
	void *progress_arg;
};
#define MET_BOOT_PROGRESS_DRAWS ((size_t)1 << 20)

/* Defaults: seed MET_BOOT_DEFAULT_SEED, B = 10,000, level 0.95, no progress. */
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

/* Wilson score interval of a proportion, k successes of n trials, at `level` in
 * (0, 1): the interval of p whose normal-approximation score test does not reject
 * at 1 - level (Wilson 1927; z is the standard normal quantile). Unlike a bootstrap
 * it has width at k == 0 and k == n (10/10 at 0.95: [0.7225, 1]), where every
 * resample repeats the sample. out->estimate = k/n; n_resamples and seed are 0.
 * Errors: n == 0, k > n, level outside (0, 1) (MRL_EINPUT). */
int met_wilson_ci(uint64_t k, uint64_t n, double level, struct met_ci *out, struct mrl_err *err);

/* The 0/1 sample whose percentile-bootstrap CI has no width (every x[i] 0, or every
 * one 1): 1 and its count of ones in *k; else 0. */
int met_all_same_binary(const double *x, size_t n, uint64_t *k);

/* The CI the aggregates report for a mean over items: met_boot_mean_ci, except for
 * the items of a right/wrong metric (binary: its values can only be 0 or 1; f1 or
 * rouge_l are not, even where all are 0) that are all 0 or all 1
 * (met_all_same_binary), where every resample repeats the sample and the bootstrap's
 * interval has no width: there the Wilson score interval at opts->level (the
 * progress callback is still told of B resamples). *method is
 * "bootstrap-percentile" or "wilson-score" (a static string, for results.json).
 * Errors as met_boot_mean_ci, on both paths. docs/statistics.md. */
int met_mean_ci(const double *x, size_t n, bool binary, const struct met_boot_opts *opts, struct met_ci *out,
		const char **method, struct mrl_err *err);

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

/* ======================================================================
 * Measurement sources (owner: "measure"): readings that may be null,
 * PAPI counters (metrics/counters.c), energy meters (metrics/energy.c),
 * peak RSS and process usage (metrics/rss.c), a GPU phase-time hook.
 * Definitions, units and sources of every figure: docs/measurement.md.
 * ====================================================================== */

/* A figure that is either a measured value or null with the reason why.
 * Never 0 for "not read": a consumer prints/serialises `value` only when
 * `valid`, otherwise null plus `reason`. A plain value owned by the caller. */
#define MET_REASON_MAX 1024 /* room for every reason merilo composes (a few sources' paths and errors) */
struct met_reading {
	bool valid;        /* true: value was measured */
	double value;      /* in `unit`; NaN when !valid */
	const char *unit;  /* static string: "J", "W", "s", "ns", "bytes", "count", ... */
	char reason[MET_REASON_MAX]; /* why null; "" when valid */
};

/* Make r a valid reading of `value` in `unit` (a static string). */
void met_reading_set(struct met_reading *r, double value, const char *unit);

/* Make r null in `unit` with a printf-style reason (truncated to MET_REASON_MAX). */
void met_reading_null(struct met_reading *r, const char *unit, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* The first clause of a reason, for a table that names it once and points to
 * the record for the rest: the text before the first " (", ": " or "; ", at
 * most size - 1 bytes (cut at a UTF-8 boundary). "no energy source on this
 * machine (powercap-sysfs: ...)" -> "no energy source on this machine". */
void met_reason_short(const char *reason, char *out, size_t size);

/* dst += src: valid + valid is valid; a null on either side makes dst null
 * (keeping the first reason). Units must match (else dst becomes null). */
void met_reading_add(struct met_reading *dst, const struct met_reading *src);

/* ---------------- PAPI counters (metrics/counters.c) ----------------
 * libpapi is loaded with dlopen at run time: a binary built with PAPI starts
 * and works where the library is missing; every counter is then null with
 * "libpapi not found: <dlerror>". Library search: opts->lib_path, else
 * $MERILO_PAPI_LIB, else "libpapi.so.7.0" (Debian), "libpapi.so.7", ...,
 * "libpapi.so". Events are added one
 * at a time; an event the machine lacks is null with PAPI's own reason
 * (PAPI_strerror), the others still count.
 *
 * Scope: an event set counts the thread that opened it. With opts->inherit
 * (PAPI_INHERIT) it also counts threads/children created by that thread AFTER
 * met_counters_open — so open the set before creating the engine context
 * (its thread pool is created with the context). Without inherit, run one set
 * per thread (each thread opens its own handle) and sum the values with
 * met_counter_values_add. A handle must be used only by the thread that
 * opened it. */

#define MET_COUNTERS_MAX 16
#define MET_COUNTER_NAME_MAX 64

/* Default event list when opts->events is NULL: hardware events first
 * (PAPI_TOT_CYC, PAPI_TOT_INS, PAPI_L1_DCM, PAPI_L3_TCM), then perf software
 * events (perf::TASK-CLOCK, perf::CONTEXT-SWITCHES, perf::PAGE-FAULTS,
 * perf::CPU-MIGRATIONS). */
struct met_counter_opts {
	const char *lib_path;       /* NULL: $MERILO_PAPI_LIB, then the default names */
	const char *const *events;  /* NULL-terminated PAPI event names; NULL: defaults */
	bool inherit;               /* PAPI_INHERIT: also count threads created later */
};

/* Zero the options (defaults everywhere, inherit off). */
void met_counter_opts_init(struct met_counter_opts *opts);

/* One counter: its PAPI event name and the reading (unit from a small table:
 * "cycles", "instructions", "misses", "ns" for TASK-CLOCK, else "count"). */
struct met_counter_value {
	char name[MET_COUNTER_NAME_MAX];
	struct met_reading r;
};

/* The values of one set (or the sum of several), in event-list order.
 * status: "papi <version> from <path>; inherit on|off" or why PAPI is unusable. */
struct met_counter_values {
	size_t n;
	struct met_counter_value v[MET_COUNTERS_MAX];
	char status[MET_REASON_MAX];
};

struct met_counters; /* opaque handle, one per thread */

/* Load PAPI (if not yet), initialise it with thread support, create an event
 * set on the calling thread and add the events one by one. PAPI being absent
 * or unusable is NOT an error: returns 0 and the counters read as null with
 * the reason. Errors: more than MET_COUNTERS_MAX events or a name too long
 * (MRL_EINPUT), MRL_ENOMEM. *out is owned by the caller: met_counters_close. */
int met_counters_open(struct met_counters **out, const struct met_counter_opts *opts,
		      struct mrl_err *err);

/* Start counting (zeroes nothing: counts accumulate over start/stop pairs).
 * A PAPI failure here makes the counters null with the reason; returns 0.
 * Starting a running set is MRL_ERUNTIME. */
int met_counters_start(struct met_counters *c, struct mrl_err *err);

/* Stop counting and add the counts since start to the accumulated totals.
 * Stopping a stopped set is MRL_ERUNTIME. */
int met_counters_stop(struct met_counters *c, struct mrl_err *err);

/* Zero the accumulated totals (events and their null reasons are kept). */
void met_counters_reset(struct met_counters *c);

/* Copy the accumulated totals into *out (caller-owned). Counters that were
 * never started read as null ("not started"). */
void met_counters_read(const struct met_counters *c, struct met_counter_values *out);

/* How many events were requested and how many are counting (not null). */
size_t met_counters_n_events(const struct met_counters *c);
size_t met_counters_n_available(const struct met_counters *c);

/* Stop if running, clean up and destroy the event set, free c (NULL is fine).
 * Must be called on the thread that opened c. libpapi stays loaded. */
void met_counters_close(struct met_counters *c);

/* dst += src per event name (per-thread sets summed); an event only in src is
 * appended. A null on either side makes the sum null with the reason. */
void met_counter_values_add(struct met_counter_values *dst, const struct met_counter_values *src);

/* ---------------- Energy (metrics/energy.c) ----------------
 * Several sources behind one meter, each with a scope and a method:
 *   method "powercap-sysfs": RAPL zones under /sys/class/powercap
 *     (intel-rapl:*, amd-rapl style names), energy_uj in µJ, wraparound at
 *     max_energy_range_uj (one wrap per read interval is corrected; call
 *     met_energy_poll at least every few minutes on long windows);
 *   method "perf-power-pmu": the perf `power` PMU (energy-pkg, energy-ram,
 *     energy-psys ...) via perf_event_open, scaled by the event's .scale;
 *   method "nvml": nvmlDeviceGetTotalEnergyConsumption (mJ) per GPU,
 *     libnvidia-ml.so.1 loaded with dlopen. NVML updates its counter every
 *     ~20–100 ms: windows shorter than MET_ENERGY_NVML_MIN_WINDOW_S give null.
 * Scopes: "cpu-package", "cpu-cores", "uncore" (RAPL PP1: integrated GPU),
 * "dram", "platform" (psys), "gpu-board", "unknown" (static strings). Package
 * includes cores and uncore: never add scopes of one socket together. A source that cannot be used is listed among
 * the unavailable ones with its reason (e.g. "libnvidia-ml not found: ...",
 * "/sys/class/powercap: No such file or directory", "... Permission denied"). */

#define MET_ENERGY_MAX_SOURCES 32
#define MET_ENERGY_NVML_MIN_WINDOW_S 1.0
#define MET_ENERGY_RAPL_MIN_WINDOW_S 0.01

/* Which methods to try (bit mask; 0 means all). */
enum {
	MET_ENERGY_POWERCAP = 1u << 0,
	MET_ENERGY_PERF_POWER = 1u << 1,
	MET_ENERGY_NVML = 1u << 2,
};

struct met_energy_opts {
	unsigned methods;             /* MET_ENERGY_* mask; 0 = all */
	const char *powercap_root;    /* NULL: $MERILO_POWERCAP_ROOT, else /sys/class/powercap */
	const char *perf_power_root;  /* NULL: $MERILO_PERF_POWER_ROOT, else
				       * /sys/bus/event_source/devices/power */
	const char *nvml_lib;         /* NULL: $MERILO_NVML_LIB, else libnvidia-ml.so.1 */
};

/* Zero the options (all methods, default paths). */
void met_energy_opts_init(struct met_energy_opts *opts);

/* One energy source, or one method/zone that could not be used. */
struct met_energy_source {
	char name[64];        /* "package-0", "dram", "energy-psys", "gpu0 NVIDIA H100 ..." */
	const char *scope;    /* static: see above */
	const char *method;   /* static: "powercap-sysfs", "perf-power-pmu", "nvml" */
	char where[256];      /* sysfs path, PMU event, or NVML device index */
	char reason[MET_REASON_MAX]; /* unavailable ones only: why */
};

/* Energy of one source over the last start..stop window.
 * gross: joules counted by the source. idle_power: watts from
 * met_energy_measure_idle (null if not measured). net = gross - idle_power * seconds
 * (null if idle not measured or gross null). seconds: CLOCK_MONOTONIC_RAW
 * length of the window. */
struct met_energy_result {
	struct met_reading gross_j;
	struct met_reading net_j;
	struct met_reading idle_w;
	double seconds;
};

struct met_energy_meter; /* opaque */

/* Discover and open every available source. Absent sources are not an error
 * (see met_energy_n_unavailable / met_energy_unavailable_at); returns 0 with zero sources if none exists.
 * Errors: MRL_ENOMEM. *out is owned by the caller: met_energy_close. */
int met_energy_open(struct met_energy_meter **out, const struct met_energy_opts *opts,
		    struct mrl_err *err);

/* Usable sources, and the methods/zones that were not usable (with reasons). */
size_t met_energy_n_sources(const struct met_energy_meter *m);
const struct met_energy_source *met_energy_source_at(const struct met_energy_meter *m, size_t i);
size_t met_energy_n_unavailable(const struct met_energy_meter *m);
const struct met_energy_source *met_energy_unavailable_at(const struct met_energy_meter *m,
							  size_t i);

/* Begin a window: read every source once. A source whose read fails gets a
 * null result with the reason; the others go on. Returns 0. */
int met_energy_start(struct met_energy_meter *m, struct mrl_err *err);

/* Read every source and add the delta (wraparound corrected) to the window;
 * call every few minutes in long windows so that no counter wraps twice. */
int met_energy_poll(struct met_energy_meter *m, struct mrl_err *err);

/* End the window (a final poll). Stop without start is MRL_ERUNTIME. */
int met_energy_stop(struct met_energy_meter *m, struct mrl_err *err);

/* Result of source i for the last window (caller-owned *out). Windows shorter
 * than the method's minimum are null with the reason. */
void met_energy_result(const struct met_energy_meter *m, size_t i, struct met_energy_result *out);

/* Measure idle power: sleep `seconds` (>= 1; the caller keeps the machine
 * quiet) inside a window and store watts per source for the net figures of
 * later windows. Overwrites the current window. Errors: seconds < 1 or not
 * finite (MRL_EINPUT). */
int met_energy_measure_idle(struct met_energy_meter *m, double seconds, struct mrl_err *err);

/* Close sources (fds, NVML) and free m (NULL is fine). */
void met_energy_close(struct met_energy_meter *m);

/* ---------------- Memory and process usage (metrics/rss.c) ---------------- */

/* Peak resident set size of this process, in bytes, from two sources:
 * vmhwm: VmHWM of /proc/self/status ("kB" * 1024; resettable, see below);
 * ru_maxrss: getrusage(RUSAGE_SELF).ru_maxrss * 1024 (Linux reports KiB; it
 *   includes the mm's high-water mark, so met_rss_reset_peak lowers it too).
 * current: VmRSS of /proc/self/status. */
struct met_rss {
	struct met_reading vmhwm;
	struct met_reading ru_maxrss;
	struct met_reading current;
};

/* Fill *out (each field valid or null with the reason). */
void met_rss_read(struct met_rss *out);

/* Same, reading `status_path` instead of /proc/self/status (for tests). */
void met_rss_read_from(struct met_rss *out, const char *status_path);

/* Reset VmHWM to the current RSS by writing "5" to /proc/self/clear_refs
 * (Linux >= 4.0), so that a later met_rss_read gives the peak of one phase. Errors: MRL_EIO with the reason. */
int met_rss_reset_peak(struct mrl_err *err);

/* Process-wide usage from getrusage(RUSAGE_SELF): all threads, no PAPI needed.
 * The software-event fallback: CPU seconds, faults and context switches. */
struct met_usage {
	struct met_reading user_s, sys_s;     /* CPU time, s */
	struct met_reading minflt, majflt;    /* page faults, count */
	struct met_reading vcsw, ivcsw;       /* voluntary / involuntary context switches */
};

/* Snapshot now (cumulative since process start). */
void met_usage_read(struct met_usage *out);

/* out = end - start, field by field (null stays null). */
void met_usage_diff(const struct met_usage *end, const struct met_usage *start,
		    struct met_usage *out);

/* ---------------- GPU phase time hook (implemented by the GPU backend) -----
 * Not implemented here. A backend that can time work on the device (CUDA
 * events) fills this table; the run loop calls mark() around a phase and,
 * after the device is synchronised, elapsed_ns() and adds the result with
 * met_phase_add_ns(). No metrics code calls it yet. */
struct met_gpu_timer {
	void *ctx;  /* backend-owned */
	/* Record a mark in the device stream; returns a mark id >= 0 or < 0 on error. */
	int (*mark)(void *ctx);
	/* Device time between two marks, in ns, after synchronising; 0 or MRL_E*. */
	int (*elapsed_ns)(void *ctx, int start_mark, int end_mark, uint64_t *ns);
};

/* ======================================================================
 * Host roofline (metrics/roofline.c; owner: "bench"): this machine's
 * memory read bandwidth and peak FLOP rate, the ceilings against which
 * `merilo bench` states decode bandwidth and prefill FLOP utilisation.
 * Definitions: docs/measurement.md, "Roofline utilisation".
 * ====================================================================== */

#define MET_ROOFLINE_MAX_RUNS 32

/* The start of the kernel string of a vector machine's bandwidth (a roofline cache
 * measured another way does not start so, and is measured again). */
#define MET_ROOFLINE_BW_METHOD "avx2 256-bit loads, the faster of two patterns"

/* Memory read bandwidth: n_threads threads each read (sum) their contiguous slice
 * of one buffer of buffer_bytes (first touched by its reader), in two patterns
 * taken in turn: one stream, and (vector machines) 8 streams side by side with a
 * software prefetch; the faster pattern's runs are reported (kernel names it).
 * A run is timed from a barrier before the reads to a barrier after them.
 * bytes_per_s[i] = buffer_bytes / run time; best = the fastest run (the one
 * least disturbed by other work). kernel: static, e.g. "avx2 256-bit loads". */
struct met_roofline_bw {
	double best_bytes_per_s;
	double median_bytes_per_s;
	double other_best_bytes_per_s; /* the other pattern's best (NAN where only one ran) */
	double run_bytes_per_s[MET_ROOFLINE_MAX_RUNS];
	int n_runs, n_threads;
	size_t buffer_bytes;
	const char *kernel;
};

/* Measure read bandwidth (buffer_bytes >= 1 MiB; should be several times the
 * last-level cache; 1 <= n_threads <= 1024; 1 <= n_runs <= MET_ROOFLINE_MAX_RUNS).
 * Allocates and frees the buffer itself. Errors: bad arguments (MRL_EINPUT),
 * MRL_ENOMEM, thread creation (MRL_ERUNTIME). */
int met_roofline_read_bandwidth(size_t buffer_bytes, int n_threads, int n_runs,
				struct met_roofline_bw *out, struct mrl_err *err);

/* Peak FLOP rate: n_threads threads each run a register-blocked kernel of
 * independent single-precision FMA chains (12 vector accumulators, no memory
 * traffic) for about seconds_per_run; one FMA counts 2 FLOPs per lane.
 * best = the fastest of n_runs, in FLOP/s summed over the threads.
 * kernel: static, e.g. "avx512f fma f32 (16 lanes x 12 chains)". The widest
 * ISA this CPU supports is chosen at run time, whatever the build flags. */
struct met_roofline_flops {
	double best_flops_per_s;
	double median_flops_per_s;
	double run_flops_per_s[MET_ROOFLINE_MAX_RUNS];
	int n_runs, n_threads;
	double seconds_per_run;
	const char *kernel;
};

/* Measure the peak FLOP rate (0.001 <= seconds_per_run <= 60; thread and run
 * limits as above). Errors: MRL_EINPUT, MRL_ENOMEM, MRL_ERUNTIME. */
int met_roofline_peak_flops(int n_threads, int n_runs, double seconds_per_run,
			    struct met_roofline_flops *out, struct mrl_err *err);

#endif
