/* mrl_options.c — common/options: the table-driven option parser and the help
 * lines it lays out. One function per behaviour; argv vectors are built here. */
#include "common/options.h"

#include <limits.h>

#include "tests/tap.h"

struct vals {
	const char *out, *name;
	long n;
	uint64_t seed;
	double alpha;
	bool quiet;
	int mode;
	int n_lang;
	const char *langs[4];
};

static int add_lang(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	struct vals *v = opt->value;
	if (!strchr(arg, '='))
		return mrl_err_set(err, MRL_EINPUT, "--lang wants TAG=FILE, not '%s'", arg);
	if (v->n_lang == 4)
		return mrl_err_set(err, MRL_EINPUT, "--lang: at most 4");
	v->langs[v->n_lang++] = arg;
	return 0;
}

static struct vals v;
static const struct mrl_option opts[] = {
	OPT_STRING('o', "out", &v.out, "DIR", "output folder"),
	OPT_STRING_F(0, "name", &v.name, "NAME", "a name\nover two lines", MRL_OPT_NONEMPTY),
	OPT_INTEGER('n', "limit", &v.n, 0, 100, "N", "the first N items"),
	OPT_UINT64(0, "seed", &v.seed, "N", "seed"),
	OPT_DOUBLE(0, "alpha", &v.alpha, "A", "level"),
	OPT_BOOL('q', "quiet", &v.quiet, "no progress"),
	OPT_GROUP("modes:"),
	OPT_SET_INT(0, "fast", &v.mode, 2, "the fast mode"),
	OPT_CALLBACK(0, "lang", &v, "TAG=FILE", "a language (repeatable)", add_lang),
	OPT_BOOL(0, "secret", &v.quiet, NULL),
	OPT_END(),
};

/* Parse a space-separated command line (argv[0] = "cmd"); returns the parser's code. */
static int parse(const char *line, int *n_args, char **args, struct mrl_err *err)
{
	static char buf[512];
	static char *argv[32];
	int argc = 0;
	snprintf(buf, sizeof buf, "cmd %s", line);
	for (char *tok = strtok(buf, " "); tok && argc < 32; tok = strtok(NULL, " "))
		argv[argc++] = strcmp(tok, "''") ? tok : (char *)"";
	memset(&v, 0, sizeof v);
	mrl_err_clear(err);
	int rc = mrl_opts_parse(opts, argc, argv, n_args, err);
	for (int i = 0; !rc && i < *n_args; i++)
		args[i] = argv[i];
	return rc;
}

static void test_values_in_both_spellings(void)
{
	struct mrl_err err;
	char *args[32];
	int n;
	is_int(parse("--out a --limit=7 --seed 18446744073709551615 --alpha 0.05 -q", &n, args, &err), 0,
	       "long options with separate and = values parse");
	is_str(v.out, "a", "--out a");
	is_int(v.n, 7, "--limit=7");
	ok(v.seed == UINT64_MAX, "--seed takes all of uint64");
	is_near(v.alpha, 0.05, 0, "--alpha 0.05");
	ok(v.quiet, "-q sets the bool");
	is_int(n, 0, "no positionals");
}

static void test_short_forms(void)
{
	struct mrl_err err;
	char *args[32];
	int n;
	is_int(parse("-o x -n5", &n, args, &err), 0, "-o x and -n5 parse");
	is_str(v.out, "x", "-o x");
	is_int(v.n, 5, "-n5: the value glued to the short name");
}

static void test_positionals_and_double_dash(void)
{
	struct mrl_err err;
	char *args[32] = { 0 }; /* a failed parse writes none: the checks below then fail, not read garbage */
	int n = 0;
	is_int(parse("a --quiet b - -- --out c", &n, args, &err), 0, "positionals among options, '-' and '--'");
	is_int(n, 5, "five positionals");
	is_str(args[0], "a", "first");
	is_str(args[1], "b", "second");
	is_str(args[2], "-", "a lone '-' is positional");
	is_str(args[3], "--out", "after '--' an option name is positional");
	ok(v.out == NULL, "and is not parsed");
}

static void test_later_wins_and_set_int(void)
{
	struct mrl_err err;
	char *args[32];
	int n;
	is_int(parse("--out a --out b --fast", &n, args, &err), 0, "repeated option");
	is_str(v.out, "b", "the later value wins");
	is_int(v.mode, 2, "OPT_SET_INT stores its value");
}

static void test_callback_repeatable(void)
{
	struct mrl_err err;
	char *args[32];
	int n;
	is_int(parse("--lang hr=a.jsonl --lang=sr=b.jsonl", &n, args, &err), 0, "a repeatable callback option");
	is_int(v.n_lang, 2, "called twice");
	is_str(v.langs[1], "sr=b.jsonl", "--lang=VALUE keeps the second '='");
	is_int(parse("--lang hr", &n, args, &err), MRL_EINPUT, "the callback refuses a bad value");
	is_str(err.msg, "--lang wants TAG=FILE, not 'hr'", "with its own message");
}

static void test_errors_name_the_option(void)
{
	struct mrl_err err;
	char *args[32];
	int n;
	is_int(parse("--frob", &n, args, &err), MRL_EINPUT, "an unknown long option is refused");
	is_str(err.msg, "unknown option '--frob'", "naming it");
	is_int(parse("--frob=1", &n, args, &err), MRL_EINPUT, "unknown with a value");
	is_str(err.msg, "unknown option '--frob'", "named without its value");
	is_int(parse("-x", &n, args, &err), MRL_EINPUT, "an unknown short option is refused");
	is_str(err.msg, "unknown option '-x'", "naming it");
	is_int(parse("--out", &n, args, &err), MRL_EINPUT, "a missing value is refused");
	is_str(err.msg, "--out needs a value", "naming the option");
	is_int(parse("--name ''", &n, args, &err), MRL_EINPUT, "an empty value where it must not be");
	is_str(err.msg, "--name needs a value", "is a missing one");
	is_int(parse("--quiet=yes", &n, args, &err), MRL_EINPUT, "a value for a bool is refused");
	is_str(err.msg, "--quiet takes no value", "saying so");
}

static void test_integer_ranges(void)
{
	struct mrl_err err;
	char *args[32];
	int n;
	is_int(parse("--limit 101", &n, args, &err), MRL_EINPUT, "above the range");
	is_str(err.msg, "--limit wants an integer in 0..100, not '101'", "the message gives the range");
	is_int(parse("-n -1", &n, args, &err), MRL_EINPUT, "below the range");
	is_str(err.msg, "-n wants an integer in 0..100, not '-1'", "named as written");
	is_int(parse("--limit 5x", &n, args, &err), MRL_EINPUT, "trailing junk");
	is_int(parse("--limit 99999999999999999999", &n, args, &err), MRL_EINPUT, "overflow");
	is_int(parse("--seed -1", &n, args, &err), MRL_EINPUT, "a sign on an unsigned value");
	is_str(err.msg, "--seed wants a non-negative integer, not '-1'", "refused, not wrapped");
	is_int(parse("--alpha nan", &n, args, &err), MRL_EINPUT, "a double must be finite");
	is_str(err.msg, "--alpha wants a number, not 'nan'", "saying so");
}

static void test_help(void)
{
	struct mrl_err err;
	char *args[32];
	int n;
	is_int(parse("--frob --help", &n, args, &err), MRL_OPTS_HELP, "--help wins over an error");
	is_int(parse("-h", &n, args, &err), MRL_OPTS_HELP, "-h is help");
	is_int(parse("-- --help", &n, args, &err), 0, "after '--' it is positional");
}

static void test_help_lines(void)
{
	char buf[1024];
	size_t len = mrl_opts_help(opts, 14, buf, sizeof buf);
	is_str(buf,
	       "  -o, --out DIR output folder\n"
	       "  --name NAME   a name\n"
	       "                over two lines\n"
	       "  -n, --limit N the first N items\n"
	       "  --seed N      seed\n"
	       "  --alpha A     level\n"
	       "  -q, --quiet   no progress\n"
	       "modes:\n"
	       "  --fast        the fast mode\n"
	       "  --lang TAG=FILE\n"
	       "                a language (repeatable)\n",
	       "the help lines: aligned, continued, long ones alone, hidden ones left out");
	is_int((long)len, (long)strlen(buf), "the length returned is the text's");
	char small[8];
	is_int((long)mrl_opts_help(opts, 14, small, sizeof small), (long)len, "a short buffer still gets the length");
	is_int((long)strlen(small), 7, "and a cut, terminated text");
}

int main(void)
{
	test_values_in_both_spellings();
	test_short_forms();
	test_positionals_and_double_dash();
	test_later_wins_and_set_int();
	test_callback_repeatable();
	test_errors_name_the_option();
	test_integer_ranges();
	test_help();
	test_help_lines();
	return done_testing();
}
