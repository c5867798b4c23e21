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
struct mrl_option;

/* The performance gate against history (bench_hist.c): cand against the last
 * `last` bench records of the database at db_path (label NULL: any), per test
 * the stored runs' medians as the baseline distribution; the rows go to stderr.
 * Returns 0 (no figure worse beyond threshold, a fraction), 1 (some is), or a
 * negative code: fewer than 3 stored records with a test of cand is MRL_EINPUT. */
int hrn_bench_history_gate(const char *db_path, const char *label, long last, double threshold,
			   const struct hrn_bench_doc *cand, struct mrl_err *err);

/* bench's databases (and run's --db: baseline_db NULL), checked before anything is measured (a wrong file found
 * only after minutes of measuring wastes them): baseline_db (NULL: none) must
 * be a merilo database holding at least 3 bench records (labelled label when
 * not NULL) among its last `last`; db (NULL: none), where it exists, must be a
 * merilo database (a missing one is made when the record is stored: its
 * folders are made now, and the one that will hold it must be writable). Both are
 * opened read-only. 0, or the code and message rec_db_open or the gate gives. */
int hrn_bench_history_check(const char *baseline_db, const char *label, long last, const char *db,
			    struct mrl_err *err);

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
