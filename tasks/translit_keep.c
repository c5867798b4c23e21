/* translit_keep.c — which tokens of Serbian Latin text stay Latin in Cyrillic.
 *
 * Latin -> Cyrillic (translit.c) asks these recognisers about each chunk and word:
 * format codes, command-line options, identifiers, paths, markup, quoted settings,
 * unit symbols. The rules were measured on 19,738 message pairs of Debian's sr and
 * sr@latin catalogs (ci/translit-catalogs.sh): a rule keeps a token Latin where the
 * Cyrillic catalogs keep it Latin, and leaves it to transliteration where they write
 * it in Cyrillic (acronyms: VPN -> ВПН). docs/transliteration.md lists every rule.
 */
#include "tasks/translit_int.h"

#include <ctype.h>

/* Does the word cp[a, b) with an underscore name a program's identifier, not a menu label
 * with its mnemonic (_Otvori, U_ključi, Pri_kaži, Indijski_okean in time zone names)?
 * Identifiers: all capitals with an inner `_` (VIDEO_TS), two or more inner `_` in ASCII
 * lower case (use_custom_default_size), or one inner `_` between ASCII lower-case parts
 * of four letters or more (input_token, mime_type) or before the C suffix _t (time_t).
 * A quoted one („prefer_plain“) is decided in tl_quoted_token_len. */
bool tl_is_identifier_underscore(const int32_t *cp, size_t a, size_t b)
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
	if (!has_lower) /* VIDEO_TS; but P_GP, H_TTPS: a mnemonic after the first letter of an acronym */
		return first - a >= 2;
	if (!ascii_lower)
		return false;
	if (n_inner >= 2)
		return true;
	return (first - a >= 4 && b - last - 1 >= 4) || (first - a >= 3 && b - last - 1 == 1 && cp[last + 1] == 't');
}

/* Unit symbols that Serbian Cyrillic text keeps in Latin (measured on the catalogs): bytes and
 * bits with their decimal and binary prefixes (MB, GiB, kb), hertz (Hz, MHz) and decibels (dB). */
bool tl_is_unit_symbol(const int32_t *cp, size_t a, size_t b)
{
	static const char *const units[] = {"Hz", "kHz", "MHz", "GHz", "THz", "dB", "dBm", "kbit", "Mbit", "Gbit", "Tbit"};
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
			return tl_printf_spec_len(cp, k - 1, n) == j - (k - 1);
	return false;
}

/* Symbols of measures (SI and imperial) that Serbian Cyrillic writes in Latin where they are
 * symbols, not words: after a number (%s m, 5 s.), in an alias list (metar,metra,m,m) or
 * with an exponent (m², cm³). Compared case-sensitively. Several are also Serbian words or
 * abbreviations (s, t, g, m), so outside those three places they are text; mi (mile; Serbian
 * "we") and st (stone; Serbian "st." for stepen, strana) are left out: the catalogs write both
 * ways. */
static const char *const measure_units[] = {
	"m", "g", "l", "t", "s", "b", "B", "K", "in", "lb", "oz", "pt", "ft", "ftm", "gal", "ha",
	"cb", "nm", "um", "\xce\xbcm", "yd", "dm", "km", "cm", "mm", "mg", "kg", "ml", "ul",
	"\xce\xbcl", "ms", "\xce\xbcs", "ns", "dpi", "px",
};

static bool span_is(const int32_t *cp, size_t a, size_t b, const char *w)
{
	size_t i = a, off = 0, wl = strlen(w);
	while (off < wl) {
		utf8proc_int32_t c;
		utf8proc_ssize_t r = utf8proc_iterate((const utf8proc_uint8_t *)w + off, (utf8proc_ssize_t)(wl - off), &c);
		if (r <= 0 || i >= b || cp[i] != c)
			return false;
		off += (size_t)r;
		i++;
	}
	return i == b;
}

static bool is_measure_unit(const int32_t *cp, size_t a, size_t b)
{
	return tl_listed_exact(measure_units, sizeof measure_units / sizeof measure_units[0], cp, a, b);
}

bool tl_listed_exact(const char *const *list, size_t n, const int32_t *cp, size_t a, size_t b)
{
	for (size_t k = 0; k < n; k++)
		if (span_is(cp, a, b, list[k]))
			return true;
	return false;
}

/* Is the word ending at b followed by no further word: the end of the text or closing
 * punctuation, after optional space (%s s, 5 s., 20 km)? */
static bool ends_phrase(const int32_t *cp, size_t n, size_t b)
{
	if (b < n && (cp[b] == 0x00B2 || cp[b] == 0x00B3))
		return true;
	while (b < n && is_space(cp[b]))
		b++;
	return b == n || (cp[b] < 128 && cp[b] && strchr(".,;:!?)]/", (int)cp[b]));
}

/* A measure unit in a comma-separated alias list (gnome-calculator's metar,metra,metara,m,m): the
 * list gives the Serbian abbreviation first and the international symbol last, so a unit stays
 * Latin unless the same item comes again later in the list (m,m -> м,m; cm,cm -> цм,cm). */
bool tl_is_unit_alias(const int32_t *cp, size_t n, size_t a, size_t b)
{
	size_t e = b;
	if (a == 0 || cp[a - 1] != ',' || !is_measure_unit(cp, a, b))
		return false;
	while (e < n && (cp[e] == 0x00B2 || cp[e] == 0x00B3))
		e++;
	if (e < n && cp[e] != ',' && !is_space(cp[e]))
		return false;
	for (size_t i = e; i < n && cp[i] == ','; ) { /* later items of the same list */
		size_t j = i + 1;
		while (j < n && cp[j] != ',' && !is_space(cp[j]))
			j++;
		if (j - (i + 1) == e - a && memcmp(cp + i + 1, cp + a, (e - a) * sizeof *cp) == 0)
			return false;
		i = j;
	}
	return true;
}

/* A unit symbol after a number or format code (%s kg, 5 mm, 24 bpp, 100 MB/s), the `s` or `h` of a rate
 * (%s/s, 5 km/h), or a unit symbol in parentheses (Kelvin (K)). */
bool tl_is_unit_after_number(const int32_t *cp, size_t n, size_t a, size_t b)
{
	static const char *const units[] = {"kg", "mg", "km", "cm", "mm", "ml", "ms", "\xce\xbcs", "K", "B", "dpi", "px",
	                                    "bpp", "fps"}; /* bits per pixel, frames per second */
	/* a text that is nothing but a unit symbol labels the unit: „ms“, „s“ */
	if (a == 0 && b == n && is_measure_unit(cp, a, b))
		return true;
	/* a length or area with its exponent: m², cm³ */
	if (b < n && (cp[b] == 0x00B2 || cp[b] == 0x00B3) && is_measure_unit(cp, a, b))
		return true;
	if (is_measure_unit(cp, a, b) && ends_phrase(cp, n, b) && after_number(cp, n, a))
		return true;
	if ((span_is(cp, a, b, "s") || span_is(cp, a, b, "sec")) && a >= 2 && cp[a - 1] == '/' && after_number(cp, n, a - 1))
		return true; /* %s/s, 5/sec */
	if ((span_is(cp, a, b, "s") || span_is(cp, a, b, "h")) && a >= 2 && cp[a - 1] == '/') { /* 5 km/h, %.1f m/s */
		size_t w = a - 1;
		while (w > 0 && is_ascii_alnum(cp[w - 1]))
			w--;
		if (w < a - 1 && is_measure_unit(cp, w, a - 1) && after_number(cp, n, w))
			return true;
	}
	if (b - a == 1 && cp[a] == 's' && a >= 2 && cp[a - 1] == '/') { /* MB/s, kb/s */
		size_t w = a - 1;
		while (w > 0 && is_ascii_alnum(cp[w - 1]))
			w--;
		return w < a - 1 && (tl_is_unit_symbol(cp, w, a - 1) || span_equals_ci(cp, w, a - 1, "b"));
	}
	/* a symbol in parentheses after the unit's name or a quantity: Kelvin (K), stopama (ft); a
	 * one-letter lower-case one is left out, it labels a menu item as often: Oduzimanje (l) */
	if (a >= 3 && cp[a - 1] == '(' && cp[a - 2] == ' ' && b < n && cp[b] == ')' &&
	    (span_is(cp, a, b, "K") || (b - a >= 2 && (is_measure_unit(cp, a, b) ||
	                                               tl_listed_exact(units, sizeof units / sizeof units[0], cp, a, b)))))
		return true;
	/* exact case: a capital K or B is the symbol (kelvin, byte), km/KM differ */
	if (tl_listed_exact(units, sizeof units / sizeof units[0], cp, a, b))
		return after_number(cp, n, a);
	return false;
}

/* A word with a capital after a lower-case letter: a program's identifier when it opens with two
 * lower-case letters or more (brojPoruka, maxLen) or looks English (iPhone, TrueType, NumLock).
 * Brand names spelt the Serbian way are transliterated like the catalogs do: iPod -> иПод,
 * vKartu -> вКарту, VebDAV -> ВебДАВ, IksML -> ИксМЛ. */
bool tl_camel_identifier(const int32_t *cp, size_t a, size_t b)
{
	/* a j between a vowel and a lower-case consonant (GroupVajz, stepenFarenhajta) is Serbian
	 * spelling of a sound English writes otherwise: a transliterated brand or a Serbian word */
	for (size_t i = a + 1; i + 1 < b; i++)
		if (cp[i] == 'j' && strchr("aeiou", (int)(cp[i - 1] < 128 ? cp[i - 1] : 'j')) &&
		    cp[i + 1] >= 'a' && cp[i + 1] <= 'z' && !strchr("aeiou", (int)cp[i + 1]))
			return false;
	if (b - a >= 3 && is_lower(cp[a]) && is_lower(cp[a + 1]))
		return true;
	return tl_looks_english(cp, a, b);
}

/* Acronyms that the catalogs keep Latin in most of their uses, unlike protocol and product
 * acronyms (HTTP 11 of 16 uses, LDAP 26 of 30, HTML 44 of 47, DNS, TLS, VPN: all transliterated).
 * They name a standard by its own spelling: file systems (NTFS, FAT, UDF, LUKS, XFS, ISO9660),
 * cryptographic and document standards (PKCS, CID fonts), the URI and the CRLF line end. */
bool tl_is_kept_acronym(const int32_t *cp, size_t a, size_t b)
{
	static const char *const kept[] = {"NTFS", "FAT", "UDF", "LUKS", "XFS", "ISO9660", "PKCS", "CID", "URI",
					   "CRLF"};
	return tl_listed_exact(kept, sizeof kept / sizeof kept[0], cp, a, b);
}

bool tl_is_open_quote(int32_t c)
{
	return c == '"' || c == '\'' || c == 0x201E || c == 0x201C || c == 0x00AB || c == 0x2018 || c == 0x201A;
}

bool tl_is_close_quote(int32_t c)
{
	return c == '"' || c == '\'' || c == 0x201C || c == 0x201D || c == 0x00BB || c == 0x2019;
}

/* Length of a printf-style conversion at cp[i] == '%' (%s, %5.2f, %lld, %(name)s, %%), 0 if none. */
size_t tl_printf_spec_len(const int32_t *cp, size_t i, size_t b)
{
	size_t k = i + 1;
	if (k < b && cp[k] == '%') /* %%, and %%s: a format code written for a second printf */
		return k + 1 < b && cp[k + 1] < 128 && isalpha((int)cp[k + 1]) ? 3 : 2;
	if (k + 1 < b && cp[k] == ':') { /* GNU strftime's numeric time zone: %:z, %::z, %:::z */
		while (k < b && cp[k] == ':' && k - i <= 3)
			k++;
		return k < b && cp[k] == 'z' ? k + 1 - i : 0;
	}
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
size_t tl_option_len(const int32_t *cp, size_t a, size_t i, size_t b)
{
	size_t k = i + 1;
	if (i > a && !(cp[i - 1] < 128 && strchr("\"'([", (int)cp[i - 1]) && cp[i - 1]) && cp[i - 1] != 0x201E &&
	    cp[i - 1] != 0x201C && cp[i - 1] != 0x00BB && cp[i - 1] != 0x00AB)
		return 0;
	if (i > a && cp[i - 1] == 0x201C) /* “ closing a Serbian „: „FreeType“-a is a case ending */
		for (size_t j = a; j + 1 < i; j++)
			if (cp[j] == 0x201E)
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
bool tl_looks_english(const int32_t *cp, size_t a, size_t b)
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
		if (cp[i] >= 'a' && cp[i] <= 'z' && utf8proc_tolower(cp[i + 1]) == cp[i] && !strchr("aeiou", (int)cp[i]))
			return true; /* a doubled consonant (CardDAV); in capitals (PPPoE) an acronym */
		for (size_t k = 0; k < sizeof pairs / sizeof pairs[0]; k++)
			if (utf8proc_tolower(cp[i]) == pairs[k][0] && utf8proc_tolower(cp[i + 1]) == pairs[k][1])
				return true;
	}
	return false;
}

/* Length of a quoted setting or program name at cp[i] (just after an opening quote, up to the
 * closing one), 0 if the quoted text is not one: only ASCII lower case, digits, `-`, `_`, `=`, `,`
 * and `/` (a `/` only together with one of `-_=`: „onload/tree_view“, not „slobodan/zauzet“).
 * Hyphenated or underscored ones stay Latin („edge-scrolling“, „prefer_plain“); a single word
 * stays when it looks English or ends in a consonant („none“, „cdrecord“), since Serbian words
 * quoted as values („minuti“, „sati“) mostly end in a vowel. */
size_t tl_quoted_token_len(const int32_t *cp, size_t a, size_t i, size_t b)
{
	size_t k = i;
	bool joined = false;
	if (i == a || !tl_is_open_quote(cp[i - 1]))
		return 0;
	if (cp[i] == '.' && i + 1 < b && cp[i + 1] >= 'a' && cp[i + 1] <= 'z') { /* a hidden file: „.folders“, „.eog-plugin“ */
		for (k = i + 1; k < b && (is_ascii_alnum(cp[k]) || cp[k] == '-' || cp[k] == '_' || cp[k] == '.'); k++)
			;
		return k < b && tl_is_close_quote(cp[k]) ? k - i : 0;
	}
	while (k < b && ((cp[k] >= 'a' && cp[k] <= 'z') || (cp[k] >= '0' && cp[k] <= '9') || cp[k] == '-' ||
			 cp[k] == '_' || cp[k] == '=' || ((cp[k] == ',' || cp[k] == '/') && k > i))) {
		joined |= k > i && (cp[k] == '-' || cp[k] == '_' || cp[k] == '=');
		k++;
	}
	if (k == i) { /* a quoted protocol word in capitals: „NULL“, „REPORT“, „XSETTINGS“ */
		while (k < b && ((cp[k] >= 'A' && cp[k] <= 'Z') || cp[k] == '_' || (k > i && cp[k] >= '0' && cp[k] <= '9') ||
				 (k > i && cp[k] == ',' && k + 1 < b && cp[k + 1] >= 'A' && cp[k + 1] <= 'Z')))
			k++;
		return k - i >= 2 && k < b && tl_is_close_quote(cp[k]) ? k - i : 0;
	}
	if (k >= b || !tl_is_close_quote(cp[k]) || !(cp[i] >= 'a' && cp[i] <= 'z'))
		return 0;
	for (size_t j = i; j < k && !joined; j++) /* „onload/tree_view“ stays, „slobodan/zauzet“ is text */
		if (cp[j] == '/')
			return 0;
	if (joined || tl_looks_english(cp, i, k) || !strchr("aeiou", (int)cp[k - 1]))
		return k - i;
	if (k - i >= 4 && cp[k - 1] == 'e' && !strchr("aeiou", (int)cp[k - 2]) && strchr("aeiou", (int)cp[k - 3]))
		return k - i; /* none, make, close: a silent final e (Serbian values rarely end so when quoted) */
	return 0;
}

/* Length of markup at cp[i] == '<' or '&': a known tag (<b>, </i>, <span, <br/>) or an entity (&amp;, &#39;). */
size_t tl_markup_len(const int32_t *cp, size_t i, size_t b)
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
	/* an empty element <name/> is markup whatever its name (<string/>, <image/>) */
	bool empty_element = cp[i + 1] != '/' && k > name && cp[k - 1] == '/' && k < b && cp[k] == '>';
	if (!empty_element && !is_listed(tags, sizeof tags / sizeof tags[0], cp, name, name_end))
		return 0;
	if (k < b && cp[k] == '>')
		return k + 1 - i;
	return k == b ? k - i : 0; /* attributes follow after a space */
}

/* Length of a markup attribute at cp[i] (href="...", title="): its name, and its value too
 * where the value is an address (href, src), 0 if none. */
size_t tl_attribute_len(const int32_t *cp, size_t a, size_t i, size_t b)
{
	static const char *const address_attrs[] = {"href", "src", "xmlns", "class", "id"};
	size_t k = i;
	if (i != a)
		return 0;
	while (k < b && cp[k] >= 'a' && cp[k] <= 'z')
		k++;
	if (k == i || k + 1 >= b || cp[k] != '=' || (cp[k + 1] != '"' && cp[k + 1] != '\''))
		return 0;
	if (!is_listed(address_attrs, sizeof address_attrs / sizeof address_attrs[0], cp, i, k))
		return k + 2 - i;
	/* the address up to its closing quote and the tag's `>`; text after it is content:
	 * href="linux">GNU/Linuksa</a> -> href="linux">ГНУ/Линукса</a> */
	int32_t q = cp[k + 1];
	for (k += 2; k < b && cp[k] != q; k++)
		;
	if (k == b)
		return b - i;
	k++;
	if (k < b && cp[k] == '>')
		k++;
	return k - i;
}

/* Length of a file extension at cp[i] == '.' (Slika.png, (.csv), .source), 0 if none: a dot
 * not after a one-letter word (d.o.o.), then a lower-case ASCII letter and 1..5 more
 * letters or digits, then no letter. */
size_t tl_extension_len(const int32_t *cp, size_t a, size_t i, size_t b)
{
	size_t k = i + 1;
	if (i > a && cp[i - 1] == '*') { /* a glob: *.o, *.PPD.GZ: any case, any length */
		while (k < b && (is_ascii_alnum(cp[k]) || (cp[k] == '.' && k + 1 < b && is_ascii_alnum(cp[k + 1]))))
			k++;
		return k > i + 1 ? k - i : 0;
	}
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
size_t tl_brace_len(const int32_t *cp, size_t i, size_t b)
{
	size_t k = i + 1;
	while (k < b && cp[k] != '}' &&
	       (is_ascii_alnum(cp[k]) || (cp[k] < 128 && cp[k] && strchr("_.:!<>^,+#-[]", (int)cp[k]))))
		k++;
	return k < b && cp[k] == '}' ? k + 1 - i : 0;
}

/* Length of a MIME type (application/xml, multipart/encrypted) or a manual page reference
 * (fcntl(2)) starting at cp[i], 0 if none. */
size_t tl_mime_or_manpage_len(const int32_t *cp, size_t a, size_t i, size_t b)
{
	static const char *const top[] = {"application", "text", "image", "audio", "video", "multipart", "message",
					  "inode", "font", "model"};
	size_t k = i;
	if (i > a && is_ascii_alnum(cp[i - 1]))
		return 0;
	while (k < b && ((cp[k] >= 'a' && cp[k] <= 'z') || (cp[k] >= '0' && cp[k] <= '9')))
		k++;
	if (k == i || k >= b)
		return 0;
	if (cp[k] == '(' && k + 2 < b && cp[k + 1] >= '1' && cp[k + 1] <= '9' && cp[k + 2] == ')')
		return k + 3 - i;
	if (cp[k] != '/' || !is_listed(top, sizeof top / sizeof top[0], cp, i, k))
		return 0;
	k++;
	size_t sub = k;
	while (k < b && (is_ascii_alnum(cp[k]) || cp[k] == '.' || cp[k] == '+' || cp[k] == '-'))
		k++;
	return k > sub ? k - i : 0;
}

/* A key after a modifier in a shortcut: the letter of Ctrl+F, [Ktrl+Z], (Alt+P), CTRL-H. Keys are
 * labelled in Latin on the keyboard; the modifier itself follows its own rules (Ktrl -> Ктрл). */
bool tl_is_shortcut_key(const int32_t *cp, size_t a, size_t b)
{
	static const char *const mods[] = {"ctrl", "ktrl", "alt", "shift", "super", "meta", "ctl"};
	size_t m;
	if (b - a != 1 || cp[a] >= 128 || !isalpha((int)cp[a]) || a < 2 || (cp[a - 1] != '+' && cp[a - 1] != '-'))
		return false;
	m = a - 1;
	while (m > 0 && is_letter(cp[m - 1]))
		m--;
	return is_listed(mods, sizeof mods / sizeof mods[0], cp, m, a - 1);
}

/* Time-zone abbreviations and the tz database's zone names in capitals (EST, CET, UCT, PRC):
 * the catalogs keep them Latin (19 of 19 uses). ROK is left out: rok is a Serbian word. */
bool tl_is_zone_abbrev(const int32_t *cp, size_t a, size_t b)
{
	static const char *const zones[] = {"GMT", "UTC", "UCT", "GMT0", "CET", "EET", "WET", "MET", "EST", "MST",
					    "HST", "DST", "PRC", "ROC", "CEST", "EEST", "WEST", "EST5EDT", "CST6CDT",
					    "MST7MDT", "PST8PDT"};
	return tl_listed_exact(zones, sizeof zones / sizeof zones[0], cp, a, b);
}

/* Is cp[a, b) an item of a parenthesised list of codes in capitals, two or more items of
 * two or three letters separated by ", ": (SA, LP, NQ, RN), (BA, CF) — region and state codes,
 * which the catalogs keep Latin (all 5 such lists). A single code in parentheses is an acronym
 * like any other ((DVD) -> (ДВД)) unless it follows a proper name (tl_is_name_code). */
bool tl_in_code_list(const int32_t *cp, size_t n, size_t a, size_t b)
{
	size_t open = a, close = b, items = 0;
	while (open > 0 && cp[open - 1] != '(' && cp[open - 1] != ')' && a - open < 64)
		open--;
	while (close < n && cp[close] != ')' && cp[close] != '(' && close - b < 64)
		close++;
	if (open == 0 || cp[open - 1] != '(' || close == n || cp[close] != ')')
		return false;
	for (size_t i = open; i < close;) {
		size_t j = i;
		while (j < close && cp[j] >= 'A' && cp[j] <= 'Z')
			j++;
		if (j - i < 2 || j - i > 3)
			return false;
		items++;
		if (j == close)
			break;
		if (j + 2 >= close || cp[j] != ',' || cp[j + 1] != ' ')
			return false;
		i = j + 2;
	}
	return items >= 2;
}

/* A run of four or more colon-separated hexadecimal bytes (a MAC address or hardware id:
 * 80:00:00:48:fe:80:...) starting at cp[i], 0 if none. */
size_t tl_hex_bytes_len(const int32_t *cp, size_t i, size_t b)
{
	size_t k = i, groups = 0;
	while (k + 1 < b && isxdigit((int)(cp[k] < 128 ? cp[k] : 'g')) && isxdigit((int)(cp[k + 1] < 128 ? cp[k + 1] : 'g'))) {
		groups++;
		k += 2;
		if (k < b && cp[k] == ':' && k + 1 < b)
			k++;
		else
			break;
	}
	if (k > i && cp[k - 1] == ':')
		k--;
	if (groups < 4 || (k < b && is_ascii_alnum(cp[k])))
		return 0;
	return k - i;
}

/* A word with digits that Serbian Cyrillic writes in Cyrillic letters, like a word or an acronym:
 * capitals then digits (MD5, IPv4, LDAPv3; a mnemonic `_` may sit inside: IPv_4); capitals and
 * digits interleaved, opening with two capitals (IP6GRE, VN2VN);
 * a version v2, v_2; a capitalised word with a number (Rijad87, Iks11, OAut2, GFoto2); one capital
 * with a number (D65, L3) unless a function key (F10). Other words with digits (mp3, x86_64, 1A,
 * 2TB, H2O) stay Latin. */
bool tl_is_acronym_number(const int32_t *cp, size_t a, size_t b)
{
	char w[40];
	size_t n = 0, i = 0, caps = 0, lowers = 0, digits = 0;
	for (size_t k = a; k < b; k++) { /* the word without mnemonic underscores, ASCII only */
		if (cp[k] == '_')
			continue;
		if (!is_ascii_alnum(cp[k]) || n + 1 >= sizeof w)
			return false;
		w[n++] = (char)cp[k];
	}
	w[n] = 0;
	if (n >= 2 && w[0] == 'v' && strspn(w + 1, "0123456789") == n - 1)
		return true; /* v2, v_2: a version */
	while (i < n && isupper((unsigned char)w[i]))
		i++, caps++;
	while (i < n && islower((unsigned char)w[i]))
		i++, lowers++;
	while (i < n && isdigit((unsigned char)w[i]))
		i++, digits++;
	if (!caps || !digits)
		return false;
	if (i == n) {
		if (lowers == 0) /* MD5, SHA256, D65, L3; a function key (F1..F24) stays */
			return caps >= 2 || w[0] != 'F';
		if (lowers == 1 && w[caps] == 'v') /* IPv4, LDAPv3 */
			return caps >= 2;
		return lowers >= 2; /* Rijad87, Iks11, OAut2, GFoto2: a capitalised word and its number */
	}
	/* capitals and digits interleaved, opening with two capitals: IP6GRE, VN2VN (H2O, F2FS stay) */
	if (lowers || caps < 2)
		return false;
	for (; i < n; i++) {
		if (islower((unsigned char)w[i]))
			return false;
		caps += isupper((unsigned char)w[i]) != 0;
	}
	return caps >= 2;
}

/* A desktop file's keyword list (Keywords=a;b;c;) that the Serbian translator gave in Cyrillic and
 * then again in Latin script and English for searching (zip;tar;izvuci;zip;tar;extract;): in
 * sr@latin the Latin copy repeats the first items, and the Cyrillic catalog keeps everything from
 * the first repeated item (compared case-insensitively: monitor;Monitor;System) on in Latin.
 * Returns the start of that item, or n (no such list). */
size_t tl_keyword_latin_from(const int32_t *cp, size_t n)
{
	size_t semis = 0, end = n;
	while (end > 0 && is_space(cp[end - 1]))
		end--;
	if (end == 0 || cp[end - 1] != ';')
		return n;
	for (size_t i = 0; i < end; i++)
		semis += cp[i] == ';';
	if (semis < 4)
		return n;
	for (size_t i = 0; i < end;) {
		size_t j = i;
		while (j < end && cp[j] != ';')
			j++;
		for (size_t p = 0; p < i && j > i;) { /* an earlier item equal to cp[i, j)? */
			size_t q = p;
			while (q < i && cp[q] != ';')
				q++;
			bool same = q - p == j - i;
			for (size_t k = 0; same && k < j - i; k++) /* case-insensitively: monitor;Monitor */
				same = utf8proc_tolower(cp[p + k]) == utf8proc_tolower(cp[i + k]);
			if (same)
				return i;
			p = q + 1;
		}
		i = j + 1;
	}
	return n;
}

/* A code in parentheses right after a proper name: La Rioha (LR), Mendoza (MZ), Čubut (CH) —
 * two or three capitals naming the place or thing in its own (Latin) spelling; the catalogs keep
 * 10 of 12 (the others: Samostalno (VPN), Naziv (CN), a common word opening the text). After a common noun it is an acronym of the words before it and is transliterated
 * like any other: Upleteni par (TP) -> (ТП), Opšti naziv (CN) -> (ЦН) (14 of 22). */
bool tl_is_name_code(const int32_t *cp, size_t n, size_t a, size_t b)
{
	size_t w;
	if (b - a < 2 || b - a > 3 || a < 3 || b >= n || cp[a - 1] != '(' || cp[b] != ')' || cp[a - 2] != ' ')
		return false;
	for (size_t i = a; i < b; i++)
		if (cp[i] < 'A' || cp[i] > 'Z')
			return false;
	w = a - 2;
	while (w > 0 && is_letter(cp[w - 1]))
		w--;
	return a - 2 - w >= 2 && is_upper(cp[w]) && is_lower(cp[a - 3]);
}
