/* attention.c — the CPU backend's attention (struct eng_ops' attention and attention_pos).
 *
 * Causal grouped-query attention over the KV cache, as ops.c's header describes for the
 * whole backend: the query and the attention weights rounded to f16 with the f16 cache,
 * softmax summing exp in double. Items are (group of up to ENG_ATT_QUERIES consecutive
 * tokens of one sequence, head) pairs, or, in a decode step of a model with grouped-query
 * attention, (kv head, token, up to ENG_ATT_QUERIES of the query heads that share the kv
 * head); a group's queries dot the keys of its key range
 * in one call (attn_kt.c, on the cache's transposed keys), then each query's softmax,
 * then the weighted sums of the V rows. Every score and sum has the bits of the query alone.
 * The cache is head-major (struct eng_kv): a head's keys and its values are each one
 * stream of memory, where rows of all heads made a decode's query read 128 bytes of
 * every 1.5 KB (docs/performance.md, "The cache head-major").
 */
#include "engine/cpu/ops_int.h"

#include <math.h>
#include <string.h>

#include "engine/cpu/vmath.h"
#include "engine/types.h"

#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>
#define OPS_F16C 1
#else
#define OPS_F16C 0
#endif

#ifndef ATT_BY_KV_HEAD /* 0: every call by (head, group of tokens), for A/B runs */
#define ATT_BY_KV_HEAD 1
#endif

struct att_job {
	struct eng_exec *ex;
	const struct eng_kv *kv;
	int il;
	const float *q;
	uint32_t pos0, window;
	const uint32_t *pos, *base; /* per token (attention_pos), or NULL: positions pos0 + t, row 0 */
	int n_tok, n_head, n_head_kv, head_dim;
	float *out;
	float scale, softcap;
};

/* out[d] += p * v[d] for an f16 row: lanes are independent (no reduction), so
 * the vector and scalar paths give the same bits. */
static inline void axpy_f16(int n, float p, const uint16_t *v, float *out)
{
	int d = 0;
#if OPS_F16C
	__m256 pv = _mm256_set1_ps(p);
	for (; d + 8 <= n; d += 8) {
		__m256 vv = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(v + d)));
		_mm256_storeu_ps(out + d, _mm256_add_ps(_mm256_loadu_ps(out + d), _mm256_mul_ps(pv, vv)));
	}
#endif
	for (; d < n; d++)
		out[d] += p * eng_f16_to_f32(v[d]);
}

static inline void axpy_f32(int n, float p, const float *v, float *out)
{
	for (int d = 0; d < n; d++)
		out[d] += p * v[d];
}

/* The keys of token t: first, and end (exclusive), in its slot. */
static void att_keys(const struct att_job *j, int t, uint32_t *first, uint32_t *end)
{
	/* keys first .. pos: all of them, or the last window, of the token's own slot */
	const uint32_t n_seen = (j->pos ? j->pos[t] : j->pos0 + (uint32_t)t) + 1;
	*first = j->window && n_seen > j->window ? n_seen - j->window : 0;
	*end = n_seen;
}

/* The sums of positions 0 .. n - 1 of nq (a constant where inlined) queries' weights,
 * each one chain of double additions in position order, the chains side by side;
 * returns n. */
static inline __attribute__((always_inline)) uint32_t att_sums(float *const *scs, uint32_t n, const int nq,
							      double *sums)
{
	double s[ENG_ATT_QUERIES] = { 0.0 };
	for (uint32_t p = 0; p < n; p++)
		for (int i = 0; i < nq; i++)
			s[i] += (double)scs[i][p];
	for (int i = 0; i < nq; i++)
		sums[i] = s[i];
	return n;
}

/* The softmax of nq (1..ENG_ATT_QUERIES) queries' scores in place, query i's n_kv[i]
 * scores at sc[i]: scaled (and capped), the max subtracted, exp, the sum in double in
 * order, each weight times 1/sum; with the f16 cache rounded to f16 values, as ggml's
 * f16 product takes them. Each query's sum is one chain of additions in position order;
 * the group's chains run side by side (a double add waits for the one before it, so one
 * chain alone ran at a fourth of the adder's rate: two thirds of this function's time). */
static void att_softmax(const struct att_job *j, float *const *scs, const uint32_t *n_kvs, int nq)
{
	double sums[ENG_ATT_QUERIES];
	uint32_t n_min = UINT32_MAX;
	for (int i = 0; i < nq; i++) {
		float *sc = scs[i];
		const uint32_t n_kv = n_kvs[i];
		float max = -INFINITY;
		uint32_t p = 0;
#if OPS_F16C
		/* without the cap: eight lanes of max (a NaN score never becomes the max, as
		 * below; which zero is the max, +0 or -0, does not change any x - max) */
		if (!(j->softcap > 0.0f) && n_kv >= 8) {
			const __m256 vs = _mm256_set1_ps(j->scale);
			__m256 vm = _mm256_set1_ps(-INFINITY);
			for (; p + 8 <= n_kv; p += 8) {
				const __m256 v = _mm256_mul_ps(_mm256_loadu_ps(sc + p), vs);
				_mm256_storeu_ps(sc + p, v);
				vm = _mm256_max_ps(v, vm);
			}
			float lanes[8];
			_mm256_storeu_ps(lanes, vm);
			for (int l = 0; l < 8; l++)
				if (lanes[l] > max)
					max = lanes[l];
		}
#endif
		for (; p < n_kv; p++) {
			float s = sc[p] * j->scale;
			if (j->softcap > 0.0f)
				s = tanhf(s / j->softcap) * j->softcap;
			sc[p] = s;
			if (s > max)
				max = s;
		}
		for (uint32_t p = 0; p < n_kv; p++)
			sc[p] -= max;
		eng_expf_row(sc, sc, n_kv);
		sums[i] = 0.0;
		if (n_kv < n_min)
			n_min = n_kv;
	}
	uint32_t p0 = 0;
	if (nq == 4) /* the positions every query has, the chains side by side */
		p0 = att_sums(scs, n_min, 4, sums);
	else if (nq == 3) /* a grouped-query decode step of 3 heads a kv head (SmolLM2, Qwen2) */
		p0 = att_sums(scs, n_min, 3, sums);
	else if (nq == 2)
		p0 = att_sums(scs, n_min, 2, sums);
	for (int i = 0; i < nq; i++) {
		float *sc = scs[i];
		double sum = sums[i];
		for (uint32_t p = p0; p < n_kvs[i]; p++)
			sum += (double)sc[p];
		const float inv = (float)(1.0 / sum);
		for (uint32_t p = 0; p < n_kvs[i]; p++)
			sc[p] *= inv;
		if (j->ex->kv_f16)
			eng_round_f16_row(sc, sc, n_kvs[i]);
	}
}

#if OPS_F16C
/* The sums of wsum_f16's shared positions for lanes d .. d + 8 * vecs - 1 of nq
 * queries (both constants where it is inlined, so that the sums stay in registers). */
static inline __attribute__((always_inline)) void wsum_f16_lanes(int d, const int nq, const int vecs,
								const float *const *w, uint32_t n_common,
								const uint16_t *v, size_t v_stride, float *const *out)
{
	__m256 acc[ENG_ATT_QUERIES][8];
	for (int q = 0; q < nq; q++)
		for (int k = 0; k < vecs; k++)
			acc[q][k] = _mm256_setzero_ps();
	for (uint32_t p = 0; p < n_common; p++) {
		const uint16_t *vr = v + p * v_stride + d;
		__m256 vv[8];
		for (int k = 0; k < vecs; k++)
			vv[k] = _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(vr + 8 * k)));
		for (int q = 0; q < nq; q++) {
			const __m256 pv = _mm256_set1_ps(w[q][p]);
			for (int k = 0; k < vecs; k++)
#if defined(__FMA__)
				acc[q][k] = _mm256_fmadd_ps(pv, vv[k], acc[q][k]);
#else
				acc[q][k] = _mm256_add_ps(acc[q][k], _mm256_mul_ps(pv, vv[k]));
#endif
		}
	}
	for (int q = 0; q < nq; q++)
		for (int k = 0; k < vecs; k++)
			_mm256_storeu_ps(out[q] + d + 8 * k, acc[q][k]);
}
#endif

#if OPS_F16C && defined(__AVX512F__)
/* wsum_f16_lanes on 512-bit registers: 16 lanes a vector, 64 a pass (a whole head of 64),
 * each V row's 64 lanes converted with four instructions instead of eight. A lane's sum
 * is the same chain of fused multiply-adds in position order, so the bits are the same. */
static inline __attribute__((always_inline)) void wsum_f16_lanes512(int d, const int nq, const float *const *w,
								   uint32_t n_common, const uint16_t *v,
								   size_t v_stride, float *const *out)
{
	__m512 acc[ENG_ATT_QUERIES][4];
	for (int q = 0; q < nq; q++)
		for (int k = 0; k < 4; k++)
			acc[q][k] = _mm512_setzero_ps();
	for (uint32_t p = 0; p < n_common; p++) {
		const uint16_t *vr = v + p * v_stride + d;
		__m512 vv[4];
		for (int k = 0; k < 4; k++)
			vv[k] = _mm512_cvtph_ps(_mm256_loadu_si256((const __m256i *)(vr + 16 * k)));
		for (int q = 0; q < nq; q++) {
			const __m512 pv = _mm512_set1_ps(w[q][p]);
			for (int k = 0; k < 4; k++)
				acc[q][k] = _mm512_fmadd_ps(pv, vv[k], acc[q][k]);
		}
	}
	for (int q = 0; q < nq; q++)
		for (int k = 0; k < 4; k++)
			_mm512_storeu_ps(out[q] + d + 16 * k, acc[q][k]);
}
#endif

/* out[q][0..hd) = sum over p of w[q][p] * v_p for f16 rows v_p (stride v_stride), for nq
 * (1..ENG_ATT_QUERIES) queries whose keys start at the same position, query q seeing
 * n_kv[q] of them (ascending). Each lane sums in position order from 0 exactly as
 * n_kv calls of axpy_f16 would. The weights are f16 values too (att_softmax rounds
 * them), so every product is exact in f32 and a fused multiply-add gives the bits of
 * axpy_f16's multiply and add. The positions all queries see go by once for all of
 * them: one query keeps 64 lanes in registers, a group 16 lanes (4 queries x 2 vectors
 * of sums fit AVX2's 16 registers; 32 lanes a pass in 256-bit registers with AVX-512VL's
 * 32 was slower on a Xeon: 8.2% of a Q4_0 pp512's cycles against 7.0-7.4%), each V row
 * converted once for the group; then each query's own last positions. Where the build
 * has AVX-512, 64 lanes a pass in 512-bit registers (wsum_f16_lanes512: 9.5% -> 7.2% of
 * a Q4_0 pp512's cycles on an Ice Lake Xeon) take whole heads of 64 first. */
static void wsum_f16(int hd, int nq, const float *const *w, const uint32_t *n_kv, const uint16_t *v, size_t v_stride,
		     float *const *out)
{
	const uint32_t n_common = n_kv[0];
	int d = 0;
#if OPS_F16C && defined(__AVX512F__)
	for (; d + 64 <= hd; d += 64) {
		if (nq == 4)
			wsum_f16_lanes512(d, 4, w, n_common, v, v_stride, out);
		else if (nq == 3)
			wsum_f16_lanes512(d, 3, w, n_common, v, v_stride, out);
		else if (nq == 2)
			wsum_f16_lanes512(d, 2, w, n_common, v, v_stride, out);
		else
			wsum_f16_lanes512(d, 1, w, n_common, v, v_stride, out);
	}
#endif
#if OPS_F16C
	if (nq == 1)
		for (; d + 64 <= hd; d += 64)
			wsum_f16_lanes(d, 1, 8, w, n_common, v, v_stride, out);
	else
		for (; d + 16 <= hd; d += 16) {
			if (nq == 4)
				wsum_f16_lanes(d, 4, 2, w, n_common, v, v_stride, out);
			else if (nq == 3)
				wsum_f16_lanes(d, 3, 2, w, n_common, v, v_stride, out);
			else
				wsum_f16_lanes(d, 2, 2, w, n_common, v, v_stride, out);
		}
#endif
	for (int q = 0; q < nq; q++) {
		if (d < hd) {
			memset(out[q] + d, 0, (size_t)(hd - d) * sizeof(float));
			for (uint32_t p = 0; p < n_common; p++)
				axpy_f16(hd - d, w[q][p], v + p * v_stride + d, out[q] + d);
		}
		for (uint32_t p = n_common; p < n_kv[q]; p++)
			axpy_f16(hd, w[q][p], v + p * v_stride, out[q]);
	}
}

/* nq queries of one kv head: with dh 0, tokens t0 .. t0+nq-1 of head h, which share their
 * slot and follow each other (positions p, p+1, ...); with dh 1, heads h .. h+nq-1 (of one
 * kv head) of token t0. The scores of the group's key range for the nq queries (each key
 * read once for all of them), then each query's softmax, then the weighted sums of V rows
 * over each query's keys (with the f16 cache and a common first key, all queries at once:
 * wsum_f16). A score is the row kernels' dot whatever keys and queries share the call
 * (attn_kt.c), so every output has the bits of the query alone (with the f16 cache q is
 * rounded to f16 too, so the products are exact and the fused kernel has the same bits). */
static void att_group(const struct att_job *j, int t0, int nq, int h, int dh, float *scores, float *qr)
{
	const int dt = 1 - dh; /* query i: token t0 + i dt, head h + i dh */
	struct eng_exec *ex = j->ex;
	const int hd = j->head_dim, kvh = h / (j->n_head / j->n_head_kv);
	const size_t sstride = ex->n_ctx;
	const size_t hs = eng_kv_head_bytes(j->kv, ex->kv_f16);
	const char *kh = (const char *)j->kv->k[j->il] + (size_t)kvh * hs, *vh = (const char *)j->kv->v[j->il] + (size_t)kvh * hs;
	uint32_t lo, hi, unused;
	att_keys(j, t0, &lo, &unused);
	att_keys(j, t0 + (nq - 1) * dt, &unused, &hi);
	const size_t slot = j->base ? (size_t)j->base[t0] : 0;
	for (int i = 0; i < nq; i++) {
		const float *q = j->q + ((size_t)(t0 + i * dt) * j->n_head + h + i * dh) * hd;
		if (ex->kv_f16)
			eng_round_f16_row(q, qr + (size_t)i * hd, (size_t)hd);
		else
			memcpy(qr + (size_t)i * hd, q, (size_t)hd * sizeof(float));
	}
	eng_kt_scores(hd, kh, ex->kv_f16, (int)(slot + lo), (int)(slot + hi), qr, (size_t)hd, nq, scores, sstride);
	const float *w[ENG_ATT_QUERIES];
	float *sc[ENG_ATT_QUERIES], *o[ENG_ATT_QUERIES];
	uint32_t first[ENG_ATT_QUERIES], n_kv[ENG_ATT_QUERIES];
	bool same_first = true;
	for (int i = 0; i < nq; i++) {
		uint32_t end;
		att_keys(j, t0 + i * dt, &first[i], &end);
		n_kv[i] = end - first[i];
		sc[i] = scores + (size_t)i * sstride + (first[i] - lo);
		w[i] = sc[i];
		o[i] = j->out + ((size_t)(t0 + i * dt) * j->n_head + h + i * dh) * hd;
		same_first = same_first && first[i] == first[0];
	}
	att_softmax(j, sc, n_kv, nq);
	if (ex->kv_f16 && nq > 1 && same_first) {
		wsum_f16(hd, nq, w, n_kv, (const uint16_t *)vh + (slot + first[0]) * (size_t)hd, (size_t)hd, o);
		return;
	}
	for (int i = 0; i < nq; i++) {
		const size_t v_off = (slot + first[i]) * (size_t)hd;
		if (ex->kv_f16) {
			wsum_f16(hd, 1, &w[i], &n_kv[i], (const uint16_t *)vh + v_off, (size_t)hd, &o[i]);
		} else {
			memset(o[i], 0, (size_t)hd * sizeof(float));
			for (uint32_t p = 0; p < n_kv[i]; p++)
				axpy_f32(hd, w[i][p], (const float *)vh + v_off + p * (size_t)hd, o[i]);
		}
	}
}

/* Whether tokens t0 .. t0 + nq - 1 share their slot at consecutive positions. */
static bool att_chained(const struct att_job *j, int t0, int nq)
{
	bool chained = true;
	for (int i = 1; j->pos && i < nq; i++)
		chained = chained && j->base[t0 + i] == j->base[t0] && j->pos[t0 + i] == j->pos[t0] + (uint32_t)i;
	return chained;
}

/* Items are (head, group of ENG_ATT_QUERIES tokens), heads outer: a thread's run of items
 * reads one kv head's keys and values again and again, from L2 (with the groups outer,
 * every item read another head's, and a layer's K and V of 1024 positions, 1.5 MB each at
 * n_embd_kv = 768, streamed from L3 for every group). A group whose tokens do not share a
 * slot at consecutive positions goes token by token. */
static void att_task(void *arg, int64_t i0, int64_t i1, int tid)
{
	struct att_job *j = arg;
	struct eng_exec *ex = j->ex;
	float *scores = ex->scores + (size_t)tid * ex->scores_stride;
	float *qr = scores + (size_t)ENG_ATT_QUERIES * ex->n_ctx;
	const int64_t n_groups = (j->n_tok + ENG_ATT_QUERIES - 1) / ENG_ATT_QUERIES;
	for (int64_t item = i0; item < i1; item++) {
		const int t0 = (int)(item % n_groups) * ENG_ATT_QUERIES, h = (int)(item / n_groups);
		const int nq = j->n_tok - t0 < ENG_ATT_QUERIES ? j->n_tok - t0 : ENG_ATT_QUERIES;
		if (att_chained(j, t0, nq))
			att_group(j, t0, nq, h, 0, scores, qr);
		else
			for (int i = 0; i < nq; i++)
				att_group(j, t0 + i, 1, h, 0, scores, qr);
	}
}

/* Items (kv head, token, chunk of up to ENG_ATT_QUERIES of the kv head's query heads),
 * kv heads outer: the query heads that share a kv head (grouped-query attention) see the
 * same keys, so they go as one group, each key and value read once for all of them. */
static void att_heads_task(void *arg, int64_t i0, int64_t i1, int tid)
{
	struct att_job *j = arg;
	struct eng_exec *ex = j->ex;
	float *scores = ex->scores + (size_t)tid * ex->scores_stride;
	float *qr = scores + (size_t)ENG_ATT_QUERIES * ex->n_ctx;
	const int g = j->n_head / j->n_head_kv, n_chunks = (g + ENG_ATT_QUERIES - 1) / ENG_ATT_QUERIES;
	for (int64_t item = i0; item < i1; item++) {
		const int c = (int)(item % n_chunks), t = (int)(item / n_chunks % j->n_tok),
			  kvh = (int)(item / n_chunks / j->n_tok);
		const int nq = g - c * ENG_ATT_QUERIES < ENG_ATT_QUERIES ? g - c * ENG_ATT_QUERIES : ENG_ATT_QUERIES;
		att_group(j, t, nq, kvh * g + c * ENG_ATT_QUERIES, 1, scores, qr);
	}
}

/* With grouped-query attention, a call none of whose groups of ENG_ATT_QUERIES tokens
 * follow each other in one slot (a decode step, one sequence or several) takes its
 * queries by kv head (att_heads_task); the others by (head, group of tokens). Either way
 * each output has the bits of its query alone. */
static void att_run(struct att_job *j)
{
	bool chained = false; /* some group of 2 or more tokens that att_task takes together */
	for (int t0 = 0; t0 + 1 < j->n_tok && !chained; t0 += ENG_ATT_QUERIES)
		chained = att_chained(j, t0, j->n_tok - t0 < ENG_ATT_QUERIES ? j->n_tok - t0 : ENG_ATT_QUERIES);
	if (!chained && j->n_head > j->n_head_kv && ATT_BY_KV_HEAD) {
		const int g = j->n_head / j->n_head_kv;
		eng_pool_run(j->ex->pool, att_heads_task, j,
			     (int64_t)j->n_head_kv * j->n_tok * ((g + ENG_ATT_QUERIES - 1) / ENG_ATT_QUERIES));
		return;
	}
	const int64_t n_groups = (j->n_tok + ENG_ATT_QUERIES - 1) / ENG_ATT_QUERIES;
	eng_pool_run(j->ex->pool, att_task, j, n_groups * j->n_head);
}

void eng_cpu_attention(struct eng_exec *ex, const struct eng_kv *kv, int il, const float *q, int n_tok,
			  uint32_t pos0, int n_head, int n_head_kv, int head_dim, uint32_t window, float *out)
{
	struct att_job j = { .ex = ex, .kv = kv, .il = il, .q = q, .pos0 = pos0, .window = window,
			     .n_tok = n_tok, .n_head = n_head,
			     .n_head_kv = n_head_kv, .head_dim = head_dim, .out = out,
			     .scale = ex->att_scale > 0.0f ? ex->att_scale : 1.0f / sqrtf((float)head_dim),
			     .softcap = ex->att_softcap };
	att_run(&j);
}

void eng_cpu_attention_pos(struct eng_exec *ex, const struct eng_kv *kv, int il, const float *q, int n_tok,
			      const uint32_t *pos, const uint32_t *base, int n_head, int n_head_kv, int head_dim,
			      uint32_t window, float *out)
{
	struct att_job j = { .ex = ex, .kv = kv, .il = il, .q = q, .pos = pos, .base = base, .window = window,
			     .n_tok = n_tok, .n_head = n_head, .n_head_kv = n_head_kv, .head_dim = head_dim, .out = out,
			     .scale = ex->att_scale > 0.0f ? ex->att_scale : 1.0f / sqrtf((float)head_dim),
			     .softcap = ex->att_softcap };
	att_run(&j);
}
