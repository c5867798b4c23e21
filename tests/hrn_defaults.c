/* hrn_defaults.c — defaults taken from the model, and refusals that say how to
 * fix them (issue 12, points 7 and 11).
 *
 * On a `merilo synth --preset tiny` model (training context 256):
 *  - perplexity's default chunk is min(training context, 512), not a fixed 512,
 *    and a model trained on fewer than 4 positions (the smallest chunk) is
 *    refused without --ctx rather than run past its training context;
 *  - a text shorter than two chunks is refused with a --ctx that fits;
 *  - --ctx past the training context, and generate's prompt + -n past it, run
 *    with one warning on stderr;
 *  - bench's default pp512+tg128 shrinks to fit and says so in one line.
 * On a suite: `info SUITE --tasks` lists tasks, languages and types; `run
 * --tasks nope` and `--lang sr-latn` name the valid values and the closest
 * (a case-insensitive match first, then the smallest edit distance if it is
 * at most a third of the name, at least 2).
 * Runs the binary named by $MERILO (set by `make test`).
 */
#include "tests/tap.h"
#include "tests/cli.h"

/* Occurrences of needle in text. */
static int count_of(const char *text, const char *needle)
{
	int n = 0;
	for (const char *p = text; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* A text of about 1600 tokens of the built-in vocabulary: 400 words. */
static int write_text(const char *path, int n_words)
{
	static const char *const words[] = { "alpha", "beta", "gamma", "delta", "kuća", "pas" };
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	unsigned x = 1;
	for (int i = 0; i < n_words; i++) {
		x = x * 1103515245u + 12345u;
		fprintf(f, "%s%s", i ? " " : "", words[(x >> 16) % 6]);
	}
	fprintf(f, "\n");
	return fclose(f);
}

static void t_ppl_default_ctx(const char *model, const char *text)
{
	char *out = NULL;
	int rc = cli_run(&out, "perplexity --model %s --file %s", model, text);
	is_int(rc, 0, "perplexity without --ctx runs on a 256-position model");
	like(out, "chunks of 256,", "the chunk is the training context (256), not 512");
	ok(!strstr(out, "warning"), "no warning for the default");
	free(out);
}

/* A model trained on fewer positions than the smallest chunk (4): the default
 * would have to run past its training context, so it is refused naming the --ctx
 * to give; that --ctx runs with the usual warning. */
static void t_ppl_short_trained(const char *dir, const char *text)
{
	char *out = NULL, model[600];
	snprintf(model, sizeof model, "%s/ctx3.gguf", dir);
	int rc = cli_run(NULL, "synth --preset tiny --ctx 3 -o %s", model);
	rc = rc ? rc : cli_run(&out, "perplexity --model %s --file %s --quiet", model, text);
	is_int(rc, 3, "a 3-position model without --ctx is refused (exit 3), not run at 512");
	like(out, "training context is 3 tokens", "the refusal says why");
	like(out, "give --ctx 4 or more", "and names the --ctx to give");
	ok(out && !strstr(out, "perplexity: "), "nothing is scored");
	free(out);
	rc = cli_sh(&out, "('%s' perplexity --model %s --file %s --ctx 4 2>&1 >/dev/null)", getenv("MERILO"), model, text);
	is_int(rc, 0, "--ctx 4 on it runs");
	is_int(count_of(out, "--ctx 4 exceeds the model's training context (3)"), 1, "with one warning");
	free(out);
}

static void t_ppl_refusal(const char *model, const char *short_text)
{
	char *out = NULL;
	int rc = cli_run(&out, "perplexity --model %s --file %s", model, short_text);
	is_int(rc, 3, "a text shorter than two chunks is refused (exit 3)");
	like(out, "fewer than 2 x ctx", "the refusal says why");
	like(out, "use --ctx ", "the refusal names --ctx");
	free(out);
}

static void t_ppl_warning(const char *model, const char *text)
{
	char *out = NULL;
	int rc = cli_sh(&out, "('%s' perplexity --model %s --file %s --ctx 300 2>&1 >/dev/null)", getenv("MERILO"),
			model, text);
	is_int(rc, 0, "--ctx 300 on a 256-position model still runs");
	is_int(count_of(out, "exceeds the model's training context (256)"), 1, "one warning on stderr");
	like(out, "--ctx 300", "the warning names the request");
	free(out);
	rc = cli_sh(&out, "('%s' perplexity --model %s --file %s --ctx 128 2>&1 >/dev/null)", getenv("MERILO"), model,
		    text);
	is_int(rc, 0, "--ctx 128 runs");
	ok(!strstr(out, "warning"), "no warning within the training context");
	free(out);
}

static void t_generate_warning(const char *model)
{
	char *out = NULL;
	int rc = cli_sh(&out, "('%s' generate --model %s --prompt hello -n 260 2>&1 >/dev/null)", getenv("MERILO"),
			model);
	is_int(rc, 0, "generate past the training context still runs");
	is_int(count_of(out, "exceeds the model's training context (256)"), 1, "one warning on stderr");
	free(out);
	rc = cli_sh(&out, "('%s' generate --model %s --prompt hello -n 8 2>&1 >/dev/null)", getenv("MERILO"), model);
	ok(rc == 0 && !strstr(out, "warning"), "no warning within it");
	free(out);
}

static void t_bench_fitted(const char *model)
{
	char *out = NULL;
	const char *fast = "--reps 1 --warmup 0 --energy-window 0 --format json";
	int rc = cli_sh(&out, "('%s' bench --model %s %s 2>&1 >/dev/null)", getenv("MERILO"), model, fast);
	is_int(rc, 0, "bench with the default sizes");
	is_int(count_of(out, "the default tests shrink to pp128+tg32"), 1, "one line says the tests shrank");
	ok(!strstr(out, "warning"), "and nothing exceeds the training context");
	free(out);
	rc = cli_sh(&out, "('%s' bench --model %s %s -p 300 -n 4 2>&1 >/dev/null)", getenv("MERILO"), model, fast);
	is_int(rc, 0, "bench with sizes given");
	ok(!strstr(out, "shrink"), "sizes the user gave are kept");
	is_int(count_of(out, "beyond the model's training context of 256"), 1, "with one warning");
	free(out);
}

static const char *mini_suite = "tests/data/run-mini.json";

static void t_info_tasks(void)
{
	char *out = NULL;
	int rc = cli_run(&out, "info %s --tasks", mini_suite);
	is_int(rc, 0, "info SUITE --tasks");
	like(out, "mc                   multiple_choice  en,sr-Cyrl,sr-Latn,hr\n", "a task with its type and languages");
	like(out, "ppl                  perplexity       en,sr-Cyrl,sr-Latn\n", "every task");
	is_int((int)cli_count_lines(out), 3, "one line per task, nothing else");
	free(out);
	rc = cli_run(&out, "info %s --tasks --json", mini_suite);
	is_int(rc, 0, "info SUITE --tasks --json");
	like(out, "\"id\": \"mc_fs\"", "the JSON names the tasks");
	free(out);
}

static void t_unknown_task(const char *model, const char *dir)
{
	char *out = NULL;
	int rc = cli_run(&out, "run --model %s --suite %s --tasks nope --out %s/r", model, mini_suite, dir);
	is_int(rc, 2, "--tasks nope is a usage error");
	like(out, "no task 'nope'", "it names the unknown task");
	like(out, "(tasks: mc, mc_fs, ppl;", "and lists the valid ones");
	ok(!strstr(out, "did you mean"), "nothing is close to 'nope': no suggestion");
	free(out);
	rc = cli_run(&out, "run --model %s --suite %s --tasks mc_f --out %s/r", model, mini_suite, dir);
	is_int(rc, 2, "--tasks mc_f is a usage error");
	like(out, "did you mean 'mc_fs'?", "the closest task by edit distance is suggested");
	free(out);
	rc = cli_run(&out, "run --model %s --suite %s --tasks MC --out %s/r", model, mini_suite, dir);
	is_int(rc, 2, "--tasks MC is a usage error (task names are case-sensitive)");
	like(out, "did you mean 'mc'?", "a case-insensitive match comes first");
	free(out);
}

static void t_unknown_lang(const char *model, const char *dir)
{
	char *out = NULL;
	int rc = cli_run(&out, "run --model %s --suite %s --lang sr-latn --out %s/r", model, mini_suite, dir);
	is_int(rc, 2, "--lang sr-latn is a usage error");
	like(out, "did you mean 'sr-Latn'?", "the tag in the right case is suggested");
	like(out, "(languages: en, sr-Cyrl, sr-Latn, hr)", "the valid tags are listed");
	free(out);
}

/* --lang leaves out a task with none of its languages: named in --tasks, a usage error (it was
 * recorded as run, on nothing, exit 0); else dropped from the run and settings.tasks. Empty
 * lists are usage errors (they selected everything). */
static void t_task_without_lang(const char *model, const char *dir)
{
	char *out = NULL, path[600];
	int rc = cli_run(&out, "run --model %s --suite tasks/suites/demo.json --tasks commonsense,translate_to --lang en "
			       "--limit 1 --out %s/nolang", model, dir);
	is_int(rc, 2, "--tasks translate_to --lang en (translate_to has no en): usage error");
	like(out, "--tasks translate_to: the task has none of --lang en (its languages: sr-Cyrl, sr-Latn, hr)",
	     "it names the task and its languages");
	free(out);
	rc = cli_run(&out, "run --model %s --suite tasks/suites/demo.json --lang en --limit 1 --boot 100 -q --out %s/en",
		     model, dir);
	is_int(rc, 0, "--lang en over the whole demo suite runs");
	free(out);
	snprintf(path, sizeof path, "%s/en/results.json", dir);
	char *res = cli_slurp(path);
	ok(res && strstr(res, "\"commonsense\"") && !strstr(res, "\"translate_to\"") && !strstr(res, "\"translate_from\""),
	   "the tasks without en are left out of the run's records");
	free(res);
	/* a leaderboard group where no run has the metric: a table of dashes, now with a warning */
	rc = cli_run(&out, "run --model %s --suite tasks/suites/demo.json --tasks text --lang en --limit 1 --boot 100 -q "
			   "--out %s/text", model, dir);
	is_int(rc, 0, "setup: a run of the text task, which has no acc");
	free(out);
	CLI_EXPECT(0, "warning: no run of group 2 has the metric acc", "leaderboard: a group without the metric is named",
		   "leaderboard %s/en %s/text --metric acc --format md", dir, dir);
	/* --boot 100: the CIs carry visible Monte Carlo noise, and the leaderboard now says so */
	CLI_EXPECT(0, "CIs from only 100 bootstrap resamples", "leaderboard: a run with --boot 100 is marked",
		   "leaderboard %s/en --format md", dir);
	CLI_EXPECT(2, "--tasks ',': an empty list", "--tasks , is a usage error (it selected every task)",
		   "run --model %s --suite %s --tasks , --out %s/r", model, mini_suite, dir);
	CLI_EXPECT(2, "--lang ',': an empty list", "--lang , is a usage error", "run --model %s --suite %s --lang , --out %s/r",
		   model, mini_suite, dir);
}

int main(void)
{
	if (!cli_merilo())
		skip_all("MERILO does not name the merilo binary (run through make test)");
	char dir[256], model[600], text[600], short_text[600];
	if (!cli_tmpdir(dir, sizeof dir, "defaults"))
		skip_all("cannot make a temporary folder");
	snprintf(model, sizeof model, "%s/tiny.gguf", dir);
	snprintf(text, sizeof text, "%s/text.txt", dir);
	snprintf(short_text, sizeof short_text, "%s/short.txt", dir);
	char *out = NULL;
	int rc = cli_run(&out, "synth --preset tiny --seed 1 -o %s", model);
	if (!ok(rc == 0 && write_text(text, 400) == 0 && write_text(short_text, 50) == 0, "a tiny model and texts"))
		diag("%s", out);
	free(out);
	if (rc == 0) {
		TEST(t_ppl_default_ctx(model, text), "perplexity's default ctx is min(training context, 512)");
		TEST(t_ppl_short_trained(dir, text), "a model trained on fewer than 4 positions needs --ctx");
		TEST(t_ppl_refusal(model, short_text), "a too-short text is refused with the --ctx to use");
		TEST(t_ppl_warning(model, text), "perplexity --ctx past the training context warns once");
		TEST(t_generate_warning(model), "generate prompt + -n past the training context warns once");
		TEST(t_bench_fitted(model), "bench's default sizes shrink to a small-context model");
		TEST(t_unknown_task(model, dir), "run --tasks with an unknown task lists and suggests the names");
		TEST(t_unknown_lang(model, dir), "run --lang sr-latn suggests sr-Latn");
		TEST(t_task_without_lang(model, dir), "--lang: a task with none of the languages is refused when named, else left out");
	}
	TEST(t_info_tasks(), "info SUITE --tasks lists tasks, types and languages");
	cli_rmtree(dir);
	return done_testing();
}
