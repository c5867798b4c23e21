/* quants_avx2.c — AVX2 dots of the K-quants (Q2_K..Q6_K) and IQ4_XS with Q8_K activations.
 *
 * A file of its own so that quants.c stays under 1000 lines; the block
 * layouts come from quants_int.h (tests/eng_quants.c compares every kernel
 * with its plain-C reference in quants.c bit for bit).
 *
 * As in quants.c the SIMD part only forms the exact integers of a super-block
 * (sumi = sum of scale * (q . y) and, for Q2_K, summ = sum of min * bsums)
 * faster; the float steps are the references' own expression in the same
 * order, so the result has the same bits. Per 16 elements the products are
 * made with maddubs (one operand unsigned, |pair sum| <= 2 * 127 * 127 < 2^15,
 * no saturation) and weighted by the sub-block scale with madd_epi16.
 *
 * Selection is at compile time, as for the other types in quants.c: with
 * __AVX2__ and __F16C__ (-march=native on an AVX2 machine, or the valgrind
 * build's -march=x86-64-v3) quants.c's type table points at these kernels,
 * otherwise at its references and this file compiles to nothing. The block
 * scales are widened with F16C (exact, like eng_f16_to_f32), so nothing here
 * calls back into quants.c: calls go one way, quants.c -> quants_avx2.c.
 */
#include "engine/types.h"

#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>
#include <string.h>

#include "engine/cpu/kernels.h"
#include "engine/quants_int.h"

/* f16 -> f32 is exact; vcvtph2ps gives eng_f16_to_f32's bits for every finite f16 */
static inline float f16_to_f32(uint16_t h) { return _cvtsh_ss(h); }

static inline int hsum_i32x8(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
	return _mm_cvtsi128_si32(s);
}

/* 8 int32: sc_lo * (q . y) over elements 0..15 in lanes 0..3, sc_hi * (q . y)
 * over 16..31 in lanes 4..7, for an unsigned q (<= 127) and a signed y. */
static inline __m256i dot32_scaled_u(__m256i q, __m256i y, int sc_lo, int sc_hi)
{
	const __m256i sc = _mm256_setr_m128i(_mm_set1_epi16((int16_t)sc_lo), _mm_set1_epi16((int16_t)sc_hi));
	return _mm256_madd_epi16(_mm256_maddubs_epi16(q, y), sc);
}

/* the same for a signed q in [-127, 127]: |q| * (y with q's sign) */
static inline __m256i dot32_scaled_s(__m256i q, __m256i y, int sc_lo, int sc_hi)
{
	return dot32_scaled_u(_mm256_sign_epi8(q, q), _mm256_sign_epi8(y, q), sc_lo, sc_hi);
}

float eng_vec_dot_q2_K_q8_K_avx2(int64_t n, const void *row, const void *xq)
{
	const struct blk_q2_K *w = row;
	const struct eng_block_q8_K *a = xq;
	const __m256i m3 = _mm256_set1_epi8(3);
	float sumf = 0.0f;
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		const uint8_t *sc = w[ib].scales;
		__m256i acc = _mm256_setzero_si256();
		for (int h = 0; h < 2; h++) {
			const __m256i bits = _mm256_loadu_si256((const __m256i *)(w[ib].qs + 32 * h));
			for (int j = 0; j < 4; j++) {
				const __m256i q = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * j), m3); /* 0..3 */
				const __m256i y = _mm256_loadu_si256((const __m256i *)(a[ib].qs + 128 * h + 32 * j));
				const int g = 8 * h + 2 * j;
				acc = _mm256_add_epi32(acc, dot32_scaled_u(q, y, sc[g] & 0x0f, sc[g + 1] & 0x0f));
			}
		}
		int summ = 0;
		for (int g = 0; g < 16; g++)
			summ += (sc[g] >> 4) * a[ib].bsums[g];
		const int sumi = hsum_i32x8(acc);
		sumf += f16_to_f32(w[ib].d) * a[ib].d * (float)sumi -
			f16_to_f32(w[ib].dmin) * a[ib].d * (float)summ;
	}
	return sumf;
}

float eng_vec_dot_q3_K_q8_K_avx2(int64_t n, const void *row, const void *xq)
{
	const struct blk_q3_K *w = row;
	const struct eng_block_q8_K *a = xq;
	const __m256i m3 = _mm256_set1_epi8(3);
	const __m256i four = _mm256_set1_epi8(4);
	float sumf = 0.0f;
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		int sc[16];
		unpack_q3_k_scales(w[ib].scales, sc);
		const __m256i hm = _mm256_loadu_si256((const __m256i *)w[ib].hmask);
		__m256i acc = _mm256_setzero_si256();
		for (int h = 0; h < 2; h++) {
			const __m256i bits = _mm256_loadu_si256((const __m256i *)(w[ib].qs + 32 * h));
			for (int j = 0; j < 4; j++) {
				const __m256i bit = _mm256_set1_epi8((char)(1u << (4 * h + j)));
				const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit);
				const __m256i q2 = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * j), m3);
				const __m256i q = _mm256_sub_epi8(q2, _mm256_andnot_si256(set, four)); /* -4..3 */
				const __m256i y = _mm256_loadu_si256((const __m256i *)(a[ib].qs + 128 * h + 32 * j));
				const int g = 8 * h + 2 * j;
				acc = _mm256_add_epi32(acc, dot32_scaled_s(q, y, sc[g], sc[g + 1]));
			}
		}
		sumf += f16_to_f32(w[ib].d) * a[ib].d * (float)hsum_i32x8(acc);
	}
	return sumf;
}

float eng_vec_dot_iq4_xs_q8_K_avx2(int64_t n, const void *row, const void *xq)
{
	const struct blk_iq4_xs *w = row;
	const struct eng_block_q8_K *a = xq;
	const __m128i lut128 = _mm_loadu_si128((const __m128i *)iq4nl_values);
	const __m256i lut = _mm256_set_m128i(lut128, lut128);
	const __m128i m4 = _mm_set1_epi8(0x0f);
	float sumf = 0.0f;
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		__m256i acc = _mm256_setzero_si256();
		for (int j = 0; j < 8; j++) {
			const int sc = (((w[ib].scales_l[j / 2] >> (4 * (j % 2))) & 0x0f) |
					(((w[ib].scales_h >> (2 * j)) & 3) << 4)) - 32;
			/* low nibbles are elements 0..15, high nibbles 16..31 */
			const __m128i v = _mm_loadu_si128((const __m128i *)(w[ib].qs + 16 * j));
			const __m256i nib = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4), _mm_and_si128(v, m4));
			const __m256i q = _mm256_shuffle_epi8(lut, nib); /* -127..113 */
			const __m256i y = _mm256_loadu_si256((const __m256i *)(a[ib].qs + 32 * j));
			acc = _mm256_add_epi32(acc, dot32_scaled_s(q, y, sc, sc));
		}
		sumf += f16_to_f32(w[ib].d) * a[ib].d * (float)hsum_i32x8(acc);
	}
	return sumf;
}

/* sum of mn[j] * (bsums[2j] + bsums[2j+1]) over the 8 sub-blocks of 32 (exact) */
static inline int k4_min_sum(const int mn[8], const int16_t bsums[16])
{
	int summ = 0;
	for (int j = 0; j < 8; j++)
		summ += mn[j] * (bsums[2 * j] + bsums[2 * j + 1]);
	return summ;
}

/* Q4_K and Q5_K: the quants are unsigned (0..15, 0..31), so maddubs takes them as
 * they are (|pair| <= 2 * 31 * 127) and madd_epi16 applies the 6-bit scale. Q5_K's
 * fifth bit: bit 2j of qh[l] for the low quant of sub-block pair j, bit 2j+1 for the high. */
static inline __attribute__((always_inline)) float dot_k45(int64_t n, const void *row, const void *xq, const int q5)
{
	const struct eng_block_q8_K *a = xq;
	const __m256i m4 = _mm256_set1_epi8(0x0f), b4 = _mm256_set1_epi8(0x10);
	float sumf = 0.0f;
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		const struct blk_q4_K *b4k = (const struct blk_q4_K *)row + ib;
		const struct blk_q5_K *b5k = (const struct blk_q5_K *)row + ib;
		const uint8_t *qs = q5 ? b5k->qs : b4k->qs;
		const uint16_t d = q5 ? b5k->d : b4k->d, dmin = q5 ? b5k->dmin : b4k->dmin;
		int sc[8], mn[8];
		unpack_k_scales(q5 ? b5k->scales : b4k->scales, sc, mn);
		__m256i qh = q5 ? _mm256_loadu_si256((const __m256i *)b5k->qh) : _mm256_setzero_si256();
		__m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
		for (int j = 0; j < 4; j++) {
			const __m256i bits = _mm256_loadu_si256((const __m256i *)(qs + 32 * j));
			__m256i lo = _mm256_and_si256(bits, m4);
			__m256i hi = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
			if (q5) {
				lo = _mm256_or_si256(lo, _mm256_and_si256(_mm256_slli_epi16(qh, 4), b4));
				hi = _mm256_or_si256(hi, _mm256_and_si256(_mm256_slli_epi16(qh, 3), b4));
				qh = _mm256_srli_epi16(qh, 2);
			}
			const __m256i y0 = _mm256_loadu_si256((const __m256i *)(a[ib].qs + 64 * j));
			const __m256i y1 = _mm256_loadu_si256((const __m256i *)(a[ib].qs + 64 * j + 32));
			acc0 = _mm256_add_epi32(acc0, dot32_scaled_u(lo, y0, sc[2 * j], sc[2 * j]));
			acc1 = _mm256_add_epi32(acc1, dot32_scaled_u(hi, y1, sc[2 * j + 1], sc[2 * j + 1]));
		}
		const int summ = k4_min_sum(mn, a[ib].bsums);
		const int sumi = hsum_i32x8(_mm256_add_epi32(acc0, acc1));
		sumf += f16_to_f32(d) * a[ib].d * (float)sumi - f16_to_f32(dmin) * a[ib].d * (float)summ;
	}
	return sumf;
}

/* On AVX-512 VNNI CPUs the Q4_K, Q5_K and Q6_K dots are kernels_vnni.c's (same bits). */
float eng_vec_dot_q4_K_q8_K_avx2(int64_t n, const void *row, const void *xq)
{
	if (eng_cpu_has_vnni())
		return eng_vec_dot_q4_K_q8_K_vnni(n, row, xq);
	return dot_k45(n, row, xq, 0);
}

float eng_vec_dot_q5_K_q8_K_avx2(int64_t n, const void *row, const void *xq)
{
	if (eng_cpu_has_vnni())
		return eng_vec_dot_q5_K_q8_K_vnni(n, row, xq);
	return dot_k45(n, row, xq, 1);
}

/* Q6_K: q - 32 with q unsigned (0..63): sum sc * (q - 32) . y = sum sc * (q . y)
 * - 32 * sum sc * bsums, both exact, so maddubs takes q unsigned as well. */
float eng_vec_dot_q6_K_q8_K_avx2(int64_t n, const void *row, const void *xq)
{
	if (eng_cpu_has_vnni()) /* kernels_vnni.c's form, the same bits */
		return eng_vec_dot_q6_K_q8_K_vnni(n, row, xq);
	const struct blk_q6_K *w = row;
	const struct eng_block_q8_K *a = xq;
	const __m256i m4 = _mm256_set1_epi8(0x0f);
	const __m256i m3 = _mm256_set1_epi8(0x30);
	float sumf = 0.0f;
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		const int8_t *sc = w[ib].scales;
		__m256i acc0 = _mm256_setzero_si256(), acc1 = _mm256_setzero_si256();
		for (int h = 0; h < 2; h++) {
			const uint8_t *ql = w[ib].ql + 64 * h;
			const __m256i qh = _mm256_loadu_si256((const __m256i *)(w[ib].qh + 32 * h));
			const __m256i l0 = _mm256_loadu_si256((const __m256i *)ql);
			const __m256i l1 = _mm256_loadu_si256((const __m256i *)(ql + 32));
			const __m256i q0 = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m3));
			const __m256i q1 = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m3));
			const __m256i q2 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m3));
			const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
							   _mm256_and_si256(_mm256_srli_epi16(qh, 2), m3));
			const int8_t *y = a[ib].qs + 128 * h;
			const int g = 8 * h;
			acc0 = _mm256_add_epi32(acc0, dot32_scaled_u(q0, _mm256_loadu_si256((const __m256i *)y), sc[g], sc[g + 1]));
			acc1 = _mm256_add_epi32(acc1, dot32_scaled_u(q1, _mm256_loadu_si256((const __m256i *)(y + 32)), sc[g + 2],
								     sc[g + 3]));
			acc0 = _mm256_add_epi32(acc0, dot32_scaled_u(q2, _mm256_loadu_si256((const __m256i *)(y + 64)), sc[g + 4],
								     sc[g + 5]));
			acc1 = _mm256_add_epi32(acc1, dot32_scaled_u(q3, _mm256_loadu_si256((const __m256i *)(y + 96)), sc[g + 6],
								     sc[g + 7]));
		}
		/* 32 * sum sc[g] * bsums[g]: one madd of the 16 scales with the 16 sums */
		const __m256i scv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)sc));
		const __m256i off = _mm256_madd_epi16(scv, _mm256_loadu_si256((const __m256i *)a[ib].bsums));
		const int sumi = hsum_i32x8(_mm256_add_epi32(acc0, acc1)) - 32 * hsum_i32x8(off);
		sumf += f16_to_f32(w[ib].d) * a[ib].d * (float)sumi;
	}
	return sumf;
}

#else
typedef int eng_quants_avx2_not_built; /* no AVX2+F16C: quants.c uses its references */
#endif
