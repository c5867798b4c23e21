/* eng_bpe_classes.c — bpe_widen_classes (engine/bpe_classes.c): a pre-tokenizer regex's
 * \p{..} classes widened by the code points Unicode 15.0-16.0 assigned (engine/ucd_new.c),
 * checked by what the widened regexes match under the host's libpcre2 (Debian 12's 10.42
 * knows Unicode 14.0): a Kawi letter (U+11F04, 15.0), a CJK Extension I ideograph
 * (U+2EBF0, 15.1), a Nag Mundari digit (U+1E4F1, 15.0) and an Egyptian hieroglyph of
 * Extended-A (U+13460, 16.0); the forms left alone (a negated class inside a class,
 * \Q..\E, an escaped backslash, script names) are left byte for byte. The tokenizers'
 * ids with such text: tests/eng_tok_llamacpp.c (GGUF) and tests/eng_tokjson.c (HF). */
#include "tests/tap.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "engine/ucd_new.h"
#include "engine/vocab_int.h"

/* Whether pattern, widened to max_ver, matches the whole of text. -1: it did not compile. */
static int matches(const char *pattern, int max_ver, const char *text)
{
	char *w;
	size_t n;
	if (bpe_widen_classes(pattern, strlen(pattern), max_ver, max_ver >= 160, &w, &n))
		return -1;
	int code;
	PCRE2_SIZE at;
	pcre2_code *re = pcre2_compile((PCRE2_SPTR)w, n, PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED | PCRE2_ENDANCHORED,
				       &code, &at, NULL);
	free(w);
	if (!re)
		return -1;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	const int rc = pcre2_match(re, (PCRE2_SPTR)text, strlen(text), 0, 0, md, NULL);
	pcre2_match_data_free(md);
	pcre2_code_free(re);
	return rc > 0;
}

/* The widened text of pattern (for the forms that must stay as they are). */
static int same_text(const char *pattern)
{
	char *w;
	size_t n;
	if (bpe_widen_classes(pattern, strlen(pattern), 151, 0, &w, &n))
		return 0;
	const int same = n == strlen(pattern) && !memcmp(w, pattern, n);
	free(w);
	return same;
}

#define KAWI "\U00011F04"
#define CJK_I "\U0002EBF0"
#define NAG_DIGIT "\U0001E4F1"
#define EGYPT_A "\U00013460"

int main(void)
{
	ok(ucd_new_count > 100 && ucd_new[0].lo < ucd_new[ucd_new_count - 1].lo, "the table of later code points is there, in order");
	size_t n151 = 0, n160 = 0;
	for (size_t i = 0; i < ucd_new_count; i++)
		*(ucd_new[i].version == 151 ? &n151 : &n160) += ucd_new[i].hi - ucd_new[i].lo + 1;
	is_int(n151, 5109, "5,109 code points of Unicode 15.0 and 15.1 in the five categories");
	is_int(n151 + n160, 10294, "10,294 up to Unicode 16.0");

	is_int(matches("\\p{L}", 151, KAWI), 1, "\\p{L} at 15.1: a Kawi letter (Unicode 15.0)");
	is_int(matches("\\p{L}", 151, CJK_I), 1, "\\p{L} at 15.1: a CJK Extension I ideograph (15.1)");
	is_int(matches("\\p{L}", 151, EGYPT_A), 0, "\\p{L} at 15.1: not a hieroglyph of Unicode 16.0 (llama.cpp's tables)");
	is_int(matches("\\p{L}", 160, EGYPT_A), 1, "\\p{L} at 16.0: the hieroglyph (HF's tables)");
	is_int(matches("\\p{L}", 160, "a"), 1, "\\p{L} still matches a");
	is_int(matches("\\pL+", 151, "a" KAWI "b"), 1, "\\pL (one letter, no braces) widened too");
	is_int(matches("\\p{^L}", 151, KAWI), 0, "\\p{^L} (PCRE2's \\P{L}) does not match the Kawi letter");
	is_int(matches("\\P{L}", 151, KAWI), 0, "\\P{L} outside a class: not the Kawi letter");
	is_int(matches("\\P{L}", 151, "-"), 1, "\\P{L} outside a class: '-'");
	is_int(matches("\\p{N}+", 151, "7" NAG_DIGIT "9"), 1, "\\p{N}: a Nag Mundari digit");
	is_int(matches("\\p{Nd}", 151, NAG_DIGIT), 1, "\\p{Nd}: the digit, by its two-letter category");
	is_int(matches("\\p{Lo}", 151, KAWI), 1, "\\p{Lo}: the Kawi letter (Lo)");
	is_int(matches("\\p{Lu}", 151, KAWI), 0, "\\p{Lu}: not the Kawi letter");
	is_int(matches("[^\\s\\p{L}\\p{N}]+", 151, KAWI), 0, "a negated class holding \\p{L}: not the Kawi letter");
	is_int(matches("[^\\s\\p{L}\\p{N}]+", 151, "'" NAG_DIGIT), 0, "... nor the Nag Mundari digit");
	is_int(matches("[^\\s\\p{L}\\p{N}]+", 151, "'-?"), 1, "... and still punctuation");
	is_int(matches("[]\\p{L}]+", 151, "]" KAWI), 1, "a class whose first ']' is literal");
	is_int(matches("[[:digit:]\\p{L}]+", 151, "1" KAWI), 1, "a POSIX class before \\p{L} in a class");
	is_int(matches("(?:'s| ?\\p{L}+)", 151, " " KAWI KAWI), 1, "in a group, after an alternative");

	/* HF's regexes (16.0): \w and \W as Oniguruma's (tokenizers 0.23.3's Whitespace
	 * pre-tokenizer keeps each of these words whole, and splits x²y in three) */
	static const char *const words[] = { "नमस्ते", "c\u030Cevap", "a\u24B6b", "a\u200Db", "a\u2160b", "a\u203Fb",
					     "a\u0903b", "a\u0CF3b", "a" EGYPT_A "b", "a_1" };
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
		char name[120];
		snprintf(name, sizeof name, "\\w+ as HF's: word %zu is one word", i);
		is_int(matches("\\w+", 160, words[i]), 1, name);
		snprintf(name, sizeof name, "[^\\w\\s]+ as HF's: not word %zu", i);
		is_int(matches("[^\\w\\s]+", 160, words[i]), 0, name);
	}
	is_int(matches("\\w+", 160, "x\u00B2y"), 0, "\\w+ as HF's: not x²y (² is No)");
	is_int(matches("[^\\w\\s]+", 160, "\u00B2-"), 1, "[^\\w\\s]+ as HF's: ²-");
	is_int(matches("\\W+", 160, "\u00B2-"), 1, "\\W+ as HF's: ²-");
	is_int(matches("\\W", 160, "\u094D"), 0, "\\W as HF's: not a virama");
	is_int(matches("\\h+", 160, "0fA"), 1, "\\h as HF's (Oniguruma): hex digits");
	is_int(matches("\\h", 160, " "), 0, "\\h as HF's: not a space (PCRE2's horizontal white space)");
	is_int(matches("[\\h-]+", 160, "f-0"), 1, "\\h inside a class");
	is_int(matches("\\H", 160, "g"), 1, "\\H as HF's: g");
	is_int(matches("\\w+", 151, "\u0928\u094D"), 0, "GGUF regexes keep PCRE2's \\w (llama.cpp's is not Oniguruma's)");

	ok(same_text("[\\P{L}x]"), "\\P{L} inside a class is left as it is (a union cannot subtract)");
	ok(same_text("\\Q\\p{L}\\E"), "\\Q..\\E is literal");
	ok(same_text("\\\\p{L}"), "an escaped backslash before p{L} is no property");
	ok(same_text("\\p{Han}\\p{Greek}\\p{Lx}"), "script names and unknown categories are left alone");
	ok(same_text("[\\[\\]]\\w\\d"), "escaped brackets, \\w and \\d");
	return done_testing();
}
