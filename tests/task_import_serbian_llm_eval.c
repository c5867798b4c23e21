/* task_import_serbian_llm_eval.c — `merilo import serbian-llm-eval`: the Serbian LLM
 * eval's JSONL files (a folder, or one file) -> one suite with a task per file name,
 * each prompt as the lm-evaluation-harness fork that scores the dataset writes it
 * (gordicaleksa/serbian-llm-eval, lm_eval/tasks/, language "Serbian"), and
 * --derive sr-Cyrl. The data in tests/data/import/serbian-llm-eval/ is written for
 * this test in the dataset's row format. */
#include "tasks/task.h"
#include "tests/tap.h"
#include "tests/import_test.h"

#include <jansson.h>
#include <sys/stat.h>

#define DATA "tests/data/import/serbian-llm-eval"

/* The suite imported from in (sr-Cyrl derived), or NULL; warnings into *warnings (malloc'd, may be NULL). */
static struct task_suite *import(const struct task_import_input *in, char **source, char **warnings)
{
	const char *derive[] = { "sr-Cyrl" };
	struct task_import_report report = { 0 };
	struct task_import_opts opts = { .derive = derive, .n_derive = 1, .report = &report };
	char *json = NULL;
	size_t n_trimmed = 0;
	struct mrl_err err = { 0 };
	struct task_suite *s = NULL;
	mrl_buf_init(&report.warnings);
	if (task_import("serbian-llm-eval", in, 1, &opts, &json, &n_trimmed, &err))
		diag("%s", err.msg);
	else if (task_suite_parse("sle", json, strlen(json), &s, NULL, &err))
		diag("%s", err.msg);
	if (source) {
		json_t *root = json ? json_loads(json, 0, NULL) : NULL;
		const char *src = json_string_value(json_object_get(root, "source"));
		*source = src ? strdup(src) : NULL;
		json_decref(root);
	}
	*warnings = report.warnings.data ? strdup(report.warnings.data) : NULL;
	mrl_buf_release(&report.warnings);
	free(json);
	return s;
}

static const struct task_task *find_task(const struct task_suite *s, const char *id)
{
	for (size_t k = 0; s && k < task_suite_n_tasks(s); k++)
		if (!strcmp(task_id(task_suite_task(s, k)), id))
			return task_suite_task(s, k);
	return NULL;
}

/* Render item i of task id in lang and check its context; returns the prompt for more checks
 * (release it), or a zeroed one. */
static struct task_prompt render(const struct task_suite *s, const char *id, size_t i, const char *lang,
				 const char *want, const char *title)
{
	struct task_prompt p = { 0 };
	struct mrl_err err = { 0 };
	const struct task_task *t = find_task(s, id);
	if (!t || i >= task_n_items(t) || task_render(t, task_item_at(t, i), lang, &p, &err)) {
		ok(0, title);
		diag("not rendered: %s", err.msg);
		return (struct task_prompt){ 0 };
	}
	is_str(p.context, want, title);
	return p;
}

static void test_multiple_choice(const struct task_suite *s)
{
	struct task_prompt p = render(s, "arc_easy", 1, "sr-Latn",
				      "Pitanje: Šta biljke upijaju iz vazduha da bi pravile hranu?\nOdgovor:",
				      "ARC: the query as it is (it holds Pitanje/Odgovor itself)");
	ok(p.n_choices == 3 && p.gold == 1 && !strcmp(p.choices[1], "ugljen-dioksid"),
	   "ARC: its three choices, gold 1 (an item may have fewer than four)");
	task_prompt_release(&p);
	const struct task_task *arc = find_task(s, "arc_easy");
	is_str(arc ? task_target_delimiter(arc) : "", " ", "a choice is scored after a space (MultipleChoiceTask)");
	is_str(arc ? task_item_id(task_item_at(arc, 1)) : "", "1", "the id is the row's position");
	ok(arc && task_n_metrics(arc) == 2 && !strcmp(task_metric(arc, 1), "acc_norm"), "ARC reports acc and acc_norm");

	p = render(s, "hellaswag", 0, "sr-Latn", "Pravljenje kafe: Žena sipa vodu u džezvu. Ona",
		   "HellaSwag: partial 9 comes before partial 10 (by number, not by name)");
	task_prompt_release(&p);
	p = render(s, "hellaswag", 1, "sr-Latn", "Vožnja bicikla: Dečak seda na bicikl. On",
		   "HellaSwag: the second file's row is item 1");
	ok(p.gold == 1 && p.n_choices == 4, "its gold and four endings");
	task_prompt_release(&p);

	p = render(s, "piqa", 0, "sr-Latn", "Pitanje: Kako otvoriti teglu sa zaglavljenim poklopcem?\nOdgovor:",
		   "PIQA: \"Pitanje: {goal}\\nOdgovor:\"");
	ok(p.n_choices == 2 && !strcmp(p.choices[1], "Stavite teglu u zamrzivač na sat vremena, pa je protresite."),
	   "PIQA: a choice's trailing space is trimmed");
	task_prompt_release(&p);

	p = render(s, "boolq", 0, "sr-Latn",
		   "Dunav je druga najduža reka u Evropi. Teče kroz deset zemalja, među kojima je i Srbija.\n"
		   "Pitanje: da li Dunav teče kroz Srbiju?\nOdgovor:",
		   "BoolQ: \"{passage}\\nPitanje: {question}?\\nOdgovor:\"");
	ok(p.n_choices == 2 && !strcmp(p.choices[0], "da") && !strcmp(p.choices[1], "ne") && p.gold == 0,
	   "BoolQ: choices da/ne, label true -> da");
	task_prompt_release(&p);
	p = render(s, "boolq", 1, "sr-Latn",
		   "Kopaonik je najveća planina u Srbiji. Njegov najviši vrh je Pančićev vrh, visok 2017 metara.\n"
		   "Pitanje: da li je Pančićev vrh viši od tri hiljade metara?\nOdgovor:",
		   "BoolQ: the second passage");
	is_int(p.gold, 1, "BoolQ: label 0 -> ne");
	task_prompt_release(&p);
	const struct task_task *boolq = find_task(s, "boolq");
	ok(boolq && task_n_metrics(boolq) == 1 && !strcmp(task_metric(boolq, 0), "acc"), "BoolQ reports acc, as the fork");
}

static void test_generate(const struct task_suite *s)
{
	const struct task_task *nq = find_task(s, "nq_open"), *tqa = find_task(s, "triviaqa");
	if (!ok(nq && tqa, "the open-question tasks are there"))
		return;
	ok(task_type(nq) == TASK_GENERATE && task_type(tqa) == TASK_GENERATE, "both are generate tasks");
	ok(task_gen_n_until(nq, "sr-Latn") == 3 && !strcmp(task_gen_until(nq, "sr-Latn", 0), "\n") &&
		   !strcmp(task_gen_until(nq, "sr-Latn", 1), ".") && !strcmp(task_gen_until(nq, "sr-Latn", 2), ","),
	   "they stop at \\n . , (the fork's until)");
	is_int(task_gen_max_tokens(nq), 256, "within 256 new tokens (its max_gen_toks)");
	is_str(task_gen_chat_template(nq), "none", "the plain prompt, no chat template");
	ok(task_n_metrics(nq) == 1 && !strcmp(task_metric(nq, 0), "exact_match"), "scored by exact match");
	struct task_prompt p = render(s, "nq_open", 1, "sr-Latn", "Pitanje: ko je napisao roman Na Drini ćuprija\nOdgovor:",
				      "NQ: \"Pitanje: {question}\\nOdgovor:\"");
	task_prompt_release(&p);
	const struct task_item *it = task_item_at(nq, 1);
	ok(task_item_n_targets(it, 0) == 2 && !strcmp(task_item_target(it, 0, 1), "Andrić"), "NQ: every answer a reference");
	it = task_item_at(tqa, 0);
	ok(task_item_n_targets(it, 0) == 3 && !strcmp(task_item_target(it, 0, 0), "Nikola Tesla") &&
		   !strcmp(task_item_target(it, 0, 1), "Tesla") && !strcmp(task_item_target(it, 0, 2), "N. Tesla"),
	   "TriviaQA: the value first, then the aliases without it");
}

/* Winogrande: the fork's partial evaluation, the sentence up to the blank with each option as
 * that option's context, the rest after a space as the continuation. */
static void test_winogrande(const struct task_suite *s)
{
	const struct task_task *t = find_task(s, "winogrande");
	if (!ok(t && task_mc_choice_in_context(t), "Winogrande: a task whose choices are written into the context"))
		return;
	struct task_prompt p;
	struct mrl_err err = { 0 };
	if (task_render(t, task_item_at(t, 0), "sr-Latn", &p, &err)) {
		ok(0, "Winogrande renders");
		return;
	}
	ok(p.n_choices == 2 && !strcmp(p.contexts[0], "Marko je pozajmio knjigu od Jovana jer Marko") &&
		   !strcmp(p.contexts[1], "Marko je pozajmio knjigu od Jovana jer Jovan"),
	   "each option's context: the sentence to its blank, the option (partial_context)");
	ok(!strcmp(p.choices[0], "nije imao svoju.") && !strcmp(p.target_delimiter, " "),
	   "the continuation: the rest, stripped, after a space (partial_target)");
	is_int(p.gold, 0, "answer \"1\": the first option");
	ok(task_n_metrics(t) == 1 && !strcmp(task_metric(t, 0), "acc"), "Winogrande reports acc, as the fork");
	task_prompt_release(&p);
}

static void test_derived(const struct task_suite *s)
{
	struct task_prompt p = render(s, "boolq", 0, "sr-Cyrl",
				      "Дунав је друга најдужа река у Европи. Тече кроз десет земаља, међу којима је и Србија.\n"
				      "Питање: да ли Дунав тече кроз Србију?\nОдговор:",
				      "sr-Cyrl derived: BoolQ's prompt in Cyrillic");
	ok(p.n_choices == 2 && !strcmp(p.choices[0], "да") && !strcmp(p.choices[1], "не"), "and its choices да/не");
	task_prompt_release(&p);
	const struct task_task *tqa = find_task(s, "triviaqa");
	const struct task_item *it = tqa ? task_item_at(tqa, 0) : NULL;
	is_str(it ? task_item_target(it, 1, 0) : "", "Никола Тесла", "and a TriviaQA reference");
}

static void test_folder(void)
{
	struct task_import_input in = { "sr-Latn", DATA };
	char *source = NULL, *warnings = NULL;
	struct task_suite *s = import(&in, &source, &warnings);
	if (!ok(s != NULL, "the folder imports, with sr-Cyrl derived, and validates"))
		goto out;
	static const char *const ids[] = { "arc_easy", "arc_challenge", "hellaswag", "openbookqa", "piqa",
					   "boolq",    "nq_open",       "triviaqa",  "winogrande" };
	bool order = task_suite_n_tasks(s) == 9;
	for (size_t k = 0; order && k < 9; k++)
		order = !strcmp(task_id(task_suite_task(s, k)), ids[k]);
	ok(order, "nine tasks, in the dataset's order, one per task name");
	like(warnings, "2 files not imported (another split, or no task's name): arc_easy_train.jsonl, notes.jsonl",
	     "the train split and a file of no task are named, not imported");
	like(source, "sr-Latn=hellaswag_test_partial_9_9.jsonl (sha256 ", "the source names each file with its sha256");
	ok(source && !strstr(source, DATA), "and not the folder it was in");
	test_multiple_choice(s);
	test_generate(s);
	test_winogrande(s);
	test_derived(s);
	task_suite_free(s);
out:
	free(source);
	free(warnings);
}

static void test_one_file(void)
{
	struct task_import_input in = { "sr-Latn", DATA "/piqa_test_partial_0_1_end.jsonl" };
	char *warnings = NULL;
	struct task_suite *s = import(&in, NULL, &warnings);
	ok(s && task_suite_n_tasks(s) == 1 && !strcmp(task_id(task_suite_task(s, 0)), "piqa") &&
		   task_n_items(task_suite_task(s, 0)) == 2,
	   "one file: the task its name begins with");
	task_suite_free(s);
	free(warnings);
}

static void check_error(const char *title, const char *lang, const char *name, const char *text, int want_rc,
			const char *want)
{
	struct task_import_input in = { lang, write_file(name, text) };
	check_refused("serbian-llm-eval", &in, 1, NULL, want_rc, title, want);
}

static void test_bad(void)
{
	static const char row[] = "{\"query\":\"Pitanje: Koliko je dva i dva?\\nOdgovor:\",\"choices\":[\"tri\","
				  "\"četiri\"],\"gold\":1}\n";
	check_error("another language than Serbian", "hr", "piqa.jsonl", row, MRL_EUNSUPPORTED,
		    "serbian-llm-eval is Serbian: give one file or folder as sr-Latn");
	check_error("a file named for no task", "sr-Latn", "questions.jsonl", row, MRL_EINPUT,
		    "questions.jsonl: the task is read from the file name, which must begin with one of arc_easy, ");
	check_error("a Winogrande sentence without its blank", "sr-Latn", "winogrande_test.jsonl",
		    "{\"sentence\":\"Ana voli.\",\"option1\":\"a\",\"option2\":\"b\",\"answer\":\"1\"}\n", MRL_EINPUT,
		    "winogrande_test.jsonl:1: \"sentence\" has no blank '_' for the option");
	check_error("a Winogrande answer that is not 1 or 2", "sr-Latn", "winogrande_x.jsonl",
		    "{\"sentence\":\"Ana _ voli.\",\"option1\":\"a\",\"option2\":\"b\",\"answer\":\"3\"}\n", MRL_EINPUT,
		    "winogrande_x.jsonl:1: \"answer\" must be \"1\" or \"2\"");
	check_error("gold past the choices", "sr-Latn", "arc_easy.jsonl",
		    "{\"query\":\"Pitanje: Koliko?\\nOdgovor:\",\"choices\":[\"tri\",\"četiri\"],\"gold\":2}\n", MRL_EINPUT,
		    "arc_easy.jsonl:1: \"gold\" must be the index of the right choice, 0 to 1");
	check_error("no query", "sr-Latn", "hellaswag.jsonl", "{\"choices\":[\"a\",\"b\"],\"gold\":0}\n", MRL_EINPUT,
		    "hellaswag.jsonl:1: \"query\" is missing; expected the prompt (a non-empty string)");
	check_error("an empty choice", "sr-Latn", "openbookqa.jsonl",
		    "{\"query\":\"Voda\",\"choices\":[\"ključa\",\" \"],\"gold\":0}\n", MRL_EINPUT,
		    "openbookqa.jsonl:1: \"choices\"[1] is not a non-empty string");
	check_error("a BoolQ label that is a word", "sr-Latn", "boolq.jsonl",
		    "{\"passage\":\"Sava teče kroz Beograd.\",\"question\":\"da li Sava teče kroz Beograd\",\"label\":\"da\"}\n",
		    MRL_EINPUT, "boolq.jsonl:1: \"label\" must be true or false (or 1 or 0)");
	check_error("TriviaQA without the answer's value", "sr-Latn", "triviaqa.jsonl",
		    "{\"question\":\"Ko?\",\"answer\":{\"aliases\":[\"Tesla\"]}}\n", MRL_EINPUT,
		    "triviaqa.jsonl:1: \"answer\" must be an object with \"value\"");
	check_error("NQ without answers", "sr-Latn", "nq_open.jsonl", "{\"question\":\"ko\",\"answer\":[]}\n", MRL_EINPUT,
		    "nq_open.jsonl:1: \"answer\" must be an array of at least 1 non-empty strings");
	check_error("Cyrillic text tagged sr-Latn", "sr-Latn", "piqa_c.jsonl",
		    "{\"goal\":\"Како отворити теглу?\",\"choices\":[\"Топлом водом.\",\"Хладном водом.\"],\"gold\":0}\n",
		    MRL_EINPUT, "piqa_c.jsonl: tagged sr-Latn, which is written in Latin script");
	struct task_import_input two[] = { { "sr-Latn", DATA }, { "sr-Cyrl", DATA } };
	check_refused("serbian-llm-eval", two, 2, NULL, MRL_EUNSUPPORTED, "two inputs",
		      "give one file or folder as sr-Latn (or a Cyrillic copy as sr-Cyrl), and --derive the other script");
	struct task_import_input missing = { "sr-Latn", "/nonexistent/piqa.jsonl" };
	check_refused("serbian-llm-eval", &missing, 1, NULL, MRL_EIO, "a missing file",
		      "/nonexistent/piqa.jsonl: No such file or directory");
	char empty[300];
	snprintf(empty, sizeof empty, "%s/empty", dir);
	mkdir(empty, 0700);
	write_file("empty/notes.jsonl", row);
	struct task_import_input folder = { "sr-Latn", empty };
	check_refused("serbian-llm-eval", &folder, 1, NULL, MRL_EINPUT, "a folder without a task's file",
		      "empty: no test file of the serbian-llm-eval tasks");
}

int main(void)
{
	import_begin("sle");
	test_folder();
	test_one_file();
	test_bad();
	return import_end();
}
