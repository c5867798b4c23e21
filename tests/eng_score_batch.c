/* eng_score_batch.c — batched scoring gives what eng_score_ex gives, group by group.
 *
 * Random items (a shared few-shot prefix or not, an item context, 1 to 4
 * choices whose continuations may share tokens, sometimes a one-token neutral
 * context as acc_mutual_info adds) are scored by eng_score_batch on a
 * multi-sequence context and by one eng_score_ex call per item on a plain
 * one, in two consecutive calls each (so the cache carried from call to call
 * counts too). Every log-probability, greedy flag, sum and top-K entry must be
 * bit-identical, and so must each item's tokens computed and cached. A context
 * whose spare rows are too few for a batch still gives the same results (and
 * at least as much work); one of a single sequence runs item after item.
 */
#include "tests/tap.h"

#include <stdint.h>
#include <string.h>

#include "engine/eng.h"

#define N_ITEMS 24
#define MAX_CH 4
#define MAX_TOK 40
#define TOP_K 3

struct item {
	int32_t ctx[MAX_CH][MAX_TOK], cont[MAX_CH][8];
	size_t n_ch;
};

static struct item items[N_ITEMS];
static struct eng_score_req reqs[N_ITEMS * MAX_CH];
static size_t group[N_ITEMS], n_reqs;
static struct eng_model *m;
static uint32_t n_vocab;

struct outcome {
	double lp[N_ITEMS * MAX_CH][8], top_lp[N_ITEMS * MAX_CH][8 * TOP_K], sum[N_ITEMS * MAX_CH];
	int32_t top_id[N_ITEMS * MAX_CH][8 * TOP_K];
	bool greedy[N_ITEMS * MAX_CH][8], all_greedy[N_ITEMS * MAX_CH];
	struct eng_score_stats work[N_ITEMS];
};

static uint32_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*s >> 33);
}

static void make_items(uint64_t seed)
{
	uint64_t r = seed;
	int32_t shots[12];
	const size_t n_shots = rnd(&r) % 2 ? rnd(&r) % 12 : 0;
	for (size_t i = 0; i < n_shots; i++)
		shots[i] = (int32_t)(rnd(&r) % n_vocab);
	n_reqs = 0;
	for (size_t it = 0; it < N_ITEMS; it++) {
		struct item *q = &items[it];
		q->n_ch = 1 + rnd(&r) % MAX_CH;
		size_t n_ctx = 1 + n_shots + rnd(&r) % 15;
		int32_t ctx[MAX_TOK];
		ctx[0] = 1; /* a BOS every context starts with */
		memcpy(ctx + 1, shots, n_shots * sizeof *shots);
		for (size_t i = 1 + n_shots; i < n_ctx; i++)
			ctx[i] = (int32_t)(rnd(&r) % n_vocab);
		const bool neutral = rnd(&r) % 5 == 0;
		for (size_t ch = 0; ch < q->n_ch; ch++) {
			const size_t n_cont = 1 + rnd(&r) % 6;
			for (size_t i = 0; i < n_cont; i++)
				q->cont[ch][i] = ch && i < 2 && rnd(&r) % 2 ? q->cont[0][i] : (int32_t)(rnd(&r) % n_vocab);
			memcpy(q->ctx[ch], ctx, n_ctx * sizeof *ctx);
			const size_t nc = neutral && ch % 2 ? 1 : n_ctx;
			reqs[n_reqs++] = (struct eng_score_req){ .ctx = q->ctx[ch], .n_ctx = nc, .cont = q->cont[ch],
								 .n_cont = n_cont };
		}
		group[it] = q->n_ch;
	}
}

/* Score the items in two calls (items [0, N_ITEMS/2) and the rest), batched or item by item. */
static int score_all(struct eng_ctx *c, bool batched, struct outcome *o)
{
	struct mrl_err err = { 0 };
	static struct eng_score_res res[N_ITEMS * MAX_CH];
	static struct eng_score_topk tk[N_ITEMS * MAX_CH];
	memset(o, 0, sizeof *o);
	for (size_t i = 0; i < n_reqs; i++) {
		res[i] = (struct eng_score_res){ .logprob = o->lp[i], .is_greedy = o->greedy[i] };
		tk[i] = (struct eng_score_topk){ .id = o->top_id[i], .logprob = o->top_lp[i] };
	}
	eng_ctx_truncate(c, 0);
	size_t at = 0;
	for (size_t half = 0; half < 2; half++) {
		const size_t g0 = half ? N_ITEMS / 2 : 0, g1 = half ? N_ITEMS : N_ITEMS / 2;
		size_t n_in = 0;
		for (size_t g = g0; g < g1; g++)
			n_in += group[g];
		int rc = 0;
		if (batched) {
			rc = eng_score_batch(c, reqs + at, group + g0, g1 - g0, res + at, TOP_K, tk + at, o->work + g0, &err);
		} else {
			for (size_t g = g0, a = at; g < g1 && !rc; a += group[g++])
				rc = eng_score_ex(c, reqs + a, group[g], res + a, TOP_K, tk + a, &o->work[g], &err);
		}
		if (rc) {
			diag("%s", err.msg);
			return rc;
		}
		at += n_in;
	}
	for (size_t i = 0; i < n_reqs; i++) {
		o->sum[i] = res[i].sum_logprob;
		o->all_greedy[i] = res[i].all_greedy;
	}
	return 0;
}

static bool same_results(const struct outcome *a, const struct outcome *b)
{
	return !memcmp(a->lp, b->lp, sizeof a->lp) && !memcmp(a->top_lp, b->top_lp, sizeof a->top_lp) &&
	       !memcmp(a->sum, b->sum, sizeof a->sum) && !memcmp(a->top_id, b->top_id, sizeof a->top_id) &&
	       !memcmp(a->greedy, b->greedy, sizeof a->greedy) && !memcmp(a->all_greedy, b->all_greedy, sizeof a->all_greedy);
}

static bool same_work(const struct outcome *a, const struct outcome *b, bool at_least)
{
	for (size_t g = 0; g < N_ITEMS; g++) {
		const uint64_t ta = a->work[g].n_computed + a->work[g].n_cached;
		const uint64_t tb = b->work[g].n_computed + b->work[g].n_cached;
		if (ta != tb || (at_least ? a->work[g].n_computed < b->work[g].n_computed
					  : a->work[g].n_computed != b->work[g].n_computed))
			return false;
	}
	return true;
}

static void t_batch(uint64_t seed, uint32_t n_ctx, uint32_t n_seq, bool exact_work)
{
	struct mrl_err err = { 0 };
	struct eng_ctx *one = NULL, *multi = NULL;
	static struct outcome ref, got;
	make_items(seed);
	if (eng_ctx_new(&one, m, 64, &err) || eng_ctx_new_multi(&multi, m, n_ctx, n_seq, &err)) {
		ok(0, "contexts");
		diag("%s", err.msg);
		goto out;
	}
	ok(!score_all(one, false, &ref), "item by item through eng_score_ex");
	ok(!score_all(multi, true, &got), "batched through eng_score_batch");
	ok(same_results(&got, &ref), "logprobs, greedy flags, sums and top-K are bit-identical");
	if (exact_work)
		ok(same_work(&got, &ref, false), "each item's tokens computed and cached are eng_score_ex's");
	else
		ok(same_work(&got, &ref, true), "each item computes at least eng_score_ex's tokens");
	is_int(eng_ctx_pos(multi), eng_ctx_pos(one), "slot 0 holds the last request, as eng_score_ex leaves it");
out:
	eng_ctx_free(one);
	eng_ctx_free(multi);
}

int main(void)
{
	const char *fx = fixtures_dir();
	if (!fx)
		skip_all("fixtures absent: ../shared/fixtures");
	static const char *const models[] = { "tiny-llama-ff192-q8_0.gguf", "tiny-qwen2-f32.gguf" };
	for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
		char path[1024];
		struct mrl_err err = { 0 };
		struct eng_open_opts o = { .n_threads = 2 };
		snprintf(path, sizeof path, "%s/models/%s", fx, models[k]);
		if (eng_model_open(&m, path, &o, &err)) {
			ok(0, "open the model");
			diag("%s: %s", models[k], err.msg);
			continue;
		}
		struct eng_model_desc d;
		eng_model_describe(m, &d);
		n_vocab = d.n_vocab;
		for (uint64_t seed = 1; seed <= 2; seed++)
			TEST(t_batch(seed, 64, 40, true), "%s, items %d: batched scoring equals eng_score_ex item by item",
			     models[k], (int)seed);
		TEST(t_batch(9, 64, 2, false), "%s: with rows for a few requests only, the results stay the same",
		     models[k]);
		TEST(t_batch(11, 64, 1, true), "%s: a one-sequence context scores item after item", models[k]);
		eng_model_close(m);
		m = NULL;
	}
	return done_testing();
}
