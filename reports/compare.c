/* compare.c — checkpoint comparison: paired statistics, verdicts, the CI gate,
 * and the four renderings (terminal table, markdown PR comment, JSON, JUnit XML).
 *
 * The idea: a comparison is one metric on one task x language over the items both
 * runs scored. For each, the paired difference (candidate - base) with a paired
 * bootstrap CI, an exact McNemar test for right/wrong metrics (Wilcoxon
 * signed-rank for graded ones), and Holm's correction across every comparison
 * made, so that comparing 50 task x language x metric cells does not turn noise
 * into a "regression". A verdict is better/worse only when the Holm-adjusted p
 * is below alpha; the gate fails only when, in addition, the metric is gated and
 * the drop exceeds its threshold in points. Definitions: docs/compare.md.
 *
 * When both runs stored top-K log-probabilities, the KL divergence of the
 * next-token distributions is estimated per position over the tokens both
 * lists hold plus one tail bucket: a lower bound (log-sum inequality), shown
 * with the base mass those tokens cover so a reader can tell how tight it is.
 */
#include "reports/rpt.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/met.h"

bool rpt_metric_lower_is_better(const char *metric)
{
	static const char *const lower[] = { "perplexity", "word_perplexity", "bits_per_byte", "bits_per_char",
					     "bits_per_token" };
	if (!metric)
		return false;
	for (size_t i = 0; i < sizeof lower / sizeof lower[0]; i++)
		if (!strcmp(metric, lower[i]))
			return true;
	size_t n = strlen(metric);
	return n >= 5 && !strcmp(metric + n - 5, "_loss");
}

void rpt_compare_opts_init(struct rpt_compare_opts *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->alpha = 0.05;
	opts->seed = MET_BOOT_DEFAULT_SEED;
	opts->n_resamples = MET_BOOT_DEFAULT_RESAMPLES;
	opts->ci_level = MET_BOOT_DEFAULT_LEVEL;
}

const char *rpt_verdict_name(enum rpt_verdict v)
{
	switch (v) {
	case RPT_VERDICT_BETTER: return "better";
	case RPT_VERDICT_WORSE: return "worse";
	default: return "no significant change";
	}
}

void rpt_cmp_result_release(struct rpt_cmp_result *res)
{
	for (size_t i = 0; res->rows && i < res->n_rows; i++) {
		free(res->rows[i].flips_rw);
		free(res->rows[i].flips_wr);
	}
	free(res->rows);
	free(res->kl);
	memset(res, 0, sizeof *res);
	res->kl_gate_max_mean = NAN;
}

static bool in_list(const char *const *list, size_t n, const char *s)
{
	if (!list)
		return true;
	for (size_t i = 0; i < n; i++)
		if (list[i] && s && !strcmp(list[i], s))
			return true;
	return false;
}

/* Statistics of one comparison (everything but Holm, verdict and gate). */
static int compute_row(const struct rpt_cmp_input *in, const struct rpt_compare_opts *opts, struct rpt_cmp_row *row,
		       struct mrl_err *err)
{
	int rc = 0;
	size_t n = in->n_pairs;
	double *base = NULL, *cand = NULL;
	row->in = in;
	row->lower_is_better = rpt_metric_lower_is_better(in->metric);
	row->base_mean = row->cand_mean = row->diff = row->ci_low = row->ci_high = NAN;
	row->p = 1.0;
	row->test = in->kind == RPT_METRIC_BINARY ? "mcnemar-exact" : "wilcoxon-signed-rank";
	row->max_drop_points = NAN;
	if (n == 0)
		return 0;
	base = malloc(n * sizeof *base);
	cand = malloc(n * sizeof *cand);
	if (in->kind == RPT_METRIC_BINARY) {
		row->flips_rw = malloc(n * sizeof *row->flips_rw);
		row->flips_wr = malloc(n * sizeof *row->flips_wr);
	}
	if (!base || !cand || (in->kind == RPT_METRIC_BINARY && (!row->flips_rw || !row->flips_wr))) {
		rc = mrl_err_set(err, MRL_ENOMEM, "compare: out of memory for %zu items", n);
		goto out;
	}
	double sum_b = 0, sum_c = 0;
	for (size_t i = 0; i < n; i++) {
		double b = in->pairs[i].base, c = in->pairs[i].cand;
		if (!isfinite(b) || !isfinite(c)) {
			rc = mrl_err_set(err, MRL_EINPUT, "compare: %s/%s %s: item '%s' has a non-finite value",
					 in->task, in->language, in->metric,
					 in->pairs[i].item_id ? in->pairs[i].item_id : "?");
			goto out;
		}
		if (in->kind == RPT_METRIC_BINARY && ((b != 0 && b != 1) || (c != 0 && c != 1))) {
			rc = mrl_err_set(err, MRL_EINPUT, "compare: %s/%s %s: item '%s': right/wrong value not 0 or 1",
					 in->task, in->language, in->metric,
					 in->pairs[i].item_id ? in->pairs[i].item_id : "?");
			goto out;
		}
		base[i] = b;
		cand[i] = c;
		sum_b += b;
		sum_c += c;
		if (in->kind == RPT_METRIC_BINARY) {
			if (b == 1 && c == 0)
				row->flips_rw[row->n_flips_rw++] = i;
			else if (b == 0 && c == 1)
				row->flips_wr[row->n_flips_wr++] = i;
		}
	}
	row->base_mean = sum_b / (double)n;
	row->cand_mean = sum_c / (double)n;

	struct met_boot_opts bo;
	met_boot_opts_init(&bo);
	bo.seed = opts->seed;
	bo.n_resamples = opts->n_resamples;
	bo.level = opts->ci_level;
	struct met_ci ci;
	rc = met_boot_paired_diff_ci(cand, base, n, &bo, &ci, err);
	if (rc)
		goto out;
	row->diff = ci.estimate;
	row->ci_low = ci.lo;
	row->ci_high = ci.hi;
	if (in->kind == RPT_METRIC_BINARY) {
		row->n_right_to_wrong = row->n_flips_rw;
		row->n_wrong_to_right = row->n_flips_wr;
		row->p = met_mcnemar_exact_p(row->n_right_to_wrong, row->n_wrong_to_right);
	} else {
		struct met_wilcoxon w;
		rc = met_wilcoxon_paired(cand, base, n, &w, err);
		if (rc)
			goto out;
		row->p = w.p;
	}
out:
	free(base);
	free(cand);
	return rc;
}

int rpt_compare(const struct rpt_cmp_input *inputs, size_t n_inputs, const struct rpt_compare_opts *opts,
		struct rpt_cmp_result *res, struct mrl_err *err)
{
	int rc = 0;
	double *p = NULL;
	memset(res, 0, sizeof *res);
	res->kl_gate_max_mean = NAN;
	struct rpt_compare_opts defaults;
	if (!opts) {
		rpt_compare_opts_init(&defaults);
		opts = &defaults;
	}
	res->opts = *opts;
	if (!(opts->alpha > 0 && opts->alpha < 1))
		return mrl_err_set(err, MRL_EINPUT, "compare: alpha %g is not in (0, 1)", opts->alpha);
	for (size_t g = 0; g < opts->n_gate; g++) {
		const struct rpt_gate_metric *gm = &opts->gate[g];
		if (!gm->metric || !(gm->max_drop_points >= 0) || !isfinite(gm->max_drop_points))
			return mrl_err_set(err, MRL_EINPUT, "compare: gate %zu: needs a metric and a threshold >= 0 points",
					   g + 1);
		bool found = false;
		for (size_t i = 0; i < n_inputs && !found; i++)
			found = inputs[i].metric && !strcmp(inputs[i].metric, gm->metric);
		if (!found)
			return mrl_err_set(err, MRL_EINPUT,
					   "compare: gated metric '%s' is in no comparison (not a metric both runs have)",
					   gm->metric);
	}
	if (n_inputs == 0)
		return 0;
	res->rows = calloc(n_inputs, sizeof *res->rows);
	p = malloc(n_inputs * sizeof *p);
	if (!res->rows || !p) {
		rc = mrl_err_set(err, MRL_ENOMEM, "compare: out of memory");
		goto out;
	}
	res->n_rows = n_inputs;
	for (size_t i = 0; i < n_inputs; i++) {
		rc = compute_row(&inputs[i], opts, &res->rows[i], err);
		if (rc)
			goto out;
		p[i] = res->rows[i].p;
	}
	rc = met_holm(p, n_inputs, p, err);
	if (rc)
		goto out;
	for (size_t i = 0; i < n_inputs; i++) {
		struct rpt_cmp_row *row = &res->rows[i];
		row->p_holm = p[i];
		double improvement = row->lower_is_better ? -row->diff : row->diff;
		row->verdict = RPT_VERDICT_SAME;
		if (row->in->n_pairs > 0 && row->p_holm < opts->alpha && improvement != 0)
			row->verdict = improvement > 0 ? RPT_VERDICT_BETTER : RPT_VERDICT_WORSE;
		for (size_t g = 0; g < opts->n_gate; g++) {
			if (strcmp(opts->gate[g].metric, row->in->metric))
				continue;
			if (!in_list(opts->gate_tasks, opts->n_gate_tasks, row->in->task) ||
			    !in_list(opts->gate_languages, opts->n_gate_languages, row->in->language))
				continue;
			row->gated = true;
			row->max_drop_points = opts->gate[g].max_drop_points;
		}
		if (row->gated) {
			res->n_gated++;
			double drop_points = -improvement * 100.0;
			row->gate_failed = row->verdict == RPT_VERDICT_WORSE && drop_points > row->max_drop_points;
			if (row->gate_failed)
				res->n_gate_failed++;
		}
	}
out:
	free(p);
	return rc;
}

/* ------------------------------------------- KL divergence from top-K lists */

/* A top-K list must be a piece of one distribution: log-probabilities <= 0 (a
 * tiny positive rounding allowed), no NaN, no token twice, mass <= 1 (+1e-6).
 * Returns ln(mass of the list) in *lse. */
static int check_topk(const char *side, const int32_t *id, const double *lp, size_t k, double *lse,
		      struct mrl_err *err)
{
	if (k == 0)
		return mrl_err_set(err, MRL_EINPUT, "KL: the %s top-K list is empty (k = 0)", side);
	double m = -INFINITY;
	for (size_t i = 0; i < k; i++) {
		if (isnan(lp[i]) || lp[i] > 1e-9)
			return mrl_err_set(err, MRL_EINPUT, "KL: %s top-K entry %zu (token %ld): log-probability %g is not <= 0",
					   side, i, (long)id[i], lp[i]);
		for (size_t j = 0; j < i; j++)
			if (id[j] == id[i])
				return mrl_err_set(err, MRL_EINPUT, "KL: %s top-K list has token %ld twice (entries %zu and %zu)",
						   side, (long)id[i], j, i);
		if (lp[i] > m)
			m = lp[i];
	}
	double s = 0;
	for (size_t i = 0; isfinite(m) && i < k; i++)
		s += exp(lp[i] - m);
	*lse = isfinite(m) ? m + log(s) : -INFINITY;
	if (*lse > log1p(1e-6))
		return mrl_err_set(err, MRL_EINPUT, "KL: %s top-K list holds probability %.9g > 1", side, exp(*lse));
	return 0;
}

/* ln(sum exp(x[i])) over n values, -inf for none (or all -inf). */
static double log_sum_exp(const double *x, size_t n)
{
	double m = -INFINITY, s = 0;
	for (size_t i = 0; i < n; i++)
		if (x[i] > m)
			m = x[i];
	if (!isfinite(m))
		return -INFINITY;
	for (size_t i = 0; i < n; i++)
		s += exp(x[i] - m);
	return m + log(s);
}

/* 1 - exp(lse) without cancellation, kept >= 1e-300 so that ln(P/Q) stays finite:
 * a tail of 0 is rounding (the stored lists are never the whole vocabulary). */
static double tail_mass(double lse)
{
	double t = lse < 0 ? -expm1(lse) : 0.0;
	return t < 1e-300 ? 1e-300 : t;
}

int rpt_kl_position(const int32_t *base_id, const double *base_lp, size_t base_k, const int32_t *cand_id,
		    const double *cand_lp, size_t cand_k, double *kl, double *covered, struct mrl_err *err)
{
	double lse_b, lse_c;
	int rc = check_topk("base", base_id, base_lp, base_k, &lse_b, err);
	if (!rc)
		rc = check_topk("candidate", cand_id, cand_lp, cand_k, &lse_c, err);
	if (rc)
		return rc;
	/* S = base list ∩ candidate list, in the base's order (both sums in the same order,
	 * so identical lists give bit-identical tails and exactly 0) */
	double *p = malloc(base_k * sizeof *p), *q = malloc(base_k * sizeof *q);
	if (!p || !q) {
		free(p);
		free(q);
		return mrl_err_set(err, MRL_ENOMEM, "KL: out of memory for a top-%zu list", base_k);
	}
	size_t n_shared = 0;
	double sum = 0;
	for (size_t i = 0; i < base_k; i++) {
		size_t j = 0;
		while (j < cand_k && cand_id[j] != base_id[i])
			j++;
		if (j == cand_k)
			continue;
		p[n_shared] = base_lp[i];
		q[n_shared++] = cand_lp[j];
		double P = exp(base_lp[i]);
		if (P > 0)
			sum += cand_lp[j] == -INFINITY ? INFINITY : P * (base_lp[i] - cand_lp[j]);
	}
	double lse_ps = log_sum_exp(p, n_shared), lse_qs = log_sum_exp(q, n_shared);
	double p_tail = tail_mass(lse_ps), q_tail = tail_mass(lse_qs);
	double d = sum + p_tail * log(p_tail / q_tail);
	/* D_K >= 0 exactly (a KL between two bucketed distributions); below 0 is rounding */
	*kl = d > 0 ? d : 0.0;
	double cov = exp(lse_ps);
	*covered = cov < 1 ? cov : 1.0;
	free(p);
	free(q);
	return 0;
}

static int cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int rpt_kl_summarize(const double *kl, const double *covered, const bool *top1_same, size_t n_topk,
		     const double *abs_dlogprob, size_t n, struct rpt_kl_row *row, struct mrl_err *err)
{
	int rc = 0;
	double *sorted = NULL;
	row->n_positions = n;
	row->n_positions_topk = n_topk;
	row->kl_mean = row->kl_median = row->kl_p90 = row->kl_p99 = row->kl_max = NAN;
	row->covered_mean = row->top1_agreement = row->abs_dlogprob_mean = NAN;
	if (n) {
		double s = 0;
		for (size_t i = 0; i < n; i++) {
			if (isnan(abs_dlogprob[i]))
				return mrl_err_set(err, MRL_EINPUT, "KL: %s/%s: |delta logprob| at position %zu is NaN",
						   row->task, row->language, i);
			s += abs_dlogprob[i];
		}
		row->abs_dlogprob_mean = s / (double)n;
	}
	if (!n_topk)
		return 0;
	if (!(sorted = malloc(n_topk * sizeof *sorted)))
		return mrl_err_set(err, MRL_ENOMEM, "KL: out of memory for %zu positions", n_topk);
	double s_kl = 0, s_cov = 0;
	size_t same = 0;
	for (size_t i = 0; i < n_topk; i++) {
		if (isnan(kl[i]) || isnan(covered[i])) {
			rc = mrl_err_set(err, MRL_EINPUT, "KL: %s/%s: NaN at position %zu", row->task, row->language, i);
			goto out;
		}
		sorted[i] = kl[i];
		s_kl += kl[i];
		s_cov += covered[i];
		same += top1_same[i];
	}
	qsort(sorted, n_topk, sizeof *sorted, cmp_dbl);
	row->kl_mean = s_kl / (double)n_topk;
	row->kl_median = met_percentile_sorted(sorted, n_topk, 50);
	row->kl_p90 = met_percentile_sorted(sorted, n_topk, 90);
	row->kl_p99 = met_percentile_sorted(sorted, n_topk, 99);
	row->kl_max = sorted[n_topk - 1];
	row->covered_mean = s_cov / (double)n_topk;
	row->top1_agreement = (double)same / (double)n_topk;
out:
	free(sorted);
	return rc;
}

static bool kl_row_is_overall(const struct rpt_kl_row *r)
{
	return r->task && !strcmp(r->task, "all") && r->language && !strcmp(r->language, "all");
}

int rpt_compare_set_kl(struct rpt_cmp_result *res, const struct rpt_kl_row *rows, size_t n_rows,
		       double max_mean_kl, struct mrl_err *err)
{
	for (size_t i = 0; i < res->n_kl; i++) /* forget a previous attachment's gate */
		if (res->kl[i].gated) {
			res->n_gated--;
			res->n_gate_failed -= res->kl[i].gate_failed;
		}
	free(res->kl);
	res->kl = NULL;
	res->n_kl = 0;
	res->kl_gate_max_mean = NAN;
	if (!isnan(max_mean_kl) && !(max_mean_kl >= 0 && isfinite(max_mean_kl)))
		return mrl_err_set(err, MRL_EINPUT, "KL gate: maximum mean KL %g is not a number >= 0", max_mean_kl);
	if (n_rows) {
		if (!(res->kl = malloc(n_rows * sizeof *res->kl)))
			return mrl_err_set(err, MRL_ENOMEM, "KL: out of memory");
		memcpy(res->kl, rows, n_rows * sizeof *res->kl);
		res->n_kl = n_rows;
	}
	res->kl_gate_max_mean = max_mean_kl;
	const struct rpt_compare_opts *o = &res->opts;
	size_t n_gated = 0;
	for (size_t i = 0; i < res->n_kl; i++) {
		struct rpt_kl_row *r = &res->kl[i];
		r->gated = r->gate_failed = false;
		if (isnan(max_mean_kl) || isnan(r->kl_mean))
			continue;
		if (kl_row_is_overall(r))
			r->gated = !o->gate_tasks && !o->gate_languages;
		else
			r->gated = in_list(o->gate_tasks, o->n_gate_tasks, r->task) &&
				   in_list(o->gate_languages, o->n_gate_languages, r->language);
		if (!r->gated)
			continue;
		n_gated++;
		r->gate_failed = r->kl_mean > max_mean_kl;
		res->n_gated++;
		res->n_gate_failed += r->gate_failed;
	}
	if (!isnan(max_mean_kl) && !n_gated)
		return mrl_err_set(err, MRL_EINPUT,
				   "KL gate: no KL figure to check (both runs need merilo run --store-logprobs with top-K "
				   "lists, over the same tokens; or the gate's task/language filter excludes every row)");
	return 0;
}

/* ------------------------------------------------------------ rendering */

/* A value in display units: percent for right/wrong metrics, the metric's unit otherwise. */
static void add_value(struct mrl_buf *s, const struct rpt_cmp_row *row, double v, bool signed_)
{
	if (isnan(v))
		mrl_buf_add(s, "—");
	else if (row->in->kind == RPT_METRIC_BINARY)
		mrl_buf_addf(s, signed_ ? "%+.1f" : "%.1f", 100.0 * v);
	else
		mrl_buf_addf(s, signed_ ? "%+.4g" : "%.4g", v);
}

static void add_ci(struct mrl_buf *s, const struct rpt_cmp_row *row)
{
	mrl_buf_add(s, "[");
	add_value(s, row, row->ci_low, true);
	mrl_buf_add(s, ", ");
	add_value(s, row, row->ci_high, true);
	mrl_buf_add(s, "]");
}

static void add_p(struct mrl_buf *s, double p)
{
	if (isnan(p))
		mrl_buf_add(s, "—");
	else if (p >= 0.001)
		mrl_buf_addf(s, "%.3f", p);
	else
		mrl_buf_addf(s, "%.1e", p);
}

static void add_flips_count(struct mrl_buf *s, const struct rpt_cmp_row *row)
{
	if (row->in->kind == RPT_METRIC_BINARY)
		mrl_buf_addf(s, "%llu / %llu", (unsigned long long)row->n_right_to_wrong,
			     (unsigned long long)row->n_wrong_to_right);
	else
		mrl_buf_add(s, "—");
}

static const char *gate_word(const struct rpt_cmp_row *row)
{
	return !row->gated ? "" : row->gate_failed ? "FAIL" : "pass";
}

static void add_gate_rule(struct mrl_buf *s, const struct rpt_cmp_result *res, void (*esc)(struct mrl_buf *, const char *))
{
	const struct rpt_compare_opts *o = &res->opts;
	bool kl_gated = !isnan(res->kl_gate_max_mean);
	if (o->n_gate == 0 && !kl_gated) {
		mrl_buf_add(s, "no metric is gated");
		return;
	}
	if (o->n_gate == 0) {
		mrl_buf_addf(s, "fail when the mean KL(base || candidate) exceeds %g nats", res->kl_gate_max_mean);
		goto filters;
	}
	mrl_buf_add(s, "fail when ");
	for (size_t g = 0; g < o->n_gate; g++) {
		mrl_buf_add(s, g ? (g + 1 == o->n_gate ? " or " : ", ") : "");
		esc(s, o->gate[g].metric);
		mrl_buf_addf(s, " drops by more than %g point%s", o->gate[g].max_drop_points,
			     o->gate[g].max_drop_points == 1 ? "" : "s");
	}
	mrl_buf_addf(s, " with Holm-adjusted p < %g", o->alpha);
	if (kl_gated)
		mrl_buf_addf(s, ", or when the mean KL(base || candidate) exceeds %g nats", res->kl_gate_max_mean);
filters:
	if (o->gate_tasks) {
		mrl_buf_add(s, " (tasks:");
		for (size_t i = 0; i < o->n_gate_tasks; i++) {
			mrl_buf_add(s, " ");
			esc(s, o->gate_tasks[i]);
		}
		mrl_buf_add(s, ")");
	}
	if (o->gate_languages) {
		mrl_buf_add(s, " (languages:");
		for (size_t i = 0; i < o->n_gate_languages; i++) {
			mrl_buf_add(s, " ");
			esc(s, o->gate_languages[i]);
		}
		mrl_buf_add(s, ")");
	}
}

static void add_padded(struct mrl_buf *s, const char *text, int width)
{
	/* width counts characters, not bytes (UTF-8 in names and the em dash) */
	int chars = 0;
	for (const char *p = text; *p; p++)
		chars += ((unsigned char)*p & 0xC0) != 0x80;
	mrl_buf_add(s, text);
	for (; chars < width; chars++)
		mrl_buf_add(s, " ");
	mrl_buf_add(s, " ");
}

/* Text cells are built in a scratch string, then padded. Terminal text is not
 * escaped for markup, but control characters from files are replaced. */
static void text_clean(struct mrl_buf *s, const char *text)
{
	for (const char *p = text ? text : ""; *p; p++) {
		unsigned char c = (unsigned char)p[0], c1 = (unsigned char)p[1];
		if (c == 0xC2 && c1 >= 0x80 && c1 <= 0x9F) { /* a C1 control (U+009B is an 8-bit CSI) */
			mrl_buf_add(s, "?");
			p++;
			continue;
		}
		mrl_buf_addn(s, c < 0x20 || c == 0x7f ? "?" : p, 1);
	}
}

#define CELL(expr, width) do { struct mrl_buf c_; mrl_buf_init(&c_); expr; \
	add_padded(s, c_.data ? c_.data : "", width); mrl_buf_release(&c_); } while (0)

/* KL figures: nats with 4 significant digits; "inf" where the candidate gave 0. */
static void add_kl(struct mrl_buf *s, double v)
{
	if (isnan(v))
		mrl_buf_add(s, "—");
	else if (isinf(v))
		mrl_buf_add(s, "inf");
	else
		mrl_buf_addf(s, "%.4g", v);
}

static void add_pct(struct mrl_buf *s, double v)
{
	if (isnan(v))
		mrl_buf_add(s, "—");
	else if (v > 0 && v < 0.01) /* a tiny covered mass must not print as 0.00% */
		mrl_buf_addf(s, "%.2g%%", 100 * v);
	else
		mrl_buf_addf(s, "%.2f%%", 100 * v);
}

static const char *kl_gate_word(const struct rpt_kl_row *r)
{
	return !r->gated ? "" : r->gate_failed ? "FAIL" : "pass";
}

static void add_kl_skipped(struct mrl_buf *s, const struct rpt_kl_row *r)
{
	mrl_buf_addf(s, "%zu", r->n_skipped_tokens + r->n_skipped_prompt);
}

#define KL_LOWER_BOUND_TEXT \
	"a LOWER BOUND on the true KL, estimated from the stored top-K lists (each token in both runs' lists " \
	"is its own bucket, everything else one tail bucket)"
#define KL_COVERED_TEXT \
	"covered = mean base probability mass inside the shared tokens: near 100% the bound is tight, near 0 it says little"

static void render_kl_text(struct mrl_buf *s, const struct rpt_cmp_result *res)
{
	if (!res->n_kl)
		return;
	mrl_buf_add(s, "\nKL divergence KL(base || candidate) of the next-token distributions, nats per position: "
		       KL_LOWER_BOUND_TEXT ";\n" KL_COVERED_TEXT ";\ntop-1 = positions whose most likely token "
		       "is the same; |dlogprob| = mean |logprob(cand) - logprob(base)| of the scored tokens; "
		       "skipped = paired sequences not aligned (different tokens or prompt).\n");
	static const char *const head[] = { "task", "lang", "seqs", "skipped", "pos", "KL mean", "median", "p90", "p99",
					    "max", "covered", "top-1", "|dlogprob|", "gate" };
	static const int width[] = { 14, 8, 5, 7, 6, 9, 9, 9, 9, 9, 8, 8, 10, 4 };
	for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
		add_padded(s, head[i], width[i]);
	mrl_buf_add(s, "\n");
	for (size_t i = 0; i < res->n_kl; i++) {
		const struct rpt_kl_row *r = &res->kl[i];
		CELL(text_clean(&c_, r->task), width[0]);
		CELL(text_clean(&c_, r->language), width[1]);
		CELL(mrl_buf_addf(&c_, "%zu", r->n_sequences), width[2]);
		CELL(add_kl_skipped(&c_, r), width[3]);
		CELL(mrl_buf_addf(&c_, "%zu", r->n_positions), width[4]);
		CELL(add_kl(&c_, r->kl_mean), width[5]);
		CELL(add_kl(&c_, r->kl_median), width[6]);
		CELL(add_kl(&c_, r->kl_p90), width[7]);
		CELL(add_kl(&c_, r->kl_p99), width[8]);
		CELL(add_kl(&c_, r->kl_max), width[9]);
		CELL(add_pct(&c_, r->covered_mean), width[10]);
		CELL(add_pct(&c_, r->top1_agreement), width[11]);
		CELL(add_kl(&c_, r->abs_dlogprob_mean), width[12]);
		mrl_buf_add(s, kl_gate_word(r));
		mrl_buf_add(s, "\n");
	}
}

static void render_kl_md(struct mrl_buf *s, const struct rpt_cmp_result *res)
{
	if (!res->n_kl)
		return;
	mrl_buf_add(s, "\n### KL divergence and top-1 agreement (base ‖ candidate)\n\n"
		       "KL(base ‖ candidate) of the next-token distributions, in nats per position, is "
		       KL_LOWER_BOUND_TEXT "; " KL_COVERED_TEXT ". Top-1: positions where both runs' most likely "
		       "token is the same. |Δ logprob|: mean absolute difference of the scored tokens' "
		       "log-probabilities. Skipped: paired sequences not compared (different tokens or prompt).\n\n"
		       "| task | language | sequences | skipped | positions | KL mean | median | p90 | p99 | max | covered "
		       "| top-1 agreement | mean \\|Δ logprob\\| | gate |\n"
		       "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
	for (size_t i = 0; i < res->n_kl; i++) {
		const struct rpt_kl_row *r = &res->kl[i];
		bool all = kl_row_is_overall(r);
		mrl_buf_add(s, "| ");
		if (all)
			mrl_buf_add(s, "**all**");
		else
			rpt_esc_md(s, r->task);
		mrl_buf_add(s, " | ");
		if (all)
			mrl_buf_add(s, "**all**");
		else
			rpt_esc_md(s, r->language);
		mrl_buf_addf(s, " | %zu | ", r->n_sequences);
		add_kl_skipped(s, r);
		mrl_buf_addf(s, " | %zu | ", r->n_positions);
		add_kl(s, r->kl_mean);
		mrl_buf_add(s, " | ");
		add_kl(s, r->kl_median);
		mrl_buf_add(s, " | ");
		add_kl(s, r->kl_p90);
		mrl_buf_add(s, " | ");
		add_kl(s, r->kl_p99);
		mrl_buf_add(s, " | ");
		add_kl(s, r->kl_max);
		mrl_buf_add(s, " | ");
		add_pct(s, r->covered_mean);
		mrl_buf_add(s, " | ");
		add_pct(s, r->top1_agreement);
		mrl_buf_add(s, " | ");
		add_kl(s, r->abs_dlogprob_mean);
		mrl_buf_addf(s, " | %s |\n", !r->gated ? "" : r->gate_failed ? "❌ FAIL" : "pass");
	}
}

/* The KL rows that failed, for the FAIL line. */
static void add_kl_failures(struct mrl_buf *s, const struct rpt_cmp_result *res,
			    void (*esc)(struct mrl_buf *, const char *))
{
	for (size_t i = 0; i < res->n_kl; i++) {
		const struct rpt_kl_row *r = &res->kl[i];
		if (!r->gate_failed)
			continue;
		mrl_buf_add(s, " ");
		esc(s, r->task);
		mrl_buf_add(s, "/");
		esc(s, r->language);
		mrl_buf_add(s, " KL mean ");
		add_kl(s, r->kl_mean);
		mrl_buf_addf(s, " > %g nats;", res->kl_gate_max_mean);
	}
}

static void render_text(struct mrl_buf *s, const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta)
{
	mrl_buf_add(s, "merilo compare: base ");
	text_clean(s, meta ? meta->base.label : NULL);
	mrl_buf_add(s, " vs candidate ");
	text_clean(s, meta ? meta->cand.label : NULL);
	mrl_buf_addf(s, "\n(differences are candidate - base; accuracies in %%; %g%% paired bootstrap CI, %zu resamples, seed %llu)\n\n",
		     100 * res->opts.ci_level, res->opts.n_resamples, (unsigned long long)res->opts.seed);
	static const char *const head[] = { "task", "lang", "metric", "n", "base", "cand", "diff", "CI", "r->w / w->r",
					    "p", "p(Holm)", "verdict", "gate" };
	static const int width[] = { 14, 8, 14, 5, 7, 7, 7, 17, 11, 8, 8, 21, 4 };
	for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
		add_padded(s, head[i], width[i]);
	mrl_buf_add(s, "\n");
	for (size_t i = 0; i < res->n_rows; i++) {
		const struct rpt_cmp_row *r = &res->rows[i];
		CELL(text_clean(&c_, r->in->task), width[0]);
		CELL(text_clean(&c_, r->in->language), width[1]);
		CELL(text_clean(&c_, r->in->metric), width[2]);
		CELL(mrl_buf_addf(&c_, "%zu", r->in->n_pairs), width[3]);
		CELL(add_value(&c_, r, r->base_mean, false), width[4]);
		CELL(add_value(&c_, r, r->cand_mean, false), width[5]);
		CELL(add_value(&c_, r, r->diff, true), width[6]);
		CELL(add_ci(&c_, r), width[7]);
		CELL(add_flips_count(&c_, r), width[8]);
		CELL(add_p(&c_, r->p), width[9]);
		CELL(add_p(&c_, r->p_holm), width[10]);
		CELL(mrl_buf_add(&c_, rpt_verdict_name(r->verdict)), width[11]);
		mrl_buf_add(s, gate_word(r));
		mrl_buf_add(s, "\n");
	}
	render_kl_text(s, res);
	for (size_t i = 0; meta && i < meta->n_notes; i++) {
		mrl_buf_add(s, i ? "" : "\n");
		mrl_buf_add(s, "note: ");
		text_clean(s, meta->notes[i]);
		mrl_buf_add(s, "\n");
	}
	if (meta && meta->perf_md) {
		mrl_buf_add(s, "\n");
		mrl_buf_add(s, meta->perf_md);
	}
	mrl_buf_add(s, "\ngate: ");
	add_gate_rule(s, res, text_clean);
	mrl_buf_add(s, "\n");
	if (res->n_gate_failed) {
		mrl_buf_addf(s, "FAIL: %zu of %zu gated comparisons regressed:", res->n_gate_failed, res->n_gated);
		for (size_t i = 0; i < res->n_rows; i++) {
			const struct rpt_cmp_row *r = &res->rows[i];
			if (!r->gate_failed)
				continue;
			mrl_buf_add(s, " ");
			text_clean(s, r->in->task);
			mrl_buf_add(s, "/");
			text_clean(s, r->in->language);
			mrl_buf_add(s, " ");
			text_clean(s, r->in->metric);
			mrl_buf_addf(s, " %+.2f points;", 100 * (r->lower_is_better ? -r->diff : r->diff));
		}
		add_kl_failures(s, res, text_clean);
		mrl_buf_add(s, "\n");
	} else {
		mrl_buf_addf(s, "PASS: no gated regression (%zu gated comparisons)\n", res->n_gated);
	}
}

static void md_side(struct mrl_buf *s, const char *title, const struct rpt_cmp_side *side)
{
	mrl_buf_addf(s, "| %s | ", title);
	rpt_esc_md(s, side->label);
	mrl_buf_add(s, " | ");
	rpt_esc_md(s, side->model_name ? side->model_name : "—");
	mrl_buf_add(s, " | ");
	rpt_esc_trunc(s, side->model_sha256 ? side->model_sha256 : "—", 12, rpt_esc_md);
	mrl_buf_add(s, " | ");
	rpt_esc_trunc(s, side->suite_sha256 ? side->suite_sha256 : "—", 12, rpt_esc_md);
	mrl_buf_add(s, " | ");
	rpt_esc_md(s, side->engine_build ? side->engine_build : "—");
	mrl_buf_add(s, " |\n");
}

static bool flips_listed(const struct rpt_cmp_row *r)
{
	return r->in->kind == RPT_METRIC_BINARY && (r->n_flips_rw || r->n_flips_wr) &&
	       (r->gated || r->verdict != RPT_VERDICT_SAME);
}

static void md_flip_list(struct mrl_buf *s, const struct rpt_cmp_row *r, const size_t *idx, size_t n, const char *title)
{
	if (!n)
		return;
	mrl_buf_addf(s, "\n**%s** (%zu)\n\n| item | prompt |\n|---|---|\n", title, n);
	size_t shown = n < RPT_CMP_MAX_FLIPS_LISTED ? n : RPT_CMP_MAX_FLIPS_LISTED;
	for (size_t k = 0; k < shown; k++) {
		const struct rpt_pair *pr = &r->in->pairs[idx[k]];
		mrl_buf_add(s, "| ");
		rpt_esc_md(s, pr->item_id);
		mrl_buf_add(s, " | ");
		if (pr->prompt)
			rpt_esc_trunc(s, pr->prompt, 200, rpt_esc_md);
		else
			mrl_buf_add(s, "*(prompt not recorded)*");
		mrl_buf_add(s, " |\n");
	}
	if (shown < n)
		mrl_buf_addf(s, "\n… and %zu more (all of them are in the JSON output)\n", n - shown);
}

static void render_md(struct mrl_buf *s, const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta)
{
	if (res->n_gate_failed)
		mrl_buf_addf(s, "## merilo compare: ❌ regression (%zu of %zu gated comparisons)\n\n", res->n_gate_failed,
			     res->n_gated);
	else
		mrl_buf_addf(s, "## merilo compare: ✅ no gated regression (%zu gated comparisons)\n\n", res->n_gated);
	if (meta) {
		mrl_buf_add(s, "| | run | model | model sha256 | suite sha256 | engine build |\n|---|---|---|---|---|---|\n");
		md_side(s, "base", &meta->base);
		md_side(s, "candidate", &meta->cand);
		mrl_buf_add(s, "\n");
	}
	mrl_buf_add(s, "Gate: ");
	add_gate_rule(s, res, rpt_esc_md);
	mrl_buf_addf(s, ". Differences are candidate − base (accuracies in percentage points), with %g%% paired "
			"bootstrap CIs (%zu resamples, seed %llu); p: exact McNemar (right/wrong metrics) or Wilcoxon "
			"signed-rank (graded), Holm-adjusted across all %zu comparisons.\n\n",
		     100 * res->opts.ci_level, res->opts.n_resamples, (unsigned long long)res->opts.seed, res->n_rows);
	mrl_buf_add(s, "| task | language | metric | n | base | candidate | Δ | 95% CI | right→wrong / wrong→right | p | "
		       "p (Holm) | verdict | gate |\n|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|---|---|\n");
	for (size_t i = 0; i < res->n_rows; i++) {
		const struct rpt_cmp_row *r = &res->rows[i];
		mrl_buf_add(s, "| ");
		rpt_esc_md(s, r->in->task);
		mrl_buf_add(s, " | ");
		rpt_esc_md(s, r->in->language);
		mrl_buf_add(s, " | ");
		rpt_esc_md(s, r->in->metric);
		mrl_buf_addf(s, " | %zu | ", r->in->n_pairs);
		add_value(s, r, r->base_mean, false);
		mrl_buf_add(s, " | ");
		add_value(s, r, r->cand_mean, false);
		mrl_buf_add(s, " | ");
		add_value(s, r, r->diff, true);
		mrl_buf_add(s, " | ");
		add_ci(s, r);
		mrl_buf_add(s, " | ");
		add_flips_count(s, r);
		mrl_buf_add(s, " | ");
		add_p(s, r->p);
		mrl_buf_add(s, " | ");
		add_p(s, r->p_holm);
		mrl_buf_addf(s, " | %s%s%s | %s |\n", r->verdict == RPT_VERDICT_SAME ? "" : "**",
			     rpt_verdict_name(r->verdict), r->verdict == RPT_VERDICT_SAME ? "" : "**",
			     !r->gated ? "" : r->gate_failed ? "❌ FAIL" : "pass");
	}
	render_kl_md(s, res);
	bool any = false;
	for (size_t i = 0; i < res->n_rows; i++) {
		const struct rpt_cmp_row *r = &res->rows[i];
		if (!flips_listed(r))
			continue;
		if (!any)
			mrl_buf_add(s, "\n### Flipped items\n\nFor gated comparisons and significant changes.\n");
		any = true;
		mrl_buf_add(s, "\n<details><summary>");
		rpt_esc_md(s, r->in->task);
		mrl_buf_add(s, " · ");
		rpt_esc_md(s, r->in->language);
		mrl_buf_add(s, " · ");
		rpt_esc_md(s, r->in->metric);
		mrl_buf_addf(s, ": %zu right→wrong, %zu wrong→right</summary>\n", r->n_flips_rw, r->n_flips_wr);
		md_flip_list(s, r, r->flips_rw, r->n_flips_rw, "right → wrong");
		md_flip_list(s, r, r->flips_wr, r->n_flips_wr, "wrong → right");
		mrl_buf_add(s, "\n</details>\n");
	}
	if (meta && meta->perf_md) {
		mrl_buf_add(s, "\n");
		mrl_buf_add(s, meta->perf_md);
	}
	if (meta && meta->n_notes) {
		mrl_buf_add(s, "\n### Notes\n\n");
		for (size_t i = 0; i < meta->n_notes; i++) {
			mrl_buf_add(s, "- ");
			rpt_esc_md(s, meta->notes[i]);
			mrl_buf_add(s, "\n");
		}
	}
}

/* JSON helpers: NaN is null (jansson refuses NaN reals). */
static json_t *jreal(double v)
{
	return isfinite(v) ? json_real(v) : json_null();
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *json_side(const struct rpt_cmp_side *side)
{
	return json_pack("{s:o, s:o, s:o, s:o, s:o, s:o}", "run", jstr(side->label), "model_name", jstr(side->model_name),
			 "model_sha256", jstr(side->model_sha256), "suite_sha256", jstr(side->suite_sha256),
			 "engine_build", jstr(side->engine_build), "host", jstr(side->host));
}

static json_t *json_flips(const struct rpt_cmp_row *r, const size_t *idx, size_t n)
{
	json_t *a = json_array();
	for (size_t k = 0; a && k < n; k++) {
		const struct rpt_pair *pr = &r->in->pairs[idx[k]];
		if (json_array_append_new(a, json_pack("{s:o, s:o}", "item", jstr(pr->item_id), "prompt", jstr(pr->prompt)))) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

/* Reals for KL: NaN null, +inf "inf" (a candidate probability of 0), as in merilo's records. */
static json_t *jkl(double v)
{
	return isnan(v) ? json_null() : isinf(v) ? json_string(v > 0 ? "inf" : "-inf") : json_real(v);
}

/* The "kl" object of the JSON output; json null when no KL was computed. */
static json_t *json_kl(const struct rpt_cmp_result *res)
{
	if (!res->n_kl)
		return json_null();
	json_t *rows = json_array();
	json_t *kl = json_pack("{s:s, s:s, s:b, s:s, s:o, s:o}", "measure", "KL(base || candidate)", "unit", "nats",
			       "lower_bound", 1, "method",
			       "buckets: each token in both runs' top-K lists, plus one tail bucket "
			       "(docs/results-format.md, Comparing two runs)",
			       "gate_max_mean", jkl(res->kl_gate_max_mean), "rows", rows ? rows : json_null());
	if (!kl || !rows) {
		json_decref(kl);
		return NULL;
	}
	for (size_t i = 0; i < res->n_kl; i++) {
		const struct rpt_kl_row *r = &res->kl[i];
		json_t *row = json_object();
		if (!row || json_array_append_new(rows, row)) {
			json_decref(kl);
			return NULL;
		}
		int e = 0;
		e |= json_object_set_new(row, "task", jstr(r->task));
		e |= json_object_set_new(row, "language", jstr(r->language));
		e |= json_object_set_new(row, "n_sequences", json_integer((json_int_t)r->n_sequences));
		e |= json_object_set_new(row, "n_skipped_tokens", json_integer((json_int_t)r->n_skipped_tokens));
		e |= json_object_set_new(row, "n_skipped_prompt", json_integer((json_int_t)r->n_skipped_prompt));
		e |= json_object_set_new(row, "n_positions", json_integer((json_int_t)r->n_positions));
		e |= json_object_set_new(row, "n_positions_topk", json_integer((json_int_t)r->n_positions_topk));
		e |= json_object_set_new(row, "kl_mean", jkl(r->kl_mean));
		e |= json_object_set_new(row, "kl_median", jkl(r->kl_median));
		e |= json_object_set_new(row, "kl_p90", jkl(r->kl_p90));
		e |= json_object_set_new(row, "kl_p99", jkl(r->kl_p99));
		e |= json_object_set_new(row, "kl_max", jkl(r->kl_max));
		e |= json_object_set_new(row, "covered_mass_mean", jkl(r->covered_mean));
		e |= json_object_set_new(row, "top1_agreement", jkl(r->top1_agreement));
		e |= json_object_set_new(row, "abs_dlogprob_mean", jkl(r->abs_dlogprob_mean));
		e |= json_object_set_new(row, "gated", json_boolean(r->gated));
		e |= json_object_set_new(row, "gate_failed", json_boolean(r->gate_failed));
		if (e) {
			json_decref(kl);
			return NULL;
		}
	}
	return kl;
}

static char *render_json(const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta)
{
	char *out = NULL;
	const struct rpt_compare_opts *o = &res->opts;
	json_t *gate = json_array(), *rows = json_array(), *notes = json_array();
	json_t *gt = o->gate_tasks ? json_array() : json_null(), *gl = o->gate_languages ? json_array() : json_null();
	json_t *root = NULL;
	if (!gate || !rows || !notes || !gt || !gl)
		goto out;
	for (size_t g = 0; g < o->n_gate; g++)
		json_array_append_new(gate, json_pack("{s:s, s:f}", "metric", o->gate[g].metric, "max_drop_points",
						      o->gate[g].max_drop_points));
	for (size_t i = 0; o->gate_tasks && i < o->n_gate_tasks; i++)
		json_array_append_new(gt, jstr(o->gate_tasks[i]));
	for (size_t i = 0; o->gate_languages && i < o->n_gate_languages; i++)
		json_array_append_new(gl, jstr(o->gate_languages[i]));
	for (size_t i = 0; meta && i < meta->n_notes; i++)
		json_array_append_new(notes, jstr(meta->notes[i]));
	for (size_t i = 0; i < res->n_rows; i++) {
		const struct rpt_cmp_row *r = &res->rows[i];
		bool bin = r->in->kind == RPT_METRIC_BINARY;
		json_t *row = json_pack(
			"{s:o, s:o, s:o, s:s, s:b, s:I, s:I, s:I, s:o, s:o, s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:s, s:b, s:o, s:b}",
			"task", jstr(r->in->task), "language", jstr(r->in->language), "metric", jstr(r->in->metric),
			"kind", bin ? "binary" : "graded", "lower_is_better", r->lower_is_better,
			"n_pairs", (json_int_t)r->in->n_pairs, "n_base_only", (json_int_t)r->in->n_base_only,
			"n_cand_only", (json_int_t)r->in->n_cand_only, "base", jreal(r->base_mean),
			"candidate", jreal(r->cand_mean), "diff", jreal(r->diff), "ci_low", jreal(r->ci_low),
			"ci_high", jreal(r->ci_high), "test", r->test,
			"right_to_wrong", bin ? json_integer((json_int_t)r->n_right_to_wrong) : json_null(),
			"wrong_to_right", bin ? json_integer((json_int_t)r->n_wrong_to_right) : json_null(),
			"p", jreal(r->p), "p_holm", jreal(r->p_holm), "verdict", rpt_verdict_name(r->verdict),
			"gated", r->gated, "max_drop_points", jreal(r->max_drop_points), "gate_failed", r->gate_failed);
		if (!row)
			goto out;
		if (bin) {
			json_t *fl = json_pack("{s:o*, s:o*}", "right_to_wrong", json_flips(r, r->flips_rw, r->n_flips_rw),
					       "wrong_to_right", json_flips(r, r->flips_wr, r->n_flips_wr));
			json_object_set_new(row, "flips", fl ? fl : json_null());
		}
		if (json_array_append_new(rows, row))
			goto out;
	}
	root = json_pack("{s:i, s:s, s:o, s:o, s:{s:f, s:I, s:I, s:f, s:O, s:O, s:O}, s:{s:b, s:I, s:I}, s:O, s:O}",
			 "schema_version", 1, "tool", "merilo compare",
			 "base", meta ? json_side(&meta->base) : json_null(),
			 "candidate", meta ? json_side(&meta->cand) : json_null(),
			 "options", "alpha", o->alpha, "seed", (json_int_t)o->seed, "n_resamples", (json_int_t)o->n_resamples,
			 "ci_level", o->ci_level, "gate", gate, "gate_tasks", gt, "gate_languages", gl,
			 "result", "passed", res->n_gate_failed == 0, "n_gated", (json_int_t)res->n_gated,
			 "n_gate_failed", (json_int_t)res->n_gate_failed, "comparisons", rows, "notes", notes);
	if (root) {
		json_t *kl = json_kl(res), *opts = json_object_get(root, "options");
		if (!kl || json_object_set_new(opts, "gate_kl", jkl(res->kl_gate_max_mean)) ||
		    json_object_set_new(root, "kl", kl))
			goto out;
		out = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
	}
out:
	json_decref(root);
	json_decref(gate);
	json_decref(rows);
	json_decref(notes);
	json_decref(gt);
	json_decref(gl);
	return out;
}

/* KL figures as informational properties "kl.<task>.<language>.<figure>" (never a
 * failure by themselves: only --gate-kl makes testcases of them). */
static void junit_kl_properties(struct mrl_buf *s, const struct rpt_cmp_result *res)
{
	if (res->n_kl)
		mrl_buf_add(s, "      <property name=\"kl.note\" value=\"KL(base || candidate) in nats per position: a lower "
			       "bound from the stored top-K lists; covered = mean base mass in the shared tokens\"/>\n");
	for (size_t i = 0; i < res->n_kl; i++) {
		const struct rpt_kl_row *r = &res->kl[i];
		const struct { const char *name; double v; } fig[] = {
			{ "kl_mean", r->kl_mean }, { "kl_median", r->kl_median }, { "kl_p90", r->kl_p90 },
			{ "kl_p99", r->kl_p99 }, { "kl_max", r->kl_max }, { "covered_mass_mean", r->covered_mean },
			{ "top1_agreement", r->top1_agreement }, { "abs_dlogprob_mean", r->abs_dlogprob_mean },
			{ "n_positions", (double)r->n_positions }, { "n_sequences", (double)r->n_sequences },
		};
		for (size_t f = 0; f < sizeof fig / sizeof fig[0]; f++) {
			mrl_buf_add(s, "      <property name=\"kl.");
			rpt_esc_xml(s, r->task);
			mrl_buf_add(s, ".");
			rpt_esc_xml(s, r->language);
			mrl_buf_addf(s, ".%s\" value=\"", fig[f].name);
			if (isnan(fig[f].v))
				mrl_buf_add(s, "null");
			else if (isinf(fig[f].v))
				mrl_buf_add(s, "inf");
			else
				mrl_buf_addf(s, "%.17g", fig[f].v);
			mrl_buf_add(s, "\"/>\n");
		}
	}
}

/* One testcase per gated KL row (--gate-kl). */
static void junit_kl_testcases(struct mrl_buf *s, const struct rpt_cmp_result *res)
{
	for (size_t i = 0; i < res->n_kl; i++) {
		const struct rpt_kl_row *r = &res->kl[i];
		if (!r->gated)
			continue;
		struct mrl_buf d;
		mrl_buf_init(&d);
		mrl_buf_add(&d, "mean KL(base || candidate) ");
		add_kl(&d, r->kl_mean);
		mrl_buf_addf(&d, " nats (a lower bound; max allowed %g), p99 ", res->kl_gate_max_mean);
		add_kl(&d, r->kl_p99);
		mrl_buf_add(&d, ", covered mass ");
		add_pct(&d, r->covered_mean);
		mrl_buf_add(&d, ", top-1 agreement ");
		add_pct(&d, r->top1_agreement);
		mrl_buf_addf(&d, ", %zu positions", r->n_positions_topk);
		mrl_buf_add(s, "    <testcase classname=\"merilo.compare.kl\" name=\"");
		rpt_esc_xml(s, r->task);
		mrl_buf_add(s, " ");
		rpt_esc_xml(s, r->language);
		mrl_buf_add(s, " kl_mean\">\n");
		mrl_buf_add(s, r->gate_failed ? "      <failure type=\"kl-divergence\" message=\"" : "      <system-out>");
		rpt_esc_xml(s, d.data);
		mrl_buf_add(s, r->gate_failed ? "\"/>\n" : "</system-out>\n");
		mrl_buf_add(s, "    </testcase>\n");
		if (d.oom)
			s->oom = true;
		mrl_buf_release(&d);
	}
}

static void render_junit(struct mrl_buf *s, const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta)
{
	mrl_buf_addf(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
			"<testsuites name=\"merilo compare\" tests=\"%zu\" failures=\"%zu\" errors=\"0\">\n"
			"  <testsuite name=\"merilo compare\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\">\n",
		     res->n_gated, res->n_gate_failed, res->n_gated, res->n_gate_failed);
	if (meta || res->n_kl) {
		mrl_buf_add(s, "    <properties>\n");
		if (meta) {
			mrl_buf_add(s, "      <property name=\"base\" value=\"");
			rpt_esc_xml(s, meta->base.label);
			mrl_buf_add(s, "\"/>\n      <property name=\"candidate\" value=\"");
			rpt_esc_xml(s, meta->cand.label);
			mrl_buf_add(s, "\"/>\n");
		}
		junit_kl_properties(s, res);
		mrl_buf_add(s, "    </properties>\n");
	}
	for (size_t i = 0; i < res->n_rows; i++) {
		const struct rpt_cmp_row *r = &res->rows[i];
		if (!r->gated)
			continue;
		mrl_buf_add(s, "    <testcase classname=\"merilo.compare.");
		rpt_esc_xml(s, r->in->task);
		mrl_buf_add(s, "\" name=\"");
		rpt_esc_xml(s, r->in->task);
		mrl_buf_add(s, " ");
		rpt_esc_xml(s, r->in->language);
		mrl_buf_add(s, " ");
		rpt_esc_xml(s, r->in->metric);
		mrl_buf_add(s, "\">\n");
		struct mrl_buf d;
		mrl_buf_init(&d);
		mrl_buf_add(&d, r->in->metric);
		mrl_buf_add(&d, ": base ");
		add_value(&d, r, r->base_mean, false);
		mrl_buf_add(&d, ", candidate ");
		add_value(&d, r, r->cand_mean, false);
		mrl_buf_add(&d, ", diff ");
		add_value(&d, r, r->diff, true);
		mrl_buf_add(&d, " CI ");
		add_ci(&d, r);
		mrl_buf_addf(&d, " (%s), n %zu, p %.3g, Holm p %.3g, max drop %g points, verdict: %s",
			     r->in->kind == RPT_METRIC_BINARY ? "percentage points" : "metric units", r->in->n_pairs, r->p,
			     r->p_holm, r->max_drop_points, rpt_verdict_name(r->verdict));
		if (r->gate_failed) {
			mrl_buf_add(s, "      <failure type=\"regression\" message=\"");
			rpt_esc_xml(s, d.data);
			mrl_buf_add(s, "\">");
			mrl_buf_addf(s, "%zu items right in base and wrong in candidate, %zu the other way.", r->n_flips_rw,
				     r->n_flips_wr);
			for (size_t k = 0; k < r->n_flips_rw && k < RPT_CMP_MAX_FLIPS_LISTED; k++) {
				mrl_buf_add(s, "\nright->wrong: ");
				rpt_esc_xml(s, r->in->pairs[r->flips_rw[k]].item_id);
			}
			mrl_buf_add(s, "</failure>\n");
		} else {
			mrl_buf_add(s, "      <system-out>");
			rpt_esc_xml(s, d.data);
			mrl_buf_add(s, "</system-out>\n");
		}
		if (d.oom)
			s->oom = true;
		mrl_buf_release(&d);
		mrl_buf_add(s, "    </testcase>\n");
	}
	junit_kl_testcases(s, res);
	mrl_buf_add(s, "  </testsuite>\n</testsuites>\n");
}

char *rpt_compare_render(const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta, enum rpt_format fmt,
			 struct mrl_err *err)
{
	struct mrl_buf s;
	mrl_buf_init(&s);
	char *out = NULL;
	switch (fmt) {
	case RPT_FMT_TEXT: render_text(&s, res, meta); break;
	case RPT_FMT_MD: render_md(&s, res, meta); break;
	case RPT_FMT_JUNIT: render_junit(&s, res, meta); break;
	case RPT_FMT_JSON:
		out = render_json(res, meta);
		if (!out)
			mrl_err_set(err, MRL_ENOMEM, "compare: out of memory building the JSON output");
		return out;
	default:
		mrl_err_set(err, MRL_EINPUT, "compare: output format not available for a comparison (text, md, json, junit)");
		return NULL;
	}
	out = mrl_buf_detach(&s, NULL);
	if (!out)
		mrl_err_set(err, MRL_ENOMEM, "compare: out of memory rendering the output");
	return out;
}
