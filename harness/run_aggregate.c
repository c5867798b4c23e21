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
 */
#include "harness/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/met.h"

struct group {
	const struct hrn_item **v; /* sorted by item id, one per id */
	size_t n;
};

static int cmp_item(const void *a, const void *b)
{
	const struct hrn_item *x = *(const struct hrn_item *const *)a, *y = *(const struct hrn_item *const *)b;
	int c = strcmp(x->item_id, y->item_id);
	return c ? c : (x < y ? -1 : x > y); /* same id: file order (the array is in file order) */
}

/* The items of (task, lang), one per item id (the first in the file wins). */
static int collect(const struct hrn_items *items, const char *task, const char *lang, struct group *g,
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

static const struct hrn_item_metric *find_metric(const struct hrn_item *it, const char *name)
{
	for (size_t i = 0; i < it->n_metrics; i++)
		if (!strcmp(it->metrics[i].metric, name))
			return &it->metrics[i];
	return NULL;
}

static int verdict(const struct hrn_item *it, const char *metric, double *x, struct mrl_err *err)
{
	const struct hrn_item_metric *m = find_metric(it, metric);
	if (!m)
		return mrl_err_set(err, MRL_EINPUT, "items.jsonl: task '%s' item '%s' (%s) has no metric '%s'", it->task,
				   it->item_id, it->language, metric);
	*x = m->correct ? 1.0 : 0.0;
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

static int aggregate_mc(const struct task_task *t, const char *const *langs, const struct group *g, size_t n_langs,
			const struct hrn_agg_opts *o, struct hrn_results *r, struct mrl_err *err)
{
	const char *names[TASK_MC_N_RULES];
	const size_t n_metrics = mc_metrics(t, names);
	struct met_boot_opts bo = { .seed = o->seed, .n_resamples = o->n_resamples, .level = o->level };
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
		struct hrn_aggregate *a = hrn_results_add_aggregate(r, task_id(t), langs[l], (int64_t)g[l].n);
		if (!a) {
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t m = 0; m < n_metrics; m++) {
			for (size_t i = 0; i < g[l].n; i++)
				if ((rc = verdict(g[l].v[i], names[m], &x[i], err)))
					goto out;
			struct met_summary s;
			struct met_ci ci;
			if ((rc = met_summary_compute(x, g[l].n, &s, err)) || (rc = met_boot_mean_ci(x, g[l].n, &bo, &ci, err)) ||
			    (rc = hrn_aggregate_add_metric(a, names[m], s.mean, s.se, ci.lo, ci.hi, ci.level,
							   "bootstrap-percentile")))
				goto out;
		}
	}
	for (size_t la = 0; la < n_langs; la++)
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
				if ((rc = met_boot_paired_diff_ci(x, y, n, &bo, &ci, err)) ||
				    (rc = met_mcnemar_count(xa, ya, n, &mc, err)))
					goto out;
				struct hrn_comparison *c = hrn_results_add_comparison(r, task_id(t), langs[la], langs[lb],
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

enum { PPL_TOKENS, PPL_WORDS, PPL_BYTES, PPL_CHARS, PPL_N };
static const char *const ppl_names[PPL_N] = { "perplexity", "word_perplexity", "bits_per_byte", "bits_per_char" };

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* The four statistics of sums: NLL (nats) and each count. */
static void ppl_stats(double nll, const double *count, double *out)
{
	out[PPL_TOKENS] = exp(nll / count[PPL_TOKENS]);
	out[PPL_WORDS] = exp(nll / count[PPL_WORDS]);
	out[PPL_BYTES] = nll / log(2.0) / count[PPL_BYTES];
	out[PPL_CHARS] = nll / log(2.0) / count[PPL_CHARS];
}

static int aggregate_ppl(const struct task_task *t, const char *lang, const struct group *g,
			 const struct hrn_agg_opts *o, struct hrn_results *r, struct mrl_err *err)
{
	const size_t n = g->n, B = o->n_resamples;
	double *nll = malloc((n + 1) * sizeof *nll), *cnt = malloc((n + 1) * PPL_N * sizeof *cnt);
	double *rep = malloc((B + 1) * PPL_N * sizeof *rep);
	int rc = 0;
	if (!nll || !cnt || !rep) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	double tot_nll = 0, tot[PPL_N] = { 0 }, est[PPL_N];
	for (size_t i = 0; i < n; i++) {
		const struct hrn_item *it = g->v[i];
		const struct hrn_item_metric *w = find_metric(it, "words"), *c = find_metric(it, "canonical_chars");
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
	struct met_rng rng;
	met_rng_seed(&rng, o->seed);
	for (size_t b = 0; b < B; b++) {
		double s_nll = 0, s[PPL_N] = { 0 }, v[PPL_N];
		for (size_t i = 0; i < n; i++) {
			size_t d = (size_t)met_rng_below(&rng, n);
			s_nll += nll[d];
			for (int k = 0; k < PPL_N; k++)
				s[k] += cnt[d * PPL_N + k];
		}
		ppl_stats(s_nll, s, v);
		for (int k = 0; k < PPL_N; k++)
			rep[(size_t)k * B + b] = v[k];
	}
	struct hrn_aggregate *a = hrn_results_add_aggregate(r, task_id(t), lang, (int64_t)n);
	if (!a) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	for (int k = 0; k < PPL_N; k++) {
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
			qsort(x, m, sizeof *x, cmp_double);
			lo = met_percentile_sorted(x, m, 50.0 * (1.0 - o->level));
			hi = met_percentile_sorted(x, m, 50.0 * (1.0 + o->level));
		}
		if ((rc = hrn_aggregate_add_metric(a, ppl_names[k], isfinite(est[k]) ? est[k] : NAN, se, lo, hi, o->level,
						   "bootstrap-percentile-documents")))
			goto out;
	}
out:
	free(nll);
	free(cnt);
	free(rep);
	return rc;
}

int hrn_run_aggregate(const struct hrn_run_cfg *cfg, const struct hrn_items *items, const struct hrn_agg_opts *o,
		      struct hrn_results *r, struct mrl_err *err)
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
		if (!rc && task_type(t) == TASK_MULTIPLE_CHOICE)
			rc = aggregate_mc(t, langs, g, n_langs, o, r, err);
		else
			for (size_t l = 0; l < n_langs && !rc; l++)
				if (g[l].n)
					rc = aggregate_ppl(t, langs[l], &g[l], o, r, err);
		for (size_t l = 0; g && l < n_langs; l++)
			free(g[l].v);
		free(g);
		free(langs);
	}
	return rc;
}

/* ------------------------------------------------------------------ summary */

static const struct hrn_metric_value *agg_metric(const struct hrn_aggregate *a, const char *name)
{
	for (size_t i = 0; i < a->n_metrics; i++)
		if (!strcmp(a->metrics[i].name, name))
			return &a->metrics[i];
	return NULL;
}

static void put_acc(FILE *out, const struct hrn_metric_value *m)
{
	if (m)
		fprintf(out, "  %6.3f [%5.3f, %5.3f]", m->value, m->ci_low, m->ci_high);
	else
		fprintf(out, "  %22s", "-");
}

void hrn_run_print_summary(FILE *out, const struct hrn_run_cfg *cfg, const struct hrn_results *r)
{
	bool any_mc = false, any_ppl = false;
	for (size_t i = 0; i < r->n_aggregates; i++) {
		const struct task_task *t = task_suite_find(cfg->suite, r->aggregates[i].task);
		if (t && task_type(t) == TASK_MULTIPLE_CHOICE)
			any_mc = true;
		else
			any_ppl = true;
	}
	if (any_mc) {
		fprintf(out, "\n%-20s %-10s %5s  %-22s  %-22s\n", "task", "language", "n", "   acc   [95% CI]",
			"   acc_norm [95% CI]");
		for (size_t i = 0; i < r->n_aggregates; i++) {
			const struct hrn_aggregate *a = &r->aggregates[i];
			const struct task_task *t = task_suite_find(cfg->suite, a->task);
			if (!t || task_type(t) != TASK_MULTIPLE_CHOICE)
				continue;
			fprintf(out, "%-20s %-10s %5lld", a->task, a->language, (long long)a->n);
			put_acc(out, agg_metric(a, "acc"));
			put_acc(out, agg_metric(a, "acc_norm"));
			fputc('\n', out);
		}
	}
	if (any_ppl) {
		fprintf(out, "\n%-20s %-10s %5s  %12s %12s %10s %10s\n", "task (perplexity)", "language", "docs", "token ppl",
			"word ppl", "bits/byte", "bits/char");
		for (size_t i = 0; i < r->n_aggregates; i++) {
			const struct hrn_aggregate *a = &r->aggregates[i];
			const struct task_task *t = task_suite_find(cfg->suite, a->task);
			if (t && task_type(t) == TASK_MULTIPLE_CHOICE)
				continue;
			const struct hrn_metric_value *m[PPL_N];
			for (int k = 0; k < PPL_N; k++)
				m[k] = agg_metric(a, ppl_names[k]);
			fprintf(out, "%-20s %-10s %5lld  %12.5g %12.5g %10.4f %10.4f\n", a->task, a->language, (long long)a->n,
				m[0] ? m[0]->value : NAN, m[1] ? m[1]->value : NAN, m[2] ? m[2]->value : NAN,
				m[3] ? m[3]->value : NAN);
		}
		fprintf(out, "(bits/char: per canonical character, NFC + Serbian Cyrillic->Latin, comparable across scripts)\n");
	}
	bool header = false;
	for (size_t i = 0; i < r->n_comparisons; i++) {
		const struct hrn_comparison *c = &r->comparisons[i];
		if (strcmp(c->metric, "acc") && strcmp(c->metric, "acc_norm"))
			continue;
		if (!header) {
			fprintf(out, "\npaired gaps (A - B over the items both have; 95%% paired-bootstrap CI; exact McNemar b, c, p):\n");
			fprintf(out, "%-20s %-21s %-9s %5s  %7s %-18s %5s %5s %8s\n", "task", "A - B", "metric", "n", "diff",
				" [95% CI]", "b", "c", "p");
			header = true;
		}
		char pair[64];
		snprintf(pair, sizeof pair, "%s - %s", c->language_a, c->language_b);
		fprintf(out, "%-20s %-21s %-9s %5lld  %+7.3f [%+6.3f, %+6.3f] %5lld %5lld %8.4f\n", c->task, pair, c->metric,
			(long long)c->n_pairs, c->diff, c->ci_low, c->ci_high, (long long)c->mcnemar_b,
			(long long)c->mcnemar_c, c->mcnemar_p);
	}
}
