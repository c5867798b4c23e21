/* run_plan.c — items.jsonl is checked against the run's plan before it counts.
 *
 * The plan of a run is the set of units (task, item, language) it evaluates:
 * the selected tasks, the first `limit` items of each, the selected languages
 * each item has. A record outside it (an item id that a flipped byte changed,
 * an item past --limit, a language not selected, a task of another run), a
 * second record of a unit, or a record whose numbers cannot be a multiple-
 * choice answer is not counted: it is listed with its line number, moved out
 * of items.jsonl into items.rejected.jsonl (so that every later reader sees
 * the same clean file), and the unit it should have covered is computed again
 * by --resume.
 */
#include "harness/run.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "harness/shard.h"

/* Whether the item id occurs in t at all (for a precise reason). Linear: only
 * called for records already known to be outside the plan. */
static long item_index(const struct task_task *t, const char *id)
{
	for (size_t i = 0; i < task_n_items(t); i++)
		if (!strcmp(task_item_id(task_item_at(t, i)), id))
			return (long)i;
	return -1;
}

/* Why rec is outside the plan, into why. */
static void explain(const struct hrn_run_cfg *cfg, const struct rec_item *rec, char *why, size_t size)
{
	const struct task_task *t = NULL;
	for (size_t k = 0; k < cfg->n_tasks && !t; k++)
		if (!strcmp(task_id(cfg->tasks[k]), rec->task))
			t = cfg->tasks[k];
	if (!t) {
		snprintf(why, size, "task '%s' is not a task of this run", rec->task);
		return;
	}
	long i = item_index(t, rec->item_id);
	int li = task_language_index(t, rec->language);
	if (i < 0)
		snprintf(why, size, "item '%s' is not an item of task '%s' in the suite", rec->item_id, rec->task);
	else if ((size_t)i >= hrn_run_n_items(cfg, t))
		snprintf(why, size, "item '%s' is item %ld of task '%s', past this run's --limit %lld", rec->item_id, i + 1,
			 rec->task, (long long)cfg->limit);
	else if (li < 0 || !hrn_run_lang_selected(cfg, rec->language))
		snprintf(why, size, "language '%s' is not selected for task '%s' in this run", rec->language, rec->task);
	else if (cfg->shard && task_item_has(task_item_at(t, (size_t)i), (size_t)li))
		snprintf(why, size, "item '%s' of task '%s' in %s belongs to another shard than %zu/%zu", rec->item_id,
			 rec->task, rec->language, cfg->shard->index, cfg->shard->count);
	else
		snprintf(why, size, "item '%s' of task '%s' has no '%s' variant", rec->item_id, rec->task, rec->language);
}

/* A multiple-choice record whose indices cannot be right. */
static bool mc_record_broken(const struct rec_item *rec, char *why, size_t size)
{
	if (rec->n_choices < 2) {
		snprintf(why, size, "a multiple-choice record with %zu choice(s)", rec->n_choices);
		return true;
	}
	if (rec->gold_index < 0 || (size_t)rec->gold_index >= rec->n_choices) {
		snprintf(why, size, "gold index %lld outside its %zu choices", (long long)rec->gold_index, rec->n_choices);
		return true;
	}
	for (size_t m = 0; m < rec->n_metrics; m++)
		if (rec->metrics[m].pred_index < 0 || (size_t)rec->metrics[m].pred_index >= rec->n_choices) {
			snprintf(why, size, "metric '%s' predicts choice %lld of %zu", rec->metrics[m].metric,
				 (long long)rec->metrics[m].pred_index, rec->n_choices);
			return true;
		}
	return false;
}

static int by_line(const void *a, const void *b)
{
	const struct rec_rejected_line *x = a, *y = b;
	return x->line < y->line ? -1 : x->line > y->line;
}

int hrn_run_plan_check(const struct hrn_run_cfg *cfg, struct rec_items *items, size_t *n_missing,
		       struct mrl_err *err)
{
	struct rec_items none = { 0 };
	struct rec_done_set *plan = rec_done_set_new(&none), *seen = rec_done_set_new(&none);
	int rc = 0;
	size_t n_plan = 0, kept = 0;
	if (!plan || !seen)
		goto nomem;
	struct hrn_units units;
	struct hrn_unit u;
	hrn_units_init(&units, cfg);
	while (hrn_units_next(&units, &u)) {
		if (rec_done_set_add(plan, task_id(u.task), task_item_id(u.item), u.lang))
			goto nomem;
		n_plan++;
	}
	for (size_t i = 0; i < items->n; i++) {
		struct rec_item *rec = &items->items[i];
		char why[512] = "";
		const struct task_task *t = task_suite_find(cfg->suite, rec->task);
		if (!rec_done_set_has(plan, rec->task, rec->item_id, rec->language))
			explain(cfg, rec, why, sizeof why);
		else if (rec_done_set_has(seen, rec->task, rec->item_id, rec->language))
			snprintf(why, sizeof why, "a second record of item '%s' of task '%s' in %s", rec->item_id, rec->task,
				 rec->language);
		else if (t && task_type(t) == TASK_MULTIPLE_CHOICE)
			mc_record_broken(rec, why, sizeof why);
		if (*why) {
			if (rec_items_reject(items, rec->line, "%s", why))
				goto nomem;
			rec_item_release(rec);
			continue;
		}
		if (rec_done_set_add(seen, rec->task, rec->item_id, rec->language))
			goto nomem;
		items->items[kept++] = *rec;
	}
	items->n = kept;
	if (items->n_rejected > 1)
		qsort(items->rejected, items->n_rejected, sizeof *items->rejected, by_line);
	if (n_missing)
		*n_missing = n_plan - rec_done_set_count(seen);
	goto out;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory checking items.jsonl against the run's plan");
out:
	rec_done_set_free(plan);
	rec_done_set_free(seen);
	return rc;
}

int hrn_run_quarantine(const char *path, const struct rec_items *items, const char *rejected_path,
		       struct mrl_err *err)
{
	char *text = NULL, *kept = NULL, *moved = NULL;
	size_t len = 0, kept_len = 0, moved_len = 0, r = 0;
	int rc = mrl_read_file(path, (size_t)1 << 40, &text, &len, err);
	if (rc)
		return rc;
	FILE *k = open_memstream(&kept, &kept_len), *m = open_memstream(&moved, &moved_len);
	if (!k || !m) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	/* previously moved lines stay in the rejected file */
	char *old = NULL;
	size_t old_len = 0;
	struct mrl_err ignore = { 0 };
	if (mrl_read_file(rejected_path, (size_t)1 << 40, &old, &old_len, &ignore) == 0) {
		fwrite(old, 1, old_len, m);
		free(old);
	}
	size_t line_no = 1;
	for (char *line = text, *end; line < text + len; line = end + 1, line_no++) {
		end = memchr(line, '\n', (size_t)(text + len - line));
		if (!end)
			break; /* an unfinished last line: the item writer cuts it off */
		while (r < items->n_rejected && items->rejected[r].line < line_no)
			r++;
		if (r < items->n_rejected && items->rejected[r].line == line_no) {
			json_t *j = json_pack("{s:I, s:s, s:s%}", "line", (json_int_t)line_no, "why", items->rejected[r].why,
					      "text", line, (size_t)(end - line));
			char *s = j ? json_dumps(j, JSON_COMPACT | JSON_ENSURE_ASCII) : NULL;
			if (!s) {
				/* not UTF-8: keep what can be said about it */
				json_decref(j);
				j = json_pack("{s:I, s:s, s:n}", "line", (json_int_t)line_no, "why", items->rejected[r].why, "text");
				s = j ? json_dumps(j, JSON_COMPACT) : NULL;
			}
			json_decref(j);
			if (!s) {
				rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
				goto out;
			}
			fprintf(m, "%s\n", s);
			free(s);
		} else {
			fwrite(line, 1, (size_t)(end - line) + 1, k);
		}
	}
	if (fclose(k) | fclose(m)) {
		k = m = NULL;
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	k = m = NULL;
	/* the rejected lines are saved before they leave items.jsonl */
	if ((rc = mrl_write_file_atomic(rejected_path, moved, moved_len, err)) ||
	    (rc = mrl_write_file_atomic(path, kept, kept_len, err)))
		goto out;
out:
	if (k)
		fclose(k);
	if (m)
		fclose(m);
	free(kept);
	free(moved);
	free(text);
	return rc;
}
