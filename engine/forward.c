/* forward.c — contexts and the forward pass, written once against struct eng_ops.
 *
 * A context owns a KV cache of n_ctx positions and activation buffers for
 * n_ubatch tokens, both allocated once in eng_ctx_new (no allocation per
 * token). eng_decode cuts its tokens into micro-batches of at most n_ubatch;
 * since every op computes a token's numbers the same way whatever the batch
 * holds, the split never changes a result (eng_score relies on this).
 *
 * The transformer block, for the flags in struct eng_config (in brackets where
 * a flag or kind decides; every architecture is a choice of these):
 *   x = embed(tokens) [* embd_scale] [+ pos_embd(positions)]
 *   per layer: h = norm(x); q,k,v = h Wq,Wk,Wv [+ biases]; [norm each head of q, k]; [rope(q,k)];
 *              a = attention(q, cache) [window of the layer, scale, soft cap] Wo [+ bo];
 *              x += [post_norm](a);
 *              h = norm(x); f = ffn(h) (SwiGLU / GeGLU / GELU [+ biases], or [a mixture of SwiGLU
 *              experts], engine/moe.c); x += [post_norm](f)
 *   logits = norm(x) Wout [soft cap]
 * where norm is RMSNorm, or LayerNorm with its bias.
 */
#include "engine/eng_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cpu/vmath.h"
#include "engine/types.h"

/* Tokens a forward pass over one sequence takes at a time: each micro-batch reads
 * every weight once, so wider ones read them less often per token (256 against 64:
 * pp512 1.10-1.15x faster for F16, Q8_0 and Q4_0 on a Zen 5 host, 512 no faster;
 * docs/performance.md, 2026-12-04 night). The logits scratch is n_ubatch rows, but
 * its pages are only committed where logits are wanted. */
#ifndef N_UBATCH
#define N_UBATCH 256
#endif
/* A device backend takes bigger micro-batches: its prefill matrix products
 * (cuBLAS) need wide activations to approach the GPU's FLOP rate. */
#define N_UBATCH_DEVICE 512
/* Contexts of several sequences batch many short ones: wider micro-batches
 * give every matrix product more rows per pass over the weights. */
#ifndef N_UBATCH_MULTI
#define N_UBATCH_MULTI 256
#endif

static void *xcalloc(size_t n, size_t size, bool *fail)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		*fail = true;
	return p;
}

/* Zeroed host memory starting on a 64-byte boundary (free with host_free). The
 * kernels load 8 floats (32 bytes) at a time from activation rows a multiple of
 * 64 bytes long; calloc's large blocks start 16 bytes past a page, where every
 * other such load straddles two cache lines (F16 weights' prefill tiles: 1.5-2x
 * slower). The block's own address is kept just below the aligned one; calloc
 * rather than aligned_alloc + memset, so that pages never written (a KV cache
 * longer than the text, logit rows not asked for) are never committed. */
static void *host_calloc(size_t n, size_t size, bool *fail)
{
	n = n ? n : 1;
	if (size && n > (SIZE_MAX - 128) / size) {
		*fail = true;
		return NULL;
	}
	char *raw = calloc(n * size + 64 + sizeof(void *), 1);
	if (!raw) {
		*fail = true;
		return NULL;
	}
	char *p = raw + sizeof(void *);
	p += (64 - (uintptr_t)p % 64) % 64;
	memcpy(p - sizeof(void *), &raw, sizeof raw);
	return p;
}

static void host_free(void *p)
{
	if (!p)
		return;
	void *raw;
	memcpy(&raw, (char *)p - sizeof(void *), sizeof raw);
	free(raw);
}

/* Activations and KV cache: host memory on the CPU, the backend's memory on a
 * device backend (zeroed either way). */
static void *act_alloc(struct eng_ctx *c, size_t n, size_t size, bool *fail)
{
	if (!c->ops->alloc)
		return host_calloc(n, size, fail);
	void *p = *fail ? NULL : c->ops->alloc(&c->ex, (n ? n : 1) * size);
	if (!p)
		*fail = true;
	return p;
}

static void act_free(struct eng_ctx *c, void *p)
{
	if (!p)
		return;
	if (c->ops->free)
		c->ops->free(&c->ex, p);
	else
		host_free(p);
}

static uint64_t max_u64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

/* The widest row a layer's matrices take or give (q, k, v, o, gate, up, down; a shared
 * expert's): the activation scratch's width, and a LoRA product's. */
static size_t widest_row(const struct eng_config *cfg)
{
	size_t w = cfg->n_embd;
	if (cfg->n_embd_q > w)
		w = cfg->n_embd_q;
	if (eng_config_ff_widest(cfg) > w)
		w = eng_config_ff_widest(cfg);
	return w;
}

/* The scratch a device backend needs for this model and micro-batch size. */
static void exec_sizes(const struct eng_ctx *c, struct eng_exec_sizes *sz)
{
	const struct eng_config *cfg = &c->m->cfg;
	const struct eng_weights *w = c->m->wx;
	*sz = (struct eng_exec_sizes){ .n_ubatch = c->n_ubatch, .n_ctx = c->n_ctx, .n_vocab = cfg->n_vocab,
				       .head_dim = cfg->head_dim };
	sz->max_in = widest_row(cfg);
	const struct eng_tensor *mats[] = { &w->output };
	for (size_t i = 0; i < sizeof mats / sizeof mats[0]; i++)
		if (mats[i]->type == ENG_TYPE_Q8_0 || mats[i]->type == ENG_TYPE_Q4_0)
			sz->max_qweight = max_u64(sz->max_qweight, mats[i]->ne0 * mats[i]->ne1);
	for (uint32_t il = 0; il < cfg->n_layer; il++) {
		const struct eng_layer *L = &w->layers[il];
		const struct eng_tensor *lm[] = { &L->wq, &L->wk, &L->wv, &L->wo, &L->ffn_gate, &L->ffn_up,
						  &L->ffn_down };
		for (size_t i = 0; i < sizeof lm / sizeof lm[0]; i++)
			if (lm[i]->type == ENG_TYPE_Q8_0 || lm[i]->type == ENG_TYPE_Q4_0)
				sz->max_qweight = max_u64(sz->max_qweight, lm[i]->ne0 * lm[i]->ne1);
	}
}

/* The activations, scratch and KV cache of c (sizes already set); false when one failed. */
static bool ctx_alloc(struct eng_ctx *c)
{
	const struct eng_config *cfg = &c->m->cfg;
	const bool on_device = c->ops->alloc != NULL;
	bool fail = false;
	if (!on_device) {
		c->ex.scores_stride = ENG_ATT_QUERIES * ((size_t)c->n_ctx + (size_t)cfg->head_dim) + 16;
		c->ex.scores = xcalloc((size_t)c->ex.n_threads * c->ex.scores_stride, sizeof(float), &fail);
		/* f16-rounded floats are the widest conversion (4 bytes/element; Q8_0 is 34/32) */
		c->ex.xq_size = (size_t)c->n_ubatch * widest_row(cfg) * sizeof(float);
		c->ex.xq = host_calloc(c->ex.xq_size, 1, &fail);
	}
	size_t ub = c->n_ubatch;
	c->a.x = act_alloc(c, ub * cfg->n_embd, sizeof(float), &fail);
	c->a.xn = act_alloc(c, ub * cfg->n_embd, sizeof(float), &fail);
	c->a.q = act_alloc(c, ub * cfg->n_embd_q, sizeof(float), &fail);
	c->a.k = act_alloc(c, ub * cfg->n_embd_kv, sizeof(float), &fail);
	c->a.v = act_alloc(c, ub * cfg->n_embd_kv, sizeof(float), &fail);
	c->a.att = act_alloc(c, ub * cfg->n_embd_q, sizeof(float), &fail);
	c->a.tmp = act_alloc(c, ub * cfg->n_embd, sizeof(float), &fail);
	c->a.hg = act_alloc(c, ub * eng_config_ff_widest(cfg), sizeof(float), &fail);
	c->a.hu = act_alloc(c, ub * eng_config_ff_widest(cfg), sizeof(float), &fail);
	if (cfg->n_expert && !on_device && !eng_moe_alloc(c))
		fail = true;
	if (c->m->lora) { /* a x: r a token; b (a x): at most the widest output */
		const struct eng_model_desc *d = &c->m->desc;
		c->lora_t = xcalloc(ub * d->lora_rank, sizeof(float), &fail);
		c->lora_u = xcalloc(ub * widest_row(cfg), sizeof(float), &fail);
	}
	if (on_device)
		c->a.logits = act_alloc(c, ub * cfg->n_vocab, sizeof(float), &fail);
	const size_t n_rows = (size_t)c->n_seq * c->n_ctx; /* checked against 2^26 by the caller */
	c->logits_buf = xcalloc(cfg->n_vocab, sizeof(float), &fail);
	c->tokens = xcalloc(n_rows, sizeof(int32_t), &fail);
	c->seq_pos = xcalloc(c->n_seq, sizeof(uint32_t), &fail);
	c->seq_next = xcalloc(c->n_seq, sizeof(uint32_t), &fail);
	c->pos_ids = xcalloc(ub, sizeof(int32_t), &fail);
	c->ub_pos = xcalloc(ub, sizeof(uint32_t), &fail);
	c->ub_base = xcalloc(ub, sizeof(uint32_t), &fail);
	c->ub_out = xcalloc(ub, sizeof(int32_t), &fail);

	c->kv.n_layer = cfg->n_layer;
	c->kv.n_embd_kv = cfg->n_embd_kv;
	c->kv.n_ctx = (uint32_t)n_rows;
	c->kv.n_pad = (uint32_t)((n_rows + 15) / 16 * 16);
	c->kv.head_dim = cfg->head_dim;
	c->kv.k = xcalloc(cfg->n_layer, sizeof(void *), &fail);
	c->kv.v = xcalloc(cfg->n_layer, sizeof(void *), &fail);
	size_t elt = c->ex.kv_f16 ? sizeof(uint16_t) : sizeof(float);
	for (uint32_t il = 0; !fail && il < cfg->n_layer; il++) {
		c->kv.k[il] = act_alloc(c, (size_t)c->kv.n_pad * cfg->n_embd_kv, elt, &fail);
		c->kv.v[il] = act_alloc(c, (size_t)c->kv.n_pad * cfg->n_embd_kv, elt, &fail);
	}
	return !fail;
}

/* Why m cannot have a context of n_ctx positions in n_seq slots; 0 when it can. */
static int ctx_check(struct eng_model *m, uint32_t n_ctx, uint32_t n_seq, struct mrl_err *err)
{
	if (!m->has_weights)
		return mrl_err_set(err, MRL_EINPUT, "%s: vocabulary-only model has no weights to decode with",
				   m->path);
	if (n_ctx > (1u << 24))
		return mrl_err_set(err, MRL_EINPUT, "%s: context of %" PRIu32 " positions is too large", m->path,
				   n_ctx);
	if (n_seq == 0 || (uint64_t)n_seq * n_ctx > (1u << 26))
		return mrl_err_set(err, MRL_EINPUT, "%s: %" PRIu32 " sequences of %" PRIu32 " positions: need 1 to "
				   "2^26 positions in all", m->path, n_seq, n_ctx);
	if (n_seq > 1 && !m->ops->attention_pos)
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: the %s backend runs one sequence per context "
				   "(asked for %" PRIu32 ")", m->path, m->ops->name, n_seq);
	if (m->cfg.learned_pos && n_ctx > m->w.pos_embd.ne1)
		return mrl_err_set(err, MRL_EINPUT, "%s: a context of %" PRIu32 " positions is longer than the %" PRIu64
				   " learned position embeddings", m->path, n_ctx, m->w.pos_embd.ne1);
	return 0;
}

int eng_ctx_new_multi(struct eng_ctx **out, struct eng_model *m, uint32_t n_ctx, uint32_t n_seq,
		      struct mrl_err *err)
{
	*out = NULL;
	const struct eng_config *cfg = &m->cfg;
	const bool as_trained = n_ctx == 0;
	if (m->has_weights && n_ctx == 0)
		n_ctx = cfg->n_ctx_train;
	int rc = ctx_check(m, n_ctx, n_seq, err);
	if (rc)
		return rc;
	struct eng_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory for a context", m->path);
	c->m = m;
	c->ops = m->ops;
	c->n_ctx = n_ctx;
	c->n_seq = n_seq;
	/* longrope as llama.cpp chooses: the long factors for a context (per sequence) asked
	 * longer than the original one, whatever the text's length. A context of the training
	 * size asked as such (n_ctx 0: `run`, `score`, which size it to hold any item) keeps
	 * the short ones, as transformers does for a sequence within the original context. */
	c->rope_factors = m->wx->rope_long && !as_trained && n_ctx > cfg->rope_n_ctx_orig ? m->wx->rope_long
		: m->wx->rope_short ? m->wx->rope_short : m->wx->rope_factors;
	if (cfg->rope_exact && cfg->n_rot) {
		if (!(c->rope_inv = malloc(cfg->n_rot / 2 * sizeof *c->rope_inv))) {
			free(c);
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory for a context", m->path);
		}
		eng_rope_inv_freq(cfg, c->rope_factors, c->rope_inv);
		if (cfg->rope_freq_base_swa > 0.0f) {
			const struct eng_config swa = eng_config_swa_rope(cfg);
			if (!(c->rope_inv_swa = malloc(cfg->n_rot / 2 * sizeof *c->rope_inv_swa))) {
				free(c->rope_inv);
				free(c);
				return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory for a context", m->path);
			}
			eng_rope_inv_freq(&swa, NULL, c->rope_inv_swa);
		}
	}
	const bool on_device = c->ops->alloc != NULL;
	c->n_ubatch = on_device ? N_UBATCH_DEVICE : n_seq > 1 ? N_UBATCH_MULTI : N_UBATCH;
	c->ex.n_ctx = n_ctx;
	c->ex.kv_f16 = !m->kv_f32;
	c->ex.q8_act = true;
	c->ex.f16_act = cfg->f16_act;
	c->ex.att_scale = cfg->attn_scale;
	c->ex.att_softcap = cfg->attn_softcap;
	c->ex.gelu_f16 = cfg->gelu_f16;
	/* a device backend computes on the device: one host thread drives it */
	if ((rc = eng_pool_new(&c->ex.pool, on_device ? 1 : m->n_threads, m->pin_threads && !on_device, err)))
		goto out;
	c->ex.n_threads = eng_pool_n_threads(c->ex.pool);
	if (on_device) {
		struct eng_exec_sizes sz;
		char msg[512] = "";
		exec_sizes(c, &sz);
		if ((rc = c->ops->exec_init(&c->ex, &sz, msg, sizeof msg))) {
			rc = mrl_err_set(err, rc, "%s: %s backend: %s", m->path, c->ops->name, msg);
			goto out;
		}
	}
	if (!ctx_alloc(c)) {
		char msg[512] = "";
		if (on_device && c->ops->status(&c->ex, msg, sizeof msg))
			rc = mrl_err_set(err, MRL_ENOMEM, "%s: %s backend: no room for a context of %" PRIu32
					 " positions: %s", m->path, c->ops->name, n_ctx, msg);
		else
			rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory for a context of %" PRIu32 " x %" PRIu32
					 " positions", m->path, n_seq, n_ctx);
		goto out;
	}
	*out = c;
	c = NULL;
out:
	eng_ctx_free(c);
	return rc;
}

int eng_ctx_new(struct eng_ctx **out, struct eng_model *m, uint32_t n_ctx, struct mrl_err *err)
{
	return eng_ctx_new_multi(out, m, n_ctx, 1, err);
}

void eng_ctx_set_stop(struct eng_ctx *c, bool (*should_stop)(void *arg), void *arg)
{
	c->should_stop = should_stop;
	c->stop_arg = arg;
}

void eng_ctx_free(struct eng_ctx *c)
{
	if (!c)
		return;
	if (c->kv.k)
		for (uint32_t il = 0; il < c->kv.n_layer; il++)
			act_free(c, c->kv.k[il]);
	if (c->kv.v)
		for (uint32_t il = 0; il < c->kv.n_layer; il++)
			act_free(c, c->kv.v[il]);
	free(c->kv.k);
	free(c->kv.v);
	float *acts[] = { c->a.x, c->a.xn, c->a.q, c->a.k, c->a.v, c->a.att, c->a.tmp, c->a.hg, c->a.hu,
			  c->a.logits };
	for (size_t i = 0; i < sizeof acts / sizeof acts[0]; i++)
		act_free(c, acts[i]);
	if (c->ops && c->ops->exec_release)
		c->ops->exec_release(&c->ex);
	free(c->logits_buf);
	free(c->rope_inv);
	free(c->rope_inv_swa);
	free(c->tokens);
	free(c->seq_pos);
	free(c->seq_next);
	free(c->pos_ids);
	free(c->ub_pos);
	free(c->ub_base);
	free(c->ub_out);
	eng_moe_free(c);
	free(c->lora_t);
	free(c->lora_u);
	free(c->ex.scores);
	host_free(c->ex.xq);
	eng_pool_free(c->ex.pool);
	free(c);
}

uint32_t eng_ctx_n_ctx(const struct eng_ctx *c)
{
	return c->n_ctx;
}

uint32_t eng_ctx_n_seq(const struct eng_ctx *c)
{
	return c->n_seq;
}

uint32_t eng_ctx_pos(const struct eng_ctx *c)
{
	return c->seq_pos[0];
}

uint32_t eng_seq_pos(const struct eng_ctx *c, uint32_t seq)
{
	return seq < c->n_seq ? c->seq_pos[seq] : 0;
}

void eng_seq_truncate(struct eng_ctx *c, uint32_t seq, uint32_t n_keep)
{
	/* Positions >= n_keep are simply overwritten by the next decode. */
	if (seq < c->n_seq && n_keep < c->seq_pos[seq])
		c->seq_pos[seq] = n_keep;
}

void eng_ctx_truncate(struct eng_ctx *c, uint32_t n_keep)
{
	eng_seq_truncate(c, 0, n_keep);
}

int eng_seq_copy(struct eng_ctx *c, uint32_t src, uint32_t dst, uint32_t n_keep, struct mrl_err *err)
{
	if (src >= c->n_seq || dst >= c->n_seq)
		return mrl_err_set(err, MRL_EINPUT, "sequence copy: slot %" PRIu32 " -> %" PRIu32 " outside the "
				   "context's %" PRIu32, src, dst, c->n_seq);
	if (n_keep > c->seq_pos[src])
		return mrl_err_set(err, MRL_EINPUT, "sequence copy: %" PRIu32 " positions asked of slot %" PRIu32
				   ", which holds %" PRIu32, n_keep, src, c->seq_pos[src]);
	if (src == dst) {
		eng_seq_truncate(c, dst, n_keep);
		return 0;
	}
	eng_kv_copy_rows(c, (size_t)src * c->n_ctx, (size_t)dst * c->n_ctx, n_keep);
	c->seq_pos[dst] = n_keep;
	return 0;
}

/* LoRA pairs: out += scale * b (a x), after the base product (PEFT's order). The pair's
 * products may convert their inputs into the scratch xq like any matmul, so what it holds
 * afterwards need not be the x a following same_x matmul expects: its format record is
 * cleared (a same_x matmul then converts x again). */
void eng_matmul(struct eng_ctx *c, const struct eng_tensor *w, const float *x, int n_tok, float *out,
		size_t out_stride)
{
	struct eng_exec *ex = &c->ex;
	c->ops->matmul(ex, w, x, n_tok, out, out_stride);
	const struct eng_lora *l = w->lora;
	if (!l)
		return;
	const bool same = ex->same_x;
	ex->same_x = false;
	c->ops->matmul(ex, &l->a, x, n_tok, c->lora_t, l->a.ne1);
	c->ops->matmul(ex, &l->b, c->lora_t, n_tok, c->lora_u, l->b.ne1);
	ex->same_x = same;
	memset(&ex->xq_fmt, 0, sizeof ex->xq_fmt);
	for (int t = 0; t < n_tok; t++) {
		float *o = out + (size_t)t * out_stride;
		const float *u = c->lora_u + (size_t)t * l->b.ne1;
		for (uint64_t i = 0; i < l->b.ne1; i++)
			o[i] += u[i] * l->scale;
	}
}

/* RMSNorm, or LayerNorm with its bias (b->data NULL: none), of n_tok rows. */
static void norm(struct eng_ctx *c, const float *x, const struct eng_tensor *w, const struct eng_tensor *b, int n_tok,
		 float *out)
{
	const struct eng_config *cfg = &c->m->cfg;
	if (cfg->norm == ENG_NORM_LAYER)
		c->ops->layernorm(&c->ex, x, w->data, b->data, n_tok, (int)cfg->n_embd, cfg->norm_eps, out);
	else
		c->ops->rmsnorm(&c->ex, x, w->data, n_tok, (int)cfg->n_embd, cfg->norm_eps, out);
}

/* x += y, or x += post_norm(y) (Gemma 2); y may be overwritten. */
static void residual(struct eng_ctx *c, const struct eng_tensor *post_norm, float *y, int n_tok)
{
	const size_t n = (size_t)n_tok * c->m->cfg.n_embd;
	const struct eng_tensor no_bias = { 0 };
	if (c->m->cfg.post_norms) {
		norm(c, y, post_norm, &no_bias, n_tok, c->a.xn);
		y = c->a.xn;
	}
	c->ops->add(&c->ex, c->a.x, y, n);
}

static void embed(struct eng_ctx *c, const int32_t *tokens, int n_tok)
{
	const struct eng_config *cfg = &c->m->cfg;
	const struct eng_weights *W = c->m->wx;
	const size_t n = (size_t)n_tok * cfg->n_embd;
	c->ops->get_rows(&c->ex, &W->tok_embd, tokens, n_tok, c->a.x);
	if (cfg->embd_scale > 0.0f)
		c->ops->scale(&c->ex, c->a.x, n, cfg->embd_scale);
	if (cfg->learned_pos) {
		for (int t = 0; t < n_tok; t++)
			c->pos_ids[t] = (int32_t)c->ub_pos[t];
		c->ops->get_rows(&c->ex, &W->pos_embd, c->pos_ids, n_tok, c->a.tmp);
		c->ops->add(&c->ex, c->a.x, c->a.tmp, n);
	}
}

/* A layer's attention up to its output projection: norm, q/k/v, rope, the cache
 * store, and the attention of every token into a->att. */
static void attention_core(struct eng_ctx *c, const struct eng_layer *L, uint32_t il, int n_tok)
{
	const struct eng_config *cfg = &c->m->cfg;
	const struct eng_ops *ops = c->ops;
	struct eng_exec *ex = &c->ex;
	struct eng_acts *a = &c->a;
	norm(c, a->x, &L->attn_norm, &L->attn_norm_b, n_tok, a->xn);
	eng_matmul(c, &L->wq, a->xn, n_tok, a->q, cfg->n_embd_q);
	ex->same_x = true; /* xn is wq's input, unchanged */
	eng_matmul(c, &L->wk, a->xn, n_tok, a->k, cfg->n_embd_kv);
	eng_matmul(c, &L->wv, a->xn, n_tok, a->v, cfg->n_embd_kv);
	ex->same_x = false;
	if (cfg->qkv_bias) {
		ops->add_row(ex, a->q, L->bq.data, n_tok, (int)cfg->n_embd_q);
		ops->add_row(ex, a->k, L->bk.data, n_tok, (int)cfg->n_embd_kv);
		ops->add_row(ex, a->v, L->bv.data, n_tok, (int)cfg->n_embd_kv);
	}
	const int hd = (int)cfg->head_dim, n_rot = (int)cfg->n_rot;
	if (cfg->qk_norm) { /* each head a row of head_dim, normed in place (Qwen3) */
		ops->rmsnorm(ex, a->q, L->attn_q_norm.data, n_tok * (int)cfg->n_head, hd, cfg->norm_eps, a->q);
		ops->rmsnorm(ex, a->k, L->attn_k_norm.data, n_tok * (int)cfg->n_head_kv, hd, cfg->norm_eps, a->k);
	}
	/* a windowed layer with a rope of its own (Gemma 3: base 10000, unscaled, no factors) */
	const bool own = cfg->rope_freq_base_swa > 0.0f && eng_layer_window(cfg, il);
	const struct eng_rope rope = own ? eng_rope_swa(cfg, c->rope_inv_swa) : eng_rope_of(cfg, c->rope_factors, c->rope_inv);
	if (ops->attention_pos) {
		/* every token at its own position in its own slot */
		ops->rope_pos(ex, a->q, n_tok, (int)cfg->n_head, hd, n_rot, c->ub_pos, &rope);
		ops->rope_pos(ex, a->k, n_tok, (int)cfg->n_head_kv, hd, n_rot, c->ub_pos, &rope);
		ops->kv_store_pos(ex, &c->kv, (int)il, c->ub_pos, c->ub_base, n_tok, a->k, a->v);
		ops->attention_pos(ex, &c->kv, (int)il, a->q, n_tok, c->ub_pos, c->ub_base, (int)cfg->n_head,
				   (int)cfg->n_head_kv, hd, eng_layer_window(cfg, il), a->att);
	} else {
		/* one sequence (ctx_check): the positions run on from the first */
		const uint32_t pos0 = c->ub_pos[0];
		ops->rope(ex, a->q, n_tok, (int)cfg->n_head, hd, n_rot, pos0, &rope);
		ops->rope(ex, a->k, n_tok, (int)cfg->n_head_kv, hd, n_rot, pos0, &rope);
		ops->kv_store(ex, &c->kv, (int)il, pos0, n_tok, a->k, a->v);
		ops->attention(ex, &c->kv, (int)il, a->q, n_tok, pos0, (int)cfg->n_head, (int)cfg->n_head_kv, hd,
			       eng_layer_window(cfg, il), a->att);
	}
}

/* The output projection of a->att's n_tok rows, added to the residual stream. */
static void attention_out(struct eng_ctx *c, const struct eng_layer *L, int n_tok)
{
	const struct eng_config *cfg = &c->m->cfg;
	const struct eng_ops *ops = c->ops;
	struct eng_exec *ex = &c->ex;
	struct eng_acts *a = &c->a;
	eng_matmul(c, &L->wo, a->att, n_tok, a->tmp, cfg->n_embd);
	if (cfg->lin_bias)
		ops->add_row(ex, a->tmp, L->bo.data, n_tok, (int)cfg->n_embd);
	residual(c, &L->attn_post_norm, a->tmp, n_tok);
}

static void ffn_block(struct eng_ctx *c, const struct eng_layer *L, int n_tok)
{
	const struct eng_config *cfg = &c->m->cfg;
	const struct eng_ops *ops = c->ops;
	struct eng_exec *ex = &c->ex;
	struct eng_acts *a = &c->a;
	const size_t n_ff = (size_t)n_tok * cfg->n_ff;
	norm(c, a->x, &L->ffn_norm, &L->ffn_norm_b, n_tok, a->xn);
	if (cfg->n_expert) {
		eng_moe_ffn(c, L, n_tok);
		residual(c, &L->ffn_post_norm, a->tmp, n_tok);
		return;
	}
	if (cfg->ffn == ENG_FFN_GELU) {
		eng_matmul(c, &L->ffn_up, a->xn, n_tok, a->hg, cfg->n_ff);
		if (cfg->lin_bias)
			ops->add_row(ex, a->hg, L->ffn_up_b.data, n_tok, (int)cfg->n_ff);
		ops->gelu(ex, a->hg, NULL, n_ff);
	} else {
		eng_matmul(c, &L->ffn_gate, a->xn, n_tok, a->hg, cfg->n_ff);
		ex->same_x = true; /* xn is ffn_gate's input, unchanged */
		eng_matmul(c, &L->ffn_up, a->xn, n_tok, a->hu, cfg->n_ff);
		ex->same_x = false;
		if (cfg->ffn == ENG_FFN_GEGLU)
			ops->gelu(ex, a->hg, a->hu, n_ff);
		else
			ops->swiglu(ex, a->hg, a->hu, n_ff);
	}
	eng_matmul(c, &L->ffn_down, a->hg, n_tok, a->tmp, cfg->n_embd);
	if (cfg->lin_bias)
		ops->add_row(ex, a->tmp, L->ffn_down_b.data, n_tok, (int)cfg->n_embd);
	residual(c, &L->ffn_post_norm, a->tmp, n_tok);
}

/* Keep rows[0..n) of x (ascending), packed into rows 0..n-1 of x. Row k moves
 * down from rows[k] >= k and no later source lies below k, so in order, in place. */
static void keep_rows(float *x, const int32_t *rows, int n, size_t dim)
{
	for (int k = 0; k < n; k++)
		if (rows[k] != k)
			memcpy(x + (size_t)k * dim, x + (size_t)rows[k] * dim, dim * sizeof *x);
}

/* One micro-batch of n_tok tokens at the positions and slots in c->ub_pos and
 * c->ub_base. Logits rows for the n_out tokens listed in c->ub_out (ascending)
 * go to logits (row stride n_vocab). */
static void forward_ubatch(struct eng_ctx *c, const int32_t *tokens, int n_tok, float *logits, int n_out)
{
	const struct eng_config *cfg = &c->m->cfg;
	const struct eng_weights *W = c->m->wx;  /* host or device copies, as the ops want */
	const struct eng_ops *ops = c->ops;
	struct eng_exec *ex = &c->ex;
	struct eng_acts *a = &c->a;
	const size_t d = cfg->n_embd;

	/* On the host, the last layer goes on past its attention with the n_out rows
	 * whose logits are wanted only (as llama.cpp does): the cache needs every
	 * row's K and V, nothing needs the other rows' output. Every op is row by row
	 * (the matrix kernels' sums do not depend on the batch: docs/engine.md,
	 * "Determinism"), so the logits keep their bits. */
	const bool prune = !c->ops->alloc && n_out < n_tok;
	embed(c, tokens, n_tok);
	for (uint32_t il = 0; il < cfg->n_layer; il++) {
		if (c->should_stop && c->should_stop(c->stop_arg)) {
			c->stopped = true;
			return;
		}
		int n = n_tok;
		attention_core(c, &W->layers[il], il, n_tok);
		if (prune && il + 1 == cfg->n_layer) {
			keep_rows(a->att, c->ub_out, n_out, cfg->n_embd_q);
			keep_rows(a->x, c->ub_out, n_out, d);
			n = n_out;
		}
		if (n > 0) {
			attention_out(c, &W->layers[il], n);
			ffn_block(c, &W->layers[il], n);
		}
	}
	if (n_out > 0) {
		/* a device backend writes its logits on the device, then only the rows asked for come back */
		float *dst = a->logits ? a->logits : logits;
		/* the wanted rows, packed into xn: one norm call per run of consecutive rows
		 * (one call where the last layer kept only them, in order) */
		for (int k = 0; k < n_out;) {
			int run = 1;
			const int32_t row = prune ? k : c->ub_out[k];
			while (k + run < n_out && (prune || c->ub_out[k + run] == c->ub_out[k] + run))
				run++;
			norm(c, a->x + (size_t)row * d, &W->output_norm, &W->output_norm_b, run, a->xn + (size_t)k * d);
			k += run;
		}
		ops->matmul(ex, &W->output, a->xn, n_out, dst, cfg->n_vocab);
		if (cfg->final_softcap > 0.0f)
			ops->softcap(ex, dst, (size_t)n_out * cfg->n_vocab, cfg->final_softcap);
		if (a->logits)
			ops->download(ex, logits, dst, (size_t)n_out * cfg->n_vocab * sizeof(float));
	}
}

/* Which tokens' logits a forward call computes. */
enum want_mode { WANT_LIST, WANT_LAST, WANT_ALL };

/* Check a forward call before anything runs: slots, vocabulary, room per slot. */
static int forward_check(struct eng_ctx *c, const int32_t *tokens, const uint32_t *seq, size_t n,
			 struct mrl_err *err)
{
	const struct eng_config *cfg = &c->m->cfg;
	if (n == 0)
		return mrl_err_set(err, MRL_EINPUT, "decode: no tokens");
	memcpy(c->seq_next, c->seq_pos, c->n_seq * sizeof *c->seq_next);
	for (size_t i = 0; i < n; i++) {
		const uint32_t s = seq ? seq[i] : 0;
		if (s >= c->n_seq)
			return mrl_err_set(err, MRL_EINPUT, "decode: token %zu is for sequence %" PRIu32
					   ", outside the context's %" PRIu32, i, s, c->n_seq);
		if (tokens[i] < 0 || (uint32_t)tokens[i] >= cfg->n_vocab)
			return mrl_err_set(err, MRL_EINPUT, "decode: token %zu has id %" PRId32
					   ", outside the vocabulary (0..%" PRIu32 ")", i, tokens[i], cfg->n_vocab - 1);
		if (c->seq_next[s] >= c->n_ctx)
			return mrl_err_set(err, MRL_EINPUT, "decode: %zu tokens at position %" PRIu32 " of sequence %"
					   PRIu32 " do not fit the context of %" PRIu32, n, c->seq_pos[s], s, c->n_ctx);
		c->seq_next[s]++;
	}
	return 0;
}

/* Where the tokens of a forward call go: slots (seq, NULL = all slot 0), each
 * at its slot's next position; or explicit cache rows base[i] + pos[i] with the
 * slots' bookkeeping left alone (eng_forward_rows). */
struct fwd_place {
	const uint32_t *seq, *pos, *base;
};

/* A micro-batch's n_out logits rows (at rows) are finite: 0, or MRL_EINPUT naming the model
 * and the position. NaN or infinity there means NaN/inf weights or an overflow (f16 weights
 * past 65504, an activation past float); every score after it would be NaN, and a NaN row's
 * argmax is token 0, so generation and scoring went on with garbage and exit 0. */
static int logits_check(const struct eng_ctx *c, const float *rows, int n_out, struct mrl_err *err)
{
	const size_t n = (size_t)n_out * c->m->cfg.n_vocab, bad = eng_first_nonfinite(rows, n);
	if (bad == n)
		return 0;
	return mrl_err_set(err, MRL_EINPUT,
			   "%s: the forward pass gave a non-finite logit (%s) at position %" PRIu32
			   ": the weights hold NaN or infinity, or the arithmetic overflowed",
			   c->m->path, isnan(rows[bad]) ? "NaN" : "infinity", c->ub_pos[c->ub_out[bad / c->m->cfg.n_vocab]]);
}

/* The forward pass over n tokens placed as pl says, micro-batch by
 * micro-batch; logits rows for the tokens mode/want select, in token order. */
static int forward_run(struct eng_ctx *c, const int32_t *tokens, const struct fwd_place *pl, size_t n,
		       enum want_mode mode, const bool *want, float *logits, struct mrl_err *err)
{
	const uint32_t n_vocab = c->m->cfg.n_vocab;
	const uint32_t *seq = pl->seq;
	int rc = pl->pos ? 0 : forward_check(c, tokens, seq, n, err);
	if (rc)
		return rc;
	memcpy(c->seq_next, c->seq_pos, c->n_seq * sizeof *c->seq_next);
	enum eng_phase phase = mode == WANT_ALL ? ENG_PHASE_SCORE : n == 1 ? ENG_PHASE_DECODE : ENG_PHASE_PREFILL;
	size_t n_rows = 0; /* logits rows written so far */
	for (size_t done = 0; done < n;) {
		int nb = n - done < c->n_ubatch ? (int)(n - done) : (int)c->n_ubatch;
		int n_out = 0;
		for (int t = 0; t < nb; t++) {
			const size_t i = done + (size_t)t;
			const uint32_t s = seq ? seq[i] : 0;
			c->ub_pos[t] = pl->pos ? pl->pos[i] : c->seq_next[s]++;
			c->ub_base[t] = pl->pos ? pl->base[i] : s * c->n_ctx;
			bool w = mode == WANT_ALL || (mode == WANT_LAST && i + 1 == n) || (mode == WANT_LIST && want && want[i]);
			if (w && logits)
				c->ub_out[n_out++] = t;
		}
		if (c->ops->phase_mark)
			c->ops->phase_mark(&c->ex, phase, false);
		forward_ubatch(c, tokens + done, nb, logits ? logits + n_rows * n_vocab : NULL, n_out);
		if (c->ops->phase_mark)
			c->ops->phase_mark(&c->ex, phase, true);
		if (c->stopped) { /* the rows of this micro-batch are half written: positions stay as they were */
			c->stopped = false;
			return mrl_err_set(err, MRL_ERUNTIME, "interrupted");
		}
		if (c->ops->status) {
			char msg[512] = "";
			if ((rc = c->ops->status(&c->ex, msg, sizeof msg)))
				/* the cache is in an unknown state past the last good positions */
				return mrl_err_set(err, rc, "decode: %s backend: %s", c->ops->name, msg);
		}
		if (n_out && (rc = logits_check(c, logits + n_rows * n_vocab, n_out, err)))
			return rc;
		for (int t = 0; t < nb; t++) {
			c->tokens[c->ub_base[t] + c->ub_pos[t]] = tokens[done + (size_t)t];
			if (!pl->pos)
				c->seq_pos[c->ub_base[t] / c->n_ctx] = c->ub_pos[t] + 1;
		}
		n_rows += (size_t)n_out;
		done += (size_t)nb;
	}
	return 0;
}

int eng_forward(struct eng_ctx *c, const int32_t *tokens, size_t n, float *logits, bool all_logits,
		struct mrl_err *err)
{
	const struct fwd_place pl = { 0 };
	return forward_run(c, tokens, &pl, n, all_logits ? WANT_ALL : WANT_LAST, NULL, logits, err);
}

int eng_forward_batch(struct eng_ctx *c, const int32_t *tokens, const uint32_t *seq, size_t n,
		      const bool *want_logits, float *logits, struct mrl_err *err)
{
	const struct fwd_place pl = { .seq = seq };
	return forward_run(c, tokens, &pl, n, WANT_LIST, want_logits, logits, err);
}

int eng_forward_rows(struct eng_ctx *c, const int32_t *tokens, const uint32_t *pos, const uint32_t *base, size_t n,
		     const bool *want_logits, float *logits, struct mrl_err *err)
{
	const struct fwd_place pl = { .pos = pos, .base = base };
	return forward_run(c, tokens, &pl, n, WANT_LIST, want_logits, logits, err);
}

void eng_kv_copy_rows(struct eng_ctx *c, size_t from, size_t to, size_t n)
{
	const size_t elt = c->ex.kv_f16 ? sizeof(uint16_t) : sizeof(float);
	const size_t row = c->kv.n_embd_kv * elt;
	if (from == to || n == 0)
		return;
	if (c->ops->kv_move) /* the backend's own layout (the CPU's head-major cache) */
		c->ops->kv_move(&c->ex, &c->kv, from, to, n);
	else /* a device cache of rows (struct eng_ops: every backend has one of the two) */
		for (uint32_t il = 0; il < c->kv.n_layer; il++) {
			char *k = c->kv.k[il], *v = c->kv.v[il];
			c->ops->copy(&c->ex, k + to * row, k + from * row, n * row);
			c->ops->copy(&c->ex, v + to * row, v + from * row, n * row);
		}
	memmove(c->tokens + to, c->tokens + from, n * sizeof *c->tokens);
}

void eng_ctx_phase_times(struct eng_ctx *c, double ms[ENG_PHASE_COUNT], uint64_t calls[ENG_PHASE_COUNT])
{
	for (int i = 0; i < ENG_PHASE_COUNT; i++) {
		ms[i] = 0.0;
		calls[i] = 0;
	}
	if (c->ops->phase_times)
		c->ops->phase_times(&c->ex, ms, calls);
}

bool eng_ctx_device_ms(struct eng_ctx *c, double *prefill_ms, double *decode_ms)
{
	double ms[ENG_PHASE_COUNT];
	uint64_t calls[ENG_PHASE_COUNT];
	eng_ctx_phase_times(c, ms, calls);
	*prefill_ms = ms[ENG_PHASE_PREFILL];
	*decode_ms = ms[ENG_PHASE_DECODE];
	return c->ops->phase_times != NULL;
}

int eng_decode(struct eng_ctx *c, const int32_t *tokens, size_t n, float *logits, bool all_logits,
	       struct mrl_err *err)
{
	return eng_forward(c, tokens, n, logits, all_logits, err);
}
