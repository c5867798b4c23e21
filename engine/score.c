/* score.c — eng_score: log-likelihoods of continuations, with prefix reuse.
 *
 * Each request is the sequence ctx ++ cont; we need the logits at positions
 * n_ctx-1 .. n_ctx+n_cont-2. Requests are visited in an order that puts equal
 * prefixes next to each other (sorted by their token sequence); before each
 * one the cache is truncated to the longest prefix it shares with what is
 * cached, but never past n_ctx-1 (the logits of position n_ctx-1 are needed),
 * and the rest is fed with all logits. The forward pass computes every token
 * the same way whatever else is in its batch, so a reused prefix gives the
 * same bits as scoring the request alone in an empty context.
 */
#include "engine/eng_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Logits rows per forward call while scoring (bounds the scratch). */
#define SCORE_CHUNK 64

struct order_item {
	const struct eng_score_req *r;
	size_t idx;
};

static int32_t tok_at(const struct eng_score_req *r, size_t i)
{
	return i < r->n_ctx ? r->ctx[i] : r->cont[i - r->n_ctx];
}

static int cmp_req(const void *pa, const void *pb)
{
	const struct order_item *a = pa, *b = pb;
	size_t na = a->r->n_ctx + a->r->n_cont, nb = b->r->n_ctx + b->r->n_cont;
	size_t n = na < nb ? na : nb;
	for (size_t i = 0; i < n; i++) {
		int32_t ta = tok_at(a->r, i), tb = tok_at(b->r, i);
		if (ta != tb)
			return ta < tb ? -1 : 1;
	}
	if (na != nb)
		return na < nb ? -1 : 1;
	return a->idx < b->idx ? -1 : a->idx > b->idx;
}

/* log p(target) from one row of logits: max-subtracted, summed in double. */
static void log_softmax_at(const float *logits, uint32_t n_vocab, int32_t target, double *logprob, bool *greedy)
{
	float max = logits[0];
	uint32_t argmax = 0;
	for (uint32_t i = 1; i < n_vocab; i++)
		if (logits[i] > max) {
			max = logits[i];
			argmax = i;
		}
	double sum = 0.0;
	for (uint32_t i = 0; i < n_vocab; i++)
		sum += exp((double)logits[i] - (double)max);
	*logprob = ((double)logits[target] - (double)max) - log(sum);
	*greedy = (uint32_t)target == argmax;
}

static int score_one(struct eng_ctx *c, const struct eng_score_req *r, struct eng_score_res *res, float *lg,
		     struct mrl_err *err)
{
	const uint32_t n_vocab = c->m->cfg.n_vocab;
	size_t total = r->n_ctx + r->n_cont;
	/* Feed tokens 0..total-2: the last continuation token is only predicted. */
	size_t n_feed = total - 1;
	size_t keep = 0;
	while (keep < c->pos && keep < n_feed && c->tokens[keep] == tok_at(r, keep))
		keep++;
	if (keep > r->n_ctx - 1)
		keep = r->n_ctx - 1;
	eng_ctx_truncate(c, (uint32_t)keep);
	if (n_feed > c->n_ctx)
		return mrl_err_set(err, MRL_EINPUT, "score: request of %zu tokens does not fit the context of %u",
				   total, c->n_ctx);
	int32_t buf[SCORE_CHUNK];
	res->sum_logprob = 0.0;
	res->all_greedy = true;
	for (size_t p = keep; p < n_feed;) {
		size_t nb = n_feed - p < SCORE_CHUNK ? n_feed - p : SCORE_CHUNK;
		for (size_t i = 0; i < nb; i++)
			buf[i] = tok_at(r, p + i);
		int rc = eng_forward(c, buf, nb, lg, true, err);
		if (rc)
			return rc;
		for (size_t i = 0; i < nb; i++) {
			size_t pos = p + i;  /* logits of position pos predict token pos+1 */
			if (pos + 1 < r->n_ctx)
				continue;
			size_t k = pos + 1 - r->n_ctx;
			log_softmax_at(lg + i * n_vocab, n_vocab, r->cont[k], &res->logprob[k], &res->is_greedy[k]);
		}
		p += nb;
	}
	for (size_t k = 0; k < r->n_cont; k++) {
		res->sum_logprob += res->logprob[k];
		res->all_greedy = res->all_greedy && res->is_greedy[k];
	}
	return 0;
}

int eng_score(struct eng_ctx *c, const struct eng_score_req *reqs, size_t n_reqs, struct eng_score_res *res,
	      struct mrl_err *err)
{
	const uint32_t n_vocab = c->m->cfg.n_vocab;
	for (size_t i = 0; i < n_reqs; i++) {
		const struct eng_score_req *r = &reqs[i];
		if (r->n_ctx < 1 || r->n_cont < 1 || !r->ctx || !r->cont)
			return mrl_err_set(err, MRL_EINPUT, "score: request %zu needs at least one context and one "
					   "continuation token", i);
		for (size_t k = 0; k < r->n_ctx + r->n_cont; k++) {
			int32_t t = tok_at(r, k);
			if (t < 0 || (uint32_t)t >= n_vocab)
				return mrl_err_set(err, MRL_EINPUT, "score: request %zu: token %zu has id %d, outside the "
						   "vocabulary (0..%u)", i, k, t, n_vocab - 1);
		}
		if (r->n_ctx + r->n_cont - 1 > c->n_ctx)
			return mrl_err_set(err, MRL_EINPUT, "score: request %zu has %zu tokens, more than the "
					   "context of %u", i, r->n_ctx + r->n_cont, c->n_ctx);
	}
	int rc = 0;
	struct order_item *order = malloc((n_reqs ? n_reqs : 1) * sizeof *order);
	float *lg = malloc((size_t)SCORE_CHUNK * n_vocab * sizeof(float));
	if (!order || !lg) {
		rc = mrl_err_set(err, MRL_ENOMEM, "score: out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_reqs; i++)
		order[i] = (struct order_item){ &reqs[i], i };
	qsort(order, n_reqs, sizeof *order, cmp_req);
	for (size_t i = 0; i < n_reqs; i++)
		if ((rc = score_one(c, order[i].r, &res[order[i].idx], lg, err)))
			goto out;
out:
	free(order);
	free(lg);
	return rc;
}
