/* moe.c — the FFN of a mixture-of-experts layer (Mixtral, Qwen3-MoE), on host backends.
 *
 * Per token: the router's logits (ffn_gate_inp . h), their softmax, the n_expert_used
 * most probable experts (most probable first; equal probabilities: the lower index), their
 * probabilities as weights (renormalized to sum 1 where cfg->expert_norm), and
 *   ffn(h) = sum over the chosen j of w_j * down_j(silu(gate_j h) * up_j h),
 * the weighted outputs added in that order from the first (llama.cpp's build_moe_ffn;
 * transformers adds them by expert index, which can move the sum's last bit). Qwen2-MoE adds
 * a shared expert's SwiGLU output times sigmoid(ffn_gate_inp_shexp . h) to that sum.
 *
 * Each expert runs once per micro-batch on the rows of the tokens that chose it, gathered
 * into one matrix: the matrix kernels compute every row the same way whatever the others
 * are (docs/engine.md, "Determinism"), so a token's result does not depend on which
 * tokens share its micro-batch, how many threads run, or how a sequence is split.
 */
#include "engine/eng_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct eng_moe_scratch {
	float *probs;  /* n_ubatch x n_expert: the router's logits, then probabilities */
	int32_t *sel;  /* n_ubatch x k: each token's experts, most probable first */
	float *wts;    /* n_ubatch x k: their weights */
	int32_t *rows; /* n_ubatch: the (token, slot) pairs t * k + j one expert takes */
	float *xe;     /* n_ubatch x n_embd: those tokens' normed rows, gathered */
	float *ye;     /* n_ubatch x n_embd: the expert's output for them */
	float *slot;   /* n_ubatch x k x n_embd: each token's k weighted outputs */
};

bool eng_moe_alloc(struct eng_ctx *c)
{
	const struct eng_config *cfg = &c->m->cfg;
	const size_t ub = c->n_ubatch, k = cfg->n_expert_used, d = cfg->n_embd;
	struct eng_moe_scratch *s = calloc(1, sizeof *s);
	if (!s)
		return false;
	c->moe = s;
	s->probs = malloc(ub * cfg->n_expert * sizeof *s->probs);
	s->sel = malloc(ub * k * sizeof *s->sel);
	s->wts = malloc(ub * k * sizeof *s->wts);
	s->rows = malloc(ub * sizeof *s->rows);
	s->xe = malloc(ub * d * sizeof *s->xe);
	s->ye = malloc(ub * d * sizeof *s->ye);
	s->slot = malloc(ub * k * d * sizeof *s->slot);
	return s->probs && s->sel && s->wts && s->rows && s->xe && s->ye && s->slot;
}

void eng_moe_free(struct eng_ctx *c)
{
	struct eng_moe_scratch *s = c->moe;
	if (!s)
		return;
	free(s->probs);
	free(s->sel);
	free(s->wts);
	free(s->rows);
	free(s->xe);
	free(s->ye);
	free(s->slot);
	free(s);
	c->moe = NULL;
}

/* The k experts of one token from its n router logits p (overwritten): softmax, top k, weights. */
static void route(float *p, int n, int k, bool norm, int32_t *sel, float *w)
{
	float mx = p[0];
	for (int i = 1; i < n; i++)
		mx = fmaxf(mx, p[i]);
	double sum = 0.0;
	for (int i = 0; i < n; i++) {
		p[i] = expf(p[i] - mx);
		sum += p[i];
	}
	const float inv = (float)(1.0 / sum);
	for (int i = 0; i < n; i++)
		p[i] *= inv;
	float total = 0.0f;
	for (int j = 0; j < k; j++) {
		int best = -1;
		for (int i = 0; i < n; i++) /* a taken one is -1; a NaN is never chosen over a number */
			if (p[i] >= 0.0f && (best < 0 || p[i] > p[best]))
				best = i;
		for (int i = 0; best < 0 && i < n; i++) /* the rest are NaN (so was the router's input): */
			if (!(p[i] == -1.0f))               /* the first not taken, weight NaN */
				best = i;
		sel[j] = best;
		w[j] = p[best];
		p[best] = -1.0f;
		total += w[j];
	}
	for (int j = 0; norm && j < k; j++)
		w[j] /= total;
}

/* c->a.tmp += sigmoid(gate_inp_shexp . h) * down(silu(gate h) * up h) of the shared expert. */
static void shared_expert(struct eng_ctx *c, const struct eng_layer *L, int n_tok)
{
	const struct eng_ops *ops = c->ops;
	struct eng_exec *ex = &c->ex;
	struct eng_moe_scratch *s = c->moe;
	const size_t d = c->m->cfg.n_embd, fs = c->m->cfg.n_ff_shexp;
	ops->matmul(ex, &L->ffn_gate_inp_shexp, c->a.xn, n_tok, s->probs, 1);
	ex->same_x = true; /* xn throughout */
	ops->matmul(ex, &L->ffn_gate_shexp, c->a.xn, n_tok, c->a.hg, fs);
	ops->matmul(ex, &L->ffn_up_shexp, c->a.xn, n_tok, c->a.hu, fs);
	ex->same_x = false;
	ops->swiglu(ex, c->a.hg, c->a.hu, (size_t)n_tok * fs);
	ops->matmul(ex, &L->ffn_down_shexp, c->a.hg, n_tok, s->ye, d);
	for (int t = 0; t < n_tok; t++) {
		const float g = 1.0f / (1.0f + expf(-s->probs[t]));
		float *out = c->a.tmp + (size_t)t * d;
		const float *y = s->ye + (size_t)t * d;
		for (size_t i = 0; i < d; i++)
			out[i] += y[i] * g;
	}
}

void eng_moe_ffn(struct eng_ctx *c, const struct eng_layer *L, int n_tok)
{
	const struct eng_config *cfg = &c->m->cfg;
	const struct eng_ops *ops = c->ops;
	struct eng_exec *ex = &c->ex;
	struct eng_moe_scratch *s = c->moe;
	const int n_exp = (int)cfg->n_expert, k = (int)cfg->n_expert_used;
	const size_t d = cfg->n_embd, ff = cfg->n_ff;
	ops->matmul(ex, &L->ffn_gate_inp, c->a.xn, n_tok, s->probs, (size_t)n_exp);
	for (int t = 0; t < n_tok; t++)
		route(s->probs + (size_t)t * n_exp, n_exp, k, cfg->expert_norm, s->sel + (size_t)t * k,
		      s->wts + (size_t)t * k);
	for (int e = 0; e < n_exp; e++) {
		int n = 0;
		for (int i = 0; i < n_tok * k; i++)
			if (s->sel[i] == e) {
				s->rows[n] = i;
				memcpy(s->xe + (size_t)n * d, c->a.xn + (size_t)(i / k) * d, d * sizeof(float));
				n++;
			}
		if (n == 0)
			continue;
		const struct eng_tensor *x = L->exps + 3 * (size_t)e;
		ops->matmul(ex, &x[0], s->xe, n, c->a.hg, ff);
		ex->same_x = true; /* xe is the gate's input, unchanged */
		ops->matmul(ex, &x[1], s->xe, n, c->a.hu, ff);
		ex->same_x = false;
		ops->swiglu(ex, c->a.hg, c->a.hu, (size_t)n * ff);
		ops->matmul(ex, &x[2], c->a.hg, n, s->ye, d);
		for (int r = 0; r < n; r++) {
			const float w = s->wts[s->rows[r]];
			float *dst = s->slot + (size_t)s->rows[r] * d;
			const float *y = s->ye + (size_t)r * d;
			for (size_t i = 0; i < d; i++)
				dst[i] = y[i] * w;
		}
	}
	for (int t = 0; t < n_tok; t++) {
		float *out = c->a.tmp + (size_t)t * d;
		const float *y = s->slot + (size_t)t * k * d;
		memcpy(out, y, d * sizeof(float));
		for (int j = 1; j < k; j++)
			for (size_t i = 0; i < d; i++)
				out[i] += y[(size_t)j * d + i];
	}
	if (cfg->n_ff_shexp)
		shared_expert(c, L, n_tok);
}
