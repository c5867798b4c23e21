/* plot_gen.c — the plots of generate tasks: their quality metrics (EM, F1,
 * ROUGE-L, chrF, chrF++, BLEU) per task x language with CIs, the rates of
 * answers in the expected script and language (script_ok, lang_ok), and the
 * paired differences of those metrics between languages and scripts; and merilo
 * compare's plot of the same metrics, candidate minus base.
 *
 * The idea: every metric goes on one 0-100 axis. Fractions (EM, F1, ROUGE-L,
 * script_ok, lang_ok: 0..1 in results.json) are shown in %, chrF and BLEU are
 * already sacrebleu's 0-100 scores. A group is (run, task, metric); colours are
 * the languages', as in the accuracy plot.
 */
#include "reports/rpt.h"
#include "reports/plot_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct gen_metric {
	const char *name, *label;
	double scale;               /* results.json value x scale = plotted value */
	bool binary;                /* right/wrong per item: McNemar applies */
};

static const struct gen_metric quality[] = {
	{ "exact_match", "EM", 100, true }, { "f1", "F1", 100, false }, { "rouge_l", "ROUGE-L", 100, false },
	{ "chrf", "chrF", 1, false },       { "chrf++", "chrF++", 1, false }, { "bleu", "BLEU", 1, false },
};
static const struct gen_metric consistency[] = {
	{ "script_ok", "script_ok", 100, true },
	{ "lang_ok", "lang_ok", 100, true },
};
#define N_QUALITY (sizeof quality / sizeof quality[0])
#define N_CONSISTENCY (sizeof consistency / sizeof consistency[0])

/* The generative metric named m (quality first, then consistency), or NULL. */
static const struct gen_metric *gen_metric_of(const char *m)
{
	for (size_t i = 0; m && i < N_QUALITY; i++)
		if (!strcmp(m, quality[i].name))
			return &quality[i];
	for (size_t i = 0; m && i < N_CONSISTENCY; i++)
		if (!strcmp(m, consistency[i].name))
			return &consistency[i];
	return NULL;
}

/* The score of (run, task, metric, language), or NULL. */
static const struct rpt_score *find_score(const struct rpt_input *in, size_t run, const char *task, const char *metric,
					  const char *language)
{
	for (size_t i = 0; i < in->n_scores; i++) {
		const struct rpt_score *s = &in->scores[i];
		if (s->run == run && s->task && s->language && s->metric && !strcmp(s->task, task) &&
		    !strcmp(s->metric, metric) && (!language || !strcmp(s->language, language)))
			return s;
	}
	return NULL;
}

struct metric_plot {
	const char *name, *title, *what, *ylabel, *caption_head;
	const struct gen_metric *metrics;
	size_t n_metrics;
};

struct group {
	size_t run, task, metric;
	int64_t n;                  /* items, -1 when the languages differ */
};

/* The groups in order: run, task (first appearance), metric (table order). */
static size_t collect_groups(const struct rpt_input *in, const struct metric_plot *mp, const char **tasks,
			     size_t *n_tasks, const char **langs, size_t *n_langs, struct group *groups, double *level)
{
	size_t n_groups = 0;
	for (size_t i = 0; i < in->n_scores; i++) {
		const struct rpt_score *s = &in->scores[i];
		for (size_t k = 0; s->task && s->language && s->metric && k < mp->n_metrics; k++)
			if (!strcmp(s->metric, mp->metrics[k].name)) {
				rpt_intern(tasks, n_tasks, s->task);
				rpt_intern(langs, n_langs, s->language);
				if (isfinite(s->ci_level))
					*level = s->ci_level;
			}
	}
	for (size_t r = 0; r < in->n_runs; r++)
		for (size_t t = 0; t < *n_tasks; t++)
			for (size_t k = 0; k < mp->n_metrics; k++) {
				struct group g = { .run = r, .task = t, .metric = k, .n = -2 };
				for (size_t i = 0; i < in->n_scores; i++) {
					const struct rpt_score *s = &in->scores[i];
					if (s->run != r || !s->task || !s->language || !s->metric || strcmp(s->task, tasks[t]) ||
					    strcmp(s->metric, mp->metrics[k].name))
						continue;
					g.n = g.n == -2 || g.n == s->n ? s->n : -1;
				}
				if (g.n != -2)
					groups[n_groups++] = g;
			}
	return n_groups;
}

/* The x tics: task on the first line, metric and n on the second, the run (when
 * there are several) on a third; turned tics (one_line) put them on one line. */
static void group_tics(FILE *g, const struct rpt_input *in, const struct metric_plot *mp, const char *const *tasks,
		       const struct group *groups, size_t n_groups, bool one_line)
{
	const char *sep = one_line ? ".' · '." : ".\"\\n\".";
	fputs("set xtics scale 0 (", g);
	for (size_t k = 0; k < n_groups; k++) {
		fputs(k ? ", " : "", g);
		rpt_gp_str(g, tasks[groups[k].task], LABEL_MAX_CHARS);
		fprintf(g, "%s'%s'", sep, mp->metrics[groups[k].metric].label);
		if (groups[k].n >= 0)
			fprintf(g, ".', n=%lld'", (long long)groups[k].n);
		if (in->n_runs > 1) { /* a third line: the run */
			fputs(sep, g);
			rpt_gp_str(g, in->runs[groups[k].run].label, RPT_RUN_LABEL_MAX);
		}
		fprintf(g, " %zu", k);
	}
	fputs(")\n", g);
	for (size_t k = 0; k + 1 < n_groups; k++) /* solid between tasks, dotted between metrics */
		fprintf(g, "set arrow from %zu.5, graph 0 to %zu.5, graph 1 nohead lc rgb '%s' dt %d\n", k, k,
			groups[k].run != groups[k + 1].run || groups[k].task != groups[k + 1].task ? "#999999" : "#dddddd",
			groups[k].run != groups[k + 1].run || groups[k].task != groups[k + 1].task ? 1 : 3);
}

/* Room below the axis for group_tics' two or three lines; where side by side they
 * would overprint (the longest line, as rpt_gp_str cuts it), turned by 30 degrees
 * with more room, as the accuracy plot's are. Whether they are turned. */
static bool gen_tic_room(FILE *g, const struct rpt_input *in, const struct metric_plot *mp, const char *const *tasks,
			 const struct group *groups, size_t n_groups, int w)
{
	size_t longest = in->n_runs > 1 ? RPT_RUN_LABEL_MAX + 1 : 0;
	for (size_t k = 0; k < n_groups; k++) {
		size_t task = strlen(tasks[groups[k].task]);
		task = task < LABEL_MAX_CHARS ? task : LABEL_MAX_CHARS + 1;
		const size_t metric = strlen(mp->metrics[groups[k].metric].label) + (groups[k].n >= 0 ? 8 : 0);
		longest = task > longest ? task : longest;
		longest = metric > longest ? metric : longest;
	}
	const bool crowded = rpt_gp_xtics_crowded(n_groups, longest, w);
	if (crowded) /* one line each, turned: turned lines of several lines overprint their neighbours */
		fprintf(g, "set xtics rotate by -30 left\nset bmargin %d\n", in->n_runs > 1 ? 13 : 9);
	else
		fprintf(g, "set bmargin %s\n", in->n_runs > 1 ? "6" : "4.5");
	return crowded;
}

/* One block per language: x  value  ci_low  ci_high (plotted units). */
static void group_data(struct rpt_bufs *b, const struct rpt_input *in, const struct metric_plot *mp,
		       const char *const *tasks, const char *const *langs, size_t n_langs, const struct group *groups,
		       size_t n_groups)
{
	fprintf(b->d, "# %s.dat - one block (gnuplot index) per language; columns: x  value  ci_low  ci_high "
		"(0-100: fractions in %%, chrF and BLEU as they are)\n", mp->name);
	const double width = 0.7, step = n_langs > 1 ? width / (double)(n_langs - 1) : 0;
	fputs("plot ", b->g);
	for (size_t l = 0; l < n_langs; l++) {
		fprintf(b->d, "%s# index %zu: language ", l ? "\n\n" : "", l);
		rpt_dat_comment_str(b->d, langs[l]);
		fputc('\n', b->d);
		for (size_t k = 0; k < n_groups; k++) {
			const struct gen_metric *gm = &mp->metrics[groups[k].metric];
			const struct rpt_score *s = find_score(in, groups[k].run, tasks[groups[k].task], gm->name, langs[l]);
			if (!s || !isfinite(s->value))
				continue;
			const double v = s->value * gm->scale;
			fprintf(b->d, "%.4f", (double)k + (n_langs > 1 ? -width / 2 + step * (double)l : 0));
			rpt_dat_num(b->d, v);
			rpt_dat_num(b->d, isfinite(s->ci_low) ? s->ci_low * gm->scale : v);
			rpt_dat_num(b->d, isfinite(s->ci_high) ? s->ci_high * gm->scale : v);
			fputc('\n', b->d);
		}
		fprintf(b->g, "%s'%s.dat' index %zu using 1:2:3:4 with yerrorbars pt 7 ps 1.2 lw 2 lc rgb '%s' title ",
			l ? ", \\\n     " : "", mp->name, l, rpt_lang_colour(langs[l], l));
		rpt_gp_str(b->g, langs[l], LABEL_MAX_CHARS);
	}
	fputc('\n', b->g);
}

/* A points-with-CI plot of the metrics of mp per (run, task, metric) x language. */
static int plot_metrics(struct rpt_plotter *pl, const struct rpt_input *in, const struct metric_plot *mp,
			struct mrl_err *err)
{
	const size_t cap = in->n_scores + 1;
	const char **langs = calloc(cap, sizeof *langs), **tasks = calloc(cap, sizeof *tasks);
	struct group *groups = calloc(cap * mp->n_metrics, sizeof *groups);
	size_t n_langs = 0, n_tasks = 0;
	struct rpt_bufs b = { 0 };
	int rc = 0;
	if (!langs || !tasks || !groups) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	double level = NAN;
	const size_t n_groups = collect_groups(in, mp, tasks, &n_tasks, langs, &n_langs, groups, &level);
	if (!n_groups)
		goto out;
	if ((rc = rpt_bufs_open(&b, err)))
		goto out;
	const int w = n_groups * n_langs > 24 ? 1500 : n_groups > 4 ? 1200 : 1000, h = 620;
	char ci_text[48];
	snprintf(ci_text, sizeof ci_text, isfinite(level) ? "%g%% CI" : "CI as recorded", level * 100);
	rpt_gp_begin(pl, b.g, mp->name, mp->what, w, h);
	fprintf(b.g, "set title '%s (points: estimate; bars: %s)'\n", mp->title, ci_text);
	fprintf(b.g, "set ylabel '%s'\nset yrange [0:100]\nset ytics 10\nset mytics 2\n", mp->ylabel);
	fputs("set grid ytics mytics lt 1 lc rgb '#d4d4d4' lw 1 dt 1, lt 1 lc rgb '#ececec' lw 1 dt 1\n"
	      "set key outside right top vertical samplen 1.5 spacing 1.3 title 'language'\n", b.g);
	const bool turned = gen_tic_room(b.g, in, mp, tasks, groups, n_groups, w);
	fprintf(b.g, "set xrange [-0.5:%zu.5]\n", n_groups - 1);
	group_tics(b.g, in, mp, tasks, groups, n_groups, turned);
	group_data(&b, in, mp, tasks, langs, n_langs, groups, n_groups);
	char caption[640];
	snprintf(caption, sizeof caption, "%s Bars: the %s from the run's bootstrap%s; n is the number of items scored.",
		 mp->caption_head, ci_text, in->n_runs > 1 ? "; groups are task x metric per run" : "");
	rc = rpt_bufs_emit(pl, &b, mp->name, mp->title, caption, w, h, err);
out:
	rpt_bufs_discard(&b);
	free(langs);
	free(tasks);
	free(groups);
	return rc;
}

int rpt_plot_generation(struct rpt_plotter *pl, const struct rpt_input *in, struct mrl_err *err)
{
	const struct metric_plot mp = {
		.name = "generation", .title = "Generation quality per task and language",
		.what = "generate tasks: EM, F1, ROUGE-L, chrF, chrF++, BLEU per task and language",
		.ylabel = "score (0-100)", .metrics = quality, .n_metrics = N_QUALITY,
		.caption_head = "Each point is a model's score on one generate task in one language. EM (exact match), F1 "
				"and ROUGE-L are means over the items in %; chrF, chrF++ and BLEU are sacrebleu's corpus "
				"scores (0-100), their CIs from resampling items and re-scoring the corpus.",
	};
	return plot_metrics(pl, in, &mp, err);
}

int rpt_plot_script_lang(struct rpt_plotter *pl, const struct rpt_input *in, struct mrl_err *err)
{
	const struct metric_plot mp = {
		.name = "script-lang", .title = "Answers in the expected script and language",
		.what = "generate tasks: script_ok and lang_ok rates per task and language",
		.ylabel = "share of answers (%)", .metrics = consistency, .n_metrics = N_CONSISTENCY,
		.caption_head = "script_ok: the share of answers (those with letters) written in the script the prompt "
				"asked for; lang_ok: the share of answers with enough evidence whose language guess (script, "
				"Ekavian/Ijekavian reflexes, lexical markers) fits the expected language "
				"(docs/generation-metrics.md).",
	};
	return plot_metrics(pl, in, &mp, err);
}

/* Whether a recorded comparison is a generative one the gap plot shows. */
static bool gen_gap_row(const struct rpt_gap *g, struct rpt_gap *out)
{
	const enum rpt_gap_kind kind = rpt_gap_orient(g, out);
	return (kind == RPT_GAP_LANGUAGE || kind == RPT_GAP_SCRIPT) && g->task && g->language_a && g->language_b &&
	       gen_metric_of(g->metric);
}

/* Row labels: run, task, metric and pair left; McNemar p (binary metrics) or n right. */
static void gen_gap_tics(FILE *g, const struct rpt_input *in, const struct rpt_gap *rows, size_t n_rows)
{
	fputs("set ytics scale 0 (", g);
	for (size_t i = 0; i < n_rows; i++) {
		fputs(i ? ", " : "", g);
		if (in->n_runs > 1) {
			rpt_gp_str(g, in->runs[rows[i].run].label, RPT_RUN_LABEL_MAX);
			fputs(".': '.", g);
		}
		rpt_gp_str(g, rows[i].task, LABEL_MAX_CHARS);
		fprintf(g, ".'  %s  '.", gen_metric_of(rows[i].metric)->label);
		rpt_gp_str(g, rows[i].language_a, 12);
		fputs(".' - '.", g);
		rpt_gp_str(g, rows[i].language_b, 12);
		fprintf(g, " %zu", n_rows - 1 - i);
	}
	fputs(")\nset y2tics scale 0 (", g);
	for (size_t i = 0; i < n_rows; i++) {
		const double p = rows[i].mcnemar_p;
		if (gen_metric_of(rows[i].metric)->binary && isfinite(p))
			fprintf(g, "%s'McNemar p=%.3f%s (n=%lld)' %zu", i ? ", " : "", p, p < 0.05 ? " *" : "",
				(long long)rows[i].n_pairs, n_rows - 1 - i);
		else
			fprintf(g, "%s'n=%lld' %zu", i ? ", " : "", (long long)rows[i].n_pairs, n_rows - 1 - i);
	}
	fputs(")\n", g);
}

/* The paired differences of generative metrics (en - BCMS, sr-Cyrl - sr-Latn):
 * one row per (run, task, metric, pair), in the metric's points. */
int rpt_plot_generation_gaps(struct rpt_plotter *pl, const struct rpt_input *in, struct mrl_err *err)
{
	size_t n_rows = 0;
	for (size_t i = 0; i < in->n_gaps; i++)
		n_rows += gen_gap_row(&in->gaps[i], NULL);
	if (!n_rows)
		return 0;
	struct rpt_gap *rows = calloc(n_rows, sizeof *rows);
	struct rpt_bufs b = { 0 };
	int rc = 0;
	if (!rows)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	size_t r = 0;
	double lo = 0, hi = 0;
	for (size_t i = 0; i < in->n_gaps; i++) {
		struct rpt_gap g;
		if (!gen_gap_row(&in->gaps[i], &g))
			continue;
		const double scale = gen_metric_of(g.metric)->scale;
		g.diff *= scale, g.ci_low *= scale, g.ci_high *= scale;
		rows[r++] = g;
		const double v[3] = { g.diff, g.ci_low, g.ci_high };
		for (int k = 0; k < 3; k++)
			if (isfinite(v[k]))
				lo = fmin(lo, v[k]), hi = fmax(hi, v[k]);
	}
	const double pad = fmax(2.0, (hi - lo) * 0.08);
	const double x_lo = fmin(-5.0, floor((lo - pad) / 5.0) * 5.0), x_hi = fmax(5.0, ceil((hi + pad) / 5.0) * 5.0);
	if ((rc = rpt_bufs_open(&b, err)))
		goto out;
	const int w = 1250, h = (int)(170 + 30 * n_rows < 320 ? 320 : 170 + 30 * n_rows);
	rpt_gp_begin(pl, b.g, "generation-gap", "generate tasks: paired differences between languages and scripts", w, h);
	fputs("set title 'Generate tasks: en minus each BCMS variant, sr-Cyrl minus sr-Latn (same items; bars: paired CI)'\n"
	      "set xlabel 'difference (pp for EM, F1, ROUGE-L, script_ok, lang_ok; points for chrF, BLEU)'\n", b.g);
	fprintf(b.g, "set xrange [%g:%g]\nset yrange [-0.7:%zu.7]\nset y2range [-0.7:%zu.7]\n", x_lo, x_hi, n_rows - 1,
		n_rows - 1);
	for (size_t i = 0; i + 1 < n_rows; i++)
		if (rows[i].run != rows[i + 1].run || strcmp(rows[i].task, rows[i + 1].task))
			fprintf(b.g, "set arrow from graph 0, first %zu.5 to graph 1, first %zu.5 nohead lc rgb '#bbbbbb' dt 2\n",
				n_rows - 2 - i, n_rows - 2 - i);
	fputs("set grid xtics lc rgb '#e4e4e4'\nset arrow from 0, graph 0 to 0, graph 1 nohead lc rgb '#555555' lw 1.5\n"
	      "set border 11\nunset key\n", b.g);
	gen_gap_tics(b.g, in, rows, n_rows);
	fputs("# generation-gap.dat - one row per comparison; columns: diff  row  ci_low  ci_high  mcnemar_p  n_pairs "
	      "(pp for fractions, points for chrF/BLEU); colour from the script\n", b.d);
	for (size_t i = 0; i < n_rows; i++) {
		rpt_dat_num(b.d, rows[i].diff);
		fprintf(b.d, " %zu", n_rows - 1 - i);
		rpt_dat_num(b.d, rows[i].ci_low);
		rpt_dat_num(b.d, rows[i].ci_high);
		rpt_dat_num(b.d, rows[i].mcnemar_p);
		fprintf(b.d, " %lld\n", (long long)rows[i].n_pairs);
	}
	fputs("plot 'generation-gap.dat' using 1:2:3:4 with xerrorbars pt 7 ps 1.3 lw 2 lc rgb '", b.g);
	fputs(rpt_lang_colour("sr-Cyrl", 0), b.g);
	fputs("' notitle\n", b.g);
	rc = rpt_bufs_emit(pl, &b, "generation-gap", "Generate tasks: language and script gaps",
			   "Each row is one generative metric of one task: the difference English minus the BCMS variant, "
			   "or Cyrillic minus Latin script, over the items present in both, with its paired bootstrap CI "
			   "(chrF and BLEU re-scored as corpora). Right axis: the exact McNemar p (two-sided, uncorrected; "
			   "* marks p < 0.05) for right/wrong metrics (EM, script_ok, lang_ok), else the number of pairs.",
			   w, h, err);
out:
	rpt_bufs_discard(&b);
	free(rows);
	return rc;
}

/* A compare row of a generative metric (with a finite difference). */
static const struct gen_metric *compare_gen_metric(const struct rpt_cmp_row *r)
{
	const struct gen_metric *gm = r->in && r->in->task && r->in->language ? gen_metric_of(r->in->metric) : NULL;
	return gm && isfinite(r->diff) ? gm : NULL;
}

size_t rpt_compare_gen_rows(const struct rpt_cmp_result *res)
{
	size_t n = 0;
	for (size_t i = 0; res && i < res->n_rows; i++)
		n += compare_gen_metric(&res->rows[i]) != NULL;
	return n;
}

/* Row labels: task, metric, language left; the test's Holm-adjusted p right. */
static void compare_tics(FILE *g, const struct rpt_cmp_result *res, size_t n_rows)
{
	size_t k = 0;
	fputs("set ytics scale 0 (", g);
	for (size_t i = 0; i < res->n_rows; i++) {
		const struct rpt_cmp_row *r = &res->rows[i];
		const struct gen_metric *gm = compare_gen_metric(r);
		if (!gm)
			continue;
		fputs(k ? ", " : "", g);
		rpt_gp_str(g, r->in->task, LABEL_MAX_CHARS);
		fprintf(g, ".'  %s  '.", gm->label);
		rpt_gp_str(g, r->in->language, 12);
		fprintf(g, " %zu", n_rows - 1 - k++);
	}
	fputs(")\nset y2tics scale 0 (", g);
	k = 0;
	for (size_t i = 0; i < res->n_rows; i++) {
		const struct rpt_cmp_row *r = &res->rows[i];
		if (!compare_gen_metric(r))
			continue;
		const bool mcnemar = r->test && !strncmp(r->test, "mcnemar", 7);
		const char *test = mcnemar ? "McNemar" : r->test && !strncmp(r->test, "wilcoxon", 8) ? "Wilcoxon" : "test";
		fprintf(g, "%s'%s p(Holm)=%.3f%s (n=%zu)' %zu", k ? ", " : "", test, r->p_holm,
			isfinite(r->p_holm) && r->p_holm < 0.05 ? " *" : "", r->in->n_pairs, n_rows - 1 - k);
		k++;
	}
	fputs(")\n", g);
}

int rpt_plot_compare_gen(struct rpt_plotter *pl, const struct rpt_cmp_result *res, const char *name, struct mrl_err *err)
{
	const size_t n_rows = rpt_compare_gen_rows(res);
	if (!n_rows)
		return 0;
	struct rpt_bufs b = { 0 };
	int rc = rpt_bufs_open(&b, err);
	if (rc)
		return rc;
	double lo = 0, hi = 0;
	fprintf(b.d, "# %s.dat - one row per comparison (candidate - base); columns: diff  row  ci_low  ci_high  p_holm  "
		"n_pairs (pp for fractions, points for chrF/BLEU)\n", name);
	size_t k = 0;
	for (size_t i = 0; i < res->n_rows; i++) {
		const struct rpt_cmp_row *r = &res->rows[i];
		const struct gen_metric *gm = compare_gen_metric(r);
		if (!gm)
			continue;
		const double v[3] = { r->diff * gm->scale, r->ci_low * gm->scale, r->ci_high * gm->scale };
		for (int j = 0; j < 3; j++)
			if (isfinite(v[j]))
				lo = fmin(lo, v[j]), hi = fmax(hi, v[j]);
		rpt_dat_num(b.d, v[0]);
		fprintf(b.d, " %zu", n_rows - 1 - k++);
		rpt_dat_num(b.d, v[1]);
		rpt_dat_num(b.d, v[2]);
		rpt_dat_num(b.d, r->p_holm);
		fprintf(b.d, " %zu\n", r->in->n_pairs);
	}
	const double pad = fmax(2.0, (hi - lo) * 0.08);
	const double x_lo = fmin(-5.0, floor((lo - pad) / 5.0) * 5.0), x_hi = fmax(5.0, ceil((hi + pad) / 5.0) * 5.0);
	const int w = 1250, h = (int)(170 + 30 * n_rows < 320 ? 320 : 170 + 30 * n_rows);
	rpt_gp_begin(pl, b.g, name, "merilo compare: generative metrics, candidate minus base, paired", w, h);
	fputs("set title 'Generate tasks: candidate minus base (same items; bars: paired bootstrap CI)'\n"
	      "set xlabel 'difference (pp for EM, F1, ROUGE-L, script_ok, lang_ok; points for chrF, BLEU; > 0: candidate higher)'\n",
	      b.g);
	fprintf(b.g, "set xrange [%g:%g]\nset yrange [-0.7:%zu.7]\nset y2range [-0.7:%zu.7]\n", x_lo, x_hi, n_rows - 1,
		n_rows - 1);
	fputs("set grid xtics lc rgb '#e4e4e4'\nset arrow from 0, graph 0 to 0, graph 1 nohead lc rgb '#555555' lw 1.5\n"
	      "set border 11\nunset key\n", b.g);
	compare_tics(b.g, res, n_rows);
	fprintf(b.g, "plot '%s.dat' using 1:2:3:4 with xerrorbars pt 7 ps 1.3 lw 2 lc rgb '%s' notitle\n", name,
		rpt_lang_colour("en", 0));
	rc = rpt_bufs_emit(pl, &b, name, "Generate tasks: candidate - base",
			   "Each row is one generative metric of one task and language: the candidate's score minus the "
			   "base's over the items both runs scored, with its paired bootstrap CI (chrF and BLEU re-scored as "
			   "corpora). Right axis: the test (McNemar for right/wrong metrics, else Wilcoxon signed-rank) and "
			   "its p after Holm's correction across every row of the comparison; * marks p < 0.05.",
			   w, h, err);
	rpt_bufs_discard(&b);
	return rc;
}
