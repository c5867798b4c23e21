/* compare.c — checkpoint comparison: paired statistics, verdicts, the CI gate
 * and the KL figures. The renderings are in compare_text.c (terminal table,
 * markdown PR comment) and compare_json.c (JSON, JUnit XML).
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

#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "reports/compare_int.h"

#include "common/parallel.h"
#include "common/sort.h"
#include "metrics/met.h"

bool rpt_metric_lower_is_better(const char *metric)
{
	static const char *const lower[] = { "perplexity", "word_perplexity", "byte_perplexity", "bits_per_byte",
					     "bits_per_char", "bits_per_token" };
	if (!metric)
		return false;
	for (size_t i = 0; i < sizeof lower / sizeof lower[0]; i++)
		if (!strcmp(metric, lower[i]))
			return true;
	size_t n = strlen(metric);
	return n >= 5 && !strcmp(metric + n - 5, "_loss");
}

bool rpt_metric_is_points(const char *metric)
{
	return metric && (!strcmp(metric, "bleu") || !strcmp(metric, "chrf") || !strcmp(metric, "chrf++"));
}

void rpt_compare_opts_init(struct rpt_compare_opts *opts)
{
	memset(opts, 0, sizeof *opts);
	opts->alpha = 0.05;
	opts->seed = MET_BOOT_DEFAULT_SEED;
	opts->n_resamples = MET_BOOT_DEFAULT_RESAMPLES;
	opts->ci_level = MET_BOOT_DEFAULT_LEVEL;
	opts->kl_min_coverage = RPT_KL_MIN_COVERAGE;
}

enum rpt_cmp_outcome rpt_compare_outcome(const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta)
{
	for (size_t i = 0; meta && i < meta->n_diffs; i++)
		if (!meta->diffs[i].allowed)
			return RPT_CMP_NOT_COMPARABLE;
	if (rpt_cmp_gate_empty(res, meta) || res->n_kl_undetermined || res->n_gate_underpowered ||
	    (meta && meta->perf_gated && meta->perf_undetermined))
		return RPT_CMP_UNDETERMINED;
	return rpt_cmp_n_gate_failed(res, meta) ? RPT_CMP_REGRESSION : RPT_CMP_PASS;
}

bool rpt_cmp_gate_empty(const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta)
{
	return !res->n_gated_judged && !(meta && meta->perf_gated && meta->perf_n_gated);
}

size_t rpt_cmp_n_gated(const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta)
{
	return res->n_gated + (meta && meta->perf_gated ? meta->perf_n_gated : 0);
}

size_t rpt_cmp_n_gate_failed(const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta)
{
	return res->n_gate_failed + (meta && meta->perf_gated ? meta->perf_n_failed : 0);
}

const char *rpt_cmp_outcome_name(enum rpt_cmp_outcome o)
{
	switch (o) {
	case RPT_CMP_REGRESSION: return "regression";
	case RPT_CMP_NOT_COMPARABLE: return "not comparable";
	case RPT_CMP_UNDETERMINED: return "undetermined";
	default: return "pass";
	}
}

const char *rpt_verdict_name(enum rpt_verdict v)
{
	switch (v) {
	case RPT_VERDICT_BETTER: return "better";
	case RPT_VERDICT_WORSE: return "worse";
	case RPT_VERDICT_UNTESTED: return "not tested (no pair)";
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

static const char *name_of(const struct rpt_cmp_input *in, enum rpt_cmp_field field)
{
	return field == RPT_CMP_TASK ? in->task : field == RPT_CMP_LANGUAGE ? in->language : in->metric;
}

void rpt_compare_names(const struct rpt_cmp_input *inputs, size_t n_inputs, enum rpt_cmp_field field, char *buf,
		       size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n_inputs; i++) {
		const char *v = name_of(&inputs[i], field);
		bool seen = !v;
		for (size_t j = 0; j < i && !seen; j++)
			seen = name_of(&inputs[j], field) && !strcmp(name_of(&inputs[j], field), v);
		if (!seen && len + strlen(v) + 2 < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? "," : "", v);
	}
}

int rpt_compare_check_filter(const struct rpt_cmp_input *inputs, size_t n_inputs, const char *const *list, size_t n,
			      bool languages, struct mrl_err *err)
{
	const char *what = languages ? "language" : "task";
	if (list && !n)
		return mrl_err_set(err, MRL_EINPUT, "compare: the gate's %ss are an empty list: it would gate nothing", what);
	for (size_t k = 0; list && k < n; k++) {
		bool found = false;
		for (size_t i = 0; i < n_inputs && !found; i++)
			found = !strcmp(languages ? inputs[i].language : inputs[i].task, list[k]);
		if (found)
			continue;
		char valid[400];
		rpt_compare_names(inputs, n_inputs, languages ? RPT_CMP_LANGUAGE : RPT_CMP_TASK, valid, sizeof valid);
		return mrl_err_set(err, MRL_EINPUT, "compare: gated %s '%s' is in no comparison (valid: %s)", what, list[k],
				   valid);
	}
	return 0;
}

/* qsort_r: indices into the pairs ctx, by item id in natural order. */
static int by_item_id(const void *a, const void *b, void *ctx)
{
	const struct rpt_pair *p = ctx;
	return mrl_strcmp_natural(p[*(const size_t *)a].item_id, p[*(const size_t *)b].item_id);
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
	row->p = NAN; /* no pair: no test (it read p 1 and "no significant change") */
	row->test = NULL;
	row->max_drop_points = NAN;
	if (n == 0)
		return 0;
	row->p = 1.0;
	row->test = in->kind == RPT_METRIC_BINARY ? "mcnemar-exact" : "wilcoxon-signed-rank";
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
	/* the flips in item order as people read ids ("16" before "102"), not the pairing's byte order */
	if (in->kind == RPT_METRIC_BINARY) {
		qsort_r(row->flips_rw, row->n_flips_rw, sizeof *row->flips_rw, by_item_id, (void *)in->pairs);
		qsort_r(row->flips_wr, row->n_flips_wr, sizeof *row->flips_wr, by_item_id, (void *)in->pairs);
	}

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

/* The rows' statistics on several threads (mrl_parallel_for): each row is a pure function
 * of its input and the options (its bootstrap seeded by opts->seed alone), so the rows are
 * the same whatever thread computes them and in whatever order. The first failing row by
 * index is reported. */
struct row_jobs {
	const struct rpt_cmp_input *inputs;
	const struct rpt_compare_opts *opts;
	struct rpt_cmp_row *rows;
};

static int row_job(size_t i, void *arg, struct mrl_err *err)
{
	const struct row_jobs *j = arg;
	return compute_row(&j->inputs[i], j->opts, &j->rows[i], err);
}

static void row_done(size_t i, void *arg)
{
	const struct row_jobs *j = arg;
	if (j->opts->progress)
		j->opts->progress(j->opts->progress_arg, j->inputs[i].n_pairs);
}

static int compute_rows(const struct rpt_cmp_input *inputs, size_t n, const struct rpt_compare_opts *opts,
			struct rpt_cmp_row *rows, struct mrl_err *err)
{
	struct row_jobs j = { .inputs = inputs, .opts = opts, .rows = rows };
	return mrl_parallel_for(n, opts->n_threads, row_job, row_done, &j, err);
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
	if ((rc = rpt_compare_check_filter(inputs, n_inputs, opts->gate_tasks, opts->n_gate_tasks, false, err)) ||
	    (rc = rpt_compare_check_filter(inputs, n_inputs, opts->gate_languages, opts->n_gate_languages, true, err)))
		return rc;
	if (n_inputs == 0)
		return 0;
	res->rows = calloc(n_inputs, sizeof *res->rows);
	p = malloc(n_inputs * sizeof *p);
	if (!res->rows || !p) {
		rc = mrl_err_set(err, MRL_ENOMEM, "compare: out of memory");
		goto out;
	}
	res->n_rows = n_inputs;
	/* Holm over the comparisons made: a row without pairs (a metric no item has in both runs)
	 * tests nothing and does not widen the family */
	size_t n_tested = 0;
	if ((rc = compute_rows(inputs, n_inputs, opts, res->rows, err)))
		goto out;
	for (size_t i = 0; i < n_inputs; i++)
		if (inputs[i].n_pairs > 0)
			p[n_tested++] = res->rows[i].p;
	if (n_tested && (rc = met_holm(p, n_tested, p, err)))
		goto out;
	for (size_t i = 0, k = 0; i < n_inputs; i++) {
		struct rpt_cmp_row *row = &res->rows[i];
		row->p_holm = row->in->n_pairs > 0 ? p[k++] : NAN;
		double improvement = row->lower_is_better ? -row->diff : row->diff;
		row->verdict = row->in->n_pairs > 0 ? RPT_VERDICT_SAME : RPT_VERDICT_UNTESTED;
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
			res->n_gated_judged += row->in->n_pairs > 0;
			double drop_points = -improvement * 100.0;
			row->gate_failed = row->verdict == RPT_VERDICT_WORSE && drop_points > row->max_drop_points;
			if (row->gate_failed)
				res->n_gate_failed++;
			/* the most extreme data of n pairs (all changed one way) give an exact two-sided p
			 * of 2^(1-n), McNemar's and Wilcoxon's alike; Holm's first step multiplies it by
			 * the family size. A drop beyond the threshold that cannot be significant is not
			 * a pass: 6 perplexity documents rising 100-fold had passed. */
			const double p_min = row->in->n_pairs > 0 ? ldexp(1.0, 1 - (int)fmin(row->in->n_pairs, 1100)) : 1;
			row->p_floor = fmin(1.0, p_min * (double)n_tested);
			row->gate_underpowered = !row->gate_failed && row->in->n_pairs > 0 &&
						 drop_points > row->max_drop_points && row->p_floor >= opts->alpha;
			res->n_gate_underpowered += row->gate_underpowered;
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

int rpt_kl_summarize(const double *kl, const double *covered, const bool *top1_same, size_t n_topk,
		     const double *abs_dlogprob, size_t n, struct rpt_kl_row *row, struct mrl_err *err)
{
	int rc = 0;
	double *sorted = NULL;
	row->n_positions = n;
	row->n_positions_topk = n_topk;
	row->kl_mean = row->kl_median = row->kl_p90 = row->kl_p99 = row->kl_max = NAN;
	row->covered_mean = row->top1_agreement = row->abs_dlogprob_mean = NAN;
	row->topk_mass_min = row->topk_mass_median = NAN;
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
	qsort(sorted, n_topk, sizeof *sorted, mrl_cmp_double);
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

bool rpt_kl_row_is_overall(const struct rpt_kl_row *r)
{
	return r->task && !strcmp(r->task, "all") && r->language && !strcmp(r->language, "all");
}

int rpt_compare_set_kl(struct rpt_cmp_result *res, const struct rpt_kl_row *rows, size_t n_rows,
		       double max_mean_kl, struct mrl_err *err)
{
	for (size_t i = 0; i < res->n_kl; i++) /* forget a previous attachment's gate */
		if (res->kl[i].gated) {
			res->n_gated--;
			res->n_gated_judged--;
			res->n_gate_failed -= res->kl[i].gate_failed;
		}
	res->n_kl_undetermined = 0;
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
		r->gated = r->gate_failed = r->undetermined = false;
		if (isnan(max_mean_kl) || isnan(r->kl_mean))
			continue;
		if (rpt_kl_row_is_overall(r))
			r->gated = !o->gate_tasks && !o->gate_languages;
		else
			r->gated = in_list(o->gate_tasks, o->n_gate_tasks, r->task) &&
				   in_list(o->gate_languages, o->n_gate_languages, r->language);
		if (!r->gated)
			continue;
		n_gated++;
		/* a bound from lists that hold little of the distribution decides nothing */
		r->undetermined = r->topk_mass_median < o->kl_min_coverage;
		res->n_kl_undetermined += r->undetermined;
		r->gate_failed = !r->undetermined && r->kl_mean > max_mean_kl;
		res->n_gated++;
		res->n_gated_judged++;
		res->n_gate_failed += r->gate_failed;
	}
	if (!isnan(max_mean_kl) && !n_gated)
		return mrl_err_set(err, MRL_EINPUT,
				   "KL gate: no KL figure to check (both runs need merilo run --store-logprobs with top-K "
				   "lists, over the same tokens; or the gate's task/language filter excludes every row)");
	return 0;
}
