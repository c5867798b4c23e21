/* rpt_plot.c — the report's plots (reports/plot.c): which files are written,
 * that gnuplot draws PNG and SVG from them, that hostile names stay text, and
 * that a missing or broken gnuplot still leaves the scripts and data behind.
 * The runs are constructed here (two models, five languages, bench data).
 * Set RPT_PLOT_KEEP=1 to keep the output folder (its path is printed). */
#include "tests/tap.h"

#include "reports/rpt.h"

#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <unistd.h>

#define HOSTILE "<script>alert(1)</script>"
#define SHELLY "`touch pw` $(touch pw2) 'q'"

static const char *const langs[] = { "en", "sr-Cyrl", "sr-Latn", "hr", "bs" };
enum { N_LANGS = 5, N_TASKS = 3, N_RUNS = 2, N_ITEMS = 120 };
static const char *const tasks[N_TASKS] = { "copa", "arc-easy", HOSTILE };

static struct rpt_run runs[N_RUNS];
static struct rpt_score scores[N_RUNS * N_TASKS * N_LANGS];
static struct rpt_gap gaps[N_RUNS * N_TASKS * 5];
static struct rpt_sample times[N_RUNS * N_LANGS], ttft[N_RUNS], tpot[N_RUNS];
static double time_ms[N_RUNS * N_LANGS][N_ITEMS], ttft_ms[N_RUNS][40], tpot_ms[N_RUNS][40];
static struct rpt_bench_point bench[N_RUNS * 8];
static struct rpt_perf perf[N_RUNS * N_TASKS * (N_LANGS + 1)];
static size_t n_perf;
static size_t n_scores, n_gaps, n_bench;

/* A deterministic pseudo-random number in [0, 1). */
static double u01(uint64_t *s)
{
	*s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
	return (double)(*s >> 11) / 9007199254740992.0;
}

static void build(struct rpt_input *in)
{
	uint64_t s = 42;
	runs[0] = (struct rpt_run){ .label = "run 1", .dir = "runs/a", .model_name = "tiny-llama-f16", .seed = 1,
				    .threads = 2, .n_item_lines = 1800 };
	runs[1] = (struct rpt_run){ .label = "run 2", .dir = "runs/b", .model_name = HOSTILE, .seed = 1, .threads = 2,
				    .n_item_lines = 1800 };
	for (size_t r = 0; r < N_RUNS; r++)
		for (size_t t = 0; t < N_TASKS; t++) {
			for (size_t l = 0; l < N_LANGS; l++) {
				double v = 0.55 + 0.25 * (double)(l == 0) - 0.04 * (double)l + 0.06 * (double)r + 0.05 * (double)t;
				double half = 1.96 * sqrt(v * (1 - v) / 500);
				scores[n_scores++] = (struct rpt_score){ .run = r, .task = tasks[t], .language = langs[l],
									 .metric = "acc", .n = 500, .value = v,
									 .ci_low = v - half, .ci_high = v + half, .ci_level = 0.95 };
			}
			for (size_t l = 1; l < N_LANGS; l++) { /* half recorded as X - en, to exercise the flip */
				double d = 0.25 + 0.04 * (double)l - 0.2 * (double)(t == 1);
				bool flip = l % 2;
				gaps[n_gaps++] = (struct rpt_gap){ .run = r, .task = tasks[t], .metric = "acc", .n_pairs = 500,
								   .language_a = flip ? langs[l] : "en",
								   .language_b = flip ? "en" : langs[l],
								   .diff = flip ? -d : d, .ci_low = (flip ? -d : d) - 0.05,
								   .ci_high = (flip ? -d : d) + 0.05, .ci_level = 0.95,
								   .mcnemar_b = flip ? 20 : 20 + (int64_t)(d * 500),
								   .mcnemar_c = flip ? 20 + (int64_t)(d * 500) : 20,
								   .mcnemar_p = t == 1 ? 0.31 : 1e-6 };
			}
			gaps[n_gaps++] = (struct rpt_gap){ .run = r, .task = tasks[t], .metric = "acc", .n_pairs = 500,
							   .language_a = "sr-Cyrl", .language_b = "sr-Latn", .diff = 0.04,
							   .ci_low = 0.005, .ci_high = 0.075, .ci_level = 0.95, .mcnemar_b = 31,
							   .mcnemar_c = 11, .mcnemar_p = 0.0029 };
		}
	for (size_t r = 0; r < N_RUNS; r++) {
		for (size_t l = 0; l < N_LANGS; l++) {
			double base = (l == 1 ? 95.0 : 60.0) * (r ? 0.7 : 1.0); /* Cyrillic: more tokens */
			for (size_t k = 0; k < N_ITEMS; k++)
				time_ms[r * N_LANGS + l][k] = base * exp(0.35 * (u01(&s) + u01(&s) - 1)) + (k % 41 == 0 ? 4 * base : 0);
			times[r * N_LANGS + l] = (struct rpt_sample){ .run = r, .series = langs[l], .ms = time_ms[r * N_LANGS + l],
								      .n = N_ITEMS };
		}
		for (size_t k = 0; k < 40; k++) {
			ttft_ms[r][k] = (r ? 180 : 240) * (1 + 0.2 * u01(&s));
			tpot_ms[r][k] = (r ? 31 : 42) * (1 + 0.1 * u01(&s));
		}
		ttft[r] = (struct rpt_sample){ .run = r, .series = "pp128", .ms = ttft_ms[r], .n = 40 };
		tpot[r] = (struct rpt_sample){ .run = r, .series = "tg32", .ms = tpot_ms[r], .n = 40 };
		for (int64_t p = 32; p <= 512; p *= 2)
			bench[n_bench++] = (struct rpt_bench_point){ .run = r, .n_prompt = p, .n_gen = 32, .threads = 2,
								     .prefill_tps = (r ? 600.0 : 450.0) * (1 - 0.0004 * (double)p),
								     .decode_tps = (r ? 33.0 : 24.0) * (1 - 0.0003 * (double)p),
								     .prefill_j_per_token = r ? NAN : 0.09,
								     .decode_j_per_token = r ? NAN : 1.4 };
		bench[n_bench++] = (struct rpt_bench_point){ .run = r, .n_prompt = 128, .n_gen = 32, .threads = 1,
							     .prefill_tps = r ? 330 : 250, .decode_tps = r ? 18 : 13,
							     .prefill_j_per_token = NAN, .decode_j_per_token = NAN };
	}
	for (size_t r = 0; r < N_RUNS; r++)
		for (size_t t = 0; t < N_TASKS; t++)
			for (size_t l = 0; l <= N_LANGS; l++) /* the last one is the task's "all" row */
				perf[n_perf++] = (struct rpt_perf){ .run = r, .task = tasks[t],
								    .language = l < N_LANGS ? langs[l] : "all",
								    .n_items = 500, .tokens_per_s = (l == 1 ? 700.0 : 1100.0) + 150.0 * (double)r,
								    .item_ms_median = 5, .item_ms_p90 = 7,
								    .energy_per_item_j = NAN, .energy_null_reason = "no source" };
	*in = (struct rpt_input){ .perf = perf, .n_perf = n_perf, .title = "test", .runs = runs, .n_runs = N_RUNS, .scores = scores, .n_scores = n_scores,
				  .gaps = gaps, .n_gaps = n_gaps, .item_times = times, .n_item_times = N_RUNS * N_LANGS,
				  .ttft = ttft, .n_ttft = N_RUNS, .tpot = tpot, .n_tpot = N_RUNS, .bench = bench,
				  .n_bench = n_bench };
}

static char *slurp(const char *dir, const char *name, size_t *len)
{
	char path[8192];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	size_t got = fread(buf, 1, (size_t)n, f);
	buf[got] = '\0';
	fclose(f);
	if (len)
		*len = got;
	return buf;
}

static bool exists(const char *dir, const char *name)
{
	char path[8192];
	struct stat st;
	snprintf(path, sizeof path, "%s/%s", dir, name);
	return stat(path, &st) == 0 && st.st_size > 0;
}

/* Width and height from a PNG's IHDR chunk; false when it is not a PNG. */
static bool png_size(const char *dir, const char *name, unsigned *w, unsigned *h)
{
	size_t len;
	unsigned char *p = (unsigned char *)slurp(dir, name, &len);
	bool ok = p && len > 24 && !memcmp(p, "\x89PNG\r\n\x1a\n", 8) && !memcmp(p + 12, "IHDR", 4);
	if (ok) {
		*w = (unsigned)p[16] << 24 | (unsigned)p[17] << 16 | (unsigned)p[18] << 8 | p[19];
		*h = (unsigned)p[20] << 24 | (unsigned)p[21] << 16 | (unsigned)p[22] << 8 | p[23];
	}
	free(p);
	return ok;
}

static void rm_rf(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[8192];
	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
			unlink(path);
		}
	if (d)
		closedir(d);
	rmdir(dir);
}

static bool gnuplot_on_path(void)
{
	return system("command -v gnuplot >/dev/null 2>&1") == 0;
}

static const struct rpt_plot *find_plot(const struct rpt_plots *p, const char *name)
{
	for (size_t i = 0; i < p->n; i++)
		if (!strcmp(p->plot[i].name, name))
			return &p->plot[i];
	return NULL;
}

static void test_orient(void)
{
	struct rpt_gap g = { .language_a = "hr", .language_b = "en", .diff = -0.1, .ci_low = -0.15, .ci_high = -0.02,
			     .mcnemar_b = 3, .mcnemar_c = 9, .mcnemar_p = 0.1 }, o;
	is_int(rpt_gap_orient(&g, &o), RPT_GAP_LANGUAGE, "hr vs en is a language gap");
	is_str(o.language_a, "en", "oriented as en - hr");
	is_near(o.diff, 0.1, 1e-12, "diff negated");
	ok(o.ci_low == 0.02 && o.ci_high == 0.15, "CI negated and swapped");
	ok(o.mcnemar_b == 9 && o.mcnemar_c == 3, "McNemar b and c swapped");
	is_near(o.mcnemar_p, 0.1, 0, "p unchanged");
	g.language_a = "sr-Latn", g.language_b = "sr-Cyrl";
	is_int(rpt_gap_orient(&g, &o), RPT_GAP_SCRIPT, "sr-Latn vs sr-Cyrl is a script gap");
	is_str(o.language_a, "sr-Cyrl", "oriented as sr-Cyrl - sr-Latn");
	g.language_a = "en", g.language_b = "bs";
	rpt_gap_orient(&g, &o);
	ok(!strcmp(o.language_a, "en") && o.diff == g.diff, "en - bs kept as recorded");
	g.language_a = "hr", g.language_b = "bs";
	is_int(rpt_gap_orient(&g, NULL), RPT_GAP_VARIANT, "hr vs bs: two variants in one script");
	g.language_a = "hr", g.language_b = "sr-Cyrl";
	is_int(rpt_gap_orient(&g, &o), RPT_GAP_VARIANT_SCRIPT, "hr vs sr-Cyrl: variant and script differ");
	is_str(o.language_a, "sr-Cyrl", "oriented Cyrillic first: sr-Cyrl - hr");
	g.language_a = "sr", g.language_b = "sr-Latn";
	is_int(rpt_gap_orient(&g, NULL), RPT_GAP_SCRIPT, "sr (Cyrillic by default) vs sr-Latn is a script gap");
	g.language_a = "en-GB", g.language_b = "en";
	is_int(rpt_gap_orient(&g, NULL), RPT_GAP_OTHER, "two English variants: a language comparison");
	g.language_a = "en", g.language_b = "de";
	is_int(rpt_gap_orient(&g, NULL), RPT_GAP_OTHER, "en vs de is not en->BCMS");
	const enum rpt_gap_kind kinds[] = { RPT_GAP_LANGUAGE, RPT_GAP_SCRIPT, RPT_GAP_OTHER, RPT_GAP_VARIANT,
					    RPT_GAP_VARIANT_SCRIPT };
	const char *names[] = { "en→BCMS", "script", "language", "variant", "variant+script" };
	for (size_t i = 0; i < 5; i++)
		is_str(rpt_gap_kind_name(kinds[i]), names[i], "every comparison kind has its own name (no 'other')");
}

static const char *const all_plots[] = { "accuracy", "language-gap", "script-gap", "speed", "item-time", "ttft", "tpot",
					 "throughput-prompt", "throughput-threads", "energy" };
enum { N_PLOTS = sizeof all_plots / sizeof all_plots[0] };

static void test_drawn(const struct rpt_input *in)
{
	char dir[] = "/tmp/rpt_plot.XXXXXX";
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	struct rpt_plots p;
	struct mrl_err err = { 0 };
	struct rpt_plot_opts opts = { 0 };
	int rc = rpt_plots_write(dir, in, &opts, &p, &err);
	is_int(rc, 0, "plots written");
	if (rc)
		diag("%s", err.msg);
	ok(p.have_gnuplot, "gnuplot found");
	is_str(p.status, "", "no problem reported");
	is_int(p.n, N_PLOTS, "every plot that has data");
	char name[128];
	for (size_t i = 0; i < N_PLOTS; i++) {
		const struct rpt_plot *pl = find_plot(&p, all_plots[i]);
		snprintf(name, sizeof name, "%s: listed, PNG and SVG drawn", all_plots[i]);
		ok(pl && pl->png && pl->svg && pl->caption[0] && pl->title[0], name);
		static const char *const ext[] = { "gp", "dat", "png", "svg" };
		for (size_t e = 0; e < 4; e++) {
			char file[96];
			snprintf(file, sizeof file, "%s.%s", all_plots[i], ext[e]);
			snprintf(name, sizeof name, "%s exists and is not empty", file);
			ok(exists(dir, file), name);
		}
	}
	unsigned w = 0, h = 0;
	ok(png_size(dir, "accuracy.png", &w, &h), "accuracy.png is a PNG");
	ok(w == 1500 && h == 620, "accuracy.png is 1500 x 620 (30 points)");
	ok(png_size(dir, "language-gap.png", &w, &h) && h == 170 + 34 * 24, "the gap plot grows with its rows");
	char *svg = slurp(dir, "accuracy.svg", NULL), *gp = slurp(dir, "accuracy.gp", NULL);
	ok(svg && strstr(svg, "<svg"), "accuracy.svg is SVG");
	ok(svg && !strstr(svg, HOSTILE), "a hostile task name is not raw markup in the SVG");
	like(svg, "&lt;script>alert(1)&lt;/script>", "it is there as text");
	like(gp, "'" HOSTILE "'", "the script holds the name single-quoted");
	like(gp, "'sr-Cyrl'", "languages are in the key");
	free(svg);
	free(gp);
	char *dat = slurp(dir, "accuracy.dat", NULL);
	like(dat, "# index 1: language sr-Cyrl", "the data file says what each block is");
	free(dat);
	char *lg = slurp(dir, "language-gap.gp", NULL);
	like(lg, "'p<0.001 *  (b=", "McNemar p-values annotate the rows");
	like(lg, "'en - '.'sr-Cyrl'", "language gaps are shown as en - X");
	free(lg);
	char *ld = slurp(dir, "language-gap.dat", NULL);
	ok(ld && !strstr(ld, "\n-29 "), "flipped comparisons are drawn with en first (no negative 29 pp row)");
	free(ld);
	/* the scripts redraw by themselves */
	char cmd[4200];
	snprintf(cmd, sizeof cmd, "cd '%s' && rm -f tpot.png && gnuplot tpot.gp 2>/dev/null", dir);
	ok(system(cmd) == 0 && exists(dir, "tpot.png"), "cd OUT && gnuplot tpot.gp redraws tpot.png");
	rpt_plots_release(&p);
	if (getenv("RPT_PLOT_KEEP"))
		diag("kept %s", dir);
	else
		rm_rf(dir);
}

static void test_shell_name(void)
{
	char dir[] = "/tmp/rpt_plot.XXXXXX";
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	struct rpt_run run = { .label = SHELLY };
	struct rpt_score s[2] = {
		{ .run = 0, .task = SHELLY, .language = "en", .metric = "acc", .n = 10, .value = 0.5, .ci_low = 0.2,
		  .ci_high = 0.8, .ci_level = 0.95 },
		{ .run = 0, .task = SHELLY, .language = "sr\n-Cyrl", .metric = "acc", .n = 10, .value = 0.4,
		  .ci_low = NAN, .ci_high = NAN, .ci_level = NAN },
	};
	struct rpt_input in = { .runs = &run, .n_runs = 1, .scores = s, .n_scores = 2 };
	struct rpt_plots p;
	struct mrl_err err = { 0 };
	int rc = rpt_plots_write(dir, &in, NULL, &p, &err);
	is_int(rc, 0, "a task named with backquotes and $(): written");
	is_str(p.status, "", "and drawn without complaint");
	ok(exists(dir, "accuracy.png"), "accuracy.png drawn");
	ok(!exists(dir, "pw") && !exists(dir, "pw2") && access("pw", F_OK) != 0,
	   "no command in a name was run");
	char *gp = slurp(dir, "accuracy.gp", NULL);
	like(gp, "'sr?-Cyrl'", "a newline in a name is replaced");
	like(gp, "'`touch pw` $(touch pw2) ''q'''", "a quote in a name is doubled");
	free(gp);
	rpt_plots_release(&p);
	rm_rf(dir);
}

static void test_no_gnuplot(const struct rpt_input *in, const char *gnuplot, const char *expect, const char *what)
{
	char dir[] = "/tmp/rpt_plot.XXXXXX";
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	struct rpt_plots p;
	struct mrl_err err = { 0 };
	struct rpt_plot_opts opts = { .gnuplot = gnuplot, .png = true, .svg = true };
	char name[160];
	snprintf(name, sizeof name, "%s: not an error", what);
	is_int(rpt_plots_write(dir, in, &opts, &p, &err), 0, name);
	snprintf(name, sizeof name, "%s: status says why", what);
	like(p.status, expect, name);
	snprintf(name, sizeof name, "%s: every script and data file still written", what);
	size_t n_files = 0;
	for (size_t i = 0; i < N_PLOTS; i++) {
		char f[96];
		snprintf(f, sizeof f, "%s.gp", all_plots[i]);
		n_files += exists(dir, f);
		snprintf(f, sizeof f, "%s.dat", all_plots[i]);
		n_files += exists(dir, f);
	}
	is_int(n_files, 2 * N_PLOTS, name);
	snprintf(name, sizeof name, "%s: no image claimed", what);
	size_t claimed = 0;
	for (size_t i = 0; i < p.n; i++)
		claimed += p.plot[i].png || p.plot[i].svg;
	is_int(claimed, 0, name);
	snprintf(name, sizeof name, "%s: no image file", what);
	ok(!exists(dir, "accuracy.png") && !exists(dir, "accuracy.svg"), name);
	rpt_plots_release(&p);
	rm_rf(dir);
}

static void test_empty(void)
{
	char dir[] = "/tmp/rpt_plot.XXXXXX";
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	struct rpt_input in = { 0 };
	struct rpt_plots p;
	struct mrl_err err = { 0 };
	is_int(rpt_plots_write(dir, &in, NULL, &p, &err), 0, "no data: not an error");
	is_int(p.n, 0, "no data: no plot");
	rpt_plots_release(&p);
	is_int(rpt_plots_write("/nonexistent/dir", &in, NULL, &p, &err), 0, "no data: the folder is not touched");
	rpt_plots_release(&p);
	struct rpt_run run = { .label = "r" };
	struct rpt_score s = { .task = "t", .language = "en", .metric = "acc", .value = 0.5 };
	in = (struct rpt_input){ .runs = &run, .n_runs = 1, .scores = &s, .n_scores = 1 };
	int rc = rpt_plots_write("/nonexistent/dir", &in, NULL, &p, &err);
	is_int(rc, MRL_EWRITE, "an output folder that does not exist: MRL_EWRITE");
	like(err.msg, "/nonexistent/dir/accuracy.dat", "naming the file");
	rpt_plots_release(&p);
	rm_rf(dir);
}

/* The renderer alone, without plots: both files, names escaped, no image. */
static void test_report_without_plots(const struct rpt_input *in)
{
	char dir[] = "/tmp/rpt_plot.XXXXXX";
	if (!mkdtemp(dir)) {
		ok(0, "mkdtemp");
		return;
	}
	struct mrl_err err = { 0 };
	is_int(rpt_report_write(dir, in, NULL, &err), 0, "rpt_report_write without plots");
	char *html = slurp(dir, "report.html", NULL), *md = slurp(dir, "report.md", NULL);
	ok(html && !strstr(html, "<script") && strstr(html, "&lt;script&gt;alert(1)&lt;/script&gt;"),
	   "report.html: the hostile names as text");
	ok(html && !strstr(html, "<img"), "report.html: no image without plots");
	like(html, "<td>en→BCMS</td><td>en &minus; sr-Cyrl</td>", "report.html: X - en comparisons shown as en - X");
	like(html, "<th>prefill (tokens/s)</th>", "report.html: the bench table");
	like(html, "<td>copa</td><td>sr-Cyrl</td><td class=\"n\">500</td><td class=\"n\">700.0</td>",
	     "report.html: the scoring speed table");
	ok(md && !strstr(md, "<script>"), "report.md: the hostile names not raw");
	like(md, "not measured", "report.md: energy not measured is said, not 0");
	free(html);
	free(md);
	is_int(rpt_report_write("/nonexistent/dir", in, NULL, &err), MRL_EWRITE, "an output folder that is not there");
	like(err.msg, "/nonexistent/dir/report.html", "naming the file");
	rm_rf(dir);
}

int main(void)
{
	struct rpt_input in;
	build(&in);
	test_orient();
	test_empty();
	test_report_without_plots(&in);
	test_no_gnuplot(&in, "/nonexistent/gnuplot", "gnuplot not available ('/nonexistent/gnuplot': not found)",
			"gnuplot missing");
	test_no_gnuplot(&in, "/bin/false", "does not run", "a gnuplot that fails");
	if (!gnuplot_on_path()) {
		skip("gnuplot is not installed", "plots drawn");
		return done_testing();
	}
	test_drawn(&in);
	test_shell_name();
	return done_testing();
}
