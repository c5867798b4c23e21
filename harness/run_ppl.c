/* run_ppl.c — perplexity of one document by rolling windows.
 *
 * The document is tokenized without BOS and a prefix token is put before it (BOS
 * when BOS is used, else EOS as lm-eval-harness's end-of-text prefix), so that every
 * document token is predicted exactly once. The first window predicts tokens 1..W
 * (W = the task's window) from what precedes them; each further window predicts the
 * next S (the stride) tokens, fed together with the W - S tokens before them, so
 * no window is longer than W and every prediction after the first window sees at
 * least W - S tokens of context. With S = W this is lm-eval-harness's
 * loglikelihood_rolling (context_len 1). The NLL is divided by tokens, words,
 * UTF-8 bytes and canonical characters (tasks/score.c: task_text_count).
 */
#include "harness/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/met.h"

size_t hrn_run_ppl_windows(size_t n, size_t window, size_t stride, size_t *ctx_begin, size_t *begin, size_t *end)
{
	if (window < 1)
		return 0;
	if (stride < 1 || stride > window)
		stride = window;
	size_t p = 0, nw = 0; /* p: the last predicted index of prefix ++ tokens */
	while (p < n) {
		size_t e = nw == 0 ? (window < n ? window : n) : (p + stride < n ? p + stride : n);
		ctx_begin[nw] = e > window ? e - window : 0;
		begin[nw] = p + 1;
		end[nw] = e + 1;
		p = e;
		nw++;
	}
	return nw;
}

int hrn_run_ppl_item(const struct hrn_run_cfg *cfg, const struct task_task *t, size_t item_idx, const char *lang,
		     struct hrn_item *out, struct mrl_err *err)
{
	const uint64_t t_start = met_now_ns();
	const struct task_item *it = task_item_at(t, item_idx);
	const char *id = task_item_id(it);
	struct task_prompt p = { 0 };
	int32_t *toks = NULL, *seq = NULL;
	size_t n = 0, *cb = NULL, *b = NULL, *e = NULL;
	struct eng_score_req *reqs = NULL;
	struct eng_score_res *res = NULL;
	struct eng_score_topk *topk = NULL;
	struct eng_score_stats work = { 0 };
	double *doc_lp = NULL;
	int32_t *doc_top_id = NULL;
	double *doc_top_lp = NULL;
	const size_t k = cfg->store_logprobs ? cfg->store_topk : 0;
	size_t nw = 0;
	int rc = task_render(t, it, lang, &p, err);
	if (rc) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s): cannot render", task_id(t), id, lang);
		return rc;
	}
	struct eng_model_desc d;
	eng_model_describe(cfg->model, &d);
	const size_t len = strlen(p.context);
	struct task_text_counts tc;
	if ((rc = task_text_count(p.context, len, &tc, err))) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s): text", task_id(t), id, lang);
		goto out;
	}
	if ((rc = eng_tokenize(cfg->model, p.context, len, false, &toks, &n, err))) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s): tokenization failed", task_id(t), id, lang);
		goto out;
	}
	if (n == 0) {
		rc = mrl_err_set(err, MRL_EINPUT, "task '%s' item '%s' (%s): the text has no tokens", task_id(t), id, lang);
		goto out;
	}
	const int32_t prefix = cfg->add_bos && d.bos_id >= 0 ? d.bos_id : (d.eos_id >= 0 ? d.eos_id : d.bos_id);
	if (prefix < 0) {
		rc = mrl_err_set(err, MRL_EUNSUPPORTED, "task '%s': perplexity needs a BOS or EOS token to start a document",
				 task_id(t));
		goto out;
	}
	const size_t window = (size_t)task_window(t), stride = (size_t)task_stride(t);
	if (window > eng_ctx_n_ctx(cfg->ctx)) {
		rc = mrl_err_set(err, MRL_EINPUT, "task '%s': window %zu is longer than the model's context (%u)", task_id(t),
				 window, eng_ctx_n_ctx(cfg->ctx));
		goto out;
	}
	seq = malloc((n + 1) * sizeof *seq);
	cb = malloc(n * sizeof *cb);
	b = malloc(n * sizeof *b);
	e = malloc(n * sizeof *e);
	reqs = calloc(n, sizeof *reqs);
	res = calloc(n, sizeof *res);
	topk = calloc(n, sizeof *topk);
	if (!seq || !cb || !b || !e || !reqs || !res || !topk)
		goto nomem;
	seq[0] = prefix;
	memcpy(seq + 1, toks, n * sizeof *toks);
	nw = hrn_run_ppl_windows(n, window, stride, cb, b, e);
	for (size_t w = 0; w < nw; w++) {
		reqs[w] = (struct eng_score_req){ .ctx = seq + cb[w], .n_ctx = b[w] - cb[w], .cont = seq + b[w],
						  .n_cont = e[w] - b[w] };
		res[w].logprob = malloc(reqs[w].n_cont * sizeof *res[w].logprob);
		res[w].is_greedy = malloc(reqs[w].n_cont * sizeof *res[w].is_greedy);
		if (k) {
			topk[w].id = malloc(reqs[w].n_cont * k * sizeof *topk[w].id);
			topk[w].logprob = malloc(reqs[w].n_cont * k * sizeof *topk[w].logprob);
		}
		if (!res[w].logprob || !res[w].is_greedy || (k && (!topk[w].id || !topk[w].logprob)))
			goto nomem;
	}
	const uint64_t t_score0 = met_now_ns();
	if ((rc = hrn_run_score(cfg, reqs, nw, res, k, topk, &work, err))) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s): scoring failed", task_id(t), id, lang);
		goto out;
	}
	const uint64_t t_score1 = met_now_ns();
	if (cfg->store_logprobs) {
		/* the windows predict tokens 1..n in order: concatenated, one row per document token */
		doc_lp = malloc(n * sizeof *doc_lp);
		doc_top_id = k ? malloc(n * k * sizeof *doc_top_id) : NULL;
		doc_top_lp = k ? malloc(n * k * sizeof *doc_top_lp) : NULL;
		if (!doc_lp || (k && (!doc_top_id || !doc_top_lp)))
			goto nomem;
		for (size_t w = 0; w < nw; w++) {
			const size_t at = b[w] - 1, len = e[w] - b[w];
			memcpy(doc_lp + at, res[w].logprob, len * sizeof *doc_lp);
			if (k) {
				memcpy(doc_top_id + at * k, topk[w].id, len * k * sizeof *doc_top_id);
				memcpy(doc_top_lp + at * k, topk[w].logprob, len * k * sizeof *doc_top_lp);
			}
		}
	}
	double loglik = 0;
	bool greedy = true;
	for (size_t w = 0; w < nw; w++) {
		loglik += res[w].sum_logprob;
		greedy &= res[w].all_greedy;
	}
	const double nll = -loglik, bits = nll / log(2.0);
	if ((rc = hrn_item_init(out, task_id(t), id, lang)) ||
	    (rc = hrn_item_add_choice(out, loglik, (int64_t)n, tc.chars, tc.bytes, greedy)) ||
	    (rc = hrn_item_add_metric(out, "perplexity", -1, NULL, false, exp(nll / (double)n))) ||
	    (rc = hrn_item_add_metric(out, "word_perplexity", -1, NULL, false,
				      tc.words ? exp(nll / (double)tc.words) : NAN)) ||
	    (rc = hrn_item_add_metric(out, "bits_per_byte", -1, NULL, false, tc.bytes ? bits / (double)tc.bytes : NAN)) ||
	    (rc = hrn_item_add_metric(out, "bits_per_char", -1, NULL, false,
				      tc.canonical_chars ? bits / (double)tc.canonical_chars : NAN)) ||
	    /* the counts, so that aggregates (sum NLL / sum count) can be recomputed from items.jsonl */
	    (rc = hrn_item_add_metric(out, "words", -1, NULL, false, (double)tc.words)) ||
	    (rc = hrn_item_add_metric(out, "canonical_chars", -1, NULL, false, (double)tc.canonical_chars)) ||
	    (rc = hrn_item_add_timing(out, "tokenize", (int64_t)(t_score0 - t_start))) ||
	    (rc = hrn_item_add_timing(out, "score", (int64_t)(t_score1 - t_score0))) ||
	    (rc = hrn_item_add_timing(out, "total", (int64_t)(met_now_ns() - t_start))) ||
	    (cfg->store_logprobs && (rc = hrn_item_set_logprobs(out, 0, toks, doc_lp, n, k, doc_top_id, doc_top_lp))))
		goto nomem;
	out->tokens_computed = (int64_t)work.n_computed;
	out->tokens_cached = (int64_t)work.n_cached;
	goto out;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
out:
	if (rc)
		hrn_item_release(out);
	for (size_t w = 0; res && w < nw; w++) {
		free(res[w].logprob);
		free(res[w].is_greedy);
	}
	for (size_t w = 0; topk && w < nw; w++) {
		free(topk[w].id);
		free(topk[w].logprob);
	}
	free(topk);
	free(doc_lp);
	free(doc_top_id);
	free(doc_top_lp);
	free(res);
	free(reqs);
	free(cb);
	free(b);
	free(e);
	free(seq);
	free(toks);
	task_prompt_release(&p);
	return rc;
}
