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
	json_t *idx = json_object_get(r->obj, "index"), *q = json_object_get(r->obj, "questions"),
	       *opts = json_object_get(r->obj, "options");
	if (!json_is_integer(idx) || json_integer_value(idx) < 0)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"index\" must be a non-negative integer", path, r->line);
	if (!json_is_string(q) || !imp_trimmed_length(q))
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"questions\" %s; expected the question (a non-empty string)",
				   path, r->line, q ? "is not a non-empty string" : "is missing");
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

/* The variant of one row: the question, its five options as fields, the letters as choices. */
static json_t *oz_variant(const json_t *row, size_t *n_trimmed)
{
	static const char *const letters[N_OPTIONS] = { "A", "B", "C", "D", "E" };
	json_t *v = json_object(), *choices = json_array(), *opts = json_object_get(row, "options");
	if (!v || !choices)
		goto nomem;
	IMP_SET(v, "questions", imp_trimmed_string(json_object_get(row, "questions"), n_trimmed));
	for (size_t k = 0; k < N_OPTIONS; k++)
		IMP_SET(v, option_fields[k], imp_trimmed_string(json_array_get(opts, k), n_trimmed));
	IMP_SET(v, "choices", choices);
	choices = NULL; /* v owns it now */
	for (size_t k = 0; k < N_OPTIONS; k++)
		if (json_array_append_new(json_object_get(v, "choices"), json_string(letters[k])))
			goto nomem;
	return v;
nomem:
	json_decref(choices);
	json_decref(v);
	return NULL;
}

int task_import_oz_eval(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			json_t **out, size_t *n_trimmed, struct mrl_err *err)
{
	static const char *const text_fields[] = { "questions", NULL };
	struct imp_jsonl *files = calloc(n_in, sizeof *files);
	long long *all = NULL;
	size_t n_items = 0, n_unpaired = 0;
	json_t *root = NULL;
	int rc = 0;
	struct imp_progress rp;
	struct mrl_buf note;
	mrl_buf_init(&note);
	*out = NULL;
	if (!files)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	imp_progress_init(&rp, opts, in, n_in);
	for (size_t i = 0; i < n_in; i++) {
		if (strcmp(in[i].lang, "sr-Latn") && strcmp(in[i].lang, "sr-Cyrl")) {
			rc = mrl_err_set(err, MRL_EUNSUPPORTED, "%s: OZ Eval is Serbian: give it as sr-Latn (or a Cyrillic "
					 "version as sr-Cyrl), not '%s'", in[i].path, in[i].lang);
			goto out;
		}
		if ((rc = imp_jsonl_read(in[i].path, &files[i], &rp, err)))
			goto out;
		for (size_t r = 0; r < files[i].n; r++)
			if ((rc = oz_check(in[i].path, &files[i].rows[r], err)))
				goto out;
		if ((rc = imp_check_script(&in[i], &files[i], text_fields, opts, err)) ||
		    (rc = imp_sort_rows(&in[i], &files[i], "index", err)))
			goto out;
	}
	if (!(all = imp_all_keys(files, n_in, &n_items)))
		goto nomem;
	imp_unpaired(in, n_in, files, all, n_items, "index", NULL, &note, &n_unpaired);
	imp_report_pairing(opts, n_items, n_unpaired, &note);
	const char *desc = "OZ Eval (Opšte znanje evaluacija): general-knowledge questions of the University of Belgrade's "
			   "entrance exams, five options each";
	if (note.oom || !(root = imp_suite_new(opts, "oz-eval", desc, "imported from OZ Eval JSONL", in, n_in, &note, err))) {
		rc = note.oom ? mrl_err_set(err, MRL_ENOMEM, "out of memory") : err->code;
		goto out;
	}
	json_t *task = json_pack("{s:s, s:s, s:[s, s], s:[], s:{}, s:s, s:[]}", "id", "oz_eval", "type", "multiple_choice",
				 "metrics", "acc", "acc_norm", "languages", "templates", "target_delimiter", "", "items");
	if (!task || json_array_append_new(json_object_get(root, "tasks"), task))
		goto nomem;
	for (size_t i = 0; i < n_in; i++)
		if (json_array_append_new(json_object_get(task, "languages"), json_string(in[i].lang)) ||
		    json_object_set_new(json_object_get(task, "templates"), in[i].lang,
					json_pack("{s:s}", "context", oz_context)))
			goto nomem;
	for (size_t a = 0; a < n_items; a++) {
		json_t *item = json_object();
		if (!item || json_array_append_new(json_object_get(task, "items"), item))
			goto nomem;
		IMP_SET(item, "id", json_sprintf("%lld", all[a]));
		for (size_t i = 0; i < n_in; i++) {
			const struct imp_row *r = imp_find_key(&files[i], all[a]);
			if (!r)
				continue;
			if (!json_object_get(item, "gold"))
				IMP_SET(item, "gold", json_integer(oz_gold(r->obj)));
			else if (json_integer_value(json_object_get(item, "gold")) != oz_gold(r->obj)) {
				rc = mrl_err_set(err, MRL_EINPUT, "%s:%zu: index %lld has answer %c, but another language has %c "
						 "(answers must agree)", in[i].path, r->line, all[a], 'A' + oz_gold(r->obj),
						 (int)('A' + json_integer_value(json_object_get(item, "gold"))));
				goto out;
			}
			IMP_SET(item, in[i].lang, oz_variant(r->obj, n_trimmed));
		}
		imp_tell_items(opts, a + 1, n_items);
	}
	*out = root;
	root = NULL;
out:
	json_decref(root);
	for (size_t i = 0; i < n_in; i++)
		imp_jsonl_release(&files[i]);
	free(files);
	free(all);
	mrl_buf_release(&note);
	return rc;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
	goto out;
}
