/* escape.c — the escapers for every output format.
 *
 * Everything a report shows that came from a file (a model's name, an item id,
 * a prompt) is hostile until escaped: a model named <script>alert(1)</script>
 * must render as text in HTML and in a markdown PR comment, and a CSV cell
 * "=cmd|..." must not become a spreadsheet formula. The rules per format are
 * in rpt.h and docs/compare.md. The inputs are UTF-8 (the record readers
 * check that); characters from U+00A0 up pass through unchanged, control
 * characters never do.
 */
#include "reports/rpt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy the run of bytes that need no escaping in one go. map returns the
 * replacement for the character at `at` (and sets *used to the bytes it
 * replaces, 1 unless it says otherwise), or NULL to keep the byte. */
static void esc_generic(struct mrl_buf *s, const char *text, const char *(*map)(const char *at, size_t *used))
{
	if (!text)
		return;
	const char *run = text;
	for (const char *p = text; *p;) {
		size_t used = 1;
		const char *rep = map(p, &used);
		if (rep) {
			mrl_buf_addn(s, run, (size_t)(p - run));
			mrl_buf_add(s, rep);
			run = p + used;
		}
		p += used;
	}
	mrl_buf_add(s, run);
}

/* Control characters never reach an output raw: a prompt with ESC [ 2 J must not
 * clear the terminal that shows a markdown file, and XML 1.0 forbids most of
 * them. C0 controls and DEL become their Unicode control pictures (ESC ->
 * U+241B, so a reader sees which one was there); C1 controls (U+0080..U+009F,
 * two bytes in UTF-8; U+009B is an 8-bit CSI) become U+FFFD. Tab, LF and CR
 * are the callers' to treat. NULL for any other character. */
#define PIC(c) { '\xE2', '\x90', (char)(0x80 + (c)), '\0' }
static const char control_pictures[32][4] = {
	PIC(0), PIC(1), PIC(2), PIC(3), PIC(4), PIC(5), PIC(6), PIC(7), PIC(8), PIC(9), PIC(10),
	PIC(11), PIC(12), PIC(13), PIC(14), PIC(15), PIC(16), PIC(17), PIC(18), PIC(19), PIC(20), PIC(21),
	PIC(22), PIC(23), PIC(24), PIC(25), PIC(26), PIC(27), PIC(28), PIC(29), PIC(30), PIC(31),
};
#undef PIC

static const char *map_control(const char *at, size_t *used)
{
	unsigned char c = (unsigned char)at[0], c1 = (unsigned char)at[1];
	if (c < 0x20)
		return control_pictures[c];
	if (c == 0x7F)
		return "\xE2\x90\xA1"; /* U+2421 SYMBOL FOR DELETE */
	if (c == 0xC2 && c1 >= 0x80 && c1 <= 0x9F) {
		*used = 2;
		return "\xEF\xBF\xBD";
	}
	return NULL;
}

static const char *map_html(const char *at, size_t *used)
{
	unsigned char c = (unsigned char)*at;
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	case '\t': case '\n': case '\r': return NULL;
	default: return map_control(at, used);
	}
}

static const char *map_md(const char *at, size_t *used)
{
	unsigned char c = (unsigned char)*at;
	switch (c) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '\n': case '\r': case '\t': return " ";
	case '\\': return "\\\\";
	case '`': return "\\`";
	case '*': return "\\*";
	case '_': return "\\_";
	case '[': return "\\[";
	case ']': return "\\]";
	case '#': return "\\#";
	case '|': return "\\|";
	case '~': return "\\~";
	default: return map_control(at, used);
	}
}

void rpt_esc_html(struct mrl_buf *s, const char *text)
{
	esc_generic(s, text, map_html);
}

void rpt_esc_xml(struct mrl_buf *s, const char *text)
{
	esc_generic(s, text, map_html); /* the same rules keep XML 1.0 free of the characters it forbids */
}

void rpt_esc_md(struct mrl_buf *s, const char *text)
{
	esc_generic(s, text, map_md);
}

void rpt_esc_csv(struct mrl_buf *s, const char *text)
{
	if (!text)
		text = "";
	bool formula = strchr("=+-@\t\r", text[0]) && text[0] != '\0';
	bool quote = formula || strpbrk(text, ",\"\r\n") != NULL;
	if (quote)
		mrl_buf_add(s, "\"");
	if (formula)
		mrl_buf_add(s, "'");
	const char *run = text;
	for (const char *p = text; *p; p++) {
		if (*p == '"') {
			mrl_buf_addn(s, run, (size_t)(p - run) + 1);
			mrl_buf_add(s, "\"");
			run = p + 1;
		}
	}
	mrl_buf_add(s, run);
	if (quote)
		mrl_buf_add(s, "\"");
}

void rpt_esc_trunc(struct mrl_buf *s, const char *text, size_t max_chars,
		   void (*esc)(struct mrl_buf *, const char *))
{
	if (!text) {
		esc(s, "");
		return;
	}
	size_t chars = 0, i = 0;
	for (; text[i]; i++) {
		if (((unsigned char)text[i] & 0xC0) != 0x80) { /* a character starts here */
			if (chars == max_chars)
				break;
			chars++;
		}
	}
	if (!text[i]) {
		esc(s, text);
		return;
	}
	char *cut = strndup(text, i);
	if (!cut) {
		s->oom = true;
		return;
	}
	esc(s, cut);
	mrl_buf_add(s, "…");
	free(cut);
}

int rpt_format_parse(const char *name)
{
	static const struct { const char *name; enum rpt_format fmt; } names[] = {
		{ "text", RPT_FMT_TEXT }, { "md", RPT_FMT_MD }, { "markdown", RPT_FMT_MD },
		{ "json", RPT_FMT_JSON }, { "junit", RPT_FMT_JUNIT }, { "html", RPT_FMT_HTML },
		{ "csv", RPT_FMT_CSV },
	};
	for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
		if (!strcmp(name, names[i].name))
			return (int)names[i].fmt;
	return -1;
}
