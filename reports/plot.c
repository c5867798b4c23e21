/* plot.c — the run report's plots, drawn by gnuplot.
 *
 * Each plot is a gnuplot script <name>.gp and its data <name>.dat, written into
 * the output folder next to the images they draw (<name>.png, <name>.svg), so
 * that anyone can change and redraw a plot with `cd OUT && gnuplot name.gp`.
 * gnuplot runs as a subprocess (posix_spawn, arguments as a vector, no shell)
 * with the output folder as its working directory, stdin from /dev/null and
 * its output captured (never printed: library modules do not print). A
 * missing or failing gnuplot is not an error: the scripts and data are still
 * written and rpt_plots.status says why the images are missing.
 *
 * Strings from the runs (task, language, model names) go into the scripts only
 * as single-quoted gnuplot strings: gnuplot performs no backquote (shell)
 * substitution and no escape processing inside single quotes, so a hostile
 * name stays text. Control characters are replaced and labels are shortened.
 * The .dat files hold numbers only (labels are in the script, and a comment).
 *
 * This file draws the report's plots in order (rpt_plots_write); the shared
 * machinery is in plot_gp.c, the plots of scores in plot_scores.c, those of
 * generate tasks in plot_gen.c and those of speed and cost in plot_perf.c (declarations in plot_int.h).
 */
#include "reports/rpt.h"
#include "reports/plot_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

/* Ask gnuplot which terminals it has (GPVAL_TERMINALS). false: it cannot run. */
static bool probe_gnuplot(struct rpt_plotter *pl)
{
	char output[GP_OUTPUT_MAX], msg[512];
	char *argv[] = { (char *)pl->gnuplot, "-e", "set print '-'; print GPVAL_TERMINALS", NULL };
	int status;
	int erc = rpt_gp_exec(pl->gnuplot, NULL, argv, pl->timeout_s, output, sizeof output, &status);
	struct rpt_plots *o = pl->out;
	if (erc || !WIFEXITED(status) || WEXITSTATUS(status)) {
		if (erc)
			snprintf(msg, sizeof msg, "gnuplot not available ('%s': %s): plots not drawn; their scripts (.gp) "
				 "and data (.dat) are written, draw them with 'gnuplot NAME.gp' once gnuplot is installed",
				 pl->gnuplot, erc == ENOENT ? "not found" : strerror(erc));
		else
			snprintf(msg, sizeof msg, "gnuplot '%s' does not run (exit status %d): plots not drawn; their scripts "
				 "and data are written", pl->gnuplot, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		rpt_plot_add_status(o, msg);
		return false;
	}
	/* terminals are space-separated names */
	char *save = NULL;
	bool cairo = false, svg = false;
	for (char *t = strtok_r(output, " \n", &save); t; t = strtok_r(NULL, " \n", &save)) {
		cairo |= !strcmp(t, "pngcairo");
		svg |= !strcmp(t, "svg");
	}
	snprintf(o->terminal, sizeof o->terminal, "%s", cairo ? "pngcairo" : "png");
	if (pl->want_svg && !svg) {
		rpt_plot_add_status(o, "this gnuplot has no svg terminal: SVG images not drawn");
		pl->want_svg = false;
		if (!pl->want_png) {
			pl->want_png = true; /* a PNG rather than nothing */
			rpt_plot_add_status(o, "PNG drawn instead");
		}
	}
	return true;
}

/* A plotter drawing into out_dir, gnuplot probed; out zeroed first. */
static struct rpt_plotter plotter_open(const char *out_dir, const struct rpt_plot_opts *opts, struct rpt_plots *out)
{
	memset(out, 0, sizeof *out);
	snprintf(out->terminal, sizeof out->terminal, "pngcairo");
	snprintf(out->dir, sizeof out->dir, "%s", out_dir);
	struct rpt_plotter pl = {
		.out_dir = out_dir,
		.gnuplot = opts && opts->gnuplot && *opts->gnuplot ? opts->gnuplot : "gnuplot",
		.timeout_s = opts && opts->timeout_s > 0 ? opts->timeout_s : 60,
		.want_png = !opts || opts->png || !opts->svg,
		.want_svg = !opts || opts->svg || !opts->png,
		.out = out,
	};
	out->have_gnuplot = probe_gnuplot(&pl);
	return pl;
}

int rpt_compare_plot_write(const char *out_dir, const char *name, const struct rpt_cmp_result *res,
			   const struct rpt_plot_opts *opts, struct rpt_plots *out, struct mrl_err *err)
{
	if (!rpt_compare_gen_rows(res)) { /* no gnuplot run for a comparison without generate tasks */
		memset(out, 0, sizeof *out);
		return 0;
	}
	struct rpt_plotter pl = plotter_open(out_dir, opts, out);
	return rpt_plot_compare_gen(&pl, res, name, err);
}

int rpt_plots_write(const char *out_dir, const struct rpt_input *in, const struct rpt_plot_opts *opts,
		    struct rpt_plots *out, struct mrl_err *err)
{
	struct rpt_plotter pl = plotter_open(out_dir, opts, out);
	int rc = 0;
	char caption[640];
	if ((rc = rpt_plot_accuracy(&pl, in, err)) || (rc = rpt_plot_gaps(&pl, in, RPT_GAP_LANGUAGE, err)) ||
	    (rc = rpt_plot_gaps(&pl, in, RPT_GAP_SCRIPT, err)) || (rc = rpt_plot_generation(&pl, in, err)) ||
	    (rc = rpt_plot_script_lang(&pl, in, err)) || (rc = rpt_plot_generation_gaps(&pl, in, err)))
		return rc;
	snprintf(caption, sizeof caption,
		 "Share of items (y) scored within a given time (x) per item, from the runs' per-item timings "
		 "(items.jsonl 'total': prompt and every choice, tokenisation included; all tasks of a language pooled). "
		 "Curves to the left are faster; "
		 "a long right tail means occasional slow items (long prompts or a busy machine).");
	if ((rc = rpt_plot_speed(&pl, in, err)))
		return rc;
	if ((rc = rpt_plot_cdf(&pl, in, in->item_times, in->n_item_times, "item-time", "Time per item (CDF)",
			       "time per item", "ms", caption, err)))
		return rc;
	if ((rc = rpt_plot_cdf(&pl, in, in->ttft, in->n_ttft, "ttft", "Time to first token (CDF)", "time to first token", "ms",
			       "Time from request start to the first generated token on the host (MLPerf's TTFT), over "
			   "the bench repetitions. Curves to the left are faster.", err)) ||
	    (rc = rpt_plot_cdf(&pl, in, in->tpot, in->n_tpot, "tpot", "Time per output token (CDF)", "time per output token", "ms/token",
			       "Time per output token after the first: (end-to-end - TTFT) / (tokens - 1), over the bench "
			   "repetitions. Curves to the left are faster.", err)) ||
	    (rc = rpt_plot_throughput(&pl, in, false, err)) || (rc = rpt_plot_throughput(&pl, in, true, err)) ||
	    (rc = rpt_plot_energy(&pl, in, err)))
		return rc;
	return 0;
}

void rpt_plots_release(struct rpt_plots *plots)
{
	if (!plots)
		return;
	free(plots->plot);
	memset(plots, 0, sizeof *plots);
}
