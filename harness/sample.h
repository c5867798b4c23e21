/* sample.h — `merilo run --sample N` (or `P%`): a seeded subset of N items (or P% of the
 * items) of each task, stratified by the task's "breakdown" (internal to the harness).
 *
 * A sample is a pure function of the suite's items, N and the seed: it does not
 * depend on --lang, --shard, the thread count or the machine, so two runs with
 * the same N (or P) and seed score the same items and pair item by item. docs/evaluation.md
 * ("Sampling items") states the selection exactly, so that it can be reproduced
 * outside merilo; ci/make-sample-reference.py does that for the test.
 */
#ifndef MRL_HRN_SAMPLE_H
#define MRL_HRN_SAMPLE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/err.h"
#include "tasks/task.h"

/* --sample's argument: N items of each task, or P% of each task's items. */
struct hrn_sample_spec {
	uint64_t n;   /* N >= 1, or 0 with a percentage */
	unsigned pct; /* P, 1 to 99, or 0 with a count */
};

/* Whether sp asks for a sample (zero: every item). */
static inline bool hrn_sample_given(struct hrn_sample_spec sp)
{
	return sp.n || sp.pct;
}

/* Parse --sample's argument: "N" (1 to 2^31 - 1) or "P%" (a whole P, 1 to 99). 0, or -1
 * where arg is neither. */
int hrn_sample_parse(const char *arg, struct hrn_sample_spec *sp);

/* An OPT_CALLBACK for --sample: hrn_sample_parse into the struct hrn_sample_spec at opt->value. */
struct mrl_option;
int hrn_opt_sample(const struct mrl_option *opt, const char *arg, struct mrl_err *err);

/* An OPT_CALLBACK for run's --limit: a count of items, 0 to 2^31 - 1, into the long at
 * opt->value; a share ("0.1", as lm-eval's --limit takes it, or "10%") is refused with
 * the --sample that draws one. */
int hrn_opt_limit(const struct mrl_option *opt, const char *arg, struct mrl_err *err);

/* sp as --sample takes it ("7", "10%"), in buf. */
const char *hrn_sample_str(struct hrn_sample_spec sp, char *buf, size_t size);

/* The items a task of n_items draws: N, or all of them where fewer; P% of them
 * rounded half up (floor((n_items x P + 50) / 100)), at least 1. */
uint64_t hrn_sample_size(struct hrn_sample_spec sp, size_t n_items);

/* Which items of each task a sample holds. */
struct hrn_sample {
	struct hrn_sample_spec spec; /* --sample N or P% */
	uint64_t seed;         /* the run seed */
	size_t n_tasks;
	uint8_t **in;          /* n_tasks arrays of task_n_items(t): 1 = in the sample */
	size_t *n_in;          /* n_tasks: items in the sample */
	size_t *n_values;      /* n_tasks: the breakdown's values (0 without a breakdown) */
	size_t *n_values_in;   /* n_tasks: of those, the values the sample has items of */
};

/* The sample of each of tasks[0..n_tasks) under seed, into *s (release with
 * hrn_sample_release): n = hrn_sample_size(spec, the task's items) items of each. A
 * task of at most n items is taken whole.
 * Otherwise its items are grouped by their breakdown value (an item's value is its
 * first language's; without a breakdown, one group), every group gets one item when
 * n is at least the number of groups, and the rest of n is shared out in proportion
 * to the groups' remaining sizes (largest remainder; ties to the earlier group in
 * byte order of the value). Each group's items are shuffled by a partial
 * Fisher-Yates with common/rng.h's stream g (the group's number) of
 * seed ^ FNV-1a-64(task id), and the first ones taken. 0 or MRL_ENOMEM. */
int hrn_sample_plan(const struct task_task *const *tasks, size_t n_tasks, struct hrn_sample_spec spec, uint64_t seed,
		    struct hrn_sample *s, struct mrl_err *err);

/* Whether item item_idx of task task_idx is in s. */
static inline bool hrn_sample_has(const struct hrn_sample *s, size_t task_idx, size_t item_idx)
{
	return task_idx < s->n_tasks && s->in[task_idx][item_idx];
}

/* A note on out for each task whose sample misses some of its breakdown values
 * (fewer items asked for than the task has values). */
void hrn_sample_note(FILE *out, const struct hrn_sample *s, const struct task_task *const *tasks);

/* settings.extra.sample: {"n": N, "seed": S} or {"percent": P, "seed": S} (a new
 * reference; NULL when out of memory). */
json_t *hrn_sample_json(struct hrn_sample_spec spec, uint64_t seed);

/* Read settings.extra.sample back: 1 with *spec and *seed where extra has one, 0 where it
 * has none (a run of every item, or of its first --limit), -1 where it is malformed. */
int hrn_sample_from_json(const json_t *extra, struct hrn_sample_spec *spec, uint64_t *seed);

/* run.json's options.sample: N as a number, P% as the string "P%" (a new reference). */
json_t *hrn_sample_option_json(struct hrn_sample_spec spec);

/* Read run.json's options.sample back into *spec: 0, or -1 where v is neither a count
 * of items (1 to 2^31 - 1) nor a "P%" string. */
int hrn_sample_from_option(const json_t *v, struct hrn_sample_spec *spec);

/* Free what s owns and zero it. */
void hrn_sample_release(struct hrn_sample *s);

#endif
