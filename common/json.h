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
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

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

/* "an object", "an array", "a string", "an integer", "a real number", "a boolean" or
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

/* ---- typed reading, with errors that name the value by its JSON pointer ----
 *
 * A record reader walks a parsed document and reads each member with the
 * getters below. The first bad value fails the read with
 *   "<where>: <JSON pointer>: <problem>"
 * e.g. "results.json: /aggregates/3/metrics/acc/value: expected a number, got a string".
 * where names the source ("results.json", "items.jsonl:17"); path is the JSON
 * pointer (RFC 6901) of obj, "" for the document itself. A path written in the
 * older "$.a[1]" notation (by a reader not yet converted) is extended in that
 * notation ("$.a[1].key"), so its messages stay as they were.
 * tasks/suite.c, which collects every problem instead of stopping at the first,
 * uses the same look-up (mrl_json_member) and path builder. */

enum { MRL_JSON_REQUIRED = 0, MRL_JSON_OPTIONAL = 1, MRL_JSON_NULLABLE = 2 };

/* The JSON type a reader wants. NUMBER takes integers and reals. */
enum mrl_json_want {
	MRL_JSON_WANT_ANY = 0,
	MRL_JSON_WANT_STRING,
	MRL_JSON_WANT_INTEGER,
	MRL_JSON_WANT_NUMBER,
	MRL_JSON_WANT_BOOLEAN,
	MRL_JSON_WANT_OBJECT,
	MRL_JSON_WANT_ARRAY,
};

/* "a string", "an integer", ... : what want asks for, for messages (static). */
const char *mrl_json_want_name(enum mrl_json_want want);

/* The pointer of member key (escaped: "~" -> "~0", "/" -> "~1") or element i
 * of the value at path, into buf (cut to size). */
void mrl_json_path_key(char *buf, size_t size, const char *path, const char *key);
void mrl_json_path_index(char *buf, size_t size, const char *path, size_t i);

/* Look up obj[key] and check its type, without any error policy. Returns 1 with
 * *v (borrowed) when present and of the wanted type; 0 when absent and flags
 * has MRL_JSON_OPTIONAL, or null and flags has MRL_JSON_NULLABLE (*is_null
 * says which; *v NULL); -1 otherwise with the problem in why:
 * "missing; expected a string", "expected an integer, got a string",
 * "expected an integer, got null". obj must be an object (the getters check
 * that first and name obj's own path when it is not). */
int mrl_json_member(const json_t *obj, const char *key, enum mrl_json_want want, int flags, json_t **v,
		    bool *is_null, char *why, size_t why_size);

/* The getters: read obj[key] into *out, or return MRL_EINPUT with err set to
 * "<where>: <path>/<key>: <problem>". Absent and MRL_JSON_OPTIONAL leaves *out
 * as it was; null and MRL_JSON_NULLABLE sets a string to NULL (freeing the old
 * one), an integer to -1, a real to NaN, an object or array to NULL, and
 * leaves a boolean as it was. A string is copied (*out owned by the caller,
 * any previous *out freed) and must not contain a NUL character. A real also
 * reads the strings "inf", "-inf" and "nan" that merilo writes for those. */
int mrl_json_get_str(const json_t *obj, const char *key, int flags, char **out, const char *where,
		     const char *path, struct mrl_err *err);
int mrl_json_get_int(const json_t *obj, const char *key, int flags, int64_t *out, const char *where,
		     const char *path, struct mrl_err *err);
int mrl_json_get_real(const json_t *obj, const char *key, int flags, double *out, const char *where,
		      const char *path, struct mrl_err *err);
int mrl_json_get_bool(const json_t *obj, const char *key, int flags, bool *out, const char *where,
		      const char *path, struct mrl_err *err);
/* Borrowed reference to an object / array member (NULL when absent or null and allowed). */
int mrl_json_get_object(const json_t *obj, const char *key, int flags, json_t **out, const char *where,
			const char *path, struct mrl_err *err);
int mrl_json_get_array(const json_t *obj, const char *key, int flags, json_t **out, const char *where,
		       const char *path, struct mrl_err *err);

#endif
