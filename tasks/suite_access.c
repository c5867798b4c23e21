/* suite_access.c — the read-only accessors of a loaded suite, task and item
 * (task.h). They read the structs that suite.c built and call nothing else in
 * tasks/, so template.c can use them without a call cycle.
 */
#include "tasks/suite_int.h"

#include <string.h>

const char *const task_type_names[] = { "multiple_choice", "perplexity", "generate", NULL };

const char *task_suite_file(const struct task_suite *s) { return s->file; }
const char *task_suite_name(const struct task_suite *s) { return s->name; }
const char *task_suite_version(const struct task_suite *s) { return s->version; }
const char *task_suite_description(const struct task_suite *s) { return s->description ? s->description : ""; }
const char *task_suite_source(const struct task_suite *s) { return s->source ? s->source : ""; }
const char *task_suite_license(const struct task_suite *s) { return s->license; }
size_t task_suite_n_tasks(const struct task_suite *s) { return s->n_tasks; }
const struct task_task *task_suite_task(const struct task_suite *s, size_t i) { return i < s->n_tasks ? &s->tasks[i] : NULL; }

const struct task_task *task_suite_find(const struct task_suite *s, const char *id)
{
	for (size_t i = 0; i < s->n_tasks; i++)
		if (!strcmp(s->tasks[i].id, id))
			return &s->tasks[i];
	return NULL;
}

const char *task_id(const struct task_task *t) { return t->id; }
enum task_type task_type(const struct task_task *t) { return t->type; }

const char *task_type_name(enum task_type type)
{
	return (unsigned)type < 3 ? task_type_names[type] : "unknown";
}

size_t task_n_metrics(const struct task_task *t) { return t->n_metrics; }
const char *task_metric(const struct task_task *t, size_t i) { return i < t->n_metrics ? t->metrics[i] : NULL; }
size_t task_n_languages(const struct task_task *t) { return t->n_langs; }
const char *task_language(const struct task_task *t, size_t i) { return i < t->n_langs ? t->langs[i] : NULL; }

int task_language_index(const struct task_task *t, const char *lang)
{
	for (size_t i = 0; i < t->n_langs; i++)
		if (!strcmp(t->langs[i], lang))
			return (int)i;
	return -1;
}

const char *task_language_source(const struct task_task *t, const char *lang)
{
	int li = task_language_index(t, lang);
	return li >= 0 && t->derived_from[li] >= 0 ? t->langs[t->derived_from[li]] : NULL;
}

const char *task_target_delimiter(const struct task_task *t) { return t->target_delimiter; }
void task_fewshot(const struct task_task *t, struct task_fewshot *out) { *out = t->fewshot; }
int task_window(const struct task_task *t) { return t->window; }
int task_stride(const struct task_task *t) { return t->stride; }
const char *const *task_gen_stops(const struct task_task *t, const char *lang, size_t *n)
{
	const int li = t->until ? task_language_index(t, lang) : -1;
	*n = li >= 0 ? t->n_until[li] : 0;
	return *n ? (const char *const *)t->until[li] : NULL;
}

size_t task_gen_n_until(const struct task_task *t, const char *lang)
{
	size_t n;
	task_gen_stops(t, lang, &n);
	return n;
}

const char *task_gen_until(const struct task_task *t, const char *lang, size_t i)
{
	size_t n;
	const char *const *s = task_gen_stops(t, lang, &n);
	return i < n ? s[i] : NULL;
}
int task_gen_max_tokens(const struct task_task *t) { return t->max_tokens; }
const char *task_gen_chat_template(const struct task_task *t) { return t->chat_template; }
bool task_gen_fold_diacritics(const struct task_task *t) { return t->fold_diacritics; }
bool task_mc_choice_in_context(const struct task_task *t) { return t->choice_in_context; }

/* The language part of a tag ("sr" of "sr-Latn-RS") into buf. */
static const char *tag_language(const char *tag, char *buf, size_t size)
{
	size_t n = strcspn(tag, "-_");
	snprintf(buf, size, "%.*s", (int)(n < size ? n : size - 1), tag);
	return buf;
}

const char *task_gen_expect_script(const struct task_task *t, const char *lang)
{
	static const char *const latn[] = { "en", "hr", "bs", "sl", NULL };
	const int li = task_language_index(t, lang);
	if (li >= 0 && t->expect_script && t->expect_script[li])
		return t->expect_script[li];
	if (strstr(lang, "-Cyrl"))
		return "Cyrl";
	if (strstr(lang, "-Latn"))
		return "Latn";
	char base[16];
	tag_language(lang, base, sizeof base);
	for (int i = 0; latn[i]; i++)
		if (!strcmp(base, latn[i]))
			return "Latn";
	return !strcmp(base, "mk") ? "Cyrl" : NULL;
}

const char *task_gen_expect_language(const struct task_task *t, const char *lang)
{
	static const char *const known[] = { "en", "sr", "hr", "bs", "cnr", "sl", "mk", NULL };
	const int li = task_language_index(t, lang);
	if (li >= 0 && t->expect_language && t->expect_language[li])
		return t->expect_language[li];
	char base[16];
	tag_language(lang, base, sizeof base);
	for (int i = 0; known[i]; i++)
		if (!strcmp(base, known[i]))
			return known[i];
	return NULL;
}
size_t task_n_items(const struct task_task *t) { return t->n_items; }
const struct task_item *task_item_at(const struct task_task *t, size_t i) { return i < t->n_items ? &t->items[i] : NULL; }
size_t task_n_pool(const struct task_task *t) { return t->n_pool; }
const struct task_item *task_pool_at(const struct task_task *t, size_t i) { return i < t->n_pool ? &t->pool[i] : NULL; }

const char *task_item_id(const struct task_item *it) { return it->id; }
int task_item_gold(const struct task_item *it) { return it->gold; }
bool task_item_has(const struct task_item *it, size_t li) { return li < it->n_langs && it->v[li].present; }

const char *task_item_field(const struct task_item *it, size_t li, const char *name)
{
	if (!task_item_has(it, li))
		return NULL;
	for (size_t i = 0; i < it->v[li].n_fields; i++)
		if (!strcmp(it->v[li].fields[i].name, name))
			return it->v[li].fields[i].value;
	return NULL;
}

size_t task_item_n_choices(const struct task_item *it, size_t li)
{
	return task_item_has(it, li) ? it->v[li].n_choices : 0;
}

const char *task_item_choice(const struct task_item *it, size_t li, size_t j)
{
	return j < task_item_n_choices(it, li) ? it->v[li].choices[j] : NULL;
}

size_t task_item_n_targets(const struct task_item *it, size_t li)
{
	return task_item_has(it, li) ? it->v[li].n_targets : 0;
}

const char *task_item_target(const struct task_item *it, size_t li, size_t j)
{
	return j < task_item_n_targets(it, li) ? it->v[li].targets[j] : NULL;
}
