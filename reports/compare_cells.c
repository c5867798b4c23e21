/* compare_cells.c — how one figure of a comparison is written, the same in
 * the terminal, markdown and JUnit: a value in display units (percent for
 * right/wrong metrics), its CI, a KL figure, a covered fraction.
 */
#include "reports/compare_int.h"

#include <math.h>

/* A value in display units: percent for right/wrong metrics (and gaps of them), the metric's unit otherwise. */
void rpt_cmp_add_value(struct mrl_buf *s, const struct rpt_cmp_row *row, double v, bool signed_)
{
	if (isnan(v))
		mrl_buf_add(s, "—");
	else if (row->in->kind == RPT_METRIC_BINARY || row->in->percent)
		mrl_buf_addf(s, signed_ ? "%+.1f" : "%.1f", 100.0 * v);
	else
		mrl_buf_addf(s, signed_ ? "%+.4g" : "%.4g", v);
}

void rpt_cmp_add_ci(struct mrl_buf *s, const struct rpt_cmp_row *row)
{
	mrl_buf_add(s, "[");
	rpt_cmp_add_value(s, row, row->ci_low, true);
	mrl_buf_add(s, ", ");
	rpt_cmp_add_value(s, row, row->ci_high, true);
	mrl_buf_add(s, "]");
}

/* KL figures: nats with 4 significant digits; "inf" where the candidate gave 0. */
void rpt_cmp_add_kl(struct mrl_buf *s, double v)
{
	if (isnan(v))
		mrl_buf_add(s, "—");
	else if (isinf(v))
		mrl_buf_add(s, "inf");
	else
		mrl_buf_addf(s, "%.4g", v);
}

void rpt_cmp_add_pct(struct mrl_buf *s, double v)
{
	if (isnan(v))
		mrl_buf_add(s, "—");
	else if (v > 0 && v < 0.01) /* a tiny covered mass must not print as 0.00% */
		mrl_buf_addf(s, "%.2g%%", 100 * v);
	else
		mrl_buf_addf(s, "%.2f%%", 100 * v);
}

/* "limit (base all, candidate 30), fewshot (base 0, candidate 3)": the
 * differences whose allowed flag is `allowed`. */
void rpt_cmp_add_differences(struct mrl_buf *s, const struct rpt_cmp_meta *meta, bool allowed,
			     void (*esc)(struct mrl_buf *, const char *))
{
	bool first = true;
	for (size_t i = 0; meta && i < meta->n_diffs; i++) {
		const struct rpt_cmp_difference *d = &meta->diffs[i];
		if (d->allowed != allowed)
			continue;
		mrl_buf_add(s, first ? "" : ", ");
		first = false;
		esc(s, d->setting);
		mrl_buf_add(s, " (base ");
		esc(s, d->base);
		mrl_buf_add(s, ", candidate ");
		esc(s, d->cand);
		mrl_buf_add(s, ")");
	}
}

/* "limit,fewshot": the settings that block the gate, as --allow-different takes them. */
void rpt_cmp_add_allow_list(struct mrl_buf *s, const struct rpt_cmp_meta *meta,
			    void (*esc)(struct mrl_buf *, const char *))
{
	bool first = true;
	for (size_t i = 0; meta && i < meta->n_diffs; i++)
		if (!meta->diffs[i].allowed) {
			mrl_buf_add(s, first ? "" : ",");
			esc(s, meta->diffs[i].setting);
			first = false;
		}
}

/* Why gated comparisons are undetermined for want of pairs: "text/en perplexity:
 * worse by 313100 points over 6 pairs, where Holm p cannot fall below 0.62;" per row. */
void rpt_cmp_add_underpowered(struct mrl_buf *s, const struct rpt_cmp_result *res,
			      void (*esc)(struct mrl_buf *, const char *))
{
	mrl_buf_add(s, "too few pairs to show a change, however large:");
	for (size_t i = 0; i < res->n_rows; i++) {
		const struct rpt_cmp_row *r = &res->rows[i];
		if (!r->gate_underpowered)
			continue;
		mrl_buf_add(s, " ");
		esc(s, r->in->task);
		mrl_buf_add(s, "/");
		esc(s, r->in->language);
		mrl_buf_add(s, " ");
		esc(s, r->in->metric);
		mrl_buf_addf(s, " %s beyond the threshold over %zu pairs, where Holm p cannot fall below %.3g;",
			     r->lower_is_better ? "rose" : "fell", r->in->n_pairs, r->p_floor);
	}
	mrl_buf_addf(s, " alpha is %g (compare on more items, or gate fewer metrics, tasks or languages)", res->opts.alpha);
}

/* A comma list of n names into s. */
static void add_names(struct mrl_buf *s, const char *const *names, size_t n, void (*esc)(struct mrl_buf *, const char *))
{
	for (size_t i = 0; i < n; i++) {
		mrl_buf_add(s, i ? "," : "");
		esc(s, names[i]);
	}
}

void rpt_cmp_add_gate_empty(struct mrl_buf *s, const struct rpt_cmp_result *res,
			    void (*esc)(struct mrl_buf *, const char *))
{
	const struct rpt_compare_opts *o = &res->opts;
	if (!o->n_gate && isnan(res->kl_gate_max_mean)) {
		mrl_buf_add(s, "no metric is gated (the runs have neither acc nor acc_norm: choose with --gate)");
		return;
	}
	mrl_buf_add(s, "no gated comparison has a pair of items to judge (gated metrics ");
	for (size_t g = 0; g < o->n_gate; g++) {
		mrl_buf_add(s, g ? "," : "");
		esc(s, o->gate[g].metric);
	}
	if (o->gate_tasks) {
		mrl_buf_add(s, " on tasks ");
		add_names(s, o->gate_tasks, o->n_gate_tasks, esc);
	}
	if (o->gate_languages) {
		mrl_buf_add(s, " in languages ");
		add_names(s, o->gate_languages, o->n_gate_languages, esc);
	}
	mrl_buf_add(s, "): choose others with --gate, --gate-tasks or --gate-languages");
}

/* Why the KL gate is undetermined: "all/all: top-K mass median 0.03% (min 0.01%)"
 * per undetermined row, and the threshold. */
void rpt_cmp_add_undetermined(struct mrl_buf *s, const struct rpt_cmp_result *res,
			      void (*esc)(struct mrl_buf *, const char *))
{
	mrl_buf_add(s, "the stored top-K lists hold too little of the probability mass to bound KL:");
	for (size_t i = 0; i < res->n_kl; i++) {
		const struct rpt_kl_row *r = &res->kl[i];
		if (!r->undetermined)
			continue;
		mrl_buf_add(s, " ");
		esc(s, r->task);
		mrl_buf_add(s, "/");
		esc(s, r->language);
		mrl_buf_add(s, " median ");
		rpt_cmp_add_pct(s, r->topk_mass_median);
		mrl_buf_add(s, " (min ");
		rpt_cmp_add_pct(s, r->topk_mass_min);
		mrl_buf_add(s, ");");
	}
	mrl_buf_add(s, " below --kl-min-coverage ");
	rpt_cmp_add_pct(s, res->opts.kl_min_coverage);
	mrl_buf_add(s, " (store longer lists: merilo run --store-topk N)");
}
