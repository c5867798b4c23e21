/* kernels_int.h — SIMD helpers shared by kernels.c and kernels_vnni.c; internal to engine/cpu/.
 *
 * Plain always-inline AVX2/F16C functions: they inline into kernels_vnni.c's
 * AVX-512 target functions too (a callee's instruction set may be a subset of
 * its caller's), so both files use one copy.
 */
#ifndef MRL_ENG_CPU_KERNELS_INT_H
#define MRL_ENG_CPU_KERNELS_INT_H

#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>
#include <stdint.h>
#include <string.h>

#include "engine/quants_int.h"
#include "engine/types.h"

#define KI_INLINE static inline __attribute__((always_inline))

/* Lane j of the result is the sum of the eight lanes of v[j] (exact integers). */
KI_INLINE __m256i hsum8x8_epi32(const __m256i v[8])
{
	__m256i a01 = _mm256_hadd_epi32(v[0], v[1]), a23 = _mm256_hadd_epi32(v[2], v[3]);
	__m256i a45 = _mm256_hadd_epi32(v[4], v[5]), a67 = _mm256_hadd_epi32(v[6], v[7]);
	__m256i b0 = _mm256_hadd_epi32(a01, a23), b1 = _mm256_hadd_epi32(a45, a67);
	return _mm256_add_epi32(_mm256_permute2x128_si256(b0, b1, 0x20), _mm256_permute2x128_si256(b0, b1, 0x31));
}

/* Eight f16 values as floats, bit-identical to eng_f16_to_f32: F16C agrees with it on
 * every half but signalling NaNs (it quiets them), which take the scalar conversion. */
KI_INLINE __m256 f16x8_to_ps(__m128i h)
{
	__m128i snan = _mm_and_si128(_mm_cmpeq_epi16(_mm_and_si128(h, _mm_set1_epi16(0x7e00)), _mm_set1_epi16(0x7c00)),
				     _mm_xor_si128(_mm_cmpeq_epi16(_mm_and_si128(h, _mm_set1_epi16(0x01ff)),
								   _mm_setzero_si128()),
						   _mm_set1_epi16(-1)));
	if (__builtin_expect(_mm_testz_si128(snan, snan), 1))
		return _mm256_cvtph_ps(h);
	uint16_t hs[8];
	float f[8];
	_mm_storeu_si128((__m128i *)hs, h);
	for (int k = 0; k < 8; k++)
		f[k] = eng_f16_to_f32(hs[k]);
	return _mm256_loadu_ps(f);
}

/* The weight kinds of the tiles below: Q8_0, Q4_0 (q - 8), Q5_0 (q - 16). */
enum { KIND_Q8 = 0, KIND_Q4 = 1, KIND_Q5 = 2 };

/* The block's d of row r. */
KI_INLINE short blk_d(const void *row, int64_t ib, const int kind)
{
	uint16_t h;
	if (kind == KIND_Q4)
		memcpy(&h, &((const struct eng_block_q4_0 *)row)[ib].d, 2);
	else if (kind == KIND_Q5)
		memcpy(&h, &((const struct blk_q5_0 *)row)[ib].d, 2);
	else
		memcpy(&h, &((const struct eng_block_q8_0 *)row)[ib].d, 2);
	return (short)h;
}

#endif

#endif
