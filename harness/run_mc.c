/* run_mc.c — multiple-choice evaluation of one item in one language.
 *
 * The prompt is the few-shot examples (drawn reproducibly per item: met_rng stream
 * item_idx of the few-shot seed), each rendered as context + target delimiter + gold
 * choice and followed by the few-shot delimiter, then the item's own context.
 * Each choice is scored as lm-eval-harness's _encode_pair does: trailing whitespace
 * of the context moves into the continuation; the whole string context + delimiter +
 * choice and the bare context are tokenized (no BOS), and the continuation's tokens
 * are the whole's tokens past the context's count. The request is (BOS? + context
 * tokens, continuation tokens); all choices of an item go into one eng_score_ex call
 * (eng_score's results bit for bit, plus the count of tokens computed and, with
 * --store-logprobs, the top-K next tokens), so the shared context is computed once.
 * docs/evaluation.md has the details.
 */
#include "harness/run.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/met.h"

/* The few-shot prefix of item item_idx in lang: "" for zero-shot. *out is malloc'd. */
static int fewshot_prefix(const struct hrn_run_cfg *cfg, const struct task_task *t, size_t item_idx, const char *lang,
			  char **out, struct mrl_err *err)
{
	struct task_fewshot fs;
	task_fewshot(t, &fs);
	const int k = cfg->fewshot_k >= 0 ? cfg->fewshot_k : (fs.has ? fs.k : 0);
	const uint64_t seed = fs.has ? fs.seed : cfg->seed;
	const bool from_pool = fs.has ? (fs.source && !strcmp(fs.source, "pool")) : task_n_pool(t) > 0;
	const char *delim = fs.has && fs.delimiter ? fs.delimiter : "\n\n";
	const int li = task_language_index(t, lang);
	size_t *cand = NULL, n_cand = 0, n_src = from_pool ? task_n_pool(t) : task_n_items(t);
	char *buf = NULL;
	size_t buf_len = 0;
	FILE *f = NULL;
	int rc = 0;
	*out = NULL;
	if (k <= 0) {
		if (!(*out = strdup("")))
			return mrl_err_set(err, MRL_ENOMEM, "out of memory");
		return 0;
	}
	if (li < 0)
		return mrl_err_set(err, MRL_EINPUT, "task '%s': no language '%s'", task_id(t), lang);
	if (!(cand = malloc((n_src + 1) * sizeof *cand)) || !(f = open_memstream(&buf, &buf_len))) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < n_src; i++) {
		const struct task_item *ex = from_pool ? task_pool_at(t, i) : task_item_at(t, i);
		if ((from_pool || i != item_idx) && task_item_has(ex, (size_t)li))
			cand[n_cand++] = i;
	}
	if (n_cand < (size_t)k) {
		rc = mrl_err_set(err, MRL_EINPUT, "task '%s' (%s): %d-shot needs %d examples, the %s has %zu in this language",
				 task_id(t), lang, k, k, from_pool ? "pool" : "task's other items", n_cand);
		goto out;
	}
	struct met_rng rng;
	met_rng_seed_stream(&rng, seed, item_idx);
	for (size_t j = 0; j < (size_t)k; j++) {
		/* partial Fisher-Yates: cand[0..k) becomes a uniform draw without replacement */
		size_t r = j + (size_t)met_rng_below(&rng, n_cand - j), tmp = cand[j];
		cand[j] = cand[r];
		cand[r] = tmp;
		const struct task_item *ex = from_pool ? task_pool_at(t, cand[j]) : task_item_at(t, cand[j]);
		struct task_prompt ep = { 0 };
		if ((rc = task_render(t, ex, lang, &ep, err))) {
			mrl_err_prefix(err, "task '%s' few-shot example '%s' (%s)", task_id(t), task_item_id(ex), lang);
			goto out;
		}
		fputs(ep.context, f);
		if (ep.gold >= 0 && (size_t)ep.gold < ep.n_choices) {
			fputs(ep.target_delimiter ? ep.target_delimiter : " ", f);
			fputs(ep.choices[ep.gold], f);
		}
		fputs(delim, f);
		task_prompt_release(&ep);
	}
out:
	if (f && fclose(f) && !rc)
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	free(cand);
	if (rc)
		free(buf);
	else
		*out = buf;
	return rc;
}

int hrn_run_mc_context(const struct hrn_run_cfg *cfg, const struct task_task *t, size_t item_idx, const char *lang,
		       struct task_prompt *p, char **context, struct mrl_err *err)
{
	const struct task_item *it = task_item_at(t, item_idx);
	char *shots = NULL;
	*context = NULL;
	memset(p, 0, sizeof *p);
	int rc = task_render(t, it, lang, p, err);
	if (rc) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s): cannot render", task_id(t), task_item_id(it), lang);
		return rc;
	}
	if ((rc = fewshot_prefix(cfg, t, item_idx, lang, &shots, err)))
		goto out;
	size_t a = strlen(shots), b = strlen(p->context);
	if (!(*context = malloc(a + b + 1))) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(*context, shots, a);
	memcpy(*context + a, p->context, b + 1);
out:
	free(shots);
	if (rc)
		task_prompt_release(p);
	return rc;
}

int hrn_run_mc_item(const struct hrn_run_cfg *cfg, const struct task_task *t, size_t item_idx, const char *lang,
		    struct hrn_item *out, struct mrl_err *err)
{
	const uint64_t t_start = met_now_ns();
	const struct task_item *it = task_item_at(t, item_idx);
	const char *id = task_item_id(it);
	struct task_prompt p = { 0 };
	char *context = NULL, *whole_str = NULL;
	int32_t *ctx_enc = NULL, *full_ctx = NULL;
	int32_t **whole = NULL;
	size_t *n_whole = NULL;
	struct eng_score_req *reqs = NULL;
	struct eng_score_res *res = NULL;
	struct task_choice_score *cs = NULL;
	struct eng_score_topk *topk = NULL;
	struct eng_score_stats work = { 0 };
	size_t n_ce = 0, nc = 0, n_req = 0;
	const size_t k = cfg->store_logprobs ? cfg->store_topk : 0;
	int rc;

	if ((rc = hrn_run_mc_context(cfg, t, item_idx, lang, &p, &context, err)))
		return rc;
	struct eng_model_desc d;
	eng_model_describe(cfg->model, &d);
	nc = p.n_choices;
	const char *delim = p.target_delimiter ? p.target_delimiter : " ";
	bool mutual_info = false;
	for (size_t i = 0; i < task_n_metrics(t); i++)
		mutual_info |= !strcmp(task_metric(t, i), "acc_mutual_info");
	const size_t ctx_len = strlen(context), ctx_keep = ctx_len - task_trailing_space(context, ctx_len);
	const int32_t prefix_tok = d.bos_id >= 0 ? d.bos_id : d.eos_id;

	whole = calloc(nc, sizeof *whole);
	n_whole = calloc(nc, sizeof *n_whole);
	reqs = calloc(2 * nc, sizeof *reqs);
	res = calloc(2 * nc, sizeof *res);
	cs = calloc(nc, sizeof *cs);
	topk = calloc(2 * nc, sizeof *topk);
	if (!whole || !n_whole || !reqs || !res || !cs || !topk) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = eng_tokenize(cfg->model, context, ctx_keep, false, &ctx_enc, &n_ce, err)))
		goto tok_fail;
	/* BOS? + context tokens; an empty context without BOS gets the prefix token (lm-eval's rule) */
	const bool add_prefix = (cfg->add_bos && d.bos_id >= 0) || (n_ce == 0);
	const size_t n_full = n_ce + (add_prefix ? 1 : 0);
	if (!(full_ctx = malloc((n_full + 1) * sizeof *full_ctx))) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	if (add_prefix) {
		if (prefix_tok < 0) {
			rc = mrl_err_set(err, MRL_EINPUT, "task '%s' item '%s' (%s): the context is empty and the model has no BOS or EOS token to start from",
					 task_id(t), id, lang);
			goto out;
		}
		full_ctx[0] = cfg->add_bos && d.bos_id >= 0 ? d.bos_id : prefix_tok;
	}
	if (n_ce)
		memcpy(full_ctx + (add_prefix ? 1 : 0), ctx_enc, n_ce * sizeof *ctx_enc);
	const size_t n_pos = eng_ctx_n_ctx(cfg->ctx);
	const size_t dl = strlen(delim);
	for (size_t j = 0; j < nc; j++) {
		const size_t cl = strlen(p.choices[j]);
		free(whole_str);
		if (!(whole_str = malloc(ctx_len + dl + cl + 1))) {
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
			goto out;
		}
		/* context + delimiter + choice, the same string however the whitespace is split */
		memcpy(whole_str, context, ctx_len);
		memcpy(whole_str + ctx_len, delim, dl);
		memcpy(whole_str + ctx_len + dl, p.choices[j], cl + 1);
		if ((rc = eng_tokenize(cfg->model, whole_str, ctx_len + dl + cl, false, &whole[j], &n_whole[j], err)))
			goto tok_fail;
		if (n_whole[j] <= n_ce) {
			rc = mrl_err_set(err, MRL_EINPUT, "task '%s' item '%s' (%s): choice %zu adds no tokens after the context",
					 task_id(t), id, lang, j);
			goto out;
		}
		const size_t n_cont = n_whole[j] - n_ce;
		if (n_cont >= n_pos) {
			rc = mrl_err_set(err, MRL_EINPUT, "task '%s' item '%s' (%s): choice %zu is %zu tokens, the model's context is %zu",
					 task_id(t), id, lang, j, n_cont, n_pos);
			goto out;
		}
		/* left-truncate the context so that context + continuation - 1 fits (lm-eval's rule) */
		size_t keep = n_full <= n_pos + 1 - n_cont ? n_full : n_pos + 1 - n_cont;
		reqs[j] = (struct eng_score_req){ .ctx = full_ctx + (n_full - keep), .n_ctx = keep,
						  .cont = whole[j] + n_ce, .n_cont = n_cont };
		cs[j].n_tokens = (int64_t)n_cont;
		cs[j].n_chars = task_utf8_chars(p.choices[j], cl);
		cs[j].n_bytes = (int64_t)cl;
		cs[j].loglik_uncond = NAN;
	}
	n_req = nc;
	if (mutual_info) {
		/* the same continuation after a neutral context: BOS (EOS when there is none) */
		for (size_t j = 0; j < nc; j++) {
			if (prefix_tok < 0) {
				rc = mrl_err_set(err, MRL_EUNSUPPORTED, "task '%s': acc_mutual_info needs a BOS or EOS token", task_id(t));
				goto out;
			}
			reqs[nc + j] = (struct eng_score_req){ .ctx = &prefix_tok, .n_ctx = 1, .cont = reqs[j].cont,
							       .n_cont = reqs[j].n_cont };
		}
		n_req = 2 * nc;
	}
	for (size_t r = 0; r < n_req; r++) {
		res[r].logprob = malloc(reqs[r].n_cont * sizeof *res[r].logprob);
		res[r].is_greedy = malloc(reqs[r].n_cont * sizeof *res[r].is_greedy);
		if (k) {
			topk[r].id = malloc(reqs[r].n_cont * k * sizeof *topk[r].id);
			topk[r].logprob = malloc(reqs[r].n_cont * k * sizeof *topk[r].logprob);
		}
		if (!res[r].logprob || !res[r].is_greedy || (k && (!topk[r].id || !topk[r].logprob))) {
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
			goto out;
		}
	}
	const uint64_t t_scored0 = met_now_ns();
	if ((rc = hrn_run_score(cfg, reqs, n_req, res, k, topk, &work, err))) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s): scoring failed", task_id(t), id, lang);
		goto out;
	}
	const uint64_t t_scored1 = met_now_ns();
	for (size_t j = 0; j < nc; j++) {
		cs[j].loglik = res[j].sum_logprob;
		if (mutual_info)
			cs[j].loglik_uncond = res[nc + j].sum_logprob;
	}

	if ((rc = hrn_item_init(out, task_id(t), id, lang)))
		goto nomem;
	out->gold_index = p.gold;
	for (size_t j = 0; j < nc; j++)
		if ((rc = hrn_item_add_choice(out, cs[j].loglik, cs[j].n_tokens, cs[j].n_chars, cs[j].n_bytes,
					      res[j].all_greedy)))
			goto nomem;
	/* the conditional requests only: those are the choices' scores */
	for (size_t j = 0; cfg->store_logprobs && j < nc; j++)
		if ((rc = hrn_item_set_logprobs(out, j, reqs[j].cont, res[j].logprob, reqs[j].n_cont, k, topk[j].id,
						topk[j].logprob)))
			goto nomem;
	out->tokens_computed = (int64_t)work.n_computed;
	out->tokens_cached = (int64_t)work.n_cached;
	for (int r = 0; r < TASK_MC_N_RULES; r++) {
		if (r == TASK_MC_ACC_MUTUAL_INFO && !mutual_info)
			continue;
		const int pred = task_mc_predict((enum task_mc_rule)r, cs, nc);
		if ((rc = hrn_item_add_metric(out, task_mc_rule_name((enum task_mc_rule)r), pred, NULL,
					      pred >= 0 && pred == p.gold, NAN)))
			goto nomem;
	}
	const uint64_t t_end = met_now_ns();
	if ((rc = hrn_item_add_timing(out, "tokenize", (int64_t)(t_scored0 - t_start))) ||
	    (rc = hrn_item_add_timing(out, "score", (int64_t)(t_scored1 - t_scored0))) ||
	    (rc = hrn_item_add_timing(out, "total", (int64_t)(t_end - t_start))) ||
	    (rc = hrn_item_set_prompt(out, context)))
		goto nomem;
	goto out;
tok_fail:
	mrl_err_prefix(err, "task '%s' item '%s' (%s): tokenization failed", task_id(t), id, lang);
	goto out;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
out:
	if (rc)
		hrn_item_release(out);
	for (size_t r = 0; res && r < 2 * nc; r++) {
		free(res[r].logprob);
		free(res[r].is_greedy);
	}
	for (size_t r = 0; topk && r < 2 * nc; r++) {
		free(topk[r].id);
		free(topk[r].logprob);
	}
	free(topk);
	for (size_t j = 0; whole && j < nc; j++)
		free(whole[j]);
	free(whole);
	free(n_whole);
	free(reqs);
	free(res);
	free(cs);
	free(full_ctx);
	free(ctx_enc);
	free(whole_str);
	free(context);
	task_prompt_release(&p);
	return rc;
}
