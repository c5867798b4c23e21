/* suite_walk.c — the walk over a suite document that checks it and builds the
 * suite at once: its diagnostics (each with the JSON pointer of the offending
 * value, common/json.h builds the pointer), the typed look-ups that report
 * instead of failing (common/json.h's mrl_json_member), unknown keys, and the
 * syntax of language tags and task ids. The walk never stops at the first
 * problem; see suite.c.
 */
#include "tasks/suite_int.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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


/* Append a JSON pointer segment (RFC 6901 escapes, common/json.h); returns the old length for walk_pop(). */
size_t walk_push_key(struct walk *w, const char *key)
{
	size_t old = w->plen;
	mrl_json_path_key(w->path + w->plen, sizeof w->path - w->plen, "", key);
	w->plen += strlen(w->path + w->plen);
	return old;
}

size_t walk_push_idx(struct walk *w, size_t i)
{
	char num[32];
	snprintf(num, sizeof num, "%zu", i);
	return walk_push_key(w, num);
}

void walk_pop(struct walk *w, size_t old)
{
	w->plen = old;
	w->path[old] = '\0';
}

void walk_problem(struct walk *w, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	task_diag_add(w->d, w->path, 0, 0, "%s", msg);
}

void *walk_calloc(struct walk *w, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		w->oom = true;
	return p;
}

/* The string under key: NULL (with a problem when required) if absent or not a string. */
const char *walk_get_str(struct walk *w, json_t *obj, const char *key, bool required, bool nonempty)
{
	json_t *v;
	bool is_null;
	char why[160];
	size_t old = walk_push_key(w, key);
	const char *s = NULL;
	int found = mrl_json_member(obj, key, MRL_JSON_WANT_STRING, required ? MRL_JSON_REQUIRED : MRL_JSON_OPTIONAL, &v,
				    &is_null, why, sizeof why);
	if (found < 0)
		walk_problem(w, "%s", why);
	else if (found && nonempty && !json_string_length(v))
		walk_problem(w, "must not be empty");
	else if (found)
		s = json_string_value(v);
	walk_pop(w, old);
	return s;
}

/* An integer under key in [lo, hi]; *out unchanged (default) when absent and optional.
 * Returns false when there was a problem. */
bool walk_get_int(struct walk *w, json_t *obj, const char *key, bool required, long long lo, long long hi,
		  long long *out)
{
	json_t *v;
	bool is_null, good = false;
	char why[160];
	size_t old = walk_push_key(w, key);
	int found = mrl_json_member(obj, key, MRL_JSON_WANT_INTEGER, required ? MRL_JSON_REQUIRED : MRL_JSON_OPTIONAL, &v,
				    &is_null, why, sizeof why);
	if (found < 0) {
		walk_problem(w, "%s", why);
	} else if (!found) {
		good = true;
	} else if (json_integer_value(v) < lo || json_integer_value(v) > hi) {
		walk_problem(w, "%lld is out of range (expected %lld..%lld)", (long long)json_integer_value(v), lo, hi);
	} else {
		*out = json_integer_value(v);
		good = true;
	}
	walk_pop(w, old);
	return good;
}

bool walk_in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (!strcmp(s, *list))
			return true;
	return false;
}

void walk_join_list(char *buf, size_t size, const char *const *list)
{
	size_t n = 0;
	buf[0] = '\0';
	for (; *list && n < size; list++)
		n += (size_t)snprintf(buf + n, size - n, "%s%s", n ? ", " : "", *list);
}

/* Report keys of obj not in allowed (keys starting with '_' are comments and allowed). */
void walk_check_keys(struct walk *w, json_t *obj, const char *const *allowed, const char *what)
{
	const char *key;
	json_t *v;
	char list[512];
	walk_join_list(list, sizeof list, allowed);
	json_object_foreach(obj, key, v) {
		if (key[0] == '_' || walk_in_list(key, allowed))
			continue;
		size_t old = walk_push_key(w, key);
		if (!strcmp(key, "licence"))
			walk_problem(w, "unknown key 'licence' in %s (spelled 'license' in suite files)", what);
		else
			walk_problem(w, "unknown key '%s' in %s (expected one of: %s)", key, what, list);
		walk_pop(w, old);
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

void task_lang_tag_canonical(const char *tag, char *out, size_t size)
{
	size_t k = 0, sub = 0;
	if (!size)
		return;
	for (const char *p = tag; *p && k + 1 < size; sub++) {
		size_t n = strcspn(p, "-");
		for (size_t i = 0; i < n && k + 1 < size; i++) {
			const unsigned char c = (unsigned char)p[i];
			const bool up = sub > 0 && ((n == 4 && i == 0 && isalpha((unsigned char)p[0])) ||
						    (n == 2 && isalpha((unsigned char)p[0]) && isalpha((unsigned char)p[1])));
			out[k++] = (char)(up ? toupper(c) : tolower(c));
		}
		p += n;
		if (*p == '-' && k + 1 < size)
			out[k++] = *p++;
	}
	out[k] = '\0';
}

bool task_lang_tag_check(const char *tag, char *why, size_t size)
{
	char canon[64];
	if (task_lang_tag_valid(tag))
		return true;
	task_lang_tag_canonical(tag, canon, sizeof canon);
	if (task_lang_tag_valid(canon))
		snprintf(why, size, "\"%s\": write the language tag in canonical case, \"%s\"", tag, canon);
	else
		snprintf(why, size, "\"%s\" is not a BCP 47 language tag (e.g. en, sr-Cyrl, sr-Latn, hr, bs, cnr)", tag);
	return false;
}

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

bool walk_task_id_valid(const char *s)
{
	for (; *s; s++)
		if (!is_alnum((unsigned char)*s) && *s != '_' && *s != '-' && *s != '.')
			return false;
	return true;
}

void walk_per_language(struct walk *w, const struct task_task *t, json_t *obj, walk_lang_fn each, void *arg,
		       const char *what)
{
	const char *lang;
	json_t *v;
	bool *good = walk_calloc(w, t->n_langs + 1, sizeof *good);
	if (!good)
		return;
	json_object_foreach(obj, lang, v) {
		size_t o = walk_push_key(w, lang);
		const int li = task_language_index(t, lang);
		if (li < 0)
			walk_problem(w, "\"%s\" is not a language of the task", lang);
		else
			good[li] = each(w, (size_t)li, v, arg);
		walk_pop(w, o);
	}
	for (size_t li = 0; li < t->n_langs; li++) {
		const int from = t->derived_from ? t->derived_from[li] : -1;
		if (json_object_get(obj, t->langs[li]))
			continue;
		if (from >= 0 && good[from]) /* checked at the source's key: no second problem */
			each(w, li, json_object_get(obj, t->langs[from]), arg);
		else if (from < 0)
			walk_problem(w, "no %s for \"%s\" (given per language, every language of the task needs its own; a "
				     "derived language without one takes its source's)", what, t->langs[li]);
	}
	free(good);
}
