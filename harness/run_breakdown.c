/* run_breakdown.c — the summary's tables of a task's "breakdown" (MMLU's subjects,
 * MMLU-ProX's categories, INCLUDE's domains): one row per value, one column per
 * language, the task's first metric and its n; results.json "breakdowns" has every
 * metric with its CI (run_aggregate.c).
 */
#include "harness/run.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* The metric a task's breakdown table shows: acc, the first listed, or perplexity. */
static const char *shown_metric(const struct task_task *t)
{
	if (task_type(t) == TASK_MULTIPLE_CHOICE)
		return "acc";
	return task_type(t) == TASK_GENERATE && task_n_metrics(t) ? task_metric(t, 0) : "perplexity";
}

static const struct rec_aggregate *find_cell(const struct rec_results *r, const char *task, const char *value,
					     const char *lang)
{
	for (size_t i = 0; i < r->n_breakdowns; i++) {
		const struct rec_aggregate *b = &r->breakdowns[i];
		if (!strcmp(b->task, task) && !strcmp(b->value, value) && !strcmp(b->language, lang))
			return b;
	}
	return NULL;
}

static void print_cell(FILE *out, const struct rec_aggregate *b, const char *metric)
{
	const struct rec_metric_value *m = NULL;
	for (size_t k = 0; b && k < b->n_metrics && !m; k++)
		if (!strcmp(b->metrics[k].name, metric))
			m = &b->metrics[k];
	char cell[48];
	if (m && !isnan(m->value))
		snprintf(cell, sizeof cell, "%.3f (%lld)", m->value, (long long)(m->n >= 0 ? m->n : b->n));
	else
		snprintf(cell, sizeof cell, "%s", b ? "n/a" : "-");
	fprintf(out, "  %-14s", cell);
}

/* Whether r has a breakdown of task in lang. */
static bool has_lang(const struct rec_results *r, const char *task, const char *lang)
{
	for (size_t i = 0; i < r->n_breakdowns; i++)
		if (!strcmp(r->breakdowns[i].task, task) && !strcmp(r->breakdowns[i].language, lang))
			return true;
	return false;
}

/* One task's table: a column per language of t that has breakdowns, a row per value in order. */
static void print_task(FILE *out, const struct task_task *t, const struct rec_results *r, size_t first)
{
	const char *task = r->breakdowns[first].task, *metric = shown_metric(t);
	fprintf(out, "\n%s by %s (%s, n):\n%-28s", task, r->breakdowns[first].field, metric, r->breakdowns[first].field);
	for (size_t l = 0; l < task_n_languages(t); l++)
		if (has_lang(r, task, task_language(t, l)))
			fprintf(out, "  %-14s", task_language(t, l));
	fputc('\n', out);
	for (size_t i = first; i < r->n_breakdowns && !strcmp(r->breakdowns[i].task, task); i++) {
		if (i > first && !strcmp(r->breakdowns[i].value, r->breakdowns[i - 1].value))
			continue; /* the languages of a value come together */
		fprintf(out, "%-28.28s", r->breakdowns[i].value);
		for (size_t l = 0; l < task_n_languages(t); l++)
			if (has_lang(r, task, task_language(t, l)))
				print_cell(out, find_cell(r, task, r->breakdowns[i].value, task_language(t, l)), metric);
		fputc('\n', out);
	}
}

void hrn_run_print_breakdowns(FILE *out, const struct hrn_run_cfg *cfg, const struct rec_results *r)
{
	for (size_t i = 0; i < r->n_breakdowns; i++) {
		if (i && !strcmp(r->breakdowns[i].task, r->breakdowns[i - 1].task))
			continue;
		const struct task_task *t = task_suite_find(cfg->suite, r->breakdowns[i].task);
		if (t)
			print_task(out, t, r, i);
	}
}
