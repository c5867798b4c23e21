/* hrn_report.c — `merilo report` as a user runs it, on a pair of runs built
 * here with the record writers (rec_results_write, rec_item_writer): every
 * file is written (html, md, png, svg, gp, dat); report.html holds its images
 * (inline SVG, or PNG data: URIs with --image-format png); names from the runs are
 * escaped in HTML and markdown; without gnuplot the report is still written,
 * says why the plots are missing and the command exits 0 with a warning; bad
 * run folders and options give exit 3 / 2; and, where Debian's chromium is
 * installed, report.html renders headless to a screenshot that is not blank,
 * and copied alone into an empty folder it fits 1280 px (tests/chromium.h).
 * Runs the binary named by $MERILO (set by `make test`). */
#include "tests/tap.h"
#include "tests/cli.h"
#include "tests/chromium.h"

#include "common/json.h"
#include "harness/manifest.h"
#include "records/item.h"
#include "records/item_writer.h"
#include "records/items.h"
#include "records/results.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#define HOSTILE "<script>alert(1)</script>"

static const char *merilo;

/* The file dir/name, whole (malloc'd) or NULL; and its size or -1. */
static char *slurp(const char *dir, const char *name)
{
	char path[8192];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return cli_slurp(path);
}

static long fsize(const char *dir, const char *name)
{
	char path[8192];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return cli_file_size(path);
}

/* A deterministic pseudo-random number in [0, 1). */
static double u01(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*s >> 11) / 9007199254740992.0;
}

static const char *const langs[] = { "en", "sr-Cyrl", "sr-Latn", "hr" };
enum { N_LANGS = 4, N_ITEMS = 60 };

/* Write a run folder: results.json with acc per task x language and the paired
 * comparisons of every language pair, items.jsonl with timings. p_right[l] is
 * the chance an item is right in language l. A truncated last line and a
 * performance record when asked. */
static int make_run(const char *dir, const char *model_name, const char *task2, const double *p_right, uint64_t seed,
		    bool truncated_tail, bool with_perf)
{
	struct rec_results r;
	struct mrl_err err = { 0 };
	rec_results_init(&r);
	r.suite.name = strdup("test-suite");
	r.suite.version = strdup("1.0.0");
	r.model.name = strdup(model_name);
	r.model.path = strdup("models/x.gguf");
	r.model.sha256 = strdup("4a8e516a751b91325ebb1ab00a5d39ef4cf47a02d2d8c87030a89e23ba11620a");
	r.engine.name = strdup("merilo");
	r.engine.version = strdup("0.1.0");
	r.engine.backend = strdup("cpu");
	r.settings.threads = 2;
	r.settings.seed = 1234;
	r.manifest.cpu_model = strdup("Test CPU");
	r.manifest.logical_cores = 2;
	r.manifest.started_utc = strdup("2025-05-01T12:34:56Z");
	r.manifest.ended_utc = strdup("2025-05-01T12:40:00Z");
	const char *tasks[2] = { "copa", task2 };
	bool right[2][N_LANGS][N_ITEMS];
	char path[8192];
	snprintf(path, sizeof path, "%s/items.jsonl", dir);
	struct rec_item_writer *w = NULL;
	struct rec_item_writer_opts wo = { .truncate = true };
	int rc = rec_item_writer_open(path, &wo, &w, NULL, &err);
	for (size_t t = 0; !rc && t < 2; t++)
		for (size_t l = 0; l < N_LANGS; l++) {
			size_t k = 0;
			for (size_t i = 0; i < N_ITEMS; i++) {
				right[t][l][i] = u01(&seed) < p_right[l];
				k += right[t][l][i];
				struct rec_item it;
				char id[32];
				snprintf(id, sizeof id, "item-%03zu", i);
				rc = rec_item_init(&it, tasks[t], id, langs[l]);
				rc = rc ? rc : rec_item_add_choice(&it, -3.5, 3, 12, 12, false);
				rc = rc ? rc : rec_item_add_choice(&it, -4.0, 4, 14, 15, false);
				rc = rc ? rc : rec_item_add_metric(&it, "acc", right[t][l][i] ? 0 : 1, NULL, right[t][l][i], NAN);
				it.gold_index = 0;
				rc = rc ? rc : rec_item_add_timing(&it, "total", (int64_t)((l == 1 ? 9e6 : 5e6) * (0.6 + u01(&seed))));
				rc = rc ? rc : rec_item_writer_add(w, &it, &err);
				rec_item_release(&it);
			}
			double acc = (double)k / N_ITEMS, se = sqrt(acc * (1 - acc) / N_ITEMS);
			struct rec_aggregate *a = rec_results_add_aggregate(&r, tasks[t], langs[l], N_ITEMS);
			rc = rc ? rc : !a ? MRL_ENOMEM
					 : rec_aggregate_add_metric(a, "acc", acc, se, fmax(0, acc - 1.96 * se),
								    fmin(1, acc + 1.96 * se), 0.95, "wilson");
		}
	for (size_t t = 0; !rc && t < 2; t++)
		for (size_t la = 0; la < N_LANGS; la++)
			for (size_t lb = la + 1; lb < N_LANGS; lb++) {
				int64_t b = 0, c = 0;
				for (size_t i = 0; i < N_ITEMS; i++) {
					b += right[t][la][i] && !right[t][lb][i];
					c += !right[t][la][i] && right[t][lb][i];
				}
				struct rec_comparison *cm = rec_results_add_comparison(&r, tasks[t], langs[la], langs[lb], "acc",
										       "paired-bootstrap");
				if (!cm) {
					rc = MRL_ENOMEM;
					break;
				}
				cm->n_pairs = N_ITEMS;
				cm->diff = (double)(b - c) / N_ITEMS;
				cm->ci_low = cm->diff - 0.12;
				cm->ci_high = cm->diff + 0.12;
				cm->ci_level = 0.95;
				cm->mcnemar_b = b;
				cm->mcnemar_c = c;
				cm->mcnemar_p = b + c ? fmin(1, 2 * pow(0.5, (double)(b + c)) * (double)(1 + (b < c ? b : c))) : 1;
			}
	if (!rc && with_perf) { /* a "performance" record: speed per language, energy null with its reason */
		struct rec_perf_task *pt = rec_results_add_perf(&r, "copa");
		for (size_t l = 0; pt && l < N_LANGS; l++) {
			struct rec_perf_lang *pl = rec_perf_task_add_lang(pt, langs[l]);
			if (!pl)
				break;
			pl->n_items = N_ITEMS;
			pl->tokens_per_s = l == 1 ? 812.5 : 1234.5;
			pl->item_ms_median = l == 1 ? 9.0 : 5.0;
			pl->item_ms_p90 = l == 1 ? 12.5 : 7.25;
		}
		if (!pt) {
			rc = MRL_ENOMEM;
		} else {
			pt->all.n_items = N_ITEMS * N_LANGS;
			pt->all.tokens_per_s = 1100.25;
			pt->all.item_ms_median = pt->all.item_ms_p90 = NAN;
			pt->window.present = true;
			pt->window.n_items = N_ITEMS * N_LANGS;
			rc = rec_reading_set(&pt->window.energy_per_item_j, "energy_per_item_j", "J", NAN,
					     "no energy source (/sys/class/powercap absent)");
		}
	}
	int crc = rec_item_writer_close(w, &err);
	rc = rc ? rc : crc;
	snprintf(path, sizeof path, "%s/results.json", dir);
	rc = rc ? rc : rec_results_write(path, &r, &err);
	rec_results_release(&r);
	if (!rc && truncated_tail) {
		snprintf(path, sizeof path, "%s/items.jsonl", dir);
		FILE *f = fopen(path, "a");
		fputs("{\"schema_version\":1,\"task\":\"copa\",\"ite", f);
		fclose(f);
	}
	if (rc)
		diag("make_run %s: %s", dir, err.msg);
	return rc;
}

static const char *const plots[] = { "accuracy", "language-gap", "script-gap", "item-time", "speed" };
enum { N_PLOTS = 5 };

static void test_full(const char *base, bool have_gnuplot)
{
	char *out;
	int rc = cli_sh(&out, "'%s' report '%s/runA' '%s/runB' -o '%s/out'", merilo, base, base, base);
	is_int(rc, 0, "report of two runs: exit 0");
	like(out, "report.html", "says what it wrote");
	if (!have_gnuplot) {
		free(out);
		skip("gnuplot is not installed", "images drawn");
		return;
	}
	ok(!strstr(out, "warning"), "no warning with gnuplot present");
	free(out);
	char dir[4200];
	snprintf(dir, sizeof dir, "%s/out", base);
	ok(fsize(dir, "report.html") > 2000, "report.html written");
	ok(fsize(dir, "report.md") > 500, "report.md written");
	static const char *const ext[] = { "png", "svg", "gp", "dat" };
	for (size_t p = 0; p < N_PLOTS; p++)
		for (size_t e = 0; e < 4; e++) {
			char name[64], what[128];
			snprintf(name, sizeof name, "%s.%s", plots[p], ext[e]);
			snprintf(what, sizeof what, "%s written", name);
			ok(fsize(dir, name) > 0, what);
		}
	char *html = slurp(dir, "report.html"), *md = slurp(dir, "report.md");
	ok(html && !strstr(html, "<script"), "no <script> anywhere in report.html");
	like(html, "&lt;script&gt;alert(1)&lt;/script&gt;", "the hostile model and task names show as text in HTML");
	ok(md && !strstr(md, HOSTILE), "the hostile names are not raw HTML in report.md");
	like(md, "| merilo commit | host | threads | seed | started (UTC) | item lines |",
	     "report.md's Runs table has the commit and the items.jsonl lines, as report.html's");
	like(html, "<th>run</th><th>task</th><th>metric</th><th>n</th><th>en</th><th>sr-Cyrl</th><th>sr-Latn</th><th>hr</th>",
	     "the score table has a column per language");
	like(html, "<td>copa</td><td>acc (%)</td><td class=\"n\">60</td><td class=\"n\">", "a row per task and metric");
	like(html, "<figure>\n<div class=\"svg\"><svg", "images inline (SVG): report.html is one file");
	like(html, "<use xlink:href='#accuracy-gpPt", "each SVG's ids carry the plot's name (no clashes between plots)");
	ok(html && !strstr(html, "<img"), "no image loaded from a file");
	like(html, "<a href=\"language-gap.gp\">gnuplot script</a>", "links to the scripts");
	like(html, "No bench data in these runs", "a run without bench data says so");
	like(html, "items.jsonl: the last line", "a truncated items.jsonl is reported");
	ok(html && !strstr(html, "http://") && !strstr(html, "https://"), "nothing is fetched from the network");
	like(html, "<td class=\"n\">812.5</td><td class=\"n\">9.00</td><td class=\"n\">12.50</td>",
	     "scoring speed per language from the performance record");
	like(html, "no energy source (/sys/class/powercap absent)", "energy not measured: the recorded reason");
	const char *first = html ? strstr(html, "no energy source (/sys/class/powercap absent)") : NULL;
	ok(first && !strstr(first + 1, "no energy source (/sys/class/powercap absent)"),
	   "the energy reason is said once in the page, not on every row (issue 12 point 8)");
	like(html, "<td>n/a (below)</td>", "a row with null energy says n/a");
	like(md, "![Accuracy per task and language](accuracy.png)", "markdown embeds the images");
	like(md, "| copa | en→BCMS | en ", "markdown gap table, oriented en first, its kind named");
	free(html);
	free(md);
	char *svg = slurp(dir, "accuracy.svg");
	ok(svg && !strstr(svg, HOSTILE), "the hostile name is escaped in the SVG");
	free(svg);
}

static void test_no_gnuplot(const char *base, const char *env, const char *what)
{
	char *out, name[160];
	int rc = cli_sh(&out, "%s '%s' report '%s/runA' '%s/runB' -o '%s/nognu'", env, merilo, base, base, base);
	snprintf(name, sizeof name, "%s: exit 0", what);
	is_int(rc, 0, name);
	snprintf(name, sizeof name, "%s: a warning on stderr", what);
	like(out, "merilo report: warning: gnuplot not available", name);
	free(out);
	char dir[4200];
	snprintf(dir, sizeof dir, "%s/nognu", base);
	char *html = slurp(dir, "report.html"), *md = slurp(dir, "report.md");
	snprintf(name, sizeof name, "%s: report.html says why there are no plots", what);
	like(html, "gnuplot not available", name);
	snprintf(name, sizeof name, "%s: the tables are still there", what);
	like(html, "<td class=\"n\">+", name);
	snprintf(name, sizeof name, "%s: report.md says it too", what);
	like(md, "gnuplot not available", name);
	snprintf(name, sizeof name, "%s: scripts and data written, no images", what);
	ok(fsize(dir, "accuracy.gp") > 0 && fsize(dir, "accuracy.dat") > 0 && fsize(dir, "accuracy.png") < 0 &&
	   fsize(dir, "accuracy.svg") < 0, name);
	snprintf(name, sizeof name, "%s: no broken image links", what);
	ok(html && !strstr(html, "<img"), name);
	free(html);
	free(md);
	cli_rmtree(dir);
}

static void test_errors(const char *base)
{
	char *out;
	int rc = cli_sh(&out, "'%s' report", merilo);
	is_int(rc, 2, "no run folder: exit 2");
	like(out, "expected at least one run folder", "and says so");
	free(out);
	rc = cli_sh(&out, "'%s' report '%s/runA' --image-format gif -o '%s/x'", merilo, base, base);
	is_int(rc, 2, "an unknown format: exit 2");
	like(out, "--image-format: unknown format 'gif'", "naming it");
	free(out);
	rc = cli_sh(&out, "'%s' report '%s/nope' -o '%s/x'", merilo, base, base);
	is_int(rc, 3, "a missing run folder: exit 3");
	like(out, "/nope: no such run folder", "naming it");
	free(out);
	char path[4200];
	snprintf(path, sizeof path, "%s/bad", base);
	mkdir(path, 0755);
	snprintf(path, sizeof path, "%s/bad/results.json", base);
	cli_write_file(path, "{\"schema_version\": 1, \"suite\": ");
	rc = cli_sh(&out, "'%s' report '%s/bad' -o '%s/x'", merilo, base, base);
	is_int(rc, 3, "a truncated results.json: exit 3");
	like(out, "bad/results.json", "naming the file");
	free(out);
	rc = cli_sh(&out, "'%s' report '%s/runA' -o /proc/merilo-report", merilo, base);
	is_int(rc, 4, "an output folder that cannot be made: exit 4");
	like(out, "/proc/merilo-report", "naming it");
	free(out);
	rc = cli_sh(&out, "'%s' report '%s/runA' --image-format svg -o '%s/svg-only'", merilo, base, base);
	is_int(rc, 0, "--format svg: exit 0");
	free(out);
	snprintf(path, sizeof path, "%s/svg-only", base);
	char *html = slurp(path, "report.html");
	ok(fsize(path, "accuracy.svg") > 0 && fsize(path, "accuracy.png") < 0 && html &&
	   strstr(html, "<div class=\"svg\"><svg") && !strstr(html, ".png"),
	   "--format svg: SVG only, and the page shows the SVG inline");
	free(html);
	rc = cli_sh(&out, "'%s' report '%s/runA' --image-format png -o '%s/png-only'", merilo, base, base);
	is_int(rc, 0, "--image-format png: exit 0");
	free(out);
	snprintf(path, sizeof path, "%s/png-only", base);
	html = slurp(path, "report.html");
	like(html, "<img src=\"data:image/png;base64,iVBORw0KGgo", "--image-format png: the PNG inline as a data: URI");
	free(html);
	rc = cli_sh(&out, "'%s' report --help", merilo);
	is_int(rc, 0, "--help: exit 0");
	like(out, "usage: merilo report RUN_DIR...", "--help prints the usage");
	free(out);
}

/* Headless Chromium: a screenshot of report.html, and one of an empty page as
 * the blank reference. A blank 1200 x 1600 page compresses to a few KB; the
 * report (text, tables, plots) must give a PNG at least 4 times larger. */
static void test_chromium(const char *base)
{
	const char *browsers[] = { "chromium", "chromium-browser", "google-chrome" };
	const char *browser = NULL;
	char cmd[8192], *out;
	for (size_t i = 0; i < 3 && !browser; i++) {
		snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", browsers[i]);
		if (system(cmd) == 0)
			browser = browsers[i];
	}
	if (!browser) {
		skip("chromium is not installed (apt-get install chromium)", "report.html renders in headless Chromium");
		return;
	}
	snprintf(cmd, sizeof cmd, "%s/blank.html", base);
	cli_write_file(cmd, "<!DOCTYPE html><html><head><meta charset=\"utf-8\"></head><body></body></html>\n");
	/* its profile in the test's folder: without one Chromium needs $HOME (unset under env -i) */
	const char *flags = "--headless --no-sandbox --disable-gpu --hide-scrollbars --window-size=1200,1600";
	int rc1 = cli_sh(&out, "cd '%s' && timeout 120 %s %s --user-data-dir='%s/chromium' --screenshot='%s/blank.png' "
			 "'file://%s/blank.html'", base, browser, flags, base, base, base);
	free(out);
	int rc2 = cli_sh(&out, "cd '%s' && timeout 120 %s %s --user-data-dir='%s/chromium' --screenshot='%s/shot.png' "
			 "'file://%s/out/report.html'", base, browser, flags, base, base, base);
	free(out);
	long blank = fsize(base, "blank.png"), shot = fsize(base, "shot.png");
	diag("chromium screenshots: blank page %ld bytes, report %ld bytes", blank, shot);
	ok(rc1 == 0 && rc2 == 0 && blank > 0 && shot > 0, "headless Chromium took both screenshots");
	ok(blank > 0 && shot > 4 * blank, "the report's screenshot is not blank (over 4 x the blank page's PNG)");
	/* report.html alone, away from its image files, at 1280 px (tests/chromium.h) */
	char lone[4200], html[4300], png[4300];
	snprintf(lone, sizeof lone, "%s/lone", base);
	mkdir(lone, 0755);
	snprintf(html, sizeof html, "%s/report.html", lone);
	snprintf(png, sizeof png, "%s/report-1280.png", lone);
	ok(cli_sh(NULL, "cp '%s/out/report.html' '%s'", base, html) == 0, "report.html copied alone");
	long width = cli_chromium_scroll_width(html, lone, 1280, png);
	diag("report.html at 1280 px: document.documentElement.scrollWidth = %ld", width);
	ok(width > 0 && width <= 1280, "report.html fits 1280 px (scrollWidth <= 1280)");
	ok(cli_file_size(png) > 4 * blank, "a screenshot of report.html alone at 1280 px shows the page");
}

int main(void)
{
	merilo = cli_merilo();
	if (!merilo)
		skip_all("MERILO does not name the merilo binary (run through make test)");
	char base[64];
	if (!cli_tmpdir(base, sizeof base, "report"))
		skip_all("cannot make a temporary folder");
	char dir[4200];
	const double pa[N_LANGS] = { 0.8, 0.55, 0.6, 0.6 }, pb[N_LANGS] = { 0.85, 0.7, 0.72, 0.7 };
	snprintf(dir, sizeof dir, "%s/runA", base);
	mkdir(dir, 0755);
	ok(make_run(dir, "tiny-base", "piqa", pa, 1, false, true) == 0, "run A written with the record writers");
	snprintf(dir, sizeof dir, "%s/runB", base);
	mkdir(dir, 0755);
	ok(make_run(dir, HOSTILE, HOSTILE, pb, 2, true, false) == 0, "run B (hostile model and task names) written");
	const bool have_gnuplot = system("command -v gnuplot >/dev/null 2>&1") == 0;
	test_full(base, have_gnuplot);
	test_no_gnuplot(base, "MERILO_GNUPLOT=/nonexistent", "MERILO_GNUPLOT=/nonexistent");
	char env[4300];
	snprintf(env, sizeof env, "mkdir -p '%s/empty-path' && PATH='%s/empty-path'", base, base);
	test_no_gnuplot(base, env, "PATH without gnuplot");
	test_errors(base);
	/* a run's results.json stands for its folder, as in compare, leaderboard and merge (it was
	 * "not a run folder (not a directory)") */
	char *o = NULL;
	int rc = cli_sh(&o, "MERILO_GNUPLOT=/nonexistent '%s' report '%s/runA/results.json' -o '%s/via-results'", merilo,
			base, base);
	is_int(rc, 0, "report RUN/results.json: exit 0");
	char vdir[4200];
	snprintf(vdir, sizeof vdir, "%s/via-results", base);
	char *vhtml = slurp(vdir, "report.html");
	like(vhtml, "tiny-base", "... the report is of that run");
	free(vhtml);
	free(o);
	if (have_gnuplot)
		test_chromium(base);
	if (getenv("HRN_REPORT_KEEP")) {
		diag("kept %s", base);
	} else {
		cli_rmtree(base);
	}
	return done_testing();
}
