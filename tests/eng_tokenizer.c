/* eng_tokenizer.c — the tokenizer against llama.cpp's own test suite, and as a spec.
 *
 * 1. Tiny hand-made vocabularies (GGUF built in memory) pin down the algorithm:
 *    best-score merges, ties to the leftmost, byte fallback, user-defined tokens,
 *    space prefix, decoding; and damaged vocabularies give one-line errors, while
 *    special ids out of range (stories260K's 4294967295) are ignored with a warning.
 * 2. llama.cpp's test-tokenizer-0 data for llama-spm and phi-3 (fixtures/tokenizer):
 *    every test string must give exactly the expected ids. Strings are delimited as
 *    test-tokenizer-0 does: the .inp file is cut at "\n__ggml_vocab_test__\n", so
 *    leading/trailing spaces and newlines belong to the strings.
 * 3. ppl-text.txt must tokenize (with BOS) to llama.cpp's ppl-text.llama-spm.tokens.txt.
 * 3b. The prompts of expected/tiny-llama-ff192-f32/<prompt>.json tokenize (with BOS) to
 *    llama.cpp's prompt_tokens, and prompt + generated tokens detokenize to the
 *    prompt followed by llama.cpp's generated_text.
 * 4. Round trips (detokenize(tokenize(x)) == x) on English, Serbian and Croatian text.
 * 5. `merilo tokenize --no-bos --file` on every test string (when $MERILO is usable).
 * 6. Speed: ~1 MB of text, timed and compared with 1/8 of it (no quadratic blow-up).
 */
#include "tests/tap.h"

#include <stdint.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "common/fileio.h"
#include "engine/gguf.h"
#include "engine/vocab.h"
#include "tests/tok_oracle.h"

/* ---- an in-memory GGUF writer for tiny vocabularies ---- */

struct gbuf {
	uint8_t *p;
	size_t n, cap;
	uint64_t n_kv;
};

static void gb_put(struct gbuf *b, const void *src, size_t n)
{
	if (b->n + n > b->cap) {
		b->cap = (b->n + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
		if (!b->p)
			abort();
	}
	memcpy(b->p + b->n, src, n);
	b->n += n;
}
static void gb_u32(struct gbuf *b, uint32_t v) { gb_put(b, &v, 4); }
static void gb_u64(struct gbuf *b, uint64_t v) { gb_put(b, &v, 8); }
static void gb_str(struct gbuf *b, const char *s)
{
	gb_u64(b, strlen(s));
	gb_put(b, s, strlen(s));
}
static void kv_key(struct gbuf *b, const char *key, uint32_t type)
{
	gb_str(b, key);
	gb_u32(b, type);
	b->n_kv++;
}
static void kv_string(struct gbuf *b, const char *key, const char *val)
{
	kv_key(b, key, GGUF_STRING);
	gb_str(b, val);
}
static void kv_u32(struct gbuf *b, const char *key, uint32_t val)
{
	kv_key(b, key, GGUF_U32);
	gb_u32(b, val);
}
static void kv_i32(struct gbuf *b, const char *key, int32_t val)
{
	kv_key(b, key, GGUF_I32);
	gb_u32(b, (uint32_t)val);
}
static void kv_bool(struct gbuf *b, const char *key, bool val)
{
	kv_key(b, key, GGUF_BOOL);
	uint8_t x = val;
	gb_put(b, &x, 1);
}
static void kv_strs(struct gbuf *b, const char *key, const char *const *v, size_t n)
{
	kv_key(b, key, GGUF_ARRAY);
	gb_u32(b, GGUF_STRING);
	gb_u64(b, n);
	for (size_t i = 0; i < n; i++)
		gb_str(b, v[i]);
}
static void kv_f32s(struct gbuf *b, const char *key, const float *v, size_t n)
{
	kv_key(b, key, GGUF_ARRAY);
	gb_u32(b, GGUF_F32);
	gb_u64(b, n);
	gb_put(b, v, n * 4);
}
static void kv_i32s(struct gbuf *b, const char *key, const int32_t *v, size_t n)
{
	kv_key(b, key, GGUF_ARRAY);
	gb_u32(b, GGUF_I32);
	gb_u64(b, n);
	gb_put(b, v, n * 4);
}

/* Wrap the kv bytes of body into a GGUF v3 file (no tensors) in out. */
static void gguf_wrap(const struct gbuf *body, struct gbuf *out)
{
	memset(out, 0, sizeof *out);
	gb_put(out, "GGUF", 4);
	gb_u32(out, 3);
	gb_u64(out, 0);
	gb_u64(out, body->n_kv);
	gb_put(out, body->p, body->n);
	static const uint8_t zeros[32];
	if (out->n % 32)
		gb_put(out, zeros, 32 - out->n % 32);
}

/* A tiny SPM vocabulary: <unk> <s> </s>, byte tokens <0x00>..<0xFF>, then extra
 * pieces with their scores and types (type 0 = normal). */
struct tiny {
	const char *model;          /* tokenizer.ggml.model; NULL = "llama" */
	int add_space_prefix;       /* -1 = absent */
	const char *const *extra;   /* NULL-terminated */
	const float *extra_scores;
	const int32_t *extra_types; /* NULL = all normal */
	int32_t bos_id;             /* -2 = absent */
	const char *id_key;         /* one more special-id key (NULL = none) ... */
	int64_t id_val;             /* ... with this value: u32 when >= 0, i32 when < 0 */
	int n_scores_delta;         /* make the scores array this much longer */
	const char *general_name;
};

#define TINY_BASE 259 /* 3 specials + 256 bytes */

static int tiny_vocab(const struct tiny *t, struct eng_vocab **v, struct mrl_err *err)
{
	const char *pieces[400];
	float scores[400];
	int32_t types[400];
	char bytes[256][8];
	size_t n = 0;
	pieces[n] = "<unk>"; scores[n] = 0; types[n++] = ENG_TOKEN_UNKNOWN;
	pieces[n] = "<s>"; scores[n] = 0; types[n++] = ENG_TOKEN_CONTROL;
	pieces[n] = "</s>"; scores[n] = 0; types[n++] = ENG_TOKEN_CONTROL;
	for (int b = 0; b < 256; b++) {
		snprintf(bytes[b], sizeof bytes[b], "<0x%02X>", b);
		pieces[n] = bytes[b]; scores[n] = 0; types[n++] = ENG_TOKEN_BYTE;
	}
	for (size_t i = 0; t->extra && t->extra[i]; i++) {
		pieces[n] = t->extra[i];
		scores[n] = t->extra_scores ? t->extra_scores[i] : -(float)i;
		types[n++] = t->extra_types ? t->extra_types[i] : ENG_TOKEN_NORMAL;
	}
	struct gbuf body = { 0 }, file;
	if (t->general_name)
		kv_string(&body, "general.name", t->general_name);
	kv_string(&body, "tokenizer.ggml.model", t->model ? t->model : "llama");
	kv_strs(&body, "tokenizer.ggml.tokens", pieces, n);
	float scores2[410] = { 0 };
	memcpy(scores2, scores, n * sizeof *scores);
	kv_f32s(&body, "tokenizer.ggml.scores", scores2, n + (size_t)t->n_scores_delta);
	kv_i32s(&body, "tokenizer.ggml.token_type", types, n);
	if (t->bos_id != -2)
		kv_u32(&body, "tokenizer.ggml.bos_token_id", (uint32_t)t->bos_id);
	if (t->id_key && t->id_val >= 0)
		kv_u32(&body, t->id_key, (uint32_t)t->id_val);
	else if (t->id_key)
		kv_i32(&body, t->id_key, (int32_t)t->id_val);
	if (t->add_space_prefix >= 0)
		kv_bool(&body, "tokenizer.ggml.add_space_prefix", t->add_space_prefix);
	gguf_wrap(&body, &file);
	struct gguf_ctx *g = NULL;
	int rc = gguf_parse(file.p, file.n, "tiny.gguf", &g, err);
	if (rc == 0)
		rc = eng_vocab_load(v, g, "tiny.gguf", err);
	gguf_free(g);
	free(body.p);
	free(file.p);
	return rc;
}

/* Tokenize text (BOS first when bos) and render the ids as "a b c" for comparison. */
static char *tok_str(const struct eng_vocab *v, const char *text, bool bos)
{
	int32_t *ids;
	size_t n;
	struct mrl_err err = { 0 };
	if (eng_vocab_tokenize(v, text, strlen(text), bos, &ids, &n, &err))
		return strdup(err.msg);
	char *s = ids_str(ids, n);
	free(ids);
	return s;
}

/* is_str on the ids of text, as a macro so that a failure names the caller's line */
#define tok_is(v, text, bos, want, name) do { \
	char *tok_is_s_ = tok_str((v), (text), (bos)); \
	is_str(tok_is_s_, (want), (name)); \
	free(tok_is_s_); \
} while (0)

static void test_tiny(void)
{
	struct mrl_err err = { 0 };
	struct eng_vocab *v = NULL;

	/* ab and bc score the same: the leftmost pair merges first */
	static const char *const abc[] = { "a", "b", "c", "ab", "bc", NULL };
	static const float tie[] = { -10, -10, -10, -1, -1 };
	struct tiny t = { .extra = abc, .extra_scores = tie, .add_space_prefix = 0, .bos_id = -2 };
	if (!ok(tiny_vocab(&t, &v, &err) == 0, "tiny vocabulary loads"))
		diag("%s", err.msg);
	if (!v)
		return;
	tok_is(v, "abc", false, "262 261", "equal scores: the leftmost pair merges first (ab c)");
	tok_is(v, "abcd", false, "262 261 103",
	       "a character not in the vocabulary falls back to its byte token (d = <0x64>)");
	tok_is(v, "", false, "", "empty text gives no tokens");
	tok_is(v, "", true, "1", "empty text with BOS gives only BOS");
	tok_is(v, "<s>", false, "63 118 65",
	       "control tokens are not matched in text (no special parsing): <s> is bytes");
	is_int(eng_vocab_find(v, "ab", 2), 262, "find: a piece's id");
	is_int(eng_vocab_find(v, "abc", 3), -1, "find: an absent piece is -1");
	is_int(eng_vocab_bos(v), 1, "SPM default BOS id is 1 when the key is absent");
	is_int(eng_vocab_eos(v), 2, "SPM default EOS id is 2");
	ok(eng_vocab_add_bos(v), "SPM adds BOS by default");
	ok(!eng_vocab_add_space_prefix(v), "tokenizer.ggml.add_space_prefix = false is read");
	ok(eng_vocab_piece(v, (int32_t)eng_vocab_n_tokens(v), NULL) == NULL, "piece of an id out of range is NULL");
	is_str(eng_vocab_piece(v, 3 + 0x41, NULL), "<0x41>", "piece of a byte token is stored as <0xXX>");

	/* decoding */
	int32_t ids[] = { 1, 262, 3 + 0xC4, 3 + 0x8D, 2 };
	char *text = NULL;
	size_t len = 0;
	ok(eng_vocab_detokenize(v, ids, 5, &text, &len, &err) == 0, "detokenize succeeds");
	is_str(text, "ab\xC4\x8D", "BOS/EOS render as nothing; byte tokens join into UTF-8 (č)");
	is_int(len, 4, "detokenize reports the length");
	free(text);
	int32_t bad[] = { 5, 100000 };
	ok(eng_vocab_detokenize(v, bad, 2, &text, &len, &err) == MRL_EINPUT && text == NULL,
	   "an id out of range is MRL_EINPUT");
	like(err.msg, "100000", "the message names the bad id");
	eng_vocab_free(v);
	v = NULL;

	/* bc scores higher: it wins over the leftmost */
	static const float bc_best[] = { -10, -10, -10, -2, -1 };
	t.extra_scores = bc_best;
	if (tiny_vocab(&t, &v, &err) == 0) {
		tok_is(v, "abc", false, "259 263", "the best-scoring pair merges first (a bc)");
		eng_vocab_free(v);
		v = NULL;
	} else {
		ok(0, "tiny vocabulary (bc best) loads");
		diag("%s", err.msg);
	}

	/* space prefix, ▁ escaping, user-defined tokens */
	static const char *const words[] = { "\xE2\x96\x81", "a", "b", "\xE2\x96\x81" "a", "\xE2\x96\x81" "b",
					     "<x>", "\xE2\x96\x81\xE2\x96\x81", NULL };
	static const float wscores[] = { -5, -5, -5, -1, -1, 0, -2 };
	static const int32_t wtypes[] = { 1, 1, 1, 1, 1, ENG_TOKEN_USER_DEFINED, 1 };
	struct tiny w = { .extra = words, .extra_scores = wscores, .extra_types = wtypes,
			  .add_space_prefix = -1, .bos_id = 1 };
	if (tiny_vocab(&w, &v, &err) == 0) {
		ok(eng_vocab_add_space_prefix(v), "SPM adds a space prefix by default");
		tok_is(v, "a b", false, "262 263", "space prefix + spaces as ▁: 'a b' -> ▁a ▁b");
		tok_is(v, "a<x>b", false, "262 264 263",
		       "a user-defined token is cut out; the text after it gets a prefix again");
		tok_is(v, "a<x> b", false, "262 264 259 263",
		       "without a strip attribute the space after it stays (▁ ▁b)");
		int32_t rt[] = { 1, 262, 264, 263 };
		char *text2 = NULL;
		if (eng_vocab_detokenize(v, rt, 4, &text2, NULL, &err) == 0)
			is_str(text2, "a<x> b", "user-defined tokens render as stored; only the first leading space is dropped");
		else
			ok(0, "detokenize user-defined");
		free(text2);
		eng_vocab_free(v);
		v = NULL;
	} else {
		ok(0, "tiny vocabulary (words) loads");
		diag("%s", err.msg);
	}
	/* Phi-3 (general.name): llama.cpp makes special tokens swallow the whitespace after them */
	w.general_name = "Phi3";
	if (tiny_vocab(&w, &v, &err) == 0) {
		tok_is(v, "a<x> b", false, "262 264 263",
		       "Phi-3 by general.name: whitespace after a user-defined token is dropped");
		eng_vocab_free(v);
		v = NULL;
	} else {
		ok(0, "tiny vocabulary (phi3) loads");
	}
}

static void test_bad_vocabs(void)
{
	struct mrl_err err = { 0 };
	struct eng_vocab *v = NULL;
	static const char *const abc[] = { "a", "b", NULL };

	struct tiny t = { .model = "bert", .extra = abc, .add_space_prefix = -1, .bos_id = -2 };
	is_int(tiny_vocab(&t, &v, &err), MRL_EUNSUPPORTED, "tokenizer.ggml.model bert (WordPiece) is unsupported");
	like(err.msg, "supported: 'llama'", "the message lists what is supported");
	like(err.msg, "tiny.gguf", "the message names the file");
	ok(v == NULL, "no vocabulary on failure");

	t.model = NULL;
	t.n_scores_delta = 3;
	is_int(tiny_vocab(&t, &v, &err), MRL_EINPUT, "scores longer than tokens is bad input");
	like(err.msg, "tokenizer.ggml.scores has 264 entries but tokenizer.ggml.tokens has 261", "the message gives both lengths");

	t.n_scores_delta = 0;
	t.bos_id = -2;
	static const int32_t bad_type[] = { 1, 9 };
	t.extra_types = bad_type;
	is_int(tiny_vocab(&t, &v, &err), MRL_EINPUT, "a token type outside 0..6 is bad input");
	like(err.msg, "token_type[260] = 9", "the message names the entry");

	static const int32_t bad_byte[] = { 1, ENG_TOKEN_BYTE };
	t.extra_types = bad_byte;
	is_int(tiny_vocab(&t, &v, &err), MRL_EINPUT, "a byte token whose piece is not <0xXX> is bad input");
	like(err.msg, "token 260 has type byte", "the message names the token");

	/* no tokenizer at all */
	struct gbuf body = { 0 }, file;
	kv_string(&body, "general.architecture", "llama");
	gguf_wrap(&body, &file);
	struct gguf_ctx *g = NULL;
	if (gguf_parse(file.p, file.n, "empty.gguf", &g, &err) == 0) {
		is_int(eng_vocab_load(&v, g, "empty.gguf", &err), MRL_EINPUT, "a GGUF without tokenizer keys is bad input");
		like(err.msg, "empty.gguf: no tokenizer.ggml.model", "the message says what is missing");
		gguf_free(g);
	} else {
		ok(0, "parse a GGUF without tokenizer");
		diag("%s", err.msg);
	}
	free(body.p);
	free(file.p);
}

/* Special ids outside the vocabulary are ignored as if absent, with a warning, as
 * llama.cpp does: real files (llama2.c's stories260K) store padding_token_id and
 * seperator_token_id = 4294967295, -1 written as u32. The load must not fail. */
static void test_special_ids_out_of_range(void)
{
	struct mrl_err err = { 0 };
	struct eng_vocab *v = NULL;
	static const char *const abc[] = { "a", "b", NULL };
	struct tiny t = { .extra = abc, .add_space_prefix = -1, .bos_id = -2,
			  .id_key = "tokenizer.ggml.padding_token_id", .id_val = 4294967295 };
	int rc = tiny_vocab(&t, &v, &err);
	if (!ok(rc == 0, "padding_token_id = 4294967295 (u32): the vocabulary loads"))
		diag("%s", err.msg);
	if (v) {
		is_int(eng_vocab_pad(v), -1, "... without a pad token");
		is_int(eng_vocab_n_warnings(v), 1, "... and with one warning");
		is_str(eng_vocab_warning(v, 0),
		       "tiny.gguf: tokenizer.ggml.padding_token_id = 4294967295 is out of range (vocabulary has 261 tokens): "
		       "ignored, no pad token", "... naming the file, the key, the value and what happens");
		ok(eng_vocab_warning(v, 1) == NULL, "... and nothing past the last warning");
		eng_vocab_free(v);
		v = NULL;
	}

	t.id_key = NULL;
	t.bos_id = 5000;
	rc = tiny_vocab(&t, &v, &err);
	if (!ok(rc == 0, "bos_token_id = 5000 in a vocabulary of 261: loads"))
		diag("%s", err.msg);
	if (v) {
		is_int(eng_vocab_bos(v), 1, "... and BOS stays the default 1 (the key is taken as absent)");
		like(eng_vocab_warning(v, 0), "tokenizer.ggml.bos_token_id = 5000 is out of range", "... with a warning");
		like(eng_vocab_warning(v, 0), "ignored, bos stays the default 1", "... that says what BOS is");
		eng_vocab_free(v);
		v = NULL;
	}

	t.bos_id = -2;
	t.id_key = "tokenizer.ggml.eos_token_id";
	t.id_val = -7;
	rc = tiny_vocab(&t, &v, &err);
	ok(rc == 0 && v && eng_vocab_eos(v) == 2, "eos_token_id = -7 (i32): ignored, EOS stays 2");
	if (v)
		like(eng_vocab_warning(v, 0), "tokenizer.ggml.eos_token_id = -7 is out of range", "... with a warning");
	eng_vocab_free(v);
	v = NULL;

	t.id_val = -1;
	rc = tiny_vocab(&t, &v, &err);
	ok(rc == 0 && v && eng_vocab_eos(v) == -1 && eng_vocab_n_warnings(v) == 0,
	   "eos_token_id = -1 (i32) means none: no EOS, no warning");
	eng_vocab_free(v);
	v = NULL;

	t.id_key = "tokenizer.ggml.unknown_token_id";
	t.id_val = 260;
	rc = tiny_vocab(&t, &v, &err);
	ok(rc == 0 && v && eng_vocab_unk(v) == 260 && eng_vocab_n_warnings(v) == 0,
	   "unknown_token_id = 260, the last id: taken, no warning");
	eng_vocab_free(v);
}

/* ---- fixtures ---- */

struct loaded {
	char *buf;
	struct eng_vocab *v;
};

#define MAX_TESTS 256

static void test_suite(const char *fx, const char *name, const char *merilo)
{
	char path[1024], inp_path[1100], out_path[1100];
	snprintf(path, sizeof path, "%s/tokenizer/ggml-vocab-%s.gguf", fx, name);
	snprintf(inp_path, sizeof inp_path, "%s.inp", path);
	snprintf(out_path, sizeof out_path, "%s.out", path);
	struct eng_vocab *v = load_gguf_vocab(path);
	char label[256];
	snprintf(label, sizeof label, "%s: vocabulary loads", name);
	if (!ok(v != NULL, label))
		return;
	char *inp = NULL, *outb = NULL;
	size_t inp_len = 0, out_len = 0;
	struct mrl_err err = { 0 };
	if (mrl_read_file(inp_path, 1 << 24, &inp, &inp_len, &err) || mrl_read_file(out_path, 1 << 24, &outb, &out_len, &err)) {
		ok(0, "read the .inp and .out files");
		diag("%s", err.msg);
		goto done;
	}
	static char *strs[MAX_TESTS], *lines[MAX_TESTS];
	static size_t lens[MAX_TESTS];
	size_t n_in = split_inputs(inp, inp_len, strs, lens, MAX_TESTS);
	size_t n_out = split_lines(outb, out_len, lines, MAX_TESTS);
	snprintf(label, sizeof label, "%s: .inp has as many strings as .out has lines (%zu)", name, n_out);
	is_int(n_in, n_out, label);
	if (n_in != n_out || n_in == 0)
		goto done;

	size_t exact = 0, shown = 0;
	for (size_t i = 0; i < n_in; i++) {
		int32_t *ids = NULL;
		size_t n = 0;
		char want[8192], *got;
		norm_ids(lines[i], want, sizeof want);
		if (eng_vocab_tokenize(v, strs[i], lens[i], false, &ids, &n, &err))
			got = strdup(err.msg);
		else
			got = ids_str(ids, n);
		free(ids);
		if (strcmp(got, want) == 0) {
			exact++;
		} else if (shown++ < 5) {
			char t[600];
			show_text(strs[i], lens[i], t, sizeof t);
			diag("%s string %zu '%s':\n  got:  %s\n  want: %s", name, i, t, got, want);
		}
		free(got);
	}
	snprintf(label, sizeof label, "%s: %zu/%zu strings exact", name, exact, n_in);
	is_int(exact, n_in, label);

	/* the same through the CLI */
	if (!merilo) {
		skip("MERILO is not set", "CLI: merilo tokenize --no-bos --file matches .out");
		goto done;
	}
	char probe[2048];
	snprintf(probe, sizeof probe, "'%s' tokenize --model '%s' --no-bos 'Hello' 2>&1", merilo, path);
	FILE *pp = popen(probe, "r");
	char first[512] = "";
	if (pp) {
		if (!fgets(first, sizeof first, pp))
			first[0] = '\0';
		int st = pclose(pp);
		if (st != 0) {
			char reason[700];
			first[strcspn(first, "\n")] = '\0';
			snprintf(reason, sizeof reason, "merilo tokenize not usable yet: %s", first);
			skip(reason, "CLI: merilo tokenize --no-bos --file matches .out");
			goto done;
		}
	}
	char tmp[] = "/tmp/merilo-tok-XXXXXX";
	int fd = mkstemp(tmp);
	if (fd < 0) {
		ok(0, "create a temporary file");
		goto done;
	}
	close(fd);
	size_t cli_exact = 0;
	shown = 0;
	for (size_t i = 0; i < n_in; i++) {
		FILE *f = fopen(tmp, "wb");
		if (!f || fwrite(strs[i], 1, lens[i], f) != lens[i]) {
			if (f)
				fclose(f);
			continue;
		}
		fclose(f);
		char cmd[2048];
		snprintf(cmd, sizeof cmd, "'%s' tokenize --model '%s' --no-bos --file '%s'", merilo, path, tmp);
		FILE *p = popen(cmd, "r");
		if (!p)
			continue;
		static char line[65536];
		char got[8192], want[8192];
		size_t nread = fread(line, 1, sizeof line - 1, p);
		line[nread] = '\0';
		int st = pclose(p);
		norm_ids(line, got, sizeof got);
		norm_ids(lines[i], want, sizeof want);
		if (st == 0 && strcmp(got, want) == 0 && nread > 0 && line[nread - 1] == '\n' &&
		    memchr(line, '\n', nread) == line + nread - 1)
			cli_exact++;
		else if (shown++ < 3)
			diag("CLI %s string %zu (exit %d):\n  got:  %s\n  want: %s", name, i, st, got, want);
	}
	unlink(tmp);
	snprintf(label, sizeof label, "CLI %s: %zu/%zu strings exact (one line of ids each)", name, cli_exact, n_in);
	is_int(cli_exact, n_in, label);
done:
	free(inp);
	free(outb);
	eng_vocab_free(v);
}

/* Ids of text (BOS per the vocabulary's metadata) as "a b c", from a fixture vocabulary. */
static char *tok_str_file(const char *vocab_path, const char *text)
{
	struct eng_vocab *v = load_gguf_vocab(vocab_path);
	if (!v)
		return strdup("(no vocabulary)");
	char *s = tok_str(v, text, eng_vocab_add_bos(v));
	eng_vocab_free(v);
	return s;
}

/* Run a shell command; return its exit status and the first line of its output. */
static int run_cmd(const char *cmd, char *first, size_t cap)
{
	FILE *p = popen(cmd, "r");
	if (!p)
		return -1;
	if (!fgets(first, (int)cap, p))
		first[0] = '\0';
	first[strcspn(first, "\n")] = '\0';
	char sink[4096];
	while (fread(sink, 1, sizeof sink, p) > 0)
		;
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_cli_errors(const char *fx, const char *merilo)
{
	char cmd[2048], out[1024], vocab[1024];
	snprintf(vocab, sizeof vocab, "%s/tokenizer/ggml-vocab-llama-spm.gguf", fx);
	if (!merilo) {
		skip("MERILO is not set", "CLI errors");
		return;
	}
	snprintf(cmd, sizeof cmd, "'%s' tokenize --model '%s' --file /nonexistent/merilo-text.txt 2>&1", merilo, vocab);
	is_int(run_cmd(cmd, out, sizeof out), 3, "CLI: a missing text file exits 3");
	like(out, "/nonexistent/merilo-text.txt", "CLI: the message names the missing file");
	snprintf(cmd, sizeof cmd, "'%s' tokenize --model /nonexistent/model.gguf hello 2>&1", merilo);
	is_int(run_cmd(cmd, out, sizeof out), 3, "CLI: a missing model exits 3");
	like(out, "/nonexistent/model.gguf", "CLI: the message names the missing model");
	snprintf(cmd, sizeof cmd, "'%s' tokenize --model '%s/tokenizer/ggml-vocab-bert-bge.gguf' hello 2>&1", merilo, fx);
	is_int(run_cmd(cmd, out, sizeof out), 3, "CLI: an unsupported tokenizer exits 3");
	like(out, "not supported", "CLI: ... and says so");
	snprintf(cmd, sizeof cmd, "'%s' tokenize --model '%s' 2>&1", merilo, vocab);
	is_int(run_cmd(cmd, out, sizeof out), 2, "CLI: no text is a usage error (exit 2)");
	/* --lines: one output line per input line; BOS per line from the metadata */
	char tmp[] = "/tmp/merilo-tok-lines-XXXXXX";
	int fd = mkstemp(tmp);
	if (fd >= 0) {
		static const char two[] = "Hello world\nЂак\n";
		ssize_t w = write(fd, two, sizeof two - 1);
		close(fd);
		snprintf(cmd, sizeof cmd, "'%s' tokenize --model '%s' --lines --file '%s' | wc -l", merilo, vocab, tmp);
		ok(w > 0 && run_cmd(cmd, out, sizeof out) == 0 && atoi(out) == 2, "CLI: --lines gives one line per input line");
		snprintf(cmd, sizeof cmd, "'%s' tokenize --model '%s' --lines --file '%s' | head -1", merilo, vocab, tmp);
		char *want = tok_str_file(vocab, "Hello world");
		run_cmd(cmd, out, sizeof out);
		is_str(out, want, "CLI: --lines adds BOS per line as the metadata says");
		free(want);
		unlink(tmp);
	}
}

static void test_ppl_text(const char *fx)
{
	char path[1024], txt[1024], want_path[1024];
	snprintf(path, sizeof path, "%s/tokenizer/ggml-vocab-llama-spm.gguf", fx);
	snprintf(txt, sizeof txt, "%s/expected/ppl-text.txt", fx);
	snprintf(want_path, sizeof want_path, "%s/expected/ppl-text.llama-spm.tokens.txt", fx);
	struct eng_vocab *v = load_gguf_vocab(path);
	char *text = NULL, *want = NULL;
	size_t text_len = 0, want_len = 0;
	struct mrl_err err = { 0 };
	if (!v || mrl_read_file(txt, 1 << 24, &text, &text_len, &err) ||
	    mrl_read_file(want_path, 1 << 24, &want, &want_len, &err)) {
		ok(0, "ppl-text: load the vocabulary, the text and the expected tokens");
		diag("%s", err.msg);
		goto out;
	}
	int32_t *ids = NULL;
	size_t n = 0;
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int rc = eng_vocab_tokenize(v, text, text_len, true, &ids, &n, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (!ok(rc == 0, "ppl-text tokenizes"))
		diag("%s", err.msg);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	diag("ppl-text: %zu bytes -> %zu tokens in %.2f ms", text_len, n, ms);

	static char *lines[100000];
	size_t n_want = split_lines(want, want_len, lines, 100000);
	size_t same = 0, first_diff = (size_t)-1;
	for (size_t i = 0; i < n && i < n_want; i++) {
		if (ids[i] == atoi(lines[i]))
			same++;
		else if (first_diff == (size_t)-1)
			first_diff = i;
	}
	is_int(n, n_want, "ppl-text: as many tokens as llama.cpp (BOS included)");
	if (!ok(same == n && n == n_want, "ppl-text: every id equals llama.cpp's") && first_diff != (size_t)-1)
		diag("first difference at token %zu: got %d, want %s", first_diff, ids[first_diff], lines[first_diff]);
	is_int(n ? ids[0] : -1, eng_vocab_bos(v), "ppl-text: the first token is BOS");

	/* and back: detokenize gives the text */
	char *back = NULL;
	size_t back_len = 0;
	if (eng_vocab_detokenize(v, ids, n, &back, &back_len, &err) == 0)
		ok(back_len == text_len && memcmp(back, text, text_len) == 0, "ppl-text: detokenize(tokenize(text)) == text");
	else
		ok(0, "ppl-text: detokenize");
	free(back);
	free(ids);
out:
	free(text);
	free(want);
	eng_vocab_free(v);
}

static void test_expected_prompts(const char *fx)
{
	static const char *const prompts[] = { "en", "sr-latn", "sr-cyrl" };
	char path[1024];
	snprintf(path, sizeof path, "%s/tokenizer/ggml-vocab-llama-spm.gguf", fx);
	struct eng_vocab *v = load_gguf_vocab(path);
	if (!v) {
		ok(0, "expected prompts: load the vocabulary");
		return;
	}
	for (size_t p = 0; p < 3; p++) {
		char jpath[1024], label[300];
		snprintf(jpath, sizeof jpath, "%s/expected/tiny-llama-ff192-f32/%s.json", fx, prompts[p]);
		json_error_t jerr;
		json_t *root = json_load_file(jpath, 0, &jerr);
		const char *prompt = json_string_value(json_object_get(root, "prompt"));
		const char *gen_text = json_string_value(json_object_get(root, "generated_text"));
		json_t *want = json_object_get(root, "prompt_tokens"), *gen = json_object_get(root, "generated_tokens");
		snprintf(label, sizeof label, "expected %s.json: read prompt, prompt_tokens, generated_*", prompts[p]);
		if (!ok(prompt && gen_text && json_is_array(want) && json_is_array(gen), label)) {
			diag("%s: %s", jpath, root ? "fields missing" : jerr.text);
			json_decref(root);
			continue;
		}
		int32_t *ids = NULL;
		size_t n = 0;
		struct mrl_err err = { 0 };
		size_t same = 0;
		if (eng_vocab_tokenize(v, prompt, strlen(prompt), eng_vocab_add_bos(v), &ids, &n, &err) == 0)
			for (size_t i = 0; i < n && i < json_array_size(want); i++)
				same += ids[i] == json_integer_value(json_array_get(want, i));
		snprintf(label, sizeof label, "'%s' tokenizes (with BOS) to llama.cpp's %zu prompt tokens", prompt,
			 json_array_size(want));
		if (!ok(n == json_array_size(want) && same == n, label)) {
			char *g = ids_str(ids, n);
			diag("  got: %s", g);
			free(g);
		}
		size_t n_all = n + json_array_size(gen);
		int32_t *all = malloc(n_all * sizeof *all);
		memcpy(all, ids, n * sizeof *ids);
		for (size_t i = 0; i < json_array_size(gen); i++)
			all[n + i] = (int32_t)json_integer_value(json_array_get(gen, i));
		char *text = NULL;
		size_t len = 0;
		char want_text[4096];
		snprintf(want_text, sizeof want_text, "%s%s", prompt, gen_text);
		snprintf(label, sizeof label, "%s: detokenize(prompt + generated ids) == prompt + llama.cpp's generated_text",
			 prompts[p]);
		if (eng_vocab_detokenize(v, all, n_all, &text, &len, &err) == 0)
			is_str(text, want_text, label);
		else
			ok(0, label);
		free(text);
		free(all);
		free(ids);
		json_decref(root);
	}
	eng_vocab_free(v);
}

static void test_round_trips(const char *fx, const char *name)
{
	static const char *const texts[] = {
		"The quick brown fox jumps over the lazy dog.",
		"Hello,  world!\tTabs\tand   spaces.\n\nNew paragraph.\n",
		"Било једном у Београду, један ђак је читао књигу.",
		"Љубав, њива, џак, ђурђевак, ћуприја — Љ Њ Џ Ђ Ћ.",
		"Bilo jednom u Beogradu: đak, žaba, ćevapi, čaša, šuma.",
		"Dobar dan! Kako ste? Hrvatski: Đurđevdan, žličica, ćup, čep, šešir.",
		"Emoji 🙂🚀 and 🇷🇸 flags, math ∑ x² and CJK 漢字.",
		" leading space and trailing space ",
		"   three leading spaces",
		"\n\nnewlines first",
		"tab\tseparated\tvalues\t",
		"",
	};
	char path[1024];
	snprintf(path, sizeof path, "%s/tokenizer/ggml-vocab-%s.gguf", fx, name);
	struct eng_vocab *v = load_gguf_vocab(path);
	if (!v) {
		ok(0, "round trips: load the vocabulary");
		return;
	}
	size_t n_texts = sizeof texts / sizeof texts[0], good = 0, bytes_seen = 0;
	for (size_t i = 0; i < n_texts; i++) {
		for (int bos = 0; bos <= 1; bos++) {
			int32_t *ids = NULL;
			size_t n = 0;
			char *back = NULL;
			size_t back_len = 0;
			struct mrl_err err = { 0 };
			size_t len = strlen(texts[i]);
			if (eng_vocab_tokenize(v, texts[i], len, bos, &ids, &n, &err) == 0 &&
			    eng_vocab_detokenize(v, ids, n, &back, &back_len, &err) == 0 &&
			    back_len == len && memcmp(back, texts[i], len) == 0)
				good++;
			else
				diag("%s round trip (bos=%d) failed: '%s' -> '%s' %s", name, bos, texts[i],
				     back ? back : "", err.msg);
			for (size_t k = 0; k < n; k++)
				bytes_seen += eng_vocab_token_type(v, ids[k]) == ENG_TOKEN_BYTE;
			free(ids);
			free(back);
		}
	}
	char label[200];
	snprintf(label, sizeof label, "%s: %zu/%zu round trips exact (with and without BOS)", name, good, 2 * n_texts);
	is_int(good, 2 * n_texts, label);
	snprintf(label, sizeof label, "%s: the round-trip texts exercise byte fallback (%zu byte tokens)", name, bytes_seen);
	ok(bytes_seen > 0, label);
	eng_vocab_free(v);
}

/* tokenizer.ggml.pre dbrx and smaug-bpe: llama3's regex without llama3's ignore_merges
 * and BOS, as llama.cpp (merilo had treated them as llama3: the audit of 2026-12-06). */
static void test_pre_llama3_kin(void)
{
	static const char *const pre[] = { "llama3", "dbrx", "smaug-bpe" };
	for (size_t k = 0; k < 3; k++) {
		static const char *const pieces[] = { "H", "i", "Hi", "<|endoftext|>" }, *const merges[] = { "i i" };
		const int32_t types[] = { ENG_TOKEN_NORMAL, ENG_TOKEN_NORMAL, ENG_TOKEN_NORMAL, ENG_TOKEN_CONTROL };
		struct gbuf body = { 0 }, file; /* a gpt2 vocabulary: "Hi" is a piece no merge makes */
		kv_string(&body, "tokenizer.ggml.model", "gpt2");
		kv_string(&body, "tokenizer.ggml.pre", pre[k]);
		kv_strs(&body, "tokenizer.ggml.tokens", pieces, 4);
		kv_i32s(&body, "tokenizer.ggml.token_type", types, 4);
		kv_strs(&body, "tokenizer.ggml.merges", merges, 1);
		kv_u32(&body, "tokenizer.ggml.bos_token_id", 3);
		gguf_wrap(&body, &file);
		struct gguf_ctx *g = NULL;
		struct eng_vocab *v = NULL;
		struct mrl_err err = { 0 };
		int rc = gguf_parse(file.p, file.n, "pre.gguf", &g, &err);
		rc = rc ? rc : eng_vocab_load(&v, g, "pre.gguf", &err);
		const bool llama3 = k == 0;
		char label[160];
		snprintf(label, sizeof label, "pre %s: BOS %s by default", pre[k], llama3 ? "on" : "off");
		ok(rc == 0 && eng_vocab_add_bos(v) == llama3, label);
		snprintf(label, sizeof label, "pre %s: 'Hi' %s", pre[k], llama3 ? "whole (ignore_merges)" : "as H i (merges)");
		if (rc == 0)
			tok_is(v, "Hi", false, llama3 ? "2" : "0 1", label);
		else
			is_str(err.msg, "", label);
		eng_vocab_free(v);
		gguf_free(g);
		free(body.p);
		free(file.p);
	}
}

/* Random texts of valid UTF-8, lone continuation bytes, NULs and a truncated
 * sequence at the end never fail and come back unchanged (every byte has a token).
 * Not round-trippable, as in llama.cpp: a lead byte (0xC0..0xFF) that claims more
 * bytes than follow as continuations swallows the next bytes into one symbol, and
 * if those are an escaped space (▁) they come back as ▁. The last check pins that. */
static void test_random_texts(const char *fx)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/tokenizer/ggml-vocab-llama-spm.gguf", fx);
	struct eng_vocab *v = load_gguf_vocab(path);
	if (!v) {
		ok(0, "random texts: load the vocabulary");
		return;
	}
	static const char *const units[] = { "a", "e", "z", " ", " ", "\n", "\t", "<", ">", "0x", "č", "ž", "Ђ",
					     "љ", "\xF0\x9F\x99\x82", "漢", "\x80", "\xBF", "\x00" };
	static const char *const tails[] = { "", "\xC4", "\xF0\x9F", "\xE2\x96" };
	size_t n_units = sizeof units / sizeof units[0];
	uint32_t seed = 12345;
	size_t good = 0, n_cases = 500;
	for (size_t c = 0; c < n_cases; c++) {
		char buf[200];
		size_t len = 0;
		seed = seed * 1103515245u + 12345u;
		size_t count = (seed >> 16) % 40;
		for (size_t i = 0; i < count; i++) {
			seed = seed * 1103515245u + 12345u;
			const char *u = units[(seed >> 16) % n_units];
			size_t ul = *u ? strlen(u) : 1; /* "\x00" is one NUL byte */
			memcpy(buf + len, u, ul);
			len += ul;
		}
		const char *t = tails[c % 4];
		memcpy(buf + len, t, strlen(t));
		len += strlen(t);
		int32_t *ids = NULL;
		size_t n = 0, back_len = 0;
		char *back = NULL;
		struct mrl_err err = { 0 };
		if (eng_vocab_tokenize(v, buf, len, c & 1, &ids, &n, &err) == 0 &&
		    eng_vocab_detokenize(v, ids, n, &back, &back_len, &err) == 0 && back_len == len &&
		    memcmp(back, buf, len) == 0)
			good++;
		free(ids);
		free(back);
	}
	char label[200];
	snprintf(label, sizeof label, "random texts: %zu/%zu tokenize and come back unchanged", good, n_cases);
	is_int(good, n_cases, label);

	char *s = tok_str(v, "\xFF b", false);
	char want[100];
	int32_t fe = eng_vocab_find(v, "<0xFF>", 6), e2 = eng_vocab_find(v, "<0xE2>", 6),
		x96 = eng_vocab_find(v, "<0x96>", 6), x81 = eng_vocab_find(v, "<0x81>", 6), b = eng_vocab_find(v, "b", 1);
	snprintf(want, sizeof want, "%d %d %d %d %d %d", eng_vocab_find(v, "\xE2\x96\x81", 3), fe, e2, x96, x81, b);
	is_str(s, want, "an invalid lead byte 0xFF swallows the escaped space after it (llama.cpp's UTF-8 split)");
	free(s);
	eng_vocab_free(v);
}

static void test_speed(const char *fx)
{
	char path[1024], txt[1024];
	snprintf(path, sizeof path, "%s/tokenizer/ggml-vocab-llama-spm.gguf", fx);
	snprintf(txt, sizeof txt, "%s/expected/ppl-text.txt", fx);
	struct eng_vocab *v = load_gguf_vocab(path);
	char *text = NULL;
	size_t text_len = 0;
	struct mrl_err err = { 0 };
	if (!v || mrl_read_file(txt, 1 << 24, &text, &text_len, &err)) {
		ok(0, "speed: load");
		goto out;
	}
	/* ~1 MB: the text repeated; and 1/8 of that, to compare per-byte cost */
	size_t reps = (1u << 20) / text_len + 1, big_len = reps * text_len;
	char *big = malloc(big_len);
	for (size_t i = 0; i < reps; i++)
		memcpy(big + i * text_len, text, text_len);
	/* CPU time of this process, not wall time: other work on a loaded machine does
	 * not count. Best of 3 per length: what is left of the noise (caches shared
	 * with that work) is then far inside the margin between 8x and 64x. */
	double ms[2] = { 0, 0 };
	size_t lens[2] = { big_len / 8, big_len }, ntok[2] = { 0, 0 };
	for (int k = 0; k < 2; k++) {
		for (int rep = 0; rep < 3; rep++) {
			int32_t *ids = NULL;
			struct timespec t0, t1;
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
			int rc = eng_vocab_tokenize(v, big, lens[k], false, &ids, &ntok[k], &err);
			clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
			const double t = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
			ms[k] = rep == 0 || t < ms[k] ? t : ms[k];
			if (rc)
				diag("%s", err.msg);
			free(ids);
		}
	}
	diag("speed: %zu bytes -> %zu tokens in %.1f ms CPU (%.1f MB/s); %zu bytes in %.1f ms", lens[1], ntok[1], ms[1],
	     (double)lens[1] / 1e3 / (ms[1] > 0 ? ms[1] : 1e-3), lens[0], ms[0]);
	/* linear would be 8x; quadratic 64x. Allow generous noise but not quadratic growth. */
	ok(ms[1] < 24 * (ms[0] > 1.0 ? ms[0] : 1.0), "speed: 8x the text costs far less than 64x the time (no O(n^2))");
	free(big);
out:
	free(text);
	eng_vocab_free(v);
}

int main(void)
{
	test_tiny();
	test_bad_vocabs();
	test_special_ids_out_of_range();
	test_pre_llama3_kin();
	const char *fx = fixtures_dir();
	if (!fx) {
		skip("fixtures absent: ../shared/fixtures", "llama.cpp tokenizer suites");
		return done_testing();
	}
	const char *merilo = getenv("MERILO");
	if (merilo && (!*merilo || access(merilo, X_OK) != 0))
		merilo = NULL;
	test_suite(fx, "llama-spm", merilo);
	test_suite(fx, "phi-3", merilo);
	static const char *const bpe_suites[] = { "gpt-2", "deepseek-coder", "deepseek-llm", "falcon", "mpt",
						  "starcoder", "refact" };
	for (size_t i = 0; i < sizeof bpe_suites / sizeof bpe_suites[0]; i++)
		test_suite(fx, bpe_suites[i], merilo);
	test_cli_errors(fx, merilo);
	test_ppl_text(fx);
	test_expected_prompts(fx);
	test_round_trips(fx, "llama-spm");
	test_round_trips(fx, "phi-3");
	test_random_texts(fx);
	test_speed(fx);
	return done_testing();
}
