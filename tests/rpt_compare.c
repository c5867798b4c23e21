/* rpt_compare.c — verdicts and the gate of reports/compare.c on constructed
 * paired data: an injected regression is caught, noise is not, Holm is applied,
 * thresholds and filters work, and the renderings carry what they must. */
#include "common/sort.h"
#include "metrics/met.h"
#include "reports/rpt.h"
#include "tests/tap.h"

#define N 500

static char ids[4][N][32];

/* n items, n_right right in base; flips: rw right->wrong, wr wrong->right. */
static struct rpt_pair *make_pairs(int set, size_t n, size_t n_right, size_t rw, size_t wr)
{
	struct rpt_pair *p = calloc(n, sizeof *p);
	for (size_t i = 0; i < n; i++) {
		snprintf(ids[set][i], sizeof ids[set][i], "it-%03zu", i);
		p[i].item_id = ids[set][i];
		p[i].prompt = i == 0 ? "<script>alert(1)</script> | *x*" : NULL;
		p[i].base = i < n_right;
		p[i].cand = p[i].base;
	}
	for (size_t k = 0; k < rw; k++)
		p[k].cand = 0; /* the first rw right items become wrong */
	for (size_t k = 0; k < wr; k++)
		p[n_right + k].cand = 1; /* the first wr wrong items become right */
	return p;
}

static struct rpt_cmp_input input(const char *lang, const char *metric, struct rpt_pair *p, size_t n)
{
	return (struct rpt_cmp_input){ .task = "copa", .language = lang, .metric = metric,
				       .kind = RPT_METRIC_BINARY, .pairs = p, .n_pairs = n };
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ---- KL from top-K lists: hand-computed distributions ---- */

/* The base/candidate top-2 lists of the tail-bucket case, reused by the error cases. */
static const int32_t bt[] = { 1, 2 }, ct[] = { 1, 3 };
static const double pbt[] = { 0.5, 0.2 }, pct[] = { 0.4, 0.3 }; /* probabilities; log() taken in lp() */

/* The natural logs of p[0..n) into out. */
static const double *lp(const double *p, size_t n, double *out)
{
	for (size_t i = 0; i < n; i++)
		out[i] = log(p[i]);
	return out;
}

static void test_kl_values(void)
{
	struct mrl_err err = {0};
	double kl = -1, cov = -1, lbt[2], lct[2];
	lp(pbt, 2, lbt);
	lp(pct, 2, lct);

	/* identical lists: exactly 0, and the lists' mass is covered */
	const int32_t id3[] = { 5, 7, 9 };
	const double lp3[] = { log(0.5), log(0.3), log(0.1) };
	is_int(rpt_kl_position(id3, lp3, 3, id3, lp3, 3, &kl, &cov, &err), 0, "KL identical: runs");
	ok(kl == 0.0, "KL identical: exactly 0");
	is_near(cov, 0.9, 1e-12, "KL identical: covered mass 0.9");

	/* a whole two-token vocabulary: base (0.7, 0.3), candidate (0.4, 0.6), each best first;
	 * KL = 0.7 ln(0.7/0.4) + 0.3 ln(0.3/0.6) = 0.18378689738681 (both tails 0) */
	const int32_t b2[] = { 1, 2 }, c2[] = { 2, 1 };
	const double pb2[] = { log(0.7), log(0.3) }, pc2[] = { log(0.6), log(0.4) };
	is_int(rpt_kl_position(b2, pb2, 2, c2, pc2, 2, &kl, &cov, &err), 0, "KL two tokens: runs");
	is_near(kl, 0.18378689738681, 1e-12, "KL two tokens: 0.7 ln(7/4) + 0.3 ln(1/2)");
	is_near(cov, 1.0, 1e-12, "KL two tokens: all the mass covered");

	/* the tail bucket: base top-2 {1: .5, 2: .2}, candidate top-2 {1: .4, 3: .3}. S = {1};
	 * tails 0.5 and 0.6: D_K = 0.5 ln(.5/.4) + 0.5 ln(.5/.6) = 0.02041099726013 */
	is_int(rpt_kl_position(bt, lbt, 2, ct, lct, 2, &kl, &cov, &err), 0, "KL tail: runs");
	is_near(kl, 0.02041099726013, 1e-12, "KL tail: shared token + one tail bucket");
	is_near(cov, 0.5, 1e-12, "KL tail: covered mass is the shared token's 0.5");
	/* the same two distributions in full (vocabulary {1,2,3,4}): the true KL is larger, and
	 * with K = the vocabulary the estimate is exact */
	const int32_t bf[] = { 1, 2, 4, 3 }, cf[] = { 1, 3, 4, 2 };
	const double pbf[] = { log(0.5), log(0.2), log(0.2), log(0.1) }, pcf[] = { log(0.4), log(0.3), log(0.2), log(0.1) };
	double true_kl = 0.5 * log(0.5 / 0.4) + 0.2 * log(0.2 / 0.1) + 0.1 * log(0.1 / 0.3); /* token 4: 0 */
	ok(kl <= true_kl, "KL tail: the top-2 estimate is a lower bound of the true KL");
	is_int(rpt_kl_position(bf, pbf, 4, cf, pcf, 4, &kl, &cov, &err), 0, "KL full lists: runs");
	is_near(kl, true_kl, 1e-12, "KL full lists: exact (0.140339983)");
	is_near(true_kl, 0.1403399834, 1e-9, "KL full lists: hand value");

	/* nothing shared: no buckets but the tail, D_K = 0, covered 0 */
	const int32_t dj[] = { 8, 9 };
	is_int(rpt_kl_position(bt, lbt, 2, dj, lct, 2, &kl, &cov, &err), 0, "KL disjoint: runs");
	ok(kl == 0.0 && cov == 0.0, "KL disjoint lists: 0 with covered mass 0 (says nothing)");

	/* a shared token the candidate gives probability 0: infinite */
	const double pc_inf[] = { -INFINITY, log(0.3) };
	is_int(rpt_kl_position(bt, lbt, 2, ct, pc_inf, 2, &kl, &cov, &err), 0, "KL zero candidate probability: runs");
	ok(isinf(kl) && kl > 0, "KL zero candidate probability: +inf");
}

/* Bad lists are input errors naming the side. */
static void test_kl_bad_lists(void)
{
	struct mrl_err err = {0};
	double kl = -1, cov = -1, lbt[2], lct[2];
	lp(pbt, 2, lbt);
	lp(pct, 2, lct);
	const int32_t dup[] = { 4, 4 };
	is_int(rpt_kl_position(bt, lbt, 2, dup, lct, 2, &kl, &cov, &err), MRL_EINPUT, "KL: token twice is an error");
	like(err.msg, "candidate top-K list has token 4 twice", "KL: message names side and token");
	const double over[] = { log(0.8), log(0.7) };
	is_int(rpt_kl_position(bt, over, 2, ct, lct, 2, &kl, &cov, &err), MRL_EINPUT, "KL: mass > 1 is an error");
	like(err.msg, "base top-K list holds probability", "KL: message says base");
	is_int(rpt_kl_position(bt, lbt, 0, ct, lct, 2, &kl, &cov, &err), MRL_EINPUT, "KL: k = 0 is an error");
	const double nanlp[] = { NAN, log(0.2) };
	is_int(rpt_kl_position(bt, nanlp, 2, ct, lct, 2, &kl, &cov, &err), MRL_EINPUT, "KL: NaN is an error");
}

/* The summary of five positions with top-K and six in all (test_kl_summary checks it). */
static const double kls[] = { 0.3, 0.0, 0.4, 0.1, 0.2 }, covs[] = { 0.5, 0.6, 0.7, 0.8, 0.9 };
static const bool kl_same[] = { true, true, false, true, false };
static const double adl[] = { 0.1, 0.2, 0.3, 0.2, 0.2, 0.2 };

/* Summary: linear-interpolated percentiles as numpy. */
static void test_kl_summary(void)
{
	struct mrl_err err = {0};
	const bool *same = kl_same;
	struct rpt_kl_row row = { .task = "copa", .language = "hr" };
	is_int(rpt_kl_summarize(kls, covs, same, 5, adl, 6, &row, &err), 0, "KL summary: runs");
	is_near(row.kl_mean, 0.2, 1e-15, "KL summary: mean");
	is_near(row.kl_median, 0.2, 1e-15, "KL summary: median");
	is_near(row.kl_p90, 0.36, 1e-15, "KL summary: p90 = 0.3 + 0.6 * 0.1");
	is_near(row.kl_p99, 0.396, 1e-15, "KL summary: p99");
	is_near(row.kl_max, 0.4, 0, "KL summary: max");
	is_near(row.covered_mean, 0.7, 1e-15, "KL summary: mean covered mass");
	is_near(row.top1_agreement, 0.6, 1e-15, "KL summary: top-1 agreement 3 of 5");
	is_near(row.abs_dlogprob_mean, 0.2, 1e-15, "KL summary: mean |dlogprob| over all 6 positions");
	ok(row.n_positions == 6 && row.n_positions_topk == 5, "KL summary: position counts");
	struct rpt_kl_row none = { .task = "copa", .language = "en" };
	is_int(rpt_kl_summarize(NULL, NULL, NULL, 0, adl, 2, &none, &err), 0, "KL summary without top-K: runs");
	ok(isnan(none.kl_mean) && isnan(none.top1_agreement) && !isnan(none.abs_dlogprob_mean),
	   "KL summary without top-K: KL and top-1 unavailable, |dlogprob| given");
}

/* The KL gate and the renderings. */
static void test_kl_gate(void)
{
	struct mrl_err err = {0};
	struct rpt_kl_row row = { .task = "copa", .language = "hr" };
	rpt_kl_summarize(kls, covs, kl_same, 5, adl, 6, &row, &err);
	struct rpt_pair p1[2] = { { "a", NULL, 1, 1, NULL }, { "b", NULL, 0, 0, NULL } };
	struct rpt_cmp_input in = { .task = "copa", .language = "hr", .metric = "acc", .kind = RPT_METRIC_BINARY,
				    .pairs = p1, .n_pairs = 2 };
	struct rpt_gate_metric gate_acc = { "acc", 1.0 };
	struct rpt_compare_opts o;
	rpt_compare_opts_init(&o);
	o.gate = &gate_acc;
	o.n_gate = 1;
	o.n_resamples = 200;
	struct rpt_kl_row rows[2] = { row, row };
	rows[0].kl_mean = 0.05;
	rows[1].task = rows[1].language = "all";
	rows[1].kl_mean = 0.03;
	struct rpt_cmp_result res;
	is_int(rpt_compare(&in, 1, &o, &res, &err), 0, "KL gate: compare runs");
	ok(isnan(res.kl_gate_max_mean) && res.n_kl == 0, "KL gate: none before rpt_compare_set_kl");
	is_int(rpt_compare_set_kl(&res, rows, 2, NAN, &err), 0, "KL rows, no gate: attached");
	ok(!res.kl[0].gated && !res.kl[1].gated && res.n_gated == 1 && res.n_gate_failed == 0,
	   "KL rows without --gate-kl: informational, not gated");
	char *xml = rpt_compare_render(&res, NULL, RPT_FMT_JUNIT, &err);
	like(xml, "<property name=\"kl.copa.hr.kl_mean\" value=\"0.050000000000000003\"/>", "junit: KL as a property");
	like(xml, "<property name=\"kl.all.all.top1_agreement\" value=\"0.59999999999999998\"/>", "junit: overall top-1");
	is_int(count(xml, "merilo.compare.kl"), 0, "junit: no KL testcase without a KL gate");
	free(xml);
	is_int(rpt_compare_set_kl(&res, rows, 2, 0.04, &err), 0, "KL gate 0.04: attached");
	ok(res.kl[0].gated && res.kl[0].gate_failed && res.kl[1].gated && !res.kl[1].gate_failed,
	   "KL gate 0.04: 0.05 fails, overall 0.03 passes");
	ok(res.n_gated == 3 && res.n_gate_failed == 1, "KL gate: counted with the metric gate (3 gated, 1 failed)");
	char *txt = rpt_compare_render(&res, NULL, RPT_FMT_TEXT, &err);
	like(txt, "LOWER BOUND", "text: KL said to be a lower bound");
	like(txt, "FAIL: 1 of 3 gated comparisons regressed: copa/hr KL mean 0.05 > 0.04 nats;", "text: KL failure line");
	like(txt, "exceeds 0.04 nats", "text: the gate rule names the KL limit");
	free(txt);
	char *md = rpt_compare_render(&res, NULL, RPT_FMT_MD, &err);
	like(md, "### KL divergence and top-1 agreement", "md: KL section");
	like(md, "| 70.00% | —/— | 60.00% | 0.2 | ❌ FAIL |", "md: covered, top-K mass (unknown here), top-1, |dlogprob| and the gate in the row");
	free(md);
	char *js = rpt_compare_render(&res, NULL, RPT_FMT_JSON, &err);
	like(js, "\"lower_bound\": true", "json: lower_bound flag");
	like(js, "\"kl_p99\": 0.39600000000000002", "json: p99");
	like(js, "\"gate_kl\": 0.040000000000000001", "json: gate in the options");
	free(js);
	xml = rpt_compare_render(&res, NULL, RPT_FMT_JUNIT, &err);
	is_int(count(xml, "<failure type=\"kl-divergence\""), 1, "junit: a KL failure with --gate-kl");
	like(xml, "tests=\"3\" failures=\"1\"", "junit: KL testcases counted");
	free(xml);
	const char *only_en[] = { "en" };
	res.opts.gate_languages = only_en;
	res.opts.n_gate_languages = 1;
	is_int(rpt_compare_set_kl(&res, rows, 2, 0.04, &err), MRL_EINPUT, "KL gate filtering out every row: an error");
	like(err.msg, "no KL figure to check", "KL gate error says why");
	ok(res.n_gated == 1 && res.n_gate_failed == 0, "KL gate re-attached: earlier KL gate counts removed");
	rows[0].kl_mean = rows[1].kl_mean = NAN;
	res.opts.gate_languages = NULL;
	res.opts.n_gate_languages = 0;
	is_int(rpt_compare_set_kl(&res, rows, 2, 0.04, &err), MRL_EINPUT, "KL gate without any KL figure: an error");
	rpt_cmp_result_release(&res);
}

/* Options that gate on metric gate with 2000 resamples. */
static struct rpt_compare_opts gating(const struct rpt_gate_metric *gate)
{
	struct rpt_compare_opts o;
	rpt_compare_opts_init(&o);
	o.gate = gate;
	o.n_gate = 1;
	o.n_resamples = 2000;
	return o;
}

static const struct rpt_gate_metric gate_acc = { "acc", 1.0 };

/* 1. Injected 5-point regression: 400/500 right, 25 right -> wrong. */
static void test_regression(void)
{
	struct mrl_err err = {0};
	struct rpt_compare_opts o = gating(&gate_acc);
	struct rpt_pair *reg = make_pairs(0, N, 400, 25, 0);
	struct rpt_cmp_input in1 = input("sr-Cyrl", "acc", reg, N);
	struct rpt_cmp_result res;
	is_int(rpt_compare(&in1, 1, &o, &res, &err), 0, "regression: compare runs");
	const struct rpt_cmp_row *r = &res.rows[0];
	is_near(r->diff, -0.05, 1e-12, "regression: diff is -5 points");
	is_int(r->n_right_to_wrong, 25, "regression: McNemar b = right->wrong = 25");
	is_int(r->n_wrong_to_right, 0, "regression: McNemar c = wrong->right = 0");
	is_near(r->p, ldexp(1.0, -24), 1e-20, "regression: exact p = 2 * 0.5^25");
	ok(r->ci_high < 0 && r->ci_low < -0.05 && r->ci_high > -0.05, "regression: CI below 0 and covers -0.05");
	is_int(r->verdict, RPT_VERDICT_WORSE, "regression: verdict worse");
	ok(r->gated && r->gate_failed, "regression: gate fails");
	is_int(res.n_gate_failed, 1, "regression: one gated failure");
	is_int(r->n_flips_rw, 25, "regression: 25 flipped items listed");
	is_str(reg[r->flips_rw[24]].item_id, "it-024", "regression: flipped items are the right ones");

	char *md = rpt_compare_render(&res, NULL, RPT_FMT_MD, &err);
	like(md, "❌ regression", "md: headline says regression");
	like(md, "| it-019 |", "md: flipped item id listed");
	ok(md && !strstr(md, "| it-020 |"), "md: at most 20 flips listed per direction");
	like(md, "&lt;script&gt;alert(1)&lt;/script&gt; \\| \\*x\\*", "md: hostile prompt escaped");
	ok(md && !strstr(md, "<script>"), "md: no raw script tag");
	like(md, "and 5 more", "md: list capped at 20 with a count of the rest");
	free(md);
	char *xml = rpt_compare_render(&res, NULL, RPT_FMT_JUNIT, &err);
	is_int(count(xml, "<testcase "), 1, "junit: one testcase per gated comparison");
	is_int(count(xml, "<failure "), 1, "junit: a failure element on regression");
	like(xml, "failures=\"1\"", "junit: failure count in the suite");
	free(xml);
	char *js = rpt_compare_render(&res, NULL, RPT_FMT_JSON, &err);
	like(js, "\"passed\": false", "json: result not passed");
	like(js, "\"right_to_wrong\": 25", "json: b");
	is_int(count(js, "\"item\": \"it-0"), 25, "json: every flipped item listed");
	free(js);
	rpt_cmp_result_release(&res);
	free(reg);
}

/* 2. A/A: identical; 3. A/A with noise: 3 flips one way, 4 the other. */
static void test_a_a(void)
{
	struct mrl_err err = {0};
	struct rpt_compare_opts o = gating(&gate_acc);
	struct rpt_cmp_result res;
	struct rpt_pair *same = make_pairs(1, N, 400, 0, 0);
	struct rpt_cmp_input in2 = input("sr-Cyrl", "acc", same, N);
	is_int(rpt_compare(&in2, 1, &o, &res, &err), 0, "A/A identical: runs");
	is_near(res.rows[0].p, 1.0, 0, "A/A identical: p = 1");
	is_int(res.rows[0].verdict, RPT_VERDICT_SAME, "A/A identical: no significant change");
	is_int(res.n_gate_failed, 0, "A/A identical: gate passes");
	char *txt = rpt_compare_render(&res, NULL, RPT_FMT_TEXT, &err);
	like(txt, "PASS: no gated regression", "text: PASS line");
	free(txt);
	rpt_cmp_result_release(&res);

	struct rpt_pair *noise = make_pairs(2, N, 400, 3, 4);
	struct rpt_cmp_input in3 = input("hr", "acc", noise, N);
	is_int(rpt_compare(&in3, 1, &o, &res, &err), 0, "A/A noise: runs");
	is_int(res.rows[0].verdict, RPT_VERDICT_SAME, "A/A noise: no significant change");
	is_int(res.n_gate_failed, 0, "A/A noise: gate passes");
	rpt_cmp_result_release(&res);
	free(same);
	free(noise);
}

/* 4. Holm across comparisons: (b, c) = (10, 2), (15, 1), (0, 5), (0, 0) on 100 items. */
static void test_holm(void)
{
	struct mrl_err err = {0};
	struct rpt_compare_opts o = gating(&gate_acc);
	struct rpt_cmp_result res;
	struct rpt_pair *h[4] = { make_pairs(0, 100, 50, 10, 2), make_pairs(1, 100, 50, 15, 1),
				  make_pairs(2, 100, 50, 0, 5), make_pairs(3, 100, 50, 0, 0) };
	struct rpt_cmp_input hin[4] = { input("en", "acc", h[0], 100), input("hr", "acc", h[1], 100),
					input("sr-Cyrl", "acc", h[2], 100), input("sr-Latn", "acc", h[3], 100) };
	is_int(rpt_compare(hin, 4, &o, &res, &err), 0, "Holm: runs");
	double p10_2 = met_mcnemar_exact_p(10, 2), p15_1 = met_mcnemar_exact_p(15, 1), p0_5 = met_mcnemar_exact_p(0, 5);
	is_near(res.rows[0].p, 0.03857, 1e-5, "Holm: raw p of (10, 2) = 0.03857");
	is_near(res.rows[1].p_holm, 4 * p15_1, 1e-15, "Holm: smallest p x 4");
	is_near(res.rows[0].p_holm, 3 * p10_2, 1e-15, "Holm: second smallest p x 3");
	is_near(res.rows[2].p_holm, 2 * p0_5, 1e-15, "Holm: third x 2 (monotone)");
	is_near(res.rows[3].p_holm, 1.0, 0, "Holm: p = 1 stays 1");
	is_int(res.rows[0].verdict, RPT_VERDICT_SAME, "Holm: raw p 0.039 < 0.05 is not significant after Holm");
	is_int(res.rows[1].verdict, RPT_VERDICT_WORSE, "Holm: (15, 1) stays significant");
	is_int(res.n_gate_failed, 1, "Holm: only the Holm-significant drop fails the gate");
	rpt_cmp_result_release(&res);
	/* a fifth comparison without pairs (a metric no item has in both runs) tests nothing and
	 * does not widen the family: the same adjusted p-values */
	struct rpt_cmp_input hin5[5] = { hin[0], hin[1], hin[2], hin[3], input("hr", "lang_ok", h[0], 0) };
	is_int(rpt_compare(hin5, 5, &o, &res, &err), 0, "Holm with a comparison of no pairs: runs");
	is_near(res.rows[1].p_holm, 4 * p15_1, 1e-15, "Holm: a comparison of no pairs is not in the family (x 4, not 5)");
	ok(isnan(res.rows[4].p) && isnan(res.rows[4].p_holm) && !res.rows[4].test &&
	   res.rows[4].verdict == RPT_VERDICT_UNTESTED,
	   "the comparison of no pairs tests nothing: p, p_holm and test null, verdict not tested (it read p 1, no "
	   "significant change)");
	is_str(rpt_verdict_name(res.rows[4].verdict), "not tested (no pair)", "... and says so");
	rpt_cmp_result_release(&res);
	for (int i = 0; i < 4; i++)
		free(h[i]);
}

/* 5. Significant but smaller than the threshold: 0.5 points on 2000 items. */
static void test_threshold(void)
{
	struct mrl_err err = {0};
	struct rpt_gate_metric gate = gate_acc;
	struct rpt_compare_opts o = gating(&gate);
	struct rpt_cmp_result res;
	struct rpt_pair *small = calloc(2000, sizeof *small);
	for (size_t i = 0; i < 2000; i++) {
		small[i].item_id = "x";
		small[i].base = i < 1500;
		small[i].cand = i < 1500 && i >= 10;
	}
	struct rpt_cmp_input in5 = input("en", "acc", small, 2000);
	is_int(rpt_compare(&in5, 1, &o, &res, &err), 0, "small drop: runs");
	is_int(res.rows[0].verdict, RPT_VERDICT_WORSE, "small drop: significant (b = 10, c = 0)");
	is_int(res.n_gate_failed, 0, "small drop: 0.5 points < 1.0 threshold passes the gate");
	rpt_cmp_result_release(&res);
	gate.max_drop_points = 0.25;
	is_int(rpt_compare(&in5, 1, &o, &res, &err), 0, "small drop, tighter threshold: runs");
	is_int(res.n_gate_failed, 1, "small drop: fails at a 0.25-point threshold");
	rpt_cmp_result_release(&res);
	free(small);
}

/* 6. Language filter: regression in sr-Cyrl, only hr (unchanged) gated; a
 * language no comparison has, or an empty list, gates nothing: an error. */
static void test_language_filter(void)
{
	struct mrl_err err = {0};
	struct rpt_compare_opts o = gating(&gate_acc);
	struct rpt_cmp_result res;
	struct rpt_pair *reg = make_pairs(0, N, 400, 25, 0), *same = make_pairs(0, N, 400, 0, 0);
	struct rpt_cmp_input in[2] = { input("sr-Cyrl", "acc", reg, N), input("hr", "acc", same, N) };
	const char *langs[] = { "hr" }, *typo[] = { "HR" };
	o.gate_languages = langs;
	o.n_gate_languages = 1;
	is_int(rpt_compare(in, 2, &o, &res, &err), 0, "filter: runs");
	ok(!res.rows[0].gated && res.rows[1].gated && res.n_gate_failed == 0,
	   "filter: an ungated language does not fail the gate");
	is_int(res.rows[0].verdict, RPT_VERDICT_WORSE, "filter: but the verdict still says worse");
	rpt_cmp_result_release(&res);
	o.gate_languages = typo;
	is_int(rpt_compare(in, 2, &o, &res, &err), MRL_EINPUT, "filter: a language no comparison has is an error");
	like(err.msg, "gated language 'HR' is in no comparison (valid: sr-Cyrl,hr)", "naming it and the valid ones");
	rpt_cmp_result_release(&res);
	o.n_gate_languages = 0;
	is_int(rpt_compare(in, 2, &o, &res, &err), MRL_EINPUT, "filter: an empty list is an error");
	rpt_cmp_result_release(&res);
	free(reg);
	free(same);
}

/* 7. Graded, lower is better: bits_per_char up by 0.2 on every item. */
static void test_graded(void)
{
	struct mrl_err err = {0};
	struct rpt_gate_metric gate_bpc = { "bits_per_char", 5.0 };
	struct rpt_compare_opts o = gating(&gate_bpc);
	struct rpt_cmp_result res;
	struct rpt_pair g[40];
	for (size_t i = 0; i < 40; i++)
		g[i] = (struct rpt_pair){ "d", NULL, 1.0 + 0.01 * (double)i, 1.2 + 0.01 * (double)i + 0.001 * (double)(i % 3), NULL };
	struct rpt_cmp_input gin = { "text", "en", "bits_per_char", RPT_METRIC_GRADED, g, 40, 0, 0, NULL, NULL, NULL, NULL, false };
	is_int(rpt_compare(&gin, 1, &o, &res, &err), 0, "graded: runs");
	ok(res.rows[0].lower_is_better, "graded: bits_per_char is lower-is-better");
	is_str(res.rows[0].test, "wilcoxon-signed-rank", "graded: Wilcoxon test");
	is_int(res.rows[0].verdict, RPT_VERDICT_WORSE, "graded: an increase is worse");
	is_int(res.n_gate_failed, 1, "graded: 0.2 bits = 20 points > 5 fails");
	rpt_cmp_result_release(&res);
}

/* 8. A gated metric no comparison has is an error, not a silent pass; 9. an empty
 * comparison (no shared items) is p = 1, no verdict. */
static void test_gate_typo_and_empty(void)
{
	struct mrl_err err = {0};
	struct rpt_gate_metric typo = { "acc_nrom", 1.0 };
	struct rpt_compare_opts o = gating(&typo);
	struct rpt_cmp_result res;
	struct rpt_pair *reg = make_pairs(0, N, 400, 25, 0);
	struct rpt_cmp_input in1 = input("sr-Cyrl", "acc", reg, N);
	is_int(rpt_compare(&in1, 1, &o, &res, &err), MRL_EINPUT, "gate typo: MRL_EINPUT");
	like(err.msg, "acc_nrom", "gate typo: message names the metric");
	rpt_cmp_result_release(&res);
	o.gate = &gate_acc;
	struct rpt_cmp_input empty = input("en", "acc", NULL, 0);
	is_int(rpt_compare(&empty, 1, &o, &res, &err), 0, "empty: runs");
	is_int(res.rows[0].verdict, RPT_VERDICT_UNTESTED, "empty: no verdict (not tested)");
	/* a gate whose only row has no pair judges nothing: undetermined, not a pass */
	ok(res.n_gated == 1 && rpt_cmp_gate_empty(&res, NULL), "empty: the gate judges nothing");
	is_int(rpt_compare_outcome(&res, NULL), RPT_CMP_UNDETERMINED, "empty: undetermined (it passed)");
	rpt_cmp_result_release(&res);
	/* the gated metric on another task than the filter's: nothing gated */
	struct rpt_cmp_input two[2] = { input("sr-Cyrl", "acc", reg, N), input("sr-Cyrl", "bits_per_char", reg, N) };
	two[1].task = "text";
	const char *text_only[] = { "text" };
	o.gate_tasks = text_only;
	o.n_gate_tasks = 1;
	is_int(rpt_compare(two, 2, &o, &res, &err), 0, "acc gated on task text: runs");
	ok(res.n_gated == 0 && rpt_cmp_gate_empty(&res, NULL), "acc gated on task text only: nothing gated");
	is_int(rpt_compare_outcome(&res, NULL), RPT_CMP_UNDETERMINED, "acc gated on task text only: undetermined");
	char *txt = rpt_compare_render(&res, NULL, RPT_FMT_TEXT, &err), *xml = rpt_compare_render(&res, NULL, RPT_FMT_JUNIT, &err);
	like(txt, "UNDETERMINED: the gate judges nothing: no gated comparison has a pair of items to judge (gated "
		  "metrics acc on tasks text)", "text: says what the gate covers");
	like(xml, "<failure type=\"undetermined\" message=\"the gate judges nothing", "JUnit: an undetermined testcase");
	free(txt);
	free(xml);
	rpt_cmp_result_release(&res);
	o.gate_tasks = NULL;
	is_int(rpt_compare(two, 2, &o, &res, &err), 0, "acc gated on every task: runs");
	ok(!rpt_cmp_gate_empty(&res, NULL) && rpt_compare_outcome(&res, NULL) == RPT_CMP_REGRESSION,
	   "acc gated on every task: judged (a regression)");
	rpt_cmp_result_release(&res);
	free(reg);
}

/* 10. Too few pairs to show a change: 6 documents whose bits_per_char rose 10-fold, in
 * 4 languages, gated: the exact p of 6 pairs all one way is 2^-5 = 0.031, and 0.125
 * after Holm over 4, so the gate could never fail; it is undetermined (it passed). The
 * same rise over 12 documents is a regression; a fall over 6 is a pass. */
static void test_underpowered(void)
{
	struct mrl_err err = {0};
	struct rpt_gate_metric gate_bpc = { "bits_per_char", 1.0 };
	struct rpt_compare_opts o = gating(&gate_bpc);
	struct rpt_cmp_result res;
	static const char *const langs[] = { "en", "hr", "sr-Cyrl", "sr-Latn" };
	struct rpt_pair g[12], fall[6];
	for (size_t i = 0; i < 12; i++)
		g[i] = (struct rpt_pair){ "d", NULL, 1.0 + 0.01 * (double)i, 10.0 + 0.1 * (double)i, NULL };
	for (size_t i = 0; i < 6; i++)
		fall[i] = (struct rpt_pair){ "d", NULL, g[i].cand, g[i].base, NULL };
	struct rpt_cmp_input in[4];
	for (size_t l = 0; l < 4; l++)
		in[l] = (struct rpt_cmp_input){ "text", langs[l], "bits_per_char", RPT_METRIC_GRADED, g, 6, 0, 0, NULL, NULL, NULL, NULL, false };
	is_int(rpt_compare(in, 4, &o, &res, &err), 0, "6 pairs x 4 languages: runs");
	is_int(res.n_gate_failed, 0, "6 pairs: no failure (none can be significant)");
	is_int(res.n_gate_underpowered, 4, "6 pairs: every gated row undetermined");
	ok(fabs(res.rows[0].p_floor - 0.125) < 1e-12, "the smallest Holm p: 4 x 2^-5 = 0.125");
	is_int(rpt_compare_outcome(&res, NULL), RPT_CMP_UNDETERMINED, "the outcome is undetermined, not pass");
	char *txt = rpt_compare_render(&res, NULL, RPT_FMT_TEXT, &err);
	like(txt, "too few pairs to show a change", "the text says why");
	like(txt, "bits_per_char rises by more than 1 point", "and the rule says rises, for a lower-is-better metric");
	free(txt);
	char *xml = rpt_compare_render(&res, NULL, RPT_FMT_JUNIT, &err);
	is_int(xml ? (long long)count(xml, "<failure type=\"undetermined\"") : -1, 4, "junit: 4 undetermined failures");
	free(xml);
	rpt_cmp_result_release(&res);
	for (size_t l = 0; l < 4; l++)
		in[l].n_pairs = 12;
	is_int(rpt_compare(in, 4, &o, &res, &err), 0, "12 pairs: runs");
	ok(res.n_gate_failed == 4 && res.n_gate_underpowered == 0, "12 pairs: a regression in every language");
	rpt_cmp_result_release(&res);
	for (size_t l = 0; l < 4; l++)
		in[l] = (struct rpt_cmp_input){ "text", langs[l], "bits_per_char", RPT_METRIC_GRADED, fall, 6, 0, 0, NULL, NULL, NULL, NULL, false };
	is_int(rpt_compare(in, 4, &o, &res, &err), 0, "6 pairs falling: runs");
	ok(res.n_gate_underpowered == 0 && rpt_compare_outcome(&res, NULL) == RPT_CMP_PASS, "6 pairs falling: a pass");
	rpt_cmp_result_release(&res);
}

/* 11. Flipped items are listed in the order people read ids (7, 16, 102, 161), not
 * in the pairing's byte order (102, 16, 161, 7). */
static void test_flip_order(void)
{
	struct mrl_err err = {0};
	static const char *const id[] = { "102", "16", "161", "7", "it-2", "it-10" };
	struct rpt_pair p[6];
	for (size_t i = 0; i < 6; i++)
		p[i] = (struct rpt_pair){ id[i], NULL, 1, 0, NULL };
	struct rpt_cmp_input in = input("hr", "acc", p, 6);
	struct rpt_cmp_result res;
	is_int(rpt_compare(&in, 1, NULL, &res, &err), 0, "runs");
	char got[64] = "";
	for (size_t k = 0; k < res.rows[0].n_flips_rw; k++)
		snprintf(got + strlen(got), sizeof got - strlen(got), "%s%s", k ? "," : "", p[res.rows[0].flips_rw[k]].item_id);
	is_str(got, "7,16,102,161,it-2,it-10", "right->wrong flips in natural id order");
	rpt_cmp_result_release(&res);
	ok(mrl_strcmp_natural("a007", "a7") > 0 && mrl_strcmp_natural("a7", "a07") < 0 && !mrl_strcmp_natural("x1", "x1"),
	   "equal numbers: the shorter spelling first; equal strings equal");
}

/* The rows are computed on several threads: the result is the same bits on 1, 3 and 8 threads,
 * and the error of a bad row is the first bad row's (by index), whatever thread meets it. */
static void test_threads(void)
{
	enum { N_IN = 24, N_PAIRS = 300 };
	static struct rpt_pair pairs[N_IN][N_PAIRS];
	struct rpt_cmp_input in[N_IN];
	uint64_t x = 88172645463325252ULL;
	for (size_t i = 0; i < N_IN; i++) {
		for (size_t k = 0; k < N_PAIRS; k++) {
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			const bool graded = i % 3 == 2;
			pairs[i][k] = (struct rpt_pair){ .item_id = "i", .base = graded ? (double)(x % 1000) / 7 : (double)(x & 1),
							 .cand = graded ? (double)((x >> 20) % 1000) / 7 : (double)((x >> 9) & 1) };
		}
		in[i] = (struct rpt_cmp_input){ .task = "t", .language = i % 2 ? "hr" : "en", .metric = i % 3 == 2 ? "bits_per_char" : "acc",
						.kind = i % 3 == 2 ? RPT_METRIC_GRADED : RPT_METRIC_BINARY, .pairs = pairs[i],
						.n_pairs = N_PAIRS - i };
	}
	struct rpt_compare_opts o;
	rpt_compare_opts_init(&o);
	o.n_resamples = 2000;
	struct rpt_cmp_result r1, rn;
	struct mrl_err err = { 0 };
	o.n_threads = 1;
	is_int(rpt_compare(in, N_IN, &o, &r1, &err), 0, "24 comparisons on 1 thread");
	static const size_t threads[] = { 3, 8 };
	for (size_t t = 0; t < 2; t++) {
		o.n_threads = threads[t];
		is_int(rpt_compare(in, N_IN, &o, &rn, &err), 0, "and on several");
		size_t same = 0;
		for (size_t i = 0; i < N_IN; i++) {
			const struct rpt_cmp_row *a = &r1.rows[i], *b = &rn.rows[i];
			same += !memcmp(&a->diff, &b->diff, sizeof a->diff) && !memcmp(&a->ci_low, &b->ci_low, sizeof a->ci_low) &&
				!memcmp(&a->ci_high, &b->ci_high, sizeof a->ci_high) && !memcmp(&a->p_holm, &b->p_holm, sizeof a->p_holm) &&
				a->n_flips_rw == b->n_flips_rw && a->verdict == b->verdict;
		}
		is_int((long long)same, N_IN, threads[t] == 3 ? "3 threads: every row the same bits as on 1"
							       : "8 threads: every row the same bits as on 1");
		rpt_cmp_result_release(&rn);
	}
	rpt_cmp_result_release(&r1);
	pairs[17][5].item_id = "bad17";
	pairs[17][5].cand = NAN;
	pairs[6][9].item_id = "bad6";
	pairs[6][9].base = NAN;
	o.n_threads = 8;
	is_int(rpt_compare(in, N_IN, &o, &rn, &err), MRL_EINPUT, "a non-finite value is an input error on 8 threads");
	like(err.msg, "item 'bad6' has a non-finite value", "naming the first bad row's item");
	rpt_cmp_result_release(&rn);
}

int main(void)
{
	TEST(test_regression(), "an injected 5-point regression is caught, gated and rendered with its flips");
	TEST(test_a_a(), "A/A, identical or with noise, is no change and passes the gate");
	TEST(test_holm(), "Holm is applied across comparisons");
	TEST(test_threshold(), "a significant drop below the threshold passes; a tighter threshold fails it");
	TEST(test_language_filter(), "an ungated language does not fail the gate, its verdict still says worse");
	TEST(test_graded(), "a graded lower-is-better metric: Wilcoxon, an increase is worse");
	TEST(test_underpowered(), "a gate that too few pairs cannot trip is undetermined, not a pass");
	TEST(test_flip_order(), "flipped items in natural id order");
	TEST(test_threads(), "rows on several threads: the same bits as on one; the first bad row's error");
	TEST(test_gate_typo_and_empty(), "a gated metric no comparison has is an error; a gate that judges nothing is undetermined");
	TEST(test_kl_values(), "KL from top-K lists equals hand-computed values, tail bucket included");
	TEST(test_kl_bad_lists(), "bad top-K lists are input errors naming the side");
	TEST(test_kl_summary(), "the KL summary: numpy percentiles, covered mass, top-1 agreement");
	TEST(test_kl_gate(), "the KL gate and its renderings in text, md, json and junit");
	return done_testing();
}
