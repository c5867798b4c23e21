/* forward.c — contexts and the forward pass, written once against struct eng_ops.
 *
 * A context owns a KV cache of n_ctx positions and activation buffers for
 * n_ubatch tokens, both allocated once in eng_ctx_new (no allocation per
 * token). eng_decode cuts its tokens into micro-batches of at most n_ubatch;
 * since every op computes a token's numbers the same way whatever the batch
 * holds, the split never changes a result (eng_score relies on this).
 *
 * The transformer block, for the flags in struct eng_config:
 *   x = embed(tokens)
 *   per layer: h = norm(x); q,k,v = h Wq,Wk,Wv (+ biases); rope(q,k);
 *              x += attention(q, cache) Wo; h = norm(x); x += ffn(h)
 *   logits = norm(x) Wout
 */
#include "engine/eng_int.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "engine/types.h"

#define N_UBATCH 64

static void *xcalloc(size_t n, size_t size, bool *fail)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		*fail = true;
	return p;
}

int eng_ctx_new(struct eng_ctx **out, struct eng_model *m, uint32_t n_ctx, struct mrl_err *err)
{
	*out = NULL;
	if (!m->has_weights)
		return mrl_err_set(err, MRL_EINPUT, "%s: vocabulary-only model has no weights to decode with",
				   m->path);
	const struct eng_config *cfg = &m->cfg;
	if (n_ctx == 0)
		n_ctx = cfg->n_ctx_train;
	if (n_ctx > (1u << 24))
		return mrl_err_set(err, MRL_EINPUT, "%s: context of %" PRIu32 " positions is too large", m->path,
				   n_ctx);
	struct eng_ctx *c = calloc(1, sizeof *c);
	if (!c)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory for a context", m->path);
	int rc = 0;
	bool fail = false;
	c->m = m;
	c->ops = &eng_cpu_ops;
	c->n_ctx = n_ctx;
	c->n_ubatch = N_UBATCH;
	c->ex.n_ctx = n_ctx;
	c->ex.kv_f16 = true;
	c->ex.q8_act = true;
	c->ex.f16_act = true;
	if ((rc = eng_pool_new(&c->ex.pool, m->n_threads, err)))
		goto out;
	c->ex.n_threads = eng_pool_n_threads(c->ex.pool);
	c->ex.scores_stride = (size_t)n_ctx + 2 * (size_t)cfg->head_dim + 16;
	c->ex.scores = xcalloc((size_t)c->ex.n_threads * c->ex.scores_stride, sizeof(float), &fail);
	size_t widest = cfg->n_embd;
	if (cfg->n_embd_q > widest)
		widest = cfg->n_embd_q;
	if (cfg->n_ff > widest)
		widest = cfg->n_ff;
	/* f16-rounded floats are the widest conversion (4 bytes/element; Q8_0 is 34/32) */
	c->ex.xq_size = (size_t)c->n_ubatch * widest * sizeof(float);
	c->ex.xq = xcalloc(c->ex.xq_size, 1, &fail);

	size_t ub = c->n_ubatch;
	c->a.x = xcalloc(ub * cfg->n_embd, sizeof(float), &fail);
	c->a.xn = xcalloc(ub * cfg->n_embd, sizeof(float), &fail);
	c->a.q = xcalloc(ub * cfg->n_embd_q, sizeof(float), &fail);
	c->a.k = xcalloc(ub * cfg->n_embd_kv, sizeof(float), &fail);
	c->a.v = xcalloc(ub * cfg->n_embd_kv, sizeof(float), &fail);
	c->a.att = xcalloc(ub * cfg->n_embd_q, sizeof(float), &fail);
	c->a.tmp = xcalloc(ub * cfg->n_embd, sizeof(float), &fail);
	c->a.hg = xcalloc(ub * cfg->n_ff, sizeof(float), &fail);
	c->a.hu = xcalloc(ub * cfg->n_ff, sizeof(float), &fail);
	c->logits_buf = xcalloc(cfg->n_vocab, sizeof(float), &fail);
	c->tokens = xcalloc(n_ctx, sizeof(int32_t), &fail);

	c->kv.n_layer = cfg->n_layer;
	c->kv.n_embd_kv = cfg->n_embd_kv;
	c->kv.n_ctx = n_ctx;
	c->kv.k = xcalloc(cfg->n_layer, sizeof(void *), &fail);
	c->kv.v = xcalloc(cfg->n_layer, sizeof(void *), &fail);
	size_t elt = c->ex.kv_f16 ? sizeof(uint16_t) : sizeof(float);
	for (uint32_t il = 0; !fail && il < cfg->n_layer; il++) {
		c->kv.k[il] = xcalloc((size_t)n_ctx * cfg->n_embd_kv, elt, &fail);
		c->kv.v[il] = xcalloc((size_t)n_ctx * cfg->n_embd_kv, elt, &fail);
	}
	if (fail) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory for a context of %" PRIu32 " positions",
				 m->path, n_ctx);
		goto out;
	}
	*out = c;
	c = NULL;
out:
	eng_ctx_free(c);
	return rc;
}

void eng_ctx_free(struct eng_ctx *c)
{
	if (!c)
		return;
	if (c->kv.k)
		for (uint32_t il = 0; il < c->kv.n_layer; il++)
			free(c->kv.k[il]);
	if (c->kv.v)
		for (uint32_t il = 0; il < c->kv.n_layer; il++)
			free(c->kv.v[il]);
	free(c->kv.k);
	free(c->kv.v);
	free(c->a.x);
	free(c->a.xn);
	free(c->a.q);
	free(c->a.k);
	free(c->a.v);
	free(c->a.att);
	free(c->a.tmp);
	free(c->a.hg);
	free(c->a.hu);
	free(c->logits_buf);
	free(c->tokens);
	free(c->ex.scores);
	free(c->ex.xq);
	eng_pool_free(c->ex.pool);
	free(c);
}

uint32_t eng_ctx_n_ctx(const struct eng_ctx *c)
{
	return c->n_ctx;
}

uint32_t eng_ctx_pos(const struct eng_ctx *c)
{
	return c->pos;
}

void eng_ctx_truncate(struct eng_ctx *c, uint32_t n_keep)
{
	/* Positions >= n_keep are simply overwritten by the next decode. */
	if (n_keep < c->pos)
		c->pos = n_keep;
}

static void norm(struct eng_ctx *c, const float *x, const struct eng_tensor *w, int n_tok, float *out)
{
	/* only RMSNorm so far; LayerNorm (GPT-2) slots in here as its own op */
	c->ops->rmsnorm(&c->ex, x, w->data, n_tok, (int)c->m->cfg.n_embd, c->m->cfg.norm_eps, out);
}

/* One micro-batch of n_tok tokens at position c->pos. Logits rows for tokens
 * [first_logit, n_tok) go to logits (row stride n_vocab) when logits != NULL. */
static void forward_ubatch(struct eng_ctx *c, const int32_t *tokens, int n_tok, float *logits, int first_logit)
{
	const struct eng_model *m = c->m;
	const struct eng_config *cfg = &m->cfg;
	const struct eng_ops *ops = c->ops;
	struct eng_exec *ex = &c->ex;
	struct eng_acts *a = &c->a;
	const uint32_t pos0 = c->pos;
	const size_t d = cfg->n_embd;

	ops->get_rows(ex, &m->w.tok_embd, tokens, n_tok, a->x);
	for (uint32_t il = 0; il < cfg->n_layer; il++) {
		const struct eng_layer *L = &m->w.layers[il];
		norm(c, a->x, &L->attn_norm, n_tok, a->xn);
		ops->matmul(ex, &L->wq, a->xn, n_tok, a->q, cfg->n_embd_q);
		ops->matmul(ex, &L->wk, a->xn, n_tok, a->k, cfg->n_embd_kv);
		ops->matmul(ex, &L->wv, a->xn, n_tok, a->v, cfg->n_embd_kv);
		if (cfg->qkv_bias) {
			ops->add_row(ex, a->q, L->bq.data, n_tok, (int)cfg->n_embd_q);
			ops->add_row(ex, a->k, L->bk.data, n_tok, (int)cfg->n_embd_kv);
			ops->add_row(ex, a->v, L->bv.data, n_tok, (int)cfg->n_embd_kv);
		}
		ops->rope(ex, a->q, n_tok, (int)cfg->n_head, (int)cfg->head_dim, (int)cfg->n_rot, pos0,
			  cfg->rope_freq_base, cfg->rope);
		ops->rope(ex, a->k, n_tok, (int)cfg->n_head_kv, (int)cfg->head_dim, (int)cfg->n_rot, pos0,
			  cfg->rope_freq_base, cfg->rope);
		ops->kv_store(ex, &c->kv, (int)il, pos0, n_tok, a->k, a->v);
		ops->attention(ex, &c->kv, (int)il, a->q, n_tok, pos0, (int)cfg->n_head, (int)cfg->n_head_kv,
			       (int)cfg->head_dim, a->att);
		ops->matmul(ex, &L->wo, a->att, n_tok, a->tmp, d);
		ops->add(ex, a->x, a->tmp, (size_t)n_tok * d);

		norm(c, a->x, &L->ffn_norm, n_tok, a->xn);
		ops->matmul(ex, &L->ffn_gate, a->xn, n_tok, a->hg, cfg->n_ff);
		ops->matmul(ex, &L->ffn_up, a->xn, n_tok, a->hu, cfg->n_ff);
		ops->swiglu(ex, a->hg, a->hu, (size_t)n_tok * cfg->n_ff);
		ops->matmul(ex, &L->ffn_down, a->hg, n_tok, a->tmp, d);
		ops->add(ex, a->x, a->tmp, (size_t)n_tok * d);
	}
	if (logits && first_logit < n_tok) {
		int n_out = n_tok - first_logit;
		norm(c, a->x + (size_t)first_logit * d, &m->w.output_norm, n_out, a->xn);
		ops->matmul(ex, &m->w.output, a->xn, n_out, logits, cfg->n_vocab);
	}
	memcpy(c->tokens + pos0, tokens, (size_t)n_tok * sizeof *tokens);
	c->pos += (uint32_t)n_tok;
}

int eng_forward(struct eng_ctx *c, const int32_t *tokens, size_t n, float *logits, bool all_logits,
		struct mrl_err *err)
{
	const struct eng_config *cfg = &c->m->cfg;
	if (n == 0)
		return mrl_err_set(err, MRL_EINPUT, "decode: no tokens");
	if (n > c->n_ctx - c->pos)
		return mrl_err_set(err, MRL_EINPUT, "decode: %zu tokens at position %" PRIu32
				   " do not fit the context of %" PRIu32, n, c->pos, c->n_ctx);
	for (size_t i = 0; i < n; i++)
		if (tokens[i] < 0 || (uint32_t)tokens[i] >= cfg->n_vocab)
			return mrl_err_set(err, MRL_EINPUT, "decode: token %zu has id %" PRId32
					   ", outside the vocabulary (0..%" PRIu32 ")", i, tokens[i], cfg->n_vocab - 1);
	for (size_t done = 0; done < n;) {
		int nb = n - done < c->n_ubatch ? (int)(n - done) : (int)c->n_ubatch;
		bool last = done + (size_t)nb == n;
		float *lg = NULL;
		int first = nb;
		if (logits && all_logits) {
			lg = logits + done * cfg->n_vocab;
			first = 0;
		} else if (logits && last) {
			lg = logits;
			first = nb - 1;
		}
		forward_ubatch(c, tokens + done, nb, lg, first);
		done += (size_t)nb;
	}
	return 0;
}

int eng_decode(struct eng_ctx *c, const int32_t *tokens, size_t n, float *logits, bool all_logits,
	       struct mrl_err *err)
{
	return eng_forward(c, tokens, n, logits, all_logits, err);
}
