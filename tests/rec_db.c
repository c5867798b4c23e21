/* rec_db.c — the run history library (records/db.h): a run goes in whole and
 * comes back as rec_run_load reads its folder; adding it twice changes nothing;
 * runs are found by id prefix, folder or folder name; baselines name runs; bench
 * records come back newest first; an old (version 1) database is migrated on
 * open with its rows kept; a newer one, a file that is not SQLite, an empty file,
 * another program's SQLite database and a missing file are refused naming the
 * file, and left as they were; a reader's open changes no byte; a writer killed inside its transaction
 * leaves the database as it was, and a reader reads while a writer is mid-way. A disk that fills
 * (SQLite's system calls replaced) while a database is made leaves none or a whole one, and a
 * full disk is exit 4 saying so; a database on a read-only filesystem (a tmpfs in the test's
 * own mount namespace; skipped where none can be made) is read, and refused to a writer.
 */
#include "records/db.h"
#include "records/item_writer.h"
#include "records/run.h"
#include "tests/cli.h"
#include "tests/tap.h"

#include <errno.h>
#include <glob.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[256];

/* A run folder: results.json with one aggregate (acc of copa/hr), items.jsonl
 * with n items (two choices each, the first correct), run.json. */
static int make_run(const char *d, int n, double acc)
{
	char path[512];
	struct mrl_err err = { 0 };
	struct rec_results r;
	rec_results_init(&r);
	struct rec_aggregate *a = rec_results_add_aggregate(&r, "copa", "hr", n);
	int rc = mkdir(d, 0700) || !a || rec_aggregate_add_metric(a, "acc", acc, 0.1, acc - 0.2, acc + 0.2, 0.95, "wilson");
	r.model.name = strdup("tiny");
	r.suite.name = strdup("demo");
	snprintf(path, sizeof path, "%s/results.json", d);
	rc = rc || rec_results_write(path, &r, &err);
	rec_results_release(&r);
	snprintf(path, sizeof path, "%s/run.json", d);
	rc = rc || cli_write_file(path, "{\"options\": {\"model\": \"m.gguf\"}}\n");
	struct rec_item_writer *w = NULL;
	snprintf(path, sizeof path, "%s/items.jsonl", d);
	rc = rc || rec_item_writer_open(path, NULL, &w, NULL, &err);
	for (int i = 0; !rc && i < n; i++) {
		struct rec_item it;
		char id[16];
		snprintf(id, sizeof id, "%d", i);
		rc = rec_item_init(&it, "copa", id, "hr") || rec_item_add_choice(&it, -1.5 - i, 2, 5, 5, true) ||
		     rec_item_add_choice(&it, -3.25, 3, 7, 7, false) || rec_item_add_metric(&it, "acc", 0, NULL, true, NAN) ||
		     (it.gold_index = 0, rec_item_writer_add(w, &it, &err));
		rec_item_release(&it);
	}
	return rec_item_writer_close(w, &err) || rc;
}

static char db_path[300], run_a[300], run_b[300];

/* A folder added while its items.jsonl was empty (or missing: tests/hrn_db.c) is stored without items
 * (compare --baseline refuses it); adding the same folder again, items.jsonl
 * back, used to say "already there" and keep it so forever: now its items are
 * added (REC_DB_ITEMS_ADDED), and a third add changes nothing. */
static void t_items_later(void)
{
	char path[400], saved[400], dbp[400], id[REC_DB_ID_LEN + 1];
	struct rec_db *db = NULL;
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/items.jsonl", run_b);
	snprintf(saved, sizeof saved, "%s/items.saved", dir);
	snprintf(dbp, sizeof dbp, "%s/later.db", dir);
	ok(rename(path, saved) == 0 && cli_write_file(path, "") == 0, "run b's items.jsonl moved away, an empty one left");
	is_int(rec_db_open(dbp, REC_DB_CREATE, &db, &err), 0, "a new database");
	is_int(rec_db_add_run(db, run_b, NULL, NULL, id, &err), 0, "run b added with an empty items.jsonl");
	struct rec_run run;
	int rc = rec_db_load_run(db, id, REC_RUN_RESULTS | REC_RUN_ITEMS, &run, &err);
	ok(rc == MRL_EINPUT && strstr(err.msg, "without items.jsonl"), "its items cannot be loaded");
	rec_run_release(&run);
	ok(rename(saved, path) == 0, "items.jsonl back");
	is_int(rec_db_add_run(db, run_b, NULL, NULL, id, &err), REC_DB_ITEMS_ADDED, "added again: its items are added");
	rc = rec_db_load_run(db, id, REC_RUN_RESULTS | REC_RUN_ITEMS, &run, &err);
	ok(rc == 0 && run.have_items && run.items.n == 2, "the stored run now has its 2 items");
	rec_run_release(&run);
	is_int(rec_db_add_run(db, run_b, NULL, NULL, id, &err), REC_DB_ALREADY, "a third add: already there");
	rec_db_close(db);
}

/* A stored item that is JSON but not an item (its "choices" gone) is an error naming
 * it; what was read of it before (task, item, language) is freed (LeakSanitizer:
 * they leaked). */
static void t_bad_item_row(void)
{
	char dbp[400], id[REC_DB_ID_LEN + 1];
	struct rec_db *db = NULL;
	struct mrl_err err = { 0 };
	sqlite3 *h = NULL;
	snprintf(dbp, sizeof dbp, "%s/bad-item.db", dir);
	is_int(rec_db_open(dbp, REC_DB_CREATE, &db, &err), 0, "a new database");
	is_int(rec_db_add_run(db, run_a, NULL, NULL, id, &err), 0, "run a added");
	rec_db_close(db);
	db = NULL;
	ok(sqlite3_open(dbp, &h) == SQLITE_OK &&
	   sqlite3_exec(h, "UPDATE items SET record_json = json_remove(record_json, '$.choices') WHERE seq = "
			   "(SELECT MAX(seq) FROM items)", NULL, NULL, NULL) == SQLITE_OK,
	   "its last item's choices removed");
	sqlite3_close(h);
	is_int(rec_db_open(dbp, 0, &db, &err), 0, "opened again");
	struct rec_run run;
	int rc = db ? rec_db_load_run(db, id, REC_RUN_RESULTS | REC_RUN_ITEMS, &run, &err) : -1;
	is_int(rc, MRL_EINPUT, "loading its items: MRL_EINPUT");
	like(err.msg, "choices", "naming what is missing");
	if (db)
		rec_run_release(&run);
	rec_db_close(db);
}

static void t_add_and_load(void)
{
	struct rec_db *db = NULL;
	struct mrl_err err = { 0 };
	char id[REC_DB_ID_LEN + 1], id2[REC_DB_ID_LEN + 1];
	is_int(rec_db_open(db_path, REC_DB_CREATE, &db, &err), 0, "a new database is created");
	is_int(rec_db_schema_version(db), REC_DB_SCHEMA_VERSION, "at the current schema version");
	is_int(rec_db_add_run(db, run_a, NULL, NULL, id, &err), 0, "a run is added");
	is_int((int)strlen(id), REC_DB_ID_LEN, "its id is a sha256");
	is_int(rec_db_add_run(db, run_a, NULL, NULL, id2, &err), 1, "adding it again: 1, already there");
	is_str(id2, id, "the same id");
	struct rec_db_run_info *infos;
	size_t n;
	is_int(rec_db_list(db, NULL, NULL, &infos, &n, &err), 0, "list");
	is_int((int)n, 1, "one run stored, not two");
	if (n == 1) {
		is_int((int)infos[0].n_items, 3, "with its 3 items");
		is_str(infos[0].model_name, "tiny", "the model name");
		is_str(infos[0].dir, run_a, "the folder");
	}
	rec_db_run_infos_free(infos, n);
	char *text = NULL, *file = NULL, path[512];
	snprintf(path, sizeof path, "%s/results.json", run_a);
	file = cli_slurp(path);
	is_int(rec_db_results_text(db, id, &text, &err), 0, "results text");
	ok(text && file && !strcmp(text, file), "the stored results.json equals the file byte for byte");
	free(text);
	free(file);
	struct rec_run from_db, from_dir;
	is_int(rec_db_load_run(db, id, REC_RUN_RESULTS | REC_RUN_ITEMS | REC_RUN_JSON, &from_db, &err), 0, "load");
	is_int(rec_run_load(run_a, REC_RUN_RESULTS | REC_RUN_ITEMS | REC_RUN_JSON, &from_dir, &err), 0, "the folder");
	is_str(from_db.dir, run_a, "run->dir is the folder it came from");
	is_int((int)from_db.items.n, (int)from_dir.items.n, "as many items");
	ok(from_db.have_items, "have_items");
	is_near(from_db.items.items[2].choices[0].loglik, from_dir.items.items[2].choices[0].loglik, 0, "logliks equal");
	is_int(from_db.items.items[1].metrics[0].correct, 1, "verdicts");
	is_near(from_db.results.aggregates[0].metrics[0].value, 0.5, 0, "aggregates");
	ok(json_equal(from_db.run_json, from_dir.run_json), "run.json");
	rec_run_release(&from_db);
	rec_run_release(&from_dir);
	rec_db_close(db);
}

static void t_resolve_and_baseline(void)
{
	struct rec_db *db = NULL;
	struct mrl_err err = { 0 };
	char id_a[REC_DB_ID_LEN + 1], id_b[REC_DB_ID_LEN + 1], got[REC_DB_ID_LEN + 1], prefix[9];
	is_int(rec_db_open(db_path, 0, &db, &err), 0, "open the existing database");
	if (!db)
		return;
	is_int(rec_db_add_run(db, run_b, NULL, NULL, id_b, &err), 0, "a second run");
	is_int(rec_db_resolve(db, run_a, id_a, &err), 0, "found by its folder");
	snprintf(prefix, sizeof prefix, "%.8s", id_b);
	is_int(rec_db_resolve(db, prefix, got, &err), 0, "found by an id prefix");
	is_str(got, id_b, "the right one");
	is_int(rec_db_resolve(db, "b", got, &err), 0, "found by the folder's name");
	is_str(got, id_b, "the right one");
	is_int(rec_db_resolve(db, "nosuchrun", got, &err), MRL_EINPUT, "an unknown run is refused");
	like(err.msg, "no run 'nosuchrun'", "saying so");
	is_int(rec_db_baseline_get(db, "main", got, &err), MRL_EINPUT, "no baseline yet");
	is_int(rec_db_baseline_set(db, "main", id_a, &err), 0, "set baseline main");
	is_int(rec_db_baseline_set(db, "main", id_b, &err), 0, "set it again to another run");
	is_int(rec_db_baseline_get(db, "main", got, &err), 0, "get it");
	is_str(got, id_b, "the name points at the last run set");
	struct rec_db_run_info *infos;
	size_t n;
	is_int(rec_db_list(db, "tin", "demo", &infos, &n, &err), 0, "list filtered");
	is_int((int)n, 2, "model substring and suite match both");
	if (n == 2) {
		ok(infos[0].baselines == NULL, "run a is no baseline any more");
		is_str(infos[1].baselines, "main", "run b is baseline main");
	}
	rec_db_run_infos_free(infos, n);
	is_int(rec_db_list(db, "other", NULL, &infos, &n, &err), 0, "list by another model");
	is_int((int)n, 0, "none");
	rec_db_run_infos_free(infos, n);
	rec_db_close(db);
}

static void t_bench(void)
{
	struct rec_db *db = NULL;
	struct mrl_err err = { 0 };
	char **texts = NULL;
	size_t n = 0;
	is_int(rec_db_open(db_path, 0, &db, &err), 0, "open");
	if (!db)
		return;
	for (int i = 0; i < 3; i++) {
		char rec[64];
		snprintf(rec, sizeof rec, "{\"rep\": %d}", i);
		is_int(rec_db_add_bench(db, rec, i == 1 ? "other" : "main", NULL, &err), 0, "add a bench record");
	}
	is_int(rec_db_add_bench(db, "{not json", "main", NULL, &err), MRL_EINPUT, "a broken record is refused");
	is_int(rec_db_bench_last(db, "main", 5, &texts, &n, &err), 0, "the last records of main");
	is_int((int)n, 2, "two of them");
	if (n == 2) {
		is_str(texts[0], "{\"rep\": 2}", "newest first");
		is_str(texts[1], "{\"rep\": 0}", "then the older");
	}
	for (size_t i = 0; i < n; i++)
		free(texts[i]);
	free(texts);
	rec_db_close(db);
}

/* A database as merilo's schema version 1 wrote it, with one run and one item. */
static int make_v1(const char *path)
{
	static const char v1[] =
		"CREATE TABLE runs(id TEXT PRIMARY KEY, dir TEXT NOT NULL, name TEXT NOT NULL, model_name TEXT,"
		" model_path TEXT, model_sha256 TEXT, suite_name TEXT, suite_sha256 TEXT, started_utc TEXT, ended_utc TEXT,"
		" git_commit TEXT, hostname TEXT, settings_json TEXT, added_utc TEXT NOT NULL, results_json TEXT NOT NULL,"
		" run_json TEXT, has_items INTEGER NOT NULL);"
		"CREATE TABLE aggregates(run_id TEXT NOT NULL, task TEXT NOT NULL, language TEXT NOT NULL, metric TEXT NOT NULL,"
		" n INTEGER, value REAL, std_err REAL, ci_low REAL, ci_high REAL, PRIMARY KEY(run_id, task, language, metric));"
		"CREATE TABLE items(run_id TEXT NOT NULL, seq INTEGER NOT NULL, task TEXT NOT NULL, language TEXT NOT NULL,"
		" item_id TEXT NOT NULL, gold_index INTEGER, logliks_json TEXT, record_json TEXT NOT NULL,"
		" PRIMARY KEY(run_id, seq));"
		"CREATE TABLE item_metrics(run_id TEXT NOT NULL, seq INTEGER NOT NULL, metric TEXT NOT NULL,"
		" pred_index INTEGER, correct INTEGER NOT NULL, value REAL, PRIMARY KEY(run_id, seq, metric));"
		"CREATE TABLE baselines(name TEXT PRIMARY KEY, run_id TEXT NOT NULL, set_utc TEXT NOT NULL);"
		"INSERT INTO runs VALUES('abcd1234', '/old/run', 'run', 'm', NULL, NULL, 'demo', NULL, NULL, NULL, NULL,"
		" NULL, NULL, '2026-01-01T00:00:00Z', '{}', NULL, 1);"
		"INSERT INTO items VALUES('abcd1234', 1, 'copa', 'hr', '0', 0, '[-1.0]', '{}');"
		"PRAGMA user_version = 1;";
	sqlite3 *h = NULL;
	int rc = sqlite3_open(path, &h) != SQLITE_OK || sqlite3_exec(h, v1, NULL, NULL, NULL) != SQLITE_OK;
	sqlite3_close(h);
	return rc;
}

static void t_migrate(void)
{
	char path[400];
	struct rec_db *db = NULL;
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/v1.db", dir);
	ok(make_v1(path) == 0, "a version 1 database");
	is_int(rec_db_open(path, 0, &db, &err), 0, "opens with the current code");
	if (!db)
		return;
	is_int(rec_db_schema_version(db), REC_DB_SCHEMA_VERSION, "migrated to the current version");
	struct rec_db_run_info *infos;
	size_t n;
	is_int(rec_db_list(db, NULL, NULL, &infos, &n, &err), 0, "list");
	is_int((int)n, 1, "its run is kept");
	if (n == 1)
		is_int((int)infos[0].n_items, 1, "n_items (new in version 2) filled in from its items");
	rec_db_run_infos_free(infos, n);
	is_int(rec_db_add_bench(db, "{}", NULL, NULL, &err), 0, "bench records (new in version 2) work");
	rec_db_close(db);
	is_int(rec_db_open(path, 0, &db, &err), 0, "opens again (nothing left to migrate)");
	rec_db_close(db);
}

static void t_bad_files(void)
{
	char path[400];
	struct rec_db *db = NULL;
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/text.db", dir);
	cli_write_file(path, "this is not a database, just some text that is long enough to look like a header....\n");
	is_int(rec_db_open(path, 0, &db, &err), MRL_EINPUT, "a text file is refused");
	like(err.msg, "text.db: not a merilo history database (not an SQLite database", "naming the file and the problem");
	ok(!db, "no handle");
	snprintf(path, sizeof path, "%s/cut.db", dir);
	ok(cli_sh(NULL, "head -c 3000 %s > %s", db_path, path) == 0, "a database cut short");
	is_int(rec_db_open(path, 0, &db, &err), MRL_EINPUT, "a corrupt database is refused");
	like(err.msg, "cut.db: reading: database disk image is malformed", "naming the file and the problem");
	snprintf(path, sizeof path, "%s/newer.db", dir);
	sqlite3 *h = NULL;
	ok(sqlite3_open(path, &h) == SQLITE_OK && sqlite3_exec(h, "PRAGMA user_version = 99", NULL, NULL, NULL) == SQLITE_OK,
	   "a database of schema version 99");
	sqlite3_close(h);
	is_int(rec_db_open(path, 0, &db, &err), MRL_EUNSUPPORTED, "a newer schema is refused");
	like(err.msg, "newer.db: schema version 99 is newer than this merilo knows", "naming file and version");
	snprintf(path, sizeof path, "%s/missing.db", dir);
	is_int(rec_db_open(path, 0, &db, &err), MRL_EIO, "a missing database is refused without REC_DB_CREATE");
	like(err.msg, "missing.db: no such database", "naming it");
	ok(access(path, F_OK) != 0, "and not created");
	is_int(rec_db_open(db_path, 0, &db, &err), 0, "open");
	char id[REC_DB_ID_LEN + 1];
	is_int(rec_db_add_run(db, "/nonexistent/run", NULL, NULL, id, &err), MRL_EIO, "a missing run folder");
	like(err.msg, "/nonexistent/run: no such run folder", "naming it");
	rec_db_close(db);
}

static int sync_fd[2], go_fd[2];

/* In the child: tell the parent we are inside the transaction, then wait to be killed. */
static void hook_wait(void *arg)
{
	(void)arg;
	char c = 'x';
	if (write(sync_fd[1], &c, 1) != 1)
		_exit(3);
	if (read(go_fd[0], &c, 1) < 0)
		_exit(3);
	raise(SIGKILL);
}

static size_t count_runs(struct rec_db *db)
{
	struct rec_db_run_info *infos;
	size_t n = 0;
	struct mrl_err err = { 0 };
	if (rec_db_list(db, NULL, NULL, &infos, &n, &err))
		return (size_t)-1;
	rec_db_run_infos_free(infos, n);
	return n;
}

/* A child adds run c and dies (SIGKILL) inside the transaction, after every row
 * is written; meanwhile the parent reads (WAL). */
static void t_killed_writer(const char *run_c)
{
	struct rec_db *db = NULL;
	struct mrl_err err = { 0 };
	is_int(rec_db_open(db_path, 0, &db, &err), 0, "open");
	size_t before = count_runs(db);
	rec_db_close(db);
	if (pipe(sync_fd) || pipe(go_fd)) {
		ok(0, "pipes");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		struct rec_db *cdb = NULL;
		char id[REC_DB_ID_LEN + 1];
		if (rec_db_open(db_path, 0, &cdb, &err) == 0)
			rec_db_add_run(cdb, run_c, hook_wait, NULL, id, &err);
		_exit(2); /* not reached when the hook ran */
	}
	char c;
	ok(read(sync_fd[0], &c, 1) == 1, "the writer is inside its transaction");
	is_int(rec_db_open(db_path, 0, &db, &err), 0, "a reader opens the database meanwhile");
	is_int((int)count_runs(db), (int)before, "and reads the runs committed before (WAL), not the one being written");
	rec_db_close(db);
	ok(write(go_fd[1], "g", 1) == 1, "let the writer die");
	int st = 0;
	waitpid(pid, &st, 0);
	ok(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL, "the writer was killed mid-transaction");
	is_int(rec_db_open(db_path, 0, &db, &err), 0, "the database opens after the kill");
	is_int((int)count_runs(db), (int)before, "and holds only the complete runs");
	char id[REC_DB_ID_LEN + 1];
	is_int(rec_db_resolve(db, run_c, id, &err), MRL_EINPUT, "nothing of the killed run");
	is_int(rec_db_add_run(db, run_c, NULL, NULL, id, &err), 0, "adding it again works");
	rec_db_close(db);
	close(sync_fd[0]), close(sync_fd[1]), close(go_fd[0]), close(go_fd[1]);
}

/* cksum of path, to see that an open left it as it was. */
static char *cksum(const char *path)
{
	char *out = NULL;
	cli_sh(&out, "cksum < '%s'", path);
	return out;
}

/* Whatever the flags, an existing file must already be a merilo database: an
 * empty file or another program's SQLite database is refused and left as it was
 * (a writer used to turn an empty file into a database, a reader too). A reader's
 * open (REC_DB_READONLY) changes no byte of a real database. */
static void t_not_merilo(void)
{
	static const unsigned flags[] = { 0, REC_DB_CREATE, REC_DB_READONLY };
	char path[400], *before, *after;
	struct rec_db *db = NULL;
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/empty.db", dir);
	cli_write_file(path, "");
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		is_int(rec_db_open(path, flags[i], &db, &err), MRL_EINPUT, "an empty file is refused");
		like(err.msg, "empty.db: not a merilo history database (an empty file)", "saying so");
		rec_db_close(db);
		db = NULL;
	}
	is_int((int)cli_file_size(path), 0, "and stays empty");
	snprintf(path, sizeof path, "%s/other.sqlite", dir);
	sqlite3 *h = NULL;
	ok(sqlite3_open(path, &h) == SQLITE_OK && sqlite3_exec(h, "CREATE TABLE t(x)", NULL, NULL, NULL) == SQLITE_OK,
	   "another program's SQLite database");
	sqlite3_close(h);
	before = cksum(path);
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		is_int(rec_db_open(path, flags[i], &db, &err), MRL_EINPUT, "another program's database is refused");
		like(err.msg, "other.sqlite: not a merilo history database (an SQLite database without merilo's tables)",
		     "saying so");
		rec_db_close(db);
		db = NULL;
	}
	after = cksum(path);
	is_str(after, before, "and left as it was");
	free(before), free(after);
	before = cksum(db_path);
	is_int(rec_db_open(db_path, REC_DB_READONLY, &db, &err), 0, "a reader opens the real database");
	struct rec_db_run_info *infos = NULL;
	size_t n = 0;
	is_int(rec_db_list(db, NULL, NULL, &infos, &n, &err), 0, "and lists it");
	rec_db_run_infos_free(infos, n);
	rec_db_close(db);
	after = cksum(db_path);
	is_str(after, before, "without changing a byte");
	free(before), free(after);
	snprintf(path, sizeof path, "%s/missing2.db", dir);
	is_int(rec_db_open(path, REC_DB_READONLY, &db, &err), MRL_EIO, "a reader of a missing file: no such database");
	ok(access(path, F_OK) != 0, "and none is made");
}

/* A disk that fills: SQLite's unix VFS lets a test replace the system calls it
 * makes (xSetSystemCall, SQLite's own fault injection), so every write, pwrite and
 * pwrite64 of a database, its journal, WAL or WAL index (DB-shm) spends disk_left
 * bytes, and fails with ENOSPC, as a full disk does, once they are spent.
 * disk_left -1: no limit (the system calls are SQLite's own again). */
static long long disk_left = -1;

static int disk_spend(size_t n)
{
	if (disk_left < 0 || (long long)n <= disk_left) {
		disk_left -= disk_left < 0 ? 0 : (long long)n;
		return 0;
	}
	disk_left = 0;
	errno = ENOSPC;
	return -1;
}

static ssize_t full_write(int fd, const void *buf, size_t n)
{
	return disk_spend(n) ? -1 : write(fd, buf, n);
}

static ssize_t full_pwrite(int fd, const void *buf, size_t n, off_t off) /* off_t is 64 bits: pwrite64 too */
{
	return disk_spend(n) ? -1 : pwrite(fd, buf, n, off);
}

/* Give SQLite a disk with bytes left (-1: SQLite's own system calls); 0 or -1. */
static int disk_limit(long long bytes)
{
	static const char *const calls[] = { "write", "pwrite", "pwrite64" };
	sqlite3_syscall_ptr ptrs[] = { (sqlite3_syscall_ptr)full_write, (sqlite3_syscall_ptr)full_pwrite,
				       (sqlite3_syscall_ptr)full_pwrite };
	sqlite3_vfs *vfs = sqlite3_vfs_find(NULL);
	int n_set = 0;
	disk_left = bytes;
	for (size_t i = 0; vfs && vfs->iVersion >= 3 && i < 3; i++)
		n_set += vfs->xSetSystemCall(vfs, calls[i], bytes < 0 ? NULL : ptrs[i]) == SQLITE_OK;
	return n_set > 0 ? 0 : -1;
}

/* Files in dir whose names start with prefix (a leftover DB.new-*, DB-wal ...). */
static int count_files(const char *prefix)
{
	char pattern[600];
	glob_t g;
	snprintf(pattern, sizeof pattern, "%s/%s*", dir, prefix);
	int n = glob(pattern, 0, NULL, &g) == 0 ? (int)g.gl_pathc : 0;
	globfree(&g);
	return n;
}

/* Whether path is a sound SQLite database (PRAGMA integrity_check says ok). */
static bool integrity_ok(const char *path)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *st = NULL;
	bool good = sqlite3_open_v2(path, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
		    sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW && !strcmp((const char *)sqlite3_column_text(st, 0), "ok");
	sqlite3_finalize(st);
	sqlite3_close(h);
	return good;
}

/* A disk that fills while a new database is made, at every size from nothing to
 * more than it needs (2 KiB steps): either the database is made whole, or the open
 * fails as an output not written (MRL_EWRITE, "full"), with no file at the path and
 * nothing of the temporary one left; once there is room the same open makes a sound
 * database. Before, a full disk during the WAL checkpoint of sqlite3_close went
 * unnoticed and a half-written file was linked into place ("database disk image is
 * malformed" forever after), with its DB.new-*-wal and -shm left beside it. */
static void t_full_disk_create(void)
{
	int n_made = 0, n_full = 0, n_wrong_code = 0, n_wrong_msg = 0, n_left = 0, n_unsound = 0, first_bad = -1;
	char path[400], name[64], msg[1100] = "";
	if (disk_limit(0) || disk_limit(-1)) {
		test_skip("SQLite's VFS takes no replacement system calls here");
		return;
	}
	for (int kib = 0; kib <= 160; kib += 2) {
		struct rec_db *db = NULL;
		struct mrl_err err = { 0 };
		snprintf(name, sizeof name, "full-%d.db", kib);
		snprintf(path, sizeof path, "%s/%s", dir, name);
		disk_limit(kib * 1024LL);
		int rc = rec_db_open(path, REC_DB_CREATE, &db, &err);
		rec_db_close(db);
		disk_limit(-1);
		n_made += rc == 0;
		n_full += rc != 0;
		int bad = (rc && rc != MRL_EWRITE) + 2 * (rc && !strstr(err.msg, "full")) +
			  4 * ((rc && access(path, F_OK) == 0) || count_files(strcat(name, ".new-")) > 0);
		n_wrong_code += bad & 1, n_wrong_msg += (bad & 2) != 0, n_left += (bad & 4) != 0;
		if (bad && first_bad < 0)
			first_bad = kib, snprintf(msg, sizeof msg, "%s", rc ? err.msg : "made, files left");
		db = NULL;
		int rc2 = rec_db_open(path, REC_DB_CREATE, &db, &err); /* room now */
		rec_db_close(db);
		if (rc2 || !integrity_ok(path)) {
			n_unsound++;
			if (first_bad < 0 || first_bad == kib)
				first_bad = kib, snprintf(msg, sizeof msg, "then with room: %s", rc2 ? err.msg : "unsound");
		}
	}
	if (first_bad >= 0)
		diag("first wrong at %d KiB: %s", first_bad, msg);
	ok(n_made > 0 && n_full > 0, "the sizes tried both failed and sufficed");
	is_int(n_wrong_code, 0, "a failure is always MRL_EWRITE (exit 4)");
	is_int(n_wrong_msg, 0, "saying the disk is full");
	is_int(n_left, 0, "leaving no database at the path and no DB.new-* file");
	is_int(n_unsound, 0, "and once there is room the same open makes a sound database");
}

/* A full disk met by the first read of an existing database (its WAL index,
 * DB-shm, cannot be made) is a full disk, exit 4, not "reading: disk I/O error"
 * (exit 3, bad input) as before; the database stays as it was. */
static void t_full_disk_read(void)
{
	struct rec_db *db = NULL;
	struct mrl_err err = { 0 };
	char *before = cksum(db_path), *after;
	if (disk_limit(0)) {
		test_skip("SQLite's VFS takes no replacement system calls here");
		free(before);
		return;
	}
	int rc = rec_db_open(db_path, 0, &db, &err);
	rec_db_close(db);
	disk_limit(-1);
	is_int(rc, MRL_EWRITE, "a writer's open on a full disk: MRL_EWRITE (exit 4)");
	like(err.msg, "merilo.db: reading: disk full (No space left on device)", "saying the disk is full, naming the file");
	after = cksum(db_path);
	is_str(after, before, "the database is left as it was");
	ok(integrity_ok(db_path), "and sound");
	free(before), free(after);
}

/* A database on a read-only filesystem: a reader cannot make the WAL index DB-shm
 * there, so it opens the file immutable (nothing can change it: the filesystem is
 * mounted read-only, and no WAL content waits beside it); before, every reader
 * failed with "reading: unable to open database file". A writer fails, exit 4,
 * naming the file. The file name has the characters a URI escapes (% ? #). */
static void t_read_only_fs(void)
{
	char mnt[400], path[500], why[256], id[REC_DB_ID_LEN + 1];
	struct rec_db *db = NULL;
	struct mrl_err err = { 0 };
	snprintf(mnt, sizeof mnt, "%s/ro", dir);
	snprintf(path, sizeof path, "%s/h 50%%?x#y.db", mnt);
	if (mkdir(mnt, 0700) != 0 || cli_mount_tmpfs(mnt, "size=4m", why, sizeof why) != 0) {
		char reason[320];
		snprintf(reason, sizeof reason, "no read-only filesystem to try: %s", why);
		test_skip(reason);
		return;
	}
	is_int(rec_db_open(path, REC_DB_CREATE, &db, &err), 0, "a database made on the tmpfs");
	is_int(db ? rec_db_add_run(db, run_a, NULL, NULL, id, &err) : -1, 0, "with a run");
	is_int(db ? rec_db_baseline_set(db, "main", id, &err) : -1, 0, "and a baseline");
	rec_db_close(db);
	db = NULL;
	ok(cli_remount_ro(mnt) == 0, "the tmpfs remounted read-only");
	is_int(rec_db_open(path, REC_DB_READONLY, &db, &err), 0, "a reader opens it");
	if (db) {
		struct rec_db_run_info *infos = NULL;
		size_t n = 0;
		char got[REC_DB_ID_LEN + 1] = "";
		is_int(rec_db_list(db, NULL, NULL, &infos, &n, &err), 0, "lists it");
		is_int((int)n, 1, "its one run");
		rec_db_run_infos_free(infos, n);
		is_int(rec_db_baseline_get(db, "main", got, &err), 0, "reads the baseline");
		is_str(got, id, "the run");
		struct rec_run run;
		is_int(rec_db_load_run(db, id, REC_RUN_RESULTS | REC_RUN_ITEMS, &run, &err), 0, "loads the run");
		is_int((int)run.items.n, 3, "with its items");
		rec_run_release(&run);
		rec_db_close(db);
		db = NULL;
	}
	is_int(rec_db_open(path, 0, &db, &err), MRL_EWRITE, "a writer: MRL_EWRITE (exit 4)");
	like(err.msg, "x#y.db: cannot write the database: Read-only file system", "naming the file and why");
	rec_db_close(db);
	umount2(mnt, MNT_DETACH);
}

int main(void)
{
	char run_c[300];
	if (!cli_tmpdir(dir, sizeof dir, "rec-db")) {
		skip_all("cannot make a temporary folder");
		return 0;
	}
	snprintf(db_path, sizeof db_path, "%s/merilo.db", dir);
	snprintf(run_a, sizeof run_a, "%s/a", dir);
	snprintf(run_b, sizeof run_b, "%s/b", dir);
	snprintf(run_c, sizeof run_c, "%s/c", dir);
	if (make_run(run_a, 3, 0.5) || make_run(run_b, 2, 0.75) || make_run(run_c, 4, 0.25)) {
		skip_all("cannot write the test runs");
		return 0;
	}
	TEST(t_add_and_load(), "a run goes in whole, once, and comes back as its folder reads");
	TEST(t_items_later(), "a run stored without items gets them when its folder is added again with them");
	TEST(t_bad_item_row(), "a stored item that is not an item: an error, nothing leaked");
	TEST(t_resolve_and_baseline(), "runs found by id prefix, folder, name; baselines");
	TEST(t_bench(), "bench records: the last N, newest first, by label");
	TEST(t_migrate(), "a version 1 database is migrated on open, its rows kept");
	TEST(t_bad_files(), "not SQLite, a newer schema, a missing database or run folder: refused, naming the file");
	TEST(t_killed_writer(run_c), "a writer killed inside its transaction leaves the database as it was");
	TEST(t_not_merilo(), "an empty file or another program's SQLite file: refused, left as it was; readers write nothing");
	TEST(t_full_disk_create(), "a disk that fills while a database is made: made whole or not at all, exit 4");
	TEST(t_full_disk_read(), "a full disk met by the first read: exit 4 saying so, the database unchanged");
	TEST(t_read_only_fs(), "a database on a read-only filesystem: readers read it, a writer is exit 4");
	cli_rmtree(dir);
	return done_testing();
}
