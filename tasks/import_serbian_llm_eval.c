/* import_serbian_llm_eval.c — `merilo import serbian-llm-eval`: the Serbian LLM eval
 * (gordicaleksa/serbian-llm-eval-v1; Aleksa Gordić, December 2023): English benchmarks
 * machine-translated into Serbian (Latin script) and refined with GPT-4. The tasks
 * imported: ARC-Easy, ARC-Challenge, HellaSwag, OpenBookQA, PIQA, BoolQ, Winogrande
 * (multiple choice), NaturalQuestions-open and TriviaQA (generate).
 *
 * A task's data is a JSONL file (or several "partial" files), each row a document as
 * the fork of lm-evaluation-harness that scores it (gordicaleksa/serbian-llm-eval,
 * lm_eval/tasks/, language "Serbian") reads it:
 *   arc_easy, arc_challenge, hellaswag, openbookqa  {"query", "choices": [...], "gold"}
 *   piqa                                             {"goal", "choices": [...], "gold"}
 *   boolq                                            {"passage", "question", "label"}
 *   winogrande                                       {"sentence", "option1", "option2", "answer"}
 *   nq_open                                          {"question", "answer": [...]}
 *   triviaqa                                         {"question", "answer": {"value", "aliases"}}
 * A file's task is read from its name, which begins with the task's name
 * (piqa_test_partial_0_1837_end.jsonl). The input is one such file or the folder that
 * holds them: there every test file of every task is taken, a task's several files in
 * the order of the first number after its name (the partials' start), and the other
 * .jsonl files (another split, unknown names) are listed in a warning.
 *
 * Rows carry no id: an item is named by its position in its task's files, 0, 1, ...
 * (the position of its English original in the split it was translated from).
 *
 * The prompts are the fork's doc_to_text: the query as it is (it holds the
 * translated "Pitanje: ...\nOdgovor:" itself), PIQA's, BoolQ's and the open questions'
 * own. Choices are scored after a space (lm-eval's MultipleChoiceTask), BoolQ's as
 * " da" / " ne"; generation continues the plain prompt (no chat template) and stops at
 * "\n", "." or "," (the fork's until) within 256 tokens (its max_gen_toks). Winogrande is
 * scored by partial evaluation, as the fork does: the sentence up to its blank with each
 * option is that option's context, and the rest of the sentence after a space is the
 * continuation both score ("choice_in_context").
 */
#include "tasks/import_int.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* How a task's rows read and its prompt is written. */
enum sle_kind {
	SLE_QUERY,      /* query, choices, gold */
	SLE_PIQA,       /* goal, choices, gold */
	SLE_BOOLQ,      /* passage, question, label */
	SLE_NQ_OPEN,    /* question, answer: [...] */
	SLE_TRIVIAQA,   /* question, answer: {value, aliases} */
	SLE_WINOGRANDE, /* sentence, option1, option2, answer: partial evaluation */
};

static const struct sle_task {
	const char *name; /* the task's id, and how its files' names begin */
	enum sle_kind kind;
	const char *context; /* the fork's doc_to_text for Serbian */
} sle_tasks[] = {
	{ "arc_easy", SLE_QUERY, "{query}" },
	{ "arc_challenge", SLE_QUERY, "{query}" },
	{ "hellaswag", SLE_QUERY, "{query}" },
	{ "openbookqa", SLE_QUERY, "{query}" },
	{ "piqa", SLE_PIQA, "Pitanje: {goal}\nOdgovor:" },
	{ "boolq", SLE_BOOLQ, "{passage}\nPitanje: {question}?\nOdgovor:" },
	{ "nq_open", SLE_NQ_OPEN, "Pitanje: {question}\nOdgovor:" },
	{ "triviaqa", SLE_TRIVIAQA, "Pitanje: {question}\nOdgovor:" },
	{ "winogrande", SLE_WINOGRANDE, "{before}{choice}" },
};
#define N_SLE_TASKS (sizeof sle_tasks / sizeof sle_tasks[0])

#define SLE_MAX_NEW_TOKENS 256 /* the fork's max_gen_toks */

/* The names of the tasks imported, "arc_easy, arc_challenge, ...", into buf. */
static const char *known_names(char *buf, size_t size)
{
	buf[0] = '\0';
	for (size_t t = 0, len = 0; t < N_SLE_TASKS && len < size; t++)
		len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? ", " : "", sle_tasks[t].name);
	return buf;
}

/* One input file: its path (malloc'd), its task and where it goes among the task's files. */
struct sle_file {
	char *path;
	size_t task;
	unsigned long long first; /* the first number after the task's name in the file name (a partial's start) */
};

struct sle_files {
	struct sle_file *v;
	size_t n, cap;
};

static void sle_files_release(struct sle_files *fs)
{
	for (size_t i = 0; i < fs->n; i++)
		free(fs->v[i].path);
	free(fs->v);
}

/* The task a file name begins with (its name, then '_', '-', '.' or nothing), or N_SLE_TASKS;
 * *rest is what follows the task's name. */
static size_t task_of_name(const char *base, const char **rest)
{
	for (size_t t = 0; t < N_SLE_TASKS; t++) {
		size_t n = strlen(sle_tasks[t].name);
		if (!strncmp(base, sle_tasks[t].name, n) && (!base[n] || strchr("_-.", base[n]))) {
			*rest = base + n;
			return t;
		}
	}
	return N_SLE_TASKS;
}

/* Whether the rest of a file name names another split than the test one ("_train", "_validation",
 * "-dev"): a word of it between separators. */
static bool other_split(const char *rest)
{
	static const char *const splits[] = { "train", "validation", "val", "dev" };
	for (const char *w = rest; *w;) {
		size_t n = strcspn(w, "_-.");
		for (size_t k = 0; n && k < sizeof splits / sizeof splits[0]; k++)
			if (strlen(splits[k]) == n && !strncmp(w, splits[k], n))
				return true;
		w += n + (w[n] != '\0');
	}
	return false;
}

static int add_file(struct sle_files *fs, const char *dir, const char *base, size_t task, const char *rest)
{
	if (fs->n == fs->cap) {
		size_t cap = fs->cap ? 2 * fs->cap : 16;
		struct sle_file *v = realloc(fs->v, cap * sizeof *v);
		if (!v)
			return -1;
		fs->v = v, fs->cap = cap;
	}
	struct sle_file *f = &fs->v[fs->n];
	size_t len = (dir ? strlen(dir) + 1 : 0) + strlen(base) + 1;
	if (!(f->path = malloc(len)))
		return -1;
	snprintf(f->path, len, "%s%s%s", dir ? dir : "", dir ? "/" : "", base);
	rest += strcspn(rest, "0123456789");
	f->first = *rest ? strtoull(rest, NULL, 10) : 0;
	f->task = task;
	fs->n++;
	return 0;
}

static int cmp_file(const void *a, const void *b)
{
	const struct sle_file *x = a, *y = b;
	if (x->task != y->task)
		return x->task < y->task ? -1 : 1;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return strcmp(x->path, y->path);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One warning naming the .jsonl files of dir not imported, sorted: "DIR: 2 files not imported (...): a, b". */
static void warn_skipped(const char *dir, char **names, size_t n, const struct task_import_opts *opts)
{
	if (!n || !opts || !opts->report)
		return;
	qsort(names, n, sizeof *names, cmp_str);
	struct mrl_buf *w = &opts->report->warnings;
	mrl_buf_addf(w, "%s: %zu file%s not imported (another split, or no task's name):", dir, n,
		     n == 1 ? "" : "s");
	for (size_t k = 0; k < n; k++)
		mrl_buf_addf(w, "%s %s", k ? "," : "", names[k]);
	mrl_buf_addf(w, "\n");
}

/* The test files of a folder into fs, sorted by task and start; the other .jsonl files are
 * named in one warning. */
static int scan_folder(const char *dir, struct sle_files *fs, const struct task_import_opts *opts,
		       struct mrl_err *err)
{
	DIR *d = opendir(dir);
	if (!d)
		return mrl_err_set(err, MRL_EIO, "%s: cannot read the folder: %s", dir, strerror(errno));
	char **skipped = NULL;
	size_t n_skipped = 0;
	struct dirent *e;
	int rc = 0;
	while (!rc && (e = readdir(d))) {
		size_t len = strlen(e->d_name);
		const char *rest;
		if (len <= 6 || strcmp(e->d_name + len - 6, ".jsonl"))
			continue;
		size_t t = task_of_name(e->d_name, &rest);
		if (t == N_SLE_TASKS || other_split(rest)) {
			char **more = realloc(skipped, (n_skipped + 1) * sizeof *more);
			if (!more || !(more[n_skipped] = strdup(e->d_name)))
				rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
			skipped = more ? more : skipped;
			n_skipped += more && more[n_skipped];
		} else if (add_file(fs, dir, e->d_name, t, rest)) {
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		}
	}
	closedir(d);
	char known[160];
	if (!rc && !fs->n)
		rc = mrl_err_set(err, MRL_EINPUT, "%s: no test file of the serbian-llm-eval tasks (a .jsonl file whose "
				 "name begins with one of %s)", dir, known_names(known, sizeof known));
	if (!rc) {
		warn_skipped(dir, skipped, n_skipped, opts);
		qsort(fs->v, fs->n, sizeof *fs->v, cmp_file);
	}
	for (size_t k = 0; k < n_skipped; k++)
		free(skipped[k]);
	free(skipped);
	return rc;
}

/* The input's files: a folder's test files, or the one file given, whose name must say its task. */
static int find_files(const struct task_import_input *in, struct sle_files *fs, const struct task_import_opts *opts,
		      struct mrl_err *err)
{
	struct stat st;
	if (stat(in->path, &st))
		return mrl_err_set(err, MRL_EIO, "%s: %s", in->path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return scan_folder(in->path, fs, opts, err);
	const char *base = strrchr(in->path, '/'), *rest;
	base = base ? base + 1 : in->path;
	size_t t = task_of_name(base, &rest);
	char known[160];
	if (t == N_SLE_TASKS)
		return mrl_err_set(err, MRL_EINPUT, "%s: the task is read from the file name, which must begin with one of "
				   "%s (rename it, e.g. piqa.jsonl)", in->path, known_names(known, sizeof known));
	if (add_file(fs, NULL, in->path, t, rest))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	return 0;
}

/* ---- rows ---------------------------------------------------------------------------- */

/* An array of at least min strings, each non-empty once trimmed. */
static int need_strings(const char *path, const struct imp_row *r, const json_t *a, const char *what, size_t min,
			struct mrl_err *err)
{
	if (!json_is_array(a) || json_array_size(a) < min) {
		char least[48] = "";
		if (min)
			snprintf(least, sizeof least, "at least %zu ", min);
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: %s must be an array of %snon-empty strings", path, r->line,
				   what, least);
	}
	for (size_t k = 0; k < json_array_size(a); k++) {
		json_t *s = json_array_get(a, k);
		if (!json_is_string(s) || !imp_trimmed_length(s))
			return mrl_err_set(err, MRL_EINPUT, "%s:%zu: %s[%zu] is not a non-empty string", path, r->line, what, k);
	}
	return 0;
}

/* BoolQ's label: true/false or 1/0 (1: the answer is yes); -1 otherwise. */
static int boolq_yes(const json_t *label)
{
	if (json_is_boolean(label))
		return json_is_true(label);
	if (json_is_integer(label) && (json_integer_value(label) == 0 || json_integer_value(label) == 1))
		return (int)json_integer_value(label);
	return -1;
}

static int check_choices(const char *path, const struct imp_row *r, struct mrl_err *err)
{
	json_t *choices = json_object_get(r->obj, "choices"), *gold = json_object_get(r->obj, "gold");
	int rc = need_strings(path, r, choices, "\"choices\"", 2, err);
	if (!rc && (!json_is_integer(gold) || json_integer_value(gold) < 0 ||
		    json_integer_value(gold) >= (json_int_t)json_array_size(choices)))
		rc = mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"gold\" must be the index of the right choice, 0 to %zu", path,
				 r->line, json_array_size(choices) - 1);
	return rc;
}

/* Winogrande's answer: "1" or "2" (or 1, 2): the option's index 0 or 1; -1 otherwise. */
static int winogrande_gold(const json_t *answer)
{
	const char *s = json_string_value(answer);
	long long v = json_is_integer(answer) ? json_integer_value(answer) : 0;
	if (s && s[0] && !s[1])
		v = s[0] - '0';
	return v == 1 || v == 2 ? (int)v - 1 : -1;
}

static int check_winogrande(const char *path, const struct imp_row *r, struct mrl_err *err)
{
	int rc;
	if ((rc = imp_need_text(path, r, "sentence", "the sentence", err)) ||
	    (rc = imp_need_text(path, r, "option1", "the first option", err)) ||
	    (rc = imp_need_text(path, r, "option2", "the second option", err)))
		return rc;
	if (!strchr(json_string_value(json_object_get(r->obj, "sentence")), '_'))
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"sentence\" has no blank '_' for the option", path, r->line);
	if (winogrande_gold(json_object_get(r->obj, "answer")) < 0)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"answer\" must be \"1\" or \"2\"", path, r->line);
	return 0;
}

static int check_row(const char *path, const struct imp_row *r, enum sle_kind kind, struct mrl_err *err)
{
	json_t *answer = json_object_get(r->obj, "answer");
	int rc;
	switch (kind) {
	case SLE_QUERY:
		return (rc = imp_need_text(path, r, "query", "the prompt", err)) ? rc : check_choices(path, r, err);
	case SLE_PIQA:
		return (rc = imp_need_text(path, r, "goal", "the goal", err)) ? rc : check_choices(path, r, err);
	case SLE_BOOLQ:
		if ((rc = imp_need_text(path, r, "passage", "the passage", err)) ||
		    (rc = imp_need_text(path, r, "question", "the question", err)))
			return rc;
		if (boolq_yes(json_object_get(r->obj, "label")) < 0)
			return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"label\" must be true or false (or 1 or 0)", path,
					   r->line);
		return 0;
	case SLE_NQ_OPEN:
		return (rc = imp_need_text(path, r, "question", "the question", err))
			       ? rc
			       : need_strings(path, r, answer, "\"answer\"", 1, err);
	case SLE_TRIVIAQA: {
		json_t *value = json_object_get(answer, "value");
		if ((rc = imp_need_text(path, r, "question", "the question", err)))
			return rc;
		if (!json_is_object(answer) || !json_is_string(value) || !imp_trimmed_length(value))
			return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"answer\" must be an object with \"value\" (a non-empty "
					   "string) and \"aliases\"", path, r->line);
		return need_strings(path, r, json_object_get(answer, "aliases"), "\"answer\".\"aliases\"", 0, err);
	}
	case SLE_WINOGRANDE:
		return check_winogrande(path, r, err);
	}
	return mrl_err_set(err, MRL_EINPUT, "%s: no rule for this task", path);
}

/* A new array of a's strings, trimmed; value (may be NULL) first and the others unless equal to it. */
static json_t *trimmed_strings(const json_t *a, const json_t *value, size_t *n_trimmed)
{
	json_t *out = json_array(), *first = value ? imp_trimmed_string(value, n_trimmed) : NULL;
	if (!out || (value && (!first || json_array_append_new(out, first))))
		goto nomem;
	for (size_t k = 0; k < json_array_size(a); k++) {
		json_t *s = imp_trimmed_string(json_array_get(a, k), n_trimmed);
		if (!s)
			goto nomem;
		if (first && json_equal(s, first))
			json_decref(s);
		else if (json_array_append_new(out, s))
			goto nomem;
	}
	return out;
nomem:
	json_decref(out);
	return NULL;
}

/* The item of one row: its id, gold and the variant in lang. */
static json_t *row_item(const json_t *row, enum sle_kind kind, const char *lang, size_t pos, size_t *n_trimmed)
{
	json_t *item = json_object(), *v = json_object(), *answer = json_object_get(row, "answer");
	if (!item || !v) {
		json_decref(v);
		goto nomem;
	}
	IMP_SET(item, "id", json_sprintf("%zu", pos));
	IMP_SET(item, lang, v);
	switch (kind) {
	case SLE_QUERY:
	case SLE_PIQA: {
		const char *text = kind == SLE_QUERY ? "query" : "goal";
		IMP_SET(item, "gold", json_integer(json_integer_value(json_object_get(row, "gold"))));
		IMP_SET(v, text, imp_trimmed_string(json_object_get(row, text), n_trimmed));
		IMP_SET(v, "choices", trimmed_strings(json_object_get(row, "choices"), NULL, n_trimmed));
		break;
	}
	case SLE_BOOLQ:
		IMP_SET(item, "gold", json_integer(boolq_yes(json_object_get(row, "label")) ? 0 : 1));
		IMP_SET(v, "passage", imp_trimmed_string(json_object_get(row, "passage"), n_trimmed));
		IMP_SET(v, "question", imp_trimmed_string(json_object_get(row, "question"), n_trimmed));
		IMP_SET(v, "choices", json_pack("[s, s]", "da", "ne"));
		break;
	case SLE_NQ_OPEN:
	case SLE_TRIVIAQA:
		IMP_SET(v, "question", imp_trimmed_string(json_object_get(row, "question"), n_trimmed));
		IMP_SET(v, "target", kind == SLE_NQ_OPEN ? trimmed_strings(answer, NULL, n_trimmed)
							 : trimmed_strings(json_object_get(answer, "aliases"),
									   json_object_get(answer, "value"), n_trimmed));
		break;
	case SLE_WINOGRANDE: { /* the fork's partial_context and partial_target: the sentence as it is */
		const char *s = json_string_value(json_object_get(row, "sentence")), *blank = strchr(s, '_');
		json_t *after = json_string(blank + 1);
		IMP_SET(item, "gold", json_integer(winogrande_gold(json_object_get(row, "answer"))));
		IMP_SET(v, "before", json_stringn(s, (size_t)(blank - s)));
		IMP_SET(v, "after", after ? imp_trimmed_string(after, NULL) : NULL); /* stripped by design, not counted */
		json_decref(after);
		IMP_SET(v, "choices", json_pack("[o, o]", imp_trimmed_string(json_object_get(row, "option1"), n_trimmed),
						imp_trimmed_string(json_object_get(row, "option2"), n_trimmed)));
		break;
	}
	}
	return item;
nomem:
	json_decref(item);
	return NULL;
}

/* ---- tasks ----------------------------------------------------------------------------- */

/* The task t without items: multiple choice (acc and acc_norm, BoolQ acc) or generate (exact match;
 * the prompt as it is, no chat template, as the fork sends it). */
static json_t *task_new(const struct sle_task *t, const char *lang)
{
	json_t *task;
	if (t->kind == SLE_NQ_OPEN || t->kind == SLE_TRIVIAQA)
		task = json_pack("{s:s, s:s, s:[s], s:[], s:{}, s:[s, s, s], s:i, s:s, s:[]}", "id", t->name, "type",
				 "generate", "metrics", "exact_match", "languages", "templates", "stop", "\n", ".", ",",
				 "max_new_tokens", SLE_MAX_NEW_TOKENS, "chat_template", "none", "items");
	else
		task = imp_mc_task_new(t->name, " ");
	if (task && (t->kind == SLE_BOOLQ || t->kind == SLE_WINOGRANDE) &&
	    json_object_set_new(task, "metrics", json_pack("[s]", "acc")))
		goto nomem;
	if (task && t->kind == SLE_WINOGRANDE && json_object_set_new(task, "choice_in_context", json_true()))
		goto nomem;
	if (task && imp_task_language(task, lang, t->kind == SLE_WINOGRANDE
							   ? json_pack("{s:s, s:s}", "context", t->context, "choice", "{after}")
							   : json_pack("{s:s}", "context", t->context)))
		goto nomem;
	return task;
nomem:
	json_decref(task);
	return NULL;
}

/* Read the files [from, to) of one task, check their rows and script, and append the task with
 * an item per row to tasks; rp counts the bytes read (progress), *n_trimmed the trimmed fields. */
static int import_task(const struct task_import_input *files, size_t from, size_t to, size_t t, json_t *tasks,
		       const struct task_import_opts *opts, struct imp_progress *rp, size_t *n_trimmed,
		       struct mrl_err *err)
{
	static const char *const text_fields[] = { "query", "goal", "passage", "question", "sentence", NULL };
	json_t *task = task_new(&sle_tasks[t], files[from].lang);
	if (!task || json_array_append_new(tasks, task))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
	json_t *items = json_object_get(task, "items");
	size_t pos = 0;
	for (size_t i = from; i < to; i++) {
		struct imp_jsonl f = { 0 };
		int rc = imp_jsonl_read(files[i].path, &f, rp, err);
		for (size_t r = 0; !rc && r < f.n; r++)
			rc = check_row(files[i].path, &f.rows[r], sle_tasks[t].kind, err);
		if (!rc)
			rc = imp_check_script(&files[i], &f, text_fields, opts, err);
		for (size_t r = 0; !rc && r < f.n; r++) {
			json_t *item = row_item(f.rows[r].obj, sle_tasks[t].kind, files[i].lang, pos++, n_trimmed);
			if (!item || json_array_append_new(items, item))
				rc = mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
		}
		imp_jsonl_release(&f);
		if (rc)
			return rc;
	}
	return 0;
}

int task_import_serbian_llm_eval(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
				 json_t **out, size_t *n_trimmed, struct mrl_err *err)
{
	struct sle_files fs = { 0 };
	struct task_import_input *files = NULL;
	struct mrl_buf note;
	json_t *root = NULL;
	int rc = 0;
	mrl_buf_init(&note);
	*out = NULL;
	if (n_in != 1 || (strcmp(in[0].lang, "sr-Latn") && strcmp(in[0].lang, "sr-Cyrl")))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "serbian-llm-eval is Serbian: give one file or folder as sr-Latn "
				   "(or a Cyrillic copy as sr-Cyrl), and --derive the other script");
	if ((rc = find_files(&in[0], &fs, opts, err)))
		goto out;
	if (!(files = calloc(fs.n, sizeof *files)))
		goto nomem;
	for (size_t i = 0; i < fs.n; i++)
		files[i] = (struct task_import_input){ in[0].lang, fs.v[i].path };
	struct imp_progress rp;
	imp_progress_init(&rp, opts, files, fs.n);
	if (!(root = imp_suite_new(opts, "serbian-llm-eval",
				   "Serbian LLM eval: ARC, HellaSwag, OpenBookQA, PIQA, BoolQ, NaturalQuestions and "
				   "TriviaQA, machine-translated into Serbian and refined with GPT-4",
				   "imported from serbian-llm-eval JSONL", files, fs.n, &note, err))) {
		rc = err->code;
		goto out;
	}
	for (size_t from = 0, to; from < fs.n; from = to) {
		for (to = from + 1; to < fs.n && fs.v[to].task == fs.v[from].task;)
			to++;
		if ((rc = import_task(files, from, to, fs.v[from].task, json_object_get(root, "tasks"), opts, &rp,
				      n_trimmed, err)))
			goto out;
	}
	*out = root;
	root = NULL;
out:
	json_decref(root);
	free(files);
	sle_files_release(&fs);
	mrl_buf_release(&note);
	return rc;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	goto out;
}
