/* bench.h — `merilo bench` inside the harness: the bench record, its writers and
 * reader, the measurement loops, and the pure arithmetic they rest on.
 *
 * Files: harness/cmd_bench.c (the command line), bench_run.c (timing loops and
 * scenarios), bench_io.c (record, JSON/JSONL/CSV/markdown, hrn_bench_read),
 * bench_calc.c (latency arithmetic, Poisson arrivals, bytes and FLOPs per token).
 * Every figure is defined in docs/measurement.md, "Bench figures", which also
 * describes the JSON record (schema "merilo-bench", HRN_BENCH_SCHEMA_VERSION).
 *
 * All strings and arrays of the structs below are owned by them and freed by
 * hrn_bench_doc_release. A double that is NaN is "not available" (JSON null).
 */
#ifndef MRL_HRN_BENCH_H
#define MRL_HRN_BENCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "engine/eng.h"
#include "common/json.h"
#include "harness/manifest.h"
#include "records/done_set.h"
#include "records/item.h"
#include "records/item_writer.h"
#include "records/items.h"
#include "records/manifest.h"
#include "records/record_json.h"
#include "records/results.h"
#include "metrics/met.h"

#define HRN_BENCH_SCHEMA "merilo-bench"
#define HRN_BENCH_SCHEMA_VERSION 1
#define HRN_BENCH_MAX_BYTES ((size_t)256 << 20) /* reader's cap for a bench file */

/* ------------------------------------------------------------ the record */

/* Per-repetition (or per-request, per-token-gap) samples of one quantity and
 * their summary (met_summary_compute; all NaN and n = 0 when there are none). */
struct hrn_bench_series {
	char *name;        /* "tokens_per_s", "ttft_ms", "tpot_ms", "itl_ms", ... */
	char *unit;        /* "tokens/s", "ms", "s" */
	double *samples;   /* n, in measurement order */
	size_t n;
	struct met_summary st;
};

/* One test: ppN, tgN@dD, ppN+tgM (a request), server or offline. */
struct hrn_bench_result {
	char *test;        /* "pp128", "tg32@d0", "pp128+tg32", "server", "offline" */
	char *kind;        /* "pp", "tg", "request", "server", "offline" */
	char *backend;     /* "cpu", "cuda" */
	int64_t n_prompt, n_gen, depth, threads, reps, warmup;
	int64_t seed;      /* seed of the token ids (and arrivals) */
	struct hrn_bench_series *series;  /* n_series */
	size_t n_series;
	struct rec_reading *figures;      /* n_figures: single values, null with reason */
	size_t n_figures;
	struct rec_reading *counters;     /* n_counters: per generated/prefilled token */
	size_t n_counters;
	char *counters_status;            /* met_counter_values.status, or NULL */
	char *energy_source;              /* "<method> <name> (<scope>)", NULL when none */
	int limits_hold;                  /* server: 1 yes, 0 no, -1 no limits given / not applicable */
	char *note;                       /* a caveat in words, or NULL */
};

struct hrn_bench_model {
	char *path, *name, *arch, *type;  /* type: the matrices' dtype, "f16", "q8_0", ... */
	char *sha256;
	int64_t size_bytes, n_params, weight_bytes;
};

/* The host's ceilings (met_roofline_*), as stored in <cache>/roofline-<host>.json. */
struct hrn_bench_roofline {
	bool present;
	char *reason;             /* why absent (not asked for, or failed); NULL when present */
	char *hostname, *measured_utc, *path; /* path: the cache file */
	bool from_cache;          /* read from the cache file rather than measured now */
	double read_bw_bytes_per_s;  /* best run, bw_threads threads */
	double read_bw_median_bytes_per_s;
	int64_t bw_threads, bw_buffer_bytes, bw_runs;
	char *bw_kernel;
	double flops_per_core;    /* best run, 1 thread */
	double flops_all_cores;   /* best run, flops_threads threads */
	int64_t flops_threads, flops_runs;
	char *flops_kernel;
};

struct hrn_bench_doc {
	int schema_version;
	struct rec_manifest manifest;
	json_t *settings;         /* object, owned reference */
	struct hrn_bench_model model;
	struct hrn_bench_roofline roofline;
	struct hrn_bench_result *results;
	size_t n_results;
};

/* The roofline as JSON (new reference; as in the bench record and the per-host
 * cache file), its reader (r released first; where/path for messages), and
 * the release of what r owns. */
json_t *hrn_bench_roofline_to_json(const struct hrn_bench_roofline *r);
int hrn_bench_roofline_from_json(const json_t *o, struct hrn_bench_roofline *r, const char *where, const char *path,
				 struct mrl_err *err);
void hrn_bench_roofline_release(struct hrn_bench_roofline *r);

/* Zero d and set schema_version. */
void hrn_bench_doc_init(struct hrn_bench_doc *d);

/* Free everything d owns and zero it. */
void hrn_bench_doc_release(struct hrn_bench_doc *d);

/* Append a result (test, kind, backend copied; limits_hold -1). Returns it (owned
 * by d, valid until the next add) or NULL when out of memory. */
struct hrn_bench_result *hrn_bench_doc_add_result(struct hrn_bench_doc *d, const char *test, const char *kind,
						  const char *backend);

/* Append a series (name, unit and the n samples copied; summary computed).
 * Returns 0, MRL_ENOMEM, or MRL_EINPUT for a NaN sample. */
int hrn_bench_result_add_series(struct hrn_bench_result *r, const char *name, const char *unit,
				const double *samples, size_t n, struct mrl_err *err);

/* Append a figure: valid with value when reason is NULL, else null with reason. */
int hrn_bench_result_add_figure(struct hrn_bench_result *r, const char *name, const char *unit, double value,
				const char *reason, struct mrl_err *err);

/* Look up a series / figure by name (NULL when absent); owned by r. */
const struct hrn_bench_series *hrn_bench_result_series(const struct hrn_bench_result *r, const char *name);
const struct rec_reading *hrn_bench_result_figure(const struct hrn_bench_result *r, const char *name);

/* ------------------------------------------------------- writers, reader */

enum hrn_bench_format { HRN_BENCH_MD, HRN_BENCH_CSV, HRN_BENCH_JSON, HRN_BENCH_JSONL };

/* "md", "csv", "json", "jsonl" -> format; -1 when unknown. */
int hrn_bench_format_parse(const char *s);
/* The format bench writes: *format as --format gave it (-1: not given) or, without
 * it, the one out_path's extension names (.md or .markdown, .csv, .json, .jsonl),
 * else md. 0, or MRL_EINPUT with the message when a given --format contradicts the
 * extension (a usage error for the caller). out_path may be NULL (stdout). */
int hrn_bench_format_resolve(int *format, const char *out_path, struct mrl_err *err);

/* The whole document as JSON (new reference), NULL when out of memory. */
json_t *hrn_bench_doc_to_json(const struct hrn_bench_doc *d);

/* Result i as one self-contained JSONL object (schema, manifest, settings, model,
 * roofline and "result"); new reference or NULL. */
json_t *hrn_bench_line_to_json(const struct hrn_bench_doc *d, size_t i);

/* Render d in a format into a new NUL-terminated string (*out malloc'd, the
 * caller frees it). Returns 0 or MRL_ENOMEM. */
int hrn_bench_render(const struct hrn_bench_doc *d, enum hrn_bench_format fmt, char **out, struct mrl_err *err);

/* Parse a bench document object into d (initialised first; release it even on
 * failure). where names the source for messages. Wrong types or missing fields
 * are MRL_EINPUT "where: $.results[2].series.ttft_ms.samples[3]: ..."; another
 * schema or a newer schema_version is MRL_EUNSUPPORTED. */
int hrn_bench_doc_from_json(const json_t *j, struct hrn_bench_doc *d, const char *where, struct mrl_err *err);

/* Read a bench file written with --format json or jsonl (detected from the
 * content) into d (initialised first; release it even on failure). For JSONL the
 * manifest, settings, model and roofline come from the first line and every
 * line's result is appended. Errors name "path" or "path:line". */
int hrn_bench_read(const char *path, struct hrn_bench_doc *d, struct mrl_err *err);
/* The same from a record's text (len bytes) read elsewhere (the history database);
 * errors name path. */
int hrn_bench_read_text(const char *text, size_t len, const char *path, struct hrn_bench_doc *d, struct mrl_err *err);

/* ----------------------------------------------------- pure arithmetic */

/* MLPerf latency figures of one request from its start and the times at which
 * each of its n >= 1 output tokens was available on the host (ns, one clock,
 * non-decreasing): ttft = t_token[0] - t_start; e2e = t_token[n-1] - t_start;
 * tpot = (e2e - ttft) / (n - 1) (NaN when n == 1); itl_ns[i] = t_token[i+1] -
 * t_token[i] for i < n - 1 (itl_ns may be NULL; else n - 1 entries, caller-owned).
 * Errors: n == 0 or times going backwards (MRL_EINPUT). */
struct hrn_bench_latency {
	double ttft_ns, tpot_ns, e2e_ns;
};
int hrn_bench_request_latency(uint64_t t_start, const uint64_t *t_token, size_t n, double *itl_ns,
			      struct hrn_bench_latency *out, struct mrl_err *err);

/* Seeded Poisson arrivals at rate qps over [0, duration_s): inter-arrival times
 * -ln(1 - U) / qps, U uniform from mrl_rng seeded with seed. *arrivals_s is malloc'd
 * (caller frees; NULL when *n == 0), ascending seconds from the scenario start.
 * Errors: qps or duration not finite and > 0, or more than 10^7 arrivals (MRL_EINPUT). */
int hrn_bench_poisson_arrivals(uint64_t seed, double qps, double duration_s, double **arrivals_s, size_t *n,
			       struct mrl_err *err);

/* What a model's forward pass reads and computes per token (CPU engine). */
struct hrn_bench_shape {
	uint64_t n_layer, n_embd, n_embd_kv, n_vocab;
	uint64_t n_embd_q;           /* n_head x head_dim, the width attention runs at (Qwen3: twice n_embd
				      * in 0.6B); 0 = n_embd */
	uint64_t kv_elt_bytes;       /* K and V cache element: 2 (f16, default) or 4 (--kv-cache f32) */
	uint64_t weight_bytes_decode; /* all tensor bytes read for one decoded token: every tensor
				       * but token_embd, plus one token_embd row (the whole matrix
				       * when the output is tied to it); of a mixture of experts' experts,
				       * the share a token takes (n_expert_used / n_expert) */
	uint64_t layer_matmul_params; /* elements of the blk.* matrices a token computes with (the
				       * experts' at that share) */
	uint64_t output_params;       /* elements of the output matrix (n_vocab x n_embd) */
};

/* Fill s from a model's tensors (token_embd.weight, output.weight, blk.*).
 * MRL_EINPUT when the model has no token_embd.weight. */
int hrn_bench_shape_of(const struct eng_model *m, struct hrn_bench_shape *s, struct mrl_err *err);

/* Mean bytes read per decoded token over n_gen >= 1 steps after depth cached
 * tokens: weight_bytes_decode + KV read, where step i (0-based) reads the K and V
 * of depth + i + 1 positions in every layer:
 *   kv = 2 * kv_elt_bytes * n_layer * n_embd_kv * (depth + (n_gen + 1) / 2). */
double hrn_bench_decode_bytes_per_token(const struct hrn_bench_shape *s, uint64_t depth, uint64_t n_gen);

/* FLOPs of a prefill of n >= 1 tokens from an empty cache (one logits row):
 *   2 * layer_matmul_params * n + 2 * output_params
 *   + attention: 4 * n_layer * n_embd_q * n (n + 1) / 2  (Q.K and weights.V, token i
 *     attending to i + 1 positions; n_embd_q = n_head * head_dim, n_embd where 0; a
 *     sliding window's shorter spans are not taken off).
 * Element-wise work (norms, rope, softmax, SwiGLU) is not counted. */
double hrn_bench_prefill_flops(const struct hrn_bench_shape *s, uint64_t n);

/* ------------------------------------------------------ measurement */

/* What the loops need; set up by cmd_bench.c, borrowed by the loops. */
struct hrn_bench_env {
	struct eng_model *model;
	struct eng_ctx *ctx;
	const char *backend;      /* "cpu" / "cuda" */
	int threads;
	int reps, warmup;
	uint64_t seed;
	uint32_t n_vocab;
	float *logits;            /* n_vocab floats */
	struct hrn_bench_shape shape;
	struct met_counters *counters;      /* may be NULL */
	struct met_energy_meter *energy;    /* may be NULL */
	const struct hrn_bench_roofline *roofline;
	double energy_window_s;   /* >= this long per energy window (pp, tg); 0: no energy */
};

/* ppN: prefill of n tokens from an empty cache (logits of the last token, argmax). */
int hrn_bench_run_pp(struct hrn_bench_env *e, uint32_t n, struct hrn_bench_doc *d, struct mrl_err *err);

/* tgN@dD: n single-token decode steps after an untimed prefill of depth tokens. */
int hrn_bench_run_tg(struct hrn_bench_env *e, uint32_t n, uint32_t depth, struct hrn_bench_doc *d,
		     struct mrl_err *err);

/* ppN+tgM: one request from an empty cache: TTFT, TPOT, ITL, end-to-end. */
int hrn_bench_run_request(struct hrn_bench_env *e, uint32_t n_prompt, uint32_t n_gen, struct hrn_bench_doc *d,
			  struct mrl_err *err);

/* Server (Poisson arrivals) and offline (all at once) scenarios. prompts: n_prompts
 * token arrays (tokenized before timing), or none: random ids of n_prompt each. */
struct hrn_bench_scenario {
	bool server;              /* false: offline */
	double qps, duration_s;   /* server */
	size_t n_requests;        /* offline */
	uint32_t n_prompt, n_gen;
	int32_t **prompts;        /* may be NULL */
	size_t *prompt_lens;
	size_t n_prompts;
	const char *prompts_path; /* for the record; NULL when none */
	double ttft_limit_ms, tpot_limit_ms; /* NaN: no limit */
};
int hrn_bench_run_scenario(struct hrn_bench_env *e, const struct hrn_bench_scenario *sc, struct hrn_bench_doc *d,
			   struct mrl_err *err);

/* ==================================================================
 * The A/B performance gate (owner "gate"): harness/bench_ab.c.
 * `merilo bench --ab BASE`, its verdict arithmetic, and the performance
 * deltas of `merilo compare`. Rules and the measured A/A false-alarm
 * rate: docs/perf-gate.md.
 * ================================================================== */

/* The gate's parameters. Fill with hrn_ab_opts_init. */
struct hrn_ab_opts {
	double threshold;    /* relative change that may fail: 0.05 = 5 % slower */
	double alpha;        /* the Wilcoxon p must be below this: 0.01 */
	double level;        /* bootstrap CI level: 0.95 */
	size_t n_resamples;  /* bootstrap resamples: 10,000 */
	uint64_t seed;       /* bootstrap seed: MET_BOOT_DEFAULT_SEED */
};

/* threshold 0.05, alpha 0.01, level 0.95, 10,000 resamples, the met default seed. */
void hrn_ab_opts_init(struct hrn_ab_opts *o);

enum hrn_ab_outcome { HRN_AB_SAME = 0, HRN_AB_REGRESSION = 1, HRN_AB_IMPROVEMENT = 2 };

/* "no significant change", "regression", "improvement" (static). */
const char *hrn_ab_outcome_name(enum hrn_ab_outcome o);

/* The verdict on n paired times. Direction: r_i = log(cand_time_i / base_time_i),
 * so r > 0 means the candidate is slower (for throughputs pass 1/throughput). */
struct hrn_ab_verdict {
	size_t n;                         /* pairs */
	double log_ratio;                 /* median of r_i */
	double ci_lo, ci_hi;              /* percentile-bootstrap CI of that median */
	double ratio, ratio_lo, ratio_hi; /* exp of the three: candidate time / base time */
	double p;                         /* Wilcoxon signed-rank on r_i, two-sided */
	bool p_exact;
	enum hrn_ab_outcome outcome;      /* REGRESSION iff ci_lo > log(1 + threshold) and p < alpha;
					   * IMPROVEMENT iff ci_hi < -log(1 + threshold) and p < alpha */
};

/* Decide on n >= 1 pairs of positive finite times (MRL_EINPUT otherwise, naming the
 * index; MRL_ENOMEM). o NULL: defaults. */
int hrn_ab_decide(const double *cand_time, const double *base_time, size_t n, const struct hrn_ab_opts *o,
		  struct hrn_ab_verdict *v, struct mrl_err *err);

/* Median of x[0..n) and its percentile-bootstrap CI (o's seed, resamples, level). */
int hrn_ab_median_ci(const double *x, size_t n, const struct hrn_ab_opts *o, double *median, double *lo,
		     double *hi, struct mrl_err *err);

/* Unpaired: median(cand) / median(base) of positive samples, with a percentile
 * bootstrap CI that resamples each side independently (repetitions of two separate
 * bench runs are not paired). */
int hrn_ab_ratio_unpaired(const double *cand, size_t n_cand, const double *base, size_t n_base,
			  const struct hrn_ab_opts *o, double *ratio, double *lo, double *hi, struct mrl_err *err);

/* The instruction count in valgrind's output ("==1== I   refs:  1,234" from
 * cachegrind, "==1== Collected : 1234" from callgrind); 0 or -1 when absent. */
int hrn_ab_parse_valgrind_ir(const char *text, uint64_t *ir);

/* One performance delta between two bench records (merilo compare). */
struct hrn_perf_delta {
	char test[64];
	int64_t threads;
	const char *figure;          /* static: "prefill", "decode", "TTFT", "prefill energy", "decode energy" */
	const char *unit;            /* static: "tokens/s", "ms", "J/token" */
	bool higher_is_better;
	double base, cand;           /* medians; single values for energy; NaN when absent */
	size_t n_base, n_cand;       /* samples */
	double ratio, lo, hi;        /* cand / base and its bootstrap CI (NaN: no CI, e.g. energy) */
	const char *why_null;        /* static or borrowed from a doc: why there is no figure, or NULL */
	bool worse;                  /* CI wholly beyond the threshold in the worse direction */
};

/* Deltas of every test present in both documents (same test name and threads):
 * prefill tokens/s (ppN), decode tokens/s (tgN@dD), TTFT (ppN+tgM requests),
 * energy per token (pp and tg rows). *out malloc'd (caller frees), *n rows. */
int hrn_bench_perf_deltas(const struct hrn_bench_doc *base, const struct hrn_bench_doc *cand,
			  const struct hrn_ab_opts *o, struct hrn_perf_delta **out, size_t *n, struct mrl_err *err);

/* `merilo bench --ab BASE ...` (called by hrn_cmd_bench when argv has --ab). */
int hrn_bench_ab_cmd(int argc, char **argv);

/* ================== end of section "gate" ================== */

#endif
