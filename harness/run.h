/* run.h — the evaluation run behind `merilo run` (internal to the harness).
 *
 * cmd_run.c parses options, opens the model and the suite, prepares the run
 * folder and then calls, in order:
 *   hrn_run_items      (run_loop.c)  every selected task x item x language that is
 *                                    not done yet: evaluate, append to items.jsonl;
 *   hrn_run_aggregate  (run_aggregate.c) from ALL lines of items.jsonl (re-read), the
 *                                    per task x language metrics with bootstrap CIs
 *                                    and the paired comparisons between languages;
 *   hrn_run_print_summary (run_aggregate.c).
 * What a unit is scored on comes from tasks/ (tasks/plan.h: prompt, few-shot,
 * context/continuation split, start token, truncation, windows); run_units.c walks
 * the units and asks for their plans. The evaluators run_mc.c (multiple choice) and
 * run_ppl.c (rolling-window perplexity) tokenize a plan, score it through run_score.c
 * and fill the record; run_progress.c draws the progress line.
 * The exact methods are written up in docs/evaluation.md.
 */
#ifndef MRL_HRN_RUN_H
#define MRL_HRN_RUN_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"
#include "common/parallel.h"
#include "engine/eng.h"
#include "common/json.h"
#include "harness/manifest.h"
#include "records/done_set.h"
#include "records/item.h"
#include "records/item_writer.h"
#include "records/items.h"
#include "records/results.h"
#include "metrics/met.h"
#include "tasks/chat.h"
#include "tasks/plan.h"
#include "tasks/task.h"

/* How requests are handed to eng_score. The results are identical either way
 * (the engine guarantees it; tests/hrn_run.c checks it). */
enum hrn_batch {
	HRN_BATCH_ITEM = 0,   /* all choices (windows) of an item in one eng_score call: prefix reuse */
	HRN_BATCH_REQUEST = 1 /* one eng_score call per request */
};

/* How `run` shows progress on stderr (run_progress.c): not at all (--quiet), a line
 * redrawn in place (a terminal), or a line now and then for logs (a pipe, CI). */
enum hrn_progress_mode { HRN_PROGRESS_OFF = 0, HRN_PROGRESS_TTY, HRN_PROGRESS_LOG };

/* --batch's default: multiple-choice items scored together (docs/performance.md,
 * "Batched scoring", has the measurements behind it). */
#define HRN_RUN_BATCH_DEFAULT "32"
/* The items --batch MODE scores together: N for a number 1..4096, 0 for item,
 * request or anything else. */
size_t hrn_run_batch_items(const char *mode);

/* Prompts of the first HRN_RUN_PROMPTS_SAVED items per task x language go to prompts/. */
#define HRN_RUN_PROMPTS_SAVED 5

/* --store-topk default: entries of the next-token distribution kept per position
 * (docs/evaluation.md, "Log-probabilities for comparisons", says why 8). */
#define HRN_RUN_TOPK_DEFAULT 8
#define HRN_RUN_TOPK_MAX 1000

/* --thinking-budget: the reasoning tokens a thinking model may write before its answer's
 * max_new_tokens (docs/evaluation.md, "Thinking models"), default and most. */
#define HRN_THINK_BUDGET_DEFAULT 1024
#define HRN_THINK_BUDGET_MAX (1 << 20)

/* The process-level measurements of one task's items in this session (its window):
 * plain values, filled by hrn_run_items, turned into results.json's "performance"
 * by hrn_run_performance. */
struct hrn_run_window {
	size_t n_items;                     /* items scored in the window; 0 = no window */
	double seconds;                     /* wall time, CLOCK_MONOTONIC_RAW */
	struct met_reading energy_j;        /* gross energy of the chosen source(s) */
	char energy_source[256];            /* "<method> <name> (<scope>)[ + ...]"; "" when none */
	bool have_counters;                 /* cfg->counters was given */
	struct met_counter_values counters; /* accumulated over the window */
	struct met_usage usage;             /* getrusage delta over the window (all threads) */
	struct met_reading peak_rss;        /* VmHWM at the end, bytes */
	bool rss_reset;                     /* VmHWM was reset at the start: the peak is the window's */
};

struct hrn_shard;
struct hrn_sample;

/* Everything the run loop needs; nothing in it is owned by the loop. */
struct hrn_run_cfg {
	struct eng_model *model;
	struct eng_ctx *ctx;               /* scoring context of the model */
	const struct task_suite *suite;
	const char *out_dir;               /* the run folder (exists) */
	const struct task_task **tasks;    /* n_tasks, in run order (multiple choice / perplexity) */
	size_t n_tasks;
	const char *const *langs;          /* n_langs selected tags; NULL = every language of each task */
	size_t n_langs;
	int64_t limit;                     /* first `limit` items of each task; 0 = all */
	const struct hrn_sample *sample;   /* --sample: only its items (harness/sample.h); NULL = every item */
	bool add_bos;                      /* BOS before every request (resolved from --bos) */
	bool bos_never;                    /* --bos never: also a chat template's own BOS text is left out */
	int fewshot_k;                     /* -1 = each task's own setting (0 without one) */
	uint64_t seed;                     /* run seed: few-shot draws of tasks without a seed */
	enum hrn_batch batch;
	size_t score_window;               /* --batch N: multiple-choice items scored together (eng_score_batch); <= 1: one at a time */
	enum hrn_progress_mode progress;   /* progress on stderr: none, a redrawn line, log lines */
	int slow_ms;                       /* test hook: sleep this long after every item (MERILO_TEST_SLOW_MS) */
	const volatile sig_atomic_t *stop; /* set by SIGINT/SIGTERM; checked between items; may be NULL */
	/* asked before each layer of generation's forward passes (the scoring context has its own,
	 * eng_ctx_set_stop): the same question, with the test hook's count; NULL = never */
	bool (*should_stop)(void *arg);
	void *stop_arg;
	size_t stop_after;                 /* test hook: stop as if interrupted after this many units (0 = never) */
	size_t pause_at;                   /* test hook: SIGSTOP itself once this many units are scored (0 = never) */
	const struct rec_done_set *done;   /* items already in items.jsonl (--resume); may be NULL */
	struct rec_item_writer *writer;    /* items.jsonl */
	bool store_logprobs;               /* --store-logprobs: per-token logprobs in items.jsonl */
	size_t store_topk;                 /* with it, top-K next-token logprobs per position (0 = none) */
	struct met_counters *counters;     /* PAPI set opened (inherit) before the context; may be NULL */
	struct met_energy_meter *energy;   /* may be NULL */
	struct hrn_run_window *windows;    /* n_tasks entries, filled by hrn_run_items; may be NULL */
	const struct task_chat *chat;      /* generate tasks: the chat template applied (tasks/chat.h); NULL = none */
	bool chat_mc;                      /* --chat-multiple-choice: multiple-choice prompts in that template too */
	const struct hrn_shard *shard;     /* --shard: only its units (harness/shard.h); NULL = every unit */
};

/* What a run loop did. */
struct hrn_run_stats {
	size_t n_total;        /* item x language units selected */
	size_t n_done_before;  /* of those, already in items.jsonl */
	size_t n_scored;       /* scored by this call */
	double seconds;        /* wall time of this call */
	bool interrupted;      /* stopped by *cfg->stop */
};

/* ---- the units of a run and their plans (run_units.c) ---- */

/* Whether language tag lang of task t is selected by cfg. */
bool hrn_run_lang_selected(const struct hrn_run_cfg *cfg, const char *lang);

/* A note on out for each task with a "breakdown" whose first --limit items (the run covers
 * those) miss some of the field's values: the scores then speak for part of the task. */
void hrn_run_limit_note(FILE *out, const struct hrn_run_cfg *cfg);
/* The items of t up to cfg->limit (all without one): the run covers those of them that
 * are in cfg->sample (hrn_run_covers). */
size_t hrn_run_n_items(const struct hrn_run_cfg *cfg, const struct task_task *t);
/* Whether the run covers item item_idx of task cfg->tasks[task_idx]: within --limit and in
 * the --sample (in whichever of its languages are selected). */
bool hrn_run_covers(const struct hrn_run_cfg *cfg, size_t task_idx, size_t item_idx);

/* One unit: item item_idx of task cfg->tasks[task_idx] in its language lang_idx. */
struct hrn_unit {
	size_t task_idx, item_idx, lang_idx;
	const struct task_task *task;
	const struct task_item *item;
	const char *lang;
};

/* A walk over units in run order: task by task, item by item (the first `limit`, or
 * the `sample`'s),
 * each item in its selected languages that it has; with cfg->shard, only the
 * shard's units. A plain value. */
struct hrn_units {
	const struct hrn_run_cfg *cfg;
	size_t task, task_end, item, lang; /* the next position */
};

/* Every unit of the run, or those of task task_idx only. */
void hrn_units_init(struct hrn_units *u, const struct hrn_run_cfg *cfg);
void hrn_units_init_task(struct hrn_units *u, const struct hrn_run_cfg *cfg, size_t task_idx);
/* The next unit into *out; false when there is none. */
bool hrn_units_next(struct hrn_units *u, struct hrn_unit *out);

/* The plan of a unit under cfg's options (few-shot k and seed, BOS): task_mc_plan /
 * task_ppl_plan with metrics' generator for the few-shot draw. Release p with
 * task_mc_plan_release / task_ppl_plan_release. */
int hrn_run_mc_plan(const struct hrn_run_cfg *cfg, const struct task_task *t, size_t item_idx, const char *lang,
		    struct task_mc_plan *p, struct mrl_err *err);
int hrn_run_ppl_plan(const struct hrn_run_cfg *cfg, const struct task_task *t, size_t item_idx, const char *lang,
		     struct task_ppl_plan *p, struct mrl_err *err);
/* The strings of a multiple-choice record (run_units.c), so that items.jsonl can be
 * audited without the suite: the context every choice's request shares, each
 * choice's continuation, gold_text and each metric's pred_text (the rendered
 * choices). Add the choices and metrics first. 0 or MRL_ENOMEM. */
int hrn_run_mc_texts(struct rec_item *rec, const struct task_mc_plan *p);

/* ---- the run loop (run_loop.c) ---- */

/* Evaluate every selected unit not in cfg->done and append it through cfg->writer
 * (which flushes in batches). Writes prompts/<task>.<lang>.txt first. Stops early,
 * with stats->interrupted set and 0 returned, when *cfg->stop becomes nonzero.
 * Errors name the task, item and language. */
int hrn_run_items(const struct hrn_run_cfg *cfg, struct hrn_run_stats *stats, struct mrl_err *err);

/* prompts/<task>.<lang>.txt of task task_idx in its selected languages: the plans of
 * its first HRN_RUN_PROMPTS_SAVED units (of cfg->shard's when set), exactly as scored. */
int hrn_run_write_prompts(const struct hrn_run_cfg *cfg, size_t task_idx, struct mrl_err *err);

/* ---- scoring requests (run_score.c) ---- */

/* The requests of one item and the buffers eng_score_ex fills for them; owned by
 * whoever called hrn_score_batch_init. */
struct hrn_score_batch {
	struct eng_score_req *reqs;   /* cap entries; the caller fills the first n */
	struct eng_score_res *res;    /* n results (buffers from hrn_score_batch_alloc) */
	struct eng_score_topk *topk;  /* n entries of n_cont * top_k when top_k > 0 */
	size_t n, cap, top_k;
	struct eng_score_stats work;  /* tokens computed and cached, summed over the calls */
};

/* Room for cap requests with top_k next tokens kept per position (0 = none). */
int hrn_score_batch_init(struct hrn_score_batch *b, size_t cap, size_t top_k, struct mrl_err *err);
/* Result buffers for the n requests filled in (after reqs[0..n) are set). */
int hrn_score_batch_alloc(struct hrn_score_batch *b, struct mrl_err *err);
/* Free the arrays and every result buffer; b is left zeroed. */
void hrn_score_batch_release(struct hrn_score_batch *b);

/* Score the batch through eng_score_ex, in one call or one call per request
 * (cfg->batch), adding the tokens computed and cached to b->work. */
int hrn_run_score(const struct hrn_run_cfg *cfg, struct hrn_score_batch *b, struct mrl_err *err);

/* The scoring context of a run under --batch MODE: n_ctx the model's training context; for a
 * window of items scored together (MODE a number > 1) a multi-sequence context with
 * spare rows of about HRN_SCORE_KV_BYTES (at least one context's), or a plain
 * one on a backend that runs one sequence per context. */
#define HRN_SCORE_KV_BYTES (256ull << 20)
int hrn_score_ctx_new(struct eng_ctx **out, struct eng_model *m, const char *mode, struct mrl_err *err);

/* ---- evaluators (fill a zeroed *out; the caller releases it) ---- */

/* Multiple choice: item index item_idx of t in language lang (run_mc.c). */
int hrn_run_mc_item(const struct hrn_run_cfg *cfg, const struct task_task *t, size_t item_idx, const char *lang,
		    struct rec_item *out, struct mrl_err *err);

/* Multiple choice, several items at once (run_mc.c): unit first and the units
 * after it not in cfg->done, at most cfg->score_window per language of the task and
 * at most room in all, scored in one eng_score_batch call per language (results, top-K
 * and work as item by item; each call's time shared by its items), their records
 * handed to cfg->writer in order; *n_done of them written. */
int hrn_run_mc_window(const struct hrn_run_cfg *cfg, struct hrn_units *units, const struct hrn_unit *first,
		      size_t room, size_t *n_done, struct mrl_err *err);

/* Perplexity: one document (run_ppl.c). */
int hrn_run_ppl_item(const struct hrn_run_cfg *cfg, const struct task_task *t, size_t item_idx, const char *lang,
		     struct rec_item *out, struct mrl_err *err);

/* The rolling windows of a document of n tokens: task_ppl_windows (tasks/plan.h). */
size_t hrn_run_ppl_windows(size_t n, size_t window, size_t stride, size_t *ctx_begin, size_t *begin, size_t *end);

/* ---- the plan check (run_plan.c) ---- */

/* Leave out of items every record that is not one of cfg's units (task x item
 * within the limit x selected language the item has), a second record of a unit,
 * and a multiple-choice record with impossible indices: each goes to
 * items->rejected with its line and the reason (sorted by line). *n_missing (may
 * be NULL) gets the number of units of the plan with no record. 0 or MRL_ENOMEM. */
int hrn_run_plan_check(const struct hrn_run_cfg *cfg, struct rec_items *items, size_t *n_missing,
		       struct mrl_err *err);

/* The checks of the plan made before the run folder exists (each for every unit
 * of a task x language at once; the run loop would fail at its first unit):
 * hrn_run_fewshot_fits, that every selected task x language the plan covers has
 * the few-shot examples its k (cfg->fewshot_k, else the task's) asks for
 * (task_fewshot_check); hrn_run_model_fits, that cfg->ctx's positions hold a
 * perplexity task's window and a generate task's max_new_tokens with a prompt,
 * and (hrn_run_mc_fits, run_mc.c) every multiple-choice unit's continuations.
 * 0, or MRL_EINPUT with a message naming the task (and language, item). */
int hrn_run_fewshot_fits(const struct hrn_run_cfg *cfg, struct mrl_err *err);
int hrn_run_model_fits(const struct hrn_run_cfg *cfg, struct mrl_err *err);
int hrn_run_mc_fits(const struct hrn_run_cfg *cfg, struct mrl_err *err);

/* Move the lines listed in items->rejected out of path (rewritten atomically
 * with the other whole lines) into rejected_path (appended to; one JSON object
 * per line: {"line", "why", "text"}). */
int hrn_run_quarantine(const char *path, const struct rec_items *items, const char *rejected_path,
		       struct mrl_err *err);

/* ---- aggregation and summary (run_aggregate.c) ---- */

struct hrn_agg_opts {
	uint64_t seed;        /* bootstrap seed */
	size_t n_resamples;   /* bootstrap B */
	double level;         /* CI level, 0.95 */
	const char *only_metric; /* multiple choice: NULL = every rule of the task; else only this
				  * metric (a run scored from predictions has just "acc") */
	/* may be NULL: the progress of the multiple-choice tasks' bootstrap resamples. Once the
	 * records are grouped its total is set to their exact number (B per metric for each
	 * language, pair and breakdown value with records) and its ETA weighed by the items
	 * each draws; it is then advanced from any thread, one call at a time, each line
	 * naming what is resampled ("copa sr-Cyrl - hr", "mmlu hr, hemija"). The caller
	 * begins it (its name, unit, delay) and ends it. */
	struct hrn_progress *progress;
	bool no_pairs; /* the languages' aggregates only, no paired comparisons (a breakdown's values) */
	const char *value; /* NULL, or the breakdown value being aggregated (the progress line names it) */
	size_t n_threads;  /* threads for the bootstraps (0 = the CPUs this process may use); the
			    * results do not depend on it; progress is called from any of them, one
			    * call at a time */
};
#define HRN_AGG_MAX_THREADS MRL_PARALLEL_MAX_THREADS

/* Aggregate items (as read back from items.jsonl; duplicates of a (task, item, language)
 * are counted once, the first line wins) into r's aggregates and comparisons, for the
 * tasks of cfg in order and each task's selected languages in task order.
 * Multiple choice: mean, stderr, bootstrap CI of every metric, and for every pair of
 * languages a paired-bootstrap CI of the difference with exact McNemar counts and p.
 * Perplexity: sums of NLL over sums of counts, with a document-bootstrap CI. */
int hrn_run_aggregate(const struct hrn_run_cfg *cfg, const struct rec_items *items, const struct hrn_agg_opts *o,
		      struct rec_results *r, struct mrl_err *err);

/* results.json's "performance": per task and selected language, throughput and item
 * times from items (all sessions, first line of a key wins), and per task the window
 * of this session from windows (n_tasks entries, may be NULL). Definitions in
 * docs/evaluation.md ("Performance"). */
int hrn_run_performance(const struct hrn_run_cfg *cfg, const struct rec_items *items,
			const struct hrn_run_window *windows, struct rec_results *r, struct mrl_err *err);

/* One line per task: tokens/s, ms per item, energy (or "n/a" with the reason), CPU time. */
void hrn_run_print_performance(FILE *out, const struct rec_results *r);

/* Print the summary table, the paired gaps and where the files are. */
void hrn_run_print_summary(FILE *out, const struct hrn_run_cfg *cfg, const struct rec_results *r);
/* The tasks' breakdown tables (run_breakdown.c): per value of a task's "breakdown" field,
 * each language's first metric and n; printed by hrn_run_print_summary. */
void hrn_run_print_breakdowns(FILE *out, const struct hrn_run_cfg *cfg, const struct rec_results *r);
/* The closing lines of a run (run_progress.c): the summary, the performance
 * table, the count and rate of units scored and where the files are; quiet:
 * one line with the count, the rate and the results path. */
void hrn_run_print_end(FILE *out, const struct hrn_run_cfg *cfg, const struct rec_results *r,
		       const struct hrn_run_stats *rs, const char *out_dir, bool quiet);

/* ---- progress line (run_progress.c) ---- */

struct hrn_progress {
	enum hrn_progress_mode mode;
	size_t total, done;     /* units: all selected, done so far (including resumed ones) */
	size_t done_at_start;
	uint64_t t0_ns, last_draw_ns;
	int last_len;           /* characters of the last line drawn */
	size_t last_step;       /* HRN_PROGRESS_LOG: the 5% step of the last line */
	/* set after hrn_progress_init by a command other than run (perplexity): */
	const char *name;       /* log line prefix; NULL = "merilo run" */
	const char *unit;       /* what is counted ("chunks"); NULL = units (items/s) */
	uint64_t delay_ns;      /* nothing is drawn before this much time has passed */
	/* set by hrn_progress_weigh (run): the estimated work of all units, of those done, and of
	 * those done at the start; the ETA is then the work left at the work rate so far (0: units) */
	double work_total, work_done, work_done_at_start;
};

/* Start a progress display of total units of which done are already done. */
void hrn_progress_init(struct hrn_progress *p, enum hrn_progress_mode mode, size_t total, size_t done);
/* One more unit done. HRN_PROGRESS_TTY redraws the line at most ten times a
 * second; HRN_PROGRESS_LOG prints a line when another 5% of the units is done
 * or 10 s after the last line, whichever comes first. */
void hrn_progress_step(struct hrn_progress *p, const char *what);
/* n more units done at once (a generate batch, a multiple-choice window): the
 * count advances by n and the line is drawn as by one step. */
void hrn_progress_advance(struct hrn_progress *p, size_t n, const char *what);
/* The ETA from estimated work instead of unit counts (units of unequal cost: a perplexity
 * document, a generation, a choice): total of all units, done already. */
void hrn_progress_weigh(struct hrn_progress *p, double total, double done);
/* A stage whose total is known only once it has started: total units and their work, none
 * done yet (the score and run bootstraps, counted once the records are grouped). */
void hrn_progress_plan(struct hrn_progress *p, size_t total, double work);
/* Seconds left after elapsed_s of this process's work: the work left at the work rate so
 * far (hrn_progress_weigh), else the units left at the unit rate; -1 before anything is done. */
double hrn_progress_eta_s(const struct hrn_progress *p, double elapsed_s);
/* hrn_progress_advance of n units that were `work` of the estimate. */
void hrn_progress_advance_work(struct hrn_progress *p, size_t n, double work, const char *what);
/* Clear the line (before other output). */
void hrn_progress_end(struct hrn_progress *p);

#endif
