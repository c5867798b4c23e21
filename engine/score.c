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

#include "engine/cpu/vmath.h"

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
	size_t argmax;
	const float max = eng_row_max(logits, n_vocab, &argmax);
	const double log_sum = log(eng_sum_exp(logits, n_vocab, max));
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

/* The rows of one forward call whose log-probabilities are wanted: row i of lg
 * against rows[i]'s target, written where rows[i] says. Rows are independent, so
 * they split over the context's pool (each computed by one thread exactly as
 * alone: same bits); unsplit, the other threads idled through the 32,000 exp of
 * every row. */
struct lp_row {
	int32_t target;
	double *logprob;
	bool *greedy;
	int32_t *top_id;
	double *top_lp;
};

struct lp_job {
	const float *lg;
	uint32_t n_vocab;
	size_t k;
	const struct lp_row *rows;
};

static void lp_task(void *arg, int64_t i0, int64_t i1, int tid)
{
	(void)tid;
	const struct lp_job *j = arg;
	for (int64_t i = i0; i < i1; i++) {
		const struct lp_row *r = &j->rows[i];
		row_logprobs(j->lg + (size_t)i * j->n_vocab, j->n_vocab, r->target, r->logprob, r->greedy, j->k,
			     r->top_id, r->top_lp);
	}
}

static void lp_run(struct eng_ctx *c, const float *lg, size_t k, const struct lp_row *rows, size_t n)
{
	struct lp_job j = { .lg = lg, .n_vocab = c->m->cfg.n_vocab, .k = k, .rows = rows };
	eng_pool_run(c->ex.pool, lp_task, &j, (int64_t)n);
}

/* -log softmax(row)[target] as eng_logits_nll forms it; the exps NLL_CHUNK at a time. */
#define NLL_CHUNK 1024

static double row_nll(const float *row, uint32_t n, int32_t target)
{
	size_t argmax;
	const float max = eng_row_max(row, n, &argmax);
	double sum = 0;
	float e[NLL_CHUNK];
	for (uint32_t k0 = 0; k0 < n; k0 += NLL_CHUNK) {
		const uint32_t m = n - k0 < NLL_CHUNK ? n - k0 : NLL_CHUNK;
		for (uint32_t i = 0; i < m; i++)
			e[i] = row[k0 + i] - max;
		eng_expf_row(e, e, m);
		for (uint32_t i = 0; i < m; i++)
			sum += e[i];
	}
	return -((double)(row[target] - max) - log(sum));
}

struct nll_job {
	const float *lg;
	uint32_t n_vocab;
	const int32_t *targets;
	double *nll;
};

static void nll_task(void *arg, int64_t i0, int64_t i1, int tid)
{
	(void)tid;
	const struct nll_job *j = arg;
	for (int64_t i = i0; i < i1; i++)
		j->nll[i] = row_nll(j->lg + (size_t)i * j->n_vocab, j->n_vocab, j->targets[i]);
}

void eng_logits_nll(struct eng_ctx *c, const float *logits, size_t n_rows, const int32_t *targets, double *nll)
{
	struct nll_job j = { .lg = logits, .n_vocab = c->m->cfg.n_vocab, .targets = targets, .nll = nll };
	eng_pool_run(c->ex.pool, nll_task, &j, (int64_t)n_rows);
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
		struct lp_row rows[SCORE_CHUNK];
		size_t n_rows = 0, first = 0;
		for (size_t i = 0; i < nb; i++) {
			size_t pos = p + i; /* logits of position pos predict token pos+1 */
			if (pos + 1 < r->n_ctx)
				continue;
			size_t j = pos + 1 - r->n_ctx;
			if (!n_rows)
				first = i;
			rows[n_rows++] = (struct lp_row){ r->cont[j], &res->logprob[j], &res->is_greedy[j],
							  k ? topk->id + j * k : NULL, k ? topk->logprob + j * k : NULL };
		}
		/* the wanted rows are the chunk's last ones (positions n_ctx - 1 on) */
		lp_run(c, lg + first * n_vocab, k, rows, n_rows);
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

static int check_reqs(const struct eng_ctx *c, const struct eng_score_req *reqs, size_t n_reqs, size_t top_k,
		      const struct eng_score_topk *topk, struct mrl_err *err);

int eng_score_ex(struct eng_ctx *c, const struct eng_score_req *reqs, size_t n_reqs, struct eng_score_res *res,
		 size_t top_k, struct eng_score_topk *topk, struct eng_score_stats *stats, struct mrl_err *err)
{
	struct eng_score_stats st = { 0 };
	if (stats)
		*stats = st;
	int rc = check_reqs(c, reqs, n_reqs, top_k, topk, err);
	if (rc)
		return rc;
	struct order_item *order = malloc((n_reqs ? n_reqs : 1) * sizeof *order);
	float *lg = malloc((size_t)SCORE_CHUNK * c->m->cfg.n_vocab * sizeof(float));
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

/* What eng_score_ex and eng_score_batch refuse before computing anything. */
static int check_reqs(const struct eng_ctx *c, const struct eng_score_req *reqs, size_t n_reqs, size_t top_k,
		      const struct eng_score_topk *topk, struct mrl_err *err)
{
	const uint32_t n_vocab = c->m->cfg.n_vocab;
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
	return 0;
}

int eng_score(struct eng_ctx *c, const struct eng_score_req *reqs, size_t n_reqs, struct eng_score_res *res,
	      struct mrl_err *err)
{
	return eng_score_ex(c, reqs, n_reqs, res, 0, NULL, NULL, err);
}

/* ---- eng_score_batch: the requests of many groups in shared forward calls ----
 *
 * The requests are visited as consecutive eng_score_ex calls would visit them
 * (group by group, sorted within a group), and each takes from the cache the
 * prefix those calls would have reused: keep = the common prefix with the
 * request visited before it (for the first, with slot 0, which holds what the
 * last call left), never past n_ctx - 1. Those keep positions are copied from
 * a source that already computed the same tokens: slot 0, or the earliest
 * visited request sharing them. Each request computes the rest in its own range
 * of cache rows (bump-allocated in slots 1..n_seq-1), and the forward calls
 * carry tokens of up to BATCH_TOKENS of them at once. A token's logits depend
 * only on the tokens at and before it in its own rows, so every result is the
 * one eng_score_ex gives, bit for bit, and so are the work counts unless the
 * rows run out and a source is overwritten (then its takers recompute). */

/* Tokens per forward call, and logits rows per call (n_vocab floats each). */
#define BATCH_TOKENS 512
#define BATCH_LOGITS 256

struct bs_req {
	const struct eng_score_req *r;
	size_t idx, group;   /* into reqs/res, and its group */
	size_t n_feed, keep; /* tokens to feed (n_ctx + n_cont - 1), positions reused */
	size_t src;          /* visiting index of the source of the keep positions; SIZE_MAX: slot 0 */
	size_t base, fed;    /* first cache row once started; positions valid in them */
	bool started, gone;  /* gone: its rows were handed to later requests */
};

struct bs_state {
	struct eng_ctx *c;
	struct bs_req *v;    /* n in visiting order */
	size_t n, next_row, pool_end, n_started, n_done;
	size_t top_k;
	struct eng_score_res *res;
	struct eng_score_topk *topk;
	struct eng_score_stats *work; /* per group, may be NULL */
	/* one forward call: tokens, their places, which request, whether logits are wanted */
	int32_t *tok;
	uint32_t *pos, *base;
	size_t *who;
	bool *want;
	float *lg;
	struct lp_row *rows; /* the wanted rows' targets and destinations */
};

static size_t common_prefix(const struct eng_score_req *a, size_t na, const struct eng_score_req *b, size_t nb)
{
	size_t k = 0;
	while (k < na && k < nb && tok_at(a, k) == tok_at(b, k))
		k++;
	return k;
}

/* Positions of slot 0 (what the context holds) that request r can reuse, as score_one counts them. */
static size_t slot0_keep(const struct eng_ctx *c, const struct bs_req *q)
{
	size_t keep = 0;
	while (keep < c->seq_pos[0] && keep < q->n_feed && c->tokens[keep] == tok_at(q->r, keep))
		keep++;
	return keep;
}

/* Visiting order, keep and source of every request. */
static void bs_plan(struct bs_state *b)
{
	for (size_t j = 0; j < b->n; j++) {
		struct bs_req *q = &b->v[j];
		q->n_feed = q->r->n_ctx + q->r->n_cont - 1;
		q->keep = j ? common_prefix(b->v[j - 1].r, b->v[j - 1].n_feed, q->r, q->n_feed) : slot0_keep(b->c, q);
		if (q->keep > q->r->n_ctx - 1)
			q->keep = q->r->n_ctx - 1;
		q->src = SIZE_MAX;
		if (q->keep == 0 || slot0_keep(b->c, q) >= q->keep)
			continue;
		/* the earliest of the run of requests before it that hold the same keep tokens */
		size_t k = j - 1;
		while (k > 0 && b->v[k - 1].n_feed >= q->keep &&
		       common_prefix(b->v[k - 1].r, q->keep, q->r, q->keep) == q->keep)
			k--;
		q->src = k;
	}
}

/* Start request j when its source is ready and its rows fit: copy the keep
 * positions into its rows. A source whose rows are gone: reuse what slot 0
 * holds instead, and compute the rest. */
static bool bs_start(struct bs_state *b, size_t j)
{
	struct bs_req *q = &b->v[j];
	size_t from = 0;
	if (q->src != SIZE_MAX && b->v[q->src].gone) {
		q->src = SIZE_MAX;
		size_t k0 = slot0_keep(b->c, q);
		if (q->keep > k0)
			q->keep = k0;
	}
	if (q->src != SIZE_MAX) {
		const struct bs_req *s = &b->v[q->src];
		if (!s->started || s->fed < q->keep)
			return false;
		from = s->base;
	}
	if (b->next_row + q->n_feed > b->pool_end)
		return false;
	q->base = b->next_row;
	b->next_row += q->n_feed;
	eng_kv_copy_rows(b->c, from, q->base, q->keep);
	q->fed = q->keep;
	q->started = true;
	b->n_started++;
	return true;
}

/* Start what can start, then fill one forward call from the started requests,
 * in visiting order; the number of tokens (0: nothing could run). */
static size_t bs_fill(struct bs_state *b, size_t *n_rows)
{
	size_t pending = 0;
	for (size_t j = 0; j < b->n; j++)
		if (b->v[j].started)
			pending += b->v[j].n_feed - b->v[j].fed;
	for (size_t j = 0; j < b->n && pending < BATCH_TOKENS; j++)
		if (!b->v[j].started && bs_start(b, j))
			pending += b->v[j].n_feed - b->v[j].fed;
	size_t n = 0;
	*n_rows = 0;
	for (size_t j = 0; j < b->n && n < BATCH_TOKENS; j++) {
		const struct bs_req *q = &b->v[j];
		if (!q->started)
			continue;
		for (size_t p = q->fed; p < q->n_feed && n < BATCH_TOKENS; p++) {
			/* logits of position p predict token p + 1: wanted from the last context token on */
			const bool want = p + 1 >= q->r->n_ctx;
			if (want && *n_rows == BATCH_LOGITS)
				break;
			b->tok[n] = tok_at(q->r, p);
			b->pos[n] = (uint32_t)p;
			b->base[n] = (uint32_t)q->base;
			b->who[n] = j;
			b->want[n] = want;
			*n_rows += want;
			n++;
		}
	}
	return n;
}

/* Log-probabilities of the rows of one forward call; requests fed to the end are done. */
static void bs_collect(struct bs_state *b, size_t n)
{
	const size_t k = b->top_k;
	size_t n_rows = 0;
	for (size_t i = 0; i < n; i++) {
		if (!b->want[i])
			continue;
		const struct bs_req *q = &b->v[b->who[i]];
		const size_t jj = b->pos[i] + 1 - q->r->n_ctx;
		struct eng_score_res *res = &b->res[q->idx];
		struct eng_score_topk *tk = k ? &b->topk[q->idx] : NULL;
		b->rows[n_rows++] = (struct lp_row){ q->r->cont[jj], &res->logprob[jj], &res->is_greedy[jj],
						     k ? tk->id + jj * k : NULL, k ? tk->logprob + jj * k : NULL };
	}
	lp_run(b->c, b->lg, k, b->rows, n_rows);
	for (size_t i = 0; i < n; i++) {
		struct bs_req *q = &b->v[b->who[i]];
		q->fed++;
		if (q->fed != q->n_feed)
			continue;
		struct eng_score_res *res = &b->res[q->idx];
		res->sum_logprob = 0.0;
		res->all_greedy = true;
		for (size_t jj = 0; jj < q->r->n_cont; jj++) {
			res->sum_logprob += res->logprob[jj];
			res->all_greedy = res->all_greedy && res->is_greedy[jj];
		}
		if (b->work) {
			b->work[q->group].n_computed += q->n_feed - q->keep;
			b->work[q->group].n_cached += q->keep;
		}
		b->n_done++;
	}
}

/* Every request fed; the last visited one's positions into slot 0 (what the next call reuses). */
static int bs_run(struct bs_state *b, struct mrl_err *err)
{
	struct eng_ctx *c = b->c;
	bool reset = false;
	while (b->n_done < b->n) {
		size_t n_rows, n = bs_fill(b, &n_rows);
		if (n == 0) {
			/* nothing running and nothing fits: the rows start over, and what they held is gone */
			if (reset)
				return mrl_err_set(err, MRL_ERUNTIME, "score: batch scheduler stalled (a bug)");
			for (size_t j = 0; j < b->n; j++)
				b->v[j].gone = b->v[j].started;
			b->next_row = c->n_ctx;
			reset = true;
			continue;
		}
		reset = false;
		int rc = eng_forward_rows(c, b->tok, b->pos, b->base, n, b->want, b->lg, err);
		if (rc)
			return rc;
		for (size_t i = 0; i < n && b->work; i++)
			if (i == 0 || b->v[b->who[i]].group != b->v[b->who[i - 1]].group)
				b->work[b->v[b->who[i]].group].n_forward++;
		bs_collect(b, n);
	}
	const struct bs_req *last = b->n ? &b->v[b->n - 1] : NULL;
	if (last && !last->gone) {
		eng_kv_copy_rows(c, last->base, 0, last->n_feed);
		c->seq_pos[0] = (uint32_t)last->n_feed;
	} else if (last) {
		c->seq_pos[0] = 0;
	}
	return 0;
}

int eng_score_batch(struct eng_ctx *c, const struct eng_score_req *reqs, const size_t *group_size, size_t n_groups,
		    struct eng_score_res *res, size_t top_k, struct eng_score_topk *topk, struct eng_score_stats *work,
		    struct mrl_err *err)
{
	size_t n_reqs = 0;
	for (size_t g = 0; g < n_groups; g++) {
		n_reqs += group_size[g];
		if (work)
			work[g] = (struct eng_score_stats){ 0 };
	}
	int rc = check_reqs(c, reqs, n_reqs, top_k, topk, err);
	if (rc || c->n_seq < 2) {
		/* one sequence: the groups one after the other through eng_score_ex */
		for (size_t g = 0, at = 0; !rc && g < n_groups; at += group_size[g++])
			rc = eng_score_ex(c, reqs + at, group_size[g], res + at, top_k, top_k ? topk + at : NULL,
					  work ? &work[g] : NULL, err);
		return rc;
	}
	const uint32_t n_vocab = c->m->cfg.n_vocab;
	struct bs_state b = { .c = c, .n = n_reqs, .next_row = c->n_ctx, .pool_end = (size_t)c->n_seq * c->n_ctx,
			      .top_k = top_k, .res = res, .topk = topk, .work = work };
	struct order_item *order = malloc((n_reqs ? n_reqs : 1) * sizeof *order);
	b.v = calloc(n_reqs ? n_reqs : 1, sizeof *b.v);
	b.tok = malloc(BATCH_TOKENS * sizeof *b.tok);
	b.pos = malloc(BATCH_TOKENS * sizeof *b.pos);
	b.base = malloc(BATCH_TOKENS * sizeof *b.base);
	b.who = malloc(BATCH_TOKENS * sizeof *b.who);
	b.want = malloc(BATCH_TOKENS * sizeof *b.want);
	b.lg = malloc((size_t)BATCH_LOGITS * n_vocab * sizeof *b.lg);
	b.rows = malloc(BATCH_LOGITS * sizeof *b.rows);
	if (!order || !b.v || !b.tok || !b.pos || !b.base || !b.who || !b.want || !b.lg || !b.rows) {
		rc = mrl_err_set(err, MRL_ENOMEM, "score: out of memory");
		goto out;
	}
	for (size_t g = 0, at = 0; g < n_groups; at += group_size[g++]) {
		for (size_t i = at; i < at + group_size[g]; i++)
			order[i] = (struct order_item){ &reqs[i], i };
		qsort(order + at, group_size[g], sizeof *order, cmp_req);
		for (size_t i = at; i < at + group_size[g]; i++)
			b.v[i] = (struct bs_req){ .r = order[i].r, .idx = order[i].idx, .group = g };
	}
	bs_plan(&b);
	rc = bs_run(&b, err);
out:
	free(order);
	free(b.v);
	free(b.tok);
	free(b.pos);
	free(b.base);
	free(b.who);
	free(b.want);
	free(b.lg);
	free(b.rows);
	return rc;
}
