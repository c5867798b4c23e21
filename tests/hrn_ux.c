/* hrn_ux.c — what `merilo run` tells a CI log and records for a reviewer
 * (issue 12 points 4, 12 and 14, and the few-shot seed), on the demo suite
 * (tasks/suites/demo.json, two multiple-choice tasks, --limit 2) with a
 * `merilo synth` model:
 * - piped (stderr not a terminal), run prints progress lines with units done,
 *   items/s and "ETA" (the 5% rule; a window of units scored together advances
 *   it at once: one line per task here, one per unit with --batch item); --quiet prints
 *   exactly one line, with the results path; perplexity, compare and bench
 *   --quiet one line;
 * - --kv-cache f32 is recorded in settings, the manifest and run.json, reaches
 *   the engine (other log-likelihoods than f16), a resume with f16 is refused,
 *   a bad value exits 2; generate --json and bench record it; results.json has
 *   model.load_s;
 * - settings.fewshot_seed is the seed of the few-shot draws (null zero-shot);
 * - items.jsonl records each item's context and each choice's continuation
 *   strings, which re-tokenize to the scored tokens (--store-logprobs' tokens),
 *   and gold_text / pred_text (the rendered choices).
 * - --resume naming a file, or nothing, and --out naming a file: the message names
 *   that path (a file's folder was read: "/tmp/run.json: cannot open"); run.json's
 *   options are null where not given (fewshot) or not applicable (store_topk).
 * - info, validate, --version, tokenize with standard output on /dev/full: exit 4
 *   and one line (they exited 0); a FIFO with no writer as an input file: exit 3
 *   at once (they hung in open()); compare --out DIR/ is a usage error (hidden
 *   files in DIR); a symbolic link loop is named as one, not "no such file"; a
 *   model under a folder whose name is not UTF-8 runs (its abs_path broke results.json).
 * Runs the binary named by $MERILO (set by `make test`). */
#include "tests/tap.h"
#include "tests/cli.h"

#include <jansson.h>
#include <math.h>
#include <regex.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/eng.h"

static char tmp[256];

#define RUN_ARGS "run --model %s/m.gguf --suite tasks/suites/demo.json --tasks commonsense,grammar --limit 2 " \
		 "--threads 2 --boot 100"

/* DIR/FILE parsed (owned), NULL where it cannot be read. */
static json_t *load(const char *dir, const char *file)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s/%s", tmp, dir, file);
	return json_load_file(path, 0, NULL);
}

/* text matches the extended regular expression re (^ and $ at line ends). */
static void matches(const char *text, const char *re, const char *name)
{
	regex_t rx;
	int bad = regcomp(&rx, re, REG_EXTENDED | REG_NOSUB | REG_NEWLINE);
	if (!ok(!bad && text && regexec(&rx, text, 0, NULL, 0) == 0, name))
		diag("  got: '%s'\n  expected to match: '%s'", text ? text : "(null)", re);
	if (!bad)
		regfree(&rx);
}

static void test_progress(void)
{
	char *out = NULL;
	/* cli_run's output is a pipe: stderr is not a terminal */
	int rc = cli_run(&out, RUN_ARGS " --out %s/piped", tmp, tmp);
	is_int(rc, 0, "piped run: exit 0");
	matches(out, "^merilo run: 8/16 units \\(50.0%\\), commonsense, 8 units, [0-9.]+ items/s, ETA [0-9?]",
	     "piped run: a task's window of 8 units advances the count by 8 in one line naming the task");
	is_int((long)cli_lines_with(out, "ETA"), 2, "piped run: one progress line per window (2 here)");
	ok(!strchr(out, '\r'), "piped run: no carriage returns in the log");
	free(out);
	rc = cli_run(&out, RUN_ARGS " --batch item --out %s/piped-item", tmp, tmp);
	is_int(rc, 0, "piped run, --batch item: exit 0");
	matches(out, "^merilo run: 1/16 units \\(6.2%\\), commonsense [a-zA-Z-]+, [0-9.]+ items/s, ETA [0-9?]",
	     "piped run, --batch item: a progress line after the first unit (each unit is more than 5% of 16)");
	is_int((long)cli_lines_with(out, "ETA"), 16, "piped run, --batch item: one progress line per 5% step crossed (16)");
	free(out);
	rc = cli_run(&out, RUN_ARGS " --out %s/quiet --quiet", tmp, tmp);
	is_int(rc, 0, "--quiet: exit 0");
	is_int((long)cli_count_lines(out), 1, "--quiet: exactly one line");
	char want[600];
	snprintf(want, sizeof want, "^merilo run: 16 units scored in [0-9.]+ s \\([0-9.]+ items/s\\); results: %s/quiet/"
		 "results.json$", tmp);
	matches(out, want, "--quiet: the line names the count and the results path");
	free(out);
	rc = cli_run(&out, "compare %s/quiet %s/quiet --quiet", tmp, tmp);
	is_int(rc, 0, "compare --quiet of a run with itself: exit 0");
	is_str(out, "merilo compare: pass (exit 0)\n", "compare --quiet: one line with the outcome");
	free(out);
	rc = cli_run(&out, "perplexity --model %s/m.gguf --file README.md --ctx 64 --quiet", tmp);
	is_int(rc, 0, "perplexity --quiet: exit 0");
	is_int((long)cli_count_lines(out), 1, "perplexity --quiet: one line");
	matches(out, "^perplexity: [0-9.]+ \\+/- [0-9.]+ \\([0-9]+ tokens scored, ctx 64, README.md\\)$",
	     "perplexity --quiet: the perplexity and what was scored");
	free(out);
}

/* The first choice's loglik of every item line, summed. */
static double loglik_sum(const char *dir)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s/items.jsonl", tmp, dir);
	char *text = cli_slurp(path);
	double sum = 0;
	for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
		json_t *j = json_loads(line, 0, NULL);
		sum += json_number_value(json_object_get(json_array_get(json_object_get(j, "choices"), 0), "loglik"));
		json_decref(j);
	}
	free(text);
	return sum;
}

static void test_kv_cache(void)
{
	int rc = cli_run(NULL, RUN_ARGS " --kv-cache f32 --quiet --out %s/kv32", tmp, tmp);
	is_int(rc, 0, "--kv-cache f32: exit 0");
	json_t *res = load("kv32", "results.json"), *run = load("kv32", "run.json"), *q = load("quiet", "results.json");
	json_t *set = json_object_get(res, "settings");
	is_str(json_string_value(json_object_get(set, "kv_cache")), "f32", "settings.kv_cache f32");
	is_str(json_string_value(json_object_get(json_object_get(json_object_get(res, "manifest"), "settings"),
						  "kv_cache")), "f32", "the manifest's settings.kv_cache f32");
	is_str(json_string_value(json_object_get(json_object_get(run, "options"), "kv_cache")), "f32",
	       "run.json options.kv_cache f32");
	is_str(json_string_value(json_object_get(json_object_get(q, "settings"), "kv_cache")), "f16",
	       "default: settings.kv_cache f16");
	json_t *load_s = json_object_get(json_object_get(res, "model"), "load_s");
	ok(json_is_number(load_s) && json_number_value(load_s) >= 0 && json_number_value(load_s) < 60,
	   "results.json model.load_s is the seconds the model took to open");
	const double a = loglik_sum("kv32"), b = loglik_sum("quiet");
	diag("sum of first-choice logliks: f32 cache %.9f, f16 cache %.9f", a, b);
	ok(isfinite(a) && isfinite(b) && a != b, "the f32 cache reaches the engine (other log-likelihoods)");
	char *out = NULL;
	rc = cli_run(&out, "generate --model %s/m.gguf --prompt Zdravo -n 2 --json --kv-cache f32", tmp);
	is_int(rc, 0, "generate --kv-cache f32: exit 0");
	like(out, "\"kv_cache\": \"f32\"", "generate --json records kv_cache f32");
	free(out);
	rc = cli_run(&out, "bench --model %s/m.gguf --prompt 8 --gen 2 --reps 1 --threads 1 --energy-window 0 "
		     "--kv-cache f32 --format json -o %s/bench.json --quiet", tmp, tmp);
	is_int(rc, 0, "bench --kv-cache f32 --quiet: exit 0");
	char want[600];
	snprintf(want, sizeof want, "merilo bench: 3 results; record: %s/bench.json\n", tmp);
	is_str(out, want, "bench --quiet -o: exactly one closing line");
	free(out);
	snprintf(want, sizeof want, "%s/bench.json", tmp);
	out = cli_slurp(want);
	like(out, "\"kv_cache\": \"f32\"", "bench's settings record kv_cache f32");
	free(out);
	CLI_EXPECT(2, "--kv-cache f16 differs from the resumed run's f32", "resume with another --kv-cache: refused",
		   "run --resume %s/kv32 --kv-cache f16", tmp);
	CLI_EXPECT(2, "--kv-cache wants f16 or f32, not 'f8'", "--kv-cache f8: exit 2", RUN_ARGS " --kv-cache f8", tmp);
	json_decref(res);
	json_decref(run);
	json_decref(q);
}

static void test_fewshot_seed(void)
{
	int rc = cli_run(NULL, RUN_ARGS " --fewshot 1 --seed 7 --quiet --out %s/fs7", tmp, tmp);
	is_int(rc, 0, "--fewshot 1 --seed 7: exit 0");
	json_t *fs = load("fs7", "results.json"), *zs = load("quiet", "results.json");
	json_t *seed = json_object_get(json_object_get(fs, "settings"), "fewshot_seed");
	ok(json_is_integer(seed) && json_integer_value(seed) == 7, "few-shot run: settings.fewshot_seed is 7, not null");
	ok(json_is_null(json_object_get(json_object_get(zs, "settings"), "fewshot_seed")),
	   "zero-shot run: settings.fewshot_seed is null");
	json_decref(fs);
	json_decref(zs);
}

/* Whether the tokens of text (no BOS) past the first skip are want's. */
static bool same_tokens(struct eng_model *m, const char *text, size_t len, const json_t *want, size_t skip)
{
	int32_t *ids = NULL;
	size_t n = 0;
	struct mrl_err err = { 0 };
	bool same = eng_tokenize(m, text, len, false, &ids, &n, &err) == 0 && n == skip + json_array_size(want);
	for (size_t i = 0; same && i < json_array_size(want); i++)
		same = ids[skip + i] == json_integer_value(json_array_get(want, i));
	free(ids);
	return same;
}

/* Every choice of every item line of DIR/items.jsonl: the recorded context and
 * continuation strings tokenize (as the run does: the context alone, then context +
 * continuation, whose tokens past the context's are the continuation's) to the
 * scored tokens (logprobs[j].tokens); gold_text and pred_text are the rendered choices. */
static void test_texts(void)
{
	int rc = cli_run(NULL, RUN_ARGS " --fewshot 1 --store-logprobs --store-topk 0 --quiet --out %s/texts", tmp, tmp);
	is_int(rc, 0, "run --store-logprobs: exit 0");
	char path[600];
	snprintf(path, sizeof path, "%s/m.gguf", tmp);
	struct eng_model *m = NULL;
	struct mrl_err err = { 0 };
	if (!ok(eng_model_open(&m, path, NULL, &err) == 0, "the model opens in the test")) {
		diag("%s", err.msg);
		return;
	}
	snprintf(path, sizeof path, "%s/texts/items.jsonl", tmp);
	char *text = cli_slurp(path);
	size_t n_items = 0, n_choices = 0, n_same = 0, n_texts = 0;
	for (char *line = text ? strtok(text, "\n") : NULL; line; line = strtok(NULL, "\n")) {
		json_t *j = json_loads(line, 0, NULL), *choices = json_object_get(j, "choices");
		const char *ctx = json_string_value(json_object_get(j, "context"));
		const char *gold = json_string_value(json_object_get(j, "gold_text"));
		json_t *acc = json_object_get(json_object_get(j, "metrics"), "acc");
		const char *pred = json_string_value(json_object_get(acc, "pred_text"));
		size_t gi = (size_t)json_integer_value(json_object_get(j, "gold_index"));
		size_t pi = (size_t)json_integer_value(json_object_get(acc, "pred_index"));
		const char *gcont = json_string_value(json_object_get(json_array_get(choices, gi), "continuation"));
		const char *pcont = json_string_value(json_object_get(json_array_get(choices, pi), "continuation"));
		/* the rendered choice is the continuation after the target delimiter (" ") */
		n_texts += gold && pred && gcont && pcont && !strcmp(gcont + 1, gold) && !strcmp(pcont + 1, pred);
		n_items++;
		for (size_t c = 0; ctx && c < json_array_size(choices); c++, n_choices++) {
			const char *cont = json_string_value(json_object_get(json_array_get(choices, c), "continuation"));
			json_t *want = json_object_get(json_array_get(json_object_get(j, "logprobs"), c), "tokens");
			if (!cont || !json_is_array(want))
				continue;
			char *whole = NULL;
			if (asprintf(&whole, "%s%s", ctx, cont) < 0)
				continue;
			int32_t *cids = NULL;
			size_t n_ctx = 0;
			if (eng_tokenize(m, ctx, strlen(ctx), false, &cids, &n_ctx, &err) == 0)
				n_same += same_tokens(m, whole, strlen(whole), want, n_ctx);
			free(cids);
			free(whole);
		}
		json_decref(j);
	}
	is_int((long)n_items, 16, "16 item lines (2 tasks x 4 languages x 2 items)");
	ok(n_choices >= 2 * n_items, "every line has a context and its choices");
	is_int((long)n_same, (long)n_choices, "every choice: context + continuation re-tokenize to the scored tokens");
	is_int((long)n_texts, (long)n_items, "gold_text and acc's pred_text are the rendered gold and predicted choices");
	free(text);
	eng_model_close(m);
}

/* run.json's options: null for what was not given (fewshot: each task's own k) or does not
 * apply (store_topk without --store-logprobs); they had C's -1 and the default 8. A run.json
 * written with the old -1 still resumes. */
static void test_run_json_options(void)
{
	int rc = cli_run(NULL, RUN_ARGS " --quiet --out %s/opts", tmp, tmp);
	is_int(rc, 0, "a run without --fewshot and --store-logprobs");
	json_t *j = load("opts", "run.json"), *opt = json_object_get(j, "options");
	ok(json_is_null(json_object_get(opt, "fewshot")), "run.json options.fewshot is null (not given)");
	ok(json_is_null(json_object_get(opt, "store_topk")), "options.store_topk is null (no --store-logprobs)");
	json_object_set_new(opt, "fewshot", json_integer(-1));
	char path[600];
	snprintf(path, sizeof path, "%s/opts/run.json", tmp);
	ok(json_dump_file(j, path, JSON_INDENT(2)) == 0, "run.json rewritten with the old fewshot -1");
	json_decref(j);
	rc = cli_run(NULL, "run --resume %s/opts --quiet", tmp);
	is_int(rc, 0, "... and it still resumes");
}

static void test_paths(void)
{
	char *out = NULL;
	cli_sh(NULL, "echo x > %s/afile", tmp);
	int rc = cli_run(&out, "run --resume %s/afile", tmp);
	is_int(rc, 3, "--resume FILE: exit 3");
	like(out, "afile: not a run folder (--resume takes the folder a run wrote)", "... naming FILE, not its folder's run.json");
	free(out);
	rc = cli_run(&out, "run --resume %s/none", tmp);
	is_int(rc, 3, "--resume of no such folder: exit 3");
	like(out, "none: no such run folder to resume", "... saying so");
	free(out);
	rc = cli_run(&out, RUN_ARGS " --quiet --out %s/afile", tmp, tmp);
	is_int(rc, 2, "--out FILE: a usage error (exit 2; it was 4)");
	like(out, "--out ", "... naming the option");
	like(out, "afile: exists and is not a folder", "... and FILE, not FILE/prompts");
	free(out);
}

/* A command whose output is its standard output exits 4 when that cannot be
 * written (> /dev/full: a full disk under `> out.json`), with one line naming it;
 * it exited 0 with the output lost. */
static void test_stdout_full(void)
{
	if (access("/dev/full", W_OK)) {
		skip("no /dev/full on this system", "standard output on a full disk");
		return;
	}
	static const char *const cmds[] = {
		"info tasks/suites/demo.json", "info tasks/suites/demo.json --json", "validate tasks/suites/demo.json",
		"--version", "info %s/m.gguf --json", "tokenize --model %s/m.gguf 'dobar dan'",
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		char args[256], name[400], *out = NULL;
		snprintf(args, sizeof args, cmds[i], tmp);
		int rc = cli_run(&out, "%s >/dev/full", args);
		snprintf(name, sizeof name, "merilo %s > /dev/full: exit 4", args);
		is_int(rc, 4, name);
		snprintf(name, sizeof name, "merilo %s > /dev/full: one line naming standard output or the output", args);
		ok(out && cli_count_lines(out) == 1 && (strstr(out, "standard output") || strstr(out, "output")), name);
		free(out);
	}
}

/* A FIFO with no writer given as an input file: refused or read as empty at once
 * (they waited in open() for a writer that never came). */
static void test_fifo_input(void)
{
	char fifo[300];
	snprintf(fifo, sizeof fifo, "%s/fifo", tmp);
	if (mkfifo(fifo, 0600)) {
		skip("mkfifo failed", "a FIFO as input");
		return;
	}
	static const char *const cmds[] = {
		"info %s", "validate %s", "run --model %s --suite tasks/suites/demo.json --limit 1 --out %s.run",
		"perplexity --model %s --file %s", "tokenize --model %s x",
	};
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
		char args[700], name[800];
		if (i == 3) {
			char model[300];
			snprintf(model, sizeof model, "%s/m.gguf", tmp);
			snprintf(args, sizeof args, cmds[i], model, fifo);
		} else {
			snprintf(args, sizeof args, cmds[i], fifo, fifo);
		}
		int rc = cli_sh(NULL, "timeout 60 '%s' %s </dev/null >/dev/null 2>&1", getenv("MERILO"), args);
		snprintf(name, sizeof name, "merilo %s, a FIFO with no writer: exit 3, not a hang", cmds[i]);
		is_int(rc, 3, name);
	}
}

/* Small path messages: compare --out DIR/ (it wrote DIR/.txt, DIR/.json: hidden
 * files in the folder); a symbolic link loop as the model is not "no such file". */
static void test_path_messages(void)
{
	char *out = NULL;
	int rc = cli_run(&out, "compare %s/a %s/b --out %s/", tmp, tmp, tmp);
	is_int(rc, 2, "compare --out DIR/: usage error");
	like(out, "--out wants a file prefix", "... saying a prefix is wanted, not a folder");
	free(out);
	cli_sh(NULL, "ln -s %s/loop2 %s/loop1 && ln -s %s/loop1 %s/loop2", tmp, tmp, tmp, tmp);
	rc = cli_run(&out, "run --model %s/loop1 --suite tasks/suites/demo.json", tmp);
	is_int(rc, 3, "run --model LOOP: exit 3");
	like(out, "loop1: Too many levels of symbolic links (the model)", "... naming the loop, not 'no such file'");
	free(out);
	/* a model in a folder whose name is not UTF-8: the manifest's abs_path made results.json
	 * fail to serialize ("out of memory"), after the whole run, and every --resume too */
	cli_sh(NULL, "mkdir -p %s/x$(printf '\\377') && cp %s/m.gguf %s/x$(printf '\\377')/", tmp, tmp, tmp);
	rc = cli_sh(&out, "'%s' run --model %s/x$(printf '\\377')/m.gguf --suite tasks/suites/demo.json --tasks commonsense "
			  "--limit 1 --threads 2 --quiet --out %s/latin1-run", getenv("MERILO"), tmp, tmp);
	is_int(rc, 0, "a model under a folder named in Latin-1: the run writes its results");
	if (rc)
		diag("%s", out ? out : "");
	free(out);
}

int main(void)
{
	if (!cli_merilo())
		skip_all("MERILO does not name the merilo binary (run through make test)");
	if (!cli_tmpdir(tmp, sizeof tmp, "hrn-ux"))
		skip_all("cannot make a temporary folder");
	setenv("MERILO_CACHE_DIR", tmp, 1);
	if (!ok(cli_run(NULL, "synth --preset tiny --dtype f16 -o %s/m.gguf", tmp) == 0, "synth model made")) {
		cli_rmtree(tmp);
		return done_testing();
	}
	TEST(test_progress(), "piped progress lines with ETA; --quiet prints one line");
	TEST(test_kv_cache(), "--kv-cache f32: recorded, effective, checked on resume");
	TEST(test_fewshot_seed(), "settings.fewshot_seed of a few-shot run");
	TEST(test_texts(), "items.jsonl: context and continuation strings re-tokenize to the scored tokens");
	TEST(test_paths(), "--resume and --out naming a file, or nothing");
	TEST(test_run_json_options(), "run.json options: null where not given or not applicable");
	TEST(test_stdout_full(), "standard output that cannot be written: exit 4, one line");
	TEST(test_fifo_input(), "a FIFO with no writer as an input file: exit 3 at once");
	TEST(test_path_messages(), "compare --out DIR/ refused; a link loop named as one");
	cli_rmtree(tmp);
	return done_testing();
}
