/* hrn_generate.c — `merilo generate` on the tiny fixture llama: llama.cpp's greedy
 * ids, several prompts in one batched run (--prompt repeated, --prompts FILE with
 * lines and JSONL) giving what each prompt gives alone, --batch 1 = --batch 8,
 * --stop, --json fields and the recorded seed, --timing lines, usage and input
 * errors; a skipped empty line and --top-k without --temperature are said on stderr;
 * --parse-special on SmolLM2's ChatML markers; --chat-template and --thinking. Runs the
 * binary named by $MERILO.
 */
#include "tests/tap.h"
#include "tests/cli.h"
#include "tests/gguf_edit.h"

#include <jansson.h>

static const char *fx, *merilo;
static char model[1024], tmp[256];

static json_t *run_json(const char *args, int *rc)
{
	char *out = NULL;
	*rc = cli_run(&out, "generate --model %s %s --json 2>/dev/null", model, args);
	json_t *j = json_loads(out, 0, NULL);
	if (!j)
		diag("not JSON: %.300s", out);
	free(out);
	return j;
}

static json_t *result(json_t *doc, size_t i)
{
	return json_array_get(json_object_get(doc, "results"), i);
}

static const char *res_str(json_t *doc, size_t i, const char *key)
{
	return json_string_value(json_object_get(result(doc, i), key));
}

static void t_reference(void)
{
	char path[1200], *out = NULL, *want = NULL;
	snprintf(path, sizeof path, "%s/expected/tiny-llama-ff192-f32/en.greedy.txt", fx);
	want = cli_slurp(path);
	int rc = cli_run(&out, "generate --model %s --prompt 'Once upon a time' -n 16 --ids 2>/dev/null", model);
	is_int(rc, 0, "exit 0");
	ok(want && out && strcmp(out, want) == 0, "--ids: llama.cpp's 16 greedy ids, one per line");
	free(out);
	free(want);
}

static void t_batch(void)
{
	int rc;
	json_t *both = run_json("--prompt 'Once upon a time' --prompt 'Bilo jednom u Beogradu' -n 12", &rc);
	is_int(rc, 0, "two prompts: exit 0");
	json_t *one = run_json("--prompt 'Bilo jednom u Beogradu' -n 12", &rc);
	is_int(json_array_size(json_object_get(both, "results")), 2, "two results");
	ok(json_equal(result(both, 1), result(one, 0)), "the second prompt's result (text, ids, n_tokens, stop_reason) "
	   "equals its run alone");
	is_str(res_str(both, 0, "stop_reason"), "max_tokens", "stop_reason max_tokens");
	is_int(json_integer_value(json_object_get(result(both, 0), "n_tokens")), 12, "n_tokens 12");
	ok(json_is_true(json_object_get(both, "greedy")) && json_is_integer(json_object_get(both, "seed")),
	   "the settings are recorded (greedy, seed)");
	json_decref(both);
	json_decref(one);
}

static void t_prompts_file(void)
{
	char path[512], *b1 = NULL, *b8 = NULL;
	snprintf(path, sizeof path, "%s/p.txt", tmp);
	cli_write_file(path, "Once upon a time\n\n{\"prompt\": \"Bilo jednom\\nu Beogradu\"}\nBило\n");
	int rc;
	char args[700];
	snprintf(args, sizeof args, "--prompts %s -n 8", path);
	json_t *doc = run_json(args, &rc);
	is_int(rc, 0, "--prompts: exit 0");
	is_int(json_array_size(json_object_get(doc, "results")), 3, "three prompts (the empty line skipped)");
	is_str(res_str(doc, 1, "prompt"), "Bilo jednom\nu Beogradu", "a JSONL line's prompt, newline included");
	json_t *alone = run_json("--prompt 'Once upon a time' -n 8", &rc);
	ok(json_equal(result(doc, 0), result(alone, 0)), "the first equals --prompt alone");
	json_decref(alone);
	json_decref(doc);
	char *warn = NULL;
	cli_sh(&warn, "'%s' generate --model %s --prompts %s -n 2 2>&1 >/dev/null", merilo, model, path);
	like(warn, "p.txt: 1 empty line skipped (no prompt; the results follow the 3 others)",
	     "the skipped empty line is said on stderr (the text output has fewer lines than the file)");
	free(warn);
	int r1 = cli_run(&b1, "generate --model %s --prompts %s -n 8 --batch 1 2>/dev/null", model, path);
	int r8 = cli_run(&b8, "generate --model %s --prompts %s -n 8 --batch 8 2>/dev/null", model, path);
	ok(r1 == 0 && r8 == 0 && strcmp(b1, b8) == 0, "--batch 1 and --batch 8 print the same texts");
	free(b1);
	free(b8);
	snprintf(path, sizeof path, "%s/bad.jsonl", tmp);
	cli_write_file(path, "hello\n{\"text\": \"x\"}\n");
	CLI_EXPECT(3, "bad.jsonl:2: the object has no \"prompt\" string", "a JSONL line without prompt",
		   "generate --model %s --prompts %s", model, path);
	CLI_EXPECT(3, "nope.txt", "a missing prompts file is named", "generate --model %s --prompts %s/nope.txt", model,
		   tmp);
}

static void t_stop(void)
{
	int rc;
	json_t *free_run = run_json("--prompt 'Once upon a time' -n 16", &rc);
	const char *text = res_str(free_run, 0, "text");
	if (!ok(text && strlen(text) > 12, "a free run of 16 tokens has text")) {
		json_decref(free_run);
		return;
	}
	char stop[8], args[200];
	memcpy(stop, text + 8, 4);
	stop[4] = '\0';
	snprintf(args, sizeof args, "--prompt 'Once upon a time' -n 16 --stop 'zzzq' --stop '%s'", stop);
	json_t *stopped = run_json(args, &rc);
	is_int(rc, 0, "--stop: exit 0");
	is_str(res_str(stopped, 0, "stop_reason"), "stop", "stop_reason stop");
	size_t at = (size_t)(strstr(text, stop) - text);
	const char *got = res_str(stopped, 0, "text");
	ok(got && strlen(got) == at && strncmp(got, text, at) == 0, "the text ends right before the stop string");
	/* the document says how to make it again: the stop strings, which one ended it */
	is_str(res_str(stopped, 0, "stop_string"), stop, "stop_string names the one that ended it");
	json_t *st = json_object_get(stopped, "stop");
	ok(json_array_size(st) == 2 && !strcmp(json_string_value(json_array_get(st, 0)), "zzzq") &&
		   !strcmp(json_string_value(json_array_get(st, 1)), stop),
	   "the top level lists the --stop strings in order");
	ok(json_is_false(json_object_get(stopped, "parse_special")), "and parse_special");
	ok(json_is_null(json_object_get(result(free_run, 0), "stop_string")), "stop_string is null without a stop");
	json_decref(free_run);
	json_decref(stopped);
}

static void t_sampling(void)
{
	int rc;
	json_t *a = run_json("--prompt 'Once upon a time' --prompt 'Zdravo' -n 10 --temperature 0.9 --top-k 50 "
			     "--top-p 0.9 --seed 7", &rc);
	json_t *b = run_json("--prompt 'Once upon a time' --prompt 'Zdravo' -n 10 --temperature 0.9 --top-k 50 "
			     "--top-p 0.9 --seed 7 --batch 1", &rc);
	ok(a && b && json_equal(json_object_get(a, "results"), json_object_get(b, "results")),
	   "the same seed: the same samples, batched or not");
	is_int(json_integer_value(json_object_get(a, "seed")), 7, "the seed is recorded");
	ok(json_is_false(json_object_get(a, "greedy")), "greedy false");
	json_decref(a);
	json_decref(b);
	char *out = NULL;
	cli_sh(&out, "'%s' generate --model %s --prompt Zdravo -n 2 --top-k 5 2>&1 >/dev/null", merilo, model);
	like(out, "warning: --top-k and --top-p have no effect without --temperature > 0",
	     "--top-k without --temperature: a warning (it was silently greedy)");
	free(out);
}

/* --parse-special: a prompt's written special tokens become their ids, as tokenize
 * --parse-special gives them (stdout only: a progress line comes on stderr after 5 s, as
 * under a sanitizer build) (there was no way: instruct models could not be prompted in
 * their template). SmolLM2's ChatML markers. */
static void t_parse_special(void)
{
	char smol[1024], *ids = NULL;
	snprintf(smol, sizeof smol, "%s/models-real/smollm2-135m-instruct-q4_1.gguf", fx);
	const char *prompt = "'<|im_start|>user\nZdravo<|im_end|>\n'";
	int rc = cli_sh(&ids, "'%s' tokenize --model %s --parse-special \"$(printf %s)\" | wc -w", merilo, smol, prompt);
	long want = rc == 0 && ids ? atol(ids) : -1;
	free(ids);
	char *out = NULL;
	rc = cli_sh(&out, "'%s' generate --model %s --prompt \"$(printf %s)\" -n 1 --json --parse-special 2>/dev/null", merilo, smol,
		    prompt);
	json_t *j = rc == 0 && out ? json_loads(out, 0, NULL) : NULL;
	free(out);
	long got = (long)json_integer_value(json_object_get(result(j, 0), "n_prompt_tokens"));
	ok(want > 0 && got == want, "--parse-special: the prompt's tokens are tokenize --parse-special's");
	diag("tokenize --parse-special: %ld tokens; generate --parse-special: %ld", want, got);
	json_decref(j);
	rc = cli_sh(&out, "'%s' generate --model %s --prompt \"$(printf %s)\" -n 1 --json 2>/dev/null", merilo, smol, prompt);
	j = rc == 0 && out ? json_loads(out, 0, NULL) : NULL;
	free(out);
	ok((long)json_integer_value(json_object_get(result(j, 0), "n_prompt_tokens")) > want,
	   "without it the markers are plain text (more tokens)");
	json_decref(j);
}

/* generate --json of model on the prompt text as it is (written as JSONL, special tokens
 * parsed): the reference a --chat-template run must equal. */
static json_t *run_plain(const char *m, const char *text, const char *args)
{
	char path[512], *out = NULL;
	snprintf(path, sizeof path, "%s/chat-prompt.jsonl", tmp);
	json_t *line = json_pack("{s:s}", "prompt", text);
	char *l = json_dumps(line, JSON_COMPACT);
	cli_write_file(path, l);
	free(l);
	json_decref(line);
	int rc = cli_sh(&out, "'%s' generate --model %s --prompts %s --parse-special --json %s 2>/dev/null", merilo, m, path,
			args);
	json_t *j = rc == 0 && out ? json_loads(out, 0, NULL) : NULL;
	free(out);
	return j;
}

/* Whether a and b's first results have the same prompt token count and ids. */
static bool same_result(json_t *a, json_t *b)
{
	json_t *ra = result(a, 0), *rb = result(b, 0);
	return ra && rb && json_integer_value(json_object_get(ra, "n_prompt_tokens")) > 0 &&
	       json_equal(json_object_get(ra, "n_prompt_tokens"), json_object_get(rb, "n_prompt_tokens")) &&
	       json_equal(json_object_get(ra, "ids"), json_object_get(rb, "ids"));
}

/* --chat-template: the prompt as the user message of the model's template (SmolLM2's ChatML
 * with its default system message), read with its special tokens; a model without one runs the
 * prompt as it is, with a warning; Qwen3's template (put into a copy of SmolLM2) renders
 * --thinking off's empty block, and under --thinking on a --stop string waits for </think>. */
static void t_chat_template(void)
{
	char smol[1024], qwen3[600], *out = NULL;
	snprintf(smol, sizeof smol, "%s/models-real/smollm2-135m-instruct-q4_1.gguf", fx);
	int rc = cli_sh(&out, "'%s' generate --model %s --prompt Zdravo -n 4 --json --chat-template auto 2>/dev/null", merilo,
			smol);
	json_t *j = rc == 0 && out ? json_loads(out, 0, NULL) : NULL;
	free(out);
	json_t *ref = run_plain(smol, "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging "
				      "Face<|im_end|>\n<|im_start|>user\nZdravo<|im_end|>\n<|im_start|>assistant\n", "-n 4");
	ok(same_result(j, ref), "--chat-template auto: the tokens and ids of SmolLM2's ChatML prompt written out");
	is_str(json_string_value(json_object_get(j, "chat_template")), "chatml", "--json records chat_template chatml");
	ok(json_is_null(json_object_get(j, "thinking")), "... and thinking null (no switch in SmolLM2's template)");
	json_decref(j);
	json_decref(ref);
	rc = cli_run(&out, "generate --model %s --prompt hello -n 2 --chat-template auto", model);
	ok(rc == 0 && out && strstr(out, "has no chat template: the prompts are used as they are"),
	   "auto on a model without a template: the prompt as it is, with a warning");
	free(out);
	CLI_EXPECT(2, "--chat-template wants auto, none, chatml", "an unknown template name (the names run takes)",
		   "generate --model %s --prompt x --chat-template vicuna", model);
	CLI_EXPECT(2, "--thinking wants on or off", "--thinking maybe", "generate --model %s --prompt x --thinking maybe", model);
	/* Qwen3's template in a copy of SmolLM2 */
	json_t *chat = json_load_file("tests/data/chat/expected.json", 0, NULL), *c;
	const char *tmpl = NULL;
	size_t i;
	json_array_foreach(json_object_get(chat, "cases"), i, c)
		if (!strcmp(json_string_value(json_object_get(c, "model")), "Qwen/Qwen3-0.6B"))
			tmpl = json_string_value(json_object_get(c, "template"));
	snprintf(qwen3, sizeof qwen3, "%s/smol-qwen3-template.gguf", tmp);
	if (!ok(tmpl && !gguf_rewrite(smol, qwen3, (struct gguf_edit){ .str_key = "tokenizer.chat_template", .str_val = tmpl }),
		"setup: SmolLM2 with Qwen3's chat template")) {
		json_decref(chat);
		return;
	}
	json_decref(chat);
	static const char *const modes[] = { "off", "on" };
	for (int k = 0; k < 2; k++) {
		rc = cli_sh(&out, "'%s' generate --model %s --prompt Zdravo -n 16 --stop e --stop a --stop ' ' --stop '\n' "
				  "--json --chat-template auto --thinking %s 2>/dev/null", merilo, qwen3, modes[k]);
		j = rc == 0 && out ? json_loads(out, 0, NULL) : NULL;
		free(out);
		ref = run_plain(qwen3, k ? "<|im_start|>user\nZdravo<|im_end|>\n<|im_start|>assistant\n"
					 : "<|im_start|>user\nZdravo<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n",
				"-n 16");
		json_t *rp = result(ref, 0), *rj = result(j, 0);
		ok(rp && rj && json_equal(json_object_get(rp, "n_prompt_tokens"), json_object_get(rj, "n_prompt_tokens")),
		   k ? "--thinking on: the turn opened as the template's default"
		     : "--thinking off: the turn opened with the empty <think> block");
		is_str(json_string_value(json_object_get(j, "thinking")), modes[k], "--json records the mode");
		const char *stop = res_str(j, 0, "stop_reason");
		const char *text = res_str(j, 0, "text");
		if (k)
			ok(stop && !strcmp(stop, "max_tokens") && json_integer_value(json_object_get(rj, "n_tokens")) == 16 &&
				   text && strpbrk(text, "ea \n"),
			   "--thinking on: no --stop string counts before a </think> (16 tokens, though the text holds them)");
		else
			ok(stop && !strcmp(stop, "stop"), "--thinking off: a --stop string stops it");
		json_decref(j);
		json_decref(ref);
	}
}

static void t_timing_and_errors(void)
{
	char *out = NULL;
	int rc = cli_run(&out, "generate --model %s --prompt hello -n 4 --timing", model);
	is_int(rc, 0, "--timing: exit 0");
	like(out, "prefill: ", "one prompt: the prefill line");
	like(out, "decode: 3 tokens in", "the decode line (n - 1 tokens)");
	like(out, "generated tokens/s", "the generated tokens/s line");
	free(out);
	CLI_EXPECT(2, "--temperature", "a negative temperature", "generate --model %s --prompt x --temperature -1", model);
	CLI_EXPECT(2, "--top-p", "top-p above 1", "generate --model %s --prompt x --top-p 1.5", model);
	/* top-p 0 cut nothing: the same sample as top-p 1 */
	CLI_EXPECT(2, "--top-p P in (0, 1]", "top-p 0", "generate --model %s --prompt x --temperature 0.8 --top-p 0", model);
	/* the training context (256 here): a longer prompt gave 0 tokens with exit 0; a prompt
	 * plus -n past it stops there, as the warning now says (it said it would run on) */
	char long_prompt[2100] = "";
	for (int i = 0; i < 400; i++)
		strcat(long_prompt, "word ");
	CLI_EXPECT(3, "prompt 1 has ", "a prompt longer than the training context is an error",
		   "generate --model %s --prompt '%s' -n 4", model, long_prompt);
	rc = cli_run(&out, "generate --model %s --prompt 'Once upon a time' -n 400 --json", model);
	is_int(rc, 0, "a prompt + -n past the context: exit 0");
	like(out, "it stops there after at most", "the warning says where it stops");
	like(out, "\"stop_reason\": \"ctx_full\"", "and the result says ctx_full");
	free(out);
	CLI_EXPECT(2, "exclude each other", "--ids with --json", "generate --model %s --prompt x --ids --json", model);
	CLI_EXPECT(2, "required", "no prompt", "generate --model %s", model);
	CLI_EXPECT(2, "--stop", "an empty stop string", "generate --model %s --prompt x --stop ''", model);
	CLI_EXPECT(0, "--max-new-tokens", "--help lists the options", "generate --help");
}

int main(void)
{
	merilo = cli_merilo();
	fx = fixtures_dir();
	if (!merilo)
		skip_all("MERILO is not set to an executable");
	if (!fx)
		skip_all("fixtures absent: ../shared/fixtures");
	snprintf(model, sizeof model, "%s/models/tiny-llama-ff192-f32.gguf", fx);
	if (!cli_tmpdir(tmp, sizeof tmp, "generate"))
		skip_all("no temporary folder");
	TEST(t_reference(), "one prompt: llama.cpp's greedy ids");
	TEST(t_batch(), "two prompts in one run: each as alone");
	TEST(t_prompts_file(), "--prompts FILE: lines and JSONL; --batch 1 = --batch 8; bad files");
	TEST(t_stop(), "--stop: the text ends before the stop string");
	TEST(t_sampling(), "seeded sampling: reproducible and recorded");
	TEST(t_timing_and_errors(), "--timing lines; usage errors exit 2");
	TEST(t_parse_special(), "--parse-special: written special tokens become their ids");
	TEST(t_chat_template(), "--chat-template and --thinking");
	cli_rmtree(tmp);
	return done_testing();
}
