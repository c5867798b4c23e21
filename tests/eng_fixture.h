/* eng_fixture.h — what the scoring tests (eng_score.c, eng_score_dist.c) share:
 * the reference they check eng_score against, computed the plain way. A
 * request's logits come from one eng_decode of ctx ++ cont[:-1] in an empty
 * context; its log-probabilities from a log-softmax summed in long double.
 * Header-only (static functions): each test program includes it once.
 */
#ifndef MERILO_TESTS_ENG_FIXTURE_H
#define MERILO_TESTS_ENG_FIXTURE_H

#include <math.h>
#include <stdint.h>

#include "common/err.h"
#include "engine/eng.h"

/* Longest request (n_ctx + n_cont - 1 tokens) decode_request takes. */
#define FIXTURE_MAX_SEQ 64

/* Empties c and decodes ctx ++ cont[:-1] of q with all logits into lg
 * (n_ctx + n_cont - 1 rows of n_vocab, caller's). Returns eng_decode's code. */
static int decode_request(struct eng_ctx *c, const struct eng_score_req *q, float *lg, struct mrl_err *err)
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
static long double row_log_z(const float *row, uint32_t n_vocab)
{
	long double z = 0;
	for (uint32_t v = 0; v < n_vocab; v++)
		z += expl((long double)row[v]);
	return logl(z);
}

#endif
