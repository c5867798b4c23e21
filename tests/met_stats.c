/* met_stats.c — tests of metrics' statistics and PRNG against outside numbers.
 *
 * Expected values come from: numpy 2.4.6 / scipy 1.17.1 (computed with the
 * Python lines quoted next to each figure), textbook hand computation (shown),
 * the xoshiro/splitmix64 reference test vectors, and BENCHić's published
 * per-item COPA predictions in ../shared/fixtures (checks SKIP when absent).
 */
#include "metrics/met.h"
#include "tests/tap.h"

#include <jansson.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static void test_rng(void)
{
	/* splitmix64 from 1234567: the vector published with Vigna's splitmix64.c.
	 * mrl_rng_seed fills s[] with its first four outputs. */
	struct mrl_rng rng;
	mrl_rng_seed(&rng, 1234567);
	ok(rng.s[0] == 6457827717110365317ULL && rng.s[1] == 3203168211198807973ULL &&
	   rng.s[2] == 9817491932198370423ULL && rng.s[3] == 4593380528125082431ULL,
	   "rng: seeding = splitmix64 reference outputs for seed 1234567");
	/* xoshiro256** from state {1,2,3,4}: reference outputs (also recomputed with a
	 * Python transcription of xoshiro256starstar.c). */
	rng = (struct mrl_rng){{1, 2, 3, 4}};
	static const uint64_t want[] = {11520, 0, 1509978240, 1215971899390074240ULL,
					1216172134540287360ULL, 607988272756665600ULL};
	int same = 1;
	for (size_t i = 0; i < ARRAY_LEN(want); i++)
		same &= mrl_rng_next(&rng) == want[i];
	ok(same, "rng: xoshiro256** reference outputs from state {1,2,3,4}");

	struct mrl_rng a, b;
	mrl_rng_seed(&a, 42);
	mrl_rng_seed(&b, 42);
	same = 1;
	for (int i = 0; i < 1000; i++)
		same &= mrl_rng_next(&a) == mrl_rng_next(&b);
	ok(same, "rng: same seed, same stream");
	mrl_rng_seed_stream(&a, 42, 0);
	mrl_rng_seed_stream(&b, 42, 1);
	ok(mrl_rng_next(&a) != mrl_rng_next(&b), "rng: streams 0 and 1 of one seed differ");
	struct mrl_rng child;
	mrl_rng_seed(&a, 7);
	b = a;
	mrl_rng_split(&a, &child);
	ok(mrl_rng_next(&child) != mrl_rng_next(&a) && a.s[0] != b.s[0],
	   "rng: split advances the parent and gives a different child stream");
	/* jump from seed 42: a Python transcription of xoshiro256starstar.c's jump()
	 * gives next outputs 5766981335298035530, 13414075677763163907 */
	mrl_rng_seed(&b, 42);
	mrl_rng_jump(&b);
	uint64_t j0 = mrl_rng_next(&b), j1 = mrl_rng_next(&b);
	ok(j0 == 5766981335298035530ULL && j1 == 13414075677763163907ULL,
	   "rng: jump matches the reference (seed 42)");

	/* uniform in [0,1), below() in range and roughly uniform (chi-square, 10 bins) */
	mrl_rng_seed(&rng, 99);
	double umin = 1, umax = 0, usum = 0;
	int counts[10] = {0}, in_range = 1;
	for (int i = 0; i < 100000; i++) {
		double u = mrl_rng_uniform(&rng);
		umin = u < umin ? u : umin;
		umax = u > umax ? u : umax;
		usum += u;
		uint64_t k = mrl_rng_below(&rng, 10);
		in_range &= k < 10;
		if (k < 10)
			counts[k]++;
	}
	ok(umin >= 0.0 && umax < 1.0, "rng: uniform() stays in [0, 1)");
	is_near(usum / 100000, 0.5, 0.005, "rng: uniform() mean ~ 0.5 over 1e5 draws");
	double chi2 = 0;
	for (int k = 0; k < 10; k++)
		chi2 += (counts[k] - 10000.0) * (counts[k] - 10000.0) / 10000.0;
	ok(in_range && chi2 < 27.88, "rng: below(10) uniform (chi2 < 27.88, the 0.001 critical value, df 9)");
	if (chi2 >= 27.88)
		diag("chi2 = %g", chi2);
	is_int(mrl_rng_below(&rng, 0), 0, "rng: below(0) is 0");
	is_int(mrl_rng_below(&rng, 1), 0, "rng: below(1) is 0");
}

static void test_summary(void)
{
	struct mrl_err err = {0};
	double x[] = {2.5, 0.1, 7.3, 4.4, 4.4, 9.9, -1.2, 3.0, 5.5, 6.1};
	double copy[ARRAY_LEN(x)];
	memcpy(copy, x, sizeof x);
	struct met_summary s;
	int rc = met_summary_compute(x, ARRAY_LEN(x), &s, &err);
	is_int(rc, 0, "summary: ok on 10 values");
	ok(memcmp(copy, x, sizeof x) == 0, "summary: caller's array not reordered");
	/* numpy: x.mean(), x.std(ddof=1), x.std(ddof=1)/sqrt(10), np.median(x),
	 * np.percentile(x, 90), np.percentile(x, 99) */
	is_int(s.n, 10, "summary: n");
	is_near(s.mean, 4.2000000000000002, 1e-12, "summary: mean = numpy 4.2");
	is_near(s.sd, 3.2961256718220628, 1e-12, "summary: sd (n-1) = numpy 3.2961256718220628");
	is_near(s.se, 1.04232645771104, 1e-12, "summary: se = numpy 1.04232645771104");
	is_near(s.median, 4.4, 1e-12, "summary: median = numpy 4.4");
	is_near(s.p50, s.median, 0, "summary: p50 == median");
	is_near(s.p90, 7.5599999999999987, 1e-12, "summary: p90 = numpy 7.56 (linear interpolation)");
	is_near(s.p99, 9.6660000000000004, 1e-12, "summary: p99 = numpy 9.666");
	is_near(s.min, -1.2, 0, "summary: min");
	is_near(s.max, 9.9, 0, "summary: max");

	double sorted[ARRAY_LEN(x)];
	memcpy(sorted, x, sizeof x);
	for (size_t i = 1; i < ARRAY_LEN(sorted); i++) /* insertion sort */
		for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
			double t = sorted[j];
			sorted[j] = sorted[j - 1];
			sorted[j - 1] = t;
		}
	/* numpy: np.percentile(x, 25) = 2.625, np.percentile(x, 33.3) = 2.9985 */
	is_near(met_percentile_sorted(sorted, 10, 25), 2.625, 1e-12, "percentile: q=25 = numpy 2.625");
	is_near(met_percentile_sorted(sorted, 10, 33.3), 2.9984999999999999, 1e-12,
		"percentile: q=33.3 = numpy 2.9985");
	is_near(met_percentile_sorted(sorted, 10, 0), -1.2, 0, "percentile: q=0 is the min");
	is_near(met_percentile_sorted(sorted, 10, 100), 9.9, 0, "percentile: q=100 is the max");
	ok(isnan(met_percentile_sorted(sorted, 10, 101)), "percentile: q > 100 is NaN");

	double one = 3.5;
	rc = met_summary_compute(&one, 1, &s, &err);
	ok(rc == 0 && s.mean == 3.5 && s.p99 == 3.5 && isnan(s.sd) && isnan(s.se),
	   "summary: n=1 gives the value everywhere, sd and se NaN");
	rc = met_summary_compute(x, 0, &s, &err);
	is_int(rc, MRL_EINPUT, "summary: n=0 is MRL_EINPUT");
	double bad[] = {1.0, NAN, 2.0};
	rc = met_summary_compute(bad, 3, &s, &err);
	is_int(rc, MRL_EINPUT, "summary: NaN is MRL_EINPUT");
	like(err.msg, "x[1] is NaN", "summary: the error names the index");
}

static void test_mcnemar_textbook(void)
{
	/* Hand: b+c = 0 -> 1; Bin(1, .5): 2*P[X<=0] = 1; Bin(5, .5): 2 * 1/32 = 0.0625;
	 * Bin(12, .5): 2 * (1 + 12 + 66)/4096 = 0.03857421875. The rest from
	 * scipy.stats.binomtest(min(b, c), b + c, 0.5).pvalue. */
	static const struct {
		uint64_t b, c;
		double p, rel_tol;
	} cases[] = {
		{0, 0, 1.0, 0},
		{1, 0, 1.0, 0},
		{0, 5, 0.0625, 1e-13},
		{10, 2, 0.03857421875, 1e-13},
		{2, 10, 0.03857421875, 1e-13},
		{15, 1, 0.000518798828125, 1e-13}, /* hand: 2 * (1 + 16) / 2^16 */
		{7, 5, 0.7744140625, 1e-13},
		{12, 28, 0.016589003374974709, 1e-12},
		{46, 25, 0.016994652573436381, 1e-12},
		{600, 500, 0.0028195449914364284, 1e-12},
		{5000, 4800, 0.044404148799846312, 1e-12},
		{3000, 1000, 2.4915145386299261e-229, 1e-12},
		{123456, 122800, 0.18686133443483183, 1e-12},
		{1000000, 998000, 0.15729913779647348, 1e-12},
		{2000000000ULL, 2000010000ULL, 0.8743796758507113, 1e-11},
		{5, 5, 1.0, 0},
	};
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		char name[128];
		snprintf(name, sizeof name, "mcnemar: b=%llu c=%llu -> p = %.6g",
			 (unsigned long long)cases[i].b, (unsigned long long)cases[i].c, cases[i].p);
		double p = met_mcnemar_exact_p(cases[i].b, cases[i].c);
		is_near(p, cases[i].p, cases[i].p * cases[i].rel_tol, name);
	}
	/* 2^-2000 underflows: scipy also gives exactly 0 */
	double p = met_mcnemar_exact_p(0, 2000);
	ok(p >= 0.0 && p < 1e-300, "mcnemar: b=0 c=2000 -> p underflows to ~0 without NaN");

	int a[] = {1, 1, 0, 0, 1, 0, 1};
	int b[] = {1, 0, 1, 0, 0, 0, 1};
	struct met_mcnemar t;
	struct mrl_err err = {0};
	int rc = met_mcnemar_count(a, b, ARRAY_LEN(a), &t, &err);
	ok(rc == 0 && t.both_right == 2 && t.only_a == 2 && t.only_b == 1 && t.both_wrong == 2 &&
	   t.n == 7, "mcnemar_count: 2x2 table of a small example");
	is_near(t.p, 1.0, 0, "mcnemar_count: b=2 c=1 -> p = 1");
	b[3] = 2;
	rc = met_mcnemar_count(a, b, ARRAY_LEN(a), &t, &err);
	is_int(rc, MRL_EINPUT, "mcnemar_count: a value 2 is MRL_EINPUT");
	like(err.msg, "b[3] = 2", "mcnemar_count: the error names the array and index");
}

static void test_holm(void)
{
	/* By hand: sorted 0.005, 0.01, 0.03, 0.04 -> 4*0.005 = 0.02, 3*0.01 = 0.03,
	 * 2*0.03 = 0.06, max(1*0.04, 0.06) = 0.06 (monotone), back in input order. */
	double p[] = {0.01, 0.04, 0.03, 0.005};
	double want[] = {0.03, 0.06, 0.06, 0.02};
	double adj[4];
	struct mrl_err err = {0};
	int rc = met_holm(p, 4, adj, &err);
	is_int(rc, 0, "holm: ok");
	for (int i = 0; i < 4; i++) {
		char name[64];
		snprintf(name, sizeof name, "holm: adj[%d] = %g", i, want[i]);
		is_near(adj[i], want[i], 1e-15, name);
	}
	/* Capped at 1, ties kept, in place. By hand: 3*0.5 -> 1. */
	double q[] = {0.5, 0.01, 0.5};
	rc = met_holm(q, 3, q, &err);
	ok(rc == 0 && fabs(q[1] - 0.03) < 1e-15 && q[0] == 1.0 && q[2] == 1.0,
	   "holm: in place, capped at 1 (0.5,0.01,0.5 -> 1,0.03,1)");
	double bad[] = {0.1, 1.5};
	rc = met_holm(bad, 2, adj, &err);
	is_int(rc, MRL_EINPUT, "holm: p = 1.5 is MRL_EINPUT");
	like(err.msg, "p[1]", "holm: error names the index");
}

static void test_wilcoxon(void)
{
	struct met_wilcoxon w;
	struct mrl_err err = {0};
	/* scipy docs example: scipy.stats.wilcoxon(d) -> statistic 24, p = 0.041259765625 (exact) */
	double d[] = {6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75};
	int rc = met_wilcoxon_signed_rank(d, ARRAY_LEN(d), &w, &err);
	ok(rc == 0 && w.exact && w.n_used == 15, "wilcoxon: n=15 untied uses the exact distribution");
	is_near(w.statistic, 24, 0, "wilcoxon: statistic = scipy 24");
	is_near(w.w_plus + w.w_minus, 15 * 16 / 2, 0, "wilcoxon: W+ + W- = n(n+1)/2");
	is_near(w.p, 0.041259765625, 1e-15, "wilcoxon: exact p = scipy 0.041259765625");

	/* n = 30, untied: scipy.stats.wilcoxon(d3[:30]) -> 159, 0.13473508320748806 with
	 * d3[i] = ((i*37) % 17) - 6.5 + 0.01*i */
	double d3[60];
	for (int i = 0; i < 60; i++)
		d3[i] = ((i * 37) % 17) - 6.5 + 0.01 * i;
	rc = met_wilcoxon_signed_rank(d3, 30, &w, &err);
	ok(rc == 0 && w.exact, "wilcoxon: n=30 untied is exact");
	is_near(w.statistic, 159, 1e-9, "wilcoxon: n=30 statistic = scipy 159");
	is_near(w.p, 0.13473508320748806, 1e-12, "wilcoxon: n=30 exact p = scipy 0.134735");
	/* n = 60 > 50: scipy.stats.wilcoxon(d3, method='asymptotic', correction=True)
	 * -> 623, p = 0.031880377279053955, z = -2.1459072749741273 */
	rc = met_wilcoxon_signed_rank(d3, 60, &w, &err);
	ok(rc == 0 && !w.exact, "wilcoxon: n=60 uses the normal approximation");
	is_near(w.statistic, 623, 1e-9, "wilcoxon: n=60 statistic = scipy 623");
	is_near(w.p, 0.031880377279053955, 1e-12, "wilcoxon: n=60 p = scipy 0.0318804 (continuity-corrected)");
	/* scipy reports -|z| for two-sided tests; ours is signed by direction */
	is_near(fabs(w.z), 2.1459072749741273, 1e-12, "wilcoxon: n=60 |z| = scipy 2.14591");
	ok((w.z > 0) == (w.w_plus > w.w_minus), "wilcoxon: z > 0 iff positive differences dominate");
	/* ties and zeros: d2[i] = ((i*37) % 17) - 7, n = 80 (5 zeros):
	 * scipy.stats.wilcoxon(d2, method='asymptotic', correction=True)
	 * -> 1094, p = 0.0804325516286164 */
	double d2[80];
	for (int i = 0; i < 80; i++)
		d2[i] = ((i * 37) % 17) - 7;
	rc = met_wilcoxon_signed_rank(d2, 80, &w, &err);
	ok(rc == 0 && !w.exact && w.n_zero == 5 && w.n_used == 75,
	   "wilcoxon: zeros dropped (5), ties -> normal approximation");
	is_near(w.statistic, 1094, 1e-9, "wilcoxon: tied statistic = scipy 1094");
	is_near(w.p, 0.0804325516286164, 1e-12, "wilcoxon: tie-corrected p = scipy 0.0804326");

	/* paired form: a - b */
	double a[15], b[15];
	for (int i = 0; i < 15; i++) {
		b[i] = 100.0 + i;
		a[i] = b[i] + d[i];
	}
	rc = met_wilcoxon_paired(a, b, 15, &w, &err);
	is_int(rc, 0, "wilcoxon_paired: succeeds");
	is_near(w.p, 0.041259765625, 1e-15, "wilcoxon_paired: same p as on the differences");
	double zeros[4] = {0};
	rc = met_wilcoxon_signed_rank(zeros, 4, &w, &err);
	ok(rc == 0 && w.n_used == 0 && w.p == 1.0, "wilcoxon: all-zero differences -> p = 1");
	d[2] = NAN;
	rc = met_wilcoxon_signed_rank(d, 15, &w, &err);
	is_int(rc, MRL_EINPUT, "wilcoxon: NaN is MRL_EINPUT");

	/* median of log-ratios: by hand, ratios 1.1, 0.9, 1.2, 1.05, 1.3 -> median
	 * log(1.1) */
	double cand[] = {1.1, 0.9, 2.4, 10.5, 1.3};
	double base[] = {1.0, 1.0, 2.0, 10.0, 1.0};
	double med, lr[5];
	rc = met_median_log_ratio(cand, base, 5, &med, lr, &err);
	is_int(rc, 0, "median_log_ratio: succeeds on positive values");
	is_near(med, log(1.1), 1e-15, "median_log_ratio: median of 5 = log(1.1)");
	is_near(lr[2], log(1.2), 1e-15, "median_log_ratio: log-ratios returned in item order");
	base[3] = 0.0;
	rc = met_median_log_ratio(cand, base, 5, &med, NULL, &err);
	is_int(rc, MRL_EINPUT, "median_log_ratio: a zero time is MRL_EINPUT");
	like(err.msg, "b[3]", "median_log_ratio: error names b[3]");
}

static void test_bootstrap(void)
{
	struct mrl_err err = {0};
	struct met_boot_opts opts;
	struct met_ci ci, ci2;
	met_boot_opts_init(&opts);
	ok(opts.n_resamples == 10000 && opts.level == 0.95, "boot: defaults B=10000, level 0.95");

	/* 500 Bernoulli(0.8) items */
	enum { N = 500 };
	static double x[N];
	struct mrl_rng rng;
	mrl_rng_seed(&rng, 2024);
	for (int i = 0; i < N; i++)
		x[i] = mrl_rng_uniform(&rng) < 0.8;
	/* its speed is a figure of `make bench` (ci/bench.sh), not a check: a timed
	 * check fails on a loaded machine */
	int rc = met_boot_mean_ci(x, N, &opts, &ci, &err);
	is_int(rc, 0, "boot: ok");
	static double flat[N];
	for (int i = 0; i < N; i++)
		flat[i] = 0.75;
	rc = met_boot_mean_ci(flat, N, &opts, &ci2, &err);
	ok(rc == 0 && ci2.estimate == 0.75 && ci2.lo == 0.75 && ci2.hi == 0.75,
	   "boot: 500 equal items give the CI [0.75, 0.75] (every resample mean is the value)");
	rc = met_boot_mean_ci(x, N, &opts, &ci2, &err);
	ok(rc == 0 && ci.lo == ci2.lo && ci.hi == ci2.hi, "boot: same seed -> identical CI");
	ok(ci.seed == opts.seed && ci.n_resamples == 10000 && ci.level == 0.95,
	   "boot: CI records seed, B and level");
	struct met_summary s;
	met_summary_compute(x, N, &s, &err);
	is_near(ci.estimate, s.mean, 1e-15, "boot: estimate is the sample mean");
	ok(ci.lo < ci.estimate && ci.estimate < ci.hi, "boot: lo < estimate < hi");
	/* The percentile CI should sit near the normal-theory mean +- 1.96 se */
	is_near(ci.lo, s.mean - 1.959964 * s.se * sqrt((N - 1.0) / N), 0.006,
		"boot: lo within 0.006 of mean - 1.96 se");
	is_near(ci.hi, s.mean + 1.959964 * s.se * sqrt((N - 1.0) / N), 0.006,
		"boot: hi within 0.006 of mean + 1.96 se");
	opts.seed = 7;
	rc = met_boot_mean_ci(x, N, &opts, &ci2, &err);
	ok(rc == 0 && (ci.lo != ci2.lo || ci.hi != ci2.hi), "boot: another seed -> another CI");
	opts.level = 0.99;
	rc = met_boot_mean_ci(x, N, &opts, &ci2, &err);
	is_int(rc, 0, "boot: level 0.99 succeeds");
	ok(ci2.hi - ci2.lo > ci.hi - ci.lo, "boot: level 0.99 gives a wider interval than 0.95");
	opts.level = 1.0;
	rc = met_boot_mean_ci(x, N, &opts, &ci2, &err);
	is_int(rc, MRL_EINPUT, "boot: level 1.0 is MRL_EINPUT");
	rc = met_boot_mean_ci(x, N, NULL, &ci2, &err);
	ok(rc == 0 && ci2.lo == ci.lo && ci2.hi == ci.hi, "boot: opts NULL = defaults");

	/* Coverage: 1,000 simulated runs of n=200 Bernoulli(0.7), B=2000. */
	enum { RUNS = 1000, NSIM = 200 };
	static double sim[NSIM];
	struct met_boot_opts sopts = {.n_resamples = 2000, .level = 0.95};
	int covered = 0;
	for (int r = 0; r < RUNS; r++) {
		mrl_rng_seed_stream(&rng, 31337, (uint64_t)r);
		for (int i = 0; i < NSIM; i++)
			sim[i] = mrl_rng_uniform(&rng) < 0.7;
		sopts.seed = 1000 + (uint64_t)r;
		if (met_boot_mean_ci(sim, NSIM, &sopts, &ci2, &err) != 0)
			break;
		covered += ci2.lo <= 0.7 && 0.7 <= ci2.hi;
	}
	ok(covered >= 930 && covered <= 970, "boot: 95% CI covers the true mean in 93-97% of 1,000 runs");
	diag("coverage %d / %d (n=%d, B=%zu)", covered, RUNS, NSIM, sopts.n_resamples);

	/* paired: equals the bootstrap of the differences; a - a is 0 */
	double y[N];
	for (int i = 0; i < N; i++)
		y[i] = x[(i * 7) % N];
	struct met_boot_opts popts;
	met_boot_opts_init(&popts);
	popts.n_resamples = 2000;
	rc = met_boot_paired_diff_ci(x, x, N, &popts, &ci2, &err);
	ok(rc == 0 && ci2.lo == 0 && ci2.hi == 0 && ci2.estimate == 0, "boot paired: a - a gives [0, 0]");
	rc = met_boot_paired_diff_ci(x, y, N, &popts, &ci2, &err);
	double dxy[N];
	for (int i = 0; i < N; i++)
		dxy[i] = x[i] - y[i];
	met_boot_mean_ci(dxy, N, &popts, &ci, &err);
	ok(rc == 0 && ci.lo == ci2.lo && ci.hi == ci2.hi, "boot paired: = bootstrap of a[i] - b[i]");
}

/* ---- BENCHić COPA: sr (Cyrillic) vs sr-lat (Latin) ---- */

/* gold[i] labels of a jsonl test file; returns count or -1 */
static int load_gold(const char *path, int *gold, int cap)
{
	FILE *f = fopen(path, "r");
	if (!f) {
		diag("cannot open %s", path);
		return -1;
	}
	char line[8192];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		json_error_t jerr;
		json_t *o = json_loads(line, 0, &jerr);
		json_t *label = o ? json_object_get(o, "label") : NULL;
		if (!json_is_integer(label) || n >= cap) {
			diag("%s:%d: no integer label", path, n + 1);
			json_decref(o);
			fclose(f);
			return -1;
		}
		gold[n++] = (int)json_integer_value(label);
		json_decref(o);
	}
	fclose(f);
	return n;
}

/* right[i] = prediction == gold (null = wrong) for the list of test file `test` */
static int load_right(const char *path, const char *test, const int *gold, int n_gold, int *right)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr);
	int n = -1;
	if (!root) {
		diag("%s: %s", path, jerr.text);
		return -1;
	}
	json_t *lists = json_object_get(root, "predictions"), *entry;
	size_t i;
	json_array_foreach(lists, i, entry) {
		const char *name = json_string_value(json_object_get(entry, "test"));
		if (!name || strcmp(name, test) != 0)
			continue;
		json_t *preds = json_object_get(entry, "predictions"), *p;
		if ((int)json_array_size(preds) != n_gold)
			break;
		size_t j;
		json_array_foreach(preds, j, p)
			right[j] = json_is_integer(p) && json_integer_value(p) == gold[j];
		n = n_gold;
	}
	json_decref(root);
	return n;
}

static int count_ones(const int *v, int n)
{
	int k = 0;
	for (int i = 0; i < n; i++)
		k += v[i];
	return k;
}

static void test_benchich(const char *fx)
{
	enum { CAP = 1000 };
	static int gold_cyr[CAP], gold_lat[CAP], right_cyr[CAP], right_lat[CAP];
	char path[1024];
	if (!fx) {
		skip("fixtures absent: ../shared/fixtures", "benchich: McNemar, bootstrap, two-proportion");
		return;
	}
	snprintf(path, sizeof path, "%s/data/benchich-copa/test-sr.jsonl", fx);
	int n = load_gold(path, gold_cyr, CAP);
	snprintf(path, sizeof path, "%s/data/benchich-copa/test-sr-lat.jsonl", fx);
	int n_lat = load_gold(path, gold_lat, CAP);
	is_int(n, 500, "benchich: test-sr.jsonl has 500 items");
	ok(n == n_lat && memcmp(gold_cyr, gold_lat, sizeof gold_cyr) == 0,
	   "benchich: sr and sr-lat gold labels are aligned");
	if (n != 500 || n_lat != 500)
		return;

	static const struct {
		const char *system;
		int only_lat, only_cyr;
		double p, acc_cyr, acc_lat;
		int ci_excludes_zero;
	} want[] = {
		/* BENCHić's published figures (fixtures README) */
		{"gpt-3.5-turbo", 46, 25, 0.0170, 79.4, 83.6, 1},
		{"gpt-4", 7, 5, 0.7744, 96.6, 97.0, 0},
	};
	for (size_t s = 0; s < ARRAY_LEN(want); s++) {
		const char *sys = want[s].system;
		char name[160];
		snprintf(path, sizeof path, "%s/data/benchich-copa/systems/%s.predictions.json", fx, sys);
		int ok_cyr = load_right(path, "test-sr.jsonl", gold_cyr, n, right_cyr);
		int ok_lat = load_right(path, "test-sr-lat.jsonl", gold_lat, n, right_lat);
		snprintf(name, sizeof name, "benchich %s: predictions for sr and sr-lat loaded", sys);
		ok(ok_cyr == n && ok_lat == n, name);
		if (ok_cyr != n || ok_lat != n)
			continue;
		int k_cyr = count_ones(right_cyr, n), k_lat = count_ones(right_lat, n);
		snprintf(name, sizeof name, "benchich %s: accuracy sr = %.1f", sys, want[s].acc_cyr);
		is_near(100.0 * k_cyr / n, want[s].acc_cyr, 1e-9, name);
		snprintf(name, sizeof name, "benchich %s: accuracy sr-lat = %.1f", sys, want[s].acc_lat);
		is_near(100.0 * k_lat / n, want[s].acc_lat, 1e-9, name);

		/* A = Latin, B = Cyrillic: b = right only in Latin */
		struct met_mcnemar t;
		struct mrl_err err = {0};
		int rc = met_mcnemar_count(right_lat, right_cyr, (size_t)n, &t, &err);
		snprintf(name, sizeof name, "benchich %s: McNemar b = %d (right only in Latin)", sys, want[s].only_lat);
		ok(rc == 0 && (int)t.only_a == want[s].only_lat, name);
		snprintf(name, sizeof name, "benchich %s: McNemar c = %d (right only in Cyrillic)", sys, want[s].only_cyr);
		is_int(t.only_b, want[s].only_cyr, name);
		snprintf(name, sizeof name, "benchich %s: exact McNemar p = %.4f", sys, want[s].p);
		is_near(round(t.p * 1e4) / 1e4, want[s].p, 1e-12, name);
		diag("%s: n=%zu both right %zu, only Latin %zu, only Cyrillic %zu, both wrong %zu, p = %.6f",
		     sys, t.n, t.both_right, t.only_a, t.only_b, t.both_wrong, t.p);

		/* paired bootstrap CI of acc(sr-lat) - acc(sr), defaults (B=10,000) */
		static double a[CAP], b[CAP];
		for (int i = 0; i < n; i++) {
			a[i] = right_lat[i];
			b[i] = right_cyr[i];
		}
		struct met_ci ci;
		rc = met_boot_paired_diff_ci(a, b, (size_t)n, NULL, &ci, &err);
		is_near(ci.estimate, (double)(k_lat - k_cyr) / n, 1e-12,
			"benchich: paired diff estimate = acc(sr-lat) - acc(sr)");
		snprintf(name, sizeof name, "benchich %s: paired bootstrap 95%% CI of sr-lat - sr %s 0", sys,
			 want[s].ci_excludes_zero ? "excludes" : "includes");
		ok(rc == 0 && (ci.lo > 0 || ci.hi < 0) == want[s].ci_excludes_zero, name);
		diag("%s: sr-lat - sr = %+.4f, 95%% CI [%+.4f, %+.4f] (B=%zu, seed %#llx)", sys,
		     ci.estimate, ci.lo, ci.hi, ci.n_resamples, (unsigned long long)ci.seed);

		/* the unpaired view of the same accuracies */
		double z, p_unpaired;
		rc = met_two_prop_z((uint64_t)k_lat, (uint64_t)n, (uint64_t)k_cyr, (uint64_t)n, &z,
				    &p_unpaired, &err);
		snprintf(name, sizeof name, "benchich %s: two_prop_z succeeds", sys);
		is_int(rc, 0, name);
		if (s == 0) {
			/* scipy: 2*norm.sf(z), pooled z for 418/500 vs 397/500 -> z = 1.7102304167165023,
			 * p = 0.087223273181577923 (= chi2_contingency(correction=False)) */
			is_near(z, 1.7102304167165023, 1e-12, "benchich gpt-3.5: unpaired z = 1.7102");
			is_near(p_unpaired, 0.087223273181577923, 1e-12, "benchich gpt-3.5: unpaired p = 0.0872");
			ok(p_unpaired > 0.05 && t.p < 0.05,
			   "benchich gpt-3.5: unpaired test misses the gap (p > 0.05) that McNemar finds");
			diag("unpaired two-proportion z = %.4f, p = %.4f vs paired McNemar p = %.4f", z,
			     p_unpaired, t.p);
		}
	}
}

static void test_two_prop(void)
{
	double z, p;
	struct mrl_err err = {0};
	int rc = met_two_prop_z(5, 10, 5, 10, &z, &p, &err);
	ok(rc == 0 && z == 0 && p == 1.0, "two_prop: equal proportions -> z 0, p 1");
	rc = met_two_prop_z(10, 10, 10, 10, &z, &p, &err);
	ok(rc == 0 && p == 1.0, "two_prop: all right in both -> p 1");
	rc = met_two_prop_z(11, 10, 1, 10, &z, &p, &err);
	is_int(rc, MRL_EINPUT, "two_prop: k > n is MRL_EINPUT");
}

/* Wilson intervals against scipy 1.x's binomtest(k, n).proportion_ci(method="wilson")
 * (scipy 1.17.1 in a venv; its figures are copied here), within 1e-12. */
static void test_wilson(void)
{
	static const struct {
		uint64_t k, n;
		double level, lo, hi;
	} ref[] = {
		{ 10, 10, 0.95, 0.7224672001371109, 1.0 },
		{ 0, 10, 0.95, 0.0, 0.27753279986288926 },
		{ 7, 20, 0.95, 0.1811918241010821, 0.5671457233147637 },
		{ 1, 3, 0.9, 0.07826572633372841, 0.7464661317187758 },
		{ 500, 500, 0.99, 0.9869039881667562, 1.0 },
		{ 0, 1, 0.95, 0.0, 0.7934506856227626 },
	};
	struct mrl_err err = { 0 };
	for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
		struct met_ci ci;
		int rc = met_wilson_ci(ref[i].k, ref[i].n, ref[i].level, &ci, &err);
		char what[100];
		snprintf(what, sizeof what, "wilson %llu/%llu at %g: as scipy's", (unsigned long long)ref[i].k,
			 (unsigned long long)ref[i].n, ref[i].level);
		ok(rc == 0 && fabs(ci.lo - ref[i].lo) < 1e-12 && fabs(ci.hi - ref[i].hi) < 1e-12 &&
			   ci.estimate == (double)ref[i].k / (double)ref[i].n && ci.level == ref[i].level,
		   what);
		if (rc || fabs(ci.lo - ref[i].lo) >= 1e-12 || fabs(ci.hi - ref[i].hi) >= 1e-12)
			diag("got [%.17g, %.17g]", ci.lo, ci.hi);
	}
	struct met_ci ci;
	is_int(met_wilson_ci(3, 2, 0.95, &ci, &err), MRL_EINPUT, "wilson: k > n is MRL_EINPUT");
	is_int(met_wilson_ci(0, 0, 0.95, &ci, &err), MRL_EINPUT, "wilson: n = 0 is MRL_EINPUT");
	is_int(met_wilson_ci(1, 2, 1.0, &ci, &err), MRL_EINPUT, "wilson: level 1 is MRL_EINPUT");
	const double ones[] = { 1, 1, 1 }, zeros[] = { 0, 0 }, mixed[] = { 1, 0 }, halves[] = { 0.5, 0.5 };
	uint64_t k = 99;
	ok(met_all_same_binary(ones, 3, &k) && k == 3, "all ones: the degenerate case, k = n");
	ok(met_all_same_binary(zeros, 2, &k) && k == 0, "all zeros: the degenerate case, k = 0");
	ok(!met_all_same_binary(mixed, 2, &k), "0 and 1: not degenerate");
	ok(!met_all_same_binary(halves, 2, &k), "all 0.5: not a 0/1 sample");
	/* met_mean_ci: Wilson only for a right/wrong metric; an all-0 graded one (f1) keeps the bootstrap */
	struct met_boot_opts bo;
	met_boot_opts_init(&bo);
	bo.n_resamples = 200;
	const char *method = NULL;
	ok(met_mean_ci(ones, 3, true, &bo, &ci, &method, &err) == 0 && !strcmp(method, "wilson-score") && ci.lo < 1,
	   "met_mean_ci: 3 of 3 right, a right/wrong metric: Wilson");
	ok(met_mean_ci(zeros, 2, false, &bo, &ci, &method, &err) == 0 && !strcmp(method, "bootstrap-percentile") &&
		   ci.lo == 0 && ci.hi == 0,
	   "met_mean_ci: a graded metric all 0 (f1): the bootstrap");
	ok(met_mean_ci(mixed, 2, true, &bo, &ci, &method, &err) == 0 && !strcmp(method, "bootstrap-percentile"),
	   "met_mean_ci: right and wrong items: the bootstrap");
	bo.n_resamples = 0;
	is_int(met_mean_ci(ones, 3, true, &bo, &ci, &method, &err), MRL_EINPUT,
	       "met_mean_ci: n_resamples 0 is refused on the Wilson path too");
}

int main(void)
{
	test_wilson();
	test_rng();
	test_summary();
	test_mcnemar_textbook();
	test_holm();
	test_wilcoxon();
	test_bootstrap();
	test_two_prop();
	test_benchich(fixtures_dir());
	return done_testing();
}
