/* cmd_report.c — `merilo report RUN_DIR... [-o OUT_DIR] [--image-format png,svg]`:
 * an HTML and markdown report of one or more runs, with gnuplot plots.
 *
 * This file only reads the run folders (results.json, items.jsonl, through
 * the records/ headers) and fills the plain structs of reports/rpt.h; plotting and
 * rendering live in reports/. The records stay loaded until the report is
 * written: the rpt_* structs borrow their strings. gnuplot missing or failing
 * is a warning (exit 0): the report says so and every table is still there.
 * docs/reports.md describes the output.
 */
#include "common/fileio.h"
#include "harness/bench.h"
#include "harness/hrn.h"
#include "common/json.h"
#include "harness/manifest.h"
#include "harness/sample.h"
#include "records/done_set.h"
#include "records/item.h"
#include "records/item_writer.h"
#include "records/items.h"
#include "records/manifest.h"
#include "records/record_json.h"
#include "records/results.h"
#include "records/run.h"
#include "reports/rpt.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static void usage(FILE *out, const struct mrl_option *opts)
{
	fprintf(out,
		"usage: merilo report RUN_DIR... [--bench FILE]... [-o OUT_DIR] [--image-format png,svg] [--title TEXT]\n"
		"       merilo report --bench FILE... [-o OUT_DIR] [--image-format png,svg] [--title TEXT]\n"
		"Write OUT_DIR/report.html (one self-contained file: its images inline) and OUT_DIR/report.md\n"
		"(which links the image files) from the\n"
		"run folders written by 'merilo run' (results.json, and items.jsonl when present), with plots\n"
		"drawn by gnuplot: accuracy per task x language with CIs, the language gap (en - BCMS) and the\n"
		"script gap (sr-Cyrl - sr-Latn) with paired CIs and McNemar p-values, time per item; and latency,\n"
		"throughput and energy when the runs carry bench data. Each plot's image files, gnuplot script\n"
		"(.gp) and data (.dat) are kept in OUT_DIR too.\n");
	hrn_print_options(out, opts, 20);
	fprintf(out,
		"environment: MERILO_GNUPLOT  the gnuplot program (default: gnuplot from PATH)\n"
		"gnuplot absent or failing: a warning on stderr and in the report; the rest is written, exit 0.\n"
		"exit codes: 0 written, 2 usage error, 3 a run folder is missing or malformed, 4 cannot write\n");
}

/* Everything loaded from one run folder. */
struct loaded_run {
	char *dir;
	struct rec_results res;
	struct rec_items items;
	bool have_items;
	struct hrn_bench_doc bench;   /* RUN_DIR/bench.json(l), or the --bench file itself */
	bool have_bench, bench_only;  /* bench_only: an entry made from --bench FILE, or split off a run */
	char *bench_path;             /* the file bench was read from, owned */
	char **series_names;          /* n_series_names labels of the latency samples, owned */
	size_t n_series_names;
	char label[64];
	char engine[256], host[512], note[1024]; /* note: warnings about the files, "; "-separated */
	char which_items[96];         /* which items of each task, where not all ("" = all) */
	/* per-item total time by language, ms */
	double **ms;
	const char **ms_lang;
	size_t *ms_n;
	size_t n_ms;
};

static void loaded_release(struct loaded_run *r)
{
	if (r->have_bench)
		hrn_bench_doc_release(&r->bench);
	for (size_t i = 0; i < r->n_series_names; i++)
		free(r->series_names[i]);
	free(r->series_names);
	free(r->bench_path);
	rec_results_release(&r->res);
	rec_items_release(&r->items);
	for (size_t i = 0; i < r->n_ms; i++)
		free(r->ms[i]);
	free(r->ms);
	free(r->ms_lang);
	free(r->ms_n);
	memset(r, 0, sizeof *r);
}

/* Append a warning to r's note (shown under the Runs table). */
static __attribute__((format(printf, 2, 3))) void note_add(struct loaded_run *r, const char *fmt, ...)
{
	size_t len = strlen(r->note);
	if (len && len + 2 < sizeof r->note)
		len += (size_t)snprintf(r->note + len, sizeof r->note - len, "; ");
	va_list ap;
	va_start(ap, fmt);
	if (len < sizeof r->note)
		vsnprintf(r->note + len, sizeof r->note - len, fmt, ap);
	va_end(ap);
}

/* Per-item time ("total", else the sum of all timings) by language. */
static int collect_times(struct loaded_run *r, struct mrl_err *err)
{
	size_t n = r->items.n;
	r->ms = calloc(n + 1, sizeof *r->ms);
	r->ms_lang = calloc(n + 1, sizeof *r->ms_lang);
	r->ms_n = calloc(n + 1, sizeof *r->ms_n);
	if (!r->ms || !r->ms_lang || !r->ms_n)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t i = 0; i < n; i++) {
		const struct rec_item *it = &r->items.items[i];
		double ns = NAN, sum = 0;
		for (size_t k = 0; k < it->n_timings; k++) {
			if (!strcmp(it->timings[k].name, "total"))
				ns = (double)it->timings[k].ns;
			sum += (double)it->timings[k].ns;
		}
		if (!isfinite(ns))
			ns = it->n_timings ? sum : NAN;
		if (!isfinite(ns))
			continue;
		size_t l;
		for (l = 0; l < r->n_ms && strcmp(r->ms_lang[l], it->language); l++)
			;
		if (l == r->n_ms) {
			r->ms_lang[l] = it->language;
			if (!(r->ms[l] = malloc(n * sizeof **r->ms)))
				return mrl_err_set(err, MRL_ENOMEM, "out of memory");
			r->n_ms++;
		}
		r->ms[l][r->ms_n[l]++] = ns / 1e6;
	}
	return 0;
}

static int load_run(const char *dir, struct loaded_run *r, struct mrl_err *err)
{
	char path[4096];
	struct stat st;
	memset(r, 0, sizeof *r);
	rec_results_init(&r->res);
	/* a run's results.json stands for its folder, as compare, leaderboard and merge take it */
	int rc = rec_run_folder(dir, path, sizeof path, err);
	if (rc)
		return rc;
	if (!(r->dir = strdup(path)))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	dir = r->dir; /* path is reused below */
	struct rec_run run;
	rc = rec_run_load(dir, REC_RUN_RESULTS | REC_RUN_ITEMS_IF_PRESENT, &run, err);
	r->res = run.results; /* r owns them now (released by its caller even on failure) */
	r->items = run.items;
	if (rc)
		return rc;
	if (run.have_items) {
		r->have_items = true;
		if (r->items.truncated_tail)
			snprintf(r->note, sizeof r->note, "items.jsonl: the last line (%zu, %zu bytes) is truncated (a run "
				 "stopped mid-write) and was skipped", r->items.tail_line, r->items.tail_bytes);
		if ((rc = collect_times(r, err)))
			return rc;
	} else {
		snprintf(r->note, sizeof r->note, "items.jsonl absent: per-item times are not shown");
	}
	const int64_t missing = hrn_results_missing(&r->res);
	if (missing > 0)
		note_add(r, "%lld units had no prediction and are counted as wrong (merilo score --allow-missing)",
			 (long long)missing);
	static const char *const bench_names[] = { "bench.json", "bench.jsonl" };
	for (size_t b = 0; b < 2 && !r->have_bench; b++) {
		snprintf(path, sizeof path, "%s/%s", dir, bench_names[b]);
		if (stat(path, &st) == 0) {
			r->have_bench = true; /* released even when the read fails */
			if (!(r->bench_path = strdup(path)))
				return mrl_err_set(err, MRL_ENOMEM, "out of memory");
			if ((rc = hrn_bench_read(path, &r->bench, err)))
				return rc;
		}
	}
	const struct rec_manifest *m = &r->res.manifest;
	snprintf(r->engine, sizeof r->engine, "%s %s (%s)", r->res.engine.name ? r->res.engine.name : "?",
		 r->res.engine.version ? r->res.engine.version : "?", r->res.engine.backend ? r->res.engine.backend : "?");
	int n = snprintf(r->host, sizeof r->host, "%s", m->cpu_model ? m->cpu_model : "CPU unknown");
	if (m->logical_cores > 0 && n >= 0 && (size_t)n < sizeof r->host)
		n += snprintf(r->host + n, sizeof r->host - (size_t)n, ", %lld logical cores", (long long)m->logical_cores);
	if (m->gpu_name && n >= 0 && (size_t)n < sizeof r->host)
		snprintf(r->host + n, sizeof r->host - (size_t)n, ", %s", m->gpu_name);
	const struct rec_settings *set = &r->res.settings; /* which items of each task, where not all */
	struct hrn_sample_spec spec;
	uint64_t seed;
	char size[32];
	if (hrn_sample_from_json(set->extra, &spec, &seed) > 0)
		snprintf(r->which_items, sizeof r->which_items, "sample of %s%s (seed %llu)",
			 hrn_sample_str(spec, size, sizeof size), spec.pct ? " of the items" : " items", (unsigned long long)seed);
	else if (set->limit > 0)
		snprintf(r->which_items, sizeof r->which_items, "first %lld items", (long long)set->limit);
	return 0;
}

/* The engine and host lines of a bench-only entry, from its record's manifest. */
static void bench_only_describe(struct loaded_run *r)
{
	const struct rec_manifest *m = &r->bench.manifest;
	const char *backend = r->bench.n_results && r->bench.results[0].backend ? r->bench.results[0].backend : "?";
	snprintf(r->engine, sizeof r->engine, "merilo %s (%s)", m->merilo_version ? m->merilo_version : "?", backend);
	int n = snprintf(r->host, sizeof r->host, "%s", m->cpu_model ? m->cpu_model : "CPU unknown");
	if (m->logical_cores > 0 && n >= 0 && (size_t)n < sizeof r->host)
		snprintf(r->host + n, sizeof r->host - (size_t)n, ", %lld logical cores", (long long)m->logical_cores);
}

/* An entry made from `--bench FILE`: the bench record alone (no results.json). */
static int load_bench_only(const char *path, struct loaded_run *r, struct mrl_err *err)
{
	memset(r, 0, sizeof *r);
	rec_results_init(&r->res);
	r->bench_only = r->have_bench = true;
	if (!(r->dir = strdup(path)))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	int rc = hrn_bench_read(path, &r->bench, err);
	if (rc)
		return rc;
	bench_only_describe(r);
	note_add(r, "a merilo bench record (no evaluation results)");
	return 0;
}

/* The SHA-256 of the model a run's results.json scored, and of the model a bench
 * record measured; NULL where the record does not say. */
static const char *results_model_sha(const struct rec_results *res)
{
	return res->model.sha256 ? res->model.sha256 : res->manifest.model_sha256;
}

static const char *bench_model_sha(const struct hrn_bench_doc *d)
{
	return d->model.sha256 ? d->model.sha256 : d->manifest.model_sha256;
}

/* A bench record found in run folder r is r's only when it measured the model
 * r's results.json scored: anyone can write `merilo bench -m OTHER.gguf -o
 * RUN/bench.json`, and crediting its figures to r would label another model's
 * speed with r's name. Where the two SHA-256 differ, the record moves to *split,
 * an entry of its own labelled with the record's own model, and r, *split and
 * stderr say so (*moved true). Where either SHA-256 is missing nothing can be
 * checked: the record stays with r and r's note says it is unchecked. */
static int split_foreign_bench(struct loaded_run *r, struct loaded_run *split, bool *moved, struct mrl_err *err)
{
	*moved = false;
	if (!r->have_bench || r->bench_only)
		return 0;
	const char *run_sha = results_model_sha(&r->res), *bench_sha = bench_model_sha(&r->bench);
	const char *bench_name = r->bench.model.name ? r->bench.model.name : "?";
	const char *run_name = r->res.model.name ? r->res.model.name : "?";
	if (!run_sha || !bench_sha) {
		note_add(r, "%s: its model could not be checked against results.json's (no model SHA-256 in %s)",
			 r->bench_path, run_sha ? "the bench record" : "results.json");
		return 0;
	}
	if (!strcasecmp(run_sha, bench_sha))
		return 0;
	memset(split, 0, sizeof *split);
	rec_results_init(&split->res);
	split->bench = r->bench; /* split owns the record now */
	split->bench_path = r->bench_path;
	split->have_bench = split->bench_only = true;
	memset(&r->bench, 0, sizeof r->bench);
	r->bench_path = NULL;
	r->have_bench = false;
	*moved = true;
	if (!(split->dir = strdup(split->bench_path)))
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	bench_only_describe(split);
	note_add(r, "%s measured another model, %s (SHA-256 %.12s), not this run's (%.12s): its figures are not "
		 "this run's and are shown as their own entry", split->bench_path, bench_name, bench_sha, run_sha);
	note_add(split, "a merilo bench record found in run folder %s, of another model than that run's %s (SHA-256 "
		 "%.12s): not credited to the run", r->dir, run_name, run_sha);
	fprintf(stderr, "merilo report: warning: %s measured %s (SHA-256 %.12s), not the model of %s/results.json, %s "
		"(SHA-256 %.12s): its figures are shown as their own entry, labelled with the bench record's model\n",
		split->bench_path, bench_name, bench_sha, r->dir, run_name, run_sha);
	return 0;
}

/* The bench record's latency samples and throughput points of run i, appended to
 * ttft / tpot / pts (sized by the caller: one entry per result at most). A ppN row
 * is one point: its prefill tokens/s, and the decode tokens/s of tgM at depth N with
 * the same threads when the bench ran it (decode after a prompt of that length),
 * else of tgM at depth 0, given to the first ppN row of those threads only (the
 * same figure under every prompt length would read as measured there); energy per
 * token from the same rows. */
static int collect_bench(struct loaded_run *L, size_t i, struct rpt_sample *ttft, size_t *n_ttft,
			 struct rpt_sample *tpot, size_t *n_tpot, struct rpt_bench_point *pts, size_t *n_pts,
			 struct mrl_err *err)
{
	const struct hrn_bench_doc *d = &L->bench;
	bool many_threads = false;
	for (size_t k = 1; k < d->n_results; k++)
		many_threads |= d->results[k].threads != d->results[0].threads;
	L->series_names = calloc(2 * d->n_results + 1, sizeof *L->series_names);
	bool *tg_given = calloc(d->n_results + 1, sizeof *tg_given); /* a depth-0 tg already on a row */
	if (!L->series_names || !tg_given) {
		free(tg_given);
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	}
	for (size_t k = 0; k < d->n_results; k++) {
		const struct hrn_bench_result *r = &d->results[k];
		const struct hrn_bench_series *t1 = hrn_bench_result_series(r, "ttft_ms");
		const struct hrn_bench_series *t2 = hrn_bench_result_series(r, "tpot_ms");
		const bool latency = r->kind && (!strcmp(r->kind, "request") || !strcmp(r->kind, "server") ||
						 !strcmp(r->kind, "offline"));
		if (latency && ((t1 && t1->n) || (t2 && t2->n))) {
			char name[96];
			if (many_threads)
				snprintf(name, sizeof name, "%s, %lld thread%s", r->test, (long long)r->threads,
					 r->threads == 1 ? "" : "s");
			else
				snprintf(name, sizeof name, "%s", r->test);
			char *copy = strdup(name);
			if (!copy) {
				free(tg_given);
				return mrl_err_set(err, MRL_ENOMEM, "out of memory");
			}
			L->series_names[L->n_series_names++] = copy;
			if (t1 && t1->n)
				ttft[(*n_ttft)++] = (struct rpt_sample){ .run = i, .series = copy, .ms = t1->samples, .n = t1->n };
			if (t2 && t2->n)
				tpot[(*n_tpot)++] = (struct rpt_sample){ .run = i, .series = copy, .ms = t2->samples, .n = t2->n };
		}
		if (!r->kind || strcmp(r->kind, "pp"))
			continue;
		const struct hrn_bench_series *pp = hrn_bench_result_series(r, "tokens_per_s");
		const struct hrn_bench_result *tg = NULL;
		for (size_t q = 0; q < d->n_results; q++) {
			const struct hrn_bench_result *c = &d->results[q];
			if (!c->kind || strcmp(c->kind, "tg") || c->threads != r->threads)
				continue;
			if (c->depth == r->n_prompt) {
				tg = c;
				break;
			}
			if (c->depth == 0 && !tg)
				tg = c;
		}
		if (tg && tg->depth != r->n_prompt && tg_given[tg - d->results])
			tg = NULL;
		else if (tg && tg->depth != r->n_prompt)
			tg_given[tg - d->results] = true;
		const struct hrn_bench_series *dec = tg ? hrn_bench_result_series(tg, "tokens_per_s") : NULL;
		const struct rec_reading *ep = hrn_bench_result_figure(r, "energy_j_per_token_prefill");
		const struct rec_reading *ed = tg ? hrn_bench_result_figure(tg, "energy_j_per_token_decode") : NULL;
		pts[(*n_pts)++] = (struct rpt_bench_point){
			.run = i, .n_prompt = r->n_prompt, .n_gen = tg ? tg->n_gen : -1, .threads = r->threads,
			.decode_depth = tg ? tg->depth : -1,
			.prefill_tps = pp && pp->n ? pp->st.median : NAN, .decode_tps = dec && dec->n ? dec->st.median : NAN,
			.prefill_j_per_token = ep ? ep->value : NAN, .decode_j_per_token = ed ? ed->value : NAN,
		};
	}
	free(tg_given);
	return 0;
}

/* The accuracy of guessing on (task, lang): what results.json's aggregate records
 * (from the suite), else, for files written before it did, the mean of
 * 1 / number of choices over its item lines with two or more choices; NaN
 * without either ('merilo score' records carry no choices). */
static double chance_of(const struct loaded_run *L, const char *task, const char *lang)
{
	for (size_t k = 0; k < L->res.n_aggregates; k++) {
		const struct rec_aggregate *a = &L->res.aggregates[k];
		if (a->task && a->language && !strcmp(a->task, task) && !strcmp(a->language, lang) && !isnan(a->chance))
			return a->chance;
	}
	double sum = 0;
	size_t n = 0;
	for (size_t k = 0; L->have_items && k < L->items.n; k++) {
		const struct rec_item *it = &L->items.items[k];
		if (it->n_choices >= 2 && it->task && it->language && !strcmp(it->task, task) && !strcmp(it->language, lang)) {
			sum += 1.0 / (double)it->n_choices;
			n++;
		}
	}
	return n ? sum / (double)n : NAN;
}

/* Characters of UTF-8 s[0..len). */
static size_t utf8_chars(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += ((unsigned char)s[i] & 0xc0) != 0x80;
	return n;
}

/* Byte offset of character k of s (strlen(s) when s has fewer). */
static size_t utf8_offset(const char *s, size_t k)
{
	size_t i = 0;
	for (size_t n = 0; s[i]; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80 && n++ == k)
			return i;
	return i;
}

/* Labels longer than the plots show (RPT_RUN_LABEL_MAX) would be cut to the
 * same start where they share a long prefix ("merilo-synth-tin…" three times).
 * Such a label keeps its first characters, "…", and its end from where the
 * labels start to differ ("merilo-…tiny-q8_0"); where the differing part itself
 * is too long, "…", that part, "…". Labels that fit stay whole. */
static void shorten_labels(struct loaded_run *runs, size_t n)
{
	if (n < 2)
		return;
	size_t prefix = strlen(runs[0].label); /* bytes shared by every label, on a character boundary */
	for (size_t i = 1; i < n; i++) {
		size_t k = 0;
		while (k < prefix && runs[i].label[k] == runs[0].label[k])
			k++;
		prefix = k;
	}
	while (prefix && ((unsigned char)runs[0].label[prefix] & 0xc0) == 0x80)
		prefix--;
	const size_t budget = RPT_RUN_LABEL_MAX - 1; /* characters besides one "…" */
	for (size_t i = 0; i < n; i++) {
		char *l = runs[i].label, out[sizeof runs[i].label];
		const size_t chars = utf8_chars(l, strlen(l)), head_max = utf8_chars(l, prefix);
		if (chars <= RPT_RUN_LABEL_MAX)
			continue;
		const size_t differ = chars - head_max; /* characters from the first difference on */
		if (differ <= budget) {
			size_t head = budget - differ < 7 ? budget - differ : 7; /* a little of the start, for context */
			size_t tail = budget - head;
			snprintf(out, sizeof out, "%.*s\xe2\x80\xa6%s", (int)utf8_offset(l, head), l,
				 l + utf8_offset(l, chars - tail));
		} else {
			size_t from = utf8_offset(l, head_max), to = utf8_offset(l, head_max + budget - 1);
			snprintf(out, sizeof out, "%s%.*s\xe2\x80\xa6", head_max ? "\xe2\x80\xa6" : "", (int)(to - from),
				 l + from);
		}
		memcpy(l, out, sizeof out);
	}
}

static bool labels_unique(const struct loaded_run *runs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (!strcmp(runs[i].label, runs[j].label))
				return false;
	return true;
}

/* Labels for plots and tables: the model names when they tell the runs apart,
 * else the folder names, else "run N"; names over RPT_RUN_LABEL_MAX characters
 * shortened by shorten_labels, and the next choice taken where that makes two
 * labels equal. */
static void make_labels(struct loaded_run *runs, size_t n)
{
	for (int pass = 0; pass < 2; pass++) {
		bool ok = true;
		for (size_t i = 0; i < n && ok; i++) {
			const char *s;
			char base[4096];
			if (pass == 0) {
				s = runs[i].bench_only ? runs[i].bench.model.name : runs[i].res.model.name;
			} else {
				snprintf(base, sizeof base, "%s", runs[i].dir);
				size_t len = strlen(base);
				while (len > 1 && base[len - 1] == '/')
					base[--len] = '\0';
				s = basename(base);
			}
			ok = s && *s && strlen(s) < sizeof runs[i].label;
			if (ok)
				snprintf(runs[i].label, sizeof runs[i].label, "%s", s);
		}
		if (!ok || !labels_unique(runs, n))
			continue;
		shorten_labels(runs, n);
		if (labels_unique(runs, n))
			return;
	}
	for (size_t i = 0; i < n; i++)
		snprintf(runs[i].label, sizeof runs[i].label, "run %zu", i + 1);
}

/* --format png,svg into the struct rpt_plot_opts at opt->value. */
static int parse_formats(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	struct rpt_plot_opts *popts = opt->value;
	char buf[256];
	snprintf(buf, sizeof buf, "%s", arg);
	char *save = NULL;
	popts->png = popts->svg = false;
	for (char *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (!strcmp(t, "png"))
			popts->png = true;
		else if (!strcmp(t, "svg"))
			popts->svg = true;
		else
			return mrl_err_set(err, MRL_EINPUT, "--image-format: unknown format '%s' (png, svg)", t);
	}
	if (!popts->png && !popts->svg)
		return mrl_err_set(err, MRL_EINPUT, "--image-format: no format given");
	return 0;
}

/* The --bench files, in the order given (room for one per argument). */
struct file_list {
	const char **v;
	size_t n;
};

static int add_bench_file(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	(void)err;
	struct file_list *l = opt->value;
	l->v[l->n++] = arg;
	return 0;
}

/* What the report is drawn from, gathered from every run; the strings point
 * into the loaded runs. */
struct report_tables {
	struct rpt_run *rr;
	struct rpt_score *scores, *breakdowns;
	char **labels;      /* the breakdowns' task labels, "TASK · FIELD: VALUE" (owned) */
	struct rpt_gap *gaps;
	struct rpt_sample *samples, *ttft, *tpot;
	struct rpt_perf *perf;
	struct rpt_bench_point *pts;
	struct rpt_scenario *scen;
	size_t n_scores, n_breakdowns, n_gaps, n_samples, n_perf, n_bres, n_ttft, n_tpot, n_pts, n_scen;
};

/* Room in t for everything the n runs hold. */
static int tables_alloc(struct report_tables *t, const struct loaded_run *runs, size_t n, struct mrl_err *err)
{
	size_t n_scores = 0, n_gaps = 0, n_samples = 0, n_perf = 0, n_bd = 0;
	for (size_t i = 0; i < n; i++) {
		const struct rec_results *r = &runs[i].res;
		n_bd += r->n_breakdowns;
		for (size_t a = 0; a < r->n_aggregates; a++)
			n_scores += r->aggregates[a].n_metrics;
		n_gaps += r->n_comparisons;
		n_samples += runs[i].n_ms;
		for (size_t k = 0; k < r->n_perf; k++)
			n_perf += r->perf[k].n_langs + 1;
		t->n_bres += runs[i].have_bench ? runs[i].bench.n_results : 0;
	}
	t->rr = calloc(n + 1, sizeof *t->rr);
	t->ttft = calloc(t->n_bres + 1, sizeof *t->ttft);
	t->tpot = calloc(t->n_bres + 1, sizeof *t->tpot);
	t->pts = calloc(t->n_bres + 1, sizeof *t->pts);
	t->scen = calloc(t->n_bres + 1, sizeof *t->scen);
	t->scores = calloc(n_scores + 1, sizeof *t->scores);
	t->breakdowns = calloc(n_bd + 1, sizeof *t->breakdowns);
	t->labels = calloc(n_bd + 1, sizeof *t->labels);
	t->gaps = calloc(n_gaps + 1, sizeof *t->gaps);
	t->samples = calloc(n_samples + 1, sizeof *t->samples);
	t->perf = calloc(n_perf + 1, sizeof *t->perf);
	if (!t->rr || !t->ttft || !t->tpot || !t->pts || !t->scen || !t->scores || !t->gaps || !t->samples || !t->perf ||
	    !t->breakdowns || !t->labels)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	return 0;
}

static void tables_release(struct report_tables *t)
{
	free(t->rr);
	free(t->scores);
	for (size_t i = 0; t->labels && i < t->n_breakdowns; i++)
		free(t->labels[i]);
	free(t->labels);
	free(t->breakdowns);
	free(t->gaps);
	free(t->samples);
	free(t->perf);
	free(t->ttft);
	free(t->tpot);
	free(t->pts);
	free(t->scen);
}

/* The rows of a run folder's results.json: scores, gaps, performance, item times. */
static void tables_add_results(struct report_tables *t, const struct loaded_run *L, size_t i)
{
	const struct rec_results *r = &L->res;
	const struct rec_manifest *m = &r->manifest;
	t->rr[i] = (struct rpt_run){
		.label = L->label, .dir = L->dir, .model_name = r->model.name, .model_path = r->model.path,
		.model_sha256 = r->model.sha256 ? r->model.sha256 : m->model_sha256,
		.suite_name = r->suite.name, .suite_version = r->suite.version, .suite_sha256 = r->suite.sha256,
		.engine = L->engine, .git_commit = m->git_commit, .host = L->host, .started_utc = m->started_utc,
		.ended_utc = m->ended_utc, .seed = r->settings.seed, .threads = r->settings.threads,
		.n_item_lines = L->have_items ? (int64_t)L->items.n : -1, .note = L->note[0] ? L->note : NULL,
		.items = L->which_items[0] ? L->which_items : NULL,
	};
	for (size_t a = 0; a < r->n_aggregates; a++) {
		const struct rec_aggregate *ag = &r->aggregates[a];
		for (size_t k = 0; k < ag->n_metrics; k++) {
			const struct rec_metric_value *mv = &ag->metrics[k];
			t->scores[t->n_scores++] = (struct rpt_score){
				.run = i, .task = ag->task, .language = ag->language, .metric = mv->name,
				.n = mv->n >= 0 ? mv->n : ag->n, /* a metric some items lack: its own count */
				.value = mv->value, .ci_low = mv->ci_low, .ci_high = mv->ci_high, .ci_level = mv->ci_level,
				.chance = chance_of(L, ag->task, ag->language),
			};
		}
	}
	for (size_t a = 0; a < r->n_breakdowns; a++) { /* the first metric of each, labelled by its value */
		const struct rec_aggregate *b = &r->breakdowns[a];
		char *label = NULL;
		if (!b->n_metrics || asprintf(&label, "%s · %s: %s", b->task, b->field, b->value) < 0)
			continue;
		t->labels[t->n_breakdowns] = label;
		t->breakdowns[t->n_breakdowns++] = (struct rpt_score){
			.run = i, .task = label, .language = b->language, .metric = b->metrics[0].name,
			.n = b->metrics[0].n >= 0 ? b->metrics[0].n : b->n, .value = b->metrics[0].value,
			.ci_low = b->metrics[0].ci_low, .ci_high = b->metrics[0].ci_high, .ci_level = b->metrics[0].ci_level,
			.chance = b->chance,
		};
	}
	for (size_t c = 0; c < r->n_comparisons; c++) {
		const struct rec_comparison *cm = &r->comparisons[c];
		t->gaps[t->n_gaps++] = (struct rpt_gap){
			.run = i, .task = cm->task, .language_a = cm->language_a, .language_b = cm->language_b,
			.metric = cm->metric, .n_pairs = cm->n_pairs, .diff = cm->diff, .ci_low = cm->ci_low,
			.ci_high = cm->ci_high, .ci_level = cm->ci_level, .mcnemar_b = cm->mcnemar_b,
			.mcnemar_c = cm->mcnemar_c, .mcnemar_p = cm->mcnemar_p,
		};
	}
	for (size_t k = 0; k < r->n_perf; k++) {
		const struct rec_perf_task *pt = &r->perf[k];
		for (size_t l = 0; l <= pt->n_langs; l++) {
			const struct rec_perf_lang *pl = l < pt->n_langs ? &pt->langs[l] : &pt->all;
			t->perf[t->n_perf++] = (struct rpt_perf){
				.run = i, .task = pt->task, .language = l < pt->n_langs ? pl->language : "all",
				.n_items = pl->n_items, .tokens_per_s = pl->tokens_per_s,
				.item_ms_median = pl->item_ms_median, .item_ms_p90 = pl->item_ms_p90,
				.energy_per_item_j = l < pt->n_langs || !pt->window.present ? NAN
						     : pt->window.energy_per_item_j.value,
				.energy_null_reason = l < pt->n_langs ? "measured per task (row 'all')"
						      : !pt->window.present ? pt->window.absent_reason
									    : pt->window.energy_per_item_j.reason,
			};
		}
	}
	for (size_t l = 0; l < L->n_ms; l++)
		t->samples[t->n_samples++] = (struct rpt_sample){ .run = i, .series = L->ms_lang[l], .ms = L->ms[l],
								  .n = L->ms_n[l] };
}

/* The value of figure name of r, NaN where absent or null. */
static double figure_of(const struct hrn_bench_result *r, const char *name)
{
	const struct rec_reading *f = hrn_bench_result_figure(r, name);
	return f ? f->value : NAN;
}

/* Run i's request-level results (server, offline, ppN+tgM) as scenario rows:
 * each result one row, also one without a figure (the row says why), so that
 * no scenario record is dropped from the report. */
static void collect_scenarios(struct report_tables *t, const struct loaded_run *L, size_t i)
{
	const struct hrn_bench_doc *d = &L->bench;
	for (size_t k = 0; k < d->n_results; k++) {
		const struct hrn_bench_result *r = &d->results[k];
		if (!r->kind || (strcmp(r->kind, "request") && strcmp(r->kind, "server") && strcmp(r->kind, "offline")))
			continue;
		const struct hrn_bench_series *ttft = hrn_bench_result_series(r, "ttft_ms");
		const struct hrn_bench_series *tpot = hrn_bench_result_series(r, "tpot_ms");
		const struct hrn_bench_series *queue = hrn_bench_result_series(r, "queue_ms");
		struct rpt_scenario *s = &t->scen[t->n_scen++];
		*s = (struct rpt_scenario){
			.run = i, .test = r->test, .kind = r->kind, .n_prompt = r->n_prompt, .n_gen = r->n_gen,
			.threads = r->threads, .n_requests = figure_of(r, "n_requests"),
			.offered_qps = figure_of(r, "offered_qps"), .achieved_qps = figure_of(r, "achieved_qps"),
			.output_tps = figure_of(r, "output_tokens_per_s"),
			.ttft_ms = { NAN, NAN, NAN }, .tpot_ms = { NAN, NAN, NAN }, .queue_ms = { NAN, NAN },
		};
		if (!strcmp(r->kind, "request") && isnan(s->n_requests) && ttft)
			s->n_requests = (double)ttft->n; /* a request row: one request per repetition */
		if (ttft && ttft->n)
			memcpy(s->ttft_ms, (double[3]){ ttft->st.p50, ttft->st.p90, ttft->st.p99 }, sizeof s->ttft_ms);
		if (tpot && tpot->n)
			memcpy(s->tpot_ms, (double[3]){ tpot->st.p50, tpot->st.p90, tpot->st.p99 }, sizeof s->tpot_ms);
		if (queue && queue->n)
			memcpy(s->queue_ms, (double[2]){ queue->st.p50, queue->st.p90 }, sizeof s->queue_ms);
		if (s->n_requests == 0 || !ttft || !ttft->n)
			s->note = "no request completed: no latency figures";
		else if (!tpot || !tpot->n)
			s->note = "no TPOT: one generated token per request";
	}
}

/* Run i's rows: its bench records, then its results (or, for a bench file
 * given alone, the run line from the bench record's manifest). */
static int tables_add_run(struct report_tables *t, struct loaded_run *L, size_t i, struct mrl_err *err)
{
	int rc;
	if (L->have_bench &&
	    (rc = collect_bench(L, i, t->ttft, &t->n_ttft, t->tpot, &t->n_tpot, t->pts, &t->n_pts, err)))
		return rc;
	if (L->have_bench)
		collect_scenarios(t, L, i);
	if (!L->bench_only) {
		tables_add_results(t, L, i);
		return 0;
	}
	const struct hrn_bench_doc *bd = &L->bench;
	t->rr[i] = (struct rpt_run){
		.label = L->label, .dir = L->dir, .model_name = bd->model.name, .model_path = bd->model.path,
		.model_sha256 = bd->model.sha256, .engine = L->engine, .git_commit = bd->manifest.git_commit,
		.host = L->host, .started_utc = bd->manifest.started_utc, .ended_utc = bd->manifest.ended_utc,
		.seed = bd->n_results ? bd->results[0].seed : -1,
		.threads = bd->n_results ? bd->results[0].threads : -1, .n_item_lines = -1, .note = L->note,
	};
	return 0;
}

int hrn_cmd_report(int argc, char **argv)
{
	const char *out_dir = "report", *title = "merilo report";
	struct rpt_plot_opts popts = { 0 };
	struct file_list bench = { .v = calloc((size_t)argc + 1, sizeof *bench.v) };
	if (!bench.v) {
		fprintf(stderr, "merilo: out of memory\n");
		return HRN_EXIT_RUNTIME;
	}
	const struct mrl_option opts[] = {
		OPT_CALLBACK(0, "bench", &bench, "FILE",
			     "a 'merilo bench --format json|jsonl' record, shown as its own entry (repeatable);\n"
			     "a run folder's own bench.json / bench.jsonl is read with it automatically",
			     add_bench_file),
		OPT_STRING('o', "out", &out_dir, "OUT_DIR", "output folder (created; default: report)"),
		OPT_CALLBACK(0, "image-format", &popts, "LIST", "image formats, comma-separated: png, svg (default: png,svg)",
			     parse_formats),
		OPT_CALLBACK_F(0, "format", &popts, "LIST", NULL, MRL_OPT_HIDDEN, parse_formats), /* the old name */
		OPT_STRING(0, "title", &title, "TEXT", "the report's title (default: merilo report)"),
		OPT_END(),
	};
	int n_args, exit_code = hrn_options("report", opts, argc, argv, &n_args, usage);
	if (exit_code != HRN_OPTS_GO) {
		free(bench.v);
		return exit_code;
	}
	exit_code = HRN_EXIT_OK;
	if (!n_args && !bench.n) {
		free(bench.v);
		return hrn_usage_error("report", "expected at least one run folder or --bench FILE");
	}
	if ((exit_code = hrn_distinct_runs("report", (const char *const *)argv, (size_t)n_args))) {
		free(bench.v);
		return exit_code;
	}
	/* bench-only entries follow the run folders */
	const size_t n_dirs_only = (size_t)n_args, n_dirs = n_dirs_only + bench.n;
	const char **dirs = calloc(n_dirs + 1, sizeof *dirs);
	/* room for a run folder's foreign bench record as an entry of its own */
	struct loaded_run *runs = calloc(n_dirs + n_dirs_only, sizeof *runs);
	size_t n_runs = 0;
	struct report_tables t = { 0 };
	struct rpt_plots plots = { 0 };
	struct mrl_err err = { 0 };
	int rc = 0;
	popts.gnuplot = getenv("MERILO_GNUPLOT");
	if (!dirs || !runs) {
		rc = mrl_err_set(&err, MRL_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(dirs, argv, n_dirs_only * sizeof *dirs);
	memcpy(dirs + n_dirs_only, bench.v, bench.n * sizeof *dirs);
	for (size_t i = 0; i < n_dirs; i++) {
		n_runs = i + 1; /* released below even when its load fails */
		if ((rc = i < n_dirs_only ? load_run(dirs[i], &runs[i], &err) : load_bench_only(dirs[i], &runs[i], &err)))
			goto out;
	}
	for (size_t i = 0; i < n_dirs_only; i++) {
		bool moved;
		rc = split_foreign_bench(&runs[i], &runs[n_runs], &moved, &err);
		n_runs += moved; /* released below even when the split failed half-way */
		if (rc)
			goto out;
	}
	make_labels(runs, n_runs);
	if ((rc = tables_alloc(&t, runs, n_runs, &err)))
		goto out;
	for (size_t i = 0; i < n_runs; i++)
		if ((rc = tables_add_run(&t, &runs[i], i, &err)))
			goto out;
	struct rpt_input in = {
		.title = title, .runs = t.rr, .n_runs = n_runs, .scores = t.scores, .n_scores = t.n_scores,
		.breakdowns = t.breakdowns, .n_breakdowns = t.n_breakdowns,
		.gaps = t.gaps, .n_gaps = t.n_gaps, .perf = t.perf, .n_perf = t.n_perf, .item_times = t.samples,
		.n_item_times = t.n_samples, .ttft = t.ttft, .n_ttft = t.n_ttft, .tpot = t.tpot, .n_tpot = t.n_tpot,
		.bench = t.pts, .n_bench = t.n_pts, .scenarios = t.scen, .n_scenarios = t.n_scen,
		.bench_note = t.n_bres ? NULL
				       : "no bench record: give --bench FILE, or write one into a run folder with merilo bench "
					 "--format json --out RUN_DIR/bench.json",
	};
	if ((rc = mrl_mkdir_p(out_dir, &err)) || (rc = rpt_plots_write(out_dir, &in, &popts, &plots, &err)) ||
	    (rc = rpt_report_write(out_dir, &in, &plots, &err)))
		goto out;
	if (plots.status[0])
		fprintf(stderr, "merilo report: warning: %s\n", plots.status);
	size_t n_png = 0, n_svg = 0;
	for (size_t i = 0; i < plots.n; i++) {
		n_png += plots.plot[i].png;
		n_svg += plots.plot[i].svg;
	}
	printf("wrote %s/report.html and %s/report.md: %zu run%s, %zu plot%s (%zu PNG, %zu SVG; scripts and data "
	       "next to them)\n", out_dir, out_dir, n_runs, n_runs == 1 ? "" : "s", plots.n, plots.n == 1 ? "" : "s",
	       n_png, n_svg);
out:
	if (rc)
		exit_code = hrn_report(&err);
	rpt_plots_release(&plots);
	for (size_t i = 0; runs && i < n_runs; i++) {
		free(runs[i].dir);
		loaded_release(&runs[i]);
	}
	free(runs);
	tables_release(&t);
	free(dirs);
	free(bench.v);
	return exit_code;
}
