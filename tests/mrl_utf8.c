/* mrl_utf8.c — tests for common/utf8: the strict decoder agrees with
 * utf8proc_iterate on every 1- to 3-byte input and on all 4-byte inputs with
 * lead bytes 0xEE..0xFF (the interesting boundaries), and the counting,
 * prefix and encoding helpers keep the behaviours the modules relied on.
 */
#include "common/utf8.h"
#include "tests/tap.h"

#include <string.h>
#include <utf8proc.h>

static int agree(const unsigned char *s, size_t n)
{
	int32_t cp;
	size_t got = mrl_utf8_decode((const char *)s, n, &cp);
	utf8proc_int32_t want_cp;
	utf8proc_ssize_t want = utf8proc_iterate(s, (utf8proc_ssize_t)n, &want_cp);
	if (want < 0)
		want = 0;
	if ((size_t)want != got || (got && cp != want_cp)) {
		diag("  bytes %02X %02X %02X %02X (n %zu): got %zu/%d, utf8proc %zd/%d", s[0], s[1], s[2], s[3], n,
		     got, cp, (ssize_t)want, want_cp);
		return 0;
	}
	return 1;
}

static void test_decode_matches_utf8proc(void)
{
	unsigned char s[4] = { 0 };
	int bad = 0;
	for (unsigned a = 0; a < 256 && !bad; a++) {
		s[0] = (unsigned char)a;
		bad |= !agree(s, 1);
		for (unsigned b = 0; b < 256 && !bad; b++) {
			s[1] = (unsigned char)b;
			bad |= !agree(s, 2);
			for (unsigned c = 0; c < 256 && !bad; c++) {
				s[2] = (unsigned char)c;
				bad |= !agree(s, 3);
			}
		}
	}
	ok(!bad, "decode == utf8proc_iterate on all inputs of 1, 2 and 3 bytes");
	bad = 0;
	for (unsigned a = 0xEE; a < 256 && !bad; a++)
		for (unsigned b = 0x70; b < 0xD0 && !bad; b++)
			for (unsigned c = 0x70; c < 0xD0 && !bad; c++)
				for (unsigned d = 0x70; d < 0xD0 && !bad; d++) {
					unsigned char t[4] = { (unsigned char)a, (unsigned char)b, (unsigned char)c,
							       (unsigned char)d };
					bad |= !agree(t, 4);
				}
	ok(!bad, "decode == utf8proc_iterate on 4-byte inputs around the boundaries");
}

static void test_valid_prefix(void)
{
	const char *ok_text = "Ђак čaša 😀";
	is_int(mrl_utf8_valid_prefix(ok_text, strlen(ok_text)), strlen(ok_text), "valid text: prefix is all");
	ok(mrl_utf8_valid(ok_text, strlen(ok_text)), "valid text is valid");
	is_int(mrl_utf8_valid_prefix("ab\xC0\x80", 4), 2, "overlong C0 80 is invalid");
	is_int(mrl_utf8_valid_prefix("a\xED\xA0\x80", 4), 1, "a surrogate is invalid");
	is_int(mrl_utf8_valid_prefix("a\xF4\x90\x80\x80", 5), 1, "past U+10FFFF is invalid");
	is_int(mrl_utf8_valid_prefix("ab\xD0", 3), 2, "a truncated sequence is invalid");
	is_int(mrl_utf8_valid_prefix("a\0b", 3), 3, "NUL is a valid character");
	ok(!mrl_utf8_valid("\x80", 1), "a lone continuation byte is invalid");
}

static void test_counts(void)
{
	is_int(mrl_utf8_count("Ђак", strlen("Ђак")), 3, "count: code points");
	is_int(mrl_utf8_count("a\x80\x80" "b", 4), 4, "count: each stray byte counts one");
	is_int(mrl_utf8_count("\xE0\x80\x80", 3), 3, "count: an overlong is three bad bytes");
	is_int(mrl_utf8_count("", 0), 0, "count: empty");
	is_int(mrl_utf8_count_leads("Ђак", strlen("Ђак")), 3, "count_leads: code points of valid text");
	is_int(mrl_utf8_count_leads("a\x80\x80" "b", 4), 2, "count_leads: continuation bytes count zero");
}

static void test_lead_len_and_encode(void)
{
	int good = 1;
	for (unsigned c = 0; c < 256; c++) {
		size_t want = c < 0xC0 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
		good &= mrl_utf8_lead_len((unsigned char)c) == want;
	}
	ok(good, "lead_len: 1 below 0xC0, then 2, 3, 4 by the high nibble");
	good = 1;
	for (int32_t cp = -2; cp < 0x110002 && good; cp++) {
		char a[4];
		utf8proc_uint8_t b[4];
		size_t n = mrl_utf8_encode(cp, a);
		utf8proc_ssize_t m = utf8proc_encode_char(cp, b);
		good &= (size_t)m == n && memcmp(a, b, n) == 0;
		if (!good)
			diag("  cp %d: %zu vs %zd bytes", cp, n, (ssize_t)m);
	}
	ok(good, "encode == utf8proc_encode_char for every code point and just outside");
}

int main(void)
{
	test_decode_matches_utf8proc();
	test_valid_prefix();
	test_counts();
	test_lead_len_and_encode();
	return done_testing();
}
