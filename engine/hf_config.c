/* hf_config.c — config.json of a Hugging Face checkpoint, and its tensor names.
 *
 * One row per model_type says which row of arch.c's table it is (the flags
 * the forward pass reads), under which keys config.json keeps the sizes, and
 * how its tensors are named; what differs beyond that (GPT-2's and Gemma 2's
 * extra fields) is a small function of the row. Every field that changes the
 * math is read and checked; one merilo does not implement (a rope_scaling type
 * other than llama3, biases an architecture does not have, an activation other
 * than its own) is an error that names it. HF stores Q/K unpermuted, so its rope
 * is the NeoX (halves) layout.
 */
#include "engine/hf_int.h"
#include "common/fileio.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json.h"

json_t *hf_load_json(const char *path, struct mrl_err *err, int *rc)
{
	FILE *f = mrl_fopen_read(path);
	if (!f) {
		*rc = mrl_err_set(err, MRL_EIO, "%s: cannot open: %s", path, strerror(errno));
		return NULL;
	}
	char *buf = malloc(HF_MAX_JSON + 1);
	size_t n = buf ? fread(buf, 1, HF_MAX_JSON + 1, f) : 0;
	fclose(f);
	json_t *j = NULL;
	if (!buf) {
		*rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
	} else if (n > HF_MAX_JSON) {
		*rc = mrl_err_set(err, MRL_EINPUT, "%s: larger than %u bytes", path, HF_MAX_JSON);
	} else if (mrl_json_depth_exceeded_at(buf, n, 32) < n) {
		*rc = mrl_err_set(err, MRL_EINPUT, "%s: JSON nests deeper than 32", path);
	} else {
		struct mrl_json_error je;
		j = mrl_json_parse_object(buf, n, 0, &je);
		if (!j)
			*rc = mrl_err_set(err, MRL_EINPUT, "%s: %s", path, je.text);
	}
	free(buf);
	return j;
}

/* ---- the model_type table ---- */

/* HF name -> GGUF name (NULL: a tensor to ignore) and what to do to the data. */
struct hf_name {
	const char *hf, *gg;
	unsigned flags;
};

/* Where config.json keeps the sizes. */
struct hf_keys {
	const char *hidden, *layers, *heads, *ff, *ctx, *eps, *act;
};

struct hf_arch {
	const char *model_type;
	const char *arch;           /* row of arch.c's table */
	const struct hf_keys *keys;
	const char *act;            /* the activation it must name (absent: this one) */
	const char *strip;          /* prefix dropped from every tensor name first, or NULL */
	const char *layer_prefix;   /* "model.layers." + N + "." + a name of layer */
	const struct hf_name *top, *layer; /* { NULL } terminated */
	bool tied_default;          /* tie_word_embeddings when config.json does not say */
	bool ff_default_4x;         /* intermediate size null or absent: 4 * hidden (GPT-2) */
	int (*extras)(const json_t *c, struct eng_config *cfg, const char *path, struct mrl_err *err);
	unsigned window;            /* HF_WIN_*: which window keys its transformers class reads */
	uint32_t window_default;    /* sliding_window when config.json has no such key (0: none) */
	const struct hf_name *layer_extra; /* names of a layer beyond `layer`, or NULL */
	const char *defaults;       /* JSON object of the config class's defaults for absent keys, or NULL */
	bool multimodal;            /* the text model of an image-text checkpoint: its config in
				     * "text_config", its tensors under language_model, the vision ones left */
	const char *experts;        /* a mixture of experts' layer prefix: + E + "." + a name of expert_names */
	const struct hf_name *expert_names;
};

/* The window keys a model_type's transformers 5 class honours; the others ignore
 * them (Llama and GPT-2 attend to every position whatever sliding_window says). */
#define HF_WIN_KEY 1u       /* sliding_window, every layer unless layer_types says otherwise */
#define HF_WIN_TYPES 2u     /* layer_types (Mistral's is read as Ministral's, as AutoConfig does) */
#define HF_WIN_NOT_NULL 4u  /* sliding_window null is refused (Gemma 2 always builds its window mask) */

static const struct hf_keys llama_keys = { "hidden_size", "num_hidden_layers", "num_attention_heads",
					   "intermediate_size", "max_position_embeddings", "rms_norm_eps",
					   "hidden_act" };
static const struct hf_keys gemma2_keys = { "hidden_size", "num_hidden_layers", "num_attention_heads",
					    "intermediate_size", "max_position_embeddings", "rms_norm_eps",
					    "hidden_activation" };
static const struct hf_keys gpt2_keys = { "n_embd", "n_layer", "n_head", "n_inner", "n_positions",
					  "layer_norm_epsilon", "activation_function" };

static const struct hf_name llama_top[] = {
	{ "model.embed_tokens.weight", "token_embd.weight", 0 },
	{ "model.norm.weight", "output_norm.weight", 0 },
	{ "lm_head.weight", "output.weight", 0 },
	{ NULL, NULL, 0 },
};

static const struct hf_name llama_layer[] = {
	{ "input_layernorm.weight", "attn_norm.weight", 0 },
	{ "self_attn.q_proj.weight", "attn_q.weight", 0 },
	{ "self_attn.k_proj.weight", "attn_k.weight", 0 },
	{ "self_attn.v_proj.weight", "attn_v.weight", 0 },
	{ "self_attn.o_proj.weight", "attn_output.weight", 0 },
	{ "self_attn.q_proj.bias", "attn_q.bias", 0 },
	{ "self_attn.k_proj.bias", "attn_k.bias", 0 },
	{ "self_attn.v_proj.bias", "attn_v.bias", 0 },
	{ "self_attn.o_proj.bias", "attn_output.bias", 0 },
	{ "post_attention_layernorm.weight", "ffn_norm.weight", 0 },
	{ "mlp.gate_proj.weight", "ffn_gate.weight", 0 },
	{ "mlp.up_proj.weight", "ffn_up.weight", 0 },
	{ "mlp.down_proj.weight", "ffn_down.weight", 0 },
	{ "self_attn.qkv_proj.weight", "attn_qkv.weight", 0 }, /* Phi-3: [q | k | v] */
	{ "mlp.gate_up_proj.weight", "ffn_up.weight", 0 },     /* Phi-3: [gate | up] */
	{ "self_attn.rotary_emb.inv_freq", NULL, 0 }, /* older checkpoints store the rope table */
	{ NULL, NULL, 0 },
};

/* Qwen3: Llama's names and a norm for each head of q and of k */
static const struct hf_name qwen3_layer_extra[] = {
	{ "self_attn.q_norm.weight", "attn_q_norm.weight", 0 },
	{ "self_attn.k_norm.weight", "attn_k_norm.weight", 0 },
	{ NULL, NULL, 0 },
};

/* Mixtral: Llama's names, a router and experts w1 (gate), w3 (up), w2 (down) */
static const struct hf_name mixtral_layer_extra[] = {
	{ "block_sparse_moe.gate.weight", "ffn_gate_inp.weight", 0 },
	{ NULL, NULL, 0 },
};
static const struct hf_name mixtral_expert[] = {
	{ "w1.weight", "ffn_gate", 0 },
	{ "w3.weight", "ffn_up", 0 },
	{ "w2.weight", "ffn_down", 0 },
	{ NULL, NULL, 0 },
};

/* Qwen3-MoE: Qwen3's names, a router and experts with Llama's MLP names */
static const struct hf_name qwen3moe_layer_extra[] = {
	{ "self_attn.q_norm.weight", "attn_q_norm.weight", 0 },
	{ "self_attn.k_norm.weight", "attn_k_norm.weight", 0 },
	{ "mlp.gate.weight", "ffn_gate_inp.weight", 0 },
	{ NULL, NULL, 0 },
};
/* Qwen2-MoE: Qwen2's names, a router, a shared expert and its gate */
static const struct hf_name qwen2moe_layer_extra[] = {
	{ "mlp.gate.weight", "ffn_gate_inp.weight", 0 },
	{ "mlp.shared_expert.gate_proj.weight", "ffn_gate_shexp.weight", 0 },
	{ "mlp.shared_expert.up_proj.weight", "ffn_up_shexp.weight", 0 },
	{ "mlp.shared_expert.down_proj.weight", "ffn_down_shexp.weight", 0 },
	{ "mlp.shared_expert_gate.weight", "ffn_gate_inp_shexp.weight", 0 },
	{ NULL, NULL, 0 },
};
static const struct hf_name qwen_expert[] = {
	{ "gate_proj.weight", "ffn_gate", 0 },
	{ "up_proj.weight", "ffn_up", 0 },
	{ "down_proj.weight", "ffn_down", 0 },
	{ NULL, NULL, 0 },
};

/* Gemma 2: four norms a layer, each 1 + w; the final norm too. */
static const struct hf_name gemma2_top[] = {
	{ "model.embed_tokens.weight", "token_embd.weight", 0 },
	{ "model.norm.weight", "output_norm.weight", HF_PLUS_ONE },
	{ "lm_head.weight", "output.weight", 0 },
	{ NULL, NULL, 0 },
};

static const struct hf_name gemma2_layer[] = {
	{ "input_layernorm.weight", "attn_norm.weight", HF_PLUS_ONE },
	{ "self_attn.q_proj.weight", "attn_q.weight", 0 },
	{ "self_attn.k_proj.weight", "attn_k.weight", 0 },
	{ "self_attn.v_proj.weight", "attn_v.weight", 0 },
	{ "self_attn.o_proj.weight", "attn_output.weight", 0 },
	{ "post_attention_layernorm.weight", "post_attention_norm.weight", HF_PLUS_ONE },
	{ "pre_feedforward_layernorm.weight", "ffn_norm.weight", HF_PLUS_ONE },
	{ "post_feedforward_layernorm.weight", "post_ffw_norm.weight", HF_PLUS_ONE },
	{ "mlp.gate_proj.weight", "ffn_gate.weight", 0 },
	{ "mlp.up_proj.weight", "ffn_up.weight", 0 },
	{ "mlp.down_proj.weight", "ffn_down.weight", 0 },
	{ NULL, NULL, 0 },
};

/* Gemma 3: Gemma 2's names and a norm (1 + w) for each head of q and of k */
static const struct hf_name gemma3_layer_extra[] = {
	{ "self_attn.q_norm.weight", "attn_q_norm.weight", HF_PLUS_ONE },
	{ "self_attn.k_norm.weight", "attn_k_norm.weight", HF_PLUS_ONE },
	{ NULL, NULL, 0 },
};

/* GPT-2 (names after "transformer."): Conv1D matrices are stored [in, out]. */
static const struct hf_name gpt2_top[] = {
	{ "wte.weight", "token_embd.weight", 0 },
	{ "wpe.weight", "position_embd.weight", 0 },
	{ "ln_f.weight", "output_norm.weight", 0 },
	{ "ln_f.bias", "output_norm.bias", 0 },
	{ "lm_head.weight", "output.weight", 0 },
	{ NULL, NULL, 0 },
};

static const struct hf_name gpt2_layer[] = {
	{ "ln_1.weight", "attn_norm.weight", 0 },
	{ "ln_1.bias", "attn_norm.bias", 0 },
	{ "attn.c_attn.weight", "attn_qkv.weight", HF_TRANSPOSE },
	{ "attn.c_attn.bias", "attn_qkv.bias", 0 },
	{ "attn.c_proj.weight", "attn_output.weight", HF_TRANSPOSE },
	{ "attn.c_proj.bias", "attn_output.bias", 0 },
	{ "ln_2.weight", "ffn_norm.weight", 0 },
	{ "ln_2.bias", "ffn_norm.bias", 0 },
	{ "mlp.c_fc.weight", "ffn_up.weight", HF_TRANSPOSE },
	{ "mlp.c_fc.bias", "ffn_up.bias", 0 },
	{ "mlp.c_proj.weight", "ffn_down.weight", HF_TRANSPOSE },
	{ "mlp.c_proj.bias", "ffn_down.bias", 0 },
	{ "attn.bias", NULL, 0 },        /* older checkpoints store the causal mask */
	{ "attn.masked_bias", NULL, 0 },
	{ NULL, NULL, 0 },
};

static int gpt2_extras(const json_t *c, struct eng_config *cfg, const char *path, struct mrl_err *err);
static int gemma2_extras(const json_t *c, struct eng_config *cfg, const char *path, struct mrl_err *err);
static int phi3_extras(const json_t *c, struct eng_config *cfg, const char *path, struct mrl_err *err);
static int gemma3_extras(const json_t *c, struct eng_config *cfg, const char *path, struct mrl_err *err);
static int mixtral_extras(const json_t *c, struct eng_config *cfg, const char *path, struct mrl_err *err);
static int qwen_moe_extras(const json_t *c, struct eng_config *cfg, const char *path, struct mrl_err *err);
static int qwen2moe_extras(const json_t *c, struct eng_config *cfg, const char *path, struct mrl_err *err);

/* Gemma3TextConfig's defaults (transformers 5.25): the published 4B-27B checkpoints give only
 * what differs from them in their text_config. */
#define GEMMA3_DEFAULTS                                                                                               \
	"{\"vocab_size\": 262208, \"hidden_size\": 2304, \"intermediate_size\": 9216, \"num_hidden_layers\": 26, "    \
	"\"num_attention_heads\": 8, \"num_key_value_heads\": 4, \"head_dim\": 256, \"max_position_embeddings\": 131072, " \
	"\"rms_norm_eps\": 1e-6, \"rope_theta\": 1e6}"

/* MistralConfig's defaults (transformers 5.25) for Mistral 3's text_config; the window's is the row's */
#define MISTRAL_DEFAULTS                                                                                              \
	"{\"vocab_size\": 32000, \"hidden_size\": 4096, \"intermediate_size\": 14336, \"num_hidden_layers\": 32, "     \
	"\"num_attention_heads\": 32, \"num_key_value_heads\": 8, \"max_position_embeddings\": 131072, "                \
	"\"rms_norm_eps\": 1e-6}"

static const struct hf_arch hf_archs[] = {
	{ "llama", "llama", &llama_keys, "silu", NULL, "model.layers.", llama_top, llama_layer, false, false, NULL, 0,
	  0, NULL, NULL, false, NULL, NULL },
	/* Qwen2's window needs use_sliding_window (refused); its layer_types then has no sliding layer */
	{ "qwen2", "qwen2", &llama_keys, "silu", NULL, "model.layers.", llama_top, llama_layer, false, false, NULL,
	  HF_WIN_TYPES, 0, NULL, NULL, false, NULL, NULL },
	/* Qwen3: attention_bias (refused when true), q/k norms; its window as Qwen2's */
	{ "qwen3", "qwen3", &llama_keys, "silu", NULL, "model.layers.", llama_top, llama_layer, false, false, NULL,
	  HF_WIN_TYPES, 0, qwen3_layer_extra, NULL, false, NULL, NULL },
	/* Mistral is Llama plus a sliding window (MistralConfig's default: 4096) */
	{ "mistral", "llama", &llama_keys, "silu", NULL, "model.layers.", llama_top, llama_layer, false, false, NULL,
	  HF_WIN_KEY | HF_WIN_TYPES, 4096, NULL, NULL, false, NULL, NULL },
	/* Mistral Small 3.1 on (Mistral3ForConditionalGeneration): its text model, the vision tower left */
	{ "mistral3", "llama", &llama_keys, "silu", NULL, "model.layers.", llama_top, llama_layer, false, false, NULL,
	  HF_WIN_KEY | HF_WIN_TYPES, 4096, NULL, MISTRAL_DEFAULTS, true, NULL, NULL },
	/* Mixtral: Mistral with experts (its window, where sliding_window is set; none by default) */
	{ "mixtral", "llama", &llama_keys, "silu", NULL, "model.layers.", llama_top, llama_layer, false, false,
	  mixtral_extras, HF_WIN_KEY, 0, mixtral_layer_extra, NULL, false, "block_sparse_moe.experts.", mixtral_expert },
	/* Qwen2-MoE: Qwen2 with experts and a gated shared expert on every layer */
	{ "qwen2_moe", "qwen2moe", &llama_keys, "silu", NULL, "model.layers.", llama_top, llama_layer, false, false,
	  qwen2moe_extras, HF_WIN_TYPES, 0, qwen2moe_layer_extra, NULL, false, "mlp.experts.", qwen_expert },
	/* Qwen3-MoE: Qwen3 with experts on every layer */
	{ "qwen3_moe", "qwen3moe", &llama_keys, "silu", NULL, "model.layers.", llama_top, llama_layer, false, false,
	  qwen_moe_extras, HF_WIN_TYPES, 0, qwen3moe_layer_extra, NULL, false, "mlp.experts.", qwen_expert },
	{ "gemma2", "gemma2", &gemma2_keys, "gelu_pytorch_tanh", NULL, "model.layers.", gemma2_top, gemma2_layer, true,
	  false, gemma2_extras, HF_WIN_KEY | HF_WIN_TYPES | HF_WIN_NOT_NULL, 4096, NULL, NULL, false, NULL, NULL },
	/* Gemma 3's text model (Gemma3ForCausalLM); its window on five layers of six */
	{ "gemma3_text", "gemma3", &gemma2_keys, "gelu_pytorch_tanh", NULL, "model.layers.", gemma2_top, gemma2_layer,
	  true, false, gemma3_extras, HF_WIN_KEY | HF_WIN_TYPES | HF_WIN_NOT_NULL, 4096, gemma3_layer_extra,
	  GEMMA3_DEFAULTS, false, NULL, NULL },
	/* Gemma 3 4B-27B (Gemma3ForConditionalGeneration): that text model, its vision tower left */
	{ "gemma3", "gemma3", &gemma2_keys, "gelu_pytorch_tanh", NULL, "model.layers.", gemma2_top, gemma2_layer,
	  true, false, gemma3_extras, HF_WIN_KEY | HF_WIN_TYPES | HF_WIN_NOT_NULL, 4096, gemma3_layer_extra,
	  GEMMA3_DEFAULTS, true, NULL, NULL },
	{ "gpt2", "gpt2", &gpt2_keys, "gelu_new", "transformer.", "h.", gpt2_top, gpt2_layer, true, true, gpt2_extras, 0,
	  0, NULL, NULL, false, NULL, NULL },
	/* Phi-3 windows every layer when sliding_window is set and has no layer_types */
	{ "phi3", "phi3", &llama_keys, "silu", NULL, "model.layers.", llama_top, llama_layer, false, false, phi3_extras,
	  HF_WIN_KEY, 0, NULL, NULL, false, NULL, NULL },
};

#define N_HF_ARCH (sizeof hf_archs / sizeof hf_archs[0])

static const struct hf_arch *row_named(const char *mt) /* model_type mt's row, or NULL */
{
	for (size_t i = 0; i < N_HF_ARCH; i++)
		if (!strcmp(mt, hf_archs[i].model_type))
			return &hf_archs[i];
	return NULL;
}

/* ---- fields ---- */

static int cfg_u32(const json_t *c, const char *key, uint32_t *out, bool required, const char *path,
		   struct mrl_err *err)
{
	const json_t *v = json_object_get(c, key);
	if (!v || json_is_null(v)) {
		if (required)
			return mrl_err_set(err, MRL_EINPUT, "%s: required field '%s' is missing", path, key);
		return 0;
	}
	if (!json_is_integer(v) || json_integer_value(v) <= 0 || json_integer_value(v) > (1 << 24))
		return mrl_err_set(err, MRL_EINPUT, "%s: field '%s' must be an integer in 1..%d", path, key, 1 << 24);
	*out = (uint32_t)json_integer_value(v);
	return 0;
}

static int cfg_f32(const json_t *c, const char *key, float *out, const char *path, struct mrl_err *err)
{
	const json_t *v = json_object_get(c, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_number(v))
		return mrl_err_set(err, MRL_EINPUT, "%s: field '%s' must be a number", path, key);
	*out = (float)json_number_value(v);
	return 0;
}

/* A soft cap: absent keeps *out (the default), null is none (0), else a positive number. */
static int cfg_cap(const json_t *c, const char *key, float *out, const char *path, struct mrl_err *err)
{
	const json_t *v = json_object_get(c, key);
	if (!v)
		return 0;
	*out = 0.0f;
	if (json_is_null(v))
		return 0;
	if (!json_is_number(v) || !(json_number_value(v) > 0) || !(json_number_value(v) < 1e30))
		return mrl_err_set(err, MRL_EINPUT, "%s: field '%s' must be a positive number or null", path, key);
	*out = (float)json_number_value(v);
	return 0;
}

/* Fields whose non-default values change the math and are not implemented. */
static int refuse_true(const json_t *c, const char *key, const char *path, struct mrl_err *err)
{
	if (json_is_true(json_object_get(c, key)))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: '%s': true is not implemented", path, key);
	return 0;
}

static int gpt2_extras(const json_t *c, struct eng_config *cfg, const char *path, struct mrl_err *err)
{
	(void)cfg;
	int rc;
	if ((rc = refuse_true(c, "scale_attn_by_inverse_layer_idx", path, err)) ||
	    (rc = refuse_true(c, "add_cross_attention", path, err)))
		return rc;
	if (json_is_false(json_object_get(c, "scale_attn_weights")))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: 'scale_attn_weights': false is not implemented", path);
	return 0;
}

/* Gemma 2: scores scaled by query_pre_attn_scalar^-1/2 and capped, logits capped,
 * embeddings times sqrt(hidden); transformers' defaults where a key is absent. */
static int gemma2_extras(const json_t *c, struct eng_config *cfg, const char *path, struct mrl_err *err)
{
	uint32_t qpas = 256;
	int rc;
	cfg->attn_softcap = 50.0f;
	cfg->final_softcap = 30.0f;
	if ((rc = cfg_u32(c, "query_pre_attn_scalar", &qpas, false, path, err)) ||
	    (rc = cfg_cap(c, "attn_logit_softcapping", &cfg->attn_softcap, path, err)) ||
	    (rc = cfg_cap(c, "final_logit_softcapping", &cfg->final_softcap, path, err)) ||
	    (rc = refuse_true(c, "use_bidirectional_attention", path, err)))
		return rc;
	cfg->attn_scale = (float)pow((double)qpas, -0.5);
	cfg->embd_scale = sqrtf((float)cfg->n_embd);
	return 0;
}

/* The experts of a MoE config: num_local_experts (transformers 5's name; num_experts, its alias,
 * in Qwen's published configs) and num_experts_per_tok. */
static int experts_load(const json_t *c, struct eng_config *cfg, const char *path, struct mrl_err *err)
{
	uint32_t alias = 0;
	int rc;
	if ((rc = cfg_u32(c, "num_local_experts", &cfg->n_expert, false, path, err)) ||
	    (rc = cfg_u32(c, "num_experts", &alias, false, path, err)) ||
	    (rc = cfg_u32(c, "num_experts_per_tok", &cfg->n_expert_used, true, path, err)))
		return rc;
	if (!cfg->n_expert && !(cfg->n_expert = alias))
		return mrl_err_set(err, MRL_EINPUT, "%s: required field 'num_local_experts' (or 'num_experts') is missing",
				   path);
	if (alias && alias != cfg->n_expert)
		return mrl_err_set(err, MRL_EINPUT, "%s: 'num_local_experts' (%" PRIu32 ") and 'num_experts' (%" PRIu32
				   ") differ", path, cfg->n_expert, alias);
	if (cfg->n_expert > ENG_MAX_EXPERTS || cfg->n_expert_used > cfg->n_expert)
		return mrl_err_set(err, MRL_EINPUT, "%s: 'num_experts_per_tok' (%" PRIu32 ") must be at most the experts (%"
				   PRIu32 "), at most %d", path, cfg->n_expert_used, cfg->n_expert, ENG_MAX_EXPERTS);
	return 0;
}

/* Mixtral: experts of intermediate_size, their weights always renormalized (MixtralTopKRouter). */
static int mixtral_extras(const json_t *c, struct eng_config *cfg, const char *path, struct mrl_err *err)
{
	cfg->expert_norm = true;
	return experts_load(c, cfg, path, err);
}

/* Qwen2-MoE and Qwen3-MoE: experts of moe_intermediate_size on every layer (dense layers among
 * them are refused), renormalized where norm_topk_prob (the config classes' default: false;
 * Qwen3-MoE's published checkpoints: true, Qwen2-MoE's: false). */
static int qwen_moe_extras(const json_t *c, struct eng_config *cfg, const char *path, struct mrl_err *err)
{
	uint32_t step = 1;
	int rc;
	if ((rc = experts_load(c, cfg, path, err)) || (rc = cfg_u32(c, "moe_intermediate_size", &cfg->n_ff, true, path, err)) ||
	    (rc = cfg_u32(c, "decoder_sparse_step", &step, false, path, err)))
		return rc;
	const json_t *dense = json_object_get(c, "mlp_only_layers"), *norm = json_object_get(c, "norm_topk_prob");
	if (step != 1 || (dense && !json_is_null(dense) && !(json_is_array(dense) && json_array_size(dense) == 0)))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: dense layers among the experts ('decoder_sparse_step' other "
				   "than 1, or 'mlp_only_layers') are not implemented", path);
	if (norm && !json_is_boolean(norm))
		return mrl_err_set(err, MRL_EINPUT, "%s: field 'norm_topk_prob' must be true or false", path);
	cfg->expert_norm = json_is_true(norm);
	return 0;
}

/* Qwen2-MoE: those experts, a shared expert, the q/k/v biases (qkv_bias false is refused). */
static int qwen2moe_extras(const json_t *c, struct eng_config *cfg, const char *path, struct mrl_err *err)
{
	int rc;
	if ((rc = qwen_moe_extras(c, cfg, path, err)) ||
	    (rc = cfg_u32(c, "shared_expert_intermediate_size", &cfg->n_ff_shexp, true, path, err)))
		return rc;
	if (json_is_false(json_object_get(c, "qkv_bias")))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: 'qkv_bias': false is not implemented", path);
	return 0;
}

/* Gemma 3: Gemma 2's scale and embeddings, soft caps only where given (none by default),
 * and the windowed layers' rope: base rope_parameters.sliding_attention.rope_theta
 * (transformers 5), else rope_local_base_freq, else 10000, unscaled. */
static int gemma3_extras(const json_t *c, struct eng_config *cfg, const char *path, struct mrl_err *err)
{
	uint32_t qpas = 256, pattern = 6;
	int rc;
	if ((rc = cfg_u32(c, "query_pre_attn_scalar", &qpas, false, path, err)) ||
	    (rc = cfg_cap(c, "attn_logit_softcapping", &cfg->attn_softcap, path, err)) ||
	    (rc = cfg_cap(c, "final_logit_softcapping", &cfg->final_softcap, path, err)) ||
	    (rc = refuse_true(c, "use_bidirectional_attention", path, err)) ||
	    (rc = cfg_u32(c, "sliding_window_pattern", &pattern, false, path, err)))
		return rc;
	const json_t *lt = json_object_get(c, "layer_types");
	if (pattern != 6 && (!lt || json_is_null(lt)))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: 'sliding_window_pattern' %" PRIu32 " without 'layer_types' "
				   "is not implemented (Gemma 3's is 6)", path, pattern);
	cfg->attn_scale = (float)pow((double)qpas, -0.5);
	cfg->embd_scale = sqrtf((float)cfg->n_embd);
	cfg->rope_freq_base_swa = 10000.0f;
	const json_t *local = json_object_get(json_object_get(c, "rope_parameters"), "sliding_attention");
	const char *rt = json_string_value(json_object_get(local, "rope_type"));
	if (rt && strcmp(rt, "default"))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: rope_parameters.sliding_attention rope_type '%.64s' is not "
				   "implemented (only default)", path, rt);
	if ((rc = cfg_f32(c, "rope_local_base_freq", &cfg->rope_freq_base_swa, path, err)) ||
	    (local && (rc = cfg_f32(local, "rope_theta", &cfg->rope_freq_base_swa, path, err))))
		return rc;
	if (!(cfg->rope_freq_base_swa > 0.0f))
		return mrl_err_set(err, MRL_EINPUT, "%s: the sliding layers' rope_theta must be positive", path);
	return 0;
}

/* The rope object transformers 5 builds its rope from: rope_scaling when it is a
 * non-empty object (the legacy key wins), else rope_parameters; NULL when neither. */
static const json_t *rope_object(const json_t *c, const char **key)
{
	const json_t *rs = json_object_get(c, "rope_scaling");
	if (json_is_object(rs) && json_object_size(rs)) {
		*key = "rope_scaling";
		return rs;
	}
	*key = "rope_parameters";
	const json_t *rp = json_object_get(c, "rope_parameters");
	const json_t *full = json_object_get(rp, "full_attention"); /* Gemma 3: one rope per layer type */
	if (json_is_object(full)) {
		*key = "rope_parameters.full_attention";
		return full;
	}
	return json_is_object(rp) ? rp : NULL;
}

/* Phi-3 may rotate only the first partial_rotary_factor of each head: transformers 5
 * reads it from the rope object, the top-level key standing in where that has none
 * (4.x read only the top level, so two different values are refused). */
static int phi3_extras(const json_t *c, struct eng_config *cfg, const char *path, struct mrl_err *err)
{
	const char *rkey;
	const json_t *ro = rope_object(c, &rkey);
	const json_t *top = json_object_get(c, "partial_rotary_factor");
	const json_t *v = ro ? json_object_get(ro, "partial_rotary_factor") : NULL;
	if (json_is_null(top))
		top = NULL;
	if (!v || json_is_null(v))
		v = top;
	else if (top && !(json_is_number(top) && json_is_number(v) && json_number_value(top) == json_number_value(v)))
		return mrl_err_set(err, MRL_EINPUT, "%s: 'partial_rotary_factor' at the top level and in '%s' differ "
				   "(transformers 5 uses %s's, 4.x the top level's): keep one", path, rkey, rkey);
	if (!v)
		return 0;
	double f = json_is_number(v) ? json_number_value(v) : -1.0, rot = f * cfg->head_dim;
	if (!(f > 0.0 && f <= 1.0) || rot != (double)(uint32_t)rot || (uint32_t)rot % 2)
		return mrl_err_set(err, MRL_EINPUT, "%s: 'partial_rotary_factor' must be in (0, 1] and give an even "
				   "number of the %" PRIu32 " dims of a head", path, cfg->head_dim);
	cfg->n_rot = (uint32_t)rot;
	return 0;
}

/* ---- rope ---- */

static int llama3_params(const json_t *rs, struct hf_llama3_rope *r, const char *path, struct mrl_err *err)
{
	static const char *const keys[] = { "factor", "low_freq_factor", "high_freq_factor",
					    "original_max_position_embeddings" };
	double *dst[] = { &r->factor, &r->low_freq_factor, &r->high_freq_factor, &r->original_max };
	for (size_t i = 0; i < 4; i++) {
		const json_t *v = json_object_get(rs, keys[i]);
		if (!json_is_number(v) || !(json_number_value(v) > 0) || json_number_value(v) > 1e9)
			return mrl_err_set(err, MRL_EINPUT, "%s: rope_scaling (llama3) needs a positive number '%s'", path,
					   keys[i]);
		*dst[i] = json_number_value(v);
	}
	if (!(r->high_freq_factor > r->low_freq_factor))
		return mrl_err_set(err, MRL_EINPUT, "%s: rope_scaling (llama3): high_freq_factor must exceed "
				   "low_freq_factor", path);
	r->on = true;
	return 0;
}

void hf_llama3_factors(const struct hf_llama3_rope *r, float base, uint32_t n_rot, float *f)
{
	const double pi = 3.14159265358979323846;
	double low_wavelen = r->original_max / r->low_freq_factor, high_wavelen = r->original_max / r->high_freq_factor;
	for (uint32_t i = 0; i < n_rot / 2; i++) {
		double inv_freq = 1.0 / pow((double)base, (double)(2 * i) / (double)n_rot);
		double wavelen = 2 * pi / inv_freq;
		if (wavelen < high_wavelen) {
			f[i] = 1.0f;
		} else if (wavelen > low_wavelen) {
			f[i] = (float)r->factor;
		} else {
			double s = (r->original_max / wavelen - r->low_freq_factor) /
				   (r->high_freq_factor - r->low_freq_factor);
			f[i] = (float)(1.0 / ((1 - s) / r->factor + s));
		}
	}
}

/* A positive rope object number (at most 1e9) into *out; absent: *out unchanged. */
static int rope_num(const json_t *rs, const char *key, const char *type, double *out, const char *path,
		    struct mrl_err *err)
{
	const json_t *v = json_object_get(rs, key);
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_number(v) || !(json_number_value(v) > 0) || json_number_value(v) > 1e9)
		return mrl_err_set(err, MRL_EINPUT, "%s: rope_scaling (%s): '%s' must be a positive number", path, type,
				   key);
	*out = json_number_value(v);
	return 0;
}

/* yarn_get_mscale of transformers: 0.1 m ln(factor) + 1, 1 where factor <= 1. */
static double yarn_mscale(double factor, double m)
{
	return factor <= 1 ? 1.0 : 0.1 * m * log(factor) + 1.0;
}

/* "linear" (transformers' _compute_linear_scaling_rope_parameters: every angle divided by
 * factor) and "yarn" (_compute_yarn_parameters: the ramp between the divided and the
 * plain angle from beta_fast to beta_slow turns over original_max_position_embeddings
 * positions, cos and sin times attention_factor), into the ggml form of struct
 * eng_rope_scaling; the ramp's ends wait for n_rot (hf_config_load). */
static int scaling_params(const json_t *c, const json_t *rs, bool yarn, struct eng_config *cfg,
			  struct hf_yarn_rope *y, const char *path, struct mrl_err *err)
{
	const char *type = yarn ? "yarn" : "linear";
	double factor = 0, attn = 0, mscale = 0, mscale_all = 0;
	const json_t *fv = json_object_get(rs, "factor");
	int rc;
	y->original_max = cfg->n_ctx_train;
	/* transformers 5 prefers a top-level original_max_position_embeddings (Phi-3 keeps it there) */
	if ((yarn && ((rc = rope_num(rs, "original_max_position_embeddings", type, &y->original_max, path, err)) ||
		      (rc = rope_num(c, "original_max_position_embeddings", type, &y->original_max, path, err)))) ||
	    (rc = rope_num(rs, "factor", type, &factor, path, err)) ||
	    (rc = rope_num(rs, "attention_factor", type, &attn, path, err)) ||
	    (rc = rope_num(rs, "mscale", type, &mscale, path, err)) ||
	    (rc = rope_num(rs, "mscale_all_dim", type, &mscale_all, path, err)))
		return rc;
	if (yarn && json_is_null(fv))
		factor = cfg->n_ctx_train / y->original_max; /* transformers: factor null -> the context ratio */
	if (!(factor > 0))
		return mrl_err_set(err, MRL_EINPUT, "%s: rope_scaling (%s) needs a positive number 'factor'", path, type);
	cfg->rope_scaling.freq_scale = (float)(1.0 / factor);
	if (!yarn)
		return 0;
	y->beta_fast = y->beta_slow = 0;
	if ((rc = rope_num(rs, "beta_fast", type, &y->beta_fast, path, err)) ||
	    (rc = rope_num(rs, "beta_slow", type, &y->beta_slow, path, err)))
		return rc;
	y->beta_fast = y->beta_fast ? y->beta_fast : 32; /* transformers: `or 32`, `or 1` */
	y->beta_slow = y->beta_slow ? y->beta_slow : 1;
	const json_t *tr = json_object_get(rs, "truncate");
	y->truncate = !json_is_false(tr);
	if (!attn)
		attn = mscale && mscale_all ? yarn_mscale(factor, mscale) / yarn_mscale(factor, mscale_all)
					    : yarn_mscale(factor, 1);
	cfg->rope_scaling.ext_factor = 1.0f;
	cfg->rope_scaling.mscale = (float)attn;
	y->on = true;
	return 0;
}

/* One factor array of a longrope object into f (at most HF_MAX_LONGROPE); its length. */
static int longrope_array(const json_t *rs, const char *key, float *f, uint32_t *n, const char *path,
			  struct mrl_err *err)
{
	const json_t *a = json_object_get(rs, key);
	if (!json_is_array(a) || json_array_size(a) == 0 || json_array_size(a) > HF_MAX_LONGROPE)
		return mrl_err_set(err, MRL_EINPUT, "%s: rope_scaling (longrope) needs an array '%s' of 1 to %d numbers",
				   path, key, HF_MAX_LONGROPE);
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *v = json_array_get(a, i);
		if (!json_is_number(v) || !(json_number_value(v) > 0) || json_number_value(v) > 1e30)
			return mrl_err_set(err, MRL_EINPUT, "%s: rope_scaling (longrope): '%s' entry %zu must be a positive "
					   "number", path, key, i);
		f[i] = (float)json_number_value(v);
	}
	*n = (uint32_t)json_array_size(a);
	return 0;
}

/* Phi-3's longrope as transformers 5.25's _compute_longrope_parameters: the angle of
 * pair i divided by long_factor[i] or short_factor[i] (the long ones where the sequence
 * passes original_max_position_embeddings: merilo, as llama.cpp, where the context
 * does), cos and sin times attention_factor (absent: sqrt(1 + ln(factor) /
 * ln(original_max)), factor absent: max_position_embeddings / original_max; 1 where
 * factor <= 1). The arrays' length is checked against n_rot/2 in hf_config_load. */
static int longrope_params(const json_t *c, const json_t *rs, struct eng_config *cfg, struct hf_longrope *lr,
			   const char *path, struct mrl_err *err)
{
	double orig = cfg->n_ctx_train, factor = 0, attn = 0;
	uint32_t n_short = 0;
	int rc;
	if ((rc = rope_num(rs, "original_max_position_embeddings", "longrope", &orig, path, err)) ||
	    (rc = rope_num(c, "original_max_position_embeddings", "longrope", &orig, path, err)) ||
	    (rc = rope_num(rs, "factor", "longrope", &factor, path, err)) ||
	    (rc = rope_num(rs, "attention_factor", "longrope", &attn, path, err)) ||
	    (rc = longrope_array(rs, "long_factor", lr->long_f, &lr->n, path, err)) ||
	    (rc = longrope_array(rs, "short_factor", lr->short_f, &n_short, path, err)))
		return rc;
	if (n_short != lr->n)
		return mrl_err_set(err, MRL_EINPUT, "%s: rope_scaling (longrope): long_factor has %" PRIu32 " entries, "
				   "short_factor %" PRIu32, path, lr->n, n_short);
	if (orig < 2)
		return mrl_err_set(err, MRL_EINPUT, "%s: rope_scaling (longrope): original_max_position_embeddings must be "
				   "at least 2", path);
	if (!factor)
		factor = cfg->n_ctx_train / orig;
	if (!attn)
		attn = factor <= 1 ? 1.0 : sqrt(1 + log(factor) / log(orig));
	cfg->rope_scaling.mscale = (float)attn;
	cfg->rope_n_ctx_orig = (uint32_t)orig;
	lr->on = true;
	return 0;
}

/* rope_theta and rope_scaling: classic top level, or transformers 5's rope_parameters.
 * As transformers 5 (and 4.x, which knew only rope_scaling): a rope_scaling object
 * replaces rope_parameters whole, and rope_theta comes from the object used, else the
 * top level, else 10000. */
static int rope_load(const json_t *c, struct eng_config *cfg, struct hf_model_cfg *mc, const char *path,
		     struct mrl_err *err)
{
	const json_t *legacy = json_object_get(c, "rope_scaling");
	const char *rkey;
	const json_t *rs = rope_object(c, &rkey);
	int rc;
	if (legacy && !json_is_null(legacy) && !json_is_object(legacy))
		return mrl_err_set(err, MRL_EINPUT, "%s: 'rope_scaling' must be an object or null", path);
	static const char *const per_type[] = { "full_attention", "sliding_attention" }; /* Gemma 3 */
	for (size_t i = 0; i < 2; i++) {
		const json_t *v = json_object_get(json_object_get(c, "rope_parameters"), per_type[i]);
		if (v && !json_is_object(v))
			return mrl_err_set(err, MRL_EINPUT, "%s: 'rope_parameters.%s' must be an object", path, per_type[i]);
	}
	cfg->rope_freq_base = 10000.0f; /* where no config default is given (hf_arch.defaults: Gemma 3's 1e6) */
	if ((rc = cfg_f32(c, "rope_theta", &cfg->rope_freq_base, path, err)) ||
	    (rs && (rc = cfg_f32(rs, "rope_theta", &cfg->rope_freq_base, path, err))))
		return rc;
	if (!(cfg->rope_freq_base > 0.0f))
		return mrl_err_set(err, MRL_EINPUT, "%s: rope_theta must be positive", path);
	if (!rs || json_is_null(rs))
		return 0;
	const char *rt = json_string_value(json_object_get(rs, "rope_type"));
	if (!rt)
		rt = json_string_value(json_object_get(rs, "type"));
	if (cfg->arch == ENG_ARCH_PHI3 && rt && (!strcmp(rt, "longrope") || !strcmp(rt, "su") || !strcmp(rt, "yarn")))
		return longrope_params(c, rs, cfg, &mc->lr, path, err); /* Phi3Config reads su and yarn so */
	if (cfg->arch == ENG_ARCH_PHI3 && rt && strcmp(rt, "default"))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: rope_scaling type '%.64s' is not implemented for phi3 "
				   "(transformers' Phi3Config takes default and longrope only)", path, rt);
	if (rt && !strcmp(rt, "llama3"))
		return llama3_params(rs, &mc->l3, path, err);
	if (rt && (!strcmp(rt, "linear") || !strcmp(rt, "yarn")))
		return scaling_params(c, rs, !strcmp(rt, "yarn"), cfg, &mc->yarn, path, err);
	if (!rt || strcmp(rt, "default"))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: rope_scaling type '%.64s' is not implemented "
				   "(supported: default, linear, yarn, llama3)", path, rt ? rt : "(none)");
	return 0;
}

/* ---- config.json ---- */

static int sizes_load(const json_t *c, const struct hf_arch *a, struct eng_config *cfg, const char *path,
		      struct mrl_err *err)
{
	const struct hf_keys *k = a->keys;
	int rc;
	if ((rc = cfg_u32(c, k->hidden, &cfg->n_embd, true, path, err)) ||
	    (rc = cfg_u32(c, k->layers, &cfg->n_layer, true, path, err)) ||
	    (rc = cfg_u32(c, k->heads, &cfg->n_head, true, path, err)) ||
	    (rc = cfg_u32(c, k->ff, &cfg->n_ff, !a->ff_default_4x, path, err)) ||
	    (rc = cfg_u32(c, "vocab_size", &cfg->n_vocab, true, path, err)) ||
	    (rc = cfg_u32(c, k->ctx, &cfg->n_ctx_train, true, path, err)))
		return rc;
	if (!cfg->n_ff && cfg->n_embd <= (1u << 16))
		cfg->n_ff = 4 * cfg->n_embd;
	cfg->n_head_kv = cfg->n_head;
	if ((rc = cfg_u32(c, "num_key_value_heads", &cfg->n_head_kv, false, path, err)))
		return rc;
	if (cfg->n_head % cfg->n_head_kv || cfg->n_embd % cfg->n_head)
		return mrl_err_set(err, MRL_EINPUT, "%s: num_key_value_heads %" PRIu32 " must divide num_attention_heads %"
				   PRIu32 ", which must divide hidden_size %" PRIu32, path, cfg->n_head_kv, cfg->n_head,
				   cfg->n_embd);
	cfg->head_dim = cfg->n_embd / cfg->n_head;
	if ((rc = cfg_u32(c, "head_dim", &cfg->head_dim, false, path, err)))
		return rc;
	if (cfg->head_dim % 2 || cfg->head_dim > 4096 || cfg->n_embd > (1u << 16) || cfg->n_ff > (1u << 20) ||
	    cfg->n_layer > 4096 || cfg->n_head > 4096)
		return mrl_err_set(err, MRL_EINPUT, "%s: implausible sizes (hidden %" PRIu32 ", intermediate %" PRIu32
				   ", layers %" PRIu32 ", heads %" PRIu32 ", head_dim %" PRIu32 ")", path, cfg->n_embd,
				   cfg->n_ff, cfg->n_layer, cfg->n_head, cfg->head_dim);
	cfg->n_rot = cfg->rope == ENG_ROPE_NONE ? 0 : cfg->head_dim;
	cfg->n_embd_q = cfg->n_head * cfg->head_dim;
	cfg->n_embd_kv = cfg->n_head_kv * cfg->head_dim;
	cfg->norm_eps = -1.0f;
	if ((rc = cfg_f32(c, k->eps, &cfg->norm_eps, path, err)))
		return rc;
	if (!(cfg->norm_eps >= 0.0f && cfg->norm_eps < 1.0f))
		return mrl_err_set(err, MRL_EINPUT, "%s: field '%s' is missing or out of range", path, k->eps);
	return 0;
}

/* The window and which layers use it, from the keys the model_type's transformers
 * class reads (hf_arch.window): layer_types where given (transformers 5), else the
 * architecture's pattern (every layer for Mistral and Phi-3, every other for Gemma 2). */
static int window_load(const json_t *c, const struct hf_arch *a, struct eng_config *cfg, const char *path,
		       struct mrl_err *err)
{
	int rc;
	cfg->sliding_window = a->window_default;
	const json_t *sw = json_object_get(c, "sliding_window");
	if ((a->window & HF_WIN_KEY) && json_is_null(sw)) {
		if (a->window & HF_WIN_NOT_NULL)
			return mrl_err_set(err, MRL_EINPUT, "%s: 'sliding_window' is null: a %s model needs a window "
					   "(transformers refuses it too)", path, a->model_type);
		cfg->sliding_window = 0; /* null: none, whatever the architecture's default */
	} else if ((a->window & HF_WIN_KEY) && (rc = cfg_u32(c, "sliding_window", &cfg->sliding_window, false, path,
							       err))) {
		return rc;
	}
	const json_t *lt = a->window & HF_WIN_TYPES ? json_object_get(c, "layer_types") : NULL;
	if (!lt || json_is_null(lt)) {
		if (cfg->sliding_window)
			eng_config_window_layers(cfg);
		return 0;
	}
	if (!json_is_array(lt) || json_array_size(lt) != cfg->n_layer)
		return mrl_err_set(err, MRL_EINPUT, "%s: 'layer_types' must be an array of %" PRIu32 " strings", path,
				   cfg->n_layer);
	for (uint32_t il = 0; il < cfg->n_layer; il++) {
		const char *t = json_string_value(json_array_get(lt, il));
		if (!t || (strcmp(t, "sliding_attention") && strcmp(t, "full_attention")))
			return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: layer_types[%" PRIu32 "] '%.64s' is not implemented "
					   "(supported: full_attention, sliding_attention)", path, il, t ? t : "(not a string)");
		if (strcmp(t, "sliding_attention"))
			continue;
		if (!cfg->sliding_window)
			return mrl_err_set(err, MRL_EINPUT, "%s: layer %" PRIu32 " is sliding_attention but %s", path, il,
					   a->window & HF_WIN_KEY ? "'sliding_window' is not set"
								  : "this model_type's window needs use_sliding_window, "
								    "which merilo does not implement");
		eng_set_layer_windowed(cfg, il);
	}
	return 0;
}

static int fields_check(const json_t *c, const struct hf_arch *a, const char *path, struct mrl_err *err)
{
	/* gelu_new and gelu_pytorch_tanh are the same function (the tanh approximation) */
	const char *act = json_string_value(json_object_get(c, a->keys->act));
	bool tanh_gelu = act && (!strcmp(act, "gelu_new") || !strcmp(act, "gelu_pytorch_tanh"));
	if (act && strcmp(act, a->act) && !(tanh_gelu && strcmp(a->act, "silu")))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: %s '%.64s' is not implemented (only %s)", path,
				   a->keys->act, act, a->act);
	int rc;
	if ((rc = refuse_true(c, "attention_bias", path, err)) || (rc = refuse_true(c, "mlp_bias", path, err)) ||
	    (rc = refuse_true(c, "use_sliding_window", path, err)))
		return rc;
	const json_t *tp = json_object_get(c, "pretraining_tp");
	if (tp && !(json_is_integer(tp) && json_integer_value(tp) == 1))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: 'pretraining_tp' other than 1 is not implemented", path);
	return 0;
}

/* The config the text model reads into *out (a new reference): config.json itself, or its
 * "text_config" (an image-text checkpoint; its top-level tie_word_embeddings where the text
 * config has none), with the config class's defaults where keys are absent. */
static int text_config(const json_t *c, const struct hf_arch *a, const char *path, json_t **out, struct mrl_err *err)
{
	const json_t *t = a->multimodal ? json_object_get(c, "text_config") : c;
	if (!json_is_object(t))
		return mrl_err_set(err, MRL_EINPUT, "%s: a %s config needs a 'text_config' object", path, a->model_type);
	json_t *tc = json_deep_copy(t), *d = a->defaults ? json_loads(a->defaults, 0, NULL) : NULL;
	const json_t *tie = json_object_get(c, "tie_word_embeddings");
	bool fail = !tc || (a->defaults && (!d || json_object_update_missing(tc, d)));
	if (!fail && a->multimodal && tie && !json_object_get(tc, "tie_word_embeddings"))
		fail = json_object_set(tc, "tie_word_embeddings", (json_t *)tie) != 0;
	json_decref(d);
	if (fail) {
		json_decref(tc);
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
	}
	*out = tc;
	return 0;
}

int hf_config_load(struct eng_config *cfg, struct hf_model_cfg *mc, const char *dir, struct mrl_err *err)
{
	memset(mc, 0, sizeof *mc);
	memset(cfg, 0, sizeof *cfg);
	char path[4096];
	snprintf(path, sizeof path, "%s/config.json", dir);
	int rc = 0;
	json_t *c = hf_load_json(path, err, &rc), *tc = NULL;
	if (!c)
		return rc;
	const char *mt = json_string_value(json_object_get(c, "model_type"));
	const struct hf_arch *a = NULL;
	if (mt)
		a = row_named(mt);
	if (!a) {
		char supported[256] = "";
		for (size_t i = 0; i < N_HF_ARCH; i++)
			snprintf(supported + strlen(supported), sizeof supported - strlen(supported), "%s%s", i ? ", " : "",
				 hf_archs[i].model_type);
		rc = mt ? mrl_err_set(err, MRL_EUNSUPPORTED, "%s: unsupported model_type '%.64s' (supported: %s)", path,
				      mt, supported)
			: mrl_err_set(err, MRL_EINPUT, "%s: required string field 'model_type' is missing", path);
		goto out;
	}
	mc->arch = a;
	if ((rc = text_config(c, a, path, &tc, err)))
		goto out;
	eng_config_set_arch(cfg, a->arch);
	cfg->arch_name = a->model_type;
	if (cfg->rope != ENG_ROPE_NONE)
		cfg->rope = ENG_ROPE_NEOX;
	if ((rc = sizes_load(tc, a, cfg, path, err)) || (rc = fields_check(tc, a, path, err)) ||
	    (cfg->rope != ENG_ROPE_NONE && (rc = rope_load(tc, cfg, mc, path, err))))
		goto out;
	cfg->attn_scale = 1.0f / sqrtf((float)cfg->head_dim);
	if ((a->extras && (rc = a->extras(tc, cfg, path, err))) || (rc = window_load(tc, a, cfg, path, err)))
		goto out;
	if (cfg->n_ff > (1u << 20) || cfg->n_ff_shexp > (1u << 20)) { /* an expert's, a shared expert's */
		rc = mrl_err_set(err, MRL_EINPUT, "%s: implausible FFN sizes (%" PRIu32 ", shared expert %" PRIu32 ")", path,
				 cfg->n_ff, cfg->n_ff_shexp);
		goto out;
	}
	if (mc->yarn.on) /* the ramp over the rotated dims, known once partial_rotary_factor is read */
		eng_rope_yarn_corr(cfg->n_rot, (uint32_t)mc->yarn.original_max, cfg->rope_freq_base,
				   (float)mc->yarn.beta_fast, (float)mc->yarn.beta_slow, mc->yarn.truncate,
				   cfg->rope_scaling.corr);
	if (mc->lr.on && mc->lr.n != cfg->n_rot / 2) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: rope_scaling (longrope): long_factor and short_factor have %" PRIu32
				 " entries, the rotated dims need %" PRIu32, path, mc->lr.n, cfg->n_rot / 2);
		goto out;
	}
	cfg->rope_exact = true; /* transformers' float32 angles are one rounding from exact */
	if (cfg->rope_scaling.freq_scale == 1.0f)
		cfg->rope_scaling.freq_scale = 0.0f; /* 0 = 1 (struct eng_rope_scaling) */
	if (cfg->rope_scaling.mscale == 1.0f)
		cfg->rope_scaling.mscale = 0.0f;
	const json_t *tie = json_object_get(tc, "tie_word_embeddings");
	if (tie && !json_is_boolean(tie) && !json_is_null(tie)) { /* "true" or 1 ran with the default head */
		rc = mrl_err_set(err, MRL_EINPUT, "%s: field 'tie_word_embeddings' must be true or false", path);
		goto out;
	}
	mc->tied = json_is_boolean(tie) ? json_is_true(tie) : a->tied_default;
out:
	json_decref(tc);
	json_decref(c);
	return rc;
}

/* ---- tensor names ---- */

static const struct hf_name *lookup(const struct hf_name *t, const char *name)
{
	for (; t->hf; t++)
		if (!strcmp(t->hf, name))
			return t;
	return NULL;
}

/* An image-text checkpoint's names: 1 for a vision tensor (left out), else hf with the text
 * model's prefix made the plain model's (into buf, size bytes) or as it was. */
static int text_model_name(const char **hf, char *buf, size_t size)
{
	static const char *const vision[] = { "vision_tower.", "multi_modal_projector.", "model.vision_tower.",
					      "model.multi_modal_projector." };
	static const struct { const char *from, *to; } moved[] = {
		{ "language_model.model.", "model." }, /* transformers 4.50's save */
		{ "model.language_model.", "model." }, /* transformers 4.52 and later */
		{ "language_model.lm_head.", "lm_head." },
	};
	for (size_t i = 0; i < sizeof vision / sizeof vision[0]; i++)
		if (!strncmp(*hf, vision[i], strlen(vision[i])))
			return 1;
	for (size_t i = 0; i < sizeof moved / sizeof moved[0]; i++)
		if (!strncmp(*hf, moved[i].from, strlen(moved[i].from))) {
			snprintf(buf, size, "%s%s", moved[i].to, *hf + strlen(moved[i].from));
			*hf = buf;
			break;
		}
	return 0;
}

const struct hf_arch *hf_arch_of(const char *arch)
{
	const struct hf_arch *a = row_named(arch); /* the row of that name: llama for llama (not mistral's) */
	if (a)
		return a;
	for (size_t i = 0; i < N_HF_ARCH; i++) /* else the first text-only one: gemma3_text, qwen3_moe */
		if (!strcmp(hf_archs[i].arch, arch) && !hf_archs[i].multimodal)
			return &hf_archs[i];
	return NULL;
}

int hf_map_name(const struct hf_arch *a, const char *hf, char *out, size_t size, unsigned *flags)
{
	*flags = 0;
	char moved[512];
	if (a->multimodal && text_model_name(&hf, moved, sizeof moved))
		return 1;
	if (a->strip && !strncmp(hf, a->strip, strlen(a->strip)))
		hf += strlen(a->strip);
	const struct hf_name *n = lookup(a->top, hf);
	if (n) {
		if (!n->gg)
			return 1;
		snprintf(out, size, "%s", n->gg);
		*flags = n->flags;
		return 0;
	}
	size_t pl = strlen(a->layer_prefix);
	unsigned il;
	int used = 0;
	if (strncmp(hf, a->layer_prefix, pl) || sscanf(hf + pl, "%u.%n", &il, &used) != 1 || used <= 0 ||
	    il >= 100000)
		return -1;
	const char *rest = hf + pl + used;
	unsigned e;
	int eused = 0;
	if (a->experts && !strncmp(rest, a->experts, strlen(a->experts)) &&
	    sscanf(rest + strlen(a->experts), "%u.%n", &e, &eused) == 1 && eused > 0 && e < ENG_MAX_EXPERTS &&
	    (n = lookup(a->expert_names, rest + strlen(a->experts) + eused))) {
		snprintf(out, size, "blk.%u.%s.%u.weight", il, n->gg, e); /* as older Mixtral GGUFs name them */
		return 0;
	}
	if (!(n = lookup(a->layer, rest)) && !(a->layer_extra && (n = lookup(a->layer_extra, rest))))
		return -1;
	if (!n->gg)
		return 1;
	snprintf(out, size, "blk.%u.%s", il, n->gg);
	*flags = n->flags;
	return 0;
}
