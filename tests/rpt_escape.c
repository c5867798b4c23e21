/* rpt_escape.c — the escapers of reports/escape.c: text from result files must
 * show as text in HTML, XML, markdown and CSV, whatever it contains. */
#include "reports/rpt.h"
#include "tests/tap.h"

static char *esc(void (*fn)(struct mrl_buf *, const char *), const char *in)
{
	struct mrl_buf s;
	mrl_buf_init(&s);
	fn(&s, in);
	return mrl_buf_detach(&s, NULL);
}

#define CHECK(fn, in, want, name) do { char *g_ = esc(fn, in); is_str(g_, want, name); free(g_); } while (0)

int main(void)
{
	CHECK(rpt_esc_html, "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;", "html: script tag is text");
	CHECK(rpt_esc_html, "a&b \"q\" 'x'", "a&amp;b &quot;q&quot; &#39;x&#39;", "html: & and quotes (attribute-safe)");
	CHECK(rpt_esc_html, "Čovjek ђак", "Čovjek ђак", "html: UTF-8 passes through");
	CHECK(rpt_esc_html, NULL, "", "html: NULL is empty");
	CHECK(rpt_esc_xml, "a\x01" "b\tc<", "a\u2401" "b\tc&lt;", "xml: forbidden control char -> its control picture, tab kept");
	CHECK(rpt_esc_xml, "x\x1b[31m\x7f\xc2\x9b" "2J\n", "x\u241b[31m\u2421\ufffd" "2J\n",
	      "xml: ESC, DEL and C1 CSI never raw; LF kept");
	CHECK(rpt_esc_html, "a\x1b[2Jb\x08", "a\u241b[2Jb\u2408", "html: ESC and backspace -> control pictures");
	CHECK(rpt_esc_html, "\xc2\x85\xc2\x9f\xc2\xa0\xc2", "\ufffd\ufffd\xc2\xa0\xc2",
	      "html: C1 controls -> U+FFFD; NBSP and a lone lead byte kept");
	CHECK(rpt_esc_html, "tab\tnl\ncr\r", "tab\tnl\ncr\r", "html: tab, LF, CR kept");
	CHECK(rpt_esc_md, "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;",
	      "md: raw HTML cannot render");
	CHECK(rpt_esc_md, "a|b*c_d\n[x](y)", "a\\|b\\*c\\_d \\[x\\](y)", "md: table pipe, emphasis, link, newline");
	CHECK(rpt_esc_md, "p\x1b]0;pwned\x07q", "p\u241b\\]0;pwned\u2407q", "md: ESC and BEL of a title sequence -> control pictures");
	CHECK(rpt_esc_md, "\x01\x1f\x7f\xc2\x9b", "\u2401\u241f\u2421\ufffd", "md: C0, DEL, C1 never raw");
	CHECK(rpt_esc_md, "a\tb\rc", "a b c", "md: tab and CR are spaces");
	CHECK(rpt_esc_csv, "plain", "plain", "csv: plain field unquoted");
	CHECK(rpt_esc_csv, "a,b", "\"a,b\"", "csv: comma quoted");
	CHECK(rpt_esc_csv, "say \"hi\"", "\"say \"\"hi\"\"\"", "csv: quotes doubled");
	CHECK(rpt_esc_csv, "line1\nline2", "\"line1\nline2\"", "csv: newline quoted");
	CHECK(rpt_esc_csv, "=cmd|' /C calc'!A0", "\"'=cmd|' /C calc'!A0\"", "csv: formula injection guarded");
	CHECK(rpt_esc_csv, "+1", "\"'+1\"", "csv: leading + guarded");
	CHECK(rpt_esc_csv, "-x", "\"'-x\"", "csv: leading - guarded");
	CHECK(rpt_esc_csv, "@SUM(A1)", "\"'@SUM(A1)\"", "csv: leading @ guarded");
	CHECK(rpt_esc_csv, "", "", "csv: empty field");

	struct mrl_buf s;
	mrl_buf_init(&s);
	rpt_esc_trunc(&s, "ђакђак", 3, rpt_esc_html);
	char *t = mrl_buf_detach(&s, NULL);
	is_str(t, "ђак…", "trunc: cut at a character boundary, ellipsis added");
	free(t);
	mrl_buf_init(&s);
	rpt_esc_trunc(&s, "<b>", 10, rpt_esc_html);
	t = mrl_buf_detach(&s, NULL);
	is_str(t, "&lt;b&gt;", "trunc: short text unchanged, escaped");
	free(t);

	mrl_buf_init(&s);
	for (int i = 0; i < 10000; i++)
		mrl_buf_addf(&s, "%d,", i);
	ok(s.len > 40000 && s.data[s.len] == '\0' && !strncmp(s.data + s.len - 5, "9999,", 5), "the buffer grows and stays terminated");
	t = mrl_buf_detach(&s, NULL);
	ok(t && s.data == mrl_buf_empty && s.len == 0, "mrl_buf_detach hands over and resets");
	free(t);

	is_int(rpt_format_parse("junit"), RPT_FMT_JUNIT, "format names parse");
	is_int(rpt_format_parse("pdf"), -1, "unknown format is -1");
	return done_testing();
}
