/* task_import_global_mmlu.c — `merilo import global-mmlu`: Global-MMLU's per-language
 * JSONL -> one suite. Questions pair by sample_id, which is the item id; the English
 * prompt is lm-eval-harness's to the byte; answers must agree across languages; a
 * sample_id twice in a file and bad rows are named by file:line. */
#include "tasks/plan.h"
#include "tasks/task.h"
#include "tests/lmeval_ref.h"
#include "tests/tap.h"
#include "tests/import_test.h"

#include <unistd.h>

#define DATA "tests/data/import/global-mmlu/"

/* A row: sample_id ID, answer A. */
#define ROW(ID, A)                                                                                                  \
	"{\"sample_id\":\"" ID "\",\"subject\":\"s\",\"question\":\"Q?\",\"option_a\":\"1\",\"option_b\":\"2\","    \
	"\"option_c\":\"3\",\"option_d\":\"4\",\"answer\":\"" A "\"}\n"

static void test_files(void)
{
	struct task_import_input in[] = { { "en", DATA "en.jsonl" }, { "sr-Cyrl", DATA "sr.jsonl" } };
	const char *derive[] = { "sr-Latn" };
	struct task_import_report rep = {0};
	mrl_buf_init(&rep.warnings);
	struct task_import_opts opts = { .derive = derive, .n_derive = 1, .report = &rep };
	char *json = NULL;
	struct mrl_err err = {0};
	int rc = task_import("global-mmlu", in, 2, &opts, &json, NULL, &err);
	is_int(rc, 0, "the test files import, with sr-Latn derived");
	struct task_suite *s = NULL;
	if (rc)
		diag("%s", err.msg);
	else if (task_suite_parse("gmmlu", json, strlen(json), &s, NULL, &err))
		diag("%s", err.msg);
	if (!ok(s != NULL, "the imported suite validates"))
		goto out;
	const struct task_task *t = task_suite_task(s, 0);
	is_str(task_id(t), "global_mmlu", "one task, global_mmlu");
	is_str(task_breakdown(t), "subject", "scores are also broken down by subject");
	is_int(task_n_items(t), 3, "three questions");
	is_str(task_item_id(task_item_at(t, 1)), "high_school_geography/test/3", "the item id is the sample_id");
	is_int(task_item_gold(task_item_at(t, 1)), 2, "gold from the answer letter C");
	ok(!task_item_has(task_item_at(t, 2), (size_t)task_language_index(t, "sr-Cyrl")), "sr lacks the third question");
	like(rep.warnings.data, "sr-Cyrl lacks 1 (sample_id elementary_mathematics/test/12)",
	     "the warning names it by sample_id");
	check_lmeval(t, DATA "lmeval-en.json", 3);
	struct task_prompt p;
	if (!task_render(t, task_item_at(t, 1), "sr-Cyrl", &p, &err)) {
		is_str(p.context, "Која река протиче кроз Београд и Нови Сад?\nA. Сава\nB. Дрина\nC. Дунав\nD. Морава\nОдговор:",
		       "sr-Cyrl: the closing word in Serbian, the letters Latin");
		task_prompt_release(&p);
	}
	if (!task_render(t, task_item_at(t, 0), "sr-Latn", &p, &err)) {
		is_str(p.context, "Koja je planeta najbliža Suncu?\nA. Venera\nB. Merkur\nC. Mars\nD. Zemlja\nOdgovor:",
		       "sr-Latn derived from sr-Cyrl");
		is_str(p.choices[3], "D", "its choices the same letters");
		task_prompt_release(&p);
	}
	task_suite_free(s);
out:
	free(json);
	mrl_buf_release(&rep.warnings);
}

/* The dev split as a pool: MMLU's 5-shot, the first examples of the item's subject. */
static void test_pool(void)
{
	struct task_import_input in[] = { { "en", DATA "en.jsonl" }, { "sr-Cyrl", DATA "sr.jsonl" } },
				 pool[] = { { "en", DATA "en-dev.jsonl" }, { "sr-Cyrl", DATA "sr-dev.jsonl" } };
	struct task_import_report rep = {0};
	mrl_buf_init(&rep.warnings);
	struct task_import_opts opts = { .pool = pool, .n_pool = 2, .report = &rep };
	char *json = NULL;
	struct mrl_err err = {0};
	int rc = task_import("global-mmlu", in, 2, &opts, &json, NULL, &err);
	is_int(rc, 0, "the test files import with the dev files as the pool");
	struct task_suite *s = NULL;
	if (!rc && task_suite_parse("gmmlu", json, strlen(json), &s, NULL, &err))
		diag("%s", err.msg);
	const struct task_task *t = s ? task_suite_task(s, 0) : NULL;
	if (!ok(t != NULL, "and validate"))
		goto out;
	is_int(task_n_pool(t), 6, "six dev questions in the pool");
	is_str(task_item_id(task_pool_at(t, 2)), "astronomy/dev/1", "pool ids are the dev sample_ids");
	struct task_fewshot f;
	task_fewshot(t, &f);
	ok(f.has && f.k == 5 && !strcmp(f.source, "pool") && f.match && !strcmp(f.match, "subject") && f.first,
	   "few-shot: 5 from the pool, of the item's subject, the first in order");
	/* 2-shot prompts against lm-eval's per-subject first_n draws on the dev split */
	json_error_t je;
	json_t *ref = json_load_file(DATA "lmeval-en-2shot.json", 0, &je), *ctx = json_object_get(ref, "contexts");
	size_t same = 0;
	for (size_t i = 0; i < task_n_items(t); i++) {
		struct task_mc_plan p;
		struct task_plan_opts po = { .fewshot_k = 2 };
		const char *want = json_string_value(json_object_get(ctx, task_item_id(task_item_at(t, i))));
		task_mc_plan_init(&p);
		if (task_mc_plan(t, i, "en", &po, &p, &err))
			diag("%s", err.msg);
		else if (want && !strcmp(p.prompt, want))
			same++;
		else
			diag("%s: merilo '%s', lm-eval '%s'", task_item_id(task_item_at(t, i)), p.prompt, want ? want : "(none)");
		task_mc_plan_release(&p);
	}
	is_int((long long)same, 3, "2-shot en prompts: lm-eval's (per subject, first_n on dev), byte for byte");
	json_decref(ref);
	like(rep.warnings.data, "Pool: Unpaired items: 2 of 6 items are not in every language: sr-Cyrl lacks 2 (sample_id "
				"elementary_mathematics/dev/0, elementary_mathematics/dev/1)", "the pool's unpaired examples are reported");
	is_int((long long)rep.n_unpaired, 1, "the report's unpaired count is the items'");
	task_suite_free(s);
out:
	free(json);
	mrl_buf_release(&rep.warnings);
	/* a pool language that is not imported; a pool for an importer that takes none */
	struct task_import_input hr = { "hr", DATA "en-dev.jsonl" };
	opts = (struct task_import_opts){ .pool = &hr, .n_pool = 1 };
	ok(task_import("global-mmlu", in, 2, &opts, &json, NULL, &err) == MRL_EINPUT, "a pool in a language not imported: refused");
	like(err.msg, "--pool hr=tests/data/import/global-mmlu/en-dev.jsonl: hr is not one of the imported languages", "naming it");
	opts.pool = pool;
	ok(task_import("belebele", in, 1, &opts, &json, NULL, &err) == MRL_EINPUT, "a pool for belebele: refused");
	like(err.msg, "import belebele takes no few-shot pool", "saying so");
}

static void check_error(const char *title, const char *text_a, const char *text_b, const char *want)
{
	const char *a = write_file("a.jsonl", text_a), *b = text_b ? write_file("b.jsonl", text_b) : NULL;
	struct task_import_input in[] = { { "en", a }, { "hr", b } };
	check_refused("global-mmlu", in, b ? 2 : 1, NULL, MRL_EINPUT, title, want);
}

static void test_bad(void)
{
	check_error("answers that disagree", ROW("x/test/1", "A"), ROW("x/test/1", "B"),
		    "b.jsonl:1: the right answer is B, but ");
	check_error("a sample_id twice in a file", ROW("x/test/1", "A") ROW("x/test/2", "A") ROW("x/test/1", "C"), NULL,
		    "a.jsonl:3: sample_id \"x/test/1\" again (also on line 1)");
	check_error("an answer that is not a letter A-D", ROW("x/test/1", "E"), NULL,
		    "a.jsonl:1: \"answer\" must be A, B, C or D");
	check_error("no sample_id", "{\"question\":\"Q\"}\n", NULL, "a.jsonl:1: \"sample_id\" is missing");
	check_error("a missing option",
		    "{\"sample_id\":\"x\",\"question\":\"Q\",\"option_a\":\"1\",\"option_b\":\"2\",\"option_d\":\"4\","
		    "\"answer\":\"A\"}\n",
		    NULL, "a.jsonl:1: \"option_c\" is missing; expected a string");
	check_error("an empty question",
		    "{\"sample_id\":\"x\",\"question\":\" \",\"option_a\":\"1\",\"option_b\":\"2\",\"option_c\":\"3\","
		    "\"option_d\":\"4\",\"answer\":\"A\"}\n",
		    NULL, "a.jsonl:1: \"question\" is blank; expected a non-empty string");
	/* an empty option is text MMLU has (some options are blank), so it imports */
	const char *a = write_file("e.jsonl", "{\"sample_id\":\"x\",\"question\":\"Q\",\"option_a\":\"\",\"option_b\":\"2\","
					      "\"option_c\":\"3\",\"option_d\":\"4\",\"answer\":\" D \"}\n");
	struct task_import_input in = { "hr", a };
	char *json = NULL;
	struct mrl_err err = {0};
	is_int(task_import("global-mmlu", &in, 1, NULL, &json, NULL, &err), 0, "an empty option and a spaced answer import");
	ok(json && strstr(json, "\"gold\": 3"), "the spaced answer ' D ' is option 4");
	free(json);
}

int main(void)
{
	import_begin("gmmlu");
	test_files();
	test_pool();
	test_bad();
	return import_end();
}
