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
 *
 * Before the run folder exists, the plan is also checked against what decides it
 * for every unit alike: the few-shot examples each task x language can draw, and
 * the model's context against a perplexity task's window and a generate task's
 * token limit. A run that fails there leaves nothing behind; in the run loop the
 * same failure would come at the first unit, again on every --resume.
 */
#include "harness/run_gen.h"
#include "harness/run.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "harness/sample.h"
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
	char spec[32];
	const struct task_task *t = NULL;
	size_t k = 0;
	for (; k < cfg->n_tasks && !t; k++)
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
	else if (!hrn_run_covers(cfg, k - 1, (size_t)i))
		snprintf(why, size, "item '%s' of task '%s' is not in this run's --sample %s (seed %llu)", rec->item_id,
			 rec->task, hrn_sample_str(cfg->sample->spec, spec, sizeof spec),
			 (unsigned long long)cfg->sample->seed);
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

/* Whether a unit of the plan is of task cfg->tasks[k]. */
static bool task_in_plan(const struct hrn_run_cfg *cfg, size_t k)
{
	struct hrn_units units;
	struct hrn_unit u;
	hrn_units_init_task(&units, cfg, k);
	return hrn_units_next(&units, &u);
}

/* Whether one of the items of task cfg->tasks[k] that the run covers has language li. */
static bool lang_in_plan(const struct hrn_run_cfg *cfg, size_t k, size_t li)
{
	const struct task_task *t = cfg->tasks[k];
	for (size_t i = 0; i < hrn_run_n_items(cfg, t); i++)
		if (hrn_run_covers(cfg, k, i) && task_item_has(task_item_at(t, i), li))
			return true;
	return false;
}

int hrn_run_fewshot_fits(const struct hrn_run_cfg *cfg, struct mrl_err *err)
{
	const struct task_plan_opts po = { .fewshot_k = cfg->fewshot_k, .seed = cfg->seed, .add_bos = cfg->add_bos };
	for (size_t k = 0; k < cfg->n_tasks; k++) {
		const struct task_task *t = cfg->tasks[k];
		for (size_t l = 0; l < task_n_languages(t); l++) {
			const char *lang = task_language(t, l);
			if (!hrn_run_lang_selected(cfg, lang) || !lang_in_plan(cfg, k, l))
				continue;
			int rc = task_fewshot_check(t, lang, &po, err);
			if (rc)
				return rc;
		}
	}
	return 0;
}

int hrn_run_model_fits(const struct hrn_run_cfg *cfg, struct mrl_err *err)
{
	const size_t n_pos = eng_ctx_n_ctx(cfg->ctx);
	struct eng_model_desc md;
	eng_model_describe(cfg->model, &md);
	for (size_t k = 0; k < cfg->n_tasks; k++) {
		const struct task_task *t = cfg->tasks[k];
		size_t keep;
		if (!task_in_plan(cfg, k))
			continue;
		const char *use = md.bos_id < 0 && md.eos_id < 0 ? task_start_token_use(t) : NULL;
		if (use) /* was found at its first unit, after the run folder was made */
			return mrl_err_set(err, MRL_EUNSUPPORTED, "task '%s': %s needs a BOS or EOS token, and the model has neither "
					   "(looked for: GGUF tokenizer.ggml.bos_token_id/eos_token_id; HF tokenizer.json's "
					   "post-processor, tokenizer_config.json's bos_token/eos_token, config.json's "
					   "bos_token_id/eos_token_id)", task_id(t), use);
		if (task_type(t) == TASK_PERPLEXITY && (size_t)task_window(t) > n_pos)
			return mrl_err_set(err, MRL_EINPUT, "task '%s': window %d is longer than the model's context (%zu)",
					   task_id(t), task_window(t), n_pos);
		/* run_gen.c's rule for the shortest prompt, one token */
		if (task_type(t) == TASK_GENERATE &&
		    task_truncate_keep(TASK_TRUNCATE_LEFT, 1, (size_t)hrn_run_gen_max_new(cfg, t), n_pos, &keep))
			return mrl_err_set(err, MRL_EINPUT,
					   "task '%s': max_new_tokens %d%s leaves no room for the prompt in the model's %zu positions",
					   task_id(t), hrn_run_gen_max_new(cfg, t),
					   hrn_run_thinking_on(cfg) ? " (with --thinking-budget)" : "", n_pos);
	}
	return hrn_run_mc_fits(cfg, err);
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
