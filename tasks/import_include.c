/* import_include.c — `merilo import include`: INCLUDE (Romanou et al. 2024,
 * CohereLabs/include-base-44), multiple-choice questions of each country's own
 * academic and professional exams in 44 languages, about 550 a language, Serbian,
 * Croatian and Macedonian among them; one JSONL file per language (its `test` split
 * exported).
 *
 * A row is {"language", "country", "domain", "subject", "regional_feature", "level",
 * "question", "option_a".."option_d" (or "choices": [4 strings]), "answer": 0..3}. The
 * questions differ by language (each country's exams), so no item is in two languages;
 * an item is one question, its id "<tag>/<line>". A derived script (--derive) gives the
 * same questions in the other Serbian script.
 *
 * The prompt is lm-eval-harness 0.4.13's include_base_44_<lang>_few_shot_og (the
 * language's own description of the domain), cleaned of three things a merilo suite
 * does not write: its description runs into the question without a break ("о STEM.Колико"),
 * its fourth option is " D." (a YAML fold), and its "Answer:" is English; merilo writes a
 * line break, "D." and the language's own word.
 */
#include "tasks/import_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_OPTIONS 4

/* A language's words: lm-eval's few_shot_og description, the word that asks for the letter. */
static const struct include_wording {
	const char *lang, *description, *answer;
} include_words[] = {
	{ "sr-Cyrl", "Следе питања са вишеструким избором (са одговорима) о {domain}.\n", "Одговор" },
	{ "sr-Latn", "Slede pitanja sa višestrukim izborom (sa odgovorima) o {domain}.\n", "Odgovor" },
	{ "hr", "Slijede pitanja s višestrukim izborom (s odgovorima) o {domain}.\n", "Odgovor" },
	{ "mk", "Следниве се прашања со повеќекратен избор (со одговори) за {domain}.\n", "Одговор" },
};
#define N_WORDINGS (sizeof include_words / sizeof include_words[0])

static const struct include_wording *wording_of(const char *lang)
{
	return imp_wording(include_words, N_WORDINGS, sizeof include_words[0], lang);
}

static const char *const option_fields[N_OPTIONS] = { "option_a", "option_b", "option_c", "option_d" };
static const char *const script_fields[] = { "question", "option_a", "option_b", "option_c", "option_d", NULL };

/* Option k of row: option_a.. or choices[k] (NULL where neither is a string). */
static const json_t *option_of(const json_t *row, size_t k)
{
	const json_t *o = json_object_get(row, option_fields[k]);
	return json_is_string(o) ? o : json_is_string(json_array_get(json_object_get(row, "choices"), k))
						 ? json_array_get(json_object_get(row, "choices"), k)
						 : NULL;
}

/* The right option 0-3 from "answer" (its index; a letter A-D is taken too), or -1. */
static int include_gold(const json_t *row)
{
	const json_t *a = json_object_get(row, "answer");
	const char *s = json_string_value(a);
	if (json_is_integer(a))
		return json_integer_value(a) >= 0 && json_integer_value(a) < N_OPTIONS ? (int)json_integer_value(a) : -1;
	return s && s[0] >= 'A' && s[0] < 'A' + N_OPTIONS && !s[1] ? s[0] - 'A' : -1;
}

static int include_check(const char *path, const struct imp_row *r, struct mrl_err *err)
{
	int rc;
	if ((rc = imp_need_text(path, r, "question", NULL, err)) ||
	    (rc = imp_need_text(path, r, "domain", "the exam's domain (\"STEM\", \"Social Science\", ...)", err)))
		return rc;
	for (size_t k = 0; k < N_OPTIONS; k++)
		if (!option_of(r->obj, k))
			return mrl_err_set(err, MRL_EINPUT, "%s:%zu: option %c is missing: expected \"%s\" (or \"choices\", 4 "
					   "strings)", path, r->line, (char)('A' + k), option_fields[k]);
	if (include_gold(r->obj) < 0)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"answer\" must be the right option's index, 0-3", path,
				   r->line);
	return 0;
}

/* The variant of a row: the question, its four options and its domain, trimmed. */
static json_t *include_variant(const json_t *row, size_t *n_trimmed)
{
	json_t *v = json_object();
	if (!v)
		return NULL;
	IMP_SET(v, "question", imp_trimmed_string(json_object_get(row, "question"), n_trimmed));
	for (size_t k = 0; k < N_OPTIONS; k++)
		IMP_SET(v, option_fields[k], imp_trimmed_string(option_of(row, k), n_trimmed));
	IMP_SET(v, "domain", imp_trimmed_string(json_object_get(row, "domain"), n_trimmed));
	json_t *subject = json_object_get(row, "subject");
	if (json_is_string(subject))
		IMP_SET(v, "subject", imp_trimmed_string(subject, n_trimmed));
	return v;
nomem:
	json_decref(v);
	return NULL;
}

/* Read and check every file; a row's key is its file's number and its line, so that
 * no two languages share an item. */
static int include_read(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			struct imp_jsonl *files, struct mrl_err *err)
{
	struct imp_progress rp;
	int rc;
	imp_progress_init(&rp, opts, in, n_in);
	for (size_t i = 0; i < n_in; i++) {
		if ((rc = imp_need_wording(include_words, N_WORDINGS, sizeof include_words[0], &in[i], "INCLUDE", err)))
			return rc;
		if ((rc = imp_jsonl_read(in[i].path, &files[i], &rp, err)))
			return rc;
		for (size_t r = 0; r < files[i].n; r++) {
			if ((rc = include_check(in[i].path, &files[i].rows[r], err)))
				return rc;
			files[i].rows[r].key = (long long)(i + 1) << 32 | (long long)files[i].rows[r].line;
		}
		if ((rc = imp_check_script(&in[i], &files[i], script_fields, opts, err)))
			return rc;
	}
	return 0;
}

/* The one task: the language's description of the item's domain, then the question,
 * the options with their letters verbatim and the word asking for the letter. */
static json_t *include_task(const struct task_import_input *in, size_t n_in)
{
	json_t *task = imp_mc_task_new("include", " ");
	if (task && json_object_set_new(task, "breakdown", json_string("domain"))) {
		json_decref(task);
		return NULL;
	}
	for (size_t i = 0; task && i < n_in; i++) {
		const struct include_wording *w = wording_of(in[i].lang);
		if (imp_task_language(task, in[i].lang,
				      json_pack("{s:s, s:o}", "description", w->description, "context",
						json_sprintf("{question}\n{=A}. {option_a}\n{=B}. {option_b}\n{=C}. "
							     "{option_c}\n{=D}. {option_d}\n%s:", w->answer)))) {
			json_decref(task);
			return NULL;
		}
	}
	return task;
}

int task_import_include(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			json_t **out, size_t *n_trimmed, struct mrl_err *err)
{
	static const struct imp_labels labels = { NULL, NULL, N_OPTIONS, include_gold, include_variant };
	struct imp_jsonl *files = calloc(n_in, sizeof *files);
	json_t *root = NULL, *task = NULL, *items = NULL;
	struct mrl_buf note;
	int rc = 0;
	mrl_buf_init(&note);
	*out = NULL;
	if (!files)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	if ((rc = include_read(in, n_in, opts, files, err)))
		goto out;
	const char *desc = "INCLUDE: questions of each country's own academic and professional exams (regional "
			   "knowledge), four options; the questions differ by language";
	if (!(root = imp_suite_new(opts, "include", desc, "imported from INCLUDE JSONL", in, n_in, &note, err))) {
		rc = err->code;
		goto out;
	}
	if (!(task = include_task(in, n_in)) || json_array_append_new(json_object_get(root, "tasks"), task))
		goto nomem;
	items = json_object_get(task, "items");
	size_t n_items = 0, done = 0;
	for (size_t i = 0; i < n_in; i++)
		n_items += files[i].n;
	for (size_t i = 0; i < n_in; i++)
		for (size_t r = 0; r < files[i].n; r++) {
			char id[64];
			snprintf(id, sizeof id, "%s/%zu", in[i].lang, files[i].rows[r].line);
			json_t *item = json_pack("{s:s}", "id", id);
			if (!item || json_array_append_new(items, item))
				goto nomem;
			if ((rc = imp_label_item(item, in, n_in, files, files[i].rows[r].key, &labels, n_trimmed, err)))
				goto out;
			imp_tell_items(opts, ++done, n_items);
		}
	*out = root;
	root = NULL;
out:
	imp_files_release(files, n_in);
	json_decref(root);
	mrl_buf_release(&note);
	return rc;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
	goto out;
}
