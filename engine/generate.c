/* generate.c — eng_generate: text generation for a list of requests, several
 * sequences decoded together.
 *
 * The idea: up to n_batch requests occupy slots; each step is ONE forward call
 * (step_forward) that carries, for every active slot, either the part of its
 * prompt not yet cached or its last generated token, and returns one row of
 * logits per slot. A slot that finishes takes the next waiting request at the
 * next step (continuous batching). A new request first reuses the longest
 * prefix of its prompt that some slot already holds in its cache (a few-shot
 * preamble shared by the items of a task is computed once): the cache rows are
 * copied, never recomputed, and the last prompt token is always computed so
 * its logits are at hand. When a slot that is being filled this very step
 * would share more than what is cached anywhere, the request waits one step.
 *
 * Determinism: the forward pass computes every token the same way whatever
 * else is in its batch (docs/engine.md), and a copied prefix holds the bits
 * that computing it again would give, so a request's logits, hence its greedy
 * tokens, do not depend on the batch. Sampling draws from the request's own
 * generator, mrl_rng_seed_stream(seed, rng_stream) (common/rng.h: xoshiro256**).
 *
 * Contexts: one multi-sequence context (eng_ctx_new_multi, n_slots sequences).
 * A backend that runs one sequence per context (MRL_EUNSUPPORTED) gets one
 * context per slot instead; the step is then one eng_decode per slot, with the
 * same results, and prefix reuse only from the slot's own previous request.
 *
 * Text: the generated ids are detokenized incrementally with eng_detokenize's
 * rules (the leading-space drop applies once, at the first non-control token),
 * and stop strings are searched for in the bytes each new token adds plus the
 * stop length - 1 bytes before them, so a stop string split over tokens, or a
 * UTF-8 character split over byte tokens, is found when its last byte arrives.
 */
#include "engine/eng_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/buf.h"
#include "common/rng.h"
#include "engine/cpu/vmath.h"
#include "engine/gen_int.h"
#include "engine/vocab.h"

#define GEN_DEFAULT_BATCH 8
#define GEN_MAX_BATCH 256
#define GEN_NO_REQ SIZE_MAX

const char *eng_gen_stop_name(enum eng_gen_stop s)
{
	switch (s) {
	case ENG_GEN_STOP_MAX_TOKENS:
		return "max_tokens";
	case ENG_GEN_STOP_EOS:
		return "eos";
	case ENG_GEN_STOP_STRING:
		return "stop";
	case ENG_GEN_STOP_CTX_FULL:
		return "ctx_full";
	case ENG_GEN_STOP_INTERRUPTED:
		return "interrupted";
	}
	return "?";
}

void eng_gen_res_release(struct eng_gen_res *r)
{
	if (!r)
		return;
	free(r->ids);
	free(r->text);
	*r = (struct eng_gen_res){ .stop_index = -1 };
}

/* ---- sampling ---- */

struct cand {
	int32_t id;
	double w; /* scaled logit, then probability weight */
};

/* Higher weight first, ties to the lower id. */
static int cand_cmp(const void *pa, const void *pb)
{
	const struct cand *a = pa, *b = pb;
	if (a->w != b->w)
		return a->w > b->w ? -1 : 1;
	return (a->id > b->id) - (a->id < b->id);
}

/* The k best of n candidates into c[0..k), best first (insertion into a sorted
 * run: fine for the small k top-k sampling uses; n log n when k is large). */
static size_t keep_top_k(struct cand *c, size_t n, size_t k)
{
	if (k >= n)
		return n;
	if (k > 256) {
		qsort(c, n, sizeof *c, cand_cmp);
		return k;
	}
	size_t have = 0;
	for (size_t i = 0; i < n; i++) {
		struct cand x = c[i];
		if (have == k && cand_cmp(&x, &c[k - 1]) >= 0)
			continue;
		size_t j = have < k ? have++ : k - 1;
		while (j > 0 && cand_cmp(&x, &c[j - 1]) < 0) {
			c[j] = c[j - 1];
			j--;
		}
		c[j] = x;
	}
	return k;
}

/* One token from a row of logits: greedy, or temperature -> top-k -> softmax ->
 * top-p -> one uniform draw over the cumulative weights (the order of HF
 * transformers' warpers). cands: n_vocab entries of scratch. */
static int32_t sample_row(const float *logits, uint32_t n_vocab, const struct eng_gen_opts *o, struct mrl_rng *rng,
			  struct cand *cands)
{
	if (!(o->temperature > 0.0f)) { /* greedy: the first of the largest logits */
		size_t best;
		eng_row_max(logits, n_vocab, &best);
		return (int32_t)best;
	}
	const double inv_t = 1.0 / (double)o->temperature;
	size_t n = n_vocab;
	for (uint32_t i = 0; i < n_vocab; i++)
		cands[i] = (struct cand){ (int32_t)i, (double)logits[i] * inv_t };
	bool sorted = false;
	if (o->top_k > 0 && o->top_k < n) {
		n = keep_top_k(cands, n, o->top_k);
		sorted = true;
	}
	double max = cands[0].w;
	for (size_t i = 1; i < n; i++)
		if (cands[i].w > max)
			max = cands[i].w;
	double sum = 0.0;
	for (size_t i = 0; i < n; i++) {
		cands[i].w = exp(cands[i].w - max);
		sum += cands[i].w;
	}
	if (o->top_p > 0.0f && o->top_p < 1.0f) {
		if (!sorted)
			qsort(cands, n, sizeof *cands, cand_cmp);
		/* the smallest best-first run whose mass reaches top_p */
		const double want = (double)o->top_p * sum;
		double cum = 0.0;
		size_t keep = 0;
		while (keep < n && cum < want)
			cum += cands[keep++].w;
		n = keep ? keep : 1;
		sum = cum > 0.0 ? cum : cands[0].w;
	}
	const double u = mrl_rng_uniform(rng) * sum;
	double cum = 0.0;
	for (size_t i = 0; i < n; i++) {
		cum += cands[i].w;
		if (u < cum)
			return cands[i].id;
	}
	return cands[n - 1].id;
}

/* ---- text ---- */

/* Length of text without an incomplete UTF-8 character at its end (a lead byte
 * followed by fewer continuation bytes than it announces). */
static size_t utf8_complete_len(const char *s, size_t len)
{
	size_t i = len;
	while (i > 0 && len - i < 3 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
		i--;
	if (i == 0)
		return len;
	const unsigned char lead = (unsigned char)s[i - 1];
	const size_t need = lead >= 0xF8 ? 1 : lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : lead >= 0xC0 ? 2 : 1;
	return len - (i - 1) < need ? i - 1 : len;
}

/* The decoded text of one request so far. */
struct gen_text {
	struct mrl_buf buf;
	int32_t anchor;        /* first generated non-control token, -1 before it */
	size_t anchor_len;     /* bytes its text alone has */
};

/* ---- the state of one call ---- */

struct gen_slot {
	size_t req;            /* request index, GEN_NO_REQ when free */
	int32_t *cache;        /* n_ctx: the tokens this slot's cache holds (what any request left) */
	uint32_t n_cache;
	uint32_t n_fed;        /* prompt tokens of the request in the cache */
	bool new_this_step;    /* its prompt is being computed in the current step */
	int32_t next;          /* the last generated token, to be fed */
	int32_t *ids;          /* generated ids */
	size_t n_ids;
	struct gen_text text;
	struct mrl_rng rng;
	size_t n_cached;       /* prompt tokens reused */
	size_t stop_from;      /* stop strings count from this byte of the text on: 0, or after the
				* request's stop_after; SIZE_MAX while that has not come */
};

struct gen {
	struct eng_model *m;
	const struct eng_gen_req *reqs;
	size_t n_reqs;
	struct eng_gen_res *res;
	struct eng_gen_opts o;
	uint32_t n_vocab, n_ctx, n_slots;
	struct eng_ctx *multi;  /* n_slots sequences, or NULL: */
	struct eng_ctx **single; /* one context per slot */
	struct gen_slot *slots;
	float *logits;          /* n_slots rows of n_vocab */
	int32_t *b_tok;         /* batch assembly: n_slots * n_ctx */
	uint32_t *b_seq;
	bool *b_want;
	uint32_t *row_of;       /* n_slots: logits row of each active slot in a step */
	bool *eog;              /* n_vocab: ends a request (EOS/EOT, stop_ids) */
	struct cand *cands;
	struct eng_gen_stats stats;
	size_t n_finished;      /* requests whose result is complete */
	bool per_seq;           /* one context per slot even where multi-sequence contexts exist */
};

/* What ends a request: the vocabulary's end-of-generation ids (eng_vocab_eog_ids: for a
 * GGUF llama.cpp's; for a tokenizer.json EOS, the folder's generation config ids and the
 * chat formats' end-of-turn tokens; engine/vocab_special.c) unless ignore_eos, and the
 * caller's stop_ids. */
static void mark_eog(struct gen *g)
{
	const struct eng_vocab *v = eng_model_vocab(g->m);
	if (!g->o.ignore_eos && v) {
		size_t n_eog = 0;
		const int32_t *eog = eng_vocab_eog_ids(v, &n_eog);
		for (size_t i = 0; i < n_eog; i++)
			if ((uint32_t)eog[i] < g->n_vocab)
				g->eog[eog[i]] = true;
	}
	for (size_t i = 0; i < g->o.n_stop_ids; i++)
		if (g->o.stop_ids[i] >= 0 && (uint32_t)g->o.stop_ids[i] < g->n_vocab)
			g->eog[g->o.stop_ids[i]] = true;
}

static int check_requests(const struct gen *g, struct mrl_err *err)
{
	for (size_t i = 0; i < g->n_reqs; i++) {
		const struct eng_gen_req *r = &g->reqs[i];
		if (r->n_prompt == 0 || !r->prompt)
			return mrl_err_set(err, MRL_EINPUT, "generate: request %zu has an empty prompt", i);
		for (size_t j = 0; j < r->n_prompt; j++)
			if (r->prompt[j] < 0 || (uint32_t)r->prompt[j] >= g->n_vocab)
				return mrl_err_set(err, MRL_EINPUT, "generate: request %zu: prompt token %zu has id %" PRId32
						   ", outside the vocabulary (0..%" PRIu32 ")", i, j, r->prompt[j],
						   g->n_vocab - 1);
		for (size_t j = 0; j < r->n_stop; j++)
			if (!r->stop || !r->stop[j] || !r->stop[j][0])
				return mrl_err_set(err, MRL_EINPUT, "generate: request %zu: stop string %zu is empty", i, j);
	}
	const struct eng_gen_opts *o = &g->o;
	if (isnan(o->temperature) || isnan(o->top_p) || o->top_p < 0.0f)
		return mrl_err_set(err, MRL_EINPUT, "generate: temperature %g / top-p %g: not usable",
				   (double)o->temperature, (double)o->top_p);
	return 0;
}

/* Positions per sequence: the option, else the longest request, within the training context. */
static uint32_t pick_n_ctx(const struct gen *g, const struct eng_model_desc *d)
{
	if (g->o.n_ctx)
		return g->o.n_ctx;
	uint64_t cap = d->n_ctx_train ? d->n_ctx_train : (1u << 20), want = 1;
	for (size_t i = 0; i < g->n_reqs; i++) {
		const struct eng_gen_req *r = &g->reqs[i];
		uint64_t need = (uint64_t)r->n_prompt + (r->max_new_tokens < cap ? r->max_new_tokens : cap);
		if (need > want)
			want = need;
	}
	return (uint32_t)(want < cap ? want : cap);
}

/* ---- slots and the cache ---- */

static uint32_t common_prefix(const int32_t *a, size_t na, const int32_t *b, size_t nb)
{
	size_t n = na < nb ? na : nb, i = 0;
	while (i < n && a[i] == b[i])
		i++;
	return (uint32_t)i;
}

static bool slot_free(const struct gen_slot *sl)
{
	return sl->req == GEN_NO_REQ;
}

/* Where request r starts: into slot *dst, first reusing *keep cached tokens of slot
 * *src. The prefix is at most n_prompt - 1 (the last prompt token's logits are
 * computed). false when a slot filled in this step will hold a longer shared
 * prefix than any cache now: then r waits a step and copies it. Ties go to the
 * lower slot, so the choice depends only on what the slots hold. */
static bool plan_start(const struct gen *g, size_t r, uint32_t *dst, uint32_t *src, uint32_t *keep)
{
	const struct eng_gen_req *q = &g->reqs[r];
	const size_t cap = q->n_prompt - 1;
	uint32_t best = 0, best_src = UINT32_MAX, pending = 0, first_free = UINT32_MAX;
	for (uint32_t s = 0; s < g->n_slots; s++) {
		const struct gen_slot *sl = &g->slots[s];
		if (slot_free(sl) && first_free == UINT32_MAX)
			first_free = s;
		/* one context per slot: only a free slot's own cache can be reused */
		if (!g->multi && !slot_free(sl))
			continue;
		if (sl->new_this_step) {
			const struct eng_gen_req *o = &g->reqs[sl->req];
			uint32_t l = common_prefix(o->prompt, o->n_prompt, q->prompt, cap);
			if (l > pending)
				pending = l;
			continue;
		}
		uint32_t l = common_prefix(sl->cache, sl->n_cache, q->prompt, cap);
		if (l > best || best_src == UINT32_MAX) {
			best = l;
			best_src = s;
		}
	}
	if (pending > best)
		return false;
	if (best == 0)
		best_src = UINT32_MAX; /* nothing shared: start afresh in the first free slot */
	*keep = best;
	*src = best_src;
	*dst = best_src != UINT32_MAX && slot_free(&g->slots[best_src]) ? best_src : first_free;
	if (best_src == UINT32_MAX)
		*src = *dst;
	return true;
}

/* Make slot dst's cache hold the first keep tokens of slot src's. */
static int cache_reuse(struct gen *g, uint32_t src, uint32_t dst, uint32_t keep, struct mrl_err *err)
{
	struct gen_slot *d = &g->slots[dst];
	if (g->multi) {
		int rc = eng_seq_copy(g->multi, src, dst, keep, err);
		if (rc)
			return rc;
	} else {
		eng_ctx_truncate(g->single[dst], keep);
	}
	if (src != dst)
		memcpy(d->cache, g->slots[src].cache, keep * sizeof *d->cache);
	d->n_cache = keep;
	return 0;
}

static struct eng_gen_res *res_of(struct gen *g, const struct gen_slot *sl)
{
	return &g->res[sl->req];
}

/* A request that ends before any forward: nothing to generate, or a prompt past n_ctx. */
static int finish_at_once(struct gen *g, size_t r, struct mrl_err *err)
{
	const struct eng_gen_req *q = &g->reqs[r];
	struct eng_gen_res *res = &g->res[r];
	if (q->max_new_tokens == 0)
		res->stop = ENG_GEN_STOP_MAX_TOKENS;
	else if (q->n_prompt > g->n_ctx)
		res->stop = ENG_GEN_STOP_CTX_FULL;
	else
		return 0;
	if (!(res->text = calloc(1, 1)))
		return mrl_err_set(err, MRL_ENOMEM, "generate: out of memory");
	g->n_finished++;
	if (g->o.on_done)
		g->o.on_done(g->o.user, r, res);
	return 1;
}

static int slot_start(struct gen *g, size_t r, uint32_t dst, uint32_t src, uint32_t keep, struct mrl_err *err)
{
	const struct eng_gen_req *q = &g->reqs[r];
	struct gen_slot *sl = &g->slots[dst];
	int rc = cache_reuse(g, src, dst, keep, err);
	if (rc)
		return rc;
	size_t room = (size_t)g->n_ctx - q->n_prompt + 1;
	size_t cap = q->max_new_tokens < room ? q->max_new_tokens : room;
	free(sl->ids);
	if (!(sl->ids = malloc(cap * sizeof *sl->ids)))
		return mrl_err_set(err, MRL_ENOMEM, "generate: out of memory for %zu tokens", cap);
	sl->req = r;
	sl->n_ids = 0;
	sl->n_fed = keep;
	sl->n_cached = keep;
	sl->new_this_step = true;
	sl->text.anchor = -1;
	sl->text.anchor_len = 0;
	sl->stop_from = q->stop_after && *q->stop_after ? SIZE_MAX : 0;
	mrl_buf_reset(&sl->text.buf);
	mrl_rng_seed_stream(&sl->rng, g->o.seed, q->rng_stream);
	g->stats.n_prompt_cached += keep;
	g->stats.n_prompt_computed += q->n_prompt - keep;
	return 0;
}

/* Hand the slot's ids and text to its result and free the slot (its cache stays
 * for later requests to share). 1, or MRL_ENOMEM when the text could not be kept. */
/* The slot's ids and text (up to a complete UTF-8 character) into its result, which
 * stops for why; the slot is free after it. Its request's index. */
static size_t slot_hand_over(struct gen *g, struct gen_slot *sl, enum eng_gen_stop why, int stop_index)
{
	struct eng_gen_res *res = res_of(g, sl);
	res->ids = sl->ids;
	res->n_ids = sl->n_ids;
	sl->ids = NULL;
	mrl_buf_setlen(&sl->text.buf, utf8_complete_len(sl->text.buf.data, sl->text.buf.len));
	res->text = mrl_buf_detach(&sl->text.buf, &res->text_len); /* NULL if out of memory */
	res->stop = why;
	res->stop_index = stop_index;
	res->n_cached = sl->n_cached;
	g->stats.n_generated += res->n_ids;
	const size_t r = sl->req;
	sl->req = GEN_NO_REQ;
	return r;
}

static int slot_finish(struct gen *g, struct gen_slot *sl, enum eng_gen_stop why, int stop_index,
		       struct mrl_err *err)
{
	const size_t r = slot_hand_over(g, sl, why, stop_index);
	const struct eng_gen_res *res = &g->res[r];
	if (!res->text)
		return mrl_err_set(err, MRL_ENOMEM, "generate: out of memory for the text");
	g->n_finished++;
	if (g->o.on_done)
		g->o.on_done(g->o.user, r, res);
	return 1;
}

/* On a stop request: every running slot's tokens and text so far to its result, as
 * ENG_GEN_STOP_INTERRUPTED (they were dropped; the request stays unfinished). */
static void slots_interrupted(struct gen *g)
{
	for (uint32_t s = 0; s < g->n_slots; s++)
		if (!slot_free(&g->slots[s]))
			slot_hand_over(g, &g->slots[s], ENG_GEN_STOP_INTERRUPTED, -1);
}

/* ---- text and stop strings ---- */

/* Append the text of tok: the first non-control token alone (eng_detokenize drops
 * its leading space where the vocabulary says so), later ones as the bytes they
 * add after that anchor token, which is what eng_detokenize of all ids gives. */
static int text_append(const struct eng_model *m, struct gen_text *tx, int32_t tok, struct mrl_err *err)
{
	const struct eng_vocab *v = eng_model_vocab(m);
	enum eng_token_type type = eng_vocab_token_type(v, tok);
	if (tx->anchor < 0 && (type == ENG_TOKEN_CONTROL || type == ENG_TOKEN_UNKNOWN))
		return 0;
	int32_t pair[2] = { tx->anchor, tok };
	const bool first = tx->anchor < 0;
	char *t = NULL;
	size_t len = 0;
	int rc = eng_detokenize(m, first ? pair + 1 : pair, first ? 1 : 2, &t, &len, err);
	if (rc)
		return rc;
	size_t skip = first ? 0 : tx->anchor_len;
	if (first) {
		tx->anchor = tok;
		tx->anchor_len = len;
	}
	if (len > skip)
		mrl_buf_addn(&tx->buf, t + skip, len - skip);
	free(t);
	return tx->buf.oom ? mrl_err_set(err, MRL_ENOMEM, "generate: out of memory for the text") : 0;
}

/* The first stop string that ends in the bytes after old_len and starts at min_start or
 * later: its index (its start into *at), or -1. The earliest start wins, then the lower index. */
static int find_stop(const char *const *stop, size_t n_stop, const struct mrl_buf *text, size_t old_len,
		     size_t min_start, size_t *at)
{
	int found = -1;
	for (size_t j = 0; j < n_stop; j++) {
		const size_t L = strlen(stop[j]);
		size_t from = old_len + 1 >= L ? old_len + 1 - L : 0;
		if (from < min_start)
			from = min_start;
		if (text->len < from + L)
			continue;
		const char *p = memmem(text->data + from, text->len - from, stop[j], L);
		if (p && (found < 0 || (size_t)(p - text->data) < *at)) {
			found = (int)j;
			*at = (size_t)(p - text->data);
		}
	}
	return found;
}

/* Take the token sampled for slot s: record it, then stop on EOS, a stop string,
 * max_new_tokens or a full context, else keep it to feed next step. */
static int slot_take(struct gen *g, struct gen_slot *sl, int32_t tok, struct mrl_err *err)
{
	const struct eng_gen_req *q = &g->reqs[sl->req];
	sl->ids[sl->n_ids++] = tok;
	if (g->eog[tok]) {
		return slot_finish(g, sl, ENG_GEN_STOP_EOS, -1, err);
	}
	const size_t old_len = sl->text.buf.len;
	int rc = text_append(g->m, &sl->text, tok, err);
	if (rc)
		return rc;
	if (sl->stop_from == SIZE_MAX) { /* the stop strings wait for stop_after (it may span tokens) */
		const char *const after[] = { q->stop_after };
		size_t a = 0;
		if (find_stop(after, 1, &sl->text.buf, old_len, 0, &a) == 0)
			sl->stop_from = a + strlen(q->stop_after);
	}
	size_t at = 0;
	int j = sl->stop_from == SIZE_MAX ? -1 : find_stop(q->stop, q->n_stop, &sl->text.buf, old_len, sl->stop_from, &at);
	if (j >= 0) {
		mrl_buf_setlen(&sl->text.buf, at);
		return slot_finish(g, sl, ENG_GEN_STOP_STRING, j, err);
	}
	if (sl->n_ids >= q->max_new_tokens) {
		return slot_finish(g, sl, ENG_GEN_STOP_MAX_TOKENS, -1, err);
	}
	/* feeding tok needs position n_prompt + n_ids - 1 < n_ctx */
	if (q->n_prompt + sl->n_ids > g->n_ctx) {
		return slot_finish(g, sl, ENG_GEN_STOP_CTX_FULL, -1, err);
	}
	sl->next = tok;
	return 0;
}

/* ---- one step ---- */

/* THE forward of a step: b_tok[0..n_tok) with b_seq (slot of each; a slot's
 * tokens are consecutive) and b_want (the last token of each slot); logits row
 * k goes to the k-th slot in the batch. One eng_forward_batch over the
 * multi-sequence context, or one eng_decode per slot context. */
static int step_forward(struct gen *g, size_t n_tok, struct mrl_err *err)
{
	g->stats.n_forward++;
	if (g->multi)
		return eng_forward_batch(g->multi, g->b_tok, g->b_seq, n_tok, g->b_want, g->logits, err);
	size_t row = 0;
	for (size_t i = 0; i < n_tok;) {
		size_t j = i;
		while (j < n_tok && g->b_seq[j] == g->b_seq[i])
			j++;
		int rc = eng_decode(g->single[g->b_seq[i]], g->b_tok + i, j - i, g->logits + row * g->n_vocab, false, err);
		if (rc)
			return rc;
		row++;
		i = j;
	}
	return 0;
}

/* Put every active slot's tokens into the batch: the uncached rest of its prompt
 * or its last token. Returns the number of tokens. */
static size_t assemble(struct gen *g)
{
	size_t n_tok = 0;
	uint32_t row = 0;
	for (uint32_t s = 0; s < g->n_slots; s++) {
		struct gen_slot *sl = &g->slots[s];
		if (slot_free(sl))
			continue;
		const struct eng_gen_req *q = &g->reqs[sl->req];
		const int32_t *src = &sl->next;
		size_t n = 1;
		if (sl->n_fed < q->n_prompt) {
			src = q->prompt + sl->n_fed;
			n = q->n_prompt - sl->n_fed;
			sl->n_fed = (uint32_t)q->n_prompt;
		}
		for (size_t i = 0; i < n; i++) {
			g->b_tok[n_tok] = src[i];
			g->b_seq[n_tok] = s;
			g->b_want[n_tok] = i + 1 == n;
			n_tok++;
		}
		memcpy(sl->cache + sl->n_cache, src, n * sizeof *src);
		sl->n_cache += (uint32_t)n;
		g->row_of[s] = row++;
	}
	return n_tok;
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static int run(struct gen *g, struct mrl_err *err)
{
	size_t next_req = 0, n_active = 0;
	int rc = 0;
	const double t0 = now_s();
	for (;;) {
		if (g->o.stop && *g->o.stop) {
			slots_interrupted(g);
			return 0; /* generate() counts what is unfinished */
		}
		for (uint32_t s = 0; s < g->n_slots; s++)
			g->slots[s].new_this_step = false;
		while (next_req < g->n_reqs) {
			if ((rc = finish_at_once(g, next_req, err)) < 0)
				return rc;
			if (rc) {
				next_req++;
				continue;
			}
			uint32_t dst, src, keep;
			if (n_active == g->n_slots || !plan_start(g, next_req, &dst, &src, &keep))
				break;
			if ((rc = slot_start(g, next_req, dst, src, keep, err)))
				return rc;
			next_req++;
			n_active++;
		}
		if (n_active == 0)
			return 0;
		if ((rc = step_forward(g, assemble(g), err)))
			return rc;
		if (g->stats.n_forward == 1)
			g->stats.first_step_s = now_s() - t0;
		for (uint32_t s = 0; s < g->n_slots; s++) {
			struct gen_slot *sl = &g->slots[s];
			if (slot_free(sl))
				continue;
			const float *row = g->logits + (size_t)g->row_of[s] * g->n_vocab;
			int32_t tok = sample_row(row, g->n_vocab, &g->o, &sl->rng, g->cands);
			if ((rc = slot_take(g, sl, tok, err)) < 0)
				return rc;
			if (rc)
				n_active--;
		}
	}
}

/* ---- setup ---- */

static void gen_release(struct gen *g)
{
	if (g->slots)
		for (uint32_t s = 0; s < g->n_slots; s++) {
			free(g->slots[s].cache);
			free(g->slots[s].ids);
			mrl_buf_release(&g->slots[s].text.buf);
		}
	free(g->slots);
	eng_ctx_free(g->multi);
	if (g->single)
		for (uint32_t s = 0; s < g->n_slots; s++)
			eng_ctx_free(g->single[s]);
	free(g->single);
	free(g->logits);
	free(g->b_tok);
	free(g->b_seq);
	free(g->b_want);
	free(g->row_of);
	free(g->eog);
	free(g->cands);
}

/* One context of n_slots sequences; one context per slot where the backend
 * runs a single sequence per context. */
static int contexts_new(struct gen *g, struct mrl_err *err)
{
	int rc = g->per_seq ? MRL_EUNSUPPORTED : eng_ctx_new_multi(&g->multi, g->m, g->n_ctx, g->n_slots, err);
	if (rc != MRL_EUNSUPPORTED) {
		if (!rc)
			eng_ctx_set_stop(g->multi, g->o.should_stop, g->o.stop_arg);
		return rc;
	}
	mrl_err_clear(err);
	if (!(g->single = calloc(g->n_slots, sizeof *g->single)))
		return mrl_err_set(err, MRL_ENOMEM, "generate: out of memory");
	for (uint32_t s = 0; s < g->n_slots; s++) {
		if ((rc = eng_ctx_new(&g->single[s], g->m, g->n_ctx, err)))
			return rc;
		eng_ctx_set_stop(g->single[s], g->o.should_stop, g->o.stop_arg);
	}
	return 0;
}

static int gen_init(struct gen *g, struct mrl_err *err)
{
	struct eng_model_desc d;
	eng_model_describe(g->m, &d);
	g->n_vocab = d.n_vocab;
	if (!d.has_weights || !g->n_vocab || !eng_model_vocab(g->m))
		return mrl_err_set(err, MRL_EINPUT, "%s: generate needs a model with weights and a vocabulary", d.path);
	int rc = check_requests(g, err);
	if (rc)
		return rc;
	g->n_ctx = pick_n_ctx(g, &d);
	uint32_t want = g->o.n_batch ? g->o.n_batch : GEN_DEFAULT_BATCH;
	if (want > GEN_MAX_BATCH)
		want = GEN_MAX_BATCH;
	g->n_slots = g->n_reqs < want ? (uint32_t)(g->n_reqs ? g->n_reqs : 1) : want;
	const size_t n_tok = (size_t)g->n_slots * g->n_ctx;
	g->slots = calloc(g->n_slots, sizeof *g->slots);
	g->logits = malloc((size_t)g->n_slots * g->n_vocab * sizeof *g->logits);
	g->b_tok = malloc(n_tok * sizeof *g->b_tok);
	g->b_seq = malloc(n_tok * sizeof *g->b_seq);
	g->b_want = malloc(n_tok * sizeof *g->b_want);
	g->row_of = calloc(g->n_slots, sizeof *g->row_of);
	g->eog = calloc(g->n_vocab, sizeof *g->eog);
	g->cands = malloc((size_t)g->n_vocab * sizeof *g->cands);
	if (!g->slots || !g->logits || !g->b_tok || !g->b_seq || !g->b_want || !g->row_of || !g->eog || !g->cands)
		return mrl_err_set(err, MRL_ENOMEM, "generate: out of memory for %" PRIu32 " sequences of %" PRIu32
				   " positions", g->n_slots, g->n_ctx);
	for (uint32_t s = 0; s < g->n_slots; s++) {
		g->slots[s].req = GEN_NO_REQ;
		mrl_buf_init(&g->slots[s].text.buf);
		if (!(g->slots[s].cache = malloc((size_t)g->n_ctx * sizeof *g->slots[s].cache)))
			return mrl_err_set(err, MRL_ENOMEM, "generate: out of memory");
	}
	mark_eog(g);
	return contexts_new(g, err);
}

static int generate(struct eng_model *m, const struct eng_gen_req *reqs, size_t n, const struct eng_gen_opts *o,
		    struct eng_gen_res *res, struct eng_gen_stats *stats, bool per_seq, struct mrl_err *err)
{
	struct gen g = { .m = m, .reqs = reqs, .n_reqs = n, .res = res, .per_seq = per_seq };
	if (o)
		g.o = *o;
	for (size_t i = 0; i < n; i++)
		res[i] = (struct eng_gen_res){ .stop_index = -1 };
	int rc = 0;
	if (n && !(rc = gen_init(&g, err))) {
		const double t0 = now_s();
		rc = run(&g, err);
		g.stats.total_s = now_s() - t0;
		g.stats.n_unfinished = n - g.n_finished;
	}
	if (stats)
		*stats = g.stats;
	gen_release(&g);
	return rc;
}

int eng_generate(struct eng_model *m, const struct eng_gen_req *reqs, size_t n, const struct eng_gen_opts *o,
		 struct eng_gen_res *res, struct eng_gen_stats *stats, struct mrl_err *err)
{
	return generate(m, reqs, n, o, res, stats, false, err);
}

int eng_generate_per_seq(struct eng_model *m, const struct eng_gen_req *reqs, size_t n, const struct eng_gen_opts *o,
			 struct eng_gen_res *res, struct eng_gen_stats *stats, struct mrl_err *err)
{
	return generate(m, reqs, n, o, res, stats, true, err);
}

int eng_gen_text_of(const struct eng_model *m, const int32_t *ids, size_t n, const char *const *stop, size_t n_stop,
		    char **text_out, size_t *len_out, size_t *n_used, int *stop_index, struct mrl_err *err)
{
	struct gen_text tx = { .anchor = -1 };
	mrl_buf_init(&tx.buf);
	int rc = 0;
	*n_used = n;
	*stop_index = -1;
	*text_out = NULL;
	for (size_t i = 0; i < n; i++) {
		const size_t old_len = tx.buf.len;
		if ((rc = text_append(m, &tx, ids[i], err)))
			goto out;
		size_t at = 0;
		if ((*stop_index = find_stop(stop, n_stop, &tx.buf, old_len, 0, &at)) >= 0) {
			mrl_buf_setlen(&tx.buf, at);
			*n_used = i + 1;
			break;
		}
	}
	mrl_buf_setlen(&tx.buf, utf8_complete_len(tx.buf.data, tx.buf.len));
	if (!(*text_out = mrl_buf_detach(&tx.buf, len_out)))
		rc = mrl_err_set(err, MRL_ENOMEM, "generate: out of memory for the text");
out:
	mrl_buf_release(&tx.buf);
	return rc;
}
