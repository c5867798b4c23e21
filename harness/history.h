/* history.h — the run history database as the commands use it (harness/cmd_db.c;
 * the library is records/db.h): where the database is by default, adding runs
 * with a message per run, and a named baseline loaded as a run folder would be.
 */
#ifndef MRL_HRN_HISTORY_H
#define MRL_HRN_HISTORY_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "records/db.h"
#include "records/run.h"

#define HRN_DB_DEFAULT_NAME "merilo.db"

/* The default database: merilo.db in the folder that holds the run folder
 * run_dir ("beside the runs": runs/a -> runs/merilo.db), or ./merilo.db when
 * run_dir is NULL. 0, or MRL_EINPUT when the path is too long. */
int hrn_db_default_path(const char *run_dir, char out[PATH_MAX], struct mrl_err *err);

/* Add the run folders dirs[0..n) to the database at db_path (created when
 * missing), one transaction each, printing a line per run on stdout unless
 * quiet ("added ..." or "already recorded ..."). Stops at the first error. */
int hrn_db_add_runs(const char *db_path, char *const *dirs, size_t n, bool quiet, struct mrl_err *err);

/* Load baseline name of the database at db_path as rec_run_load loads a folder
 * (parts: REC_RUN_*). Release run even on failure. */
int hrn_db_load_baseline(const char *db_path, const char *name, unsigned parts, struct rec_run *run,
			 struct mrl_err *err);

/* Store a bench record (JSON text) under label (may be NULL) in the database at
 * db_path (created when missing); unless quiet, one line on stderr says where. */
int hrn_db_add_bench(const char *db_path, const char *label, const char *json_text, bool quiet, struct mrl_err *err);

struct hrn_bench_doc;
struct hrn_bench_result;
struct mrl_option;

/* What makes stored bench records a baseline for a run: the same model
 * (sha256), CPU model, backend and KV cache. Borrowed strings; NULL: not known
 * (not compared). */
struct hrn_bench_ident {
	const char *model_sha256, *cpu_model, *backend, *kv_cache;
};

/* d's identity (strings borrowed from d; backend "cpu" and kv_cache "f16" where
 * its settings do not say). */
void hrn_bench_ident_of(const struct hrn_bench_doc *d, struct hrn_bench_ident *id);

/* Confirmation of a failing row (bench --confirm N): measure(ctx, r, into, err)
 * measures the test of r again (its kind, sizes and thread count) and adds one
 * result to into (an initialised document); 0 or the code of its failure. */
struct hrn_hist_confirm {
	int max;    /* measurements again of a failing row (0: none) */
	bool quiet; /* no line on stderr as each one begins */
	int (*measure)(void *ctx, const struct hrn_bench_result *r, struct hrn_bench_doc *into, struct mrl_err *err);
	void *ctx;
};

/* The performance gate against history (bench_hist.c): cand against those of
 * the last `last` bench records of the database at db_path (label NULL: any)
 * that match cand's identity (hrn_bench_ident_of); per test the stored runs'
 * best repetitions as the baseline distribution. A row that is worse is
 * measured again (confirm NULL: never), up to confirm->max times, each
 * measurement judged alone against the same stored runs: the row fails only
 * when every one is worse too (the noise of a shared machine slows one run,
 * rarely two in a row; a slower build slows all). The rows go to stderr.
 * Returns 0 (no figure worse beyond threshold, a fraction), 1 (some is), or a
 * negative code: fewer than 3 matching records (the message says what differs),
 * or no test of cand in 3 of them, is MRL_EINPUT; a measurement that fails, its
 * code. The rule: hrn_bench_hist_judge. */
int hrn_bench_history_gate(const char *db_path, const char *label, long last, double threshold,
			   const struct hrn_bench_doc *cand, const struct hrn_hist_confirm *confirm,
			   struct mrl_err *err);

/* The verdict of one figure against history. */
struct hrn_hist_verdict {
	double base, cand, ratio;  /* median of the stored values, cand's best sample, cand / base */
	double fail_at, better_at; /* ratios cand / base beyond which it is worse / better */
	bool worse, better;
};

/* One figure: k >= 2 stored runs' values (each run's best repetition) against
 * n_cand >= 1 samples of this run, of which the best counts (all positive;
 * higher_is_better for rates, not for times). In log cost (log of a time, -log
 * of a rate) with the baseline's mean m and sd s, the row is worse when this
 * run's value lies beyond each of: the baseline median by threshold, the worst
 * stored value by threshold, and the one-sided 99 % prediction bound for one
 * new run m + t(0.99, k - 1) s sqrt(1 + 1/k); better symmetrically. 0, or
 * MRL_EINPUT for bad input. */
int hrn_bench_hist_judge(const double *base_values, size_t k, const double *cand, size_t n_cand, bool higher_is_better,
			 double threshold, struct hrn_hist_verdict *v, struct mrl_err *err);

/* bench's databases (and run's --db: baseline_db NULL), checked before anything is measured (a wrong file found
 * only after minutes of measuring wastes them): baseline_db (NULL: none) must
 * be a merilo database holding at least 3 bench records (labelled label when
 * not NULL) among its last `last` that match want (NULL: any; its NULL fields
 * are not compared), else MRL_EINPUT saying what differs; db (NULL: none), where
 * it exists, must be a merilo database (a missing one is made when the record is
 * stored: its folders are made now, and the one that will hold it must be
 * writable). Both are opened read-only. 0, or the code and message rec_db_open
 * or the gate gives. */
int hrn_bench_history_check(const char *baseline_db, const char *label, long last, const struct hrn_bench_ident *want,
			    const char *db, struct mrl_err *err);

/* An option callback: "5%" or 0.05 into the double at opt->value (0 <= x < 10). */
int hrn_opt_gate_perf(const struct mrl_option *opt, const char *arg, struct mrl_err *err);

/* The runs stored in a database, for a command that reads them all (leaderboard
 * --db): the open handle, their ids and folders (dirs[i] = infos[i].dir), oldest first. */
struct hrn_db_runs {
	struct rec_db *db;
	struct rec_db_run_info *infos;
	const char **dirs;
	size_t n;
};

/* Open the database at path (it must exist) and list its runs into *r; none
 * stored is MRL_EINPUT naming path. Close r with hrn_db_runs_close even on failure. */
int hrn_db_runs_open(const char *path, struct hrn_db_runs *r, struct mrl_err *err);

/* Load run i of r as rec_run_load loads a folder (parts: REC_RUN_*). */
int hrn_db_runs_load(struct hrn_db_runs *r, size_t i, unsigned parts, struct rec_run *run, struct mrl_err *err);

void hrn_db_runs_close(struct hrn_db_runs *r);

#endif
