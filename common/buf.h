/* buf.h — a growable, NUL-terminated byte string (git's strbuf is the model).
 *
 * A struct mrl_buf is a plain value owned by whoever declared it: _init (or
 * MRL_BUF_INIT) before use, _release to free. `data` always points to a
 * NUL-terminated string, even when nothing was ever added (it then points to a
 * shared empty string that must not be written to or freed), so callers can
 * pass b.data to any string function at any time.
 *
 * Running out of memory never fails loudly: it sets `oom`, which sticks, and
 * every later append does nothing. A renderer can therefore append freely and
 * check once at the end (mrl_buf_detach returns NULL then); code that prefers
 * to check each step uses the return value of the add functions (0, or
 * MRL_ENOMEM once oom is set). A zeroed struct is an empty buffer too, except
 * that its data is NULL until the first append. The text may hold NUL bytes
 * (addn copies them): len, not strlen, is its length.
 */
#ifndef MRL_BUF_H
#define MRL_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mrl_buf {
	char *data;   /* NUL-terminated; mrl_buf_empty until the first growth */
	size_t len;   /* bytes of text, not counting the NUL */
	size_t cap;   /* bytes allocated at data (0 while data is mrl_buf_empty) */
	bool oom;     /* an allocation failed: appends are ignored from then on */
};

/* The shared empty string an empty buffer points to (never written). */
extern char mrl_buf_empty[];
#define MRL_BUF_INIT { mrl_buf_empty, 0, 0, false }

/* Make b an empty buffer (no allocation). */
void mrl_buf_init(struct mrl_buf *b);
/* Free b's memory and leave it empty, as after init (oom cleared). */
void mrl_buf_release(struct mrl_buf *b);
/* Empty the text but keep the memory for reuse; oom stays as it was. */
void mrl_buf_reset(struct mrl_buf *b);
/* Shorten the text to len bytes (len <= b->len; a longer len is ignored). */
void mrl_buf_setlen(struct mrl_buf *b, size_t len);
/* Make room for extra more bytes (plus the NUL) so that appending that much
 * cannot fail. Returns 0, or MRL_ENOMEM (and sets oom). */
int mrl_buf_grow(struct mrl_buf *b, size_t extra);

/* Append n bytes of text (NUL bytes included). Returns 0 or MRL_ENOMEM. */
int mrl_buf_addn(struct mrl_buf *b, const void *text, size_t n);
/* Append a C string; NULL appends nothing. Returns 0 or MRL_ENOMEM. */
int mrl_buf_add(struct mrl_buf *b, const char *text);
/* Append one byte. Returns 0 or MRL_ENOMEM. */
int mrl_buf_addch(struct mrl_buf *b, char c);
/* Append a code point as UTF-8 (as utf8proc_encode_char: U+D800..U+DFFF are
 * encoded, negative or past U+10FFFF append nothing). Returns 0 or MRL_ENOMEM. */
int mrl_buf_add_cp(struct mrl_buf *b, int32_t cp);
/* Append printf-formatted text. Returns 0, or MRL_ENOMEM (also when the format
 * itself fails, which sets oom too). */
int mrl_buf_addf(struct mrl_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int mrl_buf_vaddf(struct mrl_buf *b, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));

/* Hand the text to the caller, who owns it and free()s it, and leave b empty
 * (as after init). Never NULL for a buffer without oom: an empty buffer gives
 * a newly allocated "". After an allocation failure b is released and NULL is
 * returned. len_out (may be NULL) receives the length. */
char *mrl_buf_detach(struct mrl_buf *b, size_t *len_out);

#endif
