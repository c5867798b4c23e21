/* import.c — outside benchmarks -> merilo suites, by a small table of importers.
 *
 * Each importer (tasks/import_NAME.c, using tasks/import_common.c) reads one file
 * per language (serbian-llm-eval: a folder of a file per task) and returns a suite
 * document (jansson) whose items pair the languages' variants of the same content.
 * The table below is where further importers slot in: a name, a one-line summary,
 * a function. The per-language prompt wording an
 * importer writes goes into the suite's templates (suite data), so it can be
 * read and changed there. This file also adds the languages that `--derive`
 * makes by transliteration, for any importer.
 */
#include "tasks/import_int.h"
#include "tasks/task_int.h"

#include <stdio.h>
#include <string.h>

typedef int (*importer_fn)(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			   json_t **out, size_t *n_trimmed, struct mrl_err *err);

/* ---- the table ------------------------------------------------------------------ */

static const struct {
	const char *name;
	const char *summary;
	importer_fn fn;
	bool takes_pool; /* reads opts->pool (few-shot examples) */
	const char *keep; /* a variant field --derive copies as it is (INCLUDE's English "domain"), or NULL */
} importers[] = {
	{ "copa", "COPA-style JSONL (premise, choice1, choice2, question, label, idx), a file per language",
	  task_import_copa, false, NULL },
	{ "belebele", "Belebele JSONL (flores_passage, question, mc_answer1-4, correct_answer_num)",
	  task_import_belebele, false, NULL },
	{ "global-mmlu", "Global-MMLU JSONL (sample_id, question, option_a-d, answer)",
	  task_import_global_mmlu, true, NULL },
	{ "include", "INCLUDE JSONL (question, option_a-d or choices, answer 0-3, domain): each country's own exams",
	  task_import_include, false, "domain" },
	{ "mmlu-prox", "MMLU-ProX JSONL (question_id, question, option_0-9, answer, cot_content, category): reasoning, "
		       "then the letter", task_import_mmlu_prox, true, NULL },
	{ "okapi-arc", "Okapi's ARC-Challenge JSONL (id, instruction, option_a-e, answer), machine-translated",
	  task_import_okapi_arc, false, NULL },
	{ "okapi-mmlu", "Okapi's MMLU JSONL (id, instruction, option_a-d, answer), machine-translated",
	  task_import_okapi_mmlu, false, NULL },
	{ "oz-eval", "OZ Eval JSONL (index, questions, options, answer): Serbian general knowledge, 5 options",
	  task_import_oz_eval, false, NULL },
	{ "flores", "FLORES-200/FLORES+ sentences (a line each, or JSONL): translation from and into English",
	  task_import_flores, true, NULL },
	{ "global-piqa", "Global PIQA's parallel split (prompt, solution0-3, label), a file per language",
	  task_import_global_piqa, false, NULL },
	{ "serbian-llm-eval", "the Serbian LLM eval's folder, a JSONL file per task (ARC, HellaSwag, PIQA, BoolQ, ...)",
	  task_import_serbian_llm_eval, false, NULL },
};
#define N_IMPORTERS (sizeof importers / sizeof importers[0])

/* ---- languages derived by transliteration (--derive) ----------------------------- */

/* The language a derived one is made from, and how: sr-Latn from sr-Cyrl and back. */
static const struct derivation {
	const char *lang, *from, *transform;
} derivable[] = {
	{ "sr-Latn", "sr-Cyrl", "sr-Cyrl-to-Latn" },
	{ "sr-Cyrl", "sr-Latn", "sr-Latn-to-Cyrl" },
};
#define N_DERIVABLE (sizeof derivable / sizeof derivable[0])

static size_t derivable_index(const char *lang)
{
	size_t d = 0;
	while (d < N_DERIVABLE && strcmp(derivable[d].lang, lang))
		d++;
	return d;
}

int task_import_check_derive(const struct task_import_input *in, size_t n_in, const char *const *derive,
			     size_t n_derive, struct mrl_err *err)
{
	for (size_t k = 0; k < n_derive; k++) {
		const char *lang = derive[k];
		size_t d = derivable_index(lang);
		if (d == N_DERIVABLE)
			return mrl_err_set(err, MRL_EINPUT, "--derive %s: only sr-Latn (from sr-Cyrl) and sr-Cyrl (from "
					   "sr-Latn) can be derived, by transliteration", lang);
		bool have_from = false;
		for (size_t i = 0; i < n_in; i++) {
			if (!strcmp(in[i].lang, lang))
				return mrl_err_set(err, MRL_EINPUT, "--derive %s: %s is also imported from %s; give one or "
						   "the other", lang, lang, in[i].path);
			have_from |= !strcmp(in[i].lang, derivable[d].from);
		}
		if (!have_from)
			return mrl_err_set(err, MRL_EINPUT, "--derive %s: it is made from %s, which is not imported (add "
					   "--lang %s=FILE)", lang, derivable[d].from, derivable[d].from);
		for (size_t j = 0; j < k; j++)
			if (!strcmp(derive[j], lang))
				return mrl_err_set(err, MRL_EINPUT, "--derive %s given twice", lang);
	}
	return 0;
}

/* A generate task's answer expectations for the derived language, from its source's:
 * the language as is (a translation into English stays one); the script as is where
 * the answer is in another language (English answers: Latn), else the derived
 * language's own (an sr-Cyrl answer expected in Cyrl: sr-Latn's in Latn). */
static int derive_expectations(json_t *task, const struct derivation *d)
{
	json_t *lang = json_object_get(json_object_get(task, "expect_language"), d->from);
	json_t *scripts = json_object_get(task, "expect_script"), *script = json_object_get(scripts, d->from);
	if (lang && json_object_set_new(json_object_get(task, "expect_language"), d->lang, json_copy(lang)))
		return -1;
	if (script) {
		const char *own = strstr(d->from, "Cyrl") ? "Cyrl" : "Latn", *other = strcmp(own, "Cyrl") ? "Cyrl" : "Latn";
		const char *s = json_string_value(script), *l = json_string_value(lang);
		bool other_language = l && strcmp(l, "sr");
		if (json_object_set_new(scripts, d->lang,
					json_string(s && !other_language && !strcmp(s, own) ? other : s ? s : "")))
			return -1;
	}
	return 0;
}

/* Whether a template (a string or a switch) writes text verbatim ("{=A}"). */
static bool writes_verbatim(json_t *tmpl)
{
	if (json_is_string(tmpl))
		return strstr(json_string_value(tmpl), "{=") != NULL;
	const char *k;
	json_t *c;
	json_object_foreach(json_object_get(tmpl, "cases"), k, c)
		if (json_is_string(c) && strstr(json_string_value(c), "{="))
			return true;
	return false;
}

/* The fields a derived language copies as they are (NULL: none): the importer's own
 * (also; may be NULL), the answers where
 * they are labels (the templates write them verbatim, "{=A}: {mc_answer1}", which is
 * how the label importers, Belebele, Global-MMLU, OZ Eval, MMLU-ProX, say so): the
 * choices, a generate task's target letters; and the field a context template switches
 * on, a key rather than text. A yes/no task whose choices are words ("Da", "Ne") keeps
 * none: they are transliterated with the rest. */
static json_t *kept_fields(json_t *task, const char *also)
{
	const char *type = json_string_value(json_object_get(task, "type")), *lang, *sw = NULL;
	bool labels = false;
	json_t *t;
	json_object_foreach(json_object_get(task, "templates"), lang, t) {
		json_t *ctx = json_object_get(t, "context");
		labels |= writes_verbatim(ctx);
		if (!sw)
			sw = json_string_value(json_object_get(ctx, "switch"));
	}
	const char *answer = labels && type ? !strcmp(type, "multiple_choice") ? "choices"
					 : !strcmp(type, "generate")      ? "target"
									  : NULL
					    : NULL;
	json_t *keep = answer || (sw && labels) || also ? json_array() : NULL;
	if (answer)
		json_array_append_new(keep, json_string(answer));
	if (sw && labels) /* COPA's switch on "cause"/"effect" is derived from Cyrillic: nothing to keep */
		json_array_append_new(keep, json_string(sw));
	if (also)
		json_array_append_new(keep, json_string(also));
	return keep;
}

/* Add each derived language to every task of the suite: to its languages and its
 * "derived" object; the loader transliterates the source's variants and templates,
 * except a task's answer labels (its choices, kept; its templates write them as
 * verbatim "{=A}"), which stay the same in both scripts. */
static int derive_add(json_t *root, const struct task_import_opts *opts, const char *keep_field, struct mrl_err *err)
{
	size_t t;
	json_t *task;
	json_array_foreach(json_object_get(root, "tasks"), t, task) {
		for (size_t k = 0; opts && k < opts->n_derive; k++) {
			size_t d = derivable_index(opts->derive[k]);
			json_t *derived = json_object_get(task, "derived"), *how, *keep;
			if (!derived && json_object_set_new(task, "derived", derived = json_object()))
				goto nomem;
			if (json_object_set_new(derived, derivable[d].lang, how = json_object()) ||
			    json_object_set_new(how, "from", json_string(derivable[d].from)) ||
			    json_object_set_new(how, "transform", json_string(derivable[d].transform)) ||
			    ((keep = kept_fields(task, keep_field)) && json_object_set_new(how, "keep", keep)) ||
			    json_array_append_new(json_object_get(task, "languages"), json_string(derivable[d].lang)) ||
			    derive_expectations(task, &derivable[d]))
				goto nomem;
		}
	}
	return 0;
nomem:
	return mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
}

/* The pool's files (--pool): only for an importer that takes them, each language
 * once and one of the inputs'. */
static int pool_check(const char *format, bool takes_pool, const struct task_import_input *in, size_t n_in,
		      const struct task_import_opts *opts, struct mrl_err *err)
{
	const size_t n_pool = opts ? opts->n_pool : 0;
	if (n_pool && !takes_pool)
		return mrl_err_set(err, MRL_EINPUT, "import %s takes no few-shot pool (--pool is for global-mmlu, "
				   "mmlu-prox and flores)", format);
	for (size_t p = 0; p < n_pool; p++) {
		const struct task_import_input *x = &opts->pool[p];
		size_t i = 0;
		while (i < n_in && strcmp(in[i].lang, x->lang))
			i++;
		if (i == n_in)
			return mrl_err_set(err, MRL_EINPUT, "--pool %s=%s: %s is not one of the imported languages (--lang)",
					   x->lang, x->path, x->lang);
		for (size_t q = 0; q < p; q++)
			if (!strcmp(opts->pool[q].lang, x->lang))
				return mrl_err_set(err, MRL_EINPUT, "--pool: language '%s' given twice (%s and %s)", x->lang,
						   opts->pool[q].path, x->path);
	}
	return 0;
}

/* ---- the entry point ------------------------------------------------------------- */

size_t task_n_importers(void) { return N_IMPORTERS; }
const char *task_importer_name(size_t i) { return i < N_IMPORTERS ? importers[i].name : NULL; }
const char *task_importer_summary(size_t i) { return i < N_IMPORTERS ? importers[i].summary : NULL; }

int task_import(const char *format, const struct task_import_input *inputs, size_t n_inputs,
		const struct task_import_opts *opts, char **json_out, size_t *n_trimmed, struct mrl_err *err)
{
	size_t trimmed = 0;
	*json_out = NULL;
	if (n_trimmed)
		*n_trimmed = 0;
	size_t k = 0;
	while (k < N_IMPORTERS && strcmp(importers[k].name, format))
		k++;
	if (k == N_IMPORTERS) {
		char known[256] = "";
		for (size_t i = 0, len = 0; i < N_IMPORTERS && len < sizeof known; i++)
			len += (size_t)snprintf(known + len, sizeof known - len, "%s%s", i ? ", " : "", importers[i].name);
		return mrl_err_set(err, MRL_EUNSUPPORTED, "unknown import format '%s' (known: %s)", format, known);
	}
	if (!n_inputs)
		return mrl_err_set(err, MRL_EINPUT, "import %s: no input files (give at least one LANG=FILE)", format);
	for (size_t i = 0; i < n_inputs; i++) {
		char why[256];
		if (!task_lang_tag_check(inputs[i].lang, why, sizeof why))
			return mrl_err_set(err, MRL_EINPUT, "%s", why);
		for (size_t j = 0; j < i; j++)
			if (!strcmp(inputs[i].lang, inputs[j].lang))
				return mrl_err_set(err, MRL_EINPUT, "language '%s' given twice (%s and %s)", inputs[i].lang,
						   inputs[j].path, inputs[i].path);
	}
	int rc = pool_check(importers[k].name, importers[k].takes_pool, inputs, n_inputs, opts, err);
	if (!rc)
		rc = task_import_check_derive(inputs, n_inputs, opts ? opts->derive : NULL, opts ? opts->n_derive : 0, err);
	if (rc)
		return rc;
	json_t *root = NULL;
	if ((rc = importers[k].fn(inputs, n_inputs, opts, &root, &trimmed, err)))
		return rc;
	if ((rc = derive_add(root, opts, importers[k].keep, err))) {
		json_decref(root);
		return rc;
	}
	if (n_trimmed)
		*n_trimmed = trimmed;
	*json_out = json_dumps(root, JSON_INDENT(1));
	json_decref(root);
	if (!*json_out)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory writing the suite");
	return 0;
}
