/* translit_int.h — internals shared by tasks/translit.c and tasks/translit_keep.c.
 *
 * Text is handled as an array of code points cp[]; a span is [a, b). The keep-Latin
 * recognisers (translit_keep.c) say whether a token of Serbian Latin text must stay
 * Latin when the text is written in Cyrillic; docs/transliteration.md states each rule
 * with the figures measured on the Debian sr / sr@latin catalogs.
 */
#ifndef MRL_TASK_TRANSLIT_INT_H
#define MRL_TASK_TRANSLIT_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <utf8proc.h>

static inline bool is_letter(int32_t c)
{
	utf8proc_category_t k = utf8proc_category(c);
	return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT ||
	       k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_LO;
}

static inline bool is_mark(int32_t c)
{
	utf8proc_category_t k = utf8proc_category(c);
	return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_MC || k == UTF8PROC_CATEGORY_ME;
}

static inline bool is_upper(int32_t c)
{
	utf8proc_category_t k = utf8proc_category(c);
	return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LT;
}

static inline bool is_lower(int32_t c)
{
	return utf8proc_category(c) == UTF8PROC_CATEGORY_LL;
}

static inline bool is_space(int32_t c)
{
	utf8proc_category_t k = utf8proc_category(c);
	return c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || k == UTF8PROC_CATEGORY_ZS ||
	       k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP;
}

static inline bool is_ascii_alnum(int32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Does cp[a, b) equal the ASCII/UTF-8 string w, compared case-insensitively? */
static inline bool span_equals_ci(const int32_t *cp, size_t a, size_t b, const char *w)
{
	size_t i = a, off = 0, wl = strlen(w);
	while (off < wl) {
		utf8proc_int32_t c;
		utf8proc_ssize_t r = utf8proc_iterate((const utf8proc_uint8_t *)w + off, (utf8proc_ssize_t)(wl - off), &c);
		if (r <= 0 || i >= b || utf8proc_tolower(cp[i]) != c)
			return false;
		off += (size_t)r;
		i++;
	}
	return i == b;
}

/* Is cp[a, b) one of the n words of list (case-insensitively)? */
static inline bool is_listed(const char *const *list, size_t n, const int32_t *cp, size_t a, size_t b)
{
	for (size_t k = 0; k < n; k++)
		if (span_equals_ci(cp, a, b, list[k]))
			return true;
	return false;
}


/* a word with `_` that is a program identifier (VIDEO_TS, input_token), not a mnemonic (_Otvori) */
bool tl_is_identifier_underscore(const int32_t *cp, size_t a, size_t b);
/* a byte/bit unit with a prefix (MB, GiB, kb), hertz or decibels */
bool tl_is_unit_symbol(const int32_t *cp, size_t a, size_t b);
/* a unit symbol after a number or format code (%s kg, 5 mm, MB/s) */
bool tl_is_unit_after_number(const int32_t *cp, size_t n, size_t a, size_t b);
/* a mixed-case word that is an identifier or English name (brojPoruka, iPhone), not a Serbian-spelt brand (iPod) */
bool tl_camel_identifier(const int32_t *cp, size_t a, size_t b);
/* a word with digits written in Cyrillic (IPv4, MD5, IP6GRE, v2, Rijad87), not kept like mp3, F10 */
bool tl_is_acronym_number(const int32_t *cp, size_t a, size_t b);
/* an acronym the catalogs keep Latin (NTFS, PKCS, ISO9660, URI); others are transliterated */
bool tl_is_kept_acronym(const int32_t *cp, size_t a, size_t b);
/* is cp[a, b) exactly (case-sensitively) one of the n strings of list? */
bool tl_listed_exact(const char *const *list, size_t n, const int32_t *cp, size_t a, size_t b);
/* a measure unit in a comma-separated alias list, not repeated later in it (metar,m,m -> м,m) */
bool tl_is_unit_alias(const int32_t *cp, size_t n, size_t a, size_t b);
/* the key letter after a modifier: Ctrl+F, [Ktrl+Z], CTRL-H */
bool tl_is_shortcut_key(const int32_t *cp, size_t a, size_t b);
/* a time-zone abbreviation or zone name in capitals: EST, CET, UCT, GMT0, PRC */
bool tl_is_zone_abbrev(const int32_t *cp, size_t a, size_t b);
/* a code in parentheses after a proper name: La Rioha (LR) */
bool tl_is_name_code(const int32_t *cp, size_t n, size_t a, size_t b);
/* an item of a parenthesised list of capital codes: (SA, LP, NQ, RN) */
bool tl_in_code_list(const int32_t *cp, size_t n, size_t a, size_t b);
/* length of four or more colon-separated hex bytes at cp[i] (80:00:00:48:fe:80), 0 if none */
size_t tl_hex_bytes_len(const int32_t *cp, size_t i, size_t b);
/* where a desktop-file keyword list (a;b;c;) starts over in Latin script or English: the start of
 * its first item that repeats an earlier one, or n if none */
size_t tl_keyword_latin_from(const int32_t *cp, size_t n);
/* an opening quotation mark („ " ' “ «) */
bool tl_is_open_quote(int32_t c);
/* a closing quotation mark (“ ” " ' ») */
bool tl_is_close_quote(int32_t c);
/* length of a printf/strftime code at cp[i] == '%' (%s, %1$s, %-10.3lf, %m, %Y, %%), 0 if none */
size_t tl_printf_spec_len(const int32_t *cp, size_t i, size_t b);
/* length of a command-line option at cp[i] == '-' (-h, --help, --out=FILE), 0 if none */
size_t tl_option_len(const int32_t *cp, size_t a, size_t i, size_t b);
/* letter pairs or a silent final e common in English and rare in Serbian */
bool tl_looks_english(const int32_t *cp, size_t a, size_t b);
/* length of a quoted setting or program name just after an opening quote, 0 if none */
size_t tl_quoted_token_len(const int32_t *cp, size_t a, size_t i, size_t b);
/* length of a known markup tag (<b>, </i>, <span) or entity (&amp;) at cp[i], 0 if none */
size_t tl_markup_len(const int32_t *cp, size_t i, size_t b);
/* length of a markup attribute opening the chunk (href="..." whole, title=" only its name), 0 if none */
size_t tl_attribute_len(const int32_t *cp, size_t a, size_t i, size_t b);
/* length of a file extension at cp[i] == '.' (.csv, Slika.png), 0 if none */
size_t tl_extension_len(const int32_t *cp, size_t a, size_t i, size_t b);
/* length of a brace placeholder at cp[i] == '{' ({0}, {name}, {0:.2f}), 0 if none */
size_t tl_brace_len(const int32_t *cp, size_t i, size_t b);
/* length of a MIME type (application/xml) or a manual page reference (fcntl(2)) at cp[i], 0 if none */
size_t tl_mime_or_manpage_len(const int32_t *cp, size_t a, size_t i, size_t b);

#endif
