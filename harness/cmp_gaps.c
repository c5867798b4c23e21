/* cmp_gaps.c — merilo compare on the language gaps: did the candidate close the
 * distance between English and Serbian, or between Serbian's two scripts?
 *
 * A gap is per item: the metric in language A minus in language B, both of the same
 * item and run (A is English, or the Cyrillic side: reports' rpt_gap_orient). For the
 * items both runs scored in both languages, each run's gap is a value per item, and
 * the candidate's minus the base's is the change: a difference in differences, paired
 * by item, with the same paired bootstrap CI and Wilcoxon signed-rank test as a graded
 * metric. Like the comparisons by value (cmp_values.c) the rows are a family of their
 * own, Holm-adjusted across themselves and never gated, and only the gated metrics
 * (every metric when none is) get them.
 */
#include "harness/cmp_int.h"

#include <stdlib.h>
#include <string.h>

static int add_input(struct cmp_state *st, const struct rpt_cmp_input *in, struct rpt_pair *owned)
{
	struct rpt_pair **p = realloc(st->gap_pairs, (st->n_gap_pairs + 1) * sizeof *p);
	if (p)
		st->gap_pairs = p;
	if (!p || hrn_cmp_grow(&st->gap_inputs, st->n_gap_inputs, &st->cap_gap_inputs)) {
		free(owned);
		return MRL_ENOMEM;
	}
	st->gap_pairs[st->n_gap_pairs++] = owned;
	st->gap_inputs[st->n_gap_inputs++] = *in;
	return 0;
}

/* The change of the gap a - b between two comparisons of one task and metric (x in a, y
 * in b), over the items in both: their pairs are in item id order (cmd_compare.c). */
static int add_gap(struct cmp_state *st, const struct rpt_cmp_input *x, const struct rpt_cmp_input *y)
{
	struct rpt_gap g = { .task = x->task, .language_a = x->language, .language_b = y->language, .metric = x->metric };
	struct rpt_gap o;
	const enum rpt_gap_kind kind = rpt_gap_orient(&g, &o);
	if (strcmp(o.language_a, x->language)) { /* y's language comes first */
		const struct rpt_cmp_input *t = x;
		x = y;
		y = t;
	}
	struct rpt_pair *v = malloc((x->n_pairs + 1) * sizeof *v);
	if (!v)
		return MRL_ENOMEM;
	size_t n = 0;
	for (size_t i = 0, j = 0; i < x->n_pairs && j < y->n_pairs;) {
		const int c = strcmp(x->pairs[i].item_id, y->pairs[j].item_id);
		if (!c)
			v[n++] = (struct rpt_pair){ .item_id = x->pairs[i].item_id, .prompt = NULL,
						    .base = x->pairs[i].base - y->pairs[j].base,
						    .cand = x->pairs[i].cand - y->pairs[j].cand };
		i += c <= 0;
		j += c >= 0;
	}
	const struct rpt_cmp_input in = { .task = x->task, .language = x->language, .language_b = y->language,
					  .metric = x->metric, .kind = RPT_METRIC_GRADED, .pairs = v, .n_pairs = n,
					  .gap_kind = rpt_gap_kind_name(kind), .percent = x->kind == RPT_METRIC_BINARY };
	return n ? add_input(st, &in, v) : (free(v), 0);
}

int hrn_cmp_gaps(struct cmp_state *st, const struct rpt_compare_opts *co, struct mrl_err *err)
{
	for (size_t i = 0; i < st->n_inputs; i++) {
		const struct rpt_cmp_input *x = &st->inputs[i];
		if (!hrn_cmp_split_metric(st, x->metric))
			continue;
		for (size_t j = i + 1; j < st->n_inputs; j++) {
			const struct rpt_cmp_input *y = &st->inputs[j];
			if (strcmp(x->task, y->task) || strcmp(x->metric, y->metric) || !strcmp(x->language, y->language))
				continue;
			if (add_gap(st, x, y))
				return mrl_err_set(err, MRL_ENOMEM, "out of memory");
		}
	}
	if (!st->n_gap_inputs)
		return 0;
	return hrn_cmp_family(st, "language gaps", st->gap_inputs, st->n_gap_inputs, co, &st->gaps, err);
}

void hrn_cmp_gaps_release(struct cmp_state *st)
{
	rpt_cmp_result_release(&st->gaps);
	for (size_t i = 0; i < st->n_gap_pairs; i++)
		free(st->gap_pairs[i]);
	free(st->gap_pairs);
	free(st->gap_inputs);
}
