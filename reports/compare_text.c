/* compare_text.c — a comparison for people: the terminal table and the
 * markdown PR comment (text escaped for markdown, control characters from
 * files never raw), and rpt_compare_render, which picks the format (JSON and
 * JUnit are in compare_json.c). Cells are written by compare_cells.c so that
 * every format shows the same numbers.
 */
#include "reports/rpt.h"
#include "reports/compare_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "common/utf8.h"

static void add_p(struct mrl_buf *s, double p)
{
	if (isnan(p))
		mrl_buf_add(s, "—");
	else if (p >= 0.001)
		mrl_buf_addf(s, "%.3f", p);
	else
		mrl_buf_addf(s, "%.1e", p);
}

static void add_flips_count(struct mrl_buf *s, const struct rpt_cmp_row *row)
{
	if (row->in->kind == RPT_METRIC_BINARY)
		mrl_buf_addf(s, "%llu / %llu", (unsigned long long)row->n_right_to_wrong,
			     (unsigned long long)row->n_wrong_to_right);
	else
		mrl_buf_add(s, "—");
}

static const char *gate_word(const struct rpt_cmp_row *row)
{
	return !row->gated ? "" : row->gate_failed ? "FAIL" : row->gate_underpowered ? "UNDETERMINED" : "pass";
}

static void add_gate_rule(struct mrl_buf *s, const struct rpt_cmp_result *res, void (*esc)(struct mrl_buf *, const char *))
{
	const struct rpt_compare_opts *o = &res->opts;
	bool kl_gated = !isnan(res->kl_gate_max_mean);
	if (o->n_gate == 0 && !kl_gated) {
		mrl_buf_add(s, "no metric is gated");
		return;
	}
	if (o->n_gate == 0) {
		mrl_buf_addf(s, "fail when the mean KL(base || candidate) exceeds %g nats", res->kl_gate_max_mean);
		goto filters;
	}
	mrl_buf_add(s, "fail when ");
	for (size_t g = 0; g < o->n_gate; g++) {
		mrl_buf_add(s, g ? (g + 1 == o->n_gate ? " or " : ", ") : "");
		esc(s, o->gate[g].metric);
		mrl_buf_addf(s, " %s by more than %g point%s", rpt_metric_lower_is_better(o->gate[g].metric) ? "rises" : "drops",
			     o->gate[g].max_drop_points, o->gate[g].max_drop_points == 1 ? "" : "s");
	}
	mrl_buf_addf(s, " with Holm-adjusted p < %g", o->alpha);
	if (kl_gated)
		mrl_buf_addf(s, ", or when the mean KL(base || candidate) exceeds %g nats", res->kl_gate_max_mean);
filters:
	if (o->gate_tasks) {
		mrl_buf_add(s, " (tasks:");
		for (size_t i = 0; i < o->n_gate_tasks; i++) {
			mrl_buf_add(s, " ");
			esc(s, o->gate_tasks[i]);
		}
		mrl_buf_add(s, ")");
	}
	if (o->gate_languages) {
		mrl_buf_add(s, " (languages:");
		for (size_t i = 0; i < o->n_gate_languages; i++) {
			mrl_buf_add(s, " ");
			esc(s, o->gate_languages[i]);
		}
		mrl_buf_add(s, ")");
	}
}

static void add_padded(struct mrl_buf *s, const char *text, int width)
{
	/* width counts characters, not bytes (UTF-8 in names and the em dash) */
	int chars = (int)mrl_utf8_count_leads(text, strlen(text));
	mrl_buf_add(s, text);
	for (; chars < width; chars++)
		mrl_buf_add(s, " ");
	mrl_buf_add(s, " ");
}

/* Text cells are built in a scratch string, then padded. Terminal text is not
 * escaped for markup, but control characters from files are replaced. */
static void text_clean(struct mrl_buf *s, const char *text)
{
	for (const char *p = text ? text : ""; *p; p++) {
		unsigned char c = (unsigned char)p[0], c1 = (unsigned char)p[1];
		if (c == 0xC2 && c1 >= 0x80 && c1 <= 0x9F) { /* a C1 control (U+009B is an 8-bit CSI) */
			mrl_buf_add(s, "?");
			p++;
			continue;
		}
		mrl_buf_addn(s, c < 0x20 || c == 0x7f ? "?" : p, 1);
	}
}

#define CELL(expr, width) do { struct mrl_buf c_; mrl_buf_init(&c_); expr; \
	add_padded(s, c_.data ? c_.data : "", width); mrl_buf_release(&c_); } while (0)

/* A row's n, base, candidate, difference and CI as padded terminal cells of widths
 * width[0..5); signed_means: the means with a sign (they are gaps). */
static void text_figures(struct mrl_buf *s, const struct rpt_cmp_row *r, bool signed_means, const int *width)
{
	CELL(mrl_buf_addf(&c_, "%zu", r->in->n_pairs), width[0]);
	CELL(rpt_cmp_add_value(&c_, r, r->base_mean, signed_means), width[1]);
	CELL(rpt_cmp_add_value(&c_, r, r->cand_mean, signed_means), width[2]);
	CELL(rpt_cmp_add_value(&c_, r, r->diff, true), width[3]);
	CELL(rpt_cmp_add_ci(&c_, r), width[4]);
}

/* The same as markdown cells, " | n | base | candidate | diff | CI | ", after a cell. */
static void md_figures(struct mrl_buf *s, const struct rpt_cmp_row *r, bool signed_means)
{
	mrl_buf_addf(s, " | %zu | ", r->in->n_pairs);
	rpt_cmp_add_value(s, r, r->base_mean, signed_means);
	mrl_buf_add(s, " | ");
	rpt_cmp_add_value(s, r, r->cand_mean, signed_means);
	mrl_buf_add(s, " | ");
	rpt_cmp_add_value(s, r, r->diff, true);
	mrl_buf_add(s, " | ");
	rpt_cmp_add_ci(s, r);
	mrl_buf_add(s, " | ");
}

static const char *kl_gate_word(const struct rpt_kl_row *r)
{
	return !r->gated ? "" : r->undetermined ? "UNDETERMINED" : r->gate_failed ? "FAIL" : "pass";
}

/* The row's top-K mass: "min/median" as percentages. */
static void add_topk_mass(struct mrl_buf *s, const struct rpt_kl_row *r)
{
	rpt_cmp_add_pct(s, r->topk_mass_min);
	mrl_buf_add(s, "/");
	rpt_cmp_add_pct(s, r->topk_mass_median);
}

static void add_kl_skipped(struct mrl_buf *s, const struct rpt_kl_row *r)
{
	mrl_buf_addf(s, "%zu", r->n_skipped_tokens + r->n_skipped_prompt);
}

#define KL_LOWER_BOUND_TEXT \
	"a LOWER BOUND on the true KL, estimated from the stored top-K lists (each token in both runs' lists " \
	"is its own bucket, everything else one tail bucket)"
#define KL_COVERED_TEXT \
	"covered = mean base probability mass inside the shared tokens: near 100% the bound is tight, near 0 it says little; " \
	"top-K mass = min/median over the positions of the mass the stored lists hold (the smaller of the two runs')"

static void render_kl_text(struct mrl_buf *s, const struct rpt_cmp_result *res)
{
	if (!res->n_kl)
		return;
	mrl_buf_add(s, "\nKL divergence KL(base || candidate) of the next-token distributions, nats per position: "
		       KL_LOWER_BOUND_TEXT ";\n" KL_COVERED_TEXT ";\ntop-1 = positions whose most likely token "
		       "is the same; |dlogprob| = mean |logprob(cand) - logprob(base)| of the scored tokens; "
		       "skipped = paired sequences not aligned (different tokens or prompt).\n");
	static const char *const head[] = { "task", "lang", "seqs", "skipped", "pos", "KL mean", "median", "p90", "p99",
					    "max", "covered", "top-K mass", "top-1", "|dlogprob|", "gate" };
	static const int width[] = { 14, 8, 5, 7, 6, 9, 9, 9, 9, 9, 8, 15, 8, 10, 4 };
	for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
		add_padded(s, head[i], width[i]);
	mrl_buf_add(s, "\n");
	for (size_t i = 0; i < res->n_kl; i++) {
		const struct rpt_kl_row *r = &res->kl[i];
		CELL(text_clean(&c_, r->task), width[0]);
		CELL(text_clean(&c_, r->language), width[1]);
		CELL(mrl_buf_addf(&c_, "%zu", r->n_sequences), width[2]);
		CELL(add_kl_skipped(&c_, r), width[3]);
		CELL(mrl_buf_addf(&c_, "%zu", r->n_positions), width[4]);
		CELL(rpt_cmp_add_kl(&c_, r->kl_mean), width[5]);
		CELL(rpt_cmp_add_kl(&c_, r->kl_median), width[6]);
		CELL(rpt_cmp_add_kl(&c_, r->kl_p90), width[7]);
		CELL(rpt_cmp_add_kl(&c_, r->kl_p99), width[8]);
		CELL(rpt_cmp_add_kl(&c_, r->kl_max), width[9]);
		CELL(rpt_cmp_add_pct(&c_, r->covered_mean), width[10]);
		CELL(add_topk_mass(&c_, r), width[11]);
		CELL(rpt_cmp_add_pct(&c_, r->top1_agreement), width[12]);
		CELL(rpt_cmp_add_kl(&c_, r->abs_dlogprob_mean), width[13]);
		mrl_buf_add(s, kl_gate_word(r));
		mrl_buf_add(s, "\n");
	}
}

static void render_kl_md(struct mrl_buf *s, const struct rpt_cmp_result *res)
{
	if (!res->n_kl)
		return;
	mrl_buf_add(s, "\n### KL divergence and top-1 agreement (base ‖ candidate)\n\n"
		       "KL(base ‖ candidate) of the next-token distributions, in nats per position, is "
		       KL_LOWER_BOUND_TEXT "; " KL_COVERED_TEXT ". Top-1: positions where both runs' most likely "
		       "token is the same. |Δ logprob|: mean absolute difference of the scored tokens' "
		       "log-probabilities. Skipped: paired sequences not compared (different tokens or prompt).\n\n"
		       "| task | language | sequences | skipped | positions | KL mean | median | p90 | p99 | max | covered "
		       "| top-K mass min/median | top-1 agreement | mean \\|Δ logprob\\| | gate |\n"
		       "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n");
	for (size_t i = 0; i < res->n_kl; i++) {
		const struct rpt_kl_row *r = &res->kl[i];
		bool all = rpt_kl_row_is_overall(r);
		mrl_buf_add(s, "| ");
		if (all)
			mrl_buf_add(s, "**all**");
		else
			rpt_esc_md(s, r->task);
		mrl_buf_add(s, " | ");
		if (all)
			mrl_buf_add(s, "**all**");
		else
			rpt_esc_md(s, r->language);
		mrl_buf_addf(s, " | %zu | ", r->n_sequences);
		add_kl_skipped(s, r);
		mrl_buf_addf(s, " | %zu | ", r->n_positions);
		rpt_cmp_add_kl(s, r->kl_mean);
		mrl_buf_add(s, " | ");
		rpt_cmp_add_kl(s, r->kl_median);
		mrl_buf_add(s, " | ");
		rpt_cmp_add_kl(s, r->kl_p90);
		mrl_buf_add(s, " | ");
		rpt_cmp_add_kl(s, r->kl_p99);
		mrl_buf_add(s, " | ");
		rpt_cmp_add_kl(s, r->kl_max);
		mrl_buf_add(s, " | ");
		rpt_cmp_add_pct(s, r->covered_mean);
		mrl_buf_add(s, " | ");
		add_topk_mass(s, r);
		mrl_buf_add(s, " | ");
		rpt_cmp_add_pct(s, r->top1_agreement);
		mrl_buf_add(s, " | ");
		rpt_cmp_add_kl(s, r->abs_dlogprob_mean);
		mrl_buf_addf(s, " | %s |\n", !r->gated ? "" : r->undetermined ? "⚠️ undetermined" : r->gate_failed ? "❌ FAIL" : "pass");
	}
}

/* The KL rows that failed, for the FAIL line. */
static void add_kl_failures(struct mrl_buf *s, const struct rpt_cmp_result *res,
			    void (*esc)(struct mrl_buf *, const char *))
{
	for (size_t i = 0; i < res->n_kl; i++) {
		const struct rpt_kl_row *r = &res->kl[i];
		if (!r->gate_failed)
			continue;
		mrl_buf_add(s, " ");
		esc(s, r->task);
		mrl_buf_add(s, "/");
		esc(s, r->language);
		mrl_buf_add(s, " KL mean ");
		rpt_cmp_add_kl(s, r->kl_mean);
		mrl_buf_addf(s, " > %g nats;", res->kl_gate_max_mean);
	}
}

/* The performance gate's part of the gate rule, after add_gate_rule. */
static void add_perf_rule(struct mrl_buf *s, const struct rpt_cmp_meta *meta)
{
	if (meta && meta->perf_gated)
		mrl_buf_addf(s, "; performance: fail when a bench tokens/s or TTFT figure is worse by more than %g%% with its "
				"whole CI (--gate-perf)",
			     100 * meta->perf_threshold);
}

/* Why each undetermined gate cannot decide: prefix, "KL gate cannot decide: ...", end;
 * the same for the performance gate. */
static void add_undetermined_lines(struct mrl_buf *s, const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta,
				   const char *prefix, const char *end, void (*esc)(struct mrl_buf *, const char *))
{
	if (rpt_cmp_gate_empty(res, meta)) {
		mrl_buf_addf(s, "%sgate judges nothing: ", prefix);
		rpt_cmp_add_gate_empty(s, res, esc);
		mrl_buf_add(s, end);
	}
	if (res->n_kl_undetermined) {
		mrl_buf_addf(s, "%sKL gate cannot decide: ", prefix);
		rpt_cmp_add_undetermined(s, res, esc);
		mrl_buf_add(s, end);
	}
	if (res->n_gate_underpowered) {
		mrl_buf_addf(s, "%sgate cannot decide: ", prefix);
		rpt_cmp_add_underpowered(s, res, esc);
		mrl_buf_add(s, end);
	}
	if (meta && meta->perf_gated && meta->perf_undetermined) {
		mrl_buf_addf(s, "%sperformance gate (--gate-perf %g%%) cannot decide: ", prefix, 100 * meta->perf_threshold);
		esc(s, meta->perf_undetermined);
		mrl_buf_add(s, end);
	}
}

/* The markdown of a section as terminal text: "### H" as "H", backticks and
 * backslash escapes dropped, a table's separator row left out and its cells
 * padded to the widest of their column. */
static void add_md_as_text(struct mrl_buf *s, const char *md)
{
	size_t width[16] = { 0 };
	for (int pass = 0; pass < 2; pass++)
		for (const char *line = md; *line;) {
			const size_t len = strcspn(line, "\n");
			const char *next = line + len + (line[len] == '\n');
			if (line[0] != '|') {
				if (pass) {
					const size_t skip = !strncmp(line, "### ", 4) ? 4 : 0;
					for (size_t i = skip; i < len; i++)
						if (line[i] != '`' && !(line[i] == '\\' && i + 1 < len && line[i + 1] != ' '))
							mrl_buf_addn(s, line + i, 1);
					mrl_buf_add(s, "\n");
				}
				line = next;
				continue;
			}
			if (strspn(line, "|-: ") >= len) { /* |---|---:| */
				line = next;
				continue;
			}
			size_t col = 0;
			for (const char *c = line + 1; c < line + len && col < 16; col++) {
				const char *end = memchr(c, '|', (size_t)(line + len - c));
				if (!end)
					break;
				struct mrl_buf cell;
				mrl_buf_init(&cell);
				for (const char *k = c; k < end; k++)
					if (*k != '\\' && *k != '`')
						mrl_buf_addn(&cell, k, 1);
				const char *t = cell.data ? cell.data : "";
				size_t a = strspn(t, " "), b = strlen(t), chars = 0; /* chars: UTF-8 characters shown */
				while (b > a && t[b - 1] == ' ')
					b--;
				for (size_t k = a; k < b; k++)
					chars += ((unsigned char)t[k] & 0xC0) != 0x80;
				if (!pass && chars > width[col])
					width[col] = chars;
				if (pass) {
					mrl_buf_addf(s, "%.*s", (int)(b - a), t + a);
					for (size_t w = chars; w < width[col] + 2; w++)
						mrl_buf_add(s, " ");
				}
				mrl_buf_release(&cell);
				c = end + 1;
			}
			if (pass)
				mrl_buf_add(s, "\n");
			line = next;
		}
}

/* ---- comparisons of each breakdown value's items (rpt_cmp_meta.by_value) ---- */

#define VALUE_DROPS_LISTED 5 /* of the changes that are not significant, the largest drops shown */

static double improvement(const struct rpt_cmp_row *r)
{
	return r->lower_is_better ? -r->diff : r->diff;
}

static int by_improvement(const void *a, const void *b, void *rows)
{
	const double x = improvement(&((const struct rpt_cmp_row *)rows)[*(const size_t *)a]);
	const double y = improvement(&((const struct rpt_cmp_row *)rows)[*(const size_t *)b]);
	if (x != y)
		return x < y ? -1 : 1;
	return (*(const size_t *)a > *(const size_t *)b) - (*(const size_t *)a < *(const size_t *)b);
}

/* The rows of v shown, as indices into *out (malloc'd; NULL when out of memory): the
 * significant changes, worst first (*n_sig of them), then up to VALUE_DROPS_LISTED of
 * the largest drops among the others. Returns how many. */
static size_t values_shown(const struct rpt_cmp_result *v, size_t **out, size_t *n_sig)
{
	size_t *idx = malloc((v->n_rows + 1) * sizeof *idx), n = 0, n_drop = 0;
	*out = idx;
	*n_sig = 0;
	for (size_t i = 0; idx && i < v->n_rows; i++)
		if (v->rows[i].verdict == RPT_VERDICT_BETTER || v->rows[i].verdict == RPT_VERDICT_WORSE)
			idx[n++] = i;
	if (!idx)
		return 0;
	qsort_r(idx, n, sizeof *idx, by_improvement, v->rows);
	*n_sig = n;
	for (size_t i = 0; i < v->n_rows; i++)
		if (v->rows[i].verdict == RPT_VERDICT_SAME && improvement(&v->rows[i]) < 0)
			idx[n + n_drop++] = i;
	qsort_r(idx + n, n_drop, sizeof *idx, by_improvement, v->rows);
	return n + (n_drop < VALUE_DROPS_LISTED ? n_drop : VALUE_DROPS_LISTED);
}

/* The breakdown fields of v's rows, in first-seen order: "subject, category". */
static void add_fields(struct mrl_buf *s, const struct rpt_cmp_result *v, void (*esc)(struct mrl_buf *, const char *))
{
	for (size_t i = 0, n = 0; i < v->n_rows; i++) {
		bool seen = false;
		for (size_t k = 0; k < i && !seen; k++)
			seen = !strcmp(v->rows[k].in->field, v->rows[i].in->field);
		if (seen)
			continue;
		mrl_buf_add(s, n++ ? ", " : "");
		esc(s, v->rows[i].in->field);
	}
}

/* The sentence before the table: what was compared, and what changed; lead starts it, brk
 * ("\n" in text, " " in markdown) goes where a terminal line would be too long. */
static void values_intro(struct mrl_buf *s, const struct rpt_cmp_result *v, size_t n_sig, size_t n_shown,
			 void (*esc)(struct mrl_buf *, const char *), const char *lead, const char *brk)
{
	mrl_buf_addf(s, "%s value of a task's breakdown (", lead);
	add_fields(s, v, esc);
	mrl_buf_addf(s, ") compared on its own items,%sHolm-adjusted across these %zu comparisons: ", brk, v->n_rows);
	if (n_sig)
		mrl_buf_addf(s, "%zu changed significantly", n_sig);
	else
		mrl_buf_add(s, "none changed significantly");
	if (n_shown > n_sig)
		mrl_buf_addf(s, "; also listed: the %zu largest drop%s among the others", n_shown - n_sig,
			     n_shown - n_sig == 1 ? "" : "s");
}

static void render_values_text(struct mrl_buf *s, const struct rpt_cmp_meta *meta)
{
	const struct rpt_cmp_result *v = meta ? meta->by_value : NULL;
	if (!v || !v->n_rows)
		return;
	size_t *idx, n_sig, n = values_shown(v, &idx, &n_sig);
	mrl_buf_add(s, "\nby value (not gated): ");
	values_intro(s, v, n_sig, n, text_clean, "each", "\n");
	mrl_buf_add(s, "\n");
	static const char *const head[] = { "task", "lang", "value", "metric", "n", "base", "cand", "diff", "CI",
					    "p(Holm)", "verdict" };
	static const int width[] = { 14, 8, 20, 14, 5, 7, 7, 7, 17, 8, 21 };
	for (size_t i = 0; n && i < sizeof head / sizeof head[0]; i++)
		add_padded(s, head[i], width[i]);
	mrl_buf_add(s, n ? "\n" : "");
	for (size_t k = 0; k < n; k++) {
		const struct rpt_cmp_row *r = &v->rows[idx[k]];
		CELL(text_clean(&c_, r->in->task), width[0]);
		CELL(text_clean(&c_, r->in->language), width[1]);
		CELL(text_clean(&c_, r->in->value), width[2]);
		CELL(text_clean(&c_, r->in->metric), width[3]);
		text_figures(s, r, false, width + 4);
		CELL(add_p(&c_, r->p_holm), width[9]);
		mrl_buf_add(s, rpt_verdict_name(r->verdict));
		mrl_buf_add(s, "\n");
	}
	free(idx);
}

static void render_values_md(struct mrl_buf *s, const struct rpt_cmp_meta *meta)
{
	const struct rpt_cmp_result *v = meta ? meta->by_value : NULL;
	if (!v || !v->n_rows)
		return;
	size_t *idx, n_sig, n = values_shown(v, &idx, &n_sig);
	mrl_buf_add(s, "\n### By value (not gated)\n\n");
	values_intro(s, v, n_sig, n, rpt_esc_md, "Each", " ");
	mrl_buf_add(s, n ? ".\n\n| task | language | value | metric | n | base | candidate | Δ | 95% CI | p (Holm) | verdict |\n"
			   "|---|---|---|---|---:|---:|---:|---:|---|---:|---|\n"
			 : ".\n");
	for (size_t k = 0; k < n; k++) {
		const struct rpt_cmp_row *r = &v->rows[idx[k]];
		const char *cells[4] = { r->in->task, r->in->language, r->in->value, r->in->metric };
		for (int c = 0; c < 4; c++) {
			mrl_buf_add(s, c ? " | " : "| ");
			rpt_esc_md(s, cells[c]);
		}
		md_figures(s, r, false);
		add_p(s, r->p_holm);
		mrl_buf_addf(s, " | %s%s%s |\n", k < n_sig ? "**" : "", rpt_verdict_name(r->verdict), k < n_sig ? "**" : "");
	}
	free(idx);
}

/* ---- the language gaps' changes (rpt_cmp_meta.gaps) ---- */

static bool gap_significant(const struct rpt_cmp_row *r, double alpha)
{
	return r->in->n_pairs && r->p_holm < alpha;
}

/* Whether a gap row is shown in text and markdown: English against a BCMS variant and
 * Cyrillic against Latin always (the gaps merilo is for), other pairs when they changed. */
static bool gap_shown(const struct rpt_cmp_row *r, double alpha)
{
	return !strcmp(r->in->gap_kind, rpt_gap_kind_name(RPT_GAP_LANGUAGE)) ||
	       !strcmp(r->in->gap_kind, rpt_gap_kind_name(RPT_GAP_SCRIPT)) || gap_significant(r, alpha);
}

/* narrowed / widened: the candidate's mean gap nearer to / further from 0, significantly. */
static const char *gap_word(const struct rpt_cmp_row *r, double alpha)
{
	if (!gap_significant(r, alpha))
		return "no significant change";
	return fabs(r->cand_mean) < fabs(r->base_mean) ? "narrowed" : "widened";
}

static size_t gaps_shown(const struct rpt_cmp_result *g, double alpha)
{
	size_t n = 0;
	for (size_t i = 0; i < g->n_rows; i++)
		n += gap_shown(&g->rows[i], alpha);
	return n;
}

static void gaps_intro(struct mrl_buf *s, const struct rpt_cmp_result *g, size_t n_hidden, const char *brk)
{
	mrl_buf_addf(s, "per item, the metric in A minus in B in each run,%sover the items both runs scored in both; "
			"change = candidate's gap - base's, Holm-adjusted across these %zu comparisons", brk, g->n_rows);
	if (n_hidden)
		mrl_buf_addf(s, "; %zu comparison%s of other pairs of languages, none significant, %s only in the JSON",
			     n_hidden, n_hidden == 1 ? "" : "s", n_hidden == 1 ? "is" : "are");
}

static void render_gaps_text(struct mrl_buf *s, const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta)
{
	const struct rpt_cmp_result *g = meta ? meta->gaps : NULL;
	if (!g || !g->n_rows)
		return;
	const double alpha = res->opts.alpha;
	const size_t n_shown = gaps_shown(g, alpha);
	mrl_buf_add(s, "\nlanguage gaps (not gated): ");
	gaps_intro(s, g, g->n_rows - n_shown, "\n");
	mrl_buf_add(s, "\n");
	static const char *const head[] = { "task", "kind", "A - B", "metric", "n", "base", "cand", "change", "CI",
					    "p(Holm)", "verdict" };
	static const int width[] = { 14, 14, 20, 14, 5, 7, 7, 7, 17, 8, 21 };
	for (size_t i = 0; n_shown && i < sizeof head / sizeof head[0]; i++)
		add_padded(s, head[i], width[i]);
	mrl_buf_add(s, n_shown ? "\n" : "");
	for (size_t i = 0; i < g->n_rows; i++) {
		const struct rpt_cmp_row *r = &g->rows[i];
		if (!gap_shown(r, alpha))
			continue;
		CELL(text_clean(&c_, r->in->task), width[0]);
		CELL(text_clean(&c_, r->in->gap_kind), width[1]);
		CELL((text_clean(&c_, r->in->language), mrl_buf_add(&c_, " - "), text_clean(&c_, r->in->language_b)), width[2]);
		CELL(text_clean(&c_, r->in->metric), width[3]);
		text_figures(s, r, true, width + 4);
		CELL(add_p(&c_, r->p_holm), width[9]);
		mrl_buf_add(s, gap_word(r, alpha));
		mrl_buf_add(s, "\n");
	}
}

static void render_gaps_md(struct mrl_buf *s, const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta)
{
	const struct rpt_cmp_result *g = meta ? meta->gaps : NULL;
	if (!g || !g->n_rows)
		return;
	const double alpha = res->opts.alpha;
	const size_t n_shown = gaps_shown(g, alpha);
	mrl_buf_add(s, "\n### Language gaps (not gated)\n\nThe gap is, ");
	gaps_intro(s, g, g->n_rows - n_shown, " ");
	mrl_buf_add(s, n_shown ? ".\n\n| task | kind | A − B | metric | n | base gap | candidate gap | change | 95% CI | "
				 "p (Holm) | verdict |\n|---|---|---|---|---:|---:|---:|---:|---|---:|---|\n"
			       : ".\n");
	for (size_t i = 0; i < g->n_rows; i++) {
		const struct rpt_cmp_row *r = &g->rows[i];
		if (!gap_shown(r, alpha))
			continue;
		mrl_buf_add(s, "| ");
		rpt_esc_md(s, r->in->task);
		mrl_buf_add(s, " | ");
		rpt_esc_md(s, r->in->gap_kind);
		mrl_buf_add(s, " | ");
		rpt_esc_md(s, r->in->language);
		mrl_buf_add(s, " − ");
		rpt_esc_md(s, r->in->language_b);
		mrl_buf_add(s, " | ");
		rpt_esc_md(s, r->in->metric);
		md_figures(s, r, true);
		add_p(s, r->p_holm);
		const bool sig = gap_significant(r, alpha);
		mrl_buf_addf(s, " | %s%s%s |\n", sig ? "**" : "", gap_word(r, alpha), sig ? "**" : "");
	}
}

static void render_text(struct mrl_buf *s, const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta)
{
	mrl_buf_add(s, "merilo compare: base ");
	text_clean(s, meta ? meta->base.label : NULL);
	mrl_buf_add(s, " vs candidate ");
	text_clean(s, meta ? meta->cand.label : NULL);
	mrl_buf_addf(s, "\n(differences are candidate - base; accuracies in %%; %g%% paired bootstrap CI, %zu resamples, seed %llu)\n\n",
		     100 * res->opts.ci_level, res->opts.n_resamples, (unsigned long long)res->opts.seed);
	static const char *const head[] = { "task", "lang", "metric", "n", "base", "cand", "diff", "CI", "r->w / w->r",
					    "p", "p(Holm)", "verdict", "gate" };
	static const int width[] = { 14, 8, 14, 5, 7, 7, 7, 17, 11, 8, 8, 21, 4 };
	for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
		add_padded(s, head[i], width[i]);
	mrl_buf_add(s, "\n");
	for (size_t i = 0; i < res->n_rows; i++) {
		const struct rpt_cmp_row *r = &res->rows[i];
		CELL(text_clean(&c_, r->in->task), width[0]);
		CELL(text_clean(&c_, r->in->language), width[1]);
		CELL(text_clean(&c_, r->in->metric), width[2]);
		text_figures(s, r, false, width + 3);
		CELL(add_flips_count(&c_, r), width[8]);
		CELL(add_p(&c_, r->p), width[9]);
		CELL(add_p(&c_, r->p_holm), width[10]);
		CELL(mrl_buf_add(&c_, rpt_verdict_name(r->verdict)), width[11]);
		mrl_buf_add(s, gate_word(r));
		mrl_buf_add(s, "\n");
	}
	render_kl_text(s, res);
	render_values_text(s, meta);
	render_gaps_text(s, res, meta);
	for (size_t i = 0; meta && i < meta->n_notes; i++) {
		mrl_buf_add(s, i ? "" : "\n");
		mrl_buf_add(s, "note: ");
		text_clean(s, meta->notes[i]);
		mrl_buf_add(s, "\n");
	}
	if (meta && meta->perf_md) {
		mrl_buf_add(s, "\n");
		add_md_as_text(s, meta->perf_md);
	}
	mrl_buf_add(s, "\ngate: ");
	add_gate_rule(s, res, text_clean);
	add_perf_rule(s, meta);
	mrl_buf_add(s, "\n");
	if (meta && meta->n_diffs && rpt_compare_outcome(res, meta) != RPT_CMP_NOT_COMPARABLE) {
		mrl_buf_add(s, "allowed differences (--allow-different): ");
		rpt_cmp_add_differences(s, meta, true, text_clean);
		mrl_buf_add(s, "\n");
	}
	enum rpt_cmp_outcome outcome = rpt_compare_outcome(res, meta);
	if (outcome == RPT_CMP_NOT_COMPARABLE) {
		mrl_buf_add(s, "NOT COMPARABLE: the runs differ in score-changing settings: ");
		rpt_cmp_add_differences(s, meta, false, text_clean);
		mrl_buf_add(s, "; pass --allow-different ");
		rpt_cmp_add_allow_list(s, meta, text_clean);
		mrl_buf_add(s, " to gate them anyway\n");
	} else if (outcome == RPT_CMP_UNDETERMINED) {
		add_undetermined_lines(s, res, meta, "UNDETERMINED: the ", "\n", text_clean);
	}
	if (rpt_cmp_n_gate_failed(res, meta)) {
		mrl_buf_addf(s, "FAIL: %zu of %zu gated comparisons regressed:", rpt_cmp_n_gate_failed(res, meta),
			     rpt_cmp_n_gated(res, meta));
		for (size_t i = 0; i < res->n_rows; i++) {
			const struct rpt_cmp_row *r = &res->rows[i];
			if (!r->gate_failed)
				continue;
			mrl_buf_add(s, " ");
			text_clean(s, r->in->task);
			mrl_buf_add(s, "/");
			text_clean(s, r->in->language);
			mrl_buf_add(s, " ");
			text_clean(s, r->in->metric);
			mrl_buf_addf(s, " %+.2f points;", 100 * (r->lower_is_better ? -r->diff : r->diff));
		}
		add_kl_failures(s, res, text_clean);
		if (meta && meta->perf_gated && meta->perf_n_failed && meta->perf_failures) {
			mrl_buf_add(s, " bench ");
			text_clean(s, meta->perf_failures);
		}
		mrl_buf_add(s, "\n");
	} else if (outcome == RPT_CMP_PASS) {
		mrl_buf_addf(s, "PASS: no gated regression (%zu gated comparisons)\n", rpt_cmp_n_gated(res, meta));
	}
}

static void md_side(struct mrl_buf *s, const char *title, const struct rpt_cmp_side *side)
{
	mrl_buf_addf(s, "| %s | ", title);
	rpt_esc_md(s, side->label);
	mrl_buf_add(s, " | ");
	rpt_esc_md(s, side->model_name ? side->model_name : "—");
	mrl_buf_add(s, " | ");
	rpt_esc_trunc(s, side->model_sha256 ? side->model_sha256 : "—", 12, rpt_esc_md);
	mrl_buf_add(s, " | ");
	rpt_esc_trunc(s, side->suite_sha256 ? side->suite_sha256 : "—", 12, rpt_esc_md);
	mrl_buf_add(s, " | ");
	rpt_esc_md(s, side->engine_build ? side->engine_build : "—");
	mrl_buf_add(s, " |\n");
}

static bool flips_listed(const struct rpt_cmp_row *r)
{
	return r->in->kind == RPT_METRIC_BINARY && (r->n_flips_rw || r->n_flips_wr) &&
	       (r->gated || r->verdict != RPT_VERDICT_SAME);
}

static void md_flip_list(struct mrl_buf *s, const struct rpt_cmp_row *r, const size_t *idx, size_t n, const char *title)
{
	if (!n)
		return;
	mrl_buf_addf(s, "\n**%s** (%zu)\n\n| item | prompt |\n|---|---|\n", title, n);
	size_t shown = n < RPT_CMP_MAX_FLIPS_LISTED ? n : RPT_CMP_MAX_FLIPS_LISTED;
	for (size_t k = 0; k < shown; k++) {
		const struct rpt_pair *pr = &r->in->pairs[idx[k]];
		mrl_buf_add(s, "| ");
		rpt_esc_md(s, pr->item_id);
		mrl_buf_add(s, " | ");
		if (pr->prompt)
			rpt_esc_trunc(s, pr->prompt, 200, rpt_esc_md);
		else
			mrl_buf_add(s, "*(prompt not recorded)*");
		mrl_buf_add(s, " |\n");
	}
	if (shown < n)
		mrl_buf_addf(s, "\n… and %zu more (all of them are in the JSON output)\n", n - shown);
}

static void render_md(struct mrl_buf *s, const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta)
{
	enum rpt_cmp_outcome outcome = rpt_compare_outcome(res, meta);
	if (outcome == RPT_CMP_NOT_COMPARABLE) {
		mrl_buf_add(s, "## merilo compare: ⚠️ not comparable\n\nThe runs differ in score-changing settings: ");
		rpt_cmp_add_differences(s, meta, false, rpt_esc_md);
		mrl_buf_add(s, ". The gate does not judge them; pass `--allow-different ");
		rpt_cmp_add_allow_list(s, meta, rpt_esc_md);
		mrl_buf_add(s, "` to gate them anyway.\n\n");
	} else if (outcome == RPT_CMP_UNDETERMINED) {
		mrl_buf_add(s, "## merilo compare: ⚠️ undetermined\n\n");
		add_undetermined_lines(s, res, meta, "The ", ".\n\n", rpt_esc_md);
	} else if (outcome == RPT_CMP_REGRESSION)
		mrl_buf_addf(s, "## merilo compare: ❌ regression (%zu of %zu gated comparisons)\n\n",
			     rpt_cmp_n_gate_failed(res, meta), rpt_cmp_n_gated(res, meta));
	else
		mrl_buf_addf(s, "## merilo compare: ✅ no gated regression (%zu gated comparisons)\n\n",
			     rpt_cmp_n_gated(res, meta));
	if (meta && meta->n_diffs && outcome != RPT_CMP_NOT_COMPARABLE) {
		mrl_buf_add(s, "Allowed differences (`--allow-different`): ");
		rpt_cmp_add_differences(s, meta, true, rpt_esc_md);
		mrl_buf_add(s, ".\n\n");
	}
	if (meta) {
		mrl_buf_add(s, "| | run | model | model sha256 | suite sha256 | engine build |\n|---|---|---|---|---|---|\n");
		md_side(s, "base", &meta->base);
		md_side(s, "candidate", &meta->cand);
		mrl_buf_add(s, "\n");
	}
	mrl_buf_add(s, "Gate: ");
	add_gate_rule(s, res, rpt_esc_md);
	add_perf_rule(s, meta);
	mrl_buf_addf(s, ". Differences are candidate − base (accuracies in percentage points), with %g%% paired "
			"bootstrap CIs (%zu resamples, seed %llu); p: exact McNemar (right/wrong metrics) or Wilcoxon "
			"signed-rank (graded), Holm-adjusted across all %zu comparisons.\n\n",
		     100 * res->opts.ci_level, res->opts.n_resamples, (unsigned long long)res->opts.seed, res->n_rows);
	mrl_buf_add(s, "| task | language | metric | n | base | candidate | Δ | 95% CI | right→wrong / wrong→right | p | "
		       "p (Holm) | verdict | gate |\n|---|---|---|---:|---:|---:|---:|---|---:|---:|---:|---|---|\n");
	for (size_t i = 0; i < res->n_rows; i++) {
		const struct rpt_cmp_row *r = &res->rows[i];
		mrl_buf_add(s, "| ");
		rpt_esc_md(s, r->in->task);
		mrl_buf_add(s, " | ");
		rpt_esc_md(s, r->in->language);
		mrl_buf_add(s, " | ");
		rpt_esc_md(s, r->in->metric);
		md_figures(s, r, false);
		add_flips_count(s, r);
		mrl_buf_add(s, " | ");
		add_p(s, r->p);
		mrl_buf_add(s, " | ");
		add_p(s, r->p_holm);
		mrl_buf_addf(s, " | %s%s%s | %s |\n", r->verdict == RPT_VERDICT_SAME ? "" : "**",
			     rpt_verdict_name(r->verdict), r->verdict == RPT_VERDICT_SAME ? "" : "**",
			     !r->gated ? "" : r->gate_failed ? "❌ FAIL" : r->gate_underpowered ? "⚠️ undetermined" : "pass");
	}
	render_kl_md(s, res);
	render_values_md(s, meta);
	render_gaps_md(s, res, meta);
	bool any = false;
	for (size_t i = 0; i < res->n_rows; i++) {
		const struct rpt_cmp_row *r = &res->rows[i];
		if (!flips_listed(r))
			continue;
		if (!any)
			mrl_buf_add(s, "\n### Flipped items\n\nFor gated comparisons and significant changes.\n");
		any = true;
		mrl_buf_add(s, "\n<details><summary>");
		rpt_esc_md(s, r->in->task);
		mrl_buf_add(s, " · ");
		rpt_esc_md(s, r->in->language);
		mrl_buf_add(s, " · ");
		rpt_esc_md(s, r->in->metric);
		mrl_buf_addf(s, ": %zu right→wrong, %zu wrong→right</summary>\n", r->n_flips_rw, r->n_flips_wr);
		md_flip_list(s, r, r->flips_rw, r->n_flips_rw, "right → wrong");
		md_flip_list(s, r, r->flips_wr, r->n_flips_wr, "wrong → right");
		mrl_buf_add(s, "\n</details>\n");
	}
	if (meta && meta->perf_md) {
		mrl_buf_add(s, "\n");
		mrl_buf_add(s, meta->perf_md);
	}
	if (meta && meta->n_notes) {
		mrl_buf_add(s, "\n### Notes\n\n");
		for (size_t i = 0; i < meta->n_notes; i++) {
			mrl_buf_add(s, "- ");
			rpt_esc_md(s, meta->notes[i]);
			mrl_buf_add(s, "\n");
		}
	}
}

char *rpt_compare_render(const struct rpt_cmp_result *res, const struct rpt_cmp_meta *meta, enum rpt_format fmt,
			 struct mrl_err *err)
{
	struct mrl_buf s;
	mrl_buf_init(&s);
	char *out = NULL;
	switch (fmt) {
	case RPT_FMT_TEXT: render_text(&s, res, meta); break;
	case RPT_FMT_MD: render_md(&s, res, meta); break;
	case RPT_FMT_JUNIT: rpt_cmp_render_junit(&s, res, meta); break;
	case RPT_FMT_JSON:
		out = rpt_cmp_render_json(res, meta);
		if (!out)
			mrl_err_set(err, MRL_ENOMEM, "compare: out of memory building the JSON output");
		return out;
	default:
		mrl_err_set(err, MRL_EINPUT, "compare: output format not available for a comparison (text, md, json, junit)");
		return NULL;
	}
	out = mrl_buf_detach(&s, NULL);
	if (!out)
		mrl_err_set(err, MRL_ENOMEM, "compare: out of memory rendering the output");
	return out;
}
