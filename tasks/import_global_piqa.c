/* import_global_piqa.c — `merilo import global-piqa`: the parallel split of Global
 * PIQA (Chang et al. 2025, mrlbenchmarks/global-piqa-parallel), physical commonsense
 * questions written in English and translated by hand into over 100 languages and
 * scripts: srp_cyrl and srp_latn (Serbian in both scripts, each typed by people, not
 * transliterated), hrv_latn, bos_latn, mkd_cyrl, slv_latn among them. One JSONL file
 * per language (a language's config of the dataset, exported).
 *
 * A row is {"prompt", "solution0", "solution1", ..., "label"}: a goal, its candidate
 * solutions (four in the parallel split) and the right one's index. The rows carry
 * no id: every language's config lists the same questions in the same order, so a
 * question is its row's position, 0, 1, ... (the item id), and a question's label
 * must be the same in every file (a check that two files are aligned).
 *
 * The prompt is lm-eval-harness's global_piqa_parallel_cloze: the prompt as it is,
 * each solution scored after a space, metrics acc, acc_norm and acc_bytes. It has no
 * words of its own, so every language is scored the same way.
 */
#include "tasks/import_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SOLUTIONS 16

/* How many solutions a row has: solution0, solution1, ... as long as they are there. */
static size_t n_solutions(const json_t *row)
{
	size_t n = 0;
	char key[32];
	for (; n < MAX_SOLUTIONS; n++) {
		snprintf(key, sizeof key, "solution%zu", n);
		if (!json_object_get(row, key))
			break;
	}
	return n;
}

static int piqa_check(const char *path, struct imp_row *r, size_t pos, struct mrl_err *err)
{
	json_t *label = json_object_get(r->obj, "label");
	int rc = imp_need_text(path, r, "prompt", "the goal", err);
	if (rc)
		return rc;
	size_t n = n_solutions(r->obj);
	if (n < 2)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: expected at least \"solution0\" and \"solution1\"", path,
				   r->line);
	for (size_t k = 0; k < n; k++) {
		char key[32];
		snprintf(key, sizeof key, "solution%zu", k);
		json_t *s = json_object_get(r->obj, key);
		if (!json_is_string(s) || !imp_trimmed_length(s))
			return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"%s\" is not a non-empty string", path, r->line, key);
	}
	if (!json_is_integer(label) || json_integer_value(label) < 0 || json_integer_value(label) >= (json_int_t)n)
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"label\" must be the index of the right solution, 0 to %zu",
				   path, r->line, n - 1);
	r->key = (long long)pos;
	return 0;
}

static int piqa_read(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
		     struct imp_jsonl *files, struct mrl_err *err)
{
	static const char *const text_fields[] = { "prompt", "solution0", "solution1", NULL };
	struct imp_progress rp;
	int rc;
	imp_progress_init(&rp, opts, in, n_in);
	for (size_t i = 0; i < n_in; i++) {
		if ((rc = imp_jsonl_read(in[i].path, &files[i], &rp, err)))
			return rc;
		for (size_t r = 0; r < files[i].n; r++)
			if ((rc = piqa_check(in[i].path, &files[i].rows[r], r, err)))
				return rc;
		if ((rc = imp_check_script(&in[i], &files[i], text_fields, opts, err)))
			return rc;
	}
	return 0;
}

/* The one task: the prompt as it is in every language, each solution after a space. */
static json_t *piqa_task(const struct task_import_input *in, size_t n_in)
{
	json_t *task = imp_mc_task_new("global_piqa", " ");
	if (task && json_object_set_new(task, "metrics", json_pack("[s, s, s]", "acc", "acc_norm", "acc_bytes")))
		goto nomem;
	for (size_t i = 0; task && i < n_in; i++)
		if (imp_task_language(task, in[i].lang, json_pack("{s:s}", "context", "{prompt}")))
			goto nomem;
	return task;
nomem:
	json_decref(task);
	return NULL;
}

/* The variants of question key (the languages whose files have it) and its gold, the same label in
 * every file, with the same number of solutions. */
static int piqa_item(json_t *item, const struct task_import_input *in, size_t n_in, const struct imp_jsonl *files,
		     long long key, size_t *n_trimmed, struct mrl_err *err)
{
	const struct imp_row *first = NULL;
	size_t first_i = 0;
	for (size_t i = 0; i < n_in; i++) {
		const struct imp_row *r = (size_t)key < files[i].n ? &files[i].rows[key] : NULL;
		if (!r)
			continue;
		json_int_t label = json_integer_value(json_object_get(r->obj, "label"));
		size_t n = n_solutions(r->obj);
		if (!first) {
			first = r, first_i = i;
			IMP_SET(item, "gold", json_integer(label));
		} else if (label != json_integer_value(json_object_get(first->obj, "label")) ||
			   n != n_solutions(first->obj)) {
			return mrl_err_set(err, MRL_EINPUT, "%s:%zu: solution %lld of %zu is right, but %s:%zu says %lld of %zu "
					   "(the files must list the same questions in the same order)", in[i].path, r->line,
					   (long long)label, n, in[first_i].path, first->line,
					   (long long)json_integer_value(json_object_get(first->obj, "label")),
					   n_solutions(first->obj));
		}
		json_t *v = json_object(), *choices;
		IMP_SET(item, in[i].lang, v); /* a NULL v fails here */
		IMP_SET(v, "prompt", imp_trimmed_string(json_object_get(r->obj, "prompt"), n_trimmed));
		IMP_SET(v, "choices", choices = json_array());
		for (size_t k = 0; k < n; k++) {
			char skey[32];
			snprintf(skey, sizeof skey, "solution%zu", k);
			json_t *s = imp_trimmed_string(json_object_get(r->obj, skey), n_trimmed);
			if (!s || json_array_append_new(choices, s))
				goto nomem;
		}
	}
	return 0;
nomem:
	return mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
}

int task_import_global_piqa(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			    json_t **out, size_t *n_trimmed, struct mrl_err *err)
{
	static const struct imp_spec spec = {
		"global-piqa",
		"Global PIQA (parallel): physical commonsense questions written in English and translated by hand, "
		"the same questions in every language",
		"imported from Global PIQA (parallel) JSONL", "row", piqa_read, piqa_task, piqa_item,
	};
	return imp_run(&spec, in, n_in, opts, out, n_trimmed, err);
}
