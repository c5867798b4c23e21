/* eng_derived.c — architectures the fixtures have no checkpoint of, derived from ones
 * they have by fixed rules (ci/make-derived-reference.py's docstring), each written
 * by the test as an HF folder (from the fixture's safetensors) and as a GGUF (from its
 * llama.cpp conversion):
 *   qwen3, from qwen2: each head of q and k RMS-normed before rope, and more query dims
 *     than hidden ones (8 heads x 16 = 128 on 64, as Qwen3-0.6B's 16 x 128 on 1024);
 *   gemma3, from gemma2: q/k norms (1 + w), no soft caps, the window on five layers of
 *     six, and a rope of the windowed layers' own (base 10000, unscaled) beside the full
 *     layer's (1e6, linear x8).
 * Two oracles: transformers' logits for the HF models, committed in tests/data/<arch>/
 * by that script, against both merilo paths (f32 KV cache; 1e-4, and 1e-2 for Gemma's
 * GGUF, whose GELU is ggml's f16 table as llama.cpp computes it); and llama.cpp's own
 * perplexity of each GGUF, run here where ../shared/tools/llama.cpp is present, against
 * merilo's on the same file (it says the GGUF names and keys are the ones llama.cpp
 * reads, which the transformers comparison cannot).
 */
#include "tests/tap.h"
#include "tests/float_oracle.h"
#include "tests/eng_fixture.h"
#include "tests/st_file.h"
#include "tests/gguf_edit.h"
#include "tests/cli.h"
#include "tests/derived.h"

#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/eng.h"
#include "engine/gguf.h"
#include "engine/types.h"

#define TOL 1e-4
#define TOL_GELU_GGUF 1e-2
#define HD 16
#define Q_OLD 64 /* qwen2's 4 heads x 16 */

static const char *const QWEN3_CONFIG =
	"{\"architectures\": [\"Qwen3ForCausalLM\"], \"model_type\": \"qwen3\", \"hidden_size\": 64,\n"
	" \"intermediate_size\": 128, \"num_hidden_layers\": 3, \"num_attention_heads\": 8,\n"
	" \"num_key_value_heads\": 2, \"head_dim\": 16, \"hidden_act\": \"silu\", \"max_position_embeddings\": 256,\n"
	" \"rms_norm_eps\": 1e-06, \"rope_theta\": 1000000.0, \"rope_scaling\": null, \"tie_word_embeddings\": false,\n"
	" \"attention_bias\": false, \"use_sliding_window\": false, \"sliding_window\": null,\n"
	" \"max_window_layers\": 28, \"vocab_size\": 512, \"bos_token_id\": 0, \"eos_token_id\": 0,\n"
	" \"torch_dtype\": \"float32\"}\n";

/* Gemma 3 from gemma2: the classic config.json of published checkpoints (rope_local_base_freq,
 * sliding_window_pattern) and transformers 5's (rope_parameters per layer type, layer_types). */
#define GEMMA3_COMMON                                                                                          \
	"{\"architectures\": [\"Gemma3ForCausalLM\"], \"model_type\": \"gemma3_text\", \"hidden_size\": 64,\n"    \
	" \"intermediate_size\": 128, \"num_hidden_layers\": 6, \"num_attention_heads\": 4,\n"                   \
	" \"num_key_value_heads\": 2, \"head_dim\": 16, \"hidden_activation\": \"gelu_pytorch_tanh\",\n"           \
	" \"max_position_embeddings\": 256, \"rms_norm_eps\": 1e-06, \"query_pre_attn_scalar\": 16,\n"            \
	" \"sliding_window\": 16, \"final_logit_softcapping\": null, \"attn_logit_softcapping\": null,\n"          \
	" \"tie_word_embeddings\": true, \"vocab_size\": 512, \"pad_token_id\": 0, \"bos_token_id\": 2,\n"        \
	" \"eos_token_id\": 1, \"torch_dtype\": \"float32\",\n"
static const char *const GEMMA3_CONFIG = GEMMA3_COMMON
	" \"rope_theta\": 1000000.0, \"rope_local_base_freq\": 10000.0,\n"
	" \"rope_scaling\": {\"rope_type\": \"linear\", \"factor\": 8.0}, \"sliding_window_pattern\": 6}\n";
static const char *const GEMMA3_CONFIG_V5 = GEMMA3_COMMON
	" \"rope_parameters\": {\"full_attention\": {\"rope_type\": \"linear\", \"factor\": 8.0,\n"
	"   \"rope_theta\": 1000000.0}, \"sliding_attention\": {\"rope_type\": \"default\", \"rope_theta\": 10000.0}},\n"
	" \"layer_types\": [\"sliding_attention\", \"sliding_attention\", \"sliding_attention\", \"sliding_attention\",\n"
	"   \"sliding_attention\", \"full_attention\"]}\n";

/* Gemma 3 4B-27B's layout: the text model's config in text_config, giving only what differs
 * from Gemma3TextConfig's defaults (no eps, activation, rope bases, soft caps or tie here). */
static const char *const GEMMA3_MM_CONFIG =
	"{\"architectures\": [\"Gemma3ForConditionalGeneration\"], \"model_type\": \"gemma3\",\n"
	" \"text_config\": {\"model_type\": \"gemma3_text\", \"hidden_size\": 64, \"intermediate_size\": 128,\n"
	"   \"num_hidden_layers\": 6, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"head_dim\": 16,\n"
	"   \"vocab_size\": 512, \"max_position_embeddings\": 256, \"query_pre_attn_scalar\": 16,\n"
	"   \"sliding_window\": 16, \"rope_scaling\": {\"factor\": 8.0, \"rope_type\": \"linear\"}},\n"
	" \"vision_config\": {\"model_type\": \"siglip_vision_model\", \"hidden_size\": 8},\n"
	" \"mm_tokens_per_image\": 256, \"image_token_index\": 262144}\n";

/* Mistral Small 3.1's layout (Mistral3ForConditionalGeneration) of fixtures/hf/mistral: its text
 * model in text_config, giving only what differs from MistralConfig's defaults. */
static const char *const MISTRAL3_CONFIG =
	"{\"architectures\": [\"Mistral3ForConditionalGeneration\"], \"model_type\": \"mistral3\",\n"
	" \"text_config\": {\"model_type\": \"mistral\", \"hidden_size\": 64, \"intermediate_size\": 128,\n"
	"   \"num_hidden_layers\": 3, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"head_dim\": 16,\n"
	"   \"vocab_size\": 512, \"max_position_embeddings\": 256, \"rms_norm_eps\": 1e-05, \"rope_theta\": 1000000.0,\n"
	"   \"sliding_window\": 16},\n"
	" \"vision_config\": {\"model_type\": \"pixtral\", \"hidden_size\": 8}, \"image_token_index\": 10,\n"
	" \"projector_hidden_act\": \"gelu\", \"spatial_merge_size\": 2, \"vision_feature_layer\": -1}\n";

enum derived { QWEN3, GEMMA3 };

/* The q/k norm weights of layer l as stored (exact in float: k/20 and a constant, rounded
 * once): Qwen3's; Gemma 3's w in its HF folder, 1 + w in its GGUF (as llama.cpp's
 * converter writes Gemma's norms). */
static void qk_norms(enum derived d, int l, bool gguf, float q[HD], float k[HD])
{
	for (int i = 0; i < HD; i++) {
		if (d == QWEN3) {
			q[i] = (float)(0.75 + ((7 * i + 3 * l) % 11) / 20.0);
			k[i] = (float)(0.8 + ((5 * i + 2 * l) % 9) / 20.0);
			continue;
		}
		q[i] = (float)(((7 * i + 3 * l) % 11) / 20.0 - 0.25);
		k[i] = (float)(((5 * i + 2 * l) % 9) / 20.0 - 0.2);
		if (gguf) {
			q[i] = 1.0f + q[i];
			k[i] = 1.0f + k[i];
		}
	}
}

/* q: (in, Q_OLD rows) -> (in, 2 Q_OLD rows), rows Q_OLD.. minus rows (r - Q_OLD + 16) % Q_OLD. */
static float *wide_q(const float *q, size_t in)
{
	float *o = malloc(2 * Q_OLD * in * sizeof *o);
	for (size_t r = 0; o && r < 2 * Q_OLD; r++)
		for (size_t c = 0; c < in; c++)
			o[r * in + c] = r < Q_OLD ? q[r * in + c] : -q[((r - Q_OLD + 16) % Q_OLD) * in + c];
	return o;
}

/* o: (Q_OLD, out rows) -> (2 Q_OLD, out rows), columns Q_OLD.. half of columns (c - Q_OLD + 16) % Q_OLD. */
static float *wide_o(const float *o, size_t out)
{
	float *w = malloc(2 * Q_OLD * out * sizeof *w);
	for (size_t r = 0; w && r < out; r++)
		for (size_t c = 0; c < 2 * Q_OLD; c++)
			w[r * 2 * Q_OLD + c] = c < Q_OLD ? o[r * Q_OLD + c] : 0.5f * o[r * Q_OLD + (c - Q_OLD + 16) % Q_OLD];
	return w;
}

/* ---- the HF folder ---- */

/* The q/k norms of layer l into o, as the HF folder of d stores them. */
static void st_norms(struct st_out *o, enum derived d, int l)
{
	float qn[HD], kn[HD];
	char name[128];
	qk_norms(d, l, false, qn, kn);
	snprintf(name, sizeof name, "model.layers.%d.self_attn.q_norm.weight", l);
	st_add(o, name, qn, 1, HD);
	snprintf(name, sizeof name, "model.layers.%d.self_attn.k_norm.weight", l);
	st_add(o, name, kn, 1, HD);
}

/* What one tensor of the source folder (key, rows x cols at t) becomes in o->d's. */
static void st_derive(void *user, const char *key, const float *t, size_t rows, size_t cols)
{
	struct st_out *o = user;
	const enum derived d = o->d;
	int l = -1, used = 0;
	const bool in_layer = sscanf(key, "model.layers.%d.%n", &l, &used) == 1 && used > 0;
	float *wide = NULL;
	if (d == QWEN3 && (has_suffix(key, "q_proj.bias") || has_suffix(key, "k_proj.bias") || has_suffix(key, "v_proj.bias")))
		return;
	if (d == QWEN3 && has_suffix(key, "q_proj.weight") && (wide = wide_q(t, cols)))
		st_add(o, key, wide, 2 * Q_OLD, cols);
	else if (d == QWEN3 && has_suffix(key, "o_proj.weight") && (wide = wide_o(t, rows)))
		st_add(o, key, wide, rows, 2 * Q_OLD);
	else
		st_add(o, key, t, rows, cols);
	free(wide);
	char name[256];
	if (d == GEMMA3 && in_layer && l < 2) { /* layers 4 and 5: copies of 0 and 1 */
		snprintf(name, sizeof name, "model.layers.%d.%s", l + 4, key + used);
		st_add(o, name, t, rows, cols);
	}
	if (in_layer && has_suffix(key, "q_proj.weight")) {
		st_norms(o, d, l);
		if (d == GEMMA3 && l < 2)
			st_norms(o, d, l + 4);
	}
}

/* dst: d's HF folder derived from src's (config.json cfg). */
static int derive_hf(enum derived d, const char *src, const char *dst, const char *cfg)
{
	struct st_out o = { .h = json_object(), .d = d };
	return rebuild_folder(src, dst, cfg, &o, st_derive, false);
}

/* ---- the GGUF ---- */

/* Copy the source's metadata as arch's (a "qwen2." or "gemma2." key becomes "arch."; Gemma 2's
 * soft caps left out), then d's own keys: Qwen3's 8 heads of 16; Gemma 3's 6 layers and the
 * full layer's rope (1e6, linear x8). */
static int gguf_keys(struct gguf_writer *w, const struct gguf_ctx *g, enum derived d, const char *arch)
{
	const char *from = d == QWEN3 ? "qwen2." : "gemma2.";
	const size_t nf = strlen(from);
	for (size_t i = 0; i < gguf_n_kv(g); i++) {
		const struct gguf_kv *kv = gguf_kv_at(g, i);
		char key[256];
		snprintf(key, sizeof key, "%.*s", (int)kv->key.len, kv->key.ptr);
		int rc;
		if (!strcmp(key, "general.architecture"))
			rc = gguf_writer_set_str(w, key, arch);
		else if (strncmp(key, from, nf))
			rc = gguf_writer_copy_kv(w, kv);
		else if (strstr(key, "softcapping"))
			rc = 0;
		else if (kv->type == GGUF_U32 || kv->type == GGUF_F32)
			rc = gguf_writer_set_scalar(w, (snprintf(key, sizeof key, "%s.%.*s", arch, (int)(kv->key.len - nf),
								 kv->key.ptr + nf), key), kv->type,
						    kv->type == GGUF_U32 ? kv->v.u : f32_bits((float)kv->v.f));
		else
			rc = -1;
		if (rc) {
			diag("%s: cannot copy metadata key %s (type %d)", arch, key, (int)kv->type);
			return rc;
		}
	}
	char key[64];
	int rc = 0;
#define KEY(suffix) (snprintf(key, sizeof key, "%s." suffix, arch), key)
	if (d == QWEN3) {
		rc = gguf_writer_set_u32(w, KEY("attention.head_count"), 8);
		rc = rc ? rc : gguf_writer_set_u32(w, KEY("attention.key_length"), HD);
		rc = rc ? rc : gguf_writer_set_u32(w, KEY("attention.value_length"), HD);
	} else {
		rc = gguf_writer_set_u32(w, KEY("block_count"), 6);
		rc = rc ? rc : gguf_writer_set_f32(w, KEY("rope.freq_base"), 1e6f);
		rc = rc ? rc : gguf_writer_set_str(w, KEY("rope.scaling.type"), "linear");
		rc = rc ? rc : gguf_writer_set_f32(w, KEY("rope.scaling.factor"), 8.0f);
	}
#undef KEY
	return rc;
}

static int gguf_add_f32(struct gguf_writer *w, const char *name, const float *v, uint64_t n)
{
	const uint64_t ne[4] = { n, 1, 1, 1 };
	return gguf_writer_add_tensor(w, name, ENG_TYPE_F32, 1, ne, v, n * sizeof *v);
}

static int gguf_norms(struct gguf_writer *w, enum derived d, int l)
{
	float qn[HD], kn[HD];
	char name[64];
	qk_norms(d, l, true, qn, kn);
	snprintf(name, sizeof name, "blk.%d.attn_q_norm.weight", l);
	int rc = gguf_add_f32(w, name, qn, HD);
	snprintf(name, sizeof name, "blk.%d.attn_k_norm.weight", l);
	return rc ? rc : gguf_add_f32(w, name, kn, HD);
}

/* What one tensor of the source GGUF becomes in d's (norms: with the q/k norms). */
static int gguf_derive(struct gguf_writer *w, enum derived d, const struct gguf_tensor *t, bool norms)
{
	char name[128];
	snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
	if (d == QWEN3 && (has_suffix(name, "_q.bias") || has_suffix(name, "_k.bias") || has_suffix(name, "_v.bias")))
		return 0;
	uint64_t ne[4] = { t->ne[0], t->ne[1], 1, 1 };
	float *wide = NULL;
	if (d == QWEN3 && has_suffix(name, "attn_q.weight") && (wide = wide_q(t->data, t->ne[0])))
		ne[1] = 2 * Q_OLD;
	else if (d == QWEN3 && has_suffix(name, "attn_output.weight") && (wide = wide_o(t->data, t->ne[1])))
		ne[0] = 2 * Q_OLD;
	int rc = gguf_writer_add_tensor(w, name, t->type, t->n_dims, ne, wide ? wide : t->data,
					wide ? ne[0] * ne[1] * sizeof(float) : t->nbytes);
	free(wide);
	int l = -1, used = 0;
	const bool in_layer = sscanf(name, "blk.%d.%n", &l, &used) == 1 && used > 0;
	char copy[160];
	if (!rc && d == GEMMA3 && in_layer && l < 2) { /* layers 4 and 5: copies of 0 and 1 */
		snprintf(copy, sizeof copy, "blk.%d.%s", l + 4, name + used);
		rc = gguf_writer_add_tensor(w, copy, t->type, t->n_dims, ne, t->data, t->nbytes);
	}
	if (!rc && norms && in_layer && has_suffix(name, "attn_q.weight"))
		rc = gguf_norms(w, d, l);
	if (!rc && norms && in_layer && has_suffix(name, "attn_q.weight") && d == GEMMA3 && l < 2)
		rc = gguf_norms(w, d, l + 4);
	if (rc)
		diag("cannot add tensor %s (or what derives from it)", name);
	return rc;
}

/* d's model as a GGUF of architecture arch, from the source fixture's (src); norms: with the q/k norms. */
static int derive_gguf(enum derived d, const char *src, const char *dst, const char *arch, bool norms)
{
	size_t size = 0;
	unsigned char *buf = read_all(src, &size);
	struct mrl_err err = { 0 };
	struct gguf_ctx *g = NULL;
	struct gguf_writer *w = gguf_writer_new();
	int rc = !buf || !w || gguf_parse(buf, size, src, &g, &err) ? -1 : gguf_keys(w, g, d, arch);
	if (rc)
		diag("%s: %s", src, buf ? err.msg : "cannot read");
	for (size_t i = 0; !rc && i < gguf_n_tensors(g); i++)
		rc = gguf_derive(w, d, gguf_tensor_at(g, i), norms);
	if ((rc = rc ? rc : gguf_writer_write(w, dst, &err)))
		diag("%s: %s", dst, gguf_writer_write(w, dst, &err) ? err.msg : "?");
	gguf_writer_free(w);
	gguf_free(g);
	free(buf);
	return rc;
}

/* ---- both oracles ---- */

/* Where a derived model's files are: the source fixture's folder, GGUF and prompt ids, the
 * derived HF folder and GGUF in tmp. */
struct derived_paths {
	char src[600], src_gguf[600], ids_dir[600], dir[400], gguf[400];
};

/* d (arch, from the fixture src_name) derived both ways into tmp and held to transformers'
 * logits in tests/data/<arch>/ (the GGUF within gguf_tol), 1 vs 3 threads, and llama.cpp's
 * perplexity of the GGUF. */
static void check_derived(enum derived d, const char *src_name, const char *arch, const char *cfg, double gguf_tol,
			  const char *hf, const char *text, const char *tmp, struct derived_paths *p)
{
	char label[64], ref[64], name[160];
	snprintf(p->src, sizeof p->src, "%s/%s", hf, src_name);
	snprintf(p->src_gguf, sizeof p->src_gguf, "%s/gguf/%s-f32.gguf", hf, src_name);
	snprintf(p->ids_dir, sizeof p->ids_dir, "%s/expected/%s", hf, src_name);
	snprintf(p->dir, sizeof p->dir, "%s/%s", tmp, arch);
	snprintf(p->gguf, sizeof p->gguf, "%s/%s-f32.gguf", tmp, arch);
	snprintf(ref, sizeof ref, "tests/data/%s", arch);
	snprintf(name, sizeof name, "the %s HF folder is derived from fixtures/hf/%s", arch, src_name);
	ok(!derive_hf(d, p->src, p->dir, cfg), name);
	snprintf(name, sizeof name, "the %s GGUF is derived from hf/gguf/%s-f32.gguf", arch, src_name);
	ok(!derive_gguf(d, p->src_gguf, p->gguf, arch, true), name);
	snprintf(label, sizeof label, "hf/%s", arch);
	check_model(label, p->dir, p->ids_dir, ref, TOL);
	check_threads(label, p->dir, p->ids_dir);
	snprintf(label, sizeof label, "gguf/%s", arch);
	check_model(label, p->gguf, p->ids_dir, ref, gguf_tol);
	check_threads(label, p->gguf, p->ids_dir);
	check_llamacpp(p->gguf, text, 1e-4);
}

/* Qwen3 from qwen2: against both oracles, then what is refused. */
static void test_qwen3(const char *hf, const char *text, const char *tmp)
{
	struct derived_paths dp;
	char path[500];
	check_derived(QWEN3, "qwen2", "qwen3", QWEN3_CONFIG, TOL, hf, text, tmp, &dp);
	const char *src_gguf = dp.src_gguf, *gguf = dp.gguf, *dir = dp.dir;

	snprintf(path, sizeof path, "%s/no-norms.gguf", tmp);
	derive_gguf(QWEN3, src_gguf, path, "qwen3", false);
	check_refused(path, ENG_BACKEND_CPU, MRL_EINPUT, "required tensor 'blk.0.attn_q_norm.weight' is missing",
		      "a qwen3 GGUF without q/k norms is refused");
	snprintf(path, sizeof path, "%s/llama-norms.gguf", tmp);
	derive_gguf(QWEN3, src_gguf, path, "llama", true);
	check_refused(path, ENG_BACKEND_CPU, MRL_EUNSUPPORTED, "has q/k norms (attn_q_norm, attn_k_norm), which "
		      "architecture 'llama' does not use", "q/k norms in an architecture without them are refused");
	check_refused(gguf, ENG_BACKEND_CUDA, MRL_EUNSUPPORTED, "architecture 'qwen3' is not implemented on the CUDA "
		      "backend", "a qwen3 GGUF on the CUDA backend is refused");
	check_refused(dir, ENG_BACKEND_CUDA, MRL_EUNSUPPORTED, "architecture 'qwen3' is not implemented on the CUDA "
		      "backend", "a qwen3 folder on the CUDA backend is refused");
	snprintf(path, sizeof path, "%s/config.json", dir);
	char *cfg = cli_slurp(path);
	char *bias = cfg ? strstr(cfg, "\"attention_bias\": false") : NULL;
	if (bias) {
		memcpy(bias, "\"attention_bias\": true ", 23);
		cli_write_file(path, cfg);
	}
	check_refused(dir, ENG_BACKEND_CPU, MRL_EUNSUPPORTED, "'attention_bias': true is not implemented",
		      "a qwen3 config with attention_bias true is refused");
	char *mt = cfg ? strstr(cfg, "\"model_type\": \"qwen3\"") : NULL;
	if (mt) {
		memcpy(bias, "\"attention_bias\": false", 23);
		memcpy(mt, "\"model_type\": \"llama\"", 21);
		cli_write_file(path, cfg);
	}
	check_refused(dir, ENG_BACKEND_CPU, MRL_EUNSUPPORTED, "_norm.weight' is not part of a llama model",
		      "the q/k norms in a llama folder are refused by name");
	free(cfg);
}

/* A tensor of a text folder into o, a "model." name under o->prefix instead. */
static void st_moved(void *user, const char *key, const float *t, size_t rows, size_t cols)
{
	struct st_out *o = user;
	char name[300];
	const bool model = !strncmp(key, "model.", 6);
	snprintf(name, sizeof name, "%s%s", model ? o->prefix : "", model ? key + 6 : key);
	st_add(o, name, t, rows, cols);
}

/* dst: text folder src as an image-text checkpoint: config cfg, each "model." tensor under
 * prefix instead, and two vision tensors (zeros) beside them. 0 or -1. */
static int image_text_folder(const char *src, const char *dst, const char *prefix, const char *cfg)
{
	struct st_out o = { .h = json_object(), .prefix = prefix };
	return rebuild_folder(src, dst, cfg, &o, st_moved, true);
}

/* Gemma 3 from gemma2: against both oracles, the two config layouts, what is refused. */
static void test_gemma3(const char *hf, const char *text, const char *tmp)
{
	struct derived_paths dp;
	char dir5[400], path[700];
	check_derived(GEMMA3, "gemma2", "gemma3", GEMMA3_CONFIG, TOL_GELU_GGUF, hf, text, tmp, &dp);
	const char *ids_dir = dp.ids_dir, *gguf = dp.gguf, *dir = dp.dir;
	snprintf(dir5, sizeof dir5, "%s/gemma3-v5", tmp);
	/* transformers 5's layout of the same config: the same model, bit for bit */
	size_t n = 0, na = 0, nb = 0;
	snprintf(path, sizeof path, "%s/prompt2.ids.txt", ids_dir);
	int32_t *ids = read_id_file(path, &n);
	float *a = ids && !with_config(dir, dir5, GEMMA3_CONFIG_V5) ? logits_of(dir5, 2, ids, n, &na) : NULL;
	float *b = ids ? logits_of(dir, 2, ids, n, &nb) : NULL;
	ok(a && b && na == nb && !memcmp(a, b, n * na * sizeof *a), "hf/gemma3: rope_parameters per layer type and "
	   "layer_types (transformers 5) give the bits of the classic config.json");
	/* the image-text checkpoint (4B-27B): its text model, in both of transformers' save layouts */
	static const char *const prefixes[] = { "language_model.model.", "model.language_model." };
	for (int k = 0; k < 2; k++) {
		size_t nm = 0;
		float *mm = ids && !image_text_folder(dir, dir5, prefixes[k], GEMMA3_MM_CONFIG) ? logits_of(dir5, 2, ids, n, &nm)
											 : NULL;
		char name[256];
		snprintf(name, sizeof name, "hf/gemma3 as Gemma3ForConditionalGeneration (text_config with defaults, tensors "
			 "under %s, the vision tower left): the text model's bits", prefixes[k]);
		ok(mm && b && nm == nb && !memcmp(mm, b, n * nm * sizeof *mm), name);
		free(mm);
	}
	/* a window pattern key: 6 is what llama.cpp does anyway, another is refused */
	for (uint32_t pat = 4; pat <= 6; pat += 2) {
		snprintf(path, sizeof path, "%s/gemma3-pattern%u.gguf", tmp, pat);
		struct gguf_edit e = { .u32_key = "gemma3.attention.sliding_window_pattern", .u32_val = pat };
		size_t nv = 0, n0 = 0;
		float *pl = gguf_rewrite(gguf, path, e) || pat != 6 ? NULL : logits_of(path, 2, ids, n, &nv);
		float *g0 = pat == 6 ? logits_of(gguf, 2, ids, n, &n0) : NULL;
		if (pat == 6)
			ok(pl && g0 && nv == n0 && !memcmp(pl, g0, n * nv * sizeof *pl),
			   "a gemma3 GGUF whose sliding_window_pattern is 6 runs as without the key");
		else
			check_refused(path, ENG_BACKEND_CPU, MRL_EUNSUPPORTED, "'gemma3.attention.sliding_window_pattern' other "
				      "than 6", "a gemma3 GGUF with another sliding_window_pattern is refused");
		free(pl);
		free(g0);
	}
	free(a);
	free(b);
	free(ids);
	check_refused(gguf, ENG_BACKEND_CUDA, MRL_EUNSUPPORTED, "architecture 'gemma3' is not implemented on the CUDA "
		      "backend", "a gemma3 GGUF on the CUDA backend is refused");
	snprintf(path, sizeof path, "%s/gemma3-nowindow.gguf", tmp);
	gguf_rewrite(gguf, path, (struct gguf_edit){ .drop_key = "gemma3.attention.sliding_window" });
	check_refused(path, ENG_BACKEND_CPU, MRL_EINPUT, "required metadata key 'gemma3.attention.sliding_window' is "
		      "missing", "a gemma3 GGUF without its window is refused (its windowed layers are the local-rope ones)");
	const char *w16 = strstr(GEMMA3_CONFIG_V5, "\"sliding_window\": 16");
	char *cfg = malloc(strlen(GEMMA3_CONFIG_V5) + 8), *p;
	sprintf(cfg, "%.*s\"sliding_window\": null%s", (int)(w16 - GEMMA3_CONFIG_V5), GEMMA3_CONFIG_V5,
		w16 + strlen("\"sliding_window\": 16"));
	with_config(dp.dir, dir5, cfg);
	check_refused(dir5, ENG_BACKEND_CPU, MRL_EINPUT, "'sliding_window' is null", "a gemma3 config without a window "
		      "(sliding_window null) is refused");
	free(cfg);
	cfg = strdup(GEMMA3_CONFIG);
	p = strstr(cfg, "\"sliding_window_pattern\": 6");
	p[strlen("\"sliding_window_pattern\": ")] = '4';
	with_config(dir, dir5, cfg);
	check_refused(dir5, ENG_BACKEND_CPU, MRL_EUNSUPPORTED, "'sliding_window_pattern' 4 without 'layer_types' is "
		      "not implemented", "a gemma3 config with another window pattern and no layer_types is refused");
	free(cfg);
	cfg = strdup(GEMMA3_CONFIG_V5);
	p = strstr(cfg, "{\"rope_type\": \"default\", \"rope_theta\": 10000.0}");
	memcpy(p, "[\"rope_type\", \"default\", \"rope_theta\", 10000.0]", strlen("[\"rope_type\", \"default\", \"rope_theta\", 10000.0]"));
	with_config(dir, dir5, cfg);
	check_refused(dir5, ENG_BACKEND_CPU, MRL_EINPUT, "'rope_parameters.sliding_attention' must be an object",
		      "a gemma3 config whose sliding layers' rope is not an object is refused");
	free(cfg);
	cfg = strdup(GEMMA3_CONFIG_V5);
	p = strstr(cfg, "\"rope_type\": \"default\"");
	memcpy(p, "\"rope_type\": \"dynamic\"", strlen("\"rope_type\": \"dynamic\""));
	with_config(dir, dir5, cfg);
	check_refused(dir5, ENG_BACKEND_CPU, MRL_EUNSUPPORTED, "rope_parameters.sliding_attention rope_type 'dynamic' is "
		      "not implemented", "a gemma3 config whose sliding layers' rope is scaled is refused");
	free(cfg);
}

/* Mistral Small 3.1 and later as they are published (Mistral3ForConditionalGeneration): the
 * fixture's Mistral under either of transformers' prefixes, a minimal text_config and two
 * vision tensors, gives the plain folder's bits; without the window (null) other logits. */
static void test_mistral3(const char *hf, const char *tmp)
{
	char src[600], dst[400], path[700], name[256];
	snprintf(src, sizeof src, "%s/mistral", hf);
	snprintf(dst, sizeof dst, "%s/mistral3", tmp);
	snprintf(path, sizeof path, "%s/expected/mistral/prompt2.ids.txt", hf);
	size_t n = 0, na = 0;
	int32_t *ids = read_id_file(path, &n);
	float *a = ids ? logits_of(src, 2, ids, n, &na) : NULL;
	static const char *const prefixes[] = { "language_model.model.", "model.language_model." };
	for (int k = 0; k < 2; k++) {
		size_t nm = 0;
		float *mm = ids && !image_text_folder(src, dst, prefixes[k], MISTRAL3_CONFIG) ? logits_of(dst, 2, ids, n, &nm)
											       : NULL;
		snprintf(name, sizeof name, "hf/mistral as Mistral3ForConditionalGeneration (tensors under %s, the vision "
			 "tower left): the text model's bits", prefixes[k]);
		ok(mm && a && nm == na && !memcmp(mm, a, n * nm * sizeof *mm), name);
		free(mm);
	}
	const char *w = strstr(MISTRAL3_CONFIG, "\"sliding_window\": 16");
	char *cfg = malloc(strlen(MISTRAL3_CONFIG) + 8);
	sprintf(cfg, "%.*s\"sliding_window\": null%s", (int)(w - MISTRAL3_CONFIG), MISTRAL3_CONFIG,
		w + strlen("\"sliding_window\": 16"));
	size_t nw = 0;
	float *nowin = ids && !image_text_folder(src, dst, prefixes[1], cfg) ? logits_of(dst, 2, ids, n, &nw) : NULL;
	ok(nowin && a && nw == na && float_max_diff(nowin + (n - 1) * nw, a + (n - 1) * na, na) > 1e-3,
	   "  ...and its text_config's window is read (null: every key, other logits over 100 tokens)");
	free(nowin);
	free(cfg);
	free(a);
	free(ids);
}

int main(void)
{
	const char *fx = fixtures_dir();
	char hf[512], text[600], tmp[256];
	struct stat st;
	snprintf(hf, sizeof hf, "%s/hf", fx ? fx : ".");
	if (!fx || stat(hf, &st) != 0)
		skip_all("fixtures absent: ../shared/fixtures/hf");
	snprintf(text, sizeof text, "%s/expected/ppl-text.txt", fx);
	snprintf(tmp, sizeof tmp, "/tmp/merilo-eng-derived-%d", (int)getpid());
	TEST(test_qwen3(hf, text, tmp), "Qwen3 (q/k norms, heads x head_dim wider than hidden)");
	TEST(test_gemma3(hf, text, tmp), "Gemma 3 (q/k norms, five windowed layers of six with their own rope)");
	TEST(test_mistral3(hf, tmp), "Mistral 3 (Mistral Small 3.1's image-text checkpoint): its text model");
	cli_rmtree(tmp);
	return done_testing();
}
