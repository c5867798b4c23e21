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
#include <string.h>

#include "engine/cpu/kernels_int.h"
#include "engine/quants_int.h"
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

/* ---- Q8_0, Q4_0 and Q5_0 decode, two blocks of 8 rows a step on 512-bit registers ----
 *
 * ki_qtile8x1 spends most of a block's instructions on the 8 x 8 horizontal sum
 * (vphaddd) and the row scales; with the weights from memory that left Q4_0 decode
 * compute-bound on a Zen 5 host (57% of the read bandwidth, where F16 reads 90%). Here
 * a step takes blocks ib and ib + 1 of each of the 8 rows in the low and high 256 bits
 * of one register as unsigned bytes (Q4_0: two 128-bit broadcasts, a per-qword shift
 * and a mask unpack the 64 nibbles, bias 8; Q5_0: the same, plus 16 under a byte mask
 * made of the two blocks' qh words, bias 16; Q8_0: q + 128, the sign bit flipped, bias
 * 128; the bias comes off through the token's block sums sx, as in ki_qtile8x1), so one
 * vpdpbusd covers both blocks of a row. The 8 registers reduce to the 16 block sums
 * with 512-bit unpacks, and the 16 f16 scales convert in one instruction. Lanes are
 * in "S order": 4 x 4 lanes = block ib rows 0-3, block ib + 1 rows 0-3, block ib rows
 * 4-7, block ib + 1 rows 4-7. Per row the float steps are ki_qtile8x1's, block after
 * block: d = d_w * d_x, acc += (float)(sumi - sx) * d, block ib + 1's product added
 * after block ib's (a masked add of the products moved down a group), so the bits are
 * the same (tests/eng_kernels.c compares it with vec_dot_q8 and with the 256-bit tile;
 * adding the two blocks in the other order fails 12 checks there, Q8_0 without the
 * sign flip 24, Q5_0 with the qh words swapped 20). An odd last block goes alone.
 * bench --ab (Zen 5, tg64, 11-15 pairs): Q4_0 0.91-0.93x the time on 2 threads; Q8_0
 * 0.95x on 1 thread and no change on 2 (there the memory is the limit); SmolLM2's
 * "Q4_K_M" file (52% of its bytes Q5_0, 31% Q8_0) 0.94x on 2 threads. Tried first for
 * Q4_0: one masked 64-byte load per row for both blocks, vpermb to place the quant
 * bytes and vpermt2w to gather the scales from the same loads: 13% slower than
 * ki_qtile8x1. AVX512-F/BW/VL and VNNI only, as the other tiles here. */
VNNI_INLINE __m512i qx2_pair_sum(__m512i a, __m512i b)
{
	return _mm512_add_epi32(_mm512_unpacklo_epi32(a, b), _mm512_unpackhi_epi32(a, b));
}

/* The 16 block sums of 8 rows x 2 blocks (z[r]: row r's 16 vpdpbusd lanes, 0-7 block
 * ib, 8-15 block ib + 1) in S order. */
VNNI_INLINE __m512i qx2_hsum(const __m512i z[8])
{
	const __m512i s01 = qx2_pair_sum(z[0], z[1]), s23 = qx2_pair_sum(z[2], z[3]);
	const __m512i s45 = qx2_pair_sum(z[4], z[5]), s67 = qx2_pair_sum(z[6], z[7]);
	/* per 128-bit lane k: rows 0-3 (4-7) summed over that lane's 4 int32 of each row */
	const __m512i a = _mm512_add_epi32(_mm512_unpacklo_epi64(s01, s23), _mm512_unpackhi_epi64(s01, s23));
	const __m512i b = _mm512_add_epi32(_mm512_unpacklo_epi64(s45, s67), _mm512_unpackhi_epi64(s45, s67));
	/* 128-bit lanes 0+1 are block ib, 2+3 block ib + 1 */
	return _mm512_add_epi32(_mm512_shuffle_i32x4(a, b, 0x88), _mm512_shuffle_i32x4(a, b, 0xdd));
}

/* Rows' block ib and ib1 as 64 unsigned bytes, block ib in the low half: Q4_0's q
 * (0..15; bias 8), Q5_0's q (0..31; bias 16), Q8_0's q + 128 (0..255; bias 128, through
 * the sign bit). */
VNNI_INLINE __m512i qx2_unsigned(const void *row, int64_t ib, int64_t ib1, const int kind)
{
	const __m512i shift = _mm512_setr_epi64(0, 0, 4, 4, 0, 0, 4, 4);
	if (kind == KIND_Q4) {
		const struct eng_block_q4_0 *b = (const struct eng_block_q4_0 *)row;
		__m512i v = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)b[ib].qs));
		v = _mm512_mask_broadcast_i32x4(v, 0xff00, _mm_loadu_si128((const __m128i *)b[ib1].qs));
		return _mm512_and_si512(_mm512_srlv_epi64(v, shift), _mm512_set1_epi8(0x0f));
	}
	if (kind == KIND_Q5) { /* Q4_0's nibbles, and 16 where bit j of the block's qh is set */
		const struct blk_q5_0 *b = (const struct blk_q5_0 *)row;
		__m512i v = _mm512_broadcast_i32x4(_mm_loadu_si128((const __m128i *)b[ib].qs));
		v = _mm512_mask_broadcast_i32x4(v, 0xff00, _mm_loadu_si128((const __m128i *)b[ib1].qs));
		const __m512i q = _mm512_and_si512(_mm512_srlv_epi64(v, shift), _mm512_set1_epi8(0x0f));
		uint32_t h0, h1;
		memcpy(&h0, b[ib].qh, 4);
		memcpy(&h1, b[ib1].qh, 4);
		/* q <= 15, so adding 16 sets the fifth bit */
		return _mm512_mask_add_epi8(q, _cvtu64_mask64((uint64_t)h1 << 32 | h0), q, _mm512_set1_epi8(0x10));
	}
	const struct eng_block_q8_0 *b = (const struct eng_block_q8_0 *)row;
	const __m512i v = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)b[ib].qs)),
					     _mm256_loadu_si256((const __m256i *)b[ib1].qs), 1);
	return _mm512_xor_si512(v, _mm512_set1_epi8((char)0x80));
}

VNNI_INLINE void qx2_tile8x1(int64_t nb, const void *const *wr, const struct eng_block_q8_0 *xb, const float *dx,
			     const int32_t *sx, float *res, const char *pf, size_t pf_step, size_t ahead,
			     const int kind)
{
	const size_t bs = kind == KIND_Q4   ? sizeof(struct eng_block_q4_0)
			  : kind == KIND_Q5 ? sizeof(struct blk_q5_0)
					    : sizeof(struct eng_block_q8_0);
	__m512 acc = _mm512_setzero_ps();
	for (int64_t ib = 0; ib < nb; ib += 2) {
		const int two = ib + 1 < nb;
		const int64_t ib1 = two ? ib + 1 : ib;
		for (int64_t b = ib; pf && b <= ib1; b++)
			for (size_t o = 0; o < pf_step; o += 64)
				_mm_prefetch(pf + (size_t)b * pf_step + o, _MM_HINT_T0);
		if (ahead) /* a line per row a step, as ki_qtile8x1 every other block */
			for (int r = 0; r < 8; r++)
				_mm_prefetch((const char *)wr[r] + (size_t)ib * bs + ahead, _MM_HINT_T0);
		__m512i xv = _mm512_zextsi256_si512(_mm256_loadu_si256((const __m256i *)xb[ib].qs));
		if (two)
			xv = _mm512_inserti64x4(xv, _mm256_loadu_si256((const __m256i *)xb[ib1].qs), 1);
		__m512i z[8];
		uint16_t dh[16]; /* S order */
		for (int r = 0; r < 8; r++) {
			z[r] = _mm512_dpbusd_epi32(_mm512_setzero_si512(), qx2_unsigned(wr[r], ib, ib1, kind), xv);
			memcpy(&dh[(r & 4) * 2 + (r & 3)], (const char *)wr[r] + (size_t)ib * bs, 2);
			memcpy(&dh[(r & 4) * 2 + 4 + (r & 3)], (const char *)wr[r] + (size_t)ib1 * bs, 2);
		}
		const __m512i sxv = _mm512_mask_blend_epi32(0xf0f0, _mm512_set1_epi32(sx[ib]), _mm512_set1_epi32(sx[ib1]));
		const __m512 dxv = _mm512_mask_blend_ps(0xf0f0, _mm512_set1_ps(dx[ib]), _mm512_set1_ps(dx[ib1]));
		/* F16C's conversion, as f16x8_scales (signalling NaNs: kernels_int.h) */
		const __m512 d = _mm512_mul_ps(_mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)dh)), dxv);
		const __m512 p = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(qx2_hsum(z), sxv)), d);
		acc = _mm512_mask_add_ps(acc, 0x0f0f, acc, p);
		if (two) /* block ib + 1's products (groups 1, 3) moved onto groups 0, 2 */
			acc = _mm512_mask_add_ps(acc, 0x0f0f, acc, _mm512_shuffle_f32x4(p, p, 0xf5));
	}
	_mm_storeu_ps(res, _mm512_castps512_ps128(acc));
	_mm_storeu_ps(res + 4, _mm512_extractf32x4_ps(acc, 2));
}

static _Atomic int qx2_off;

void eng_cpu_qx2_disable(int off)
{
	atomic_store(&qx2_off, off);
}

int eng_cpu_has_qx2(void)
{
	return !atomic_load_explicit(&qx2_off, memory_order_relaxed) && eng_cpu_has_vnni();
}

VNNI_TARGET void eng_qtile8x1_vnni(int64_t nb, const void *const *wr, const void *xb, const float *dx,
				   const int32_t *sx, float *res, int kind, const char *pf, size_t pf_step, size_t ahead)
{
	/* one inlined body per kind, so that no branch on it is left in the loop; Q4_0 two
	 * blocks a step unless a test switched that off */
	const int x2 = !atomic_load_explicit(&qx2_off, memory_order_relaxed);
	if (kind == KIND_Q4 && x2)
		qx2_tile8x1(nb, wr, xb, dx, sx, res, pf, pf_step, ahead, KIND_Q4);
	else if (kind == KIND_Q8 && x2)
		qx2_tile8x1(nb, wr, xb, dx, sx, res, pf, pf_step, ahead, KIND_Q8);
	else if (kind == KIND_Q5 && x2)
		qx2_tile8x1(nb, wr, xb, dx, sx, res, pf, pf_step, ahead, KIND_Q5);
	else if (kind == KIND_Q4)
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
		ki_ilv_tile(nb, pk, xb, dxv, sxv, res, res_stride, 4, dot_acc_vnni, 1, 0);
		break;
	case 3:
		ki_ilv_tile(nb, pk, xb, dxv, sxv, res, res_stride, 3, dot_acc_vnni, 1, 0);
		break;
	case 2:
		ki_ilv_tile(nb, pk, xb, dxv, sxv, res, res_stride, 2, dot_acc_vnni, 1, 0);
		break;
	default:
		ki_ilv_tile(nb, pk, xb, dxv, sxv, res, res_stride, 1, dot_acc_vnni, 1, 0);
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
/* ---- Q4_K, Q5_K and Q6_K on 512-bit registers: single-row dots and the prefill tile ----
 *
 * quants_avx2.c's dots work 32 quants at a time (maddubs, then madd with the
 * sub-block's scale, then an add) and unpack the 6-bit scales and mins and sum the
 * mins times bsums in scalar code. Here a super-block unpacks (kv_unpack) into four
 * registers of 64 quants with their int16 scales: Q4_K/Q5_K two sub-blocks a register
 * (the low or the high nibbles of 64 quant bytes: sub-blocks 4h and 4h + 2, or 4h + 1
 * and 4h + 3), Q6_K 64 consecutive quants (ql's nibbles with qh's two bits); the token's
 * activations are laid out alike (kv_acts), vpdpwssd applies the scales and adds, the 12
 * scale bytes of Q4_K/Q5_K unpack with two byte shuffles and masks, and the mins (Q6_K:
 * 32 x the scales) meet bsums in one madd (kv_term). The integers (sumi = sum over
 * groups of sc * (q . y), summ = sum of mn * bsums) are exact either way, and the float
 * step is the AVX2 dots' and quants_tile.c's kblock expression, so the bits are the
 * same (tests/eng_quants.c and tests/eng_kernels.c compare them with the plain-C
 * references and, with VNNI switched off, the AVX2 kernels). */

/* Bytes 0-7: the 8 scales, 8-15: the 8 mins of a Q4_K/Q5_K super-block, as
 * quants_int.h's unpack_k_scales (reads 16 bytes from s: the quants follow). */
VNNI_INLINE __m128i k45_scales_mins(const uint8_t *s)
{
	const __m128i v = _mm_loadu_si128((const __m128i *)s);
	const __m128i l = _mm_shuffle_epi8(v, _mm_setr_epi8(0, 1, 2, 3, 8, 9, 10, 11, 4, 5, 6, 7, 8, 9, 10, 11));
	const __m128i h = _mm_shuffle_epi8(v, _mm_setr_epi8(-1, -1, -1, -1, 0, 1, 2, 3, -1, -1, -1, -1, 4, 5, 6, 7));
	/* sc[j], mn[j]: the low 6 bits; sc[j + 4]: s[j + 8] & 15, mn[j + 4]: s[j + 8] >> 4 */
	const __m128i low = _mm_and_si128(l, _mm_setr_epi8(63, 63, 63, 63, 15, 15, 15, 15, 63, 63, 63, 63, 0, 0, 0, 0));
	const __m128i high4 = _mm_and_si128(_mm_srli_epi16(l, 4),
					    _mm_setr_epi8(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 15, 15, 15, 15));
	/* sc[j + 4] and mn[j + 4] take bits 6-7 of s[j] and s[j + 4] as their bits 4-5 */
	const __m128i top = _mm_and_si128(_mm_srli_epi16(h, 2), _mm_setr_epi8(0, 0, 0, 0, 0x30, 0x30, 0x30, 0x30, 0, 0,
									 0, 0, 0x30, 0x30, 0x30, 0x30));
	return _mm_or_si128(_mm_or_si128(low, high4), top);
}

/* The prefill tile (kv_mdot) is quants_tile.c's mdot_k (KV_ROWS rows unpacked once per
 * super-block, then dotted with up to KV_TOKS tokens) on these registers: a (row, token)
 * pair takes 4 maddubs and 4 vpdpwssd where the AVX2 tile takes 8 maddubs, 8 madd and 8
 * adds. */
enum { KV_ROWS = 4, KV_TOKS = 16 };

struct kv_unp {
	__m512i q[4], s[4]; /* 64 unsigned quants and their scales (int16 lanes) */
	__m256i mn;         /* Q4_K/Q5_K: each group's min (pairs); Q6_K: 32 * its scale */
	float d, dmin;
};

VNNI_INLINE void kv_unpack(const void *row, int64_t ib, struct kv_unp *u, const int kt6, const int q5)
{
	if (kt6) {
		const struct blk_q6_K *w = (const struct blk_q6_K *)row + ib;
		const __m512i m4 = _mm512_set1_epi8(0x0f), m3 = _mm512_set1_epi8(0x30);
		const __m512i sh01 = _mm512_setr_epi64(0, 0, 0, 0, 2, 2, 2, 2), sh23 = _mm512_setr_epi64(4, 4, 4, 4, 6, 6, 6, 6);
		const __m512i group = _mm512_srli_epi16(
			_mm512_setr_epi64(0x0003000200010000, 0x0007000600050004, 0x000b000a00090008, 0x000f000e000d000c,
					  0x0013001200110010, 0x0017001600150014, 0x001b001a00190018, 0x001f001e001d001c),
			3);
		const __m256i scv = _mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)w->scales));
		for (int h = 0; h < 2; h++) {
			const __m512i l = _mm512_loadu_si512((const void *)(w->ql + 64 * h));
			const __m256i qh256 = _mm256_loadu_si256((const __m256i *)(w->qh + 32 * h));
			const __m512i qh = _mm512_inserti64x4(_mm512_castsi256_si512(qh256), qh256, 1);
			u->q[2 * h] = _mm512_or_si512(_mm512_and_si512(l, m4),
						      _mm512_and_si512(_mm512_slli_epi16(_mm512_srlv_epi64(qh, sh01), 4), m3));
			u->q[2 * h + 1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(l, 4), m4),
							  _mm512_and_si512(_mm512_slli_epi16(_mm512_srlv_epi64(qh, sh23), 4), m3));
			for (int p = 0; p < 2; p++)
				u->s[2 * h + p] = _mm512_permutexvar_epi16(
					_mm512_add_epi16(group, _mm512_set1_epi16((short)(8 * h + 4 * p))), _mm512_castsi256_si512(scv));
		}
		u->mn = _mm256_slli_epi16(scv, 5);
		u->d = _cvtsh_ss(w->d);
		u->dmin = 0.0f;
		return;
	}
	const struct blk_q4_K *b4k = (const struct blk_q4_K *)row + ib;
	const struct blk_q5_K *b5k = (const struct blk_q5_K *)row + ib;
	const __m512i m4 = _mm512_set1_epi8(0x0f), b4 = _mm512_set1_epi8(0x10);
	const __m128i sm = k45_scales_mins(q5 ? b5k->scales : b4k->scales);
	const __m512i sc = _mm512_castsi256_si512(_mm256_cvtepu8_epi16(sm));
	const uint8_t *qs = q5 ? b5k->qs : b4k->qs;
	for (int h = 0; h < 2; h++) {
		const __m512i bits = _mm512_loadu_si512((const void *)(qs + 64 * h));
		__m512i lo = _mm512_and_si512(bits, m4), hi = _mm512_and_si512(_mm512_srli_epi16(bits, 4), m4);
		if (q5) { /* bit k of qh[l] is 16 of sub-block k's quant l: bits 4h (+ 2) and the next
			   * come down to bits 0-1 of each byte (a shift of at most 6 stays in the byte) */
			const __m256i qh = _mm256_loadu_si256((const __m256i *)b5k->qh);
			const __m512i sh = _mm512_inserti64x4(_mm512_set1_epi64(4 * h), _mm256_set1_epi64x(4 * h + 2), 1);
			const __m512i hb = _mm512_srlv_epi64(_mm512_inserti64x4(_mm512_castsi256_si512(qh), qh, 1), sh);
			lo = _mm512_or_si512(lo, _mm512_and_si512(_mm512_slli_epi16(hb, 4), b4));
			hi = _mm512_or_si512(hi, _mm512_and_si512(_mm512_slli_epi16(hb, 3), b4));
		}
		u->q[2 * h] = lo;
		u->q[2 * h + 1] = hi;
		/* sub-blocks 4h | 4h + 2 and 4h + 1 | 4h + 3 */
		for (int p = 0; p < 2; p++)
			u->s[2 * h + p] = _mm512_permutexvar_epi16(
				_mm512_inserti64x4(_mm512_set1_epi16((short)(4 * h + p)), _mm256_set1_epi16((short)(4 * h + p + 2)), 1), sc);
	}
	u->mn = _mm256_cvtepu8_epi16(_mm_shuffle_epi8(sm, _mm_setr_epi8(8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13, 14, 14, 15, 15)));
	u->d = _cvtsh_ss(q5 ? b5k->d : b4k->d);
	u->dmin = _cvtsh_ss(q5 ? b5k->dmin : b4k->dmin);
}

/* A token's 256 activations of super-block ib in the quants' layout. */
VNNI_INLINE void kv_acts(const struct eng_block_q8_K *a, __m512i y[4], const int kt6)
{
	for (int h = 0; h < 2; h++) {
		const int8_t *p = a->qs + 128 * h;
		if (kt6) {
			y[2 * h] = _mm512_loadu_si512((const void *)p);
			y[2 * h + 1] = _mm512_loadu_si512((const void *)(p + 64));
		} else {
			y[2 * h] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)p)),
						      _mm256_loadu_si256((const __m256i *)(p + 64)), 1);
			y[2 * h + 1] = _mm512_inserti64x4(_mm512_castsi256_si512(_mm256_loadu_si256((const __m256i *)(p + 32))),
							  _mm256_loadu_si256((const __m256i *)(p + 96)), 1);
		}
	}
}

VNNI_INLINE int kv_hsum(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
	return _mm_cvtsi128_si32(_mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1)));
}

/* The super-block's term of one (row, token) pair added to *acc: kblock's float step. */
VNNI_INLINE void kv_term(const struct kv_unp *u, const __m512i y[4], const struct eng_block_q8_K *a, float *acc,
			 const int kt6)
{
	__m512i s = _mm512_setzero_si512();
	for (int k = 0; k < 4; k++)
		s = _mm512_dpwssd_epi32(s, _mm512_maddubs_epi16(u->q[k], y[k]), u->s[k]);
	const int sumi = _mm512_reduce_add_epi32(s);
	const int summ = kv_hsum(_mm256_madd_epi16(u->mn, _mm256_loadu_si256((const __m256i *)a->bsums)));
	if (kt6)
		*acc += u->d * a->d * (float)(sumi - summ);
	else
		*acc += u->d * a->d * (float)sumi - u->dmin * a->d * (float)summ;
}

/* A single-row dot (Q4_K, Q5_K or Q6_K), super-block after super-block. */
VNNI_INLINE float kv_dot(int64_t n, const void *row, const void *xq, const int kt6, const int q5)
{
	const struct eng_block_q8_K *a = xq;
	float sumf = 0.0f;
	for (int64_t ib = 0; ib < n / QK_K; ib++) {
		struct kv_unp u;
		__m512i y[4];
		kv_unpack(row, ib, &u, kt6, q5);
		kv_acts(a + ib, y, kt6);
		kv_term(&u, y, a + ib, &sumf, kt6);
	}
	return sumf;
}

VNNI_INLINE void kv_mdot(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq, size_t x_stride,
			 int n_tok, float *out, size_t out_stride, const int kt6, const int q5)
{
	const int64_t nb = n / QK_K;
	struct kv_unp u[KV_ROWS];
	float acc[KV_ROWS * KV_TOKS];
	for (int r0 = 0; r0 < n_rows; r0 += KV_ROWS) {
		const int nr = n_rows - r0 < KV_ROWS ? n_rows - r0 : KV_ROWS;
		for (int t0 = 0; t0 < n_tok; t0 += KV_TOKS) {
			const int nt = n_tok - t0 < KV_TOKS ? n_tok - t0 : KV_TOKS;
			for (int i = 0; i < KV_ROWS * KV_TOKS; i++)
				acc[i] = 0.0f;
			for (int64_t ib = 0; ib < nb; ib++) {
				for (int r = 0; r < nr; r++)
					kv_unpack((const char *)w + (size_t)(r0 + r) * w_stride, ib, &u[r], kt6, q5);
				for (int t = 0; t < nt; t++) {
					const struct eng_block_q8_K *a =
						(const struct eng_block_q8_K *)((const char *)xq + (size_t)(t0 + t) * x_stride) + ib;
					__m512i y[4];
					kv_acts(a, y, kt6);
					for (int r = 0; r < nr; r++)
						kv_term(&u[r], y, a, &acc[r * KV_TOKS + t], kt6);
				}
			}
			for (int t = 0; t < nt; t++)
				for (int r = 0; r < nr; r++)
					out[(size_t)(t0 + t) * out_stride + (size_t)(r0 + r)] = acc[r * KV_TOKS + t];
		}
	}
}

/* ---- Q4_K, Q5_K and Q6_K prefill on interleaved rows: 16 rows in the lanes ----
 *
 * kv_mdot ends every (row, token, super-block) in a 16-lane horizontal sum and a scalar
 * float step. Here 16 rows are unpacked once per call (klv_pack) into one unsigned quant
 * byte each and interleaved: for each 4-element chunk k of a super-block, 64 bytes hold
 * the 4 quants of each of the 16 rows (row r at bytes 4r..4r+3), as kernels_int.h's
 * ki_ilv tiles do for Q8_0. Then one vpdpbusd with a token's 4 activation bytes
 * broadcast adds 4 products to each row's group sum; the chunks of a scale group (8 for
 * Q4_K/Q5_K's 32-element sub-blocks, 4 for Q6_K's 16-element groups) make its sum, a
 * vpmulld applies the 16 rows' scales, and the mins (Q4_K/Q5_K) or 32 x the scales
 * (Q6_K) meet the token's bsums the same way. Lane r ends with row r's exact sumi and
 * summ, and the float step runs in the lanes with kblock's expression per row (Q4_K,
 * Q5_K: acc + ((d * d_x) * sumi - (dmin * d_x) * summ); Q6_K: acc + (d * d_x) * (sumi -
 * summ)), so the bits are the same (tests/eng_kernels.c: a product reassociated fails
 * 4 checks, Q5_K's fifth bit from the wrong qh bit 4). Calls with fewer than
 * KLV_MIN_TOK tokens keep kv_mdot (the unpacking is paid once per call and group of
 * tokens; the packed rows, up to KLV_MAX_BLOCKS super-blocks, live on the stack). */
enum { KLV_ROWS = 16, KLV_MIN_TOK = 8, KLV_MAX_BLOCKS = 16 };

struct klv_block { /* one super-block of 16 rows */
	uint8_t q[64][64];            /* [4-element chunk][row r's 4 quants at bytes 4r..4r+3] */
	int32_t sc[16][16], mn[16][16]; /* [scale group][row] */
	float d[16], dmin[16];
};

/* Row r of super-block ib into b: quants in element order, scales and mins. */
VNNI_INLINE void klv_row(const char *row, int64_t ib, int r, struct klv_block *b, const int kt6, const int q5)
{
	_Alignas(64) uint8_t q[QK_K]; /* element order, unsigned */
	if (kt6) {
		const struct blk_q6_K *w = (const struct blk_q6_K *)row + ib;
		for (int h = 0; h < 2; h++)
			for (int l = 0; l < 32; l++) {
				const uint8_t *ql = w->ql + 64 * h, hb = w->qh[32 * h + l];
				q[128 * h + l] = (uint8_t)((ql[l] & 15) | (hb & 3) << 4);
				q[128 * h + 32 + l] = (uint8_t)((ql[l + 32] & 15) | ((hb >> 2) & 3) << 4);
				q[128 * h + 64 + l] = (uint8_t)((ql[l] >> 4) | ((hb >> 4) & 3) << 4);
				q[128 * h + 96 + l] = (uint8_t)((ql[l + 32] >> 4) | ((hb >> 6) & 3) << 4);
			}
		for (int g = 0; g < 16; g++) {
			b->sc[g][r] = w->scales[g];
			b->mn[g][r] = 32 * w->scales[g];
		}
		b->d[r] = _cvtsh_ss(w->d);
		b->dmin[r] = 0.0f;
	} else {
		const struct blk_q4_K *b4k = (const struct blk_q4_K *)row + ib;
		const struct blk_q5_K *b5k = (const struct blk_q5_K *)row + ib;
		const uint8_t *qs = q5 ? b5k->qs : b4k->qs;
		for (int m = 0; m < 4; m++) /* sub-block 2m: low nibbles, 2m + 1: high; Q5_K: bit k of qh[l] is 16 */
			for (int l = 0; l < 32; l++) {
				q[64 * m + l] = (uint8_t)((qs[32 * m + l] & 15) | (q5 ? ((b5k->qh[l] >> (2 * m)) & 1) << 4 : 0));
				q[64 * m + 32 + l] =
					(uint8_t)((qs[32 * m + l] >> 4) | (q5 ? ((b5k->qh[l] >> (2 * m + 1)) & 1) << 4 : 0));
			}
		_Alignas(16) uint8_t sm[16];
		_mm_store_si128((__m128i *)sm, k45_scales_mins(q5 ? b5k->scales : b4k->scales));
		for (int j = 0; j < 8; j++) {
			b->sc[j][r] = sm[j];
			b->mn[j][r] = sm[8 + j];
		}
		b->d[r] = _cvtsh_ss(q5 ? b5k->d : b4k->d);
		b->dmin[r] = _cvtsh_ss(q5 ? b5k->dmin : b4k->dmin);
	}
	for (int k = 0; k < 64; k++)
		memcpy(&b->q[k][4 * r], &q[4 * k], 4);
}

/* Rows r0.. of w (nr of them; the rest copies of the last), super-blocks 0..nb-1. */
VNNI_INLINE void klv_pack(const void *w, size_t w_stride, int r0, int nr, int64_t nb, struct klv_block *pk,
			  const int kt6, const int q5)
{
	for (int r = 0; r < KLV_ROWS; r++) {
		const char *row = (const char *)w + (size_t)(r0 + (r < nr ? r : nr - 1)) * w_stride;
		for (int64_t ib = 0; ib < nb; ib++)
			klv_row(row, ib, r, &pk[ib], kt6, q5);
	}
}

/* The 16 rows of pk (super-blocks 0..nb-1 of a) x one token, added in order to the 16
 * sums at acc_io. */
VNNI_INLINE void klv_tile(int64_t nb, const struct klv_block *pk, const struct eng_block_q8_K *a, float *acc_io,
			  const int kt6)
{
	const int groups = kt6 ? 16 : 8, chunks = 64 / groups;
	__m512 acc = _mm512_loadu_ps(acc_io);
	for (int64_t ib = 0; ib < nb; ib++) {
		const struct klv_block *b = &pk[ib];
		const int8_t *y = a[ib].qs;
		__m512i sumi = _mm512_setzero_si512(), summ = _mm512_setzero_si512();
		for (int g = 0; g < groups; g++) {
			__m512i p = _mm512_setzero_si512();
			for (int c = 0; c < chunks; c++) {
				int32_t y4;
				memcpy(&y4, y + 4 * (chunks * g + c), 4);
				p = _mm512_dpbusd_epi32(p, _mm512_load_si512((const void *)b->q[chunks * g + c]),
							_mm512_set1_epi32(y4));
			}
			sumi = _mm512_add_epi32(sumi, _mm512_mullo_epi32(p, _mm512_load_si512((const void *)b->sc[g])));
			/* Q6_K: its 16-element group's bsum; Q4_K/Q5_K: the sub-block's two */
			const int bsum = kt6 ? a[ib].bsums[g] : a[ib].bsums[2 * g] + a[ib].bsums[2 * g + 1];
			summ = _mm512_add_epi32(summ, _mm512_mullo_epi32(_mm512_load_si512((const void *)b->mn[g]),
									 _mm512_set1_epi32(bsum)));
		}
		const __m512 dx = _mm512_set1_ps(a[ib].d);
		const __m512 ddx = _mm512_mul_ps(_mm512_load_ps(b->d), dx);
		if (kt6) {
			acc = _mm512_add_ps(acc, _mm512_mul_ps(ddx, _mm512_cvtepi32_ps(_mm512_sub_epi32(sumi, summ))));
		} else {
			const __m512 t1 = _mm512_mul_ps(ddx, _mm512_cvtepi32_ps(sumi));
			const __m512 t2 = _mm512_mul_ps(_mm512_mul_ps(_mm512_load_ps(b->dmin), dx), _mm512_cvtepi32_ps(summ));
			acc = _mm512_add_ps(acc, _mm512_sub_ps(t1, t2));
		}
	}
	_mm512_storeu_ps(acc_io, acc);
}

/* 0 where this call is not for the interleaved tile (then kv_mdot runs). Rows longer
 * than KLV_MAX_BLOCKS super-blocks go a piece of that many at a time, for up to
 * KLV_TOKS tokens at a time, whose sums carry from piece to piece (stored and reloaded
 * floats: the same additions in the same order). */
enum { KLV_TOKS = 64 };
VNNI_INLINE int klv_mdot(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq, size_t x_stride,
			 int n_tok, float *out, size_t out_stride, const int kt6, const int q5)
{
	const int64_t nb = n / QK_K;
	if (n_tok < KLV_MIN_TOK || nb == 0)
		return 0;
	const size_t bs = kt6 ? sizeof(struct blk_q6_K) : q5 ? sizeof(struct blk_q5_K) : sizeof(struct blk_q4_K);
	_Alignas(64) struct klv_block pk[KLV_MAX_BLOCKS];
	_Alignas(64) float acc[KLV_TOKS][KLV_ROWS];
	for (int r0 = 0; r0 < n_rows; r0 += KLV_ROWS) {
		const int nr = n_rows - r0 < KLV_ROWS ? n_rows - r0 : KLV_ROWS;
		for (int t0 = 0; t0 < n_tok; t0 += KLV_TOKS) {
			const int nt = n_tok - t0 < KLV_TOKS ? n_tok - t0 : KLV_TOKS;
			memset(acc, 0, sizeof acc);
			for (int64_t b0 = 0; b0 < nb; b0 += KLV_MAX_BLOCKS) {
				const int64_t pb = nb - b0 < KLV_MAX_BLOCKS ? nb - b0 : KLV_MAX_BLOCKS;
				klv_pack((const char *)w + (size_t)b0 * bs, w_stride, r0, nr, pb, pk, kt6, q5);
				for (int t = 0; t < nt; t++)
					klv_tile(pb, pk,
						 (const struct eng_block_q8_K *)((const char *)xq + (size_t)(t0 + t) * x_stride) +
							 b0,
						 acc[t], kt6);
			}
			for (int t = 0; t < nt; t++)
				memcpy(out + (size_t)(t0 + t) * out_stride + (size_t)r0, acc[t], (size_t)nr * sizeof(float));
		}
	}
	return 1;
}

int eng_mdot_k_whole_rows(uint32_t type, int n_tok)
{
	return n_tok >= KLV_MIN_TOK && (type == ENG_TYPE_Q4_K || type == ENG_TYPE_Q5_K || type == ENG_TYPE_Q6_K) &&
	       eng_cpu_has_vnni();
}

VNNI_TARGET void eng_mdot_k_vnni(uint32_t type, int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
				 size_t x_stride, int n_tok, float *out, size_t out_stride)
{
	if (type == ENG_TYPE_Q6_K && klv_mdot(n, w, w_stride, n_rows, xq, x_stride, n_tok, out, out_stride, 1, 0))
		return;
	if ((type == ENG_TYPE_Q4_K || type == ENG_TYPE_Q5_K) &&
	    klv_mdot(n, w, w_stride, n_rows, xq, x_stride, n_tok, out, out_stride, 0, type == ENG_TYPE_Q5_K))
		return;
	if (type == ENG_TYPE_Q6_K)
		kv_mdot(n, w, w_stride, n_rows, xq, x_stride, n_tok, out, out_stride, 1, 0);
	else if (type == ENG_TYPE_Q5_K)
		kv_mdot(n, w, w_stride, n_rows, xq, x_stride, n_tok, out, out_stride, 0, 1);
	else
		kv_mdot(n, w, w_stride, n_rows, xq, x_stride, n_tok, out, out_stride, 0, 0);
}

VNNI_TARGET float eng_vec_dot_q6_K_q8_K_vnni(int64_t n, const void *row, const void *xq)
{
	return kv_dot(n, row, xq, 1, 0);
}

VNNI_TARGET float eng_vec_dot_q4_K_q8_K_vnni(int64_t n, const void *row, const void *xq)
{
	return kv_dot(n, row, xq, 0, 0);
}

VNNI_TARGET float eng_vec_dot_q5_K_q8_K_vnni(int64_t n, const void *row, const void *xq)
{
	return kv_dot(n, row, xq, 0, 1);
}
#else
void eng_cpu_vnni_disable(int off)
{
	(void)off;
}

void eng_cpu_qx2_disable(int off)
{
	(void)off;
}

int eng_mdot_k_whole_rows(uint32_t type, int n_tok)
{
	(void)type, (void)n_tok;
	return 0;
}

int eng_cpu_has_qx2(void)
{
	return 0;
}

int eng_cpu_has_vnni(void)
{
	return 0;
}
#endif
