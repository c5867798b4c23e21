/* eng_score_dist.c — eng_score_ex equals eng_score, and its extras are right.
 *
 * eng_score_ex (engine/score.c) shares eng_score's algorithm and adds the
 * top-K next-token log-probabilities and the count of tokens computed. Checked
 * here: every logprob, is_greedy and sum equals eng_score's bit for bit (with
 * and without top-K, on empty and dirty caches); the top-K rows are the K
 * largest of a log-softmax computed by hand from eng_decode's logits, best
 * first, ties by lower id; the target's entry equals its logprob exactly;
 * is_greedy agrees with top-1; the token counts follow the prefix-reuse rule.
 * On a synthetic tiny model (always) and the f32 fixture model (when present).
 */
#include "tests/tap.h"

#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "engine/eng.h"
#include "tests/eng_fixture.h"

#define N_REQ 5
#define MAX_CONT 6
#define K 8

struct batch {
	int32_t ctx_a[12], ctx_b[7];
	int32_t conts[N_REQ][MAX_CONT];
	struct eng_score_req reqs[N_REQ];
};

static void make_batch(struct batch *b, uint32_t nv)
{
	for (int i = 0; i < 12; i++)
		b->ctx_a[i] = (int32_t)((i * 7919u + 3u) % nv);
	for (int i = 0; i < 7; i++)
		b->ctx_b[i] = (int32_t)((i * 104729u + 5u) % nv);
	static const size_t n_cont[N_REQ] = { 3, 1, 6, 2, 4 };
	for (int r = 0; r < N_REQ; r++)
		for (int k = 0; k < MAX_CONT; k++)
			b->conts[r][k] = (int32_t)(((unsigned)r * 1000003u + (unsigned)k * 31u + 17u) % nv);
	for (int r = 0; r < N_REQ; r++)
		b->reqs[r] = (struct eng_score_req){ r < 3 ? b->ctx_a : b->ctx_b, r < 3 ? 12 : 7, b->conts[r], n_cont[r] };
}

struct out {
	double lp[N_REQ][MAX_CONT], sum[N_REQ];
	bool gr[N_REQ][MAX_CONT], all[N_REQ];
	int32_t top_id[N_REQ][MAX_CONT * K];
	double top_lp[N_REQ][MAX_CONT * K];
};

static int score(struct eng_ctx *c, const struct batch *b, bool ex, size_t k, struct out *o,
		 struct eng_score_stats *st)
{
	struct eng_score_res res[N_REQ];
	struct eng_score_topk tk[N_REQ];
	for (int r = 0; r < N_REQ; r++) {
		res[r] = (struct eng_score_res){ o->lp[r], o->gr[r], 0, false };
		tk[r] = (struct eng_score_topk){ o->top_id[r], o->top_lp[r] };
	}
	struct mrl_err err = { 0 };
	int rc = ex ? eng_score_ex(c, b->reqs, N_REQ, res, k, k ? tk : NULL, st, &err)
		    : eng_score(c, b->reqs, N_REQ, res, &err);
	if (rc)
		diag("%s: %s", ex ? "eng_score_ex" : "eng_score", err.msg);
	for (int r = 0; r < N_REQ; r++) {
		o->sum[r] = res[r].sum_logprob;
		o->all[r] = res[r].all_greedy;
	}
	return rc;
}

static bool same(const struct out *a, const struct out *b, const struct batch *bt)
{
	for (int r = 0; r < N_REQ; r++) {
		size_t n = bt->reqs[r].n_cont;
		if (memcmp(a->lp[r], b->lp[r], n * sizeof(double)) || memcmp(a->gr[r], b->gr[r], n * sizeof(bool)) ||
		    memcmp(&a->sum[r], &b->sum[r], sizeof(double)) || a->all[r] != b->all[r]) {
			diag("request %d: %.17g vs %.17g", r, a->sum[r], b->sum[r]);
			return false;
		}
	}
	return true;
}

static void check_model(const char *path, const char *label)
{
	char name[256];
	struct mrl_err err = { 0 };
	struct eng_model *m = NULL;
	struct eng_ctx *c1 = NULL, *c2 = NULL;
	struct eng_open_opts oo = { .n_threads = 2 };
	static struct batch b;
	static struct out ref, ex0, exk, dirty_ref;
	float *lg = NULL;
	if (eng_model_open(&m, path, &oo, &err) || eng_ctx_new(&c1, m, 64, &err) || eng_ctx_new(&c2, m, 64, &err)) {
		snprintf(name, sizeof name, "%s: model and contexts", label);
		ok(0, name);
		diag("%s", err.msg);
		goto out;
	}
	struct eng_model_desc d;
	eng_model_describe(m, &d);
	make_batch(&b, d.n_vocab);

	struct eng_score_stats st;
	score(c1, &b, false, 0, &ref, NULL);
	score(c2, &b, true, 0, &ex0, &st);
	snprintf(name, sizeof name, "%s: eng_score_ex without top-K == eng_score, bit for bit", label);
	ok(same(&ref, &ex0, &b), name);
	/* prefix reuse from an empty cache: the first request of each context computes
	 * n_ctx - 1 + n_cont tokens, the others only their continuation (n_ctx - 1 cached) */
	uint64_t want_computed = 0, want_cached = 0, asked = 0;
	for (int r = 0; r < N_REQ; r++) {
		const bool first = r == 0 || r == 3;
		want_computed += (first ? b.reqs[r].n_ctx - 1 : 0) + b.reqs[r].n_cont;
		want_cached += first ? 0 : b.reqs[r].n_ctx - 1;
		asked += b.reqs[r].n_ctx + b.reqs[r].n_cont - 1;
	}
	snprintf(name, sizeof name, "%s: tokens computed from an empty cache: shared contexts once", label);
	is_int((long long)st.n_computed, (long long)want_computed, name);
	snprintf(name, sizeof name, "%s: tokens computed + cached = tokens asked for", label);
	is_int((long long)(st.n_computed + st.n_cached), (long long)asked, name);
	ok(st.n_cached == want_cached && st.n_forward >= 2, "cached tokens and forward calls counted");

	/* again on the dirty caches: everything is reused except the continuations */
	score(c1, &b, false, 0, &dirty_ref, NULL);
	score(c2, &b, true, K, &exk, &st);
	snprintf(name, sizeof name, "%s: eng_score_ex with top-%d on a dirty cache == eng_score, bit for bit", label, K);
	ok(same(&dirty_ref, &exk, &b) && same(&ref, &exk, &b), name);
	ok(st.n_computed + st.n_cached == asked, "dirty cache: computed + cached = asked");
	/* the same context twice in a row: the second call computes only the continuations */
	struct eng_score_res r3[3];
	for (int r = 0; r < 3; r++)
		r3[r] = (struct eng_score_res){ dirty_ref.lp[r], dirty_ref.gr[r], 0, false };
	eng_score_ex(c2, b.reqs, 3, r3, 0, NULL, NULL, &err);
	eng_score_ex(c2, b.reqs, 3, r3, 0, NULL, &st, &err);
	snprintf(name, sizeof name, "%s: a context already cached is not computed again (only the continuations)", label);
	ok(st.n_computed == b.reqs[0].n_cont + b.reqs[1].n_cont + b.reqs[2].n_cont && st.n_cached == 3 * 11, name);

	/* top-K against a log-softmax by hand over eng_decode's logits */
	lg = malloc((size_t)24 * d.n_vocab * sizeof *lg);
	int sorted_bad = 0, target_bad = 0, greedy_bad = 0, hand_bad = 0, set_bad = 0;
	for (int r = 0; r < N_REQ && lg; r++) {
		const struct eng_score_req *q = &b.reqs[r];
		if (decode_request(c1, q, lg, &err)) {
			diag("%s", err.msg);
			hand_bad++;
			break;
		}
		for (size_t j = 0; j < q->n_cont; j++) {
			const float *row = lg + (q->n_ctx - 1 + j) * d.n_vocab;
			const int32_t *id = exk.top_id[r] + j * K;
			const double *lp = exk.top_lp[r] + j * K;
			const long double log_z = row_log_z(row, d.n_vocab);
			for (int t = 0; t < K; t++) {
				if (t > 0 && (lp[t] > lp[t - 1] || (lp[t] == lp[t - 1] && id[t] < id[t - 1])))
					sorted_bad++;
				if (id[t] == q->cont[j] && memcmp(&lp[t], &exk.lp[r][j], sizeof(double)))
					target_bad++;
				if (fabs((double)((long double)row[id[t]] - log_z) - lp[t]) > 1e-9)
					hand_bad++;
			}
			/* nothing outside the top-K beats its last entry */
			for (uint32_t v = 0; v < d.n_vocab; v++) {
				bool in = false;
				for (int t = 0; t < K; t++)
					in |= id[t] == (int32_t)v;
				if (!in && (row[v] > row[id[K - 1]] || (row[v] == row[id[K - 1]] && (int32_t)v < id[K - 1])))
					set_bad++;
			}
			if (exk.gr[r][j] != (id[0] == q->cont[j]))
				greedy_bad++;
		}
	}
	snprintf(name, sizeof name, "%s: top-%d rows best first, ties by lower id", label, K);
	is_int(sorted_bad, 0, name);
	snprintf(name, sizeof name, "%s: top-%d = the %d largest logits of the row", label, K, K);
	is_int(set_bad, 0, name);
	snprintf(name, sizeof name, "%s: top-%d logprobs == log-softmax by hand (1e-9)", label, K);
	is_int(hand_bad, 0, name);
	snprintf(name, sizeof name, "%s: a target inside the top-%d has exactly its logprob there", label, K);
	is_int(target_bad, 0, name);
	snprintf(name, sizeof name, "%s: is_greedy == (top-1 is the target)", label);
	is_int(greedy_bad, 0, name);

	struct eng_score_res res1 = { ref.lp[0], ref.gr[0], 0, false };
	struct eng_score_topk tk1 = { exk.top_id[0], exk.top_lp[0] };
	snprintf(name, sizeof name, "%s: top-K larger than the vocabulary is MRL_EINPUT", label);
	is_int(eng_score_ex(c1, &b.reqs[0], 1, &res1, (size_t)d.n_vocab + 1, &tk1, NULL, &err), MRL_EINPUT, name);
	snprintf(name, sizeof name, "%s: top-K without arrays is MRL_EINPUT", label);
	is_int(eng_score_ex(c1, &b.reqs[0], 1, &res1, 4, NULL, NULL, &err), MRL_EINPUT, name);
out:
	free(lg);
	eng_ctx_free(c1);
	eng_ctx_free(c2);
	eng_model_close(m);
}

int main(void)
{
	char dir[] = "/tmp/merilo-scoredist-XXXXXX", path[128];
	struct mrl_err err = { 0 };
	if (!mkdtemp(dir))
		skip_all("cannot create a temporary folder");
	snprintf(path, sizeof path, "%s/tiny.gguf", dir);
	struct eng_synth_opts so = { .preset = "tiny", .dtype = "f32", .seed = 7 };
	if (eng_synth(&so, path, NULL, &err)) {
		ok(0, "synthesize a tiny model");
		diag("%s", err.msg);
	} else {
		check_model(path, "synth tiny");
	}
	unlink(path);
	rmdir(dir);
	const char *fx = fixtures_dir();
	char fpath[1024];
	snprintf(fpath, sizeof fpath, "%s/models/tiny-llama-ff192-f32.gguf", fx ? fx : ".");
	if (fx && access(fpath, R_OK) == 0)
		check_model(fpath, "f32 fixture");
	else
		skip("fixture model absent", "f32 fixture model");
	return done_testing();
}
