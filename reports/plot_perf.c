/* plot_perf.c — the plots of speed and cost: CDFs of per-item and per-token
 * times, throughput by prompt length or by threads, energy per token, and
 * scores per second per task.
 */
#include "reports/rpt.h"
#include "reports/plot_int.h"

#include "common/sort.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Colour of a run where runs are the series (throughput, single-series CDFs). */
static const char *run_colour(size_t run)
{
	static const char *const c[] = { "#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000" };
	return c[run % (sizeof c / sizeof c[0])];
}

/* A log axis fitted to the data [lo, hi] (> 0) with a small margin, instead of
 * gnuplot's whole decades, and tics at 1, 2, 5 x 10^k. */
static void gp_log_axis(FILE *f, const char *axis, double lo, double hi)
{
	const double a = lo / 1.12, b = hi * 1.12;
	fprintf(f, "set logscale %s\nset %srange [%.6g:%.6g]\nset %stics (", axis, axis, a, b, axis);
	int first = 1;
	for (double dec = pow(10, floor(log10(a))); dec <= b; dec *= 10)
		for (int k = 0; k < 3; k++) {
			double t = dec * (k == 0 ? 1 : k == 1 ? 2 : 5);
			if (t >= a && t <= b) {
				fprintf(f, "%s%.6g", first ? "" : ", ", t);
				first = 0;
			}
		}
	fputs(")\n", f);
}

/* Empirical CDFs of samples (ms), one curve per sample: colour by series
 * (a language colour when the series is a language), dash type by run. */
int rpt_plot_cdf(struct rpt_plotter *pl, const struct rpt_input *in, const struct rpt_sample *samples, size_t n_samples,
		 const char *name, const char *title, const char *xlabel, const char *unit, const char *caption,
		 struct mrl_err *err)
{
	size_t n_curves = 0, total = 0;
	for (size_t i = 0; i < n_samples; i++)
		if (samples[i].n && samples[i].ms) {
			n_curves++;
			total += samples[i].n;
		}
	if (!n_curves)
		return 0;
	double *sorted = malloc(total * sizeof *sorted);
	const char **series = calloc(n_samples, sizeof *series);
	size_t n_series = 0;
	struct rpt_bufs b = { 0 };
	int rc = 0;
	if (!sorted || !series) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	double lo = INFINITY, hi = -INFINITY;
	for (size_t i = 0; i < n_samples; i++)
		for (size_t k = 0; samples[i].ms && k < samples[i].n; k++)
			if (isfinite(samples[i].ms[k])) {
				lo = fmin(lo, samples[i].ms[k]);
				hi = fmax(hi, samples[i].ms[k]);
			}
	if (!isfinite(lo)) {
		rc = 0;
		goto out;
	}
	const bool logx = lo > 0 && hi / lo > 4;
	/* one series (e.g. a single bench configuration): colour by run; several: colour by series, dashes by run */
	for (size_t i = 0; i < n_samples; i++)
		if (samples[i].n && samples[i].ms)
			rpt_intern(series, &n_series, samples[i].series ? samples[i].series : "?");
	const bool colour_by_run = n_series == 1;
	if ((rc = rpt_bufs_open(&b, err)))
		goto out;
	const int w = 1000, h = 600;
	rpt_gp_begin(pl, b.g, name, title, w, h);
	fputs("set title ", b.g);
	rpt_gp_str(b.g, title, 200);
	fputs("\nset xlabel ", b.g);
	rpt_gp_str(b.g, xlabel, 200);
	fprintf(b.g, ".' (%s%s)'\n", unit, logx ? ", log scale" : "");
	if (logx) {
		gp_log_axis(b.g, "x", lo, hi);
	} else {
		fputs("set offsets graph 0.02, graph 0.02, 0, 0\n", b.g);
	}
	fputs("set ylabel 'fraction of samples <= x'\nset yrange [0:1.02]\nset ytics 0.1\n"
	      "set grid xtics ytics mxtics lc rgb '#e4e4e4'\nset key right bottom box opaque samplen 2.5 spacing 1.1\n",
	      b.g);
	fprintf(b.d, "# %s.dat - one block (gnuplot index) per curve; columns: value_ms  cumulative_fraction\n", name);
	fputs("plot ", b.g);
	size_t c = 0, off = 0;
	for (size_t i = 0; i < n_samples; i++) {
		const struct rpt_sample *s = &samples[i];
		if (!s->n || !s->ms)
			continue;
		size_t m = 0;
		for (size_t k = 0; k < s->n; k++)
			if (isfinite(s->ms[k]))
				sorted[off + m++] = s->ms[k];
		qsort(sorted + off, m, sizeof *sorted, mrl_cmp_double);
		fprintf(b.d, "%s# index %zu: run ", c ? "\n\n" : "", c);
		rpt_dat_comment_str(b.d, s->run < in->n_runs ? in->runs[s->run].label : "?");
		fputs(", series ", b.d);
		rpt_dat_comment_str(b.d, s->series);
		fputc('\n', b.d);
		for (size_t k = 0; k < m; k++) {
			/* a step CDF: the curve rises to (k+1)/m at each value */
			if (k == 0)
				fprintf(b.d, "%.10g 0\n", sorted[off]);
			fprintf(b.d, "%.10g %.10g\n", sorted[off + k], (double)(k + 1) / (double)m);
		}
		size_t si = rpt_intern(series, &n_series, s->series ? s->series : "?");
		fprintf(b.g, "%s'%s.dat' index %zu using 1:2 with steps lw 2 dt %zu lc rgb '%s' title ", c ? ", \\\n     " : "",
			name, c, colour_by_run ? 1 : s->run % 5 + 1,
			colour_by_run ? run_colour(s->run) : rpt_lang_colour(s->series, si));
		if (in->n_runs > 1) {
			rpt_gp_str(b.g, s->run < in->n_runs ? in->runs[s->run].label : "?", RPT_RUN_LABEL_MAX);
			fputs(".': '.", b.g);
		}
		rpt_gp_str(b.g, s->series, LABEL_MAX_CHARS);
		fprintf(b.g, ".' (n=%zu)'", m);
		off += m;
		c++;
	}
	fputc('\n', b.g);
	rc = rpt_bufs_emit(pl, &b, name, title, caption, w, h, err);
out:
	rpt_bufs_discard(&b);
	free(sorted);
	free(series);
	return rc;
}

/* Throughput against prompt length (x = n_prompt) or thread count (x = threads).
 * Prefill (solid, left log axis) and decode (dashed, right log axis: its own
 * range, so decode figures far below prefill's are not squeezed under the lowest
 * tic). Prefill: one series per run and thread count (prompt plot) or prompt
 * length (thread plot). Decode: against prompt length only where it was measured
 * after a prompt of that length (tgM at depth N); against threads one series per
 * depth. A decode figure measured once (at depth 0) is never repeated per prompt
 * length. A series is drawn when it has at least two points. */
static int64_t tp_x(const struct rpt_bench_point *p, bool by_threads)
{
	return by_threads ? p->threads : p->n_prompt;
}

/* The series key of p in a phase (0 prefill, 1 decode). */
static int64_t tp_fixed(const struct rpt_bench_point *p, bool by_threads, int phase)
{
	if (phase)
		return by_threads ? p->decode_depth : p->threads;
	return by_threads ? p->n_prompt : p->threads;
}

static bool tp_has(const struct rpt_bench_point *p, size_t run, bool by_threads, int phase)
{
	const double y = phase ? p->decode_tps : p->prefill_tps;
	if (p->run != run || tp_x(p, by_threads) <= 0 || !isfinite(y) || y <= 0)
		return false;
	return !phase || (p->decode_depth >= 0 && (by_threads || p->decode_depth == p->n_prompt));
}

struct tp_state {
	FILE *d, *body;
	const char *name;
	size_t c;            /* series written */
	double lo[2], hi[2]; /* y range per phase */
};

/* The series of run r in one phase; fixed (n_bench + 1 entries) is scratch. */
static void tp_series(struct tp_state *s, const struct rpt_input *in, bool by_threads, int phase, size_t r,
		      int64_t *fixed)
{
	size_t n_fixed = 0;
	for (size_t i = 0; i < in->n_bench; i++) {
		if (!tp_has(&in->bench[i], r, by_threads, phase))
			continue;
		size_t k;
		for (k = 0; k < n_fixed && fixed[k] != tp_fixed(&in->bench[i], by_threads, phase); k++)
			;
		if (k == n_fixed)
			fixed[n_fixed++] = tp_fixed(&in->bench[i], by_threads, phase);
	}
	for (size_t f = 0; f < n_fixed; f++) {
		size_t m = 0;
		for (size_t i = 0; i < in->n_bench; i++)
			m += tp_has(&in->bench[i], r, by_threads, phase) && tp_fixed(&in->bench[i], by_threads, phase) == fixed[f];
		if (m < 2)
			continue;
		fprintf(s->d, "%s# index %zu: run %zu, %s, %s %lld\n", s->c ? "\n\n" : "", s->c, r, phase ? "decode" : "prefill",
			phase && by_threads ? "depth" : by_threads ? "n_prompt" : "threads", (long long)fixed[f]);
		for (size_t i = 0; i < in->n_bench; i++) {
			const struct rpt_bench_point *p = &in->bench[i];
			const double y = phase ? p->decode_tps : p->prefill_tps;
			if (tp_has(p, r, by_threads, phase) && tp_fixed(p, by_threads, phase) == fixed[f]) {
				fprintf(s->d, "%lld %.10g\n", (long long)tp_x(p, by_threads), y);
				s->lo[phase] = fmin(s->lo[phase], y);
				s->hi[phase] = fmax(s->hi[phase], y);
			}
		}
		fprintf(s->body, "%s'%s.dat' index %zu using 1:2 axes x1y%d with linespoints lw 2 pt %zu ps 1.2 dt %d "
			"lc rgb '%s' title ", s->c ? ", \\\n     " : "plot ", s->name, s->c, phase ? 2 : 1, 5 + 2 * (r % 4),
			phase ? 2 : 1, run_colour(f + (in->n_runs > 1 ? r : 0) + (phase && by_threads ? 4 : 0)));
		if (in->n_runs > 1) {
			rpt_gp_str(s->body, in->runs[r].label, RPT_RUN_LABEL_MAX);
			fputs(".' '.", s->body);
		}
		if (phase && by_threads)
			fprintf(s->body, "'decode after %lld tokens'", (long long)fixed[f]);
		else
			fprintf(s->body, "'%s, %s %lld'", phase ? "decode" : "prefill", by_threads ? "prompt" : "threads",
				(long long)fixed[f]);
		s->c++;
	}
}

/* The axes and their labels; a phase without series gets no axis. */
static void tp_axes(FILE *g, const struct tp_state *s, bool by_threads)
{
	fprintf(g, "set title 'Throughput against %s%s'\n", by_threads ? "thread count" : "prompt length",
		isfinite(s->lo[1]) ? " (solid: prefill, dashed: decode)" : " (prefill)");
	fprintf(g, "set xlabel '%s'\n", by_threads ? "threads" : "prompt length (tokens, log scale)");
	if (isfinite(s->lo[0])) {
		fputs("set ylabel 'prefill (tokens/s, log scale)'\n", g);
		gp_log_axis(g, "y", s->lo[0], s->hi[0]);
	}
	if (isfinite(s->lo[1])) {
		fputs("set y2label 'decode (tokens/s, log scale)'\nset y2tics nomirror\n", g);
		gp_log_axis(g, "y2", s->lo[1], s->hi[1]);
	}
	fputs(by_threads ? "set xtics 1\nset autoscale xfix\nset offsets 0.3, 0.3, 0, 0\n"
			 : "set logscale x 2\nset autoscale xfix\nset offsets graph 0.03, graph 0.03, 0, 0\n", g);
	fputs("set border 11\nset grid xtics ytics mytics lc rgb '#e4e4e4'\n"
	      "set key outside right top vertical samplen 2.5\nset rmargin at screen 0.72\n", g);
}

int rpt_plot_throughput(struct rpt_plotter *pl, const struct rpt_input *in, bool by_threads, struct mrl_err *err)
{
	const char *name = by_threads ? "throughput-threads" : "throughput-prompt";
	struct rpt_bufs b = { 0 };
	int rc = 0;
	char *body_buf = NULL; /* the plot command, written before the header that depends on it */
	size_t body_len = 0;
	struct tp_state s = { .name = name, .lo = { INFINITY, INFINITY }, .hi = { -INFINITY, -INFINITY } };
	int64_t *fixed = calloc(in->n_bench + 1, sizeof *fixed);
	s.body = open_memstream(&body_buf, &body_len);
	if (!fixed || !s.body) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = rpt_bufs_open(&b, err)))
		goto out;
	s.d = b.d;
	fprintf(b.d, "# %s.dat - one block (gnuplot index) per series; columns: %s  tokens_per_s\n", name,
		by_threads ? "threads" : "n_prompt");
	for (size_t r = 0; r < in->n_runs; r++)
		for (int phase = 0; phase < 2; phase++)
			tp_series(&s, in, by_threads, phase, r, fixed);
	if (!s.c)
		goto out; /* nothing varies: no plot */
	fputc('\n', s.body);
	if (ferror(s.body) | fclose(s.body)) {
		s.body = NULL;
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory while writing a plot script");
		goto out;
	}
	s.body = NULL;
	const int w = 1150, h = 620;
	rpt_gp_begin(pl, b.g, name, by_threads ? "throughput against thread count" : "throughput against prompt length", w, h);
	tp_axes(b.g, &s, by_threads);
	fwrite(body_buf, 1, body_len, b.g);
	const char *caption =
		by_threads ? "Tokens per second of prefill (prompt processing, solid, left axis) and decode (generation, "
			     "dashed, right axis) against the number of threads: prefill one line per prompt length, decode "
			     "one line per number of tokens already in the cache. Log scales: equal distances are equal ratios."
			   : "Tokens per second of prefill (solid, left axis) against prompt length, one line per thread "
			     "count; decode (dashed, right axis) only where the bench measured it after a prompt of that "
			     "length (tgM at depth N). Decode measured once, after no prompt, is in the threads plot and the "
			     "table. Log scales: equal distances are equal ratios.";
	rc = rpt_bufs_emit(pl, &b, name, by_threads ? "Throughput against thread count" : "Throughput against prompt length",
			   caption, w, h, err);
out:
	rpt_bufs_discard(&b);
	if (s.body)
		fclose(s.body);
	free(body_buf);
	free(fixed);
	return rc;
}

/* Energy per token (J/token) of prefill and decode per bench configuration,
 * where it was measured: clustered bars. */
int rpt_plot_energy(struct rpt_plotter *pl, const struct rpt_input *in, struct mrl_err *err)
{
	size_t n = 0;
	for (size_t i = 0; i < in->n_bench; i++)
		n += isfinite(in->bench[i].prefill_j_per_token) || isfinite(in->bench[i].decode_j_per_token);
	if (!n)
		return 0;
	struct rpt_bufs b = { 0 };
	int rc = rpt_bufs_open(&b, err);
	if (rc)
		goto out;
	const int w = n > 8 ? 1300 : 1000, h = 600;
	rpt_gp_begin(pl, b.g, "energy", "energy per token", w, h);
	fputs("set title 'Energy per token, where measured'\nset ylabel 'energy (J/token)'\nset yrange [0:*]\n"
	      "set style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.85 border -1\n"
	      "set boxwidth 0.9\nset offsets 0, 0, graph 0.15, 0\nset grid ytics lc rgb '#e4e4e4'\nset key inside top left\n"
	      "set xtics scale 0 rotate by 25 right\n", b.g);
	fputs("# energy.dat - one row per bench configuration; columns: row  prefill_J_per_token  decode_J_per_token\n", b.d);
	fputs("set xtics (", b.g);
	size_t row = 0;
	for (size_t i = 0; i < in->n_bench; i++) {
		const struct rpt_bench_point *p = &in->bench[i];
		if (!isfinite(p->prefill_j_per_token) && !isfinite(p->decode_j_per_token))
			continue;
		fprintf(b.d, "%zu", row);
		rpt_dat_num(b.d, p->prefill_j_per_token);
		rpt_dat_num(b.d, p->decode_j_per_token);
		fputc('\n', b.d);
		fputs(row ? ", " : "", b.g);
		if (in->n_runs > 1 && p->run < in->n_runs) {
			rpt_gp_str(b.g, in->runs[p->run].label, RPT_RUN_LABEL_MAX);
			fputs(".' '.", b.g);
		}
		fprintf(b.g, "'pp%lld tg%lld t%lld' %zu", (long long)p->n_prompt, (long long)p->n_gen, (long long)p->threads,
			row);
		row++;
	}
	fputs(")\n", b.g);
	fprintf(b.g, "set xrange [-0.6:%zu.6]\n", row - 1);
	fputs("plot 'energy.dat' using 2 title 'prefill' lc rgb '#0072B2', '' using 3 title 'decode' lc rgb '#D55E00'\n", b.g);
	rc = rpt_bufs_emit(pl, &b, "energy", "Energy per token",
			   "Joules per token of prefill and of decode for each bench configuration (ppN: prompt tokens, tgN: "
		       "generated tokens, tN: threads), from the energy source the run recorded. Configurations without an "
		       "energy source are left out.",
		       w, h, err);
out:
	rpt_bufs_discard(&b);
	return rc;
}

/* Scoring speed (tokens/s) per task x language from the runs' performance
 * records: bars from 0, one group per (task, run), one colour per language. */
int rpt_plot_speed(struct rpt_plotter *pl, const struct rpt_input *in, struct mrl_err *err)
{
	size_t n_sel = 0;
	for (size_t i = 0; i < in->n_perf; i++)
		n_sel += in->perf[i].task && in->perf[i].language && strcmp(in->perf[i].language, "all") &&
			 isfinite(in->perf[i].tokens_per_s) && in->perf[i].tokens_per_s > 0;
	if (!n_sel)
		return 0;
	const char **langs = calloc(n_sel, sizeof *langs), **tasks = calloc(n_sel, sizeof *tasks);
	size_t *group_run = calloc(n_sel, sizeof *group_run), *group_task = calloc(n_sel, sizeof *group_task);
	size_t n_langs = 0, n_tasks = 0, n_groups = 0;
	double y_max = 0;
	struct rpt_bufs b = { 0 };
	int rc = 0;
	if (!langs || !tasks || !group_run || !group_task) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t r = 0; r < in->n_runs; r++)
		for (size_t i = 0; i < in->n_perf; i++) {
			const struct rpt_perf *p = &in->perf[i];
			if (p->run != r || !p->task || !p->language || !strcmp(p->language, "all") ||
			    !isfinite(p->tokens_per_s) || p->tokens_per_s <= 0)
				continue;
			rpt_intern(langs, &n_langs, p->language);
			size_t t = rpt_intern(tasks, &n_tasks, p->task), g;
			for (g = 0; g < n_groups && !(group_run[g] == r && group_task[g] == t); g++)
				;
			if (g == n_groups) {
				group_run[g] = r, group_task[g] = t;
				n_groups++;
			}
			y_max = fmax(y_max, p->tokens_per_s);
		}
	if ((rc = rpt_bufs_open(&b, err)))
		goto out;
	const int w = n_groups * n_langs > 24 ? 1500 : n_groups > 4 ? 1200 : 1000, h = 560;
	const double width = 0.8, step = width / (double)n_langs;
	rpt_gp_begin(pl, b.g, "speed", "scoring speed per task and language", w, h);
	fputs("set title 'Scoring speed per task and language (tokens computed per second of scoring)'\n"
	      "set ylabel 'throughput (tokens/s)'\n", b.g);
	fprintf(b.g, "set yrange [0:%.6g]\nset xrange [-0.5:%zu.5]\nset bmargin 4.5\n", y_max * 1.1, n_groups - 1);
	fprintf(b.g, "set style fill solid 0.85 border -1\nset boxwidth %.4f absolute\n", step * 0.9);
	fputs("set grid ytics lt 1 lc rgb '#d4d4d4' lw 1 dt 1\n"
	      "set key outside right top vertical samplen 1.5 spacing 1.3 title 'language'\n", b.g);
	fputs("set xtics scale 0 (", b.g);
	for (size_t g = 0; g < n_groups; g++) {
		fputs(g ? ", " : "", b.g);
		rpt_gp_str(b.g, tasks[group_task[g]], LABEL_MAX_CHARS);
		if (in->n_runs > 1) {
			fputs(".\"\\n\".", b.g);
			rpt_gp_str(b.g, in->runs[group_run[g]].label, RPT_RUN_LABEL_MAX);
		}
		fprintf(b.g, " %zu", g);
	}
	fputs(")\n", b.g);
	for (size_t g = 0; g + 1 < n_groups; g++)
		fprintf(b.g, "set arrow from %zu.5, graph 0 to %zu.5, graph 1 nohead lc rgb '#bbbbbb' dt 2\n", g, g);
	fputs("# speed.dat - one block (gnuplot index) per language; columns: x  tokens_per_s\n", b.d);
	fputs("plot ", b.g);
	for (size_t l = 0; l < n_langs; l++) {
		fprintf(b.d, "%s# index %zu: language ", l ? "\n\n" : "", l);
		rpt_dat_comment_str(b.d, langs[l]);
		fputc('\n', b.d);
		for (size_t g = 0; g < n_groups; g++)
			for (size_t i = 0; i < in->n_perf; i++) {
				const struct rpt_perf *p = &in->perf[i];
				if (p->run != group_run[g] || !p->task || !p->language || strcmp(p->task, tasks[group_task[g]]) ||
				    strcmp(p->language, langs[l]) || !isfinite(p->tokens_per_s))
					continue;
				fprintf(b.d, "%.4f %.10g\n", (double)g - width / 2 + step * ((double)l + 0.5), p->tokens_per_s);
				break;
			}
		fprintf(b.g, "%s'speed.dat' index %zu using 1:2 with boxes lc rgb '%s' title ", l ? ", \\\n     " : "", l,
			rpt_lang_colour(langs[l], l));
		rpt_gp_str(b.g, langs[l], LABEL_MAX_CHARS);
	}
	fputc('\n', b.g);
	rc = rpt_bufs_emit(pl, &b, "speed", "Scoring speed per task and language",
			   "Tokens the forward pass computed per second of scoring time, per task and language, from the runs' "
		       "performance records. The same items cost more tokens in a language the tokenizer splits finely "
		       "(often Cyrillic), so lower bars there are expected; compare bars of the same colour across runs.",
		       w, h, err);
out:
	rpt_bufs_discard(&b);
	free(langs);
	free(tasks);
	free(group_run);
	free(group_task);
	return rc;
}
