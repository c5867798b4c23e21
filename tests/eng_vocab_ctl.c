/* eng_vocab_ctl.c — llama.cpp's load-time re-typing of "control-looking" tokens in
 * GGUF vocabularies (engine/vocab_special.c), against llama-tokenize.
 *
 * llama.cpp makes a token control when it finds it by its name as the end-of-turn,
 * end-of-message or a fill-in-the-middle token (only where the GGUF gives no id for
 * that kind), or as an end-of-generation marker (always). Each case below loads a
 * fixture vocabulary, or a variant of it made here (one int32 of
 * tokenizer.ggml.token_type patched in a copy of the file, and/or one u32 key set),
 * and tokenizes one text with and without special parsing. The expected ids are
 * llama-tokenize's (llama.cpp f0d4d176) on the same variants, written by Python's
 * struct module (/tmp only; nothing here needs Python):
 *   llama-tokenize -m VARIANT.gguf -f TEXT --ids --no-bos --log-disable [--no-parse-special]
 * HF's tokenizers library does not re-type: a tokenizer.json keeps its types.
 */
#include "tests/tap.h"
#include "tests/cli.h"

#include <stdint.h>
#include <sys/stat.h>

#include <jansson.h>

#include "common/fileio.h"
#include "engine/gguf.h"
#include "engine/vocab.h"
#include "tests/tok_oracle.h"

struct ctl_case {
	const char *vocab;  /* fixtures/tokenizer/ggml-vocab-<vocab>.gguf, or a path under fixtures/ */
	int32_t id, type;   /* token_type[id] = type in the copy (id < 0: none) */
	const char *key;    /* a u32 key set in the copy (NULL: none) ... */
	uint32_t key_val;   /* ... to this value */
	const char *text;
	const char *plain;   /* llama-tokenize's ids with --no-parse-special */
	const char *special; /* ... with special parsing */
	const char *why;
};

#define DSC_FIM_BEGIN_TEXT "27 169 121 237 69 308 11028 210 946 169 121 237 29"
#define DSC_FIM_HOLE_TEXT "27 169 121 237 69 308 11028 210 19496 169 121 237 29"
#define GPT2_EOT_TEXT "27 91 437 1659 5239 91 29"

static const struct ctl_case cases[] = {
	{ "deepseek-coder", -1, 0, NULL, 0, "<｜fim▁begin｜>a", DSC_FIM_BEGIN_TEXT " 64", "32016 64",
	  "deepseek-coder: <｜fim▁begin｜> (user-defined in the file) is control: its text stays text" },
	{ "deepseek-coder", -1, 0, NULL, 0, "<｜fim▁hole｜>x<｜fim▁end｜>",
	  DSC_FIM_HOLE_TEXT " 87 27 169 121 237 69 308 11028 210 408 169 121 237 29", "32015 87 32017",
	  "deepseek-coder: so are <｜fim▁hole｜> and <｜fim▁end｜>" },
	{ "deepseek-coder", -1, 0, NULL, 0, "x<|EOT|>y", "87 32021 88", "87 32021 88",
	  "deepseek-coder: <|EOT|> is none of llama.cpp's names: user-defined, cut out" },
	{ "deepseek-coder", -1, 0, "tokenizer.ggml.fim_pre_token_id", 32016, "<｜fim▁begin｜>a<｜fim▁hole｜>",
	  "32016 64 " DSC_FIM_HOLE_TEXT, "32016 64 32015",
	  "fim_pre_token_id given: <｜fim▁begin｜> is not looked up and stays user-defined" },
	{ "deepseek-coder", -1, 0, "tokenizer.ggml.prefix_token_id", 32016, "<｜fim▁begin｜>a<｜fim▁hole｜>",
	  "32016 64 " DSC_FIM_HOLE_TEXT, "32016 64 32015", "the deprecated prefix_token_id counts as fim_pre" },
	{ "deepseek-coder", -1, 0, "tokenizer.ggml.fim_pre_token_id", 4294967295u, "<｜fim▁begin｜>a",
	  DSC_FIM_BEGIN_TEXT " 64", "32016 64", "fim_pre_token_id out of range is ignored: looked up by text" },
	{ "deepseek-coder", 32014, ENG_TOKEN_USER_DEFINED, NULL, 0, "a<｜end▁of▁sentence｜>b",
	  "64 27 169 121 237 408 11028 210 990 11028 210 18119 720 169 121 237 29 65", "64 32014 65",
	  "<｜end▁of▁sentence｜> user-defined, no eot key: found as EOT, control" },
	{ "deepseek-coder", 32014, ENG_TOKEN_USER_DEFINED, "tokenizer.ggml.eot_token_id", 32021, "a<｜end▁of▁sentence｜>b",
	  "64 32014 65", "64 32014 65", "... with eot_token_id given it stays user-defined" },
	{ "gpt-2", 50256, ENG_TOKEN_USER_DEFINED, NULL, 0, "a<|endoftext|>b", "64 " GPT2_EOT_TEXT " 65", "64 50256 65",
	  "gpt-2, <|endoftext|> user-defined: control again" },
	{ "gpt-2", 50256, ENG_TOKEN_NORMAL, NULL, 0, "a<|endoftext|>b", "64 " GPT2_EOT_TEXT " 65", "64 50256 65",
	  "gpt-2, <|endoftext|> normal: control again, so special parsing finds it" },
	{ "gpt-2", 50256, ENG_TOKEN_USER_DEFINED, "tokenizer.ggml.eot_token_id", 50256, "a<|endoftext|>b",
	  "64 " GPT2_EOT_TEXT " 65", "64 50256 65", "an end-of-generation name is re-typed even with eot_token_id given" },
	{ "phi-3", 32007, ENG_TOKEN_NORMAL, NULL, 0, "a<|end|> b", "263 29966 29989 355 29989 29958 289", "263 32007 289",
	  "phi-3 (SentencePiece), <|end|> normal: control, with Phi-3's rstrip" },
	{ "phi-3", 32007, ENG_TOKEN_USER_DEFINED, NULL, 0, "a<|end|> b", "263 29966 29989 355 29989 29958 289",
	  "263 32007 289", "phi-3, <|end|> user-defined: control" },
};

/* Write c's variant of its fixture to out_path: the token type patched in the file's
 * bytes, every entry copied through the GGUF writer, the key set. 0, or -1 with a
 * diagnostic. */
static void fixture_path(const char *fx, const char *vocab, char *path, size_t size)
{
	if (strchr(vocab, '/'))
		snprintf(path, size, "%s/%s", fx, vocab);
	else
		snprintf(path, size, "%s/tokenizer/ggml-vocab-%s.gguf", fx, vocab);
}

static int write_variant(const char *fx, const struct ctl_case *c, const char *out_path)
{
	char path[1024];
	fixture_path(fx, c->vocab, path, sizeof path);
	char *buf = NULL;
	size_t len = 0;
	struct gguf_ctx *g = NULL;
	struct gguf_writer *w = NULL;
	struct mrl_err err = { 0 };
	int rc = -1;
	if (mrl_read_file(path, (size_t)1 << 30, &buf, &len, &err) || gguf_parse(buf, len, path, &g, &err))
		goto out;
	if (c->id >= 0) {
		const struct gguf_kv *types = gguf_find(g, "tokenizer.ggml.token_type");
		if (!types || types->type != GGUF_ARRAY || types->arr_type != GGUF_I32 || (uint64_t)c->id >= types->arr_n) {
			diag("%s: no int32 token_type entry %d", path, c->id);
			goto out;
		}
		int32_t t = c->type;
		memcpy(buf + (types->arr_data - (const uint8_t *)buf) + 4 * (size_t)c->id, &t, 4);
	}
	if (!(w = gguf_writer_new()))
		goto out;
	for (size_t i = 0; i < gguf_n_kv(g); i++)
		if (gguf_writer_copy_kv(w, gguf_kv_at(g, i)))
			goto out;
	if (c->key && gguf_writer_set_u32(w, c->key, c->key_val))
		goto out;
	rc = gguf_writer_write(w, out_path, &err) ? -1 : 0;
out:
	if (rc)
		diag("variant of %s: %s", path, err.msg[0] ? err.msg : "cannot be made");
	gguf_writer_free(w);
	gguf_free(g);
	free(buf);
	return rc;
}

static char *encode_str(const struct eng_vocab *v, const char *text, unsigned flags)
{
	int32_t *ids = NULL;
	size_t n = 0;
	struct mrl_err err = { 0 };
	if (eng_vocab_encode(v, text, strlen(text), flags, &ids, &n, &err))
		return strdup(err.msg);
	char *s = ids_str(ids, n);
	free(ids);
	return s;
}

static void t_case(const char *fx, const char *dir, const struct ctl_case *c)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/variant.gguf", dir);
	if (write_variant(fx, c, path)) {
		ok(0, "the variant is written");
		return;
	}
	struct eng_vocab *v = load_gguf_vocab(path);
	if (!ok(v != NULL, "the variant loads"))
		return;
	char *plain = encode_str(v, c->text, 0), *special = encode_str(v, c->text, ENG_TOK_PARSE_SPECIAL);
	is_str(plain, c->plain, "without special parsing: llama.cpp's ids");
	is_str(special, c->special, "with special parsing: llama.cpp's ids");
	free(plain);
	free(special);
	eng_vocab_free(v);
}

/* The types after loading: what is re-typed, what is not. */
static void t_types(const char *fx)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/tokenizer/ggml-vocab-deepseek-coder.gguf", fx);
	struct eng_vocab *v = load_gguf_vocab(path);
	if (!ok(v != NULL, "deepseek-coder loads"))
		return;
	is_int(eng_vocab_token_type(v, 32016), ENG_TOKEN_CONTROL, "<｜fim▁begin｜> (FIM prefix) is control");
	is_int(eng_vocab_token_type(v, 32015), ENG_TOKEN_CONTROL, "<｜fim▁hole｜> (FIM suffix) is control");
	is_int(eng_vocab_token_type(v, 32017), ENG_TOKEN_CONTROL, "<｜fim▁end｜> (FIM middle) is control");
	is_int(eng_vocab_token_type(v, 32021), ENG_TOKEN_USER_DEFINED, "<|EOT|> stays user-defined");
	is_int(eng_vocab_token_type(v, 32019), ENG_TOKEN_USER_DEFINED, "<|User|> stays user-defined");
	is_int(eng_vocab_n_warnings(v), 0, "no warning: llama.cpp's re-typing is silent here");
	eng_vocab_free(v);
}

/* An out-of-range FIM key warns, saying the token is looked up by its text. */
static void t_warning(const char *fx, const char *dir)
{
	char path[1200];
	snprintf(path, sizeof path, "%s/oor.gguf", dir);
	const struct ctl_case c = { "deepseek-coder", -1, 0, "tokenizer.ggml.fim_pre_token_id", 4294967295u, "", "", "", "" };
	struct eng_vocab *v = write_variant(fx, &c, path) ? NULL : load_gguf_vocab(path);
	if (!ok(v != NULL, "the variant loads"))
		return;
	is_int(eng_vocab_n_warnings(v), 1, "one warning");
	like(eng_vocab_warning(v, 0), "tokenizer.ggml.fim_pre_token_id = 4294967295 is out of range", "naming the key");
	like(eng_vocab_warning(v, 0), "the fim_pre token is looked up by its text", "saying what happens instead");
	eng_vocab_free(v);
}

/* llama.cpp's end-of-generation ids ("print_info: EOG token" lines of
 *   llama-tokenize -m F -p x --ids --no-bos
 * on the fixture, or on the variant with the key set), for eng_vocab_eog_ids. */
struct eog_case {
	const char *vocab;  /* as in struct ctl_case */
	const char *key;    /* a u32 key set in a copy (NULL: the fixture itself) ... */
	uint32_t key_val;   /* ... to this value */
	const char *eog;    /* llama.cpp's ids, ascending */
	const char *why;    /* NULL: just the fixture's */
};

static const struct eog_case eog_cases[] = {
	{ "llama-spm", NULL, 0, "2", NULL },
	{ "phi-3", NULL, 0, "32000 32007", NULL },
	{ "gpt-2", NULL, 0, "50256", NULL },
	{ "falcon", NULL, 0, "11", NULL },
	{ "mpt", NULL, 0, "0", NULL },
	{ "starcoder", NULL, 0, "0 4", "<fim_pad> found by name" },
	{ "refact", NULL, 0, "0 4 18", "<fim_pad> and <reponame> found by name" },
	{ "deepseek-llm", NULL, 0, "100001", NULL },
	{ "deepseek-coder", NULL, 0, "32014", NULL },
	{ "models-real/smollm2-135m-instruct-q4_1.gguf", NULL, 0, "0 2 4",
	  "<|endoftext|>, <|im_end|> and <reponame>" },
	{ "hf/gguf/gemma2-f32.gguf", NULL, 0, "1", NULL },
	{ "hf/gguf/llama-f32.gguf", NULL, 0, "0 2", NULL },
	{ "hf/gguf/phi3-f32.gguf", NULL, 0, "511", NULL },
	{ "deepseek-coder", "tokenizer.ggml.eot_token_id", 32021, "32014 32021", "given" },
	{ "deepseek-coder", "tokenizer.ggml.fim_pad_token_id", 32018, "32014 32018", "given" },
	{ "refact", "tokenizer.ggml.fim_rep_token_id", 17, "0 4 17",
	  "given: <reponame> is not looked up" },
	{ "gpt-2", "tokenizer.ggml.eom_token_id", 100, "100 50256", "given" },
	{ "starcoder", "tokenizer.ggml.fim_pad_token_id", 4294967295u, "0 4",
	  "out of range: <fim_pad> found by name" },
};

static void t_eog(const char *fx, const char *dir)
{
	char path[1200];
	for (size_t i = 0; i < sizeof eog_cases / sizeof eog_cases[0]; i++) {
		const struct eog_case *c = &eog_cases[i];
		const struct ctl_case variant = { .vocab = c->vocab, .id = -1, .key = c->key, .key_val = c->key_val };
		if (c->key) {
			snprintf(path, sizeof path, "%s/eog.gguf", dir);
			if (write_variant(fx, &variant, path))
				path[0] = '\0';
		} else {
			fixture_path(fx, c->vocab, path, sizeof path);
		}
		struct eng_vocab *v = path[0] ? load_gguf_vocab(path) : NULL;
		char label[300];
		snprintf(label, sizeof label, "%s%s%s: llama.cpp's EOG ids%s%s", c->vocab, c->key ? ", " : "",
			 c->key ? c->key + strlen("tokenizer.ggml.") : "", c->why ? " — " : "", c->why ? c->why : "");
		if (!v) {
			ok(0, label);
			continue;
		}
		size_t n = 0;
		const int32_t *eog = eng_vocab_eog_ids(v, &n);
		char *got = ids_str(eog, n);
		is_str(got, c->eog, label);
		free(got);
		eng_vocab_free(v);
	}
}

/* `merilo tokenize` gives the same ids (the audit's case). */
static void t_cli(const char *fx, const char *dir)
{
	if (!cli_merilo()) {
		test_skip("$MERILO unset or not executable");
		return;
	}
	char text_path[1200], *out = NULL;
	snprintf(text_path, sizeof text_path, "%s/fim.txt", dir);
	cli_write_file(text_path, "<｜fim▁begin｜>a");
	int rc = cli_run(&out, "tokenize --model '%s/tokenizer/ggml-vocab-deepseek-coder.gguf' --no-bos --file '%s'", fx,
			 text_path);
	is_int(rc, 0, "merilo tokenize: exit 0");
	is_str(out, DSC_FIM_BEGIN_TEXT " 64\n", "merilo tokenize: llama.cpp's ids");
	free(out);
	rc = cli_run(&out, "tokenize --model '%s/tokenizer/ggml-vocab-deepseek-coder.gguf' --no-bos --parse-special --file '%s'",
		     fx, text_path);
	is_int(rc, 0, "merilo tokenize --parse-special: exit 0");
	is_str(out, "32016 64\n", "merilo tokenize --parse-special: llama.cpp's ids");
	free(out);
}

/* A tokenizer.json keeps its types (HF does not re-type): gpt-2's with <|endoftext|>
 * marked "special": false stays user-defined, and decoding keeps its text, as HF
 * tokenizers 0.23.3's decode(skip_special_tokens=True) of [64, 50256, 65] does. Alone
 * (no EOS named, no generation config), its end of generation is the end-of-turn name. */
static void t_hf_keeps_types(const char *fx, const char *dir)
{
	char src[1024], path[1200];
	snprintf(src, sizeof src, "%s/hf/tokenizers/gpt-2/tokenizer.json", fx);
	snprintf(path, sizeof path, "%s/tokenizer.json", dir);
	json_error_t jerr;
	json_t *root = json_load_file(src, 0, &jerr), *added = root ? json_object_get(root, "added_tokens") : NULL;
	size_t i;
	json_t *tok;
	json_array_foreach(added, i, tok) {
		const char *content = json_string_value(json_object_get(tok, "content"));
		if (content && !strcmp(content, "<|endoftext|>"))
			json_object_set_new(tok, "special", json_false());
	}
	if (!ok(root && json_dump_file(root, path, 0) == 0, "gpt-2's tokenizer.json, <|endoftext|> not special")) {
		json_decref(root);
		return;
	}
	json_decref(root);
	struct eng_vocab *v = NULL;
	struct mrl_err err = { 0 };
	if (!ok(eng_vocab_load_json(&v, path, &err) == 0, "it loads")) {
		diag("%s", err.msg);
		return;
	}
	is_int(eng_vocab_token_type(v, 50256), ENG_TOKEN_USER_DEFINED, "<|endoftext|> stays user-defined");
	size_t n_eog = 0;
	const int32_t *eog = eng_vocab_eog_ids(v, &n_eog);
	char *eog_s = ids_str(eog, n_eog);
	is_str(eog_s, "50256", "end of generation: <|endoftext|>, by its name");
	free(eog_s);
	char *ids = encode_str(v, "a<|endoftext|>b", 0);
	is_str(ids, "64 50256 65", "HF's ids (added tokens always match)");
	free(ids);
	const int32_t back[] = { 64, 50256, 65 };
	char *text = NULL;
	if (eng_vocab_detokenize(v, back, 3, &text, NULL, &err) == 0)
		is_str(text, "a<|endoftext|>b", "decoding keeps its text");
	free(text);
	eng_vocab_free(v);
}

/* A tokenizer.json's end-of-generation ids (engine/vocab_special.c, vocab_mark_eog_json):
 * EOS, transformers' generation config ids (generation_config.json's eos_token_id, else
 * config.json's; transformers 5.25 loading the folder gave [3, 4], None, None and
 * [511, 2] for the cases 5, 4, 6 and 2's first two ids) and the end-of-turn names, on
 * phi3's tokenizer (EOS 511
 * <|endoftext|>; 2 is "</s>", control, which neither transformers nor llama.cpp stops at). */
struct hf_eog_case {
	const char *gen_config; /* generation_config.json (NULL: none) */
	const char *config;     /* config.json (NULL: none) */
	const char *eog;
	const char *why;
	bool warns;             /* generation_config.json does not read: a warning names it */
};

static const struct hf_eog_case hf_eog_cases[] = {
	{ NULL, NULL, "511", "no generation config: EOS; </s> (not the EOS) is not one", false },
	{ "{\"eos_token_id\": [511, 2, 7, 99999, \"x\"]}", "{\"eos_token_id\": 3}", "2 7 511",
	  "generation_config.json's list (out of range and non-ids skipped); config.json not read", false },
	{ "{\"eos_token_id\": 9}", NULL, "9 511", "generation_config.json's single id", false },
	{ "{\"do_sample\": true}", "{\"eos_token_id\": [3, 4]}", "511",
	  "generation_config.json without the key: none from the configs (config.json not read)", false },
	{ NULL, "{\"eos_token_id\": [5]}", "5 511", "config.json alone", false },
	{ "{\"eos_token_id\": null}", "{\"eos_token_id\": [3]}", "511",
	  "eos_token_id null in generation_config.json: none from the configs", false },
	{ "{oops", "{\"eos_token_id\": 6}", "6 511", "a malformed generation_config.json: a warning, config.json read",
	  true },
};

static void t_hf_eog(const char *fx, const char *dir)
{
	char src[3400], path[1300], folder[300];
	snprintf(folder, sizeof folder, "%s/hf-eog", dir);
	mkdir(folder, 0755);
	snprintf(src, sizeof src, "cp '%s/hf/phi3/tokenizer.json' '%s/hf/phi3/tokenizer_config.json' '%s/'", fx, fx, folder);
	if (!ok(system(src) == 0, "phi3's tokenizer.json and tokenizer_config.json copied"))
		return;
	for (size_t i = 0; i < sizeof hf_eog_cases / sizeof hf_eog_cases[0]; i++) {
		const struct hf_eog_case *c = &hf_eog_cases[i];
		static const char *const names[2] = { "generation_config.json", "config.json" };
		const char *texts[2] = { c->gen_config, c->config };
		for (int f = 0; f < 2; f++) {
			snprintf(path, sizeof path, "%s/%s", folder, names[f]);
			unlink(path);
			if (texts[f])
				cli_write_file(path, texts[f]);
		}
		struct eng_vocab *v = NULL;
		struct mrl_err err = { 0 };
		if (eng_vocab_load_json(&v, folder, &err)) {
			ok(0, c->why);
			diag("%s", err.msg);
			continue;
		}
		size_t n = 0;
		const int32_t *eog = eng_vocab_eog_ids(v, &n);
		char *got = ids_str(eog, n);
		is_str(got, c->eog, c->why);
		free(got);
		if (c->warns)
			like(eng_vocab_n_warnings(v) ? eng_vocab_warning(v, 0) : "", "generation_config.json:1:",
			     "... the warning names the file and the place");
		else
			is_int(eng_vocab_n_warnings(v), 0, "... no warning");
		eng_vocab_free(v);
	}
}

int main(void)
{
	const char *fx = fixtures_dir();
	if (!fx) {
		skip_all("fixtures absent: ../shared/fixtures (llama.cpp's GGUF vocabularies)");
		return done_testing();
	}
	char dir[256];
	if (!cli_tmpdir(dir, sizeof dir, "vocab-ctl")) {
		skip_all("no temporary folder");
		return done_testing();
	}
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		TEST(t_case(fx, dir, &cases[i]), "%s", cases[i].why);
	TEST(t_types(fx), "deepseek-coder: the FIM tokens are control after loading, the others as stored");
	TEST(t_warning(fx, dir), "an out-of-range fim_pre_token_id: a warning, then the lookup by text");
	TEST(t_cli(fx, dir), "merilo tokenize on deepseek-coder: the FIM token's text stays text");
	TEST(t_eog(fx, dir), "the end-of-generation ids are llama.cpp's");
	TEST(t_hf_keeps_types(fx, dir), "tokenizer.json: no re-typing, as in HF");
	TEST(t_hf_eog(fx, dir), "tokenizer.json: end of generation from the generation config, as transformers");
	cli_rmtree(dir);
	return done_testing();
}
