/* task_suite.c — the suite format: loading good suites, accessors, rendering,
 * derived (transliterated) languages, and one check per kind of bad input:
 * every bad case must give a diagnostic at the right JSON pointer with the
 * right message, and a file with several problems must report all of them. */
#include "tasks/task.h"
#include "tests/tap.h"

#include <fcntl.h>
#include <unistd.h>

/* Test JSON is written with ' for " (readability); this swaps them back. Caller frees. */
static char *dq(const char *s)
{
	char *r = strdup(s);
	for (char *p = r; *p; p++)
		if (*p == '\'')
			*p = '"';
	return r;
}

#define HEAD "{'format':'merilo-suite/1','name':'t','version':'1','description':'d','source':'s','license':'CC0-1.0',"
#define SUITE(tasks) HEAD "'tasks':[" tasks "]}"
#define TEMPLATES "'templates':{'en':{'context':'Q: {question}'},'hr':{'context':'P: {question}'}}"
#define MC(items) "{'id':'t','type':'multiple_choice','languages':['en','hr']," TEMPLATES ",'items':[" items "]}"
#define GOOD_ITEM(id, gold) "{'id':'" id "','gold':" #gold ",'en':{'question':'q','choices':['x','y']},'hr':{'question':'p','choices':['x','y']}}"

struct bad_case {
	const char *name;
	const char *json; /* with ' for " */
	const char *path;
	const char *msg;
};

static const struct bad_case cases[] = {
	{ "malformed JSON", "{'format': 'merilo-suite/1',\n 'name': 'x' 'version': '1'}", "", "malformed JSON: '}' expected" },
	{ "truncated JSON", "{'format': 'merilo-suite/1',\n 'tasks': [ {'id': 'a',", "", "truncated JSON" },
	{ "truncated JSON says the text ends early", "{'format': 'merilo-suite/1',\n 'tasks': [ {'id': 'a',", "",
	  "at line 2, column 23 (the text ends too early)" },
	{ "empty file", "  \n", "", "empty file: expected a JSON object" },
	{ "top level is not an object", "[1, 2]", "", "the top level must be an object, found an array at line 1, column 1" },
	{ "top level is a bare null", "null", "", "the top level must be an object, found null at line 1, column 1" },
	{ "top level is null and a newline", "null\n", "", "the top level must be an object, found null" },
	{ "trailing garbage after the object", SUITE(MC(GOOD_ITEM("a", 0))) " x", "",
	  "trailing data after the JSON value at line 1, column 369" },
	{ "a second object after the suite", SUITE(MC(GOOD_ITEM("a", 0))) "\n\n  {}", "",
	  "trailing data after the JSON value at line 3, column 3" },
	{ "a byte-order mark is not a second one", "\xEF\xBB\xBF\xEF\xBB\xBF{}", "", "malformed JSON" },
	{ "duplicate object key", "{'name': 'a', 'name': 'b'}", "", "duplicate object key" },
	{ "missing name", "{'format':'merilo-suite/1','version':'1','description':'','source':'','license':'x','tasks':[" MC(GOOD_ITEM("a", 0)) "]}",
	  "/name", "missing; expected a string" },
	{ "name of the wrong type", "{'format':'merilo-suite/1','name':7,'version':'1','description':'','source':'','license':'x','tasks':[" MC(GOOD_ITEM("a", 0)) "]}",
	  "/name", "expected a string, got an integer" },
	{ "unsupported format", "{'format':'merilo-suite/9','name':'n','version':'1','description':'','source':'','license':'x','tasks':[" MC(GOOD_ITEM("a", 0)) "]}",
	  "/format", "unsupported format \"merilo-suite/9\"" },
	{ "licence spelled the British way", HEAD "'licence':'x','tasks':[" MC(GOOD_ITEM("a", 0)) "]}", "/licence", "spelled 'license'" },
	{ "no tasks", SUITE(""), "/tasks", "expected a non-empty array of tasks, got an empty array" },
	{ "unknown task type", SUITE("{'id':'t','type':'cloze','languages':['en'],'items':[]}"), "/tasks/0/type",
	  "unknown task type \"cloze\"" },
	{ "language tag of the wrong shape", SUITE("{'id':'t','type':'perplexity','window':8,'languages':['en','sr_Cyrl'],'items':[{'id':'a','en':{'text':'x'}}]}"),
	  "/tasks/0/languages/1", "\"sr_Cyrl\" is not a BCP 47 language tag" },
	{ "language tag in another case", SUITE("{'id':'t','type':'perplexity','window':8,'languages':['en','sr-cyrl'],'items':[{'id':'a','en':{'text':'x'}}]}"),
	  "/tasks/0/languages/1", "\"sr-cyrl\": write the language tag in canonical case, \"sr-Cyrl\"" },
	{ "a declared language no item has (it ran on nothing, exit 0)",
	  SUITE("{'id':'t','type':'perplexity','window':8,'languages':['en','hr'],'items':[{'id':'a','en':{'text':'x'}}]}"),
	  "/tasks/0/languages", "\"hr\" is declared, but no item has it" },
	{ "language listed twice", SUITE("{'id':'t','type':'perplexity','window':8,'languages':['hr','hr'],'items':[{'id':'a','hr':{'text':'x'}}]}"),
	  "/tasks/0/languages/1", "language \"hr\" is listed twice" },
	{ "derived language whose source is missing",
	  SUITE("{'id':'t','type':'perplexity','window':8,'languages':['en','sr-Latn'],'derived':{'sr-Latn':{'from':'sr-Cyrl','transform':'sr-Cyrl-to-Latn'}},'items':[{'id':'a','en':{'text':'x'}}]}"),
	  "/tasks/0/derived/sr-Latn/from", "derived from \"sr-Cyrl\", which is not in the task's languages" },
	{ "unknown transform",
	  SUITE("{'id':'t','type':'perplexity','window':8,'languages':['sr-Cyrl','sr-Latn'],'derived':{'sr-Latn':{'from':'sr-Cyrl','transform':'rot13'}},'items':[{'id':'a','sr-Cyrl':{'text':'x'}}]}"),
	  "/tasks/0/derived/sr-Latn/transform", "unknown transform \"rot13\"" },
	{ "language without a context template",
	  SUITE("{'id':'t','type':'multiple_choice','languages':['en','hr'],'templates':{'en':{'context':'Q: {question}'}},'items':[" GOOD_ITEM("a", 0) "]}"),
	  "/tasks/0/templates", "no context template for \"hr\"" },
	{ "English words in a Croatian template",
	  SUITE("{'id':'t','type':'multiple_choice','languages':['en','hr'],'templates':{'en':{'context':'Q: {question}'},'hr':{'context':'Question: {question}\\nOdgovor:'}},'items':[" GOOD_ITEM("a", 0) "]}"),
	  "/tasks/0/templates/hr/context", "English template word 'Question' in the hr template" },
	{ "unknown filter",
	  SUITE("{'id':'t','type':'multiple_choice','languages':['en','hr'],'templates':{'en':{'context':'Q: {question|shout}'},'hr':{'context':'P: {question}'}},'items':[" GOOD_ITEM("a", 0) "]}"),
	  "/tasks/0/templates/en/context", "{question|shout}: unknown filter" },
	{ "unclosed brace in a template",
	  SUITE("{'id':'t','type':'multiple_choice','languages':['en','hr'],'templates':{'en':{'context':'Q: {question'},'hr':{'context':'P: {question}'}},'items':[" GOOD_ITEM("a", 0) "]}"),
	  "/tasks/0/templates/en/context", "unclosed '{'" },
	{ "choice template that never uses {choice}",
	  SUITE("{'id':'t','type':'multiple_choice','languages':['en','hr'],'templates':{'en':{'context':'Q: {question}','choice':'A'},'hr':{'context':'P: {question}'}},'items':[" GOOD_ITEM("a", 0) "]}"),
	  "/tasks/0/templates/en/choice", "never uses {choice}" },
	{ "template uses a field the variant lacks",
	  SUITE(MC("{'id':'a','gold':0,'en':{'question':'q','choices':['x','y']},'hr':{'pitanje':'p','choices':['x','y']}}")),
	  "/tasks/0/items/0/hr", "the hr context template uses {question} but this variant has no string field \"question\"" },
	{ "switch value without a case",
	  SUITE("{'id':'t','type':'multiple_choice','languages':['en'],'templates':{'en':{'context':{'switch':'question','cases':{'cause':'{premise} because'}}}},"
		"'items':[{'id':'a','gold':0,'en':{'premise':'p','question':'why','choices':['x','y']}}]}"),
	  "/tasks/0/items/0/en", "switches on \"question\", whose value \"why\" has no case" },
	{ "variant in an undeclared language",
	  SUITE(MC("{'id':'a','gold':0,'en':{'question':'q','choices':['x','y']},'de':{'question':'q','choices':['x','y']}}")),
	  "/tasks/0/items/0/de", "variant in language 'de', which is not one of the task's languages (en, hr)" },
	{ "duplicate item id", SUITE(MC(GOOD_ITEM("a", 0) "," GOOD_ITEM("b", 0) "," GOOD_ITEM("a", 1))),
	  "/tasks/0/items/2/id", "duplicate item id \"a\" (first used by /tasks/0/items/0)" },
	{ "gold out of range", SUITE(MC(GOOD_ITEM("a", 2))), "/tasks/0/items/0/gold",
	  "gold 2 is out of range: the item has 2 choices (expected 0..1)" },
	{ "gold of the wrong type", SUITE(MC("{'id':'a','gold':'1','en':{'question':'q','choices':['x','y']}}")),
	  "/tasks/0/items/0/gold", "expected an integer, got a string" },
	{ "gold missing", SUITE(MC("{'id':'a','en':{'question':'q','choices':['x','y']}}")),
	  "/tasks/0/items/0/gold", "missing; expected an integer" },
	{ "choice counts differ across languages",
	  SUITE(MC("{'id':'a','gold':0,'en':{'question':'q','choices':['x','y','z']},'hr':{'question':'p','choices':['x','y']}}")),
	  "/tasks/0/items/0/hr/choices", "2 choices here but 3 in en" },
	{ "a choice that is not a string",
	  SUITE(MC("{'id':'a','gold':0,'en':{'question':'q','choices':['x',3]}}")),
	  "/tasks/0/items/0/en/choices/1", "expected a string, got an integer" },
	{ "choices missing", SUITE(MC("{'id':'a','gold':0,'en':{'question':'q'}}")),
	  "/tasks/0/items/0/en", "missing \"choices\"" },
	{ "empty task", SUITE(MC("")), "/tasks/0/items", "the task has no items" },
	{ "item without a variant", SUITE(MC("{'id':'a','gold':0}")), "/tasks/0/items/0", "item has no language variant" },
	{ "item id missing", SUITE(MC("{'gold':0,'en':{'question':'q','choices':['x','y']}}")), "/tasks/0/items/0/id",
	  "missing; expected a string" },
	{ "a derived language whose keep is not a list",
	  SUITE("{'id':'t','type':'perplexity','window':8,'languages':['sr-Cyrl','sr-Latn'],'derived':{'sr-Latn':{'from':'sr-Cyrl','transform':'sr-Cyrl-to-Latn','keep':'text'}},'items':[{'id':'a','sr-Cyrl':{'text':'x'}}]}"),
	  "/tasks/0/derived/sr-Latn/keep", "expected an array of field names" },
	{ "a derived language keeping a field that is not a name",
	  SUITE("{'id':'t','type':'perplexity','window':8,'languages':['sr-Cyrl','sr-Latn'],'derived':{'sr-Latn':{'from':'sr-Cyrl','transform':'sr-Cyrl-to-Latn','keep':['text','']}},'items':[{'id':'a','sr-Cyrl':{'text':'x'}}]}"),
	  "/tasks/0/derived/sr-Latn/keep/1", "expected a field name (a non-empty string)" },
	{ "an empty verbatim piece",
	  SUITE("{'id':'t','type':'multiple_choice','languages':['en'],'templates':{'en':{'context':'Q: {q}\\n{=}'}},'items':[{'id':'a','gold':0,'en':{'q':'x','choices':['a','b']}}]}"),
	  "/tasks/0/templates/en/context", "empty verbatim text '{=}'" },
	{ "derived variant given by hand",
	  SUITE("{'id':'t','type':'perplexity','window':8,'languages':['sr-Cyrl','sr-Latn'],'derived':{'sr-Latn':{'from':'sr-Cyrl','transform':'sr-Cyrl-to-Latn'}},"
		"'items':[{'id':'a','sr-Cyrl':{'text':'x'},'sr-Latn':{'text':'x'}}]}"),
	  "/tasks/0/items/0/sr-Latn", "'sr-Latn' is derived from 'sr-Cyrl' by the loader" },
	{ "perplexity task without a window", SUITE("{'id':'t','type':'perplexity','languages':['en'],'items':[{'id':'a','en':{'text':'x'}}]}"),
	  "/tasks/0/window", "missing; expected an integer" },
	{ "stride larger than the window", SUITE("{'id':'t','type':'perplexity','window':8,'stride':9,'languages':['en'],'items':[{'id':'a','en':{'text':'x'}}]}"),
	  "/tasks/0/stride", "stride 9 is larger than the window 8" },
	{ "perplexity variant without text", SUITE("{'id':'t','type':'perplexity','window':8,'languages':['en'],'items':[{'id':'a','en':{'body':'x'}}]}"),
	  "/tasks/0/items/0/en", "missing \"text\"" },
	{ "generate variant without target",
	  SUITE("{'id':'t','type':'generate','languages':['en'],'templates':{'en':{'context':'{question}'}},'items':[{'id':'a','en':{'question':'x'}}]}"),
	  "/tasks/0/items/0/en", "missing \"target\"" },
	{ "generate target an empty string (as an empty one in an array)",
	  SUITE("{'id':'t','type':'generate','languages':['en'],'templates':{'en':{'context':'{question}'}},'items':[{'id':'a','en':{'question':'x','target':''}}]}"),
	  "/tasks/0/items/0/en/target", "must not be empty" },
	{ "generate target array with an empty string",
	  SUITE("{'id':'t','type':'generate','languages':['en'],'templates':{'en':{'context':'{question}'}},'items':[{'id':'a','en':{'question':'x','target':['','y']}}]}"),
	  "/tasks/0/items/0/en/target/0", "must not be empty" },
	{ "script_ok for a language whose script the tag does not imply",
	  SUITE("{'id':'t','type':'generate','metrics':['script_ok'],'languages':['sr'],'templates':{'sr':{'context':'{q}'}},'items':[{'id':'a','sr':{'q':'x','target':'y'}}]}"),
	  "/tasks/0/metrics", "script_ok needs the expected script of language \"sr\": give it in \"expect_script\"" },
	{ "expect_script for a language the task lacks",
	  SUITE("{'id':'t','type':'generate','expect_script':{'hr':'Latn'},'languages':['en'],'templates':{'en':{'context':'{q}'}},'items':[{'id':'a','en':{'q':'x','target':'y'}}]}"),
	  "/tasks/0/expect_script/hr", "\"hr\" is not a language of the task" },
	{ "expect_script that is not a script",
	  SUITE("{'id':'t','type':'generate','expect_script':{'en':'Grek'},'languages':['en'],'templates':{'en':{'context':'{q}'}},'items':[{'id':'a','en':{'q':'x','target':'y'}}]}"),
	  "/tasks/0/expect_script/en", "Grek" },
	{ "stop and its alias until with different values",
	  SUITE("{'id':'t','type':'generate','stop':['\\n'],'until':['.'],'languages':['en'],'templates':{'en':{'context':'{q}'}},'items':[{'id':'a','en':{'q':'x','target':'y'}}]}"),
	  "/tasks/0/stop", "\"stop\" and its alias \"until\" are both given, with different values" },
	{ "max_new_tokens and its alias max_tokens with different values",
	  SUITE("{'id':'t','type':'generate','max_new_tokens':8,'max_tokens':16,'languages':['en'],'templates':{'en':{'context':'{q}'}},'items':[{'id':'a','en':{'q':'x','target':'y'}}]}"),
	  "/tasks/0/max_new_tokens", "\"max_new_tokens\" and its alias \"max_tokens\" are both given, with different values" },
	{ "max_new_tokens not a number",
	  SUITE("{'id':'t','type':'generate','max_new_tokens':'8','languages':['en'],'templates':{'en':{'context':'{q}'}},'items':[{'id':'a','en':{'q':'x','target':'y'}}]}"),
	  "/tasks/0/max_new_tokens", "integer" },
	{ "unknown chat template of a task",
	  SUITE("{'id':'t','type':'generate','chat_template':'jinja','languages':['en'],'templates':{'en':{'context':'{q}'}},'items':[{'id':'a','en':{'q':'x','target':'y'}}]}"),
	  "/tasks/0/chat_template", "unknown chat template \"jinja\" (known: auto, none, chatml, llama2, llama3, mistral, gemma, phi3)" },
	{ "unknown chat template of the suite",
	  HEAD "'chat_template':'ChatGPT','tasks':[{'id':'t','type':'generate','languages':['en'],'templates':{'en':{'context':'{q}'}},'items':[{'id':'a','en':{'q':'x','target':'y'}}]}]}",
	  "/chat_template", "unknown chat template \"ChatGPT\"" },
	{ "chat_template on a multiple-choice task",
	  SUITE("{'id':'t','type':'multiple_choice','chat_template':'chatml','languages':['en','hr']," TEMPLATES ",'items':[" GOOD_ITEM("a", 0) "]}"),
	  "/tasks/0/chat_template", "applies to generate tasks only" },
	{ "expect_language on a multiple-choice task",
	  SUITE("{'id':'t','type':'multiple_choice','expect_language':{'en':'en'},'languages':['en','hr']," TEMPLATES ",'items':[" GOOD_ITEM("a", 0) "]}"),
	  "/tasks/0/expect_language", "applies to generate tasks only" },
	{ "unknown metric", SUITE("{'id':'t','type':'perplexity','window':8,'metrics':['acc'],'languages':['en'],'items':[{'id':'a','en':{'text':'x'}}]}"),
	  "/tasks/0/metrics/0", "unknown metric \"acc\" for a perplexity task" },
	{ "few-shot k larger than the pool",
	  SUITE("{'id':'t','type':'multiple_choice','languages':['en','hr']," TEMPLATES ",'fewshot':{'k':2,'source':'pool'},'items':[" GOOD_ITEM("a", 0) "]}"),
	  "/tasks/0/fewshot/k", "k = 2 examples but the pool has only 0" },
	{ "duplicate task id", SUITE(MC(GOOD_ITEM("a", 0)) "," MC(GOOD_ITEM("a", 0))), "/tasks/1/id", "duplicate task id \"t\"" },
	{ "unknown task key", SUITE("{'id':'t','type':'perplexity','window':8,'languages':['en'],'tempaltes':{},'items':[{'id':'a','en':{'text':'x'}}]}"),
	  "/tasks/0/tempaltes", "unknown key 'tempaltes' in a task" },
	{ "window on a multiple-choice task",
	  SUITE("{'id':'t','type':'multiple_choice','languages':['en','hr']," TEMPLATES ",'window':8,'items':[" GOOD_ITEM("a", 0) "]}"),
	  "/tasks/0/window", "\"window\" applies to perplexity tasks only" },
};

static const struct task_diag *find_diag(const struct task_diags *d, const char *path)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->v[i].path, path))
			return &d->v[i];
	return NULL;
}

static void check_bad(const char *name, const char *buf, size_t len, const char *path, const char *msg)
{
	struct task_diags d;
	struct task_suite *s = (struct task_suite *)1;
	struct mrl_err err = {0};
	char title[256];
	task_diags_init(&d);
	int rc = task_suite_parse("bad.json", buf, len, &s, &d, &err);
	snprintf(title, sizeof title, "%s: rejected with MRL_EINPUT and no suite", name);
	ok(rc == MRL_EINPUT && s == NULL, title);
	const struct task_diag *g = find_diag(&d, path);
	snprintf(title, sizeof title, "%s: a problem at '%s'", name, path);
	ok(g != NULL, title);
	if (!g)
		for (size_t i = 0; i < d.n; i++)
			diag("  have '%s': %s", d.v[i].path, d.v[i].msg);
	snprintf(title, sizeof title, "%s: message says what was expected", name);
	like(g ? g->msg : NULL, msg, title);
	task_diags_release(&d);
}

static void test_bad_cases(void)
{
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *json = dq(cases[i].json);
		check_bad(cases[i].name, json, strlen(json), cases[i].path, cases[i].msg);
		free(json);
	}
	/* bytes that cannot be written in a C string literal comfortably */
	const char bad_utf8[] = "{\"format\": \"merilo-suite/1\",\n \"name\": \"caf\xff\"}";
	check_bad("not UTF-8", bad_utf8, sizeof bad_utf8 - 1, "", "not valid UTF-8: byte 0xFF at line 2, column 14");
	/* a GGUF model where a suite goes: it said "not valid UTF-8 at line 8", where its tensors begin */
	const char gguf[] = "GGUF\x03\0\0\0\x80\0\0\0";
	check_bad("a GGUF model", gguf, sizeof gguf - 1, "", "a GGUF model, not a suite");
	const char overlong[] = "{\"name\": \"\xc0\xaf\"}";
	check_bad("overlong UTF-8", overlong, sizeof overlong - 1, "", "not valid UTF-8: byte 0xC0");
	char deep[2 * 5000 + 1];
	memset(deep, '[', 5000);
	memset(deep + 5000, ']', 5000);
	check_bad("nesting deeper than the limit", deep, 10000, "", "JSON nested deeper than 32 levels at line 1, column 33");
	const char nul[] = "{\"name\": \"a\0b\"}";
	check_bad("raw NUL byte", nul, sizeof nul - 1, "", "NUL byte at line 1, column 12 (byte offset 11)");
	/* jansson's json_loadb skips a NUL between tokens: the suite parsed as if it were not there */
	const char nul_between[] = "{\"format\": \"merilo-suite/1\",\n  \0\"name\": \"a\"}";
	check_bad("raw NUL byte between tokens", nul_between, sizeof nul_between - 1, "", "NUL byte at line 2, column 3");
	/* escaped quotes and brackets inside strings do not count as nesting */
	const char *strs = "{\"name\": \"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\\\"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[\"}";
	struct task_diags d;
	struct task_suite *s = NULL;
	task_diags_init(&d);
	task_suite_parse("s.json", strs, strlen(strs), &s, &d, NULL);
	ok(d.n > 0 && !strstr(d.v[0].msg, "nested"), "brackets inside strings are not nesting");
	task_diags_release(&d);
}

static void test_file_errors(void)
{
	struct task_suite *s = NULL;
	struct mrl_err err = {0};
	struct task_diags d;
	task_diags_init(&d);
	int rc = task_suite_load("tests/data/suites/does-not-exist.json", &s, &d, &err);
	is_int(rc, MRL_EIO, "missing file: MRL_EIO");
	like(err.msg, "does-not-exist.json: cannot open: No such file", "missing file: message names file and reason");
	task_diags_release(&d);

	/* a sparse file over the cap: rejected from its size, without reading it */
	char path[] = "/tmp/merilo-enormous-XXXXXX";
	int fd = mkstemp(path);
	ok(fd >= 0 && ftruncate(fd, (off_t)TASK_SUITE_MAX_BYTES + 1) == 0, "made a sparse file one byte over the cap");
	if (fd >= 0)
		close(fd);
	task_diags_init(&d);
	rc = task_suite_load(path, &s, &d, &err);
	is_int(rc, MRL_EINPUT, "enormous file: MRL_EINPUT");
	like(err.msg, "larger than the 256 MiB limit for suites", "enormous file: message gives the limit");
	unlink(path);
	task_diags_release(&d);

	rc = task_suite_load("tests/data/suites/truncated.json", &s, NULL, &err);
	is_int(rc, MRL_EINPUT, "truncated file on disk: MRL_EINPUT");
	like(err.msg, "tests/data/suites/truncated.json: truncated JSON", "truncated file: message names the file");
	rc = task_suite_load("tests/data/suites/malformed.json", &s, NULL, &err);
	is_int(rc, MRL_EINPUT, "malformed file on disk: MRL_EINPUT");
	like(err.msg, "malformed JSON: '}' expected near '\"version\"' at line 3, column 23", "malformed file: jansson's line and column");
}

static void test_every_problem(void)
{
	struct task_suite *s = NULL;
	struct mrl_err err = {0};
	struct task_diags d;
	task_diags_init(&d);
	int rc = task_suite_load("tests/data/suites/many-problems.json", &s, &d, &err);
	is_int(rc, MRL_EINPUT, "many-problems.json is rejected");
	is_int(d.n, 5, "all 5 problems are reported, not only the first");
	ok(find_diag(&d, "/tasks/0/items/0/gold") && find_diag(&d, "/tasks/0/items/1/hr/choices") &&
	   find_diag(&d, "/tasks/0/items/2/en") && find_diag(&d, "/tasks/0/items/2/de") &&
	   find_diag(&d, "/tasks/0/items/1/id"), "each problem at its own path");
	like(err.msg, "(and 4 more problems)", "the error record counts the rest");
	char line[1024];
	task_diag_format(&d, 0, line, sizeof line);
	is_str(line, "tests/data/suites/many-problems.json: /tasks/0/items/0/gold: gold 5 is out of range: the item has 2 choices (expected 0..1)",
	       "diagnostic line is 'file: /path: message'");
	task_diags_release(&d);
}

/* Past TASK_DIAGS_MAX problems are counted, not kept: a bad template after them is
 * still bad. A switch template whose case is not a string, on a language another
 * is derived from, was taken as good there and transliterated: NULL text, a crash. */
static void test_problems_past_the_cap(void)
{
	const char *tail = "]},{'id':'s','type':'perplexity','window':8,'languages':['sr-Cyrl','sr-Latn'],"
			   "'derived':{'sr-Latn':{'from':'sr-Cyrl','transform':'sr-Cyrl-to-Latn'}},"
			   "'templates':{'sr-Cyrl':{'context':{'switch':'kind','cases':{'a':5}}}},"
			   "'items':[{'id':'a','sr-Cyrl':{'text':'x','kind':'a'}}]}]}";
	const char *head = HEAD "'tasks':[{'id':'t','type':'perplexity','window':8,'languages':['en'],'items':[";
	size_t n_bad = TASK_DIAGS_MAX + 5, len = strlen(head) + 2 * n_bad + strlen(tail) + 1;
	char *text = malloc(len), *p = text;
	p += sprintf(p, "%s", head);
	for (size_t i = 0; i < n_bad; i++)
		p += sprintf(p, "%s1", i ? "," : ""); /* an item that is not an object: one problem each */
	sprintf(p, "%s", tail);
	char *json = dq(text);
	struct task_suite *s = NULL;
	struct mrl_err err = {0};
	struct task_diags d;
	task_diags_init(&d);
	int rc = task_suite_parse("cap.json", json, strlen(json), &s, &d, &err);
	is_int(rc, MRL_EINPUT, "a suite with more problems than are kept is rejected");
	is_int(d.n, TASK_DIAGS_MAX, "the first TASK_DIAGS_MAX problems are kept");
	ok(d.n_dropped > 5, "the template's problem past them is counted");
	task_diags_release(&d);
	task_suite_free(s);
	free(json);
	free(text);
}

static void check_render(const struct task_task *t, const struct task_item *it, const char *lang, const char *ctx,
			 const char *c0, const char *c1)
{
	struct task_prompt p;
	struct mrl_err err = {0};
	char title[128];
	int rc = task_render(t, it, lang, &p, &err);
	snprintf(title, sizeof title, "render %s/%s succeeds", task_item_id(it), lang);
	ok(rc == 0, title);
	if (rc) {
		diag("%s", err.msg);
		return;
	}
	snprintf(title, sizeof title, "render %s/%s: context", task_item_id(it), lang);
	is_str(p.context, ctx, title);
	snprintf(title, sizeof title, "render %s/%s: choices", task_item_id(it), lang);
	ok(p.n_choices == 2 && !strcmp(p.choices[0], c0) && !strcmp(p.choices[1], c1), title);
	is_str(p.target_delimiter, " ", "target delimiter comes with the prompt");
	task_prompt_release(&p);
}

/* A suite saved by an editor that writes a UTF-8 byte-order mark loads as without it. */
static void test_bom(void)
{
	struct task_suite *s = NULL;
	struct mrl_err err = {0};
	size_t len = 0;
	char *text = NULL;
	FILE *f = fopen("tests/data/suites/good-mc.json", "rb");
	if (f && fseek(f, 0, SEEK_END) == 0 && (len = (size_t)ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0 &&
	    (text = malloc(len + 3))) {
		memcpy(text, "\xEF\xBB\xBF", 3);
		len = fread(text + 3, 1, len, f) + 3;
	}
	if (f)
		fclose(f);
	int rc = text ? task_suite_parse("bom.json", text, len, &s, NULL, &err) : -99;
	is_int(rc, 0, "a suite with a UTF-8 byte-order mark loads");
	if (rc)
		diag("%s", err.msg);
	ok(s && task_suite_n_tasks(s) == 1 && !strcmp(task_suite_name(s), "test-good-mc"), "the same suite as without the mark");
	task_suite_free(s);
	free(text);
}

static void test_good_mc(void)
{
	struct task_suite *s = NULL;
	struct mrl_err err = {0};
	int rc = task_suite_load("tests/data/suites/good-mc.json", &s, NULL, &err);
	is_int(rc, 0, "good-mc.json loads");
	if (rc) {
		diag("%s", err.msg);
		return;
	}
	is_str(task_suite_name(s), "test-good-mc", "suite name");
	is_str(task_suite_license(s), "CC0-1.0", "suite license");
	is_int(task_suite_n_tasks(s), 1, "one task");
	const struct task_task *t = task_suite_find(s, "copa-mini");
	ok(t != NULL && task_type(t) == TASK_MULTIPLE_CHOICE, "task found by id, multiple_choice");
	is_int(task_n_languages(t), 4, "four languages");
	is_int(task_language_index(t, "sr-Latn"), 2, "language index in declaration order");
	is_str(task_language_source(t, "sr-Latn"), "sr-Cyrl", "sr-Latn is derived from sr-Cyrl");
	ok(task_language_source(t, "hr") == NULL, "hr is not derived");
	is_int(task_n_items(t), 3, "three items");
	is_int(task_n_pool(t), 1, "one pool item");
	struct task_fewshot fs;
	task_fewshot(t, &fs);
	ok(fs.has && fs.k == 1 && fs.seed == 1234 && !strcmp(fs.source, "pool") && !strcmp(fs.delimiter, "\n\n"),
	   "few-shot settings");
	is_int(task_n_metrics(t), 2, "two metrics");
	const struct task_item *c1 = task_item_at(t, 0), *c2 = task_item_at(t, 1), *c3 = task_item_at(t, 2);
	is_str(task_item_id(c2), "c-2", "item id");
	is_int(task_item_gold(c2), 1, "item gold");
	ok(task_item_has(c2, 2) && !task_item_has(c2, 3), "c-2 has sr-Latn (derived) but no hr");
	ok(!task_item_has(c3, 1) && !task_item_has(c3, 2), "c-3 (hr only) gets no derived sr-Latn without sr-Cyrl");
	is_str(task_item_field(c1, 2, "premise"), "Predmet je bio zapakovan u pucketavu foliju.",
	       "derived sr-Latn field is the transliteration");
	is_str(task_item_choice(c2, 2, 1), "Ljubav je našla deo ulaznice.", "derived choices are transliterated (Љ -> Lj)");
	is_int(task_item_n_choices(c1, 0), 2, "choice count");

	check_render(t, c1, "en", "The item was wrapped in bubble wrap because", "it was fragile.", "it was small.");
	check_render(t, c1, "sr-Cyrl", "Предмет је био запакован у пуцкетаву фолију, зато што", "био је ломљив.", "био је мали.");
	check_render(t, c1, "sr-Latn", "Predmet je bio zapakovan u pucketavu foliju, zato što", "bio je lomljiv.", "bio je mali.");
	check_render(t, c1, "hr", "Predmet je bio zapakiran u omot s mjehurićima, jer", "bio je lomljiv.", "bio je malen.");
	check_render(t, c2, "sr-Cyrl", "Испразнио сам џепове, па", "пронашао сам оружје.", "љубав је нашла део улазнице.");
	check_render(t, c2, "sr-Latn", "Ispraznio sam džepove, pa", "pronašao sam oružje.", "ljubav je našla deo ulaznice.");
	check_render(t, c3, "hr", "Termiti su ušli u kuću, pa", "termiti su pojeli drvo.", "termiti su nestali.");

	struct task_prompt p;
	rc = task_render(t, c2, "hr", &p, &err);
	is_int(rc, MRL_EINPUT, "rendering a missing variant is an error");
	like(err.msg, "item 'c-2' has no hr variant", "the error names item and language");
	rc = task_render(t, c1, "de", &p, &err);
	is_int(rc, MRL_EINPUT, "rendering an unknown language: MRL_EINPUT");
	like(err.msg, "'de' is not one of its languages", "rendering an unknown language is an error");
	task_suite_free(s);
}

static void test_good_types(void)
{
	struct task_suite *s = NULL;
	struct mrl_err err = {0};
	int rc = task_suite_load("tests/data/suites/good-types.json", &s, NULL, &err);
	is_int(rc, 0, "good-types.json (perplexity + generate) loads");
	if (rc) {
		diag("%s", err.msg);
		return;
	}
	const struct task_task *ppl = task_suite_find(s, "text"), *gen = task_suite_find(s, "qa");
	ok(ppl && task_type(ppl) == TASK_PERPLEXITY && task_window(ppl) == 128 && task_stride(ppl) == 64,
	   "perplexity task with window 128, stride 64");
	struct task_prompt p;
	rc = task_render(ppl, task_item_at(ppl, 0), "sr-Latn", &p, &err);
	is_str(rc ? NULL : p.context, "Bilo jednom u Beogradu.", "perplexity text of the derived language");
	task_prompt_release(&p);
	ok(gen && task_type(gen) == TASK_GENERATE && task_gen_max_tokens(gen) == 16 && task_gen_n_until(gen, "hr") == 1 &&
	   !strcmp(task_gen_until(gen, "hr", 0), "\n"), "generate task: max_tokens and stop strings");
	rc = task_render(gen, task_item_at(gen, 0), "hr", &p, &err);
	ok(!rc && !strcmp(p.context, "P: Glavni grad Hrvatske?\nO:") && p.n_choices == 2 &&
	   !strcmp(p.choices[1], "Grad Zagreb") && p.gold == -1, "generate render: context and reference answers");
	task_prompt_release(&p);
	is_int(task_item_n_targets(task_item_at(gen, 0), 0), 1, "a string target is one reference answer");
	task_suite_free(s);
}

/* "stop" as an object: each language its own list (lm-eval's next "Question:" per language),
 * a derived language without one taking its source's; a language missing, one not of the
 * task, or a list that is not an array are problems at their path. */
static void test_stop_per_language(void)
{
	static const char fmt[] = HEAD "'tasks':[{'id':'g','type':'generate','languages':['en','sr-Latn','sr-Cyrl'],"
				  "'derived':{'sr-Cyrl':{'from':'sr-Latn','transform':'sr-Latn-to-Cyrl'}},'stop':%s,"
				  "'templates':{'en':{'context':'{q}'},'sr-Latn':{'context':'{q}'}},"
				  "'items':[{'id':'a','en':{'q':'x','target':'y'},'sr-Latn':{'q':'x','target':'y'}}]}]}";
	char text[1024];
	snprintf(text, sizeof text, fmt, "{'en':['Question:','Q:'],'sr-Latn':['Pitanje:']}");
	char *json = dq(text);
	struct task_suite *s = NULL;
	struct mrl_err err = { 0 };
	int rc = task_suite_parse("stop.json", json, strlen(json), &s, NULL, &err);
	is_int(rc, 0, "stop strings per language load");
	if (rc)
		diag("%s", err.msg);
	const struct task_task *t = s ? task_suite_task(s, 0) : NULL;
	ok(t && task_gen_n_until(t, "en") == 2 && !strcmp(task_gen_until(t, "en", 1), "Q:"), "en: its two");
	ok(t && task_gen_n_until(t, "sr-Latn") == 1 && !strcmp(task_gen_until(t, "sr-Latn", 0), "Pitanje:"), "sr-Latn: its one");
	ok(t && task_gen_n_until(t, "sr-Cyrl") == 1 && !strcmp(task_gen_until(t, "sr-Cyrl", 0), "Pitanje:"),
	   "derived sr-Cyrl without its own: its source's, as they are");
	ok(t && task_gen_n_until(t, "hr") == 0 && !task_gen_until(t, "hr", 0), "a language not of the task: none");
	task_suite_free(s);
	free(json);
	static const struct {
		const char *name, *stop, *path, *msg;
	} bad[] = {
		{ "a language without its list", "{'en':['.']}", "/tasks/0/stop", "no stop strings for \"sr-Latn\"" },
		{ "a language not of the task", "{'en':['.'],'sr-Latn':[],'hr':['.']}", "/tasks/0/stop/hr",
		  "\"hr\" is not a language of the task" },
		{ "a list that is not an array", "{'en':'.','sr-Latn':[]}", "/tasks/0/stop/en",
		  "expected an array of stop strings, got a string" },
		{ "an empty stop string", "{'en':[''],'sr-Latn':[]}", "/tasks/0/stop/en/0", "expected a non-empty stop string" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		snprintf(text, sizeof text, fmt, bad[i].stop);
		char *j = dq(text);
		check_bad(bad[i].name, j, strlen(j), bad[i].path, bad[i].msg);
		free(j);
	}
}

/* The names stop / max_new_tokens, their aliases, and the declared chat template. */
static void test_gen_names(void)
{
#define GEN(id, extra) "{'id':'" id "','type':'generate'," extra "'languages':['en'],'templates':{'en':{'context':'{q}'}}," \
		       "'items':[{'id':'a','en':{'q':'x','target':'y'}}]}"
	char *json = dq(HEAD "'chat_template':'none','tasks':[" GEN("new", "'stop':['.','!'],'max_new_tokens':7,")
			"," GEN("old", "'until':['?'],'max_tokens':9,'chat_template':'ChatML',")
			"," GEN("both", "'stop':['.'],'until':['.'],'max_new_tokens':5,'max_tokens':5,'chat_template':'auto',")
			"," GEN("plain", "") "]}");
	struct task_suite *s = NULL;
	struct task_diags d;
	struct mrl_err err = { 0 };
	task_diags_init(&d);
	int rc = task_suite_parse("names.json", json, strlen(json), &s, &d, &err);
	is_int(rc, 0, "stop/max_new_tokens, until/max_tokens and both spellings with equal values load");
	for (size_t i = 0; rc && i < d.n; i++)
		diag("  '%s': %s", d.v[i].path, d.v[i].msg);
	const struct task_task *nw = s ? task_suite_find(s, "new") : NULL, *old = s ? task_suite_find(s, "old") : NULL;
	const struct task_task *both = s ? task_suite_find(s, "both") : NULL, *plain = s ? task_suite_find(s, "plain") : NULL;
	ok(nw && task_gen_max_tokens(nw) == 7 && task_gen_n_until(nw, "en") == 2 && !strcmp(task_gen_until(nw, "en", 1), "!"),
	   "stop and max_new_tokens are read");
	ok(old && task_gen_max_tokens(old) == 9 && task_gen_n_until(old, "en") == 1 && !strcmp(task_gen_until(old, "en", 0), "?"),
	   "until and max_tokens are read as their aliases");
	ok(both && task_gen_max_tokens(both) == 5 && task_gen_n_until(both, "en") == 1, "both spellings with one value: that value");
	ok(plain && task_gen_max_tokens(plain) == 64 && task_gen_n_until(plain, "en") == 0, "neither: 64 tokens, no stop string");
	is_str(old ? task_gen_chat_template(old) : NULL, "ChatML", "a task's chat_template is its own");
	is_str(both ? task_gen_chat_template(both) : NULL, "auto", "a task may declare auto");
	is_str(plain ? task_gen_chat_template(plain) : NULL, "none", "a task without one takes the suite's");
	task_suite_free(s);
	task_diags_release(&d);
	free(json);
	json = dq(SUITE(GEN("t", "")));
	s = NULL;
	task_diags_init(&d);
	rc = task_suite_parse("plain.json", json, strlen(json), &s, &d, &err);
	ok(!rc && s && !task_gen_chat_template(task_suite_find(s, "t")), "no chat_template anywhere: NULL (the run decides)");
	task_suite_free(s);
	task_diags_release(&d);
	free(json);
#undef GEN
}

static void test_templates_and_tags(void)
{
	const char *names[] = { "q", "p" }, *values[] = { "  Zašto je nebo plavo?  ", "ćevapi." };
	char *out = NULL;
	struct mrl_err err = {0};
	ok(!task_template_apply("[{q|trim}] {{literal}} {p|ucfirst|rstrip_period}", names, values, 2, NULL, &out, &err) &&
	   !strcmp(out, "[Zašto je nebo plavo?] {literal} Ćevapi"), "filters chain; {{ }} are literal braces");
	free(out);
	ok(task_template_apply("{missing}", names, values, 2, NULL, &out, &err) == MRL_EINPUT && out == NULL,
	   "an unknown field is an error at render time");
	like(err.msg, "field 'missing' is not in the variant", "render error names the field");
	ok(!task_template_apply("{choice|lcfirst}", names, values, 2, "Љубав", &out, &err) && !strcmp(out, "љубав"),
	   "lcfirst lowers a Cyrillic capital (UTF-8 aware)");
	free(out);

	const char *good[] = { "en", "sr-Cyrl", "sr-Latn", "hr", "bs", "cnr", "sr-Latn-RS", "es-419", "de-CH-1901" };
	const char *bad[] = { "", "sr_Cyrl", "sr-cyrl", "EN", "s", "sr-", "sr-Latn-Cyrl", "e1", "hr--HR" };
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		char title[64];
		snprintf(title, sizeof title, "'%s' is a valid tag", good[i]);
		ok(task_lang_tag_valid(good[i]), title);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char title[64];
		snprintf(title, sizeof title, "'%s' is rejected", bad[i]);
		ok(!task_lang_tag_valid(bad[i]), title);
	}
	static const char *const recase[][2] = { { "sr-cyrl", "sr-Cyrl" }, { "SR-LATN-rs", "sr-Latn-RS" }, { "EN", "en" },
						 { "es-419", "es-419" }, { "DE-ch-1901", "de-CH-1901" }, { "x", "x" } };
	for (size_t i = 0; i < sizeof recase / sizeof recase[0]; i++) {
		char out[32], title[80];
		task_lang_tag_canonical(recase[i][0], out, sizeof out);
		snprintf(title, sizeof title, "'%s' in canonical case is '%s'", recase[i][0], recase[i][1]);
		is_str(out, recase[i][1], title);
	}
}

/* {=TEXT} renders TEXT; a derived language's transliteration leaves it and the kept
 * fields ("keep": ["choices"]) as they are, so answer labels stay the same letters. */
static void test_verbatim_and_keep(void)
{
	const char *names[] = { "q" }, *values[] = { "Ko?" };
	char *out = NULL;
	struct mrl_err err = {0};
	ok(!task_template_apply("{q}\n{=A}. da\n{=B}. ne", names, values, 1, NULL, &out, &err) &&
	   !strcmp(out, "Ko?\nA. da\nB. ne"), "{=A} renders A");
	free(out);
	static const char *const keep[] = { ",'keep':['choices']", "" };
	for (size_t k = 0; k < 2; k++) {
		char text[1200];
		snprintf(text, sizeof text, SUITE("{'id':'t','type':'multiple_choice','languages':['sr-Latn','sr-Cyrl'],"
			 "'derived':{'sr-Cyrl':{'from':'sr-Latn','transform':'sr-Latn-to-Cyrl'%s}},"
			 "'templates':{'sr-Latn':{'context':'Pitanje: {question}\\n{=A}. {a}\\n{=B}. {b}\\nOdgovor:'}},"
			 "'items':[{'id':'1','gold':1,'sr-Latn':{'question':'Ko je napisao roman?','a':'Nušić','b':'Andrić',"
			 "'choices':['A','B']}}]}"), keep[k]);
		char *json = dq(text);
		struct task_suite *s = NULL;
		int rc = task_suite_parse("k.json", json, strlen(json), &s, NULL, &err);
		if (rc)
			diag("%s", err.msg);
		struct task_prompt p = {0};
		if (!rc && !task_render(task_suite_task(s, 0), task_item_at(task_suite_task(s, 0), 0), "sr-Cyrl", &p, &err)) {
			if (k == 0) {
				is_str(p.context, "Питање: Ко је написао роман?\nA. Нушић\nB. Андрић\nОдговор:",
				       "derived sr-Cyrl: the text transliterated, the verbatim letters not");
				ok(p.n_choices == 2 && !strcmp(p.choices[0], "A") && !strcmp(p.choices[1], "B"),
				   "keep choices: the derived choices are the source's letters");
			} else {
				ok(p.n_choices == 2 && strcmp(p.choices[0], "A"), "without keep the choices are transliterated");
			}
			task_prompt_release(&p);
		} else {
			ok(0, "the suite with a kept field loads and renders");
		}
		task_suite_free(s);
		free(json);
	}
}

static void test_demo_suite(void)
{
	const char *demo = "tasks/suites/demo.json";
	if (access(demo, R_OK)) {
		skip("tasks/suites/demo.json not written yet", "the built-in demo suite validates");
		return;
	}
	struct task_suite *s = NULL;
	struct mrl_err err = {0};
	int rc = task_suite_load(demo, &s, NULL, &err);
	ok(rc == 0, "the built-in demo suite validates");
	if (rc) {
		diag("%s", err.msg);
		return;
	}
	const struct task_task *to = task_suite_find(s, "translate_to"), *from = task_suite_find(s, "translate_from");
	const struct task_task *qa = task_suite_find(s, "short_qa");
	ok(to && from && qa, "the demo has the generate tasks translate_to, translate_from, short_qa");
	if (to && from && qa) {
		is_str(task_gen_expect_script(to, "sr-Latn"), "Latn", "expected script implied by the tag: sr-Latn -> Latn");
		is_str(task_gen_expect_script(qa, "sr-Cyrl"), "Cyrl", "sr-Cyrl -> Cyrl");
		is_str(task_gen_expect_script(qa, "hr"), "Latn", "hr -> Latn (no script subtag)");
		is_str(task_gen_expect_language(to, "sr-Latn"), "sr", "expected language from the tag: sr-Latn -> sr");
		is_str(task_gen_expect_language(from, "hr"), "en", "expect_language overrides the tag: translate_from hr -> en");
		is_int(task_n_items(to), 10, "translate_to has 10 sentences");
		is_int(task_n_items(qa), 10, "short_qa has 10 questions");
	}
	/* every variant renders, and derived sr-Latn prompts hold no Cyrillic (lead bytes 0xD0-0xD3) */
	size_t n_rendered = 0, n_failed = 0, n_cyrillic_in_latin = 0;
	for (size_t k = 0; k < task_suite_n_tasks(s); k++) {
		const struct task_task *t = task_suite_task(s, k);
		for (size_t i = 0; i < task_n_items(t); i++)
			for (size_t l = 0; l < task_n_languages(t); l++) {
				if (!task_item_has(task_item_at(t, i), l))
					continue;
				struct task_prompt p;
				if (task_render(t, task_item_at(t, i), task_language(t, l), &p, &err)) {
					n_failed++;
					diag("%s", err.msg);
					continue;
				}
				n_rendered++;
				if (!strcmp(task_language(t, l), "sr-Latn"))
					for (const unsigned char *c = (const unsigned char *)p.context; *c; c++)
						n_cyrillic_in_latin += *c >= 0xD0 && *c <= 0xD3;
				task_prompt_release(&p);
			}
	}
	ok(n_rendered > 0 && n_failed == 0, "every variant of the demo suite renders");
	is_int(n_cyrillic_in_latin, 0, "derived sr-Latn prompts of the demo hold no Cyrillic");
	task_suite_free(s);
}

int main(void)
{
	test_bad_cases();
	test_file_errors();
	test_every_problem();
	test_problems_past_the_cap();
	test_good_mc();
	test_bom();
	test_good_types();
	test_gen_names();
	test_stop_per_language();
	test_templates_and_tags();
	test_verbatim_and_keep();
	test_demo_suite();
	return done_testing();
}
