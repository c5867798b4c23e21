/* cmp_bench.c — merilo compare's performance section from the runs' bench
 * records (RUN/bench.json, else RUN/bench.jsonl, written by merilo bench; with
 * --baseline, the base's as the history database took it from its folder):
 * prefill and decode tokens/s, TTFT and energy per token, candidate / base with
 * a bootstrap CI over the repetitions (unpaired: each side resampled on its
 * own). Informational unless --gate-perf; then a gate that cannot decide (a run
 * without a bench record, no tokens/s or TTFT figure in both) is undetermined,
 * never a pass, as a KL gate without enough top-K mass is. Split from
 * cmd_compare.c.
 */
#include "harness/bench.h"
#include "harness/bench_ab_int.h"
#include "harness/cmp_int.h"
#include "harness/hrn.h"
#include "records/run.h"
#include "reports/rpt.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The run's bench record (bench.json, else bench.jsonl, in the folder of arg: a run folder or
 * its results.json; rec_run_read_bench, which db add stores too) into d; 1 when it has
 * none, 0 when read, < 0 on a malformed record. */
static int load_bench(const char *arg, struct hrn_bench_doc *d, struct mrl_err *err)
{
	struct rec_run run;
	hrn_bench_doc_init(d);
	int rc = rec_run_load(arg, REC_RUN_BENCH, &run, err);
	if (!rc)
		rc = run.bench_text ? hrn_bench_read_text(run.bench_text, run.bench_len, run.bench_path, d, err) : 1;
	rec_run_release(&run);
	return rc;
}

/* One row of the table; a failed gated row also goes into st->perf_failures. */
static void add_row(struct cmp_state *st, const struct hrn_perf_delta *d, double threshold, bool gated)
{
	struct mrl_buf *s = &st->perf;
	const bool ci = isfinite(d->lo);
	const bool better = ci && (d->higher_is_better ? d->lo > 1 + threshold : d->hi < 1 / (1 + threshold));
	const bool fail = gated && d->worse;
	st->n_perf_gated += gated && ci;
	st->n_perf_failed += fail;
	if (fail) {
		mrl_buf_addf(&st->perf_failures, "%s%s (%lld thread%s): %s %s x%.4f, CI [%.4f, %.4f];",
			     st->perf_failures.len ? " " : "", d->test, (long long)d->threads, d->threads == 1 ? "" : "s",
			     d->figure, d->unit, d->ratio, d->lo, d->hi);
	}
	mrl_buf_add(s, "| ");
	rpt_esc_md(s, d->test);
	mrl_buf_addf(s, " | %lld | %s (%s) | ", (long long)d->threads, d->figure, d->unit);
	if (isfinite(d->base))
		mrl_buf_addf(s, "%.4g | ", d->base);
	else
		mrl_buf_add(s, "— | ");
	if (isfinite(d->cand))
		mrl_buf_addf(s, "%.4g | ", d->cand);
	else
		mrl_buf_add(s, "— | ");
	if (isfinite(d->ratio))
		mrl_buf_addf(s, "%.4f | ", d->ratio);
	else
		mrl_buf_add(s, "— | ");
	if (ci)
		mrl_buf_addf(s, "[%.4f, %.4f] | %s |\n", d->lo, d->hi,
			     fail ? "**FAIL** (worse)" : d->worse ? "worse" : better ? "better" : "no clear change");
	else {
		rpt_esc_md(s, d->why_null ? d->why_null : "—");
		mrl_buf_add(s, " | — |\n");
	}
}

/* Why --gate-perf cannot decide, into st->perf_undetermined (printf-style). */
static void __attribute__((format(printf, 2, 3))) undetermined(struct cmp_state *st, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(st->perf_undetermined, sizeof st->perf_undetermined, fmt, ap);
	va_end(ap);
}

/* The tests (name and threads) of `from` that `in` lacks, as "pp32 (1 thread), ..."
 * into buf (size bytes, cut with "..." when long); how many. gated: only the kinds
 * the perf gate judges (pp, tg, request; not a server or offline scenario). */
static size_t tests_missing(const struct hrn_bench_doc *from, const struct hrn_bench_doc *in, bool gated, char *buf,
			    size_t size)
{
	size_t n = 0, len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < from->n_results; i++) {
		const struct hrn_bench_result *r = &from->results[i];
		const char *figure;
		if (hrn_ab_find_result(in, r->test, r->threads) || (gated && !hrn_bench_gated_series(r, &figure)))
			continue;
		if (len + 48 < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%s (%lld thread%s)", n ? ", " : "", r->test,
						(long long)r->threads, r->threads == 1 ? "" : "s");
		else if (len + 5 < size && !strstr(buf, ", ..."))
			len += (size_t)snprintf(buf + len, size - len, ", ...");
		n++;
	}
	return n;
}

/* Tests in one bench record only: a note each way; a gated candidate that
 * lacks some of the base's tests cannot pass them (they might be the slow ones). */
static int one_sided_tests(struct cmp_state *st, const struct hrn_bench_doc *bb, const struct hrn_bench_doc *bc,
			   bool gated)
{
	char only_base[512], only_cand[512], judged[512];
	const size_t nb = tests_missing(bb, bc, false, only_base, sizeof only_base),
		     nc = tests_missing(bc, bb, false, only_cand, sizeof only_cand),
		     nj = gated ? tests_missing(bb, bc, true, judged, sizeof judged) : 0;
	int rc = 0;
	if (nb)
		rc = hrn_cmp_add_note(st, "performance: %zu bench test%s of the base %s not in the candidate's record: %s", nb,
				      nb == 1 ? "" : "s", nb == 1 ? "is" : "are", only_base);
	if (!rc && nc)
		rc = hrn_cmp_add_note(st, "performance: %zu bench test%s of the candidate %s not in the base's record: %s", nc,
				      nc == 1 ? "" : "s", nc == 1 ? "is" : "are", only_cand);
	if (nj)
		undetermined(st, "the candidate's bench record lacks %zu test%s of the base's: %s", nj, nj == 1 ? "" : "s",
			     judged);
	return rc;
}

int hrn_cmp_bench_section(struct cmp_state *st, const struct cmp_opts *o, struct mrl_err *err)
{
	struct hrn_bench_doc bb, bc;
	struct hrn_perf_delta *rows = NULL;
	size_t n = 0;
	const bool gated = !isnan(o->gate_perf);
	hrn_bench_doc_init(&bb);
	hrn_bench_doc_init(&bc);
	int hb = !o->baseline	  ? load_bench(o->base_dir, &bb, err)
		 : st->base_bench ? hrn_bench_read_text(st->base_bench, st->base_bench_len, st->base_bench_where, &bb, err)
				  : 1,
	    hc = hb < 0 ? 1 : load_bench(o->cand_dir, &bc, err), rc = 0;
	if (hb < 0 || hc < 0) {
		rc = hb < 0 ? hb : hc;
		goto out;
	}
	if (hb || hc) {
		const char *who = hb && hc ? "neither run carries one"
				  : hc	   ? "the candidate run has none"
				  : o->baseline ? "the base run (--baseline, from the history database) has none: its folder held "
						  "no bench.json when it was added"
						: "the base run has none";
		rc = hrn_cmp_add_note(st, "performance: prefill/decode throughput, TTFT and energy per token need bench records "
				  "(merilo bench --format json --out RUN/bench.json); %s, so no deltas are given for them", who);
		if (gated && hb && hc)
			undetermined(st, "neither run carries a bench record (RUN/bench.json): %s, %s", o->baseline ? "the base "
				     "from the history database (--baseline)" : o->base_dir, o->cand_dir);
		else if (gated)
			undetermined(st, "%s run %s%s carries no bench record (RUN/bench.json)", hb ? "the base" : "the candidate",
				     hb ? o->base_dir : o->cand_dir, hb && o->baseline ? " (--baseline, from the history database)" : "");
		goto out;
	}
	struct hrn_ab_opts ao;
	hrn_ab_opts_init(&ao);
	ao.seed = o->seed;
	ao.n_resamples = o->n_boot;
	ao.threshold = gated ? o->gate_perf : 0.05;
	if ((rc = hrn_bench_perf_deltas(&bb, &bc, &ao, &rows, &n, err)) || (rc = one_sided_tests(st, &bb, &bc, gated)))
		goto out;
	if (!n) {
		rc = hrn_cmp_add_note(st, "performance: both runs carry bench records, but no test (name and threads) is in both");
		if (gated)
			undetermined(st, "the runs' bench records have no test (name and threads) in common");
		goto out;
	}
	struct mrl_buf *s = &st->perf;
	mrl_buf_addf(s, "%s### Performance from bench records (%s)\n\n"
		     "Candidate / base: ratio of the medians over the repetitions, with a 95%% bootstrap CI (%zu resamples, "
		     "each side resampled on its own). Tokens/s: higher is better; TTFT and J/token: lower is better.%s\n\n"
		     "| test | threads | figure | base | candidate | cand/base | 95%% CI | verdict |\n"
		     "|---|---:|---|---:|---:|---:|---|---|\n", s->len ? "\n" : "",
		     gated ? "gated by --gate-perf" : "informational, not gated", ao.n_resamples,
		     gated ? " A row fails when its CI lies wholly beyond the --gate-perf threshold on the worse side." : "");
	for (size_t i = 0; i < n; i++)
		add_row(st, &rows[i], ao.threshold, gated);
	if (gated && !st->n_perf_gated)
		undetermined(st, "no tokens/s or TTFT figure with a CI is in both runs' bench records");
	if (st->n_perf_failed)
		rc = hrn_cmp_add_note(st, "performance gate (--gate-perf %.3g%%): %zu bench figure%s worse beyond the threshold",
			      100 * o->gate_perf, st->n_perf_failed, st->n_perf_failed == 1 ? " is" : "s are");
out:
	free(rows);
	hrn_bench_doc_release(&bb);
	hrn_bench_doc_release(&bc);
	return rc;
}

int hrn_cmp_perf_meta(const struct cmp_state *st, const struct cmp_opts *o, struct rpt_cmp_meta *meta,
		      struct mrl_err *err)
{
	if (st->perf.oom || st->perf_failures.oom)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory for the performance section");
	meta->perf_md = st->perf.len ? st->perf.data : NULL;
	meta->perf_gated = !isnan(o->gate_perf);
	meta->perf_threshold = o->gate_perf;
	meta->perf_n_gated = st->n_perf_gated;
	meta->perf_n_failed = st->n_perf_failed;
	meta->perf_failures = st->perf_failures.len ? st->perf_failures.data : NULL;
	meta->perf_undetermined = st->perf_undetermined[0] ? st->perf_undetermined : NULL;
	return 0;
}
