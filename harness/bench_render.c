/* bench_render.c — the views of a bench record: the markdown table people
 * read, CSV for spreadsheets, and the JSON / JSONL record itself
 * (hrn_bench_render). The record and its JSON live in bench_io.c; this file
 * only formats what is there, null figures with their reasons.
 */
#include "harness/bench.h"
#include "metrics/met.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"

#define DUMP_PRETTY (JSON_INDENT(2) | JSON_REAL_PRECISION(17))
#define DUMP_COMPACT (JSON_COMPACT | JSON_REAL_PRECISION(17))

/* A number with about 3 significant digits after the point for small values. */
static const char *num(char *buf, size_t size, double v)
{
	if (isnan(v))
		snprintf(buf, size, "null");
	else if (fabs(v) >= 100)
		snprintf(buf, size, "%.1f", v);
	else if (fabs(v) >= 1)
		snprintf(buf, size, "%.2f", v);
	else
		snprintf(buf, size, "%.3g", v);
	return buf;
}

static const char *human_bytes(char *buf, size_t size, double b)
{
	if (isnan(b))
		snprintf(buf, size, "null");
	else if (b >= 1024.0 * 1024 * 1024)
		snprintf(buf, size, "%.2f GiB", b / (1024.0 * 1024 * 1024));
	else
		snprintf(buf, size, "%.2f MiB", b / (1024.0 * 1024));
	return buf;
}

static const char *human_count(char *buf, size_t size, double n)
{
	if (isnan(n) || n < 0)
		snprintf(buf, size, "null");
	else if (n >= 1e9)
		snprintf(buf, size, "%.2f B", n / 1e9);
	else if (n >= 1e6)
		snprintf(buf, size, "%.2f M", n / 1e6);
	else
		snprintf(buf, size, "%.0f", n);
	return buf;
}

static double fig_value(const struct hrn_bench_result *r, const char *name)
{
	const struct rec_reading *f = hrn_bench_result_figure(r, name);
	return f && !f->reason ? f->value : NAN;
}

static double series_stat(const struct hrn_bench_result *r, const char *name, int which)
{
	const struct hrn_bench_series *s = hrn_bench_result_series(r, name);
	if (!s || !s->n)
		return NAN;
	switch (which) {
	case 0: return s->st.mean;
	case 1: return s->st.sd;
	case 2: return s->st.median;
	case 3: return s->st.p90;
	case 4: return s->st.p99;
	default: return s->st.p50;
	}
}

enum { ST_MEAN, ST_SD, ST_MEDIAN, ST_P90, ST_P99, ST_P50 };

/* "mean ± sd" of series name, or only the mean where the sd is null (one
 * repetition measures no spread: "± null" read as a broken figure). */
static void mean_sd(char *buf, size_t size, const struct hrn_bench_result *r, const char *name)
{
	char m[64], sd[64];
	const double v = series_stat(r, name, ST_SD);
	num(m, sizeof m, series_stat(r, name, ST_MEAN));
	if (isnan(v))
		snprintf(buf, size, "%s", m);
	else
		snprintf(buf, size, "%s ± %s", m, num(sd, sizeof sd, v));
}

/* Distinct null reasons of a figure over the results, as "- name: reason" lines. */
/* Why the figures named in names (NULL-ended) are null: each distinct reason
 * once, in short (met_reason_short), pointing to the JSON output that keeps it
 * whole: "- energy (J/token): no energy source on this machine — see --format
 * json figures.energy_j_per_token_*.null_reason". json_name NULL:
 * each distinct reason whole (it is short already). */
static void md_null_reasons(struct mrl_buf *b, const struct hrn_bench_doc *d, const char *const *names,
			    const char *label, const char *json_name)
{
	char seen[8][160];
	size_t n_seen = 0;
	for (size_t n = 0; names[n]; n++)
		for (size_t i = 0; i < d->n_results; i++) {
			const struct rec_reading *f = hrn_bench_result_figure(&d->results[i], names[n]);
			char s[160];
			if (!f || !f->reason)
				continue;
			if (!json_name) { /* a reason that is short already ("not applicable: CPU backend (...)") */
				bool dup = false;
				for (size_t k = 0; k < i; k++) {
					const struct rec_reading *g = hrn_bench_result_figure(&d->results[k], names[n]);
					dup |= g && g->reason && !strcmp(g->reason, f->reason);
				}
				if (!dup)
					mrl_buf_addf(b, "- %s null: %s\n", label, f->reason);
				continue;
			}
			met_reason_short(f->reason, s, sizeof s);
			bool dup = false;
			for (size_t k = 0; k < n_seen; k++)
				dup |= !strcmp(seen[k], s);
			if (dup || n_seen == 8)
				continue;
			memcpy(seen[n_seen++], s, sizeof s);
			mrl_buf_addf(b, "- %s: %s — see --format json figures.%s.null_reason\n", label, s,
				     json_name);
		}
}

static const char *model_label(const struct hrn_bench_doc *d)
{
	return d->model.name && *d->model.name ? d->model.name : d->model.arch ? d->model.arch : "model";
}

/* The "limits hold" cell: null (-1) is "no limits given", or, where limits were
 * given, that there was no request to check them on. */
static const char *limits_cell(const struct hrn_bench_result *r)
{
	if (r->limits_hold >= 0)
		return r->limits_hold ? "yes" : "NO";
	return isnan(fig_value(r, "ttft_limit_ms")) && isnan(fig_value(r, "tpot_limit_ms")) ? "no limits given"
											   : "null (no request)";
}

/* The notes under the tables: where the figures come from, and why some are null. */
static void md_notes(struct mrl_buf *b, const struct hrn_bench_doc *d, bool any_tp, bool any_lat, bool any_sc)
{
	char x[40];
	mrl_buf_addf(b, "Notes:\n");
	/* repetitions and utilisation are figures of the pp/tg/request tests; a scenario runs
	 * once and has no roofline figure (its own note says what it measured) */
	if (any_tp || any_lat)
		mrl_buf_addf(b, "- t/s: mean ± sd over %lld timed repetitions (%lld warm-up discarded; no ± where one "
		     "repetition measured no spread); token ids pseudo-random "
		     "from the recorded seed, no tokenization timed. TTFT, TPOT, ITL: MLPerf definitions "
		     "(docs/measurement.md, \"Bench figures\").\n",
		  d->n_results ? (long long)d->results[0].reps : 0LL, d->n_results ? (long long)d->results[0].warmup : 0LL);
	else if (any_sc)
		mrl_buf_addf(b, "- %lld warm-up request%s before the timed ones, discarded; TTFT, TPOT, ITL: MLPerf "
			     "definitions (docs/measurement.md, \"Bench figures\").\n",
			     (long long)d->results[0].warmup, d->results[0].warmup == 1 ? "" : "s");
	const struct hrn_bench_roofline *rf = &d->roofline;
	if (rf->present)
		mrl_buf_addf(b, "- host roofline%s: read bandwidth %.2f GB/s (%lld threads, best of %lld, %s buffer, %s); "
			     "peak %.1f GFLOP/s per core, %.1f GFLOP/s on %lld threads (%s)\n",
			  rf->from_cache ? " (cached)" : "", rf->read_bw_bytes_per_s / 1e9, (long long)rf->bw_threads,
			  (long long)rf->bw_runs, human_bytes(x, sizeof x, (double)rf->bw_buffer_bytes),
			  rf->bw_kernel ? rf->bw_kernel : "",
			  rf->flops_per_core / 1e9, rf->flops_all_cores / 1e9, (long long)rf->flops_threads,
			  rf->flops_kernel ? rf->flops_kernel : "");
	else if (any_tp)
		mrl_buf_addf(b, "- util null: %s\n", rf->reason ? rf->reason : "no host roofline");
	static const char *const energy[] = { "energy_j_per_token_prefill", "energy_j_per_token_decode", NULL },
			  *const devmem[] = { "device_memory_bytes", NULL };
	md_null_reasons(b, d, energy, "energy (J/token)", "energy_j_per_token_*");
	md_null_reasons(b, d, devmem, "device memory", NULL);
	for (size_t i = 0; i < d->n_results; i++) {
		const struct hrn_bench_result *r = &d->results[i];
		if (r->n_counters) {
			size_t n_valid = 0;
			for (size_t k = 0; k < r->n_counters; k++)
				n_valid += !r->counters[k].reason;
			char why[160];
			met_reason_short(r->counters_status, why, sizeof why);
			mrl_buf_addf(b, "- counters per token: %zu of %zu available (%s); per-test values and the whole "
				     "status in the JSON output (counters_status)\n", n_valid, r->n_counters, why);
			break;
		}
	}
	for (size_t i = 0; i < d->n_results; i++)
		if (d->results[i].note)
			mrl_buf_addf(b, "- %s: %s\n", d->results[i].test, d->results[i].note);
}

static void render_md(const struct hrn_bench_doc *d, struct mrl_buf *b)
{
	char x[40], y[40], z[40], w[40];
	bool any_tp = false, any_lat = false, any_sc = false;
	for (size_t i = 0; i < d->n_results; i++) {
		const char *k = d->results[i].kind;
		any_tp |= !strcmp(k, "pp") || !strcmp(k, "tg");
		any_lat |= !strcmp(k, "request");
		any_sc |= !strcmp(k, "server") || !strcmp(k, "offline");
	}
	mrl_buf_addf(b, "merilo bench: %s %s (%s), %s params, %s; host %s, %lld cores\n\n", model_label(d),
		  d->model.type ? d->model.type : "", human_bytes(x, sizeof x, (double)d->model.size_bytes),
		  human_count(y, sizeof y, (double)d->model.n_params),
		  d->model.path ? d->model.path : "", d->manifest.hostname ? d->manifest.hostname : "unknown",
		  (long long)d->manifest.logical_cores);
	if (any_tp) {
		mrl_buf_addf(b, "| model | size | params | backend | threads | test | t/s | median t/s | peak RSS | J/token "
			     "| util |\n|---|---:|---:|---|---:|---|---:|---:|---:|---:|---:|\n");
		for (size_t i = 0; i < d->n_results; i++) {
			const struct hrn_bench_result *r = &d->results[i];
			bool pp = !strcmp(r->kind, "pp");
			if (!pp && strcmp(r->kind, "tg"))
				continue;
			char tps[160], util[160], jt[160];
			mean_sd(tps, sizeof tps, r, "tokens_per_s");
			double u = fig_value(r, pp ? "flop_utilization" : "bandwidth_utilization");
			if (isnan(u))
				snprintf(util, sizeof util, "null");
			else
				snprintf(util, sizeof util, "%s %.1f%%", pp ? "FLOP" : "BW", 100 * u);
			double j = fig_value(r, pp ? "energy_j_per_token_prefill" : "energy_j_per_token_decode");
			snprintf(jt, sizeof jt, "%s", isnan(j) ? "null" : num(z, sizeof z, j));
			mrl_buf_addf(b, "| %s %s | %s | %s | %s | %lld | %s | %s | %s | %s | %s | %s |\n", model_label(d),
				  d->model.type ? d->model.type : "", human_bytes(x, sizeof x, (double)d->model.size_bytes),
				  human_count(y, sizeof y, (double)d->model.n_params), r->backend, (long long)r->threads,
				  r->test, tps, num(z, sizeof z, series_stat(r, "tokens_per_s", ST_MEDIAN)),
				  human_bytes(w, sizeof w, fig_value(r, "peak_rss_bytes")), jt, util);
		}
		mrl_buf_addf(b, "\n");
	}
	if (any_lat) {
		mrl_buf_addf(b, "| threads | test | TTFT ms | TPOT ms | ITL p50 ms | ITL p90 ms | ITL p99 ms | e2e ms |\n"
			     "|---:|---|---:|---:|---:|---:|---:|---:|\n");
		for (size_t i = 0; i < d->n_results; i++) {
			const struct hrn_bench_result *r = &d->results[i];
			if (strcmp(r->kind, "request"))
				continue;
			char ttft[160], tpot[160], e2e[160];
			mean_sd(ttft, sizeof ttft, r, "ttft_ms");
			mean_sd(tpot, sizeof tpot, r, "tpot_ms");
			snprintf(e2e, sizeof e2e, "%s", num(x, sizeof x, series_stat(r, "e2e_ms", ST_MEDIAN)));
			mrl_buf_addf(b, "| %lld | %s | %s | %s | %s | %s | %s | %s |\n", (long long)r->threads, r->test, ttft,
				  tpot, num(x, sizeof x, series_stat(r, "itl_ms", ST_P50)),
				  num(y, sizeof y, series_stat(r, "itl_ms", ST_P90)),
				  num(z, sizeof z, series_stat(r, "itl_ms", ST_P99)), e2e);
		}
		mrl_buf_addf(b, "\n");
	}
	if (any_sc) {
		mrl_buf_addf(b, "| scenario | threads | requests | offered QPS | achieved QPS | out t/s | TTFT p50/p90/p99 ms "
			     "| queue p50/p99 ms | TPOT p99 ms | ITL p99 ms | limits hold |\n"
			     "|---|---:|---:|---:|---:|---:|---|---|---:|---:|---|\n");
		for (size_t i = 0; i < d->n_results; i++) {
			const struct hrn_bench_result *r = &d->results[i];
			if (strcmp(r->kind, "server") && strcmp(r->kind, "offline"))
				continue;
			char ttft[160], queue[160], q1[160], q2[160];
			snprintf(ttft, sizeof ttft, "%s / %s / %s", num(x, sizeof x, series_stat(r, "ttft_ms", ST_P50)),
				 num(y, sizeof y, series_stat(r, "ttft_ms", ST_P90)),
				 num(z, sizeof z, series_stat(r, "ttft_ms", ST_P99)));
			snprintf(queue, sizeof queue, "%s / %s", num(x, sizeof x, series_stat(r, "queue_ms", ST_P50)),
				 num(y, sizeof y, series_stat(r, "queue_ms", ST_P99)));
			mrl_buf_addf(b, "| %s | %lld | %.0f | %s | %s | %s | %s | %s | %s | %s | %s |\n", r->test,
				  (long long)r->threads, fig_value(r, "n_requests"), num(q1, sizeof q1, fig_value(r, "offered_qps")),
				  num(q2, sizeof q2, fig_value(r, "achieved_qps")),
				  num(w, sizeof w, fig_value(r, "output_tokens_per_s")), ttft, queue,
				  num(x, sizeof x, series_stat(r, "tpot_ms", ST_P99)),
				  num(y, sizeof y, series_stat(r, "itl_ms", ST_P99)),
				  limits_cell(r));
		}
		mrl_buf_addf(b, "\n");
	}
	md_notes(b, d, any_tp, any_lat, any_sc);
}

static void csv_field(struct mrl_buf *b, const char *s)
{
	if (!s) {
		mrl_buf_addf(b, ",");
		return;
	}
	if (strpbrk(s, ",\"\n")) {
		mrl_buf_addf(b, "\"");
		for (const char *p = s; *p; p++)
			mrl_buf_addf(b, *p == '"' ? "\"\"" : "%c", *p);
		mrl_buf_addf(b, "\",");
	} else {
		mrl_buf_addf(b, "%s,", s);
	}
}

static void csv_num(struct mrl_buf *b, double v, bool last)
{
	if (isnan(v))
		mrl_buf_addf(b, last ? "\n" : ",");
	else
		mrl_buf_addf(b, last ? "%.17g\n" : "%.17g,", v);
}

static void render_csv(const struct hrn_bench_doc *d, struct mrl_buf *b)
{
	mrl_buf_addf(b, "model,type,size_bytes,n_params,backend,threads,test,kind,n_prompt,n_gen,depth,reps,warmup,seed,"
		     "tps_mean,tps_sd,tps_median,ttft_ms_median,tpot_ms_median,itl_ms_p50,itl_ms_p90,itl_ms_p99,"
		     "queue_ms_p99,peak_rss_bytes,energy_j_per_token,bandwidth_utilization,flop_utilization,"
		     "achieved_qps,limits_hold\n");
	for (size_t i = 0; i < d->n_results; i++) {
		const struct hrn_bench_result *r = &d->results[i];
		char ints[256];
		csv_field(b, model_label(d));
		csv_field(b, d->model.type);
		snprintf(ints, sizeof ints, "%lld,%lld,", (long long)d->model.size_bytes, (long long)d->model.n_params);
		mrl_buf_addf(b, "%s", ints);
		csv_field(b, r->backend);
		mrl_buf_addf(b, "%lld,", (long long)r->threads);
		csv_field(b, r->test);
		csv_field(b, r->kind);
		/* n_prompt -1: null (a scenario's prompts of differing lengths), an empty cell */
		if (r->n_prompt >= 0)
			mrl_buf_addf(b, "%lld", (long long)r->n_prompt);
		mrl_buf_addf(b, ",%lld,%lld,%lld,%lld,%lld,", (long long)r->n_gen, (long long)r->depth, (long long)r->reps,
			     (long long)r->warmup, (long long)r->seed);
		csv_num(b, series_stat(r, "tokens_per_s", ST_MEAN), false);
		csv_num(b, series_stat(r, "tokens_per_s", ST_SD), false);
		csv_num(b, series_stat(r, "tokens_per_s", ST_MEDIAN), false);
		csv_num(b, series_stat(r, "ttft_ms", ST_MEDIAN), false);
		csv_num(b, series_stat(r, "tpot_ms", ST_MEDIAN), false);
		csv_num(b, series_stat(r, "itl_ms", ST_P50), false);
		csv_num(b, series_stat(r, "itl_ms", ST_P90), false);
		csv_num(b, series_stat(r, "itl_ms", ST_P99), false);
		csv_num(b, series_stat(r, "queue_ms", ST_P99), false);
		csv_num(b, fig_value(r, "peak_rss_bytes"), false);
		double j = fig_value(r, "energy_j_per_token_prefill");
		csv_num(b, isnan(j) ? fig_value(r, "energy_j_per_token_decode") : j, false);
		csv_num(b, fig_value(r, "bandwidth_utilization"), false);
		csv_num(b, fig_value(r, "flop_utilization"), false);
		csv_num(b, fig_value(r, "achieved_qps"), false);
		mrl_buf_addf(b, "%s\n", r->limits_hold < 0 ? "" : r->limits_hold ? "true" : "false");
	}
}

int hrn_bench_render(const struct hrn_bench_doc *d, enum hrn_bench_format fmt, char **out, struct mrl_err *err)
{
	struct mrl_buf b = MRL_BUF_INIT;
	if (fmt == HRN_BENCH_MD) {
		render_md(d, &b);
	} else if (fmt == HRN_BENCH_CSV) {
		render_csv(d, &b);
	} else if (fmt == HRN_BENCH_JSON) {
		json_t *j = hrn_bench_doc_to_json(d);
		char *s = j ? json_dumps(j, DUMP_PRETTY) : NULL;
		json_decref(j);
		if (s)
			mrl_buf_addf(&b, "%s\n", s);
		else
			b.oom = true;
		free(s);
	} else {
		for (size_t i = 0; i < d->n_results && !b.oom; i++) {
			json_t *j = hrn_bench_line_to_json(d, i);
			char *s = j ? json_dumps(j, DUMP_COMPACT) : NULL;
			json_decref(j);
			if (s)
				mrl_buf_addf(&b, "%s\n", s);
			else
				b.oom = true;
			free(s);
		}
	}
	/* an empty JSONL document is "" */
	if (!(*out = mrl_buf_detach(&b, NULL)))
		return mrl_err_set(err, MRL_ENOMEM, "bench: out of memory rendering the output");
	return 0;
}
