/* run_score.c — the requests of one item handed to eng_score_ex, and the buffers
 * for what comes back; the scoring context (several sequences for --batch N).
 *
 * Both evaluators (run_mc.c: the choices of an item, run_ppl.c: the windows of a
 * document) fill a batch of requests, allocate its results and score it here, in
 * one call or one call per request (cfg->batch; the engine makes the results
 * identical either way). This file sits below the evaluators and calls nothing
 * of the run loop.
 */
#include "harness/run.h"

#include <stdlib.h>
#include <string.h>

int hrn_score_batch_init(struct hrn_score_batch *b, size_t cap, size_t top_k, struct mrl_err *err)
{
	memset(b, 0, sizeof *b);
	b->cap = cap;
	b->top_k = top_k;
	b->reqs = calloc(cap ? cap : 1, sizeof *b->reqs);
	b->res = calloc(cap ? cap : 1, sizeof *b->res);
	b->topk = calloc(cap ? cap : 1, sizeof *b->topk);
	if (!b->reqs || !b->res || !b->topk) {
		hrn_score_batch_release(b);
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
	return 0;
}

int hrn_score_batch_alloc(struct hrn_score_batch *b, struct mrl_err *err)
{
	const size_t k = b->top_k;
	for (size_t r = 0; r < b->n; r++) {
		const size_t n_cont = b->reqs[r].n_cont;
		b->res[r].logprob = malloc(n_cont * sizeof *b->res[r].logprob);
		b->res[r].is_greedy = malloc(n_cont * sizeof *b->res[r].is_greedy);
		if (k) {
			b->topk[r].id = malloc(n_cont * k * sizeof *b->topk[r].id);
			b->topk[r].logprob = malloc(n_cont * k * sizeof *b->topk[r].logprob);
		}
		if (!b->res[r].logprob || !b->res[r].is_greedy || (k && (!b->topk[r].id || !b->topk[r].logprob)))
			return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
	return 0;
}

void hrn_score_batch_release(struct hrn_score_batch *b)
{
	for (size_t r = 0; b->res && r < b->cap; r++) {
		free(b->res[r].logprob);
		free(b->res[r].is_greedy);
	}
	for (size_t r = 0; b->topk && r < b->cap; r++) {
		free(b->topk[r].id);
		free(b->topk[r].logprob);
	}
	free(b->reqs);
	free(b->res);
	free(b->topk);
	memset(b, 0, sizeof *b);
}

size_t hrn_run_batch_items(const char *mode)
{
	size_t n = 0;
	for (const char *p = mode; p && *p; p++) {
		if (*p < '0' || *p > '9' || n > 4096)
			return 0;
		n = n * 10 + (size_t)(*p - '0');
	}
	return n <= 4096 ? n : 0;
}

int hrn_score_ctx_new(struct eng_ctx **out, struct eng_model *m, const char *mode, struct mrl_err *err)
{
	if (hrn_run_batch_items(mode) <= 1)
		return eng_ctx_new(out, m, 0, err);
	struct eng_model_desc d;
	eng_model_describe(m, &d);
	/* rows for the window's requests beside slot 0: HRN_SCORE_KV_BYTES of K and V in the
	 * cache type of --kv-cache, at least one context's worth (a longer window still scores
	 * right, recomputing more) */
	const uint64_t row_bytes = d.kv_bytes_per_token;
	const uint64_t n_ctx = d.n_ctx_train ? d.n_ctx_train : 1;
	uint64_t rows = row_bytes ? HRN_SCORE_KV_BYTES / row_bytes : n_ctx;
	if (rows < n_ctx)
		rows = n_ctx;
	const uint32_t n_seq = (uint32_t)(1 + (rows + n_ctx - 1) / n_ctx);
	int rc = eng_ctx_new_multi(out, m, 0, n_seq, err);
	if (rc == MRL_EUNSUPPORTED) /* a backend of one sequence per context: item by item */
		rc = eng_ctx_new(out, m, 0, err);
	return rc;
}

static void add_work(struct eng_score_stats *work, const struct eng_score_stats *s)
{
	work->n_computed += s->n_computed;
	work->n_cached += s->n_cached;
	work->n_forward += s->n_forward;
}

int hrn_run_score(const struct hrn_run_cfg *cfg, struct hrn_score_batch *b, struct mrl_err *err)
{
	struct eng_score_stats s;
	const size_t k = b->top_k;
	int rc = 0;
	if (cfg->batch == HRN_BATCH_ITEM) {
		rc = eng_score_ex(cfg->ctx, b->reqs, b->n, b->res, k, b->topk, &s, err);
		add_work(&b->work, &s);
		return rc;
	}
	for (size_t i = 0; i < b->n && !rc; i++) {
		rc = eng_score_ex(cfg->ctx, &b->reqs[i], 1, &b->res[i], k, k ? &b->topk[i] : NULL, &s, err);
		add_work(&b->work, &s);
	}
	return rc;
}
