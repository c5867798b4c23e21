/* cmd_leaderboard.c — `merilo leaderboard RUN_DIR...`: one table across runs.
 *
 * Reads each run's results.json, turns it into a struct rpt_lb_row (scores per
 * task x language of one metric, throughput and energy from the "performance"
 * section when the run measured them, the manifest fields that identify the
 * row, the comparability group: suite, its sha256 and the settings that change
 * scores) and lets reports/ render it (rpt_leaderboard_render), one section per
 * group. Text from the files is escaped there. Exit 0, 2 usage (an unknown
 * --metric lists the metrics the runs have), 3 a run that cannot be read.
 */
#include "harness/hrn.h"
#include "harness/history.h"
#include "common/json.h"
#include "harness/manifest.h"
#include "records/comparable.h"
#include "records/done_set.h"
#include "records/item.h"
#include "records/item_writer.h"
#include "records/items.h"
#include "records/manifest.h"
#include "records/record_json.h"
#include "records/results.h"
#include "records/run.h"
#include "common/fileio.h"
#include "reports/rpt.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static void usage(FILE *out, const struct mrl_option *opts)
{
	fprintf(out,
		"usage: merilo leaderboard RUN_DIR... [--metric acc] [--group N] [--format html|md|csv] [-o FILE]\n"
		"       merilo leaderboard --db PATH [options]   (the runs stored in a history database)\n"
		"A leaderboard of runs (folders written by 'merilo run'). Only comparable runs are ranked\n"
		"together: runs are grouped by suite name + sha256, tasks, languages, --limit or --sample,\n"
		"few-shot k and seed, BOS mode, and chat template and KV cache type where recorded; each\n"
		"group is its own section (a run alone is a group of one). A setting a run does not record\n"
		"(a 'merilo score' run's BOS mode) does not set it apart, as in 'merilo compare'.\n"
		"Columns: rank (a range such as 2-4 where CIs overlap; docs/reports.md), model (name, file,\n"
		"size, sha256), n per language, few-shot k, per task x language scores with CIs, the average\n"
		"per language, the BCMS mean, the en->BCMS and Cyrillic/Latin gaps, tokens/s and J/token\n"
		"where measured, and each run's manifest (engine build, host, seeds).\n");
	hrn_print_options(out, opts, 16);
	fprintf(out, "exit codes: 0 written, 2 usage error (an unknown --metric or --group), 3 a run cannot be read, 4 the output cannot be written\n");
}

/* The format: --format's (*format >= 0), else the one -o's extension names, else md. A
 * --format that contradicts the extension (as bench: a file named for one format holding
 * another) is a usage error, reported here: returns nonzero. */
static int resolve_format(int *format, const char *out_path)
{
	const char *ext = out_path ? hrn_path_extension(out_path) : NULL;
	int named = ext ? rpt_format_parse(ext) : -1;
	if (named != RPT_FMT_HTML && named != RPT_FMT_CSV && named != RPT_FMT_MD)
		named = -1; /* .txt, .json, none: the extension names no format of ours */
	if (*format < 0)
		*format = named >= 0 ? named : RPT_FMT_MD;
	else if (named >= 0 && named != *format)
		return hrn_usage_error("leaderboard", "--format %s contradicts -o %s (a .%s file): drop --format or rename the file",
				       *format == RPT_FMT_HTML ? "html" : *format == RPT_FMT_CSV ? "csv" : "md", out_path, ext);
	return 0;
}

/* --format: html, md or csv into the int at opt->value. */
static int parse_format(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	int format = rpt_format_parse(arg);
	if (format != RPT_FMT_HTML && format != RPT_FMT_MD && format != RPT_FMT_CSV)
		return mrl_err_set(err, MRL_EINPUT, "--format: '%s' is not one of html, md, csv", arg);
	*(int *)opt->value = format;
	return 0;
}

struct lb_run {
	struct rec_results r;
	struct rpt_lb_cell *cells;
	char build[256], host[256], seeds[128];
	struct mrl_buf group, group_desc;
};

/* The comparability groups of the runs (records/comparable.h, which compare's gate uses
 * too): each run joins the first group none of whose settings it differs in, a setting
 * it does not record differing in none (as compare judges it); the group then has every
 * setting some member records. Each run's group key and words are its group's, so rows of
 * one group have equal keys (reports/leaderboard.c ranks equal keys together). A run
 * made by 'merilo score' (no BOS mode: the predictions were made elsewhere) so ranks
 * beside the engine's runs on the same suite and items. 0 or MRL_ENOMEM. */
static int group_runs(struct lb_run *runs, size_t n)
{
	struct rec_comparable *c = calloc(n + 1, sizeof *c), *g = calloc(n + 1, sizeof *g);
	size_t *of = calloc(n + 1, sizeof *of), n_g = 0;
	int rc = !c || !g || !of ? MRL_ENOMEM : 0;
	for (size_t d = 0; !rc && d < n; d++) {
		if ((rc = rec_comparable_init(&c[d], &runs[d].r)))
			break;
		size_t k = 0;
		while (k < n_g && !rec_comparable_compatible(&g[k], &c[d]))
			k++;
		if (k == n_g && !(rc = rec_comparable_init(&g[k], &runs[d].r)))
			n_g++;
		of[d] = k;
		if (!rc)
			rc = rec_comparable_adopt(&g[k], &c[d]);
	}
	for (size_t d = 0; !rc && d < n; d++) {
		mrl_buf_init(&runs[d].group);
		mrl_buf_init(&runs[d].group_desc);
		rec_comparable_key(&g[of[d]], &runs[d].group);
		rec_comparable_describe(&g[of[d]], &runs[d].group_desc);
		if (runs[d].group.oom || runs[d].group_desc.oom)
			rc = MRL_ENOMEM;
	}
	for (size_t d = 0; c && g && d < n; d++) {
		rec_comparable_release(&c[d]);
		rec_comparable_release(&g[d]);
	}
	free(c);
	free(g);
	free(of);
	return rc;
}

/* 0 when some run has `metric`; else prints the metrics the runs have and
 * returns HRN_EXIT_USAGE. */
static int check_metric(const struct lb_run *runs, size_t n_runs, const char *metric)
{
	struct mrl_buf names;
	mrl_buf_init(&names);
	mrl_buf_add(&names, ",");
	for (size_t d = 0; d < n_runs; d++)
		for (size_t a = 0; a < runs[d].r.n_aggregates; a++)
			for (size_t m = 0; m < runs[d].r.aggregates[a].n_metrics; m++) {
				const char *name = runs[d].r.aggregates[a].metrics[m].name;
				char needle[256];
				snprintf(needle, sizeof needle, ",%s,", name);
				if (!strcmp(name, metric)) {
					mrl_buf_release(&names);
					return 0;
				}
				if (!names.oom && !strstr(names.data, needle))
					mrl_buf_addf(&names, "%s,", name);
			}
	size_t len = strlen(names.data ? names.data : "");
	if (len > 1 && names.data)
		names.data[len - 1] = '\0';
	int rc = hrn_usage_error("leaderboard", "--metric %s: no run has it; valid: %s", metric,
				 len > 1 && names.data ? names.data + 1 : "(none)");
	mrl_buf_release(&names);
	return rc;
}

/* Throughput over the whole run: tokens computed / seconds scoring, summed over
 * tasks; NaN when any task lacks the figures. Energy per token likewise, from
 * each task's measured window (gross energy). */
static void perf_of(const struct rec_results *r, double *tokens_per_s, double *joules_per_token)
{
	double tokens = 0, seconds = 0, joules = 0;
	bool tok_ok = r->n_perf > 0, j_ok = r->n_perf > 0;
	for (size_t i = 0; i < r->n_perf; i++) {
		const struct rec_perf_task *t = &r->perf[i];
		if (t->all.tokens_computed < 0 || !(t->all.score_s > 0))
			tok_ok = j_ok = false;
		else {
			tokens += (double)t->all.tokens_computed;
			seconds += t->all.score_s;
		}
		if (!t->window.present || isnan(t->window.energy_j.value))
			j_ok = false;
		else
			joules += t->window.energy_j.value;
	}
	*tokens_per_s = tok_ok && seconds > 0 ? tokens / seconds : NAN;
	*joules_per_token = j_ok && tokens > 0 ? joules / tokens : NAN;
}

/* A group (1-based, first-seen order of the rows' group strings, as the renderer
 * numbers them; only `group` when > 0) where no run has the metric renders a
 * table of dashes: a warning says so. */
static void warn_groups_without(const struct rpt_lb_row *rows, size_t n, const char *metric, int group)
{
	bool *has = calloc(n + 1, sizeof *has);
	size_t n_groups = 0;
	for (size_t i = 0; has && i < n; i++) { /* numbered as the rendered sections are */
		const size_t g = rpt_lb_group_of(rows, i, NULL);
		n_groups = g + 1 > n_groups ? g + 1 : n_groups;
		has[g] |= rows[i].n_cells > 0;
	}
	for (size_t g = 0; has && g < n_groups; g++)
		if (!has[g] && (group <= 0 || (size_t)group == g + 1))
			fprintf(stderr, "merilo leaderboard: warning: no run of group %zu has the metric %s (its table is all "
				"dashes)\n", g + 1, metric);
	free(has);
}

/* The row's engine build, host and seeds, in words. */
static void describe_run(struct lb_run *run, const struct rec_results *r)
{
	const struct rec_manifest *mf = &r->manifest;
	snprintf(run->build, sizeof run->build, "merilo %s (%s) %s", mf->merilo_version ? mf->merilo_version : "?",
		 mf->git_commit ? mf->git_commit : "?", r->engine.backend ? r->engine.backend : "");
	snprintf(run->host, sizeof run->host, "%s%s%s%s", mf->hostname ? mf->hostname : "?",
		 mf->cpu_model ? " (" : "", mf->cpu_model ? mf->cpu_model : "", mf->cpu_model ? ")" : "");
	char fs[32] = "—";
	if (r->settings.fewshot_seed >= 0)
		snprintf(fs, sizeof fs, "%lld", (long long)r->settings.fewshot_seed);
	if (r->settings.seed >= 0)
		snprintf(run->seeds, sizeof run->seeds, "seed %lld, few-shot seed %s", (long long)r->settings.seed, fs);
	else
		snprintf(run->seeds, sizeof run->seeds, "seed —, few-shot seed %s", fs);
}

/* text to out_path (its missing folders made), or to stdout when NULL. */
static int write_out(const char *out_path, const char *text, size_t n_runs, struct mrl_err *err)
{
	if (!out_path) {
		fputs(text, stdout);
		fflush(stdout);
		return 0;
	}
	int rc;
	if ((rc = mrl_mkdir_parent(out_path, err)) || (rc = mrl_write_file_atomic(out_path, text, strlen(text), err)))
		return rc;
	fprintf(stderr, "merilo leaderboard: wrote %s (%zu run%s)\n", out_path, n_runs, n_runs == 1 ? "" : "s");
	return 0;
}

int hrn_cmd_leaderboard(int argc, char **argv)
{
	const char *metric = "acc", *out_path = NULL, *db_path = NULL;
	int format = -1;
	long group = 0;
	const struct mrl_option opts[] = {
		OPT_STRING(0, "metric", &metric, "NAME", "the metric to rank by (default acc)"),
		OPT_CALLBACK(0, "format", &format, "F",
			     "html (self-contained, sortable columns), md or csv (default md, or from -o's extension)",
			     parse_format),
		OPT_INTEGER(0, "group", &group, 1, 1000000, "N",
			    "only group N (1-based, in the order the runs are named; default all)"),
		OPT_STRING('o', "out", &out_path, "FILE", "write to FILE (missing folders are made) instead of stdout"),
		OPT_STRING(0, "db", &db_path, "PATH", "rank every run stored in this history database (merilo db add)"),
		OPT_END(),
	};
	int n_args, ret = hrn_options("leaderboard", opts, argc, argv, &n_args, usage);
	if (ret != HRN_OPTS_GO)
		return ret;
	const char *const *dirs = (const char *const *)argv; /* the positionals */
	size_t n_dirs = (size_t)n_args;
	if (db_path && n_dirs)
		return hrn_usage_error("leaderboard", "give run folders or --db PATH, not both");
	if (!n_dirs && !db_path)
		return hrn_usage_error("leaderboard", "expected at least one run folder (or --db PATH)");
	if (resolve_format(&format, out_path))
		return HRN_EXIT_USAGE;
	if ((ret = hrn_distinct_runs("leaderboard", dirs, n_dirs)))
		return ret;

	struct mrl_err err = {0};
	int rc = 0, exit_code = HRN_EXIT_OK;
	char *text = NULL;
	struct hrn_db_runs stored = { 0 };
	if (db_path && hrn_db_runs_open(db_path, &stored, &err))
		return hrn_report(&err);
	if (db_path) {
		dirs = stored.dirs;
		n_dirs = stored.n;
	}
	struct lb_run *runs = calloc(n_dirs, sizeof *runs);
	struct rpt_lb_row *rows = calloc(n_dirs, sizeof *rows);
	if (!runs || !rows) {
		rc = mrl_err_set(&err, MRL_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t d = 0; d < n_dirs; d++) {
		struct lb_run *run = &runs[d];
		struct rec_run loaded;
		rc = db_path ? hrn_db_runs_load(&stored, d, REC_RUN_RESULTS, &loaded, &err)
			     : rec_run_load(dirs[d], REC_RUN_RESULTS, &loaded, &err);
		run->r = loaded.results; /* released with runs, even on failure */
		if (rc)
			goto fail;
		const struct rec_results *r = &run->r;
		run->cells = calloc(r->n_aggregates + 1, sizeof *run->cells);
		if (!run->cells) {
			rc = mrl_err_set(&err, MRL_ENOMEM, "out of memory");
			goto fail;
		}
		size_t n = 0;
		for (size_t a = 0; a < r->n_aggregates; a++)
			for (size_t m = 0; m < r->aggregates[a].n_metrics; m++) {
				const struct rec_metric_value *mv = &r->aggregates[a].metrics[m];
				if (strcmp(mv->name, metric))
					continue;
				run->cells[n++] = (struct rpt_lb_cell){ r->aggregates[a].task, r->aggregates[a].language,
									mv->n >= 0 ? mv->n : r->aggregates[a].n, mv->value,
									mv->ci_low, mv->ci_high };
			}
		const struct rec_manifest *mf = &r->manifest;
		describe_run(run, r);
		const char *mpath = r->model.path ? r->model.path : mf->model_path;
		const char *slash = mpath ? strrchr(mpath, '/') : NULL;
		const char *label = r->model.name ? r->model.name : r->model.path ? r->model.path : dirs[d];
		rows[d] = (struct rpt_lb_row){ .label = label, .run_dir = dirs[d],
					       .model_sha256 = r->model.sha256 ? r->model.sha256 : mf->model_sha256,
					       .engine_build = run->build, .host = run->host, .seeds = run->seeds,
					       .suite_sha256 = r->suite.sha256, .cells = run->cells, .n_cells = n,
					       .model_file = slash ? slash + 1 : mpath,
					       .model_size_bytes = r->model.size_bytes >= 0 ? r->model.size_bytes
										      : mf->model_size_bytes,
					       .fewshot_k = rec_comparable_fewshot_k(r), .n_missing = hrn_results_missing(r),
					       .n_boot = json_integer_value(json_object_get(r->settings.extra, "bootstrap_resamples")) };
		perf_of(r, &rows[d].tokens_per_s, &rows[d].joules_per_token);
	}
	if (group_runs(runs, n_dirs)) {
		rc = mrl_err_set(&err, MRL_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t d = 0; d < n_dirs; d++) {
		rows[d].group = runs[d].group.data;
		rows[d].group_desc = runs[d].group_desc.data;
	}
	if ((exit_code = check_metric(runs, n_dirs, metric)) != HRN_EXIT_OK)
		goto out;
	warn_groups_without(rows, n_dirs, metric, (int)group);
	if (!(text = rpt_leaderboard_render(rows, n_dirs, metric, (int)group, (enum rpt_format)format, &err))) {
		if (err.code == MRL_EINPUT) {
			exit_code = hrn_usage_error("leaderboard", "%s", err.msg);
			goto out;
		}
		rc = err.code ? err.code : MRL_ENOMEM;
		goto fail;
	}
	if ((rc = write_out(out_path, text, n_dirs, &err)))
		goto fail;
	goto out;
fail:
	exit_code = hrn_report(&err);
out:
	free(text);
	for (size_t d = 0; runs && d < n_dirs; d++) {
		rec_results_release(&runs[d].r);
		free(runs[d].cells);
		mrl_buf_release(&runs[d].group);
		mrl_buf_release(&runs[d].group_desc);
	}
	free(runs);
	free(rows);
	hrn_db_runs_close(&stored);
	return exit_code;
}
