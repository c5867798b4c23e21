/* run_units.c — what a run evaluates: its units (task x item x language) in run
 * order, and the plan of one unit under the run's options.
 *
 * The run loop, the prompts files and the plan check (run_plan.c) all walk the
 * units through one iterator, so they cannot disagree on what the run covers.
 * The plan of a unit comes from tasks/ (tasks/plan.h); this file only turns the
 * run's options into task_plan_opts.
 */
#include "harness/run.h"

#include <stdlib.h>
#include <string.h>

#include "common/sort.h"

#include "harness/run_gen.h"
#include "harness/sample.h"
#include "harness/shard.h"
#include "metrics/met.h"

bool hrn_run_lang_selected(const struct hrn_run_cfg *cfg, const char *lang)
{
	if (!cfg->langs)
		return true;
	for (size_t i = 0; i < cfg->n_langs; i++)
		if (!strcmp(cfg->langs[i], lang))
			return true;
	return false;
}

size_t hrn_run_n_items(const struct hrn_run_cfg *cfg, const struct task_task *t)
{
	size_t n = task_n_items(t);
	return cfg->limit > 0 && (uint64_t)cfg->limit < n ? (size_t)cfg->limit : n;
}

bool hrn_run_covers(const struct hrn_run_cfg *cfg, size_t task_idx, size_t item_idx)
{
	return item_idx < hrn_run_n_items(cfg, cfg->tasks[task_idx]) &&
	       (!cfg->sample || hrn_sample_has(cfg->sample, task_idx, item_idx));
}

void hrn_units_init(struct hrn_units *u, const struct hrn_run_cfg *cfg)
{
	*u = (struct hrn_units){ .cfg = cfg, .task = 0, .task_end = cfg->n_tasks };
}

void hrn_units_init_task(struct hrn_units *u, const struct hrn_run_cfg *cfg, size_t task_idx)
{
	*u = (struct hrn_units){ .cfg = cfg, .task = task_idx, .task_end = task_idx + 1 };
}

bool hrn_units_next(struct hrn_units *u, struct hrn_unit *out)
{
	for (; u->task < u->task_end; u->task++, u->item = 0, u->lang = 0) {
		const struct task_task *t = u->cfg->tasks[u->task];
		for (; u->item < hrn_run_n_items(u->cfg, t); u->item++, u->lang = 0) {
			if (u->cfg->sample && !hrn_sample_has(u->cfg->sample, u->task, u->item))
				continue;
			const struct task_item *it = task_item_at(t, u->item);
			while (u->lang < task_n_languages(t)) {
				const size_t li = u->lang++;
				const char *lang = task_language(t, li);
				if (!hrn_run_lang_selected(u->cfg, lang) || !task_item_has(it, li) ||
				    (u->cfg->shard && !hrn_shard_has(u->cfg->shard, u->task, u->item, li)))
					continue;
				*out = (struct hrn_unit){ .task_idx = u->task, .task = t, .item_idx = u->item, .item = it,
							  .lang_idx = li, .lang = lang };
				return true;
			}
		}
	}
	return false;
}

int hrn_run_mc_plan(const struct hrn_run_cfg *cfg, const struct task_task *t, size_t item_idx, const char *lang,
		    struct task_mc_plan *p, struct mrl_err *err)
{
	const struct task_plan_opts o = { .fewshot_k = cfg->fewshot_k, .seed = cfg->seed, .add_bos = cfg->add_bos };
	int rc = task_mc_plan(t, item_idx, lang, &o, p, err);
	if (!rc && hrn_run_chat_mc_on(cfg) && (rc = hrn_run_mc_chat(cfg, p, err)))
		task_mc_plan_release(p);
	return rc;
}

int hrn_run_ppl_plan(const struct hrn_run_cfg *cfg, const struct task_task *t, size_t item_idx, const char *lang,
		     struct task_ppl_plan *p, struct mrl_err *err)
{
	const struct task_plan_opts o = { .fewshot_k = cfg->fewshot_k, .seed = cfg->seed, .add_bos = cfg->add_bos };
	return task_ppl_plan(t, item_idx, lang, &o, p, err);
}

/* What names choice j in a record (gold_text, pred_text), malloc'd into *out: the rendered
 * choice, or its own context where each choice has one. 0 or MRL_ENOMEM. */
static int mc_choice_text(const struct task_mc_plan *p, size_t j, char **out)
{
	const struct task_mc_choice *c = &p->choices[j];
	*out = p->choice_in_context ? strndup(c->text, c->context_len) : strdup(c->text + c->choice_at);
	return *out ? 0 : MRL_ENOMEM;
}

int hrn_run_mc_texts(struct rec_item *rec, const struct task_mc_plan *p)
{
	/* every choice's string is the same context + its continuation (tasks/plan.h); where each
	 * choice has its own context (choice_in_context) the record's is null and each choice has it */
	char *context = p->n_choices && !p->choice_in_context ? strndup(p->choices[0].text, p->choices[0].context_len)
							      : NULL;
	int rc = p->n_choices && !p->choice_in_context && !context ? MRL_ENOMEM : rec_item_set_context(rec, context);
	free(context);
	for (size_t j = 0; j < p->n_choices && j < rec->n_choices && !rc; j++) {
		rc = rec_item_set_continuation(rec, j, p->choices[j].text + p->choices[j].context_len);
		if (!rc && p->choice_in_context) {
			char *own = strndup(p->choices[j].text, p->choices[j].context_len);
			rc = own ? rec_item_set_choice_context(rec, j, own) : MRL_ENOMEM;
			free(own);
		}
	}
	/* a choice is its rendered text; where each has its own context, that context (the
	 * continuation is the same for all) */
	char *gold = NULL;
	if (!rc && p->gold >= 0 && (size_t)p->gold < p->n_choices && !(rc = mc_choice_text(p, (size_t)p->gold, &gold)))
		rc = rec_item_set_gold_text(rec, gold);
	free(gold);
	for (size_t m = 0; m < rec->n_metrics && !rc; m++) {
		const int64_t pred = rec->metrics[m].pred_index;
		char *text = NULL;
		if (pred >= 0 && (size_t)pred < p->n_choices && !(rc = mc_choice_text(p, (size_t)pred, &text)))
			rc = rec_item_set_pred_text(rec, m, text);
		free(text);
	}
	return rc;
}

/* The distinct values among v[0..n) (sorted in place). */
static size_t n_distinct(const char **v, size_t n)
{
	qsort(v, n, sizeof *v, mrl_cmp_str_ptr);
	size_t d = 0;
	for (size_t i = 0; i < n; i++)
		d += !i || strcmp(v[i], v[i - 1]);
	return d;
}

void hrn_run_limit_note(FILE *out, const struct hrn_run_cfg *cfg)
{
	for (size_t ti = 0; cfg->limit > 0 && ti < cfg->n_tasks; ti++) {
		const struct task_task *t = cfg->tasks[ti];
		const size_t n = hrn_run_n_items(cfg, t), all = task_n_items(t);
		const char **v = task_breakdown(t) && n < all ? malloc(all * sizeof *v) : NULL;
		if (!v)
			continue; /* no breakdown, every item, or no memory for a note */
		size_t k = 0, k_first = 0; /* each item's value (its first language's) */
		for (size_t i = 0; i < all; i++) {
			const char *x = task_item_breakdown(t, task_item_at(t, i));
			if (x)
				v[k++] = x;
			if (i + 1 == n)
				k_first = k;
		}
		const size_t seen = n_distinct(v, k_first), total = n_distinct(v, k);
		if (seen < total)
			fprintf(out, "merilo run: note: --limit %lld takes the first %zu of task '%s''s %zu items, which cover "
				"%zu of its %zu \"%s\" values\n", (long long)cfg->limit, n, task_id(t), all, seen, total,
				task_breakdown(t));
		free(v);
	}
}
