/* eng_gguf.c — the GGUF reader and writer: real files, round trips, damaged files.
 *
 * 1. Every fixture model and vocabulary parses, with a few known facts checked.
 * 2. The writer round-trips every value type (nested arrays included) and tensors
 *    of each supported type, in memory and through a file.
 * 3. A small hand-built file (built field by field below, so each damage touches
 *    exactly one field) is damaged in 30 ways; each must fail with a message that
 *    names the field. It is also cut at every offset, and mutated at random 3000
 *    times: parsing must never crash or read outside the buffer (every buffer is
 *    malloc'd at its exact size, so the ASan build catches any overread).
 */
#include "common/fileio.h"
#include "engine/gguf.h"
#include "engine/types.h"
#include "tests/tap.h"

#include <stdint.h>
#include <unistd.h>

/* All of path (malloc'd; *size bytes), or NULL where it cannot be read. */
static void *read_file(const char *path, size_t *size)
{
	char *buf = NULL;
	return mrl_read_file(path, SIZE_MAX, &buf, size, NULL) ? NULL : buf;
}

/* ---- 1. fixtures ---- */

static void check_tiny_llama(const char *dir, const char *file, uint32_t want_type, uint32_t out_type)
{
	char path[512];
	snprintf(path, sizeof path, "%s/models/%s", dir, file);
	size_t size;
	void *buf = read_file(path, &size);
	if (!buf) {
		ok(0, file);
		return;
	}
	struct gguf_ctx *g = NULL;
	struct mrl_err err = {0};
	int rc = gguf_parse(buf, size, file, &g, &err);
	char name[256];
	snprintf(name, sizeof name, "%s parses", file);
	if (!ok(rc == 0, name)) {
		diag("%s", err.msg);
		free(buf);
		return;
	}
	uint32_t u = 0;
	is_int(gguf_version(g), 3, "version 3");
	is_int(gguf_n_tensors(g), 39, "39 tensors (token_embd + 4 x 9 + output_norm + output)");
	ok(gguf_get_u32(g, "llama.block_count", &u, &err) == 0 && u == 4, "llama.block_count = 4");
	ok(gguf_get_u32(g, "llama.embedding_length", &u, &err) == 0 && u == 64, "llama.embedding_length = 64");
	ok(gguf_get_u32(g, "llama.feed_forward_length", &u, &err) == 0 && u == 192, "llama.feed_forward_length = 192");
	ok(gguf_get_u32(g, "llama.attention.head_count_kv", &u, &err) == 0 && u == 4, "head_count_kv = 4");
	float eps = 0;
	ok(gguf_get_f32(g, "llama.attention.layer_norm_rms_epsilon", &eps, &err) == 0 && eps == 1e-5f, "rms eps 1e-5");
	struct gguf_str s;
	ok(gguf_get_str(g, "general.architecture", &s, &err) == 0 && gguf_str_eq(s, "llama"), "architecture llama");
	const struct gguf_kv *tok = NULL;
	ok(gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_STRING, &tok, &err) == 0 && tok->arr_n == 32000,
	   "tokenizer.ggml.tokens: 32000 strings");
	if (tok)
		ok(gguf_str_eq(tok->arr_strs[1], "<s>") && gguf_str_eq(tok->arr_strs[2], "</s>"), "tokens 1, 2 are <s>, </s>");
	const struct gguf_kv *scores = NULL;
	ok(gguf_get_arr(g, "tokenizer.ggml.scores", GGUF_F32, &scores, &err) == 0 && scores->arr_n == 32000,
	   "tokenizer.ggml.scores: 32000 floats");
	ok(gguf_get_u32(g, "llama.block_count", &u, &err) == 0, "integer getter");
	ok(gguf_get_str(g, "llama.block_count", &s, &err) == MRL_EINPUT, "string getter on an integer fails");
	like(err.msg, "llama.block_count", "... naming the key");
	ok(gguf_get_u32(g, "no.such.key", &u, &err) == 1, "absent key returns 1");
	const struct gguf_tensor *te = gguf_find_tensor(g, "token_embd.weight");
	ok(te && te->ne[0] == 64 && te->ne[1] == 32000 && te->n_dims == 2 && te->type == want_type,
	   "token_embd.weight: ne [64, 32000], matrix type");
	const struct gguf_tensor *k = gguf_find_tensor(g, "blk.0.attn_k.weight");
	ok(k && k->ne[0] == 64 && k->ne[1] == 32, "blk.0.attn_k.weight: ne [64, 32] (4 kv heads x 8)");
	const struct gguf_tensor *on = gguf_find_tensor(g, "output_norm.weight");
	ok(on && on->type == ENG_TYPE_F32 && on->n_dims == 1, "output_norm.weight is f32");
	const struct gguf_tensor *o = gguf_find_tensor(g, "output.weight");
	ok(o && o->type == out_type, "output.weight type");
	/* every tensor lies inside the file, aligned, with the size its shape needs */
	bool all_in = true;
	uint64_t total = 0;
	for (size_t i = 0; i < gguf_n_tensors(g); i++) {
		const struct gguf_tensor *t = gguf_tensor_at(g, i);
		uint64_t need;
		const uint8_t *d = t->data;
		if (eng_row_size(t->type, t->ne[0], &need) || need * (t->n_elements / t->ne[0]) != t->nbytes ||
		    d < (const uint8_t *)buf || d + t->nbytes > (const uint8_t *)buf + size ||
		    ((uintptr_t)(d - (const uint8_t *)buf)) % gguf_alignment(g))
			all_in = false;
		total += t->nbytes;
	}
	ok(all_in, "tensor data inside the file, aligned, sized by shape");
	ok(total < size && total > size / 2, "tensor data is most of the file");
	/* every key is found through the index */
	bool all_found = true;
	for (size_t i = 0; i < gguf_n_kv(g); i++) {
		const struct gguf_kv *kv = gguf_kv_at(g, i);
		char key[256];
		snprintf(key, sizeof key, "%.*s", (int)kv->key.len, kv->key.ptr);
		if (gguf_find(g, key) != kv)
			all_found = false;
	}
	ok(all_found, "gguf_find finds every key");
	gguf_free(g);
	free(buf);
}

static void check_fixtures(void)
{
	const char *dir = fixtures_dir();
	if (!dir) {
		skip("fixtures absent: ../shared/fixtures", "fixture models and vocabularies parse");
		return;
	}
	check_tiny_llama(dir, "tiny-llama-ff192-f32.gguf", ENG_TYPE_F32, ENG_TYPE_F32);
	check_tiny_llama(dir, "tiny-llama-ff192-f16.gguf", ENG_TYPE_F16, ENG_TYPE_F16);
	check_tiny_llama(dir, "tiny-llama-ff192-q8_0.gguf", ENG_TYPE_Q8_0, ENG_TYPE_Q8_0);
	check_tiny_llama(dir, "tiny-llama-ff192-q4_0.gguf", ENG_TYPE_Q4_0, ENG_TYPE_Q8_0);

	static const struct { const char *file; uint64_t n_tokens; } vocabs[] = {
		{ "models/tiny-qwen2-f32.gguf", 0 },
		{ "tokenizer/ggml-vocab-llama-spm.gguf", 32000 },
		{ "tokenizer/ggml-vocab-phi-3.gguf", 0 },
		{ "tokenizer/ggml-vocab-gpt-2.gguf", 50257 },
		{ "tokenizer/ggml-vocab-falcon.gguf", 0 },
		{ "tokenizer/ggml-vocab-mpt.gguf", 0 },
		{ "tokenizer/ggml-vocab-starcoder.gguf", 0 },
		{ "tokenizer/ggml-vocab-refact.gguf", 0 },
		{ "tokenizer/ggml-vocab-deepseek-llm.gguf", 0 },
		{ "tokenizer/ggml-vocab-deepseek-coder.gguf", 0 },
		{ "tokenizer/ggml-vocab-bert-bge.gguf", 0 },
	};
	for (size_t i = 0; i < sizeof vocabs / sizeof vocabs[0]; i++) {
		char path[512], name[300];
		snprintf(path, sizeof path, "%s/%s", dir, vocabs[i].file);
		size_t size;
		void *buf = read_file(path, &size);
		struct gguf_ctx *g = NULL;
		struct mrl_err err = {0};
		int rc = buf ? gguf_parse(buf, size, path, &g, &err) : -1;
		snprintf(name, sizeof name, "%s parses", vocabs[i].file);
		if (!ok(rc == 0, name))
			diag("%s", buf ? err.msg : "cannot read");
		const struct gguf_kv *tok = NULL;
		if (g) {
			rc = gguf_get_arr(g, "tokenizer.ggml.tokens", GGUF_STRING, &tok, &err);
			snprintf(name, sizeof name, "%s: tokenizer.ggml.tokens has %llu strings", vocabs[i].file,
				 (unsigned long long)(tok ? tok->arr_n : 0));
			ok(rc == 0 && tok->arr_n > 1000 && (!vocabs[i].n_tokens || tok->arr_n == vocabs[i].n_tokens), name);
		}
		gguf_free(g);
		free(buf);
	}
}

/* ---- 2. writer round trip ---- */

/* The values every round-trip writer holds: one key of each type, arrays, a raw nested array. */
static const double rt_f64 = -1.25e300;
static const int32_t rt_ia[5] = { -1, 0, 1, INT32_MAX, INT32_MIN };
static const float rt_fa[3] = { 1.5f, -2.0f, 3e-8f };
static const char *const rt_sa[] = { "<s>", "", "▁Beo" };
/* [[1, 2], ["x"]] as a raw nested array body */
static const uint8_t rt_nested[] = { 9, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0,
				     0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 1, 2,
				     8, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 'x' };
/* One tensor of each supported type, with values exact in every type (rt_make_tensors). */
static const uint32_t rt_types[] = { ENG_TYPE_F32, ENG_TYPE_F16, ENG_TYPE_BF16, ENG_TYPE_Q8_0, ENG_TYPE_Q4_0 };
static float rt_src[64];
static uint8_t rt_data[5][256];
/* The written and parsed round-trip file (t_round_trip_write), for the checks after it. */
static void *rt_buf;
static size_t rt_size;
static struct gguf_ctx *rt_g;

static void rt_make_tensors(void)
{
	for (int i = 0; i < 64; i++)
		rt_src[i] = (float)(i % 17 - 8) * 0.25f;
	for (int t = 0; t < 5; t++)
		eng_type_get(rt_types[t])->from_f32(rt_src, rt_data[t], 64);
}

/* Every key of the round trip, "t.replaced" set once (to 1). */
static void rt_set_kvs(struct gguf_writer *w)
{
	uint64_t dbits;
	memcpy(&dbits, &rt_f64, 8);
	gguf_writer_set_scalar(w, "t.u8", GGUF_U8, 200);
	gguf_writer_set_scalar(w, "t.i8", GGUF_I8, (uint8_t)-100);
	gguf_writer_set_scalar(w, "t.u16", GGUF_U16, 60000);
	gguf_writer_set_scalar(w, "t.i16", GGUF_I16, (uint16_t)-30000);
	gguf_writer_set_u32(w, "t.u32", 4000000000u);
	gguf_writer_set_i32(w, "t.i32", -2000000000);
	gguf_writer_set_f32(w, "t.f32", 0.1f);
	gguf_writer_set_bool(w, "t.bool", true);
	gguf_writer_set_str(w, "t.str", "Било једном");
	gguf_writer_set_scalar(w, "t.u64", GGUF_U64, UINT64_MAX - 1);
	gguf_writer_set_scalar(w, "t.i64", GGUF_I64, (uint64_t)INT64_MIN);
	gguf_writer_set_scalar(w, "t.f64", GGUF_F64, dbits);
	gguf_writer_set_arr(w, "t.arr_i32", GGUF_I32, 5, rt_ia);
	gguf_writer_set_arr(w, "t.arr_f32", GGUF_F32, 3, rt_fa);
	gguf_writer_set_arr_str(w, "t.arr_str", rt_sa, 3);
	gguf_writer_set_arr(w, "t.arr_empty", GGUF_U8, 0, NULL);
	gguf_writer_set_raw(w, "t.nested", GGUF_ARRAY, rt_nested, sizeof rt_nested);
	gguf_writer_set_u32(w, "t.replaced", 1);
}

/* Add tensor t of rt_types as "w.<type>" [32, 2]; the writer's return code. */
static int rt_add_tensor(struct gguf_writer *w, int t)
{
	uint64_t nb;
	eng_row_size(rt_types[t], 64, &nb);
	char name[32];
	snprintf(name, sizeof name, "w.%s", eng_type_get(rt_types[t])->name);
	uint64_t ne[2] = { 32, 2 };
	return gguf_writer_add_tensor(w, name, rt_types[t], 2, ne, rt_data[t], nb);
}

static void t_writer_refuses_duplicate(void)
{
	struct gguf_writer *w = gguf_writer_new();
	struct mrl_err err = {0};
	rt_set_kvs(w);
	gguf_writer_set_u32(w, "t.replaced", 2);
	for (int t = 0; t < 5; t++)
		rt_add_tensor(w, t);
	ok(gguf_writer_add_tensor(w, "w.f32", ENG_TYPE_F32, 1, (uint64_t[]){ 1 }, rt_src, 4) == MRL_EINPUT,
	   "writer refuses a duplicate tensor name");
	void *buf = NULL;
	size_t size = 0;
	int rc = gguf_writer_to_buffer(w, &buf, &size, &err);
	ok(rc == MRL_EINPUT, "writer reports the earlier bad call at write time");
	like(err.msg, "duplicate tensor 'w.f32'", "... naming it");
	gguf_writer_free(w);
	free(buf);
}

/* Again, without the bad call, through a file: it parses (into rt_g). */
static void t_round_trip_write(void)
{
	struct gguf_writer *w = gguf_writer_new();
	struct mrl_err err = {0};
	rt_set_kvs(w);
	is_int(gguf_writer_set_u32(w, "t.replaced", 2), 0, "setting a key again replaces it");
	for (int t = 0; t < 5; t++) {
		char name[32];
		snprintf(name, sizeof name, "w.%s", eng_type_get(rt_types[t])->name);
		is_int(rt_add_tensor(w, t), 0, name);
	}
	char path[] = "/tmp/merilo-eng-gguf-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	int rc = gguf_writer_write(w, path, &err);
	if (!ok(rc == 0, "writer writes a file"))
		diag("%s", err.msg);
	gguf_writer_free(w);
	rt_buf = read_file(path, &rt_size);
	unlink(path);
	rc = rt_buf ? gguf_parse(rt_buf, rt_size, "roundtrip.gguf", &rt_g, &err) : -1;
	if (!ok(rc == 0, "written file parses")) {
		diag("%s", err.msg);
		gguf_free(rt_g);
		rt_g = NULL;
		return;
	}
	is_int(gguf_version(rt_g), 3, "written version 3");
	is_int(gguf_n_kv(rt_g), 18, "18 keys (the replaced one once)");
	is_int(rt_size % 32, 0, "file ends padded to the alignment");
}

static void t_round_trip_scalars(void)
{
	const struct gguf_ctx *g = rt_g;
	const struct gguf_kv *kv;
	if (!g) {
		test_skip("the round-trip file did not parse");
		return;
	}
	ok((kv = gguf_find(g, "t.u8")) && kv->type == GGUF_U8 && kv->v.u == 200, "u8");
	ok((kv = gguf_find(g, "t.i8")) && kv->type == GGUF_I8 && kv->v.i == -100, "i8");
	ok((kv = gguf_find(g, "t.u16")) && kv->type == GGUF_U16 && kv->v.u == 60000, "u16");
	ok((kv = gguf_find(g, "t.i16")) && kv->type == GGUF_I16 && kv->v.i == -30000, "i16");
	ok((kv = gguf_find(g, "t.u32")) && kv->type == GGUF_U32 && kv->v.u == 4000000000u, "u32");
	ok((kv = gguf_find(g, "t.i32")) && kv->type == GGUF_I32 && kv->v.i == -2000000000, "i32");
	ok((kv = gguf_find(g, "t.f32")) && kv->type == GGUF_F32 && (float)kv->v.f == 0.1f, "f32");
	ok((kv = gguf_find(g, "t.bool")) && kv->type == GGUF_BOOL && kv->v.u == 1, "bool");
	ok((kv = gguf_find(g, "t.str")) && kv->type == GGUF_STRING && gguf_str_eq(kv->v.s, "Било једном"), "string");
	ok((kv = gguf_find(g, "t.u64")) && kv->type == GGUF_U64 && kv->v.u == UINT64_MAX - 1, "u64");
	ok((kv = gguf_find(g, "t.i64")) && kv->type == GGUF_I64 && kv->v.i == INT64_MIN, "i64");
	ok((kv = gguf_find(g, "t.f64")) && kv->type == GGUF_F64 && kv->v.f == rt_f64, "f64");
	ok((kv = gguf_find(g, "t.replaced")) && kv->v.u == 2, "replaced value");
}

static void t_round_trip_arrays(void)
{
	const struct gguf_ctx *g = rt_g;
	struct mrl_err err = {0};
	if (!g) {
		test_skip("the round-trip file did not parse");
		return;
	}
	const struct gguf_kv *arr = NULL, *kv;
	ok(gguf_get_arr(g, "t.arr_i32", GGUF_I32, &arr, &err) == 0 && arr->arr_n == 5 &&
	   gguf_arr_int(arr, 0) == -1 && gguf_arr_int(arr, 3) == INT32_MAX && gguf_arr_int(arr, 4) == INT32_MIN,
	   "i32 array");
	ok(gguf_get_arr(g, "t.arr_f32", GGUF_F32, &arr, &err) == 0 && arr->arr_n == 3 &&
	   gguf_arr_f32(arr, 0) == 1.5f && gguf_arr_f32(arr, 2) == 3e-8f, "f32 array");
	ok(gguf_get_arr(g, "t.arr_str", GGUF_STRING, &arr, &err) == 0 && arr->arr_n == 3 &&
	   gguf_str_eq(arr->arr_strs[0], "<s>") && arr->arr_strs[1].len == 0 && gguf_str_eq(arr->arr_strs[2], "▁Beo"),
	   "string array (an empty string included)");
	ok(gguf_get_arr(g, "t.arr_empty", GGUF_U8, &arr, &err) == 0 && arr->arr_n == 0, "empty array");
	ok(gguf_get_arr(g, "t.arr_str", GGUF_I32, &arr, &err) == MRL_EINPUT, "array of the wrong element type fails");
	like(err.msg, "t.arr_str", "... naming the key");
	ok((kv = gguf_find(g, "t.nested")) && kv->type == GGUF_ARRAY && kv->arr_type == GGUF_ARRAY && kv->arr_n == 2 &&
	   kv->arr_nbytes == sizeof rt_nested - 12 && !memcmp(kv->arr_data, rt_nested + 12, sizeof rt_nested - 12),
	   "nested array kept verbatim");
}

static void t_typed_getters(void)
{
	const struct gguf_ctx *g = rt_g;
	struct mrl_err err = {0};
	if (!g) {
		test_skip("the round-trip file did not parse");
		return;
	}
	int32_t i32 = 0;
	uint32_t u32 = 0;
	ok(gguf_get_i32(g, "t.i16", &i32, &err) == 0 && i32 == -30000, "i32 getter reads an i16");
	ok(gguf_get_u32(g, "t.i16", &u32, &err) == MRL_EINPUT, "u32 getter refuses a negative value");
	ok(gguf_get_u32(g, "t.u64", &u32, &err) == MRL_EINPUT, "u32 getter refuses a value over 2^32");
	like(err.msg, "t.u64", "... naming the key");
}

static void t_round_trip_tensors(void)
{
	if (!rt_g) {
		test_skip("the round-trip file did not parse");
		return;
	}
	for (int t = 0; t < 5; t++) {
		char name[64];
		snprintf(name, sizeof name, "w.%s", eng_type_name(rt_types[t]));
		const struct gguf_tensor *te = gguf_find_tensor(rt_g, name);
		float back[64];
		bool same = te && te->type == rt_types[t] && te->ne[0] == 32 && te->ne[1] == 2 && te->n_elements == 64;
		if (same) {
			uint64_t nb;
			eng_row_size(rt_types[t], 64, &nb);
			same = te->nbytes == nb && !memcmp(te->data, rt_data[t], nb);
			/* the values are exact in the float types */
			eng_type_get(rt_types[t])->to_f32(te->data, back, 64);
			if (rt_types[t] == ENG_TYPE_F32 || rt_types[t] == ENG_TYPE_F16 || rt_types[t] == ENG_TYPE_BF16)
				same = same && !memcmp(back, rt_src, sizeof rt_src);
		}
		snprintf(name, sizeof name, "tensor of type %s round-trips exactly", eng_type_name(rt_types[t]));
		ok(same, name);
	}
}

/* Copying every kv into a new writer gives the same metadata bytes. */
static void t_copy_kv(void)
{
	const struct gguf_ctx *g = rt_g;
	struct mrl_err err = {0};
	if (!g) {
		test_skip("the round-trip file did not parse");
		return;
	}
	struct gguf_writer *w2 = gguf_writer_new();
	for (size_t i = 0; i < gguf_n_kv(g); i++)
		gguf_writer_copy_kv(w2, gguf_kv_at(g, i));
	void *buf2 = NULL;
	size_t size2 = 0;
	int rc = gguf_writer_to_buffer(w2, &buf2, &size2, &err);
	struct gguf_ctx *g2 = NULL;
	ok(rc == 0 && gguf_parse(buf2, size2, "copy", &g2, &err) == 0 && gguf_n_kv(g2) == gguf_n_kv(g),
	   "gguf_writer_copy_kv copies every kv");
	if (g2) {
		/* kv section of both files: after the 24-byte header, same bytes */
		const char *buf = rt_buf;
		const struct gguf_kv *last = gguf_kv_at(g2, gguf_n_kv(g2) - 1);
		size_t kv_end = last->type != GGUF_ARRAY ? size2 /* arr_data is NULL then: no NULL + 0 */
			      : (size_t)((const char *)last->arr_data + last->arr_nbytes - (const char *)buf2);
		size_t diff = 24;
		while (diff < kv_end && buf[diff] == ((char *)buf2)[diff])
			diff++;
		if (!ok(diff == kv_end, "copied kvs are byte-identical"))
			diag("first difference at byte %zu of %zu: %02x vs %02x", diff, kv_end, ((unsigned char *)buf)[diff], ((unsigned char *)buf2)[diff]);
	}
	gguf_free(g2);
	gguf_writer_free(w2);
	free(buf2);
}

static void t_write_missing_folder(void)
{
	struct gguf_writer *w = gguf_writer_new();
	struct mrl_err err = {0};
	gguf_writer_set_u32(w, "a", 1);
	int rc = gguf_writer_write(w, "/nonexistent-dir/x.gguf", &err);
	ok(rc == MRL_EWRITE, "writing into a missing folder fails with MRL_EWRITE");
	like(err.msg, "/nonexistent-dir/x.gguf", "... naming the file");
	gguf_writer_free(w);
}

/* ---- 3. damaged files ---- */

struct bytes {
	uint8_t *p;
	size_t n, cap;
};

static void b_raw(struct bytes *b, const void *data, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->n, data, n);
	b->n += n;
}

static void b_u32(struct bytes *b, uint32_t v)
{
	uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
	b_raw(b, x, 4);
}

static void b_u64(struct bytes *b, uint64_t v)
{
	b_u32(b, (uint32_t)v);
	b_u32(b, (uint32_t)(v >> 32));
}

static void b_str(struct bytes *b, const char *s)
{
	b_u64(b, strlen(s));
	b_raw(b, s, strlen(s));
}

enum damage {
	D_NONE, D_MAGIC, D_V1, D_V99, D_BIG_ENDIAN, D_HUGE_NKV, D_HUGE_NT, D_KEY_LEN, D_TOKEN_LEN,
	D_VTYPE, D_ARR_TYPE, D_ARR_N, D_TTYPE, D_NDIMS5, D_NDIMS0, D_ZERO_DIM, D_NE_OVERFLOW,
	D_ROW_BLOCK, D_MISALIGNED, D_OFFSET_PAST_END, D_ALIGN_POW2, D_ALIGN_ZERO, D_ALIGN_TYPE,
	D_ALIGN_1, D_ALIGN_2, D_ALIGN_4, D_DUP_KEY, D_DUP_TENSOR, D_DEEP_NEST, D_EMPTY_KEY, D_CUT_DATA, D_COUNT
};

/* The small test file, field by field, with one field damaged. Returns the layout's
 * end of tensor data in *data_end (for the truncation test). */
static struct bytes build(enum damage d, size_t *data_end)
{
	struct bytes b = {0};
	b_raw(&b, d == D_MAGIC ? "GGUG" : "GGUF", 4);
	b_u32(&b, d == D_V1 ? 1 : d == D_V99 ? 99 : d == D_BIG_ENDIAN ? 0x03000000 : 3);
	b_u64(&b, d == D_HUGE_NT ? (uint64_t)1 << 60 : 2);
	b_u64(&b, d == D_HUGE_NKV ? (uint64_t)1 << 60 : d == D_DUP_KEY ? 7 : 6);
	/* kv 0 */
	if (d == D_KEY_LEN) {
		b_u64(&b, 0xffffffffu);
		b_raw(&b, "general.architecture", 20);
	} else {
		b_str(&b, d == D_EMPTY_KEY ? "" : "general.architecture");
	}
	b_u32(&b, GGUF_STRING);
	b_str(&b, "llama");
	/* kv 1 */
	b_str(&b, "general.alignment");
	if (d == D_ALIGN_TYPE) {
		b_u32(&b, GGUF_STRING);
		b_str(&b, "32");
	} else {
		b_u32(&b, GGUF_U32);
		b_u32(&b, d == D_ALIGN_POW2 ? 48 : d == D_ALIGN_ZERO ? 0 : d == D_ALIGN_1 ? 1 : d == D_ALIGN_2 ? 2
			  : d == D_ALIGN_4 ? 4 : 32);
	}
	/* kv 2: string array */
	b_str(&b, "tokenizer.ggml.tokens");
	b_u32(&b, GGUF_ARRAY);
	b_u32(&b, GGUF_STRING);
	b_u64(&b, 3);
	b_str(&b, "<s>");
	if (d == D_TOKEN_LEN) {
		b_u64(&b, 0xffffffffu);
		b_raw(&b, "hello", 5);
	} else {
		b_str(&b, "hello");
	}
	b_str(&b, "world");
	/* kv 3: f32 array */
	b_str(&b, "tokenizer.ggml.scores");
	b_u32(&b, GGUF_ARRAY);
	b_u32(&b, d == D_ARR_TYPE ? 13 : GGUF_F32);
	b_u64(&b, d == D_ARR_N ? (uint64_t)1 << 61 : 3);
	for (int i = 0; i < 3; i++)
		b_u32(&b, 0x3f800000);
	/* kv 4: nested array [[1, 2], ["x"]], or 20 levels deep */
	b_str(&b, "test.nested");
	b_u32(&b, GGUF_ARRAY);
	if (d == D_DEEP_NEST) {
		for (int i = 0; i < 20; i++) {
			b_u32(&b, GGUF_ARRAY);
			b_u64(&b, 1);
		}
		b_u32(&b, GGUF_U8);
		b_u64(&b, 0);
	} else {
		b_u32(&b, GGUF_ARRAY);
		b_u64(&b, 2);
		b_u32(&b, GGUF_U8);
		b_u64(&b, 2);
		b_raw(&b, "\x01\x02", 2);
		b_u32(&b, GGUF_STRING);
		b_u64(&b, 1);
		b_str(&b, "x");
	}
	/* kv 5 */
	b_str(&b, "llama.block_count");
	b_u32(&b, d == D_VTYPE ? 13 : GGUF_U32);
	b_u32(&b, 4);
	if (d == D_DUP_KEY) {
		b_str(&b, "llama.block_count");
		b_u32(&b, GGUF_U32);
		b_u32(&b, 5);
	}
	/* tensor 0: f32 [8, 2] at 0 (64 bytes) */
	b_str(&b, "t0");
	b_u32(&b, d == D_NDIMS5 ? 5 : d == D_NDIMS0 ? 0 : 2);
	b_u64(&b, d == D_NE_OVERFLOW ? (uint64_t)1 << 40 : 8);
	b_u64(&b, d == D_ZERO_DIM ? 0 : d == D_NE_OVERFLOW ? (uint64_t)1 << 40 : 2);
	b_u32(&b, ENG_TYPE_F32);
	b_u64(&b, 0);
	/* tensor 1: q8_0 [32] at 64 (34 bytes) */
	b_str(&b, d == D_DUP_TENSOR ? "t0" : "t1");
	b_u32(&b, 1);
	b_u64(&b, d == D_ROW_BLOCK ? 33 : 32);
	b_u32(&b, d == D_TTYPE ? 99 : ENG_TYPE_Q8_0);
	b_u64(&b, d == D_MISALIGNED ? 65 : d == D_OFFSET_PAST_END ? 4096 : 64);
	while (b.n % 32)
		b_raw(&b, "", 1);
	size_t data_start = b.n;
	for (int i = 0; i < 16; i++) {
		float f = (float)i;
		b_raw(&b, &f, 4);
	}
	uint8_t blk[34] = { 0x00, 0x3c }; /* d = 1.0 */
	for (int i = 0; i < 32; i++)
		blk[2 + i] = (uint8_t)(i - 16);
	b_raw(&b, blk, 34);
	*data_end = data_start + 64 + 34;
	while (b.n % 32)
		b_raw(&b, "", 1);
	if (d == D_CUT_DATA)
		b.n -= 40;
	return b;
}

/* Parse an exact-size copy (so that ASan sees any read past the end). On success,
 * touch every byte the context points at. */
static int parse_exact(const uint8_t *p, size_t n, struct mrl_err *err)
{
	uint8_t *copy = malloc(n ? n : 1);
	memcpy(copy, p, n);
	struct gguf_ctx *g = NULL;
	int rc = gguf_parse(copy, n, "damaged.gguf", &g, err);
	if (rc == 0) {
		volatile uint8_t sink = 0;
		for (size_t i = 0; i < gguf_n_kv(g); i++) {
			const struct gguf_kv *kv = gguf_kv_at(g, i);
			for (uint64_t k = 0; k < kv->key.len; k++)
				sink ^= (uint8_t)kv->key.ptr[k];
			if (kv->type == GGUF_STRING && kv->v.s.len)
				sink ^= (uint8_t)kv->v.s.ptr[kv->v.s.len - 1];
			if (kv->type == GGUF_ARRAY && kv->arr_nbytes)
				sink ^= kv->arr_data[kv->arr_nbytes - 1];
			if (kv->type == GGUF_ARRAY && kv->arr_type == GGUF_STRING)
				for (uint64_t k = 0; k < kv->arr_n; k++)
					if (kv->arr_strs[k].len)
						sink ^= (uint8_t)kv->arr_strs[k].ptr[kv->arr_strs[k].len - 1];
			if (kv->type == GGUF_ARRAY)
				for (uint64_t k = 0; k < kv->arr_n && k < 4; k++)
					sink ^= (uint8_t)gguf_arr_int(kv, k);
		}
		for (size_t i = 0; i < gguf_n_tensors(g); i++) {
			const struct gguf_tensor *t = gguf_tensor_at(g, i);
			const uint8_t *data = t->data;
			sink ^= data[0] ^ data[t->nbytes - 1];
		}
		(void)sink;
	}
	gguf_free(g);
	free(copy);
	return rc;
}

static void t_damage_cases(void)
{
	static const struct { enum damage d; int code; const char *m1, *m2; } cases[] = {
		{ D_MAGIC, MRL_EINPUT, "header", "magic" },
		{ D_V1, MRL_EUNSUPPORTED, "header", "version 1 " },
		{ D_V99, MRL_EUNSUPPORTED, "header", "version 99 " },
		{ D_BIG_ENDIAN, MRL_EUNSUPPORTED, "version 50331648", "big-endian" },
		{ D_HUGE_NKV, MRL_EINPUT, "header", "n_kv 1152921504606846976 cannot fit" },
		{ D_HUGE_NT, MRL_EINPUT, "header", "n_tensors 1152921504606846976 cannot fit" },
		{ D_KEY_LEN, MRL_EINPUT, "kv 0", "string length 4294967295 exceeds remaining" },
		{ D_TOKEN_LEN, MRL_EINPUT, "kv 2 ('tokenizer.ggml.tokens')", "element 1: string length 4294967295 exceeds remaining" },
		{ D_VTYPE, MRL_EINPUT, "kv 5 ('llama.block_count')", "invalid value type 13" },
		{ D_ARR_TYPE, MRL_EINPUT, "kv 3 ('tokenizer.ggml.scores')", "invalid array element type 13" },
		{ D_ARR_N, MRL_EINPUT, "kv 3 ('tokenizer.ggml.scores')", "2305843009213693952 f32 elements exceeds" },
		{ D_TTYPE, MRL_EUNSUPPORTED, "tensor 1 ('t1')", "unknown tensor type 99" },
		{ D_NDIMS5, MRL_EINPUT, "tensor 0 ('t0')", "n_dims 5 out of range" },
		{ D_NDIMS0, MRL_EINPUT, "tensor 0 ('t0')", "n_dims 0 out of range" },
		{ D_ZERO_DIM, MRL_EINPUT, "tensor 0 ('t0')", "ne[1] is zero" },
		{ D_NE_OVERFLOW, MRL_EINPUT, "tensor 0 ('t0')", "element count overflows" },
		{ D_ROW_BLOCK, MRL_EINPUT, "tensor 1 ('t1')", "ne[0] = 33 is not a multiple of q8_0's block size 32" },
		{ D_MISALIGNED, MRL_EINPUT, "tensor 1 ('t1')", "offset 65 is not a multiple of the alignment 32" },
		{ D_OFFSET_PAST_END, MRL_EINPUT, "tensor 1 ('t1')", "past end of file" },
		{ D_ALIGN_POW2, MRL_EINPUT, "general.alignment", "48 is not a power of two" },
		{ D_ALIGN_ZERO, MRL_EINPUT, "general.alignment", "out of range" },
		{ D_ALIGN_TYPE, MRL_EINPUT, "general.alignment", "expected an integer" },
		/* a power of two, but below the spec's multiple of 8: tensor data would be misaligned */
		{ D_ALIGN_1, MRL_EINPUT, "kv 1 ('general.alignment')", "alignment 1 is not a multiple of 8" },
		{ D_ALIGN_2, MRL_EINPUT, "kv 1 ('general.alignment')", "alignment 2 is not a multiple of 8" },
		{ D_ALIGN_4, MRL_EINPUT, "kv 1 ('general.alignment')", "alignment 4 is not a multiple of 8" },
		{ D_DUP_KEY, MRL_EINPUT, "kv 6 ('llama.block_count')", "duplicate key (first at kv 5)" },
		{ D_DUP_TENSOR, MRL_EINPUT, "tensor 1 ('t0')", "duplicate tensor name" },
		{ D_DEEP_NEST, MRL_EINPUT, "kv 4 ('test.nested')", "nested deeper than" },
		{ D_EMPTY_KEY, MRL_EINPUT, "kv 0", "empty key" },
		{ D_CUT_DATA, MRL_EINPUT, "tensor 1 ('t1')", "data range [" },
	};
	size_t data_end;
	struct bytes good = build(D_NONE, &data_end);
	struct mrl_err err = {0};
	int rc = parse_exact(good.p, good.n, &err);
	if (!ok(rc == 0, "the undamaged test file parses"))
		diag("%s", err.msg);
	free(good.p);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		size_t de;
		struct bytes b = build(cases[i].d, &de);
		memset(&err, 0, sizeof err);
		rc = parse_exact(b.p, b.n, &err);
		char name[200];
		snprintf(name, sizeof name, "damage %d fails with code %d: %s", (int)cases[i].d, cases[i].code, cases[i].m2);
		if (!ok(rc == cases[i].code, name))
			diag("rc %d: %s", rc, err.msg);
		like(err.msg, "damaged.gguf: ", "... the message names the file");
		like(err.msg, cases[i].m1, "... and the field");
		like(err.msg, cases[i].m2, "... and the problem");
		free(b.p);
	}
}

/* The same file one byte into its buffer: every tensor would be misaligned. */
static void t_odd_address(void)
{
	size_t data_end;
	struct bytes good = build(D_NONE, &data_end);
	struct mrl_err err = {0};
	int rc;
	{
		uint8_t *shifted = malloc(good.n + 1);
		memcpy(shifted + 1, good.p, good.n);
		struct gguf_ctx *g = NULL;
		rc = gguf_parse(shifted + 1, good.n, "damaged.gguf", &g, &err);
		is_int(rc, MRL_EINPUT, "a buffer at an odd address is refused (its tensors would be misaligned)");
		like(err.msg, "damaged.gguf: header: the buffer is not 8-byte aligned", "... naming the file and why");
		gguf_free(g);
		free(shifted);
	}
	free(good.p);
}

/* The smallest alignment the spec allows: 8. */
static void t_alignment_8(void)
{
	struct mrl_err err = {0};
	int rc;
	{
		struct gguf_writer *w = gguf_writer_new();
		float x[3] = { 1, 2, 3 };
		uint64_t ne[1] = { 3 };
		void *buf = NULL;
		size_t size = 0;
		struct gguf_ctx *g = NULL;
		rc = gguf_writer_set_u32(w, "general.alignment", 8) ||
		     gguf_writer_add_tensor(w, "a", ENG_TYPE_F32, 1, ne, x, sizeof x) ||
		     gguf_writer_add_tensor(w, "b", ENG_TYPE_F32, 1, ne, x, sizeof x) ||
		     gguf_writer_to_buffer(w, &buf, &size, &err) || gguf_parse(buf, size, "align8.gguf", &g, &err);
		if (!ok(rc == 0 && gguf_alignment(g) == 8, "alignment 8 is accepted"))
			diag("%s", err.msg);
		ok(g && gguf_tensor_at(g, 1)->offset == 16, "... and the second tensor sits at offset 16");
		gguf_free(g);
		free(buf);
		gguf_writer_free(w);
	}
}

/* D_CUT_DATA's full message. */
static void t_cut_data_message(void)
{
	struct mrl_err err = {0};
	{
		size_t de;
		struct bytes b = build(D_CUT_DATA, &de);
		parse_exact(b.p, b.n, &err);
		char want[200];
		snprintf(want, sizeof want, "data range [%zu, %zu) past end of file (size %zu)", de - 34, de, b.n);
		like(err.msg, want, "cut data: the message gives the range and the file size");
		free(b.p);
	}
}

/* Cut at every offset: before the end of the last tensor's data it must fail. */
static void t_cut_everywhere(void)
{
	size_t data_end;
	struct bytes good = build(D_NONE, &data_end);
	struct mrl_err err = {0};
	int rc;
	int n_fail_ok = 0, n_wrong = 0;
	for (size_t cut = 0; cut < good.n; cut++) {
		rc = parse_exact(good.p, cut, &err);
		if (cut < data_end ? rc != 0 : rc == 0)
			n_fail_ok++;
		else if (n_wrong++ < 3)
			diag("cut at %zu: rc %d (%s)", cut, rc, err.msg);
	}
	is_int(n_fail_ok, good.n, "cut at every offset: fails before the end of the data, parses after");
	free(good.p);
}

/* Random mutations: never crash; seeded, so a failure reproduces. */
static void t_mutations(void)
{
	size_t data_end;
	struct bytes good = build(D_NONE, &data_end);
	struct mrl_err err = {0};
	uint64_t state = 0x9e3779b97f4a7c15ull;
	int n_parsed = 0, n_failed = 0;
	uint8_t *m = malloc(good.n);
	for (int iter = 0; iter < 3000; iter++) {
		memcpy(m, good.p, good.n);
		int flips = 1 + iter % 4;
		for (int k = 0; k < flips; k++) {
			state = state * 6364136223846793005ull + 1442695040888963407ull;
			uint64_t r = state >> 33;
			size_t pos = (size_t)(r % good.n);
			if (iter % 3 == 0)
				m[pos] ^= (uint8_t)(1u << (r >> 20) % 8);   /* one bit */
			else if (iter % 3 == 1)
				m[pos] = (uint8_t)(r >> 24);                  /* one byte */
			else
				m[pos] = (r >> 24) & 1 ? 0xff : 0x00;         /* extremes */
		}
		if (parse_exact(m, good.n, &err) == 0)
			n_parsed++;
		else if (err.msg[0] && strstr(err.msg, "damaged.gguf: "))
			n_failed++;
	}
	free(m);
	diag("3000 mutations: %d parsed, %d failed with a message", n_parsed, n_failed);
	is_int(n_parsed + n_failed, 3000, "3000 random mutations: each parses or fails with a message naming the file");
	ok(n_failed > 1000, "most mutations are caught");
	free(good.p);
}

static void check_fixture_damage(void)
{
	const char *dir = fixtures_dir();
	if (!dir) {
		skip("fixtures absent", "damaged fixture model");
		return;
	}
	char path[512];
	snprintf(path, sizeof path, "%s/models/tiny-llama-ff192-q4_0.gguf", dir);
	size_t size;
	uint8_t *buf = read_file(path, &size);
	if (!buf) {
		ok(0, "read the q4_0 fixture");
		return;
	}
	struct gguf_ctx *g = NULL;
	struct mrl_err err = {0};
	gguf_parse(buf, size, "m.gguf", &g, &err);
	size_t header_end = g ? (size_t)((const uint8_t *)gguf_tensor_at(g, 0)->data - buf) : 4096;
	gguf_free(g);
	/* cuts every 1/64 of the header region and inside the data: all must fail */
	int n_fail = 0, n = 0;
	for (int k = 0; k < 64; k++, n++)
		if (parse_exact(buf, header_end * (size_t)k / 64, &err) != 0)
			n_fail++;
	for (int k = 1; k <= 16; k++, n++)
		if (parse_exact(buf, header_end + (size - header_end) * (size_t)k / 17, &err) != 0)
			n_fail++;
	is_int(n_fail, n, "q4_0 fixture cut at 64 header offsets and 16 data offsets: all fail");
	like(err.msg, "past end of file", "a cut in the data names the tensor range past the end");
	free(buf);
}

/* llama.cpp quantized the fixture models from the same f32 weights: our
 * quantizers must reproduce its files byte for byte (reference rounding). */
static void check_quantizers_match_llama_cpp(void)
{
	const char *dir = fixtures_dir();
	if (!dir) {
		skip("fixtures absent", "quantizers reproduce llama.cpp's files");
		return;
	}
	static const char *const files[] = { "tiny-llama-ff192-f16.gguf", "tiny-llama-ff192-q8_0.gguf",
					     "tiny-llama-ff192-q4_0.gguf" };
	char path[512];
	size_t size32;
	snprintf(path, sizeof path, "%s/models/tiny-llama-ff192-f32.gguf", dir);
	void *buf32 = read_file(path, &size32);
	struct gguf_ctx *g32 = NULL;
	struct mrl_err err = {0};
	if (!buf32 || gguf_parse(buf32, size32, path, &g32, &err)) {
		ok(0, "read the f32 fixture");
		free(buf32);
		return;
	}
	for (int f = 0; f < 3; f++) {
		size_t size;
		snprintf(path, sizeof path, "%s/models/%s", dir, files[f]);
		void *buf = read_file(path, &size);
		struct gguf_ctx *g = NULL;
		if (!buf || gguf_parse(buf, size, path, &g, &err)) {
			ok(0, files[f]);
			free(buf);
			continue;
		}
		size_t n_tensors = 0, n_same = 0;
		for (size_t i = 0; i < gguf_n_tensors(g); i++) {
			const struct gguf_tensor *t = gguf_tensor_at(g, i);
			char name[128];
			snprintf(name, sizeof name, "%.*s", (int)t->name.len, t->name.ptr);
			const struct gguf_tensor *src = gguf_find_tensor(g32, name);
			if (t->type == ENG_TYPE_F32 || !src || src->n_elements != t->n_elements)
				continue;
			n_tensors++;
			void *q = malloc(t->nbytes);
			eng_type_get(t->type)->from_f32(src->data, q, (int64_t)src->n_elements);
			if (!memcmp(q, t->data, t->nbytes))
				n_same++;
			free(q);
		}
		char name[200];
		snprintf(name, sizeof name, "%s: quantizing the f32 fixture gives all %zu non-f32 tensors byte for byte",
			 files[f], n_tensors);
		ok(n_tensors >= 30 && n_same == n_tensors, name);
		gguf_free(g);
		free(buf);
	}
	gguf_free(g32);
	free(buf32);
}

int main(void)
{
	TEST(check_quantizers_match_llama_cpp(), "our quantizers reproduce llama.cpp's fixture files byte for byte");
	TEST(check_fixtures(), "the fixture models and vocabularies parse");
	rt_make_tensors();
	TEST(t_writer_refuses_duplicate(), "the writer refuses a duplicate tensor and reports it at write time");
	TEST(t_round_trip_write(), "the writer writes a version 3 file, padded, that parses");
	TEST(t_round_trip_scalars(), "every scalar type round-trips, a key set twice holds the last value");
	TEST(t_round_trip_arrays(), "arrays round-trip: i32, f32, strings, empty, nested verbatim");
	TEST(t_typed_getters(), "the typed getters convert in range and refuse out of range, naming the key");
	TEST(t_round_trip_tensors(), "a tensor of each type round-trips exactly");
	TEST(t_copy_kv(), "gguf_writer_copy_kv copies every kv byte for byte");
	TEST(t_write_missing_folder(), "writing into a missing folder fails with MRL_EWRITE naming the file");
	gguf_free(rt_g);
	free(rt_buf);
	TEST(t_damage_cases(), "each damaged field fails with its code, naming the file, the field and the problem");
	TEST(t_odd_address(), "a buffer at an odd address is refused");
	TEST(t_alignment_8(), "alignment 8, the smallest the spec allows, is accepted");
	TEST(t_cut_data_message(), "cut tensor data: the message gives the range and the file size");
	TEST(t_cut_everywhere(), "a file cut at any offset before the end of its data fails");
	TEST(t_mutations(), "random mutations parse or fail with a message, never crash");
	TEST(check_fixture_damage(), "the q4_0 fixture cut in its header or data fails");
	return done_testing();
}
