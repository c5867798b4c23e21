/* hrn_common_json.c — common/json: one JSON object from text people write,
 * with a message per kind of problem that points at the right place.
 *
 * (Named hrn_ because the Makefile links tests by prefix and common/ has none.)
 * Each bad text gets its own problem code and message with line and column:
 * trailing data and a top-level null are not "truncated"; a NUL byte is
 * found where it is, not at 1:1; a UTF-8 byte-order mark is skipped.
 */
#include "common/json.h"
#include "tests/tap.h"

#include <string.h>

/* Parse len bytes of text; check the problem and that the message contains want. */
static void check(const char *name, const char *text, size_t len, enum mrl_json_problem problem, const char *want)
{
	struct mrl_json_error e;
	json_t *j = mrl_json_parse_object(text, len, JSON_REJECT_DUPLICATES, &e);
	char label[200];
	snprintf(label, sizeof label, "%s: problem %d", name, (int)problem);
	is_int(e.problem, problem, label);
	snprintf(label, sizeof label, "%s: message", name);
	like(e.text, want, label);
	ok((j != NULL) == (problem == MRL_JSON_OK), name);
	json_decref(j);
}

#define CHECK(name, lit, problem, want) check(name, lit, sizeof lit - 1, problem, want)

int main(void)
{
	CHECK("an object", "{\"a\": 1}\n", MRL_JSON_OK, "");
	CHECK("an object with a byte-order mark", "\xEF\xBB\xBF{\"a\": 1}", MRL_JSON_OK, "");
	CHECK("trailing garbage", "{\"a\": 1} x", MRL_JSON_TRAILING, "trailing data after the JSON value at line 1, column 10");
	CHECK("a second object on the next line", "{\"a\": 1}\n  {}\n", MRL_JSON_TRAILING,
	      "trailing data after the JSON value at line 2, column 3");
	CHECK("a bare null", "null", MRL_JSON_NOT_OBJECT, "the top level must be an object, found null at line 1, column 1");
	CHECK("a bare null and a newline", "  null\n", MRL_JSON_NOT_OBJECT, "found null at line 1, column 3");
	CHECK("an array", "[1, 2]", MRL_JSON_NOT_OBJECT, "the top level must be an object, found an array");
	CHECK("a string", "\"x\"", MRL_JSON_NOT_OBJECT, "found a string");
	CHECK("truncated", "{\"a\": [1,", MRL_JSON_TRUNCATED, "truncated JSON: ");
	CHECK("truncated inside a string", "{\"a\": \"xy", MRL_JSON_TRUNCATED, "(the text ends too early)");
	CHECK("malformed", "{\"a\" 1}", MRL_JSON_MALFORMED, "malformed JSON: ':' expected near '1' at line 1, column 6");
	CHECK("duplicate key", "{\"a\": 1, \"a\": 2}", MRL_JSON_MALFORMED, "duplicate object key");
	CHECK("empty", " \n\t", MRL_JSON_EMPTY, "empty file: expected a JSON object");
	CHECK("a byte-order mark alone", "\xEF\xBB\xBF", MRL_JSON_EMPTY, "empty file");
	CHECK("NUL between tokens", "{\"a\":\n  1\0}", MRL_JSON_NUL,
	      "NUL byte at line 2, column 4 (byte offset 9); JSON text cannot contain one");
	CHECK("NUL inside a string", "{\"a\": \"x\0y\"}", MRL_JSON_NUL, "NUL byte at line 1, column 9");
	CHECK("NUL first", "\0{}", MRL_JSON_NUL, "NUL byte at line 1, column 1 (byte offset 0)");
	CHECK("columns count characters and start after a byte-order mark", "\xEF\xBB\xBF{\"ђ\": 1} x",
	      MRL_JSON_TRAILING, "at line 1, column 10");
	CHECK("a byte-order mark is counted in the byte offset", "\xEF\xBB\xBF{}\0", MRL_JSON_NUL, "(byte offset 5)");
	CHECK("a byte-order mark in the middle is not skipped", "{}\xEF\xBB\xBF", MRL_JSON_TRAILING, "at line 1, column 3");

	struct mrl_json_error e;
	json_t *j = mrl_json_parse_object("{}", 2, 0, NULL);
	ok(j && json_is_object(j), "{} with e NULL");
	json_decref(j);
	j = mrl_json_parse_object("{\"k\": 1}xyz", 8, 0, &e);
	ok(j && e.problem == MRL_JSON_OK, "only len bytes are read (no NUL terminator needed)");
	json_decref(j);
	is_int((int)mrl_json_bom_len("\xEF\xBB\xBF{}", 5), 3, "bom_len: 3 with a mark");
	is_int((int)mrl_json_bom_len("\xEF\xBB", 2), 0, "bom_len: 0 for a partial mark");
	return done_testing();
}
