/* eng_vmath.c — engine/cpu/vmath.c: the vector exp/expf lanes give the scalar bits,
 * and the scalar functions give glibc's.
 *
 * Inputs: every 4099th float bit pattern (over a million, all exponents, both
 * signs, NaNs and infinities among them), the edges of the main ranges, and a dense
 * sample of [-30, 0] (what softmax feeds). Rows of odd lengths, so that the scalar
 * tails run too. Against libm only where the CPU has FMA: glibc picks its FMA build
 * of exp/expf there, the one whose steps vmath.c follows.
 */
#include "tests/tap.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cpu/vmath.h"

static uint32_t fbits(float f)
{
	uint32_t u;
	memcpy(&u, &f, sizeof u);
	return u;
}

static float ffrom(uint32_t u)
{
	float f;
	memcpy(&f, &u, sizeof f);
	return f;
}

static uint64_t dbits(double d)
{
	uint64_t u;
	memcpy(&u, &d, sizeof u);
	return u;
}

/* The sample inputs; *n set. */
static float *inputs(size_t *n)
{
	static const uint32_t edges[] = { 0x00000000, 0x80000000, 0x7f800000, 0xff800000, 0x7fc00000, 0xffc00001,
					  0x42afffff, 0x42b00000, 0xc2afffff, 0xc2b00000, 0x42b17217, 0x42b17218,
					  0xc2cff1b4, 0xc2cff1b5, 0xc2ce8ed0, 0x00000001, 0x807fffff, 0x1c800000,
					  0x1c7fffff, 0x24800000, 0xa4800000, 0x3f800000, 0xbf800000 };
	const size_t n_edges = sizeof edges / sizeof edges[0], n_stride = (1ull << 32) / 4099 + 1, n_dense = 200003;
	float *x = malloc((n_edges + n_stride + n_dense) * sizeof *x);
	size_t k = 0;
	for (size_t i = 0; i < n_edges; i++)
		x[k++] = ffrom(edges[i]);
	for (uint64_t u = 0; u < (1ull << 32); u += 4099)
		x[k++] = ffrom((uint32_t)u);
	for (size_t i = 0; i < n_dense; i++)
		x[k++] = -30.0f * (float)i / (float)n_dense;
	*n = k;
	return x;
}

static void t_expf_lanes(void)
{
	size_t n;
	float *x = inputs(&n), *e = malloc(n * sizeof *e);
	size_t bad = 0;
	/* rows of 13 elements: eight lanes, then five scalar ones */
	for (size_t i = 0; i < n; i += 13)
		eng_expf_row(x + i, e + i, n - i < 13 ? n - i : 13);
	for (size_t i = 0; i < n; i++)
		if (fbits(e[i]) != fbits(eng_expf(x[i])) && !bad++)
			diag("expf(%a): row %a, scalar %a", (double)x[i], (double)e[i], (double)eng_expf(x[i]));
	is_int((long long)bad, 0, "eng_expf_row = eng_expf on every sampled float");
	/* in place, one long row */
	memcpy(e, x, n * sizeof *e);
	eng_expf_row(e, e, n);
	bad = 0;
	for (size_t i = 0; i < n; i++)
		bad += fbits(e[i]) != fbits(eng_expf(x[i]));
	is_int((long long)bad, 0, "eng_expf_row in place");
	free(x);
	free(e);
}

static void t_silu(void)
{
	size_t n;
	float *x = inputs(&n), *g = malloc(n * sizeof *g), *up = malloc(n * sizeof *up);
	for (size_t i = 0; i < n; i++)
		up[i] = 0.5f + (float)(i % 7) * 0.25f;
	memcpy(g, x, n * sizeof *g);
	for (size_t i = 0; i < n; i += 1001)
		eng_silu_mul_row(g + i, up + i, n - i < 1001 ? n - i : 1001);
	size_t bad = 0;
	for (size_t i = 0; i < n; i++) {
		const float want = x[i] / (1.0f + eng_expf(-x[i])) * up[i];
		if (fbits(g[i]) != fbits(want) && !(isnan(g[i]) && isnan(want)) && !bad++)
			diag("silu(%a): row %a, scalar %a", (double)x[i], (double)g[i], (double)want);
	}
	is_int((long long)bad, 0, "eng_silu_mul_row = g / (1 + eng_expf(-g)) * up");
	free(x);
	free(g);
	free(up);
}

static void t_exp_lanes(void)
{
	size_t n;
	float *x = inputs(&n);
	size_t bad = 0;
	/* one value and three exp(-inf) = 0 in a row of four: the sum is that lane's exp */
	for (size_t i = 0; i < n; i++) {
		const float row[4] = { x[i], -INFINITY, -INFINITY, -INFINITY };
		const double got = eng_sum_exp(row, 4, 0.0f), want = eng_exp((double)x[i]);
		if (dbits(got) != dbits(want) && !(isnan(got) && isnan(want)) && !bad++)
			diag("exp(%a): lane %a, scalar %a", (double)x[i], got, want);
	}
	is_int((long long)bad, 0, "eng_sum_exp's lanes = eng_exp on every sampled float");
	/* the sums of long rows, in index order, against the scalar loop */
	bad = 0;
	size_t n_rows = 0;
	for (size_t i = 0; i + 32003 <= n; i += 32003, n_rows++) {
		float max = -INFINITY;
		for (size_t j = i; j < i + 32003; j++)
			if (x[j] > max && !isnan(x[j]))
				max = x[j];
		double want = 0.0;
		for (size_t j = i; j < i + 32003; j++)
			want += eng_exp((double)x[j] - (double)max);
		const double got = eng_sum_exp(x + i, 32003, max);
		bad += dbits(got) != dbits(want) && !(isnan(got) && isnan(want));
	}
	ok(n_rows > 10 && bad == 0, "eng_sum_exp of 32,003-long rows = the scalar sum");
	free(x);
}

/* eng_row_max = the scan `if (x[i] > max) max = x[i], at = i` from x[0]: NaNs (at 0 too),
 * +0 / -0 ties, infinities, equal maxima at several places, rows of 1..40. */
static void t_row_max(void)
{
	static const uint32_t pool[] = { 0x00000000, 0x80000000, 0x7fc00000, 0xff800000, 0x7f800000, 0x3f800000,
					 0xbf800000, 0x40000000, 0x3f800000, 0x00000001, 0xc2b00000, 0x7fc00001 };
	/* no positive value: the maximum is often a zero, +0 in one lane and -0 in another */
	static const uint32_t zeros[] = { 0x00000000, 0x80000000, 0xbf800000, 0xff800000, 0x7fc00000 };
	uint64_t state = 88172645463325252ull;
	size_t bad = 0, cases = 0;
	float row[40];
	for (int len = 1; len <= 40; len++)
		for (int rep = 0; rep < 3000; rep++, cases++) {
			const uint32_t *p = rep % 2 ? zeros : pool;
			const size_t np = rep % 2 ? sizeof zeros / sizeof zeros[0] : sizeof pool / sizeof pool[0];
			for (int i = 0; i < len; i++) {
				state ^= state << 13, state ^= state >> 7, state ^= state << 17;
				row[i] = ffrom(p[state % np]);
			}
			float want = row[0];
			size_t want_at = 0, at = 99;
			for (int i = 1; i < len; i++)
				if (row[i] > want)
					want = row[i], want_at = (size_t)i;
			const float got = eng_row_max(row, (size_t)len, &at);
			if ((fbits(got) != fbits(want) || at != want_at) && !bad++)
				diag("row of %d: got %a at %zu, scan %a at %zu", len, (double)got, at, (double)want, want_at);
		}
	ok(cases == 120000 && bad == 0, "eng_row_max = the scalar scan (value bits and first index)");
}

/* The same bits, or NaN where the other has NaN: which NaN's payload a product or sum of
 * two NaNs keeps depends on its operands' order, which the compiler may commute. */
static int same_floats(const float *a, const float *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (fbits(a[i]) != fbits(b[i]) && !(isnan(a[i]) && isnan(b[i])))
			return 0;
	return 1;
}

/* Rope's rotations = their scalar definitions (vmath.h), bit for bit: 1..70
 * pairs (the vector passes and every tail), rows starting one float off the vector
 * boundary, values of every magnitude with infinities and NaNs among them. */
static void t_rope(void)
{
	enum { N = 70 };
	static float buf[2 * N + 1], lo[N + 1], hi[N + 1], c[N + 1], s[N + 1];
	uint64_t state = 2463534242ull;
	size_t bad_adj = 0, bad_half = 0, cases = 0;
	for (int n = 1; n <= N; n++)
		for (int rep = 0; rep < 200; rep++, cases++) {
			float x[2 * N], w[2 * N];
			for (int i = 0; i < 2 * n; i++) {
				state ^= state << 13, state ^= state >> 7, state ^= state << 17;
				const uint32_t u = (uint32_t)state;
				/* mostly ordinary values; one in 8 a NaN, one in 16 any bits */
				x[i] = (u & 7) == 1   ? ffrom(0x7fc00000u | (u >> 10))
				       : (u & 15) == 2 ? ffrom(u * 2654435761u)
						       : (float)((int32_t)u) / 65536.0f;
			}
			for (int i = 0; i < n; i++) {
				state ^= state << 13, state ^= state >> 7, state ^= state << 17;
				c[i + rep % 2] = cosf((float)(state % 100000) / 997.0f);
				s[i + rep % 2] = sinf((float)(state % 100000) / 997.0f);
			}
			const float *cc = c + rep % 2, *ss = s + rep % 2;
			float *v = buf + rep % 2;
			memcpy(v, x, 2 * (size_t)n * sizeof *v);
			eng_rope_adjacent(v, cc, ss, (size_t)n);
			for (int i = 0; i < n; i++) {
				w[2 * i] = fmaf(x[2 * i], cc[i], -(x[2 * i + 1] * ss[i]));
				w[2 * i + 1] = fmaf(x[2 * i + 1], cc[i], x[2 * i] * ss[i]);
			}
			if (!same_floats(v, w, 2 * (size_t)n) && !bad_adj++)
				diag("adjacent pairs, n = %d: the rotation differs from its definition", n);
			float *l = lo + rep % 2, *h = hi + (rep + 1) % 2;
			memcpy(l, x, (size_t)n * sizeof *l);
			memcpy(h, x + n, (size_t)n * sizeof *h);
			eng_rope_halves(l, h, cc, ss, (size_t)n);
			for (int i = 0; i < n; i++) {
				w[i] = x[i] * cc[i] - x[n + i] * ss[i];
				w[n + i] = x[i] * ss[i] + x[n + i] * cc[i];
			}
			if (!(same_floats(l, w, (size_t)n) && same_floats(h, w + n, (size_t)n)) && !bad_half++)
				diag("halves, n = %d: the rotation differs from its definition", n);
		}
	ok(cases == 14000 && bad_adj == 0, "rope on adjacent pairs = fma(x0, c, -(x1 s)), fma(x1, c, x0 s) (bits)");
	ok(bad_half == 0, "rope on halves = x0 c - x1 s, x0 s + x1 c, products rounded (bits)");
}

static void t_libm(void)
{
#if defined(__x86_64__)
	if (!__builtin_cpu_supports("fma")) {
		test_skip("no FMA here: glibc runs its non-FMA exp/expf, whose last bits may differ");
		return;
	}
	size_t n;
	float *x = inputs(&n);
	size_t bad_f = 0, bad_d = 0;
	for (size_t i = 0; i < n; i++) {
		const float a = eng_expf(x[i]), b = expf(x[i]);
		if (fbits(a) != fbits(b) && !(isnan(a) && isnan(b)) && !bad_f++)
			diag("expf(%a): ours %a, libm %a", (double)x[i], (double)a, (double)b);
		const double xd = (double)x[i] * 7.25; /* doubles that are not floats, up to |x| > 512 */
		const double c = eng_exp(xd), d = exp(xd);
		if (dbits(c) != dbits(d) && !(isnan(c) && isnan(d)) && !bad_d++)
			diag("exp(%a): ours %a, libm %a", xd, c, d);
	}
	is_int((long long)bad_f, 0, "eng_expf = libm's expf");
	is_int((long long)bad_d, 0, "eng_exp = libm's exp");
	free(x);
#else
	test_skip("not x86-64: which libm build runs is not known here");
#endif
}

int main(void)
{
	TEST(t_expf_lanes(), "expf: the vector lanes give the scalar bits");
	TEST(t_silu(), "SiLU times up: the vector lanes give the scalar bits");
	TEST(t_exp_lanes(), "exp: the vector lanes and the row sums give the scalar bits");
	TEST(t_row_max(), "a row's first maximum, vectorised, gives the scan's");
	TEST(t_rope(), "rope's rotations, vectorised, give their definitions' bits");
	TEST(t_libm(), "the scalar exp and expf give glibc's bits (FMA build)");
	return done_testing();
}
