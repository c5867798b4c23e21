/* plan.c — the evaluation plan of an item: few-shot draw, prompt, context/continuation
 * split, start token, truncation and windows (tasks/plan.h says what a plan holds).
 *
 * Everything here is a rule of the evaluation, decided before any token exists:
 * the same plan is what `merilo run` scores and what it prints into prompts/.
 * The few-shot draw for item index i uses stream i of the seed, so it does not depend
 * on the order items are run in, on --limit or on a resume.
 */
#include "tasks/plan.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/buf.h"
#include "common/rng.h"

int32_t task_start_token(enum task_start rule, int32_t bos_id, int32_t eos_id)
{
	switch (rule) {
	case TASK_START_BOS:
		return bos_id >= 0 ? bos_id : -1;
	case TASK_START_BOS_ELSE_EOS:
		return bos_id >= 0 ? bos_id : (eos_id >= 0 ? eos_id : -1);
	case TASK_START_EOS_ELSE_BOS:
		return eos_id >= 0 ? eos_id : (bos_id >= 0 ? bos_id : -1);
	default:
		return -1;
	}
}

int task_truncate_keep(enum task_truncate rule, size_t n_ctx, size_t n_cont, size_t n_pos, size_t *keep)
{
	(void)rule; /* TASK_TRUNCATE_LEFT is the only rule */
	if (n_cont >= n_pos)
		return -1;
	const size_t room = n_pos + 1 - n_cont;
	*keep = n_ctx <= room ? n_ctx : room;
	return 0;
}

size_t task_ppl_windows(size_t n, size_t window, size_t stride, size_t *ctx_begin, size_t *begin, size_t *end)
{
	if (window < 1)
		return 0;
	if (stride < 1 || stride > window)
		stride = window;
	size_t p = 0, nw = 0; /* p: the last predicted index of start ++ tokens */
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

/* ---- few-shot ---- */

void task_plan_fewshot(const struct task_task *t, const struct task_plan_opts *o, struct task_fewshot *out)
{
	struct task_fewshot fs;
	task_fewshot(t, &fs);
	*out = (struct task_fewshot){
		.has = true,
		.k = o->fewshot_k >= 0 ? o->fewshot_k : (fs.has ? fs.k : 0),
		.seed = fs.has ? fs.seed : o->seed,
		.source = fs.has && fs.source ? fs.source : (task_n_pool(t) > 0 ? "pool" : "items"),
		.delimiter = fs.has && fs.delimiter ? fs.delimiter : "\n\n",
		.match = fs.has ? fs.match : NULL,
		.first = fs.has && fs.first,
	};
}

static const struct task_item *shot_item(const struct task_task *t, bool from_pool, size_t i)
{
	return from_pool ? task_pool_at(t, i) : task_item_at(t, i);
}

/* The refusal of a k-shot draw for item it that finds only n_cand candidates. */
static int too_few_shots(const struct task_task *t, const char *lang, const struct task_fewshot *r, bool from_pool,
			 const struct task_item *it, size_t li, size_t n_cand, struct mrl_err *err)
{
	const char *value = r->match && it ? task_item_field(it, li, r->match) : NULL;
	char same[300] = "";
	if (r->match)
		snprintf(same, sizeof same, " with %s \"%.200s\" (item %s)", r->match, value ? value : "",
			 it ? task_item_id(it) : "?");
	return mrl_err_set(err, MRL_EINPUT, "task '%s' (%s): %d-shot needs %d examples, %s %zu in this language%s",
			   task_id(t), lang, r->k, r->k, from_pool ? "the pool has" : "the task's other items have", n_cand,
			   same);
}

/* The candidates for item item_idx in language li: the pool's items (or the task's
 * other items) having the language and, with r->match, the item's value of that
 * field; into cand (room for the source's size), their count returned. */
static size_t shot_candidates(const struct task_task *t, size_t item_idx, size_t li, const struct task_fewshot *r,
			      size_t *cand)
{
	const bool from_pool = !strcmp(r->source, "pool");
	const size_t n_src = from_pool ? task_n_pool(t) : task_n_items(t);
	const char *want = r->match ? task_item_field(task_item_at(t, item_idx), li, r->match) : NULL;
	size_t n_cand = 0;
	if (r->match && !want)
		return 0; /* the item has no such field: nothing shares it */
	for (size_t i = 0; i < n_src; i++) {
		const struct task_item *c = shot_item(t, from_pool, i);
		if ((from_pool || i != item_idx) && task_item_has(c, li)) {
			const char *v = want ? task_item_field(c, li, r->match) : NULL;
			if (!want || (v && !strcmp(v, want)))
				cand[n_cand++] = i;
		}
	}
	return n_cand;
}

/* Draw p->shots for item item_idx in language li: p->n_shots distinct candidates
 * (shot_candidates), the first k in source order (order "first") or a random draw
 * with stream item_idx of r->seed. */
static int draw_shots(const struct task_task *t, size_t item_idx, const char *lang, size_t li,
		      const struct task_fewshot *r, struct task_mc_plan *p, struct mrl_err *err)
{
	const bool from_pool = !strcmp(r->source, "pool");
	const size_t n_src = from_pool ? task_n_pool(t) : task_n_items(t);
	size_t *cand = malloc((n_src + 1) * sizeof *cand);
	if (!cand)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	size_t n_cand = shot_candidates(t, item_idx, li, r, cand);
	if (n_cand < (size_t)r->k) {
		free(cand);
		return too_few_shots(t, lang, r, from_pool, task_item_at(t, item_idx), li, n_cand, err);
	}
	struct mrl_rng rng;
	mrl_rng_seed_stream(&rng, r->seed, item_idx);
	for (size_t j = 0; !r->first && j < (size_t)r->k; j++) {
		/* partial Fisher-Yates: cand[0..k) becomes a uniform draw without replacement */
		size_t pick = j + (size_t)mrl_rng_below(&rng, n_cand - j), tmp = cand[j];
		cand[j] = cand[pick];
		cand[pick] = tmp;
	}
	p->shots = cand;
	p->n_shots = (size_t)r->k;
	p->shots_from_pool = from_pool;
	return 0;
}

int task_fewshot_check(const struct task_task *t, const char *lang, const struct task_plan_opts *o,
		       struct mrl_err *err)
{
	struct task_fewshot r;
	task_plan_fewshot(t, o, &r);
	const int li = task_language_index(t, lang);
	if (task_type(t) == TASK_PERPLEXITY || r.k <= 0 || li < 0)
		return 0; /* nothing is drawn */
	const bool from_pool = !strcmp(r.source, "pool");
	const size_t n_src = from_pool ? task_n_pool(t) : task_n_items(t);
	if (r.match) { /* each item has its own candidates: the first item short of k is named */
		size_t *cand = malloc((n_src + 1) * sizeof *cand);
		int rc = cand ? 0 : mrl_err_set(err, MRL_ENOMEM, "out of memory");
		for (size_t i = 0; !rc && i < task_n_items(t); i++) {
			size_t n_cand;
			if (task_item_has(task_item_at(t, i), (size_t)li) &&
			    (n_cand = shot_candidates(t, i, (size_t)li, &r, cand)) < (size_t)r.k)
				rc = too_few_shots(t, lang, &r, from_pool, task_item_at(t, i), (size_t)li, n_cand, err);
		}
		free(cand);
		return rc;
	}
	size_t n_have = 0;
	for (size_t i = 0; i < n_src; i++)
		n_have += task_item_has(shot_item(t, from_pool, i), (size_t)li);
	/* an item having lang draws from the task's other items: one fewer */
	const size_t n_cand = from_pool || !n_have ? n_have : n_have - 1;
	return n_cand < (size_t)r.k ? too_few_shots(t, lang, &r, from_pool, NULL, (size_t)li, n_cand, err) : 0;
}

/* The few-shot examples of p->shots, each as context + target delimiter + gold choice +
 * delimiter, onto b. */
static int write_shots(const struct task_task *t, const char *lang, const struct task_fewshot *r,
		       const struct task_mc_plan *p, struct mrl_buf *b, struct mrl_err *err)
{
	for (size_t j = 0; j < p->n_shots; j++) {
		const struct task_item *ex = shot_item(t, p->shots_from_pool, p->shots[j]);
		struct task_prompt ep = { 0 };
		int rc = task_render(t, ex, lang, &ep, err);
		if (rc) {
			mrl_err_prefix(err, "task '%s' few-shot example '%s' (%s)", task_id(t), task_item_id(ex), lang);
			return rc;
		}
		mrl_buf_add(b, ep.context);
		/* the gold choice, or a generate example's first reference answer */
		const int answer = ep.gold >= 0 ? ep.gold : task_type(t) == TASK_GENERATE && ep.n_choices ? 0 : -1;
		if (answer >= 0 && (size_t)answer < ep.n_choices) {
			mrl_buf_add(b, ep.target_delimiter ? ep.target_delimiter : " ");
			mrl_buf_add(b, ep.choices[answer]);
		}
		mrl_buf_add(b, r->delimiter);
		task_prompt_release(&ep);
	}
	return 0;
}

/* p->prompt: the description (NULL: none), the few-shot examples, then context (the
 * item's rendered context); p->description_len the description's bytes. */
static int build_prompt(const struct task_task *t, size_t item_idx, const char *lang, const char *description,
			const char *context, const struct task_plan_opts *o, struct task_mc_plan *p,
			struct mrl_err *err)
{
	struct task_fewshot r;
	task_plan_fewshot(t, o, &r);
	struct mrl_buf b;
	int rc = 0;
	if (r.k > 0) {
		const int li = task_language_index(t, lang);
		if (li < 0)
			return mrl_err_set(err, MRL_EINPUT, "task '%s': no language '%s'", task_id(t), lang);
		if ((rc = draw_shots(t, item_idx, lang, (size_t)li, &r, p, err)))
			return rc;
	}
	mrl_buf_init(&b);
	if (description)
		mrl_buf_add(&b, description);
	p->description_len = description ? strlen(description) : 0;
	if (!(rc = write_shots(t, lang, &r, p, &b, err))) {
		mrl_buf_add(&b, context);
		if (!(p->prompt = mrl_buf_detach(&b, NULL)))
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
	mrl_buf_release(&b);
	return rc;
}

/* ---- multiple choice ---- */

void task_mc_plan_init(struct task_mc_plan *p)
{
	memset(p, 0, sizeof *p);
	p->gold = -1;
}

void task_mc_plan_release(struct task_mc_plan *p)
{
	if (!p)
		return;
	for (size_t j = 0; p->choices && j < p->n_choices; j++)
		free(p->choices[j].text);
	free(p->choices);
	free(p->shots);
	free(p->prompt);
	task_mc_plan_init(p);
}

static bool lists_mutual_info(const struct task_task *t)
{
	for (size_t i = 0; i < task_n_metrics(t); i++)
		if (!strcmp(task_metric(t, i), "acc_mutual_info"))
			return true;
	return false;
}

const char *task_start_token_use(const struct task_task *t)
{
	if (task_type(t) == TASK_PERPLEXITY) /* task_ppl_plan: BOS else EOS, or EOS else BOS */
		return "perplexity";
	return task_type(t) == TASK_MULTIPLE_CHOICE && lists_mutual_info(t) ? "acc_mutual_info" : NULL; /* set_rules */
}

/* The metrics of t: acc, acc_norm and acc_bytes always; acc_mutual_info where listed. */
static void set_rules(const struct task_task *t, struct task_mc_plan *p)
{
	p->mutual_info = lists_mutual_info(t);
	for (int r = 0; r < TASK_MC_N_RULES; r++)
		if (r != TASK_MC_ACC_MUTUAL_INFO || p->mutual_info)
			p->rules[p->n_rules++] = (enum task_mc_rule)r;
	p->neutral = TASK_START_BOS_ELSE_EOS;
}

/* p->choices from the rendered choices: prompt + delimiter + choice each. Where each
 * choice has its own context (choice_in_context), the few-shot examples of the prompt,
 * that choice's context, the delimiter and the shared continuation. */
static int split_choices(const struct task_prompt *rp, struct task_mc_plan *p, struct mrl_err *err)
{
	const char *delim = rp->target_delimiter ? rp->target_delimiter : " ";
	const size_t len = strlen(p->prompt), dl = strlen(delim), shots = len - strlen(rp->context);
	p->context_len = len - task_trailing_space(p->prompt, len);
	p->choice_in_context = rp->contexts != NULL;
	if (rp->n_choices && !(p->choices = calloc(rp->n_choices, sizeof *p->choices)))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t j = 0; j < rp->n_choices; j++) {
		struct task_mc_choice *c = &p->choices[j];
		const char *ctx = rp->contexts ? rp->contexts[j] : p->prompt + shots;
		const size_t cl = strlen(rp->choices[j]), xl = strlen(ctx), head = shots + xl;
		if (!(c->text = malloc(head + dl + cl + 1)))
			return mrl_err_set(err, MRL_ENOMEM, "out of memory");
		p->n_choices = j + 1;
		/* prompt + delimiter + choice: the same string however the whitespace is split */
		memcpy(c->text, p->prompt, shots);
		memcpy(c->text + shots, ctx, xl);
		memcpy(c->text + head, delim, dl);
		memcpy(c->text + head + dl, rp->choices[j], cl + 1);
		c->context_len = head - task_trailing_space(c->text, head);
		c->choice_at = head + dl;
		c->n_chars = task_utf8_chars(rp->choices[j], cl);
		c->n_bytes = (int64_t)cl;
	}
	return 0;
}

int task_mc_plan(const struct task_task *t, size_t item_idx, const char *lang, const struct task_plan_opts *o,
		 struct task_mc_plan *p, struct mrl_err *err)
{
	const struct task_item *it = task_item_at(t, item_idx);
	struct task_prompt rp = { 0 };
	task_mc_plan_init(p);
	int rc = task_render(t, it, lang, &rp, err);
	if (rc) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s): cannot render", task_id(t), task_item_id(it), lang);
		return rc;
	}
	if ((rc = build_prompt(t, item_idx, lang, rp.description, rp.context, o, p, err)) ||
	    (rc = split_choices(&rp, p, err)))
		goto out;
	p->gold = rp.gold;
	p->start = o->add_bos ? TASK_START_BOS : TASK_START_NONE;
	p->start_if_empty = TASK_START_BOS_ELSE_EOS;
	p->truncate = TASK_TRUNCATE_LEFT;
	set_rules(t, p);
out:
	task_prompt_release(&rp);
	if (rc)
		task_mc_plan_release(p);
	return rc;
}

/* ---- perplexity ---- */

void task_ppl_plan_init(struct task_ppl_plan *p)
{
	memset(p, 0, sizeof *p);
}

void task_ppl_plan_release(struct task_ppl_plan *p)
{
	if (!p)
		return;
	free(p->text);
	task_ppl_plan_init(p);
}

int task_ppl_plan(const struct task_task *t, size_t item_idx, const char *lang, const struct task_plan_opts *o,
		  struct task_ppl_plan *p, struct mrl_err *err)
{
	const struct task_item *it = task_item_at(t, item_idx);
	struct task_prompt rp = { 0 };
	task_ppl_plan_init(p);
	int rc = task_render(t, it, lang, &rp, err);
	if (rc) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s): cannot render", task_id(t), task_item_id(it), lang);
		return rc;
	}
	if ((rc = task_text_count(rp.context, strlen(rp.context), &p->counts, err))) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s): text", task_id(t), task_item_id(it), lang);
		task_prompt_release(&rp);
		return rc;
	}
	p->text = rp.context; /* taken over from the rendered prompt */
	rp.context = NULL;
	task_prompt_release(&rp);
	p->start = o->add_bos ? TASK_START_BOS_ELSE_EOS : TASK_START_EOS_ELSE_BOS;
	p->window = (size_t)task_window(t);
	p->stride = (size_t)task_stride(t);
	return 0;
}

/* ---- generation ---- */

void task_gen_plan_init(struct task_gen_plan *p)
{
	memset(p, 0, sizeof *p);
}

void task_gen_plan_release(struct task_gen_plan *p)
{
	if (!p)
		return;
	for (size_t j = 0; p->refs && j < p->n_refs; j++)
		free(p->refs[j]);
	free(p->refs);
	free(p->shots);
	free(p->prompt);
	task_gen_plan_init(p);
}

int task_gen_plan(const struct task_task *t, size_t item_idx, const char *lang, const struct task_plan_opts *o,
		  struct task_gen_plan *p, struct mrl_err *err)
{
	const struct task_item *it = task_item_at(t, item_idx);
	struct task_prompt rp = { 0 };
	struct task_mc_plan shots; /* build_prompt's few-shot draw and prompt */
	task_gen_plan_init(p);
	task_mc_plan_init(&shots);
	int rc = task_render(t, it, lang, &rp, err);
	if (rc) {
		mrl_err_prefix(err, "task '%s' item '%s' (%s): cannot render", task_id(t), task_item_id(it), lang);
		return rc;
	}
	if ((rc = build_prompt(t, item_idx, lang, rp.description, rp.context, o, &shots, err)))
		goto out;
	p->prompt = shots.prompt, shots.prompt = NULL;
	p->description_len = shots.description_len;
	p->shots = shots.shots, shots.shots = NULL;
	p->n_shots = shots.n_shots;
	p->shots_from_pool = shots.shots_from_pool;
	p->refs = rp.choices, rp.choices = NULL;
	p->n_refs = rp.n_choices, rp.n_choices = 0;
	p->start = o->add_bos ? TASK_START_BOS : TASK_START_NONE;
	p->truncate = TASK_TRUNCATE_LEFT;
	p->n_until = task_gen_n_until(t, lang);
	p->max_tokens = task_gen_max_tokens(t);
	p->expect_script = task_gen_expect_script(t, lang);
	p->expect_language = task_gen_expect_language(t, lang);
	if (!p->n_refs)
		rc = mrl_err_set(err, MRL_EINPUT, "task '%s' item '%s' (%s): no reference answer", task_id(t),
				 task_item_id(it), lang);
out:
	task_mc_plan_release(&shots);
	task_prompt_release(&rp);
	if (rc)
		task_gen_plan_release(p);
	return rc;
}
