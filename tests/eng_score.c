/* eng_score.c — eng_score: prefix reuse gives the same bits as scoring alone.
 *
 * Requests that share a context (the choices of a multiple-choice item) are
 * scored with the shared prefix computed once; every result must equal the
 * request scored alone in an empty context, bit for bit, whatever the batch
 * composition, order or prior cache content. The log-probabilities must equal
 * a log-softmax computed by hand over eng_decode's logits. Underneath: a
 * token's logits do not depend on how the sequence was split into batches.
 */
#include "tests/tap.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "engine/eng.h"
#include "tests/eng_fixture.h"

#define MAX_CONT 8
#define N_REQ 7

struct fixture {
	int32_t ctx_a[12], ctx_b[5], ctx_c[20];
	int32_t conts[N_REQ][MAX_CONT];
	struct eng_score_req reqs[N_REQ];
};

static void make_reqs(struct fixture *f, uint32_t nv)
{
	for (int i = 0; i < 12; i++)
		f->ctx_a[i] = i == 0 ? 1 : (int32_t)((i * 7919u + 3u) % nv);
	for (int i = 0; i < 5; i++)
		f->ctx_b[i] = i == 0 ? 1 : (int32_t)((i * 15485863u + 11u) % nv);
	/* ctx_c starts with ctx_a: a longer shared prefix across items */
	for (int i = 0; i < 20; i++)
		f->ctx_c[i] = i < 12 ? f->ctx_a[i] : (int32_t)((i * 31337u + 1u) % nv);
	static const size_t n_cont[N_REQ] = { 3, 1, 5, 2, 4, 1, 3 };
	for (int r = 0; r < N_REQ; r++)
		for (size_t k = 0; k < MAX_CONT; k++)
			f->conts[r][k] = (int32_t)(((size_t)r * 1000003u + k * 7u + 17u) % nv);
	/* two choices sharing their first continuation token too */
	f->conts[3][0] = f->conts[2][0];
	const int32_t *ctxs[N_REQ] = { f->ctx_a, f->ctx_a, f->ctx_a, f->ctx_b, f->ctx_b, f->ctx_c, f->ctx_c };
	const size_t n_ctxs[N_REQ] = { 12, 12, 12, 5, 5, 20, 20 };
	for (int r = 0; r < N_REQ; r++)
		f->reqs[r] = (struct eng_score_req){ ctxs[r], n_ctxs[r], f->conts[r], n_cont[r] };
	f->reqs[3].ctx = f->ctx_a; /* request 3: same context as 0..2 */
	f->reqs[3].n_ctx = 12;
}

struct results {
	double lp[N_REQ][MAX_CONT];
	bool gr[N_REQ][MAX_CONT];
	double sum[N_REQ];
	bool all[N_REQ];
};

static int score(struct eng_ctx *c, const struct eng_score_req *reqs, const int *which, int n, struct results *out)
{
	struct eng_score_res res[N_REQ] = { 0 };
	struct eng_score_req sub[N_REQ] = { 0 };
	for (int i = 0; i < n; i++) {
		sub[i] = reqs[which[i]];
		res[i] = (struct eng_score_res){ out->lp[which[i]], out->gr[which[i]], 0, false };
	}
	struct mrl_err err = { 0 };
	int rc = eng_score(c, sub, (size_t)n, res, &err);
	if (rc)
		diag("eng_score: %s", err.msg);
	for (int i = 0; i < n; i++) {
		out->sum[which[i]] = res[i].sum_logprob;
		out->all[which[i]] = res[i].all_greedy;
	}
	return rc;
}

static bool same(const struct results *a, const struct results *b, const struct eng_score_req *reqs)
{
	for (int r = 0; r < N_REQ; r++) {
		if (memcmp(a->lp[r], b->lp[r], reqs[r].n_cont * sizeof(double)) ||
		    memcmp(a->gr[r], b->gr[r], reqs[r].n_cont * sizeof(bool)) ||
		    memcmp(&a->sum[r], &b->sum[r], sizeof(double)) || a->all[r] != b->all[r]) {
			diag("request %d differs: %.17g vs %.17g", r, a->sum[r], b->sum[r]);
			return false;
		}
	}
	return true;
}

/* The model under test, two contexts on it, its requests and their scores each alone. */
static struct eng_model *m;
static struct eng_ctx *c, *c2;
static struct eng_model_desc d;
static struct fixture f;
static struct results alone;
static const char *label;

static void close_model(void)
{
	eng_ctx_free(c);
	eng_ctx_free(c2);
	eng_model_close(m);
	m = NULL;
	c = c2 = NULL;
}

/* Open the model at path with a 128- and a 320-position context; false (and a failed check) where it cannot. */
static bool open_model(const char *path, const char *lbl)
{
	char name[256];
	struct mrl_err err = { 0 };
	struct eng_open_opts o = { .n_threads = 2 };
	label = lbl;
	if (eng_model_open(&m, path, &o, &err) || eng_ctx_new(&c, m, 128, &err) || eng_ctx_new(&c2, m, 320, &err)) {
		snprintf(name, sizeof name, "%s: model and contexts", label);
		ok(0, name);
		diag("%s", err.msg);
		close_model();
		return false;
	}
	eng_model_describe(m, &d);
	make_reqs(&f, d.n_vocab);
	return true;
}

/* A batch with shared prefixes, in any order and split, scores each request as alone (fills alone). */
static void t_batch_equals_alone(void)
{
	char name[256];
	static struct results batch, rev, pairs;
	int all[N_REQ], revo[N_REQ];
	for (int i = 0; i < N_REQ; i++) {
		all[i] = i;
		revo[i] = N_REQ - 1 - i;
	}
	snprintf(name, sizeof name, "%s: batch of %d requests scores", label, N_REQ);
	ok(score(c, f.reqs, all, N_REQ, &batch) == 0, name);
	for (int r = 0; r < N_REQ; r++) {
		eng_ctx_truncate(c2, 0);
		int w[1] = { r };
		score(c2, f.reqs, w, 1, &alone);
	}
	snprintf(name, sizeof name, "%s: batch with shared prefixes == each request alone (bit for bit)", label);
	ok(same(&batch, &alone, f.reqs), name);
	/* reversed order, on a cache left dirty by the previous call */
	score(c, f.reqs, revo, N_REQ, &rev);
	snprintf(name, sizeof name, "%s: reversed batch on a dirty cache == alone", label);
	ok(same(&rev, &alone, f.reqs), name);
	int p1[3] = { 5, 0, 3 }, p2[4] = { 6, 2, 4, 1 };
	score(c, f.reqs, p1, 3, &pairs);
	score(c, f.reqs, p2, 4, &pairs);
	snprintf(name, sizeof name, "%s: two mixed sub-batches == alone", label);
	ok(same(&pairs, &alone, f.reqs), name);
}

/* By hand: decode ctx ++ cont[:-1] with all logits, log-softmax in long double. */
static void t_by_hand(void)
{
	char name[256];
	struct mrl_err err = { 0 };
	bool hand_ok = true, greedy_ok = true;
	float *lg = malloc((size_t)40 * d.n_vocab * sizeof *lg);
	for (int r = 0; r < N_REQ && lg; r++) {
		const struct eng_score_req *q = &f.reqs[r];
		if (decode_request(c2, q, lg, &err)) {
			diag("%s", err.msg);
			hand_ok = false;
			break;
		}
		for (size_t k = 0; k < q->n_cont; k++) {
			const float *row = lg + (q->n_ctx - 1 + k) * d.n_vocab;
			size_t am = 0;
			for (uint32_t v = 1; v < d.n_vocab; v++)
				if (row[v] > row[am])
					am = v;
			double want = (double)((long double)row[q->cont[k]] - row_log_z(row, d.n_vocab));
			if (fabs(want - alone.lp[r][k]) > 1e-9) {
				diag("request %d token %zu: logprob %.12g, by hand %.12g", r, k, alone.lp[r][k], want);
				hand_ok = false;
			}
			if (alone.gr[r][k] != ((int32_t)am == q->cont[k]))
				greedy_ok = false;
		}
	}
	free(lg);
	snprintf(name, sizeof name, "%s: logprobs == log-softmax of eng_decode logits by hand (1e-9)", label);
	ok(hand_ok, name);
	snprintf(name, sizeof name, "%s: is_greedy == (token is the argmax)", label);
	ok(greedy_ok, name);
	double s = 0;
	for (size_t k = 0; k < f.reqs[2].n_cont; k++)
		s += alone.lp[2][k];
	snprintf(name, sizeof name, "%s: sum_logprob is the sum of the logprobs", label);
	is_near(alone.sum[2], s, 1e-12, name);
}

/* A token's logits do not depend on the batch split: one call, token by token, and
 * uneven pieces across the 256-token micro-batch boundary (N_UBATCH, engine/forward.c). */
static void t_batch_split(void)
{
	char name[256];
	struct mrl_err err = { 0 };
	enum { N = 300 };
	int32_t seq[N];
	for (int i = 0; i < N; i++)
		seq[i] = i == 0 ? 1 : (int32_t)((i * 2654435761u) % d.n_vocab);
	float *lg1 = malloc((size_t)N * d.n_vocab * sizeof *lg1);
	float *lg2 = malloc((size_t)N * d.n_vocab * sizeof *lg2);
	eng_ctx_truncate(c2, 0);
	int rc = eng_decode(c2, seq, N, lg1, true, &err);
	eng_ctx_truncate(c2, 0);
	for (int i = 0; i < N && !rc; i++)
		rc = eng_decode(c2, seq + i, 1, lg2 + (size_t)i * d.n_vocab, false, &err);
	snprintf(name, sizeof name, "%s: 300 tokens in one batch == one token at a time (bit for bit)", label);
	ok(!rc && !memcmp(lg1, lg2, (size_t)N * d.n_vocab * sizeof *lg1), name);
	eng_ctx_truncate(c2, 0);
	static const int pieces[] = { 7, 250, 30, 13 };
	size_t at = 0;
	for (size_t i = 0; i < 4 && !rc; i++) {
		rc = eng_decode(c2, seq + at, (size_t)pieces[i], lg2 + at * d.n_vocab, true, &err);
		at += (size_t)pieces[i];
	}
	snprintf(name, sizeof name, "%s: pieces of 7+250+30+13 tokens == one batch (bit for bit)", label);
	ok(!rc && !memcmp(lg1, lg2, (size_t)N * d.n_vocab * sizeof *lg1), name);
	is_int(eng_ctx_pos(c2), N, "context position after the pieces");
	free(lg1);
	free(lg2);
}

static void t_bad_requests(void)
{
	char name[256];
	struct mrl_err err = { 0 };
	struct eng_score_req bad = f.reqs[0];
	bad.n_cont = 0;
	struct eng_score_res res = { alone.lp[0], alone.gr[0], 0, false };
	snprintf(name, sizeof name, "%s: a request without continuation is MRL_EINPUT", label);
	is_int(eng_score(c, &bad, 1, &res, &err), MRL_EINPUT, name);
	int32_t oob = (int32_t)d.n_vocab;
	bad = f.reqs[0];
	bad.cont = &oob;
	bad.n_cont = 1;
	snprintf(name, sizeof name, "%s: a token id outside the vocabulary is MRL_EINPUT", label);
	is_int(eng_score(c, &bad, 1, &res, &err), MRL_EINPUT, name);
	like(err.msg, "outside the vocabulary", "the message says why");
}

/* eng_logits_nll against llama.cpp's log-softmax by hand (max, the sum in double of libm's
 * expf(x - max) in order): the same bits where the CPU has FMA (glibc's expf is then the
 * function vmath.c computes), else within 1e-12; rows with logits far below the max
 * (expf underflows: the lanes that go to libm); 37 rows split over the context's threads. */
static void t_logits_nll(void)
{
	enum { N_ROWS = 37 };
	const uint32_t nv = d.n_vocab;
	float *lg = malloc((size_t)N_ROWS * nv * sizeof *lg);
	int32_t tg[N_ROWS];
	double got[N_ROWS];
	uint64_t st = 12345;
	for (size_t i = 0; i < (size_t)N_ROWS * nv && lg; i++) {
		st = st * 6364136223846793005ull + 1442695040888963407ull;
		const float u = (float)(st >> 40) / (float)(1u << 24) * 60.0f - 30.0f;
		lg[i] = i % 97 == 5 ? u - 170.0f : u;
	}
	for (int r = 0; r < N_ROWS; r++)
		tg[r] = (int32_t)(((uint32_t)r * 2654435761u) % nv);
	eng_logits_nll(c, lg, N_ROWS, tg, got);
	const bool exact = __builtin_cpu_supports("fma");
	int bad = 0;
	for (int r = 0; r < N_ROWS && lg; r++) {
		const float *row = lg + (size_t)r * nv;
		float max = row[0];
		for (uint32_t k = 1; k < nv; k++)
			if (row[k] > max)
				max = row[k];
		double sum = 0;
		for (uint32_t k = 0; k < nv; k++)
			sum += expf(row[k] - max);
		const double want = -((double)(row[tg[r]] - max) - log(sum));
		if (exact ? memcmp(&want, &got[r], sizeof want) != 0 : fabs(want - got[r]) > 1e-12 * fabs(want)) {
			if (bad++ == 0)
				diag("row %d: %.17g, by hand %.17g", r, got[r], want);
		}
	}
	const bool have = lg != NULL;
	free(lg);
	char name[256];
	snprintf(name, sizeof name, "%s: eng_logits_nll == llama.cpp's log-softmax by hand (%s; %d of %d rows differ)",
		 label, exact ? "bit for bit" : "1e-12", bad, N_ROWS);
	ok(have && bad == 0, name);
}

int main(void)
{
	const char *fx = fixtures_dir();
	if (!fx)
		skip_all("fixtures absent: ../shared/fixtures");
	static const char *const models[2][2] = { { "tiny-llama-ff192-f32.gguf", "f32" },
						  { "tiny-llama-ff192-q8_0.gguf", "q8_0" } };
	for (int k = 0; k < 2; k++) {
		char path[1024];
		snprintf(path, sizeof path, "%s/models/%s", fx, models[k][0]);
		if (!open_model(path, models[k][1]))
			continue;
		TEST(t_batch_equals_alone(), "%s: a batch scores every request as alone, in any order or split", label);
		TEST(t_by_hand(), "%s: logprobs and is_greedy equal a log-softmax of the logits by hand", label);
		TEST(t_batch_split(), "%s: a token's logits do not depend on the batch split", label);
		TEST(t_bad_requests(), "%s: a request without continuation or with a token outside the vocabulary fails", label);
		TEST(t_logits_nll(), "%s: eng_logits_nll forms llama.cpp's log-softmax", label);
		close_model();
	}
	return done_testing();
}
