/* rpt_escape.c — the escapers of reports/escape.c: text from result files must
 * show as text in HTML, XML, markdown and CSV, whatever it contains. */
#include "reports/rpt.h"
#include "tests/tap.h"

static char *esc(void (*fn)(struct rpt_str *, const char *), const char *in)
{
	struct rpt_str s;
	rpt_str_init(&s);
	fn(&s, in);
	return rpt_str_take(&s);
}

#define CHECK(fn, in, want, name) do { char *g_ = esc(fn, in); is_str(g_, want, name); free(g_); } while (0)

int main(void)
{
	CHECK(rpt_esc_html, "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;", "html: script tag is text");
	CHECK(rpt_esc_html, "a&b \"q\" 'x'", "a&amp;b &quot;q&quot; &#39;x&#39;", "html: & and quotes (attribute-safe)");
	CHECK(rpt_esc_html, "Čovjek ђак", "Čovjek ђак", "html: UTF-8 passes through");
	CHECK(rpt_esc_html, NULL, "", "html: NULL is empty");
	CHECK(rpt_esc_xml, "a\x01" "b\tc<", "a\xEF\xBF\xBD" "b\tc&lt;", "xml: forbidden control char -> U+FFFD, tab kept");
	CHECK(rpt_esc_md, "<script>alert(1)</script>", "&lt;script&gt;alert(1)&lt;/script&gt;",
	      "md: raw HTML cannot render");
	CHECK(rpt_esc_md, "a|b*c_d\n[x](y)", "a\\|b\\*c\\_d \\[x\\](y)", "md: table pipe, emphasis, link, newline");
	CHECK(rpt_esc_csv, "plain", "plain", "csv: plain field unquoted");
	CHECK(rpt_esc_csv, "a,b", "\"a,b\"", "csv: comma quoted");
	CHECK(rpt_esc_csv, "say \"hi\"", "\"say \"\"hi\"\"\"", "csv: quotes doubled");
	CHECK(rpt_esc_csv, "line1\nline2", "\"line1\nline2\"", "csv: newline quoted");
	CHECK(rpt_esc_csv, "=cmd|' /C calc'!A0", "\"'=cmd|' /C calc'!A0\"", "csv: formula injection guarded");
	CHECK(rpt_esc_csv, "+1", "\"'+1\"", "csv: leading + guarded");
	CHECK(rpt_esc_csv, "-x", "\"'-x\"", "csv: leading - guarded");
	CHECK(rpt_esc_csv, "@SUM(A1)", "\"'@SUM(A1)\"", "csv: leading @ guarded");
	CHECK(rpt_esc_csv, "", "", "csv: empty field");

	struct rpt_str s;
	rpt_str_init(&s);
	rpt_esc_trunc(&s, "ђакђак", 3, rpt_esc_html);
	char *t = rpt_str_take(&s);
	is_str(t, "ђак…", "trunc: cut at a character boundary, ellipsis added");
	free(t);
	rpt_str_init(&s);
	rpt_esc_trunc(&s, "<b>", 10, rpt_esc_html);
	t = rpt_str_take(&s);
	is_str(t, "&lt;b&gt;", "trunc: short text unchanged, escaped");
	free(t);

	rpt_str_init(&s);
	for (int i = 0; i < 10000; i++)
		rpt_str_addf(&s, "%d,", i);
	ok(s.len > 40000 && s.data[s.len] == '\0' && !strncmp(s.data + s.len - 5, "9999,", 5), "rpt_str grows and stays terminated");
	t = rpt_str_take(&s);
	ok(t && s.data == NULL && s.len == 0, "rpt_str_take hands over and resets");
	free(t);

	is_int(rpt_format_parse("junit"), RPT_FMT_JUNIT, "format names parse");
	is_int(rpt_format_parse("pdf"), -1, "unknown format is -1");
	return done_testing();
}
