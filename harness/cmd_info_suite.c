/* cmd_info_suite.c — `merilo info SUITE.json [--json]`: what a suite holds.
 * Per task: type, metrics, languages (derived ones marked), item counts per
 * language, and pairing coverage: how many items have every language, and how
 * many have both languages of each pair (what paired statistics can use). */
#include "harness/hrn.h"
#include "common/sort.h"
#include "tasks/task.h"

#include <jansson.h>

/* Breakdown values `info` lists with their items (all of them are in --json). */
#define INFO_VALUES_SHOWN 8
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Items of t that have language a (and b, if b >= 0; both every language if a < 0). */
static size_t count_items(const struct task_task *t, int a, int b)
{
	size_t n = 0;
	for (size_t k = 0; k < task_n_items(t); k++) {
		const struct task_item *it = task_item_at(t, k);
		bool has = true;
		if (a < 0) {
			for (size_t l = 0; l < task_n_languages(t); l++)
				has &= task_item_has(it, l);
		} else {
			has = task_item_has(it, (size_t)a) && (b < 0 || task_item_has(it, (size_t)b));
		}
		n += has;
	}
	return n;
}

/* Items per breakdown value ({value: count}; each item counted by task_item_breakdown), a new
 * reference; null without a breakdown. */
static json_t *breakdown_counts(const struct task_task *t)
{
	if (!task_breakdown(t))
		return json_null();
	json_t *o = json_object();
	for (size_t k = 0; o && k < task_n_items(t); k++) {
		const char *v = task_item_breakdown(t, task_item_at(t, k));
		if (v)
			json_object_set_new(o, v, json_integer(json_integer_value(json_object_get(o, v)) + 1));
	}
	return o ? o : json_null();
}

static json_t *task_json(const struct task_task *t)
{
	json_t *o = json_object(), *metrics = json_array(), *langs = json_array(), *pairs = json_array();
	size_t nl = task_n_languages(t);
	json_object_set_new(o, "id", json_string(task_id(t)));
	json_object_set_new(o, "type", json_string(task_type_name(task_type(t))));
	for (size_t i = 0; i < task_n_metrics(t); i++)
		json_array_append_new(metrics, json_string(task_metric(t, i)));
	json_object_set_new(o, "metrics", metrics);
	json_object_set_new(o, "items", json_integer((json_int_t)task_n_items(t)));
	json_object_set_new(o, "pool_items", json_integer((json_int_t)task_n_pool(t)));
	struct task_fewshot f;
	task_fewshot(t, &f);
	json_object_set_new(o, "fewshot", f.has ? json_pack("{s:i, s:I, s:s, s:s, s:s?, s:s}", "k", f.k, "seed",
							     (json_int_t)f.seed, "source", f.source, "delimiter",
							     f.delimiter, "match", f.match, "order",
							     f.first ? "first" : "random")
					       : json_null());
	json_object_set_new(o, "breakdown", task_breakdown(t) ? json_string(task_breakdown(t)) : json_null());
	json_object_set_new(o, "breakdown_items", breakdown_counts(t));
	for (size_t l = 0; l < nl; l++) {
		json_t *lj = json_object();
		const char *src = task_language_source(t, task_language(t, l));
		json_object_set_new(lj, "tag", json_string(task_language(t, l)));
		json_object_set_new(lj, "items", json_integer((json_int_t)count_items(t, (int)l, -1)));
		json_object_set_new(lj, "derived_from", src ? json_string(src) : json_null());
		if (task_type(t) == TASK_GENERATE) { /* the answer pulled out of a response, where the task says how */
			const char *re = task_gen_extract_regex(t, task_language(t, l));
			json_object_set_new(lj, "extract", re ? json_pack("{s:s, s:s}", "regex", re, "match",
									  task_gen_extract_last(t) ? "last" : "first")
							      : json_null());
		}
		json_array_append_new(langs, lj);
	}
	json_object_set_new(o, "languages", langs);
	json_object_set_new(o, "items_with_every_language", json_integer((json_int_t)count_items(t, -1, -1)));
	for (size_t a = 0; a < nl; a++)
		for (size_t b = a + 1; b < nl; b++) {
			json_t *p = json_object();
			json_object_set_new(p, "a", json_string(task_language(t, a)));
			json_object_set_new(p, "b", json_string(task_language(t, b)));
			json_object_set_new(p, "paired_items", json_integer((json_int_t)count_items(t, (int)a, (int)b)));
			json_array_append_new(pairs, p);
		}
	json_object_set_new(o, "pairs", pairs);
	return o;
}

static void task_text(const struct task_task *t)
{
	size_t nl = task_n_languages(t);
	printf("task %s: %s, %zu item%s", task_id(t), task_type_name(task_type(t)), task_n_items(t),
	       task_n_items(t) == 1 ? "" : "s");
	if (task_n_pool(t))
		printf(" (+%zu few-shot pool items)", task_n_pool(t));
	struct task_fewshot f;
	task_fewshot(t, &f);
	if (f.has && f.k > 0)
		printf("\n  few-shot: %d example%s from the %s%s%s, %s", f.k, f.k == 1 ? "" : "s",
		       strcmp(f.source, "pool") ? "task's other items" : "pool", f.match ? " sharing the item's " : "",
		       f.match ? f.match : "", f.first ? "the first in order" : "drawn at random");
	else if (task_type(t) != TASK_PERPLEXITY)
		printf("\n  few-shot: none (run --fewshot K draws K from the %s)", task_n_pool(t) ? "pool" : "other items");
	printf("\n  metrics:");
	for (size_t i = 0; i < task_n_metrics(t); i++)
		printf(" %s", task_metric(t, i));
	if (task_breakdown(t)) { /* its values, in byte order, with their items: the first few */
		json_t *c = breakdown_counts(t);
		const char **keys = malloc((json_object_size(c) + 1) * sizeof *keys);
		size_t n = 0;
		const char *key;
		json_t *v;
		json_object_foreach(c, key, v)
			if (keys)
				keys[n++] = key;
		if (keys)
			qsort(keys, n, sizeof *keys, mrl_cmp_str_ptr);
		printf("\n  scores also by: %s (%zu value%s:", task_breakdown(t), n, n == 1 ? "" : "s");
		for (size_t i = 0; i < n && i < INFO_VALUES_SHOWN; i++)
			printf("%s %s %lld", i ? "," : "", keys[i], (long long)json_integer_value(json_object_get(c, keys[i])));
		printf("%s)", n > INFO_VALUES_SHOWN ? ", ..." : "");
		free(keys);
		json_decref(c);
	}
	printf("\n  languages:\n");
	for (size_t l = 0; l < nl; l++) {
		const char *src = task_language_source(t, task_language(t, l));
		size_t n_lang = count_items(t, (int)l, -1);
		printf("    %-10s %zu item%s", task_language(t, l), n_lang, n_lang == 1 ? "" : "s");
		if (src)
			printf(" (derived from %s)", src);
		const char *re = task_type(t) == TASK_GENERATE ? task_gen_extract_regex(t, task_language(t, l)) : NULL;
		if (re)
			printf("; answer: the %s match of /%s/", task_gen_extract_last(t) ? "last" : "first", re);
		printf("\n");
	}
	printf("  items with every language: %zu of %zu\n", count_items(t, -1, -1), task_n_items(t));
	if (nl > 1)
		printf("  paired items per language pair:\n");
	for (size_t a = 0; a < nl; a++)
		for (size_t b = a + 1; b < nl; b++)
			printf("    %s + %s: %zu\n", task_language(t, a), task_language(t, b),
			       count_items(t, (int)a, (int)b));
}

int hrn_info_suite(const char *path, bool as_json)
{
	struct task_suite *s = NULL;
	struct mrl_err err = {0};
	if (task_suite_load(path, &s, NULL, &err))
		return hrn_report(&err);
	if (as_json) {
		json_t *o = json_object(), *tasks = json_array();
		json_object_set_new(o, "file", json_string(path));
		json_object_set_new(o, "name", json_string(task_suite_name(s)));
		json_object_set_new(o, "version", json_string(task_suite_version(s)));
		json_object_set_new(o, "description", json_string(task_suite_description(s)));
		json_object_set_new(o, "source", json_string(task_suite_source(s)));
		json_object_set_new(o, "license", json_string(task_suite_license(s)));
		for (size_t i = 0; i < task_suite_n_tasks(s); i++)
			json_array_append_new(tasks, task_json(task_suite_task(s, i)));
		json_object_set_new(o, "tasks", tasks);
		char *text = json_dumps(o, JSON_INDENT(2));
		if (text)
			printf("%s\n", text);
		free(text);
		json_decref(o);
	} else {
		printf("suite: %s %s (%s)\n", task_suite_name(s), task_suite_version(s), path);
		if (*task_suite_description(s))
			printf("description: %s\n", task_suite_description(s));
		if (*task_suite_source(s))
			printf("source: %s\n", task_suite_source(s));
		printf("license: %s\n", task_suite_license(s));
		for (size_t i = 0; i < task_suite_n_tasks(s); i++)
			task_text(task_suite_task(s, i));
	}
	task_suite_free(s);
	return HRN_EXIT_OK;
}
