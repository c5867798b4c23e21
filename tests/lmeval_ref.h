/* lmeval_ref.h — an imported suite's prompts in one language against lm-evaluation-harness's own
 * rendering of the same file (ci/make-import-reference.py writes it): the context, the
 * choices, the gold index and the target delimiter of every question, byte for byte.
 * Header-only, for tests/task_import_*.c; include after tests/tap.h. */
#ifndef MRL_LMEVAL_REF_H
#define MRL_LMEVAL_REF_H

#include "tasks/task.h"
#include "tests/tap.h"

#include <jansson.h>

/* The reference file at path (a new reference), or NULL; one check that it loads. */
static inline json_t *load_lmeval_ref(const char *path)
{
	json_error_t je;
	json_t *ref = json_load_file(path, 0, &je);
	char name[300];
	snprintf(name, sizeof name, "%s: lm-eval's reference loads", path);
	if (!ok(ref != NULL, name))
		diag("%s", je.text);
	return ref;
}

/* Items 0..n-1 of t in lang against the n requests of the reference file at path. */
static inline void check_lmeval_lang(const struct task_task *t, const char *path, size_t n, const char *lang)
{
	json_error_t je;
	json_t *ref = json_load_file(path, 0, &je), *reqs = json_object_get(ref, "requests");
	char name[300];
	snprintf(name, sizeof name, "lm-eval's rendering (%s): %zu questions", path, n);
	if (!ok(json_array_size(reqs) == n, name)) {
		json_decref(ref);
		return;
	}
	size_t i, same_context = 0, same_choices = 0, same_gold = 0, same_delim = 0;
	json_t *r;
	json_array_foreach(reqs, i, r) {
		struct task_prompt p;
		struct mrl_err err = {0};
		if (task_render(t, task_item_at(t, i), lang, &p, &err)) {
			diag("%s", err.msg);
			continue;
		}
		const char *want = json_string_value(json_object_get(r, "context"));
		if (strcmp(p.context, want ? want : ""))
			diag("item %zu: merilo '%s', lm-eval '%s'", i, p.context, want ? want : "(none)");
		else
			same_context++;
		json_t *c = json_object_get(r, "choices");
		bool choices = json_array_size(c) == p.n_choices;
		for (size_t k = 0; choices && k < p.n_choices; k++)
			choices = !strcmp(p.choices[k], json_string_value(json_array_get(c, k)));
		same_choices += choices;
		same_gold += p.gold == json_integer_value(json_object_get(r, "gold"));
		same_delim += !strcmp(p.target_delimiter, json_string_value(json_object_get(r, "target_delimiter")));
		task_prompt_release(&p);
	}
	snprintf(name, sizeof name, "%s contexts: lm-eval's, byte for byte", lang);
	is_int((long long)same_context, (long long)n, name);
	snprintf(name, sizeof name, "%s choices: lm-eval's", lang);
	is_int((long long)same_choices, (long long)n, name);
	is_int((long long)same_gold, (long long)n, "gold indices: lm-eval's");
	is_int((long long)same_delim, (long long)n, "the target delimiter: lm-eval's");
	json_decref(ref);
}

/* The English prompts (belebele, global-mmlu: lm-eval words only English as merilo does). */
static inline void check_lmeval(const struct task_task *t, const char *path, size_t n)
{
	check_lmeval_lang(t, path, n, "en");
}

#endif
