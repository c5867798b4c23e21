/* hf_int.h — between hf.c (files, shards, tensors) and hf_config.c (config.json,
 * the model_type table and its tensor names); internal to engine/. */
#ifndef MRL_ENG_HF_INT_H
#define MRL_ENG_HF_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "engine/eng_int.h"

#define HF_MAX_JSON (16u << 20) /* config.json and the index: far below this */

/* A JSON object file, size- and depth-capped; NULL with *rc and err set. */
json_t *hf_load_json(const char *path, struct mrl_err *err, int *rc);

/* Llama 3.1 rope scaling (rope_type "llama3"), as transformers'
 * _compute_llama3_parameters: per rotated pair a divisor of the angle. */
struct hf_llama3_rope {
	bool on;
	double factor, low_freq_factor, high_freq_factor, original_max;
};
/* n_rot/2 divisors into f: 1 for short wavelengths, factor for long ones, smooth between. */
void hf_llama3_factors(const struct hf_llama3_rope *r, float base, uint32_t n_rot, float *f);

/* YaRN's ramp as transformers' _compute_yarn_parameters reads it (the ends are
 * computed once n_rot is known: eng_rope_yarn_corr). */
struct hf_yarn_rope {
	bool on, truncate;
	double original_max, beta_fast, beta_slow;
};

/* Phi-3's longrope (transformers' _compute_longrope_parameters): per rotated pair a
 * divisor of the angle, long_factor or short_factor; they become the GGUF tensors
 * rope_factors_long/short (hf.c), the context size chooses (eng_ctx_new_multi). */
#define HF_MAX_LONGROPE 512 /* pairs */
struct hf_longrope {
	bool on;
	float long_f[HF_MAX_LONGROPE], short_f[HF_MAX_LONGROPE];
	uint32_t n; /* pairs given */
};

/* What config.json says: cfg (n_vocab and rope_scaling included), the row of the
 * model_type (for hf_map_name), whether the head is tied, Llama 3.1, YaRN and longrope
 * rope scaling. */
struct hf_model_cfg {
	const struct hf_arch *arch;
	bool tied;
	struct hf_llama3_rope l3;
	struct hf_yarn_rope yarn;
	struct hf_longrope lr;
};
int hf_config_load(struct eng_config *cfg, struct hf_model_cfg *mc, const char *dir, struct mrl_err *err);

/* How a tensor's data must be changed as it is read (hf_map_name's flags). */
#define HF_TRANSPOSE 1u /* GPT-2's Conv1D: stored [in, out], the engine wants [out, in] */
#define HF_PLUS_ONE 2u  /* Gemma's RMSNorm multiplies by 1 + w: stored w, the engine wants 1 + w */

/* The GGUF name of an HF tensor name into out and what to do to its data;
 * 0 when mapped, 1 when the tensor is to be ignored, -1 when unknown. */
int hf_map_name(const struct hf_arch *a, const char *hf, char *out, size_t size, unsigned *flags);
/* The model_type row whose HF names a GGUF of architecture arch (arch.c's row name) was
 * converted from, for a LoRA adapter's names; NULL for none. */
const struct hf_arch *hf_arch_of(const char *arch);
/* The model_type row an open folder was read by. */
const struct hf_arch *eng_hf_arch(const struct eng_hf *h);

#endif
