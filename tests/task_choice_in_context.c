/* task_choice_in_context.c — a multiple-choice task with "choice_in_context" (partial
 * evaluation, Winogrande's): validation of its templates, the rendering of each choice's
 * context, and the plan (each choice's string, where its context ends, a few-shot
 * example written with the right choice's context). */
#include "tasks/plan.h"
#include "tasks/task.h"
#include "tests/tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A suite of one task with the given extra task keys and sr-Latn templates. */
static struct task_suite *suite_with(const char *keys, const char *tmpl, struct task_diags *d)
{
	char buf[4096];
	snprintf(buf, sizeof buf,
		 "{\"format\":\"merilo-suite/1\",\"name\":\"x\",\"version\":\"1\",\"license\":\"x\",\"description\":\"\","
		 "\"source\":\"\",\"tasks\":[{\"id\":\"wg\",\"type\":\"multiple_choice\",%s"
		 "\"languages\":[\"sr-Latn\"],\"templates\":{\"sr-Latn\":%s},\"items\":["
		 "{\"id\":\"0\",\"gold\":1,\"sr-Latn\":{\"before\":\"Ana je dala loptu Mileni jer \",\"after\":\"je "
		 "htela da se igra.\",\"choices\":[\"Ana\",\"Milena\"]}},"
		 "{\"id\":\"1\",\"gold\":0,\"sr-Latn\":{\"before\":\"Vaza je pala na tepih, ali \",\"after\":\"je bio "
		 "mekan.\",\"choices\":[\"tepih\",\"vaza\"]}}]}]}",
		 keys, tmpl);
	struct task_suite *s = NULL;
	struct mrl_err err = { 0 };
	if (task_suite_parse("x.json", buf, strlen(buf), &s, d, &err) && !d)
		diag("%s", err.msg);
	return s;
}

#define TMPL "{\"context\":\"{before}{choice}\",\"choice\":\"{after}\"}"

static void test_render(void)
{
	struct task_suite *s = suite_with("\"choice_in_context\":true,", TMPL, NULL);
	const struct task_task *t = s ? task_suite_task(s, 0) : NULL;
	if (!ok(t && task_mc_choice_in_context(t), "a task with choice_in_context validates"))
		goto out;
	struct task_prompt p;
	struct mrl_err err = { 0 };
	if (!ok(!task_render(t, task_item_at(t, 0), "sr-Latn", &p, &err), "an item renders"))
		goto out;
	ok(p.contexts && p.n_choices == 2 && !strcmp(p.contexts[0], "Ana je dala loptu Mileni jer Ana") &&
		   !strcmp(p.contexts[1], "Ana je dala loptu Mileni jer Milena"),
	   "each choice's context: the context template with that choice");
	is_str(p.context, "Ana je dala loptu Mileni jer Milena", "the context is the right choice's (gold 1)");
	ok(!strcmp(p.choices[0], "je htela da se igra.") && !strcmp(p.choices[1], "je htela da se igra."),
	   "every choice's continuation is the choice template's");
	task_prompt_release(&p);

	struct task_plan_opts o = { .fewshot_k = 1, .seed = 1 };
	struct task_mc_plan mp;
	if (!ok(!task_mc_plan(t, 1, "sr-Latn", &o, &mp, &err), "a 1-shot plan"))
		goto out;
	const char *shot = "Ana je dala loptu Mileni jer Milena je htela da se igra.\n\n";
	char want[2][256];
	snprintf(want[0], sizeof want[0], "%sVaza je pala na tepih, ali tepih je bio mekan.", shot);
	snprintf(want[1], sizeof want[1], "%sVaza je pala na tepih, ali vaza je bio mekan.", shot);
	ok(mp.choice_in_context && mp.n_choices == 2 && !strcmp(mp.choices[0].text, want[0]) &&
		   !strcmp(mp.choices[1].text, want[1]),
	   "each choice's string: the example (the right choice's context + its continuation), its own context, "
	   "the continuation");
	ok(mp.choices[1].context_len == strlen(shot) + strlen("Vaza je pala na tepih, ali vaza") &&
		   mp.choices[0].context_len == strlen(shot) + strlen("Vaza je pala na tepih, ali tepih"),
	   "and each its own context length");
	is_str(mp.choices[0].text + mp.choices[0].choice_at, "je bio mekan.", "the continuation follows the delimiter");
	task_mc_plan_release(&mp);
out:
	task_suite_free(s);
}

static void check_problem(const char *keys, const char *tmpl, const char *want, const char *title)
{
	struct task_diags d;
	task_diags_init(&d);
	struct task_suite *s = suite_with(keys, tmpl, &d);
	char line[512] = "";
	bool found = false;
	for (size_t i = 0; i < d.n && !found; i++) {
		task_diag_format(&d, i, line, sizeof line);
		found = strstr(line, want) != NULL;
	}
	ok(!s && found, title);
	if (!found)
		diag("wanted '%s', last problem '%s'", want, line);
	task_suite_free(s);
	task_diags_release(&d);
}

static void test_problems(void)
{
	check_problem("", TMPL, "/tasks/0/templates/sr-Latn/context: {choice} belongs in the \"choice\" template",
		      "without choice_in_context a context may not write the choice");
	check_problem("\"choice_in_context\":true,", "{\"context\":\"{before}\",\"choice\":\"{after}\"}",
		      "with \"choice_in_context\" the context writes each choice: it must use {choice}",
		      "with it the context must write the choice");
	check_problem("\"choice_in_context\":true,", "{\"context\":\"{before}{choice}\",\"choice\":\"{choice} {after}\"}",
		      "the choice template is the continuation every choice shares: it must not use {choice}",
		      "and the choice template may not");
	check_problem("\"choice_in_context\":true,", "{\"context\":\"{before}{choice}\"}",
		      "no choice template for \"sr-Latn\"", "a choice template is required");
	check_problem("\"choice_in_context\":true,\"metrics\":[\"acc\",\"acc_mutual_info\"],", TMPL,
		      "acc_mutual_info compares each choice's continuation", "acc_mutual_info is refused");
	check_problem("\"choice_in_context\":\"yes\",", TMPL, "/tasks/0/choice_in_context: expected true or false",
		      "a value that is not a boolean");
}

int main(void)
{
	test_render();
	test_problems();
	return done_testing();
}
