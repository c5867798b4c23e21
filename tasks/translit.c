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
 * Latin -> Cyrillic keeps the Latin copy of a keyword list (zip;tar;zip;tar;extract;)
 * as it is, splits the rest into whitespace-separated chunks, keeps
 * whole chunks that are URLs, e-mail addresses or dotted names, keeps format
 * codes (%s, %(name)d, {0}) and words that are not Serbian (identifiers, Roman
 * numerals, foreign words), and converts the rest letter by letter, joining
 * lj/nj/dž into one letter except after the prefixes listed in digraph_splits[].
 * docs/transliteration.md states every rule; keep the two in step.
 */
#include "tasks/translit.h"

#include "common/buf.h"
#include "common/utf8.h"
#include "tasks/translit_int.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
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
	"shift", "ctrl", "alt", "enter", "esc", "escape", "backspace", "home", "end", "del", "space", /* keys: Ctrl+Enter, Home/End */
	"or", /* the search operator (and is listed above) */
	"sans", "monospace", "bold", /* font descriptions: „Sans 12“, „Monospace Bold 14“ */
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
	/* 400..999 without thousands (DVI, DC, CDX) are acronyms: Serbian text numbers centuries,
	 * rulers and chapters below 400 and years from M on (DVI -> ДВИ, 3 of 3 in the catalogs) */
	if (n == 0 && i < b && (cp[i] == 'D' || (cp[i] == 'C' && i + 1 < b && (cp[i + 1] == 'D' || cp[i + 1] == 'M'))))
		return false;
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

/* Does the Serbian-looking word cp[a, b) stay in Latin script? */
static bool word_stays_latin(const int32_t *cp, size_t n, size_t chunk_a, size_t a, size_t b)
{
	bool has_digit = false, has_letter = false, accented = false, distinct = false;

	if (a > chunk_a && (cp[a - 1] == '$' || cp[a - 1] == '\\' || cp[a - 1] == '#' || cp[a - 1] == '@'))
		return true; /* $HOME, \alpha, #include, @user */
	if (tl_is_kept_acronym(cp, a, b))
		return true;
	if (tl_is_identifier_underscore(cp, a, b) || tl_is_unit_symbol(cp, a, b) || tl_is_unit_after_number(cp, n, a, b) ||
	    tl_is_unit_alias(cp, n, a, b) || tl_is_shortcut_key(cp, a, b) || tl_is_zone_abbrev(cp, a, b) ||
	    tl_in_code_list(cp, n, a, b) || tl_is_name_code(cp, n, a, b))
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
			if (!digraph_head && !digraph_inside && tl_camel_identifier(cp, a, b))
				return true;
		}
	}
	if (has_digit && has_letter && !tl_is_acronym_number(cp, a, b))
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
		/* after a comma a numeral would be cut from its name: Amapa, I Para (and) */
		size_t p = a;
		while (p > 0 && is_space(cp[p - 1]))
			p--;
		if (p > 0 && cp[p - 1] == ',')
			return false;
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

/* Chunks that stay Latin as a whole: URLs, e-mail addresses, dotted names (example.com, main.c). */
static bool chunk_stays_latin(const int32_t *cp, size_t a, size_t b)
{
	if (b - a >= 4 && span_equals_ci(cp, a, a + 4, "www."))
		return true;
	/* an absolute or home path, also quoted or in brackets: /etc/fstab, „~/.config“ */
	size_t p = a;
	while (p < b && (tl_is_open_quote(cp[p]) || cp[p] == '(' || cp[p] == '['))
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

/* A Serbian case ending written after a hyphen onto a foreign word or acronym: XZ-om, NTFS-a. */
static bool is_case_ending(const int32_t *cp, size_t a, size_t b)
{
	static const char *const endings[] = {"a", "u", "e", "om", "em", "ov", "ova", "ovi", "ove", "ovima", "ja", "ju", "je", "jem"};
	return is_listed(endings, sizeof endings / sizeof endings[0], cp, a, b);
}

static void chunk_to_cyr(struct mrl_buf *o, const int32_t *cp, size_t n, size_t a, size_t b)
{
	size_t i = a;
	while (i < b) {
		size_t k;
		if (cp[i] == '%' && (k = tl_printf_spec_len(cp, i, b))) {
			/* up to three letters written onto the code are part of the format: %FT%T,
			 * %ud%02uh (days, hours) — not a Serbian ending, which takes a hyphen (%s-a) */
			size_t l = i + k;
			while (l < b && l - (i + k) < 4 && cp[l] < 128 && isalpha((int)cp[l]))
				l++;
			if (l > i + k && l - (i + k) <= 3 && (l == b || !is_letter(cp[l])))
				k = l - i;
			ob_put_range(o, cp, i, i + k);
			i += k;
			continue;
		}
		if (((cp[i] == '<' || cp[i] == '&') && (k = tl_markup_len(cp, i, b))) || (k = tl_attribute_len(cp, a, i, b)) ||
		    (k = tl_quoted_token_len(cp, a, i, b)) || (cp[i] == '.' && (k = tl_extension_len(cp, a, i, b))) ||
		    (k = tl_mime_or_manpage_len(cp, a, i, b)) ||
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
		if (cp[i] == '-' && (k = tl_option_len(cp, a, i, b))) {
			ob_put_range(o, cp, i, i + k);
			i += k;
			continue;
		}
		if (is_ascii_alnum(cp[i]) && (i == a || !is_ascii_alnum(cp[i - 1])) && (k = tl_hex_bytes_len(cp, i, b))) {
			ob_put_range(o, cp, i, i + k); /* 80:00:00:48:fe:80: a hardware address */
			i += k;
			continue;
		}
		if (cp[i] == '{' && (k = tl_brace_len(cp, i, b))) {
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
			/* Wi-Fi: one foreign part makes the whole compound foreign; but an axis or
			 * variable x, y, z before one lower-case part (x-osa, Y-p_opuna) is a name in a
			 * Serbian compound (x-udisks-auth, W-SU stay whole), and a Serbian case
			 * ending after a hyphen (XZ-om, NTFS-a) is converted */
			size_t last = hyph_end;
			while (last > i && cp[last - 1] != '-')
				last--;
			bool ending = is_case_ending(cp, last, hyph_end) && last - 1 > i;
			bool lone_letter = end == i + 1 && cp[i] < 128 && strchr("xyzXYZ", (int)cp[i]) && cp[i] && last == end + 1 &&
					   (is_lower(cp[last]) || cp[last] == '_');
			for (size_t k = i; k < (ending ? last - 1 : hyph_end) && !listed && !lone_letter; k++)
				listed = is_letter(cp[k]) && classify(cp[k]) == LK_FOREIGN;
			if (listed && ending) {
				ob_put_range(o, cp, i, last);
				word_to_cyr(o, cp, last, hyph_end);
				i = hyph_end;
				continue;
			}
			if (lone_letter && classify(cp[i]) == LK_FOREIGN) {
				ob_put_range(o, cp, i, end);
				i = end;
				continue;
			}
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
	size_t n = 0, i = 0, latin_from;
	int rc;

	*out = NULL;
	if (out_len)
		*out_len = 0;
	rc = decode_nfc(s, len, &cp, &n, err);
	if (rc)
		return rc;
	latin_from = tl_keyword_latin_from(cp, n);
	while (i < latin_from) {
		size_t end = i;
		if (is_space(cp[i])) {
			mrl_buf_add_cp(&b, cp[i++]);
			continue;
		}
		while (end < latin_from && !is_space(cp[end]))
			end++;
		if (chunk_stays_latin(cp, i, end))
			ob_put_range(&b, cp, i, end);
		else
			chunk_to_cyr(&b, cp, n, i, end);
		i = end;
	}
	ob_put_range(&b, cp, latin_from, n); /* the Latin copy of a keyword list */
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
