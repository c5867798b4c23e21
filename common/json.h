/* json.h — JSON text that people write (suites, import files, gate configs,
 * bench records), parsed with messages that point the right way.
 *
 * jansson does the parsing, but its errors blur cases a user must tell apart:
 * trailing data after a complete object and a top-level `null` both read as
 * "end of file" problems; a NUL byte ends json_loads' input (so it is reported
 * at 1:1 "near end of file") and is skipped between tokens by json_loadb; a
 * UTF-8 byte-order mark (which some Windows editors write) is an "invalid
 * token". mrl_json_parse_object() settles those itself, before and after
 * jansson, so each has its own message with a 1-based line and column.
 * Columns count characters (code points), as jansson's do, from after a
 * byte-order mark, which is skipped.
 */
#ifndef MRL_JSON_H
#define MRL_JSON_H

#include <jansson.h>
#include <stddef.h>

/* What was wrong with a JSON text. */
enum mrl_json_problem {
	MRL_JSON_OK = 0,
	MRL_JSON_EMPTY,       /* nothing but whitespace */
	MRL_JSON_NUL,         /* a NUL byte somewhere */
	MRL_JSON_TRUNCATED,   /* the text ends inside the value */
	MRL_JSON_MALFORMED,   /* jansson's other errors (duplicate keys with JSON_REJECT_DUPLICATES, ...) */
	MRL_JSON_TRAILING,    /* a complete value followed by more than whitespace */
	MRL_JSON_NOT_OBJECT,  /* a complete value that is not an object */
};

struct mrl_json_error {
	enum mrl_json_problem problem;
	int line, column;     /* 1-based; 0 when the problem has no position (an empty text) */
	size_t offset;        /* byte offset in the text as given (a byte-order mark counted) */
	const char *found;    /* MRL_JSON_NOT_OBJECT: what the top level is ("null", "an array"); static */
	char what[240];       /* the problem without its position: "trailing data after the JSON value" */
	char text[320];       /* the whole message: what, " at line L, column C", and a hint where one helps */
};

/* "an object", "an array", "a string", "an integer", "a number", "a boolean" or
 * "null": the type of j in an error message (static strings). */
const char *mrl_json_type_name(const json_t *j);

/* Byte offset where the nesting of [ and { (outside strings) first exceeds max,
 * or len when it never does: checked before parsing, so that hostile input
 * cannot drive a recursive parser deep. */
size_t mrl_json_depth_exceeded_at(const char *s, size_t len, int max);

/* Length of a UTF-8 byte-order mark (EF BB BF) at the start of buf[0..len): 3 or 0. */
size_t mrl_json_bom_len(const char *buf, size_t len);

/* Parse buf[0..len) (need not be NUL-terminated) as exactly one JSON object:
 * an optional UTF-8 byte-order mark, whitespace, the object, whitespace.
 * flags are jansson's decoding flags (e.g. JSON_REJECT_DUPLICATES).
 * Returns a new reference the caller owns (json_decref), or NULL with *e
 * filled (e may be NULL). The messages, in e->text:
 *   "empty file: expected a JSON object"
 *   "NUL byte at line L, column C (byte offset O); JSON text cannot contain one"
 *   "truncated JSON: <jansson's text> at line L, column C (the text ends too early)"
 *   "malformed JSON: <jansson's text> at line L, column C"
 *   "trailing data after the JSON value at line L, column C"
 *   "the top level must be an object, found null at line L, column C" */
json_t *mrl_json_parse_object(const char *buf, size_t len, size_t flags, struct mrl_json_error *e);

#endif
