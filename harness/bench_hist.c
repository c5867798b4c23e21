/* bench_hist.c — the performance gate against history: `merilo bench ...
 * --baseline-db PATH [--last N] [--db-label L] [--gate-perf PCT]` compares the
 * record just measured with the last N bench records stored in the history
 * database (merilo bench --db), instead of with a second binary run now.
 *
 * The baseline distribution of a test (same name and thread count) is one
 * value per stored record: that record's median over its repetitions. So the
 * spread between runs (another day, another load on a shared machine) is in
 * the baseline, not only the spread within one run. The candidate side is this
 * run's repetitions. Each row is cand / base, the ratio of the medians, with a
 * bootstrap CI, each side resampled on its own (hrn_bench_perf_deltas, as
 * compare's performance section); a row fails when its CI lies wholly beyond
 * the threshold on the worse side. The candidate's own between-run spread is
 * not sampled (one run): docs/history.md says what that means.
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

/* The baseline document: for each test of cand, the per-record medians of its
 * rate (tokens_per_s) or TTFT (ttft_ms) series over the stored records that have it. */
static int baseline_doc(const struct hrn_bench_doc *cand, const struct hrn_bench_doc *hist, size_t n,
			struct hrn_bench_doc *base, struct mrl_err *err)
{
	double *medians = calloc(n, sizeof *medians);
	if (!medians)
		return mrl_err_set(err, MRL_ENOMEM, "out of memory");
	int rc = 0;
	for (size_t i = 0; !rc && i < cand->n_results; i++) {
		const struct hrn_bench_result *c = &cand->results[i];
		const char *name = c->kind && !strcmp(c->kind, "request") ? "ttft_ms" : "tokens_per_s";
		const struct hrn_bench_series *cs = hrn_bench_result_series(c, name);
		size_t k = 0;
		for (size_t h = 0; cs && h < n; h++) {
			const struct hrn_bench_result *b = hrn_ab_find_result(&hist[h], c->test, c->threads);
			const struct hrn_bench_series *bs = b ? hrn_bench_result_series(b, name) : NULL;
			if (bs && bs->n && isfinite(bs->st.median))
				medians[k++] = bs->st.median;
		}
		if (k < HIST_MIN_RECORDS)
			continue; /* too few stored runs of this test: no row */
		struct hrn_bench_result *r = hrn_bench_doc_add_result(base, c->test, c->kind, c->backend);
		if (!r) {
			rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
			break;
		}
		r->threads = c->threads;
		rc = hrn_bench_result_add_series(r, name, cs->unit, medians, k, err);
	}
	free(medians);
	return rc;
}

static void print_rows(FILE *out, const struct hrn_perf_delta *rows, size_t n, size_t n_records, double threshold)
{
	fprintf(out, "merilo bench: against the last %zu stored record%s (base = the median of each record's median;\n"
		"cand/base with a 95%% bootstrap CI; a row fails when its CI lies wholly beyond %.3g%% worse):\n",
		n_records, n_records == 1 ? "" : "s", 100 * threshold);
	fprintf(out, "%-16s %7s %-10s %12s %5s %12s %8s  %-19s %s\n", "test", "threads", "figure", "base", "runs",
		"cand", "ratio", "95% CI", "verdict");
	for (size_t i = 0; i < n; i++) {
		const struct hrn_perf_delta *d = &rows[i];
		if (!isfinite(d->lo))
			continue; /* energy: single values, no CI, not gated */
		char ci[48];
		snprintf(ci, sizeof ci, "[%.4f, %.4f]", d->lo, d->hi);
		const bool better = d->higher_is_better ? d->lo > 1 + threshold : d->hi < 1 / (1 + threshold);
		fprintf(out, "%-16s %7lld %-10s %12.4g %5zu %12.4g %8.4f  %-19s %s\n", d->test, (long long)d->threads,
			d->figure, d->base, d->n_base, d->cand, d->ratio, ci,
			d->worse ? "FAIL (worse)" : better ? "better" : "no clear change");
	}
}

/* The last `last` bench records (label NULL: any) of the database at db_path,
 * opened read-only, into *texts (*n; the caller frees them, also on failure);
 * fewer than HIST_MIN_RECORDS is MRL_EINPUT. */
static int load_last(const char *db_path, const char *label, long last, char ***texts, size_t *n, struct mrl_err *err)
{
	struct rec_db *db = NULL;
	int rc = rec_db_open(db_path, REC_DB_READONLY, &db, err);
	if (!rc)
		rc = rec_db_bench_last(db, label, (size_t)last, texts, n, err);
	if (!rc && *n < HIST_MIN_RECORDS)
		rc = mrl_err_set(err, MRL_EINPUT, "%s: %zu bench record%s%s%s stored; the gate needs %d (merilo bench --db)",
				 db_path, *n, *n == 1 ? "" : "s", label ? " labelled " : "", label ? label : "", HIST_MIN_RECORDS);
	rec_db_close(db);
	return rc;
}

static void free_texts(char **texts, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
}

int hrn_bench_history_check(const char *baseline_db, const char *label, long last, const char *db,
			    struct mrl_err *err)
{
	char **texts = NULL;
	size_t n = 0;
	struct rec_db *h = NULL;
	struct stat sb;
	int rc = baseline_db ? load_last(baseline_db, label, last, &texts, &n, err) : 0;
	free_texts(texts, n);
	/* an existing --db must be a merilo database now; a missing one is made after measuring,
	 * in a folder that must be writable now (made here, as it would be then) */
	if (!rc && db && stat(db, &sb) == 0)
		rc = rec_db_open(db, REC_DB_READONLY, &h, err);
	else if (!rc && db) {
		struct mrl_err why = { 0 };
		if (mrl_check_writable(db, &why)) { /* worded as rec_db_open's own failure to create it */
			const char *reason = strstr(why.msg, ": cannot write here: ");
			rc = mrl_err_set(err, MRL_EWRITE, "%s: cannot create the database: %s", db,
					 reason ? reason + strlen(": cannot write here: ") : why.msg);
		}
	}
	rec_db_close(h);
	return rc;
}

int hrn_bench_history_gate(const char *db_path, const char *label, long last, double threshold,
			   const struct hrn_bench_doc *cand, struct mrl_err *err)
{
	char **texts = NULL;
	size_t n = 0, n_rows = 0;
	struct hrn_bench_doc *hist = NULL, base;
	struct hrn_perf_delta *rows = NULL;
	hrn_bench_doc_init(&base);
	int rc = load_last(db_path, label, last, &texts, &n, err), n_worse = 0;
	if (!rc && !(hist = calloc(n, sizeof *hist)))
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t i = 0; hist && i < n; i++)
		hrn_bench_doc_init(&hist[i]);
	if (!rc)
		rc = parse_records(db_path, texts, n, hist, err);
	if (!rc)
		rc = baseline_doc(cand, hist, n, &base, err);
	struct hrn_ab_opts ao;
	hrn_ab_opts_init(&ao);
	ao.threshold = threshold;
	if (!rc)
		rc = hrn_bench_perf_deltas(&base, cand, &ao, &rows, &n_rows, err);
	if (!rc && !n_rows)
		rc = mrl_err_set(err, MRL_EINPUT, "%s: no test of this run (name and threads) is in %d or more stored records",
				 db_path, HIST_MIN_RECORDS);
	if (!rc) {
		print_rows(stderr, rows, n_rows, n, threshold);
		for (size_t i = 0; i < n_rows; i++)
			n_worse += rows[i].worse;
	}
	free(rows);
	hrn_bench_doc_release(&base);
	for (size_t i = 0; hist && i < n; i++)
		hrn_bench_doc_release(&hist[i]);
	free(hist);
	free_texts(texts, n);
	return rc ? rc : n_worse > 0;
}
