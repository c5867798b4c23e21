/* rpt.h — merilo's reports module: what people and CI systems read.
 *
 * Functions over plain data: the harness loads result records (results.json,
 * items.jsonl), fills the structs below, and gets back verdicts and rendered
 * text (terminal, markdown, JSON, JUnit XML, HTML, CSV, gnuplot scripts).
 * reports/ includes nothing from harness/ (STYLE.md: harness -> reports);
 * it may use metrics/ for statistics. Nothing here prints or exits.
 *
 * Sections, each owned by one engineer:
 *   - strings and escaping, checkpoint comparison, the CI gate, leaderboards
 *     ("compare": escape.c, compare.c, leaderboard.c);
 *   - plots and the HTML/markdown report ("report": plot*.c, html*.c).
 */
#ifndef MRL_RPT_H
#define MRL_RPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* ===================================================================
 * Section "compare": strings, escaping, comparison, gate, leaderboard
 * (reports/escape.c, reports/compare.c, reports/leaderboard.c;
 * formats and rules in docs/compare.md)
 * =================================================================== */

/* ---- growable string (reports/escape.c) ----
 * A plain value owned by the caller. Appending never fails loudly: running out
 * of memory sets `oom` and later appends do nothing, so a renderer can append
 * freely and check once at the end (rpt_str_take returns NULL then). */
struct rpt_str {
	char *data;   /* NUL-terminated when len > 0 or after any append; may be NULL when empty */
	size_t len, cap;
	bool oom;
};

void rpt_str_init(struct rpt_str *s);
/* Free the buffer and zero s. */
void rpt_str_release(struct rpt_str *s);
void rpt_str_add(struct rpt_str *s, const char *text);
void rpt_str_addn(struct rpt_str *s, const char *text, size_t n);
void rpt_str_addf(struct rpt_str *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Hand the text to the caller (free() it) and reset s; NULL after an allocation
 * failure (s is released then too). Never NULL otherwise (an empty string). */
char *rpt_str_take(struct rpt_str *s);

/* ---- escaping text taken from files (reports/escape.c) ----
 * Every string that comes from a record (model names, item ids, prompts, paths)
 * goes through one of these before it is put into an output. NULL appends "". */

/* HTML text and attribute values: & < > " ' become entities. */
void rpt_esc_html(struct rpt_str *s, const char *text);
/* XML 1.0 (JUnit): as HTML, and control characters that XML 1.0 forbids
 * (all below 0x20 except tab, LF, CR) become U+FFFD. */
void rpt_esc_xml(struct rpt_str *s, const char *text);
/* Markdown (GitHub flavoured) inline text, safe in a table cell: & < > become
 * entities (so raw HTML never renders), markdown punctuation gets a backslash,
 * | is escaped, and newlines/tabs become spaces. */
void rpt_esc_md(struct rpt_str *s, const char *text);
/* One CSV field (RFC 4180): quoted when it holds , " CR or LF (quotes doubled);
 * a field starting with = + - @ TAB or CR gets a leading ' so that spreadsheets
 * do not run it as a formula (OWASP "CSV injection"). For text fields only:
 * write numbers with printf. */
void rpt_esc_csv(struct rpt_str *s, const char *text);
/* At most max_chars Unicode characters of text (cut at a character boundary,
 * "…" appended when cut), then escaped with esc. */
void rpt_esc_trunc(struct rpt_str *s, const char *text, size_t max_chars,
		   void (*esc)(struct rpt_str *, const char *));

/* ---- checkpoint comparison (reports/compare.c) ---- */

enum rpt_metric_kind {
	RPT_METRIC_BINARY = 0, /* per item right (1) / wrong (0): accuracies */
	RPT_METRIC_GRADED = 1, /* per item a real value: perplexity, bits per char, F1 */
};

/* Whether a smaller value of the metric is better (perplexity, word_perplexity,
 * bits_per_byte, bits_per_char, and names ending in "_loss"). */
bool rpt_metric_lower_is_better(const char *metric);

/* One item present in both runs. Strings are borrowed. */
struct rpt_pair {
	const char *item_id;
	const char *prompt;  /* the rendered prompt (candidate's, else base's); NULL when not recorded */
	double base, cand;   /* binary: 1 right, 0 wrong; graded: the item's value */
};

/* The input of one comparison: one metric on one task x language, over the items
 * both runs have. Everything is borrowed and must outlive the result. */
struct rpt_cmp_input {
	const char *task, *language, *metric;
	enum rpt_metric_kind kind;
	const struct rpt_pair *pairs;
	size_t n_pairs;
	size_t n_base_only, n_cand_only; /* items in one run only: not compared */
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
};

/* alpha 0.05, no gate, bootstrap defaults of metrics/met.h. */
void rpt_compare_opts_init(struct rpt_compare_opts *opts);

enum rpt_verdict {
	RPT_VERDICT_SAME = 0,  /* no significant change */
	RPT_VERDICT_BETTER = 1,
	RPT_VERDICT_WORSE = 2,
};

/* "better", "worse", "no significant change" (static strings). */
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
	size_t *flips_rw, *flips_wr;     /* owned: indices into in->pairs (binary only) */
	size_t n_flips_rw, n_flips_wr;
};

struct rpt_cmp_result {
	struct rpt_cmp_row *rows;        /* n_rows, in input order; owned */
	size_t n_rows;
	size_t n_gated, n_gate_failed;
	struct rpt_compare_opts opts;    /* copy of the options used (pointers borrowed) */
};

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
struct rpt_cmp_meta {
	struct rpt_cmp_side base, cand;
	const char *const *notes;   /* n_notes lines: warnings, data a run lacks (KL, performance) */
	size_t n_notes;
	const char *perf_md;        /* optional extra section (already formatted markdown/text), NULL none */
};

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
	const struct rpt_lb_cell *cells;
	size_t n_cells;
	double tokens_per_s;       /* NaN when the run has no throughput */
	double joules_per_token;   /* NaN when no energy was measured */
};

/* Render a leaderboard of n_rows runs for `metric` as html (self-contained,
 * sortable columns, no external resources), md or csv. Columns: each task x
 * language seen in any row; the average per language (mean over the tasks the
 * row has in that language); the en->BCMS gap (mean of en minus mean of the
 * BCMS languages' averages: sr*, hr, bs, cnr, me); the Cyrillic/Latin gap
 * (sr-Cyrl average minus sr-Latn average); tokens/s; J/token; the manifest.
 * Rows are sorted by the mean of their per-language averages, best first.
 * Returns a new string (caller frees) or NULL with err set. */
char *rpt_leaderboard_render(const struct rpt_lb_row *rows, size_t n_rows, const char *metric, enum rpt_format fmt,
			     struct mrl_err *err);

/* =================== end of section "compare" =================== */

#endif
