/* shard.h — deterministic sharding of a run (internal to the harness).
 *
 * `merilo run --shard I/N` evaluates shard I of N of the run's units (task x item
 * x language); `merilo merge` puts N such shard folders back together into the
 * run the unsharded command would have written; `merilo run --mpi` runs one shard
 * per MPI rank and merges on rank 0. The partition is a pure function of the run's
 * plan (the units in run order and the text each one scores) and of N: the same on
 * every machine, thread count and rank layout. docs/scale-out.md has the rules.
 */
#ifndef MRL_HRN_SHARD_H
#define MRL_HRN_SHARD_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct hrn_run_cfg;

/* Largest N of --shard I/N. */
#define HRN_SHARD_MAX 4096

/* Which units are shard index of count. */
struct hrn_shard {
	size_t index, count;  /* 1-based I, N */
	uint8_t **in;         /* n_tasks arrays of n_items(t) * n_langs[t]: 1 = this shard's unit */
	size_t *n_langs;      /* n_tasks: languages of each task */
	size_t n_tasks;
	size_t n_units;       /* units of this shard */
	size_t n_units_all;   /* units of the whole run */
	uint64_t cost;        /* estimated cost of this shard, bytes of scored text */
	uint64_t cost_all;    /* of the whole run */
};

/* Parse a --shard argument: "I/N" (1 <= I <= N <= HRN_SHARD_MAX) or "auto" (Slurm's
 * SLURM_ARRAY_TASK_ID, SLURM_ARRAY_TASK_COUNT and, when set, SLURM_ARRAY_TASK_MIN: I =
 * ID - MIN + 1, MIN 0 when unset). Returns 0 with *index and *count, or -1 with the
 * reason in why (one line). */
int hrn_shard_parse(const char *arg, size_t *index, size_t *count, char *why, size_t why_size);

/* Compute shard index of count of cfg's units (cfg->shard is ignored): the units
 * are sorted by estimated cost (bytes of text the unit scores: for multiple
 * choice the context plus every continuation, twice the continuations with
 * mutual information; for perplexity the document), largest first, ties in run
 * order, and each goes to the shard with the least cost so far (ties: the lowest
 * shard). Fills *s (release with hrn_shard_release). Errors come from the plans. */
int hrn_shard_plan(const struct hrn_run_cfg *cfg, size_t index, size_t count, struct hrn_shard *s,
		   struct mrl_err *err);

/* Whether unit (task_idx, item_idx, lang_idx) belongs to s. (Inline: the unit
 * iterator asks it, and hrn_shard_plan walks the units with that iterator.) */
static inline bool hrn_shard_has(const struct hrn_shard *s, size_t task_idx, size_t item_idx, size_t lang_idx)
{
	return task_idx < s->n_tasks && s->in[task_idx][item_idx * s->n_langs[task_idx] + lang_idx];
}

/* Free what s owns and zero it. */
void hrn_shard_release(struct hrn_shard *s);

/* The "shard" object of settings: {"index": I, "count": N} (new reference, NULL
 * when out of memory). */
json_t *hrn_shard_json(size_t index, size_t count);

/* Read settings.shard back from a settings object: 0 with *index, *count; -1 when
 * absent or malformed. */
int hrn_shard_from_settings(const json_t *settings, size_t *index, size_t *count);

/* `merilo run --mpi`: run one shard per MPI rank through run (hrn_cmd_run, passed
 * in) and merge on rank 0 (run_mpi.c). argv is run's command line (argv[0] "run").
 * Returns the exit code. */
int hrn_run_mpi(int argc, char **argv, int (*run)(int argc, char **argv));

/* Whether argv (run's command line) asks for --mpi. */
bool hrn_run_wants_mpi(int argc, char **argv);

/* Merge the shard runs dirs[0..n) into out_dir as merge does (cmd_merge.c); quiet
 * leaves out the summary; replace lets out_dir hold an earlier merge (run --mpi
 * --resume). suite overrides the suite path the shards recorded (may be NULL).
 * argv (borrowed; NULL: none) is the command line that merges (hrn_invocation_json):
 * the merged run.json's and manifest's "argv" (the shards keep theirs).
 * Returns the exit code; errors are printed. */
int hrn_merge_runs(const char *const *dirs, size_t n, const char *out_dir, const char *suite, bool quiet,
		   bool replace, const json_t *argv);

#endif
