/* hrn_bench_hist.c — the performance gate against history (harness/bench_hist.c,
 * `merilo bench --baseline-db`) on bench records with chosen figures, stored in a
 * history database the way `bench --db` stores them, and a candidate record
 * with chosen figures: no timing, so every verdict is deterministic.
 *
 * - the audit's A/A false alarm: 4 stored TTFT medians 121.8 / 152.4 / 49.7 /
 *   119.9 ms and a candidate 1.498 x their median pass (the bootstrap CI of a
 *   median of 4 values failed it);
 * - 100 constructed A/A trials with large between-run noise (log-normal, sd 0.3)
 *   give at most 3 false alarms (30 with 10 records, sd 0.1: at most 2); a 2x
 *   slowdown against a steady baseline fails every time, with 3 and with 10 records;
 * - records of another model, CPU or KV cache are no baseline: fewer than 3 that
 *   match is an error saying what differs and which records.
 */
#include "tests/tap.h"
#include "tests/cli.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/rng.h"
#include "harness/bench.h"
#include "harness/history.h"
#include "harness/manifest.h"
#include "records/db.h"

static char tmp[256];

#define SHA_A "aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111aaaa1111"
#define SHA_B "1a2b3c4d5e6f1a2b3c4d5e6f1a2b3c4d5e6f1a2b3c4d5e6f1a2b3c4d5e6f1a2b"
#define CPU_A "Test CPU A @ 2.0GHz"

/* A record's identity and figures: pp32 tokens/s and pp32+tg8 TTFT ms, each as
 * 3 repetitions spread by +-within around the given median. */
struct fig {
	const char *sha, *cpu, *kv;
	double pp_rate, ttft_ms, within;
};

static int make_doc(struct hrn_bench_doc *d, const struct fig *f, struct mrl_err *err)
{
	hrn_bench_doc_init(d);
	d->settings = json_pack("{s:s, s:s, s:s}", "command", "bench", "backend", "cpu", "kv_cache", f->kv ? f->kv : "f16");
	int rc = hrn_manifest_collect(&d->manifest, NULL, NULL, d->settings, err);
	if (rc)
		return rc;
	free(d->manifest.cpu_model);
	free(d->manifest.model_sha256);
	d->manifest.cpu_model = strdup(f->cpu);
	d->manifest.model_sha256 = strdup(f->sha);
	d->model.sha256 = strdup(f->sha);
	d->model.path = strdup("m.gguf");
	d->roofline.reason = strdup("not measured");
	const double pp[3] = { f->pp_rate * (1 - f->within), f->pp_rate, f->pp_rate * (1 + f->within) };
	const double tt[3] = { f->ttft_ms * (1 + f->within), f->ttft_ms, f->ttft_ms * (1 - f->within) };
	struct hrn_bench_result *r = hrn_bench_doc_add_result(d, "pp32", "pp", "cpu");
	if (!r)
		return MRL_ENOMEM;
	r->threads = 1;
	rc = hrn_bench_result_add_series(r, "tokens_per_s", "tokens/s", pp, 3, err);
	if (!rc && !(r = hrn_bench_doc_add_result(d, "pp32+tg8", "request", "cpu")))
		rc = MRL_ENOMEM;
	if (!rc) {
		r->threads = 1;
		rc = hrn_bench_result_add_series(r, "ttft_ms", "ms", tt, 3, err);
	}
	return rc;
}

/* Store the record of f in db under label, as bench --db does (the JSON record). */
static int store(const char *db_path, const char *label, const struct fig *f)
{
	struct mrl_err err = { 0 };
	struct hrn_bench_doc d;
	struct rec_db *db = NULL;
	char *json = NULL;
	int rc = make_doc(&d, f, &err);
	if (!rc)
		rc = hrn_bench_render(&d, HRN_BENCH_JSON, &json, &err);
	if (!rc)
		rc = rec_db_open(db_path, REC_DB_CREATE, &db, &err);
	if (!rc)
		rc = rec_db_add_bench(db, json, label, NULL, &err);
	if (rc)
		diag("store: %s", err.msg);
	rec_db_close(db);
	free(json);
	hrn_bench_doc_release(&d);
	return rc;
}

/* The gate on candidate f against the last `last` records labelled label;
 * confirm NULL: no measurement again. */
static int gate_confirm(const char *db_path, const char *label, long last, const struct fig *f,
			const struct hrn_hist_confirm *confirm, struct mrl_err *err)
{
	struct hrn_bench_doc d;
	int rc = make_doc(&d, f, err);
	if (!rc)
		rc = hrn_bench_history_gate(db_path, label, last, 0.05, &d, confirm, err);
	hrn_bench_doc_release(&d);
	return rc;
}

static int gate(const char *db_path, const char *label, long last, const struct fig *f, struct mrl_err *err)
{
	return gate_confirm(db_path, label, last, f, NULL, err);
}

/* A confirmation with chosen figures: the i-th measurement again has slowdown
 * factors[i] (of a 1000 tokens/s, 50 ms run), beyond n_factors an error. */
struct again {
	const double *factors;
	int n_factors, calls;
	char tests[256]; /* the tests measured again, in order */
};

static int measure_again(void *ctx, const struct hrn_bench_result *r, struct hrn_bench_doc *into, struct mrl_err *err)
{
	struct again *a = ctx;
	if (a->calls >= a->n_factors)
		return mrl_err_set(err, MRL_ERUNTIME, "the model went away");
	const double f = a->factors[a->calls++];
	snprintf(a->tests + strlen(a->tests), sizeof a->tests - strlen(a->tests), "%s%s", *a->tests ? " " : "", r->test);
	const bool pp = !strcmp(r->kind, "pp");
	const double v[3] = { pp ? 1000 / f * 0.97 : 50 * f * 1.03, pp ? 1000 / f : 50 * f, pp ? 1000 / f * 1.03 : 50 * f * 0.97 };
	struct hrn_bench_result *res = hrn_bench_doc_add_result(into, r->test, r->kind, "cpu");
	if (!res)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	res->threads = r->threads;
	return hrn_bench_result_add_series(res, pp ? "tokens_per_s" : "ttft_ms", pp ? "tokens/s" : "ms", v, 3, err);
}

static void t_audit_aa(void)
{
	char db[300];
	snprintf(db, sizeof db, "%s/audit.db", tmp);
	static const double ttft[4] = { 121.8, 152.4, 49.7, 119.9 };
	int bad = 0;
	for (int i = 0; i < 4; i++)
		bad += store(db, NULL, &(struct fig){ SHA_A, CPU_A, NULL, 500, ttft[i], 0.05 }) != 0;
	is_int(bad, 0, "4 records stored");
	struct mrl_err err = { 0 };
	const double median = (119.9 + 121.8) / 2;
	int rc = gate(db, NULL, 10, &(struct fig){ SHA_A, CPU_A, NULL, 500, 1.498 * median, 0.05 }, &err);
	is_int(rc, 0, "A/A: a TTFT 1.498x the median of 4 noisy stored runs (49.7 to 152.4 ms) passes");
	rc = gate(db, NULL, 10, &(struct fig){ SHA_A, CPU_A, NULL, 500, 20 * median, 0.05 }, &err);
	is_int(rc, 1, "a TTFT 20x the median fails even against that noise");
}

/* log-normal factor exp(sd * z), z standard normal (Box-Muller) */
static double lognormal(struct mrl_rng *r, double sd)
{
	double u1 = mrl_rng_uniform(r), u2 = mrl_rng_uniform(r);
	return exp(sd * sqrt(-2 * log(1 - u1)) * cos(2 * M_PI * u2));
}

/* trials A/A (factor 1) or A/B runs of k stored records + 1 candidate, each run a
 * log-normal factor of sd `between` on both figures; how many exit 1. */
static int trials(const char *name, int n, int k, double between, double slowdown, uint64_t seed)
{
	char db[300], label[32];
	snprintf(db, sizeof db, "%s/%s.db", tmp, name);
	struct mrl_rng r;
	mrl_rng_seed(&r, seed);
	int fails = 0;
	for (int t = 0; t < n; t++) {
		snprintf(label, sizeof label, "trial%d", t);
		for (int i = 0; i < k; i++) {
			const double f = lognormal(&r, between);
			if (store(db, label, &(struct fig){ SHA_A, CPU_A, NULL, 1000 / f, 50 * f, 0.03 }))
				return -1;
		}
		const double f = lognormal(&r, between) * slowdown;
		struct mrl_err err = { 0 };
		int rc = gate(db, label, k, &(struct fig){ SHA_A, CPU_A, NULL, 1000 / f, 50 * f, 0.03 }, &err);
		if (rc < 0) {
			diag("%s", err.msg);
			return -1;
		}
		fails += rc;
	}
	return fails;
}

static void t_constructed(void)
{
	int fa = trials("aa", 100, 4, 0.3, 1, 7);
	diag("A/A, 4 records, between-run sd 0.3 (log): %d false alarms of 100", fa);
	ok(fa >= 0 && fa <= 3, "A/A with large between-run noise, 4 records: at most 3 false alarms in 100");
	fa = trials("aa10", 30, 10, 0.1, 1, 8);
	diag("A/A, 10 records, between-run sd 0.1 (log): %d false alarms of 30", fa);
	ok(fa >= 0 && fa <= 2, "A/A, 10 records: at most 2 false alarms in 30");
	is_int(trials("slow3", 10, 3, 0.02, 2, 9), 10, "2x slower against 3 steady records (sd 2%): fails 10 of 10");
	is_int(trials("slow10", 10, 10, 0.05, 2, 10), 10, "2x slower against 10 records (sd 5%): fails 10 of 10");
}

/* A worse row is measured again: it fails only when the measurement again is
 * worse too; rows that pass are not measured again; the measurement's failure
 * is the gate's. */
static void t_confirm(void)
{
	char db[300];
	snprintf(db, sizeof db, "%s/confirm.db", tmp);
	int bad = 0;
	for (int i = 0; i < 4; i++)
		bad += store(db, NULL, &(struct fig){ SHA_A, CPU_A, NULL, 1000 * (1 + 0.01 * i), 50, 0.02 }) != 0;
	is_int(bad, 0, "4 steady records stored");
	struct mrl_err err = { 0 };
	/* a run that landed on a busy CPU: pp32 1.6x slower, TTFT steady */
	const struct fig busy = { SHA_A, CPU_A, NULL, 1000 / 1.6, 50, 0.02 };
	is_int(gate(db, NULL, 10, &busy, &err), 1, "without a confirmation the busy run fails");
	struct again fast = { (const double[]){ 1.0 }, 1, 0, "" };
	struct hrn_hist_confirm c = { 1, false, measure_again, &fast };
	is_int(gate_confirm(db, NULL, 10, &busy, &c, &err), 0, "measured again at the usual speed: passes");
	is_str(fast.tests, "pp32", "only the worse row was measured again");
	struct again slow = { (const double[]){ 1.7 }, 1, 0, "" };
	c.ctx = &slow;
	is_int(gate_confirm(db, NULL, 10, &busy, &c, &err), 1, "worse again: fails");
	struct again slow_fast = { (const double[]){ 1.7, 1.0 }, 2, 0, "" };
	c = (struct hrn_hist_confirm){ 2, false, measure_again, &slow_fast };
	is_int(gate_confirm(db, NULL, 10, &busy, &c, &err), 0, "--confirm 2: worse, then the usual speed: passes");
	is_int(slow_fast.calls, 2, "measured again twice");
	struct again fast_unused = { (const double[]){ 1.0, 1.0 }, 2, 0, "" };
	c.ctx = &fast_unused;
	is_int(gate_confirm(db, NULL, 10, &busy, &c, &err), 0, "a measurement again that passes ends the confirmation");
	is_int(fast_unused.calls, 1, "after one measurement");
	const struct fig steady = { SHA_A, CPU_A, NULL, 1000, 50, 0.02 };
	struct again none = { NULL, 0, 0, "" };
	c.ctx = &none;
	is_int(gate_confirm(db, NULL, 10, &steady, &c, &err), 0, "a run like the stored ones passes");
	is_int(none.calls, 0, "and nothing is measured again");
	const struct fig slower = { SHA_A, CPU_A, NULL, 500, 100, 0.02 };
	struct again both = { (const double[]){ 2.0, 2.0 }, 2, 0, "" };
	c = (struct hrn_hist_confirm){ 1, false, measure_again, &both };
	is_int(gate_confirm(db, NULL, 10, &slower, &c, &err), 1, "a 2x slower build fails, measured again");
	is_str(both.tests, "pp32 pp32+tg8", "both of its rows measured again");
	c.ctx = &none;
	is_int(gate_confirm(db, NULL, 10, &busy, &c, &err), MRL_ERUNTIME, "a measurement again that fails is the gate's error");
	like(err.msg, "the model went away", "with its message");
}

/* Bimodal noise as on a shared 2-vCPU machine (docs/history.md): a run lands on a
 * busy CPU with probability 0.25 and is then 1.1-2x slower. n A/A trials of 4
 * stored runs + 1 candidate; a failing test is measured again up to `confirm`
 * times with the same noise (each test its own runs). Returns the false alarms. */
static int bimodal_trials(const char *name, int n, int confirm, uint64_t seed)
{
	char db[300], label[32];
	snprintf(db, sizeof db, "%s/%s.db", tmp, name);
	struct mrl_rng r;
	mrl_rng_seed(&r, seed);
	int fails = 0;
	for (int t = 0; t < n; t++) {
		double f[9]; /* 4 stored runs, the candidate, up to 2 runs again of each of its 2 tests */
		for (int i = 0; i < 9; i++)
			f[i] = mrl_rng_uniform(&r) < 0.25 ? 1.1 + 0.9 * mrl_rng_uniform(&r) : 1 + 0.02 * mrl_rng_uniform(&r);
		snprintf(label, sizeof label, "trial%d", t);
		for (int i = 0; i < 4; i++)
			if (store(db, label, &(struct fig){ SHA_A, CPU_A, NULL, 1000 / f[i], 50 * f[i], 0.01 }))
				return -1;
		struct again a = { &f[5], 4, 0, "" };
		const struct hrn_hist_confirm c = { confirm, true, measure_again, &a };
		struct mrl_err err = { 0 };
		int rc = gate_confirm(db, label, 4, &(struct fig){ SHA_A, CPU_A, NULL, 1000 / f[4], 50 * f[4], 0.01 }, &c, &err);
		if (rc < 0)
			return diag("%s", err.msg), -1;
		fails += rc;
	}
	return fails;
}

static void t_bimodal(void)
{
	const int once = bimodal_trials("bi0", 200, 0, 11), again1 = bimodal_trials("bi1", 200, 1, 11),
		  again2 = bimodal_trials("bi2", 200, 2, 11);
	diag("A/A, bimodal noise (busy 25%%, 1.1-2x), 4 records, 200 trials: %d false alarms judged once, %d with "
	     "--confirm 1, %d with --confirm 2 (the default)", once, again1, again2);
	ok(once >= 10 && again1 >= 0 && again1 < once, "judged once, a busy run fails often; measured again once, less often");
	ok(again2 >= 0 && again2 * 5 <= once, "measured again up to twice: at least 5-fold fewer false alarms");
	ok(again2 <= 4, "at most 4 in 200");
}

static void t_identity(void)
{
	char db[300];
	snprintf(db, sizeof db, "%s/ident.db", tmp);
	int bad = 0;
	for (int i = 0; i < 3; i++) /* the oldest: 5-7 */
		bad += store(db, NULL, &(struct fig){ SHA_A, CPU_A, NULL, 1000, 50, 0.01 }) != 0;
	for (int i = 0; i < 4; i++) /* the newest: 1-4, another model, 48x faster */
		bad += store(db, NULL, &(struct fig){ SHA_B, CPU_A, NULL, 48000, 1, 0.01 }) != 0;
	is_int(bad, 0, "7 records stored");
	struct mrl_err err = { 0 };
	int rc = gate(db, NULL, 4, &(struct fig){ SHA_A, CPU_A, NULL, 1000, 50, 0.01 }, &err);
	is_int(rc, MRL_EINPUT, "the last 4 records are of another model: no baseline");
	like(err.msg, "records 1-4 are of another model (sha256 1a2b3c4d5e6f", "says which records and their model");
	like(err.msg, "0 of the last 4", "and how many match");
	rc = gate(db, NULL, 10, &(struct fig){ SHA_A, CPU_A, NULL, 1000, 50, 0.01 }, &err);
	is_int(rc, 0, "with --last 10 the 3 older records of this model are the baseline");
	rc = gate(db, NULL, 10, &(struct fig){ SHA_A, "Other CPU X", NULL, 1000, 50, 0.01 }, &err);
	is_int(rc, MRL_EINPUT, "another CPU: no baseline");
	like(err.msg, "records 5-7 are of another CPU: " CPU_A, "names the records' CPU");
	rc = gate(db, NULL, 10, &(struct fig){ SHA_A, CPU_A, "f32", 1000, 50, 0.01 }, &err);
	is_int(rc, MRL_EINPUT, "another KV cache: no baseline");
	like(err.msg, "records 5-7 are with another KV cache: f16", "names the records' KV cache");
}

int main(void)
{
	if (!cli_tmpdir(tmp, sizeof tmp, "hrn-bench-hist")) {
		skip_all("cannot make a temporary folder");
		return 0;
	}
	setenv("MERILO_CACHE_DIR", tmp, 1);
	TEST(t_audit_aa(), "the audit's noisy A/A TTFT passes; a 20x slower one fails");
	TEST(t_constructed(), "constructed A/A trials rarely fail; a 2x slowdown against a steady history always does");
	TEST(t_confirm(), "a worse row is measured again and fails only when worse again (bench --confirm)");
	TEST(t_bimodal(), "A/A with bimodal noise: measuring a failing row again cuts the false alarms");
	TEST(t_identity(), "records of another model, CPU or KV cache are no baseline, and the error says which");
	cli_rmtree(tmp);
	return done_testing();
}
