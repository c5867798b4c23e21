/* run_opts.h — the options of `merilo run` (cmd_run.c), and run.json's copy of them
 * (run_resume.c): what a --resume restores and checks. Internal to those two files. */
#ifndef MRL_HRN_RUN_OPTS_H
#define MRL_HRN_RUN_OPTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "common/options.h"
#include "harness/sample.h"

/* Command-line options; NULL / -1 = not given. */
struct run_opts {
	const char *model, *suite, *tasks, *langs, *bos, *out, *resume, *batch, *backend, *kv_cache;
	const char *lora; /* --lora: a PEFT adapter folder on the model, or NULL */
	const char *chat_template; /* generate tasks: auto, none or a family (tasks/chat.h) */
	const char *thinking;      /* generate tasks under a template with Qwen3's switch: "on" or "off" */
	long limit, threads, seed, fewshot, boot, topk;
	struct hrn_sample_spec sample; /* --sample N or P%: drawn with the seed (harness/sample.h); zero = not given */
	long thinking_budget; /* --thinking-budget: reasoning tokens under --thinking on */
	int store_logprobs;  /* -1 not given (false unless a resumed run had it), 1 given */
	int chat_mc;         /* --chat-multiple-choice: -1 not given (false unless a resumed run had it), 1 given */
	bool quiet, mpi, affinity;
	const char *db;      /* --db PATH: the history database the finished run is added to */
	const char *shard;   /* "I/N" as resolved (auto: from Slurm's variables) into shard_buf */
	char shard_buf[48];
};

/* `merilo run --help`'s text around the option table opts (run_help.c). */
void hrn_run_usage(FILE *out, const struct mrl_option *opts);

/* run.json's "options" (a new reference, NULL when out of memory). */
json_t *hrn_run_options_json(const struct run_opts *o);

/* --resume: fill the options not given from DIR/run.json, refuse ones that disagree
 * (exit 2), a DIR that is not a run folder (exit 3). Returns an exit code (0 = fine);
 * *j gets run.json (owned; NULL when none was read). */
int hrn_run_merge_resumed(struct run_opts *o, json_t **j);

#endif
