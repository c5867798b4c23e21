/* utf8.h — the UTF-8 rules every module shares, in one place.
 *
 * "Valid" is the strict definition of RFC 3629 / Unicode 3.9 (what
 * utf8proc_iterate accepts): no overlong forms, no surrogates (U+D800..U+DFFF),
 * nothing past U+10FFFF, no truncated sequence. Functions take a length, so
 * text may hold NUL bytes; none reads past s + len.
 */
#ifndef MRL_UTF8_H
#define MRL_UTF8_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Decode the character at s (len bytes available): returns its length 1..4
 * and sets *cp, or returns 0 and sets *cp to -1 when the bytes there are not
 * a valid sequence (or len is 0). cp may be NULL. */
size_t mrl_utf8_decode(const char *s, size_t len, int32_t *cp);

/* Offset of the first byte that does not start a valid sequence: len when all
 * of s is valid UTF-8. */
size_t mrl_utf8_valid_prefix(const char *s, size_t len);

/* Whether all len bytes of s are valid UTF-8. */
bool mrl_utf8_valid(const char *s, size_t len);

/* Characters in s: valid sequences count one each, and so does every byte
 * that is not part of one (as a decoder that replaces each bad byte with
 * U+FFFD would count them). */
size_t mrl_utf8_count(const char *s, size_t len);

/* Bytes of s that are not continuation bytes (10xxxxxx): the character count
 * of valid text, computed without decoding. On invalid text it differs from
 * mrl_utf8_count (a stray continuation byte counts 0 here, 1 there). */
size_t mrl_utf8_count_leads(const char *s, size_t len);

/* The length a lead byte announces, without looking further (llama.cpp's
 * unicode_len_utf8): 1 for ASCII and for continuation bytes, 2 for 0xC0..0xDF,
 * 3 for 0xE0..0xEF, 4 for 0xF0..0xFF. Callers clamp it to the bytes left. */
size_t mrl_utf8_lead_len(unsigned char c);

/* Encode cp into out (room for 4 bytes) and return its length; 0 for a
 * negative cp or one past U+10FFFF. Surrogates are encoded as 3 bytes, as
 * utf8proc_encode_char does. */
size_t mrl_utf8_encode(int32_t cp, char out[4]);

#endif
