/* arch.c — architecture configuration from GGUF metadata, and weight binding.
 *
 * One table lists the architectures the forward pass runs and the flags that
 * set them apart (norm kind, FFN kind, rope layout, qkv biases, learned
 * positions). Adding Qwen2, GPT-2 or Gemma is a new row plus the small kernels
 * its flags select, not a second forward pass. Every hyperparameter comes from
 * "<arch>.*" metadata; every tensor is checked for presence, shape and type
 * before the forward pass may touch it.
 */
#include "engine/eng_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/types.h"

struct arch_def {
	const char *name;
	enum eng_arch_id id;
	enum eng_norm_kind norm;
	enum eng_ffn_kind ffn;
	enum eng_rope_kind rope;    /* as a GGUF stores Q/K (HF folders: NEOX unless NONE) */
	unsigned flags;             /* A_* below */
	uint32_t swa_period;        /* GGUF window on layer il when il % p < p - 1 (llama.cpp); 0: every layer */
};

#define A_QKV_BIAS 1u
#define A_LEARNED_POS 2u
#define A_LIN_BIAS 4u
#define A_POST_NORMS 8u
#define A_FUSED_QKV 16u
#define A_EMBD_SCALE 32u /* token embeddings times sqrt(n_embd) */
#define A_FUSED_GATE_UP 64u
#define A_QK_NORM 128u /* attn_q_norm / attn_k_norm on each head before rope */
#define A_MOE 256u     /* experts on every layer (<arch>.expert_count required); llama's are optional */

static const struct arch_def arch_defs[] = {
	{ "llama", ENG_ARCH_LLAMA, ENG_NORM_RMS, ENG_FFN_SWIGLU, ENG_ROPE_NORM, 0, 0 },
	/* Qwen2: Llama with q/k/v biases and rope on halves of each head */
	{ "qwen2", ENG_ARCH_QWEN2, ENG_NORM_RMS, ENG_FFN_SWIGLU, ENG_ROPE_NEOX, A_QKV_BIAS, 0 },
	/* Qwen3: Qwen2 without the biases, each head of q and k RMS-normed before rope */
	{ "qwen3", ENG_ARCH_QWEN3, ENG_NORM_RMS, ENG_FFN_SWIGLU, ENG_ROPE_NEOX, A_QK_NORM, 0 },
	/* Qwen2-MoE: Qwen2 with experts and a gated shared expert on every layer */
	{ "qwen2moe", ENG_ARCH_QWEN2MOE, ENG_NORM_RMS, ENG_FFN_SWIGLU, ENG_ROPE_NEOX, A_QKV_BIAS | A_MOE, 0 },
	/* Qwen3-MoE: Qwen3 with a mixture of experts for every FFN (Mixtral is llama with experts) */
	{ "qwen3moe", ENG_ARCH_QWEN3MOE, ENG_NORM_RMS, ENG_FFN_SWIGLU, ENG_ROPE_NEOX, A_QK_NORM | A_MOE, 0 },
	/* GPT-2: learned positions, LayerNorm and biases everywhere, GELU MLP, one qkv matrix */
	{ "gpt2", ENG_ARCH_GPT2, ENG_NORM_LAYER, ENG_FFN_GELU, ENG_ROPE_NONE,
	  A_QKV_BIAS | A_LEARNED_POS | A_LIN_BIAS | A_FUSED_QKV, 0 },
	/* Gemma 2: scaled embeddings, GeGLU, norms after attention and FFN too, soft caps
	 * (config), the window on every other layer starting with the first */
	{ "gemma2", ENG_ARCH_GEMMA2, ENG_NORM_RMS, ENG_FFN_GEGLU, ENG_ROPE_NEOX, A_POST_NORMS | A_EMBD_SCALE, 2 },
	/* Gemma 3: Gemma 2 without soft caps, with q/k norms, a window on five layers of six
	 * and a rope of the windowed layers' own (base 10000, unscaled) */
	{ "gemma3", ENG_ARCH_GEMMA3, ENG_NORM_RMS, ENG_FFN_GEGLU, ENG_ROPE_NEOX, A_POST_NORMS | A_EMBD_SCALE | A_QK_NORM,
	  6 },
	/* Phi-3: Llama with q/k/v in one matrix and gate/up in another */
	{ "phi3", ENG_ARCH_PHI3, ENG_NORM_RMS, ENG_FFN_SWIGLU, ENG_ROPE_NEOX, A_FUSED_QKV | A_FUSED_GATE_UP, 0 },
};

#define N_ARCH (sizeof arch_defs / sizeof arch_defs[0])

static int get_req_u32(const struct gguf_ctx *g, const char *arch, const char *suffix, uint32_t *out,
		       const char *path, struct mrl_err *err)
{
	char key[128];
	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	int rc = gguf_get_u32(g, key, out, err);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return mrl_err_set(err, MRL_EINPUT, "%s: required metadata key '%s' is missing", path, key);
	if (*out == 0)
		return mrl_err_set(err, MRL_EINPUT, "%s: metadata key '%s' is 0", path, key);
	return 0;
}

/* Optional key: leaves *out untouched when absent. */
static int get_opt_u32(const struct gguf_ctx *g, const char *arch, const char *suffix, uint32_t *out,
		       struct mrl_err *err)
{
	char key[128];
	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	int rc = gguf_get_u32(g, key, out, err);
	return rc < 0 ? rc : 0;
}

static int get_opt_f32(const struct gguf_ctx *g, const char *arch, const char *suffix, float *out,
		       struct mrl_err *err)
{
	char key[128];
	snprintf(key, sizeof key, "%s.%s", arch, suffix);
	int rc = gguf_get_f32(g, key, out, err);
	return rc < 0 ? rc : 0;
}

/* YaRN's ramp ends (ggml_rope_yarn_corr_dims): the pair indices where n_ctx_orig
 * positions make beta_fast and beta_slow turns, floored and ceiled into [0, n_rot - 1]. */
static float yarn_corr_dim(uint32_t n_rot, uint32_t n_ctx_orig, float turns, float base)
{
	return (float)n_rot * logf((float)n_ctx_orig / (turns * 2 * 3.14159265358979323846f)) / (2 * logf(base));
}

void eng_rope_yarn_corr(uint32_t n_rot, uint32_t n_ctx_orig, float base, float beta_fast, float beta_slow,
			bool truncate, float corr[2])
{
	float lo = yarn_corr_dim(n_rot, n_ctx_orig, beta_fast, base), hi = yarn_corr_dim(n_rot, n_ctx_orig, beta_slow, base);
	if (truncate) {
		lo = floorf(lo);
		hi = ceilf(hi);
	}
	corr[0] = fmaxf(0.0f, lo);
	corr[1] = fminf((float)n_rot - 1, hi);
}

void eng_rope_inv_freq(const struct eng_config *cfg, const float *factors, float *inv)
{
	const struct eng_rope_scaling *s = &cfg->rope_scaling;
	const float dim = (float)cfg->n_rot, factor = s->freq_scale != 0.0f ? 1.0f / s->freq_scale : 1.0f;
	for (uint32_t i = 0; i < cfg->n_rot / 2; i++) {
		/* base ** (arange(0, dim, 2).float() / dim), in float32 */
		const float pos_freq = powf(cfg->rope_freq_base, (float)(2 * i) / dim);
		/* longrope: 1 / (ext_factors * pos_freqs); Llama 3.1's factors the same way */
		const float e = factors ? 1.0f / (factors[i] * pos_freq) : 1.0f / pos_freq;
		float f = s->freq_scale != 0.0f ? e / factor : e; /* linear: inv_freq /= factor */
		if (s->ext_factor != 0.0f) { /* YaRN: interpolation * (1 - ef) + extrapolation * ef */
			const float interp = 1.0f / (factor * pos_freq);
			const float lo = s->corr[0], hi = s->corr[1] == s->corr[0] ? s->corr[1] + 0.001f : s->corr[1];
			const float ramp = fminf(1.0f, fmaxf(0.0f, ((float)i - lo) / (hi - lo)));
			const float ef = 1.0f - ramp;
			f = interp * (1.0f - ef) + e * ef;
		}
		inv[i] = f;
	}
}

/* Rope scaling stored in the metadata, as llama.cpp reads it: a factor
 * (<arch>.rope.scaling.factor, else the older .rope.scale_linear; 0 or 1 = none) applied
 * as linear interpolation, or YaRN's where .rope.scaling.type is "yarn" (ramp from
 * .rope.scaling.original_context_length, default the training context; beta_fast 32,
 * beta_slow 1), none where the type is "none"; and .rope.scaling.attn_factor (default 1),
 * the magnitude of cos and sin, whatever the type (YaRN multiplies it by
 * 1 + 0.1 ln(factor)). Phi-3's longrope keeps its factors in tensors (bound in
 * eng_weights_bind_src; the context picks the set); other types are refused. Until
 * 2026-12-06 merilo refused the factor and ignored attn_factor: such files computed
 * unscaled, exit 0. */
static int load_rope_scaling(const struct gguf_ctx *g, const char *an, struct eng_config *cfg, const char *path,
			     struct mrl_err *err)
{
	float factor = 0.0f, attn = 1.0f;
	int rc;
	if ((rc = get_opt_f32(g, an, "rope.scaling.factor", &factor, err)) ||
	    (factor == 0.0f && (rc = get_opt_f32(g, an, "rope.scale_linear", &factor, err))) ||
	    (rc = get_opt_f32(g, an, "rope.scaling.attn_factor", &attn, err)))
		return rc;
	char key[128], type[32] = "linear";
	snprintf(key, sizeof key, "%s.rope.scaling.type", an);
	struct gguf_str t;
	if ((rc = gguf_get_str(g, key, &t, err)) < 0)
		return rc;
	if (rc == 0)
		snprintf(type, sizeof type, "%.*s", (int)(t.len < 31 ? t.len : 31), t.ptr);
	const bool yarn = !strcmp(type, "yarn"), longrope = !strcmp(type, "longrope");
	if (strcmp(type, "none") && strcmp(type, "linear") && !yarn && !(longrope && cfg->arch == ENG_ARCH_PHI3))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: rope scaling type '%s' (metadata '%s') is not implemented "
				   "(supported: none, linear, yarn; longrope for phi3)", path, type, key);
	if (longrope && factor != 0.0f && factor != 1.0f)
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: rope scaling 'longrope' with a factor (%g) is not "
				   "implemented (Phi-3 files carry the factors as tensors)", path, (double)factor);
	cfg->rope_n_ctx_orig = cfg->n_ctx_train;
	if ((rc = get_opt_u32(g, an, "rope.scaling.original_context_length", &cfg->rope_n_ctx_orig, err)))
		return rc;
	if (!(factor >= 0.0f && factor <= 1e6f) || !(attn > 0.0f && attn <= 1e3f))
		return mrl_err_set(err, MRL_EINPUT, "%s: metadata '%s.rope.scaling.factor' (%g) or attn_factor (%g) is out "
				   "of range", path, an, (double)factor, (double)attn);
	struct eng_rope_scaling *s = &cfg->rope_scaling;
	memset(s, 0, sizeof *s);
	const float freq_scale = factor == 0.0f || !strcmp(type, "none") ? 1.0f : 1.0f / factor;
	float mscale = attn;
	if (yarn) {
		if (cfg->rope_n_ctx_orig == 0)
			return mrl_err_set(err, MRL_EINPUT, "%s: metadata '%s.rope.scaling.original_context_length' is 0",
					   path, an);
		s->ext_factor = 1.0f;
		eng_rope_yarn_corr(cfg->n_rot, cfg->rope_n_ctx_orig, cfg->rope_freq_base, 32.0f, 1.0f, true, s->corr);
		mscale *= 1.0f + 0.1f * logf(1.0f / freq_scale); /* as ggml's rope_yarn, in this order */
	}
	s->freq_scale = freq_scale == 1.0f ? 0.0f : freq_scale;
	s->mscale = mscale == 1.0f ? 0.0f : mscale;
	return 0;
}

/* n rope factors (NULL: none) each positive and finite, else MRL_EINPUT naming the tensor. */
static int check_factors(const float *f, uint32_t n, const char *name, const char *path, struct mrl_err *err)
{
	for (uint32_t i = 0; f && i < n; i++)
		if (!(f[i] > 0.0f && f[i] < 1e30f))
			return mrl_err_set(err, MRL_EINPUT, "%s: tensor '%s' entry %" PRIu32 " is %g, expected a positive "
					   "finite factor", path, name, i, (double)f[i]);
	return 0;
}

/* The FFN's width and the experts, as llama.cpp reads them: <arch>.expert_count (required
 * for qwen2moe and qwen3moe, optional for llama: Mixtral) and .expert_used_count; an expert's
 * width is .expert_feed_forward_length for the Qwen ones (their feed_forward_length is the
 * dense one no layer has), feed_forward_length otherwise; Qwen2-MoE's shared expert
 * .expert_shared_feed_forward_length. llama.cpp renormalizes the chosen experts' weights for
 * Mixtral and Qwen3-MoE, not for Qwen2-MoE (build_moe_ffn's norm_w). */
static int load_experts(const struct gguf_ctx *g, const struct arch_def *def, struct eng_config *cfg,
			const char *path, struct mrl_err *err)
{
	const char *an = def->name;
	int rc;
	if ((rc = get_opt_u32(g, an, "expert_count", &cfg->n_expert, err)))
		return rc;
	if (!cfg->n_expert && (def->flags & A_MOE))
		return mrl_err_set(err, MRL_EINPUT, "%s: required metadata key '%s.expert_count' is missing or 0", path, an);
	if (cfg->n_expert && !(def->flags & A_MOE) && def->id != ENG_ARCH_LLAMA)
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: experts ('%s.expert_count' %" PRIu32 ") are not implemented "
				   "for architecture '%s' (supported: llama, qwen2moe, qwen3moe)", path, an, cfg->n_expert, an);
	if (!cfg->n_expert)
		return get_req_u32(g, an, "feed_forward_length", &cfg->n_ff, path, err);
	if ((rc = get_req_u32(g, an, "expert_used_count", &cfg->n_expert_used, path, err)) ||
	    (rc = get_req_u32(g, an, (def->flags & A_MOE) ? "expert_feed_forward_length" : "feed_forward_length",
			      &cfg->n_ff, path, err)))
		return rc;
	if (cfg->n_expert > ENG_MAX_EXPERTS || cfg->n_expert_used > cfg->n_expert)
		return mrl_err_set(err, MRL_EINPUT, "%s: metadata '%s.expert_used_count' (%" PRIu32 ") must be at most "
				   "expert_count (%" PRIu32 "), which must be at most %d", path, an, cfg->n_expert_used,
				   cfg->n_expert, ENG_MAX_EXPERTS);
	cfg->expert_norm = def->id != ENG_ARCH_QWEN2MOE;
	if (def->id == ENG_ARCH_QWEN2MOE &&
	    (rc = get_req_u32(g, an, "expert_shared_feed_forward_length", &cfg->n_ff_shexp, path, err)))
		return rc;
	return 0;
}

static const struct arch_def *find_arch(const char *name, size_t len)
{
	for (size_t i = 0; i < N_ARCH; i++)
		if (strlen(arch_defs[i].name) == len && !memcmp(arch_defs[i].name, name, len))
			return &arch_defs[i];
	return NULL;
}

static void apply_arch(struct eng_config *cfg, const struct arch_def *def)
{
	cfg->arch = def->id;
	cfg->arch_name = def->name;
	cfg->norm = def->norm;
	cfg->ffn = def->ffn;
	cfg->rope = def->rope;
	cfg->qkv_bias = def->flags & A_QKV_BIAS;
	cfg->learned_pos = def->flags & A_LEARNED_POS;
	cfg->lin_bias = def->flags & A_LIN_BIAS;
	cfg->post_norms = def->flags & A_POST_NORMS;
	cfg->qk_norm = def->flags & A_QK_NORM;
	cfg->fused_qkv = def->flags & A_FUSED_QKV;
	cfg->fused_gate_up = def->flags & A_FUSED_GATE_UP;
}

void eng_config_window_layers(struct eng_config *cfg)
{
	uint32_t p = 0;
	for (size_t i = 0; i < N_ARCH; i++)
		if (arch_defs[i].id == cfg->arch)
			p = arch_defs[i].swa_period;
	for (uint32_t il = 0; il < cfg->n_layer; il++)
		if (!p || il % p < p - 1)
			eng_set_layer_windowed(cfg, il);
}

int eng_config_set_arch(struct eng_config *cfg, const char *name)
{
	const struct arch_def *def = find_arch(name, strlen(name));
	if (!def)
		return -1;
	apply_arch(cfg, def);
	return 0;
}

/* What a GGUF says beyond the common keys, for the architectures that have more:
 * Gemma 2's soft caps and window, each with llama.cpp's default when absent. */
static int arch_extras(struct eng_config *cfg, const struct arch_def *def, const struct gguf_ctx *g,
		       const char *path, struct mrl_err *err)
{
	const char *an = def->name;
	int rc;
	if (def->flags & A_EMBD_SCALE)
		cfg->embd_scale = sqrtf((float)cfg->n_embd);
	cfg->attn_scale = 1.0f / sqrtf((float)cfg->head_dim);
	if (def->id == ENG_ARCH_GEMMA3) {
		/* as llama.cpp: head_dim^-1/2 (n_embd / n_head for the 62-layer 27B), no soft caps, the
		 * windowed layers' rope base 10000 */
		if (cfg->n_layer == 62)
			cfg->attn_scale = 1.0f / sqrtf((float)(cfg->n_embd / cfg->n_head));
		cfg->rope_freq_base_swa = 10000.0f;
		if ((rc = get_req_u32(g, an, "attention.sliding_window", &cfg->sliding_window, path, err)))
			return rc; /* required, as llama.cpp requires it: the windowed layers are also the local-rope ones */
		/* llama.cpp f0d4d176 windows five layers of six whatever a file says; a later
		 * converter's pattern key is taken only where it says the same */
		uint32_t pattern = 6;
		const struct gguf_kv *pk = gguf_find(g, "gemma3.attention.sliding_window_pattern");
		if (pk && (pk->type != GGUF_U32 || get_opt_u32(g, an, "attention.sliding_window_pattern", &pattern, err) ||
			   pattern != 6))
			return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: metadata 'gemma3.attention.sliding_window_pattern' "
					   "other than 6 (five windowed layers of six) is not implemented", path);
	}
	if (def->id == ENG_ARCH_GEMMA2) {
		/* GGUF has no key for query_pre_attn_scalar: llama.cpp takes head_dim, and
		 * n_embd / n_head for the 46-layer 27B (whose config says so) */
		if (cfg->n_layer == 46)
			cfg->attn_scale = 1.0f / sqrtf((float)(cfg->n_embd / cfg->n_head));
		cfg->attn_softcap = 50.0f;
		cfg->final_softcap = 30.0f;
		if ((rc = get_opt_f32(g, an, "attn_logit_softcapping", &cfg->attn_softcap, err)) ||
		    (rc = get_opt_f32(g, an, "final_logit_softcapping", &cfg->final_softcap, err)))
			return rc;
		if (!(cfg->attn_softcap >= 0.0f && cfg->attn_softcap < 1e30f) ||
		    !(cfg->final_softcap >= 0.0f && cfg->final_softcap < 1e30f))
			return mrl_err_set(err, MRL_EINPUT, "%s: metadata '%s.attn_logit_softcapping' / "
					   "'final_logit_softcapping' must be finite and >= 0", path, an);
		if ((rc = get_opt_u32(g, an, "attention.sliding_window", &cfg->sliding_window, err)))
			return rc;
	}
	const bool longrope = gguf_find_tensor(g, "rope_factors_long.weight") || gguf_find_tensor(g, "rope_factors_short.weight");
	if (longrope && cfg->arch != ENG_ARCH_PHI3) /* llama.cpp reads them for phi3 only */
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: rope scaling 'longrope' (tensors rope_factors_long/short) "
				   "is not implemented for architecture '%s'", path, an);
	/* Mistral's and Phi-3's windows are not applied from a GGUF, as llama.cpp does not */
	if (cfg->sliding_window)
		eng_config_window_layers(cfg);
	cfg->gelu_f16 = true; /* what llama.cpp's CPU backend computes */
	cfg->f16_act = true;  /* likewise: ggml's f16 mul_mat rounds the activations to f16 */
	return 0;
}

int eng_config_load(struct eng_config *cfg, const struct gguf_ctx *g, const char *path,
		    struct mrl_err *err)
{
	memset(cfg, 0, sizeof *cfg);
	struct gguf_str a;
	int rc = gguf_get_str(g, "general.architecture", &a, err);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return mrl_err_set(err, MRL_EINPUT, "%s: required metadata key 'general.architecture' is missing",
				   path);
	const struct arch_def *def = find_arch(a.ptr, a.len);
	if (!def) {
		char supported[256] = "";
		for (size_t i = 0; i < N_ARCH; i++) {
			if (i)
				strncat(supported, ", ", sizeof supported - strlen(supported) - 1);
			strncat(supported, arch_defs[i].name, sizeof supported - strlen(supported) - 1);
		}
		int len = a.len > 64 ? 64 : (int)a.len;
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: unsupported architecture '%.*s' (supported: %s)",
				   path, len, a.ptr, supported);
	}
	const char *an = def->name;
	apply_arch(cfg, def);

	if ((rc = get_req_u32(g, an, "context_length", &cfg->n_ctx_train, path, err)) ||
	    (rc = get_req_u32(g, an, "embedding_length", &cfg->n_embd, path, err)) ||
	    (rc = get_req_u32(g, an, "block_count", &cfg->n_layer, path, err)) ||
	    (rc = load_experts(g, def, cfg, path, err)) ||
	    (rc = get_req_u32(g, an, "attention.head_count", &cfg->n_head, path, err)))
		return rc;
	cfg->n_head_kv = cfg->n_head;
	if ((rc = get_opt_u32(g, an, "attention.head_count_kv", &cfg->n_head_kv, err)))
		return rc;
	if (cfg->n_head_kv == 0 || cfg->n_head % cfg->n_head_kv)
		return mrl_err_set(err, MRL_EINPUT,
				   "%s: metadata '%s.attention.head_count_kv' = %" PRIu32
				   " does not divide head_count %" PRIu32, path, an, cfg->n_head_kv, cfg->n_head);
	if (cfg->n_embd % cfg->n_head)
		return mrl_err_set(err, MRL_EINPUT, "%s: metadata '%s.embedding_length' = %" PRIu32
				   " is not a multiple of head_count %" PRIu32, path, an, cfg->n_embd, cfg->n_head);
	cfg->head_dim = cfg->n_embd / cfg->n_head;
	uint32_t key_len = cfg->head_dim, val_len = cfg->head_dim;
	if ((rc = get_opt_u32(g, an, "attention.key_length", &key_len, err)) ||
	    (rc = get_opt_u32(g, an, "attention.value_length", &val_len, err)))
		return rc;
	if (key_len != val_len || key_len == 0 || key_len > 4096)
		return mrl_err_set(err, MRL_EINPUT, "%s: metadata '%s.attention.key_length' (%" PRIu32
				   ") and value_length (%" PRIu32 ") must be equal and in 1..4096",
				   path, an, key_len, val_len);
	cfg->head_dim = key_len;
	cfg->n_rot = cfg->rope == ENG_ROPE_NONE ? 0 : cfg->head_dim;
	if (cfg->rope != ENG_ROPE_NONE && (rc = get_opt_u32(g, an, "rope.dimension_count", &cfg->n_rot, err)))
		return rc;
	if (cfg->rope != ENG_ROPE_NONE && (cfg->n_rot > cfg->head_dim || cfg->n_rot % 2 || cfg->n_rot == 0))
		return mrl_err_set(err, MRL_EINPUT, "%s: metadata '%s.rope.dimension_count' = %" PRIu32
				   " must be even and at most the head size %" PRIu32, path, an, cfg->n_rot,
				   cfg->head_dim);
	cfg->rope_freq_base = 10000.0f;
	if ((rc = get_opt_f32(g, an, "rope.freq_base", &cfg->rope_freq_base, err)))
		return rc;
	if (!(cfg->rope_freq_base > 0.0f))
		return mrl_err_set(err, MRL_EINPUT, "%s: metadata '%s.rope.freq_base' must be positive", path, an);
	if (cfg->rope != ENG_ROPE_NONE && (rc = load_rope_scaling(g, an, cfg, path, err)))
		return rc;
	const char *eps_key = cfg->norm == ENG_NORM_RMS ? "attention.layer_norm_rms_epsilon"
							: "attention.layer_norm_epsilon";
	char key[128];
	snprintf(key, sizeof key, "%s.%s", an, eps_key);
	rc = gguf_get_f32(g, key, &cfg->norm_eps, err);
	if (rc < 0)
		return rc;
	if (rc == 1)
		return mrl_err_set(err, MRL_EINPUT, "%s: required metadata key '%s' is missing", path, key);
	if (!(cfg->norm_eps >= 0.0f && cfg->norm_eps < 1.0f))
		return mrl_err_set(err, MRL_EINPUT, "%s: metadata '%s' = %g is out of range", path, key,
				   (double)cfg->norm_eps);
	/* Sizes that make products overflow 32 bits are not a real model. */
	if (cfg->n_embd > (1u << 16) || cfg->n_ff > (1u << 20) || cfg->n_layer > 4096 || cfg->n_head > 4096)
		return mrl_err_set(err, MRL_EINPUT, "%s: implausible hyperparameters (n_embd %" PRIu32
				   ", n_ff %" PRIu32 ", n_layer %" PRIu32 ", n_head %" PRIu32 ")",
				   path, cfg->n_embd, cfg->n_ff, cfg->n_layer, cfg->n_head);
	cfg->n_embd_q = cfg->n_head * cfg->head_dim;
	cfg->n_embd_kv = cfg->n_head_kv * cfg->head_dim;
	/* n_vocab is taken from token_embd.weight when the weights are bound. */
	return arch_extras(cfg, def, g, path, err);
}

/* Bind one tensor by name; ne1 == 0 means "a vector of ne0". want_f32 for norm
 * weights and biases (the forward pass reads them as floats). */
static int bind(struct eng_tensor *t, eng_tensor_find_fn find, const void *src, const char *name, uint64_t ne0,
		uint64_t ne1, bool want_f32, bool optional, const char *path, struct mrl_err *err)
{
	memset(t, 0, sizeof *t);
	const struct gguf_tensor *gt = find(src, name);
	if (!gt) {
		if (optional)
			return 0;
		return mrl_err_set(err, MRL_EINPUT, "%s: required tensor '%s' is missing", path, name);
	}
	bool is_vec = ne1 == 0;
	uint64_t want1 = is_vec ? 1 : ne1;
	bool dims_ok = gt->ne[0] == ne0 && gt->ne[1] == want1 && gt->ne[2] == 1 && gt->ne[3] == 1 &&
		       (is_vec ? gt->n_dims == 1 : gt->n_dims <= 2);
	if (!dims_ok)
		return mrl_err_set(err, MRL_EINPUT,
				   "%s: tensor '%s' has shape [%" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64
				   "], expected [%" PRIu64 ", %" PRIu64 "]", path, name, gt->ne[0], gt->ne[1],
				   gt->ne[2], gt->ne[3], ne0, want1);
	if (want_f32 && gt->type != ENG_TYPE_F32)
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: tensor '%s' has type %s, expected f32", path, name,
				   eng_type_name(gt->type));
	if (!eng_type_supported(gt->type))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: tensor '%s' has type %s, which merilo cannot compute "
				   "with (supported: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_K, q3_K, "
				   "q4_K, q5_K, q6_K, iq4_nl, iq4_xs)", path, name, eng_type_name(gt->type));
	uint64_t row_bytes;
	if (eng_row_size(gt->type, ne0, &row_bytes))
		return mrl_err_set(err, MRL_EINPUT, "%s: tensor '%s': row of %" PRIu64 " elements is not a whole "
				   "number of %s blocks", path, name, ne0, eng_type_name(gt->type));
	if (row_bytes * want1 / want1 != row_bytes || row_bytes * want1 > gt->nbytes)
		return mrl_err_set(err, MRL_EINPUT, "%s: tensor '%s': data size %" PRIu64 " is smaller than its "
				   "shape needs", path, name, gt->nbytes);
	t->data = gt->data;
	t->type = gt->type;
	t->ne0 = ne0;
	t->ne1 = want1;
	t->row_bytes = row_bytes;
	return 0;
}

static const struct gguf_tensor *find_in_gguf(const void *g, const char *name)
{
	return gguf_find_tensor(g, name);
}

int eng_weights_bind(struct eng_weights *w, const struct eng_config *cfg, const struct gguf_ctx *g,
		     const char *path, struct mrl_err *err)
{
	return eng_weights_bind_src(w, cfg, find_in_gguf, g, path, err);
}

/* Rows [r0, r0 + n) of a bound matrix, as a matrix of its own (fused tensors). */
static struct eng_tensor rows_of(const struct eng_tensor *t, uint64_t r0, uint64_t n)
{
	struct eng_tensor s = *t;
	s.data = (const char *)t->data + r0 * t->row_bytes;
	s.ne1 = n;
	return s;
}

/* Elements [e0, e0 + n) of a bound f32 vector. */
static struct eng_tensor part_of(const struct eng_tensor *t, uint64_t e0, uint64_t n)
{
	struct eng_tensor s = *t;
	s.data = (const float *)t->data + e0;
	s.ne0 = n;
	s.row_bytes = n * sizeof(float);
	return s;
}

/* Which tensors a layer has under which flags. */
enum { NEED_ALWAYS, NEED_QKV_BIAS, NEED_LIN_BIAS, NEED_POST_NORMS, NEED_SPLIT_QKV, NEED_GATE, NEED_SPLIT_UP,
       NEED_FUSED_UP, NEED_QK_NORM, NEED_DENSE };

static bool needed(const struct eng_config *cfg, int need)
{
	switch (need) {
	case NEED_QKV_BIAS: return cfg->qkv_bias && !cfg->fused_qkv;
	case NEED_LIN_BIAS: return cfg->lin_bias;
	case NEED_POST_NORMS: return cfg->post_norms;
	case NEED_QK_NORM: return cfg->qk_norm;
	case NEED_SPLIT_QKV: return !cfg->fused_qkv;
	case NEED_GATE: return cfg->ffn != ENG_FFN_GELU && !cfg->fused_gate_up && !cfg->n_expert;
	case NEED_SPLIT_UP: return !cfg->fused_gate_up && !cfg->n_expert;
	case NEED_FUSED_UP: return cfg->fused_gate_up;
	case NEED_DENSE: return !cfg->n_expert;
	default: return true;
	}
}

/* The fused q/k/v matrix (and bias) of layer il, cut into wq/wk/wv (bq/bk/bv). */
static int bind_fused_qkv(struct eng_layer *L, const struct eng_config *cfg, eng_tensor_find_fn find,
			  const void *g, uint32_t il, const char *path, struct mrl_err *err)
{
	uint64_t dq = cfg->n_embd_q, dkv = cfg->n_embd_kv;
	char name[96];
	struct eng_tensor t;
	snprintf(name, sizeof name, "blk.%" PRIu32 ".attn_qkv.weight", il);
	int rc = bind(&t, find, g, name, cfg->n_embd, dq + 2 * dkv, false, false, path, err);
	if (rc)
		return rc;
	L->wq = rows_of(&t, 0, dq);
	L->wk = rows_of(&t, dq, dkv);
	L->wv = rows_of(&t, dq + dkv, dkv);
	if (!cfg->qkv_bias)
		return 0;
	snprintf(name, sizeof name, "blk.%" PRIu32 ".attn_qkv.bias", il);
	if ((rc = bind(&t, find, g, name, dq + 2 * dkv, 0, true, false, path, err)))
		return rc;
	L->bq = part_of(&t, 0, dq);
	L->bk = part_of(&t, dq, dkv);
	L->bv = part_of(&t, dq + dkv, dkv);
	return 0;
}

static int bind_layer(struct eng_layer *L, const struct eng_config *cfg, eng_tensor_find_fn find, const void *g,
		      uint32_t il, const char *path, struct mrl_err *err)
{
	uint64_t d = cfg->n_embd, dq = cfg->n_embd_q, dkv = cfg->n_embd_kv, ff = cfg->n_ff;
	struct {
		struct eng_tensor *t;
		const char *suffix;
		uint64_t ne0, ne1;
		bool f32;
		int need;
	} specs[] = {
		{ &L->attn_norm, "attn_norm.weight", d, 0, true, NEED_ALWAYS },
		{ &L->attn_norm_b, "attn_norm.bias", d, 0, true, NEED_LIN_BIAS },
		{ &L->wq, "attn_q.weight", d, dq, false, NEED_SPLIT_QKV },
		{ &L->wk, "attn_k.weight", d, dkv, false, NEED_SPLIT_QKV },
		{ &L->wv, "attn_v.weight", d, dkv, false, NEED_SPLIT_QKV },
		{ &L->wo, "attn_output.weight", dq, d, false, NEED_ALWAYS },
		{ &L->bo, "attn_output.bias", d, 0, true, NEED_LIN_BIAS },
		{ &L->bq, "attn_q.bias", dq, 0, true, NEED_QKV_BIAS },
		{ &L->bk, "attn_k.bias", dkv, 0, true, NEED_QKV_BIAS },
		{ &L->bv, "attn_v.bias", dkv, 0, true, NEED_QKV_BIAS },
		{ &L->attn_post_norm, "post_attention_norm.weight", d, 0, true, NEED_POST_NORMS },
		{ &L->attn_q_norm, "attn_q_norm.weight", cfg->head_dim, 0, true, NEED_QK_NORM },
		{ &L->attn_k_norm, "attn_k_norm.weight", cfg->head_dim, 0, true, NEED_QK_NORM },
		{ &L->ffn_norm, "ffn_norm.weight", d, 0, true, NEED_ALWAYS },
		{ &L->ffn_norm_b, "ffn_norm.bias", d, 0, true, NEED_LIN_BIAS },
		{ &L->ffn_gate, "ffn_gate.weight", d, ff, false, NEED_GATE },
		{ &L->ffn_up, "ffn_up.weight", d, ff, false, NEED_SPLIT_UP },
		{ &L->ffn_gate, "ffn_up.weight", d, 2 * ff, false, NEED_FUSED_UP }, /* cut below */
		{ &L->ffn_up_b, "ffn_up.bias", ff, 0, true, NEED_LIN_BIAS },
		{ &L->ffn_down, "ffn_down.weight", ff, d, false, NEED_DENSE },
		{ &L->ffn_down_b, "ffn_down.bias", d, 0, true, NEED_LIN_BIAS },
		{ &L->ffn_post_norm, "post_ffw_norm.weight", d, 0, true, NEED_POST_NORMS },
	};
	int rc;
	for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
		char name[96];
		snprintf(name, sizeof name, "blk.%" PRIu32 ".%s", il, specs[i].suffix);
		/* q/k/v biases and q/k norms an architecture does not use are bound to be refused below */
		bool want = needed(cfg, specs[i].need),
		     probe = (specs[i].need == NEED_QKV_BIAS && !cfg->qkv_bias) ||
			     (specs[i].need == NEED_QK_NORM && !cfg->qk_norm);
		if ((want || probe) && (rc = bind(specs[i].t, find, g, name, specs[i].ne0, specs[i].ne1, specs[i].f32,
						  !want, path, err)))
			return rc;
	}
	if (!cfg->qkv_bias && (L->bq.data || L->bk.data || L->bv.data))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: layer %" PRIu32 " has q/k/v biases, which "
				   "architecture '%s' does not use", path, il, cfg->arch_name);
	if (!cfg->qk_norm && (L->attn_q_norm.data || L->attn_k_norm.data))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: layer %" PRIu32 " has q/k norms (attn_q_norm, "
				   "attn_k_norm), which architecture '%s' does not use", path, il, cfg->arch_name);
	if (cfg->fused_qkv && (rc = bind_fused_qkv(L, cfg, find, g, il, path, err)))
		return rc;
	if (cfg->fused_gate_up) {
		L->ffn_up = rows_of(&L->ffn_gate, ff, ff);
		L->ffn_gate = rows_of(&L->ffn_gate, 0, ff);
	}
	return 0;
}

/* Expert e's (ne0, ne1) matrix of a 3-d [ne0, ne1, n_expert] tensor, checked as bind checks a
 * matrix; a 2-d one is [ne0, ne1, 1], as ggml reads any tensor (one expert). */
static int bind_slice(struct eng_tensor *t, const struct gguf_tensor *gt, uint32_t e, uint32_t n_expert, uint64_t ne0,
		      uint64_t ne1, const char *name, const char *path, struct mrl_err *err)
{
	memset(t, 0, sizeof *t);
	if (gt->n_dims > 3 || gt->ne[0] != ne0 || gt->ne[1] != ne1 || gt->ne[2] != n_expert || gt->ne[3] != 1)
		return mrl_err_set(err, MRL_EINPUT, "%s: tensor '%s' has shape [%" PRIu64 ", %" PRIu64 ", %" PRIu64 ", %" PRIu64
				   "], expected [%" PRIu64 ", %" PRIu64 ", %" PRIu32 "]", path, name, gt->ne[0], gt->ne[1],
				   gt->ne[2], gt->ne[3], ne0, ne1, n_expert);
	if (!eng_type_supported(gt->type))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: tensor '%s' has type %s, which merilo cannot compute with",
				   path, name, eng_type_name(gt->type));
	uint64_t row_bytes;
	if (eng_row_size(gt->type, ne0, &row_bytes))
		return mrl_err_set(err, MRL_EINPUT, "%s: tensor '%s': row of %" PRIu64 " elements is not a whole number "
				   "of %s blocks", path, name, ne0, eng_type_name(gt->type));
	const uint64_t per = row_bytes * ne1; /* ne0, ne1 <= 2^20 (the configuration's bounds) */
	if (per > gt->nbytes / n_expert)
		return mrl_err_set(err, MRL_EINPUT, "%s: tensor '%s': data size %" PRIu64 " is smaller than its shape needs",
				   path, name, gt->nbytes);
	t->data = (const char *)gt->data + (uint64_t)e * per;
	t->type = gt->type;
	t->ne0 = ne0;
	t->ne1 = ne1;
	t->row_bytes = row_bytes;
	return 0;
}

/* Layer il's router and experts: the router blk.N.ffn_gate_inp.weight; each expert's gate,
 * up and down from llama.cpp's 3-d blk.N.ffn_{gate,up,down}_exps.weight, or where a layer
 * has none, the per-expert blk.N.ffn_gate.E.weight (older Mixtral GGUFs, and HF folders). */
static int bind_experts(struct eng_layer *L, const struct eng_config *cfg, eng_tensor_find_fn find, const void *g,
			uint32_t il, const char *path, struct mrl_err *err)
{
	const uint64_t d = cfg->n_embd, ff = cfg->n_ff;
	char name[96];
	snprintf(name, sizeof name, "blk.%" PRIu32 ".ffn_gate_inp.weight", il);
	int rc = bind(&L->ffn_gate_inp, find, g, name, d, cfg->n_expert, false, false, path, err);
	static const char *const part[3] = { "gate", "up", "down" };
	for (int p = 0; !rc && p < 3; p++) {
		const uint64_t ne0 = p == 2 ? ff : d, ne1 = p == 2 ? d : ff;
		snprintf(name, sizeof name, "blk.%" PRIu32 ".ffn_%s_exps.weight", il, part[p]);
		const struct gguf_tensor *gt = find(g, name);
		for (uint32_t e = 0; !rc && e < cfg->n_expert; e++) {
			struct eng_tensor *t = &L->exps[3 * e + (uint32_t)p];
			if (gt) {
				rc = bind_slice(t, gt, e, cfg->n_expert, ne0, ne1, name, path, err);
				continue;
			}
			char one[96];
			snprintf(one, sizeof one, "blk.%" PRIu32 ".ffn_%s.%" PRIu32 ".weight", il, part[p], e);
			if (!find(g, one))
				return mrl_err_set(err, MRL_EINPUT, "%s: required tensor '%s' (or '%s') is missing", path, name,
						   one);
			rc = bind(t, find, g, one, ne0, ne1, false, false, path, err);
		}
	}
	const uint64_t fs = cfg->n_ff_shexp;
	struct {
		struct eng_tensor *t;
		const char *suffix;
		uint64_t ne0, ne1;
	} shared[] = {
		{ &L->ffn_gate_inp_shexp, "ffn_gate_inp_shexp.weight", d, 1 }, /* GGUF: 1-d; HF: [1, d] */
		{ &L->ffn_gate_shexp, "ffn_gate_shexp.weight", d, fs },
		{ &L->ffn_up_shexp, "ffn_up_shexp.weight", d, fs },
		{ &L->ffn_down_shexp, "ffn_down_shexp.weight", fs, d },
	};
	for (size_t i = 0; !rc && fs && i < sizeof shared / sizeof shared[0]; i++) {
		snprintf(name, sizeof name, "blk.%" PRIu32 ".%s", il, shared[i].suffix);
		rc = bind(shared[i].t, find, g, name, shared[i].ne0, shared[i].ne1, false, false, path, err);
	}
	return rc;
}

int eng_weights_bind_src(struct eng_weights *w, const struct eng_config *cfg, eng_tensor_find_fn find,
			 const void *g, const char *path, struct mrl_err *err)
{
	memset(w, 0, sizeof *w);
	int rc;
	const struct gguf_tensor *te = find(g, "token_embd.weight");
	if (!te)
		return mrl_err_set(err, MRL_EINPUT, "%s: required tensor 'token_embd.weight' is missing", path);
	uint64_t n_vocab = te->ne[1];
	if (n_vocab == 0 || n_vocab > INT32_MAX)
		return mrl_err_set(err, MRL_EINPUT, "%s: tensor 'token_embd.weight' has %" PRIu64 " rows", path,
				   n_vocab);
	uint64_t d = cfg->n_embd;
	if ((rc = bind(&w->tok_embd, find, g, "token_embd.weight", d, n_vocab, false, false, path, err)) ||
	    (rc = bind(&w->output_norm, find, g, "output_norm.weight", d, 0, true, false, path, err)) ||
	    (rc = bind(&w->output, find, g, "output.weight", d, n_vocab, false, true, path, err)))
		return rc;
	if (cfg->lin_bias && (rc = bind(&w->output_norm_b, find, g, "output_norm.bias", d, 0, true, false, path, err)))
		return rc;
	if (cfg->learned_pos &&
	    (rc = bind(&w->pos_embd, find, g, "position_embd.weight", d, cfg->n_ctx_train, false, false, path, err)))
		return rc;
	struct eng_tensor rf = { 0 };
	if (cfg->n_rot && (rc = bind(&rf, find, g, "rope_freqs.weight", cfg->n_rot / 2, 0, true, true, path, err)))
		return rc;
	w->rope_factors = rf.data;
	if ((rc = check_factors(w->rope_factors, cfg->n_rot / 2, "rope_freqs.weight", path, err)))
		return rc;
	struct eng_tensor rl = { 0 }, rs = { 0 };
	if (cfg->arch == ENG_ARCH_PHI3 &&
	    ((rc = bind(&rl, find, g, "rope_factors_long.weight", cfg->n_rot / 2, 0, true, true, path, err)) ||
	     (rc = bind(&rs, find, g, "rope_factors_short.weight", cfg->n_rot / 2, 0, true, true, path, err)) ||
	     (rc = check_factors(rl.data, cfg->n_rot / 2, "rope_factors_long.weight", path, err)) ||
	     (rc = check_factors(rs.data, cfg->n_rot / 2, "rope_factors_short.weight", path, err))))
		return rc;
	if (!rl.data != !rs.data || (rl.data && w->rope_factors))
		return mrl_err_set(err, MRL_EINPUT, "%s: tensors rope_factors_long and rope_factors_short come together, "
				   "and without rope_freqs", path);
	w->rope_long = rl.data;
	w->rope_short = rs.data;
	w->tok_embd.name = "token_embd.weight";
	w->output_norm.name = "output_norm.weight";
	if (!w->output.data) {
		w->output = w->tok_embd;
		w->tied_output = true;
	} else {
		w->output.name = "output.weight";
	}
	w->layers = calloc(cfg->n_layer, sizeof *w->layers);
	if (cfg->n_expert)
		w->experts = calloc((size_t)cfg->n_layer * cfg->n_expert * 3, sizeof *w->experts);
	if (!w->layers || (cfg->n_expert && !w->experts))
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
	for (uint32_t il = 0; il < cfg->n_layer; il++) {
		struct eng_layer *L = &w->layers[il];
		if ((rc = bind_layer(L, cfg, find, g, il, path, err)))
			return rc;
		L->exps = cfg->n_expert ? w->experts + (size_t)il * cfg->n_expert * 3 : NULL;
		if (cfg->n_expert && (rc = bind_experts(L, cfg, find, g, il, path, err)))
			return rc;
	}
	return 0;
}

void eng_weights_release(struct eng_weights *w)
{
	free(w->layers);
	free(w->experts);
	w->layers = NULL;
	w->experts = NULL;
}
