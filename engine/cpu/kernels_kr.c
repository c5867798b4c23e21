/* kernels_kr.c — Q2_K..Q6_K, IQ4_XS, Q4_1, Q5_1, Q8_0, Q4_0, Q5_0 and IQ4_NL on repack.h's 16-row blocks, with AVX-512 VNNI.
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
 * after super-block; Q8_0, Q4_0, Q5_0 and IQ4_NL as the per-call interleaved tiles (kernels_int.h: the
 * sums start at -bias x the token's block sum, acc + (float)sumi * (d_w * d_x) per block),
 * so each (row, token) has the bits of the row-by-row dots
 * (tests/eng_repack.c compares them on odd shapes, with every path reaching it). */
#include "engine/cpu/repack.h"

#include <stdatomic.h>
#include <string.h>

#include "engine/cpu/kernels.h"
#include "engine/cpu/kernels_int.h"
#include "engine/quants_int.h"
#include "engine/types.h"

#if defined(__x86_64__) && defined(__AVX2__) && defined(__F16C__) && defined(__GNUC__)
#include <immintrin.h>

#define KR_TARGET __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,gfni")))
#define KR_INLINE static inline __attribute__((always_inline)) KR_TARGET

enum { KR_T = 4 }; /* tokens a pass over a block */
/* kr_rows_ilv: rows of at most this many 32-element blocks, from this many tokens on */
enum { KR_ILV_MAX_BLOCKS = 256, KR_ILV_MIN_TOK = 8 };
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

/* Decode streams the blocks once: group g of a super-block of `groups` at sb prefetches
 * its share of the cache lines of the super-block KR_PF bytes ahead, so every line of
 * the stream is asked for once (a line per load of the quants missed the scales, and
 * Q6_K's stalls on the lines left out were half its time). */
KR_INLINE void kr_prefetch(const void *sb, int g, const int groups, const size_t bytes)
{
	const int lines = (int)((bytes / 64 + (size_t)groups - 1) / (size_t)groups);
	for (int k = 0; k < lines; k++)
		if ((size_t)(g * lines + k) * 64 < bytes)
			_mm_prefetch((const char *)sb + KR_PF + 64 * (g * lines + k), _MM_HINT_T0);
}

/* Bits k0 and k0 + 1 (q6) or bit k0 alone of each byte of h as its bits 4 (and 5), the
 * rest 0: one vgf2p8affineqb (byte 7 - i of the matrix qword selects output bit i), or
 * (no GFNI) shifts and a mask. */
KR_INLINE __m512i high_bits(__m512i h, int k0, const int q6, const int gf)
{
	if (gf) {
		const uint64_t mat = q6 ? (uint64_t)(1u << k0) << 24 | (uint64_t)(1u << (k0 + 1)) << 16 : (uint64_t)(1u << k0) << 24;
		return _mm512_gf2p8affine_epi64_epi8(h, _mm512_set1_epi64((long long)mat), 0);
	}
	return _mm512_and_si512(bit_to4(h, k0), _mm512_set1_epi8(q6 ? 0x30 : 0x10));
}

/* (v & m4) | hb: the nibble and the high bits (one vpternlogd). */
KR_INLINE __m512i with_high(__m512i v, __m512i hb, __m512i m4)
{
	return _mm512_ternarylogic_epi32(v, hb, m4, 0xec);
}

/* How a chunk pair's nibbles become quants: as they are (Q4_K, Q4_1, Q4_0), with fifth bits
 * (Q5_K, Q5_1, Q5_0), or as indices into the IQ4_NL levels + 128 (IQ4_NL). */
enum { NIB_PLAIN = 0, NIB_Q5 = 1, NIB_IQ4 = 2 };

/* The 64-byte vector at qv (a chunk pair of 16 rows) as two vectors of unsigned quants: lo
 * from its low nibbles, hi from its high; NIB_Q5: with the fifth bits k and k + 1 of h's
 * bytes; NIB_IQ4: each looked up (vpshufb) in the levels + 128. */
KR_INLINE void nib_unpack(const void *qv, __m512i h, int k, const int mode, const int gf, __m512i *lo, __m512i *hi)
{
	const __m512i m4 = _mm512_set1_epi8(0x0f);
	const __m512i v = _mm512_load_si512(qv);
	if (mode == NIB_Q5) {
		*lo = with_high(v, high_bits(h, k, 0, gf), m4);
		*hi = with_high(_mm512_srli_epi16(v, 4), high_bits(h, k + 1, 0, gf), m4);
		return;
	}
	*lo = _mm512_and_si512(v, m4);
	*hi = _mm512_and_si512(_mm512_srli_epi16(v, 4), m4);
	if (mode == NIB_IQ4) {
		const __m512i lut = _mm512_broadcast_i32x4(
			_mm_add_epi8(_mm_loadu_si128((const __m128i *)iq4nl_values), _mm_set1_epi8((char)0x80)));
		*lo = _mm512_shuffle_epi8(lut, *lo);
		*hi = _mm512_shuffle_epi8(lut, *hi);
	}
}

/* The chunk pair at qv (its low nibbles elements off..off + 3 of 16 rows, its high
 * nibbles off + 4..off + 7; unpacked as mode says) x NT tokens' activation quants at
 * y[t], added to p[t]. */
KR_INLINE void nib_pair(const void *qv, __m512i h, int k, const int8_t *const *y, int off, __m512i *p, const int NT,
			const int mode, const int gf)
{
	__m512i lo, hi;
	nib_unpack(qv, h, k, mode, gf, &lo, &hi);
	for (int t = 0; t < NT; t++) {
		p[t] = _mm512_dpbusd_epi32(p[t], lo, y4(y[t], off));
		p[t] = _mm512_dpbusd_epi32(p[t], hi, y4(y[t], off + 4));
	}
}

/* Q4_K (q5 0) or Q5_K: nb super-blocks of one 16-row block x NT tokens, added to acc[t]. */
KR_INLINE void kr45(int64_t nb, const void *blk, const struct eng_block_q8_K *const *a, __m512 *acc, const int NT,
		    const int q5, const int gf)
{
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
			if (NT == 1)
				kr_prefetch(q5 ? (const void *)b5k : (const void *)b4k, g, 8, q5 ? sizeof *b5k : sizeof *b4k);
			const __m512i h = q5 ? _mm512_load_si512((const void *)b5k->qh[g]) : _mm512_setzero_si512();
			const int8_t *y[KR_T];
			for (int t = 0; t < NT; t++)
				y[t] = a[t][ib].qs;
			for (int i = 0; i < 4; i++) /* chunk 8g + 2i in the low nibbles, 8g + 2i + 1 in the high */
				nib_pair(q[4 * g + i], h, 2 * i, y, 8 * (4 * g + i), p, NT, q5, gf);
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
KR_INLINE void kr6(int64_t nb, const void *blk, const struct eng_block_q8_K *const *a, __m512 *acc, const int NT,
		   const int gf)
{
	const __m512i m4 = _mm512_set1_epi8(0x0f);
	for (int64_t ib = 0; ib < nb; ib++) {
		const struct kr_q6k *b = (const struct kr_q6k *)blk + ib;
		__m512i sumi[KR_T];
		for (int t = 0; t < NT; t++)
			sumi[t] = _mm512_setzero_si512();
		for (int g = 0; g < 16; g++) {
			if (NT == 1)
				kr_prefetch(b, g, 16, sizeof *b);
			const __m512i h = _mm512_load_si512((const void *)b->qh[g]);
			const __m512i A = _mm512_load_si512((const void *)b->q[2 * g]);
			const __m512i B = _mm512_load_si512((const void *)b->q[2 * g + 1]);
			__m512i qk[4]; /* chunks 4g + k: the nibble and bits 2k, 2k + 1 of h as bits 4-5 */
			qk[0] = with_high(A, high_bits(h, 0, 1, gf), m4);
			qk[1] = with_high(_mm512_srli_epi16(A, 4), high_bits(h, 2, 1, gf), m4);
			qk[2] = with_high(B, high_bits(h, 4, 1, gf), m4);
			qk[3] = with_high(_mm512_srli_epi16(B, 4), high_bits(h, 6, 1, gf), m4);
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

/* Bits 2k and 2k + 1 of each byte of v as its bits 0-1, the rest 0 (Q2_K/Q3_K's planes). */
KR_INLINE __m512i two_bits(__m512i v, int k, const int gf)
{
	if (gf)
		return _mm512_gf2p8affine_epi64_epi8(
			v, _mm512_set1_epi64((long long)((uint64_t)(1u << (2 * k)) << 56 | (uint64_t)(1u << (2 * k + 1)) << 48)), 0);
	return _mm512_and_si512(k ? _mm512_srli_epi16(v, 2 * k) : v, _mm512_set1_epi8(3));
}

/* Bit b of each byte of h as its bit 2, the rest 0 (Q3_K's third bit). */
KR_INLINE __m512i third_bit(__m512i h, int b, const int gf)
{
	if (gf)
		return _mm512_gf2p8affine_epi64_epi8(h, _mm512_set1_epi64((long long)((uint64_t)(1u << b) << 40)), 0);
	const __m512i x = b < 2 ? _mm512_slli_epi16(h, 2 - b) : b > 2 ? _mm512_srli_epi16(h, b - 2) : h;
	return _mm512_and_si512(x, _mm512_set1_epi8(4));
}

/* Q2_K (q3 0) or Q3_K: nb super-blocks of one 16-row block x NT tokens, added to acc[t].
 * A 16-element group is one vector of 2-bit planes; Q2_K's scales and mins come as the
 * file's bytes paired by group (vpmovzxbw: lane r's int16s are groups 2m and 2m + 1, so
 * the low nibbles masked are the scales as int32 lanes and the high nibbles the mins
 * pairs of vpmaddwd); Q3_K's -4 comes off each group through the bsums, as Q6_K's -32. */
KR_INLINE void kr23(int64_t nb, const void *blk, const struct eng_block_q8_K *const *a, __m512 *acc, const int NT,
		    const int q3, const int gf)
{
	const __m512i m0f = _mm512_set1_epi32(0x0f);
	for (int64_t ib = 0; ib < nb; ib++) {
		const struct kr_q2k *b2 = (const struct kr_q2k *)blk + ib;
		const struct kr_q3k *b3 = (const struct kr_q3k *)blk + ib;
		const uint8_t(*q)[64] = q3 ? b3->q : b2->q;
		__m512i sumi[KR_T], summ[KR_T];
		for (int t = 0; t < NT; t++)
			sumi[t] = summ[t] = _mm512_setzero_si512();
		for (int m = 0; m < 8; m++) {
			if (NT == 1)
				kr_prefetch(q3 ? (const void *)b3 : (const void *)b2, m, 8, q3 ? sizeof *b3 : sizeof *b2);
			__m512i s2[2], mins = _mm512_setzero_si512(), h = _mm512_setzero_si512();
			if (q3) {
				h = _mm512_load_si512((const void *)b3->qh[m]);
				for (int gg = 0; gg < 2; gg++)
					s2[gg] = _mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)b3->sc[2 * m + gg]));
			} else {
				const __m512i v = _mm512_cvtepu8_epi16(_mm256_load_si256((const __m256i *)b2->scm[m]));
				s2[0] = _mm512_and_si512(v, m0f);
				s2[1] = _mm512_and_si512(_mm512_srli_epi32(v, 16), m0f);
				mins = _mm512_srli_epi16(v, 4);
			}
			for (int gg = 0; gg < 2; gg++) {
				const int g = 2 * m + gg;
				const __m512i v = _mm512_load_si512((const void *)q[g]);
				__m512i u[4];
				for (int k = 0; k < 4; k++)
					u[k] = q3 ? _mm512_or_si512(two_bits(v, k, gf), third_bit(h, 4 * gg + k, gf))
						  : two_bits(v, k, gf);
				for (int t = 0; t < NT; t++) {
					__m512i p = q3 ? _mm512_set1_epi32(-4 * a[t][ib].bsums[g]) : _mm512_setzero_si512();
					for (int k = 0; k < 4; k++)
						p = _mm512_dpbusd_epi32(p, u[k], y4(a[t][ib].qs, 16 * g + 4 * k));
					sumi[t] = _mm512_add_epi32(sumi[t], _mm512_mullo_epi32(p, s2[gg]));
				}
			}
			if (!q3)
				for (int t = 0; t < NT; t++) {
					const int16_t *bs = a[t][ib].bsums;
					summ[t] = _mm512_add_epi32(summ[t], _mm512_madd_epi16(mins, _mm512_set1_epi32((int)(
						(uint32_t)(uint16_t)bs[2 * m + 1] << 16 | (uint16_t)bs[2 * m]))));
				}
		}
		const __m512 d = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(q3 ? b3->d : b2->d)));
		for (int t = 0; t < NT; t++) {
			const __m512 dx = _mm512_set1_ps(a[t][ib].d);
			const __m512 t1 = _mm512_mul_ps(_mm512_mul_ps(d, dx), _mm512_cvtepi32_ps(sumi[t]));
			if (q3) {
				acc[t] = _mm512_add_ps(acc[t], t1);
			} else {
				const __m512 dmin = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)b2->dmin));
				const __m512 t2 = _mm512_mul_ps(_mm512_mul_ps(dmin, dx), _mm512_cvtepi32_ps(summ[t]));
				acc[t] = _mm512_add_ps(acc[t], _mm512_sub_ps(t1, t2));
			}
		}
	}
}

/* IQ4_XS: the indices as Q4_K's quants, each looked up (vpshufb) in the 16 levels + 128,
 * unsigned for vpdpbusd; the 128 x the sub-block's activation sum comes off first. */
KR_INLINE void kri4(int64_t nb, const void *blk, const struct eng_block_q8_K *const *a, __m512 *acc, const int NT)
{
	const __m512i m4 = _mm512_set1_epi8(0x0f);
	const __m512i lut = _mm512_broadcast_i32x4(_mm_add_epi8(_mm_loadu_si128((const __m128i *)iq4nl_values),
								_mm_set1_epi8((char)0x80)));
	for (int64_t ib = 0; ib < nb; ib++) {
		const struct kr_iq4xs *b = (const struct kr_iq4xs *)blk + ib;
		__m512i sumi[KR_T];
		for (int t = 0; t < NT; t++)
			sumi[t] = _mm512_setzero_si512();
		for (int g = 0; g < 8; g++) {
			if (NT == 1)
				kr_prefetch(b, g, 8, sizeof *b);
			__m512i p[KR_T];
			for (int t = 0; t < NT; t++)
				p[t] = _mm512_set1_epi32(-128 * (a[t][ib].bsums[2 * g] + a[t][ib].bsums[2 * g + 1]));
			for (int i = 0; i < 4; i++) {
				const int c = 4 * g + i;
				const __m512i v = _mm512_load_si512((const void *)b->q[c]);
				const __m512i lo = _mm512_shuffle_epi8(lut, _mm512_and_si512(v, m4));
				const __m512i hi = _mm512_shuffle_epi8(lut, _mm512_and_si512(_mm512_srli_epi16(v, 4), m4));
				for (int t = 0; t < NT; t++) {
					p[t] = _mm512_dpbusd_epi32(p[t], lo, y4(a[t][ib].qs, 8 * c));
					p[t] = _mm512_dpbusd_epi32(p[t], hi, y4(a[t][ib].qs, 8 * c + 4));
				}
			}
			const __m512i s = _mm512_cvtepi8_epi32(_mm_load_si128((const __m128i *)b->sc[g]));
			for (int t = 0; t < NT; t++)
				sumi[t] = _mm512_add_epi32(sumi[t], _mm512_mullo_epi32(p[t], s));
		}
		const __m512 d = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)b->d));
		for (int t = 0; t < NT; t++)
			acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(_mm512_mul_ps(d, _mm512_set1_ps(a[t][ib].d)),
								     _mm512_cvtepi32_ps(sumi[t])));
	}
}

/* Q4_1 (q5 0) or Q5_1: nb 32-element blocks of one 16-row block x NT tokens of Q8_1
 * activations, in the single-row kernel's float step per row: acc + ((float)sumi *
 * (d_w * d_x) + m_w * s_x). */
KR_INLINE void krq1(int64_t nb, const void *blk, const struct eng_block_q8_1 *const *a, __m512 *acc, const int NT,
		    const int q5, const int gf)
{
	for (int64_t ib = 0; ib < nb; ib++) {
		const struct kr_q41 *b4 = (const struct kr_q41 *)blk + ib;
		const struct kr_q51 *b5 = (const struct kr_q51 *)blk + ib;
		if (NT == 1)
			kr_prefetch(q5 ? (const void *)b5 : (const void *)b4, 0, 1, q5 ? sizeof *b5 : sizeof *b4);
		const uint8_t(*q)[64] = q5 ? b5->q : b4->q;
		const __m512i h = q5 ? _mm512_load_si512((const void *)b5->qh) : _mm512_setzero_si512();
		__m512i p[KR_T];
		for (int t = 0; t < NT; t++)
			p[t] = _mm512_setzero_si512();
		const int8_t *y[KR_T];
		for (int t = 0; t < NT; t++)
			y[t] = a[t][ib].qs;
		for (int c = 0; c < 4; c++)
			nib_pair(q[c], h, 2 * c, y, 8 * c, p, NT, q5, gf);
		const __m512 d = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(q5 ? b5->d : b4->d)));
		const __m512 m = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)(q5 ? b5->m : b4->m)));
		for (int t = 0; t < NT; t++) {
			const __m512 dd = _mm512_mul_ps(d, _mm512_set1_ps(_cvtsh_ss(a[t][ib].d)));
			const __m512 ms = _mm512_mul_ps(m, _mm512_set1_ps(_cvtsh_ss(a[t][ib].s)));
			acc[t] = _mm512_add_ps(acc[t], _mm512_add_ps(_mm512_mul_ps(_mm512_cvtepi32_ps(p[t]), dd), ms));
		}
	}
}

/* The units' kinds (repack.h): 4-bit chunk pairs unpacked as nib_unpack's modes (Q4_0;
 * Q5_0 with its fifth bits; IQ4_NL's indices looked up in the levels + 128), or Q8_0's bytes. */
enum { Q0_Q4 = NIB_PLAIN, Q0_Q5 = NIB_Q5, Q0_IQ4 = NIB_IQ4, Q0_Q8 };

/* Q8_0, Q4_0, Q5_0 or IQ4_NL (kind): nb units (two blocks each) of one 16-row block x NT
 * tokens of Q8_0 activations; grp is their group of eng_q8_tables_fill's tables
 * (kernels.c: token t's block ib has d_x at grp[8 ib + 2 t] and bias x its sum at the
 * int32 8 x blocks later). */
KR_INLINE void krq0(int64_t nb, const void *blk, const struct eng_block_q8_0 *const *a, const float *grp, __m512 *acc,
		    const int NT, const int kind, const int gf)
{
	const int32_t *sxv = (const int32_t *)(const void *)(grp + 16 * nb);
	const size_t ub = kind == Q0_Q8 ? sizeof(struct kr_q80) : kind == Q0_Q5 ? sizeof(struct kr_q50) : sizeof(struct kr_q40);
	for (int64_t iu = 0; iu < nb; iu++) {
		const char *u = (const char *)blk + (size_t)iu * ub;
		const struct kr_q80 *b8 = (const void *)u;
		const struct kr_q40 *b4 = (const void *)u;
		const struct kr_q50 *b5 = (const void *)u;
		if (NT == 1)
			kr_prefetch(u, 0, 1, ub);
		for (int k = 0; k < 2; k++) {
			const int64_t ib = 2 * iu + k;
			__m512i p[KR_T];
			const int8_t *y[KR_T];
			for (int t = 0; t < NT; t++) {
				p[t] = _mm512_set1_epi32(-sxv[8 * ib + 2 * t]);
				y[t] = a[t][ib].qs;
			}
			if (kind == Q0_Q8)
				for (int g = 0; g < 8; g++) {
					const __m512i v = _mm512_load_si512((const void *)b8->q[8 * k + g]);
					for (int t = 0; t < NT; t++)
						p[t] = _mm512_dpbusd_epi32(p[t], v, y4(y[t], 4 * g));
				}
			else
				for (int c = 0; c < 4; c++)
					nib_pair(b4->q[4 * k + c],
						 kind == Q0_Q5 ? _mm512_load_si512((const void *)b5->qh[k]) : _mm512_setzero_si512(),
						 2 * c, y, 8 * c, p, NT, kind, gf);
			const uint16_t *dh = kind == Q0_Q8 ? b8->d[k] : kind == Q0_Q5 ? b5->d[k] : b4->d[k];
			const __m512 dw = _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)dh));
			for (int t = 0; t < NT; t++) {
				const __m512 d = _mm512_mul_ps(dw, _mm512_set1_ps(grp[8 * ib + 2 * t]));
				acc[t] = _mm512_add_ps(acc[t], _mm512_mul_ps(_mm512_cvtepi32_ps(p[t]), d));
			}
		}
	}
}

/* Prefill of Q4_0, Q5_0 and IQ4_NL: one 16-row block's units unpacked into
 * kernels.h's ENG_ILV16_BLOCK blocks (vector g: bytes 4g .. 4g + 3 of the 16 rows, the
 * quants unsigned as krq0 reads them; then the 16 scales as floats), so that the nibbles
 * are unpacked once a call rather than once a pass of 4 tokens (10% of a SmolLM2 Q5_0
 * pp512 before); every group of 4 tokens then runs eng_ilv16_tile_vnni, whose lanes take
 * krq0's integers and float steps (the same bits). */
KR_INLINE void kr_unpack16(int64_t nu, const void *blk, uint8_t *pk, const int kind, const int gf)
{
	const size_t ub = kind == Q0_Q5 ? sizeof(struct kr_q50) : sizeof(struct kr_q40);
	for (int64_t iu = 0; iu < nu; iu++) {
		const struct kr_q40 *b4 = (const void *)((const char *)blk + (size_t)iu * ub);
		const struct kr_q50 *b5 = (const void *)b4;
		for (int k = 0; k < 2; k++) {
			uint8_t *b = pk + (size_t)(2 * iu + k) * ENG_ILV16_BLOCK;
			const __m512i h = kind == Q0_Q5 ? _mm512_load_si512((const void *)b5->qh[k]) : _mm512_setzero_si512();
			for (int c = 0; c < 4; c++) {
				__m512i lo, hi;
				nib_unpack(b4->q[4 * k + c], h, 2 * c, kind, gf, &lo, &hi);
				_mm512_store_si512((void *)(b + 128 * c), lo);
				_mm512_store_si512((void *)(b + 128 * c + 64), hi);
			}
			const uint16_t *dh = kind == Q0_Q5 ? b5->d[k] : b4->d[k];
			_mm512_store_ps((void *)(b + 512), _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)dh)));
		}
	}
}

KR_INLINE void kr_rows_ilv(int64_t n, const void *w, int n_rows, const void *xq, size_t x_stride, int n_tok,
			   const float *tables, float *out, size_t out_stride, const int kind, const int gf)
{
	_Alignas(64) uint8_t pk[KR_ILV_MAX_BLOCKS * ENG_ILV16_BLOCK];
	float res[4 * KR_ROWS];
	const int64_t nbl = n / 32;
	const size_t block_bytes = (size_t)(n / 64) * (kind == Q0_Q5 ? sizeof(struct kr_q50) : sizeof(struct kr_q40));
	for (int r0 = 0; r0 < n_rows; r0 += KR_ROWS) {
		const int nr = n_rows - r0 < KR_ROWS ? n_rows - r0 : KR_ROWS;
		kr_unpack16(n / 64, (const char *)w + (size_t)(r0 / KR_ROWS) * block_bytes, pk, kind, gf);
		for (int t0 = 0; t0 < n_tok; t0 += KR_T) {
			const int nt = n_tok - t0 < KR_T ? n_tok - t0 : KR_T;
			const void *xt[KR_T];
			for (int t = 0; t < KR_T; t++)
				xt[t] = (const char *)xq + (size_t)(t0 + (t < nt ? t : 0)) * x_stride;
			const float *dxv = tables + (size_t)t0 * 4 * (size_t)nbl; /* its group (16 floats a block) */
			const int direct = nr == KR_ROWS;
			float *dst = direct ? out + (size_t)t0 * out_stride + (size_t)r0 : res;
			eng_ilv16_tile_vnni(nbl, pk, xt, dxv, (const int32_t *)(const void *)(dxv + 8 * nbl), dst,
					    direct ? out_stride : KR_ROWS, nt);
			for (int t = 0; !direct && t < nt; t++)
				memcpy(out + (size_t)(t0 + t) * out_stride + (size_t)r0, res + KR_ROWS * t,
				       (size_t)nr * sizeof(float));
		}
	}
}

/* Q8_0 / Q4_0 / Q5_0 / IQ4_NL, tokens 0 .. n16 - 1 (a multiple of 16) on AMX tiles
 * (kernels_amx.c): each 16-row block (the 4-bit types unpacked first, as kr_rows_ilv does)
 * meets 16 tokens a tile; the same bits as the VNNI tiles. The tokens' quants are first laid
 * out as A tiles (contiguous 512-byte blocks, where the strided rows of xq made each tile
 * load wait on 16 cache lines), as many tokens as abuf holds at a time. */
KR_INLINE void kr_rows_amx(uint32_t type, int64_t n, const void *w, int n_rows, const void *xq, size_t x_stride,
			   int n16, const float *tables, float *out, size_t out_stride, const int gf)
{
	_Alignas(64) uint8_t pk[KR_ILV_MAX_BLOCKS * ENG_ILV16_BLOCK];
	_Alignas(64) uint8_t abuf[128 * 1024];
	const int64_t nbl = n / 32;
	const int q8 = type == ENG_TYPE_Q8_0;
	const int kind = type == ENG_TYPE_Q5_0 ? Q0_Q5 : type == ENG_TYPE_IQ4_NL ? Q0_IQ4 : Q0_Q4;
	const size_t block_bytes = eng_kr_matrix_bytes(type, n, KR_ROWS);
	const int per = (int)(sizeof abuf / ((size_t)n * 16)) * 16; /* tokens a pass; 0: too long to pack */
	eng_amx_begin();
	for (int s0 = 0; s0 < n16; s0 += per ? per : n16) {
		const int s1 = per && s0 + per < n16 ? s0 + per : n16;
		for (int t0 = s0; per && t0 < s1; t0 += 16)
			eng_amx_pack_a(nbl, (const char *)xq + (size_t)t0 * x_stride, x_stride,
				       abuf + (size_t)(t0 - s0) * (size_t)n);
		for (int r0 = 0; r0 < n_rows; r0 += KR_ROWS) {
			const int nr = n_rows - r0 < KR_ROWS ? n_rows - r0 : KR_ROWS;
			const char *blk = (const char *)w + (size_t)(r0 / KR_ROWS) * block_bytes;
			if (!q8)
				kr_unpack16(n / 64, blk, pk, kind, kind == Q0_Q5 ? gf : 0);
			for (int t0 = s0; t0 < s1; t0 += 16)
				eng_amx_q0_tile(nbl, q8 ? (const void *)blk : pk, q8,
						(const char *)xq + (size_t)t0 * x_stride, x_stride,
						per ? abuf + (size_t)(t0 - s0) * (size_t)n : NULL,
						tables + ki_table_group(t0, nbl),
						out + (size_t)t0 * out_stride + (size_t)r0, out_stride, nr);
		}
	}
	eng_amx_end();
}

/* One 16-row block x NT tokens from t0 into out (lanes past nr not stored); grp: the
 * tokens' table group (the Q8_0-activation types). */
KR_INLINE void kr_pass(uint32_t type, int64_t nb, const void *blk, const void *xq, size_t x_stride, int t0, int nr,
		       const float *grp, float *out, size_t out_stride, const int NT, const int gf)
{
	const struct eng_block_q8_K *a[KR_T];
	const struct eng_block_q8_1 *a1[KR_T];
	const struct eng_block_q8_0 *a0[KR_T];
	__m512 acc[KR_T];
	for (int t = 0; t < NT; t++) {
		a[t] = (const struct eng_block_q8_K *)((const char *)xq + (size_t)(t0 + t) * x_stride);
		a1[t] = (const struct eng_block_q8_1 *)(const void *)a[t];
		a0[t] = (const struct eng_block_q8_0 *)(const void *)a[t];
		acc[t] = _mm512_setzero_ps();
	}
	if (type == ENG_TYPE_Q8_0)
		krq0(nb, blk, a0, grp, acc, NT, Q0_Q8, gf);
	else if (type == ENG_TYPE_Q4_0)
		krq0(nb, blk, a0, grp, acc, NT, Q0_Q4, gf);
	else if (type == ENG_TYPE_Q5_0)
		krq0(nb, blk, a0, grp, acc, NT, Q0_Q5, gf);
	else if (type == ENG_TYPE_IQ4_NL)
		krq0(nb, blk, a0, grp, acc, NT, Q0_IQ4, gf);
	else if (type == ENG_TYPE_Q4_1)
		krq1(nb, blk, a1, acc, NT, 0, gf);
	else if (type == ENG_TYPE_Q5_1)
		krq1(nb, blk, a1, acc, NT, 1, gf);
	else if (type == ENG_TYPE_Q6_K)
		kr6(nb, blk, a, acc, NT, gf);
	else if (type == ENG_TYPE_IQ4_XS)
		kri4(nb, blk, a, acc, NT);
	else if (type == ENG_TYPE_Q2_K)
		kr23(nb, blk, a, acc, NT, 0, gf);
	else if (type == ENG_TYPE_Q3_K)
		kr23(nb, blk, a, acc, NT, 1, gf);
	else if (type == ENG_TYPE_Q5_K)
		kr45(nb, blk, a, acc, NT, 1, gf);
	else
		kr45(nb, blk, a, acc, NT, 0, gf);
	const __mmask16 keep = (__mmask16)((1u << nr) - 1);
	for (int t = 0; t < NT; t++)
		_mm512_mask_storeu_ps(out + (size_t)(t0 + t) * out_stride, keep, acc[t]);
}

KR_INLINE void kr_rows(uint32_t type, int64_t n, const void *w, int n_rows, const void *xq, size_t x_stride, int n_tok,
		       const float *tables, float *out, size_t out_stride, const int gf)
{
	const int64_t nb = n / eng_kr_unit_elems(type);
	const size_t block_bytes = eng_kr_matrix_bytes(type, n, KR_ROWS);
	for (int r0 = 0; r0 < n_rows; r0 += KR_ROWS) {
		const void *blk = (const char *)w + (size_t)(r0 / KR_ROWS) * block_bytes;
		const int nr = n_rows - r0 < KR_ROWS ? n_rows - r0 : KR_ROWS;
		float *o = out + r0;
		int t0 = 0;
		for (; t0 + KR_T <= n_tok; t0 += KR_T)
			kr_pass(type, nb, blk, xq, x_stride, t0, nr, tables ? tables + (size_t)t0 * 4 * (size_t)(n / 32) : NULL,
				o, out_stride, KR_T, gf);
		const float *grp = tables ? tables + (size_t)t0 * 4 * (size_t)(n / 32) : NULL; /* 16 floats a block a group */
		switch (n_tok - t0) {
		case 3:
			kr_pass(type, nb, blk, xq, x_stride, t0, nr, grp, o, out_stride, 3, gf);
			break;
		case 2:
			kr_pass(type, nb, blk, xq, x_stride, t0, nr, grp, o, out_stride, 2, gf);
			break;
		case 1:
			kr_pass(type, nb, blk, xq, x_stride, t0, nr, grp, o, out_stride, 1, gf);
			break;
		default:
			break;
		}
	}
}

/* Q8_0 / Q4_0 / Q5_0 / IQ4_NL tokens without tables: eng_q8_tables_fill's group for tokens
 * t0 .. t0 + 3 made into grp, then the rows (repack.c repacks rows of up to 512 blocks,
 * the tables' limit). */
KR_INLINE void kr_rows_own(uint32_t type, int64_t n, const void *w, int n_rows, const void *xq, size_t x_stride,
			   int n_tok, float *out, size_t out_stride, const int gf)
{
	_Alignas(64) float grp[16 * 512];
	for (int t0 = 0; t0 < n_tok; t0 += KR_T) {
		const int nt = n_tok - t0 < KR_T ? n_tok - t0 : KR_T;
		const char *x = (const char *)xq + (size_t)t0 * x_stride;
		eng_q8_tables_fill(type, n, x, x_stride, 0, nt, grp);
		kr_rows(type, n, w, n_rows, x, x_stride, nt, grp, out + (size_t)t0 * out_stride, out_stride, gf);
	}
}

static _Atomic int gfni_off;

void eng_kr_gfni_disable(int off)
{
	atomic_store(&gfni_off, off);
}

int eng_kr_has_gfni(void)
{
	return !atomic_load_explicit(&gfni_off, memory_order_relaxed) && __builtin_cpu_supports("gfni");
}

KR_TARGET void eng_mdot_kr(uint32_t type, int64_t n, const void *w, int n_rows, const void *xq, size_t x_stride,
			   int n_tok, const void *tables, float *out, size_t out_stride)
{
	const int gf = eng_kr_has_gfni();
	if (tables && n_tok >= 16 && eng_kr_q0(type) && (type == ENG_TYPE_Q8_0 || n / 32 <= KR_ILV_MAX_BLOCKS) &&
	    eng_cpu_has_amx()) { /* whole groups of 16 tokens on AMX tiles, the rest below */
		const int n16 = n_tok / 16 * 16;
		kr_rows_amx(type, n, w, n_rows, xq, x_stride, n16, tables, out, out_stride, gf);
		if (n16 == n_tok)
			return;
		xq = (const char *)xq + (size_t)n16 * x_stride;
		tables = (const float *)tables + ki_table_group(n16, n / 32);
		out += (size_t)n16 * out_stride;
		n_tok -= n16;
	}
	const int ilv = tables && n_tok >= KR_ILV_MIN_TOK && n / 32 <= KR_ILV_MAX_BLOCKS;
	if (ilv && type == ENG_TYPE_Q4_0)
		kr_rows_ilv(n, w, n_rows, xq, x_stride, n_tok, tables, out, out_stride, Q0_Q4, 0);
	else if (ilv && type == ENG_TYPE_Q5_0)
		kr_rows_ilv(n, w, n_rows, xq, x_stride, n_tok, tables, out, out_stride, Q0_Q5, gf);
	else if (ilv && type == ENG_TYPE_IQ4_NL)
		kr_rows_ilv(n, w, n_rows, xq, x_stride, n_tok, tables, out, out_stride, Q0_IQ4, 0);
	else if (eng_kr_q0(type) && !tables)
		kr_rows_own(type, n, w, n_rows, xq, x_stride, n_tok, out, out_stride, gf);
	else if (gf)
		kr_rows(type, n, w, n_rows, xq, x_stride, n_tok, tables, out, out_stride, 1);
	else
		kr_rows(type, n, w, n_rows, xq, x_stride, n_tok, tables, out, out_stride, 0);
}
#else
void eng_kr_gfni_disable(int off)
{
	(void)off;
}

int eng_kr_has_gfni(void)
{
	return 0;
}

void eng_mdot_kr(uint32_t type, int64_t n, const void *w, int n_rows, const void *xq, size_t x_stride, int n_tok,
		 const void *tables, float *out, size_t out_stride)
{ /* never called: repack.c repacks only where eng_cpu_has_vnni() */
	(void)type, (void)n, (void)w, (void)n_rows, (void)xq, (void)x_stride, (void)n_tok, (void)tables, (void)out,
		(void)out_stride;
}
#endif
