/* cmd_leaderboard.c — `merilo leaderboard RUN_DIR...`: one table across runs.
 *
 * Reads each run's results.json, turns it into a struct rpt_lb_row (scores per
 * task x language of one metric, throughput and energy from the "performance"
 * section when the run measured them, the manifest fields that identify the
 * row) and lets reports/ render it (rpt_leaderboard_render). Text from the
 * files is escaped there. Exit 0, 2 usage, 3 a run that cannot be read.
 */
#include "harness/hrn.h"
#include "common/json.h"
#include "harness/manifest.h"
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
		"usage: merilo leaderboard RUN_DIR... [--metric acc] [--format html|md|csv] [-o FILE]\n"
		"A leaderboard of runs (folders written by 'merilo run'): per task x language scores with CIs,\n"
		"the average per language, the en->BCMS and Cyrillic/Latin gaps, tokens/s and J/token where\n"
		"measured, and each run's manifest (model sha256, engine build, host, seeds).\n");
	hrn_print_options(out, opts, 16);
	fprintf(out, "exit codes: 0 written, 2 usage error, 3 a run cannot be read, 4 the output cannot be written\n");
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
};

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

int hrn_cmd_leaderboard(int argc, char **argv)
{
	const char *metric = "acc", *out_path = NULL;
	int format = -1;
	const struct mrl_option opts[] = {
		OPT_STRING(0, "metric", &metric, "NAME", "the metric to rank by (default acc)"),
		OPT_CALLBACK(0, "format", &format, "F",
			     "html (self-contained, sortable columns), md or csv (default md, or from -o's extension)",
			     parse_format),
		OPT_STRING('o', "out", &out_path, "FILE", "write to FILE instead of stdout"),
		OPT_END(),
	};
	int n_args, ret = hrn_options("leaderboard", opts, argc, argv, &n_args, usage);
	if (ret != HRN_OPTS_GO)
		return ret;
	const char *const *dirs = (const char *const *)argv; /* the positionals */
	size_t n_dirs = (size_t)n_args;
	if (!n_dirs)
		return hrn_usage_error("leaderboard", "expected at least one run folder");
	if (format < 0) {
		const char *dot = out_path ? strrchr(out_path, '.') : NULL;
		format = dot && !strcmp(dot, ".html") ? RPT_FMT_HTML : dot && !strcmp(dot, ".csv") ? RPT_FMT_CSV : RPT_FMT_MD;
	}

	struct mrl_err err = {0};
	int rc = 0, exit_code = HRN_EXIT_OK;
	char *text = NULL;
	struct lb_run *runs = calloc(n_dirs, sizeof *runs);
	struct rpt_lb_row *rows = calloc(n_dirs, sizeof *rows);
	if (!runs || !rows) {
		rc = mrl_err_set(&err, MRL_ENOMEM, "out of memory");
		goto fail;
	}
	for (size_t d = 0; d < n_dirs; d++) {
		struct lb_run *run = &runs[d];
		struct rec_run loaded;
		rc = rec_run_load(dirs[d], REC_RUN_RESULTS, &loaded, &err);
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
									r->aggregates[a].n, mv->value, mv->ci_low, mv->ci_high };
			}
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
		const char *label = r->model.name ? r->model.name : r->model.path ? r->model.path : dirs[d];
		rows[d] = (struct rpt_lb_row){ .label = label, .run_dir = dirs[d],
					       .model_sha256 = r->model.sha256 ? r->model.sha256 : mf->model_sha256,
					       .engine_build = run->build, .host = run->host, .seeds = run->seeds,
					       .suite_sha256 = r->suite.sha256, .cells = run->cells, .n_cells = n };
		perf_of(r, &rows[d].tokens_per_s, &rows[d].joules_per_token);
	}
	if (!(text = rpt_leaderboard_render(rows, n_dirs, metric, (enum rpt_format)format, &err))) {
		rc = err.code ? err.code : MRL_ENOMEM;
		goto fail;
	}
	if (out_path) {
		if ((rc = mrl_write_file_atomic(out_path, text, strlen(text), &err)))
			goto fail;
		fprintf(stderr, "merilo leaderboard: wrote %s (%zu runs)\n", out_path, n_dirs);
	} else {
		fputs(text, stdout);
		fflush(stdout);
	}
	goto out;
fail:
	exit_code = hrn_report(&err);
out:
	free(text);
	for (size_t d = 0; runs && d < n_dirs; d++) {
		rec_results_release(&runs[d].r);
		free(runs[d].cells);
	}
	free(runs);
	free(rows);
	return exit_code;
}
