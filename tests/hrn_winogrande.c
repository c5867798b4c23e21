/* hrn_winogrande.c — a multiple-choice task whose choices are written into the context
 * ("choice_in_context": Winogrande's partial evaluation) against lm-evaluation-harness's
 * own winogrande task (ci/make-winogrande-reference.py): four sentences imported with
 * `merilo import serbian-llm-eval` and scored on the fixtures' Qwen2 checkpoint, every
 * request the same strings as lm-eval's and its log-likelihood within 1e-4; what the
 * records and prompts/ show; and the refusal under --chat-multiple-choice. */
#include "tests/tap.h"
#include "tests/cli.h"
#include "tests/jsonl.h"

#include <math.h>
#include <unistd.h>

static char tmp[256];

static const char *str_of(json_t *o, const char *key) { return json_string_value(json_object_get(o, key)); }

/* The records of the run in tmp/DIR against lm-eval's requests: n requests, same of them the same
 * (context, continuation), the largest log-likelihood difference into *worst. */
static void compare(json_t *items, json_t *docs, size_t *n, size_t *same, double *worst)
{
	*n = *same = 0;
	*worst = 0;
	for (size_t i = 0; i < json_array_size(items); i++) {
		json_t *rec = json_array_get(items, i);
		json_t *doc = json_array_get(docs, (size_t)atoi(str_of(rec, "item") ? str_of(rec, "item") : "0"));
		json_t *reqs = json_object_get(doc, "requests"), *choices = json_object_get(rec, "choices");
		for (size_t j = 0; j < json_array_size(reqs); j++, (*n)++) {
			json_t *q = json_array_get(reqs, j), *c = json_array_get(choices, j);
			const char *ctx = str_of(c, "context"), *cont = str_of(c, "continuation");
			*same += ctx && cont && !strcmp(ctx, str_of(q, "context")) && !strcmp(cont, str_of(q, "continuation"));
			double e = fabs(json_real_value(json_object_get(c, "loglik")) - json_real_value(json_object_get(q, "loglik")));
			*worst = e > *worst ? e : *worst;
		}
	}
}

static void test_lmeval(const char *fx)
{
	char *out = NULL, path[400];
	int rc = cli_run(&out, "run --model %s --suite %s/wg.json --kv-cache f32 --quiet -o %s/run", fx, tmp, tmp);
	if (!ok(rc == 0, "and run on the fixture's Qwen2 checkpoint"))
		diag("%s", out);
	free(out);
	snprintf(path, sizeof path, "%s/run/items.jsonl", tmp);
	json_t *items = load_jsonl(path), *ref = json_load_file("tests/data/winogrande/lmeval-qwen2.json", 0, NULL);
	size_t n, same;
	double worst;
	compare(items, json_object_get(ref, "docs"), &n, &same, &worst);
	ok(n == 8 && same == 8, "every request is lm-eval's: the sentence to its blank with the option, and the rest "
				 "after a space");
	ok(n == 8 && worst < 1e-4, "every log-likelihood within 1e-4 of lm-eval's");
	diag("largest difference from lm-eval: %.2e", worst);
	json_t *rec = json_array_get(items, 0);
	ok(rec && !json_object_get(rec, "context"), "the record has no one context ...");
	is_str(str_of(json_array_get(json_object_get(rec, "choices"), 1), "context"), "Marko je pozajmio knjigu od Jovana jer Jovan",
	       "... each choice has its own");
	is_str(str_of(rec, "gold_text"), "Marko je pozajmio knjigu od Jovana jer Marko", "gold_text names the right choice by its context");
	json_decref(items);
	json_decref(ref);
	snprintf(path, sizeof path, "%s/run/prompts/winogrande.sr-Latn.txt", tmp);
	char *prompts = cli_slurp(path);
	like(prompts, "----- choice [1]: its context -----\nMarko je pozajmio knjigu od Jovana jer Jovan\n----- its "
		      "continuation -----\n\" nije imao svoju.\"", "prompts/ shows each choice's context and the continuation");
	free(prompts);
}

static void test_chat_refused(void)
{
	char model[400];
	snprintf(model, sizeof model, "%s/m.gguf", tmp);
	if (!ok(cli_run(NULL, "synth " CLI_SYNTH_SMALL " --ctx 512 --seed 1 -o %s", model) == 0, "synth a model"))
		return;
	CLI_EXPECT(3, "task 'winogrande' writes each choice into its context (\"choice_in_context\"), which "
		   "--chat-multiple-choice does not score", "--chat-multiple-choice refuses such a task before it runs",
		   "run --model %s --suite %s/wg.json --chat-multiple-choice --chat-template chatml --quiet -o %s/chat", model,
		   tmp, tmp);
	char chat[400];
	snprintf(chat, sizeof chat, "%s/chat", tmp);
	ok(access(chat, F_OK) != 0, "and makes no run folder");
}

int main(void)
{
	if (!cli_merilo())
		skip_all("MERILO is not set to an executable merilo");
	if (!cli_tmpdir(tmp, sizeof tmp, "winogrande"))
		skip_all("no temporary folder");
	char *out = NULL;
	int rc = cli_run(&out, "import serbian-llm-eval --lang sr-Latn=tests/data/winogrande/winogrande.jsonl -o %s/wg.json",
			 tmp);
	if (!ok(rc == 0, "the sentences import as the Serbian LLM eval's winogrande task"))
		diag("%s", out);
	free(out);
	const char *root = fixtures_dir();
	char fx[600];
	snprintf(fx, sizeof fx, "%s/hf/qwen2", root ? root : "");
	if (!root || access(fx, R_OK))
		skip("fixtures absent: ../shared/fixtures/hf/qwen2", "choice_in_context against lm-eval's winogrande");
	else
		test_lmeval(fx);
	test_chat_refused();
	cli_rmtree(tmp);
	return done_testing();
}
