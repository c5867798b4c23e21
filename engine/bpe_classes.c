/* bpe_classes.c — a pre-tokenizer regex's \p{..} classes widened by the code points
 * Unicode assigned after the tables of the host's libpcre2 (engine/ucd_new.c).
 *
 * Debian 12's libpcre2 10.42 knows Unicode 14.0. llama.cpp f0d4d176 classifies with
 * Unicode 15.1 tables and HF tokenizers 0.23 with Unicode 16.0, so a letter of Kawi, Nag
 * Mundari, Cyrillic Extended-D, CJK Extension I or Egyptian Hieroglyphs Extended-A was
 * no letter to merilo, and the text around it split differently ("a𑼄'sb": llama.cpp
 * a𑼄 | 's | b, merilo a | 𑼄' | sb). Each \p{X} of the five general categories L, M, N,
 * P and S (or one of their two-letter categories) gets the ranges of the later versions
 * up to the engine's: inside a class they are appended (`[^\s\p{L}]` ->
 * `[^\s\p{L}\x{11F04}-...]`), outside one the class is made (`\p{L}+` ->
 * `[\p{L}\x{11F04}-...]+`, `\P{L}` -> `[^\p{L}...]`). For HF's regexes (onig) \w
 * and \W become Oniguruma's word class, which PCRE2 10.42's is not: HF's holds marks
 * (Devanagari's vowel signs, a decomposed č's caron), Alphabetic symbols (Ⓐ), letter
 * numbers, connector punctuation and the join controls, and not U+00B2 (²); PCRE2 split
 * HF's Whitespace pre-tokenizer's words at every mark; and \h and \H are Oniguruma's hex
 * digit (PCRE2's horizontal white space). Left as they are: a negated class
 * inside a class (`[\P{L}]`, `[\W]`, `[\H]`: a union cannot subtract), \d (Nd to both), \b
 * (Oniguruma's word boundary is its \w's; no known pre-tokenizer uses it), script
 * names (\p{Han}). On a libpcre2 with newer tables the ranges repeat what \p{X} matches. */
#include "engine/vocab_int.h"

#include <string.h>

#include "common/buf.h"
#include "engine/ucd_new.h"

/* Whether a \p name (n bytes) is one of the five general categories or one of theirs. */
static int category_name(const char *s, size_t n)
{
	static const char *const two = "Lu Ll Lt Lm Lo Mn Mc Me Nd Nl No Pc Pd Ps Pe Pi Pf Po Sm Sc Sk So";
	if (n == 1)
		return strchr("LMNPS", s[0]) != NULL;
	for (const char *t = two; n == 2 && *t; t += t[2] ? 3 : 2)
		if (t[0] == s[0] && t[1] == s[1])
			return 1;
	return 0;
}

/* Appends the ranges of category cat (n letters) up to version max_ver. */
static void add_ranges(struct mrl_buf *b, const char *cat, size_t n, int max_ver)
{
	for (size_t i = 0; i < ucd_new_count; i++) {
		const struct ucd_new_range *r = &ucd_new[i];
		if (r->version > max_ver || r->cat[0] != cat[0] || (n == 2 && r->cat[1] != cat[1]))
			continue;
		if (r->lo == r->hi)
			mrl_buf_addf(b, "\\x{%X}", (unsigned)r->lo);
		else
			mrl_buf_addf(b, "\\x{%X}-\\x{%X}", (unsigned)r->lo, (unsigned)r->hi);
	}
}

/* The end of the first two-byte marker m at or after pat + from, or len where there is none. */
static size_t until(const char *pat, size_t len, size_t from, const char m[2])
{
	for (size_t j = from; j + 1 < len; j++)
		if (pat[j] == m[0] && pat[j + 1] == m[1])
			return j + 2;
	return len;
}

/* A \p or \P escape at pat + i (pat[i] == '\\'): its length, name and whether it is
 * negated; 0 where it is not one. */
static size_t property_escape(const char *pat, size_t len, size_t i, const char **name, size_t *name_len, int *neg)
{
	if (i + 2 >= len || (pat[i + 1] != 'p' && pat[i + 1] != 'P'))
		return 0;
	*neg = pat[i + 1] == 'P';
	if (pat[i + 2] != '{') {
		*name = pat + i + 2;
		*name_len = 1;
		return 3;
	}
	const char *end = memchr(pat + i + 3, '}', len - i - 3);
	if (!end)
		return 0;
	*name = pat + i + 3;
	*name_len = (size_t)(end - *name);
	if (*name_len && **name == '^') { /* \p{^L}: PCRE2's other spelling of \P{L} */
		*neg = !*neg;
		(*name)++;
		(*name_len)--;
	}
	return (size_t)(end - (pat + i)) + 1;
}

/* Oniguruma's \w, as HF tokenizers' regexes have it (Alphabetic, marks, decimal digits,
 * connector punctuation and the two join controls), where PCRE2 10.42's is letters, all
 * numbers and '_': the categories of it widened like any other. */
static void add_word(struct mrl_buf *b, int max_ver)
{
	static const char *const cats[] = { "L", "Nl", "M", "Nd", "Pc" };
	mrl_buf_add(b, "\\p{Alphabetic}\\p{Join_Control}");
	for (size_t i = 0; i < sizeof cats / sizeof cats[0]; i++) {
		mrl_buf_addf(b, "\\p{%s}", cats[i]);
		add_ranges(b, cats[i], strlen(cats[i]), max_ver);
	}
}

int bpe_widen_classes(const char *pat, size_t len, int max_ver, int onig, char **out, size_t *out_len)
{
	struct mrl_buf b;
	mrl_buf_init(&b); /* an allocation failure sets b.oom and detach gives NULL */
	int in_class = 0;
	for (size_t i = 0, k; i < len; i += k) {
		const char c = pat[i];
		const char *name;
		size_t name_len;
		int neg;
		if (c == '\\' && (k = property_escape(pat, len, i, &name, &name_len, &neg)) &&
		    category_name(name, name_len)) {
			if (in_class && neg) { /* cannot be widened inside a class */
				mrl_buf_addn(&b, pat + i, k);
				continue;
			}
			mrl_buf_add(&b, in_class ? "" : neg ? "[^" : "[");
			mrl_buf_addf(&b, "\\p{%.*s}", (int)name_len, name);
			add_ranges(&b, name, name_len, max_ver);
			mrl_buf_add(&b, in_class ? "" : "]");
		} else if (onig && c == '\\' && i + 1 < len && (pat[i + 1] == 'w' || pat[i + 1] == 'W') &&
			   !(in_class && pat[i + 1] == 'W')) {
			k = 2;
			mrl_buf_add(&b, in_class ? "" : pat[i + 1] == 'W' ? "[^" : "[");
			add_word(&b, max_ver);
			mrl_buf_add(&b, in_class ? "" : "]");
		} else if (onig && c == '\\' && i + 1 < len && (pat[i + 1] == 'h' || pat[i + 1] == 'H') &&
			   !(in_class && pat[i + 1] == 'H')) { /* Oniguruma's \h: a hex digit */
			k = 2;
			mrl_buf_add(&b, in_class ? "0-9a-fA-F" : pat[i + 1] == 'H' ? "[^0-9a-fA-F]" : "[0-9a-fA-F]");
		} else if (c == '\\' && i + 1 < len && pat[i + 1] == 'Q') { /* \Q...\E: literal */
			k = until(pat, len, i + 2, "\\E") - i;
			mrl_buf_addn(&b, pat + i, k);
		} else if (c == '\\') { /* any other escape: itself and the byte after it */
			k = i + 1 < len ? 2 : 1;
			mrl_buf_addn(&b, pat + i, k);
		} else if (!in_class && c == '[') { /* a class: '^' and a first ']' belong to it */
			k = 1;
			if (i + k < len && pat[i + k] == '^')
				k++;
			if (i + k < len && pat[i + k] == ']')
				k++;
			in_class = 1;
			mrl_buf_addn(&b, pat + i, k);
		} else if (in_class && c == '[' && i + 1 < len && pat[i + 1] == ':') { /* [:alpha:] */
			k = until(pat, len, i + 2, ":]") - i;
			mrl_buf_addn(&b, pat + i, k);
		} else {
			if (in_class && c == ']')
				in_class = 0;
			k = 1;
			mrl_buf_addn(&b, pat + i, 1);
		}
	}
	*out = mrl_buf_detach(&b, out_len);
	return *out ? 0 : MRL_ENOMEM;
}
