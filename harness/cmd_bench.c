/* cmd_bench.c — `merilo bench`: prefill/decode speed, request latency, the
 * server and offline scenarios, energy, counters and roofline utilisation of a
 * model, like llama-bench and more.
 *
 * This file is the command line and the order of work: parse, open the model
 * (bad model: exit 3; --backend cuda where CUDA cannot run: exit 4), collect the
 * manifest (model SHA-256), get the host roofline when asked (measured once and
 * cached per host), open counters and energy meters before any engine context
 * (PAPI's inherit counts only threads created later), then for every thread
 * count one context and the tests of bench_run.c. Output: markdown, CSV, JSON or
 * JSONL (bench_io.c), to stdout or atomically to --out.
 */
#include "harness/bench.h"
#include "harness/history.h"
#include "harness/hrn.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/fileio.h"

#define MAX_LIST 32

static void usage(FILE *out, const struct mrl_option *opts)
{
	fprintf(out,
		"usage: merilo bench --model M [--prompt 512] [--gen 128] [--depth 0] [--threads N,...] [--affinity]\n"
		"                    [--reps 5] [--warmup 1] [--seed 1234] [--backend cpu|cuda] [--lora ADAPTER]\n"
		"                    [--format md|csv|json|jsonl] [-o FILE]\n"
		"                    [--roofline[=remeasure]] [--roofline-buffer-mib 1024] [--energy-window 1] [--idle S]\n"
		"       merilo bench --model M --scenario server --qps X --duration S [--prompts FILE]\n"
		"                    [--ttft-limit MS] [--tpot-limit MS] [--prompt N] [--gen N] [--seed N]\n"
		"       merilo bench --model M --scenario offline [--requests 16] [--prompts FILE] ...\n"
		"\n"
		"Measures, for every combination of the comma-separated lists and every thread count:\n"
		"  ppN         prefill of N tokens from an empty cache (tokens/s; also its TTFT)\n"
		"  tgN@dD      N single-token decode steps after an untimed prefill of D tokens (tokens/s, ITL)\n"
		"  ppN+tgM     one request: TTFT, TPOT, inter-token latency p50/p90/p99, end-to-end (MLPerf)\n"
		"with peak RSS, energy per token and counters per token (null with the reason where this\n"
		"machine has no source). Token ids are pseudo-random from --seed; tokenization is never\n"
		"timed. Each figure: mean ± sd and median in the table, raw samples in JSON/JSONL.\n"
		"Without --prompt and --gen the tests are pp512, tg128 and pp512+tg128 (a scenario's\n"
		"requests: prompt 512 + gen 128); on a model trained on fewer positions both halve\n"
		"until they fit (with --prompts only --gen halves), one line says so. Sizes given\n"
		"that exceed the training context run with one warning.\n"
		"\n");
	hrn_print_options(out, opts, 18);
	fprintf(out,
		"A/B performance gate: merilo bench --ab BASE --model M ... (merilo bench --ab BASE --help;\n"
		"docs/perf-gate.md).\n"
		"Definitions: docs/measurement.md, \"Bench figures\".\n"
		"exit codes: 0 measured (and within --gate-perf), 1 a figure worse than the baseline beyond\n"
		"--gate-perf, 2 usage error, 3 missing or bad model, scenario or database (or fewer than 3\n"
		"comparable records in --baseline-db), 4 runtime failure\n");
}

/* "128,512" -> values in lo..hi; returns the count, or -1 (also for an empty element:
 * "8,,16", ",8", "8,": strtok had skipped them). */
static int parse_list(const char *s, long lo, long hi, uint32_t *out)
{
	int n = 0;
	char buf[512];
	if (snprintf(buf, sizeof buf, "%s", s) >= (int)sizeof buf)
		return -1;
	for (char *tok = buf, *next; tok; tok = next) {
		long v;
		if ((next = strchr(tok, ',')))
			*next++ = '\0';
		if (n == MAX_LIST || !*tok || hrn_parse_int(tok, lo, hi, &v))
			return -1;
		out[n++] = (uint32_t)v;
	}
	return n;
}

struct opts {
	const char *model, *out, *prompts_path, *scenario;
	json_t *argv;              /* the command line (hrn_invocation_json), owned */
	const char *db, *db_label; /* --db PATH [--db-label L]: the record also goes into the history database */
	const char *baseline_db;   /* --baseline-db PATH: gate against the last --last records stored there */
	long last;
	long confirm; /* --confirm N: a failing row measured again up to N times (-1 until parsed) */
	double gate_perf;
	uint32_t prompt[MAX_LIST], gen[MAX_LIST], depth[MAX_LIST], threads[MAX_LIST];
	int n_prompt, n_gen, n_depth, n_threads;
	bool default_sizes; /* neither --prompt nor --gen given: fit_default_sizes() may shrink them */
	bool quiet;         /* no progress lines; with --out one closing line */
	bool affinity;      /* --affinity: threads pinned */
	long reps, warmup, seed, requests, roofline_mib;
	int roofline; /* 0 off, 1 use the cache, 2 remeasure */
	enum eng_backend backend;
	const char *kv_cache; /* "f16" (NULL) or "f32" */
	const char *lora;     /* --lora: a PEFT adapter folder on the model, or NULL */
	int format;
	double qps, duration, ttft_limit, tpot_limit, energy_window, idle;
};

static json_t *list_json(const uint32_t *v, int n)
{
	json_t *a = json_array();
	for (int i = 0; a && i < n; i++)
		json_array_append_new(a, json_integer(v[i]));
	return a;
}

static json_t *settings_json(const struct opts *o)
{
	static const char *const fmt[] = { "md", "csv", "json", "jsonl" };
	json_t *s = json_object();
	if (!s)
		return NULL;
	json_object_set_new(s, "command", json_string("bench"));
	/* a scenario's --prompts file gives the prompts (their lengths are in each result) */
	json_object_set_new(s, "prompt", o->scenario && o->prompts_path ? json_null() : list_json(o->prompt, o->n_prompt));
	json_object_set_new(s, "gen", list_json(o->gen, o->n_gen));
	json_object_set_new(s, "depth", list_json(o->depth, o->n_depth));
	json_object_set_new(s, "threads", list_json(o->threads, o->n_threads));
	json_object_set_new(s, "reps", json_integer(o->reps));
	json_object_set_new(s, "warmup", json_integer(o->warmup));
	json_object_set_new(s, "seed", json_integer(o->seed));
	json_object_set_new(s, "backend", json_string(o->backend == ENG_BACKEND_CUDA ? "cuda" : "cpu"));
	json_object_set_new(s, "kv_cache", json_string(o->kv_cache ? o->kv_cache : "f16"));
	if (o->affinity)
		json_object_set_new(s, "affinity", json_true());
	json_object_set_new(s, "format", json_string(fmt[o->format]));
	json_object_set_new(s, "roofline", json_string(o->roofline == 2 ? "remeasure" : o->roofline ? "cached" : "off"));
	json_object_set_new(s, "energy_window_s", json_real(o->energy_window));
	json_object_set_new(s, "idle_s", json_real(o->idle));
	json_object_set_new(s, "scenario", rec_json_string(o->scenario));
	if (o->scenario) {
		json_object_set_new(s, "qps", rec_json_real(o->qps));
		json_object_set_new(s, "duration_s", rec_json_real(o->duration));
		json_object_set_new(s, "requests", json_integer(o->requests));
		json_object_set_new(s, "prompts", rec_json_string(o->prompts_path));
		json_object_set_new(s, "ttft_limit_ms", rec_json_real(o->ttft_limit));
		json_object_set_new(s, "tpot_limit_ms", rec_json_real(o->tpot_limit));
	}
	return s;
}

/* A comma-separated list option (--prompt, --gen, --depth, --threads): the
 * values in [opt->lo, opt->hi] into the list at opt->value. */
struct u32_list {
	uint32_t *v;
	int *n;
};

static int opt_list(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	const struct u32_list *l = opt->value;
	int n = parse_list(arg, opt->lo, opt->hi, l->v);
	if (n < 0)
		return mrl_err_set(err, MRL_EINPUT, "--%s wants a list of %s in %ld..%ld, not '%s'", opt->long_name,
				   strcmp(opt->long_name, "threads") ? "token counts" : "integers", opt->lo, opt->hi, arg);
	for (int i = 0; i < n; i++) /* a value twice measured and reported the same test twice */
		for (int j = 0; j < i; j++)
			if (l->v[i] == l->v[j])
				return mrl_err_set(err, MRL_EINPUT, "--%s '%s': %u is given twice", opt->long_name, arg,
						   (unsigned)l->v[i]);
	*l->n = n;
	return 0;
}

#define OPT_LIST(s, l, v, min, max, a, h) \
	{ .type = MRL_OPT_CALLBACK, .short_name = (s), .long_name = (l), .value = (v), .argh = (a), .help = (h), \
	  .lo = (min), .hi = (max), .callback = opt_list }

/* The options whose values are checked on the spot, each with its message. */
static int opt_scenario(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	if (strcmp(arg, "server") && strcmp(arg, "offline"))
		return mrl_err_set(err, MRL_EINPUT, "--scenario wants server or offline, not '%s'", arg);
	*(const char **)opt->value = arg;
	return 0;
}

static int opt_format(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	if ((*(int *)opt->value = hrn_bench_format_parse(arg)) < 0)
		return mrl_err_set(err, MRL_EINPUT, "--format wants md, csv, json or jsonl, not '%s'", arg);
	return 0;
}

static int opt_roofline(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	if (arg && strcmp(arg, "remeasure"))
		return mrl_err_set(err, MRL_EINPUT, "--roofline takes only '=remeasure', not '%s'", arg);
	*(int *)opt->value = arg ? 2 : 1;
	return 0;
}

/* A number of seconds or milliseconds with the range of its option. */
static int opt_seconds(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	double v;
	const char *l = opt->long_name;
	bool ok = !hrn_parse_double(arg, &v);
	if (!strcmp(l, "qps") && !(ok && v > 0))
		return mrl_err_set(err, MRL_EINPUT, "--qps wants a positive number, not '%s'", arg);
	if (!strcmp(l, "duration") && !(ok && v > 0 && v <= 86400))
		return mrl_err_set(err, MRL_EINPUT, "--duration wants seconds in (0, 86400], not '%s'", arg);
	if (!strcmp(l, "idle") && !(ok && (v == 0 || v >= 1) && v <= 3600))
		return mrl_err_set(err, MRL_EINPUT, "--idle wants 0 or seconds in 1..3600, not '%s'", arg);
	if (!strcmp(l, "energy-window") && !(ok && v >= 0 && v <= 3600))
		return mrl_err_set(err, MRL_EINPUT, "--energy-window wants seconds in 0..3600, not '%s'", arg);
	if (!strcmp(l, "ttft-limit") || !strcmp(l, "tpot-limit")) {
		if (!ok || !(v > 0))
			return mrl_err_set(err, MRL_EINPUT, "--%s wants milliseconds > 0, not '%s'", l, arg);
	}
	*(double *)opt->value = v;
	return 0;
}

/* The options that mean something only beside another (their help says "with
 * --X"): given alone they were silently ignored, so they are a usage error,
 * as --qps without --scenario is. Then the defaults of those not given. */
static int check_partners(struct opts *o)
{
	const bool offline = o->scenario && !strcmp(o->scenario, "offline");
	const struct {
		bool given, partner;
		const char *msg;
	} needs[] = {
		{ !isnan(o->gate_perf), o->baseline_db, "--gate-perf needs --baseline-db" },
		{ o->last != 0, o->baseline_db, "--last needs --baseline-db" },
		{ o->confirm >= 0, o->baseline_db, "--confirm needs --baseline-db" },
		{ o->db_label, o->db || o->baseline_db, "--db-label needs --db or --baseline-db" },
		{ o->roofline_mib != 0, o->roofline, "--roofline-buffer-mib needs --roofline" },
		{ o->requests != 0, offline, "--requests needs --scenario offline" },
		{ !isnan(o->ttft_limit) || !isnan(o->tpot_limit), o->scenario,
		  "--ttft-limit and --tpot-limit need --scenario server|offline" },
	};
	for (size_t i = 0; i < sizeof needs / sizeof needs[0]; i++)
		if (needs[i].given && !needs[i].partner)
			return hrn_usage_error("bench", "%s", needs[i].msg);
	o->last = o->last ? o->last : 10;
	o->confirm = o->confirm >= 0 ? o->confirm : 2;
	o->gate_perf = isnan(o->gate_perf) ? 0.05 : o->gate_perf;
	o->requests = o->requests ? o->requests : 16;
	o->roofline_mib = o->roofline_mib ? o->roofline_mib : 1024;
	return HRN_OPTS_GO;
}

/* Returns HRN_OPTS_GO, or the exit code to return at once. */
/* --baseline-db and --db before measuring. The stored records that can be a
 * baseline are those of this model (its sha256, through the hash cache that the
 * record's manifest uses later), this CPU, backend and KV cache. A model that
 * cannot be hashed now is not compared here: opening it says what is wrong. */
static int check_databases(const struct opts *o, struct mrl_err *err)
{
	struct rec_manifest m;
	struct mrl_err ignored = { 0 };
	memset(&m, 0, sizeof m);
	if (o->baseline_db && !hrn_manifest_collect(&m, NULL, NULL, NULL, &ignored))
		(void)hrn_manifest_model(&m, o->model, NULL, o->lora, &ignored);
	const struct hrn_bench_ident want = { .model_sha256 = m.model_sha256, .cpu_model = m.cpu_model,
					      .backend = o->backend == ENG_BACKEND_CUDA ? "cuda" : "cpu",
					      .kv_cache = o->kv_cache ? o->kv_cache : "f16" };
	int rc = hrn_bench_history_check(o->baseline_db, o->db_label, o->last, &want, o->db, err);
	rec_manifest_release(&m);
	return rc;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof *o);
	o->n_prompt = o->n_gen = 0; /* 0 after parsing: not given, the default 512 and 128 */
	o->depth[0] = 0, o->n_depth = 1;
	o->threads[0] = (uint32_t)eng_default_threads(), o->n_threads = 1;
	o->reps = 5, o->warmup = 1, o->seed = HRN_DEFAULT_SEED;
	o->qps = o->duration = o->ttft_limit = o->tpot_limit = NAN;
	o->energy_window = 1.0;
	/* 0 or NaN until parsed: given or not decides check_partners() */
	o->last = 0, o->gate_perf = NAN, o->requests = 0, o->roofline_mib = 0, o->confirm = -1;
	o->format = -1; /* not given: from --out's extension (hrn_bench_format_resolve) */
	struct u32_list prompt = { o->prompt, &o->n_prompt }, gen = { o->gen, &o->n_gen },
			depth = { o->depth, &o->n_depth }, threads = { o->threads, &o->n_threads };
	const struct mrl_option opts[] = {
		OPT_STRING('m', "model", &o->model, "M", "the model: a GGUF file or an HF folder (config.json, *.safetensors)"),
		OPT_LIST('p', "prompt", &prompt, 1, 1 << 20, "LIST", NULL),
		OPT_LIST('n', "gen", &gen, 1, 1 << 20, "LIST", NULL),
		OPT_LIST('d', "depth", &depth, 0, 1 << 20, "LIST", NULL),
		OPT_LIST('t', "threads", &threads, 1, 1024, "LIST",
			 "worker threads (default: the CPUs this process may use)"),
		OPT_INTEGER('r', "reps", &o->reps, 1, 100000, "N", "timed repetitions (default 5)"),
		OPT_INTEGER(0, "warmup", &o->warmup, 0, 1000, "N", "untimed repetitions before them (default 1)"),
		OPT_INTEGER(0, "seed", &o->seed, 0, LONG_MAX, "N", NULL),
		OPT_CALLBACK_F(0, "roofline", &o->roofline, NULL,
			       "measure this host's memory read bandwidth and peak FLOP rate once (cached\n"
			       "in <cache dir>/roofline-<host>.json; =remeasure to redo) and state decode\n"
			       "bandwidth and prefill FLOP utilisation",
			       MRL_OPT_OPTARG, opt_roofline),
		OPT_INTEGER(0, "roofline-buffer-mib", &o->roofline_mib, 1, 1 << 20, "N", NULL),
		OPT_CALLBACK(0, "scenario", &o->scenario, "S",
			     "server: Poisson arrivals (seeded) at --qps for --duration seconds; requests queue\n"
			     "(one sequence at a time), queueing delay is reported; --ttft-limit and\n"
			     "--tpot-limit are checked at p99 (MLPerf Server);\n"
			     "offline: --requests N issued at once, served back to back: maximum throughput",
			     opt_scenario),
		OPT_CALLBACK(0, "qps", &o->qps, "X", NULL, opt_seconds),
		OPT_CALLBACK(0, "duration", &o->duration, "S", NULL, opt_seconds),
		OPT_INTEGER(0, "requests", &o->requests, 1, 1000000, "N", NULL),
		OPT_STRING(0, "prompts", &o->prompts_path, "FILE", "scenario prompts, one per line (tokenized before timing)"),
		OPT_CALLBACK(0, "ttft-limit", &o->ttft_limit, "MS", NULL, opt_seconds),
		OPT_CALLBACK(0, "tpot-limit", &o->tpot_limit, "MS", NULL, opt_seconds),
		OPT_CALLBACK(0, "energy-window", &o->energy_window, "S",
			     "each pp/tg test repeats its work for >= S seconds (default 1) inside one\n"
			     "energy window, for J/token (0: no energy); skipped where no source exists",
			     opt_seconds),
		OPT_CALLBACK(0, "idle", &o->idle, "S",
			     "first measure idle power for S >= 1 seconds (keep the machine quiet) and\n"
			     "also report J/token net of it (energy_j_per_token_*_net; gross is always given)",
			     opt_seconds),
		OPT_CALLBACK(0, "backend", &o->backend, "cuda", "the GPU backend (exit 4 where it is not available)",
			     hrn_opt_backend),
		OPT_CALLBACK(0, "kv-cache", &o->kv_cache, "T", HRN_KV_CACHE_HELP, hrn_opt_kv_cache),
		OPT_BOOL(0, "affinity", &o->affinity, HRN_AFFINITY_HELP),
		OPT_STRING_F(0, "lora", &o->lora, "DIR", HRN_LORA_HELP, MRL_OPT_NONEMPTY),
		OPT_CALLBACK(0, "format", &o->format, "F",
			     "md, csv, json or jsonl; default: the one --out's extension names\n"
			     "(.md, .csv, .json, .jsonl), else md; one that contradicts it: exit 2",
			     opt_format),
		OPT_STRING('o', "out", &o->out, "FILE", "write the figures to FILE (missing folders are made), not stdout"),
		OPT_BOOL('q', "quiet", &o->quiet, "no progress line per test on stderr; with -o, one closing line\n"
			 "naming the record (errors and warnings are still printed)"),
		OPT_STRING(0, "db", &o->db, "PATH", "also store the record (as --format json writes it) in this history\n"
			   "database (created when missing; docs/history.md)"),
		OPT_STRING(0, "db-label", &o->db_label, "L", "with --db: the record's label, e.g. a branch (default none);\n"
			   "with --baseline-db: only the records labelled L"),
		OPT_STRING(0, "baseline-db", &o->baseline_db, "PATH",
			   "performance gate against history: compare with the last --last bench\n"
			   "records in PATH (label --db-label, if given) of this model (sha256), CPU,\n"
			   "backend and KV cache (fewer than 3 such: exit 3 before measuring, saying\n"
			   "what differs); exit 1 when a figure is worse than the stored runs' median\n"
			   "by --gate-perf, than the worst of them by as much, and than the 99%\n"
			   "prediction bound of their spread, also when measured again (--confirm;\n"
			   "docs/history.md)"),
		OPT_INTEGER(0, "last", &o->last, 3, 100000, "N", "with --baseline-db: how many stored records (default 10)"),
		OPT_CALLBACK(0, "gate-perf", &o->gate_perf, "PCT", "with --baseline-db: the threshold (default 5%)",
			     hrn_opt_gate_perf),
		OPT_INTEGER(0, "confirm", &o->confirm, 0, 100, "N",
			    "with --baseline-db: a test that is worse is measured again, up to N\n"
			    "times, and fails only when every measurement is worse (default 2;\n"
			    "0: the first measurement decides); the record keeps the first"),
		OPT_END(),
	};
	int n_args, rc = hrn_options("bench", opts, argc, argv, &n_args, usage);
	if (rc != HRN_OPTS_GO)
		return rc;
	o->default_sizes = !o->n_prompt && !o->n_gen;
	const bool given_prompt = o->n_prompt > 0;
	if (!o->n_prompt)
		o->prompt[0] = 512, o->n_prompt = 1;
	if (!o->n_gen)
		o->gen[0] = 128, o->n_gen = 1;
	if (n_args)
		return hrn_usage_error("bench", "unexpected argument '%s'", argv[0]);
	struct mrl_err err = { 0 };
	if (hrn_bench_format_resolve(&o->format, o->out, &err))
		return hrn_usage_error("bench", "%s", err.msg);
	const bool have_qps = !isnan(o->qps), have_duration = !isnan(o->duration);
	if (!o->model)
		return hrn_usage_error("bench", "--model is required");
	if (o->scenario && !strcmp(o->scenario, "server") && (!have_qps || !have_duration))
		return hrn_usage_error("bench", "--scenario server needs --qps and --duration");
	if (!o->scenario && (have_qps || have_duration || o->prompts_path))
		return hrn_usage_error("bench", "--qps, --duration and --prompts belong to --scenario server|offline");
	if (o->prompts_path && given_prompt)
		return hrn_usage_error("bench", "--prompt and --prompts: the file's lines are the prompts");
	if (o->qps * o->duration > 1e6)
		return hrn_usage_error("bench", "--qps x --duration asks for more than 10^6 requests");
	if ((rc = check_partners(o)) != HRN_OPTS_GO)
		return rc;
	/* the databases and -o now: a wrong one found after measuring wasted the measuring */
	if (check_databases(o, &err) || (o->out && mrl_check_writable(o->out, "cannot write here", &err)))
		return hrn_report(&err);
	return HRN_OPTS_GO;
}

/* ------------------------------------------------------------ roofline */

/* The host's roofline: from <cache>/roofline-<host>.json unless remeasure, else
 * measured now and stored there (a cache that cannot be written is only a warning). */
static int roofline_get(const struct opts *o, struct hrn_bench_roofline *rf, struct mrl_err *err)
{
	char host[256] = "unknown", safe[256], dir[PATH_MAX], path[PATH_MAX + 300];
	if (gethostname(host, sizeof host - 1))
		snprintf(host, sizeof host, "unknown");
	size_t k = 0;
	for (const char *p = host; *p && k + 1 < sizeof safe; p++)
		safe[k++] = (char)((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
					   *p == '.' || *p == '-' || *p == '_'
				   ? *p : '_');
	safe[k] = '\0';
	const bool have_dir = hrn_cache_dir(dir, sizeof dir) == 0;
	snprintf(path, sizeof path, "%s/roofline-%s.json", have_dir ? dir : ".", safe);
	if (o->roofline == 1 && have_dir) {
		char *text = NULL;
		struct mrl_err e2 = { 0 };
		if (mrl_read_file(path, 1 << 20, &text, NULL, &e2) == 0) {
			json_error_t je;
			json_t *j = json_loads(text, 0, &je);
			int rc = j ? hrn_bench_roofline_from_json(j, rf, path, "$", &e2) : MRL_EINPUT;
			json_decref(j);
			free(text);
			/* a vector machine's cache must come from this method (older ones read one stream a
			 * thread only, which understates the ceiling) */
			const bool method = !rf->bw_kernel || !strncmp(rf->bw_kernel, "portable C", strlen("portable C")) ||
					    !strncmp(rf->bw_kernel, MET_ROOFLINE_BW_METHOD, strlen(MET_ROOFLINE_BW_METHOD));
			if (!rc && rf->present && rf->hostname && !strcmp(rf->hostname, host) && method) {
				rf->from_cache = true;
				free(rf->path);
				rf->path = strdup(path);
				return 0;
			}
			fprintf(stderr, "merilo bench: %s is not a usable roofline cache (%s); measuring again\n", path,
				rc ? e2.msg : !method ? "bandwidth measured by an older method" : "another host or no figures");
			hrn_bench_roofline_release(rf);
		}
	}
	int n = eng_default_threads();
	struct met_roofline_bw bw;
	struct met_roofline_flops f1, fn;
	fprintf(stderr, "merilo bench: measuring this host's roofline (read bandwidth over %ld MiB, %d thread%s; "
			"peak FLOP rate)...\n", o->roofline_mib, n, n == 1 ? "" : "s");
	int rc = met_roofline_read_bandwidth((size_t)o->roofline_mib << 20, n, 5, &bw, err);
	if (!rc)
		rc = met_roofline_peak_flops(1, 3, 0.2, &f1, err);
	if (!rc)
		rc = met_roofline_peak_flops(n, 3, 0.2, &fn, err);
	if (rc)
		return rc;
	if (!isnan(bw.other_best_bytes_per_s))
		fprintf(stderr, "merilo bench: read bandwidth %.2f GB/s (%s); the other pattern %.2f GB/s\n",
			bw.best_bytes_per_s / 1e9, bw.kernel, bw.other_best_bytes_per_s / 1e9);
	char utc[32];
	rec_utc_now_iso8601(utc, sizeof utc);
	rf->present = true;
	rf->hostname = strdup(host);
	rf->measured_utc = strdup(utc);
	rf->path = strdup(path);
	rf->bw_kernel = strdup(bw.kernel);
	rf->flops_kernel = strdup(f1.kernel);
	if (!rf->hostname || !rf->measured_utc || !rf->path || !rf->bw_kernel || !rf->flops_kernel)
		return mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
	rf->read_bw_bytes_per_s = bw.best_bytes_per_s;
	rf->read_bw_median_bytes_per_s = bw.median_bytes_per_s;
	rf->bw_threads = bw.n_threads;
	rf->bw_buffer_bytes = (int64_t)bw.buffer_bytes;
	rf->bw_runs = bw.n_runs;
	rf->flops_per_core = f1.best_flops_per_s;
	rf->flops_all_cores = fn.best_flops_per_s;
	rf->flops_threads = fn.n_threads;
	rf->flops_runs = f1.n_runs;
	json_t *j = hrn_bench_roofline_to_json(rf);
	char *text = j ? json_dumps(j, JSON_INDENT(2) | JSON_REAL_PRECISION(17)) : NULL;
	json_decref(j);
	struct mrl_err e2 = { 0 };
	if (!have_dir || !text || mrl_mkdir_p(dir, &e2) || mrl_write_file_atomic(path, text, strlen(text), &e2))
		fprintf(stderr, "merilo bench: warning: cannot store the roofline cache %s: %s\n", path,
			!have_dir ? "no cache directory (MERILO_CACHE_DIR, XDG_CACHE_HOME, HOME)" : e2.msg);
	free(text);
	return 0;
}

/* ------------------------------------------------------------ prompts */

static void prompts_free(struct hrn_bench_scenario *sc)
{
	for (size_t i = 0; i < sc->n_prompts; i++)
		free(sc->prompts[i]);
	free(sc->prompts);
	free(sc->prompt_lens);
	sc->prompts = NULL;
	sc->prompt_lens = NULL;
	sc->n_prompts = 0;
}

/* Tokenize every non-empty line of path (BOS as the model says), before any timing. */
static int prompts_load(const char *path, const struct eng_model *m, bool add_bos, struct hrn_bench_scenario *sc,
			struct mrl_err *err)
{
	char *text = NULL;
	int rc = mrl_read_file(path, (size_t)64 << 20, &text, NULL, err);
	if (rc)
		return rc;
	size_t line_no = 0;
	for (char *line = text, *next; line && *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		line_no++;
		size_t len = strlen(line);
		if (len && line[len - 1] == '\r')
			line[--len] = '\0';
		if (!len)
			continue;
		int32_t *ids = NULL;
		size_t n = 0;
		if ((rc = eng_tokenize(m, line, len, add_bos, &ids, &n, err))) {
			mrl_err_prefix(err, "%s:%zu", path, line_no);
			break;
		}
		if (n == 0) {
			free(ids);
			continue;
		}
		int32_t **p = realloc(sc->prompts, (sc->n_prompts + 1) * sizeof *p);
		size_t *l = p ? realloc(sc->prompt_lens, (sc->n_prompts + 1) * sizeof *l) : NULL;
		if (p)
			sc->prompts = p;
		if (l)
			sc->prompt_lens = l;
		if (!p || !l) {
			free(ids);
			rc = mrl_err_set(err, MRL_ENOMEM, "bench: out of memory reading %s", path);
			break;
		}
		sc->prompts[sc->n_prompts] = ids;
		sc->prompt_lens[sc->n_prompts++] = n;
	}
	free(text);
	if (!rc && sc->n_prompts == 0)
		rc = mrl_err_set(err, MRL_EINPUT, "%s: no prompt: every line is empty", path);
	return rc;
}

/* ------------------------------------------------------------ the model */

/* The matrices' dtype: the type of blk.0.attn_q.weight, else of the first 2-D tensor. */
static const char *model_type(const struct eng_model *m)
{
	const char *first = NULL;
	for (size_t i = 0; i < eng_model_n_tensors(m); i++) {
		struct eng_tensor_info t;
		eng_model_tensor_info(m, i, &t);
		if (!strcmp(t.name, "blk.0.attn_q.weight"))
			return t.type_name;
		if (!first && t.n_dims == 2)
			first = t.type_name;
	}
	return first ? first : "unknown";
}

static int fill_model(struct hrn_bench_doc *doc, const struct eng_model *m, const char *path)
{
	struct eng_model_desc d;
	eng_model_describe(m, &d);
	struct hrn_bench_model *bm = &doc->model;
	bm->path = strdup(path);
	bm->name = strdup(d.name ? d.name : "");
	bm->arch = strdup(d.arch ? d.arch : "");
	bm->type = strdup(model_type(m));
	bm->sha256 = doc->manifest.model_sha256 ? strdup(doc->manifest.model_sha256) : NULL;
	bm->size_bytes = (int64_t)d.file_size;
	bm->n_params = (int64_t)d.n_params;
	bm->weight_bytes = (int64_t)d.weight_bytes;
	return bm->path && bm->name && bm->arch && bm->type && (bm->sha256 || !doc->manifest.model_sha256) ? 0 : MRL_ENOMEM;
}

/* The tests of one run: done and all (thread counts x tests), and when the first began. */
struct bench_progress {
	size_t done, total;
	uint64_t t0_ns;
	bool quiet;
};

/* The line of each result from index from on, as its test finishes (stderr): its
 * median and, while tests remain, how many are done and the time left at the
 * mean pace of the tests so far ("[3/12, ETA 1m05s]"; tests differ in length,
 * so it is an estimate). */
static void progress(const struct hrn_bench_doc *d, size_t from, struct bench_progress *bp)
{
	bp->done++;
	char eta[64] = "";
	if (bp->done < bp->total) {
		const double s = (double)(met_now_ns() - bp->t0_ns) * 1e-9 / (double)bp->done * (double)(bp->total - bp->done);
		snprintf(eta, sizeof eta, " [%zu/%zu, ETA %dm%02ds]", bp->done, bp->total, (int)(s / 60), (int)s % 60);
	} else {
		snprintf(eta, sizeof eta, " [%zu/%zu]", bp->done, bp->total);
	}
	for (size_t i = from; !bp->quiet && i < d->n_results; i++) {
		const struct hrn_bench_result *r = &d->results[i];
		const struct hrn_bench_series *s = hrn_bench_result_series(r, "tokens_per_s");
		const struct hrn_bench_series *t = hrn_bench_result_series(r, "ttft_ms");
		/* a device backend computes on the device, driven by one host thread */
		char where[64];
		if (strcmp(r->backend, "cpu"))
			snprintf(where, sizeof where, "%s", r->backend);
		else
			snprintf(where, sizeof where, "%lld thread%s", (long long)r->threads, r->threads == 1 ? "" : "s");
		if (s && s->n)
			fprintf(stderr, "merilo bench: %s, %s: %.2f t/s (median)%s\n", r->test, where, s->st.median, eta);
		else if (t && t->n)
			fprintf(stderr, "merilo bench: %s, %s: TTFT %.2f ms (median)%s\n", r->test, where, t->st.median, eta);
		fflush(stderr);
	}
}

/* The record (text) into path, or on stdout without one; quiet: then one line
 * saying where n_results went. */
static int write_out(const char *path, const char *text, bool quiet, size_t n_results, struct mrl_err *err)
{
	if (path) {
		int rc = mrl_mkdir_parent(path, err);
		if (!rc)
			rc = mrl_write_file_atomic(path, text, strlen(text), err);
		if (!rc && quiet)
			printf("merilo bench: %zu results; record: %s\n", n_results, path);
		return rc;
	}
	fputs(text, stdout);
	fflush(stdout);
	return 0;
}

static void warn_context(uint64_t need, uint32_t n_ctx_train)
{
	if (need > n_ctx_train)
		fprintf(stderr, "merilo bench: warning: the tests use %llu positions, beyond the model's training "
				"context of %u\n", (unsigned long long)need, n_ctx_train);
}

/* The record's settings, manifest, model and roofline, before any test. */
static int doc_begin(const struct opts *o, struct eng_model *m, struct hrn_bench_doc *doc, struct mrl_err *err)
{
	json_t *settings = settings_json(o);
	if (!settings)
		return mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
	if (hrn_manifest_collect(&doc->manifest, NULL, NULL, settings, err) ||
	    hrn_manifest_model(&doc->manifest, o->model, m, NULL, err)) {
		json_decref(settings);
		return err->code;
	}
	if (!o->argv)
		return json_decref(settings), mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
	doc->manifest.argv = json_incref(o->argv);
	doc->settings = settings;
	if (fill_model(doc, m, o->model))
		return mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
	if (o->roofline)
		return roofline_get(o, &doc->roofline, err);
	if (!(doc->roofline.reason = strdup("not measured: run with --roofline")))
		return mrl_err_set(err, MRL_ENOMEM, "bench: out of memory");
	return 0;
}

/* The context the tests need: the longest of prefill, depth + decode, request,
 * or scenario prompt + generation. */
static uint64_t context_needed(const struct opts *o, const struct hrn_bench_scenario *sc)
{
	uint64_t need = 1;
	if (o->scenario) {
		uint64_t p = sc->n_prompts ? 0 : o->prompt[0]; /* a --prompts file replaces --prompt */
		for (size_t i = 0; i < sc->n_prompts; i++)
			p = sc->prompt_lens[i] > p ? sc->prompt_lens[i] : p;
		return p + o->gen[0];
	}
	for (int i = 0; i < o->n_prompt; i++)
		for (int g = 0; g < o->n_gen; g++)
			need = o->prompt[i] + (uint64_t)o->gen[g] > need ? o->prompt[i] + (uint64_t)o->gen[g] : need;
	for (int i = 0; i < o->n_depth; i++)
		for (int g = 0; g < o->n_gen; g++)
			need = o->depth[i] + (uint64_t)o->gen[g] > need ? o->depth[i] + (uint64_t)o->gen[g] : need;
	return need;
}

/* The default pp512+tg128 (plain tests or a scenario's requests) on a model
 * trained on fewer positions: both halve until the tests fit its training
 * context, said in one line. A --prompts file's lengths are the user's: then
 * only the generation halves. Sizes the user chose are kept (warn_context()
 * then warns). */
static void fit_default_sizes(struct opts *o, const struct hrn_bench_scenario *sc, uint32_t n_ctx_train)
{
	if (!o->default_sizes || !n_ctx_train || context_needed(o, sc) <= n_ctx_train)
		return;
	const bool file_prompts = o->scenario && sc->n_prompts;
	while (context_needed(o, sc) > n_ctx_train && (file_prompts || o->prompt[0] >= 2) && o->gen[0] >= 2) {
		if (!file_prompts)
			o->prompt[0] /= 2;
		o->gen[0] /= 2;
	}
	if (file_prompts)
		fprintf(stderr, "merilo bench: the model's training context is %u: the default generation shrinks to "
				"%u tokens a request (--gen chooses)\n", n_ctx_train, o->gen[0]);
	else
		fprintf(stderr, "merilo bench: the model's training context is %u: the default %s shrink to pp%u+tg%u "
				"(--prompt and --gen choose)\n", n_ctx_train, o->scenario ? "requests" : "tests",
			o->prompt[0], o->gen[0]);
}

static void scenario_from_opts(struct hrn_bench_scenario *sc, const struct opts *o)
{
	sc->server = o->scenario && !strcmp(o->scenario, "server");
	sc->qps = o->qps;
	sc->duration_s = o->duration;
	sc->n_requests = (size_t)o->requests;
	sc->n_prompt = o->prompt[0];
	sc->n_gen = o->gen[0];
	sc->prompts_path = o->prompts_path;
	sc->ttft_limit_ms = o->ttft_limit;
	sc->tpot_limit_ms = o->tpot_limit;
}

/* The tests of one thread count. */
static size_t tests_per_thread_count(const struct opts *o)
{
	return o->scenario ? 1 : (size_t)o->n_prompt + (size_t)o->n_gen * (size_t)o->n_depth +
					 (size_t)o->n_prompt * (size_t)o->n_gen;
}

/* Every test of one thread count: the scenario, or pp, tg and request for
 * every combination of the lists; a progress line as each one finishes. */
static int run_tests(const struct opts *o, struct hrn_bench_env *env, struct hrn_bench_scenario *sc,
		     struct hrn_bench_doc *doc, struct bench_progress *bp, struct mrl_err *err)
{
	int rc = 0;
	size_t from = doc->n_results;
#define DONE() do { if (!rc) { progress(doc, from, bp); from = doc->n_results; } } while (0)
	if (o->scenario) {
		rc = hrn_bench_run_scenario(env, sc, doc, err);
		DONE();
		return rc;
	}
	for (int i = 0; i < o->n_prompt && !rc; i++) {
		rc = hrn_bench_run_pp(env, o->prompt[i], doc, err);
		DONE();
	}
	for (int g = 0; g < o->n_gen && !rc; g++)
		for (int dd = 0; dd < o->n_depth && !rc; dd++) {
			rc = hrn_bench_run_tg(env, o->gen[g], o->depth[dd], doc, err);
			DONE();
		}
	for (int i = 0; i < o->n_prompt && !rc; i++)
		for (int g = 0; g < o->n_gen && !rc; g++) {
			rc = hrn_bench_run_request(env, o->prompt[i], o->gen[g], doc, err);
			DONE();
		}
#undef DONE
	return rc;
}

/* What measuring a test again needs (the history gate's confirmation): the
 * environment of the last thread count, its model (reopened for another thread
 * count), the options it was opened with and the context size. */
struct again {
	const char *model_path;
	struct hrn_bench_env *env;
	struct eng_model **m;
	struct eng_open_opts *eo;
	uint32_t need;
};

/* struct hrn_hist_confirm's measure: the test of r once more, into `into`
 * (no energy window: the gate reads times only). */
static int measure_again(void *ctx, const struct hrn_bench_result *r, struct hrn_bench_doc *into, struct mrl_err *err)
{
	struct again *a = ctx;
	struct eng_ctx *c = NULL;
	int rc = 0;
	if (r->threads != a->eo->n_threads) {
		eng_model_close(*a->m);
		*a->m = NULL;
		a->eo->n_threads = (int)r->threads;
		rc = eng_model_open(a->m, a->model_path, a->eo, err);
	}
	if (!rc)
		rc = eng_ctx_new(&c, *a->m, a->need, err);
	struct hrn_bench_env env = *a->env;
	env.model = *a->m, env.ctx = c, env.threads = (int)r->threads, env.energy_window_s = 0;
	if (!rc && !strcmp(r->kind, "pp"))
		rc = hrn_bench_run_pp(&env, (uint32_t)r->n_prompt, into, err);
	else if (!rc && !strcmp(r->kind, "tg"))
		rc = hrn_bench_run_tg(&env, (uint32_t)r->n_gen, (uint32_t)r->depth, into, err);
	else if (!rc && !strcmp(r->kind, "request"))
		rc = hrn_bench_run_request(&env, (uint32_t)r->n_prompt, (uint32_t)r->n_gen, into, err);
	else if (!rc)
		rc = mrl_err_set(err, MRL_EINPUT, "a %s test cannot be measured again", r->kind);
	eng_ctx_free(c);
	return rc;
}

/* --baseline-db (the gate against history, first: the new record is not part of
 * its own baseline; a worse test measured again as `confirm` says), then --db
 * (store the record, also when the gate could not judge). HRN_EXIT_OK,
 * HRN_EXIT_VERDICT when the gate failed, or a negative code. */
static int history(const struct opts *o, const struct hrn_bench_doc *doc, const struct hrn_hist_confirm *confirm,
		   struct mrl_err *err)
{
	int gate = o->baseline_db ? hrn_bench_history_gate(o->baseline_db, o->db_label, o->last, o->gate_perf, doc,
							   confirm, err)
				  : 0;
	struct mrl_err db_err = { 0 };
	char *json = NULL;
	int rc = o->db ? hrn_bench_render(doc, HRN_BENCH_JSON, &json, &db_err) : 0;
	if (!rc && o->db)
		rc = hrn_db_add_bench(o->db, o->db_label, json, o->quiet, &db_err);
	free(json);
	if (gate < 0 && rc)
		fprintf(stderr, "merilo: %s\n", db_err.msg);
	else if (rc)
		*err = db_err;
	return gate < 0 ? gate : rc ? rc : gate ? HRN_EXIT_VERDICT : HRN_EXIT_OK;
}

/* The record to -o (or stdout) and into --db (the gate measuring a worse test
 * again with `again`); the exit code. An -o that fails now (the disk filled up
 * while measuring) was checked before: the record goes to standard output
 * instead, and still into --db. */
static int deliver(const struct opts *o, const struct hrn_bench_doc *doc, const char *text, struct again *again)
{
	const struct hrn_hist_confirm confirm = { .max = (int)o->confirm, .quiet = o->quiet, .measure = measure_again,
						  .ctx = again };
	struct mrl_err err = { 0 };
	int ret = 0;
	if (write_out(o->out, text, o->quiet, doc->n_results, &err)) {
		fprintf(stderr, "merilo: %s; the record follows on standard output\n", err.msg);
		fputs(text, stdout);
		ret = HRN_EXIT_RUNTIME;
	}
	const int hist = history(o, doc, &confirm, &err);
	return hist < 0 ? hrn_report(&err) : ret ? ret : hist;
}

int hrn_cmd_bench(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) /* the A/B gate has its own options: harness/bench_ab.c */
		if (!strcmp(argv[i], "--ab"))
			return hrn_bench_ab_cmd(argc, argv);
	struct opts o;
	json_t *invocation = hrn_invocation_json(argc, argv); /* before parsing reorders argv */
	int prc = parse_args(argc, argv, &o);
	if (prc != HRN_OPTS_GO)
		return json_decref(invocation), prc;
	o.argv = invocation;

	struct mrl_err err = { 0 };
	struct hrn_bench_doc doc;
	struct hrn_bench_scenario sc = { 0 };
	struct eng_model *m = NULL;
	struct eng_ctx *c = NULL;
	struct met_counters *counters = NULL;
	struct met_energy_meter *energy = NULL;
	float *logits = NULL;
	char *text = NULL;
	int ret = HRN_EXIT_OK;
	hrn_bench_doc_init(&doc);
	const char *backend = o.backend == ENG_BACKEND_CUDA ? "cuda" : "cpu";

	struct eng_open_opts eo = { .n_threads = (int)o.threads[0], .backend = o.backend,
				    .kv_f32 = o.kv_cache && o.kv_cache[1] == '3', .pin_threads = o.affinity, .lora = o.lora };
	if (eng_model_open(&m, o.model, &eo, &err)) {
		if (o.backend == ENG_BACKEND_CUDA && (err.code == MRL_ERUNTIME || err.code == MRL_ENOMEM)) {
			fprintf(stderr, "merilo bench: CUDA backend not available in this build/machine: %s\n", err.msg);
			ret = HRN_EXIT_RUNTIME;
			goto out;
		}
		goto fail;
	}
	hrn_print_model_warnings(m);
	struct eng_model_desc md;
	eng_model_describe(m, &md);
	if (!md.has_weights) {
		mrl_err_set(&err, MRL_EINPUT, "%s: a vocabulary-only model has no weights to benchmark", o.model);
		goto fail;
	}
	/* the context: the longest test (prefill, depth + decode, request, scenario prompt + gen) */
	if (o.prompts_path && prompts_load(o.prompts_path, m, md.add_bos, &sc, &err))
		goto fail;
	fit_default_sizes(&o, &sc, md.n_ctx_train);
	const uint64_t need = context_needed(&o, &sc);
	if (need > (1u << 24)) {
		ret = hrn_usage_error("bench", "the tests need a context of %llu positions (more than 2^24)",
				      (unsigned long long)need);
		goto out;
	}
	warn_context(need, md.n_ctx_train);

	if (doc_begin(&o, m, &doc, &err))
		goto fail;

	struct hrn_bench_env env = { 0 };
	if (hrn_bench_shape_of(m, &env.shape, &err))
		goto fail;
	/* counters count this thread and the threads it creates later (the context's pool) */
	struct met_counter_opts co;
	met_counter_opts_init(&co);
	co.inherit = true;
	struct met_energy_opts eopts;
	met_energy_opts_init(&eopts);
	if (met_counters_open(&counters, &co, &err) || met_energy_open(&energy, &eopts, &err))
		goto fail;
	/* idle power first, while nothing of ours runs: later windows then also give net energy */
	if (o.idle > 0 && met_energy_n_sources(energy) > 0 && met_energy_measure_idle(energy, o.idle, &err))
		goto fail;
	if (!(logits = malloc((size_t)md.n_vocab * sizeof *logits))) {
		mrl_err_set(&err, MRL_ENOMEM, "bench: out of memory for the logits");
		goto fail;
	}
	scenario_from_opts(&sc, &o);
	env = (struct hrn_bench_env){ .shape = env.shape, .backend = backend, .reps = (int)o.reps,
				      .warmup = (int)o.warmup, .seed = (uint64_t)o.seed, .n_vocab = md.n_vocab,
				      .logits = logits, .counters = counters, .energy = energy, .roofline = &doc.roofline,
				      .energy_window_s = o.energy_window };

	struct bench_progress bp = { .total = (size_t)o.n_threads * tests_per_thread_count(&o), .t0_ns = met_now_ns(),
				     .quiet = o.quiet };
	for (int ti = 0; ti < o.n_threads; ti++) {
		if (ti > 0) {
			eng_model_close(m);
			m = NULL;
			eo.n_threads = (int)o.threads[ti];
			if (eng_model_open(&m, o.model, &eo, &err))
				goto fail;
		}
		if (eng_ctx_new(&c, m, (uint32_t)need, &err))
			goto fail;
		env.model = m;
		env.ctx = c;
		env.threads = (int)o.threads[ti];
		int rc = run_tests(&o, &env, &sc, &doc, &bp, &err);
		eng_ctx_free(c);
		c = NULL;
		if (rc)
			goto fail;
	}
	if (rec_manifest_finish(&doc.manifest, &err) || hrn_bench_render(&doc, (enum hrn_bench_format)o.format, &text, &err))
		goto fail;
	ret = deliver(&o, &doc, text, &(struct again){ o.model, &env, &m, &eo, (uint32_t)need });
	goto out;
fail:
	ret = hrn_report(&err);
out:
	free(text);
	free(logits);
	prompts_free(&sc);
	eng_ctx_free(c);
	eng_model_close(m);
	met_counters_close(counters);
	met_energy_close(energy);
	hrn_bench_doc_release(&doc);
	json_decref(o.argv);
	return ret;
}
