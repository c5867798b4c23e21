/* eng_moe.c — mixture-of-experts models (Mixtral, Qwen3-MoE), derived from fixtures that
 * have none by fixed rules (ci/make-derived-reference.py's docstring), each written by the
 * test as an HF folder (per-expert tensors, as checkpoints store them) and as a GGUF (3-d
 * ffn_*_exps tensors, as llama.cpp's converter writes them):
 *   mixtral, from mistral: 4 experts of 128, 2 a token, each a variation of the fixture's FFN;
 *   qwen3moe, from qwen2: Qwen3's q/k norms, 8 experts of 64, 4 a token, norm_topk_prob;
 *   qwen2moe, from qwen2: those experts unnormalized, and the fixture's FFN as a gated shared expert.
 * Oracles as tests/eng_derived.c's: transformers' logits committed in tests/data/<arch>/
 * against both merilo paths, and llama.cpp's perplexity of the GGUF where
 * ../shared/tools/llama.cpp is present. Then what must not depend on how tokens are batched
 * (each expert runs on the rows of the tokens that chose it), older GGUFs' per-expert tensors,
 * what `info` says, and what is refused.
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
#define HIDDEN 64
#define FF 128
#define HD 16

static const char *const MIXTRAL_CONFIG =
	"{\"architectures\": [\"MixtralForCausalLM\"], \"model_type\": \"mixtral\", \"hidden_size\": 64,\n"
	" \"intermediate_size\": 128, \"num_hidden_layers\": 3, \"num_attention_heads\": 4,\n"
	" \"num_key_value_heads\": 2, \"head_dim\": 16, \"hidden_act\": \"silu\", \"max_position_embeddings\": 256,\n"
	" \"rms_norm_eps\": 1e-05, \"rope_theta\": 1000000.0, \"sliding_window\": null, \"num_local_experts\": 4,\n"
	" \"num_experts_per_tok\": 2, \"router_jitter_noise\": 0.0, \"output_router_logits\": false,\n"
	" \"tie_word_embeddings\": false, \"vocab_size\": 512, \"bos_token_id\": 1, \"eos_token_id\": 2,\n"
	" \"torch_dtype\": \"float32\"}\n";

/* as Qwen3-30B-A3B's config.json says it (num_experts, transformers 4's name) */
static const char *const QWEN3MOE_CONFIG =
	"{\"architectures\": [\"Qwen3MoeForCausalLM\"], \"model_type\": \"qwen3_moe\", \"hidden_size\": 64,\n"
	" \"intermediate_size\": 128, \"moe_intermediate_size\": 64, \"num_hidden_layers\": 3,\n"
	" \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"head_dim\": 16, \"hidden_act\": \"silu\",\n"
	" \"max_position_embeddings\": 256, \"rms_norm_eps\": 1e-06, \"rope_theta\": 1000000.0,\n"
	" \"rope_scaling\": null, \"num_experts\": 8, \"num_experts_per_tok\": 4, \"norm_topk_prob\": true,\n"
	" \"decoder_sparse_step\": 1, \"mlp_only_layers\": [], \"attention_bias\": false,\n"
	" \"use_sliding_window\": false, \"sliding_window\": null, \"max_window_layers\": 48,\n"
	" \"tie_word_embeddings\": false, \"vocab_size\": 512, \"bos_token_id\": 0, \"eos_token_id\": 0,\n"
	" \"torch_dtype\": \"float32\"}\n";

/* Qwen2-MoE: Qwen2's attention (biases), experts without renormalization, a shared expert */
static const char *const QWEN2MOE_CONFIG =
	"{\"architectures\": [\"Qwen2MoeForCausalLM\"], \"model_type\": \"qwen2_moe\", \"hidden_size\": 64,\n"
	" \"intermediate_size\": 128, \"moe_intermediate_size\": 64, \"shared_expert_intermediate_size\": 128,\n"
	" \"num_hidden_layers\": 3, \"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"hidden_act\": \"silu\",\n"
	" \"max_position_embeddings\": 256, \"rms_norm_eps\": 1e-06, \"rope_theta\": 1000000.0,\n"
	" \"num_experts\": 8, \"num_experts_per_tok\": 4, \"norm_topk_prob\": false, \"decoder_sparse_step\": 1,\n"
	" \"mlp_only_layers\": [], \"use_sliding_window\": false, \"sliding_window\": null,\n"
	" \"max_window_layers\": 24, \"tie_word_embeddings\": false, \"vocab_size\": 512, \"bos_token_id\": 0,\n"
	" \"eos_token_id\": 0, \"torch_dtype\": \"float32\"}\n";

enum moe { MIXTRAL, QWEN3MOE, QWEN2MOE };

/* experts, their width and what each is made of */
static const int N_EXP[3] = { 4, 8, 8 }, FF_EXP[3] = { 128, 64, 64 }, N_USED[3] = { 2, 4, 4 };

/* Hidden unit r of expert e: a row of the fixture's gate/up (a column of its down). */
static int unit(enum moe d, int e, int r)
{
	return d == MIXTRAL ? r : (16 * e + r) % FF;
}

/* Mixtral's gate rows are rotated, its up rows not */
static int gate_unit(enum moe d, int e, int r)
{
	return d == MIXTRAL ? (r + 32 * e) % FF : unit(d, e, r);
}

/* Layer l's shared expert gate (Qwen2-MoE), HIDDEN weights. */
static void shared_gate(int l, float *w)
{
	for (int i = 0; i < HIDDEN; i++)
		w[i] = (float)(((3 * i + l) % 13 - 6) / 32.0);
}

/* Layer l's router, n_expert rows of HIDDEN. */
static void router(int l, int n_expert, float *w)
{
	for (int e = 0; e < n_expert; e++)
		for (int i = 0; i < HIDDEN; i++)
			w[e * HIDDEN + i] = (float)(((37 * e + 11 * i + 5 * l) % 17 - 8) / 16.0);
}

/* Expert e of the fixture's gate (p 0), up (1) or down (2) matrix t: rows x cols as stored. */
static float *expert_of(enum moe d, int p, int e, const float *t, size_t *rows, size_t *cols)
{
	const int fe = FF_EXP[d];
	float *o = malloc((size_t)fe * HIDDEN * sizeof *o);
	for (int r = 0; o && r < fe; r++)
		for (int i = 0; i < HIDDEN; i++) {
			if (p == 2) /* down: HIDDEN rows of FF, columns picked; Mixtral's odd experts negated */
				o[i * fe + r] = (d == MIXTRAL && e % 2 ? -1.0f : 1.0f) * t[i * FF + unit(d, e, r)];
			else
				o[r * HIDDEN + i] = t[(p == 0 ? gate_unit(d, e, r) : unit(d, e, r)) * HIDDEN + i];
		}
	*rows = p == 2 ? HIDDEN : (size_t)fe;
	*cols = p == 2 ? (size_t)fe : HIDDEN;
	return o;
}

static void qk_norms(int l, float q[HD], float k[HD])
{
	for (int i = 0; i < HD; i++) {
		q[i] = (float)(0.75 + ((7 * i + 3 * l) % 11) / 20.0);
		k[i] = (float)(0.8 + ((5 * i + 2 * l) % 9) / 20.0);
	}
}

/* ---- the HF folder ---- */

static void st_derive(void *user, const char *key, const float *t, size_t rows, size_t cols)
{
	struct st_out *o = user;
	const enum moe d = o->d;
	static const char *const part[3] = { "gate", "up", "down" };
	static const char *const mixtral_name[3] = { "w1", "w3", "w2" };
	int l = -1, used = 0;
	char name[256];
	if (sscanf(key, "model.layers.%d.%n", &l, &used) < 1 || used <= 0) {
		st_add(o, key, t, rows, cols);
		return;
	}
	if (d == QWEN3MOE && (has_suffix(key, "q_proj.bias") || has_suffix(key, "k_proj.bias") || has_suffix(key, "v_proj.bias")))
		return;
	for (int p = 0; p < 3; p++) {
		snprintf(name, sizeof name, "mlp.%s_proj.weight", part[p]);
		if (strcmp(key + used, name))
			continue;
		if (p == 0) {
			float w[8 * HIDDEN];
			router(l, N_EXP[d], w);
			snprintf(name, sizeof name, "model.layers.%d.%s", l, d == MIXTRAL ? "block_sparse_moe.gate.weight"
											 : "mlp.gate.weight");
			st_add(o, name, w, (size_t)N_EXP[d], HIDDEN);
		}
		if (d == QWEN2MOE) { /* the fixture's FFN is the shared expert */
			snprintf(name, sizeof name, "model.layers.%d.mlp.shared_expert.%s_proj.weight", l, part[p]);
			st_add(o, name, t, rows, cols);
		}
		if (d == QWEN2MOE && p == 0) {
			float g[HIDDEN];
			shared_gate(l, g);
			snprintf(name, sizeof name, "model.layers.%d.mlp.shared_expert_gate.weight", l);
			st_add(o, name, g, 1, HIDDEN);
		}
		for (int e = 0; e < N_EXP[d]; e++) {
			size_t r, c;
			float *x = expert_of(d, p, e, t, &r, &c);
			if (d == MIXTRAL)
				snprintf(name, sizeof name, "model.layers.%d.block_sparse_moe.experts.%d.%s.weight", l, e,
					 mixtral_name[p]);
			else
				snprintf(name, sizeof name, "model.layers.%d.mlp.experts.%d.%s_proj.weight", l, e, part[p]);
			if (x)
				st_add(o, name, x, r, c);
			free(x);
		}
		return;
	}
	st_add(o, key, t, rows, cols);
	if (d == QWEN3MOE && has_suffix(key, "q_proj.weight")) {
		float qn[HD], kn[HD];
		qk_norms(l, qn, kn);
		snprintf(name, sizeof name, "model.layers.%d.self_attn.q_norm.weight", l);
		st_add(o, name, qn, 1, HD);
		snprintf(name, sizeof name, "model.layers.%d.self_attn.k_norm.weight", l);
		st_add(o, name, kn, 1, HD);
	}
}

/* ---- the GGUF ---- */

/* The source's metadata (qwen2.* as qwen3moe.*), then the experts' keys. */
static int gguf_keys(struct gguf_writer *w, const struct gguf_ctx *g, enum moe d)
{
	const char *arch = d == MIXTRAL ? "llama" : d == QWEN3MOE ? "qwen3moe" : "qwen2moe",
		   *from = d == MIXTRAL ? "llama." : "qwen2.";
	const size_t nf = strlen(from);
	int rc = 0;
	char key[256];
	for (size_t i = 0; !rc && i < gguf_n_kv(g); i++) {
		const struct gguf_kv *kv = gguf_kv_at(g, i);
		snprintf(key, sizeof key, "%.*s", (int)kv->key.len, kv->key.ptr);
		if (!strcmp(key, "general.architecture"))
			rc = gguf_writer_set_str(w, key, arch);
		else if (strncmp(key, from, nf) || d == MIXTRAL)
			rc = gguf_writer_copy_kv(w, kv);
		else if (kv->type == GGUF_U32 || kv->type == GGUF_F32)
			rc = gguf_writer_set_scalar(w, (snprintf(key, sizeof key, "%s.%.*s", arch, (int)(kv->key.len - nf),
								 kv->key.ptr + nf), key), kv->type,
						    kv->type == GGUF_U32 ? kv->v.u : f32_bits((float)kv->v.f));
		else
			rc = -1;
	}
	snprintf(key, sizeof key, "%s.expert_count", arch);
	rc = rc ? rc : gguf_writer_set_u32(w, key, (uint32_t)N_EXP[d]);
	snprintf(key, sizeof key, "%s.expert_used_count", arch);
	rc = rc ? rc : gguf_writer_set_u32(w, key, (uint32_t)N_USED[d]);
	snprintf(key, sizeof key, "%s.expert_feed_forward_length", arch);
	rc = rc || d == MIXTRAL ? rc : gguf_writer_set_u32(w, key, (uint32_t)FF_EXP[d]);
	snprintf(key, sizeof key, "%s.expert_shared_feed_forward_length", arch);
	rc = rc || d != QWEN2MOE ? rc : gguf_writer_set_u32(w, key, FF);
	return rc;
}

static int add_f32(struct gguf_writer *w, const char *name, const float *v, uint32_t n_dims, uint64_t ne0, uint64_t ne1,
		   uint64_t ne2)
{
	const uint64_t ne[4] = { ne0, ne1, ne2, 1 };
	return gguf_writer_add_tensor(w, name, ENG_TYPE_F32, n_dims, ne, v, ne0 * ne1 * ne2 * sizeof *v);
}

/* Layer l's part p (gate, up, down) from the fixture's matrix t: the router with the gate, and
 * the experts as one 3-d tensor, or (per_expert) one matrix each as older Mixtral GGUFs. */
static int gguf_experts(struct gguf_writer *w, enum moe d, int l, int p, const float *t, bool per_expert)
{
	static const char *const part[3] = { "gate", "up", "down" };
	char name[96];
	int rc = 0;
	if (p == 0) {
		float r[8 * HIDDEN];
		router(l, N_EXP[d], r);
		snprintf(name, sizeof name, "blk.%d.ffn_gate_inp.weight", l);
		rc = add_f32(w, name, r, 2, HIDDEN, (uint64_t)N_EXP[d], 1);
	}
	const size_t per = (size_t)FF_EXP[d] * HIDDEN;
	float *all = malloc((size_t)N_EXP[d] * per * sizeof *all);
	size_t rows = 0, cols = 0;
	for (int e = 0; all && !rc && e < N_EXP[d]; e++) {
		float *x = expert_of(d, p, e, t, &rows, &cols);
		if (x)
			memcpy(all + e * per, x, per * sizeof *x);
		snprintf(name, sizeof name, "blk.%d.ffn_%s.%d.weight", l, part[p], e);
		rc = !x || (per_expert && add_f32(w, name, x, 2, cols, rows, 1));
		free(x);
	}
	snprintf(name, sizeof name, "blk.%d.ffn_%s_exps.weight", l, part[p]);
	rc = rc || !all || (!per_expert && add_f32(w, name, all, 3, cols, rows, (uint64_t)N_EXP[d]));
	free(all);
	return rc;
}

static int gguf_derive(struct gguf_writer *w, enum moe d, const struct gguf_tensor *t, bool per_expert)
{
	char name[128];
	snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
	int l = -1, used = 0;
	const bool in_layer = sscanf(name, "blk.%d.%n", &l, &used) == 1 && used > 0;
	if (d == QWEN3MOE && (has_suffix(name, "_q.bias") || has_suffix(name, "_k.bias") || has_suffix(name, "_v.bias")))
		return 0;
	static const char *const ffn[3] = { "ffn_gate.weight", "ffn_up.weight", "ffn_down.weight" };
	static const char *const shexp[3] = { "ffn_gate_shexp.weight", "ffn_up_shexp.weight", "ffn_down_shexp.weight" };
	for (int p = 0; in_layer && p < 3; p++) {
		if (strcmp(name + used, ffn[p]))
			continue;
		int rc = gguf_experts(w, d, l, p, t->data, per_expert);
		char sh[96];
		snprintf(sh, sizeof sh, "blk.%d.%s", l, shexp[p]);
		const uint64_t ne[4] = { t->ne[0], t->ne[1], 1, 1 };
		if (!rc && d == QWEN2MOE) /* the fixture's FFN is the shared expert, gated by a 1-d vector */
			rc = gguf_writer_add_tensor(w, sh, t->type, 2, ne, t->data, t->nbytes);
		float g[HIDDEN];
		shared_gate(l, g);
		snprintf(sh, sizeof sh, "blk.%d.ffn_gate_inp_shexp.weight", l);
		if (!rc && d == QWEN2MOE && p == 0)
			rc = add_f32(w, sh, g, 1, HIDDEN, 1, 1);
		return rc;
	}
	const uint64_t ne[4] = { t->ne[0], t->ne[1], 1, 1 };
	int rc = gguf_writer_add_tensor(w, name, t->type, t->n_dims, ne, t->data, t->nbytes);
	if (!rc && d == QWEN3MOE && in_layer && has_suffix(name, "attn_q.weight")) {
		float qn[HD], kn[HD];
		qk_norms(l, qn, kn);
		snprintf(name, sizeof name, "blk.%d.attn_q_norm.weight", l);
		rc = add_f32(w, name, qn, 1, HD, 1, 1);
		snprintf(name, sizeof name, "blk.%d.attn_k_norm.weight", l);
		rc = rc ? rc : add_f32(w, name, kn, 1, HD, 1, 1);
	}
	return rc;
}

static int derive_gguf(enum moe d, const char *src, const char *dst, bool per_expert)
{
	size_t size = 0;
	unsigned char *buf = read_all(src, &size);
	struct mrl_err err = { 0 };
	struct gguf_ctx *g = NULL;
	struct gguf_writer *w = gguf_writer_new();
	int rc = !buf || !w || gguf_parse(buf, size, src, &g, &err) ? -1 : gguf_keys(w, g, d);
	for (size_t i = 0; !rc && i < gguf_n_tensors(g); i++)
		rc = gguf_derive(w, d, gguf_tensor_at(g, i), per_expert);
	if (!rc && (rc = gguf_writer_write(w, dst, &err)))
		diag("%s: %s", dst, err.msg);
	gguf_writer_free(w);
	gguf_free(g);
	free(buf);
	return rc;
}

/* ---- checks ---- */

/* s with its first `from` replaced by `to`, malloc'd. */
static char *replaced(const char *s, const char *from, const char *to)
{
	const char *at = strstr(s, from);
	char *o = malloc(strlen(s) + strlen(to) + 1);
	if (o && at)
		sprintf(o, "%.*s%s%s", (int)(at - s), s, to, at + strlen(from));
	else if (o)
		strcpy(o, s);
	return o;
}


/* `merilo info` names the experts and the parameters a token uses. */
static void check_info(const char *model, const char *want_line, const char *want_active)
{
	char cmd[1024], *out = NULL;
	if (!cli_merilo()) {
		skip("MERILO not set", "info names the experts");
		return;
	}
	snprintf(cmd, sizeof cmd, "%s info %s", cli_merilo(), model);
	int rc = cli_capture(&out, cmd);
	is_int(rc, 0, "info of a MoE model exits 0");
	like(out, want_line, "  ...and names the experts");
	like(out, want_active, "  ...and the parameters a token uses");
	free(out);
}

static void check_moe(enum moe d, const char *arch, const char *src_name, const char *cfg, const char *hf,
		      const char *text, const char *tmp, char *dir, char *gguf)
{
	char src[600], src_gguf[600], ids_dir[600], ref[64], label[64], name[160];
	snprintf(src, sizeof src, "%s/%s", hf, src_name);
	snprintf(src_gguf, sizeof src_gguf, "%s/gguf/%s-f32.gguf", hf, src_name);
	snprintf(ids_dir, sizeof ids_dir, "%s/expected/%s", hf, src_name);
	snprintf(dir, 400, "%s/%s", tmp, arch);
	snprintf(gguf, 400, "%s/%s-f32.gguf", tmp, arch);
	snprintf(ref, sizeof ref, "tests/data/%s", arch);
	struct st_out o = { .h = json_object(), .d = d };
	snprintf(name, sizeof name, "the %s HF folder is derived from fixtures/hf/%s", arch, src_name);
	ok(!rebuild_folder(src, dir, cfg, &o, st_derive, false), name);
	snprintf(name, sizeof name, "the %s GGUF is derived from hf/gguf/%s-f32.gguf", arch, src_name);
	ok(!derive_gguf(d, src_gguf, gguf, false), name);
	snprintf(label, sizeof label, "hf/%s", arch);
	check_model(label, dir, ids_dir, ref, TOL);
	check_threads(label, dir, ids_dir);
	check_split(label, dir, ids_dir);
	snprintf(label, sizeof label, "gguf/%s", arch);
	check_model(label, gguf, ids_dir, ref, TOL);
	check_threads(label, gguf, ids_dir);
	check_split(label, gguf, ids_dir);
	check_llamacpp(gguf, text, 1e-4);
}

static void test_mixtral(const char *hf, const char *text, const char *tmp)
{
	char dir[400], gguf[400], path[600], ids_dir[600];
	check_moe(MIXTRAL, "mixtral", "mistral", MIXTRAL_CONFIG, hf, text, tmp, dir, gguf);
	check_info(gguf, "ffn 128 in each of 4 experts, 2 a token", "M active a token");
	/* older GGUFs: one matrix per expert (blk.N.ffn_gate.E.weight), as the HF folder's names map */
	snprintf(path, sizeof path, "%s/mixtral-per-expert.gguf", tmp);
	snprintf(ids_dir, sizeof ids_dir, "%s/expected/mistral", hf);
	char src_gguf[600];
	snprintf(src_gguf, sizeof src_gguf, "%s/gguf/mistral-f32.gguf", hf);
	size_t n = 0, na = 0, nb = 0;
	snprintf(ids_dir + strlen(ids_dir), sizeof ids_dir - strlen(ids_dir), "/prompt2.ids.txt");
	int32_t *ids = read_id_file(ids_dir, &n);
	float *a = ids && !derive_gguf(MIXTRAL, src_gguf, path, true) ? logits_of(path, 2, ids, n, &na) : NULL;
	float *b = ids ? logits_of(gguf, 2, ids, n, &nb) : NULL;
	ok(a && b && na == nb && !memcmp(a, b, n * na * sizeof *a), "gguf/mixtral with one tensor per expert "
	   "(blk.N.ffn_gate.E.weight) gives the bits of the 3-d ffn_*_exps tensors");
	free(a);
	free(b);
	free(ids);
	check_refused(gguf, ENG_BACKEND_CUDA, MRL_EUNSUPPORTED, "mixture-of-experts layers (4 experts) are not "
		      "implemented on the CUDA backend", "a Mixtral GGUF on the CUDA backend is refused");
	snprintf(path, sizeof path, "%s/mixtral-k5.gguf", tmp);
	gguf_rewrite(gguf, path, (struct gguf_edit){ .u32_key = "llama.expert_used_count", .u32_val = 5 });
	check_refused(path, ENG_BACKEND_CPU, MRL_EINPUT, "'llama.expert_used_count' (5) must be at most expert_count (4)",
		      "more experts a token than there are is refused");
	snprintf(path, sizeof path, "%s/mixtral-no-down.gguf", tmp);
	gguf_rewrite(gguf, path, (struct gguf_edit){ .drop_tensor = "blk.1.ffn_down_exps.weight" });
	check_refused(path, ENG_BACKEND_CPU, MRL_EINPUT, "required tensor 'blk.1.ffn_down_exps.weight' (or "
		      "'blk.1.ffn_down.0.weight') is missing", "a MoE GGUF without a layer's experts is refused by name");
	snprintf(path, sizeof path, "%s/mixtral-bad.gguf", tmp);
	gguf_rewrite(gguf, path, (struct gguf_edit){ .bad_shape = "blk.0.ffn_up_exps.weight" });
	check_refused(path, ENG_BACKEND_CPU, MRL_EINPUT, "tensor 'blk.0.ffn_up_exps.weight' has shape",
		      "experts of the wrong shape are refused by name");
	char *cfg = replaced(MIXTRAL_CONFIG, " \"num_experts_per_tok\": 2,", "");
	snprintf(path, sizeof path, "%s/mixtral-edit", tmp);
	with_config(dir, path, cfg);
	check_refused(path, ENG_BACKEND_CPU, MRL_EINPUT, "required field 'num_experts_per_tok' is missing",
		      "a mixtral config without num_experts_per_tok is refused");
	free(cfg);
}

static void test_qwen2moe(const char *hf, const char *text, const char *tmp)
{
	char dir[400], gguf[400], path[600];
	check_moe(QWEN2MOE, "qwen2moe", "qwen2", QWEN2MOE_CONFIG, hf, text, tmp, dir, gguf);
	check_info(dir, "ffn 64 in each of 8 experts, 4 a token, and a shared expert of 128", "M active a token");
	snprintf(path, sizeof path, "%s/qwen2moe-noshared.gguf", tmp);
	gguf_rewrite(gguf, path, (struct gguf_edit){ .drop_tensor = "blk.2.ffn_gate_inp_shexp.weight" });
	check_refused(path, ENG_BACKEND_CPU, MRL_EINPUT, "required tensor 'blk.2.ffn_gate_inp_shexp.weight' is missing",
		      "a qwen2moe GGUF without a shared expert's gate is refused by name");
	snprintf(path, sizeof path, "%s/qwen2moe-edit", tmp);
	char *cfg = replaced(QWEN2MOE_CONFIG, " \"shared_expert_intermediate_size\": 128,", "");
	with_config(dir, path, cfg);
	check_refused(path, ENG_BACKEND_CPU, MRL_EINPUT, "required field 'shared_expert_intermediate_size' is missing",
		      "a qwen2_moe config without the shared expert's size is refused");
	free(cfg);
	cfg = replaced(QWEN2MOE_CONFIG, "\"decoder_sparse_step\": 1", "\"decoder_sparse_step\": 1, \"qkv_bias\": false");
	with_config(dir, path, cfg);
	check_refused(path, ENG_BACKEND_CPU, MRL_EUNSUPPORTED, "'qkv_bias': false is not implemented",
		      "a qwen2_moe config without q/k/v biases is refused");
	free(cfg);
}

static void test_qwen3moe(const char *hf, const char *text, const char *tmp)
{
	char dir[400], gguf[400], path[600];
	check_moe(QWEN3MOE, "qwen3moe", "qwen2", QWEN3MOE_CONFIG, hf, text, tmp, dir, gguf);
	check_info(dir, "ffn 64 in each of 8 experts, 4 a token", "M active a token");
	check_refused(dir, ENG_BACKEND_CUDA, MRL_EUNSUPPORTED, "architecture 'qwen3_moe' is not implemented on the "
		      "CUDA backend", "a qwen3_moe folder on the CUDA backend is refused");
	/* norm_topk_prob false (Qwen3MoeConfig's default) is honoured: other logits */
	snprintf(path, sizeof path, "%s/qwen3moe-edit", tmp);
	char *cfg = replaced(QWEN3MOE_CONFIG, "\"norm_topk_prob\": true", "\"norm_topk_prob\": 1");
	with_config(dir, path, cfg);
	check_refused(path, ENG_BACKEND_CPU, MRL_EINPUT, "'norm_topk_prob' must be true or false",
		      "a qwen3_moe config whose norm_topk_prob is not a boolean is refused");
	free(cfg);
	cfg = replaced(QWEN3MOE_CONFIG, "\"norm_topk_prob\": true", "\"norm_topk_prob\": false");
	with_config(dir, path, cfg);
	size_t n = 0, na = 0, nb = 0;
	char ids_path[700];
	snprintf(ids_path, sizeof ids_path, "%s/expected/qwen2/prompt0.ids.txt", hf);
	int32_t *ids = read_id_file(ids_path, &n);
	float *a = ids ? logits_of(path, 2, ids, n, &na) : NULL, *b = ids ? logits_of(dir, 2, ids, n, &nb) : NULL;
	ok(a && b && na == nb && float_max_diff(a + (n - 1) * na, b + (n - 1) * nb, na) > 1e-3,
	   "qwen3_moe with norm_topk_prob false computes unnormalized expert weights (other logits)");
	free(a);
	free(b);
	free(ids);
	free(cfg);
	cfg = replaced(QWEN3MOE_CONFIG, "\"mlp_only_layers\": []", "\"mlp_only_layers\": [1]");
	with_config(dir, path, cfg);
	check_refused(path, ENG_BACKEND_CPU, MRL_EUNSUPPORTED, "dense layers among the experts",
		      "a qwen3_moe config with dense layers (mlp_only_layers) is refused");
	free(cfg);
	snprintf(path, sizeof path, "%s/qwen3moe-noexp.gguf", tmp);
	gguf_rewrite(gguf, path, (struct gguf_edit){ .drop_key = "qwen3moe.expert_count" });
	check_refused(path, ENG_BACKEND_CPU, MRL_EINPUT, "required metadata key 'qwen3moe.expert_count' is missing",
		      "a qwen3moe GGUF without expert_count is refused");
}

static int cmp_line(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The records of items.jsonl in dir without their timings, sorted, one string; NULL on failure. */
static char *records_of(const char *dir)
{
	char path[600];
	snprintf(path, sizeof path, "%s/items.jsonl", dir);
	char *text = cli_slurp(path), *lines[512], *save = NULL, *out = NULL;
	size_t n = 0, len = 0;
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l && n < 512; l = strtok_r(NULL, "\n", &save)) {
		char *t = strstr(l, ",\"timings_ns\"");
		if (t)
			*t = '\0';
		lines[n++] = l;
		len += strlen(l) + 1;
	}
	qsort(lines, n, sizeof *lines, cmp_line);
	if (text && (out = calloc(len + 1, 1)))
		for (size_t i = 0; i < n; i++)
			strcat(strcat(out, lines[i]), "\n");
	free(text);
	return out;
}

/* merilo run's batched scoring (several sequences a forward call, each token its own experts)
 * against one unit at a time: the same records, logliks to the last bit. */
static void check_run_batches(const char *model, const char *tmp)
{
	char cmd[3000], dir[2][500], *out = NULL;
	if (!cli_merilo()) {
		skip("MERILO not set", "run --batch 32 and --batch item give the same records");
		return;
	}
	static const char *const batch[2] = { "32", "item" };
	for (int k = 0; k < 2; k++) {
		snprintf(dir[k], sizeof dir[k], "%s/run-batch-%s", tmp, batch[k]);
		snprintf(cmd, sizeof cmd, "%s run --model %s --suite tests/data/run-mini.json -o %s --batch %s --quiet",
			 cli_merilo(), model, dir[k], batch[k]);
		cli_capture(&out, cmd);
		free(out);
	}
	char *a = records_of(dir[0]), *b = records_of(dir[1]);
	ok(a && b && strlen(a) > 1000 && !strcmp(a, b), "run of a MoE model: --batch 32 and --batch item give the same "
	   "records (every choice's loglik to the last bit)");
	free(a);
	free(b);
}

/* Quantized experts in merilo synth's Mixtral layout (8 of 192, 2 a token): llama.cpp's perplexity
 * of each file, and the repacked rows (AVX-512 VNNI CPUs) give the bits of the rows read in place. */
static void test_quantized(const char *text, const char *tmp)
{
	static const char *const dtypes[] = { "q8_0", "q4_0", "f16" };
	int32_t ids[48];
	for (int i = 0; i < 48; i++)
		ids[i] = (37 * i + 5) % 700 + 3;
	mkdir(tmp, 0700);
	for (size_t k = 0; k < sizeof dtypes / sizeof dtypes[0]; k++) {
		char path[400], name[160];
		snprintf(path, sizeof path, "%s/moe-%s.gguf", tmp, dtypes[k]);
		struct eng_synth_opts o = { .preset = "tiny", .dtype = dtypes[k], .seed = 7, .n_expert = 8, .n_expert_used = 2 };
		struct mrl_err err = { 0 };
		snprintf(name, sizeof name, "merilo synth writes a %s mixture of experts", dtypes[k]);
		ok(!eng_synth(&o, path, NULL, &err), name);
		check_llamacpp(path, text, 1e-4);
		size_t na = 0, nb = 0, nc = 0;
		float *a = logits_of(path, 2, ids, 48, &na), *c = logits_of(path, 3, ids, 48, &nc);
		setenv("MERILO_NO_REPACK", "1", 1);
		float *b = logits_of(path, 1, ids, 48, &nb);
		unsetenv("MERILO_NO_REPACK");
		snprintf(name, sizeof name, "%s experts: 1, 2 and 3 threads, repacked or read in place, the same bits",
			 dtypes[k]);
		ok(a && b && c && na == nb && na == nc && !memcmp(a, b, 48 * na * sizeof *a) &&
		   !memcmp(a, c, 48 * na * sizeof *a), name);
		free(a);
		free(b);
		free(c);
		if (k == 0)
			check_run_batches(path, tmp);
	}
	/* one expert: synth writes its "3-d" tensors as [ne0, ne1] (a trailing 1 is no dimension), which
	 * is [ne0, ne1, 1] as ggml reads it: the model opens */
	char path[400];
	snprintf(path, sizeof path, "%s/moe-one.gguf", tmp);
	struct eng_synth_opts o = { .preset = "tiny", .dtype = "f32", .seed = 7, .n_expert = 1, .n_expert_used = 1 };
	struct mrl_err err = { 0 };
	size_t nv = 0;
	float *lg = eng_synth(&o, path, NULL, &err) ? NULL : logits_of(path, 1, ids, 48, &nv);
	ok(lg != NULL, "a one-expert synth model (2-d ffn_*_exps tensors) opens and runs");
	free(lg);
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
	snprintf(tmp, sizeof tmp, "/tmp/merilo-eng-moe-%d", (int)getpid());
	TEST(test_mixtral(hf, text, tmp), "Mixtral (llama with 4 experts, 2 a token)");
	TEST(test_qwen3moe(hf, text, tmp), "Qwen3-MoE (q/k norms, 8 experts of 64, 4 a token, renormalized)");
	TEST(test_qwen2moe(hf, text, tmp), "Qwen2-MoE (8 experts of 64, 4 a token, unnormalized, a gated shared expert)");
	TEST(test_quantized(text, tmp), "quantized experts (q8_0, q4_0, f16) against llama.cpp; repacked or not");
	cli_rmtree(tmp);
	return done_testing();
}
