/* quants.c — llama.cpp's other weight types (Q4_1, Q5_0, Q5_1, the K-quants,
 * IQ4_NL, IQ4_XS) and the activation formats they pair with (Q8_1, Q8_K),
 * and the scalar f16/bf16 conversions every kernel builds on.
 *
 * Layouts are ggml's (ggml-common.h), checked against the python `gguf`
 * package's dequantizers by tests/eng_quants.c (vectors from
 * tests/data/gen-quant-vectors.py). Each weight type is read through one
 * unpack helper that yields its integer quants in element order with the
 * integer scale (and min) of every sub-block; dequantization and the dots are
 * written once on top of that.
 *
 * Dots (the pairing is llama.cpp's vec_dot_type): Q4_1/Q5_1 with Q8_1,
 * Q5_0/IQ4_NL with Q8_0, the K-quants and IQ4_XS with Q8_K. Per block (32) or
 * super-block (256) the integer part is summed exactly in int32 (the largest,
 * Q6_K: 128 * 32 * 127 * 256 < 2^31), then turned into float once:
 *   32-blocks:  sumf += (float)sumi * (d_w * d_x)   [+ m_w * s_x for Q4_1/Q5_1]
 *   K-quants:   sumf += d * (float)sumi - dmin * (float)summ,
 *               d = d_w * d_x, dmin = dmin_w * d_x, summ = sum of min * bsums
 * block after block. Because every float operation happens in that fixed order
 * on exact integers, the AVX2 versions (which only form the integers faster)
 * give the same bits as the plain-C references.
 *
 * Activation quantizers mirror what llama.cpp runs on x86 (ggml-cpu/arch/x86/
 * quants.c): quantize_row_q8_0 and quantize_row_q8_1 (d = amax / 127, q =
 * round-half-even(x * (127 / amax)), Q8_1's s = f16(d * sum q)); quantize_row_q8_K
 * is ggml's reference there (iscale = -127 / max, max the signed element of
 * largest magnitude, d = 1 / iscale, bsums per 16).
 */
#include "engine/types.h"

#include <math.h>
#include <string.h>

#include "engine/quants_int.h"

#if defined(__AVX2__)
#include <immintrin.h>
#define QN_AVX2 1
#else
#define QN_AVX2 0
#endif

/* ---- scalar conversions (types.h; here so that types.c -> quants.c is the only
 * direction of calls between the two: the type table reads the traits below) ---- */

static inline uint32_t f32_bits(float f)
{
	uint32_t u;
	memcpy(&u, &f, 4);
	return u;
}

static inline float bits_f32(uint32_t u)
{
	float f;
	memcpy(&f, &u, 4);
	return f;
}

float eng_f16_to_f32(uint16_t h)
{
	uint32_t sign = (uint32_t)(h >> 15) << 31;
	uint32_t exp = (h >> 10) & 0x1f;
	uint32_t mant = h & 0x3ff;
	if (exp == 0) {
		if (mant == 0)
			return bits_f32(sign);
		/* subnormal: normalise; 2^-14 is float exponent 113 */
		uint32_t e = 113;
		while (!(mant & 0x400)) {
			mant <<= 1;
			e--;
		}
		return bits_f32(sign | e << 23 | (mant & 0x3ff) << 13);
	}
	if (exp == 31)
		return bits_f32(sign | 0x7f800000u | mant << 13);
	return bits_f32(sign | (exp + 112) << 23 | mant << 13);
}

uint16_t eng_f32_to_f16(float f)
{
	uint32_t x = f32_bits(f);
	uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
	x &= 0x7fffffffu;
	if (x > 0x7f800000u) /* NaN: keep the top payload bits, force quiet */
		return (uint16_t)(sign | 0x7e00 | ((x >> 13) & 0x3ff));
	if (x >= 0x477ff000u) /* >= 65520 rounds to inf (ties to even: 65504 is odd) */
		return (uint16_t)(sign | 0x7c00);
	if (x >= 0x38800000u) { /* normal half: round the 13 dropped bits to nearest even */
		x += 0xfffu + ((x >> 13) & 1);
		return (uint16_t)(sign | ((x - (112u << 23)) >> 13));
	}
	/* subnormal half or zero: adding 0.5 puts the value on a grid of 2^-24,
	 * and the FPU's round-to-nearest-even does the rounding. */
	float r = bits_f32(x) + 0.5f;
	return (uint16_t)(sign | (f32_bits(r) - 0x3f000000u));
}

float eng_bf16_to_f32(uint16_t h)
{
	return bits_f32((uint32_t)h << 16);
}

uint16_t eng_f32_to_bf16(float f)
{
	uint32_t u = f32_bits(f);
	if ((u & 0x7fffffffu) > 0x7f800000u)
		return (uint16_t)((u >> 16) | 64); /* quiet NaN, as ggml */
	return (uint16_t)((u + (0x7fffu + ((u >> 16) & 1))) >> 16);
}

static inline float h2f(uint16_t h)
{
	return eng_f16_to_f32(h);
}

/* ---- activation quantizers ---- */

/* round-half-even of x * id, as _mm256_round_ps(_MM_ROUND_NEAREST); NaN/inf -> 0 */
static inline int8_t q8_round(float v)
{
	return (int8_t)(v >= -127.5f && v <= 127.5f ? nearbyintf(v) : 0.0f);
}

void eng_quantize_row_q8_0_scalar(const float *x, void *y, int64_t n)
{
	struct eng_block_q8_0 *b = y;
	for (int64_t ib = 0; ib < n / 32; ib++) {
		const float *xb = x + ib * 32;
		float amax = 0.0f;
		for (int j = 0; j < 32; j++)
			amax = fmaxf(amax, fabsf(xb[j]));
		const float d = amax / 127.0f;
		const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
		b[ib].d = eng_f32_to_f16(d);
		for (int j = 0; j < 32; j++)
			b[ib].qs[j] = q8_round(xb[j] * id);
	}
}

void eng_quantize_row_q8_1_scalar(const float *x, void *y, int64_t n)
{
	struct eng_block_q8_1 *b = y;
	for (int64_t ib = 0; ib < n / 32; ib++) {
		const float *xb = x + ib * 32;
		float amax = 0.0f;
		for (int j = 0; j < 32; j++)
			amax = fmaxf(amax, fabsf(xb[j]));
		const float d = amax / 127.0f;
		const float id = amax != 0.0f ? 127.0f / amax : 0.0f;
		int sum = 0;
		for (int j = 0; j < 32; j++) {
			b[ib].qs[j] = q8_round(xb[j] * id);
			sum += b[ib].qs[j];
		}
		b[ib].d = eng_f32_to_f16(d);
		b[ib].s = eng_f32_to_f16(d * (float)sum);
	}
}

#if QN_AVX2
/* The scalar loop's amax of 32 floats: max_ps(|x|, m) returns m where |x| is NaN, as
 * fmaxf(amax, NaN) = amax, and a maximum is exact, so the lane order does not matter. */
static inline float amax32(const float *x)
{
	const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	__m256 m = _mm256_setzero_ps();
	for (int j = 0; j < 32; j += 8)
		m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + j), abs), m);
	__m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
	h = _mm_max_ps(h, _mm_movehl_ps(h, h));
	return _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
}

/* q8_round(x[j] * id) for 32 values into qs (the same product, the same half-even
 * rounding, 0 outside [-127.5, 127.5] and for NaN); returns the sum of the quants. */
static inline int q8_round32(const float *x, float id, int8_t *qs)
{
	const __m256 vid = _mm256_set1_ps(id), lo = _mm256_set1_ps(-127.5f), hi = _mm256_set1_ps(127.5f);
	__m256i q[4];
	for (int k = 0; k < 4; k++) {
		const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(x + 8 * k), vid);
		const __m256 in = _mm256_and_ps(_mm256_cmp_ps(v, lo, _CMP_GE_OQ), _mm256_cmp_ps(v, hi, _CMP_LE_OQ));
		q[k] = _mm256_cvtps_epi32(
			_mm256_and_ps(_mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC), in));
	}
	/* packs interleave the 128-bit halves; the permute puts the 32 bytes back in order */
	const __m256i b = _mm256_packs_epi16(_mm256_packs_epi32(q[0], q[1]), _mm256_packs_epi32(q[2], q[3]));
	_mm256_storeu_si256((__m256i *)qs, _mm256_permutevar8x32_epi32(b, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7)));
	const __m256i s4 = _mm256_add_epi32(_mm256_add_epi32(q[0], q[1]), _mm256_add_epi32(q[2], q[3]));
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(s4), _mm256_extracti128_si256(s4, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
	return _mm_cvtsi128_si32(_mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1)));
}
#endif

#if QN_AVX2
/* The scalar Q8_K loop's max: the first element of the block whose magnitude is the
 * largest (its sign kept), 0 where every magnitude is 0 or NaN. */
static inline float signed_max256(const float *x)
{
	const __m256 abs = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
	__m256 m = _mm256_setzero_ps();
	for (int j = 0; j < QK_K; j += 8) /* max_ps(|x|, m) keeps m where |x| is NaN, as '>' does */
		m = _mm256_max_ps(_mm256_and_ps(_mm256_loadu_ps(x + j), abs), m);
	__m128 h = _mm_max_ps(_mm256_castps256_ps128(m), _mm256_extractf128_ps(m, 1));
	h = _mm_max_ps(h, _mm_movehl_ps(h, h));
	const float amax = _mm_cvtss_f32(_mm_max_ss(h, _mm_movehdup_ps(h)));
	if (amax == 0.0f)
		return 0.0f;
	const __m256 va = _mm256_set1_ps(amax);
	for (int j = 0; j < QK_K; j += 8) {
		const int hit = _mm256_movemask_ps(_mm256_cmp_ps(_mm256_and_ps(_mm256_loadu_ps(x + j), abs), va, _CMP_EQ_OQ));
		if (hit)
			return x[j + __builtin_ctz((unsigned)hit)];
	}
	return 0.0f; /* not reached: amax is one of the magnitudes */
}
#endif

void eng_quantize_row_q8_K(const float *x, void *y, int64_t n)
{
#if QN_AVX2
	struct eng_block_q8_K *b = y;
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		const float *xb = x + ib * QK_K;
		const float max = signed_max256(xb);
		if (max == 0.0f) {
			memset(&b[ib], 0, sizeof b[ib]);
			continue;
		}
		const float iscale = -127.0f / max;
		for (int k = 0; k < QK_K / 32; k++) {
			q8_round32(xb + 32 * k, iscale, b[ib].qs + 32 * k);
			/* the two 16-quant sums: byte pairs, then the 4 int32 of each 128-bit half */
			const __m256i q = _mm256_loadu_si256((const __m256i *)(b[ib].qs + 32 * k));
			__m256i s = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q), _mm256_set1_epi16(1));
			s = _mm256_hadd_epi32(s, s);
			s = _mm256_hadd_epi32(s, s);
			b[ib].bsums[2 * k] = (int16_t)_mm256_cvtsi256_si32(s);
			b[ib].bsums[2 * k + 1] = (int16_t)_mm_cvtsi128_si32(_mm256_extracti128_si256(s, 1));
		}
		b[ib].d = 1.0f / iscale;
	}
#else
	eng_quantize_row_q8_K_scalar(x, y, n);
#endif
}

/* The activation quantizers: the scalar ones above, or their AVX2 form (the same bits,
 * tests/eng_quants.c); they run once per token and matrix product, beside the tiles. */
void eng_quantize_row_q8_0(const float *x, void *y, int64_t n)
{
#if QN_AVX2
	struct eng_block_q8_0 *b = y;
	for (int64_t ib = 0; ib < n / 32; ib++) {
		const float amax = amax32(x + ib * 32);
		b[ib].d = eng_f32_to_f16(amax / 127.0f);
		q8_round32(x + ib * 32, amax != 0.0f ? 127.0f / amax : 0.0f, b[ib].qs);
	}
#else
	eng_quantize_row_q8_0_scalar(x, y, n);
#endif
}

void eng_quantize_row_q8_1(const float *x, void *y, int64_t n)
{
#if QN_AVX2
	struct eng_block_q8_1 *b = y;
	for (int64_t ib = 0; ib < n / 32; ib++) {
		const float amax = amax32(x + ib * 32), d = amax / 127.0f;
		const int sum = q8_round32(x + ib * 32, amax != 0.0f ? 127.0f / amax : 0.0f, b[ib].qs);
		b[ib].d = eng_f32_to_f16(d);
		b[ib].s = eng_f32_to_f16(d * (float)sum);
	}
#else
	eng_quantize_row_q8_1_scalar(x, y, n);
#endif
}

void eng_quantize_row_q8_K_scalar(const float *x, void *y, int64_t n)
{
	struct eng_block_q8_K *b = y;
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		const float *xb = x + ib * QK_K;
		float amax = 0.0f, max = 0.0f;
		for (int j = 0; j < QK_K; j++)
			if (fabsf(xb[j]) > amax) {
				amax = fabsf(xb[j]);
				max = xb[j];
			}
		memset(b[ib].bsums, 0, sizeof b[ib].bsums);
		if (amax == 0.0f) {
			b[ib].d = 0.0f;
			memset(b[ib].qs, 0, sizeof b[ib].qs);
			continue;
		}
		const float iscale = -127.0f / max;
		for (int j = 0; j < QK_K; j++) {
			b[ib].qs[j] = q8_round(iscale * xb[j]);
			b[ib].bsums[j / 16] = (int16_t)(b[ib].bsums[j / 16] + b[ib].qs[j]);
		}
		b[ib].d = 1.0f / iscale;
	}
}

static void q8_1_to_f32(const void *src, float *dst, int64_t n)
{
	const struct eng_block_q8_1 *b = src;
	for (int64_t ib = 0; ib < n / 32; ib++)
		for (int j = 0; j < 32; j++)
			dst[ib * 32 + j] = (float)b[ib].qs[j] * h2f(b[ib].d);
}

static void q8_K_to_f32(const void *src, float *dst, int64_t n)
{
	const struct eng_block_q8_K *b = src;
	for (int64_t ib = 0; ib < n / QK_K; ib++)
		for (int j = 0; j < QK_K; j++)
			dst[ib * QK_K + j] = b[ib].d * (float)b[ib].qs[j];
}

/* ---- unpacking: integer quants in element order ---- */

static inline void unpack_iq4(const uint8_t qs[16], int8_t q[32])
{
	for (int j = 0; j < 16; j++) {
		q[j] = iq4nl_values[qs[j] & 0x0f];
		q[j + 16] = iq4nl_values[qs[j] >> 4];
	}
}

/* K-quants: q[256], sc[nsub] and mn[nsub] (0 where the type has no mins). */
static void unpack_q2_K(const struct blk_q2_K *b, int8_t q[256], int sc[16], int mn[16])
{
	for (int h = 0; h < 2; h++)
		for (int j = 0; j < 4; j++)
			for (int l = 0; l < 32; l++)
				q[128 * h + 32 * j + l] = (int8_t)((b->qs[32 * h + l] >> (2 * j)) & 3);
	for (int g = 0; g < 16; g++) {
		sc[g] = b->scales[g] & 0x0f;
		mn[g] = b->scales[g] >> 4;
	}
}

static void unpack_q3_K(const struct blk_q3_K *b, int8_t q[256], int sc[16])
{
	for (int h = 0; h < 2; h++)
		for (int j = 0; j < 4; j++) {
			const uint8_t m = (uint8_t)(1u << (4 * h + j));
			for (int l = 0; l < 32; l++)
				q[128 * h + 32 * j + l] = (int8_t)(((b->qs[32 * h + l] >> (2 * j)) & 3) -
								   ((b->hmask[l] & m) ? 0 : 4));
		}
	unpack_q3_k_scales(b->scales, sc);
}

static void unpack_q4_K(const struct blk_q4_K *b, int8_t q[256], int sc[8], int mn[8])
{
	for (int j = 0; j < 4; j++)
		for (int l = 0; l < 32; l++) {
			q[64 * j + l] = (int8_t)(b->qs[32 * j + l] & 0x0f);
			q[64 * j + 32 + l] = (int8_t)(b->qs[32 * j + l] >> 4);
		}
	unpack_k_scales(b->scales, sc, mn);
}

static void unpack_q5_K(const struct blk_q5_K *b, int8_t q[256], int sc[8], int mn[8])
{
	for (int j = 0; j < 4; j++)
		for (int l = 0; l < 32; l++) {
			q[64 * j + l] = (int8_t)((b->qs[32 * j + l] & 0x0f) | (((b->qh[l] >> (2 * j)) & 1) << 4));
			q[64 * j + 32 + l] = (int8_t)((b->qs[32 * j + l] >> 4) | (((b->qh[l] >> (2 * j + 1)) & 1) << 4));
		}
	unpack_k_scales(b->scales, sc, mn);
}

static void unpack_q6_K(const struct blk_q6_K *b, int8_t q[256], int sc[16])
{
	for (int h = 0; h < 2; h++) {
		const uint8_t *ql = b->ql + 64 * h, *qh = b->qh + 32 * h;
		int8_t *y = q + 128 * h;
		for (int l = 0; l < 32; l++) {
			y[l] = (int8_t)(((ql[l] & 0x0f) | ((qh[l] & 3) << 4)) - 32);
			y[l + 32] = (int8_t)(((ql[l + 32] & 0x0f) | (((qh[l] >> 2) & 3) << 4)) - 32);
			y[l + 64] = (int8_t)(((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32);
			y[l + 96] = (int8_t)(((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32);
		}
	}
	for (int g = 0; g < 16; g++)
		sc[g] = b->scales[g];
}

static void unpack_iq4_xs(const struct blk_iq4_xs *b, int8_t q[256], int sc[8])
{
	for (int j = 0; j < 8; j++) {
		unpack_iq4(b->qs + 16 * j, q + 32 * j);
		int ls = ((b->scales_l[j / 2] >> (4 * (j % 2))) & 0x0f) | (((b->scales_h >> (2 * j)) & 3) << 4);
		sc[j] = ls - 32;
	}
}

/* ---- dequantization (as ggml's dequantize_row_*: (d * scale) * q - (dmin * min)) ---- */

static void q4_1_to_f32(const void *src, float *dst, int64_t n)
{
	const struct blk_q4_1 *b = src;
	int8_t q[32];
	for (int64_t ib = 0; ib < n / 32; ib++) {
		unpack_q4_1(&b[ib], q);
		const float d = h2f(b[ib].d), m = h2f(b[ib].m);
		for (int j = 0; j < 32; j++)
			dst[ib * 32 + j] = (float)q[j] * d + m;
	}
}

static void q5_0_to_f32(const void *src, float *dst, int64_t n)
{
	const struct blk_q5_0 *b = src;
	int8_t q[32];
	for (int64_t ib = 0; ib < n / 32; ib++) {
		unpack_q5(b[ib].qh, b[ib].qs, 16, q);
		const float d = h2f(b[ib].d);
		for (int j = 0; j < 32; j++)
			dst[ib * 32 + j] = (float)q[j] * d;
	}
}

static void q5_1_to_f32(const void *src, float *dst, int64_t n)
{
	const struct blk_q5_1 *b = src;
	int8_t q[32];
	for (int64_t ib = 0; ib < n / 32; ib++) {
		unpack_q5(b[ib].qh, b[ib].qs, 0, q);
		const float d = h2f(b[ib].d), m = h2f(b[ib].m);
		for (int j = 0; j < 32; j++)
			dst[ib * 32 + j] = (float)q[j] * d + m;
	}
}

static void iq4_nl_to_f32(const void *src, float *dst, int64_t n)
{
	const struct blk_iq4_nl *b = src;
	int8_t q[32];
	for (int64_t ib = 0; ib < n / 32; ib++) {
		unpack_iq4(b[ib].qs, q);
		const float d = h2f(b[ib].d);
		for (int j = 0; j < 32; j++)
			dst[ib * 32 + j] = d * (float)q[j];
	}
}

/* y = (d * sc[e / group]) * q[e] - (dmin * mn[e / group]) */
static inline void kq_store(float *y, const int8_t q[256], const int *sc, const int *mn, int group, float d,
			    float dmin)
{
	for (int e = 0; e < QK_K; e++) {
		const float dl = d * (float)sc[e / group];
		y[e] = mn ? dl * (float)q[e] - dmin * (float)mn[e / group] : dl * (float)q[e];
	}
}

static void q2_K_to_f32(const void *src, float *dst, int64_t n)
{
	const struct blk_q2_K *b = src;
	int8_t q[256];
	int sc[16], mn[16];
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		unpack_q2_K(&b[ib], q, sc, mn);
		kq_store(dst + ib * QK_K, q, sc, mn, 16, h2f(b[ib].d), h2f(b[ib].dmin));
	}
}

static void q3_K_to_f32(const void *src, float *dst, int64_t n)
{
	const struct blk_q3_K *b = src;
	int8_t q[256];
	int sc[16];
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		unpack_q3_K(&b[ib], q, sc);
		kq_store(dst + ib * QK_K, q, sc, NULL, 16, h2f(b[ib].d), 0.0f);
	}
}

static void q4_K_to_f32(const void *src, float *dst, int64_t n)
{
	const struct blk_q4_K *b = src;
	int8_t q[256];
	int sc[8], mn[8];
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		unpack_q4_K(&b[ib], q, sc, mn);
		kq_store(dst + ib * QK_K, q, sc, mn, 32, h2f(b[ib].d), h2f(b[ib].dmin));
	}
}

static void q5_K_to_f32(const void *src, float *dst, int64_t n)
{
	const struct blk_q5_K *b = src;
	int8_t q[256];
	int sc[8], mn[8];
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		unpack_q5_K(&b[ib], q, sc, mn);
		kq_store(dst + ib * QK_K, q, sc, mn, 32, h2f(b[ib].d), h2f(b[ib].dmin));
	}
}

static void q6_K_to_f32(const void *src, float *dst, int64_t n)
{
	const struct blk_q6_K *b = src;
	int8_t q[256];
	int sc[16];
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		unpack_q6_K(&b[ib], q, sc);
		kq_store(dst + ib * QK_K, q, sc, NULL, 16, h2f(b[ib].d), 0.0f);
	}
}

static void iq4_xs_to_f32(const void *src, float *dst, int64_t n)
{
	const struct blk_iq4_xs *b = src;
	int8_t q[256];
	int sc[8];
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		unpack_iq4_xs(&b[ib], q, sc);
		kq_store(dst + ib * QK_K, q, sc, NULL, 32, h2f(b[ib].d), 0.0f);
	}
}

/* ---- dots, plain C ---- */

static inline int idot(const int8_t *a, const int8_t *b, int n)
{
	int s = 0;
	for (int i = 0; i < n; i++)
		s += a[i] * b[i];
	return s;
}

float eng_vec_dot_q4_1_q8_1_ref(int64_t n, const void *row, const void *xq)
{
	const struct blk_q4_1 *w = row;
	const struct eng_block_q8_1 *a = xq;
	float sumf = 0.0f;
	int8_t q[32];
	for (int64_t ib = 0; ib < n / 32; ib++) {
		unpack_q4_1(&w[ib], q);
		const int sumi = idot(q, a[ib].qs, 32);
		sumf += (float)sumi * (h2f(w[ib].d) * h2f(a[ib].d)) + h2f(w[ib].m) * h2f(a[ib].s);
	}
	return sumf;
}

float eng_vec_dot_q5_0_q8_0_ref(int64_t n, const void *row, const void *xq)
{
	const struct blk_q5_0 *w = row;
	const struct eng_block_q8_0 *a = xq;
	float sumf = 0.0f;
	int8_t q[32];
	for (int64_t ib = 0; ib < n / 32; ib++) {
		unpack_q5(w[ib].qh, w[ib].qs, 16, q);
		sumf += (float)idot(q, a[ib].qs, 32) * (h2f(w[ib].d) * h2f(a[ib].d));
	}
	return sumf;
}

float eng_vec_dot_q5_1_q8_1_ref(int64_t n, const void *row, const void *xq)
{
	const struct blk_q5_1 *w = row;
	const struct eng_block_q8_1 *a = xq;
	float sumf = 0.0f;
	int8_t q[32];
	for (int64_t ib = 0; ib < n / 32; ib++) {
		unpack_q5(w[ib].qh, w[ib].qs, 0, q);
		const int sumi = idot(q, a[ib].qs, 32);
		sumf += (float)sumi * (h2f(w[ib].d) * h2f(a[ib].d)) + h2f(w[ib].m) * h2f(a[ib].s);
	}
	return sumf;
}

float eng_vec_dot_iq4_nl_q8_0_ref(int64_t n, const void *row, const void *xq)
{
	const struct blk_iq4_nl *w = row;
	const struct eng_block_q8_0 *a = xq;
	float sumf = 0.0f;
	int8_t q[32];
	for (int64_t ib = 0; ib < n / 32; ib++) {
		unpack_iq4(w[ib].qs, q);
		sumf += (float)idot(q, a[ib].qs, 32) * (h2f(w[ib].d) * h2f(a[ib].d));
	}
	return sumf;
}

/* sum over sub-blocks of sc * (q . y) and of mn * (sum of y) (exact) */
static inline void kq_sums(const int8_t q[256], const struct eng_block_q8_K *a, const int *sc, const int *mn,
			   int group, int *sumi, int *summ)
{
	int s = 0, m = 0;
	for (int g = 0; g < QK_K / group; g++) {
		s += sc[g] * idot(q + g * group, a->qs + g * group, group);
		if (mn) {
			int by = 0;
			for (int k = 0; k < group / 16; k++)
				by += a->bsums[g * (group / 16) + k];
			m += mn[g] * by;
		}
	}
	*sumi = s;
	*summ = m;
}

float eng_vec_dot_q2_K_q8_K_ref(int64_t n, const void *row, const void *xq)
{
	const struct blk_q2_K *w = row;
	const struct eng_block_q8_K *a = xq;
	float sumf = 0.0f;
	int8_t q[256];
	int sc[16], mn[16], sumi, summ;
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		unpack_q2_K(&w[ib], q, sc, mn);
		kq_sums(q, &a[ib], sc, mn, 16, &sumi, &summ);
		sumf += h2f(w[ib].d) * a[ib].d * (float)sumi - h2f(w[ib].dmin) * a[ib].d * (float)summ;
	}
	return sumf;
}

float eng_vec_dot_q3_K_q8_K_ref(int64_t n, const void *row, const void *xq)
{
	const struct blk_q3_K *w = row;
	const struct eng_block_q8_K *a = xq;
	float sumf = 0.0f;
	int8_t q[256];
	int sc[16], sumi, summ;
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		unpack_q3_K(&w[ib], q, sc);
		kq_sums(q, &a[ib], sc, NULL, 16, &sumi, &summ);
		sumf += h2f(w[ib].d) * a[ib].d * (float)sumi;
	}
	return sumf;
}

float eng_vec_dot_q4_K_q8_K_ref(int64_t n, const void *row, const void *xq)
{
	const struct blk_q4_K *w = row;
	const struct eng_block_q8_K *a = xq;
	float sumf = 0.0f;
	int8_t q[256];
	int sc[8], mn[8], sumi, summ;
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		unpack_q4_K(&w[ib], q, sc, mn);
		kq_sums(q, &a[ib], sc, mn, 32, &sumi, &summ);
		sumf += h2f(w[ib].d) * a[ib].d * (float)sumi - h2f(w[ib].dmin) * a[ib].d * (float)summ;
	}
	return sumf;
}

float eng_vec_dot_q5_K_q8_K_ref(int64_t n, const void *row, const void *xq)
{
	const struct blk_q5_K *w = row;
	const struct eng_block_q8_K *a = xq;
	float sumf = 0.0f;
	int8_t q[256];
	int sc[8], mn[8], sumi, summ;
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		unpack_q5_K(&w[ib], q, sc, mn);
		kq_sums(q, &a[ib], sc, mn, 32, &sumi, &summ);
		sumf += h2f(w[ib].d) * a[ib].d * (float)sumi - h2f(w[ib].dmin) * a[ib].d * (float)summ;
	}
	return sumf;
}

float eng_vec_dot_q6_K_q8_K_ref(int64_t n, const void *row, const void *xq)
{
	const struct blk_q6_K *w = row;
	const struct eng_block_q8_K *a = xq;
	float sumf = 0.0f;
	int8_t q[256];
	int sc[16], sumi, summ;
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		unpack_q6_K(&w[ib], q, sc);
		kq_sums(q, &a[ib], sc, NULL, 16, &sumi, &summ);
		sumf += h2f(w[ib].d) * a[ib].d * (float)sumi;
	}
	return sumf;
}

float eng_vec_dot_iq4_xs_q8_K_ref(int64_t n, const void *row, const void *xq)
{
	const struct blk_iq4_xs *w = row;
	const struct eng_block_q8_K *a = xq;
	float sumf = 0.0f;
	int8_t q[256];
	int sc[8], sumi, summ;
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		unpack_iq4_xs(&w[ib], q, sc);
		kq_sums(q, &a[ib], sc, NULL, 32, &sumi, &summ);
		sumf += h2f(w[ib].d) * a[ib].d * (float)sumi;
	}
	return sumf;
}

/* ---- dots, AVX2: the same integers, formed 32 bytes at a time ---- */

#if QN_AVX2
/* 8 int32 partial sums of a * b (lane k: elements 4k..4k+3), exact for a signed
 * weight a in [-127, 127] and an activation b in [-127, 127]: |a| * sign(b, a). */
static inline __m256i dot32_parts(__m256i a, __m256i b)
{
	const __m256i ax = _mm256_sign_epi8(a, a);
	const __m256i sb = _mm256_sign_epi8(b, a);
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
	return _mm256_dpbusd_epi32(_mm256_setzero_si256(), ax, sb);
#else
	return _mm256_madd_epi16(_mm256_maddubs_epi16(ax, sb), _mm256_set1_epi16(1));
#endif
}

static inline int hsum_i32x8(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
	return _mm_cvtsi128_si32(s);
}

/* the 32 nibbles of 16 bytes in element order (low nibbles = elements 0..15) */
static inline __m256i nibbles32(const uint8_t qs[16])
{
	const __m128i v = _mm_loadu_si128((const __m128i *)qs);
	const __m128i m4 = _mm_set1_epi8(0x0f);
	return _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4), _mm_and_si128(v, m4));
}

float eng_vec_dot_q4_1_q8_1(int64_t n, const void *row, const void *xq)
{
	const struct blk_q4_1 *w = row;
	const struct eng_block_q8_1 *a = xq;
	float sumf = 0.0f;
	for (int64_t ib = 0; ib < n / 32; ib++) {
		const int sumi = hsum_i32x8(dot32_parts(nibbles32(w[ib].qs),
							_mm256_loadu_si256((const __m256i *)a[ib].qs)));
		sumf += (float)sumi * (h2f(w[ib].d) * h2f(a[ib].d)) + h2f(w[ib].m) * h2f(a[ib].s);
	}
	return sumf;
}

float eng_vec_dot_q5_0_q8_0(int64_t n, const void *row, const void *xq)
{
	const struct blk_q5_0 *w = row;
	const struct eng_block_q8_0 *a = xq;
	float sumf = 0.0f;
	for (int64_t ib = 0; ib < n / 32; ib++) {
		const __m256i q = _mm256_sub_epi8(_mm256_or_si256(nibbles32(w[ib].qs), q5_high_bits(w[ib].qh)),
						  _mm256_set1_epi8(16)); /* -16..15 */
		const int sumi = hsum_i32x8(dot32_parts(q, _mm256_loadu_si256((const __m256i *)a[ib].qs)));
		sumf += (float)sumi * (h2f(w[ib].d) * h2f(a[ib].d));
	}
	return sumf;
}

float eng_vec_dot_q5_1_q8_1(int64_t n, const void *row, const void *xq)
{
	const struct blk_q5_1 *w = row;
	const struct eng_block_q8_1 *a = xq;
	float sumf = 0.0f;
	for (int64_t ib = 0; ib < n / 32; ib++) {
		const __m256i q = _mm256_or_si256(nibbles32(w[ib].qs), q5_high_bits(w[ib].qh));
		const int sumi = hsum_i32x8(dot32_parts(q, _mm256_loadu_si256((const __m256i *)a[ib].qs)));
		sumf += (float)sumi * (h2f(w[ib].d) * h2f(a[ib].d)) + h2f(w[ib].m) * h2f(a[ib].s);
	}
	return sumf;
}

float eng_vec_dot_iq4_nl_q8_0(int64_t n, const void *row, const void *xq)
{
	const struct blk_iq4_nl *w = row;
	const struct eng_block_q8_0 *a = xq;
	const __m128i lut128 = _mm_loadu_si128((const __m128i *)iq4nl_values);
	const __m256i lut = _mm256_set_m128i(lut128, lut128);
	float sumf = 0.0f;
	for (int64_t ib = 0; ib < n / 32; ib++) {
		const __m256i q = _mm256_shuffle_epi8(lut, nibbles32(w[ib].qs)); /* -127..113 */
		const int sumi = hsum_i32x8(dot32_parts(q, _mm256_loadu_si256((const __m256i *)a[ib].qs)));
		sumf += (float)sumi * (h2f(w[ib].d) * h2f(a[ib].d));
	}
	return sumf;
}

#endif

/* Dispatch: the AVX2 kernel where compiled in, else the reference. */
#if !QN_AVX2
float eng_vec_dot_q4_1_q8_1(int64_t n, const void *row, const void *xq)
{
	return eng_vec_dot_q4_1_q8_1_ref(n, row, xq);
}
float eng_vec_dot_q5_0_q8_0(int64_t n, const void *row, const void *xq)
{
	return eng_vec_dot_q5_0_q8_0_ref(n, row, xq);
}
float eng_vec_dot_q5_1_q8_1(int64_t n, const void *row, const void *xq)
{
	return eng_vec_dot_q5_1_q8_1_ref(n, row, xq);
}
float eng_vec_dot_iq4_nl_q8_0(int64_t n, const void *row, const void *xq)
{
	return eng_vec_dot_iq4_nl_q8_0_ref(n, row, xq);
}
#endif

/* ---- f32-activation dots (dequantize a block, then the lane order of types.c) ---- */

static inline float reduce8(const float l[8])
{
	return ((l[0] + l[4]) + (l[2] + l[6])) + ((l[1] + l[5]) + (l[3] + l[7]));
}

/* Dequantize block by block into a small buffer and dot with 8 lanes. */
static float dot_by_dequant(eng_to_f32_fn to_f32, uint32_t block_size, uint32_t block_bytes, int64_t n,
			    const void *row, const float *x)
{
	float buf[QK_K];
	float l[8] = { 0 };
	for (int64_t ib = 0; ib < n / block_size; ib++) {
		to_f32((const uint8_t *)row + (size_t)ib * block_bytes, buf, block_size);
		const float *xb = x + ib * block_size;
		for (uint32_t i = 0; i < block_size; i += 8)
			for (int k = 0; k < 8; k++)
				l[k] += buf[i + k] * xb[i + k];
	}
	return reduce8(l);
}

#define F32_DOT(name, bs, bb)                                                        \
	static float name##_dot_f32(int64_t n, const void *row, const float *x)     \
	{                                                                            \
		return dot_by_dequant(name##_to_f32, bs, bb, n, row, x);             \
	}
F32_DOT(q4_1, 32, 20)
F32_DOT(q5_0, 32, 22)
F32_DOT(q5_1, 32, 24)
F32_DOT(iq4_nl, 32, 18)
F32_DOT(q2_K, 256, 84)
F32_DOT(q3_K, 256, 110)
F32_DOT(q4_K, 256, 144)
F32_DOT(q5_K, 256, 176)
F32_DOT(q6_K, 256, 210)
F32_DOT(iq4_xs, 256, 136)

/* ---- the traits of these types (types.c puts them into its table) ---- */

/* quants_avx2.c: AVX2 kernels where compiled in (the same condition as there), else the references */
#if defined(__AVX2__) && defined(__F16C__)
float eng_vec_dot_q2_K_q8_K_avx2(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q3_K_q8_K_avx2(int64_t n, const void *row, const void *xq);
float eng_vec_dot_iq4_xs_q8_K_avx2(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q4_K_q8_K_avx2(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q5_K_q8_K_avx2(int64_t n, const void *row, const void *xq);
float eng_vec_dot_q6_K_q8_K_avx2(int64_t n, const void *row, const void *xq);
#define DOT_Q2_K eng_vec_dot_q2_K_q8_K_avx2
#define DOT_Q3_K eng_vec_dot_q3_K_q8_K_avx2
#define DOT_IQ4_XS eng_vec_dot_iq4_xs_q8_K_avx2
#define DOT_Q4_K eng_vec_dot_q4_K_q8_K_avx2
#define DOT_Q5_K eng_vec_dot_q5_K_q8_K_avx2
#define DOT_Q6_K eng_vec_dot_q6_K_q8_K_avx2
#else
#define DOT_Q2_K eng_vec_dot_q2_K_q8_K_ref
#define DOT_Q3_K eng_vec_dot_q3_K_q8_K_ref
#define DOT_IQ4_XS eng_vec_dot_iq4_xs_q8_K_ref
#define DOT_Q4_K eng_vec_dot_q4_K_q8_K_ref
#define DOT_Q5_K eng_vec_dot_q5_K_q8_K_ref
#define DOT_Q6_K eng_vec_dot_q6_K_q8_K_ref
#endif

/* types.h's names of the Q4_K/Q5_K/Q6_K dots (AVX2 in quants_avx2.c, or the reference) */
float eng_vec_dot_q4_K_q8_K(int64_t n, const void *row, const void *xq)
{
	return DOT_Q4_K(n, row, xq);
}
float eng_vec_dot_q5_K_q8_K(int64_t n, const void *row, const void *xq)
{
	return DOT_Q5_K(n, row, xq);
}
float eng_vec_dot_q6_K_q8_K(int64_t n, const void *row, const void *xq)
{
	return DOT_Q6_K(n, row, xq);
}

#define QT(nm, bs, bb, base, act, dotq) \
	{ nm, bs, bb, true, base##_to_f32, NULL, base##_dot_f32, dotq, act, NULL }

const struct eng_type_traits eng_traits_q4_1 = QT("q4_1", 32, 20, q4_1, ENG_TYPE_Q8_1, eng_vec_dot_q4_1_q8_1);
const struct eng_type_traits eng_traits_q5_0 = QT("q5_0", 32, 22, q5_0, ENG_TYPE_Q8_0, eng_vec_dot_q5_0_q8_0);
const struct eng_type_traits eng_traits_q5_1 = QT("q5_1", 32, 24, q5_1, ENG_TYPE_Q8_1, eng_vec_dot_q5_1_q8_1);
const struct eng_type_traits eng_traits_iq4_nl =
	QT("iq4_nl", 32, 18, iq4_nl, ENG_TYPE_Q8_0, eng_vec_dot_iq4_nl_q8_0);
const struct eng_type_traits eng_traits_q2_K = QT("q2_K", 256, 84, q2_K, ENG_TYPE_Q8_K, DOT_Q2_K);
const struct eng_type_traits eng_traits_q3_K = QT("q3_K", 256, 110, q3_K, ENG_TYPE_Q8_K, DOT_Q3_K);
const struct eng_type_traits eng_traits_q4_K = QT("q4_K", 256, 144, q4_K, ENG_TYPE_Q8_K, DOT_Q4_K);
const struct eng_type_traits eng_traits_q5_K = QT("q5_K", 256, 176, q5_K, ENG_TYPE_Q8_K, DOT_Q5_K);
const struct eng_type_traits eng_traits_q6_K = QT("q6_K", 256, 210, q6_K, ENG_TYPE_Q8_K, DOT_Q6_K);
const struct eng_type_traits eng_traits_iq4_xs =
	QT("iq4_xs", 256, 136, iq4_xs, ENG_TYPE_Q8_K, DOT_IQ4_XS);

/* Activation formats: dequantizable (tests, debugging), quantized by act_from_f32. */
const struct eng_type_traits eng_traits_q8_1 = { "q8_1", 32, 36, false, q8_1_to_f32, NULL, NULL, NULL,
						 ENG_TYPE_Q8_1, eng_quantize_row_q8_1 };
const struct eng_type_traits eng_traits_q8_K = { "q8_K", 256, 292, false, q8_K_to_f32, NULL, NULL, NULL,
						 ENG_TYPE_Q8_K, eng_quantize_row_q8_K };
