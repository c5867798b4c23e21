/* ops.c — the CPU backend: struct eng_ops on plain float arrays.
 *
 * The arithmetic follows ggml's CPU kernels where that matters for matching
 * llama.cpp's numbers: RMSNorm sums squares in double, RoPE advances theta by
 * repeated multiplication with base^(-2/n_rot), softmax sums exp in double,
 * the KV cache is f16 with the query and the attention weights rounded to f16
 * before their dot products (ggml's f16 mul_mat converts its f32 operand), and
 * quantized weights dot a Q8_0-quantized activation.
 *
 * Parallelism: matmul splits weight rows, attention splits (group of up to
 * ENG_ATT_QUERIES consecutive tokens of one sequence, head) pairs, the norms,
 * RoPE and the cache stores split tokens and the elementwise ops chunks of
 * elements, over the context's pool. Every output element is computed by one
 * thread with a summation order that depends on neither the thread count nor
 * the number of tokens in the batch.
 */
#include "engine/eng_int.h"

#include <math.h>
#include <string.h>

#include "engine/cpu/kernels.h"
#include "engine/cpu/repack.h"
#include "engine/cpu/vmath.h"
#include "engine/types.h"

#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>
#define OPS_F16C 1
#else
#define OPS_F16C 0
#endif

/* Round through f16 and back (what ggml's f32 -> f16 operand conversion keeps). */
static inline float round_f16(float x)
{
	return eng_f16_to_f32(eng_f32_to_f16(x));
}

/* Row versions of the conversions. F16C's vcvtps2ph (round to nearest even) and
 * vcvtph2ps agree with eng_f32_to_f16 and with the round trip above on every one of
 * the 2^32 floats (checked exhaustively; tests/eng_kernels.c samples it). */
static void round_f16_row(const float *x, float *out, size_t n)
{
	size_t i = 0;
#if OPS_F16C
	for (; i + 8 <= n; i += 8)
		_mm256_storeu_ps(out + i, _mm256_cvtph_ps(_mm256_cvtps_ph(_mm256_loadu_ps(x + i),
									     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC)));
#endif
	for (; i < n; i++)
		out[i] = round_f16(x[i]);
}

static void to_f16_row(const float *x, uint16_t *out, size_t n)
{
	size_t i = 0;
#if OPS_F16C
	for (; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(out + i),
				 _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#endif
	for (; i < n; i++)
		out[i] = eng_f32_to_f16(x[i]);
}

/* ---- the pool for the cheap ops ----
 *
 * The elementwise ops (in chunks of ELT_CHUNK elements) and the per-token ones
 * (RMSNorm, LayerNorm, RoPE, the cache stores) split their items over the pool too:
 * each element or token row is computed by one thread exactly as the serial loop
 * computes it, so the split changes no bits. Unsplit they left the other threads
 * idle for 20-30% of a batched scoring run (expf in SwiGLU, the norms). Small
 * inputs (decode) run inline, where a dispatch would cost more than the work. */
#define ELT_CHUNK 4096
#define PAR_MIN_ITEMS 4

static void par_run(struct eng_exec *ex, eng_task_fn fn, void *arg, int64_t n)
{
	if (n >= PAR_MIN_ITEMS)
		eng_pool_run(ex->pool, fn, arg, n);
	else
		fn(arg, 0, n, 0);
}

/* Items of an elementwise op over n elements. */
static int64_t elt_items(size_t n)
{
	return (int64_t)((n + ELT_CHUNK - 1) / ELT_CHUNK);
}

/* Elements [begin, end) of chunk items i0..i1 of n. */
static void elt_range(int64_t i0, int64_t i1, size_t n, size_t *begin, size_t *end)
{
	*begin = (size_t)i0 * ELT_CHUNK;
	*end = (size_t)i1 * ELT_CHUNK < n ? (size_t)i1 * ELT_CHUNK : n;
}

/* ---- matmul ---- */

/* A block of weight rows times all tokens (out[t * out_stride + r]). */
typedef void (*mm_block_fn)(int64_t n, const void *w, size_t w_stride, int n_rows, const void *x,
			    size_t x_stride, int n_tok, float *out, size_t out_stride);

struct mm_job {
	struct eng_exec *ex;
	const struct eng_tensor *w;
	const float *x;         /* n_tok rows of ne0 */
	const void *xq;         /* converted activations (Q8_0 rows or f16-rounded floats) or NULL */
	size_t xq_row_bytes;
	int n_tok;
	float *out;
	size_t out_stride;
	eng_vec_dot_fn dot;
	eng_vec_dot_q8_fn dot_q8;
	eng_from_f32_fn quantize_act; /* the activation format's quantizer (with dot_q8) */
	mm_block_fn block;      /* multi-row kernel (cpu/kernels.h) for this path, or NULL */
	void *tables;           /* the tokens' lane tables for eng_mdot_q8_tabled (in ex->xq), or NULL */
};

static void mm_prepare_task(void *arg, int64_t t0, int64_t t1, int tid)
{
	(void)tid;
	struct mm_job *j = arg;
	int64_t n = (int64_t)j->w->ne0;
	for (int64_t t = t0; t < t1; t++) {
		const float *xr = j->x + t * n;
		void *dst = (char *)j->ex->xq + (size_t)t * j->xq_row_bytes;
		if (j->dot_q8) {
			j->quantize_act(xr, dst, n);
		} else {
			round_f16_row(xr, dst, (size_t)n);
		}
	}
	if (j->tables) /* this thread's tokens' lane tables, from the rows just quantized */
		eng_q8_tables_fill(j->w->type, n, j->ex->xq, j->xq_row_bytes, (int)t0, (int)t1, j->tables);
}

static void mdot_f32_block(int64_t n, const void *w, size_t w_stride, int n_rows, const void *x, size_t x_stride,
			   int n_tok, float *out, size_t out_stride)
{
	eng_mdot_f32(n, w, w_stride, n_rows, x, x_stride, n_tok, out, out_stride);
}

static void mdot_f16_block(int64_t n, const void *w, size_t w_stride, int n_rows, const void *x, size_t x_stride,
			   int n_tok, float *out, size_t out_stride)
{
	eng_mdot_f16(n, w, w_stride, n_rows, x, x_stride, n_tok, out, out_stride);
}

static void mdot_bf16_block(int64_t n, const void *w, size_t w_stride, int n_rows, const void *x, size_t x_stride,
			    int n_tok, float *out, size_t out_stride)
{
	eng_mdot_bf16(n, w, w_stride, n_rows, x, x_stride, n_tok, out, out_stride);
}

/* F16 weights against activations rounded to f16 (mm_prepare_task). */
static void mdot_f16h_block(int64_t n, const void *w, size_t w_stride, int n_rows, const void *x, size_t x_stride,
			    int n_tok, float *out, size_t out_stride)
{
	eng_mdot_f16_xh(n, w, w_stride, n_rows, x, x_stride, n_tok, out, out_stride);
}

/* Rows r0..r1 of W against every token. With a multi-row kernel the rows go in
 * chunks of about 16 KiB, so a chunk stays in L1 while all the tokens pass by it
 * (the kernel's own tiles then reuse each loaded weight vector for several
 * tokens); float weights, and quantized ones that take the interleaved tiles, in
 * one call (kernels_f16.c blocks them for L2; the interleaved tiles pack 8 rows at a
 * time and prefetch the next 8, the K-quant ones of kernels_vnni.c 16); otherwise row
 * by row with the single-row kernel. */
static void mm_task(void *arg, int64_t r0, int64_t r1, int tid)
{
	(void)tid;
	struct mm_job *j = arg;
	const struct eng_tensor *w = j->w;
	int64_t n = (int64_t)w->ne0;
	if (j->block) {
		const void *x = j->xq ? j->xq : (const void *)j->x;
		size_t x_stride = j->xq ? j->xq_row_bytes : (size_t)n * sizeof(float);
		int64_t chunk = (int64_t)(16384 / w->row_bytes) / 8 * 8;
		if (chunk < 8)
			chunk = 8;
		if (j->n_tok == 1) /* nothing to reuse: one call, so the decode tile prefetches throughout */
			chunk = r1 - r0;
		if (w->type == ENG_TYPE_F32 || w->type == ENG_TYPE_F16 || w->type == ENG_TYPE_BF16)
			chunk = r1 - r0; /* kernels_f16.c blocks the rows itself, for L2 */
		if (j->tables && eng_mdot_q8_whole_rows(w->type, n, j->n_tok))
			chunk = r1 - r0; /* the interleaved tiles pack 8 rows at a time, prefetching the next */
		if (eng_mdot_k_whole_rows(w->type, j->n_tok))
			chunk = r1 - r0; /* the interleaved K-quant tile packs 16 (chunks of 8 left half its lanes idle) */
		for (int64_t r = r0; r < r1; r += chunk) {
			int nr = (int)(r1 - r < chunk ? r1 - r : chunk);
			const void *wr = (const char *)w->data + (size_t)r * w->row_bytes;
			if (j->tables)
				eng_mdot_q8_tabled(w->type, n, wr, w->row_bytes, nr, x, x_stride, j->tables, j->n_tok,
						   j->out + r, j->out_stride);
			else
				j->block(n, wr, w->row_bytes, nr, x, x_stride, j->n_tok, j->out + r, j->out_stride);
		}
		return;
	}
	for (int64_t r = r0; r < r1; r++) {
		const void *row = (const char *)w->data + (size_t)r * w->row_bytes;
		if (j->dot_q8) {
			for (int t = 0; t < j->n_tok; t++)
				j->out[(size_t)t * j->out_stride + r] =
					j->dot_q8(n, row, (const char *)j->xq + (size_t)t * j->xq_row_bytes);
		} else {
			const float *x = j->xq ? (const float *)j->xq : j->x;
			for (int t = 0; t < j->n_tok; t++)
				j->out[(size_t)t * j->out_stride + r] = j->dot(n, row, x + (size_t)t * n);
		}
	}
}

/* Blocks b0..b1 of a repacked matrix (repack.h) against every token. */
static void mm_kr_task(void *arg, int64_t b0, int64_t b1, int tid)
{
	(void)tid;
	struct mm_job *j = arg;
	const struct eng_tensor *w = j->w;
	const int64_t n = (int64_t)w->ne0, r0 = b0 * KR_ROWS,
		      r1 = b1 * KR_ROWS < (int64_t)w->ne1 ? b1 * KR_ROWS : (int64_t)w->ne1;
	const void *blk = (const char *)w->data + (size_t)b0 * eng_kr_matrix_bytes(w->type, n, KR_ROWS);
	eng_mdot_kr(w->type, n, blk, (int)(r1 - r0), j->xq, j->xq_row_bytes, j->n_tok, j->out + r0, j->out_stride);
}

static void cpu_matmul(struct eng_exec *ex, const struct eng_tensor *w, const float *x, int n_tok,
		       float *out, size_t out_stride)
{
	const struct eng_type_traits *tt = eng_type_get(w->type);
	struct mm_job j = { .ex = ex, .w = w, .x = x, .n_tok = n_tok, .out = out, .out_stride = out_stride,
			    .dot = tt->vec_dot };
	uint64_t act_row_bytes;
	if (ex->q8_act && tt->vec_dot_q8 && !eng_row_size(tt->vec_dot_type, w->ne0, &act_row_bytes)) {
		/* Q8_0 and Q8_1 take <= 36/32 bytes an element, Q8_K 292/256: below the
		 * 4 bytes an element ctx_new sized xq for */
		j.dot_q8 = tt->vec_dot_q8;
		j.quantize_act = eng_type_get(tt->vec_dot_type)->act_from_f32;
		j.xq_row_bytes = (size_t)act_row_bytes;
	} else if (ex->f16_act && w->type == ENG_TYPE_F16) {
		j.xq_row_bytes = (size_t)w->ne0 * sizeof(float);
	}
	if (w->layout == ENG_LAYOUT_KR16) { /* repack.c made it only where q8 activations are used */
		j.xq = ex->xq;
		eng_pool_run(ex->pool, mm_prepare_task, &j, n_tok);
		eng_pool_run(ex->pool, mm_kr_task, &j, (int64_t)((w->ne1 + KR_ROWS - 1) / KR_ROWS));
		return;
	}
	if (j.dot_q8) {
		j.block = eng_mdot_q8_for_type(w->type); /* NULL where the type has none (kernels.h) */
		/* the tokens' lane tables once, after their quantized rows in xq, where they fit */
		const size_t rows = ((size_t)n_tok * j.xq_row_bytes + 63) / 64 * 64,
			     tb = j.block ? eng_q8_tables_bytes(w->type, (int64_t)w->ne0, n_tok) : 0;
		if (tb && rows + tb <= ex->xq_size)
			j.tables = (char *)ex->xq + rows;
	} else if (w->type == ENG_TYPE_F16) {
		j.block = j.xq_row_bytes ? mdot_f16h_block : mdot_f16_block;
	} else if (w->type == ENG_TYPE_BF16) {
		j.block = mdot_bf16_block;
	} else if (w->type == ENG_TYPE_F32) {
		j.block = mdot_f32_block;
	}
	if (j.xq_row_bytes) {
		/* ctx_new sized xq for n_ubatch rows of the widest input */
		j.xq = ex->xq;
		eng_pool_run(ex->pool, mm_prepare_task, &j, n_tok);
	}
	eng_pool_run(ex->pool, mm_task, &j, (int64_t)w->ne1);
}

/* ---- element-wise and row ops (cheap: run on the calling thread) ---- */

static void cpu_get_rows(struct eng_exec *ex, const struct eng_tensor *w, const int32_t *ids, int n,
			 float *out)
{
	(void)ex;
	const struct eng_type_traits *tt = eng_type_get(w->type);
	if (w->layout == ENG_LAYOUT_KR16) { /* a tied output matrix, repacked (repack.c) */
		for (int i = 0; i < n; i++)
			eng_kr_row_to_f32(w->type, (int64_t)w->ne0, w->data, ids[i], out + (size_t)i * w->ne0);
		return;
	}
	for (int i = 0; i < n; i++)
		tt->to_f32((const char *)w->data + (size_t)ids[i] * w->row_bytes, out + (size_t)i * w->ne0,
			   (int64_t)w->ne0);
}

/* One job of the per-token ops: whichever fields the op uses. */
struct tok_job {
	struct eng_exec *ex;
	struct eng_kv *kv;
	const float *x, *weight, *bias, *k, *v, *freq_factors;
	float *out;
	const uint32_t *pos, *base;
	uint32_t pos0;
	int dim, n_head, head_dim, n_rot, il;
	float eps, theta_scale;
	enum eng_rope_kind kind;
};

static void rmsnorm_task(void *arg, int64_t t0, int64_t t1, int tid)
{
	(void)tid;
	const struct tok_job *j = arg;
	const int dim = j->dim;
	for (int64_t t = t0; t < t1; t++) {
		const float *xr = j->x + (size_t)t * dim;
		float *o = j->out + (size_t)t * dim;
		double sum = 0.0;
		for (int i = 0; i < dim; i++)
			sum += (double)(xr[i] * xr[i]);
		const float mean = (float)(sum / dim);
		const float scale = 1.0f / sqrtf(mean + j->eps);
		for (int i = 0; i < dim; i++)
			o[i] = (xr[i] * scale) * j->weight[i];
	}
}

static void cpu_rmsnorm(struct eng_exec *ex, const float *x, const float *weight, int n_tok, int dim,
			float eps, float *out)
{
	struct tok_job j = { .ex = ex, .x = x, .weight = weight, .dim = dim, .eps = eps, .out = out };
	par_run(ex, rmsnorm_task, &j, n_tok);
}

/* Rotate the n_head heads of one token row at position pos. */
static void rope_row(float *row, int n_head, int head_dim, int n_rot, uint32_t pos, float theta_scale,
		     enum eng_rope_kind kind, const float *freq_factors)
{
	float cs[2 * 512];
	float theta = (float)pos;
	/* n_rot <= head_dim <= 4096 is checked at load; compute in slices of 512 pairs */
	for (int base = 0; base < n_rot; base += 1024) {
		int len = n_rot - base < 1024 ? n_rot - base : 1024;
		for (int i0 = 0; i0 < len; i0 += 2) {
			/* as ggml: the angle divided by the dimension's factor, theta itself advanced unscaled */
			const float th = freq_factors ? theta / freq_factors[(base + i0) / 2] : theta;
			cs[i0] = cosf(th);
			cs[i0 + 1] = sinf(th);
			theta *= theta_scale;
		}
		for (int h = 0; h < n_head; h++) {
			float *v = row + (size_t)h * head_dim;
			for (int i0 = 0; i0 < len; i0 += 2) {
				int a, b;
				if (kind == ENG_ROPE_NORM) {
					a = base + i0;
					b = a + 1;
				} else {
					a = (base + i0) / 2;
					b = a + n_rot / 2;
				}
				const float c = cs[i0], s = cs[i0 + 1];
				const float x0 = v[a], x1 = v[b];
				v[a] = x0 * c - x1 * s;
				v[b] = x0 * s + x1 * c;
			}
		}
	}
}

/* Token t's rows of j->out (in place) at its position: pos[t], or pos0 + t. */
static void rope_task(void *arg, int64_t t0, int64_t t1, int tid)
{
	(void)tid;
	const struct tok_job *j = arg;
	for (int64_t t = t0; t < t1; t++)
		rope_row(j->out + (size_t)t * j->n_head * j->head_dim, j->n_head, j->head_dim, j->n_rot,
			 j->pos ? j->pos[t] : j->pos0 + (uint32_t)t, j->theta_scale, j->kind, j->freq_factors);
}

static void cpu_rope(struct eng_exec *ex, float *x, int n_tok, int n_head, int head_dim, int n_rot,
		     uint32_t pos0, float freq_base, enum eng_rope_kind kind, const float *freq_factors)
{
	if (kind == ENG_ROPE_NONE)
		return;
	struct tok_job j = { .ex = ex, .out = x, .n_head = n_head, .head_dim = head_dim, .n_rot = n_rot, .pos0 = pos0,
			     .theta_scale = powf(freq_base, -2.0f / (float)n_rot), .kind = kind,
			     .freq_factors = freq_factors };
	par_run(ex, rope_task, &j, n_tok);
}

static void cpu_rope_pos(struct eng_exec *ex, float *x, int n_tok, int n_head, int head_dim, int n_rot,
			 const uint32_t *pos, float freq_base, enum eng_rope_kind kind, const float *freq_factors)
{
	if (kind == ENG_ROPE_NONE)
		return;
	struct tok_job j = { .ex = ex, .out = x, .n_head = n_head, .head_dim = head_dim, .n_rot = n_rot, .pos = pos,
			     .theta_scale = powf(freq_base, -2.0f / (float)n_rot), .kind = kind,
			     .freq_factors = freq_factors };
	par_run(ex, rope_task, &j, n_tok);
}

/* n_tok rows of k and v into the cache of layer il from row `row` on. */
static void kv_write(struct eng_exec *ex, struct eng_kv *kv, int il, size_t row, int n_tok, const float *k,
		     const float *v)
{
	size_t n = (size_t)n_tok * kv->n_embd_kv, off = row * kv->n_embd_kv;
	if (ex->kv_f16) {
		uint16_t *kd = (uint16_t *)kv->k[il] + off, *vd = (uint16_t *)kv->v[il] + off;
		to_f16_row(k, kd, n);
		to_f16_row(v, vd, n);
	} else {
		memcpy((float *)kv->k[il] + off, k, n * sizeof(float));
		memcpy((float *)kv->v[il] + off, v, n * sizeof(float));
	}
}

/* Token t's k and v rows into the cache: at row pos0 + t, or base[t] + pos[t]. */
static void kv_store_task(void *arg, int64_t t0, int64_t t1, int tid)
{
	(void)tid;
	const struct tok_job *j = arg;
	const size_t dim = j->kv->n_embd_kv;
	for (int64_t t = t0; t < t1; t++)
		kv_write(j->ex, j->kv, j->il, j->pos ? (size_t)j->base[t] + j->pos[t] : (size_t)j->pos0 + (size_t)t, 1,
			 j->k + (size_t)t * dim, j->v + (size_t)t * dim);
}

static void cpu_kv_store(struct eng_exec *ex, struct eng_kv *kv, int il, uint32_t pos0, int n_tok,
			 const float *k, const float *v)
{
	struct tok_job j = { .ex = ex, .kv = kv, .il = il, .pos0 = pos0, .k = k, .v = v };
	par_run(ex, kv_store_task, &j, n_tok);
}

static void cpu_kv_store_pos(struct eng_exec *ex, struct eng_kv *kv, int il, const uint32_t *pos,
			     const uint32_t *base, int n_tok, const float *k, const float *v)
{
	struct tok_job j = { .ex = ex, .kv = kv, .il = il, .pos = pos, .base = base, .k = k, .v = v };
	par_run(ex, kv_store_task, &j, n_tok);
}

/* ---- attention ---- */

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
	const float *kt; /* the keys transposed (attn_kt.c), or NULL: the K rows */
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
	if (nq == 4) { /* the positions every query has, four chains at once */
		double s0 = 0.0, s1 = 0.0, s2 = 0.0, s3 = 0.0;
		for (; p0 < n_min; p0++) {
			s0 += (double)scs[0][p0];
			s1 += (double)scs[1][p0];
			s2 += (double)scs[2][p0];
			s3 += (double)scs[3][p0];
		}
		sums[0] = s0, sums[1] = s1, sums[2] = s2, sums[3] = s3;
	}
	for (int i = 0; i < nq; i++) {
		float *sc = scs[i];
		double sum = sums[i];
		for (uint32_t p = p0; p < n_kvs[i]; p++)
			sum += (double)sc[p];
		const float inv = (float)(1.0 / sum);
		for (uint32_t p = 0; p < n_kvs[i]; p++)
			sc[p] *= inv;
		if (j->ex->kv_f16)
			round_f16_row(sc, sc, n_kvs[i]);
	}
}

#if OPS_F16C
/* The sums of wsum_f16's shared positions for lanes d .. d + 8 * vecs - 1 of nq
 * queries (both constants where it is inlined, so that the sums stay in registers). */
static inline __attribute__((always_inline)) void wsum_f16_lanes(int d, const int nq, const int vecs,
								const float *const *w, uint32_t n_common,
								const uint16_t *v, size_t kv_dim, float *const *out)
{
	__m256 acc[ENG_ATT_QUERIES][8];
	for (int q = 0; q < nq; q++)
		for (int k = 0; k < vecs; k++)
			acc[q][k] = _mm256_setzero_ps();
	for (uint32_t p = 0; p < n_common; p++) {
		const uint16_t *vr = v + p * kv_dim + d;
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
								   size_t kv_dim, float *const *out)
{
	__m512 acc[ENG_ATT_QUERIES][4];
	for (int q = 0; q < nq; q++)
		for (int k = 0; k < 4; k++)
			acc[q][k] = _mm512_setzero_ps();
	for (uint32_t p = 0; p < n_common; p++) {
		const uint16_t *vr = v + p * kv_dim + d;
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

/* out[q][0..hd) = sum over p of w[q][p] * v_p for f16 rows v_p (stride kv_dim), for nq
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
static void wsum_f16(int hd, int nq, const float *const *w, const uint32_t *n_kv, const uint16_t *v, size_t kv_dim,
		     float *const *out)
{
	const uint32_t n_common = n_kv[0];
	int d = 0;
#if OPS_F16C && defined(__AVX512F__)
	for (; d + 64 <= hd; d += 64) {
		if (nq == 4)
			wsum_f16_lanes512(d, 4, w, n_common, v, kv_dim, out);
		else if (nq == 3)
			wsum_f16_lanes512(d, 3, w, n_common, v, kv_dim, out);
		else if (nq == 2)
			wsum_f16_lanes512(d, 2, w, n_common, v, kv_dim, out);
		else
			wsum_f16_lanes512(d, 1, w, n_common, v, kv_dim, out);
	}
#endif
#if OPS_F16C
	if (nq == 1)
		for (; d + 64 <= hd; d += 64)
			wsum_f16_lanes(d, 1, 8, w, n_common, v, kv_dim, out);
	else
		for (; d + 16 <= hd; d += 16) {
			if (nq == 4)
				wsum_f16_lanes(d, 4, 2, w, n_common, v, kv_dim, out);
			else if (nq == 3)
				wsum_f16_lanes(d, 3, 2, w, n_common, v, kv_dim, out);
			else
				wsum_f16_lanes(d, 2, 2, w, n_common, v, kv_dim, out);
		}
#endif
	for (int q = 0; q < nq; q++) {
		if (d < hd) {
			memset(out[q] + d, 0, (size_t)(hd - d) * sizeof(float));
			for (uint32_t p = 0; p < n_common; p++)
				axpy_f16(hd - d, w[q][p], v + p * kv_dim + d, out[q] + d);
		}
		for (uint32_t p = n_common; p < n_kv[q]; p++)
			axpy_f16(hd, w[q][p], v + p * kv_dim, out[q]);
	}
}

/* Tokens t0 .. t0+nq-1 of head h, which share their slot and follow each other
 * (positions p, p+1, ...): one multi-row dot of the K rows of the group's key range
 * with the nq queries (each K row read once for all of them), then each query's
 * softmax, then the weighted sums of V rows over each query's keys (with the f16
 * cache and a common first key, all queries at once: wsum_f16). A score is the
 * same dot whatever rows and queries share the call (kernels_f16.c), so every output
 * has the bits of the query alone (with the f16 cache q is rounded to f16 too, so the
 * products are exact and the fused kernel has the same bits). */
static void att_group(const struct att_job *j, int t0, int nq, int h, float *scores, float *qr)
{
	struct eng_exec *ex = j->ex;
	const int hd = j->head_dim, kvh = h / (j->n_head / j->n_head_kv);
	const size_t kv_dim = j->kv->n_embd_kv, sstride = ex->n_ctx;
	uint32_t lo, hi, unused;
	att_keys(j, t0, &lo, &unused);
	att_keys(j, t0 + nq - 1, &unused, &hi);
	const size_t slot = j->base ? (size_t)j->base[t0] : 0;
	const size_t k_off = (slot + lo) * kv_dim + (size_t)kvh * hd;
	for (int i = 0; i < nq; i++) {
		const float *q = j->q + ((size_t)(t0 + i) * j->n_head + h) * hd;
		if (ex->kv_f16)
			round_f16_row(q, qr + (size_t)i * hd, (size_t)hd);
		else
			memcpy(qr + (size_t)i * hd, q, (size_t)hd * sizeof(float));
	}
	if (j->kt) /* its rows are cache rows: the slot's first plus the key's position */
		eng_kt_scores(hd, j->kt + (size_t)kvh * ex->kt_head, (int)(slot + lo), (int)(slot + hi), qr, (size_t)hd, nq,
			      scores, sstride);
	else if (ex->kv_f16)
		eng_mdot_f16_xh(hd, (const uint16_t *)j->kv->k[j->il] + k_off, kv_dim * sizeof(uint16_t), (int)(hi - lo),
				qr, (size_t)hd * sizeof(float), nq, scores, sstride);
	else
		eng_mdot_f32(hd, (const float *)j->kv->k[j->il] + k_off, kv_dim * sizeof(float), (int)(hi - lo), qr,
			     (size_t)hd * sizeof(float), nq, scores, sstride);
	const float *w[ENG_ATT_QUERIES];
	float *sc[ENG_ATT_QUERIES], *o[ENG_ATT_QUERIES];
	uint32_t first[ENG_ATT_QUERIES], n_kv[ENG_ATT_QUERIES];
	bool same_first = true;
	for (int i = 0; i < nq; i++) {
		uint32_t end;
		att_keys(j, t0 + i, &first[i], &end);
		n_kv[i] = end - first[i];
		sc[i] = scores + (size_t)i * sstride + (first[i] - lo);
		w[i] = sc[i];
		o[i] = j->out + ((size_t)(t0 + i) * j->n_head + h) * hd;
		same_first = same_first && first[i] == first[0];
	}
	att_softmax(j, sc, n_kv, nq);
	if (ex->kv_f16 && nq > 1 && same_first) {
		wsum_f16(hd, nq, w, n_kv, (const uint16_t *)j->kv->v[j->il] + (slot + first[0]) * kv_dim + (size_t)kvh * hd,
			 kv_dim, o);
		return;
	}
	for (int i = 0; i < nq; i++) {
		const size_t v_off = (slot + first[i]) * kv_dim + (size_t)kvh * hd;
		if (ex->kv_f16) {
			wsum_f16(hd, 1, &w[i], &n_kv[i], (const uint16_t *)j->kv->v[j->il] + v_off, kv_dim, &o[i]);
		} else {
			memset(o[i], 0, (size_t)hd * sizeof(float));
			for (uint32_t p = 0; p < n_kv[i]; p++)
				axpy_f32(hd, w[i][p], (const float *)j->kv->v[j->il] + v_off + p * kv_dim, o[i]);
		}
	}
}

/* Items are (group of ENG_ATT_QUERIES tokens, head); a group whose tokens do not
 * share a slot at consecutive positions goes token by token. */
static void att_task(void *arg, int64_t i0, int64_t i1, int tid)
{
	struct att_job *j = arg;
	struct eng_exec *ex = j->ex;
	float *scores = ex->scores + (size_t)tid * ex->scores_stride;
	float *qr = scores + (size_t)ENG_ATT_QUERIES * ex->n_ctx;
	for (int64_t item = i0; item < i1; item++) {
		const int t0 = (int)(item / j->n_head) * ENG_ATT_QUERIES, h = (int)(item % j->n_head);
		const int nq = j->n_tok - t0 < ENG_ATT_QUERIES ? j->n_tok - t0 : ENG_ATT_QUERIES;
		bool chained = true;
		for (int i = 1; j->pos && i < nq; i++)
			chained = chained && j->base[t0 + i] == j->base[t0] && j->pos[t0 + i] == j->pos[t0] + (uint32_t)i;
		if (chained)
			att_group(j, t0, nq, h, scores, qr);
		else
			for (int i = 0; i < nq; i++)
				att_group(j, t0 + i, 1, h, scores, qr);
	}
}

/* A call of ATT_KT_MIN_TOK tokens or more whose queries see ATT_KT_MIN_KEYS keys or more on
 * average dots them with the keys transposed once per layer (attn_kt.c: the same bits,
 * faster; its blocks of 16 keys are computed whole, so short ranges take the K rows). */
#define ATT_KT_MIN_TOK 16
#define ATT_KT_MIN_KEYS 48

/* The blocks of 16 cache rows the tokens' keys lie in, each listed once; j->kt where
 * they are worth transposing. */
static void att_kt_prepare(struct att_job *j)
{
	struct eng_exec *ex = j->ex;
	if (!ex->kt || j->n_tok < ATT_KT_MIN_TOK)
		return;
	if (++ex->kt_gen == 0) { /* marks of 2^32 calls ago would read as this call's */
		memset(ex->kt_mark, 0, ex->kt_head / (size_t)j->head_dim / 16 * sizeof *ex->kt_mark);
		ex->kt_gen = 1;
	}
	uint64_t keys = 0;
	uint32_t nb = 0, hi = 0;
	for (int t = 0; t < j->n_tok; t++) {
		uint32_t first, end, b = j->base ? j->base[t] : 0;
		att_keys(j, t, &first, &end);
		keys += end - first;
		hi = b + end > hi ? b + end : hi;
		for (uint32_t blk = (b + first) / 16; blk <= (b + end - 1) / 16; blk++)
			if (ex->kt_mark[blk] != ex->kt_gen) {
				ex->kt_mark[blk] = ex->kt_gen;
				ex->kt_list[nb++] = blk;
			}
	}
	if (keys < (uint64_t)ATT_KT_MIN_KEYS * (uint64_t)j->n_tok)
		return;
	eng_kt_fill(ex, j->kv, j->il, j->head_dim, j->n_head_kv, nb, hi);
	j->kt = ex->kt;
}

/* One item per (group of ENG_ATT_QUERIES tokens, head). */
static void att_run(struct att_job *j)
{
	att_kt_prepare(j);
	const int64_t n_groups = (j->n_tok + ENG_ATT_QUERIES - 1) / ENG_ATT_QUERIES;
	eng_pool_run(j->ex->pool, att_task, j, n_groups * j->n_head);
}

static void cpu_attention(struct eng_exec *ex, const struct eng_kv *kv, int il, const float *q, int n_tok,
			  uint32_t pos0, int n_head, int n_head_kv, int head_dim, uint32_t window, float *out)
{
	struct att_job j = { .ex = ex, .kv = kv, .il = il, .q = q, .pos0 = pos0, .window = window,
			     .n_tok = n_tok, .n_head = n_head,
			     .n_head_kv = n_head_kv, .head_dim = head_dim, .out = out,
			     .scale = ex->att_scale > 0.0f ? ex->att_scale : 1.0f / sqrtf((float)head_dim),
			     .softcap = ex->att_softcap };
	att_run(&j);
}

static void cpu_attention_pos(struct eng_exec *ex, const struct eng_kv *kv, int il, const float *q, int n_tok,
			      const uint32_t *pos, const uint32_t *base, int n_head, int n_head_kv, int head_dim,
			      uint32_t window, float *out)
{
	struct att_job j = { .ex = ex, .kv = kv, .il = il, .q = q, .pos = pos, .base = base, .window = window,
			     .n_tok = n_tok, .n_head = n_head, .n_head_kv = n_head_kv, .head_dim = head_dim, .out = out,
			     .scale = ex->att_scale > 0.0f ? ex->att_scale : 1.0f / sqrtf((float)head_dim),
			     .softcap = ex->att_softcap };
	att_run(&j);
}

/* One job of the elementwise ops: x[i] op= y[i] (or s), elements [0, n). */
enum elt_op { ELT_SWIGLU, ELT_ADD, ELT_GELU, ELT_SCALE, ELT_SOFTCAP };

struct elt_job {
	struct eng_exec *ex;
	enum elt_op op;
	float *x;
	const float *y;
	size_t n;
	float s;
};

static void elt_apply(const struct elt_job *j, size_t b, size_t e);

static void elt_task(void *arg, int64_t i0, int64_t i1, int tid)
{
	(void)tid;
	const struct elt_job *j = arg;
	size_t b, e;
	elt_range(i0, i1, j->n, &b, &e);
	elt_apply(j, b, e);
}

static void elt_run(struct eng_exec *ex, enum elt_op op, float *x, const float *y, size_t n, float s)
{
	struct elt_job j = { .ex = ex, .op = op, .x = x, .y = y, .n = n, .s = s };
	par_run(ex, elt_task, &j, elt_items(n));
}

static void cpu_swiglu(struct eng_exec *ex, float *gate, const float *up, size_t n)
{
	elt_run(ex, ELT_SWIGLU, gate, up, n, 0.0f);
}

static void cpu_add(struct eng_exec *ex, float *x, const float *y, size_t n)
{
	elt_run(ex, ELT_ADD, x, y, n, 0.0f);
}

/* x[t] += b for token rows t. */
static void add_row_task(void *arg, int64_t t0, int64_t t1, int tid)
{
	(void)tid;
	const struct tok_job *j = arg;
	for (int64_t t = t0; t < t1; t++)
		for (int i = 0; i < j->dim; i++)
			j->out[(size_t)t * j->dim + i] += j->bias[i];
}

static void cpu_add_row(struct eng_exec *ex, float *x, const float *b, int n_tok, int dim)
{
	struct tok_job j = { .ex = ex, .out = x, .bias = b, .dim = dim };
	par_run(ex, add_row_task, &j, n_tok);
}

/* LayerNorm as ggml_norm followed by the weight and bias: mean and variance
 * summed in double, x - mean scaled by 1 / sqrt(var + eps). */
static void layernorm_task(void *arg, int64_t t0, int64_t t1, int tid)
{
	(void)tid;
	const struct tok_job *j = arg;
	const int dim = j->dim;
	for (int64_t t = t0; t < t1; t++) {
		const float *xr = j->x + (size_t)t * dim;
		float *o = j->out + (size_t)t * dim;
		double sum = 0.0;
		for (int i = 0; i < dim; i++)
			sum += (double)xr[i];
		const float mean = (float)(sum / dim);
		double sum2 = 0.0;
		for (int i = 0; i < dim; i++) {
			const float v = xr[i] - mean;
			sum2 += (double)(v * v);
		}
		const float scale = 1.0f / sqrtf((float)(sum2 / dim) + j->eps);
		for (int i = 0; i < dim; i++) {
			const float y = (xr[i] - mean) * scale * j->weight[i];
			o[i] = j->bias ? y + j->bias[i] : y;
		}
	}
}

static void cpu_layernorm(struct eng_exec *ex, const float *x, const float *weight, const float *bias, int n_tok,
			  int dim, float eps, float *out)
{
	struct tok_job j = { .ex = ex, .x = x, .weight = weight, .bias = bias, .dim = dim, .eps = eps, .out = out };
	par_run(ex, layernorm_task, &j, n_tok);
}

/* The tanh approximation of GELU (transformers' gelu_new / gelu_pytorch_tanh). */
static inline float gelu_tanh(float x)
{
	const float sqrt_2_over_pi = 0.79788456080286535587989211986876f;
	return 0.5f * x * (1.0f + tanhf(sqrt_2_over_pi * x * (1.0f + 0.044715f * x * x)));
}

/* ggml's CPU GELU (GGML_GELU_FP16): 0 below -10, x above 10, else the input
 * rounded to f16 looked up in a table of f16(gelu(f16 value)) - which is what
 * rounding, gelu_tanh and rounding again compute. */
static inline float gelu_ggml(float x)
{
	if (x <= -10.0f)
		return 0.0f;
	if (x >= 10.0f)
		return x;
	return round_f16(gelu_tanh(round_f16(x)));
}

static void cpu_gelu(struct eng_exec *ex, float *x, const float *up, size_t n)
{
	elt_run(ex, ELT_GELU, x, up, n, 0.0f);
}

static void cpu_scale(struct eng_exec *ex, float *x, size_t n, float s)
{
	elt_run(ex, ELT_SCALE, x, NULL, n, s);
}

static void cpu_softcap(struct eng_exec *ex, float *x, size_t n, float cap)
{
	elt_run(ex, ELT_SOFTCAP, x, NULL, n, cap);
}

/* Elements [b, e) of one elementwise job. */
static void elt_apply(const struct elt_job *j, size_t b, size_t e)
{
	float *x = j->x;
	switch (j->op) {
	case ELT_SWIGLU:
		eng_silu_mul_row(x + b, j->y + b, e - b);
		break;
	case ELT_ADD:
		for (size_t i = b; i < e; i++)
			x[i] += j->y[i];
		break;
	case ELT_GELU:
		for (size_t i = b; i < e; i++) {
			const float g = j->ex->gelu_f16 ? gelu_ggml(x[i]) : gelu_tanh(x[i]);
			x[i] = j->y ? g * j->y[i] : g;
		}
		break;
	case ELT_SCALE:
		for (size_t i = b; i < e; i++)
			x[i] *= j->s;
		break;
	case ELT_SOFTCAP:
		for (size_t i = b; i < e; i++)
			x[i] = tanhf(x[i] / j->s) * j->s;
		break;
	}
}

const struct eng_ops eng_cpu_ops = {
	.name = "cpu",
	.matmul = cpu_matmul,
	.get_rows = cpu_get_rows,
	.rmsnorm = cpu_rmsnorm,
	.rope = cpu_rope,
	.kv_store = cpu_kv_store,
	.attention = cpu_attention,
	.swiglu = cpu_swiglu,
	.add = cpu_add,
	.add_row = cpu_add_row,
	.layernorm = cpu_layernorm,
	.gelu = cpu_gelu,
	.scale = cpu_scale,
	.softcap = cpu_softcap,
	.rope_pos = cpu_rope_pos,
	.kv_store_pos = cpu_kv_store_pos,
	.attention_pos = cpu_attention_pos,
};
