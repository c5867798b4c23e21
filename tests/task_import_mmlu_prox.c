/* task_import_mmlu_prox.c — `merilo import mmlu-prox`: MMLU-ProX's per-language JSONL ->
 * one generate suite. Questions pair by question_id; the prompt (the category's
 * description, the question, the options present, the opening of the answer), the
 * 2-shot chain-of-thought prompts from the validation pool, the target letter, the
 * extract regex, the stop strings and the token limit are lm-eval-harness 0.4.13's own
 * in English and Serbian (ci/make-import-reference.py, from the test files); bad rows are
 * named by file:line. */
#include "tasks/plan.h"
#include "tasks/task.h"
#include "tests/tap.h"
#include "tests/import_test.h"
#include "tests/lmeval_ref.h"

#include <jansson.h>

#define DATA "tests/data/import/mmlu-prox/"

/* A row: question_id ID, four options, answer A, category C. */
#define ROW(ID, A, C)                                                                                               \
	"{\"question_id\":" ID ",\"question\":\"Q?\",\"option_0\":\"1\",\"option_1\":\"2\",\"option_2\":\"3\","   \
	"\"option_3\":\"4\",\"option_4\":null,\"answer\":\"" A "\",\"category\":\"" C "\",\"cot_content\":\"\"}\n"

static struct task_suite *import(const struct task_import_input *in, size_t n_in, const struct task_import_opts *o,
				 const char *title)
{
	char *json = NULL;
	struct mrl_err err = {0};
	struct task_suite *s = NULL;
	int rc = task_import("mmlu-prox", in, n_in, o, &json, NULL, &err);
	if (!rc)
		rc = task_suite_parse("prox", json, strlen(json), &s, NULL, &err);
	if (!ok(rc == 0, title))
		diag("%s", err.msg);
	free(json);
	return s;
}

/* Every prompt of lang against lm-eval's reference (k-shot), byte for byte; the
 * targets, regex, stop strings and token limit too. */
static void check_prox(const struct task_task *t, const char *lang, const char *ref_file, int k, size_t want)
{
	json_t *ref = load_lmeval_ref(ref_file), *prompts = json_object_get(ref, "prompts");
	char name[300];
	if (!ref)
		return;
	size_t same = 0, n = 0;
	struct mrl_err err = {0};
	for (size_t i = 0; i < task_n_items(t); i++) {
		json_t *want_p = json_object_get(prompts, task_item_id(task_item_at(t, i)));
		if (!want_p || !task_item_has(task_item_at(t, i), (size_t)task_language_index(t, lang)))
			continue;
		n++;
		struct task_gen_plan p;
		struct task_plan_opts po = { .fewshot_k = k };
		if (task_gen_plan(t, i, lang, &po, &p, &err)) {
			diag("%s", err.msg);
			continue;
		}
		const char *wc = json_string_value(json_object_get(want_p, "context"));
		if (!strcmp(p.prompt, wc) && !strcmp(p.refs[0], json_string_value(json_object_get(want_p, "target"))))
			same++;
		else
			diag("%s: merilo '%s', lm-eval '%s'", task_item_id(task_item_at(t, i)), p.prompt, wc);
		task_gen_plan_release(&p);
	}
	snprintf(name, sizeof name, "%s %d-shot: %zu of %zu prompts and targets are lm-eval's, byte for byte", lang, k,
		 same, n);
	ok(n == want && same == n, name);
	snprintf(name, sizeof name, "%s: lm-eval's regex", lang);
	is_str(task_gen_extract_regex(t, lang), json_string_value(json_object_get(ref, "regex")), name);
	size_t same_stop = 0;
	json_t *u;
	size_t j;
	json_array_foreach(json_object_get(ref, "until"), j, u)
		same_stop += task_gen_until(t, lang, j) && !strcmp(task_gen_until(t, lang, j), json_string_value(u));
	snprintf(name, sizeof name, "%s: lm-eval's stop strings, in its order", lang);
	ok(same_stop == json_array_size(json_object_get(ref, "until")) && task_gen_n_until(t, lang) == same_stop, name);
	snprintf(name, sizeof name, "%s: its token limit", lang);
	is_int(task_gen_max_tokens(t), json_integer_value(json_object_get(ref, "max_gen_toks")), name);
	json_decref(ref);
}

static void test_files(void)
{
	struct task_import_input in[] = { { "en", DATA "en-test.jsonl" }, { "sr-Latn", DATA "sr-test.jsonl" } };
	struct task_import_report rep = {0};
	mrl_buf_init(&rep.warnings);
	struct task_import_opts opts = { .report = &rep };
	struct task_suite *s = import(in, 2, &opts, "the test files import");
	const struct task_task *t = s ? task_suite_task(s, 0) : NULL;
	if (t) {
		is_str(task_id(t), "mmlu_prox", "one task, mmlu_prox");
		is_str(task_breakdown(t), "category", "scores are also broken down by category");
		is_int(task_n_items(t), 4, "four questions");
		is_str(task_item_id(task_item_at(t, 3)), "test/73", "ids from question_id, in its order");
		check_prox(t, "en", DATA "lmeval-en-0shot.json", 0, 4);
		check_prox(t, "sr-Latn", DATA "lmeval-sr-0shot.json", 0, 3);
		struct mrl_err err = {0};
		char *a = NULL;
		ok(!task_gen_extract(t, "sr-Latn", "... pa je Odgovor je (C). Ili Odgovor je (D).", &a, NULL, &err) && a &&
			   !strcmp(a, "C"),
		   "the first \"Odgovor je (X)\" is the answer, as lm-eval's take_first");
		free(a);
	}
	like(rep.warnings.data, "sr-Latn lacks 1 (question_id 73)", "the unpaired question is named");
	task_suite_free(s);
	mrl_buf_release(&rep.warnings);

	/* zero-shot derives Cyrillic: the letters, the switch and the targets stay */
	const char *derive[] = { "sr-Cyrl" };
	opts = (struct task_import_opts){ .derive = derive, .n_derive = 1 };
	s = import(in, 2, &opts, "with --derive sr-Cyrl");
	t = s ? task_suite_task(s, 0) : NULL;
	struct task_gen_plan p;
	struct task_plan_opts po = { .fewshot_k = 0 };
	struct mrl_err err = {0};
	if (ok(t && !task_gen_plan(t, 1, "sr-Cyrl", &po, &p, &err), "the derived sr-Cyrl plans")) {
		is_str(p.prompt, "Ево питања са вишеструким избором о рачунарство (са одговором). Молимо вас да размислите "
				 "корак по корак и завршите свој одговор са \"Одговор је (X)\", где је X слово тачне опције.\n"
				 "Питање:\nКоја структура података даје редослед „први унутра, први напоље”?\nОпције:\nA. "
				 "Стек\nB. Ред\nC. Бинарни хип\nD. Хеш табела\nОдговор: Размислимо корак по корак.",
		       "sr-Cyrl: description and prompt transliterated, the option letters Latin");
		is_str(p.refs[0], "B", "its target the Latin letter");
		ok(task_gen_n_until(t, "sr-Cyrl") == 4 && !strcmp(task_gen_until(t, "sr-Cyrl", 2), "Питање:"),
		   "it stops at its next \"Питање:\"");
		is_str(task_gen_extract_regex(t, "sr-Cyrl"), "Одговор је \\(?([ABCDEFGHIJ])\\)?",
		       "its answer is pulled out of the Cyrillic words its prompt asks for");
		char *a = NULL;
		ok(!task_gen_extract(t, "sr-Cyrl", "Дакле, Одговор је (B).", &a, NULL, &err) && a && !strcmp(a, "B"),
		   "a Cyrillic answer's letter");
		free(a);
		task_gen_plan_release(&p);
	} else if (t) {
		diag("%s", err.msg);
	}
	task_suite_free(s);
}

/* The validation split as the pool: lm-eval's 5-shot chain of thought, the first
 * examples of the item's category (here 2-shot: the files have 2-3 a category). */
static void test_pool(void)
{
	struct task_import_input in[] = { { "en", DATA "en-test.jsonl" }, { "sr-Latn", DATA "sr-test.jsonl" } },
				 pool[] = { { "en", DATA "en-validation.jsonl" }, { "sr-Latn", DATA "sr-validation.jsonl" } };
	struct task_import_opts opts = { .pool = pool, .n_pool = 2 };
	struct task_suite *s = import(in, 2, &opts, "the test files import with the validation files as the pool");
	const struct task_task *t = s ? task_suite_task(s, 0) : NULL;
	if (t) {
		is_int(task_n_pool(t), 5, "five validation questions in the pool");
		is_str(task_item_id(task_pool_at(t, 4)), "validation/4", "pool ids from question_id");
		struct task_fewshot f;
		task_fewshot(t, &f);
		ok(f.has && f.k == 5 && !strcmp(f.source, "pool") && f.match && !strcmp(f.match, "category") && f.first,
		   "few-shot: 5 from the pool, of the item's category, the first in order");
		check_prox(t, "en", DATA "lmeval-en-2shot.json", 2, 4);
		check_prox(t, "sr-Latn", DATA "lmeval-sr-2shot.json", 2, 3);
	}
	task_suite_free(s);
	const char *derive[] = { "sr-Cyrl" };
	opts.derive = derive, opts.n_derive = 1;
	check_refused("mmlu-prox", in, 2, &opts, MRL_EINPUT, "--derive with --pool",
		      "the worked answers name options by letter");
}

/* A Cyrillic file under sr-Cyrl: the words in Cyrillic, a worked answer opening with a Cyrillic
 * or a Latin "A:", and --derive sr-Latn asking in Latin words. */
static void test_cyrillic(void)
{
#define CYR_ROW(ID, COT) "{\"question_id\":" ID ",\"question\":\"Шта је ДНК?\",\"option_0\":\"Протеин\"," \
	"\"option_1\":\"Нуклеинска киселина\",\"answer\":\"B\",\"category\":\"biology\",\"cot_content\":\"" COT "\"}\n"
	const char *t = write_file("cyr-test.jsonl", CYR_ROW("70", "")),
		   *v = write_file("cyr-val.jsonl", CYR_ROW("0", "А: Размислимо корак по корак. ДНК је киселина. Одговор је (B).")
						    CYR_ROW("1", "A: Размислимо корак по корак. Опет. Одговор је (B).")
						    CYR_ROW("2", "А: Размислимо корак по корак. Три. Одговор је (B).")
						    CYR_ROW("3", "А: Размислимо корак по корак. Четири. Одговор је (B).")
						    CYR_ROW("4", "А: Размислимо корак по корак. Пет. Одговор је (B)."));
	struct task_import_input in = { "sr-Cyrl", t }, pool = { "sr-Cyrl", v };
	struct task_import_opts opts = { .pool = &pool, .n_pool = 1 };
	struct task_suite *s = import(&in, 1, &opts, "a Cyrillic file with its pool imports under sr-Cyrl");
	const struct task_task *tk = s ? task_suite_task(s, 0) : NULL;
	struct task_gen_plan p;
	struct task_plan_opts po = { .fewshot_k = 2 };
	struct mrl_err err = {0};
	if (ok(tk && !task_gen_plan(tk, 0, "sr-Cyrl", &po, &p, &err), "the Cyrillic item plans 2-shot")) {
		is_str(p.prompt,
		       "Ево питања са вишеструким избором о биологија (са одговором). Молимо вас да размислите корак по корак "
		       "и завршите свој одговор са \"Одговор је (X)\", где је X слово тачне опције.\n"
		       "Питање:\nШта је ДНК?\nОпције:\nA. Протеин\nB. Нуклеинска киселина\nОдговор: Размислимо корак по "
		       "корак. ДНК је киселина. Одговор је (B).\n\n"
		       "Питање:\nШта је ДНК?\nОпције:\nA. Протеин\nB. Нуклеинска киселина\nОдговор: Размислимо корак по "
		       "корак. Опет. Одговор је (B).\n\n"
		       "Питање:\nШта је ДНК?\nОпције:\nA. Протеин\nB. Нуклеинска киселина\nОдговор: Размислимо корак по "
		       "корак.",
		       "2-shot in Cyrillic words; worked answers opening with a Cyrillic and a Latin \"A:\" alike");
		task_gen_plan_release(&p);
	}
	is_str(tk ? task_gen_extract_regex(tk, "sr-Cyrl") : NULL, "Одговор је \\(?([ABCDEFGHIJ])\\)?",
	       "the answer pulled out of Cyrillic words");
	task_suite_free(s);
	const char *derive[] = { "sr-Latn" };
	opts = (struct task_import_opts){ .derive = derive, .n_derive = 1 };
	s = import(&in, 1, &opts, "--derive sr-Latn from the Cyrillic file");
	tk = s ? task_suite_task(s, 0) : NULL;
	ok(tk && !strcmp(task_gen_extract_regex(tk, "sr-Latn"), "Odgovor je \\(?([ABCDEFGHIJ])\\)?") &&
		   !strcmp(task_gen_until(tk, "sr-Latn", 2), "Pitanje:"),
	   "the derived sr-Latn answers and stops in Latin words");
	task_suite_free(s);
#undef CYR_ROW
}

static void check_error(const char *title, const char *text_a, const char *text_b, const char *want)
{
	const char *a = write_file("a.jsonl", text_a), *b = text_b ? write_file("b.jsonl", text_b) : NULL;
	struct task_import_input in[] = { { "en", a }, { "sr-Latn", b } };
	check_refused("mmlu-prox", in, b ? 2 : 1, NULL, MRL_EINPUT, title, want);
}

static void test_bad(void)
{
	check_error("answers that disagree", ROW("1", "A", "law"), ROW("1", "B", "law"),
		    "b.jsonl:1: the right answer is B, but ");
	check_error("categories that disagree", ROW("1", "A", "law"), ROW("1", "A", "math"),
		    "b.jsonl:1: question 1 is in another category than at ");
	check_error("a question_id twice", ROW("1", "A", "law") ROW("1", "B", "law"), NULL,
		    "a.jsonl:2: duplicate question_id 1 (also on line 1)");
	check_error("an answer whose option is null", ROW("1", "E", "law"), NULL,
		    "a.jsonl:1: \"answer\" must be the letter (A-J) of one of its 4 options");
	check_error("an unknown category", ROW("1", "A", "astrology"), NULL,
		    "a.jsonl:1: \"category\" \"astrology\" is not one of MMLU-Pro's 14");
	check_error("no question_id", "{\"question\":\"Q\"}\n", NULL, "a.jsonl:1: \"question_id\" is missing");
	check_error("an answer_index that disagrees",
		    "{\"question_id\":1,\"question\":\"Q\",\"option_0\":\"1\",\"option_1\":\"2\",\"answer\":\"A\","
		    "\"answer_index\":1,\"category\":\"law\"}\n",
		    NULL, "a.jsonl:1: \"answer_index\" does not match the answer A");
	/* a pool example whose worked answer does not open as lm-eval's prompt expects */
	const char *a = write_file("t.jsonl", ROW("1", "A", "law")), *v = write_file("v.jsonl", ROW("2", "A", "law"));
	struct task_import_input in = { "en", a }, pool = { "en", v };
	struct task_import_opts opts = { .pool = &pool, .n_pool = 1 };
	check_refused("mmlu-prox", &in, 1, &opts, MRL_EINPUT, "a pool row without its worked answer",
		      "v.jsonl:1: \"cot_content\" does not open with \"A: Let's think step by step. \" and an answer");
	in.lang = "hr";
	check_refused("mmlu-prox", &in, 1, NULL, MRL_EUNSUPPORTED, "a language without lm-eval's wording",
		      "no MMLU-ProX wording for language 'hr' (known: en, sr-Latn, sr-Cyrl)");
}

int main(void)
{
	import_begin("prox");
	test_files();
	test_pool();
	test_cyrillic();
	test_bad();
	return import_end();
}
