/* eng_batch.c — several sequences in one context compute as each alone.
 *
 * The determinism contract of multi-sequence contexts (eng.h): tokens of
 * several slots fed interleaved, in calls of odd sizes (some wider than one
 * micro-batch), give logits bit-identical (memcmp) to each sequence decoded
 * alone in a one-sequence context; so do a prefix copied to another slot and a
 * truncated slot fed again. On every fixture model (each weight type has its
 * own kernels; qwen2 has biases) with 1 and 2 threads. And bad calls fail with
 * nothing computed.
 */
#include "tests/tap.h"

#include <stdint.h>
#include <string.h>

#include "engine/eng.h"

#define N_SEQ 5
#define N_CTX 128
#define MAX_LEN 100

static const size_t seq_len[N_SEQ] = { 1, 41, 100, 17, 88 };
static int32_t toks[N_SEQ][MAX_LEN];
static struct eng_model *m;
static uint32_t n_vocab;
static const char *label;

static uint32_t rnd(uint64_t *s)
{
	*s = *s * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(*s >> 33);
}

/* Logits of every token of seq fed alone into a fresh one-sequence context
 * (rows of n_vocab, malloc'd); NULL after a failed check. */
static float *alone(const int32_t *seq, size_t n)
{
	struct mrl_err err = { 0 };
	struct eng_ctx *c = NULL;
	float *lg = malloc(n * n_vocab * sizeof *lg);
	if (eng_ctx_new(&c, m, N_CTX, &err) || eng_decode(c, seq, n, lg, true, &err)) {
		ok(0, "decode alone");
		diag("%s", err.msg);
		free(lg);
		lg = NULL;
	}
	eng_ctx_free(c);
	return lg;
}

/* Interleave the sequences at random into calls of the sizes below (the
 * 260-token call spans two micro-batches), logits wanted for every token, or
 * for every token but each third one; compare each row with the alone run. */
static void t_interleaved(bool every)
{
	struct mrl_err err = { 0 };
	struct eng_ctx *c = NULL;
	float *ref[N_SEQ] = { 0 };
	size_t total = 0;
	for (int s = 0; s < N_SEQ; s++) {
		total += seq_len[s];
		if (!(ref[s] = alone(toks[s], seq_len[s])))
			goto out;
	}
	if (eng_ctx_new_multi(&c, m, N_CTX, N_SEQ + 1, &err)) {
		ok(0, "multi context");
		diag("%s", err.msg);
		goto out;
	}
	is_int(eng_ctx_n_seq(c), N_SEQ + 1, "the context has the slots asked for");
	int32_t *tk = malloc(total * sizeof *tk);
	uint32_t *sq = malloc(total * sizeof *sq), *at = malloc(total * sizeof *at);
	bool *want = malloc(total * sizeof *want);
	float *lg = malloc(total * n_vocab * sizeof *lg);
	size_t fed[N_SEQ] = { 0 };
	uint64_t r = 42;
	for (size_t i = 0; i < total; i++) {
		uint32_t s;
		do
			s = rnd(&r) % N_SEQ;
		while (fed[s] == seq_len[s]);
		/* slot s + 1: slot 0 stays empty */
		sq[i] = s + 1;
		at[i] = (uint32_t)fed[s];
		tk[i] = toks[s][fed[s]++];
		want[i] = every || i % 3 != 1;
	}
	static const size_t calls[] = { 1, 7, 260, 13, 2, 64 };
	size_t done = 0, row = 0, bad = 0;
	for (size_t k = 0; done < total; k = (k + 1) % (sizeof calls / sizeof calls[0])) {
		size_t n = total - done < calls[k] ? total - done : calls[k];
		if (eng_forward_batch(c, tk + done, sq + done, n, want + done, lg, &err)) {
			ok(0, "forward batch");
			diag("%s", err.msg);
			break;
		}
		row = 0;
		for (size_t i = done; i < done + n; i++)
			if (want[i] && memcmp(lg + row++ * n_vocab, ref[sq[i] - 1] + (size_t)at[i] * n_vocab,
					      n_vocab * sizeof *lg))
				bad++;
		done += n;
	}
	is_int(done, total, "every token was fed");
	is_int(bad, 0, "every wanted row equals the sequence alone (memcmp)");
	for (int s = 0; s < N_SEQ; s++)
		is_int(eng_seq_pos(c, (uint32_t)s + 1), seq_len[s], "each slot holds its sequence");
	is_int(eng_seq_pos(c, 0), 0, "the slot no token went to is empty");
	free(tk);
	free(sq);
	free(at);
	free(want);
	free(lg);
out:
	eng_ctx_free(c);
	for (int s = 0; s < N_SEQ; s++)
		free(ref[s]);
}

/* Slot 1 holds sequence 2; its first 30 positions copied to slot 3, then
 * sequence 4's tokens fed there, equal 30 tokens of 2 and then 4's alone;
 * slot 1 truncated to 10 and fed 4's tokens, the same with 10. */
static void t_copy_truncate(void)
{
	struct mrl_err err = { 0 };
	struct eng_ctx *c = NULL;
	int32_t seq[MAX_LEN];
	const size_t n_tail = 40;
	float *lg = malloc(n_tail * n_vocab * sizeof *lg), *ref = NULL;
	uint32_t slots[MAX_LEN];
	bool want[MAX_LEN];
	if (eng_ctx_new_multi(&c, m, N_CTX, 4, &err)) {
		ok(0, "multi context");
		diag("%s", err.msg);
		goto out;
	}
	for (size_t i = 0; i < MAX_LEN; i++) {
		slots[i] = 1;
		want[i] = true;
	}
	ok(!eng_forward_batch(c, toks[2], slots, seq_len[2], NULL, NULL, &err), "slot 1 fed");
	ok(!eng_seq_copy(c, 1, 3, 30, &err), "30 positions copied to slot 3");
	is_int(eng_seq_pos(c, 3), 30, "slot 3 holds them");
	for (size_t i = 0; i < n_tail; i++)
		slots[i] = 3;
	ok(!eng_forward_batch(c, toks[4], slots, n_tail, want, lg, &err), "slot 3 fed on");
	memcpy(seq, toks[2], 30 * sizeof *seq);
	memcpy(seq + 30, toks[4], n_tail * sizeof *seq);
	if ((ref = alone(seq, 30 + n_tail)))
		ok(!memcmp(lg, ref + 30 * (size_t)n_vocab, n_tail * n_vocab * sizeof *lg),
		   "the copied prefix computes as the tokens themselves (memcmp)");
	free(ref);
	eng_seq_truncate(c, 1, 10);
	is_int(eng_seq_pos(c, 1), 10, "slot 1 truncated to 10");
	for (size_t i = 0; i < n_tail; i++)
		slots[i] = 1;
	ok(!eng_forward_batch(c, toks[4], slots, n_tail, want, lg, &err), "slot 1 fed again");
	memcpy(seq + 10, toks[4], n_tail * sizeof *seq);
	if ((ref = alone(seq, 10 + n_tail)))
		ok(!memcmp(lg, ref + 10 * (size_t)n_vocab, n_tail * n_vocab * sizeof *lg),
		   "a truncated slot fed again computes as alone (memcmp)");
	free(ref);
out:
	free(lg);
	eng_ctx_free(c);
}

/* Bad calls: MRL_EINPUT naming the problem, and no slot moves. */
static void t_bad_calls(void)
{
	struct mrl_err err = { 0 };
	struct eng_ctx *c = NULL;
	if (eng_ctx_new_multi(&c, m, 8, 2, &err)) {
		ok(0, "multi context");
		diag("%s", err.msg);
		return;
	}
	int32_t tk[10] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10 };
	uint32_t sq[10] = { 0, 1, 0, 1, 0, 1, 0, 1, 0, 2 };
	is_int(eng_forward_batch(c, tk, sq, 10, NULL, NULL, &err), MRL_EINPUT, "slot 2 of 2 is refused");
	like(err.msg, "outside the context", "the message says why");
	is_int(eng_seq_pos(c, 0) + eng_seq_pos(c, 1), 0, "nothing was computed");
	uint32_t zeros[10] = { 0 };
	is_int(eng_forward_batch(c, tk, zeros, 9, NULL, NULL, &err), MRL_EINPUT, "9 tokens in a slot of 8 are refused");
	like(err.msg, "do not fit", "the message says why");
	int32_t oob = (int32_t)n_vocab;
	is_int(eng_forward_batch(c, &oob, sq, 1, NULL, NULL, &err), MRL_EINPUT, "a token outside the vocabulary");
	is_int(eng_forward_batch(c, tk, sq, 0, NULL, NULL, &err), MRL_EINPUT, "an empty batch");
	is_int(eng_seq_copy(c, 0, 1, 1, &err), MRL_EINPUT, "copying more positions than the slot holds");
	is_int(eng_seq_copy(c, 0, 2, 0, &err), MRL_EINPUT, "copying to a slot out of range");
	struct eng_ctx *c0 = NULL;
	is_int(eng_ctx_new_multi(&c0, m, 8, 0, &err), MRL_EINPUT, "a context of no sequences");
	eng_ctx_free(c0);
	eng_ctx_free(c);
}

int main(void)
{
	const char *fx = fixtures_dir();
	if (!fx)
		skip_all("fixtures absent: ../shared/fixtures");
	uint64_t r = 7;
	static const char *const models[] = { "tiny-llama-ff192-f32.gguf", "tiny-llama-ff192-f16.gguf",
					      "tiny-llama-ff192-q8_0.gguf", "tiny-llama-ff192-q4_0.gguf",
					      "tiny-qwen2-f32.gguf" };
	for (size_t k = 0; k < sizeof models / sizeof models[0]; k++)
		for (int threads = 1; threads <= 2; threads++) {
			char path[1024];
			struct mrl_err err = { 0 };
			struct eng_open_opts o = { .n_threads = threads };
			snprintf(path, sizeof path, "%s/models/%s", fx, models[k]);
			label = models[k];
			if (eng_model_open(&m, path, &o, &err)) {
				ok(0, "open the model");
				diag("%s: %s", label, err.msg);
				continue;
			}
			struct eng_model_desc d;
			eng_model_describe(m, &d);
			n_vocab = d.n_vocab;
			for (int s = 0; s < N_SEQ; s++)
				for (size_t i = 0; i < seq_len[s]; i++)
					toks[s][i] = (int32_t)(rnd(&r) % n_vocab);
			/* all logits with 1 thread, every third row's not wanted with 2 */
			TEST(t_interleaved(threads == 1), "%s, %d threads: interleaved sequences in odd calls equal each "
			     "alone", label, threads);
			TEST(t_copy_truncate(), "%s, %d threads: a copied prefix and a truncated slot compute as alone",
			     label, threads);
			if (k == 0 && threads == 1)
				TEST(t_bad_calls(), "bad calls fail with MRL_EINPUT and compute nothing");
			eng_model_close(m);
			m = NULL;
		}
	return done_testing();
}
