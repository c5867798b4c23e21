/* eng_model.c — opening models: description, metadata, and every way a file can be wrong.
 *
 * A fixture model opens and describes itself from its metadata; a
 * vocabulary-only file tokenizes but has no context; missing files, truncated
 * files, unknown architectures, missing keys, missing tensors and tensors of
 * the wrong shape each give a one-line error naming the file and the culprit.
 * Damaged models are written with the GGUF writer from the f32 fixture.
 */
#include "tests/tap.h"

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "engine/eng.h"
#include "engine/gguf.h"
#include "tests/gguf_edit.h"

static void expect_fail(const char *src, const char *tmp, struct gguf_edit e, int code, const char *needle,
			const char *name)
{
	struct eng_model *m = NULL;
	struct mrl_err err = { 0 };
	if (gguf_rewrite(src, tmp, e)) {
		ok(0, name);
		diag("could not write the damaged model");
		return;
	}
	int rc = eng_model_open(&m, tmp, NULL, &err);
	if (!ok(rc == code && m == NULL && strstr(err.msg, needle) && strstr(err.msg, tmp) && !strchr(err.msg, '\n'),
		name))
		diag("rc %d, message: %s\nwanted code %d and '%s'", rc, err.msg, code, needle);
	eng_model_close(m);
}

static char f32_path[1024], vocab_path[1024], tmp[256]; /* the f32 fixture, a vocabulary-only file, a scratch file */

/* The f32 fixture opens and describes itself from its metadata. */
static void t_describe(void)
{
	struct mrl_err err = { 0 };
	struct eng_model *m = NULL;
	int rc = eng_model_open(&m, f32_path, NULL, &err);
	if (!ok(rc == 0, "the f32 fixture opens"))
		diag("%s", err.msg);
	if (!m)
		return;
	struct eng_model_desc d;
	eng_model_describe(m, &d);
	is_str(d.arch, "llama", "architecture from general.architecture");
	ok(d.has_weights, "has weights");
	is_int(d.n_vocab, 32000, "n_vocab");
	is_int(d.n_embd, 64, "n_embd");
	is_int(d.n_layer, 4, "n_layer");
	is_int(d.n_head, 8, "n_head");
	is_int(d.n_head_kv, 4, "n_head_kv");
	is_int(d.n_ff, 192, "n_ff");
	is_int(d.n_ctx_train, 256, "n_ctx_train");
	/* K and V of a token: 2 x 4 layers x 4 KV heads x head size 8 x 2 bytes (f16 cache) */
	is_int((long long)d.kv_bytes_per_token, 512, "KV bytes per token, f16 cache");
	struct eng_open_opts o32 = { .kv_f32 = true };
	struct eng_model *m32 = NULL;
	if (ok(eng_model_open(&m32, f32_path, &o32, &err) == 0, "the f32 fixture opens with an f32 KV cache")) {
		struct eng_model_desc d32;
		eng_model_describe(m32, &d32);
		is_int((long long)d32.kv_bytes_per_token, 1024, "KV bytes per token, f32 cache: twice the f16 figure");
	}
	eng_model_close(m32);
	is_near(d.norm_eps, 1e-5, 1e-12, "rms eps");
	is_near(d.rope_freq_base, 1e4, 0, "rope base");
	is_int(d.bos_id, 1, "bos id");
	is_int(d.eos_id, 2, "eos id");
	ok(d.add_bos, "llama vocabulary adds BOS");
	ok(!d.tied_output, "output matrix is separate");
	ok(d.n_params > 4000000 && d.weight_bytes == d.n_params * 4, "f32: 4 bytes per parameter");
	is_int(eng_model_n_tensors(m), 2 + 1 + 4 * 9, "tensor count: embd, norm, output + 9 per layer");
	struct eng_tensor_info ti;
	bool found = false;
	for (size_t i = 0; i < eng_model_n_tensors(m); i++) {
		eng_model_tensor_info(m, i, &ti);
		if (!strcmp(ti.name, "blk.0.attn_k.weight"))
			found = ti.ne[0] == 64 && ti.ne[1] == 32 && !strcmp(ti.type_name, "f32") && ti.nbytes == 64 * 32 * 4;
	}
	ok(found, "tensor info of blk.0.attn_k.weight: [64, 32] f32");
	char buf[256];
	bool meta = false;
	for (size_t i = 0; i < eng_model_n_meta(m); i++) {
		const char *key = eng_model_meta(m, i, buf, sizeof buf);
		if (key && !strcmp(key, "llama.block_count"))
			meta = !strcmp(buf, "4");
	}
	ok(meta, "metadata entry llama.block_count = 4");
	eng_model_close(m);
}

/* A context holds as many positions as it was made with, and only valid tokens. */
static void t_context(void)
{
	struct mrl_err err = { 0 };
	struct eng_model *m = NULL;
	if (eng_model_open(&m, f32_path, NULL, &err)) {
		ok(0, "the f32 fixture opens");
		diag("%s", err.msg);
		return;
	}
	struct eng_ctx *c = NULL;
	ok(eng_ctx_new(&c, m, 8, &err) == 0, "a context of 8 positions");
	int32_t toks[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	int32_t bad = 32000;
	is_int(eng_decode(c, &bad, 1, NULL, false, &err), MRL_EINPUT, "token id n_vocab is rejected");
	is_int(eng_decode(c, toks, 9, NULL, false, &err), MRL_EINPUT, "9 tokens do not fit 8 positions");
	like(err.msg, "do not fit", "the message says so");
	is_int(eng_decode(c, toks, 8, NULL, false, &err), 0, "8 tokens fit");
	is_int(eng_ctx_pos(c), 8, "position 8");
	eng_ctx_truncate(c, 3);
	is_int(eng_ctx_pos(c), 3, "truncate to 3");
	eng_ctx_free(c);
	eng_model_close(m);
}

static void t_vocab_only(void)
{
	struct mrl_err err = { 0 };
	struct eng_model *m = NULL;
	int rc = eng_model_open(&m, vocab_path, NULL, &err);
	ok(rc == 0, "a vocabulary-only GGUF opens");
	if (m) {
		struct eng_model_desc d;
		eng_model_describe(m, &d);
		ok(!d.has_weights, "and has no weights");
		is_int(d.n_vocab, 32000, "its vocabulary size");
		struct eng_ctx *c = NULL;
		is_int(eng_ctx_new(&c, m, 0, &err), MRL_EINPUT, "it cannot make a context");
		like(err.msg, "vocabulary-only", "the message says why");
		eng_model_close(m);
		m = NULL;
	}
	struct eng_open_opts vo = { .vocab_only = true };
	rc = eng_model_open(&m, f32_path, &vo, &err);
	if (m) {
		struct eng_model_desc d;
		eng_model_describe(m, &d);
		ok(rc == 0 && !d.has_weights, "vocab_only opens a full model without its weights");
		eng_model_close(m);
	} else {
		ok(0, "vocab_only opens a full model without its weights");
	}
}

static void t_missing_truncated(void)
{
	struct mrl_err err = { 0 };
	struct eng_model *m = NULL;
	is_int(eng_model_open(&m, "/nonexistent/model.gguf", NULL, &err), MRL_EIO, "a missing file is MRL_EIO");
	like(err.msg, "/nonexistent/model.gguf", "the message names the file");
	FILE *in = fopen(f32_path, "rb"), *out = fopen(tmp, "wb");
	char b[65536];
	size_t n = in ? fread(b, 1, sizeof b, in) : 0;
	if (out) {
		fwrite(b, 1, n, out);
		fclose(out);
	}
	if (in)
		fclose(in);
	int rc = eng_model_open(&m, tmp, NULL, &err);
	ok(rc == MRL_EINPUT && m == NULL, "a file truncated to 64 KiB is MRL_EINPUT");
	like(err.msg, tmp, "the message names the file");
}

static void t_qwen2(const char *fx)
{
	char path[1024];
	struct mrl_err err = { 0 };
	struct eng_model *m = NULL;
	snprintf(path, sizeof path, "%s/models/tiny-qwen2-f32.gguf", fx);
	is_int(eng_model_open(&m, path, NULL, &err), 0, "qwen2 opens");
	if (m) {
		struct eng_model_desc qd;
		eng_model_describe(m, &qd);
		is_str(qd.arch, "qwen2", "qwen2 is described as qwen2");
		eng_model_close(m);
	}
}

static void t_damaged_named(void)
{
	const char *path = f32_path;
	expect_fail(path, tmp, (struct gguf_edit){ .arch = "mamba" }, MRL_EUNSUPPORTED,
		    "unsupported architecture 'mamba' (supported: llama, qwen2, qwen3, qwen2moe, qwen3moe, gpt2, gemma2, gemma3, phi3)", "an unknown architecture is named");
	expect_fail(path, tmp, (struct gguf_edit){ .drop_key = "llama.attention.layer_norm_rms_epsilon" }, MRL_EINPUT,
		    "'llama.attention.layer_norm_rms_epsilon' is missing", "a missing rms eps is named");
	expect_fail(path, tmp, (struct gguf_edit){ .drop_key = "llama.embedding_length" }, MRL_EINPUT,
		    "'llama.embedding_length' is missing", "a missing embedding length is named");
	expect_fail(path, tmp, (struct gguf_edit){ .drop_tensor = "blk.3.ffn_down.weight" }, MRL_EINPUT,
		    "tensor 'blk.3.ffn_down.weight' is missing", "a missing tensor is named");
	expect_fail(path, tmp, (struct gguf_edit){ .bad_shape = "blk.1.attn_k.weight" }, MRL_EINPUT,
		    "'blk.1.attn_k.weight' has shape", "a tensor of the wrong shape is named");
	expect_fail(path, tmp, (struct gguf_edit){ .bad_shape = "blk.0.ffn_up.weight" }, MRL_EINPUT,
		    "'blk.0.ffn_up.weight' has shape [192, 64, 1, 1], expected [64, 192]",
		    "the shape message gives both shapes");
	expect_fail(path, tmp, (struct gguf_edit){ .f32 = { { "llama.rope.scaling.factor", 4.0f } },
						   .str_key = "llama.rope.scaling.type", .str_val = "longrope" },
		    MRL_EUNSUPPORTED, "rope scaling type 'longrope' (metadata 'llama.rope.scaling.type') is not "
		    "implemented (supported: none, linear, yarn; longrope for phi3)", "rope scaling longrope on llama is refused, named");
	expect_fail(path, tmp, (struct gguf_edit){ .f32 = { { "llama.rope.scaling.factor", -2.0f } } }, MRL_EINPUT,
		    "'llama.rope.scaling.factor' (-2) or attn_factor (1) is out of range",
		    "a negative rope scaling factor is refused, named");
}

/* Rope scaling in the metadata, read as llama.cpp reads it (docs/engine.md; the figures
 * against llama.cpp: eng_conformance_real). Until 2026-12-06 a factor was refused and an
 * attention factor ignored (the file computed unscaled, exit 0). */
static void t_rope_scaling(void)
{
	const struct { /* automatic: its yarn row computes logf, which clang does not fold */
		struct gguf_edit e;
		const char *scaling;
		float factor, attn;
		const char *name;
	} cases[] = {
		{ { .f32 = { { "llama.rope.scaling.factor", 4.0f } }, .str_key = "llama.rope.scaling.type",
		    .str_val = "linear" }, "linear", 4.0f, 1.0f, "linear x4" },
		{ { .f32 = { { "llama.rope.scale_linear", 2.0f } } }, "linear", 2.0f, 1.0f,
		  "the older rope.scale_linear 2, no type: linear x2" },
		{ { .f32 = { { "llama.rope.scaling.factor", 4.0f } }, .str_key = "llama.rope.scaling.type",
		    .str_val = "none" }, "none", 1.0f, 1.0f, "type none with a factor: unscaled (as llama.cpp)" },
		{ { .f32 = { { "llama.rope.scaling.factor", 1.0f } }, .str_key = "llama.rope.scaling.type",
		    .str_val = "linear" }, "none", 1.0f, 1.0f, "a factor of 1: unscaled" },
		{ { .f32 = { { "llama.rope.scaling.attn_factor", 1.5f } } }, "none", 1.0f, 1.5f,
		  "an attention factor alone applies (as llama.cpp)" },
		/* YaRN: cos and sin times attn_factor x (1 + 0.1 ln 4) */
		{ { .f32 = { { "llama.rope.scaling.factor", 4.0f }, { "llama.rope.scaling.attn_factor", 1.2f } },
		    .u32_key = "llama.rope.scaling.original_context_length", .u32_val = 64,
		    .str_key = "llama.rope.scaling.type", .str_val = "yarn" }, "yarn", 4.0f, 1.2f * (1.0f + 0.1f * logf(4.0f)),
		  "yarn x4 with attn_factor 1.2" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		struct eng_model *m = NULL;
		struct mrl_err err = { 0 };
		char name[160];
		snprintf(name, sizeof name, "rope scaling %s opens", cases[i].name);
		if (!ok(gguf_rewrite(f32_path, tmp, cases[i].e) == 0 && eng_model_open(&m, tmp, NULL, &err) == 0, name)) {
			diag("%s", err.msg);
			continue;
		}
		struct eng_model_desc d;
		eng_model_describe(m, &d);
		is_str(d.rope_scaling, cases[i].scaling, "  ...and is described with its type");
		is_near(d.rope_scale_factor, cases[i].factor, 1e-6, "  ...its factor");
		is_near(d.rope_attn_factor, cases[i].attn, 1e-6, "  ...and its attention factor");
		eng_model_close(m);
	}
}

/* No output.weight: the output matrix is tied to the embedding. */
static void t_tied_output(void)
{
	struct mrl_err err = { 0 };
	struct eng_model *m = NULL;
	if (gguf_rewrite(f32_path, tmp, (struct gguf_edit){ .drop_tensor = "output.weight" }) == 0 &&
	    eng_model_open(&m, tmp, NULL, &err) == 0) {
		struct eng_model_desc d;
		eng_model_describe(m, &d);
		ok(d.tied_output, "without output.weight the output is tied to token_embd");
		struct eng_ctx *c = NULL;
		float *lg = malloc(d.n_vocab * sizeof *lg);
		int32_t t[2] = { 1, 100 };
		ok(eng_ctx_new(&c, m, 4, &err) == 0 && eng_decode(c, t, 2, lg, false, &err) == 0,
		   "and it decodes");
		free(lg);
		eng_ctx_free(c);
		eng_model_close(m);
	} else {
		ok(0, "without output.weight the output is tied to token_embd");
		diag("%s", err.msg);
	}
}

int main(void)
{
	const char *fx = fixtures_dir();
	if (!fx)
		skip_all("fixtures absent: ../shared/fixtures");
	snprintf(f32_path, sizeof f32_path, "%s/models/tiny-llama-ff192-f32.gguf", fx);
	snprintf(vocab_path, sizeof vocab_path, "%s/tokenizer/ggml-vocab-llama-spm.gguf", fx);
	snprintf(tmp, sizeof tmp, "/tmp/merilo-eng-model-%d.gguf", (int)getpid());
	TEST(t_describe(), "a fixture model opens and describes itself from its metadata");
	TEST(t_context(), "a context takes as many positions as it was made with, and valid tokens only");
	TEST(t_vocab_only(), "a vocabulary-only file tokenizes but has no context");
	TEST(t_missing_truncated(), "a missing or truncated file fails, naming the file");
	TEST(t_qwen2(fx), "a qwen2 model opens as qwen2");
	TEST(t_damaged_named(), "an unknown architecture, a missing key or tensor, a wrong shape: one line naming it");
	TEST(t_rope_scaling(), "rope scaling in the metadata is read as llama.cpp reads it");
	TEST(t_tied_output(), "without output.weight the output is tied to the embedding");
	unlink(tmp);
	return done_testing();
}
