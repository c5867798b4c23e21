/* suite.c — loading and validating a suite file (docs/suite-format.md).
 *
 * One walk over the JSON document both checks it and builds the in-memory
 * suite. The walk never stops at the first problem: every problem becomes a
 * diagnostic with the JSON pointer of the offending value, and the walk goes on
 * with whatever is still usable. Only a suite without a single problem is
 * handed to the caller. Before jansson sees the bytes we check the size cap,
 * UTF-8 and the nesting depth ourselves, so that those messages are clear;
 * common/json skips a UTF-8 byte-order mark and names a NUL byte, data after
 * the object and a top level that is not an object where they are.
 * Strings of the suite are jansson strings of the kept document; derived
 * variants (sr-Latn from sr-Cyrl) are transliterated and inserted into it.
 */
#include "tasks/task_int.h"
#include "common/json.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* ---- diagnostics ------------------------------------------------------------ */

void task_diags_init(struct task_diags *d)
{
	memset(d, 0, sizeof *d);
}

void task_diags_release(struct task_diags *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].path);
		free(d->v[i].msg);
	}
	free(d->v);
	free(d->file);
	memset(d, 0, sizeof *d);
}

void task_diag_add(struct task_diags *d, const char *path, int line, int column, const char *fmt, ...)
{
	if (d->n >= TASK_DIAGS_MAX) {
		d->n_dropped++;
		return;
	}
	if (d->n == d->cap) {
		size_t cap = d->cap ? d->cap * 2 : 16;
		struct task_diag *v = realloc(d->v, cap * sizeof *v);
		if (!v) {
			d->n_dropped++;
			return;
		}
		d->v = v;
		d->cap = cap;
	}
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	struct task_diag *g = &d->v[d->n];
	g->path = strdup(path);
	g->msg = strdup(msg);
	g->line = line;
	g->column = column;
	if (!g->path || !g->msg) {
		free(g->path);
		free(g->msg);
		d->n_dropped++;
		return;
	}
	d->n++;
}

void task_diag_format(const struct task_diags *d, size_t i, char *buf, size_t size)
{
	const struct task_diag *g = &d->v[i];
	const char *file = d->file ? d->file : "(suite)";
	if (g->path[0])
		snprintf(buf, size, "%s: %s: %s", file, g->path, g->msg);
	else
		snprintf(buf, size, "%s: %s", file, g->msg);
}

/* ---- the walk's state ---------------------------------------------------------- */

struct walk {
	struct task_diags *d;
	char path[4096];
	size_t plen;
	bool oom;
};

/* Append a JSON pointer segment (RFC 6901 escapes); returns the old length for pop(). */
static size_t push_key(struct walk *w, const char *key)
{
	size_t old = w->plen;
	if (w->plen + 1 < sizeof w->path)
		w->path[w->plen++] = '/';
	for (const char *k = key; *k && w->plen + 3 < sizeof w->path; k++) {
		if (*k == '~' || *k == '/') {
			w->path[w->plen++] = '~';
			w->path[w->plen++] = *k == '~' ? '0' : '1';
		} else {
			w->path[w->plen++] = *k;
		}
	}
	w->path[w->plen] = '\0';
	return old;
}

static size_t push_idx(struct walk *w, size_t i)
{
	char num[32];
	snprintf(num, sizeof num, "%zu", i);
	return push_key(w, num);
}

static void pop(struct walk *w, size_t old)
{
	w->plen = old;
	w->path[old] = '\0';
}

static __attribute__((format(printf, 2, 3))) void problem(struct walk *w, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	task_diag_add(w->d, w->path, 0, 0, "%s", msg);
}

static void *walk_calloc(struct walk *w, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		w->oom = true;
	return p;
}


/* The string under key: NULL (with a problem when required) if absent or not a string. */
static const char *get_str(struct walk *w, json_t *obj, const char *key, bool required, bool nonempty)
{
	json_t *v = json_object_get(obj, key);
	size_t old = push_key(w, key);
	const char *s = NULL;
	if (!v) {
		if (required)
			problem(w, "missing; expected a string");
	} else if (!json_is_string(v)) {
		problem(w, "expected a string, got %s", mrl_json_type_name(v));
	} else if (nonempty && !json_string_length(v)) {
		problem(w, "must not be empty");
	} else {
		s = json_string_value(v);
	}
	pop(w, old);
	return s;
}

/* An integer under key in [lo, hi]; *out unchanged (default) when absent and optional.
 * Returns false when there was a problem. */
static bool get_int(struct walk *w, json_t *obj, const char *key, bool required, long long lo, long long hi,
		    long long *out)
{
	json_t *v = json_object_get(obj, key);
	size_t old = push_key(w, key);
	bool good = false;
	if (!v) {
		if (required)
			problem(w, "missing; expected an integer");
		else
			good = true;
	} else if (!json_is_integer(v)) {
		problem(w, "expected an integer, got %s", mrl_json_type_name(v));
	} else if (json_integer_value(v) < lo || json_integer_value(v) > hi) {
		problem(w, "%lld is out of range (expected %lld..%lld)", (long long)json_integer_value(v), lo, hi);
	} else {
		*out = json_integer_value(v);
		good = true;
	}
	pop(w, old);
	return good;
}

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

static void join_list(char *buf, size_t size, const char *const *list)
{
	size_t n = 0;
	buf[0] = '\0';
	for (; *list && n < size; list++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "", *list);
}

/* Report keys of obj not in allowed (keys starting with '_' are comments and allowed). */
static void check_keys(struct walk *w, json_t *obj, const char *const *allowed, const char *what)
{
	const char *key;
	json_t *v;
	char list[512];
	join_list(list, sizeof list, allowed);
	json_object_foreach(obj, key, v) {
		if (key[0] == '_' || in_list(key, allowed))
			continue;
		size_t old = push_key(w, key);
		if (!strcmp(key, "licence"))
			problem(w, "unknown key 'licence' in %s (spelled 'license' in suite files)", what);
		else
			problem(w, "unknown key '%s' in %s (expected one of: %s)", key, what, list);
		pop(w, old);
	}
}

/* ---- language tags ------------------------------------------------------------- */

static bool all_of(const char *s, size_t n, int (*pred)(int))
{
	for (size_t i = 0; i < n; i++)
		if (!pred((unsigned char)s[i]))
			return false;
	return true;
}
static int is_lower(int c) { return c >= 'a' && c <= 'z'; }
static int is_upper(int c) { return c >= 'A' && c <= 'Z'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alnum(int c) { return is_lower(c) || is_upper(c) || is_digit(c); }

bool task_lang_tag_valid(const char *tag)
{
	/* language (2-3 or 5-8 lowercase letters), then optional Script (Xxxx), REGION (XX or 999),
	 * variants (5-8 alphanumerics, or a digit and 3 alphanumerics), in that order, canonical case. */
	const char *p = tag;
	int stage = 0; /* 0 language, 1 script allowed, 2 region allowed, 3 variants only */
	if (!*p)
		return false;
	while (*p) {
		const char *e = strchr(p, '-');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 0)
			return false;
		if (stage == 0) {
			if (!((n >= 2 && n <= 3) || (n >= 5 && n <= 8)) || !all_of(p, n, is_lower))
				return false;
			stage = 1;
		} else if (stage <= 1 && n == 4 && is_upper((unsigned char)p[0]) && all_of(p + 1, 3, is_lower)) {
			stage = 2;
		} else if (stage <= 2 && ((n == 2 && all_of(p, 2, is_upper)) || (n == 3 && all_of(p, 3, is_digit)))) {
			stage = 3;
		} else if (((n >= 5 && n <= 8) || (n == 4 && is_digit((unsigned char)p[0]))) && all_of(p, n, is_alnum)) {
			stage = 3;
		} else {
			return false;
		}
		p += n;
		if (*p == '-') {
			p++;
			if (!*p)
				return false;
		}
	}
	return true;
}

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
				problem(w, "English template word '%.*s' in the %s template (each language words its own prompt)",
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
		const char *f;
		size_t fl;
		if (task_tmpl_field(&p, &f, &fl, &msg)) {
			problem(w, "{%.*s}: %s", (int)p.len, p.start, msg);
			continue;
		}
		if (fl == 6 && !memcmp(f, "choice", 6))
			*uses_choice = true;
	}
	if (r < 0)
		problem(w, "%s", msg);
}

/* A template value: a string or {"switch": field, "cases": {...}, "default": "..."}. Returns false if bad. */
static bool check_tmpl(struct walk *w, json_t *t, const char *lang, bool *uses_choice)
{
	int before = (int)w->d->n;
	if (json_is_string(t)) {
		check_tmpl_string(w, json_string_value(t), lang, uses_choice);
	} else if (json_is_object(t)) {
		static const char *const keys[] = { "switch", "cases", "default", NULL };
		check_keys(w, t, keys, "a switch template");
		const char *field = get_str(w, t, "switch", true, true);
		if (field) {
			struct tmpl_piece p = { TMPL_PLACEHOLDER, field, strlen(field) };
			const char *f, *msg;
			size_t fl;
			if (task_tmpl_field(&p, &f, &fl, &msg) || fl != p.len) {
				size_t old = push_key(w, "switch");
				problem(w, "expected a field name (letters, digits, '_')");
				pop(w, old);
			}
		}
		json_t *cases = json_object_get(t, "cases");
		size_t old = push_key(w, "cases");
		if (!cases) {
			problem(w, "missing; expected an object of value -> template");
		} else if (!json_is_object(cases) || !json_object_size(cases)) {
			problem(w, "expected a non-empty object of value -> template, got %s", mrl_json_type_name(cases));
		} else {
			const char *k;
			json_t *c;
			json_object_foreach(cases, k, c) {
				size_t o2 = push_key(w, k);
				if (!json_is_string(c))
					problem(w, "expected a template string, got %s", mrl_json_type_name(c));
				else
					check_tmpl_string(w, json_string_value(c), lang, uses_choice);
				pop(w, o2);
			}
		}
		pop(w, old);
		json_t *def = json_object_get(t, "default");
		if (def) {
			old = push_key(w, "default");
			if (!json_is_string(def))
				problem(w, "expected a template string, got %s", mrl_json_type_name(def));
			else
				check_tmpl_string(w, json_string_value(def), lang, uses_choice);
			pop(w, old);
		}
	} else {
		problem(w, "expected a template string or a switch object, got %s", mrl_json_type_name(t));
	}
	return (int)w->d->n == before;
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

static task_translit_fn find_transform(const char *name)
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
			/* placeholders and escaped braces are copied with their braces */
			const char *a = p.kind == TMPL_PLACEHOLDER ? p.start - 1 : p.start;
			plen = p.kind == TMPL_PLACEHOLDER ? p.len + 2 : 1;
			piece = malloc(plen * 2 + 1);
			if (!piece)
				goto fail;
			if (p.kind == TMPL_PLACEHOLDER) {
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

static json_t *translit_tmpl_value(task_translit_fn fn, json_t *t, struct mrl_err *err)
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

/* A transliterated deep copy of a variant object (strings and arrays of strings). */
static json_t *translit_variant(task_translit_fn fn, json_t *v, struct mrl_err *err)
{
	json_t *o = json_object();
	const char *k;
	json_t *x;
	if (!o)
		return NULL;
	json_object_foreach(v, k, x) {
		json_t *y = NULL;
		if (json_is_string(x)) {
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

/* ---- items ----------------------------------------------------------------- */

static const char *const mc_metrics[] = { "acc", "acc_norm", "acc_bytes", "acc_mutual_info", NULL };
static const char *const ppl_metrics[] = { "perplexity", "bits_per_byte", "bits_per_char", "byte_perplexity", "word_perplexity", NULL };
static const char *const gen_metrics[] = { "exact_match", "contains", NULL };
static const char *const type_names[] = { "multiple_choice", "perplexity", "generate", NULL };

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
		size_t old = push_key(w, k);
		bool is_choices = t->type == TASK_MULTIPLE_CHOICE && !strcmp(k, "choices");
		bool is_target = t->type == TASK_GENERATE && !strcmp(k, "target");
		if (is_choices || (is_target && json_is_array(x))) {
			if (!json_is_array(x)) {
				problem(w, "expected an array of strings, got %s", mrl_json_type_name(x));
			} else if (json_array_size(x) < (is_choices ? 2u : 1u)) {
				problem(w, "expected at least %d %s, got %zu", is_choices ? 2 : 1,
					is_choices ? "choices" : "target", json_array_size(x));
			} else {
				size_t m = json_array_size(x), i;
				const char **arr = walk_calloc(w, m, sizeof *arr);
				json_t *e;
				if (!arr)
					goto next;
				json_array_foreach(x, i, e) {
					size_t o2 = push_idx(w, i);
					if (!json_is_string(e))
						problem(w, "expected a string, got %s", mrl_json_type_name(e));
					else if (!json_string_length(e))
						problem(w, "must not be empty");
					arr[i] = json_string_value(e);
					pop(w, o2);
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
			problem(w, "expected a string, got %s", mrl_json_type_name(x));
		} else {
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
		pop(w, old);
	}
	if (t->type == TASK_MULTIPLE_CHOICE && !json_object_get(obj, "choices"))
		problem(w, "missing \"choices\" (a multiple_choice variant needs an array of at least 2 strings)");
	if (t->type == TASK_PERPLEXITY && !json_is_string(json_object_get(obj, "text")))
		problem(w, "missing \"text\" (a perplexity variant needs the text to score)");
	if (t->type == TASK_PERPLEXITY && json_is_string(json_object_get(obj, "text")) &&
	    !json_string_length(json_object_get(obj, "text")))
		problem(w, "\"text\" is empty");
	if (t->type == TASK_GENERATE && !json_object_get(obj, "target"))
		problem(w, "missing \"target\" (a string or an array of reference answers)");
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
	problem(fc->w, "the %s %s template uses {%.*s} but this variant has no string field \"%.*s\"", fc->lang,
		fc->tmpl_name, (int)fl, f, (int)fl, f);
}

/* Every field a template uses (through the switch it takes for this variant) must be in the variant. */
static void check_variant_template(struct walk *w, json_t *tmpl, const char *tmpl_name, const struct task_variant *v,
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
				problem(w, "the %s %s template switches on \"%s\", whose value \"%s\" has no case and there is no default",
					lang, tmpl_name, missing, val);
			else
				problem(w, "the %s %s template switches on \"%s\" but this variant has no string field \"%s\"",
					lang, tmpl_name, missing ? missing : "?", missing ? missing : "?");
			return;
		}
		tmpl_string_fields(s, field_present_cb, &fc);
	} else if (json_is_string(tmpl)) {
		tmpl_string_fields(json_string_value(tmpl), field_present_cb, &fc);
	}
}

static void build_item(struct walk *w, struct task_task *t, json_t *ij, struct task_item *it)
{
	it->gold = -1;
	it->n_langs = t->n_langs;
	it->v = walk_calloc(w, t->n_langs, sizeof *it->v);
	if (!it->v)
		return;
	if (!json_is_object(ij)) {
		problem(w, "expected an item object, got %s", mrl_json_type_name(ij));
		return;
	}
	it->id = get_str(w, ij, "id", true, true);
	json_t *gold = json_object_get(ij, "gold");
	if (t->type == TASK_MULTIPLE_CHOICE) {
		long long g = -1;
		if (get_int(w, ij, "gold", true, 0, 1 << 20, &g))
			it->gold = (int)g;
	} else if (gold) {
		size_t old = push_key(w, "gold");
		problem(w, "\"gold\" applies to multiple_choice items only");
		pop(w, old);
	}
	const char *k;
	json_t *x;
	json_object_foreach(ij, k, x) {
		if (!strcmp(k, "id") || !strcmp(k, "gold") || k[0] == '_')
			continue;
		size_t old = push_key(w, k);
		int li = task_language_index(t, k);
		if (li < 0) {
			if (task_lang_tag_valid(k)) {
				char langs[512] = "";
				size_t n = 0;
				for (size_t i = 0; i < t->n_langs && n < sizeof langs; i++)
					n += (size_t)snprintf(langs + n, sizeof langs - n, "%s%s", i ? ", " : "", t->langs[i]);
				problem(w, "variant in language '%s', which is not one of the task's languages (%s)", k, langs);
			} else {
				problem(w, "unknown key '%s' in an item (expected id, gold and language variants)", k);
			}
		} else if (t->derived_from[li] >= 0) {
			problem(w, "'%s' is derived from '%s' by the loader; remove it from the item", k,
				t->langs[t->derived_from[li]]);
		} else if (!json_is_object(x)) {
			problem(w, "expected a variant object, got %s", mrl_json_type_name(x));
		} else {
			build_variant(w, t, x, &it->v[li]);
			check_variant_template(w, t->tmpl_context[li], "context", &it->v[li], k);
			check_variant_template(w, t->tmpl_choice[li], "choice", &it->v[li], k);
		}
		pop(w, old);
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
				size_t o1 = push_key(w, t->langs[li]);
				size_t o2 = push_key(w, "choices");
				problem(w, "%zu choices here but %zu in %s (every language must have the same choices)",
					it->v[li].n_choices, it->v[first].n_choices, t->langs[first]);
				pop(w, o2);
				pop(w, o1);
			}
		}
		if (first >= 0 && it->gold >= 0 && (size_t)it->gold >= it->v[first].n_choices) {
			size_t old = push_key(w, "gold");
			problem(w, "gold %d is out of range: the item has %zu choices (expected 0..%zu)", it->gold,
				it->v[first].n_choices, it->v[first].n_choices - 1);
			pop(w, old);
		}
	}
	bool any = false;
	for (size_t li = 0; li < t->n_langs; li++)
		any |= json_object_get(ij, t->langs[li]) != NULL;
	if (!any)
		problem(w, "item has no language variant (expected at least one of the task's languages)");
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
		json_t *obj = translit_variant(fns[li], json_object_get(ij, t->langs[src]), &e);
		if (!obj || json_object_set_new(ij, t->langs[li], obj)) {
			size_t old = push_key(w, t->langs[src]);
			problem(w, "cannot derive %s: %s", t->langs[li], e.msg[0] ? e.msg : "out of memory");
			pop(w, old);
			continue;
		}
		size_t old = push_key(w, t->langs[src]);
		build_variant(w, t, obj, &it->v[li]);
		it->v[li].derived = true;
		/* a derived language's own (not transliterated) templates must fit the derived fields too */
		check_variant_template(w, t->tmpl_context[li], "context", &it->v[li], t->langs[li]);
		check_variant_template(w, t->tmpl_choice[li], "choice", &it->v[li], t->langs[li]);
		pop(w, old);
	}
}

/* ---- tasks ------------------------------------------------------------------- */

static void build_items(struct walk *w, struct task_task *t, json_t *tj, const char *key, struct task_item **out,
			size_t *n_out, const task_translit_fn *fns, bool required)
{
	json_t *arr = json_object_get(tj, key);
	size_t old = push_key(w, key);
	if (!arr) {
		if (required)
			problem(w, "missing; expected an array of items");
	} else if (!json_is_array(arr)) {
		problem(w, "expected an array of items, got %s", mrl_json_type_name(arr));
	} else if (!json_array_size(arr) && required) {
		problem(w, "the task has no items");
	} else {
		size_t n = json_array_size(arr), i;
		json_t *ij;
		*out = walk_calloc(w, n, sizeof **out);
		if (!*out)
			goto done;
		json_array_foreach(arr, i, ij) {
			size_t o2 = push_idx(w, i);
			size_t before = w->d->n;
			build_item(w, t, ij, &(*out)[i]);
			*n_out = i + 1;
			if (w->d->n == before && json_is_object(ij))
				derive_item(w, t, ij, &(*out)[i], fns);
			pop(w, o2);
		}
	}
done:
	pop(w, old);
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
		size_t o1 = push_key(w, refs[i].pool ? "pool" : "items");
		size_t o2 = push_idx(w, refs[i].index);
		size_t o3 = push_key(w, "id");
		problem(w, "duplicate item id \"%s\" (first used by %s/%s/%zu)", refs[i].id, task_path,
			refs[i - 1].pool ? "pool" : "items", refs[i - 1].index);
		pop(w, o3);
		pop(w, o2);
		pop(w, o1);
	}
	free(refs);
}

static bool valid_task_id(const char *s)
{
	for (; *s; s++)
		if (!is_alnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return false;
	return true;
}

static void build_task(struct walk *w, json_t *tj, struct task_task *t)
{
	static const char *const keys[] = { "id", "type", "description", "metrics", "languages", "derived",
					    "templates", "target_delimiter", "fewshot", "items", "pool",
					    "window", "stride", "until", "max_tokens", NULL };
	task_translit_fn *fns = NULL;
	t->type = (enum task_type)-1;
	t->target_delimiter = " ";
	if (!json_is_object(tj)) {
		problem(w, "expected a task object, got %s", mrl_json_type_name(tj));
		return;
	}
	check_keys(w, tj, keys, "a task");
	t->id = get_str(w, tj, "id", true, true);
	if (t->id && !valid_task_id(t->id)) {
		size_t old = push_key(w, "id");
		problem(w, "task id \"%s\" must be letters, digits, '_', '-', '.'", t->id);
		pop(w, old);
	}
	const char *type = get_str(w, tj, "type", true, true);
	if (type) {
		for (int i = 0; type_names[i]; i++)
			if (!strcmp(type, type_names[i]))
				t->type = (enum task_type)i;
		if ((int)t->type < 0) {
			size_t old = push_key(w, "type");
			problem(w, "unknown task type \"%s\" (expected multiple_choice, perplexity or generate)", type);
			pop(w, old);
		}
	}
	const char *desc = get_str(w, tj, "description", false, false);
	(void)desc;

	/* languages */
	json_t *langs = json_object_get(tj, "languages");
	size_t old = push_key(w, "languages");
	if (!langs) {
		problem(w, "missing; expected an array of BCP 47 language tags");
	} else if (!json_is_array(langs) || !json_array_size(langs)) {
		problem(w, "expected a non-empty array of BCP 47 language tags, got %s",
			json_is_array(langs) ? "an empty array" : mrl_json_type_name(langs));
	} else {
		size_t n = json_array_size(langs), i;
		json_t *l;
		t->langs = walk_calloc(w, n, sizeof *t->langs);
		t->derived_from = walk_calloc(w, n, sizeof *t->derived_from);
		t->tmpl_context = walk_calloc(w, n, sizeof *t->tmpl_context);
		t->tmpl_choice = walk_calloc(w, n, sizeof *t->tmpl_choice);
		fns = walk_calloc(w, n, sizeof *fns);
		if (!t->langs || !t->derived_from || !t->tmpl_context || !t->tmpl_choice || !fns)
			goto out;
		json_array_foreach(langs, i, l) {
			size_t o2 = push_idx(w, i);
			const char *tag = json_string_value(l);
			if (!tag)
				problem(w, "expected a language tag string, got %s", mrl_json_type_name(l));
			else if (!task_lang_tag_valid(tag))
				problem(w, "\"%s\" is not a BCP 47 language tag in canonical case (e.g. en, sr-Cyrl, sr-Latn, hr, bs, cnr)", tag);
			else if (task_language_index(t, tag) >= 0)
				problem(w, "language \"%s\" is listed twice", tag);
			else {
				t->derived_from[t->n_langs] = -1;
				t->langs[t->n_langs++] = tag;
			}
			pop(w, o2);
		}
	}
	pop(w, old);

	/* derived languages */
	json_t *derived = json_object_get(tj, "derived");
	if (derived) {
		old = push_key(w, "derived");
		if (!json_is_object(derived)) {
			problem(w, "expected an object of language -> {\"from\", \"transform\"}, got %s", mrl_json_type_name(derived));
		} else {
			const char *k;
			json_t *d;
			json_object_foreach(derived, k, d) {
				size_t o2 = push_key(w, k);
				int li = task_language_index(t, k);
				if (li < 0) {
					problem(w, "derived language \"%s\" is not in the task's languages", k);
				} else if (!json_is_object(d)) {
					problem(w, "expected {\"from\": ..., \"transform\": ...}, got %s", mrl_json_type_name(d));
				} else {
					static const char *const dkeys[] = { "from", "transform", NULL };
					check_keys(w, d, dkeys, "a derived language");
					const char *from = get_str(w, d, "from", true, true);
					const char *tr = get_str(w, d, "transform", true, true);
					int src = from ? task_language_index(t, from) : -1;
					size_t o3 = push_key(w, "from");
					if (from && src < 0)
						problem(w, "\"%s\" is derived from \"%s\", which is not in the task's languages", k, from);
					else if (from && src == li)
						problem(w, "\"%s\" cannot be derived from itself", k);
					pop(w, o3);
					o3 = push_key(w, "transform");
					task_translit_fn fn = tr ? find_transform(tr) : NULL;
					if (tr && !fn)
						problem(w, "unknown transform \"%s\" (expected sr-Cyrl-to-Latn or sr-Latn-to-Cyrl)", tr);
					pop(w, o3);
					if (src >= 0 && src != li && fn) {
						t->derived_from[li] = src;
						fns[li] = fn;
					}
				}
				pop(w, o2);
			}
			/* a source must itself be given, not derived */
			for (size_t li = 0; li < t->n_langs; li++) {
				int src = t->derived_from[li];
				if (src >= 0 && t->derived_from[src] >= 0) {
					size_t o2 = push_key(w, t->langs[li]);
					problem(w, "\"%s\" is derived from \"%s\", which is itself derived (derive from a given language)",
						t->langs[li], t->langs[src]);
					pop(w, o2);
					t->derived_from[li] = -1;
					fns[li] = NULL;
				}
			}
		}
		pop(w, old);
	}

	/* metrics */
	const char *const *known = (int)t->type < 0 ? NULL : t->type == TASK_MULTIPLE_CHOICE ? mc_metrics
				 : t->type == TASK_PERPLEXITY ? ppl_metrics : gen_metrics;
	json_t *metrics = json_object_get(tj, "metrics");
	old = push_key(w, "metrics");
	if (!metrics) {
		if (known) { /* default: the type's first metric(s) */
			t->metrics = known;
			t->n_metrics = t->type == TASK_MULTIPLE_CHOICE ? 2 : 1;
		}
	} else if (!json_is_array(metrics) || !json_array_size(metrics)) {
		problem(w, "expected a non-empty array of metric names, got %s",
			json_is_array(metrics) ? "an empty array" : mrl_json_type_name(metrics));
	} else {
		size_t i;
		json_t *m;
		const char **arr = walk_calloc(w, json_array_size(metrics), sizeof *arr);
		if (!arr)
			goto out;
		json_array_foreach(metrics, i, m) {
			size_t o2 = push_idx(w, i);
			char list[256] = "";
			if (known)
				join_list(list, sizeof list, known);
			if (!json_is_string(m))
				problem(w, "expected a metric name, got %s", mrl_json_type_name(m));
			else if (known && !in_list(json_string_value(m), known))
				problem(w, "unknown metric \"%s\" for a %s task (expected one of: %s)", json_string_value(m),
					type_names[t->type], list);
			else
				arr[t->n_metrics++] = json_string_value(m);
			pop(w, o2);
		}
		t->metrics = arr;
		t->owns_metrics = true;
	}
	pop(w, old);

	/* templates */
	json_t *tmpls = json_object_get(tj, "templates");
	old = push_key(w, "templates");
	if (tmpls && !json_is_object(tmpls)) {
		problem(w, "expected an object of language -> {\"context\", \"choice\"}, got %s", mrl_json_type_name(tmpls));
		tmpls = NULL;
	}
	if (tmpls) {
		const char *k;
		json_t *tl;
		json_object_foreach(tmpls, k, tl) {
			size_t o2 = push_key(w, k);
			int li = task_language_index(t, k);
			if (li < 0) {
				problem(w, "template for \"%s\", which is not in the task's languages", k);
			} else if (!json_is_object(tl)) {
				problem(w, "expected {\"context\": ..., \"choice\": ...}, got %s", mrl_json_type_name(tl));
			} else {
				static const char *const tkeys[] = { "context", "choice", NULL };
				check_keys(w, tl, tkeys, "a language's templates");
				json_t *c = json_object_get(tl, "context"), *ch = json_object_get(tl, "choice");
				bool uses_choice = false;
				if (c) {
					size_t o3 = push_key(w, "context");
					if (check_tmpl(w, c, k, &uses_choice))
						t->tmpl_context[li] = c;
					if (uses_choice)
						problem(w, "{choice} belongs in the \"choice\" template, not the context");
					pop(w, o3);
				}
				if (ch) {
					size_t o3 = push_key(w, "choice");
					uses_choice = false;
					if (t->type != TASK_MULTIPLE_CHOICE && (int)t->type >= 0)
						problem(w, "a \"choice\" template applies to multiple_choice tasks only");
					else if (check_tmpl(w, ch, k, &uses_choice) && uses_choice)
						t->tmpl_choice[li] = ch;
					else if (!uses_choice)
						problem(w, "the choice template never uses {choice}, so every choice would read the same");
					pop(w, o3);
				}
			}
			pop(w, o2);
		}
	}
	/* every given language needs its own context template (perplexity defaults to "{text}") */
	for (size_t li = 0; li < t->n_langs; li++) {
		json_t *given = tmpls ? json_object_get(json_object_get(tmpls, t->langs[li]), "context") : NULL;
		if (given || json_object_get(derived, t->langs[li]) || t->type == TASK_PERPLEXITY || (int)t->type < 0)
			continue;
		problem(w, "no context template for \"%s\" (each language words its own prompt; "
			   "only derived languages inherit one)", t->langs[li]);
	}
	/* derived languages without their own templates get transliterated copies */
	for (size_t li = 0; li < t->n_langs; li++) {
		int src = t->derived_from[li];
		if (src < 0 || !tmpls)
			continue;
		json_t *mine = json_object_get(tmpls, t->langs[li]);
		for (int which = 0; which < 2; which++) {
			json_t **slot = which ? &t->tmpl_choice[li] : &t->tmpl_context[li];
			json_t *from = which ? t->tmpl_choice[src] : t->tmpl_context[src];
			if (*slot || !from || json_object_get(mine, which ? "choice" : "context"))
				continue;
			struct mrl_err e = {0};
			json_t *copy = translit_tmpl_value(fns[li], from, &e);
			if (!copy) {
				problem(w, "cannot derive the %s template for \"%s\": %s", which ? "choice" : "context",
					t->langs[li], e.msg[0] ? e.msg : "out of memory");
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
			if (json_object_set_new(mine, which ? "choice" : "context", copy)) {
				w->oom = true;
				break;
			}
			*slot = json_object_get(mine, which ? "choice" : "context");
		}
	}
	pop(w, old);

	/* delimiter */
	const char *delim = get_str(w, tj, "target_delimiter", false, false);
	if (delim)
		t->target_delimiter = delim;

	/* few-shot */
	json_t *fs = json_object_get(tj, "fewshot");
	if (fs) {
		old = push_key(w, "fewshot");
		if (!json_is_object(fs)) {
			problem(w, "expected {\"k\", \"seed\", \"source\", \"delimiter\"}, got %s", mrl_json_type_name(fs));
		} else {
			static const char *const fkeys[] = { "k", "seed", "source", "delimiter", NULL };
			check_keys(w, fs, fkeys, "few-shot settings");
			long long k = 0, seed = 1234;
			get_int(w, fs, "k", true, 0, 64, &k);
			get_int(w, fs, "seed", false, 0, INT64_MAX, &seed);
			const char *src = get_str(w, fs, "source", false, true);
			const char *fd = get_str(w, fs, "delimiter", false, false);
			if (src && strcmp(src, "pool") && strcmp(src, "items")) {
				size_t o2 = push_key(w, "source");
				problem(w, "unknown few-shot source \"%s\" (expected \"pool\" or \"items\")", src);
				pop(w, o2);
			}
			t->fewshot.has = true;
			t->fewshot.k = (int)k;
			t->fewshot.seed = (uint64_t)seed;
			t->fewshot.source = src ? src : "items";
			t->fewshot.delimiter = fd ? fd : "\n\n";
		}
		pop(w, old);
	}

	/* type-specific settings */
	if (t->type == TASK_PERPLEXITY) {
		long long win = 0, stride = 0;
		if (get_int(w, tj, "window", true, 2, 1 << 20, &win)) {
			stride = win / 2;
			if (get_int(w, tj, "stride", false, 1, 1 << 20, &stride) && stride > win) {
				size_t o2 = push_key(w, "stride");
				problem(w, "stride %lld is larger than the window %lld", stride, win);
				pop(w, o2);
			}
		}
		t->window = (int)win;
		t->stride = (int)stride;
	}
	if (t->type == TASK_GENERATE) {
		long long mt = 64;
		get_int(w, tj, "max_tokens", false, 1, 1 << 16, &mt);
		t->max_tokens = (int)mt;
		json_t *until = json_object_get(tj, "until");
		old = push_key(w, "until");
		if (until && !json_is_array(until)) {
			problem(w, "expected an array of stop strings, got %s", mrl_json_type_name(until));
		} else if (until) {
			size_t i;
			json_t *u;
			t->until = walk_calloc(w, json_array_size(until), sizeof *t->until);
			json_array_foreach(until, i, u) {
				size_t o2 = push_idx(w, i);
				if (!json_is_string(u) || !json_string_length(u))
					problem(w, "expected a non-empty stop string, got %s", mrl_json_type_name(u));
				else if (t->until)
					t->until[t->n_until++] = json_string_value(u);
				pop(w, o2);
			}
		}
		pop(w, old);
	}
	if ((int)t->type >= 0) {
		static const char *const ppl_only[] = { "window", "stride", NULL }, *const gen_only[] = { "until", "max_tokens", NULL };
		for (int i = 0; ppl_only[i]; i++)
			if (t->type != TASK_PERPLEXITY && json_object_get(tj, ppl_only[i])) {
				size_t o2 = push_key(w, ppl_only[i]);
				problem(w, "\"%s\" applies to perplexity tasks only", ppl_only[i]);
				pop(w, o2);
			}
		for (int i = 0; gen_only[i]; i++)
			if (t->type != TASK_GENERATE && json_object_get(tj, gen_only[i])) {
				size_t o2 = push_key(w, gen_only[i]);
				problem(w, "\"%s\" applies to generate tasks only", gen_only[i]);
				pop(w, o2);
			}
	}

	/* items: only when the task's shape is known, otherwise every item would repeat the same problem */
	if ((int)t->type < 0 || !t->n_langs || w->oom)
		goto out;
	build_items(w, t, tj, "items", &t->items, &t->n_items, fns, true);
	build_items(w, t, tj, "pool", &t->pool, &t->n_pool, fns, false);
	check_unique_ids(w, t);
	if (t->fewshot.has && t->fewshot.k > 0) {
		bool from_pool = !strcmp(t->fewshot.source, "pool");
		size_t have = from_pool ? t->n_pool : (t->n_items ? t->n_items - 1 : 0);
		if ((size_t)t->fewshot.k > have) {
			old = push_key(w, "fewshot");
			size_t o2 = push_key(w, "k");
			problem(w, "k = %d examples but the %s has only %zu", t->fewshot.k,
				from_pool ? "pool" : "task (other items)", have);
			pop(w, o2);
			pop(w, old);
		}
	}
out:
	free(fns);
}

/* ---- the document ----------------------------------------------------------- */

static void free_items(struct task_item *items, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!items[i].v)
			continue;
		for (size_t l = 0; l < items[i].n_langs; l++) {
			free(items[i].v[l].fields);
			free(items[i].v[l].choices);
			free(items[i].v[l].targets);
		}
		free(items[i].v);
	}
	free(items);
}

void task_suite_free(struct task_suite *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n_tasks; i++) {
		struct task_task *t = &s->tasks[i];
		free_items(t->items, t->n_items);
		free_items(t->pool, t->n_pool);
		if (t->owns_metrics)
			free((void *)t->metrics);
		free(t->langs);
		free(t->derived_from);
		free(t->tmpl_context);
		free(t->tmpl_choice);
		free(t->until);
	}
	free(s->tasks);
	free(s->file);
	json_decref(s->root);
	free(s);
}

static void build_suite(struct walk *w, struct task_suite *s)
{
	static const char *const keys[] = { "format", "name", "version", "description", "source", "license",
					    "tasks", NULL };
	json_t *root = s->root;
	if (!json_is_object(root)) {
		problem(w, "expected a JSON object at the top of a suite, got %s", mrl_json_type_name(root));
		return;
	}
	check_keys(w, root, keys, "a suite");
	const char *format = get_str(w, root, "format", true, true);
	if (format && strcmp(format, "merilo-suite/1")) {
		size_t old = push_key(w, "format");
		problem(w, "unsupported format \"%s\" (expected \"merilo-suite/1\")", format);
		pop(w, old);
	}
	s->name = get_str(w, root, "name", true, true);
	s->version = get_str(w, root, "version", true, true);
	s->description = get_str(w, root, "description", true, false);
	s->source = get_str(w, root, "source", true, false);
	s->license = get_str(w, root, "license", true, true);
	json_t *tasks = json_object_get(root, "tasks");
	size_t old = push_key(w, "tasks");
	if (!tasks) {
		problem(w, "missing; expected an array of tasks");
	} else if (!json_is_array(tasks) || !json_array_size(tasks)) {
		problem(w, "expected a non-empty array of tasks, got %s",
			json_is_array(tasks) ? "an empty array" : mrl_json_type_name(tasks));
	} else {
		size_t n = json_array_size(tasks), i;
		json_t *tj;
		s->tasks = walk_calloc(w, n, sizeof *s->tasks);
		if (!s->tasks)
			goto out;
		json_array_foreach(tasks, i, tj) {
			size_t o2 = push_idx(w, i);
			build_task(w, tj, &s->tasks[i]);
			s->n_tasks = i + 1;
			for (size_t j = 0; j < i && s->tasks[i].id; j++)
				if (s->tasks[j].id && !strcmp(s->tasks[j].id, s->tasks[i].id)) {
					size_t o3 = push_key(w, "id");
					problem(w, "duplicate task id \"%s\" (first used by /tasks/%zu)", s->tasks[i].id, j);
					pop(w, o3);
					break;
				}
			pop(w, o2);
			if (w->oom)
				break;
		}
	}
out:
	pop(w, old);
}

/* Line and column (1-based, columns in bytes) of offset in buf. */
static void line_col(const char *buf, size_t off, int *line, int *col)
{
	int l = 1;
	size_t start = 0;
	for (size_t i = 0; i < off; i++)
		if (buf[i] == '\n') {
			l++;
			start = i + 1;
		}
	*line = l;
	*col = (int)(off - start) + 1;
}

/* Offset of the first invalid UTF-8 byte, or len if all is valid (no overlongs, no surrogates). */
static size_t utf8_invalid_at(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned c = s[i];
		size_t n;
		unsigned cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xC2 && c <= 0xDF) {
			n = 1, cp = c & 0x1F;
		} else if (c >= 0xE0 && c <= 0xEF) {
			n = 2, cp = c & 0x0F;
		} else if (c >= 0xF0 && c <= 0xF4) {
			n = 3, cp = c & 0x07;
		} else {
			return i;
		}
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xC0) != 0x80)
				return i;
			cp = (cp << 6) | (s[i + k] & 0x3F);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && (cp < 0x10000 || cp > 0x10FFFF)) || (cp >= 0xD800 && cp <= 0xDFFF))
			return i;
		i += n + 1;
	}
	return len;
}

static int finish(struct task_diags *d, size_t before, struct mrl_err *err)
{
	size_t n = d->n - before + d->n_dropped;
	if (!n)
		return 0;
	char line[1024];
	task_diag_format(d, before, line, sizeof line);
	if (n > 1)
		return mrl_err_set(err, MRL_EINPUT, "%s (and %zu more problem%s)", line, n - 1, n > 2 ? "s" : "");
	return mrl_err_set(err, MRL_EINPUT, "%s", line);
}

int task_suite_parse(const char *name, const char *buf, size_t len, struct task_suite **out,
		     struct task_diags *diags, struct mrl_err *err)
{
	struct task_diags local;
	struct task_diags *d = diags ? diags : &local;
	struct task_suite *s = NULL;
	int rc = 0;
	if (!diags)
		task_diags_init(&local);
	*out = NULL;
	if (!d->file && !(d->file = strdup(name))) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", name);
		goto out;
	}
	size_t before = d->n;
	int line, col;
	if ((uint64_t)len > TASK_SUITE_MAX_BYTES) {
		task_diag_add(d, "", 0, 0, "file is %zu bytes, larger than the %llu MiB limit for suites", len,
			      (unsigned long long)(TASK_SUITE_MAX_BYTES >> 20));
		goto done;
	}
	size_t bad = utf8_invalid_at((const unsigned char *)buf, len);
	if (bad < len) {
		line_col(buf, bad, &line, &col);
		task_diag_add(d, "", line, col, "not valid UTF-8: byte 0x%02X at line %d, column %d (offset %zu); suites must be UTF-8",
			      (unsigned char)buf[bad], line, col, bad);
		goto done;
	}
	size_t deep = mrl_json_depth_exceeded_at(buf, len, TASK_SUITE_MAX_DEPTH);
	if (deep < len) {
		line_col(buf, deep, &line, &col);
		task_diag_add(d, "", line, col, "JSON nested deeper than %d levels at line %d, column %d (a suite needs about 8)",
			      TASK_SUITE_MAX_DEPTH, line, col);
		goto done;
	}
	struct mrl_json_error je;
	json_t *root = mrl_json_parse_object(buf, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		task_diag_add(d, "", je.line, je.column, "%s", je.text);
		goto done;
	}
	s = calloc(1, sizeof *s);
	if (!s || !(s->file = strdup(name))) {
		json_decref(root);
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", name);
		goto out;
	}
	s->root = root;
	struct walk w = { .d = d };
	build_suite(&w, s);
	if (w.oom) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory while loading the suite", name);
		goto out;
	}
done:
	rc = finish(d, before, err);
	if (!rc) {
		*out = s;
		s = NULL;
	}
out:
	task_suite_free(s);
	if (!diags)
		task_diags_release(&local);
	return rc;
}

int task_suite_load(const char *path, struct task_suite **out, struct task_diags *diags, struct mrl_err *err)
{
	struct task_diags local;
	struct task_diags *d = diags ? diags : &local;
	char *buf = NULL;
	int rc = 0;
	FILE *f = NULL;
	if (!diags)
		task_diags_init(&local);
	*out = NULL;
	if (!d->file && !(d->file = strdup(path))) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	struct stat st;
	f = fopen(path, "rb");
	if (!f || fstat(fileno(f), &st)) {
		task_diag_add(d, "", 0, 0, "cannot open: %s", strerror(errno));
		rc = mrl_err_set(err, MRL_EIO, "%s: cannot open: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		task_diag_add(d, "", 0, 0, "not a regular file");
		rc = mrl_err_set(err, MRL_EIO, "%s: not a regular file", path);
		goto out;
	}
	if ((uint64_t)st.st_size > TASK_SUITE_MAX_BYTES) {
		task_diag_add(d, "", 0, 0, "file is %lld bytes, larger than the %llu MiB limit for suites",
			      (long long)st.st_size, (unsigned long long)(TASK_SUITE_MAX_BYTES >> 20));
		rc = finish(d, d->n - 1, err);
		goto out;
	}
	size_t len = (size_t)st.st_size;
	buf = malloc(len + 1);
	if (!buf) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory reading %zu bytes", path, len);
		goto out;
	}
	if (fread(buf, 1, len, f) != len) {
		task_diag_add(d, "", 0, 0, "read failed: %s", ferror(f) ? strerror(errno) : "file shrank while reading");
		rc = mrl_err_set(err, MRL_EIO, "%s: read failed", path);
		goto out;
	}
	buf[len] = '\0';
	rc = task_suite_parse(path, buf, len, out, d, err);
out:
	if (f)
		fclose(f);
	free(buf);
	if (!diags)
		task_diags_release(&local);
	return rc;
}

/* ---- accessors ---------------------------------------------------------------- */

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
	return (unsigned)type < 3 ? type_names[type] : "unknown";
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
size_t task_gen_n_until(const struct task_task *t) { return t->n_until; }
const char *task_gen_until(const struct task_task *t, size_t i) { return i < t->n_until ? t->until[i] : NULL; }
int task_gen_max_tokens(const struct task_task *t) { return t->max_tokens; }
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
