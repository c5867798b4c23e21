/* db.h — the run history: runs and bench records in one SQLite database
 * (docs/history.md). A run goes in whole (its results.json text, run.json,
 * every items.jsonl record, and for queries its manifest fields, aggregates
 * and per-item verdicts and log-likelihoods) in one transaction, keyed by the
 * sha256 of its results.json, so adding it again changes nothing. A stored run
 * comes back as the same struct rec_run that rec_run_load makes of its folder,
 * so compare and leaderboard read the database through their usual code.
 *
 * The schema is versioned (PRAGMA user_version, REC_DB_SCHEMA_VERSION): an
 * older database is migrated step by step when opened, in one transaction; a
 * newer one is refused. WAL journal (readers go on while one writer works) and
 * a busy timeout (a second writer waits instead of failing at once).
 */
#ifndef MRL_REC_DB_H
#define MRL_REC_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "records/run.h"

#define REC_DB_SCHEMA_VERSION 3
#define REC_DB_BUSY_TIMEOUT_MS 10000
#define REC_DB_ID_LEN 64    /* a run id: the sha256 (hex) of its results.json */
#define REC_DB_MIN_PREFIX 4 /* hex digits of the shortest run id prefix taken (fewer match too much) */

struct rec_db;

/* rec_db_open flags */
enum rec_db_flags {
	REC_DB_CREATE = 1 << 0,   /* create the file when missing (else a missing file is MRL_EIO) */
	REC_DB_READONLY = 1 << 1, /* a reader: SQLite opens the file read-only and nothing is written,
				   * except that an older merilo schema is migrated; on a read-only
				   * filesystem with no WAL content beside it, immutable (no DB-shm) */
};

/* Open (and where needed create or migrate) the database at path. *out is the
 * handle (close it with rec_db_close) or NULL on failure. An existing file must
 * be a merilo database already, whatever the flags: an empty file, a file that
 * is not SQLite, an SQLite database without merilo's tables or a corrupt one is
 * MRL_EINPUT ("PATH: not a merilo history database (...)"), and is left as it
 * was. A newer schema than this merilo knows is MRL_EUNSUPPORTED, a missing file
 * without REC_DB_CREATE is MRL_EIO, a missing file that cannot be created (no
 * such folder, a read-only filesystem) is MRL_EWRITE. A database is created
 * whole under a temporary name and linked into place, so path never holds a
 * half-made one. */
int rec_db_open(const char *path, unsigned flags, struct rec_db **out, struct mrl_err *err);

/* Close the handle (NULL is fine). */
void rec_db_close(struct rec_db *db);

/* The schema version of the open database (REC_DB_SCHEMA_VERSION once open). */
int rec_db_schema_version(struct rec_db *db);

/* Called inside rec_db_add_run's transaction after the run's rows are written,
 * before the commit (tests use it to kill a writer mid-way). */
typedef void (*rec_db_txn_hook)(void *arg);

enum { REC_DB_ALREADY = 1, REC_DB_ITEMS_ADDED = 2 };

/* Record the run folder dir (results.json, items.jsonl, run.json when present).
 * id gets its run id. Returns 0 when added, REC_DB_ALREADY (1) when a run with
 * that id was already there (nothing written), REC_DB_ITEMS_ADDED (2) when it
 * was there without items and dir's items.jsonl was added to it, or a negative
 * code (the database unchanged).
 * dir is stored as given, so pass an absolute path where it matters. */
int rec_db_add_run(struct rec_db *db, const char *dir, rec_db_txn_hook hook, void *hook_arg,
		   char id[REC_DB_ID_LEN + 1], struct mrl_err *err);

/* One stored run, as listed. Strings owned by the list (NULL: not recorded). */
struct rec_db_run_info {
	char id[REC_DB_ID_LEN + 1];
	char *dir, *model_name, *model_sha256, *suite_name, *started_utc, *added_utc;
	char *baselines;   /* the baseline names pointing at it, comma-separated; NULL when none */
	int64_t n_items;
};

/* The stored runs whose model name (or file path) contains model and whose
 * suite name equals suite (NULL: any), oldest first, into *out (n of them;
 * free with rec_db_run_infos_free). */
int rec_db_list(struct rec_db *db, const char *model, const char *suite, struct rec_db_run_info **out, size_t *n,
		struct mrl_err *err);
void rec_db_run_infos_free(struct rec_db_run_info *infos, size_t n);

/* Find the run that ref names: a run id or a unique prefix of one
 * (REC_DB_MIN_PREFIX+ hex digits), or the folder it was added from (as stored,
 * or its last component when unique). MRL_EINPUT naming ref when none or
 * several match (a shorter hex prefix that names no folder says how many
 * digits a prefix needs). */
int rec_db_resolve(struct rec_db *db, const char *ref, char id[REC_DB_ID_LEN + 1], struct mrl_err *err);

/* The stored results.json text of run id (byte for byte as added; malloc'd,
 * caller frees). */
int rec_db_results_text(struct rec_db *db, const char *id, char **text, struct mrl_err *err);

/* Load run id as rec_run_load loads a folder: the parts asked for (REC_RUN_*;
 * items come from the stored records, have_items true when the run had them);
 * run->dir is the folder it was added from. Release run even on failure. */
int rec_db_load_run(struct rec_db *db, const char *id, unsigned parts, struct rec_run *run, struct mrl_err *err);

/* Every stored run id, oldest first (malloc'd array of n; caller frees). */
int rec_db_run_ids(struct rec_db *db, char (**ids)[REC_DB_ID_LEN + 1], size_t *n, struct mrl_err *err);

/* Name run id as baseline name (replacing what the name pointed at). */
int rec_db_baseline_set(struct rec_db *db, const char *name, const char *id, struct mrl_err *err);

/* The run id of baseline name; MRL_EINPUT naming it when there is none. */
int rec_db_baseline_get(struct rec_db *db, const char *name, char id[REC_DB_ID_LEN + 1], struct mrl_err *err);

/* Store one bench record (the JSON text merilo bench writes) under label
 * (e.g. a branch or commit; may be NULL). *row_id gets its row (may be NULL). */
int rec_db_add_bench(struct rec_db *db, const char *json_text, const char *label, int64_t *row_id,
		     struct mrl_err *err);

/* The last n bench records (label NULL: any), newest first, as malloc'd texts
 * in *texts (*n_out of them; free each and the array). */
int rec_db_bench_last(struct rec_db *db, const char *label, size_t n, char ***texts, size_t *n_out,
		      struct mrl_err *err);

#endif
