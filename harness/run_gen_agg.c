/* run_gen_agg.c — results.json's numbers for generate tasks.
 *
 * Two kinds of metric. Per-item ones (exact_match, contains, script_ok, lang_ok:
 * right/wrong; f1, rouge_l: graded 0..1) are averaged like multiple-choice
 * accuracy: mean, standard error, percentile-bootstrap CI, and between languages a
 * paired-bootstrap CI of the difference with exact McNemar for the right/wrong ones.
 * An item without the metric (script_ok of an answer with no letters, lang_ok of
 * one with too little evidence) is left out of that metric.
 * Corpus ones (bleu, chrf, chrf++) are sacrebleu's corpus scores: each item's
 * sufficient statistics (items.jsonl "generation.stats") are summed and the score is
 * computed once from the sums (metrics/text.h), never averaged per item. The CI
 * resamples items with replacement and recomputes the corpus score (percentile
 * interval; the replicates' sd is the standard error); the paired difference
 * between languages resamples the paired items together.
 */
#include "harness/run_gen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/sort.h"
#include "metrics/met.h"
#include "metrics/text.h"

/* One item's statistics of a corpus metric (BLEU, or chrF/chrF++). */
union corpus_stats {
	struct met_bleu_stats bleu;
	struct met_chrf_stats chrf;
};

static bool is_corpus(const char *metric)
{
	return !strcmp(metric, "bleu") || !strcmp(metric, "chrf") || !strcmp(metric, "chrf++");
}

static const struct rec_item_metric *item_metric(const struct rec_item *it, const char *name)
{
	for (size_t i = 0; i < it->n_metrics; i++)
		if (!strcmp(it->metrics[i].metric, name))
			return &it->metrics[i];
	return NULL;
}

/* The statistics of metric in it's "generation.stats" into *s. */
static int read_stats(const struct rec_item *it, const char *metric, union corpus_stats *s, struct mrl_err *err)
{
	json_t *a = json_object_get(json_object_get(it->generation, "stats"), metric);
	const size_t n = json_array_size(a);
	const bool bleu = !strcmp(metric, "bleu");
	memset(s, 0, sizeof *s);
	if (!a || (bleu ? n != 2 + 2 * MET_BLEU_ORDER : (n % 3 || !n || n > 3 * MET_CHRF_MAX_ORDER)))
		return mrl_err_set(err, MRL_EINPUT, "items.jsonl: task '%s' item '%s' (%s): no %s statistics in generation.stats",
				   it->task, it->item_id, it->language, metric);
	int64_t v[3 * MET_CHRF_MAX_ORDER];
	for (size_t i = 0; i < n; i++)
		v[i] = json_integer_value(json_array_get(a, i));
	if (bleu) {
		s->bleu.hyp_len = v[0];
		s->bleu.ref_len = v[1];
		memcpy(s->bleu.correct, v + 2, sizeof s->bleu.correct);
		memcpy(s->bleu.total, v + 2 + MET_BLEU_ORDER, sizeof s->bleu.total);
	} else {
		const size_t no = n / 3;
		s->chrf.n_orders = (int)no;
		memcpy(s->chrf.hyp, v, no * sizeof *v);
		memcpy(s->chrf.ref, v + no, no * sizeof *v);
		memcpy(s->chrf.match, v + 2 * no, no * sizeof *v);
	}
	return 0;
}

/* Corpus score of stats[idx[0..n)] (idx NULL: stats[0..n)). */
static double corpus_score(const char *metric, const union corpus_stats *stats, const size_t *idx, size_t n,
			   void *scratch)
{
	if (!strcmp(metric, "bleu")) {
		struct met_bleu_stats *b = scratch;
		for (size_t i = 0; i < n; i++)
			b[i] = stats[idx ? idx[i] : i].bleu;
		return met_bleu_score(b, NULL, n, 0);
	}
	struct met_chrf_stats *c = scratch;
	for (size_t i = 0; i < n; i++)
		c[i] = stats[idx ? idx[i] : i].chrf;
	return met_chrf_score(c, NULL, n, 2);
}

/* Percentile CI and sd of B replicates (sorted in place). */
static void replicate_ci(double *rep, size_t B, double level, double *lo, double *hi, double *se)
{
	double mean = 0, ss = 0;
	for (size_t b = 0; b < B; b++)
		mean += rep[b] / (double)B;
	for (size_t b = 0; b < B; b++)
		ss += (rep[b] - mean) * (rep[b] - mean);
	*se = B > 1 ? sqrt(ss / (double)(B - 1)) : NAN;
	qsort(rep, B, sizeof *rep, mrl_cmp_double);
	*lo = B ? met_percentile_sorted(rep, B, 50.0 * (1.0 - level)) : NAN;
	*hi = B ? met_percentile_sorted(rep, B, 50.0 * (1.0 + level)) : NAN;
}

/* Work arrays for one task, sized for its largest language. */
struct agg_work {
	double *x, *y, *rep;
	int *xa, *ya;
	size_t *idx, *ia, *ib;
	union corpus_stats *sa, *sb;
	void *scratch;
};

static void work_free(struct agg_work *w)
{
	free(w->x), free(w->y), free(w->rep), free(w->xa), free(w->ya);
	free(w->idx), free(w->ia), free(w->ib), free(w->sa), free(w->sb), free(w->scratch);
}

static int work_alloc(struct agg_work *w, size_t cap, size_t B)
{
	memset(w, 0, sizeof *w);
	cap++;
	w->x = malloc(cap * sizeof *w->x), w->y = malloc(cap * sizeof *w->y), w->rep = malloc((B + 1) * sizeof *w->rep);
	w->xa = malloc(cap * sizeof *w->xa), w->ya = malloc(cap * sizeof *w->ya);
	w->idx = malloc(cap * sizeof *w->idx), w->ia = malloc(cap * sizeof *w->ia), w->ib = malloc(cap * sizeof *w->ib);
	w->sa = malloc(cap * sizeof *w->sa), w->sb = malloc(cap * sizeof *w->sb);
	w->scratch = malloc(cap * sizeof(union corpus_stats));
	return w->x && w->y && w->rep && w->xa && w->ya && w->idx && w->ia && w->ib && w->sa && w->sb && w->scratch
		       ? 0
		       : MRL_ENOMEM;
}

/* One language's value of metric over v[0..n) into a. */
static int lang_metric(const char *metric, const struct rec_item *const *v, size_t n, const struct hrn_agg_opts *o,
		       struct agg_work *w, struct rec_aggregate *a, struct mrl_err *err)
{
	int rc;
	if (is_corpus(metric)) {
		for (size_t i = 0; i < n; i++)
			if ((rc = read_stats(v[i], metric, &w->sa[i], err)))
				return rc;
		const double est = corpus_score(metric, w->sa, NULL, n, w->scratch);
		struct mrl_rng rng;
		mrl_rng_seed(&rng, o->seed);
		for (size_t b = 0; b < o->n_resamples; b++) {
			for (size_t i = 0; i < n; i++)
				w->idx[i] = (size_t)mrl_rng_below(&rng, n);
			w->rep[b] = corpus_score(metric, w->sa, w->idx, n, w->scratch);
		}
		double lo = NAN, hi = NAN, se = NAN;
		if (n)
			replicate_ci(w->rep, o->n_resamples, o->level, &lo, &hi, &se);
		return rec_aggregate_add_metric(a, metric, n ? est : NAN, se, lo, hi, o->level,
						"bootstrap-percentile-corpus");
	}
	size_t m = 0;
	bool binary = true; /* every value a right/wrong verdict (exact_match, script_ok), none graded (f1) */
	for (size_t i = 0; i < n; i++) {
		const struct rec_item_metric *im = item_metric(v[i], metric);
		if (im) {
			binary = binary && isnan(im->value);
			w->x[m++] = isnan(im->value) ? (im->correct ? 1.0 : 0.0) : im->value;
		}
	}
	if (!m) {
		rc = rec_aggregate_add_metric(a, metric, NAN, NAN, NAN, NAN, o->level, "bootstrap-percentile");
		if (!rc)
			a->metrics[a->n_metrics - 1].n = 0;
		return rc;
	}
	struct met_boot_opts bo = { .seed = o->seed, .n_resamples = o->n_resamples, .level = o->level };
	struct met_summary s;
	struct met_ci ci;
	const char *method;
	if ((rc = met_summary_compute(w->x, m, &s, err)) || (rc = met_mean_ci(w->x, m, binary, &bo, &ci, &method, err)) ||
	    (rc = rec_aggregate_add_metric(a, metric, s.mean, s.se, ci.lo, ci.hi, ci.level, method)))
		return rc;
	if (m < n) /* over the items that have the metric: say how many */
		a->metrics[a->n_metrics - 1].n = (int64_t)m;
	return 0;
}

/* The pairs of items (same id) of two id-sorted lists into w->ia / w->ib; their count. */
static size_t pair_items(const struct rec_item *const *va, size_t na, const struct rec_item *const *vb, size_t nb,
			 struct agg_work *w)
{
	size_t n = 0, i = 0, j = 0;
	while (i < na && j < nb) {
		int c = strcmp(va[i]->item_id, vb[j]->item_id);
		if (c < 0)
			i++;
		else if (c > 0)
			j++;
		else
			w->ia[n] = i++, w->ib[n++] = j++;
	}
	return n;
}

/* Paired corpus difference: score(A) - score(B) over the pairs, bootstrap resampling pairs. */
static int pair_corpus(const char *metric, const struct rec_item *const *va, const struct rec_item *const *vb,
		       size_t n, const struct hrn_agg_opts *o, struct agg_work *w, struct rec_comparison *c,
		       struct mrl_err *err)
{
	int rc;
	for (size_t k = 0; k < n; k++)
		if ((rc = read_stats(va[w->ia[k]], metric, &w->sa[k], err)) || (rc = read_stats(vb[w->ib[k]], metric, &w->sb[k], err)))
			return rc;
	c->diff = corpus_score(metric, w->sa, NULL, n, w->scratch) - corpus_score(metric, w->sb, NULL, n, w->scratch);
	struct mrl_rng rng;
	mrl_rng_seed(&rng, o->seed);
	for (size_t b = 0; b < o->n_resamples; b++) {
		for (size_t i = 0; i < n; i++)
			w->idx[i] = (size_t)mrl_rng_below(&rng, n);
		w->rep[b] = corpus_score(metric, w->sa, w->idx, n, w->scratch) -
			    corpus_score(metric, w->sb, w->idx, n, w->scratch);
	}
	double se;
	replicate_ci(w->rep, o->n_resamples, o->level, &c->ci_low, &c->ci_high, &se);
	c->ci_level = o->level;
	return 0;
}

/* Paired per-item difference (items having the metric in both), with McNemar for
 * right/wrong metrics. *n_out: the pairs used. */
static int pair_mean(const char *metric, const struct rec_item *const *va, const struct rec_item *const *vb,
		     size_t n, const struct hrn_agg_opts *o, struct agg_work *w, struct rec_comparison *c,
		     size_t *n_out, struct mrl_err *err)
{
	size_t m = 0;
	bool graded = false;
	for (size_t k = 0; k < n; k++) {
		const struct rec_item_metric *a = item_metric(va[w->ia[k]], metric), *b = item_metric(vb[w->ib[k]], metric);
		if (!a || !b)
			continue;
		graded |= !isnan(a->value);
		w->x[m] = isnan(a->value) ? a->correct : a->value;
		w->y[m] = isnan(b->value) ? b->correct : b->value;
		w->xa[m] = a->correct, w->ya[m] = b->correct;
		m++;
	}
	*n_out = m;
	if (!m)
		return 0;
	struct met_boot_opts bo = { .seed = o->seed, .n_resamples = o->n_resamples, .level = o->level };
	struct met_ci ci;
	int rc = met_boot_paired_diff_ci(w->x, w->y, m, &bo, &ci, err);
	if (rc)
		return rc;
	c->diff = ci.estimate, c->ci_low = ci.lo, c->ci_high = ci.hi, c->ci_level = ci.level;
	if (!graded) {
		struct met_mcnemar mc;
		if ((rc = met_mcnemar_count(w->xa, w->ya, m, &mc, err)))
			return rc;
		c->mcnemar_b = (int64_t)mc.only_a, c->mcnemar_c = (int64_t)mc.only_b, c->mcnemar_p = mc.p;
	}
	return 0;
}

static int pairs_of(const struct task_task *t, const char *const *langs, const struct rec_item *const *const *v,
		    const size_t *nv, size_t la, size_t lb, const struct hrn_agg_opts *o, struct agg_work *w,
		    struct rec_results *r, struct mrl_err *err)
{
	const size_t n = pair_items(v[la], nv[la], v[lb], nv[lb], w);
	int rc = 0;
	for (size_t m = 0; n && m < task_n_metrics(t) && !rc; m++) {
		const char *metric = task_metric(t, m);
		const bool corpus = is_corpus(metric);
		struct rec_comparison got = { .diff = NAN, .ci_low = NAN, .ci_high = NAN, .ci_level = NAN, .mcnemar_p = NAN };
		size_t used = n;
		rc = corpus ? pair_corpus(metric, v[la], v[lb], n, o, w, &got, err)
			    : pair_mean(metric, v[la], v[lb], n, o, w, &got, &used, err);
		if (rc || !used) /* no item judged in both languages: nothing to compare */
			continue;
		struct rec_comparison *c = rec_results_add_comparison(r, task_id(t), langs[la], langs[lb], metric,
								      corpus ? "paired-bootstrap-corpus" : "paired-bootstrap");
		if (!c)
			return mrl_err_set(err, MRL_ENOMEM, "out of memory");
		c->n_pairs = (int64_t)used;
		c->diff = got.diff, c->ci_low = got.ci_low, c->ci_high = got.ci_high, c->ci_level = got.ci_level;
		c->mcnemar_b = got.mcnemar_b, c->mcnemar_c = got.mcnemar_c, c->mcnemar_p = got.mcnemar_p;
	}
	return rc;
}

int hrn_run_gen_aggregate(const struct task_task *t, const char *const *langs, const struct rec_item *const *const *v,
			  const size_t *n, size_t n_langs, const struct hrn_agg_opts *o, struct rec_results *r,
			  struct mrl_err *err)
{
	size_t cap = 0;
	for (size_t l = 0; l < n_langs; l++)
		cap = n[l] > cap ? n[l] : cap;
	struct agg_work w;
	int rc = work_alloc(&w, cap, o->n_resamples) ? mrl_err_set(err, MRL_ENOMEM, "out of memory") : 0;
	for (size_t l = 0; l < n_langs && !rc; l++) {
		if (!n[l])
			continue;
		struct rec_aggregate *a = rec_results_add_aggregate(r, task_id(t), langs[l], (int64_t)n[l]);
		if (!a)
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		for (size_t m = 0; m < task_n_metrics(t) && !rc; m++)
			rc = lang_metric(task_metric(t, m), v[l], n[l], o, &w, a, err);
	}
	for (size_t la = 0; la < n_langs && !rc && !o->no_pairs; la++)
		for (size_t lb = la + 1; lb < n_langs && !rc; lb++)
			rc = pairs_of(t, langs, v, n, la, lb, o, &w, r, err);
	work_free(&w);
	return rc;
}
