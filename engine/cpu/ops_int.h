/* ops_int.h — what the CPU backend's files share (engine/cpu/ops.c, attention.c). */
#ifndef MRL_ENG_CPU_OPS_INT_H
#define MRL_ENG_CPU_OPS_INT_H

#include <stddef.h>
#include <stdint.h>

#include "engine/eng_int.h"

/* struct eng_ops' attention and attention_pos (attention.c). */
void eng_cpu_attention(struct eng_exec *ex, const struct eng_kv *kv, int il, const float *q, int n_tok, uint32_t pos0,
		       int n_head, int n_head_kv, int head_dim, uint32_t window, float *out);
void eng_cpu_attention_pos(struct eng_exec *ex, const struct eng_kv *kv, int il, const float *q, int n_tok,
			   const uint32_t *pos, const uint32_t *base, int n_head, int n_head_kv, int head_dim,
			   uint32_t window, float *out);

#endif
