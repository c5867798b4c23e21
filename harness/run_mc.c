/* run_mc.c — multiple-choice evaluation of one item in one language.
 *
 * What is scored comes from the item's plan (tasks/plan.h): the prompt with its
 * few-shot examples, and for each choice one string split into context and
 * continuation by lm-eval-harness's _encode_pair rule. Here the context and each
 * whole string are tokenized (no BOS), and a continuation's tokens are the whole's
 * tokens past the context's count. The request is (start token? + context tokens,
 * continuation tokens), the context cut by the plan's truncation rule; all choices
 * of an item go into one eng_score_ex call (eng_score's results bit for bit, plus
 * the count of tokens computed and, with --store-logprobs, the top-K next tokens),
 * so the shared context is computed once. docs/evaluation.md has the details.
 */
#include "harness/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/met.h"

/* Which unit an error is about. */
struct mc_unit {
	const char *task, *item, *lang;
};

/* The tokens of an item's requests; the requests point into them. */
struct mc_tokens {
	int32_t *ctx;        /* the context's tokens (n_ctx) */
	size_t n_ctx;
	int32_t *full_ctx;   /* start token? + the context's tokens (n_full) */
	size_t n_full;
	int32_t **whole;     /* per choice: the tokens of the whole string (n_whole) */
	size_t *n_whole, n_choices;
	int32_t neutral;     /* the one-token context of acc_mutual_info; -1 = none */
};

static void mc_tokens_release(struct mc_tokens *tk)
{
	for (size_t j = 0; tk->whole && j < tk->n_choices; j++)
		free(tk->whole[j]);
	free(tk->whole);
	free(tk->n_whole);
	free(tk->full_ctx);
	free(tk->ctx);
}

/* The context's tokens, with the plan's start token before them. */
static int mc_context(const struct hrn_run_cfg *cfg, const struct task_mc_plan *p, const struct mc_unit *u,
		      struct mc_tokens *tk, struct mrl_err *err)
{
	struct eng_model_desc d;
	eng_model_describe(cfg->model, &d);
	tk->n_choices = p->n_choices;
	tk->whole = calloc(p->n_choices, sizeof *tk->whole);
	tk->n_whole = calloc(p->n_choices, sizeof *tk->n_whole);
	if (!tk->whole || !tk->n_whole)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	int rc = eng_tokenize(cfg->model, p->prompt, p->context_len, false, &tk->ctx, &tk->n_ctx, err);
	if (rc) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s): tokenization failed", u->task, u->item, u->lang);
		return rc;
	}
	int32_t start = task_start_token(p->start, d.bos_id, d.eos_id);
	if (start < 0 && tk->n_ctx == 0 && (start = task_start_token(p->start_if_empty, d.bos_id, d.eos_id)) < 0)
		return mrl_err_set(err, MRL_EINPUT, "task '%s' item '%s' (%s): the context is empty and the model has no BOS or EOS token to start from",
				   u->task, u->item, u->lang);
	tk->n_full = tk->n_ctx + (start >= 0 ? 1 : 0);
	if (!(tk->full_ctx = malloc((tk->n_full + 1) * sizeof *tk->full_ctx)))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	if (start >= 0)
		tk->full_ctx[0] = start;
	if (tk->n_ctx)
		memcpy(tk->full_ctx + (start >= 0 ? 1 : 0), tk->ctx, tk->n_ctx * sizeof *tk->ctx);
	tk->neutral = task_start_token(p->neutral, d.bos_id, d.eos_id);
	return 0;
}

/* One request per choice (and one more per choice after the neutral context for
 * acc_mutual_info) into b. */
static int mc_requests(const struct hrn_run_cfg *cfg, const struct task_mc_plan *p, const struct mc_unit *u,
		       struct mc_tokens *tk, struct hrn_score_batch *b, struct mrl_err *err)
{
	const size_t n_pos = eng_ctx_n_ctx(cfg->ctx), nc = p->n_choices;
	for (size_t j = 0; j < nc; j++) {
		const char *text = p->choices[j].text;
		int rc = eng_tokenize(cfg->model, text, strlen(text), false, &tk->whole[j], &tk->n_whole[j], err);
		if (rc) {
			mrl_err_prefix(err, "task '%s' item '%s' (%s): tokenization failed", u->task, u->item, u->lang);
			return rc;
		}
		if (tk->n_whole[j] <= tk->n_ctx)
			return mrl_err_set(err, MRL_EINPUT, "task '%s' item '%s' (%s): choice %zu adds no tokens after the context",
					   u->task, u->item, u->lang, j);
		const size_t n_cont = tk->n_whole[j] - tk->n_ctx;
		size_t keep;
		if (task_truncate_keep(p->truncate, tk->n_full, n_cont, n_pos, &keep))
			return mrl_err_set(err, MRL_EINPUT, "task '%s' item '%s' (%s): choice %zu is %zu tokens, the model's context is %zu",
					   u->task, u->item, u->lang, j, n_cont, n_pos);
		b->reqs[j] = (struct eng_score_req){ .ctx = tk->full_ctx + (tk->n_full - keep), .n_ctx = keep,
						     .cont = tk->whole[j] + tk->n_ctx, .n_cont = n_cont };
	}
	b->n = nc;
	if (!p->mutual_info)
		return 0;
	/* the same continuation after the neutral context */
	for (size_t j = 0; j < nc; j++) {
		if (tk->neutral < 0)
			return mrl_err_set(err, MRL_EUNSUPPORTED, "task '%s': acc_mutual_info needs a BOS or EOS token", u->task);
		b->reqs[nc + j] = (struct eng_score_req){ .ctx = &tk->neutral, .n_ctx = 1, .cont = b->reqs[j].cont,
							  .n_cont = b->reqs[j].n_cont };
	}
	b->n = 2 * nc;
	return 0;
}

/* The record of a scored item: choices, logprobs, work, the plan's metrics, timings
 * (t[0] start, t[1] and t[2] around the scoring) and the prompt. 0 or MRL_ENOMEM. */
static int mc_record(const struct hrn_run_cfg *cfg, const struct task_mc_plan *p, const struct mc_unit *u,
		     const struct hrn_score_batch *b, const uint64_t t[3], struct rec_item *out)
{
	const size_t nc = p->n_choices, k = b->top_k;
	struct task_choice_score *cs = calloc(nc ? nc : 1, sizeof *cs);
	int rc = cs ? rec_item_init(out, u->task, u->item, u->lang) : MRL_ENOMEM;
	if (rc)
		goto out;
	out->gold_index = p->gold;
	for (size_t j = 0; j < nc && !rc; j++) {
		cs[j] = (struct task_choice_score){ .loglik = b->res[j].sum_logprob,
						    .loglik_uncond = p->mutual_info ? b->res[nc + j].sum_logprob : NAN,
						    .n_tokens = (int64_t)b->reqs[j].n_cont, .n_chars = p->choices[j].n_chars,
						    .n_bytes = p->choices[j].n_bytes };
		rc = rec_item_add_choice(out, cs[j].loglik, cs[j].n_tokens, cs[j].n_chars, cs[j].n_bytes,
					 b->res[j].all_greedy);
	}
	/* the conditional requests only: those are the choices' scores */
	for (size_t j = 0; cfg->store_logprobs && j < nc && !rc; j++)
		rc = rec_item_set_logprobs(out, j, b->reqs[j].cont, b->res[j].logprob, b->reqs[j].n_cont, k, b->topk[j].id,
					   b->topk[j].logprob);
	out->tokens_computed = (int64_t)b->work.n_computed;
	out->tokens_cached = (int64_t)b->work.n_cached;
	for (size_t r = 0; r < p->n_rules && !rc; r++) {
		const int pred = task_mc_predict(p->rules[r], cs, nc);
		rc = rec_item_add_metric(out, task_mc_rule_name(p->rules[r]), pred, NULL, pred >= 0 && pred == p->gold, NAN);
	}
	const uint64_t t_end = met_now_ns();
	if (!rc)
		rc = rec_item_add_timing(out, "tokenize", (int64_t)(t[1] - t[0]));
	if (!rc)
		rc = rec_item_add_timing(out, "score", (int64_t)(t[2] - t[1]));
	if (!rc)
		rc = rec_item_add_timing(out, "total", (int64_t)(t_end - t[0]));
	if (!rc)
		rc = rec_item_set_prompt(out, p->prompt);
	if (!rc)
		rc = hrn_run_mc_texts(out, p); /* context, continuations, gold_text, pred_text */
out:
	free(cs);
	return rc;
}

int hrn_run_mc_item(const struct hrn_run_cfg *cfg, const struct task_task *t, size_t item_idx, const char *lang,
		    struct rec_item *out, struct mrl_err *err)
{
	uint64_t times[3] = { met_now_ns(), 0, 0 };
	const struct mc_unit u = { task_id(t), task_item_id(task_item_at(t, item_idx)), lang };
	struct task_mc_plan p;
	struct mc_tokens tk = { 0 };
	struct hrn_score_batch b = { 0 };
	int rc = hrn_run_mc_plan(cfg, t, item_idx, lang, &p, err);
	if (rc)
		return rc;
	if ((rc = hrn_score_batch_init(&b, 2 * p.n_choices, cfg->store_logprobs ? cfg->store_topk : 0, err)) ||
	    (rc = mc_context(cfg, &p, &u, &tk, err)) || (rc = mc_requests(cfg, &p, &u, &tk, &b, err)) ||
	    (rc = hrn_score_batch_alloc(&b, err)))
		goto out;
	times[1] = met_now_ns();
	if ((rc = hrn_run_score(cfg, &b, err))) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s): scoring failed", u.task, u.item, lang);
		goto out;
	}
	times[2] = met_now_ns();
	if ((rc = mc_record(cfg, &p, &u, &b, times, out))) {
		rec_item_release(out);
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
out:
	hrn_score_batch_release(&b);
	mc_tokens_release(&tk);
	task_mc_plan_release(&p);
	return rc;
}
