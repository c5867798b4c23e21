/* plot_scores.c — the plots of scores: accuracy per task x language with
 * CIs, and the paired gaps between languages and between scripts (McNemar p
 * on the right axis). rpt_gap_orient says which side of a gap is which.
 */
#include "reports/rpt.h"
#include "reports/plot_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool is_en(const char *l)
{
	return l && (!strcmp(l, "en") || !strncmp(l, "en-", 3));
}

/* The BCMS variant of a tag ("sr", "hr", "bs", "cnr", "me", "sh": the primary subtag's
 * length into *len), or false. */
static bool bcms_base(const char *l, size_t *len)
{
	static const char *const bases[] = { "sr", "hr", "bs", "cnr", "me", "sh" };
	const size_t n = strcspn(l, "-_");
	for (size_t i = 0; i < sizeof bases / sizeof bases[0]; i++)
		if (n == strlen(bases[i]) && !strncmp(l, bases[i], n)) {
			*len = n;
			return true;
		}
	return false;
}

/* Whether a BCMS tag is written in Cyrillic: its script subtag, else sr's default. */
static bool bcms_cyrillic(const char *l)
{
	if (strstr(l, "-Cyrl"))
		return true;
	if (strstr(l, "-Latn"))
		return false;
	return !strncmp(l, "sr", 2) && (l[2] == '\0' || l[2] == '-');
}

enum rpt_gap_kind rpt_gap_orient(const struct rpt_gap *g, struct rpt_gap *out)
{
	enum rpt_gap_kind kind = RPT_GAP_OTHER;
	bool flip = false;
	const char *a = g->language_a, *b = g->language_b;
	size_t la, lb;
	if (a && b && is_en(a) != is_en(b) && (bcms_base(is_en(a) ? b : a, &la))) {
		kind = RPT_GAP_LANGUAGE;
		flip = is_en(b);
	} else if (a && b && bcms_base(a, &la) && bcms_base(b, &lb)) {
		const bool same_variant = la == lb && !strncmp(a, b, la), same_script = bcms_cyrillic(a) == bcms_cyrillic(b);
		kind = same_script ? RPT_GAP_VARIANT : same_variant ? RPT_GAP_SCRIPT : RPT_GAP_VARIANT_SCRIPT;
		flip = !same_script && !bcms_cyrillic(a);
	}
	if (out) {
		*out = *g;
		if (flip) {
			out->language_a = g->language_b;
			out->language_b = g->language_a;
			out->diff = -g->diff;
			out->ci_low = -g->ci_high;
			out->ci_high = -g->ci_low;
			out->mcnemar_b = g->mcnemar_c;
			out->mcnemar_c = g->mcnemar_b;
		}
	}
	return kind;
}

const char *rpt_gap_kind_name(enum rpt_gap_kind k)
{
	switch (k) {
	case RPT_GAP_LANGUAGE: return "en→BCMS";
	case RPT_GAP_SCRIPT: return "script";
	case RPT_GAP_VARIANT: return "variant";
	case RPT_GAP_VARIANT_SCRIPT: return "variant+script";
	case RPT_GAP_OTHER: break;
	}
	return "language";
}

/* "p=0.021", "p<0.001"; a star when p < 0.05. */
static void fmt_p(char *buf, size_t size, double p)
{
	if (!isfinite(p))
		snprintf(buf, size, "p n/a");
	else if (p < 0.001)
		snprintf(buf, size, "p<0.001 *");
	else
		snprintf(buf, size, p < 0.01 ? "p=%.4f%s" : "p=%.3f%s", p, p < 0.05 ? " *" : "");
}

static bool is_accuracy_metric(const char *m)
{
	return m && (!strcmp(m, "acc") || !strcmp(m, "exact_match"));
}

/* The score plotted for (run, task): "acc", else "exact_match". */
static bool plotted_score(const struct rpt_input *in, size_t i)
{
	const struct rpt_score *s = &in->scores[i];
	if (!s->task || !s->language || !is_accuracy_metric(s->metric))
		return false;
	if (!strcmp(s->metric, "acc"))
		return true;
	for (size_t k = 0; k < in->n_scores; k++) /* exact_match only where the task has no acc */
		if (in->scores[k].run == s->run && in->scores[k].task && !strcmp(in->scores[k].task, s->task) &&
		    in->scores[k].metric && !strcmp(in->scores[k].metric, "acc"))
			return false;
	return true;
}

/* Accuracy per task x language with CIs: one group per (task, run), one colour
 * per language, points with error bars on a 0-100 % scale. */
/* Room below the axis for the accuracy plot's two-line tic labels; where side by
 * side they would overprint (the longest line: a task, or "label, n=NN", as
 * rpt_gp_str cuts them), turned by 30 degrees with more room. */
static void tic_room(FILE *g, const struct rpt_input *in, const char *const *tasks, const size_t *group_task,
		     size_t n_groups, int w)
{
	size_t longest = in->n_runs > 1 ? RPT_RUN_LABEL_MAX + 1 + 8 : 8;
	for (size_t k = 0; k < n_groups; k++) {
		size_t task = strlen(tasks[group_task[k]]);
		task = task < LABEL_MAX_CHARS ? task : LABEL_MAX_CHARS + 1;
		longest = task > longest ? task : longest;
	}
	fputs(rpt_gp_xtics_crowded(n_groups, longest, w) ? "set xtics rotate by -30 left\nset bmargin 10\n"
							 : "set bmargin 4.5\n", g);
}

/* The chance level of each task group (1 / number of choices, from its scores)
 * as a dashed segment over the group; whether any was drawn. */
static bool chance_lines(FILE *g, const struct rpt_input *in, const char *const *tasks, const size_t *group_run,
			 const size_t *group_task, size_t n_groups)
{
	bool any = false;
	for (size_t k = 0; k < n_groups; k++)
		for (size_t i = 0; i < in->n_scores; i++) {
			const struct rpt_score *s = &in->scores[i];
			if (s->run != group_run[k] || strcmp(s->task, tasks[group_task[k]]) || !plotted_score(in, i) ||
			    !(s->chance > 0 && s->chance < 1))
				continue;
			fprintf(g, "set arrow from %.2f, %.4f to %.2f, %.4f nohead lc rgb '#555555' lw 1.5 dt 2 front\n",
				(double)k - 0.45, s->chance * 100, (double)k + 0.45, s->chance * 100);
			any = true;
			break;
		}
	return any;
}

int rpt_plot_accuracy(struct rpt_plotter *pl, const struct rpt_input *in, struct mrl_err *err)
{
	size_t n_sel = 0;
	for (size_t i = 0; i < in->n_scores; i++)
		n_sel += plotted_score(in, i);
	if (!n_sel)
		return 0;
	const char **langs = calloc(n_sel, sizeof *langs), **tasks = calloc(n_sel, sizeof *tasks);
	size_t *group_run = calloc(n_sel, sizeof *group_run), *group_task = calloc(n_sel, sizeof *group_task);
	int64_t *group_n = calloc(n_sel, sizeof *group_n);
	size_t n_langs = 0, n_tasks = 0, n_groups = 0;
	struct rpt_bufs b = { 0 };
	int rc = 0;
	if (!langs || !tasks || !group_run || !group_task || !group_n) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	/* groups in order of first appearance; run-major keeps a model's tasks together */
	double level = NAN;
	bool mixed_level = false;
	for (size_t r = 0; r < in->n_runs; r++)
		for (size_t i = 0; i < in->n_scores; i++) {
			const struct rpt_score *s = &in->scores[i];
			if (s->run != r || !plotted_score(in, i))
				continue;
			rpt_intern(langs, &n_langs, s->language);
			size_t t = rpt_intern(tasks, &n_tasks, s->task), g;
			for (g = 0; g < n_groups && !(group_run[g] == r && group_task[g] == t); g++)
				;
			if (g == n_groups) {
				group_run[g] = r, group_task[g] = t, group_n[g] = s->n;
				n_groups++;
			} else if (group_n[g] != s->n) {
				group_n[g] = -1; /* languages differ in n: say nothing */
			}
			if (isfinite(s->ci_level)) {
				if (isfinite(level) && fabs(level - s->ci_level) > 1e-9)
					mixed_level = true;
				level = s->ci_level;
			}
		}
	if ((rc = rpt_bufs_open(&b, err)))
		goto out;
	const int w = n_groups * n_langs > 24 ? 1500 : n_groups > 4 ? 1200 : 1000, h = 620;
	char ci_text[48];
	if (isfinite(level) && !mixed_level)
		snprintf(ci_text, sizeof ci_text, "%g%% CI", level * 100);
	else
		snprintf(ci_text, sizeof ci_text, "CI as recorded");
	rpt_gp_begin(pl, b.g, "accuracy", "accuracy per task and language with confidence intervals", w, h);
	fprintf(b.g, "set title 'Accuracy per task and language (points: estimate; bars: %s)'\n", ci_text);
	fputs("set ylabel 'accuracy (%)'\nset yrange [0:100]\nset ytics 10\nset mytics 2\n"
	      "set grid ytics mytics lt 1 lc rgb '#d4d4d4' lw 1 dt 1, lt 1 lc rgb '#ececec' lw 1 dt 1\n"
	      "set key outside right top vertical samplen 1.5 spacing 1.3 title 'language'\n", b.g);
	fprintf(b.g, "set xrange [-0.5:%zu.5]\n", n_groups - 1);
	tic_room(b.g, in, tasks, group_task, n_groups, w);
	fputs("set xtics scale 0 (", b.g);
	for (size_t g = 0; g < n_groups; g++) {
		fputs(g ? ", " : "", b.g);
		rpt_gp_str(b.g, tasks[group_task[g]], LABEL_MAX_CHARS);
		fputs(".\"\\n\"", b.g); /* second line: run, n */
		if (in->n_runs > 1) {
			fputs(".", b.g);
			rpt_gp_str(b.g, in->runs[group_run[g]].label, RPT_RUN_LABEL_MAX);
			fputs(group_n[g] >= 0 ? ".', '" : "", b.g);
		}
		if (group_n[g] >= 0)
			fprintf(b.g, ".'n=%lld'", (long long)group_n[g]);
		fprintf(b.g, " %zu", g);
	}
	fputs(")\n", b.g);
	for (size_t g = 0; g + 1 < n_groups; g++)
		fprintf(b.g, "set arrow from %zu.5, graph 0 to %zu.5, graph 1 nohead lc rgb '#bbbbbb' dt 2\n", g, g);
	const bool chance = chance_lines(b.g, in, tasks, group_run, group_task, n_groups);
	/* data: one block per language: x  value%  lo%  hi% */
	fputs("# accuracy.dat - one block (gnuplot index) per language; columns: x  accuracy_%  ci_low_%  ci_high_%\n",
	      b.d);
	const double width = 0.7, step = n_langs > 1 ? width / (double)(n_langs - 1) : 0;
	fputs("plot ", b.g);
	for (size_t l = 0; l < n_langs; l++) {
		fprintf(b.d, "%s# index %zu: language ", l ? "\n\n" : "", l);
		rpt_dat_comment_str(b.d, langs[l]);
		fputc('\n', b.d);
		for (size_t g = 0; g < n_groups; g++)
			for (size_t i = 0; i < in->n_scores; i++) {
				const struct rpt_score *s = &in->scores[i];
				if (s->run != group_run[g] || strcmp(s->task, tasks[group_task[g]]) ||
				    strcmp(s->language, langs[l]) || !plotted_score(in, i))
					continue;
				double x = (double)g + (n_langs > 1 ? -width / 2 + step * (double)l : 0);
				double v = s->value * 100;
				double lo = isfinite(s->ci_low) ? s->ci_low * 100 : v, hi = isfinite(s->ci_high) ? s->ci_high * 100 : v;
				fprintf(b.d, "%.4f", x);
				rpt_dat_num(b.d, v);
				rpt_dat_num(b.d, lo);
				rpt_dat_num(b.d, hi);
				fputc('\n', b.d);
				break;
			}
		fprintf(b.g, "%s'accuracy.dat' index %zu using 1:2:3:4 with yerrorbars pt 7 ps 1.2 lw 2 lc rgb '%s' title ",
			l ? ", \\\n     " : "", l, rpt_lang_colour(langs[l], l));
		rpt_gp_str(b.g, langs[l], LABEL_MAX_CHARS);
	}
	if (chance) /* a key entry for the dashed lines */
		fputs(", \\\n     NaN with lines dt 2 lw 1.5 lc rgb '#555555' title 'chance'", b.g);
	fputc('\n', b.g);
	char caption[640];
	snprintf(caption, sizeof caption,
		 "Each point is a model's accuracy on one task in one language (the 'acc' metric; 'exact_match' for "
		 "generative tasks), with its %s from the run's bootstrap. Groups are tasks%s; n is the number of items "
		 "scored.%s Overlapping intervals do not mean 'no difference': the paired gap plots below test that.",
		 ci_text, in->n_runs > 1 ? " per run" : "",
		 chance ? " The dashed line is chance: the accuracy of guessing, 1 / the number of choices." : "");
	rc = rpt_bufs_emit(pl, &b, "accuracy", "Accuracy per task and language", caption, w, h, err);
out:
	rpt_bufs_discard(&b);
	free(langs);
	free(tasks);
	free(group_run);
	free(group_task);
	free(group_n);
	return rc;
}

/* The gap plot's row labels: run, task and pair on the left; McNemar's p with
 * its discordant counts on the right. */
static void gap_tics(FILE *g, const struct rpt_input *in, const struct rpt_gap *rows, size_t n_rows)
{
	fputs("set ytics scale 0 (", g);
	for (size_t i = 0; i < n_rows; i++) {
		fputs(i ? ", " : "", g);
		if (in->n_runs > 1) {
			rpt_gp_str(g, in->runs[rows[i].run].label, RPT_RUN_LABEL_MAX);
			fputs(".': '.", g);
		}
		rpt_gp_str(g, rows[i].task, LABEL_MAX_CHARS);
		fputs(".'  '.", g);
		rpt_gp_str(g, rows[i].language_a, 12);
		fputs(".' - '.", g);
		rpt_gp_str(g, rows[i].language_b, 12);
		fprintf(g, " %zu", n_rows - 1 - i);
	}
	fputs(")\nset y2tics scale 0 (", g);
	for (size_t i = 0; i < n_rows; i++) {
		char p[32];
		fmt_p(p, sizeof p, rows[i].mcnemar_p);
		fprintf(g, "%s'%s  (b=%lld, c=%lld, n=%lld)' %zu", i ? ", " : "", p, (long long)rows[i].mcnemar_b,
			(long long)rows[i].mcnemar_c, (long long)rows[i].n_pairs, n_rows - 1 - i);
	}
	fputs(")\n", g);
}

/* A gap plot: one row per (run, task, pair) of the given kind, the paired
 * difference in percentage points with its CI, McNemar p on the right axis. */
int rpt_plot_gaps(struct rpt_plotter *pl, const struct rpt_input *in, enum rpt_gap_kind kind, struct mrl_err *err)
{
	const char *name = kind == RPT_GAP_LANGUAGE ? "language-gap" : "script-gap";
	size_t n_rows = 0;
	for (size_t i = 0; i < in->n_gaps; i++)
		n_rows += rpt_gap_orient(&in->gaps[i], NULL) == kind && in->gaps[i].metric &&
			  !strcmp(in->gaps[i].metric, "acc") && in->gaps[i].task;
	if (!n_rows)
		return 0;
	struct rpt_gap *rows = calloc(n_rows, sizeof *rows);
	const char **colours_of = calloc(n_rows, sizeof *colours_of); /* the language each colour stands for */
	size_t n_col = 0;
	struct rpt_bufs b = { 0 };
	int rc = 0;
	if (!rows || !colours_of) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	size_t r = 0;
	double lo = 0, hi = 0, level = NAN; /* the data's extent, 0 included */
	for (size_t i = 0; i < in->n_gaps; i++) {
		struct rpt_gap g;
		if (rpt_gap_orient(&in->gaps[i], &g) != kind || !g.metric || strcmp(g.metric, "acc") || !g.task)
			continue;
		rows[r++] = g;
		rpt_intern(colours_of, &n_col, kind == RPT_GAP_LANGUAGE ? g.language_b : g.task);
		const double v[3] = { g.diff, g.ci_low, g.ci_high };
		for (int k = 0; k < 3; k++)
			if (isfinite(v[k])) {
				lo = fmin(lo, v[k]);
				hi = fmax(hi, v[k]);
			}
		if (isfinite(g.ci_level))
			level = g.ci_level;
	}
	/* percentage points: the data plus a margin, at least 5 each side of 0, in steps of 5 */
	const double pad = fmax(2.0, (hi - lo) * 100 * 0.08);
	const double x_lo = fmin(-5.0, floor((lo * 100 - pad) / 5.0) * 5.0), x_hi = fmax(5.0, ceil((hi * 100 + pad) / 5.0) * 5.0);
	if ((rc = rpt_bufs_open(&b, err)))
		goto out;
	const int w = 1250, h = (int)(170 + 34 * n_rows < 320 ? 320 : 170 + 34 * n_rows);
	char ci_text[48];
	snprintf(ci_text, sizeof ci_text, isfinite(level) ? "%g%% paired CI" : "paired CI", level * 100);
	if (kind == RPT_GAP_LANGUAGE) {
		rpt_gp_begin(pl, b.g, name, "the language gap: English minus each BCMS variant, paired", w, h);
		fprintf(b.g, "set title 'Language gap: accuracy in English minus in each BCMS variant (same items; bars: %s)'\n",
			ci_text);
		fputs("set xlabel 'difference in accuracy (percentage points; > 0: English better)'\n", b.g);
	} else {
		rpt_gp_begin(pl, b.g, name, "the script gap: Serbian Cyrillic minus Serbian Latin, paired", w, h);
		fprintf(b.g, "set title 'Script gap: accuracy in sr-Cyrl minus in sr-Latn (same items; bars: %s)'\n", ci_text);
		fputs("set xlabel 'difference in accuracy (percentage points; > 0: Cyrillic better)'\n", b.g);
	}
	fprintf(b.g, "set xrange [%g:%g]\nset yrange [-0.7:%zu.7]\nset y2range [-0.7:%zu.7]\n", x_lo, x_hi, n_rows - 1,
		n_rows - 1);
	for (size_t i = 0; i + 1 < n_rows; i++) /* a line between tasks */
		if (rows[i].run != rows[i + 1].run || strcmp(rows[i].task, rows[i + 1].task))
			fprintf(b.g, "set arrow from graph 0, first %zu.5 to graph 1, first %zu.5 nohead lc rgb '#bbbbbb' dt 2\n",
				n_rows - 2 - i, n_rows - 2 - i);
	fputs("set grid xtics lc rgb '#e4e4e4'\nset arrow from 0, graph 0 to 0, graph 1 nohead lc rgb '#555555' lw 1.5\n"
	      "set border 11\n", b.g);
	fputs("unset key\n", b.g); /* the row labels say which pair; colours match the accuracy plot */
	gap_tics(b.g, in, rows, n_rows);
	fprintf(b.d, "# %s.dat - one block (gnuplot index) per colour; columns: diff_pp  row  ci_low_pp  ci_high_pp  "
		"mcnemar_b  mcnemar_c  mcnemar_p  n_pairs\n", name);
	fputs("plot ", b.g);
	for (size_t c = 0; c < n_col; c++) {
		fprintf(b.d, "%s# index %zu: ", c ? "\n\n" : "", c);
		rpt_dat_comment_str(b.d, colours_of[c]);
		fputc('\n', b.d);
		for (size_t i = 0; i < n_rows; i++) {
			const char *key = kind == RPT_GAP_LANGUAGE ? rows[i].language_b : rows[i].task;
			if (strcmp(key, colours_of[c]))
				continue;
			rpt_dat_num(b.d, rows[i].diff * 100);
			fprintf(b.d, " %zu", n_rows - 1 - i);
			rpt_dat_num(b.d, rows[i].ci_low * 100);
			rpt_dat_num(b.d, rows[i].ci_high * 100);
			fprintf(b.d, " %lld %lld", (long long)rows[i].mcnemar_b, (long long)rows[i].mcnemar_c);
			rpt_dat_num(b.d, rows[i].mcnemar_p);
			fprintf(b.d, " %lld\n", (long long)rows[i].n_pairs);
		}
		const char *colour = kind == RPT_GAP_LANGUAGE ? rpt_lang_colour(colours_of[c], c) : rpt_lang_colour("sr-Cyrl", 0);
		fprintf(b.g, "%s'%s.dat' index %zu using 1:2:3:4 with xerrorbars pt 7 ps 1.3 lw 2 lc rgb '%s' title ",
			c ? ", \\\n     " : "", name, c, colour);
		if (kind == RPT_GAP_LANGUAGE) {
			fputs("'en - '.", b.g);
			rpt_gp_str(b.g, colours_of[c], LABEL_MAX_CHARS);
		} else {
			fputs(c ? "''" : "'sr-Cyrl - sr-Latn'", b.g);
		}
	}
	fputc('\n', b.g);
	char caption[640];
	snprintf(caption, sizeof caption,
		 "Each row is one task: the accuracy difference %s over the items present in both, in percentage points, "
		 "with its %s (paired bootstrap). Right axis: exact McNemar p-value (two-sided, not corrected for the "
		 "number of rows; * marks p < 0.05); b = items right only in %s, c = items right only in %s.",
		 kind == RPT_GAP_LANGUAGE ? "English minus the BCMS variant" : "Cyrillic minus Latin script",
		 ci_text, kind == RPT_GAP_LANGUAGE ? "English" : "Cyrillic", kind == RPT_GAP_LANGUAGE ? "the variant" : "Latin");
	rc = rpt_bufs_emit(pl, &b, name, kind == RPT_GAP_LANGUAGE ? "Language gap (en - BCMS)" : "Script gap (sr-Cyrl - sr-Latn)",
			   caption, w, h, err);
out:
	rpt_bufs_discard(&b);
	free(rows);
	free(colours_of);
	return rc;
}
