/* db.c — opening the run history database (db.h): the checks that turn a
 * wrong file into a one-line error, the schema and its migrations, and the
 * small SQLite helpers the rest of the history uses.
 *
 * Migrations: migrations[v] takes a database from schema version v to v + 1;
 * a new database runs them all from 0. They run in one IMMEDIATE transaction
 * that re-reads the version first, so two processes opening an old database
 * at once migrate it once. Never edit a step that has shipped: add one.
 */
#include "records/db_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* v0 -> v1: runs, their aggregates, items and per-item verdicts, baselines. */
static const char migrate_1[] =
	"CREATE TABLE runs(id TEXT PRIMARY KEY, dir TEXT NOT NULL, name TEXT NOT NULL, model_name TEXT,"
	" model_path TEXT, model_sha256 TEXT, suite_name TEXT, suite_sha256 TEXT, started_utc TEXT, ended_utc TEXT,"
	" git_commit TEXT, hostname TEXT, settings_json TEXT, added_utc TEXT NOT NULL, results_json TEXT NOT NULL,"
	" run_json TEXT, has_items INTEGER NOT NULL);"
	"CREATE INDEX runs_model ON runs(model_name);"
	"CREATE INDEX runs_suite ON runs(suite_name);"
	"CREATE TABLE aggregates(run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, task TEXT NOT NULL,"
	" language TEXT NOT NULL, metric TEXT NOT NULL, n INTEGER, value REAL, std_err REAL, ci_low REAL,"
	" ci_high REAL, PRIMARY KEY(run_id, task, language, metric));"
	"CREATE TABLE items(run_id TEXT NOT NULL REFERENCES runs(id) ON DELETE CASCADE, seq INTEGER NOT NULL,"
	" task TEXT NOT NULL, language TEXT NOT NULL, item_id TEXT NOT NULL, gold_index INTEGER,"
	" logliks_json TEXT, record_json TEXT NOT NULL, PRIMARY KEY(run_id, seq));"
	"CREATE TABLE item_metrics(run_id TEXT NOT NULL, seq INTEGER NOT NULL, metric TEXT NOT NULL,"
	" pred_index INTEGER, correct INTEGER NOT NULL, value REAL, PRIMARY KEY(run_id, seq, metric),"
	" FOREIGN KEY(run_id, seq) REFERENCES items(run_id, seq) ON DELETE CASCADE);"
	"CREATE TABLE baselines(name TEXT PRIMARY KEY, run_id TEXT NOT NULL REFERENCES runs(id),"
	" set_utc TEXT NOT NULL);";

/* v1 -> v2: bench records (merilo bench --db), and each run's item count
 * (filled in for the runs already there). */
static const char migrate_2[] =
	"CREATE TABLE bench(id INTEGER PRIMARY KEY AUTOINCREMENT, added_utc TEXT NOT NULL, label TEXT,"
	" git_commit TEXT, hostname TEXT, record_json TEXT NOT NULL);"
	"CREATE INDEX bench_label ON bench(label, id);"
	"ALTER TABLE runs ADD COLUMN n_items INTEGER NOT NULL DEFAULT 0;"
	"UPDATE runs SET n_items = (SELECT count(*) FROM items WHERE items.run_id = runs.id);";

/* v2 -> v3: the bench record a run folder held when it was added (RUN/bench.json, else
 * bench.jsonl), so that compare --baseline --gate-perf can judge speed; NULL for none
 * and for the runs added before. */
static const char migrate_3[] = "ALTER TABLE runs ADD COLUMN bench_json TEXT;";

static const char *const migrations[REC_DB_SCHEMA_VERSION] = { migrate_1, migrate_2, migrate_3 };

int rec_db_fail(struct rec_db *db, int rc, const char *what, struct mrl_err *err)
{
	const char *msg = db && db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc);
	int prim = rc & 0xff, code = MRL_EIO;
	/* a full disk that SQLite calls "disk I/O error" (a WAL index, DB-shm, that cannot grow
	 * during a read): the system errno, which SQLite records for IOERR and CANTOPEN only */
	const int sys = db && db->h ? sqlite3_system_errno(db->h) : 0;
	if ((prim == SQLITE_IOERR || prim == SQLITE_CANTOPEN) && (sys == ENOSPC || sys == EDQUOT))
		return mrl_err_set(err, MRL_EWRITE, "%s: %s: disk full (%s)", db->path, what, strerror(sys));
	if (prim == SQLITE_NOTADB || prim == SQLITE_CORRUPT)
		code = MRL_EINPUT;
	else if (prim == SQLITE_FULL || prim == SQLITE_READONLY)
		code = MRL_EWRITE;
	else if (prim == SQLITE_NOMEM)
		code = MRL_ENOMEM;
	if (prim == SQLITE_NOTADB)
		return mrl_err_set(err, code, "%s: not a merilo history database (not an SQLite database: %s)", db->path,
				   msg);
	return mrl_err_set(err, code, "%s: %s: %s", db->path, what, msg);
}

int rec_db_exec(struct rec_db *db, const char *sql, const char *what, struct mrl_err *err)
{
	int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
	return rc == SQLITE_OK ? 0 : rec_db_fail(db, rc, what, err);
}

int rec_db_prepare(struct rec_db *db, const char *sql, sqlite3_stmt **st, struct mrl_err *err)
{
	int rc = sqlite3_prepare_v2(db->h, sql, -1, st, NULL);
	return rc == SQLITE_OK ? 0 : rec_db_fail(db, rc, "reading the schema", err);
}

int rec_db_begin(struct rec_db *db, struct mrl_err *err)
{
	return rec_db_exec(db, "BEGIN IMMEDIATE", "starting a write transaction", err);
}

int rec_db_commit(struct rec_db *db, struct mrl_err *err)
{
	int rc = rec_db_exec(db, "COMMIT", "committing", err);
	if (rc)
		rec_db_rollback(db);
	return rc;
}

void rec_db_rollback(struct rec_db *db)
{
	if (!sqlite3_get_autocommit(db->h))
		sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

char *rec_db_col_dup(sqlite3_stmt *st, int col, bool *oom)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	if (!s)
		return NULL;
	char *d = strdup((const char *)s);
	if (!d)
		*oom = true;
	return d;
}

static int read_version(struct rec_db *db, int *version, struct mrl_err *err)
{
	sqlite3_stmt *st;
	int rc = rec_db_prepare(db, "PRAGMA user_version", &st, err);
	if (rc)
		return rc;
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		*version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return s == SQLITE_ROW ? 0 : rec_db_fail(db, s, "reading the schema version", err);
}

/* Bring the schema to REC_DB_SCHEMA_VERSION, or refuse a newer one. */
static int migrate(struct rec_db *db, struct mrl_err *err)
{
	int v, rc;
	if ((rc = read_version(db, &v, err)))
		return rc;
	if (v == REC_DB_SCHEMA_VERSION)
		goto done;
	if (v > REC_DB_SCHEMA_VERSION || v < 0)
		return mrl_err_set(err, MRL_EUNSUPPORTED,
				   "%s: schema version %d is newer than this merilo knows (%d); use a newer merilo",
				   db->path, v, REC_DB_SCHEMA_VERSION);
	if ((rc = rec_db_begin(db, err)) || (rc = read_version(db, &v, err)))
		goto fail;
	for (; v < REC_DB_SCHEMA_VERSION; v++) {
		char what[64], bump[64];
		snprintf(what, sizeof what, "migrating the schema to version %d", v + 1);
		snprintf(bump, sizeof bump, "PRAGMA user_version = %d", v + 1);
		if ((rc = rec_db_exec(db, migrations[v], what, err)) || (rc = rec_db_exec(db, bump, what, err)))
			goto fail;
	}
	if ((rc = rec_db_commit(db, err)))
		return rc;
done:
	db->schema_version = REC_DB_SCHEMA_VERSION;
	return 0;
fail:
	rec_db_rollback(db);
	return rc;
}

/* The journal mode a PRAGMA journal_mode answers (its one row). */
static int journal_row(void *mode, int n_cols, char **vals, char **names)
{
	(void)names;
	if (n_cols == 1 && vals[0])
		snprintf(mode, 16, "%s", vals[0]);
	return 0;
}

/* Switch to the WAL journal. Where other processes have the file open at that
 * moment (several `db add` or `run --db` creating one database at once), SQLite
 * answers SQLITE_BUSY for this pragma without calling the busy handler, so it is
 * retried here every 10 ms for up to the busy timeout. A journal SQLite keeps
 * without an error (it answers the old mode) is a failure too. */
static int journal_wal(struct rec_db *db, struct mrl_err *err)
{
	int rc = SQLITE_OK;
	char mode[16] = "";
	for (int waited_ms = 0;; waited_ms += 10) {
		rc = sqlite3_exec(db->h, "PRAGMA journal_mode = WAL", journal_row, mode, NULL);
		if ((rc & 0xff) != SQLITE_BUSY || waited_ms >= REC_DB_BUSY_TIMEOUT_MS)
			break;
		nanosleep(&(struct timespec){ .tv_nsec = 10 * 1000 * 1000 }, NULL);
	}
	if (rc != SQLITE_OK)
		return rec_db_fail(db, rc, "switching to WAL", err);
	if (strcmp(mode, "wal"))
		return mrl_err_set(err, MRL_EWRITE, "%s: switching to WAL: SQLite kept the journal '%s'", db->path, mode);
	return 0;
}

/* WAL journal (persistent in the file), foreign keys. Only for a writer: a
 * reader's handle is read-only and sets nothing in the file. A fresh database
 * (create_new) is built in the rollback journal with full syncs instead, so that
 * its pages are in the file itself when a COMMIT succeeds, and switched to WAL
 * last (open_file): in WAL its pages would reach the file only at the checkpoint
 * of sqlite3_close, which reports no failure (a full disk there once left a
 * malformed database linked into place). */
static int configure(struct rec_db *db, bool fresh, struct mrl_err *err)
{
	int rc;
	if (fresh)
		return rec_db_exec(db, "PRAGMA journal_mode = DELETE; PRAGMA foreign_keys = ON; PRAGMA synchronous = FULL",
				   "configuring", err);
	if ((rc = journal_wal(db, err)))
		return rc;
	return rec_db_exec(db, "PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL", "configuring", err);
}

/* Whether the open file is a merilo history database: SQLite (the first read of
 * the header fails otherwise), a schema version this merilo knows, and merilo's
 * tables. *version gets the schema version. Reads only, so a reader can ask it
 * of a file opened read-only, and a writer before it changes anything. */
static int check_schema(struct rec_db *db, int *version, struct mrl_err *err)
{
	sqlite3_stmt *st;
	int n_tables = 0, rc = sqlite3_prepare_v2(db->h, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
							 " name IN ('runs', 'baselines')", -1, &st, NULL);
	if (rc != SQLITE_OK) /* the first read of the file: not SQLite, or corrupt */
		return rec_db_fail(db, rc, "reading", err);
	int s = sqlite3_step(st);
	if (s == SQLITE_ROW)
		n_tables = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (s != SQLITE_ROW)
		return rec_db_fail(db, s, "reading", err);
	if ((rc = read_version(db, version, err)))
		return rc;
	if (*version > REC_DB_SCHEMA_VERSION || *version < 0)
		return mrl_err_set(err, MRL_EUNSUPPORTED,
				   "%s: schema version %d is newer than this merilo knows (%d); use a newer merilo",
				   db->path, *version, REC_DB_SCHEMA_VERSION);
	if (*version == 0 || n_tables != 2) {
		struct stat sb;
		const bool empty = stat(db->path, &sb) == 0 && sb.st_size == 0;
		return mrl_err_set(err, MRL_EINPUT, "%s: not a merilo history database (%s)", db->path,
				   empty ? "an empty file" : "an SQLite database without merilo's tables");
	}
	return 0;
}

/* Whether a reader may open path immutable (no locks, no DB-shm): only where
 * nothing can change the file, i.e. its filesystem is mounted read-only
 * (ST_RDONLY), and only where no WAL content waits beside it (immutable reads the
 * main file alone, so a non-empty DB-wal, the last transactions of a writer that
 * never checkpointed, would be skipped). A read-only open of a WAL database must
 * otherwise create DB-shm, which a read-only filesystem refuses. */
static bool immutable_ok(const char *path)
{
	struct statvfs vfs;
	struct stat sb;
	char wal[PATH_MAX + 8];
	int n = snprintf(wal, sizeof wal, "%s-wal", path);
	if (n < 0 || n >= (int)sizeof wal || statvfs(path, &vfs) != 0 || !(vfs.f_flag & ST_RDONLY))
		return false;
	return stat(wal, &sb) == 0 ? sb.st_size == 0 : errno == ENOENT;
}

/* "file:PATH?immutable=1" (malloc'd), PATH percent-encoded but for unreserved
 * bytes and '/' (a '%', '?' or '#' in a name stays part of the name). */
static char *immutable_uri(const char *path)
{
	char *uri = malloc(3 * strlen(path) + 32), *o = uri;
	if (!uri)
		return NULL;
	o += sprintf(o, "%s", path[0] == '/' ? "file://" : "file:");
	for (const unsigned char *c = (const unsigned char *)path; *c; c++) {
		bool plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
			     (*c && strchr("/-._~", *c));
		o += plain ? (*o = (char)*c, 1) : sprintf(o, "%%%02X", *c);
	}
	strcpy(o, "?immutable=1");
	return uri;
}

/* sqlite3_open_v2 of path for open_file: read-only for a reader (immutable
 * where immutable_ok), else read-write; a writer given a file SQLite could
 * only open read-only (a read-only filesystem) is MRL_EWRITE. */
static int open_handle(struct rec_db *db, bool read_only, struct mrl_err *err)
{
	int oflags = (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE) | SQLITE_OPEN_NOMUTEX, rc;
	char *uri = read_only && immutable_ok(db->path) ? immutable_uri(db->path) : NULL;
	rc = sqlite3_open_v2(uri ? uri : db->path, &db->h, oflags | (uri ? SQLITE_OPEN_URI : 0), NULL);
	free(uri);
	if (rc != SQLITE_OK)
		return mrl_err_set(err, MRL_EIO, "%s: cannot open: %s", db->path,
				   db->h ? sqlite3_errmsg(db->h) : sqlite3_errstr(rc));
	struct statvfs vfs;
	if (!read_only && sqlite3_db_readonly(db->h, "main") == 1)
		return mrl_err_set(err, MRL_EWRITE, "%s: cannot write the database: %s", db->path,
				   statvfs(db->path, &vfs) == 0 && (vfs.f_flag & ST_RDONLY) ? strerror(EROFS)
											: "the file is read-only");
	sqlite3_busy_timeout(db->h, REC_DB_BUSY_TIMEOUT_MS);
	return 0;
}

/* Open the existing file path. read_only: SQLite opens it read-only and nothing
 * is written (a reader). Else WAL, pragmas and the missing migrations. fresh:
 * the empty file create_new() just made, which gets the whole schema; every
 * other file must already be a merilo database (check_schema), so an empty or
 * foreign file is refused, not turned into one. */
static int open_file(const char *path, bool read_only, bool fresh, struct rec_db **out, struct mrl_err *err)
{
	struct rec_db *db = calloc(1, sizeof *db);
	if (!db || !(db->path = strdup(path))) {
		free(db);
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
	}
	int version = 0, rc = open_handle(db, read_only, err);
	if (!rc && !fresh)
		rc = check_schema(db, &version, err);
	if (!rc && !read_only && !(rc = configure(db, fresh, err)) && !(rc = migrate(db, err)) && fresh)
		rc = journal_wal(db, err); /* last: the schema is in the file itself (configure) */
	if (!rc && read_only)
		db->schema_version = version;
	if (rc) {
		rec_db_close(db);
		return rc;
	}
	*out = db;
	return 0;
}

/* Close db, saying whether SQLite could (rec_db_close ignores it). */
static int close_checked(struct rec_db *db, struct mrl_err *err)
{
	int rc = sqlite3_close(db->h);
	if (rc != SQLITE_OK) {
		rc = rec_db_fail(db, rc, "closing", err);
		sqlite3_close_v2(db->h); /* released once its statements are */
	}
	db->h = NULL;
	rec_db_close(db);
	return rc;
}

/* Build the schema into tmp, the empty file create_new made, and make it
 * durable before it is linked: every result checked, closed, fsync'ed, and no
 * WAL content left beside it (the schema must be in tmp itself). */
static int build_new(const char *tmp, struct mrl_err *err)
{
	struct rec_db *db = NULL;
	struct stat sb;
	char wal[PATH_MAX + 8];
	int rc = open_file(tmp, false, true, &db, err), fd = -1;
	if (rc || (rc = close_checked(db, err)))
		return rc;
	snprintf(wal, sizeof wal, "%s-wal", tmp);
	if (stat(wal, &sb) == 0 && sb.st_size > 0)
		return mrl_err_set(err, MRL_EWRITE, "%s: closing: its WAL was not written back", tmp);
	if ((fd = open(tmp, O_RDONLY | O_CLOEXEC)) < 0 || fsync(fd) != 0)
		rc = mrl_err_set(err, MRL_EWRITE, "%s: syncing: %s", tmp, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

/* Remove tmp and whatever SQLite made beside it. */
static void remove_tmp(const char *tmp)
{
	static const char *const suffixes[] = { "", "-journal", "-wal", "-shm" };
	char path[PATH_MAX + 16];
	for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		snprintf(path, sizeof path, "%s%s", tmp, suffixes[i]);
		unlink(path);
	}
}

/* Make a new database at path, whole or not at all: it is built under a
 * temporary name beside path (build_new) and hard-linked into place (moved,
 * where the filesystem has no hard links). So path is never an
 * empty or half-made database, which is what lets open_file refuse every empty
 * file; and of several writers creating one database at once, one link wins
 * and the others (EEXIST) open its database. Whatever happens, the temporary
 * file and its -journal, -wal and -shm are removed. */
static int create_new(const char *path, struct mrl_err *err)
{
	static _Atomic unsigned serial; /* two handles of one process never share a name */
	char tmp[PATH_MAX];
	int n = snprintf(tmp, sizeof tmp, "%s.new-%ld-%u", path, (long)getpid(), serial++), fd = -1;
	if (n < 0 || n >= (int)sizeof tmp)
		return mrl_err_set(err, MRL_EINPUT, "%s: path too long", path);
	if ((fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0666)) < 0)
		return mrl_err_set(err, MRL_EWRITE, "%s: cannot create the database: %s", path, strerror(errno));
	close(fd);
	int rc = build_new(tmp, err);
	int e = !rc && link(tmp, path) != 0 ? errno : 0;
	struct stat sb;
	/* a filesystem without hard links (FAT, some network ones): moved into place instead,
	 * unless another writer made one meanwhile (then a narrow race remains: the later move wins) */
	if (e && e != EEXIST && (e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == ENOSYS || e == EMLINK))
		e = stat(path, &sb) == 0 ? EEXIST : rename(tmp, path) == 0 ? 0 : errno;
	if (e && e != EEXIST)
		rc = mrl_err_set(err, MRL_EWRITE, "%s: cannot create the database: %s", path, strerror(e));
	else if (rc) {
		char inner[sizeof err->msg];
		snprintf(inner, sizeof inner, "%s", err->msg);
		rc = mrl_err_set(err, MRL_EWRITE, "%s: cannot create the database: %s", path, inner);
	}
	remove_tmp(tmp);
	return rc;
}

int rec_db_open(const char *path, unsigned flags, struct rec_db **out, struct mrl_err *err)
{
	*out = NULL;
	struct stat sb;
	bool exists = stat(path, &sb) == 0;
	if (!exists && !(flags & REC_DB_CREATE))
		return mrl_err_set(err, MRL_EIO, "%s: no such database (merilo db add creates one)", path);
	if (exists && !S_ISREG(sb.st_mode))
		return mrl_err_set(err, MRL_EINPUT, "%s: not a merilo history database (not a regular file)", path);
	int rc = exists ? 0 : create_new(path, err);
	if (rc)
		return rc;
	const bool read_only = flags & REC_DB_READONLY;
	if ((rc = open_file(path, read_only, false, out, err)) || !read_only || (*out)->schema_version == REC_DB_SCHEMA_VERSION)
		return rc;
	/* a merilo database of an older schema: the one write a reader makes is
	 * bringing it up to date, as any open did before (the queries need it) */
	rec_db_close(*out);
	*out = NULL;
	return open_file(path, false, false, out, err);
}

void rec_db_close(struct rec_db *db)
{
	if (!db)
		return;
	sqlite3_close(db->h);
	free(db->path);
	free(db);
}

int rec_db_schema_version(struct rec_db *db)
{
	return db->schema_version;
}
