/* derived.h — what the tests of models derived from fixtures share (eng_derived.c, eng_moe.c):
 * writing an HF folder of float32 tensors or a copy with another config.json, and holding a
 * model to transformers' logits committed in tests/data/<arch>/ (lastK.txt, cols2.txt,
 * greedy16.tsv: ci/make-derived-reference.py) and to llama.cpp's perplexity of its GGUF.
 * Static functions for a test's one translation unit; needs tests/tap.h and the headers
 * eng_derived.c includes.
 */
#ifndef MRL_TESTS_DERIVED_H
#define MRL_TESTS_DERIVED_H

#define N_GREEDY 16

/* A LoRA adapter folder the models below are opened with (eng_open_opts.lora), or NULL. */
static const char *derived_lora = NULL;

/* The whole of a file, malloc'd; NULL on failure. */
static inline unsigned char *read_all(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	long n = f && !fseek(f, 0, SEEK_END) ? ftell(f) : -1;
	if (n > 0 && !fseek(f, 0, SEEK_SET) && (buf = malloc((size_t)n)) && fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	if (f)
		fclose(f);
	*size = buf ? (size_t)n : 0;
	return buf;
}

static inline uint64_t f32_bits(float x)
{
	uint32_t u;
	memcpy(&u, &x, 4);
	return u;
}

static inline bool has_suffix(const char *s, const char *suf)
{
	size_t n = strlen(s), m = strlen(suf);
	return n >= m && !strcmp(s + n - m, suf);
}

/* A safetensors file being built: its header, its data; what the callbacks derive it by. */
struct st_out {
	json_t *h;
	unsigned char *data;
	size_t n, cap;
	int d;              /* the deriving callback's: which architecture */
	const char *prefix; /* st_moved: where "model." tensors go */
};

static inline void st_add(struct st_out *o, const char *name, const float *v, size_t rows, size_t cols)
{
	size_t bytes = rows * cols * sizeof(float);
	if (o->n + bytes > o->cap) {
		o->cap = 2 * (o->n + bytes);
		o->data = realloc(o->data, o->cap);
	}
	memcpy(o->data + o->n, v, bytes);
	json_t *shape = rows > 1 ? json_pack("[I, I]", (json_int_t)rows, (json_int_t)cols) : json_pack("[I]", (json_int_t)cols);
	json_object_set_new(o->h, name, json_pack("{s:s, s:o, s:[I, I]}", "dtype", "F32", "shape", shape, "data_offsets",
						  (json_int_t)o->n, (json_int_t)(o->n + bytes)));
	o->n += bytes;
}

/* dst: folder src with config.json cfg, its other files linked, and a model.safetensors of
 * what fn makes of each of src's tensors into o (then vision, where set: two image-side
 * tensors of zeros beside them). o is released. 0 or -1. */
static inline int rebuild_folder(const char *src, const char *dst, const char *cfg, struct st_out *o,
			  void (*fn)(void *, const char *, const float *, size_t, size_t), bool vision)
{
	char path[2048], abs_src[1024], cmd[4096];
	unsigned char *buf;
	const unsigned char *data;
	size_t n_data;
	snprintf(path, sizeof path, "%s/model.safetensors", src);
	json_t *h = st_load(path, &buf, &data, &n_data);
	const bool got = h && realpath(src, abs_src);
	if (got)
		st_foreach(h, data, fn, o);
	const float zeros[8] = { 0 };
	if (vision) {
		st_add(o, "vision_tower.vision_model.post_layernorm.weight", zeros, 1, 8);
		st_add(o, "multi_modal_projector.mm_soft_emb_norm.weight", zeros, 1, 8);
	}
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && for f in '%s'/*; do case \"$f\" in */config.json|"
		 "*/model.safetensors) ;; *) ln -s \"$(readlink -f \"$f\")\" '%s'/ ;; esac; done", dst, dst, abs_src, dst);
	int rc = got && o->data && !system(cmd) ? 0 : -1;
	snprintf(path, sizeof path, "%s/model.safetensors", dst);
	rc = rc ? rc : st_save(path, o->h, o->data, o->n);
	snprintf(path, sizeof path, "%s/config.json", dst);
	rc = rc ? rc : cli_write_file(path, cfg);
	json_decref(o->h);
	free(o->data);
	json_decref(h);
	free(buf);
	return rc;
}

/* ---- against transformers ---- */

/* Logits of every position of ids (malloc'd; NULL on failure, with a diag); *nv the vocabulary. */
static inline float *logits_of(const char *model, int n_threads, const int32_t *ids, size_t n, size_t *nv)
{
	struct eng_open_opts oo = { .n_threads = n_threads, .kv_f32 = true, .lora = derived_lora };
	size_t n_out = 0;
	float *lg = n ? fixture_logits_opts(model, &oo, ids, n, &n_out) : NULL;
	*nv = lg ? n_out / n : 0;
	return lg;
}

/* 16 greedy ids after ids, one token a step; how many equal greedy16.tsv's, and how many
 * leading steps of it have a top-2 margin above tol (*want). */
static inline int greedy_same(const char *model, const int32_t *ids, size_t n, const char *ref_dir, double tol, int *want)
{
	char path[1024], line[256];
	int ref[N_GREEDY], n_ref = 0;
	*want = 0;
	snprintf(path, sizeof path, "%s/greedy16.tsv", ref_dir);
	FILE *f = fopen(path, "r");
	bool margins = true;
	while (f && n_ref < N_GREEDY && fgets(line, sizeof line, f)) {
		double margin;
		if (sscanf(line, "%*d %d %*f %*d %*f %lf", &ref[n_ref], &margin) != 2)
			continue; /* the header */
		n_ref++;
		margins = margins && margin > tol;
		*want += margins;
	}
	if (f)
		fclose(f);
	struct eng_open_opts oo = { .n_threads = 2, .kv_f32 = true, .lora = derived_lora };
	struct eng_model *m = NULL;
	struct eng_ctx *c = NULL;
	struct mrl_err err = { 0 };
	int same = 0;
	float *lg = NULL;
	if (n_ref == N_GREEDY && !eng_model_open(&m, model, &oo, &err) && !eng_ctx_new(&c, m, 256, &err)) {
		struct eng_model_desc d;
		eng_model_describe(m, &d);
		lg = malloc(n * d.n_vocab * sizeof *lg);
		int rc = lg ? eng_decode(c, ids, n, lg, true, &err) : -1;
		const float *row = lg ? lg + (n - 1) * d.n_vocab : NULL;
		for (int s = 0; !rc && s < N_GREEDY; s++) {
			int32_t id = argmax(row, d.n_vocab);
			if (id != ref[s] || same != s)
				break;
			same++;
			rc = eng_decode(c, &id, 1, lg, false, &err);
			row = lg;
		}
	}
	free(lg);
	eng_ctx_free(c);
	eng_model_close(m);
	return same;
}

static inline void check_model(const char *label, const char *model, const char *ids_dir, const char *ref_dir, double tol)
{
	char path[1024], name[256];
	for (int k = 0; k < 3; k++) {
		size_t n = 0, nv = 0, n_ref = 0;
		snprintf(path, sizeof path, "%s/prompt%d.ids.txt", ids_dir, k);
		int32_t *ids = read_id_file(path, &n);
		snprintf(path, sizeof path, "%s/last%d.txt", ref_dir, k);
		float *ref = read_floats(path, &n_ref);
		float *lg = ids && n ? logits_of(model, 2, ids, n, &nv) : NULL;
		double d = lg && ref && n_ref == nv ? float_max_diff(lg + (n - 1) * nv, ref, nv) : INFINITY;
		snprintf(name, sizeof name, "%s prompt%d (%zu tokens): last-position logits within %g of transformers' "
			 "(max |diff| %.2g)", label, k, n, tol, d);
		ok(d <= tol, name);
		if (k == 2) {
			size_t n_cols = 0;
			snprintf(path, sizeof path, "%s/cols2.txt", ref_dir);
			float *cols = read_floats(path, &n_cols);
			const size_t per = nv / 16;
			double dc = lg && cols && n_cols == n * per ? 0 : INFINITY;
			for (size_t p = 0; isfinite(dc) && p < n; p++)
				for (size_t j = 0; j < per; j++)
					dc = fmax(dc, fabs((double)lg[p * nv + 16 * j] - (double)cols[p * per + j]));
			snprintf(name, sizeof name, "%s prompt2: every position's logits (every 16th id) within %g "
				 "(max |diff| %.2g)", label, tol, dc);
			ok(dc <= tol, name);
			free(cols);
		}
		if (k == 0) {
			int want = 0, same = greedy_same(model, ids, n, ref_dir, tol, &want);
			snprintf(name, sizeof name, "%s: greedy ids after prompt0 equal transformers' for the %d steps whose "
				 "margin exceeds %g (%d equal)", label, want, tol, same);
			ok(want > 0 && same >= want, name);
		}
		free(lg);
		free(ref);
		free(ids);
	}
}

/* The last logits of prompt2 fed 7 tokens a call, and all at once: the same bits (what a
 * micro-batch holds differs between the two: the tokens that share an expert's matrix, say). */
static inline void check_split(const char *label, const char *model, const char *ids_dir)
{
	char path[1024], name[256];
	size_t n = 0;
	snprintf(path, sizeof path, "%s/prompt2.ids.txt", ids_dir);
	int32_t *ids = read_id_file(path, &n);
	struct eng_open_opts oo = { .n_threads = 2, .lora = derived_lora };
	struct eng_model *m = NULL;
	struct eng_ctx *a = NULL, *b = NULL;
	struct mrl_err err = { 0 };
	float *la = NULL, *lb = NULL;
	int rc = !ids || eng_model_open(&m, model, &oo, &err) || eng_ctx_new(&a, m, 256, &err) ||
		 eng_ctx_new(&b, m, 256, &err);
	if (!rc) {
		struct eng_model_desc md;
		eng_model_describe(m, &md);
		la = malloc(md.n_vocab * sizeof *la);
		lb = malloc(md.n_vocab * sizeof *lb);
		rc = !la || !lb || eng_decode(a, ids, n, la, false, &err);
		for (size_t i = 0; !rc && i < n; i += 7)
			rc = eng_decode(b, ids + i, n - i < 7 ? n - i : 7, lb, false, &err);
		rc = rc || memcmp(la, lb, md.n_vocab * sizeof *la);
	}
	snprintf(name, sizeof name, "%s: prompt2 in calls of 7 tokens gives the bits of one call", label);
	ok(!rc, name);
	free(la);
	free(lb);
	eng_ctx_free(a);
	eng_ctx_free(b);
	eng_model_close(m);
	free(ids);
}

/* 1 vs 3 threads: the same bits on every position of prompt2 (the per-head norms split by rows;
 * prompt2 passes the window). */
static inline void check_threads(const char *label, const char *model, const char *ids_dir)
{
	char path[1024], name[256];
	size_t n = 0, na = 0, nb = 0;
	snprintf(path, sizeof path, "%s/prompt2.ids.txt", ids_dir);
	int32_t *ids = read_id_file(path, &n);
	float *a = ids ? logits_of(model, 1, ids, n, &na) : NULL, *b = ids ? logits_of(model, 3, ids, n, &nb) : NULL;
	snprintf(name, sizeof name, "%s: 1 and 3 threads give the same bits", label);
	ok(a && b && na == nb && !memcmp(a, b, n * na * sizeof *a), name);
	free(a);
	free(b);
	free(ids);
}

static inline void check_refused(const char *model, enum eng_backend be, int want_rc, const char *want, const char *name)
{
	struct eng_open_opts oo = { .n_threads = 1, .backend = be, .lora = derived_lora };
	struct eng_model *m = NULL;
	struct mrl_err err = { 0 };
	is_int(eng_model_open(&m, model, &oo, &err), want_rc, name);
	like(err.msg, want, "  ...and the message says what");
	eng_model_close(m);
}

/* ---- against llama.cpp ---- */

/* "Final estimate: PPL = X" of llama-perplexity, or "perplexity": X of merilo's --json; NAN when absent. */
static inline double ppl_in(const char *out, const char *marker)
{
	const char *p = out ? strstr(out, marker) : NULL;
	return p ? strtod(p + strlen(marker), NULL) : NAN;
}

static inline void check_llamacpp(const char *gguf, const char *text, double tol)
{
	const char *tools = "../shared/tools/llama.cpp", *merilo = cli_merilo();
	char bin[512], cmd[4096], name[640];
	snprintf(bin, sizeof bin, "%s/llama-perplexity", tools);
	if (access(bin, X_OK) || !merilo) {
		skip(merilo ? "../shared/tools/llama.cpp/llama-perplexity absent" : "MERILO not set",
		     "perplexity of the GGUF equals llama.cpp's");
		return;
	}
	char *lo = NULL, *mo = NULL;
	snprintf(cmd, sizeof cmd, "LD_LIBRARY_PATH=%s %s -m %s -f %s -c 128 -b 128 -t 2", tools, bin, gguf,
		 text);
	int lrc = cli_capture(&lo, cmd);
	snprintf(cmd, sizeof cmd, "%s perplexity --model %s --file %s --ctx 128 --threads 2 --json --quiet", merilo,
		 gguf, text);
	int mrc = cli_capture(&mo, cmd);
	double l = ppl_in(lo, "Final estimate: PPL = "), m = ppl_in(mo, "\"perplexity\": ");
	diag("perplexity of %s (ctx 128, f16 KV cache): llama.cpp %.6f, merilo %.6f", gguf, l, m);
	if (lrc || !isfinite(l))
		diag("llama-perplexity (exit %d): %.2000s", lrc, lo ? lo : "");
	snprintf(name, sizeof name, "perplexity of %s within %g of llama.cpp's (relative %.2g)", gguf, tol, fabs(m / l - 1));
	ok(!lrc && !mrc && fabs(m / l - 1) <= tol, name);
	free(lo);
	free(mo);
}

/* A copy of folder src with config.json cfg (the other files linked); 0 or -1. */
static inline int with_config(const char *src, const char *dst, const char *cfg)
{
	char cmd[2048], path[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && for f in '%s'/*; do ln -s \"$f\" '%s'/; done && "
		 "rm '%s/config.json'", dst, dst, src, dst, dst);
	snprintf(path, sizeof path, "%s/config.json", dst);
	return system(cmd) || cli_write_file(path, cfg) ? -1 : 0;
}

#endif
