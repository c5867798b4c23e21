/* args.c — the commands' command lines: hrn_options() runs common/options'
 * parser and prints its help or error the same way for every command, and a
 * few value parsers for callbacks and values checked after parsing. Each of
 * those takes the whole string (no trailing junk), returns 0 or -1 and leaves
 * *out alone on failure; the caller words the usage error. */
#include "harness/hrn.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "records/record_json.h"

int hrn_options(const char *cmd, const struct mrl_option *opts, int argc, char **argv, int *n_args,
		void (*usage)(FILE *out, const struct mrl_option *opts))
{
	struct mrl_err err = { 0 };
	int rc = mrl_opts_parse(opts, argc, argv, n_args, &err);
	if (rc == MRL_OPTS_HELP) {
		usage(stdout, opts);
		return HRN_EXIT_OK;
	}
	if (rc)
		return hrn_usage_error(cmd, "%s", err.msg);
	return HRN_OPTS_GO;
}

void hrn_print_options(FILE *out, const struct mrl_option *opts, int width)
{
	char small[4096];
	size_t len = mrl_opts_help(opts, width, small, sizeof small);
	if (len < sizeof small) {
		fputs(small, out);
		return;
	}
	char *big = malloc(len + 1);
	if (!big) { /* out of memory while printing help: print what fits */
		fputs(small, out);
		return;
	}
	mrl_opts_help(opts, width, big, len + 1);
	fputs(big, out);
	free(big);
}

int hrn_parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || end == s || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

int hrn_parse_u64(const char *s, uint64_t *out)
{
	char *end;
	/* strtoull quietly negates "-1" to ULLONG_MAX */
	if (!*s || *s == '-')
		return -1;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

int hrn_parse_double(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || *end || end == s || !isfinite(v))
		return -1;
	*out = v;
	return 0;
}

int hrn_parse_fraction(const char *s, double *out)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || !isfinite(v))
		return -1;
	if (*end == '%' && !end[1])
		v /= 100;
	else if (*end)
		return -1;
	*out = v;
	return 0;
}

const char *hrn_path_extension(const char *path)
{
	const char *slash = strrchr(path, '/'), *name = slash ? slash + 1 : path;
	const char *dot = strrchr(name, '.');
	/* ".json" alone is a hidden file's name, not an extension */
	return dot && dot != name && dot[1] ? dot + 1 : NULL;
}

int hrn_parse_backend(const char *s, enum eng_backend *out)
{
	if (!strcmp(s, "cpu"))
		*out = ENG_BACKEND_CPU;
	else if (!strcmp(s, "cuda"))
		*out = ENG_BACKEND_CUDA;
	else
		return -1;
	return 0;
}

int hrn_opt_backend(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	if (hrn_parse_backend(arg, opt->value))
		return mrl_err_set(err, MRL_EINPUT, "--%s wants cpu or cuda, not '%s'", opt->long_name, arg);
	return 0;
}

int hrn_split_list(const char *s, char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	char *copy = strdup(s), *save = NULL;
	if (!copy)
		return MRL_ENOMEM;
	int rc = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok && !rc; tok = strtok_r(NULL, ",", &save))
		if (*tok)
			rc = rec_strlist_add(out, n, tok);
	free(copy);
	if (rc) {
		hrn_free_list(*out, *n);
		*out = NULL;
		*n = 0;
	}
	return rc;
}

void hrn_free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int hrn_opt_kv_cache(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	if (strcmp(arg, "f16") && strcmp(arg, "f32"))
		return mrl_err_set(err, MRL_EINPUT, "--%s wants f16 or f32, not '%s'", opt->long_name, arg);
	*(const char **)opt->value = arg[1] == '1' ? "f16" : "f32";
	return 0;
}

/* Edit distance (Levenshtein) of a and b, capped at 63 characters each. */
static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a) < 63 ? strlen(a) : 63, lb = strlen(b) < 63 ? strlen(b) : 63, row[64];
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j], best = diag + (a[i - 1] != b[j - 1]);
			best = up + 1 < best ? up + 1 : best;
			best = row[j - 1] + 1 < best ? row[j - 1] + 1 : best;
			row[j] = best;
			diag = up;
		}
	}
	return row[lb];
}

const char *hrn_closest_name(const char *name, const char *const *valid, size_t n)
{
	const char *best = NULL;
	size_t best_d = strlen(name) / 3 > 2 ? strlen(name) / 3 : 2;
	for (size_t i = 0; i < n; i++)
		if (!strcasecmp(name, valid[i]))
			return valid[i];
	for (size_t i = 0; i < n; i++) {
		size_t d = edit_distance(name, valid[i]);
		if (d <= best_d)
			best = valid[i], best_d = d;
	}
	return best;
}
