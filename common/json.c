/* json.c — see json.h. The checks jansson cannot make for us (a NUL byte, a
 * byte-order mark, data after the value, the top-level type) are made here on
 * the bytes; everything else is jansson's verdict, classified as truncated or
 * malformed by its error code. */
#include "common/json.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t mrl_json_bom_len(const char *buf, size_t len)
{
	return len >= 3 && !memcmp(buf, "\xEF\xBB\xBF", 3) ? 3 : 0;
}

/* 1-based line and column (in code points) of byte off of text. */
static void line_col(const char *text, size_t off, int *line, int *col)
{
	int l = 1, c = 1;
	for (size_t i = 0; i < off; i++) {
		if (text[i] == '\n') {
			l++;
			c = 1;
		} else if (((unsigned char)text[i] & 0xC0) != 0x80) {
			c++;
		}
	}
	*line = l;
	*col = c;
}

static bool is_ws(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

const char *mrl_json_type_name(const json_t *j)
{
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	default: return "null";
	}
}

/* Fill e for a problem at byte off of text (text = the input after its BOM of bom bytes). */
static void set_at(struct mrl_json_error *e, enum mrl_json_problem p, const char *text, size_t off, size_t bom)
{
	e->problem = p;
	e->offset = bom + off;
	line_col(text, off, &e->line, &e->column);
}

json_t *mrl_json_parse_object(const char *buf, size_t len, size_t flags, struct mrl_json_error *e)
{
	struct mrl_json_error local;
	if (!e)
		e = &local;
	memset(e, 0, sizeof *e);
	size_t bom = mrl_json_bom_len(buf, len);
	const char *text = buf + bom;
	size_t n = len - bom;
	const char *nul = memchr(text, '\0', n);
	if (nul) {
		set_at(e, MRL_JSON_NUL, text, (size_t)(nul - text), bom);
		snprintf(e->what, sizeof e->what, "NUL byte, which JSON text cannot contain");
		snprintf(e->text, sizeof e->text, "NUL byte at line %d, column %d (byte offset %zu); JSON text cannot contain one",
			 e->line, e->column, e->offset);
		return NULL;
	}
	size_t first = 0;
	while (first < n && is_ws(text[first]))
		first++;
	if (first == n) {
		e->problem = MRL_JSON_EMPTY;
		snprintf(e->what, sizeof e->what, "empty file: expected a JSON object");
		snprintf(e->text, sizeof e->text, "%s", e->what);
		return NULL;
	}
	/* DECODE_ANY: a top-level scalar parses, so that it is named below; DISABLE_EOF_CHECK:
	 * jansson stops after the value and reports how far it read in je.position. */
	json_error_t je;
	json_t *root = json_loadb(text, n, flags | JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &je);
	if (!root) {
		bool at_end = json_error_code(&je) == json_error_premature_end_of_input;
		e->problem = at_end ? MRL_JSON_TRUNCATED : MRL_JSON_MALFORMED;
		e->line = je.line;
		e->column = je.column;
		e->offset = bom + (je.position > 0 ? (size_t)je.position : 0);
		snprintf(e->what, sizeof e->what, "%s JSON: %s", at_end ? "truncated" : "malformed", je.text);
		snprintf(e->text, sizeof e->text, "%s at line %d, column %d%s", e->what, je.line, je.column,
			 at_end ? " (the text ends too early)" : "");
		return NULL;
	}
	if (!json_is_object(root)) {
		set_at(e, MRL_JSON_NOT_OBJECT, text, first, bom);
		e->found = mrl_json_type_name(root);
		snprintf(e->what, sizeof e->what, "the top level must be an object, found %s", e->found);
		snprintf(e->text, sizeof e->text, "%s at line %d, column %d", e->what, e->line, e->column);
		json_decref(root);
		return NULL;
	}
	size_t end = je.position > 0 ? (size_t)je.position : 0;
	while (end < n && is_ws(text[end]))
		end++;
	if (end < n) {
		set_at(e, MRL_JSON_TRAILING, text, end, bom);
		snprintf(e->what, sizeof e->what, "trailing data after the JSON value");
		snprintf(e->text, sizeof e->text, "%s at line %d, column %d", e->what, e->line, e->column);
		json_decref(root);
		return NULL;
	}
	return root;
}

size_t mrl_json_depth_exceeded_at(const char *s, size_t len, int max)
{
	int depth = 0;
	bool in_str = false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (in_str) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_str = false;
		} else if (c == '"') {
			in_str = true;
		} else if (c == '[' || c == '{') {
			if (++depth > max)
				return i;
		} else if (c == ']' || c == '}') {
			depth--;
		}
	}
	return len;
}

/* ---- typed reading ------------------------------------------------------- */

const char *mrl_json_want_name(enum mrl_json_want want)
{
	switch (want) {
	case MRL_JSON_WANT_STRING: return "a string";
	case MRL_JSON_WANT_INTEGER: return "an integer";
	case MRL_JSON_WANT_NUMBER: return "a number";
	case MRL_JSON_WANT_BOOLEAN: return "true or false";
	case MRL_JSON_WANT_OBJECT: return "an object";
	case MRL_JSON_WANT_ARRAY: return "an array";
	default: return "a value";
	}
}

static bool has_type(const json_t *v, enum mrl_json_want want)
{
	switch (want) {
	case MRL_JSON_WANT_STRING: return json_is_string(v);
	case MRL_JSON_WANT_INTEGER: return json_is_integer(v);
	case MRL_JSON_WANT_NUMBER: return json_is_number(v);
	case MRL_JSON_WANT_BOOLEAN: return json_is_boolean(v);
	case MRL_JSON_WANT_OBJECT: return json_is_object(v);
	case MRL_JSON_WANT_ARRAY: return json_is_array(v);
	default: return true;
	}
}

/* A path in the older "$.a[1]" notation is extended in that notation. */
static bool legacy_path(const char *path)
{
	return path[0] == '$';
}

void mrl_json_path_key(char *buf, size_t size, const char *path, const char *key)
{
	if (!size)
		return;
	if (legacy_path(path)) {
		snprintf(buf, size, "%s.%s", path, key);
		return;
	}
	size_t n = (size_t)snprintf(buf, size, "%s/", path);
	if (n >= size)
		return; /* cut by snprintf, terminated */
	for (const char *k = key; *k; k++) {
		bool escape = *k == '~' || *k == '/';
		if (n + (escape ? 2 : 1) >= size)
			break;
		if (escape) {
			buf[n++] = '~';
			buf[n++] = *k == '~' ? '0' : '1';
		} else {
			buf[n++] = *k;
		}
	}
	buf[n] = '\0';
}

void mrl_json_path_index(char *buf, size_t size, const char *path, size_t i)
{
	snprintf(buf, size, legacy_path(path) ? "%s[%zu]" : "%s/%zu", path, i);
}

int mrl_json_member(const json_t *obj, const char *key, enum mrl_json_want want, int flags, json_t **v,
		    bool *is_null, char *why, size_t why_size)
{
	*v = NULL;
	*is_null = false;
	if (!json_is_object(obj)) {
		snprintf(why, why_size, "expected an object, got %s", obj ? mrl_json_type_name(obj) : "nothing");
		return -1;
	}
	json_t *m = json_object_get(obj, key);
	if (!m) {
		if (flags & MRL_JSON_OPTIONAL)
			return 0;
		snprintf(why, why_size, "missing; expected %s", mrl_json_want_name(want));
		return -1;
	}
	if (json_is_null(m) && (flags & MRL_JSON_NULLABLE)) {
		*is_null = true;
		return 0;
	}
	if (!has_type(m, want)) {
		snprintf(why, why_size, "expected %s, got %s", mrl_json_want_name(want), mrl_json_type_name(m));
		return -1;
	}
	*v = m;
	return 1;
}

/* The member lookup of the getters: 1 present, 0 absent/null and allowed, or
 * MRL_EINPUT with err naming where and the pointer of the bad value. */
static int get(const json_t *obj, const char *key, enum mrl_json_want want, int flags, json_t **v, bool *is_null,
	       const char *where, const char *path, struct mrl_err *err)
{
	char why[160], at[512];
	if (!json_is_object(obj))
		return mrl_err_set(err, MRL_EINPUT, "%s: %s: expected an object, got %s", where, path[0] ? path : "the top level",
				   obj ? mrl_json_type_name(obj) : "nothing");
	int rc = mrl_json_member(obj, key, want, flags, v, is_null, why, sizeof why);
	if (rc >= 0)
		return rc;
	mrl_json_path_key(at, sizeof at, path, key);
	return mrl_err_set(err, MRL_EINPUT, "%s: %s: %s", where, at, why);
}

int mrl_json_get_str(const json_t *obj, const char *key, int flags, char **out, const char *where,
		     const char *path, struct mrl_err *err)
{
	json_t *v;
	bool is_null;
	char at[512];
	int rc = get(obj, key, MRL_JSON_WANT_STRING, flags, &v, &is_null, where, path, err);
	if (rc <= 0) {
		if (rc == 0 && is_null) {
			free(*out);
			*out = NULL;
		}
		return rc;
	}
	const char *s = json_string_value(v);
	mrl_json_path_key(at, sizeof at, path, key);
	if (strlen(s) != json_string_length(v))
		return mrl_err_set(err, MRL_EINPUT, "%s: %s: string contains a NUL character", where, at);
	char *copy = strdup(s);
	if (!copy)
		return mrl_err_set(err, MRL_ENOMEM, "%s: %s: out of memory", where, at);
	free(*out);
	*out = copy;
	return 0;
}

int mrl_json_get_int(const json_t *obj, const char *key, int flags, int64_t *out, const char *where,
		     const char *path, struct mrl_err *err)
{
	json_t *v;
	bool is_null;
	int rc = get(obj, key, MRL_JSON_WANT_INTEGER, flags, &v, &is_null, where, path, err);
	if (rc <= 0) {
		if (rc == 0 && is_null)
			*out = -1;
		return rc;
	}
	*out = (int64_t)json_integer_value(v);
	return 0;
}

/* The strings merilo writes for a double that JSON cannot hold; false for others. */
static bool special_real(const char *s, double *out)
{
	if (!strcmp(s, "inf"))
		*out = INFINITY;
	else if (!strcmp(s, "-inf"))
		*out = -INFINITY;
	else if (!strcmp(s, "nan"))
		*out = NAN;
	else
		return false;
	return true;
}

int mrl_json_get_real(const json_t *obj, const char *key, int flags, double *out, const char *where,
		      const char *path, struct mrl_err *err)
{
	json_t *v;
	bool is_null;
	char at[512];
	int rc = get(obj, key, MRL_JSON_WANT_ANY, flags, &v, &is_null, where, path, err);
	if (rc <= 0) {
		if (rc == 0 && is_null)
			*out = NAN;
		return rc;
	}
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	if (json_is_string(v) && special_real(json_string_value(v), out))
		return 0;
	mrl_json_path_key(at, sizeof at, path, key);
	if (json_is_string(v))
		return mrl_err_set(err, MRL_EINPUT, "%s: %s: expected a number, got the string \"%.40s\"", where, at,
				   json_string_value(v));
	return mrl_err_set(err, MRL_EINPUT, "%s: %s: expected a number, got %s", where, at, mrl_json_type_name(v));
}

int mrl_json_get_bool(const json_t *obj, const char *key, int flags, bool *out, const char *where,
		      const char *path, struct mrl_err *err)
{
	json_t *v;
	bool is_null;
	int rc = get(obj, key, MRL_JSON_WANT_BOOLEAN, flags, &v, &is_null, where, path, err);
	if (rc <= 0)
		return rc;
	*out = json_is_true(v);
	return 0;
}

int mrl_json_get_object(const json_t *obj, const char *key, int flags, json_t **out, const char *where,
			const char *path, struct mrl_err *err)
{
	bool is_null;
	int rc = get(obj, key, MRL_JSON_WANT_OBJECT, flags, out, &is_null, where, path, err);
	return rc < 0 ? rc : 0;
}

int mrl_json_get_array(const json_t *obj, const char *key, int flags, json_t **out, const char *where,
		       const char *path, struct mrl_err *err)
{
	bool is_null;
	int rc = get(obj, key, MRL_JSON_WANT_ARRAY, flags, out, &is_null, where, path, err);
	return rc < 0 ? rc : 0;
}
