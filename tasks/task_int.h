/* task_int.h — internals of tasks/ shared by the suite loader (suite*.c, whose
 * own internals are in suite_int.h), template.c and import.c.
 *
 * A loaded suite keeps its jansson document alive: every string a task, item or
 * template points to is a jansson string inside that document. Derived
 * variants and templates are made at load time and inserted into the document,
 * so they live (and die) with it too.
 */
#ifndef MRL_TASK_INT_H
#define MRL_TASK_INT_H

#include <jansson.h>

#include "tasks/task.h"

struct task_field {
	const char *name;
	const char *value;
};

struct task_variant {
	bool present;
	bool derived;
	struct task_field *fields; /* string fields, document order */
	size_t n_fields;
	const char **choices;
	size_t n_choices;
	const char **targets;
	size_t n_targets;
};

struct task_item {
	const char *id;
	int gold;
	size_t n_langs;
	struct task_variant *v; /* one per task language */
};

struct task_task {
	const char *id;
	enum task_type type;
	const char *const *metrics;
	size_t n_metrics;
	bool owns_metrics;
	const char **langs;
	size_t n_langs;
	int *derived_from;     /* per language: index of its source language, or -1 */
	json_t **derived_keep; /* per language: a derived one's "keep" (fields copied as they are), or NULL */
	json_t **tmpl_context; /* per language: string or switch object, borrowed (NULL = none) */
	json_t **tmpl_choice;  /* per language (NULL = "{choice}") */
	json_t **tmpl_description; /* per language: what goes before the few-shot examples (NULL = nothing) */
	const char *target_delimiter;
	bool choice_in_context; /* multiple choice: each choice written into the context (partial evaluation) */
	struct task_fewshot fewshot;
	int window, stride;
	const char ***until; /* generate: per language, its stop strings (each array owned, the strings borrowed) */
	size_t *n_until;     /* per language */
	int max_tokens;
	const char **expect_script;   /* generate: per language, the suite's "expect_script" value or NULL */
	const char **expect_language; /* generate: per language, "expect_language" or NULL */
	const char *chat_template;    /* generate: its "chat_template", else the suite's, or NULL */
	bool fold_diacritics;         /* generate: "fold_diacritics" (exact_match, contains, f1, rouge_l) */
	void **extract_re;            /* generate: per language, "extract"'s compiled regex (pcre2_code *; tasks/extract.c) */
	const char **extract_regex;   /* per language, its pattern (borrowed from the document); both NULL: no "extract" */
	bool extract_last;            /* "match": "last" */
	const char *breakdown;        /* "breakdown": the variant field scores are also grouped by, or NULL */
	struct task_item *items;
	size_t n_items;
	struct task_item *pool;
	size_t n_pool;
};

struct task_suite {
	char *file;
	json_t *root;
	const char *name, *version, *description, *source, *license;
	const char *chat_template;    /* the suite's "chat_template", or NULL */
	struct task_task *tasks;
	size_t n_tasks;
};

/* Diagnostics (suite_walk.c). */
void task_diag_add(struct task_diags *d, const char *path, int line, int column, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Template scanning (template.c). A template string is literal text with placeholders
 * "{field|filter|...}"; "{{" and "}}" are literal braces; "{=TEXT}" is TEXT as it is,
 * which a derived language's transliteration leaves alone (answer labels "{=A}"). */
enum { TMPL_LITERAL, TMPL_PLACEHOLDER, TMPL_VERBATIM };
struct tmpl_piece {
	int kind;
	const char *start; /* literal text, the inside of the braces, or a verbatim piece's TEXT */
	size_t len;
};
/* Next piece of s starting at *pos; returns 1 and advances, 0 at the end, -1 on a syntax
 * error (msg says what). A literal piece stops before "{{"/"}}" and the escape is returned
 * as a 1-byte literal piece. */
int task_tmpl_next(const char *s, size_t *pos, struct tmpl_piece *p, const char **msg);
/* Split a placeholder's inside into field name and filters; checks names.
 * Returns 0, or -1 with msg. field/filters point into p (not NUL-terminated): lengths given. */
int task_tmpl_field(const struct tmpl_piece *p, const char **field, size_t *field_len, const char **msg);
/* Whether a filter name (with length) is known. */
bool task_tmpl_filter_known(const char *name, size_t len);
/* Resolve the template value (string or switch object) for a variant: returns the
 * template string to apply, or NULL with msg set. */
const char *task_tmpl_select(json_t *tmpl, const struct task_variant *v, const char **msg,
			     const char **missing_field);

#endif
