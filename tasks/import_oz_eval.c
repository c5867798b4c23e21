/* import_oz_eval.c — `merilo import oz-eval`: OZ Eval (DjMel/oz-eval; "Opšte znanje
 * evaluacija"), 1,003 general-knowledge questions from the University of Belgrade's
 * entrance exams (2003-2024), five options each, written in Serbian (Latin script).
 *
 * A row is {"index", "questions", "options": [5 strings], "answer": "A".."E",
 * "answer_index": 0..4}. Questions are keyed by "index", which is the item id. There
 * is no other language: the point of importing it here is the Serbian script gap on
 * native questions, with `--derive sr-Cyrl`.
 *
 * The prompt is the one of lighteval's community task serbian_evals:oz_task (the
 * dataset's own evaluation), byte for byte: its query, including the four spaces its
 * Python source indents each line after the first with, then the letter scored after
 * a space.
 */
#include "tasks/import_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_OPTIONS 5

/* lighteval's query: "Pitanje: {question}\n" then its indented lines, as it sends them;
 * the letters verbatim ({=A}), so that a derived sr-Cyrl keeps them, as its choices. */
static const char oz_context[] = "Pitanje: {questions}\n\n    Ponuđeni odgovori:\n    {=A}. {option_a}\n    {=B}. "
				 "{option_b}\n    {=C}. {option_c}\n    {=D}. {option_d}\n    {=E}. {option_e}\n\n"
				 "    Krajnji odgovor:";
static const char *const option_fields[N_OPTIONS] = { "option_a", "option_b", "option_c", "option_d", "option_e" };

/* The right option from "answer" ("A".."E"); answer_index, where given, must agree. -1 if neither fits. */
static int oz_gold(const json_t *row)
{
	const char *a = json_string_value(json_object_get(row, "answer"));
	json_t *ai = json_object_get(row, "answer_index");
	if (!a || strlen(a) != 1 || a[0] < 'A' || a[0] >= 'A' + N_OPTIONS)
		return -1;
	if (ai && (!json_is_integer(ai) || json_integer_value(ai) != a[0] - 'A'))
		return -1;
	return a[0] - 'A';
}

static int oz_check(const char *path, struct imp_row *r, struct mrl_err *err)
{
	json_t *idx = json_object_get(r->obj, "index"), *opts = json_object_get(r->obj, "options");
	int rc;
	if (!json_is_integer(idx) || json_integer_value(idx) < 0)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"index\" must be a non-negative integer", path, r->line);
	if ((rc = imp_need_text(path, r, "questions", "the question", err)))
		return rc;
	if (json_array_size(opts) != N_OPTIONS)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"options\" must be an array of 5 strings", path, r->line);
	for (size_t k = 0; k < N_OPTIONS; k++)
		if (!json_is_string(json_array_get(opts, k)))
			return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"options\"[%zu] is not a string", path, r->line, k);
	if (oz_gold(r->obj) < 0)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"answer\" must be one of A-E (and \"answer_index\", where "
				   "given, its position 0-4)", path, r->line);
	r->key = json_integer_value(idx);
	return 0;
}

/* The fields of one row's variant: the question and its five options (the letters are
 * added as its choices by imp_label_item). */
static json_t *oz_variant(const json_t *row, size_t *n_trimmed)
{
	json_t *v = json_object(), *opts = json_object_get(row, "options");
	if (!v)
		return NULL;
	IMP_SET(v, "questions", imp_trimmed_string(json_object_get(row, "questions"), n_trimmed));
	for (size_t k = 0; k < N_OPTIONS; k++)
		IMP_SET(v, option_fields[k], imp_trimmed_string(json_array_get(opts, k), n_trimmed));
	return v;
nomem:
	json_decref(v);
	return NULL;
}

static int oz_read(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
		   struct imp_jsonl *files, struct mrl_err *err)
{
	static const char *const text_fields[] = { "questions", NULL };
	struct imp_progress rp;
	int rc;
	imp_progress_init(&rp, opts, in, n_in);
	for (size_t i = 0; i < n_in; i++) {
		if (strcmp(in[i].lang, "sr-Latn") && strcmp(in[i].lang, "sr-Cyrl"))
			return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: OZ Eval is Serbian: give it as sr-Latn (or a Cyrillic "
					   "version as sr-Cyrl), not '%s'", in[i].path, in[i].lang);
		if ((rc = imp_jsonl_read(in[i].path, &files[i], &rp, err)))
			return rc;
		for (size_t r = 0; r < files[i].n; r++)
			if ((rc = oz_check(in[i].path, &files[i].rows[r], err)))
				return rc;
		if ((rc = imp_check_script(&in[i], &files[i], text_fields, opts, err)) ||
		    (rc = imp_sort_rows(&in[i], &files[i], "index", err)))
			return rc;
	}
	return 0;
}

/* The one task; the letter right after the colon (no delimiter), as lighteval scores it. */
static json_t *oz_task(const struct task_import_input *in, size_t n_in)
{
	json_t *task = imp_mc_task_new("oz_eval", "");
	for (size_t i = 0; task && i < n_in; i++)
		if (imp_task_language(task, in[i].lang, json_pack("{s:s}", "context", oz_context))) {
			json_decref(task);
			return NULL;
		}
	return task;
}

static int oz_item(json_t *item, const struct task_import_input *in, size_t n_in, const struct imp_jsonl *files,
		   long long key, size_t *n_trimmed, struct mrl_err *err)
{
	static const struct imp_labels labels = { NULL, NULL, N_OPTIONS, oz_gold, oz_variant };
	return imp_label_item(item, in, n_in, files, key, &labels, n_trimmed, err);
}

int task_import_oz_eval(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			json_t **out, size_t *n_trimmed, struct mrl_err *err)
{
	static const struct imp_spec spec = {
		"oz-eval",
		"OZ Eval (Opšte znanje evaluacija): general-knowledge questions of the University of Belgrade's entrance "
		"exams, five options each",
		"imported from OZ Eval JSONL", "index", oz_read, oz_task, oz_item,
	};
	return imp_run(&spec, in, n_in, opts, out, n_trimmed, err);
}
