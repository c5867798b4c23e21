/* eng_vocab_spm.c — a SentencePiece tokenizer.model in an HF folder without tokenizer.json.
 *
 * 1. transformers 5 is the oracle: each fixture tokenizer.model (tiny-spm, tiny-spm-gemma,
 *    tiny-spm-phi3) with its tokenizer_config.json and no tokenizer.json gives the ids that
 *    AutoTokenizer gives on the same files (tests/data/tok-spm.*, made by
 *    tests/data/make_tok_spm.py): 30 texts.txt strings and 15 BCMS strings each, and the
 *    special ids.
 * 2. The same folder tokenizes exactly as the folder with tokenizer.json (every string, with
 *    and without BOS and special parsing; pieces, special ids, end-of-generation ids), for
 *    the three tokenizers and the mistral, gemma2 and phi3 checkpoint folders.
 * 3. Against llama.cpp's ids on the GGUF converted from the same tokenizer.model, the only
 *    strings that differ are those that start with a space (docs/tokenizer.md).
 *    Also tokenizer_config.json variants: "legacy": true (a ▁ after each added token), and no
 *    tokenizer_class beside a gemma2 config.json (transformers then picks GemmaTokenizer).
 *    At scale: Llama 2's vocabulary (llama.cpp's GGUF) rebuilt as a tokenizer.model gives the
 *    ids of the tokenizer.json of the same vocabulary on 91 strings, and transformers 5's
 *    ids wherever transformers' two agree (they differ on runs of spaces: docs/tokenizer.md).
 * 4. Added tokens: tokenizer_config.json's added_tokens_decoder as transformers;
 *    added_tokens.json read as transformers 4 and llama.cpp (transformers 5 ignores it).
 * 5. tokenizer.model is untrusted: truncated at every byte and corrupted at every byte, it
 *    loads or fails with one line naming the file, never crashes (run under ASan/UBSan);
 *    hand-made models that merilo does not implement are refused by name.
 */
#include "tests/tap.h"

#include <stdint.h>
#include <unistd.h>

#include "common/fileio.h"
#include "engine/eng_int.h"
#include "engine/vocab.h"
#include "tests/tok_oracle.h"

#define MAX_STRS 64

static const char *const tok_names[3] = { "tiny-spm", "tiny-spm-gemma", "tiny-spm-phi3" };
static char tmp_root[] = "/tmp/merilo-spm-XXXXXX";

/* The strings of an .inp file (appended to strs; buffers kept in bufs). */
static size_t read_inp(const char *path, char **strs, size_t *lens, size_t n, size_t max, char **buf)
{
	size_t len = 0;
	struct mrl_err err = { 0 };
	if (mrl_read_file(path, 1 << 24, buf, &len, &err)) {
		diag("%s", err.msg);
		return n;
	}
	return n + split_inputs(*buf, len, strs + n, lens + n, max - n);
}

/* A folder under tmp_root named name holding symlinks to src/FILE for each listed file. */
static const char *link_folder(const char *name, const char *src, const char *const *files, size_t n)
{
	static char dir[4096];
	snprintf(dir, sizeof dir, "%s/%s", tmp_root, name);
	mkdir(dir, 0700);
	for (size_t i = 0; i < n; i++) {
		char from[8192], to[8400];
		snprintf(from, sizeof from, "%s/%s", src, files[i]);
		if (access(from, R_OK) != 0)
			continue;
		if (from[0] != '/') {
			char cwd[2048];
			snprintf(from, sizeof from, "%s/%s/%s", getcwd(cwd, sizeof cwd) ? cwd : ".", src, files[i]);
		}
		snprintf(to, sizeof to, "%s/%s", dir, files[i]);
		if (symlink(from, to) != 0)
			diag("symlink %s: failed", to);
	}
	return dir;
}

static struct eng_vocab *load(const char *path)
{
	struct eng_vocab *v = NULL;
	struct mrl_err err = { 0 };
	if (eng_vocab_load_json(&v, path, &err))
		diag("loading %s: %s", path, err.msg);
	return v;
}

static char *encode(const struct eng_vocab *v, const char *s, size_t len, unsigned flags)
{
	int32_t *ids = NULL;
	size_t n = 0;
	struct mrl_err err = { 0 };
	char *out = eng_vocab_encode(v, s, len, flags, &ids, &n, &err) ? strdup(err.msg) : ids_str(ids, n);
	free(ids);
	return out;
}

/* A protobuf writer for hand-made models (grows; pbw_release frees). */
struct pbw {
	uint8_t *b;
	size_t n, cap;
};

static void w_raw(struct pbw *w, const void *p, size_t len)
{
	if (w->n + len > w->cap) {
		w->cap = (w->n + len) * 2 + 64;
		if (!(w->b = realloc(w->b, w->cap)))
			abort();
	}
	memcpy(w->b + w->n, p, len);
	w->n += len;
}

static void pbw_release(struct pbw *w)
{
	free(w->b);
	*w = (struct pbw){ 0 };
}

static void w_varint(struct pbw *w, uint64_t v)
{
	do {
		uint8_t c = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
		w_raw(w, &c, 1);
	} while (v);
}

static void w_bytes(struct pbw *w, uint32_t num, const void *p, size_t len)
{
	w_varint(w, (uint64_t)num << 3 | 2);
	w_varint(w, len);
	w_raw(w, p, len);
}

static void w_piece_n(struct pbw *w, const char *piece, size_t len, float score, int type)
{
	struct pbw m = { 0 };
	w_bytes(&m, 1, piece, len);
	w_varint(&m, 2 << 3 | 5);
	w_raw(&m, &score, 4);
	w_varint(&m, 3 << 3 | 0);
	w_varint(&m, (uint64_t)type);
	w_bytes(w, 1, m.b, m.n);
	pbw_release(&m);
}

static void w_piece(struct pbw *w, const char *piece, float score, int type)
{
	w_piece_n(w, piece, strlen(piece), score, type);
}

/* trainer_spec (BPE unless unigram, byte_fallback as given) and normalizer_spec (name,
 * a charsmap where given, remove_extra_whitespaces false), appended to w. */
static void w_specs(struct pbw *w, bool unigram, bool byte_fallback, const char *norm_name, const char *charsmap)
{
	struct pbw t = { 0 }, nz = { 0 };
	w_varint(&t, 3 << 3);
	w_varint(&t, unigram ? 1 : 2);
	w_varint(&t, 35 << 3);
	w_varint(&t, byte_fallback);
	w_bytes(w, 2, t.b, t.n);
	w_bytes(&nz, 1, norm_name, strlen(norm_name));
	if (charsmap)
		w_bytes(&nz, 2, charsmap, strlen(charsmap));
	w_varint(&nz, 4 << 3);
	w_varint(&nz, 0);
	w_bytes(w, 3, nz.b, nz.n);
	pbw_release(&t);
	pbw_release(&nz);
}

/* Write w to path; returns path. */
static const char *w_save(const struct pbw *w, const char *path)
{
	FILE *f = fopen(path, "wb");
	if (f) {
		fwrite(w->b, 1, w->n, f);
		fclose(f);
	}
	return path;
}

/* How many of the n strings spm encodes (no BOS) as the lines of out_path say; differing
 * indices into diff[] (at most max). */
static size_t count_equal(const struct eng_vocab *spm, char **strs, size_t *lens, size_t n, const char *out_path,
			  size_t *diff, size_t *n_diff, size_t max)
{
	char *buf = NULL, *lines[MAX_STRS];
	size_t len = 0, same = 0;
	struct mrl_err err = { 0 };
	*n_diff = 0;
	if (mrl_read_file(out_path, 1 << 24, &buf, &len, &err)) {
		diag("%s", err.msg);
		return 0;
	}
	size_t n_lines = split_lines(buf, len, lines, MAX_STRS);
	for (size_t i = 0; i < n && i < n_lines; i++) {
		char want[65536];
		norm_ids(lines[i], want, sizeof want);
		char *got = encode(spm, strs[i], lens[i], 0);
		if (!strcmp(got, want))
			same++;
		else if (*n_diff < max)
			diff[(*n_diff)++] = i;
		free(got);
	}
	if (n_lines != n)
		diag("%s: %zu lines for %zu strings", out_path, n_lines, n);
	free(buf);
	return same;
}

/* 2: spm (tokenizer.model) and js (tokenizer.json, the same folder) are the same tokenizer. */
static void same_as_json(const struct eng_vocab *spm, const struct eng_vocab *js, char **strs, size_t *lens, size_t n,
			 const char *label)
{
	static const unsigned flags[3] = { 0, ENG_TOK_ADD_BOS, ENG_TOK_PARSE_SPECIAL };
	size_t same = 0, shown = 0;
	for (size_t i = 0; i < n; i++)
		for (int f = 0; f < 3; f++) {
			char *a = encode(spm, strs[i], lens[i], flags[f]), *b = encode(js, strs[i], lens[i], flags[f]);
			if (!strcmp(a, b)) {
				same++;
			} else if (shown++ < 3) {
				char shown_text[200];
				show_text(strs[i], lens[i], shown_text, sizeof shown_text);
				diag("%s '%s' flags %u:\n  tokenizer.model: %s\n  tokenizer.json:  %s", label, shown_text, flags[f], a, b);
			}
			free(a);
			free(b);
		}
	char name[300];
	snprintf(name, sizeof name, "%s: %zu strings x 3 ways tokenize as with tokenizer.json", label, n);
	is_int(same, n * 3, name);
	uint32_t nt = eng_vocab_n_tokens(spm);
	is_int(nt, eng_vocab_n_tokens(js), "as many tokens");
	size_t piece_same = 0;
	for (uint32_t id = 0; id < nt; id++) {
		size_t la = 0, lb = 0;
		const char *a = eng_vocab_piece(spm, (int32_t)id, &la), *b = eng_vocab_piece(js, (int32_t)id, &lb);
		piece_same += a && b && la == lb && !memcmp(a, b, la);
	}
	is_int(piece_same, nt, "every piece the same");
	is_int(eng_vocab_bos(spm), eng_vocab_bos(js), "BOS id");
	is_int(eng_vocab_eos(spm), eng_vocab_eos(js), "EOS id");
	is_int(eng_vocab_pad(spm), eng_vocab_pad(js), "PAD id");
	is_int(eng_vocab_add_bos(spm), eng_vocab_add_bos(js), "add_bos");
	size_t ne_a = 0, ne_b = 0;
	const int32_t *ea = eng_vocab_eog_ids(spm, &ne_a), *eb = eng_vocab_eog_ids(js, &ne_b);
	char *sa = ids_str(ea, ne_a), *sb = ids_str(eb, ne_b);
	is_str(sa, sb, "end-of-generation ids");
	free(sa);
	free(sb);
}

/* src = fixtures/hf/<prefix><name>, a folder whose tokenizer.model can be read; else a
 * skip saying why and false. */
static bool fixture_folder(const char *prefix, const char *name, char *src, size_t size, const char *why)
{
	const char *fx = fixtures_dir();
	char path[4300];
	snprintf(src, size, "%s/hf/%s%s", fx ? fx : "", prefix, name);
	snprintf(path, sizeof path, "%s/tokenizer.model", src);
	if (fx && access(path, R_OK) == 0)
		return true;
	test_skip(why);
	return false;
}

static void t_tokenizer(const char *name, char **strs, size_t *lens, size_t n)
{
	char src[4096], path[4300];
	if (!fixture_folder("tokenizers/", name, src, sizeof src, "fixtures/hf/tokenizers absent"))
		return;
	static const char *const files[] = { "tokenizer.model", "tokenizer_config.json" };
	const char *dir = link_folder(name, src, files, 2);
	struct eng_vocab *spm = load(dir), *js = load(src);
	ok(spm && js, "both load");
	if (!spm || !js)
		goto out;
	is_str(eng_vocab_model_name(spm), "tokenizer.model SentencePiece BPE", "the vocabulary says it is a tokenizer.model");
	/* 1: transformers on the same files */
	size_t diff[8], n_diff;
	snprintf(path, sizeof path, "tests/data/tok-spm.%s.hf.out", name);
	is_int(count_equal(spm, strs, lens, n, path, diff, &n_diff, 8), n, "transformers' ids on every string");
	for (size_t i = 0; i < n_diff; i++)
		diag("differs: string %zu", diff[i]);
	snprintf(path, sizeof path, "tests/data/tok-spm.%s.special", name);
	char *buf = NULL, *lines[4];
	size_t len = 0;
	struct mrl_err err = { 0 };
	if (mrl_read_file(path, 4096, &buf, &len, &err) == 0 && split_lines(buf, len, lines, 4) >= 2) {
		char got[200], want[200];
		snprintf(got, sizeof got, "%u %d %d %d %d %d", eng_vocab_n_tokens(spm), eng_vocab_bos(spm), eng_vocab_eos(spm),
			 eng_vocab_unk(spm), eng_vocab_pad(spm), eng_vocab_add_bos(spm));
		norm_ids(lines[0], want, sizeof want);
		is_str(got, want, "tokens, BOS, EOS, UNK, PAD, add_bos as transformers");
		char *z = encode(spm, "Zdravo", 6, eng_vocab_add_bos(spm) ? ENG_TOK_ADD_BOS : 0);
		norm_ids(lines[1], want, sizeof want);
		is_str(z, want, "\"Zdravo\" with the special tokens as transformers");
		free(z);
	} else {
		ok(0, "read the .special file");
	}
	free(buf);
	same_as_json(spm, js, strs, lens, n, name);
	/* 3: llama.cpp differs only where the text starts with a space (the first 30 strings are texts.txt's) */
	if (n < 30) {
		skip("fewer than texts.txt's 30 strings", "llama.cpp's ids but where the text starts with a space");
		goto out;
	}
	snprintf(path, sizeof path, "%s/texts.llamacpp.out", src);
	size_t same = count_equal(spm, strs, lens, 30, path, diff, &n_diff, 8), leading = 0;
	for (size_t i = 0; i < 30; i++)
		leading += lens[i] && strs[i][0] == ' ';
	bool only_leading = true;
	for (size_t i = 0; i < n_diff; i++)
		only_leading = only_leading && strs[diff[i]][0] == ' ';
	/* same + n_diff == 30: all 30 compared (an unreadable .out compares none, and passed) */
	ok(same + n_diff == 30 && only_leading && (n_diff == 0 || n_diff == leading),
	   "llama.cpp's ids but where the text starts with a space");
	diag("%s: %zu of 30 texts.txt strings as llama.cpp (%zu start with a space)", name, same, leading);
out:
	eng_vocab_free(spm);
	eng_vocab_free(js);
}

/* The files eng_hf_open lists for the folder dir (eng_hf_file), space-separated in a
 * static buffer; the error where it does not open. */
static const char *hf_files(const char *dir)
{
	static char list[1024];
	struct eng_config cfg;
	struct eng_hf *h = NULL;
	struct mrl_err err = { 0 };
	if (eng_hf_open(&h, &cfg, dir, &err)) {
		snprintf(list, sizeof list, "%s", err.msg);
		return list;
	}
	size_t len = 0;
	list[0] = '\0';
	const char *f;
	for (size_t i = 0; (f = eng_hf_file(h, i)) && len < sizeof list; i++)
		len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", i ? " " : "", f);
	eng_hf_close(h);
	return list;
}

/* 2 on a checkpoint folder: everything but tokenizer.json (generation_config.json's ids too). */
static void t_checkpoint(const char *arch, char **strs, size_t *lens, size_t n)
{
	char src[4096];
	if (!fixture_folder("", arch, src, sizeof src, "fixtures/hf absent"))
		return;
	static const char *const files[] = { "tokenizer.model", "tokenizer_config.json", "config.json",
					     "generation_config.json", "model.safetensors" };
	char name[64];
	snprintf(name, sizeof name, "ckpt-%s", arch);
	const char *dir = link_folder(name, src, files, 5);
	struct eng_vocab *spm = load(dir), *js = load(src);
	ok(spm && js, "both load");
	if (spm && js)
		same_as_json(spm, js, strs, lens, n, arch);
	eng_vocab_free(spm);
	eng_vocab_free(js);
	/* the files the model's digest covers (the manifest): the tokenizer's own */
	is_str(hf_files(dir), "config.json model.safetensors tokenizer.model tokenizer_config.json",
	       "without tokenizer.json the folder's files include tokenizer.model");
	is_str(hf_files(src), "config.json model.safetensors tokenizer.json tokenizer_config.json",
	       "with tokenizer.json, not tokenizer.model beside it");
}

/* 1 on tokenizer_config.json variants (tests/data/<cfg_dir>/) of a fixture model, with
 * config.json from a checkpoint folder where arch is not NULL: transformers' ids on the
 * strings and on special tokens inside text (tests/data/tok-spm-special.inp). */
static void t_variant(const char *name, const char *model, const char *cfg_dir, const char *arch, char **strs,
		      size_t *lens, size_t n)
{
	char src[4096], cfg_src[4096], path[4300];
	if (!fixture_folder("tokenizers/", model, src, sizeof src, "fixtures/hf/tokenizers absent"))
		return;
	static const char *const model_file[] = { "tokenizer.model" }, *const cfg[] = { "tokenizer_config.json" },
				 *const config[] = { "config.json" };
	char dir_name[64], data_dir[300];
	snprintf(dir_name, sizeof dir_name, "variant-%s", name);
	snprintf(data_dir, sizeof data_dir, "tests/data/%s", cfg_dir);
	link_folder(dir_name, src, model_file, 1);
	if (arch) {
		snprintf(cfg_src, sizeof cfg_src, "%s/hf/%s", fixtures_dir(), arch);
		link_folder(dir_name, cfg_src, config, 1);
	}
	struct eng_vocab *v = load(link_folder(dir_name, data_dir, cfg, 1));
	ok(v, "loads");
	size_t diff[8], n_diff;
	snprintf(path, sizeof path, "tests/data/tok-spm.%s.hf.out", name);
	is_int(v ? count_equal(v, strs, lens, n, path, diff, &n_diff, 8) : 0, n, "transformers' ids on every string");
	for (size_t i = 0; v && i < n_diff; i++)
		diag("differs: string %zu", diff[i]);
	eng_vocab_free(v);
}

/* Lines of out_path, normalised, into want[] (malloc'd strings); their count. */
static size_t read_out(const char *out_path, char **want, size_t max)
{
	char *buf = NULL, *lines[MAX_STRS * 2];
	size_t len = 0, n = 0;
	struct mrl_err err = { 0 };
	if (mrl_read_file(out_path, 1 << 24, &buf, &len, &err) == 0) {
		n = split_lines(buf, len, lines, max < MAX_STRS * 2 ? max : MAX_STRS * 2);
		for (size_t i = 0; i < n; i++) {
			static char norm[65536];
			norm_ids(lines[i], norm, sizeof norm);
			want[i] = strdup(norm);
		}
	}
	free(buf);
	return n;
}

/* At scale: Llama 2's 32,000 pieces, rebuilt as a tokenizer.model from llama.cpp's
 * ggml-vocab-llama-spm.gguf (as tests/data/make_tok_spm.py rebuilds it), against the
 * tokenizer.json that transformers made from the same vocabulary and against transformers 5
 * on the tokenizer.model (tok-spm.llama-spm.hf.out). Where transformers' two differ, the
 * tokenizer.json is followed (docs/tokenizer.md). */
static void t_llama_spm(char **strs45, size_t *lens45)
{
	const char *fx = fixtures_dir();
	char gguf[4096], inp[4200], json_dir[4200], spm_cfg[4200], model[4300];
	snprintf(gguf, sizeof gguf, "%s/tokenizer/ggml-vocab-llama-spm.gguf", fx ? fx : "");
	snprintf(json_dir, sizeof json_dir, "%s/hf/tokenizers/llama-spm", fx ? fx : "");
	if (!fx || access(gguf, R_OK) != 0 || access(json_dir, R_OK) != 0) {
		test_skip("fixtures/tokenizer or fixtures/hf/tokenizers absent");
		return;
	}
	struct eng_vocab *g = load_gguf_vocab(gguf);
	if (!g) {
		ok(0, "the GGUF vocabulary loads");
		return;
	}
	struct pbw w = { 0 };
	for (int32_t id = 0; id < (int32_t)eng_vocab_n_tokens(g); id++) {
		size_t len = 0;
		const char *p = eng_vocab_piece(g, id, &len);
		w_piece_n(&w, p, len, eng_vocab_score(g, id), (int)eng_vocab_token_type(g, id));
	}
	w_specs(&w, false, true, "identity", NULL);
	eng_vocab_free(g);
	static const char *const cfg[] = { "tokenizer_config.json" };
	snprintf(spm_cfg, sizeof spm_cfg, "%s/hf/tokenizers/tiny-spm", fx);
	const char *dir = link_folder("llama-spm", spm_cfg, cfg, 1);
	snprintf(model, sizeof model, "%s/tokenizer.model", dir);
	w_save(&w, model);
	pbw_release(&w);
	struct eng_vocab *spm = load(model), *js = load(json_dir);
	ok(spm && js && eng_vocab_n_tokens(spm) == 32000, "32,000 pieces load");
	char *strs[MAX_STRS * 2], *want[MAX_STRS * 2], *buf = NULL;
	size_t lens[MAX_STRS * 2];
	memcpy(strs, strs45, 45 * sizeof *strs);
	memcpy(lens, lens45, 45 * sizeof *lens);
	snprintf(inp, sizeof inp, "%s/tokenizer/ggml-vocab-llama-spm.gguf.inp", fx);
	size_t n = read_inp(inp, strs, lens, 45, MAX_STRS * 2, &buf);
	size_t n_want = read_out("tests/data/tok-spm.llama-spm.hf.out", want, MAX_STRS * 2);
	is_int(n_want, n, "an expected line per string");
	size_t as_json = 0, hf_same = 0, hf_agree = 0, hf_differ = 0;
	for (size_t i = 0; spm && js && i < n && i < n_want; i++) {
		char *a = encode(spm, strs[i], lens[i], 0), *j = encode(js, strs[i], lens[i], 0);
		as_json += !strcmp(a, j);
		if (!strcmp(j, want[i])) { /* transformers' two agree: merilo must too */
			hf_agree++;
			hf_same += !strcmp(a, want[i]);
		} else {
			char shown[100];
			show_text(strs[i], lens[i] > 40 ? 40 : lens[i], shown, sizeof shown);
			diag("transformers' tokenizer.model and tokenizer.json differ on '%s'", shown);
			hf_differ++;
		}
		free(a);
		free(j);
	}
	is_int(as_json, n, "every string as the tokenizer.json of the same vocabulary");
	is_int(hf_same, hf_agree, "transformers' ids on every string where its tokenizer.model and tokenizer.json agree");
	diag("%zu strings: %zu as transformers 5 on the tokenizer.model, %zu where it differs from its tokenizer.json",
	     n, hf_same, hf_differ);
	for (size_t i = 0; i < n_want; i++)
		free(want[i]);
	free(buf);
	eng_vocab_free(spm);
	eng_vocab_free(js);
}

/* 4: added tokens (tests/data/spm-added/ beside tiny-spm's tokenizer.model). */
static void t_added(void)
{
	const char *fx = fixtures_dir();
	char src[4096];
	snprintf(src, sizeof src, "%s/hf/tokenizers/tiny-spm", fx ? fx : "");
	if (!fx || access(src, R_OK) != 0) {
		test_skip("fixtures/hf/tokenizers absent");
		return;
	}
	static const char *const model[] = { "tokenizer.model" }, *const json[] = { "tokenizer_config.json",
										 "added_tokens.json" };
	link_folder("added", src, model, 1);
	const char *dir = link_folder("added", "tests/data/spm-added", json, 2);
	struct eng_vocab *v = load(dir);
	ok(v, "loads");
	if (!v)
		return;
	is_int(eng_vocab_n_tokens(v), 515, "512 pieces, 2 added_tokens_decoder entries, 1 added_tokens.json entry");
	is_int(eng_vocab_token_type(v, 512), ENG_TOKEN_CONTROL, "a special added token is control");
	is_int(eng_vocab_token_type(v, 513), ENG_TOKEN_USER_DEFINED, "another added token is user-defined");
	char *strs[MAX_STRS], *buf = NULL;
	size_t lens[MAX_STRS];
	size_t n = read_inp("tests/data/tok-spm-added.inp", strs, lens, 0, MAX_STRS, &buf);
	size_t diff[8], n_diff;
	size_t same = count_equal(v, strs, lens, n, "tests/data/tok-spm-added.hf.out", diff, &n_diff, 8);
	ok(same == n - 1 && n_diff == 1 && strstr(strs[diff[0]], "<|im_start|>"),
	   "transformers' ids but on the string with added_tokens.json's <|im_start|>");
	diag("%zu of %zu strings as transformers 5", same, n);
	char *got = encode(v, "<|im_start|>user", 16, 0);
	like(got, "514 ", "added_tokens.json's <|im_start|> is a token (transformers 4, llama.cpp)");
	free(got);
	size_t n_eog = 0;
	const int32_t *eog = eng_vocab_eog_ids(v, &n_eog);
	char *e = ids_str(eog, n_eog);
	is_str(e, "2 512", "end of generation: EOS and the <|im_end|> it adds");
	free(e);
	free(buf);
	eng_vocab_free(v);
}

/* ---- 5: bad input ---- */

enum variant { V_OK, V_UNIGRAM, V_CHARSMAP, V_NO_FALLBACK, V_TYPE7, V_BAD_BYTE, V_LONG_VARINT, V_GROUP, V_PAST_END };

/* A small BPE model (<unk> <s> </s>, 256 byte pieces, ▁ a ▁a), changed as v says. */
static const char *hand_model(enum variant v)
{
	struct pbw w = { 0 };
	w_piece(&w, "<unk>", 0, 2);
	w_piece(&w, "<s>", 0, 3);
	w_piece(&w, "</s>", 0, 3);
	for (int b = 0; b < 256; b++) {
		char hex[8];
		snprintf(hex, sizeof hex, "<0x%02X>", b);
		w_piece(&w, v == V_BAD_BYTE && b == 7 ? "abc" : hex, 0, 6);
	}
	w_piece(&w, "\xE2\x96\x81", -1, 1);
	w_piece(&w, "a", -2, v == V_TYPE7 ? 7 : 1);
	w_piece(&w, "\xE2\x96\x81" "a", -3, 1);
	w_specs(&w, v == V_UNIGRAM, v != V_NO_FALLBACK, v == V_CHARSMAP ? "nmt_nfkc" : "identity",
		v == V_CHARSMAP ? "\x01\x02\x03\x04" : NULL);
	if (v == V_LONG_VARINT) {
		w_varint(&w, 9 << 3);
		w_raw(&w, "\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01", 11);
	} else if (v == V_GROUP) {
		w_varint(&w, 9 << 3 | 3);
	} else if (v == V_PAST_END) {
		w_varint(&w, 1 << 3 | 2);
		w_varint(&w, 1000);
		w_raw(&w, "x", 1);
	}
	static char path[4200];
	snprintf(path, sizeof path, "%s/hand.model", tmp_root);
	w_save(&w, path);
	pbw_release(&w);
	return path;
}

static void expect_error(enum variant v, int code, const char *needle, const char *name)
{
	struct eng_vocab *voc = NULL;
	struct mrl_err err = { 0 };
	const char *path = hand_model(v);
	int rc = eng_vocab_load_json(&voc, path, &err);
	is_int(rc, code, name);
	like(err.msg, needle, name);
	ok(!strncmp(err.msg, path, strlen(path)), "the message names the file");
	eng_vocab_free(voc);
}

static void t_hand_made(void)
{
	struct eng_vocab *v = load(hand_model(V_OK));
	ok(v, "a hand-made BPE model loads");
	char *got = v ? encode(v, "a a\x01", 4, 0) : NULL;
	is_str(got, "261 261 4", "\"a a\\x01\": ▁a ▁a <0x01>");
	free(got);
	eng_vocab_free(v);
	expect_error(V_UNIGRAM, MRL_EUNSUPPORTED, "model_type UNIGRAM is not supported", "a Unigram model is refused by name");
	expect_error(V_CHARSMAP, MRL_EUNSUPPORTED, "normalizer 'nmt_nfkc'", "a normalization rule is refused by name");
	expect_error(V_NO_FALLBACK, MRL_EUNSUPPORTED, "without byte_fallback", "no byte fallback is refused");
	expect_error(V_TYPE7, MRL_EINPUT, "has type 7", "a piece type out of range");
	expect_error(V_BAD_BYTE, MRL_EINPUT, "has type BYTE but is not <0xXX>", "a byte piece that is not <0xXX>");
	expect_error(V_LONG_VARINT, MRL_EINPUT, "longer than 64 bits", "a varint of 11 bytes");
	expect_error(V_GROUP, MRL_EINPUT, "wire type 3", "a wire type a ModelProto does not use");
	expect_error(V_PAST_END, MRL_EINPUT, "1000 bytes long, past the end", "a length past the end of the file");
	char empty[4200];
	snprintf(empty, sizeof empty, "%s/empty", tmp_root);
	mkdir(empty, 0700);
	struct mrl_err err = { 0 };
	is_int(eng_vocab_load_json(&v, empty, &err), MRL_EINPUT, "a folder with neither file is refused");
	like(err.msg, "no tokenizer.json and no tokenizer.model", "... naming both");
}

/* Load data (len bytes) as a tokenizer.model: 0, or a one-line error naming the file. */
static int load_bytes(const char *data, size_t len, size_t *n_fail, size_t *n_input, bool *bad)
{
	static char path[4200];
	snprintf(path, sizeof path, "%s/fuzz/tokenizer.model", tmp_root);
	FILE *f = fopen(path, "wb");
	if (!f)
		return -1;
	fwrite(data, 1, len, f);
	fclose(f);
	struct eng_vocab *v = NULL;
	struct mrl_err err = { 0 };
	int rc = eng_vocab_load_json(&v, path, &err);
	if (rc) {
		(*n_fail)++;
		*n_input += rc == MRL_EINPUT;
		if (rc == MRL_EINPUT && !strstr(err.msg, "byte ") && !strstr(err.msg, ": no pieces")) {
			if (!*bad)
				diag("%zu bytes: an error without the byte: %s", len, err.msg);
			*bad = true;
		}
		if ((rc != MRL_EINPUT && rc != MRL_EUNSUPPORTED) || strncmp(err.msg, path, strlen(path)) || strchr(err.msg, '\n')) {
			if (!*bad)
				diag("%zu bytes: rc %d: %s", len, rc, err.msg);
			*bad = true;
		}
	} else {
		int32_t *ids = NULL;
		size_t n = 0;
		if (eng_vocab_encode(v, "Zdravo svete", 12, ENG_TOK_PARSE_SPECIAL, &ids, &n, &err) == 0)
			free(ids);
	}
	eng_vocab_free(v);
	return rc;
}

static void t_corrupt(void)
{
	const char *fx = fixtures_dir();
	char path[4096], dir[4200];
	snprintf(path, sizeof path, "%s/hf/tokenizers/tiny-spm/tokenizer.model", fx ? fx : "");
	char *buf = NULL;
	size_t len = 0;
	struct mrl_err err = { 0 };
	if (!fx || mrl_read_file(path, 1 << 20, &buf, &len, &err)) {
		test_skip("fixtures/hf/tokenizers absent");
		return;
	}
	snprintf(dir, sizeof dir, "%s/fuzz", tmp_root);
	mkdir(dir, 0700);
	size_t n_fail = 0, n_input = 0;
	bool bad = false;
	for (size_t cut = 0; cut < len; cut++)
		load_bytes(buf, cut, &n_fail, &n_input, &bad);
	ok(!bad, "truncated at every byte: loads, or one line naming the file (and the byte, for bad input)");
	diag("truncations: %zu; %zu refused (%zu MRL_EINPUT, the others MRL_EUNSUPPORTED by name), %zu load (cut "
	     "between two fields)", len, n_fail, n_input, len - n_fail);
	n_fail = n_input = 0;
	for (size_t i = 0; i < len; i++) {
		const char keep = buf[i];
		buf[i] = (char)0xff;
		load_bytes(buf, len, &n_fail, &n_input, &bad);
		buf[i] = (char)(keep ^ 0x80);
		load_bytes(buf, len, &n_fail, &n_input, &bad);
		buf[i] = keep;
	}
	ok(!bad, "a byte set to 0xFF or its top bit flipped, at every byte: loads, or one line naming the file (and the "
		 "byte, for bad input)");
	diag("corruptions: %zu; %zu refused (%zu MRL_EINPUT, the others MRL_EUNSUPPORTED by name)", 2 * len, n_fail,
	     n_input);
	free(buf);
}

int main(void)
{
	if (!mkdtemp(tmp_root))
		skip_all("cannot make a temporary folder");
	char *strs[MAX_STRS], *bufs[3] = { NULL, NULL, NULL }, path[4200];
	size_t lens[MAX_STRS], n = 0;
	const char *fx = fixtures_dir();
	snprintf(path, sizeof path, "%s/hf/tokenizers/texts.txt", fx ? fx : "");
	if (fx && access(path, R_OK) == 0)
		n = read_inp(path, strs, lens, 0, MAX_STRS, &bufs[0]);
	n = read_inp("tests/data/tok-bcms.inp", strs, lens, n, MAX_STRS, &bufs[1]);
	/* special tokens inside text, after the 45: for the variants only */
	const size_t n_special = read_inp("tests/data/tok-spm-special.inp", strs, lens, n, MAX_STRS, &bufs[2]) - n;
	for (int i = 0; i < 3; i++)
		TEST(t_tokenizer(tok_names[i], strs, lens, n), "%s: tokenizer.model as transformers and as tokenizer.json",
		     tok_names[i]);
	static const char *const arch[3] = { "mistral", "gemma2", "phi3" };
	for (int i = 0; i < 3; i++)
		TEST(t_checkpoint(arch[i], strs, lens, n), "%s folder without tokenizer.json tokenizes as with it", arch[i]);
	TEST(t_variant("legacy", "tiny-spm", "spm-legacy", NULL, strs, lens, n + n_special),
	     "\"legacy\": true: a leading ▁ after each added token, as transformers");
	TEST(t_variant("noclass", "tiny-spm-gemma", "spm-noclass", "gemma2", strs, lens, n + n_special),
	     "no tokenizer_class: config.json's model_type gemma2 picks Gemma's rule, as transformers");
	if (n == 45)
		TEST(t_llama_spm(strs, lens), "Llama 2's 32,000 pieces as a tokenizer.model: as its tokenizer.json");
	TEST(t_added(), "added tokens: added_tokens_decoder as transformers, added_tokens.json read");
	TEST(t_hand_made(), "hand-made models: what merilo does not implement is refused by name");
	TEST(t_corrupt(), "a truncated or corrupt tokenizer.model: an error naming the file, never a crash");
	for (int i = 0; i < 3; i++)
		free(bufs[i]);
	char cmd[4300];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp_root);
	if (system(cmd) != 0)
		diag("could not remove %s", tmp_root);
	return done_testing();
}
