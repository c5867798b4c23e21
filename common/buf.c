/* buf.c — see buf.h. The capacity doubles (from 64 bytes), so appending n
 * bytes one at a time costs O(n); sizes are checked against overflow before
 * anything is added to them. */
#include "common/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/err.h"
#include "common/utf8.h"

char mrl_buf_empty[1];

void mrl_buf_init(struct mrl_buf *b)
{
	*b = (struct mrl_buf)MRL_BUF_INIT;
}

void mrl_buf_release(struct mrl_buf *b)
{
	if (b->cap)
		free(b->data);
	mrl_buf_init(b);
}

void mrl_buf_reset(struct mrl_buf *b)
{
	mrl_buf_setlen(b, 0);
}

void mrl_buf_setlen(struct mrl_buf *b, size_t len)
{
	if (len > b->len)
		return;
	b->len = len;
	if (b->cap)
		b->data[len] = '\0';
}

int mrl_buf_grow(struct mrl_buf *b, size_t extra)
{
	if (b->oom)
		return MRL_ENOMEM;
	if (extra > SIZE_MAX / 2 - b->len) {
		b->oom = true;
		return MRL_ENOMEM;
	}
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	char *p = realloc(b->cap ? b->data : NULL, cap);
	if (!p) {
		b->oom = true;
		return MRL_ENOMEM;
	}
	if (!b->cap)
		p[0] = '\0';
	b->data = p;
	b->cap = cap;
	return 0;
}

int mrl_buf_addn(struct mrl_buf *b, const void *text, size_t n)
{
	if (mrl_buf_grow(b, n))
		return MRL_ENOMEM;
	if (n)
		memcpy(b->data + b->len, text, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int mrl_buf_add(struct mrl_buf *b, const char *text)
{
	return mrl_buf_addn(b, text ? text : "", text ? strlen(text) : 0);
}

int mrl_buf_addch(struct mrl_buf *b, char c)
{
	return mrl_buf_addn(b, &c, 1);
}

int mrl_buf_add_cp(struct mrl_buf *b, int32_t cp)
{
	char enc[4];
	return mrl_buf_addn(b, enc, mrl_utf8_encode(cp, enc));
}

int mrl_buf_vaddf(struct mrl_buf *b, const char *fmt, va_list ap)
{
	if (b->oom)
		return MRL_ENOMEM;
	char small[256];
	va_list again;
	va_copy(again, ap);
	int n = vsnprintf(small, sizeof small, fmt, ap);
	int rc = 0;
	if (n < 0) {
		b->oom = true;
		rc = MRL_ENOMEM;
	} else if ((size_t)n < sizeof small) {
		rc = mrl_buf_addn(b, small, (size_t)n);
	} else if (!(rc = mrl_buf_grow(b, (size_t)n))) {
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
		b->len += (size_t)n;
	}
	va_end(again);
	return rc;
}

int mrl_buf_addf(struct mrl_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = mrl_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

char *mrl_buf_detach(struct mrl_buf *b, size_t *len_out)
{
	if (len_out)
		*len_out = 0;
	if (!b->oom && !b->cap)
		mrl_buf_grow(b, 0);
	if (b->oom) {
		mrl_buf_release(b);
		return NULL;
	}
	char *out = b->data;
	if (len_out)
		*len_out = b->len;
	mrl_buf_init(b);
	return out;
}
