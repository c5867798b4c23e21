/* hrn_chat_mc.c — `merilo run --chat-multiple-choice`: multiple-choice prompts in the
 * chat template, as lm-eval-harness's --apply_chat_template makes them. The prompt is the
 * user's turn with the assistant's opened, the choice follows without the target
 * delimiter, the whitespace rule moves ChatML's "\n" into the continuation; a template
 * that writes BOS gets no second one; the setting is recorded, restored by --resume and
 * keeps runs with and without it apart; a prompt that does not fit is refused before the
 * run folder exists; a model without a template, --chat-template none and --thinking on
 * are refused; and against lm-eval-harness's own scoring under a chat template. */
#include "tests/tap.h"
#include "tests/cli.h"
#include "tests/jsonl.h"

#include <dirent.h>
#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <sys/stat.h>

static char tmp[256];

#define SUITE "--suite tasks/suites/demo.json --tasks regional_facts --lang hr --limit 2 --seed 1 --boot 100 --quiet"

/* The records of DIR/items.jsonl (a JSON array, new reference). */
static json_t *load_items(const char *dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s/items.jsonl", tmp, dir);
	return load_jsonl(path);
}

static json_t *settings_of(const char *dir)
{
	char path[512];
	snprintf(path, sizeof path, "%s/%s/results.json", tmp, dir);
	json_t *r = json_load_file(path, 0, NULL), *s = json_incref(json_object_get(r, "settings"));
	json_decref(r);
	return s;
}

static const char *str_at(json_t *rec, const char *key)
{
	return json_string_value(json_object_get(rec, key));
}

static const char *continuation(json_t *rec, size_t j)
{
	return json_string_value(json_object_get(json_array_get(json_object_get(rec, "choices"), j), "continuation"));
}

static void test_chatml(const char *model)
{
	char *out = NULL;
	int rc = cli_run(&out, "run --model %s " SUITE " --chat-multiple-choice --chat-template chatml -o %s/chatml",
			 model, tmp);
	is_int(rc, 0, "--chat-multiple-choice --chat-template chatml runs");
	if (rc)
		diag("%s", out);
	free(out);
	json_t *items = load_items("chatml"), *rec = json_array_get(items, 0);
	is_str(str_at(rec, "context"), "<|im_start|>user\nPitanje: Koji je grad glavni grad Srbije?\nOdgovor:<|im_end|>\n"
				       "<|im_start|>assistant",
	       "the context: the prompt as the user's turn, the assistant's opened, its \\n moved on");
	is_str(continuation(rec, 1), "\nBeograd", "the continuation: that \\n and the choice, no target delimiter");
	is_int(json_integer_value(json_object_get(json_array_get(json_object_get(rec, "choices"), 1), "n_chars")), 7,
	       "acc_norm divides by the choice's own characters");
	json_decref(items);
	json_t *s = settings_of("chatml");
	ok(json_is_true(json_object_get(s, "chat_multiple_choice")), "settings.chat_multiple_choice is true");
	is_str(json_string_value(json_object_get(s, "chat_template")), "chatml", "settings.chat_template: chatml");
	json_decref(s);

	/* without it: no template, and the two runs are not comparable */
	rc = cli_run(&out, "run --model %s " SUITE " -o %s/plain", model, tmp);
	is_int(rc, 0, "the same run without --chat-multiple-choice");
	free(out);
	items = load_items("plain");
	is_str(str_at(json_array_get(items, 0), "context"), "Pitanje: Koji je grad glavni grad Srbije?\nOdgovor:",
	       "without it the context is the suite's prompt");
	json_decref(items);
	s = settings_of("plain");
	ok(!json_object_get(s, "chat_multiple_choice"), "without it settings.chat_multiple_choice is absent");
	json_decref(s);
	rc = cli_run(&out, "compare %s/plain %s/chatml", tmp, tmp);
	is_int(rc, 3, "compare: not comparable (exit 3)");
	like(out, "the runs differ in chat_template (base none, candidate chatml, multiple choice too)",
	     "naming the setting and both values");
	free(out);
}

/* A template that writes BOS (Llama 2) under --bos always: the BOS is the template's, and
 * no second one goes before it: the context is one token longer than under --bos never,
 * which leaves <s> out (a second BOS would be two). */
static void test_llama2_bos(const char *model)
{
	char *out = NULL;
	long long computed[2] = { -1, -1 };
	const char *ctx[2] = { NULL, NULL };
	json_t *items[2];
	for (int never = 0; never < 2; never++) {
		int rc = cli_run(&out, "run --model %s " SUITE " --chat-multiple-choice --chat-template llama2 --bos %s "
				       "--batch item -o %s/llama2-%d", model, never ? "never" : "always", tmp, never);
		is_int(rc, 0, never ? "--chat-template llama2 --bos never runs" : "--chat-template llama2 --bos always runs");
		free(out);
		char dir[64];
		snprintf(dir, sizeof dir, "llama2-%d", never);
		items[never] = load_items(dir);
		ctx[never] = str_at(json_array_get(items[never], 0), "context");
		computed[never] = json_integer_value(json_object_get(json_array_get(items[never], 0), "tokens_computed"));
	}
	ok(ctx[0] && !strncmp(ctx[0], "<s>[INST] Pitanje", 17), "--bos always: the template writes <s>");
	ok(ctx[1] && !strncmp(ctx[1], "[INST] Pitanje", 14), "--bos never: it leaves <s> out");
	is_int(computed[0], computed[1] + 1, "one token more with the template's <s>: no second BOS before it");
	json_decref(items[0]);
	json_decref(items[1]);
}

static void test_resume(const char *model)
{
	char *out = NULL;
	int rc = cli_sh(&out, "MERILO_TEST_STOP_AFTER=1 '%s' run --model %s " SUITE " --chat-multiple-choice "
			      "--chat-template chatml -o %s/part", cli_merilo(), model, tmp);
	is_int(rc, 4, "setup: a --chat-multiple-choice run stopped after 1 item (exit 4)");
	free(out);
	rc = cli_run(&out, "run --resume %s/part --quiet", tmp);
	is_int(rc, 0, "--resume without the option finishes it");
	free(out);
	json_t *items = load_items("part");
	const char *c = str_at(json_array_get(items, 1), "context");
	ok(json_array_size(items) == 2 && c && !strncmp(c, "<|im_start|>user\n", 17),
	   "the resumed unit is in the template too (the option restored)");
	json_decref(items);
	rc = cli_sh(&out, "MERILO_TEST_STOP_AFTER=1 '%s' run --model %s " SUITE " -o %s/part-plain", cli_merilo(), model,
		    tmp);
	free(out);
	rc = cli_run(&out, "run --resume %s/part-plain --chat-multiple-choice --quiet", tmp);
	ok(rc == 2 && out && strstr(out, "--chat-multiple-choice was not given to the resumed run"),
	   "--resume of a run without it, with it: a usage error");
	free(out);
}

static void test_refusals(const char *model)
{
	char *out = NULL, small[300];
	int rc = cli_run(&out, "run --model %s " SUITE " --chat-multiple-choice -o %s/x", model, tmp);
	is_int(rc, 3, "a model without a chat template: refused (exit 3)");
	like(out, "--chat-multiple-choice: the model has no chat template; name one with --chat-template", "saying so");
	free(out);
	rc = cli_run(&out, "run --model %s " SUITE " --chat-multiple-choice --chat-template none -o %s/x", model, tmp);
	is_int(rc, 2, "with --chat-template none: a usage error");
	free(out);
	rc = cli_run(&out, "run --model %s " SUITE " --chat-multiple-choice --chat-template chatml --thinking on -o %s/x",
		     model, tmp);
	is_int(rc, 2, "with --thinking on: a usage error");
	like(out, "no room for reasoning", "saying why");
	free(out);
	snprintf(small, sizeof small, "%s/small.gguf", tmp);
	if (!ok(cli_run(NULL, "synth " CLI_SYNTH_SMALL " --ctx 24 -o %s", small) == 0, "synth a model of 24 positions"))
		return;
	rc = cli_run(&out, "run --model %s " SUITE " --chat-multiple-choice --chat-template chatml -o %s/cut", small, tmp);
	is_int(rc, 3, "a prompt that does not fit the model: refused (exit 3)");
	like(out, "the prompt in the chat template is", "naming the prompt's length");
	like(out, "(--chat-multiple-choice does not cut a prompt)", "and that it is not cut");
	free(out);
	char cut[300];
	snprintf(cut, sizeof cut, "%s/cut", tmp);
	ok(access(cut, F_OK) != 0, "before the run folder exists");
}

/* Each request of one case against lm-eval's: n requests, same of them the same string
 * (context + continuation), the largest log-likelihood difference into *worst. */
/* A task's description is the chat template's system message, for multiple choice and
 * generate tasks alike (lm-eval-harness's description under --apply_chat_template);
 * without a template it opens the prompt. */
static void test_description(const char *model)
{
	char suite[300], *out = NULL;
	snprintf(suite, sizeof suite, "%s/desc.json", tmp);
	FILE *f = fopen(suite, "w");
	if (!ok(f != NULL, "write a suite with descriptions"))
		return;
	fputs("{\"format\": \"merilo-suite/1\", \"name\": \"d\", \"version\": \"1\", \"license\": \"CC0-1.0\", "
	      "\"description\": \"\", \"source\": \"\", \"tasks\": ["
	      "{\"id\": \"mc\", \"type\": \"multiple_choice\", \"languages\": [\"hr\"], \"templates\": {\"hr\": "
	      "{\"context\": \"P: {q}\\nO:\", \"description\": \"Pitanja o {s}.\\n\"}}, \"items\": [{\"id\": \"1\", "
	      "\"gold\": 0, \"hr\": {\"q\": \"x\", \"s\": \"kemiji\", \"choices\": [\"a\", \"b\"]}}]}, "
	      "{\"id\": \"gen\", \"type\": \"generate\", \"languages\": [\"hr\"], \"max_new_tokens\": 2, "
	      "\"templates\": {\"hr\": {\"context\": \"P: {q}\\nO:\", \"description\": \"Pitanja o {s}.\\n\"}}, "
	      "\"items\": [{\"id\": \"1\", \"hr\": {\"q\": \"x\", \"s\": \"fizici\", \"target\": \"a\"}}]}]}\n", f);
	fclose(f);
	int rc = cli_run(&out, "run --model %s --suite %s --chat-multiple-choice --chat-template chatml --boot 100 --quiet "
			       "-o %s/desc", model, suite, tmp);
	is_int(rc, 0, "a suite with descriptions runs under chatml");
	if (rc)
		diag("%s", out);
	free(out);
	json_t *items = load_items("desc"), *mc = NULL;
	for (size_t i = 0; i < json_array_size(items); i++)
		if (!strcmp(str_at(json_array_get(items, i), "task"), "mc"))
			mc = json_array_get(items, i);
	is_str(mc ? str_at(mc, "context") : NULL,
	       "<|im_start|>system\nPitanja o kemiji.\n<|im_end|>\n<|im_start|>user\nP: x\nO:<|im_end|>\n<|im_start|>assistant",
	       "multiple choice: the description is the system message, the question the user's");
	json_decref(items);
	char path[400];
	snprintf(path, sizeof path, "%s/desc/prompts/gen.hr.txt", tmp);
	out = cli_slurp(path);
	like(out, "<|im_start|>system\nPitanja o fizici.\n<|im_end|>\n<|im_start|>user\nP: x\nO:<|im_end|>\n",
	     "generate: the same");
	free(out);
}

static void compare_case(json_t *items, json_t *docs, size_t *n, size_t *same, double *worst)
{
	*n = *same = 0;
	*worst = 0;
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *rec = json_array_get(items, i), *doc = NULL, *d;
		size_t k;
		json_array_foreach(docs, k, d)
			if (!strcmp(json_string_value(json_object_get(d, "id")), str_at(rec, "item")))
				doc = d;
		json_t *reqs = json_object_get(doc, "requests");
		for (size_t j = 0; j < json_array_size(reqs); j++, (*n)++) {
			json_t *q = json_array_get(reqs, j);
			char *mine = NULL, *theirs = NULL;
			if (asprintf(&mine, "%s%s", str_at(rec, "context"), continuation(rec, j)) < 0 ||
			    asprintf(&theirs, "%s%s", str_at(q, "context"), str_at(q, "continuation")) < 0)
				break;
			*same += !strcmp(mine, theirs);
			free(mine);
			free(theirs);
			double a = json_real_value(json_object_get(json_array_get(json_object_get(rec, "choices"), j), "loglik"));
			double e = fabs(a - json_real_value(json_object_get(q, "loglik")));
			*worst = e > *worst ? e : *worst;
		}
	}
}

/* A folder that is the fixture checkpoint fx (every file but its tokenizer_config.json, linked)
 * with a case's chat template (and bos_token) in a copy of that file. 0, or -1 where it
 * cannot be made. */
static int model_with_template(const char *fx, json_t *c, const char *dir)
{
	char path[800], abs_fx[4096];
	if (!realpath(fx, abs_fx) || mkdir(dir, 0755))
		return -1;
	DIR *d = opendir(abs_fx);
	struct dirent *e;
	int rc = d ? 0 : -1;
	while (!rc && (e = readdir(d))) {
		if (e->d_name[0] == '.' || !strcmp(e->d_name, "tokenizer_config.json"))
			continue;
		char from[4400];
		snprintf(from, sizeof from, "%s/%s", abs_fx, e->d_name);
		snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
		rc = symlink(from, path);
	}
	if (d)
		closedir(d);
	snprintf(path, sizeof path, "%s/tokenizer_config.json", fx);
	json_t *tc = rc ? NULL : json_load_file(path, 0, NULL);
	json_object_set(tc, "chat_template", json_object_get(c, "chat_template"));
	if (json_is_string(json_object_get(c, "bos_token")))
		json_object_set(tc, "bos_token", json_object_get(c, "bos_token"));
	snprintf(path, sizeof path, "%s/tokenizer_config.json", dir);
	rc = tc && !json_dump_file(tc, path, 0) ? 0 : -1;
	json_decref(tc);
	return rc;
}

/* Against lm-eval-harness --apply_chat_template (ci/make-chat-mc-reference.py): a fixture's
 * checkpoint with each case's template under auto and the default --bos auto — ChatML and
 * Meta-Llama-3-8B-Instruct's on Qwen2 (which adds no BOS of its own), Llama-2-chat's,
 * Mistral-Instruct's and Gemma's (each writes the BOS text, and the tokenizer would add one
 * too: one BOS, not two) and Phi-3.5's (no BOS at all). Each request's whole string equal,
 * each log-likelihood within 1e-4 (f32 KV cache; both float32); a BOS too many moves them by
 * nats (--bos always: ChatML 4.3, Phi-3 2.3). */
static void test_lmeval(void)
{
	const char *root = fixtures_dir();
	if (!root) {
		skip("fixtures absent: ../shared/fixtures/hf", "--chat-multiple-choice against lm-eval");
		return;
	}
	json_t *ref = json_load_file("tests/data/chat-mc/lmeval-chat.json", 0, NULL), *c;
	size_t k;
	ok(json_array_size(json_object_get(ref, "cases")) == 6, "six cases in lm-eval's reference");
	json_array_foreach(json_object_get(ref, "cases"), k, c) {
		const char *name = json_string_value(json_object_get(c, "name"));
		const char *fixture = json_string_value(json_object_get(c, "fixture"));
		char fx[600], dir[400], run[64], title[200];
		snprintf(fx, sizeof fx, "%s/hf/%s", root, fixture ? fixture : "");
		snprintf(dir, sizeof dir, "%s/%s-%s", tmp, fixture ? fixture : "", name);
		snprintf(run, sizeof run, "lmeval-%s", name);
		if (!fixture || access(fx, R_OK)) {
			skip("fixture absent", name);
			continue;
		}
		if (model_with_template(fx, c, dir)) {
			ok(0, "a folder for the model with a template");
			continue;
		}
		char *out = NULL;
		int rc = cli_run(&out, "run --model %s --suite tests/data/chat-mc/suite.json --chat-multiple-choice "
				       "--kv-cache f32 --quiet -o %s/%s", dir, tmp, run);
		snprintf(title, sizeof title, "%s: the fixture's %s with the template, under auto", name, fixture);
		is_int(rc, 0, title);
		if (rc)
			diag("%s", out);
		free(out);
		json_t *items = load_items(run);
		size_t n, same;
		double worst;
		compare_case(items, json_object_get(c, "docs"), &n, &same, &worst);
		snprintf(title, sizeof title, "%s: every request's string is lm-eval's (context + continuation)", name);
		ok(n == 5 && same == n, title);
		snprintf(title, sizeof title, "%s: every log-likelihood within 1e-4 of lm-eval's", name);
		ok(n == 5 && worst < 1e-4, title);
		diag("%s: largest difference from lm-eval: %.2e", name, worst);
		json_decref(items);
	}
	json_decref(ref);
}

int main(void)
{
	if (!cli_merilo())
		skip_all("MERILO is not set to an executable merilo");
	if (access("tasks/suites/demo.json", R_OK))
		skip_all("tasks/suites/demo.json not found (run from the repository root)");
	if (!cli_tmpdir(tmp, sizeof tmp, "chat_mc"))
		skip_all("no temporary folder");
	char model[512];
	snprintf(model, sizeof model, "%s/m.gguf", tmp);
	if (cli_run(NULL, "synth " CLI_SYNTH_SMALL " --ctx 512 --seed 1 -o %s", model))
		skip_all("merilo synth failed");
	test_chatml(model);
	test_llama2_bos(model);
	test_resume(model);
	test_refusals(model);
	test_description(model);
	test_lmeval();
	cli_rmtree(tmp);
	return done_testing();
}
