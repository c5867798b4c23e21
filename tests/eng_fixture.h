/* eng_fixture.h — what the scoring tests (eng_score.c, eng_score_dist.c) share:
 * the reference they check eng_score against, computed the plain way. A
 * request's logits come from one eng_decode of ctx ++ cont[:-1] in an empty
 * context; its log-probabilities from a log-softmax summed in long double. Also the
 * logits of a whole sequence (eng_hf.c, eng_derived.c).
 * Header-only (static inline functions): each test program includes it once.
 */
#ifndef MERILO_TESTS_ENG_FIXTURE_H
#define MERILO_TESTS_ENG_FIXTURE_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/err.h"
#include "engine/eng.h"

/* Logits of every position of ids from model (GGUF or HF folder) opened with oo, in one
 * eng_decode from an empty context of 256: malloc'd, *n_out = n x n_vocab floats; NULL on
 * failure, after a diag naming the model (include tests/tap.h first). */
static inline float *fixture_logits_opts(const char *model, const struct eng_open_opts *oo, const int32_t *ids,
					 size_t n, size_t *n_out)
{
	struct eng_model *m = NULL;
	struct eng_ctx *c = NULL;
	struct mrl_err err = { 0 };
	float *lg = NULL;
	if (eng_model_open(&m, model, oo, &err) == 0 && eng_ctx_new(&c, m, 256, &err) == 0) {
		struct eng_model_desc d;
		eng_model_describe(m, &d);
		*n_out = n * d.n_vocab;
		lg = malloc(*n_out * sizeof *lg);
		if (lg && eng_decode(c, ids, n, lg, true, &err)) {
			free(lg);
			lg = NULL;
		}
	}
	if (!lg)
		diag("%s: %s", model, err.msg);
	eng_ctx_free(c);
	eng_model_close(m);
	return lg;
}

/* The same with n_threads and an f32 KV cache. */
static inline float *fixture_all_logits(const char *model, int n_threads, const int32_t *ids, size_t n, size_t *n_out)
{
	struct eng_open_opts oo = { .n_threads = n_threads, .kv_f32 = true };
	return fixture_logits_opts(model, &oo, ids, n, n_out);
}

/* Longest request (n_ctx + n_cont - 1 tokens) decode_request takes. */
#define FIXTURE_MAX_SEQ 64

/* Empties c and decodes ctx ++ cont[:-1] of q with all logits into lg
 * (n_ctx + n_cont - 1 rows of n_vocab, caller's). Returns eng_decode's code. */
static inline int decode_request(struct eng_ctx *c, const struct eng_score_req *q, float *lg, struct mrl_err *err)
{
	int32_t seq[FIXTURE_MAX_SEQ];
	size_t n = 0;
	if (q->n_ctx + q->n_cont - 1 > FIXTURE_MAX_SEQ)
		return mrl_err_set(err, MRL_EINPUT, "decode_request: request of %zu tokens, more than %d",
				   q->n_ctx + q->n_cont - 1, FIXTURE_MAX_SEQ);
	for (size_t i = 0; i < q->n_ctx; i++)
		seq[n++] = q->ctx[i];
	for (size_t i = 0; i + 1 < q->n_cont; i++)
		seq[n++] = q->cont[i];
	eng_ctx_truncate(c, 0);
	return eng_decode(c, seq, n, lg, true, err);
}

/* log(sum exp(row[v])) over the n_vocab logits of a row, in long double. */
static inline long double row_log_z(const float *row, uint32_t n_vocab)
{
	long double z = 0;
	for (uint32_t v = 0; v < n_vocab; v++)
		z += expl((long double)row[v]);
	return logl(z);
}

#endif
