/* attn_kt.c — attention scores against keys transposed in blocks of 16 (eng_int.h:
 * eng_cpu_att_kt, eng_kt_fill, eng_kt_scores).
 *
 * A prefill's queries each dot the K rows of their keys; a key row is hd (64, 128)
 * elements, so the row kernels' tiles (kernels_f16.c) spend a large part of every
 * score on the horizontal reduction of its 8 lane sums, on 256-bit registers (the
 * calls have 4 queries: too few for the packed tiles). Here the keys of one kv head
 * are first transposed, 16 at a time, so that one 512-bit vector holds element d of
 * 16 keys (eng_kt_fill, once per layer and micro-batch, shared by every query of the
 * head); a query's scores for 16 keys then take hd multiply-adds with its element d
 * broadcast, and no horizontal sums (1.5-1.9x the row tiles' rate, docs/performance.md,
 * "Attention scores against transposed keys").
 *
 * The bits are the row kernels' (types.c's single-row order, fused as
 * eng_mdot_f16_xh and eng_mdot_f32 fuse): lane k of a row kernel adds the products
 * of elements k, k + 8, k + 16, ... in order; here the sums of those eight element
 * classes are eight vectors (each lane a key), reduced as ((c0+c4)+(c2+c6)) +
 * ((c1+c5)+(c3+c7)), the row kernels' reduction, then the elements past a multiple
 * of 8 added in order. tests/eng_kernels_f16.c compares every score with
 * eng_mdot_f16_xh / eng_mdot_f32 bit for bit.
 */
#include "engine/eng_int.h"

#include <string.h>

#include "engine/types.h"

#if defined(__AVX512F__) && defined(__F16C__)
#include <immintrin.h>
#define KT_AVX512 1

#define KT_INLINE static inline __attribute__((always_inline))

bool eng_cpu_att_kt(void)
{
	return true;
}

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

KT_INLINE __m512 load_row16(const char *row, int64_t d, int f16)
{
	if (f16)
		return _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(row + 2 * d)));
	return _mm512_loadu_ps((const float *)row + d);
}

/* The scores of NQ queries (q, rows q_stride floats apart) against one block of 16
 * keys: res[i] lane j = query i . key j, in the row kernels' order (see the top). */
KT_INLINE void kt_block(int hd, const float *blk, const float *q, size_t q_stride, const int NQ, __m512 res[4])
{
	const int n8 = hd / 8 * 8;
	__m512 c03[4][4], acc[4][4];
	for (int half = 0; half < 2; half++) {
		for (int c = 0; c < 4; c++)
			for (int i = 0; i < NQ; i++)
				acc[c][i] = _mm512_setzero_ps();
		for (int d0 = half * 4; d0 < n8; d0 += 8)
			for (int c = 0; c < 4; c++) {
				const __m512 kv = _mm512_load_ps(blk + (size_t)(d0 + c) * 16);
				for (int i = 0; i < NQ; i++)
					acc[c][i] = _mm512_fmadd_ps(kv, _mm512_set1_ps(q[(size_t)i * q_stride + (size_t)(d0 + c)]),
								    acc[c][i]);
			}
		if (half == 0)
			for (int c = 0; c < 4; c++)
				for (int i = 0; i < NQ; i++)
					c03[c][i] = acc[c][i];
	}
	for (int i = 0; i < NQ; i++) {
		__m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(c03[0][i], acc[0][i]), _mm512_add_ps(c03[2][i], acc[2][i])),
					 _mm512_add_ps(_mm512_add_ps(c03[1][i], acc[1][i]), _mm512_add_ps(c03[3][i], acc[3][i])));
		for (int d = n8; d < hd; d++)
			s = _mm512_fmadd_ps(_mm512_load_ps(blk + (size_t)d * 16), _mm512_set1_ps(q[(size_t)i * q_stride + (size_t)d]),
					    s);
		res[i] = s;
	}
}

KT_INLINE void kt_scores(int hd, const float *kt, int lo, int hi, const float *q, size_t q_stride, float *out,
			 size_t out_stride, const int NQ)
{
	for (int b = lo / 16; b * 16 < hi; b++) {
		__m512 res[4];
		kt_block(hd, kt + (size_t)b * 16 * (size_t)hd, q, q_stride, NQ, res);
		const int k0 = b * 16 > lo ? b * 16 : lo, k1 = b * 16 + 16 < hi ? b * 16 + 16 : hi, sh = k0 - b * 16;
		const __mmask16 m = (__mmask16)((1u << (k1 - k0)) - 1);
		const __m512i down = _mm512_add_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
						      _mm512_set1_epi32(sh));
		for (int i = 0; i < NQ; i++) /* keys k0 .. k1 - 1 (lanes sh ..) to out + (k0 - lo) */
			_mm512_mask_storeu_ps(out + (size_t)i * out_stride + (k0 - lo), m,
					      sh ? _mm512_permutexvar_ps(down, res[i]) : res[i]);
	}
}

void eng_kt_scores(int hd, const float *kt, int lo, int hi, const float *q, size_t q_stride, int nq, float *out,
		   size_t out_stride)
{
	switch (nq) {
	case 4:
		if (hd == 64) /* the commonest head size, its loops unrolled */
			kt_scores(64, kt, lo, hi, q, q_stride, out, out_stride, 4);
		else if (hd == 128)
			kt_scores(128, kt, lo, hi, q, q_stride, out, out_stride, 4);
		else
			kt_scores(hd, kt, lo, hi, q, q_stride, out, out_stride, 4);
		break;
	case 3:
		kt_scores(hd, kt, lo, hi, q, q_stride, out, out_stride, 3);
		break;
	case 2:
		kt_scores(hd, kt, lo, hi, q, q_stride, out, out_stride, 2);
		break;
	default:
		kt_scores(hd, kt, lo, hi, q, q_stride, out, out_stride, 1);
		break;
	}
}

#else /* no AVX-512: the same arithmetic in plain C (correct, not faster: ops.c keeps the row kernels) */
#include <math.h>
#define KT_AVX512 0

bool eng_cpu_att_kt(void)
{
	return false;
}

void eng_kt_scores(int hd, const float *kt, int lo, int hi, const float *q, size_t q_stride, int nq, float *out,
		   size_t out_stride)
{
	const int n8 = hd / 8 * 8;
	for (int i = 0; i < nq; i++)
		for (int key = lo; key < hi; key++) {
			const float *blk = kt + (size_t)(key / 16) * 16 * (size_t)hd, *qi = q + (size_t)i * q_stride;
			float c[8];
			for (int l = 0; l < 8; l++) {
				c[l] = 0.0f;
				for (int d = l; d < n8; d += 8)
					c[l] = fmaf(blk[(size_t)d * 16 + (size_t)(key % 16)], qi[d], c[l]);
			}
			float s = ((c[0] + c[4]) + (c[2] + c[6])) + ((c[1] + c[5]) + (c[3] + c[7]));
			for (int d = n8; d < hd; d++)
				s = fmaf(blk[(size_t)d * 16 + (size_t)(key % 16)], qi[d], s);
			out[(size_t)i * out_stride + (size_t)(key - lo)] = s;
		}
}

#endif

/* Element d of a K row (f16 or f32). */
static inline float load_elt(const char *row, int64_t d, int f16)
{
	if (f16) {
		uint16_t h;
		memcpy(&h, row + 2 * d, 2);
		return eng_f16_to_f32(h);
	}
	float f;
	memcpy(&f, row + 4 * d, 4);
	return f;
}

/* One block from the K rows at k, k + k_stride, ... (bytes; f16 or f32 elements): n_keys
 * (1..16) of them, the rest of the block copies of the last (never used). With AVX-512,
 * 16 elements of the 16 rows at a time, transposed in registers; the rest element by element. */
static void kt_fill(const void *k, size_t k_stride, int f16, int hd, int n_keys, float *blk)
{
	const char *rows[16];
	for (int j = 0; j < 16; j++)
		rows[j] = (const char *)k + (size_t)(j < n_keys ? j : n_keys - 1) * k_stride;
	int d = 0;
#if KT_AVX512
	for (; d + 16 <= hd; d += 16) {
		__m512 r[16];
		for (int j = 0; j < 16; j++)
			r[j] = load_row16(rows[j], d, f16);
		transpose16(r);
		for (int i = 0; i < 16; i++)
			_mm512_store_ps(blk + (size_t)(d + i) * 16, r[i]);
	}
#endif
	for (; d < hd; d++)
		for (int j = 0; j < 16; j++)
			blk[(size_t)d * 16 + (size_t)j] = load_elt(rows[j], d, f16);
}

/* Block b of 16 cache rows (those below n_rows) of kv head h of layer il into ex->kt. */
static void kt_fill_block(const struct eng_exec *ex, const struct eng_kv *kv, int il, int h, int hd, uint32_t b,
			  uint32_t n_rows)
{
	const size_t elt = ex->kv_f16 ? sizeof(uint16_t) : sizeof(float), r0 = (size_t)b * 16;
	kt_fill((const char *)kv->k[il] + (r0 * kv->n_embd_kv + (size_t)h * (size_t)hd) * elt, kv->n_embd_kv * elt,
		ex->kv_f16, hd, n_rows - r0 < 16 ? (int)(n_rows - r0) : 16, ex->kt + (size_t)h * ex->kt_head + r0 * (size_t)hd);
}

struct kt_job {
	struct eng_exec *ex;
	const struct eng_kv *kv;
	int il, hd, nb;
	uint32_t n_rows;
};

static void kt_fill_task(void *arg, int64_t i0, int64_t i1, int tid)
{
	(void)tid;
	const struct kt_job *j = arg;
	for (int64_t it = i0; it < i1; it++)
		kt_fill_block(j->ex, j->kv, j->il, (int)(it / j->nb), j->hd, j->ex->kt_list[it % j->nb], j->n_rows);
}

void eng_kt_fill(struct eng_exec *ex, const struct eng_kv *kv, int il, int hd, int n_head_kv, uint32_t nb,
		 uint32_t n_rows)
{
	struct kt_job j = { ex, kv, il, hd, (int)nb, n_rows };
	eng_pool_run(ex->pool, kt_fill_task, &j, (int64_t)n_head_kv * nb);
}
