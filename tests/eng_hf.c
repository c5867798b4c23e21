/* eng_hf.c — merilo's engine on the tiny HF checkpoints of fixtures/hf.
 *
 * Two oracles, each for its own format (fixtures/hf/README.md): llama.cpp's
 * outputs (F32 KV cache) for the GGUF conversions in hf/gguf/, and
 * transformers' for the safetensors folders. Per model: the last-position
 * logits of three prompts and every position of the 40-token prompt within
 * 1e-4 (f32 weights, f32 KV cache), and the 16 greedy ids after prompt0.
 */
#include "tests/tap.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/eng.h"

#define N_GREEDY 16
#define TOL 1e-4

static float *read_floats(const char *path, size_t *n)
{
	FILE *f = fopen(path, "r");
	*n = 0;
	if (!f)
		return NULL;
	size_t cap = 1024, len = 0;
	float *v = malloc(cap * sizeof *v);
	double x;
	while (v && fscanf(f, "%lf", &x) == 1) {
		if (len == cap) {
			float *nv = realloc(v, (cap *= 2) * sizeof *v);
			if (!nv) {
				free(v);
				v = NULL;
				break;
			}
			v = nv;
		}
		v[len++] = (float)x;
	}
	fclose(f);
	*n = len;
	return v;
}

static int argmax(const float *v, size_t n)
{
	size_t best = 0;
	for (size_t i = 1; i < n; i++)
		if (v[i] > v[best])
			best = i;
	return (int)best;
}

static double max_diff(const float *a, const float *b, size_t n)
{
	double m = 0;
	for (size_t i = 0; i < n; i++) {
		double d = fabs((double)a[i] - (double)b[i]);
		if (!(d <= m))
			m = d;
	}
	return m;
}

/* ids of prompt k, as ints */
static int32_t *read_ids(const char *dir, int k, size_t *n)
{
	char path[2048];
	snprintf(path, sizeof path, "%s/prompt%d.ids.txt", dir, k);
	size_t nf = 0;
	float *f = read_floats(path, &nf);
	int32_t *ids = f && nf ? malloc(nf * sizeof *ids) : NULL;
	for (size_t i = 0; ids && i < nf; i++)
		ids[i] = (int32_t)f[i];
	free(f);
	*n = ids ? nf : 0;
	return ids;
}

/* model: a GGUF or an HF folder; ids_dir: where prompt<k>.ids.txt are; ref_dir: the oracle's outputs. */
static void check_model(const char *label, const char *model, const char *ids_dir, const char *ref_dir)
{
	char name[512], path[2048];
	struct eng_open_opts oo = { .n_threads = 2, .kv_f32 = true };
	struct eng_model *m = NULL;
	struct mrl_err err = { 0 };
	snprintf(name, sizeof name, "%s: opens", label);
	if (!ok(eng_model_open(&m, model, &oo, &err) == 0, name)) {
		diag("%s", err.msg);
		return;
	}
	struct eng_model_desc desc;
	eng_model_describe(m, &desc);
	size_t nv = desc.n_vocab;
	for (int k = 0; k < 3; k++) {
		size_t n_ids = 0;
		int32_t *ids = read_ids(ids_dir, k, &n_ids);
		snprintf(path, sizeof path, "%s/prompt%d.last-logits.txt", ref_dir, k);
		size_t n_ref = 0;
		float *ref = read_floats(path, &n_ref);
		float *logits = malloc(n_ids * nv * sizeof *logits + 1);
		struct eng_ctx *c = NULL;
		int rc = ids && ref && n_ref == nv ? eng_ctx_new(&c, m, 256, &err) : -1;
		if (rc == 0)
			rc = eng_decode(c, ids, n_ids, logits, true, &err);
		snprintf(name, sizeof name, "%s prompt%d: decodes", label, k);
		if (ok(rc == 0, name)) {
			double d = max_diff(logits + (n_ids - 1) * nv, ref, nv);
			diag("%s prompt%d: last-position logits max |diff| %.3g", label, k, d);
			snprintf(name, sizeof name, "%s prompt%d: last-position logits within %g", label, k, TOL);
			ok(d <= TOL, name);
			if (k == 1) {
				snprintf(path, sizeof path, "%s/prompt1.all-logits.txt", ref_dir);
				size_t n_all = 0;
				float *all = read_floats(path, &n_all);
				snprintf(name, sizeof name, "%s prompt1: logits of all %zu positions within %g", label,
					 n_ids, TOL);
				if (all && n_all == n_ids * nv) {
					d = max_diff(logits, all, n_all);
					diag("%s prompt1: all-position logits max |diff| %.3g", label, d);
					ok(d <= TOL, name);
				} else {
					skip("no all-logits reference", name);
				}
				free(all);
			}
			if (k == 0) {
				int got[N_GREEDY];
				const float *row = logits + (n_ids - 1) * nv;
				int s;
				for (s = 0; s < N_GREEDY; s++) {
					got[s] = argmax(row, nv);
					if (eng_decode(c, &got[s], 1, logits, false, &err))
						break;
					row = logits;
				}
				snprintf(path, sizeof path, "%s/greedy16.txt", ref_dir);
				size_t n_g = 0;
				float *g = read_floats(path, &n_g);
				int same = 0;
				while (g && n_g == N_GREEDY && same < s && got[same] == (int)g[same])
					same++;
				diag("%s: %d of 16 greedy ids equal the reference", label, same);
				snprintf(name, sizeof name, "%s: 16 greedy ids equal the reference", label);
				ok(same == N_GREEDY, name);
				free(g);
			}
		} else {
			diag("%s", rc == -1 ? "reference files missing" : err.msg);
		}
		eng_ctx_free(c);
		free(logits);
		free(ref);
		free(ids);
	}
	eng_model_close(m);
}

/* Logits of every position of ids from model with n_threads; malloc'd, NULL on failure. */
static float *all_logits(const char *model, int n_threads, const int32_t *ids, size_t n, size_t *n_out)
{
	struct eng_open_opts oo = { .n_threads = n_threads, .kv_f32 = true };
	struct eng_model *m = NULL;
	struct eng_ctx *c = NULL;
	struct mrl_err err = { 0 };
	float *lg = NULL;
	if (eng_model_open(&m, model, &oo, &err) == 0 && eng_ctx_new(&c, m, 256, &err) == 0) {
		struct eng_model_desc d;
		eng_model_describe(m, &d);
		*n_out = n * d.n_vocab;
		lg = malloc(*n_out * sizeof *lg);
		if (lg && eng_decode(c, ids, n, lg, true, &err)) {
			free(lg);
			lg = NULL;
		}
	}
	if (!lg)
		diag("%s: %s", model, err.msg);
	eng_ctx_free(c);
	eng_model_close(m);
	return lg;
}

/* A folder in tmp: every file of src linked, config.json replaced by cfg
 * (NULL: linked too), and extra_name/extra_text written when given. */
static int make_folder(const char *tmp, const char *src, const char *cfg, const char *extra_name,
		       const char *extra_text)
{
	char cmd[8192], abs_src[4096];
	if (!realpath(src, abs_src))
		return -1;
	snprintf(cmd, sizeof cmd, "rm -rf '%s' && mkdir -p '%s' && for f in '%s'/*; do ln -s \"$f\" '%s'/; done",
		 tmp, tmp, abs_src, tmp);
	if (system(cmd))
		return -1;
	char path[4600];
	if (cfg) {
		snprintf(path, sizeof path, "%s/config.json", tmp);
		unlink(path);
		FILE *f = fopen(path, "w");
		if (!f)
			return -1;
		fputs(cfg, f);
		fclose(f);
	}
	if (extra_name) {
		snprintf(path, sizeof path, "%s/%s", tmp, extra_name);
		unlink(path);
		FILE *f = fopen(path, "w");
		if (!f)
			return -1;
		fputs(extra_text, f);
		fclose(f);
	}
	return 0;
}

static void check_bad_folders(const char *hf)
{
	static const char base[] =
		"{\"model_type\": \"llama\", \"hidden_size\": 64, \"num_hidden_layers\": 4, "
		"\"num_attention_heads\": 4, \"num_key_value_heads\": 2, \"intermediate_size\": 128, "
		"\"vocab_size\": 512, \"max_position_embeddings\": 256, \"rms_norm_eps\": 1e-5, "
		"\"tie_word_embeddings\": true%s}";
	struct {
		const char *src, *cfg_extra, *extra_name, *extra_text, *want, *name;
		int code;
	} cases[] = {
		{ "llama", ", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}", NULL, NULL,
		  "rope_scaling type 'yarn' is not implemented", "a rope_scaling type not implemented is named",
		  MRL_EUNSUPPORTED },
		{ "llama", ", \"hidden_act\": \"gelu\"", NULL, NULL, "hidden_act 'gelu'",
		  "an activation not implemented is named", MRL_EUNSUPPORTED },
		{ "llama", ", \"mlp_bias\": true", NULL, NULL, "'mlp_bias'", "mlp_bias true is refused",
		  MRL_EUNSUPPORTED },
		{ "llama", ", \"vocab_size\": 1000", NULL, NULL, "vocab_size", "a vocab_size the embedding disagrees "
		  "with is named", MRL_EINPUT },
		{ "llama", ", \"num_key_value_heads\": 3", NULL, NULL, "num_key_value_heads 3",
		  "heads that do not divide are named", MRL_EINPUT },
		{ "llama", "x", NULL, NULL, "config.json", "a malformed config.json is named", MRL_EINPUT },
		{ "llama-sharded", "", "model.safetensors.index.json",
		  "{\"weight_map\": {\"model.embed_tokens.weight\": \"../llama/model.safetensors\"}}",
		  "expected a .safetensors file name in the folder", "an index entry outside the folder is refused",
		  MRL_EINPUT },
		{ "llama", "", "model.safetensors", "\x08\x00\x00\x00\x00\x00\x00\x00{}",
		  "too short", "a truncated safetensors file is refused", MRL_EINPUT },
	};
	char tmp[256], src[1024], cfg[2048];
	snprintf(tmp, sizeof tmp, "/tmp/merilo-eng-hf-%d", (int)getpid());
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		snprintf(src, sizeof src, "%s/%s", hf, cases[i].src);
		/* a duplicate key (vocab_size) is allowed by the parser: the last one wins, as in Python */
		snprintf(cfg, sizeof cfg, base, cases[i].cfg_extra);
		if (make_folder(tmp, src, cfg, cases[i].extra_name, cases[i].extra_text)) {
			skip("could not make a temporary folder", cases[i].name);
			continue;
		}
		struct eng_model *m = NULL;
		struct mrl_err err = { 0 };
		int rc = eng_model_open(&m, tmp, NULL, &err);
		if (!ok(rc == cases[i].code && m == NULL, cases[i].name))
			diag("rc %d, want %d: %s", rc, cases[i].code, err.msg);
		like(err.msg, cases[i].want, "  ...and the message says what");
		eng_model_close(m);
	}
	char cmd[600];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (system(cmd))
		diag("could not remove %s", tmp);
}

int main(void)
{
	const char *fx = fixtures_dir();
	char hf[512];
	struct stat st;
	snprintf(hf, sizeof hf, "%s/hf", fx ? fx : ".");
	if (!fx || stat(hf, &st) != 0)
		skip_all("fixtures absent: ../shared/fixtures/hf");
	/* GGUF conversions against llama.cpp */
	/* mistral: llama.cpp runs it without its window (README A2), as merilo does from GGUF */
	static const char *const gguf_archs[] = { "qwen2", "llama", "mistral" };
	for (size_t i = 0; i < sizeof gguf_archs / sizeof gguf_archs[0]; i++) {
		char label[128], model[1024], ids[1024], ref[1024];
		snprintf(label, sizeof label, "gguf/%s-f32", gguf_archs[i]);
		snprintf(model, sizeof model, "%s/gguf/%s-f32.gguf", hf, gguf_archs[i]);
		snprintf(ids, sizeof ids, "%s/expected/%s", hf, gguf_archs[i]);
		snprintf(ref, sizeof ref, "%s/expected/%s/llamacpp", hf, gguf_archs[i]);
		check_model(label, model, ids, ref);
	}
	/* HF folders against transformers */
	static const struct { const char *dir, *ref; } folders[] = {
		{ "qwen2", "qwen2" }, { "qwen2-bf16", "qwen2-bf16" }, { "llama", "llama" },
		{ "llama-bf16", "llama-bf16" }, { "llama-sharded", "llama" },
		{ "mistral", "mistral" }, { "mistral-bf16", "mistral-bf16" }, /* sliding window 16 */
	};
	for (size_t i = 0; i < sizeof folders / sizeof folders[0]; i++) {
		char label[128], model[1024], ref[1024];
		snprintf(label, sizeof label, "hf/%s", folders[i].dir);
		snprintf(model, sizeof model, "%s/%s", hf, folders[i].dir);
		snprintf(ref, sizeof ref, "%s/expected/%s", hf, folders[i].ref);
		check_model(label, model, ref, ref);
	}
	/* what is not implemented is refused by name */
	struct { const char *dir, *want; } refused[] = {
		{ "gemma2", "unsupported model_type 'gemma2'" },
		{ "gpt2", "unsupported model_type 'gpt2'" },
	};
	for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
		char model[1024], name[256];
		snprintf(model, sizeof model, "%s/%s", hf, refused[i].dir);
		struct eng_model *m = NULL;
		struct mrl_err err = { 0 };
		snprintf(name, sizeof name, "hf/%s is refused as MRL_EUNSUPPORTED", refused[i].dir);
		is_int(eng_model_open(&m, model, NULL, &err), MRL_EUNSUPPORTED, name);
		snprintf(name, sizeof name, "hf/%s: the message names what is missing", refused[i].dir);
		like(err.msg, refused[i].want, name);
		eng_model_close(m);
	}
	/* 1 vs 3 threads: the same bits, windowed attention included */
	{
		char model[1024], ids_dir[1024];
		snprintf(model, sizeof model, "%s/mistral", hf);
		snprintf(ids_dir, sizeof ids_dir, "%s/expected/mistral", hf);
		size_t n_ids = 0, na = 0, nb = 0;
		int32_t *ids = read_ids(ids_dir, 2, &n_ids);
		float *a = ids ? all_logits(model, 1, ids, n_ids, &na) : NULL;
		float *b = ids ? all_logits(model, 3, ids, n_ids, &nb) : NULL;
		ok(a && b && na == nb && !memcmp(a, b, na * sizeof *a),
		   "hf/mistral: logits of all 100 positions are bit-identical with 1 and 3 threads");
		free(a);
		free(b);
		free(ids);
	}
	check_bad_folders(hf);
	return done_testing();
}
