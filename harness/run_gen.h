/* run_gen.h — generate tasks in `merilo run` (internal to the harness).
 *
 * run_gen.c renders a unit's plan (tasks/plan.h task_gen_plan), applies the chat
 * template, tokenizes, generates a batch of units through eng_generate and writes
 * each unit's record with its answer and metrics; run_gen_agg.c turns the records
 * of a task into results.json's aggregates and paired comparisons. The method is
 * written up in docs/evaluation.md ("Generate tasks").
 */
#ifndef MRL_HRN_RUN_GEN_H
#define MRL_HRN_RUN_GEN_H

#include <jansson.h>
#include <stdio.h>

#include "harness/run.h"

/* Units generated in one eng_generate call (decoded together, one forward per step). */
#define HRN_GEN_BATCH 8

/* Generate the unit *first and the next units of the iterator that are not done
 * (cfg->done), at most HRN_GEN_BATCH and at most room in all, and hand their
 * records to cfg->writer. *n_done gets the number of units written. Errors name
 * the task, item and language. */
int hrn_run_gen_batch(const struct hrn_run_cfg *cfg, struct hrn_units *units, const struct hrn_unit *first,
		      size_t room, size_t *n_done, struct mrl_err *err);

/* The record of a text written elsewhere (`merilo score`) as the answer to item
 * item_idx of generate task t in lang: the same metrics, script and language
 * judgements and "generation" object (text, references, statistics) as a generated
 * answer's, without token count, stop reason and chat template. text may be NULL
 * (no answer: scored as ""). strip_thinking: a reasoning model's text, scored from
 * after its last "</think>" as run scores one with thinking on; a text with "<think>"
 * and no "</think>" (unfinished reasoning) is an empty answer, one with neither tag is
 * scored whole; generation.thinking records {mode: "on" (a tag) or "off", answer_at}.
 * Fills a zeroed *out; errors name the task, item, language. */
int hrn_run_gen_score_text(const struct task_task *t, size_t item_idx, const char *lang, const char *text,
			   bool strip_thinking, struct rec_item *out, struct mrl_err *err);

/* The new tokens a generate unit of t may write: its max_new_tokens, plus the reasoning
 * budget (cfg->chat->think_budget) where the run has thinking on (a template with Qwen3's
 * switch, --thinking on). */
int hrn_run_gen_max_new(const struct hrn_run_cfg *cfg, const struct task_task *t);

/* Whether the run's template has Qwen3's thinking switch and the model reasons first
 * (--thinking on): answers are then what follows its "</think>", stop strings count only
 * after it, and the reasoning has think_budget more tokens. */
bool hrn_run_thinking_on(const struct hrn_run_cfg *cfg);

/* The prompt of unit u exactly as the model gets it (chat template applied), into f. */
int hrn_run_gen_put_plan(const struct hrn_run_cfg *cfg, const struct hrn_unit *u, FILE *f, struct mrl_err *err);

/* The records of generate task t: v[l][0..n[l]) per selected language langs[l], each
 * sorted by item id, one per id. Appends to r, per language, every metric of the
 * task with a bootstrap CI (means for exact_match, contains, f1, rouge_l, script_ok,
 * lang_ok; corpus scores for bleu, chrf, chrf++ from summed statistics), and for
 * every pair of languages the paired differences (McNemar for the right/wrong ones). */
int hrn_run_gen_aggregate(const struct task_task *t, const char *const *langs, const struct rec_item *const *const *v,
			  const size_t *n, size_t n_langs, const struct hrn_agg_opts *o, struct rec_results *r,
			  struct mrl_err *err);

/* The chat template of a run: name "auto" (or NULL) recognises the model's own template
 * (none when it has none; MRL_EUNSUPPORTED, asking for --chat-template, when it is not
 * one of the families), "none" applies none, a family name applies that family. */
int hrn_run_chat_resolve(const struct eng_model *m, const char *name, struct task_chat *out, struct mrl_err *err);

/* --thinking and --thinking-budget. */
struct hrn_think {
	bool on;
	unsigned budget;
};

/* The chat template of a run into *out: hrn_run_chat_resolve when a task of tasks[0..n)
 * generates or mc (--chat-multiple-choice) is set, family none otherwise; with mc, a
 * resolved family none (auto on a model without a template, or a suite's "none") is
 * MRL_EINPUT asking for --chat-template, and settings_extra gets "chat_multiple_choice":
 * true. name NULL (no --chat-template): the template the generate tasks declare (task_gen_chat_template; MRL_EINPUT when two differ), else
 * auto; recorded as settings_extra's "chat_template"
 * (results.json settings.chat_template) when settings_extra is not NULL. A template
 * with Qwen3's thinking switch renders as enable_thinking=think->on (out->no_thinking),
 * recorded as settings_extra's "thinking" ("on" / "off"; absent for other templates), and
 * with it on has think->budget more tokens (out->think_budget, "thinking_budget"). */
int hrn_run_chat_setup(const struct eng_model *m, const char *name, const struct hrn_think *think, bool mc,
		       const struct task_task *const *tasks, size_t n_tasks, struct task_chat *out, json_t *settings_extra,
		       struct mrl_err *err);

/* system (NULL: none) and user in the run's chat template with the assistant's turn
 * opened (with the template's BOS text unless --bos never: it was written all the same,
 * and results.json said no BOS was used): a malloc'd string into *out, or an error. */
int hrn_run_chat_render(const struct hrn_run_cfg *cfg, const char *system, const char *user, char **out,
			struct mrl_err *err);
/* A plan's prompt in the run's chat template: its first description_len bytes (the
 * task's description) the system message, the rest the user's (or user, where not NULL:
 * "" for the template's frame), as lm-eval-harness puts a task's description under
 * --apply_chat_template. */
int hrn_run_chat_plan(const struct hrn_run_cfg *cfg, const char *prompt, size_t description_len, const char *user,
		      char **out, struct mrl_err *err);

/* Whether the run's multiple-choice prompts are in its chat template (--chat-multiple-choice). */
bool hrn_run_chat_mc_on(const struct hrn_run_cfg *cfg);

/* The token before a prompt: the plan's start rule's, but none where the prompt is in the
 * run's chat template (chat) and that template writes BOS itself (Llama 2/3, Mistral,
 * Gemma: it is in the text already). */
int32_t hrn_run_start_token(const struct hrn_run_cfg *cfg, bool chat, enum task_start start,
			    const struct eng_model_desc *d);

/* --chat-multiple-choice: p's prompt becomes the user's turn of the run's chat template
 * with the assistant's turn opened, and each choice's string that prompt followed by the
 * rendered choice without the target delimiter (lm-eval-harness under a chat template);
 * the context is that prompt without its trailing whitespace, which starts the
 * continuation, as for any prompt. The choices' lengths (acc_norm) do not change. */
int hrn_run_mc_chat(const struct hrn_run_cfg *cfg, struct task_mc_plan *p, struct mrl_err *err);

/* --chat-template NAME (auto, or a family name: tasks/chat.h) and --thinking on|off of command
 * cmd, either NULL when not given: HRN_OPTS_GO, or the usage error (printed) naming the values
 * taken. run and generate share it. */
int hrn_chat_opts_check(const char *cmd, const char *chat_template, const char *thinking);

/* What --thinking on does to the scores, or that it does nothing under c (stderr). */
void hrn_run_thinking_note(const struct task_chat *c, const struct hrn_think *think);

#endif
