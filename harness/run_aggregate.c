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
 */
#include "harness/run.h"
#include "harness/run_gen.h"

#include <ctype.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/met.h"
#include "common/sort.h"

struct group {
	const struct rec_item **v; /* sorted by item id, one per id */
	size_t n;
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

static int cmp_id_item(const void *key, const void *elem)
{
	return strcmp((const char *)key, (*(const struct rec_item *const *)elem)->item_id);
}

/* The accuracy of guessing on the items of g (t's, in lang): the mean of 1 / the
 * item's choices in the suite; NaN where none of g's ids is an item of t. The
 * records of 'merilo score' carry no choices, so they cannot say it themselves. */
static double mc_chance(const struct task_task *t, const char *lang, const struct group *g)
{
	const int li = task_language_index(t, lang);
	double sum = 0;
	size_t n = 0;
	for (size_t i = 0; li >= 0 && i < task_n_items(t); i++) {
		const struct task_item *it = task_item_at(t, i);
		const size_t nc = task_item_has(it, (size_t)li) ? task_item_n_choices(it, (size_t)li) : 0;
		if (nc && bsearch(task_item_id(it), g->v, g->n, sizeof *g->v, cmp_id_item)) {
			sum += 1.0 / (double)nc;
			n++;
		}
	}
	return n ? sum / (double)n : NAN;
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

/* The progress of the bootstrap, passed on to hrn_agg_opts.progress with what is
 * being resampled ("copa sr-Cyrl - hr"). */
struct boot_progress {
	const struct hrn_agg_opts *o;
	char what[128];
};

static void boot_step(void *arg, size_t n_done)
{
	struct boot_progress *bp = arg;
	bp->o->progress(bp->o->progress_arg, n_done, bp->what);
}

static int aggregate_mc(const struct task_task *t, const char *const *langs, const struct group *g, size_t n_langs,
			const struct hrn_agg_opts *o, struct rec_results *r, struct mrl_err *err)
{
	const char *names[TASK_MC_N_RULES];
	const size_t n_metrics = o->only_metric ? 1 : mc_metrics(t, names);
	if (o->only_metric)
		names[0] = o->only_metric;
	struct boot_progress bp = { .o = o };
	struct met_boot_opts bo = { .seed = o->seed, .n_resamples = o->n_resamples, .level = o->level,
				    .progress = o->progress ? boot_step : NULL, .progress_arg = &bp };
	size_t cap = 0;
	for (size_t l = 0; l < n_langs; l++)
		cap = g[l].n > cap ? g[l].n : cap;
	double *x = malloc((cap + 1) * sizeof *x), *y = malloc((cap + 1) * sizeof *y);
	int *xa = malloc((cap + 1) * sizeof *xa), *ya = malloc((cap + 1) * sizeof *ya);
	int rc = 0;
	if (!x || !y || !xa || !ya) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t l = 0; l < n_langs; l++) {
		if (!g[l].n)
			continue;
		struct rec_aggregate *a = rec_results_add_aggregate(r, task_id(t), langs[l], (int64_t)g[l].n);
		if (!a) {
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
			goto out;
		}
		a->chance = mc_chance(t, langs[l], &g[l]);
		for (size_t m = 0; m < n_metrics; m++) {
			for (size_t i = 0; i < g[l].n; i++)
				if ((rc = verdict(g[l].v[i], names[m], &x[i], err)))
					goto out;
			struct met_summary s;
			struct met_ci ci;
			const char *method;
			snprintf(bp.what, sizeof bp.what, "%s %s%s%s", task_id(t), langs[l], o->value ? ", " : "",
				 o->value ? o->value : "");
			if ((rc = met_summary_compute(x, g[l].n, &s, err)) ||
			    (rc = met_mean_ci(x, g[l].n, true, &bo, &ci, &method, err)) || /* verdicts: 0 or 1 */
			    (rc = rec_aggregate_add_metric(a, names[m], s.mean, s.se, ci.lo, ci.hi, ci.level, method)))
				goto out;
		}
	}
	for (size_t la = 0; la < n_langs && !o->no_pairs; la++)
		for (size_t lb = la + 1; lb < n_langs; lb++) {
			for (size_t m = 0; m < n_metrics; m++) {
				size_t n = 0, i = 0, j = 0;
				while (i < g[la].n && j < g[lb].n) { /* merge the two id-sorted lists */
					int c = strcmp(g[la].v[i]->item_id, g[lb].v[j]->item_id);
					if (c < 0) {
						i++;
					} else if (c > 0) {
						j++;
					} else {
						if ((rc = verdict(g[la].v[i], names[m], &x[n], err)) ||
						    (rc = verdict(g[lb].v[j], names[m], &y[n], err)))
							goto out;
						xa[n] = (int)x[n];
						ya[n] = (int)y[n];
						n++, i++, j++;
					}
				}
				if (!n)
					continue;
				struct met_ci ci;
				struct met_mcnemar mc;
				snprintf(bp.what, sizeof bp.what, "%s %s - %s", task_id(t), langs[la], langs[lb]);
				if ((rc = met_boot_paired_diff_ci(x, y, n, &bo, &ci, err)) ||
				    (rc = met_mcnemar_count(xa, ya, n, &mc, err)))
					goto out;
				struct rec_comparison *c = rec_results_add_comparison(r, task_id(t), langs[la], langs[lb],
										      names[m], "paired-bootstrap");
				if (!c) {
					rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
					goto out;
				}
				c->n_pairs = (int64_t)n;
				c->diff = ci.estimate;
				c->ci_low = ci.lo;
				c->ci_high = ci.hi;
				c->ci_level = ci.level;
				c->mcnemar_b = (int64_t)mc.only_a;
				c->mcnemar_c = (int64_t)mc.only_b;
				c->mcnemar_p = mc.p;
			}
		}
out:
	free(x);
	free(y);
	free(xa);
	free(ya);
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

static int cmp_task_item(const void *a, const void *b)
{
	return strcmp(task_item_id(*(const struct task_item *const *)a), task_item_id(*(const struct task_item *const *)b));
}

/* bsearch: an item id against a sorted array of suite items. */
static int cmp_id_task_item(const void *key, const void *elem)
{
	return strcmp((const char *)key, task_item_id(*(const struct task_item *const *)elem));
}

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
		if (!(sub[l].v = malloc((g[l].n + 1) * sizeof *sub[l].v)))
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		for (size_t i = 0; !rc && i < g[l].n; i++)
			if (vals[l][i] && !strcmp(vals[l][i], value))
				sub[l].v[sub[l].n++] = g[l].v[i]; /* still in id order, as pairing needs */
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
	for (size_t l = 0; sub && l < n_langs; l++)
		free(sub[l].v);
	free(sub);
	return rc;
}

/* A task's "breakdown": its aggregates per value of the field (MMLU's subjects), each
 * language's records grouped by their item's value (a derived language by its source's),
 * the values in sorted order. */
static int aggregate_breakdown(const struct task_task *t, const char *const *langs, const struct group *g,
			       size_t n_langs, const struct hrn_agg_opts *o, struct rec_results *r, struct mrl_err *err)
{
	if (!task_breakdown(t))
		return 0;
	const size_t ni = task_n_items(t);
	size_t total = 0, n_values = 0;
	for (size_t l = 0; l < n_langs; l++)
		total += g[l].n;
	const struct task_item **byid = malloc((ni + 1) * sizeof *byid);
	const char ***vals = calloc(n_langs + 1, sizeof *vals), **values = malloc((total + 1) * sizeof *values);
	int rc = byid && vals && values ? 0 : mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < ni; i++)
		byid[i] = task_item_at(t, i);
	if (!rc)
		qsort(byid, ni, sizeof *byid, cmp_task_item);
	for (size_t l = 0; l < n_langs && !rc; l++) {
		if (!(vals[l] = calloc(g[l].n + 1, sizeof *vals[l]))) {
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
			break;
		}
		for (size_t i = 0; i < g[l].n; i++) {
			const struct task_item **hit = bsearch(g[l].v[i]->item_id, byid, ni, sizeof *byid, cmp_id_task_item);
			vals[l][i] = hit ? task_breakdown_value(t, *hit, langs[l]) : NULL;
			if (vals[l][i])
				values[n_values++] = vals[l][i];
		}
	}
	if (!rc && n_values) {
		qsort(values, n_values, sizeof *values, mrl_cmp_str_ptr);
		for (size_t k = 0; k < n_values && !rc; k++)
			if (!k || strcmp(values[k], values[k - 1]))
				rc = breakdown_value(t, langs, g, n_langs, (const char *const *const *)vals, values[k], o, r, err);
	}
	for (size_t l = 0; vals && l < n_langs; l++)
		free(vals[l]);
	free(vals);
	free(values);
	free(byid);
	return rc;
}

/* The number of breakdown values t's items have in lang (each one an aggregate of
 * the breakdown), as aggregate_breakdown groups them; 0 without a breakdown. */
static size_t breakdown_values(const struct task_task *t, const char *lang)
{
	const int li = task_language_index(t, lang);
	const size_t ni = task_n_items(t);
	const char **v = task_breakdown(t) && li >= 0 ? malloc((ni + 1) * sizeof *v) : NULL;
	size_t n = 0, k = 0;
	for (size_t i = 0; v && i < ni; i++) {
		const struct task_item *it = task_item_at(t, i);
		const char *val = task_item_has(it, (size_t)li) ? task_breakdown_value(t, it, lang) : NULL;
		if (val)
			v[n++] = val;
	}
	if (n)
		qsort(v, n, sizeof *v, mrl_cmp_str_ptr);
	for (size_t i = 0; i < n; i++)
		k += !i || strcmp(v[i], v[i - 1]);
	free(v);
	return k;
}

size_t hrn_run_aggregate_resamples(const struct hrn_run_cfg *cfg, const struct hrn_agg_opts *o)
{
	size_t n = 0;
	for (size_t ti = 0; ti < cfg->n_tasks; ti++) {
		const struct task_task *t = cfg->tasks[ti];
		if (task_type(t) != TASK_MULTIPLE_CHOICE)
			continue;
		const char *names[TASK_MC_N_RULES];
		size_t n_langs = 0, n_values = 0;
		for (size_t li = 0; li < task_n_languages(t); li++)
			if (hrn_run_lang_selected(cfg, task_language(t, li))) {
				n_langs++;
				n_values += breakdown_values(t, task_language(t, li));
			}
		n += (n_langs + n_langs * (n_langs ? n_langs - 1 : 0) / 2 + n_values) *
		     (o->only_metric ? 1 : mc_metrics(t, names)) * o->n_resamples;
	}
	return n;
}

int hrn_run_aggregate(const struct hrn_run_cfg *cfg, const struct rec_items *items, const struct hrn_agg_opts *o,
		      struct rec_results *r, struct mrl_err *err)
{
	int rc = 0;
	for (size_t ti = 0; ti < cfg->n_tasks && !rc; ti++) {
		const struct task_task *t = cfg->tasks[ti];
		const size_t nl = task_n_languages(t);
		struct group *g = calloc(nl + 1, sizeof *g);
		const char **langs = calloc(nl + 1, sizeof *langs);
		size_t n_langs = 0;
		if (!g || !langs)
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		for (size_t li = 0; li < nl && !rc; li++) {
			const char *lang = task_language(t, li);
			if (!hrn_run_lang_selected(cfg, lang))
				continue;
			langs[n_langs] = lang;
			rc = collect(items, task_id(t), lang, &g[n_langs], err);
			n_langs++;
		}
		if (!rc)
			rc = aggregate_task(t, langs, g, n_langs, o, r, err);
		if (!rc)
			rc = aggregate_breakdown(t, langs, g, n_langs, o, r, err);
		for (size_t l = 0; g && l < n_langs; l++)
			free(g[l].v);
		free(g);
		free(langs);
	}
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
