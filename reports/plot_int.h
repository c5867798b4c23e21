/* plot_int.h — what the plot files share (plot.c, plot_gp.c, plot_scores.c,
 * plot_gen.c, plot_perf.c); internal to reports/.
 */
#ifndef MRL_RPT_PLOT_INT_H
#define MRL_RPT_PLOT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "reports/rpt.h"

#define LABEL_MAX_CHARS 28  /* code points kept of a name in a tic label or key */
#define GP_OUTPUT_MAX 4096  /* bytes of gnuplot's output kept for messages */

/* Where and how the plots of one report are drawn. */
struct rpt_plotter {
	const char *out_dir;
	const char *gnuplot;
	int timeout_s;
	bool want_png, want_svg;
	struct rpt_plots *out;
};

/* Two memory streams for a script and its data. */
struct rpt_bufs {
	char *gp, *dat;
	size_t gp_len, dat_len;
	FILE *g, *d;
};

/* ---- plot_gp.c ---- */

/* Run `gnuplot args...` in cwd with stdin /dev/null and stdout+stderr captured
 * into out (NUL-terminated, truncated). Returns 0 when it ran (*status = its
 * wait status), or the errno of a failed start (ENOENT: not found), or ETIME
 * when it ran past timeout_s (it is killed). */
int rpt_gp_exec(const char *gnuplot, const char *cwd, char *const argv[], int timeout_s, char *out,
		size_t out_size, int *status);
/* A name as a single-quoted gnuplot string (quotes doubled, control characters
 * and invalid UTF-8 '?', at most max_chars code points). */
void rpt_gp_str(FILE *f, const char *s, size_t max_chars);
/* A number in a .dat file (" ?" when not finite). */
void rpt_dat_num(FILE *f, double v);
/* A name in a .dat comment (control characters become spaces). */
void rpt_dat_comment_str(FILE *f, const char *s);
/* A language's colour (fixed for the known ones, else by index). */
const char *rpt_lang_colour(const char *lang, size_t index);
/* The script's first lines: what it is, the first terminal and output. */
void rpt_gp_begin(const struct rpt_plotter *pl, FILE *f, const char *name, const char *what, int w, int h);
/* Append a sentence to the plots' status line. */
void rpt_plot_add_status(struct rpt_plots *o, const char *msg);
/* Open the two memory streams (b is zeroed first). */
int rpt_bufs_open(struct rpt_bufs *b, struct mrl_err *err);
/* Close and free the streams without writing anything. */
void rpt_bufs_discard(struct rpt_bufs *b);
/* Finish the script, write NAME.gp and NAME.dat, draw them and record the plot. */
int rpt_bufs_emit(struct rpt_plotter *pl, struct rpt_bufs *b, const char *name, const char *title, const char *caption,
		  int w, int h, struct mrl_err *err);
/* The index of s in list (n entries), appending it when absent. */
size_t rpt_intern(const char **list, size_t *n, const char *s);
/* Whether n_tics tic labels of up to tic_chars characters a line would overprint
 * each other across a plot w pixels wide (the key outside takes about 200). */
bool rpt_gp_xtics_crowded(size_t n_tics, size_t tic_chars, int w);

/* ---- the plots (plot_scores.c, plot_perf.c): each writes its files, or
 * nothing when the runs hold no data for it ---- */
int rpt_plot_accuracy(struct rpt_plotter *pl, const struct rpt_input *in, struct mrl_err *err);
int rpt_plot_gaps(struct rpt_plotter *pl, const struct rpt_input *in, enum rpt_gap_kind kind, struct mrl_err *err);
/* plot_gen.c: generate tasks */
int rpt_plot_generation(struct rpt_plotter *pl, const struct rpt_input *in, struct mrl_err *err);
int rpt_plot_script_lang(struct rpt_plotter *pl, const struct rpt_input *in, struct mrl_err *err);
int rpt_plot_generation_gaps(struct rpt_plotter *pl, const struct rpt_input *in, struct mrl_err *err);
int rpt_plot_compare_gen(struct rpt_plotter *pl, const struct rpt_cmp_result *res, const char *name, struct mrl_err *err);
/* The rows of res that rpt_plot_compare_gen draws. */
size_t rpt_compare_gen_rows(const struct rpt_cmp_result *res);
int rpt_plot_cdf(struct rpt_plotter *pl, const struct rpt_input *in, const struct rpt_sample *samples, size_t n_samples,
		 const char *name, const char *title, const char *xlabel, const char *unit, const char *caption,
		 struct mrl_err *err);
int rpt_plot_throughput(struct rpt_plotter *pl, const struct rpt_input *in, bool by_threads, struct mrl_err *err);
int rpt_plot_energy(struct rpt_plotter *pl, const struct rpt_input *in, struct mrl_err *err);
int rpt_plot_speed(struct rpt_plotter *pl, const struct rpt_input *in, struct mrl_err *err);

#endif
