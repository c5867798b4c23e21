/* task_import_okapi.c — `merilo import okapi-arc` / `okapi-mmlu`: Okapi's machine-translated
 * ARC-Challenge and MMLU, one JSONL file per language, paired by id. Every question's
 * context, choices and gold equal lm-eval-harness 0.4.13's own rendering of the test files
 * (ci/make-import-reference.py) in English byte for byte, and in Croatian and Serbian once
 * merilo's words for "Question:" / "Answer:" are put back into lm-eval's English; ARC's text
 * is cleaned as lm-eval's preprocess does. Bad rows are named by file:line. */
#include "tasks/task.h"
#include "tests/tap.h"
#include "tests/import_test.h"
#include "tests/lmeval_ref.h"

#include <jansson.h>

#define DATA "tests/data/import/okapi/"

/* s with its first `from` replaced by `to` where s starts with it (at_end: ends with it). */
static void swap_word(char *s, size_t size, const char *from, const char *to, bool at_end)
{
	const size_t n = strlen(s), fl = strlen(from), tl = strlen(to);
	if (n < fl || n - fl + tl >= size)
		return;
	if (at_end && !strcmp(s + n - fl, from)) {
		memcpy(s + n - fl, to, tl + 1);
	} else if (!at_end && !strncmp(s, from, fl)) {
		memmove(s + tl, s + fl, n - fl + 1);
		memcpy(s, to, tl);
	}
}

/* The questions of t in lang against lm-eval's reference, by id; question/answer are
 * merilo's words for lm-eval's "Question:" / "Answer:" (question NULL: MMLU asks none). */
static void check_okapi(const struct task_task *t, const char *lang, const char *question, const char *answer,
			const char *ref_file, size_t want)
{
	json_t *ref = load_lmeval_ref(ref_file), *reqs = json_object_get(ref, "requests");
	if (!ref)
		return;
	const int li = task_language_index(t, lang);
	size_t n = 0, same = 0;
	for (size_t i = 0; li >= 0 && i < task_n_items(t); i++) {
		const struct task_item *it = task_item_at(t, i);
		if (!task_item_has(it, (size_t)li))
			continue;
		n++;
		json_t *r = json_object_get(reqs, task_item_id(it));
		struct task_prompt p;
		struct mrl_err err = {0};
		if (!r || task_render(t, it, lang, &p, &err)) {
			diag("%s: %s", task_item_id(it), r ? err.msg : "not in lm-eval's reference");
			continue;
		}
		char ctx[1024];
		snprintf(ctx, sizeof ctx, "%s", p.context);
		if (question)
			swap_word(ctx, sizeof ctx, question, "Question:", false);
		swap_word(ctx, sizeof ctx, answer, "Answer:", true);
		json_t *c = json_object_get(r, "choices");
		bool choices = json_array_size(c) == p.n_choices;
		for (size_t k = 0; choices && k < p.n_choices; k++)
			choices = !strcmp(p.choices[k], json_string_value(json_array_get(c, k)));
		const char *want_ctx = json_string_value(json_object_get(r, "context"));
		if (!strcmp(ctx, want_ctx) && choices && p.gold == json_integer_value(json_object_get(r, "gold")) &&
		    !strcmp(p.target_delimiter, json_string_value(json_object_get(r, "target_delimiter"))))
			same++;
		else
			diag("%s: merilo '%s', lm-eval '%s'", task_item_id(it), ctx, want_ctx);
		task_prompt_release(&p);
	}
	char name[300];
	snprintf(name, sizeof name, "%s: %zu of %zu contexts, choices and golds are lm-eval's", lang, same, n);
	ok(n == want && same == n, name);
	json_decref(ref);
}

static struct task_suite *import(const char *format, const struct task_import_input *in, size_t n_in,
				 const char *title)
{
	const char *derive[] = { "sr-Latn" };
	struct task_import_opts opts = { .derive = derive, .n_derive = 1 };
	char *json = NULL;
	struct mrl_err err = {0};
	struct task_suite *s = NULL;
	int rc = task_import(format, in, n_in, &opts, &json, NULL, &err);
	if (!rc)
		rc = task_suite_parse("okapi", json, strlen(json), &s, NULL, &err);
	if (!ok(rc == 0, title))
		diag("%s", err.msg);
	free(json);
	return s;
}

static void test_arc(void)
{
	struct task_import_input in[] = { { "en", DATA "arc-en.jsonl" }, { "hr", DATA "arc-hr.jsonl" },
					  { "sr-Cyrl", DATA "arc-sr.jsonl" } };
	struct task_suite *s = import("okapi-arc", in, 3, "okapi-arc: English, Croatian and Serbian import, sr-Latn derived");
	const struct task_task *t = s ? task_suite_task(s, 0) : NULL;
	if (t) {
		is_str(task_id(t), "okapi_arc", "one task, okapi_arc");
		is_int(task_n_items(t), 3, "three questions, paired by id");
		is_str(task_item_id(task_item_at(t, 0)), "Mercury_7175875", "the item id is the question's");
		check_okapi(t, "en", "Question:", "Answer:", DATA "lmeval-arc-en.json", 3);
		check_okapi(t, "hr", "Pitanje:", "Odgovor:", DATA "lmeval-arc-hr.json", 3);
		check_okapi(t, "sr-Cyrl", "Питање:", "Одговор:", DATA "lmeval-arc-sr.json", 2);
		struct task_prompt p;
		struct mrl_err err = {0};
		if (ok(!task_render(t, task_item_at(t, 2), "sr-Latn", &p, &err), "the derived sr-Latn renders")) {
			is_str(p.context, "Pitanje: Kojim se alatom meri masa?\nOdgovor:", "sr-Latn derived from the Cyrillic file");
			is_str(p.choices[1], "Vaga", "its choices transliterated (they are text, not letters)");
			task_prompt_release(&p);
		}
	}
	task_suite_free(s);
}

static void test_mmlu(void)
{
	struct task_import_input in[] = { { "en", DATA "mmlu-en.jsonl" }, { "hr", DATA "mmlu-hr.jsonl" },
					  { "sr-Cyrl", DATA "mmlu-sr.jsonl" } };
	struct task_suite *s = import("okapi-mmlu", in, 3, "okapi-mmlu: English, Croatian and Serbian import");
	const struct task_task *t = s ? task_suite_task(s, 0) : NULL;
	if (t) {
		is_str(task_breakdown(t), "subject", "scores also by subject");
		is_str(task_item_field(task_item_at(t, 1), (size_t)task_language_index(t, "hr"), "subject"),
		       "high_school_geography", "the subject is the id's first part");
		check_okapi(t, "en", NULL, "Answer:", DATA "lmeval-mmlu-en.json", 3);
		check_okapi(t, "hr", NULL, "Odgovor:", DATA "lmeval-mmlu-hr.json", 3);
		check_okapi(t, "sr-Cyrl", NULL, "Одговор:", DATA "lmeval-mmlu-sr.json", 2);
	}
	task_suite_free(s);
}

/* A row of ARC: id ID, options OPTS (JSON members), answer A. */
#define ARC(ID, OPTS, A) "{\"id\":\"" ID "\",\"instruction\":\"Q?\"," OPTS ",\"answer\":\"" A "\"}\n"
#define FOUR "\"option_a\":\"1\",\"option_b\":\"2\",\"option_c\":\"3\",\"option_d\":\"4\""

static void check_error(const char *format, const char *title, const char *text_a, const char *text_b,
			const char *want)
{
	const char *a = write_file("a.jsonl", text_a), *b = text_b ? write_file("b.jsonl", text_b) : NULL;
	struct task_import_input in[] = { { "en", a }, { "hr", b } };
	check_refused(format, in, b ? 2 : 1, NULL, MRL_EINPUT, title, want);
}

static void test_bad(void)
{
	check_error("okapi-arc", "answers that disagree", ARC("x", FOUR, "A"), ARC("x", FOUR, "B"),
		    "b.jsonl:1: the right answer is B of 4, but ");
	check_error("okapi-arc", "an id twice", ARC("x", FOUR, "A") ARC("x", FOUR, "B"), NULL,
		    "a.jsonl:2: id \"x\" again (also on line 1)");
	check_error("okapi-arc", "an option after an empty one",
		    ARC("x", "\"option_a\":\"1\",\"option_b\":\"\",\"option_c\":\"3\"", "A"), NULL,
		    "a.jsonl:1: \"option_c\" follows an empty option");
	check_error("okapi-arc", "an answer beyond the options", ARC("x", "\"option_a\":\"1\",\"option_b\":\"2\"", "C"),
		    NULL, "a.jsonl:1: \"answer\" must be the letter of one of its 2 options");
	check_error("okapi-mmlu", "MMLU with three options", ARC("s/test/1", "\"option_a\":\"1\",\"option_b\":\"2\","
								      "\"option_c\":\"3\"", "A"),
		    NULL, "a.jsonl:1: 3 options; expected 4 (option_a-option_d)");
	check_error("okapi-arc", "no id", "{\"instruction\":\"Q?\"," FOUR ",\"answer\":\"A\"}\n", NULL,
		    "a.jsonl:1: \"id\" is missing");
	struct task_import_input de = { "de", write_file("de.jsonl", ARC("x", FOUR, "A")) };
	check_refused("okapi-arc", &de, 1, NULL, MRL_EUNSUPPORTED, "a language without merilo's wording",
		      "no Okapi ARC wording for language 'de'");
}

int main(void)
{
	import_begin("okapi");
	test_arc();
	test_mmlu();
	test_bad();
	return import_end();
}
