/* run_ppl.c — perplexity of one document by rolling windows.
 *
 * The document's plan (tasks/plan.h) gives its text, its lengths and the start
 * token (BOS when BOS is used, else EOS as lm-eval-harness's end-of-text prefix);
 * the text is tokenized without BOS and the start token is put before it, so
 * that every document token is predicted exactly once. The first window predicts
 * tokens 1..W (W = the task's window) from what precedes them; each further window
 * predicts the next S (the stride) tokens, fed together with the W - S tokens
 * before them (task_ppl_windows). With S = W this is lm-eval-harness's
 * loglikelihood_rolling (context_len 1). The NLL is divided by tokens, words,
 * UTF-8 bytes and canonical characters (tasks/score.c: task_text_count).
 * Under --batch N the windows of a document share forward calls (ppl_score).
 */
#include "harness/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/met.h"

size_t hrn_run_ppl_windows(size_t n, size_t window, size_t stride, size_t *ctx_begin, size_t *begin, size_t *end)
{
	return task_ppl_windows(n, window, stride, ctx_begin, begin, end);
}

/* Which unit an error is about. */
struct ppl_unit {
	const char *task, *item, *lang;
	const char *breakdown; /* the item's breakdown value; NULL where the task has none */
};

/* A document's tokens and its windows; the requests point into seq. */
struct ppl_doc {
	int32_t *toks;        /* the text's tokens (n) */
	size_t n;
	int32_t *seq;         /* start token ++ toks (n + 1) */
	size_t *cb, *b, *e;   /* per window: context begin, first and past-last predicted index of seq */
	size_t nw;
	double *lp;           /* --store-logprobs: per document token (n), and top-K rows (n * k) */
	int32_t *top_id;
	double *top_lp;
};

static void ppl_doc_release(struct ppl_doc *d)
{
	free(d->toks);
	free(d->seq);
	free(d->cb);
	free(d->b);
	free(d->e);
	free(d->lp);
	free(d->top_id);
	free(d->top_lp);
}

/* Tokenize the text and check that the model can score it. */
static int ppl_tokenize(const struct hrn_run_cfg *cfg, const struct task_ppl_plan *p, const struct ppl_unit *u,
			struct ppl_doc *d, int32_t *start, struct mrl_err *err)
{
	struct eng_model_desc md;
	eng_model_describe(cfg->model, &md);
	int rc = eng_tokenize(cfg->model, p->text, strlen(p->text), false, &d->toks, &d->n, err);
	if (rc) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s): tokenization failed", u->task, u->item, u->lang);
		return rc;
	}
	if (d->n == 0)
		return mrl_err_set(err, MRL_EINPUT, "task '%s' item '%s' (%s): the text has no tokens", u->task, u->item, u->lang);
	if ((*start = task_start_token(p->start, md.bos_id, md.eos_id)) < 0)
		return mrl_err_set(err, MRL_EUNSUPPORTED, "task '%s': perplexity needs a BOS or EOS token to start a document",
				   u->task);
	if (p->window > eng_ctx_n_ctx(cfg->ctx))
		return mrl_err_set(err, MRL_EINPUT, "task '%s': window %zu is longer than the model's context (%u)", u->task,
				   p->window, eng_ctx_n_ctx(cfg->ctx));
	return 0;
}

/* One request per window into b (initialized here). */
static int ppl_requests(const struct hrn_run_cfg *cfg, const struct task_ppl_plan *p, int32_t start, struct ppl_doc *d,
			struct hrn_score_batch *b, struct mrl_err *err)
{
	const size_t n = d->n;
	int rc = hrn_score_batch_init(b, n, cfg->store_logprobs ? cfg->store_topk : 0, err);
	if (rc)
		return rc;
	d->seq = malloc((n + 1) * sizeof *d->seq);
	d->cb = malloc(n * sizeof *d->cb);
	d->b = malloc(n * sizeof *d->b);
	d->e = malloc(n * sizeof *d->e);
	if (!d->seq || !d->cb || !d->b || !d->e)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	d->seq[0] = start;
	memcpy(d->seq + 1, d->toks, n * sizeof *d->toks);
	d->nw = task_ppl_windows(n, p->window, p->stride, d->cb, d->b, d->e);
	for (size_t w = 0; w < d->nw; w++)
		b->reqs[w] = (struct eng_score_req){ .ctx = d->seq + d->cb[w], .n_ctx = d->b[w] - d->cb[w],
						     .cont = d->seq + d->b[w], .n_cont = d->e[w] - d->b[w] };
	b->n = d->nw;
	return hrn_score_batch_alloc(b, err);
}

/* --store-logprobs: the windows predict tokens 1..n in order; concatenated, one row
 * per document token. 0 or MRL_ENOMEM. */
static int ppl_logprobs(struct ppl_doc *d, const struct hrn_score_batch *b)
{
	const size_t n = d->n, k = b->top_k;
	d->lp = malloc(n * sizeof *d->lp);
	d->top_id = k ? malloc(n * k * sizeof *d->top_id) : NULL;
	d->top_lp = k ? malloc(n * k * sizeof *d->top_lp) : NULL;
	if (!d->lp || (k && (!d->top_id || !d->top_lp)))
		return MRL_ENOMEM;
	for (size_t w = 0; w < d->nw; w++) {
		const size_t at = d->b[w] - 1, len = d->e[w] - d->b[w];
		memcpy(d->lp + at, b->res[w].logprob, len * sizeof *d->lp);
		if (k) {
			memcpy(d->top_id + at * k, b->topk[w].id, len * k * sizeof *d->top_id);
			memcpy(d->top_lp + at * k, b->topk[w].logprob, len * k * sizeof *d->top_lp);
		}
	}
	return 0;
}

/* The record of a scored document: its one "choice", the metrics and counts, timings
 * (t[0] start, t[1] and t[2] around the scoring), logprobs. 0 or MRL_ENOMEM. */
static int ppl_record(const struct hrn_run_cfg *cfg, const struct task_ppl_plan *p, const struct ppl_unit *u,
		      struct ppl_doc *d, const struct hrn_score_batch *b, const uint64_t t[3], struct rec_item *out)
{
	const struct task_text_counts *tc = &p->counts;
	const size_t n = d->n, k = b->top_k;
	if (cfg->store_logprobs && ppl_logprobs(d, b))
		return MRL_ENOMEM;
	double loglik = 0;
	bool greedy = true;
	for (size_t w = 0; w < d->nw; w++) {
		loglik += b->res[w].sum_logprob;
		greedy &= b->res[w].all_greedy;
	}
	const double nll = -loglik, bits = nll / log(2.0);
	int rc;
	if ((rc = rec_item_init(out, u->task, u->item, u->lang)) || (rc = rec_item_set_breakdown(out, u->breakdown)) ||
	    (rc = rec_item_add_choice(out, loglik, (int64_t)n, tc->chars, tc->bytes, greedy)) ||
	    (rc = rec_item_add_metric(out, "perplexity", -1, NULL, false, exp(nll / (double)n))) ||
	    (rc = rec_item_add_metric(out, "word_perplexity", -1, NULL, false,
				      tc->words ? exp(nll / (double)tc->words) : NAN)) ||
	    (rc = rec_item_add_metric(out, "bits_per_byte", -1, NULL, false, tc->bytes ? bits / (double)tc->bytes : NAN)) ||
	    (rc = rec_item_add_metric(out, "bits_per_char", -1, NULL, false,
				      tc->canonical_chars ? bits / (double)tc->canonical_chars : NAN)) ||
	    (rc = rec_item_add_metric(out, "byte_perplexity", -1, NULL, false,
				      tc->bytes ? exp(nll / (double)tc->bytes) : NAN)) ||
	    /* the counts, so that aggregates (sum NLL / sum count) can be recomputed from items.jsonl */
	    (rc = rec_item_add_metric(out, "words", -1, NULL, false, (double)tc->words)) ||
	    (rc = rec_item_add_metric(out, "canonical_chars", -1, NULL, false, (double)tc->canonical_chars)) ||
	    (rc = rec_item_add_timing(out, "tokenize", (int64_t)(t[1] - t[0]))) ||
	    (rc = rec_item_add_timing(out, "score", (int64_t)(t[2] - t[1]))) ||
	    (rc = rec_item_add_timing(out, "total", (int64_t)(met_now_ns() - t[0]))) ||
	    (cfg->store_logprobs && (rc = rec_item_set_logprobs(out, 0, d->toks, d->lp, n, k, d->top_id, d->top_lp))))
		return rc;
	out->tokens_computed = (int64_t)b->work.n_computed;
	out->tokens_cached = (int64_t)b->work.n_cached;
	return 0;
}

/* The windows of a document: under --batch N (a multi-sequence context) side by
 * side in shared forward calls of a few hundred tokens (eng_score_batch, the
 * document one group); else as hrn_run_score hands them over (eng_score_ex:
 * calls of 64 tokens, one window after the other). The results and work counts
 * are the same bit for bit (the engine's contract; tests/hrn_run.c compares). */
static int ppl_score(const struct hrn_run_cfg *cfg, struct hrn_score_batch *b, struct mrl_err *err)
{
	if (cfg->score_window <= 1 || eng_ctx_n_seq(cfg->ctx) < 2)
		return hrn_run_score(cfg, b, err);
	struct eng_score_stats s;
	const size_t group = b->n;
	int rc = eng_score_batch(cfg->ctx, b->reqs, &group, 1, b->res, b->top_k, b->top_k ? b->topk : NULL, &s, err);
	b->work.n_computed += s.n_computed;
	b->work.n_cached += s.n_cached;
	b->work.n_forward += s.n_forward;
	return rc;
}

int hrn_run_ppl_item(const struct hrn_run_cfg *cfg, const struct task_task *t, size_t item_idx, const char *lang,
		     struct rec_item *out, struct mrl_err *err)
{
	uint64_t times[3] = { met_now_ns(), 0, 0 };
	const struct ppl_unit u = { task_id(t), task_item_id(task_item_at(t, item_idx)), lang,
				    task_breakdown_value(t, task_item_at(t, item_idx), lang) };
	struct task_ppl_plan p;
	struct ppl_doc d = { 0 };
	struct hrn_score_batch b = { 0 };
	int32_t start = -1;
	int rc = hrn_run_ppl_plan(cfg, t, item_idx, lang, &p, err);
	if (rc)
		return rc;
	if ((rc = ppl_tokenize(cfg, &p, &u, &d, &start, err)) || (rc = ppl_requests(cfg, &p, start, &d, &b, err)))
		goto out;
	times[1] = met_now_ns();
	if ((rc = ppl_score(cfg, &b, err))) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s): scoring failed", u.task, u.item, lang);
		goto out;
	}
	times[2] = met_now_ns();
	if ((rc = ppl_record(cfg, &p, &u, &d, &b, times, out))) {
		rec_item_release(out);
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
out:
	hrn_score_batch_release(&b);
	ppl_doc_release(&d);
	task_ppl_plan_release(&p);
	return rc;
}
