/* cmd_run.c — `merilo run`: evaluate a model on a suite, end to end.
 *
 * This file is the orchestration: options (merged with run.json on --resume),
 * model and suite, the run folder, signals, then the run loop (run_loop.c),
 * aggregation from items.jsonl (run_aggregate.c), results.json and the summary.
 * The run folder holds run.json (the options and the model and suite hashes,
 * written first, used to check a --resume), items.jsonl, prompts/ and, at the
 * end, results.json. Methods: docs/evaluation.md.
 */
#include "harness/hrn.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/sha256.h"
#include "common/json.h"
#include "harness/manifest.h"
#include "harness/progress.h"
#include "records/done_set.h"
#include "records/item.h"
#include "records/item_writer.h"
#include "records/items.h"
#include "tasks/chat.h"
#include "records/manifest.h"
#include "records/record_json.h"
#include "records/results.h"
#include "records/run.h"
#include "harness/history.h"
#include "harness/run.h"
#include "harness/run_gen.h"
#include "harness/run_opts.h"
#include "harness/sample.h"
#include "harness/shard.h"
#include "metrics/met.h"

#define RUN_JSON_VERSION 1
#define DEFAULT_SEED HRN_DEFAULT_SEED

/* The flag SIGINT/SIGTERM set, and what the run is doing (a signal handler can
 * reach nothing else): before scoring, scoring, or writing the results. */
static volatile sig_atomic_t stop_requested, run_phase;
enum { PHASE_SETUP, PHASE_SCORING, PHASE_FINISHING };

/* The first SIGINT/SIGTERM: the flag, and one line at once (write(2) is
 * async-signal-safe) so that a stop that waits for the current layer is seen to
 * be heard. A second one takes the default action (SA_RESETHAND): it kills. */
static void on_signal(int sig)
{
	if (run_phase == PHASE_SETUP) { /* nothing is scored yet: stop as before, at once (hashing a model takes minutes) */
		signal(sig, SIG_DFL);
		raise(sig);
		return;
	}
	stop_requested = 1;
	static const char scoring[] = "\nmerilo run: interrupt received: stopping at the current layer (again to kill)\n",
			  finishing[] = "\nmerilo run: interrupt received: every item is scored, writing results.json "
					"(again to kill)\n";
	const bool fin = run_phase == PHASE_FINISHING;
	ssize_t w = write(STDERR_FILENO, fin ? finishing : scoring, fin ? sizeof finishing - 1 : sizeof scoring - 1);
	(void)w;
}

/* eng_ctx_set_stop's question. arg: the test hook MERILO_TEST_STOP_LAYER=N's count
 * (size_t *; NULL without it), which asks for the stop at the Nth layer of the run,
 * as a Ctrl-C in the middle of a forward pass would. */
static size_t stop_layer; /* the test hook's count, read by stop_asked */

static bool stop_asked(void *arg)
{
	size_t *layers_left = arg;
	if (layers_left && *layers_left && !--*layers_left)
		stop_requested = 1;
	return stop_requested != 0;
}

/* Returns HRN_OPTS_GO, or the exit code to return at once. */
static int parse_args(int argc, char **argv, struct run_opts *o)
{
	if (hrn_run_wants_mpi(argc, argv)) /* one shard per rank (run_mpi.c), each through hrn_cmd_run */
		return hrn_run_mpi(argc, argv, hrn_cmd_run);
	*o = (struct run_opts){ .limit = -1, .threads = -1, .seed = -1, .fewshot = -1, .boot = -1, .topk = -1,
				.store_logprobs = -1, .thinking_budget = -1, .chat_mc = -1 };
	char seed_help[160], topk_help[160];
	snprintf(seed_help, sizeof seed_help, "run seed: bootstrap resampling, and few-shot draws of tasks\n"
					      "that declare no seed (default %d)", DEFAULT_SEED);
	snprintf(topk_help, sizeof topk_help, "with --store-logprobs: the model's K most likely next tokens\n"
					      "at each position (default %d; 0 = none)", HRN_RUN_TOPK_DEFAULT);
	const struct mrl_option opts[] = {
		OPT_STRING_F('m', "model", &o->model, "MODEL", "the model: a GGUF file or an HF folder", MRL_OPT_NONEMPTY),
		OPT_STRING_F(0, "lora", &o->lora, "DIR", HRN_LORA_HELP, MRL_OPT_NONEMPTY),
		OPT_STRING_F(0, "suite", &o->suite, "FILE", "suite JSON (docs/suite-format.md)", MRL_OPT_NONEMPTY),
		OPT_STRING_F(0, "tasks", &o->tasks, "A,B", "only these tasks (default: all)", MRL_OPT_NONEMPTY),
		OPT_STRING_F(0, "lang", &o->langs, "L1,L2", "only these languages, e.g. en,sr-Cyrl (default: all of each task)",
			     MRL_OPT_NONEMPTY),
		OPT_CALLBACK(0, "limit", &o->limit, "N", "the first N items of each task (default 0 = all)", hrn_opt_limit),
		OPT_CALLBACK(0, "sample", &o->sample, "N|P%",
			     "N items (or P% of the items) of each task drawn with --seed, each\n"
			     "\"breakdown\" value in proportion (docs/evaluation.md, \"Sampling items\")",
			     hrn_opt_sample),
		OPT_INTEGER(0, "threads", &o->threads, 0, 1024, "N",
			    "CPU threads (default 0 = the CPUs this process may use);\nresults do not depend on it"),
		OPT_BOOL(0, "affinity", &o->affinity, HRN_AFFINITY_HELP),
		OPT_STRING_F(0, "backend", &o->backend, "B",
			     "cpu (default) or cuda (the GPU backend, where built and a GPU exists;\n"
			     "its scores match the CPU's within tolerance, not bit for bit)", MRL_OPT_NONEMPTY),
		OPT_CALLBACK(0, "kv-cache", &o->kv_cache, "T", HRN_KV_CACHE_HELP, hrn_opt_kv_cache),
		OPT_STRING_F(0, "bos", &o->bos, "MODE", "auto (the model's add_bos metadata, default), always, never",
			     MRL_OPT_NONEMPTY),
		OPT_INTEGER(0, "seed", &o->seed, 0, LONG_MAX, "N", seed_help),
		OPT_INTEGER(0, "fewshot", &o->fewshot, 0, 64, "K",
			    "K examples before every prompt, for every task (default: each\n"
			    "task's own few-shot setting; 0 = zero-shot)"),
		OPT_INTEGER(0, "boot", &o->boot, 1, 10000000, "N", "bootstrap resamples (default 10000)"),
		OPT_STRING_F(0, "batch", &o->batch, "MODE",
			     "N (the choices of N multiple-choice items in shared forward\n"
			     "calls, default " HRN_RUN_BATCH_DEFAULT "), item (all choices of an item in one\n"
			     "scoring call) or request (one call per choice); a perplexity document's\n"
			     "windows share forward calls under N; the scores are identical",
			     MRL_OPT_NONEMPTY),
		OPT_STRING_F('o', "out", &o->out, "DIR", "run folder (default runs/<suite>-<model>-<UTC time>)",
			     MRL_OPT_NONEMPTY),
		OPT_STRING_F(0, "resume", &o->resume, "DIR",
			     "continue the run in DIR: items already in DIR/items.jsonl are\n"
			     "skipped; options not given are taken from DIR/run.json, and\n"
			     "those that shape records or aggregates must agree with it", MRL_OPT_NONEMPTY),
		OPT_SET_INT(0, "store-logprobs", &o->store_logprobs, 1,
			    "keep per-token log-probabilities of every choice (and of\n"
			    "perplexity documents) in items.jsonl, for merilo compare's\n"
			    "KL divergence and top-1 agreement"),
		OPT_INTEGER(0, "store-topk", &o->topk, 0, HRN_RUN_TOPK_MAX, "K", topk_help),
		OPT_BOOL('q', "quiet", &o->quiet, "only errors and one closing line with the results path (no\n"
			 "progress, no tables)"),
		OPT_STRING_F(0, "db", &o->db, "PATH", "when the run has finished, add it to this history database\n"
			     "(merilo db add; created when missing; docs/history.md)", MRL_OPT_NONEMPTY),
		OPT_STRING_F(0, "chat-template", &o->chat_template, "NAME",
			     "generate tasks: auto (the model's template when it has one), none, or chatml,\n"
			     "llama2, llama3, mistral, gemma, phi3; default: the suite's \"chat_template\",\n"
			     "else auto", MRL_OPT_NONEMPTY),
		OPT_SET_INT(0, "chat-multiple-choice", &o->chat_mc, 1,
			    "score multiple-choice tasks in the chat template too (lm-eval's\n"
			    "--apply_chat_template): the prompt as the user's turn, each choice\n"
			    "as the start of the assistant's answer (docs/evaluation.md)"),
		OPT_STRING_F(0, "thinking", &o->thinking, "on|off",
			     "generate tasks under a template with a thinking switch (Qwen3's\n"
			     "enable_thinking): off (default) opens the answer with an empty\n"
			     "<think></think> block; on lets the model reason first and scores\n"
			     "what follows its </think> (docs/evaluation.md)", MRL_OPT_NONEMPTY),
		OPT_INTEGER(0, "thinking-budget", &o->thinking_budget, 0, HRN_THINK_BUDGET_MAX, "N",
			    "with --thinking on: new tokens for the reasoning on top of each\n"
			    "generate task's max_new_tokens (default 1024); its stop strings\n"
			    "count only after </think>"),
		OPT_STRING_F(0, "shard", &o->shard, "I/N", "only shard I of N of the units, or auto (Slurm's array task);\n"
			     "merilo merge joins the shards (docs/scale-out.md)", MRL_OPT_NONEMPTY),
		OPT_BOOL(0, "mpi", &o->mpi, "one shard per MPI rank (mpirun -np N merilo run --mpi ...);\n"
			 "rank 0 merges them into the run folder (docs/scale-out.md)"),
		OPT_END(),
	};
	int n_args, rc = hrn_options("run", opts, argc, argv, &n_args, hrn_run_usage);
	if (rc != HRN_OPTS_GO)
		return rc;
	if (n_args)
		return hrn_usage_error("run", "unexpected argument '%s'", argv[0]);
	if (o->bos && strcmp(o->bos, "auto") && strcmp(o->bos, "always") && strcmp(o->bos, "never"))
		return hrn_usage_error("run", "--bos wants auto, always or never, not '%s'", o->bos);
	if (o->batch && strcmp(o->batch, "item") && strcmp(o->batch, "request") && !hrn_run_batch_items(o->batch))
		return hrn_usage_error("run", "--batch wants a number of items (1 to 4096), item or request, not '%s'",
				       o->batch);
	if ((rc = hrn_chat_opts_check("run", o->chat_template, o->thinking)) != HRN_OPTS_GO)
		return rc;
	if (o->chat_mc > 0 && o->chat_template && !strcasecmp(o->chat_template, "none"))
		return hrn_usage_error("run", "--chat-multiple-choice with --chat-template none: there is no template to "
				       "put the prompts in");
	if (o->chat_mc > 0 && o->thinking && !strcmp(o->thinking, "on"))
		return hrn_usage_error("run", "--chat-multiple-choice with --thinking on: a choice is scored as the "
				       "first words of the answer, with no room for reasoning; use --thinking off");
	enum eng_backend be;
	if (o->backend && hrn_parse_backend(o->backend, &be))
		return hrn_usage_error("run", "--backend wants cpu or cuda, not '%s'", o->backend);
	if (o->limit > 0 && hrn_sample_given(o->sample))
		return hrn_usage_error("run", "--limit and --sample exclude each other (the first N items, or N drawn)");
	if (o->topk >= 0 && o->store_logprobs < 0 && !o->resume)
		return hrn_usage_error("run", "--store-topk needs --store-logprobs");
	if (o->resume && o->out)
		return hrn_usage_error("run", "--out and --resume exclude each other (--resume DIR writes into DIR)");
	struct stat sb;
	if (o->out && stat(o->out, &sb) == 0 && !S_ISDIR(sb.st_mode))
		return hrn_usage_error("run", "--out %s: exists and is not a folder (the run folder is made there)", o->out);
	size_t si, sn;
	char why[300];
	if (o->shard && hrn_shard_parse(o->shard, &si, &sn, why, sizeof why))
		return hrn_usage_error("run", "%s", why);
	if (o->shard)
		snprintf(o->shard_buf, sizeof o->shard_buf, "%zu/%zu", si, sn), o->shard = o->shard_buf;
	return HRN_OPTS_GO;
}

static bool file_exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

/* Everything the command holds, released in one place. */
struct run_state {
	struct run_opts o;
	json_t *resumed;                /* DIR/run.json of a resumed run */
	json_t *argv;                   /* this session's command line (hrn_invocation_json) */
	char *out_dir;
	struct eng_model *model;
	struct eng_ctx *ctx;
	struct task_suite *suite;
	const struct task_task **tasks;
	size_t n_tasks;
	char **langs;                   /* --lang, split */
	size_t n_langs;
	struct rec_results res;         /* settings and manifest filled at the start */
	struct rec_items items;
	struct rec_done_set *done;
	struct rec_item_writer *writer;
	struct met_counters *counters;  /* opened (inherit) before the engine context */
	struct met_energy_meter *energy;
	struct hrn_run_window *windows; /* one per task */
	int lock_fd;                    /* DIR/run.lock, flock'ed for the whole run; -1 before */
	struct hrn_shard shard;         /* --shard: its units */
	struct hrn_sample sample;       /* --sample: its items */
	struct task_chat chat;          /* generate tasks' chat template (family none without one) */
};

/* The usage error for an unknown --tasks or --lang value: the valid names and
 * the closest one. what is "task" or "language". Returns the exit code. */
static int unknown_name(const struct run_state *st, const char *what, const char *name, const char *const *valid,
			size_t n)
{
	char list[1024] = "";
	size_t len = 0;
	for (size_t i = 0; i < n && len < sizeof list; i++)
		len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? ", " : "", valid[i]);
	const char *near = hrn_closest_name(name, valid, n);
	char hint[200] = "";
	if (near)
		snprintf(hint, sizeof hint, "; did you mean '%s'?", near);
	if (!strcmp(what, "task"))
		return hrn_usage_error("run", "the suite %s has no task '%s'%s (tasks: %s; merilo info %s --tasks)",
				       st->o.suite, name, hint, list, st->o.suite);
	return hrn_usage_error("run", "no selected task has the language '%s'%s (languages: %s)", name, hint, list);
}

/* The distinct languages of the selected tasks, in task order (pointers into the suite). */
static size_t selected_languages(const struct run_state *st, const char **out, size_t cap)
{
	size_t n = 0;
	for (size_t k = 0; k < st->n_tasks; k++)
		for (size_t l = 0; l < task_n_languages(st->tasks[k]); l++) {
			const char *lang = task_language(st->tasks[k], l);
			bool have = false;
			for (size_t i = 0; i < n; i++)
				have |= !strcmp(out[i], lang);
			if (!have && n < cap)
				out[n++] = lang;
		}
	return n;
}

/* Tasks and languages selected by the options, and the --sample's items. Returns an exit code. */
static int select_tasks(struct run_state *st)
{
	const struct task_suite *s = st->suite;
	char **names = NULL;
	size_t n_names = 0;
	int ret = 0;
	if (!(st->tasks = calloc(task_suite_n_tasks(s) + 1, sizeof *st->tasks)))
		return HRN_EXIT_RUNTIME;
	if (st->o.tasks && hrn_split_list(st->o.tasks, &names, &n_names))
		return HRN_EXIT_RUNTIME;
	if (st->o.tasks && !n_names) { /* "," selected every task */
		ret = hrn_usage_error("run", "--tasks '%s': an empty list", st->o.tasks);
		goto out;
	}
	for (size_t i = 0; i < (names ? n_names : task_suite_n_tasks(s)); i++) {
		const struct task_task *t = names ? task_suite_find(s, names[i]) : task_suite_task(s, i);
		if (!t) {
			const char *ids[64];
			size_t n_ids = 0;
			for (size_t k = 0; k < task_suite_n_tasks(s) && n_ids < 64; k++)
				ids[n_ids++] = task_id(task_suite_task(s, k));
			ret = unknown_name(st, "task", names[i], ids, n_ids);
			goto out;
		}
		bool dup = false;
		for (size_t k = 0; k < st->n_tasks; k++)
			dup |= st->tasks[k] == t;
		if (!dup)
			st->tasks[st->n_tasks++] = t;
	}
	if (!st->n_tasks) {
		ret = hrn_usage_error("run", "no task selected");
		goto out;
	}
	if (st->o.langs) {
		if (hrn_split_list(st->o.langs, &st->langs, &st->n_langs)) {
			ret = HRN_EXIT_RUNTIME;
			goto out;
		}
		if (!st->n_langs) {
			ret = hrn_usage_error("run", "--lang '%s': an empty list", st->o.langs);
			goto out;
		}
		for (size_t l = 0; l < st->n_langs; l++) {
			bool found = false;
			for (size_t k = 0; k < st->n_tasks && !found; k++)
				found = task_language_index(st->tasks[k], st->langs[l]) >= 0;
			if (!found) {
				const char *valid[64];
				ret = unknown_name(st, "language", st->langs[l], valid, selected_languages(st, valid, 64));
				goto out;
			}
		}
		if ((ret = hrn_tasks_for_langs("run", st->tasks, &st->n_tasks, st->langs, st->n_langs, st->o.langs,
					       names != NULL)))
			goto out;
	}
	/* settings.tasks and settings.languages, in run order */
	struct rec_settings *set = &st->res.settings;
	for (size_t k = 0; k < st->n_tasks; k++) {
		if (rec_strlist_add(&set->tasks, &set->n_tasks, task_id(st->tasks[k]))) {
			ret = HRN_EXIT_RUNTIME;
			goto out;
		}
		for (size_t l = 0; l < task_n_languages(st->tasks[k]); l++) {
			const char *lang = task_language(st->tasks[k], l);
			bool sel = !st->langs, have = false;
			for (size_t i = 0; i < st->n_langs; i++)
				sel |= !strcmp(st->langs[i], lang);
			for (size_t i = 0; i < set->n_languages; i++)
				have |= !strcmp(set->languages[i], lang);
			if (sel && !have && rec_strlist_add(&set->languages, &set->n_languages, lang)) {
				ret = HRN_EXIT_RUNTIME;
				goto out;
			}
		}
	}
	struct mrl_err err = { 0 }; /* the --sample of each task */
	if (hrn_sample_given(st->o.sample) &&
	    hrn_sample_plan(st->tasks, st->n_tasks, st->o.sample, (uint64_t)st->o.seed, &st->sample, &err))
		ret = hrn_report(&err);
out:
	hrn_free_list(names, n_names);
	return ret;
}

/* The settings of results.json (and the manifest). Returns an exit code. */
static int fill_settings(struct run_state *st, bool add_bos, long long threads)
{
	struct rec_settings *set = &st->res.settings;
	if (!(set->bos_mode = strdup(st->o.bos)))
		return HRN_EXIT_RUNTIME;
	set->threads = threads;
	set->limit = st->o.limit;
	set->fewshot_k = st->o.fewshot; /* -1 (null): each task's own, see extra.fewshot */
	set->fewshot_seed = -1;
	set->seed = st->o.seed;
	json_t *fs = json_object();
	const struct task_plan_opts po = { .fewshot_k = (int)st->o.fewshot, .seed = (uint64_t)st->o.seed };
	for (size_t k = 0; fs && k < st->n_tasks; k++) {
		const struct task_task *t = st->tasks[k];
		struct task_fewshot f; /* what the plans of its items use (tasks/plan.h) */
		task_plan_fewshot(t, &po, &f);
		if (f.k && set->fewshot_seed < 0) /* the first few-shot task's; each task's: extra.fewshot */
			set->fewshot_seed = (int64_t)f.seed;
		json_t *tf = f.k ? json_pack("{s:I, s:I, s:s, s:s}", "k", (json_int_t)f.k, "seed", (json_int_t)f.seed,
					     "source", f.source, "delimiter", f.delimiter)
				 : json_pack("{s:i}", "k", 0);
		if (tf && f.k && f.match) /* only where set: earlier runs' settings stay comparable */
			json_object_set_new(tf, "match", json_string(f.match));
		if (tf && f.k && f.first)
			json_object_set_new(tf, "order", json_string("first"));
		json_object_set_new(fs, task_id(t), tf);
	}
	set->extra = json_pack("{s:b, s:I, s:f, s:s, s:o, s:b, s:o, s:s}", "bos_used", add_bos, "bootstrap_resamples",
			       (json_int_t)st->o.boot, "ci_level", 0.95, "batch", st->o.batch, "fewshot", fs,
			       "store_logprobs", st->o.store_logprobs > 0, "store_topk",
			       st->o.store_logprobs > 0 ? json_integer(st->o.topk) : json_null(), "kv_cache", st->o.kv_cache);
	size_t si, sn;
	if (set->extra && hrn_sample_given(st->o.sample))
		json_object_set_new(set->extra, "sample", hrn_sample_json(st->o.sample, (uint64_t)st->o.seed));
	if (set->extra && st->o.shard && !hrn_shard_parse(st->o.shard, &si, &sn, (char[8]){ 0 }, 8))
		json_object_set_new(set->extra, "shard", hrn_shard_json(si, sn));
	return set->extra ? 0 : HRN_EXIT_RUNTIME;
}

/* Create the run folder, or check the resumed one. Returns an exit code. */
static int prepare_out_dir(struct run_state *st)
{
	if (!st->o.out) {
		char stamp[32];
		time_t now = time(NULL);
		struct tm tm;
		gmtime_r(&now, &tm);
		strftime(stamp, sizeof stamp, "%Y%m%dT%H%M%SZ", &tm);
		const char *base = strrchr(st->o.model, '/');
		base = base ? base + 1 : st->o.model;
		size_t bl = strlen(base);
		if (bl > 5 && !strcmp(base + bl - 5, ".gguf"))
			bl -= 5;
		if (asprintf(&st->out_dir, "runs/%s-%.*s-%s", task_suite_name(st->suite), (int)bl, base, stamp) < 0)
			return st->out_dir = NULL, HRN_EXIT_RUNTIME;
	} else if (!(st->out_dir = strdup(st->o.out))) {
		return HRN_EXIT_RUNTIME;
	}
	char path[4096];
	if (st->o.resume && !file_exists(st->out_dir)) {
		fprintf(stderr, "merilo: %s: no such run folder to resume\n", st->out_dir);
		return HRN_EXIT_INPUT;
	}
	snprintf(path, sizeof path, "%s/prompts", st->out_dir);
	struct mrl_err err = { 0 };
	if (mrl_mkdir_p(path, &err)) {
		fprintf(stderr, "merilo: cannot create the run folder: %s\n", err.msg);
		return HRN_EXIT_RUNTIME;
	}
	/* One run per folder: the lock is held until the process ends, so two runs
	 * (or a run and a --resume) can never append to one items.jsonl. The check
	 * for an earlier run comes after it: check and create are then one step. */
	snprintf(path, sizeof path, "%s/run.lock", st->out_dir);
	int rc = hrn_lock_file(path, &st->lock_fd);
	if (rc > 0) {
		char holder[32] = "pid unknown";
		if (rc != INT32_MAX)
			snprintf(holder, sizeof holder, "pid %d", rc);
		fprintf(stderr, "merilo: %s is in use by another merilo run (%s); wait for it to finish, or choose "
				"another --out\n", st->out_dir, holder);
		return HRN_EXIT_INPUT;
	}
	if (rc < 0) {
		fprintf(stderr, "merilo: %s: cannot lock the run folder: %s\n", path, strerror(errno));
		return HRN_EXIT_RUNTIME;
	}
	/* items.jsonl or results.json without run.json (another run's, moved or half removed)
	 * would be taken for this run's: items of another model counted as this one's */
	return st->o.resume ? 0 : hrn_refuse_run_dir(st->out_dir, "run", "--out", "merilo run --resume");
}

/* run.json at the start of a new run; on --resume, check the hashes against it. */
static int record_or_check_run(struct run_state *st)
{
	const struct rec_manifest *m = &st->res.manifest;
	char path[4096];
	snprintf(path, sizeof path, "%s/run.json", st->out_dir);
	if (st->resumed) {
		const char *ms = json_string_value(json_object_get(st->resumed, "model_sha256"));
		const char *ss = json_string_value(json_object_get(st->resumed, "suite_sha256"));
		if (!ms || !m->model_sha256 || strcmp(ms, m->model_sha256)) {
			fprintf(stderr, "merilo: %s is not the model of the run in %s (sha256 %s, the run used %s); refusing to mix results\n",
				st->o.model, st->out_dir, m->model_sha256 ? m->model_sha256 : "?", ms ? ms : "?");
			return HRN_EXIT_INPUT;
		}
		if (!ss || !m->suite_sha256 || strcmp(ss, m->suite_sha256)) {
			fprintf(stderr, "merilo: %s is not the suite of the run in %s (sha256 %s, the run used %s); refusing to mix results\n",
				st->o.suite, st->out_dir, m->suite_sha256 ? m->suite_sha256 : "?", ss ? ss : "?");
			return HRN_EXIT_INPUT;
		}
		return 0;
	}
	json_t *j = json_pack("{s:i, s:s, s:O, s:s, s:s, s:o, s:o}", "schema_version", RUN_JSON_VERSION, "started_utc",
			      m->started_utc ? m->started_utc : "", "argv", st->argv, "model_sha256", m->model_sha256 ? m->model_sha256 : "",
			      "suite_sha256", m->suite_sha256 ? m->suite_sha256 : "", "options", hrn_run_options_json(&st->o),
			      "settings", rec_settings_to_json(&st->res.settings));
	char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) : NULL;
	json_decref(j);
	struct mrl_err err = { 0 };
	int ret = 0;
	if (!text) { /* it exited 4 saying nothing */
		fprintf(stderr, "merilo: %s: out of memory serializing run.json\n", path);
		ret = HRN_EXIT_RUNTIME;
	} else if (mrl_write_file_atomic(path, text, strlen(text), &err))
		ret = hrn_report(&err); /* MRL_EWRITE: exit 4 */
	free(text);
	return ret;
}

/* Fill suite/model/engine info of results.json. Returns an exit code. */
static int fill_info(struct run_state *st)
{
	struct rec_results *r = &st->res;
	struct eng_model_desc d;
	eng_model_describe(st->model, &d);
	bool bad = !(r->suite.name = strdup(task_suite_name(st->suite))) ||
		   !(r->suite.version = strdup(task_suite_version(st->suite))) || !(r->suite.path = strdup(st->o.suite)) ||
		   !(r->model.path = strdup(st->o.model)) || !(r->model.name = strdup(d.name ? d.name : "")) ||
		   !(r->model.arch = strdup(d.arch ? d.arch : "")) || !(r->engine.name = strdup("merilo")) ||
		   !(r->engine.version = strdup(MRL_VERSION)) || !(r->engine.backend = strdup(st->o.backend ? st->o.backend : "cpu"));
	r->model.size_bytes = (int64_t)d.file_size;
	if (!bad && r->manifest.suite_sha256)
		bad = !(r->suite.sha256 = strdup(r->manifest.suite_sha256));
	if (!bad && r->manifest.model_sha256)
		bad = !(r->model.sha256 = strdup(r->manifest.model_sha256));
	return bad ? HRN_EXIT_RUNTIME : 0;
}

static void release_state(struct run_state *st)
{
	struct mrl_err err = { 0 };
	if (st->writer && rec_item_writer_close(st->writer, &err))
		hrn_report(&err);
	rec_done_set_free(st->done);
	rec_items_release(&st->items);
	rec_results_release(&st->res);
	hrn_free_list(st->langs, st->n_langs);
	free(st->tasks);
	task_suite_free(st->suite);
	eng_ctx_free(st->ctx);
	eng_model_close(st->model);
	met_counters_close(st->counters); /* on the thread that opened it: this one */
	met_energy_close(st->energy);
	free(st->windows);
	hrn_shard_release(&st->shard);
	hrn_sample_release(&st->sample);
	free(st->out_dir);
	json_decref(st->resumed);
	json_decref(st->argv);
	hrn_mapguard_clear();
	if (st->lock_fd >= 0)
		close(st->lock_fd); /* releases the flock */
}

/* The item writer's check before every flush: records computed from a model
 * file that changed since it was mapped are never written. */
static int model_unchanged(void *model, struct mrl_err *err)
{
	return eng_model_check_file(model, err);
}

/* The manifest's model hash, from the bytes that are mapped (what the scores
 * are computed from), through the sha256 cache keyed by the file's state when
 * it was mapped; a file that changed meanwhile is refused. An HF folder, or a
 * model with a LoRA adapter, is hashed as a listing of its files (manifest.c). */
static int hash_model(struct run_state *st, struct mrl_err *err)
{
	struct rec_manifest *m = &st->res.manifest;
	if (eng_model_folder_file(st->model, 0) || eng_model_adapter_file(st->model, 0))
		return hrn_manifest_model(m, st->o.model, st->model, NULL, err);
	const void *base;
	size_t size;
	struct stat sb;
	char hex[65];
	eng_model_file(st->model, &base, &size, &sb);
	if (!hrn_sha256_cache_lookup(st->o.model, &sb, hex)) {
		mrl_sha256_buf_hex(base, size, hex);
		if (eng_model_check_file(st->model, err))
			return err->code;
		hrn_sha256_cache_store(st->o.model, &sb, hex);
	}
	free(m->model_sha256);
	if (!(m->model_sha256 = strdup(hex)))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	m->model_size_bytes = (int64_t)size;
	return hrn_manifest_paths(m, st->o.model, NULL, err);
}

/* The manifest's command lines: a new run's own; a resumed run keeps the first
 * session's (run.json's "argv", absent in a run.json older than it) and notes this
 * one as resumed_argv. */
static int set_invocation(struct run_state *st, struct mrl_err *err)
{
	struct rec_manifest *m = &st->res.manifest;
	const json_t *first = st->resumed ? json_object_get(st->resumed, "argv") : st->argv;
	if ((first && !(m->argv = json_deep_copy(first))) || !st->argv ||
	    (st->resumed && !(m->resumed_argv = json_deep_copy(st->argv))))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	return 0;
}

/* Check items (as read back from path) against the plan of cfg: the records
 * outside it are reported, moved to items.rejected.jsonl and left out. Returns
 * an exit code. */
static int check_plan(const struct hrn_run_cfg *cfg, const char *path, struct rec_items *items, size_t *n_missing)
{
	struct mrl_err err = { 0 };
	char rejected[4200];
	if (hrn_run_plan_check(cfg, items, n_missing, &err))
		return hrn_report(&err);
	if (!items->n_rejected)
		return 0;
	snprintf(rejected, sizeof rejected, "%s/items.rejected.jsonl", cfg->out_dir);
	for (size_t i = 0; i < items->n_rejected; i++)
		fprintf(stderr, "merilo run: %s:%zu: %s; left out (moved to %s)\n", path, items->rejected[i].line,
			items->rejected[i].why, rejected);
	if (hrn_run_quarantine(path, items, rejected, &err))
		return hrn_report(&err);
	return 0;
}

/* The run's first line (stderr, not under --quiet): model, suite, BOS, the chat template, where. */
static void print_header(const struct run_state *st, bool add_bos)
{
	if (st->o.quiet)
		return;
	const bool chat = st->chat.family != TASK_CHAT_NONE;
	char items[80] = "", spec[32]; /* which items, where not all */
	if (hrn_sample_given(st->o.sample))
		snprintf(items, sizeof items, "; --sample %s %s, seed %ld", hrn_sample_str(st->o.sample, spec, sizeof spec),
			 st->o.sample.pct ? "of each task's items" : "items of each", st->o.seed);
	else if (st->o.limit > 0)
		snprintf(items, sizeof items, "; the first %ld items of each", st->o.limit);
	fprintf(stderr, "merilo run: %s on %s (%zu task%s%s), BOS %s%s%s%s, writing %s/\n", st->o.model, st->o.suite,
		st->n_tasks, st->n_tasks == 1 ? "" : "s", items, add_bos ? "on" : "off", chat ? ", chat template " : "",
		chat ? task_chat_name(st->chat.family) : "",
		!chat || !st->chat.thinking_switch ? "" : task_chat_thinks(&st->chat) ? " (thinking on)" : " (thinking off)",
		st->out_dir);
}

/* The defaults of options neither given nor restored from a resumed run. */
static void apply_defaults(struct run_opts *o)
{
	if (!o->bos)
		o->bos = "auto";
	if (!o->batch)
		o->batch = HRN_RUN_BATCH_DEFAULT;
	/* chat_template stays NULL: the suite's choice, else auto (hrn_run_chat_setup) */
	if (o->limit < 0)
		o->limit = 0;
	if (o->seed < 0)
		o->seed = DEFAULT_SEED;
	if (o->boot < 0)
		o->boot = MET_BOOT_DEFAULT_RESAMPLES;
	if (o->topk < 0)
		o->topk = HRN_RUN_TOPK_DEFAULT;
	if (o->store_logprobs < 0)
		o->store_logprobs = 0;
	if (o->chat_mc < 0)
		o->chat_mc = 0;
	if (!o->backend)
		o->backend = "cpu";
	if (!o->kv_cache)
		o->kv_cache = "f16";
	if (!o->thinking)
		o->thinking = "off";
	if (o->thinking_budget < 0)
		o->thinking_budget = HRN_THINK_BUDGET_DEFAULT;
}

/* Counters count the opening thread and the threads it creates afterwards (inherit):
 * open them before the context creates its worker pool. PAPI or energy sources being
 * absent is not an error: the figures are null with the reason. */
static int open_meters(struct run_state *st, struct mrl_err *err)
{
	struct met_counter_opts co;
	met_counter_opts_init(&co);
	co.inherit = true;
	struct met_energy_opts eopts;
	met_energy_opts_init(&eopts);
	int rc = met_counters_open(&st->counters, &co, err);
	if (rc || (rc = met_energy_open(&st->energy, &eopts, err)))
		return rc;
	if (!(st->windows = calloc(st->n_tasks, sizeof *st->windows)))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	return 0;
}

/* From here a bus error on the mapped weights (a file truncated) is a message, not a crash. */
static void guard_mappings(const struct run_state *st)
{
	const void *map_base;
	size_t map_size;
	const char *map_path;
	char hint[4400];
	snprintf(hint, sizeof hint, "the records flushed before are in %s/items.jsonl; restore the file and continue "
				    "with: merilo run --resume %s", st->out_dir, st->out_dir);
	for (size_t i = 0; eng_model_mapping(st->model, i, &map_base, &map_size, &map_path) == 0; i++)
		hrn_mapguard_add(map_base, map_size, map_path, hint);
}

/* --resume: the records already in path (items.jsonl), checked against the
 * plan, become the done set. Returns an exit code. */
static int read_resumed_items(struct run_state *st, const struct hrn_run_cfg *cfg, const char *path)
{
	struct mrl_err err = { 0 };
	if (rec_items_read_lenient(path, &st->items, &err))
		return hrn_report(&err);
	if (st->items.truncated_tail)
		fprintf(stderr, "merilo run: %s: dropping the unfinished last line %zu (%zu bytes) of the killed run\n",
			path, st->items.tail_line, st->items.tail_bytes);
	int ret = check_plan(cfg, path, &st->items, NULL);
	if (ret)
		return ret;
	if (!(st->done = rec_done_set_new(&st->items))) {
		mrl_err_set(&err, MRL_ENOMEM, "out of memory");
		return hrn_report(&err);
	}
	return 0;
}

/* --shard I/N: its units, from the plan of the whole run. Returns an exit code. */
static int plan_shard(struct run_state *st, struct hrn_run_cfg *cfg)
{
	struct mrl_err err = { 0 };
	size_t si, sn;
	if (hrn_shard_parse(st->o.shard, &si, &sn, err.msg, sizeof err.msg) ||
	    hrn_shard_plan(cfg, si, sn, &st->shard, &err))
		return hrn_report(&err);
	cfg->shard = &st->shard;
	if (!st->o.quiet)
		fprintf(stderr, "merilo run: shard %zu/%zu: %zu of %zu units, %.1f%% of the estimated cost\n", si, sn,
			st->shard.n_units, st->shard.n_units_all,
			st->shard.cost_all ? 100.0 * (double)st->shard.cost / (double)st->shard.cost_all : 0.0);
	return 0;
}

/* SIGINT/SIGTERM caught for the whole command (on: from the start; off: the
 * actions before it): the first one stops the scoring within a layer of the
 * forward pass (eng_ctx_set_stop), or the run before its scoring starts; the
 * results of a run whose items are all scored are still written. */
static void catch_signals(bool on)
{
	static struct sigaction old_int, old_term;
	static bool caught;
	if (!on) {
		if (caught) {
			sigaction(SIGINT, &old_int, NULL);
			sigaction(SIGTERM, &old_term, NULL);
		}
		caught = false;
		return;
	}
	caught = true;
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
}

/* After the items: aggregate from everything in path (items.jsonl) that
 * belongs to the run's plan, write results.json and print the summary.
 * Returns an exit code. */
static int finish_run(struct run_state *st, const struct hrn_run_cfg *cfg, const struct hrn_run_stats *rs,
		      const char *path)
{
	struct mrl_err err = { 0 };
	char results[4200];
	rec_items_release(&st->items);
	if (rec_items_read_lenient(path, &st->items, &err))
		return hrn_report(&err);
	size_t n_missing = 0;
	int ret = check_plan(cfg, path, &st->items, &n_missing);
	if (ret)
		return ret;
	if (n_missing) {
		fprintf(stderr, "merilo run: %zu unit(s) of the run have no valid record in %s; compute them with: "
				"merilo run --resume %s\n", n_missing, path, st->out_dir);
		return HRN_EXIT_RUNTIME;
	}
	if (eng_model_check_file(st->model, &err))
		return hrn_report(&err);
	struct hrn_progress prog; /* a big run's bootstraps take seconds: after 5 s, a line */
	struct hrn_agg_opts ao = { .seed = (uint64_t)st->o.seed, .n_resamples = (size_t)st->o.boot, .level = 0.95,
				   .n_threads = (size_t)st->o.threads, .progress = &prog };
	hrn_progress_begin(&prog, "merilo run", "resamples", 0, st->o.quiet, false); /* the total: hrn_run_aggregate's */
	const int rc = hrn_run_aggregate(cfg, &st->items, &ao, &st->res, &err);
	hrn_progress_end(&prog);
	if (rc || hrn_run_performance(cfg, &st->items, st->windows, &st->res, &err) ||
	    rec_manifest_finish(&st->res.manifest, &err))
		return hrn_report(&err);
	snprintf(results, sizeof results, "%s/results.json", st->out_dir);
	if (rec_results_write(results, &st->res, &err))
		return hrn_report(&err);
	hrn_run_print_end(stdout, cfg, &st->res, rs, st->out_dir, st->o.quiet);
	if (st->o.db && hrn_db_add_runs(st->o.db, (char *const[]){ st->out_dir }, 1, st->o.quiet, &err)) {
		/* the run itself is complete: say where it is and how to record it later */
		fprintf(stderr, "merilo: %s; the run's results are kept in %s (add them later: merilo db add %s --db %s)\n",
			err.msg, st->out_dir, st->out_dir, st->o.db);
		return hrn_exit_for(err.code);
	}
	return HRN_EXIT_OK;
}

/* A test hook's count from the environment (--help names them); 0 where unset. */
static size_t test_hook(const char *name)
{
	const char *v = getenv(name);
	return v ? (size_t)strtoull(v, NULL, 10) : 0;
}

/* After the run loop failed with exit code ret: where the records are, and --resume where it
 * can get past the error (a full disk, a GPU error, the model file restored); bad input (a unit
 * the model cannot score) stops a resume at the same unit: a run's suite and model are fixed. */
static void resume_hint(const char *path, const char *out_dir, int ret)
{
	if (ret == HRN_EXIT_INPUT)
		fprintf(stderr, "merilo run: the items scored before the error are in %s; a --resume would stop at "
				"the same item\n", path);
	else
		fprintf(stderr, "merilo run: the items scored before the error are in %s; continue with: merilo run "
				"--resume %s\n", path, out_dir);
}

/* The run loop's configuration; out_dir (the run folder), the done set and the
 * item writer are set once they exist. */
static struct hrn_run_cfg run_cfg(struct run_state *st, bool add_bos)
{
	return (struct hrn_run_cfg){
		.model = st->model, .ctx = st->ctx, .suite = st->suite,
		.tasks = st->tasks, .n_tasks = st->n_tasks,
		.langs = (const char *const *)st->langs, .n_langs = st->n_langs,
		.limit = st->o.limit, .sample = hrn_sample_given(st->o.sample) ? &st->sample : NULL, .add_bos = add_bos, .bos_never = !strcmp(st->o.bos, "never"),
		.fewshot_k = (int)st->o.fewshot, .seed = (uint64_t)st->o.seed,
		.batch = !strcmp(st->o.batch, "request") ? HRN_BATCH_REQUEST : HRN_BATCH_ITEM,
		.score_window = hrn_run_batch_items(st->o.batch),
		.progress = st->o.quiet ? HRN_PROGRESS_OFF : isatty(STDERR_FILENO) ? HRN_PROGRESS_TTY : HRN_PROGRESS_LOG,
		.slow_ms = (int)test_hook("MERILO_TEST_SLOW_MS"),
		.stop = &stop_requested, .should_stop = stop_asked, .stop_arg = stop_layer ? &stop_layer : NULL,
		.store_logprobs = st->o.store_logprobs > 0, .store_topk = (size_t)st->o.topk,
		.counters = st->counters, .energy = st->energy, .windows = st->windows, .chat = &st->chat,
		.chat_mc = st->o.chat_mc > 0,
		.stop_after = test_hook("MERILO_TEST_STOP_AFTER"), .pause_at = test_hook("MERILO_TEST_PAUSE_AT"),
	};
}

/* The plan against the suite and the model (run_plan.c) before the run folder exists: a run
 * that would fail at a task's first unit, and on every --resume, leaves nothing behind. Too few
 * examples for --fewshot K are a usage error; for the suite's own k, bad input. An exit code. */
/* Whether the plans fit (few-shot examples, the model's positions); and, not under --quiet,
 * a note where --limit or --sample leaves some of a task's breakdown values out. */
static int check_plan_fits(const struct run_state *st, const struct hrn_run_cfg *cfg)
{
	struct mrl_err err = { 0 };
	if (!st->o.quiet)
		hrn_run_limit_note(stderr, cfg);
	if (!st->o.quiet && cfg->sample)
		hrn_sample_note(stderr, cfg->sample, cfg->tasks);
	if (hrn_run_fewshot_fits(cfg, &err)) {
		if (st->o.fewshot >= 0 && err.code == MRL_EINPUT)
			return hrn_usage_error("run", "--fewshot %ld: %s", st->o.fewshot, err.msg);
		mrl_err_prefix(&err, "%s", st->o.suite);
		return hrn_report(&err);
	}
	if (hrn_run_model_fits(cfg, &err)) {
		mrl_err_prefix(&err, "%s on %s", st->o.suite, st->o.model);
		return hrn_report(&err);
	}
	return 0;
}

/* The model and suite exist: 0, or one line naming the one that does not (or a symbolic
 * link loop, ELOOP, which is not a missing file) and exit 3. */
static int inputs_exist(const struct run_opts *o)
{
	const char *missing = !file_exists(o->model) ? o->model : !file_exists(o->suite) ? o->suite : NULL;
	if (!missing)
		return 0;
	fprintf(stderr, "merilo: %s: %s (the %s)\n", missing, errno == ENOENT ? "no such file" : strerror(errno),
		missing == o->model ? "model" : "suite");
	return HRN_EXIT_INPUT;
}

int hrn_cmd_run(int argc, char **argv)
{
	struct run_state st = { .lock_fd = -1 };
	struct mrl_err err = { 0 };
	char path[4096];
	rec_results_init(&st.res);
	st.argv = hrn_invocation_json(argc, argv); /* before parse_args reorders argv */
	int ret = parse_args(argc, argv, &st.o);
	if (ret != HRN_OPTS_GO)
		goto out;
	catch_signals(true);
	if (st.o.resume && (ret = hrn_run_merge_resumed(&st.o, &st.resumed)))
		goto out;
	if (!st.o.model || !st.o.suite) {
		ret = hrn_usage_error("run", "--model and --suite are required (or --resume DIR)");
		goto out;
	}
	apply_defaults(&st.o);
	const long long threads = st.o.threads > 0 ? st.o.threads : eng_default_threads();
	st.o.threads = (long)threads; /* run.json's options: the count run */

	if ((ret = inputs_exist(&st.o)))
		goto out;
	/* --db that exists must be a merilo database now, not after the whole run (a missing one
	 * is made when the run is added) */
	if (st.o.db && hrn_bench_history_check(NULL, NULL, 0, NULL, st.o.db, &err))
		goto fail;
	if (task_suite_load(st.o.suite, &st.suite, NULL, &err))
		goto fail;
	if ((ret = select_tasks(&st)))
		goto out;
	if (open_meters(&st, &err))
		goto fail;
	struct eng_open_opts eo = { .n_threads = (int)threads, .kv_f32 = !strcmp(st.o.kv_cache, "f32"),
				    .pin_threads = st.o.affinity, .lora = st.o.lora };
	const uint64_t t_open = met_now_ns();
	if (st.o.backend)
		hrn_parse_backend(st.o.backend, &eo.backend); /* checked in parse_args */
	if (eng_model_open(&st.model, st.o.model, &eo, &err) || hrn_score_ctx_new(&st.ctx, st.model, st.o.batch, &err))
		goto fail;
	stop_layer = test_hook("MERILO_TEST_STOP_LAYER");
	eng_ctx_set_stop(st.ctx, stop_asked, stop_layer ? &stop_layer : NULL);
	st.res.model.load_s = (double)(met_now_ns() - t_open) * 1e-9;
	hrn_print_model_warnings(st.model);
	struct eng_model_desc d;
	eng_model_describe(st.model, &d);
	const bool add_bos = !strcmp(st.o.bos, "always") || (!strcmp(st.o.bos, "auto") && d.add_bos);
	if (add_bos && d.bos_id < 0) {
		mrl_err_set(&err, MRL_EINPUT, "%s: --bos %s, but the model has no BOS token", st.o.model, st.o.bos);
		goto fail;
	}
	if ((ret = fill_settings(&st, add_bos, threads)))
		goto out;
	const struct hrn_think think = { !strcmp(st.o.thinking, "on"), (unsigned)st.o.thinking_budget };
	if (hrn_run_chat_setup(st.model, st.o.chat_template, &think, st.o.chat_mc > 0, st.tasks, st.n_tasks, &st.chat,
			       st.res.settings.extra, &err))
		goto fail;
	if (!st.o.quiet)
		hrn_run_thinking_note(&st.chat, &think);
	json_t *settings_json = rec_settings_to_json(&st.res.settings);
	int mrc = hrn_manifest_collect(&st.res.manifest, NULL, st.o.suite, settings_json, &err);
	json_decref(settings_json);
	if (mrc || set_invocation(&st, &err))
		goto fail;
	struct hrn_run_cfg cfg = run_cfg(&st, add_bos);
	if ((ret = check_plan_fits(&st, &cfg)) || (ret = prepare_out_dir(&st)))
		goto out;
	cfg.out_dir = st.out_dir;
	guard_mappings(&st);
	if (hash_model(&st, &err))
		goto fail;
	if ((ret = record_or_check_run(&st)) || (ret = fill_info(&st)))
		goto out;

	snprintf(path, sizeof path, "%s/items.jsonl", st.out_dir);
	if ((st.o.shard && (ret = plan_shard(&st, &cfg))) ||
	    (st.o.resume && file_exists(path) && (ret = read_resumed_items(&st, &cfg, path))))
		goto out;
	struct rec_item_writer_opts wo = { .flush_every_items = 16, .flush_every_ns = 2000000000LL,
					   .check = model_unchanged, .check_arg = st.model };
	if (rec_item_writer_open(path, &wo, &st.writer, NULL, &err))
		goto fail;
	cfg.done = st.done;
	cfg.writer = st.writer;
	print_header(&st, add_bos);
	struct hrn_run_stats rs;
	run_phase = PHASE_SCORING;
	int lrc = hrn_run_items(&cfg, &rs, &err);
	if (lrc || rs.interrupted)
		catch_signals(false); /* only the messages are left to print */
	else
		run_phase = PHASE_FINISHING;
	/* whatever happened, what was computed goes to disk first */
	struct mrl_err cerr = { 0 };
	int crc = rec_item_writer_close(st.writer, &cerr);
	st.writer = NULL;
	if (lrc) {
		ret = hrn_report(&err); /* a failed write of items.jsonl is MRL_EWRITE: exit 4 */
		resume_hint(path, st.out_dir, ret);
		goto out;
	}
	if (crc) {
		err = cerr;
		goto fail;
	}
	if (rs.interrupted) {
		fprintf(stderr, "merilo run: interrupted; %zu of %zu items are saved in %s\n"
				"continue with: merilo run --resume %s\n",
			rs.n_done_before + rs.n_scored, rs.n_total, path, st.out_dir);
		ret = HRN_EXIT_RUNTIME;
		goto out;
	}

	ret = finish_run(&st, &cfg, &rs, path);
	goto out;
fail:
	ret = hrn_report(&err);
out:
	catch_signals(false);
	release_state(&st);
	return ret;
}
