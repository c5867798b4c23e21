/* eng_synth.c — `merilo synth`'s engine side: shapes, keys, determinism, statistics.
 *
 * Writes tiny synthetic models into a temporary folder, parses them back with
 * gguf_parse, and checks the keys and shapes a llama loader needs; that the same
 * seed gives the same bytes and another seed other bytes, on one CPU or all of them
 * (the bytes of the sequential generator of 66117e5); the weight statistics;
 * bad options. Where python3 with the gguf package is installed, the files are
 * also read by gguf-py (tests/gguf_oracle.py), which dequantizes q8_0/q4_0 tensors
 * independently: its values must equal merilo's to_f32 exactly.
 */
#include "common/fileio.h"
#include "common/sha256.h"
#include "engine/eng.h"
#include "engine/gguf.h"
#include "engine/types.h"
#include "tests/tap.h"

#include <sched.h>
#include <stdint.h>
#include <unistd.h>

static char tmpdir[64];

/* All of path (malloc'd; *size bytes), or NULL where it cannot be read. */
static void *read_file(const char *path, size_t *size)
{
	char *buf = NULL;
	return mrl_read_file(path, SIZE_MAX, &buf, size, NULL) ? NULL : buf;
}

static int synth(const char *preset, const char *dtype, const char *vocab, uint64_t seed, const char *file,
		 struct mrl_err *err)
{
	struct eng_synth_opts o = { .preset = preset, .dtype = dtype, .vocab_path = vocab, .seed = seed };
	char path[128];
	snprintf(path, sizeof path, "%s/%s", tmpdir, file);
	return eng_synth(&o, path, NULL, err);
}

static struct gguf_ctx *open_parsed(const char *file, void **buf)
{
	char path[128];
	size_t size;
	snprintf(path, sizeof path, "%s/%s", tmpdir, file);
	*buf = read_file(path, &size);
	struct gguf_ctx *g = NULL;
	struct mrl_err err = {0};
	if (*buf && gguf_parse(*buf, size, path, &g, &err))
		diag("%s", err.msg);
	return g;
}

static bool shape(const struct gguf_ctx *g, const char *name, uint32_t type, uint64_t ne0, uint64_t ne1)
{
	const struct gguf_tensor *t = gguf_find_tensor(g, name);
	if (!t) {
		diag("no tensor %s", name);
		return false;
	}
	bool good = t->type == type && t->ne[0] == ne0 && t->ne[1] == ne1 && t->n_dims == (ne1 == 1 ? 1u : 2u);
	if (!good)
		diag("%s: type %u ne [%llu, %llu]", name, t->type, (unsigned long long)t->ne[0],
		     (unsigned long long)t->ne[1]);
	return good;
}

static uint32_t get_u32(const struct gguf_ctx *g, const char *key)
{
	uint32_t v = 0;
	struct mrl_err err;
	if (gguf_get_u32(g, key, &v, &err))
		return UINT32_MAX;
	return v;
}

static void check_with_fixture_vocab(void)
{
	const char *dir = fixtures_dir();
	if (!dir) {
		skip("fixtures absent: ../shared/fixtures", "synth with the llama-spm vocabulary");
		return;
	}
	char vocab[512];
	snprintf(vocab, sizeof vocab, "%s/tokenizer/ggml-vocab-llama-spm.gguf", dir);
	struct mrl_err err = {0};
	int rc = synth("tiny", "q8_0", vocab, 3, "v.gguf", &err);
	if (!ok(rc == 0, "synth tiny q8_0 with the llama-spm vocabulary"))
		diag("%s", err.msg);
	void *buf;
	struct gguf_ctx *g = open_parsed("v.gguf", &buf);
	if (!ok(g != NULL, "it parses")) {
		free(buf);
		return;
	}
	is_int(gguf_n_tensors(g), 39, "39 tensors");
	is_int(get_u32(g, "llama.block_count"), 4, "block_count 4");
	is_int(get_u32(g, "llama.embedding_length"), 64, "embedding_length 64");
	is_int(get_u32(g, "llama.attention.head_count"), 8, "head_count 8");
	is_int(get_u32(g, "llama.attention.head_count_kv"), 4, "head_count_kv 4");
	is_int(get_u32(g, "llama.feed_forward_length"), 192, "feed_forward_length 192");
	is_int(get_u32(g, "llama.context_length"), 256, "context_length 256");
	is_int(get_u32(g, "llama.rope.dimension_count"), 8, "rope.dimension_count = head size 8");
	is_int(get_u32(g, "general.file_type"), 7, "file_type 7 (mostly q8_0)");
	float f = 0;
	struct gguf_str s;
	ok(gguf_get_f32(g, "llama.rope.freq_base", &f, &err) == 0 && f == 10000.0f, "rope.freq_base 10000");
	ok(gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &f, &err) == 0 && f == 1e-5f, "rms eps 1e-5");
	ok(gguf_get_str(g, "general.architecture", &s, &err) == 0 && gguf_str_eq(s, "llama"), "architecture llama");
	ok(shape(g, "token_embd.weight", ENG_TYPE_Q8_0, 64, 32000), "token_embd.weight [64, 32000] q8_0");
	ok(shape(g, "blk.0.attn_q.weight", ENG_TYPE_Q8_0, 64, 64), "attn_q [64, 64]");
	ok(shape(g, "blk.3.attn_k.weight", ENG_TYPE_Q8_0, 64, 32), "attn_k [64, 32]");
	ok(shape(g, "blk.3.attn_v.weight", ENG_TYPE_Q8_0, 64, 32), "attn_v [64, 32]");
	ok(shape(g, "blk.1.attn_output.weight", ENG_TYPE_Q8_0, 64, 64), "attn_output [64, 64]");
	ok(shape(g, "blk.2.ffn_gate.weight", ENG_TYPE_Q8_0, 64, 192), "ffn_gate [64, 192]");
	ok(shape(g, "blk.2.ffn_up.weight", ENG_TYPE_Q8_0, 64, 192), "ffn_up [64, 192]");
	ok(shape(g, "blk.2.ffn_down.weight", ENG_TYPE_Q8_0, 192, 64), "ffn_down [192, 64]");
	ok(shape(g, "blk.0.attn_norm.weight", ENG_TYPE_F32, 64, 1), "attn_norm [64] f32");
	ok(shape(g, "blk.0.ffn_norm.weight", ENG_TYPE_F32, 64, 1), "ffn_norm [64] f32");
	ok(shape(g, "output_norm.weight", ENG_TYPE_F32, 64, 1), "output_norm [64] f32");
	ok(shape(g, "output.weight", ENG_TYPE_Q8_0, 64, 32000), "output [64, 32000] q8_0");

	/* every tokenizer.* key of the vocabulary, byte for byte */
	size_t vsize;
	void *vbuf = read_file(vocab, &vsize);
	struct gguf_ctx *v = NULL;
	gguf_parse(vbuf, vsize, vocab, &v, &err);
	int n_tok_keys = 0, n_same = 0;
	for (size_t i = 0; v && i < gguf_n_kv(v); i++) {
		const struct gguf_kv *a = gguf_kv_at(v, i);
		if (a->key.len < 10 || memcmp(a->key.ptr, "tokenizer.", 10))
			continue;
		n_tok_keys++;
		char key[256];
		snprintf(key, sizeof key, "%.*s", (int)a->key.len, a->key.ptr);
		const struct gguf_kv *b = gguf_find(g, key);
		if (b && b->type == a->type &&
		    (a->type == GGUF_ARRAY ? b->arr_n == a->arr_n && b->arr_nbytes == a->arr_nbytes &&
						 !memcmp(a->arr_data, b->arr_data, a->arr_nbytes)
		     : a->type == GGUF_STRING ? b->v.s.len == a->v.s.len && !memcmp(a->v.s.ptr, b->v.s.ptr, a->v.s.len)
					      : b->v.u == a->v.u))
			n_same++;
	}
	ok(n_tok_keys >= 5 && n_same == n_tok_keys, "every tokenizer.* key copied unchanged");
	diag("%d tokenizer keys copied", n_same);
	gguf_free(v);
	free(vbuf);
	gguf_free(g);
	free(buf);
}

static void check_builtin_and_dtypes(void)
{
	static const struct { const char *dtype; uint32_t type, out_type, file_type; } dt[] = {
		{ "f32", ENG_TYPE_F32, ENG_TYPE_F32, 0 },
		{ "f16", ENG_TYPE_F16, ENG_TYPE_F16, 1 },
		{ "bf16", ENG_TYPE_BF16, ENG_TYPE_BF16, 32 },
		{ "q8_0", ENG_TYPE_Q8_0, ENG_TYPE_Q8_0, 7 },
		{ "q4_0", ENG_TYPE_Q4_0, ENG_TYPE_Q8_0, 2 },
	};
	for (size_t i = 0; i < sizeof dt / sizeof dt[0]; i++) {
		struct mrl_err err = {0};
		char file[64], name[128];
		snprintf(file, sizeof file, "b-%s.gguf", dt[i].dtype);
		int rc = synth("tiny", dt[i].dtype, NULL, 11, file, &err);
		snprintf(name, sizeof name, "synth tiny %s with the built-in vocabulary", dt[i].dtype);
		if (!ok(rc == 0, name))
			diag("%s", err.msg);
		void *buf;
		struct gguf_ctx *g = open_parsed(file, &buf);
		if (!g) {
			ok(0, "parses");
			free(buf);
			continue;
		}
		const struct gguf_kv *tok = NULL, *types = NULL, *scores = NULL;
		gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_STRING, &tok, &err);
		gguf_get_arr(g, "tokenizer.ggml.token_type", GGUF_I32, &types, &err);
		gguf_get_arr(g, "tokenizer.ggml.scores", GGUF_F32, &scores, &err);
		uint64_t nv = tok ? tok->arr_n : 0;
		snprintf(name, sizeof name, "%s: shapes, types, file_type %u", dt[i].dtype, dt[i].file_type);
		ok(shape(g, "token_embd.weight", dt[i].type, 64, nv) && shape(g, "output.weight", dt[i].out_type, 64, nv) &&
		   shape(g, "blk.0.ffn_down.weight", dt[i].type, 192, 64) && shape(g, "blk.0.attn_norm.weight", ENG_TYPE_F32, 64, 1) &&
		   get_u32(g, "general.file_type") == dt[i].file_type && get_u32(g, "llama.vocab_size") == nv,
		   name);
		if (i == 0) {
			ok(tok && types && scores && types->arr_n == nv && scores->arr_n == nv && nv > 500 && nv < 2000,
			   "built-in vocabulary: tokens, token types and scores of the same length (a few hundred)");
			ok(tok && gguf_str_eq(tok->arr_strs[0], "<unk>") && gguf_str_eq(tok->arr_strs[1], "<s>") &&
			   gguf_str_eq(tok->arr_strs[2], "</s>") && gguf_str_eq(tok->arr_strs[3], "<0x00>") &&
			   gguf_str_eq(tok->arr_strs[258], "<0xFF>") && gguf_str_eq(tok->arr_strs[259], "\xe2\x96\x81"),
			   "built-in vocabulary: <unk> <s> </s>, byte tokens 3..258, then ▁");
			ok(types && gguf_arr_int(types, 0) == 2 && gguf_arr_int(types, 1) == 3 && gguf_arr_int(types, 3) == 6 &&
			   gguf_arr_int(types, 300) == 1, "built-in vocabulary: token types unknown, control, byte, normal");
			struct gguf_str model;
			ok(gguf_get_str(g, "tokenizer.ggml.model", &model, &err) == 0 && gguf_str_eq(model, "llama") &&
			   get_u32(g, "tokenizer.ggml.bos_token_id") == 1 && get_u32(g, "tokenizer.ggml.eos_token_id") == 2,
			   "built-in vocabulary: model llama, bos 1, eos 2");
			bool unique = true;
			for (uint64_t a = 0; tok && a < nv && unique; a++)
				for (uint64_t b = a + 1; b < nv && unique; b++)
					if (tok->arr_strs[a].len == tok->arr_strs[b].len &&
					    !memcmp(tok->arr_strs[a].ptr, tok->arr_strs[b].ptr, tok->arr_strs[a].len))
						unique = false;
			ok(unique, "built-in vocabulary: no duplicate pieces");
			/* weight statistics (f32: exact values) */
			const struct gguf_tensor *te = gguf_find_tensor(g, "token_embd.weight");
			const struct gguf_tensor *nt = gguf_find_tensor(g, "blk.0.attn_norm.weight");
			double s = 0, s2 = 0;
			const float *p = te->data;
			for (uint64_t k = 0; k < te->n_elements; k++) {
				s += p[k];
				s2 += (double)p[k] * p[k];
			}
			double mean = s / (double)te->n_elements, sd = sqrt(s2 / (double)te->n_elements - mean * mean);
			diag("token_embd mean %.5f std %.5f", mean, sd);
			ok(fabs(mean) < 0.002 && fabs(sd - 0.02) < 0.001, "matrices ~ N(0, 0.02^2)");
			p = nt->data;
			s = s2 = 0;
			for (uint64_t k = 0; k < 64; k++) {
				s += p[k];
				s2 += (double)p[k] * p[k];
			}
			mean = s / 64;
			sd = sqrt(s2 / 64 - mean * mean);
			ok(fabs(mean - 1) < 0.05 && sd > 0.06 && sd < 0.14, "norm weights ~ 1 + 0.1 N(0, 1)");
		}
		gguf_free(g);
		free(buf);
	}
}

static bool same_file(const char *a, const char *b)
{
	char pa[128], pb[128];
	size_t na, nb;
	snprintf(pa, sizeof pa, "%s/%s", tmpdir, a);
	snprintf(pb, sizeof pb, "%s/%s", tmpdir, b);
	void *x = read_file(pa, &na), *y = read_file(pb, &nb);
	bool same = x && y && na == nb && !memcmp(x, y, na);
	free(x);
	free(y);
	return same;
}

static void check_determinism(void)
{
	struct mrl_err err = {0};
	ok(synth("tiny", "q4_0", NULL, 5, "d1.gguf", &err) == 0 && synth("tiny", "q4_0", NULL, 5, "d2.gguf", &err) == 0 &&
	   synth("tiny", "q4_0", NULL, 6, "d3.gguf", &err) == 0, "three tiny q4_0 files written");
	ok(same_file("d1.gguf", "d2.gguf"), "same seed -> byte-identical files");
	ok(!same_file("d1.gguf", "d3.gguf"), "another seed -> different bytes");
	/* custom shape without a preset */
	struct eng_synth_opts o = { .n_layer = 2, .n_embd = 96, .n_head = 6, .n_head_kv = 2, .n_ff = 160, .dtype = "q8_0", .seed = 1 };
	char path[128];
	snprintf(path, sizeof path, "%s/c.gguf", tmpdir);
	struct eng_synth_info info;
	int rc = eng_synth(&o, path, &info, &err);
	ok(rc == 0 && info.n_layer == 2 && info.n_embd == 96 && info.n_head_kv == 2 && info.n_ctx == 2048 &&
	   info.file_bytes > 0, "custom shape (2 layers, dim 96, 6/2 heads, ffn 160); ctx defaults to 2048");
	void *buf;
	struct gguf_ctx *g = open_parsed("c.gguf", &buf);
	ok(g && shape(g, "blk.1.attn_k.weight", ENG_TYPE_Q8_0, 96, 32) && get_u32(g, "llama.rope.dimension_count") == 16,
	   "custom shape: attn_k [96, 32], head size 16");
	uint64_t n_params = 0;
	for (size_t i = 0; g && i < gguf_n_tensors(g); i++)
		n_params += gguf_tensor_at(g, i)->n_elements;
	is_int(n_params, info.n_params, "reported parameter count = sum of tensor elements");
	gguf_free(g);
	free(buf);
}

/* --tied: no output.weight, and the engine takes token_embd as the output matrix. */
static void check_tied(void)
{
	struct mrl_err err = {0};
	struct eng_synth_opts o = { .preset = "tiny", .dtype = "f16", .seed = 3, .tied = true };
	char path[128];
	snprintf(path, sizeof path, "%s/tied.gguf", tmpdir);
	struct eng_synth_info info;
	int rc = eng_synth(&o, path, &info, &err);
	if (!ok(rc == 0, "synth tiny f16 --tied"))
		diag("%s", err.msg);
	void *buf;
	struct gguf_ctx *g = open_parsed("tied.gguf", &buf);
	ok(g && gguf_n_tensors(g) == 38 && !gguf_find_tensor(g, "output.weight") &&
	   shape(g, "token_embd.weight", ENG_TYPE_F16, 64, info.n_vocab),
	   "--tied: 38 tensors, token_embd f16, no output.weight");
	gguf_free(g);
	free(buf);
	struct eng_model *m = NULL;
	struct eng_model_desc d = {0};
	rc = eng_model_open(&m, path, NULL, &err);
	if (!rc)
		eng_model_describe(m, &d);
	ok(rc == 0 && d.tied_output && d.n_params == info.n_params, "--tied: the engine opens it with the output tied");
	if (rc)
		diag("%s", err.msg);
	eng_model_close(m);
	unlink(path);
}

/* The rows of a chunk are drawn on every CPU (normal_pair): the file must not
 * depend on how many. A 1-layer "1b" shape (ffn matrices of 11.5 M elements: several
 * chunks) in q4_0 and f16, written on one CPU and on all this process may use, equals
 * the sha256 the sequential generator of 66117e5 gave for it. */
static void check_threads(void)
{
	static const struct { const char *dtype, *sha; } want[] = {
		{ "q4_0", "b585a53ce462420cef86cd0a50be4e3402a1249a7020f06546d7303cb0ced1e5" },
		{ "f16", "0da3435d37570d8025689edbec36c2bd0e7955cbe0e211125de4ac43a674829d" },
	};
	cpu_set_t all, one;
	if (sched_getaffinity(0, sizeof all, &all) != 0) {
		skip("sched_getaffinity failed", "synth on one CPU and on all");
		return;
	}
	CPU_ZERO(&one);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &all)) {
			CPU_SET(c, &one);
			break;
		}
	diag("synth threads: 1 and %d", CPU_COUNT(&all));
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		for (int pass = 0; pass < 2; pass++) {
			struct mrl_err err = { 0 };
			struct eng_synth_opts o = { .preset = "1b", .n_layer = 1, .dtype = want[i].dtype, .seed = 7 };
			char path[128], hex[MRL_SHA256_HEX_LEN + 1] = "", name[160];
			snprintf(path, sizeof path, "%s/t-%s-%d.gguf", tmpdir, want[i].dtype, pass);
			if (pass == 0 && sched_setaffinity(0, sizeof one, &one) != 0) {
				skip("sched_setaffinity failed", "synth on one CPU");
				continue;
			}
			int rc = eng_synth(&o, path, NULL, &err);
			if (pass == 0)
				sched_setaffinity(0, sizeof all, &all);
			if (!rc)
				rc = mrl_sha256_file(path, hex, NULL, &err);
			snprintf(name, sizeof name, "synth 1b x 1 layer %s on %s: the sequential generator's bytes", want[i].dtype,
				 pass == 0 ? "one CPU" : "every CPU");
			if (rc)
				diag("%s", err.msg);
			is_str(hex, want[i].sha, name);
			unlink(path);
		}
	}
}

static void check_errors(void)
{
	struct mrl_err err = {0};
	ok(synth("tiny", "q5_k", NULL, 1, "e.gguf", &err) == MRL_EUNSUPPORTED, "unknown dtype: MRL_EUNSUPPORTED");
	like(err.msg, "q5_k", "... naming it");
	ok(synth("13b", "f32", NULL, 1, "e.gguf", &err) == MRL_EUNSUPPORTED, "unknown preset: MRL_EUNSUPPORTED");
	struct eng_synth_opts o = { .preset = "tiny", .n_head = 5, .dtype = "f32" };
	char path[128];
	snprintf(path, sizeof path, "%s/e.gguf", tmpdir);
	ok(eng_synth(&o, path, NULL, &err) == MRL_EINPUT, "dim 64 with 5 heads: MRL_EINPUT");
	like(err.msg, "heads 5", "... naming the heads");
	o = (struct eng_synth_opts){ .preset = "tiny", .n_embd = 48, .n_head = 4, .n_head_kv = 4, .dtype = "q4_0" };
	ok(eng_synth(&o, path, NULL, &err) == MRL_EINPUT, "q4_0 with dim 48: MRL_EINPUT (not a multiple of 32)");
	o = (struct eng_synth_opts){ .arch = "qwen2", .preset = "tiny", .dtype = "f32" };
	ok(eng_synth(&o, path, NULL, &err) == MRL_EUNSUPPORTED, "arch qwen2: MRL_EUNSUPPORTED");
	ok(synth("tiny", "f32", "/nonexistent/vocab.gguf", 1, "e.gguf", &err) == MRL_EIO, "missing vocabulary: MRL_EIO");
	like(err.msg, "/nonexistent/vocab.gguf", "... naming the file");
	char vpath[128];
	snprintf(vpath, sizeof vpath, "%s/c.gguf", tmpdir); /* has a vocabulary: fine */
	ok(synth("tiny", "f32", vpath, 1, "e2.gguf", &err) == 0, "a synthetic model can serve as --vocab");
	struct gguf_writer *w = gguf_writer_new();
	gguf_writer_set_u32(w, "a.b", 1);
	snprintf(vpath, sizeof vpath, "%s/novocab.gguf", tmpdir);
	gguf_writer_write(w, vpath, &err);
	gguf_writer_free(w);
	ok(synth("tiny", "f32", vpath, 1, "e.gguf", &err) == MRL_EINPUT, "a GGUF without tokens as --vocab: MRL_EINPUT");
	like(err.msg, "tokenizer.ggml.tokens", "... saying what is missing");
	ok(access(path, F_OK) != 0, "no output file is left after failures");
}

static void check_python_oracle(void)
{
	if (system("python3 -c 'import gguf, numpy' >/dev/null 2>&1") != 0) {
		skip("python3 with the gguf package not installed", "gguf-py reads synthetic files");
		return;
	}
	static const char *const files[] = { "b-f32.gguf", "b-f16.gguf", "b-bf16.gguf", "b-q8_0.gguf", "b-q4_0.gguf" };
	for (size_t i = 0; i < 5; i++) {
		void *buf;
		struct gguf_ctx *g = open_parsed(files[i], &buf);
		const struct gguf_tensor *t = g ? gguf_find_tensor(g, "blk.0.ffn_down.weight") : NULL;
		char dump[128], cmd[512], name[160];
		snprintf(dump, sizeof dump, "%s/dump.f32", tmpdir);
		if (t) {
			float *v = malloc(t->n_elements * sizeof *v);
			eng_type_get(t->type)->to_f32(t->data, v, (int64_t)t->n_elements);
			FILE *f = fopen(dump, "wb");
			fwrite(v, sizeof *v, t->n_elements, f);
			fclose(f);
			free(v);
		}
		snprintf(cmd, sizeof cmd, "python3 tests/gguf_oracle.py %s/%s blk.0.ffn_down.weight %s >/dev/null",
			 tmpdir, files[i], dump);
		snprintf(name, sizeof name, "gguf-py reads %s; its dequantization of ffn_down equals ours exactly", files[i]);
		ok(t && system(cmd) == 0, name);
		gguf_free(g);
		free(buf);
	}
}

/* A model whose weights hold NaN (or infinity) gives non-finite logits: decoding fails with
 * a message naming the file and the position, where it used to return NaN logits (perplexity
 * -nan, greedy token 0, exit 0). The same file with finite weights decodes. */
static void check_nonfinite(void)
{
	static const uint32_t bad[2] = { 0x7fc00000u, 0x7f800000u }; /* NaN, +infinity */
	for (int k = 0; k < 2; k++) {
		struct mrl_err err = { 0 };
		char path[128];
		snprintf(path, sizeof path, "%s/nf%d.gguf", tmpdir, k);
		struct eng_synth_opts o = { .preset = "tiny", .dtype = "f32", .seed = 5 };
		if (!ok(eng_synth(&o, path, NULL, &err) == 0, "synth a tiny f32 model")) {
			diag("%s", err.msg);
			continue;
		}
		for (int poison = 0; poison < 2; poison++) {
			if (poison) { /* the first 64 weights of blk.0.attn_q.weight (blk.0.ffn_up.weight for inf) */
				char file[32];
				snprintf(file, sizeof file, "nf%d.gguf", k);
				void *buf = NULL;
				struct gguf_ctx *g = open_parsed(file, &buf);
				const struct gguf_tensor *t = g ? gguf_find_tensor(g, k ? "blk.0.ffn_up.weight" : "blk.0.attn_q.weight") : NULL;
				FILE *f = t ? fopen(path, "r+b") : NULL;
				const long at = t ? (long)((const char *)t->data - (const char *)buf) : 0;
				int wrote = f && fseek(f, at, SEEK_SET) == 0;
				for (int i = 0; wrote && i < 64; i++)
					wrote = fwrite(&bad[k], sizeof bad[k], 1, f) == 1;
				if (f)
					wrote = !fclose(f) && wrote;
				gguf_free(g);
				free(buf);
				if (!ok(wrote, "poison the weights of the model"))
					continue;
			}
			struct eng_model *m = NULL;
			struct eng_ctx *c = NULL;
			float *lg = NULL;
			int rc = eng_model_open(&m, path, NULL, &err);
			if (!rc)
				rc = eng_ctx_new(&c, m, 16, &err);
			if (!rc) {
				const int32_t toks[4] = { 1, 20, 30, 40 };
				struct eng_model_desc d;
				eng_model_describe(m, &d);
				lg = malloc((size_t)d.n_vocab * 4 * sizeof *lg);
				rc = eng_decode(c, toks, 4, lg, true, &err);
			}
			if (!poison) {
				is_int(rc, 0, "the same model with finite weights decodes");
			} else {
				is_int(rc, MRL_EINPUT, k ? "infinite weights: decoding fails" : "NaN weights: decoding fails");
				diag("%s", err.msg);
				ok(strstr(err.msg, path) && strstr(err.msg, "non-finite logit") && strstr(err.msg, "position"),
				   "the message names the file, the non-finite logit and its position");
			}
			free(lg);
			eng_ctx_free(c);
			eng_model_close(m);
		}
	}
}

int main(void)
{
	snprintf(tmpdir, sizeof tmpdir, "/tmp/merilo-synth-XXXXXX");
	if (!mkdtemp(tmpdir))
		skip_all("cannot create a temporary folder");
	check_with_fixture_vocab();
	check_builtin_and_dtypes();
	check_determinism();
	check_tied();
	check_threads();
	check_errors();
	check_nonfinite();
	check_python_oracle();
	char cmd[128];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		diag("could not remove %s", tmpdir);
	return done_testing();
}
