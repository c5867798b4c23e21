/* import_global_mmlu.c — `merilo import global-mmlu`: Global-MMLU (Singh et al. 2024,
 * CohereLabs/Global-MMLU), MMLU's 14,042 test questions in 42 languages, Serbian
 * among them, one JSONL file per language (the dataset's `test` split exported).
 *
 * A row is {"sample_id", "subject", "question", "option_a".."option_d", "answer":
 * "A".."D", ...}. Questions pair by sample_id ("astronomy/test/58"), which is also
 * the item id (so a file may not have one twice); items come in the first file's
 * order.
 * The prompt is lm-eval-harness's global_mmlu one (the question, the options A.-D.,
 * the letter scored after a space), the closing word in each language; the letters
 * stay Latin in every language and script.
 */
#include "tasks/import_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_OPTIONS 4

/* The word that asks for the letter, per language. */
static const struct mmlu_wording {
	const char *lang, *answer;
} mmlu_words[] = {
	{ "en", "Answer" }, /* lm-eval-harness's global_mmlu, to the byte */
	{ "sr-Cyrl", "Одговор" }, { "sr-Latn", "Odgovor" }, { "hr", "Odgovor" }, { "bs", "Odgovor" },
	{ "cnr", "Odgovor" },     { "mk", "Одговор" },      { "sl", "Odgovor" },
};
#define N_WORDINGS (sizeof mmlu_words / sizeof mmlu_words[0])

static const char *answer_word(const char *lang)
{
	const struct mmlu_wording *w = imp_wording(mmlu_words, N_WORDINGS, sizeof mmlu_words[0], lang);
	return w ? w->answer : NULL;
}

static const char *const text_fields[] = { "question", "option_a", "option_b", "option_c", "option_d", NULL };

/* The right option's index 0-3 from "A".."D" (blanks around it allowed), or -1. */
static int answer_index(const json_t *v)
{
	const char *s = json_string_value(v);
	if (!s)
		return -1;
	while (*s == ' ')
		s++;
	if (*s < 'A' || *s >= 'A' + N_OPTIONS)
		return -1;
	for (const char *t = s + 1; *t; t++)
		if (*t != ' ')
			return -1;
	return *s - 'A';
}

/* Check one record; 0 or MRL_EINPUT naming file:line and the field. */
static int mmlu_check(const char *path, const struct imp_row *r, struct mrl_err *err)
{
	json_t *id = json_object_get(r->obj, "sample_id");
	if (!json_is_string(id) || !json_string_length(id))
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"sample_id\" %s; expected the question's id (a string)", path,
				   r->line, id ? "is not a non-empty string" : "is missing");
	for (size_t i = 0; text_fields[i]; i++) {
		json_t *v = json_object_get(r->obj, text_fields[i]);
		if (!json_is_string(v) || (i == 0 && !imp_trimmed_length(v)))
			return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"%s\" %s; expected %s", path, r->line, text_fields[i],
					   !v ? "is missing" : json_is_string(v) ? "is blank" : "is not a string",
					   i ? "a string" : "a non-empty string");
	}
	if (answer_index(json_object_get(r->obj, "answer")) < 0)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"answer\" must be A, B, C or D", path, r->line);
	return 0;
}

static void sample_name(const json_t *row, const char **text, long long *number)
{
	*text = json_string_value(json_object_get(row, "sample_id"));
	*number = 0;
}

static int mmlu_read(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
		     struct imp_jsonl *files, struct mrl_err *err)
{
	struct imp_progress rp;
	int rc;
	imp_progress_init(&rp, opts, in, n_in);
	for (size_t i = 0; i < n_in; i++) {
		if ((rc = imp_need_wording(mmlu_words, N_WORDINGS, sizeof mmlu_words[0], &in[i], "Global-MMLU", err)))
			return rc;
		if ((rc = imp_jsonl_read(in[i].path, &files[i], &rp, err)))
			return rc;
		for (size_t r = 0; r < files[i].n; r++)
			if ((rc = mmlu_check(in[i].path, &files[i].rows[r], err)))
				return rc;
		if ((rc = imp_unique_string(in[i].path, &files[i], "sample_id", err)) ||
		    (rc = imp_check_script(&in[i], &files[i], text_fields, opts, err)))
			return rc;
	}
	if ((rc = imp_number_rows(files, n_in, sample_name, err)))
		return rc;
	for (size_t i = 0; i < n_in; i++)
		if ((rc = imp_sort_rows(&in[i], &files[i], "question", err)))
			return rc;
	return 0;
}

static int mmlu_gold(const json_t *row)
{
	return answer_index(json_object_get(row, "answer"));
}

static const char *const variant_fields[] = { "question", "option_a", "option_b", "option_c", "option_d", "subject",
					      NULL };
static const bool variant_optional[] = { false, false, false, false, false, true };
static const struct imp_labels mmlu_labels = { variant_fields, variant_optional, N_OPTIONS, mmlu_gold, NULL };

/* The suite's one task; the letters verbatim, so that a derived language's
 * transliteration keeps them, as its choices. */
static json_t *mmlu_task(const struct task_import_input *in, size_t n_in)
{
	json_t *task = imp_mc_task_new("global_mmlu", " ");
	for (size_t i = 0; task && i < n_in; i++)
		if (imp_task_language(task, in[i].lang,
				      json_pack("{s:o}", "context",
						json_sprintf("{question}\n{=A}. {option_a}\n{=B}. {option_b}\n{=C}. "
							     "{option_c}\n{=D}. {option_d}\n%s:", answer_word(in[i].lang))))) {
			json_decref(task);
			return NULL;
		}
	return task;
}

/* One set of files (the test questions, or the pool's dev questions, one file per
 * language): read, paired by sample_id and appended to arr as items; the unpaired ones
 * noted (pool: prefixed "Pool: ") and counted. */
static int mmlu_build(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts, bool pool,
		      json_t *arr, struct mrl_buf *note, size_t *n_items, size_t *n_unpaired, size_t *n_trimmed, void *arg,
		      struct mrl_err *err)
{
	(void)arg;
	struct imp_jsonl *files = calloc(n_in, sizeof *files);
	long long *all = NULL;
	const char **names = NULL;
	int rc = 0;
	*n_items = *n_unpaired = 0;
	if (!files)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	if ((rc = mmlu_read(in, n_in, opts, files, err)))
		goto out;
	if (!(all = imp_all_keys(files, n_in, n_items)) || !(names = calloc(*n_items + 1, sizeof *names)))
		goto nomem;
	for (size_t i = 0; i < n_in; i++) /* the unpaired items are named by sample_id */
		for (size_t r = 0; r < files[i].n; r++)
			names[files[i].rows[r].key] = json_string_value(json_object_get(files[i].rows[r].obj, "sample_id"));
	imp_unpaired(in, n_in, files, all, *n_items, "sample_id", names, pool ? "Pool: " : NULL, note, n_unpaired);
	if (note->oom)
		goto nomem;
	for (size_t a = 0; a < *n_items; a++) {
		json_t *item = json_object();
		if (!item || json_array_append_new(arr, item))
			goto nomem;
		const struct imp_row *r = NULL;
		for (size_t i = 0; !r && i < n_in; i++)
			r = imp_find_key(&files[i], all[a]);
		if (json_object_set_new(item, "id", json_copy(json_object_get(r->obj, "sample_id"))))
			goto nomem;
		if ((rc = imp_label_item(item, in, n_in, files, all[a], &mmlu_labels, n_trimmed, err)))
			goto out;
		if (!pool)
			imp_tell_items(opts, a + 1, *n_items);
	}
out:
	imp_files_release(files, n_in);
	free(all);
	free(names);
	return rc;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
	goto out;
}

/* Whether every language variant of every item has field. */
static bool every_variant_has(json_t *items, const char *field)
{
	size_t i;
	json_t *item;
	json_array_foreach(items, i, item) {
		const char *k;
		json_t *v;
		json_object_foreach(item, k, v)
			if (json_is_object(v) && !json_is_string(json_object_get(v, field)))
				return false;
	}
	return true;
}

/* The task, scored by subject too where every question names its subject (an optional field). */
static json_t *mmlu_task_of(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			    json_t *items, void *arg)
{
	(void)opts, (void)arg;
	json_t *task = mmlu_task(in, n_in);
	if (task && every_variant_has(items, "subject") && json_object_set_new(task, "breakdown", json_string("subject"))) {
		json_decref(task);
		return NULL;
	}
	return task;
}

/* MMLU's 5-shot with the dev split as the pool: the first 5 dev questions of the item's subject. */
int task_import_global_mmlu(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			    json_t **out, size_t *n_trimmed, struct mrl_err *err)
{
	static const struct imp_pooled spec = {
		"global-mmlu",
		"Global-MMLU: MMLU's multiple-choice questions on 57 subjects (the letter of the right answer of four)",
		"imported from Global-MMLU JSONL", "subject", mmlu_build, mmlu_task_of,
	};
	return imp_run_pooled(&spec, NULL, in, n_in, opts, out, n_trimmed, err);
}
