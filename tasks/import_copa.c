/* import_copa.c — `merilo import copa`: COPA-style JSONL (BENCHić, COPA-SR, COPA-HR,
 * SuperGLUE's COPA), one file per language, paired by idx.
 *
 * Each language joins premise and alternative in its own words (the suite's
 * templates: "<premise>, jer <alternative>"); labels and questions must agree
 * across languages.
 */
#include "tasks/import_int.h"

#include <stdlib.h>
#include <string.h>

/* How each language joins premise and alternative: "<premise>, jer <alternative>".
 * English follows lm-eval-harness's copa (" because" / " therefore", no comma). */
struct copa_wording {
	const char *lang, *cause, *effect;
};
static const struct copa_wording copa_words[] = {
	{ "en", "{premise|rstrip_period} because", "{premise|rstrip_period} therefore" },
	{ "sr-Cyrl", "{premise|rstrip_period}, зато што", "{premise|rstrip_period}, па" },
	{ "sr-Latn", "{premise|rstrip_period}, zato što", "{premise|rstrip_period}, pa" },
	{ "hr", "{premise|rstrip_period}, jer", "{premise|rstrip_period}, pa" },
	{ "bs", "{premise|rstrip_period}, jer", "{premise|rstrip_period}, pa" },
	{ "cnr", "{premise|rstrip_period}, jer", "{premise|rstrip_period}, pa" },
};

static const struct copa_wording *copa_wording_for(const char *lang)
{
	return imp_wording(copa_words, sizeof copa_words / sizeof copa_words[0], sizeof copa_words[0], lang);
}

/* Check one COPA record; returns 0 or MRL_EINPUT naming file:line and the field. */
static int copa_check(const char *path, const struct imp_row *r, struct mrl_err *err)
{
	static const char *const strings[] = { "premise", "choice1", "choice2" };
	for (size_t i = 0; i < 3; i++) {
		int rc = imp_need_text(path, r, strings[i], NULL, err);
		if (rc)
			return rc;
	}
	const char *q = json_string_value(json_object_get(r->obj, "question"));
	if (!q || (strcmp(q, "cause") && strcmp(q, "effect")))
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"question\" must be \"cause\" or \"effect\"", path, r->line);
	json_t *label = json_object_get(r->obj, "label");
	if (!json_is_integer(label) || (json_integer_value(label) != 0 && json_integer_value(label) != 1))
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"label\" must be 0 or 1", path, r->line);
	json_t *idx = json_object_get(r->obj, "idx");
	if (!json_is_integer(idx) || json_integer_value(idx) < 0)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"idx\" must be a non-negative integer", path, r->line);
	return 0;
}

/* Read and check each language's COPA file, its rows keyed and sorted by idx (no idx twice). */
static int copa_read(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
		     struct imp_jsonl *files, struct mrl_err *err)
{
	static const char *const text_fields[] = { "premise", "choice1", "choice2", NULL };
	struct imp_progress rp;
	int rc;
	imp_progress_init(&rp, opts, in, n_in);
	for (size_t i = 0; i < n_in; i++) {
		if ((rc = imp_need_wording(copa_words, sizeof copa_words / sizeof copa_words[0], sizeof copa_words[0],
					   &in[i], "COPA", err)))
			return rc;
		if ((rc = imp_jsonl_read(in[i].path, &files[i], &rp, err)))
			return rc;
		for (size_t r = 0; r < files[i].n; r++) {
			if ((rc = copa_check(in[i].path, &files[i].rows[r], err)))
				return rc;
			files[i].rows[r].key = json_integer_value(json_object_get(files[i].rows[r].obj, "idx"));
		}
		if ((rc = imp_check_script(&in[i], &files[i], text_fields, opts, err)) ||
		    (rc = imp_sort_rows(&in[i], &files[i], "idx", err)))
			return rc;
	}
	return 0;
}

/* Each language's variant of item idx (a language whose file lacks it is
 * left out); the labels and the questions must agree across languages. */
static int copa_item(json_t *item, const struct task_import_input *in, size_t n_in, const struct imp_jsonl *files,
		     long long idx, size_t *n_trimmed, struct mrl_err *err)
{
	int first = -1;
	for (size_t i = 0; i < n_in; i++) {
		const struct imp_row *r = imp_find_key(&files[i], idx);
		if (!r)
			continue;
		long long label = json_integer_value(json_object_get(r->obj, "label"));
		const char *q = json_string_value(json_object_get(r->obj, "question"));
		if (first < 0) {
			first = (int)i;
			IMP_SET(item, "gold", json_integer(label));
		} else {
			const struct imp_row *f = imp_find_key(&files[first], idx);
			long long flabel = json_integer_value(json_object_get(f->obj, "label"));
			const char *fq = json_string_value(json_object_get(f->obj, "question"));
			if (label != flabel)
				return mrl_err_set(err, MRL_EINPUT, "%s:%zu: idx %lld has label %lld, but %s:%zu has label %lld "
						   "(labels must agree across languages)", in[i].path, r->line, idx,
						   label, in[first].path, f->line, flabel);
			if (strcmp(q, fq))
				return mrl_err_set(err, MRL_EINPUT, "%s:%zu: idx %lld asks for the %s, but %s:%zu asks for the %s",
						   in[i].path, r->line, idx, q, in[first].path, f->line, fq);
		}
		json_t *v = json_object(), *choices = json_array();
		if (!v || !choices) {
			json_decref(v), json_decref(choices);
			goto nomem;
		}
		IMP_SET(item, in[i].lang, v);
		IMP_SET(v, "premise", imp_trimmed_string(json_object_get(r->obj, "premise"), n_trimmed));
		IMP_SET(v, "question", json_string(q));
		IMP_SET(v, "choices", choices);
		if (json_array_append_new(choices, imp_trimmed_string(json_object_get(r->obj, "choice1"), n_trimmed)) ||
		    json_array_append_new(choices, imp_trimmed_string(json_object_get(r->obj, "choice2"), n_trimmed)))
			goto nomem;
	}
	return 0;
nomem:
	return mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
}

/* The suite's one task: multiple choice over the two alternatives, each language's wording. */
static json_t *copa_task(const struct task_import_input *in, size_t n_in)
{
	json_t *task = imp_mc_task_new("copa", " ");
	for (size_t i = 0; task && i < n_in; i++) {
		const struct copa_wording *cw = copa_wording_for(in[i].lang);
		if (imp_task_language(task, in[i].lang,
				      json_pack("{s:{s:s, s:{s:s, s:s}}, s:s}", "context", "switch", "question", "cases", "cause",
						cw->cause, "effect", cw->effect, "choice", "{choice|lcfirst}"))) {
			json_decref(task);
			return NULL;
		}
	}
	return task;
}

int task_import_copa(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
		     json_t **out, size_t *n_trimmed, struct mrl_err *err)
{
	static const struct imp_spec spec = {
		"copa", "COPA (Choice Of Plausible Alternatives): pick the more plausible cause or effect of a premise",
		"imported from COPA JSONL", "idx", copa_read, copa_task, copa_item,
	};
	return imp_run(&spec, in, n_in, opts, out, n_trimmed, err);
}
