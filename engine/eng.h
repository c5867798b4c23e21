/* eng.h — merilo's inference engine: the public surface.
 *
 * The engine knows models, tokens and numbers; nothing of suites, reports or
 * result files. It never prints and never exits: every fallible call returns 0
 * or a negative MRL_E* code and fills a caller-supplied struct mrl_err.
 * No process-global mutable state: several models (and several contexts per
 * model) may live in one process, e.g. for A/B comparisons.
 *
 * Lifecycles: eng_model_open/_close (weights mmap'd and owned by the model),
 * eng_ctx_new/_free (a KV cache and scratch for one token stream; eng_ctx_new_multi
 * for several independent sequences in one context).
 */
#ifndef MRL_ENG_H
#define MRL_ENG_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

struct eng_model;
struct eng_ctx;

enum eng_backend { ENG_BACKEND_CPU = 0, ENG_BACKEND_CUDA = 1 };

struct eng_open_opts {
	int n_threads;            /* worker threads; 0 = number of online cores */
	enum eng_backend backend; /* ENG_BACKEND_CPU unless asked */
	bool vocab_only;          /* load the tokenizer only (also implied by a GGUF without tensors) */
	bool kv_f32;              /* f32 KV cache in every context (default f16, as llama.cpp's default) */
	bool pin_threads;         /* pin each context's thread i to the i-th CPU of the process's
				     affinity mask (--affinity); results do not depend on it */
	bool no_repack;           /* CPU: read quantized matrices in place rather than repacked into
				     16-row blocks at load (same results; MERILO_NO_REPACK=1 too) */
	const char *lora;         /* a PEFT LoRA adapter folder applied to the weights (HF folder or GGUF), or NULL */
};

/* Open a GGUF model (or a vocabulary-only GGUF). On success *out owns the mapping;
 * close it with eng_model_close(). opts may be NULL (defaults). */
int eng_model_open(struct eng_model **out, const char *path, const struct eng_open_opts *opts,
		   struct mrl_err *err);
void eng_model_close(struct eng_model *m);

/* The default thread count: the CPUs this process may run on (its affinity
 * mask, so taskset and container CPU sets are honoured), else the online CPUs,
 * at least 1. What n_threads = 0 means everywhere. */
int eng_default_threads(void);

/* The CPU kernels this build takes on this CPU, as words into buf (size bytes):
 * the vector width it was built for ("avx512", "avx2" or "plain-C"), then what it
 * chooses at run time: "vnni" (AVX-512 VNNI tiles; quantized weights repacked),
 * "gfni", "amx-int8" (quantized prefill on AMX tiles). Results have the same bits on
 * every path; speed does not, so the bench and run manifests record it. */
void eng_cpu_kernels(char *buf, size_t size);

/* Whether the model file still is what was mapped: fstat of the open file
 * (the same inode, even when the path was replaced) against the size, mtime
 * and ctime seen at open; for an HF folder, every mapped safetensors shard.
 * A file rewritten in place or truncated while mapped changes what the weights
 * read: MRL_ERUNTIME naming the file. 0 when unchanged. */
int eng_model_check_file(const struct eng_model *m, struct mrl_err *err);

/* Mapping i of the model's files (a GGUF has one, an HF folder one per
 * safetensors shard): its bytes and the file's path, owned by m. 0, or -1
 * past the last one. For a SIGBUS guard over every mapped byte. */
int eng_model_mapping(const struct eng_model *m, size_t i, const void **base, size_t *size, const char **path);

/* The mapped bytes of the model file (owned by m, valid until eng_model_close)
 * and the file's fstat when it was mapped; any argument may be NULL. Hash these
 * bytes, not the path, so that a manifest names what was computed with. */
struct stat;
void eng_model_file(const struct eng_model *m, const void **base, size_t *size, struct stat *st);

/* For a model opened from an HF folder (no single mapped file): the name of
 * file i inside the folder that the model was read from (config.json, the
 * index, every safetensors shard, tokenizer.json, tokenizer_config.json), in
 * strcmp order; NULL past the last, and always NULL for a GGUF. Owned by m. */
const char *eng_model_folder_file(const struct eng_model *m, size_t i);
/* The files of the model's LoRA adapter (eng_open_opts.lora), full paths: adapter_config.json,
 * adapter_model.safetensors; NULL past the last or without one. */
const char *eng_model_adapter_file(const struct eng_model *m, size_t i);

/* What a model is. Strings point into the model and live as long as it. */
struct eng_model_desc {
	const char *path;
	const char *arch;            /* general.architecture, e.g. "llama" */
	const char *name;            /* general.name or "" */
	const char *tokenizer_model; /* tokenizer.ggml.model, e.g. "llama" */
	const char *tokenizer_pre;   /* a byte-level GGUF's tokenizer.ggml.pre ("default" when absent), else NULL */
	bool has_weights;            /* false for a vocabulary-only file */
	uint64_t file_size;          /* bytes */
	uint64_t n_params;           /* sum of tensor element counts, rope_freqs.weight (factors) aside */
	uint64_t n_params_active;    /* those a token computes with: n_params less the experts it does not
				      * take (n_params for a dense model) */
	uint32_t n_expert, n_expert_used; /* a mixture of experts' experts per layer and per token; 0 = dense */
	uint32_t n_ff_shexp;         /* the width of a shared expert beside them (Qwen2-MoE); 0 = none */
	const char *lora_dir;        /* the LoRA adapter folder applied, or NULL; then: */
	uint32_t lora_rank;          /* its r */
	float lora_alpha, lora_scale; /* lora_alpha, and the factor of its products (alpha / r, or / sqrt r) */
	size_t lora_modules;         /* the pairs it holds */
	uint64_t weight_bytes;       /* sum of tensor data sizes */
	uint32_t n_vocab, n_ctx_train, n_embd, n_layer, n_head, n_head_kv, n_ff, n_rot;
	uint32_t head_dim;           /* a head's size; n_head x head_dim may differ from n_embd (Qwen3) */
	bool qk_norm;                /* each head of q and k RMS-normed before rope (Qwen3) */
	float rope_freq_base, norm_eps;
	float rope_freq_base_swa;    /* the windowed layers' own rope base, unscaled (Gemma 3); 0 = none */
	const char *rope_scaling;    /* "none", "linear", "yarn" or "longrope" (Phi-3's factor tensors) */
	float rope_scale_factor;     /* the context factor of linear/YaRN scaling; 1 = none */
	float rope_attn_factor;      /* cos and sin times this (YaRN's attention factor included); 1 = none */
	int32_t bos_id, eos_id, unk_id, pad_id; /* -1 when absent */
	const int32_t *eog_ids;      /* n_eog end-of-generation ids, ascending (docs/engine.md,
				      * "End-of-generation tokens"); the model's, valid while it is open */
	size_t n_eog;
	bool add_bos;                /* tokenizer.ggml.add_bos_token (default true for llama) */
	bool tied_output;            /* output matrix is the token embedding */
	bool learned_pos;            /* learned position embeddings (GPT-2; n_rot is 0) */
	uint32_t sliding_window;     /* 0 = none; else on n_layer_windowed of the layers */
	uint32_t n_layer_windowed;
	float attn_softcap, final_softcap; /* 0 = none (Gemma 2) */
	uint64_t kv_bytes_per_token; /* K and V of one token over all layers, in the cache type the
				      * model's contexts use (--kv-cache); 0 without weights */
};
void eng_model_describe(const struct eng_model *m, struct eng_model_desc *out);

/* Warnings of loading: what the file holds that the engine ignored and a user
 * should hear of, e.g. "M.gguf: tokenizer.ggml.padding_token_id = 4294967295 is
 * out of range (vocabulary has 512 tokens): ignored, no pad token" (llama.cpp
 * loads such files with a warning too). The engine never prints: the caller
 * shows them. One line each, owned by m; NULL when i >= eng_model_n_warnings(m). */
size_t eng_model_n_warnings(const struct eng_model *m);
const char *eng_model_warning(const struct eng_model *m, size_t i);

/* Tensors and metadata, for `merilo info --verbose`. */
struct eng_tensor_info {
	const char *name;      /* NUL-terminated copy owned by the model */
	const char *type_name; /* "f32", "f16", "bf16", "q8_0", "q4_0", ... */
	uint32_t n_dims;
	uint64_t ne[4];        /* ne[0] is the contiguous (row) dimension, as in GGUF */
	uint64_t nbytes;
};
size_t eng_model_n_tensors(const struct eng_model *m);
void eng_model_tensor_info(const struct eng_model *m, size_t i, struct eng_tensor_info *out);
/* The tensors the forward pass computes with, under llama.cpp's GGUF names
 * ("token_embd.weight", "blk.0.attn_q.weight", "output.weight", ...): a GGUF's own
 * (as eng_model_tensor_info); an HF folder's as mapped and stored for computing
 * (a widened tensor with its f32 type and bytes). bench sizes a forward pass from these. */
size_t eng_model_n_weights(const struct eng_model *m);
void eng_model_weight_info(const struct eng_model *m, size_t i, struct eng_tensor_info *out);
size_t eng_model_n_meta(const struct eng_model *m);
/* Metadata entry i as "key" and a printable value (arrays abbreviated) written into buf. */
const char *eng_model_meta(const struct eng_model *m, size_t i, char *buf, size_t buf_size);

/* ---- tokenizer ---- */

/* Tokenize len bytes of UTF-8 text (no special-token parsing). With add_bos the
 * model's BOS id is prepended. *ids_out is malloc'd; the caller frees it. */
int eng_tokenize(const struct eng_model *m, const char *text, size_t len, bool add_bos,
		 int32_t **ids_out, size_t *n_out, struct mrl_err *err);

/* eng_tokenize with flags: ENG_TOKENIZE_ADD_BOS, ENG_TOKENIZE_ADD_EOS, and
 * ENG_TOKENIZE_PARSE_SPECIAL (control tokens written in the text, e.g.
 * "<|endoftext|>", become their ids, as llama.cpp's parse_special). Same ownership. */
#define ENG_TOKENIZE_ADD_BOS 1u
#define ENG_TOKENIZE_ADD_EOS 2u
#define ENG_TOKENIZE_PARSE_SPECIAL 4u
int eng_tokenize_flags(const struct eng_model *m, const char *text, size_t len, unsigned flags,
		       int32_t **ids_out, size_t *n_out, struct mrl_err *err);

/* The model's chat template (Jinja text): GGUF tokenizer.chat_template, or an HF
 * folder's tokenizer_config.json "chat_template" (a named list: its "default").
 * 0 with *out malloc'd (caller frees), or with *out NULL when the model has none;
 * MRL_EINPUT for an unreadable tokenizer_config.json. */
int eng_model_chat_template(const struct eng_model *m, char **out, struct mrl_err *err);

/* The vocabulary piece of a token, as stored (e.g. "▁Bel", "<0x0A>"); NULL if out of range. */
const char *eng_token_piece(const struct eng_model *m, int32_t id);

/* Detokenize ids to UTF-8 text (byte pieces joined, ▁ -> space, the leading space
 * after BOS dropped as SentencePiece does). *text_out is malloc'd and NUL-terminated. */
int eng_detokenize(const struct eng_model *m, const int32_t *ids, size_t n,
		   char **text_out, size_t *len_out, struct mrl_err *err);

/* ---- decoding ---- */

/* A context: KV cache for up to n_ctx positions (0 = the model's training context).
 * A model with Phi-3's longrope computes with its long factors where n_ctx is given
 * and passes the original context (llama.cpp's rule), else with the short ones. */
int eng_ctx_new(struct eng_ctx **out, struct eng_model *m, uint32_t n_ctx, struct mrl_err *err);
void eng_ctx_free(struct eng_ctx *c);
uint32_t eng_ctx_n_ctx(const struct eng_ctx *c);
/* Number of positions currently in the cache. */
uint32_t eng_ctx_pos(const struct eng_ctx *c);
/* Drop cached positions >= n_keep (n_keep <= pos); 0 empties the cache. */
void eng_ctx_truncate(struct eng_ctx *c, uint32_t n_keep);
/* A stop request for c's forward calls (as llama.cpp's abort callback): should_stop(arg)
 * is asked before each layer of each micro-batch; when it says true the call (and any
 * scoring or generation built on it) returns MRL_ERUNTIME with "interrupted" within one
 * layer, instead of after the whole batch. The cache rows the call was writing are then
 * undefined: the caller stops using the context or truncates it. NULL: no stop (the default). */
void eng_ctx_set_stop(struct eng_ctx *c, bool (*should_stop)(void *arg), void *arg);
/* Device time of c's forward calls since it was made, from the backend's events
 * (CUDA: an event pair around each call): milliseconds in calls of more than one
 * token (prefill) and of one token (decode). Returns false on a host backend, which
 * keeps no device time (both are then 0). Waits for the queued work. */
bool eng_ctx_device_ms(struct eng_ctx *c, double *prefill_ms, double *decode_ms);

/* Feed n tokens at the current position (prefill when n > 1, a decode step when n == 1).
 * logits may be NULL; otherwise it receives n_vocab floats for the last token, or
 * n * n_vocab floats (row i = token i) when all_logits is set. */
int eng_decode(struct eng_ctx *c, const int32_t *tokens, size_t n, float *logits, bool all_logits,
	       struct mrl_err *err);

/* ---- several sequences in one context (batched scoring and generation) ----
 *
 * A multi-sequence context has n_seq independent slots, each a KV cache of
 * n_ctx positions; one forward call may carry tokens of any of them. Every
 * token is computed exactly as it would be alone in a one-sequence context at
 * the same position with the same cached prefix: logits are bit-identical
 * whatever the batch holds, how it is split, and the thread count (the
 * determinism contract, docs/engine.md). eng_ctx_new is eng_ctx_new_multi with
 * n_seq = 1, and slot 0 is what eng_ctx_pos/eng_ctx_truncate/eng_decode use.
 * A backend that runs one sequence per context refuses n_seq > 1 with
 * MRL_EUNSUPPORTED. On CUDA the bit-identity holds run to run, not across
 * batch compositions (cuBLAS picks kernels by shape): there a token's logits
 * equal its alone-computation within docs/gpu.md's tolerances. The cache takes
 * n_seq * n_ctx positions of memory. */
int eng_ctx_new_multi(struct eng_ctx **out, struct eng_model *m, uint32_t n_ctx, uint32_t n_seq,
		      struct mrl_err *err);
uint32_t eng_ctx_n_seq(const struct eng_ctx *c);
/* Positions cached in slot seq (seq < n_seq). */
uint32_t eng_seq_pos(const struct eng_ctx *c, uint32_t seq);
/* Drop positions >= n_keep of slot seq (no-op when n_keep >= its position). */
void eng_seq_truncate(struct eng_ctx *c, uint32_t seq, uint32_t n_keep);
/* Make slot dst hold the first n_keep cached positions of slot src (a shared
 * prefix computed once), dropping what dst held; src == dst truncates.
 * MRL_EINPUT when a slot is out of range or n_keep > eng_seq_pos(c, src). */
int eng_seq_copy(struct eng_ctx *c, uint32_t src, uint32_t dst, uint32_t n_keep, struct mrl_err *err);
/* One forward call over n tokens of several sequences: token i goes to slot
 * seq[i] at that slot's next position (tokens of one slot in order, any
 * interleaving). want_logits (NULL: none) flags the tokens whose logits are
 * wanted; logits gets n_vocab floats per flagged token, in token order (NULL
 * when none is flagged). MRL_EINPUT, with nothing computed, for an empty
 * batch, a slot out of range, a token outside the vocabulary or a slot that
 * would overflow n_ctx. */
int eng_forward_batch(struct eng_ctx *c, const int32_t *tokens, const uint32_t *seq, size_t n,
		      const bool *want_logits, float *logits, struct mrl_err *err);

/* ---- scoring (evaluation) ---- */

/* One request: the log-probability of cont given ctx. */
struct eng_score_req {
	const int32_t *ctx;  size_t n_ctx;   /* n_ctx >= 1 */
	const int32_t *cont; size_t n_cont;  /* n_cont >= 1 */
};
/* Its result; logprob and is_greedy are caller-allocated arrays of n_cont entries. */
struct eng_score_res {
	double *logprob;    /* log p(cont[i] | ctx, cont[<i]), natural log */
	bool *is_greedy;    /* cont[i] was the argmax */
	double sum_logprob;
	bool all_greedy;
};
/* Score a batch. Requests sharing a context prefix (the choices of one item) reuse
 * it through the KV cache; every result equals scoring the request on its own in an
 * empty context, bit for bit. The cache's content afterwards is unspecified. */
int eng_score(struct eng_ctx *c, const struct eng_score_req *reqs, size_t n_reqs,
	      struct eng_score_res *res, struct mrl_err *err);

/* The top K next tokens of one request at each continuation position, caller-allocated:
 * n_cont * K entries, row j (position j, the distribution cont[j] was drawn from) best
 * first, ties by lower id; logprob is natural log, computed exactly as eng_score's. */
struct eng_score_topk {
	int32_t *id;
	double *logprob;
};
/* What one eng_score_ex call computed. */
struct eng_score_stats {
	uint64_t n_computed; /* tokens run through the forward pass */
	uint64_t n_cached;   /* tokens of the requests taken from the KV cache instead (prefix reuse) */
	uint64_t n_forward;  /* forward calls */
};
/* eng_score plus extras: the same algorithm and the same results
 * bit for bit, and, when top_k > 0 (<= n_vocab), the top_k log-probabilities at every
 * continuation position of request i into topk[i] (n_reqs entries; NULL when top_k == 0).
 * stats (may be NULL) gets the work done; n_computed + n_cached = sum(n_ctx + n_cont - 1). */
int eng_score_ex(struct eng_ctx *c, const struct eng_score_req *reqs, size_t n_reqs,
		 struct eng_score_res *res, size_t top_k, struct eng_score_topk *topk,
		 struct eng_score_stats *stats, struct mrl_err *err);

/* ---- generation (engine/generate.c; docs/engine.md "Generation") ---- */

/* One generation request. Everything it points to belongs to the caller and must
 * stay valid for the eng_generate call. */
struct eng_gen_req {
	const int32_t *prompt; size_t n_prompt; /* token ids, BOS included if wanted; n_prompt >= 1 */
	size_t max_new_tokens;                  /* 0 = nothing is generated (stop reason max_tokens) */
	const char *const *stop; size_t n_stop; /* stop strings (UTF-8, non-empty), matched on the decoded text */
	const char *stop_after;                 /* non-empty: the stop strings count only after the first
						 * occurrence of this text (a thinking model's "</think>": its
						 * reasoning may hold them); NULL = from the start */
	uint64_t rng_stream;                    /* sampling stream of this request (e.g. its item index): the
						 * same (seed, rng_stream, prompt) draws the same tokens whatever
						 * else is in the batch; give requests distinct values */
};

struct eng_gen_res;

/* How to generate (the same for every request of one call). Zeroed = greedy, stop at
 * EOS/EOT, 8 sequences at a time, a context sized to the longest request. */
struct eng_gen_opts {
	float temperature;      /* <= 0: greedy (argmax, ties to the lower id); else sampled */
	uint32_t top_k;         /* sampled: keep the k most likely tokens; 0 = all */
	float top_p;            /* sampled: nucleus mass in (0, 1]; 0 or >= 1 = no nucleus cut */
	uint64_t seed;          /* sampled: with rng_stream seeds the request's generator; record it */
	bool ignore_eos;        /* do not stop at the end-of-sequence / end-of-turn tokens */
	uint32_t n_batch;       /* most sequences decoded together (one forward per step); 0 = 8; at most 256 */
	uint32_t n_ctx;         /* positions per sequence; 0 = the longest n_prompt + max_new_tokens,
				 * at most the model's training context */
	const int32_t *stop_ids; size_t n_stop_ids; /* extra token ids that end a request like EOS */
	/* Optional: called as each request finishes, in the order they finish (not always
	 * the order of reqs), with its index and its complete result; NULL = none. */
	void (*on_done)(void *user, size_t index, const struct eng_gen_res *res);
	void *user;
	/* Optional: a flag (a signal handler's) looked at before every step; once nonzero
	 * no further step runs and eng_generate returns 0 at once: finished requests keep
	 * their results, running ones get what they had generated (stop reason
	 * ENG_GEN_STOP_INTERRUPTED), those not started are left empty (text NULL, n_ids
	 * 0); both kinds are counted in stats->n_unfinished. NULL = never stops. (A
	 * should_stop that aborts a forward step is an error instead: nothing is kept.) */
	const volatile sig_atomic_t *stop;
	/* Optional: eng_ctx_set_stop's question for the contexts eng_generate makes, asked
	 * before each layer: when it says true the call returns MRL_ERUNTIME "interrupted"
	 * (nothing of the unfinished step is kept). NULL = never asked. */
	bool (*should_stop)(void *arg);
	void *stop_arg;
};

enum eng_gen_stop {
	ENG_GEN_STOP_MAX_TOKENS = 0, /* max_new_tokens generated */
	ENG_GEN_STOP_EOS = 1,        /* an end-of-sequence / end-of-turn token (or one of stop_ids) */
	ENG_GEN_STOP_STRING = 2,     /* a stop string appeared in the decoded text */
	ENG_GEN_STOP_CTX_FULL = 3,   /* the sequence filled n_ctx positions (or the prompt did not fit) */
	ENG_GEN_STOP_INTERRUPTED = 4,/* eng_gen_opts.stop was set while it ran: ids and text are what it had
				      * generated by then (not counted as finished, no on_done call) */
};
/* "max_tokens", "eos", "stop", "ctx_full", "interrupted". */
const char *eng_gen_stop_name(enum eng_gen_stop s);

/* The result of one request; eng_generate fills it, eng_gen_res_release frees it. */
struct eng_gen_res {
	int32_t *ids; size_t n_ids; /* every generated token (the EOS token and the tokens that
				     * completed a stop string included), malloc'd */
	char *text; size_t text_len;/* eng_detokenize of ids, cut before the first stop string and
				     * before an incomplete UTF-8 character at the end; NUL-terminated */
	enum eng_gen_stop stop;
	int stop_index;             /* ENG_GEN_STOP_STRING: which of req.stop; else -1 */
	size_t n_cached;            /* prompt tokens taken from the cache (a shared prefix) */
};
void eng_gen_res_release(struct eng_gen_res *r);

/* What one eng_generate call computed. */
struct eng_gen_stats {
	uint64_t n_prompt_computed; /* prompt tokens run through the forward pass */
	uint64_t n_prompt_cached;   /* prompt tokens reused from a shared prefix instead */
	uint64_t n_generated;       /* sum of n_ids */
	uint64_t n_forward;         /* forward steps (one per step for the whole batch) */
	double first_step_s;        /* wall seconds of the first step (with one request: its prefill
				     * and first token), CLOCK_MONOTONIC */
	double total_s;             /* wall seconds of the generation (after the contexts are made) */
	size_t n_unfinished;        /* requests not finished because eng_gen_opts.stop was set */
};

/* Generate for n requests, up to o->n_batch at a time, into res[0..n) (caller's array;
 * release each entry with eng_gen_res_release, also after a failure). o may be NULL
 * (greedy defaults); stats may be NULL. Greedy results do not depend on n_batch, on the
 * order or company of requests, or on the thread count; sampled ones depend only on
 * (seed, rng_stream, prompt, options). MRL_EINPUT for a bad request (empty prompt, id
 * out of range, empty stop string), naming its index. */
int eng_generate(struct eng_model *m, const struct eng_gen_req *reqs, size_t n, const struct eng_gen_opts *o,
		 struct eng_gen_res *res, struct eng_gen_stats *stats, struct mrl_err *err);

/* Batched scoring: the requests of many groups (the items of an evaluation, each
 * group one item's requests) in shared forward calls. group_size[g] requests of
 * group g follow those of group g - 1 in reqs (n_groups groups). Everything that
 * comes back — res, topk (as eng_score_ex), and work[g] (n_groups entries, may be
 * NULL: group g's tokens computed and taken from the cache, and the forward
 * calls that carried them) — is what one eng_score_ex call per group, in order,
 * on this context would give, bit for bit; only the forward calls differ. On a
 * multi-sequence context (n_seq >= 2) the requests run side by side in the
 * cache rows of slots 1..n_seq-1, a few hundred tokens a call, each reusing the
 * prefix eng_score_ex would reuse (copied from a request that computed it);
 * when the batch needs more rows than those slots hold, a request whose prefix
 * was overwritten recomputes it (tokens computed then exceed eng_score_ex's;
 * the results do not change). Slot 0 afterwards holds the last request, as
 * eng_score_ex leaves it; other slots are unspecified. With n_seq == 1 it is
 * eng_score_ex group after group. */
int eng_score_batch(struct eng_ctx *c, const struct eng_score_req *reqs, const size_t *group_size, size_t n_groups,
		    struct eng_score_res *res, size_t top_k, struct eng_score_topk *topk, struct eng_score_stats *work,
		    struct mrl_err *err);

/* nll[i] = -log softmax(row i)[targets[i]] for n_rows rows of n_vocab logits (as the
 * forward calls return them), formed as llama.cpp's perplexity forms it: the row's max,
 * then the sum in double, in order, of expf(x - max), then -((x[target] - max) - log(sum)),
 * with glibc's expf bits (vector lanes); the rows split over c's threads. */
void eng_logits_nll(struct eng_ctx *c, const float *logits, size_t n_rows, const int32_t *targets, double *nll);

/* ---- synthetic models (`merilo synth`) ---- */

/* A random-weight model of a given shape: for measuring speed, not quality. */
struct eng_synth_opts {
	const char *arch;        /* "llama" (the only one so far); NULL = "llama" */
	const char *preset;      /* "tiny", "110m", "1b", "7b"; NULL = none (then n_layer, n_embd,
				  * n_head and n_ff must be given) */
	uint32_t n_layer, n_embd, n_head, n_head_kv, n_ff, n_ctx; /* 0 = the preset's value */
	uint32_t n_expert, n_expert_used; /* > 0: a mixture of experts (Mixtral's layout), n_ff each,
					   * n_expert_used a token; 0: dense */
	const char *dtype;       /* matrices: "f32", "f16", "bf16", "q8_0", "q4_0"; norms stay f32 */
	const char *vocab_path;  /* GGUF whose tokenizer.* keys are copied; NULL = built-in byte vocabulary */
	uint64_t seed;           /* same seed and options -> byte-identical file */
	bool tied;               /* no output.weight: the output matrix is token_embd (Llama 3.2,
				  * Gemma 2, SmolLM2) */
	/* Optional: called after each tensor's data is written (done of n_tensors, its name),
	 * for a progress display; NULL = none. */
	void (*on_tensor)(void *user, size_t done, size_t n_tensors, const char *name);
	void *user;
	/* Optional: a flag (a signal handler's) looked at before every chunk of weights;
	 * once nonzero, eng_synth removes its temporary file, leaves out_path as it was
	 * and returns MRL_ERUNTIME ("interrupted"). NULL = never stops. */
	const volatile sig_atomic_t *stop;
};
/* What was written. */
struct eng_synth_info {
	uint32_t n_vocab, n_layer, n_embd, n_head, n_head_kv, n_ff, n_ctx;
	uint64_t n_params;   /* sum of tensor element counts */
	uint64_t file_bytes;
	uint32_t n_expert, n_expert_used;
};
/* Whether o describes a model eng_synth can write (its architecture, preset, shape
 * and dtype), before anything is written: 0, MRL_EUNSUPPORTED for an unknown
 * arch/preset/dtype, MRL_EINPUT naming a shape that does not fit together. */
int eng_synth_check(const struct eng_synth_opts *o, struct mrl_err *err);
/* Write the model to out_path atomically, streaming the weights (a 7B model is
 * never held in memory). info may be NULL. The codes of eng_synth_check, then
 * MRL_EIO/MRL_EINPUT for the vocabulary file, MRL_EWRITE when out_path cannot be
 * written (its folder must exist), MRL_ERUNTIME when o->stop was set. On every
 * failure the temporary file is removed and out_path is untouched. */
int eng_synth(const struct eng_synth_opts *o, const char *out_path, struct eng_synth_info *info,
	      struct mrl_err *err);

#endif
