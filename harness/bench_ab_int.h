/* bench_ab_int.h — what bench_ab.c (the gate's measurements) shares with
 * bench_ab_stats.c (its arithmetic) and bench_ab_render.c (what it writes).
 * Internal to the harness.
 */
#ifndef MRL_BENCH_AB_INT_H
#define MRL_BENCH_AB_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "harness/bench.h"
#include "records/manifest.h"

#define AB_MAX_TESTS 16
#define AB_SCHEMA "merilo-bench-ab"
/* the deterministic workload: 16 prompt tokens + BOS with the built-in vocabulary */
#define DET_PROMPT "merilo perf gate test"

enum test_kind { T_PP, T_TG };
struct ab_test {
	enum test_kind kind;
	uint32_t n, depth;
	char name[48];       /* as in the bench record: "pp128", "tg32@d0" */
	double *cand_tps, *base_tps; /* pairs */
	struct hrn_ab_verdict v;
};

struct ab_opts {
	const char *base, *model, *out;
	bool deterministic, base_is_model;
	long pairs, warmup_pairs, reps, warmup, seed, threads, det_gen;
	const char *ins_source; /* auto, papi, perf, valgrind */
	int format;             /* HRN_BENCH_MD or HRN_BENCH_JSON */
	struct hrn_ab_opts gate;
	bool have_threshold;
	bool have_pairs;        /* --pairs given: checked against the minimum for alpha */
	bool quiet;             /* -q: no progress line per pair */
	struct ab_test tests[AB_MAX_TESTS];
	int n_tests;
};

/* --deterministic: the instruction counts of both sides and what counted them. */
struct ins_result {
	char source[128];     /* what counted */
	uint64_t cand, base;
};

/* The record's settings; the verdict as JSON (schema AB_SCHEMA) and as markdown (ins:
 * NULL in the timed mode). bench_ab_render.c. */
json_t *hrn_ab_settings_json(const struct ab_opts *o, const char *exe);
char *hrn_ab_render_json(const struct ab_opts *o, const struct rec_manifest *man, const json_t *settings,
			 const struct ins_result *ins, bool failed);
char *hrn_ab_render_md(const struct ab_opts *o, const char *exe, const struct ins_result *ins, bool failed);

/* The median of x[0..n) (n > 0), sorted in scratch (n doubles, the caller's). */
double hrn_ab_median(double *scratch, const double *x, size_t n);
/* d's result of test at threads, or NULL. */
const struct hrn_bench_result *hrn_ab_find_result(const struct hrn_bench_doc *d, const char *test, int64_t threads);
/* The series a performance gate judges a result on: "tokens_per_s" of pp and
 * tg, "ttft_ms" of a request (*figure: "prefill", "decode", "TTFT"); NULL for
 * any other kind (a server or offline scenario). */
const char *hrn_bench_gated_series(const struct hrn_bench_result *c, const char **figure);

#endif
