/* bench_ab_stats.c — the arithmetic of the A/B performance gate (medians,
 * percentile-bootstrap CIs of the median log ratio, the Wilcoxon signed-rank
 * decision, unpaired ratios, valgrind's Ir total) and the performance deltas
 * `merilo compare` shows when both runs carry bench records. Split from
 * bench_ab.c, which runs the measurements; the idea of the gate is described
 * there.
 */
#include "harness/bench.h"
#include "harness/bench_ab_int.h"
#include "harness/hrn.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/sort.h"

/* ================================================================ arithmetic */

void hrn_ab_opts_init(struct hrn_ab_opts *o)
{
	o->threshold = 0.05;
	o->alpha = 0.01;
	o->level = MET_BOOT_DEFAULT_LEVEL;
	o->n_resamples = MET_BOOT_DEFAULT_RESAMPLES;
	o->seed = MET_BOOT_DEFAULT_SEED;
}

const char *hrn_ab_outcome_name(enum hrn_ab_outcome o)
{
	return o == HRN_AB_REGRESSION ? "regression" : o == HRN_AB_IMPROVEMENT ? "improvement" : "no significant change";
}

double hrn_ab_median(double *scratch, const double *x, size_t n)
{
	memcpy(scratch, x, n * sizeof *scratch);
	qsort(scratch, n, sizeof *scratch, mrl_cmp_double);
	return met_percentile_sorted(scratch, n, 50);
}

/* The median of one bootstrap resample of x (n draws with replacement); scratch holds n. */
static double resampled_median(double *scratch, const double *x, size_t n, struct mrl_rng *rng)
{
	for (size_t k = 0; k < n; k++)
		scratch[k] = x[mrl_rng_below(rng, n)];
	qsort(scratch, n, sizeof *scratch, mrl_cmp_double);
	return met_percentile_sorted(scratch, n, 50);
}

/* Sorts the n bootstrap statistics and reads off the two-sided percentile interval at `level`. */
static void percentile_ci(double *stats, size_t n, double level, double *lo, double *hi)
{
	qsort(stats, n, sizeof *stats, mrl_cmp_double);
	*lo = met_percentile_sorted(stats, n, 100 * (1 - level) / 2);
	*hi = met_percentile_sorted(stats, n, 100 * (1 + level) / 2);
}

static int check_opts(const struct hrn_ab_opts *o, struct mrl_err *err)
{
	if (!(o->level > 0 && o->level < 1) || o->n_resamples == 0 || !(o->threshold >= 0) || !(o->alpha > 0))
		return mrl_err_set(err, MRL_EINPUT, "ab: bad options (level in (0,1), resamples >= 1, threshold >= 0, "
						    "alpha > 0)");
	return 0;
}

int hrn_ab_median_ci(const double *x, size_t n, const struct hrn_ab_opts *o, double *median, double *lo,
		     double *hi, struct mrl_err *err)
{
	struct hrn_ab_opts def;
	if (!o) {
		hrn_ab_opts_init(&def);
		o = &def;
	}
	int rc = check_opts(o, err);
	if (rc)
		return rc;
	if (n == 0)
		return mrl_err_set(err, MRL_EINPUT, "ab: no samples");
	for (size_t i = 0; i < n; i++)
		if (!isfinite(x[i]))
			return mrl_err_set(err, MRL_EINPUT, "ab: sample %zu is not finite", i);
	double *tmp = malloc(n * sizeof *tmp), *meds = malloc(o->n_resamples * sizeof *meds);
	if (!tmp || !meds) {
		rc = mrl_err_set(err, MRL_ENOMEM, "ab: out of memory");
		goto out;
	}
	*median = hrn_ab_median(tmp, x, n);
	struct mrl_rng rng;
	mrl_rng_seed(&rng, o->seed);
	for (size_t b = 0; b < o->n_resamples; b++)
		meds[b] = resampled_median(tmp, x, n, &rng);
	percentile_ci(meds, o->n_resamples, o->level, lo, hi);
out:
	free(tmp);
	free(meds);
	return rc;
}

int hrn_ab_decide(const double *cand_time, const double *base_time, size_t n, const struct hrn_ab_opts *o,
		  struct hrn_ab_verdict *v, struct mrl_err *err)
{
	struct hrn_ab_opts def;
	if (!o) {
		hrn_ab_opts_init(&def);
		o = &def;
	}
	memset(v, 0, sizeof *v);
	if (n == 0)
		return mrl_err_set(err, MRL_EINPUT, "ab: no pairs");
	double *lr = malloc(n * sizeof *lr);
	if (!lr)
		return mrl_err_set(err, MRL_ENOMEM, "ab: out of memory");
	double median;
	int rc = met_median_log_ratio(cand_time, base_time, n, &median, lr, err);
	struct met_wilcoxon w;
	if (!rc)
		rc = hrn_ab_median_ci(lr, n, o, &v->log_ratio, &v->ci_lo, &v->ci_hi, err);
	if (!rc)
		rc = met_wilcoxon_signed_rank(lr, n, &w, err);
	free(lr);
	if (rc)
		return rc;
	v->n = n;
	v->ratio = exp(v->log_ratio);
	v->ratio_lo = exp(v->ci_lo);
	v->ratio_hi = exp(v->ci_hi);
	v->p = w.p;
	v->p_exact = w.exact;
	const double t = log1p(o->threshold);
	if (v->ci_lo > t && v->p < o->alpha)
		v->outcome = HRN_AB_REGRESSION;
	else if (v->ci_hi < -t && v->p < o->alpha)
		v->outcome = HRN_AB_IMPROVEMENT;
	else
		v->outcome = HRN_AB_SAME;
	return 0;
}

int hrn_ab_ratio_unpaired(const double *cand, size_t n_cand, const double *base, size_t n_base,
			  const struct hrn_ab_opts *o, double *ratio, double *lo, double *hi, struct mrl_err *err)
{
	struct hrn_ab_opts def;
	if (!o) {
		hrn_ab_opts_init(&def);
		o = &def;
	}
	int rc = check_opts(o, err);
	if (rc)
		return rc;
	if (!n_cand || !n_base)
		return mrl_err_set(err, MRL_EINPUT, "ab: a side has no samples");
	for (size_t i = 0; i < n_cand + n_base; i++) {
		double x = i < n_cand ? cand[i] : base[i - n_cand];
		if (!isfinite(x) || x <= 0)
			return mrl_err_set(err, MRL_EINPUT, "ab: %s sample %zu is not a positive number",
					   i < n_cand ? "candidate" : "base", i < n_cand ? i : i - n_cand);
	}
	size_t nmax = n_cand > n_base ? n_cand : n_base;
	double *tmp = malloc(nmax * sizeof *tmp), *rs = malloc(o->n_resamples * sizeof *rs);
	if (!tmp || !rs) {
		rc = mrl_err_set(err, MRL_ENOMEM, "ab: out of memory");
		goto out;
	}
	*ratio = hrn_ab_median(tmp, cand, n_cand) / hrn_ab_median(tmp, base, n_base);
	struct mrl_rng rng;
	mrl_rng_seed(&rng, o->seed);
	for (size_t b = 0; b < o->n_resamples; b++) {
		/* two statements: the candidate draws come first from the one stream */
		const double cand_median = resampled_median(tmp, cand, n_cand, &rng);
		rs[b] = cand_median / resampled_median(tmp, base, n_base, &rng);
	}
	percentile_ci(rs, o->n_resamples, o->level, lo, hi);
out:
	free(tmp);
	free(rs);
	return rc;
}

int hrn_ab_parse_valgrind_ir(const char *text, uint64_t *ir)
{
	static const char *const keys[] = { "I   refs:", "I refs:", "Collected :" };
	for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) {
		const char *p = text ? strstr(text, keys[k]) : NULL;
		if (!p)
			continue;
		p += strlen(keys[k]);
		while (*p == ' ')
			p++;
		uint64_t v = 0;
		int digits = 0;
		for (; (*p >= '0' && *p <= '9') || *p == ','; p++)
			if (*p != ',') {
				if (v > (UINT64_MAX - 9) / 10)
					return -1;
				v = v * 10 + (uint64_t)(*p - '0');
				digits++;
			}
		if (!digits)
			return -1;
		*ir = v;
		return 0;
	}
	return -1;
}

/* ============================================================ compare deltas */

const struct hrn_bench_result *hrn_ab_find_result(const struct hrn_bench_doc *d, const char *test, int64_t threads)
{
	for (size_t i = 0; i < d->n_results; i++)
		if (!strcmp(d->results[i].test, test) && d->results[i].threads == threads)
			return &d->results[i];
	return NULL;
}

static int delta_series(const struct hrn_bench_result *b, const struct hrn_bench_result *c, const char *series,
			const char *figure, const char *unit, bool higher, const struct hrn_ab_opts *o,
			struct hrn_perf_delta *d, struct mrl_err *err)
{
	const struct hrn_bench_series *sb = hrn_bench_result_series(b, series), *sc = hrn_bench_result_series(c, series);
	if (!sb || !sc || !sb->n || !sc->n)
		return 1; /* not in both: no row */
	memset(d, 0, sizeof *d);
	snprintf(d->test, sizeof d->test, "%s", c->test);
	d->threads = c->threads;
	d->figure = figure;
	d->unit = unit;
	d->higher_is_better = higher;
	d->base = sb->st.median;
	d->cand = sc->st.median;
	d->n_base = sb->n;
	d->n_cand = sc->n;
	int rc = hrn_ab_ratio_unpaired(sc->samples, sc->n, sb->samples, sb->n, o, &d->ratio, &d->lo, &d->hi, err);
	if (rc)
		return rc;
	const double t = 1 + o->threshold;
	d->worse = higher ? d->hi < 1 / t : d->lo > t;
	return 0;
}

static int delta_figure(const struct hrn_bench_result *b, const struct hrn_bench_result *c, const char *name,
			const char *figure, struct hrn_perf_delta *d)
{
	const struct rec_reading *fb = hrn_bench_result_figure(b, name), *fc = hrn_bench_result_figure(c, name);
	if (!fb || !fc)
		return 1;
	memset(d, 0, sizeof *d);
	snprintf(d->test, sizeof d->test, "%s", c->test);
	d->threads = c->threads;
	d->figure = figure;
	d->unit = "J/token";
	d->base = fb->value;
	d->cand = fc->value;
	d->n_base = isfinite(fb->value);
	d->n_cand = isfinite(fc->value);
	d->ratio = d->base > 0 && isfinite(d->cand) ? d->cand / d->base : NAN;
	d->lo = d->hi = NAN;
	d->why_null = !isfinite(fb->value) ? (fb->reason ? fb->reason : "not measured in the base")
		      : !isfinite(fc->value) ? (fc->reason ? fc->reason : "not measured in the candidate")
					     : "one value per run: no CI";
	return 0;
}

int hrn_bench_perf_deltas(const struct hrn_bench_doc *base, const struct hrn_bench_doc *cand,
			  const struct hrn_ab_opts *o, struct hrn_perf_delta **out, size_t *n, struct mrl_err *err)
{
	struct hrn_ab_opts def;
	if (!o) {
		hrn_ab_opts_init(&def);
		o = &def;
	}
	*out = NULL;
	*n = 0;
	/* at most 2 rows per candidate result (a rate or TTFT, and energy) */
	struct hrn_perf_delta *rows = calloc(2 * cand->n_results + 1, sizeof *rows);
	if (!rows)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	size_t k = 0;
	int rc = 0;
	for (size_t i = 0; i < cand->n_results && !rc; i++) {
		const struct hrn_bench_result *c = &cand->results[i];
		const struct hrn_bench_result *b = hrn_ab_find_result(base, c->test, c->threads);
		if (!b || !c->kind)
			continue;
		int r = 1;
		if (!strcmp(c->kind, "pp")) {
			if ((r = delta_series(b, c, "tokens_per_s", "prefill", "tokens/s", true, o, &rows[k], err)) < 0)
				rc = r;
			k += r == 0;
			if (!rc && delta_figure(b, c, "energy_j_per_token_prefill", "prefill energy", &rows[k]) == 0)
				k++;
		} else if (!strcmp(c->kind, "tg")) {
			if ((r = delta_series(b, c, "tokens_per_s", "decode", "tokens/s", true, o, &rows[k], err)) < 0)
				rc = r;
			k += r == 0;
			if (!rc && delta_figure(b, c, "energy_j_per_token_decode", "decode energy", &rows[k]) == 0)
				k++;
		} else if (!strcmp(c->kind, "request")) {
			if ((r = delta_series(b, c, "ttft_ms", "TTFT", "ms", false, o, &rows[k], err)) < 0)
				rc = r;
			k += r == 0;
		}
	}
	if (rc) {
		free(rows);
		return rc;
	}
	*out = rows;
	*n = k;
	return 0;
}

const char *hrn_bench_gated_series(const struct hrn_bench_result *c, const char **figure)
{
	if (!c->kind)
		return NULL;
	*figure = !strcmp(c->kind, "pp") ? "prefill" : !strcmp(c->kind, "tg") ? "decode" : "TTFT";
	return !strcmp(c->kind, "request") ? "ttft_ms"
	       : !strcmp(c->kind, "pp") || !strcmp(c->kind, "tg") ? "tokens_per_s"
								: NULL;
}
