/* eng_int.h — declarations shared inside engine/ (not part of the public surface).
 *
 * The model handle is opaque to callers of eng.h; the tokenizer, the forward
 * pass, the backends and the scoring code reach what they need of it here.
 *
 * Layering inside the engine:
 *   model.c   — the handle: mmap, GGUF parse, vocabulary, tensor/metadata info
 *   arch.c    — architecture configuration from metadata (struct eng_config)
 *               and binding/checking of the weight tensors (struct eng_weights)
 *   forward.c — the forward pass, written once against struct eng_ops
 *   cpu/ops.c — the CPU implementation of struct eng_ops
 *   threadpool.c — the per-context worker pool the CPU ops split work over
 *   score.c   — eng_score on top of the forward pass
 */
#ifndef MRL_ENG_INT_H
#define MRL_ENG_INT_H

#include <stdbool.h>
#include <sys/stat.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "engine/eng.h"
#include "engine/gguf.h"

struct eng_vocab;
struct eng_moe_scratch;
struct eng_lora;
struct eng_lora_set;

/* The model's vocabulary (loaded at open). Owned by the model; lives as long as it. */
const struct eng_vocab *eng_model_vocab(const struct eng_model *m);

/* ---- architecture configuration ---- */

enum eng_arch_id { ENG_ARCH_LLAMA = 0, ENG_ARCH_QWEN2 = 1, ENG_ARCH_GPT2 = 2, ENG_ARCH_GEMMA2 = 3, ENG_ARCH_PHI3 = 4,
		   ENG_ARCH_QWEN3 = 5, ENG_ARCH_GEMMA3 = 6, ENG_ARCH_QWEN3MOE = 7, ENG_ARCH_QWEN2MOE = 8 };

/* Mixture-of-experts layers: at most this many experts (Qwen3-MoE has 128, DeepSeek 256). */
#define ENG_MAX_EXPERTS 512
/* RMS: x / rms(x) * w; LAYER: (x - mean) / sd(x) * w + b (GPT-2) */
enum eng_norm_kind { ENG_NORM_RMS = 0, ENG_NORM_LAYER = 1 };
/* SWIGLU: down(silu(gate h) * up h); GELU: down(gelu(up h + b)) + b, no gate (GPT-2);
 * GEGLU: down(gelu(gate h) * up h) (Gemma 2). GELU is the tanh approximation. */
enum eng_ffn_kind { ENG_FFN_SWIGLU = 0, ENG_FFN_GELU = 1, ENG_FFN_GEGLU = 2 };
/* ENG_ROPE_NORM: GGUF llama layout, adjacent pairs (x[2i], x[2i+1]);
 * ENG_ROPE_NEOX: halves (x[i], x[i + n_rot/2]); ENG_ROPE_NONE: learned positions. */
enum eng_rope_kind { ENG_ROPE_NONE = 0, ENG_ROPE_NORM = 1, ENG_ROPE_NEOX = 2 };

/* Rope scaling as ggml's rope_ext computes it: pair i's angle theta_e = pos *
 * base^(-2i/n_rot) (divided by a rope_freqs factor where the model has them) becomes
 * theta_i = freq_scale * theta_e (linear interpolation), and with ext_factor 1 (YaRN)
 * theta_i + (theta_e - theta_i) * ramp(i), ramp 1 below corr[0] falling to 0 at corr[1];
 * cos and sin are then multiplied by mscale. A zero freq_scale or mscale means 1, so a
 * zeroed struct is plain rope. */
struct eng_rope_scaling {
	float freq_scale;  /* 1 / the context factor */
	float ext_factor;  /* 0: linear; 1: YaRN's ramp */
	float corr[2];     /* YaRN: the pair indices where the ramp starts and ends */
	float mscale;      /* the magnitude of cos and sin (YaRN's attention factor) */
};

#define ENG_MAX_LAYERS 4096

/* Everything the forward pass needs to know about an architecture: sizes
 * from the metadata, and flags that select the small kernels where
 * architectures differ (Qwen2, GPT-2 and Gemma 2 are configuration, not code). */
struct eng_config {
	enum eng_arch_id arch;
	const char *arch_name;      /* static string, e.g. "llama" */
	uint32_t n_vocab, n_ctx_train, n_embd, n_layer, n_head, n_head_kv;
	uint32_t n_ff;              /* the FFN's width; an expert's in a mixture-of-experts model */
	/* Mixture of experts (Mixtral, Qwen3-MoE): n_expert > 0 replaces every layer's FFN by
	 * n_expert SwiGLU FFNs of n_ff; a router (ffn_gate_inp) gives each token a softmax over
	 * them, the token runs through the n_expert_used most probable and takes the sum of
	 * their outputs weighted by those probabilities, renormalized to sum 1 where
	 * expert_norm (Mixtral; Qwen3-MoE's norm_topk_prob). 0: a dense FFN. */
	uint32_t n_expert, n_expert_used;
	bool expert_norm;
	uint32_t n_ff_shexp;        /* > 0: a shared expert of this width beside them, its output times
				     * sigmoid(ffn_gate_inp_shexp . h) added to theirs (Qwen2-MoE) */
	uint32_t head_dim;          /* per-head size of q/k/v */
	uint32_t n_rot;             /* rotated dims per head (<= head_dim, even); 0 without rope */
	uint32_t n_embd_q;          /* n_head * head_dim */
	uint32_t n_embd_kv;         /* n_head_kv * head_dim */
	float rope_freq_base, norm_eps;
	float rope_freq_base_swa;   /* > 0: the windowed layers' rope base, unscaled (Gemma 3's local
				     * rope, 10000); 0: every layer has rope_freq_base and the scaling */
	struct eng_rope_scaling rope_scaling; /* all zero: unscaled */
	uint32_t rope_n_ctx_orig;   /* longrope: contexts longer than this take the long factors */
	bool rope_exact;            /* angles pos x inv_freq[i], one float32 product as transformers
				     * takes them (HF folders); else ggml's running product, as
				     * llama.cpp (GGUF) */
	enum eng_norm_kind norm;
	enum eng_ffn_kind ffn;
	enum eng_rope_kind rope;
	bool qkv_bias;              /* q/k/v have biases (Qwen2, GPT-2) */
	bool learned_pos;           /* position_embd.weight added to the embedding (GPT-2) */
	bool lin_bias;              /* attn_output, ffn_up, ffn_down and the norms have biases (GPT-2) */
	bool post_norms;            /* attention and FFN outputs are normed before their residual add (Gemma 2) */
	bool qk_norm;               /* each head of q and of k RMS-normed (weights of head_dim) before rope (Qwen3) */
	bool fused_qkv;             /* one attn_qkv matrix, rows [q | k | v] (GPT-2, Phi-3) */
	bool fused_gate_up;         /* one ffn_up matrix, rows [gate | up] (Phi-3) */
	bool gelu_f16;              /* GELU through ggml's f16 table, as llama.cpp computes it (set for GGUF) */
	bool f16_act;               /* F16 (BF16) weights dot activations rounded to f16 (bf16), as llama.cpp
				     * (set for GGUF); else f32 activations, as transformers' float32
				     * computation (HF folders) */
	float embd_scale;           /* token embeddings times this; 0 = unscaled (Gemma: sqrt(n_embd)) */
	float attn_scale;           /* q.k times this: 1/sqrt(head_dim), Gemma 2: query_pre_attn_scalar^-1/2 */
	float attn_softcap;         /* scores s -> c * tanh(s / c) before the mask; 0 = none (Gemma 2) */
	float final_softcap;        /* the same on the logits; 0 = none (Gemma 2) */
	uint32_t sliding_window;    /* query i sees keys j with i - j < sliding_window on the layers
				       marked in swa_layers; 0 = all keys everywhere (Mistral, Gemma 2) */
	uint64_t swa_layers[ENG_MAX_LAYERS / 64]; /* bit il: layer il is windowed */
};

/* The architecture row name (llama, qwen2, qwen3, gpt2, gemma2, gemma3, phi3) into cfg: arch, arch_name
 * and the flags (norm, ffn, rope layout as GGUF stores it, biases, fusions, post
 * norms); 0, or -1 for a name the table does not have. */
int eng_config_set_arch(struct eng_config *cfg, const char *name);
/* Mark the layers the architecture's pattern windows (cfg->arch's row; with a
 * sliding_window): every layer, or Gemma 2's 0, 2, 4, ... */
void eng_config_window_layers(struct eng_config *cfg);
/* The widest FFN a layer computes: n_ff, or a shared expert's where wider. */
static inline uint32_t eng_config_ff_widest(const struct eng_config *c)
{
	return c->n_ff_shexp > c->n_ff ? c->n_ff_shexp : c->n_ff;
}
/* The window layer il attends within (0 = every earlier key). */
static inline uint32_t eng_layer_window(const struct eng_config *c, uint32_t il)
{
	return il < ENG_MAX_LAYERS && (c->swa_layers[il / 64] >> (il % 64) & 1) ? c->sliding_window : 0;
}
static inline void eng_set_layer_windowed(struct eng_config *c, uint32_t il)
{
	if (il < ENG_MAX_LAYERS)
		c->swa_layers[il / 64] |= (uint64_t)1 << (il % 64);
}

/* Read the configuration for the file's general.architecture.
 * MRL_EUNSUPPORTED for an architecture we do not run, MRL_EINPUT naming the key
 * for a missing or unusable required key. path prefixes messages. */
int eng_config_load(struct eng_config *cfg, const struct gguf_ctx *g, const char *path,
		    struct mrl_err *err);

/* A weight tensor as the forward pass sees it: a row-major matrix of ne1 rows
 * of ne0 elements (a vector has ne1 == 1), pointing into the mapping. */
struct eng_tensor {
	const char *name;     /* static name for the model-level tensors, NULL in layers */
	const void *data;     /* NULL when an optional tensor is absent */
	uint32_t type;        /* ggml type id */
	uint64_t ne0, ne1;
	uint64_t row_bytes;   /* bytes of one row of ne0 elements (as stored in the file) */
	uint8_t layout;       /* ENG_LAYOUT_ROWS, or ENG_LAYOUT_KR16 in the CPU's repacked copy */
	const struct eng_lora *lora; /* a LoRA pair adding to this matrix's product (engine/lora.c), or NULL */
};

/* A LoRA pair on one matrix W (n_in -> n_out): W x + scale * b (a x); a: r rows of n_in,
 * b: n_out rows of r (f32; for a part of a fused matrix, its rows of the pair's B). */
struct eng_lora {
	struct eng_tensor a, b;
	float scale;
};

/* How a tensor's data is laid out: rows as in the file, or (K-quant, Q4_1 and Q5_1 matrices on AVX-512
 * VNNI CPUs, engine/cpu/repack.h) 16-row interleaved blocks that only the matmul reads. */
enum { ENG_LAYOUT_ROWS = 0, ENG_LAYOUT_KR16 = 1 };

/* Tensors a configuration flag does not ask for stay zeroed (data NULL). With
 * fused_qkv, wq/wk/wv (and bq/bk/bv) are row ranges of one attn_qkv tensor;
 * with fused_gate_up, ffn_gate and ffn_up of one ffn_up tensor. */
struct eng_layer {
	struct eng_tensor attn_norm, wq, wk, wv, wo;
	struct eng_tensor bq, bk, bv;        /* qkv_bias */
	struct eng_tensor attn_norm_b, bo;   /* lin_bias */
	struct eng_tensor attn_post_norm;    /* post_norms */
	struct eng_tensor attn_q_norm, attn_k_norm; /* qk_norm: head_dim each */
	struct eng_tensor ffn_norm, ffn_gate, ffn_up, ffn_down;
	struct eng_tensor ffn_norm_b, ffn_up_b, ffn_down_b; /* lin_bias */
	struct eng_tensor ffn_post_norm;     /* post_norms */
	/* n_expert > 0: the router, (n_embd, n_expert), and the experts, 3 x n_expert matrices
	 * (gate, up, down of expert e at 3e, 3e + 1, 3e + 2) in eng_weights.experts; the dense
	 * ffn_gate/ffn_up/ffn_down stay zeroed. */
	struct eng_tensor ffn_gate_inp;
	struct eng_tensor *exps;
	/* n_ff_shexp > 0: the shared expert's gate vector, (n_embd, 1), and its SwiGLU FFN */
	struct eng_tensor ffn_gate_inp_shexp, ffn_gate_shexp, ffn_up_shexp, ffn_down_shexp;
};

struct eng_weights {
	struct eng_tensor tok_embd;     /* (n_embd, n_vocab) */
	struct eng_tensor pos_embd;     /* (n_embd, n_ctx_train), learned_pos */
	struct eng_tensor output_norm;  /* (n_embd) */
	struct eng_tensor output_norm_b; /* (n_embd), lin_bias */
	struct eng_tensor output;       /* (n_embd, n_vocab); token_embd when tied */
	bool tied_output;
	const float *rope_factors;      /* rope_freqs.weight (n_rot/2 f32), NULL when absent */
	const float *rope_long, *rope_short; /* Phi-3's longrope (n_rot/2 f32 each): rope_factors_long/short,
					      * both or neither; eng_ctx_new_multi picks one */
	struct eng_layer *layers;       /* n_layer entries, malloc'd; eng_weights_release */
	struct eng_tensor *experts;     /* n_layer * n_expert * 3 expert matrices (eng_layer.exps), malloc'd;
					 * NULL for a dense model. A GGUF's 3-d ffn_*_exps tensors are cut
					 * into one matrix per expert; an HF folder's are per expert already. */
};

/* Find every tensor the configuration needs and check its shape and type.
 * MRL_EINPUT naming the tensor when one is missing or mismatched;
 * MRL_EUNSUPPORTED for a type without kernels. */
int eng_weights_bind(struct eng_weights *w, const struct eng_config *cfg, const struct gguf_ctx *g,
		     const char *path, struct mrl_err *err);
/* The same over any tensor source: find(src, name) returns the tensor under
 * its GGUF name (token_embd.weight, blk.N.attn_q.weight, ...) or NULL. */
typedef const struct gguf_tensor *(*eng_tensor_find_fn)(const void *src, const char *name);
int eng_weights_bind_src(struct eng_weights *w, const struct eng_config *cfg, eng_tensor_find_fn find,
			 const void *src, const char *path, struct mrl_err *err);
void eng_weights_release(struct eng_weights *w);

/* The CPU backend's weights (engine/cpu/repack.c): on an AVX-512 VNNI CPU, unless
 * m->no_repack or MERILO_NO_REPACK=1, a copy of m->w whose Q2_K..Q6_K, IQ4_XS, Q4_1, Q5_1,
 * Q8_0, Q4_0, Q5_0 and IQ4_NL matrices are repacked into 16-row blocks (the matmul's
 * results keep their bits; with AVX2 alone the Q4_K, Q5_K, Q6_K, Q4_1 and Q5_1 matrices only);
 * m->wx points at the weights to use. Where the copy is bigger
 * than the memory available the rows are read in place; MRL_ENOMEM naming the file when
 * its allocation fails. */
int eng_cpu_weights_open(struct eng_model *m, struct mrl_err *err);
void eng_cpu_weights_close(struct eng_model *m);

/* ---- Hugging Face folders (engine/hf.c) ---- */

struct eng_hf;
/* Whether dir holds an HF checkpoint: 1 for config.json and model.safetensors or
 * model.safetensors.index.json; 0 for neither config.json nor any safetensors file
 * (a tokenizer folder, or not a folder); MRL_EINPUT naming what is missing for part
 * of a checkpoint (safetensors without config.json, shards without their index,
 * config.json without weights). */
int eng_hf_checkpoint(const char *dir, struct mrl_err *err);
/* Read dir/config.json into cfg (n_vocab included) and map the safetensors
 * file(s) named by the index, or model.safetensors. *out owns the mappings and
 * the tensors under their GGUF names; free with eng_hf_close. MRL_EUNSUPPORTED
 * names an unknown model_type, rope_scaling type or other field that changes
 * the math; MRL_EINPUT names a missing or bad field or tensor. */
int eng_hf_open(struct eng_hf **out, struct eng_config *cfg, const char *dir, struct mrl_err *err);
void eng_hf_close(struct eng_hf *h);
/* eng_file_unchanged on every mapped shard (eng_model_check_file for a folder). */
int eng_hf_check_files(const struct eng_hf *h, struct mrl_err *err);
/* Shard i's mapping and path (owned by h); 0, or -1 past the last one. */
int eng_hf_mapping(const struct eng_hf *h, size_t i, const void **base, size_t *size, const char **path);
/* Whether the open file fd (at path, for the message) still has the size, mtime
 * and ctime of was: 0, or MRL_ERUNTIME naming path (defined in hf.c, used by model.c). */
int eng_file_unchanged(const char *path, int fd, const struct stat *was, struct mrl_err *err);
/* Tensors as stored in the files (HF names, file dtype and bytes; shape as GGUF
 * ne), for eng_model_tensor_info; and the bytes of the safetensors files. */
size_t eng_hf_n_tensors(const struct eng_hf *h);
void eng_hf_tensor_info(const struct eng_hf *h, size_t i, struct eng_tensor_info *out);
/* The tensors the forward pass reads, under their GGUF names (eng_model_weight_info):
 * tensor i and its name, or NULL past the last. */
size_t eng_hf_n_weights(const struct eng_hf *h);
const struct gguf_tensor *eng_hf_weight(const struct eng_hf *h, size_t i, const char **name);
uint64_t eng_hf_file_bytes(const struct eng_hf *h);
/* Name of file i of the folder that h was read from (strcmp order), NULL past the last. */
const char *eng_hf_file(const struct eng_hf *h, size_t i);
/* Tensor lookup by GGUF name, for eng_weights_bind_src (src is the struct eng_hf). */
const struct gguf_tensor *eng_hf_find(const void *h, const char *name);

/* ---- the model handle ---- */

struct eng_model {
	char *path;
	void *map;
	size_t map_size;
	int fd;                      /* the mapped file, kept open to notice changes; -1 when none */
	struct stat st_open;         /* fstat of fd when it was mapped */
	struct gguf_ctx *gguf;
	struct eng_hf *hf;           /* an HF folder's mapped safetensors; NULL for a GGUF */
	struct eng_vocab *vocab;
	bool has_weights;
	struct eng_config cfg;       /* valid when has_weights */
	struct eng_weights w;        /* valid when has_weights */
	int n_threads;               /* resolved (>= 1) */
	bool kv_f32;                 /* contexts keep an f32 KV cache (eng_open_opts.kv_f32) */
	bool pin_threads;            /* eng_open_opts.pin_threads */
	enum eng_backend backend;
	/* The backend the forward pass runs on (engine/backend.c): its operations
	 * and the weights they read (&w on the CPU; device copies for CUDA). bk is
	 * the loaded CUDA backend (library, device, device weights), NULL on CPU. */
	const struct eng_ops *ops;
	const struct eng_weights *wx;
	struct eng_backend_state *bk;
	/* The CPU's copy of w with the quantized matrices repacked (engine/cpu/repack.c; wx
	 * points at it then) and the one allocation holding them; kr_bytes its size. */
	struct eng_weights wr;
	void *kr_mem;
	size_t kr_bytes;
	char *repack_note;     /* why the quantized rows are read in place (a load warning), or NULL */
	struct eng_lora_set *lora;   /* the LoRA adapter on w's matrices (eng_open_opts.lora), or NULL */
	bool no_repack;              /* eng_open_opts.no_repack */
	char **tensor_names;         /* NUL-terminated copies, gguf_n_tensors entries */
	char **meta_keys;            /* NUL-terminated copies, gguf_n_kv entries */
	char *arch_str, *name_str, *tok_model_str;
	struct eng_model_desc desc;
};

/* ---- thread pool ---- */

struct eng_pool;
/* A task body: process items [begin, end) as worker thread_idx (0 = the caller). */
typedef void (*eng_task_fn)(void *arg, int64_t begin, int64_t end, int thread_idx);

/* A pool of n_threads - 1 workers plus the calling thread. With pin, thread i
 * (0: the caller) runs only on the (i mod k)-th of the k CPUs in the calling
 * thread's affinity mask; the caller's own mask is restored by eng_pool_free. */
int eng_pool_new(struct eng_pool **out, int n_threads, bool pin, struct mrl_err *err);
void eng_pool_free(struct eng_pool *p);
int eng_pool_n_threads(const struct eng_pool *p);
/* Run fn over [0, n) split into contiguous chunks (about four per thread) that
 * the threads claim from a shared counter, so a thread slowed by a neighbour's
 * load does less; returns when all chunks are done. Which thread gets which
 * chunk never changes the result as long as fn computes each item independently. */
void eng_pool_run(struct eng_pool *p, eng_task_fn fn, void *arg, int64_t n);

/* ---- backend operations ---- */

/* Queries of one head that the CPU attention takes together (they share their K rows). */
#define ENG_ATT_QUERIES 4

/* Per-context execution state of a backend (thread pool, scratch). */
struct eng_exec {
	struct eng_pool *pool;
	int n_threads;
	float *scores;        /* n_threads * scores_stride floats: attention scratch per thread */
	size_t scores_stride; /* >= ENG_ATT_QUERIES * (n_ctx + head_dim) */
	void *xq;             /* quantized/converted activations for matmul */
	size_t xq_size;
	/* Set by forward.c around a matmul whose input is the previous matmul's, unchanged
	 * since (wk and wv after wq, ffn_up after ffn_gate): the CPU reuses xq when it holds
	 * that input in the format this matmul wants (xq_fmt: format, weight type, length,
	 * tokens; all 0: nothing). Other backends ignore it. */
	bool same_x;
	struct { uint32_t act, wtype; int64_t n; int n_tok; bool tables; } xq_fmt;
	uint32_t n_ctx;
	bool kv_f16;          /* KV cache stored as f16 (llama.cpp's default) */
	/* Activation paths (see docs/engine.md for which matches llama.cpp best):
	 * q8_act: quantized weights dot a Q8_0-quantized activation (else f32);
	 * f16_act: f16 (bf16) weights dot an activation rounded to f16 (bf16), else f32. */
	bool q8_act, f16_act;
	/* Attention of the model (from struct eng_config): scores times att_scale (0: 1/sqrt(head_dim)),
	 * then att_softcap * tanh(s / att_softcap) when att_softcap > 0; gelu_f16: ggml's f16 GELU table. */
	float att_scale, att_softcap;
	bool gelu_f16;
	void *dev;            /* device backends: per-context state (stream, handles, scratch); NULL on CPU */
};

/* What a device backend's per-context state must hold room for (its scratch). */
struct eng_exec_sizes {
	uint32_t n_ubatch;    /* most tokens per forward call */
	uint32_t n_ctx;       /* KV positions */
	uint32_t n_vocab;
	uint32_t head_dim;
	uint64_t max_in;      /* widest matmul input row (elements) */
	uint64_t max_qweight; /* most elements of one quantized weight matrix (0 when none) */
};

/* Phases the device backends time with events (eng_ctx_phase_times). */
enum eng_phase { ENG_PHASE_PREFILL = 0, ENG_PHASE_DECODE = 1, ENG_PHASE_SCORE = 2, ENG_PHASE_COUNT = 3 };

/* The KV cache of one context: per layer, keys and values of n_ctx rows (positions of
 * all slots), n_embd_kv = n_head_kv * head_dim elements a row (f16 or f32 per
 * exec->kv_f16), each buffer room for n_pad rows (n_ctx rounded up to 16). A device
 * backend keeps rows of n_embd_kv elements one after the other. The CPU backend keeps
 * each layer head-major (cpu/kvcache.c writes it, cpu/attention.c and cpu/attn_kt.c read it):
 * kv head h's values are rows of head_dim elements at v + (h * n_pad + r) * head_dim,
 * its keys blocks of 16 rows transposed at k + h * n_pad * head_dim, element d of row
 * 16b + j at 16b * head_dim + 16d + j, so that one 512-bit vector holds element d of
 * 16 keys and a head's keys and values are each read as one stream. */
struct eng_kv {
	void **k, **v;        /* n_layer buffers */
	uint32_t n_layer, n_embd_kv, n_ctx, n_pad, head_dim;
};

/* What the rope ops need besides rows and positions: the layout, theta's base, the
 * model's scaling, and NULL or n_rot/2 divisors of the angles (Llama 3.1 scaling, GGUF
 * rope_freqs). eng_rope_of fills it from a model. */
struct eng_rope {
	enum eng_rope_kind kind;
	float freq_base;
	struct eng_rope_scaling s; /* freq_scale and mscale never 0 here */
	const float *freq_factors;
	const float *inv_freq;     /* rope_exact: n_rot/2 frequencies with the scaling folded in
				    * (eng_rope_inv_freq), else NULL: ggml's angles */
};

/* YaRN's corr dims for n_rot rotated dims, as ggml_rope_yarn_corr_dims (truncate: floor
 * and ceil, as ggml always and transformers by default). */
void eng_rope_yarn_corr(uint32_t n_rot, uint32_t n_ctx_orig, float base, float beta_fast, float beta_slow,
			bool truncate, float corr[2]);

/* The n_rot/2 rope frequencies of cfg->rope_exact, in float32 by transformers' steps
 * (_compute_default/linear/yarn/longrope_rope_parameters): 1 / base^(2i/n_rot), with
 * factors[i] (or NULL) 1 / (factors[i] base^(2i/n_rot)), divided by the linear factor,
 * or YaRN's blend of the interpolated and plain frequency. */
void eng_rope_inv_freq(const struct eng_config *cfg, const float *factors, float *inv);

/* The rope parameters of a model of configuration cfg with rope_freqs factors (or NULL)
 * and, for exact angles, their frequencies (or NULL). */
static inline struct eng_rope eng_rope_of(const struct eng_config *cfg, const float *freq_factors,
					  const float *inv_freq)
{
	struct eng_rope r = { .kind = cfg->rope, .freq_base = cfg->rope_freq_base, .s = cfg->rope_scaling,
			      .freq_factors = freq_factors, .inv_freq = inv_freq };
	if (r.s.freq_scale == 0.0f)
		r.s.freq_scale = 1.0f;
	if (r.s.mscale == 0.0f)
		r.s.mscale = 1.0f;
	return r;
}

/* The rope parameters of the windowed layers where theirs is their own (rope_freq_base_swa
 * > 0): that base, no scaling, no factors; exact angles from inv_freq (or NULL). The same
 * as eng_rope_of on eng_config_swa_rope's configuration, without copying it. */
static inline struct eng_rope eng_rope_swa(const struct eng_config *cfg, const float *inv_freq)
{
	struct eng_rope r = { .kind = cfg->rope, .freq_base = cfg->rope_freq_base_swa, .inv_freq = inv_freq };
	r.s.freq_scale = 1.0f;
	r.s.mscale = 1.0f;
	return r;
}

/* The configuration of the windowed layers' rope where it is their own (rope_freq_base_swa
 * > 0): that base, no scaling (for their frequencies, eng_rope_inv_freq). */
static inline struct eng_config eng_config_swa_rope(const struct eng_config *cfg)
{
	struct eng_config s = *cfg;
	s.rope_freq_base = cfg->rope_freq_base_swa;
	memset(&s.rope_scaling, 0, sizeof s.rope_scaling); /* not a compound literal: the CUDA build reads this as C++ */
	return s;
}

/* The operations the forward pass is written against. Activations are float
 * arrays of n_tok rows (token-major); every op computes each output element
 * in one thread with a fixed order, independent of n_tok and of the thread
 * count, so results are bit-identical across batch splits and thread counts. */
struct eng_ops {
	const char *name;
	/* out[t * out_stride + r] = W[r] . x[t * w->ne0 ...] for t < n_tok, r < w->ne1. */
	void (*matmul)(struct eng_exec *ex, const struct eng_tensor *w, const float *x, int n_tok,
		       float *out, size_t out_stride);
	/* out[i] = row ids[i] of w, dequantized (ids already range-checked). */
	void (*get_rows)(struct eng_exec *ex, const struct eng_tensor *w, const int32_t *ids, int n,
			 float *out);
	/* out[t] = x[t] / rms(x[t]) * weight (weight f32, dim elements). */
	void (*rmsnorm)(struct eng_exec *ex, const float *x, const float *weight, int n_tok, int dim,
			float eps, float *out);
	/* Rotate n_tok rows of n_head heads of head_dim; row t has position pos0 + t. */
	void (*rope)(struct eng_exec *ex, float *x, int n_tok, int n_head, int head_dim, int n_rot,
		     uint32_t pos0, const struct eng_rope *r);
	/* Write n_tok rows of k and v (n_embd_kv each) at positions pos0.. of layer il. */
	void (*kv_store)(struct eng_exec *ex, struct eng_kv *kv, int il, uint32_t pos0, int n_tok,
			 const float *k, const float *v);
	/* Causal grouped-query attention of n_tok queries at positions pos0.. over
	 * the cache of layer il; out has n_head * head_dim per row. window > 0:
	 * the query at position i sees keys j with i - j < window (Mistral, Gemma 2's
	 * local layers). Scores are scaled and capped as ex->att_scale/att_softcap say. */
	void (*attention)(struct eng_exec *ex, const struct eng_kv *kv, int il, const float *q,
			  int n_tok, uint32_t pos0, int n_head, int n_head_kv, int head_dim, uint32_t window,
			  float *out);
	/* gate[i] = silu(gate[i]) * up[i] */
	void (*swiglu)(struct eng_exec *ex, float *gate, const float *up, size_t n);
	/* x[i] += y[i] */
	void (*add)(struct eng_exec *ex, float *x, const float *y, size_t n);
	/* x[t][i] += b[i] for t < n_tok (biases, f32) */
	void (*add_row)(struct eng_exec *ex, float *x, const float *b, int n_tok, int dim);

	/* Device backends (CUDA) set the members below; the CPU leaves them NULL,
	 * and then the context uses calloc/free and host pointers throughout.
	 * Ops above return nothing: a device error is kept on ex (the first one
	 * wins) and reported by status. */
	/* Create the per-context state in ex->dev; 0 or a negative MRL_E* with msg. */
	int (*exec_init)(struct eng_exec *ex, const struct eng_exec_sizes *sz, char *msg, size_t msg_size);
	void (*exec_release)(struct eng_exec *ex);
	/* Zeroed device memory of bytes; NULL on failure (the reason goes to status). */
	void *(*alloc)(struct eng_exec *ex, size_t bytes);
	void (*free)(struct eng_exec *ex, void *p);
	/* Copies between host and device memory; download returns when the bytes are on the host. */
	void (*upload)(struct eng_exec *ex, void *dev, const void *host, size_t bytes);
	void (*download)(struct eng_exec *ex, void *host, const void *dev, size_t bytes);
	/* Wait for the queued work; 0, or the first error since exec_init (MRL_ERUNTIME /
	 * MRL_ENOMEM) with a one-line message naming the file and line of the failing call. */
	int (*status)(struct eng_exec *ex, char *msg, size_t msg_size);
	/* Bracket one forward call of a phase with device events (end = false, then true). */
	void (*phase_mark)(struct eng_exec *ex, enum eng_phase phase, bool end);
	/* Device milliseconds and calls per phase since exec_init (completed phases only). */
	void (*phase_times)(struct eng_exec *ex, double ms[ENG_PHASE_COUNT], uint64_t calls[ENG_PHASE_COUNT]);

	/* Ops only some architectures need (GPT-2, Gemma 2). A backend that lacks
	 * one leaves it NULL (members past the end of a positional initializer are),
	 * and eng_backend_open refuses the architectures that need it. */
	/* out[t] = (x[t] - mean) / sqrt(var + eps) * weight + bias (bias NULL: none). */
	void (*layernorm)(struct eng_exec *ex, const float *x, const float *weight, const float *bias, int n_tok,
			  int dim, float eps, float *out);
	/* x[i] = gelu(x[i]) * up[i], or gelu(x[i]) when up is NULL (tanh approximation;
	 * ex->gelu_f16: ggml's f16 table). */
	void (*gelu)(struct eng_exec *ex, float *x, const float *up, size_t n);
	/* x[i] *= s */
	void (*scale)(struct eng_exec *ex, float *x, size_t n, float s);
	/* x[i] = cap * tanh(x[i] / cap) */
	void (*softcap)(struct eng_exec *ex, float *x, size_t n, float cap);

	/* Several sequences in one micro-batch (contexts with n_seq > 1). A backend
	 * that leaves these NULL runs one sequence per context (eng_ctx_new_multi
	 * refuses more), and the forward pass calls rope/kv_store/attention above.
	 * Token t has its own position pos[t]; its sequence's cache rows start at
	 * row base[t] of the layer (slot * n_ctx). Each token is computed exactly as
	 * the single-sequence op computes a token at that position, bit for bit. */
	void (*rope_pos)(struct eng_exec *ex, float *x, int n_tok, int n_head, int head_dim, int n_rot,
			 const uint32_t *pos, const struct eng_rope *r);
	/* Write k and v of token t at cache row base[t] + pos[t] of layer il. */
	void (*kv_store_pos)(struct eng_exec *ex, struct eng_kv *kv, int il, const uint32_t *pos,
			     const uint32_t *base, int n_tok, const float *k, const float *v);
	/* Token t attends to rows base[t] .. base[t] + pos[t] (its own sequence, causal). */
	void (*attention_pos)(struct eng_exec *ex, const struct eng_kv *kv, int il, const float *q, int n_tok,
			      const uint32_t *pos, const uint32_t *base, int n_head, int n_head_kv, int head_dim,
			      uint32_t window, float *out);
	/* memmove of bytes within device memory (KV rows between slots); NULL on the
	 * host, where kv_move does it. */
	void (*copy)(struct eng_exec *ex, void *dst, const void *src, size_t bytes);
	/* Rows from .. from + n - 1 of every layer's cache to rows to .., as memmove would
	 * move them (the ranges may overlap), in the backend's own layout; NULL where the
	 * cache is rows (copy moves them). */
	void (*kv_move)(struct eng_exec *ex, struct eng_kv *kv, size_t from, size_t to, size_t n);
};

extern const struct eng_ops eng_cpu_ops;
/* ---- backends (engine/backend.c) ---- */

struct eng_cuda_api;

/* Make m's backend ready (m->backend): on CPU, m->ops = &eng_cpu_ops and
 * m->wx = &m->w; for CUDA, load libmerilo-cuda.so (eng_cuda_load), open the
 * device and upload every weight once (m->wx = the device copies). Returns 0;
 * MRL_ERUNTIME with a one-line message when the library, driver or device is
 * missing; MRL_ENOMEM when the weights do not fit the device. */
int eng_backend_open(struct eng_model *m, struct mrl_err *err);
/* Free what eng_backend_open made (device weights, device, library). */
void eng_backend_close(struct eng_model *m);

/* Load the CUDA backend library: $MERILO_CUDA_LIB when set, else
 * libmerilo-cuda.so next to the executable (or in its build/ or parent folder),
 * else the dynamic loader's search path. *api is the library's static table;
 * *lib the dlopen handle, closed with eng_cuda_unload. MRL_ERUNTIME with a
 * one-line message saying where it looked and dlerror()'s reason. */
int eng_cuda_load(const struct eng_cuda_api **api, void **lib, struct mrl_err *err);
void eng_cuda_unload(void *lib);

/* Device time per phase (CUDA events, milliseconds) and forward calls per
 * phase since the context was made; zeros on the CPU backend. For metrics/. */
void eng_ctx_phase_times(struct eng_ctx *c, double ms[ENG_PHASE_COUNT], uint64_t calls[ENG_PHASE_COUNT]);

/* ---- context ---- */

/* Activation buffers: allocated once per context for up to n_ubatch tokens. */
struct eng_acts {
	float *x, *xn, *q, *k, *v, *att, *tmp, *hg, *hu;
	float *logits;  /* device backends: n_ubatch * n_vocab, downloaded into the caller's buffer; NULL on CPU */
};

/* A context holds n_seq sequences (slots), each with its own n_ctx cache
 * positions: slot s owns rows [s * n_ctx, (s + 1) * n_ctx) of every layer. */
struct eng_ctx {
	struct eng_model *m;
	const struct eng_ops *ops;
	struct eng_exec ex;
	struct eng_kv kv;
	struct eng_acts a;
	uint32_t n_ctx, n_ubatch, n_seq;
	uint32_t *seq_pos;      /* n_seq: positions cached per slot */
	int32_t *tokens;        /* n_seq * n_ctx: the tokens whose K/V are cached, per slot (prefix reuse) */
	int32_t *pos_ids;       /* n_ubatch: positions of a micro-batch (learned_pos) */
	uint32_t *ub_pos;       /* n_ubatch: position of each token of a micro-batch */
	uint32_t *ub_base;      /* n_ubatch: first cache row of its slot */
	int32_t *ub_out;        /* n_ubatch: rows whose logits are wanted */
	uint32_t *seq_next;     /* n_seq: scratch of a forward call, the next position per slot */
	float *logits_buf;      /* n_vocab floats: last-token logits when the caller wants only them */
	const float *rope_factors; /* the model's rope factors for this context's size (eng_ctx_new_multi) */
	float *rope_inv;           /* cfg->rope_exact: n_rot/2 frequencies (eng_rope_inv_freq), else NULL */
	float *rope_inv_swa;       /* the same for the windowed layers' own base (rope_freq_base_swa), else NULL */
	struct eng_moe_scratch *moe; /* mixture-of-experts buffers (engine/moe.c), NULL for a dense model */
	float *lora_t, *lora_u;      /* a LoRA's a x (n_ubatch x r) and b (a x) (n_ubatch x widest output) */
	bool (*should_stop)(void *arg); /* eng_ctx_set_stop; asked before each layer */
	void *stop_arg;
	bool stopped;           /* a forward_ubatch ended early on should_stop */
};

/* ---- LoRA adapters (engine/lora.c) ---- */

/* Read the PEFT adapter folder dir (adapter_config.json, adapter_model.safetensors) and
 * attach its pairs to m->w's matrices (an HF folder's or a GGUF's; before the backend
 * copies them); m->lora owns them. MRL_EUNSUPPORTED names what is not implemented (a
 * target, DoRA, ...), MRL_EINPUT a missing or misshapen file or tensor. */
int eng_lora_open(struct eng_model *m, const char *dir, struct mrl_err *err);
void eng_lora_close(struct eng_model *m);
void eng_lora_describe(const struct eng_model *m, struct eng_model_desc *d);
/* out (n_tok rows, stride out_stride) = w x, plus the LoRA product where w has one: the
 * forward pass's matrix product for the layers' adaptable matrices. */
void eng_matmul(struct eng_ctx *c, const struct eng_tensor *w, const float *x, int n_tok, float *out,
		size_t out_stride);

/* ---- mixture of experts (engine/moe.c) ---- */

/* The scratch of c's MoE layers for n_ubatch tokens; false when out of memory. */
bool eng_moe_alloc(struct eng_ctx *c);
void eng_moe_free(struct eng_ctx *c);
/* The FFN of MoE layer L on the n_tok normed rows in c->a.xn, into c->a.tmp (host backends). */
void eng_moe_ffn(struct eng_ctx *c, const struct eng_layer *L, int n_tok);

/* Run the forward pass over n tokens at the current position. When logits is
 * non-NULL it receives n_vocab floats for the last token, or n rows when all_logits. */
int eng_forward(struct eng_ctx *c, const int32_t *tokens, size_t n, float *logits, bool all_logits,
		struct mrl_err *err);

/* The forward pass with explicit cache rows, for batched scoring on a
 * multi-sequence context (a host backend): token i at position pos[i] in the
 * rows from base[i] on (any range of the n_seq * n_ctx rows, not only a slot's
 * start), logits for the flagged tokens in order. Tokens must be in the
 * vocabulary and rows inside the cache (the caller checked); the slots'
 * positions are left as they were (c->tokens gets the tokens). */
int eng_forward_rows(struct eng_ctx *c, const int32_t *tokens, const uint32_t *pos, const uint32_t *base, size_t n,
		     const bool *want_logits, float *logits, struct mrl_err *err);
/* Copy n cache rows (every layer's K and V, and c->tokens) from row `from` to
 * row `to` (host cache; the ranges may overlap). */
void eng_kv_copy_rows(struct eng_ctx *c, size_t from, size_t to, size_t n);

#endif
