/* import_flores.c — `merilo import flores`: FLORES-200 / FLORES+ (NLLB Team 2022,
 * openlanguagedata/flores_plus), the same sentences translated into 200 languages,
 * as two translation tasks: from English into each other language, and back.
 *
 * Inputs, one per language: the release's plain text files (devtest/srp_Cyrl.devtest,
 * a sentence a line, line n of every file the same sentence), or JSONL rows with a
 * "text" and an integer "id" (FLORES+ exported from its dataset); a file whose
 * name ends in .jsonl or .json is read as JSONL. Sentences pair by line number or
 * by id. English is required: it is the source of one task and the target of the
 * other.
 *
 * The tasks are generate tasks scored with chrF, chrF++ and BLEU (sacrebleu's
 * corpus scores) and the script and language checks of docs/generation-metrics.md;
 * the instruction is written in the other language, the English side labelled
 * "English", as in the demo suite.
 */
#include "tasks/import_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* How a language asks for a translation into it and names itself. */
struct flores_wording {
	const char *lang, *into, *name, *script; /* script: expect_script where the tag does not imply one */
};
static const struct flores_wording flores_words[] = {
	{ "sr-Cyrl", "Преведи на српски.", "Српски", NULL },
	{ "sr-Latn", "Prevedi na srpski.", "Srpski", NULL },
	{ "hr", "Prevedi na hrvatski.", "Hrvatski", NULL },
	{ "bs", "Prevedi na bosanski.", "Bosanski", NULL },
	{ "cnr", "Prevedi na crnogorski.", "Crnogorski", "Latn" },
	{ "mk", "Преведи на македонски.", "Македонски", NULL },
	{ "sl", "Prevedi v slovenščino.", "Slovenščina", NULL },
};
#define N_WORDINGS (sizeof flores_words / sizeof flores_words[0])
/* New tokens a translation may take: FLORES sentences are 21 words on average, about
 * 30-60 tokens in English and up to twice that in Cyrillic with an English-centred
 * vocabulary. */
#define FLORES_MAX_NEW_TOKENS 256

static const struct flores_wording *wording_for(const char *lang)
{
	return imp_wording(flores_words, N_WORDINGS, sizeof flores_words[0], lang);
}

static bool is_jsonl(const char *path)
{
	size_t n = strlen(path);
	return (n >= 6 && !strcmp(path + n - 6, ".jsonl")) || (n >= 5 && !strcmp(path + n - 5, ".json"));
}

/* Check a row: a non-empty "text", and in JSONL an integer "id" (its key) if it has
 * one (else its line number). */
static int flores_check(const char *path, struct imp_row *r, bool jsonl, struct mrl_err *err)
{
	json_t *text = json_object_get(r->obj, "text");
	if (!json_is_string(text) || !imp_trimmed_length(text))
		return mrl_err_set(err, MRL_EINPUT, jsonl ? "%s:%zu: \"text\" is missing or empty; expected the sentence"
							  : "%s:%zu: an empty line; expected a sentence a line",
				   path, r->line);
	if (!jsonl)
		return 0;
	json_t *id = json_object_get(r->obj, "id");
	if (id && (!json_is_integer(id) || json_integer_value(id) < 0))
		return mrl_err_set(err, MRL_EINPUT, "%s:%zu: \"id\" must be a non-negative integer", path, r->line);
	r->key = id ? json_integer_value(id) : (long long)r->line;
	return 0;
}

/* Read and check each language's file, its rows keyed and sorted (no key twice). */
static int flores_read(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
		       struct imp_jsonl *files, struct mrl_err *err)
{
	static const char *const text_fields[] = { "text", NULL };
	struct imp_progress rp;
	int rc;
	size_t n_en = 0;
	for (size_t i = 0; i < n_in; i++) {
		if (!strcmp(in[i].lang, "en"))
			n_en++;
		else if (!wording_for(in[i].lang))
			return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: no FLORES wording for language '%s' (known: en, "
					   "sr-Cyrl, sr-Latn, hr, bs, cnr, mk, sl)", in[i].path, in[i].lang);
	}
	if (!n_en || n_in < 2)
		return mrl_err_set(err, MRL_EINPUT, "import flores: give en and at least one other language (English is "
				   "the source of one task and the target of the other)");
	imp_progress_init(&rp, opts, in, n_in);
	for (size_t i = 0; i < n_in; i++) {
		bool jsonl = is_jsonl(in[i].path);
		if ((rc = jsonl ? imp_jsonl_read(in[i].path, &files[i], &rp, err)
				: imp_lines_read(in[i].path, &files[i], &rp, err)))
			return rc;
		for (size_t r = 0; r < files[i].n; r++)
			if ((rc = flores_check(in[i].path, &files[i].rows[r], jsonl, err)))
				return rc;
		if ((rc = imp_check_script(&in[i], &files[i], text_fields, opts, err)) ||
		    (rc = imp_sort_rows(&in[i], &files[i], jsonl ? "id" : "line", err)))
			return rc;
	}
	return 0;
}

/* The items of one task: for each sentence English and at least one other language
 * have, a variant per other language, {"source", "target"} from English (into) or
 * into English (!into). */
static int flores_items(json_t *items, const struct task_import_input *in, size_t n_in, const struct imp_jsonl *files,
			const long long *keys, size_t n_keys, bool into, const char *id_prefix, size_t *n_trimmed,
			size_t *n_built)
{
	size_t en = 0;
	while (strcmp(in[en].lang, "en"))
		en++;
	*n_built = 0;
	for (size_t a = 0; a < n_keys; a++) {
		const struct imp_row *e = imp_find_key(&files[en], keys[a]);
		json_t *item = NULL;
		for (size_t i = 0; e && i < n_in; i++) {
			const struct imp_row *r = i == en ? NULL : imp_find_key(&files[i], keys[a]);
			if (!r)
				continue;
			if (!item) {
				if (!(item = json_object()) || json_array_append_new(items, item))
					return MRL_ENOMEM;
				if (json_object_set_new(item, "id", json_sprintf("%s%lld", id_prefix, keys[a])))
					return MRL_ENOMEM;
				(*n_built)++;
			}
			json_t *v = json_object(), *en_text = imp_trimmed_string(json_object_get(e->obj, "text"), n_trimmed),
			       *text = imp_trimmed_string(json_object_get(r->obj, "text"), n_trimmed);
			if (json_object_set_new(item, in[i].lang, v) ||
			    json_object_set_new(v, "source", into ? en_text : text) ||
			    json_object_set_new(v, "target", into ? text : en_text))
				return MRL_ENOMEM;
		}
	}
	return 0;
}

/* One of the two tasks, its items left empty: into = from English into the others. */
static json_t *flores_task(const struct task_import_input *in, size_t n_in, bool into)
{
	static const char *const metrics_into[] = { "chrf", "chrf++", "bleu", "script_ok", "lang_ok", NULL };
	json_t *task = json_object(), *langs = json_array(), *tmpls = json_object(), *metrics = json_array(),
	       *stop = json_array(), *scripts = json_object(), *expect_lang = json_object();
	if (!task || !langs || !tmpls || !metrics || !stop || !scripts || !expect_lang) {
		json_decref(langs), json_decref(tmpls), json_decref(metrics);
		json_decref(stop), json_decref(scripts), json_decref(expect_lang);
		goto nomem;
	}
	IMP_SET(task, "id", json_string(into ? "translate_from_en" : "translate_to_en"));
	IMP_SET(task, "type", json_string("generate"));
	IMP_SET(task, "description", json_string(into ? "FLORES sentences translated from English; the answer must be in "
							"the target language and script"
						      : "FLORES sentences translated into English"));
	IMP_SET(task, "metrics", metrics);
	for (size_t k = 0; metrics_into[k]; k++)
		if (json_array_append_new(metrics, json_string(metrics_into[k])))
			goto nomem;
	IMP_SET(task, "languages", langs);
	IMP_SET(task, "templates", tmpls);
	IMP_SET(task, "stop", stop);
	if (json_array_append_new(stop, json_string("\n")))
		goto nomem;
	IMP_SET(task, "max_new_tokens", json_integer(FLORES_MAX_NEW_TOKENS));
	IMP_SET(task, "expect_script", scripts);
	if (!into)
		IMP_SET(task, "expect_language", expect_lang);
	else
		json_decref(expect_lang), expect_lang = NULL;
	for (size_t i = 0; i < n_in; i++) {
		const struct flores_wording *w = wording_for(in[i].lang);
		if (!w)
			continue; /* English */
		json_t *t = json_object();
		if (!t || json_array_append_new(langs, json_string(w->lang))) {
			json_decref(t);
			goto nomem;
		}
		IMP_SET(tmpls, w->lang, t);
		IMP_SET(t, "context", into ? json_sprintf("%s\nEnglish: {source}\n%s:", w->into, w->name)
					   : json_sprintf("Translate into English.\n%s: {source}\nEnglish:", w->name));
		if (!into) {
			IMP_SET(scripts, w->lang, json_string("Latn"));
			IMP_SET(expect_lang, w->lang, json_string("en"));
		} else if (w->script) {
			IMP_SET(scripts, w->lang, json_string(w->script));
		}
	}
	if (!json_object_size(scripts))
		json_object_del(task, "expect_script");
	IMP_SET(task, "items", json_array());
	return task;
nomem:
	json_decref(task);
	return NULL;
}

/* One set of files (one per language, the sentences or the pool's): all in one form,
 * read, keyed and sorted into files; the distinct keys into *keys; the unpaired ones
 * noted (pool: prefixed "Pool: ") and counted. */
static int flores_set(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts, bool pool,
		      struct imp_jsonl *files, long long **keys, size_t *n_keys, struct mrl_buf *note,
		      size_t *n_unpaired, struct mrl_err *err)
{
	int rc;
	for (size_t i = 1; i < n_in; i++)
		if (is_jsonl(in[i].path) != is_jsonl(in[0].path))
			return mrl_err_set(err, MRL_EINPUT, "import flores: %s is %s but %s is %s; give every language in "
					   "one form (lines pair by number, JSONL rows by id)", in[0].path,
					   is_jsonl(in[0].path) ? "JSONL" : "plain text", in[i].path,
					   is_jsonl(in[i].path) ? "JSONL" : "plain text");
	if ((rc = flores_read(in, n_in, opts, files, err)))
		return rc;
	if (!(*keys = imp_all_keys(files, n_in, n_keys)))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	imp_unpaired(in, n_in, files, *keys, *n_keys, is_jsonl(in[0].path) ? "id" : "line", NULL, pool ? "Pool: " : NULL,
		     note, n_unpaired);
	return note->oom ? mrl_err_set(err, MRL_ENOMEM, "out of memory") : 0;
}

int task_import_flores(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
		       json_t **out, size_t *n_trimmed, struct mrl_err *err)
{
	const size_t n_pool = opts ? opts->n_pool : 0;
	struct imp_jsonl *files = calloc(n_in, sizeof *files), *pool = calloc(n_pool + 1, sizeof *pool);
	long long *all = NULL, *pool_keys = NULL;
	size_t n_keys = 0, n_unpaired = 0, n_built = 0, n_pool_keys = 0, n_pool_built = 0;
	json_t *root = NULL;
	int rc = 0;
	struct mrl_buf note;
	mrl_buf_init(&note);
	*out = NULL;
	if (!files || !pool) {
		free(files), free(pool);
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
	if ((rc = flores_set(in, n_in, opts, false, files, &all, &n_keys, &note, &n_unpaired, err)) ||
	    (n_pool && (rc = flores_set(opts->pool, n_pool, opts, true, pool, &pool_keys, &n_pool_keys, &note,
					&(size_t){ 0 }, err))))
		goto out;
	const char *desc = "FLORES: the same sentences in many languages, translated from English and into English";
	if (!(root = imp_suite_new(opts, "flores", desc, "imported from FLORES", in, n_in, &note, err))) {
		rc = err->code;
		goto out;
	}
	for (int into = 1; into >= 0; into--) {
		json_t *task = flores_task(in, n_in, into), *pool_items = n_pool ? json_array() : NULL;
		if (!task || json_array_append_new(json_object_get(root, "tasks"), task) ||
		    flores_items(json_object_get(task, "items"), in, n_in, files, all, n_keys, into, "",
				 into ? n_trimmed : &(size_t){ 0 }, &n_built)) /* each field counted once */
			goto nomem;
		if (n_pool && (!pool_items || json_object_set_new(task, "pool", pool_items) ||
			       flores_items(pool_items, opts->pool, n_pool, pool, pool_keys, n_pool_keys, into, "pool-",
					    into ? n_trimmed : &(size_t){ 0 }, &n_pool_built)))
			goto nomem;
		imp_tell_items(opts, n_built, n_built);
	}
	imp_report_pairing(opts, n_built, n_unpaired, &note); /* the pool's unpaired are in the note */
	if (!n_built || (n_pool && !n_pool_built)) {
		rc = mrl_err_set(err, MRL_EINPUT, "import flores: no sentence %sis both in English and in another language "
				 "(the files pair by %s)", n_built ? "of the pool " : "",
				 is_jsonl(in[0].path) ? "id" : "line number");
		goto out;
	}
	*out = root;
	root = NULL;
out:
	json_decref(root);
	imp_files_release(files, n_in);
	imp_files_release(pool, n_pool);
	free(all), free(pool_keys);
	mrl_buf_release(&note);
	return rc;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory building the suite");
	goto out;
}
