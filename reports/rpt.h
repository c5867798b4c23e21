/* rpt.h — merilo's reports module: what people and CI systems read.
 *
 * Functions over plain data: the harness loads result records (results.json,
 * items.jsonl), fills the structs below, and gets back verdicts and rendered
 * text (terminal, markdown, JSON, JUnit XML, HTML, CSV, gnuplot scripts).
 * reports/ includes nothing from harness/ (STYLE.md: harness -> reports);
 * it may use metrics/ for statistics. Nothing here prints or exits.
 *
 * Sections, each owned by one engineer:
 *   - escaping, checkpoint comparison, the CI gate, leaderboards
 *     ("compare": escape.c, compare.c, leaderboard.c);
 *   - plots and the HTML/markdown report ("report": plot*.c, html*.c).
 */
#ifndef MRL_RPT_H
#define MRL_RPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "common/parallel.h"

/* ===================================================================
 * Section "compare": escaping, comparison, gate, leaderboard
 * (reports/escape.c, reports/compare.c, reports/leaderboard.c;
 * formats and rules in docs/compare.md)
 * =================================================================== */

/* Renderers append to a struct mrl_buf (common/buf.h): appending never fails
 * loudly, a renderer checks oom once at the end. */

/* ---- escaping text taken from files (reports/escape.c) ----
 * Every string that comes from a record (model names, item ids, prompts, paths)
 * goes through one of these before it is put into an output. NULL appends "". */

/* HTML text and attribute values: & < > " ' become entities. Control characters
 * (C0 but tab, LF, CR; DEL) become their Unicode control pictures (ESC -> U+241B
 * "␛"), C1 controls (U+0080..U+009F) U+FFFD: none is ever written raw. */
void rpt_esc_html(struct mrl_buf *s, const char *text);
/* XML 1.0 (JUnit): as HTML (so no character XML 1.0 forbids is written). */
void rpt_esc_xml(struct mrl_buf *s, const char *text);
/* Markdown (GitHub flavoured) inline text, safe in a table cell: & < > become
 * entities (so raw HTML never renders), markdown punctuation gets a backslash,
 * | is escaped, newlines/tabs become spaces, and other control characters are
 * shown as in rpt_esc_html (a prompt's ESC never reaches a terminal raw). */
void rpt_esc_md(struct mrl_buf *s, const char *text);
/* One CSV field (RFC 4180): quoted when it holds , " CR or LF (quotes doubled);
 * a field starting with = + - @ TAB or CR gets a leading ' so that spreadsheets
 * do not run it as a formula (OWASP "CSV injection"). For text fields only:
 * write numbers with printf. */
void rpt_esc_csv(struct mrl_buf *s, const char *text);
/* At most max_chars Unicode characters of text (cut at a character boundary,
 * "…" appended when cut), then escaped with esc. */
void rpt_esc_trunc(struct mrl_buf *s, const char *text, size_t max_chars,
		   void (*esc)(struct mrl_buf *, const char *));

/* ---- checkpoint comparison (reports/compare.c) ---- */

enum rpt_metric_kind {
	RPT_METRIC_BINARY = 0, /* per item right (1) / wrong (0): accuracies */
	RPT_METRIC_GRADED = 1, /* per item a real value: perplexity, bits per char, F1 */
};

/* Whether a smaller value of the metric is better (perplexity, word_perplexity,
 * bits_per_byte, bits_per_char, and names ending in "_loss"). */
bool rpt_metric_lower_is_better(const char *metric);

/* Whether the metric is recorded on a 0..100 scale (bleu, chrf, chrf++: sacrebleu's corpus
 * scores), not as a share of items in 0..1 or in a unit of its own. */
bool rpt_metric_is_points(const char *metric);

/* One item present in both runs. Strings are borrowed. */
struct rpt_pair {
	const char *item_id;
	const char *prompt;  /* the rendered prompt (candidate's, else base's); NULL when not recorded */
	double base, cand;   /* binary: 1 right, 0 wrong; graded: the item's value */
	const char *value;   /* the item's breakdown value where both records carry one (the base's); else NULL */
};

/* The input of one comparison: one metric on one task x language, over the items
 * both runs have. Everything is borrowed and must outlive the result. */
struct rpt_cmp_input {
	const char *task, *language, *metric;
	enum rpt_metric_kind kind;
	const struct rpt_pair *pairs;
	size_t n_pairs;
	size_t n_base_only, n_cand_only; /* items in one run only: not compared */
	const char *field, *value;       /* a comparison of one breakdown value's items: the task's breakdown
					  * field and the value (rpt_cmp_meta.by_value); NULL otherwise */
	const char *language_b;          /* a change of a language gap (rpt_cmp_meta.gaps): each pair's values are
					  * the gap language - language_b of the item in that run; NULL otherwise */
	const char *gap_kind;            /* with it: rpt_gap_kind_name of the pair ("en→BCMS", "script", ...) */
	bool percent;                    /* values shown in percent though the kind is graded (a gap of a
					  * right/wrong metric) */
};

/* A gated metric and the largest drop it may show, in points (1/100 of the
 * metric's unit: a percentage point for accuracies). */
struct rpt_gate_metric {
	const char *metric;
	double max_drop_points;
};

/* How to compare and what fails the gate. The gate rule: a comparison fails when
 * its metric is gated, the task and language are gated (NULL lists: all), the
 * candidate is worse by more than max_drop_points, and the Holm-adjusted p < alpha. */
struct rpt_compare_opts {
	double alpha;                 /* significance level for verdicts; default 0.05 */
	const struct rpt_gate_metric *gate;
	size_t n_gate;
	const char *const *gate_tasks;     /* n_gate_tasks; NULL = every task */
	size_t n_gate_tasks;
	const char *const *gate_languages; /* n_gate_languages; NULL = every language */
	size_t n_gate_languages;
	uint64_t seed;                /* paired bootstrap seed; default MET_BOOT_DEFAULT_SEED */
	size_t n_resamples;           /* default 10,000 */
	double ci_level;              /* default 0.95 */
	double kl_min_coverage;       /* default RPT_KL_MIN_COVERAGE: a gated KL row whose median top-K mass
				       * is below it is "undetermined" (rpt_compare_set_kl) */
	size_t n_threads;             /* threads computing the rows (their bootstraps); 0 = the CPUs this
				       * process may use. The result does not depend on it. */
	/* called as each row is done, with its pairs (a measure of its work), one call at a
	 * time whatever thread finished the row; NULL = none */
	void (*progress)(void *arg, size_t n_pairs);
	void *progress_arg;
};

/* Most threads rpt_compare uses. */
#define RPT_COMPARE_MAX_THREADS MRL_PARALLEL_MAX_THREADS

/* The default least median probability mass the stored top-K lists must hold
 * for a KL gate to decide (docs/compare.md "KL coverage"). */
#define RPT_KL_MIN_COVERAGE 0.5

/* alpha 0.05, no gate, bootstrap defaults of metrics/met.h. */
void rpt_compare_opts_init(struct rpt_compare_opts *opts);

enum rpt_verdict {
	RPT_VERDICT_SAME = 0,  /* no significant change */
	RPT_VERDICT_BETTER = 1,
	RPT_VERDICT_WORSE = 2,
	RPT_VERDICT_UNTESTED = 3, /* no pair: nothing to test (p, p_holm and test null) */
};

/* "better", "worse", "no significant change", "not tested (no pair)" (static strings). */
const char *rpt_verdict_name(enum rpt_verdict v);

/* The outcome of one comparison. diff, ci and means are in the metric's unit
 * (fractions for accuracies); "improvement" is diff for higher-is-better metrics
 * and -diff for lower-is-better ones. */
struct rpt_cmp_row {
	const struct rpt_cmp_input *in;  /* borrowed */
	bool lower_is_better;
	double base_mean, cand_mean;     /* over the paired items */
	double diff, ci_low, ci_high;    /* cand - base, paired bootstrap percentile CI */
	const char *test;                /* "mcnemar-exact" (binary) or "wilcoxon-signed-rank" (graded) */
	uint64_t n_right_to_wrong;       /* binary: McNemar b = right in base, wrong in candidate */
	uint64_t n_wrong_to_right;       /* binary: McNemar c = wrong in base, right in candidate */
	double p, p_holm;                /* two-sided; Holm across every row of the result */
	enum rpt_verdict verdict;        /* from p_holm < alpha and the sign of the improvement */
	bool gated;
	double max_drop_points;          /* NaN when not gated */
	bool gate_failed;
	/* gated, worse by more than the threshold, but with so few pairs that no outcome could
	 * be significant: even all n pairs changed the same way give Holm p >= alpha (p_floor:
	 * that smallest Holm p, n_tested x 2^(1-n)); the gate cannot decide (not a failure) */
	bool gate_underpowered;
	double p_floor;
	size_t *flips_rw, *flips_wr;     /* owned: indices into in->pairs (binary only) */
	size_t n_flips_rw, n_flips_wr;
};

/* ---- KL divergence and top-1 agreement from stored log-probabilities ----
 * (reports/compare.c; method: docs/results-format.md "Comparing two runs",
 * outputs: docs/compare.md). Two models' next-token distributions at one
 * position are known only through their stored top-K lists, so KL(base || cand)
 * is estimated over the buckets S = tokens in both lists, plus one tail bucket
 * for everything else: a LOWER BOUND on the true KL (log-sum inequality), as
 * tight as the base mass covered by S is close to 1. */

/* One position. base_id/base_lp: the base's top-K (base_k entries, best first,
 * natural-log probabilities); cand_id/cand_lp likewise (cand_k). Sets *kl to
 * D_K = sum_{t in S} P_t ln(P_t/Q_t) + P_tail ln(P_tail/Q_tail) (nats, >= 0;
 * +inf when the candidate gives 0 to a token the base does not) and *covered to
 * sum_{t in S} P_t, the base mass in the shared buckets (0 when S is empty; then
 * D_K is 0 and says nothing). Identical lists give exactly 0 and the lists' mass.
 * Errors (MRL_EINPUT, message says "base"/"candidate" and the problem): k == 0,
 * a token twice in one list, a NaN or positive log-probability, a list whose
 * mass exceeds 1 by more than 1e-6. */
int rpt_kl_position(const int32_t *base_id, const double *base_lp, size_t base_k, const int32_t *cand_id,
		    const double *cand_lp, size_t cand_k, double *kl, double *covered, struct mrl_err *err);

/* KL statistics of one task x language (or of everything: task and language
 * "all"). Counts are filled by the caller; rpt_kl_summarize fills the figures.
 * NaN figures are "not available" (no position had top-K lists in both runs). */
struct rpt_kl_row {
	const char *task, *language;     /* borrowed */
	size_t n_sequences;              /* aligned choice sequences (same tokens, same prompt) */
	size_t n_skipped_tokens;         /* paired sequences skipped: different continuation tokens */
	size_t n_skipped_prompt;         /* paired sequences skipped: same tokens, different prompt */
	size_t n_positions;              /* aligned positions (|delta logprob| is over these) */
	size_t n_positions_topk;         /* of them, with top-K lists in both runs (KL, top-1 over these) */
	double kl_mean, kl_median, kl_p90, kl_p99, kl_max; /* nats, lower bounds */
	double covered_mean;             /* mean base probability mass inside the shared buckets */
	double top1_agreement;           /* fraction of positions whose top-1 token is the same */
	double abs_dlogprob_mean;        /* mean |logprob_cand - logprob_base| of the continuation tokens */
	/* coverage: per position the smaller of the two runs' top-K masses (sum of exp of
	 * the listed log-probabilities); its minimum and median over the positions. NaN:
	 * not known (rpt_kl_summarize sets NaN; the caller fills them) */
	double topk_mass_min, topk_mass_median;
	bool gated, gate_failed;         /* set by rpt_compare_set_kl */
	bool undetermined;               /* gated, but the lists cover too little mass to decide */
};

/* Fill row's figures from per-position arrays: kl, covered and top1_same have
 * n_topk entries (may be NULL when n_topk == 0), abs_dlogprob has n. Sets
 * n_positions = n and n_positions_topk = n_topk; leaves the other counts.
 * Percentiles are linear-interpolated (met_percentile_sorted). Errors: a NaN
 * (MRL_EINPUT), MRL_ENOMEM. */
int rpt_kl_summarize(const double *kl, const double *covered, const bool *top1_same, size_t n_topk,
		     const double *abs_dlogprob, size_t n, struct rpt_kl_row *row, struct mrl_err *err);

struct rpt_cmp_result {
	struct rpt_cmp_row *rows;        /* n_rows, in input order; owned */
	size_t n_rows;
	size_t n_gated, n_gate_failed;   /* metric comparisons and KL rows together */
	struct rpt_compare_opts opts;    /* copy of the options used (pointers borrowed) */
	struct rpt_kl_row *kl;           /* n_kl (owned array, strings borrowed); NULL: no KL computed */
	size_t n_kl;
	double kl_gate_max_mean;         /* NaN: KL not gated */
	size_t n_kl_undetermined;        /* gated KL rows with too little top-K mass (not in n_gate_failed) */
	size_t n_gate_underpowered;      /* gated rows with row->gate_underpowered (not in n_gate_failed) */
	size_t n_gated_judged;           /* gated rows with pairs to judge and gated KL rows: 0 = the gate judges nothing */
};

/* Attach KL rows to a result (copied; their strings must outlive res) and apply
 * the KL gate: with max_mean_kl (nats) not NaN, a row fails when its kl_mean
 * exceeds it, and is undetermined (n_kl_undetermined, not a failure of its own)
 * when its topk_mass_median is below res->opts.kl_min_coverage. Gated rows: every task x language row allowed by the result's
 * gate_tasks / gate_languages, and the row of task "all" when neither filter is
 * set. Updates res->n_gated / n_gate_failed. A KL gate with no row that has a
 * KL figure is MRL_EINPUT (a gate that cannot be checked must not pass).
 * Call after rpt_compare; replaces rows attached before. */
int rpt_compare_set_kl(struct rpt_cmp_result *res, const struct rpt_kl_row *rows, size_t n_rows,
		       double max_mean_kl, struct mrl_err *err);

/* The distinct tasks, languages or metrics of the inputs, in first-seen order,
 * joined by commas into buf (size bytes; names that do not fit are left out). */
enum rpt_cmp_field { RPT_CMP_TASK, RPT_CMP_LANGUAGE, RPT_CMP_METRIC };
void rpt_compare_names(const struct rpt_cmp_input *inputs, size_t n_inputs, enum rpt_cmp_field field, char *buf,
		       size_t size);

/* A gate's task (languages false) or language filter (list of n; NULL: all)
 * must name at least one, and only tasks or languages some input has: a typo
 * would gate nothing and pass. 0, or MRL_EINPUT naming it and the valid ones.
 * rpt_compare checks its options' filters so. */
int rpt_compare_check_filter(const struct rpt_cmp_input *inputs, size_t n_inputs, const char *const *list, size_t n,
			      bool languages, struct mrl_err *err);

/* Compare: statistics for every input, Holm across all of them, verdicts and
 * the gate. Gate metrics that match no input are MRL_EINPUT (a typo in a gate
 * must not pass silently). res is zeroed first; release it even on failure.
 * Errors: empty pairs are fine (p = 1); NaN values MRL_EINPUT; MRL_ENOMEM. */
int rpt_compare(const struct rpt_cmp_input *inputs, size_t n_inputs, const struct rpt_compare_opts *opts,
		struct rpt_cmp_result *res, struct mrl_err *err);

/* Free what res owns and zero it. */
void rpt_cmp_result_release(struct rpt_cmp_result *res);

/* What the rendered outputs say about the two runs (all borrowed, may be NULL). */
struct rpt_cmp_side {
	const char *label;          /* the run folder as given */
	const char *model_name, *model_sha256, *suite_sha256, *engine_build, *host;
};
/* A score-changing setting in which the two runs differ (records/comparable.h;
 * "items": the candidate covers fewer items than the base). */
struct rpt_cmp_difference {
	const char *setting;        /* "limit", "fewshot", "suite_sha256", "items", ... */
	const char *base, *cand;    /* the two values in words */
	bool allowed;               /* named by --allow-different: reported, does not block the gate */
};
struct rpt_cmp_meta {
	struct rpt_cmp_side base, cand;
	const struct rpt_cmp_difference *diffs; /* n_diffs */
	size_t n_diffs;
	const char *const *notes;   /* n_notes lines: warnings, data a run lacks (KL, performance) */
	size_t n_notes;
	const char *perf_md;        /* optional extra section (already formatted markdown/text), NULL none */
	/* Comparisons of each breakdown value's items (inputs with field and value set), a family
	 * of their own: Holm across them alone, never gated, so the gate's outcome and its
	 * family are those of the whole task x language rows. NULL: none (no task has a
	 * breakdown, or a run's records predate the value). */
	const struct rpt_cmp_result *by_value;
	/* Changes of the language gaps (language - language_b, per item, candidate's gap minus
	 * the base's), likewise a family of their own, never gated. NULL: none. */
	const struct rpt_cmp_result *gaps;
	/* The performance gate (compare --gate-perf on the runs' bench records, judged by
	 * the caller): perf_gated when on, perf_threshold its fraction (0.05: 5%),
	 * perf_n_gated figures checked and perf_n_failed of them worse beyond it,
	 * perf_failures naming those ("pp32 (1 thread): prefill tokens/s x0.4200, CI [0.41, 0.43];"),
	 * perf_undetermined why the gate cannot decide (a run without a bench record),
	 * NULL when it can. */
	bool perf_gated;
	double perf_threshold;
	size_t perf_n_gated, perf_n_failed;
	const char *perf_failures, *perf_undetermined;
};

/* The gate's outcome: not comparable (a difference not allowed) comes first,
 * then undetermined (a gate that judges nothing: no gated row with pairs, no KL
 * row, no bench figure; a KL gate without enough top-K mass; a performance gate
 * without bench records to judge), then a regression (a gated metric, KL row
 * or bench figure). */
enum rpt_cmp_outcome {
	RPT_CMP_PASS = 0,
	RPT_CMP_REGRESSION,
	RPT_CMP_NOT_COMPARABLE,
	RPT_CMP_UNDETERMINED,
};
enum rpt_cmp_outcome rpt_compare_outcome(const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta);
/* "pass", "regression", "not comparable", "undetermined" (static strings). */
const char *rpt_cmp_outcome_name(enum rpt_cmp_outcome o);
/* Whether the gate judges nothing (no gated comparison with pairs, no gated KL
 * row, no gated bench figure): such a gate cannot pass. */
bool rpt_cmp_gate_empty(const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta);

enum rpt_format { RPT_FMT_TEXT, RPT_FMT_MD, RPT_FMT_JSON, RPT_FMT_JUNIT, RPT_FMT_HTML, RPT_FMT_CSV };

/* Parse "text", "md"/"markdown", "json", "junit", "html", "csv"; -1 when unknown. */
int rpt_format_parse(const char *name);

/* Maximum flipped items listed per direction and comparison in markdown/text
 * (JSON lists all). */
#define RPT_CMP_MAX_FLIPS_LISTED 20

/* Render a comparison as text (terminal table), md (a pull-request comment with
 * the flipped items), json or junit (one testcase per gated comparison, a
 * <failure> on regression). Returns a new string (caller frees) or NULL with
 * err set (MRL_ENOMEM, or MRL_EINPUT for a format this renderer lacks). */
char *rpt_compare_render(const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta, enum rpt_format fmt,
			 struct mrl_err *err);

/* ---- leaderboard (reports/leaderboard.c) ---- */

/* One task x language score of a run. Strings borrowed. */
struct rpt_lb_cell {
	const char *task, *language;
	int64_t n;
	double value, ci_low, ci_high;  /* the metric (fraction for accuracies); NaN when absent */
};

/* One run: one leaderboard row. Strings borrowed; NaN figures print as "—". */
struct rpt_lb_row {
	const char *label;         /* the model's name (from the records: hostile text allowed) */
	const char *run_dir;
	const char *model_sha256, *engine_build, *host, *seeds, *suite_sha256;
	const char *model_file;    /* the model's file name (no folder); NULL unknown */
	int64_t model_size_bytes;  /* -1 unknown */
	int64_t fewshot_k;         /* -1 unknown */
	/* Comparability: rows with equal group strings are ranked together; group_desc
	 * says in words what defines the group (suite, hash, tasks, limit, ...). */
	const char *group, *group_desc;
	const struct rpt_lb_cell *cells;
	size_t n_cells;
	double tokens_per_s;       /* NaN when the run has no throughput */
	double joules_per_token;   /* NaN when no energy was measured */
	int64_t n_missing;         /* units without a prediction counted as wrong (merilo score --allow-missing); 0 none */
	int64_t n_boot;            /* the bootstrap resamples of its CIs; 0 unknown */
};

/* Render a leaderboard of n_rows runs for `metric` as html (self-contained,
 * sortable columns, no external resources), md or csv. Rows are split into
 * groups by their `group` string (first-seen order); each group is one section
 * ranked on its own; group (1-based) > 0 renders only that group, 0 all.
 * Columns: rank, model (name, file, size, sha256), n per language, few-shot k,
 * each task x language of the group with its CI, the average per language,
 * the mean over BCMS languages (sr*, hr, bs, cnr, me, sh), the en->BCMS gap,
 * the Cyrillic/Latin gap (sr-Cyrl minus sr-Latn), tokens/s, J/token, the
 * manifest. Rows are sorted by the mean of their per-language averages, best
 * first; ranks are ranges: a row's rank spans every row whose interval on
 * that value overlaps its own (docs/reports.md). Returns a new string (caller
 * frees) or NULL with err set (MRL_EINPUT: group out of range). */
char *rpt_leaderboard_render(const struct rpt_lb_row *rows, size_t n_rows, const char *metric, int group,
			     enum rpt_format fmt, struct mrl_err *err);

/* The 0-based group of rows[i]: the index of its group string among the distinct
 * ones of rows[0..i] in first-seen order (the numbering of the rendered sections,
 * 1-based there). When n_groups_before is not NULL it gets the number of distinct
 * groups seen before rows[i]'s first row. */
size_t rpt_lb_group_of(const struct rpt_lb_row *rows, size_t i, size_t *n_groups_before);

/* =================== end of section "compare" =================== */

/* ===================================================================
 * Section "report": run report (owner: "report"): reports/plot.c (gnuplot scripts, data and
 * images) and reports/html.c (report.html, report.md). The harness
 * (harness/cmd_report.c) reads run folders and fills the plain structs
 * below; nothing here knows the record formats. Every string in them is
 * borrowed (owned by the caller, valid during the call) and may be NULL
 * (unknown); every double may be NaN (not available). docs/reports.md.
 * ====================================================================== */

/* Characters of a run's label the plots show (tic labels, keys); a longer
 * label is cut there with "…", so labels must differ within them. */
#define RPT_RUN_LABEL_MAX 16

/* One run as the report shows it. */
struct rpt_run {
	const char *label;          /* short unique name for plots and tables ("run 1") */
	const char *dir;            /* the run folder as given */
	const char *model_name, *model_path, *model_sha256;
	const char *suite_name, *suite_version, *suite_sha256;
	const char *engine;         /* "merilo 0.1.0 (cpu)" */
	const char *git_commit, *host, *started_utc, *ended_utc;
	int64_t seed, threads;      /* -1 unknown */
	int64_t n_item_lines;       /* items.jsonl lines read; -1 when none were read */
	const char *note;           /* a warning about this run's files, or NULL */
	const char *items;          /* which items of each task, where not all: "first 30 items",
				       "sample of 200 items (seed 1234)"; NULL = every item */
};

/* One metric of one run on one task x language (accuracy-type metrics are
 * fractions 0..1; the plots show them in %). */
struct rpt_score {
	size_t run;                 /* index into rpt_input.runs */
	const char *task, *language, *metric;
	int64_t n;
	double value, ci_low, ci_high, ci_level;
	double chance;              /* the accuracy of guessing: mean of 1/number of choices over the items
				       (multiple choice); 0 or NaN where unknown */
};

/* A paired comparison of one metric between two languages of one task, as
 * recorded: diff = metric(language_a) - metric(language_b), with its CI and
 * the exact McNemar test (b: right in a only, c: right in b only). */
struct rpt_gap {
	size_t run;
	const char *task, *language_a, *language_b, *metric;
	int64_t n_pairs;
	double diff, ci_low, ci_high, ci_level;
	int64_t mcnemar_b, mcnemar_c;
	double mcnemar_p;
};

/* Which family a comparison belongs to, for the gap plots. */
enum rpt_gap_kind {
	RPT_GAP_LANGUAGE,       /* "en→BCMS": English vs a BCMS variant, shown as en - X */
	RPT_GAP_SCRIPT,         /* "script": one variant in two scripts (sr-Cyrl vs sr-Latn), Cyrillic first */
	RPT_GAP_OTHER,          /* "language": any other pair of languages (tables only) */
	RPT_GAP_VARIANT,        /* "variant": two BCMS variants in one script (hr vs sr-Latn, bs vs hr) */
	RPT_GAP_VARIANT_SCRIPT, /* "variant+script": two BCMS variants in two scripts (sr-Cyrl vs hr), Cyrillic first */
};

/* Classify g and give its report orientation in *out (a copy of g, flipped
 * when needed so that language_a is "en", or the Cyrillic side: diff and CI
 * negated, b and c swapped). BCMS tags: sr, hr, bs, cnr, me, sh with any subtags;
 * the script is a -Cyrl/-Latn subtag, else Cyrillic for sr, Latin for the others.
 * out may be NULL. */
enum rpt_gap_kind rpt_gap_orient(const struct rpt_gap *g, struct rpt_gap *out);
/* The kind's name in tables: "en→BCMS", "script", "language", "variant", "variant+script". */
const char *rpt_gap_kind_name(enum rpt_gap_kind k);

/* A sample of durations of one run and one series (a language, a bench
 * configuration), in milliseconds. */
struct rpt_sample {
	size_t run;
	const char *series;
	const double *ms;           /* n values, borrowed */
	size_t n;
};

/* Scoring speed of one run on one task x language, from results.json
 * "performance" (language "all": the task over every language). */
struct rpt_perf {
	size_t run;
	const char *task, *language;
	int64_t n_items;                  /* -1 unknown */
	double tokens_per_s;              /* tokens computed / scoring time */
	double item_ms_median, item_ms_p90;
	double energy_per_item_j;         /* per task ("all" rows) where measured; NaN otherwise */
	const char *energy_null_reason;   /* why energy is NaN, or NULL */
};

/* One bench configuration's result. */
struct rpt_bench_point {
	size_t run;
	int64_t n_prompt, n_gen, threads;            /* -1 unknown */
	double prefill_tps, decode_tps;              /* tokens/s; decode NaN where not measured for this row */
	int64_t decode_depth;                        /* tokens in the cache before the decode steps: n_prompt, or 0
							when decode ran after no prompt (then only the first row of
							its thread count carries it); -1 none */
	double prefill_j_per_token, decode_j_per_token; /* NaN: not measured */
};

/* One request-level bench result: a server or offline scenario, or the ppN+tgM
 * request rows; figures as recorded (NaN: not in the record). */
struct rpt_scenario {
	size_t run;
	const char *test, *kind;                     /* "server", "offline", "pp16+tg4"; kind "server", ... */
	int64_t n_prompt, n_gen, threads;            /* -1 unknown */
	double n_requests;                           /* requests completed (NaN: not recorded; request rows: reps) */
	double offered_qps, achieved_qps;            /* requests/s */
	double output_tps;                           /* generated tokens / wall time, tokens/s */
	double ttft_ms[3], tpot_ms[3];               /* p50, p90, p99 */
	double queue_ms[2];                          /* p50, p90 of the wait before service */
	const char *note;                            /* why figures are missing, or NULL */
};

/* Everything a report shows. */
struct rpt_input {
	const char *title;
	const struct rpt_run *runs;
	size_t n_runs;
	const struct rpt_score *scores;
	size_t n_scores;
	const struct rpt_score *breakdowns;   /* a task's first metric per value of its "breakdown" field, the
						 task labelled "TASK · FIELD: VALUE" (results.json breakdowns) */
	size_t n_breakdowns;
	const struct rpt_gap *gaps;
	size_t n_gaps;
	const struct rpt_perf *perf;          /* scoring speed per task x language */
	size_t n_perf;
	const struct rpt_sample *item_times;  /* per-item scoring time (items.jsonl "total") */
	size_t n_item_times;
	const struct rpt_sample *ttft, *tpot; /* bench latencies */
	size_t n_ttft, n_tpot;
	const struct rpt_bench_point *bench;
	size_t n_bench;
	const struct rpt_scenario *scenarios; /* every server / offline / request bench row, one row each */
	size_t n_scenarios;
	const char *bench_note;     /* why there is no bench data (shown in the report), or NULL */
};

struct rpt_plot_opts {
	const char *gnuplot;        /* program to run: a path, or a name looked up in PATH; NULL: "gnuplot" */
	bool png, svg;              /* formats to draw (neither: both) */
	int timeout_s;              /* per gnuplot run; <= 0: 60 */
};

/* One plot written by rpt_plots_write: files <name>.gp, <name>.dat and, when
 * drawn, <name>.png / <name>.svg in the output folder. */
struct rpt_plot {
	char name[48];              /* "accuracy", "language-gap", ... */
	char title[160];
	char caption[640];          /* how to read it */
	bool png, svg;              /* the image was drawn (the file exists and is not empty) */
};

struct rpt_plots {
	struct rpt_plot *plot;      /* n, owned: rpt_plots_release */
	size_t n;
	bool have_gnuplot;          /* gnuplot could be started */
	char terminal[16];          /* "pngcairo" or "png" (libgd) */
	char status[1024];          /* "" when every image was drawn, else why not (one line) */
	char dir[4096];             /* the folder the images are in (rpt_plots_write's out_dir); "" unknown */
};

/* Write the scripts and data of every plot the input has data for into
 * out_dir (which must exist), then run gnuplot on each script in out_dir.
 * gnuplot missing or failing is NOT an error: the scripts and data are still
 * written, the images are marked not drawn and out->status says why.
 * Errors: a file cannot be written (MRL_EWRITE), MRL_ENOMEM. out is zeroed
 * first and owned by the caller (rpt_plots_release), even on failure. */
int rpt_plots_write(const char *out_dir, const struct rpt_input *in, const struct rpt_plot_opts *opts,
		    struct rpt_plots *out, struct mrl_err *err);

/* Free what plots owns and zero it. */
void rpt_plots_release(struct rpt_plots *plots);

/* merilo compare's plot of generative metrics (EM, F1, ROUGE-L, chrF, chrF++,
 * BLEU, script_ok, lang_ok): candidate - base per task x language x metric with
 * its paired CI and Holm-adjusted p, as NAME.gp, NAME.dat and NAME.png/.svg in
 * out_dir (which must exist). Nothing is written when res has no such row
 * (out->n 0). gnuplot missing is not an error, as for rpt_plots_write. */
int rpt_compare_plot_write(const char *out_dir, const char *name, const struct rpt_cmp_result *res,
			   const struct rpt_plot_opts *opts, struct rpt_plots *out, struct mrl_err *err);

/* Write out_dir/report.html (self-contained HTML + CSS; images referenced by
 * relative paths next to it) and out_dir/report.md from in and the plots
 * (plots may be NULL: no plots). Every string from in is escaped. Returns 0,
 * MRL_EWRITE naming the file, or MRL_ENOMEM. */
int rpt_report_write(const char *out_dir, const struct rpt_input *in, const struct rpt_plots *plots,
		     struct mrl_err *err);

/* =================== end of section "report" =================== */

#endif
