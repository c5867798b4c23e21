/* hrn_progress.c — progress, Ctrl-C and --quiet of the commands beside run
 * (an audit's findings), on a `merilo synth` model:
 * - bench prints a line as each test finishes, with tests done/total and an ETA
 *   (it printed every line after the last test, without either); --quiet --db
 *   prints one closing line (it added "record N stored in" on stderr), and so
 *   does run --quiet --db (it added "added DIR ... to DB" on stdout);
 * - synth and generate print progress lines (piped: whole lines) once
 *   MERILO_TEST_PROGRESS_DELAY_MS has passed, none within the delay (the hook set
 *   to 10 minutes, so that no host is too slow for it), none with --quiet;
 * - an interrupted synth (SIGINT, SIGTERM) exits 4 with one line, removes its
 *   temporary file and leaves the old output as it was (it died by the signal,
 *   silent, leaving OUT.tmp.XXXXXX);
 * - score (400,000 units: 15 s) and import (200,000 items: 25 s) printed
 *   nothing until the end; now, piped, whole progress lines with a count and an
 *   ETA on stderr (score: units written, then bootstrap resamples; import: KiB
 *   read, then items built), none with their new --quiet, stdout the same;
 * - an interrupted generate keeps what was finished: text mode has printed the
 *   results in prompt order as they finished, --json prints the document with
 *   the unfinished prompts' stop_reason "interrupted"; exit 4, one line (it died
 *   by the signal with nothing printed).
 * Signals are sent once a progress line shows the command at work (polled, no
 * fixed sleep); MERILO_TEST_SLOW_MS slows each tensor or prompt so there is
 * work left. Nothing here asserts a duration. Runs the binary named by $MERILO. */
#include "tests/tap.h"
#include "tests/cli.h"
#include "tests/spawn.h"

#include "harness/run.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static char tmp[256];

static char *path_in(char *buf, size_t size, const char *name)
{
	snprintf(buf, size, "%s/%s", tmp, name);
	return buf;
}

static void t_bench(void)
{
	char *out = NULL;
	int rc = cli_run(&out, "bench --model %s/m.gguf --prompt 8 --gen 2 --reps 1 --threads 1 --energy-window 0 "
		     "--format json -o %s/b.json", tmp, tmp);
	is_int(rc, 0, "bench: exit 0");
	like(out, "merilo bench: pp8, 1 thread: ", "a line per test ...");
	like(out, " [1/3, ETA ", "... the first says 1 of 3 tests and the time left");
	like(out, " [2/3, ETA ", "... the second 2 of 3");
	like(out, "(median) [3/3]\n", "... the last 3 of 3, no ETA");
	free(out);
	rc = cli_run(&out, "bench --model %s/m.gguf --prompt 8 --gen 2 --reps 1 --threads 1 --energy-window 0 "
		     "--format json -o %s/bq.json --quiet --db %s/h.db", tmp, tmp, tmp);
	is_int(rc, 0, "bench --quiet --db: exit 0");
	char want[700];
	snprintf(want, sizeof want, "merilo bench: 3 results; record: %s/bq.json\n", tmp);
	is_str(out, want, "bench --quiet --db: one closing line, no 'record N stored'");
	free(out);
	rc = cli_run(&out, "run --model %s/m.gguf --suite tasks/suites/demo.json --tasks commonsense --limit 1 "
		     "--boot 10 --quiet --out %s/r --db %s/h.db", tmp, tmp, tmp);
	is_int(rc, 0, "run --quiet --db: exit 0");
	is_int((long)cli_count_lines(out), 1, "run --quiet --db: one line, no 'added DIR'");
	free(out);
}

static void t_synth_progress(void)
{
	char *out = NULL;
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "0", 1);
	int rc = cli_run(&out, "synth --preset tiny -o %s/p.gguf", tmp);
	is_int(rc, 0, "synth with progress from the start: exit 0");
	like(out, "merilo synth: 39/39 tensors (100.0%), output.weight, ", "piped: whole lines, tensors done of all");
	like(out, "tensors/s, ETA ", "... with the rate and the ETA");
	free(out);
	rc = cli_run(&out, "synth --preset tiny -o %s/p.gguf --quiet", tmp);
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "600000", 1); /* "within the delay", whatever the host */
	is_int(rc, 0, "synth --quiet: exit 0");
	ok(out && !strstr(out, "ETA") && cli_count_lines(out) == 1, "synth --quiet: no progress, one line");
	free(out);
	rc = cli_run(&out, "synth --preset tiny -o %s/p.gguf", tmp);
	ok(rc == 0 && out && !strstr(out, "ETA"), "a synth shorter than the delay prints no progress");
	free(out);
}

/* How many entries of tmp start with prefix. */
static size_t files_starting(const char *prefix)
{
	size_t n = 0;
	DIR *d = opendir(tmp);
	for (struct dirent *e; d && (e = readdir(d));)
		n += !strncmp(e->d_name, prefix, strlen(prefix));
	if (d)
		closedir(d);
	return n;
}

static void t_synth_signal(int sig, const char *sig_name)
{
	char out[600], err[600], name[200];
	path_in(out, sizeof out, "old.gguf");
	path_in(err, sizeof err, "synth.err");
	cli_write_file(out, "old\n");
	unlink(err); /* the last test's log would answer the wait */
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "0", 1);
	setenv("MERILO_TEST_SLOW_MS", "100", 1);
	pid_t pid = spawn_merilo(cli_merilo(), NULL, err, (const char *const[]){ "synth", "--preset", "tiny", "-o", out, NULL });
	unsetenv("MERILO_TEST_SLOW_MS");
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "600000", 1); /* "within the delay", whatever the host */
	snprintf(name, sizeof name, "synth at work (a progress line) before %s", sig_name);
	ok(spawn_wait_text(err, "tensors (", pid), name);
	ok(files_starting("old.gguf.tmp.") == 1, "... writing its temporary file");
	kill(pid, sig);
	int got_sig = 0, rc = spawn_wait(pid, &got_sig);
	snprintf(name, sizeof name, "%s: exit 4 (not killed by the signal)", sig_name);
	is_int(rc, 4, name);
	if (rc != 4)
		diag("  killed by signal %d", got_sig);
	char *text = cli_slurp(err), want[700];
	snprintf(want, sizeof want, "merilo synth: interrupted (%s); nothing was written to %s\n", sig_name, out);
	like(text, want, "one line says it was interrupted and nothing was written");
	free(text);
	is_int((long)files_starting("old.gguf.tmp."), 0, "the temporary file is removed");
	text = cli_slurp(out);
	is_str(text, "old\n", "the old output is untouched");
	free(text);
}

static void t_generate_progress(void)
{
	char prompts[600], *out = NULL;
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "0", 1);
	int rc = cli_run(&out, "generate --model %s/m.gguf --prompts %s -n 2 --batch 4 2>&1 >/dev/null", tmp,
			 path_in(prompts, sizeof prompts, "prompts.txt"));
	is_int(rc, 0, "generate with progress from the start: exit 0");
	like(out, "merilo generate: 30/30 prompts (100.0%), prompt ", "piped: whole lines, prompts done of all");
	like(out, "prompts/s, ETA ", "... with the rate and the ETA");
	free(out);
	rc = cli_run(&out, "generate --model %s/m.gguf --prompts %s -n 2 --quiet 2>&1 >/dev/null", tmp, prompts);
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "600000", 1); /* "within the delay", whatever the host */
	ok(rc == 0 && out && !*out, "generate --quiet: nothing on stderr");
	free(out);
	rc = cli_run(&out, "generate --model %s/m.gguf --prompts %s -n 2 2>&1 >/dev/null", tmp, prompts);
	ok(rc == 0 && out && !*out, "a generate shorter than the delay prints no progress");
	free(out);
}

/* A COPA file of n items for import, Latin script (en, hr). */
static void write_copa(const char *name, size_t n)
{
	char path[600];
	FILE *f = fopen(path_in(path, sizeof path, name), "w");
	for (size_t i = 0; f && i < n; i++)
		fprintf(f, "{\"premise\": \"Premise number %zu was written.\", \"choice1\": \"Alpha %zu.\", \"choice2\": "
			   "\"Beta %zu.\", \"question\": \"%s\", \"label\": %zu, \"idx\": %zu}\n", i, i, i,
			i % 2 ? "cause" : "effect", i % 2, i);
	if (f)
		fclose(f);
}

static void t_import_progress(void)
{
	char cmd[1400], path[600], *err = NULL, *out = NULL;
	write_copa("en.jsonl", 60);
	write_copa("hr.jsonl", 60);
	snprintf(cmd, sizeof cmd, "import copa --lang en=%s/en.jsonl --lang hr=%s/hr.jsonl", tmp, tmp);
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "0", 1);
	int rc = cli_run(NULL, "%s -o %s/copa.json 2>%s/imp.err >%s/imp.out", cmd, tmp, tmp, tmp);
	is_int(rc, 0, "import with progress from the start: exit 0");
	err = cli_slurp(path_in(path, sizeof path, "imp.err"));
	like(err, "KiB (100.0%), reading the inputs, ", "piped: whole lines, KiB of the inputs read of all ...");
	like(err, "merilo import: 60/60 items (100.0%), building the suite, ", "... then items built of all");
	ok(cli_lines_with(err, "ETA ") >= 2, "... each with the ETA");
	free(err);
	rc = cli_run(&out, "%s -o - 2>/dev/null", cmd);
	char *file = cli_slurp(path_in(path, sizeof path, "copa.json"));
	ok(rc == 0 && out && file && !strcmp(out, file), "-o -: stdout is the suite, as written to a file");
	free(out);
	free(file);
	rc = cli_run(&out, "%s -o %s/copa.json --quiet", cmd, tmp);
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "600000", 1); /* "within the delay", whatever the host */
	is_int(rc, 0, "import --quiet: exit 0");
	ok(out && !strstr(out, "ETA") && cli_count_lines(out) == 1, "import --quiet: no progress, one line");
	free(out);
	rc = cli_run(&out, "%s -o %s/copa.json", cmd, tmp);
	ok(rc == 0 && out && !strstr(out, "ETA"), "an import shorter than the delay prints no progress");
	free(out);
}

static void t_score_progress(void)
{
	char preds[600], cmd[1400], path[600];
	FILE *f = fopen(path_in(preds, sizeof preds, "preds.jsonl"), "w");
	for (int l = 0; f && l < 2; l++)
		for (int i = 0; i < 60; i++)
			fprintf(f, "{\"task\": \"copa\", \"item\": \"%d\", \"language\": \"%s\", \"choice\": %d}\n", i,
				l ? "hr" : "en", i % 3 == 0);
	if (f)
		fclose(f);
	snprintf(cmd, sizeof cmd, "score --suite %s/copa.json --predictions %s --system s --boot 50 -o %s/scored", tmp, preds,
		 tmp);
	int rc = cli_run(NULL, "%s 2>%s/score.err >%s/score.out", cmd, tmp, tmp);
	char *err = cli_slurp(path_in(path, sizeof path, "score.err")), *plain = cli_slurp(path_in(path, sizeof path, "score.out"));
	ok(rc == 0 && err && !*err, "score shorter than the delay: exit 0, nothing on stderr");
	free(err);
	cli_rmtree(path_in(path, sizeof path, "scored"));
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "0", 1);
	rc = cli_run(NULL, "%s 2>%s/score.err >%s/score.out", cmd, tmp, tmp);
	is_int(rc, 0, "score with progress from the start: exit 0");
	err = cli_slurp(path_in(path, sizeof path, "score.err"));
	char *busy = cli_slurp(path_in(path, sizeof path, "score.out"));
	like(err, "merilo score: 120/120 units (100.0%), items.jsonl, ", "piped: whole lines, units written of all ...");
	/* the pieces run on threads: which finishes last is not fixed, so not which the last line names */
	like(err, "merilo score: 150/150 resamples (100.0%), copa ", "... then bootstrap resamples of all");
	like(err, " resamples (", "... each line naming what it resamples");
	ok(err && strstr(err, "), copa en - hr, ") && strstr(err, "), copa en, ") && strstr(err, "), copa hr, "),
	   "... (each language and the pair: a piece's 50 of 150 always crosses a 5% step)");
	ok(cli_lines_with(err, "ETA ") >= 2, "... each with the ETA");
	ok(plain && busy && !strcmp(plain, busy), "stdout the same as without progress");
	free(err);
	free(busy);
	free(plain);
	cli_rmtree(path_in(path, sizeof path, "scored"));
	char *out = NULL;
	rc = cli_run(&out, "%s --quiet", cmd);
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "600000", 1); /* "within the delay", whatever the host */
	is_int(rc, 0, "score --quiet: exit 0");
	ok(out && !strstr(out, "ETA") && cli_count_lines(out) == 1, "score --quiet: no progress, one line");
	like(out, "results: ", "... naming the results");
	free(out);
}

/* A task with a breakdown: its values' bootstraps are counted in the total (2 languages,
 * 1 pair and 5 values in each language: 13 x B), and the line names the value. */
static void t_score_progress_breakdown(void)
{
	char preds[600], path[600];
	FILE *f = fopen(path_in(preds, sizeof preds, "preds-bd.jsonl"), "w");
	for (int l = 0; f && l < 2; l++)
		for (int i = 0; i < 34; i++) /* the task's items, b00 .. b33; b21 has no en */
			if (l || i != 21)
				fprintf(f, "{\"task\": \"by_field\", \"item\": \"b%02d\", \"language\": \"%s\", \"choice\": %d}\n",
					i, l ? "sr-Latn" : "en", i % 2);
	if (f)
		fclose(f);
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "0", 1);
	int rc = cli_run(NULL,
			 "score --suite tests/data/sample/suite.json --tasks by_field --lang en,sr-Latn --predictions %s "
			 "--system s --boot 20 -o %s/scored-bd 2>%s/score-bd.err >/dev/null",
			 preds, tmp, tmp);
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "600000", 1);
	char *err = cli_slurp(path_in(path, sizeof path, "score-bd.err"));
	is_int(rc, 0, "score of a task with a breakdown: exit 0");
	like(err, "merilo score: 260/260 resamples (100.0%), by_field ", "the values' resamples are counted ...");
	like(err, "/260 resamples (", "... in the total from the start");
	ok(err && !strstr(err, "/60 resamples"), "... (not 3 x B, the whole task's alone)");
	ok(err && strstr(err, "), by_field en, astronomija, ") && strstr(err, "), by_field sr-Latn, zoologija, "),
	   "the lines name the values (each piece's 20 of 260 crosses a 5% step)");
	free(err);
	cli_rmtree(path_in(path, sizeof path, "scored-bd"));
}

static void t_generate_signal(bool json)
{
	char prompts[600], out[600], err[600];
	path_in(prompts, sizeof prompts, "prompts.txt");
	path_in(out, sizeof out, "gen.out");
	path_in(err, sizeof err, "gen.err");
	unlink(err); /* the last test's log would answer the wait */
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "0", 1);
	setenv("MERILO_TEST_SLOW_MS", "100", 1);
	char model[600];
	snprintf(model, sizeof model, "%s/m.gguf", tmp);
	pid_t pid = spawn_merilo(cli_merilo(), out, err,
				 (const char *const[]){ "generate", "--model", model, "--prompts", prompts, "-n", "2",
							"--batch", "2", json ? "--json" : "--timing", NULL });
	unsetenv("MERILO_TEST_SLOW_MS");
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "600000", 1); /* "within the delay", whatever the host */
	ok(spawn_wait_text(err, ": 3/30 prompts", pid), "generate at work (3 prompts done: piped lines come at 5% steps, 2, 3, 5, ...)");
	kill(pid, json ? SIGTERM : SIGINT);
	int got_sig = 0, rc = spawn_wait(pid, &got_sig);
	is_int(rc, 4, json ? "--json, SIGTERM: exit 4" : "SIGINT: exit 4");
	if (rc != 4)
		diag("  killed by signal %d", got_sig);
	char *text = cli_slurp(err), *res = cli_slurp(out);
	size_t n_gen = 0, n_printed = 0;
	const char *at = text ? strstr(text, "merilo generate: interrupted (") : NULL;
	ok(at != NULL, "one line says it was interrupted");
	if (json) {
		ok(at && sscanf(strstr(at, "); ") ? strstr(at, "); ") + 3 : "", "%zu of 30", &n_gen) == 1 && n_gen >= 3 &&
		   n_gen < 30, "... and how many prompts were generated");
		json_t *doc = json_loads(res ? res : "", 0, NULL), *arr = json_object_get(doc, "results");
		size_t n_done = 0, n_int = 0;
		for (size_t i = 0; i < json_array_size(arr); i++) {
			const char *why = json_string_value(json_object_get(json_array_get(arr, i), "stop_reason"));
			n_int += why && !strcmp(why, "interrupted");
			n_done += why && strcmp(why, "interrupted");
		}
		is_int((long)json_array_size(arr), 30, "--json: the document, one entry per prompt");
		is_int((long)n_done, (long)n_gen, "... the finished ones kept");
		is_int((long)n_int, 30 - (long)n_gen, "... the others with stop_reason interrupted");
		json_decref(doc);
	} else {
		ok(at && sscanf(at, "merilo generate: interrupted (SIGINT); %zu of 30 prompts were generated; the results of "
				"the first %zu are printed", &n_gen, &n_printed) == 2 && n_printed >= 3,
		   "... how many were generated and printed");
		is_int((long)cli_count_lines(res), (long)n_printed, "text mode: the results finished in order were printed");
		ok(!cli_lines_with(text, "generate: 30 prompts"), "no --timing line after an interruption");
	}
	free(text);
	free(res);
}

/* run's ETA by estimated work (hrn_progress_eta_s, no clock): 50 of 100 units done, but
 * they were 100 of 1000 units of work in 10 s: 900 left at 10 a second is 90 s, where the
 * unit count had said 10 s (a suite's multiple-choice units before its perplexity documents
 * and generations: the ETA said 11 s with 39 s left). Without weights, the unit rate. */
/* run's closing bootstraps: a progress stage of their own after the delay (the test hook:
 * from the start), counted as score counts them (3 languages, 3 pairs, 3 metrics: 18 x B),
 * none under --quiet. */
static void t_run_resamples(void)
{
	char err_path[600];
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "0", 1);
	int rc = cli_run(NULL, "run --model %s/m.gguf --suite tasks/suites/demo.json --tasks commonsense --lang en,sr-Cyrl,hr "
			 "--limit 2 --boot 40 --threads 2 --out %s/rr 2>%s >/dev/null", tmp, tmp,
			 path_in(err_path, sizeof err_path, "rr.err"));
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "600000", 1);
	char *err = cli_slurp(err_path);
	is_int(rc, 0, "run: exit 0");
	like(err, "merilo run: 720/720 resamples (100.0%), commonsense ", "its bootstraps' progress, whole lines when piped");
	free(err);
	char *out = NULL;
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "0", 1);
	rc = cli_run(&out, "run --model %s/m.gguf --suite tasks/suites/demo.json --tasks commonsense --limit 2 --boot 40 "
		     "--quiet --out %s/rq", tmp, tmp);
	setenv("MERILO_TEST_PROGRESS_DELAY_MS", "600000", 1);
	ok(rc == 0 && out && !strstr(out, "resamples"), "none under --quiet");
	free(out);
}

static void t_eta_by_work(void)
{
	struct hrn_progress p;
	hrn_progress_init(&p, HRN_PROGRESS_OFF, 100, 0);
	ok(hrn_progress_eta_s(&p, 1.0) < 0, "nothing done: no ETA");
	hrn_progress_weigh(&p, 1000, 0);
	for (int i = 0; i < 50; i++)
		hrn_progress_advance_work(&p, 1, 2.0, NULL);
	ok(fabs(hrn_progress_eta_s(&p, 10.0) - 90.0) < 1e-9, "by work: 900 left at 10/s = 90 s");
	hrn_progress_init(&p, HRN_PROGRESS_OFF, 100, 20);
	hrn_progress_advance(&p, 40, NULL);
	ok(fabs(hrn_progress_eta_s(&p, 10.0) - 10.0) < 1e-9, "by units (no weights, 20 resumed): 40 left at 4/s = 10 s");
}

int main(void)
{
	if (!cli_merilo())
		skip_all("MERILO does not name the merilo binary (run through make test)");
	if (!cli_tmpdir(tmp, sizeof tmp, "hrn-progress"))
		skip_all("cannot make a temporary folder");
	setenv("MERILO_CACHE_DIR", tmp, 1);
	if (!ok(cli_run(NULL, "synth --preset tiny --dtype f16 -o %s/m.gguf", tmp) == 0, "synth model made")) {
		cli_rmtree(tmp);
		return done_testing();
	}
	char path[600];
	FILE *f = fopen(path_in(path, sizeof path, "prompts.txt"), "w");
	for (int i = 1; f && i <= 30; i++)
		fprintf(f, "Prompt number %d\n", i);
	if (f)
		fclose(f);
	TEST(t_eta_by_work(), "run's ETA: the work left at the work rate, not the units left");
	TEST(t_bench(), "bench: a line per test with done/total and ETA; --quiet --db of bench and run: one line");
	TEST(t_synth_progress(), "synth: progress lines, none with --quiet or within the delay");
	TEST(t_synth_signal(SIGINT, "SIGINT"), "synth interrupted by SIGINT: exit 4, no temporary file, OUT kept");
	TEST(t_synth_signal(SIGTERM, "SIGTERM"), "synth interrupted by SIGTERM: the same");
	TEST(t_generate_progress(), "generate: progress lines, none with --quiet or within the delay");
	TEST(t_import_progress(), "import: progress lines (KiB read, items built), none with --quiet or within the delay");
	TEST(t_score_progress(), "score: progress lines (units written, resamples), none with --quiet; stdout the same");
	TEST(t_score_progress_breakdown(), "score: a breakdown's resamples counted in the progress");
	TEST(t_run_resamples(), "run: its closing bootstraps show progress too");
	TEST(t_generate_signal(false), "generate interrupted: the finished results printed, exit 4");
	TEST(t_generate_signal(true), "generate --json interrupted: the document with the finished results");
	cli_rmtree(tmp);
	return done_testing();
}
