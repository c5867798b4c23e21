/* db_int.h — what the files of the run history (db.c: opening, schema and
 * migrations; db_runs.c: runs, baselines, bench records) share. */
#ifndef MRL_REC_DB_INT_H
#define MRL_REC_DB_INT_H

#include <sqlite3.h>

#include "records/db.h"

struct rec_db {
	sqlite3 *h;
	char *path;
	int schema_version;
};

/* err = "PATH: what: SQLite's message", with the code for SQLite's result rc
 * (not a database / corrupt: MRL_EINPUT; full: MRL_EWRITE; else MRL_EIO). */
int rec_db_fail(struct rec_db *db, int rc, const char *what, struct mrl_err *err);

/* Run sql (no results) or fail as rec_db_fail. */
int rec_db_exec(struct rec_db *db, const char *sql, const char *what, struct mrl_err *err);

/* Prepare sql into *st or fail as rec_db_fail. */
int rec_db_prepare(struct rec_db *db, const char *sql, sqlite3_stmt **st, struct mrl_err *err);

/* BEGIN IMMEDIATE (waits up to the busy timeout for another writer). */
int rec_db_begin(struct rec_db *db, struct mrl_err *err);
/* COMMIT, or ROLLBACK (never fails; the error already set stays). */
int rec_db_commit(struct rec_db *db, struct mrl_err *err);
void rec_db_rollback(struct rec_db *db);

/* A column as a malloc'd string, or NULL for NULL; *oom set when a copy fails. */
char *rec_db_col_dup(sqlite3_stmt *st, int col, bool *oom);

#endif
