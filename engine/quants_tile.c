/* quants_tile.c — multi-token matmul kernels for Q2_K, Q3_K, Q4_K, Q5_K, Q6_K and
 * IQ4_XS weights with Q8_K activations (kernels.h: eng_mdot_q4_K_q8_K and friends).
 *
 * The single-row dots of quants_avx2.c unpack a weight super-block (256 quants,
 * 6-bit scales and mins) for every token it meets. Here each super-block of a few
 * rows is unpacked once into vectors (the quants as unsigned bytes, the scales as
 * int16 pairs ready for madd_epi16) and then dotted with a group of tokens, so the
 * unpacking is paid once per group instead of once per token.
 *
 * Bits: per super-block and (row, token) the integers are exact and the same as
 * the references' in quants.c:
 *   sumi = sum over 16-element groups g of sc[g] * (q . y)_g   (q unsigned here)
 *   summ = sum over g of mn[g] * bsums[g]
 * where for Q2_K/Q4_K/Q5_K mn[g] is the min of g's group (Q4_K/Q5_K: of its
 * 32-element sub-block) and the float step is the references' d * d_x * sumi -
 * dmin * d_x * summ; for Q6_K (quants q - 32) mn[g] = 32 * sc[g] and for Q3_K
 * (quants q - 4) mn[g] = 4 * sc[g], sumi - summ is the reference's integer and the
 * float step d * d_x * (sumi - summ). IQ4_XS's quants are the signed levels of the
 * IQ4_NL table (-127..113) with a signed 6-bit scale per 32 (ls - 32) and no mins:
 * the levels are kept as |q| and q, each token's quants take q's sign (|q| * sign(y, q)
 * = q * y, exact), summ = 0 and the step is d * d_x * sumi, the reference's.
 * Super-blocks are added in order into one float per
 * (row, token), so every output is bit-identical to the single-row kernel
 * (tests/eng_kernels.c compares them bit for bit). With n_tok < 2 there is nothing
 * to share and the single-row kernel of the type table runs.
 *
 * AVX2 + F16C only (as quants_avx2.c); without them the single-row kernels run.
 */
#include "engine/cpu/kernels.h"

#include "engine/quants_int.h"
#include "engine/types.h"

#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>

#define KT_ROWS 4  /* rows unpacked at a time */
#define KT_TOKS 16 /* tokens dotted with them */

struct kunp {
	__m256i q[8];  /* quants 32k..32k+31, unsigned (IQ4_XS: |level|) */
	__m256i qs[8]; /* IQ4_XS only: the signed levels, whose signs the tokens' quants take */
	__m256i sc[8]; /* int16: the scale of elements 32k..32k+15 in lanes 0..7, of 32k+16.. in 8..15 */
	__m256i mn;    /* int16 per 16-element group: its min (Q2_K/Q4_K/Q5_K), 4 * its scale (Q3_K), 32 * it (Q6_K) */
	float d, dmin;
};

static inline int hsum_i32x8(__m256i v)
{
	__m128i s = _mm_add_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0x4e));
	s = _mm_add_epi32(s, _mm_shuffle_epi32(s, 0xb1));
	return _mm_cvtsi128_si32(s);
}

static inline __m256i sc_pair(int lo, int hi)
{
	return _mm256_setr_m128i(_mm_set1_epi16((int16_t)lo), _mm_set1_epi16((int16_t)hi));
}

/* Q4_K / Q5_K: 8 scales and 8 mins of 6 bits (quants_int.h's unpack_k_scales) */
static inline void k4_scales(const uint8_t s[12], struct kunp *u)
{
	int sc[8], m[8];
	int16_t mn[16];
	unpack_k_scales(s, sc, m);
	for (int j = 0; j < 8; j++) {
		u->sc[j] = sc_pair(sc[j], sc[j]);
		mn[2 * j] = mn[2 * j + 1] = (int16_t)m[j];
	}
	u->mn = _mm256_loadu_si256((const __m256i *)mn);
}

/* Q2_K: quants 0..3 (element 128h + 32j + l is bits 2j of qs[32h + l]); per 16-quant
 * group g a 4-bit scale (low nibble) and a 4-bit min (high nibble). */
static inline void unpack_q2_K(const struct blk_q2_K *b, struct kunp *u)
{
	const __m256i m3 = _mm256_set1_epi8(3);
	for (int h = 0; h < 2; h++) {
		const __m256i bits = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * h));
		for (int j = 0; j < 4; j++) {
			const int g = 8 * h + 2 * j;
			u->q[4 * h + j] = _mm256_and_si256(_mm256_srli_epi16(bits, 2 * j), m3);
			u->sc[4 * h + j] = sc_pair(b->scales[g] & 0x0f, b->scales[g + 1] & 0x0f);
		}
	}
	u->mn = _mm256_cvtepu8_epi16(_mm_srli_epi16(_mm_and_si128(_mm_loadu_si128((const __m128i *)b->scales),
								     _mm_set1_epi8((char)0xf0)), 4));
	u->d = _cvtsh_ss(b->d);
	u->dmin = _cvtsh_ss(b->dmin);
}

/* Q3_K: quants q - 4 (q = 2 low bits | 4 where the hmask bit is set, 0..7, taken
 * unsigned here), signed 6-bit scales; as for Q6_K, mn[g] = 4 * sc[g] turns
 * sum sc * (q . y) - sum mn * bsums into the reference's sum sc * ((q - 4) . y). */
static inline void unpack_q3_K(const struct blk_q3_K *b, struct kunp *u)
{
	const __m256i m3 = _mm256_set1_epi8(3), four = _mm256_set1_epi8(4);
	const __m256i hm = _mm256_loadu_si256((const __m256i *)b->hmask);
	int sc[16];
	int16_t mn[16];
	unpack_q3_k_scales(b->scales, sc);
	for (int h = 0; h < 2; h++) {
		const __m256i bits = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * h));
		for (int j = 0; j < 4; j++) {
			const __m256i bit = _mm256_set1_epi8((char)(1u << (4 * h + j)));
			const __m256i set = _mm256_cmpeq_epi8(_mm256_and_si256(hm, bit), bit);
			u->q[4 * h + j] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits, 2 * j), m3),
							  _mm256_and_si256(set, four));
			u->sc[4 * h + j] = sc_pair(sc[8 * h + 2 * j], sc[8 * h + 2 * j + 1]);
		}
	}
	for (int g = 0; g < 16; g++)
		mn[g] = (int16_t)(4 * sc[g]);
	u->mn = _mm256_loadu_si256((const __m256i *)mn);
	u->d = _cvtsh_ss(b->d);
	u->dmin = 0.0f;
}

static inline void unpack_q4_K(const struct blk_q4_K *b, struct kunp *u)
{
	const __m256i m4 = _mm256_set1_epi8(0x0f);
	for (int j = 0; j < 4; j++) {
		const __m256i bits = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * j));
		u->q[2 * j] = _mm256_and_si256(bits, m4);
		u->q[2 * j + 1] = _mm256_and_si256(_mm256_srli_epi16(bits, 4), m4);
	}
	k4_scales(b->scales, u);
	u->d = _cvtsh_ss(b->d);
	u->dmin = _cvtsh_ss(b->dmin);
}

static inline void unpack_q5_K(const struct blk_q5_K *b, struct kunp *u)
{
	const __m256i m4 = _mm256_set1_epi8(0x0f), b4 = _mm256_set1_epi8(0x10);
	__m256i qh = _mm256_loadu_si256((const __m256i *)b->qh);
	for (int j = 0; j < 4; j++) {
		const __m256i bits = _mm256_loadu_si256((const __m256i *)(b->qs + 32 * j));
		/* bit 2j of qh is 0x10 of the low quant, bit 2j+1 of the high one */
		u->q[2 * j] = _mm256_or_si256(_mm256_and_si256(bits, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), b4));
		u->q[2 * j + 1] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(bits, 4), m4),
						  _mm256_and_si256(_mm256_slli_epi16(qh, 3), b4));
		qh = _mm256_srli_epi16(qh, 2);
	}
	k4_scales(b->scales, u);
	u->d = _cvtsh_ss(b->d);
	u->dmin = _cvtsh_ss(b->dmin);
}

static inline void unpack_q6_K(const struct blk_q6_K *b, struct kunp *u)
{
	const __m256i m4 = _mm256_set1_epi8(0x0f), m3 = _mm256_set1_epi8(0x30);
	for (int h = 0; h < 2; h++) {
		const __m256i qh = _mm256_loadu_si256((const __m256i *)(b->qh + 32 * h));
		const __m256i l0 = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h));
		const __m256i l1 = _mm256_loadu_si256((const __m256i *)(b->ql + 64 * h + 32));
		u->q[4 * h] = _mm256_or_si256(_mm256_and_si256(l0, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 4), m3));
		u->q[4 * h + 1] = _mm256_or_si256(_mm256_and_si256(l1, m4), _mm256_and_si256(_mm256_slli_epi16(qh, 2), m3));
		u->q[4 * h + 2] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l0, 4), m4), _mm256_and_si256(qh, m3));
		u->q[4 * h + 3] = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(l1, 4), m4),
						  _mm256_and_si256(_mm256_srli_epi16(qh, 2), m3));
	}
	for (int k = 0; k < 8; k++)
		u->sc[k] = sc_pair(b->scales[2 * k], b->scales[2 * k + 1]);
	u->mn = _mm256_slli_epi16(_mm256_cvtepi8_epi16(_mm_loadu_si128((const __m128i *)b->scales)), 5);
	u->d = _cvtsh_ss(b->d);
	u->dmin = 0.0f;
}

/* IQ4_XS: 8 sub-blocks of 32 levels (byte l of sub-block j: element 32j + l in its low
 * nibble, 32j + 16 + l in its high one), scale ls - 32 of 6 bits (4 in scales_l, 2 in
 * scales_h). */
static inline void unpack_iq4_xs(const struct blk_iq4_xs *b, struct kunp *u)
{
	const __m128i lut = _mm_loadu_si128((const __m128i *)iq4nl_values);
	const __m256i lut2 = _mm256_set_m128i(lut, lut), shift = _mm256_setr_epi64x(0, 0, 4, 4);
	for (int j = 0; j < 8; j++) {
		const __m256i v = _mm256_broadcastsi128_si256(_mm_loadu_si128((const __m128i *)(b->qs + 16 * j)));
		const __m256i nib = _mm256_and_si256(_mm256_srlv_epi64(v, shift), _mm256_set1_epi8(0x0f));
		u->qs[j] = _mm256_shuffle_epi8(lut2, nib);
		u->q[j] = _mm256_sign_epi8(u->qs[j], u->qs[j]);
		const int ls = ((b->scales_l[j / 2] >> (4 * (j % 2))) & 0x0f) | (((b->scales_h >> (2 * j)) & 3) << 4);
		u->sc[j] = sc_pair(ls - 32, ls - 32);
	}
	u->mn = _mm256_setzero_si256();
	u->d = _cvtsh_ss(b->d);
	u->dmin = 0.0f;
}

/* K2 and K4/K5 take the float step with mins, K3, K6 and KI4 (IQ4_XS) the one without */
enum ktype { K2, K3, K4, K5, K6, KI4 };

static inline void unpack(const enum ktype kt, const void *row, int64_t ib, struct kunp *u)
{
	if (kt == K2)
		unpack_q2_K((const struct blk_q2_K *)row + ib, u);
	else if (kt == K3)
		unpack_q3_K((const struct blk_q3_K *)row + ib, u);
	else if (kt == K4)
		unpack_q4_K((const struct blk_q4_K *)row + ib, u);
	else if (kt == K5)
		unpack_q5_K((const struct blk_q5_K *)row + ib, u);
	else if (kt == K6)
		unpack_q6_K((const struct blk_q6_K *)row + ib, u);
	else
		unpack_iq4_xs((const struct blk_iq4_xs *)row + ib, u);
}

/* acc[r * KT_TOKS + t] += the super-block's term for rows r < nr, tokens t < nt */
static inline void kblock(const enum ktype kt, const struct kunp *u, int nr, const struct eng_block_q8_K *const *xt,
			  int64_t ib, int nt, float *acc)
{
	for (int t = 0; t < nt; t++) {
		const struct eng_block_q8_K *a = xt[t] + ib;
		__m256i y[8];
		for (int k = 0; k < 8; k++)
			y[k] = _mm256_loadu_si256((const __m256i *)(a->qs + 32 * k));
		const __m256i bs = _mm256_loadu_si256((const __m256i *)a->bsums);
		for (int r = 0; r < nr; r++) {
			__m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
			for (int k = 0; k < 8; k += 2) {
				const __m256i y0 = kt == KI4 ? _mm256_sign_epi8(y[k], u[r].qs[k]) : y[k];
				const __m256i y1 = kt == KI4 ? _mm256_sign_epi8(y[k + 1], u[r].qs[k + 1]) : y[k + 1];
				s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(_mm256_maddubs_epi16(u[r].q[k], y0), u[r].sc[k]));
				s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(_mm256_maddubs_epi16(u[r].q[k + 1], y1),
									    u[r].sc[k + 1]));
			}
			const int sumi = hsum_i32x8(_mm256_add_epi32(s0, s1));
			const int summ = kt == KI4 ? 0 : hsum_i32x8(_mm256_madd_epi16(u[r].mn, bs));
			float *s = &acc[r * KT_TOKS + t];
			if (kt == K6 || kt == K3 || kt == KI4)
				*s += u[r].d * a->d * (float)(sumi - summ);
			else
				*s += u[r].d * a->d * (float)sumi - u[r].dmin * a->d * (float)summ;
		}
	}
}

static inline void mdot_k(const enum ktype kt, int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq,
			  size_t x_stride, int n_tok, float *out, size_t out_stride)
{
	const int64_t nb = n / QK_K;
	struct kunp u[KT_ROWS];
	float acc[KT_ROWS * KT_TOKS];
	for (int r0 = 0; r0 < n_rows; r0 += KT_ROWS) {
		const int nr = n_rows - r0 < KT_ROWS ? n_rows - r0 : KT_ROWS;
		for (int t0 = 0; t0 < n_tok; t0 += KT_TOKS) {
			const int nt = n_tok - t0 < KT_TOKS ? n_tok - t0 : KT_TOKS;
			const struct eng_block_q8_K *xt[KT_TOKS];
			for (int t = 0; t < nt; t++)
				xt[t] = (const struct eng_block_q8_K *)((const char *)xq + (size_t)(t0 + t) * x_stride);
			for (int i = 0; i < KT_ROWS * KT_TOKS; i++)
				acc[i] = 0.0f;
			for (int64_t ib = 0; ib < nb; ib++) {
				for (int r = 0; r < nr; r++)
					unpack(kt, (const char *)w + (size_t)(r0 + r) * w_stride, ib, &u[r]);
				kblock(kt, u, nr, xt, ib, nt, acc);
			}
			for (int t = 0; t < nt; t++)
				for (int r = 0; r < nr; r++)
					out[(size_t)(t0 + t) * out_stride + (size_t)(r0 + r)] = acc[r * KT_TOKS + t];
		}
	}
}
#endif

/* n_tok < 2, or no AVX2: the type table's single-row kernel, pair by pair */
#if defined(__AVX2__) && defined(__F16C__)
#define MDOT_K(kt, type)                                                                              \
	if (n_tok < 2)                                                                                \
		eng_mdot_q8_pairs(type, n, w, w_stride, n_rows, xq, x_stride, n_tok, out, out_stride); \
	else                                                                                          \
		mdot_k(kt, n, w, w_stride, n_rows, xq, x_stride, n_tok, out, out_stride)
#else
#define MDOT_K(kt, type) eng_mdot_q8_pairs(type, n, w, w_stride, n_rows, xq, x_stride, n_tok, out, out_stride)
#endif

void eng_mdot_q2_K_q8_K(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq, size_t x_stride,
			int n_tok, float *out, size_t out_stride)
{
	MDOT_K(K2, ENG_TYPE_Q2_K);
}

void eng_mdot_q3_K_q8_K(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq, size_t x_stride,
			int n_tok, float *out, size_t out_stride)
{
	MDOT_K(K3, ENG_TYPE_Q3_K);
}

/* Q4_K, Q5_K and Q6_K with several tokens on AVX-512 VNNI CPUs: kernels_vnni.c's tile */
#if defined(__AVX2__) && defined(__F16C__)
#define MDOT_K_VNNI(type)                                                                                \
	if (n_tok >= 2 && eng_cpu_has_vnni()) {                                                          \
		eng_mdot_k_vnni(type, n, w, w_stride, n_rows, xq, x_stride, n_tok, out, out_stride);     \
		return;                                                                                  \
	}
#else
#define MDOT_K_VNNI(type)
#endif

void eng_mdot_q4_K_q8_K(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq, size_t x_stride,
			int n_tok, float *out, size_t out_stride)
{
	MDOT_K_VNNI(ENG_TYPE_Q4_K)
	MDOT_K(K4, ENG_TYPE_Q4_K);
}

void eng_mdot_q5_K_q8_K(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq, size_t x_stride,
			int n_tok, float *out, size_t out_stride)
{
	MDOT_K_VNNI(ENG_TYPE_Q5_K)
	MDOT_K(K5, ENG_TYPE_Q5_K);
}

void eng_mdot_q6_K_q8_K(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq, size_t x_stride,
			int n_tok, float *out, size_t out_stride)
{
	MDOT_K_VNNI(ENG_TYPE_Q6_K)
	MDOT_K(K6, ENG_TYPE_Q6_K);
}

void eng_mdot_iq4_xs_q8_K(int64_t n, const void *w, size_t w_stride, int n_rows, const void *xq, size_t x_stride,
			  int n_tok, float *out, size_t out_stride)
{
	MDOT_K(KI4, ENG_TYPE_IQ4_XS);
}
