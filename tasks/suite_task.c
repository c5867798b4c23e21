/* suite_task.c — building one task of a suite from its JSON: languages and
 * derived languages, metrics, templates, few-shot settings, type-specific
 * settings, and its items and pool (each variant checked against the
 * templates it will be rendered with).
 */
#include "tasks/suite_int.h"
#include "tasks/langid.h"
#include "tasks/chat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- items ----------------------------------------------------------------- */

static const char *const mc_metrics[] = { "acc", "acc_norm", "acc_bytes", "acc_mutual_info", NULL };
static const char *const ppl_metrics[] = { "perplexity", "bits_per_byte", "bits_per_char", "byte_perplexity", "word_perplexity", NULL };
static const char *const gen_metrics[] = { "exact_match", "contains", "f1", "chrf", "chrf++", "bleu", "rouge_l",
					    "script_ok", "lang_ok", NULL };

/* Build v from a variant object; reports wrong types. Strings point into the object. */

static void build_variant(struct walk *w, const struct task_task *t, json_t *obj, struct task_variant *v)
{
	const char *k;
	json_t *x;
	size_t n = json_object_size(obj);
	v->present = true;
	v->fields = walk_calloc(w, n, sizeof *v->fields);
	if (!v->fields)
		return;
	json_object_foreach(obj, k, x) {
		size_t old = walk_push_key(w, k);
		bool is_choices = t->type == TASK_MULTIPLE_CHOICE && !strcmp(k, "choices");
		bool is_target = t->type == TASK_GENERATE && !strcmp(k, "target");
		if (is_choices || (is_target && json_is_array(x))) {
			if (!json_is_array(x)) {
				walk_problem(w, "expected an array of strings, got %s", mrl_json_type_name(x));
			} else if (json_array_size(x) < (is_choices ? 2u : 1u)) {
				walk_problem(w, "expected at least %d %s, got %zu", is_choices ? 2 : 1,
					is_choices ? "choices" : "target", json_array_size(x));
			} else {
				size_t m = json_array_size(x), i;
				const char **arr = walk_calloc(w, m, sizeof *arr);
				json_t *e;
				if (!arr)
					goto next;
				json_array_foreach(x, i, e) {
					size_t o2 = walk_push_idx(w, i);
					if (!json_is_string(e))
						walk_problem(w, "expected a string, got %s", mrl_json_type_name(e));
					else if (!json_string_length(e))
						walk_problem(w, "must not be empty");
					arr[i] = json_string_value(e);
					walk_pop(w, o2);
				}
				if (is_choices) {
					v->choices = arr;
					v->n_choices = m;
				} else {
					v->targets = arr;
					v->n_targets = m;
				}
			}
		} else if (!json_is_string(x)) {
			walk_problem(w, "expected a string, got %s", mrl_json_type_name(x));
		} else {
			if (is_target && !json_string_length(x)) /* as an empty string in a target array */
				walk_problem(w, "must not be empty");
			if (is_target) {
				const char **arr = walk_calloc(w, 1, sizeof *arr);
				if (arr) {
					arr[0] = json_string_value(x);
					v->targets = arr;
					v->n_targets = 1;
				}
			}
			v->fields[v->n_fields].name = k;
			v->fields[v->n_fields].value = json_string_value(x);
			v->n_fields++;
		}
	next:
		walk_pop(w, old);
	}
	if (t->type == TASK_MULTIPLE_CHOICE && !json_object_get(obj, "choices"))
		walk_problem(w, "missing \"choices\" (a multiple_choice variant needs an array of at least 2 strings)");
	if (t->type == TASK_PERPLEXITY && !json_is_string(json_object_get(obj, "text")))
		walk_problem(w, "missing \"text\" (a perplexity variant needs the text to score)");
	if (t->type == TASK_PERPLEXITY && json_is_string(json_object_get(obj, "text")) &&
	    !json_string_length(json_object_get(obj, "text")))
		walk_problem(w, "\"text\" is empty");
	if (t->type == TASK_GENERATE && !json_object_get(obj, "target"))
		walk_problem(w, "missing \"target\" (a string or an array of reference answers)");
}

static void build_item(struct walk *w, struct task_task *t, json_t *ij, struct task_item *it)
{
	it->gold = -1;
	it->n_langs = t->n_langs;
	it->v = walk_calloc(w, t->n_langs, sizeof *it->v);
	if (!it->v)
		return;
	if (!json_is_object(ij)) {
		walk_problem(w, "expected an item object, got %s", mrl_json_type_name(ij));
		return;
	}
	it->id = walk_get_str(w, ij, "id", true, true);
	json_t *gold = json_object_get(ij, "gold");
	if (t->type == TASK_MULTIPLE_CHOICE) {
		long long g = -1;
		if (walk_get_int(w, ij, "gold", true, 0, 1 << 20, &g))
			it->gold = (int)g;
	} else if (gold) {
		size_t old = walk_push_key(w, "gold");
		walk_problem(w, "\"gold\" applies to multiple_choice items only");
		walk_pop(w, old);
	}
	const char *k;
	json_t *x;
	json_object_foreach(ij, k, x) {
		if (!strcmp(k, "id") || !strcmp(k, "gold") || k[0] == '_')
			continue;
		size_t old = walk_push_key(w, k);
		int li = task_language_index(t, k);
		if (li < 0) {
			if (task_lang_tag_valid(k)) {
				char langs[512] = "";
				size_t n = 0;
				for (size_t i = 0; i < t->n_langs && n < sizeof langs; i++)
					n += (size_t)snprintf(langs + n, sizeof langs - n, "%s%s", i ? ", " : "", t->langs[i]);
				walk_problem(w, "variant in language '%s', which is not one of the task's languages (%s)", k, langs);
			} else {
				walk_problem(w, "unknown key '%s' in an item (expected id, gold and language variants)", k);
			}
		} else if (t->derived_from[li] >= 0) {
			walk_problem(w, "'%s' is derived from '%s' by the loader; remove it from the item", k,
				t->langs[t->derived_from[li]]);
		} else if (!json_is_object(x)) {
			walk_problem(w, "expected a variant object, got %s", mrl_json_type_name(x));
		} else {
			build_variant(w, t, x, &it->v[li]);
			walk_check_variant_template(w, t->tmpl_context[li], "context", &it->v[li], k);
			walk_check_variant_template(w, t->tmpl_choice[li], "choice", &it->v[li], k);
			walk_check_variant_template(w, t->tmpl_description[li], "description", &it->v[li], k);
		}
		walk_pop(w, old);
	}
	/* choice count and gold */
	if (t->type == TASK_MULTIPLE_CHOICE) {
		int first = -1;
		for (size_t li = 0; li < t->n_langs; li++) {
			if (!it->v[li].present || !it->v[li].n_choices)
				continue;
			if (first < 0) {
				first = (int)li;
				continue;
			}
			if (it->v[li].n_choices != it->v[first].n_choices) {
				size_t o1 = walk_push_key(w, t->langs[li]);
				size_t o2 = walk_push_key(w, "choices");
				walk_problem(w, "%zu choices here but %zu in %s (every language must have the same choices)",
					it->v[li].n_choices, it->v[first].n_choices, t->langs[first]);
				walk_pop(w, o2);
				walk_pop(w, o1);
			}
		}
		if (first >= 0 && it->gold >= 0 && (size_t)it->gold >= it->v[first].n_choices) {
			size_t old = walk_push_key(w, "gold");
			walk_problem(w, "gold %d is out of range: the item has %zu choices (expected 0..%zu)", it->gold,
				it->v[first].n_choices, it->v[first].n_choices - 1);
			walk_pop(w, old);
		}
	}
	bool any = false;
	for (size_t li = 0; li < t->n_langs; li++)
		any |= json_object_get(ij, t->langs[li]) != NULL;
	if (!any)
		walk_problem(w, "item has no language variant (expected at least one of the task's languages)");
}

/* Make the derived variants of an item (after it validated) and insert them into the document. */
static void derive_item(struct walk *w, struct task_task *t, json_t *ij, struct task_item *it,
			const task_translit_fn *fns)
{
	for (size_t li = 0; li < t->n_langs; li++) {
		int src = t->derived_from[li];
		if (src < 0 || !fns[li] || !it->v[src].present)
			continue;
		struct mrl_err e = {0};
		json_t *obj = walk_translit_variant(fns[li], json_object_get(ij, t->langs[src]), t->derived_keep[li], &e);
		if (!obj || json_object_set_new(ij, t->langs[li], obj)) {
			size_t old = walk_push_key(w, t->langs[src]);
			walk_problem(w, "cannot derive %s: %s", t->langs[li], e.msg[0] ? e.msg : "out of memory");
			walk_pop(w, old);
			continue;
		}
		size_t old = walk_push_key(w, t->langs[src]);
		build_variant(w, t, obj, &it->v[li]);
		it->v[li].derived = true;
		/* a derived language's own (not transliterated) templates must fit the derived fields too */
		walk_check_variant_template(w, t->tmpl_context[li], "context", &it->v[li], t->langs[li]);
		walk_check_variant_template(w, t->tmpl_choice[li], "choice", &it->v[li], t->langs[li]);
		walk_check_variant_template(w, t->tmpl_description[li], "description", &it->v[li], t->langs[li]);
		walk_pop(w, old);
	}
}

/* ---- tasks ------------------------------------------------------------------- */

static void build_items(struct walk *w, struct task_task *t, json_t *tj, const char *key, struct task_item **out,
			size_t *n_out, const task_translit_fn *fns, bool required)
{
	json_t *arr = json_object_get(tj, key);
	size_t old = walk_push_key(w, key);
	if (!arr) {
		if (required)
			walk_problem(w, "missing; expected an array of items");
	} else if (!json_is_array(arr)) {
		walk_problem(w, "expected an array of items, got %s", mrl_json_type_name(arr));
	} else if (!json_array_size(arr) && required) {
		walk_problem(w, "the task has no items");
	} else {
		size_t n = json_array_size(arr), i;
		json_t *ij;
		*out = walk_calloc(w, n, sizeof **out);
		if (!*out)
			goto done;
		json_array_foreach(arr, i, ij) {
			size_t o2 = walk_push_idx(w, i);
			size_t before = w->d->n + w->d->n_dropped;
			build_item(w, t, ij, &(*out)[i]);
			*n_out = i + 1;
			if (w->d->n + w->d->n_dropped == before && json_is_object(ij))
				derive_item(w, t, ij, &(*out)[i], fns);
			walk_pop(w, o2);
		}
	}
done:
	walk_pop(w, old);
}

struct id_ref {
	const char *id;
	size_t index;
	bool pool;
};

static int cmp_id_ref(const void *a, const void *b)
{
	const struct id_ref *x = a, *y = b;
	int c = strcmp(x->id, y->id);
	if (c)
		return c;
	if (x->pool != y->pool)
		return x->pool ? 1 : -1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* Item ids are unique within a task (items and pool together); O(n log n). */
static void check_unique_ids(struct walk *w, struct task_task *t)
{
	size_t n = 0, m = t->n_items + t->n_pool;
	struct id_ref *refs = walk_calloc(w, m, sizeof *refs);
	if (!refs)
		return;
	for (size_t i = 0; i < t->n_items; i++)
		if (t->items[i].id)
			refs[n++] = (struct id_ref){ t->items[i].id, i, false };
	for (size_t i = 0; i < t->n_pool; i++)
		if (t->pool[i].id)
			refs[n++] = (struct id_ref){ t->pool[i].id, i, true };
	qsort(refs, n, sizeof *refs, cmp_id_ref);
	for (size_t i = 1; i < n; i++) {
		if (strcmp(refs[i].id, refs[i - 1].id))
			continue;
		char task_path[sizeof w->path];
		memcpy(task_path, w->path, w->plen + 1);
		size_t o1 = walk_push_key(w, refs[i].pool ? "pool" : "items");
		size_t o2 = walk_push_idx(w, refs[i].index);
		size_t o3 = walk_push_key(w, "id");
		walk_problem(w, "duplicate item id \"%s\" (first used by %s/%s/%zu)", refs[i].id, task_path,
			refs[i - 1].pool ? "pool" : "items", refs[i - 1].index);
		walk_pop(w, o3);
		walk_pop(w, o2);
		walk_pop(w, o1);
	}
	free(refs);
}

/* "languages": the task's BCP 47 tags, and the per-language arrays sized by them
 * (*fns: the transform of each derived language, filled by build_derived).
 * Returns false when out of memory. */
static bool build_languages(struct walk *w, json_t *tj, struct task_task *t, task_translit_fn **fns)
{
	json_t *langs = json_object_get(tj, "languages");
	size_t old = walk_push_key(w, "languages");
	if (!langs) {
		walk_problem(w, "missing; expected an array of BCP 47 language tags");
	} else if (!json_is_array(langs) || !json_array_size(langs)) {
		walk_problem(w, "expected a non-empty array of BCP 47 language tags, got %s",
			json_is_array(langs) ? "an empty array" : mrl_json_type_name(langs));
	} else {
		size_t n = json_array_size(langs), i;
		json_t *l;
		t->langs = walk_calloc(w, n, sizeof *t->langs);
		t->derived_from = walk_calloc(w, n, sizeof *t->derived_from);
		t->derived_keep = walk_calloc(w, n, sizeof *t->derived_keep);
		t->tmpl_context = walk_calloc(w, n, sizeof *t->tmpl_context);
		t->tmpl_choice = walk_calloc(w, n, sizeof *t->tmpl_choice);
		t->tmpl_description = walk_calloc(w, n, sizeof *t->tmpl_description);
		*fns = walk_calloc(w, n, sizeof *fns);
		if (!t->langs || !t->derived_from || !t->derived_keep || !t->tmpl_context || !t->tmpl_choice ||
		    !t->tmpl_description || !*fns) {
			walk_pop(w, old);
			return false;
		}
		json_array_foreach(langs, i, l) {
			size_t o2 = walk_push_idx(w, i);
			const char *tag = json_string_value(l);
			char why[256];
			if (!tag)
				walk_problem(w, "expected a language tag string, got %s", mrl_json_type_name(l));
			else if (!task_lang_tag_check(tag, why, sizeof why))
				walk_problem(w, "%s", why);
			else if (task_language_index(t, tag) >= 0)
				walk_problem(w, "language \"%s\" is listed twice", tag);
			else {
				t->derived_from[t->n_langs] = -1;
				t->langs[t->n_langs++] = tag;
			}
			walk_pop(w, o2);
		}
	}
	walk_pop(w, old);
	return true;
}

/* A derived language's "keep": an array of field names (non-empty strings), the
 * variant's fields copied as they are ("choices" that are answer labels). */
static bool check_keep(struct walk *w, json_t *keep)
{
	size_t old = walk_push_key(w, "keep"), i;
	json_t *k;
	bool good = json_is_array(keep);
	if (!good)
		walk_problem(w, "expected an array of field names, got %s", mrl_json_type_name(keep));
	json_array_foreach(keep, i, k)
		if (!json_is_string(k) || !json_string_length(k)) {
			size_t o2 = walk_push_idx(w, i);
			walk_problem(w, "expected a field name (a non-empty string), got %s", mrl_json_type_name(k));
			walk_pop(w, o2);
			good = false;
		}
	walk_pop(w, old);
	return good;
}

/* "derived": languages made from another by a transform (sr-Latn from sr-Cyrl). */
static void build_derived(struct walk *w, json_t *tj, struct task_task *t, task_translit_fn *fns)
{
	size_t old;
	json_t *derived = json_object_get(tj, "derived");
	if (derived) {
		old = walk_push_key(w, "derived");
		if (!json_is_object(derived)) {
			walk_problem(w, "expected an object of language -> {\"from\", \"transform\"}, got %s", mrl_json_type_name(derived));
		} else {
			const char *k;
			json_t *d;
			json_object_foreach(derived, k, d) {
				size_t o2 = walk_push_key(w, k);
				int li = task_language_index(t, k);
				if (li < 0) {
					walk_problem(w, "derived language \"%s\" is not in the task's languages", k);
				} else if (!json_is_object(d)) {
					walk_problem(w, "expected {\"from\": ..., \"transform\": ...}, got %s", mrl_json_type_name(d));
				} else {
					static const char *const dkeys[] = { "from", "transform", "keep", NULL };
					walk_check_keys(w, d, dkeys, "a derived language");
					json_t *keep = json_object_get(d, "keep");
					if (keep && !check_keep(w, keep))
						keep = NULL;
					const char *from = walk_get_str(w, d, "from", true, true);
					const char *tr = walk_get_str(w, d, "transform", true, true);
					int src = from ? task_language_index(t, from) : -1;
					size_t o3 = walk_push_key(w, "from");
					if (from && src < 0)
						walk_problem(w, "\"%s\" is derived from \"%s\", which is not in the task's languages", k, from);
					else if (from && src == li)
						walk_problem(w, "\"%s\" cannot be derived from itself", k);
					walk_pop(w, o3);
					o3 = walk_push_key(w, "transform");
					task_translit_fn fn = tr ? walk_find_transform(tr) : NULL;
					if (tr && !fn)
						walk_problem(w, "unknown transform \"%s\" (expected sr-Cyrl-to-Latn or sr-Latn-to-Cyrl)", tr);
					walk_pop(w, o3);
					if (src >= 0 && src != li && fn) {
						t->derived_from[li] = src;
						t->derived_keep[li] = keep;
						fns[li] = fn;
					}
				}
				walk_pop(w, o2);
			}
			/* a source must itself be given, not derived */
			for (size_t li = 0; li < t->n_langs; li++) {
				int src = t->derived_from[li];
				if (src >= 0 && t->derived_from[src] >= 0) {
					size_t o2 = walk_push_key(w, t->langs[li]);
					walk_problem(w, "\"%s\" is derived from \"%s\", which is itself derived (derive from a given language)",
						t->langs[li], t->langs[src]);
					walk_pop(w, o2);
					t->derived_from[li] = -1;
					fns[li] = NULL;
				}
			}
		}
		walk_pop(w, old);
	}
}

/* "metrics": names the task's type knows; the type's default when absent.
 * Returns false when out of memory. */
static bool build_metrics(struct walk *w, json_t *tj, struct task_task *t)
{
	size_t old;
	const char *const *known = (int)t->type < 0 ? NULL : t->type == TASK_MULTIPLE_CHOICE ? mc_metrics
				 : t->type == TASK_PERPLEXITY ? ppl_metrics : gen_metrics;
	json_t *metrics = json_object_get(tj, "metrics");
	old = walk_push_key(w, "metrics");
	if (!metrics) {
		if (known) { /* default: the type's first metric(s) */
			t->metrics = known;
			t->n_metrics = t->type == TASK_MULTIPLE_CHOICE ? 2 : 1;
		}
	} else if (!json_is_array(metrics) || !json_array_size(metrics)) {
		walk_problem(w, "expected a non-empty array of metric names, got %s",
			json_is_array(metrics) ? "an empty array" : mrl_json_type_name(metrics));
	} else {
		size_t i;
		json_t *m;
		const char **arr = walk_calloc(w, json_array_size(metrics), sizeof *arr);
		if (!arr) {
			walk_pop(w, old);
			return false;
		}
		json_array_foreach(metrics, i, m) {
			size_t o2 = walk_push_idx(w, i);
			char list[256] = "";
			if (known)
				walk_join_list(list, sizeof list, known);
			if (!json_is_string(m))
				walk_problem(w, "expected a metric name, got %s", mrl_json_type_name(m));
			else if (known && !walk_in_list(json_string_value(m), known))
				walk_problem(w, "unknown metric \"%s\" for a %s task (expected one of: %s)", json_string_value(m),
					task_type_names[t->type], list);
			else
				arr[t->n_metrics++] = json_string_value(m);
			walk_pop(w, o2);
		}
		t->metrics = arr;
		t->owns_metrics = true;
	}
	walk_pop(w, old);
	return true;
}

/* One language's {"context", "choice"} (k, index li): checked and kept in t. Whether a
 * template may write {choice} depends on choice_in_context: without it only the choice
 * template writes it (else every choice reads the same); with it only the context does
 * (the choice template is the continuation every choice shares). */
static void lang_templates(struct walk *w, struct task_task *t, const char *k, int li, json_t *tl)
{
	static const char *const tkeys[] = { "context", "choice", "description", NULL };
	walk_check_keys(w, tl, tkeys, "a language's templates");
	json_t *c = json_object_get(tl, "context"), *ch = json_object_get(tl, "choice"),
	       *d = json_object_get(tl, "description");
	bool uses_choice = false;
	if (d) { /* before the few-shot examples: it has no choice to write */
		size_t o = walk_push_key(w, "description");
		if (t->type == TASK_PERPLEXITY) /* its windows are the text itself: nothing would write it */
			walk_problem(w, "a description applies to multiple_choice and generate tasks only");
		else if (walk_check_tmpl(w, d, k, &uses_choice) && !uses_choice)
			t->tmpl_description[li] = d;
		else if (uses_choice)
			walk_problem(w, "the description comes before the examples and the question: it cannot use {choice}");
		walk_pop(w, o);
		uses_choice = false;
	}
	if (c) {
		size_t o = walk_push_key(w, "context");
		if (walk_check_tmpl(w, c, k, &uses_choice))
			t->tmpl_context[li] = c;
		if (uses_choice && !t->choice_in_context)
			walk_problem(w, "{choice} belongs in the \"choice\" template, not the context (or set "
				     "\"choice_in_context\": true)");
		else if (!uses_choice && t->choice_in_context)
			walk_problem(w, "with \"choice_in_context\" the context writes each choice: it must use {choice}");
		walk_pop(w, o);
	}
	if (!ch)
		return;
	size_t o = walk_push_key(w, "choice");
	uses_choice = false;
	if (t->type != TASK_MULTIPLE_CHOICE && (int)t->type >= 0)
		walk_problem(w, "a \"choice\" template applies to multiple_choice tasks only");
	else if (walk_check_tmpl(w, ch, k, &uses_choice)) {
		if (uses_choice == t->choice_in_context)
			walk_problem(w, t->choice_in_context ? "with \"choice_in_context\" the choice template is the "
							       "continuation every choice shares: it must not use {choice}"
							     : "the choice template never uses {choice}, so every choice would "
							       "read the same");
		else
			t->tmpl_choice[li] = ch;
	}
	walk_pop(w, o);
}

/* "templates": each language's context and choice template; derived languages
 * without their own get transliterated copies of their source's. */
static void build_templates(struct walk *w, json_t *tj, struct task_task *t, const task_translit_fn *fns)
{
	json_t *derived = json_object_get(tj, "derived");
	size_t old;
	json_t *tmpls = json_object_get(tj, "templates");
	old = walk_push_key(w, "templates");
	if (tmpls && !json_is_object(tmpls)) {
		walk_problem(w, "expected an object of language -> {\"context\", \"choice\"}, got %s", mrl_json_type_name(tmpls));
		tmpls = NULL;
	}
	if (tmpls) {
		const char *k;
		json_t *tl;
		json_object_foreach(tmpls, k, tl) {
			size_t o2 = walk_push_key(w, k);
			int li = task_language_index(t, k);
			if (li < 0) {
				walk_problem(w, "template for \"%s\", which is not in the task's languages", k);
			} else if (!json_is_object(tl)) {
				walk_problem(w, "expected {\"context\": ..., \"choice\": ...}, got %s", mrl_json_type_name(tl));
			} else {
				lang_templates(w, t, k, li, tl);
			}
			walk_pop(w, o2);
		}
	}
	/* every given language needs its own context template (perplexity defaults to "{text}") */
	for (size_t li = 0; li < t->n_langs; li++) {
		json_t *given = tmpls ? json_object_get(json_object_get(tmpls, t->langs[li]), "context") : NULL;
		json_t *choice = tmpls ? json_object_get(json_object_get(tmpls, t->langs[li]), "choice") : NULL;
		if (t->choice_in_context && !choice && !json_object_get(derived, t->langs[li]))
			walk_problem(w, "no choice template for \"%s\" (with \"choice_in_context\" it is the continuation "
				     "every choice shares)", t->langs[li]);
		if (given || json_object_get(derived, t->langs[li]) || t->type == TASK_PERPLEXITY || (int)t->type < 0)
			continue;
		walk_problem(w, "no context template for \"%s\" (each language words its own prompt; "
			   "only derived languages inherit one)", t->langs[li]);
	}
	/* derived languages without their own templates get transliterated copies */
	for (size_t li = 0; li < t->n_langs; li++) {
		int src = t->derived_from[li];
		if (src < 0 || !tmpls)
			continue;
		json_t *mine = json_object_get(tmpls, t->langs[li]);
		static const char *const kinds[] = { "context", "choice", "description" };
		for (int which = 0; which < 3; which++) {
			json_t **slots[] = { t->tmpl_context, t->tmpl_choice, t->tmpl_description };
			json_t **slot = &slots[which][li], *from = slots[which][src];
			if (*slot || !from || json_object_get(mine, kinds[which]))
				continue;
			struct mrl_err e = {0};
			json_t *copy = walk_translit_tmpl_value(fns[li], from, &e);
			if (!copy) {
				walk_problem(w, "cannot derive the %s template for \"%s\": %s", kinds[which], t->langs[li],
					     e.msg[0] ? e.msg : "out of memory");
				continue;
			}
			if (!mine) {
				mine = json_object();
				if (!mine || json_object_set_new(tmpls, t->langs[li], mine)) {
					json_decref(copy);
					w->oom = true;
					break;
				}
			}
			if (json_object_set_new(mine, kinds[which], copy)) {
				w->oom = true;
				break;
			}
			*slot = json_object_get(mine, kinds[which]);
		}
	}
	walk_pop(w, old);
}

/* "fewshot": k examples, their seed, source, delimiter, the field they must share
 * with the item (match) and their order (random draw or the first k). */
static void build_fewshot(struct walk *w, json_t *tj, struct task_task *t)
{
	size_t old;
	json_t *fs = json_object_get(tj, "fewshot");
	if (fs) {
		old = walk_push_key(w, "fewshot");
		if (!json_is_object(fs)) {
			walk_problem(w, "expected {\"k\", \"seed\", \"source\", \"delimiter\", \"match\", \"order\"}, got %s",
				     mrl_json_type_name(fs));
		} else {
			static const char *const fkeys[] = { "k", "seed", "source", "delimiter", "match", "order", NULL };
			walk_check_keys(w, fs, fkeys, "few-shot settings");
			long long k = 0, seed = 1234;
			walk_get_int(w, fs, "k", true, 0, 64, &k);
			walk_get_int(w, fs, "seed", false, 0, INT64_MAX, &seed);
			const char *src = walk_get_str(w, fs, "source", false, true);
			const char *fd = walk_get_str(w, fs, "delimiter", false, false);
			const char *match = walk_get_str(w, fs, "match", false, true);
			const char *order = walk_get_str(w, fs, "order", false, true);
			if (order && strcmp(order, "random") && strcmp(order, "first")) {
				size_t o2 = walk_push_key(w, "order");
				walk_problem(w, "unknown few-shot order \"%s\" (expected \"random\" or \"first\")", order);
				walk_pop(w, o2);
			}
			if (src && strcmp(src, "pool") && strcmp(src, "items")) {
				size_t o2 = walk_push_key(w, "source");
				walk_problem(w, "unknown few-shot source \"%s\" (expected \"pool\" or \"items\")", src);
				walk_pop(w, o2);
			}
			t->fewshot.has = true;
			t->fewshot.k = (int)k;
			t->fewshot.seed = (uint64_t)seed;
			t->fewshot.source = src ? src : "items";
			t->fewshot.delimiter = fd ? fd : "\n\n";
			t->fewshot.match = match;
			t->fewshot.first = order && !strcmp(order, "first");
		}
		walk_pop(w, old);
	}
}

const char *walk_get_chat_template(struct walk *w, json_t *obj)
{
	const char *name = walk_get_str(w, obj, "chat_template", false, true);
	enum task_chat_family f;
	struct mrl_err e = { 0 };
	if (name && strcasecmp(name, "auto") && task_chat_parse_name(name, &f, &e)) {
		char known[160] = "auto";
		for (int k = 0; k < TASK_CHAT_N_FAMILIES; k++)
			snprintf(known + strlen(known), sizeof known - strlen(known), ", %s",
				 task_chat_name((enum task_chat_family)k));
		size_t old = walk_push_key(w, "chat_template");
		walk_problem(w, "unknown chat template \"%s\" (known: %s)", name, known);
		walk_pop(w, old);
		return NULL;
	}
	return name;
}

/* The key of a generate setting that has an older alias ("stop"/"until",
 * "max_new_tokens"/"max_tokens"): name where given, else alias. Both given
 * with different values is a problem named at name. */
static const char *aliased_key(struct walk *w, json_t *tj, const char *name, const char *alias)
{
	json_t *a = json_object_get(tj, name), *b = json_object_get(tj, alias);
	if (a && b && !json_equal(a, b)) {
		size_t old = walk_push_key(w, name);
		walk_problem(w, "\"%s\" and its alias \"%s\" are both given, with different values: give one", name,
			     alias);
		walk_pop(w, old);
	}
	return a || !b ? name : alias;
}

/* Language li's stop strings from the array a (at the current path): each non-empty;
 * false where a is not an array. */
static bool stop_list(struct walk *w, size_t li, json_t *a, void *task)
{
	struct task_task *t = task;
	if (!json_is_array(a)) {
		walk_problem(w, "expected an array of stop strings, got %s", mrl_json_type_name(a));
		return false;
	}
	size_t i;
	json_t *u;
	if (!(t->until[li] = walk_calloc(w, json_array_size(a) + 1, sizeof *t->until[li])))
		return false;
	json_array_foreach(a, i, u) {
		size_t o = walk_push_idx(w, i);
		if (!json_is_string(u) || !json_string_length(u))
			walk_problem(w, "expected a non-empty stop string, got %s", mrl_json_type_name(u));
		else
			t->until[li][t->n_until[li]++] = json_string_value(u);
		walk_pop(w, o);
	}
	return true;
}

/* A generate task's "stop" (alias "until"): one array for every language, or an object
 * of an array per language (lm-eval words a prompt's next "Question:" per language). */
static void build_stop(struct walk *w, json_t *tj, struct task_task *t)
{
	const char *key = aliased_key(w, tj, "stop", "until");
	json_t *stop = json_object_get(tj, key);
	t->until = walk_calloc(w, t->n_langs, sizeof *t->until);
	t->n_until = walk_calloc(w, t->n_langs, sizeof *t->n_until);
	if (!stop || !t->until || !t->n_until)
		return;
	size_t old = walk_push_key(w, key);
	if (json_is_object(stop)) {
		walk_per_language(w, t, stop, stop_list, t, "stop strings");
	} else if (stop_list(w, 0, stop, t)) { /* checked once, the same list for every language */
		for (size_t li = 1; li < t->n_langs; li++)
			if ((t->until[li] = walk_calloc(w, t->n_until[0] + 1, sizeof *t->until[li]))) {
				memcpy(t->until[li], t->until[0], t->n_until[0] * sizeof *t->until[li]);
				t->n_until[li] = t->n_until[0];
			}
	}
	walk_pop(w, old);
}

/* Settings of one task type (window/stride, stop/max_new_tokens), refused on the others. */
static void build_type_settings(struct walk *w, json_t *tj, struct task_task *t)
{
	size_t old;
	if (t->type == TASK_PERPLEXITY) {
		long long win = 0, stride = 0;
		if (walk_get_int(w, tj, "window", true, 2, 1 << 20, &win)) {
			stride = win / 2;
			if (walk_get_int(w, tj, "stride", false, 1, 1 << 20, &stride) && stride > win) {
				size_t o2 = walk_push_key(w, "stride");
				walk_problem(w, "stride %lld is larger than the window %lld", stride, win);
				walk_pop(w, o2);
			}
		}
		t->window = (int)win;
		t->stride = (int)stride;
	}
	if (t->type == TASK_GENERATE) {
		long long mt = 64;
		walk_get_int(w, tj, aliased_key(w, tj, "max_new_tokens", "max_tokens"), false, 1, 1 << 16, &mt);
		t->max_tokens = (int)mt;
		build_stop(w, tj, t);
		t->chat_template = walk_get_chat_template(w, tj);
		json_t *fold = json_object_get(tj, "fold_diacritics");
		if (fold && !json_is_boolean(fold)) {
			old = walk_push_key(w, "fold_diacritics");
			walk_problem(w, "expected true or false, got %s", mrl_json_type_name(fold));
			walk_pop(w, old);
		}
		t->fold_diacritics = json_is_true(fold);
		walk_get_extract(w, tj, t);
	}
	if ((int)t->type >= 0) {
		static const char *const ppl_only[] = { "window", "stride", NULL },
				  *const gen_only[] = { "stop", "until", "max_new_tokens", "max_tokens", "expect_script",
							"expect_language", "chat_template", "fold_diacritics", "extract",
							NULL };
		for (int i = 0; ppl_only[i]; i++)
			if (t->type != TASK_PERPLEXITY && json_object_get(tj, ppl_only[i])) {
				size_t o2 = walk_push_key(w, ppl_only[i]);
				walk_problem(w, "\"%s\" applies to perplexity tasks only", ppl_only[i]);
				walk_pop(w, o2);
			}
		for (int i = 0; gen_only[i]; i++)
			if (t->type != TASK_GENERATE && json_object_get(tj, gen_only[i])) {
				size_t o2 = walk_push_key(w, gen_only[i]);
				walk_problem(w, "\"%s\" applies to generate tasks only", gen_only[i]);
				walk_pop(w, o2);
			}
	}
}

/* The metric name is listed for t. */
static bool has_metric(const struct task_task *t, const char *name)
{
	for (size_t i = 0; i < t->n_metrics; i++)
		if (!strcmp(t->metrics[i], name))
			return true;
	return false;
}

/* "expect_script" / "expect_language" (generate): {language tag: "Cyrl"|"Latn"} /
 * {language tag: "sr"|"hr"|...}; every language the metric script_ok / lang_ok
 * judges needs an expectation, given here or implied by its tag (task_gen_expect_*). */
static void build_expect(struct walk *w, json_t *tj, struct task_task *t, const char *key)
{
	const bool script = !strcmp(key, "expect_script");
	json_t *obj = json_object_get(tj, key);
	if (t->type != TASK_GENERATE || !t->n_langs)
		return;
	const char **dst = walk_calloc(w, t->n_langs, sizeof *dst);
	if (!dst)
		return;
	if (script)
		t->expect_script = dst;
	else
		t->expect_language = dst;
	size_t old = walk_push_key(w, key), i;
	if (obj && !json_is_object(obj))
		walk_problem(w, "expected an object {language: %s}, got %s", script ? "\"Cyrl\" or \"Latn\"" : "language code",
			     mrl_json_type_name(obj));
	const char *tag;
	json_t *v;
	json_object_foreach(json_is_object(obj) ? obj : NULL, tag, v) {
		size_t o2 = walk_push_key(w, tag);
		struct mrl_err e = { 0 };
		enum task_script sc;
		enum task_lang lg;
		for (i = 0; i < t->n_langs && strcmp(t->langs[i], tag); i++)
			;
		if (i == t->n_langs)
			walk_problem(w, "\"%s\" is not a language of the task", tag);
		else if (!json_is_string(v))
			walk_problem(w, "expected a string, got %s", mrl_json_type_name(v));
		else if (script ? task_script_parse(json_string_value(v), &sc, &e) : task_lang_parse(json_string_value(v), &lg, &e))
			walk_problem(w, "%s", e.msg);
		else
			dst[i] = json_string_value(v);
		walk_pop(w, o2);
	}
	walk_pop(w, old);
	const char *metric = script ? "script_ok" : "lang_ok";
	for (i = 0; i < t->n_langs && has_metric(t, metric); i++)
		if (!(script ? task_gen_expect_script(t, t->langs[i]) : task_gen_expect_language(t, t->langs[i]))) {
			old = walk_push_key(w, "metrics");
			walk_problem(w, "%s needs the expected %s of language \"%s\": give it in \"%s\"", metric,
				     script ? "script" : "language", t->langs[i], key);
			walk_pop(w, old);
		}
}

/* "items" and "pool", their ids, and whether few-shot k fits what there is. */
static void build_task_items(struct walk *w, json_t *tj, struct task_task *t, const task_translit_fn *fns)
{
	size_t old;
	if ((int)t->type < 0 || !t->n_langs || w->oom)
		return;
	build_items(w, t, tj, "items", &t->items, &t->n_items, fns, true);
	build_items(w, t, tj, "pool", &t->pool, &t->n_pool, fns, false);
	check_unique_ids(w, t);
	/* a declared language no item has would be run on nothing (exit 0, 0 units) */
	for (size_t li = 0; t->n_items && li < t->n_langs; li++) {
		bool any = false;
		for (size_t i = 0; i < t->n_items && !any; i++)
			any = task_item_has(&t->items[i], li);
		if (!any) {
			old = walk_push_key(w, "languages");
			walk_problem(w, "\"%s\" is declared, but no item has it (add its variants, or drop the language)",
				     t->langs[li]);
			walk_pop(w, old);
		}
	}
	if (t->fewshot.has && t->fewshot.k > 0) {
		bool from_pool = !strcmp(t->fewshot.source, "pool");
		size_t have = from_pool ? t->n_pool : (t->n_items ? t->n_items - 1 : 0);
		if ((size_t)t->fewshot.k > have) {
			old = walk_push_key(w, "fewshot");
			size_t o2 = walk_push_key(w, "k");
			walk_problem(w, "k = %d examples but the %s has only %zu", t->fewshot.k,
				from_pool ? "pool" : "task (other items)", have);
			walk_pop(w, o2);
			walk_pop(w, old);
		}
	}
}

/* A multiple-choice task's "choice_in_context" (partial evaluation, Winogrande's): each
 * choice written into the context, every choice's context scoring the one continuation
 * its choice template renders. acc_mutual_info has no meaning there (every choice's
 * continuation is the same). */
static void build_choice_in_context(struct walk *w, json_t *tj, struct task_task *t)
{
	json_t *v = json_object_get(tj, "choice_in_context");
	if (!v)
		return;
	size_t old = walk_push_key(w, "choice_in_context");
	if (!json_is_boolean(v))
		walk_problem(w, "expected true or false, got %s", mrl_json_type_name(v));
	else if (t->type != TASK_MULTIPLE_CHOICE && (int)t->type >= 0)
		walk_problem(w, "\"choice_in_context\" applies to multiple_choice tasks only");
	else
		t->choice_in_context = json_is_true(v);
	for (size_t i = 0; t->choice_in_context && i < t->n_metrics; i++)
		if (!strcmp(t->metrics[i], "acc_mutual_info"))
			walk_problem(w, "acc_mutual_info compares each choice's continuation with and without the "
				     "context; with \"choice_in_context\" the continuation is the same for every choice");
	walk_pop(w, old);
}

void walk_build_task(struct walk *w, json_t *tj, struct task_task *t)
{
	static const char *const keys[] = { "id", "type", "description", "metrics", "languages", "derived",
					    "templates", "target_delimiter", "fewshot", "items", "pool",
					    "window", "stride", "stop", "until", "max_new_tokens", "max_tokens",
					    "expect_script", "expect_language", "chat_template", "fold_diacritics",
					    "extract", "choice_in_context", "breakdown", NULL };
	task_translit_fn *fns = NULL;
	t->type = (enum task_type)-1;
	t->target_delimiter = " ";
	if (!json_is_object(tj)) {
		walk_problem(w, "expected a task object, got %s", mrl_json_type_name(tj));
		return;
	}
	walk_check_keys(w, tj, keys, "a task");
	t->id = walk_get_str(w, tj, "id", true, true);
	if (t->id && !walk_task_id_valid(t->id)) {
		size_t old = walk_push_key(w, "id");
		walk_problem(w, "task id \"%s\" must be letters, digits, '_', '-', '.'", t->id);
		walk_pop(w, old);
	}
	const char *type = walk_get_str(w, tj, "type", true, true);
	if (type) {
		for (int i = 0; task_type_names[i]; i++)
			if (!strcmp(type, task_type_names[i]))
				t->type = (enum task_type)i;
		if ((int)t->type < 0) {
			size_t old = walk_push_key(w, "type");
			walk_problem(w, "unknown task type \"%s\" (expected multiple_choice, perplexity or generate)", type);
			walk_pop(w, old);
		}
	}
	(void)walk_get_str(w, tj, "description", false, false); /* checked, not kept */
	if (!build_languages(w, tj, t, &fns))
		goto out;
	build_derived(w, tj, t, fns);
	if (!build_metrics(w, tj, t))
		goto out;
	build_choice_in_context(w, tj, t);
	build_templates(w, tj, t, fns);
	const char *delim = walk_get_str(w, tj, "target_delimiter", false, false);
	if (delim)
		t->target_delimiter = delim;
	build_fewshot(w, tj, t);
	build_type_settings(w, tj, t);
	build_expect(w, tj, t, "expect_script");
	build_expect(w, tj, t, "expect_language");
	build_task_items(w, tj, t, fns);
	walk_get_breakdown(w, tj, t);
out:
	free(fns);
}
