/* eng_hf_long.c — an HF checkpoint at long positions against transformers.
 *
 * A Llama with one 128-wide head in each of 2 layers, its weights drawn from the
 * xorshift64* generator of tests/data/hf-long/make-expected.py (seed 20261206: the same
 * floats here and there, so no weights are committed), written as an HF folder, runs
 * 3000 ids; its logits at positions 999, 1999 and 2999 are held to transformers 5.25's
 * float64 ones (tests/data/hf-long/logits.txt) within 1e-4. The rope angle decides it:
 * transformers takes pos x inv_freq as one float32 product, ggml (and merilo until
 * 2026-12-06, for HF folders too) advances the angle by a running product whose error
 * grows with the pair and the position. The tokenizer is fixtures/hf/llama's.
 */
#include "tests/tap.h"
#include "tests/cli.h"
#include "tests/float_oracle.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "engine/eng.h"

#define D 128
#define FF 256
#define VOCAB 512
#define N_IDS 3000
#define TOL 1e-4

#define N_LAYERS 2

struct tensor {
	char name[64];
	int rows, cols;
	float scale; /* 0: a norm, all ones (draws nothing) */
};

/* One layer's tensors, under model.layers.<l>. */
static const struct {
	const char *name;
	int rows, cols;
	float scale;
} per_layer[] = {
	{ "self_attn.q_proj.weight", D, D, 0.3f },   { "self_attn.k_proj.weight", D, D, 0.3f },
	{ "self_attn.v_proj.weight", D, D, 0.1f },   { "self_attn.o_proj.weight", D, D, 0.1f },
	{ "mlp.gate_proj.weight", FF, D, 0.1f },     { "mlp.up_proj.weight", FF, D, 0.1f },
	{ "mlp.down_proj.weight", D, FF, 0.1f },     { "input_layernorm.weight", 1, D, 0 },
	{ "post_attention_layernorm.weight", 1, D, 0 },
};
#define PER_LAYER (sizeof per_layer / sizeof per_layer[0])
#define N_TENSORS (N_LAYERS * PER_LAYER + 3)

/* The i-th tensor in make-expected.py's order (transformers' state_dict): the embedding,
 * each layer's, the final norm, the output matrix. */
static struct tensor tensor_at(size_t i)
{
	struct tensor t = { "model.embed_tokens.weight", VOCAB, D, 1.0f };
	if (i >= 1 && i <= N_LAYERS * PER_LAYER) {
		const size_t k = (i - 1) % PER_LAYER;
		snprintf(t.name, sizeof t.name, "model.layers.%zu.%s", (i - 1) / PER_LAYER, per_layer[k].name);
		t.rows = per_layer[k].rows, t.cols = per_layer[k].cols, t.scale = per_layer[k].scale;
	} else if (i == N_LAYERS * PER_LAYER + 1) {
		t = (struct tensor){ "model.norm.weight", 1, D, 0 };
	} else if (i > 0) {
		t = (struct tensor){ "lm_head.weight", VOCAB, D, 0.2f };
	}
	return t;
}

/* make-expected.py's generator: xorshift64*, the top 24 bits as a float in [-1, 1) (exact). */
static float next_float(uint64_t *s, float scale)
{
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	const uint64_t r = *s * 0x2545F4914F6CDD1DULL;
	return (float)(((double)(r >> 40) / (double)(1 << 24) * 2.0 - 1.0) * scale);
}

/* dir/model.safetensors with every tensor, F32. 0 on success. */
static int write_weights(const char *dir)
{
	char header[8192], path[600];
	size_t off = 0, len = 0;
	len += (size_t)snprintf(header + len, sizeof header - len, "{");
	for (size_t i = 0; i < N_TENSORS; i++) {
		const struct tensor t = tensor_at(i);
		const size_t n = (size_t)t.rows * (size_t)t.cols * 4;
		if (t.rows == 1)
			len += (size_t)snprintf(header + len, sizeof header - len,
						"%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%d],\"data_offsets\":[%zu,%zu]}",
						i ? "," : "", t.name, t.cols, off, off + n);
		else
			len += (size_t)snprintf(header + len, sizeof header - len,
						"%s\"%s\":{\"dtype\":\"F32\",\"shape\":[%d,%d],\"data_offsets\":[%zu,%zu]}",
						i ? "," : "", t.name, t.rows, t.cols, off, off + n);
		off += n;
	}
	len += (size_t)snprintf(header + len, sizeof header - len, "}");
	while (len % 8) /* the data starts 8-aligned */
		header[len++] = ' ';
	snprintf(path, sizeof path, "%s/model.safetensors", dir);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	uint8_t hl[8];
	for (int b = 0; b < 8; b++)
		hl[b] = (uint8_t)((uint64_t)len >> (8 * b));
	int rc = fwrite(hl, 1, 8, f) != 8 || fwrite(header, 1, len, f) != len;
	uint64_t s = 20261206;
	for (size_t i = 0; !rc && i < N_TENSORS; i++) {
		const struct tensor t = tensor_at(i);
		const size_t n = (size_t)t.rows * (size_t)t.cols;
		float *v = malloc(n * sizeof *v);
		for (size_t k = 0; v && k < n; k++)
			v[k] = t.scale ? next_float(&s, t.scale) : 1.0f;
		rc = !v || fwrite(v, sizeof *v, n, f) != n;
		free(v);
	}
	return fclose(f) || rc ? -1 : 0;
}

static int write_folder(const char *dir, const char *fx)
{
	char path[700], tok[700];
	snprintf(path, sizeof path, "%s/config.json", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	fprintf(f, "{\"architectures\": [\"LlamaForCausalLM\"], \"model_type\": \"llama\", \"hidden_size\": %d, "
		   "\"num_hidden_layers\": 2, \"num_attention_heads\": 1, \"num_key_value_heads\": 1, \"head_dim\": %d, "
		   "\"intermediate_size\": %d, \"vocab_size\": %d, \"max_position_embeddings\": 4096, "
		   "\"rms_norm_eps\": 1e-05, \"rope_theta\": 10000.0, \"tie_word_embeddings\": false, "
		   "\"hidden_act\": \"silu\", \"bos_token_id\": 1, \"eos_token_id\": 2}\n", D, D, FF, VOCAB);
	fclose(f);
	snprintf(path, sizeof path, "%s/tokenizer.json", dir);
	snprintf(tok, sizeof tok, "%s/hf/llama/tokenizer.json", fx);
	char abs_tok[4096];
	if (!realpath(tok, abs_tok) || symlink(abs_tok, path))
		return -1;
	return write_weights(dir);
}

int main(void)
{
	const char *fx = fixtures_dir();
	char tok[600];
	snprintf(tok, sizeof tok, "%s/hf/llama/tokenizer.json", fx ? fx : ".");
	if (!fx || access(tok, R_OK))
		skip_all("fixtures absent: ../shared/fixtures/hf/llama/tokenizer.json");
	char dir[256];
	if (!cli_tmpdir(dir, sizeof dir, "hf-long"))
		skip_all("cannot make a temporary folder");
	if (!ok(write_folder(dir, fx) == 0, "the checkpoint written (2 layers, one 128-wide head, 3000 ids)")) {
		cli_rmtree(dir);
		return done_testing();
	}
	static int32_t ids[N_IDS];
	for (int i = 0; i < N_IDS; i++)
		ids[i] = (i * 37 + 11) % VOCAB;
	size_t n_ref = 0;
	float *ref = read_floats("tests/data/hf-long/logits.txt", &n_ref);
	struct eng_open_opts oo = { .n_threads = 2, .kv_f32 = true };
	struct eng_model *m = NULL;
	struct eng_ctx *c = NULL;
	struct mrl_err err = { 0 };
	float *lg = malloc((size_t)N_IDS * VOCAB * sizeof *lg);
	int rc = !ref || n_ref != 3 * VOCAB || !lg || eng_model_open(&m, dir, &oo, &err) ||
		 eng_ctx_new(&c, m, N_IDS, &err) || eng_decode(c, ids, N_IDS, lg, true, &err);
	if (!ok(!rc, "it opens and decodes"))
		diag("%s", err.msg[0] ? err.msg : "tests/data/hf-long/logits.txt missing or short");
	static const int pos[] = { 999, 1999, 2999 };
	for (int k = 0; !rc && k < 3; k++) {
		double d = 0;
		for (int v = 0; v < VOCAB; v++)
			d = fmax(d, fabs((double)lg[(size_t)pos[k] * VOCAB + v] - ref[k * VOCAB + v]));
		char name[160];
		snprintf(name, sizeof name, "position %d: logits within %g of transformers' float64 (max |diff| %.2g)",
			 pos[k], TOL, d);
		ok(d <= TOL, name);
	}
	eng_ctx_free(c);
	eng_model_close(m);
	free(lg);
	free(ref);
	cli_rmtree(dir);
	return done_testing();
}
