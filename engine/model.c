/* model.c — the model handle: map the GGUF file, parse it, load the
 * vocabulary, read the architecture and bind the weights.
 *
 * Weights are never copied: the file is mmap'd read-only and every tensor
 * points into the mapping, which the handle owns until eng_model_close().
 * A GGUF without tensors (or opened with vocab_only) is a vocabulary-only
 * model: it tokenizes, but has no architecture and cannot decode.
 */
#include "engine/eng_int.h"

#include <errno.h>
#include <jansson.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/parallel.h"
#include "common/fileio.h"
#include "engine/types.h"
#include "engine/vocab.h"

static char *dup_str(struct gguf_str s)
{
	char *p = malloc(s.len + 1);
	if (p) {
		memcpy(p, s.ptr, s.len);
		p[s.len] = '\0';
	}
	return p;
}

static int map_file(struct eng_model *m, const char *path, struct mrl_err *err)
{
	int fd = mrl_open_read(path);
	if (fd < 0)
		return mrl_err_set(err, MRL_EIO, "%s: cannot open: %s", path, strerror(errno));
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st)) {
		rc = mrl_err_set(err, MRL_EIO, "%s: cannot stat: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: not a regular file", path);
		goto out;
	}
	if (st.st_size < 8) {
		rc = st.st_size == 0 ? mrl_err_set(err, MRL_EINPUT, "%s: empty file (0 bytes), not a GGUF model", path)
				     : mrl_err_set(err, MRL_EINPUT, "%s: file too short (%lld bytes) to be a GGUF model", path,
						   (long long)st.st_size);
		goto out;
	}
	if ((uint64_t)st.st_size > SIZE_MAX) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: file too big to map", path);
		goto out;
	}
	void *p = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (p == MAP_FAILED) {
		int e = errno;
		rc = mrl_err_set(err, e == ENOMEM ? MRL_ENOMEM : MRL_EIO,
				 "%s: cannot map %lld bytes: %s%s", path, (long long)st.st_size, strerror(e),
				 e == ENOMEM ? " (model too big for the available memory)" : "");
		goto out;
	}
	m->map = p;
	m->map_size = (size_t)st.st_size;
	m->st_open = st;
	m->fd = fd; /* kept: eng_model_check_file() watches the inode that is mapped */
	return 0;
out:
	close(fd);
	return rc;
}

int eng_default_threads(void)
{
	return mrl_cpus();
}

static int resolve_threads(int n)
{
	return n > 0 ? n : eng_default_threads();
}

static int copy_names(struct eng_model *m, struct mrl_err *err)
{
	size_t nt = gguf_n_tensors(m->gguf), nk = gguf_n_kv(m->gguf);
	m->tensor_names = calloc(nt ? nt : 1, sizeof *m->tensor_names);
	m->meta_keys = calloc(nk ? nk : 1, sizeof *m->meta_keys);
	if (!m->tensor_names || !m->meta_keys)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", m->path);
	for (size_t i = 0; i < nt; i++)
		if (!(m->tensor_names[i] = dup_str(gguf_tensor_at(m->gguf, i)->name)))
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", m->path);
	for (size_t i = 0; i < nk; i++)
		if (!(m->meta_keys[i] = dup_str(gguf_kv_at(m->gguf, i)->key)))
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", m->path);
	return 0;
}

static char *opt_str(const struct gguf_ctx *g, const char *key)
{
	struct gguf_str s;
	if (gguf_get_str(g, key, &s, NULL) == 0)
		return dup_str(s);
	return strdup("");
}

static void fill_desc(struct eng_model *m)
{
	struct eng_model_desc *d = &m->desc;
	memset(d, 0, sizeof *d);
	d->path = m->path;
	d->rope_scaling = "none";
	d->rope_scale_factor = d->rope_attn_factor = 1.0f;
	d->arch = m->arch_str;
	d->name = m->name_str;
	d->tokenizer_model = m->tok_model_str;
	d->tokenizer_pre = m->vocab ? eng_vocab_pre_name(m->vocab) : NULL;
	if (d->tokenizer_pre && !strcmp(d->tokenizer_pre, "tokenizer.json"))
		d->tokenizer_pre = NULL; /* its pre-tokenizer is the file's own */
	d->has_weights = m->has_weights;
	d->file_size = m->hf ? eng_hf_file_bytes(m->hf) : m->map_size;
	for (size_t i = 0; i < eng_model_n_tensors(m); i++) {
		struct eng_tensor_info ti;
		eng_model_tensor_info(m, i, &ti);
		/* rope_freqs.weight (and Phi-3's rope_factors_long/short) hold rope scaling factors,
		 * not learned weights: an HF checkpoint does not count them (parameters then agree) */
		if (strcmp(ti.name, "rope_freqs.weight") && strncmp(ti.name, "rope_factors_", 13))
			d->n_params += ti.ne[0] * ti.ne[1] * ti.ne[2] * ti.ne[3];
		d->weight_bytes += ti.nbytes;
	}
	d->bos_id = eng_vocab_bos(m->vocab);
	d->eos_id = eng_vocab_eos(m->vocab);
	d->unk_id = eng_vocab_unk(m->vocab);
	d->pad_id = eng_vocab_pad(m->vocab);
	d->eog_ids = m->vocab ? eng_vocab_eog_ids(m->vocab, &d->n_eog) : NULL;
	d->add_bos = eng_vocab_add_bos(m->vocab);
	d->n_vocab = eng_vocab_n_tokens(m->vocab);
	if (m->has_weights) {
		const struct eng_config *c = &m->cfg;
		d->n_vocab = c->n_vocab;
		d->n_ctx_train = c->n_ctx_train;
		d->n_embd = c->n_embd;
		d->n_layer = c->n_layer;
		d->n_head = c->n_head;
		d->n_head_kv = c->n_head_kv;
		d->n_ff = c->n_ff;
		d->n_rot = c->n_rot;
		d->head_dim = c->head_dim;
		d->rope_freq_base_swa = c->rope_freq_base_swa;
		d->qk_norm = c->qk_norm;
		d->rope_freq_base = c->rope_freq_base;
		const struct eng_rope_scaling *rs = &c->rope_scaling;
		d->rope_scaling = rs->ext_factor != 0.0f ? "yarn" : rs->freq_scale != 0.0f ? "linear"
				  : m->w.rope_long ? "longrope" : "none";
		d->rope_scale_factor = rs->freq_scale != 0.0f ? 1.0f / rs->freq_scale : 1.0f;
		d->rope_attn_factor = rs->mscale != 0.0f ? rs->mscale : 1.0f;
		d->norm_eps = c->norm_eps;
		d->tied_output = m->w.tied_output;
		d->learned_pos = c->learned_pos;
		d->attn_softcap = c->attn_softcap;
		d->final_softcap = c->final_softcap;
		for (uint32_t il = 0; il < c->n_layer; il++)
			d->n_layer_windowed += eng_layer_window(c, il) > 0;
		d->sliding_window = d->n_layer_windowed ? c->sliding_window : 0;
		d->n_expert = c->n_expert;
		d->n_expert_used = c->n_expert_used;
		d->n_ff_shexp = c->n_ff_shexp;
	}
	eng_lora_describe(m, d);
	d->n_params_active = d->n_params;
	if (m->has_weights && m->cfg.n_expert) {
		uint64_t exp_params = 0;
		for (size_t i = 0; i < (size_t)m->cfg.n_layer * m->cfg.n_expert * 3; i++)
			exp_params += m->w.experts[i].ne0 * m->w.experts[i].ne1;
		d->n_params_active -= exp_params / m->cfg.n_expert * (m->cfg.n_expert - m->cfg.n_expert_used);
	}
}

/* An HF tokenizer.json or tokenizer.model, or a folder holding one, opens as a
 * vocabulary-only model. */
static bool is_hf_tokenizer(const char *path)
{
	struct stat st;
	size_t n = strlen(path);
	return (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) || (n >= 5 && !strcmp(path + n - 5, ".json")) ||
	       (n >= 15 && !strcmp(path + n - 15, "tokenizer.model"));
}

/* An HF folder's name: its last path component ("ckpt-2000" of "runs/ckpt-2000/"), as
 * the folder resolves to ("." is the current folder's name); "" for a file. */
static char *folder_name(const char *path)
{
	struct stat st;
	char real[PATH_MAX];
	if (stat(path, &st) || !S_ISDIR(st.st_mode) || !realpath(path, real))
		return strdup("");
	const char *slash = strrchr(real, '/');
	return strdup(slash && slash[1] ? slash + 1 : real);
}

/* Its metadata is an empty GGUF (no keys, no tensors), so every accessor works unchanged. */
static int open_hf_tokenizer(struct eng_model *m, const char *path, struct mrl_err *err)
{
	static const unsigned char empty_gguf[32] = { 'G', 'G', 'U', 'F', 3 };
	int rc = gguf_parse(empty_gguf, sizeof empty_gguf, path, &m->gguf, err);
	if (rc)
		return rc;
	m->arch_str = strdup("");
	m->name_str = folder_name(path);
	if (!m->arch_str || !m->name_str)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
	char cfg[PATH_MAX + 32], tok[PATH_MAX + 32], spm[PATH_MAX + 32];
	struct stat st;
	snprintf(cfg, sizeof cfg, "%s/config.json", path);
	snprintf(tok, sizeof tok, "%s/tokenizer.json", path);
	snprintf(spm, sizeof spm, "%s/tokenizer.model", path);
	const bool folder = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	if (folder && stat(cfg, &st) != 0 && stat(tok, &st) != 0 && stat(spm, &st) != 0)
		return mrl_err_set(err, MRL_EINPUT, "%s: not a model folder: no config.json and no tokenizer.json (nor "
				   "tokenizer.model; an HF checkpoint holds config.json, *.safetensors and tokenizer.json)", path);
	rc = eng_vocab_load_json(&m->vocab, path, err);
	if (rc)
		return rc;
	/* the file the tokenizer came from: tokenizer.json where the folder has one */
	m->tok_model_str = strdup(eng_vocab_type(m->vocab) == ENG_VOCAB_SPM ? "tokenizer.model" : "tokenizer.json");
	return m->tok_model_str ? 0 : mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
}

/* The adapter on the model's weights, and the model's name "<name> + <adapter folder>" (a GGUF
 * without general.name: its file's name). */
static int lora_open(struct eng_model *m, const char *dir, struct mrl_err *err)
{
	int rc = eng_lora_open(m, dir, err);
	const char *slash = strrchr(m->path, '/'), *base = m->name_str[0] ? m->name_str : slash ? slash + 1 : m->path;
	char *adapter = rc ? NULL : folder_name(dir), *name = NULL;
	if (!rc && (!adapter || asprintf(&name, "%s + %s", base, adapter) < 0))
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", dir);
	free(adapter);
	if (name) {
		free(m->name_str);
		m->name_str = name;
	}
	return rc;
}

int eng_model_open(struct eng_model **out, const char *path, const struct eng_open_opts *opts,
		   struct mrl_err *err)
{
	*out = NULL;
	struct eng_open_opts def = { 0 };
	if (!opts)
		opts = &def;
	struct eng_model *m = calloc(1, sizeof *m);
	if (!m)
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
	int rc;
	m->fd = -1;
	if (!(m->path = strdup(path))) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	if (opts->backend != ENG_BACKEND_CPU && opts->backend != ENG_BACKEND_CUDA) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: unknown backend %d", path, (int)opts->backend);
		goto out;
	}
	m->backend = opts->backend;
	m->n_threads = resolve_threads(opts->n_threads);
	m->kv_f32 = opts->kv_f32;
	m->pin_threads = opts->pin_threads;
	m->no_repack = opts->no_repack;
	if (is_hf_tokenizer(path)) {
		/* before the tokenizer: a folder with part of a checkpoint is named for what it lacks */
		int checkpoint = opts->vocab_only ? 0 : eng_hf_checkpoint(path, err);
		if (checkpoint < 0) {
			rc = checkpoint;
			goto out;
		}
		if ((rc = open_hf_tokenizer(m, path, err)))
			goto out;
		/* an HF checkpoint folder: config.json + safetensors, bound like a GGUF's tensors */
		m->has_weights = checkpoint == 1;
		if (m->has_weights) {
			if ((rc = eng_hf_open(&m->hf, &m->cfg, path, err)) ||
			    (rc = eng_weights_bind_src(&m->w, &m->cfg, eng_hf_find, m->hf, path, err)) ||
			    (opts->lora && (rc = lora_open(m, opts->lora, err))))
				goto out;
			free(m->arch_str);
			if (!(m->arch_str = strdup(m->cfg.arch_name))) {
				rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
				goto out;
			}
			uint32_t nv = eng_vocab_n_tokens(m->vocab);
			if (nv > m->cfg.n_vocab) {
				rc = mrl_err_set(err, MRL_EINPUT, "%s: %s has %" PRIu32 " tokens but the "
						 "embedding only %" PRIu32 " rows", path, m->tok_model_str, nv, m->cfg.n_vocab);
				goto out;
			}
			if ((rc = eng_backend_open(m, err)))
				goto out;
		}
		fill_desc(m);
		*out = m;
		return 0;
	}
	if ((rc = map_file(m, path, err)))
		goto out;
	if ((rc = gguf_parse(m->map, m->map_size, path, &m->gguf, err)))
		goto out;
	if ((rc = copy_names(m, err)))
		goto out;
	m->arch_str = opt_str(m->gguf, "general.architecture");
	m->name_str = opt_str(m->gguf, "general.name");
	m->tok_model_str = opt_str(m->gguf, "tokenizer.ggml.model");
	if (!m->arch_str || !m->name_str || !m->tok_model_str) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	/* The architecture first: an unsupported one is the clearest message. */
	m->has_weights = gguf_n_tensors(m->gguf) > 0 && !opts->vocab_only;
	if (m->has_weights && (rc = eng_config_load(&m->cfg, m->gguf, path, err)))
		goto out;
	if ((rc = eng_vocab_load(&m->vocab, m->gguf, path, err)))
		goto out;
	if (m->has_weights) {
		if ((rc = eng_weights_bind(&m->w, &m->cfg, m->gguf, path, err)) ||
		    (opts->lora && (rc = lora_open(m, opts->lora, err))))
			goto out;
		m->cfg.n_vocab = (uint32_t)m->w.tok_embd.ne1;
		uint32_t nv = eng_vocab_n_tokens(m->vocab);
		if (nv > m->cfg.n_vocab) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s: the vocabulary has %" PRIu32 " tokens but "
					 "'token_embd.weight' only %" PRIu32 " rows", path, nv, m->cfg.n_vocab);
			goto out;
		}
		/* last: uploading a 7B model to a GPU is the slow step, after every check */
		if ((rc = eng_backend_open(m, err)))
			goto out;
	}
	fill_desc(m);
	*out = m;
	m = NULL;
	rc = 0;
out:
	eng_model_close(m);
	return rc;
}

void eng_model_close(struct eng_model *m)
{
	if (!m)
		return;
	if (m->tensor_names)
		for (size_t i = 0; m->gguf && i < gguf_n_tensors(m->gguf); i++)
			free(m->tensor_names[i]);
	if (m->meta_keys)
		for (size_t i = 0; m->gguf && i < gguf_n_kv(m->gguf); i++)
			free(m->meta_keys[i]);
	free(m->tensor_names);
	free(m->meta_keys);
	eng_backend_close(m);
	eng_cpu_weights_close(m);
	eng_weights_release(&m->w);
	eng_lora_close(m);
	eng_vocab_free(m->vocab);
	eng_hf_close(m->hf);
	gguf_free(m->gguf);
	if (m->map)
		munmap(m->map, m->map_size);
	if (m->fd >= 0)
		close(m->fd);
	free(m->arch_str);
	free(m->name_str);
	free(m->repack_note);
	free(m->tok_model_str);
	free(m->path);
	free(m);
}

int eng_model_check_file(const struct eng_model *m, struct mrl_err *err)
{
	if (m->hf)
		return eng_hf_check_files(m->hf, err);
	return m->fd < 0 ? 0 : eng_file_unchanged(m->path, m->fd, &m->st_open, err);
}

int eng_model_mapping(const struct eng_model *m, size_t i, const void **base, size_t *size, const char **path)
{
	if (m->hf)
		return eng_hf_mapping(m->hf, i, base, size, path);
	if (i > 0 || !m->map)
		return -1;
	*base = m->map;
	*size = m->map_size;
	*path = m->path;
	return 0;
}

void eng_model_file(const struct eng_model *m, const void **base, size_t *size, struct stat *st)
{
	if (base)
		*base = m->map;
	if (size)
		*size = m->map_size;
	if (st)
		*st = m->st_open;
}

const char *eng_model_folder_file(const struct eng_model *m, size_t i)
{
	return m->hf ? eng_hf_file(m->hf, i) : NULL;
}

const struct eng_vocab *eng_model_vocab(const struct eng_model *m)
{
	return m->vocab;
}

void eng_model_describe(const struct eng_model *m, struct eng_model_desc *out)
{
	*out = m->desc;
	out->kv_bytes_per_token = m->has_weights ? 2ull * m->cfg.n_layer * m->cfg.n_embd_kv * (m->kv_f32 ? 4 : 2) : 0;
}

size_t eng_model_n_tensors(const struct eng_model *m)
{
	return m->hf ? eng_hf_n_tensors(m->hf) : gguf_n_tensors(m->gguf);
}

/* out from a GGUF-shaped tensor t named name (zeroed where t is NULL). */
static void tensor_info(const struct gguf_tensor *t, const char *name, struct eng_tensor_info *out)
{
	memset(out, 0, sizeof *out);
	if (!t)
		return;
	out->name = name;
	out->type_name = eng_type_name(t->type);
	out->n_dims = t->n_dims;
	for (int k = 0; k < 4; k++)
		out->ne[k] = t->ne[k];
	out->nbytes = t->nbytes;
}

void eng_model_tensor_info(const struct eng_model *m, size_t i, struct eng_tensor_info *out)
{
	if (m->hf)
		eng_hf_tensor_info(m->hf, i, out);
	else
		tensor_info(i < gguf_n_tensors(m->gguf) ? gguf_tensor_at(m->gguf, i) : NULL,
			    i < gguf_n_tensors(m->gguf) ? m->tensor_names[i] : NULL, out);
}

size_t eng_model_n_weights(const struct eng_model *m)
{
	return m->hf ? eng_hf_n_weights(m->hf) : eng_model_n_tensors(m);
}

void eng_model_weight_info(const struct eng_model *m, size_t i, struct eng_tensor_info *out)
{
	if (!m->hf) {
		eng_model_tensor_info(m, i, out);
		return;
	}
	const char *name = NULL;
	const struct gguf_tensor *t = eng_hf_weight(m->hf, i, &name);
	tensor_info(t, name, out);
}

size_t eng_model_n_meta(const struct eng_model *m)
{
	return gguf_n_kv(m->gguf);
}

static const char *vtype_name(enum gguf_vtype t)
{
	static const char *const names[] = { "u8", "i8", "u16", "i16", "u32", "i32", "f32", "bool",
					     "string", "array", "u64", "i64", "f64" };
	return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

/* Append a printable, escaped string (at most max bytes of it) to buf. */
static void put_str(char *buf, size_t size, size_t *pos, struct gguf_str s, size_t max)
{
	size_t n = s.len < max ? s.len : max;
	for (size_t i = 0; i < n && *pos + 5 < size; i++) {
		unsigned char c = (unsigned char)s.ptr[i];
		if (c == '\n')
			*pos += (size_t)snprintf(buf + *pos, size - *pos, "\\n");
		else if (c < 0x20 || c == 0x7f)
			*pos += (size_t)snprintf(buf + *pos, size - *pos, "\\x%02x", c);
		else
			buf[(*pos)++] = (char)c;
	}
	if (n < s.len && *pos + 4 < size)
		*pos += (size_t)snprintf(buf + *pos, size - *pos, "...");
	buf[*pos < size ? *pos : size - 1] = '\0';
}

static void put_scalar(char *buf, size_t size, size_t *pos, const struct gguf_kv *kv)
{
	int n = 0;
	switch (kv->type) {
	case GGUF_BOOL: n = snprintf(buf + *pos, size - *pos, "%s", kv->v.u ? "true" : "false"); break;
	case GGUF_U8: case GGUF_U16: case GGUF_U32: case GGUF_U64:
		n = snprintf(buf + *pos, size - *pos, "%" PRIu64, kv->v.u); break;
	case GGUF_I8: case GGUF_I16: case GGUF_I32: case GGUF_I64:
		n = snprintf(buf + *pos, size - *pos, "%" PRId64, kv->v.i); break;
	case GGUF_F32: case GGUF_F64: n = snprintf(buf + *pos, size - *pos, "%g", kv->v.f); break;
	default: break;
	}
	if (n > 0)
		*pos += (size_t)n < size - *pos ? (size_t)n : size - *pos - 1;
}

const char *eng_model_meta(const struct eng_model *m, size_t i, char *buf, size_t buf_size)
{
	if (!buf || buf_size < 16)
		return i < gguf_n_kv(m->gguf) ? m->meta_keys[i] : NULL;
	buf[0] = '\0';
	if (i >= gguf_n_kv(m->gguf))
		return NULL;
	const struct gguf_kv *kv = gguf_kv_at(m->gguf, i);
	size_t pos = 0;
	if (kv->type == GGUF_STRING) {
		put_str(buf, buf_size, &pos, kv->v.s, 200);
	} else if (kv->type == GGUF_ARRAY) {
		int n = snprintf(buf, buf_size, "[%s x %" PRIu64 "]", vtype_name(kv->arr_type), kv->arr_n);
		pos = n > 0 && (size_t)n < buf_size ? (size_t)n : buf_size - 1;
		uint64_t show = kv->arr_n < 4 ? kv->arr_n : 4;
		for (uint64_t k = 0; k < show && pos + 32 < buf_size; k++) {
			pos += (size_t)snprintf(buf + pos, buf_size - pos, "%s", k ? ", " : " ");
			if (kv->arr_type == GGUF_STRING && kv->arr_strs)
				put_str(buf, buf_size, &pos, kv->arr_strs[k], 40);
			else if (kv->arr_type == GGUF_F32 || kv->arr_type == GGUF_F64)
				pos += (size_t)snprintf(buf + pos, buf_size - pos, "%g", (double)gguf_arr_f32(kv, k));
			else if (kv->arr_type != GGUF_ARRAY)
				pos += (size_t)snprintf(buf + pos, buf_size - pos, "%" PRId64, gguf_arr_int(kv, k));
			if (pos >= buf_size)
				pos = buf_size - 1;
		}
		if (show < kv->arr_n && pos + 5 < buf_size)
			pos += (size_t)snprintf(buf + pos, buf_size - pos, ", ...");
	} else {
		put_scalar(buf, buf_size, &pos, kv);
	}
	return m->meta_keys[i];
}

/* An HF folder's chat template as transformers 5 loads a tokenizer's: the file
 * chat_template.jinja where there is one (what save_pretrained writes since 4.5x, taking
 * the template out of the config), else tokenizer_config.json's "chat_template": a
 * string, or a list of {"name", "template"} whose "default" entry is taken. 0 with *out
 * NULL when neither has one. */
static int hf_chat_template(const char *path, char **out, struct mrl_err *err)
{
	struct stat st;
	char *cfg = NULL, *jinja = NULL, *text = NULL;
	size_t len = 0;
	const bool dir = stat(path, &st) == 0 && S_ISDIR(st.st_mode);
	const char *slash = strrchr(path, '/');
	const int dlen = dir ? (int)strlen(path) : slash ? (int)(slash - path + 1) : 0;
	if (asprintf(&cfg, "%.*s%stokenizer_config.json", dlen, path, dir ? "/" : "") < 0)
		cfg = NULL;
	if (!cfg || asprintf(&jinja, "%.*s%schat_template.jinja", dlen, path, dir ? "/" : "") < 0) {
		free(cfg);
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
	int rc = 0;
	if (stat(jinja, &st) == 0) { /* the file wins, as transformers loads it */
		if (!(rc = mrl_read_file(jinja, (size_t)64 << 20, &text, &len, err)) && memchr(text, '\0', len))
			rc = mrl_err_set(err, MRL_EINPUT, "%s: holds a NUL byte, not a template", jinja);
		if (!rc) {
			*out = text;
			text = NULL;
		}
		goto out;
	}
	if (stat(cfg, &st) != 0)
		goto out; /* no tokenizer_config.json: no template */
	if ((rc = mrl_read_file(cfg, (size_t)64 << 20, &text, &len, err)))
		goto out;
	json_error_t je;
	/* as the tokenizer loader reads it: integers as reals, for transformers' model_max_length
	 * of int(1e30), which no 64-bit integer holds */
	json_t *doc = json_loadb(text, len, JSON_DECODE_INT_AS_REAL | JSON_ALLOW_NUL, &je),
	       *t = json_object_get(doc, "chat_template"), *e;
	size_t i;
	if (!doc) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: line %d: %s", cfg, je.line, je.text);
		goto out;
	}
	json_array_foreach(json_is_array(t) ? t : NULL, i, e)
		if (!strcmp(json_string_value(json_object_get(e, "name")) ? json_string_value(json_object_get(e, "name")) : "",
			    "default"))
			t = json_object_get(e, "template");
	if (json_is_string(t) && !(*out = strdup(json_string_value(t))))
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	json_decref(doc);
out:
	free(text);
	free(jinja);
	free(cfg);
	return rc;
}

int eng_model_chat_template(const struct eng_model *m, char **out, struct mrl_err *err)
{
	struct gguf_str s;
	*out = NULL;
	int rc = m->gguf ? gguf_get_str(m->gguf, "tokenizer.chat_template", &s, err) : 1;
	if (rc < 0)
		return rc;
	if (rc == 0) {
		if (!(*out = strndup(s.ptr, (size_t)s.len)))
			return mrl_err_set(err, MRL_ENOMEM, "out of memory");
		return 0;
	}
	return m->hf || is_hf_tokenizer(m->path) ? hf_chat_template(m->path, out, err) : 0;
}
