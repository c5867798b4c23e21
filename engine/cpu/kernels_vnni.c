/* kernels_vnni.c — the Q8_0/Q4_0 tiles of kernels.c with AVX-512 VNNI's vpdpbusd.
 *
 * One binary serves AVX2-only and AVX-512 machines: these functions carry their
 * own target attribute (so they compile under any x86-64 -march) and kernels.c
 * calls them only where eng_cpu_has_vnni() says the CPU has AVX512-VNNI and
 * AVX512-VL (CPUID at run time, through __builtin_cpu_supports).
 *
 * vpdpbusd sums four unsigned x signed byte products into an int32 lane without
 * the int16 step of maddubs + madd, so a block's 32 products need one instruction
 * (Q4_0: the nibbles 0..15 unsigned as they are, the -8 applied through the
 * token's block sum as in kernels.c; Q8_0: |w| and x with w's sign). The
 * integers are exact either way, and the float steps are kernels.c's, so the
 * results are bit-identical to the AVX2 tiles and the single-row kernels
 * (tests/eng_kernels.c runs them on a VNNI machine and says which path it took).
 */
#include "engine/cpu/kernels.h"

#include "engine/cpu/kernels_int.h"
#include "engine/types.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__F16C__) && defined(__GNUC__)
#include <immintrin.h>

#define VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define VNNI_INLINE static inline __attribute__((always_inline)) VNNI_TARGET

int eng_cpu_has_vnni(void)
{
	return __builtin_cpu_supports("avx512vnni") && __builtin_cpu_supports("avx512vl") &&
	       __builtin_cpu_supports("avx512bw");
}

/* The int32 products of a row's block with x, four per lane. */
VNNI_INLINE __m256i row_dot(const void *row, int64_t ib, __m256i xv, int q4)
{
	if (q4) {
		const __m128i v = _mm_loadu_si128((const __m128i *)((const struct eng_block_q4_0 *)row + ib)->qs);
		const __m128i m4 = _mm_set1_epi8(0x0f);
		const __m256i qu = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4), _mm_and_si128(v, m4));
		return _mm256_dpbusd_epi32(_mm256_setzero_si256(), qu, xv);
	}
	const __m256i wq = _mm256_loadu_si256((const __m256i *)((const struct eng_block_q8_0 *)row + ib)->qs);
	return _mm256_dpbusd_epi32(_mm256_setzero_si256(), _mm256_sign_epi8(wq, wq), _mm256_sign_epi8(xv, wq));
}

VNNI_TARGET void eng_qtile8x1_vnni(int64_t nb, const void *const *wr, const void *xbv, const float *dx,
				   const int32_t *sx, float *res, int q4)
{
	const struct eng_block_q8_0 *xb = xbv;
	__m256 acc = _mm256_setzero_ps();
	for (int64_t ib = 0; ib < nb; ib++) {
		const __m256i xv = _mm256_loadu_si256((const __m256i *)xb[ib].qs);
		__m256i parts[8];
		for (int r = 0; r < 8; r++)
			parts[r] = row_dot(wr[r], ib, xv, q4);
		__m256i sumi = hsum8x8_epi32(parts);
		if (q4)
			sumi = _mm256_sub_epi32(sumi, _mm256_set1_epi32(sx[ib]));
		const __m128i dh = _mm_setr_epi16(blk_d(wr[0], ib, q4), blk_d(wr[1], ib, q4), blk_d(wr[2], ib, q4),
						  blk_d(wr[3], ib, q4), blk_d(wr[4], ib, q4), blk_d(wr[5], ib, q4),
						  blk_d(wr[6], ib, q4), blk_d(wr[7], ib, q4));
		const __m256 d = _mm256_mul_ps(f16x8_to_ps(dh), _mm256_set1_ps(dx[ib]));
		acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_cvtepi32_ps(sumi), d));
	}
	_mm256_storeu_ps(res, acc);
}

VNNI_TARGET void eng_qtile2x4_vnni(int64_t nb, const void *const *wr, const void *const *xtv, const float *dxv,
				   const int32_t *sxv, float *res, int q4)
{
	const struct eng_block_q8_0 *const *xt = (const struct eng_block_q8_0 *const *)xtv;
	const __m128i m4 = _mm_set1_epi8(0x0f);
	__m256 acc = _mm256_setzero_ps();
	for (int64_t ib = 0; ib < nb; ib++) {
		__m256i wq[2], wa[2], parts[8];
		for (int r = 0; r < 2; r++) {
			if (q4) {
				const __m128i v = _mm_loadu_si128((const __m128i *)((const struct eng_block_q4_0 *)wr[r] + ib)->qs);
				wq[r] = wa[r] = _mm256_set_m128i(_mm_and_si128(_mm_srli_epi16(v, 4), m4), _mm_and_si128(v, m4));
			} else {
				wq[r] = _mm256_loadu_si256((const __m256i *)((const struct eng_block_q8_0 *)wr[r] + ib)->qs);
				wa[r] = _mm256_sign_epi8(wq[r], wq[r]);
			}
		}
		for (int t = 0; t < 4; t++) {
			const __m256i xv = _mm256_loadu_si256((const __m256i *)xt[t][ib].qs);
			for (int r = 0; r < 2; r++)
				parts[t * 2 + r] = _mm256_dpbusd_epi32(_mm256_setzero_si256(), wa[r],
								       q4 ? xv : _mm256_sign_epi8(xv, wq[r]));
		}
		__m256i sumi = hsum8x8_epi32(parts);
		if (q4)
			sumi = _mm256_sub_epi32(sumi, _mm256_loadu_si256((const __m256i *)(sxv + 8 * ib)));
		const short d0 = blk_d(wr[0], ib, q4), d1 = blk_d(wr[1], ib, q4);
		const __m256 dw = f16x8_to_ps(_mm_setr_epi16(d0, d1, d0, d1, d0, d1, d0, d1));
		acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_cvtepi32_ps(sumi), _mm256_mul_ps(dw, _mm256_loadu_ps(dxv + 8 * ib))));
	}
	_mm256_storeu_ps(res, acc);
}
#else
int eng_cpu_has_vnni(void)
{
	return 0;
}
#endif
