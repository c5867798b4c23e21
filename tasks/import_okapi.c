/* import_okapi.c — `merilo import okapi-arc` and `okapi-mmlu`: Okapi's translations of
 * ARC-Challenge and MMLU (Lai et al. 2023; alexandrainst/m_arc, alexandrainst/m_mmlu),
 * Croatian and Serbian among their languages, the benchmarks of the Open Multilingual
 * LLM Leaderboard; one JSONL file per language (a split exported).
 *
 * ARC: a row is {"id", "instruction", "option_a".."option_e" (empty or null where a
 * question has fewer), "answer": "A".."E"}; MMLU: {"id": "SUBJECT/test/N", "instruction",
 * "option_a".."option_d", "answer": "A".."D"}. Questions pair by "id" (the English
 * original's), which is the item id; answers must agree across languages.
 *
 * The prompts are lm-eval-harness 0.4.13's okapi tasks (arc_LANG, m_mmlu_LANG), their
 * English words "Question:" / "Answer:" in each language's own (English byte for
 * byte): ARC asks the question and scores each option's text after a space, its text
 * cleaned as lm-eval's preprocess does; MMLU lists the options with their letters and
 * scores the letter.
 */
#include "tasks/import_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_OPTIONS 5

static const struct okapi_wording {
	const char *lang, *question, *answer;
} okapi_words[] = {
	{ "en", "Question", "Answer" }, /* lm-eval's, to the byte */
	{ "hr", "Pitanje", "Odgovor" },  { "sr-Latn", "Pitanje", "Odgovor" }, { "sr-Cyrl", "Питање", "Одговор" },
	{ "bs", "Pitanje", "Odgovor" },  { "cnr", "Pitanje", "Odgovor" },     { "mk", "Прашање", "Одговор" },
	{ "sl", "Vprašanje", "Odgovor" },
};
#define N_WORDINGS (sizeof okapi_words / sizeof okapi_words[0])

static const struct okapi_wording *wording_of(const char *lang)
{
	return imp_wording(okapi_words, N_WORDINGS, sizeof okapi_words[0], lang);
}

static const char *const option_fields[MAX_OPTIONS] = { "option_a", "option_b", "option_c", "option_d", "option_e" };
static const char *const script_fields[] = { "instruction", "option_a", "option_b", "option_c", "option_d", NULL };

/* What one benchmark differs in. */
struct okapi_kind {
	const char *format, *task, *title, *provenance, *description;
	size_t n_options; /* options a row may have: ARC 5 (the empty ones left out), MMLU 4 */
	bool letters;     /* choices are the letters (MMLU), else the options' texts (ARC) */
};

/* lm-eval's okapi preprocess: strip, " [title]" -> ". ", every "[...]" on one line removed,
 * then each "  " (left to right, not overlapping) -> " ". A malloc'd string, NULL on ENOMEM. */
static char *okapi_clean(const char *s)
{
	size_t n = strlen(s);
	while (n && strchr(" \t\n\v\f\r", *s))
		s++, n--;
	while (n && strchr(" \t\n\v\f\r", s[n - 1]))
		n--;
	char *a = malloc(2 * n + 1), *b = malloc(2 * n + 1);
	if (!a || !b) {
		free(a);
		free(b);
		return NULL;
	}
	size_t k = 0;
	for (size_t i = 0; i < n;) /* " [title]" -> ". " */
		if (!strncmp(s + i, " [title]", 8) && i + 8 <= n)
			a[k++] = '.', a[k++] = ' ', i += 8;
		else
			a[k++] = s[i++];
	a[k] = 0;
	size_t m = 0;
	for (size_t i = 0; i < k;) { /* re.sub("\\[.*?\\]", ""): to the nearest "]" before a line break */
		const char *close = a[i] == '[' ? strpbrk(a + i + 1, "]\n") : NULL;
		if (close && *close == ']')
			i = (size_t)(close - a) + 1;
		else
			b[m++] = a[i++];
	}
	b[m] = 0;
	k = 0;
	for (size_t i = 0; i < m;) /* "  " -> " " */
		if (b[i] == ' ' && b[i + 1] == ' ')
			a[k++] = ' ', i += 2;
		else
			a[k++] = b[i++];
	a[k] = 0;
	free(b);
	return a;
}

/* A JSON string of okapi_clean(v); *n_trimmed counts it where it changed. NULL on ENOMEM. */
static json_t *cleaned_string(const json_t *v, size_t *n_trimmed)
{
	char *c = okapi_clean(json_string_value(v));
	json_t *j = c ? json_string(c) : NULL;
	if (c && n_trimmed && strcmp(c, json_string_value(v)))
		(*n_trimmed)++;
	free(c);
	return j;
}

/* How many options row has: the first ones that are non-empty strings. */
static size_t n_options_of(const json_t *row, size_t max)
{
	size_t n = 0;
	while (n < max && json_string_length(json_object_get(row, option_fields[n])))
		n++;
	return n;
}

/* ARC's options (up to five; the empty ones left out): their number must agree too. */
static size_t arc_options(const json_t *row)
{
	return n_options_of(row, MAX_OPTIONS);
}

static int okapi_gold(const json_t *row)
{
	const char *a = json_string_value(json_object_get(row, "answer"));
	return a && a[0] >= 'A' && a[0] < 'A' + MAX_OPTIONS && !a[1] ? a[0] - 'A' : -1;
}

static int okapi_check(const struct okapi_kind *k, const char *path, const struct imp_row *r, struct mrl_err *err)
{
	int rc;
	if ((rc = imp_need_text(path, r, "id", "the question's id", err)) ||
	    (rc = imp_need_text(path, r, "instruction", "the question", err)))
		return rc;
	const size_t n = n_options_of(r->obj, k->n_options);
	for (size_t o = n; o < k->n_options; o++) /* no option after an empty one: lm-eval's gold would miss */
		if (json_string_length(json_object_get(r->obj, option_fields[o])))
			return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"%s\" follows an empty option", path, r->line,
					   option_fields[o]);
	if (n < (k->letters ? k->n_options : 2))
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: %zu options; expected %s", path, r->line, n,
				   k->letters ? "4 (option_a-option_d)" : "at least 2");
	const int g = okapi_gold(r->obj);
	if (g < 0 || (size_t)g >= n)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"answer\" must be the letter of one of its %zu options", path,
				   r->line, n);
	return 0;
}

static void id_name(const json_t *row, const char **text, long long *number)
{
	*text = json_string_value(json_object_get(row, "id"));
	*number = 0;
}

static int okapi_read(const struct okapi_kind *k, const struct task_import_input *in, size_t n_in,
		      const struct task_import_opts *opts, struct imp_jsonl *files, struct mrl_err *err)
{
	struct imp_progress rp;
	int rc;
	imp_progress_init(&rp, opts, in, n_in);
	for (size_t i = 0; i < n_in; i++) {
		if ((rc = imp_need_wording(okapi_words, N_WORDINGS, sizeof okapi_words[0], &in[i], k->title, err)))
			return rc;
		if ((rc = imp_jsonl_read(in[i].path, &files[i], &rp, err)))
			return rc;
		for (size_t r = 0; r < files[i].n; r++)
			if ((rc = okapi_check(k, in[i].path, &files[i].rows[r], err)))
				return rc;
		if ((rc = imp_unique_string(in[i].path, &files[i], "id", err)) ||
		    (rc = imp_check_script(&in[i], &files[i], script_fields, opts, err)))
			return rc;
	}
	if ((rc = imp_number_rows(files, n_in, id_name, err)))
		return rc;
	for (size_t i = 0; i < n_in; i++)
		if ((rc = imp_sort_rows(&in[i], &files[i], "id", err)))
			return rc;
	return 0;
}

/* A row's variant: the question and options cleaned as lm-eval does (ARC's options are
 * its choices), MMLU's subject from its id. */
static json_t *okapi_variant(const struct okapi_kind *k, const json_t *row, size_t *n_trimmed)
{
	json_t *v = json_object(), *choices = k->letters ? NULL : json_array();
	const size_t n = n_options_of(row, k->n_options);
	if (!v || (!k->letters && !choices))
		goto nomem;
	IMP_SET(v, "instruction", cleaned_string(json_object_get(row, "instruction"), n_trimmed));
	for (size_t o = 0; o < n; o++) {
		json_t *c = k->letters ? imp_trimmed_string(json_object_get(row, option_fields[o]), n_trimmed)
				       : cleaned_string(json_object_get(row, option_fields[o]), n_trimmed);
		if (k->letters)
			IMP_SET(v, option_fields[o], c);
		else if (json_array_append_new(choices, c))
			goto nomem;
	}
	if (choices) { /* taken by v, even where setting it fails */
		json_t *c = choices;
		choices = NULL;
		IMP_SET(v, "choices", c);
	}
	const char *id = json_string_value(json_object_get(row, "id")), *slash = strchr(id, '/');
	if (k->letters && slash)
		IMP_SET(v, "subject", json_stringn(id, (size_t)(slash - id)));
	return v;
nomem:
	json_decref(v);
	json_decref(choices);
	return NULL;
}

static int okapi_item(const struct okapi_kind *k, json_t *item, const struct task_import_input *in, size_t n_in,
		      const struct imp_jsonl *files, long long key, size_t *n_trimmed, struct mrl_err *err)
{
	const struct imp_row *first = NULL;
	int rc = imp_answers_agree(in, n_in, files, key, okapi_gold, k->letters ? NULL : arc_options, &first, err);
	if (rc || !first)
		return rc;
	IMP_SET(item, "id", json_copy(json_object_get(first->obj, "id")));
	IMP_SET(item, "gold", json_integer(okapi_gold(first->obj)));
	for (size_t i = 0; i < n_in; i++) {
		const struct imp_row *r = imp_find_key(&files[i], key);
		if (!r)
			continue;
		json_t *v = okapi_variant(k, r->obj, n_trimmed);
		IMP_SET(item, in[i].lang, v);
		if (k->letters && imp_letter_choices(v, k->n_options))
			goto nomem;
	}
	return 0;
nomem:
	return mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
}

/* The task: ARC's question and each option's text after a space; MMLU's question, its
 * options with their letters verbatim, the letter after a space. */
static json_t *okapi_task(const struct okapi_kind *k, const struct task_import_input *in, size_t n_in)
{
	json_t *task = imp_mc_task_new(k->task, " ");
	if (task && k->letters && json_object_set_new(task, "breakdown", json_string("subject"))) {
		json_decref(task);
		return NULL;
	}
	for (size_t i = 0; task && i < n_in; i++) {
		const struct okapi_wording *w = wording_of(in[i].lang);
		json_t *ctx = k->letters ? json_sprintf("{instruction}\n{=A}. {option_a}\n{=B}. {option_b}\n{=C}. "
							"{option_c}\n{=D}. {option_d}\n%s:", w->answer)
					 : json_sprintf("%s: {instruction}\n%s:", w->question,
							w->answer);
		if (imp_task_language(task, in[i].lang, json_pack("{s:o}", "context", ctx))) {
			json_decref(task);
			return NULL;
		}
	}
	return task;
}

static int okapi_import(const struct okapi_kind *k, const struct task_import_input *in, size_t n_in,
			const struct task_import_opts *opts, json_t **out, size_t *n_trimmed, struct mrl_err *err)
{
	struct imp_jsonl *files = calloc(n_in, sizeof *files);
	long long *all = NULL;
	size_t n_items = 0, n_unpaired = 0;
	json_t *root = NULL, *task = NULL;
	struct mrl_buf note;
	int rc = 0;
	mrl_buf_init(&note);
	*out = NULL;
	if (!files)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	if ((rc = okapi_read(k, in, n_in, opts, files, err)))
		goto out;
	if (!(all = imp_all_keys(files, n_in, &n_items)) && n_items)
		goto nomem;
	const char **names = calloc(n_items + 1, sizeof *names);
	if (!names)
		goto nomem;
	for (size_t i = 0; i < n_in; i++) /* the unpaired questions are named by id */
		for (size_t r = 0; r < files[i].n; r++)
			names[files[i].rows[r].key] = json_string_value(json_object_get(files[i].rows[r].obj, "id"));
	imp_unpaired(in, n_in, files, all, n_items, "id", names, NULL, &note, &n_unpaired);
	free(names);
	if (note.oom)
		goto nomem;
	imp_report_pairing(opts, n_items, n_unpaired, &note);
	if (!(root = imp_suite_new(opts, k->format, k->description, k->provenance, in, n_in, &note, err))) {
		rc = err->code;
		goto out;
	}
	if (!(task = okapi_task(k, in, n_in)) || json_array_append_new(json_object_get(root, "tasks"), task))
		goto nomem;
	for (size_t a = 0; a < n_items && !rc; a++) {
		json_t *item = json_object();
		if (!item || json_array_append_new(json_object_get(task, "items"), item))
			goto nomem;
		rc = okapi_item(k, item, in, n_in, files, all[a], n_trimmed, err);
		imp_tell_items(opts, a + 1, n_items);
	}
	if (!rc) {
		*out = root;
		root = NULL;
	}
out:
	imp_files_release(files, n_in);
	free(all);
	json_decref(root);
	mrl_buf_release(&note);
	return rc;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
	goto out;
}

int task_import_okapi_arc(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			  json_t **out, size_t *n_trimmed, struct mrl_err *err)
{
	static const struct okapi_kind arc = {
		"okapi-arc", "okapi_arc", "Okapi ARC", "imported from Okapi m_arc JSONL",
		"Okapi ARC-Challenge: grade-school science questions, machine-translated (Lai et al. 2023)", 5, false,
	};
	return okapi_import(&arc, in, n_in, opts, out, n_trimmed, err);
}

int task_import_okapi_mmlu(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			   json_t **out, size_t *n_trimmed, struct mrl_err *err)
{
	static const struct okapi_kind mmlu = {
		"okapi-mmlu", "okapi_mmlu", "Okapi MMLU", "imported from Okapi m_mmlu JSONL",
		"Okapi MMLU: MMLU's questions on 57 subjects, machine-translated (Lai et al. 2023); the letter of the right "
		"answer of four", 4, true,
	};
	return okapi_import(&mmlu, in, n_in, opts, out, n_trimmed, err);
}
