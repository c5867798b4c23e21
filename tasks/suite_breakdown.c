/* suite_breakdown.c — a task's "breakdown": the variant field its scores are also
 * reported by (MMLU's subject, MMLU-ProX's category, INCLUDE's domain), one aggregate
 * per value and language in results.json "breakdowns" (harness/run_aggregate.c).
 */
#include "tasks/suite_int.h"

#include <string.h>

/* "breakdown": a field name; every item's variant in a language that is not derived
 * must have it as a string (a derived one is grouped by its source's value). Pool
 * examples are not scored, so they need not have it. */
void walk_get_breakdown(struct walk *w, json_t *tj, struct task_task *t)
{
	t->breakdown = walk_get_str(w, tj, "breakdown", false, true);
	if (!t->breakdown)
		return;
	size_t old = walk_push_key(w, "items");
	for (size_t i = 0; i < t->n_items; i++) {
		const struct task_item *it = &t->items[i];
		for (size_t li = 0; li < t->n_langs; li++) {
			if (t->derived_from[li] >= 0 || !task_item_has(it, li) || task_item_field(it, li, t->breakdown))
				continue;
			size_t o = walk_push_idx(w, i), o2 = walk_push_key(w, t->langs[li]);
			walk_problem(w, "no string field \"%s\", which the task's \"breakdown\" groups its scores by",
				     t->breakdown);
			walk_pop(w, o2);
			walk_pop(w, o);
		}
	}
	walk_pop(w, old);
}

const char *task_breakdown(const struct task_task *t) { return t->breakdown; }

const char *task_breakdown_value(const struct task_task *t, const struct task_item *it, const char *lang)
{
	int li = t->breakdown ? task_language_index(t, lang) : -1;
	if (li >= 0 && t->derived_from[li] >= 0)
		li = t->derived_from[li];
	return li >= 0 ? task_item_field(it, (size_t)li, t->breakdown) : NULL;
}

const char *task_item_breakdown(const struct task_task *t, const struct task_item *it)
{
	for (size_t li = 0; t->breakdown && li < t->n_langs; li++)
		if (task_item_has(it, li))
			return task_breakdown_value(t, it, t->langs[li]);
	return NULL;
}
