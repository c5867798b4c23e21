/* translit.c — Serbian Cyrillic <-> Latin transliteration.
 *
 * Both directions first validate the UTF-8 (reporting the byte offset of the
 * first bad sequence), normalise to NFC and decode to code points; the
 * conversion then works on the code point array, and the output is NFC again.
 *
 * Cyrillic -> Latin is letter for letter; the only decision is the case of the
 * second letter of Lj/Nj/Dž for an upper-case Љ/Њ/Џ, taken from the next letter
 * of the word, else the previous one, else (a one-letter word) from whether a
 * neighbouring word on the same line is written in capitals.
 *
 * Latin -> Cyrillic splits the text into whitespace-separated chunks, keeps
 * whole chunks that are URLs, e-mail addresses or dotted names, keeps format
 * codes (%s, %(name)d, {0}) and words that are not Serbian (identifiers, Roman
 * numerals, foreign words), and converts the rest letter by letter, joining
 * lj/nj/dž into one letter except after the prefixes listed in digraph_splits[].
 * docs/transliteration.md states every rule; keep the two in step.
 */
#include "tasks/translit.h"

#include "common/buf.h"
#include "common/utf8.h"

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <ctype.h>
#include <string.h>
#include <utf8proc.h>

/* ---- output buffer ---------------------------------------------------- */

static void ob_put_range(struct mrl_buf *b, const int32_t *cp, size_t from, size_t to)
{
	for (size_t i = from; i < to; i++)
		mrl_buf_add_cp(b, cp[i]);
}

/* Hand the buffer's text out as NFC (composing Latin letters with combining
 * accents that followed a Cyrillic letter). */
static int ob_finish(struct mrl_buf *b, char **out, size_t *out_len, struct mrl_err *err)
{
	utf8proc_uint8_t *nfc = NULL;
	utf8proc_ssize_t n;

	if (b->len == 0 || b->oom) { /* nothing was written: hand out "" */
		if (!(*out = mrl_buf_detach(b, NULL)))
			return mrl_err_set(err, MRL_ENOMEM, "transliteration: out of memory");
		if (out_len)
			*out_len = 0;
		return 0;
	}
	n = utf8proc_map((const utf8proc_uint8_t *)b->data, (utf8proc_ssize_t)b->len, &nfc,
			 UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	mrl_buf_release(b);
	if (n < 0)
		return mrl_err_set(err, n == UTF8PROC_ERROR_NOMEM ? MRL_ENOMEM : MRL_ERUNTIME,
				   "transliteration: normalising the output failed: %s", utf8proc_errmsg(n));
	*out = (char *)nfc;
	if (out_len)
		*out_len = (size_t)n;
	return 0;
}

/* ---- input: validate, NFC, decode ------------------------------------- */

static int decode_nfc(const char *s, size_t len, int32_t **cps, size_t *n_cps, struct mrl_err *err)
{
	utf8proc_uint8_t *nfc = NULL;
	utf8proc_ssize_t n_nfc, off = 0;
	int32_t *cp = NULL;
	size_t n = 0;
	int rc = 0;

	*cps = NULL;
	*n_cps = 0;
	if (len == 0)
		return 0;
	if (!s)
		return mrl_err_set(err, MRL_EINPUT, "transliteration: NULL text of length %zu", len);
	if (len > (size_t)(SIZE_MAX / 4 / sizeof(int32_t)) || len > (size_t)INT32_MAX)
		return mrl_err_set(err, MRL_EINPUT, "transliteration: text too long (%zu bytes)", len);
	size_t bad = mrl_utf8_valid_prefix(s, len);
	if (bad < len)
		return mrl_err_set(err, MRL_EINPUT, "invalid UTF-8 at byte offset %zu (byte 0x%02x)", bad,
				   (unsigned char)s[bad]);
	n_nfc = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &nfc,
			     UTF8PROC_STABLE | UTF8PROC_COMPOSE);
	if (n_nfc < 0) {
		rc = mrl_err_set(err, n_nfc == UTF8PROC_ERROR_NOMEM ? MRL_ENOMEM : MRL_EINPUT,
				 "transliteration: cannot normalise the text: %s", utf8proc_errmsg(n_nfc));
		goto out;
	}
	cp = malloc(((size_t)n_nfc + 1) * sizeof *cp);
	if (!cp) {
		rc = mrl_err_set(err, MRL_ENOMEM, "transliteration: out of memory");
		goto out;
	}
	while (off < n_nfc) {
		utf8proc_ssize_t r = utf8proc_iterate(nfc + off, n_nfc - off, &cp[n]);
		if (r <= 0) { /* cannot happen for utf8proc's own output */
			rc = mrl_err_set(err, MRL_ERUNTIME, "transliteration: normalised text does not decode");
			goto out;
		}
		off += r;
		n++;
	}
	*cps = cp;
	*n_cps = n;
	cp = NULL;
out:
	free(cp);
	free(nfc);
	return rc;
}

/* ---- character classes ------------------------------------------------- */

static bool is_letter(int32_t c)
{
	utf8proc_category_t k = utf8proc_category(c);
	return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LL || k == UTF8PROC_CATEGORY_LT ||
	       k == UTF8PROC_CATEGORY_LM || k == UTF8PROC_CATEGORY_LO;
}

static bool is_mark(int32_t c)
{
	utf8proc_category_t k = utf8proc_category(c);
	return k == UTF8PROC_CATEGORY_MN || k == UTF8PROC_CATEGORY_MC || k == UTF8PROC_CATEGORY_ME;
}

static bool is_upper(int32_t c)
{
	utf8proc_category_t k = utf8proc_category(c);
	return k == UTF8PROC_CATEGORY_LU || k == UTF8PROC_CATEGORY_LT;
}

static bool is_lower(int32_t c)
{
	return utf8proc_category(c) == UTF8PROC_CATEGORY_LL;
}

static bool is_space(int32_t c)
{
	utf8proc_category_t k = utf8proc_category(c);
	return c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f' || k == UTF8PROC_CATEGORY_ZS ||
	       k == UTF8PROC_CATEGORY_ZL || k == UTF8PROC_CATEGORY_ZP;
}

static bool is_ascii_alnum(int32_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* Is the word [a, b) written in capitals: at least two cased letters, none lower-case? */
static bool word_all_caps(const int32_t *cp, size_t a, size_t b)
{
	size_t n_upper = 0;
	for (size_t i = a; i < b; i++) {
		if (is_lower(cp[i]))
			return false;
		if (is_upper(cp[i]))
			n_upper++;
	}
	return n_upper >= 2;
}

/* The letter-and-mark word before position a (dir < 0) or from position a on
 * (dir > 0), not crossing a line break; returns false where there is none. */
static bool neighbour_word(const int32_t *cp, size_t n, size_t a, int dir, size_t *wa, size_t *wb)
{
	if (dir < 0) {
		size_t i = a;
		while (i > 0 && !is_letter(cp[i - 1])) {
			if (cp[i - 1] == '\n')
				return false;
			i--;
		}
		if (i == 0)
			return false;
		*wb = i;
		while (i > 0 && (is_letter(cp[i - 1]) || is_mark(cp[i - 1])))
			i--;
		*wa = i;
		return true;
	}
	size_t i = a;
	while (i < n && !is_letter(cp[i])) {
		if (cp[i] == '\n')
			return false;
		i++;
	}
	if (i == n)
		return false;
	*wa = i;
	while (i < n && (is_letter(cp[i]) || is_mark(cp[i])))
		i++;
	*wb = i;
	return true;
}

/* ---- Cyrillic -> Latin ------------------------------------------------- */

#define LAT_Z_CARON 0x017D /* Ž */

/* Latin for an upper-case Serbian Cyrillic letter: fills lat[] (1 or 2 code points,
 * upper case) and returns the count; 0 for a letter that is not Serbian. */
static int cyr_upper_to_lat(int32_t up, int32_t lat[2])
{
	static const struct {
		int32_t cyr, lat0, lat1;
	} map[] = {
		{0x0410, 'A', 0},    {0x0411, 'B', 0},   {0x0412, 'V', 0},    {0x0413, 'G', 0},
		{0x0414, 'D', 0},    {0x0402, 0x0110, 0}, {0x0415, 'E', 0},   {0x0416, LAT_Z_CARON, 0},
		{0x0417, 'Z', 0},    {0x0418, 'I', 0},   {0x0408, 'J', 0},    {0x041A, 'K', 0},
		{0x041B, 'L', 0},    {0x0409, 'L', 'J'}, {0x041C, 'M', 0},    {0x041D, 'N', 0},
		{0x040A, 'N', 'J'},  {0x041E, 'O', 0},   {0x041F, 'P', 0},    {0x0420, 'R', 0},
		{0x0421, 'S', 0},    {0x0422, 'T', 0},   {0x040B, 0x0106, 0}, {0x0423, 'U', 0},
		{0x0424, 'F', 0},    {0x0425, 'H', 0},   {0x0426, 'C', 0},    {0x0427, 0x010C, 0},
		{0x040F, 'D', LAT_Z_CARON}, {0x0428, 0x0160, 0},
		{0x0400, 0x00C8, 0}, /* Ѐ -> È (accented е) */
		{0x040D, 0x00CC, 0}, /* Ѝ -> Ì (accented и, as in ѝ "her") */
	};
	for (size_t i = 0; i < sizeof map / sizeof map[0]; i++)
		if (map[i].cyr == up) {
			lat[0] = map[i].lat0;
			lat[1] = map[i].lat1;
			return map[i].lat1 ? 2 : 1;
		}
	return 0;
}

/* Upper-case form of a Cyrillic code point in the basic block, *lower set when it was lower-case. */
static int32_t cyr_upper(int32_t c, bool *lower)
{
	*lower = false;
	if (c >= 0x0430 && c <= 0x044F) {
		*lower = true;
		return c - 0x20;
	}
	if (c >= 0x0450 && c <= 0x045F) {
		*lower = true;
		return c - 0x50;
	}
	return c;
}

/* Should the upper-case digraph letter at i be written with both letters in capitals (LJ, not Lj)? */
static bool digraph_all_caps(const int32_t *cp, size_t n, size_t i)
{
	size_t j = i + 1, wa, wb;

	while (j < n && is_mark(cp[j]))
		j++;
	if (j < n && is_letter(cp[j]))
		return is_upper(cp[j]); /* ЉУБА -> LJUBA, Љуба -> Ljuba */
	if (i > 0 && is_letter(cp[i - 1]))
		return is_upper(cp[i - 1]); /* КРАЉ -> KRALJ */
	if (i > 0 && is_mark(cp[i - 1])) {
		j = i - 1;
		while (j > 0 && is_mark(cp[j]))
			j--;
		if (is_letter(cp[j]))
			return is_upper(cp[j]);
	}
	/* a one-letter word: look at the words around it on the same line */
	if (neighbour_word(cp, n, i, -1, &wa, &wb) && word_all_caps(cp, wa, wb))
		return true;
	if (neighbour_word(cp, n, i + 1, +1, &wa, &wb) && word_all_caps(cp, wa, wb))
		return true;
	return false;
}

int task_translit_cyr2lat(const char *s, size_t len, char **out, size_t *out_len, struct mrl_err *err)
{
	struct mrl_buf b = MRL_BUF_INIT;
	int32_t *cp = NULL;
	size_t n = 0;
	int rc;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	rc = decode_nfc(s, len, &cp, &n, err);
	if (rc)
		return rc;
	for (size_t i = 0; i < n; i++) {
		int32_t lat[2];
		bool lower;
		int k = cyr_upper_to_lat(cyr_upper(cp[i], &lower), lat);
		if (k == 0) {
			mrl_buf_add_cp(&b, cp[i]);
		} else if (lower) {
			mrl_buf_add_cp(&b, utf8proc_tolower(lat[0]));
			if (k == 2)
				mrl_buf_add_cp(&b, utf8proc_tolower(lat[1]));
		} else {
			mrl_buf_add_cp(&b, lat[0]);
			if (k == 2)
				mrl_buf_add_cp(&b, digraph_all_caps(cp, n, i) ? lat[1] : utf8proc_tolower(lat[1]));
		}
	}
	free(cp);
	return ob_finish(&b, out, out_len, err);
}

/* ---- Latin -> Cyrillic ------------------------------------------------- */

/* Words in which l+j, n+j or d+ž are two letters: a prefix (or first part of a
 * loanword) ends before the j/ž. "nad|živ" matches any word that starts with
 * "nadživ" (nadživeti, nadživjeti, nadživljavati), also after the prefix "ne".
 * Matched case-insensitively on the word's start. Documented in docs/transliteration.md. */
static const char *const digraph_splits[] = {
	/* d+ž: Slavic prefixes od-, nad-, pod-, pred- before a stem in ž */
	"nad|živ", "nad|žnj", "nad|žnje", "nad|žup", "nad|žel",
	"od|živ", "od|žvak", "od|žubor", "od|žal",
	"pod|žanr", "pod|žup", "pod|žnj", "pod|žig",
	"pred|želud", "pred|život",
	"feld|žandar",
	/* n+j: Latin prefixes in-, kon-, an- and the Serbian van- */
	"in|jekc", "in|jekt", "in|jicir", "in|junkt",
	"kon|jug", "kon|junkc", "kon|junktur",
	"tan|jug", /* Tanjug, TAN(J)UG: Telegrafska agencija nove Jugoslavije */
	"van|jezič", "van|jevrop", "van|jugoslov",
	"an|jon",
};

/* Whole words (lower case) that stay Latin although they are spelt with Serbian letters. */
static const char *const foreign_words[] = {
	"the", "and", "of", "for", "with", "from", "this", "that", "online", "offline",
	"email", "e-mail", "software", "hardware", "download", "upload", "update",
	"login", "logout", "default", "cookie", "google", "facebook", "github", "linux",
	"pdf", "html", "http", "https", "css", "json", "url", "usb", "cpu", "gpu", "cuda",
	"gguf", "utf", "ascii", "gmt", "utc", "us",
	"shift", "ctrl", "enter", "esc", "backspace", /* key names: Ctrl+Enter, Shift */
};

/* Listed foreign words that are acronyms: written in capitals they follow the acronym rule and
 * are transliterated (HTML -> ХТМЛ, 44 of 47 in the catalogs); in lower case (https, pdf) they
 * name a protocol, file type or command and stay. */
static const char *const acronym_words[] = {"pdf", "html", "http", "https", "css", "json", "url", "usb", "cpu", "gpu", "utf"};
#define N_ACRONYM_WORDS (sizeof acronym_words / sizeof acronym_words[0])

/* Cyrillic for a lower-case Serbian Latin letter, 0 for any other code point. */
static int32_t lat_lower_to_cyr(int32_t c)
{
	static const int32_t ascii[26] = {
		0x0430, 0x0431, 0x0446, 0x0434, 0x0435, 0x0444, 0x0433, 0x0445, 0x0438, 0x0458, /* a..j */
		0x043A, 0x043B, 0x043C, 0x043D, 0x043E, 0x043F, 0,      0x0440, 0x0441, 0x0442, /* k..t */
		0x0443, 0x0432, 0,      0,      0,      0x0437,                                 /* u..z */
	};
	if (c >= 'a' && c <= 'z')
		return ascii[c - 'a'];
	switch (c) {
	case 0x010D: return 0x0447; /* č */
	case 0x0107: return 0x045B; /* ć */
	case 0x0111: return 0x0452; /* đ */
	case 0x0161: return 0x0448; /* š */
	case 0x017E: return 0x0436; /* ž */
	default: return 0;
	}
}

/* Latin digraph ligatures (U+01C4..U+01CC): their Cyrillic letter, upper or lower case. */
static int32_t ligature_to_cyr(int32_t c)
{
	switch (c) {
	case 0x01C4: case 0x01C5: return 0x040F; /* Ǆ ǅ -> Џ */
	case 0x01C6: return 0x045F;              /* ǆ -> џ */
	case 0x01C7: case 0x01C8: return 0x0409; /* Ǉ ǈ -> Љ */
	case 0x01C9: return 0x0459;              /* ǉ -> љ */
	case 0x01CA: case 0x01CB: return 0x040A; /* Ǌ ǋ -> Њ */
	case 0x01CC: return 0x045A;              /* ǌ -> њ */
	default: return 0;
	}
}

static bool is_prosodic_mark(int32_t m)
{
	return m == 0x0300 || m == 0x0301 || m == 0x0302 || m == 0x0304 || m == 0x030F || m == 0x0311;
}

/* Serbian-only accent marks: double grave and inverted breve occur in no other Latin orthography. */
static bool is_distinct_mark(int32_t m)
{
	return m == 0x030F || m == 0x0311;
}

enum letter_kind { LK_SERBIAN, LK_ACCENTED, LK_DISTINCT, LK_CYRILLIC, LK_FOREIGN };

/* Splits c into a base letter and accent marks (NFD); returns the number of marks (-1 if it does not fit). */
static int split_accents(int32_t c, int32_t *base, int32_t marks[4])
{
	utf8proc_int32_t buf[8];
	int bound = 0;
	utf8proc_ssize_t k = utf8proc_decompose_char(c, buf, 8, UTF8PROC_DECOMPOSE, &bound);
	if (k < 1 || k > 5)
		return -1;
	*base = buf[0];
	for (utf8proc_ssize_t i = 1; i < k; i++)
		marks[i - 1] = buf[i];
	return (int)(k - 1);
}

static enum letter_kind classify(int32_t c)
{
	int32_t lc = utf8proc_tolower(c), base, marks[4];
	int n_marks;
	bool distinct = false;

	if (lat_lower_to_cyr(lc) || ligature_to_cyr(c))
		return LK_SERBIAN;
	if (c >= 0x0400 && c <= 0x052F)
		return LK_CYRILLIC;
	if (is_mark(c))
		return !is_prosodic_mark(c) ? LK_FOREIGN : is_distinct_mark(c) ? LK_DISTINCT : LK_ACCENTED;
	n_marks = split_accents(c, &base, marks);
	if (n_marks <= 0)
		return LK_FOREIGN;
	base = utf8proc_tolower(base);
	if (!strchr("aeiour", (int)(base < 128 ? base : 'q')))
		return LK_FOREIGN;
	for (int i = 0; i < n_marks; i++) {
		if (!is_prosodic_mark(marks[i]))
			return LK_FOREIGN;
		distinct |= is_distinct_mark(marks[i]);
	}
	return distinct ? LK_DISTINCT : LK_ACCENTED;
}

static bool is_word_char(int32_t c)
{
	return is_letter(c) || is_mark(c) || c == '_' || utf8proc_category(c) == UTF8PROC_CATEGORY_ND;
}

/* Does cp[a, b) equal the ASCII/UTF-8 string w, compared case-insensitively? */
static bool span_equals_ci(const int32_t *cp, size_t a, size_t b, const char *w)
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
static bool is_listed(const char *const *list, size_t n, const int32_t *cp, size_t a, size_t b)
{
	for (size_t k = 0; k < n; k++)
		if (span_equals_ci(cp, a, b, list[k]))
			return true;
	return false;
}

/* Where the stem "pre|fix..." matches the start of cp[a, b): returns the index of the
 * last letter before '|' (the digraph must not join it to the next), or (size_t)-1. */
static size_t split_point(const int32_t *cp, size_t a, size_t b, const char *stem)
{
	size_t i = a, off = 0, sl = strlen(stem), split = (size_t)-1;
	while (off < sl) {
		utf8proc_int32_t c;
		utf8proc_ssize_t r;
		if (stem[off] == '|') {
			split = i - 1;
			off++;
			continue;
		}
		r = utf8proc_iterate((const utf8proc_uint8_t *)stem + off, (utf8proc_ssize_t)(sl - off), &c);
		if (r <= 0 || i >= b || utf8proc_tolower(cp[i]) != c)
			return (size_t)-1;
		off += (size_t)r;
		i++;
	}
	return split;
}

/* Strict upper-case Roman numeral (1..4999): M{0,4}(CM|CD|D?C{0,3})(XC|XL|L?X{0,3})(IX|IV|V?I{0,3}). */
static bool is_roman(const int32_t *cp, size_t a, size_t b)
{
	static const char sym[3][3] = {{'C', 'D', 'M'}, {'X', 'L', 'C'}, {'I', 'V', 'X'}};
	size_t i = a;
	int n = 0;
	if (a >= b)
		return false;
	while (i < b && cp[i] == 'M' && n < 4)
		i++, n++;
	for (int d = 0; d < 3; d++) {
		int32_t one = sym[d][0], five = sym[d][1], ten = sym[d][2];
		if (i + 1 < b && cp[i] == one && (cp[i + 1] == ten || cp[i + 1] == five)) {
			i += 2;
			continue;
		}
		if (i < b && cp[i] == five)
			i++;
		for (n = 0; n < 3 && i < b && cp[i] == one; n++)
			i++;
	}
	return i == b;
}

/* Is the word at [a, b) at the start of a sentence (nothing but space before it, or
 * sentence punctuation / an opening quote)? */
static bool at_sentence_start(const int32_t *cp, size_t a)
{
	while (a > 0 && is_space(cp[a - 1]))
		a--;
	if (a == 0)
		return true;
	switch (cp[a - 1]) {
	case '.': case '!': case '?': case ':': case ';': case '"':
	case 0x2026: /* … */ case 0x201E: /* „ */ case 0x201C: /* “ */ case 0x201D: /* ” */
	case 0x00AB: /* « */ case 0x00BB: /* » */ case 0x2014: /* — */ case 0x2013: /* – */
		return true;
	default:
		return false;
	}
}

/* Is a neighbouring word (same line) written in capitals and not itself a Roman numeral? */
static bool caps_context(const int32_t *cp, size_t n, size_t a, size_t b)
{
	size_t wa, wb;
	if (neighbour_word(cp, n, a, -1, &wa, &wb) && word_all_caps(cp, wa, wb) && !is_roman(cp, wa, wb))
		return true;
	if (neighbour_word(cp, n, b, +1, &wa, &wb) && word_all_caps(cp, wa, wb) && !is_roman(cp, wa, wb))
		return true;
	return false;
}

/* Does the word cp[a, b) with an underscore name a program's identifier, not a menu label
 * with its mnemonic (_Otvori, U_ključi, Pri_kaži, Indijski_okean in time zone names)?
 * Identifiers: all capitals with an inner `_` (VIDEO_TS), two or more inner `_` in ASCII
 * lower case (use_custom_default_size), or one inner `_` between ASCII lower-case parts
 * of four letters or more (input_token, mime_type) or before the C suffix _t (time_t).
 * A quoted one („prefer_plain“) is decided in quoted_token_len. */
static bool is_identifier_underscore(const int32_t *cp, size_t a, size_t b)
{
	size_t n_inner = 0, first = 0, last = 0;
	bool ascii_lower = true, has_lower = false;
	for (size_t i = a; i < b; i++) {
		if (cp[i] == '_' && i > a && i + 1 < b) {
			if (!n_inner++)
				first = i;
			last = i;
		} else if (cp[i] != '_' && !((cp[i] >= 'a' && cp[i] <= 'z') || (cp[i] >= '0' && cp[i] <= '9'))) {
			ascii_lower = false;
		}
		has_lower |= is_lower(cp[i]);
	}
	if (n_inner == 0)
		return false;
	/* a locale: en_GB, sr_RS, ca_ES */
	if (n_inner == 1 && b - a >= 5 && b - a <= 6 && b - first == 3 && first - a >= 2 && cp[first + 1] >= 'A' &&
	    cp[first + 1] <= 'Z' && cp[first + 2] >= 'A' && cp[first + 2] <= 'Z' && cp[a] >= 'a' && cp[a] <= 'z')
		return true;
	if (!has_lower)
		return true;
	if (!ascii_lower)
		return false;
	if (n_inner >= 2)
		return true;
	return (first - a >= 4 && b - last - 1 >= 4) || (first - a >= 3 && b - last - 1 == 1 && cp[last + 1] == 't');
}

/* Unit symbols that Serbian Cyrillic text keeps in Latin (measured on the catalogs): bytes and
 * bits with their decimal and binary prefixes (MB, GiB, kb), hertz (Hz, MHz) and decibels (dB). */
static bool is_unit_symbol(const int32_t *cp, size_t a, size_t b)
{
	static const char *const units[] = {"Hz", "kHz", "MHz", "GHz", "THz", "dB", "dBm"};
	size_t n = b - a;
	for (size_t k = 0; k < sizeof units / sizeof units[0]; k++) {
		size_t l = strlen(units[k]), i = 0;
		while (i < l && i < n && cp[a + i] == (int32_t)units[k][i])
			i++;
		if (i == l && l == n)
			return true;
	}
	/* [kKMGTPEZY] [i] (B|b), or a lone B after a prefix-less number is too ambiguous */
	if (n < 2 || n > 3 || (cp[b - 1] != 'B' && cp[b - 1] != 'b'))
		return false;
	if (!strchr("kKMGTPEZY", (int)(cp[a] < 128 ? cp[a] : ' ')) || cp[a] == 0)
		return false;
	return n == 2 || cp[a + 1] == 'i';
}

static size_t printf_spec_len(const int32_t *cp, size_t i, size_t b);

/* Does cp[a] follow a number or a format code (%s, %.1f), with at most one space between? */
static bool after_number(const int32_t *cp, size_t n, size_t a)
{
	size_t j = a;
	if (j > 0 && (cp[j - 1] == ' ' || cp[j - 1] == 0x00A0 || cp[j - 1] == 0x202F))
		j--;
	if (j == 0)
		return false;
	if (cp[j - 1] >= '0' && cp[j - 1] <= '9')
		return true;
	for (size_t k = j - 1, steps = 0; k > 0 && steps < 8; k--, steps++)
		if (cp[k - 1] == '%')
			return printf_spec_len(cp, k - 1, n) == j - (k - 1);
	return false;
}

/* A unit symbol after a number or format code (%s kg, 5 mm, 100 MB/s), or the `s` of a rate. */
static bool is_unit_after_number(const int32_t *cp, size_t n, size_t a, size_t b)
{
	static const char *const units[] = {"kg", "mg", "km", "cm", "mm", "ml", "ms", "\xce\xbcs", "K", "B", "dpi", "px"};
	if (b - a == 1 && cp[a] == 's' && a >= 2 && cp[a - 1] == '/') { /* MB/s, kb/s */
		size_t w = a - 1;
		while (w > 0 && is_ascii_alnum(cp[w - 1]))
			w--;
		return w < a - 1 && (is_unit_symbol(cp, w, a - 1) || span_equals_ci(cp, w, a - 1, "b"));
	}
	for (size_t k = 0; k < sizeof units / sizeof units[0]; k++)
		if (span_equals_ci(cp, a, b, units[k]) && (b - a > 1 || cp[a] == (int32_t)units[k][0]))
			return after_number(cp, n, a);
	return false;
}

static bool looks_english(const int32_t *cp, size_t a, size_t b);

/* A word with a capital after a lower-case letter: a program's identifier when it opens with two
 * lower-case letters or more (brojPoruka, maxLen) or looks English (iPhone, TrueType, NumLock).
 * Brand names spelt the Serbian way are transliterated like the catalogs do: iPod -> иПод,
 * vKartu -> вКарту, VebDAV -> ВебДАВ, IksML -> ИксМЛ. */
static bool camel_identifier(const int32_t *cp, size_t a, size_t b)
{
	if (b - a >= 3 && is_lower(cp[a]) && is_lower(cp[a + 1]))
		return true;
	return looks_english(cp, a, b);
}

/* An acronym with a number: capitals, an optional `v` (version), digits: IPv4, MD5, SHA256,
 * LDAPv3, POP3. Serbian Cyrillic writes these in Cyrillic like any acronym (ИПв4, МД5). */
static bool is_acronym_number(const int32_t *cp, size_t a, size_t b)
{
	size_t i = a;
	while (i < b && cp[i] >= 'A' && cp[i] <= 'Z')
		i++;
	if (i - a < 2)
		return false;
	if (i < b && cp[i] == 'v')
		i++;
	if (i == b || !(cp[i] >= '0' && cp[i] <= '9'))
		return false;
	while (i < b && cp[i] >= '0' && cp[i] <= '9')
		i++;
	return i == b;
}

/* Does the Serbian-looking word cp[a, b) stay in Latin script? */
static bool word_stays_latin(const int32_t *cp, size_t n, size_t chunk_a, size_t a, size_t b)
{
	bool has_digit = false, has_letter = false, accented = false, distinct = false;

	if (a > chunk_a && (cp[a - 1] == '$' || cp[a - 1] == '\\' || cp[a - 1] == '#' || cp[a - 1] == '@'))
		return true; /* $HOME, \alpha, #include, @user */
	if (is_identifier_underscore(cp, a, b) || is_unit_symbol(cp, a, b) || is_unit_after_number(cp, n, a, b))
		return true;
	for (size_t i = a; i < b; i++) {
		int32_t c = cp[i];
		if (c == '_')
			continue; /* a mnemonic (_Otvori, U_ključi) or an identifier: decided above */
		if (utf8proc_category(c) == UTF8PROC_CATEGORY_ND) {
			has_digit = true;
			continue;
		}
		has_letter = true;
		switch (classify(c)) {
		case LK_FOREIGN: return true;
		case LK_ACCENTED: accented = true; break;
		case LK_DISTINCT: distinct = true; break;
		default: break;
		}
		/* camelCase: lower then upper inside a word; "NjEGOŠ" (title-case digraph
		 * opening a word in capitals) is not camelCase */
		if (i + 1 < b && is_lower(c) && is_upper(cp[i + 1])) {
			int32_t lc = utf8proc_tolower(c), next = cp[i + 1];
			bool digraph_head = i == a + 1 && (lc == 'j' || lc == 0x017E) &&
					    strchr("LND", (int)(cp[a] < 128 ? cp[a] : '?')) && cp[a] != 0;
			/* "lJubav": a digraph typed with its second letter in capitals */
			bool digraph_inside = ((lc == 'l' || lc == 'n') && next == 'J') || (lc == 'd' && next == 0x017D);
			if (!digraph_head && !digraph_inside && camel_identifier(cp, a, b))
				return true;
		}
	}
	if (has_digit && has_letter && !is_acronym_number(cp, a, b))
		return true; /* mp3, H2O, x86_64, utf8 */
	if (accented && !distinct && !(b - a >= 3 && span_equals_ci(cp, a, a + 3, "kôd")))
		return true; /* café, José: accents of other languages; kôd (code) is Serbian */
	for (size_t k = 0; k < sizeof foreign_words / sizeof foreign_words[0]; k++)
		if (span_equals_ci(cp, a, b, foreign_words[k]))
			return !(word_all_caps(cp, a, b) && is_listed(acronym_words, N_ACRONYM_WORDS, cp, a, b));
	/* CD is a well-formed numeral (400) but in running text the compact disc: Serbian
	 * Cyrillic writes ЦД (73 of 75 in the catalogs) */
	if (is_roman(cp, a, b) && !span_equals_ci(cp, a, b, "cd")) {
		/* I, V, MI, VI, LI are also Serbian words (and, we, you, question particle) */
		bool ambiguous = span_equals_ci(cp, a, b, "i") || span_equals_ci(cp, a, b, "v") ||
				 span_equals_ci(cp, a, b, "mi") || span_equals_ci(cp, a, b, "vi") ||
				 span_equals_ci(cp, a, b, "li");
		if (!ambiguous)
			return b - a >= 2; /* lone C, D, L, M are letters: vitamin C -> витамин Ц */
		return !at_sentence_start(cp, a) && !caps_context(cp, n, a, b);
	}
	return false;
}

/* Write the Serbian word cp[a, b) in Cyrillic. */
static void word_to_cyr(struct mrl_buf *o, const int32_t *cp, size_t a, size_t b)
{
	size_t split_at = (size_t)-1, start = a;

	/* the negative prefix ne- may come before a listed prefix: nenadživljen */
	if (b - a > 2 && span_equals_ci(cp, a, a + 2, "ne"))
		start = a + 2;
	for (size_t k = 0; k < sizeof digraph_splits / sizeof digraph_splits[0]; k++) {
		size_t at = split_point(cp, a, b, digraph_splits[k]);
		if (at == (size_t)-1 && start != a)
			at = split_point(cp, start, b, digraph_splits[k]);
		if (at != (size_t)-1) {
			split_at = at;
			break;
		}
	}
	for (size_t i = a; i < b; i++) {
		int32_t c = cp[i], lc = utf8proc_tolower(c), next = i + 1 < b ? utf8proc_tolower(cp[i + 1]) : 0;
		bool upper = lc != c, split = i == split_at;
		int32_t cyr = 0, base, marks[4];
		int n_marks;

		if (!split && ((lc == 'l' && next == 'j') || (lc == 'n' && next == 'j') || (lc == 'd' && next == 0x017E))) {
			cyr = lc == 'l' ? 0x0459 : lc == 'n' ? 0x045A : 0x045F;
			mrl_buf_add_cp(o, upper ? utf8proc_toupper(cyr) : cyr);
			i++;
			continue;
		}
		if ((cyr = ligature_to_cyr(c))) {
			mrl_buf_add_cp(o, cyr);
			continue;
		}
		if ((cyr = lat_lower_to_cyr(lc))) {
			mrl_buf_add_cp(o, upper ? utf8proc_toupper(cyr) : cyr);
			continue;
		}
		/* an accented vowel (ȁ, ȃ, ...): Cyrillic base letter + the same marks */
		n_marks = split_accents(c, &base, marks);
		if (n_marks > 0 && (cyr = lat_lower_to_cyr(utf8proc_tolower(base)))) {
			mrl_buf_add_cp(o, base != utf8proc_tolower(base) ? utf8proc_toupper(cyr) : cyr);
			for (int m = 0; m < n_marks; m++)
				mrl_buf_add_cp(o, marks[m]);
			continue;
		}
		mrl_buf_add_cp(o, c); /* Cyrillic already, or a combining mark */
	}
}

static bool is_open_quote(int32_t c)
{
	return c == '"' || c == '\'' || c == 0x201E || c == 0x201C || c == 0x00AB || c == 0x2018 || c == 0x201A;
}

static bool is_close_quote(int32_t c)
{
	return c == '"' || c == '\'' || c == 0x201C || c == 0x201D || c == 0x00BB || c == 0x2019;
}

/* Chunks that stay Latin as a whole: URLs, e-mail addresses, dotted names (example.com, main.c). */
static bool chunk_stays_latin(const int32_t *cp, size_t a, size_t b)
{
	if (b - a >= 4 && span_equals_ci(cp, a, a + 4, "www."))
		return true;
	/* an absolute or home path, also quoted or in brackets: /etc/fstab, „~/.config“ */
	size_t p = a;
	while (p < b && (is_open_quote(cp[p]) || cp[p] == '(' || cp[p] == '['))
		p++;
	if (p + 1 < b && cp[p] == '~' && cp[p + 1] == '/')
		p++;
	if (p + 1 < b && cp[p] == '/' && (is_ascii_alnum(cp[p + 1]) || cp[p + 1] == '.'))
		return true;
	for (size_t i = a; i < b; i++) {
		if (cp[i] == ':' && i + 2 < b && cp[i + 1] == '/' && cp[i + 2] == '/')
			return true;
		if (cp[i] == '@' && i > a && i + 1 < b && is_ascii_alnum(cp[i - 1]) && is_ascii_alnum(cp[i + 1]))
			return true;
		/* name.ext: a dot between alphanumerics, a lower-case letter or digit after it,
		 * and at least two alphanumerics on one side (d.o.o. and "godine.Onda" are text) */
		if (cp[i] == '.' && i > a && i + 1 < b && is_ascii_alnum(cp[i - 1]) &&
		    ((cp[i + 1] >= 'a' && cp[i + 1] <= 'z') || (cp[i + 1] >= '0' && cp[i + 1] <= '9'))) {
			bool long_left = i >= a + 2 && is_ascii_alnum(cp[i - 2]);
			bool long_right = i + 2 < b && is_ascii_alnum(cp[i + 2]);
			bool serbian_left = false; /* Prevučeno.txt: a Serbian name, only its extension stays */
			for (size_t j = a; j < i; j++)
				serbian_left |= cp[j] >= 128 && is_letter(cp[j]);
			if ((long_left || long_right) && !serbian_left)
				return true;
		}
	}
	return false;
}

/* Length of a printf-style conversion at cp[i] == '%' (%s, %5.2f, %lld, %(name)s, %%), 0 if none. */
static size_t printf_spec_len(const int32_t *cp, size_t i, size_t b)
{
	size_t k = i + 1;
	if (k < b && cp[k] == '%')
		return 2;
	if (k < b && cp[k] == '(') {
		k++;
		while (k < b && (is_ascii_alnum(cp[k]) || cp[k] == '_'))
			k++;
		if (k >= b || cp[k] != ')')
			return 0;
		k++;
	}
	/* a positional argument: %1$s, %2$d */
	size_t d = k;
	while (d < b && cp[d] >= '0' && cp[d] <= '9')
		d++;
	if (d > k && d < b && cp[d] == '$')
		k = d + 1;
	while (k < b && cp[k] < 128 && strchr("-+ #0'I", (int)cp[k]) && cp[k])
		k++;
	while (k < b && ((cp[k] >= '0' && cp[k] <= '9') || cp[k] == '*'))
		k++;
	if (k < b && cp[k] == '.') {
		k++;
		while (k < b && ((cp[k] >= '0' && cp[k] <= '9') || cp[k] == '*'))
			k++;
	}
	while (k < b && cp[k] < 128 && cp[k] && strchr("hlLqjzt", (int)cp[k]))
		k++;
	/* any ASCII letter ends a conversion: printf's diouxXeEfFgGaAcspnm and strftime's
	 * %a %b %H %M %Y %F %R ... (with the E/O modifiers), which catalogs use as much */
	if (k < b && (cp[k] == 'E' || cp[k] == 'O') && k + 1 < b && cp[k + 1] < 128 && isalpha((int)cp[k + 1]))
		k++;
	if (k < b && cp[k] < 128 && isalpha((int)cp[k]))
		return k + 1 - i;
	/* the last flag or length letter was the conversion itself: %I, %l, %h, %j, %t, %z */
	if (k > i + 1 && cp[k - 1] < 128 && isalpha((int)cp[k - 1]))
		return k - i;
	return 0;
}

/* Length of a command-line option at cp[i] == '-' (-h, --help, --output=FILE, -immed), 0 if none.
 * It must open its chunk or follow an opening quote or bracket, so that a hyphen inside
 * text (32-bitni, %s-a) is not taken for one; a third dash (-----Originalna) is a rule. */
static size_t option_len(const int32_t *cp, size_t a, size_t i, size_t b)
{
	size_t k = i + 1;
	if (i > a && !(cp[i - 1] < 128 && strchr("\"'([", (int)cp[i - 1]) && cp[i - 1]) && cp[i - 1] != 0x201E &&
	    cp[i - 1] != 0x201C && cp[i - 1] != 0x00BB && cp[i - 1] != 0x00AB)
		return 0;
	if (k < b && cp[k] == '-')
		k++;
	if (k >= b || cp[k] >= 128 || !isalpha((int)cp[k]))
		return 0;
	while (k < b && (is_ascii_alnum(cp[k]) || cp[k] == '-' || cp[k] == '_'))
		k++;
	if (k < b && cp[k] == '=') { /* --output=FILE: the value stays too */
		k++;
		while (k < b && (is_ascii_alnum(cp[k]) || (cp[k] < 128 && cp[k] && strchr("-_./:,", (int)cp[k]))))
			k++;
	}
	if (k < b && is_letter(cp[k])) /* a non-ASCII letter: Serbian text after a dash */
		return 0;
	return k - i;
}

/* Letter pairs common in English and rare in Serbian words (measured on the catalogs' quoted words). */
static bool looks_english(const int32_t *cp, size_t a, size_t b)
{
	if (b - a >= 3 && utf8proc_tolower(cp[b - 1]) == 'e' && !strchr("aeiou", (int)utf8proc_tolower(cp[b - 2])) &&
	    cp[b - 2] < 128 && strchr("aeiou", (int)utf8proc_tolower(cp[b - 3])) && cp[b - 3] < 128 &&
	    !strchr("jrlnvdtć", (int)cp[b - 2]))
		return true; /* a silent final e after vowel + consonant: none, size, make, close */
	static const char *const pairs[] = {"th", "sh", "ch", "ck", "ee", "oo", "ea", "ou", "ue", "ai", "ay", "ey",
					    "ow", "ph", "gh", "wh"};
	if (b - a >= 3 && span_equals_ci(cp, a, a + 3, "lib"))
		return true;
	for (size_t i = a; i + 1 < b; i++) {
		if (utf8proc_tolower(cp[i]) == utf8proc_tolower(cp[i + 1]) && cp[i] < 128 && is_letter(cp[i]) && !strchr("aeiou", (int)cp[i]))
			return true; /* a doubled consonant */
		for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++)
			if (utf8proc_tolower(cp[i]) == pairs[k][0] && utf8proc_tolower(cp[i + 1]) == pairs[k][1])
				return true;
	}
	return false;
}

/* Length of a quoted setting or program name at cp[i] (just after an opening quote, up to the
 * closing one), 0 if the quoted text is not one: only ASCII lower case, digits, `-` and `_`.
 * Hyphenated or underscored ones stay Latin („edge-scrolling“, „prefer_plain“); a single word
 * stays when it looks English or ends in a consonant („none“, „cdrecord“), since Serbian words
 * quoted as values („minuti“, „sati“) mostly end in a vowel. */
static size_t quoted_token_len(const int32_t *cp, size_t a, size_t i, size_t b)
{
	size_t k = i;
	bool joined = false;
	if (i == a || !is_open_quote(cp[i - 1]))
		return 0;
	while (k < b && ((cp[k] >= 'a' && cp[k] <= 'z') || (cp[k] >= '0' && cp[k] <= '9') || cp[k] == '-' ||
			 cp[k] == '_')) {
		joined |= k > i && (cp[k] == '-' || cp[k] == '_');
		k++;
	}
	if (k == i) { /* a quoted protocol word in capitals: „NULL“, „REPORT“, „XSETTINGS“ */
		while (k < b && ((cp[k] >= 'A' && cp[k] <= 'Z') || cp[k] == '_' || (k > i && cp[k] >= '0' && cp[k] <= '9')))
			k++;
		return k - i >= 2 && k < b && is_close_quote(cp[k]) ? k - i : 0;
	}
	if (k >= b || !is_close_quote(cp[k]) || !(cp[i] >= 'a' && cp[i] <= 'z'))
		return 0;
	if (joined || looks_english(cp, i, k) || !strchr("aeiou", (int)cp[k - 1]))
		return k - i;
	if (k - i >= 4 && cp[k - 1] == 'e' && !strchr("aeiou", (int)cp[k - 2]) && strchr("aeiou", (int)cp[k - 3]))
		return k - i; /* none, make, close: a silent final e (Serbian values rarely end so when quoted) */
	return 0;
}

/* Length of markup at cp[i] == '<' or '&': a known tag (<b>, </i>, <span, <br/>) or an entity (&amp;, &#39;). */
static size_t markup_len(const int32_t *cp, size_t i, size_t b)
{
	size_t k = i + 1;
	if (cp[i] == '&') {
		if (k < b && cp[k] == '#')
			k++;
		while (k < b && is_ascii_alnum(cp[k]))
			k++;
		return k > i + 1 && k < b && cp[k] == ';' ? k + 1 - i : 0;
	}
	if (k < b && cp[k] == '/')
		k++;
	if (k >= b || !((cp[k] >= 'a' && cp[k] <= 'z') || (cp[k] >= 'A' && cp[k] <= 'Z')))
		return 0;
	while (k < b && is_ascii_alnum(cp[k]))
		k++;
	if (k < b && cp[k] == '/')
		k++;
	/* known tag names only: <nepoznato> is text in angle brackets */
	static const char *const tags[] = {"a", "b", "i", "u", "s", "p", "em", "tt", "big", "small", "sub", "sup", "span",
					   "img", "div", "br", "font", "table", "td", "tr", "li", "ul", "ol", "code"};
	size_t name = i + 1 + (cp[i + 1] == '/'), name_end = k > name && cp[k - 1] == '/' ? k - 1 : k;
	if (!is_listed(tags, sizeof tags / sizeof tags[0], cp, name, name_end))
		return 0;
	if (k < b && cp[k] == '>')
		return k + 1 - i;
	return k == b ? k - i : 0; /* attributes follow after a space */
}

/* Length of a markup attribute at cp[i] (href="...", title="): its name, and its value too
 * where the value is an address (href, src), 0 if none. */
static size_t attribute_len(const int32_t *cp, size_t a, size_t i, size_t b)
{
	static const char *const address_attrs[] = {"href", "src", "xmlns", "class", "id"};
	size_t k = i;
	if (i != a)
		return 0;
	while (k < b && cp[k] >= 'a' && cp[k] <= 'z')
		k++;
	if (k == i || k + 1 >= b || cp[k] != '=' || (cp[k + 1] != '"' && cp[k + 1] != '\''))
		return 0;
	return is_listed(address_attrs, sizeof address_attrs / sizeof address_attrs[0], cp, i, k) ? b - i : k + 2 - i;
}

/* Length of a file extension at cp[i] == '.' (Slika.png, (.csv), .source), 0 if none: a dot
 * not after a one-letter word (d.o.o.), then a lower-case ASCII letter and 1..5 more
 * letters or digits, then no letter. */
static size_t extension_len(const int32_t *cp, size_t a, size_t i, size_t b)
{
	size_t k = i + 1;
	if (i > a + 1 && is_letter(cp[i - 1]) && !is_letter(cp[i - 2]))
		return 0;
	if (i == a + 1 && is_letter(cp[i - 1]))
		return 0;
	if (k >= b || !(cp[k] >= 'a' && cp[k] <= 'z'))
		return 0;
	while (k < b && is_ascii_alnum(cp[k]) && k - i <= 7)
		k++;
	if (k - i < 3 || k - i > 7 || (k < b && is_letter(cp[k])))
		return 0;
	return k - i;
}

/* Length of a brace placeholder at cp[i] == '{' ({0}, {name}, {0:.2f}, {}), 0 if none. */
static size_t brace_len(const int32_t *cp, size_t i, size_t b)
{
	size_t k = i + 1;
	while (k < b && cp[k] != '}' &&
	       (is_ascii_alnum(cp[k]) || (cp[k] < 128 && cp[k] && strchr("_.:!<>^,+#-[]", (int)cp[k]))))
		k++;
	return k < b && cp[k] == '}' ? k + 1 - i : 0;
}

static void chunk_to_cyr(struct mrl_buf *o, const int32_t *cp, size_t n, size_t a, size_t b)
{
	size_t i = a;
	while (i < b) {
		size_t k;
		if (cp[i] == '%' && (k = printf_spec_len(cp, i, b))) {
			ob_put_range(o, cp, i, i + k);
			i += k;
			continue;
		}
		if (((cp[i] == '<' || cp[i] == '&') && (k = markup_len(cp, i, b))) || (k = attribute_len(cp, a, i, b)) ||
		    (cp[i] == '.' && (k = extension_len(cp, a, i, b))) || (k = quoted_token_len(cp, a, i, b)) ||
		    ((cp[i] == 0x00B0 || cp[i] == 0x02DA) && i + 1 < b && (cp[i + 1] == 'C' || cp[i + 1] == 'F' ||
		     cp[i + 1] == 'R' || cp[i + 1] == 'K') && (k = 2))) {
			ob_put_range(o, cp, i, i + k); /* °C, °F: the unit letter stays */
			i += k;
			continue;
		}
		if (cp[i] == '/' && i > a && cp[i - 1] == '>' && i + 1 < b && is_ascii_alnum(cp[i + 1])) {
			for (k = i; k < b && cp[k] != '<'; k++) /* <b>/etc/fstab</b>: a path in markup */
				;
			ob_put_range(o, cp, i, k);
			i = k;
			continue;
		}
		if (cp[i] == '-' && (k = option_len(cp, a, i, b))) {
			ob_put_range(o, cp, i, i + k);
			i += k;
			continue;
		}
		if (cp[i] == '{' && (k = brace_len(cp, i, b))) {
			ob_put_range(o, cp, i, i + k);
			i += k;
			continue;
		}
		if (!is_word_char(cp[i])) {
			mrl_buf_add_cp(o, cp[i++]);
			continue;
		}
		size_t end = i, hyph_end;
		while (end < b && is_word_char(cp[end]))
			end++;
		/* a hyphenated word (e-mail, Wi-Fi) may be foreign as a whole */
		hyph_end = end;
		while (hyph_end + 1 < b && cp[hyph_end] == '-' && is_word_char(cp[hyph_end + 1])) {
			hyph_end++;
			while (hyph_end < b && is_word_char(cp[hyph_end]))
				hyph_end++;
		}
		if (hyph_end != end) {
			bool listed = false;
			for (size_t f = 0; f < sizeof foreign_words / sizeof foreign_words[0]; f++)
				listed |= span_equals_ci(cp, i, hyph_end, foreign_words[f]);
			/* Wi-Fi: one foreign part makes the whole compound foreign */
			for (size_t k = i; k < hyph_end && !listed; k++)
				listed = is_letter(cp[k]) && classify(cp[k]) == LK_FOREIGN;
			if (listed) {
				ob_put_range(o, cp, i, hyph_end);
				i = hyph_end;
				continue;
			}
		}
		if (word_stays_latin(cp, n, a, i, end))
			ob_put_range(o, cp, i, end);
		else
			word_to_cyr(o, cp, i, end);
		i = end;
	}
}

int task_translit_lat2cyr(const char *s, size_t len, char **out, size_t *out_len, struct mrl_err *err)
{
	struct mrl_buf b = MRL_BUF_INIT;
	int32_t *cp = NULL;
	size_t n = 0, i = 0;
	int rc;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	rc = decode_nfc(s, len, &cp, &n, err);
	if (rc)
		return rc;
	while (i < n) {
		size_t end = i;
		if (is_space(cp[i])) {
			mrl_buf_add_cp(&b, cp[i++]);
			continue;
		}
		while (end < n && !is_space(cp[end]))
			end++;
		if (chunk_stays_latin(cp, i, end))
			ob_put_range(&b, cp, i, end);
		else
			chunk_to_cyr(&b, cp, n, i, end);
		i = end;
	}
	free(cp);
	return ob_finish(&b, out, out_len, err);
}

task_translit_fn task_translit_find(const char *transform)
{
	if (!transform)
		return NULL;
	if (strcmp(transform, "sr-Cyrl-to-Latn") == 0)
		return task_translit_cyr2lat;
	if (strcmp(transform, "sr-Latn-to-Cyrl") == 0)
		return task_translit_lat2cyr;
	return NULL;
}
