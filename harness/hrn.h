/* hrn.h — the harness: the CLI, its commands, the run loop, result records.
 *
 * The only module that knows all the others, and the only one that prints to
 * the user or calls exit(). Every command is `int hrn_cmd_<name>(int argc, char **argv)`
 * in harness/cmd_<name>.c, listed in the table in harness/main.c; it returns an
 * exit code from enum hrn_exit.
 */
#ifndef MRL_HRN_H
#define MRL_HRN_H

#include "common/err.h"
#include "common/options.h"
#include "engine/eng.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define MRL_VERSION "0.1.0"

/* The one default of every command's --seed (run, score, compare, bench;
 * docs/cli.md). synth's --seed picks the weights and keeps its own default. */
#define HRN_DEFAULT_SEED 1234

/* Exit codes, documented in `merilo --help` and README. */
enum hrn_exit {
	HRN_EXIT_OK = 0,
	HRN_EXIT_VERDICT = 1, /* a verdict failed (regression found) */
	HRN_EXIT_USAGE = 2,   /* bad command line */
	HRN_EXIT_INPUT = 3,   /* bad input: missing, malformed, corrupt or unsupported file */
	HRN_EXIT_RUNTIME = 4, /* runtime failure: out of memory, disk full, GPU error */
};

/* Map a library error code (enum mrl_errcode) to an exit code. */
int hrn_exit_for(int mrl_code);

/* Print "merilo: <message>" on stderr and return the exit code for err->code; a failure
 * reported with no code (MRL_OK: a callee returned without mrl_err_set) exits 4. */
int hrn_report(const struct mrl_err *err);
/* Print the model's load warnings (eng_model_warning), one "merilo: warning: ..."
 * line each on stderr; call after eng_model_open, before the work starts. */
void hrn_print_model_warnings(const struct eng_model *m);
/* Whether path is a file that starts with the GGUF magic; whether it is a folder
 * (what an HF checkpoint is: the engine says what is wrong with one that is not). */
bool hrn_is_gguf(const char *path);
bool hrn_is_folder(const char *path);

/* Print "merilo <cmd>: <message>\nTry 'merilo <cmd> --help'." and return HRN_EXIT_USAGE. */
int hrn_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Parse a command's options (common/options.h) and positionals (moved to
 * argv[0..*n_args-1]). Returns HRN_OPTS_GO to go on, or the exit code the
 * command returns at once: HRN_EXIT_OK after --help (usage(stdout, opts)),
 * HRN_EXIT_USAGE after a usage error (printed as hrn_usage_error does). */
#define HRN_OPTS_GO (-1)
int hrn_options(const char *cmd, const struct mrl_option *opts, int argc, char **argv, int *n_args,
		void (*usage)(FILE *out, const struct mrl_option *opts));
/* Print the option lines of a --help (mrl_opts_help) with the help at column width + 2. */
void hrn_print_options(FILE *out, const struct mrl_option *opts, int width);

/* Parse a decimal integer in [lo, hi] (the whole string); 0 or -1. */
int hrn_parse_int(const char *s, long lo, long hi, long *out);
/* An unsigned decimal integer (no sign) that fits 64 bits; 0 or -1. */
int hrn_parse_u64(const char *s, uint64_t *out);
/* A finite number (strtod syntax); 0 or -1. */
int hrn_parse_double(const char *s, double *out);
/* A finite number or a percentage ("5%" -> 0.05); the caller checks the range; 0 or -1. */
int hrn_parse_fraction(const char *s, double *out);
/* A comma-separated list ("a,b,,c") -> its non-empty items as owned strings in
 * *out (*n of them; free with hrn_free_list). 0, or MRL_ENOMEM with *out NULL. */
int hrn_split_list(const char *s, char ***out, size_t *n);
void hrn_free_list(char **v, size_t n);
struct task_task;
struct rec_results;
/* The run folders dirs[0..n) of command cmd must be distinct (the same folder
 * by another path too): a run given twice was ranked or reported twice. An
 * exit code (0: go on). util.c. */
int hrn_distinct_runs(const char *cmd, const char *const *dirs, size_t n);
/* Units a run scored from predictions counted as wrong for want of one (merilo
 * score --allow-missing: settings.missing_counted_as_wrong, each unit's
 * "missing"); 0 for any other run. util.c. */
int64_t hrn_results_missing(const struct rec_results *r);
/* --lang L1,L2 given (langs, n_langs; langs_arg as typed) to command cmd: a task
 * of tasks[0..*n_tasks) with none of them has no unit. named (the tasks come
 * from --tasks): that is a usage error naming the task's languages (it would be
 * recorded as run, on nothing); else it is left out (*n_tasks shrinks, order
 * kept). An exit code (0: go on). util.c. */
int hrn_tasks_for_langs(const char *cmd, const struct task_task **tasks, size_t *n_tasks, char *const *langs,
			size_t n_langs, const char *langs_arg, bool named);
/* For "did you mean": the name in valid[0..n) closest to name: one that differs
 * only in case first, else the smallest edit distance if it is at most a third
 * of the name (at least 2); NULL when none is close. */
const char *hrn_closest_name(const char *name, const char *const *valid, size_t n);
/* The extension of path's file name without its dot ("json" of "runs/v1.2/b.json"),
 * pointing into path; NULL when the file name has none. The commands that write one
 * file (bench, leaderboard) take their default --format from it. */
const char *hrn_path_extension(const char *path);
/* "cpu" or "cuda"; 0 or -1. */
int hrn_parse_backend(const char *s, enum eng_backend *out);
/* An OPT_CALLBACK for --backend: "cpu" or "cuda" into the enum eng_backend at opt->value. */
int hrn_opt_backend(const struct mrl_option *opt, const char *arg, struct mrl_err *err);
/* An OPT_CALLBACK for --kv-cache: "f16" or "f32" (a static string) into the const
 * char * at opt->value; NULL there means the default, f16. HRN_KV_CACHE_HELP is its help. */
int hrn_opt_kv_cache(const struct mrl_option *opt, const char *arg, struct mrl_err *err);
/* --affinity (run, bench, perplexity, generate): eng_open_opts.pin_threads. */
#define HRN_AFFINITY_HELP "pin each compute thread to one CPU of those this process may use\n(steadier timings; results do not depend on it)"
#define HRN_KV_CACHE_HELP "KV cache: f16 (default, llama.cpp's arithmetic) or f32\n(closer to float64; docs/evaluation.md)"

/* Whether the folder dir already holds a run's files (run.json, items.jsonl,
 * results.json), for a command about to write a new run there (cmd: "run",
 * "score", "merge"; how: the flag that chose the folder). Prints one line and
 * returns HRN_EXIT_USAGE when it does: a run (resume_hint, the command that
 * continues one with a run.json, or NULL where none does), or the leftovers of
 * an unfinished one (no results.json: stopped by a full disk or a signal), to be
 * removed. 0 when it holds none of them. */
int hrn_refuse_run_dir(const char *dir, const char *cmd, const char *how, const char *resume_hint);

/* Take an exclusive flock on path (created if absent) and write our pid into it.
 * Returns 0 with *fd_out the open descriptor (the lock lasts until it is closed
 * or the process ends); the pid of the holder (> 0; INT32_MAX when it cannot be
 * read) when another process holds it; -1 with errno on a failure. */
int hrn_lock_file(const char *path, int *fd_out);

/* SIGBUS on a mapped model file (truncated while in use, harness/mapguard.c):
 * register the mapping [base, base + size) of path; a bus error inside it prints
 * "merilo: PATH: the model file was truncated or rewritten ...; HINT" and exits
 * with HRN_EXIT_RUNTIME. Faults elsewhere keep their default action. At most 64
 * mappings; 0 or -1. hrn_mapguard_clear() forgets them and restores SIGBUS. */
int hrn_mapguard_add(const void *base, size_t size, const char *path, const char *hint);
void hrn_mapguard_clear(void);

/* Build description for --version and the manifest: static strings. */
const char *hrn_build_compiler(void);
const char *hrn_build_commit(void);
const char *hrn_build_options(void);

/* Commands (one file each). */
int hrn_cmd_validate(int argc, char **argv);
int hrn_cmd_info(int argc, char **argv);
int hrn_cmd_import(int argc, char **argv);
int hrn_cmd_tokenize(int argc, char **argv);
int hrn_cmd_generate(int argc, char **argv);
int hrn_cmd_perplexity(int argc, char **argv);
int hrn_cmd_synth(int argc, char **argv);
int hrn_cmd_run(int argc, char **argv);
int hrn_cmd_compare(int argc, char **argv);
int hrn_cmd_leaderboard(int argc, char **argv);
int hrn_cmd_report(int argc, char **argv);
int hrn_cmd_bench(int argc, char **argv);
int hrn_cmd_score(int argc, char **argv);
int hrn_cmd_merge(int argc, char **argv);
int hrn_cmd_db(int argc, char **argv);

/* `merilo info` dispatches on the file: GGUF or a folder -> model, otherwise
 * suite; each returns an exit code. as_json: the same facts as one JSON object. */
int hrn_info_model(const char *path, const char *lora, bool verbose, bool as_json);

/* --lora DIR's help, the same for every command that opens a model. */
#define HRN_LORA_HELP                                                                                              \
	"a PEFT LoRA adapter folder (adapter_config.json,\n"                                                        \
	"adapter_model.safetensors) on the model's weights (an HF\n"                                                \
	"folder or its GGUF conversion), applied as it runs\n"                                                      \
	"(docs/engine.md, \"LoRA adapters\")"
int hrn_info_suite(const char *path, bool as_json);

#endif
