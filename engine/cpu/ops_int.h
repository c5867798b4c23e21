/* ops_int.h — what the CPU backend's files share (engine/cpu/ops.c, attention.c,
 * attn_kt.c, kvcache.c). */
#ifndef MRL_ENG_CPU_OPS_INT_H
#define MRL_ENG_CPU_OPS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/eng_int.h"

/* struct eng_ops' attention and attention_pos (attention.c). */
void eng_cpu_attention(struct eng_exec *ex, const struct eng_kv *kv, int il, const float *q, int n_tok, uint32_t pos0,
		       int n_head, int n_head_kv, int head_dim, uint32_t window, float *out);
void eng_cpu_attention_pos(struct eng_exec *ex, const struct eng_kv *kv, int il, const float *q, int n_tok,
			   const uint32_t *pos, const uint32_t *base, int n_head, int n_head_kv, int head_dim,
			   uint32_t window, float *out);

/* Bytes of one kv head's keys (or values) in a layer's buffer of the head-major cache
 * (struct eng_kv): kv head h's start h times this far in. */
static inline size_t eng_kv_head_bytes(const struct eng_kv *kv, bool f16)
{
	return (size_t)kv->n_pad * kv->head_dim * (f16 ? sizeof(uint16_t) : sizeof(float));
}

/* struct eng_ops' kv_store, kv_store_pos and kv_move for the head-major cache of
 * struct eng_kv (kvcache.c). */
void eng_cpu_kv_store(struct eng_exec *ex, struct eng_kv *kv, int il, uint32_t pos0, int n_tok, const float *k,
		      const float *v);
void eng_cpu_kv_store_pos(struct eng_exec *ex, struct eng_kv *kv, int il, const uint32_t *pos, const uint32_t *base,
			  int n_tok, const float *k, const float *v);
void eng_cpu_kv_move(struct eng_exec *ex, struct eng_kv *kv, size_t from, size_t to, size_t n);

/* One kv head's keys, kt its first block (struct eng_kv's transposed layout; f16
 * elements where f16, else f32; attn_kt.c):
 * - eng_kt_scores: out[i * out_stride + (r - lo)] = query i . key row r for lo <= r < hi,
 *   nq (1..4) queries at q + i * q_stride; the bits of eng_mdot_f32, and of
 *   eng_mdot_f16_xh where keys and queries are f16 values (cpu/kernels.h);
 * - eng_kt_put_row: x (hd floats) as row r; eng_kt_put16: rows r0 .. r0 + 15 (r0 a
 *   multiple of 16) from x, x + x_stride, ..., the same elements as 16 eng_kt_put_row;
 * - eng_kt_move: rows from .. from + n - 1 to rows to .., as memmove would move them. */
void eng_kt_scores(int hd, const void *kt, bool f16, int lo, int hi, const float *q, size_t q_stride, int nq,
		   float *out, size_t out_stride);
void eng_kt_put_row(void *kt, int hd, size_t r, const float *x, bool f16);
void eng_kt_put16(void *kt, int hd, size_t r0, const float *x, size_t x_stride, bool f16);
void eng_kt_move(void *kt, int hd, bool f16, size_t from, size_t to, size_t n);

#endif
