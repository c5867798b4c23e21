/* task_import_global_piqa.c — `merilo import global-piqa`: Global PIQA's parallel split,
 * a JSONL file per language -> one suite whose items are the questions by row position,
 * every language's prompt and solutions as lm-evaluation-harness's
 * global_piqa_parallel_cloze renders them (tests/data/import/global-piqa/lmeval-*.json,
 * by ci/make-import-reference.py), and the checks that two files are aligned. */
#include "tasks/task.h"
#include "tests/tap.h"
#include "tests/import_test.h"
#include "tests/lmeval_ref.h"

#define DATA "tests/data/import/global-piqa/"

static struct task_suite *import(const struct task_import_input *in, size_t n, const struct task_import_opts *opts,
				 size_t *n_trimmed)
{
	char *json = NULL;
	struct mrl_err err = { 0 };
	struct task_suite *s = NULL;
	if (task_import("global-piqa", in, n, opts, &json, n_trimmed, &err))
		diag("%s", err.msg);
	else if (task_suite_parse("gp", json, strlen(json), &s, NULL, &err))
		diag("%s", err.msg);
	free(json);
	return s;
}

static void test_files(void)
{
	struct task_import_input in[] = { { "en", DATA "eng_latn.jsonl" },
					  { "sr-Cyrl", DATA "srp_cyrl.jsonl" },
					  { "sr-Latn", DATA "srp_latn.jsonl" },
					  { "hr", DATA "hrv_latn.jsonl" } };
	struct task_import_report report = { 0 };
	struct task_import_opts opts = { .report = &report };
	mrl_buf_init(&report.warnings);
	struct task_suite *s = import(in, 4, &opts, NULL);
	const struct task_task *t = s ? task_suite_task(s, 0) : NULL;
	if (!ok(t != NULL, "four languages import and validate"))
		goto out;
	is_str(task_id(t), "global_piqa", "one task, global_piqa");
	is_int(task_n_items(t), 3, "three questions");
	is_str(task_item_id(task_item_at(t, 2)), "2", "a question's id is its row's position");
	ok(task_n_metrics(t) == 3 && !strcmp(task_metric(t, 2), "acc_bytes"), "acc, acc_norm and acc_bytes, as lm-eval");
	like(report.warnings.data, "hr lacks 1 (row 2)", "the question the Croatian file lacks is named");
	check_lmeval_lang(t, DATA "lmeval-eng_latn.json", 3, "en");
	check_lmeval_lang(t, DATA "lmeval-srp_cyrl.json", 3, "sr-Cyrl");
	check_lmeval_lang(t, DATA "lmeval-srp_latn.json", 3, "sr-Latn");
	check_lmeval_lang(t, DATA "lmeval-hrv_latn.json", 2, "hr");
	task_suite_free(s);
out:
	mrl_buf_release(&report.warnings);
}

/* Serbian Latin both ways: typed (srp_latn) and derived from the Cyrillic file; on these rows the
 * typed text is the transliteration, so the two render the same. */
static void test_derived(void)
{
	struct task_import_input typed[] = { { "sr-Cyrl", DATA "srp_cyrl.jsonl" }, { "sr-Latn", DATA "srp_latn.jsonl" } };
	struct task_import_input cyrl[] = { { "sr-Cyrl", DATA "srp_cyrl.jsonl" } };
	const char *derive[] = { "sr-Latn" };
	struct task_import_opts opts = { .derive = derive, .n_derive = 1 };
	struct task_suite *a = import(typed, 2, NULL, NULL), *b = import(cyrl, 1, &opts, NULL);
	const struct task_task *ta = a ? task_suite_task(a, 0) : NULL, *tb = b ? task_suite_task(b, 0) : NULL;
	if (ok(ta && tb, "typed and derived Latin import")) {
		size_t same = 0;
		for (size_t i = 0; i < 3; i++) {
			struct task_prompt p, q;
			struct mrl_err err = { 0 };
			if (task_render(ta, task_item_at(ta, i), "sr-Latn", &p, &err))
				continue;
			if (!task_render(tb, task_item_at(tb, i), "sr-Latn", &q, &err)) {
				bool eq = !strcmp(p.context, q.context) && p.n_choices == q.n_choices;
				for (size_t k = 0; eq && k < p.n_choices; k++)
					eq = !strcmp(p.choices[k], q.choices[k]);
				same += eq;
				task_prompt_release(&q);
			}
			task_prompt_release(&p);
		}
		is_int(same, 3, "the derived sr-Latn renders as the typed file on all three questions");
	}
	task_suite_free(a);
	task_suite_free(b);
}

#define ROW(prompt, label) "{\"prompt\":\"" prompt "\",\"solution0\":\"a\",\"solution1\":\"b\",\"label\":" #label "}\n"

static void test_bad(void)
{
	struct task_import_input two[] = { { "en", write_file("a.jsonl", ROW("Q1", 0) ROW("Q2", 1)) },
					   { "hr", write_file("b.jsonl", ROW("P1", 1) ROW("P2", 0)) } };
	check_refused("global-piqa", two, 2, NULL, MRL_EINPUT, "files in another order (the labels disagree)",
		      "b.jsonl:1: solution 1 of 2 is right, but");
	two[1].path = write_file("c.jsonl", "{\"prompt\":\"P1\",\"solution0\":\"a\",\"solution1\":\"b\",\"solution2\":\"c\","
					    "\"label\":0}\n" ROW("P2", 1));
	check_refused("global-piqa", two, 2, NULL, MRL_EINPUT, "another number of solutions",
		      "c.jsonl:1: solution 0 of 3 is right, but");
	struct task_import_input one = { "en", write_file("d.jsonl", "{\"solution0\":\"a\",\"solution1\":\"b\",\"label\":0}\n") };
	check_refused("global-piqa", &one, 1, NULL, MRL_EINPUT, "no prompt",
		      "d.jsonl:1: \"prompt\" is missing; expected the goal (a non-empty string)");
	one.path = write_file("e.jsonl", "{\"prompt\":\"Q\",\"solution0\":\"a\",\"label\":0}\n");
	check_refused("global-piqa", &one, 1, NULL, MRL_EINPUT, "one solution",
		      "e.jsonl:1: expected at least \"solution0\" and \"solution1\"");
	one.path = write_file("f.jsonl", ROW("Q", 2));
	check_refused("global-piqa", &one, 1, NULL, MRL_EINPUT, "a label past the solutions",
		      "f.jsonl:1: \"label\" must be the index of the right solution, 0 to 1");
	one.path = write_file("g.jsonl", "{\"prompt\":\"Q\",\"solution0\":\"a\",\"solution1\":7,\"label\":0}\n");
	check_refused("global-piqa", &one, 1, NULL, MRL_EINPUT, "a solution that is not text",
		      "g.jsonl:1: \"solution1\" is not a non-empty string");
	one = (struct task_import_input){ "sr-Cyrl", write_file("h.jsonl", ROW("Kako otvoriti teglu?", 0)) };
	check_refused("global-piqa", &one, 1, NULL, MRL_EINPUT, "Latin text tagged sr-Cyrl",
		      "h.jsonl: tagged sr-Cyrl, which is written in Cyrillic script");
	one = (struct task_import_input){ "en", write_file("i.jsonl", "{\"prompt\":\"Q \",\"solution0\":\" a\","
								 "\"solution1\":\"b\",\"label\":0}\n") };
	size_t n_trimmed = 0;
	struct task_suite *s = import(&one, 1, NULL, &n_trimmed);
	ok(s && n_trimmed == 2, "stray spaces are trimmed and counted");
	task_suite_free(s);
}

int main(void)
{
	import_begin("gpiqa");
	test_files();
	test_derived();
	test_bad();
	return import_end();
}
