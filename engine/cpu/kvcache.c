/* kvcache.c — the CPU backend's KV cache stores and moves (struct eng_ops' kv_store,
 * kv_store_pos and kv_move) in the head-major layout struct eng_kv describes: each kv
 * head's values as rows of head_dim elements, its keys in blocks of 16 rows transposed
 * (attn_kt.c). A block that a call's tokens fill whole, in order, is transposed at once
 * (eng_kt_put16, one thread); the other keys go element by element. Every element is
 * the token's k or v element (as f16 where the cache is f16, rounded to nearest even),
 * so where it lies changes no result.
 */
#include "engine/cpu/ops_int.h"

#include <string.h>

#include "engine/types.h"

#if defined(__AVX2__) && defined(__F16C__)
#include <immintrin.h>
#define KV_F16C 1
#else
#define KV_F16C 0
#endif

static void to_f16_row(const float *x, uint16_t *out, size_t n)
{
	size_t i = 0;
#if KV_F16C
	for (; i + 8 <= n; i += 8)
		_mm_storeu_si128((__m128i *)(out + i),
				 _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC));
#endif
	for (; i < n; i++)
		out[i] = eng_f32_to_f16(x[i]);
}

struct kvs_job {
	const struct eng_exec *ex;
	struct eng_kv *kv;
	int il, n_tok;
	uint32_t pos0;
	const uint32_t *pos, *base; /* per token (kv_store_pos), or NULL: rows pos0 + t */
	const float *k, *v;
};

/* The cache row of token t. */
static size_t kvs_row(const struct kvs_job *j, int t)
{
	return j->pos ? (size_t)j->base[t] + j->pos[t] : (size_t)j->pos0 + (size_t)t;
}

/* Whether the call's tokens fill token t's block of 16 rows whole, in order. */
static bool kvs_whole(const struct kvs_job *j, int t)
{
	const size_t r = kvs_row(j, t), r0 = r - r % 16;
	const int s = t - (int)(r % 16);
	if (s < 0 || s + 16 > j->n_tok)
		return false;
	for (int i = 0; i < 16 && j->pos; i++)
		if (kvs_row(j, s + i) != r0 + (size_t)i)
			return false;
	return true;
}

static void kv_store_task(void *arg, int64_t t0, int64_t t1, int tid)
{
	(void)tid;
	const struct kvs_job *j = arg;
	const struct eng_kv *kv = j->kv;
	const bool f16 = j->ex->kv_f16;
	const int hd = (int)kv->head_dim, n_head = (int)(kv->n_embd_kv / kv->head_dim);
	const size_t elt = f16 ? sizeof(uint16_t) : sizeof(float), hs = eng_kv_head_bytes(kv, f16);
	for (int64_t t = t0; t < t1; t++) {
		const size_t r = kvs_row(j, (int)t);
		const float *kr = j->k + (size_t)t * kv->n_embd_kv, *vr = j->v + (size_t)t * kv->n_embd_kv;
		const bool whole = kvs_whole(j, (int)t);
		for (int h = 0; h < n_head; h++) {
			char *kh = (char *)kv->k[j->il] + (size_t)h * hs;
			char *vd = (char *)kv->v[j->il] + (size_t)h * hs + r * (size_t)hd * elt;
			if (!whole)
				eng_kt_put_row(kh, hd, r, kr + (size_t)h * hd, f16);
			else if (r % 16 == 0) /* the block's first token writes its 16 keys */
				eng_kt_put16(kh, hd, r, kr + (size_t)h * hd, kv->n_embd_kv, f16);
			if (f16)
				to_f16_row(vr + (size_t)h * hd, (uint16_t *)vd, (size_t)hd);
			else
				memcpy(vd, vr + (size_t)h * hd, (size_t)hd * sizeof(float));
		}
	}
}

static void kv_store_run(struct kvs_job *j)
{
	if (j->n_tok >= 4)
		eng_pool_run(j->ex->pool, kv_store_task, j, j->n_tok);
	else
		kv_store_task(j, 0, j->n_tok, 0);
}

void eng_cpu_kv_store(struct eng_exec *ex, struct eng_kv *kv, int il, uint32_t pos0, int n_tok, const float *k,
		      const float *v)
{
	struct kvs_job j = { .ex = ex, .kv = kv, .il = il, .n_tok = n_tok, .pos0 = pos0, .k = k, .v = v };
	kv_store_run(&j);
}

void eng_cpu_kv_store_pos(struct eng_exec *ex, struct eng_kv *kv, int il, const uint32_t *pos, const uint32_t *base,
			  int n_tok, const float *k, const float *v)
{
	struct kvs_job j = { .ex = ex, .kv = kv, .il = il, .n_tok = n_tok, .pos = pos, .base = base, .k = k, .v = v };
	kv_store_run(&j);
}

void eng_cpu_kv_move(struct eng_exec *ex, struct eng_kv *kv, size_t from, size_t to, size_t n)
{
	const bool f16 = ex->kv_f16;
	const size_t hd = kv->head_dim, elt = f16 ? sizeof(uint16_t) : sizeof(float), hs = eng_kv_head_bytes(kv, f16);
	for (uint32_t il = 0; il < kv->n_layer; il++)
		for (size_t h = 0; h < kv->n_embd_kv / hd; h++) {
			char *v = (char *)kv->v[il] + h * hs;
			eng_kt_move((char *)kv->k[il] + h * hs, (int)hd, f16, from, to, n);
			memmove(v + to * hd * elt, v + from * hd * elt, n * hd * elt);
		}
}
