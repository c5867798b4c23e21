/* lora.c — a PEFT LoRA adapter on a model's weights (an HF folder, or llama.cpp's GGUF
 * conversion of it), applied as it runs.
 *
 * An adapter folder (adapter_config.json + adapter_model.safetensors, as PEFT's
 * save_pretrained writes them) holds, for each adapted linear layer W (in -> out), a pair
 * lora_A (r x in) and lora_B (out x r); the layer then computes
 *   y = W x + scale * B (A x),   scale = lora_alpha / r   (lora_alpha / sqrt(r) with use_rslora),
 * in that order, as PEFT's unmerged forward (base_layer(x) + lora_B(lora_A(x)) * scaling).
 * The base weights stay as they are (mapped, repacked or not): each adapted matrix of the
 * model carries a pointer to its pair (eng_tensor.lora) and forward.c's matmul adds the
 * product. A fused matrix (Phi-3's qkv_proj and gate_up_proj) has one pair whose B rows
 * are cut as the matrix is. The pairs are read into f32.
 *
 * Taken: q/k/v/o, gate/up/down (and their fused forms) of every architecture's HF names.
 * On a GGUF base the adapter's HF names are mapped through the model_type row its
 * architecture was converted from (hf_arch_of), and on a llama GGUF the q/k pairs' B rows
 * are permuted as llama.cpp's converter permutes those weights.
 * Refused by name: any other target (embeddings, the output matrix, routers, experts),
 * DoRA, fan_in_fan_out (GPT-2's Conv1D), biases, modules_to_save, per-module rank or alpha
 * patterns, trainable tokens.
 */
#include "engine/hf_int.h"
#include "engine/safetensors.h"
#include "common/fileio.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/types.h"

struct eng_lora_set {
	char *dir;
	uint32_t r;
	float alpha, scale;
	bool rslora;
	struct eng_lora *v;    /* one per adapted matrix (a fused one's parts each) */
	size_t n, cap;
	size_t n_modules;      /* A/B pairs in the file */
	float **owned;         /* the pairs in f32 */
	size_t n_owned;
	char *files[2];        /* adapter_config.json, adapter_model.safetensors: full paths */
};

/* Config fields that change the math and are not implemented: their non-default values. */
static int config_check(const json_t *c, const char *path, struct mrl_err *err)
{
	static const char *const must_false[] = { "use_dora", "fan_in_fan_out", "lora_bias", "use_qalora",
						  "use_bdlora" };
	static const char *const must_empty[] = { "modules_to_save", "rank_pattern", "alpha_pattern",
						  "trainable_token_indices", "target_parameters", "layer_replication" };
	const char *type = json_string_value(json_object_get(c, "peft_type"));
	if (type && strcmp(type, "LORA"))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: peft_type '%.32s' is not implemented (only LORA)", path, type);
	for (size_t i = 0; i < sizeof must_false / sizeof must_false[0]; i++)
		if (json_is_true(json_object_get(c, must_false[i])))
			return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: '%s': true is not implemented", path, must_false[i]);
	for (size_t i = 0; i < sizeof must_empty / sizeof must_empty[0]; i++) {
		const json_t *v = json_object_get(c, must_empty[i]);
		if (v && !json_is_null(v) && !((json_is_object(v) && !json_object_size(v)) ||
					       (json_is_array(v) && !json_array_size(v))))
			return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: '%s' is not implemented (it must be empty)", path,
					   must_empty[i]);
	}
	const char *bias = json_string_value(json_object_get(c, "bias"));
	if (bias && strcmp(bias, "none"))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: 'bias': '%.32s' is not implemented (only none)", path, bias);
	return 0;
}

static int config_load(struct eng_lora_set *s, const char *path, struct mrl_err *err)
{
	int rc = 0;
	json_t *c = hf_load_json(path, err, &rc);
	if (!c)
		return rc;
	const json_t *r = json_object_get(c, "r"), *alpha = json_object_get(c, "lora_alpha"),
		     *rs = json_object_get(c, "use_rslora");
	if ((rc = config_check(c, path, err)))
		goto out;
	if (!json_is_integer(r) || json_integer_value(r) < 1 || json_integer_value(r) > 65536 ||
	    (alpha && !json_is_number(alpha)) || (rs && !json_is_boolean(rs))) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: 'r' must be an integer in 1..65536, 'lora_alpha' a number and "
				 "'use_rslora' true or false", path);
		goto out;
	}
	s->r = (uint32_t)json_integer_value(r);
	s->alpha = alpha ? (float)json_number_value(alpha) : 8.0f; /* LoraConfig's default */
	s->rslora = json_is_true(rs);
	s->scale = s->rslora ? s->alpha / sqrtf((float)s->r) : s->alpha / (float)s->r;
out:
	json_decref(c);
	return rc;
}

/* The tensor's data as rows x cols floats, owned by s; NULL (err set) when it is not that shape. */
static float *pair_f32(struct eng_lora_set *s, const struct st_tensor *t, uint64_t rows, uint64_t cols,
		       const char *path, struct mrl_err *err)
{
	if (t->n_dims != 2 || t->shape[0] != rows || t->shape[1] != cols) {
		mrl_err_set(err, MRL_EINPUT, "%s: tensor '%.200s' has shape [%" PRIu64 ", %" PRIu64 "], expected [%" PRIu64
			    ", %" PRIu64 "]", path, t->name, t->n_dims ? t->shape[0] : 0, t->n_dims > 1 ? t->shape[1] : 0,
			    rows, cols);
		return NULL;
	}
	float **o = realloc(s->owned, (s->n_owned + 1) * sizeof *o);
	float *f = o ? malloc(rows * cols * sizeof *f + 4) : NULL;
	if (o)
		s->owned = o;
	if (!f) {
		mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	s->owned[s->n_owned++] = f;
	const unsigned char *p = t->data;
	for (uint64_t i = 0; i < rows * cols; i++) {
		if (t->type == ENG_TYPE_F32) {
			memcpy(&f[i], p + 4 * i, 4);
			continue;
		}
		uint16_t u = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
		f[i] = t->type == ENG_TYPE_BF16 ? eng_bf16_to_f32(u) : eng_f16_to_f32(u);
	}
	return f;
}

static struct eng_tensor f32_matrix(const float *f, uint64_t ne0, uint64_t ne1)
{
	struct eng_tensor t = { .data = f, .type = ENG_TYPE_F32, .ne0 = ne0, .ne1 = ne1, .row_bytes = ne0 * 4 };
	return t;
}

/* The matrices of a layer that GGUF name suffix names: one, or a fused one's parts (at most 3)
 * with the first row of each in B's rows; 0 where none of the model's matrices has the name. */
static size_t targets(struct eng_layer *L, const struct eng_config *cfg, const char *suffix, struct eng_tensor **t,
		      uint64_t *row0)
{
	if (cfg->fused_qkv && !strcmp(suffix, "attn_qkv.weight")) {
		t[0] = &L->wq, t[1] = &L->wk, t[2] = &L->wv;
		row0[0] = 0, row0[1] = cfg->n_embd_q, row0[2] = (uint64_t)cfg->n_embd_q + cfg->n_embd_kv;
		return 3;
	}
	if (cfg->fused_gate_up && !strcmp(suffix, "ffn_up.weight")) {
		t[0] = &L->ffn_gate, t[1] = &L->ffn_up;
		row0[0] = 0, row0[1] = cfg->n_ff;
		return 2;
	}
	struct {
		const char *name;
		struct eng_tensor *t;
	} plain[] = { { "attn_q.weight", &L->wq }, { "attn_k.weight", &L->wk }, { "attn_v.weight", &L->wv },
		      { "attn_output.weight", &L->wo }, { "ffn_gate.weight", &L->ffn_gate },
		      { "ffn_up.weight", &L->ffn_up }, { "ffn_down.weight", &L->ffn_down } };
	for (size_t i = 0; i < sizeof plain / sizeof plain[0]; i++)
		if (!strcmp(suffix, plain[i].name) && !(cfg->fused_qkv && i < 3) && plain[i].t->data) {
			t[0] = plain[i].t;
			row0[0] = 0;
			return 1;
		}
	return 0;
}

/* B's rows (n_out of r) in the order llama.cpp's converter writes a llama q or k projection
 * (LlamaModel.permute): within each of n_head heads, the halves' rows interleaved, so that
 * rope's pairs are adjacent. */
static void permute_rows(float *b, uint64_t n_out, uint32_t r, uint32_t n_head, float *tmp)
{
	const uint64_t hd = n_out / n_head, half = hd / 2;
	memcpy(tmp, b, n_out * r * sizeof *b);
	for (uint64_t h = 0; h < n_head; h++)
		for (uint64_t s = 0; s < 2; s++)
			for (uint64_t i = 0; i < half; i++)
				memcpy(b + (h * hd + 2 * i + s) * r, tmp + (h * hd + s * half + i) * r, r * sizeof *b);
}

/* The pair of HF module `module` (A, B as stored) onto the model's matrices. */
static int attach(struct eng_model *m, struct eng_lora_set *s, const char *module, const struct st_tensor *a,
		  const struct st_tensor *b, const char *path, struct mrl_err *err)
{
	char hf_name[320], gg[128];
	unsigned flags = 0, il;
	int used = 0;
	snprintf(hf_name, sizeof hf_name, "%s.weight", module);
	struct eng_tensor *t[3];
	uint64_t row0[3];
	size_t n = 0;
	const struct hf_arch *arch = m->hf ? eng_hf_arch(m->hf) : hf_arch_of(m->cfg.arch_name);
	if (arch && !hf_map_name(arch, hf_name, gg, sizeof gg, &flags) && !flags &&
	    sscanf(gg, "blk.%u.%n", &il, &used) == 1 && used > 0 && il < m->cfg.n_layer)
		n = targets(&m->w.layers[il], &m->cfg, gg + used, t, row0);
	if (!n)
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: a LoRA on '%.200s' is not implemented (merilo adapts the "
				   "attention's q/k/v/o and the FFN's gate/up/down matrices)", path, module);
	const uint64_t in = t[0]->ne0, out = row0[n - 1] + t[n - 1]->ne1;
	const float *fa = pair_f32(s, a, s->r, in, path, err);
	float *fb = fa ? pair_f32(s, b, out, s->r, path, err) : NULL;
	if (!fb)
		return err->code;
	/* a llama GGUF's q and k rows are permuted against the HF ones the pair was trained on */
	const bool q = !strcmp(gg + used, "attn_q.weight"), k = !strcmp(gg + used, "attn_k.weight");
	if (!m->hf && m->cfg.rope == ENG_ROPE_NORM && (q || k)) {
		float *tmp = malloc(out * s->r * sizeof *tmp);
		if (!tmp)
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
		permute_rows(fb, out, s->r, q ? m->cfg.n_head : m->cfg.n_head_kv, tmp);
		free(tmp);
	}
	if (s->n + n > s->cap) /* sized for three parts a pair before any (eng_lora_open) */
		return mrl_err_set(err, MRL_EINPUT, "%s: more LoRA targets than pairs allow", path);
	for (size_t k = 0; k < n; k++) {
		if (t[k]->lora)
			return mrl_err_set(err, MRL_EINPUT, "%s: two LoRA pairs for '%.200s'", path, module);
		struct eng_lora *l = &s->v[s->n++];
		l->a = f32_matrix(fa, in, s->r);
		l->b = f32_matrix(fb + row0[k] * s->r, s->r, t[k]->ne1);
		l->scale = s->scale;
		t[k]->lora = l;
	}
	return 0;
}

/* The module names of file's A/B pairs: "base_model.model." + module + ".lora_A.weight". */
static int pairs_attach(struct eng_model *m, struct eng_lora_set *s, const struct st_tensor *tt, size_t nt,
			const char *path, struct mrl_err *err)
{
	static const char prefix[] = "base_model.model.", suf_a[] = ".lora_A.weight", suf_b[] = ".lora_B.weight";
	int rc = 0;
	for (size_t i = 0; !rc && i < nt; i++) {
		const char *name = tt[i].name;
		const size_t len = strlen(name), pl = sizeof prefix - 1, sl = sizeof suf_a - 1;
		if (len > pl + sl && !strncmp(name, prefix, pl) && !strcmp(name + len - sl, suf_b))
			continue; /* found from its A */
		if (len <= pl + sl || strncmp(name, prefix, pl) || strcmp(name + len - sl, suf_a))
			return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: tensor '%.200s' is not a LoRA pair as merilo "
					   "applies them (base_model.model.<module>.lora_A/lora_B.weight)", path, name);
		char module[300], bname[340];
		snprintf(module, sizeof module, "%.*s", (int)(len - pl - sl), name + pl);
		snprintf(bname, sizeof bname, "%s%s%s", prefix, module, suf_b);
		const struct st_tensor *b = NULL;
		for (size_t j = 0; j < nt && !b; j++)
			if (!strcmp(tt[j].name, bname))
				b = &tt[j];
		if (!b)
			return mrl_err_set(err, MRL_EINPUT, "%s: tensor '%.200s' has no lora_B beside it", path, name);
		rc = attach(m, s, module, &tt[i], b, path, err);
		s->n_modules++;
	}
	return rc;
}

int eng_lora_open(struct eng_model *m, const char *dir, struct mrl_err *err)
{
	struct eng_lora_set *s = calloc(1, sizeof *s);
	if (!s || !(s->dir = strdup(dir)))
		return free(s), mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
	m->lora = s;
	char path[4200];
	snprintf(path, sizeof path, "%s/adapter_config.json", dir);
	int rc = config_load(s, path, err);
	s->files[0] = strdup(path);
	snprintf(path, sizeof path, "%s/adapter_model.safetensors", dir);
	s->files[1] = strdup(path);
	size_t size = 0;
	char *buf = NULL;
	struct st_tensor *tt = NULL;
	size_t nt = 0;
	if (!rc && !(s->files[0] && s->files[1]))
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
	if (!rc)
		rc = mrl_read_file(path, (size_t)1 << 34, &buf, &size, err);
	if (!rc)
		rc = st_parse(buf, size, path, &tt, &nt, err);
	s->cap = 3 * nt; /* at most three matrices a tensor (a fused one's parts); pairs are two tensors */
	if (!rc && nt && !(s->v = calloc(s->cap, sizeof *s->v)))
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
	if (!rc)
		rc = pairs_attach(m, s, tt, nt, path, err);
	if (!rc && s->n == 0)
		rc = mrl_err_set(err, MRL_EINPUT, "%s: no LoRA pairs", path);
	st_tensors_free(tt, nt);
	free(buf);
	return rc;
}

void eng_lora_close(struct eng_model *m)
{
	struct eng_lora_set *s = m->lora;
	if (!s)
		return;
	for (size_t i = 0; i < s->n_owned; i++)
		free(s->owned[i]);
	free(s->owned);
	free(s->v);
	free(s->files[0]);
	free(s->files[1]);
	free(s->dir);
	free(s);
	m->lora = NULL;
}

void eng_lora_describe(const struct eng_model *m, struct eng_model_desc *d)
{
	const struct eng_lora_set *s = m->lora;
	if (!s)
		return;
	d->lora_dir = s->dir;
	d->lora_rank = s->r;
	d->lora_alpha = s->alpha;
	d->lora_scale = s->scale;
	d->lora_modules = s->n_modules;
}

const char *eng_model_adapter_file(const struct eng_model *m, size_t i)
{
	return m->lora && i < 2 ? m->lora->files[i] : NULL;
}
