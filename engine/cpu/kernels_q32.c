/* kernels_q32.c — multi-row, multi-token dot kernels (kernels.h) for the 32-quant
 * block types that kernels.c does not tile: IQ4_NL with Q8_0 activations, Q4_1 and
 * Q5_1 with Q8_1 activations.
 *
 * The tiles are kernels.c's: 8 rows x 1 token for decode (the rows read as 8
 * streams, kernels.h's eng_dec_run) and 2 rows x 4 tokens for prefill, one float
 * sum per (row, token) in the lanes of one vector, lane t * R + r. Per block each lane forms the exact
 * integer the single-row kernel forms (quants.c), then takes the same float step:
 *   IQ4_NL:      sumf += (float)sumi * (d_w * d_x)
 *   Q4_1, Q5_1:  sumf += (float)sumi * (d_w * d_x) + m_w * s_x
 * IQ4_NL's levels (-127..113) are signed, so the products are |q| * (x with q's
 * sign); Q4_1 (0..15) and Q5_1 (0..31) quants are unsigned and go to maddubs as
 * they are. Every output is therefore bit-identical to the type table's
 * vec_dot_q8 whatever the shape of the call (tests/eng_kernels.c). The tokens'
 * f16 scales (and Q8_1 sums) are converted into per-lane tables, once per call or,
 * through eng_q8_tables_fill (kernels.c), once per matrix product;
 * rows longer than Q32_MAX_BLOCKS blocks, and builds without AVX2 + F16C, take the
 * single-row kernel pair by pair. On AVX-512 VNNI CPUs, IQ4_NL prefill with tables
 * (rows of up to 512 blocks) goes to kernels.c's interleaved tiles instead (tabled_kind):
 * its tables are then kernels.c's.
 */
#include "engine/cpu/kernels.h"

#include <string.h>

#include "engine/cpu/kernels_int.h"
#include "engine/quants_int.h"
#include "engine/types.h"

/* The weight types of this file. */
enum q32_kind { W_IQ4NL, W_Q41, W_Q51 };

/* The most blocks of a row the tiles take (their per-lane tables live on the stack: 64 KiB;
 * 256 sent the 14336-wide ffn_down of 7B-class models row by row). */
#define Q32_MAX_BLOCKS 1024

#if defined(__AVX2__) && defined(__F16C__)

/* Bytes of a weight block and of an activation block, and where the activation quants start. */
KI_INLINE size_t wbytes(const enum q32_kind k)
{
	return k == W_IQ4NL ? sizeof(struct blk_iq4_nl) : k == W_Q41 ? sizeof(struct blk_q4_1) : sizeof(struct blk_q5_1);
}
KI_INLINE size_t abytes(const enum q32_kind k)
{
	return k == W_IQ4NL ? sizeof(struct eng_block_q8_0) : sizeof(struct eng_block_q8_1);
}
KI_INLINE const int8_t *act_qs(const void *x, int64_t ib, const enum q32_kind k)
{
	return (const int8_t *)x + (size_t)ib * abytes(k) + (k == W_IQ4NL ? 2 : 4);
}

/* The 32 quants of block ib in element order: IQ4_NL's signed levels, Q4_1's and Q5_1's unsigned values. */
KI_INLINE __m256i wquants(const void *row, int64_t ib, const enum q32_kind k)
{
	const uint8_t *b = (const uint8_t *)row + (size_t)ib * wbytes(k);
	const uint8_t *qs = k == W_IQ4NL ? ((const struct blk_iq4_nl *)b)->qs
			    : k == W_Q41 ? ((const struct blk_q4_1 *)b)->qs
					 : ((const struct blk_q5_1 *)b)->qs;
	const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)qs));
	const __m256i nib = _mm256_and_si256(_mm256_srlv_epi64(v, _mm256_setr_epi64x(0, 0, 4, 4)), _mm256_set1_epi8(0x0f));
	if (k == W_IQ4NL) {
		const __m128i lut = _mm_loadu_si128((const __m128i *)iq4nl_values);
		return _mm256_shuffle_epi8(_mm256_set_m128i(lut, lut), nib);
	}
	if (k == W_Q41)
		return nib;
	return _mm256_or_si256(nib, q5_high_bits(((const struct blk_q5_1 *)b)->qh));
}

/* The f16 at byte `off` of block ib of the rows of lanes l (row l % R). */
KI_INLINE __m256 wscales(const void *const *wr, int64_t ib, const int R, const enum q32_kind k, const size_t off)
{
	uint16_t h[8];
	for (int l = 0; l < 8; l++)
		memcpy(&h[l], (const uint8_t *)wr[l % R] + (size_t)ib * wbytes(k) + off, 2);
	return f16x8_scales(_mm_loadu_si128((const __m128i *)h));
}

/* One tile of R rows x T tokens (R * T == 8, lane t * R + r); dtab and stab hold, per
 * block, 8 lanes of the tokens' d (and Q8_1 s). res gets 8 floats. With pf set, the
 * pf_step bytes at pf + ib * pf_step are prefetched at block ib. */
KI_INLINE void q32tile(int64_t nb, const void *const *wr, const void *const *xt, const float *dtab,
		       const float *stab, float *res, const int R, const int T, const enum q32_kind k, const char *pf,
		       size_t pf_step, size_t ahead)
{
	__m256 acc = _mm256_setzero_ps();
	for (int64_t ib = 0; ib < nb; ib++) {
		for (size_t o = 0; pf && o < pf_step; o += 64)
			_mm_prefetch(pf + (size_t)ib * pf_step + o, _MM_HINT_T0);
		if (ahead && ib % 2 == 0) /* each row ahead bytes on in its own stream (decode) */
			for (int r = 0; r < R; r++)
				_mm_prefetch((const char *)wr[r] + (size_t)ib * wbytes(k) + ahead, _MM_HINT_T0);
		__m256i wq[8], wa[8], parts[8];
		for (int r = 0; r < R; r++) {
			wq[r] = wquants(wr[r], ib, k);
			wa[r] = k == W_IQ4NL ? _mm256_sign_epi8(wq[r], wq[r]) : wq[r];
		}
		for (int t = 0; t < T; t++) {
			const __m256i xv = _mm256_loadu_si256((const __m256i *)act_qs(xt[t], ib, k));
			for (int r = 0; r < R; r++)
				parts[t * R + r] = _mm256_madd_epi16(
					_mm256_maddubs_epi16(wa[r], k == W_IQ4NL ? _mm256_sign_epi8(xv, wq[r]) : xv),
					_mm256_set1_epi16(1));
		}
		const __m256 sumi = _mm256_cvtepi32_ps(hsum8x8_epi32(parts));
		const __m256 d = _mm256_mul_ps(wscales(wr, ib, R, k, 0), _mm256_loadu_ps(dtab + 8 * ib));
		__m256 step = _mm256_mul_ps(sumi, d);
		if (k != W_IQ4NL)
			step = _mm256_add_ps(step, _mm256_mul_ps(wscales(wr, ib, R, k, 2), _mm256_loadu_ps(stab + 8 * ib)));
		acc = _mm256_add_ps(acc, step);
	}
	_mm256_storeu_ps(res, acc);
}

/* Lanes l0 .. l0 + nl - 1 of every block ib of dtab (stab): the d (s) of block ib of
 * the token's activation row x. */
static void q32_token_lanes(const enum q32_kind k, int64_t nb, const void *x, int l0, int nl, float *dtab, float *stab)
{
	for (int64_t ib = 0; ib < nb; ib++) {
		const uint8_t *a = (const uint8_t *)x + (size_t)ib * abytes(k);
		uint16_t h;
		memcpy(&h, a, 2);
		const float d = eng_f16_to_f32(h);
		float sv = 0.0f;
		if (k != W_IQ4NL) {
			memcpy(&h, a + 2, 2);
			sv = eng_f16_to_f32(h);
		}
		for (int l = l0; l < l0 + nl; l++) {
			dtab[8 * ib + l] = d;
			if (k != W_IQ4NL)
				stab[8 * ib + l] = sv;
		}
	}
}

/* Tiles of 2 rows x 4 tokens while four tokens remain, then 8 rows x 1 token. With
 * tables (eng_q8_tables_fill's) a group's lane tables are read from there. */
KI_INLINE void mdot_q32(const enum q32_kind k, int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			size_t x_stride, const float *tables, int n_tok, float *out, size_t out_stride)
{
	const int64_t nb = n / 32;
	float dtab[8 * Q32_MAX_BLOCKS], stab[8 * Q32_MAX_BLOCKS], res[8];
	int t0 = 0;
	for (; t0 + 4 <= n_tok; t0 += 4) {
		const void *xt[4];
		for (int t = 0; t < 4; t++)
			xt[t] = (const char *)xq + (size_t)(t0 + t) * x_stride;
		const float *dt = dtab, *st = stab;
		if (tables) {
			dt = tables + ki_table_group(t0, nb);
			st = dt + 8 * nb;
		} else {
			for (int t = 0; t < 4; t++)
				q32_token_lanes(k, nb, xt[t], 2 * t, 2, dtab, stab);
		}
		for (int r0 = 0; r0 < n_rows; r0 += 2) {
			const int nr = n_rows - r0 < 2 ? n_rows - r0 : 2;
			const void *wr[2] = { (const char *)w + (size_t)r0 * w_stride,
					      (const char *)w + (size_t)(r0 + nr - 1) * w_stride };
			q32tile(nb, wr, xt, dt, st, res, 2, 4, k, NULL, 0, 0);
			for (int t = 0; t < 4; t++)
				for (int r = 0; r < nr; r++)
					out[(size_t)(t0 + t) * out_stride + (size_t)(r0 + r)] = res[t * 2 + r];
		}
	}
	for (; t0 < n_tok; t0++) {
		const void *xt[1] = { (const char *)xq + (size_t)t0 * x_stride };
		q32_token_lanes(k, nb, xt[0], 0, 8, dtab, stab);
		/* the rows as 8 streams (kernels.h: eng_dec_run), then neighbouring tiles */
		_Static_assert(ENG_DEC_STREAMS == 8, "the decode tile takes 8 rows");
		const int run = eng_dec_run(n_rows);
		for (int kr = 0; kr < run; kr++) {
			const void *wr[8];
			for (int s = 0; s < 8; s++)
				wr[s] = (const char *)w + (size_t)(s * run + kr) * w_stride;
			q32tile(nb, wr, xt, dtab, stab, res, 8, 1, k, NULL, 0, ENG_DEC_AHEAD);
			for (int s = 0; s < 8; s++)
				out[(size_t)t0 * out_stride + (size_t)(s * run + kr)] = res[s];
		}
		for (int r0 = 8 * run; r0 < n_rows; r0 += 8) {
			const int nr = n_rows - r0 < 8 ? n_rows - r0 : 8;
			const void *wr[8];
			for (int r = 0; r < 8; r++)
				wr[r] = (const char *)w + (size_t)(r0 + (r < nr ? r : nr - 1)) * w_stride;
			/* the next tile's rows, a share per block (as kernels.c's decode tile) */
			const char *pf = nb && r0 + 16 <= n_rows ? (const char *)w + (size_t)(r0 + 8) * w_stride : NULL;
			q32tile(nb, wr, xt, dtab, stab, res, 8, 1, k, pf, pf ? 8 * w_stride / (size_t)nb : 0,
				0); /* stays inside them; nb = 0: none */
			for (int r = 0; r < nr; r++)
				out[(size_t)t0 * out_stride + (size_t)(r0 + r)] = res[r];
		}
	}
}
#define Q32_TILES 1
#else
#define Q32_TILES 0
#endif

/* The kind of a weight type of this file, or -1. */
static int q32_kind_of(uint32_t type)
{
	return type == ENG_TYPE_IQ4_NL ? W_IQ4NL : type == ENG_TYPE_Q4_1 ? W_Q41 : type == ENG_TYPE_Q5_1 ? W_Q51 : -1;
}

int eng_q32_tabled(uint32_t type, int64_t n)
{
	return Q32_TILES && q32_kind_of(type) >= 0 && n % 32 == 0 && n / 32 <= Q32_MAX_BLOCKS;
}

void eng_q32_table_token(uint32_t type, int64_t n, const void *x, int t, float *tables)
{
#if Q32_TILES
	const int64_t nb = n / 32;
	float *dt = tables + ki_table_group(t, nb);
	q32_token_lanes((enum q32_kind)q32_kind_of(type), nb, x, 2 * (t % 4), 2, dt, dt + 8 * nb);
#else
	(void)type, (void)n, (void)x, (void)t, (void)tables;
#endif
}

static void mdot_kind(const enum q32_kind k, uint32_t type, int64_t n, const void *w, size_t w_stride, int n_rows,
		      const void *xq, size_t x_stride, const float *tables, int n_tok, float *out, size_t out_stride)
{
#if Q32_TILES
	if (n / 32 <= Q32_MAX_BLOCKS) {
		if (k == W_IQ4NL)
			mdot_q32(W_IQ4NL, n, w, w_stride, n_rows, xq, x_stride, tables, n_tok, out, out_stride);
		else if (k == W_Q41)
			mdot_q32(W_Q41, n, w, w_stride, n_rows, xq, x_stride, tables, n_tok, out, out_stride);
		else
			mdot_q32(W_Q51, n, w, w_stride, n_rows, xq, x_stride, tables, n_tok, out, out_stride);
		return;
	}
#else
	(void)k, (void)tables;
#endif
	eng_mdot_q8_pairs(type, n, w, w_stride, n_rows, xq, x_stride, n_tok, out, out_stride);
}

void eng_mdot_q32_tabled(uint32_t type, int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			 size_t x_stride, const float *tables, int n_tok, float *out, size_t out_stride)
{
	mdot_kind((enum q32_kind)q32_kind_of(type), type, n, w, w_stride, n_rows, xq, x_stride, tables, n_tok, out,
		  out_stride);
}

void eng_mdot_iq4_nl_q8_0(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq, size_t x_stride,
			  int n_tok, float *out, size_t out_stride)
{
	mdot_kind(W_IQ4NL, ENG_TYPE_IQ4_NL, n, w, w_stride, n_rows, xq, x_stride, NULL, n_tok, out, out_stride);
}

void eng_mdot_q4_1_q8_1(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq, size_t x_stride,
			int n_tok, float *out, size_t out_stride)
{
	mdot_kind(W_Q41, ENG_TYPE_Q4_1, n, w, w_stride, n_rows, xq, x_stride, NULL, n_tok, out, out_stride);
}

void eng_mdot_q5_1_q8_1(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq, size_t x_stride,
			int n_tok, float *out, size_t out_stride)
{
	mdot_kind(W_Q51, ENG_TYPE_Q5_1, n, w, w_stride, n_rows, xq, x_stride, NULL, n_tok, out, out_stride);
}
