/* import_belebele.c — `merilo import belebele`: Belebele (Bandarkar et al. 2023,
 * facebook/belebele), multiple-choice reading comprehension on FLORES-200
 * passages, one JSONL file per language (srp_Cyrl.jsonl, hrv_Latn.jsonl,
 * bos_Latn.jsonl, eng_Latn.jsonl, ...).
 *
 * A row is {"link", "question_number", "flores_passage", "question",
 * "mc_answer1".."mc_answer4", "correct_answer_num": "1".."4", "dialect", ...}.
 * A question is the pair (link, question_number) — the same in every language's
 * file — and, where a file has that pair more than once (the same passage in
 * FLORES's dev and devtest), its n-th occurrence pairs with the n-th of the other
 * files. Items are numbered 1, 2, ... in the order of the first file that has
 * them: with the published files, every language lists the 900 questions in the
 * same order, so the ids are the row numbers whichever languages are imported.
 *
 * The prompt is lm-eval-harness's belebele one (passage, question, the four
 * answers labelled A-D, the answer's letter scored after a space), worded in each
 * language; the letters stay Latin A-D in every language and script, so the
 * gap between two languages or scripts measures the text, not the labels.
 */
#include "tasks/import_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_ANSWERS 4

/* The context template of each language; the choices are the letters A-D. */
struct belebele_wording {
	const char *lang, *passage, *question, *answer;
};
static const struct belebele_wording belebele_words[] = {
	{ "en", "P", "Q", "Answer" }, /* lm-eval-harness's belebele_eng_Latn, to the byte */
	{ "sr-Cyrl", "Текст", "Питање", "Одговор" },
	{ "sr-Latn", "Tekst", "Pitanje", "Odgovor" },
	{ "hr", "Tekst", "Pitanje", "Odgovor" },
	{ "bs", "Tekst", "Pitanje", "Odgovor" },
	{ "cnr", "Tekst", "Pitanje", "Odgovor" },
	{ "mk", "Текст", "Прашање", "Одговор" },
	{ "sl", "Besedilo", "Vprašanje", "Odgovor" },
};
#define N_WORDINGS (sizeof belebele_words / sizeof belebele_words[0])

static const struct belebele_wording *wording_for(const char *lang)
{
	return imp_wording(belebele_words, N_WORDINGS, sizeof belebele_words[0], lang);
}

static const char *const text_fields[] = { "flores_passage", "question", "mc_answer1", "mc_answer2",
					   "mc_answer3", "mc_answer4", NULL };

/* An integer field written as a number or as a string of digits ("2"); -1 if neither. */
static long long small_int(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v);
	const char *s = json_string_value(v);
	if (!s || !*s || strlen(s) > 9 || strspn(s, "0123456789") != strlen(s))
		return -1;
	return atoll(s);
}

/* Check one record; 0 or MRL_EINPUT naming file:line and the field. */
static int belebele_check(const char *path, const struct imp_row *r, struct mrl_err *err)
{
	json_t *link = json_object_get(r->obj, "link");
	if (!json_is_string(link) || !json_string_length(link))
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"link\" %s; expected the passage's address (a string)", path,
				   r->line, link ? "is not a non-empty string" : "is missing");
	if (small_int(json_object_get(r->obj, "question_number")) < 0)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"question_number\" must be a non-negative integer", path,
				   r->line);
	for (size_t i = 0; text_fields[i]; i++) {
		int rc = imp_need_text(path, r, text_fields[i], NULL, err);
		if (rc)
			return rc;
	}
	long long c = small_int(json_object_get(r->obj, "correct_answer_num"));
	if (c < 1 || c > N_ANSWERS)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"correct_answer_num\" must be 1, 2, 3 or 4", path, r->line);
	return 0;
}

/* What a question is, the same in every language: its passage's address and number. */
static void question_name(const json_t *row, const char **text, long long *number)
{
	*text = json_string_value(json_object_get(row, "link"));
	*number = small_int(json_object_get(row, "question_number"));
}

/* Read and check each language's file, key its rows and sort them by key. */
static int belebele_read(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			 struct imp_jsonl *files, struct mrl_err *err)
{
	struct imp_progress rp;
	int rc;
	imp_progress_init(&rp, opts, in, n_in);
	for (size_t i = 0; i < n_in; i++) {
		if ((rc = imp_need_wording(belebele_words, N_WORDINGS, sizeof belebele_words[0], &in[i], "Belebele", err)))
			return rc;
		if ((rc = imp_jsonl_read(in[i].path, &files[i], &rp, err)))
			return rc;
		for (size_t r = 0; r < files[i].n; r++)
			if ((rc = belebele_check(in[i].path, &files[i].rows[r], err)))
				return rc;
		if ((rc = imp_check_script(&in[i], &files[i], text_fields, opts, err)))
			return rc;
	}
	if ((rc = imp_number_rows(files, n_in, question_name, err)))
		return rc;
	for (size_t i = 0; i < n_in; i++)
		if ((rc = imp_sort_rows(&in[i], &files[i], "question", err))) /* cannot fail: occurrences differ */
			return rc;
	return 0;
}

static int belebele_gold(const json_t *row)
{
	return (int)small_int(json_object_get(row, "correct_answer_num")) - 1;
}

static const struct imp_labels belebele_labels = { text_fields, NULL, N_ANSWERS, belebele_gold, NULL };

/* The suite's one task: the letter of the right answer, each language's wording; the
 * letters verbatim, so that a derived language's transliteration keeps them, as its
 * choices. */
static json_t *belebele_task(const struct task_import_input *in, size_t n_in)
{
	json_t *task = imp_mc_task_new("belebele", " ");
	for (size_t i = 0; task && i < n_in; i++) {
		const struct belebele_wording *w = wording_for(in[i].lang);
		if (imp_task_language(task, in[i].lang,
				      json_pack("{s:o}", "context",
						json_sprintf("%s: {flores_passage}\n%s: {question}\n{=A}: {mc_answer1}\n{=B}: "
							     "{mc_answer2}\n{=C}: {mc_answer3}\n{=D}: {mc_answer4}\n%s:",
							     w->passage, w->question, w->answer)))) {
			json_decref(task);
			return NULL;
		}
	}
	return task;
}

static int belebele_item(json_t *item, const struct task_import_input *in, size_t n_in, const struct imp_jsonl *files,
			 long long key, size_t *n_trimmed, struct mrl_err *err)
{
	return imp_label_item(item, in, n_in, files, key, &belebele_labels, n_trimmed, err);
}

int task_import_belebele(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			 json_t **out, size_t *n_trimmed, struct mrl_err *err)
{
	static const struct imp_spec spec = {
		"belebele",
		"Belebele: multiple-choice reading comprehension on FLORES-200 passages (the letter of the right answer of "
		"four)",
		"imported from Belebele JSONL", "question", belebele_read, belebele_task, belebele_item,
	};
	return imp_run(&spec, in, n_in, opts, out, n_trimmed, err);
}
