/* html_scenario.c — the report's table of request-level bench results: server
 * and offline scenarios and ppN+tgM request rows, one row per result.
 *
 * The TTFT/TPOT CDFs draw only results with latency samples, and the
 * throughput table only ppN/tgM rows, so a scenario's requests, QPS and output
 * tokens/s, or a scenario that completed no request, would appear nowhere.
 * This table gives every such result a row with what its record holds, and
 * says in the row why figures are missing. Strings are escaped as in html.c.
 */
#include "reports/html_int.h"

#include <math.h>
#include <string.h>

/* s escaped for HTML (md false) or markdown, to f. */
static void esc(FILE *f, const char *s, bool md)
{
	struct mrl_buf b;
	mrl_buf_init(&b);
	(md ? rpt_esc_md : rpt_esc_html)(&b, s ? s : "");
	if (b.oom)
		fputc('\0', f); /* as html.c: a NUL that write_one reports as out of memory */
	else if (b.len)
		fwrite(b.data, 1, b.len, f);
	mrl_buf_release(&b);
}

static void fig(char *buf, size_t size, const char *fmt, double v)
{
	if (isfinite(v))
		snprintf(buf, size, fmt, v);
	else
		snprintf(buf, size, "n/a");
}

/* "p50 / p90[ / p99]" in ms, or "n/a" where the record has none. */
static void pcts(char *buf, size_t size, const double *v, size_t n)
{
	if (!isfinite(v[0])) {
		snprintf(buf, size, "n/a");
		return;
	}
	int k = snprintf(buf, size, "%.2f / %.2f", v[0], v[1]);
	if (n == 3 && k > 0 && (size_t)k < size)
		snprintf(buf + k, size - (size_t)k, " / %.2f", v[2]);
}

struct scenario_text {
	char threads[24], shape[48], requests[24], offered[24], achieved[24], tps[24], ttft[64], tpot[64], queue[48];
};

static void scenario_text(struct scenario_text *t, const struct rpt_scenario *s)
{
	snprintf(t->threads, sizeof t->threads, s->threads >= 0 ? "%lld" : "n/a", (long long)s->threads);
	snprintf(t->shape, sizeof t->shape, "%lld + %lld", (long long)s->n_prompt, (long long)s->n_gen);
	fig(t->requests, sizeof t->requests, "%.0f", s->n_requests);
	fig(t->offered, sizeof t->offered, "%.2f", s->offered_qps);
	fig(t->achieved, sizeof t->achieved, "%.2f", s->achieved_qps);
	fig(t->tps, sizeof t->tps, "%.1f", s->output_tps);
	pcts(t->ttft, sizeof t->ttft, s->ttft_ms, 3);
	pcts(t->tpot, sizeof t->tpot, s->tpot_ms, 3);
	pcts(t->queue, sizeof t->queue, s->queue_ms, 2);
}

void rpt_scenario_table(FILE *f, const struct rpt_input *in, bool md)
{
	if (!in->n_scenarios)
		return;
	static const char *const head[] = { "run", "test", "threads", "prompt + gen", "requests", "offered QPS",
					    "achieved QPS", "output tokens/s", "TTFT ms p50 / p90 / p99",
					    "TPOT ms p50 / p90 / p99", "queue ms p50 / p90", "note" };
	enum { N_COLS = 12 };
	fputs(md ? "Request-level results (server and offline scenarios, ppN+tgM requests), as recorded; n/a: not in "
		   "the record.\n\n|" : "<p>Request-level results (server and offline scenarios, ppN+tgM requests), as "
		   "recorded; n/a: not in the record.</p>\n<table>\n<tr>", f);
	for (size_t c = 0; c < N_COLS; c++)
		fprintf(f, md ? " %s |" : "<th>%s</th>", head[c]);
	fputs(md ? "\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n" : "</tr>\n", f);
	for (size_t i = 0; i < in->n_scenarios; i++) {
		const struct rpt_scenario *s = &in->scenarios[i];
		struct scenario_text t;
		scenario_text(&t, s);
		const char *run = s->run < in->n_runs && in->runs[s->run].label ? in->runs[s->run].label : "?";
		const char *cells[N_COLS] = { run, s->test, t.threads, t.shape, t.requests, t.offered, t.achieved, t.tps,
					      t.ttft, t.tpot, t.queue, s->note ? s->note : "" };
		fputs(md ? "|" : "<tr>", f);
		for (size_t c = 0; c < N_COLS; c++) {
			const bool text = c < 2 || c == N_COLS - 1;
			fputs(md ? " " : text ? "<td>" : "<td class=\"n\">", f);
			esc(f, cells[c], md);
			fputs(md ? " |" : "</td>", f);
		}
		fputs(md ? "\n" : "</tr>\n", f);
	}
	fputs(md ? "\n" : "</table>\n", f);
}
