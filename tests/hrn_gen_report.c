/* hrn_gen_report.c — merilo report on a run with generate tasks (issue 17).
 *
 * A tiny random-weight model runs the demo suite's generate tasks (--limit 3);
 * merilo report draws the generation plots. Checked: generation.dat holds, per
 * language, exactly the EM/F1/ROUGE-L/chrF/chrF++/BLEU values and CIs of
 * results.json (fractions x 100), each at the x tic of its task and metric in
 * generation.gp; script-lang.dat the same for script_ok and lang_ok;
 * generation-gap.dat one row per en-vs-BCMS and sr-Cyrl-vs-sr-Latn comparison
 * of those metrics, oriented and scaled; the gap tables show chrF differences in
 * chrF points (not x 100); with gnuplot the three plots are inline SVG in
 * report.html, and with Chromium the page fits 1280 px. merilo compare --out of
 * two models' runs plots each generative comparison of its JSON; a prefix that
 * starts with '-' reaches gnuplot as a path (./-x-generation.gp), and a gnuplot
 * that exits 0 without drawing is not said to have "failed (exit 0)". Two runs'
 * crowded generation tic labels are turned and put on one line each.
 * Runs the binary named by $MERILO (set by `make test`). */
#include "tests/tap.h"
#include "tests/cli.h"
#include "tests/chromium.h"

#include <jansson.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char tmp[256];

struct metric_def {
	const char *name, *label;
	double scale;
};
static const struct metric_def quality[] = {
	{ "exact_match", "EM", 100 }, { "f1", "F1", 100 }, { "rouge_l", "ROUGE-L", 100 },
	{ "chrf", "chrF", 1 },        { "chrf++", "chrF++", 1 }, { "bleu", "BLEU", 1 },
};
static const struct metric_def consistency[] = { { "script_ok", "script_ok", 100 }, { "lang_ok", "lang_ok", 100 } };

struct dat_row {
	char lang[32];
	double x, v, lo, hi;
	bool used;
};

/* The rows of a points .dat ("# index K: language L" headers, then x v lo hi). */
static size_t read_points(const char *path, struct dat_row *rows, size_t cap)
{
	char *text = cli_slurp(path), *save = NULL, lang[32] = "";
	size_t n = 0;
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		const char *h = strstr(l, ": language ");
		if (l[0] == '#') {
			if (h)
				snprintf(lang, sizeof lang, "%s", h + 11);
			continue;
		}
		struct dat_row r = { 0 };
		if (n < cap && sscanf(l, "%lf %lf %lf %lf", &r.x, &r.v, &r.lo, &r.hi) == 4) {
			snprintf(r.lang, sizeof r.lang, "%s", lang);
			rows[n++] = r;
		}
	}
	free(text);
	return n;
}

static bool close_to(double a, double b)
{
	return fabs(a - b) <= 1e-6 * fmax(1.0, fabs(b));
}

/* The x tic of (task, label) in the script, or -1. */
static long tic_of(const char *gp, const char *task, const char *label)
{
	char needle[160];
	snprintf(needle, sizeof needle, "'%s'.\"\\n\".'%s'", task, label);
	/* the label, then .', n=N' where its languages share one n (else nothing), then the tic */
	const char *p = gp ? strstr(gp, needle) : NULL, *q = p ? p + strlen(needle) : NULL;
	if (q && *q == '.')
		q = (q = strstr(q, "' ")) ? q + 1 : NULL;
	return q && *q == ' ' ? strtol(q + 1, NULL, 10) : -1;
}

/* Every finite value of the metrics in results.json is one row of NAME.dat, in its
 * language's block, at its task and metric's tic, and no row is left over. */
static void check_points(const char *rep, json_t *res, const char *name, const struct metric_def *defs, size_t n_defs)
{
	char path[600];
	static struct dat_row rows[512];
	snprintf(path, sizeof path, "%s/%s.dat", rep, name);
	const size_t n_rows = read_points(path, rows, 512);
	snprintf(path, sizeof path, "%s/%s.gp", rep, name);
	char *gp = cli_slurp(path);
	size_t n_values = 0, n_found = 0, n_at_tic = 0;
	size_t a;
	json_t *ag;
	json_array_foreach(json_object_get(res, "aggregates"), a, ag) {
		const char *task = json_string_value(json_object_get(ag, "task"));
		const char *lang = json_string_value(json_object_get(ag, "language"));
		for (size_t k = 0; k < n_defs; k++) {
			json_t *mv = json_object_get(json_object_get(ag, "metrics"), defs[k].name);
			if (!mv || !json_is_number(json_object_get(mv, "value")))
				continue;
			n_values++;
			const double v = json_number_value(json_object_get(mv, "value")) * defs[k].scale;
			const double lo = json_number_value(json_object_get(mv, "ci_low")) * defs[k].scale;
			const double hi = json_number_value(json_object_get(mv, "ci_high")) * defs[k].scale;
			const long tic = tic_of(gp, task, defs[k].label);
			for (size_t r = 0; r < n_rows; r++)
				if (!rows[r].used && !strcmp(rows[r].lang, lang) && close_to(rows[r].v, v) &&
				    close_to(rows[r].lo, lo) && close_to(rows[r].hi, hi) && lround(rows[r].x) == tic) {
					rows[r].used = true;
					n_found++;
					n_at_tic += tic >= 0;
					break;
				}
		}
	}
	diag("%s: %zu values in results.json, %zu rows in %s.dat", name, n_values, n_rows, name);
	char what[4][160];
	snprintf(what[0], sizeof what[0], "%s: results.json has values to plot", name);
	snprintf(what[1], sizeof what[1], "%s.dat: every value and CI of results.json in its language's block", name);
	snprintf(what[2], sizeof what[2], "%s: each point at its task and metric's x tic", name);
	snprintf(what[3], sizeof what[3], "%s.dat: no other rows", name);
	ok(n_values > 0, what[0]);
	is_int((long)n_found, (long)n_values, what[1]);
	is_int((long)n_at_tic, (long)n_values, what[2]);
	is_int((long)n_rows, (long)n_values, what[3]);
	free(gp);
}

/* How the report orients a pair: +1 as recorded, -1 flipped, 0 not in the gap plot. */
static int orientation(const char *a, const char *b)
{
	const bool bcms_a = strcmp(a, "en") != 0, bcms_b = strcmp(b, "en") != 0;
	if (!strcmp(a, "en") && bcms_b)
		return 1;
	if (!strcmp(b, "en") && bcms_a)
		return -1;
	if (!strcmp(a, "sr-Cyrl") && !strcmp(b, "sr-Latn"))
		return 1;
	if (!strcmp(a, "sr-Latn") && !strcmp(b, "sr-Cyrl"))
		return -1;
	return 0;
}

static void check_gaps(const char *rep, json_t *res)
{
	char path[600];
	snprintf(path, sizeof path, "%s/generation-gap.dat", rep);
	char *text = cli_slurp(path), *save = NULL;
	double diff[256], lo[256], hi[256];
	long n_pairs[256];
	bool used[256] = { false };
	size_t n_rows = 0;
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		double row;
		char p[32]; /* McNemar p, "?" for graded metrics */
		if (l[0] != '#' && n_rows < 256 &&
		    sscanf(l, "%lf %lf %lf %lf %31s %ld", &diff[n_rows], &row, &lo[n_rows], &hi[n_rows], p, &n_pairs[n_rows]) == 6)
			n_rows++;
	}
	free(text);
	size_t n_cmp = 0, n_found = 0, i;
	json_t *c;
	json_array_foreach(json_object_get(res, "comparisons"), i, c) {
		const char *metric = json_string_value(json_object_get(c, "metric"));
		const int o = orientation(json_string_value(json_object_get(c, "language_a")),
					  json_string_value(json_object_get(c, "language_b")));
		double scale = 0;
		for (size_t k = 0; k < 6; k++)
			scale = !strcmp(metric, quality[k].name) ? quality[k].scale : scale;
		for (size_t k = 0; k < 2; k++)
			scale = !strcmp(metric, consistency[k].name) ? consistency[k].scale : scale;
		if (!o || !scale)
			continue;
		n_cmp++;
		const double d = o * scale * json_number_value(json_object_get(c, "diff"));
		const double l = scale * json_number_value(json_object_get(c, o > 0 ? "ci_low" : "ci_high")) * o;
		const double h = scale * json_number_value(json_object_get(c, o > 0 ? "ci_high" : "ci_low")) * o;
		const long n = (long)json_integer_value(json_object_get(c, "n_pairs"));
		for (size_t r = 0; r < n_rows; r++)
			if (!used[r] && close_to(diff[r], d) && close_to(lo[r], l) && close_to(hi[r], h) && n_pairs[r] == n) {
				used[r] = true;
				n_found++;
				break;
			}
	}
	diag("generation-gap: %zu comparisons (en - BCMS, sr-Cyrl - sr-Latn), %zu rows", n_cmp, n_rows);
	ok(n_cmp > 0, "results.json has generative comparisons to plot");
	is_int((long)n_found, (long)n_cmp, "generation-gap.dat: each comparison oriented and scaled, with its CI and n");
	is_int((long)n_rows, (long)n_cmp, "generation-gap.dat: no other rows");
}

/* report.md's gap table gives a chrF difference in chrF points. */
static void check_chrf_row(const char *rep, json_t *res)
{
	size_t i;
	json_t *c;
	char want[64] = "";
	json_array_foreach(json_object_get(res, "comparisons"), i, c)
		if (!strcmp(json_string_value(json_object_get(c, "metric")), "chrf") &&
		    orientation(json_string_value(json_object_get(c, "language_a")),
				json_string_value(json_object_get(c, "language_b"))) == 1) {
			snprintf(want, sizeof want, "| chrf | %lld | %+.2f |",
				 (long long)json_integer_value(json_object_get(c, "n_pairs")),
				 json_number_value(json_object_get(c, "diff")));
			break;
		}
	char path[600];
	snprintf(path, sizeof path, "%s/report.md", rep);
	char *md = cli_slurp(path);
	diag("looking for '%s'", want);
	ok(want[0] && md && strstr(md, want), "report.md: a chrF difference in chrF points, not x 100");
	ok(md && strstr(md, "## Generate tasks"), "report.md has the generate tasks section");
	free(md);
}

/* merilo compare --out PREFIX of two runs: PREFIX-generation.dat holds one row per
 * generative comparison of PREFIX.json, candidate - base, scaled as the report's. */
static void test_compare(const char *model_b)
{
	char *out = NULL, path[600];
	int rc = cli_run(&out, "run --model %s --suite tasks/suites/demo.json --tasks translate_to,translate_from,short_qa "
			       "--limit 3 --seed 1 --boot 200 --quiet --threads 2 --out %s/run-b", model_b, tmp);
	is_int(rc, 0, "a second model's run");
	free(out);
	rc = cli_run(&out, "compare %s/run %s/run-b --out %s/cmp/c --boot 200 --quiet", tmp, tmp, tmp);
	is_int(rc, 3, "compare --out of generate tasks only, no --gate: exit 3 (the default gate judges nothing)");
	free(out);
	/* two runs' 16 groups of three-line tics overprinted side by side: turned, one line each */
	rc = cli_run(&out, "report %s/run %s/run-b -o %s/rep2", tmp, tmp, tmp);
	is_int(rc, 0, "report of the two runs");
	free(out);
	snprintf(path, sizeof path, "%s/rep2/generation.gp", tmp);
	char *gp = cli_slurp(path);
	like(gp, "set xtics rotate by", "two runs' generation plot: crowded tic labels are turned");
	const char *tics = gp ? strstr(gp, "set xtics scale 0 (") : NULL;
	ok(tics && !memchr(tics, '\\', strcspn(tics, "\n")) && strstr(tics, "'run-b' "),
	   "... each on one line, naming its run (turned lines of three overprinted)");
	free(gp);
	snprintf(path, sizeof path, "%s/cmp/c.json", tmp);
	json_t *cj = json_load_file(path, 0, NULL);
	ok(cj != NULL, "compare --out wrote c.json");
	snprintf(path, sizeof path, "%s/cmp/c-generation.dat", tmp);
	char *text = cli_slurp(path), *save = NULL;
	double diff[128], lo[128], hi[128];
	long n_pairs[128];
	bool used[128] = { false };
	size_t n_rows = 0, n_cmp = 0, n_found = 0, i;
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		double row;
		char p[32];
		if (l[0] != '#' && n_rows < 128 &&
		    sscanf(l, "%lf %lf %lf %lf %31s %ld", &diff[n_rows], &row, &lo[n_rows], &hi[n_rows], p, &n_pairs[n_rows]) == 6)
			n_rows++;
	}
	free(text);
	json_t *c;
	json_array_foreach(json_object_get(cj, "comparisons"), i, c) {
		const char *metric = json_string_value(json_object_get(c, "metric"));
		double scale = 0;
		for (size_t k = 0; k < 6; k++)
			scale = !strcmp(metric, quality[k].name) ? quality[k].scale : scale;
		for (size_t k = 0; k < 2; k++)
			scale = !strcmp(metric, consistency[k].name) ? consistency[k].scale : scale;
		if (!scale || !json_is_number(json_object_get(c, "diff")))
			continue;
		n_cmp++;
		const double d = scale * json_number_value(json_object_get(c, "diff"));
		const double l = scale * json_number_value(json_object_get(c, "ci_low"));
		const double h = scale * json_number_value(json_object_get(c, "ci_high"));
		const long n = (long)json_integer_value(json_object_get(c, "n_pairs"));
		for (size_t r = 0; r < n_rows; r++)
			if (!used[r] && close_to(diff[r], d) && close_to(lo[r], l) && close_to(hi[r], h) && n_pairs[r] == n) {
				used[r] = true;
				n_found++;
				break;
			}
	}
	json_decref(cj);
	diag("compare: %zu generative comparisons, %zu rows in c-generation.dat", n_cmp, n_rows);
	ok(n_cmp > 0, "compare pairs the generative metrics");
	is_int((long)n_found, (long)n_cmp, "c-generation.dat: each comparison, candidate - base, with its CI and n");
	is_int((long)n_rows, (long)n_cmp, "c-generation.dat: no other rows");
	if (system("command -v gnuplot >/dev/null 2>&1")) {
		skip("gnuplot is not installed", "c-generation.svg drawn");
		return;
	}
	snprintf(path, sizeof path, "%s/cmp/c-generation.svg", tmp);
	ok(cli_file_size(path) > 1000, "c-generation.svg drawn");
}

/* compare -o --quiet (a prefix that starts with '-', as when -o lost its value):
 * gnuplot gets ./--quiet-generation.gp, a path, not an option. A stand-in gnuplot
 * first in PATH records its arguments and draws nothing (exit 0), as gnuplot does
 * with an option it does not know; the real one, where installed, draws. */
static void test_compare_dash_prefix(void)
{
	char *out = NULL, dir[400], fake[400], path[600];
	snprintf(dir, sizeof dir, "%s/dash", tmp);
	snprintf(fake, sizeof fake, "%s/fake-gnuplot", tmp);
	snprintf(path, sizeof path, "%s/gnuplot", fake);
	int rc = cli_sh(&out, "mkdir -p '%s' '%s'", dir, fake);
	free(out);
	out = NULL; /* where a setup step fails, the checks below read out without a command */
	cli_write_file(path, "#!/bin/sh\n"
			     "if [ \"$1\" = -e ]; then echo 'pngcairo svg'; exit 0; fi\n"
			     "echo \"$@\" >> \"$(dirname \"$0\")/args\"\n"
			     "exit 0\n");
	rc = rc ? rc : chmod(path, 0755);
	rc = rc ? rc : cli_sh(&out, "cd '%s' && PATH='%s':\"$PATH\" '%s' compare ../run ../run-b -o --quiet --boot 200", dir,
			      fake, cli_merilo());
	/* generate tasks only, no --gate: the default gate judges nothing (undetermined, exit 3) */
	is_int(rc, 3, "compare -o --quiet (the prefix '--quiet') with a gnuplot that draws nothing: exit 3 (no gate)");
	ok(out && !strstr(out, "failed (exit 0)"), "... not 'gnuplot failed (exit 0)'");
	like(out, "merilo compare: warning: --quiet-generation.gp: gnuplot drew no PNG or SVG (and said nothing)",
	     "... the warning says what is missing");
	free(out);
	snprintf(path, sizeof path, "%s/args", fake);
	char *args = cli_slurp(path);
	is_str(args, "./--quiet-generation.gp\n", "gnuplot gets the script as a path: ./--quiet-generation.gp");
	free(args);
	/* MERILO_GNUPLOT names the program, as for report (compare took gnuplot from PATH) */
	snprintf(path, sizeof path, "%s/my-gnuplot", fake);
	cli_write_file(path, "#!/bin/sh\n"
			     "if [ \"$1\" = -e ]; then echo 'pngcairo svg'; exit 0; fi\n"
			     "echo \"$@\" >> \"$(dirname \"$0\")/my-args\"\n"
			     "exit 0\n");
	out = NULL;
	rc = chmod(path, 0755);
	rc = rc ? rc : cli_sh(&out, "cd '%s' && MERILO_GNUPLOT='%s' '%s' compare ../run ../run-b -o env --boot 200", dir,
			      path, cli_merilo());
	is_int(rc, 3, "compare with the gnuplot MERILO_GNUPLOT names: exit 3 (no gate)");
	free(out);
	snprintf(path, sizeof path, "%s/my-args", fake);
	args = cli_slurp(path);
	is_str(args, "./env-generation.gp\n", "compare runs the gnuplot MERILO_GNUPLOT names");
	free(args);
	if (system("command -v gnuplot >/dev/null 2>&1")) {
		skip("gnuplot is not installed", "--quiet-generation.svg drawn");
		return;
	}
	rc = cli_sh(&out, "cd '%s' && '%s' compare ../run ../run-b -o --quiet --boot 200", dir, cli_merilo());
	is_int(rc, 3, "compare -o --quiet with gnuplot: exit 3 (no gate)");
	ok(out && !strstr(out, "warning"), "... and no warning");
	free(out);
	snprintf(path, sizeof path, "%s/--quiet-generation.svg", dir);
	ok(cli_file_size(path) > 1000, "--quiet-generation.svg drawn");
}

/* gnuplot exits 0 when it cannot write its image (a full disk), leaving a cut PNG and an
 * empty SVG: compare said nothing of it, exited as if all was well and linked the cut
 * image. A stand-in gnuplot writes the start of a PNG (EMPTY: an empty one), then
 * (FILL) fills the file system, a small tmpfs mounted here, writes an empty SVG and
 * exits 0. A cut image is a failed write (exit 4 naming it, "disk full" where the disk
 * is); an empty one is too on a full disk, and gnuplot's own failure with room left (a
 * warning, as before). Either way no cut or empty image is left. */
static void full_disk_case(const char *dir, const char *fake, const char *env, int want_rc, const char *want,
			   const char *what)
{
	char *out = NULL, path[600], name[300];
	cli_sh(NULL, "rm -f '%s'/*", dir);
	int rc = cli_sh(&out, "cd '%s' && %s MERILO_GNUPLOT='%s' '%s' compare ../run ../run-b -o cmp --boot 200", dir, env,
			fake, cli_merilo());
	snprintf(name, sizeof name, "%s: exit %d", what, want_rc);
	is_int(rc, want_rc, name);
	like(out, want, "... saying what happened to which image");
	snprintf(path, sizeof path, "%s/cmp-generation.png", dir);
	long png = cli_file_size(path);
	snprintf(path, sizeof path, "%s/cmp-generation.svg", dir);
	ok(png < 0 && cli_file_size(path) < 0, "... no cut or empty image left");
	snprintf(path, sizeof path, "%s/cmp.json", dir);
	ok(cli_file_size(path) > 0, "... what was written before the plot kept (cmp.json)");
	free(out);
}

static void test_compare_full_disk(void)
{
	char dir[400], fake[400], why[200];
	snprintf(dir, sizeof dir, "%s/full", tmp);
	snprintf(fake, sizeof fake, "%s/cut-gnuplot", tmp);
	if (mkdir(dir, 0755) != 0 || cli_mount_tmpfs(dir, "size=1m", why, sizeof why) != 0) {
		skip(why, "compare on a full disk");
		return;
	}
	cli_write_file(fake, "#!/bin/sh\n"
			     "if [ \"$1\" = -e ]; then echo 'pngcairo svg'; exit 0; fi\n"
			     "name=${1%.gp}\n"
			     "if [ -n \"$EMPTY\" ]; then : > \"$name.png\"; else printf '\\211PNG\\r\\n\\032\\n' > \"$name.png\"; fi\n"
			     "if [ -n \"$FILL\" ]; then cat /dev/zero > fill 2>/dev/null; fi\n"
			     ": > \"$name.svg\"\n"
			     "exit 0\n");
	if (!ok(chmod(fake, 0755) == 0, "a gnuplot that cuts its images"))
		goto out;
	full_disk_case(dir, fake, "FILL=1", 4, "cmp-generation.png: gnuplot's image is cut short at 8 bytes: disk full",
		       "a PNG cut short on a full disk");
	full_disk_case(dir, fake, "", 4, "cmp-generation.png: gnuplot's image is cut short at 8 bytes: a write failed",
		       "a PNG cut short with room left");
	full_disk_case(dir, fake, "EMPTY=1 FILL=1", 4, "cmp-generation.png: gnuplot could not write the image: disk full",
		       "an empty PNG on a full disk");
	full_disk_case(dir, fake, "EMPTY=1", 3, "warning: cmp-generation.gp: gnuplot drew no PNG or SVG",
		       "empty images with room left: a warning, exit 3 as without it (no gate)");
out:
	umount2(dir, MNT_DETACH);
}

static void test_report(const char *model)
{
	char *out = NULL, run[300], rep[300], path[600];
	snprintf(run, sizeof run, "%s/run", tmp);
	snprintf(rep, sizeof rep, "%s/rep", tmp);
	int rc = cli_run(&out, "run --model %s --suite tasks/suites/demo.json --tasks translate_to,translate_from,short_qa "
			       "--limit 3 --seed 1 --boot 200 --quiet --threads 2 --out %s", model, run);
	is_int(rc, 0, "merilo run on the demo suite's generate tasks");
	free(out);
	rc = cli_run(&out, "report %s -o %s", run, rep);
	is_int(rc, 0, "merilo report on it");
	free(out);
	snprintf(path, sizeof path, "%s/results.json", run);
	json_t *res = json_load_file(path, 0, NULL);
	ok(res != NULL, "results.json read");
	check_points(rep, res, "generation", quality, 6);
	check_points(rep, res, "script-lang", consistency, 2);
	check_gaps(rep, res);
	check_chrf_row(rep, res);
	json_decref(res);
	if (system("command -v gnuplot >/dev/null 2>&1")) {
		skip("gnuplot is not installed", "the plots inline in report.html");
		return;
	}
	snprintf(path, sizeof path, "%s/report.html", rep);
	char *html = cli_slurp(path);
	ok(html && strstr(html, "id=\"generation-gnuplot_canvas"), "report.html: the generation plot inline (SVG)");
	ok(html && strstr(html, "id=\"script-lang-gnuplot_canvas"), "report.html: the script_ok/lang_ok plot inline (SVG)");
	ok(html && strstr(html, "id=\"generation-gap-gnuplot_canvas"), "report.html: the generation gap plot inline (SVG)");
	ok(html && strstr(html, "href=\"#generation\""), "report.html links its generate tasks section");
	free(html);
	if (!cli_chromium_available()) {
		skip(CLI_CHROMIUM_SKIP, "report.html fits 1280 px");
		return;
	}
	char png[600];
	snprintf(png, sizeof png, "%s/shot.png", tmp);
	long width = cli_chromium_scroll_width(path, tmp, 1280, png);
	diag("report.html at 1280 px: document.documentElement.scrollWidth = %ld", width);
	ok(width > 0 && width <= 1280, "report.html with the generation plots fits 1280 px");
}

int main(void)
{
	if (!cli_merilo())
		skip_all("MERILO does not name the merilo binary (run through make test)");
	if (!cli_tmpdir(tmp, sizeof tmp, "hrn_gen_report"))
		skip_all("no temporary folder");
	char model[512], *out = NULL;
	snprintf(model, sizeof model, "%s/m.gguf", tmp);
	if (cli_run(&out, "synth " CLI_SYNTH_SMALL " --dtype f16 --seed 1 -o %s", model))
		skip_all("merilo synth failed");
	free(out);
	TEST(test_report(model), "merilo report plots the generate tasks' metrics from results.json");
	snprintf(model, sizeof model, "%s/m2.gguf", tmp);
	if (cli_run(&out, "synth " CLI_SYNTH_SMALL " --dtype f16 --seed 2 -o %s", model))
		skip("merilo synth failed", "compare's plot");
	else {
		TEST(test_compare(model), "merilo compare --out plots the generative comparisons");
		TEST(test_compare_dash_prefix(), "compare -o PREFIX starting with '-': gnuplot gets a path; no 'failed (exit 0)'");
		TEST(test_compare_full_disk(), "compare's plot on a full disk: exit 4 naming it, no cut image left");
	}
	free(out);
	cli_rmtree(tmp);
	return done_testing();
}
