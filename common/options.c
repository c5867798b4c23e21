/* options.c — the table-driven command-line parser (see options.h).
 *
 * One pass over argv: an argument that starts with '-' (and is not "-" alone)
 * is looked up in the table by its long or short name, its value taken from
 * "=value", the rest of a short cluster ("-oFILE") or the next argument, and
 * converted by the option's type; anything else is a positional, moved to the
 * front of argv. The help lines are laid out from the same table.
 */
#include "common/options.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool takes_value(const struct mrl_option *o)
{
	return o->type != MRL_OPT_BOOL && o->type != MRL_OPT_SET_INT && !(o->flags & MRL_OPT_NOARG);
}

/* How the option was written, for messages: "--out" or "-o". */
static void spelled(const struct mrl_option *o, bool as_long, char *buf, size_t size)
{
	if (as_long || !o->short_name)
		snprintf(buf, size, "--%s", o->long_name);
	else
		snprintf(buf, size, "-%c", o->short_name);
}

static int parse_long_value(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int wants_integer(const struct mrl_option *o, const char *name, const char *arg, struct mrl_err *err)
{
	if (o->lo == 0 && o->hi == LONG_MAX)
		return mrl_err_set(err, MRL_EINPUT, "%s wants a non-negative integer, not '%s'", name, arg);
	if (o->lo == 1 && o->hi == LONG_MAX)
		return mrl_err_set(err, MRL_EINPUT, "%s wants a positive integer, not '%s'", name, arg);
	return mrl_err_set(err, MRL_EINPUT, "%s wants an integer in %ld..%ld, not '%s'", name, o->lo, o->hi, arg);
}

/* Store arg (NULL: none given) into the option's value. */
static int set_value(const struct mrl_option *o, const char *name, const char *arg, struct mrl_err *err)
{
	switch (o->type) {
	case MRL_OPT_STRING:
		*(const char **)o->value = arg;
		return 0;
	case MRL_OPT_INTEGER: {
		long v;
		if (parse_long_value(arg, o->lo, o->hi, &v))
			return wants_integer(o, name, arg, err);
		*(long *)o->value = v;
		return 0;
	}
	case MRL_OPT_UINT64: {
		char *end;
		errno = 0;
		unsigned long long v = *arg && *arg != '-' ? strtoull(arg, &end, 10) : 0;
		if (!*arg || *arg == '-' || errno || *end) /* strtoull quietly negates "-1" */
			return mrl_err_set(err, MRL_EINPUT, "%s wants a non-negative integer, not '%s'", name, arg);
		*(uint64_t *)o->value = (uint64_t)v;
		return 0;
	}
	case MRL_OPT_DOUBLE: {
		char *end;
		errno = 0;
		double v = strtod(arg, &end);
		if (errno || end == arg || *end || !isfinite(v))
			return mrl_err_set(err, MRL_EINPUT, "%s wants a number, not '%s'", name, arg);
		*(double *)o->value = v;
		return 0;
	}
	case MRL_OPT_BOOL:
		*(bool *)o->value = true;
		return 0;
	case MRL_OPT_SET_INT:
		*(int *)o->value = (int)o->defval;
		return 0;
	case MRL_OPT_CALLBACK: {
		int rc = o->callback(o, arg, err);
		if (rc && err && !err->msg[0])
			mrl_err_set(err, MRL_EINPUT, "%s: bad value '%s'", name, arg ? arg : "");
		return rc ? MRL_EINPUT : 0;
	}
	case MRL_OPT_END:
	case MRL_OPT_GROUP:
		break;
	}
	return mrl_err_set(err, MRL_EINPUT, "%s: not an option", name);
}

static const struct mrl_option *find_long(const struct mrl_option *opts, const char *name, size_t len)
{
	for (const struct mrl_option *o = opts; o->type != MRL_OPT_END; o++)
		if (o->type != MRL_OPT_GROUP && o->long_name && strlen(o->long_name) == len &&
		    !memcmp(o->long_name, name, len))
			return o;
	return NULL;
}

static const struct mrl_option *find_short(const struct mrl_option *opts, int c)
{
	for (const struct mrl_option *o = opts; o->type != MRL_OPT_END; o++)
		if (o->type != MRL_OPT_GROUP && o->short_name == c)
			return o;
	return NULL;
}

/* One option argument argv[*i] (it starts with '-'); may consume argv[*i + 1]. */
static int parse_one(const struct mrl_option *opts, int argc, char **argv, int *i, struct mrl_err *err)
{
	const char *a = argv[*i], *inline_val = NULL;
	const struct mrl_option *o;
	bool as_long = a[1] == '-';
	if (as_long) {
		const char *eq = strchr(a + 2, '=');
		size_t len = eq ? (size_t)(eq - a - 2) : strlen(a + 2);
		o = find_long(opts, a + 2, len);
		if (!o)
			return mrl_err_set(err, MRL_EINPUT, "unknown option '%.*s'", (int)(len + 2), a);
		inline_val = eq ? eq + 1 : NULL;
	} else {
		o = find_short(opts, (unsigned char)a[1]);
		if (!o)
			return mrl_err_set(err, MRL_EINPUT, "unknown option '%s'", a);
		inline_val = a[2] ? a + 2 : NULL;
	}
	char name[128];
	spelled(o, as_long, name, sizeof name);
	if (!takes_value(o)) {
		if (inline_val)
			return mrl_err_set(err, MRL_EINPUT, as_long ? "%s takes no value" : "unknown option '%s'",
					   as_long ? name : a);
		return set_value(o, name, NULL, err);
	}
	const char *arg = inline_val;
	if (!arg && !(o->flags & MRL_OPT_OPTARG)) {
		if (*i + 1 >= argc)
			return mrl_err_set(err, MRL_EINPUT, "%s needs a value", name);
		arg = argv[++*i];
	}
	if (arg && !*arg && (o->flags & MRL_OPT_NONEMPTY))
		return mrl_err_set(err, MRL_EINPUT, "%s needs a value", name);
	return set_value(o, name, arg, err);
}

int mrl_opts_parse(const struct mrl_option *opts, int argc, char **argv, int *n_args, struct mrl_err *err)
{
	int n = 0;
	bool only_args = false;
	bool own_help = find_long(opts, "help", 4) || find_short(opts, 'h');
	for (int i = 1; i < argc && !own_help && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return MRL_OPTS_HELP;
	for (int i = 1; i < argc; i++) {
		char *a = argv[i];
		if (only_args || a[0] != '-' || !a[1]) {
			argv[n++] = a;
			continue;
		}
		if (!strcmp(a, "--")) {
			only_args = true;
			continue;
		}
		int rc = parse_one(opts, argc, argv, &i, err);
		if (rc)
			return rc;
	}
	*n_args = n;
	return 0;
}

/* ---- help ---- */

struct out {
	char *buf;
	size_t size, len;
};

static void __attribute__((format(printf, 2, 3))) put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = o->len < o->size ? o->size - o->len : 0;
	int n = vsnprintf(room ? o->buf + o->len : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

size_t mrl_opts_help(const struct mrl_option *opts, int width, char *buf, size_t size)
{
	struct out o = { .buf = buf, .size = size };
	if (size)
		buf[0] = '\0';
	for (const struct mrl_option *opt = opts; opt->type != MRL_OPT_END; opt++) {
		if (opt->type == MRL_OPT_GROUP) {
			put(&o, "%s\n", opt->help);
			continue;
		}
		if ((opt->flags & MRL_OPT_HIDDEN) || !opt->help)
			continue;
		char left[256];
		int n = 0;
		if (opt->short_name && opt->long_name)
			n = snprintf(left, sizeof left, "-%c, --%s", opt->short_name, opt->long_name);
		else if (opt->long_name)
			n = snprintf(left, sizeof left, "--%s", opt->long_name);
		else
			n = snprintf(left, sizeof left, "-%c", opt->short_name);
		if (opt->argh && takes_value(opt) && n > 0 && (size_t)n < sizeof left)
			snprintf(left + n, sizeof left - (size_t)n, (opt->flags & MRL_OPT_OPTARG) ? "[=%s]" : " %s",
				 opt->argh);
		int len = (int)strlen(left);
		if (len < width)
			put(&o, "  %-*s", width, left);
		else
			put(&o, "  %s\n%*s", left, width + 2, "");
		for (const char *line = opt->help;;) {
			const char *nl = strchr(line, '\n');
			if (!nl) {
				put(&o, "%s\n", line);
				break;
			}
			put(&o, "%.*s\n%*s", (int)(nl - line), line, width + 2, "");
			line = nl + 1;
		}
	}
	return o.len;
}
