/* leaderboard.c — one table across models: per task x language scores with CIs,
 * per-language averages, the en->BCMS and Cyrillic/Latin gaps, speed, energy, and
 * each row's manifest, as self-contained HTML (sortable), markdown or CSV.
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
	bool pct, lower_better;
	struct col *cols;        /* task x language columns, in first-seen order */
	size_t n_cols;
	const char **langs;      /* languages, first-seen order */
	size_t n_langs;
	double *avg;             /* n_rows x n_langs per-language averages */
	double *gap_bcms, *gap_script, *overall; /* n_rows */
	size_t *order;           /* n_rows, sorted best first */
};

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
	if (!b->cols || !b->langs || !b->gap_bcms || !b->gap_script || !b->overall || !b->order)
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
		b->gap_bcms[r] = n_bcms && !isnan(en) ? en - bcms / (double)n_bcms : NAN;
		b->gap_script[r] = lang_avg(b, r, "sr-Cyrl") - lang_avg(b, r, "sr-Latn");
		b->order[r] = r;
	}
	qsort_r(b->order, b->n_rows, sizeof *b->order, cmp_rows, b);
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

static const char *footnotes =
	"Scores: %s; [low, high] is each run's confidence interval as recorded in its results.json. "
	"Average per language: the mean over the tasks the run has in that language; rows are sorted by the mean of "
	"those averages. en→BCMS gap: the English average minus the mean of the BCMS languages' averages "
	"(sr*, hr, bs, cnr, me); Cyrillic/Latin gap: sr-Cyrl average minus sr-Latn average (positive: Cyrillic "
	"higher). Averages over different task sets are not comparable. "
	"—: not available in that run (tokens/s: the run recorded no throughput; J/token: no energy was measured; "
	"a score: the run has no such task × language).";

static void render_md(struct mrl_buf *s, const struct board *b)
{
	mrl_buf_add(s, "## merilo leaderboard: ");
	rpt_esc_md(s, b->metric);
	mrl_buf_add(s, "\n\n| rank | model |");
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
	mrl_buf_add(s, " en→BCMS gap | Cyrl−Latn gap | tokens/s | J/token | model sha256 | engine build | host | seeds | run |\n|");
	for (size_t k = 0; k < b->n_cols + b->n_langs + 11; k++)
		mrl_buf_add(s, k >= 2 && k < b->n_cols + b->n_langs + 6 ? "---:|" : "---|");
	mrl_buf_add(s, "\n");
	for (size_t i = 0; i < b->n_rows; i++) {
		size_t r = b->order[i];
		const struct rpt_lb_row *row = &b->rows[r];
		mrl_buf_addf(s, "| %zu | ", i + 1);
		add_text(s, row->label, rpt_esc_md);
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
		mrl_buf_add(s, " ");
		add_fig(s, b, b->gap_bcms[r], true);
		mrl_buf_add(s, " | ");
		add_fig(s, b, b->gap_script[r], true);
		mrl_buf_add(s, " | ");
		add_perf(s, row->tokens_per_s, "%.1f");
		mrl_buf_add(s, " | ");
		add_perf(s, row->joules_per_token, "%.3g");
		mrl_buf_add(s, " | ");
		add_sha(s, row->model_sha256, rpt_esc_md);
		add_manifest(s, row, rpt_esc_md, " | ");
		mrl_buf_add(s, " |\n");
	}
	mrl_buf_add(s, "\n");
	mrl_buf_addf(s, footnotes, b->pct ? "percent" : "in the metric's unit (lower is better)");
	mrl_buf_add(s, "\n");
}

static void html_th(struct mrl_buf *s, const char *a, const char *b_)
{
	mrl_buf_add(s, "<th>");
	rpt_esc_html(s, a);
	if (b_) {
		mrl_buf_add(s, "<br>");
		rpt_esc_html(s, b_);
	}
	mrl_buf_add(s, "</th>");
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

static void render_html(struct mrl_buf *s, const struct board *b)
{
	mrl_buf_add(s, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>merilo leaderboard: ");
	rpt_esc_html(s, b->metric);
	mrl_buf_add(s, "</title>\n<style>\n"
		       "body{font-family:sans-serif;margin:1.5em}table{border-collapse:collapse;font-size:13px}\n"
		       "th,td{border:1px solid #bbb;padding:3px 6px;vertical-align:top}th{background:#eee;cursor:pointer}\n"
		       "td.n{text-align:right;white-space:nowrap}p.foot{max-width:60em;font-size:12px;color:#444}\n"
		       "</style></head><body>\n<h1>merilo leaderboard: ");
	rpt_esc_html(s, b->metric);
	mrl_buf_add(s, "</h1>\n<p>Click a column header to sort.</p>\n<table id=\"lb\"><thead><tr><th>rank</th><th>model</th>");
	for (size_t k = 0; k < b->n_cols; k++)
		html_th(s, b->cols[k].task, b->cols[k].language);
	for (size_t l = 0; l < b->n_langs; l++)
		html_th(s, "avg", b->langs[l]);
	mrl_buf_add(s, "<th>en→BCMS<br>gap</th><th>Cyrl−Latn<br>gap</th><th>tokens/s</th><th>J/token</th>"
		       "<th>model sha256</th><th>engine build</th><th>host</th><th>seeds</th><th>run</th></tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < b->n_rows; i++) {
		size_t r = b->order[i];
		const struct rpt_lb_row *row = &b->rows[r];
		mrl_buf_addf(s, "<tr><td class=\"n\" data-v=\"%zu\">%zu</td><td>", i + 1, i + 1);
		add_text(s, row->label, rpt_esc_html);
		mrl_buf_add(s, "</td>");
		for (size_t k = 0; k < b->n_cols; k++) {
			const struct rpt_lb_cell *c = find_cell(row, b->cols[k].task, b->cols[k].language);
			html_num_open(s, c ? c->value : NAN);
			add_cell(s, b, c);
			mrl_buf_add(s, "</td>");
		}
		for (size_t l = 0; l < b->n_langs; l++)
			html_fig(s, b, b->avg[r * b->n_langs + l], false);
		html_fig(s, b, b->gap_bcms[r], true);
		html_fig(s, b, b->gap_script[r], true);
		html_perf(s, row->tokens_per_s, "%.1f");
		html_perf(s, row->joules_per_token, "%.3g");
		mrl_buf_add(s, "<td><code>");
		add_sha(s, row->model_sha256, rpt_esc_html);
		mrl_buf_add(s, "</code>");
		add_manifest(s, row, rpt_esc_html, "</td><td>");
		mrl_buf_add(s, "</td></tr>\n");
	}
	mrl_buf_add(s, "</tbody></table>\n<p class=\"foot\">");
	struct mrl_buf f;
	mrl_buf_init(&f);
	mrl_buf_addf(&f, footnotes, b->pct ? "percent" : "in the metric's unit (lower is better)");
	rpt_esc_html(s, f.data);
	if (f.oom)
		s->oom = true;
	mrl_buf_release(&f);
	/* Sorting: numeric by data-v where both cells have one, else by text; a
	 * second click reverses. No data is interpolated into the script. */
	mrl_buf_add(s, "</p>\n<script>\n"
		       "document.querySelectorAll('#lb thead th').forEach(function (th, col) {\n"
		       "  th.addEventListener('click', function () {\n"
		       "    var body = document.querySelector('#lb tbody'), rows = Array.from(body.rows);\n"
		       "    var asc = th.dataset.asc !== '1'; th.dataset.asc = asc ? '1' : '0';\n"
		       "    rows.sort(function (a, b) {\n"
		       "      var x = parseFloat(a.cells[col].dataset.v), y = parseFloat(b.cells[col].dataset.v);\n"
		       "      var d = (!isNaN(x) && !isNaN(y)) ? x - y : (isNaN(x) ? 1 : 0) - (isNaN(y) ? 1 : 0) ||\n"
		       "              a.cells[col].textContent.localeCompare(b.cells[col].textContent);\n"
		       "      return asc ? d : -d;\n"
		       "    });\n"
		       "    rows.forEach(function (r) { body.appendChild(r); });\n"
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

static void render_csv(struct mrl_buf *s, const struct board *b)
{
	mrl_buf_add(s, "rank,model");
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
	mrl_buf_add(s, ",gap_en_bcms,gap_cyrl_latn,tokens_per_s,joules_per_token,model_sha256,engine_build,host,seeds,run\r\n");
	for (size_t i = 0; i < b->n_rows; i++) {
		size_t r = b->order[i];
		const struct rpt_lb_row *row = &b->rows[r];
		mrl_buf_addf(s, "%zu", i + 1);
		csv_text(s, row->label);
		for (size_t k = 0; k < b->n_cols; k++) {
			const struct rpt_lb_cell *c = find_cell(row, b->cols[k].task, b->cols[k].language);
			csv_num(s, c ? c->value : NAN);
			csv_num(s, c ? c->ci_low : NAN);
			csv_num(s, c ? c->ci_high : NAN);
		}
		for (size_t l = 0; l < b->n_langs; l++)
			csv_num(s, b->avg[r * b->n_langs + l]);
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

char *rpt_leaderboard_render(const struct rpt_lb_row *rows, size_t n_rows, const char *metric, enum rpt_format fmt,
			     struct mrl_err *err)
{
	char *out = NULL;
	struct mrl_buf s;
	mrl_buf_init(&s);
	struct board b = { .rows = rows, .n_rows = n_rows, .metric = metric ? metric : "acc" };
	b.lower_better = rpt_metric_lower_is_better(b.metric);
	b.pct = !b.lower_better;
	if (fmt != RPT_FMT_HTML && fmt != RPT_FMT_MD && fmt != RPT_FMT_CSV) {
		mrl_err_set(err, MRL_EINPUT, "leaderboard: output format not available (html, md, csv)");
		goto out;
	}
	if (board_build(&b, err))
		goto out;
	if (fmt == RPT_FMT_HTML)
		render_html(&s, &b);
	else if (fmt == RPT_FMT_MD)
		render_md(&s, &b);
	else
		render_csv(&s, &b);
	out = mrl_buf_detach(&s, NULL);
	if (!out)
		mrl_err_set(err, MRL_ENOMEM, "leaderboard: out of memory rendering");
out:
	mrl_buf_release(&s);
	board_free(&b);
	return out;
}
