/* types.c — the ggml type table and its kernels (see types.h).
 *
 * Summation order, the one invariant every kernel keeps: a dot product runs
 * eight lanes (element i goes to lane i % 8 within its block or run), lanes are
 * reduced as ((l0+l4)+(l2+l6)) + ((l1+l5)+(l3+l7)), and a tail shorter than eight
 * (f32/f16/bf16 only) is added in order afterwards. The AVX2 versions follow
 * exactly this order, so both paths give identical bits. F32 and BF16 weights
 * fuse each multiply and add (lane = fmaf(w, x, lane), the tail too: one rounding
 * per element, as ggml's F32 dot does on x86); F16 weights multiply, then add
 * (ops.c rounds their activations to f16, which makes the products exact, and the
 * tiles fuse them to the same bits: engine/cpu/kernels_f16.c).
 * Quantized weights with an f32 vector: each block's lanes are summed first, then
 * scaled by the block's d and added to the running lanes.
 * The Q8_0-activation dots follow ggml's reference: an exact integer sum per block,
 * then sumf += (float)sumi * (d_w * d_x), block after block.
 */
#include "engine/types.h"

#include <math.h>
#include <string.h>

#if defined(__AVX2__)
#include <immintrin.h>
#define MRL_AVX2 1
#else
#define MRL_AVX2 0
#endif

static inline uint16_t load_u16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

/* ---- lane helpers ---- */

static inline float reduce8(const float l[8])
{
	return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
}

#if MRL_AVX2
static inline float hsum256(__m256 v)
{
	__m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
	__m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
	return _mm_cvtss_f32(_mm_add_ss(t, _mm_shuffle_ps(t, t, 1)));
}
#endif

/* ---- F32 ---- */

static void f32_to_f32(const void *src, float *dst, int64_t n)
{
	memcpy(dst, src, (size_t)n * sizeof(float));
}

static void f32_from_f32(const float *src, void *dst, int64_t n)
{
	memcpy(dst, src, (size_t)n * sizeof(float));
}

float eng_vec_dot_f32_ref(int64_t n, const void *row, const float *x)
{
	const float *a = row;
	float l[8] = {0};
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		for (int k = 0; k < 8; k++)
			l[k] = fmaf(a[i + k], x[i + k], l[k]);
	float s = reduce8(l);
	for (; i < n; i++)
		s = fmaf(a[i], x[i], s);
	return s;
}

static float vec_dot_f32(int64_t n, const void *row, const float *x)
{
#if MRL_AVX2 && defined(__FMA__)
	const float *a = row;
	__m256 acc = _mm256_setzero_ps();
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(x + i), acc);
	float s = hsum256(acc);
	for (; i < n; i++)
		s = fmaf(a[i], x[i], s);
	return s;
#else
	return eng_vec_dot_f32_ref(n, row, x);
#endif
}

/* ---- F16 ---- */

static void f16_to_f32(const void *src, float *dst, int64_t n)
{
	const uint8_t *p = src;
	for (int64_t i = 0; i < n; i++)
		dst[i] = eng_f16_to_f32(load_u16(p + 2 * i));
}

static void f16_from_f32(const float *src, void *dst, int64_t n)
{
	uint8_t *p = dst;
	for (int64_t i = 0; i < n; i++) {
		uint16_t h = eng_f32_to_f16(src[i]);
		p[2 * i] = (uint8_t)h;
		p[2 * i + 1] = (uint8_t)(h >> 8);
	}
}

float eng_vec_dot_f16_ref(int64_t n, const void *row, const float *x)
{
	const uint8_t *p = row;
	float l[8] = {0};
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		for (int k = 0; k < 8; k++)
			l[k] += eng_f16_to_f32(load_u16(p + 2 * (i + k))) * x[i + k];
	float s = reduce8(l);
	for (; i < n; i++)
		s += eng_f16_to_f32(load_u16(p + 2 * i)) * x[i];
	return s;
}

static float vec_dot_f16(int64_t n, const void *row, const float *x)
{
#if MRL_AVX2 && defined(__F16C__)
	const uint8_t *p = row;
	__m256 acc = _mm256_setzero_ps();
	int64_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256 w = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(p + 2 * i)));
		acc = _mm256_add_ps(acc, _mm256_mul_ps(w, _mm256_loadu_ps(x + i)));
	}
	float s = hsum256(acc);
	for (; i < n; i++)
		s += eng_f16_to_f32(load_u16(p + 2 * i)) * x[i];
	return s;
#else
	return eng_vec_dot_f16_ref(n, row, x);
#endif
}

/* ---- BF16 ---- */

static void bf16_to_f32(const void *src, float *dst, int64_t n)
{
	const uint8_t *p = src;
	for (int64_t i = 0; i < n; i++)
		dst[i] = eng_bf16_to_f32(load_u16(p + 2 * i));
}

static void bf16_from_f32(const float *src, void *dst, int64_t n)
{
	uint8_t *p = dst;
	for (int64_t i = 0; i < n; i++) {
		uint16_t h = eng_f32_to_bf16(src[i]);
		p[2 * i] = (uint8_t)h;
		p[2 * i + 1] = (uint8_t)(h >> 8);
	}
}

float eng_vec_dot_bf16_ref(int64_t n, const void *row, const float *x)
{
	const uint8_t *p = row;
	float l[8] = {0};
	int64_t i = 0;
	for (; i + 8 <= n; i += 8)
		for (int k = 0; k < 8; k++)
			l[k] = fmaf(eng_bf16_to_f32(load_u16(p + 2 * (i + k))), x[i + k], l[k]);
	float s = reduce8(l);
	for (; i < n; i++)
		s = fmaf(eng_bf16_to_f32(load_u16(p + 2 * i)), x[i], s);
	return s;
}

static float vec_dot_bf16(int64_t n, const void *row, const float *x)
{
#if MRL_AVX2 && defined(__FMA__)
	/* a bf16 is the high half of an f32: widen by a shift */
	const uint8_t *p = row;
	__m256 acc = _mm256_setzero_ps();
	int64_t i = 0;
	for (; i + 8 <= n; i += 8) {
		__m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(p + 2 * i)));
		__m256 w = _mm256_castsi256_ps(_mm256_slli_epi32(h, 16));
		acc = _mm256_fmadd_ps(w, _mm256_loadu_ps(x + i), acc);
	}
	float s = hsum256(acc);
	for (; i < n; i++)
		s = fmaf(eng_bf16_to_f32(load_u16(p + 2 * i)), x[i], s);
	return s;
#else
	return eng_vec_dot_bf16_ref(n, row, x);
#endif
}

/* ---- Q8_0 ---- */

static void q8_0_to_f32(const void *src, float *dst, int64_t n)
{
	const struct eng_block_q8_0 *b = src;
	for (int64_t ib = 0; ib < n / ENG_QK8_0; ib++) {
		float d = eng_f16_to_f32(b[ib].d);
		for (int j = 0; j < ENG_QK8_0; j++)
			dst[ib * ENG_QK8_0 + j] = (float)b[ib].qs[j] * d;
	}
}

void eng_quantize_row_q8_0_ref(const float *x, void *y, int64_t n)
{
	struct eng_block_q8_0 *b = y;
	for (int64_t ib = 0; ib < n / ENG_QK8_0; ib++) {
		const float *xb = x + ib * ENG_QK8_0;
		float amax = 0.0f;
		for (int j = 0; j < ENG_QK8_0; j++)
			amax = fmaxf(amax, fabsf(xb[j]));
		float d = amax / 127.0f;
		float id = d != 0.0f ? 1.0f / d : 0.0f;
		b[ib].d = eng_f32_to_f16(d);
		for (int j = 0; j < ENG_QK8_0; j++) {
			float v = roundf(xb[j] * id);
			/* finite input keeps |v| <= 127; the clamp only guards NaN/inf input */
			b[ib].qs[j] = (int8_t)(v >= -127.0f && v <= 127.0f ? v : 0.0f);
		}
	}
}

float eng_vec_dot_q8_0_ref(int64_t n, const void *row, const float *x)
{
	const struct eng_block_q8_0 *b = row;
	float l[8] = {0};
	for (int64_t ib = 0; ib < n / ENG_QK8_0; ib++) {
		const float *xb = x + ib * ENG_QK8_0;
		float p[8] = {0};
		for (int g = 0; g < 4; g++)
			for (int k = 0; k < 8; k++)
				p[k] += (float)b[ib].qs[8 * g + k] * xb[8 * g + k];
		float d = eng_f16_to_f32(b[ib].d);
		for (int k = 0; k < 8; k++)
			l[k] += d * p[k];
	}
	return reduce8(l);
}

#if MRL_AVX2
static inline __m256 i8x8_to_ps(const int8_t *q)
{
	__m128i v = _mm_loadl_epi64((const __m128i *)q);
	return _mm256_cvtepi32_ps(_mm256_cvtepi8_epi32(v));
}
#endif

static float vec_dot_q8_0(int64_t n, const void *row, const float *x)
{
#if MRL_AVX2
	const struct eng_block_q8_0 *b = row;
	__m256 acc = _mm256_setzero_ps();
	for (int64_t ib = 0; ib < n / ENG_QK8_0; ib++) {
		const float *xb = x + ib * ENG_QK8_0;
		__m256 p = _mm256_setzero_ps();
		for (int g = 0; g < 4; g++)
			p = _mm256_add_ps(p, _mm256_mul_ps(i8x8_to_ps(b[ib].qs + 8 * g),
							   _mm256_loadu_ps(xb + 8 * g)));
		__m256 d = _mm256_set1_ps(eng_f16_to_f32(b[ib].d));
		acc = _mm256_add_ps(acc, _mm256_mul_ps(d, p));
	}
	return hsum256(acc);
#else
	return eng_vec_dot_q8_0_ref(n, row, x);
#endif
}

float eng_vec_dot_q8_0_q8_0_ref(int64_t n, const void *row, const void *xq)
{
	const struct eng_block_q8_0 *w = row, *a = xq;
	float sumf = 0.0f;
	for (int64_t ib = 0; ib < n / ENG_QK8_0; ib++) {
		int sumi = 0;
		for (int j = 0; j < ENG_QK8_0; j++)
			sumi += w[ib].qs[j] * a[ib].qs[j];
		sumf += (float)sumi * (eng_f16_to_f32(w[ib].d) * eng_f16_to_f32(a[ib].d));
	}
	return sumf;
}

#if MRL_AVX2
/* Exact integer dot of 32 signed bytes: sign trick as ggml (|a| * sign(b, a)). */
static inline int dot_i8x32(__m256i a, __m256i b)
{
	__m256i ax = _mm256_sign_epi8(a, a);
	__m256i sy = _mm256_sign_epi8(b, a);
	__m256i s16 = _mm256_maddubs_epi16(ax, sy); /* |127*127*2| fits int16 */
	__m256i s32 = _mm256_madd_epi16(s16, _mm256_set1_epi16(1));
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
	return _mm_cvtsi128_si32(s);
}
#endif

float eng_vec_dot_q8_0_q8_0(int64_t n, const void *row, const void *xq)
{
#if MRL_AVX2
	const struct eng_block_q8_0 *w = row, *a = xq;
	float sumf = 0.0f;
	for (int64_t ib = 0; ib < n / ENG_QK8_0; ib++) {
		/* -128 never occurs in a Q8_0 weight made by the reference quantizer, but a
		 * file may hold it: _mm256_sign_epi8(-128) stays -128 and the unsigned
		 * multiply would be wrong, so such blocks take the scalar path. */
		__m256i qa = _mm256_loadu_si256((const __m256i *)w[ib].qs);
		__m256i qb = _mm256_loadu_si256((const __m256i *)a[ib].qs);
		__m256i m = _mm256_cmpeq_epi8(qa, _mm256_set1_epi8(-128));
		int sumi;
		if (_mm256_testz_si256(m, m)) {
			sumi = dot_i8x32(qa, qb);
		} else {
			sumi = 0;
			for (int j = 0; j < ENG_QK8_0; j++)
				sumi += w[ib].qs[j] * a[ib].qs[j];
		}
		sumf += (float)sumi * (eng_f16_to_f32(w[ib].d) * eng_f16_to_f32(a[ib].d));
	}
	return sumf;
#else
	return eng_vec_dot_q8_0_q8_0_ref(n, row, xq);
#endif
}

static float vec_dot_q8_0_q8(int64_t n, const void *row, const void *xq)
{
	return eng_vec_dot_q8_0_q8_0(n, row, xq);
}

/* ---- Q4_0 ---- */

static void q4_0_to_f32(const void *src, float *dst, int64_t n)
{
	const struct eng_block_q4_0 *b = src;
	for (int64_t ib = 0; ib < n / ENG_QK4_0; ib++) {
		float d = eng_f16_to_f32(b[ib].d);
		float *y = dst + ib * ENG_QK4_0;
		for (int j = 0; j < ENG_QK4_0 / 2; j++) {
			y[j] = (float)((b[ib].qs[j] & 0x0f) - 8) * d;
			y[j + ENG_QK4_0 / 2] = (float)((b[ib].qs[j] >> 4) - 8) * d;
		}
	}
}

void eng_quantize_row_q4_0(const float *x, void *y, int64_t n)
{
	struct eng_block_q4_0 *b = y;
	for (int64_t ib = 0; ib < n / ENG_QK4_0; ib++) {
		const float *xb = x + ib * ENG_QK4_0;
		float amax = 0.0f, max = 0.0f;
		for (int j = 0; j < ENG_QK4_0; j++)
			if (amax < fabsf(xb[j])) {
				amax = fabsf(xb[j]);
				max = xb[j];
			}
		float d = max / -8.0f;
		float id = d != 0.0f ? 1.0f / d : 0.0f;
		b[ib].d = eng_f32_to_f16(d);
		for (int j = 0; j < ENG_QK4_0 / 2; j++) {
			float v0 = xb[j] * id + 8.5f, v1 = xb[j + 16] * id + 8.5f;
			/* ggml: MIN(15, (int8_t)(x*id + 8.5f)); finite input keeps v in [0.5, 16.5] */
			int q0 = v0 >= 0.0f && v0 < 16.0f ? (int)v0 : (v0 >= 16.0f ? 15 : 0);
			int q1 = v1 >= 0.0f && v1 < 16.0f ? (int)v1 : (v1 >= 16.0f ? 15 : 0);
			b[ib].qs[j] = (uint8_t)(q0 | q1 << 4);
		}
	}
}

float eng_vec_dot_q4_0_ref(int64_t n, const void *row, const float *x)
{
	const struct eng_block_q4_0 *b = row;
	float l[8] = {0};
	for (int64_t ib = 0; ib < n / ENG_QK4_0; ib++) {
		const float *xb = x + ib * ENG_QK4_0;
		float p[8] = {0};
		for (int g = 0; g < 4; g++)
			for (int k = 0; k < 8; k++) {
				int j = 8 * g + k;
				uint8_t byte = b[ib].qs[j & 15];
				int q = (j < 16 ? byte & 0x0f : byte >> 4) - 8;
				p[k] += (float)q * xb[j];
			}
		float d = eng_f16_to_f32(b[ib].d);
		for (int k = 0; k < 8; k++)
			l[k] += d * p[k];
	}
	return reduce8(l);
}

#if MRL_AVX2
/* The 32 values (q - 8) of a Q4_0 block as bytes, in element order. */
static inline __m256i q4_unpack(const uint8_t *qs)
{
	__m128i v = _mm_loadu_si128((const __m128i *)qs);
	__m128i lo = _mm_and_si128(v, _mm_set1_epi8(0x0f));
	__m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(0x0f));
	__m256i q = _mm256_set_m128i(hi, lo);
	return _mm256_sub_epi8(q, _mm256_set1_epi8(8));
}
#endif

static float vec_dot_q4_0(int64_t n, const void *row, const float *x)
{
#if MRL_AVX2
	const struct eng_block_q4_0 *b = row;
	__m256 acc = _mm256_setzero_ps();
	for (int64_t ib = 0; ib < n / ENG_QK4_0; ib++) {
		const float *xb = x + ib * ENG_QK4_0;
		int8_t q[32];
		_mm256_storeu_si256((__m256i *)q, q4_unpack(b[ib].qs));
		__m256 p = _mm256_setzero_ps();
		for (int g = 0; g < 4; g++)
			p = _mm256_add_ps(p, _mm256_mul_ps(i8x8_to_ps(q + 8 * g), _mm256_loadu_ps(xb + 8 * g)));
		__m256 d = _mm256_set1_ps(eng_f16_to_f32(b[ib].d));
		acc = _mm256_add_ps(acc, _mm256_mul_ps(d, p));
	}
	return hsum256(acc);
#else
	return eng_vec_dot_q4_0_ref(n, row, x);
#endif
}

float eng_vec_dot_q4_0_q8_0_ref(int64_t n, const void *row, const void *xq)
{
	const struct eng_block_q4_0 *w = row;
	const struct eng_block_q8_0 *a = xq;
	float sumf = 0.0f;
	for (int64_t ib = 0; ib < n / ENG_QK4_0; ib++) {
		int sumi0 = 0, sumi1 = 0;
		for (int j = 0; j < ENG_QK4_0 / 2; j++) {
			sumi0 += ((w[ib].qs[j] & 0x0f) - 8) * a[ib].qs[j];
			sumi1 += ((w[ib].qs[j] >> 4) - 8) * a[ib].qs[j + 16];
		}
		sumf += (float)(sumi0 + sumi1) * (eng_f16_to_f32(w[ib].d) * eng_f16_to_f32(a[ib].d));
	}
	return sumf;
}

float eng_vec_dot_q4_0_q8_0(int64_t n, const void *row, const void *xq)
{
#if MRL_AVX2
	const struct eng_block_q4_0 *w = row;
	const struct eng_block_q8_0 *a = xq;
	float sumf = 0.0f;
	for (int64_t ib = 0; ib < n / ENG_QK4_0; ib++) {
		/* weights are in [-8, 7]: never -128, so the sign trick is exact */
		int sumi = dot_i8x32(q4_unpack(w[ib].qs), _mm256_loadu_si256((const __m256i *)a[ib].qs));
		sumf += (float)sumi * (eng_f16_to_f32(w[ib].d) * eng_f16_to_f32(a[ib].d));
	}
	return sumf;
#else
	return eng_vec_dot_q4_0_q8_0_ref(n, row, xq);
#endif
}

/* ---- the table ---- */

#define UNSUPPORTED(id, nm, bs, bb) [id] = { nm, bs, bb, false, NULL, NULL, NULL, NULL, 0, NULL }

static const struct eng_type_traits type_table[ENG_TYPE_COUNT] = {
	[ENG_TYPE_F32] = { "f32", 1, 4, true, f32_to_f32, f32_from_f32, vec_dot_f32, NULL, 0, NULL },
	[ENG_TYPE_F16] = { "f16", 1, 2, true, f16_to_f32, f16_from_f32, vec_dot_f16, NULL, 0, NULL },
	[ENG_TYPE_Q4_0] = { "q4_0", ENG_QK4_0, 18, true, q4_0_to_f32, eng_quantize_row_q4_0,
			    vec_dot_q4_0, eng_vec_dot_q4_0_q8_0, ENG_TYPE_Q8_0, NULL },
	[ENG_TYPE_Q8_0] = { "q8_0", ENG_QK8_0, 34, true, q8_0_to_f32, eng_quantize_row_q8_0_ref,
			    vec_dot_q8_0, vec_dot_q8_0_q8, ENG_TYPE_Q8_0, eng_quantize_row_q8_0 },
	UNSUPPORTED(16, "iq2_xxs", 256, 66),
	UNSUPPORTED(17, "iq2_xs", 256, 74),
	UNSUPPORTED(18, "iq3_xxs", 256, 98),
	UNSUPPORTED(19, "iq1_s", 256, 50),
	UNSUPPORTED(21, "iq3_s", 256, 110),
	UNSUPPORTED(22, "iq2_s", 256, 82),
	UNSUPPORTED(24, "i8", 1, 1),
	UNSUPPORTED(25, "i16", 1, 2),
	UNSUPPORTED(26, "i32", 1, 4),
	UNSUPPORTED(27, "i64", 1, 8),
	UNSUPPORTED(28, "f64", 1, 8),
	UNSUPPORTED(29, "iq1_m", 256, 56),
	[ENG_TYPE_BF16] = { "bf16", 1, 2, true, bf16_to_f32, bf16_from_f32, vec_dot_bf16, NULL, 0, NULL },
	UNSUPPORTED(34, "tq1_0", 256, 54),
	UNSUPPORTED(35, "tq2_0", 256, 66),
	UNSUPPORTED(39, "mxfp4", 32, 17),
};

/* The types quants.c implements. */
static const struct eng_type_traits *const quant_table[ENG_TYPE_COUNT] = {
	[ENG_TYPE_Q4_1] = &eng_traits_q4_1, [ENG_TYPE_Q5_0] = &eng_traits_q5_0,
	[ENG_TYPE_Q5_1] = &eng_traits_q5_1, [ENG_TYPE_Q8_1] = &eng_traits_q8_1,
	[ENG_TYPE_Q2_K] = &eng_traits_q2_K, [ENG_TYPE_Q3_K] = &eng_traits_q3_K,
	[ENG_TYPE_Q4_K] = &eng_traits_q4_K, [ENG_TYPE_Q5_K] = &eng_traits_q5_K,
	[ENG_TYPE_Q6_K] = &eng_traits_q6_K, [ENG_TYPE_Q8_K] = &eng_traits_q8_K,
	[ENG_TYPE_IQ4_NL] = &eng_traits_iq4_nl, [ENG_TYPE_IQ4_XS] = &eng_traits_iq4_xs,
};

const struct eng_type_traits *eng_type_get(uint32_t type)
{
	if (type >= ENG_TYPE_COUNT)
		return NULL;
	if (quant_table[type])
		return quant_table[type];
	if (!type_table[type].name)
		return NULL;
	return &type_table[type];
}

const char *eng_type_name(uint32_t type)
{
	const struct eng_type_traits *t = eng_type_get(type);
	return t ? t->name : "unknown";
}

bool eng_type_supported(uint32_t type)
{
	const struct eng_type_traits *t = eng_type_get(type);
	return t && t->supported;
}

int eng_row_size(uint32_t type, uint64_t n, uint64_t *out)
{
	const struct eng_type_traits *t = eng_type_get(type);
	if (!t || n % t->block_size)
		return -1;
	uint64_t blocks = n / t->block_size;
	if (blocks > UINT64_MAX / t->block_bytes)
		return -1;
	*out = blocks * t->block_bytes;
	return 0;
}
