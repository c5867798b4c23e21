/* kernels_kr.c — Q4_K, Q5_K and Q6_K on repack.h's 16-row blocks, with AVX-512 VNNI.
 *
 * A block of 16 rows meets up to KR_T tokens at a time. For each 4-element chunk, one
 * 64-byte vector holds the 16 rows' quants (two chunks a vector, in its low and high
 * nibbles; Q5_K's fifth and Q6_K's fifth and sixth bits come from qh in the same byte
 * positions), and one vpdpbusd with the token's 4 activation bytes broadcast adds 4
 * products to each row's lane. A group's sum (32 elements for Q4_K/Q5_K, 16 for Q6_K)
 * meets its 16 scales in one vpmulld, so lane r ends the super-block with row r's exact
 * sumi (Q6_K: sumi - summ, its -32 taken off each group through the token's bsums
 * first: the same integer) and, for Q4_K/Q5_K, summ from the mins pairs and bsums
 * pairs in four vpmaddwd. The integers are exact in any order, and the float step runs
 * in the lanes with quants.c's kblock expression per row (Q4_K, Q5_K: acc + ((d * d_x)
 * * sumi - (dmin * d_x) * summ); Q6_K: acc + (d * d_x) * (sumi - summ)), super-block
 * after super-block, so each (row, token) has the bits of the row-by-row dots
 * (tests/eng_repack.c compares them on odd shapes, with every path reaching it). */
#include "engine/cpu/repack.h"

#include <string.h>

#include "engine/cpu/kernels.h"
#include "engine/types.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__F16C__) && defined(__GNUC__)
#include <immintrin.h>

#define KR_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni")))
#define KR_INLINE static inline __attribute__((always_inline)) KR_TARGET

enum { KR_T = 4 }; /* tokens a pass over a block */
#ifndef KR_PF
#define KR_PF 4096
#endif

/* The 4 activation bytes at y + i in every lane. */
KR_INLINE __m512i y4(const int8_t *y, int i)
{
	int32_t v;
	memcpy(&v, y + i, 4);
	return _mm512_set1_epi32(v);
}

/* Bit k of each byte of h moved to bit 4 (the rest of the byte is masked off by the caller). */
KR_INLINE __m512i bit_to4(__m512i h, int k)
{
	return k < 4 ? _mm512_slli_epi16(h, 4 - k) : k > 4 ? _mm512_srli_epi16(h, k - 4) : h;
}

/* Q4_K (q5 0) or Q5_K: nb super-blocks of one 16-row block x NT tokens, added to acc[t]. */
KR_INLINE void kr45(int64_t nb, const void *blk, const struct eng_block_q8_K *const *a, __m512 *acc, const int NT,
		    const int q5)
{
	const __m512i m4 = _mm512_set1_epi8(0x0f), b4 = _mm512_set1_epi8(0x10);
	for (int64_t ib = 0; ib < nb; ib++) {
		const struct kr_q4k *b4k = (const struct kr_q4k *)blk + ib;
		const struct kr_q5k *b5k = (const struct kr_q5k *)blk + ib;
		const uint8_t(*q)[64] = q5 ? b5k->q : b4k->q;
		const uint8_t(*sc)[16] = q5 ? b5k->sc : b4k->sc;
		const uint8_t(*mn)[32] = q5 ? b5k->mn : b4k->mn;
		__m512i sumi[KR_T];
		for (int t = 0; t < NT; t++)
			sumi[t] = _mm512_setzero_si512();
		for (int g = 0; g < 8; g++) {
			__m512i p[KR_T];
			for (int t = 0; t < NT; t++)
				p[t] = _mm512_setzero_si512();
			const __m512i h = q5 ? _mm512_load_si512((const void *)b5k->qh[g]) : _mm512_setzero_si512();
			for (int i = 0; i < 4; i++) {
				const int c = 4 * g + i;
				if (NT == 1)
					_mm_prefetch((const char *)q[c] + KR_PF, _MM_HINT_T0);
				const __m512i v = _mm512_load_si512((const void *)q[c]);
				__m512i lo = _mm512_and_si512(v, m4), hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
				if (q5) { /* chunk 8g + 2i in the low nibbles, 8g + 2i + 1 in the high */
					lo = _mm512_or_si512(lo, _mm512_and_si512(bit_to4(h, 2 * i), b4));
					hi = _mm512_or_si512(hi, _mm512_and_si512(bit_to4(h, 2 * i + 1), b4));
				}
				for (int t = 0; t < NT; t++) {
					p[t] = _mm512_dpbusd_epi32(p[t], lo, y4(a[t][ib].qs, 8 * c));
					p[t] = _mm512_dpbusd_epi32(p[t], hi, y4(a[t][ib].qs, 8 * c + 4));
				}
			}
			const __m512i s = _mm512_cvtepu8_epi32(_mm_load_si128((const __m128i *)sc[g]));
			for (int t = 0; t < NT; t++)
				sumi[t] = _mm512_add_epi32(sumi[t], _mm512_mullo_epi32(p[t], s));
		}
		__m512i mv[4];
		for (int m = 0; m < 4; m++)
			mv[m] = _mm512_cvtepu8_epi16(_mm256_load_si256((const __m256i *)mn[m]));
		const __m512 d = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(q5 ? b5k->d : b4k->d)));
		const __m512 dmin = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(q5 ? b5k->dmin : b4k->dmin)));
		for (int t = 0; t < NT; t++) {
			const int16_t *bs = a[t][ib].bsums;
			__m512i summ = _mm512_setzero_si512();
			for (int m = 0; m < 4; m++) { /* sub-blocks 2m and 2m + 1: two bsums each */
				const int b0 = bs[4 * m] + bs[4 * m + 1], b1 = bs[4 * m + 2] + bs[4 * m + 3];
				summ = _mm512_add_epi32(summ, _mm512_madd_epi16(mv[m], _mm512_set1_epi32((int)((uint32_t)b1 << 16 |
													  ((uint32_t)b0 & 0xffff)))));
			}
			const __m512 dx = _mm512_set1_ps(a[t][ib].d);
			const __m512 t1 = _mm512_mul_ps(_mm512_mul_ps(d, dx), _mm512_cvtepi32_ps(sumi[t]));
			const __m512 t2 = _mm512_mul_ps(_mm512_mul_ps(dmin, dx), _mm512_cvtepi32_ps(summ));
			acc[t] = _mm512_add_ps(acc[t], _mm512_sub_ps(t1, t2));
		}
	}
}

/* Q6_K: the same for 16-element groups with int8 scales. */
KR_INLINE void kr6(int64_t nb, const void *blk, const struct eng_block_q8_K *const *a, __m512 *acc, const int NT)
{
	const __m512i m4 = _mm512_set1_epi8(0x0f), m30 = _mm512_set1_epi8(0x30);
	for (int64_t ib = 0; ib < nb; ib++) {
		const struct kr_q6k *b = (const struct kr_q6k *)blk + ib;
		__m512i sumi[KR_T];
		for (int t = 0; t < NT; t++)
			sumi[t] = _mm512_setzero_si512();
		for (int g = 0; g < 16; g++) {
			if (NT == 1) {
				_mm_prefetch((const char *)b->q[2 * g] + KR_PF, _MM_HINT_T0);
				_mm_prefetch((const char *)b->q[2 * g + 1] + KR_PF, _MM_HINT_T0);
				_mm_prefetch((const char *)b->qh[g] + KR_PF, _MM_HINT_T0);
			}
			const __m512i h = _mm512_load_si512((const void *)b->qh[g]);
			const __m512i A = _mm512_load_si512((const void *)b->q[2 * g]);
			const __m512i B = _mm512_load_si512((const void *)b->q[2 * g + 1]);
			__m512i qk[4]; /* chunks 4g + k: the nibble and bits 2k, 2k + 1 of h as bits 4-5 */
			qk[0] = _mm512_or_si512(_mm512_and_si512(A, m4), _mm512_and_si512(_mm512_slli_epi16(h, 4), m30));
			qk[1] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(A, 4), m4),
						_mm512_and_si512(_mm512_slli_epi16(h, 2), m30));
			qk[2] = _mm512_or_si512(_mm512_and_si512(B, m4), _mm512_and_si512(h, m30));
			qk[3] = _mm512_or_si512(_mm512_and_si512(_mm512_srli_epi16(B, 4), m4),
						_mm512_and_si512(_mm512_srli_epi16(h, 2), m30));
			const __m512i s = _mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)b->sc[g]));
			for (int t = 0; t < NT; t++) {
				__m512i p = _mm512_set1_epi32(-32 * a[t][ib].bsums[g]);
				for (int k = 0; k < 4; k++)
					p = _mm512_dpbusd_epi32(p, qk[k], y4(a[t][ib].qs, 16 * g + 4 * k));
				sumi[t] = _mm512_add_epi32(sumi[t], _mm512_mullo_epi32(p, s));
			}
		}
		const __m512 d = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)b->d));
		for (int t = 0; t < NT; t++)
			acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(_mm512_mul_ps(d, _mm512_set1_ps(a[t][ib].d)),
								     _mm512_cvtepi32_ps(sumi[t])));
	}
}

/* One 16-row block x NT tokens from t0 into out (lanes past nr not stored). */
KR_INLINE void kr_pass(uint32_t type, int64_t nb, const void *blk, const void *xq, size_t x_stride, int t0, int nr,
		       float *out, size_t out_stride, const int NT)
{
	const struct eng_block_q8_K *a[KR_T];
	__m512 acc[KR_T];
	for (int t = 0; t < NT; t++) {
		a[t] = (const struct eng_block_q8_K *)((const char *)xq + (size_t)(t0 + t) * x_stride);
		acc[t] = _mm512_setzero_ps();
	}
	if (type == ENG_TYPE_Q6_K)
		kr6(nb, blk, a, acc, NT);
	else if (type == ENG_TYPE_Q5_K)
		kr45(nb, blk, a, acc, NT, 1);
	else
		kr45(nb, blk, a, acc, NT, 0);
	const __mmask16 keep = (__mmask16)((1u << nr) - 1);
	for (int t = 0; t < NT; t++)
		_mm512_mask_storeu_ps(out + (size_t)(t0 + t) * out_stride, keep, acc[t]);
}

KR_TARGET void eng_mdot_kr(uint32_t type, int64_t n, const void *w, int n_rows, const void *xq, size_t x_stride,
			   int n_tok, float *out, size_t out_stride)
{
	const int64_t nb = n / 256;
	const size_t block_bytes = (size_t)nb * eng_kr_superblock_bytes(type);
	for (int r0 = 0; r0 < n_rows; r0 += KR_ROWS) {
		const void *blk = (const char *)w + (size_t)(r0 / KR_ROWS) * block_bytes;
		const int nr = n_rows - r0 < KR_ROWS ? n_rows - r0 : KR_ROWS;
		float *o = out + r0;
		int t0 = 0;
		for (; t0 + KR_T <= n_tok; t0 += KR_T)
			kr_pass(type, nb, blk, xq, x_stride, t0, nr, o, out_stride, KR_T);
		switch (n_tok - t0) {
		case 3:
			kr_pass(type, nb, blk, xq, x_stride, t0, nr, o, out_stride, 3);
			break;
		case 2:
			kr_pass(type, nb, blk, xq, x_stride, t0, nr, o, out_stride, 2);
			break;
		case 1:
			kr_pass(type, nb, blk, xq, x_stride, t0, nr, o, out_stride, 1);
			break;
		default:
			break;
		}
	}
}
#else
void eng_mdot_kr(uint32_t type, int64_t n, const void *w, int n_rows, const void *xq, size_t x_stride, int n_tok,
		 float *out, size_t out_stride)
{ /* never called: repack.c repacks only where eng_cpu_has_vnni() */
	(void)type, (void)n, (void)w, (void)n_rows, (void)xq, (void)x_stride, (void)n_tok, (void)out, (void)out_stride;
}
#endif
