/* run_aggregate.c — from items.jsonl to the numbers of results.json, and the summary.
 *
 * Aggregates are always computed from the items as read back from items.jsonl
 * (all of them, including those of earlier, resumed sessions), never from state
 * of the process, so what results.json says can be recomputed from items.jsonl.
 *
 * Multiple choice, per task x language: each metric's mean of 0/1 verdicts, its
 * standard error (sample sd / sqrt n) and a percentile-bootstrap CI
 * (met_boot_mean_ci); per pair of languages over the items both have: the paired
 * bootstrap CI of the difference (met_boot_paired_diff_ci) and exact McNemar.
 * Perplexity, per task x language: sum of NLL over the sum of each count (tokens,
 * words, bytes, canonical characters), with a bootstrap over documents whose
 * replicates give the CI (percentile) and the standard error (their sd).
 * Performance (hrn_run_performance): throughput and item times per task x language
 * from the same items, and per task the measurement window of this session.
 *
 * The bootstraps are most of the time, so the work is cut into pieces (a language's
 * aggregate, a pair's comparisons, a perplexity or generate task, a breakdown value)
 * computed on threads, each seeded by the run seed alone and taken into the results in
 * the pieces' order: results.json is the same bits on any number of threads.
 */
#include "harness/run.h"
#include "harness/run_gen.h"

#include <ctype.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/met.h"
#include "common/sort.h"

struct group {
	const struct rec_item **v; /* sorted by item id, one per id */
	size_t n;
	size_t *at; /* the aggregation's groups: each record's index in the task's items
		     * (SIZE_MAX: not an item of it); NULL in the performance's */
};

static int cmp_item(const void *a, const void *b)
{
	const struct rec_item *x = *(const struct rec_item *const *)a, *y = *(const struct rec_item *const *)b;
	int c = strcmp(x->item_id, y->item_id);
	return c ? c : (x < y ? -1 : x > y); /* same id: file order (the array is in file order) */
}

/* The items of (task, lang), one per item id (the first in the file wins). */
static int collect(const struct rec_items *items, const char *task, const char *lang, struct group *g,
		   struct mrl_err *err)
{
	g->n = 0;
	if (!(g->v = malloc((items->n + 1) * sizeof *g->v)))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t i = 0; i < items->n; i++)
		if (!strcmp(items->items[i].task, task) && !strcmp(items->items[i].language, lang))
			g->v[g->n++] = &items->items[i];
	qsort(g->v, g->n, sizeof *g->v, cmp_item);
	size_t k = 0;
	for (size_t i = 0; i < g->n; i++)
		if (!k || strcmp(g->v[k - 1]->item_id, g->v[i]->item_id))
			g->v[k++] = g->v[i];
	g->n = k;
	return 0;
}

static const struct rec_item_metric *find_metric(const struct rec_item *it, const char *name)
{
	for (size_t i = 0; i < it->n_metrics; i++)
		if (!strcmp(it->metrics[i].metric, name))
			return &it->metrics[i];
	return NULL;
}

static int verdict(const struct rec_item *it, const char *metric, double *x, struct mrl_err *err)
{
	const struct rec_item_metric *m = find_metric(it, metric);
	if (!m)
		return mrl_err_set(err, MRL_EINPUT, "items.jsonl: task '%s' item '%s' (%s) has no metric '%s'", it->task,
				   it->item_id, it->language, metric);
	*x = m->correct ? 1.0 : 0.0;
	return 0;
}

/* The accuracy of guessing on the items of g (t's, in lang): the mean of 1 / the
 * item's choices in the suite, summed in suite order; NaN where none of g's ids is an
 * item of t. The records of 'merilo score' carry no choices, so they cannot say it
 * themselves. 0 or MRL_ENOMEM. */
static int mc_chance(const struct task_task *t, const char *lang, const struct group *g, double *chance,
		     struct mrl_err *err)
{
	const int li = task_language_index(t, lang);
	const size_t ni = task_n_items(t);
	uint8_t *in = calloc(ni + 1, 1);
	if (!in)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t i = 0; i < g->n; i++)
		if (g->at[i] < ni)
			in[g->at[i]] = 1;
	double sum = 0;
	size_t n = 0;
	for (size_t i = 0; li >= 0 && i < ni; i++) {
		const struct task_item *it = task_item_at(t, i);
		const size_t nc = in[i] && task_item_has(it, (size_t)li) ? task_item_n_choices(it, (size_t)li) : 0;
		if (nc) {
			sum += 1.0 / (double)nc;
			n++;
		}
	}
	free(in);
	*chance = n ? sum / (double)n : NAN;
	return 0;
}

/* The multiple-choice metrics of t, in reporting order. */
static size_t mc_metrics(const struct task_task *t, const char **names)
{
	size_t n = 0;
	for (int r = 0; r < TASK_MC_N_RULES; r++) {
		bool listed = r != TASK_MC_ACC_MUTUAL_INFO;
		for (size_t i = 0; !listed && i < task_n_metrics(t); i++)
			listed = !strcmp(task_metric(t, i), "acc_mutual_info");
		if (listed)
			names[n++] = task_mc_rule_name((enum task_mc_rule)r);
	}
	return n;
}

/* The progress of a bootstrap, passed on to hrn_agg_opts.progress with what is being
 * resampled ("copa sr-Cyrl - hr") and the items each resample draws (its work). The
 * pieces run on several threads: one advance at a time. */
struct boot_progress {
	const struct hrn_agg_opts *o;
	size_t n_items;
	char what[128];
};

static pthread_mutex_t progress_mu = PTHREAD_MUTEX_INITIALIZER;

static void boot_step(void *arg, size_t n_done)
{
	struct boot_progress *bp = arg;
	pthread_mutex_lock(&progress_mu);
	hrn_progress_advance_work(bp->o->progress, n_done, (double)n_done * (double)bp->n_items, bp->what);
	pthread_mutex_unlock(&progress_mu);
}

/* The metrics a multiple-choice aggregate reports: o->only_metric, else all of t's. */
static size_t mc_names(const struct task_task *t, const struct hrn_agg_opts *o, const char **names)
{
	if (!o->only_metric)
		return mc_metrics(t, names);
	names[0] = o->only_metric;
	return 1;
}

/* The bootstrap options of o, telling bp of the progress of resamples of n_items. */
static struct met_boot_opts boot_opts(const struct hrn_agg_opts *o, size_t n_items, struct boot_progress *bp)
{
	bp->o = o;
	bp->n_items = n_items;
	return (struct met_boot_opts){ .seed = o->seed, .n_resamples = o->n_resamples, .level = o->level,
				       .progress = o->progress ? boot_step : NULL, .progress_arg = bp };
}

/* The aggregate of t's multiple-choice metrics in lang, over the records g, into r
 * (none where g has no records). */
static int mc_lang(const struct task_task *t, const char *lang, const struct group *g, const struct hrn_agg_opts *o,
		   struct rec_results *r, struct mrl_err *err)
{
	if (!g->n)
		return 0;
	const char *names[TASK_MC_N_RULES];
	const size_t n_metrics = mc_names(t, o, names);
	struct boot_progress bp;
	const struct met_boot_opts bo = boot_opts(o, g->n, &bp);
	snprintf(bp.what, sizeof bp.what, "%s %s%s%s", task_id(t), lang, o->value ? ", " : "", o->value ? o->value : "");
	double *x = malloc((g->n + 1) * sizeof *x);
	struct rec_aggregate *a = x ? rec_results_add_aggregate(r, task_id(t), lang, (int64_t)g->n) : NULL;
	int rc = a ? mc_chance(t, lang, g, &a->chance, err) : mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t m = 0; m < n_metrics && !rc; m++) {
		for (size_t i = 0; i < g->n && !rc; i++)
			rc = verdict(g->v[i], names[m], &x[i], err);
		struct met_summary s;
		struct met_ci ci;
		const char *method;
		if (!rc && !(rc = met_summary_compute(x, g->n, &s, err)) &&
		    !(rc = met_mean_ci(x, g->n, true, &bo, &ci, &method, err))) /* verdicts: 0 or 1 */
			rc = rec_aggregate_add_metric(a, names[m], s.mean, s.se, ci.lo, ci.hi, ci.level, method);
	}
	free(x);
	return rc;
}

/* The items both ga and gb have (each sorted by item id): their number, and where ia and
 * ib are given, their positions in ga and gb in id order. */
static size_t pair_up(const struct group *ga, const struct group *gb, size_t *ia, size_t *ib)
{
	size_t n = 0;
	for (size_t i = 0, j = 0; i < ga->n && j < gb->n;) {
		const int c = strcmp(ga->v[i]->item_id, gb->v[j]->item_id);
		if (!c && ia) {
			ia[n] = i;
			ib[n] = j;
		}
		n += !c;
		i += c <= 0;
		j += c >= 0;
	}
	return n;
}

/* The paired comparisons of t's multiple-choice metrics between languages la and lb,
 * over the items both ga and gb have, into r (none without such). */
static int mc_pair(const struct task_task *t, const char *la, const char *lb, const struct group *ga,
		   const struct group *gb, const struct hrn_agg_opts *o, struct rec_results *r, struct mrl_err *err)
{
	const char *names[TASK_MC_N_RULES];
	const size_t n_metrics = mc_names(t, o, names), cap = ga->n < gb->n ? ga->n : gb->n;
	struct boot_progress bp;
	const struct met_boot_opts bo = boot_opts(o, 0, &bp);
	snprintf(bp.what, sizeof bp.what, "%s %s - %s", task_id(t), la, lb);
	double *x = malloc((cap + 1) * sizeof *x), *y = malloc((cap + 1) * sizeof *y);
	int *xa = malloc((cap + 1) * sizeof *xa), *ya = malloc((cap + 1) * sizeof *ya);
	size_t *ia = malloc((cap + 1) * sizeof *ia), *ib = malloc((cap + 1) * sizeof *ib);
	int rc = x && y && xa && ya && ia && ib ? 0 : mrl_err_set(err, MRL_ENOMEM, "out of memory");
	const size_t n = rc ? 0 : pair_up(ga, gb, ia, ib);
	bp.n_items = n;
	for (size_t m = 0; m < n_metrics && n && !rc; m++) {
		for (size_t k = 0; k < n && !rc; k++) {
			if (!(rc = verdict(ga->v[ia[k]], names[m], &x[k], err)))
				rc = verdict(gb->v[ib[k]], names[m], &y[k], err);
			xa[k] = (int)x[k];
			ya[k] = (int)y[k];
		}
		struct met_ci ci;
		struct met_mcnemar mc;
		if (rc || (rc = met_boot_paired_diff_ci(x, y, n, &bo, &ci, err)) ||
		    (rc = met_mcnemar_count(xa, ya, n, &mc, err)))
			break;
		struct rec_comparison *cmp = rec_results_add_comparison(r, task_id(t), la, lb, names[m], "paired-bootstrap");
		if (!cmp) {
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
			break;
		}
		cmp->n_pairs = (int64_t)n;
		cmp->diff = ci.estimate;
		cmp->ci_low = ci.lo;
		cmp->ci_high = ci.hi;
		cmp->ci_level = ci.level;
		cmp->mcnemar_b = (int64_t)mc.only_a;
		cmp->mcnemar_c = (int64_t)mc.only_b;
		cmp->mcnemar_p = mc.p;
	}
	free(x);
	free(y);
	free(xa);
	free(ya);
	free(ia);
	free(ib);
	return rc;
}

/* Every language's aggregate, then every pair's comparisons (unless o->no_pairs). */
static int aggregate_mc(const struct task_task *t, const char *const *langs, const struct group *g, size_t n_langs,
			const struct hrn_agg_opts *o, struct rec_results *r, struct mrl_err *err)
{
	int rc = 0;
	for (size_t l = 0; l < n_langs && !rc; l++)
		rc = mc_lang(t, langs[l], &g[l], o, r, err);
	for (size_t la = 0; la < n_langs && !o->no_pairs && !rc; la++)
		for (size_t lb = la + 1; lb < n_langs && !rc; lb++)
			rc = mc_pair(t, langs[la], langs[lb], &g[la], &g[lb], o, r, err);
	return rc;
}

/* The counts a document's NLL is divided by, and the statistics made of them: every
 * perplexity metric a suite may list (tasks/suite_task.c), all always computed, as
 * multiple choice's acc, acc_norm and acc_bytes are. */
enum { PPL_TOKENS, PPL_WORDS, PPL_BYTES, PPL_CHARS, PPL_N };
enum { ST_PPL, ST_WORD_PPL, ST_BPB, ST_BPC, ST_BYTE_PPL, ST_N };
static const char *const ppl_names[ST_N] = { "perplexity", "word_perplexity", "bits_per_byte", "bits_per_char",
					     "byte_perplexity" };

/* The statistics of sums: NLL (nats) and each count. */
static void ppl_stats(double nll, const double *count, double *out)
{
	out[ST_PPL] = exp(nll / count[PPL_TOKENS]);
	out[ST_WORD_PPL] = exp(nll / count[PPL_WORDS]);
	out[ST_BPB] = nll / log(2.0) / count[PPL_BYTES];
	out[ST_BPC] = nll / log(2.0) / count[PPL_CHARS];
	out[ST_BYTE_PPL] = exp(nll / count[PPL_BYTES]); /* lm-eval's byte_perplexity: 2^bits_per_byte */
}

static int aggregate_ppl(const struct task_task *t, const char *lang, const struct group *g,
			 const struct hrn_agg_opts *o, struct rec_results *r, struct mrl_err *err)
{
	const size_t n = g->n, B = o->n_resamples;
	double *nll = malloc((n + 1) * sizeof *nll), *cnt = malloc((n + 1) * PPL_N * sizeof *cnt);
	double *rep = malloc((B + 1) * ST_N * sizeof *rep);
	int rc = 0;
	if (!nll || !cnt || !rep) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	double tot_nll = 0, tot[PPL_N] = { 0 }, est[ST_N];
	for (size_t i = 0; i < n; i++) {
		const struct rec_item *it = g->v[i];
		const struct rec_item_metric *w = find_metric(it, "words"), *c = find_metric(it, "canonical_chars");
		if (it->n_choices != 1 || !w || !c) {
			rc = mrl_err_set(err, MRL_EINPUT, "items.jsonl: task '%s' item '%s' (%s) is not a perplexity record",
					 it->task, it->item_id, lang);
			goto out;
		}
		nll[i] = -it->choices[0].loglik;
		cnt[i * PPL_N + PPL_TOKENS] = (double)it->choices[0].n_tokens;
		cnt[i * PPL_N + PPL_WORDS] = w->value;
		cnt[i * PPL_N + PPL_BYTES] = (double)it->choices[0].n_bytes;
		cnt[i * PPL_N + PPL_CHARS] = c->value;
		tot_nll += nll[i];
		for (int k = 0; k < PPL_N; k++)
			tot[k] += cnt[i * PPL_N + k];
	}
	ppl_stats(tot_nll, tot, est);
	/* bootstrap over documents; replicate b's statistics in rep[k * B + b] */
	struct mrl_rng rng;
	mrl_rng_seed(&rng, o->seed);
	for (size_t b = 0; b < B; b++) {
		double s_nll = 0, s[PPL_N] = { 0 }, v[ST_N];
		for (size_t i = 0; i < n; i++) {
			size_t d = (size_t)mrl_rng_below(&rng, n);
			s_nll += nll[d];
			for (int k = 0; k < PPL_N; k++)
				s[k] += cnt[d * PPL_N + k];
		}
		ppl_stats(s_nll, s, v);
		for (int k = 0; k < ST_N; k++)
			rep[(size_t)k * B + b] = v[k];
	}
	struct rec_aggregate *a = rec_results_add_aggregate(r, task_id(t), lang, (int64_t)n);
	if (!a) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	for (int k = 0; k < ST_N; k++) {
		double *x = rep + (size_t)k * B, lo = NAN, hi = NAN, se = NAN;
		size_t m = 0;
		for (size_t b = 0; b < B; b++) /* drop undefined replicates (e.g. a resample with no words) */
			if (isfinite(x[b]))
				x[m++] = x[b];
		if (m > 1) {
			double mean = 0, ss = 0;
			for (size_t b = 0; b < m; b++)
				mean += x[b] / (double)m;
			for (size_t b = 0; b < m; b++)
				ss += (x[b] - mean) * (x[b] - mean);
			se = sqrt(ss / (double)(m - 1));
			qsort(x, m, sizeof *x, mrl_cmp_double);
			lo = met_percentile_sorted(x, m, 50.0 * (1.0 - o->level));
			hi = met_percentile_sorted(x, m, 50.0 * (1.0 + o->level));
		}
		if ((rc = rec_aggregate_add_metric(a, ppl_names[k], isfinite(est[k]) ? est[k] : NAN, se, lo, hi, o->level,
						   "bootstrap-percentile-documents")))
			goto out;
	}
out:
	free(nll);
	free(cnt);
	free(rep);
	return rc;
}

/* Generate tasks (run_gen_agg.c) take the groups as plain arrays. */
static int aggregate_gen(const struct task_task *t, const char *const *langs, const struct group *g, size_t n_langs,
			 const struct hrn_agg_opts *o, struct rec_results *r, struct mrl_err *err)
{
	const struct rec_item *const **v = calloc(n_langs + 1, sizeof *v);
	size_t *n = calloc(n_langs + 1, sizeof *n);
	int rc = v && n ? 0 : mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t l = 0; l < n_langs && !rc; l++)
		v[l] = g[l].v, n[l] = g[l].n;
	if (!rc)
		rc = hrn_run_gen_aggregate(t, langs, v, n, n_langs, o, r, err);
	free(v);
	free(n);
	return rc;
}

/* ------------------------------------------------------------------ breakdown */

/* One task's aggregates, as hrn_run_aggregate computes them, of the groups g into r. */
static int aggregate_task(const struct task_task *t, const char *const *langs, const struct group *g, size_t n_langs,
			  const struct hrn_agg_opts *o, struct rec_results *r, struct mrl_err *err);

/* The aggregates of one breakdown value: the records of g whose items read value (vals
 * parallel to g's records) aggregated as the whole task, then moved into r's breakdowns. */
static int breakdown_value(const struct task_task *t, const char *const *langs, const struct group *g, size_t n_langs,
			   const char *const *const *vals, const char *value, const struct hrn_agg_opts *o,
			   struct rec_results *r, struct mrl_err *err)
{
	struct group *sub = calloc(n_langs + 1, sizeof *sub);
	struct rec_results part;
	struct hrn_agg_opts sub_o = *o;
	int rc = sub ? 0 : mrl_err_set(err, MRL_ENOMEM, "out of memory");
	sub_o.no_pairs = true; /* a value's paired gaps are not reported: not computed */
	sub_o.value = value;   /* the progress line names it */
	rec_results_init(&part);
	for (size_t l = 0; l < n_langs && !rc; l++) {
		sub[l].v = malloc((g[l].n + 1) * sizeof *sub[l].v);
		if (!sub[l].v || !(sub[l].at = malloc((g[l].n + 1) * sizeof *sub[l].at)))
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		for (size_t i = 0; !rc && i < g[l].n; i++)
			if (vals[l][i] && !strcmp(vals[l][i], value)) {
				sub[l].at[sub[l].n] = g[l].at[i];
				sub[l].v[sub[l].n++] = g[l].v[i]; /* still in id order, as pairing needs */
			}
	}
	if (!rc)
		rc = aggregate_task(t, langs, sub, n_langs, &sub_o, &part, err);
	for (size_t k = 0; !rc && k < part.n_aggregates; k++) {
		const struct rec_aggregate *a = &part.aggregates[k];
		struct rec_aggregate *b = rec_results_add_breakdown(r, a->task, a->language, task_breakdown(t), value, a->n);
		for (size_t m = 0; b && m < a->n_metrics && !rc; m++) {
			const struct rec_metric_value *v = &a->metrics[m];
			if (rec_aggregate_add_metric(b, v->name, v->value, v->std_err, v->ci_low, v->ci_high, v->ci_level,
						     v->method))
				b = NULL;
			else
				b->metrics[b->n_metrics - 1].n = v->n;
		}
		if (!b)
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		else
			b->chance = a->chance;
	}
	rec_results_release(&part);
	for (size_t l = 0; sub && l < n_langs; l++) {
		free(sub[l].v);
		free(sub[l].at);
	}
	free(sub);
	return rc;
}

/* One task's records as the aggregation's pieces read them: each selected language's
 * records (one per item id, sorted by id), and for a task with a "breakdown" each
 * record's value (vals[l][i], NULL where none; a derived language's is its source's)
 * and the distinct values in byte order. */
struct task_data {
	const struct task_task *t;
	const char **langs;
	struct group *g;
	size_t n_langs;
	const char ***vals;
	const char **values;
	size_t n_values;
};

static void task_data_release(struct task_data *d)
{
	for (size_t l = 0; l < d->n_langs; l++) {
		free(d->g ? d->g[l].v : NULL);
		free(d->g ? d->g[l].at : NULL);
		free(d->vals ? d->vals[l] : NULL);
	}
	free(d->g);
	free(d->langs);
	free(d->vals);
	free(d->values);
}

/* d's breakdown values (none without a breakdown). */
static int task_values(struct task_data *d, struct mrl_err *err)
{
	const struct task_task *t = d->t;
	if (!task_breakdown(t))
		return 0;
	const size_t ni = task_n_items(t);
	size_t total = 0, n = 0;
	for (size_t l = 0; l < d->n_langs; l++)
		total += d->g[l].n;
	d->vals = calloc(d->n_langs + 1, sizeof *d->vals);
	d->values = malloc((total + 1) * sizeof *d->values);
	int rc = d->vals && d->values ? 0 : mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t l = 0; l < d->n_langs && !rc; l++) {
		const struct group *g = &d->g[l];
		if (!(d->vals[l] = calloc(g->n + 1, sizeof *d->vals[l]))) {
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
			break;
		}
		for (size_t i = 0; i < g->n; i++) {
			d->vals[l][i] = g->at[i] < ni ? task_breakdown_value(t, task_item_at(t, g->at[i]), d->langs[l]) : NULL;
			if (d->vals[l][i])
				d->values[n++] = d->vals[l][i];
		}
	}
	if (!rc && n) {
		qsort(d->values, n, sizeof *d->values, mrl_cmp_str_ptr);
		for (size_t k = 0; k < n; k++)
			if (!k || strcmp(d->values[k], d->values[k - 1]))
				d->values[d->n_values++] = d->values[k];
	}
	return rc;
}

static int cmp_item_index(const void *a, const void *b, void *t)
{
	return strcmp(task_item_id(task_item_at(t, *(const size_t *)a)), task_item_id(task_item_at(t, *(const size_t *)b)));
}

/* The index of t's item id in order (t's item indices sorted by id), SIZE_MAX where none. */
static size_t find_item(const struct task_task *t, const size_t *order, size_t ni, const char *id)
{
	size_t lo = 0, hi = ni;
	while (lo < hi) {
		const size_t mid = lo + (hi - lo) / 2;
		const int c = strcmp(id, task_item_id(task_item_at(t, order[mid])));
		if (!c)
			return order[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return SIZE_MAX;
}

/* Each record's index in d's task (g->at), found in the task's items sorted by id. */
static int task_index(struct task_data *d, struct mrl_err *err)
{
	const size_t ni = task_n_items(d->t);
	size_t *order = malloc((ni + 1) * sizeof *order);
	int rc = order ? 0 : mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < ni; i++)
		order[i] = i;
	if (!rc)
		qsort_r(order, ni, sizeof *order, cmp_item_index, (void *)d->t);
	for (size_t l = 0; l < d->n_langs && !rc; l++) {
		struct group *g = &d->g[l];
		if (!(g->at = malloc((g->n + 1) * sizeof *g->at)))
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		for (size_t i = 0; !rc && i < g->n; i++)
			g->at[i] = find_item(d->t, order, ni, g->v[i]->item_id);
	}
	free(order);
	return rc;
}

/* Task ti's records and breakdown values into d (release with task_data_release). */
static int task_data_make(const struct hrn_run_cfg *cfg, const struct rec_items *items, size_t ti,
			  struct task_data *d, struct mrl_err *err)
{
	const struct task_task *t = cfg->tasks[ti];
	const size_t nl = task_n_languages(t);
	*d = (struct task_data){ .t = t, .g = calloc(nl + 1, sizeof *d->g), .langs = calloc(nl + 1, sizeof *d->langs) };
	int rc = d->g && d->langs ? 0 : mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t li = 0; li < nl && !rc; li++) {
		const char *lang = task_language(t, li);
		if (!hrn_run_lang_selected(cfg, lang))
			continue;
		d->langs[d->n_langs] = lang;
		rc = collect(items, task_id(t), lang, &d->g[d->n_langs], err);
		d->n_langs++;
	}
	if (!rc)
		rc = task_index(d, err);
	return rc ? rc : task_values(d, err);
}

/* ---------------------------------------------------------------- the pieces */

/* A piece of the aggregation: one language's multiple-choice aggregate, one pair's
 * comparisons, a perplexity or generate task whole, or one breakdown value. Each is a
 * pure function of its records and the options (every bootstrap seeded by o->seed
 * alone), computed on any thread into its own results, which are then taken into the
 * run's in the pieces' order: the same bits on any number of threads. */
enum piece_kind { PIECE_LANG, PIECE_PAIR, PIECE_TASK, PIECE_VALUE };
struct piece {
	enum piece_kind kind;
	const struct task_data *d;
	size_t a, b; /* PIECE_LANG: language a; PIECE_PAIR: languages a < b; PIECE_VALUE: value a */
	struct rec_results part;
};

struct pieces {
	struct piece *v;
	size_t n;
	const struct hrn_agg_opts *o;
};

static int piece_run(size_t i, void *arg, struct mrl_err *err)
{
	const struct pieces *p = arg;
	struct piece *pc = &p->v[i];
	const struct task_data *d = pc->d;
	switch (pc->kind) {
	case PIECE_LANG:
		return mc_lang(d->t, d->langs[pc->a], &d->g[pc->a], p->o, &pc->part, err);
	case PIECE_PAIR:
		return mc_pair(d->t, d->langs[pc->a], d->langs[pc->b], &d->g[pc->a], &d->g[pc->b], p->o, &pc->part, err);
	case PIECE_TASK:
		return aggregate_task(d->t, d->langs, d->g, d->n_langs, p->o, &pc->part, err);
	case PIECE_VALUE:
		break;
	}
	return breakdown_value(d->t, d->langs, d->g, d->n_langs, (const char *const *const *)d->vals, d->values[pc->a],
			       p->o, &pc->part, err);
}

static void add_piece(struct pieces *p, enum piece_kind kind, const struct task_data *d, size_t a, size_t b)
{
	struct piece *pc = &p->v[p->n++];
	*pc = (struct piece){ .kind = kind, .d = d, .a = a, .b = b };
	rec_results_init(&pc->part);
}

/* The pieces of task d, appended to p->v (room for them made by the caller): a
 * multiple-choice task by language and by pair, the others whole; then its values. */
static void pieces_of(const struct task_data *d, struct pieces *p)
{
	if (task_type(d->t) == TASK_MULTIPLE_CHOICE) {
		for (size_t l = 0; l < d->n_langs; l++)
			add_piece(p, PIECE_LANG, d, l, 0);
		for (size_t la = 0; la < d->n_langs; la++)
			for (size_t lb = la + 1; lb < d->n_langs; lb++)
				add_piece(p, PIECE_PAIR, d, la, lb);
	} else {
		add_piece(p, PIECE_TASK, d, 0, 0);
	}
	for (size_t k = 0; k < d->n_values; k++)
		add_piece(p, PIECE_VALUE, d, k, 0);
}

/* The items of d's language l whose value is d->values[k]. */
static size_t value_records(const struct task_data *d, size_t l, size_t k)
{
	size_t n = 0;
	for (size_t i = 0; i < d->g[l].n; i++)
		n += d->vals[l][i] && !strcmp(d->vals[l][i], d->values[k]);
	return n;
}

/* The bootstrap resamples of piece pc (B per metric for each bootstrap with records) into
 * *total, and their draws (each resample draws its bootstrap's items) into *work. */
static void piece_plan(const struct piece *pc, const struct hrn_agg_opts *o, size_t *total, double *work)
{
	const struct task_data *d = pc->d;
	const char *names[TASK_MC_N_RULES];
	if (task_type(d->t) != TASK_MULTIPLE_CHOICE || pc->kind == PIECE_TASK)
		return; /* perplexity and generate tasks report no progress */
	const size_t B = o->n_resamples * mc_names(d->t, o, names);
	for (size_t l = 0; l < (pc->kind == PIECE_VALUE ? d->n_langs : 1); l++) {
		const size_t n = pc->kind == PIECE_VALUE ? value_records(d, l, pc->a)
				 : pc->kind == PIECE_LANG ? d->g[pc->a].n
							  : pair_up(&d->g[pc->a], &d->g[pc->b], NULL, NULL);
		*total += n ? B : 0;
		*work += (double)B * (double)n;
	}
}

int hrn_run_aggregate(const struct hrn_run_cfg *cfg, const struct rec_items *items, const struct hrn_agg_opts *o,
		      struct rec_results *r, struct mrl_err *err)
{
	struct task_data *d = calloc(cfg->n_tasks + 1, sizeof *d);
	struct pieces p = { .o = o };
	size_t n_tasks = 0, cap = 0;
	int rc = d ? 0 : mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (; n_tasks < cfg->n_tasks && !rc; n_tasks++) {
		rc = task_data_make(cfg, items, n_tasks, &d[n_tasks], err);
		cap += d[n_tasks].n_langs * (d[n_tasks].n_langs + 1) / 2 + 1 + d[n_tasks].n_values;
	}
	if (!rc && !(p.v = calloc(cap + 1, sizeof *p.v)))
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t ti = 0; ti < n_tasks && !rc; ti++)
		pieces_of(&d[ti], &p);
	size_t total = 0;
	double work = 0;
	for (size_t i = 0; i < p.n && o->progress; i++)
		piece_plan(&p.v[i], o, &total, &work);
	if (!rc && o->progress)
		hrn_progress_plan(o->progress, total, work);
	if (!rc)
		rc = mrl_parallel_for(p.n, o->n_threads, piece_run, NULL, &p, err);
	for (size_t i = 0; i < p.n; i++) {
		if (!rc && rec_results_take(r, &p.v[i].part))
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		rec_results_release(&p.v[i].part);
	}
	for (size_t ti = 0; d && ti < n_tasks; ti++)
		task_data_release(&d[ti]);
	free(d);
	free(p.v);
	return rc;
}

static int aggregate_task(const struct task_task *t, const char *const *langs, const struct group *g, size_t n_langs,
			  const struct hrn_agg_opts *o, struct rec_results *r, struct mrl_err *err)
{
	int rc = 0;
	if (task_type(t) == TASK_MULTIPLE_CHOICE)
		return aggregate_mc(t, langs, g, n_langs, o, r, err);
	if (task_type(t) == TASK_GENERATE)
		return aggregate_gen(t, langs, g, n_langs, o, r, err);
	for (size_t l = 0; l < n_langs && !rc; l++)
		if (g[l].n)
			rc = aggregate_ppl(t, langs[l], &g[l], o, r, err);
	return rc;
}

/* -------------------------------------------------------------- performance */

static const struct rec_timing *find_timing(const struct rec_item *it, const char *name)
{
	for (size_t i = 0; i < it->n_timings; i++)
		if (!strcmp(it->timings[i].name, name))
			return &it->timings[i];
	return NULL;
}

/* Throughput and item times of the items v[0..n) into l. */
static int perf_lang(const struct rec_item *const *v, size_t n, struct rec_perf_lang *l, struct mrl_err *err)
{
	double *ms = malloc((n + 1) * sizeof *ms);
	if (!ms)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	int64_t computed = 0, cached = 0;
	bool tokens_known = n > 0;
	double score_s = 0;
	size_t n_ms = 0;
	for (size_t i = 0; i < n; i++) {
		const struct rec_timing *sc = find_timing(v[i], "score"), *tot = find_timing(v[i], "total");
		if (!sc || !tot)
			continue; /* a record without timings (written by another tool) */
		score_s += (double)sc->ns * 1e-9;
		ms[n_ms++] = (double)tot->ns * 1e-6;
		if (v[i]->tokens_computed < 0 || v[i]->tokens_cached < 0)
			tokens_known = false;
		computed += v[i]->tokens_computed;
		cached += v[i]->tokens_cached;
	}
	l->n_items = (int64_t)n_ms;
	l->score_s = score_s;
	if (tokens_known && n_ms == n) {
		l->tokens_computed = computed;
		l->tokens_cached = cached;
		l->tokens_per_s = score_s > 0 ? (double)computed / score_s : NAN;
	}
	int rc = 0;
	struct met_summary s;
	if (n_ms && !(rc = met_summary_compute(ms, n_ms, &s, err))) {
		l->item_ms_mean = s.mean;
		l->item_ms_median = s.median;
		l->item_ms_p90 = s.p90;
	}
	free(ms);
	return rc;
}

/* A met_reading into a results reading (name copied). */
static int put_reading(struct rec_reading *dst, const char *name, const struct met_reading *r)
{
	return rec_reading_set(dst, name, r->unit ? r->unit : "", r->value, r->valid ? NULL : r->reason);
}

static int perf_window(const struct hrn_run_window *w, struct rec_perf_window *pw)
{
	int rc = 0;
	pw->present = true;
	pw->n_items = (int64_t)w->n_items;
	pw->seconds = w->seconds;
	rc |= put_reading(&pw->energy_j, "energy_j", &w->energy_j);
	if (w->energy_j.valid)
		rc |= rec_reading_set(&pw->energy_per_item_j, "energy_per_item_j", "J",
				      w->energy_j.value / (double)w->n_items, NULL);
	else
		rc |= rec_reading_set(&pw->energy_per_item_j, "energy_per_item_j", "J", NAN, w->energy_j.reason);
	if (w->energy_source[0] && !(pw->energy_source = strdup(w->energy_source)))
		rc = MRL_ENOMEM;
	rc |= put_reading(&pw->peak_rss, "peak_rss", &w->peak_rss);
	if (!(pw->peak_rss_since = strdup(w->rss_reset ? "task start" : "process start")))
		rc = MRL_ENOMEM;
	if (!w->have_counters) {
		if (!(pw->counters_status = strdup("no counter set was opened")))
			rc = MRL_ENOMEM;
	} else {
		if (!(pw->counters_status = strdup(w->counters.status)))
			rc = MRL_ENOMEM;
		for (size_t i = 0; i < w->counters.n && !rc; i++) {
			const struct met_reading *r = &w->counters.v[i].r;
			rc = rec_readings_add(&pw->counters, &pw->n_counters, w->counters.v[i].name, r->unit ? r->unit : "count",
					      r->value, r->valid ? NULL : r->reason);
		}
	}
	const struct { const char *name; const struct met_reading *r; } u[] = {
		{ "user_s", &w->usage.user_s }, { "sys_s", &w->usage.sys_s }, { "minflt", &w->usage.minflt },
		{ "majflt", &w->usage.majflt }, { "vcsw", &w->usage.vcsw }, { "ivcsw", &w->usage.ivcsw },
	};
	for (size_t i = 0; i < sizeof u / sizeof u[0] && !rc; i++)
		rc = rec_readings_add(&pw->usage, &pw->n_usage, u[i].name, u[i].r->unit ? u[i].r->unit : "",
				      u[i].r->value, u[i].r->valid ? NULL : u[i].r->reason);
	return rc ? MRL_ENOMEM : 0;
}

int hrn_run_performance(const struct hrn_run_cfg *cfg, const struct rec_items *items,
			const struct hrn_run_window *windows, struct rec_results *r, struct mrl_err *err)
{
	int rc = 0;
	const struct rec_item **all = malloc((items->n + 1) * sizeof *all);
	if (!all)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t ti = 0; ti < cfg->n_tasks && !rc; ti++) {
		const struct task_task *t = cfg->tasks[ti];
		struct rec_perf_task *pt = rec_results_add_perf(r, task_id(t));
		if (!pt) {
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
			break;
		}
		size_t n_all = 0;
		for (size_t li = 0; li < task_n_languages(t) && !rc; li++) {
			const char *lang = task_language(t, li);
			if (!hrn_run_lang_selected(cfg, lang))
				continue;
			struct group g = { 0 };
			struct rec_perf_lang *pl = NULL;
			rc = collect(items, task_id(t), lang, &g, err);
			/* a language with no record (a shard holding none of its items) has no figures to
			 * give: left out, rather than listed with 0 s and null throughput */
			if (!rc && g.n && !(pl = rec_perf_task_add_lang(pt, lang)))
				rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
			if (!rc && pl)
				rc = perf_lang(g.v, g.n, pl, err);
			for (size_t i = 0; !rc && i < g.n; i++)
				all[n_all++] = g.v[i];
			free(g.v);
		}
		if (!rc)
			rc = perf_lang(all, n_all, &pt->all, err);
		const struct hrn_run_window *w = windows ? &windows[ti] : NULL;
		if (!rc && w && w->n_items)
			rc = perf_window(w, &pt->window) ? mrl_err_set(err, MRL_ENOMEM, "out of memory") : 0;
		else if (!rc && !(pt->window.absent_reason = strdup(
					  w ? "no item of this task was scored in this session (all were done before a resume, or are in another shard)"
					    : "not measured")))
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
	free(all);
	return rc;
}
