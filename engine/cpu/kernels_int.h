/* kernels_int.h — SIMD helpers (kernels.c, kernels_vnni.c and kernels_q32.c) and the
 * Q8_0/Q4_0/Q5_0 (and, interleaved, IQ4_NL) tile bodies shared by kernels.c and
 * kernels_vnni.c; internal to engine/cpu/.
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

/* Eight f16 block scales as floats, for a multiply. F16C agrees with eng_f16_to_f32
 * on every half but signalling NaNs, which it quiets where eng_f16_to_f32 keeps them;
 * the tiles only ever use the result as a factor whose partner is never a NaN (a
 * token's scale, a float sum), and a multiply quiets a signalling NaN the same way,
 * so the products have the same bits either way (tests/eng_kernels.c puts a
 * signalling-NaN scale into a row). */
KI_INLINE __m256 f16x8_scales(__m128i h)
{
	return _mm256_cvtph_ps(h);
}

/* Where token t's group starts in eng_q8_tables_fill's tables (kernels.h), in floats:
 * per group of four tokens, nb blocks of 8 float lanes (the scales), then nb blocks
 * of 8 32-bit lanes (the sums); token t owns lanes 2 (t % 4) and 2 (t % 4) + 1. */
KI_INLINE size_t ki_table_group(int t, int64_t nb)
{
	return (size_t)(t / 4) * 16 * (size_t)nb;
}

/* The weight kinds of the tiles below: Q8_0, Q4_0 (q - 8), Q5_0 (q - 16), and IQ4_NL
 * (its level of q, + 128 unsigned; Q4_0's block layout; only the interleaved tiles with
 * VNNI take it: kernels.c's tabled_kind). */
enum { KIND_Q8 = 0, KIND_Q4 = 1, KIND_Q5 = 2, KIND_IQ4 = 3 };

/* The block's d of row r. */
KI_INLINE short blk_d(const void *row, int64_t ib, const int kind)
{
	uint16_t h;
	_Static_assert(sizeof(struct blk_iq4_nl) == sizeof(struct eng_block_q4_0), "IQ4_NL blocks are Q4_0's");
	if (kind == KIND_Q4 || kind == KIND_IQ4)
		memcpy(&h, &((const struct eng_block_q4_0 *)row)[ib].d, 2);
	else if (kind == KIND_Q5)
		memcpy(&h, &((const struct blk_q5_0 *)row)[ib].d, 2);
	else
		memcpy(&h, &((const struct eng_block_q8_0 *)row)[ib].d, 2);
	return (short)h;
}

/* The int32 partial sums (four products a lane) of an unsigned byte vector with a
 * signed one: maddubs + madd (AVX2) or vpdpbusd (kernels_vnni.c). The tiles below
 * take one as a constant argument; both callers' tiles inline it. */
typedef __m256i (*ki_dot_fn)(__m256i a_unsigned, __m256i b_signed);

/* The 32 quants of a Q4_0 (0..15), Q5_0 (0..31) or IQ4_NL (its levels + 128: 1..241)
 * block, unsigned, in element order, from one 128-bit broadcast load and a per-half
 * variable shift (IQ4_NL: then a byte shuffle through the 16 levels). */
KI_INLINE __m256i w_unsigned(const void *row, int64_t ib, const int kind)
{
	const uint8_t *qs = kind == KIND_Q5 ? ((const struct blk_q5_0 *)row + ib)->qs
					    : ((const struct eng_block_q4_0 *)row + ib)->qs;
	const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
	const __m256i q = _mm256_and_si256(_mm256_srlv_epi64(v, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(0x0f));
	if (kind == KIND_Q4)
		return q;
	if (kind == KIND_IQ4) {
		_Alignas(16) uint8_t lv[16];
		for (int j = 0; j < 16; j++)
			lv[j] = (uint8_t)(iq4nl_values[j] + 128);
		return _mm256_shuffle_epi8(_mm256_broadcastsi128_si256(_mm_load_si128((const __m128i *)lv)), q);
	}
	return _mm256_or_si256(q, q5_high_bits(((const struct blk_q5_0 *)row + ib)->qh));
}

/* The partial sums of block ib of a row with the token's quants xv: Q8_0 as |w| and
 * x with w's sign; Q4_0 / Q5_0 with the unsigned quants (the bias comes off through
 * the token's block sum). */
KI_INLINE __m256i row_parts(const void *row, int64_t ib, __m256i xv, const int kind, const ki_dot_fn dot)
{
	if (kind)
		return dot(w_unsigned(row, ib, kind), xv);
	const __m256i wq = _mm256_loadu_si256((const __m256i *)((const struct eng_block_q8_0 *)row + ib)->qs);
	return dot(_mm256_sign_epi8(wq, wq), _mm256_sign_epi8(xv, wq));
}

/* Decode: 8 rows x 1 token, lane r (kernels.c's mdot_q8). The token's block scales
 * (dx) and, for Q4_0 / Q5_0, bias * its block sums (sx) come converted; a weight q -
 * bias is used as the unsigned q, sum (q - bias) * x being sum q * x - bias * sum x
 * exactly, which saves the two sign operations per row. The eight row scales are
 * gathered straight into a vector. Per lane: sumf += (float)sumi * (d_w * d_x), the
 * single-row kernel's float steps. With pf set, the pf_step bytes at pf + ib *
 * pf_step (the next tile's rows) are prefetched at block ib; with ahead set, each
 * row ahead bytes further on in its own stream, every other block (kernels.c's
 * decode streams). */
KI_INLINE void ki_qtile8x1(int64_t nb, const void *const *wr, const struct eng_block_q8_0 *xb, const float *dx,
			   const int32_t *sx, float *res, const int kind, const char *pf, size_t pf_step,
			   size_t ahead, const ki_dot_fn dot)
{
	const size_t bs = kind == KIND_Q4 ? sizeof(struct eng_block_q4_0)
			  : kind == KIND_Q5 ? sizeof(struct blk_q5_0) : sizeof(struct eng_block_q8_0);
	__m256 acc = _mm256_setzero_ps();
	for (int64_t ib = 0; ib < nb; ib++) {
		for (size_t o = 0; pf && o < pf_step; o += 64)
			_mm_prefetch(pf + (size_t)ib * pf_step + o, _MM_HINT_T0);
		if (ahead && ib % 2 == 0)
			for (int r = 0; r < 8; r++)
				_mm_prefetch((const char *)wr[r] + (size_t)ib * bs + ahead, _MM_HINT_T0);
		const __m256i xv = _mm256_loadu_si256((const __m256i *)xb[ib].qs);
		__m256i parts[8];
		for (int r = 0; r < 8; r++)
			parts[r] = row_parts(wr[r], ib, xv, kind, dot);
		__m256i sumi = hsum8x8_epi32(parts);
		if (kind)
			sumi = _mm256_sub_epi32(sumi, _mm256_set1_epi32(sx[ib]));
		const __m128i dh = _mm_setr_epi16(blk_d(wr[0], ib, kind), blk_d(wr[1], ib, kind), blk_d(wr[2], ib, kind),
						  blk_d(wr[3], ib, kind), blk_d(wr[4], ib, kind), blk_d(wr[5], ib, kind),
						  blk_d(wr[6], ib, kind), blk_d(wr[7], ib, kind));
		const __m256 d = _mm256_mul_ps(f16x8_scales(dh), _mm256_set1_ps(dx[ib]));
		acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_cvtepi32_ps(sumi), d));
	}
	_mm256_storeu_ps(res, acc);
}

/* Prefill: 2 rows x 4 tokens, lane t * 2 + r, as ki_qtile8x1 but with the tokens'
 * scales (dxv) and bias * their block sums (sxv) laid out per lane beforehand, 8
 * lanes per block. */
KI_INLINE void ki_qtile2x4(int64_t nb, const void *const *wr, const struct eng_block_q8_0 *const *xt,
			   const float *dxv, const int32_t *sxv, float *res, const int kind, const ki_dot_fn dot)
{
	__m256 acc = _mm256_setzero_ps();
	for (int64_t ib = 0; ib < nb; ib++) {
		__m256i wq[2], wa[2], parts[8];
		for (int r = 0; r < 2; r++) {
			if (kind) {
				wq[r] = wa[r] = w_unsigned(wr[r], ib, kind);
			} else {
				wq[r] = _mm256_loadu_si256((const __m256i *)((const struct eng_block_q8_0 *)wr[r] + ib)->qs);
				wa[r] = _mm256_sign_epi8(wq[r], wq[r]);
			}
		}
		for (int t = 0; t < 4; t++) {
			const __m256i xv = _mm256_loadu_si256((const __m256i *)xt[t][ib].qs);
			for (int r = 0; r < 2; r++)
				parts[t * 2 + r] = dot(wa[r], kind ? xv : _mm256_sign_epi8(xv, wq[r]));
		}
		__m256i sumi = hsum8x8_epi32(parts);
		if (kind)
			sumi = _mm256_sub_epi32(sumi, _mm256_loadu_si256((const __m256i *)(sxv + 8 * ib)));
		const short d0 = blk_d(wr[0], ib, kind), d1 = blk_d(wr[1], ib, kind);
		const __m256 dw = f16x8_scales(_mm_setr_epi16(d0, d1, d0, d1, d0, d1, d0, d1));
		acc = _mm256_add_ps(acc, _mm256_mul_ps(_mm256_cvtepi32_ps(sumi), _mm256_mul_ps(dw, _mm256_loadu_ps(dxv + 8 * ib))));
	}
	_mm256_storeu_ps(res, acc);
}

/* ---- Prefill on interleaved rows: 8 rows x up to 4 tokens, no horizontal sums ----
 *
 * ki_qtile2x4's lanes each hold one (row, token) block's partial sums, so every
 * block ends in an 8 x 8 horizontal sum. Here the rows are interleaved first (once
 * per call, ki_ilv_pack): vector g of a packed block holds bytes 4g..4g+3 of each
 * of 8 rows' 32 quants (row r in lane r), so one vpdpbusd of vector g with a token's
 * bytes 4g..4g+3 broadcast adds four products to each of the 8 rows' sums, and
 * after the 8 vectors lane r holds row r's block sum. The quants are unsigned (Q4_0
 * q, Q5_0 q, Q8_0 q + 128), the bias (8, 16, 128) coming off through the token's
 * block sum (eng_q8_tables_fill's sxv), so every integer is exact and the float
 * steps per lane are those of ki_qtile2x4 and the single-row kernel:
 * sumf += (float)(sumi - sx) * (d_w * d_x), block after block. Q8_0's q + 128 is
 * exact with vpdpbusd only (maddubs' int16 pairs would saturate), so without VNNI
 * kernels.c takes Q8_0's bytes back to signed in the dot (x 0x80) and forms |q| times
 * the token's bytes with q's sign (|q| <= 128, |x| <= 127: pairs up to 32,512, exact),
 * the sums starting at 0 instead of -128 x the token's block sum: the same integer. */

/* Bytes of one packed block of 8 rows: 8 vectors of quants, then the 8 row scales as floats. */
#define KI_ILV_BLOCK (8 * 32 + 8 * 4)

/* The int32 lanes of acc plus the partial sums of a (unsigned) with b (signed). */
typedef __m256i (*ki_dot_acc_fn)(__m256i acc, __m256i a_unsigned, __m256i b_signed);

/* 8 vectors of 8 int32 lanes transposed in place: lane j of v[i] goes to lane i of v[j]. */
KI_INLINE void transpose8x8_epi32(__m256i v[8])
{
	__m256i t[8], u[8];
	for (int i = 0; i < 8; i += 2) {
		t[i] = _mm256_unpacklo_epi32(v[i], v[i + 1]);
		t[i + 1] = _mm256_unpackhi_epi32(v[i], v[i + 1]);
	}
	for (int i = 0; i < 8; i += 4) {
		u[i] = _mm256_unpacklo_epi64(t[i], t[i + 2]);
		u[i + 1] = _mm256_unpackhi_epi64(t[i], t[i + 2]);
		u[i + 2] = _mm256_unpacklo_epi64(t[i + 1], t[i + 3]);
		u[i + 3] = _mm256_unpackhi_epi64(t[i + 1], t[i + 3]);
	}
	for (int i = 0; i < 4; i++) {
		v[i] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x20);
		v[i + 4] = _mm256_permute2x128_si256(u[i], u[i + 4], 0x31);
	}
}

/* The 8 rows wr[0..7] (nb blocks each) interleaved into pk: block ib's vector g at
 * pk + ib * blk + g * g_step, its 8 row scales (floats) at pk + ib * blk + d_off.
 * ki_ilv_pack's layout (KI_ILV_BLOCK, 32, 256) is one group of 8 rows; kernels_vnni.c's
 * 16-row blocks put two groups side by side (a group's vector g is half of a 512-bit one). */
KI_INLINE void ki_ilv_pack_at(int64_t nb, const void *const *wr, uint8_t *pk, size_t blk, size_t g_step,
			      size_t d_off, const int kind)
{
	for (int64_t ib = 0; ib < nb; ib++) {
		__m256i v[8];
		for (int r = 0; r < 8; r++)
			v[r] = kind ? w_unsigned(wr[r], ib, kind)
				    : _mm256_xor_si256(_mm256_loadu_si256(
							       (const __m256i *)((const struct eng_block_q8_0 *)wr[r] + ib)->qs),
						       _mm256_set1_epi8((char)0x80));
		transpose8x8_epi32(v);
		uint8_t *b = pk + (size_t)ib * blk;
		for (int g = 0; g < 8; g++)
			_mm256_storeu_si256((__m256i *)(b + g_step * (size_t)g), v[g]);
		const __m128i dh = _mm_setr_epi16(blk_d(wr[0], ib, kind), blk_d(wr[1], ib, kind), blk_d(wr[2], ib, kind),
						  blk_d(wr[3], ib, kind), blk_d(wr[4], ib, kind), blk_d(wr[5], ib, kind),
						  blk_d(wr[6], ib, kind), blk_d(wr[7], ib, kind));
		_mm256_storeu_ps((float *)(b + d_off), f16x8_scales(dh));
	}
}

KI_INLINE void ki_ilv_pack(int64_t nb, const void *const *wr, uint8_t *pk, const int kind)
{
	ki_ilv_pack_at(nb, wr, pk, KI_ILV_BLOCK, 32, 256, kind);
}

/* The packed rows times T (1..4) tokens xt[0..T-1] of one table group (dxv, sxv as
 * for ki_qtile2x4: token t's block ib at lane 8 ib + 2 t); res[res_stride t + r] = row
 * r . token t (the caller's output rows where all 8 rows are wanted). With biased 0 the
 * sums start at 0 (a dot that takes the packed bytes back to signed: kernels.c's Q8_0
 * without VNNI) and sxv is not read. With i16 set (kernels.c's Q4_0 and Q5_0 without
 * VNNI), dot is not called: the vpmaddubsw pair sums of i16 vectors at a time are added
 * as int16 (exact for Q4_0 at 8, a whole block: 8 x 2 x 15 x 128 = 30,720; Q5_0 at 4,
 * 31,744) and widened by one vpmaddwd, half the multiplier work of widening every pair;
 * the same integers, so the same bits. */
KI_INLINE void ki_ilv_tile(int64_t nb, const uint8_t *pk, const struct eng_block_q8_0 *const *xt, const float *dxv,
			   const int32_t *sxv, float *res, size_t res_stride, const int T, const ki_dot_acc_fn dot,
			   const int biased, const int i16)
{
	__m256 acc[4];
	for (int t = 0; t < T; t++)
		acc[t] = _mm256_setzero_ps();
	for (int64_t ib = 0; ib < nb; ib++) {
		const uint8_t *b = pk + (size_t)ib * KI_ILV_BLOCK;
		__m256i s[4], p[4]; /* the sums start at -bias * the token's block sum; p: int16 pair sums */
		for (int t = 0; t < T; t++) {
			s[t] = biased ? _mm256_set1_epi32(-sxv[8 * ib + 2 * t]) : _mm256_setzero_si256();
			p[t] = _mm256_setzero_si256();
		}
		for (int g = 0; g < 8; g++) {
			const __m256i wv = _mm256_loadu_si256((const __m256i *)(b + 32 * g));
			for (int t = 0; t < T; t++) {
				int32_t x4;
				memcpy(&x4, xt[t][ib].qs + 4 * g, 4);
				if (i16)
					p[t] = _mm256_add_epi16(p[t], _mm256_maddubs_epi16(wv, _mm256_set1_epi32(x4)));
				else
					s[t] = dot(s[t], wv, _mm256_set1_epi32(x4));
			}
			if (i16 && (g + 1) % i16 == 0)
				for (int t = 0; t < T; t++) {
					s[t] = _mm256_add_epi32(s[t], _mm256_madd_epi16(p[t], _mm256_set1_epi16(1)));
					p[t] = _mm256_setzero_si256();
				}
		}
		const __m256 dw = _mm256_loadu_ps((const float *)(b + 256));
		for (int t = 0; t < T; t++) {
			const __m256 d = _mm256_mul_ps(dw, _mm256_set1_ps(dxv[8 * ib + 2 * t]));
			acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(_mm256_cvtepi32_ps(s[t]), d));
		}
	}
	for (int t = 0; t < T; t++)
		_mm256_storeu_ps(res + res_stride * (size_t)t, acc[t]);
}

#endif

#endif
