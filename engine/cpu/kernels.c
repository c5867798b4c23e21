/* kernels.c — multi-row, multi-token dot kernels (see kernels.h).
 *
 * The single-row kernels of types.c are bound by one dependency chain per dot
 * (a vector add per 8 elements) and reload and convert the weight row for every
 * token. Here a tile of R weight rows x T tokens keeps R*T independent sums, so a
 * converted weight vector is used T times and R*T chains overlap.
 *
 * The bits do not change because each of the R*T sums is, element for element,
 * the single-row kernel:
 * - float weights (F16, F32): kernels_f16.c.
 * - Q8_0 activations: per block an exact integer sum (so how the integer is formed
 *   does not matter), then sumf += (float)sumi * (d_w * d_x), block after block. The
 *   R*T running sums sit in the lanes of one vector; each lane does exactly that
 *   scalar sequence. The f16 scales are converted with F16C, which agrees with
 *   eng_f16_to_f32 on every half but signalling NaNs, and those only as far as
 *   the multiply they enter, which quiets them alike (kernels_int.h, f16x8_scales).
 * Rows or tokens missing from a partial tile repeat the last one, and their
 * results are not stored.
 */
#include "engine/cpu/kernels.h"

#include <string.h>

#include "engine/cpu/kernels_int.h"
#include "engine/quants_int.h"
#include "engine/types.h"

#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>
#define KN_AVX2 1
#else
#define KN_AVX2 0
#endif

#define KN_INLINE static inline __attribute__((always_inline))

/* The most blocks of a row the prefill tile takes (its per-lane tables are on the stack,
 * or eng_q8_tables_fill's). */
#define Q8_PRE_MAX_BLOCKS 512

#if KN_AVX2

/* ---- Q8_0 activations ---- */

/* The 32 values (q - 8) of a Q4_0 block as bytes, in element order. */
KN_INLINE __m256i q4_unpack(const uint8_t *qs)
{
	__m128i v = _mm_loadu_si128((const __m128i *)qs);
	__m128i lo = _mm_and_si128(v, _mm_set1_epi8(0x0f));
	__m128i hi = _mm_and_si128(_mm_srli_epi16(v, 4), _mm_set1_epi8(0x0f));
	return _mm256_sub_epi8(_mm256_set_m128i(hi, lo), _mm256_set1_epi8(8));
}

/* Eight partial int32 sums of |a| * sign(b, a) (= a * b): exact for a in [-128, 127]
 * and b in [-127, 127] (|a| is read unsigned; maddubs' int16 pairs stay below 2^15). */
KN_INLINE __m256i dot_parts(__m256i a_abs, __m256i b_signed)
{
#if defined(__AVX512VNNI__) && defined(__AVX512VL__)
	return _mm256_dpbusd_epi32(_mm256_setzero_si256(), a_abs, b_signed);
#else
	return _mm256_madd_epi16(_mm256_maddubs_epi16(a_abs, b_signed), _mm256_set1_epi16(1));
#endif
}

/* One tile of R rows x T tokens, R * T == 8, lane t * R + r; res gets 8 floats. */
KN_INLINE void qtile(int64_t nb, const void *const *wr, const struct eng_block_q8_0 *const *xt, float *res,
		     const int R, const int T, const int q4)
{
	__m256 acc = _mm256_setzero_ps();
	for (int64_t ib = 0; ib < nb; ib++) {
		__m256i wq[8], wa[8], parts[8];
		uint16_t dh[8];
		for (int r = 0; r < R; r++) {
			if (q4) {
				const struct eng_block_q4_0 *b = (const struct eng_block_q4_0 *)wr[r] + ib;
				wq[r] = q4_unpack(b->qs);
				memcpy(&dh[r], &b->d, 2);
			} else {
				const struct eng_block_q8_0 *b = (const struct eng_block_q8_0 *)wr[r] + ib;
				wq[r] = _mm256_loadu_si256((const __m256i *)b->qs);
				memcpy(&dh[r], &b->d, 2);
			}
			wa[r] = _mm256_sign_epi8(wq[r], wq[r]);
		}
		for (int t = 0; t < T; t++) {
			__m256i xv = _mm256_loadu_si256((const __m256i *)xt[t][ib].qs);
			for (int r = 0; r < R; r++)
				parts[t * R + r] = dot_parts(wa[r], _mm256_sign_epi8(xv, wq[r]));
		}
		__m256 sumi = _mm256_cvtepi32_ps(hsum8x8_epi32(parts));
		/* dw lanes: d of row (lane % R); dx lanes: d of token (lane / R) */
		uint16_t dw16[8], dx16[8];
		for (int l = 0; l < 8; l++) {
			dw16[l] = dh[l % R];
			dx16[l] = xt[l / R][ib].d;
		}
		__m256 dw = f16x8_scales(_mm_loadu_si128((const __m128i *)dw16));
		__m256 dx = f16x8_scales(_mm_loadu_si128((const __m128i *)dx16));
		acc = _mm256_add_ps(acc, _mm256_mul_ps(sumi, _mm256_mul_ps(dw, dx)));
	}
	_mm256_storeu_ps(res, acc);
}

/* The decode (8 x 1) and prefill (2 x 4) tiles are kernels_int.h's ki_qtile8x1 and
 * ki_qtile2x4 with dot_parts as the row dot (kernels_vnni.c passes vpdpbusd). */

/* Token t (0..3) of a prefill group: lanes t * 2 and t * 2 + 1 of dxv[ib] (floats,
 * 8 a block) get the scale of its block ib, and of sxv[ib] bias * its quant sum
 * (bias 8 for Q4_0, 16 for Q5_0, 128 for Q8_0: the offset of the weights' unsigned
 * form in the interleaved tiles; ki_qtile2x4 uses Q8_0's signed and no sum). */
static void q8_table_token(int64_t nb, const struct eng_block_q8_0 *x, int t, float *dxv, int32_t *sxv, const int kind)
{
	const int32_t bias = kind == KIND_Q5 ? 16 : kind == KIND_Q4 ? 8 : 128; /* Q8_0, IQ4_NL: 128 */
	for (int64_t ib = 0; ib < nb; ib++) {
		const float d = eng_f16_to_f32(x[ib].d);
		int32_t s = 0;
		for (int k = 0; k < ENG_QK8_0; k++)
			s += bias * x[ib].qs[k];
		dxv[8 * ib + 2 * t] = dxv[8 * ib + 2 * t + 1] = d;
		sxv[8 * ib + 2 * t] = sxv[8 * ib + 2 * t + 1] = s;
	}
}

/* The interleaved tiles' dot without VNNI, for Q8_0 (Q4_0 and Q5_0 take ki_ilv_tile's
 * int16 sums): the packed q + 128 back to q, then |q| times the bytes of b with q's sign
 * (kernels_int.h: exact), so the sums start at 0 (ki_ilv_tile's biased 0). */
KN_INLINE __m256i dot_acc_s8(__m256i acc, __m256i q_plus_128, __m256i b_signed)
{
	const __m256i q = _mm256_xor_si256(q_plus_128, _mm256_set1_epi8((char)0x80));
	return _mm256_add_epi32(acc, _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_abs_epi8(q), _mm256_sign_epi8(b_signed, q)),
							 _mm256_set1_epi16(1)));
}

/* Prefill with tables through the interleaved tiles (kernels_int.h): rows in groups
 * of 8 (16 with VNNI, on 512-bit registers, while more than 8 rows are left and the
 * buffer holds their blocks), packed once, each meeting every token in groups of up to 4
 * while its packed blocks (nb * 288 bytes a group of 8: 7 KB at n = 768) stay in L1.
 * The weights come from memory once a micro-batch: while one group's tiles run, the
 * next group's rows are prefetched, a share per group of tokens, so that packing them
 * does not wait. */
static void mdot_q8_ilv(int64_t nb, const void *w, size_t w_stride, int n_rows, const void *xq, size_t x_stride,
			const float *tables, int n_tok, float *out, size_t out_stride, const int kind, const int vnni)
{
	_Alignas(64) uint8_t pk[Q8_PRE_MAX_BLOCKS * KI_ILV_BLOCK];
	float res[64];
	const size_t n_groups = (size_t)(n_tok + 3) / 4;
	const int wide_fits = vnni && (size_t)nb * ENG_ILV16_BLOCK <= sizeof pk;
	const int i16 = kind == KIND_Q4 ? 8 : kind == KIND_Q5 ? 4 : 0; /* ki_ilv_tile without VNNI */
	for (int r0 = 0, rows; r0 < n_rows; r0 += rows) {
		const int wide = wide_fits && n_rows - r0 > 8;
		rows = wide ? 16 : 8;
		const int nr = n_rows - r0 < rows ? n_rows - r0 : rows;
		const void *wr[16];
		for (int r = 0; r < rows; r++)
			wr[r] = (const char *)w + (size_t)(r0 + (r < nr ? r : nr - 1)) * w_stride;
		for (int h = 0; h < rows / 8; h++) { /* a group of 8 rows, or each half of 16 */
			uint8_t *dst = pk + 32 * h;
			const size_t blk = wide ? ENG_ILV16_BLOCK : KI_ILV_BLOCK, g_step = wide ? 64 : 32,
				     d_off = wide ? 512 : 256;
			if (kind == KIND_Q4)
				ki_ilv_pack_at(nb, wr + 8 * h, dst, blk, g_step, d_off, KIND_Q4);
			else if (kind == KIND_IQ4)
				ki_ilv_pack_at(nb, wr + 8 * h, dst, blk, g_step, d_off, KIND_IQ4);
			else if (kind == KIND_Q5)
				ki_ilv_pack_at(nb, wr + 8 * h, dst, blk, g_step, d_off, KIND_Q5);
			else
				ki_ilv_pack_at(nb, wr + 8 * h, dst, blk, g_step, d_off, KIND_Q8);
		}
		/* the next group's rows (inside this call's), in 64-byte lines per token group */
		const int next = n_rows - r0 - rows < rows ? n_rows - r0 - rows : rows;
		const char *pf = (const char *)w + (size_t)(r0 + rows) * w_stride;
		const size_t pf_lines = next > 0 ? ((size_t)next * w_stride + 63) / 64 : 0,
			     pf_step = (pf_lines + n_groups - 1) / n_groups;
		for (int t0 = 0; t0 < n_tok; t0 += 4) {
			for (size_t l = (size_t)t0 / 4 * pf_step; l < pf_lines && l < ((size_t)t0 / 4 + 1) * pf_step; l++)
				_mm_prefetch(pf + 64 * l, _MM_HINT_T0);
			const int nt = n_tok - t0 < 4 ? n_tok - t0 : 4;
			const struct eng_block_q8_0 *xt[4];
			for (int t = 0; t < 4; t++)
				xt[t] = (const void *)((const char *)xq + (size_t)(t0 + (t < nt ? t : 0)) * x_stride);
			const float *dxv = tables + ki_table_group(t0, nb);
			const int32_t *sxv = (const int32_t *)(dxv + 8 * nb);
			/* all rows wanted: the tile stores straight into out (a copy through res,
			 * wide stores read back narrow, took a third of this function's time) */
			const int direct = nr == rows;
			float *dst = direct ? out + (size_t)t0 * out_stride + (size_t)r0 : res;
			const size_t dst_stride = direct ? out_stride : (size_t)rows;
			if (wide)
				eng_ilv16_tile_vnni(nb, pk, (const void *const *)xt, dxv, sxv, dst, dst_stride, nt);
			else if (vnni)
				eng_ilv_tile_vnni(nb, pk, (const void *const *)xt, dxv, sxv, dst, dst_stride, nt);
			else if (nt == 4) /* Q8_0 signed in the dot from 0; Q4_0 / Q5_0 pair sums in int16 */
				ki_ilv_tile(nb, pk, xt, dxv, sxv, dst, dst_stride, 4, dot_acc_s8, kind != KIND_Q8, i16);
			else
				for (int t = 0; t < nt; t++) /* the group's last tokens, one at a time */
					ki_ilv_tile(nb, pk, xt + t, dxv + 2 * t, sxv + 2 * t, dst + dst_stride * (size_t)t,
						    dst_stride, 1, dot_acc_s8, kind != KIND_Q8, i16);
			for (int t = 0; !direct && t < nt; t++)
				for (int r = 0; r < nr; r++)
					out[(size_t)(t0 + t) * out_stride + (size_t)(r0 + r)] = res[rows * t + r];
		}
	}
}

/* The fewest tokens for which prefill packs rows for the interleaved tiles rather than
 * run ki_qtile2x4 (kernel alone, 768-long rows, Intel Xeon with AVX512-VNNI: faster
 * from 4 tokens with vpdpbusd; through maddubs, slower at 4 and faster from 8). */
#define ILV_MIN_TOK_VNNI 4
#define ILV_MIN_TOK_AVX2 8

/* Whether prefill with lane tables takes the interleaved tiles. */
static int ilv_takes(int64_t nb, int n_tok, const int kind, const int vnni)
{
	return nb <= Q8_PRE_MAX_BLOCKS && n_tok >= (vnni ? ILV_MIN_TOK_VNNI : ILV_MIN_TOK_AVX2) &&
	       (kind != KIND_IQ4 || vnni);
}

/* The most blocks of a row the decode tile takes (its per-token tables live on the stack). */
#define Q8_DEC_MAX_BLOCKS 1024

/* Tiles of 2 rows x 4 tokens while four tokens remain, then 8 rows x 1 token. Q5_0
 * only with nb <= Q8_PRE_MAX_BLOCKS (the generic qtile knows Q8_0 and Q4_0). With
 * tables (eng_q8_tables_fill's, nb <= Q8_PRE_MAX_BLOCKS) the groups' lane tables
 * are read from there instead of made here. */
KN_INLINE void mdot_q8(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq, size_t x_stride,
		       const float *tables, int n_tok, float *out, size_t out_stride, const int kind)
{
	const int64_t nb = n / ENG_QK8_0;
	float res[8];
	int t0 = 0;
	const int vnni = eng_cpu_has_vnni(); /* kernels_vnni.c */
	if (tables && ilv_takes(nb, n_tok, kind, vnni)) {
		mdot_q8_ilv(nb, w, w_stride, n_rows, xq, x_stride, tables, n_tok, out, out_stride, kind, vnni);
		return;
	}
	float dx_own[8 * Q8_PRE_MAX_BLOCKS];
	int32_t sx_own[8 * Q8_PRE_MAX_BLOCKS];
	for (; t0 + 4 <= n_tok; t0 += 4) {
		const struct eng_block_q8_0 *xt[4];
		for (int t = 0; t < 4; t++)
			xt[t] = (const struct eng_block_q8_0 *)((const char *)xq + (size_t)(t0 + t) * x_stride);
		const int fast = nb <= Q8_PRE_MAX_BLOCKS;
		const float *dxv = dx_own;
		const int32_t *sxv = sx_own;
		if (fast && tables) {
			dxv = tables + ki_table_group(t0, nb);
			sxv = (const int32_t *)(dxv + 8 * nb);
		} else if (fast) {
			for (int t = 0; t < 4; t++)
				q8_table_token(nb, xt[t], t, dx_own, sx_own, kind);
		}
		for (int r0 = 0; r0 < n_rows; r0 += 2) {
			const int nr = n_rows - r0 < 2 ? n_rows - r0 : 2;
			const void *wr[2] = { (const char *)w + (size_t)r0 * w_stride,
					      (const char *)w + (size_t)(r0 + nr - 1) * w_stride };
			if (fast && vnni)
				eng_qtile2x4_vnni(nb, wr, (const void *const *)xt, dxv, sxv, res, kind);
			else if (fast)
				ki_qtile2x4(nb, wr, xt, dxv, sxv, res, kind, dot_parts);
			else
				qtile(nb, wr, xt, res, 2, 4, kind == KIND_Q4);
			for (int t = 0; t < 4; t++)
				for (int r = 0; r < nr; r++)
					out[(size_t)(t0 + t) * out_stride + (size_t)(r0 + r)] = res[t * 2 + r];
		}
	}
	float dx[Q8_DEC_MAX_BLOCKS];
	int32_t sx[Q8_DEC_MAX_BLOCKS];
	for (; t0 < n_tok; t0++) {
		const struct eng_block_q8_0 *xt[1] = {
			(const struct eng_block_q8_0 *)((const char *)xq + (size_t)t0 * x_stride) };
		const int fast = nb <= Q8_DEC_MAX_BLOCKS;
		/* (made for every call: with the pool's small last chunks a decode step makes
		 * several a matrix, so F16C and a vector sum here, not a call and a loop) */
		/* bias * sum x: Q4_0 and Q5_0 always, Q8_0 for kernels_vnni.c's two-block tile (qx2) */
		const int biased = kind || (vnni && eng_cpu_has_qx2());
		for (int64_t ib = 0; fast && ib < nb; ib++) {
			dx[ib] = _cvtsh_ss(xt[0][ib].d); /* eng_f16_to_f32's value (f16x8_scales on NaNs) */
			if (biased) { /* the 32 quants' sum: pairs, then quads, then the 8 lanes (exact) */
				const __m256i q = _mm256_loadu_si256((const __m256i *)xt[0][ib].qs);
				const __m256i s32 = _mm256_madd_epi16(_mm256_maddubs_epi16(_mm256_set1_epi8(1), q),
								      _mm256_set1_epi16(1));
				__m128i h = _mm_add_epi32(_mm256_castsi256_si128(s32), _mm256_extracti128_si256(s32, 1));
				h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0x4e));
				h = _mm_add_epi32(h, _mm_shuffle_epi32(h, 0xb1));
				sx[ib] = (kind == KIND_Q5 ? 16 : kind == KIND_Q4 ? 8 : 128) * _mm_cvtsi128_si32(h);
			}
		}
		/* the rows as 8 streams (kernels.h: eng_dec_run); the rest by neighbouring
		 * tiles, prefetching the next tile */
		_Static_assert(ENG_DEC_STREAMS == 8, "the decode tile takes 8 rows");
		const int run = fast ? eng_dec_run(n_rows) : 0;
		for (int k = 0; k < run; k++) {
			const void *wr[8];
			for (int s = 0; s < 8; s++)
				wr[s] = (const char *)w + (size_t)(s * run + k) * w_stride;
			if (vnni)
				eng_qtile8x1_vnni(nb, wr, xt[0], dx, sx, res, kind, NULL, 0, ENG_DEC_AHEAD);
			else
				ki_qtile8x1(nb, wr, xt[0], dx, sx, res, kind, NULL, 0, ENG_DEC_AHEAD, dot_parts);
			for (int s = 0; s < 8; s++)
				out[(size_t)t0 * out_stride + (size_t)(s * run + k)] = res[s];
		}
		for (int r0 = 8 * run; r0 < n_rows; r0 += 8) {
			const int nr = n_rows - r0 < 8 ? n_rows - r0 : 8;
			const void *wr[8];
			for (int r = 0; r < 8; r++)
				wr[r] = (const char *)w + (size_t)(r0 + (r < nr ? r : nr - 1)) * w_stride;
			/* the next tile's rows, a share of them per block (the hardware prefetcher
			 * barely learns eight short streams before they end) */
			const char *pf = nb && r0 + 16 <= n_rows ? (const char *)w + (size_t)(r0 + 8) * w_stride : NULL;
			/* rounded down: every prefetched address stays inside the next tile's rows
			 * (nb = 0, an empty row: no prefetch, and no division by 0) */
			const size_t pf_step = pf ? 8 * w_stride / (size_t)nb : 0;
			if (fast && vnni)
				eng_qtile8x1_vnni(nb, wr, xt[0], dx, sx, res, kind, pf, pf_step, 0);
			else if (fast)
				ki_qtile8x1(nb, wr, xt[0], dx, sx, res, kind, pf, pf_step, 0, dot_parts);
			else
				qtile(nb, wr, xt, res, 8, 1, kind == KIND_Q4);
			for (int r = 0; r < nr; r++)
				out[(size_t)t0 * out_stride + (size_t)(r0 + r)] = res[r];
		}
	}
}

#endif /* KN_AVX2 */

/* eng_mdot_f32 and eng_mdot_f16: kernels_f16.c. */

void eng_mdot_q8_0_q8_0(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			size_t x_stride, int n_tok, float *out, size_t out_stride)
{
#if KN_AVX2
	mdot_q8(n, w, w_stride, n_rows, xq, x_stride, NULL, n_tok, out, out_stride, KIND_Q8);
#else
	eng_mdot_q8_pairs(ENG_TYPE_Q8_0, n, w, w_stride, n_rows, xq, x_stride, n_tok, out, out_stride);
#endif
}

void eng_mdot_q4_0_q8_0(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			size_t x_stride, int n_tok, float *out, size_t out_stride)
{
#if KN_AVX2
	mdot_q8(n, w, w_stride, n_rows, xq, x_stride, NULL, n_tok, out, out_stride, KIND_Q4);
#else
	eng_mdot_q8_pairs(ENG_TYPE_Q4_0, n, w, w_stride, n_rows, xq, x_stride, n_tok, out, out_stride);
#endif
}

void eng_mdot_q5_0_q8_0(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			size_t x_stride, int n_tok, float *out, size_t out_stride)
{
#if KN_AVX2
	if (n / ENG_QK8_0 <= Q8_PRE_MAX_BLOCKS) {
		mdot_q8(n, w, w_stride, n_rows, xq, x_stride, NULL, n_tok, out, out_stride, KIND_Q5);
		return;
	}
#endif
	eng_mdot_q8_pairs(ENG_TYPE_Q5_0, n, w, w_stride, n_rows, xq, x_stride, n_tok, out, out_stride);
}

/* The tile kind of a type with eng_q8_tables_fill tables, or -1. IQ4_NL only with
 * VNNI (its unsigned levels, up to 241, would saturate maddubs' pairs), and only
 * through the interleaved tiles (mdot_q8's others do not know it): with tables (4
 * tokens or more) and rows of up to Q8_PRE_MAX_BLOCKS, ilv_takes always holds there.
 * Elsewhere it keeps kernels_q32.c's tiles and their tables. */
static int tabled_kind(uint32_t type, int64_t n)
{
	if (!KN_AVX2 || n % ENG_QK8_0 || n / ENG_QK8_0 > Q8_PRE_MAX_BLOCKS)
		return -1;
#if KN_AVX2
	if (type == ENG_TYPE_IQ4_NL)
		return eng_cpu_has_vnni() ? KIND_IQ4 : -1;
#endif
	return type == ENG_TYPE_Q8_0 ? 0 : type == ENG_TYPE_Q4_0 ? 1 : type == ENG_TYPE_Q5_0 ? 2 : -1;
}

size_t eng_q8_tables_bytes(uint32_t type, int64_t n, int n_tok)
{
	if ((tabled_kind(type, n) < 0 && !eng_q32_tabled(type, n)) || n_tok < 4)
		return 0;
	/* per group of four tokens and block: 8 float scales, 8 int32 (or float) sums */
	return (size_t)(n_tok + 3) / 4 * (size_t)(n / 32) * 64;
}

void eng_q8_tables_fill(uint32_t type, int64_t n, const void *xq, size_t x_stride, int t0, int t1, void *tables)
{
	const int kind = tabled_kind(type, n);
	if (kind < 0) {
		for (int t = t0; t < t1 && eng_q32_tabled(type, n); t++)
			eng_q32_table_token(type, n, (const char *)xq + (size_t)t * x_stride, t, tables);
		return;
	}
#if KN_AVX2
	const int64_t nb = n / 32;
	for (int t = t0; t < t1; t++) {
		float *dxv = (float *)tables + ki_table_group(t, nb);
		q8_table_token(nb, (const void *)((const char *)xq + (size_t)t * x_stride), t % 4, dxv,
			       (int32_t *)(dxv + 8 * nb), kind);
	}
#endif
}

int eng_mdot_q8_whole_rows(uint32_t type, int64_t n, int n_tok)
{
#if KN_AVX2
	const int kind = tabled_kind(type, n);
	return kind >= 0 && ilv_takes(n / ENG_QK8_0, n_tok, kind, eng_cpu_has_vnni());
#else
	(void)type, (void)n, (void)n_tok;
	return 0;
#endif
}

void eng_mdot_q8_tabled(uint32_t type, int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			size_t x_stride, const void *tables, int n_tok, float *out, size_t out_stride)
{
#if KN_AVX2
	const int kind = tabled_kind(type, n);
	if (kind >= 0) {
		if (kind == KIND_IQ4) /* tables, so n_tok >= 4: ilv_takes (tabled_kind) */
			mdot_q8_ilv(n / ENG_QK8_0, w, w_stride, n_rows, xq, x_stride, tables, n_tok, out, out_stride,
				    KIND_IQ4, 1);
		else if (kind == KIND_Q8)
			mdot_q8(n, w, w_stride, n_rows, xq, x_stride, tables, n_tok, out, out_stride, KIND_Q8);
		else if (kind == KIND_Q4)
			mdot_q8(n, w, w_stride, n_rows, xq, x_stride, tables, n_tok, out, out_stride, KIND_Q4);
		else
			mdot_q8(n, w, w_stride, n_rows, xq, x_stride, tables, n_tok, out, out_stride, KIND_Q5);
		return;
	}
#endif
	if (eng_q32_tabled(type, n))
		eng_mdot_q32_tabled(type, n, w, w_stride, n_rows, xq, x_stride, tables, n_tok, out, out_stride);
	else
		eng_mdot_q8_for_type(type)(n, w, w_stride, n_rows, xq, x_stride, n_tok, out, out_stride);
}

eng_mdot_fn eng_mdot_q8_for_type(uint32_t type)
{
	switch (type) {
	case ENG_TYPE_Q8_0:
		return eng_mdot_q8_0_q8_0;
	case ENG_TYPE_Q4_0:
		return eng_mdot_q4_0_q8_0;
	case ENG_TYPE_Q5_0:
		return eng_mdot_q5_0_q8_0;
	case ENG_TYPE_IQ4_NL:
		return eng_mdot_iq4_nl_q8_0;
	case ENG_TYPE_Q4_1:
		return eng_mdot_q4_1_q8_1;
	case ENG_TYPE_Q5_1:
		return eng_mdot_q5_1_q8_1;
	case ENG_TYPE_Q2_K:
		return eng_mdot_q2_K_q8_K;
	case ENG_TYPE_Q3_K:
		return eng_mdot_q3_K_q8_K;
	case ENG_TYPE_Q4_K:
		return eng_mdot_q4_K_q8_K;
	case ENG_TYPE_Q5_K:
		return eng_mdot_q5_K_q8_K;
	case ENG_TYPE_Q6_K:
		return eng_mdot_q6_K_q8_K;
	case ENG_TYPE_IQ4_XS:
		return eng_mdot_iq4_xs_q8_K;
	default:
		return NULL;
	}
}
