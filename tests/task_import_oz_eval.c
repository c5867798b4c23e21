/* task_import_oz_eval.c — `merilo import oz-eval`: OZ Eval's JSONL -> one Serbian
 * suite, lighteval's oz_task query (whitespace included) with the letter scored right
 * after it, Serbian only, and --derive sr-Cyrl keeping the letters A-E. */
#include "tasks/task.h"
#include "tests/tap.h"
#include "tests/import_test.h"

#include <unistd.h>

#define DATA "tests/data/import/oz-eval/"

static void test_file(void)
{
	struct task_import_input in = { "sr-Latn", DATA "test.jsonl" };
	const char *derive[] = { "sr-Cyrl" };
	struct task_import_opts opts = { .derive = derive, .n_derive = 1 };
	char *json = NULL;
	struct mrl_err err = {0};
	int rc = task_import("oz-eval", &in, 1, &opts, &json, NULL, &err);
	is_int(rc, 0, "the test file imports, with sr-Cyrl derived");
	struct task_suite *s = NULL;
	if (rc)
		diag("%s", err.msg);
	else if (task_suite_parse("oz", json, strlen(json), &s, NULL, &err))
		diag("%s", err.msg);
	const struct task_task *t = s ? task_suite_task(s, 0) : NULL;
	if (!ok(t != NULL, "and validates"))
		goto out;
	is_str(task_id(t), "oz_eval", "one task, oz_eval");
	is_int(task_n_items(t), 3, "three questions");
	is_str(task_item_id(task_item_at(t, 2)), "2", "the id is the index");
	is_int(task_item_gold(task_item_at(t, 2)), 3, "gold: answer D");
	is_str(task_target_delimiter(t), "", "the letter follows the query directly, as lighteval scores it");
	struct task_prompt p;
	if (!task_render(t, task_item_at(t, 1), "sr-Latn", &p, &err)) {
		is_str(p.context, "Pitanje: Ko je napisao roman „Na Drini ćuprija“?\n\n    Ponuđeni odgovori:\n    A. Meša "
				  "Selimović\n    B. Ivo Andrić\n    C. Miloš Crnjanski\n    D. Branislav Nušić\n    E. Danilo "
				  "Kiš\n\n    Krajnji odgovor:",
		       "lighteval's query, its indentation included");
		ok(p.n_choices == 5 && !strcmp(p.choices[4], "E"), "the choices are the letters A-E");
		task_prompt_release(&p);
	}
	if (!task_render(t, task_item_at(t, 1), "sr-Cyrl", &p, &err)) {
		is_str(p.context, "Питање: Ко је написао роман „На Дрини ћуприја“?\n\n    Понуђени одговори:\n    A. Меша "
				  "Селимовић\n    B. Иво Андрић\n    C. Милош Црњански\n    D. Бранислав Нушић\n    E. Данило "
				  "Киш\n\n    Крајњи одговор:",
		       "sr-Cyrl derived: the text in Cyrillic, the letters Latin");
		ok(p.n_choices == 5 && !strcmp(p.choices[1], "B") && !strcmp(p.choices[2], "C"), "and its choices too");
		task_prompt_release(&p);
	}
	task_suite_free(s);
out:
	free(json);
}

static void check_error(const char *title, const char *lang, const char *text, int want_rc, const char *want)
{
	struct task_import_input in = { lang, write_file("e.jsonl", text) };
	check_refused("oz-eval", &in, 1, NULL, want_rc, title, want);
}

#define OPTS "\"options\":[\"a\",\"b\",\"c\",\"d\",\"e\"]"

static void test_bad(void)
{
	check_error("another language than Serbian", "hr", "{\"index\":0,\"questions\":\"Q?\"," OPTS ",\"answer\":\"A\"}\n",
		    MRL_EUNSUPPORTED, "OZ Eval is Serbian: give it as sr-Latn");
	check_error("four options", "sr-Latn", "{\"index\":0,\"questions\":\"Q?\",\"options\":[\"a\",\"b\",\"c\",\"d\"],"
					       "\"answer\":\"A\"}\n", MRL_EINPUT, "e.jsonl:1: \"options\" must be an array of 5 strings");
	check_error("an answer and an answer_index that disagree", "sr-Latn",
		    "{\"index\":0,\"questions\":\"Q?\"," OPTS ",\"answer\":\"B\",\"answer_index\":2}\n", MRL_EINPUT,
		    "e.jsonl:1: \"answer\" must be one of A-E (and \"answer_index\", where given, its position 0-4)");
	check_error("no index", "sr-Latn", "{\"questions\":\"Q?\"," OPTS ",\"answer\":\"A\"}\n", MRL_EINPUT,
		    "e.jsonl:1: \"index\" must be a non-negative integer");
	check_error("an index twice", "sr-Latn",
		    "{\"index\":3,\"questions\":\"Q?\"," OPTS ",\"answer\":\"A\"}\n{\"index\":3,\"questions\":\"R?\"," OPTS
		    ",\"answer\":\"A\"}\n", MRL_EINPUT, "e.jsonl:2: duplicate index 3 (also on line 1)");
}

int main(void)
{
	import_begin("oz");
	test_file();
	test_bad();
	return import_end();
}
