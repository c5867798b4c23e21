/* json.c — see json.h. The checks jansson cannot make for us (a NUL byte, a
 * byte-order mark, data after the value, the top-level type) are made here on
 * the bytes; everything else is jansson's verdict, classified as truncated or
 * malformed by its error code. */
#include "common/json.h"

#include <stdbool.h>
#include <stdio.h>
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
	case JSON_REAL: return "a number";
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
