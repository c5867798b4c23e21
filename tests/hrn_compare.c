/* hrn_compare.c — `merilo compare` and `merilo leaderboard` as a CI system runs
 * them, on runs constructed here with the record writers (results.json +
 * items.jsonl in a temporary folder): an injected 5-point regression on 500
 * items exits 1, A/A comparisons (identical; a few flips both ways) exit 0,
 * mismatched suites and bad inputs exit 3, JUnit XML is well-formed, flipped
 * items are listed, and hostile model names are escaped in every leaderboard
 * format. Runs the binary named by $MERILO (set by `make test`). */
#include "common/json.h"
#include "harness/manifest.h"
#include "records/item.h"
#include "records/item_writer.h"
#include "records/items.h"
#include "records/results.h"
#include "tests/tap.h"
#include "tests/cli.h"

#include <math.h>
#include <unistd.h>

static char tmp[256];
/* The suite hash of the constructed runs, and another one. */
static const char *suite_hash = "5f1c2e0a5b7d4c3e8f6a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6";
static const char *other_hash = "0000000a5b7d4c3e8f6a1b2c3d4e5f60718293a4b5c6d7e8f9a0b1c2d3e4f5a6";
/* write_run's log-probabilities: 0 none; 1 two tokens per choice with top-2 lists;
 * 2 as 1 but every fifth item scored other tokens (a different tokenizer);
 * 3 as 1 but every item scored other tokens; 4 as 1 without top-K lists */
static int lp_mode;
/* appended to every item id and prompt write_run writes */
static const char *text_suffix = "";
/* write_run's recorded --limit and --fewshot (0: not given) */
static int64_t run_limit, run_fewshot;
static const char *run_tasks[2]; /* settings.tasks of the next write_run, when set */
static const char *run_batch;    /* settings.extra.batch of the next write_run, when set */

/* A run of n items of task copa in language lang, metric acc (and acc_norm =
 * acc): the first n_right right in the base pattern; rw of those wrong here
 * and wr of the wrong ones right here. Prompts recorded. */
static void write_run(const char *name, const char *model_name, const char *suite_sha, size_t n, size_t n_right,
		      size_t rw, size_t wr)
{
	char dir[512], path[600];
	snprintf(dir, sizeof dir, "%s/%s", tmp, name);
	mkdir(dir, 0755);
	struct mrl_err err = {0};
	struct rec_results r;
	rec_results_init(&r);
	r.suite.name = strdup("ci-test");
	r.suite.sha256 = strdup(suite_sha);
	r.model.name = strdup(model_name);
	r.model.sha256 = strdup("ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12cd34ef56ab12");
	r.settings.seed = 7;
	if (run_limit)
		r.settings.limit = run_limit;
	if (run_fewshot)
		r.settings.fewshot_k = run_fewshot;
	if (run_batch)
		r.settings.extra = json_pack("{s:s}", "batch", run_batch);
	if (run_tasks[0]) {
		r.settings.tasks = calloc(2, sizeof *r.settings.tasks);
		const size_t n_t = run_tasks[1] ? 2 : 1;
		for (size_t k = 0; r.settings.tasks && k < n_t; k++)
			r.settings.tasks[k] = strdup(run_tasks[k]);
		r.settings.n_tasks = r.settings.tasks ? n_t : 0;
	}
	size_t right = 0;
	snprintf(path, sizeof path, "%s/items.jsonl", dir);
	struct rec_item_writer *w;
	struct rec_item_writer_opts wo = { .truncate = true };
	rec_item_writer_open(path, &wo, &w, NULL, &err);
	for (size_t i = 0; i < n; i++) {
		bool c = i < n_right;
		if (i < rw)
			c = false;
		if (i >= n_right && i < n_right + wr)
			c = true;
		right += c;
		char id[64], prompt[160];
		snprintf(id, sizeof id, "copa-%04zu%s", i, text_suffix);
		snprintf(prompt, sizeof prompt, "Premisa %zu: Čovjek <b>je</b> otvorio slavinu.%s", i, text_suffix);
		struct rec_item it = {0};
		rec_item_init(&it, "copa", id, "sr-Cyrl");
		rec_item_add_choice(&it, -3.0, 2, 5, 5, false);
		rec_item_add_choice(&it, -4.0, 2, 5, 5, false);
		it.gold_index = 0;
		rec_item_add_metric(&it, "acc", c ? 0 : 1, NULL, c, NAN);
		rec_item_add_metric(&it, "acc_norm", c ? 0 : 1, NULL, c, NAN);
		rec_item_add_timing(&it, "total", 1000000 + (int64_t)i);
		for (size_t ch = 0; lp_mode && ch < 2; ch++) {
			int32_t tok[2] = { (int32_t)(10 + ch), 20 }, top[4] = { (int32_t)(10 + ch), 99, 20, 98 };
			double lp[2] = { log(0.6), log(0.5) }, tlp[4] = { log(0.6), log(0.3), log(0.5), log(0.2) };
			if ((lp_mode == 2 && i % 5 == 0) || lp_mode == 3)
				tok[1] = 21;
			if (lp_mode == 5) { /* top-2 lists that hold 0.03% and 0.04% of the mass (a huge flat vocabulary) */
				lp[0] = tlp[0] = log(2e-4);
				tlp[1] = log(1e-4);
				lp[1] = tlp[2] = log(3e-4);
				tlp[3] = log(1e-4);
			}
			rec_item_set_logprobs(&it, ch, tok, lp, 2, lp_mode == 4 ? 0 : 2, lp_mode == 4 ? NULL : top,
					      lp_mode == 4 ? NULL : tlp);
		}
		rec_item_set_prompt(&it, prompt);
		rec_item_writer_add(w, &it, &err);
		rec_item_release(&it);
	}
	rec_item_writer_close(w, &err);
	struct rec_aggregate *a = rec_results_add_aggregate(&r, "copa", "sr-Cyrl", (int64_t)n);
	double acc = (double)right / (double)n;
	rec_aggregate_add_metric(a, "acc", acc, NAN, acc - 0.03, acc + 0.03, 0.95, "bootstrap-percentile");
	rec_aggregate_add_metric(a, "acc_norm", acc, NAN, acc - 0.03, acc + 0.03, 0.95, "bootstrap-percentile");
	snprintf(path, sizeof path, "%s/results.json", dir);
	if (rec_results_write(path, &r, &err))
		diag("write %s: %s", path, err.msg);
	rec_results_release(&r);
}

/* Well-formedness: xmllint where installed, else a check that tags balance. */
static int xml_ok(const char *path, char *why, size_t why_size)
{
	if (!system("command -v xmllint >/dev/null 2>&1")) {
		char cmd[700];
		snprintf(cmd, sizeof cmd, "xmllint --noout '%s' 2>&1", path);
		int st = system(cmd);
		snprintf(why, why_size, "xmllint");
		return st == 0;
	}
	snprintf(why, why_size, "tag balance (xmllint not installed)");
	char *x = cli_slurp(path);
	int depth = 0, okay = x != NULL;
	for (char *p = x; okay && (p = strchr(p, '<')); p++) {
		if (p[1] == '?' || p[1] == '!')
			continue;
		char *e = strchr(p, '>');
		if (!e) {
			okay = 0;
			break;
		}
		if (p[1] == '/')
			depth--;
		else if (e[-1] != '/')
			depth++;
		okay = depth >= 0;
	}
	free(x);
	return okay && depth == 0;
}

/* Does text hold a control character other than tab, LF and CR: a C0 one, or
 * with all set, DEL or a C1 one (in UTF-8) too? */
static bool has_raw_control(const char *text, bool all)
{
	for (const unsigned char *p = (const unsigned char *)(text ? text : ""); *p; p++)
		if ((*p < 0x20 && *p != '\t' && *p != '\n' && *p != '\r') ||
		    (all && (*p == 0x7f || (p[0] == 0xc2 && p[1] >= 0x80 && p[1] <= 0x9f))))
			return true;
	return false;
}

/* Prompts and item ids with terminal escape sequences (clear screen, set the
 * window title, an 8-bit CSI): no output format copies them raw. */
static void test_control_characters(void)
{
	text_suffix = " \x1b[2J\x1b]0;pwned\x07\xc2\x9b" "31m\x7f";
	write_run("esc-base", "base-model", suite_hash, 100, 80, 0, 0);
	write_run("esc-reg", "cand-model", suite_hash, 100, 80, 10, 0);
	text_suffix = "";
	static const char *const formats[] = { "md", "junit", "text", "json" };
	for (size_t f = 0; f < sizeof formats / sizeof formats[0]; f++) {
		char *out, name[120];
		int rc = cli_run(&out, "compare %s/esc-base %s/esc-reg --boot 200 --format %s", tmp, tmp, formats[f]);
		snprintf(name, sizeof name, "control characters, %s: exit 1 (the regression)", formats[f]);
		is_int(rc, 1, name);
		/* JSON is data: C0 characters are \u escapes there (jansson), DEL and C1 are valid as they are */
		bool json = !strcmp(formats[f], "json");
		snprintf(name, sizeof name, "control characters, %s: none copied raw from prompts and item ids", formats[f]);
		ok(out && !has_raw_control(out, !json), name);
		if (json)
			like(out, "\"copa-0000 \\u001B[2J\\u001B]0;pwned\\u0007", "control characters, json: C0 as \\u escapes");
		if (!strcmp(formats[f], "md")) {
			like(out, "| copa-0000 ␛\\[2J␛\\]0;pwned␇\xef\xbf\xbd" "31m␡ | Premisa 0:",
			     "control characters, md: shown as control pictures in the item id");
			like(out, "otvorio slavinu. ␛\\[2J␛", "control characters, md: ... and in the prompt");
		}
		if (!strcmp(formats[f], "junit"))
			like(out, "copa-0000 ␛[2J␛]0;pwned␇", "control characters, junit: shown as control pictures");
		free(out);
	}
}

/* A figure of the "all" row of a compare --format json output; NAN when absent. */
static double kl_all(const char *json_text, const char *field)
{
	json_t *root = json_text ? json_loads(json_text, 0, NULL) : NULL;
	json_t *rows = json_object_get(json_object_get(root, "kl"), "rows");
	double v = NAN;
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row) {
		const char *t = json_string_value(json_object_get(row, "task"));
		if (t && !strcmp(t, "all") && json_is_number(json_object_get(row, field)))
			v = json_number_value(json_object_get(row, field));
	}
	json_decref(root);
	return v;
}

/* KL on constructed runs: identical lists, tokens that differ, a run without log-probabilities. */
static void test_kl_constructed(void)
{
	lp_mode = 1;
	write_run("lp1", "m", suite_hash, 50, 40, 0, 0);
	lp_mode = 2;
	write_run("lp2", "m", suite_hash, 50, 40, 0, 0);
	lp_mode = 0;
	write_run("lp0", "m", suite_hash, 50, 40, 0, 0);
	char *out;
	int rc = cli_run(&out, "compare %s/lp1 %s/lp2 --boot 200 --format json", tmp, tmp);
	is_int(rc, 0, "KL constructed: exit 0 (KL not gated)");
	is_near(kl_all(out, "kl_mean"), 0.0, 0, "KL constructed: identical lists give KL 0");
	is_near(kl_all(out, "top1_agreement"), 1.0, 0, "KL constructed: top-1 agreement 1");
	is_near(kl_all(out, "n_skipped_tokens"), 20, 0, "KL constructed: 10 items x 2 choices with other tokens skipped");
	is_near(kl_all(out, "n_sequences"), 80, 0, "KL constructed: the other 80 sequences aligned");
	is_near(kl_all(out, "covered_mass_mean"), 0.8, 1e-12, "KL constructed: covered mass = mean of the lists' 0.9 and 0.7");
	free(out);
	rc = cli_run(&out, "compare %s/lp1 %s/lp2 --boot 200", tmp, tmp);
	is_int(rc, 0, "KL constructed, text: exit 0 (KL not gated)");
	like(out, "20 paired choice sequences skipped because their continuation tokens differ",
	     "KL constructed: the skipped sequences are counted in a note");
	like(out, "LOWER BOUND", "KL constructed: text says lower bound");
	free(out);
	/* both runs stored log-probabilities, but no paired sequence aligns: the KL
	 * arrays were never allocated (clang's UBSan once stopped here on NULL + 0) */
	lp_mode = 3;
	write_run("lp3", "m", suite_hash, 50, 40, 0, 0);
	lp_mode = 0;
	rc = cli_run(&out, "compare %s/lp1 %s/lp3 --boot 200 --format json", tmp, tmp);
	is_int(rc, 0, "KL, every sequence skipped: exit 0");
	is_near(kl_all(out, "n_sequences"), 0, 0, "KL, every sequence skipped: 0 sequences aligned");
	is_near(kl_all(out, "n_skipped_tokens"), 100, 0, "KL, every sequence skipped: all 100 counted as skipped");
	ok(isnan(kl_all(out, "kl_mean")), "KL, every sequence skipped: no mean KL");
	free(out);
	CLI_EXPECT(0, "100 paired choice sequences skipped because their continuation tokens differ",
		   "KL, every sequence skipped: text says why", "compare %s/lp1 %s/lp3 --boot 200", tmp, tmp);
	/* log-probabilities without top-K lists: |delta logprob| only, the KL arrays stay empty */
	lp_mode = 4;
	write_run("lp4a", "m", suite_hash, 50, 40, 0, 0);
	write_run("lp4b", "m", suite_hash, 50, 40, 0, 0);
	lp_mode = 0;
	rc = cli_run(&out, "compare %s/lp4a %s/lp4b --boot 200 --format json", tmp, tmp);
	is_int(rc, 0, "KL without top-K lists: exit 0");
	is_near(kl_all(out, "n_sequences"), 100, 0, "KL without top-K lists: 100 sequences aligned");
	is_near(kl_all(out, "abs_dlogprob_mean"), 0, 0, "KL without top-K lists: |delta logprob| 0");
	ok(isnan(kl_all(out, "kl_mean")), "KL without top-K lists: no mean KL");
	free(out);
	CLI_EXPECT(0, "the candidate run did not store per-token log-probabilities", "KL: candidate without logprobs named",
	           "compare %s/lp1 %s/lp0 --boot 200", tmp, tmp);
	CLI_EXPECT(0, "the base run did not store per-token log-probabilities", "KL: base without logprobs named",
	           "compare %s/lp0 %s/lp1 --boot 200", tmp, tmp);
	CLI_EXPECT(3, "KL gate: no KL figure to check", "--gate-kl without logprobs is an input error",
	           "compare %s/base %s/same --boot 200 --gate-kl 0.1", tmp, tmp);
	CLI_EXPECT(2, "--gate-kl", "--gate-kl needs a number >= 0", "compare %s/lp1 %s/lp2 --gate-kl -1", tmp, tmp);
	CLI_EXPECT(2, "--kl-min-coverage", "--kl-min-coverage needs a fraction", "compare %s/lp1 %s/lp2 --kl-min-coverage 2",
		   tmp, tmp);
}

/* A KL gate over top-K lists that hold 0.03-0.04% of the probability mass
 * (the tiny K on a flat distribution) decides nothing: undetermined,
 * exit 3, in every format; --kl-min-coverage 0 lets the bound decide. */
static void test_kl_undetermined(void)
{
	lp_mode = 5;
	write_run("tiny-a", "m", suite_hash, 50, 40, 0, 0);
	write_run("tiny-b", "m", suite_hash, 50, 40, 0, 0);
	lp_mode = 0;
	char *out;
	int rc = cli_run(&out, "compare %s/tiny-a %s/tiny-b --boot 200 --format json", tmp, tmp);
	is_int(rc, 0, "tiny top-K mass, KL not gated: exit 0");
	is_near(kl_all(out, "topk_mass_min"), 3e-4, 1e-12, "top-K mass: the minimum over the positions (0.03%)");
	is_near(kl_all(out, "topk_mass_median"), 3.5e-4, 1e-12, "top-K mass: the median over the positions");
	free(out);
	CLI_EXPECT(3, "UNDETERMINED: the KL gate cannot decide", "tiny top-K mass with --gate-kl: undetermined, exit 3",
		   "compare %s/tiny-a %s/tiny-b --boot 200 --gate-kl 1", tmp, tmp);
	CLI_EXPECT(3, "median 0.035% (min 0.03%)", "undetermined: the text gives the mass", "compare %s/tiny-a %s/tiny-b "
		   "--boot 200 --gate-kl 1", tmp, tmp);
	rc = cli_run(&out, "compare %s/tiny-a %s/tiny-b --boot 200 --gate-kl 1 --format json", tmp, tmp);
	is_int(rc, 3, "undetermined, JSON: exit 3");
	like(out, "\"outcome\": \"undetermined\"", "undetermined: JSON outcome");
	like(out, "\"undetermined\": true", "undetermined: the JSON KL row says so");
	free(out);
	rc = cli_run(&out, "compare %s/tiny-a %s/tiny-b --boot 200 --gate-kl 1 --format junit", tmp, tmp);
	is_int(rc, 3, "undetermined, JUnit: exit 3");
	like(out, "<failure type=\"kl-undetermined\"", "undetermined: a JUnit failure of its own type");
	free(out);
	CLI_EXPECT(0, "PASS", "--kl-min-coverage 0: the bound decides (exit 0)",
		   "compare %s/tiny-a %s/tiny-b --boot 200 --gate-kl 1 --kl-min-coverage 0", tmp, tmp);
	CLI_EXPECT(0, "PASS", "lists that hold 70-90% of the mass: the gate decides at the default threshold",
		   "compare %s/lp1 %s/lp1 --boot 200 --gate-kl 1", tmp, tmp);
}

/* Runs made with other settings are not comparable: exit 3 naming each
 * setting with both values, in text, md, JSON and JUnit; --allow-different
 * lets named differences through; a candidate with fewer items is one too. */
static void test_not_comparable(void)
{
	/* the order of --tasks changes no score: runs that differ only in it are comparable */
	run_tasks[0] = "copa", run_tasks[1] = "xcopa";
	write_run("tasks-ab", "base-model", suite_hash, 500, 400, 0, 0);
	run_tasks[0] = "xcopa", run_tasks[1] = "copa";
	write_run("tasks-ba", "base-model", suite_hash, 500, 400, 0, 0);
	run_tasks[0] = run_tasks[1] = NULL;
	char *o = NULL;
	is_int(cli_run(&o, "compare %s/tasks-ab %s/tasks-ba --boot 200", tmp, tmp), 0,
	       "--tasks copa,xcopa against xcopa,copa: comparable, the gate passes (exit 0)");
	free(o);
	/* a run made before 2026-12-06 with --lang over a whole suite recorded a task it scored no unit
	 * of (xcopa: no aggregate); runs since leave such a task out: the two are comparable */
	run_tasks[0] = "copa";
	write_run("tasks-new", "base-model", suite_hash, 500, 400, 0, 0);
	run_tasks[0] = NULL;
	is_int(cli_run(&o, "compare %s/tasks-ab %s/tasks-new --boot 200", tmp, tmp), 0,
	       "settings.tasks copa,xcopa (xcopa unscored) against copa: comparable (exit 0; it was 3)");
	if (o && strstr(o, "not comparable"))
		diag("%s", o);
	free(o);

	run_limit = 30;
	run_fewshot = 3;
	write_run("fs3", "cand-model", suite_hash, 30, 24, 0, 0);
	run_fewshot = 0;
	write_run("lim30", "cand-model", suite_hash, 30, 24, 0, 0);
	run_limit = 0;
	write_run("fewer", "cand-model", suite_hash, 480, 380, 0, 0);
	CLI_EXPECT(3, "NOT COMPARABLE: the runs differ in score-changing settings: limit (base all, candidate 30), "
		   "fewshot (base 0, candidate 3), items (base 500 items, candidate 30 of them (470 missing))",
		   "--limit 30 --fewshot 3 against a full zero-shot run: exit 3 naming both settings and the items",
		   "compare %s/base %s/fs3 --boot 200", tmp, tmp);
	CLI_EXPECT(3, "pass --allow-different limit,fewshot,items to gate them anyway", "not comparable: says how to override",
		   "compare %s/base %s/fs3 --boot 200", tmp, tmp);
	char *out;
	int rc = cli_run(&out, "compare %s/base %s/fs3 --boot 200 --format json", tmp, tmp);
	is_int(rc, 3, "not comparable, JSON: exit 3");
	like(out, "\"outcome\": \"not comparable\"", "not comparable, JSON: outcome");
	like(out, "\"passed\": false", "not comparable, JSON: not passed");
	json_t *root = json_loads(out ? out : "", JSON_DISABLE_EOF_CHECK, NULL), *d; /* stderr follows */
	size_t i;
	bool fewshot_named = false;
	json_array_foreach(json_object_get(json_object_get(root, "result"), "differences"), i, d)
		fewshot_named |= !strcmp(json_string_value(json_object_get(d, "setting")), "fewshot") &&
				 !strcmp(json_string_value(json_object_get(d, "base")), "0") &&
				 !strcmp(json_string_value(json_object_get(d, "candidate")), "3");
	ok(fewshot_named, "not comparable, JSON: result.differences has fewshot with both values (0, 3)");
	json_decref(root);
	free(out);
	rc = cli_run(&out, "compare %s/base %s/fs3 --boot 200 --format md", tmp, tmp);
	is_int(rc, 3, "not comparable, md: exit 3");
	like(out, "## merilo compare: ⚠️ not comparable", "not comparable, md: heading");
	like(out, "limit (base all, candidate 30)", "not comparable, md: the limit difference");
	free(out);
	char prefix[400], xml_path[500], why[100];
	snprintf(prefix, sizeof prefix, "%s/nc/cmp", tmp);
	rc = cli_run(&out, "compare %s/base %s/fs3 --boot 200 --out %s", tmp, tmp, prefix);
	is_int(rc, 3, "not comparable, --out: exit 3");
	free(out);
	snprintf(xml_path, sizeof xml_path, "%s.junit.xml", prefix);
	ok(xml_ok(xml_path, why, sizeof why), "not comparable, JUnit: well-formed");
	char *xml = cli_slurp(xml_path);
	like(xml, "<failure type=\"not-comparable\" message=\"not comparable: the runs differ in limit (base all, "
		  "candidate 30), fewshot (base 0, candidate 3)", "not comparable, JUnit: a failure naming the settings");
	free(xml);
	CLI_EXPECT(3, "NOT COMPARABLE: the runs differ in score-changing settings: fewshot (base 0, candidate 3)",
		   "--allow-different limit,items: the few-shot difference still blocks",
		   "compare %s/base %s/fs3 --boot 200 --allow-different limit,items", tmp, tmp);
	rc = cli_run(&out, "compare %s/base %s/fs3 --boot 200 --allow-different limit,fewshot,items", tmp, tmp);
	is_int(rc, 0, "--allow-different limit,fewshot,items: the gate judges (no regression: exit 0)");
	like(out, "PASS: no gated regression", "--allow-different: the verdict is the gate's");
	like(out, "allowed differences (--allow-different): limit (base all, candidate 30), fewshot (base 0, candidate 3)",
	     "--allow-different: the allowed differences are still reported");
	free(out);
	CLI_EXPECT(3, "items (base 500 items, candidate 480 of them (20 missing))",
		   "a candidate with fewer items is not comparable", "compare %s/base %s/fewer --boot 200", tmp, tmp);
	CLI_EXPECT(0, "PASS", "the base with fewer items than the candidate is comparable",
		   "compare %s/fewer %s/base --boot 200", tmp, tmp);
	CLI_EXPECT(3, "limit (base all, candidate 30)", "--limit alone differs: not comparable",
		   "compare %s/base %s/lim30 --boot 200 --allow-different items", tmp, tmp);
	CLI_EXPECT(2, "--allow-different: 'fewshots' is not a setting (valid: suite,", "--allow-different with a typo: usage error",
		   "compare %s/base %s/fs3 --allow-different fewshots", tmp, tmp);
}

/* KL on real runs of the fixture models: f32 against f32 (a second run) is 0 with full
 * agreement; f32 against q4_0 is above 0 with agreement below 1; --gate-kl gates it. */
static void test_kl_fixtures(void)
{
	const char *fx = fixtures_dir();
	char f32[512], q4[512];
	snprintf(f32, sizeof f32, "%s/models/tiny-llama-ff192-f32.gguf", fx ? fx : ".");
	snprintf(q4, sizeof q4, "%s/models/tiny-llama-ff192-q4_0.gguf", fx ? fx : ".");
	if (!fx || access(f32, R_OK) || access(q4, R_OK)) {
		skip("fixture models tiny-llama-ff192-{f32,q4_0}.gguf absent", "KL on fixture models");
		return;
	}
	const char *suite = "tests/data/run-mini.json";
	const char *const runs[3][2] = { { "fx-f32a", f32 }, { "fx-f32b", f32 }, { "fx-q4", q4 } };
	for (int r = 0; r < 3; r++) {
		char *out;
		/* two items per task and language: multiple choice and perplexity documents, fast under ASan */
		int rc = cli_run(&out, "run --model %s --suite %s --tasks mc,ppl --limit 2 --threads 2 --store-logprobs --boot 100 "
				 "--quiet "
			     "--out %s/%s", runs[r][1],
			     suite, tmp, runs[r][0]);
		if (rc)
			diag("%s", out);
		is_int(rc, 0, "merilo run --store-logprobs on a fixture model");
		free(out);
	}
	char *out;
	int rc = cli_run(&out, "compare %s/fx-f32a %s/fx-f32b --boot 200 --format json", tmp, tmp);
	is_int(rc, 0, "f32 vs f32: exit 0");
	is_near(kl_all(out, "kl_mean"), 0.0, 0, "f32 vs f32: mean KL exactly 0");
	is_near(kl_all(out, "kl_max"), 0.0, 0, "f32 vs f32: max KL exactly 0");
	is_near(kl_all(out, "top1_agreement"), 1.0, 0, "f32 vs f32: top-1 agreement 1");
	is_near(kl_all(out, "abs_dlogprob_mean"), 0.0, 0, "f32 vs f32: |dlogprob| 0");
	ok(kl_all(out, "n_positions") > 50, "f32 vs f32: over 50 aligned positions");
	free(out);
	rc = cli_run(&out, "compare %s/fx-f32a %s/fx-q4 --boot 200 --format json", tmp, tmp);
	is_int(rc, 0, "f32 vs q4_0: exit 0 without --gate-kl");
	double kl = kl_all(out, "kl_mean"), agree = kl_all(out, "top1_agreement"), cov = kl_all(out, "covered_mass_mean");
	double dlp = kl_all(out, "abs_dlogprob_mean"), p99 = kl_all(out, "kl_p99"), pos = kl_all(out, "n_positions");
	ok(kl > 0, "f32 vs q4_0: mean KL > 0");
	ok(agree < 1 && agree > 0, "f32 vs q4_0: top-1 agreement in (0, 1)");
	ok(dlp > 0, "f32 vs q4_0: |dlogprob| > 0");
	ok(cov > 0 && cov <= 1, "f32 vs q4_0: covered mass in (0, 1]");
	for (const char *f = "kl_median\0kl_p90\0kl_p99\0kl_max\0lower_bound\0gate_kl\0n_skipped_prompt\0"; *f; f += strlen(f) + 1) {
		char name[80];
		snprintf(name, sizeof name, "f32 vs q4_0: JSON has \"%s\"", f);
		char needle[80];
		snprintf(needle, sizeof needle, "\"%s\"", f);
		like(out, needle, name);
	}
	diag("f32 vs q4_0 (run-mini, mc and ppl, 2 items each): %g positions, mean KL %.4g nats (lower bound), p99 %.4g, covered mass %.4g, "
	     "top-1 agreement %.4f, mean |dlogprob| %.4g", pos, kl, p99, cov, agree, dlp);
	free(out);
	char gate[64];
	snprintf(gate, sizeof gate, "%.17g", kl / 2);
	/* the random fixture model's next-token distribution is flat: its top-8 lists hold
	 * about 0.04% of the mass, so a KL gate is undetermined unless told to trust the bound */
	CLI_EXPECT(3, "UNDETERMINED", "f32 vs q4_0 with --gate-kl at the default --kl-min-coverage: undetermined, exit 3",
	           "compare %s/fx-f32a %s/fx-q4 --boot 200 --gate-kl 1", tmp, tmp);
	CLI_EXPECT(1, "KL mean", "f32 vs q4_0 with --gate-kl below its mean KL: exit 1",
	           "compare %s/fx-f32a %s/fx-q4 --boot 200 --kl-min-coverage 0 --gate-kl %s", tmp, tmp, gate);
	CLI_EXPECT(0, "PASS", "f32 vs q4_0 with --gate-kl 1: exit 0",
		   "compare %s/fx-f32a %s/fx-q4 --boot 200 --kl-min-coverage 0 --gate-kl 1", tmp, tmp);
	CLI_EXPECT(0, "PASS", "f32 vs f32 with --gate-kl 0: exit 0",
		   "compare %s/fx-f32a %s/fx-f32b --boot 200 --kl-min-coverage 0 --gate-kl 0", tmp, tmp);
	rc = cli_run(&out, "compare %s/fx-f32a %s/fx-q4 --boot 200 --format junit --kl-min-coverage 0 --gate-kl 1", tmp, tmp);
	is_int(rc, 0, "f32 vs q4_0 junit with --gate-kl 1: exit 0, as in text");
	like(out, "<property name=\"kl.all.all.kl_mean\"", "f32 vs q4_0 junit: KL properties");
	like(out, "classname=\"merilo.compare.kl\"", "f32 vs q4_0 junit: KL testcases with --gate-kl");
	free(out);
	rc = cli_run(&out, "compare %s/fx-f32a %s/fx-q4 --boot 200 --format md", tmp, tmp);
	is_int(rc, 0, "f32 vs q4_0 md, KL not gated: exit 0");
	like(out, "### KL divergence and top-1 agreement", "f32 vs q4_0 md: KL section");
	free(out);
}

/* The gate: a 5-point regression fails, A/A passes, a threshold lets it pass. */
static void test_gate(void)
{
	CLI_EXPECT(1, "FAIL: 2 of 2 gated comparisons regressed: copa/sr-Cyrl acc -5.00 points", "5-point regression on 500 items",
	           "compare %s/base %s/reg --boot 2000", tmp, tmp);
	CLI_EXPECT(0, "PASS: no gated regression (2 gated comparisons)", "A/A identical runs",
	           "compare %s/base %s/same --boot 2000", tmp, tmp);
	CLI_EXPECT(0, "PASS: no gated regression", "A/A with noise (3 and 4 flips)",
	           "compare %s/base %s/noise --boot 2000", tmp, tmp);
	CLI_EXPECT(0, "PASS", "regression below a 10-point threshold passes",
	           "compare %s/base %s/reg --boot 2000 --threshold-points 10", tmp, tmp);
	CLI_EXPECT(1, "FAIL", "results.json path accepted as a run", "compare %s/base/results.json %s/reg --boot 500", tmp, tmp);
}

/* The time-per-item table: per-item ratios with a CI and a test where each item's time is its
 * own; where a run scored in windows (--batch 32), an item's time is a share of a call's, so
 * only the ratio of the totals, without a CI or a test. */
static void test_perf_times(void)
{
	char *out = NULL;
	int rc = cli_run(&out, "compare %s/base %s/same --boot 200 --format md", tmp, tmp);
	ok(rc == 0 && out && strstr(out, "| task | language | n | time ratio | 95% CI | p |") &&
	   strstr(out, "| copa | sr-Cyrl | 500 | 1.000 | [1.000, 1.000] |"),
	   "item by item: the median ratio with its CI and p");
	free(out);
	run_batch = "32";
	write_run("win-a", "base-model", suite_hash, 500, 400, 0, 0);
	write_run("win-b", "base-model", suite_hash, 500, 400, 0, 0);
	run_batch = NULL;
	rc = cli_run(&out, "compare %s/win-a %s/win-b --boot 200 --format md", tmp, tmp);
	ok(rc == 0 && out && strstr(out, "an item's time is an equal share of its call's") &&
	   strstr(out, "| copa | sr-Cyrl | 500 | 1.000 | — | — |"),
	   "scored in windows: the ratio of the totals, no CI and no test");
	if (out && !strstr(out, "| — | — |"))
		diag("%s", out);
	free(out);
	/* one item each: the timings are there, one pair is no ratio (the note said there were none) */
	write_run("one-a", "base-model", suite_hash, 1, 1, 0, 0);
	write_run("one-b", "base-model", suite_hash, 1, 1, 0, 0);
	rc = cli_run(&out, "compare %s/one-a %s/one-b --boot 200 --format md", tmp, tmp);
	is_int(rc, 0, "one pair a cell: exit 0");
	like(out, "performance: 1 paired item timings, fewer than 2 in every task x language",
	     "one pair a cell: the note says there are too few, not none");
	free(out);
}

/* The outputs: md on stdout, and every format written with --out. */
static void test_outputs(void)
{
	char cmd[600];
	char *out;
	char prefix[400];
	snprintf(prefix, sizeof prefix, "%s/out/cmp", tmp);
	snprintf(cmd, sizeof cmd, "mkdir -p %s/out", tmp);
	if (system(cmd))
		diag("mkdir failed");
	int rc = cli_run(&out, "compare %s/base %s/reg --boot 2000 --format md --out %s", tmp, tmp, prefix);
	is_int(rc, 1, "md + --out: exit 1");
	like(out, "| copa-0019 |", "md: a flipped item's id is listed");
	like(out, "Premisa 0: Čovjek &lt;b&gt;je&lt;/b&gt; otvorio slavinu.", "md: its prompt, escaped");
	like(out, "25 right→wrong, 0 wrong→right", "md: flip counts");
	like(out, "KL divergence and top-1 agreement: not computed: neither run stored", "md: missing logprobs said");
	like(out, "### Performance", "md: timing deltas present");
	free(out);
	const char *exts[] = { ".txt", ".md", ".json", ".junit.xml" };
	for (int i = 0; i < 4; i++) {
		char p[500];
		snprintf(p, sizeof p, "%s%s", prefix, exts[i]);
		ok(access(p, R_OK) == 0, exts[i]);
	}
	/* the text report's performance section is text: it was the markdown, escapes and all */
	char txt_path[500];
	snprintf(txt_path, sizeof txt_path, "%s.txt", prefix);
	char *txt = cli_slurp(txt_path);
	like(txt, "\nPerformance (informational, not gated)\n", "text: the performance heading, as text");
	ok(txt && !strstr(txt, "### ") && !strstr(txt, "|---|") && !strstr(txt, "\\_"),
	   "text: no markdown heading, table rule or escape");
	free(txt);
	char xml_path[500], why[100];
	snprintf(xml_path, sizeof xml_path, "%s.junit.xml", prefix);
	ok(xml_ok(xml_path, why, sizeof why), "JUnit XML is well-formed");
	diag("checked with %s", why);
	char *xml = cli_slurp(xml_path);
	like(xml, "<failure type=\"regression\"", "JUnit: failure element");
	like(xml, "tests=\"2\" failures=\"2\"", "JUnit: two gated testcases (acc, acc_norm), both failed");
	free(xml);
	char json_path[500];
	snprintf(json_path, sizeof json_path, "%s.json", prefix);
	char *js = cli_slurp(json_path);
	like(js, "\"p_holm\"", "JSON: Holm-adjusted p present");
	like(js, "\"passed\": false", "JSON: gate result");
	free(js);
	CLI_EXPECT(0, "<testsuites", "JUnit on stdout for a pass", "compare %s/base %s/same --boot 500 --format junit", tmp, tmp);
}

/* Bad and mismatched inputs. */
static void test_bad_inputs(void)
{
	char cmd[600];
	CLI_EXPECT(3, "different suites", "different suites refused", "compare %s/base %s/othersuite", tmp, tmp);
	CLI_EXPECT(0, "different suite files", "--allow-different-suites compares with a note",
	           "compare %s/base %s/othersuite --allow-different-suites --boot 500", tmp, tmp);
	CLI_EXPECT(2, "--gate acc_nrom: not a metric both runs have; valid: acc", "gate typo: a usage error listing the valid "
		   "metrics (exit 2, as leaderboard --metric; it was 3)", "compare %s/base %s/same --gate acc_nrom", tmp, tmp);
	CLI_EXPECT(3, "results.json", "missing run", "compare %s/base %s/nonexistent", tmp, tmp);
	CLI_EXPECT(2, "expected two runs", "one run is a usage error", "compare %s/base", tmp);
	CLI_EXPECT(2, "--alpha", "bad alpha", "compare %s/base %s/same --alpha 2", tmp, tmp);
	snprintf(cmd, sizeof cmd, "mkdir -p %s/broken && printf '{\"schema_version\": 1, \"suite\": ' > %s/broken/results.json",
		 tmp, tmp);
	if (system(cmd))
		diag("setup failed");
	CLI_EXPECT(3, "broken/results.json", "truncated results.json named", "compare %s/base %s/broken", tmp, tmp);
}

/* The config file. */
static void test_config(void)
{
	char cfg[500];
	snprintf(cfg, sizeof cfg, "%s/gate.json", tmp);
	cli_write_file(cfg, "{\"alpha\": 0.01, \"gate\": {\"acc\": 10.0}}\n");
	CLI_EXPECT(0, "acc drops by more than 10 points", "config: 10-point acc threshold passes a 5-point drop",
	           "compare %s/base %s/reg --config %s --boot 500", tmp, tmp, cfg);
	/* a task or language filter that names nothing the runs have gated nothing and passed */
	cli_write_file(cfg, "{\"gate\": [\"acc\"], \"languages\": [\"hr\"]}\n");
	CLI_EXPECT(3, "gated language 'hr' is in no comparison (valid: sr-Cyrl)",
		   "config: a language the runs lack is an error, not an ungated pass",
	           "compare %s/base %s/reg --config %s --boot 500", tmp, tmp, cfg);
	CLI_EXPECT(1, "FAIL: 1 of 1 gated comparisons regressed", "--gate-languages sr-Cyrl replaces the config's",
	           "compare %s/base %s/reg --config %s --boot 500 --gate-languages sr-Cyrl", tmp, tmp, cfg);
	cli_write_file(cfg, "{\"tasks\": [\"cpoa\"]}\n");
	CLI_EXPECT(3, "gated task 'cpoa' is in no comparison (valid: copa)", "config: a task typo is an error",
	           "compare %s/base %s/reg --config %s --boot 500", tmp, tmp, cfg);
	cli_write_file(cfg, "{\"tasks\": []}\n");
	CLI_EXPECT(3, "$.tasks: an empty list gates nothing", "config: an empty task list is an error",
	           "compare %s/base %s/reg --config %s --boot 500", tmp, tmp, cfg);
	CLI_EXPECT(2, "--gate-tasks cpoa: gated task 'cpoa' is in no comparison (valid: copa)",
		   "--gate-tasks typo: a usage error listing the valid tasks", "compare %s/base %s/reg --gate-tasks cpoa", tmp,
		   tmp);
	CLI_EXPECT(2, "--gate-languages sr-latn: gated language 'sr-latn' is in no comparison (valid: sr-Cyrl)",
		   "--gate-languages typo: a usage error", "compare %s/base %s/reg --gate-languages sr-latn", tmp, tmp);
	CLI_EXPECT(2, "--gate ',': an empty list", "--gate , is a usage error (it gated nothing and passed)",
		   "compare %s/base %s/reg --gate ,", tmp, tmp);
	CLI_EXPECT(2, "--gate-tasks ',': an empty list", "--gate-tasks , is a usage error",
		   "compare %s/base %s/reg --gate-tasks ,", tmp, tmp);
	cli_write_file(cfg, "{\"gate\": []}\n");
	CLI_EXPECT(3, "$.gate: an empty gate judges nothing", "config: an empty gate is an error (it passed)",
	           "compare %s/base %s/reg --config %s", tmp, tmp, cfg);
	CLI_EXPECT(1, "FAIL: 2 of 2 gated comparisons regressed", "--gate-tasks copa gates copa",
	           "compare %s/base %s/reg --boot 500 --gate-tasks copa", tmp, tmp);
	cli_write_file(cfg, "{\"gates\": [\"acc\"]}\n");
	CLI_EXPECT(3, "$.gates: unknown key", "config: unknown key refused", "compare %s/base %s/reg --config %s", tmp, tmp, cfg);
}

/* Leaderboard: escaping in every format. */
static void test_leaderboard(void)
{
	char *out;
	char lb[500];
	snprintf(lb, sizeof lb, "%s/lb.html", tmp);
	int rc = cli_run(&out, "leaderboard %s/base %s/hostile %s/formula -o %s", tmp, tmp, tmp, lb);
	is_int(rc, 0, "leaderboard html: exit 0");
	free(out);
	char *html = cli_slurp(lb);
	like(html, "&lt;script&gt;alert(1)&lt;/script&gt;", "leaderboard html: hostile name shown as text");
	ok(html && !strstr(html, "<script>alert"), "leaderboard html: no live script from the name");
	ok(html && !strstr(html, "src=") && !strstr(html, "href=\"http"), "leaderboard html: no external resources");
	like(html, "80.0<br><small>[77.0, 83.0]</small>", "leaderboard html: score with CI");
	like(html, "tokens/s: the run recorded no throughput", "leaderboard html: footnote for the dashes");
	like(html, "seed 7", "leaderboard html: seeds in the manifest columns");
	free(html);
	rc = cli_run(&out, "leaderboard %s/base %s/hostile %s/formula --format md", tmp, tmp, tmp);
	is_int(rc, 0, "leaderboard md: exit 0");
	like(out, "&lt;script&gt;alert(1)&lt;/script&gt;", "leaderboard md: hostile name escaped");
	ok(!strstr(out, "<script>"), "leaderboard md: no raw script tag");
	free(out);
	rc = cli_run(&out, "leaderboard %s/base %s/formula --format csv", tmp, tmp);
	is_int(rc, 0, "leaderboard csv: exit 0");
	like(out, "\"'=cmd|' /C calc'!A0\"", "leaderboard csv: formula guarded");
	like(out, ",1-2,base-model,,,sr-Cyrl 500,0,0.8,", "leaderboard csv: best first (a shared rank), fraction values");
	free(out);
	CLI_EXPECT(3, "results.json", "leaderboard: missing run", "leaderboard %s/nonexistent", tmp);
}

int main(void)
{
	if (!cli_merilo())
		skip_all("MERILO does not name the merilo binary (run through make test)");
	if (!cli_tmpdir(tmp, sizeof tmp, "hrn-compare"))
		skip_all("cannot make a temporary folder");
	setenv("MERILO_CACHE_DIR", tmp, 1); /* merilo run's hash cache stays in the test's folder */
	write_run("base", "base-model", suite_hash, 500, 400, 0, 0);
	write_run("reg", "cand-model", suite_hash, 500, 400, 25, 0);
	write_run("same", "base-model", suite_hash, 500, 400, 0, 0);
	write_run("noise", "cand-model", suite_hash, 500, 400, 3, 4);
	write_run("othersuite", "cand-model", other_hash, 500, 400, 0, 0);
	write_run("hostile", "<script>alert(1)</script>", suite_hash, 500, 400, 0, 0);
	write_run("formula", "=cmd|' /C calc'!A0", suite_hash, 500, 390, 0, 0);

	TEST(test_gate(), "the gate: a regression fails, A/A passes, a threshold is honoured");
	TEST(test_perf_times(), "time per item: per-item statistics only where items were timed one by one");
	TEST(test_outputs(), "the outputs: md with flips and escaped prompts, txt/md/json/JUnit files");
	TEST(test_bad_inputs(), "bad and mismatched inputs are refused with the cause named");
	TEST(test_config(), "the config file and flags: thresholds, task and language filters (a typo refused), unknown keys");
	TEST(test_kl_constructed(), "KL from stored top-K logprobs on constructed runs");
	TEST(test_kl_undetermined(), "a KL gate on top-K lists that hold too little mass is undetermined (exit 3)");
	TEST(test_not_comparable(), "runs that differ in a score-changing setting or lack items are not comparable (exit 3)");
	TEST(test_control_characters(), "control characters in names and prompts are escaped in every format");
	TEST(test_kl_fixtures(), "KL between runs of the fixture models");
	TEST(test_leaderboard(), "leaderboard: escaping in every format");

	cli_rmtree(tmp);
	return done_testing();
}
