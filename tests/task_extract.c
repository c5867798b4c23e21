/* task_extract.c — a generate task's "extract" (tasks/extract.c): the answer pulled out of
 * a longer response by a regular expression, as lm-evaluation-harness's regex filter
 * takes it (the chosen match's first capture group that matched something, or the
 * whole match; first or last match; trimmed), per language, and what validation
 * says of a bad one. */
#include "tasks/task.h"
#include "tests/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A suite of one generate task in sr-Latn, en and a derived sr-Cyrl, with extract (a JSON
 * object's text, or NULL for none). */
static struct task_suite *suite_with(const char *extract, struct task_diags *d)
{
	char buf[4096];
	snprintf(buf, sizeof buf,
		 "{\"format\":\"merilo-suite/1\",\"name\":\"x\",\"version\":\"1\",\"license\":\"x\",\"description\":\"\","
		 "\"source\":\"\",\"tasks\":[{\"id\":\"g\",\"type\":\"generate\",\"languages\":[\"sr-Latn\",\"sr-Cyrl\","
		 "\"en\"],\"derived\":{\"sr-Cyrl\":{\"from\":\"sr-Latn\",\"transform\":\"sr-Latn-to-Cyrl\",\"keep\":"
		 "[\"target\"]}},\"templates\":{\"sr-Latn\":{\"context\":\"Pitanje: {q}\\nOdgovor:\"},\"en\":{\"context\":"
		 "\"Q: {q}\\nA:\"}}%s%s,\"items\":[{\"id\":\"1\",\"sr-Latn\":{\"q\":\"Koliko?\",\"target\":\"B\"},"
		 "\"en\":{\"q\":\"How many?\",\"target\":\"B\"}}]}]}",
		 extract ? ",\"extract\":" : "", extract ? extract : "");
	struct task_suite *s = NULL;
	struct mrl_err err = { 0 };
	if (task_suite_parse("x.json", buf, strlen(buf), &s, d, &err) && !d)
		diag("%s", err.msg);
	return s;
}

/* The extract of text in lang, "(none)" where nothing matched; a static buffer. */
static const char *extract(const struct task_suite *s, const char *lang, const char *text)
{
	static char out[256];
	char *x = NULL;
	struct mrl_err err = { 0 };
	const char *limit = NULL;
	if (!s || task_gen_extract(task_suite_task(s, 0), lang, text, &x, &limit, &err))
		return "(error)";
	snprintf(out, sizeof out, "%s%s%s", x ? x : "(none)", limit ? " limit:" : "", limit ? limit : "");
	free(x);
	return out;
}

static void test_semantics(void)
{
	struct task_suite *s = suite_with("{\"regex\":\"Odgovor je \\\\(?([A-J])\\\\)?\"}", NULL);
	if (!ok(s != NULL, "a suite with one pattern for every language validates"))
		return;
	const struct task_task *t = task_suite_task(s, 0);
	is_str(task_gen_extract_regex(t, "en"), "Odgovor je \\(?([A-J])\\)?", "the pattern is every language's");
	is_str(extract(s, "sr-Latn", "Razmislimo korak po korak... Odgovor je (C)."), "C", "the group of the match");
	is_str(extract(s, "sr-Latn", "Odgovor je (A), ne, Odgovor je (B)"), "A", "the first match by default");
	is_str(extract(s, "sr-Latn", "Ne znam."), "(none)", "no match: no answer");
	is_str(extract(s, "sr-Latn", "Odgovor je \xff (B)"), "(none)", "text that is not UTF-8: no answer, no crash");
	task_suite_free(s);

	s = suite_with("{\"regex\":\"Odgovor je \\\\(?([A-J])\\\\)?\",\"match\":\"last\"}", NULL);
	is_str(extract(s, "sr-Latn", "Odgovor je (A), ne, Odgovor je (B)"), "B", "\"match\": \"last\" takes the last");
	ok(s && task_gen_extract_last(task_suite_task(s, 0)), "and says so");
	task_suite_free(s);

	/* Global PIQA's generation pattern: three alternatives, each with its own group, the last match */
	s = suite_with("{\"regex\":\"[Tt]he (?:[Bb]est [Aa]nswer|[Ff]inal [Aa]nswer|[Aa]nswer)[^A-D]*([A-D])|[Aa]nswer"
		       "\\\\s*:[^A-D]*([A-D])|\\\\\\\\boxed\\\\{([A-D])\\\\}\",\"match\":\"last\"}",
		       NULL);
	is_str(extract(s, "en", "The best answer is: C. Or rather \\boxed{D}"), "D",
	       "alternatives: the group that matched (the third), of the last match");
	is_str(extract(s, "en", "Answer: B"), "B", "the second alternative's group");
	task_suite_free(s);

	s = suite_with("{\"regex\":\"\\\\b[A-D]\\\\b\"}", NULL);
	is_str(extract(s, "en", "I pick  C  here"), "C", "no group: the whole match");
	task_suite_free(s);
	s = suite_with("{\"regex\":\"je:(\\\\s*)\"}", NULL);
	is_str(extract(s, "en", "Odgovor je:   "), "(none)", "a group that matched only spaces: no answer once trimmed");
	task_suite_free(s);
	s = suite_with("{\"regex\":\"(a+)+$\"}", NULL);
	char evil[4096];
	memset(evil, 'a', sizeof evil - 2);
	evil[sizeof evil - 2] = 'b';
	evil[sizeof evil - 1] = '\0';
	is_str(extract(s, "en", evil), "(none) limit:match", "a pattern that backtracks without end: no answer, not an "
							      "error, and PCRE2's match limit is named");
	task_suite_free(s);
	/* extract.c's own depth limit, 100,000 (libpcre2's default is 10,000,000): this match needs 200,000 */
	s = suite_with("{\"regex\":\"^(?:a|b)*c\"}", NULL);
	char *deep = malloc(200002);
	if (deep) {
		memset(deep, 'a', 200000);
		strcpy(deep + 200000, "c");
	}
	is_str(deep ? extract(s, "en", deep) : "", "(none) limit:depth",
	       "a match deeper than extract's depth limit: no answer, the depth limit named");
	is_str(extract(s, "en", "aabac"), "aabac", "the same pattern on a short response matches");
	free(deep);
	task_suite_free(s);
}

static void test_per_language(void)
{
	struct task_suite *s = suite_with("{\"regex\":{\"sr-Latn\":\"Odgovor je ([A-J])\",\"sr-Cyrl\":\"Одговор је "
					  "([A-J])\",\"en\":\"answer is ([A-J])\"}}",
					  NULL);
	if (!ok(s != NULL, "a pattern per language validates"))
		return;
	is_str(extract(s, "sr-Cyrl", "Мислим да је Одговор је B."), "B", "sr-Cyrl's own pattern (Cyrillic words)");
	is_str(extract(s, "en", "The answer is D"), "D", "en's");
	is_str(extract(s, "en", "Odgovor je D"), "(none)", "and not another language's");
	task_suite_free(s);
	s = suite_with("{\"regex\":{\"sr-Latn\":\"Odgovor je ([A-J])\",\"en\":\"answer is ([A-J])\"}}", NULL);
	is_str(s ? task_gen_extract_regex(task_suite_task(s, 0), "sr-Cyrl") : "", "Odgovor je ([A-J])",
	       "a derived language without its own takes its source's, as it is (not transliterated)");
	task_suite_free(s);
	s = suite_with(NULL, NULL);
	ok(s && !task_gen_extract_regex(task_suite_task(s, 0), "en"), "no extract: no pattern");
	is_str(extract(s, "en", "anything"), "(none)", "and no extracted answer");
	task_suite_free(s);
}

/* extract is refused with a problem holding want. */
static void check_problem(const char *x, const char *want, const char *title)
{
	struct task_diags d;
	task_diags_init(&d);
	struct task_suite *s = suite_with(x, &d);
	char line[512] = "";
	for (size_t i = 0; i < d.n; i++) {
		task_diag_format(&d, i, line, sizeof line);
		if (strstr(line, want))
			break;
	}
	ok(!s && strstr(line, want), title);
	if (!strstr(line, want))
		diag("wanted '%s', last problem '%s'", want, line);
	task_suite_free(s);
	task_diags_release(&d);
}

static void test_problems(void)
{
	check_problem("{\"regex\":\"Odgovor je ([A-J]\"}", "/tasks/0/extract/regex: not a regular expression: missing closing "
		      "parenthesis (at offset 17)", "a bad pattern: its message and offset");
	check_problem("{\"regex\":\"x\",\"match\":\"middle\"}", "/tasks/0/extract/match: expected \"first\" or \"last\", "
		      "got \"middle\"", "a match other than first or last");
	check_problem("{\"match\":\"last\"}", "/tasks/0/extract/regex: expected a pattern, or an object of a pattern per "
		      "language, got nothing", "no regex");
	check_problem("{\"regex\":{\"sr-Latn\":\"x\",\"hr\":\"y\"}}", "/tasks/0/extract/regex/hr: \"hr\" is not a language "
		      "of the task", "a pattern for another language");
	check_problem("{\"regex\":{\"sr-Latn\":\"x\"}}", "/tasks/0/extract/regex: no pattern for \"en\"",
		      "a language without a pattern");
	check_problem("\"x\"", "/tasks/0/extract: expected {\"regex\": PATTERN", "extract that is not an object");
	check_problem("{\"regex\":\"x\",\"group\":1}", "/tasks/0/extract/group: unknown key 'group' in \"extract\"",
		      "an unknown key");
}

int main(void)
{
	test_semantics();
	test_per_language();
	test_problems();
	return done_testing();
}
