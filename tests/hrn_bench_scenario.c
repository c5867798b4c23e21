/* hrn_bench_scenario.c — `merilo bench --scenario` on a `merilo synth --preset
 * tiny` model (trained on 256 positions), for the defects an audit found:
 * the default sizes shrink to the training context as plain bench's do; a
 * --prompts file's real token counts are recorded (no made-up 512, no false
 * context warning); a server run in which no request arrived has null per-token
 * figures and a null limits verdict, not zeros and a failure; achieved QPS is
 * over the scenario's duration, not only the time to the last token; the
 * markdown notes of a scenario do not speak of repetitions or utilisation.
 * Runs the binary named by $MERILO (set by `make test`). */
#include "tests/tap.h"
#include "tests/cli.h"

#include <math.h>

#include "harness/bench.h"

static char tmp[256], model[300];

/* haystack (not NULL) does not contain needle */
#define unlike(haystack, needle, name) do { \
	const char *h_ = (haystack); \
	if (!ok(h_ && !strstr(h_, (needle)), (name))) \
		diag("  got: '%s'\n  expected not to contain: '%s'", h_ ? h_ : "(null)", (needle)); \
} while (0)

/* Run bench with the options after "bench --model M --threads 1", the record
 * to <tmp>/s.json read into d. Returns the exit code (d initialised either way);
 * *out: what the run printed (the caller frees). */
static int run_read(struct hrn_bench_doc *d, char **out, const char *opts)
{
	char path[512];
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/s.json", tmp);
	remove(path);
	hrn_bench_doc_init(d);
	int rc = cli_run(out, "bench --model %s --threads 1 %s --format json --out %s", model, opts, path);
	if (!rc && hrn_bench_read(path, d, &err)) {
		diag("%s", err.msg);
		rc = -1;
	}
	return rc;
}

/* Used to run prompt 512 + gen 128 on the 256-position model with only a warning. */
static void test_default_sizes(void)
{
	struct hrn_bench_doc d;
	char *out = NULL;
	int rc = run_read(&d, &out, "--scenario offline --requests 2");
	is_int(rc, 0, "offline with the default sizes: exit 0");
	like(out, "the default requests shrink to pp128+tg32", "one line says the default sizes shrink");
	unlike(out, "warning: the tests use", "no context warning");
	ok(d.n_results == 1 && d.results[0].n_prompt + d.results[0].n_gen <= 256,
	   "the requests fit the 256 trained positions");
	hrn_bench_doc_release(&d);
	free(out);
}

/* Used to record n_prompt -1, settings.prompt [512] and warn of 516 positions. */
static void test_prompts_file(void)
{
	struct hrn_bench_doc d;
	char *out = NULL, opts[1200], path[512];
	snprintf(path, sizeof path, "%s/p3.txt", tmp);
	cli_write_file(path, "hello world\nthe cat sat on the mat today\nonce\n");
	snprintf(opts, sizeof opts, "--scenario offline --requests 3 --prompts %s --gen 4", path);
	int rc = run_read(&d, &out, opts);
	is_int(rc, 0, "offline with a prompts file: exit 0");
	unlike(out, "warning: the tests use", "no false context warning");
	ok(d.settings && json_is_null(json_object_get(d.settings, "prompt")), "settings.prompt null: the file gives them");
	const struct hrn_bench_series *pt = d.n_results ? hrn_bench_result_series(&d.results[0], "prompt_tokens") : NULL;
	ok(pt && pt->n == 3 && pt->samples[0] > 0 && pt->samples[0] < 64 && pt->samples[1] > pt->samples[2],
	   "series prompt_tokens: each request's real token count");
	ok(d.n_results && d.results[0].n_prompt == -1, "n_prompt null where the prompts differ in length");
	like(d.n_results ? d.results[0].note : NULL, "n_prompt null: the prompts of ", "... and the note says why");
	hrn_bench_doc_release(&d);
	free(out);
	rc = cli_run(&out, "bench --model %s --threads 1 %s --format csv", model, opts);
	is_int(rc, 0, "offline with a prompts file, CSV: exit 0");
	unlike(out, ",offline,offline,-1,", "CSV: no -1 for n_prompt");
	free(out);
	cli_write_file(path, "the same line\nthe same line\n");
	rc = run_read(&d, &out, opts);
	pt = !rc && d.n_results ? hrn_bench_result_series(&d.results[0], "prompt_tokens") : NULL;
	ok(pt && pt->n == 3 && d.results[0].n_prompt == (int64_t)pt->samples[0],
	   "prompts of one length: n_prompt is that length");
	hrn_bench_doc_release(&d);
	free(out);
	snprintf(opts, sizeof opts, "bench --model %s --scenario offline --prompts %s --prompt 8", model, path);
	is_int(cli_run(&out, "%s", opts), 2, "--prompt with --prompts: usage error (the file gives the prompts)");
	free(out);
}

/* The first seed (from 1) whose arrivals at qps over duration are n, the first at
 * or before max_first seconds; 0 when none is found. */
static long seed_with(double qps, double duration, size_t n, double max_first)
{
	struct mrl_err err = { 0 };
	for (long seed = 1; seed < 10000; seed++) {
		double *a = NULL;
		size_t k = 0;
		hrn_bench_poisson_arrivals((uint64_t)seed, qps, duration, &a, &k, &err);
		const bool hit = k == n && (!n || a[0] <= max_first);
		free(a);
		if (hit)
			return seed;
	}
	return 0;
}

/* Used to divide by one token (cpu_s_per_token etc.), say "busy 0%" beside a null
 * busy_fraction, and give limits_hold false with nothing measured. */
static void test_no_request(void)
{
	struct hrn_bench_doc d;
	char *out = NULL, opts[300];
	const long seed = seed_with(0.1, 1, 0, 0);
	snprintf(opts, sizeof opts, "--scenario server --qps 0.1 --duration 1 --seed %ld --prompt 8 --gen 4 "
		 "--ttft-limit 1", seed);
	int rc = run_read(&d, &out, opts);
	is_int(rc, 0, "server run without a request: exit 0");
	const struct hrn_bench_result *r = d.n_results ? &d.results[0] : NULL;
	static const char *const per_token[] = { "cpu_s_per_token", "minflt_per_token", "vcsw_per_token",
						 "ivcsw_per_token" };
	for (size_t i = 0; r && i < sizeof per_token / sizeof *per_token; i++) {
		const struct rec_reading *f = hrn_bench_result_figure(r, per_token[i]);
		char name[80];
		snprintf(name, sizeof name, "%s null: no tokens", per_token[i]);
		ok(f && f->reason && strstr(f->reason, "no tokens"), name);
	}
	bool counters_null = true;
	for (size_t i = 0; r && i < r->n_counters; i++)
		counters_null &= r->counters[i].reason != NULL;
	ok(r && counters_null, "counters per token null");
	is_int(r ? r->limits_hold : 0, -1, "limits_hold null, not a failing verdict");
	hrn_bench_doc_release(&d);
	free(out);
	rc = cli_run(&out, "bench --model %s --threads 1 %s", model, opts);
	is_int(rc, 0, "server run without a request, markdown: exit 0");
	unlike(out, "busy 0%", "markdown: no busy 0% beside a null busy_fraction");
	like(out, "no request arrived", "markdown: the note says no request arrived");
	unlike(out, "| NO |", "markdown: limits not reported as failing");
	free(out);
}

/* Used to be requests / (start .. last token): 1 request ending at 0.5 s of a 1 s
 * run at 0.1 QPS was "2 QPS". */
static void test_achieved_qps(void)
{
	struct hrn_bench_doc d;
	char *out = NULL, opts[300];
	const long seed = seed_with(0.1, 1, 1, 0.9);
	snprintf(opts, sizeof opts, "--scenario server --qps 0.1 --duration 1 --seed %ld --prompt 8 --gen 4", seed);
	int rc = run_read(&d, &out, opts);
	ok(seed && !rc && d.n_results == 1, "server run with one request");
	const struct rec_reading *aq = d.n_results ? hrn_bench_result_figure(&d.results[0], "achieved_qps") : NULL;
	const struct rec_reading *w = d.n_results ? hrn_bench_result_figure(&d.results[0], "wall_s") : NULL;
	ok(w && !w->reason && w->value < 1, "the last token came before the duration ended");
	ok(aq && !aq->reason, "achieved QPS stated");
	if (aq && w)
		is_near(aq->value, 1.0 / fmax(1.0, w->value), 1e-9, "achieved QPS = requests / max(duration, wall)");
	hrn_bench_doc_release(&d);
	free(out);
}

/* Used to print "t/s: mean ± sd over 1 timed repetitions" and "util null". */
static void test_md_notes(void)
{
	char *out = NULL;
	int rc = cli_run(&out, "bench --model %s --threads 1 --scenario offline --requests 2 --prompt 8 --gen 3", model);
	is_int(rc, 0, "offline, markdown: exit 0");
	unlike(out, "timed repetitions", "no repetitions note for a scenario");
	unlike(out, "util null", "no utilisation note for a scenario");
	like(out, "- offline: 2 requests issued at once", "the scenario's own note");
	free(out);
}

int main(void)
{
	if (!cli_merilo()) {
		skip("MERILO does not name the merilo binary (run through make test)", "bench scenarios");
		return done_testing();
	}
	if (!cli_tmpdir(tmp, sizeof tmp, "bench-scenario")) {
		ok(0, "mkdtemp");
		return done_testing();
	}
	char cache[300], *out;
	snprintf(cache, sizeof cache, "%s/cache", tmp);
	snprintf(model, sizeof model, "%s/tiny.gguf", tmp);
	cli_pin_host(cache, false);
	int rc = cli_run(&out, "synth --preset tiny --seed 1 -o %s", model);
	is_int(rc, 0, "merilo synth --preset tiny (256 positions)");
	free(out);
	if (!rc) {
		TEST(test_default_sizes(), "a scenario's default sizes shrink to the training context");
		TEST(test_prompts_file(), "--prompts: real token counts, no 512 in settings, no false warning");
		TEST(test_no_request(), "a server run without a request: per-token figures and limits null");
		TEST(test_achieved_qps(), "achieved QPS over the scenario's duration");
		TEST(test_md_notes(), "the markdown notes of a scenario");
	}
	cli_rmtree(tmp);
	return done_testing();
}
