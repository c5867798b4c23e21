/* rec_json.c — the typed JSON reader every record shares (common/json.h):
 * errors name the source and the JSON pointer of the bad value, wrong types
 * and missing keys say what was expected and what was found, optional and
 * nullable members leave or reset the output as documented, and key escapes
 * follow RFC 6901. The records' own readers (results.json, items.jsonl, the
 * manifest) are tested in rec_results.c and rec_manifest.c.
 */
#include "common/json.h"
#include "tests/tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static json_t *parse(const char *text)
{
	return json_loads(text, JSON_ALLOW_NUL, NULL);
}

static void t_pointer_in_errors(void)
{
	json_t *j = parse("{\"aggregates\": [{}, {}, {}, {\"metrics\": {\"acc\": {\"value\": \"high\"}}}]}");
	json_t *m = json_object_get(json_object_get(json_array_get(json_object_get(j, "aggregates"), 3), "metrics"), "acc");
	struct mrl_err err = { 0 };
	double v = 0;
	is_int(mrl_json_get_real(m, "value", 0, &v, "results.json", "/aggregates/3/metrics/acc", &err), MRL_EINPUT,
	       "a string where a number belongs is refused");
	is_str(err.msg, "results.json: /aggregates/3/metrics/acc/value: expected a number, got the string \"high\"",
	       "the message names the file and the JSON pointer");
	json_decref(j);
}

static void t_wrong_types(void)
{
	json_t *j = parse("{\"n\": 2.5, \"s\": 3, \"b\": \"yes\", \"o\": [], \"a\": {}}");
	struct mrl_err err = { 0 };
	int64_t n = 0;
	char *s = NULL;
	bool b = false;
	json_t *o = NULL;
	is_int(mrl_json_get_int(j, "n", 0, &n, "x.json", "", &err), MRL_EINPUT, "a real is not an integer");
	is_str(err.msg, "x.json: /n: expected an integer, got a real number", "integer: what was found");
	is_int(mrl_json_get_str(j, "s", 0, &s, "x.json", "", &err), MRL_EINPUT, "an integer is not a string");
	is_str(err.msg, "x.json: /s: expected a string, got an integer", "string: what was found");
	is_int(mrl_json_get_bool(j, "b", 0, &b, "x.json", "", &err), MRL_EINPUT, "a string is not a boolean");
	is_str(err.msg, "x.json: /b: expected true or false, got a string", "boolean: what was found");
	is_int(mrl_json_get_object(j, "o", 0, &o, "x.json", "", &err), MRL_EINPUT, "an array is not an object");
	is_str(err.msg, "x.json: /o: expected an object, got an array", "object: what was found");
	is_int(mrl_json_get_array(j, "a", 0, &o, "x.json", "", &err), MRL_EINPUT, "an object is not an array");
	is_str(err.msg, "x.json: /a: expected an array, got an object", "array: what was found");
	ok(s == NULL, "nothing is allocated on failure");
	json_decref(j);
}

static void t_missing_and_null(void)
{
	json_t *j = parse("{\"s\": null, \"r\": null, \"i\": null}");
	struct mrl_err err = { 0 };
	char *s = strdup("old");
	double r = 1;
	int64_t i = 7;
	is_int(mrl_json_get_str(j, "gone", 0, &s, "x.json", "/suite", &err), MRL_EINPUT, "a required key that is absent");
	is_str(err.msg, "x.json: /suite/gone: missing; expected a string", "missing: the pointer and what was expected");
	is_int(mrl_json_get_str(j, "gone", MRL_JSON_OPTIONAL, &s, "x.json", "", &err), 0, "optional and absent is fine");
	is_str(s, "old", "optional and absent leaves the output as it was");
	is_int(mrl_json_get_str(j, "s", 0, &s, "x.json", "", &err), MRL_EINPUT, "null is refused unless nullable");
	is_str(err.msg, "x.json: /s: expected a string, got null", "null: said so");
	is_int(mrl_json_get_str(j, "s", MRL_JSON_NULLABLE, &s, "x.json", "", &err), 0, "nullable string");
	ok(s == NULL, "a null string reads as NULL (the old one freed)");
	is_int(mrl_json_get_real(j, "r", MRL_JSON_NULLABLE, &r, "x.json", "", &err), 0, "nullable real");
	ok(isnan(r), "a null real reads as NaN");
	is_int(mrl_json_get_int(j, "i", MRL_JSON_NULLABLE, &i, "x.json", "", &err), 0, "nullable integer");
	is_int(i, -1, "a null integer reads as -1");
	json_decref(j);
}

static void t_specials_and_strings(void)
{
	json_t *j = parse("{\"p\": \"inf\", \"m\": \"-inf\", \"nul\": \"a\\u0000b\", \"ok\": \"Ђак\"}");
	struct mrl_err err = { 0 };
	double p = 0, m = 0;
	char *s = NULL;
	is_int(mrl_json_get_real(j, "p", 0, &p, "x.json", "", &err), 0, "\"inf\" reads");
	ok(isinf(p) && p > 0, "as +infinity");
	is_int(mrl_json_get_real(j, "m", 0, &m, "x.json", "", &err), 0, "\"-inf\" reads");
	ok(isinf(m) && m < 0, "as -infinity");
	is_int(mrl_json_get_str(j, "nul", 0, &s, "x.json", "", &err), MRL_EINPUT, "a string with a NUL is refused");
	is_str(err.msg, "x.json: /nul: string contains a NUL character", "saying why");
	is_int(mrl_json_get_str(j, "ok", 0, &s, "x.json", "", &err), 0, "a UTF-8 string reads");
	is_str(s, "Ђак", "copied whole");
	free(s);
	json_decref(j);
}

static void t_not_an_object(void)
{
	json_t *j = parse("{\"list\": [1]}");
	struct mrl_err err = { 0 };
	int64_t n;
	is_int(mrl_json_get_int(json_object_get(j, "list"), "n", 0, &n, "x.json", "/list", &err), MRL_EINPUT,
	       "looking into an array is refused");
	is_str(err.msg, "x.json: /list: expected an object, got an array", "naming the container's pointer");
	is_int(mrl_json_get_int(json_object_get(j, "list"), "n", 0, &n, "x.json", "", &err), MRL_EINPUT,
	       "the document itself");
	is_str(err.msg, "x.json: the top level: expected an object, got an array", "is called the top level");
	json_decref(j);
}

static void t_path_building(void)
{
	char buf[64];
	mrl_json_path_key(buf, sizeof buf, "/metrics", "a/b~c");
	is_str(buf, "/metrics/a~1b~0c", "'/' and '~' in a key are escaped (RFC 6901)");
	mrl_json_path_index(buf, sizeof buf, "/aggregates", 12);
	is_str(buf, "/aggregates/12", "an index is a segment");
	mrl_json_path_key(buf, sizeof buf, "", "schema_version");
	is_str(buf, "/schema_version", "a member of the document");
	mrl_json_path_key(buf, sizeof buf, "$.manifest", "host");
	is_str(buf, "$.manifest.host", "an older '$.' path is extended in its own notation");
	mrl_json_path_index(buf, sizeof buf, "$.results", 2);
	is_str(buf, "$.results[2]", "and so is an index");
	mrl_json_path_key(buf, 8, "/abc", "defghij");
	is_int((int)strlen(buf), 7, "a long pointer is cut to the buffer");
}

static void t_member_without_policy(void)
{
	json_t *j = parse("{\"k\": 3}");
	json_t *v;
	bool is_null;
	char why[128];
	is_int(mrl_json_member(j, "k", MRL_JSON_WANT_INTEGER, 0, &v, &is_null, why, sizeof why), 1, "found");
	is_int((int)json_integer_value(v), 3, "the value, borrowed");
	is_int(mrl_json_member(j, "x", MRL_JSON_WANT_STRING, MRL_JSON_OPTIONAL, &v, &is_null, why, sizeof why), 0,
	       "absent and optional: 0");
	is_int(mrl_json_member(j, "x", MRL_JSON_WANT_STRING, 0, &v, &is_null, why, sizeof why), -1, "absent: -1");
	is_str(why, "missing; expected a string", "with the problem alone (the caller adds the place)");
	json_decref(j);
}

int main(void)
{
	TEST(t_pointer_in_errors(), "an error names the source and the JSON pointer of the bad value");
	TEST(t_wrong_types(), "a wrong type says what was expected and what was found");
	TEST(t_missing_and_null(), "missing keys, optional keys and nulls");
	TEST(t_specials_and_strings(), "\"inf\"/\"-inf\" read as infinities; strings are copied, NUL refused");
	TEST(t_not_an_object(), "looking into something that is not an object names its own pointer");
	TEST(t_path_building(), "pointers are built with RFC 6901 escapes; older '$.' paths keep their notation");
	TEST(t_member_without_policy(), "mrl_json_member reports without failing (tasks/suite.c's walk uses it)");
	return done_testing();
}
