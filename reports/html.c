/* html.c — the run report as report.html and report.md.
 *
 * report.html is one self-contained page: plain HTML with its CSS inline, no
 * script, no fonts or files from the network, and the images (drawn by plot.c)
 * inside it: each SVG inline (its element ids prefixed with the plot's name, so
 * that nine gnuplot SVGs do not share ids), or a PNG as a data: URI where no SVG
 * was drawn; the file alone can be mailed or attached to a CI job. The image
 * files, scripts and data stay next to it and are linked. report.md holds the
 * same tables and links the image files, for a pull-request comment or a wiki.
 *
 * Every string that comes from the runs (names of models, tasks, languages,
 * paths, notes) is escaped through reports/escape.c: a model called
 * <script>alert(1)</script> shows as text. Numbers are formatted here. A plot
 * that was not drawn (no gnuplot) is replaced by a box saying why and where its
 * script is, and the tables carry every number of the plots anyway.
 */
#include "reports/html_int.h"
#include "reports/rpt.h"

#include "common/fileio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------- escaping */

/* Write s escaped by esc (reports/escape.c) to f. */
static void put_escaped(FILE *f, const char *s, void (*esc)(struct mrl_buf *, const char *))
{
	struct mrl_buf buf;
	mrl_buf_init(&buf);
	esc(&buf, s ? s : "");
	if (buf.oom)
		fputc('\0', f); /* out of memory: a NUL (never in the text otherwise) that write_one reports */
	else if (buf.len)
		fwrite(buf.data, 1, buf.len, f);
	mrl_buf_release(&buf);
}

/* HTML text or attribute value. */
static void h(FILE *f, const char *s)
{
	put_escaped(f, s, rpt_esc_html);
}

/* pre, then s escaped for HTML, then post (pre and post are markup, written as they are). */
static void h_wrap(FILE *f, const char *pre, const char *s, const char *post)
{
	fputs(pre, f);
	h(f, s);
	fputs(post, f);
}

/* Markdown inline text or table cell. */
static void m(FILE *f, const char *s)
{
	put_escaped(f, s, rpt_esc_md);
}

/* ------------------------------------------------------------- numbers */

/* v * scale printed with fmt, or "n/a" where v is not finite. */
static void num_scaled(char *buf, size_t size, const char *fmt, double scale, double v)
{
	if (isfinite(v))
		snprintf(buf, size, fmt, v * scale);
	else
		snprintf(buf, size, "n/a");
}

/* A range [lo, hi] times scale printed with fmt (two conversions), or "n/a" unless both ends are finite. */
static void range_scaled(char *buf, size_t size, const char *fmt, double scale, double lo, double hi)
{
	if (isfinite(lo) && isfinite(hi))
		snprintf(buf, size, fmt, lo * scale, hi * scale);
	else
		snprintf(buf, size, "n/a");
}

/* A fraction as a percentage "61.2", or "n/a". */
static void pct(char *buf, size_t size, double v)
{
	num_scaled(buf, size, "%.1f", 100, v);
}

/* A CI of fractions in %: "[55.1, 67.0]" or "n/a". */
static void pct_ci(char *buf, size_t size, double lo, double hi)
{
	range_scaled(buf, size, "[%.1f, %.1f]", 100, lo, hi);
}

/* A metric value: fractions (accuracy-type metrics) in %, others as they are. */
static bool is_fraction_metric(const char *metric)
{
	return metric && (!strcmp(metric, "acc") || !strcmp(metric, "acc_norm") || !strcmp(metric, "exact_match") ||
			  !strncmp(metric, "acc_", 4) || !strcmp(metric, "f1") || !strcmp(metric, "rouge_l") ||
			  !strcmp(metric, "contains") || !strcmp(metric, "script_ok") || !strcmp(metric, "lang_ok"));
}

static void metric_value(char *buf, size_t size, const char *metric, double v)
{
	if (is_fraction_metric(metric))
		pct(buf, size, v);
	else
		num_scaled(buf, size, "%.4g", 1, v);
}

static void metric_ci(char *buf, size_t size, const char *metric, double lo, double hi)
{
	if (is_fraction_metric(metric))
		pct_ci(buf, size, lo, hi);
	else
		range_scaled(buf, size, "[%.4g, %.4g]", 1, lo, hi);
}

/* A difference of fractions in signed percentage points "+3.1", and its CI. */
static void pp(char *buf, size_t size, double v)
{
	num_scaled(buf, size, "%+.1f", 100, v);
}

static void pp_ci(char *buf, size_t size, double lo, double hi)
{
	range_scaled(buf, size, "[%+.1f, %+.1f]", 100, lo, hi);
}

static void pval(char *buf, size_t size, double p)
{
	if (!isfinite(p))
		snprintf(buf, size, "n/a");
	else if (p < 0.0001)
		snprintf(buf, size, "%.1e", p);
	else
		snprintf(buf, size, "%.4f", p);
}

static void num(char *buf, size_t size, double v, const char *fmt)
{
	num_scaled(buf, size, fmt, 1, v);
}

static void count(char *buf, size_t size, int64_t v)
{
	if (v >= 0)
		snprintf(buf, size, "%lld", (long long)v);
	else
		snprintf(buf, size, "n/a");
}

static const char *run_label(const struct rpt_input *in, size_t run)
{
	return run < in->n_runs && in->runs[run].label ? in->runs[run].label : "?";
}

static const char *kind_name(enum rpt_gap_kind k)
{
	return rpt_gap_kind_name(k);
}

static const struct rpt_plot *find_plot(const struct rpt_plots *plots, const char *name)
{
	for (size_t i = 0; plots && i < plots->n; i++)
		if (!strcmp(plots->plot[i].name, name))
			return &plots->plot[i];
	return NULL;
}

/* Whether the runs had generate tasks to plot (plot_gen.c). */
static bool has_gen_plots(const struct rpt_plots *plots)
{
	return find_plot(plots, "generation") || find_plot(plots, "script-lang") || find_plot(plots, "generation-gap");
}

/* The text of one bench row; the HTML and markdown tables print the same. */
struct bench_text {
	char prompt[32], gen[32], threads[32], prefill_tps[32], decode_tps[32], prefill_j[32], decode_j[32];
};

/* Joules per token printed with "%.4g", or "not measured". */
static void joules(char *buf, size_t size, double v)
{
	if (isfinite(v))
		snprintf(buf, size, "%.4g", v);
	else
		snprintf(buf, size, "not measured");
}

static void bench_text(struct bench_text *t, const struct rpt_bench_point *p)
{
	count(t->prompt, sizeof t->prompt, p->n_prompt);
	count(t->gen, sizeof t->gen, p->n_gen);
	count(t->threads, sizeof t->threads, p->threads);
	num(t->prefill_tps, sizeof t->prefill_tps, p->prefill_tps, "%.1f");
	num(t->decode_tps, sizeof t->decode_tps, p->decode_tps, "%.2f");
	joules(t->prefill_j, sizeof t->prefill_j, p->prefill_j_per_token);
	joules(t->decode_j, sizeof t->decode_j, p->decode_j_per_token);
}

/* The text of one scoring-speed row; energy is NULL where not measured (the
 * record's reason, if any, is then in p->energy_null_reason). */
struct perf_text {
	char items[32], tps[32], ms_median[32], ms_p90[32], energy_buf[64];
	const char *energy;
};

static void perf_text(struct perf_text *t, const struct rpt_perf *p)
{
	count(t->items, sizeof t->items, p->n_items);
	num(t->tps, sizeof t->tps, p->tokens_per_s, "%.1f");
	num(t->ms_median, sizeof t->ms_median, p->item_ms_median, "%.2f");
	num(t->ms_p90, sizeof t->ms_p90, p->item_ms_p90, "%.2f");
	num(t->energy_buf, sizeof t->energy_buf, p->energy_per_item_j, "%.4g");
	t->energy = isfinite(p->energy_per_item_j) ? t->energy_buf : NULL;
}

/* The text of one gap row (pp and p-value formatting shared by both tables). */
struct gap_text {
	char diff[32], ci[64], pairs[32], b[32], c[32], p[32];
};

static void gap_text(struct gap_text *t, const struct rpt_gap *g)
{
	if (is_fraction_metric(g->metric)) {
		pp(t->diff, sizeof t->diff, g->diff);
		pp_ci(t->ci, sizeof t->ci, g->ci_low, g->ci_high);
	} else { /* chrF, BLEU (0-100 points), perplexity: in the metric's own units */
		num_scaled(t->diff, sizeof t->diff, "%+.2f", 1, g->diff);
		range_scaled(t->ci, sizeof t->ci, "[%+.2f, %+.2f]", 1, g->ci_low, g->ci_high);
	}
	count(t->pairs, sizeof t->pairs, g->n_pairs);
	count(t->b, sizeof t->b, g->mcnemar_b);
	count(t->c, sizeof t->c, g->mcnemar_c);
	pval(t->p, sizeof t->p, g->mcnemar_p);
}

/* ------------------------------------------------------------------ HTML */

static const char css[] =
	"body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif;margin:0;color:#1d2125;"
	"background:#fff;line-height:1.45}\n"
	"main{max-width:1280px;margin:0 auto;padding:1.5rem 2rem 4rem}\n"
	"h1{font-size:1.7rem;margin:.2rem 0 .3rem}h2{font-size:1.3rem;margin-top:2.4rem;border-bottom:2px solid #e3e6ea;"
	"padding-bottom:.25rem}h3{font-size:1.05rem;margin-top:1.6rem}\n"
	".sub{color:#59636e;margin:0 0 1rem}\n"
	"nav{background:#f4f6f8;border:1px solid #e3e6ea;border-radius:6px;padding:.5rem 1rem;margin:1rem 0}\n"
	"nav a{margin-right:1.2rem}\n"
	"a{color:#0b5cad}\n"
	"table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:.9rem;font-variant-numeric:tabular-nums;"
	"display:block;overflow-x:auto;max-width:100%}\n"
	"th,td{border:1px solid #dde1e5;padding:.28rem .55rem;text-align:left;vertical-align:top}\n"
	"th{background:#f4f6f8;font-weight:600}\n"
	"td.n{text-align:right;white-space:nowrap}td.n small{color:#59636e}\n"
	"tr.sig td{background:#fff6e5}\n"
	"figure{margin:1rem 0 1.6rem}figure img,figure .svg svg{max-width:100%;height:auto;border:1px solid #e3e6ea}\n"
	"figure .svg svg{display:block}\n"
	"figcaption{color:#3c454f;font-size:.92rem;max-width:1000px;margin-top:.4rem}\n"
	".warn{background:#fff4e0;border:1px solid #f0b44c;border-radius:6px;padding:.6rem 1rem;margin:1rem 0}\n"
	".missing{background:#f6f7f9;border:1px dashed #b3bac2;padding:1.2rem;color:#444;max-width:960px}\n"
	"code{background:#f1f3f5;padding:0 .25rem;border-radius:3px;word-break:break-all}\n"
	"footer{margin-top:3rem;color:#6a737d;font-size:.85rem}\n";

/* The image file DIR/NAME.EXT whole (malloc'd), or NULL where it cannot be read. */
static char *read_image(const struct rpt_plots *plots, const char *name, const char *ext, size_t *len)
{
	char path[4200], *data = NULL;
	struct mrl_err err = { 0 };
	if (!plots->dir[0] || (size_t)snprintf(path, sizeof path, "%s/%s.%s", plots->dir, name, ext) >= sizeof path ||
	    mrl_read_file(path, (size_t)64 << 20, &data, len, &err))
		return NULL;
	return data;
}

/* gnuplot's SVG inline: from <svg on (no XML prolog), without the xmlns
 * attributes, every id and #reference that gnuplot starts with "gp" (and its
 * canvas id) prefixed with the plot's name. */
static bool inline_svg(FILE *f, const struct rpt_plots *plots, const char *name)
{
	size_t len;
	char *svg = read_image(plots, name, "svg", &len);
	const char *s = svg ? strstr(svg, "<svg") : NULL;
	if (!s) {
		free(svg);
		return false;
	}
	fputs("<div class=\"svg\">", f);
	static const char *const ns[] = { " xmlns=\"http://www.w3.org/2000/svg\"",
					  " xmlns:xlink=\"http://www.w3.org/1999/xlink\"" };
	for (; *s; s++) {
		size_t skip = 0; /* HTML gives inline <svg> its namespaces: no URL in the page */
		for (size_t k = 0; k < 2 && !skip; k++)
			skip = strncmp(s, ns[k], strlen(ns[k])) ? 0 : strlen(ns[k]);
		if (skip)
			s += skip - 1;
		else if (!strncmp(s, "id='gp", 6) || !strncmp(s, "id=\"gp", 6) || !strncmp(s, "id=\"gnuplot_", 12)) {
			fprintf(f, "id=%c%s-", s[3], name);
			s += 3;
		} else if (!strncmp(s, "#gp", 3) || !strncmp(s, "#gnuplot_", 9)) {
			fprintf(f, "#%s-", name);
		} else {
			fputc(*s, f);
		}
	}
	fputs("</div>\n", f);
	free(svg);
	return true;
}

/* A PNG as an <img> with a data: URI (base64). */
static bool inline_png(FILE *f, const struct rpt_plots *plots, const struct rpt_plot *p)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len;
	unsigned char *png = (unsigned char *)read_image(plots, p->name, "png", &len);
	if (!png)
		return false;
	fputs("<img src=\"data:image/png;base64,", f);
	for (size_t i = 0; i < len; i += 3) {
		const unsigned v = (unsigned)png[i] << 16 | (i + 1 < len ? (unsigned)png[i + 1] << 8 : 0) |
				   (i + 2 < len ? png[i + 2] : 0);
		fputc(b64[v >> 18 & 63], f);
		fputc(b64[v >> 12 & 63], f);
		fputc(i + 1 < len ? b64[v >> 6 & 63] : '=', f);
		fputc(i + 2 < len ? b64[v & 63] : '=', f);
	}
	h_wrap(f, "\" alt=\"", p->title, "\">\n");
	free(png);
	return true;
}

static void html_figure(FILE *f, const struct rpt_plots *plots, const char *name)
{
	const struct rpt_plot *p = find_plot(plots, name);
	if (!p)
		return;
	fputs("<figure>\n", f);
	if ((p->svg && inline_svg(f, plots, p->name)) || (p->png && inline_png(f, plots, p))) {
		/* embedded */
	} else if (p->png || p->svg) { /* the file could not be read back: link it */
		fprintf(f, "<img src=\"%s.%s\" alt=\"", p->name, p->png ? "png" : "svg");
		h(f, p->title);
		fputs("\">\n", f);
	} else {
		h_wrap(f, "<div class=\"missing\"><strong>", p->title, ":</strong> not drawn");
		if (plots->status[0])
			h_wrap(f, " (", plots->status, ")");
		fprintf(f, ". The numbers are in the table below; draw it with <code>gnuplot %s.gp</code> in this folder.</div>\n",
			p->name);
	}
	h_wrap(f, "<figcaption>", p->caption, " Files: ");
	if (p->svg)
		fprintf(f, "<a href=\"%s.svg\">SVG</a>, ", p->name);
	if (p->png)
		fprintf(f, "<a href=\"%s.png\">PNG</a>, ", p->name);
	fprintf(f, "<a href=\"%s.gp\">gnuplot script</a>, <a href=\"%s.dat\">data</a>.</figcaption>\n</figure>\n", p->name,
		p->name);
}

static void td(FILE *f, const char *s)
{
	h_wrap(f, "<td>", s, "</td>");
}

static void td_n(FILE *f, const char *s)
{
	h_wrap(f, "<td class=\"n\">", s, "</td>");
}

static void html_runs(FILE *f, const struct rpt_input *in)
{
	char b1[64], b2[64], b3[64];
	fputs("<table>\n<tr><th>run</th><th>folder</th><th>model</th><th>model SHA-256</th><th>suite</th><th>engine</th>"
	      "<th>merilo commit</th><th>host</th><th>threads</th><th>seed</th><th>started (UTC)</th><th>item lines</th>"
	      "</tr>\n", f);
	for (size_t r = 0; r < in->n_runs; r++) {
		const struct rpt_run *run = &in->runs[r];
		char sha[16] = "n/a";
		if (run->model_sha256)
			snprintf(sha, sizeof sha, "%.12s", run->model_sha256);
		count(b1, sizeof b1, run->threads);
		count(b2, sizeof b2, run->seed);
		count(b3, sizeof b3, run->n_item_lines);
		fputs("<tr>", f);
		td(f, run->label);
		td(f, run->dir);
		fputs("<td>", f);
		h(f, run->model_name ? run->model_name : run->model_path ? run->model_path : "n/a");
		if (run->model_name && run->model_path) {
			h_wrap(f, "<br><small>", run->model_path, "</small>");
		}
		fputs("</td>", f);
		h_wrap(f, "<td><code title=\"", run->model_sha256 ? run->model_sha256 : "", "\">");
		h(f, sha);
		fputs("</code></td><td>", f);
		h(f, run->suite_name ? run->suite_name : "n/a");
		if (run->suite_version) {
			fputs(" ", f);
			h(f, run->suite_version);
		}
		if (run->items)
			h_wrap(f, "<br><small>", run->items, "</small>");
		fputs("</td>", f);
		td(f, run->engine ? run->engine : "n/a");
		td(f, run->git_commit ? run->git_commit : "n/a");
		td(f, run->host ? run->host : "n/a");
		td_n(f, b1);
		td_n(f, b2);
		td(f, run->started_utc ? run->started_utc : "n/a");
		td_n(f, b3);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
	for (size_t r = 0; r < in->n_runs; r++)
		if (in->runs[r].note) {
			h_wrap(f, "<p class=\"warn\">", in->runs[r].label, ": ");
			h(f, in->runs[r].note);
			fputs("</p>\n", f);
		}
}

/* The scores as a table: one row per (run, task, metric), one column per
 * language (in order of first appearance). */
struct pivot {
	const char **langs;
	size_t n_langs;
	size_t *row_first;  /* index into in->scores of each row's first score */
	size_t n_rows;
};

static bool same_row(const struct rpt_score *a, const struct rpt_score *b)
{
	return a->run == b->run && !strcmp(a->task ? a->task : "", b->task ? b->task : "") &&
	       !strcmp(a->metric ? a->metric : "", b->metric ? b->metric : "");
}

/* The pivot of the n scores v: 0, or -1 when out of memory. */
static int pivot_build(const struct rpt_score *v, size_t n, struct pivot *p)
{
	memset(p, 0, sizeof *p);
	p->langs = calloc(n + 1, sizeof *p->langs);
	p->row_first = calloc(n + 1, sizeof *p->row_first);
	if (!p->langs || !p->row_first)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct rpt_score *s = &v[i];
		const char *lang = s->language ? s->language : "?";
		size_t l, r;
		for (l = 0; l < p->n_langs && strcmp(p->langs[l], lang); l++)
			;
		if (l == p->n_langs)
			p->langs[p->n_langs++] = lang;
		for (r = 0; r < p->n_rows && !same_row(&v[p->row_first[r]], s); r++)
			;
		if (r == p->n_rows)
			p->row_first[p->n_rows++] = i;
	}
	return 0;
}

static void pivot_release(struct pivot *p)
{
	free(p->langs);
	free(p->row_first);
	memset(p, 0, sizeof *p);
}

/* The score of row r in language l among the n scores v, or NULL. */
static const struct rpt_score *pivot_cell(const struct rpt_score *v, size_t n, const struct pivot *p, size_t r,
					  size_t l)
{
	const struct rpt_score *first = &v[p->row_first[r]];
	for (size_t i = p->row_first[r]; i < n; i++)
		if (same_row(&v[i], first) && !strcmp(v[i].language ? v[i].language : "?", p->langs[l]))
			return &v[i];
	return NULL;
}

/* "n" of a row: the common n of its languages, or -1 when they differ. */
static int64_t pivot_n(const struct rpt_score *v, size_t n_v, const struct pivot *p, size_t r)
{
	int64_t n = -2;
	for (size_t l = 0; l < p->n_langs; l++) {
		const struct rpt_score *s = pivot_cell(v, n_v, p, r, l);
		if (s)
			n = n == -2 || n == s->n ? s->n : -1;
	}
	return n < 0 ? -1 : n;
}

/* "61.2 [55.1, 67.0]" for a cell. */
static void cell_text(char *buf, size_t size, const struct rpt_score *s)
{
	char v[32], ci[64];
	if (!s) {
		snprintf(buf, size, "—");
		return;
	}
	metric_value(v, sizeof v, s->metric, s->value);
	metric_ci(ci, sizeof ci, s->metric, s->ci_low, s->ci_high);
	snprintf(buf, size, "%s %s", v, isfinite(s->ci_low) ? ci : "");
}

/* The n scores v as a table (the aggregates, or the breakdowns). */
static void html_scores(FILE *f, const struct rpt_input *in, const struct rpt_score *v, size_t n_v)
{
	if (!n_v) {
		fputs("<p>No aggregate scores in these runs.</p>\n", f);
		return;
	}
	struct pivot p;
	if (pivot_build(v, n_v, &p)) {
		fputc('\0', f); /* out of memory: write_one reports it */
		pivot_release(&p);
		return;
	}
	fputs("<p>Every metric of every task: the estimate and its confidence interval [low, high]; accuracy-type "
	      "metrics in %, perplexity and bits per byte/character as they are (lower is better).</p>\n", f);
	fputs("<table>\n<tr><th>run</th><th>task</th><th>metric</th><th>n</th>", f);
	for (size_t l = 0; l < p.n_langs; l++) {
		h_wrap(f, "<th>", p.langs[l], "</th>");
	}
	fputs("</tr>\n", f);
	for (size_t r = 0; r < p.n_rows; r++) {
		const struct rpt_score *first = &v[p.row_first[r]];
		char n[32], cell[128];
		count(n, sizeof n, pivot_n(v, n_v, &p, r));
		fputs("<tr>", f);
		td(f, run_label(in, first->run));
		td(f, first->task);
		fputs("<td>", f);
		h(f, first->metric);
		if (is_fraction_metric(first->metric))
			fputs(" (%)", f);
		fputs("</td>", f);
		td_n(f, n);
		for (size_t l = 0; l < p.n_langs; l++) {
			const struct rpt_score *sc = pivot_cell(v, n_v, &p, r, l);
			char ci[64];
			if (!sc) {
				td_n(f, "—");
				continue;
			}
			metric_value(cell, sizeof cell, sc->metric, sc->value);
			metric_ci(ci, sizeof ci, sc->metric, sc->ci_low, sc->ci_high);
			fputs("<td class=\"n\">", f);
			h(f, cell);
			if (isfinite(sc->ci_low)) {
				h_wrap(f, "<br><small>", ci, "</small>");
			}
			fputs("</td>", f);
		}
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
	pivot_release(&p);
}

static void html_gaps(FILE *f, const struct rpt_input *in)
{
	if (!in->n_gaps) {
		fputs("<p>No paired comparisons between languages in these runs.</p>\n", f);
		return;
	}
	fputs("<p>Differences A &minus; B in percentage points over the items present in both languages (chrF and BLEU: "
	      "in their 0-100 points); "
	      "b = items right in A only, c = right in B only; exact two-sided McNemar p, not corrected for the number "
	      "of rows. Highlighted: p &lt; 0.05.</p>\n", f);
	fputs("<table>\n<tr><th>run</th><th>task</th><th>kind</th><th>A &minus; B</th><th>metric</th><th>pairs</th>"
	      "<th>diff (pp)</th><th>CI (pp)</th><th>b</th><th>c</th><th>McNemar p</th></tr>\n", f);
	for (size_t i = 0; i < in->n_gaps; i++) {
		struct rpt_gap g;
		enum rpt_gap_kind k = rpt_gap_orient(&in->gaps[i], &g);
		struct gap_text t;
		gap_text(&t, &g);
		fputs(isfinite(g.mcnemar_p) && g.mcnemar_p < 0.05 ? "<tr class=\"sig\">" : "<tr>", f);
		td(f, run_label(in, g.run));
		td(f, g.task);
		td(f, kind_name(k));
		h_wrap(f, "<td>", g.language_a, " &minus; ");
		h(f, g.language_b);
		fputs("</td>", f);
		td(f, g.metric);
		td_n(f, t.pairs);
		td_n(f, t.diff);
		td_n(f, t.ci);
		td_n(f, t.b);
		td_n(f, t.c);
		td_n(f, t.p);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

static void html_bench(FILE *f, const struct rpt_input *in)
{
	fputs("<table>\n<tr><th>run</th><th>prompt tokens</th><th>generated tokens</th><th>threads</th>"
	      "<th>prefill (tokens/s)</th><th>decode (tokens/s)</th><th>prefill (J/token)</th><th>decode (J/token)</th>"
	      "</tr>\n", f);
	for (size_t i = 0; i < in->n_bench; i++) {
		const struct rpt_bench_point *p = &in->bench[i];
		struct bench_text t;
		bench_text(&t, p);
		fputs("<tr>", f);
		td(f, run_label(in, p->run));
		td_n(f, t.prompt);
		td_n(f, t.gen);
		td_n(f, t.threads);
		td_n(f, t.prefill_tps);
		td_n(f, t.decode_tps);
		td_n(f, t.prefill_j);
		td_n(f, t.decode_j);
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
}

/* A row's energy cell when energy is null: a short reason as is ("measured per
 * task (row 'all')"), a long one as "n/a", said once below the table by
 * energy_notes. */
#define ENERGY_CELL_MAX 40
static const char *energy_cell(const struct rpt_perf *p)
{
	const char *r = p->energy_null_reason ? p->energy_null_reason : "not measured";
	return strlen(r) <= ENERGY_CELL_MAX ? r : "n/a (below)";
}

/* Each distinct long reason for a null energy figure, once: in HTML (md false)
 * or markdown. */
static void energy_notes(FILE *f, const struct rpt_input *in, bool md)
{
	for (size_t i = 0; i < in->n_perf; i++) {
		const char *r = in->perf[i].energy_null_reason;
		if (!isnan(in->perf[i].energy_per_item_j) || !r || strlen(r) <= ENERGY_CELL_MAX)
			continue;
		bool dup = false;
		for (size_t k = 0; k < i && !dup; k++)
			dup = isnan(in->perf[k].energy_per_item_j) && in->perf[k].energy_null_reason &&
			      !strcmp(in->perf[k].energy_null_reason, r);
		if (dup)
			continue;
		if (md) {
			fputs("Energy per item not measured: ", f);
			m(f, r);
			fputs("\n\n", f);
		} else {
			h_wrap(f, "<p>Energy per item not measured: ", r, "</p>\n");
		}
	}
}

static void html_perf(FILE *f, const struct rpt_input *in)
{
	fputs("<table>\n<tr><th>run</th><th>task</th><th>language</th><th>items</th><th>tokens/s</th>"
	      "<th>median ms/item</th><th>p90 ms/item</th><th>energy per item (J)</th></tr>\n", f);
	for (size_t i = 0; i < in->n_perf; i++) {
		const struct rpt_perf *p = &in->perf[i];
		struct perf_text t;
		perf_text(&t, p);
		fputs("<tr>", f);
		td(f, run_label(in, p->run));
		td(f, p->task);
		td(f, p->language);
		td_n(f, t.items);
		td_n(f, t.tps);
		td_n(f, t.ms_median);
		td_n(f, t.ms_p90);
		if (t.energy)
			td_n(f, t.energy);
		else
			td(f, energy_cell(p));
		fputs("</tr>\n", f);
	}
	fputs("</table>\n", f);
	energy_notes(f, in, false);
}

static void write_html(FILE *f, const struct rpt_input *in, const struct rpt_plots *plots)
{
	const char *title = in->title ? in->title : "merilo report";
	fputs("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
	      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>", f);
	h(f, title);
	fprintf(f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n<main>\n<h1>", css);
	h(f, title);
	fprintf(f, "</h1>\n<p class=\"sub\">%zu run%s; accuracies in %%, differences in percentage points (pp).</p>\n",
		in->n_runs, in->n_runs == 1 ? "" : "s");
	fprintf(f, "<nav><a href=\"#runs\">Runs</a><a href=\"#accuracy\">Accuracy</a><a href=\"#gaps\">Language and "
		"script gaps</a>%s<a href=\"#performance\">Performance</a></nav>\n",
		has_gen_plots(plots) ? "<a href=\"#generation\">Generate tasks</a>" : "");
	if (plots && plots->status[0]) {
		h_wrap(f, "<p class=\"warn\"><strong>Plots:</strong> ", plots->status, "</p>\n");
	}
	fputs("<h2 id=\"runs\">Runs</h2>\n", f);
	html_runs(f, in);
	fputs("<h2 id=\"accuracy\">Accuracy per task and language</h2>\n", f);
	html_figure(f, plots, "accuracy");
	html_scores(f, in, in->scores, in->n_scores);
	if (in->n_breakdowns) {
		fputs("<h3>By field</h3>\n<p>Each task with a <code>breakdown</code> field, its first metric per value.</p>\n", f);
		html_scores(f, in, in->breakdowns, in->n_breakdowns);
	}
	fputs("<h2 id=\"gaps\">Language and script gaps</h2>\n", f);
	html_figure(f, plots, "language-gap");
	html_figure(f, plots, "script-gap");
	html_gaps(f, in);
	if (has_gen_plots(plots)) { /* their numbers are in the tables above */
		fputs("<h2 id=\"generation\">Generate tasks</h2>\n", f);
		html_figure(f, plots, "generation");
		html_figure(f, plots, "script-lang");
		html_figure(f, plots, "generation-gap");
	}
	fputs("<h2 id=\"performance\">Performance</h2>\n", f);
	html_figure(f, plots, "item-time");
	if (in->n_perf) {
		fputs("<h3>Scoring speed</h3>\n<p>From the runs' performance records: tokens the forward pass computed per "
		      "second of scoring, time per item, and energy per item where an energy source was available.</p>\n", f);
		html_figure(f, plots, "speed");
		html_perf(f, in);
	}
	if (in->n_bench || in->n_ttft || in->n_tpot || in->n_scenarios) {
		fputs("<h3>Bench</h3>\n", f);
		html_figure(f, plots, "ttft");
		html_figure(f, plots, "tpot");
		html_figure(f, plots, "throughput-prompt");
		html_figure(f, plots, "throughput-threads");
		html_figure(f, plots, "energy");
		if (in->n_bench)
			html_bench(f, in);
		rpt_scenario_table(f, in, false);
	} else {
		fputs("<h3>Bench</h3>\n<p class=\"missing\">No bench data in these runs", f);
		if (in->bench_note) {
			fputs(": ", f);
			h(f, in->bench_note);
		}
		fputs(". Latency (TTFT, TPOT), throughput and energy plots need <code>merilo bench</code> records.</p>\n", f);
	}
	fputs("<footer>Written by <code>merilo report</code>. Every plot has its gnuplot script (.gp) and data (.dat) "
	      "in this folder; the statistics are described in docs/statistics.md, this page in docs/reports.md."
	      "</footer>\n</main>\n</body>\n</html>\n", f);
}

/* -------------------------------------------------------------- markdown */

static void md_figure(FILE *f, const struct rpt_plots *plots, const char *name)
{
	const struct rpt_plot *p = find_plot(plots, name);
	if (!p)
		return;
	if (p->png || p->svg) {
		fputs("![", f);
		m(f, p->title);
		fprintf(f, "](%s.%s)\n\n", p->name, p->png ? "png" : "svg");
	} else {
		fputs("> **", f);
		m(f, p->title);
		fprintf(f, "**: not drawn; draw it with `gnuplot %s.gp` in this folder.\n\n", p->name);
	}
	m(f, p->caption);
	fprintf(f, " Files: [script](%s.gp), [data](%s.dat).\n\n", p->name, p->name);
}

/* "| a | b |" without the newline, so that more cells can follow. */
static void md_row_open(FILE *f, const char *const *cells, size_t n)
{
	fputs("|", f);
	for (size_t i = 0; i < n; i++) {
		fputs(" ", f);
		m(f, cells[i] ? cells[i] : "n/a");
		fputs(" |", f);
	}
}

static void md_row(FILE *f, const char *const *cells, size_t n)
{
	md_row_open(f, cells, n);
	fputs("\n", f);
}

/* The runs table, then each run's note. */
static void md_runs(FILE *f, const struct rpt_input *in)
{
	fputs("## Runs\n\n| run | folder | model | model SHA-256 | suite | engine | merilo commit | host | threads | seed "
	      "| started (UTC) | item lines |\n|---|---|---|---|---|---|---|---|---:|---:|---|---:|\n", f);
	for (size_t r = 0; r < in->n_runs; r++) {
		const struct rpt_run *run = &in->runs[r];
		char sha[16] = "n/a", t[32], s[32], lines[32];
		if (run->model_sha256)
			snprintf(sha, sizeof sha, "%.12s", run->model_sha256);
		count(t, sizeof t, run->threads);
		count(s, sizeof s, run->seed);
		count(lines, sizeof lines, run->n_item_lines);
		char suite[256];
		snprintf(suite, sizeof suite, "%s%s%s%s", run->suite_name ? run->suite_name : "n/a", run->items ? " (" : "",
			 run->items ? run->items : "", run->items ? ")" : "");
		const char *cells[] = { run->label, run->dir, run->model_name ? run->model_name : run->model_path, sha,
					suite, run->engine, run->git_commit, run->host, t, s, run->started_utc, lines };
		md_row(f, cells, sizeof cells / sizeof cells[0]);
	}
	for (size_t r = 0; r < in->n_runs; r++)
		if (in->runs[r].note) {
			fputs("\n> ", f);
			m(f, in->runs[r].label);
			fputs(": ", f);
			m(f, in->runs[r].note);
			fputs("\n", f);
		}
}

/* The n scores v per task x language: one row per (run, task, metric), one column per language. */
static void md_scores(FILE *f, const struct rpt_input *in, const struct rpt_score *v, size_t n_v)
{
	struct pivot p;
	if (n_v && pivot_build(v, n_v, &p)) {
		fputc('\0', f); /* out of memory: write_one reports it */
		pivot_release(&p);
	} else if (n_v) {
		fputs("| run | task | metric | n |", f);
		for (size_t l = 0; l < p.n_langs; l++) {
			fputs(" ", f);
			m(f, p.langs[l]);
			fputs(" |", f);
		}
		fputs("\n|---|---|---|---:|", f);
		for (size_t l = 0; l < p.n_langs; l++)
			fputs("---:|", f);
		fputs("\n", f);
		for (size_t r = 0; r < p.n_rows; r++) {
			const struct rpt_score *first = &v[p.row_first[r]];
			char n[32], metric[96];
			count(n, sizeof n, pivot_n(v, n_v, &p, r));
			snprintf(metric, sizeof metric, "%s%s", first->metric ? first->metric : "?",
				 is_fraction_metric(first->metric) ? " (%)" : "");
			const char *cells[] = { run_label(in, first->run), first->task, metric, n };
			md_row_open(f, cells, 4);
			for (size_t l = 0; l < p.n_langs; l++) {
				char cell[128];
				cell_text(cell, sizeof cell, pivot_cell(v, n_v, &p, r, l));
				fputs(" ", f);
				m(f, cell);
				fputs(" |", f);
			}
			fputs("\n", f);
		}
		pivot_release(&p);
	}
}

static void write_md(FILE *f, const struct rpt_input *in, const struct rpt_plots *plots)
{
	fputs("# ", f);
	m(f, in->title ? in->title : "merilo report");
	fprintf(f, "\n\n%zu run%s; accuracies in %%, differences in percentage points (pp).\n\n", in->n_runs,
		in->n_runs == 1 ? "" : "s");
	if (plots && plots->status[0]) {
		fputs("> **Plots:** ", f);
		m(f, plots->status);
		fputs("\n\n", f);
	}
	md_runs(f, in);
	fputs("\n## Accuracy per task and language\n\n", f);
	md_figure(f, plots, "accuracy");
	md_scores(f, in, in->scores, in->n_scores);
	if (in->n_breakdowns) {
		fputs("\n### By field\n\nEach task with a `breakdown` field, its first metric per value.\n\n", f);
		md_scores(f, in, in->breakdowns, in->n_breakdowns);
	}
	fputs("\n## Language and script gaps\n\n", f);
	md_figure(f, plots, "language-gap");
	md_figure(f, plots, "script-gap");
	if (in->n_gaps) {
		fputs("A − B in percentage points over the items present in both (chrF and BLEU: in their 0-100 points); "
		      "b = right in A only, c = right in B only; "
		      "exact two-sided McNemar p (uncorrected).\n\n"
		      "| run | task | kind | A − B | metric | pairs | diff (pp) | CI (pp) | b | c | McNemar p |\n"
		      "|---|---|---|---|---|---:|---:|---|---:|---:|---:|\n", f);
		for (size_t i = 0; i < in->n_gaps; i++) {
			struct rpt_gap g;
			enum rpt_gap_kind k = rpt_gap_orient(&in->gaps[i], &g);
			struct gap_text t;
			char pair[256];
			gap_text(&t, &g);
			snprintf(pair, sizeof pair, "%s − %s", g.language_a ? g.language_a : "?",
				 g.language_b ? g.language_b : "?");
			const char *cells[] = { run_label(in, g.run), g.task, kind_name(k), pair, g.metric, t.pairs, t.diff, t.ci, t.b, t.c, t.p };
			md_row(f, cells, 11);
		}
	}
	if (has_gen_plots(plots)) {
		fputs("\n## Generate tasks\n\n", f);
		md_figure(f, plots, "generation");
		md_figure(f, plots, "script-lang");
		md_figure(f, plots, "generation-gap");
	}
	fputs("\n## Performance\n\n", f);
	md_figure(f, plots, "item-time");
	if (in->n_perf) {
		fputs("### Scoring speed\n\n", f);
		md_figure(f, plots, "speed");
		fputs("| run | task | language | items | tokens/s | median ms/item | p90 ms/item | "
		      "energy per item (J) |\n|---|---|---|---:|---:|---:|---:|---|\n", f);
		for (size_t i = 0; i < in->n_perf; i++) {
			const struct rpt_perf *p = &in->perf[i];
			struct perf_text t;
			perf_text(&t, p);
			const char *cells[] = { run_label(in, p->run), p->task, p->language, t.items, t.tps, t.ms_median, t.ms_p90,
						t.energy ? t.energy : energy_cell(p) };
			md_row(f, cells, 8);
		}
		fputs("\n", f);
		energy_notes(f, in, true);
	}
	fputs("### Bench\n\n", f);
	if (in->n_bench || in->n_ttft || in->n_tpot || in->n_scenarios) {
		md_figure(f, plots, "ttft");
		md_figure(f, plots, "tpot");
		md_figure(f, plots, "throughput-prompt");
		md_figure(f, plots, "throughput-threads");
		md_figure(f, plots, "energy");
		if (in->n_bench) {
			fputs("| run | prompt | gen | threads | prefill tok/s | decode tok/s | prefill J/tok | decode J/tok |\n"
			      "|---|---:|---:|---:|---:|---:|---:|---:|\n", f);
			for (size_t i = 0; i < in->n_bench; i++) {
				const struct rpt_bench_point *p = &in->bench[i];
				struct bench_text t;
				bench_text(&t, p);
				const char *cells[] = { run_label(in, p->run), t.prompt, t.gen, t.threads, t.prefill_tps,
							t.decode_tps, t.prefill_j, t.decode_j };
				md_row(f, cells, 8);
			}
			fputs("\n", f);
		}
		rpt_scenario_table(f, in, true);
	} else {
		fputs("No bench data in these runs", f);
		if (in->bench_note) {
			fputs(": ", f);
			m(f, in->bench_note);
		}
		fputs(". Latency (TTFT, TPOT), throughput and energy plots need `merilo bench` records.\n", f);
	}
}

/* Render one file into memory with fn and write it atomically. */
static int write_one(const char *out_dir, const char *name, void (*fn)(FILE *, const struct rpt_input *,
								       const struct rpt_plots *),
		     const struct rpt_input *in, const struct rpt_plots *plots, struct mrl_err *err)
{
	char *buf = NULL, path[4096];
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	fn(f, in, plots);
	int bad = ferror(f);
	bad |= fclose(f);
	int rc;
	if (bad || !buf || memchr(buf, '\0', len)) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory while writing %s", name);
	} else {
		snprintf(path, sizeof path, "%s/%s", out_dir, name);
		rc = mrl_write_file_atomic(path, buf, len, err);
	}
	free(buf);
	return rc;
}

int rpt_report_write(const char *out_dir, const struct rpt_input *in, const struct rpt_plots *plots,
		     struct mrl_err *err)
{
	int rc = write_one(out_dir, "report.html", write_html, in, plots, err);
	if (!rc)
		rc = write_one(out_dir, "report.md", write_md, in, plots, err);
	return rc;
}
