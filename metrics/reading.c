/* reading.c — struct met_reading: a measured figure or null with the reason.
 *
 * Every figure the measurement sources produce (counters, energy, memory) is
 * one of these, so that "could not be read" is never confused with 0: a null
 * reading carries NaN and a one-line reason, and a sum with a null is null.
 */
#include "metrics/met.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

void met_reading_set(struct met_reading *r, double value, const char *unit)
{
	r->valid = true;
	r->value = value;
	r->unit = unit;
	r->reason[0] = '\0';
}

void met_reading_null(struct met_reading *r, const char *unit, const char *fmt, ...)
{
	va_list ap;
	r->valid = false;
	r->value = NAN;
	r->unit = unit;
	va_start(ap, fmt);
	vsnprintf(r->reason, sizeof r->reason, fmt, ap);
	va_end(ap);
}

void met_reading_add(struct met_reading *dst, const struct met_reading *src)
{
	if (!dst->valid)
		return; /* keep the first reason */
	if (!src->valid) {
		met_reading_null(dst, dst->unit, "%s", src->reason);
		return;
	}
	if (!dst->unit || !src->unit || strcmp(dst->unit, src->unit) != 0) {
		met_reading_null(dst, dst->unit, "cannot add %s to %s",
				 src->unit ? src->unit : "?", dst->unit ? dst->unit : "?");
		return;
	}
	dst->value += src->value;
}

void met_reason_short(const char *reason, char *out, size_t size)
{
	if (!size)
		return;
	const char *r = reason ? reason : "";
	size_t n = strlen(r);
	static const char *const cuts[] = { " (", ": ", "; " };
	for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
		const char *c = strstr(r, cuts[i]);
		if (c && (size_t)(c - r) < n)
			n = (size_t)(c - r);
	}
	if (n >= size) {
		n = size - 1;
		while (n > 0 && ((unsigned char)r[n] & 0xC0) == 0x80) /* not inside a UTF-8 sequence */
			n--;
	}
	memcpy(out, r, n);
	out[n] = '\0';
}
