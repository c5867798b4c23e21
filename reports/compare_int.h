/* compare_int.h — what the files of the comparison share (compare.c,
 * compare_cells.c, compare_text.c, compare_json.c); internal to reports/.
 */
#ifndef MRL_RPT_COMPARE_INT_H
#define MRL_RPT_COMPARE_INT_H

#include <stdbool.h>

#include "reports/rpt.h"

/* Whether a KL row is the overall one (task and language "all"). */
bool rpt_kl_row_is_overall(const struct rpt_kl_row *r);

/* Gated comparisons and failed ones: metrics and KL rows (res) plus the bench
 * figures of a performance gate (meta, may be NULL). compare.c. */
size_t rpt_cmp_n_gated(const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta);
size_t rpt_cmp_n_gate_failed(const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta);

/* Cells (compare_cells.c). A value of row's metric in display units: percent
 * for right/wrong metrics, the metric's unit otherwise; "—" for NaN; signed_
 * adds a + to positive values. */
void rpt_cmp_add_value(struct mrl_buf *s, const struct rpt_cmp_row *row, double v, bool signed_);
/* The row's CI as "[lo, hi]", signed, in display units. */
void rpt_cmp_add_ci(struct mrl_buf *s, const struct rpt_cmp_row *row);
/* A KL figure: nats, 4 significant digits; "inf" where the candidate gave 0. */
void rpt_cmp_add_kl(struct mrl_buf *s, double v);
/* A fraction as a percentage; a tiny nonzero one never prints as 0.00%. */
void rpt_cmp_add_pct(struct mrl_buf *s, double v);
/* The differences whose allowed flag is `allowed`, each with both values:
 * "limit (base all, candidate 30), fewshot (base 0, candidate 3)". */
void rpt_cmp_add_differences(struct mrl_buf *s, const struct rpt_cmp_meta *meta, bool allowed,
			     void (*esc)(struct mrl_buf *, const char *));
/* The blocking settings as --allow-different takes them: "limit,fewshot". */
void rpt_cmp_add_allow_list(struct mrl_buf *s, const struct rpt_cmp_meta *meta,
			    void (*esc)(struct mrl_buf *, const char *));
/* Why the gate judges nothing (rpt_cmp_gate_empty): the gated metrics and filters. */
void rpt_cmp_add_gate_empty(struct mrl_buf *s, const struct rpt_cmp_result *res,
			    void (*esc)(struct mrl_buf *, const char *));
/* Why the KL gate is undetermined (each undetermined row's top-K mass, the threshold). */
/* Why gated comparisons with too few pairs are undetermined (rows with gate_underpowered). */
void rpt_cmp_add_underpowered(struct mrl_buf *s, const struct rpt_cmp_result *res,
			      void (*esc)(struct mrl_buf *, const char *));
void rpt_cmp_add_undetermined(struct mrl_buf *s, const struct rpt_cmp_result *res,
			      void (*esc)(struct mrl_buf *, const char *));

/* The JSON document of a comparison (owned by the caller, free() it), or NULL
 * when out of memory (compare_json.c). */
char *rpt_cmp_render_json(const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta);
/* Append the JUnit XML of a comparison to s (compare_json.c). */
void rpt_cmp_render_junit(struct mrl_buf *s, const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta);

#endif
