/* utf8.c — see utf8.h. The decoder checks the second byte's range per lead
 * byte (Unicode Table 3-7), which rules out overlongs, surrogates and values
 * past U+10FFFF before any arithmetic. */
#include "common/utf8.h"

size_t mrl_utf8_decode(const char *s, size_t len, int32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	int32_t dummy;
	if (!cp)
		cp = &dummy;
	*cp = -1;
	if (len == 0)
		return 0;
	unsigned c = u[0];
	if (c < 0x80) {
		*cp = (int32_t)c;
		return 1;
	}
	size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
	if (!n || c > 0xF4 || len < n)
		return 0;
	for (size_t i = 1; i < n; i++)
		if ((u[i] & 0xC0) != 0x80)
			return 0;
	if ((c == 0xE0 && u[1] < 0xA0) || (c == 0xED && u[1] > 0x9F) || (c == 0xF0 && u[1] < 0x90) ||
	    (c == 0xF4 && u[1] > 0x8F))
		return 0;
	int32_t v = (int32_t)(c & (n == 2 ? 0x1F : n == 3 ? 0x0F : 0x07));
	for (size_t i = 1; i < n; i++)
		v = (v << 6) | (int32_t)(u[i] & 0x3F);
	*cp = v;
	return n;
}

size_t mrl_utf8_valid_prefix(const char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		size_t n = mrl_utf8_decode(s + i, len - i, NULL);
		if (!n)
			return i;
		i += n;
	}
	return len;
}

bool mrl_utf8_valid(const char *s, size_t len)
{
	return mrl_utf8_valid_prefix(s, len) == len;
}

size_t mrl_utf8_count(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; n++) {
		size_t k = mrl_utf8_decode(s + i, len - i, NULL);
		i += k ? k : 1;
	}
	return n;
}

size_t mrl_utf8_count_leads(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xC0) != 0x80;
	return n;
}

size_t mrl_utf8_lead_len(unsigned char c)
{
	static const unsigned char lookup[16] = { 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4 };
	return lookup[c >> 4];
}

size_t mrl_utf8_encode(int32_t cp, char out[4])
{
	unsigned char *o = (unsigned char *)out;
	if (cp < 0)
		return 0;
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		return 1;
	}
	if (cp < 0x800) {
		o[0] = (unsigned char)(0xC0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		o[0] = (unsigned char)(0xE0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		o[2] = (unsigned char)(0x80 | (cp & 0x3F));
		return 3;
	}
	if (cp < 0x110000) {
		o[0] = (unsigned char)(0xF0 | (cp >> 18));
		o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
		o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
		o[3] = (unsigned char)(0x80 | (cp & 0x3F));
		return 4;
	}
	return 0;
}
