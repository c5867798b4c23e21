/* hrn_leaderboard.c — `merilo leaderboard` ranks only comparable runs (issue 12
 * point 1), on small real runs: `merilo synth` f16 and q8_0 models, `merilo run
 * --limit` on tasks/suites/demo.json and on a copy of it under another name.
 * Two suites give two sections; --fewshot runs (two seeds) and a run with
 * another --limit sit apart from the others; f16 and q8_0 rows are told apart by file and size;
 * ranks not separated by CIs are shared ("1-2"); an unknown --metric exits 2
 * listing the valid ones; md, CSV and HTML carry the same rows; -o makes
 * missing folders; where Chromium is installed the HTML fits 1280 px.
 * Runs the binary named by $MERILO (set by `make test`). */
#include "tests/tap.h"
#include "tests/cli.h"
#include "tests/chromium.h"

#include "common/err.h"
#include "records/results.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static char tmp[256];
static int have_runs;

/* The runs: f16 and q8_0 on demo --limit 3 (one group), f16 with --fewshot 1
 * (seeds 1234 and 7), f16 with --limit 2, and f16 on the renamed suite. */
static int make_runs(void)
{
	static const char *const runs[][3] = { /* folder, model, options */
		{ "f16", "m16", "--limit 3" },
		{ "q8", "m8", "--limit 3" },
		{ "fs1", "m16", "--limit 3 --fewshot 1" },
		{ "fs1s7", "m16", "--limit 3 --fewshot 1 --seed 7" },
		{ "lim2", "m16", "--limit 2" },
		{ "other", "m16", "--limit 3 --suite-other" },
	};
	if (cli_run(NULL, "synth --preset tiny --dtype f16 -o %s/m16.gguf", tmp) ||
	    cli_run(NULL, "synth --preset tiny --dtype q8_0 -o %s/m8.gguf", tmp))
		return -1;
	/* another suite: demo.json under another name (so another sha256) */
	if (cli_sh(NULL, "sed 's/\"name\": \"merilo-demo\"/\"name\": \"merilo-demo-copy\"/' tasks/suites/demo.json "
			 "> %s/other.json", tmp))
		return -1;
	for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
		bool other = strstr(runs[i][2], "--suite-other") != NULL;
		char opts[64];
		snprintf(opts, sizeof opts, "%s", runs[i][2]);
		char *cut = strstr(opts, " --suite-other");
		if (cut)
			*cut = '\0';
		char suite[512];
		snprintf(suite, sizeof suite, other ? "%s/other.json" : "tasks/suites/demo.json", tmp);
		if (cli_run(NULL, "run --model %s/%s.gguf --suite %s --tasks commonsense,grammar %s --threads 2 --boot 200 "
			    "--quiet --out %s/%s", tmp, runs[i][1], suite, opts, tmp, runs[i][0]))
			return -1;
	}
	return 0;
}

/* The number of times needle occurs in hay. */
static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; p && (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void test_groups(void)
{
	char *out = NULL;
	int rc = cli_run(&out, "leaderboard %s/f16 %s/q8 %s/fs1 %s/lim2 %s/other %s/fs1s7", tmp, tmp, tmp, tmp, tmp, tmp);
	is_int(rc, 0, "six runs: exit 0");
	like(out, "5 groups of comparable runs",
	     "f16+q8 together; few-shot (two seeds), --limit 2 and the other suite apart");
	like(out, "Group 1 of 5 (2 runs): suite merilo-demo (sha256", "group 1 heading names the suite and its hash");
	like(out, "--limit 3, few-shot 0", "group 1 heading names the limit and few-shot k");
	like(out, "Group 2 of 5 (1 run)", "the few-shot run is a group of one");
	like(out, "few-shot 1 (seed 1234)", "its heading says few-shot 1 and the seed");
	like(out, "few-shot 1 (seed 7)", "few-shot with another seed is another group");
	like(out, "--limit 2", "the --limit 2 run's heading says so");
	like(out, "suite merilo-demo-copy", "the other suite has its own section");
	is_int((long)count(out, "### Group "), 5, "one section per group");
	free(out);
	rc = cli_run(&out, "leaderboard %s/f16 %s/q8 %s/fs1 %s/lim2 %s/other %s/fs1s7 --group 3", tmp, tmp, tmp, tmp,
		     tmp, tmp);
	is_int(rc, 0, "--group 3: exit 0");
	is_int((long)count(out, "### Group "), 1, "--group 3: one section");
	like(out, "Group 3 of 5 (1 run)", "--group 3: the third group");
	free(out);
	CLI_EXPECT(2, "the runs form 5 groups", "--group 9 beyond the groups: exit 2", "leaderboard %s/f16 %s/q8 %s/fs1 "
		   "%s/lim2 %s/other %s/fs1s7 --group 9", tmp, tmp, tmp, tmp, tmp, tmp);
}

static void test_rows(void)
{
	char *out = NULL;
	int rc = cli_run(&out, "leaderboard %s/f16 %s/q8", tmp, tmp);
	is_int(rc, 0, "f16 + q8_0: exit 0");
	like(out, "| merilo-synth-tiny-f16 | m16.gguf, ", "the f16 row names its file");
	like(out, "| merilo-synth-tiny-q8\\_0 | m8.gguf, ", "the q8_0 row names its file");
	like(out, "| en 6, sr-Cyrl 6, sr-Latn 6, hr 6, CIs from only 200 bootstrap resamples | 0 |",
	     "n per language (2 tasks x 3), the runs' few resamples (--boot 200) and few-shot k");
	like(out, "| BCMS mean |", "a BCMS mean column");
	like(out, "| en→BCMS gap | Cyrl−Latn gap |", "the gap columns");
	/* the same items give the same scores: the CIs overlap, the rank is shared */
	is_int((long)count(out, "| 1-2 | merilo-synth-tiny-"), 2, "both rows share rank 1-2");
	like(out, "Rank: a range when intervals overlap", "the rank rule is in the footnote");
	free(out);
}

static void test_metric(void)
{
	char *out = NULL;
	int rc = cli_run(&out, "leaderboard %s/f16 --metric bogus", tmp);
	is_int(rc, 2, "--metric bogus: exit 2");
	like(out, "--metric bogus: no run has it; valid: acc,", "the valid metrics listed");
	like(out, "acc_norm", "acc_norm among them");
	free(out);
	rc = cli_run(&out, "leaderboard %s/f16 %s/q8 --metric acc_norm", tmp, tmp);
	is_int(rc, 0, "--metric acc_norm: exit 0");
	like(out, "## merilo leaderboard: acc\\_norm", "ranked by acc_norm");
	free(out);
}

/* The same rows in md, CSV and HTML: each format names each run folder once. */
static void test_formats(void)
{
	char *md = NULL, *csv = NULL;
	int rc = cli_run(&md, "leaderboard %s/f16 %s/q8 %s/other --format md", tmp, tmp, tmp);
	is_int(rc, 0, "md: exit 0");
	rc = cli_run(&csv, "leaderboard %s/f16 %s/q8 %s/other --format csv", tmp, tmp, tmp);
	is_int(rc, 0, "csv: exit 0");
	rc = cli_run(NULL, "leaderboard %s/f16 %s/q8 %s/other -o %s/new/folder/lb.html", tmp, tmp, tmp, tmp);
	is_int(rc, 0, "html to a missing folder: exit 0 (folders made)");
	char *o = NULL;
	rc = cli_run(&o, "leaderboard %s/f16 --format csv -o %s/lb-csv.html", tmp, tmp);
	is_int(rc, 2, "--format csv -o lb.html: a usage error, as bench's (nothing written)");
	like(o, "--format csv contradicts -o", "the contradiction named");
	free(o);
	char path[600];
	snprintf(path, sizeof path, "%s/new/folder/lb.html", tmp);
	char *html = cli_slurp(path);
	ok(html != NULL, "the html file was written");
	const char *names[] = { "f16", "q8", "other" };
	for (size_t i = 0; i < 3; i++) {
		char needle[600], name[700];
		snprintf(needle, sizeof needle, "%s/%s", tmp, names[i]);
		snprintf(name, sizeof name, "run %s once in md, csv and html", names[i]);
		ok(count(md, needle) == 1 && count(csv, needle) == 1 && count(html, needle) == 1, name);
	}
	is_int((long)count(csv, "\r\ngroup,group_settings,rank,") + (csv && !strncmp(csv, "group,", 6)), 2,
	       "csv: one header line per group");
	is_int((long)count(html, "<table class=\"lb\">"), 2, "html: one table per group");
	like(html, "<button type=\"button\" data-first=\"hi\">commonsense<br>en</button>",
	     "html: score headers are buttons, first press best first");
	ok(html && !strstr(html, "src=") && !strstr(html, "href=\"http"), "html: no external resources");
	free(md);
	free(csv);
	free(html);
}

/* Headless Chromium at 1280 px: the page must not scroll sideways (tests/chromium.h). */
static void test_chromium(void)
{
	if (!cli_chromium_available()) {
		skip(CLI_CHROMIUM_SKIP, "the leaderboard fits 1280 px");
		return;
	}
	int rc = cli_run(NULL, "leaderboard %s/f16 %s/q8 %s/fs1 %s/lim2 %s/other %s/fs1s7 -o %s/wide.html", tmp, tmp,
			 tmp, tmp, tmp, tmp, tmp);
	is_int(rc, 0, "six runs to html: exit 0");
	char html[600], png[600];
	snprintf(html, sizeof html, "%s/wide.html", tmp);
	snprintf(png, sizeof png, "%s/wide.png", tmp);
	long width = cli_chromium_scroll_width(html, tmp, 1280, png);
	diag("leaderboard at 1280 px: document.documentElement.scrollWidth = %ld", width);
	ok(width > 0 && width <= 1280, "the leaderboard fits 1280 px (scrollWidth <= 1280)");
	ok(cli_file_size(png) > 1000, "a screenshot at 1280 px was taken");
}

/* chrF (and BLEU, chrF++) are recorded on sacrebleu's 0..100 scale: the board shows them as
 * recorded, where it multiplied them by 100 as if they were shares of items (6.194 -> 619.4). */
static void test_points(void)
{
	char *out = NULL, path[600], want[64] = "";
	int rc = cli_run(NULL, "run --model %s/m16.gguf --suite tasks/suites/demo.json --tasks translate_to --limit 3 "
			 "--threads 2 --boot 200 --quiet --out %s/chrf", tmp, tmp);
	is_int(rc, 0, "a translate_to run (chrF)");
	struct rec_results r;
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/chrf/results.json", tmp);
	if (!rc && !rec_results_read(path, &r, &err)) {
		for (size_t a = 0; a < r.n_aggregates && !want[0]; a++)
			for (size_t m = 0; m < r.aggregates[a].n_metrics; m++)
				if (!strcmp(r.aggregates[a].metrics[m].name, "chrf") && r.aggregates[a].metrics[m].value > 1)
					snprintf(want, sizeof want, "| %.4g [", r.aggregates[a].metrics[m].value);
		rec_results_release(&r);
	}
	ok(want[0], "the run has a chrF above 1 (so a factor of 100 shows)");
	rc = cli_run(&out, "leaderboard %s/chrf --metric chrf --format md", tmp);
	is_int(rc, 0, "leaderboard --metric chrf: exit 0");
	like(out, want, "the chrF cell is the recorded value, not 100 times it");
	like(out, "points on sacrebleu's 0..100 scale", "the footnote names the scale");
	ok(out && !strstr(out, "Scores: percent"), "and does not call it percent");
	free(out);
}

int main(void)
{
	if (!cli_merilo())
		skip_all("MERILO does not name the merilo binary (run through make test)");
	if (!cli_tmpdir(tmp, sizeof tmp, "hrn-leaderboard"))
		skip_all("cannot make a temporary folder");
	setenv("MERILO_CACHE_DIR", tmp, 1);
	have_runs = make_runs() == 0;
	ok(have_runs, "synth models and six small runs made");
	if (have_runs) {
		TEST(test_groups(), "runs are grouped by suite and the settings that change scores");
		TEST(test_rows(), "rows: model file, n, few-shot, BCMS mean, gaps, shared ranks");
		TEST(test_metric(), "an unknown --metric exits 2 listing the valid ones");
		TEST(test_formats(), "md, csv and html carry the same rows; -o makes folders");
		TEST(test_points(), "chrF is shown on its own 0..100 scale, not in percent");
		TEST(test_chromium(), "the html fits 1280 px in headless Chromium");
	}
	cli_rmtree(tmp);
	return done_testing();
}
