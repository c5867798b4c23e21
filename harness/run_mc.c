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
#include "harness/run_gen.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "metrics/met.h"

/* Which unit an error is about. */
struct mc_unit {
	const char *task, *item, *lang;
	const char *breakdown; /* the item's breakdown value; NULL where the task has none */
};

/* The tokens of an item's requests; the requests point into them. */
struct mc_tokens {
	int32_t *ctx;        /* the context's tokens (n_ctx) */
	size_t n_ctx;
	int32_t *full_ctx;   /* start token? + the context's tokens (n_full) */
	size_t n_full;
	int32_t **whole;     /* per choice: the tokens of the whole string (n_whole) */
	size_t *n_whole, n_choices;
	int32_t **own_ctx;   /* choice_in_context: per choice, start token? + its own context's tokens (n_own) */
	size_t *n_own;
	int32_t neutral;     /* the one-token context of acc_mutual_info; -1 = none */
};

/* text's tokens, no BOS added; under a chat template its control tokens parsed (<|im_start|>). */
static int mc_tokenize(const struct hrn_run_cfg *cfg, const char *text, size_t len, int32_t **ids, size_t *n,
		       struct mrl_err *err)
{
	return hrn_run_chat_mc_on(cfg) ? eng_tokenize_flags(cfg->model, text, len, ENG_TOKENIZE_PARSE_SPECIAL, ids, n, err)
			    : eng_tokenize(cfg->model, text, len, false, ids, n, err);
}

/* The refusal of a chat prompt that does not fit with choice j (it is never cut). */
static int mc_chat_too_long(const char *task, const char *item, const char *lang, size_t n_full, size_t j, size_t n_pos,
			    struct mrl_err *err)
{
	return mrl_err_set(err, MRL_EINPUT, "task '%s' item '%s' (%s): the prompt in the chat template is %zu tokens, "
			   "with choice %zu more than the model's %zu positions (--chat-multiple-choice does not cut a "
			   "prompt)", task, item, lang, n_full, j, n_pos);
}

static void mc_tokens_release(struct mc_tokens *tk)
{
	for (size_t j = 0; tk->whole && j < tk->n_choices; j++)
		free(tk->whole[j]);
	for (size_t j = 0; tk->own_ctx && j < tk->n_choices; j++)
		free(tk->own_ctx[j]);
	free(tk->own_ctx);
	free(tk->n_own);
	free(tk->whole);
	free(tk->n_whole);
	free(tk->full_ctx);
	free(tk->ctx);
}

/* choice_in_context: choice j's own context (its text up to its context_len) tokenized into
 * tk->own_ctx[j], the plan's start token first (as mc_context puts it before the shared one),
 * and its count of context tokens (without the start token) into *n_ctx. */
static int mc_own_context(const struct hrn_run_cfg *cfg, const struct task_mc_plan *p, size_t j, struct mc_tokens *tk,
			  size_t *n_ctx, struct mrl_err *err)
{
	int32_t *ids = NULL;
	size_t n = 0;
	const bool start = tk->n_full > tk->n_ctx; /* mc_context put a start token before the shared context */
	if (!tk->own_ctx && (!(tk->own_ctx = calloc(tk->n_choices, sizeof *tk->own_ctx)) ||
			     !(tk->n_own = calloc(tk->n_choices, sizeof *tk->n_own))))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	int rc = mc_tokenize(cfg, p->choices[j].text, p->choices[j].context_len, &ids, &n, err);
	if (rc)
		return rc;
	if (!(tk->own_ctx[j] = malloc((n + 1) * sizeof *ids))) {
		free(ids);
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
	if (start)
		tk->own_ctx[j][0] = tk->full_ctx[0];
	if (n)
		memcpy(tk->own_ctx[j] + start, ids, n * sizeof *ids);
	tk->n_own[j] = n + start;
	*n_ctx = n;
	free(ids);
	return 0;
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
	int rc = mc_tokenize(cfg, p->prompt, p->context_len, &tk->ctx, &tk->n_ctx, err);
	if (rc) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s): tokenization failed", u->task, u->item, u->lang);
		return rc;
	}
	int32_t start = hrn_run_start_token(cfg, hrn_run_chat_mc_on(cfg), p->start, &d);
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
		size_t n_ctx = tk->n_ctx, n_full = tk->n_full; /* the shared context, or this choice's own */
		int rc = mc_tokenize(cfg, text, strlen(text), &tk->whole[j], &tk->n_whole[j], err);
		if (!rc && p->choice_in_context && !(rc = mc_own_context(cfg, p, j, tk, &n_ctx, err)))
			n_full = tk->n_own[j];
		if (rc) {
			mrl_err_prefix(err, "task '%s' item '%s' (%s): tokenization failed", u->task, u->item, u->lang);
			return rc;
		}
		const int32_t *full = p->choice_in_context ? tk->own_ctx[j] : tk->full_ctx;
		if (tk->n_whole[j] <= n_ctx)
			return mrl_err_set(err, MRL_EINPUT, "task '%s' item '%s' (%s): choice %zu adds no tokens after the context",
					   u->task, u->item, u->lang, j);
		const size_t n_cont = tk->n_whole[j] - n_ctx;
		size_t keep;
		if (task_truncate_keep(p->truncate, n_full, n_cont, n_pos, &keep))
			return mrl_err_set(err, MRL_EINPUT, "task '%s' item '%s' (%s): choice %zu is %zu tokens, the model's context is %zu",
					   u->task, u->item, u->lang, j, n_cont, n_pos);
		if (keep < n_full && hrn_run_chat_mc_on(cfg)) /* a cut from the left would take the template's turn header */
			return mc_chat_too_long(u->task, u->item, u->lang, n_full, j, n_pos, err);
		b->reqs[j] = (struct eng_score_req){ .ctx = full + (n_full - keep), .n_ctx = keep,
						     .cont = tk->whole[j] + n_ctx, .n_cont = n_cont };
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

/* Whether choice j of plan p fits n_pos positions, as mc_requests decides it; only
 * where its whole string has at least n_pos - 1 bytes is it tokenized: a token covers
 * at least a byte, and a SentencePiece dummy prefix adds at most one token, so a
 * shorter string has fewer continuation tokens than positions (a tokenizer whose
 * normaliser lengthens text, NFKC's ligatures, may slip past and is caught by
 * mc_requests). */
static int mc_choice_fits(const struct hrn_run_cfg *cfg, const struct task_mc_plan *p, const struct hrn_unit *u,
			  size_t j, size_t n_pos, long *n_ctx, struct mrl_err *err)
{
	const char *text = p->choices[j].text;
	if (strlen(text) + 1 < n_pos)
		return 0;
	int32_t *ctx = NULL, *whole = NULL;
	size_t n = 0, n_whole = 0;
	int rc = 0;
	if (p->choice_in_context) /* each choice's own context */
		*n_ctx = -1;
	const char *head = p->choice_in_context ? text : p->prompt;
	const size_t head_len = p->choice_in_context ? p->choices[j].context_len : p->context_len;
	if (*n_ctx < 0 && !(rc = mc_tokenize(cfg, head, head_len, &ctx, &n, err)))
		*n_ctx = (long)n; /* the unit's context, tokenized once for all its choices */
	if (!rc)
		rc = mc_tokenize(cfg, text, strlen(text), &whole, &n_whole, err);
	const size_t n_c = *n_ctx > 0 ? (size_t)*n_ctx : 0;
	if (rc)
		mrl_err_prefix(err, "task '%s' item '%s' (%s): tokenization failed", task_id(u->task), task_item_id(u->item),
			       u->lang);
	else if (n_whole > n_c && n_whole - n_c >= n_pos)
		rc = mrl_err_set(err, MRL_EINPUT, "task '%s' item '%s' (%s): choice %zu is %zu tokens, the model's context is %zu",
				 task_id(u->task), task_item_id(u->item), u->lang, j, n_whole - n_c, n_pos);
	else if (hrn_run_chat_mc_on(cfg) && n_whole > n_c) { /* nor a context that would be cut (mc_requests) */
		struct eng_model_desc d;
		eng_model_describe(cfg->model, &d);
		const size_t n_full = n_c + (hrn_run_start_token(cfg, hrn_run_chat_mc_on(cfg), p->start, &d) >= 0);
		if (n_full + (n_whole - n_c) - 1 > n_pos)
			rc = mc_chat_too_long(task_id(u->task), task_item_id(u->item), u->lang, n_full, j, n_pos, err);
	}
	free(ctx);
	free(whole);
	return rc;
}

int hrn_run_mc_fits(const struct hrn_run_cfg *cfg, struct mrl_err *err)
{
	const size_t n_pos = eng_ctx_n_ctx(cfg->ctx);
	struct hrn_units units;
	struct hrn_unit u;
	int rc = 0;
	hrn_units_init(&units, cfg);
	while (!rc && hrn_units_next(&units, &u)) {
		if (task_type(u.task) != TASK_MULTIPLE_CHOICE)
			continue;
		struct task_mc_plan p;
		long n_ctx = -1; /* not tokenized yet */
		rc = hrn_run_mc_plan(cfg, u.task, u.item_idx, u.lang, &p, err);
		if (!rc && p.choice_in_context && hrn_run_chat_mc_on(cfg))
			rc = mrl_err_set(err, MRL_EUNSUPPORTED, "task '%s' writes each choice into its context "
					 "(\"choice_in_context\"), which --chat-multiple-choice does not score; leave the option "
					 "out or select other tasks (--tasks)", task_id(u.task));
		for (size_t j = 0; !rc && j < p.n_choices; j++)
			rc = mc_choice_fits(cfg, &p, &u, j, n_pos, &n_ctx, err);
		task_mc_plan_release(&p);
	}
	return rc;
}

/* The record of a scored item: choices, logprobs, work, the plan's metrics, timings
 * (t[0] start, t[1] and t[2] around the scoring: its share of a window's, when
 * scored with others; total = t[2] - t[0] plus the record's own time) and the
 * prompt. 0 or MRL_ENOMEM. */
static int mc_record(const struct hrn_run_cfg *cfg, const struct task_mc_plan *p, const struct mc_unit *u,
		     const struct hrn_score_batch *b, const uint64_t t[3], struct rec_item *out)
{
	const uint64_t t_rec = met_now_ns();
	const size_t nc = p->n_choices, k = b->top_k;
	struct task_choice_score *cs = calloc(nc ? nc : 1, sizeof *cs);
	int rc = cs ? rec_item_init(out, u->task, u->item, u->lang) : MRL_ENOMEM;
	if (rc || (rc = rec_item_set_breakdown(out, u->breakdown)))
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
		rc = rec_item_add_timing(out, "total", (int64_t)(t[2] - t[0] + (t_end - t_rec)));
	if (!rc)
		rc = rec_item_set_prompt(out, p->prompt);
	if (!rc)
		rc = hrn_run_mc_texts(out, p); /* context, continuations, gold_text, pred_text */
out:
	free(cs);
	return rc;
}

/* One item on its way: its plan, tokens, requests and results. */
struct mc_item {
	struct mc_unit u;
	struct task_mc_plan p;
	struct mc_tokens tk;
	struct hrn_score_batch b;
	uint64_t t[3];
	bool planned;
};

static void mc_item_release(struct mc_item *it)
{
	hrn_score_batch_release(&it->b);
	mc_tokens_release(&it->tk);
	if (it->planned)
		task_mc_plan_release(&it->p);
	memset(it, 0, sizeof *it);
}

/* Plan, tokenize and lay out the requests of item item_idx (t[0] and t[1] set). */
static int mc_prepare(const struct hrn_run_cfg *cfg, const struct task_task *t, size_t item_idx, const char *lang,
		      struct mc_item *it, struct mrl_err *err)
{
	it->t[0] = met_now_ns();
	it->u = (struct mc_unit){ task_id(t), task_item_id(task_item_at(t, item_idx)), lang,
				  task_breakdown_value(t, task_item_at(t, item_idx), lang) };
	int rc = hrn_run_mc_plan(cfg, t, item_idx, lang, &it->p, err);
	if (rc)
		return rc;
	it->planned = true;
	if ((rc = hrn_score_batch_init(&it->b, 2 * it->p.n_choices, cfg->store_logprobs ? cfg->store_topk : 0, err)) ||
	    (rc = mc_context(cfg, &it->p, &it->u, &it->tk, err)) ||
	    (rc = mc_requests(cfg, &it->p, &it->u, &it->tk, &it->b, err)) || (rc = hrn_score_batch_alloc(&it->b, err)))
		return rc;
	it->t[1] = met_now_ns();
	return 0;
}

int hrn_run_mc_item(const struct hrn_run_cfg *cfg, const struct task_task *t, size_t item_idx, const char *lang,
		    struct rec_item *out, struct mrl_err *err)
{
	struct mc_item it = { 0 };
	int rc = mc_prepare(cfg, t, item_idx, lang, &it, err);
	if (rc)
		goto out;
	if ((rc = hrn_run_score(cfg, &it.b, err))) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s): scoring failed", it.u.task, it.u.item, lang);
		goto out;
	}
	it.t[2] = met_now_ns();
	if ((rc = mc_record(cfg, &it.p, &it.u, &it.b, it.t, out))) {
		rec_item_release(out);
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
out:
	mc_item_release(&it);
	return rc;
}

/* The requests of the items at idx[0..n) in one eng_score_batch call; each item's results
 * and work back into its batch, its t[2] its share of the call's time. */
static int mc_score_group(const struct hrn_run_cfg *cfg, struct mc_item *items, const size_t *idx, size_t n,
			  struct mrl_err *err)
{
	size_t n_reqs = 0;
	for (size_t i = 0; i < n; i++)
		n_reqs += items[idx[i]].b.n;
	struct eng_score_req *reqs = malloc((n_reqs ? n_reqs : 1) * sizeof *reqs);
	struct eng_score_res *res = malloc((n_reqs ? n_reqs : 1) * sizeof *res);
	struct eng_score_topk *topk = malloc((n_reqs ? n_reqs : 1) * sizeof *topk);
	size_t *group = malloc(n * sizeof *group);
	struct eng_score_stats *work = malloc(n * sizeof *work);
	int rc = 0;
	if (!reqs || !res || !topk || !group || !work) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	const size_t k = items[idx[0]].b.top_k;
	for (size_t i = 0, at = 0; i < n; at += group[i++]) {
		const struct hrn_score_batch *b = &items[idx[i]].b;
		group[i] = b->n;
		memcpy(reqs + at, b->reqs, group[i] * sizeof *reqs);
		memcpy(res + at, b->res, group[i] * sizeof *res);
		memcpy(topk + at, b->topk, group[i] * sizeof *topk);
	}
	const uint64_t t0 = met_now_ns();
	if ((rc = eng_score_batch(cfg->ctx, reqs, group, n, res, k, k ? topk : NULL, work, err))) {
		mrl_err_prefix(err, "task '%s' items '%s'..'%s' (%s): scoring failed", items[idx[0]].u.task,
			       items[idx[0]].u.item, items[idx[n - 1]].u.item, items[idx[0]].u.lang);
		goto out;
	}
	const uint64_t share = (met_now_ns() - t0) / n;
	for (size_t i = 0, at = 0; i < n; at += group[i++]) {
		struct mc_item *it = &items[idx[i]];
		memcpy(it->b.res, res + at, group[i] * sizeof *res);
		it->b.work = work[i];
		it->t[2] = it->t[1] + share;
	}
out:
	free(reqs);
	free(res);
	free(topk);
	free(group);
	free(work);
	return rc;
}

/* The items[0..n) of a window (item-major: each item in each of its languages), scored one
 * language at a time, so that each call's time belongs to one language: its items share it
 * equally. One call for the whole window had given every language the same time an item,
 * and throughput figures per language that were the tokens' share, not their cost (Cyrillic
 * items, which take more tokens, came out the fastest). Results do not depend on how the
 * items are grouped (eng_score_batch computes each request as alone). */
static int mc_score_window(const struct hrn_run_cfg *cfg, struct mc_item *items, size_t n, struct mrl_err *err)
{
	size_t *idx = malloc(n * sizeof *idx);
	bool *taken = calloc(n, sizeof *taken);
	int rc = idx && taken ? 0 : mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t first = 0; !rc && first < n; first++) {
		if (taken[first])
			continue;
		size_t m = 0;
		for (size_t i = first; i < n; i++)
			if (!taken[i] && !strcmp(items[i].u.lang, items[first].u.lang))
				idx[m++] = i, taken[i] = true;
		rc = mc_score_group(cfg, items, idx, m, err);
	}
	free(idx);
	free(taken);
	return rc;
}

int hrn_run_mc_window(const struct hrn_run_cfg *cfg, struct hrn_units *units, const struct hrn_unit *first,
		      size_t room, size_t *n_done, struct mrl_err *err)
{
	/* --batch N items a call in each language run (mc_score_window) */
	size_t n_langs = 0;
	for (size_t li = 0; li < task_n_languages(first->task); li++)
		n_langs += hrn_run_lang_selected(cfg, task_language(first->task, li));
	const size_t per_window = cfg->score_window * (n_langs ? n_langs : 1);
	const size_t cap = room < per_window ? room : per_window;
	struct mc_item *items = calloc(cap ? cap : 1, sizeof *items);
	struct hrn_unit u = *first;
	size_t n = 0;
	*n_done = 0;
	int rc = items ? 0 : mrl_err_set(err, MRL_ENOMEM, "out of memory");
	int rc_prep = 0;
	/* the window: this unit and the next ones not done yet, up to cap; an item
	 * that cannot be prepared ends it, after the ones before it are written */
	for (bool more = items != NULL; more;) {
		if ((rc_prep = mc_prepare(cfg, u.task, u.item_idx, u.lang, &items[n], err))) {
			mc_item_release(&items[n]);
			break;
		}
		n++;
		more = false;
		while (n < cap && !more && hrn_units_next(units, &u))
			more = !cfg->done || !rec_done_set_has(cfg->done, task_id(u.task), task_item_id(u.item), u.lang);
	}
	struct mrl_err err_prep = *err;
	if (n && (rc = mc_score_window(cfg, items, n, err)))
		goto out;
	for (size_t i = 0; i < n && !rc; i++) {
		struct rec_item rec = { 0 };
		if ((rc = mc_record(cfg, &items[i].p, &items[i].u, &items[i].b, items[i].t, &rec)))
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		else
			rc = rec_item_writer_add(cfg->writer, &rec, err);
		rec_item_release(&rec);
		*n_done += !rc;
	}
	if (!rc && rc_prep) {
		rc = rc_prep;
		*err = err_prep;
	}
out:
	for (size_t i = 0; i < n; i++)
		mc_item_release(&items[i]);
	free(items);
	return rc;
}
