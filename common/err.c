/* err.c — see err.h. */
#include "common/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int mrl_err_set(struct mrl_err *err, int code, const char *fmt, ...)
{
	if (!err)
		return code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof err->msg, fmt, ap);
	va_end(ap);
	err->code = code;
	return code;
}

void mrl_err_prefix(struct mrl_err *err, const char *fmt, ...)
{
	if (!err)
		return;
	char prefix[512], old[sizeof err->msg];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(prefix, sizeof prefix, fmt, ap);
	va_end(ap);
	memcpy(old, err->msg, sizeof old);
	size_t n = strlen(prefix);
	if (n > sizeof err->msg - 3)
		n = sizeof err->msg - 3;
	memcpy(err->msg, prefix, n);
	memcpy(err->msg + n, ": ", 2);
	size_t rest = sizeof err->msg - n - 3;
	size_t old_len = strnlen(old, rest);
	memcpy(err->msg + n + 2, old, old_len);
	err->msg[n + 2 + old_len] = '\0';
}

void mrl_err_clear(struct mrl_err *err)
{
	if (!err)
		return;
	err->code = MRL_OK;
	err->msg[0] = '\0';
}
