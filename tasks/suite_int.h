/* suite_int.h — internals of loading a suite, shared by suite.c (the
 * document), suite_walk.c (diagnostics and typed look-ups), suite_tmpl.c
 * (template checks, transliteration of derived languages) and suite_task.c
 * (one task and its items).
 *
 * One walk over the document both checks it and builds the suite: every
 * problem is recorded as a diagnostic at the JSON pointer of the value being
 * looked at (w->path), and the walk goes on with what is still usable.
 */
#ifndef MRL_TASK_SUITE_INT_H
#define MRL_TASK_SUITE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include "common/json.h"
#include "tasks/task_int.h"
#include "tasks/translit.h"

struct walk {
	struct task_diags *d;
	char path[4096]; /* JSON pointer of the value being walked */
	size_t plen;
	bool oom;        /* an allocation failed: the suite is not handed out */
};

/* The path: push a member key or an array index (each returns the old length),
 * pop back to it. */
size_t walk_push_key(struct walk *w, const char *key);
size_t walk_push_idx(struct walk *w, size_t i);
void walk_pop(struct walk *w, size_t old);

/* Record a problem at the current path. */
void walk_problem(struct walk *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* calloc that marks w->oom on failure (n 0 allocates one element). */
void *walk_calloc(struct walk *w, size_t n, size_t size);

/* Typed look-ups that report at path/key instead of failing: the string under
 * key (NULL when absent or bad; nonempty refuses ""), and an integer in
 * [lo, hi] (false after a problem; *out unchanged when absent and optional). */
const char *walk_get_str(struct walk *w, json_t *obj, const char *key, bool required, bool nonempty);
bool walk_get_int(struct walk *w, json_t *obj, const char *key, bool required, long long lo, long long hi,
		  long long *out);

/* Whether s is in the NULL-terminated list; the list joined with ", " into buf. */
bool walk_in_list(const char *s, const char *const *list);
void walk_join_list(char *buf, size_t size, const char *const *list);

/* Report keys of obj not in allowed (keys starting with '_' are comments). what names obj ("a task"). */
void walk_check_keys(struct walk *w, json_t *obj, const char *const *allowed, const char *what);

/* The "chat_template" under obj (a suite or a generate task): "auto", "none" or a
 * family of tasks/chat.h; NULL when absent or bad (a problem at the key). */
const char *walk_get_chat_template(struct walk *w, json_t *obj);

/* Check and take one language's value of a per-language setting (li its index in the
 * task); true where the value was good. */
typedef bool (*walk_lang_fn)(struct walk *w, size_t li, json_t *value, void *arg);
/* obj, a setting given per language ({"en": ..., "sr-Latn": ...}; tasks/suite_walk.c): each
 * key that is a language of t goes to each at its path (another key is a problem); every
 * language without its own then takes its source's where it is derived (and the source's
 * was good), else is a problem: "no WHAT for "LANG" ...". */
void walk_per_language(struct walk *w, const struct task_task *t, json_t *obj, walk_lang_fn each, void *arg,
		       const char *what);

/* A generate task's "extract" (tasks/extract.c): checked, its regex compiled into t
 * (task_extract_release frees it). */
void walk_get_extract(struct walk *w, json_t *tj, struct task_task *t);
void task_extract_release(struct task_task *t);
/* A task's "breakdown" (tasks/suite_breakdown.c), after its items: the field checked in
 * every item's variant. */
void walk_get_breakdown(struct walk *w, json_t *tj, struct task_task *t);

/* A task id is letters, digits, '_', '-' and '.'. */
bool walk_task_id_valid(const char *s);

/* Templates (suite_tmpl.c): check a template value (a string or a switch
 * object) of language lang, setting *uses_choice when it uses {choice}; false
 * when it is unusable. And every field a template uses (through the switch it
 * takes for this variant) must be in the variant. */
bool walk_check_tmpl(struct walk *w, json_t *t, const char *lang, bool *uses_choice);
void walk_check_variant_template(struct walk *w, json_t *tmpl, const char *tmpl_name, const struct task_variant *v,
				 const char *lang);

/* Derived languages (suite_tmpl.c): the transform named in a suite, or NULL;
 * a transliterated copy of a template value or of a variant object (new
 * references, NULL with err set on failure). */
task_translit_fn walk_find_transform(const char *name);
json_t *walk_translit_tmpl_value(task_translit_fn fn, json_t *t, struct mrl_err *err);
json_t *walk_translit_variant(task_translit_fn fn, json_t *v, const json_t *keep, struct mrl_err *err);

/* Build one task from its JSON object (suite_task.c). */
void walk_build_task(struct walk *w, json_t *tj, struct task_task *t);

/* "multiple_choice", "perplexity", "generate" by enum task_type, NULL-terminated (suite_access.c). */
extern const char *const task_type_names[];

#endif
