/* score.h — `merilo score` (internal to the harness): predictions made
 * elsewhere (an API model's choice per item x language) laid onto the units of
 * a suite, which cmd_score.c then writes as an ordinary run folder.
 *
 * The plan is every multiple-choice task x item x selected language of the
 * suite, in run order; each unit starts SCORE_MISSING and a reader
 * (score_read.c: merilo's JSONL, or BENCHić's published predictions file) sets
 * its choice. Readers check everything against the suite and stop at the first
 * problem with a one-line message naming the file and the line (JSONL) or the
 * JSON pointer of the value (BENCHić). Formats: docs/score.md.
 */
#ifndef MRL_HRN_SCORE_H
#define MRL_HRN_SCORE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "tasks/task.h"

#define SCORE_NO_ANSWER (-1) /* the system gave no answer (null): counted as wrong */
#define SCORE_MISSING (-2)   /* no prediction for the unit in the file */

/* One task x item x language of the plan. Pointers belong to the suite. */
struct score_unit {
	const struct task_task *task;
	const struct task_item *item;
	size_t item_idx;    /* item's index in the task */
	const char *lang;
	int64_t choice;     /* SCORE_MISSING, SCORE_NO_ANSWER or a choice index < n_choices (generate: 0 = answered) */
	char *text;         /* generate tasks: the answer text (owned by the plan); NULL when none */
	size_t n_choices;
	size_t line;        /* JSONL line of the prediction; 0 where none or not from JSONL */
};

/* The units of a run scored from predictions. */
struct score_plan {
	struct score_unit *units;      /* n, in run order: task, item, language */
	size_t n;
	struct score_unit **by_key;    /* n, sorted by (task id, language, item id) */
	const struct task_task **tasks;/* n_tasks selected (multiple choice), suite order */
	size_t n_tasks;
	const char *const *langs;      /* n_langs selected tags (borrowed); NULL = all */
	size_t n_langs;
	size_t n_ignored;              /* predictions outside --tasks / --lang */
};

/* Build the plan over tasks[0..n_tasks) and the languages selected (NULL = all).
 * Release with score_plan_release. 0 or MRL_ENOMEM. */
int score_plan_build(struct score_plan *p, const struct task_task **tasks, size_t n_tasks, const char *const *langs,
		     size_t n_langs, struct mrl_err *err);
void score_plan_release(struct score_plan *p);
/* The unit of (task, item id, language), or NULL. */
struct score_unit *score_plan_find(const struct score_plan *p, const char *task, const char *item, const char *lang);
/* Whether language lang is selected. */
bool score_plan_lang_selected(const struct score_plan *p, const char *lang);

/* merilo's JSONL: one {"task", "item", "language", "choice"} per line (generate tasks:
 * "text" instead of "choice", a string or null) (text[0..len)
 * of the file path). Sets the units' choices. MRL_EINPUT names "path:LINE". */
int score_read_jsonl(const char *path, const char *text, size_t len, const struct task_suite *suite,
		     struct score_plan *p, struct mrl_err *err);

/* One "--map LANG=TEST" of a BENCHić file: the list whose "test" is TEST (the
 * name as written, or without its ".jsonl") holds the predictions for LANG. */
struct score_map {
	const char *lang, *test;
};

/* The map a suite made by `merilo import copa` implies: its "source" names
 * LANG=FILE (sha256 ...) per language (older suites: LANG=PATH); each becomes
 * LANG=basename(FILE). *out (malloc'd,
 * strings too: free with score_map_free) gets *n entries; 0 entries when the
 * source does not say. 0 or MRL_ENOMEM. */
int score_map_from_source(const char *source, struct score_map **out, size_t *n);
void score_map_free(struct score_map *m, size_t n);

/* BENCHić's published predictions (doc, parsed from path): {"system",
 * "predictions": [{"test": NAME, "predictions": [choice|null, ...]}, ...]}, one
 * list per test file in item order: entry j is the j-th item of the (only)
 * selected task that has a variant in the mapped language. Lists that no map
 * names are skipped; their names go to *unused (a comma-separated malloc'd
 * string, NULL when none). */
int score_read_benchich(const char *path, const json_t *doc, const struct score_map *map, size_t n_map,
			struct score_plan *p, char **unused, struct mrl_err *err);

#endif
