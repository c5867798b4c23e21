/* hrn_bench.c — `merilo bench`: the arithmetic of its figures on hand-made cases
 * (MLPerf TTFT/TPOT/ITL, Poisson arrivals, bytes and FLOPs per token), the host
 * roofline kernels, and the command as a user runs it on a `merilo synth --preset
 * tiny` model: every output format parses, the JSON and JSONL round-trip through
 * hrn_bench_read byte for byte, energy is null with a reason where no source exists
 * (forced here with empty source roots), -o FILE without --format writes the format
 * its extension names, the server scenario reports percentiles
 * and a queueing figure, --backend cuda without CUDA exits 4, a bad model exits 3,
 * an -o that cannot be written is found before measuring (and one that fails
 * late leaves the record on standard output).
 * Runs the binary named by $MERILO (set by `make test`). */
#include "tests/tap.h"
#include "tests/cli.h"

#include <math.h>
#include <unistd.h>

#include "common/fileio.h"
#include "harness/bench.h"

static char tmp[256];

static const struct hrn_bench_result *find(const struct hrn_bench_doc *d, const char *test, int threads)
{
	for (size_t i = 0; i < d->n_results; i++)
		if (!strcmp(d->results[i].test, test) && d->results[i].threads == threads)
			return &d->results[i];
	return NULL;
}

static void test_latency(void)
{
	struct mrl_err err = { 0 };
	const uint64_t t[] = { 1100, 1150, 1230, 1300 };
	double itl[3] = { 0 };
	struct hrn_bench_latency lat;
	is_int(hrn_bench_request_latency(1000, t, 4, itl, &lat, &err), 0, "latency of a 4-token request");
	is_near(lat.ttft_ns, 100, 0, "TTFT = first token - request start");
	is_near(lat.e2e_ns, 300, 0, "e2e = last token - request start");
	is_near(lat.tpot_ns, 200.0 / 3, 1e-12, "TPOT = (e2e - TTFT) / (n - 1)");
	ok(itl[0] == 50 && itl[1] == 80 && itl[2] == 70, "ITL = gaps between consecutive tokens");
	is_int(hrn_bench_request_latency(1000, t, 1, NULL, &lat, &err), 0, "a 1-token request");
	ok(isnan(lat.tpot_ns) && lat.ttft_ns == 100, "1 token: TPOT undefined (NaN), TTFT defined");
	const uint64_t back[] = { 1100, 1050 };
	is_int(hrn_bench_request_latency(1000, back, 2, NULL, &lat, &err), MRL_EINPUT, "time going backwards is refused");
	is_int(hrn_bench_request_latency(2000, t, 2, NULL, &lat, &err), MRL_EINPUT, "first token before start is refused");
}

static void test_poisson(void)
{
	struct mrl_err err = { 0 };
	double *a = NULL, *b = NULL;
	size_t na = 0, nb = 0;
	is_int(hrn_bench_poisson_arrivals(7, 50, 200, &a, &na, &err), 0, "Poisson arrivals at 50/s over 200 s");
	hrn_bench_poisson_arrivals(7, 50, 200, &b, &nb, &err);
	ok(na == nb && na && !memcmp(a, b, na * sizeof *a), "same seed, same arrivals");
	/* N ~ Poisson(10000): sd 100; 4 sd */
	ok(na > 9600 && na < 10400, "count near qps x duration (10000 +- 4 sd)");
	bool sorted = true;
	for (size_t i = 1; i < na; i++)
		sorted &= a[i] >= a[i - 1];
	ok(sorted && a[0] >= 0 && a[na - 1] < 200, "ascending, inside [0, duration)");
	double mean_gap = a[na - 1] / (double)na, var = 0;
	for (size_t i = 1; i < na; i++) {
		double g = a[i] - a[i - 1] - 0.02;
		var += g * g;
	}
	is_near(mean_gap, 0.02, 0.001, "mean inter-arrival time 1/qps");
	is_near(sqrt(var / (double)(na - 1)), 0.02, 0.001, "exponential gaps: sd = mean = 1/qps");
	free(a);
	free(b);
	hrn_bench_poisson_arrivals(8, 50, 200, &b, &nb, &err);
	ok(nb && (nb != na || b[0] != 0), "another seed, other arrivals");
	free(b);
	is_int(hrn_bench_poisson_arrivals(1, 0, 1, &a, &na, &err), MRL_EINPUT, "qps 0 is refused");
	is_int(hrn_bench_poisson_arrivals(1, 1, NAN, &a, &na, &err), MRL_EINPUT, "duration NaN is refused");
}

static void test_costs(void)
{
	struct hrn_bench_shape s = { .n_layer = 2, .n_embd = 8, .n_embd_kv = 4, .n_vocab = 50, .kv_elt_bytes = 2,
				     .weight_bytes_decode = 1000, .layer_matmul_params = 100, .output_params = 50 };
	/* KV: 2 (K,V) x 2 bytes x 2 layers x 4 x (10 + (4+1)/2) = 16 x 4 x 12.5 = 400 */
	is_near(hrn_bench_decode_bytes_per_token(&s, 10, 4), 1400, 1e-9, "decode bytes/token = weights + mean KV read");
	is_near(hrn_bench_decode_bytes_per_token(&s, 0, 1), 1000 + 2 * 2 * 2 * 4, 1e-9, "one step at depth 0 reads one position");
	/* 2*100*3 + 2*50 + 4*2*8*3*4/2 = 600 + 100 + 384 */
	is_near(hrn_bench_prefill_flops(&s, 3), 1084, 1e-9, "prefill FLOPs = matmuls + one logits row + attention");
	s.n_embd_q = 16; /* Qwen3: heads x head_dim twice the hidden size */
	is_near(hrn_bench_prefill_flops(&s, 3), 1084 + 384, 1e-9, "attention at n_head x head_dim where that is wider");
	s.n_embd_q = 0;
	ok(isnan(hrn_bench_prefill_flops(&s, 0)), "prefill of 0 tokens: NaN");
}

/* A mixture of experts: a token computes with and reads n_expert_used of the experts, whether
 * they are stored as one 3-d tensor a layer (GGUF) or one matrix each. */
static void test_costs_moe(void)
{
	char dense_path[64], moe_path[64];
	snprintf(dense_path, sizeof dense_path, "/tmp/merilo-bench-dense-%d.gguf", (int)getpid());
	snprintf(moe_path, sizeof moe_path, "/tmp/merilo-bench-moe-%d.gguf", (int)getpid());
	struct eng_synth_opts o = { .preset = "tiny", .dtype = "f32", .seed = 1 };
	struct mrl_err err = { 0 };
	struct eng_model *dense = NULL, *moe = NULL;
	struct eng_open_opts oo = { .n_threads = 1 };
	int rc = eng_synth(&o, dense_path, NULL, &err) || eng_model_open(&dense, dense_path, &oo, &err);
	o.n_expert = 8;
	o.n_expert_used = 2;
	rc = rc || eng_synth(&o, moe_path, NULL, &err) || eng_model_open(&moe, moe_path, &oo, &err);
	struct hrn_bench_shape sd, sm;
	rc = rc || hrn_bench_shape_of(dense, &sd, &err) || hrn_bench_shape_of(moe, &sm, &err);
	if (rc)
		diag("%s", err.msg);
	/* tiny: 4 layers of dim 64 (q, o 64 x 64; k, v 64 x 32), ffn 192; a router of 8 x 64 f32 a layer */
	const uint64_t attn = 4 * (2 * 64 * 64 + 2 * 64 * 32), ffn = 4 * 3 * 64 * 192, router = 4 * 8 * 64;
	ok(!rc && sd.layer_matmul_params == attn + ffn, "dense: the layers' matmul parameters are attention's and the FFN's");
	ok(!rc && sm.layer_matmul_params == attn + router + 2 * ffn,
	   "MoE, 8 experts of the dense FFN's size, 2 a token: attention's, the router's and two FFNs'");
	ok(!rc && sm.weight_bytes_decode == sd.weight_bytes_decode + (router + ffn) * 4,
	   "  ...and decode reads their bytes (f32): the router and one FFN more than the dense model");
	eng_model_close(dense);
	eng_model_close(moe);
	unlink(dense_path);
	unlink(moe_path);
}

static void test_roofline_kernels(void)
{
	struct mrl_err err = { 0 };
	struct met_roofline_bw bw;
	struct met_roofline_flops f;
	is_int(met_roofline_read_bandwidth((size_t)16 << 20, 2, 3, &bw, &err), 0, "read bandwidth, 16 MiB, 2 threads");
	ok(bw.best_bytes_per_s > 1e8 && bw.best_bytes_per_s >= bw.median_bytes_per_s, "bandwidth > 0.1 GB/s, best >= median");
	ok(bw.buffer_bytes <= ((size_t)16 << 20) && bw.buffer_bytes > ((size_t)15 << 20) && bw.kernel, "buffer and kernel recorded");
	is_int(met_roofline_peak_flops(1, 2, 0.02, &f, &err), 0, "peak FLOP rate, 1 thread");
	ok(f.best_flops_per_s > 1e8 && f.best_flops_per_s >= f.median_flops_per_s, "FLOP/s > 1e8, best >= median");
	diag("this host: %.2f GB/s read (16 MiB: cache-resident), %.1f GFLOP/s per core (%s)", bw.best_bytes_per_s / 1e9,
	     f.best_flops_per_s / 1e9, f.kernel);
	is_int(met_roofline_read_bandwidth(1000, 1, 1, &bw, &err), MRL_EINPUT, "a buffer under 1 MiB is refused");
	is_int(met_roofline_peak_flops(0, 1, 0.1, &f, &err), MRL_EINPUT, "0 threads is refused");
	is_int(met_roofline_peak_flops(1, MET_ROOFLINE_MAX_RUNS + 1, 0.1, &f, &err), MRL_EINPUT, "too many runs is refused");
}

/* Render d in fmt and compare with the file's bytes. */
static void round_trip(const struct hrn_bench_doc *d, enum hrn_bench_format fmt, const char *path, const char *name)
{
	struct mrl_err err = { 0 };
	char *again = NULL, *orig = cli_slurp(path);
	int rc = hrn_bench_render(d, fmt, &again, &err);
	ok(!rc && orig && again && !strcmp(orig, again), name);
	if (orig && again && strcmp(orig, again)) {
		size_t i = 0;
		while (orig[i] && orig[i] == again[i])
			i++;
		diag("first difference at byte %zu: '%.60s' vs '%.60s'", i, orig + i, again + i);
	}
	free(orig);
	free(again);
}

/* The llama-bench style tests as JSON (b.json): read back, round-trips, a byte-order mark is fine. */
static void test_cli_json(const char *model)
{
	char *out, path[512];
	struct mrl_err err = { 0 };
	struct hrn_bench_doc d;
	snprintf(path, sizeof path, "%s/b.json", tmp);
	int rc = cli_run(&out, "bench --model %s --prompt 8,16 --gen 4 --depth 0,8 --threads 1,2 --reps 2 --warmup 1 "
			   "--seed 5 --format json --out %s", model, path);
	is_int(rc, 0, "bench --format json: exit 0");
	if (rc)
		diag("%s", out);
	free(out);
	rc = hrn_bench_read(path, &d, &err);
	is_int(rc, 0, "hrn_bench_read reads the JSON");
	if (rc)
		diag("%s", err.msg);
	is_int(d.n_results, 12, "2 threads x (2 pp + 2 tg + 2 requests) results");
	ok(d.manifest.model_sha256 && strlen(d.manifest.model_sha256) == 64, "manifest carries the model's SHA-256");
	ok(d.model.n_params > 0 && d.model.type && !strcmp(d.model.type, "f32"), "model params and type recorded");
	round_trip(&d, HRN_BENCH_JSON, path, "JSON round-trips byte for byte (write -> read -> write)");
	{ /* the same record saved with a UTF-8 byte-order mark reads the same */
		char bom_path[600], *text = cli_slurp(path), *with_bom = NULL;
		snprintf(bom_path, sizeof bom_path, "%s/bom.json", tmp);
		if (text && asprintf(&with_bom, "\xEF\xBB\xBF%s", text) > 0)
			cli_write_file(bom_path, with_bom);
		struct hrn_bench_doc bd;
		rc = hrn_bench_read(bom_path, &bd, &err);
		ok(rc == 0 && bd.n_results == d.n_results, "a bench.json with a byte-order mark reads the same");
		if (rc)
			diag("%s", err.msg);
		hrn_bench_doc_release(&bd);
		free(text);
		free(with_bom);
	}
	hrn_bench_doc_release(&d);
}

/* The figures of b.json: raw samples, their statistics, nulls with a reason, latencies. */
static void test_cli_figures(void)
{
	char path[512];
	struct mrl_err err = { 0 };
	struct hrn_bench_doc d;
	snprintf(path, sizeof path, "%s/b.json", tmp);
	if (hrn_bench_read(path, &d, &err)) {
		ok(0, "b.json reads");
		diag("%s", err.msg);
		return;
	}
	const struct hrn_bench_result *pp = find(&d, "pp16", 2), *tg = find(&d, "tg4@d8", 1),
				      *rq = find(&d, "pp8+tg4", 2);
	ok(pp && tg && rq, "pp16, tg4@d8 and pp8+tg4 present");
	if (pp && tg && rq) {
		const struct hrn_bench_series *s = hrn_bench_result_series(pp, "tokens_per_s");
		ok(s && s->n == 2 && s->samples[0] > 0 && s->samples[1] > 0, "pp: 2 raw samples (warm-up discarded), > 0");
		if (s)
			is_near(s->st.mean, (s->samples[0] + s->samples[1]) / 2, 1e-9 * s->st.mean, "pp: mean of the samples");
		const struct hrn_bench_series *secs = hrn_bench_result_series(pp, "seconds");
		if (s && secs)
			is_near(s->samples[0], 16 / secs->samples[0], 1e-6 * s->samples[0], "pp16 t/s = 16 / seconds");
		ok(pp->seed == 5 && pp->warmup == 1 && pp->reps == 2, "seed, warm-up and reps recorded per result");
		const struct rec_reading *en = hrn_bench_result_figure(pp, "energy_j_per_token_prefill");
		ok(en && en->reason && isnan(en->value), "energy per token (prefill) is null");
		like(en ? en->reason : NULL, "no energy source", "energy null reason says why");
		en = hrn_bench_result_figure(tg, "energy_j_per_token_decode");
		ok(en && en->reason, "energy per token (decode) is null with a reason");
		en = hrn_bench_result_figure(pp, "energy_j_per_token_prefill_net");
		ok(en && en->reason && isnan(en->value), "net energy per token (idle subtracted) is null with a reason too");
		const struct rec_reading *rss = hrn_bench_result_figure(pp, "peak_rss_bytes");
		ok(rss && !rss->reason && rss->value > 1e6, "peak RSS measured (> 1 MB)");
		const struct rec_reading *cpu = hrn_bench_result_figure(tg, "cpu_s_per_token");
		ok(cpu && !cpu->reason && cpu->value >= 0, "CPU seconds per token (getrusage) measured");
		ok(pp->counters_status && pp->n_counters > 0, "counters listed with a status");
		bool counters_ok = true;
		for (size_t i = 0; i < pp->n_counters; i++)
			counters_ok &= pp->counters[i].reason ? isnan(pp->counters[i].value) : pp->counters[i].value >= 0;
		ok(counters_ok, "each counter is a value or null with a reason");
		const struct hrn_bench_series *itl = hrn_bench_result_series(tg, "itl_ms");
		ok(itl && itl->n == 8, "tg4: 2 reps x 4 step latencies");
		const struct rec_reading *bu = hrn_bench_result_figure(tg, "bandwidth_utilization");
		like(bu ? bu->reason : NULL, "--roofline", "no roofline: utilisation null, says how to get it");
		const struct rec_reading *bpt = hrn_bench_result_figure(tg, "bytes_per_token");
		ok(bpt && bpt->value > 0 && bpt->value < (double)d.model.weight_bytes * 1.5, "bytes per decoded token recorded");
		const struct hrn_bench_series *ttft = hrn_bench_result_series(rq, "ttft_ms"),
					      *tpot = hrn_bench_result_series(rq, "tpot_ms"),
					      *e2e = hrn_bench_result_series(rq, "e2e_ms"),
					      *ritl = hrn_bench_result_series(rq, "itl_ms");
		ok(ttft && tpot && e2e && ritl && ttft->n == 2 && tpot->n == 2 && ritl->n == 6,
		   "request: TTFT, TPOT per rep; 3 ITL per rep");
		if (ttft && tpot && e2e && ttft->n == 2) {
			is_near(tpot->samples[1], (e2e->samples[1] - ttft->samples[1]) / 3, 1e-9,
				"request: TPOT = (e2e - TTFT) / (n - 1) in the output");
			ok(ritl && ritl->st.p50 <= ritl->st.p90 && ritl->st.p90 <= ritl->st.p99, "ITL p50 <= p90 <= p99");
		}
	}
	hrn_bench_doc_release(&d);
}

/* JSONL (b.jsonl): one result per line, each self-contained; round-trips. */
static void test_cli_jsonl(const char *model)
{
	char *out, path[512];
	struct mrl_err err = { 0 };
	struct hrn_bench_doc d;
	snprintf(path, sizeof path, "%s/b.jsonl", tmp);
	int rc = cli_run(&out, "bench --model %s --prompt 8 --gen 3 --threads 1 --reps 2 --format jsonl --out %s", model, path);
	is_int(rc, 0, "bench --format jsonl: exit 0");
	free(out);
	char *text = cli_slurp(path);
	size_t lines = 0;
	bool parse_ok = text != NULL;
	for (char *l = text, *nl; parse_ok && l && *l; l = nl ? nl + 1 : NULL) {
		nl = strchr(l, '\n');
		json_error_t je;
		json_t *j = json_loadb(l, nl ? (size_t)(nl - l) : strlen(l), 0, &je);
		parse_ok = j && json_object_get(j, "result") && json_object_get(j, "manifest");
		json_decref(j);
		lines++;
	}
	ok(parse_ok && lines == 3, "JSONL: 3 lines (pp, tg, request), each a JSON object with result and manifest");
	free(text);
	rc = hrn_bench_read(path, &d, &err);
	ok(rc == 0 && d.n_results == 3, "hrn_bench_read reads the JSONL");
	{ /* JSONL with a UTF-8 byte-order mark, and a line with garbage after its object */
		char p2[600], *text = cli_slurp(path), *t2 = NULL;
		snprintf(p2, sizeof p2, "%s/bom.jsonl", tmp);
		if (text && asprintf(&t2, "\xEF\xBB\xBF%s", text) > 0)
			cli_write_file(p2, t2);
		struct hrn_bench_doc bd;
		ok(hrn_bench_read(p2, &bd, &err) == 0 && bd.n_results == 3, "JSONL with a byte-order mark reads the same");
		hrn_bench_doc_release(&bd);
		free(t2);
		t2 = NULL; /* where text has no second line, nothing sets it again */
		char *nl = text ? strchr(text, '\n') : NULL;
		nl = nl ? strchr(nl + 1, '\n') : NULL;
		if (nl && asprintf(&t2, "%.*s x%s", (int)(nl - text), text, nl) > 0)
			cli_write_file(p2, t2);
		ok(hrn_bench_read(p2, &bd, &err) == MRL_EINPUT, "JSONL: garbage after a line's object is bad input");
		like(err.msg, "bom.jsonl:2:", "JSONL: ... at that line");
		like(err.msg, ": trailing data after the JSON value", "JSONL: ... named as trailing data");
		hrn_bench_doc_release(&bd);
		free(t2);
		free(text);
	}
	round_trip(&d, HRN_BENCH_JSONL, path, "JSONL round-trips byte for byte");
	hrn_bench_doc_release(&d);
}

/* CSV and markdown: views of the same document (b.jsonl). */
static void test_cli_views(void)
{
	char path[512];
	struct mrl_err err = { 0 };
	struct hrn_bench_doc d;
	snprintf(path, sizeof path, "%s/b.jsonl", tmp);
	if (hrn_bench_read(path, &d, &err)) {
		ok(0, "b.jsonl reads");
		diag("%s", err.msg);
		return;
	}
	char *csv = NULL, *md = NULL;
	hrn_bench_render(&d, HRN_BENCH_CSV, &csv, &err);
	size_t rows = 0, cols0 = 0;
	bool same_cols = csv != NULL;
	for (char *l = csv; same_cols && l && *l; rows++) {
		char *nl = strchr(l, '\n');
		size_t commas = 0;
		for (char *c = l; c < nl; c++)
			commas += *c == ',';
		if (rows == 0)
			cols0 = commas;
		same_cols &= commas == cols0;
		l = nl + 1;
	}
	ok(same_cols && rows == 4 && cols0 > 20, "CSV: a header and 3 rows, all with the same number of columns");
	hrn_bench_render(&d, HRN_BENCH_MD, &md, &err);
	like(md, "| model | size | params | backend | threads | test | t/s | median t/s |", "markdown: llama-bench columns");
	like(md, "| pp8 | ", "markdown: the pp8 row");
	like(md, " ± ", "markdown: mean ± sd");
	like(md, "| pp8+tg3 |", "markdown: the latency table");
	free(csv);
	free(md);
	hrn_bench_doc_release(&d);
}

/* A one-line JSONL file; CSV and markdown on stdout. */
static void test_cli_stdout_formats(const char *model)
{
	char *out, path[512];
	struct mrl_err err = { 0 };
	struct hrn_bench_doc d;
	snprintf(path, sizeof path, "%s/b.jsonl", tmp);
	int rc = cli_run(&out, "bench --model %s --prompt 8 --gen 3 --depth 0 --threads 1 --reps 1 --format jsonl --out %s "
		       "--scenario offline --requests 2", model, path);
	free(out);
	rc = rc ? rc : hrn_bench_read(path, &d, &err);
	ok(!rc && d.n_results == 1 && !strcmp(d.results[0].kind, "offline"), "a one-line JSONL file reads as JSONL");
	hrn_bench_doc_release(&d);
	rc = cli_run(&out, "bench --model %s --prompt 8 --gen 3 --threads 1 --reps 1 --format csv", model);
	ok(rc == 0 && strstr(out, "model,type,size_bytes,n_params,backend,threads,test,"), "--format csv on stdout: the header");
	free(out);
	rc = cli_run(&out, "bench --model %s --prompt 8 --gen 3 --threads 1 --reps 1", model);
	ok(rc == 0 && strstr(out, "| pp8 |") && strstr(out, "- energy (J/token): no energy source"),
	   "default markdown: table and the energy null reason");
	ok(out && !strstr(out, "J/token (decode) null"), "default markdown: the energy reason once, not per phase");
	/* one repetition measures no spread: the mean alone, not "mean ± null" */
	ok(out && !strstr(out, "± null"), "--reps 1 markdown: no '± null' where no sd was measured");
	ok(out && strstr(out, "no ± where one repetition measured no spread"), "--reps 1 markdown: the notes say why");
	free(out);
	rc = cli_run(&out, "bench --model %s --prompt 8 --gen 3 --threads 1 --reps 2", model);
	ok(rc == 0 && strstr(out, " ± ") && !strstr(out, "± null"), "--reps 2 markdown: mean ± sd");
	free(out);
}

/* Without --format the file's extension names the format, so `-o RUN/bench.json` is a
 * record compare and report can read; a --format that contradicts it is refused. */
static void test_cli_format_from_out(const char *model)
{
	char *out, path[512];
	struct mrl_err err = { 0 };
	struct hrn_bench_doc d;
	snprintf(path, sizeof path, "%s/ext/bench.json", tmp);
	int rc = cli_run(&out, "bench --model %s --prompt 8 --gen 3 --threads 1 --reps 1 -q -o %s", model, path);
	is_int(rc, 0, "-o bench.json without --format: exit 0");
	free(out);
	rc = rc ? rc : hrn_bench_read(path, &d, &err);
	ok(!rc && d.n_results == 3, "-o bench.json without --format: a JSON record that reads back");
	hrn_bench_doc_release(&d);
	snprintf(path, sizeof path, "%s/ext/bench.csv", tmp);
	rc = cli_run(&out, "bench --model %s --prompt 8 --gen 3 --threads 1 --reps 1 -q -o %s", model, path);
	free(out);
	out = cli_slurp(path);
	ok(rc == 0 && out && !strncmp(out, "model,type,size_bytes,", 22), "-o bench.csv without --format: CSV");
	free(out);
	snprintf(path, sizeof path, "%s/ext/other.json", tmp);
	rc = cli_run(&out, "bench --model %s --prompt 8 --gen 3 --threads 1 --reps 1 --format md -o %s", model, path);
	is_int(rc, 2, "--format md -o other.json: usage error");
	like(out, "--format md contradicts --out ", "the contradiction named");
	like(out, "other.json (a .json file)", "... with the file and its extension");
	ok(access(path, F_OK) != 0, "... and nothing is written");
	free(out);
	snprintf(path, sizeof path, "%s/ext/bench.md", tmp);
	rc = cli_run(&out, "bench --model %s --prompt 8 --gen 3 --threads 1 --reps 1 --format md -o %s", model, path);
	is_int(rc, 0, "--format md -o bench.md: they agree");
	free(out);
}

static void test_cli_roofline(const char *model)
{
	char *out, path[512], cache[1024];
	struct mrl_err err = { 0 };
	struct hrn_bench_doc d;
	char host[256] = "";
	gethostname(host, sizeof host - 1);
	snprintf(path, sizeof path, "%s/r.json", tmp);
	int rc = cli_run(&out, "bench --model %s --prompt 8 --gen 3 --threads 1 --reps 1 --roofline --roofline-buffer-mib 16 "
			   "--format json --out %s", model, path);
	is_int(rc, 0, "bench --roofline: exit 0");
	free(out);
	rc = hrn_bench_read(path, &d, &err);
	ok(!rc && d.roofline.present && !d.roofline.from_cache, "roofline measured on the first run");
	ok(d.roofline.read_bw_bytes_per_s > 0 && d.roofline.flops_per_core > 0, "bandwidth and FLOP rate > 0");
	double bw = d.roofline.read_bw_bytes_per_s;
	const struct hrn_bench_result *tg = find(&d, "tg3@d0", 1), *pp = find(&d, "pp8", 1);
	const struct rec_reading *bu = tg ? hrn_bench_result_figure(tg, "bandwidth_utilization") : NULL;
	const struct rec_reading *fu = pp ? hrn_bench_result_figure(pp, "flop_utilization") : NULL;
	ok(bu && !bu->reason && bu->value > 0, "tg: decode bandwidth utilisation stated");
	ok(fu && !fu->reason && fu->value > 0, "pp: prefill FLOP utilisation stated");
	if (bu && fu && tg && pp) {
		const double want = hrn_bench_result_figure(tg, "bytes_per_token")->value *
				    hrn_bench_result_series(tg, "tokens_per_s")->st.median / bw;
		is_near(bu->value, want, 1e-9 * want, "BW util = bytes/token x median t/s / bandwidth");
	}
	hrn_bench_doc_release(&d);
	snprintf(cache, sizeof cache, "%s/cache/roofline-%s.json", tmp, host);
	ok(access(cache, R_OK) == 0, "roofline stored in <cache dir>/roofline-<host>.json");
	rc = cli_run(&out, "bench --model %s --prompt 8 --gen 3 --threads 1 --reps 1 --roofline --format json --out %s", model,
		 path);
	free(out);
	rc = rc ? rc : hrn_bench_read(path, &d, &err);
	ok(!rc && d.roofline.from_cache && d.roofline.read_bw_bytes_per_s == bw, "second run reuses the cached roofline");
	hrn_bench_doc_release(&d);
	rc = cli_run(&out, "bench --model %s --prompt 8 --gen 3 --threads 1 --reps 1 --roofline=remeasure "
		       "--roofline-buffer-mib 16 --format json --out %s", model, path);
	free(out);
	rc = rc ? rc : hrn_bench_read(path, &d, &err);
	ok(!rc && d.roofline.present && !d.roofline.from_cache, "--roofline=remeasure measures again");
	hrn_bench_doc_release(&d);
}

/* Write TEXT to tmp/sys/REL (its folders made). */
static int put_sys(const char *rel, const char *text)
{
	char path[512], cmd[700];
	snprintf(path, sizeof path, "%s/sys/%s", tmp, rel);
	snprintf(cmd, sizeof cmd, "mkdir -p \"$(dirname '%s')\"", path);
	if (system(cmd) != 0)
		return -1;
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fputs(text, f);
	return fclose(f);
}

/* llc_bytes is the level-3 cache the kernel lists for CPU 0, found by its level file
 * whatever its index, ahead of sysconf (glibc said 320 MiB on a Zen 4 VM whose CPU 0 has
 * a 32 MiB L3, and the note then called a 210 MiB model cache-resident). A fake
 * /sys/devices/system/cpu (MERILO_TEST_SYSFS_CPU): L1, L2 and a 512 KiB L3 under index2,
 * then a 64 MiB L3 under index3; tiny's bytes per token (tiny_bytes, ~1 MiB) do not fit
 * the first and do the second. */
static void test_llc_from_sysfs(const char *model, double tiny_bytes)
{
	char root[300], path[512];
	snprintf(root, sizeof root, "%s/sys", tmp);
	ok(!put_sys("cpu0/cache/index0/level", "1\n") && !put_sys("cpu0/cache/index0/size", "48K\n") &&
		   !put_sys("cpu0/cache/index1/level", "2\n") && !put_sys("cpu0/cache/index1/size", "2048K\n") &&
		   !put_sys("cpu0/cache/index2/level", "3\n") && !put_sys("cpu0/cache/index2/size", "512K\n"),
	   "setup: a fake cache tree");
	setenv("MERILO_TEST_SYSFS_CPU", root, 1);
	static const struct {
		const char *size;
		double want;
	} cases[] = { { "512K\n", 524288.0 }, { "64M\n", 67108864.0 } };
	for (int i = 0; i < 2; i++) {
		put_sys("cpu0/cache/index2/size", cases[i].size);
		char *out;
		struct mrl_err err = { 0 };
		struct hrn_bench_doc d;
		snprintf(path, sizeof path, "%s/llc%d.json", tmp, i);
		int rc = cli_run(&out, "bench --model %s --prompt 8 --gen 8 --threads 1 --reps 1 --roofline "
				   "--roofline-buffer-mib 16 --format json --out %s", model, path);
		free(out);
		rc = rc ? rc : hrn_bench_read(path, &d, &err);
		const struct hrn_bench_result *tg = rc ? NULL : find(&d, "tg8@d0", 1);
		const struct rec_reading *llc = tg ? hrn_bench_result_figure(tg, "llc_bytes") : NULL;
		char name[200];
		snprintf(name, sizeof name, "an L3 of %.0f bytes under index2: llc_bytes is it, not sysconf's", cases[i].want);
		ok(llc && !llc->reason && llc->value == cases[i].want, name);
		const int fits = tiny_bytes <= cases[i].want;
		snprintf(name, sizeof name, "tiny's %.0f bytes a token %s it: the note %s", tiny_bytes,
			 fits ? "fit in" : "exceed", fits ? "says the cache can serve decode" : "says nothing of a cache");
		ok(tg && (fits ? tg->note && strstr(tg->note, "fits in the last-level cache") != NULL
			       : !tg->note || !strstr(tg->note, "cache")), name);
		if (!rc)
			hrn_bench_doc_release(&d);
	}
	unsetenv("MERILO_TEST_SYSFS_CPU");
}

/* The roofline of a model whose bytes per token fit in the last-level cache (the tiny
 * one): utilisation above 100% used to stand with no word; and --kv-cache f32 used to
 * count 2 bytes per cached K/V element in bytes_per_token. */
static void test_cli_roofline_cache(const char *model)
{
	char *out, path[512];
	struct mrl_err err = { 0 };
	struct hrn_bench_doc d;
	double bytes[2] = { NAN, NAN };
	for (int f32 = 0; f32 < 2; f32++) {
		snprintf(path, sizeof path, "%s/rc%d.json", tmp, f32);
		int rc = cli_run(&out, "bench --model %s --prompt 8 --gen 8 --threads 1 --reps 1 --roofline "
				   "--roofline-buffer-mib 16 --kv-cache %s --format json --out %s", model, f32 ? "f32" : "f16",
			     path);
		free(out);
		rc = rc ? rc : hrn_bench_read(path, &d, &err);
		const struct hrn_bench_result *tg = rc ? NULL : find(&d, "tg8@d0", 1);
		const struct rec_reading *bt = tg ? hrn_bench_result_figure(tg, "bytes_per_token") : NULL;
		bytes[f32] = bt && !bt->reason ? bt->value : NAN;
		if (!f32) {
			const struct rec_reading *llc = tg ? hrn_bench_result_figure(tg, "llc_bytes") : NULL;
			ok(llc && (llc->reason || llc->value > 0), "llc_bytes: this host's last-level cache, or null with a reason");
			if (llc && !llc->reason && bt && bt->value <= llc->value)
				like(tg->note, "fits in the last-level cache", "bytes per token within the LLC: the note says "
				     "the DRAM ceiling does not bound decode");
			else
				skip("the LLC size is unknown or smaller than the tiny model", "the LLC note");
		}
		hrn_bench_doc_release(&d);
	}
	/* tiny: 4 layers, n_embd_kv 32; tg8@d0 reads (8 + 1) / 2 positions on average */
	is_near(bytes[1] - bytes[0], 2.0 * 2 * 4 * 32 * 4.5, 1e-6, "--kv-cache f32: 4 bytes per K/V element, not 2");
	test_llc_from_sysfs(model, bytes[0]);
}

static void test_cli_scenarios(const char *model)
{
	char *out, path[512];
	struct mrl_err err = { 0 };
	struct hrn_bench_doc d;
	snprintf(path, sizeof path, "%s/s.json", tmp);
	int rc = cli_run(&out, "bench --model %s --scenario server --qps 4 --duration 2 --prompt 8 --gen 4 --seed 3 "
			   "--threads 1 --ttft-limit 60000 --tpot-limit 60000 --format json --out %s", model, path);
	is_int(rc, 0, "server scenario at 4 QPS for 2 s: exit 0");
	if (rc)
		diag("%s", out);
	free(out);
	rc = hrn_bench_read(path, &d, &err);
	ok(!rc && d.n_results == 1 && !strcmp(d.results[0].kind, "server"), "one server result");
	if (!rc && d.n_results == 1) {
		const struct hrn_bench_result *r = &d.results[0];
		double *arr = NULL;
		size_t n_arr = 0;
		hrn_bench_poisson_arrivals(3, 4, 2, &arr, &n_arr, &err);
		free(arr);
		const struct rec_reading *nreq = hrn_bench_result_figure(r, "n_requests");
		ok(nreq && n_arr > 0 && nreq->value == (double)n_arr, "every seeded arrival was served");
		const struct hrn_bench_series *q = hrn_bench_result_series(r, "queue_ms"),
					      *t = hrn_bench_result_series(r, "ttft_ms"),
					      *ts = hrn_bench_result_series(r, "ttft_service_ms");
		ok(q && q->n == n_arr && q->st.min >= 0, "queueing delay per request, >= 0");
		ok(t && !isnan(t->st.p99) && t->st.p50 <= t->st.p99, "TTFT percentiles");
		bool incl = t && ts && q && t->n == ts->n;
		for (size_t i = 0; incl && i < t->n; i++)
			incl = fabs(t->samples[i] - (ts->samples[i] + q->samples[i])) < 1e-3;
		ok(incl, "TTFT (MLPerf, from arrival) = queueing + service TTFT");
		const struct rec_reading *aq = hrn_bench_result_figure(r, "achieved_qps");
		ok(aq && !aq->reason && aq->value > 0, "achieved QPS stated");
		is_int(r->limits_hold, 1, "generous limits hold at p99");
		like(r->note, "one sequence at a time", "the output says requests queue");
	}
	hrn_bench_doc_release(&d);
	rc = cli_run(&out, "bench --model %s --scenario server --qps 20 --duration 0.5 --prompt 8 --gen 3 --seed 3 "
		       "--threads 1 --ttft-limit 0.000001 --format json --out %s", model, path);
	free(out);
	rc = rc ? rc : hrn_bench_read(path, &d, &err);
	ok(!rc && d.n_results == 1 && d.results[0].limits_hold == 0, "an impossible TTFT limit does not hold");
	hrn_bench_doc_release(&d);
	rc = cli_run(&out, "bench --model %s --scenario offline --requests 3 --prompt 8 --gen 3 --threads 1 --format json "
		       "--out %s", model, path);
	free(out);
	rc = rc ? rc : hrn_bench_read(path, &d, &err);
	ok(!rc && d.n_results == 1 && !strcmp(d.results[0].kind, "offline"), "offline scenario");
	if (!rc && d.n_results == 1) {
		const struct rec_reading *t = hrn_bench_result_figure(&d.results[0], "output_tokens_per_s");
		const struct rec_reading *n = hrn_bench_result_figure(&d.results[0], "n_requests");
		ok(t && !t->reason && t->value > 0 && n && n->value == 3, "offline: 3 requests, output tokens/s");
	}
	hrn_bench_doc_release(&d);
	rc = cli_run(&out, "bench --model %s --scenario server --qps 4 --prompt 8", model);
	is_int(rc, 2, "server without --duration: usage error");
	free(out);
}

/* --energy-window 0 is the user's choice: it is the null reason of the energy figures
 * on every host, with no source (the pinned roots) and with one (a fake powercap tree).
 * It used to be "no energy source on this machine" where none existed. */
static void test_cli_energy_window(const char *model)
{
	static const char *const roots[2] = { "/nonexistent-powercap", "tests/data/powercap/normal" };
	static const char *const where[2] = { "no source", "a powercap source" };
	for (int k = 0; k < 2; k++) {
		char path[600], name[128], *out;
		snprintf(path, sizeof path, "%s/window0-%d.json", tmp, k);
		int rc = cli_sh(&out, "MERILO_POWERCAP_ROOT=%s '%s' bench --model %s --prompt 8 --gen 2 --threads 1 "
			     "--reps 1 --energy-window 0 --format json --out %s", roots[k], getenv("MERILO"), model, path);
		snprintf(name, sizeof name, "--energy-window 0, %s: exit 0", where[k]);
		is_int(rc, 0, name);
		free(out);
		struct hrn_bench_doc d;
		struct mrl_err err = { 0 };
		const struct rec_reading *pp = NULL, *tg = NULL;
		if (hrn_bench_read(path, &d, &err) == 0 && find(&d, "pp8", 1) && find(&d, "tg2@d0", 1)) {
			pp = hrn_bench_result_figure(find(&d, "pp8", 1), "energy_j_per_token_prefill");
			tg = hrn_bench_result_figure(find(&d, "tg2@d0", 1), "energy_j_per_token_decode");
		}
		snprintf(name, sizeof name, "--energy-window 0, %s: prefill energy null, the option is the reason", where[k]);
		ok(pp && isnan(pp->value) && pp->reason && !strcmp(pp->reason, "not measured: --energy-window 0"), name);
		snprintf(name, sizeof name, "--energy-window 0, %s: decode energy null, the option is the reason", where[k]);
		ok(tg && isnan(tg->value) && tg->reason && !strcmp(tg->reason, "not measured: --energy-window 0"), name);
		if (pp && pp->reason)
			diag("%s: %s", where[k], pp->reason);
		hrn_bench_doc_release(&d);
	}
}

static void test_cli_errors(const char *model)
{
	char *out, bad[512];
	int rc = cli_run(&out, "bench --model %s --prompt 8 --gen 2 --backend cuda", model);
	is_int(rc, 4, "--backend cuda without CUDA: exit 4");
	like(out, "CUDA backend not available in this build/machine", "--backend cuda: clear message");
	free(out);
	snprintf(bad, sizeof bad, "%s/bad.gguf", tmp);
	cli_write_file(bad, "this is not a GGUF file at all, just text");
	rc = cli_run(&out, "bench --model %s --prompt 8 --gen 2", bad);
	is_int(rc, 3, "a bad model: exit 3");
	like(out, "bad.gguf", "the message names the file");
	free(out);
	rc = cli_run(&out, "bench --model %s/missing.gguf", tmp);
	is_int(rc, 3, "a missing model: exit 3");
	free(out);
	rc = cli_run(&out, "bench --model %s --format xml", model);
	is_int(rc, 2, "--format xml: usage error");
	free(out);
	rc = cli_run(&out, "bench --model %s --prompt 0", model);
	is_int(rc, 2, "--prompt 0: usage error");
	free(out);
	rc = cli_run(&out, "bench --model %s --prompt 8,,16", model);
	is_int(rc, 2, "--prompt 8,,16 (an empty element): usage error");
	like(out, "not '8,,16'", "the list quoted");
	free(out);
	rc = cli_run(&out, "bench --model %s --idle 0.5", model);
	is_int(rc, 2, "--idle under 1 s: usage error (idle power needs a long window)");
	free(out);
	rc = cli_run(&out, "bench --help");
	ok(rc == 0 && strstr(out, "usage: merilo bench"), "bench --help");
	free(out);
	/* options that mean something only beside another were silently ignored alone (exit 0,
	 * no gate, nothing stored): now a usage error before anything is measured */
	static const struct {
		const char *args, *msg;
	} alone[] = {
		{ "--gate-perf 1%", "--gate-perf needs --baseline-db" },
		{ "--last 3", "--last needs --baseline-db" },
		{ "--confirm 0", "--confirm needs --baseline-db" },
		{ "--db-label x", "--db-label needs --db or --baseline-db" },
		{ "--roofline-buffer-mib 16", "--roofline-buffer-mib needs --roofline" },
		{ "--requests 3", "--requests needs --scenario offline" },
		{ "--scenario server --qps 1 --duration 1 --requests 3", "--requests needs --scenario offline" },
		{ "--ttft-limit 5", "--ttft-limit and --tpot-limit need --scenario" },
		{ "--tpot-limit 5", "--ttft-limit and --tpot-limit need --scenario" },
	};
	for (size_t i = 0; i < sizeof alone / sizeof alone[0]; i++) {
		char name[160];
		rc = cli_run(&out, "bench --model %s --prompt 8 --gen 2 --reps 1 %s", model, alone[i].args);
		snprintf(name, sizeof name, "%s alone: usage error, saying what it needs", alone[i].args);
		is_int(rc, 2, name);
		like(out, alone[i].msg, name);
		snprintf(name, sizeof name, "%s alone: nothing measured", alone[i].args);
		ok(!strstr(out, "| pp8 |"), name);
		free(out);
	}
	/* a size or thread count twice measured and reported the same test twice */
	CLI_EXPECT(2, "--prompt '8,8': 8 is given twice", "--prompt 8,8: usage error",
		   "bench --model %s --prompt 8,8 --gen 2 --reps 1", model);
	CLI_EXPECT(2, "--threads '1,1': 1 is given twice", "--threads 1,1: usage error",
		   "bench --model %s --prompt 8 --gen 2 --reps 1 --threads 1,1", model);
	CLI_EXPECT(2, "--test 'pp8,pp8': pp8 is given twice", "bench --ab --test pp8,pp8: usage error",
		   "bench --ab %s --model %s --test pp8,pp8", cli_merilo(), model);


	/* the reader on bad files */
	struct mrl_err err = { 0 };
	struct hrn_bench_doc d;
	snprintf(bad, sizeof bad, "%s/bad.json", tmp);
	cli_write_file(bad, "{\"schema\": \"something-else\", \"schema_version\": 1}");
	is_int(hrn_bench_read(bad, &d, &err), MRL_EUNSUPPORTED, "reader: another schema is unsupported");
	hrn_bench_doc_release(&d);
	cli_write_file(bad, "{\"schema\": \"merilo-bench\", \"schema_version\": 1, \"manifest\": 3}");
	is_int(hrn_bench_read(bad, &d, &err), MRL_EINPUT, "reader: a wrong type is bad input");
	like(err.msg, "$.manifest", "reader: the message names the field");
	hrn_bench_doc_release(&d);
	cli_write_file(bad, "{\"schema\": \"merilo-bench\", \"sch");
	is_int(hrn_bench_read(bad, &d, &err), MRL_EINPUT, "reader: truncated JSON is bad input");
	hrn_bench_doc_release(&d);
	/* a pretty-printed document that is cut short: the document's problem, not line 1's "{" */
	cli_write_file(bad, "{\n  \"schema\": \"merilo-bench\",\n  \"sch");
	is_int(hrn_bench_read(bad, &d, &err), MRL_EINPUT, "reader: a truncated document is bad input");
	like(err.msg, "bad.json: truncated JSON: ", "reader: a truncated document is called truncated");
	like(err.msg, "at line 3, column 6 (the text ends too early)", "reader: ... where it ends");
	hrn_bench_doc_release(&d);
	/* a NUL byte: where it is, not 1:1 "near end of file" */
	static const char nul[] = "{\n  \"schema\": \"merilo-\0bench\",\n  \"schema_version\": 1\n}\n";
	FILE *f = fopen(bad, "wb");
	ok(f && fwrite(nul, 1, sizeof nul - 1, f) == sizeof nul - 1 && !fclose(f), "wrote a bench.json with a NUL byte");
	is_int(hrn_bench_read(bad, &d, &err), MRL_EINPUT, "reader: a NUL byte is bad input");
	like(err.msg, "bad.json: NUL byte at line 2, column 21 (byte offset 22)", "reader: the NUL byte's line and column");
	hrn_bench_doc_release(&d);
	cli_write_file(bad, "{\"schema\": \"merilo-bench\", \"schema_version\": 1}\nx\n");
	is_int(hrn_bench_read(bad, &d, &err), MRL_EINPUT, "reader: trailing garbage is bad input");
	like(err.msg, "bad.json: trailing data after the JSON value at line 2, column 1", "reader: trailing data named");
	hrn_bench_doc_release(&d);
	cli_write_file(bad, "null\n");
	is_int(hrn_bench_read(bad, &d, &err), MRL_EINPUT, "reader: a bare null is bad input");
	like(err.msg, "bad.json: the top level must be an object, found null", "reader: a bare null named");
	hrn_bench_doc_release(&d);
	/* a UTF-8 byte-order mark is skipped: this one gets as far as the schema check */
	cli_write_file(bad, "\xEF\xBB\xBF{\"schema\": \"something-else\", \"schema_version\": 1}");
	is_int(hrn_bench_read(bad, &d, &err), MRL_EUNSUPPORTED, "reader: a byte-order mark is skipped");
	hrn_bench_doc_release(&d);
}

/* -o that cannot be written is found before measuring (a file as its folder, a
 * folder as the file: it was found after the whole benchmark, and the record lost);
 * one that fails when written (a file-size limit stands for a disk that filled up
 * meanwhile) puts the record on standard output instead, exit 4. */
static void test_cli_out_unwritable(const char *model)
{
	char *out = NULL, path[400];
	snprintf(path, sizeof path, "%s/afile", tmp);
	cli_write_file(path, "x");
	int rc = cli_run(&out, "bench --model %s --prompt 8 --gen 2 --reps 1 -o %s/afile/b.json", model, tmp);
	is_int(rc, 4, "-o under a file: exit 4");
	like(out, "afile: not a folder", "... naming it");
	ok(out && !strstr(out, "t/s"), "... before measuring (no median printed)");
	free(out);
	rc = cli_run(&out, "bench --model %s --prompt 8 --gen 2 --reps 1 -o %s", model, tmp);
	is_int(rc, 4, "-o naming a folder: exit 4");
	like(out, "is a folder (a file name is wanted)", "... saying so");
	ok(out && !strstr(out, "t/s"), "... before measuring");
	free(out);
	rc = cli_sh(&out, "ulimit -f 1 && trap '' XFSZ && '%s' bench --model %s --prompt 8 --gen 2 --reps 1 --format json -o %s/big.json "
		    "2>%s/err.txt", getenv("MERILO"), model, tmp, tmp);
	is_int(rc, 4, "-o that fails when written (file-size limit): exit 4");
	json_t *j = out ? json_loads(out, 0, NULL) : NULL;
	ok(j && json_object_get(j, "results"), "... and the record is on standard output (it was lost)");
	json_decref(j);
	free(out);
	snprintf(path, sizeof path, "%s/err.txt", tmp);
	out = cli_slurp(path);
	like(out, "big.json: ", "... the message names the file");
	like(out, "the record follows on standard output", "... and says where the record went");
	free(out);
}

int main(void)
{
	TEST(test_latency(), "request latency: TTFT, e2e, TPOT and ITL from token times; bad times refused");
	TEST(test_poisson(), "seeded Poisson arrivals: reproducible, at the rate, exponential gaps");
	TEST(test_costs(), "decode bytes per token and prefill FLOPs from the model's shape");
	TEST(test_costs_moe(), "a mixture of experts: a token's share of the experts' FLOPs and bytes");
	TEST(test_roofline_kernels(), "the roofline kernels measure bandwidth and FLOP rate; bad sizes are refused");

	if (!cli_merilo()) {
		skip("MERILO does not name the merilo binary (run through make test)", "bench CLI");
		return done_testing();
	}
	if (!cli_tmpdir(tmp, sizeof tmp, "bench")) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	char cache[300], model[300], *out;
	snprintf(cache, sizeof cache, "%s/cache", tmp);
	snprintf(model, sizeof model, "%s/tiny.gguf", tmp);
	/* no energy source and no CUDA library anywhere: the null paths are deterministic */
	cli_pin_host(cache, false);
	int rc = cli_run(&out, "synth --preset tiny --seed 1 -o %s", model);
	is_int(rc, 0, "merilo synth --preset tiny");
	free(out);
	if (!rc) {
		TEST(test_cli_json(model), "bench --format json: read back, manifest, round trip, byte-order mark");
		TEST(test_cli_figures(), "bench figures: raw samples and statistics, nulls with a reason, latencies");
		TEST(test_cli_jsonl(model), "bench --format jsonl: one self-contained result per line, round trip");
		TEST(test_cli_views(), "CSV and markdown are views of the same document");
		TEST(test_cli_stdout_formats(model), "a one-line JSONL file reads; CSV and markdown on stdout");
		TEST(test_cli_format_from_out(model), "bench -o FILE: the format from its extension; a contradicting --format refused");
		TEST(test_cli_roofline(model), "bench --roofline: measured once, then from the cache");
		TEST(test_cli_roofline_cache(model), "bench --roofline: the LLC note and --kv-cache f32 bytes per token");
		TEST(test_cli_scenarios(model), "bench --scenario server and offline: queueing, TTFT, limits, achieved QPS");
		TEST(test_cli_energy_window(model), "bench --energy-window 0: energy per token null, the option named as the reason");
		TEST(test_cli_errors(model), "bench usage and input errors");
		TEST(test_cli_out_unwritable(model), "bench -o that cannot be written: found before measuring; late, the record on stdout");
	}
	cli_rmtree(tmp);
	return done_testing();
}
