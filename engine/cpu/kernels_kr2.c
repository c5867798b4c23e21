/* kernels_kr2.c — Q4_K, Q5_K, Q6_K, Q4_1 and Q5_1 on repack.h's 16-row blocks with AVX2 alone
 * (CPUs without AVX-512 VNNI: AMD Zen 2 and Zen 3, Intel before Ice Lake, most laptops).
 *
 * Read row by row (quants_tile.c, quants_avx2.c), each (row, token, super-block) of these
 * types ends in two 8-lane horizontal sums and a scalar float step: on a Zen 3 host that
 * held a 110M Q4_K_M model's decode to 0.88x llama.cpp's and its prefill to 0.83-1.04x.
 * Here the rows come as repack.h lays them out for kernels_kr.c, each 16-row block as two
 * halves of 8 rows (bytes 32h .. 32h + 31 of every 64-byte vector: rows 8h .. 8h + 7), so
 * a 256-bit vector holds 4 quants of each of 8 rows and one vpmaddubsw with a token's 4
 * activation bytes broadcast gives each row two int16 pair sums; the sums end in the
 * lanes, a row a lane, and the float step runs on 8 rows at once.
 *
 * vpmaddubsw's int16 lanes hold exact sums only up to 32767, so the pair sums are added
 * as int16 for as many chunks as stay below it and then meet their scale in one
 * vpmaddwd (s * (a + b) per 32-bit lane, the scale in both halves of the lane):
 *   Q4_K: a 32-element sub-block, 8 vpmaddubsw, |sum| <= 8 x 2 x 15 x 128 = 30,720;
 *   Q5_K: half a sub-block, 4 vpmaddubsw, <= 4 x 2 x 31 x 128 = 31,744;
 *   Q6_K: half a 16-element group, 2 vpmaddubsw, <= 2 x 2 x 63 x 128 = 32,256;
 *   Q4_1: a 32-element block, 8 vpmaddubsw, as Q4_K; Q5_1: half a block, as Q5_K
 * (128: the largest magnitude of a Q8_K or Q8_1 quant). Q6_K's -32 comes off through the tokens' bsums
 * (summ = sum over groups of scale x bsum, two groups a vpmaddwd), the mins of Q4_K and
 * Q5_K as kernels_kr.c takes them. So each lane ends a super-block with the exact
 * integers of quants.c's reference, and takes its float step in the same order: Q4_K and
 * Q5_K acc + ((d * d_x) * sumi - (dmin * d_x) * summ), Q6_K acc + (d * d_x) * (sumi -
 * 32 summ), Q4_1 and Q5_1 acc + ((float)sumi * (d * d_x) + m * s_x): every (row, token) has the bits of the type's vec_dot_q8 on the file's row
 * (tests/eng_repack.c). */
#include "engine/cpu/repack.h"

#include <string.h>

#include "engine/cpu/kernels.h"
#include "engine/quants_int.h"
#include "engine/types.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__F16C__) && defined(__GNUC__)
#include <immintrin.h>

#define K2_INLINE static inline __attribute__((always_inline))

enum { K2_T = 4 }; /* tokens a pass over a block */

/* The 4 activation bytes at y + i in every lane. */
K2_INLINE __m256i y4(const int8_t *y, int i)
{
	int32_t v;
	memcpy(&v, y + i, 4);
	return _mm256_set1_epi32(v);
}

/* Half h (32 bytes) of the 64-byte vector at v. */
K2_INLINE __m256i half(const uint8_t *v, int h)
{
	return _mm256_load_si256((const __m256i *)(const void *)(v + 32 * h));
}

/* p + the pair sums of the unsigned quants q with the activation bytes y. */
K2_INLINE __m256i pairs(__m256i p, __m256i q, __m256i y)
{
	return _mm256_add_epi16(p, _mm256_maddubs_epi16(q, y));
}

/* The 8 scales at s (unsigned or signed bytes), each in both int16 halves of its lane. */
K2_INLINE __m256i scales_u8(const uint8_t *s)
{
	const __m256i v = _mm256_cvtepu8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)s));
	return _mm256_or_si256(v, _mm256_slli_epi32(v, 16));
}

K2_INLINE __m256i scales_i8(const int8_t *s)
{
	const __m256i v = _mm256_cvtepi8_epi32(_mm_loadl_epi64((const __m128i *)(const void *)s));
	return _mm256_or_si256(_mm256_and_si256(v, _mm256_set1_epi32(0xffff)), _mm256_slli_epi32(v, 16));
}

/* Two int16 as one int32 lane, lo in the low half (vpmaddwd's pair). */
K2_INLINE __m256i pair16(int lo, int hi)
{
	return _mm256_set1_epi32((int)((uint32_t)(uint16_t)hi << 16 | (uint16_t)lo));
}

/* Decode (one token) waits on the weights' loads: the first half's pass over a block asks
 * for the lines K2_PF bytes ahead, group g of a super-block of `groups` its share of them,
 * so every line of the stream is asked for once (the second half finds the block in L1). */
#ifndef K2_PF
#define K2_PF 4096
#endif
K2_INLINE void k2_prefetch(const void *sb, int g, const int groups, const size_t bytes)
{
	const int lines = (int)((bytes / 64 + (size_t)groups - 1) / (size_t)groups);
	for (int k = 0; K2_PF && k < lines; k++)
		if ((size_t)(g * lines + k) * 64 < bytes)
			_mm_prefetch((const char *)sb + K2_PF + 64 * (g * lines + k), _MM_HINT_T0);
}

/* Bit k of each byte of h as its bit 4 (Q5_K's fifth bits; the caller masks). */
K2_INLINE __m256i bit_to4(__m256i h, int k)
{
	return k < 4 ? _mm256_slli_epi16(h, 4 - k) : k > 4 ? _mm256_srli_epi16(h, k - 4) : h;
}

/* Half h of the chunk pair at qv as unsigned quants: lo from its low nibbles, hi from its
 * high; with q5, bits k and k + 1 of hb's bytes as their fifth bits (Q5_K, Q5_1). */
K2_INLINE void nib_pair(const uint8_t *qv, int h, __m256i hb, int k, const int q5, __m256i *lo, __m256i *hi)
{
	const __m256i m4 = _mm256_set1_epi8(0x0f), b4 = _mm256_set1_epi8(0x10);
	const __m256i v = half(qv, h);
	*lo = _mm256_and_si256(v, m4);
	*hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), m4);
	if (q5) {
		*lo = _mm256_or_si256(*lo, _mm256_and_si256(bit_to4(hb, k), b4));
		*hi = _mm256_or_si256(*hi, _mm256_and_si256(bit_to4(hb, k + 1), b4));
	}
}

/* Q4_K (q5 0) or Q5_K: nb super-blocks of half h of one 16-row block x NT tokens, added to acc[t]. */
K2_INLINE void k2_45(int64_t nb, const void *blk, const struct eng_block_q8_K *const *a, int h, __m256 *acc,
		     const int NT, const int q5)
{
	for (int64_t ib = 0; ib < nb; ib++) {
		const struct kr_q4k *b4k = (const struct kr_q4k *)blk + ib;
		const struct kr_q5k *b5k = (const struct kr_q5k *)blk + ib;
		const uint8_t(*q)[64] = q5 ? b5k->q : b4k->q;
		const uint8_t(*sc)[16] = q5 ? b5k->sc : b4k->sc;
		const uint8_t(*mn)[32] = q5 ? b5k->mn : b4k->mn;
		__m256i sumi[K2_T];
		for (int t = 0; t < NT; t++)
			sumi[t] = _mm256_setzero_si256();
		for (int g = 0; g < 8; g++) { /* sub-block g: chunk pairs 4g .. 4g + 3 */
			if (NT == 1 && h == 0)
				k2_prefetch(q5 ? (const void *)b5k : (const void *)b4k, g, 8, q5 ? sizeof *b5k : sizeof *b4k);
			const __m256i s = scales_u8(sc[g] + 8 * h);
			const __m256i hb = q5 ? half(b5k->qh[g], h) : _mm256_setzero_si256();
			__m256i p[K2_T];
			for (int t = 0; t < NT; t++)
				p[t] = _mm256_setzero_si256();
			for (int i = 0; i < 4; i++) {
				const int c = 4 * g + i;
				__m256i lo, hi;
				nib_pair(q[c], h, hb, 2 * i, q5, &lo, &hi);
				for (int t = 0; t < NT; t++) {
					p[t] = pairs(p[t], lo, y4(a[t][ib].qs, 8 * c));
					p[t] = pairs(p[t], hi, y4(a[t][ib].qs, 8 * c + 4));
				}
				if (q5 && i == 1) /* Q5_K: half a sub-block is as much as int16 holds */
					for (int t = 0; t < NT; t++) {
						sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p[t], s));
						p[t] = _mm256_setzero_si256();
					}
			}
			for (int t = 0; t < NT; t++)
				sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p[t], s));
		}
		__m256i mv[4]; /* lane r: the mins of sub-blocks 2m and 2m + 1 of row 8h + r */
		for (int m = 0; m < 4; m++)
			mv[m] = _mm256_cvtepu8_epi16(_mm_load_si128((const __m128i *)(const void *)(mn[m] + 16 * h)));
		const uint16_t *dh = (q5 ? b5k->d : b4k->d) + 8 * h, *mh = (q5 ? b5k->dmin : b4k->dmin) + 8 * h;
		const __m256 d = _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(const void *)dh));
		const __m256 dmin = _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(const void *)mh));
		for (int t = 0; t < NT; t++) {
			const int16_t *bs = a[t][ib].bsums;
			__m256i summ = _mm256_setzero_si256();
			for (int m = 0; m < 4; m++) /* sub-blocks 2m and 2m + 1: two bsums each */
				summ = _mm256_add_epi32(summ, _mm256_madd_epi16(mv[m], pair16(bs[4 * m] + bs[4 * m + 1],
											    bs[4 * m + 2] + bs[4 * m + 3])));
			const __m256 dx = _mm256_set1_ps(a[t][ib].d);
			const __m256 t1 = _mm256_mul_ps(_mm256_mul_ps(d, dx), _mm256_cvtepi32_ps(sumi[t]));
			const __m256 t2 = _mm256_mul_ps(_mm256_mul_ps(dmin, dx), _mm256_cvtepi32_ps(summ));
			acc[t] = _mm256_add_ps(acc[t], _mm256_sub_ps(t1, t2));
		}
	}
}

/* Q6_K: the same for 16-element groups of quants 0..63 with int8 scales. */
K2_INLINE void k2_6(int64_t nb, const void *blk, const struct eng_block_q8_K *const *a, int h, __m256 *acc,
		    const int NT)
{
	const __m256i m4 = _mm256_set1_epi8(0x0f), m30 = _mm256_set1_epi8(0x30);
	for (int64_t ib = 0; ib < nb; ib++) {
		const struct kr_q6k *b = (const struct kr_q6k *)blk + ib;
		__m256i sumi[K2_T], summ[K2_T];
		for (int t = 0; t < NT; t++)
			sumi[t] = summ[t] = _mm256_setzero_si256();
		for (int g = 0; g < 16; g++) {
			if (NT == 1 && h == 0)
				k2_prefetch(b, g, 16, sizeof *b);
			const __m256i hq = half(b->qh[g], h), A = half(b->q[2 * g], h), B = half(b->q[2 * g + 1], h);
			/* chunks 4g + k: the nibble, and bits 2k, 2k + 1 of hq as bits 4-5 */
			const __m256i q0 = _mm256_or_si256(_mm256_and_si256(A, m4),
							   _mm256_and_si256(_mm256_slli_epi16(hq, 4), m30));
			const __m256i q1 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(A, 4), m4),
							   _mm256_and_si256(_mm256_slli_epi16(hq, 2), m30));
			const __m256i q2 = _mm256_or_si256(_mm256_and_si256(B, m4), _mm256_and_si256(hq, m30));
			const __m256i q3 = _mm256_or_si256(_mm256_and_si256(_mm256_srli_epi16(B, 4), m4),
							   _mm256_and_si256(_mm256_srli_epi16(hq, 2), m30));
			const __m256i s = scales_i8(b->sc[g] + 8 * h);
			for (int t = 0; t < NT; t++) {
				const int8_t *y = a[t][ib].qs + 16 * g;
				const __m256i p0 = pairs(_mm256_maddubs_epi16(q0, y4(y, 0)), q1, y4(y, 4));
				const __m256i p1 = pairs(_mm256_maddubs_epi16(q2, y4(y, 8)), q3, y4(y, 12));
				sumi[t] = _mm256_add_epi32(sumi[t], _mm256_add_epi32(_mm256_madd_epi16(p0, s),
										     _mm256_madd_epi16(p1, s)));
			}
		}
		for (int gp = 0; gp < 8; gp++) { /* lane r: the scales of groups 2gp and 2gp + 1 of row 8h + r */
			const __m128i sa = _mm_loadl_epi64((const __m128i *)(const void *)(b->sc[2 * gp] + 8 * h));
			const __m128i sb = _mm_loadl_epi64((const __m128i *)(const void *)(b->sc[2 * gp + 1] + 8 * h));
			const __m256i sp = _mm256_cvtepi8_epi16(_mm_unpacklo_epi8(sa, sb));
			for (int t = 0; t < NT; t++) {
				const int16_t *bs = a[t][ib].bsums;
				summ[t] = _mm256_add_epi32(summ[t], _mm256_madd_epi16(sp, pair16(bs[2 * gp], bs[2 * gp + 1])));
			}
		}
		const __m256 d = _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(const void *)(b->d + 8 * h)));
		for (int t = 0; t < NT; t++) {
			const __m256i si = _mm256_sub_epi32(sumi[t], _mm256_slli_epi32(summ[t], 5));
			acc[t] = _mm256_add_ps(acc[t], _mm256_mul_ps(_mm256_mul_ps(d, _mm256_set1_ps(a[t][ib].d)),
								     _mm256_cvtepi32_ps(si)));
		}
	}
}

/* Q4_1 (q5 0) or Q5_1: nb 32-element units of half h of one 16-row block x NT tokens of Q8_1
 * activations, in the single-row kernel's float step per row: acc + ((float)sumi * (d_w *
 * d_x) + m_w * s_x). */
K2_INLINE void k2_q1(int64_t nb, const void *blk, const struct eng_block_q8_1 *const *a, int h, __m256 *acc,
		     const int NT, const int q5)
{
	const __m256i ones = _mm256_set1_epi16(1);
	for (int64_t ib = 0; ib < nb; ib++) {
		const struct kr_q41 *u4 = (const struct kr_q41 *)blk + ib;
		const struct kr_q51 *u5 = (const struct kr_q51 *)blk + ib;
		if (NT == 1 && h == 0)
			k2_prefetch(q5 ? (const void *)u5 : (const void *)u4, 0, 1, q5 ? sizeof *u5 : sizeof *u4);
		const uint8_t(*q)[64] = q5 ? u5->q : u4->q;
		const __m256i hb = q5 ? half(u5->qh, h) : _mm256_setzero_si256();
		__m256i p[K2_T], sumi[K2_T];
		for (int t = 0; t < NT; t++)
			p[t] = sumi[t] = _mm256_setzero_si256();
		for (int c = 0; c < 4; c++) { /* chunk pair c: elements 8c .. 8c + 3 low, 8c + 4 .. 8c + 7 high */
			__m256i lo, hi;
			nib_pair(q[c], h, hb, 2 * c, q5, &lo, &hi);
			for (int t = 0; t < NT; t++) {
				p[t] = pairs(p[t], lo, y4(a[t][ib].qs, 8 * c));
				p[t] = pairs(p[t], hi, y4(a[t][ib].qs, 8 * c + 4));
			}
			if (c == 3 || (q5 && c == 1)) /* Q4_1: the block in int16; Q5_1: half of it */
				for (int t = 0; t < NT; t++) {
					sumi[t] = _mm256_add_epi32(sumi[t], _mm256_madd_epi16(p[t], ones));
					p[t] = _mm256_setzero_si256();
				}
		}
		const uint16_t *dh = (q5 ? u5->d : u4->d) + 8 * h, *mh = (q5 ? u5->m : u4->m) + 8 * h;
		const __m256 d = _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(const void *)dh));
		const __m256 m = _mm256_cvtph_ps(_mm_load_si128((const __m128i *)(const void *)mh));
		for (int t = 0; t < NT; t++) {
			const __m256 dd = _mm256_mul_ps(d, _mm256_set1_ps(_cvtsh_ss(a[t][ib].d)));
			const __m256 ms = _mm256_mul_ps(m, _mm256_set1_ps(_cvtsh_ss(a[t][ib].s)));
			acc[t] = _mm256_add_ps(acc[t], _mm256_add_ps(_mm256_mul_ps(_mm256_cvtepi32_ps(sumi[t]), dd), ms));
		}
	}
}

/* One 16-row block x NT tokens from t0 into out: each half of 8 rows with a row left
 * (lanes past nr not stored). */
K2_INLINE void k2_pass(uint32_t type, int64_t nb, const void *blk, const void *xq, size_t x_stride, int t0, int nr,
		       float *out, size_t out_stride, const int NT)
{
	const struct eng_block_q8_K *a[K2_T];
	const struct eng_block_q8_1 *a1[K2_T];
	for (int t = 0; t < NT; t++) {
		a[t] = (const struct eng_block_q8_K *)((const char *)xq + (size_t)(t0 + t) * x_stride);
		a1[t] = (const struct eng_block_q8_1 *)(const void *)a[t];
	}
	for (int h = 0; h < 2 && 8 * h < nr; h++) {
		__m256 acc[K2_T];
		for (int t = 0; t < NT; t++)
			acc[t] = _mm256_setzero_ps();
		if (type == ENG_TYPE_Q4_1)
			k2_q1(nb, blk, a1, h, acc, NT, 0);
		else if (type == ENG_TYPE_Q5_1)
			k2_q1(nb, blk, a1, h, acc, NT, 1);
		else if (type == ENG_TYPE_Q6_K)
			k2_6(nb, blk, a, h, acc, NT);
		else if (type == ENG_TYPE_Q5_K)
			k2_45(nb, blk, a, h, acc, NT, 1);
		else
			k2_45(nb, blk, a, h, acc, NT, 0);
		const int left = nr - 8 * h;
		const __m256i keep = _mm256_cmpgt_epi32(_mm256_set1_epi32(left), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
		for (int t = 0; t < NT; t++) {
			float *o = out + (size_t)(t0 + t) * out_stride + 8 * h;
			if (left >= 8)
				_mm256_storeu_ps(o, acc[t]);
			else
				_mm256_maskstore_ps(o, keep, acc[t]);
		}
	}
}

void eng_mdot_kr_avx2(uint32_t type, int64_t n, const void *w, int n_rows, const void *xq, size_t x_stride,
		      int n_tok, float *out, size_t out_stride)
{
	const int64_t nb = n / eng_kr_unit_elems(type);
	const size_t block_bytes = eng_kr_matrix_bytes(type, n, KR_ROWS);
	for (int r0 = 0; r0 < n_rows; r0 += KR_ROWS) {
		const void *blk = (const char *)w + (size_t)(r0 / KR_ROWS) * block_bytes;
		const int nr = n_rows - r0 < KR_ROWS ? n_rows - r0 : KR_ROWS;
		float *o = out + r0;
		int t0 = 0;
		for (; t0 + K2_T <= n_tok; t0 += K2_T)
			k2_pass(type, nb, blk, xq, x_stride, t0, nr, o, out_stride, K2_T);
		switch (n_tok - t0) {
		case 3:
			k2_pass(type, nb, blk, xq, x_stride, t0, nr, o, out_stride, 3);
			break;
		case 2:
			k2_pass(type, nb, blk, xq, x_stride, t0, nr, o, out_stride, 2);
			break;
		case 1:
			k2_pass(type, nb, blk, xq, x_stride, t0, nr, o, out_stride, 1);
			break;
		default:
			break;
		}
	}
}
#else
void eng_mdot_kr_avx2(uint32_t type, int64_t n, const void *w, int n_rows, const void *xq, size_t x_stride,
		      int n_tok, float *out, size_t out_stride)
{ /* never called: eng_kr_avx2_takes (repack.c) says no to every type */
	(void)type, (void)n, (void)w, (void)n_rows, (void)xq, (void)x_stride, (void)n_tok, (void)out, (void)out_stride;
}
#endif
