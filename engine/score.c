/* score.c — eng_score and eng_score_ex: log-likelihoods of continuations,
 * with prefix reuse.
 *
 * Each request is the sequence ctx ++ cont; we need the logits at positions
 * n_ctx-1 .. n_ctx+n_cont-2. eng_score is eng_score_ex without the extras.
 * Evaluation needs two things beyond the log-probabilities: how many tokens the
 * forward pass actually computed (prefix reuse makes that less than what was
 * asked for: the throughput of `merilo run` divides by it), and, for comparing
 * two models (KL divergence, top-1 agreement), the model's best K next tokens
 * at every continuation position with their log-probabilities.
 *
 * The algorithm: requests are visited sorted by their token sequences, the
 * cache is truncated to the longest prefix shared with what is cached (never
 * past n_ctx - 1), the rest is fed with all logits in chunks of SCORE_CHUNK,
 * and each log-probability is (logit - max) - log(sum exp(logit - max)) summed
 * in double. The forward pass computes every token the same way whatever else
 * is in its batch, so a reused prefix gives the same bits as scoring the
 * request alone in an empty context (tests/eng_score.c checks it). The top-K
 * log-probabilities use the same max and log-sum as the target's, so a top-K
 * entry for the target token equals its logprob exactly.
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

/* One row: the target's logprob and greediness and, when k > 0, the k best tokens, best first, ties by lower id. */
static void row_logprobs(const float *logits, uint32_t n_vocab, int32_t target, double *logprob, bool *greedy,
			 size_t k, int32_t *top_id, double *top_lp)
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
	const double log_sum = log(sum);
	*logprob = ((double)logits[target] - (double)max) - log_sum;
	*greedy = (uint32_t)target == argmax;
	if (!k)
		return;
	/* insertion into a sorted list of k: a strictly larger logit moves ahead, so among
	 * equal logits the lower id (seen first) stays first, as argmax does */
	size_t have = 0;
	for (uint32_t i = 0; i < n_vocab; i++) {
		const float v = logits[i];
		if (have == k && !(v > logits[top_id[k - 1]]))
			continue;
		size_t at = have < k ? have : k - 1;
		while (at > 0 && v > logits[top_id[at - 1]]) {
			top_id[at] = top_id[at - 1];
			at--;
		}
		top_id[at] = (int32_t)i;
		if (have < k)
			have++;
	}
	for (size_t j = 0; j < k; j++)
		top_lp[j] = ((double)logits[top_id[j]] - (double)max) - log_sum;
}

static int score_one(struct eng_ctx *c, const struct eng_score_req *r, struct eng_score_res *res, size_t k,
		     struct eng_score_topk *topk, struct eng_score_stats *st, float *lg, struct mrl_err *err)
{
	const uint32_t n_vocab = c->m->cfg.n_vocab;
	const size_t n_feed = r->n_ctx + r->n_cont - 1;
	size_t keep = 0;
	while (keep < c->seq_pos[0] && keep < n_feed && c->tokens[keep] == tok_at(r, keep))
		keep++;
	if (keep > r->n_ctx - 1)
		keep = r->n_ctx - 1;
	eng_ctx_truncate(c, (uint32_t)keep);
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
		st->n_forward++;
		for (size_t i = 0; i < nb; i++) {
			size_t pos = p + i; /* logits of position pos predict token pos+1 */
			if (pos + 1 < r->n_ctx)
				continue;
			size_t j = pos + 1 - r->n_ctx;
			row_logprobs(lg + i * n_vocab, n_vocab, r->cont[j], &res->logprob[j], &res->is_greedy[j], k,
				     k ? topk->id + j * k : NULL, k ? topk->logprob + j * k : NULL);
		}
		p += nb;
	}
	st->n_computed += n_feed - keep;
	st->n_cached += keep;
	for (size_t j = 0; j < r->n_cont; j++) {
		res->sum_logprob += res->logprob[j];
		res->all_greedy = res->all_greedy && res->is_greedy[j];
	}
	return 0;
}

int eng_score_ex(struct eng_ctx *c, const struct eng_score_req *reqs, size_t n_reqs, struct eng_score_res *res,
		 size_t top_k, struct eng_score_topk *topk, struct eng_score_stats *stats, struct mrl_err *err)
{
	const uint32_t n_vocab = c->m->cfg.n_vocab;
	struct eng_score_stats st = { 0 };
	if (stats)
		*stats = st;
	if (top_k > n_vocab)
		return mrl_err_set(err, MRL_EINPUT, "score: top-%zu asked of a vocabulary of %u", top_k, n_vocab);
	if (top_k && !topk)
		return mrl_err_set(err, MRL_EINPUT, "score: top-%zu asked without arrays to put it in", top_k);
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
		if (top_k && (!topk[i].id || !topk[i].logprob))
			return mrl_err_set(err, MRL_EINPUT, "score: request %zu has no top-%zu arrays", i, top_k);
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
	for (size_t i = 0; i < n_reqs; i++) {
		const size_t idx = order[i].idx;
		if ((rc = score_one(c, order[i].r, &res[idx], top_k, top_k ? &topk[idx] : NULL, &st, lg, err)))
			goto out;
	}
out:
	if (stats)
		*stats = st;
	free(order);
	free(lg);
	return rc;
}

int eng_score(struct eng_ctx *c, const struct eng_score_req *reqs, size_t n_reqs, struct eng_score_res *res,
	      struct mrl_err *err)
{
	return eng_score_ex(c, reqs, n_reqs, res, 0, NULL, NULL, err);
}
