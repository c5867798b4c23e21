/* kernels_vnni.c — the Q8_0/Q4_0/Q5_0 tiles of kernels.c with AVX-512 VNNI's vpdpbusd.
 *
 * One binary serves AVX2-only and AVX-512 machines: these functions carry their
 * own target attribute (so they compile under any x86-64 -march) and kernels.c
 * calls them only where eng_cpu_has_vnni() says the CPU has AVX512-VNNI and
 * AVX512-VL (CPUID at run time, through __builtin_cpu_supports).
 *
 * vpdpbusd sums four unsigned x signed byte products into an int32 lane without
 * the int16 step of maddubs + madd, so a block's 32 products need one instruction
 * (Q4_0 / Q5_0: the quants unsigned as they are, the bias applied through the
 * token's block sum as in kernels.c; Q8_0: |w| and x with w's sign). The tile
 * bodies are kernels_int.h's, the same as kernels.c's AVX2 tiles with only the
 * row dot swapped, so the integers are exact either way, the float steps are the
 * same, and the results are bit-identical to the AVX2 tiles and the single-row
 * kernels (tests/eng_kernels.c runs them on a VNNI machine and says which path it took).
 */
#include "engine/cpu/kernels.h"

#include <stdatomic.h>

#include "engine/cpu/kernels_int.h"
#include "engine/types.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__F16C__) && defined(__GNUC__)
#include <immintrin.h>

#define VNNI_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define VNNI_INLINE static inline __attribute__((always_inline)) VNNI_TARGET

static _Atomic int vnni_off;

void eng_cpu_vnni_disable(int off)
{
	atomic_store(&vnni_off, off);
}

int eng_cpu_has_vnni(void)
{
	return !atomic_load_explicit(&vnni_off, memory_order_relaxed) && __builtin_cpu_supports("avx512vnni") &&
	       __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw");
}

/* vpdpbusd: four unsigned x signed byte products summed into each int32 lane. */
VNNI_INLINE __m256i dot_vnni(__m256i a_unsigned, __m256i b_signed)
{
	return _mm256_dpbusd_epi32(_mm256_setzero_si256(), a_unsigned, b_signed);
}

VNNI_TARGET void eng_qtile8x1_vnni(int64_t nb, const void *const *wr, const void *xb, const float *dx,
				   const int32_t *sx, float *res, int kind, const char *pf, size_t pf_step, size_t ahead)
{
	/* one inlined body per kind, so that no branch on it is left in the loop */
	if (kind == KIND_Q4)
		ki_qtile8x1(nb, wr, xb, dx, sx, res, KIND_Q4, pf, pf_step, ahead, dot_vnni);
	else if (kind == KIND_Q5)
		ki_qtile8x1(nb, wr, xb, dx, sx, res, KIND_Q5, pf, pf_step, ahead, dot_vnni);
	else
		ki_qtile8x1(nb, wr, xb, dx, sx, res, KIND_Q8, pf, pf_step, ahead, dot_vnni);
}

VNNI_TARGET void eng_qtile2x4_vnni(int64_t nb, const void *const *wr, const void *const *xt, const float *dxv,
				   const int32_t *sxv, float *res, int kind)
{
	const struct eng_block_q8_0 *const *xb = (const struct eng_block_q8_0 *const *)xt;
	if (kind == KIND_Q4)
		ki_qtile2x4(nb, wr, xb, dxv, sxv, res, KIND_Q4, dot_vnni);
	else if (kind == KIND_Q5)
		ki_qtile2x4(nb, wr, xb, dxv, sxv, res, KIND_Q5, dot_vnni);
	else
		ki_qtile2x4(nb, wr, xb, dxv, sxv, res, KIND_Q8, dot_vnni);
}

VNNI_INLINE __m256i dot_acc_vnni(__m256i acc, __m256i a_unsigned, __m256i b_signed)
{
	return _mm256_dpbusd_epi32(acc, a_unsigned, b_signed);
}

VNNI_TARGET void eng_ilv_tile_vnni(int64_t nb, const uint8_t *pk, const void *const *xt, const float *dxv,
				   const int32_t *sxv, float *res, size_t res_stride, int nt)
{
	const struct eng_block_q8_0 *const *xb = (const struct eng_block_q8_0 *const *)xt;
	switch (nt) { /* one inlined body per token count */
	case 4:
		ki_ilv_tile(nb, pk, xb, dxv, sxv, res, res_stride, 4, dot_acc_vnni);
		break;
	case 3:
		ki_ilv_tile(nb, pk, xb, dxv, sxv, res, res_stride, 3, dot_acc_vnni);
		break;
	case 2:
		ki_ilv_tile(nb, pk, xb, dxv, sxv, res, res_stride, 2, dot_acc_vnni);
		break;
	default:
		ki_ilv_tile(nb, pk, xb, dxv, sxv, res, res_stride, 1, dot_acc_vnni);
		break;
	}
}
/* ki_ilv_tile on 512-bit registers: 16 rows a register, so one vpdpbusd does the work
 * of two 256-bit ones (Ice Lake server issues either at two a cycle; Zen 4 splits the
 * 512-bit one, so there it is a wash). Lane r: s = -sx, s += the four-product sums of the
 * 8 vectors (exact), acc += (float)s * (d_w * d_x): ki_ilv_tile's steps, so the same bits. */
VNNI_INLINE void ilv16_tile(int64_t nb, const uint8_t *pk, const struct eng_block_q8_0 *const *xt,
			    const float *dxv, const int32_t *sxv, float *res, size_t res_stride, const int T)
{
	__m512 acc[4];
	for (int t = 0; t < T; t++)
		acc[t] = _mm512_setzero_ps();
	for (int64_t ib = 0; ib < nb; ib++) {
		const uint8_t *b = pk + (size_t)ib * ENG_ILV16_BLOCK;
		__m512i s[4];
		for (int t = 0; t < T; t++)
			s[t] = _mm512_set1_epi32(-sxv[8 * ib + 2 * t]);
		for (int g = 0; g < 8; g++) {
			const __m512i wv = _mm512_load_si512((const void *)(b + 64 * g));
			for (int t = 0; t < T; t++) {
				int32_t x4;
				memcpy(&x4, xt[t][ib].qs + 4 * g, 4);
				s[t] = _mm512_dpbusd_epi32(s[t], wv, _mm512_set1_epi32(x4));
			}
		}
		const __m512 dw = _mm512_load_ps((const void *)(b + 512));
		for (int t = 0; t < T; t++) {
			const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(dxv[8 * ib + 2 * t]));
			acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(_mm512_cvtepi32_ps(s[t]), d));
		}
	}
	for (int t = 0; t < T; t++)
		_mm512_storeu_ps(res + res_stride * (size_t)t, acc[t]);
}

VNNI_TARGET void eng_ilv16_tile_vnni(int64_t nb, const uint8_t *pk, const void *const *xt, const float *dxv,
				     const int32_t *sxv, float *res, size_t res_stride, int nt)
{
	const struct eng_block_q8_0 *const *xb = (const struct eng_block_q8_0 *const *)xt;
	switch (nt) { /* one inlined body per token count */
	case 4:
		ilv16_tile(nb, pk, xb, dxv, sxv, res, res_stride, 4);
		break;
	case 3:
		ilv16_tile(nb, pk, xb, dxv, sxv, res, res_stride, 3);
		break;
	case 2:
		ilv16_tile(nb, pk, xb, dxv, sxv, res, res_stride, 2);
		break;
	default:
		ilv16_tile(nb, pk, xb, dxv, sxv, res, res_stride, 1);
		break;
	}
}
#else
void eng_cpu_vnni_disable(int off)
{
	(void)off;
}

int eng_cpu_has_vnni(void)
{
	return 0;
}
#endif
