/* import_mmlu_prox.c — `merilo import mmlu-prox`: MMLU-ProX (Xuan et al. 2025,
 * li-lab/MMLU-ProX), MMLU-Pro's ten-option questions on 14 categories translated into
 * 29 languages, Serbian among them; one JSONL file per language (a split exported),
 * English and Serbian (Latin) here, the languages lm-eval-harness words its prompt in.
 *
 * A row is {"question_id", "question", "option_0".."option_9" (null where a question
 * has fewer), "answer": "A".."J", "answer_index", "cot_content", "category", "src",
 * ...}. Questions pair by question_id (the same in every language); items come in its
 * order, their ids "test/ID" ("validation/ID" in the pool).
 * The task is lm-eval-harness 0.4.13's mmlu_prox_LANG: a generate task, the category's
 * description before everything, "Pitanje:\n{question}\nOpcije:\nA. ...\nOdgovor:
 * Razmislimo korak po korak." (the options present, their letters verbatim), greedy
 * up to 2048 tokens, the letter pulled out of "Odgovor je (X)" scored. The pool (the
 * validation split) gives the 5-shot chain-of-thought examples of the item's category,
 * first in order; an example's worked answer (cot_content) follows its prompt.
 */
#include "tasks/import_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define N_OPTIONS 10
#define N_CATEGORIES 14
#define PROX_MAX_NEW_TOKENS 2048

/* MMLU-Pro's categories, as rows name them. */
static const char *const categories[N_CATEGORIES] = {
	"biology", "business", "chemistry", "computer science", "economics", "engineering", "health",
	"history", "law",     "math",     "other",     "philosophy",       "physics",   "psychology",
};

/* A language's words, lm-eval-harness's mmlu_prox/lang_libs.py to the byte. */
static const struct prox_words {
	const char *lang, *question, *options, *lead, *cot_lead, *description, *regex, *stop;
	const char *subjects[N_CATEGORIES]; /* what the description calls each category */
} prox_words[] = {
	{ "en", "Question:", "Options:", "Answer: Let's think step by step.", "A: Let's think step by step.",
	  "The following are multiple choice questions (with answers) about {subject}. Think step by step and then "
	  "finish your answer with \"the answer is (X)\" where X is the correct letter choice.\n",
	  "answer is \\(?([ABCDEFGHIJ])\\)?", "Question:",
	  /* lm-eval's English description names the category by its task key */
	  { "biology", "business", "chemistry", "computer_science", "economics", "engineering", "health", "history",
	    "law", "math", "other", "philosophy", "physics", "psychology" } },
	{ "sr-Latn", "Pitanje:", "Opcije:", "Odgovor: Razmislimo korak po korak.", "A: Razmislimo korak po korak.",
	  "Evo pitanja sa višestrukim izborom o {subject} (sa odgovorom). Molimo vas da razmislite korak po korak i "
	  "završite svoj odgovor sa \"Odgovor je (X)\", gde je X slovo tačne opcije.\n",
	  "Odgovor je \\(?([ABCDEFGHIJ])\\)?", "Pitanje:",
	  { "biologija", "poslovanje", "hemija", "računarstvo", "ekonomija", "inženjerstvo", "zdravlje", "istorija",
	    "pravo", "matematika", "ostalo", "filozofija", "fizika", "psihologija" } },
	/* lm-eval's Serbian words in Cyrillic (not lm-eval's: its prompt is Latin), for a Cyrillic file or a
	 * derived sr-Cyrl; the letters stay Latin. A worked answer may open with a Cyrillic or a Latin "A:". */
	{ "sr-Cyrl", "Питање:", "Опције:", "Одговор: Размислимо корак по корак.", "А: Размислимо корак по корак.",
	  "Ево питања са вишеструким избором о {subject} (са одговором). Молимо вас да размислите корак по корак и "
	  "завршите свој одговор са \"Одговор је (X)\", где је X слово тачне опције.\n",
	  "Одговор је \\(?([ABCDEFGHIJ])\\)?", "Питање:",
	  { "биологија", "пословање", "хемија", "рачунарство", "економија", "инжењерство", "здравље", "историја",
	    "право", "математика", "остало", "филозофија", "физика", "психологија" } },
};
#define N_WORDINGS (sizeof prox_words / sizeof prox_words[0])

static const struct prox_words *words_of(const char *lang)
{
	return imp_wording(prox_words, N_WORDINGS, sizeof prox_words[0], lang);
}

static const char *const option_names[N_OPTIONS] = { "option_0", "option_1", "option_2", "option_3", "option_4",
						     "option_5", "option_6", "option_7", "option_8", "option_9" };
static const char *const script_fields[] = { "question", "option_0", "option_1", "option_2", "option_3", "option_4",
					     "option_5", "option_6", "option_7", "option_8", "option_9", NULL };

static int category_index(const char *c)
{
	for (int i = 0; c && i < N_CATEGORIES; i++)
		if (!strcmp(categories[i], c))
			return i;
	return -1;
}

/* The right option's index 0-9 from "A".."J", or -1. */
static int answer_of(const json_t *row)
{
	const char *s = json_string_value(json_object_get(row, "answer"));
	return s && s[0] >= 'A' && s[0] < 'A' + N_OPTIONS && !s[1] ? s[0] - 'A' : -1;
}

/* The options a row has, as their letters ("ABCD"): the switch of its prompt. */
static void letters_of(const json_t *row, char out[N_OPTIONS + 1])
{
	size_t n = 0;
	for (int i = 0; i < N_OPTIONS; i++)
		if (json_is_string(json_object_get(row, option_names[i])))
			out[n++] = (char)('A' + i);
	out[n] = 0;
}

/* A worked answer's rest after its opening words (w->cot_lead and a space; in Cyrillic its
 * "А:" may be a Latin "A:"), or NULL where it does not open with them or has no rest. */
static const char *answer_after_lead(const char *cot, const struct prox_words *w)
{
	if (!cot)
		return NULL;
	const char *lead = w->cot_lead;
	if (!strncmp(lead, "А:", strlen("А:")) && cot[0] == 'A') /* the Latin letter for the Cyrillic one */
		cot += 1, lead += strlen("А");
	const size_t ll = strlen(lead);
	return !strncmp(cot, lead, ll) && cot[ll] == ' ' && cot[ll + 1] ? cot + ll + 1 : NULL;
}

/* Check one record; 0 or MRL_EINPUT naming file:line and the field. pool: its worked
 * answer must open with the words lm-eval's prompt replaces. */
static int prox_check(const char *path, const struct imp_row *r, const struct prox_words *w, bool pool,
		      struct mrl_err *err)
{
	json_t *id = json_object_get(r->obj, "question_id"), *idx = json_object_get(r->obj, "answer_index");
	int rc;
	if (!json_is_integer(id) || json_integer_value(id) < 0)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"question_id\" %s; expected the question's number", path,
				   r->line, id ? "is not a whole number >= 0" : "is missing");
	if ((rc = imp_need_text(path, r, "question", NULL, err)))
		return rc;
	size_t n = 0;
	for (int i = 0; i < N_OPTIONS; i++) {
		json_t *o = json_object_get(r->obj, option_names[i]);
		if (o && !json_is_null(o) && !json_is_string(o))
			return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"%s\" is not a string or null", path, r->line,
					   option_names[i]);
		n += json_is_string(o);
	}
	const int a = answer_of(r->obj);
	if (a < 0 || !json_is_string(json_object_get(r->obj, option_names[a])))
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"answer\" must be the letter (A-J) of one of its %zu options",
				   path, r->line, n);
	if (idx && (!json_is_integer(idx) || json_integer_value(idx) != a))
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"answer_index\" does not match the answer %c", path, r->line,
				   'A' + a);
	const char *cat = json_string_value(json_object_get(r->obj, "category"));
	if (category_index(cat) < 0)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"category\" %s%s%s is not one of MMLU-Pro's 14 (biology, "
				   "business, ..., psychology)", path, r->line, cat ? "\"" : "", cat ? cat : "is missing: it",
				   cat ? "\"" : "");
	if (pool && !answer_after_lead(json_string_value(json_object_get(r->obj, "cot_content")), w))
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"cot_content\" does not open with \"%s \" and an answer (a "
				   "few-shot example's worked answer; lm-eval writes it after \"%s\")", path, r->line,
				   w->cot_lead, w->lead);
	return 0;
}

static int prox_read(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
		     bool pool, struct imp_jsonl *files, struct mrl_err *err)
{
	struct imp_progress rp;
	int rc;
	imp_progress_init(&rp, opts, in, n_in);
	for (size_t i = 0; i < n_in; i++) {
		if ((rc = imp_need_wording(prox_words, N_WORDINGS, sizeof prox_words[0], &in[i], "MMLU-ProX", err)))
			return rc;
		const struct prox_words *w = words_of(in[i].lang);
		if ((rc = imp_jsonl_read(in[i].path, &files[i], &rp, err)))
			return rc;
		for (size_t r = 0; r < files[i].n; r++) {
			if ((rc = prox_check(in[i].path, &files[i].rows[r], w, pool, err)))
				return rc;
			files[i].rows[r].key = json_integer_value(json_object_get(files[i].rows[r].obj, "question_id"));
		}
		if ((rc = imp_check_script(&in[i], &files[i], script_fields, opts, err)) ||
		    (rc = imp_sort_rows(&in[i], &files[i], "question_id", err)))
			return rc;
	}
	return 0;
}

/* The variant of row in language w: the text fields trimmed, the category and the
 * description's name for it, the options' letters and the target (the letter; a
 * pool example's worked answer after its opening words). NULL on ENOMEM. */
static json_t *prox_variant(const json_t *row, const struct prox_words *w, bool pool, size_t *n_trimmed)
{
	char letters[N_OPTIONS + 1];
	const char *cat = json_string_value(json_object_get(row, "category"));
	letters_of(row, letters);
	json_t *v = json_pack("{s:o, s:s, s:s, s:s}", "question", imp_trimmed_string(json_object_get(row, "question"),
			      n_trimmed), "category", cat, "subject", w->subjects[category_index(cat)], "letters", letters);
	for (int i = 0; v && i < N_OPTIONS; i++) {
		json_t *o = json_object_get(row, option_names[i]);
		if (json_is_string(o) && json_object_set_new(v, option_names[i], imp_trimmed_string(o, n_trimmed))) {
			json_decref(v);
			return NULL;
		}
	}
	json_t *target;
	if (pool) {
		json_t *rest = json_string(answer_after_lead(json_string_value(json_object_get(row, "cot_content")), w));
		target = rest ? imp_trimmed_string(rest, n_trimmed) : NULL;
		json_decref(rest);
	} else {
		target = json_string(json_string_value(json_object_get(row, "answer")));
	}
	if (v && json_object_set_new(v, "target", target)) {
		json_decref(v);
		return NULL;
	}
	return v;
}

/* Item key of every language that has it: the variants, the answers agreeing. */
static int prox_item(json_t *item, const struct task_import_input *in, size_t n_in, const struct imp_jsonl *files,
		     long long key, bool pool, size_t *n_trimmed, struct mrl_err *err)
{
	const struct imp_row *first = NULL;
	int rc = imp_answers_agree(in, n_in, files, key, answer_of, NULL, &first, err);
	if (rc)
		return rc;
	for (size_t i = 0, first_i = n_in; i < n_in; i++) {
		const struct imp_row *r = imp_find_key(&files[i], key);
		if (!r)
			continue;
		if (first_i == n_in)
			first_i = i; /* the file of first */
		else if (strcmp(json_string_value(json_object_get(r->obj, "category")),
				json_string_value(json_object_get(first->obj, "category"))))
			return mrl_err_set(err, MRL_EINPUT, "%s:%zu: question %lld is in another category than at %s:%zu",
					   in[i].path, r->line, key, in[first_i].path, first->line);
		if (json_object_set_new(item, in[i].lang, prox_variant(r->obj, words_of(in[i].lang), pool, n_trimmed)))
			return mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
	}
	return 0;
}

/* One set of files (the test questions, or the pool's validation ones): read, paired
 * by question_id and appended to arr; the unpaired noted (pool: "Pool: ") and counted;
 * each option layout seen ("ABCD") added to layouts (arg). */
static int prox_build(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts, bool pool,
		      json_t *arr, struct mrl_buf *note, size_t *n_items, size_t *n_unpaired, size_t *n_trimmed, void *arg,
		      struct mrl_err *err)
{
	json_t *layouts = arg;
	struct imp_jsonl *files = calloc(n_in, sizeof *files);
	long long *all = NULL;
	int rc = 0;
	*n_items = *n_unpaired = 0;
	if (!files)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	if ((rc = prox_read(in, n_in, opts, pool, files, err)))
		goto out;
	if (!(all = imp_all_keys(files, n_in, n_items)) && *n_items)
		goto nomem;
	imp_unpaired(in, n_in, files, all, *n_items, "question_id", NULL, pool ? "Pool: " : NULL, note, n_unpaired);
	for (size_t i = 0; i < n_in; i++)
		for (size_t r = 0; r < files[i].n; r++) {
			char l[N_OPTIONS + 1];
			letters_of(files[i].rows[r].obj, l);
			if (json_object_set_new(layouts, l, json_true()))
				goto nomem;
		}
	for (size_t a = 0; !note->oom && a < *n_items; a++) {
		char id[48];
		snprintf(id, sizeof id, "%s/%lld", pool ? "validation" : "test", all[a]);
		json_t *item = json_pack("{s:s}", "id", id);
		if (!item || json_array_append_new(arr, item))
			goto nomem;
		if ((rc = prox_item(item, in, n_in, files, all[a], pool, n_trimmed, err)))
			goto out;
		if (!pool)
			imp_tell_items(opts, a + 1, *n_items);
	}
	if (note->oom)
		goto nomem;
out:
	imp_files_release(files, n_in);
	free(all);
	return rc;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
	goto out;
}

/* A language's context template: a switch on the options a question has, each case
 * the question, the options with their letters verbatim and the opening of the answer. */
static json_t *prox_context(const struct prox_words *w, json_t *layouts)
{
	json_t *cases = json_object(), *tmpl = json_pack("{s:s, s:o}", "switch", "letters", "cases", cases);
	const char *l;
	json_t *unused;
	json_object_foreach(layouts, l, unused) {
		struct mrl_buf b;
		mrl_buf_init(&b);
		mrl_buf_addf(&b, "%s\n{question}\n%s\n", w->question, w->options);
		for (const char *c = l; *c; c++)
			mrl_buf_addf(&b, "{=%c}. {option_%d}\n", *c, *c - 'A');
		mrl_buf_add(&b, w->lead);
		if (b.oom || !tmpl || json_object_set_new(cases, l, json_string(b.data))) {
			mrl_buf_release(&b);
			json_decref(tmpl);
			return NULL;
		}
		mrl_buf_release(&b);
	}
	return tmpl;
}

/* lm-eval's stop strings of a prompt whose question opens with word. NULL on ENOMEM. */
static json_t *stops_of(const char *word)
{
	return json_pack("[s, s, s, s]", "</s>", "Q:", word, "<|im_end|>");
}

/* The suite's one task: generate, the description, context and stop strings per
 * language, the letter pulled out of the answer; a derived language's in its own words
 * (sr-Cyrl's "Одговор је (X)", as its transliterated prompt asks; its next "Питање:"). */
static json_t *prox_task(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			 json_t *items, void *arg)
{
	json_t *layouts = arg;
	(void)items;
	json_t *task = json_pack("{s:s, s:s, s:[s], s:s, s:[], s:{}, s:{}, s:i, s:s, s:{s:{}, s:s}, s:[]}", "id",
				 "mmlu_prox", "type", "generate", "metrics", "exact_match", "breakdown", "category",
				 "languages", "templates",
				 "stop", "max_new_tokens", PROX_MAX_NEW_TOKENS, "target_delimiter", " ", "extract", "regex",
				 "match", "first", "items");
	json_t *stop = json_object_get(task, "stop"), *regex = json_object_get(json_object_get(task, "extract"), "regex");
	bool bad = !task;
	for (size_t i = 0; !bad && i < n_in; i++) {
		const struct prox_words *w = words_of(in[i].lang);
		bad = imp_task_language(task, in[i].lang,
					json_pack("{s:o, s:s}", "context", prox_context(w, layouts), "description",
						  w->description)) ||
		      json_object_set_new(stop, in[i].lang, stops_of(w->stop)) ||
		      json_object_set_new(regex, in[i].lang, json_string(w->regex));
	}
	for (size_t k = 0; !bad && opts && k < opts->n_derive; k++) {
		const struct prox_words *w = words_of(opts->derive[k]);
		bad = w && (json_object_set_new(stop, w->lang, stops_of(w->stop)) ||
			    json_object_set_new(regex, w->lang, json_string(w->regex)));
	}
	if (bad) {
		json_decref(task);
		return NULL;
	}
	return task;
}

/* lm-eval's 5-shot with the validation split as the pool: the first 5 of the item's category. */
int task_import_mmlu_prox(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			  json_t **out, size_t *n_trimmed, struct mrl_err *err)
{
	static const struct imp_pooled spec = {
		"mmlu-prox",
		"MMLU-ProX: MMLU-Pro's ten-option questions on 14 categories, answered with reasoning that ends in the letter",
		"imported from MMLU-ProX JSONL", "category", prox_build, prox_task,
	};
	*out = NULL;
	if (opts && opts->n_pool && opts->n_derive)
		return mrl_err_set(err, MRL_EINPUT, "mmlu-prox: --derive with --pool: the worked answers name options by "
				   "letter (\"Odgovor je (C)\"), which transliteration would write in Cyrillic while the "
				   "options keep Latin letters; derive without the pool (zero-shot)");
	json_t *layouts = json_object(); /* every option layout of the test and pool questions: the prompt's cases */
	if (!layouts)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
	int rc = imp_run_pooled(&spec, layouts, in, n_in, opts, out, n_trimmed, err);
	json_decref(layouts);
	return rc;
}
