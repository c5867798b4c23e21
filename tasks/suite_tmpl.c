/* suite_tmpl.c — the suite walk's checks of templates (syntax, placeholders
 * each variant has, English words in a non-English prompt) and the
 * transliteration that makes a derived language's variants and templates
 * (sr-Latn from sr-Cyrl) at load time.
 */
#include "tasks/suite_int.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- templates ------------------------------------------------------------- */

static const char *const english_words[] = {
	"question", "answer", "because", "therefore", "choices", "premise", "passage", "options", NULL
};

/* Report English template words in literal text (whole words, ASCII case-insensitive). */
static void check_no_english(struct walk *w, const char *lit, size_t n, const char *lang)
{
	for (size_t i = 0; i < n;) {
		if (!((lit[i] | 0x20) >= 'a' && (lit[i] | 0x20) <= 'z')) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < n && (((lit[j] | 0x20) >= 'a' && (lit[j] | 0x20) <= 'z') || (unsigned char)lit[j] >= 0x80))
			j++;
		for (const char *const *e = english_words; *e; e++)
			if (strlen(*e) == j - i && !strncasecmp(*e, lit + i, j - i))
				walk_problem(w, "English template word '%.*s' in the %s template (each language words its own prompt)",
					(int)(j - i), lit + i, lang);
		i = j;
	}
}

/* Check one template string's syntax; records whether it uses {choice}. */
static void check_tmpl_string(struct walk *w, const char *s, const char *lang, bool *uses_choice)
{
	size_t pos = 0;
	struct tmpl_piece p;
	const char *msg = NULL;
	int r;
	bool english = !strncmp(lang, "en", 2) && (lang[2] == '\0' || lang[2] == '-');
	while ((r = task_tmpl_next(s, &pos, &p, &msg)) > 0) {
		if (p.kind == TMPL_LITERAL) {
			if (!english)
				check_no_english(w, p.start, p.len, lang);
			continue;
		}
		if (p.kind == TMPL_VERBATIM)
			continue; /* labels, as they are */
		const char *f;
		size_t fl;
		if (task_tmpl_field(&p, &f, &fl, &msg)) {
			walk_problem(w, "{%.*s}: %s", (int)p.len, p.start, msg);
			continue;
		}
		if (fl == 6 && !memcmp(f, "choice", 6))
			*uses_choice = true;
	}
	if (r < 0)
		walk_problem(w, "%s", msg);
}

/* A template value: a string or {"switch": field, "cases": {...}, "default": "..."}. Returns false if bad. */
bool walk_check_tmpl(struct walk *w, json_t *t, const char *lang, bool *uses_choice)
{
	const size_t before = w->d->n + w->d->n_dropped; /* past TASK_DIAGS_MAX problems are only counted */
	if (json_is_string(t)) {
		check_tmpl_string(w, json_string_value(t), lang, uses_choice);
	} else if (json_is_object(t)) {
		static const char *const keys[] = { "switch", "cases", "default", NULL };
		walk_check_keys(w, t, keys, "a switch template");
		const char *field = walk_get_str(w, t, "switch", true, true);
		if (field) {
			struct tmpl_piece p = { TMPL_PLACEHOLDER, field, strlen(field) };
			const char *f, *msg;
			size_t fl;
			if (task_tmpl_field(&p, &f, &fl, &msg) || fl != p.len) {
				size_t old = walk_push_key(w, "switch");
				walk_problem(w, "expected a field name (letters, digits, '_')");
				walk_pop(w, old);
			}
		}
		json_t *cases = json_object_get(t, "cases");
		size_t old = walk_push_key(w, "cases");
		if (!cases) {
			walk_problem(w, "missing; expected an object of value -> template");
		} else if (!json_is_object(cases) || !json_object_size(cases)) {
			walk_problem(w, "expected a non-empty object of value -> template, got %s", mrl_json_type_name(cases));
		} else {
			const char *k;
			json_t *c;
			json_object_foreach(cases, k, c) {
				size_t o2 = walk_push_key(w, k);
				if (!json_is_string(c))
					walk_problem(w, "expected a template string, got %s", mrl_json_type_name(c));
				else
					check_tmpl_string(w, json_string_value(c), lang, uses_choice);
				walk_pop(w, o2);
			}
		}
		walk_pop(w, old);
		json_t *def = json_object_get(t, "default");
		if (def) {
			old = walk_push_key(w, "default");
			if (!json_is_string(def))
				walk_problem(w, "expected a template string, got %s", mrl_json_type_name(def));
			else
				check_tmpl_string(w, json_string_value(def), lang, uses_choice);
			walk_pop(w, old);
		}
	} else {
		walk_problem(w, "expected a template string or a switch object, got %s", mrl_json_type_name(t));
	}
	return w->d->n + w->d->n_dropped == before;
}

/* Visit the fields a template string uses (except {choice}); cb returns nothing. */
static void tmpl_string_fields(const char *s, void (*cb)(void *, const char *, size_t), void *arg)
{
	size_t pos = 0;
	struct tmpl_piece p;
	const char *msg;
	while (task_tmpl_next(s, &pos, &p, &msg) > 0) {
		const char *f;
		size_t fl;
		if (p.kind == TMPL_PLACEHOLDER && !task_tmpl_field(&p, &f, &fl, &msg) &&
		    !(fl == 6 && !memcmp(f, "choice", 6)))
			cb(arg, f, fl);
	}
}

/* ---- transliteration of a derived language ---------------------------------- */

task_translit_fn walk_find_transform(const char *name)
{
	return task_translit_find(name);
}

/* Transliterate only the literal text of a template string; placeholders stay as they are. */
static char *translit_template(task_translit_fn fn, const char *s, struct mrl_err *err)
{
	size_t pos = 0, len = 0;
	struct tmpl_piece p;
	const char *msg;
	char *out = strdup("");
	int r;
	while (out && (r = task_tmpl_next(s, &pos, &p, &msg)) > 0) {
		char *piece = NULL;
		size_t plen = 0;
		if (p.kind == TMPL_LITERAL && !(p.len == 1 && (*p.start == '{' || *p.start == '}'))) {
			if (fn(p.start, p.len, &piece, &plen, err))
				goto fail;
		} else {
			/* placeholders, verbatim pieces and escaped braces are copied with their braces */
			const size_t open = p.kind == TMPL_VERBATIM ? 2 : p.kind == TMPL_PLACEHOLDER ? 1 : 0;
			const char *a = p.start - open;
			plen = open ? p.len + open + 1 : 1;
			piece = malloc(plen * 2 + 1);
			if (!piece)
				goto fail;
			if (open) {
				memcpy(piece, a, plen);
			} else {
				piece[0] = piece[1] = *a; /* "{{" or "}}" */
				plen = 2;
			}
			piece[plen] = '\0';
		}
		char *grown = realloc(out, len + plen + 1);
		if (!grown) {
			free(piece);
			goto fail;
		}
		out = grown;
		memcpy(out + len, piece, plen + 1);
		len += plen;
		free(piece);
	}
	return out;
fail:
	free(out);
	return NULL;
}

json_t *walk_translit_tmpl_value(task_translit_fn fn, json_t *t, struct mrl_err *err)
{
	if (json_is_string(t)) {
		char *s = translit_template(fn, json_string_value(t), err);
		json_t *j = s ? json_string(s) : NULL;
		free(s);
		return j;
	}
	json_t *o = json_deep_copy(t);
	if (!o)
		return NULL;
	json_t *cases = json_object_get(o, "cases");
	const char *k;
	json_t *c;
	json_object_foreach(cases, k, c) {
		char *s = translit_template(fn, json_string_value(c), err);
		if (!s || json_string_set(c, s)) {
			free(s);
			json_decref(o);
			return NULL;
		}
		free(s);
	}
	json_t *def = json_object_get(o, "default");
	if (def) {
		char *s = translit_template(fn, json_string_value(def), err);
		if (!s || json_string_set(def, s)) {
			free(s);
			json_decref(o);
			return NULL;
		}
		free(s);
	}
	return o;
}

static json_t *translit_json_string(task_translit_fn fn, json_t *s, struct mrl_err *err)
{
	char *out = NULL;
	size_t n = 0;
	if (fn(json_string_value(s), json_string_length(s), &out, &n, err))
		return NULL;
	json_t *j = json_stringn(out, n);
	free(out);
	return j;
}

static bool kept(const json_t *keep, const char *key)
{
	size_t i;
	json_t *k;
	json_array_foreach(keep, i, k)
		if (json_is_string(k) && !strcmp(json_string_value(k), key))
			return true;
	return false;
}

/* A transliterated deep copy of a variant object (strings and arrays of strings); the
 * fields named in keep (a JSON array, may be NULL) are copied as they are. */
json_t *walk_translit_variant(task_translit_fn fn, json_t *v, const json_t *keep, struct mrl_err *err)
{
	json_t *o = json_object();
	const char *k;
	json_t *x;
	if (!o)
		return NULL;
	json_object_foreach(v, k, x) {
		json_t *y = NULL;
		if (keep && kept(keep, k)) {
			y = json_deep_copy(x);
		} else if (json_is_string(x)) {
			y = translit_json_string(fn, x, err);
		} else if (json_is_array(x)) {
			y = json_array();
			size_t i;
			json_t *e;
			json_array_foreach(x, i, e) {
				json_t *t = y ? translit_json_string(fn, e, err) : NULL;
				if (!t || json_array_append_new(y, t)) {
					json_decref(y);
					y = NULL;
					break;
				}
			}
		}
		if (!y || json_object_set_new(o, k, y)) {
			json_decref(o);
			return NULL;
		}
	}
	return o;
}

struct field_check {
	struct walk *w;
	const struct task_variant *v;
	const char *lang;
	const char *tmpl_name;
};

static void field_present_cb(void *arg, const char *f, size_t fl)
{
	struct field_check *fc = arg;
	for (size_t i = 0; i < fc->v->n_fields; i++)
		if (strlen(fc->v->fields[i].name) == fl && !memcmp(fc->v->fields[i].name, f, fl))
			return;
	walk_problem(fc->w, "the %s %s template uses {%.*s} but this variant has no string field \"%.*s\"", fc->lang,
		fc->tmpl_name, (int)fl, f, (int)fl, f);
}

/* Every field a template uses (through the switch it takes for this variant) must be in the variant. */
void walk_check_variant_template(struct walk *w, json_t *tmpl, const char *tmpl_name, const struct task_variant *v,
				   const char *lang)
{
	if (!tmpl)
		return;
	struct field_check fc = { w, v, lang, tmpl_name };
	if (json_is_object(tmpl)) {
		const char *msg, *missing;
		const char *s = task_tmpl_select(tmpl, v, &msg, &missing);
		if (!s) {
			const char *val = NULL;
			for (size_t i = 0; missing && i < v->n_fields; i++)
				if (!strcmp(v->fields[i].name, missing))
					val = v->fields[i].value;
			if (val)
				walk_problem(w, "the %s %s template switches on \"%s\", whose value \"%s\" has no case and there is no default",
					lang, tmpl_name, missing, val);
			else
				walk_problem(w, "the %s %s template switches on \"%s\" but this variant has no string field \"%s\"",
					lang, tmpl_name, missing ? missing : "?", missing ? missing : "?");
			return;
		}
		tmpl_string_fields(s, field_present_cb, &fc);
	} else if (json_is_string(tmpl)) {
		tmpl_string_fields(json_string_value(tmpl), field_present_cb, &fc);
	}
}
