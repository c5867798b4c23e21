/* run_help.c — `merilo run --help`: what the command does and writes, around its
 * option table (cmd_run.c), which prints the options themselves. */
#include "harness/run_opts.h"

#include "harness/hrn.h"
#include "harness/run.h"

void hrn_run_usage(FILE *out, const struct mrl_option *opts)
{
	fprintf(out,
		"usage: merilo run --model MODEL --suite SUITE.json [options]\n"
		"       merilo run --resume DIR [options]\n"
		"\n"
		"Evaluate a model on every task x language of a suite: multiple-choice tasks\n"
		"(acc, acc_norm, acc_bytes), perplexity tasks (token and word perplexity, bits per\n"
		"byte and per canonical character) and generate tasks (greedy answers in the model's\n"
		"chat template, scored with chrF, BLEU, exact match, F1, and the answer's script and\n"
		"language), with 95%% bootstrap CIs and, for every pair of languages, the paired\n"
		"difference (an exact McNemar test for 0/1 metrics). Methods are in docs/evaluation.md.\n"
		"\n");
	hrn_print_options(out, opts, 18);
	fprintf(out,
		"\n"
		"Writes DIR/run.json, DIR/items.jsonl (one line per item x language, written as\n"
		"each --batch window of items is scored and flushed every 16 lines or 2 s),\n"
		"DIR/prompts/<task>.<lang>.txt (the first %d prompts as the model saw them) and\n"
		"DIR/results.json (docs/results-format.md). Ctrl-C stops within a layer of the\n"
		"forward pass (the window being scored is scored again by --resume) and says how\n"
		"to resume; a second Ctrl-C kills. DIR/run.lock keeps a second run out of DIR\n"
		"while this one works. Records of items.jsonl outside the run's plan (foreign or\n"
		"corrupt lines) are reported with their line, moved to DIR/items.rejected.jsonl\n"
		"and recomputed by --resume. A model file changed or truncated during the run\n"
		"stops it (exit 4) before any record computed from the new bytes is written.\n"
		"\n"
		"results.json's \"performance\" has per task x language the tokens computed per\n"
		"second of scoring and the time per item, and per task this session's energy,\n"
		"PAPI counters, CPU time and peak RSS (null with the reason where unavailable).\n"
		"\n"
		"Environment (test hooks): MERILO_TEST_SLOW_MS=N sleeps N ms after every item;\n"
		"MERILO_TEST_STOP_AFTER=N stops as Ctrl-C would after N items of this session;\n"
		"MERILO_TEST_PAUSE_AT=N stops the process (SIGSTOP) once N items are scored;\n"
		"MERILO_TEST_STOP_LAYER=N stops as Ctrl-C would at the Nth layer of the forward passes.\n"
		"Exit codes: 0 done, 2 usage (or options that disagree with a resumed run, or a\n"
		"--fewshot K larger than a task's examples), 3 bad or missing input (or a changed\n"
		"model/suite on --resume, DIR in use by another run, or a suite task the model's\n"
		"context cannot hold; checked before DIR is made), 4 runtime failure, interrupted,\n"
		"or the model file changed.\n",
		HRN_RUN_PROMPTS_SAVED);
}
