/* run_summary.c — what a run prints at its end from results.json's numbers
 * (run_aggregate.c computes them): the summary table of accuracies with their CIs, the
 * generate tasks' metrics, the perplexities and the paired gaps (hrn_run_print_summary);
 * and the performance table with the reasons of what was not measured
 * (hrn_run_print_performance).
 */
#include "harness/run.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ summary */

static const struct rec_metric_value *agg_metric(const struct rec_aggregate *a, const char *name)
{
	for (size_t i = 0; i < a->n_metrics; i++)
		if (!strcmp(a->metrics[i].name, name))
			return &a->metrics[i];
	return NULL;
}

/* A value and its CI; "n/a" for a metric over no items (lang_ok where no answer's language
 * could be told: null in results.json), "-" for one the task does not have. */
static void put_acc(FILE *out, const struct rec_metric_value *m)
{
	if (m && !isnan(m->value))
		fprintf(out, "  %6.3f [%5.3f, %5.3f]", m->value, m->ci_low, m->ci_high);
	else
		fprintf(out, "  %-22s", m ? "   n/a" : "-");
}

/* The generate tasks' table: every metric of the task with its CI, one line each. */
static void print_gen(FILE *out, const struct hrn_run_cfg *cfg, const struct rec_results *r)
{
	fprintf(out, "\n%-20s %-10s %5s  %-11s %s\n", "task (generate)", "language", "n", "metric", "   value  [95% CI]");
	for (size_t i = 0; i < r->n_aggregates; i++) {
		const struct rec_aggregate *a = &r->aggregates[i];
		const struct task_task *t = task_suite_find(cfg->suite, a->task);
		if (!t || task_type(t) != TASK_GENERATE)
			continue;
		for (size_t m = 0; m < a->n_metrics; m++) {
			const struct rec_metric_value *v = &a->metrics[m];
			fprintf(out, "%-20s %-10s %5lld  %-11s", m ? "" : a->task, m ? "" : a->language,
				(long long)(v->n >= 0 ? v->n : a->n), v->name);
			put_acc(out, v);
			fputc('\n', out);
		}
	}
	fprintf(out, "(bleu, chrf, chrf++: corpus scores 0..100 as sacrebleu's; the others: shares of items)\n");
}

void hrn_run_print_summary(FILE *out, const struct hrn_run_cfg *cfg, const struct rec_results *r)
{
	bool any_mc = false, any_ppl = false, any_gen = false;
	for (size_t i = 0; i < r->n_aggregates; i++) {
		const struct task_task *t = task_suite_find(cfg->suite, r->aggregates[i].task);
		if (t && task_type(t) == TASK_MULTIPLE_CHOICE)
			any_mc = true;
		else if (t && task_type(t) == TASK_GENERATE)
			any_gen = true;
		else
			any_ppl = true;
	}
	if (any_mc) {
		fprintf(out, "\n%-20s %-10s %5s  %-22s  %-22s\n", "task", "language", "n", "   acc   [95% CI]",
			"   acc_norm [95% CI]");
		for (size_t i = 0; i < r->n_aggregates; i++) {
			const struct rec_aggregate *a = &r->aggregates[i];
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
			const struct rec_aggregate *a = &r->aggregates[i];
			const struct task_task *t = task_suite_find(cfg->suite, a->task);
			if (t && task_type(t) != TASK_PERPLEXITY)
				continue;
			static const char *const cols[4] = { "perplexity", "word_perplexity", "bits_per_byte", "bits_per_char" };
			const struct rec_metric_value *m[4];
			for (int k = 0; k < 4; k++)
				m[k] = agg_metric(a, cols[k]);
			fprintf(out, "%-20s %-10s %5lld  %12.5g %12.5g %10.4f %10.4f\n", a->task, a->language, (long long)a->n,
				m[0] ? m[0]->value : NAN, m[1] ? m[1]->value : NAN, m[2] ? m[2]->value : NAN,
				m[3] ? m[3]->value : NAN);
		}
		fprintf(out, "(bits/char: per canonical character, NFC + Serbian Cyrillic->Latin, comparable across scripts)\n");
	}
	if (any_gen)
		print_gen(out, cfg, r);
	bool header = false;
	for (size_t i = 0; i < r->n_comparisons; i++) {
		const struct rec_comparison *c = &r->comparisons[i];
		static const char *const shown[] = { "acc", "acc_norm", "chrf", "exact_match", "script_ok", "lang_ok", NULL };
		bool show = false;
		for (int k = 0; shown[k] && !show; k++)
			show = !strcmp(c->metric, shown[k]);
		if (!show)
			continue;
		if (!header) {
			fprintf(out, "\npaired gaps (A - B over the items both have; 95%% paired-bootstrap CI; exact McNemar b, c, p):\n");
			fprintf(out, "%-20s %-21s %-11s %5s  %7s %-18s %5s %5s %8s\n", "task", "A - B", "metric", "n", "diff",
				" [95% CI]", "b", "c", "p");
			header = true;
		}
		char pair[64];
		snprintf(pair, sizeof pair, "%s - %s", c->language_a, c->language_b);
		fprintf(out, "%-20s %-21s %-11s %5lld  %+7.3f [%+6.3f, %+6.3f]", c->task, pair, c->metric,
			(long long)c->n_pairs, c->diff, c->ci_low, c->ci_high);
		if (isnan(c->mcnemar_p)) /* a graded metric (chrF): no McNemar test */
			fprintf(out, " %5s %5s %8s\n", "-", "-", "-");
		else
			fprintf(out, " %5lld %5lld %8.4f\n", (long long)c->mcnemar_b, (long long)c->mcnemar_c, c->mcnemar_p);
	}
	hrn_run_print_breakdowns(out, cfg, r);
}

/* -------------------------------------------------------------- performance */

static const struct rec_reading *find_reading(const struct rec_reading *v, size_t n, const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].name && !strcmp(v[i].name, name))
			return &v[i];
	return NULL;
}

/* s with every number (digits and the points between them) as '#': the key under which
 * reasons that differ only in a figure ("did not advance in 0.222 s" / "in 0.064 s")
 * count as one. */
static void reason_key(const char *s, char *key, size_t size)
{
	size_t k = 0;
	while (*s && k + 1 < size) {
		if (isdigit((unsigned char)*s)) {
			key[k++] = '#';
			while (isdigit((unsigned char)*s) || (*s == '.' && isdigit((unsigned char)s[1])))
				s++;
		} else {
			key[k++] = *s++;
		}
	}
	key[k] = '\0';
}

/* Below the performance table, once per report: why energy or counters are n/a,
 * in short ("energy: no energy source on this machine — see results.json
 * performance[].window.energy_j.null_reason"); the
 * whole reason stays in results.json. Reasons that differ between tasks are
 * named once per distinct short form, those that differ only in a figure (a
 * window's length) once, with the number of other tasks alike. */
static void print_null_reasons(FILE *out, const struct rec_results *r)
{
	enum { MAX = 8 };
	struct shown {
		char text[160], key[160];
		size_t more;
	} shown[2][MAX];
	size_t n[2] = { 0, 0 };
	for (size_t i = 0; i < r->n_perf; i++) {
		const struct rec_perf_window *w = &r->perf[i].window;
		if (!w->present)
			continue;
		size_t n_ok = 0;
		for (size_t c = 0; c < w->n_counters; c++)
			n_ok += !isnan(w->counters[c].value);
		const char *why[2] = { isnan(w->energy_j.value) ? w->energy_j.reason : NULL,
				       w->n_counters && !n_ok ? w->counters_status : NULL };
		for (int k = 0; k < 2; k++) {
			if (!why[k])
				continue;
			struct shown e;
			met_reason_short(why[k], e.text, sizeof e.text);
			reason_key(e.text, e.key, sizeof e.key);
			size_t j = 0;
			while (j < n[k] && strcmp(shown[k][j].key, e.key))
				j++;
			if (j < n[k])
				shown[k][j].more++;
			else if (n[k] < MAX)
				e.more = 0, shown[k][n[k]++] = e;
		}
	}
	for (int k = 0; k < 2; k++)
		for (size_t j = 0; j < n[k]; j++) {
			const struct shown *e = &shown[k][j];
			fprintf(out, "%s: %s", k ? "counters" : "energy", e->text);
			if (e->more && strcmp(e->key, e->text))
				fprintf(out, " (alike in %zu more task%s)", e->more, e->more > 1 ? "s" : "");
			fprintf(out, " — see results.json performance[].window.%s\n", k ? "counters_status" : "energy_j.null_reason");
		}
}

void hrn_run_print_performance(FILE *out, const struct rec_results *r)
{
	if (!r->n_perf)
		return;
	fprintf(out, "\nperformance (tokens/s = tokens computed by the forward pass / scoring time; ms per item, mean and p90):\n");
	for (size_t i = 0; i < r->n_perf; i++) {
		const struct rec_perf_task *t = &r->perf[i];
		const struct rec_perf_window *w = &t->window;
		fprintf(out, "%-20s ", t->task);
		if (isnan(t->all.tokens_per_s))
			fprintf(out, "tokens/s n/a");
		else
			fprintf(out, "%.0f tokens/s", t->all.tokens_per_s);
		if (isnan(t->all.item_ms_mean))
			fprintf(out, ", ms/item n/a");
		else
			fprintf(out, ", %.1f ms/item (p90 %.1f)", t->all.item_ms_mean, t->all.item_ms_p90);
		if (!w->present) {
			fprintf(out, "; this session: %s\n", w->absent_reason ? w->absent_reason : "not measured");
			continue;
		}
		if (isnan(w->energy_per_item_j.value))
			fprintf(out, ", energy n/a"); /* the reason once, below the table */
		else
			fprintf(out, ", energy %.3g J/item (%s)", w->energy_per_item_j.value,
				w->energy_source ? w->energy_source : "?");
		const struct rec_reading *us = find_reading(w->usage, w->n_usage, "user_s"),
					 *sy = find_reading(w->usage, w->n_usage, "sys_s");
		if (us && sy && !isnan(us->value) && !isnan(sy->value))
			fprintf(out, ", CPU %.2f s in %.2f s", us->value + sy->value, w->seconds);
		if (!isnan(w->peak_rss.value))
			fprintf(out, ", peak RSS %.0f MiB", w->peak_rss.value / 1048576.0);
		size_t n_ok = 0;
		for (size_t c = 0; c < w->n_counters; c++)
			n_ok += !isnan(w->counters[c].value);
		fprintf(out, ", PAPI %zu/%zu counters\n", n_ok, w->n_counters);
	}
	print_null_reasons(out, r);
}
