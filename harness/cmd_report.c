/* cmd_report.c — `merilo report RUN_DIR... [-o OUT_DIR] [--format png,svg]`:
 * an HTML and markdown report of one or more runs, with gnuplot plots.
 *
 * This file only reads the run folders (results.json, items.jsonl, through
 * harness/results.h) and fills the plain structs of reports/rpt.h; plotting and
 * rendering live in reports/. The records stay loaded until the report is
 * written: the rpt_* structs borrow their strings. gnuplot missing or failing
 * is a warning (exit 0): the report says so and every table is still there.
 * docs/reports.md describes the output.
 */
#include "harness/hrn.h"
#include "harness/results.h"
#include "reports/rpt.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *out)
{
	fprintf(out,
		"usage: merilo report RUN_DIR... [-o OUT_DIR] [--format png,svg] [--title TEXT]\n"
		"Write OUT_DIR/report.html (self-contained; images next to it) and OUT_DIR/report.md from the\n"
		"run folders written by 'merilo run' (results.json, and items.jsonl when present), with plots\n"
		"drawn by gnuplot: accuracy per task x language with CIs, the language gap (en - BCMS) and the\n"
		"script gap (sr-Cyrl - sr-Latn) with paired CIs and McNemar p-values, time per item; and latency,\n"
		"throughput and energy when the runs carry bench data. Each plot's gnuplot script (.gp) and data\n"
		"(.dat) are kept next to its images.\n"
		"  -o, --out OUT_DIR   output folder (created; default: report)\n"
		"  --format LIST       image formats, comma-separated: png, svg (default: png,svg)\n"
		"  --title TEXT        the report's title (default: merilo report)\n"
		"environment: MERILO_GNUPLOT  the gnuplot program (default: gnuplot from PATH)\n"
		"gnuplot absent or failing: a warning on stderr and in the report; the rest is written, exit 0.\n"
		"exit codes: 0 written, 2 usage error, 3 a run folder is missing or malformed, 4 cannot write\n");
}

/* Everything loaded from one run folder. */
struct loaded_run {
	char *dir;
	struct hrn_results res;
	struct hrn_items items;
	bool have_items;
	char label[64];
	char engine[256], host[512], note[256];
	/* per-item total time by language, ms */
	double **ms;
	const char **ms_lang;
	size_t *ms_n;
	size_t n_ms;
};

static void loaded_release(struct loaded_run *r)
{
	hrn_results_release(&r->res);
	hrn_items_release(&r->items);
	for (size_t i = 0; i < r->n_ms; i++)
		free(r->ms[i]);
	free(r->ms);
	free(r->ms_lang);
	free(r->ms_n);
	memset(r, 0, sizeof *r);
}

/* Per-item time ("total", else the sum of all timings) by language. */
static int collect_times(struct loaded_run *r, struct mrl_err *err)
{
	size_t n = r->items.n;
	r->ms = calloc(n + 1, sizeof *r->ms);
	r->ms_lang = calloc(n + 1, sizeof *r->ms_lang);
	r->ms_n = calloc(n + 1, sizeof *r->ms_n);
	if (!r->ms || !r->ms_lang || !r->ms_n)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct hrn_item *it = &r->items.items[i];
		double ns = NAN, sum = 0;
		for (size_t k = 0; k < it->n_timings; k++) {
			if (!strcmp(it->timings[k].name, "total"))
				ns = (double)it->timings[k].ns;
			sum += (double)it->timings[k].ns;
		}
		if (!isfinite(ns))
			ns = it->n_timings ? sum : NAN;
		if (!isfinite(ns))
			continue;
		size_t l;
		for (l = 0; l < r->n_ms && strcmp(r->ms_lang[l], it->language); l++)
			;
		if (l == r->n_ms) {
			r->ms_lang[l] = it->language;
			if (!(r->ms[l] = malloc(n * sizeof **r->ms)))
				return mrl_err_set(err, MRL_ENOMEM, "out of memory");
			r->n_ms++;
		}
		r->ms[l][r->ms_n[l]++] = ns / 1e6;
	}
	return 0;
}

static int load_run(const char *dir, struct loaded_run *r, struct mrl_err *err)
{
	char path[4096];
	struct stat st;
	memset(r, 0, sizeof *r);
	hrn_results_init(&r->res);
	if (!(r->dir = strdup(dir)))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	if (stat(dir, &st) || !S_ISDIR(st.st_mode))
		return mrl_err_set(err, MRL_EIO, "%s: not a run folder (%s)", dir,
				   stat(dir, &st) ? strerror(errno) : "not a directory");
	snprintf(path, sizeof path, "%s/results.json", dir);
	int rc = hrn_results_read(path, &r->res, err);
	if (rc)
		return rc;
	snprintf(path, sizeof path, "%s/items.jsonl", dir);
	if (stat(path, &st) == 0) {
		if ((rc = hrn_items_read(path, &r->items, err)))
			return rc;
		r->have_items = true;
		if (r->items.truncated_tail)
			snprintf(r->note, sizeof r->note, "items.jsonl: the last line (%zu, %zu bytes) is truncated (a run "
				 "stopped mid-write) and was skipped", r->items.tail_line, r->items.tail_bytes);
		if ((rc = collect_times(r, err)))
			return rc;
	} else {
		snprintf(r->note, sizeof r->note, "items.jsonl absent: per-item times are not shown");
	}
	const struct hrn_manifest *m = &r->res.manifest;
	snprintf(r->engine, sizeof r->engine, "%s %s (%s)", r->res.engine.name ? r->res.engine.name : "?",
		 r->res.engine.version ? r->res.engine.version : "?", r->res.engine.backend ? r->res.engine.backend : "?");
	int n = snprintf(r->host, sizeof r->host, "%s", m->cpu_model ? m->cpu_model : "CPU unknown");
	if (m->logical_cores > 0 && n >= 0 && (size_t)n < sizeof r->host)
		n += snprintf(r->host + n, sizeof r->host - (size_t)n, ", %lld logical cores", (long long)m->logical_cores);
	if (m->gpu_name && n >= 0 && (size_t)n < sizeof r->host)
		snprintf(r->host + n, sizeof r->host - (size_t)n, ", %s", m->gpu_name);
	return 0;
}

/* Labels for plots: the model names when they tell the runs apart, else the
 * folder names, else "run N". */
static void make_labels(struct loaded_run *runs, size_t n)
{
	for (int pass = 0; pass < 3; pass++) {
		bool ok = true;
		for (size_t i = 0; i < n && ok; i++) {
			const char *s = NULL;
			char base[4096];
			if (pass == 0)
				s = runs[i].res.model.name;
			else if (pass == 1) {
				snprintf(base, sizeof base, "%s", runs[i].dir);
				size_t len = strlen(base);
				while (len > 1 && base[len - 1] == '/')
					base[--len] = '\0';
				s = basename(base);
			}
			if (pass < 2 && (!s || !*s || strlen(s) > 40)) {
				ok = false;
				break;
			}
			if (pass == 2)
				snprintf(runs[i].label, sizeof runs[i].label, "run %zu", i + 1);
			else
				snprintf(runs[i].label, sizeof runs[i].label, "%s", s);
		}
		for (size_t i = 0; ok && i < n; i++)
			for (size_t j = i + 1; ok && j < n; j++)
				ok = strcmp(runs[i].label, runs[j].label) != 0;
		if (ok)
			return;
	}
}

static int mkdir_p(const char *dir, struct mrl_err *err)
{
	char buf[4096];
	snprintf(buf, sizeof buf, "%s", dir);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) && errno != EEXIST)
				return mrl_err_set(err, MRL_EWRITE, "%s: cannot create folder: %s", buf, strerror(errno));
			*p = '/';
		}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return mrl_err_set(err, MRL_EWRITE, "%s: cannot create folder: %s", buf, strerror(errno));
	struct stat st;
	if (stat(buf, &st) || !S_ISDIR(st.st_mode))
		return mrl_err_set(err, MRL_EWRITE, "%s: not a folder", buf);
	return 0;
}

int hrn_cmd_report(int argc, char **argv)
{
	const char *out_dir = "report", *title = "merilo report";
	const char **dirs = calloc((size_t)argc + 1, sizeof *dirs);
	size_t n_dirs = 0;
	struct rpt_plot_opts popts = { 0 };
	if (!dirs) {
		fprintf(stderr, "merilo: out of memory\n");
		return HRN_EXIT_RUNTIME;
	}
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			free(dirs);
			return HRN_EXIT_OK;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--out") || !strcmp(a, "--format") || !strcmp(a, "--title")) {
			if (i + 1 >= argc) {
				free(dirs);
				return hrn_usage_error("report", "%s needs a value", a);
			}
			const char *v = argv[++i];
			if (!strcmp(a, "--format")) {
				char buf[256];
				snprintf(buf, sizeof buf, "%s", v);
				char *save = NULL;
				for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
					if (!strcmp(t, "png"))
						popts.png = true;
					else if (!strcmp(t, "svg"))
						popts.svg = true;
					else {
						free(dirs);
						return hrn_usage_error("report", "--format: unknown format '%s' (png, svg)", t);
					}
				}
				if (!popts.png && !popts.svg) {
					free(dirs);
					return hrn_usage_error("report", "--format: no format given");
				}
			} else if (!strcmp(a, "--title")) {
				title = v;
			} else {
				out_dir = v;
			}
		} else if (a[0] == '-' && a[1]) {
			free(dirs);
			return hrn_usage_error("report", "unknown option '%s'", a);
		} else {
			dirs[n_dirs++] = a;
		}
	}
	if (!n_dirs) {
		free(dirs);
		return hrn_usage_error("report", "expected at least one run folder");
	}
	popts.gnuplot = getenv("MERILO_GNUPLOT");

	struct mrl_err err = { 0 };
	struct loaded_run *runs = calloc(n_dirs, sizeof *runs);
	struct rpt_run *rr = calloc(n_dirs, sizeof *rr);
	size_t n_scores = 0, n_gaps = 0, n_samples = 0, n_perf = 0;
	struct rpt_perf *perf = NULL;
	struct rpt_score *scores = NULL;
	struct rpt_gap *gaps = NULL;
	struct rpt_sample *samples = NULL;
	struct rpt_plots plots = { 0 };
	int rc = 0, exit_code = HRN_EXIT_OK;
	if (!runs || !rr) {
		rc = mrl_err_set(&err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_dirs; i++)
		if ((rc = load_run(dirs[i], &runs[i], &err)))
			goto out;
	make_labels(runs, n_dirs);
	for (size_t i = 0; i < n_dirs; i++) {
		const struct hrn_results *r = &runs[i].res;
		for (size_t a = 0; a < r->n_aggregates; a++)
			n_scores += r->aggregates[a].n_metrics;
		n_gaps += r->n_comparisons;
		n_samples += runs[i].n_ms;
		for (size_t t = 0; t < r->n_perf; t++)
			n_perf += r->perf[t].n_langs + 1;
	}
	scores = calloc(n_scores + 1, sizeof *scores);
	gaps = calloc(n_gaps + 1, sizeof *gaps);
	samples = calloc(n_samples + 1, sizeof *samples);
	perf = calloc(n_perf + 1, sizeof *perf);
	if (!scores || !gaps || !samples || !perf) {
		rc = mrl_err_set(&err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	n_scores = n_gaps = n_samples = n_perf = 0;
	for (size_t i = 0; i < n_dirs; i++) {
		struct loaded_run *L = &runs[i];
		const struct hrn_results *r = &L->res;
		const struct hrn_manifest *m = &r->manifest;
		rr[i] = (struct rpt_run){
			.label = L->label, .dir = L->dir, .model_name = r->model.name, .model_path = r->model.path,
			.model_sha256 = r->model.sha256 ? r->model.sha256 : m->model_sha256,
			.suite_name = r->suite.name, .suite_version = r->suite.version, .suite_sha256 = r->suite.sha256,
			.engine = L->engine, .git_commit = m->git_commit, .host = L->host, .started_utc = m->started_utc,
			.ended_utc = m->ended_utc, .seed = r->settings.seed, .threads = r->settings.threads,
			.n_item_lines = L->have_items ? (int64_t)L->items.n : -1, .note = L->note[0] ? L->note : NULL,
		};
		for (size_t a = 0; a < r->n_aggregates; a++) {
			const struct hrn_aggregate *ag = &r->aggregates[a];
			for (size_t k = 0; k < ag->n_metrics; k++) {
				const struct hrn_metric_value *mv = &ag->metrics[k];
				scores[n_scores++] = (struct rpt_score){
					.run = i, .task = ag->task, .language = ag->language, .metric = mv->name, .n = ag->n,
					.value = mv->value, .ci_low = mv->ci_low, .ci_high = mv->ci_high, .ci_level = mv->ci_level,
				};
			}
		}
		for (size_t c = 0; c < r->n_comparisons; c++) {
			const struct hrn_comparison *cm = &r->comparisons[c];
			gaps[n_gaps++] = (struct rpt_gap){
				.run = i, .task = cm->task, .language_a = cm->language_a, .language_b = cm->language_b,
				.metric = cm->metric, .n_pairs = cm->n_pairs, .diff = cm->diff, .ci_low = cm->ci_low,
				.ci_high = cm->ci_high, .ci_level = cm->ci_level, .mcnemar_b = cm->mcnemar_b,
				.mcnemar_c = cm->mcnemar_c, .mcnemar_p = cm->mcnemar_p,
			};
		}
		for (size_t t = 0; t < r->n_perf; t++) {
			const struct hrn_perf_task *pt = &r->perf[t];
			for (size_t l = 0; l <= pt->n_langs; l++) {
				const struct hrn_perf_lang *pl = l < pt->n_langs ? &pt->langs[l] : &pt->all;
				perf[n_perf++] = (struct rpt_perf){
					.run = i, .task = pt->task, .language = l < pt->n_langs ? pl->language : "all",
					.n_items = pl->n_items, .tokens_per_s = pl->tokens_per_s,
					.item_ms_median = pl->item_ms_median, .item_ms_p90 = pl->item_ms_p90,
					.energy_per_item_j = l < pt->n_langs || !pt->window.present ? NAN
							     : pt->window.energy_per_item_j.value,
					.energy_null_reason = l < pt->n_langs ? "measured per task (row 'all')"
							      : !pt->window.present ? pt->window.absent_reason
										    : pt->window.energy_per_item_j.reason,
				};
			}
		}
		for (size_t l = 0; l < L->n_ms; l++)
			samples[n_samples++] = (struct rpt_sample){ .run = i, .series = L->ms_lang[l], .ms = L->ms[l],
								    .n = L->ms_n[l] };
	}
	struct rpt_input in = {
		.title = title, .runs = rr, .n_runs = n_dirs, .scores = scores, .n_scores = n_scores, .gaps = gaps,
		.n_gaps = n_gaps, .perf = perf, .n_perf = n_perf, .item_times = samples, .n_item_times = n_samples,
		.bench_note = "merilo report does not read bench records yet (their format was not published when "
			      "this command was written)",
	};
	if ((rc = mkdir_p(out_dir, &err)) || (rc = rpt_plots_write(out_dir, &in, &popts, &plots, &err)) ||
	    (rc = rpt_report_write(out_dir, &in, &plots, &err)))
		goto out;
	if (plots.status[0])
		fprintf(stderr, "merilo report: warning: %s\n", plots.status);
	size_t n_png = 0, n_svg = 0;
	for (size_t i = 0; i < plots.n; i++) {
		n_png += plots.plot[i].png;
		n_svg += plots.plot[i].svg;
	}
	printf("wrote %s/report.html and %s/report.md: %zu run%s, %zu plot%s (%zu PNG, %zu SVG; scripts and data "
	       "next to them)\n", out_dir, out_dir, n_dirs, n_dirs == 1 ? "" : "s", plots.n, plots.n == 1 ? "" : "s",
	       n_png, n_svg);
out:
	if (rc)
		exit_code = hrn_report(&err);
	rpt_plots_release(&plots);
	for (size_t i = 0; runs && i < n_dirs; i++) {
		free(runs[i].dir);
		loaded_release(&runs[i]);
	}
	free(runs);
	free(rr);
	free(scores);
	free(gaps);
	free(samples);
	free(perf);
	free(dirs);
	return exit_code;
}
