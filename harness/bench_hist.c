/* bench_hist.c — the performance gate against history: `merilo bench ...
 * --baseline-db PATH [--last N] [--db-label L] [--gate-perf PCT]` compares the
 * record just measured with the last N bench records stored in the history
 * database (merilo bench --db), instead of with a second binary run now.
 *
 * Which records: of the last N (labelled L when --db-label is given), only those
 * of the same model (sha256), CPU model, backend and KV cache are a baseline;
 * fewer than 3 of them is an error that says what differs (checked before
 * measuring as well as after).
 *
 * The rule. Per test (same name and thread count) the baseline is one value
 * per stored record, that record's best repetition (the highest tokens/s, the
 * lowest TTFT: on a shared machine load only ever slows a repetition down, while
 * a slower build slows every one), so the spread between runs (another day,
 * another load) is in it; the candidate is one more such value, this run's best
 * repetition. Work in log cost (log ms for TTFT, -log tokens/s for rates:
 * larger is worse). The k baseline values give a one-sided 99 % prediction
 * bound for one new run, mean + t(0.99, k-1) * sd * sqrt(1 + 1/k) (Student's
 * t: honest with k = 3, where t is 6.96). A row fails only when the candidate
 * lies beyond all three of: the baseline median by the threshold, the worst
 * stored record by the threshold, and that prediction bound. The bootstrap CI
 * of a ratio of medians used before could not widen beyond the stored values
 * (the median of 4 resampled values never exceeds the largest), so with few
 * records it was too narrow and noisy A/A runs failed. docs/history.md gives
 * the measured false-alarm rates.
 */
#include "harness/bench.h"
#include "harness/bench_ab_int.h"
#include "harness/history.h"
#include "harness/hrn.h"
#include "records/db.h"
#include "common/fileio.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define HIST_MIN_RECORDS 3

int hrn_opt_gate_perf(const struct mrl_option *opt, const char *arg, struct mrl_err *err)
{
	double *v = opt->value;
	if (hrn_parse_fraction(arg, v) || !(*v >= 0 && *v < 10))
		return mrl_err_set(err, MRL_EINPUT, "--%s: '%s' is not a percentage ('5%%') or fraction", opt->long_name, arg);
	return 0;
}

/* The stored records as documents (n of them); each text parsed with the bench reader. */
static int parse_records(const char *db_path, char **texts, size_t n, struct hrn_bench_doc *docs, struct mrl_err *err)
{
	for (size_t i = 0; i < n; i++) {
		char where[PATH_MAX + 64];
		snprintf(where, sizeof where, "%s: bench record %zu of %zu", db_path, i + 1, n);
		json_error_t je;
		json_t *j = json_loads(texts[i], 0, &je);
		int rc = j ? hrn_bench_doc_from_json(j, &docs[i], where, err)
			   : mrl_err_set(err, MRL_EINPUT, "%s: not valid JSON: %s", where, je.text);
		json_decref(j);
		if (rc)
			return rc;
	}
	return 0;
}

/* ------------------------------------------------------- which records */

static const char *settings_str(const json_t *settings, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(settings, key));
	return s ? s : dflt;
}

void hrn_bench_ident_of(const struct hrn_bench_doc *d, struct hrn_bench_ident *id)
{
	id->model_sha256 = d->manifest.model_sha256 ? d->manifest.model_sha256 : d->model.sha256;
	id->cpu_model = d->manifest.cpu_model;
	/* records older than the kv_cache setting ran with the f16 cache */
	id->backend = settings_str(d->settings, "backend", "cpu");
	id->kv_cache = settings_str(d->settings, "kv_cache", "f16");
}

enum ident_diff { SAME, OTHER_MODEL, OTHER_CPU, OTHER_BACKEND, OTHER_KV, N_DIFF };

static bool differs(const char *want, const char *have)
{
	return want && (!have || strcmp(want, have)); /* want NULL: not known, not compared */
}

static enum ident_diff ident_diff(const struct hrn_bench_ident *want, const struct hrn_bench_ident *rec)
{
	return differs(want->model_sha256, rec->model_sha256) ? OTHER_MODEL
	       : differs(want->cpu_model, rec->cpu_model)     ? OTHER_CPU
	       : differs(want->backend, rec->backend)         ? OTHER_BACKEND
	       : differs(want->kv_cache, rec->kv_cache)       ? OTHER_KV
							      : SAME;
}

/* "4-7", "2, 5, 8-9": the 1-based positions i with diff[i] == which, into buf. */
static void positions(const enum ident_diff *diff, size_t n, enum ident_diff which, char *buf, size_t size)
{
	size_t len = 0;
	buf[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		if (diff[i] != which || (i > 0 && diff[i - 1] == which))
			continue;
		size_t j = i;
		while (j + 1 < n && diff[j + 1] == which)
			j++;
		int w = j > i ? snprintf(buf + len, size - len, "%s%zu-%zu", len ? ", " : "", i + 1, j + 1)
			      : snprintf(buf + len, size - len, "%s%zu", len ? ", " : "", i + 1);
		if (w < 0 || (size_t)w >= size - len)
			return;
		len += (size_t)w;
	}
}

/* Which of the n records (newest first) match want: keep[i]; *n_keep of them.
 * Fewer than HIST_MIN_RECORDS is MRL_EINPUT, one line saying what differs. */
static int select_records(const char *db_path, const char *label, const struct hrn_bench_ident *want,
			  const struct hrn_bench_doc *hist, size_t n, bool *keep, size_t *n_keep, struct mrl_err *err)
{
	enum ident_diff *diff = calloc(n ? n : 1, sizeof *diff);
	const char *first[N_DIFF] = { 0 };
	if (!diff)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	*n_keep = 0;
	for (size_t i = 0; i < n; i++) {
		struct hrn_bench_ident have;
		hrn_bench_ident_of(&hist[i], &have);
		diff[i] = ident_diff(want, &have);
		keep[i] = diff[i] == SAME;
		*n_keep += keep[i];
		const char *v[N_DIFF] = { NULL, have.model_sha256, have.cpu_model, have.backend, have.kv_cache };
		if (!first[diff[i]])
			first[diff[i]] = v[diff[i]] ? v[diff[i]] : "unknown";
	}
	int rc = 0;
	if (*n_keep < HIST_MIN_RECORDS) {
		static const char *const what[N_DIFF] = { "", "of another model (sha256 %.12s...)", "of another CPU: %s",
							  "of another backend: %s", "with another KV cache: %s" };
		char msg[sizeof err->msg] = "", pos[128], part[256];
		for (int d = OTHER_MODEL; d < N_DIFF; d++) {
			if (!first[d])
				continue;
			positions(diff, n, d, pos, sizeof pos);
			snprintf(part, sizeof part, what[d], first[d]);
			size_t len = strlen(msg);
			const bool several = strchr(pos, ',') || strchr(pos, '-');
			snprintf(msg + len, sizeof msg - len, "%s%s %s %s %s", len ? "; " : "", several ? "records" : "record",
				 pos, several ? "are" : "is", part);
		}
		rc = mrl_err_set(err, MRL_EINPUT,
				 "%s: %zu of the last %zu bench records%s%s are of this run's model, CPU, backend and KV "
				 "cache (the gate needs %d): %s (record 1 is the newest)",
				 db_path, *n_keep, n, label ? " labelled " : "", label ? label : "", HIST_MIN_RECORDS, msg);
	}
	free(diff);
	return rc;
}

/* ------------------------------------------------------------ the rule */

/* The one-sided 99 % quantile of Student's t with df >= 1 degrees of freedom
 * (a table to 30, then the Cornish-Fisher expansion about the normal's 2.3263). */
static double t_quantile_99(size_t df)
{
	static const double t[30] = { 31.821, 6.965, 4.541, 3.747, 3.365, 3.143, 2.998, 2.896, 2.821, 2.764,
				      2.718,  2.681, 2.650, 2.624, 2.602, 2.583, 2.567, 2.552, 2.539, 2.528,
				      2.518,  2.508, 2.500, 2.492, 2.485, 2.479, 2.473, 2.467, 2.462, 2.457 };
	if (df >= 1 && df <= 30)
		return t[df - 1];
	const double z = 2.3263479, v = (double)df;
	return z + (z * z * z + z) / (4 * v) + (5 * pow(z, 5) + 16 * z * z * z + 3 * z) / (96 * v * v);
}

/* One row of the gate: a test's figure, this run against the stored runs. */
struct hist_row {
	const char *test, *figure, *series;
	const struct hrn_bench_result *res; /* this run's result of the test */
	int64_t threads;
	bool higher_is_better;
	size_t n_base, n_cand; /* records; this run's repetitions */
	double *base;          /* the n_base stored values (malloc'd) */
	struct hrn_hist_verdict v;
	int n_again;                 /* measured again this many times (worse each time but the last) */
	struct hrn_hist_verdict again; /* the last of them */
};

/* The row's verdict after its confirmations: worse only when every measurement was. */
static bool row_fails(const struct hist_row *r)
{
	return r->v.worse && (!r->n_again || r->again.worse);
}

int hrn_bench_hist_judge(const double *base_values, size_t k, const double *cand, size_t n_cand, bool higher_is_better,
			 double threshold, struct hrn_hist_verdict *v, struct mrl_err *err)
{
	memset(v, 0, sizeof *v);
	if (k < 2 || !n_cand)
		return mrl_err_set(err, MRL_EINPUT, "history gate: %zu stored values and %zu candidate samples (needs 2 and 1)",
				   k, n_cand);
	for (size_t i = 0; i < k + n_cand; i++) {
		double x = i < k ? base_values[i] : cand[i - k];
		if (!isfinite(x) || x <= 0)
			return mrl_err_set(err, MRL_EINPUT, "history gate: a value is not a positive number");
	}
	double *tmp = malloc((k > n_cand ? k : n_cand) * sizeof *tmp);
	if (!tmp)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	const double sign = higher_is_better ? -1 : 1; /* cost = sign * log(value): larger is worse */
	v->base = hrn_ab_median(tmp, base_values, k);
	free(tmp);
	v->cand = cand[0];
	for (size_t i = 1; i < n_cand; i++) /* the best repetition: load only ever slows one down */
		v->cand = sign * log(cand[i]) < sign * log(v->cand) ? cand[i] : v->cand;
	v->ratio = v->cand / v->base;
	double mean = 0, ss = 0, worst = -INFINITY, best = INFINITY;
	for (size_t i = 0; i < k; i++) {
		const double y = sign * log(base_values[i]);
		mean += y / (double)k;
		worst = y > worst ? y : worst;
		best = y < best ? y : best;
	}
	for (size_t i = 0; i < k; i++)
		ss += (sign * log(base_values[i]) - mean) * (sign * log(base_values[i]) - mean);
	const double half = t_quantile_99(k - 1) * sqrt(ss / (double)(k - 1)) * sqrt(1 + 1.0 / (double)k);
	const double ymed = sign * log(v->base), c = sign * log(v->cand), t = log1p(threshold);
	double up = fmax(fmax(ymed + t, worst + t), mean + half), down = fmin(fmin(ymed - t, best - t), mean - half);
	v->worse = c > up;
	v->better = c < down;
	v->fail_at = exp(sign * (up - ymed)); /* as a ratio cand / base */
	v->better_at = exp(sign * (down - ymed));
	return 0;
}

/* One row per test of cand that at least HIST_MIN_RECORDS kept records have:
 * *rows (malloc'd, the caller frees), *n_rows. */
static int judge_rows(const struct hrn_bench_doc *cand, const struct hrn_bench_doc *hist, const bool *keep, size_t n,
		      double threshold, struct hist_row **rows, size_t *n_rows, struct mrl_err *err)
{
	double *values = calloc(n ? n : 1, sizeof *values);
	*rows = calloc(cand->n_results + 1, sizeof **rows);
	*n_rows = 0;
	int rc = values && *rows ? 0 : mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < cand->n_results; i++) {
		const struct hrn_bench_result *c = &cand->results[i];
		const char *figure = NULL, *name = hrn_bench_gated_series(c, &figure);
		const struct hrn_bench_series *cs = name ? hrn_bench_result_series(c, name) : NULL;
		size_t k = 0;
		const bool higher = name && strcmp(name, "ttft_ms") != 0;
		for (size_t h = 0; cs && cs->n && h < n; h++) {
			const struct hrn_bench_result *b = keep[h] ? hrn_ab_find_result(&hist[h], c->test, c->threads) : NULL;
			const struct hrn_bench_series *bs = b ? hrn_bench_result_series(b, name) : NULL;
			const double best = !bs || !bs->n ? NAN : higher ? bs->st.max : bs->st.min;
			if (isfinite(best) && best > 0)
				values[k++] = best;
		}
		if (k < HIST_MIN_RECORDS)
			continue; /* too few stored runs of this test: no row */
		struct hist_row *r = &(*rows)[(*n_rows)++];
		*r = (struct hist_row){ .test = c->test, .figure = figure, .series = name, .res = c, .threads = c->threads,
					.higher_is_better = higher, .n_base = k, .n_cand = cs->n,
					.base = malloc(k * sizeof *r->base) };
		if (!r->base) {
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
			break;
		}
		memcpy(r->base, values, k * sizeof *values);
		rc = hrn_bench_hist_judge(values, k, cs->samples, cs->n, r->higher_is_better, threshold, &r->v, err);
	}
	free(values);
	return rc;
}

static void free_rows(struct hist_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		free(rows[i].base);
	free(rows);
}

/* Each worse row measured again, up to c->max times, until a measurement is not
 * worse; each judged alone against the same stored values (r->again). */
static int confirm_rows(struct hist_row *rows, size_t n, double threshold, const struct hrn_hist_confirm *c,
			struct mrl_err *err)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++) {
		struct hist_row *r = &rows[i];
		while (!rc && r->v.worse && r->n_again < c->max && (!r->n_again || r->again.worse)) {
			if (!c->quiet)
				fprintf(stderr, "merilo bench: %s at %lld thread%s is worse than the stored runs (cand/base "
					"%.4f); measuring it again (%d of at most %d)\n", r->test, (long long)r->threads,
					r->threads == 1 ? "" : "s", r->n_again ? r->again.ratio : r->v.ratio, r->n_again + 1,
					c->max);
			struct hrn_bench_doc d;
			hrn_bench_doc_init(&d);
			rc = c->measure(c->ctx, r->res, &d, err);
			const struct hrn_bench_series *s =
				!rc && d.n_results == 1 ? hrn_bench_result_series(&d.results[0], r->series) : NULL;
			if (!rc && (!s || !s->n))
				rc = mrl_err_set(err, MRL_ERUNTIME, "measuring %s again gave no %s", r->test, r->series);
			if (!rc)
				rc = hrn_bench_hist_judge(r->base, r->n_base, s->samples, s->n, r->higher_is_better, threshold,
							  &r->again, err);
			r->n_again += !rc;
			hrn_bench_doc_release(&d);
		}
	}
	return rc;
}

static void print_rows(FILE *out, const struct hist_row *rows, size_t n, size_t n_kept, size_t n_records,
		       double threshold)
{
	fprintf(out, "merilo bench: against the last %zu stored records (%zu of this model, CPU, backend and KV cache):\n"
		"base = the median of their best repetitions, cand = this run's best; a row fails when cand/base is beyond\n"
		"%.3g%% worse, beyond the worst stored record by as much, and beyond the 99%% prediction bound\n"
		"of one more run from the stored ones (the 'fails at' column; docs/history.md):\n",
		n_records, n_kept, 100 * threshold);
	fprintf(out, "%-16s %7s %-8s %12s %5s %12s %8s %10s  %s\n", "test", "threads", "figure", "base", "runs", "cand",
		"ratio", "fails at", "verdict");
	for (size_t i = 0; i < n; i++) {
		const struct hist_row *r = &rows[i];
		char at[32];
		snprintf(at, sizeof at, "%s %.3g", r->higher_is_better ? "<" : ">", r->v.fail_at);
		char verdict[96];
		if (r->n_again && row_fails(r))
			snprintf(verdict, sizeof verdict, "FAIL (worse %d times; last ratio %.4f)", r->n_again + 1,
				 r->again.ratio);
		else if (r->n_again == 1)
			snprintf(verdict, sizeof verdict, "pass (noise: measured again, ratio %.4f)", r->again.ratio);
		else if (r->n_again)
			snprintf(verdict, sizeof verdict, "pass (noise: worse %d times, then ratio %.4f)", r->n_again,
				 r->again.ratio);
		else
			snprintf(verdict, sizeof verdict, "%s", r->v.worse ? "FAIL (worse)" : r->v.better ? "better"
											     : "no clear change");
		fprintf(out, "%-16s %7lld %-8s %12.4g %5zu %12.4g %8.4f %10s  %s\n", r->test, (long long)r->threads,
			r->figure, r->v.base, r->n_base, r->v.cand, r->v.ratio, at, verdict);
	}
}

/* The tests of cand the gate has no row for (fewer than HIST_MIN_RECORDS stored
 * runs of them, by name and thread count): one line naming them, so that a
 * partial gate says what it did not judge. */
static void print_ungated(FILE *out, const struct hrn_bench_doc *cand, const struct hist_row *rows, size_t n_rows)
{
	size_t n = 0;
	for (size_t i = 0; i < cand->n_results; i++) {
		const struct hrn_bench_result *c = &cand->results[i];
		const char *figure = NULL;
		bool judged = false;
		for (size_t k = 0; k < n_rows && !judged; k++)
			judged = rows[k].res == c;
		if (judged || !hrn_bench_gated_series(c, &figure))
			continue;
		if (!n++)
			fprintf(out, "merilo bench: not gated, fewer than %d stored runs of them (or no samples in this run): ",
				HIST_MIN_RECORDS);
		fprintf(out, "%s%s (%lld thread%s)", n > 1 ? ", " : "", c->test, (long long)c->threads,
			c->threads == 1 ? "" : "s");
	}
	if (n)
		fputc('\n', out);
}

/* The last `last` bench records (label NULL: any) of the database at db_path,
 * opened read-only, parsed into *hist (*n; the caller releases each and frees
 * the array, also on failure); fewer than HIST_MIN_RECORDS is MRL_EINPUT. */
static int load_last(const char *db_path, const char *label, long last, struct hrn_bench_doc **hist, size_t *n,
		     struct mrl_err *err)
{
	struct rec_db *db = NULL;
	char **texts = NULL;
	size_t n_texts = 0;
	*hist = NULL;
	*n = 0;
	int rc = rec_db_open(db_path, REC_DB_READONLY, &db, err);
	if (!rc)
		rc = rec_db_bench_last(db, label, (size_t)last, &texts, &n_texts, err);
	if (!rc && n_texts < HIST_MIN_RECORDS)
		rc = mrl_err_set(err, MRL_EINPUT, "%s: %zu bench record%s%s%s stored; the gate needs %d (merilo bench --db)",
				 db_path, n_texts, n_texts == 1 ? "" : "s", label ? " labelled " : "", label ? label : "",
				 HIST_MIN_RECORDS);
	rec_db_close(db);
	if (!rc && !(*hist = calloc(n_texts, sizeof **hist)))
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	if (!rc) {
		*n = n_texts;
		for (size_t i = 0; i < n_texts; i++)
			hrn_bench_doc_init(&(*hist)[i]);
		rc = parse_records(db_path, texts, n_texts, *hist, err);
	}
	for (size_t i = 0; i < n_texts; i++)
		free(texts[i]);
	free(texts);
	return rc;
}

static void free_hist(struct hrn_bench_doc *hist, size_t n)
{
	for (size_t i = 0; hist && i < n; i++)
		hrn_bench_doc_release(&hist[i]);
	free(hist);
}

/* Load the last records and keep those that match want: *hist, *keep (both the caller's), *n, *n_keep. */
static int load_matching(const char *db_path, const char *label, long last, const struct hrn_bench_ident *want,
			 struct hrn_bench_doc **hist, bool **keep, size_t *n, size_t *n_keep, struct mrl_err *err)
{
	*keep = NULL;
	int rc = load_last(db_path, label, last, hist, n, err);
	if (!rc && !(*keep = calloc(*n, sizeof **keep)))
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	if (!rc)
		rc = select_records(db_path, label, want, *hist, *n, *keep, n_keep, err);
	return rc;
}

int hrn_bench_history_check(const char *baseline_db, const char *label, long last, const struct hrn_bench_ident *want,
			    const char *db, struct mrl_err *err)
{
	struct hrn_bench_doc *hist = NULL;
	bool *keep = NULL;
	size_t n = 0, n_keep = 0;
	struct hrn_bench_ident any = { 0 };
	struct rec_db *h = NULL;
	struct stat sb;
	int rc = baseline_db ? load_matching(baseline_db, label, last, want ? want : &any, &hist, &keep, &n, &n_keep, err)
			     : 0;
	free_hist(hist, n);
	free(keep);
	/* an existing --db must be a merilo database now; a missing one is made after measuring,
	 * in a folder that must be writable now (made here, as it would be then) */
	if (!rc && db && stat(db, &sb) == 0)
		rc = rec_db_open(db, REC_DB_READONLY, &h, err);
	else if (!rc && db) /* worded as rec_db_open's own failure to create it */
		rc = mrl_check_writable(db, "cannot create the database", err);
	rec_db_close(h);
	return rc;
}

int hrn_bench_history_gate(const char *db_path, const char *label, long last, double threshold,
			   const struct hrn_bench_doc *cand, const struct hrn_hist_confirm *confirm,
			   struct mrl_err *err)
{
	struct hrn_bench_doc *hist = NULL;
	struct hist_row *rows = NULL;
	bool *keep = NULL;
	size_t n = 0, n_keep = 0, n_rows = 0;
	struct hrn_bench_ident want;
	hrn_bench_ident_of(cand, &want);
	int rc = load_matching(db_path, label, last, &want, &hist, &keep, &n, &n_keep, err), n_worse = 0;
	if (!rc)
		rc = judge_rows(cand, hist, keep, n, threshold, &rows, &n_rows, err);
	if (!rc && !n_rows)
		rc = mrl_err_set(err, MRL_EINPUT, "%s: no test of this run (name and threads) is in %d or more stored records",
				 db_path, HIST_MIN_RECORDS);
	if (!rc && confirm && confirm->max > 0)
		rc = confirm_rows(rows, n_rows, threshold, confirm, err);
	if (!rc) {
		print_rows(stderr, rows, n_rows, n_keep, n, threshold);
		print_ungated(stderr, cand, rows, n_rows);
		for (size_t i = 0; i < n_rows; i++)
			n_worse += row_fails(&rows[i]);
	}
	free_rows(rows, n_rows);
	free(keep);
	free_hist(hist, n);
	return rc ? rc : n_worse > 0;
}
