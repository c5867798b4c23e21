/* cmp_int.h — what harness/cmd_compare.c shares with the parts of merilo
 * compare split from it (cmp_kl.c, cmp_bench.c, cmp_state.c, cmp_plot.c): the options, the comparison's state and
 * the helpers both sides use. Internal to the compare command.
 */
#ifndef MRL_CMP_INT_H
#define MRL_CMP_INT_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "harness/progress.h"
#include "records/comparable.h"
#include "records/done_set.h"
#include "records/item.h"
#include "records/item_writer.h"
#include "records/items.h"
#include "records/results.h"
#include "reports/rpt.h"

#define MAX_GATE 64

struct cmp_opts {
	const char *base_dir, *cand_dir;
	const char *config, *gate_list, *out_prefix;
	const char *gate_tasks, *gate_languages; /* --gate-tasks, --gate-languages: comma lists; NULL not given */
	const char *baseline, *db_path; /* --baseline NAME: the base is a stored run (merilo db) */
	double threshold_points, alpha;
	double gate_kl;               /* maximum mean KL in nats; NaN: KL not gated */
	bool have_threshold, have_alpha, have_gate_kl;
	int format;
	uint64_t seed;
	size_t n_boot;
	long threads;                 /* --threads: bootstrap threads; 0 = the CPUs this process may use */
	bool allow_different_suites;
	const char *allow_different;  /* --allow-different SETTING,...; NULL none */
	double kl_min_coverage;       /* --kl-min-coverage; default RPT_KL_MIN_COVERAGE */
	double gate_perf;             /* relative; NaN: performance deltas not gated */
	bool quiet;                   /* one line with the outcome instead of the report on stdout */
};

/* Everything the comparison owns, released in one place. */
struct cmp_state {
	struct rec_results base_r, cand_r;
	struct rec_items base_i, cand_i;
	char *base_bench;             /* --baseline: the base's bench record as the database holds it; NULL for none */
	size_t base_bench_len;
	char base_bench_where[PATH_MAX]; /* "DB: run ID: bench record" */
	const struct rec_item **base_sorted, **cand_sorted;
	struct rpt_cmp_input *inputs;
	size_t n_inputs, cap_inputs;
	char **notes;
	size_t n_notes;
	/* gate, from the config file and flags */
	struct rpt_gate_metric gate[MAX_GATE];
	char *gate_names[MAX_GATE];
	size_t n_gate;
	char **gate_tasks, **gate_languages;
	size_t n_gate_tasks, n_gate_languages;
	bool gate_from_user;
	struct mrl_buf perf;
	struct rpt_kl_row *kl_rows;   /* n_kl_rows: per task x language, then "all" */
	size_t n_kl_rows;
	size_t n_perf_gated;          /* bench figures --gate-perf checked (tokens/s, TTFT: those with a CI) */
	size_t n_perf_failed;         /* bench deltas past --gate-perf */
	struct mrl_buf perf_failures; /* the failed ones: "pp32 (1 thread): prefill tokens/s x0.4200, CI [0.4100, 0.4300];" */
	char perf_undetermined[1024]; /* why --gate-perf cannot decide (no bench record ...); "" when it can */
	/* comparability (cmp_settings.c): both runs' score-changing settings, and the
	 * differences, pointing into them and into items_base/items_cand */
	struct rec_comparable base_c, cand_c;
	struct rpt_cmp_difference diffs[REC_CMP_N_SETTINGS + 1];
	size_t n_diffs;
	char items_base[48], items_cand[96];
	/* by value of a task's breakdown (cmp_values.c): the split comparisons, the pairs they
	 * point into (one owned array per whole comparison split) and their result */
	struct rpt_cmp_input *value_inputs;
	size_t n_value_inputs, cap_value_inputs;
	struct rpt_pair **value_pairs;
	size_t n_value_pairs;
	struct rpt_cmp_result by_value;
	/* the changes of the language gaps (cmp_gaps.c), owned likewise */
	struct rpt_cmp_input *gap_inputs;
	size_t n_gap_inputs, cap_gap_inputs;
	struct rpt_pair **gap_pairs;
	size_t n_gap_pairs;
	struct rpt_cmp_result gaps;
	struct hrn_progress progress; /* on stderr while the comparisons are computed (harness/progress.h) */
	const char *progress_what;    /* the family being computed, for the progress line */
};

/* Add a note (printf-style) to the comparison's notes; 0 or MRL_ENOMEM. */
int hrn_cmp_add_note(struct cmp_state *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Items are grouped by task x language: same_group says whether a and b are in
 * one group; group_cmp orders the groups (0 within one). cmp_state.c. */
bool hrn_cmp_same_group(const struct rec_item *a, const struct rec_item *b);
int hrn_cmp_group_cmp(const struct rec_item *a, const struct rec_item *b);
/* Comparability (cmp_settings.c). hrn_cmp_allow_check: 0 when every name of
 * the --allow-different list is a setting (or "items"), else MRL_EINPUT with
 * the valid names. hrn_cmp_settings: after the items are sorted, the settings
 * in which the runs differ (records/comparable.h) and whether the candidate
 * covers fewer items than the base, into st->diffs, each marked allowed when
 * --allow-different (or --allow-different-suites) names it; plus a note per
 * difference. 0 or MRL_ENOMEM. */
int hrn_cmp_allow_check(const char *list, struct mrl_err *err);
int hrn_cmp_settings(struct cmp_state *st, const struct cmp_opts *o, struct mrl_err *err);
void hrn_cmp_settings_release(struct cmp_state *st);
/* The KL section (cmp_kl.c): fills st->kl_rows, or says in a note why not. */
int hrn_cmp_kl_section(struct cmp_state *st, const struct cmp_opts *o, struct mrl_err *err);
/* The performance section from the runs' bench records (cmp_bench.c): the table
 * into st->perf, or a note saying why not; with --gate-perf also the gated and
 * failed counts, the failures and, where the gate cannot decide, why. 0, a
 * malformed record's code, or MRL_ENOMEM. */
int hrn_cmp_bench_section(struct cmp_state *st, const struct cmp_opts *o, struct mrl_err *err);
/* The performance section and gate into meta (perf_md, perf_*; pointing into st).
 * 0, or MRL_ENOMEM when building them ran out of memory. */
int hrn_cmp_perf_meta(const struct cmp_state *st, const struct cmp_opts *o, struct rpt_cmp_meta *meta,
		      struct mrl_err *err);
/* --out PREFIX: the generative metrics' plot as PREFIX-generation.* (cmp_plot.c;
 * nothing when res has no generative row); a gnuplot problem is a warning on
 * stderr unless quiet. 0, or MRL_EWRITE / MRL_ENOMEM. */
int hrn_cmp_plot(const char *prefix, const struct rpt_cmp_result *res, bool quiet, struct mrl_err *err);

/* By value of a task's breakdown (cmp_values.c): each whole comparison of a gated metric
 * (every metric when none is gated) whose pairs carry breakdown values, split by value and
 * compared with co's statistics, no gate, Holm across the split ones alone, into
 * st->by_value; a note where only one run's records carry values. 0 or MRL_ENOMEM. */
int hrn_cmp_by_value(struct cmp_state *st, const struct rpt_compare_opts *co, struct mrl_err *err);
void hrn_cmp_by_value_release(struct cmp_state *st);
/* The language gaps' changes (cmp_gaps.c): for each task and gated metric (every metric when
 * none is gated), each pair of its languages, oriented as the reports do (English, else
 * the Cyrillic side, first), over the items both runs scored in both: per item the gap
 * A - B in each run, compared as a graded metric (candidate - base), no gate, Holm
 * across these rows alone, into st->gaps. 0 or MRL_ENOMEM. */
int hrn_cmp_gaps(struct cmp_state *st, const struct rpt_compare_opts *co, struct mrl_err *err);
void hrn_cmp_gaps_release(struct cmp_state *st);
/* rpt_compare of inputs with co, st->progress counting its rows (weighed by their pairs) as a
 * stage named what ("comparisons"). cmp_state.c. */
int hrn_cmp_compare(struct cmp_state *st, const char *what, const struct rpt_cmp_input *inputs, size_t n,
		    const struct rpt_compare_opts *co, struct rpt_cmp_result *res, struct mrl_err *err);
/* A family of comparisons besides the gate's (by value, the gaps): hrn_cmp_compare with co's
 * statistics and no gate, Holm across them alone. cmp_state.c. */
int hrn_cmp_family(struct cmp_state *st, const char *what, const struct rpt_cmp_input *inputs, size_t n,
		   const struct rpt_compare_opts *co, struct rpt_cmp_result *res, struct mrl_err *err);
/* Whether those families cover metric: a gated one, or any when no metric is gated. */
bool hrn_cmp_split_metric(const struct cmp_state *st, const char *metric);
/* Room for input n in *inputs (capacity *cap, doubled when full, 64 at first). 0 or MRL_ENOMEM
 * (*inputs unchanged). cmp_state.c. */
int hrn_cmp_grow(struct rpt_cmp_input **inputs, size_t n, size_t *cap);
/* The gate's flags checked against st's comparisons (cmp_gate.c): --gate,
 * --gate-tasks and --gate-languages (the last two replace the config's lists).
 * HRN_EXIT_OK, or the exit code (2: a name no comparison has). */
int hrn_cmp_gate_flags(struct cmp_state *st, const struct cmp_opts *o);

#endif
