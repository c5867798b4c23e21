/* bench_ab.c — the A/B performance gate: `merilo bench --ab BASE`, and the
 * performance deltas that `merilo compare` shows when both runs carry bench records.
 *
 * The idea: a gate that fails a build must not cry wolf on a noisy shared machine.
 * So A (this binary and --model) and B (BASE: another merilo binary, or another
 * model) are measured interleaved, as pairs whose order alternates (A B, B A, A B,
 * ...: measure_pair); the first pair(s) are warm-ups and dropped. Per test, each pair gives r = log(A time / B time) (time
 * per token = 1 / the median tokens/s of the repetitions in that measurement), and
 * the gate fails only when BOTH the percentile-bootstrap CI of the median r lies
 * wholly above log(1 + threshold) AND the Wilcoxon signed-rank p < alpha: an
 * effect that is large, and one that is consistent across pairs. A slow outlier
 * pair moves neither the median nor the ranks much.
 *
 * A binary BASE is run as `BASE bench --format json --out FILE ...` and, so that
 * both sides pay the same (process start, model load, page cache), A is run the
 * same way from /proc/self/exe. A model BASE runs in this process: both models
 * open, one context each, the tests of bench_run.c called alternately.
 *
 * --deterministic gates on instruction counts of `merilo generate` (a short
 * prefill + decode on one thread, --quiet: no progress line, whose figures are
 * times) instead of time: PAPI_TOT_INS (inheriting into
 * the child), else `perf stat -e instructions:u`, else valgrind (cachegrind, no
 * cache simulation: total Ir). The source used is reported.
 *
 * The statistics of the gate and compare's performance deltas are in
 * bench_ab_stats.c.
 */
#include "harness/bench.h"
#include "harness/bench_ab_int.h"
#include "harness/hrn.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fileio.h"
#include "common/sort.h"

extern char **environ;

/* even, so that as many pairs run A first as B first (measure_pair) */
#define AB_DEFAULT_PAIRS 10

/* ================================================================ the command */


static void ab_usage(FILE *out, const struct mrl_option *opts)
{
	fprintf(out,
		"usage: merilo bench --ab BASE --model M [--pairs 10] [--threshold 5%%] [--alpha 0.01]\n"
		"                    [--test pp128,tg32] [--threads N] [--reps 3] [--warmup 1] [--ab-warmup 1]\n"
		"                    [--seed 1234] [--format md|json] [-o FILE]\n"
		"       merilo bench --ab BASE --model M --deterministic [--threshold 1%%]\n"
		"                    [--ins-source auto|papi|perf|valgrind] [--det-gen 8]\n"
		"\n"
		"A/B performance gate. M is a model: a GGUF file or an HF folder. BASE is another merilo\n"
		"binary (run as 'BASE bench --format json ...' with the same settings; this binary is run\n"
		"the same way) or another model (both models run in this process). A and B are measured\n"
		"in pairs whose order alternates (AB, BA, AB, ...), --pairs times after --ab-warmup\n"
		"discarded pairs; each measurement is the median of --reps repetitions (after --warmup\n"
		"untimed ones). Per test: r = log(A time per token / B time per token), its median with\n"
		"a 95%% bootstrap CI, and the Wilcoxon signed-rank p. The gate FAILS (exit 1) only when\n"
		"the CI's lower bound is above log(1 + threshold) (A slower by more than the threshold) AND\n"
		"p < alpha. Exit 0: no regression (improvements are reported).\n");
	hrn_print_options(out, opts, 19);
	fprintf(out,
		"exit codes: 0 pass, 1 regression, 2 usage, 3 bad BASE or model, 4 runtime failure.\n"
		"Rules and the measured false-alarm rate: docs/perf-gate.md.\n");
}

static int parse_test(const char *tok, struct ab_test *t)
{
	char *end;
	memset(t, 0, sizeof *t);
	if (!strncmp(tok, "pp", 2) || !strncmp(tok, "tg", 2)) {
		t->kind = tok[0] == 'p' ? T_PP : T_TG;
		errno = 0;
		long n = strtol(tok + 2, &end, 10);
		if (errno || end == tok + 2 || n < 1 || n > (1 << 20))
			return -1;
		long d = 0;
		if (t->kind == T_TG && !strncmp(end, "@d", 2)) {
			const char *ds = end + 2;
			d = strtol(ds, &end, 10);
			if (end == ds || d < 0 || d > (1 << 20))
				return -1;
		}
		if (*end)
			return -1;
		t->n = (uint32_t)n;
		t->depth = (uint32_t)d;
		if (t->kind == T_PP)
			snprintf(t->name, sizeof t->name, "pp%u", t->n);
		else
			snprintf(t->name, sizeof t->name, "tg%u@d%u", t->n, t->depth);
		return 0;
	}
	return -1;
}

/* The --ab options whose values are checked on the spot, each with its message
 * (opt->value is the struct ab_opts). */
static int ab_opt_pairs(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	struct ab_opts *o = opt->value;
	if (hrn_parse_int(arg, 1, 10000, &o->pairs))
		return mrl_err_set(err, MRL_EINPUT, "--pairs wants an integer in 1..10000, not '%s'", arg);
	o->have_pairs = true;
	return 0;
}

/* The fewest pairs with which the gate can fire at this alpha: the exact two-sided
 * signed-rank p is 2/2^n when all n pairs agree and 4/2^n when all but the one of the
 * smallest rank do; n is the least with 4/2^n < alpha, so that p < alpha is reachable
 * by more than one pattern of signs (alpha 0.01: 9 pairs). */
static long ab_min_pairs(double alpha)
{
	long n = 1;
	while (n < 10000 && !(ldexp(4.0, (int)-n) < alpha))
		n++;
	return n;
}

static int ab_opt_threshold(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	struct ab_opts *o = opt->value;
	if (hrn_parse_fraction(arg, &o->gate.threshold) || !(o->gate.threshold >= 0 && o->gate.threshold < 10))
		return mrl_err_set(err, MRL_EINPUT, "--threshold wants a percentage ('5%%') or a fraction ('0.05'), not '%s'",
				   arg);
	o->have_threshold = true;
	return 0;
}

static int ab_opt_alpha(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	struct ab_opts *o = opt->value;
	if (hrn_parse_double(arg, &o->gate.alpha) || !(o->gate.alpha > 0 && o->gate.alpha < 1))
		return mrl_err_set(err, MRL_EINPUT, "--alpha wants a number in (0, 1), not '%s'", arg);
	return 0;
}

static int ab_opt_threads(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	struct ab_opts *o = opt->value;
	if (hrn_parse_int(arg, 1, 1024, &o->threads))
		return mrl_err_set(err, MRL_EINPUT, "--ab takes one thread count in 1..1024, not '%s'", arg);
	return 0;
}

static int ab_opt_format(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	struct ab_opts *o = opt->value;
	o->format = hrn_bench_format_parse(arg);
	if (o->format != HRN_BENCH_MD && o->format != HRN_BENCH_JSON)
		return mrl_err_set(err, MRL_EINPUT, "--ab writes md or json, not '%s'", arg);
	return 0;
}

static int ab_opt_ins_source(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	struct ab_opts *o = opt->value;
	if (strcmp(arg, "auto") && strcmp(arg, "papi") && strcmp(arg, "perf") && strcmp(arg, "valgrind"))
		return mrl_err_set(err, MRL_EINPUT, "--ins-source wants auto, papi, perf or valgrind, not '%s'", arg);
	o->ins_source = arg;
	return 0;
}

/* --test LIST into o->tests. Returns HRN_OPTS_GO or an exit code. */
static int ab_parse_tests(const char *test_list, struct ab_opts *o)
{
	char buf[512];
	if (snprintf(buf, sizeof buf, "%s", test_list) >= (int)sizeof buf)
		return hrn_usage_error("bench", "--test list too long");
	char *save = NULL;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (o->n_tests == AB_MAX_TESTS || parse_test(t, &o->tests[o->n_tests]))
			return hrn_usage_error("bench", "--test wants ppN, tgN or tgN@dD (at most %d), not '%s'", AB_MAX_TESTS, t);
		for (int j = 0; j < o->n_tests; j++) /* measured and judged twice */
			if (!strcmp(o->tests[j].name, o->tests[o->n_tests].name))
				return hrn_usage_error("bench", "--test '%s': %s is given twice", test_list, t);
		o->n_tests++;
	}
	if (!o->n_tests)
		return hrn_usage_error("bench", "--test: no test given");
	return HRN_OPTS_GO;
}

/* Returns HRN_OPTS_GO, or the exit code to return at once. */
static int ab_parse(int argc, char **argv, struct ab_opts *o)
{
	memset(o, 0, sizeof *o);
	hrn_ab_opts_init(&o->gate);
	o->pairs = AB_DEFAULT_PAIRS, o->warmup_pairs = 1, o->reps = 3, o->warmup = 1, o->seed = HRN_DEFAULT_SEED, o->threads = 1;
	o->det_gen = 8;
	o->ins_source = "auto";
	o->format = -1; /* not given: from --out's extension, else md */
	const char *test_list = "pp128,tg32";
	const struct mrl_option opts[] = {
		OPT_STRING(0, "ab", &o->base, "BASE", NULL),
		OPT_STRING('m', "model", &o->model, "M", NULL),
		OPT_CALLBACK(0, "pairs", o, "N", NULL, ab_opt_pairs),
		OPT_INTEGER(0, "ab-warmup", &o->warmup_pairs, 0, 100, "N", NULL),
		OPT_CALLBACK(0, "threshold", o, "T", NULL, ab_opt_threshold),
		OPT_CALLBACK(0, "alpha", o, "A", NULL, ab_opt_alpha),
		OPT_STRING(0, "test", &test_list, "LIST",
			   "ppN (prefill of N tokens), tgN or tgN@dD (N decode steps after D); default\npp128,tg32"),
		OPT_CALLBACK('t', "threads", o, "N", NULL, ab_opt_threads),
		OPT_INTEGER('r', "reps", &o->reps, 1, 1000, "N", NULL),
		OPT_INTEGER(0, "warmup", &o->warmup, 0, 1000, "N", NULL),
		OPT_INTEGER(0, "seed", &o->seed, 0, LONG_MAX, "N", NULL),
		OPT_CALLBACK(0, "format", o, "F", "md or json; default: the one --out's extension names, else md",
			     ab_opt_format),
		OPT_STRING('o', "out", &o->out, "FILE", "write the verdict to FILE (missing folders are made), not stdout"),
		OPT_BOOL(0, "deterministic", &o->deterministic,
			 "gate on instruction counts of 'merilo generate --model M' (a short\n"
			 "prompt + --det-gen tokens, 1 thread): PAPI_TOT_INS, else perf\n"
			 "'instructions:u', else valgrind cachegrind (Ir); the source is reported.\n"
			 "Default threshold 1%. valgrind needed but absent: exit 4.\n"
			 "$MERILO_VALGRIND, $MERILO_PERF: the programs (default: from PATH)."),
		OPT_CALLBACK(0, "ins-source", o, "S", NULL, ab_opt_ins_source),
		OPT_INTEGER(0, "det-gen", &o->det_gen, 1, 4096, "N", NULL),
		OPT_BOOL('q', "quiet", &o->quiet, "no progress line per pair on stderr (the closing PASS/FAIL line\n"
			 "and errors are still printed)"),
		OPT_END(),
	};
	int n_args, rc = hrn_options("bench", opts, argc, argv, &n_args, ab_usage);
	if (rc != HRN_OPTS_GO)
		return rc;
	if (n_args)
		return hrn_usage_error("bench", "--ab: unexpected argument '%s' (merilo bench --ab BASE --help)", argv[0]);
	if (!o->base)
		return hrn_usage_error("bench", "--ab needs BASE: a merilo binary or a model file");
	if (!o->model)
		return hrn_usage_error("bench", "--ab needs --model");
	struct mrl_err err = { 0 };
	if (hrn_bench_format_resolve(&o->format, o->out, &err))
		return hrn_usage_error("bench", "%s", err.msg);
	if (o->format != HRN_BENCH_MD && o->format != HRN_BENCH_JSON)
		return hrn_usage_error("bench", "--ab writes md or json, not the %s that --out %s names", hrn_path_extension(o->out),
				       o->out);
	if (o->deterministic && !o->have_threshold)
		o->gate.threshold = 0.01;
	const long min_pairs = ab_min_pairs(o->gate.alpha);
	if (!o->deterministic && o->have_pairs && o->pairs < min_pairs)
		return hrn_usage_error("bench", "--pairs %ld is too few for alpha %g: the signed-rank test needs at least "
				       "%ld pairs for p < %g", o->pairs, o->gate.alpha, min_pairs, o->gate.alpha);
	if (!o->have_pairs && o->pairs < min_pairs) /* a small --alpha raises the default, kept even */
		o->pairs = min_pairs + min_pairs % 2;
	return ab_parse_tests(test_list, o);
}

/* ---------------------------------------------------------------- processes */

struct tmpdir {
	char dir[PATH_MAX];
};

static int tmp_path(const struct tmpdir *t, const char *name, char *out, size_t size)
{
	return snprintf(out, size, "%s/%s", t->dir, name) >= (int)size ? -1 : 0;
}

static void tmpdir_remove(struct tmpdir *t)
{
	static const char *const names[] = { "a.json", "b.json", "stderr.txt", "perf.txt" };
	char p[PATH_MAX + 32];
	if (!t->dir[0])
		return;
	for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
		snprintf(p, sizeof p, "%s/%s", t->dir, names[i]);
		unlink(p);
	}
	rmdir(t->dir);
	t->dir[0] = '\0';
}

/* Run argv[0] (looked up in PATH) with stdout to /dev/null and stderr to
 * stderr_path; *status gets the wait status. Returns 0, or MRL_ERUNTIME when it
 * could not be started (errno in *spawn_errno). */
static int spawn_wait(char *const argv[], const char *stderr_path, int *status, int *spawn_errno, struct mrl_err *err)
{
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, stderr_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	pid_t pid;
	int e = posix_spawnp(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	*spawn_errno = e;
	if (e)
		return mrl_err_set(err, MRL_ERUNTIME, "cannot run %s: %s", argv[0], strerror(e));
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return mrl_err_set(err, MRL_ERUNTIME, "waiting for %s: %s", argv[0], strerror(errno));
	return 0;
}

/* The last line of a captured stderr, for messages. */
static void last_line(const char *path, char *out, size_t size)
{
	char *text = NULL;
	size_t len = 0;
	struct mrl_err e = { 0 };
	out[0] = '\0';
	if (mrl_read_file(path, 1 << 20, &text, &len, &e))
		return;
	while (len && (text[len - 1] == '\n' || text[len - 1] == '\r'))
		text[--len] = '\0';
	char *nl = strrchr(text, '\n');
	snprintf(out, size, "%s", nl ? nl + 1 : text);
	free(text);
}

static void status_text(int status, char *out, size_t size)
{
	if (WIFEXITED(status))
		snprintf(out, size, "exit %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		snprintf(out, size, "signal %d", WTERMSIG(status));
	else
		snprintf(out, size, "status %d", status);
}

/* ---------------------------------------------------------------- timed mode */

struct side {
	const char *label;       /* "A" / "B" */
	const char *exe;         /* subprocess mode: the merilo binary */
	const char *model;
	/* in-process mode */
	struct eng_model *m;
	struct eng_ctx *c;
	float *logits;
	struct hrn_bench_env env;
};

static void side_close(struct side *s)
{
	eng_ctx_free(s->c);
	eng_model_close(s->m);
	free(s->logits);
	s->c = NULL;
	s->m = NULL;
	s->logits = NULL;
}

static uint32_t ctx_need(const struct ab_opts *o)
{
	uint32_t need = 1;
	for (int i = 0; i < o->n_tests; i++) {
		uint32_t k = o->tests[i].kind == T_PP ? o->tests[i].n : o->tests[i].n + o->tests[i].depth;
		need = k > need ? k : need;
	}
	return need;
}

static int side_open(struct side *s, const struct ab_opts *o, struct mrl_err *err)
{
	struct eng_open_opts eo = { .n_threads = (int)o->threads, .backend = ENG_BACKEND_CPU };
	int rc = eng_model_open(&s->m, s->model, &eo, err);
	if (rc)
		return rc;
	hrn_print_model_warnings(s->m);
	struct eng_model_desc md;
	eng_model_describe(s->m, &md);
	if (!md.has_weights)
		return mrl_err_set(err, MRL_EINPUT, "%s: a vocabulary-only model has no weights to benchmark", s->model);
	if ((rc = eng_ctx_new(&s->c, s->m, ctx_need(o), err)))
		return rc;
	if (!(s->logits = malloc((size_t)md.n_vocab * sizeof *s->logits)))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory for the logits");
	struct hrn_bench_env *e = &s->env;
	memset(e, 0, sizeof *e);
	if ((rc = hrn_bench_shape_of(s->m, &e->shape, err)))
		return rc;
	e->model = s->m;
	e->ctx = s->c;
	e->backend = "cpu";
	e->threads = (int)o->threads;
	e->reps = (int)o->reps;
	e->warmup = (int)o->warmup;
	e->seed = (uint64_t)o->seed;
	e->n_vocab = md.n_vocab;
	e->logits = s->logits;
	e->energy_window_s = 0;
	return 0;
}

/* Median tokens/s of the test in a bench document. */
static int doc_tps(const struct hrn_bench_doc *d, const struct ab_test *t, long threads, const char *who, double *tps,
		   struct mrl_err *err)
{
	const struct hrn_bench_result *r = hrn_ab_find_result(d, t->name, threads);
	const struct hrn_bench_series *s = r ? hrn_bench_result_series(r, "tokens_per_s") : NULL;
	if (!s || !s->n || !(s->st.median > 0))
		return mrl_err_set(err, MRL_ERUNTIME, "%s: its bench record has no tokens_per_s for %s at %ld threads", who,
				   t->name, threads);
	*tps = s->st.median;
	return 0;
}

/* One in-process measurement of one test on one side. */
static int measure_inproc(struct side *s, const struct ab_test *t, long threads, double *tps, struct mrl_err *err)
{
	struct hrn_bench_doc d;
	hrn_bench_doc_init(&d);
	int rc = t->kind == T_PP ? hrn_bench_run_pp(&s->env, t->n, &d, err)
				 : hrn_bench_run_tg(&s->env, t->n, t->depth, &d, err);
	if (!rc)
		rc = doc_tps(&d, t, threads, s->model, tps, err);
	hrn_bench_doc_release(&d);
	return rc;
}

static void list_append(char *buf, size_t size, uint32_t v)
{
	size_t len = strlen(buf);
	char item[16];
	snprintf(item, sizeof item, "%u", v);
	for (const char *p = buf; *p;) { /* already listed? */
		size_t k = strcspn(p, ",");
		if (k == strlen(item) && !strncmp(p, item, k))
			return;
		p += k + (p[k] == ',');
	}
	snprintf(buf + len, size - len, "%s%s", len ? "," : "", item);
}

/* The bench record a side's binary wrote to out_path (our temporary file) into d.
 * A binary that exits 0 without writing one (not a merilo: /bin/true) or writes
 * one that does not read is named with its exit status and its last stderr
 * line, not the temporary file (MRL_EINPUT: a bad BASE, exit 3). */
static int read_record(const struct side *s, const char *out_path, const char *err_path, int status,
		       struct hrn_bench_doc *d, struct mrl_err *err)
{
	char why[512], st[64];
	const char *who = s->label[0] == 'B' ? "BASE" : "the candidate";
	last_line(err_path, why, sizeof why);
	status_text(status, st, sizeof st);
	if (access(out_path, F_OK))
		return mrl_err_set(err, MRL_EINPUT, "%s %s wrote no bench record (%s%s%s): it was run as '%s bench ... "
				   "--format json --out FILE'; is it a merilo binary?", who, s->exe, st, why[0] ? "; " : "", why,
				   s->exe);
	int rc = hrn_bench_read(out_path, d, err);
	if (rc) {
		/* the reader's message starts with our temporary path: say whose record it is instead */
		size_t n = strlen(out_path);
		char msg[sizeof err->msg];
		snprintf(msg, sizeof msg, "%s", !strncmp(err->msg, out_path, n) && !strncmp(err->msg + n, ": ", 2)
							  ? err->msg + n + 2 : err->msg);
		mrl_err_set(err, MRL_EINPUT, "%s %s wrote a bench record that does not read (%s): %s", who, s->exe, st, msg);
	}
	return rc ? MRL_EINPUT : 0;
}

/* One subprocess measurement: every test of o, one bench run of exe on model. */
static int measure_subproc(const struct side *s, const struct ab_opts *o, const struct tmpdir *td, double *tps,
			   struct mrl_err *err)
{
	char prompt[512] = "", gen[512] = "", depth[512] = "", threads[16], reps[16], warmup[16], seed[32];
	char out_path[PATH_MAX + 16], err_path[PATH_MAX + 16];
	for (int i = 0; i < o->n_tests; i++) {
		const struct ab_test *t = &o->tests[i];
		if (t->kind == T_PP) {
			list_append(prompt, sizeof prompt, t->n);
		} else {
			list_append(gen, sizeof gen, t->n);
			list_append(depth, sizeof depth, t->depth);
		}
	}
	/* bench also runs ppN+tgM requests for every prompt x gen: keep the unused side minimal */
	if (!prompt[0])
		snprintf(prompt, sizeof prompt, "1");
	if (!gen[0]) {
		snprintf(gen, sizeof gen, "1");
		snprintf(depth, sizeof depth, "0");
	}
	snprintf(threads, sizeof threads, "%ld", o->threads);
	snprintf(reps, sizeof reps, "%ld", o->reps);
	snprintf(warmup, sizeof warmup, "%ld", o->warmup);
	snprintf(seed, sizeof seed, "%ld", o->seed);
	if (tmp_path(td, s->label[0] == 'A' ? "a.json" : "b.json", out_path, sizeof out_path) ||
	    tmp_path(td, "stderr.txt", err_path, sizeof err_path))
		return mrl_err_set(err, MRL_ERUNTIME, "temporary path too long");
	unlink(out_path);
	char *argv[] = { (char *)s->exe, "bench", "--model", (char *)s->model, "--prompt", prompt, "--gen", gen,
			 "--depth", depth, "--threads", threads, "--reps", reps, "--warmup", warmup, "--seed", seed,
			 "--energy-window", "0", "--format", "json", "--out", out_path, NULL };
	int status = 0, se = 0;
	int rc = spawn_wait(argv, err_path, &status, &se, err);
	if (rc)
		return rc;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char why[512], st[64];
		last_line(err_path, why, sizeof why);
		status_text(status, st, sizeof st);
		return mrl_err_set(err, MRL_ERUNTIME, "%s bench --model %s failed (%s)%s%s", s->exe, s->model, st,
				   why[0] ? ": " : ", nothing on stderr", why);
	}
	struct hrn_bench_doc d;
	hrn_bench_doc_init(&d);
	rc = read_record(s, out_path, err_path, status, &d, err);
	for (int i = 0; !rc && i < o->n_tests; i++)
		rc = doc_tps(&d, &o->tests[i], o->threads, s->exe, &tps[i], err);
	hrn_bench_doc_release(&d);
	return rc;
}

/* ---------------------------------------------------------- deterministic mode */


static const char *prog_env(const char *var, const char *def)
{
	const char *p = getenv(var);
	return p && *p ? p : def;
}

/* Instruction count of one `merilo generate` under the chosen source. */
static int count_ins(const char *source, const char *exe, const char *model, long det_gen, const struct tmpdir *td,
		     uint64_t *ins, struct mrl_err *err)
{
	char gen[16], err_path[PATH_MAX + 16], perf_path[PATH_MAX + 16];
	snprintf(gen, sizeof gen, "%ld", det_gen);
	if (tmp_path(td, "stderr.txt", err_path, sizeof err_path) || tmp_path(td, "perf.txt", perf_path, sizeof perf_path))
		return mrl_err_set(err, MRL_ERUNTIME, "temporary path too long");
	/* --quiet: generate's progress line appears after 5 s and its figures are times, so
	 * its instructions differed between two runs of one binary on a slow machine */
	char *const gen_args[] = { (char *)exe, "generate", "--model", (char *)model, "--prompt", DET_PROMPT, "-n", gen,
				   "--threads", "1", "--quiet", NULL };
	enum { N_GEN = 11 };
	char *argv[N_GEN + 8] = { 0 };
	size_t k = 0;
	const bool vg = !strcmp(source, "valgrind"), perf = !strcmp(source, "perf");
	if (vg) {
		argv[k++] = (char *)prog_env("MERILO_VALGRIND", "valgrind");
		argv[k++] = "--tool=cachegrind";
		argv[k++] = "--cache-sim=no";
		argv[k++] = "--cachegrind-out-file=/dev/null";
	} else if (perf) {
		argv[k++] = (char *)prog_env("MERILO_PERF", "perf");
		argv[k++] = "stat";
		argv[k++] = "-x,";
		argv[k++] = "-e";
		argv[k++] = "instructions:u";
		argv[k++] = "-o";
		argv[k++] = perf_path;
		argv[k++] = "--";
	}
	for (size_t i = 0; i < N_GEN; i++)
		argv[k++] = gen_args[i];
	int status = 0, se = 0, rc = 0;
	struct met_counters *ctr = NULL;
	if (!vg && !perf) { /* PAPI: the set inherits into the child created after it is opened */
		static const char *const ev[] = { "PAPI_TOT_INS", NULL };
		struct met_counter_opts co;
		met_counter_opts_init(&co);
		co.events = ev;
		co.inherit = true;
		if ((rc = met_counters_open(&ctr, &co, err)) || (rc = met_counters_start(ctr, err)))
			goto out;
	}
	rc = spawn_wait(argv, err_path, &status, &se, err);
	if (ctr) {
		struct mrl_err e2 = { 0 };
		met_counters_stop(ctr, &e2);
	}
	if (rc) {
		if (vg && se == ENOENT)
			mrl_err_set(err, MRL_ERUNTIME, "valgrind not found (%s): the deterministic gate on this machine needs "
						       "it (no instruction counter: PAPI and perf have none); install valgrind",
				    argv[0]);
		goto out;
	}
	char why[512], st[64];
	last_line(err_path, why, sizeof why);
	status_text(status, st, sizeof st);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		char *text = NULL;
		struct mrl_err e2 = { 0 };
		if (vg && mrl_read_file(err_path, 1 << 22, &text, NULL, &e2) == 0 && strstr(text, "Unrecognised instruction"))
			rc = mrl_err_set(err, MRL_ERUNTIME, "valgrind cannot run %s: it uses instructions valgrind does not "
							    "know (AVX-512 from -march=native?); build both binaries for the "
							    "deterministic gate with make OPT='-O3 -march=x86-64-v3'", exe);
		else
			rc = mrl_err_set(err, MRL_ERUNTIME, "%s%s generate --model %s failed (%s): %s", vg ? "valgrind " : "",
					 exe, model, st, why);
		free(text);
		goto out;
	}
	if (vg) {
		char *text = NULL;
		if ((rc = mrl_read_file(err_path, 1 << 24, &text, NULL, err)))
			goto out;
		if (hrn_ab_parse_valgrind_ir(text, ins))
			rc = mrl_err_set(err, MRL_ERUNTIME, "valgrind printed no 'I refs' total for %s", exe);
		free(text);
	} else if (perf) {
		char *text = NULL;
		if ((rc = mrl_read_file(perf_path, 1 << 20, &text, NULL, err)))
			goto out;
		/* CSV: "<count>,<unit>,instructions:u,..." or "<not supported>,,instructions:u,..." */
		char *line = strstr(text, "instructions");
		while (line && line > text && line[-1] != '\n')
			line--;
		char *end = NULL;
		unsigned long long v = line ? strtoull(line, &end, 10) : 0;
		if (!line || end == line || *end != ',')
			rc = mrl_err_set(err, MRL_ERUNTIME, "perf stat gave no instruction count (%.80s)", line ? line : text);
		else
			*ins = v;
		free(text);
	} else {
		struct met_counter_values cv;
		met_counters_read(ctr, &cv);
		if (cv.n < 1 || !cv.v[0].r.valid)
			rc = mrl_err_set(err, MRL_ERUNTIME, "PAPI_TOT_INS: %s", cv.n ? cv.v[0].r.reason : "no value");
		else
			*ins = (uint64_t)cv.v[0].r.value;
	}
out:
	met_counters_close(ctr);
	return rc;
}

/* auto: PAPI_TOT_INS where it counts, else perf where it counts, else valgrind. */
static const char *pick_source(const char *want, const struct tmpdir *td, char *why, size_t why_size)
{
	why[0] = '\0';
	if (strcmp(want, "auto"))
		return want;
	struct met_counters *ctr = NULL;
	static const char *const ev[] = { "PAPI_TOT_INS", NULL };
	struct met_counter_opts co;
	met_counter_opts_init(&co);
	co.events = ev;
	co.inherit = true;
	struct mrl_err e = { 0 };
	bool papi = met_counters_open(&ctr, &co, &e) == 0 && met_counters_n_available(ctr) == 1;
	struct met_counter_values cv;
	if (ctr)
		met_counters_read(ctr, &cv);
	size_t n = (size_t)snprintf(why, why_size, "PAPI_TOT_INS: %s", papi ? "counts" : !ctr ? e.msg : cv.status);
	met_counters_close(ctr);
	if (papi)
		return "papi";
	char perf_path[PATH_MAX + 16], err_path[PATH_MAX + 16];
	if (tmp_path(td, "perf.txt", perf_path, sizeof perf_path) || tmp_path(td, "stderr.txt", err_path, sizeof err_path))
		return "valgrind";
	char *argv[] = { (char *)prog_env("MERILO_PERF", "perf"), "stat", "-x,", "-e", "instructions:u", "-o", perf_path,
			 "--", "true", NULL };
	int status = 0, se = 0;
	char *text = NULL;
	bool perf = false;
	if (spawn_wait(argv, err_path, &status, &se, &e) == 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    mrl_read_file(perf_path, 1 << 20, &text, NULL, &e) == 0) {
		char *line = strstr(text, "instructions");
		while (line && line > text && line[-1] != '\n')
			line--;
		char *end = NULL;
		perf = line && strtoull(line, &end, 10) > 0 && end != line && *end == ',';
	}
	free(text);
	if (n < why_size)
		snprintf(why + n, why_size - n, "; perf instructions:u: %s",
			 perf ? "counts" : se ? "perf not found" : "not supported here");
	return perf ? "perf" : "valgrind";
}

/* ---------------------------------------------------------------- main */

/* This binary's path (A's executable). */
static int self_exe(char *exe, size_t size, struct mrl_err *err)
{
	ssize_t n = readlink("/proc/self/exe", exe, size - 1);
	if (n <= 0)
		return mrl_err_set(err, MRL_ERUNTIME, "cannot find this binary (/proc/self/exe): %s", strerror(errno));
	exe[n] = '\0';
	return 0;
}

/* A fresh folder under $TMPDIR (or /tmp) for the measurements' files. */
static int tmpdir_make(struct tmpdir *t, struct mrl_err *err)
{
	const char *tmp_root = getenv("TMPDIR");
	snprintf(t->dir, sizeof t->dir, "%s/merilo-ab-XXXXXX", tmp_root && *tmp_root ? tmp_root : "/tmp");
	if (!mkdtemp(t->dir)) {
		t->dir[0] = '\0';
		return mrl_err_set(err, MRL_ERUNTIME, "cannot create a temporary folder: %s", strerror(errno));
	}
	return 0;
}

/* BASE is a model (a GGUF file or an HF folder) or a merilo binary, --model a GGUF
 * file or an HF folder (the engine says what is wrong with a folder); sets
 * o->base_is_model. */
static int check_inputs(struct ab_opts *o, struct mrl_err *err)
{
	struct stat st;
	if (hrn_is_folder(o->base))
		o->base_is_model = true;
	else if (stat(o->base, &st) || !S_ISREG(st.st_mode))
		return mrl_err_set(err, MRL_EIO, "%s: BASE is not a file (%s)", o->base,
				   stat(o->base, &st) ? strerror(errno) : "not a regular file");
	else if (hrn_is_gguf(o->base))
		o->base_is_model = true;
	else if (access(o->base, X_OK))
		return mrl_err_set(err, MRL_EINPUT,
				   "%s: BASE is neither a model (GGUF file or HF folder) nor an executable merilo binary",
				   o->base);
	if (!hrn_is_gguf(o->model) && !hrn_is_folder(o->model))
		return mrl_err_set(err, MRL_EINPUT, "%s: neither a GGUF model (no GGUF magic) nor an HF folder",
				   o->model);
	return 0;
}

/* --deterministic: instruction counts of A and B (one run each under valgrind,
 * the median of 5 interleaved otherwise) and the verdict in *failed. */
static int run_deterministic(const struct ab_opts *o, const struct side *A, const struct side *B,
			     const struct tmpdir *td, struct ins_result *ins, bool *failed, struct mrl_err *err)
{
	int rc;
	char why[512];
	const char *src = pick_source(o->ins_source, td, why, sizeof why);
	if (!strcmp(src, "valgrind"))
		snprintf(ins->source, sizeof ins->source, "valgrind cachegrind Ir");
	else if (!strcmp(src, "perf"))
		snprintf(ins->source, sizeof ins->source, "perf stat instructions:u");
	else
		snprintf(ins->source, sizeof ins->source, "PAPI_TOT_INS (inherit)");
	if (why[0])
		fprintf(stderr, "merilo bench --ab: instruction source: %s (%s)\n", ins->source, why);
	/* valgrind is exact: one run each; hardware counters jitter: the median of 5, ABAB */
	const int runs = !strcmp(src, "valgrind") ? 1 : 5;
	uint64_t ca[5], cb[5];
	for (int r = 0; r < runs; r++)
		if ((rc = count_ins(src, A->exe, A->model, o->det_gen, td, &ca[r], err)) ||
		    (rc = count_ins(src, B->exe, B->model, o->det_gen, td, &cb[r], err)))
			return rc;
	double da[5], db[5], tmp[5];
	for (int r = 0; r < runs; r++)
		da[r] = (double)ca[r], db[r] = (double)cb[r];
	ins->cand = (uint64_t)hrn_ab_median(tmp, da, (size_t)runs);
	ins->base = (uint64_t)hrn_ab_median(tmp, db, (size_t)runs);
	*failed = !((double)ins->cand <= (double)ins->base * (1 + o->gate.threshold));
	fprintf(stderr, "merilo bench --ab: %s: A %llu, B %llu instructions (%+.4f%%)\n", ins->source,
		(unsigned long long)ins->cand, (unsigned long long)ins->base,
		100 * ((double)ins->cand / (double)ins->base - 1));
	return 0;
}

/* One pair: every test of A and of B (in this process for a model BASE, else one
 * bench run of each binary), B first where ba is set. The order alternates from pair
 * to pair (AB, BA, AB, ...): whichever side runs second meets caches, branch
 * predictors and a page cache the first one warmed, and in a fixed ABAB order that
 * edge went to B in every pair (an A/A gate of a model BASE gave time ratios
 * 1.007-1.027 in 20 runs of 20, docs/perf-gate.md). */
static int measure_pair(const struct ab_opts *o, struct side *A, struct side *B, const struct tmpdir *td, bool ba,
			double *ta, double *tb, struct mrl_err *err)
{
	struct side *first = ba ? B : A, *second = ba ? A : B;
	double *t1 = ba ? tb : ta, *t2 = ba ? ta : tb;
	int rc = 0;
	if (!o->base_is_model)
		return (rc = measure_subproc(first, o, td, t1, err)) ? rc : measure_subproc(second, o, td, t2, err);
	for (int i = 0; i < o->n_tests && !rc; i++)
		if (!(rc = measure_inproc(first, &o->tests[i], o->threads, &t1[i], err)))
			rc = measure_inproc(second, &o->tests[i], o->threads, &t2[i], err);
	return rc;
}

int hrn_bench_ab_cmd(int argc, char **argv)
{
	struct ab_opts o;
	json_t *invocation = hrn_invocation_json(argc, argv); /* before parsing reorders argv */
	int prc = ab_parse(argc, argv, &o);
	if (prc != HRN_OPTS_GO)
		return json_decref(invocation), prc;
	struct mrl_err err = { 0 };
	int ret = HRN_EXIT_OK, rc = 0;
	struct side A = { .label = "A", .model = o.model }, B = { .label = "B" };
	struct tmpdir td = { { 0 } };
	struct rec_manifest man;
	memset(&man, 0, sizeof man);
	json_t *settings = NULL;
	char *text = NULL, exe[PATH_MAX];
	struct ins_result ins = { { 0 }, 0, 0 };
	bool failed = false;

	if ((rc = self_exe(exe, sizeof exe, &err)))
		goto fail;
	if ((rc = check_inputs(&o, &err)))
		goto fail;
	A.exe = exe;
	B.exe = o.base_is_model ? exe : o.base;
	B.model = o.base_is_model ? o.base : o.model;
	if ((rc = tmpdir_make(&td, &err)))
		goto fail;
	if (!(settings = hrn_ab_settings_json(&o, exe)) || (rc = hrn_manifest_collect(&man, o.model, NULL, settings, &err))) {
		if (!rc)
			rc = mrl_err_set(&err, MRL_ENOMEM, "out of memory");
		goto fail;
	}
	man.argv = invocation; /* the manifest's now */
	invocation = NULL;

	if (o.deterministic) {
		if ((rc = run_deterministic(&o, &A, &B, &td, &ins, &failed, &err)))
			goto fail;
	} else {
		for (int i = 0; i < o.n_tests; i++) {
			o.tests[i].cand_tps = calloc((size_t)o.pairs, sizeof(double));
			o.tests[i].base_tps = calloc((size_t)o.pairs, sizeof(double));
			if (!o.tests[i].cand_tps || !o.tests[i].base_tps) {
				rc = mrl_err_set(&err, MRL_ENOMEM, "out of memory");
				goto fail;
			}
		}
		if (o.base_is_model && ((rc = side_open(&A, &o, &err)) || (rc = side_open(&B, &o, &err))))
			goto fail;
		double ta[AB_MAX_TESTS], tb[AB_MAX_TESTS];
		for (long p = -o.warmup_pairs; p < o.pairs; p++) {
			if ((rc = measure_pair(&o, &A, &B, &td, p >= 0 && p % 2, ta, tb, &err)))
				goto fail;
			if (p < 0)
				continue;
			for (int i = 0; i < o.n_tests; i++) {
				o.tests[i].cand_tps[p] = ta[i];
				o.tests[i].base_tps[p] = tb[i];
			}
			if (o.quiet)
				continue;
			fprintf(stderr, "merilo bench --ab: pair %ld/%ld:", p + 1, o.pairs);
			for (int i = 0; i < o.n_tests; i++)
				fprintf(stderr, " %s A %.1f B %.1f t/s;", o.tests[i].name, ta[i], tb[i]);
			fputc('\n', stderr);
		}
		double *inv_a = malloc((size_t)o.pairs * sizeof *inv_a), *inv_b = malloc((size_t)o.pairs * sizeof *inv_b);
		for (int i = 0; !rc && inv_a && inv_b && i < o.n_tests; i++) {
			for (long p = 0; p < o.pairs; p++) {
				inv_a[p] = 1 / o.tests[i].cand_tps[p]; /* time per token */
				inv_b[p] = 1 / o.tests[i].base_tps[p];
			}
			rc = hrn_ab_decide(inv_a, inv_b, (size_t)o.pairs, &o.gate, &o.tests[i].v, &err);
			failed |= !rc && o.tests[i].v.outcome == HRN_AB_REGRESSION;
		}
		if (!rc && (!inv_a || !inv_b))
			rc = mrl_err_set(&err, MRL_ENOMEM, "out of memory");
		free(inv_a);
		free(inv_b);
		if (rc)
			goto fail;
	}
	if ((rc = rec_manifest_finish(&man, &err)))
		goto fail;
	text = o.format == HRN_BENCH_JSON ? hrn_ab_render_json(&o, &man, settings, o.deterministic ? &ins : NULL, failed)
					  : hrn_ab_render_md(&o, exe, o.deterministic ? &ins : NULL, failed);
	if (!text) {
		rc = mrl_err_set(&err, MRL_ENOMEM, "out of memory rendering the verdict");
		goto fail;
	}
	if (o.out) {
		if ((rc = mrl_mkdir_parent(o.out, &err)) || (rc = mrl_write_file_atomic(o.out, text, strlen(text), &err)))
			goto fail;
	} else {
		fputs(text, stdout);
		fflush(stdout);
	}
	fprintf(stderr, "merilo bench --ab: %s\n", failed ? "FAIL: the candidate is slower than the base (regression)"
						       : "PASS: no regression");
	ret = failed ? HRN_EXIT_VERDICT : HRN_EXIT_OK;
	goto out;
fail:
	ret = hrn_report(&err);
out:
	free(text);
	json_decref(settings);
	json_decref(invocation);
	rec_manifest_release(&man);
	side_close(&A);
	side_close(&B);
	for (int i = 0; i < o.n_tests; i++) {
		free(o.tests[i].cand_tps);
		free(o.tests[i].base_tps);
	}
	tmpdir_remove(&td);
	return ret;
}
