/* hrn_score.c — `merilo score`: predictions made elsewhere become an ordinary
 * run folder. On the real BENCHić COPA predictions of gpt-3.5-turbo and gpt-4
 * (../shared/fixtures; skipped where absent) the accuracies and the sr-Cyrl vs
 * sr-Latn McNemar p-values come out as published (79.4 vs 83.6, p 0.0170;
 * 96.6 vs 97.0, p 0.7744), and compare, leaderboard and report take the runs.
 * On a small suite made here every error path is a one-line message naming the
 * file and line: a missing prediction, an unknown item or language, a choice out
 * of range, malformed JSON, a second prediction, generated text. Runs the binary
 * named by $MERILO (set by `make test`). */
#include "records/item.h"
#include "records/results.h"
#include "tests/tap.h"
#include "tests/cli.h"

#include <math.h>
#include <unistd.h>

static char tmp[256];
static char suite[400];   /* the small suite: copa, en + hr, items 0, 1, 2 (gold 0, 1, 0) */

/* The aggregate value of metric acc of (task copa, lang) in r; NaN when absent. */
static const struct rec_metric_value *acc_metric(const struct rec_results *r, const char *lang)
{
	for (size_t i = 0; i < r->n_aggregates; i++)
		if (!strcmp(r->aggregates[i].task, "copa") && !strcmp(r->aggregates[i].language, lang))
			for (size_t m = 0; m < r->aggregates[i].n_metrics; m++)
				if (!strcmp(r->aggregates[i].metrics[m].name, "acc"))
					return &r->aggregates[i].metrics[m];
	return NULL;
}

static double acc_of(const struct rec_results *r, const char *lang)
{
	const struct rec_metric_value *m = acc_metric(r, lang);
	return m ? m->value : NAN;
}

/* The comparison of acc between languages a and b, or NULL. */
static const struct rec_comparison *cmp_of(const struct rec_results *r, const char *a, const char *b)
{
	for (size_t i = 0; i < r->n_comparisons; i++)
		if (!strcmp(r->comparisons[i].metric, "acc") && !strcmp(r->comparisons[i].language_a, a) &&
		    !strcmp(r->comparisons[i].language_b, b))
			return &r->comparisons[i];
	return NULL;
}

/* Write text to tmp/name; the path into buf. */
static char name_buf[256];
#define NAME(...) (snprintf(name_buf, sizeof name_buf, __VA_ARGS__), name_buf)

static const char *put(char *buf, size_t size, const char *name, const char *text)
{
	snprintf(buf, size, "%s/%s", tmp, name);
	cli_write_file(buf, text);
	return buf;
}

/* ------------------------------------------------------- BENCHić fixtures */

/* Score one system's published predictions; check acc sr-Cyrl / sr-Latn and the
 * sr-Cyrl vs sr-Latn McNemar counts and p (results.json and the printed summary). */
static void t_benchich(const char *fx, const char *system, const char *map, double acc_cyrl, double acc_latn,
		       long b, long c, const char *p_printed)
{
	char *out = NULL, dir[600], path[700];
	snprintf(dir, sizeof dir, "%s/%s", tmp, system);
	int rc = cli_run(&out, "score --suite %s/copa.json --predictions %s/data/benchich-copa/systems/%s.predictions.json "
			       "--system %s %s -o %s", tmp, fx, system, system, map, dir);
	is_int(rc, 0, "score exits 0");
	like(out, p_printed, "the summary prints the sr-Cyrl - sr-Latn McNemar p");
	like(out, "engine: none (scored from predictions)", "the summary says no engine ran");
	free(out);
	struct rec_results r;
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/results.json", dir);
	is_int(rec_results_read(path, &r, &err), 0, "results.json reads back");
	is_near(acc_of(&r, "sr-Cyrl"), acc_cyrl, 1e-12, "acc sr-Cyrl");
	is_near(acc_of(&r, "sr-Latn"), acc_latn, 1e-12, "acc sr-Latn");
	const struct rec_comparison *k = cmp_of(&r, "sr-Cyrl", "sr-Latn");
	ok(k != NULL, "results.json has the sr-Cyrl vs sr-Latn comparison of acc");
	if (k) {
		is_int(k->n_pairs, 500, "500 pairs");
		is_int(k->mcnemar_b, b, "McNemar b: right in sr-Cyrl only");
		is_int(k->mcnemar_c, c, "McNemar c: right in sr-Latn only");
		char p4[16];
		snprintf(p4, sizeof p4, "%.4f", k->mcnemar_p);
		is_str(p4, p_printed, "McNemar p to 4 decimals");
	}
	json_t *eng = json_object_get(r.manifest.settings, "engine");
	is_str(json_string_value(eng), "none (scored from predictions)", "the manifest says engine none");
	json_t *pred = json_object_get(r.manifest.settings, "predictions");
	is_int(json_string_length(json_object_get(pred, "sha256")), 64, "the manifest has the predictions' sha256");
	is_str(json_string_value(json_object_get(r.manifest.settings, "system")), system, "the manifest names the system");
	ok(r.manifest.suite_sha256 && strlen(r.manifest.suite_sha256) == 64, "the manifest has the suite hash");
	is_int(r.settings.seed, 1234, "the seed is recorded");
	is_str(r.model.name, system, "the run is known by the system's name");
	is_int(r.n_perf, 0, "no performance section (nothing was measured)");
	rec_results_release(&r);
	snprintf(path, sizeof path, "%s/items.jsonl", dir);
	is_int(cli_file_lines(path), 1500, "items.jsonl has 500 items x 3 languages");
	char *items = cli_slurp(path);
	like(items, "\"choices\":[]", "items carry no choice scores");
	ok(items && !strstr(items, "\"loglik\""), "no log-likelihood is written");
	free(items);
}

static void t_benchich_tools(void)
{
	char *out = NULL;
	int rc = cli_run(&out, "compare %s/gpt-3.5-turbo %s/gpt-4", tmp, tmp);
	is_int(rc, 0, "compare gpt-3.5-turbo -> gpt-4: no regression");
	like(out, "79.4", "compare shows the base's sr-Cyrl accuracy");
	like(out, "96.6", "compare shows the candidate's sr-Cyrl accuracy");
	free(out);
	rc = cli_run(&out, "compare %s/gpt-4 %s/gpt-3.5-turbo", tmp, tmp);
	is_int(rc, 1, "compare gpt-4 -> gpt-3.5-turbo: a gated regression");
	free(out);
	/* the gaps: each run's mean gap is the difference of its published accuracies, since every
	 * item is in every language (sr-Cyrl 79.4 / 96.6, sr-Latn 83.6 / 97.0, hr 85.4 / 97.2) */
	cli_sh(&out, "'%s' compare %s/gpt-3.5-turbo %s/gpt-4 --format json 2>/dev/null", cli_merilo(), tmp, tmp);
	json_t *j = out ? json_loads(out, 0, NULL) : NULL, *g;
	size_t i;
	int n_checked = 0;
	json_array_foreach(json_object_get(j, "gaps"), i, g) {
		const char *a = json_string_value(json_object_get(g, "language")), *b = json_string_value(json_object_get(g, "language_b"));
		const double base = json_real_value(json_object_get(g, "base")), cand = json_real_value(json_object_get(g, "candidate"));
		if (!strcmp(a, "sr-Cyrl") && !strcmp(b, "sr-Latn"))
			n_checked += fabs(base + 0.042) < 1e-12 && fabs(cand + 0.004) < 1e-12 &&
				     fabs(json_real_value(json_object_get(g, "diff")) - 0.038) < 1e-12;
		if (!strcmp(a, "sr-Cyrl") && !strcmp(b, "hr"))
			n_checked += fabs(base + 0.060) < 1e-12 && fabs(cand + 0.006) < 1e-12 &&
				     json_integer_value(json_object_get(g, "n_pairs")) == 500;
	}
	is_int(n_checked, 2, "the sr-Cyrl - sr-Latn gap goes from -4.2 to -0.4 points, sr-Cyrl - hr from -6.0 to -0.6");
	json_decref(j);
	free(out);
	rc = cli_run(&out, "leaderboard %s/gpt-3.5-turbo %s/gpt-4", tmp, tmp);
	is_int(rc, 0, "leaderboard takes both runs");
	like(out, "| 1 | gpt-4 | gpt-4.predictions.json", "gpt-4 ranks first (its CI is apart)");
	like(out, "| 2 | gpt-3.5-turbo | gpt-3.5-turbo.predictions.json", "gpt-3.5-turbo second");
	like(out, "| 96.6 [", "gpt-4's sr-Cyrl accuracy with its CI");
	free(out);
	/* a run of the engine on the same suite and items: one group with the score runs (a
	 * score run records no BOS mode, which had made it a group of its own) */
	out = NULL; /* a failed synth or run does not reach the leaderboard that sets it */
	rc = cli_run(NULL, "synth " CLI_SYNTH_SMALL " -o %s/small.gguf", tmp);
	rc = rc ? rc : cli_run(NULL, "run --model %s/small.gguf --suite %s/copa.json --boot 10 --quiet --out %s/engine", tmp,
			       tmp, tmp);
	rc = rc ? rc : cli_run(&out, "leaderboard %s/gpt-4 %s/engine", tmp, tmp);
	is_int(rc, 0, "leaderboard takes a score run and an engine run");
	like(out, "1 group of comparable runs", "... as one group, as compare judges them comparable");
	like(out, "(2 runs): suite benchich-copa", "both in it");
	like(out, "BOS auto", "with the BOS mode the engine run records");
	free(out);
	rc = cli_run(&out, "report %s/gpt-3.5-turbo %s/gpt-4 -o %s/report", tmp, tmp, tmp);
	is_int(rc, 0, "report takes both runs");
	free(out);
	/* The records of a score run carry no choices: the chance level comes from
	 * results.json, which takes it from the suite (COPA: 2 choices). */
	char path[4096];
	snprintf(path, sizeof path, "%s/gpt-4/results.json", tmp);
	char *res = cli_slurp(path);
	ok(res && strstr(res, "\"chance\": 0.5"), "results.json records the chance level of each aggregate");
	free(res);
	snprintf(path, sizeof path, "%s/report/accuracy.gp", tmp);
	char *gp = cli_slurp(path);
	ok(gp && strstr(gp, "title 'chance'"), "the accuracy plot of score runs has its chance line");
	free(gp);
}

/* Without --map the suite's source (merilo import copa) names the test files. */
static void t_benchich_default_map(const char *fx)
{
	char *out = NULL;
	int rc = cli_run(&out, "score --suite %s/copa.json --predictions %s/data/benchich-copa/systems/gpt-4.predictions.json "
			       "-o %s/gpt-4-default", tmp, fx, tmp);
	is_int(rc, 0, "score without --map or --system exits 0");
	like(out, "0.7744", "the same McNemar p as with --map");
	like(out, "of gpt-4 from", "the system name comes from the file");
	free(out);
	CLI_EXPECT(3, "no list for the test file 'test-xx'", "a --map naming no list",
		   "score --suite %s/copa.json --predictions %s/data/benchich-copa/systems/gpt-4.predictions.json "
		   "--map sr-Cyrl=test-xx -o %s/none", tmp, fx, tmp);
	CLI_EXPECT(3, "task 'copa' has no language 'sl'", "a --map for a language the suite lacks",
		   "score --suite %s/copa.json --predictions %s/data/benchich-copa/systems/gpt-4.predictions.json "
		   "--map sl=test-sl -o %s/none", tmp, fx, tmp);
}

static void benchich(void)
{
	const char *fx = fixtures_dir();
	if (!fx) {
		skip("fixtures absent: ../shared/fixtures", "BENCHić COPA gpt-3.5-turbo and gpt-4 scored from predictions");
		return;
	}
	char *out = NULL;
	int rc = cli_run(&out, "import copa --lang sr-Cyrl=%s/data/benchich-copa/test-sr.jsonl --lang "
			       "sr-Latn=%s/data/benchich-copa/test-sr-lat.jsonl --lang hr=%s/data/benchich-copa/test-hr.jsonl "
			       "--name benchich-copa -o %s/copa.json", fx, fx, fx, tmp);
	free(out);
	if (!ok(rc == 0, "import the BENCHić COPA suite"))
		return;
	const char *map = "--map sr-Cyrl=test-sr --map sr-Latn=test-sr-lat --map hr=test-hr.jsonl";
	TEST(t_benchich(fx, "gpt-3.5-turbo", map, 0.794, 0.836, 25, 46, "0.0170"),
	     "gpt-3.5-turbo: 79.4 vs 83.6, McNemar p 0.0170 (sr-Cyrl vs sr-Latn)");
	TEST(t_benchich(fx, "gpt-4", map, 0.966, 0.970, 5, 7, "0.7744"),
	     "gpt-4: 96.6 vs 97.0, McNemar p 0.7744 (sr-Cyrl vs sr-Latn)");
	TEST(t_benchich_tools(), "compare, leaderboard and report take the score-made runs");
	TEST(t_benchich_default_map(fx), "BENCHić lists are mapped by the suite's source; bad maps are errors");
}

/* ----------------------------------------------------- synthetic error paths */

static const char *line(const char *item, const char *lang, const char *choice)
{
	static char buf[8][160];
	static int k;
	k = (k + 1) % 8;
	snprintf(buf[k], sizeof buf[k], "{\"task\": \"copa\", \"item\": %s, \"language\": \"%s\", \"choice\": %s}\n", item,
		 lang, choice);
	return buf[k];
}

/* A predictions file of the six units with lines[i] replaced where given. */
static const char *preds(const char *name, const char *extra)
{
	static char path[400];
	char text[2048];
	snprintf(text, sizeof text, "%s%s%s%s%s%s%s", line("\"0\"", "en", "0"), line("\"0\"", "hr", "1"),
		 line("\"1\"", "en", "1"), line("1", "hr", "null"), line("\"2\"", "en", "0"), line("\"2\"", "hr", "0"),
		 extra);
	return put(path, sizeof path, name, text);
}

static void t_good(void)
{
	char *out = NULL, path[600];
	int rc = cli_run(&out, "score --suite %s --predictions %s --system tiny -o %s/good", suite, preds("good.jsonl", ""),
			 tmp);
	is_int(rc, 0, "exit 0");
	like(out, "no answer: 1, missing: 0", "the null answer is counted");
	free(out);
	struct rec_results r;
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/good/results.json", tmp);
	is_int(rec_results_read(path, &r, &err), 0, "results.json reads back");
	is_near(acc_of(&r, "en"), 1.0, 1e-12, "en: 3 of 3 right");
	is_near(acc_of(&r, "hr"), 1.0 / 3.0, 1e-12, "hr: item 0 wrong, item 1 no answer, item 2 right");
	/* 3 of 3 right: every bootstrap resample is 3 of 3, so its interval was [1, 1] */
	const struct rec_metric_value *en = acc_metric(&r, "en"), *hr = acc_metric(&r, "hr");
	ok(en && en->method && !strcmp(en->method, "wilson-score"), "en, all right: the Wilson interval");
	is_near(en ? en->ci_low : NAN, 0.4385029682449546, 1e-12, "en: its lower bound (scipy's Wilson 3/3 at level 0.95)");
	is_near(en ? en->ci_high : NAN, 1.0, 0, "en: its upper bound");
	ok(hr && hr->method && !strcmp(hr->method, "bootstrap-percentile"), "hr, 1 of 3: the percentile bootstrap");
	ok(cmp_of(&r, "en", "hr") != NULL, "the en vs hr comparison is there");
	rec_results_release(&r);
	snprintf(path, sizeof path, "%s/good/run.json", tmp);
	char *run = cli_slurp(path);
	like(run, "\"engine\": \"none (scored from predictions)\"", "run.json says no engine ran");
	free(run);
	CLI_EXPECT(2, "already holds a run", "a second score into the same folder",
		   "score --suite %s --predictions %s --system tiny -o %s/good", suite, preds("good.jsonl", ""), tmp);
	/* a task named in --tasks with none of --lang was recorded as scored, on nothing; "," selected all */
	CLI_EXPECT(2, "--tasks translate_to: the task has none of --lang en (its languages: sr-Cyrl, sr-Latn, hr)",
		   "score --tasks translate_to --lang en: usage error", "score --suite tasks/suites/demo.json --predictions "
		   "%s --system tiny --tasks short_qa,translate_to --lang en --allow-missing -o %s/nolang",
		   preds("good.jsonl", ""), tmp);
	CLI_EXPECT(2, "--lang ',': an empty list", "score --lang , is a usage error",
		   "score --suite %s --predictions %s --system tiny --lang , -o %s/emptylang", suite, preds("good.jsonl", ""),
		   tmp);
}

static void t_missing(void)
{
	char path[400], *out = NULL;
	put(path, sizeof path, "missing.jsonl", line("\"0\"", "en", "0"));
	CLI_EXPECT(3, "no prediction for 5 of 6 item x language units (copa/0/hr, copa/1/en, copa/1/hr, copa/2/en, "
		      "copa/2/hr)", "missing predictions are an error listing them",
		   "score --suite %s --predictions %s --system tiny -o %s/missing", suite, path, tmp);
	char res[600];
	snprintf(res, sizeof res, "%s/missing/results.json", tmp);
	ok(access(res, F_OK) != 0, "nothing is written");
	int rc = cli_run(&out, "score --suite %s --predictions %s --system tiny --allow-missing -o %s/allowed", suite, path,
			 tmp);
	is_int(rc, 0, "--allow-missing: exit 0");
	like(out, "5 of 6 units have no prediction: counted as wrong", "--allow-missing says so");
	free(out);
	snprintf(res, sizeof res, "%s/allowed/results.json", tmp);
	char *text = cli_slurp(res);
	like(text, "\"missing\": 2", "results.json counts the missing units per language");
	like(text, "\"missing_counted_as_wrong\": true", "results.json says they count as wrong");
	free(text);
	/* the leaderboard and the report said nothing of them: a published 0 read as wrong answers */
	CLI_EXPECT(0, "en 3, hr 3, 5 without a prediction, counted as wrong", "the leaderboard says so where n is",
		   "leaderboard %s/allowed --format md", tmp);
	rc = cli_run(&out, "report %s/allowed -o %s/allowed-report", tmp, tmp);
	is_int(rc, 0, "report of a run scored with --allow-missing: exit 0");
	free(out);
	snprintf(res, sizeof res, "%s/allowed-report/report.md", tmp);
	text = cli_slurp(res);
	like(text, "5 units had no prediction and are counted as wrong (merilo score --allow-missing)",
	     "the report's runs table says so");
	free(text);
}

static void t_errors(void)
{
	CLI_EXPECT(3, "unknown.jsonl:7: task 'copa' has no item '99'", "an unknown item names file and line",
		   "score --suite %s --predictions %s --system t -o %s/e1", suite,
		   preds("unknown.jsonl", line("\"99\"", "en", "0")), tmp);
	CLI_EXPECT(3, "lang.jsonl:7: task 'copa' has no language 'sl' (its languages: en, hr)", "an unknown language",
		   "score --suite %s --predictions %s --system t -o %s/e2", suite, preds("lang.jsonl", line("\"0\"", "sl", "0")),
		   tmp);
	char one[400];
	put(one, sizeof one, "index.jsonl", line("\"0\"", "en", "2"));
	CLI_EXPECT(3, "index.jsonl:1: choice 2 is out of range: item '0' of task 'copa' has 2 choices in en (0..1)",
		   "a choice index out of range", "score --suite %s --predictions %s --system t -o %s/e3", suite, one, tmp);
	CLI_EXPECT(3, "dup.jsonl:7: a second prediction for item '0' of task 'copa' in en (the first is on line 1)",
		   "a second prediction for a unit", "score --suite %s --predictions %s --system t -o %s/e4", suite,
		   preds("dup.jsonl", line("\"0\"", "en", "1")), tmp);
	CLI_EXPECT(3, "bad.jsonl:7: ", "a malformed line names file and line (exit 3)",
		   "score --suite %s --predictions %s --system t -o %s/e5", suite, preds("bad.jsonl", "{\"task\": \"copa\",\n"),
		   tmp);
	CLI_EXPECT(3, "text.jsonl:7: \"choice\" is missing", "a text for a multiple-choice task is refused (it wants a choice)",
		   "score --suite %s --predictions %s --system t -o %s/e6", suite,
		   preds("text.jsonl", "{\"task\": \"copa\", \"item\": \"0\", \"language\": \"en\", \"text\": \"A\"}\n"), tmp);
	put(one, sizeof one, "str.jsonl", line("\"0\"", "en", "\"A\""));
	CLI_EXPECT(3, "str.jsonl:1: the choice must be a choice index (an integer) or null, got a string",
		   "a choice that is not an index", "score --suite %s --predictions %s --system t -o %s/e7", suite, one, tmp);
	char path[400];
	put(path, sizeof path, "short.json",
	    "{\"system\": \"s\", \"predictions\": [{\"test\": \"test-en.jsonl\", \"predictions\": [0, 1]},"
	    " {\"test\": \"test-hr.jsonl\", \"predictions\": [0, 5, 0]}]}");
	CLI_EXPECT(3, "/predictions/0/predictions: 2 predictions, but task 'copa' has 3 items in en",
		   "a BENCHić list of the wrong length",
		   "score --suite %s --predictions %s --map en=test-en --map hr=test-hr -o %s/e8", suite, path, tmp);
	CLI_EXPECT(3, "/predictions/1/predictions/1: choice 5 is out of range", "a BENCHić choice out of range",
		   "score --suite %s --predictions %s --map hr=test-hr -o %s/e9", suite, path, tmp);
	put(path, sizeof path, "broken.json", "{\"system\": \"s\", \"predictions\": [1, 2}");
	CLI_EXPECT(3, "broken.json", "a BENCHić file that is not JSON (exit 3)",
		   "score --suite %s --predictions %s --predictions-format benchich -o %s/e10", suite, path, tmp);
}

static void t_usage(void)
{
	CLI_EXPECT(0, "usage: merilo score --suite SUITE.json --predictions FILE", "score --help", "score --help");
	CLI_EXPECT(2, "--suite, --predictions and -o RUN_DIR are required", "score without options", "score");
	CLI_EXPECT(2, "--map needs LANG=TEST", "a malformed --map", "score --map hr --suite x");
	CLI_EXPECT(2, "--predictions-format wants auto, jsonl or benchich", "an unknown --predictions-format",
		   "score --suite x --predictions y -o z --predictions-format csv");
	CLI_EXPECT(2, "--predictions-format wants auto, jsonl or benchich", "--format, the old name, still parses",
		   "score --suite x --predictions y -o z --format csv");
	CLI_EXPECT(3, "no such file (the predictions)", "a missing predictions file",
		   "score --suite %s --predictions %s/none.jsonl --system t -o %s/e0", suite, tmp, tmp);
	CLI_EXPECT(2, "--map is for BENCHić files", "--map with a JSONL file",
		   "score --suite %s --predictions %s --system t --map en=x -o %s/e11", suite, preds("m.jsonl", ""), tmp);
	CLI_EXPECT(2, "--system NAME is required", "JSONL without --system",
		   "score --suite %s --predictions %s -o %s/e12", suite, preds("m.jsonl", ""), tmp);
}

/* The aggregate value of metric of (task, lang) in the run folder dir; NaN when absent. */
static double metric_of(const char *dir, const char *task, const char *lang, const char *metric)
{
	char path[700];
	struct rec_results r;
	struct mrl_err err = { 0 };
	double v = NAN;
	snprintf(path, sizeof path, "%s/results.json", dir);
	if (rec_results_read(path, &r, &err))
		return NAN;
	for (size_t i = 0; i < r.n_aggregates; i++)
		if (!strcmp(r.aggregates[i].task, task) && !strcmp(r.aggregates[i].language, lang))
			for (size_t m = 0; m < r.aggregates[i].n_metrics; m++)
				if (!strcmp(r.aggregates[i].metrics[m].name, metric))
					v = r.aggregates[i].metrics[m].value;
	rec_results_release(&r);
	return v;
}

/* A generate task's "fold_diacritics": the same answers written without diacritics
 * match only where the task folds them (score and run share the scoring of an
 * answer, harness/run_gen.c); a non-boolean value is refused. */
static void t_fold(void)
{
	char s[400], p[400], dir[600], *out = NULL;
	static const char *const suite_fmt =
		"{\"format\": \"merilo-suite/1\", \"name\": \"fold\", \"version\": \"1\", \"license\": \"CC-BY-4.0\", "
		"\"description\": \"\", \"source\": \"\", \"tasks\": ["
		"{\"id\": \"%s\", \"type\": \"generate\", \"metrics\": [\"exact_match\", \"f1\"], %s"
		"\"languages\": [\"hr\"], \"templates\": {\"hr\": {\"context\": \"P: {question}\\nO:\"}}, "
		"\"items\": [{\"id\": \"1\", \"hr\": {\"question\": \"Gdje?\", \"target\": \"kuća\"}}, "
		"{\"id\": \"2\", \"hr\": {\"question\": \"Tko?\", \"target\": \"Đoković\"}}]}]}\n";
	char text[1024];
	put(p, sizeof p, "fold.jsonl",
	    "{\"task\": \"qa\", \"item\": \"1\", \"language\": \"hr\", \"text\": \"kuca\"}\n"
	    "{\"task\": \"qa\", \"item\": \"2\", \"language\": \"hr\", \"text\": \"Djokovic\"}\n");
	for (int fold = 0; fold < 2; fold++) {
		snprintf(text, sizeof text, suite_fmt, "qa", fold ? "\"fold_diacritics\": true, " : "");
		put(s, sizeof s, fold ? "fold-on.json" : "fold-off.json", text);
		snprintf(dir, sizeof dir, "%s/fold-%d", tmp, fold);
		is_int(cli_run(&out, "score --suite %s --predictions %s --system tiny -o %s", s, p, dir), 0,
		       fold ? "fold_diacritics true: score exits 0" : "no fold_diacritics: score exits 0");
		free(out);
		is_near(metric_of(dir, "qa", "hr", "exact_match"), fold ? 1.0 : 0.0, 1e-12,
			fold ? "folded: kuca = kuća and Djokovic = Đoković (exact_match 1)"
			     : "by default diacritics count: kuca != kuća (exact_match 0)");
	}
	snprintf(text, sizeof text, suite_fmt, "qa", "\"fold_diacritics\": \"yes\", ");
	CLI_EXPECT(3, "fold_diacritics", "a non-boolean fold_diacritics is refused, naming the key", "info %s",
		   put(s, sizeof s, "fold-bad.json", text));
}

/* --strip-thinking: a reasoning model's answer is what follows its last </think>; reasoning
 * without one is an empty answer; a text with neither tag is scored whole. The setting is
 * recorded in results.json's settings. */
static void t_strip(void)
{
	char s[400], p[400], dir[2][600], path[700], *out = NULL;
	put(s, sizeof s, "think.json",
	    "{\"format\": \"merilo-suite/1\", \"name\": \"think\", \"version\": \"1\", \"license\": \"CC-BY-4.0\", "
	    "\"description\": \"\", \"source\": \"\", \"tasks\": [{\"id\": \"qa\", \"type\": \"generate\", "
	    "\"metrics\": [\"exact_match\"], \"languages\": [\"hr\"], \"templates\": {\"hr\": {\"context\": "
	    "\"P: {question}\\nO:\"}}, \"items\": [{\"id\": \"1\", \"hr\": {\"question\": \"Gdje?\", \"target\": "
	    "\"kuća\"}}, {\"id\": \"2\", \"hr\": {\"question\": \"Tko?\", \"target\": \"Đoković\"}}, "
	    "{\"id\": \"3\", \"hr\": {\"question\": \"Grad?\", \"target\": \"Zagreb\"}}]}]}\n");
	put(p, sizeof p, "think.jsonl",
	    "{\"task\": \"qa\", \"item\": \"1\", \"language\": \"hr\", \"text\": \"<think>\\nMožda vrt? Ne.\\n</think>\\n\\nkuća\"}\n"
	    "{\"task\": \"qa\", \"item\": \"2\", \"language\": \"hr\", \"text\": \"<think>\\nĐoković ili\"}\n"
	    "{\"task\": \"qa\", \"item\": \"3\", \"language\": \"hr\", \"text\": \"Zagreb\"}\n");
	for (int strip = 0; strip < 2; strip++) {
		snprintf(dir[strip], sizeof dir[strip], "%s/think-%d", tmp, strip);
		is_int(cli_run(&out, "score --suite %s --predictions %s --system r1 -o %s%s", s, p, dir[strip],
			       strip ? " --strip-thinking" : ""), 0, strip ? "score --strip-thinking exits 0" : "score exits 0");
		free(out);
		is_near(metric_of(dir[strip], "qa", "hr", "exact_match"), strip ? 2.0 / 3 : 1.0 / 3, 1e-12,
			strip ? "stripped: the answer after </think> matches, unfinished reasoning is empty, a plain "
				"answer is whole (2 of 3)"
			      : "not stripped: only the plain answer matches (1 of 3)");
	}
	snprintf(path, sizeof path, "%s/items.jsonl", dir[1]);
	char *items = cli_slurp(path);
	/* "<think>\n" 8 bytes, "Možda vrt? Ne.\n" 16, "</think>" 8, "\n\n" 2 */
	like(items, "\"thinking\":{\"mode\":\"on\",\"answer_at\":34}", "the record says where the answer starts (byte 34)");
	like(items, "\"thinking\":{\"mode\":\"on\",\"answer_at\":null}", "  ...none where the reasoning did not finish");
	like(items, "\"thinking\":{\"mode\":\"off\",\"answer_at\":null}", "  ...and a text without reasoning is off");
	free(items);
	snprintf(path, sizeof path, "%s/results.json", dir[1]);
	items = cli_slurp(path);
	like(items, "\"thinking\": \"stripped\"", "results.json's settings record the stripping");
	free(items);
}

/* The start of a suite whose one task, "mc", is a generate task scored by exact_match. */
#define GEN_SUITE                                                                                             \
	"{\"format\": \"merilo-suite/1\", \"name\": \"ex\", \"version\": \"1\", \"license\": \"CC-BY-4.0\", "      \
	"\"description\": \"\", \"source\": \"\", \"tasks\": [{\"id\": \"mc\", \"type\": \"generate\", "          \
	"\"metrics\": [\"exact_match\"], "

/* suite and preds written as tmp/NAME.json and NAME.jsonl and scored into tmp/NAME: the
 * suite's path into s (400 bytes), the run folder's into dir; one check, exit 0. */
static void score_gen(const char *name, const char *suite, const char *preds, char *s, char *dir, size_t size)
{
	char file[128], p[400], *out = NULL, title[160];
	snprintf(file, sizeof file, "%s.json", name);
	put(s, 400, file, suite);
	snprintf(file, sizeof file, "%s.jsonl", name);
	put(p, sizeof p, file, preds);
	snprintf(dir, size, "%s/%s", tmp, name);
	snprintf(title, sizeof title, "%s: score exits 0", name);
	is_int(cli_run(&out, "score --suite %s --predictions %s --system it -o %s", s, p, dir), 0, title);
	free(out);
}

/* A generate task's "extract": an instruct model's reasoning ends in "Odgovor je (X)" and X is
 * what exact_match scores (the last match under "match": "last"); a response without one is
 * wrong, with "extracted": null in its record; the metric's pred_text is the extract. */
static void t_extract(void)
{
	char s[400], dir[600], path[700];
	score_gen("extract",
		  GEN_SUITE "\"languages\": [\"hr\"], \"templates\": {\"hr\": {\"context\": \"P: {question}\\nO:\"}}, "
			    "\"extract\": {\"regex\": \"Odgovor je \\\\(?([A-D])\\\\)?\", \"match\": \"last\"}, "
			    "\"items\": [{\"id\": \"1\", \"hr\": {\"question\": \"?\", \"target\": \"B\"}}, "
			    "{\"id\": \"2\", \"hr\": {\"question\": \"?\", \"target\": \"C\"}}, "
			    "{\"id\": \"3\", \"hr\": {\"question\": \"?\", \"target\": \"D\"}}]}]}\n",
		  "{\"task\": \"mc\", \"item\": \"1\", \"language\": \"hr\", \"text\": \"Odgovor je (A)? Ne. Odgovor je (B).\"}\n"
		  "{\"task\": \"mc\", \"item\": \"2\", \"language\": \"hr\", \"text\": \"Mislim da je C.\"}\n"
		  "{\"task\": \"mc\", \"item\": \"3\", \"language\": \"hr\", \"text\": \"Odgovor je D\"}\n",
		  s, dir, sizeof dir);
	is_near(metric_of(dir, "mc", "hr", "exact_match"), 2.0 / 3, 1e-12,
		"the extracted letter is scored: the last \"Odgovor je\" of item 1 and item 3 match, item 2 has none (2 of 3)");
	snprintf(path, sizeof path, "%s/items.jsonl", dir);
	char *items = cli_slurp(path);
	like(items, "\"pred_text\":\"B\",\"correct\":true", "the metric's answer is the extract");
	like(items, "\"extracted\":null", "a response without a match records none");
	like(items, "\"text\":\"Odgovor je (A)? Ne. Odgovor je (B).\"", "and the whole text is kept");
	free(items);
	CLI_EXPECT(0, "hr         3 items; answer: the last match of /Odgovor je \\(?([A-D])\\)?/", "info shows the extract",
		   "info %s", s);
	/* English drops articles: the letter A normalises to nothing, as does an empty answer */
	score_gen("extract-en",
		  GEN_SUITE "\"languages\": [\"en\"], \"templates\": {\"en\": {\"context\": \"Q: {question}\\nA:\"}}, "
			    "\"extract\": {\"regex\": \"answer is \\\\(?([A-D])\\\\)?\"}, "
			    "\"items\": [{\"id\": \"1\", \"en\": {\"question\": \"?\", \"target\": \"A\"}}, "
			    "{\"id\": \"2\", \"en\": {\"question\": \"?\", \"target\": \"A\"}}]}]}\n",
		  "{\"task\": \"mc\", \"item\": \"1\", \"language\": \"en\", \"text\": \"I cannot tell.\"}\n"
		  "{\"task\": \"mc\", \"item\": \"2\", \"language\": \"en\", \"text\": \"So the answer is (A).\"}\n",
		  s, dir, sizeof dir);
	is_near(metric_of(dir, "mc", "en", "exact_match"), 0.5, 1e-12,
		"en: no match is wrong though the reference A normalises to nothing; the extracted A is right");
	/* a pattern that backtracks without end stops at PCRE2's match limit, and the record says so */
	char evil[2048], line[2200];
	memset(evil, 'a', sizeof evil - 2);
	evil[sizeof evil - 2] = 'b';
	evil[sizeof evil - 1] = 0;
	snprintf(line, sizeof line, "{\"task\": \"mc\", \"item\": \"1\", \"language\": \"hr\", \"text\": \"%s\"}\n", evil);
	score_gen("extract-limit",
		  GEN_SUITE "\"languages\": [\"hr\"], \"templates\": {\"hr\": {\"context\": \"P: {question}\\nO:\"}}, "
			    "\"extract\": {\"regex\": \"(a+)+$\"}, "
			    "\"items\": [{\"id\": \"1\", \"hr\": {\"question\": \"?\", \"target\": \"a\"}}]}]}\n",
		  line, s, dir, sizeof dir);
	snprintf(path, sizeof path, "%s/items.jsonl", dir);
	items = cli_slurp(path);
	like(items, "\"extract_limit\":\"match\"", "the record names the match limit the extract stopped at");
	free(items);
}

/* A task's "breakdown": results.json gets one aggregate per value and language (a derived
 * language grouped by its source's value, though its own field reads otherwise), the
 * summary a table of them, and results.json reads back. */
static void t_breakdown(void)
{
	char s[400], p[400], dir[600], path[700], *out = NULL;
	put(s, sizeof s, "breakdown.json",
	    "{\"format\": \"merilo-suite/1\", \"name\": \"bd\", \"version\": \"1\", \"license\": \"CC-BY-4.0\", "
	    "\"description\": \"\", \"source\": \"\", \"tasks\": [{\"id\": \"g\", \"type\": \"generate\", "
	    "\"metrics\": [\"exact_match\"], \"breakdown\": \"oblast\", \"languages\": [\"sr-Latn\", \"sr-Cyrl\"], "
	    "\"derived\": {\"sr-Cyrl\": {\"from\": \"sr-Latn\", \"transform\": \"sr-Latn-to-Cyrl\"}}, "
	    "\"templates\": {\"sr-Latn\": {\"context\": \"P: {q}\\nO:\"}}, \"items\": ["
	    "{\"id\": \"1\", \"sr-Latn\": {\"q\": \"?\", \"oblast\": \"istorija\", \"target\": \"da\"}}, "
	    "{\"id\": \"2\", \"sr-Latn\": {\"q\": \"?\", \"oblast\": \"istorija\", \"target\": \"da\"}}, "
	    "{\"id\": \"3\", \"sr-Latn\": {\"q\": \"?\", \"oblast\": \"hemija\", \"target\": \"da\"}}]}]}\n");
	put(p, sizeof p, "breakdown.jsonl",
	    "{\"task\": \"g\", \"item\": \"1\", \"language\": \"sr-Latn\", \"text\": \"da\"}\n"
	    "{\"task\": \"g\", \"item\": \"2\", \"language\": \"sr-Latn\", \"text\": \"ne\"}\n"
	    "{\"task\": \"g\", \"item\": \"3\", \"language\": \"sr-Latn\", \"text\": \"da\"}\n"
	    "{\"task\": \"g\", \"item\": \"1\", \"language\": \"sr-Cyrl\", \"text\": \"да\"}\n"
	    "{\"task\": \"g\", \"item\": \"2\", \"language\": \"sr-Cyrl\", \"text\": \"да\"}\n"
	    "{\"task\": \"g\", \"item\": \"3\", \"language\": \"sr-Cyrl\", \"text\": \"не\"}\n");
	snprintf(dir, sizeof dir, "%s/breakdown", tmp);
	is_int(cli_run(&out, "score --suite %s --predictions %s --system it -o %s", s, p, dir), 0, "score exits 0");
	like(out, "g by oblast (exact_match, n):", "the summary has the breakdown table");
	like(out, "istorija                      0.500 (2)       1.000 (2)", "istorija: 1 of 2 in Latin, 2 of 2 in Cyrillic");
	free(out);
	struct rec_results r;
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/results.json", dir);
	if (!ok(rec_results_read(path, &r, &err) == 0, "results.json with breakdowns reads back"))
		return;
	is_int((long long)r.n_breakdowns, 4, "two values x two languages");
	size_t found = 0;
	for (size_t i = 0; i < r.n_breakdowns; i++) {
		const struct rec_aggregate *b = &r.breakdowns[i];
		const double want = !strcmp(b->value, "hemija") ? (!strcmp(b->language, "sr-Cyrl") ? 0.0 : 1.0)
								 : (!strcmp(b->language, "sr-Cyrl") ? 1.0 : 0.5);
		found += !strcmp(b->field, "oblast") && b->n_metrics && b->metrics[0].value == want &&
			 b->n == (!strcmp(b->value, "hemija") ? 1 : 2);
	}
	is_int((long long)found, 4, "each value's exact_match and n, the Cyrillic grouped by the Latin value (hemija)");
	rec_results_release(&r);
	char rep[600];
	snprintf(rep, sizeof rep, "%s/breakdown-report", tmp);
	is_int(cli_run(&out, "report %s -o %s", dir, rep), 0, "report takes the run");
	free(out);
	snprintf(path, sizeof path, "%s/report.md", rep);
	char *md = cli_slurp(path);
	like(md, "### By field", "report.md has the breakdown section");
	like(md, "| it | g · oblast: hemija | exact\\_match (%) | 1 | 100.0 \\[20.7, 100.0\\] | 0.0", "a row per value, its metric in each language");
	free(md);
	/* an item without the field is a validation problem */
	put(s, sizeof s, "breakdown-bad.json",
	    "{\"format\": \"merilo-suite/1\", \"name\": \"bd\", \"version\": \"1\", \"license\": \"CC-BY-4.0\", "
	    "\"description\": \"\", \"source\": \"\", \"tasks\": [{\"id\": \"g\", \"type\": \"generate\", "
	    "\"breakdown\": \"oblast\", \"languages\": [\"hr\"], \"templates\": {\"hr\": {\"context\": \"{q}\"}}, "
	    "\"items\": [{\"id\": \"1\", \"hr\": {\"q\": \"?\", \"target\": \"da\"}}]}]}\n");
	CLI_EXPECT(3, "no string field \"oblast\", which the task's \"breakdown\" groups its scores by",
		   "an item without the breakdown field: invalid", "validate %s", s);
}

/* results.json's aggregates, comparisons and breakdowns of dir, as one JSON text (NULL
 * where it does not read). */
static char *numbers(const char *dir)
{
	char path[700];
	snprintf(path, sizeof path, "%s/results.json", dir);
	json_t *j = json_load_file(path, 0, NULL);
	json_t *keep = j ? json_pack("{s:O, s:O, s:O}", "aggregates", json_object_get(j, "aggregates"), "comparisons",
				     json_object_get(j, "comparisons"), "breakdowns", json_object_get(j, "breakdowns"))
			 : NULL;
	char *text = keep ? json_dumps(keep, JSON_COMPACT) : NULL;
	json_decref(keep);
	json_decref(j);
	return text;
}

/* The bootstraps run on --threads N threads, each piece seeded by the run seed alone: the
 * numbers are the same on 1, 2 and 7 threads (two tasks: 3 languages with a 5-valued
 * breakdown, and 2 languages; 11 + 3 pieces). */
static void t_threads(void)
{
	static const char *const langs[] = { "en", "sr-Latn", "sr-Cyrl" };
	char p[400], dir[600];
	snprintf(p, sizeof p, "%s/threads.jsonl", tmp);
	FILE *f = fopen(p, "w");
	for (int l = 0; f && l < 3; l++)
		for (int i = 0; i < 34; i++) /* by_field's items b00 .. b33, two choices; b21 has no en */
			if (l || i != 21)
				fprintf(f, "{\"task\": \"by_field\", \"item\": \"b%02d\", \"language\": \"%s\", \"choice\": %d}\n",
					i, langs[l], (i * 7 + l * 3) % 5 < 2);
	for (int l = 0; f && l < 2; l++)
		for (int i = 0; i < 23; i++) /* plain's p00 .. p22, three choices */
			fprintf(f, "{\"task\": \"plain\", \"item\": \"p%02d\", \"language\": \"%s\", \"choice\": %d}\n", i,
				l ? "hr" : "en", (i * 5 + l) % 3);
	ok(f && !fclose(f), "predictions for the sample suite's two tasks");
	char *first = NULL;
	static const int threads[] = { 1, 2, 7 };
	for (size_t k = 0; k < 3; k++) {
		char *out = NULL;
		snprintf(dir, sizeof dir, "%s/threads%d", tmp, threads[k]);
		is_int(cli_run(&out, "score --suite tests/data/sample/suite.json --predictions %s --system t --boot 300 "
			       "--threads %d -q -o %s", p, threads[k], dir), 0, NAME("score on %d thread(s)", threads[k]));
		free(out);
		char *text = numbers(dir);
		if (!k) {
			ok(text && strstr(text, "\"value\":\"zoologija\"") && strstr(text, "\"language_b\":\"hr\""),
			   "results.json has the breakdown's and both tasks' comparisons");
			first = text;
		} else {
			ok(text && first && !strcmp(text, first),
			   NAME("%d threads: the aggregates, comparisons and breakdowns of 1, bit for bit", threads[k]));
			free(text);
		}
	}
	free(first);
	CLI_EXPECT(2, "--threads wants an integer in 0..64", "--threads 65: usage error",
		   "score --suite tests/data/sample/suite.json --predictions %s --system t --threads 65 -o %s/t65", p, tmp);
}

static void synthetic(void)
{
	char en[400], hr[400], *out = NULL;
	const char *rows = "{\"premise\":\"P%d.\",\"choice1\":\"A%d\",\"choice2\":\"B%d\",\"question\":\"cause\",\"label\":%d,\"idx\":%d}\n";
	char text[1024] = "";
	size_t n = 0;
	for (int i = 0; i < 3; i++)
		n += (size_t)snprintf(text + n, sizeof text - n, rows, i, i, i, i == 1, i);
	put(en, sizeof en, "en.jsonl", text);
	put(hr, sizeof hr, "hr.jsonl", text);
	snprintf(suite, sizeof suite, "%s/tiny.json", tmp);
	int rc = cli_run(&out, "import copa --lang en=%s --lang hr=%s --name tiny -o %s", en, hr, suite);
	free(out);
	if (!ok(rc == 0, "import the small suite"))
		return;
	TEST(t_usage(), "score --help, usage errors and missing files");
	TEST(t_good(), "a JSONL of every unit scores; a null answer counts as wrong");
	TEST(t_fold(), "a generate task's fold_diacritics makes answers without diacritics match");
	TEST(t_strip(), "--strip-thinking scores a reasoning model's answer after </think>");
	TEST(t_extract(), "a generate task's extract scores the answer a regex pulls out of the response");
	TEST(t_breakdown(), "a task's breakdown: scores per value of a field, in results.json and the summary");
	TEST(t_threads(), "--threads: the same numbers on 1, 2 and 7 threads");
	TEST(t_missing(), "missing predictions are an error, or wrong with --allow-missing");
	TEST(t_errors(), "unknown items and languages, bad indices, bad JSON: one line naming file and line");
}

int main(void)
{
	if (!cli_merilo()) {
		skip_all("MERILO is not set to an executable merilo");
		return 0;
	}
	if (!cli_tmpdir(tmp, sizeof tmp, "score")) {
		skip_all("cannot make a temporary folder");
		return 0;
	}
	synthetic();
	benchich();
	cli_rmtree(tmp);
	return done_testing();
}
