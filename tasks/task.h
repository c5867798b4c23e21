/* task.h — bilingual suites: loading, validation, prompt rendering, importers.
 *
 * A suite (docs/suite-format.md) is one JSON file: metadata plus tasks; a task
 * holds items, and an item holds the per-language variants of the same content
 * (en, sr-Cyrl, sr-Latn, hr, ...) so that results can be paired item by item.
 * The loader checks everything and reports EVERY problem as a diagnostic with
 * the JSON pointer of the offending value; a suite that loads is valid.
 * Languages declared "derived" (sr-Latn from sr-Cyrl) are materialized at load
 * time with the transliterator (tasks/translit.h).
 *
 * Handles are opaque; every string an accessor returns belongs to the suite
 * and lives until task_suite_free(). Nothing here prints or exits.
 */
#ifndef MRL_TASK_H
#define MRL_TASK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/buf.h"
#include "common/err.h"
#include "tasks/translit.h"

struct task_suite; /* a loaded, validated suite */
struct task_task;  /* one task of a suite */
struct task_item;  /* one item of a task (all its language variants) */

enum task_type {
	TASK_MULTIPLE_CHOICE = 0, /* score each choice's continuation; gold is an index */
	TASK_PERPLEXITY = 1,      /* windowed perplexity of each variant's "text" */
	TASK_GENERATE = 2,        /* greedy generation, compared with "target" */
};

/* Largest suite file accepted (bytes) and deepest JSON nesting accepted. */
#define TASK_SUITE_MAX_BYTES ((uint64_t)256 << 20)
#define TASK_SUITE_MAX_DEPTH 32

/* ---- diagnostics ---------------------------------------------------------- */

/* One problem found in a suite file. path is a JSON pointer ("/tasks/0/items/17/sr-Cyrl/choices/2",
 * "" for the whole document); line/column are 1-based where known (syntax errors), else 0. */
struct task_diag {
	char *path;
	char *msg;
	int line, column;
};

/* A list of problems; file names the suite file they belong to. Owned by the caller:
 * task_diags_init() before use, task_diags_release() after. */
struct task_diags {
	char *file;
	struct task_diag *v;
	size_t n, cap;
	size_t n_dropped; /* problems past TASK_DIAGS_MAX that were counted but not kept */
};
#define TASK_DIAGS_MAX 1000

void task_diags_init(struct task_diags *d);
void task_diags_release(struct task_diags *d);
/* Format problem i as one line: "file: /path: message" ("file: message" for document-level ones). */
void task_diag_format(const struct task_diags *d, size_t i, char *buf, size_t size);

/* ---- loading ---------------------------------------------------------------- */

/* Load and validate the suite at path. On success returns 0 and *out (free with task_suite_free).
 * Otherwise returns MRL_EIO (unreadable file) or MRL_EINPUT (invalid suite), *out stays NULL, and
 * err holds the first problem ("file: /path: message") plus how many more there are.
 * diags may be NULL; if given, it receives every problem. */
int task_suite_load(const char *path, struct task_suite **out, struct task_diags *diags,
		    struct mrl_err *err);

/* Same, from a buffer already in memory; name is used in messages as the file name. */
int task_suite_parse(const char *name, const char *buf, size_t len, struct task_suite **out,
		     struct task_diags *diags, struct mrl_err *err);

/* Free a suite (NULL is fine). */
void task_suite_free(struct task_suite *s);

/* Metadata of the suite; strings owned by the suite ("" where absent and optional). */
const char *task_suite_file(const struct task_suite *s);
const char *task_suite_name(const struct task_suite *s);
const char *task_suite_version(const struct task_suite *s);
const char *task_suite_description(const struct task_suite *s);
const char *task_suite_source(const struct task_suite *s);
const char *task_suite_license(const struct task_suite *s);

size_t task_suite_n_tasks(const struct task_suite *s);
const struct task_task *task_suite_task(const struct task_suite *s, size_t i);
/* The task with this id, or NULL. */
const struct task_task *task_suite_find(const struct task_suite *s, const char *id);

/* ---- tasks ------------------------------------------------------------------- */

const char *task_id(const struct task_task *t);
enum task_type task_type(const struct task_task *t);
/* "multiple_choice", "perplexity", "generate" (static strings). */
const char *task_type_name(enum task_type type);

size_t task_n_metrics(const struct task_task *t);
const char *task_metric(const struct task_task *t, size_t i);

/* Languages in declaration order, derived ones included. */
size_t task_n_languages(const struct task_task *t);
const char *task_language(const struct task_task *t, size_t i);
/* Index of a language tag in the task, or -1. */
int task_language_index(const struct task_task *t, const char *lang);
/* The language lang is derived from (e.g. "sr-Cyrl" for "sr-Latn"), or NULL if it is not derived. */
const char *task_language_source(const struct task_task *t, const char *lang);

/* Text between context and choice (multiple choice), default " ". */
const char *task_target_delimiter(const struct task_task *t);

/* Few-shot settings; has == false when the task declares none (zero-shot).
 * source: "pool" (the task's separate "pool" items) or "items" (other items of the task). */
struct task_fewshot {
	bool has;
	int k;
	uint64_t seed;
	const char *source;
	const char *delimiter; /* between examples, default "\n\n" */
	const char *match;     /* NULL, or a variant field an example must share with the item ("subject") */
	bool first;            /* order "first": the first k candidates in source order, not a random draw */
};
void task_fewshot(const struct task_task *t, struct task_fewshot *out);

/* Perplexity window and stride in tokens (0 for other types). */
int task_window(const struct task_task *t);
int task_stride(const struct task_task *t);
/* Generation: the stop strings of language lang (n 0 for other types or languages) and the
 * token limit (0 for other types). task_gen_stops gives all *n of them, NULL where none. */
size_t task_gen_n_until(const struct task_task *t, const char *lang);
const char *task_gen_until(const struct task_task *t, const char *lang, size_t i);
const char *const *task_gen_stops(const struct task_task *t, const char *lang, size_t *n);
int task_gen_max_tokens(const struct task_task *t);
/* Generation: the chat template the suite declares for the task ("chat_template" of
 * the task, else of the suite): "auto", "none" or a family name (tasks/chat.h); NULL
 * when neither declares one. The suite's string. */
const char *task_gen_chat_template(const struct task_task *t);
/* Whether the answer-matching metrics (exact_match, contains, f1, rouge_l) fold
 * diacritics (č ć -> c, š -> s, ž -> z, đ -> dj; docs/generation-metrics.md): the
 * task's "fold_diacritics", false by default. */
bool task_gen_fold_diacritics(const struct task_task *t);
/* A multiple-choice task's "choice_in_context" (partial evaluation, Winogrande's): each
 * choice is written into the context ({choice} in the context template) and every
 * choice's context scores the one continuation the choice template renders. */
bool task_mc_choice_in_context(const struct task_task *t);
/* Its "breakdown" (tasks/suite_breakdown.c): the variant field its scores are also
 * grouped by ("category"), or NULL; and an item's value of it in lang (a derived
 * language's is its source's, so that both scripts group alike), NULL where none. */
const char *task_breakdown(const struct task_task *t);
const char *task_breakdown_value(const struct task_task *t, const struct task_item *it, const char *lang);
/* The item's value, whatever the language: its first language's (NULL where the task has no
 * breakdown). What --sample stratifies by and `info` counts. */
const char *task_item_breakdown(const struct task_task *t, const struct task_item *it);
/* Its "extract" (tasks/extract.c): the regex that pulls the answer out of a longer
 * response in language lang (NULL: none; the whole response is the answer), and
 * whether the last match is taken rather than the first. */
const char *task_gen_extract_regex(const struct task_task *t, const char *lang);
bool task_gen_extract_last(const struct task_task *t);
/* The answer in text (a response in lang) under t's "extract": the chosen match's first
 * capture group that matched a non-empty text (the whole match where the pattern has
 * no group), without surrounding whitespace, into *out (malloc'd); *out NULL where
 * the task has no "extract" or nothing matched. Matching stops at a limit (PCRE2's
 * match or depth limit, tasks/extract.c): the answer is then what was found before it
 * (with "match": "first", none), and *limit (limit may be NULL) names it, "match" or
 * "depth"; else *limit is NULL. 0, or MRL_ENOMEM. */
int task_gen_extract(const struct task_task *t, const char *lang, const char *text, char **out, const char **limit,
		     struct mrl_err *err);
/* Generation: the script ("Cyrl" / "Latn") and language ("sr", "hr", ...) an answer
 * in language tag lang is expected to be in: the task's "expect_script" /
 * "expect_language" entry, else what the tag implies (a script subtag: sr-Cyrl ->
 * Cyrl; en, hr, bs, sl -> Latn; mk -> Cyrl; sr and cnr alone imply none; the language
 * part when it is en, sr, hr, bs, cnr, sl or mk). NULL when there is none. Static
 * strings or the suite's. */
const char *task_gen_expect_script(const struct task_task *t, const char *lang);
const char *task_gen_expect_language(const struct task_task *t, const char *lang);

/* Items in file order; pool items (few-shot examples only) separately. */
size_t task_n_items(const struct task_task *t);
const struct task_item *task_item_at(const struct task_task *t, size_t i);
size_t task_n_pool(const struct task_task *t);
const struct task_item *task_pool_at(const struct task_task *t, size_t i);

/* ---- items ------------------------------------------------------------------- */

const char *task_item_id(const struct task_item *it);
/* Gold choice index (multiple choice; the same for every language), -1 otherwise. */
int task_item_gold(const struct task_item *it);
/* Whether the item has a variant in language index li (see task_language_index). */
bool task_item_has(const struct task_item *it, size_t li);
/* A string field of the variant in language li ("premise", "question", "text", ...), or NULL. */
const char *task_item_field(const struct task_item *it, size_t li, const char *name);
/* Choices of the variant (multiple choice), 0 / NULL where absent. */
size_t task_item_n_choices(const struct task_item *it, size_t li);
const char *task_item_choice(const struct task_item *it, size_t li, size_t j);
/* Reference answers of the variant (generate: "target", string or list). */
size_t task_item_n_targets(const struct task_item *it, size_t li);
const char *task_item_target(const struct task_item *it, size_t li, size_t j);

/* ---- rendering ------------------------------------------------------------- */

/* A rendered prompt. For multiple choice the plan (tasks/plan.h) scores
 * context + target_delimiter + choices[j] as one string, the tokens after the
 * context (docs/suite-format.md, "whitespace"). For perplexity context
 * is the text; for generate choices are the reference answers. */
struct task_prompt {
	char *context;  /* choice_in_context: the right choice's context (contexts[gold]) */
	char **choices; /* choice_in_context: the continuation, the same for every choice */
	char **contexts; /* choice_in_context: each choice's context (n_choices); NULL otherwise */
	char *description; /* the task's "description" template rendered, or NULL: it goes before the examples */
	size_t n_choices;
	int gold;                     /* -1 where not multiple choice */
	const char *target_delimiter; /* owned by the suite */
};

/* Render item's variant in lang through the task's templates (placeholders, filters,
 * switches). Fills *out (release with task_prompt_release). Returns MRL_EINPUT if the
 * item has no variant in lang or lang is not a language of the task. */
int task_render(const struct task_task *t, const struct task_item *it, const char *lang,
		struct task_prompt *out, struct mrl_err *err);
void task_prompt_release(struct task_prompt *p);

/* Apply one template string to a set of fields (exposed for tests and tools).
 * fields are n name/value pairs; choice (may be NULL) is what {choice} expands to.
 * Returns 0 and a malloc'd *out, or MRL_EINPUT naming the unknown field or filter. */
int task_template_apply(const char *tmpl, const char *const *names, const char *const *values,
			size_t n, const char *choice, char **out, struct mrl_err *err);

/* ---- language tags -------------------------------------------------------- */

/* Whether tag has the shape of a BCP 47 tag (language[-Script][-REGION][-variant...]),
 * e.g. en, sr-Cyrl, sr-Latn, hr, bs, cnr, en-US, sr-Latn-RS. */
bool task_lang_tag_valid(const char *tag);

/* tag in BCP 47's canonical case into out (language lower case, a four-letter script
 * title case, a two-letter region upper case, the rest lower case: sr-cyrl -> sr-Cyrl),
 * whether or not it is then valid. BCP 47 tags are case-insensitive; merilo compares
 * them in canonical case, so a suite or a command line must write that. */
void task_lang_tag_canonical(const char *tag, char *out, size_t size);

/* Whether tag is valid (task_lang_tag_valid); if not, why into why (size bytes):
 * its canonical case when that is valid ("\"sr-cyrl\": write the language tag in
 * canonical case, \"sr-Cyrl\""), else that it is not a tag. */
bool task_lang_tag_check(const char *tag, char *why, size_t size);

/* ---- importers --------------------------------------------------------------- */

/* One input file of an import, for one language. */
struct task_import_input {
	const char *lang;
	const char *path;
};

/* What an import's progress counts (task_import_opts.progress). */
enum task_import_stage {
	TASK_IMPORT_READ,  /* bytes of all the input files read */
	TASK_IMPORT_ITEMS, /* items of the suite built */
};
/* How often progress is told: every this many lines read or items built (and at each file's end and the last item). */
#define TASK_IMPORT_PROGRESS_EVERY 1024

struct task_import_opts {
	const char *name;        /* suite name; NULL = importer's default */
	const char *version;     /* NULL = "1.0.0" */
	const char *license;     /* NULL = "unspecified" */
	const char *source;      /* NULL = each input's file name (no folder) and sha256 */
	const char *description; /* NULL = importer's default */
	bool force;              /* import a file whose script contradicts its tag (a warning, not an error) */
	/* Languages to derive by transliteration (sr-Latn from an imported sr-Cyrl, or
	 * sr-Cyrl from sr-Latn): added to every task as "derived" languages. */
	const char *const *derive;
	size_t n_derive;
	/* Few-shot examples, one file per language (each language one of the inputs'), for
	 * the importers that take them (global-mmlu: the dev split; flores: dev sentences);
	 * they become the task's "pool". Another importer refuses them. */
	const struct task_import_input *pool;
	size_t n_pool;
	struct task_import_report *report; /* may be NULL: what the caller should tell the user */
	/* May be NULL: called with done of total for the stage, the stages in order (a
	 * caller draws a progress line; the importer prints nothing). The last call of a
	 * stage has done == total. */
	void (*progress)(void *arg, enum task_import_stage stage, size_t done, size_t total);
	void *progress_arg;
};

/* What an import found that is not an error: warnings, one a line ('\n'-ended),
 * and the items that are not in every language. The caller inits warnings
 * (mrl_buf_init) and releases it. */
struct task_import_report {
	struct mrl_buf warnings;
	size_t n_items;          /* items of the suite (the union over the languages) */
	size_t n_unpaired;       /* of them, missing from at least one language */
};

/* Whether derive[0..n_derive) can be added to an import of in[0..n_in) (--derive):
 * each derivable (sr-Latn from sr-Cyrl, sr-Cyrl from sr-Latn), its source imported, itself
 * not imported, none twice; 0, or MRL_EINPUT saying which and why. task_import checks it
 * too; a command line checks it first to call a wrong --derive a usage error. */
int task_import_check_derive(const struct task_import_input *in, size_t n_in, const char *const *derive,
			     size_t n_derive, struct mrl_err *err);

/* Importers by name ("copa", "belebele", "global-mmlu", "oz-eval", "flores"). */
size_t task_n_importers(void);
const char *task_importer_name(size_t i);
const char *task_importer_summary(size_t i);

/* Convert inputs with importer `format` into suite JSON text. On success *json_out is a
 * malloc'd NUL-terminated document (caller frees) that task_suite_parse accepts.
 * Leading/trailing blanks of imported text fields are trimmed; *n_trimmed (may be
 * NULL) gets how many fields were. The suite's default source names each input by
 * file name and sha256, never by folder, so the same files give the same suite.
 * Each file's script is checked against its tag (a Cyrillic tag such as sr-Cyrl
 * or mk needs at least TASK_SCRIPT_THRESHOLD of its letters Cyrillic; sr-Latn,
 * hr, bs, cnr, en, sl Latin; a tag without a known script, like plain sr, is not
 * checked): a mismatch is MRL_EINPUT naming the file, the tag and the measured
 * shares, or with opts->force a warning. Languages with different item sets
 * are imported (each item has the languages that have it) with a warning that
 * counts the unpaired items and lists the first missing ids per language, and
 * the same sentence is appended to the suite's description.
 * Errors (MRL_EINPUT / MRL_EIO / MRL_EUNSUPPORTED) name the file and line. */
int task_import(const char *format, const struct task_import_input *inputs, size_t n_inputs,
		const struct task_import_opts *opts, char **json_out, size_t *n_trimmed, struct mrl_err *err);

/* ---- answer scoring (tasks/score.c) ---------------------------------------------------
 * Language-independent: given what the engine measured for each choice, which choice
 * does each multiple-choice metric pick; and how long is a text in the units that
 * perplexity is normalised by. */

/* What the run loop measured for one choice. Lengths are of the rendered choice text
 * without the target delimiter (lm-eval-harness's completion length). */
struct task_choice_score {
	double loglik;        /* sum of natural-log probabilities of the continuation tokens */
	double loglik_uncond; /* the same tokens after a neutral context (acc_mutual_info); NaN when not scored */
	int64_t n_tokens, n_chars, n_bytes; /* continuation tokens; choice text in code points, UTF-8 bytes */
};

/* Multiple-choice decision rules, i.e. the metrics: acc = argmax loglik; acc_norm = argmax
 * loglik / n_chars (lm-eval-harness's acc_norm); acc_bytes = argmax loglik / n_bytes;
 * acc_mutual_info = argmax loglik - loglik_uncond. */
enum task_mc_rule { TASK_MC_ACC = 0, TASK_MC_ACC_NORM, TASK_MC_ACC_BYTES, TASK_MC_ACC_MUTUAL_INFO, TASK_MC_N_RULES };

/* "acc", "acc_norm", "acc_bytes", "acc_mutual_info" (static strings); NULL when out of range. */
const char *task_mc_rule_name(enum task_mc_rule rule);
/* The rule with this metric name, or -1. */
int task_mc_rule_find(const char *name);
/* The score the rule ranks choice c by; NaN where it is undefined (a zero length, a missing
 * loglik_uncond). */
double task_mc_choice_score(enum task_mc_rule rule, const struct task_choice_score *c);
/* The predicted choice: the first index with the highest score (numpy.argmax's tie rule);
 * a NaN score never wins; -1 when n == 0 or every score is NaN. */
int task_mc_predict(enum task_mc_rule rule, const struct task_choice_score *c, size_t n);

/* Lengths of a text for perplexity normalisation. */
struct task_text_counts {
	int64_t bytes;           /* UTF-8 bytes as given */
	int64_t chars;           /* Unicode code points as given */
	int64_t words;           /* maximal runs of non-whitespace (Unicode White_Space) */
	int64_t canonical_chars; /* code points after NFC and Serbian Cyrillic -> Latin
				  * (task_translit_cyr2lat): the same text in either script counts the same */
};
/* Count s[0..len). Returns 0, or MRL_EINPUT for invalid UTF-8 (the message names the byte
 * offset), or MRL_ENOMEM. */
int task_text_count(const char *s, size_t len, struct task_text_counts *out, struct mrl_err *err);
/* Unicode code points in s[0..len) (each byte of an invalid sequence counts as one). */
int64_t task_utf8_chars(const char *s, size_t len);
/* Bytes of trailing whitespace of s[0..len) (what Python's str.rstrip() removes: Unicode
 * White_Space); a multiple-choice plan (tasks/plan.h) moves them from the context to the continuation. */
size_t task_trailing_space(const char *s, size_t len);
/* ---- end of answer scoring ---- */

#endif
