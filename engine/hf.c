/* hf.c — Hugging Face checkpoint folders: config.json + safetensors.
 *
 * config.json becomes a struct eng_config (the same one GGUF metadata gives)
 * and the HF tensor names become GGUF names, so the weights bind and the
 * forward pass run exactly as for a GGUF: an HF folder is another way in, not
 * another engine. HF stores Q/K unpermuted, so its rope is the NeoX (halves)
 * layout. Every field that changes the math is read and checked; one merilo
 * does not implement (a rope_scaling type other than llama3, a sliding window,
 * biases llama does not have) is an error that names it. Llama 3.1's rope
 * scaling becomes the rope_freqs.weight factors a GGUF conversion carries.
 * Tensors stay in the mmap'd files where they can (zero copy); norm weights
 * and biases that are not f32, and data not aligned to its element size, are
 * widened/copied into buffers owned here.
 */
#include "engine/eng_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/json.h"
#include "engine/safetensors.h"
#include "engine/types.h"

#define HF_MAX_JSON (16u << 20) /* config.json and the index: far below this */
#define HF_MAX_SHARDS 4096

struct hf_shard {
	void *map;
	size_t size;
	struct st_tensor *t;
	size_t n;
	char *path;
	int fd;                   /* kept open to notice changes (eng_hf_check_files); -1 when none */
	struct stat st;           /* fstat of fd when it was mapped */
};

struct eng_hf {
	struct hf_shard *shards;
	size_t n_shards;
	struct gguf_tensor *gt;   /* under GGUF names (owned strings in gt_names) */
	char **gt_names;
	size_t n_gt;
	void **owned;             /* widened/copied tensor data */
	size_t n_owned;
	char **files;             /* the folder's files read, sorted (eng_hf_file) */
	size_t n_files;
};

size_t eng_hf_n_tensors(const struct eng_hf *h)
{
	size_t n = 0;
	for (size_t s = 0; s < h->n_shards; s++)
		n += h->shards[s].n;
	return n;
}

void eng_hf_tensor_info(const struct eng_hf *h, size_t i, struct eng_tensor_info *out)
{
	memset(out, 0, sizeof *out);
	for (size_t s = 0; s < h->n_shards; s++) {
		if (i >= h->shards[s].n) {
			i -= h->shards[s].n;
			continue;
		}
		const struct st_tensor *t = &h->shards[s].t[i];
		out->name = t->name;
		out->type_name = eng_type_name(t->type);
		out->n_dims = t->n_dims;
		for (int k = 0; k < 4; k++)
			out->ne[k] = k < (int)t->n_dims ? t->shape[t->n_dims - 1 - k] : 1;
		out->nbytes = t->nbytes;
		return;
	}
}

uint64_t eng_hf_file_bytes(const struct eng_hf *h)
{
	uint64_t n = 0;
	for (size_t s = 0; s < h->n_shards; s++)
		n += h->shards[s].size;
	return n;
}

const char *eng_hf_file(const struct eng_hf *h, size_t i)
{
	return i < h->n_files ? h->files[i] : NULL;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The files of the model: the shards, config.json, and the index and tokenizer files that exist. */
static int list_files(struct eng_hf *h, const char *dir, char **shards, size_t n_shards, struct mrl_err *err)
{
	static const char *const extra[] = { "config.json", "model.safetensors.index.json", "tokenizer.json",
					     "tokenizer_config.json" };
	h->files = calloc(n_shards + 4, sizeof *h->files);
	if (!h->files)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
	for (size_t i = 0; i < n_shards; i++)
		if (!(h->files[h->n_files++] = strdup(shards[i])))
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
	for (size_t i = 0; i < 4; i++) {
		char p[4096];
		struct stat st;
		snprintf(p, sizeof p, "%s/%s", dir, extra[i]);
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode) && !(h->files[h->n_files++] = strdup(extra[i])))
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
	}
	qsort(h->files, h->n_files, sizeof *h->files, cmp_str);
	return 0;
}

bool eng_hf_is_checkpoint(const char *dir)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof p, "%s/config.json", dir);
	if (stat(p, &st) || !S_ISREG(st.st_mode))
		return false;
	snprintf(p, sizeof p, "%s/model.safetensors", dir);
	if (stat(p, &st) == 0)
		return true;
	snprintf(p, sizeof p, "%s/model.safetensors.index.json", dir);
	return stat(p, &st) == 0;
}

static json_t *load_json(const char *path, struct mrl_err *err, int *rc)
{
	FILE *f = fopen(path, "rb");
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

/* ---- config.json ---- */

struct hf_arch {
	const char *model_type;
	enum eng_arch_id id;
	const char *arch_name;
	bool qkv_bias;
};

static const struct hf_arch hf_archs[] = {
	{ "llama", ENG_ARCH_LLAMA, "llama", false },
	{ "qwen2", ENG_ARCH_QWEN2, "qwen2", true },
	/* Mistral is Llama plus a sliding window (config.sliding_window) */
	{ "mistral", ENG_ARCH_LLAMA, "mistral", false },
};

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

/* Fields whose non-default values change the math and are not implemented. */
static int refuse_true(const json_t *c, const char *key, const char *path, struct mrl_err *err)
{
	if (json_is_true(json_object_get(c, key)))
		return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: '%s': true is not implemented", path, key);
	return 0;
}

/* Llama 3.1 rope scaling (rope_type "llama3"), as transformers'
 * _compute_llama3_parameters: per rotated pair a divisor of the angle. */
struct llama3_rope {
	bool on;
	double factor, low_freq_factor, high_freq_factor, original_max;
};

static int llama3_params(const json_t *rs, struct llama3_rope *r, const char *path, struct mrl_err *err)
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

/* n_rot/2 divisors into f: 1 for short wavelengths, factor for long ones, smooth between. */
static void llama3_factors(const struct llama3_rope *r, float base, uint32_t n_rot, float *f)
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

static int config_load(struct eng_config *cfg, bool *tied, struct llama3_rope *l3, const char *dir,
		       struct mrl_err *err)
{
	memset(l3, 0, sizeof *l3);
	char path[4096];
	snprintf(path, sizeof path, "%s/config.json", dir);
	int rc = 0;
	json_t *c = load_json(path, err, &rc);
	if (!c)
		return rc;
	memset(cfg, 0, sizeof *cfg);
	const char *mt = json_string_value(json_object_get(c, "model_type"));
	const struct hf_arch *a = NULL;
	for (size_t i = 0; mt && i < sizeof hf_archs / sizeof hf_archs[0]; i++)
		if (!strcmp(mt, hf_archs[i].model_type))
			a = &hf_archs[i];
	if (!a) {
		rc = mt ? mrl_err_set(err, MRL_EUNSUPPORTED, "%s: unsupported model_type '%.64s' (supported: llama, qwen2, mistral)",
				      path, mt)
			: mrl_err_set(err, MRL_EINPUT, "%s: required string field 'model_type' is missing", path);
		goto out;
	}
	cfg->arch = a->id;
	cfg->arch_name = a->arch_name;
	cfg->norm = ENG_NORM_RMS;
	cfg->ffn = ENG_FFN_SWIGLU;
	cfg->rope = ENG_ROPE_NEOX;
	cfg->qkv_bias = a->qkv_bias;
	cfg->rope_freq_base = 10000.0f;
	if ((rc = cfg_u32(c, "hidden_size", &cfg->n_embd, true, path, err)) ||
	    (rc = cfg_u32(c, "num_hidden_layers", &cfg->n_layer, true, path, err)) ||
	    (rc = cfg_u32(c, "num_attention_heads", &cfg->n_head, true, path, err)) ||
	    (rc = cfg_u32(c, "intermediate_size", &cfg->n_ff, true, path, err)) ||
	    (rc = cfg_u32(c, "vocab_size", &cfg->n_vocab, true, path, err)) ||
	    (rc = cfg_u32(c, "max_position_embeddings", &cfg->n_ctx_train, true, path, err)))
		goto out;
	cfg->n_head_kv = cfg->n_head;
	if ((rc = cfg_u32(c, "num_key_value_heads", &cfg->n_head_kv, false, path, err)))
		goto out;
	if (cfg->n_head % cfg->n_head_kv || cfg->n_embd % cfg->n_head) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: num_key_value_heads %" PRIu32 " must divide num_attention_heads %"
				 PRIu32 ", which must divide hidden_size %" PRIu32, path, cfg->n_head_kv, cfg->n_head,
				 cfg->n_embd);
		goto out;
	}
	cfg->head_dim = cfg->n_embd / cfg->n_head;
	if ((rc = cfg_u32(c, "head_dim", &cfg->head_dim, false, path, err)))
		goto out;
	if (cfg->head_dim % 2 || cfg->head_dim > 4096 || cfg->n_embd > (1u << 16) || cfg->n_ff > (1u << 20) ||
	    cfg->n_layer > 4096 || cfg->n_head > 4096) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: implausible sizes (hidden %" PRIu32 ", intermediate %" PRIu32
				 ", layers %" PRIu32 ", heads %" PRIu32 ", head_dim %" PRIu32 ")", path, cfg->n_embd,
				 cfg->n_ff, cfg->n_layer, cfg->n_head, cfg->head_dim);
		goto out;
	}
	cfg->n_rot = cfg->head_dim;
	cfg->n_embd_q = cfg->n_head * cfg->head_dim;
	cfg->n_embd_kv = cfg->n_head_kv * cfg->head_dim;
	cfg->norm_eps = -1.0f;
	if ((rc = cfg_f32(c, "rms_norm_eps", &cfg->norm_eps, path, err)))
		goto out;
	if (!(cfg->norm_eps >= 0.0f && cfg->norm_eps < 1.0f)) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: field 'rms_norm_eps' is missing or out of range", path);
		goto out;
	}
	/* rope: classic top-level rope_theta / rope_scaling, or transformers 5's rope_parameters */
	const json_t *rp = json_object_get(c, "rope_parameters");
	const json_t *rs = json_object_get(c, "rope_scaling");
	if ((rc = cfg_f32(c, "rope_theta", &cfg->rope_freq_base, path, err)))
		goto out;
	if (json_is_object(rp)) {
		if ((rc = cfg_f32(rp, "rope_theta", &cfg->rope_freq_base, path, err)))
			goto out;
		if (!rs || json_is_null(rs))
			rs = rp;
	}
	if (!(cfg->rope_freq_base > 0.0f)) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: rope_theta must be positive", path);
		goto out;
	}
	if (rs && !json_is_null(rs)) {
		const char *rt = json_string_value(json_object_get(rs, "rope_type"));
		if (!rt)
			rt = json_string_value(json_object_get(rs, "type"));
		if (rt && !strcmp(rt, "llama3")) {
			if ((rc = llama3_params(rs, l3, path, err)))
				goto out;
		} else if (!rt || strcmp(rt, "default")) {
			rc = mrl_err_set(err, MRL_EUNSUPPORTED, "%s: rope_scaling type '%.64s' is not implemented "
					 "(supported: default, llama3)", path, rt ? rt : "(none)");
			goto out;
		}
	}
	const char *act = json_string_value(json_object_get(c, "hidden_act"));
	if (act && strcmp(act, "silu")) {
		rc = mrl_err_set(err, MRL_EUNSUPPORTED, "%s: hidden_act '%.64s' is not implemented (only silu)", path,
				 act);
		goto out;
	}
	if ((rc = refuse_true(c, "attention_bias", path, err)) || (rc = refuse_true(c, "mlp_bias", path, err)) ||
	    (rc = refuse_true(c, "use_sliding_window", path, err)))
		goto out;
	/* Qwen2 writes its window even when use_sliding_window is false (refused above), and then it is unused */
	if (a->id != ENG_ARCH_QWEN2 && (rc = cfg_u32(c, "sliding_window", &cfg->sliding_window, false, path, err)))
		goto out;
	const json_t *tp = json_object_get(c, "pretraining_tp");
	if (tp && !(json_is_integer(tp) && json_integer_value(tp) == 1)) {
		rc = mrl_err_set(err, MRL_EUNSUPPORTED, "%s: 'pretraining_tp' other than 1 is not implemented", path);
		goto out;
	}
	*tied = json_is_true(json_object_get(c, "tie_word_embeddings"));
out:
	json_decref(c);
	return rc;
}

/* ---- tensors ---- */

/* The GGUF name of an HF tensor name into out; 0 when mapped, 1 when the
 * tensor is to be ignored, -1 when unknown. */
static int map_name(const char *hf, char *out, size_t size)
{
	static const struct { const char *hf, *gg; } top[] = {
		{ "model.embed_tokens.weight", "token_embd.weight" },
		{ "model.norm.weight", "output_norm.weight" },
		{ "lm_head.weight", "output.weight" },
	};
	static const struct { const char *hf, *gg; } layer[] = {
		{ "input_layernorm.weight", "attn_norm.weight" },
		{ "self_attn.q_proj.weight", "attn_q.weight" },
		{ "self_attn.k_proj.weight", "attn_k.weight" },
		{ "self_attn.v_proj.weight", "attn_v.weight" },
		{ "self_attn.o_proj.weight", "attn_output.weight" },
		{ "self_attn.q_proj.bias", "attn_q.bias" },
		{ "self_attn.k_proj.bias", "attn_k.bias" },
		{ "self_attn.v_proj.bias", "attn_v.bias" },
		{ "self_attn.o_proj.bias", "attn_output.bias" },
		{ "post_attention_layernorm.weight", "ffn_norm.weight" },
		{ "mlp.gate_proj.weight", "ffn_gate.weight" },
		{ "mlp.up_proj.weight", "ffn_up.weight" },
		{ "mlp.down_proj.weight", "ffn_down.weight" },
	};
	for (size_t i = 0; i < sizeof top / sizeof top[0]; i++)
		if (!strcmp(hf, top[i].hf)) {
			snprintf(out, size, "%s", top[i].gg);
			return 0;
		}
	unsigned il;
	int used = 0;
	if (sscanf(hf, "model.layers.%u.%n", &il, &used) == 1 && used > 0 && il < 100000) {
		const char *rest = hf + used;
		if (!strcmp(rest, "self_attn.rotary_emb.inv_freq"))
			return 1; /* older checkpoints store the rope table; it is recomputed */
		for (size_t i = 0; i < sizeof layer / sizeof layer[0]; i++)
			if (!strcmp(rest, layer[i].hf)) {
				snprintf(out, size, "blk.%u.%s", il, layer[i].gg);
				return 0;
			}
	}
	return -1;
}

static int map_shard(struct hf_shard *s, const char *path, struct mrl_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return mrl_err_set(err, MRL_EIO, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size < 8) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: file too short (%lld bytes) for safetensors", path,
				 (long long)st.st_size);
		goto out;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		rc = mrl_err_set(err, errno == ENOMEM ? MRL_ENOMEM : MRL_EIO, "%s: cannot map: %s", path, strerror(errno));
		goto out;
	}
	s->map = p;
	s->size = (size_t)st.st_size;
	if ((rc = st_parse(p, s->size, path, &s->t, &s->n, err)))
		goto out;
	if (!(s->path = strdup(path))) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	s->fd = fd;
	s->st = st;
	return 0;
out:
	close(fd);
	return rc;
}

int eng_hf_check_files(const struct eng_hf *h, struct mrl_err *err)
{
	for (size_t i = 0; i < h->n_shards; i++)
		if (h->shards[i].fd >= 0 && eng_file_unchanged(h->shards[i].path, h->shards[i].fd, &h->shards[i].st, err))
			return err->code;
	return 0;
}

int eng_hf_mapping(const struct eng_hf *h, size_t i, const void **base, size_t *size, const char **path)
{
	if (i >= h->n_shards || !h->shards[i].map)
		return -1;
	*base = h->shards[i].map;
	*size = h->shards[i].size;
	*path = h->shards[i].path;
	return 0;
}

/* A shard's file name from the index: a plain name in the folder. */
static bool plain_name(const char *s)
{
	size_t n = strlen(s);
	return n > 12 && n < 256 && !strchr(s, '/') && s[0] != '.' && !strcmp(s + n - 12, ".safetensors");
}

static int list_shards(const char *dir, char ***names, size_t *n, struct mrl_err *err)
{
	char path[4096];
	struct stat st;
	*names = NULL;
	*n = 0;
	snprintf(path, sizeof path, "%s/model.safetensors.index.json", dir);
	if (stat(path, &st) != 0) {
		*names = calloc(1, sizeof **names);
		if (!*names || !((*names)[0] = strdup("model.safetensors")))
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
		*n = 1;
		return 0;
	}
	int rc = 0;
	json_t *ix = load_json(path, err, &rc);
	if (!ix)
		return rc;
	const json_t *wm = json_object_get(ix, "weight_map");
	if (!json_is_object(wm) || json_object_size(wm) == 0) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: 'weight_map' must be a non-empty object", path);
		goto out;
	}
	*names = calloc(json_object_size(wm), sizeof **names);
	if (!*names) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	const char *key;
	const json_t *v;
	json_object_foreach((json_t *)wm, key, v) {
		const char *f = json_string_value(v);
		if (!f || !plain_name(f)) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s: tensor '%.200s' maps to %s, expected a .safetensors file "
					 "name in the folder", path, key, f ? "a path" : "a non-string");
			goto out;
		}
		bool seen = false;
		for (size_t i = 0; i < *n && !seen; i++)
			seen = !strcmp((*names)[i], f);
		if (seen)
			continue;
		if (*n >= HF_MAX_SHARDS) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s: more than %d shards", path, HF_MAX_SHARDS);
			goto out;
		}
		if (!((*names)[(*n)++] = strdup(f))) {
			rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
			goto out;
		}
	}
out:
	json_decref(ix);
	return rc;
}

/* Keep data, or a copy the engine may read: f32 for 1-D tensors (norms,
 * biases), and element-aligned for everything. */
static int settle_data(struct eng_hf *h, struct gguf_tensor *g, const struct st_tensor *t, const char *path,
		       struct mrl_err *err)
{
	size_t esize = t->type == ENG_TYPE_F32 ? 4 : 2;
	bool widen = t->n_dims == 1 && t->type != ENG_TYPE_F32;
	bool misaligned = (uintptr_t)t->data % esize != 0;
	g->data = t->data;
	g->nbytes = t->nbytes;
	g->type = t->type;
	if (!widen && !misaligned)
		return 0;
	uint64_t n_el = t->nbytes / esize;
	void *buf = malloc(widen ? n_el * 4 + 4 : t->nbytes + 4);
	void **no = realloc(h->owned, (h->n_owned + 1) * sizeof *no);
	if (!buf || !no) {
		free(buf);
		if (no)
			h->owned = no;
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
	}
	h->owned = no;
	h->owned[h->n_owned++] = buf;
	if (widen) {
		float *f = buf;
		const unsigned char *p = t->data;
		for (uint64_t i = 0; i < n_el; i++) {
			uint16_t u = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
			f[i] = t->type == ENG_TYPE_BF16 ? eng_bf16_to_f32(u) : eng_f16_to_f32(u);
		}
		g->type = ENG_TYPE_F32;
		g->nbytes = n_el * 4;
	} else {
		memcpy(buf, t->data, t->nbytes);
	}
	g->data = buf;
	return 0;
}

void eng_hf_close(struct eng_hf *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n_shards; i++) {
		st_tensors_free(h->shards[i].t, h->shards[i].n);
		if (h->shards[i].map)
			munmap(h->shards[i].map, h->shards[i].size);
		if (h->shards[i].fd >= 0)
			close(h->shards[i].fd);
		free(h->shards[i].path);
	}
	for (size_t i = 0; i < h->n_gt; i++)
		free(h->gt_names[i]);
	for (size_t i = 0; i < h->n_owned; i++)
		free(h->owned[i]);
	for (size_t i = 0; i < h->n_files; i++)
		free(h->files[i]);
	free(h->files);
	free(h->owned);
	free(h->gt_names);
	free(h->gt);
	free(h->shards);
	free(h);
}

const struct gguf_tensor *eng_hf_find(const void *src, const char *name)
{
	const struct eng_hf *h = src;
	for (size_t i = 0; i < h->n_gt; i++)
		if (!strcmp(h->gt_names[i], name))
			return &h->gt[i];
	return NULL;
}

int eng_hf_open(struct eng_hf **out, struct eng_config *cfg, const char *dir, struct mrl_err *err)
{
	*out = NULL;
	bool tied = false;
	struct llama3_rope l3;
	int rc = config_load(cfg, &tied, &l3, dir, err);
	if (rc)
		return rc;
	char **names = NULL;
	size_t n_names = 0;
	struct eng_hf *h = calloc(1, sizeof *h);
	if (!h)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
	if ((rc = list_shards(dir, &names, &n_names, err)))
		goto out;
	if (!(h->shards = calloc(n_names, sizeof *h->shards))) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
		goto out;
	}
	for (size_t i = 0; i < n_names; i++)
		h->shards[i].fd = -1;
	if ((rc = list_files(h, dir, names, n_names, err)))
		goto out;
	size_t total = 0;
	char path[4096];
	for (size_t i = 0; i < n_names; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		h->n_shards = i + 1;
		if ((rc = map_shard(&h->shards[i], path, err)))
			goto out;
		total += h->shards[i].n;
	}
	total += 1; /* rope_freqs.weight, made here for llama3 scaling */
	h->gt = calloc(total, sizeof *h->gt);
	h->gt_names = calloc(total, sizeof *h->gt_names);
	if (!h->gt || !h->gt_names) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
		goto out;
	}
	for (size_t s = 0; s < h->n_shards; s++) {
		snprintf(path, sizeof path, "%s/%s", dir, names[s]);
		for (size_t i = 0; i < h->shards[s].n; i++) {
			const struct st_tensor *t = &h->shards[s].t[i];
			char gname[128];
			int m = map_name(t->name, gname, sizeof gname);
			if (m == 1)
				continue;
			if (m < 0) {
				rc = mrl_err_set(err, MRL_EUNSUPPORTED, "%s: tensor '%.200s' is not part of a %s model as "
						 "merilo runs it", path, t->name, cfg->arch_name);
				goto out;
			}
			if (eng_hf_find(h, gname)) {
				rc = mrl_err_set(err, MRL_EINPUT, "%s: tensor '%.200s' appears twice", path, t->name);
				goto out;
			}
			if (t->n_dims < 1 || t->n_dims > 2) {
				rc = mrl_err_set(err, MRL_EINPUT, "%s: tensor '%.200s' has %u dimensions, expected 1 or 2",
						 path, t->name, t->n_dims);
				goto out;
			}
			struct gguf_tensor *g = &h->gt[h->n_gt];
			if (!(h->gt_names[h->n_gt] = strdup(gname))) {
				rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
				goto out;
			}
			h->n_gt++;
			g->name.ptr = h->gt_names[h->n_gt - 1];
			g->name.len = strlen(gname);
			g->n_dims = t->n_dims;
			/* HF shapes are [rows, cols]; GGUF's ne0 is the contiguous one */
			g->ne[0] = t->shape[t->n_dims - 1];
			g->ne[1] = t->n_dims == 2 ? t->shape[0] : 1;
			g->ne[2] = g->ne[3] = 1;
			g->n_elements = g->ne[0] * g->ne[1];
			if ((rc = settle_data(h, g, t, path, err)))
				goto out;
		}
	}
	if (l3.on) {
		float *f = malloc(cfg->n_rot / 2 * sizeof *f + 4);
		void **no = realloc(h->owned, (h->n_owned + 1) * sizeof *no);
		if (no)
			h->owned = no;
		if (!f || !no || !(h->gt_names[h->n_gt] = strdup("rope_freqs.weight"))) {
			free(f);
			rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
			goto out;
		}
		h->owned[h->n_owned++] = f;
		llama3_factors(&l3, cfg->rope_freq_base, cfg->n_rot, f);
		struct gguf_tensor *g = &h->gt[h->n_gt++];
		g->name.ptr = h->gt_names[h->n_gt - 1];
		g->name.len = strlen(g->name.ptr);
		g->n_dims = 1;
		g->ne[0] = cfg->n_rot / 2;
		g->ne[1] = g->ne[2] = g->ne[3] = 1;
		g->n_elements = g->ne[0];
		g->type = ENG_TYPE_F32;
		g->data = f;
		g->nbytes = g->ne[0] * 4;
	}
	const struct gguf_tensor *emb = eng_hf_find(h, "token_embd.weight");
	if (emb && emb->ne[1] != cfg->n_vocab) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: model.embed_tokens.weight has %" PRIu64 " rows, config.json "
				 "vocab_size is %" PRIu32, dir, emb->ne[1], cfg->n_vocab);
		goto out;
	}
	bool has_head = eng_hf_find(h, "output.weight") != NULL;
	if (!tied && !has_head) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: tie_word_embeddings is false but there is no lm_head.weight", dir);
		goto out;
	}
	if (tied && has_head) {
		/* the tied head is the embedding, whatever a stray lm_head says */
		for (size_t i = 0; i < h->n_gt; i++)
			if (!strcmp(h->gt_names[i], "output.weight"))
				h->gt_names[i][0] = '\0';
	}
	*out = h;
	h = NULL;
out:
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	eng_hf_close(h);
	return rc;
}
