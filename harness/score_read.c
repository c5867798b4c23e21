/* score_read.c — the predictions `merilo score` reads, laid onto the plan of
 * units (harness/score.h): merilo's JSONL (one prediction per line) and
 * BENCHić's published per-item predictions (one list per test file).
 *
 * Everything a file says is checked against the suite before it counts: the
 * task, the language, the item, the choice index, a second prediction for one
 * unit. The first problem stops the read with one line that names the file and
 * the line (JSONL) or the JSON pointer of the value (BENCHić), so the user can
 * go straight to it. Units the file does not cover stay SCORE_MISSING; what to
 * do about them is cmd_score.c's decision (--allow-missing).
 */
#include "harness/score.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

/* ------------------------------------------------------------------ the plan */

static int cmp_key(const struct score_unit *a, const char *task, const char *lang, const char *item)
{
	int c = strcmp(task_id(a->task), task);
	if (!c)
		c = strcmp(a->lang, lang);
	return c ? c : strcmp(task_item_id(a->item), item);
}

static int cmp_units(const void *x, const void *y)
{
	const struct score_unit *a = *(struct score_unit *const *)x, *b = *(struct score_unit *const *)y;
	return cmp_key(a, task_id(b->task), b->lang, task_item_id(b->item));
}

bool score_plan_lang_selected(const struct score_plan *p, const char *lang)
{
	if (!p->langs)
		return true;
	for (size_t i = 0; i < p->n_langs; i++)
		if (!strcmp(p->langs[i], lang))
			return true;
	return false;
}

int score_plan_build(struct score_plan *p, const struct task_task **tasks, size_t n_tasks, const char *const *langs,
		     size_t n_langs, struct mrl_err *err)
{
	memset(p, 0, sizeof *p);
	p->tasks = tasks;
	p->n_tasks = n_tasks;
	p->langs = langs;
	p->n_langs = n_langs;
	size_t cap = 0;
	for (size_t t = 0; t < n_tasks; t++)
		cap += task_n_items(tasks[t]) * task_n_languages(tasks[t]);
	p->units = calloc(cap + 1, sizeof *p->units);
	p->by_key = calloc(cap + 1, sizeof *p->by_key);
	if (!p->units || !p->by_key)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t t = 0; t < n_tasks; t++)
		for (size_t i = 0; i < task_n_items(tasks[t]); i++) {
			const struct task_item *it = task_item_at(tasks[t], i);
			for (size_t l = 0; l < task_n_languages(tasks[t]); l++) {
				const char *lang = task_language(tasks[t], l);
				if (!task_item_has(it, l) || !score_plan_lang_selected(p, lang))
					continue;
				p->units[p->n] = (struct score_unit){ .task = tasks[t], .item = it, .item_idx = i, .lang = lang,
								       .choice = SCORE_MISSING,
								       .n_choices = task_item_n_choices(it, l) };
				p->by_key[p->n] = &p->units[p->n];
				p->n++;
			}
		}
	qsort(p->by_key, p->n, sizeof *p->by_key, cmp_units);
	return 0;
}

void score_plan_release(struct score_plan *p)
{
	for (size_t i = 0; p->units && i < p->n; i++)
		free(p->units[i].text);
	free(p->units);
	free(p->by_key);
	memset(p, 0, sizeof *p);
}

struct score_unit *score_plan_find(const struct score_plan *p, const char *task, const char *item, const char *lang)
{
	size_t lo = 0, hi = p->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = cmp_key(p->by_key[mid], task, lang, item);
		if (!c)
			return p->by_key[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

static bool task_selected(const struct score_plan *p, const struct task_task *t)
{
	for (size_t i = 0; i < p->n_tasks; i++)
		if (p->tasks[i] == t)
			return true;
	return false;
}

/* "sr-Cyrl, sr-Latn, hr": the languages of t, for messages. */
static void list_languages(const struct task_task *t, char *buf, size_t size)
{
	size_t n = 0;
	buf[0] = '\0';
	for (size_t l = 0; l < task_n_languages(t) && n < size; l++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", l ? ", " : "", task_language(t, l));
}

/* ------------------------------------------------------------------- JSONL */

/* The "item" of a line: a string, or an integer written as its decimal. */
static int line_item(const json_t *o, char *buf, size_t size)
{
	const json_t *v = json_object_get(o, "item");
	if (json_is_string(v) && json_string_length(v) < size && !memchr(json_string_value(v), 0, json_string_length(v)))
		snprintf(buf, size, "%s", json_string_value(v));
	else if (json_is_integer(v))
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
	else
		return -1;
	return 0;
}

/* Why task / item / language name no unit of the plan (they were found wanting). */
static int no_unit(const char *where, const struct task_task *t, const char *item, const char *lang,
		   struct mrl_err *err)
{
	int li = task_language_index(t, lang);
	char langs[512];
	if (li < 0) {
		list_languages(t, langs, sizeof langs);
		return mrl_err_set(err, MRL_EINPUT, "%s: task '%s' has no language '%s' (its languages: %s)", where,
				   task_id(t), lang, langs);
	}
	for (size_t i = 0; i < task_n_items(t); i++)
		if (!strcmp(task_item_id(task_item_at(t, i)), item))
			return mrl_err_set(err, MRL_EINPUT, "%s: item '%s' of task '%s' has no %s variant", where, item,
					   task_id(t), lang);
	return mrl_err_set(err, MRL_EINPUT, "%s: task '%s' has no item '%s'", where, task_id(t), item);
}

/* Set u's choice from v (an integer index or null). */
static int set_choice(struct score_unit *u, const json_t *v, const char *where, struct mrl_err *err)
{
	if (json_is_null(v)) {
		u->choice = SCORE_NO_ANSWER;
		return 0;
	}
	if (!json_is_integer(v))
		return mrl_err_set(err, MRL_EINPUT, "%s: the choice must be a choice index (an integer) or null, got %s",
				   where, mrl_json_type_name(v));
	json_int_t c = json_integer_value(v);
	if (c < 0 || (uint64_t)c >= u->n_choices)
		return mrl_err_set(err, MRL_EINPUT, "%s: choice %lld is out of range: item '%s' of task '%s' has %zu "
				   "choices in %s (0..%zu)", where, (long long)c, task_item_id(u->item), task_id(u->task),
				   u->n_choices, u->lang, u->n_choices ? u->n_choices - 1 : 0);
	u->choice = (int64_t)c;
	return 0;
}

/* One line's object; where is "path:LINE". */
static int jsonl_line(const json_t *o, const char *where, size_t line, const struct task_suite *suite,
		      struct score_plan *p, struct mrl_err *err)
{
	const char *task = json_string_value(json_object_get(o, "task"));
	const char *lang = json_string_value(json_object_get(o, "language"));
	const json_t *choice = json_object_get(o, "choice");
	char item[256];
	if (!task || !lang || line_item(o, item, sizeof item))
		return mrl_err_set(err, MRL_EINPUT, "%s: expected {\"task\": T, \"item\": ID, \"language\": L, \"choice\": "
				   "INDEX or null}; \"%s\" is missing or not a %s", where,
				   !task ? "task" : !lang ? "language" : "item", !task || !lang ? "string" : "string or integer");
	const struct task_task *t = task_suite_find(suite, task);
	if (!t)
		return mrl_err_set(err, MRL_EINPUT, "%s: the suite has no task '%s'", where, task);
	const bool gen = task_type(t) == TASK_GENERATE;
	const json_t *text = json_object_get(o, "text");
	if (task_type(t) == TASK_PERPLEXITY)
		return mrl_err_set(err, MRL_EINPUT, "%s: task '%s' is a perplexity task: it has no predictions to score",
				   where, task);
	if (gen && (!text || !(json_is_string(text) || json_is_null(text))))
		return mrl_err_set(err, MRL_EINPUT, "%s: task '%s' is a generate task: \"text\" (the answer, a string, or "
				   "null for no answer) is %s", where, task, text ? "not a string" : "missing");
	if (!gen && !choice)
		return mrl_err_set(err, MRL_EINPUT, "%s: \"choice\" is missing (a choice index, or null for no answer)",
				   where);
	if (task_language_index(t, lang) >= 0 && (!task_selected(p, t) || !score_plan_lang_selected(p, lang))) {
		p->n_ignored++; /* outside --tasks / --lang */
		return 0;
	}
	struct score_unit *u = score_plan_find(p, task, item, lang);
	if (!u)
		return no_unit(where, t, item, lang, err);
	if (u->choice != SCORE_MISSING)
		return mrl_err_set(err, MRL_EINPUT, "%s: a second prediction for item '%s' of task '%s' in %s (the first "
				   "is on line %zu)", where, item, task, lang, u->line);
	u->line = line;
	if (!gen)
		return set_choice(u, choice, where, err);
	u->choice = json_is_string(text) ? 0 : SCORE_NO_ANSWER;
	if (json_is_string(text) && !(u->text = strdup(json_string_value(text))))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	return 0;
}

int score_read_jsonl(const char *path, const char *text, size_t len, const struct task_suite *suite,
		     struct score_plan *p, struct mrl_err *err)
{
	size_t line = 0;
	for (size_t pos = 0; pos < len;) {
		const char *s = text + pos, *nl = memchr(s, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - s) : len - pos;
		pos += n + (nl ? 1 : 0);
		line++;
		size_t k = 0;
		while (k < n && (s[k] == ' ' || s[k] == '\t' || s[k] == '\r'))
			k++;
		if (k == n)
			continue; /* a blank line */
		char where[4200];
		snprintf(where, sizeof where, "%s:%zu", path, line);
		struct mrl_json_error je;
		json_t *o = mrl_json_parse_object(s, n, JSON_REJECT_DUPLICATES, &je);
		if (!o) {
			if (je.problem == MRL_JSON_NOT_OBJECT)
				return mrl_err_set(err, MRL_EINPUT, "%s: expected one JSON object per line, found %s", where,
						   je.found);
			return mrl_err_set(err, MRL_EINPUT, "%s: %s (column %d)", where, je.what, je.column);
		}
		int rc = jsonl_line(o, where, line, suite, p, err);
		json_decref(o);
		if (rc)
			return rc;
	}
	return 0;
}

/* ----------------------------------------------------------------- BENCHić */

void score_map_free(struct score_map *m, size_t n)
{
	for (size_t i = 0; m && i < n; i++) {
		free((char *)m[i].lang);
		free((char *)m[i].test);
	}
	free(m);
}

int score_map_from_source(const char *source, struct score_map **out, size_t *n)
{
	static const char prefix[] = "imported from COPA JSONL: ";
	*out = NULL;
	*n = 0;
	if (!source || strncmp(source, prefix, sizeof prefix - 1))
		return 0;
	char *copy = strdup(source + sizeof prefix - 1), *save = NULL;
	struct score_map *m = calloc(strlen(source) + 1, sizeof *m);
	if (!copy || !m) {
		free(copy);
		free(m);
		return MRL_ENOMEM;
	}
	for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		char *eq = strchr(tok, '='), *base;
		if (!eq || eq == tok || !eq[1])
			continue;
		*eq = '\0';
		/* "LANG=FILE (sha256 HEX)"; older suites wrote "LANG=/folder/FILE" */
		char *hash = strstr(eq + 1, " (sha256 ");
		if (hash)
			*hash = '\0';
		base = strrchr(eq + 1, '/');
		base = base ? base + 1 : eq + 1;
		if (!(m[*n].lang = strdup(tok)) || !(m[*n].test = strdup(base))) {
			score_map_free(m, *n + 1);
			free(copy);
			*n = 0;
			return MRL_ENOMEM;
		}
		(*n)++;
	}
	free(copy);
	*out = m;
	return 0;
}

/* Whether a list's "test" name is the map's TEST: equal, or TEST + ".jsonl". */
static bool test_matches(const char *name, const char *test)
{
	size_t n = strlen(test);
	return !strcmp(name, test) || (!strncmp(name, test, n) && !strcmp(name + n, ".jsonl"));
}

/* The list of lists[] named test, with its index in *at; NULL when none. */
static const json_t *find_list(const json_t *lists, const char *test, size_t *at)
{
	for (size_t i = 0; i < json_array_size(lists); i++) {
		const char *name = json_string_value(json_object_get(json_array_get(lists, i), "test"));
		if (name && test_matches(name, test)) {
			*at = i;
			return json_array_get(lists, i);
		}
	}
	return NULL;
}

/* "test-sl.jsonl, test-mk.jsonl": the lists of lists[] that no map entry uses
 * (all == true: every list). A malloc'd string, or NULL when there is none. */
static char *list_names(const json_t *lists, const struct score_map *map, size_t n_map, bool all)
{
	char *s = NULL;
	size_t len = 0;
	for (size_t i = 0; i < json_array_size(lists); i++) {
		const char *name = json_string_value(json_object_get(json_array_get(lists, i), "test"));
		bool used = false;
		for (size_t k = 0; name && !all && k < n_map; k++)
			used |= test_matches(name, map[k].test);
		if (!name || used)
			continue;
		char *grown = realloc(s, len + strlen(name) + 3);
		if (!grown)
			break;
		s = grown;
		len += (size_t)sprintf(s + len, "%s%s", len ? ", " : "", name);
	}
	return s;
}

/* The entries of one list onto the units of task t in lang, in item order. */
static int benchich_list(const char *path, const json_t *list, size_t at, const struct task_task *t,
			 const char *lang, struct score_plan *p, struct mrl_err *err)
{
	char where[4200];
	snprintf(where, sizeof where, "%s: /predictions/%zu/predictions", path, at);
	const json_t *v = json_object_get(list, "predictions");
	if (!json_is_array(v))
		return mrl_err_set(err, MRL_EINPUT, "%s: expected an array of choices, got %s", where,
				   v ? mrl_json_type_name(v) : "nothing");
	size_t n_units = 0;
	for (size_t i = 0; i < p->n; i++)
		n_units += p->units[i].task == t && !strcmp(p->units[i].lang, lang);
	if (json_array_size(v) != n_units)
		return mrl_err_set(err, MRL_EINPUT, "%s: %zu prediction%s, but task '%s' has %zu item%s in %s (the list "
				   "must hold one per item, in item order)", where, json_array_size(v),
				   json_array_size(v) == 1 ? "" : "s", task_id(t), n_units, n_units == 1 ? "" : "s", lang);
	size_t j = 0;
	for (size_t i = 0; i < p->n; i++) {
		struct score_unit *u = &p->units[i];
		if (u->task != t || strcmp(u->lang, lang))
			continue;
		char at_j[4300];
		snprintf(at_j, sizeof at_j, "%s/%zu", where, j);
		int rc = set_choice(u, json_array_get(v, j++), at_j, err);
		if (rc)
			return rc;
	}
	return 0;
}

int score_read_benchich(const char *path, const json_t *doc, const struct score_map *map, size_t n_map,
			struct score_plan *p, char **unused, struct mrl_err *err)
{
	*unused = NULL;
	const json_t *lists = json_object_get(doc, "predictions");
	if (!json_is_array(lists))
		return mrl_err_set(err, MRL_EINPUT, "%s: /predictions: expected an array of lists, got %s", path,
				   lists ? mrl_json_type_name(lists) : "nothing");
	if (p->n_tasks != 1)
		return mrl_err_set(err, MRL_EINPUT, "%s: a BENCHić file holds the predictions of one task, but %zu tasks are "
				   "selected; choose one with --tasks", path, p->n_tasks);
	const struct task_task *t = p->tasks[0];
	for (size_t k = 0; k < n_map; k++) {
		char langs[512];
		list_languages(t, langs, sizeof langs);
		if (task_language_index(t, map[k].lang) < 0)
			return mrl_err_set(err, MRL_EINPUT, "--map %s=%s: task '%s' has no language '%s' (its languages: %s)",
					   map[k].lang, map[k].test, task_id(t), map[k].lang, langs);
		for (size_t e = 0; e < k; e++)
			if (!strcmp(map[e].lang, map[k].lang))
				return mrl_err_set(err, MRL_EINPUT, "--map names two lists for %s (%s and %s)", map[k].lang,
						   map[e].test, map[k].test);
		size_t at = 0;
		const json_t *list = find_list(lists, map[k].test, &at);
		if (!list) {
			char *names = list_names(lists, map, n_map, true);
			int rc = mrl_err_set(err, MRL_EINPUT, "%s: no list for the test file '%s' (given for %s); the file "
					     "has lists for: %s", path, map[k].test, map[k].lang, names ? names : "none");
			free(names);
			return rc;
		}
		if (!score_plan_lang_selected(p, map[k].lang))
			continue;
		int rc = benchich_list(path, list, at, t, map[k].lang, p, err);
		if (rc)
			return rc;
	}
	*unused = list_names(lists, map, n_map, false);
	return 0;
}
