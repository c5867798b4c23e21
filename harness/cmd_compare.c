/* cmd_compare.c — `merilo compare BASE_RUN CAND_RUN`: the checkpoint comparison
 * and CI gate.
 *
 * This file loads both runs (results.json + items.jsonl), pairs their items by
 * (task, item id, language), turns every metric both runs have on a task x
 * language into a struct rpt_cmp_input, and hands them to reports/ (rpt_compare:
 * statistics, Holm, verdicts, gate; rpt_compare_render: the outputs). When both
 * runs stored log-probabilities it aligns their choice sequences (same tokens,
 * same prompt) and gets KL / top-1 / |delta logprob| per position from
 * reports/ (rpt_kl_position, rpt_kl_summarize), gated only with --gate-kl. It
 * also says, in the output's notes, what it could not compare and why (suites
 * that differ, tasks or items in one run only, a run without log-probabilities,
 * sequences skipped for other tokens, no timing data). Exit: 0 no gated regression, 1 a gated metric regressed,
 * 2 usage, 3 bad or mismatched inputs, 4 runtime. Rules: docs/compare.md.
 */
#include "harness/bench.h"
#include "harness/cmp_int.h"
#include "harness/history.h"
#include "harness/hrn.h"
#include "harness/manifest.h"
#include "records/done_set.h"
#include "records/item.h"
#include "records/item_writer.h"
#include "records/items.h"
#include "records/record_json.h"
#include "records/results.h"
#include "records/run.h"
#include "common/fileio.h"
#include "common/json.h"
#include "common/sort.h"
#include "metrics/met.h"
#include "reports/rpt.h"

#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define GATE_CONFIG_MAX_BYTES ((size_t)1 << 20)

static void usage(FILE *out, const struct mrl_option *opts)
{
	fprintf(out,
		"usage: merilo compare BASE_RUN CAND_RUN [options]\n"
		"       merilo compare --baseline NAME CAND_RUN [--db PATH] [options]\n"
		"Compare two runs of the same suite item by item (candidate - base) and gate on regressions.\n"
		"A run is a folder written by 'merilo run' (results.json + items.jsonl). Also reported,\n"
		"each as a family of its own that is never gated: a task with a \"breakdown\" (subject,\n"
		"category) value by value, and the change of each language gap (en - sr-Cyrl,\n"
		"sr-Cyrl - sr-Latn, ...) on the same items (docs/compare.md).\n");
	hrn_print_options(out, opts, 24);
	fprintf(out,
		"exit codes: 0 no gated regression, 1 a gated metric, KL row or bench figure regressed,\n"
		"            2 usage error,\n"
		"            3 bad inputs, or the gate cannot judge: runs not comparable (they differ in a\n"
		"              score-changing setting or the candidate lacks items), a gate that judges\n"
		"              nothing (no gated comparison with pairs: choose with --gate), a gated drop with\n"
		"              too few pairs to show it (docs/compare.md), or a KL or performance gate\n"
		"              undetermined (too little top-K mass; no bench records),\n"
		"            4 runtime failure\n"
		"environment: MERILO_GNUPLOT  the gnuplot program for --out's plot (default: gnuplot from PATH)\n");
}

/* ------------------------------------------------------------ options */

static void state_release(struct cmp_state *st)
{
	rec_results_release(&st->base_r);
	rec_results_release(&st->cand_r);
	rec_items_release(&st->base_i);
	rec_items_release(&st->cand_i);
	free(st->base_bench);
	free(st->base_sorted);
	free(st->cand_sorted);
	for (size_t i = 0; i < st->n_inputs; i++)
		free((void *)st->inputs[i].pairs);
	free(st->inputs);
	for (size_t i = 0; i < st->n_notes; i++)
		free(st->notes[i]);
	free(st->notes);
	for (size_t i = 0; i < st->n_gate; i++)
		free(st->gate_names[i]);
	for (size_t i = 0; i < st->n_gate_tasks; i++)
		free(st->gate_tasks[i]);
	free(st->gate_tasks);
	for (size_t i = 0; i < st->n_gate_languages; i++)
		free(st->gate_languages[i]);
	free(st->gate_languages);
	mrl_buf_release(&st->perf);
	mrl_buf_release(&st->perf_failures);
	free(st->kl_rows);
	hrn_cmp_settings_release(st);
	hrn_cmp_by_value_release(st);
	hrn_cmp_gaps_release(st);
}

static int gate_add(struct cmp_state *st, const char *metric, double max_drop, struct mrl_err *err)
{
	for (size_t i = 0; i < st->n_gate; i++)
		if (!strcmp(st->gate_names[i], metric)) {
			st->gate[i].max_drop_points = max_drop;
			return 0;
		}
	if (st->n_gate == MAX_GATE)
		return mrl_err_set(err, MRL_EINPUT, "more than %d gated metrics", MAX_GATE);
	if (!(st->gate_names[st->n_gate] = strdup(metric)))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	st->gate[st->n_gate].metric = st->gate_names[st->n_gate];
	st->gate[st->n_gate].max_drop_points = max_drop;
	st->n_gate++;
	return 0;
}

static int strlist_from_json(const json_t *a, const char *path, const char *key, char ***out, size_t *n,
			     struct mrl_err *err)
{
	if (!json_is_array(a))
		return mrl_err_set(err, MRL_EINPUT, "%s: $.%s: expected an array of strings", path, key);
	if (!json_array_size(a)) /* a gate filter: an empty one would gate nothing */
		return mrl_err_set(err, MRL_EINPUT, "%s: $.%s: an empty list gates nothing (leave the key out to gate all)",
				   path, key);
	size_t i;
	json_t *v;
	json_array_foreach(a, i, v) {
		if (!json_is_string(v))
			return mrl_err_set(err, MRL_EINPUT, "%s: $.%s[%zu]: expected a string", path, key, i);
		if (rec_strlist_add(out, n, json_string_value(v)))
			return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
	return 0;
}

/* The gate config file (docs/compare.md):
 * {"alpha": 0.05, "threshold_points": 1.0, "gate": ["acc"] | {"acc": 1.0},
 *  "tasks": [...], "languages": [...]}. Unknown keys are errors: a misspelt
 * key in a CI gate must not silently loosen it. */
static int load_config(const char *path, struct cmp_opts *o, struct cmp_state *st, struct mrl_err *err)
{
	char *text = NULL;
	json_t *root = NULL;
	size_t len = 0;
	int rc = mrl_read_file(path, GATE_CONFIG_MAX_BYTES, &text, &len, err);
	if (rc)
		return rc;
	struct mrl_json_error je;
	root = mrl_json_parse_object(text, len, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: %s", path, je.text);
		goto out;
	}
	const char *key;
	json_t *v;
	double threshold = o->have_threshold ? o->threshold_points : 1.0;
	json_t *thr = json_object_get(root, "threshold_points");
	if (thr) {
		if (!json_is_number(thr) || json_number_value(thr) < 0) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s: $.threshold_points: expected a number >= 0", path);
			goto out;
		}
		if (!o->have_threshold)
			threshold = o->threshold_points = json_number_value(thr);
		o->have_threshold = true;
	}
	json_object_foreach(root, key, v) {
		if (!strcmp(key, "threshold_points")) {
			continue;
		} else if (!strcmp(key, "schema_version")) {
			if (!json_is_integer(v) || json_integer_value(v) != 1) {
				rc = mrl_err_set(err, MRL_EUNSUPPORTED, "%s: $.schema_version: this merilo reads version 1", path);
				goto out;
			}
		} else if (!strcmp(key, "alpha")) {
			if (!json_is_number(v) || !(json_number_value(v) > 0 && json_number_value(v) < 1)) {
				rc = mrl_err_set(err, MRL_EINPUT, "%s: $.alpha: expected a number in (0, 1)", path);
				goto out;
			}
			if (!o->have_alpha)
				o->alpha = json_number_value(v);
			o->have_alpha = true;
		} else if (!strcmp(key, "gate")) {
			if (o->gate_list)
				continue; /* --gate overrides */
			st->gate_from_user = true;
			if ((json_is_array(v) && !json_array_size(v)) || (json_is_object(v) && !json_object_size(v))) {
				rc = mrl_err_set(err, MRL_EINPUT, "%s: $.gate: an empty gate judges nothing (leave the key out "
						 "for the default)", path);
				goto out;
			}
			if (json_is_array(v)) {
				size_t i;
				json_t *m;
				json_array_foreach(v, i, m) {
					if (!json_is_string(m)) {
						rc = mrl_err_set(err, MRL_EINPUT, "%s: $.gate[%zu]: expected a metric name", path, i);
						goto out;
					}
					if ((rc = gate_add(st, json_string_value(m), threshold, err)))
						goto out;
				}
			} else if (json_is_object(v)) {
				const char *m;
				json_t *t;
				json_object_foreach(v, m, t) {
					if (!json_is_number(t) || json_number_value(t) < 0) {
						rc = mrl_err_set(err, MRL_EINPUT,
								 "%s: $.gate.%s: expected the maximum drop in points (a number >= 0)",
								 path, m);
						goto out;
					}
					if ((rc = gate_add(st, m, json_number_value(t), err)))
						goto out;
				}
			} else {
				rc = mrl_err_set(err, MRL_EINPUT,
						 "%s: $.gate: expected an array of metric names or an object metric -> points", path);
				goto out;
			}
		} else if (!strcmp(key, "gate_kl")) {
			if (!json_is_number(v) || json_number_value(v) < 0) {
				rc = mrl_err_set(err, MRL_EINPUT, "%s: $.gate_kl: expected the maximum mean KL in nats (a number >= 0)",
						 path);
				goto out;
			}
			if (!o->have_gate_kl)
				o->gate_kl = json_number_value(v);
			o->have_gate_kl = true;
		} else if (!strcmp(key, "tasks")) {
			if ((rc = strlist_from_json(v, path, key, &st->gate_tasks, &st->n_gate_tasks, err)))
				goto out;
		} else if (!strcmp(key, "languages")) {
			if ((rc = strlist_from_json(v, path, key, &st->gate_languages, &st->n_gate_languages, err)))
				goto out;
		} else {
			rc = mrl_err_set(err, MRL_EINPUT,
					 "%s: $.%s: unknown key (known: schema_version, alpha, threshold_points, gate, gate_kl, tasks, languages)",
					 path, key);
			goto out;
		}
	}
out:
	json_decref(root);
	free(text);
	return rc;
}

/* The options whose values are checked on the spot (each callback gets the
 * struct cmp_opts and words its own message). */
static int opt_threshold(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	struct cmp_opts *o = opt->value;
	if (hrn_parse_double(arg, &o->threshold_points) || o->threshold_points < 0)
		return mrl_err_set(err, MRL_EINPUT, "--threshold-points: '%s' is not a number >= 0", arg);
	o->have_threshold = true;
	return 0;
}

static int opt_alpha(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	struct cmp_opts *o = opt->value;
	if (hrn_parse_double(arg, &o->alpha) || !(o->alpha > 0 && o->alpha < 1))
		return mrl_err_set(err, MRL_EINPUT, "--alpha: '%s' is not a number in (0, 1)", arg);
	o->have_alpha = true;
	return 0;
}

static int opt_gate_kl(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	struct cmp_opts *o = opt->value;
	if (hrn_parse_double(arg, &o->gate_kl) || o->gate_kl < 0)
		return mrl_err_set(err, MRL_EINPUT, "--gate-kl: '%s' is not a number >= 0 (nats)", arg);
	o->have_gate_kl = true;
	return 0;
}

static int opt_gate_perf(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	struct cmp_opts *o = opt->value;
	if (hrn_parse_fraction(arg, &o->gate_perf) || !(o->gate_perf >= 0 && o->gate_perf < 10))
		return mrl_err_set(err, MRL_EINPUT, "--gate-perf: '%s' is not a percentage ('5%%') or fraction", arg);
	return 0;
}

static int opt_format(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	struct cmp_opts *o = opt->value;
	o->format = rpt_format_parse(arg);
	if (o->format != RPT_FMT_TEXT && o->format != RPT_FMT_MD && o->format != RPT_FMT_JSON &&
	    o->format != RPT_FMT_JUNIT)
		return mrl_err_set(err, MRL_EINPUT, "--format: '%s' is not one of text, md, json, junit", arg);
	return 0;
}

static int opt_seed(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	if (hrn_parse_u64(arg, opt->value))
		return mrl_err_set(err, MRL_EINPUT, "--seed: '%s' is not an unsigned integer", arg);
	return 0;
}

static int opt_allow(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	*(const char **)opt->value = arg;
	return hrn_cmp_allow_check(arg, err);
}

static int opt_min_coverage(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	double *v = opt->value;
	if (hrn_parse_double(arg, v) || !(*v >= 0 && *v <= 1))
		return mrl_err_set(err, MRL_EINPUT, "--kl-min-coverage: '%s' is not a fraction in [0, 1]", arg);
	return 0;
}

static int opt_boot(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	uint64_t b;
	if (hrn_parse_u64(arg, &b) || b < 100 || b > 1000000)
		return mrl_err_set(err, MRL_EINPUT, "--boot: '%s' is not an integer in 100..1000000", arg);
	*(size_t *)opt->value = (size_t)b;
	return 0;
}

/* Returns HRN_OPTS_GO, or the exit code to return at once. */
static int parse_args(int argc, char **argv, struct cmp_opts *o)
{
	memset(o, 0, sizeof *o);
	o->threshold_points = 1.0;
	o->alpha = 0.05;
	o->format = RPT_FMT_TEXT;
	o->seed = HRN_DEFAULT_SEED;
	o->n_boot = MET_BOOT_DEFAULT_RESAMPLES;
	o->gate_kl = NAN;
	o->gate_perf = NAN;
	o->kl_min_coverage = RPT_KL_MIN_COVERAGE;
	char seed_help[64], boot_help[64];
	snprintf(seed_help, sizeof seed_help, "paired bootstrap seed (default %d)", HRN_DEFAULT_SEED);
	snprintf(boot_help, sizeof boot_help, "bootstrap resamples (default %d)", MET_BOOT_DEFAULT_RESAMPLES);
	const struct mrl_option opts[] = {
		OPT_STRING(0, "gate", &o->gate_list, "M1,M2", "gated metrics (default: acc,acc_norm where present)"),
		OPT_STRING(0, "gate-tasks", &o->gate_tasks, "T1,T2", "gate only these tasks (default: all; config \"tasks\")"),
		OPT_STRING(0, "gate-languages", &o->gate_languages, "L1,L2",
			   "gate only these languages (default: all; config \"languages\")"),
		OPT_CALLBACK(0, "threshold-points", o, "T",
			     "a gated metric fails when it drops by more than T points (default 1.0)", opt_threshold),
		OPT_CALLBACK(0, "alpha", o, "A", "significance level for verdicts, Holm-adjusted (default 0.05)",
			     opt_alpha),
		OPT_CALLBACK(0, "gate-kl", o, "X",
			     "also fail when the mean KL(base || candidate), in nats, of any\n"
			     "task x language or overall exceeds X (needs --store-logprobs runs;\n"
			     "without it KL is reported, never gated)",
			     opt_gate_kl),
		OPT_STRING(0, "config", &o->config, "FILE", "gate config (JSON; see docs/compare.md); flags override it"),
		OPT_CALLBACK(0, "format", o, "text|md|json|junit", "what to print on stdout (default text)", opt_format),
		OPT_STRING('o', "out", &o->out_prefix, "PREFIX",
			   "also write PREFIX.txt, PREFIX.md, PREFIX.json, PREFIX.junit.xml"),
		OPT_BOOL('q', "quiet", &o->quiet, "print one line with the outcome (and --out's prefix) instead of\n"
			 "the report; the exit code and the --out files are unchanged"),
		OPT_CALLBACK(0, "seed", &o->seed, "N", seed_help, opt_seed),
		OPT_CALLBACK(0, "boot", &o->n_boot, "N", boot_help, opt_boot),
		OPT_INTEGER(0, "threads", &o->threads, 0, RPT_COMPARE_MAX_THREADS, "N",
			    "threads for the bootstrap (default 0 = the CPUs this process may\nuse); results do not depend on it"),
		OPT_BOOL(0, "allow-different-suites", &o->allow_different_suites,
			 "compare runs whose suite files differ (--allow-different suite)"),
		OPT_CALLBACK(0, "allow-different", &o->allow_different, "S1,S2",
			     "gate runs that differ in these settings (default: not comparable,\n"
			     "exit 3): suite, tasks, languages, limit, sample, fewshot,\n"
			     "bos_mode, template_version, chat_template, kv_cache, items\n"
			     "(docs/compare.md)",
			     opt_allow),
		OPT_CALLBACK(0, "kl-min-coverage", &o->kl_min_coverage, "F",
			     "a KL gate is undetermined (exit 3) where the top-K lists hold a\n"
			     "median mass below F (default 0.5)",
			     opt_min_coverage),
		OPT_STRING(0, "baseline", &o->baseline, "NAME",
			   "the base is the run named NAME in the history database (merilo db\n"
			   "baseline set), read from there, not from its folder"),
		OPT_STRING(0, "db", &o->db_path, "PATH", "with --baseline: the database (default merilo.db beside CAND_RUN)"),
		OPT_CALLBACK(0, "gate-perf", o, "PCT",
			     "also fail when a prefill/decode tokens/s or TTFT CI from the runs'\n"
			     "bench records (RUN/bench.json) is wholly worse than PCT (e.g. 5%);\n"
			     "undetermined (exit 3) where a run has none; without it the\n"
			     "performance deltas are informational",
			     opt_gate_perf),
		OPT_END(),
	};
	int n_args, rc = hrn_options("compare", opts, argc, argv, &n_args, usage);
	if (rc != HRN_OPTS_GO)
		return rc;
	/* an empty list would gate nothing (or, for the filters, everything unasked) */
	const char *lists[][2] = { { "--gate", o->gate_list }, { "--gate-tasks", o->gate_tasks },
				   { "--gate-languages", o->gate_languages } };
	for (size_t i = 0; i < 3; i++)
		if (lists[i][1] && strspn(lists[i][1], ", ") == strlen(lists[i][1]))
			return hrn_usage_error("compare", "%s '%s': an empty list", lists[i][0], lists[i][1]);
	/* DIR/ as the prefix wrote hidden files into DIR (DIR/.txt, DIR/.json, ...); "." and ".." too */
	const char *out_base = o->out_prefix ? strrchr(o->out_prefix, '/') : NULL;
	out_base = out_base ? out_base + 1 : o->out_prefix;
	if (out_base && (!*out_base || !strcmp(out_base, ".") || !strcmp(out_base, "..")))
		return hrn_usage_error("compare", "--out wants a file prefix (DIR/cmp writes DIR/cmp.txt, .md, .json, "
						  ".junit.xml), not a folder: '%s'", o->out_prefix);
	if (o->baseline && n_args != 1)
		return hrn_usage_error("compare", "with --baseline NAME: expected one run, CAND_RUN");
	if (o->baseline) {
		o->cand_dir = argv[0];
		return HRN_OPTS_GO;
	}
	if (n_args > 2)
		return hrn_usage_error("compare", "expected two runs, got a third: '%s'", argv[2]);
	if (n_args < 2)
		return hrn_usage_error("compare", "expected two runs: BASE_RUN CAND_RUN");
	o->base_dir = argv[0];
	o->cand_dir = argv[1];
	return HRN_OPTS_GO;
}

/* ------------------------------------------------------------ loading */

static int load_run(const char *arg, struct rec_results *r, struct rec_items *it, struct mrl_err *err)
{
	struct rec_run run;
	int rc = rec_run_load(arg, REC_RUN_RESULTS | REC_RUN_ITEMS, &run, err);
	*r = run.results; /* the caller owns them now, and releases them even on failure */
	*it = run.items;
	return rc;
}

/* --baseline NAME: the base run from the history database; o->base_dir becomes
 * the folder it was added from (label, held in dir), as when the folders are compared. */
static int load_baseline(struct cmp_opts *o, struct cmp_state *st, char dir[PATH_MAX], struct mrl_err *err)
{
	char def[PATH_MAX];
	struct rec_run run;
	int rc = o->db_path ? 0 : hrn_db_default_path(o->cand_dir, def, err);
	if (rc)
		return rc;
	rc = hrn_db_load_baseline(o->db_path ? o->db_path : def, o->baseline, REC_RUN_RESULTS | REC_RUN_ITEMS | REC_RUN_BENCH,
				  &run, err);
	st->base_r = run.results; /* the caller owns them now, and releases them even on failure */
	st->base_i = run.items;
	st->base_bench = run.bench_text;
	st->base_bench_len = run.bench_len;
	snprintf(st->base_bench_where, sizeof st->base_bench_where, "%s", run.bench_path);
	snprintf(dir, PATH_MAX, "%s", run.dir);
	o->base_dir = dir;
	return rc;
}

static int key_cmp(const struct rec_item *a, const struct rec_item *b)
{
	int c = strcmp(a->task, b->task);
	if (!c)
		c = strcmp(a->language, b->language);
	if (!c)
		c = strcmp(a->item_id, b->item_id);
	return c;
}

static int item_ptr_cmp(const void *pa, const void *pb)
{
	return key_cmp(*(const struct rec_item *const *)pa, *(const struct rec_item *const *)pb);
}

/* Items sorted by (task, language, item id); a key twice is bad input. */
static int sort_items(const struct rec_items *items, const char *label, const struct rec_item ***out,
		      struct mrl_err *err)
{
	const struct rec_item **v = malloc((items->n + 1) * sizeof *v);
	if (!v)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t i = 0; i < items->n; i++)
		v[i] = &items->items[i];
	qsort(v, items->n, sizeof *v, item_ptr_cmp);
	for (size_t i = 1; i < items->n; i++)
		if (!key_cmp(v[i - 1], v[i])) {
			int rc = mrl_err_set(err, MRL_EINPUT, "%s/items.jsonl: item '%s' of task '%s' in language '%s' appears twice",
					     label, v[i]->item_id, v[i]->task, v[i]->language);
			free(v);
			return rc;
		}
	*out = v;
	return 0;
}

static const struct rec_item_metric *item_metric(const struct rec_item *it, const char *name)
{
	for (size_t i = 0; i < it->n_metrics; i++)
		if (!strcmp(it->metrics[i].metric, name))
			return &it->metrics[i];
	return NULL;
}

static const struct rec_aggregate *find_aggregate(const struct rec_results *r, const char *task, const char *lang)
{
	for (size_t i = 0; i < r->n_aggregates; i++)
		if (!strcmp(r->aggregates[i].task, task) && !strcmp(r->aggregates[i].language, lang))
			return &r->aggregates[i];
	return NULL;
}

static bool aggregate_has(const struct rec_aggregate *a, const char *metric)
{
	for (size_t i = 0; a && i < a->n_metrics; i++)
		if (!strcmp(a->metrics[i].name, metric))
			return true;
	return false;
}

static const char *timing(const struct rec_item *it, const char *name, int64_t *ns)
{
	for (size_t i = 0; i < it->n_timings; i++)
		if (!strcmp(it->timings[i].name, name)) {
			*ns = it->timings[i].ns;
			return name;
		}
	return NULL;
}

/* ------------------------------------------------------------ pairing */

/* One task x language present in both runs: base[0..nb), cand[0..nc), each sorted by item id. */
static int add_group(struct cmp_state *st, const struct rec_item *const *base, size_t nb,
		     const struct rec_item *const *cand, size_t nc, struct mrl_err *err)
{
	const char *task = base[0]->task, *lang = base[0]->language;
	const struct rec_aggregate *ab = find_aggregate(&st->base_r, task, lang);
	const struct rec_aggregate *ac = find_aggregate(&st->cand_r, task, lang);
	/* merge the two sorted lists into pairs of indices */
	size_t *pb = malloc((nb + 1) * sizeof *pb), *pc = malloc((nb + 1) * sizeof *pc);
	size_t n_pairs = 0, i = 0, j = 0;
	int rc = 0;
	if (!pb || !pc) {
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	while (i < nb && j < nc) {
		int c = strcmp(base[i]->item_id, cand[j]->item_id);
		if (c == 0) {
			pb[n_pairs] = i++;
			pc[n_pairs++] = j++;
		} else if (c < 0) {
			i++;
		} else {
			j++;
		}
	}
	size_t base_only = nb - n_pairs, cand_only = nc - n_pairs;
	if (base_only || cand_only)
		if (hrn_cmp_add_note(st, "%s/%s: %zu items only in the base run and %zu only in the candidate are not compared",
				     task, lang, base_only, cand_only)) {
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
			goto out;
		}
	/* metrics: those the base's items have and both runs aggregate, in the base
	 * aggregate's order (every metric of the first item when the base has no
	 * aggregate for this task x language). Not only the first item's: a generate
	 * item whose answer has no letters has no script_ok, its neighbours do. */
	const struct rec_item *first = base[0];
	const size_t n_names = ab ? ab->n_metrics : first->n_metrics;
	for (size_t m = 0; m < n_names; m++) {
		const char *name = ab ? ab->metrics[m].name : first->metrics[m].metric;
		bool in_items = !ab;
		for (size_t k = 0; k < nb && !in_items; k++)
			in_items = item_metric(base[k], name) != NULL;
		if (!in_items || (ab && !aggregate_has(ab, name)) || (ac && !aggregate_has(ac, name)))
			continue;
		struct rpt_pair *pairs = calloc(n_pairs + 1, sizeof *pairs);
		if (!pairs) {
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
			goto out;
		}
		size_t n = 0, n_missing = 0;
		bool graded = true;
		for (size_t k = 0; k < n_pairs; k++) {
			const struct rec_item *b = base[pb[k]], *c = cand[pc[k]];
			const struct rec_item_metric *mb = item_metric(b, name), *mc = item_metric(c, name);
			if (!mb || !mc) {
				n_missing++;
				continue;
			}
			graded = graded && !isnan(mb->value) && !isnan(mc->value);
			pairs[n++] = (struct rpt_pair){ .item_id = b->item_id, .prompt = c->prompt ? c->prompt : b->prompt,
							.value = b->breakdown && c->breakdown ? b->breakdown : NULL };
			/* the value for graded metrics; the verdict otherwise (fixed up below when mixed) */
			pairs[n - 1].base = isnan(mb->value) ? (mb->correct ? 1 : 0) : mb->value;
			pairs[n - 1].cand = isnan(mc->value) ? (mc->correct ? 1 : 0) : mc->value;
		}
		if (!graded) /* a right/wrong metric: use the verdicts throughout */
			for (size_t k = 0, q = 0; k < n_pairs; k++) {
				const struct rec_item_metric *mb = item_metric(base[pb[k]], name),
							     *mc = item_metric(cand[pc[k]], name);
				if (!mb || !mc)
					continue;
				pairs[q].base = mb->correct ? 1 : 0;
				pairs[q].cand = mc->correct ? 1 : 0;
				q++;
			}
		if (n_missing && hrn_cmp_add_note(st, "%s/%s %s: %zu paired items lack the metric in one run and are not "
						      "compared", task, lang, name, n_missing)) {
			free(pairs);
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
			goto out;
		}
		if (st->n_inputs == st->cap_inputs) {
			size_t cap = st->cap_inputs ? 2 * st->cap_inputs : 16;
			struct rpt_cmp_input *v = realloc(st->inputs, cap * sizeof *v);
			if (!v) {
				free(pairs);
				rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
				goto out;
			}
			st->inputs = v;
			st->cap_inputs = cap;
		}
		st->inputs[st->n_inputs++] = (struct rpt_cmp_input){
			.task = task, .language = lang, .metric = name,
			.kind = graded && n > 0 ? RPT_METRIC_GRADED : RPT_METRIC_BINARY,
			.pairs = pairs, .n_pairs = n, .n_base_only = base_only, .n_cand_only = cand_only };
	}
out:
	free(pb);
	free(pc);
	return rc;
}

static int pair_runs(struct cmp_state *st, struct mrl_err *err)
{
	size_t nb = st->base_i.n, nc = st->cand_i.n, i = 0, j = 0;
	const struct rec_item **B = st->base_sorted, **C = st->cand_sorted;
	int rc = 0;
	while (i < nb || j < nc) {
		size_t ie = i, je = j;
		while (ie < nb && hrn_cmp_same_group(B[i], B[ie]))
			ie++;
		while (je < nc && hrn_cmp_same_group(C[j], C[je]))
			je++;
		int c = i == nb ? 1 : j == nc ? -1 : hrn_cmp_group_cmp(B[i], C[j]);
		if (c == 0) {
			if ((rc = add_group(st, B + i, ie - i, C + j, je - j, err)))
				return rc;
			i = ie;
			j = je;
		} else if (c < 0) {
			if ((rc = hrn_cmp_add_note(st, "%s/%s: only in the base run (%zu items); not compared", B[i]->task,
					   B[i]->language, ie - i)))
				return rc;
			i = ie;
		} else {
			if ((rc = hrn_cmp_add_note(st, "%s/%s: only in the candidate run (%zu items); not compared", C[j]->task,
					   C[j]->language, je - j)))
				return rc;
			j = je;
		}
	}
	return 0;
}

/* Whether run r scored its multiple-choice items in windows (--batch N, N > 1: the default
 * of runs that record it), where an item's time is an equal share of a call's. */
static bool scored_in_windows(const struct rec_results *r)
{
	const json_t *b = r->settings.extra ? json_object_get(r->settings.extra, "batch") : NULL;
	const char *v = json_string_value(b);
	return v && strtol(v, NULL, 10) > 1;
}

/* The median of the n log-ratios lr with a bootstrap percentile CI of it (2,000 resamples:
 * the median's CI needs fewer than the mean's tail); tmp holds n doubles. */
static int median_ci(const double *lr, size_t n, uint64_t seed, double *tmp, double *median, double *lo, double *hi,
		     struct mrl_err *err)
{
	enum { BOOT = 2000 };
	memcpy(tmp, lr, n * sizeof *tmp);
	qsort(tmp, n, sizeof *tmp, mrl_cmp_double);
	*median = met_percentile_sorted(tmp, n, 50);
	double *meds = malloc(BOOT * sizeof *meds);
	if (!meds)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	struct mrl_rng rng;
	mrl_rng_seed(&rng, seed);
	for (size_t b = 0; b < BOOT; b++) {
		for (size_t k = 0; k < n; k++)
			tmp[k] = lr[mrl_rng_below(&rng, n)];
		qsort(tmp, n, sizeof *tmp, mrl_cmp_double);
		meds[b] = met_percentile_sorted(tmp, n, 50);
	}
	qsort(meds, BOOT, sizeof *meds, mrl_cmp_double);
	*lo = met_percentile_sorted(meds, BOOT, 2.5);
	*hi = met_percentile_sorted(meds, BOOT, 97.5);
	free(meds);
	return 0;
}

/* Per task x language: time per item (timings_ns.total), candidate / base, as
 * the median of paired log-ratios with a bootstrap percentile CI of that median
 * and the Wilcoxon signed-rank p. Where either run scored in windows, an item's
 * time is a share of its call's, not a measurement of its own: then the ratio of the
 * paired items' total times, without a CI or a test (the per-item statistics had
 * treated one measurement per window as many: CI [1.032, 1.034], p 4e-6). Informational:
 * not gated. */
static int perf_section(struct cmp_state *st, const struct cmp_opts *o, struct mrl_err *err)
{
	struct mrl_buf *s = &st->perf;
	size_t n_rows = 0, cap = 0, n_paired = 0; /* n_paired: timings paired in all cells */
	double *lr = NULL, *tmp = NULL;
	int rc = 0;
	const bool windows = scored_in_windows(&st->base_r) || scored_in_windows(&st->cand_r);
	const struct rec_item **B = st->base_sorted, **C = st->cand_sorted;
	for (size_t g = 0; g < st->n_inputs; g++) {
		const struct rpt_cmp_input *in = &st->inputs[g];
		if (g > 0 && !strcmp(in->task, st->inputs[g - 1].task) && !strcmp(in->language, st->inputs[g - 1].language))
			continue; /* one row per task x language */
		/* gather paired timings via the sorted arrays */
		size_t n = 0;
		double sum_b = 0, sum_c = 0;
		for (size_t i = 0, j = 0; i < st->base_i.n && j < st->cand_i.n;) {
			int c = key_cmp(B[i], C[j]);
			if (c < 0) {
				i++;
				continue;
			}
			if (c > 0) {
				j++;
				continue;
			}
			int64_t tb, tc;
			if (!strcmp(B[i]->task, in->task) && !strcmp(B[i]->language, in->language) &&
			    timing(B[i], "total", &tb) && timing(C[j], "total", &tc) && tb > 0 && tc > 0) {
				if (n == cap) {
					cap = cap ? 2 * cap : 256;
					double *v = realloc(lr, cap * sizeof *v);
					if (!v) {
						rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
						goto out;
					}
					lr = v;
				}
				lr[n++] = log((double)tc / (double)tb);
				sum_b += (double)tb, sum_c += (double)tc;
			}
			i++;
			j++;
		}
		n_paired += n;
		if (n < 2)
			continue;
		double *v = realloc(tmp, n * sizeof *v);
		if (!v) {
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
			goto out;
		}
		tmp = v;
		double median = 0, lo = 0, hi = 0;
		struct met_wilcoxon w = { .p = NAN };
		if (!windows && ((rc = median_ci(lr, n, o->seed, tmp, &median, &lo, &hi, err)) ||
				 (rc = met_wilcoxon_signed_rank(lr, n, &w, err))))
			goto out;
		if (n_rows++ == 0)
			mrl_buf_add(s, windows ? "### Performance (informational, not gated)\n\n"
						 "Time per item (`timings_ns.total` of items.jsonl), candidate / base. A run scored "
						 "its items in windows (`--batch N`): an item's time is an equal share of its "
						 "call's, not a measurement of its own, so the ratio is of the paired items' total "
						 "times, without a CI or a test.\n\n"
						 "| task | language | n | time ratio (totals) | 95% CI | p |\n"
						 "|---|---|---:|---:|---|---:|\n"
					       : "### Performance (informational, not gated)\n\n"
						 "Time per item (`timings_ns.total` of items.jsonl), candidate / base: median of "
						 "the paired ratios with a 95% bootstrap CI (2,000 resamples) and the Wilcoxon "
						 "signed-rank p.\n\n"
						 "| task | language | n | time ratio | 95% CI | p |\n|---|---|---:|---:|---|---:|\n");
		mrl_buf_add(s, "| ");
		rpt_esc_md(s, in->task);
		mrl_buf_add(s, " | ");
		rpt_esc_md(s, in->language);
		if (windows)
			mrl_buf_addf(s, " | %zu | %.3f | — | — |\n", n, sum_c / sum_b);
		else
			mrl_buf_addf(s, " | %zu | %.3f | [%.3f, %.3f] | %.3g |\n", n, exp(median), exp(lo), exp(hi), w.p);
	}
	if (!n_rows && !n_paired)
		rc = hrn_cmp_add_note(st, "performance: no paired item timings (timings_ns.total) in both runs; no time deltas");
	else if (!n_rows) /* timings there, one pair a task x language: no ratio of one pair */
		rc = hrn_cmp_add_note(st, "performance: %zu paired item timings, fewer than 2 in every task x language; no "
					  "time deltas", n_paired);
	if (!rc)
		rc = hrn_cmp_bench_section(st, o, err);
out:
	free(lr);
	free(tmp);
	return rc;
}

/* ------------------------------------------------------------ the command */

static int write_output(const char *prefix, const char *ext, const char *text, struct mrl_err *err)
{
	char path[PATH_MAX];
	if ((size_t)snprintf(path, sizeof path, "%s%s", prefix, ext) >= sizeof path)
		return mrl_err_set(err, MRL_EWRITE, "%s%s: path too long", prefix, ext);
	int rc = mrl_mkdir_parent(path, err);
	return rc ? rc : mrl_write_file_atomic(path, text, strlen(text), err);
}

static const char *suite_sha(const struct rec_results *r)
{
	return r->suite.sha256 ? r->suite.sha256 : r->manifest.suite_sha256;
}

/* --gate M1,M2: the gated metrics the user chose. */
static int gate_from_list(struct cmp_state *st, const struct cmp_opts *o, struct mrl_err *err)
{
	int rc = 0;
	st->gate_from_user = true;
	char *list = strdup(o->gate_list), *save = NULL;
	if (!list)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save))
		if (*t && (rc = gate_add(st, t, o->threshold_points, err)))
			break;
	free(list);
	return rc;
}

/* The default gate: acc and acc_norm where the runs have them. */
static int gate_defaults(struct cmp_state *st, const struct cmp_opts *o, struct mrl_err *err)
{
	const char *def[] = { "acc", "acc_norm" };
	int rc;
	for (size_t d = 0; d < 2; d++)
		for (size_t i = 0; i < st->n_inputs; i++)
			if (!strcmp(st->inputs[i].metric, def[d])) {
				if ((rc = gate_add(st, def[d], o->threshold_points, err)))
					return rc;
				break;
			}
	if (!st->n_gate && hrn_cmp_add_note(st, "no metric is gated: the runs have neither acc nor acc_norm (choose with --gate)"))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	return 0;
}

/* The notes on what the two runs' records say of their inputs: different suites, a
 * suite's sha256 not recorded, a truncated items.jsonl. */
static int input_notes(struct cmp_state *st, const struct cmp_opts *o, struct mrl_err *err)
{
	const char *sb = suite_sha(&st->base_r), *sc = suite_sha(&st->cand_r);
	int rc = 0;
	if (sb && sc && strcmp(sb, sc))
		rc = hrn_cmp_add_note(st, "the runs used different %s (sha256 %.12s in %s, %.12s in %s): only items with the "
				      "same task, id and language are compared, and they may differ in content",
				      o->allow_different_suites ? "suite files" : "suites", sb, o->base_dir, sc, o->cand_dir);
	else if (!sb || !sc)
		rc = hrn_cmp_add_note(st, "a run does not record its suite's sha256: could not check that both ran the same "
				      "suite");
	if (!rc && (st->base_i.truncated_tail || st->cand_i.truncated_tail))
		rc = hrn_cmp_add_note(st, "a run's items.jsonl ends in a truncated line (a killed run); that item is not "
				      "compared");
	return rc ? mrl_err_set(err, MRL_ENOMEM, "out of memory") : 0;
}

int hrn_cmd_compare(int argc, char **argv)
{
	struct cmp_opts o;
	int prc = parse_args(argc, argv, &o);
	if (prc != HRN_OPTS_GO)
		return prc;
	struct cmp_state st;
	memset(&st, 0, sizeof st);
	mrl_buf_init(&st.perf);
	mrl_buf_init(&st.perf_failures);
	struct rpt_cmp_result res;
	memset(&res, 0, sizeof res);
	struct mrl_err err = {0};
	int exit_code = HRN_EXIT_OK, rc = 0;
	char *outputs[4] = {0};
	char build_b[128], build_c[128], base_label[PATH_MAX];

	hrn_progress_begin(&st.progress, "merilo compare", "comparisons", 0, o.quiet, false);
	if (o.config && (rc = load_config(o.config, &o, &st, &err)))
		goto fail;
	if (o.gate_list && (rc = gate_from_list(&st, &o, &err)))
		goto fail;
	if ((rc = o.baseline ? load_baseline(&o, &st, base_label, &err)
			     : load_run(o.base_dir, &st.base_r, &st.base_i, &err)) ||
	    (rc = load_run(o.cand_dir, &st.cand_r, &st.cand_i, &err)))
		goto fail;
	if ((rc = input_notes(&st, &o, &err)) || (rc = sort_items(&st.base_i, o.base_dir, &st.base_sorted, &err)) ||
	    (rc = sort_items(&st.cand_i, o.cand_dir, &st.cand_sorted, &err)) || (rc = hrn_cmp_settings(&st, &o, &err)) ||
	    (rc = pair_runs(&st, &err)))
		goto fail;
	if (st.n_inputs == 0) {
		rc = mrl_err_set(&err, MRL_EINPUT, "%s and %s share no task x language with a common metric: nothing to compare",
				 o.base_dir, o.cand_dir);
		goto fail;
	}
	if (!st.gate_from_user && (rc = gate_defaults(&st, &o, &err)))
		goto fail;
	if ((exit_code = hrn_cmp_gate_flags(&st, &o)) != HRN_EXIT_OK)
		goto out;
	if ((rc = hrn_cmp_kl_section(&st, &o, &err)))
		goto fail;
	if ((rc = perf_section(&st, &o, &err)))
		goto fail;

	struct rpt_compare_opts co;
	rpt_compare_opts_init(&co);
	co.alpha = o.alpha;
	co.gate = st.gate;
	co.n_gate = st.n_gate;
	co.gate_tasks = (const char *const *)st.gate_tasks;
	co.n_gate_tasks = st.n_gate_tasks;
	co.gate_languages = (const char *const *)st.gate_languages;
	co.n_gate_languages = st.n_gate_languages;
	co.seed = o.seed;
	co.n_resamples = o.n_boot;
	co.n_threads = (size_t)o.threads;
	co.kl_min_coverage = o.kl_min_coverage;
	if ((rc = hrn_cmp_compare(&st, "task x language", st.inputs, st.n_inputs, &co, &res, &err)) ||
	    (rc = rpt_compare_set_kl(&res, st.kl_rows, st.n_kl_rows, o.gate_kl, &err)) ||
	    (rc = hrn_cmp_by_value(&st, &co, &err)) || (rc = hrn_cmp_gaps(&st, &co, &err)))
		goto fail;

	snprintf(build_b, sizeof build_b, "%s %s", st.base_r.manifest.merilo_version ? st.base_r.manifest.merilo_version : "?",
		 st.base_r.manifest.git_commit ? st.base_r.manifest.git_commit : "?");
	snprintf(build_c, sizeof build_c, "%s %s", st.cand_r.manifest.merilo_version ? st.cand_r.manifest.merilo_version : "?",
		 st.cand_r.manifest.git_commit ? st.cand_r.manifest.git_commit : "?");
	struct rpt_cmp_meta meta = {
		.base = { o.base_dir, st.base_r.model.name, st.base_r.model.sha256, suite_sha(&st.base_r), build_b,
			  st.base_r.manifest.hostname },
		.cand = { o.cand_dir, st.cand_r.model.name, st.cand_r.model.sha256, suite_sha(&st.cand_r), build_c,
			  st.cand_r.manifest.hostname },
		.notes = (const char *const *)st.notes, .n_notes = st.n_notes, .diffs = st.diffs, .n_diffs = st.n_diffs,
		.by_value = st.by_value.n_rows ? &st.by_value : NULL, .gaps = st.gaps.n_rows ? &st.gaps : NULL,
	};
	hrn_progress_end(&st.progress); /* a terminal's line cleared before the report */
	if ((rc = hrn_cmp_perf_meta(&st, &o, &meta, &err)))
		goto fail;
	static const enum rpt_format fmts[4] = { RPT_FMT_TEXT, RPT_FMT_MD, RPT_FMT_JSON, RPT_FMT_JUNIT };
	static const char *const exts[4] = { ".txt", ".md", ".json", ".junit.xml" };
	for (int f = 0; f < 4; f++) {
		if (!o.out_prefix && (int)fmts[f] != o.format)
			continue;
		if (!(outputs[f] = rpt_compare_render(&res, &meta, fmts[f], &err))) {
			rc = err.code ? err.code : MRL_ENOMEM;
			goto fail;
		}
		if (o.out_prefix && (rc = write_output(o.out_prefix, exts[f], outputs[f], &err)))
			goto fail;
		if ((int)fmts[f] == o.format && !o.quiet) {
			fputs(outputs[f], stdout);
			size_t len = strlen(outputs[f]);
			if (len && outputs[f][len - 1] != '\n')
				fputc('\n', stdout);
		}
	}
	if (o.out_prefix && (rc = hrn_cmp_plot(o.out_prefix, &res, o.quiet, &err)))
		goto fail;
	fflush(stdout);
	enum rpt_cmp_outcome outcome = rpt_compare_outcome(&res, &meta);
	exit_code = outcome == RPT_CMP_NOT_COMPARABLE || outcome == RPT_CMP_UNDETERMINED ? HRN_EXIT_INPUT
		    : outcome == RPT_CMP_REGRESSION					 ? HRN_EXIT_VERDICT
											 : HRN_EXIT_OK;
	if (o.quiet)
		printf("merilo compare: %s (exit %d)%s%s\n", rpt_cmp_outcome_name(outcome), exit_code,
		       o.out_prefix ? "; report: " : "", o.out_prefix ? o.out_prefix : "");
	if (exit_code == HRN_EXIT_INPUT) /* under --quiet there is no output to see: where the reason is */
		fprintf(stderr, "merilo compare: %s: the gate cannot judge these runs (exit 3; %s)\n",
			rpt_cmp_outcome_name(outcome),
			!o.quiet ? "see the output" : o.out_prefix ? "the reason is in the report" : "run without --quiet for the reason");
	goto out;
fail:
	hrn_progress_end(&st.progress);
	exit_code = hrn_report(&err);
out:
	for (int f = 0; f < 4; f++)
		free(outputs[f]);
	rpt_cmp_result_release(&res);
	state_release(&st);
	return exit_code;
}
