/* compare_cells.c — how one figure of a comparison is written, the same in
 * the terminal, markdown and JUnit: a value in display units (percent for
 * right/wrong metrics), its CI, a KL figure, a covered fraction.
 */
#include "reports/compare_int.h"

#include <math.h>

/* A value in display units: percent for right/wrong metrics, the metric's unit otherwise. */
void rpt_cmp_add_value(struct mrl_buf *s, const struct rpt_cmp_row *row, double v, bool signed_)
{
	if (isnan(v))
		mrl_buf_add(s, "—");
	else if (row->in->kind == RPT_METRIC_BINARY)
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
