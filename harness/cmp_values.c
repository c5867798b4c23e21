/* cmp_values.c — merilo compare by value of a task's breakdown: which of MMLU's
 * subjects, MMLU-ProX's categories or INCLUDE's domains changed between two
 * checkpoints.
 *
 * Each whole task x language x metric comparison whose paired records both carry
 * their item's breakdown value (records since 2026-12-07) is split into one
 * comparison per value, over that value's items. These are a family of their own:
 * Holm-adjusted across them alone and never gated, so that splitting a task into
 * 57 subjects neither dilutes the gate's family nor adds 57 chances to fail it.
 * Only the gated metrics are split (every metric when the gate has none): the
 * rows are many, and the gate's metrics are the ones a release decision reads.
 */
#include "harness/cmp_int.h"

#include <stdlib.h>
#include <string.h>

/* The breakdown field of task in r's "breakdowns" ("breakdown" where r names none). */
static const char *field_of(const struct rec_results *r, const char *task)
{
	for (size_t i = 0; i < r->n_breakdowns; i++)
		if (r->breakdowns[i].task && r->breakdowns[i].field && !strcmp(r->breakdowns[i].task, task))
			return r->breakdowns[i].field;
	return "breakdown";
}

/* Pairs by value, then by item id (their order in the whole comparison). */
static int by_value(const void *a, const void *b)
{
	const struct rpt_pair *x = a, *y = b;
	int c = strcmp(x->value, y->value);
	return c ? c : strcmp(x->item_id, y->item_id);
}

static int add_input(struct cmp_state *st, const struct rpt_cmp_input *in)
{
	if (hrn_cmp_grow(&st->value_inputs, st->n_value_inputs, &st->cap_value_inputs))
		return MRL_ENOMEM;
	st->value_inputs[st->n_value_inputs++] = *in;
	return 0;
}

/* Split one whole comparison into its values' comparisons. */
static int split(struct cmp_state *st, const struct rpt_cmp_input *in)
{
	size_t n = 0;
	for (size_t k = 0; k < in->n_pairs; k++)
		n += in->pairs[k].value != NULL;
	if (!n)
		return 0;
	struct rpt_pair *v = malloc(n * sizeof *v), **owned = realloc(st->value_pairs, (st->n_value_pairs + 1) * sizeof *owned);
	if (owned)
		st->value_pairs = owned;
	if (!v || !owned) {
		free(v);
		return MRL_ENOMEM;
	}
	st->value_pairs[st->n_value_pairs++] = v;
	n = 0;
	for (size_t k = 0; k < in->n_pairs; k++)
		if (in->pairs[k].value)
			v[n++] = in->pairs[k];
	qsort(v, n, sizeof *v, by_value);
	const char *field = field_of(&st->base_r, in->task);
	int rc = 0;
	for (size_t i = 0, j; i < n && !rc; i = j) {
		for (j = i + 1; j < n && !strcmp(v[j].value, v[i].value); j++)
			;
		struct rpt_cmp_input one = *in;
		one.pairs = v + i;
		one.n_pairs = j - i;
		one.n_base_only = one.n_cand_only = 0;
		one.field = field;
		one.value = v[i].value;
		rc = add_input(st, &one);
	}
	return rc;
}

/* Whether some record of items carries a breakdown value. */
static bool any_value(const struct rec_items *items)
{
	for (size_t i = 0; i < items->n; i++)
		if (items->items[i].breakdown)
			return true;
	return false;
}

int hrn_cmp_by_value(struct cmp_state *st, const struct rpt_compare_opts *co, struct mrl_err *err)
{
	const bool in_base = any_value(&st->base_i), in_cand = any_value(&st->cand_i);
	if (in_base != in_cand)
		return hrn_cmp_add_note(st, "by value: the %s run's records carry no breakdown values (merilo records them "
					"since 2026-12-07), so no task is compared value by value",
					in_base ? "candidate" : "base")
			       ? mrl_err_set(err, MRL_ENOMEM, "out of memory")
			       : 0;
	for (size_t i = 0; in_base && i < st->n_inputs; i++)
		if (hrn_cmp_split_metric(st, st->inputs[i].metric) && split(st, &st->inputs[i]))
			return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	if (!st->n_value_inputs)
		return 0;
	return hrn_cmp_family(st, "by value", st->value_inputs, st->n_value_inputs, co, &st->by_value, err);
}

void hrn_cmp_by_value_release(struct cmp_state *st)
{
	rpt_cmp_result_release(&st->by_value);
	for (size_t i = 0; i < st->n_value_pairs; i++)
		free(st->value_pairs[i]);
	free(st->value_pairs);
	free(st->value_inputs);
}
