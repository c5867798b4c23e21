/* leaderboard.c — one table across models: per task x language scores with CIs,
 * per-language averages, the en->BCMS and Cyrillic/Latin gaps, speed, energy, and
 * each row's manifest, as self-contained HTML (sortable), markdown or CSV.
 * Rows are grouped by comparability (rpt_lb_row.group: suite, its sha256 and
 * the settings that change scores); each group is a section ranked on its own,
 * with rank ranges where intervals overlap.
 *
 * Every string in a row came from a record file and is escaped for the output
 * format (escape.c). Figures a run lacks print as "—" (HTML/markdown) or an
 * empty field (CSV), with a footnote saying what the dash means.
 */
#include "reports/rpt.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct col { const char *task, *language; };

struct board {
	const struct rpt_lb_row *rows;
	size_t n_rows;
	const char *metric;
	bool pct, lower_better; /* pct: shares in 0..1 shown in percent; else as recorded */
	struct col *cols;        /* task x language columns, in first-seen order */
	size_t n_cols;
	const char **langs;      /* languages, first-seen order */
	size_t n_langs;
	double *avg;             /* n_rows x n_langs per-language averages */
	double *gap_bcms, *gap_script, *overall; /* n_rows */
	double *bcms;            /* n_rows: mean of the BCMS languages' averages */
	double *ov_lo, *ov_hi;   /* n_rows: the interval of overall (from the cells' CIs) */
	size_t *rank_lo, *rank_hi; /* n_rows: the rank range; 0 when overall is NaN */
	size_t *order;           /* n_rows, sorted best first */
	size_t group, n_groups;  /* this section: 1-based */
};

static void overall_interval(struct board *b, size_t r);
static void rank_ranges(struct board *b);

static bool is_bcms(const char *lang)
{
	static const char *const prefixes[] = { "sr", "hr", "bs", "cnr", "me", "sh" };
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t n = strlen(prefixes[i]);
		if (!strncmp(lang, prefixes[i], n) && (lang[n] == '\0' || lang[n] == '-' || lang[n] == '_'))
			return true;
	}
	return false;
}

static const struct rpt_lb_cell *find_cell(const struct rpt_lb_row *r, const char *task, const char *lang)
{
	for (size_t i = 0; i < r->n_cells; i++)
		if (r->cells[i].task && r->cells[i].language && !strcmp(r->cells[i].task, task) &&
		    !strcmp(r->cells[i].language, lang))
			return &r->cells[i];
	return NULL;
}

static double lang_avg(const struct board *b, size_t row, const char *lang)
{
	for (size_t l = 0; l < b->n_langs; l++)
		if (!strcmp(b->langs[l], lang))
			return b->avg[row * b->n_langs + l];
	return NAN;
}

static int cmp_rows(const void *pa, const void *pb, void *ctx)
{
	const struct board *b = ctx;
	double x = b->overall[*(const size_t *)pa], y = b->overall[*(const size_t *)pb];
	if (isnan(x) != isnan(y))
		return isnan(x) ? 1 : -1;
	if (isnan(x) || x == y)
		return *(const size_t *)pa < *(const size_t *)pb ? -1 : 1;
	return (b->lower_better ? x < y : x > y) ? -1 : 1;
}

static void board_free(struct board *b)
{
	free(b->cols);
	free(b->langs);
	free(b->avg);
	free(b->gap_bcms);
	free(b->gap_script);
	free(b->overall);
	free(b->bcms);
	free(b->ov_lo);
	free(b->ov_hi);
	free(b->rank_lo);
	free(b->rank_hi);
	free(b->order);
}

static int board_build(struct board *b, struct mrl_err *err)
{
	size_t max_cols = 0;
	for (size_t r = 0; r < b->n_rows; r++)
		max_cols += b->rows[r].n_cells;
	b->cols = calloc(max_cols + 1, sizeof *b->cols);
	b->langs = calloc(max_cols + 1, sizeof *b->langs);
	b->gap_bcms = calloc(b->n_rows + 1, sizeof(double));
	b->gap_script = calloc(b->n_rows + 1, sizeof(double));
	b->overall = calloc(b->n_rows + 1, sizeof(double));
	b->order = calloc(b->n_rows + 1, sizeof(size_t));
	b->bcms = calloc(b->n_rows + 1, sizeof(double));
	b->ov_lo = calloc(b->n_rows + 1, sizeof(double));
	b->ov_hi = calloc(b->n_rows + 1, sizeof(double));
	b->rank_lo = calloc(b->n_rows + 1, sizeof(size_t));
	b->rank_hi = calloc(b->n_rows + 1, sizeof(size_t));
	if (!b->cols || !b->langs || !b->gap_bcms || !b->gap_script || !b->overall || !b->order || !b->bcms ||
	    !b->ov_lo || !b->ov_hi || !b->rank_lo || !b->rank_hi)
		return mrl_err_set(err, MRL_ENOMEM, "leaderboard: out of memory");
	for (size_t r = 0; r < b->n_rows; r++) {
		for (size_t i = 0; i < b->rows[r].n_cells; i++) {
			const struct rpt_lb_cell *c = &b->rows[r].cells[i];
			if (!c->task || !c->language)
				return mrl_err_set(err, MRL_EINPUT, "leaderboard: row %zu cell %zu lacks a task or language",
						   r + 1, i + 1);
			size_t k = 0;
			while (k < b->n_cols && (strcmp(b->cols[k].task, c->task) || strcmp(b->cols[k].language, c->language)))
				k++;
			if (k == b->n_cols)
				b->cols[b->n_cols++] = (struct col){ c->task, c->language };
			k = 0;
			while (k < b->n_langs && strcmp(b->langs[k], c->language))
				k++;
			if (k == b->n_langs)
				b->langs[b->n_langs++] = c->language;
		}
	}
	b->avg = calloc(b->n_rows * b->n_langs + 1, sizeof(double));
	if (!b->avg)
		return mrl_err_set(err, MRL_ENOMEM, "leaderboard: out of memory");
	for (size_t r = 0; r < b->n_rows; r++) {
		double sum_all = 0;
		size_t n_all = 0;
		for (size_t l = 0; l < b->n_langs; l++) {
			double sum = 0;
			size_t n = 0;
			for (size_t i = 0; i < b->rows[r].n_cells; i++) {
				const struct rpt_lb_cell *c = &b->rows[r].cells[i];
				if (!strcmp(c->language, b->langs[l]) && !isnan(c->value)) {
					sum += c->value;
					n++;
				}
			}
			double a = n ? sum / (double)n : NAN;
			b->avg[r * b->n_langs + l] = a;
			if (n) {
				sum_all += a;
				n_all++;
			}
		}
		b->overall[r] = n_all ? sum_all / (double)n_all : NAN;
		double bcms = 0;
		size_t n_bcms = 0;
		for (size_t l = 0; l < b->n_langs; l++) {
			double a = b->avg[r * b->n_langs + l];
			if (is_bcms(b->langs[l]) && !isnan(a)) {
				bcms += a;
				n_bcms++;
			}
		}
		double en = lang_avg(b, r, "en");
		b->bcms[r] = n_bcms ? bcms / (double)n_bcms : NAN;
		b->gap_bcms[r] = n_bcms && !isnan(en) ? en - bcms / (double)n_bcms : NAN;
		b->gap_script[r] = lang_avg(b, r, "sr-Cyrl") - lang_avg(b, r, "sr-Latn");
		b->order[r] = r;
	}
	qsort_r(b->order, b->n_rows, sizeof *b->order, cmp_rows, b);
	for (size_t r = 0; r < b->n_rows; r++)
		overall_interval(b, r);
	rank_ranges(b);
	return 0;
}

/* A figure in display units into s ("—" when NaN). */
static void add_fig(struct mrl_buf *s, const struct board *b, double v, bool is_gap)
{
	if (isnan(v))
		mrl_buf_add(s, "—");
	else if (b->pct)
		mrl_buf_addf(s, is_gap ? "%+.1f" : "%.1f", 100 * v);
	else
		mrl_buf_addf(s, is_gap ? "%+.4g" : "%.4g", v);
}

static void add_cell(struct mrl_buf *s, const struct board *b, const struct rpt_lb_cell *c)
{
	if (!c || isnan(c->value)) {
		mrl_buf_add(s, "—");
		return;
	}
	add_fig(s, b, c->value, false);
	if (!isnan(c->ci_low) && !isnan(c->ci_high)) {
		mrl_buf_add(s, " [");
		add_fig(s, b, c->ci_low, false);
		mrl_buf_add(s, ", ");
		add_fig(s, b, c->ci_high, false);
		mrl_buf_add(s, "]");
	}
}

static void add_perf(struct mrl_buf *s, double v, const char *fmt)
{
	if (isnan(v))
		mrl_buf_add(s, "—");
	else
		mrl_buf_addf(s, fmt, v);
}

static void add_sha(struct mrl_buf *s, const char *sha, void (*esc)(struct mrl_buf *, const char *))
{
	if (!sha)
		mrl_buf_add(s, "—");
	else
		rpt_esc_trunc(s, sha, 12, esc);
}

/* A manifest field, escaped, "—" when NULL. */
static void add_text(struct mrl_buf *s, const char *t, void (*esc)(struct mrl_buf *, const char *))
{
	if (t)
		esc(s, t);
	else
		mrl_buf_add(s, "—");
}

/* The manifest columns after the model sha256 (engine build, host, seeds, run
 * folder), each escaped by esc and preceded by the cell separator sep. */
static void add_manifest(struct mrl_buf *s, const struct rpt_lb_row *row, void (*esc)(struct mrl_buf *, const char *),
			 const char *sep)
{
	const char *const fields[] = { row->engine_build, row->host, row->seeds, row->run_dir };
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		mrl_buf_add(s, sep);
		add_text(s, fields[i], esc);
	}
}

/* The interval of row r's ranking value: the same mean of per-language
 * averages, computed from the cells' ci_low and from their ci_high. A cell
 * without a CI counts as its value at both ends. */
static void overall_interval(struct board *b, size_t r)
{
	double lo_all = 0, hi_all = 0;
	size_t n_all = 0;
	for (size_t l = 0; l < b->n_langs; l++) {
		double lo = 0, hi = 0;
		size_t n = 0;
		for (size_t i = 0; i < b->rows[r].n_cells; i++) {
			const struct rpt_lb_cell *c = &b->rows[r].cells[i];
			if (strcmp(c->language, b->langs[l]) || isnan(c->value))
				continue;
			bool ci = !isnan(c->ci_low) && !isnan(c->ci_high);
			lo += ci ? c->ci_low : c->value;
			hi += ci ? c->ci_high : c->value;
			n++;
		}
		if (n) {
			lo_all += lo / (double)n;
			hi_all += hi / (double)n;
			n_all++;
		}
	}
	b->ov_lo[r] = n_all ? lo_all / (double)n_all : NAN;
	b->ov_hi[r] = n_all ? hi_all / (double)n_all : NAN;
}

/* Rank ranges: row r's best rank is 1 + the rows whose interval lies wholly on
 * the better side of r's, its worst rank is the rows (r included) whose
 * interval is not wholly on the worse side. Rows without a value get none. */
static void rank_ranges(struct board *b)
{
	for (size_t r = 0; r < b->n_rows; r++) {
		b->rank_lo[r] = b->rank_hi[r] = 0;
		if (isnan(b->overall[r]))
			continue;
		size_t better = 0, not_worse = 0;
		for (size_t j = 0; j < b->n_rows; j++) {
			if (isnan(b->overall[j]))
				continue;
			bool j_better = b->lower_better ? b->ov_hi[j] < b->ov_lo[r] : b->ov_lo[j] > b->ov_hi[r];
			bool j_worse = b->lower_better ? b->ov_lo[j] > b->ov_hi[r] : b->ov_hi[j] < b->ov_lo[r];
			better += j_better;
			not_worse += !j_worse;
		}
		b->rank_lo[r] = better + 1;
		b->rank_hi[r] = not_worse;
	}
}

static void add_rank(struct mrl_buf *s, const struct board *b, size_t r)
{
	if (!b->rank_lo[r])
		mrl_buf_add(s, "—");
	else if (b->rank_lo[r] == b->rank_hi[r])
		mrl_buf_addf(s, "%zu", b->rank_lo[r]);
	else
		mrl_buf_addf(s, "%zu-%zu", b->rank_lo[r], b->rank_hi[r]);
}

/* Items scored per language, summed over the row's tasks: "en 4, sr-Cyrl 4". */
static void add_n(struct mrl_buf *s, const struct board *b, size_t r, const char *sep)
{
	bool first = true;
	for (size_t l = 0; l < b->n_langs; l++) {
		int64_t n = 0;
		bool any = false;
		for (size_t i = 0; i < b->rows[r].n_cells; i++)
			if (!strcmp(b->rows[r].cells[i].language, b->langs[l]) && b->rows[r].cells[i].n >= 0) {
				n += b->rows[r].cells[i].n;
				any = true;
			}
		if (!any)
			continue;
		mrl_buf_addf(s, "%s%s %lld", first ? "" : sep, b->langs[l], (long long)n);
		first = false;
	}
	if (first)
		mrl_buf_add(s, "—");
	if (b->rows[r].n_missing > 0) /* scored from predictions with --allow-missing: say so where n is */
		mrl_buf_addf(s, "%s%lld without a prediction, counted as wrong", sep, (long long)b->rows[r].n_missing);
	if (b->rows[r].n_boot > 0 && b->rows[r].n_boot < 1000) /* --boot 100: the CIs carry visible Monte Carlo noise */
		mrl_buf_addf(s, "%sCIs from only %lld bootstrap resamples", sep, (long long)b->rows[r].n_boot);
}

/* The model's identity: file name, size, sha256 prefix (each when recorded). */
static void add_model_id(struct mrl_buf *s, const struct rpt_lb_row *row, void (*esc)(struct mrl_buf *, const char *))
{
	add_text(s, row->model_file, esc);
	if (row->model_size_bytes >= 0)
		mrl_buf_addf(s, ", %.1f MiB", (double)row->model_size_bytes / (1024.0 * 1024.0));
	mrl_buf_add(s, ", sha256 ");
	add_sha(s, row->model_sha256, esc);
}

static void add_fewshot(struct mrl_buf *s, const struct rpt_lb_row *row)
{
	if (row->fewshot_k < 0)
		mrl_buf_add(s, "—");
	else
		mrl_buf_addf(s, "%lld", (long long)row->fewshot_k);
}

static const char *footnotes =
	"Scores: %s; [low, high] is each run's confidence interval as recorded in its results.json. "
	"Only runs of one group are ranked together: same suite name and sha256, tasks, languages, --limit or "
	"--sample, "
	"few-shot k and seed, BOS mode, and chat template and KV cache type where recorded (the prompt templates are "
	"part of the suite's sha256). "
	"n: items scored per language, summed over the tasks. "
	"Average per language: the mean over the tasks the run has in that language; rows are sorted by the mean of "
	"those averages. Rank: a range when intervals overlap: the best rank is 1 + the runs whose interval on the "
	"ranking value (the same mean, computed from the cells' CI bounds) lies wholly above this run's, the worst "
	"rank is the number of runs whose interval is not wholly below it. BCMS: the mean of the BCMS languages' "
	"averages (sr*, hr, bs, cnr, me, sh); en→BCMS gap: the English average minus that mean; Cyrillic/Latin gap: "
	"sr-Cyrl average minus sr-Latn average (positive: Cyrillic higher). "
	"—: not available in that run (tokens/s: the run recorded no throughput; J/token: no energy was measured; "
	"a score: the run has no such task × language).";

static void add_heading(struct mrl_buf *s, const struct board *b, void (*esc)(struct mrl_buf *, const char *))
{
	mrl_buf_addf(s, "Group %zu of %zu (%zu run%s): ", b->group, b->n_groups, b->n_rows, b->n_rows == 1 ? "" : "s");
	add_text(s, b->rows[0].group_desc, esc);
}

static void render_md(struct mrl_buf *s, const struct board *b)
{
	mrl_buf_add(s, "### ");
	add_heading(s, b, rpt_esc_md);
	mrl_buf_add(s, "\n\n| rank | model | model file | n | few-shot |");
	for (size_t k = 0; k < b->n_cols; k++) {
		mrl_buf_add(s, " ");
		rpt_esc_md(s, b->cols[k].task);
		mrl_buf_add(s, " / ");
		rpt_esc_md(s, b->cols[k].language);
		mrl_buf_add(s, " |");
	}
	for (size_t l = 0; l < b->n_langs; l++) {
		mrl_buf_add(s, " avg ");
		rpt_esc_md(s, b->langs[l]);
		mrl_buf_add(s, " |");
	}
	mrl_buf_add(s, " BCMS mean | en→BCMS gap | Cyrl−Latn gap | tokens/s | J/token | engine build | host | seeds | run |\n|");
	size_t n_num = b->n_cols + b->n_langs + 5;
	for (size_t k = 0; k < n_num + 9; k++)
		mrl_buf_add(s, k >= 5 && k < n_num + 5 ? "---:|" : "---|");
	mrl_buf_add(s, "\n");
	for (size_t i = 0; i < b->n_rows; i++) {
		size_t r = b->order[i];
		const struct rpt_lb_row *row = &b->rows[r];
		mrl_buf_add(s, "| ");
		add_rank(s, b, r);
		mrl_buf_add(s, " | ");
		add_text(s, row->label, rpt_esc_md);
		mrl_buf_add(s, " | ");
		add_model_id(s, row, rpt_esc_md);
		mrl_buf_add(s, " | ");
		add_n(s, b, r, ", ");
		mrl_buf_add(s, " | ");
		add_fewshot(s, row);
		mrl_buf_add(s, " |");
		for (size_t k = 0; k < b->n_cols; k++) {
			mrl_buf_add(s, " ");
			add_cell(s, b, find_cell(row, b->cols[k].task, b->cols[k].language));
			mrl_buf_add(s, " |");
		}
		for (size_t l = 0; l < b->n_langs; l++) {
			mrl_buf_add(s, " ");
			add_fig(s, b, b->avg[r * b->n_langs + l], false);
			mrl_buf_add(s, " |");
		}
		const double figs[] = { b->bcms[r], b->gap_bcms[r], b->gap_script[r] };
		for (size_t f = 0; f < 3; f++) {
			mrl_buf_add(s, " ");
			add_fig(s, b, figs[f], f > 0);
			mrl_buf_add(s, " |");
		}
		mrl_buf_add(s, " ");
		add_perf(s, row->tokens_per_s, "%.1f");
		mrl_buf_add(s, " | ");
		add_perf(s, row->joules_per_token, "%.3g");
		add_manifest(s, row, rpt_esc_md, " | ");
		mrl_buf_add(s, " |\n");
	}
	mrl_buf_add(s, "\n");
}

/* A header cell with a sort button; first is the direction of the first click
 * ("hi": largest first, "lo": smallest first). */
static void html_th(struct mrl_buf *s, const char *a, const char *b_, const char *first)
{
	mrl_buf_addf(s, "<th><button type=\"button\" data-first=\"%s\">", first);
	rpt_esc_html(s, a);
	if (b_) {
		mrl_buf_add(s, "<br>");
		rpt_esc_html(s, b_);
	}
	mrl_buf_add(s, "</button></th>");
}

/* The opening tag of a numeric cell; data-v is what the sort script compares
 * (empty when NaN, so that such cells sort last). */
static void html_num_open(struct mrl_buf *s, double sort_value)
{
	if (isnan(sort_value))
		mrl_buf_add(s, "<td class=\"n\" data-v=\"\">");
	else
		mrl_buf_addf(s, "<td class=\"n\" data-v=\"%.17g\">", sort_value);
}

/* A figure (average or gap) as a sortable cell. */
static void html_fig(struct mrl_buf *s, const struct board *b, double v, bool is_gap)
{
	html_num_open(s, v);
	add_fig(s, b, v, is_gap);
	mrl_buf_add(s, "</td>");
}

/* tokens/s or J/token as a sortable cell. */
static void html_perf(struct mrl_buf *s, double v, const char *fmt)
{
	html_num_open(s, v);
	add_perf(s, v, fmt);
	mrl_buf_add(s, "</td>");
}

static void html_head_row(struct mrl_buf *s, const struct board *b)
{
	const char *best = b->lower_better ? "lo" : "hi";
	mrl_buf_add(s, "<thead><tr>");
	html_th(s, "rank", NULL, "lo");
	html_th(s, "model", NULL, "lo");
	html_th(s, "n", NULL, "hi");
	html_th(s, "few-", "shot", "lo");
	for (size_t k = 0; k < b->n_cols; k++)
		html_th(s, b->cols[k].task, b->cols[k].language, best);
	for (size_t l = 0; l < b->n_langs; l++)
		html_th(s, "avg", b->langs[l], best);
	html_th(s, "BCMS", "mean", best);
	html_th(s, "en→BCMS", "gap", "hi");
	html_th(s, "Cyrl−Latn", "gap", "hi");
	html_th(s, "tokens/s", NULL, "hi");
	html_th(s, "J/token", NULL, "lo");
	mrl_buf_add(s, "</tr></thead>\n<tbody>\n");
}

static void html_row(struct mrl_buf *s, const struct board *b, size_t r)
{
	const struct rpt_lb_row *row = &b->rows[r];
	mrl_buf_addf(s, "<tr><td class=\"n\" data-v=\"%zu\">", b->rank_lo[r] ? b->rank_lo[r] : b->n_rows + 1);
	add_rank(s, b, r);
	mrl_buf_add(s, "</td><td class=\"m\">");
	add_text(s, row->label, rpt_esc_html);
	mrl_buf_add(s, "<details><summary>");
	add_model_id(s, row, rpt_esc_html);
	mrl_buf_add(s, "</summary>");
	add_manifest(s, row, rpt_esc_html, "<br>");
	mrl_buf_add(s, "</details></td><td>");
	add_n(s, b, r, "<br>");
	mrl_buf_addf(s, "</td><td class=\"n\" data-v=\"%lld\">", (long long)row->fewshot_k);
	add_fewshot(s, row);
	mrl_buf_add(s, "</td>");
	for (size_t k = 0; k < b->n_cols; k++) {
		const struct rpt_lb_cell *c = find_cell(row, b->cols[k].task, b->cols[k].language);
		html_num_open(s, c ? c->value : NAN);
		if (!c || isnan(c->value))
			mrl_buf_add(s, "—");
		else {
			add_fig(s, b, c->value, false);
			if (!isnan(c->ci_low) && !isnan(c->ci_high)) {
				mrl_buf_add(s, "<br><small>[");
				add_fig(s, b, c->ci_low, false);
				mrl_buf_add(s, ", ");
				add_fig(s, b, c->ci_high, false);
				mrl_buf_add(s, "]</small>");
			}
		}
		mrl_buf_add(s, "</td>");
	}
	for (size_t l = 0; l < b->n_langs; l++)
		html_fig(s, b, b->avg[r * b->n_langs + l], false);
	html_fig(s, b, b->bcms[r], false);
	html_fig(s, b, b->gap_bcms[r], true);
	html_fig(s, b, b->gap_script[r], true);
	html_perf(s, row->tokens_per_s, "%.1f");
	html_perf(s, row->joules_per_token, "%.3g");
	mrl_buf_add(s, "</tr>\n");
}

static void render_html(struct mrl_buf *s, const struct board *b)
{
	mrl_buf_add(s, "<h2>");
	add_heading(s, b, rpt_esc_html);
	mrl_buf_add(s, "</h2>\n<table class=\"lb\">");
	html_head_row(s, b);
	for (size_t i = 0; i < b->n_rows; i++)
		html_row(s, b, b->order[i]);
	mrl_buf_add(s, "</tbody></table>\n");
}

static void html_open(struct mrl_buf *s, const char *metric)
{
	mrl_buf_add(s, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
		       "<meta name=\"viewport\" content=\"width=device-width\">\n<title>merilo leaderboard: ");
	rpt_esc_html(s, metric);
	mrl_buf_add(s, "</title>\n<style>\n"
		       "body{font-family:sans-serif;margin:8px;max-width:1264px}\n"
		       "table{border-collapse:collapse;font-size:12px;width:100%}\n"
		       "th,td{border:1px solid #bbb;padding:2px 3px;vertical-align:top;overflow-wrap:anywhere}\n"
		       "th{background:#eee}th button{font:inherit;font-weight:bold;border:0;background:none;padding:0;"
		       "cursor:pointer;text-align:inherit;overflow-wrap:anywhere}\n"
		       "th button:focus{outline:2px solid #06c}td.n{text-align:right}td.m{min-width:8em}\n"
		       "details{font-size:11px;color:#444}p.foot{font-size:12px;color:#444}\n"
		       "</style></head><body>\n<h1>merilo leaderboard: ");
	rpt_esc_html(s, metric);
	mrl_buf_add(s, "</h1>\n<p>Each section ranks only comparable runs. Press a column's header to sort: the first "
		       "press puts the best first, the next reverses.</p>\n");
}

/* The footnote's words for the unit of metric's figures. */
static const char *unit_words(const char *metric)
{
	if (rpt_metric_is_points(metric))
		return "points on sacrebleu's 0..100 scale";
	return rpt_metric_lower_is_better(metric) ? "in the metric's unit (lower is better)" : "percent";
}

static void html_close(struct mrl_buf *s, const char *metric)
{
	mrl_buf_add(s, "<p class=\"foot\">");
	struct mrl_buf f;
	mrl_buf_init(&f);
	mrl_buf_addf(&f, footnotes, unit_words(metric));
	rpt_esc_html(s, f.data);
	if (f.oom)
		s->oom = true;
	mrl_buf_release(&f);
	/* Sorting: numeric by data-v where both cells have one, else by text; the
	 * first press sorts in the header's data-first direction, a press on the
	 * same header again reverses. No data is interpolated into the script. */
	mrl_buf_add(s, "</p>\n<script>\n"
		       "document.querySelectorAll('table.lb').forEach(function (table) {\n"
		       "  var ths = Array.from(table.tHead.rows[0].cells);\n"
		       "  ths.forEach(function (th, col) {\n"
		       "    th.querySelector('button').addEventListener('click', function () {\n"
		       "      var desc = th.dataset.dir ? th.dataset.dir !== 'desc'\n"
		       "                               : this.dataset.first === 'hi';\n"
		       "      ths.forEach(function (o) { delete o.dataset.dir; o.removeAttribute('aria-sort'); });\n"
		       "      th.dataset.dir = desc ? 'desc' : 'asc';\n"
		       "      th.setAttribute('aria-sort', desc ? 'descending' : 'ascending');\n"
		       "      var body = table.tBodies[0], rows = Array.from(body.rows);\n"
		       "      rows.sort(function (a, b) {\n"
		       "        var x = parseFloat(a.cells[col].dataset.v), y = parseFloat(b.cells[col].dataset.v);\n"
		       "        if (isNaN(x) !== isNaN(y)) return isNaN(x) ? 1 : -1;\n"
		       "        var d = !isNaN(x) ? x - y : a.cells[col].textContent.localeCompare(b.cells[col].textContent);\n"
		       "        return desc ? -d : d;\n"
		       "      });\n"
		       "      rows.forEach(function (r) { body.appendChild(r); });\n"
		       "    });\n"
		       "  });\n"
		       "});\n"
		       "</script>\n</body></html>\n");
}

static void csv_num(struct mrl_buf *s, double v)
{
	mrl_buf_add(s, ",");
	if (!isnan(v))
		mrl_buf_addf(s, "%.6g", v);
}

static void csv_text(struct mrl_buf *s, const char *t)
{
	mrl_buf_add(s, ",");
	rpt_esc_csv(s, t ? t : "");
}

static void csv_head(struct mrl_buf *s, const struct board *b)
{
	mrl_buf_add(s, "group,group_settings,rank,model,model_file,model_size_bytes,n,fewshot_k");
	for (size_t k = 0; k < b->n_cols; k++) {
		const char *suffix[] = { "", " ci_low", " ci_high" };
		for (int j = 0; j < 3; j++) {
			struct mrl_buf h;
			mrl_buf_init(&h);
			mrl_buf_addf(&h, "%s/%s %s%s", b->cols[k].task, b->cols[k].language, b->metric, suffix[j]);
			csv_text(s, h.data);
			mrl_buf_release(&h);
		}
	}
	for (size_t l = 0; l < b->n_langs; l++) {
		struct mrl_buf h;
		mrl_buf_init(&h);
		mrl_buf_addf(&h, "avg %s", b->langs[l]);
		csv_text(s, h.data);
		mrl_buf_release(&h);
	}
	mrl_buf_add(s, ",bcms_mean,gap_en_bcms,gap_cyrl_latn,tokens_per_s,joules_per_token,model_sha256,engine_build,"
		       "host,seeds,run\r\n");
}

/* One section: its header line and rows; sections are separated by an empty line. */
static void render_csv(struct mrl_buf *s, const struct board *b)
{
	if (b->group > 1)
		mrl_buf_add(s, "\r\n");
	csv_head(s, b);
	for (size_t i = 0; i < b->n_rows; i++) {
		size_t r = b->order[i];
		const struct rpt_lb_row *row = &b->rows[r];
		mrl_buf_addf(s, "%zu", b->group);
		csv_text(s, row->group_desc);
		mrl_buf_add(s, ",");
		add_rank(s, b, r);
		csv_text(s, row->label);
		csv_text(s, row->model_file);
		mrl_buf_add(s, ",");
		if (row->model_size_bytes >= 0)
			mrl_buf_addf(s, "%lld", (long long)row->model_size_bytes);
		struct mrl_buf n;
		mrl_buf_init(&n);
		add_n(&n, b, r, "; ");
		csv_text(s, n.data);
		mrl_buf_release(&n);
		mrl_buf_add(s, ",");
		if (row->fewshot_k >= 0)
			mrl_buf_addf(s, "%lld", (long long)row->fewshot_k);
		for (size_t k = 0; k < b->n_cols; k++) {
			const struct rpt_lb_cell *c = find_cell(row, b->cols[k].task, b->cols[k].language);
			csv_num(s, c ? c->value : NAN);
			csv_num(s, c ? c->ci_low : NAN);
			csv_num(s, c ? c->ci_high : NAN);
		}
		for (size_t l = 0; l < b->n_langs; l++)
			csv_num(s, b->avg[r * b->n_langs + l]);
		csv_num(s, b->bcms[r]);
		csv_num(s, b->gap_bcms[r]);
		csv_num(s, b->gap_script[r]);
		csv_num(s, row->tokens_per_s);
		csv_num(s, row->joules_per_token);
		csv_text(s, row->model_sha256);
		csv_text(s, row->engine_build);
		csv_text(s, row->host);
		csv_text(s, row->seeds);
		csv_text(s, row->run_dir);
		mrl_buf_add(s, "\r\n");
	}
}

size_t rpt_lb_group_of(const struct rpt_lb_row *rows, size_t i, size_t *n_groups_before)
{
	size_t g = 0;
	for (size_t j = 0; j < i; j++) {
		bool first = true;
		for (size_t k = 0; k < j && first; k++)
			if (!strcmp(rows[k].group ? rows[k].group : "", rows[j].group ? rows[j].group : ""))
				first = false;
		if (!first)
			continue;
		if (!strcmp(rows[j].group ? rows[j].group : "", rows[i].group ? rows[i].group : ""))
			return g;
		g++;
	}
	if (n_groups_before)
		*n_groups_before = g;
	return g;
}

/* One section: the rows of group g (0-based) ranked among themselves. */
static int render_group(struct mrl_buf *s, const struct rpt_lb_row *rows, size_t n_rows, size_t g, size_t n_groups,
			const char *metric, enum rpt_format fmt, struct mrl_err *err)
{
	struct rpt_lb_row *sub = calloc(n_rows + 1, sizeof *sub);
	if (!sub)
		return mrl_err_set(err, MRL_ENOMEM, "leaderboard: out of memory");
	size_t n = 0;
	for (size_t i = 0; i < n_rows; i++)
		if (rpt_lb_group_of(rows, i, NULL) == g)
			sub[n++] = rows[i];
	struct board b = { .rows = sub, .n_rows = n, .metric = metric, .group = g + 1, .n_groups = n_groups };
	b.lower_better = rpt_metric_lower_is_better(metric);
	b.pct = !b.lower_better && !rpt_metric_is_points(metric); /* as unit_words says */
	int rc = board_build(&b, err);
	if (!rc && fmt == RPT_FMT_HTML)
		render_html(s, &b);
	else if (!rc && fmt == RPT_FMT_MD)
		render_md(s, &b);
	else if (!rc)
		render_csv(s, &b);
	board_free(&b);
	free(sub);
	return rc;
}

char *rpt_leaderboard_render(const struct rpt_lb_row *rows, size_t n_rows, const char *metric, int group,
			     enum rpt_format fmt, struct mrl_err *err)
{
	char *out = NULL;
	struct mrl_buf s;
	mrl_buf_init(&s);
	metric = metric ? metric : "acc";
	if (fmt != RPT_FMT_HTML && fmt != RPT_FMT_MD && fmt != RPT_FMT_CSV) {
		mrl_err_set(err, MRL_EINPUT, "leaderboard: output format not available (html, md, csv)");
		goto out;
	}
	size_t n_groups = 0;
	for (size_t i = 0; i < n_rows; i++) {
		size_t before = 0;
		if (rpt_lb_group_of(rows, i, &before) == before && before == n_groups)
			n_groups++;
	}
	if (group < 0 || (size_t)group > n_groups) {
		mrl_err_set(err, MRL_EINPUT, "--group %d: the runs form %zu group%s (1..%zu)", group, n_groups,
			    n_groups == 1 ? "" : "s", n_groups);
		goto out;
	}
	if (fmt == RPT_FMT_HTML)
		html_open(&s, metric);
	else if (fmt == RPT_FMT_MD) {
		mrl_buf_add(&s, "## merilo leaderboard: ");
		rpt_esc_md(&s, metric);
		mrl_buf_addf(&s, "\n\n%zu group%s of comparable runs; each is ranked on its own.\n\n", n_groups,
			     n_groups == 1 ? "" : "s");
	}
	for (size_t g = 0; g < n_groups; g++)
		if ((group == 0 || (size_t)group == g + 1) &&
		    render_group(&s, rows, n_rows, g, n_groups, metric, fmt, err))
			goto out;
	if (fmt == RPT_FMT_HTML)
		html_close(&s, metric);
	else if (fmt == RPT_FMT_MD) {
		mrl_buf_addf(&s, footnotes, unit_words(metric));
		mrl_buf_add(&s, "\n");
	}
	out = mrl_buf_detach(&s, NULL);
	if (!out)
		mrl_err_set(err, MRL_ENOMEM, "leaderboard: out of memory rendering");
out:
	mrl_buf_release(&s);
	return out;
}
