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
#include <stdio.h>
#include <string.h>

#include "engine/cpu/kernels.h"
#include "engine/cpu/ops_int.h"
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
		if (j->dot_q8)
			j->quantize_act(xr, dst, n);
		else if (j->w->type == ENG_TYPE_BF16)
			eng_round_bf16_row(xr, dst, (size_t)n);
		else
			eng_round_f16_row(xr, dst, (size_t)n);
	}
	if (j->tables) /* this thread's tokens' lane tables, from the rows just quantized */
		eng_q8_tables_fill(j->w->type, n, j->ex->xq, j->xq_row_bytes, (int)t0, (int)t1, j->tables);
}

static void mdot_f32_block(int64_t n, const void *w, size_t w_stride, int n_rows, const void *x, size_t x_stride,
			   int n_tok, float *out, size_t out_stride)
{
	eng_mdot_f32(n, w, w_stride, n_rows, x, x_stride, n_tok, out, out_stride);
}

/* BF16 weights against f32 activations (HF folders) or ones rounded to bf16
 * (mm_prepare_task; GGUF, llama.cpp's arithmetic). */
static void mdot_bf16_block(int64_t n, const void *w, size_t w_stride, int n_rows, const void *x, size_t x_stride,
			    int n_tok, float *out, size_t out_stride)
{
	eng_mdot_bf16(n, w, w_stride, n_rows, x, x_stride, n_tok, out, out_stride);
}

/* F16 weights against activations rounded to f16 (mm_prepare_task; GGUF) or f32 ones
 * (HF folders: each element's multiply and add fused, as the F32 and BF16 kernels do). */
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
	if (!eng_cpu_has_vnni() && eng_kr_avx2_takes(w->type)) /* repack.c: the types AVX2 alone takes */
		eng_mdot_kr_avx2(w->type, n, blk, (int)(r1 - r0), j->xq, j->xq_row_bytes, j->n_tok, j->out + r0,
				 j->out_stride);
	else
		eng_mdot_kr(w->type, n, blk, (int)(r1 - r0), j->xq, j->xq_row_bytes, j->n_tok, j->tables, j->out + r0,
			    j->out_stride);
}

/* The tokens' activations converted into ex->xq (and their lane tables), unless xq holds
 * them already: the same input (ex->same_x) in the same format (one quantization where
 * wq, wk and wv, or ffn_gate and ffn_up, each made their own). */
static void mm_prepare(struct eng_exec *ex, struct mm_job *j)
{
	const uint32_t act = j->dot_q8 ? eng_type_get(j->w->type)->vec_dot_type + 1 : 0; /* 0: f16-rounded */
	const bool tables = j->tables != NULL;
	if (ex->same_x && ex->xq_fmt.act == act && ex->xq_fmt.wtype == j->w->type && ex->xq_fmt.n == (int64_t)j->w->ne0 &&
	    ex->xq_fmt.n_tok == j->n_tok && ex->xq_fmt.tables == tables)
		return;
	eng_pool_run(ex->pool, mm_prepare_task, j, j->n_tok);
	ex->xq_fmt.act = act, ex->xq_fmt.wtype = j->w->type, ex->xq_fmt.n = (int64_t)j->w->ne0;
	ex->xq_fmt.n_tok = j->n_tok, ex->xq_fmt.tables = tables;
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
	} else if (ex->f16_act && (w->type == ENG_TYPE_F16 || w->type == ENG_TYPE_BF16)) {
		/* GGUF: the activations rounded as ggml's mul_mat converts them (f16 for F16, bf16
		 * for BF16 weights), each product then exact in f32 */
		j.xq_row_bytes = (size_t)w->ne0 * sizeof(float);
	}
	if (w->layout == ENG_LAYOUT_KR16) { /* repack.c made it only where q8 activations are used */
		j.xq = ex->xq;
		/* the Q8_0-activation types: the tokens' block scales and sums once (eng_mdot_kr
		 * makes them itself where there are none: fewer than 4 tokens) */
		const size_t rows = ((size_t)n_tok * j.xq_row_bytes + 63) / 64 * 64,
			     tb = eng_kr_q0(w->type) ? eng_q8_tables_bytes(w->type, (int64_t)w->ne0, n_tok) : 0;
		if (tb && rows + tb <= ex->xq_size)
			j.tables = (char *)ex->xq + rows;
		mm_prepare(ex, &j);
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
		/* f16-rounded activations (GGUF, llama.cpp's arithmetic) or f32 ones (HF folders): one
		 * fused multiply-add an element either way (with f16 values it rounds as the two steps) */
		j.block = mdot_f16h_block;
	} else if (w->type == ENG_TYPE_BF16) {
		j.block = mdot_bf16_block;
	} else if (w->type == ENG_TYPE_F32) {
		j.block = mdot_f32_block;
	}
	if (j.xq_row_bytes) {
		/* ctx_new sized xq for n_ubatch rows of the widest input */
		j.xq = ex->xq;
		mm_prepare(ex, &j);
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
	const float *x, *weight, *bias;
	const struct eng_rope *rope;
	float *out;
	const uint32_t *pos, *base;
	uint32_t pos0;
	int dim, n_head, head_dim, n_rot;
	float eps, theta_scale;
};

/* Each token's sum of squares is one chain of double additions in element order; the
 * chains of RMS_CHAINS tokens run side by side (one chain alone waits for each add: a
 * latency-bound loop, 2.8% of a Q8_0 pp512's cycles), each token's bits unchanged. */
#define RMS_CHAINS 8

static void rmsnorm_task(void *arg, int64_t t0, int64_t t1, int tid)
{
	(void)tid;
	const struct tok_job *j = arg;
	const int dim = j->dim;
	for (int64_t t = t0; t < t1; t += RMS_CHAINS) {
		const int nt = t1 - t < RMS_CHAINS ? (int)(t1 - t) : RMS_CHAINS;
		const float *xr = j->x + (size_t)t * dim;
		double sum[RMS_CHAINS] = { 0.0 };
		if (nt == RMS_CHAINS)
			for (int i = 0; i < dim; i++)
				for (int k = 0; k < RMS_CHAINS; k++) {
					const float v = xr[(size_t)k * dim + i];
					sum[k] += (double)(v * v);
				}
		else
			for (int k = 0; k < nt; k++)
				for (int i = 0; i < dim; i++)
					sum[k] += (double)(xr[(size_t)k * dim + i] * xr[(size_t)k * dim + i]);
		for (int k = 0; k < nt; k++) {
			const float *xk = xr + (size_t)k * dim;
			float *o = j->out + (size_t)(t + k) * dim;
			const float mean = (float)(sum[k] / dim);
			const float scale = 1.0f / sqrtf(mean + j->eps);
			for (int i = 0; i < dim; i++)
				o[i] = (xk[i] * scale) * j->weight[i];
		}
	}
}

static void cpu_rmsnorm(struct eng_exec *ex, const float *x, const float *weight, int n_tok, int dim,
			float eps, float *out)
{
	struct tok_job j = { .ex = ex, .x = x, .weight = weight, .dim = dim, .eps = eps, .out = out };
	par_run(ex, rmsnorm_task, &j, n_tok);
}

/* YaRN's ramp at pair i (ggml's rope_yarn_ramp): 1 up to corr[0], falling linearly to 0 at corr[1]. */
static float yarn_ramp(const float corr[2], int i)
{
	const float y = ((float)i - corr[0]) / fmaxf(0.001f, corr[1] - corr[0]);
	return 1.0f - fminf(1.0f, fmaxf(0.0f, y));
}

/* Rotate the n_head heads of one token row at position pos (the pairs: eng_rope_adjacent,
 * eng_rope_halves). The angles as ggml's rope cache: theta advanced by repeated
 * multiplication, divided by the pair's factor, then scaled (struct eng_rope_scaling);
 * unscaled, the scaling multiplies by 1 and changes no bit. */
static void rope_row(float *row, int n_head, int head_dim, int n_rot, uint32_t pos, float theta_scale,
		     const struct eng_rope *r)
{
	float cs[2][512];
	float theta = (float)pos;
	const struct eng_rope_scaling *s = &r->s;
	/* n_rot <= head_dim <= 4096 is checked at load; compute in slices of 512 pairs */
	for (int base = 0; base < n_rot; base += 1024) {
		const int len = n_rot - base < 1024 ? n_rot - base : 1024;
		for (int i0 = 0; i0 < len; i0 += 2) {
			const int i = (base + i0) / 2;
			if (r->inv_freq) { /* transformers' angle: one float32 product */
				const float th = (float)pos * r->inv_freq[i];
				cs[0][i0 / 2] = cosf(th) * s->mscale;
				cs[1][i0 / 2] = sinf(th) * s->mscale;
				continue;
			}
			const float th_e = r->freq_factors ? theta / r->freq_factors[i] : theta;
			const float th_i = s->freq_scale * th_e;
			float th = th_i;
			if (s->ext_factor != 0.0f) {
				const float mix = yarn_ramp(s->corr, i) * s->ext_factor;
				th = th_i * (1.0f - mix) + th_e * mix;
			}
			cs[0][i0 / 2] = cosf(th) * s->mscale;
			cs[1][i0 / 2] = sinf(th) * s->mscale;
			theta *= theta_scale;
		}
		for (int h = 0; h < n_head; h++) {
			float *v = row + (size_t)h * head_dim;
			if (r->kind == ENG_ROPE_NORM)
				eng_rope_adjacent(v + base, cs[0], cs[1], (size_t)len / 2);
			else
				eng_rope_halves(v + base / 2, v + base / 2 + n_rot / 2, cs[0], cs[1], (size_t)len / 2);
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
			 j->pos ? j->pos[t] : j->pos0 + (uint32_t)t, j->theta_scale, j->rope);
}

static void cpu_rope(struct eng_exec *ex, float *x, int n_tok, int n_head, int head_dim, int n_rot,
		     uint32_t pos0, const struct eng_rope *r)
{
	if (r->kind == ENG_ROPE_NONE)
		return;
	struct tok_job j = { .ex = ex, .out = x, .n_head = n_head, .head_dim = head_dim, .n_rot = n_rot, .pos0 = pos0,
			     .theta_scale = powf(r->freq_base, -2.0f / (float)n_rot), .rope = r };
	par_run(ex, rope_task, &j, n_tok);
}

static void cpu_rope_pos(struct eng_exec *ex, float *x, int n_tok, int n_head, int head_dim, int n_rot,
			 const uint32_t *pos, const struct eng_rope *r)
{
	if (r->kind == ENG_ROPE_NONE)
		return;
	struct tok_job j = { .ex = ex, .out = x, .n_head = n_head, .head_dim = head_dim, .n_rot = n_rot, .pos = pos,
			     .theta_scale = powf(r->freq_base, -2.0f / (float)n_rot), .rope = r };
	par_run(ex, rope_task, &j, n_tok);
}

/* ---- the cache stores: engine/cpu/kvcache.c; attention: engine/cpu/attention.c ---- */

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
	.kv_store = eng_cpu_kv_store,
	.attention = eng_cpu_attention,
	.swiglu = cpu_swiglu,
	.add = cpu_add,
	.add_row = cpu_add_row,
	.layernorm = cpu_layernorm,
	.gelu = cpu_gelu,
	.scale = cpu_scale,
	.softcap = cpu_softcap,
	.rope_pos = cpu_rope_pos,
	.kv_store_pos = eng_cpu_kv_store_pos,
	.kv_move = eng_cpu_kv_move,
	.attention_pos = eng_cpu_attention_pos,
};

void eng_cpu_kernels(char *buf, size_t size)
{
#if defined(__AVX512F__)
	const char *width = "avx512";
#elif defined(__AVX2__)
	const char *width = "avx2";
#else
	const char *width = "plain-C";
#endif
	char pf[32] = "";
	if (eng_cpu_dec_ahead() != ENG_DEC_AHEAD)
		snprintf(pf, sizeof pf, " dec-prefetch-%zu", eng_cpu_dec_ahead());
	snprintf(buf, size, "%s%s%s%s%s", width, eng_cpu_has_vnni() ? " vnni" : "", eng_kr_has_gfni() ? " gfni" : "",
		 eng_cpu_has_amx() ? " amx-int8" : "", pf);
}
