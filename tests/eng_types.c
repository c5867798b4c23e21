/* eng_types.c — the tensor type table: conversions, block layouts, quantization, dots.
 *
 * Hand-built blocks against hand-computed values; f16/bf16 edge values and an
 * exhaustive f16 round trip (plus the compiler's _Float16 as an outside oracle
 * where it exists); quantize -> dequantize error bounds; every dot product
 * against dequantize + a double-precision dot; and the AVX2 kernels against the
 * plain-C references, bit for bit.
 */
#include "engine/types.h"
#include "tests/tap.h"
#define TEST_RNG_SEED 42
#include "tests/rng.h"

#include <stdint.h>

static uint32_t fbits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static float bitsf(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

static void check_table(void)
{
	is_str(eng_type_name(ENG_TYPE_F32), "f32", "type 0 is f32");
	is_str(eng_type_name(ENG_TYPE_F16), "f16", "type 1 is f16");
	is_str(eng_type_name(ENG_TYPE_Q4_0), "q4_0", "type 2 is q4_0");
	is_str(eng_type_name(ENG_TYPE_Q8_0), "q8_0", "type 8 is q8_0");
	is_str(eng_type_name(ENG_TYPE_BF16), "bf16", "type 30 is bf16");
	is_str(eng_type_name(4), "unknown", "type 4 (removed from ggml) is unknown");
	ok(eng_type_get(4) == NULL && eng_type_get(1000) == NULL, "unknown ids have no traits");
	const struct eng_type_traits *q4k = eng_type_get(ENG_TYPE_Q4_K);
	ok(q4k && q4k->supported && q4k->block_size == 256 && q4k->block_bytes == 144 && q4k->vec_dot,
	   "q4_K: 256 elements in 144 bytes, with kernels (tests/eng_quants.c checks them)");
	const struct eng_type_traits *iq2 = eng_type_get(16);
	ok(iq2 && !iq2->supported && iq2->block_size == 256 && iq2->block_bytes == 66 && !iq2->vec_dot,
	   "iq2_xxs has a slot (256 elements in 66 bytes) but no kernels");
	ok(eng_type_supported(ENG_TYPE_Q8_0) && eng_type_supported(ENG_TYPE_BF16) && eng_type_supported(ENG_TYPE_Q6_K) &&
		   !eng_type_supported(39),
	   "supported: q8_0, bf16, q6_K; not mxfp4");
	uint64_t n = 0;
	ok(eng_row_size(ENG_TYPE_Q8_0, 64, &n) == 0 && n == 68, "row_size(q8_0, 64) = 68");
	ok(eng_row_size(ENG_TYPE_Q4_0, 4096, &n) == 0 && n == 2304, "row_size(q4_0, 4096) = 2304");
	ok(eng_row_size(ENG_TYPE_F16, 10, &n) == 0 && n == 20, "row_size(f16, 10) = 20");
	ok(eng_row_size(ENG_TYPE_Q8_0, 33, &n) == -1, "row_size(q8_0, 33) fails: not a whole block");
	ok(eng_row_size(99, 32, &n) == -1, "row_size of an unknown type fails");
	ok(eng_row_size(ENG_TYPE_F32, (uint64_t)1 << 62, &n) == -1, "row_size overflow fails (f32, 2^62)");
	ok(eng_row_size(ENG_TYPE_Q8_0, UINT64_MAX / 32 * 32, &n) == -1, "row_size overflow fails (q8_0, ~2^64 elements)");
}

static void check_f16(void)
{
	is_near(eng_f16_to_f32(0x3c00), 1.0, 0, "f16 0x3c00 = 1");
	is_near(eng_f16_to_f32(0xc000), -2.0, 0, "f16 0xc000 = -2");
	is_near(eng_f16_to_f32(0x7bff), 65504.0, 0, "f16 0x7bff = 65504 (max)");
	is_near(eng_f16_to_f32(0x0001), ldexp(1, -24), 0, "f16 0x0001 = 2^-24 (smallest subnormal)");
	is_near(eng_f16_to_f32(0x03ff), 1023 * ldexp(1, -24), 0, "f16 0x03ff = largest subnormal");
	is_near(eng_f16_to_f32(0x0400), ldexp(1, -14), 0, "f16 0x0400 = 2^-14 (smallest normal)");
	ok(isinf(eng_f16_to_f32(0x7c00)) && eng_f16_to_f32(0x7c00) > 0, "f16 0x7c00 = +inf");
	ok(isinf(eng_f16_to_f32(0xfc00)) && eng_f16_to_f32(0xfc00) < 0, "f16 0xfc00 = -inf");
	ok(isnan(eng_f16_to_f32(0x7e00)) && isnan(eng_f16_to_f32(0x7c01)), "f16 NaNs (quiet and signalling) are NaN");
	is_int(fbits(eng_f16_to_f32(0x8000)), 0x80000000u, "f16 -0 keeps its sign");

	is_int(eng_f32_to_f16(1.0f), 0x3c00, "1 -> 0x3c00");
	is_int(eng_f32_to_f16(-0.0f), 0x8000, "-0 -> 0x8000");
	is_int(eng_f32_to_f16(65504.0f), 0x7bff, "65504 -> max");
	is_int(eng_f32_to_f16(65519.0f), 0x7bff, "65519 rounds down to 65504");
	is_int(eng_f32_to_f16(65520.0f), 0x7c00, "65520 (tie, 65504 odd) rounds to inf");
	is_int(eng_f32_to_f16(1e10f), 0x7c00, "1e10 overflows to inf");
	is_int(eng_f32_to_f16(-INFINITY), 0xfc00, "-inf -> 0xfc00");
	uint16_t hn = eng_f32_to_f16(NAN);
	ok((hn & 0x7c00) == 0x7c00 && (hn & 0x3ff), "NaN stays NaN");
	is_int(eng_f32_to_f16(bitsf(0x7f800001)), 0x7e00, "a signalling NaN with a low payload becomes a quiet NaN");
	is_int(eng_f32_to_f16(1.0f + 0x1p-11f), 0x3c00, "1 + 2^-11 (tie) rounds to even (down)");
	is_int(eng_f32_to_f16(1.0f + 3 * 0x1p-11f), 0x3c02, "1 + 3*2^-11 (tie) rounds to even (up)");
	is_int(eng_f32_to_f16(1.0f + 0x1p-11f + 0x1p-20f), 0x3c01, "just above a tie rounds up");
	is_int(eng_f32_to_f16(0x1p-24f), 0x0001, "2^-24 -> smallest subnormal");
	is_int(eng_f32_to_f16(0x1p-25f), 0x0000, "2^-25 (tie between 0 and 2^-24) rounds to 0");
	is_int(eng_f32_to_f16(0x1p-25f * 1.0001f), 0x0001, "just above 2^-25 rounds to 2^-24");
	is_int(eng_f32_to_f16(3 * 0x1p-25f), 0x0002, "3*2^-25 (tie) rounds to even 2*2^-24");
	is_int(eng_f32_to_f16(0x1p-14f - 0x1p-26f), 0x0400, "just below 2^-14 rounds up into the normals");
	is_int(eng_f32_to_f16(1e-10f), 0x0000, "1e-10 underflows to 0");

	int bad = 0;
	for (uint32_t h = 0; h < 65536; h++) {
		if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff))
			continue;
		if (eng_f32_to_f16(eng_f16_to_f32((uint16_t)h)) != h)
			bad++;
	}
	is_int(bad, 0, "every non-NaN f16 round-trips through f32 exactly");
#if defined(__FLT16_MAX__)
	bad = 0;
	for (int i = 0; i < 1000000; i++) {
		/* random bit patterns, concentrated on the half range */
		uint32_t u = (uint32_t)rng_next();
		if (i % 2)
			u = (u & 0x807fffffu) | ((uint32_t)(100 + (u >> 8) % 50) << 23);
		float f = bitsf(u);
		if (isnan(f))
			continue;
		_Float16 h = (_Float16)f;
		uint16_t hb;
		memcpy(&hb, &h, 2);
		if (hb != eng_f32_to_f16(f) && bad++ < 3)
			diag("f32 %08x: _Float16 %04x, ours %04x", u, hb, eng_f32_to_f16(f));
	}
	is_int(bad, 0, "f32 -> f16 agrees with the compiler's _Float16 on 1e6 random values");
#else
	skip("_Float16 not available", "f32 -> f16 against _Float16");
#endif
}

static void check_bf16(void)
{
	is_int(eng_f32_to_bf16(1.0f), 0x3f80, "bf16(1) = 0x3f80");
	is_near(eng_bf16_to_f32(0xc040), -3.0, 0, "bf16 0xc040 = -3");
	is_int(eng_f32_to_bf16(bitsf(0x3f808000)), 0x3f80, "bf16 tie rounds to even (down)");
	is_int(eng_f32_to_bf16(bitsf(0x3f818000)), 0x3f82, "bf16 tie rounds to even (up)");
	is_int(eng_f32_to_bf16(bitsf(0x3f808001)), 0x3f81, "bf16 above a tie rounds up");
	is_int(eng_f32_to_bf16(INFINITY), 0x7f80, "bf16(inf)");
	is_int(eng_f32_to_bf16(bitsf(0x7f7fffff)), 0x7f80, "bf16(FLT_MAX) rounds to inf");
	uint16_t n = eng_f32_to_bf16(bitsf(0x7f800001));
	ok((n & 0x7f80) == 0x7f80 && (n & 0x7f), "bf16 keeps a low-payload NaN a NaN");
	is_int(eng_f32_to_bf16(bitsf(0x00010000)), 0x0001, "bf16 subnormal");
	is_int(fbits(eng_bf16_to_f32(0x8000)), 0x80000000u, "bf16 -0");
}

static void check_blocks(void)
{
	struct eng_block_q8_0 q8 = { .d = 0x3800 }; /* 0.5 */
	q8.qs[0] = -127;
	q8.qs[1] = 0;
	q8.qs[2] = 1;
	q8.qs[31] = 127;
	float y[32];
	eng_type_get(ENG_TYPE_Q8_0)->to_f32(&q8, y, 32);
	ok(y[0] == -63.5f && y[1] == 0.0f && y[2] == 0.5f && y[31] == 63.5f, "q8_0 block: q * d");

	struct eng_block_q4_0 q4 = { .d = 0x4000 }; /* 2.0 */
	memset(q4.qs, 0x88, sizeof q4.qs);           /* all zero after -8 */
	q4.qs[0] = 0x1f;                             /* elem 0: 15 -> 14, elem 16: 1 -> -14 */
	q4.qs[1] = 0x80;                             /* elem 1: 0 -> -16, elem 17: 8 -> 0 */
	q4.qs[15] = 0xf0;                            /* elem 15: 0 -> -16, elem 31: 15 -> 14 */
	eng_type_get(ENG_TYPE_Q4_0)->to_f32(&q4, y, 32);
	ok(y[0] == 14.0f && y[16] == -14.0f, "q4_0: low nibble = element 0, high = element 16");
	ok(y[1] == -16.0f && y[17] == 0.0f && y[2] == 0.0f, "q4_0: (q - 8) * d");
	ok(y[15] == -16.0f && y[31] == 14.0f, "q4_0: byte 15 holds elements 15 and 31");

	/* weight quantization as ggml's reference: d = amax/127, q = round(x/d) */
	float x[32];
	for (int i = 0; i < 32; i++)
		x[i] = (float)i * 0.1f;
	struct eng_block_q8_0 qq;
	eng_quantize_row_q8_0_ref(x, &qq, 32);
	float d = 3.1f / 127.0f;
	int okq = qq.d == eng_f32_to_f16(d);
	for (int i = 0; i < 32; i++)
		okq = okq && qq.qs[i] == (int8_t)roundf(x[i] * (1.0f / d));
	ok(okq, "q8_0 quantization of 0, 0.1, .., 3.1 follows the reference formula");
	ok(qq.qs[31] == 127 && qq.qs[0] == 0, "q8_0: the largest element maps to 127");

	struct eng_block_q4_0 qb;
	for (int i = 0; i < 32; i++)
		x[i] = (float)(i - 16) * 0.5f; /* -8 .. 7.5: max magnitude -8 at i = 0 */
	eng_quantize_row_q4_0(x, &qb, 32);
	eng_type_get(ENG_TYPE_Q4_0)->to_f32(&qb, y, 32);
	ok(eng_f16_to_f32(qb.d) == 1.0f && y[0] == -8.0f && y[1] == -7.0f, "q4_0 quantization: d = max / -8");
	ok((qb.qs[0] & 0x0f) == 0, "q4_0: the extreme element maps to nibble 0");
	int zero_block_ok = 1;
	memset(x, 0, sizeof x);
	eng_quantize_row_q4_0(x, &qb, 32);
	eng_type_get(ENG_TYPE_Q4_0)->to_f32(&qb, y, 32);
	for (int i = 0; i < 32; i++)
		zero_block_ok = zero_block_ok && y[i] == 0.0f;
	ok(zero_block_ok && eng_f16_to_f32(qb.d) == 0.0f, "q4_0: a zero block stays zero (d = 0)");
}

static void check_quant_error(void)
{
	enum { N = 4096 };
	static float x[N], y[N];
	static uint8_t q[N * 2];
	for (int i = 0; i < N; i++)
		x[i] = rng_normal() * (1.0f + (float)(i / 32 % 5));
	static const uint32_t types[] = { ENG_TYPE_Q8_0, ENG_TYPE_Q4_0 };
	for (int t = 0; t < 2; t++) {
		const struct eng_type_traits *tr = eng_type_get(types[t]);
		tr->from_f32(x, q, N);
		tr->to_f32(q, y, N);
		int bad = 0;
		double sq = 0;
		for (int ib = 0; ib < N / 32; ib++) {
			const uint8_t *blk = q + (size_t)ib * tr->block_bytes;
			float d = fabsf(eng_f16_to_f32((uint16_t)(blk[0] | blk[1] << 8)));
			/* q8_0: half a step; q4_0: a full step (the far end clamps at 7, not 8);
			 * plus |q| * the f16 rounding of d (relative 2^-11): 127 resp. 8 steps */
			float bound = (t == 0 ? 0.5f + 127 * 0x1p-11f : 1.0f + 8 * 0x1p-11f) * d * 1.01f + 1e-6f;
			for (int j = 0; j < 32; j++) {
				float e = fabsf(x[ib * 32 + j] - y[ib * 32 + j]);
				sq += (double)e * e;
				if (e > bound)
					bad++;
			}
		}
		char name[120];
		snprintf(name, sizeof name, "%s: quantize -> dequantize error within the block step (4096 values)", tr->name);
		is_int(bad, 0, name);
		double rms = sqrt(sq / N);
		diag("%s rms error %.5f", tr->name, rms);
		snprintf(name, sizeof name, "%s: rms error small", tr->name);
		ok(rms < (t == 0 ? 0.02 : 0.3), name);
	}
}

static double dot_ref(const float *a, const float *b, int64_t n, double *mag)
{
	double s = 0, m = 0;
	for (int64_t i = 0; i < n; i++) {
		s += (double)a[i] * b[i];
		m += fabs((double)a[i] * b[i]);
	}
	*mag = m;
	return s;
}

static void check_dots(void)
{
	enum { N = 4096 };
	static float w[N], x[N], wd[N], xd[N];
	static uint8_t row[N * 4], xq[N * 2];
	for (int i = 0; i < N; i++) {
		w[i] = rng_normal() * 0.02f;
		x[i] = rng_normal();
	}
	static const uint32_t types[] = { ENG_TYPE_F32, ENG_TYPE_F16, ENG_TYPE_BF16, ENG_TYPE_Q8_0, ENG_TYPE_Q4_0 };
	float (*const ref_fn[])(int64_t, const void *, const float *) = {
		eng_vec_dot_f32_ref, eng_vec_dot_f16_ref, eng_vec_dot_bf16_ref, eng_vec_dot_q8_0_ref, eng_vec_dot_q4_0_ref,
	};
	static const int64_t lens[] = { 32, 64, 4096, 67, 8, 5 };
	for (int t = 0; t < 5; t++) {
		const struct eng_type_traits *tr = eng_type_get(types[t]);
		for (size_t li = 0; li < sizeof lens / sizeof lens[0]; li++) {
			int64_t n = lens[li];
			if (n % tr->block_size)
				continue;
			tr->from_f32(w, row, n);
			tr->to_f32(row, wd, n);
			double mag, want = dot_ref(wd, x, n, &mag);
			float got = tr->vec_dot(n, row, x);
			char name[160];
			snprintf(name, sizeof name, "%s vec_dot (n = %lld) = dequantize + dot", tr->name, (long long)n);
			is_near(got, want, mag * 2e-6 + 1e-12, name);
			if (ref_fn[t]) {
				float r = ref_fn[t](n, row, x);
				snprintf(name, sizeof name, "%s vec_dot (n = %lld): dispatching and plain-C reference agree bit for bit",
					 tr->name, (long long)n);
				ok(fbits(r) == fbits(got), name);
			}
		}
	}
	/* the Q8_0-activation path */
	eng_quantize_row_q8_0(x, xq, N);
	eng_type_get(ENG_TYPE_Q8_0)->to_f32(xq, xd, N);
	for (int t = 3; t < 5; t++) {
		const struct eng_type_traits *tr = eng_type_get(types[t]);
		tr->from_f32(w, row, N);
		tr->to_f32(row, wd, N);
		double mag, want = dot_ref(wd, xd, N, &mag);
		float got = tr->vec_dot_q8(N, row, xq);
		char name[160];
		snprintf(name, sizeof name, "%s x q8_0 activation dot = dequantized dot", tr->name);
		is_near(got, want, mag * 2e-6, name);
		float r = t == 3 ? eng_vec_dot_q8_0_q8_0_ref(N, row, xq) : eng_vec_dot_q4_0_q8_0_ref(N, row, xq);
		float d = t == 3 ? eng_vec_dot_q8_0_q8_0(N, row, xq) : eng_vec_dot_q4_0_q8_0(N, row, xq);
		snprintf(name, sizeof name, "%s x q8_0: dispatching and reference agree bit for bit", tr->name);
		ok(fbits(r) == fbits(got) && fbits(d) == fbits(got), name);
		double mag2, exact = dot_ref(wd, x, N, &mag2);
		snprintf(name, sizeof name, "%s x q8_0: close to the f32-activation dot (quantization error only)", tr->name);
		is_near(got, exact, mag2 * 0.01, name);
	}
	/* a weight byte of -128 (never made by the quantizer, legal in a file) */
	eng_type_get(ENG_TYPE_Q8_0)->from_f32(w, row, 64);
	((struct eng_block_q8_0 *)row)[0].qs[5] = -128;
	((struct eng_block_q8_0 *)row)[1].qs[31] = -128;
	ok(fbits(eng_vec_dot_q8_0_q8_0(64, row, xq)) == fbits(eng_vec_dot_q8_0_q8_0_ref(64, row, xq)),
	   "q8_0 x q8_0 with -128 weights: dispatching and reference agree");
	float z[64] = {0};
	eng_type_get(ENG_TYPE_Q8_0)->to_f32(row, wd, 64);
	eng_type_get(ENG_TYPE_Q8_0)->to_f32(xq, z, 64);
	double mag, want = dot_ref(wd, z, 64, &mag);
	is_near(eng_vec_dot_q8_0_q8_0(64, row, xq), want, mag * 2e-6, "... and equal the dequantized dot");
#if defined(__AVX2__)
	diag("AVX2 kernels compiled in");
#else
	diag("AVX2 kernels not compiled in: the bit-for-bit checks compare the reference with itself");
#endif
}

int main(void)
{
	check_table();
	check_f16();
	check_bf16();
	check_blocks();
	check_quant_error();
	check_dots();
	return done_testing();
}
