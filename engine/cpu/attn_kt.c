/* attn_kt.c — the CPU cache's transposed keys (struct eng_kv): attention scores against
 * them (eng_kt_scores) and the transposition of 16 whole rows into a block (eng_kt_put16).
 *
 * A key row is hd (64, 128) elements; the row kernels' tiles (kernels_f16.c) spent a
 * large part of every score on the horizontal reduction of its 8 lane sums, and a
 * decode's query read each head's 128-byte piece of every cache row, 1.5 KB apart. The
 * CPU cache keeps each kv head's keys in blocks of 16 rows transposed, so that one
 * 512-bit vector holds element d of 16 keys: a query's scores for 16 keys take hd
 * multiply-adds with its element d broadcast, and no horizontal sums, and a head's keys
 * are read as one stream (docs/performance.md, "Attention scores against transposed
 * keys" and "The cache head-major").
 *
 * The bits are the row kernels' (types.c's single-row order, fused as eng_mdot_f16_xh
 * and eng_mdot_f32 fuse): lane k of a row kernel adds the products of elements k, k + 8,
 * k + 16, ... in order; here the sums of those eight element classes are eight vectors
 * (each lane a key), reduced as ((c0+c4)+(c2+c6)) + ((c1+c5)+(c3+c7)), the row kernels'
 * reduction, then the elements past a multiple of 8 added in order. With AVX-512 a vector
 * is a whole block; with AVX2 half of one (8 keys); otherwise key by key in plain C.
 * tests/eng_kernels_f16.c compares every score with eng_mdot_f16_xh / eng_mdot_f32 bit
 * for bit, and the blocks eng_kt_put16 writes with eng_kt_put_row's.
 */
#include "engine/cpu/ops_int.h"

#include <math.h>
#include <string.h>

#include "engine/types.h"

#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>
#endif

#define KT_INLINE static inline __attribute__((always_inline))

/* The index of element 0 of key row r among a head's keys (element d is 16 d further). */
static inline size_t kt_row(int hd, size_t r)
{
	return r / 16 * 16 * (size_t)hd + r % 16;
}

void eng_kt_put_row(void *kt, int hd, size_t r, const float *x, bool f16)
{
	const size_t b = kt_row(hd, r);
	if (!f16) {
		float *k = (float *)kt + b;
		for (int d = 0; d < hd; d++)
			k[(size_t)d * 16] = x[d];
		return;
	}
	uint16_t *k = (uint16_t *)kt + b;
	int d = 0;
#if defined(__AVX2__) && defined(__F16C__)
	for (; d + 8 <= hd; d += 8) { /* F16C's rounding is eng_f32_to_f16's (nearest even) */
		uint16_t h[8];
		_mm_storeu_si128((__m128i *)h,
				 _mm256_cvtps_ph(_mm256_loadu_ps(x + d), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
		for (int i = 0; i < 8; i++)
			k[(size_t)(d + i) * 16] = h[i];
	}
#endif
	for (; d < hd; d++)
		k[(size_t)d * 16] = eng_f32_to_f16(x[d]);
}

/* Rows from .. from + n - 1 to to .. of one element type T (uint16_t or float). */
#define KT_MOVE(T)                                                                                           \
	for (size_t i = 0; i < n; i++) { /* in memmove's order where the ranges overlap */                  \
		const size_t k = to > from ? n - 1 - i : i, rs = from + k, rd = to + k;                     \
		const T *src = (const T *)kt + kt_row(hd, rs);                                                \
		T *dst = (T *)kt + kt_row(hd, rd);                                                            \
		for (int d = 0; d < hd; d++)                                                                \
			dst[(size_t)d * 16] = src[(size_t)d * 16];                                          \
	}

void eng_kt_move(void *kt, int hd, bool f16, size_t from, size_t to, size_t n)
{
	if (f16) {
		KT_MOVE(uint16_t)
	} else {
		KT_MOVE(float)
	}
}

#if defined(__AVX512F__) && defined(__F16C__)
/* 16 rows of 16 floats (r[i] = row i) transposed in place: r[d] = element d of rows 0..15. */
KT_INLINE void transpose16(__m512 r[16])
{
	__m512 t[16];
	for (int i = 0; i < 16; i += 2) {
		t[i] = _mm512_unpacklo_ps(r[i], r[i + 1]);
		t[i + 1] = _mm512_unpackhi_ps(r[i], r[i + 1]);
	}
	for (int i = 0; i < 16; i += 4) {
		r[i] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
		r[i + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i]), _mm512_castps_pd(t[i + 2])));
		r[i + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
		r[i + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(_mm512_castps_pd(t[i + 1]), _mm512_castps_pd(t[i + 3])));
	}
	/* r[4g + j] now holds, in each 128-bit lane l, element 4l + j of rows 4g .. 4g + 3 */
	for (int j = 0; j < 4; j++) {
		const __m512 a = _mm512_shuffle_f32x4(r[j], r[4 + j], 0x88), b = _mm512_shuffle_f32x4(r[j], r[4 + j], 0xdd),
			     c = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0x88),
			     d = _mm512_shuffle_f32x4(r[8 + j], r[12 + j], 0xdd);
		t[j] = _mm512_shuffle_f32x4(a, c, 0x88);      /* element j */
		t[8 + j] = _mm512_shuffle_f32x4(a, c, 0xdd);  /* element 8 + j */
		t[4 + j] = _mm512_shuffle_f32x4(b, d, 0x88);  /* element 4 + j */
		t[12 + j] = _mm512_shuffle_f32x4(b, d, 0xdd); /* element 12 + j */
	}
	for (int i = 0; i < 16; i++)
		r[i] = t[i];
}

void eng_kt_put16(void *kt, int hd, size_t r0, const float *x, size_t x_stride, bool f16)
{
	const size_t b = r0 / 16 * 16 * (size_t)hd;
	int d = 0;
	for (; d + 16 <= hd; d += 16) {
		__m512 r[16];
		for (int j = 0; j < 16; j++)
			r[j] = _mm512_loadu_ps(x + (size_t)j * x_stride + (size_t)d);
		transpose16(r);
		for (int i = 0; i < 16; i++) {
			const size_t at = b + (size_t)(d + i) * 16;
			if (f16)
				_mm256_storeu_si256((__m256i *)((uint16_t *)kt + at),
						    _mm512_cvtps_ph(r[i], _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
			else
				_mm512_storeu_ps((float *)kt + at, r[i]);
		}
	}
	for (; d < hd; d++)
		for (int j = 0; j < 16; j++) {
			const size_t at = b + (size_t)d * 16 + (size_t)j;
			const float v = x[(size_t)j * x_stride + (size_t)d];
			if (f16)
				((uint16_t *)kt)[at] = eng_f32_to_f16(v);
			else
				((float *)kt)[at] = v;
		}
}

/* Elements i .. i + 15 of a block (f16 or f32) as floats. */
KT_INLINE __m512 kt_ld(const void *blk, size_t i, const int F16)
{
	if (F16)
		return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)((const uint16_t *)blk + i)));
	return _mm512_loadu_ps((const float *)blk + i);
}

/* acc[c][i] = the sum of class off + c (elements off + c, off + c + 8, ...; off 0 or 4)
 * of query i's products with a block's 16 keys, each lane a key. */
KT_INLINE void kt_classes(int n8, const void *blk, const float *q, size_t q_stride, int off, const int NQ,
			  const int F16, __m512 acc[4][4])
{
	for (int c = 0; c < 4; c++)
		for (int i = 0; i < NQ; i++)
			acc[c][i] = _mm512_setzero_ps();
	for (int d0 = off; d0 < n8; d0 += 8)
		for (int c = 0; c < 4; c++) {
			const __m512 kv = kt_ld(blk, (size_t)(d0 + c) * 16, F16);
			for (int i = 0; i < NQ; i++)
				acc[c][i] = _mm512_fmadd_ps(kv, _mm512_set1_ps(q[(size_t)i * q_stride + (size_t)(d0 + c)]), acc[c][i]);
		}
}

/* The scores of NQ queries (q, rows q_stride floats apart) against one block of 16
 * keys: res[i] lane j = query i . key j, in the row kernels' order (see the top). */
KT_INLINE void kt_block(int hd, const void *blk, const float *q, size_t q_stride, const int NQ, const int F16,
			__m512 res[4])
{
	const int n8 = hd / 8 * 8;
	__m512 c03[4][4], c47[4][4];
	kt_classes(n8, blk, q, q_stride, 0, NQ, F16, c03);
	kt_classes(n8, blk, q, q_stride, 4, NQ, F16, c47);
	for (int i = 0; i < NQ; i++) {
		__m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c03[0][i], c47[0][i]), _mm512_add_ps(c03[2][i], c47[2][i])),
					 _mm512_add_ps(_mm512_add_ps(c03[1][i], c47[1][i]), _mm512_add_ps(c03[3][i], c47[3][i])));
		for (int d = n8; d < hd; d++)
			s = _mm512_fmadd_ps(kt_ld(blk, (size_t)d * 16, F16), _mm512_set1_ps(q[(size_t)i * q_stride + (size_t)d]), s);
		res[i] = s;
	}
}

KT_INLINE void kt_scores(int hd, const void *kt, int lo, int hi, const float *q, size_t q_stride, float *out,
			 size_t out_stride, const int NQ, const int F16)
{
	const size_t elt = F16 ? sizeof(uint16_t) : sizeof(float);
	for (int b = lo / 16; b * 16 < hi; b++) {
		__m512 res[4];
		kt_block(hd, (const char *)kt + (size_t)b * 16 * (size_t)hd * elt, q, q_stride, NQ, F16, res);
		const int k0 = b * 16 > lo ? b * 16 : lo, k1 = b * 16 + 16 < hi ? b * 16 + 16 : hi, sh = k0 - b * 16;
		const __mmask16 m = (__mmask16)((1u << (k1 - k0)) - 1);
		const __m512i down = _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
						      _mm512_set1_epi32(sh));
		for (int i = 0; i < NQ; i++) /* keys k0 .. k1 - 1 (lanes sh ..) to out + (k0 - lo) */
			_mm512_mask_storeu_ps(out + (size_t)i * out_stride + (k0 - lo), m,
					      sh ? _mm512_permutexvar_ps(down, res[i]) : res[i]);
	}
}

/* One element type: the query counts, and the commonest head sizes' loops unrolled. */
#define KT_DISPATCH(F16)                                                                              \
	switch (nq) {                                                                                 \
	case 4:                                                                                       \
		if (hd == 64)                                                                         \
			kt_scores(64, kt, lo, hi, q, q_stride, out, out_stride, 4, F16);              \
		else if (hd == 128)                                                                   \
			kt_scores(128, kt, lo, hi, q, q_stride, out, out_stride, 4, F16);             \
		else                                                                                  \
			kt_scores(hd, kt, lo, hi, q, q_stride, out, out_stride, 4, F16);              \
		break;                                                                                \
	case 3:                                                                                       \
		kt_scores(hd, kt, lo, hi, q, q_stride, out, out_stride, 3, F16);                      \
		break;                                                                                \
	case 2:                                                                                       \
		kt_scores(hd, kt, lo, hi, q, q_stride, out, out_stride, 2, F16);                      \
		break;                                                                                \
	default:                                                                                      \
		if (hd == 64)                                                                         \
			kt_scores(64, kt, lo, hi, q, q_stride, out, out_stride, 1, F16);              \
		else                                                                                  \
			kt_scores(hd, kt, lo, hi, q, q_stride, out, out_stride, 1, F16);              \
		break;                                                                                \
	}

void eng_kt_scores(int hd, const void *kt, bool f16, int lo, int hi, const float *q, size_t q_stride, int nq,
		   float *out, size_t out_stride)
{
	if (f16) {
		KT_DISPATCH(1)
	} else {
		KT_DISPATCH(0)
	}
}

#elif defined(__AVX2__) && defined(__F16C__) && defined(__FMA__)
/* Elements i .. i + 7 of a block (f16 or f32) as floats. */
KT_INLINE __m256 kt_ld8(const void *blk, size_t i, const int F16)
{
	if (F16)
		return _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)((const uint16_t *)blk + i)));
	return _mm256_loadu_ps((const float *)blk + i);
}

/* The scores of NQ (1, 2) queries against keys 8h .. 8h + 7 of a block: res[i] lane j =
 * query i . key 8h + j. The eight class sums of the order at the top are taken four at
 * a time, (c0, c4, c2, c6) and then (c1, c5, c3, c7), each four reduced at once, so that
 * two queries' sums fit AVX2's 16 registers with the loads. */
KT_INLINE void kt_half(int hd, const void *blk, int h, const float *q, size_t q_stride, const int NQ, const int F16,
		       __m256 res[2])
{
	static const int cls[2][4] = { { 0, 4, 2, 6 }, { 1, 5, 3, 7 } };
	const int n8 = hd / 8 * 8;
	__m256 part[2][2];
	for (int pass = 0; pass < 2; pass++) {
		__m256 acc[4][2];
		for (int c = 0; c < 4; c++)
			for (int i = 0; i < NQ; i++)
				acc[c][i] = _mm256_setzero_ps();
		for (int d0 = 0; d0 < n8; d0 += 8)
			for (int c = 0; c < 4; c++) {
				const int d = d0 + cls[pass][c];
				const __m256 kv = kt_ld8(blk, (size_t)d * 16 + (size_t)h * 8, F16);
				for (int i = 0; i < NQ; i++)
					acc[c][i] = _mm256_fmadd_ps(kv, _mm256_set1_ps(q[(size_t)i * q_stride + (size_t)d]),
								    acc[c][i]);
			}
		for (int i = 0; i < NQ; i++)
			part[pass][i] = _mm256_add_ps(_mm256_add_ps(acc[0][i], acc[1][i]), _mm256_add_ps(acc[2][i], acc[3][i]));
	}
	for (int i = 0; i < NQ; i++) {
		__m256 s = _mm256_add_ps(part[0][i], part[1][i]);
		for (int d = n8; d < hd; d++)
			s = _mm256_fmadd_ps(kt_ld8(blk, (size_t)d * 16 + (size_t)h * 8, F16),
					    _mm256_set1_ps(q[(size_t)i * q_stride + (size_t)d]), s);
		res[i] = s;
	}
}

KT_INLINE void kt_scores(int hd, const void *kt, int lo, int hi, const float *q, size_t q_stride, int nq,
			 float *out, size_t out_stride, const int F16)
{
	const size_t elt = F16 ? sizeof(uint16_t) : sizeof(float);
	for (int b = lo / 16; b * 16 < hi; b++) {
		const char *blk = (const char *)kt + (size_t)b * 16 * (size_t)hd * elt;
		const int k0 = b * 16 > lo ? b * 16 : lo, k1 = b * 16 + 16 < hi ? b * 16 + 16 : hi;
		for (int i = 0; i < nq; i += 2) {
			float s[2][16];
			for (int h = (k0 - b * 16) / 8; h <= (k1 - 1 - b * 16) / 8; h++) {
				__m256 res[2] = { _mm256_setzero_ps(), _mm256_setzero_ps() };
				if (nq - i >= 2)
					kt_half(hd, blk, h, q + (size_t)i * q_stride, q_stride, 2, F16, res);
				else
					kt_half(hd, blk, h, q + (size_t)i * q_stride, q_stride, 1, F16, res);
				for (int k = 0; k < 2 && i + k < nq; k++)
					_mm256_storeu_ps(s[k] + 8 * h, res[k]);
			}
			for (int k = 0; k < 2 && i + k < nq; k++)
				memcpy(out + (size_t)(i + k) * out_stride + (k0 - lo), s[k] + (k0 - b * 16),
				       (size_t)(k1 - k0) * sizeof(float));
		}
	}
}

void eng_kt_scores(int hd, const void *kt, bool f16, int lo, int hi, const float *q, size_t q_stride, int nq,
		   float *out, size_t out_stride)
{
	if (f16 && hd == 64)
		kt_scores(64, kt, lo, hi, q, q_stride, nq, out, out_stride, 1);
	else if (f16)
		kt_scores(hd, kt, lo, hi, q, q_stride, nq, out, out_stride, 1);
	else
		kt_scores(hd, kt, lo, hi, q, q_stride, nq, out, out_stride, 0);
}

#else /* neither: key by key in plain C */
/* Element d of key row r at kt (f16 or f32). */
static inline float kt_elt(const void *kt, int hd, int r, int d, bool f16)
{
	const size_t i = kt_row(hd, (size_t)r) + (size_t)d * 16;
	return f16 ? eng_f16_to_f32(((const uint16_t *)kt)[i]) : ((const float *)kt)[i];
}

/* Query q . key r in the row kernels' order. */
static float kt_score1(int hd, const void *kt, bool f16, int r, const float *q)
{
	const int n8 = hd / 8 * 8;
	float c[8];
	for (int l = 0; l < 8; l++) {
		c[l] = 0.0f;
		for (int d = l; d < n8; d += 8)
			c[l] = fmaf(kt_elt(kt, hd, r, d, f16), q[d], c[l]);
	}
	float s = ((c[0] + c[4]) + (c[2] + c[6])) + ((c[1] + c[5]) + (c[3] + c[7]));
	for (int d = n8; d < hd; d++)
		s = fmaf(kt_elt(kt, hd, r, d, f16), q[d], s);
	return s;
}

void eng_kt_scores(int hd, const void *kt, bool f16, int lo, int hi, const float *q, size_t q_stride, int nq,
		   float *out, size_t out_stride)
{
	for (int i = 0; i < nq; i++)
		for (int r = lo; r < hi; r++)
			out[(size_t)i * out_stride + (size_t)(r - lo)] = kt_score1(hd, kt, f16, r, q + (size_t)i * q_stride);
}
#endif

#if !(defined(__AVX512F__) && defined(__F16C__))
/* Without AVX-512, row by row. */
void eng_kt_put16(void *kt, int hd, size_t r0, const float *x, size_t x_stride, bool f16)
{
	for (size_t j = 0; j < 16; j++)
		eng_kt_put_row(kt, hd, r0 + j, x + j * x_stride, f16);
}
#endif
