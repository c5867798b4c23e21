/* cmp_state.c — helpers of merilo compare that cmd_compare.c and cmp_kl.c
 * both use (notes, the grouping of items), kept apart so that neither file
 * calls into the other in both directions.
 */
#include "harness/cmp_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int hrn_cmp_add_note(struct cmp_state *st, const char *fmt, ...)
{
	va_list ap;
	char *s = NULL;
	va_start(ap, fmt);
	int n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MRL_ENOMEM;
	char **v = realloc(st->notes, (st->n_notes + 1) * sizeof *v);
	if (!v) {
		free(s);
		return MRL_ENOMEM;
	}
	st->notes = v;
	st->notes[st->n_notes++] = s;
	return 0;
}

bool hrn_cmp_same_group(const struct rec_item *a, const struct rec_item *b)
{
	return !strcmp(a->task, b->task) && !strcmp(a->language, b->language);
}

int hrn_cmp_group_cmp(const struct rec_item *a, const struct rec_item *b)
{
	int c = strcmp(a->task, b->task);
	return c ? c : strcmp(a->language, b->language);
}

int hrn_cmp_grow(struct rpt_cmp_input **inputs, size_t n, size_t *cap)
{
	if (n < *cap)
		return 0;
	const size_t want = *cap ? 2 * *cap : 64;
	struct rpt_cmp_input *v = realloc(*inputs, want * sizeof *v);
	if (!v)
		return MRL_ENOMEM;
	*inputs = v;
	*cap = want;
	return 0;
}

static void row_done(void *arg, size_t n_pairs)
{
	struct cmp_state *st = arg;
	hrn_progress_advance_work(&st->progress, 1, (double)n_pairs, st->progress_what);
}

int hrn_cmp_compare(struct cmp_state *st, const char *what, const struct rpt_cmp_input *inputs, size_t n,
		    const struct rpt_compare_opts *co, struct rpt_cmp_result *res, struct mrl_err *err)
{
	double pairs = 0;
	for (size_t i = 0; i < n; i++)
		pairs += (double)inputs[i].n_pairs;
	hrn_progress_stage(&st->progress, "comparisons", n);
	hrn_progress_weigh(&st->progress, pairs, 0);
	st->progress_what = what;
	struct rpt_compare_opts o = *co;
	o.progress = row_done;
	o.progress_arg = st;
	return rpt_compare(inputs, n, &o, res, err);
}

int hrn_cmp_family(struct cmp_state *st, const char *what, const struct rpt_cmp_input *inputs, size_t n,
		   const struct rpt_compare_opts *co, struct rpt_cmp_result *res, struct mrl_err *err)
{
	struct rpt_compare_opts fo = *co; /* the same statistics, no gate */
	fo.gate = NULL;
	fo.n_gate = 0;
	fo.gate_tasks = fo.gate_languages = NULL;
	fo.n_gate_tasks = fo.n_gate_languages = 0;
	return hrn_cmp_compare(st, what, inputs, n, &fo, res, err);
}

bool hrn_cmp_split_metric(const struct cmp_state *st, const char *metric)
{
	for (size_t g = 0; g < st->n_gate; g++)
		if (!strcmp(st->gate[g].metric, metric))
			return true;
	return st->n_gate == 0;
}
