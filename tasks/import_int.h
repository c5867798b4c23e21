/* import_int.h — what the importers (tasks/import_*.c) share: JSONL reading with
 * file:line errors, trimmed text fields, the provenance string, the script check
 * of a file against its tag, and pairing rows across languages by a numeric key.
 *
 * An importer reads one file per language into a struct imp_jsonl, gives every
 * row a key (COPA: its idx; Belebele: a number per question), sorts the rows by
 * key, and builds one item per distinct key with the variants of the languages
 * that have it. tasks/import.c holds the table of importers.
 */
#ifndef MRL_IMPORT_INT_H
#define MRL_IMPORT_INT_H

#include <jansson.h>

#include "common/buf.h"
#include "tasks/task.h"

/* One line of a JSONL file: the parsed object, its 1-based line number and the
 * importer's pairing key. */
struct imp_row {
	json_t *obj;
	size_t line;
	long long key;
};

struct imp_jsonl {
	const char *path;
	struct imp_row *rows;
	size_t n;
};

/* How far the reading of all inputs is, for opts->progress. */
struct imp_progress {
	const struct task_import_opts *opts; /* NULL: nobody asked */
	size_t done, total;                  /* bytes */
};

/* Start a progress count over the sizes of the inputs' files. */
void imp_progress_init(struct imp_progress *rp, const struct task_import_opts *opts,
		       const struct task_import_input *in, size_t n_in);

/* Read every non-blank line of path as a JSON object into f (the caller releases it
 * with imp_jsonl_release), each row keyed by its line number until the importer keys
 * it; the first bad line is an error "path:LINE: ...". rp (may be NULL) counts the
 * bytes read. An empty file is an error. */
int imp_jsonl_read(const char *path, struct imp_jsonl *f, struct imp_progress *rp, struct mrl_err *err);
void imp_jsonl_release(struct imp_jsonl *f);
/* Read a plain text file, a record a line, into f: each line (its line break dropped,
 * a byte-order mark skipped) is the object {"text": LINE} keyed by its 1-based line
 * number. A line that is not UTF-8 or holds a NUL byte is an error "path:LINE: ...";
 * blank lines are records too (the importer decides). */
int imp_lines_read(const char *path, struct imp_jsonl *f, struct imp_progress *rp, struct mrl_err *err);

/* A new JSON string of v's text without leading/trailing blanks (spaces, tabs,
 * line breaks); *n_trimmed (n_trimmed may be NULL) counts the fields that had any.
 * NULL on ENOMEM. */
json_t *imp_trimmed_string(const json_t *v, size_t *n_trimmed);
/* The length of v's text without leading/trailing blanks. */
size_t imp_trimmed_length(const json_t *v);
/* Row r of path must have field as a string with more than blanks: 0, or MRL_EINPUT
 * "path:LINE: \"field\" is missing; expected WHAT (a non-empty string)" (what NULL:
 * "expected a non-empty string"; "is not a non-empty string" where it is there). */
int imp_need_text(const char *path, const struct imp_row *r, const char *field, const char *what,
		  struct mrl_err *err);

/* The suite's "source": "<what>: LANG=FILE (sha256 HEX), ..." with each input's
 * file name (no folder) and content hash. A malloc'd string, or NULL with err set. */
char *imp_provenance(const char *what, const struct task_import_input *in, size_t n_in, struct mrl_err *err);

/* Does the file's text (every field named in fields, a NULL-ended list) use the
 * script its tag promises? A mismatch is MRL_EINPUT naming the file, the tag and
 * the shares; with opts->force, a warning in the report. */
int imp_check_script(const struct task_import_input *in, const struct imp_jsonl *f, const char *const *fields,
		     const struct task_import_opts *opts, struct mrl_err *err);

/* Sort f's rows by key; a key twice is MRL_EINPUT "path:LINE: duplicate <what> <key>
 * (also on line L)", what naming the key ("idx"). */
int imp_sort_rows(const struct task_import_input *in, struct imp_jsonl *f, const char *what, struct mrl_err *err);
/* The row of f (sorted by imp_sort_rows) with this key, or NULL. */
const struct imp_row *imp_find_key(const struct imp_jsonl *f, long long key);

/* The name of an item in a row: a text and a number (Belebele: the passage's link
 * and question_number; Global-MMLU: sample_id and 0). *text may be NULL (""). */
typedef void (*imp_name_fn)(const json_t *row, const char **text, long long *number);

/* Key every row of every file by its name: rows of equal name get one key (the n-th
 * occurrence of a name in a file pairs with the n-th in the others), the items
 * numbered 1, 2, ... by first appearance (file order, then row order). MRL_ENOMEM
 * is the only failure. */
int imp_number_rows(struct imp_jsonl *files, size_t n_in, imp_name_fn name, struct mrl_err *err);

/* The distinct keys of all files, sorted, into a malloc'd array (*n_keys of them);
 * NULL on ENOMEM (with n_keys 0 also when there are none). */
long long *imp_all_keys(const struct imp_jsonl *files, size_t n_in, size_t *n_keys);

/* The items not in every language (keys[0..n_keys) distinct and sorted): their
 * count into *n_unpaired and, when there are any, a sentence appended to note (after
 * a space where it holds one already, label first where given: "Pool: "):
 * "Unpaired items: 400 of 500 items are not in every language: hr lacks 400 (idx
 * 100, 101, ...)." Each key is written as names[key] when names is given, else as
 * the number; what names the ids ("idx"). */
void imp_unpaired(const struct task_import_input *in, size_t n_in, const struct imp_jsonl *files,
		  const long long *keys, size_t n_keys, const char *what, const char *const *names, const char *label,
		  struct mrl_buf *note, size_t *n_unpaired);

/* Record the pairing in the report: the items, the unpaired ones among them, and the
 * note (imp_unpaired's sentences, a pool's too) as a warning where it says anything. */
void imp_report_pairing(const struct task_import_opts *opts, size_t n_items, size_t n_unpaired,
			const struct mrl_buf *note);

/* The suite's top level (format, name, version, description, source, license and an
 * empty tasks array) from opts and the importer's defaults; note (may be empty) is
 * appended to the description; the default source names the pool's files too
 * ("...; pool: en=en-dev.jsonl (sha256 ...)"). NULL with err set. */
json_t *imp_suite_new(const struct task_import_opts *opts, const char *default_name, const char *default_description,
		      const char *what, const struct task_import_input *in, size_t n_in, const struct mrl_buf *note,
		      struct mrl_err *err);

/* A multiple-choice task {"id", "type", "metrics": [acc, acc_norm], "languages": [],
 * "templates": {}, "target_delimiter", "items": []}, or NULL on ENOMEM. */
json_t *imp_mc_task_new(const char *id, const char *target_delimiter);
/* Add language lang to task with its template object tmpl (taken; NULL is ENOMEM):
 * 0, or -1 on ENOMEM. */
int imp_task_language(json_t *task, const char *lang, json_t *tmpl);
/* The entry for lang of a wording table (n entries of `size` bytes, each beginning with
 * its `const char *lang`), or NULL: what every importer's prompt words are looked up by. */
const void *imp_wording(const void *table, size_t n, size_t size, const char *lang);
/* 0 where the wording table (as imp_wording's) has in->lang, else MRL_EUNSUPPORTED "FILE: no
 * WHAT wording for language 'LANG' (known: the table's languages, in its order)". */
int imp_need_wording(const void *table, size_t n, size_t size, const struct task_import_input *in, const char *what,
		     struct mrl_err *err);
/* Every row of f (path) has a different string `field` (checked present by the caller):
 * 0, or MRL_EINPUT "path:LINE: FIELD \"ID\" again (also on line L)". */
int imp_unique_string(const char *path, const struct imp_jsonl *f, const char *field, struct mrl_err *err);
/* MMLU's k-shot on task: "fewshot" {k, "source": "pool", "match": match, "order":
 * "first"} (the first k pool examples sharing the item's field match, as lm-eval's
 * first_n sampler on a per-subject split) and "pool" set to pool (a new reference):
 * 0, or -1 on ENOMEM. */
int imp_first_k_pool(json_t *task, int k, const char *match, json_t *pool);
/* Set variant's "choices" to the first n letters, "A", "B", ...: 0, or -1 on ENOMEM. */
int imp_letter_choices(json_t *variant, size_t n);
/* How a letter-labelled task's variant is made from a row: its text fields (a
 * NULL-ended list, each trimmed; where optional[f], a field the row lacks is left
 * out), n_letters letters as choices, and the right answer's index 0.. from gold(row). */
struct imp_labels {
	const char *const *fields;
	const bool *optional; /* may be NULL: every field required */
	size_t n_letters;
	int (*gold)(const json_t *row);
	/* may be NULL: else it makes the variant's fields from the row instead (NULL on ENOMEM) */
	json_t *(*variant)(const json_t *row, size_t *n_trimmed);
};
/* The rows of item key in files agree on answer(row) (and count(row), the number of options,
 * where count is given): 0 with the first file's row in *first_out (may be NULL; NULL where
 * no file has the key), or MRL_EINPUT "FILE:LINE: the right answer is B[ of 4], but
 * FILE:LINE says C[ of 4] (answers must agree across languages)". */
int imp_answers_agree(const struct task_import_input *in, size_t n_in, const struct imp_jsonl *files, long long key,
		      int (*answer)(const json_t *row), size_t (*count)(const json_t *row), const struct imp_row **first_out,
		      struct mrl_err *err);
/* The variants of item key (the languages whose files have it) and its "gold", which
 * every language must agree with (else MRL_EINPUT naming both files and lines). */
int imp_label_item(json_t *item, const struct task_import_input *in, size_t n_in, const struct imp_jsonl *files,
		   long long key, const struct imp_labels *how, size_t *n_trimmed, struct mrl_err *err);
/* Release each of the n files, then the array (may be NULL). */
void imp_files_release(struct imp_jsonl *files, size_t n);

/* Tell the progress callback that n_built of n_items items are built (every
 * TASK_IMPORT_PROGRESS_EVERY items and at the last). */
void imp_tell_items(const struct task_import_opts *opts, size_t n_built, size_t n_items);

/* The usual importer (COPA, Belebele, OZ Eval): files read and keyed by read, the
 * unpaired items reported under key_what ("idx"), the suite's top level from the
 * defaults, one task from task (items empty), and an item per key, its "id" the key
 * and the rest from item. */
struct imp_spec {
	const char *name, *description, *provenance; /* the suite's defaults; "imported from COPA JSONL" */
	const char *key_what;
	int (*read)(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
		    struct imp_jsonl *files, struct mrl_err *err);
	json_t *(*task)(const struct task_import_input *in, size_t n_in);
	int (*item)(json_t *item, const struct task_import_input *in, size_t n_in, const struct imp_jsonl *files,
		    long long key, size_t *n_trimmed, struct mrl_err *err);
};
int imp_run(const struct imp_spec *spec, const struct task_import_input *in, size_t n_in,
	    const struct task_import_opts *opts, json_t **out, size_t *n_trimmed, struct mrl_err *err);

/* An importer with a few-shot pool (Global-MMLU, MMLU-ProX): build makes the items of one
 * set of files (the test files; with pool, opts->pool's) into arr, noting the unpaired ones
 * (the pool's after "Pool: ") and counting items and unpaired; task makes the suite's one
 * task around the items (items empty where none); a pool gives the task MMLU's
 * "first k of the item's `match`" few-shot (imp_first_k_pool, k 5). arg is the importer's. */
struct imp_pooled {
	const char *name, *description, *provenance, *match;
	int (*build)(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts, bool pool,
		     json_t *arr, struct mrl_buf *note, size_t *n_items, size_t *n_unpaired, size_t *n_trimmed, void *arg,
		     struct mrl_err *err);
	json_t *(*task)(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			json_t *items, void *arg);
};
int imp_run_pooled(const struct imp_pooled *spec, void *arg, const struct task_import_input *in, size_t n_in,
		   const struct task_import_opts *opts, json_t **out, size_t *n_trimmed, struct mrl_err *err);

/* The importers. */
int task_import_copa(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
		     json_t **out, size_t *n_trimmed, struct mrl_err *err);
int task_import_belebele(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			 json_t **out, size_t *n_trimmed, struct mrl_err *err);
int task_import_global_mmlu(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			    json_t **out, size_t *n_trimmed, struct mrl_err *err);
int task_import_oz_eval(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			json_t **out, size_t *n_trimmed, struct mrl_err *err);
int task_import_flores(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
		       json_t **out, size_t *n_trimmed, struct mrl_err *err);
int task_import_global_piqa(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			    json_t **out, size_t *n_trimmed, struct mrl_err *err);
int task_import_include(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			json_t **out, size_t *n_trimmed, struct mrl_err *err);
int task_import_okapi_arc(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			  json_t **out, size_t *n_trimmed, struct mrl_err *err);
int task_import_okapi_mmlu(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			   json_t **out, size_t *n_trimmed, struct mrl_err *err);
int task_import_mmlu_prox(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
			  json_t **out, size_t *n_trimmed, struct mrl_err *err);
int task_import_serbian_llm_eval(const struct task_import_input *in, size_t n_in, const struct task_import_opts *opts,
				 json_t **out, size_t *n_trimmed, struct mrl_err *err);

/* Set key to a new value on obj, going to nomem on ENOMEM (jansson steals the reference). */
#define IMP_SET(obj, key, val)                                  \
	do {                                                    \
		if (json_object_set_new((obj), (key), (val)))   \
			goto nomem;                             \
	} while (0)

#endif
