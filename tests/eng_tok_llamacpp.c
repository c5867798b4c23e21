/* eng_tok_llamacpp.c — GGUF vocabularies against llama-tokenize (llama.cpp f0d4d176,
 * --ids --no-bos) on the edge cases differential fuzzing found, each a rule merilo
 * did not follow before (docs/tokenizer.md, "Differential fuzzing against llama.cpp's
 * llama-tokenize"). The expected ids are llama-tokenize's, committed here; nothing
 * here runs llama.cpp.
 */
#include "tests/tap.h"

#include <stdint.h>
#include <unistd.h>

#include "tests/cli.h"
#include "tests/gguf_edit.h"
#include "tests/tok_oracle.h"

struct tok_case {
	const char *file; /* under the fixtures folder */
	const char *text;
	int32_t want[8];
	size_t n;
};

static void check_cases(const char *fx, const struct tok_case *cases, size_t n_cases)
{
	for (size_t i = 0; i < n_cases; i++) {
		char path[1024], label[200], shown[64];
		snprintf(path, sizeof path, "%s/%s", fx, cases[i].file);
		show_text(cases[i].text, strlen(cases[i].text), shown, sizeof shown);
		snprintf(label, sizeof label, "%s '%s': llama.cpp's ids", strrchr(cases[i].file, '/') + 1, shown);
		if (access(path, R_OK)) {
			skip("the vocabulary is absent", label);
			continue;
		}
		is_encoding(load_gguf_vocab(path), cases[i].text, false, cases[i].want, cases[i].n, label);
	}
}

/* Characters without a piece in a byte-level GGUF: a symbol that merges with nothing and
 * gives no token (merilo gave UNK <|endoftext|> for them, or let their neighbours merge
 * across them: the audit of 2026-12-06). */
static const struct tok_case no_piece[] = {
	{ "models-real/smollm2-135m-instruct-q4_1.gguf", "\x06", { 0 }, 0 },
	{ "models-real/smollm2-135m-instruct-q4_1.gguf", "a\x04" "b", { 81, 82 }, 2 },
	{ "models-real/smollm2-135m-instruct-q4_1.gguf", "Hello\x1d world", { 19556, 905 }, 2 },
	{ "tokenizer/ggml-vocab-starcoder.gguf", "!\xf1\x80\x80\x80!", { 38, 246, 246, 246, 38 }, 5 },
	{ "tokenizer/ggml-vocab-falcon.gguf", " \x11\xe2\x88\x91", { 204, 8421, 223 }, 3 },
	{ "tokenizer/ggml-vocab-falcon.gguf", " \x0b  b", { 204, 204, 262 }, 3 },
	{ "tokenizer/ggml-vocab-falcon.gguf", "\xef\xbf\xbf\xf2\x80\x80\x80", { 13112, 135, 206, 206, 206 }, 5 },
};

#define DSL "tokenizer/ggml-vocab-deepseek-llm.gguf"
#define DSC "tokenizer/ggml-vocab-deepseek-coder.gguf"

/* Non-ASCII white space in deepseek-llm's and deepseek-coder's regexes: llama.cpp runs a
 * regex without \p{..} on the text with such characters replaced by U+000B, so its CJK
 * range (U+0800-U+4E00) and deepseek-llm's punctuation class (up to U+3002) do not match
 * them (engine/bpe.c, LLAMACPP_WS). merilo matched them and split "\u2029 " in two. Of 400
 * strings (20 white-space characters in 10 contexts, both vocabularies) llama-tokenize and
 * merilo now agree on all; before, the first case below differed, the others agreed. */
static const struct tok_case deepseek_ws[] = {
	{ DSL, "\u2029 ", { 350, 20535 }, 2 }, /* merilo gave 350 102 207 */
	{ DSL, "x \u2029 y", { 87, 207, 350, 102, 320 }, 5 },
	{ DSL, "\u3000 ", { 88946, 207 }, 2 },
	{ DSL, "a\u3000b", { 64, 88946, 65 }, 3 },
	{ DSL, "\u3002\u3000\u3002", { 398, 88946, 398 }, 3 },
	{ DSL, "\u4e2d\u2028\u4e2d", { 764, 350, 101, 764 }, 4 },
	{ DSC, "\u2029 ", { 350, 102, 207 }, 3 },
	{ DSC, "a\u3000b", { 64, 343, 209, 65 }, 4 },
	{ DSC, "\u4e2d\u2028\u4e2d", { 759, 350, 101, 759 }, 4 },
};

/* U+180E, a format character to llama.cpp and white space to PCRE2 10.42 (engine/bpe.c,
 * MVS_UTF8): of 544 strings (68 with it x 8 byte-level vocabularies) merilo differed from
 * llama-tokenize on 52 before, on none now. merilo gave 220 157 254 236 64 for GPT-2's. */
static const struct tok_case mvs[] = {
	{ "tokenizer/ggml-vocab-gpt-2.gguf", " \u180e" "a", { 28053, 254, 236, 64 }, 4 },
	{ "tokenizer/ggml-vocab-falcon.gguf", " \u180e" "a", { 27171, 238, 220, 76 }, 4 },
	{ "tokenizer/ggml-vocab-starcoder.gguf", " \u180e" "a", { 18060, 278, 260, 102 }, 4 },
};

/* Invalid UTF-8 as llama.cpp decodes it (engine/bpe.c, llamacpp_sequence): overlong
 * forms are their code points (C0 AF is '/', C0 80 a NUL), surrogates stay. merilo
 * replaced each byte by U+FFFD: of 42 texts with invalid sequences it differed from
 * llama-tokenize on 26 for GPT-2's vocabulary, on none now (nor for deepseek-llm, falcon,
 * starcoder, SmolLM2). Before: 220 6353 64, 64 48585 275, 6353 and 48585 0. */
#define GPT2 "tokenizer/ggml-vocab-gpt-2.gguf"
static const struct tok_case lax_utf8[] = {
	{ GPT2, " \xc0\xaf" "a", { 1220, 64 }, 2 },
	{ GPT2, "a\xed\xa0\x80 b", { 64, 169, 254, 222, 275 }, 5 },
	{ GPT2, "\xc0\x80", { 188 }, 1 },
	{ GPT2, "\xe0\x80\xaf!", { 14, 0 }, 2 },
};

/* tokenizer.ggml.pre "tekken" (Mistral Nemo, Mistral Small 3) and "gpt-4o"/"llama4" (Phi-4-mini),
 * which merilo refused as unknown pre-tokenizers: llama.cpp's regexes and flags (tekken:
 * ignore_merges and BOS). Checked on GPT-2's vocabulary with the key rewritten (the
 * expected ids are llama-tokenize's on the same rewritten files): 95 strings (llama.cpp's
 * test inputs, the fixture texts, BCMS and English in both cases) equal for both. */
static void check_pre_types(const char *fx, const char *dir)
{
	static const struct {
		const char *pre, *text;
		bool bos;
		int32_t want[8];
		size_t n;
	} cases[] = {
		{ "tekken", "HTTPServer iPhone", false, { 6535, 28820, 18497, 1312, 6132 }, 5 },
		{ "tekken", "1234567", false, { 16, 17, 18, 19, 20, 21, 22 }, 7 },
		{ "tekken", "Hello World", true, { 50256, 15496, 2159 }, 3 },
		{ "gpt-4o", "HTTPServer iPhone", false, { 6535, 28820, 18497, 1312, 6132 }, 5 },
		{ "gpt-4o", "1234567", false, { 10163, 29228, 22 }, 3 },
		{ "gpt-4o", "Hello World", true, { 15496, 2159 }, 2 },
		{ "llama4", "1234567", false, { 10163, 29228, 22 }, 3 },
	};
	char src[1024], path[600];
	snprintf(src, sizeof src, "%s/tokenizer/ggml-vocab-gpt-2.gguf", fx);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char label[200];
		snprintf(label, sizeof label, "pre '%s', '%s'%s: llama.cpp's ids", cases[i].pre, cases[i].text,
			 cases[i].bos ? " with BOS" : "");
		snprintf(path, sizeof path, "%s/pre-%s.gguf", dir, cases[i].pre);
		if (access(path, R_OK) && /* one copy per pre-tokenizer */
		    gguf_rewrite(src, path, (struct gguf_edit){ .str_key = "tokenizer.ggml.pre", .str_val = cases[i].pre })) {
			ok(0, label);
			continue;
		}
		struct eng_vocab *v = load_gguf_vocab(path);
		is_encoding(v, cases[i].text, cases[i].bos && v && eng_vocab_add_bos(v), cases[i].want, cases[i].n, label);
	}
}

/* Letters and digits of Unicode 15.0 and 15.1, which llama.cpp's tables (f0d4d176) know and
 * libpcre2 10.42 (Unicode 14.0) did not: Kawi U+11F04, CJK Extension I U+2EBF0, Cyrillic
 * Extended-D U+1E030, Nag Mundari U+1E4D0; and a hieroglyph of Unicode 16.0 (U+13460),
 * which llama.cpp does not know and must stay no letter (engine/bpe_classes.c). Each case
 * but the last gave other ids before. Over all 5,109 such code points (ci/make-ucd-new.py's
 * list), each in two of seven contexts, 7 of 10 byte-level GGUF vocabularies tokenized
 * differently from llama-tokenize before and none after (docs/tokenizer.md). */
#define GPT2 "tokenizer/ggml-vocab-gpt-2.gguf"
#define SMOL "models-real/smollm2-135m-instruct-q4_1.gguf"
static const struct tok_case unicode_15[] = {
	{ GPT2, "a\U00011F04's" "b", { 64, 172, 239, 120, 226, 338, 65 }, 7 },
	{ GPT2, "a\U0002EBF0's" "b", { 64, 172, 106, 107, 108, 338, 65 }, 7 },
	{ GPT2, " \U0001E030'll", { 220, 172, 252, 222, 108, 1183 }, 6 },
	{ SMOL, "x\U0001E4D0's", { 104, 187, 248, 237, 234, 506 }, 6 },
	{ SMOL, " \U0001E030'll", { 216, 187, 248, 218, 125, 3060 }, 6 },
	{ "tokenizer/ggml-vocab-starcoder.gguf", "a\U00011F04's" "b", { 102, 208, 263, 158, 250, 1200, 103 }, 7 },
	{ GPT2, "a\U00013460's" "b", { 64, 172, 241, 239, 254, 6, 36299 }, 7 },
};

int main(void)
{
	const char *fx = fixtures_dir();
	if (!fx) {
		skip_all("fixtures absent: ../shared/fixtures (llama.cpp's GGUF vocabularies)");
		return done_testing();
	}
	TEST(check_cases(fx, no_piece, sizeof no_piece / sizeof no_piece[0]),
	     "byte-level vocabularies: characters without a piece");
	TEST(check_cases(fx, deepseek_ws, sizeof deepseek_ws / sizeof deepseek_ws[0]),
	     "deepseek-llm and deepseek-coder: non-ASCII white space as llama.cpp's regexes see it");
	TEST(check_cases(fx, mvs, sizeof mvs / sizeof mvs[0]), "U+180E is not white space, as in llama.cpp");
	TEST(check_cases(fx, lax_utf8, sizeof lax_utf8 / sizeof lax_utf8[0]),
	     "byte-level GGUFs: overlong forms and surrogates decoded as llama.cpp decodes them");
	TEST(check_cases(fx, unicode_15, sizeof unicode_15 / sizeof unicode_15[0]),
	     "letters of Unicode 15.0 and 15.1 are letters, as in llama.cpp; one of 16.0 is not");
	char dir[256];
	if (cli_tmpdir(dir, sizeof dir, "tok-llamacpp")) {
		TEST(check_pre_types(fx, dir), "pre-tokenizers tekken, gpt-4o and llama4 as llama.cpp's");
		cli_rmtree(dir);
	} else {
		skip("no temporary folder", "pre-tokenizers tekken, gpt-4o and llama4");
	}
	return done_testing();
}
