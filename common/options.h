/* options.h — one command-line parser for every command, driven by a table.
 *
 * Modelled on git's parse-options.h: a command declares its options once,
 *
 *   const char *out = NULL; long n = 0; bool quiet = false;
 *   const struct mrl_option opts[] = {
 *       OPT_STRING('o', "out", &out, "DIR", "the run folder"),
 *       OPT_INTEGER(0, "limit", &n, 0, 1000, "N", "the first N items"),
 *       OPT_BOOL('q', "quiet", &quiet, "no progress line"),
 *       OPT_END(),
 *   };
 *
 * and the same table drives the parser (mrl_opts_parse: `--name value`,
 * `--name=value`, `-o value`, `-oVALUE`, `--` and positionals anywhere; an
 * unknown option, a missing or malformed value, an integer out of range are
 * one-line messages naming the option) and the option lines of --help
 * (mrl_opts_help). Like every library here it never prints: errors go into a
 * struct mrl_err, the help text into a caller's buffer; the harness prints.
 */
#ifndef MRL_OPTIONS_H
#define MRL_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

enum mrl_opt_type {
	MRL_OPT_END = 0,
	MRL_OPT_GROUP,    /* not an option: a line of the help text, verbatim */
	MRL_OPT_STRING,   /* const char ** = the value (a pointer into argv) */
	MRL_OPT_INTEGER,  /* long *, decimal, checked against [lo, hi] */
	MRL_OPT_UINT64,   /* uint64_t *, decimal, no sign */
	MRL_OPT_DOUBLE,   /* double *, finite (strtod syntax); ranges are the caller's */
	MRL_OPT_BOOL,     /* bool * = true; takes no value */
	MRL_OPT_SET_INT,  /* int * = defval; takes no value */
	MRL_OPT_CALLBACK, /* callback(opt, value) for repeatable or special values */
};

/* flags */
#define MRL_OPT_NOARG    1    /* a callback that takes no value (called with NULL) */
#define MRL_OPT_OPTARG   2    /* the value is optional and only given as --name=value */
#define MRL_OPT_NONEMPTY 4    /* an empty value ("") is refused as missing */
#define MRL_OPT_HIDDEN   8    /* accepted, not listed by mrl_opts_help */

struct mrl_option;

/* A callback gets the option and its value (NULL for MRL_OPT_NOARG, or an
 * MRL_OPT_OPTARG given without '='); it returns 0, or a negative code with a
 * whole one-line message in err (naming the option: "--lang wants TAG=FILE"). */
typedef int (*mrl_opt_cb)(const struct mrl_option *opt, const char *arg, struct mrl_err *err);

struct mrl_option {
	enum mrl_opt_type type;
	int short_name;        /* 'o', or 0 */
	const char *long_name; /* "out" (without dashes), or NULL */
	void *value;           /* where the value goes; see enum mrl_opt_type */
	const char *argh;      /* the value's name in the help ("DIR"); NULL for none */
	const char *help;      /* help text; '\n' continues it on the next line, aligned */
	int flags;             /* MRL_OPT_* above */
	long lo, hi;           /* MRL_OPT_INTEGER's range, inclusive */
	long defval;           /* MRL_OPT_SET_INT's value */
	mrl_opt_cb callback;   /* MRL_OPT_CALLBACK */
};

#define OPT_END() { .type = MRL_OPT_END }
#define OPT_GROUP(text) { .type = MRL_OPT_GROUP, .help = (text) }
#define OPT_STRING(s, l, v, a, h) \
	{ .type = MRL_OPT_STRING, .short_name = (s), .long_name = (l), .value = (v), .argh = (a), .help = (h) }
#define OPT_STRING_F(s, l, v, a, h, f) \
	{ .type = MRL_OPT_STRING, .short_name = (s), .long_name = (l), .value = (v), .argh = (a), .help = (h), .flags = (f) }
#define OPT_INTEGER(s, l, v, min, max, a, h)                                                                   \
	{ .type = MRL_OPT_INTEGER, .short_name = (s), .long_name = (l), .value = (v), .argh = (a), .help = (h), \
	  .lo = (min), .hi = (max) }
#define OPT_UINT64(s, l, v, a, h) \
	{ .type = MRL_OPT_UINT64, .short_name = (s), .long_name = (l), .value = (v), .argh = (a), .help = (h) }
#define OPT_DOUBLE(s, l, v, a, h) \
	{ .type = MRL_OPT_DOUBLE, .short_name = (s), .long_name = (l), .value = (v), .argh = (a), .help = (h) }
#define OPT_BOOL(s, l, v, h) { .type = MRL_OPT_BOOL, .short_name = (s), .long_name = (l), .value = (v), .help = (h) }
#define OPT_SET_INT(s, l, v, i, h) \
	{ .type = MRL_OPT_SET_INT, .short_name = (s), .long_name = (l), .value = (v), .help = (h), .defval = (i) }
#define OPT_CALLBACK(s, l, v, a, h, cb) \
	{ .type = MRL_OPT_CALLBACK, .short_name = (s), .long_name = (l), .value = (v), .argh = (a), .help = (h), \
	  .callback = (cb) }
#define OPT_CALLBACK_F(s, l, v, a, h, f, cb) \
	{ .type = MRL_OPT_CALLBACK, .short_name = (s), .long_name = (l), .value = (v), .argh = (a), .help = (h), \
	  .flags = (f), .callback = (cb) }

/* mrl_opts_parse's answer when -h or --help was given (before any error). */
#define MRL_OPTS_HELP 1

/* Parse argv[1..argc-1] (argv[0] is the command's name) against opts (ended
 * by OPT_END()). Options and positionals may be mixed; after "--" everything
 * is positional, and so is a lone "-". The positionals are moved, in order,
 * to argv[0..*n_args-1] (the array is reordered, the strings untouched).
 * -h and --help (unless the table has them) end the parse at once.
 * Returns 0; MRL_OPTS_HELP; or MRL_EINPUT with err holding one line such as
 * "unknown option '--frob'", "--model needs a value",
 * "--limit wants an integer in 0..100, not 'x'" (or a callback's message).
 * Values are stored as they are met: a later repetition wins. */
int mrl_opts_parse(const struct mrl_option *opts, int argc, char **argv, int *n_args, struct mrl_err *err);

/* The option lines of a help text: for each listed option, two spaces, the
 * option ("-o, --out DIR", "--roofline[=ARG]") padded to width columns (or
 * alone on its line when it is longer than width - 1), then its help, whose
 * further lines are indented to the same column; OPT_GROUP lines verbatim.
 * Writes at most size bytes with a NUL (like snprintf) and returns the
 * length of the whole text. */
size_t mrl_opts_help(const struct mrl_option *opts, int width, char *buf, size_t size);

#endif
