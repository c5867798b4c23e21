/* hf.c — Hugging Face checkpoint folders: config.json + safetensors.
 *
 * config.json becomes a struct eng_config (the same one GGUF metadata gives;
 * hf_config.c reads it) and the HF tensor names become GGUF names, so the
 * weights bind and the forward pass run exactly as for a GGUF: an HF folder is
 * another way in, not another engine. Llama 3.1's rope scaling becomes the
 * rope_freqs.weight factors a GGUF conversion carries. Tensors stay in the
 * mmap'd files where they can (zero copy); norm weights and biases that are not
 * f32, Gemma's norms (stored w, used as 1 + w), GPT-2's Conv1D matrices (stored
 * [in, out]) and data not aligned to its element size are widened, changed or
 * copied into buffers owned here.
 */
#include "engine/hf_int.h"
#include "common/fileio.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "engine/safetensors.h"
#include "engine/types.h"

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
	const struct hf_arch *arch; /* the model_type's row (hf_map_name; eng_hf_arch) */
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

size_t eng_hf_n_weights(const struct eng_hf *h)
{
	return h->n_gt;
}

const struct gguf_tensor *eng_hf_weight(const struct eng_hf *h, size_t i, const char **name)
{
	if (i >= h->n_gt)
		return NULL;
	*name = h->gt_names[i];
	return &h->gt[i];
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

static bool is_regular(const char *dir, const char *name)
{
	char p[4096];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

/* The files of the model: the shards, config.json, and the index, chat template and tokenizer files that
 * exist (tokenizer.model, and the added tokens beside it, only where there is no
 * tokenizer.json: then the tokenizer comes from them). */
static int list_files(struct eng_hf *h, const char *dir, char **shards, size_t n_shards, struct mrl_err *err)
{
	static const char *const extra[] = { "config.json", "model.safetensors.index.json", "tokenizer.json",
					     "tokenizer_config.json", "chat_template.jinja" };
	static const char *const spm_extra[] = { "tokenizer.model", "added_tokens.json", "special_tokens_map.json" };
	const size_t n_extra = sizeof extra / sizeof extra[0], n_spm = sizeof spm_extra / sizeof spm_extra[0];
	h->files = calloc(n_shards + n_extra + n_spm, sizeof *h->files);
	if (!h->files)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
	for (size_t i = 0; i < n_shards; i++)
		if (!(h->files[h->n_files++] = strdup(shards[i])))
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
	char p[4096];
	struct stat st;
	snprintf(p, sizeof p, "%s/tokenizer.json", dir);
	const bool has_json = stat(p, &st) == 0;
	for (size_t i = 0; i < n_extra + (has_json ? 0 : n_spm); i++) {
		const char *name = i < n_extra ? extra[i] : spm_extra[i - n_extra];
		if (is_regular(dir, name) && !(h->files[h->n_files++] = strdup(name)))
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
	}
	qsort(h->files, h->n_files, sizeof *h->files, cmp_str);
	return 0;
}

/* The first (by name) regular file in dir whose name starts with prefix (NULL: any) and
 * ends with one of the suffixes, copied into name; false when none. */
static bool first_named(const char *dir, const char *prefix, const char *const *suffixes, char *name, size_t size)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	bool found = false;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t n = strlen(e->d_name);
		bool match = e->d_name[0] != '.' && (!prefix || !strncmp(e->d_name, prefix, strlen(prefix)));
		bool suffix = false;
		for (const char *const *x = suffixes; match && !suffix && *x; x++)
			suffix = n > strlen(*x) && !strcmp(e->d_name + n - strlen(*x), *x);
		if (suffix && is_regular(dir, e->d_name) && (!found || strcmp(e->d_name, name) < 0)) {
			snprintf(name, size, "%s", e->d_name);
			found = true;
		}
	}
	closedir(d);
	return found;
}

/* Weights in a layout merilo does not read, named with what to do: a PEFT adapter, the
 * original Llama / Mistral layout (params.json + consolidated*.pth or .safetensors) and
 * PyTorch pickles (pytorch_model*.bin, model*.bin/.pt/.pth; a trainer's optimizer.pt or
 * rng_state.pth are not weights). 0 when none of them. */
static int foreign_weights(const char *dir, struct mrl_err *err)
{
	static const char *const st_or_pth[] = { ".safetensors", ".pth", NULL }, *const bin[] = { ".bin", NULL },
				 *const pickle[] = { ".bin", ".pth", ".pt", NULL };
	char name[256];
	if (is_regular(dir, "adapter_config.json"))
		return mrl_err_set(err, MRL_EINPUT, "%s: adapter_config.json: a PEFT adapter (LoRA), not a whole model: "
				   "give its base model with --model and this folder with --lora", dir);
	if (is_regular(dir, "params.json") && first_named(dir, "consolidated", st_or_pth, name, sizeof name))
		return mrl_err_set(err, MRL_EINPUT, "%s: %s with params.json is the original Llama / Mistral checkpoint "
				   "layout, which merilo does not read: give it the Hugging Face layout (config.json + "
				   "model.safetensors; transformers' convert_llama_weights_to_hf.py and "
				   "convert_mistral_weights_to_hf.py make it)", dir, name);
	if (first_named(dir, "pytorch_model", bin, name, sizeof name) || first_named(dir, "model", pickle, name, sizeof name))
		return mrl_err_set(err, MRL_EINPUT, "%s: %s holds the weights as a PyTorch pickle, which merilo does not "
				   "read (loading a pickle runs code from the file): save them as safetensors first "
				   "(transformers: model.save_pretrained(DIR, safe_serialization=True))", dir, name);
	return 0;
}

int eng_hf_checkpoint(const char *dir, struct mrl_err *err)
{
	const bool cfg = is_regular(dir, "config.json"), single = is_regular(dir, "model.safetensors"),
		   index = is_regular(dir, "model.safetensors.index.json");
	if (cfg && (single || index))
		return 1;
	int rc = foreign_weights(dir, err);
	if (rc)
		return rc;
	char shard[256];
	static const char *const st[] = { ".safetensors", NULL };
	const bool any = first_named(dir, NULL, st, shard, sizeof shard);
	if (!cfg && !index && !any)
		return 0;
	/* part of a checkpoint: saying "vocabulary-only" would hide the weights that are there */
	if (!cfg)
		return mrl_err_set(err, MRL_EINPUT, "%s: %s present but no config.json: cannot load the weights", dir,
				   single ? "model.safetensors" : index ? "model.safetensors.index.json" : shard);
	if (any)
		return mrl_err_set(err, MRL_EINPUT, "%s: %s present but no model.safetensors.index.json: cannot load "
				   "the sharded weights (the index names every shard)", dir, shard);
	return mrl_err_set(err, MRL_EINPUT, "%s: config.json present but no model.safetensors (nor "
			   "model.safetensors.index.json and its shards): no weights to load", dir);
}

static int map_shard(struct hf_shard *s, const char *path, struct mrl_err *err)
{
	int fd = mrl_open_read(path);
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

/* Used for a GGUF too (eng_model_check_file): model.c calls into hf.c, never back. */
static bool same_time(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

int eng_file_unchanged(const char *path, int fd, const struct stat *was, struct mrl_err *err)
{
	struct stat now;
	if (fstat(fd, &now))
		return mrl_err_set(err, MRL_ERUNTIME, "%s: cannot stat the model file: %s", path, strerror(errno));
	if (now.st_size != was->st_size)
		return mrl_err_set(err, MRL_ERUNTIME,
				   "%s: the model file changed on disk while in use (%lld bytes when opened, %lld now); "
				   "results from here on would mix two models",
				   path, (long long)was->st_size, (long long)now.st_size);
	if (!same_time(now.st_mtim, was->st_mtim) || !same_time(now.st_ctim, was->st_ctim))
		return mrl_err_set(err, MRL_ERUNTIME,
				   "%s: the model file was modified on disk while in use (its modification time changed); "
				   "results from here on would mix two models",
				   path);
	return 0;
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
	json_t *ix = hf_load_json(path, err, &rc);
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

/* A buffer of size bytes owned by h (freed by eng_hf_close); NULL when out of memory. */
static void *owned_alloc(struct eng_hf *h, size_t size)
{
	void **no = realloc(h->owned, (h->n_owned + 1) * sizeof *no);
	if (!no)
		return NULL;
	h->owned = no;
	void *buf = malloc(size);
	if (buf)
		h->owned[h->n_owned++] = buf;
	return buf;
}

/* Keep data, or a copy the engine may read: f32 for 1-D tensors (norms,
 * biases), 1 + w for Gemma's norms, [out, in] for GPT-2's Conv1D matrices,
 * and element-aligned for everything. */
static int settle_data(struct eng_hf *h, struct gguf_tensor *g, const struct st_tensor *t, unsigned flags,
		       const char *path, struct mrl_err *err)
{
	size_t esize = t->type == ENG_TYPE_F32 ? 4 : 2;
	bool widen = t->n_dims == 1 && (t->type != ENG_TYPE_F32 || (flags & HF_PLUS_ONE));
	bool transpose = t->n_dims == 2 && (flags & HF_TRANSPOSE);
	bool misaligned = (uintptr_t)t->data % esize != 0;
	g->data = t->data;
	g->nbytes = t->nbytes;
	g->type = t->type;
	if (!widen && !misaligned && !transpose)
		return 0;
	uint64_t n_el = t->nbytes / esize;
	unsigned char *buf = owned_alloc(h, widen ? n_el * 4 + 4 : t->nbytes + 4);
	if (!buf)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
	const unsigned char *p = t->data;
	if (widen) {
		float *f = (float *)buf;
		for (uint64_t i = 0; i < n_el; i++) {
			if (t->type == ENG_TYPE_F32) {
				memcpy(&f[i], p + 4 * i, 4);
			} else {
				uint16_t u = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
				f[i] = t->type == ENG_TYPE_BF16 ? eng_bf16_to_f32(u) : eng_f16_to_f32(u);
			}
			if (flags & HF_PLUS_ONE)
				f[i] = 1.0f + f[i];
		}
		g->type = ENG_TYPE_F32;
		g->nbytes = n_el * 4;
	} else if (transpose) {
		/* stored [rows][cols] = [in][out]; wanted [out][in] */
		uint64_t rows = t->shape[0], cols = t->shape[1];
		for (uint64_t r = 0; r < rows; r++)
			for (uint64_t c = 0; c < cols; c++)
				memcpy(buf + (c * rows + r) * esize, p + (r * cols + c) * esize, esize);
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

const struct hf_arch *eng_hf_arch(const struct eng_hf *h)
{
	return h->arch;
}

const struct gguf_tensor *eng_hf_find(const void *src, const char *name)
{
	const struct eng_hf *h = src;
	for (size_t i = 0; i < h->n_gt; i++)
		if (!strcmp(h->gt_names[i], name))
			return &h->gt[i];
	return NULL;
}

/* Shard s's tensors under their GGUF names into h->gt. */
static int add_shard_tensors(struct eng_hf *h, size_t s, const struct hf_model_cfg *mc, const char *arch_name,
			     const char *dir, struct mrl_err *err)
{
	const char *path = h->shards[s].path;
	for (size_t i = 0; i < h->shards[s].n; i++) {
		const struct st_tensor *t = &h->shards[s].t[i];
		char gname[128];
		unsigned flags;
		int m = hf_map_name(mc->arch, t->name, gname, sizeof gname, &flags);
		if (m == 1)
			continue;
		if (m < 0)
			return mrl_err_set(err, MRL_EUNSUPPORTED, "%s: tensor '%.200s' is not part of a %s model as merilo "
					   "runs it", path, t->name, arch_name);
		if (eng_hf_find(h, gname))
			return mrl_err_set(err, MRL_EINPUT, "%s: tensor '%.200s' appears twice", path, t->name);
		if (t->n_dims < 1 || t->n_dims > 2)
			return mrl_err_set(err, MRL_EINPUT, "%s: tensor '%.200s' has %u dimensions, expected 1 or 2", path,
					   t->name, t->n_dims);
		struct gguf_tensor *g = &h->gt[h->n_gt];
		if (!(h->gt_names[h->n_gt] = strdup(gname)))
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
		h->n_gt++;
		g->name.ptr = h->gt_names[h->n_gt - 1];
		g->name.len = strlen(gname);
		g->n_dims = t->n_dims;
		/* HF shapes are [rows, cols]; GGUF's ne0 is the contiguous one (a Conv1D's
		 * [in, out] is transposed to [out, in] by settle_data) */
		bool tr = t->n_dims == 2 && (flags & HF_TRANSPOSE);
		g->ne[0] = tr ? t->shape[0] : t->shape[t->n_dims - 1];
		g->ne[1] = t->n_dims == 2 ? (tr ? t->shape[1] : t->shape[0]) : 1;
		g->ne[2] = g->ne[3] = 1;
		g->n_elements = g->ne[0] * g->ne[1];
		int rc = settle_data(h, g, t, flags, path, err);
		if (rc)
			return rc;
	}
	return 0;
}

/* A rope factor tensor of n_rot/2 f32 (from src, or Llama 3.1's rope scaling where src
 * is NULL) as a GGUF conversion carries it: rope_freqs.weight, rope_factors_long/short.weight. */
static int add_rope_tensor(struct eng_hf *h, const char *name, const float *src, const struct hf_model_cfg *mc,
			   const struct eng_config *cfg, const char *dir, struct mrl_err *err)
{
	float *f = owned_alloc(h, cfg->n_rot / 2 * sizeof *f + 4);
	if (!f || !(h->gt_names[h->n_gt] = strdup(name)))
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
	if (src)
		memcpy(f, src, cfg->n_rot / 2 * sizeof *f);
	else
		hf_llama3_factors(&mc->l3, cfg->rope_freq_base, cfg->n_rot, f);
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
	return 0;
}

/* Element i of an F32, BF16 or F16 tensor, as f32. */
static float elem_f32(const struct gguf_tensor *g, uint64_t i)
{
	const unsigned char *p = g->data;
	if (g->type == ENG_TYPE_F32) {
		float f;
		memcpy(&f, p + 4 * i, 4);
		return f;
	}
	uint16_t u = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
	return g->type == ENG_TYPE_BF16 ? eng_bf16_to_f32(u) : eng_f16_to_f32(u);
}

static bool same_values(const struct gguf_tensor *a, const struct gguf_tensor *b)
{
	if (a->ne[0] != b->ne[0] || a->ne[1] != b->ne[1])
		return false;
	if (a->type == b->type)
		return a->nbytes == b->nbytes && !memcmp(a->data, b->data, a->nbytes);
	for (uint64_t i = 0; i < a->n_elements; i++)
		if (elem_f32(a, i) != elem_f32(b, i))
			return false;
	return true;
}

/* The shard holding the HF tensor that ends in suffix, for messages. */
static const char *shard_of(const struct eng_hf *h, const char *suffix)
{
	size_t sl = strlen(suffix);
	for (size_t s = 0; s < h->n_shards; s++)
		for (size_t i = 0; i < h->shards[s].n; i++) {
			size_t nl = strlen(h->shards[s].t[i].name);
			if (nl >= sl && !strcmp(h->shards[s].t[i].name + nl - sl, suffix))
				return h->shards[s].path;
		}
	return "";
}

/* The embedding against vocab_size, and the head against tie_word_embeddings. A tied
 * model whose file also stores an lm_head.weight equal to the embedding is fine (torch
 * .bin conversions store both); a different one contradicts the config, and the
 * readings differ (transformers 5.25 then unties and uses the stored head, with a
 * warning; merilo used the embedding), so it is refused. */
static int check_head(struct eng_hf *h, const struct eng_config *cfg, bool tied, const char *dir, struct mrl_err *err)
{
	const struct gguf_tensor *emb = eng_hf_find(h, "token_embd.weight");
	if (emb && emb->ne[1] != cfg->n_vocab)
		return mrl_err_set(err, MRL_EINPUT, "%s: the token embedding has %" PRIu64 " rows, config.json "
				   "vocab_size is %" PRIu32, dir, emb->ne[1], cfg->n_vocab);
	const struct gguf_tensor *head = eng_hf_find(h, "output.weight");
	if (!tied && !head)
		return mrl_err_set(err, MRL_EINPUT, "%s: tie_word_embeddings is false but there is no lm_head.weight", dir);
	if (tied && head && emb && !same_values(head, emb))
		return mrl_err_set(err, MRL_EINPUT, "%s: config.json ties the head to the embedding (tie_word_embeddings "
				   "true or absent for %s) but %s holds an lm_head.weight that differs from it: set "
				   "tie_word_embeddings false to use it, or remove it", dir, cfg->arch_name,
				   shard_of(h, "lm_head.weight"));
	if (tied && head) {
		/* the same values: the embedding serves */
		for (size_t i = 0; i < h->n_gt; i++)
			if (!strcmp(h->gt_names[i], "output.weight"))
				h->gt_names[i][0] = '\0';
	}
	return 0;
}

int eng_hf_open(struct eng_hf **out, struct eng_config *cfg, const char *dir, struct mrl_err *err)
{
	*out = NULL;
	struct hf_model_cfg mc;
	int rc = hf_config_load(cfg, &mc, dir, err);
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
	h->arch = mc.arch;
	if ((rc = list_files(h, dir, names, n_names, err)))
		goto out;
	size_t total = 2; /* rope_freqs.weight (llama3 scaling) or rope_factors_long/short, made here */
	for (size_t i = 0; i < n_names; i++) {
		char path[4096];
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		h->n_shards = i + 1;
		if ((rc = map_shard(&h->shards[i], path, err)))
			goto out;
		total += h->shards[i].n;
	}
	h->gt = calloc(total, sizeof *h->gt);
	h->gt_names = calloc(total, sizeof *h->gt_names);
	if (!h->gt || !h->gt_names) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
		goto out;
	}
	for (size_t s = 0; s < h->n_shards; s++)
		if ((rc = add_shard_tensors(h, s, &mc, cfg->arch_name, dir, err)))
			goto out;
	if ((mc.l3.on && (rc = add_rope_tensor(h, "rope_freqs.weight", NULL, &mc, cfg, dir, err))) ||
	    (mc.lr.on && ((rc = add_rope_tensor(h, "rope_factors_long.weight", mc.lr.long_f, &mc, cfg, dir, err)) ||
			  (rc = add_rope_tensor(h, "rope_factors_short.weight", mc.lr.short_f, &mc, cfg, dir, err)))) ||
	    (rc = check_head(h, cfg, mc.tied, dir, err)))
		goto out;
	*out = h;
	h = NULL;
out:
	for (size_t i = 0; i < n_names; i++)
		free(names[i]);
	free(names);
	eng_hf_close(h);
	return rc;
}
