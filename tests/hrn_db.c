/* hrn_db.c — `merilo db` and the commands that read the history (issue 18), on
 * two small real runs (`merilo synth` CLI_SYNTH_SMALL model, the whole demo suite, --limit 1): `run
 * --db` and `db add` record them (default database beside the runs; twice is
 * harmless and says so); `db list --json` gives the table's fields as JSON; `db
 * show` prints results.json byte for byte; `compare
 * --baseline` with the base folder gone prints what comparing the folders
 * printed, with the same exit code; `leaderboard --db` equals the leaderboard of
 * the folders; a `db add` SIGKILLed inside its transaction leaves the database
 * as it was while a reader reads; a text file, a newer schema, a missing run
 * folder and an unknown run are one-line errors naming them, exit 3; a database
 * that cannot be created is exit 4, found by run --db and bench --db before their work; bench
 * --db stores records, bench --baseline-db gates the same model against them and
 * refuses another model's records before measuring; every subcommand has --help. A file that is not a merilo database (empty, or
 * another program's SQLite file) is refused by readers and writers and left as it was, run --db
 * before the run; bench checks its databases and partnered flags before measuring; db add takes
 * RUN/results.json and a short run id prefix says how long one must be. On a small tmpfs
 * (the test's own mount namespace) a full disk is exit 4 with no half-made database, and
 * on it remounted read-only the readers read and a writer is exit 4.
 * Runs the binary named by $MERILO (set by `make test`).
 */
#include "tests/tap.h"
#include "tests/cli.h"
#include "tests/spawn.h"

#include "records/db.h"

#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char tmp[256];

static int make_runs(void)
{
	static const char common[] = "--suite tasks/suites/demo.json --limit 1 --threads 2 "
				     "--boot 200 --quiet";
	return cli_run(NULL, "synth " CLI_SYNTH_SMALL " --dtype f16 -o %s/m.gguf", tmp) ||
	       cli_run(NULL, "run --model %s/m.gguf %s --out %s/r1 --db %s/merilo.db", tmp, common, tmp, tmp) ||
	       cli_run(NULL, "run --model %s/m.gguf %s --seed 5 --out %s/r2", tmp, common, tmp);
}

static void t_add(void)
{
	char *out = NULL, path[512];
	snprintf(path, sizeof path, "%s/merilo.db", tmp);
	ok(cli_file_size(path) > 0, "run --db made the database and added the run");
	int rc = cli_run(&out, "db add %s/r1 %s/r2", tmp, tmp);
	is_int(rc, 0, "db add of both: exit 0");
	like(out, "already recorded: ", "r1 (added by run --db) is said to be there already");
	like(out, "added ", "r2 is added");
	like(out, path, "to merilo.db beside the runs");
	free(out);
	rc = cli_run(&out, "db list --db %s/merilo.db", tmp);
	is_int(rc, 0, "db list: exit 0");
	like(out, "2 runs in", "two runs, not three");
	like(out, "merilo-synth-tiny-f16", "the model");
	free(out);
	CLI_EXPECT(0, "0 runs in", "db list --model nosuch", "db list --db %s/merilo.db --model nosuch", tmp);
	CLI_EXPECT(0, "2 runs in", "db list --suite merilo-demo", "db list --db %s/merilo.db --suite merilo-demo", tmp);
	/* a folder without items.jsonl: stored with a warning (it was silent), and its items are added
	 * when the folder is added again with them (it said "already recorded" forever) */
	int rc2 = cli_sh(&out, "cp -r %s/r2 %s/r2n && mv %s/r2n/items.jsonl %s/r2n.items && '%s' db add %s/r2n --db "
			       "%s/noitems.db", tmp, tmp, tmp, tmp, cli_merilo(), tmp, tmp);
	is_int(rc2, 0, "db add of a folder without items.jsonl: exit 0");
	like(out, "warning: ", "with a warning");
	like(out, "has no items.jsonl (or an empty one): stored without items", "saying what is missing");
	free(out);
	rc2 = cli_sh(&out, "mv %s/r2n.items %s/r2n/items.jsonl && '%s' db add %s/r2n --db %s/noitems.db", tmp, tmp,
		     cli_merilo(), tmp, tmp);
	is_int(rc2, 0, "db add again with items.jsonl: exit 0");
	like(out, "added the items of ", "its items are added to the stored run");
	ok(out && !strstr(out, "warning"), "no warning now");
	free(out);
	/* a run given twice was ranked (and reported) twice; an empty baseline name was taken */
	CLI_EXPECT(2, "is given twice", "leaderboard of one run given twice (another path): usage error",
		   "leaderboard %s/r1 %s/../%s/r1 %s/r2", tmp, tmp, strrchr(tmp, '/') + 1, tmp);
	CLI_EXPECT(2, "is given twice", "report of one run given twice: usage error", "report %s/r1 %s/r1 -o %s/rep2", tmp,
		   tmp, tmp);
	CLI_EXPECT(2, "the baseline NAME is empty", "db baseline set '' RUN: usage error",
		   "db baseline set '' %s/r1 --db %s/merilo.db", tmp, tmp);
}

static void t_show(void)
{
	char *out = NULL, path[512];
	snprintf(path, sizeof path, "%s/r1/results.json", tmp);
	char *file = cli_slurp(path);
	int rc = cli_sh(&out, "cd %s && '%s' db show r1", tmp, getenv("MERILO"));
	is_int(rc, 0, "db show r1 (from the runs' folder: ./merilo.db): exit 0");
	ok(file && out && !strcmp(out, file), "what db show prints equals results.json byte for byte");
	free(out);
	free(file);
	CLI_EXPECT(3, "no run 'nosuch'", "db show of an unknown run", "db show nosuch --db %s/merilo.db", tmp);
}

static void t_compare_baseline(void)
{
	char *by_folder = NULL, *by_db = NULL, *json_folder = NULL, *json_db = NULL;
	CLI_EXPECT(0, "baseline main = run ", "db baseline set", "db baseline set main %s/r1 --db %s/merilo.db", tmp, tmp);
	CLI_EXPECT(0, "/r1  (baseline main)", "db list names the baseline", "db list --db %s/merilo.db", tmp);
	int rc_f = cli_run(&by_folder, "compare %s/r1 %s/r2", tmp, tmp);
	cli_run(&json_folder, "compare %s/r1 %s/r2 --format json", tmp, tmp);
	int moved = cli_sh(NULL, "mv %s/r1 %s/r1.away", tmp, tmp);
	is_int(moved, 0, "the base run's folder is gone");
	int rc_d = cli_run(&by_db, "compare --baseline main %s/r2", tmp);
	cli_run(&json_db, "compare --baseline main %s/r2 --format json --db %s/merilo.db", tmp, tmp);
	cli_sh(NULL, "mv %s/r1.away %s/r1", tmp, tmp);
	is_int(rc_d, rc_f, "compare --baseline: the same exit code (verdict) as comparing the folders");
	ok(by_folder && by_db && !strcmp(by_folder, by_db), "the same text output");
	ok(json_folder && json_db && !strcmp(json_folder, json_db), "the same JSON output (--db given)");
	like(by_db, "vs candidate", "a real comparison");
	free(by_folder), free(by_db), free(json_folder), free(json_db);
	CLI_EXPECT(3, "no baseline 'nosuch'", "an unknown baseline", "compare --baseline nosuch %s/r2", tmp);
	CLI_EXPECT(2, "expected one run", "--baseline with two runs", "compare --baseline main %s/r2 %s/r2", tmp, tmp);
}

/* db list --json: the table's fields in one JSON document (there was no
 * machine-readable listing); run after the baseline main is set on r1. */
static void t_list_json(void)
{
	char *out = NULL, *table = NULL;
	int rc = cli_run(&out, "db list --db %s/merilo.db --json 2>/dev/null", tmp);
	is_int(rc, 0, "db list --json: exit 0");
	json_error_t jerr;
	json_t *doc = out ? json_loads(out, 0, &jerr) : NULL;
	ok(doc != NULL, "stdout is one JSON document");
	json_t *runs = json_object_get(doc, "runs"), *r1 = json_array_get(runs, 0);
	is_int((int)json_array_size(runs), 2, "two runs");
	const char *id = json_string_value(json_object_get(r1, "id"));
	is_int(id ? (int)strlen(id) : 0, 64, "the whole run id");
	cli_run(&table, "db list --db %s/merilo.db", tmp);
	char prefix[13] = "";
	if (id)
		snprintf(prefix, sizeof prefix, "%s", id);
	like(table, prefix[0] ? prefix : "(no id)", "the table's run id is its first 12 digits");
	is_str(json_string_value(json_object_get(r1, "model")), "merilo-synth-tiny-f16", "the model");
	is_str(json_string_value(json_object_get(r1, "suite")), "merilo-demo", "the suite");
	ok(json_integer_value(json_object_get(r1, "items")) > 0, "the item count");
	const char *folder = json_string_value(json_object_get(r1, "folder"));
	ok(folder && strlen(folder) > 3 && !strcmp(folder + strlen(folder) - 3, "/r1"), "the folder it was added from");
	is_str(json_string_value(json_array_get(json_object_get(r1, "baselines"), 0)), "main", "the baselines naming it");
	is_int((int)json_array_size(json_object_get(json_array_get(runs, 1), "baselines")), 0,
	       "an empty array where none does");
	char db[400];
	snprintf(db, sizeof db, "%s/merilo.db", tmp);
	is_str(json_string_value(json_object_get(doc, "database")), db, "the database");
	json_decref(doc);
	free(out);
	free(table);
}

static void t_leaderboard(void)
{
	char *by_folder = NULL, *by_db = NULL;
	int rc_f = cli_run(&by_folder, "leaderboard %s/r1 %s/r2", tmp, tmp);
	int rc_d = cli_run(&by_db, "leaderboard --db %s/merilo.db", tmp);
	is_int(rc_f, 0, "leaderboard of the folders: exit 0");
	is_int(rc_d, 0, "leaderboard --db: exit 0");
	ok(by_folder && by_db && !strcmp(by_folder, by_db), "the same leaderboard, groups and all");
	like(by_db, "1 group of comparable runs", "one group");
	free(by_folder);
	free(by_db);
	CLI_EXPECT(2, "not both", "folders and --db together", "leaderboard --db %s/merilo.db %s/r1", tmp, tmp);
}

/* db add of a third run, SIGKILLed while it pauses inside its transaction. */
static void t_killed_add(void)
{
	char db[400], err_log[400], r3[400];
	snprintf(db, sizeof db, "%s/merilo.db", tmp);
	snprintf(err_log, sizeof err_log, "%s/add.err", tmp);
	snprintf(r3, sizeof r3, "%s/r3", tmp);
	/* another results.json (a trailing newline more: another sha256), same items */
	ok(cli_sh(NULL, "cp -r %s/r2 %s && echo >> %s/results.json", tmp, r3, r3) == 0, "a third run folder");
	pid_t pid = fork();
	if (pid == 0) {
		setenv("MERILO_TEST_DB_PAUSE_MS", "60000", 1);
		if (!freopen("/dev/null", "w", stdout) || !freopen(err_log, "w", stderr))
			_exit(127);
		execl(getenv("MERILO"), "merilo", "db", "add", r3, "--db", db, (char *)NULL);
		_exit(127);
	}
	ok(spawn_wait_nonempty(err_log), "db add is inside its transaction");
	char *log = cli_slurp(err_log);
	like(log, "pausing", "it says so");
	free(log);
	CLI_EXPECT(0, "2 runs in", "a reader meanwhile (WAL) sees the committed runs", "db list --db %s", db);
	kill(pid, SIGKILL);
	int sig = 0;
	spawn_wait(pid, &sig);
	is_int(sig, SIGKILL, "db add was killed");
	CLI_EXPECT(0, "2 runs in", "after the kill: the database opens and holds only the complete runs",
		   "db list --db %s", db);
	sqlite3 *h = NULL;
	char *check = NULL;
	if (sqlite3_open(db, &h) == SQLITE_OK) {
		sqlite3_stmt *st = NULL;
		if (sqlite3_prepare_v2(h, "PRAGMA integrity_check", -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
			check = strdup((const char *)sqlite3_column_text(st, 0));
		sqlite3_finalize(st);
	}
	sqlite3_close(h);
	is_str(check, "ok", "SQLite's integrity check passes");
	free(check);
	CLI_EXPECT(0, "added ", "adding the run again works", "db add %s --db %s", r3, db);
}

/* Three `db add` at once into a new database: the busy timeout makes each
 * writer wait for the others (and the schema is made once). */
static void t_concurrent_writers(void)
{
	char *out = NULL, *list = NULL;
	const char *m = getenv("MERILO");
	/* ten new databases, three writers each: the race for the first switch to WAL
	 * lost one writer in about one try of seven before journal_wal retried it */
	int rc = cli_sh(&out, "cd %s && for i in 0 1 2 3 4 5 6 7 8 9; do for r in r1 r2 r3; do "
			"('%s' db add $r --db w$i.db -q; echo \"exit=$?\") & done; wait; done",
			tmp, m);
	is_int(rc, 0, "the shell ran them");
	size_t n_ok = 0;
	for (const char *p = out; p && (p = strstr(p, "exit=0")); p++)
		n_ok++;
	is_int((int)n_ok, 30, "all thirty exit 0");
	if (n_ok != 30)
		diag("%s", out);
	free(out);
	rc = cli_run(&list, "db list --db %s/w9.db", tmp);
	is_int(rc, 0, "the database opens");
	like(list, "3 runs in", "and holds all three runs");
	free(list);
}

static int store_faster(const char *json_path, const char *db_path, const char *label, double speedup, int copies);

/* bench --db stores records; bench --baseline-db gates this model against them, and
 * refuses records of another model (dim 256, 8 layers: it used to "fail" or pass
 * against the small model's records) before measuring. The gate's verdict is checked
 * against records made 50x slower than this machine (a pass whatever its load);
 * whether a real slowdown fails is t_bench_confirm's and tests/hrn_bench_hist.c's. */
static void t_bench_history(void)
{
	static const char bench[] = "bench -p 16 -n 4 -r 3 --warmup 1 -t 1 --format json";
	char *out = NULL;
	int fails = 0;
	for (int i = 0; i < 3; i++) {
		fails += cli_run(&out, "%s --model %s/m.gguf --db %s/bench.db --db-label main -o %s/hist.json", bench, tmp,
				 tmp, tmp) != 0 ||
			 !strstr(out, "stored in");
		free(out);
	}
	is_int(fails, 0, "three bench records stored (label main)");
	char hist[300], bench_db[300];
	snprintf(hist, sizeof hist, "%s/hist.json", tmp);
	snprintf(bench_db, sizeof bench_db, "%s/bench.db", tmp);
	ok(store_faster(hist, bench_db, "slow", 1.0 / 50, 3) == 0, "three records 50x slower stored (label slow)");
	ok(cli_run(NULL, "synth --preset tiny --dim 256 --layers 8 -o %s/big.gguf", tmp) == 0, "a bigger model");
	int rc = cli_run(&out, "%s --model %s/big.gguf --baseline-db %s/bench.db --db-label main -o %s/big.json", bench,
			 tmp, tmp, tmp);
	is_int(rc, 3, "another model's records are no baseline: exit 3");
	like(out, "0 of the last 3 bench records labelled main are of this run's model", "says none matches");
	like(out, "records 1-3 are of another model (sha256 ", "says which records and what differs");
	char path[300];
	snprintf(path, sizeof path, "%s/big.json", tmp);
	ok(access(path, F_OK) != 0, "refused before measuring: no record written");
	free(out);
	rc = cli_run(&out, "%s --model %s/m.gguf --baseline-db %s/bench.db --db-label slow", bench, tmp, tmp);
	is_int(rc, 0, "the same model is gated against them: faster than records 50x slower, exit 0");
	like(out, "against the last 3 stored records (3 of this model, CPU, backend and KV cache)",
	     "the baseline is the 3 stored records");
	like(out, "decode", "a decode row");
	free(out);
	rc = cli_run(&out, "bench -p 16,8 -n 4 -r 3 --warmup 1 -t 1 --format json --model %s/m.gguf --baseline-db %s/bench.db "
			   "--db-label slow", tmp, tmp);
	is_int(rc, 0, "a test with no stored runs beside gated ones: the others pass, exit 0");
	like(out, "merilo bench: not gated, fewer than 3 stored runs of them (or no samples in this run): pp8 (1 thread), "
		  "pp8+tg4 (1 thread)",
	     "the tests it does not gate are named (they were left out silently)");
	free(out);
	CLI_EXPECT(3, "0 bench records labelled other stored; the gate needs 3", "a label with no records",
		   "%s --model %s/m.gguf --baseline-db %s/bench.db --db-label other", bench, tmp, tmp);
	CLI_EXPECT(2, "--last", "--last below 3", "%s --model %s/m.gguf --baseline-db %s/bench.db --last 2", bench, tmp,
		   tmp);
}

/* The bench record at json_path made `speedup` times faster (tokens/s times it,
 * TTFT divided by it: every figure of the series), stored `copies` times in
 * db_path under label. 0 or -1. */
static int store_faster(const char *json_path, const char *db_path, const char *label, double speedup, int copies)
{
	static const char *const fields[] = { "mean", "sd", "median", "min", "max", "p50", "p90", "p99" };
	json_t *doc = json_load_file(json_path, 0, NULL), *res;
	size_t i;
	json_array_foreach(json_object_get(doc, "results"), i, res) {
		for (int k = 0; k < 2; k++) {
			json_t *s = json_object_get(json_object_get(res, "series"), k ? "ttft_ms" : "tokens_per_s"), *v;
			const double f = k ? 1 / speedup : speedup;
			for (size_t j = 0; s && j < sizeof fields / sizeof fields[0]; j++)
				if (json_is_number(json_object_get(s, fields[j])))
					json_object_set_new(s, fields[j], json_real(f * json_number_value(json_object_get(s, fields[j]))));
			size_t n;
			json_array_foreach(json_object_get(s, "samples"), n, v)
				json_array_set_new(json_object_get(s, "samples"), n, json_real(f * json_number_value(v)));
		}
	}
	char *text = doc ? json_dumps(doc, 0) : NULL;
	struct rec_db *db = NULL;
	struct mrl_err err = { 0 };
	int rc = text ? rec_db_open(db_path, REC_DB_CREATE, &db, &err) : -1;
	for (int c = 0; !rc && c < copies; c++)
		rc = rec_db_add_bench(db, text, label, NULL, &err);
	if (rc)
		diag("store_faster: %s", text ? err.msg : "cannot read the record");
	rec_db_close(db);
	free(text);
	json_decref(doc);
	return rc ? -1 : 0;
}

/* bench --baseline-db measures a worse test again before failing it (--confirm,
 * default 2): against records 50x faster than this machine, every test is worse
 * each time, so the gate fails after measuring each worse test twice more; with
 * --confirm 0 the first measurement decides; the record is stored with --db all
 * the same. Whether a noisy run then passes is tests/hrn_bench_hist.c's. */
static void t_bench_confirm(void)
{
	static const char bench[] = "bench -p 16 -n 4 -r 2 --warmup 1 -t 1 --energy-window 0 --format json";
	char *out = NULL;
	int rc = cli_run(&out, "%s --model %s/m.gguf -o %s/rec.json", bench, tmp, tmp);
	is_int(rc, 0, "a bench record");
	free(out);
	char rec[300], fast[300];
	snprintf(rec, sizeof rec, "%s/rec.json", tmp);
	snprintf(fast, sizeof fast, "%s/fast.db", tmp);
	ok(store_faster(rec, fast, "main", 50, 3) == 0, "the record 50x faster, stored 3 times");
	rc = cli_run(&out, "%s --model %s/m.gguf --baseline-db %s --db-label main --db %s/after.db -o %s/cand.json", bench,
		     tmp, fast, tmp, tmp);
	is_int(rc, 1, "50x slower than the stored runs: exit 1");
	like(out, "pp16 at 1 thread is worse than the stored runs", "says the test is worse");
	like(out, "measuring it again (1 of at most 2)", "measures it again");
	like(out, "measuring it again (2 of at most 2)", "twice");
	like(out, "FAIL (worse 3 times; last ratio 0.0", "and fails it, naming the last measurement's ratio");
	like(out, "tg4@d0", "the decode row");
	like(out, "pp16+tg4", "the request row");
	ok(!strstr(out, "no clear change") && !strstr(out, "pass ("), "no row passes");
	like(out, "stored in", "the record is stored with --db all the same");
	free(out);
	rc = cli_run(&out, "%s --model %s/m.gguf --baseline-db %s --db-label main --confirm 0", bench, tmp, fast);
	is_int(rc, 1, "--confirm 0: exit 1");
	ok(!strstr(out, "measuring it again"), "nothing measured again");
	like(out, "FAIL (worse)", "the first measurement decides");
	free(out);
	CLI_EXPECT(2, "--confirm", "--confirm beyond 100", "%s --model %s/m.gguf --baseline-db %s --confirm 101", bench,
		   tmp, fast);
}

static void t_bad_input(void)
{
	char path[400];
	char *out = NULL;
	snprintf(path, sizeof path, "%s/text.db", tmp);
	cli_write_file(path, "not a database: a text file long enough to fill SQLite's header of one hundred bytes.....\n");
	int rc = cli_run(&out, "db list --db %s", path);
	is_int(rc, 3, "a text file as the database: exit 3");
	like(out, "text.db: not a merilo history database (not an SQLite database", "one line naming it");
	is_int((int)cli_count_lines(out), 1, "one line");
	free(out);
	snprintf(path, sizeof path, "%s/newer.db", tmp);
	sqlite3 *h = NULL;
	ok(sqlite3_open(path, &h) == SQLITE_OK && sqlite3_exec(h, "PRAGMA user_version = 42", NULL, NULL, NULL) == SQLITE_OK,
	   "a database of schema version 42");
	sqlite3_close(h);
	CLI_EXPECT(3, "newer.db: schema version 42 is newer than this merilo knows", "a newer schema", "db list --db %s",
		   path);
	CLI_EXPECT(3, "/nonexistent/run: no such run folder", "a missing run folder", "db add /nonexistent/run --db %s/x.db",
		   tmp);
	snprintf(path, sizeof path, "%s/x.db", tmp);
	ok(cli_file_size(path) < 0, "and no database is made for it");
	CLI_EXPECT(3, "no such database", "db list of a missing database", "db list --db %s/none.db", tmp);
	CLI_EXPECT(2, "not a db subcommand", "an unknown subcommand", "db frobnicate");
}

/* The checksum of a file, to see that a command left it as it was. */
static char *cksum(const char *path)
{
	char *out = NULL;
	cli_sh(&out, "cksum < '%s'", path);
	return out;
}

/* A file that is not a merilo database is refused by readers and writers alike,
 * exit 3, and left as it was; readers never create one (db list and db show turned
 * an empty file into a 64 KiB database and said "0 runs"). */
static void t_not_a_database(void)
{
	char path[400], sq[400], *out = NULL;
	snprintf(path, sizeof path, "%s/empty.db", tmp);
	cli_write_file(path, "");
	CLI_EXPECT(3, "empty.db: not a merilo history database (an empty file)", "db list of an empty file",
		   "db list --db %s", path);
	CLI_EXPECT(3, "empty.db: not a merilo history database (an empty file)", "db show of an empty file",
		   "db show abcd --db %s", path);
	CLI_EXPECT(3, "empty.db: not a merilo history database (an empty file)", "db add into an empty file",
		   "db add %s/r1 --db %s", tmp, path);
	CLI_EXPECT(3, "empty.db: not a merilo history database (an empty file)", "db baseline set in an empty file",
		   "db baseline set main r1 --db %s", path);
	CLI_EXPECT(3, "empty.db: not a merilo history database (an empty file)", "compare --baseline from an empty file",
		   "compare --baseline main %s/r2 --db %s", tmp, path);
	CLI_EXPECT(3, "empty.db: not a merilo history database (an empty file)", "leaderboard --db of an empty file",
		   "leaderboard --db %s", path);
	CLI_EXPECT(3, "empty.db: not a merilo history database (an empty file)", "run --db of an empty file",
		   "run --model %s/m.gguf --suite tasks/suites/demo.json --limit 1 --quiet --out %s/r-empty --db %s", tmp,
		   tmp, path);
	ok(cli_sh(NULL, "test -e %s/r-empty", tmp) != 0, "... refused before the run (it ran to the end first)");
	is_int((int)cli_file_size(path), 0, "the empty file is still empty");
	snprintf(sq, sizeof sq, "%s/other.sqlite", tmp);
	sqlite3 *h = NULL;
	ok(sqlite3_open(sq, &h) == SQLITE_OK && sqlite3_exec(h, "CREATE TABLE t(x)", NULL, NULL, NULL) == SQLITE_OK,
	   "an SQLite database of another program");
	sqlite3_close(h);
	char *before = cksum(sq);
	CLI_EXPECT(3, "other.sqlite: not a merilo history database (an SQLite database without merilo's tables)",
		   "db list of another program's SQLite database", "db list --db %s", sq);
	CLI_EXPECT(3, "other.sqlite: not a merilo history database", "db add into another program's SQLite database",
		   "db add %s/r1 --db %s", tmp, sq);
	char *after = cksum(sq);
	is_str(after, before, "which is left as it was");
	free(before), free(after);
	snprintf(path, sizeof path, "%s/merilo.db", tmp);
	before = cksum(path);
	int rc = cli_run(&out, "db list --db %s && '%s' db show r1 --db %s", path, cli_merilo(), path);
	is_int(rc, 0, "db list and db show of the real database");
	free(out);
	after = cksum(path);
	is_str(after, before, "read it without changing a byte");
	free(before), free(after);
	/* the temporary file a new database is built in does not stay */
	rc = cli_run(NULL, "db add %s/r1 --db %s/fresh.db --quiet", tmp, tmp);
	is_int(rc, 0, "db add into a new database");
	rc = cli_sh(&out, "ls %s | grep -c 'fresh.db.new'", tmp);
	is_str(out, "0\n", "no temporary file left beside it");
	free(out);
}

/* bench checks its databases before measuring: a wrong --baseline-db or --db
 * found only after the table was printed wasted the whole run. */
static void t_bench_checks_first(void)
{
	static const char bench[] = "bench -p 8 -n 2 -r 1 --warmup 0 -t 1";
	char *out = NULL, path[400];
	int rc = cli_run(&out, "%s --model %s/m.gguf --baseline-db %s/nonexist.db", bench, tmp, tmp);
	is_int(rc, 3, "bench --baseline-db of a missing database: exit 3");
	like(out, "nonexist.db: no such database", "naming it");
	ok(!strstr(out, "| pp8 |") && !strstr(out, "t/s"), "before anything is measured");
	free(out);
	snprintf(path, sizeof path, "%s/empty-bench.db", tmp);
	cli_write_file(path, "");
	rc = cli_run(&out, "%s --model %s/m.gguf --db %s", bench, tmp, path);
	is_int(rc, 3, "bench --db of an existing file that is not a merilo database: exit 3");
	like(out, "empty-bench.db: not a merilo history database (an empty file)", "naming it");
	ok(!strstr(out, "| pp8 |") && !strstr(out, "t/s"), "before anything is measured");
	is_int((int)cli_file_size(path), 0, "and the file is left empty");
	free(out);
	rc = cli_run(&out, "%s --model %s/m.gguf --baseline-db %s/merilo.db", bench, tmp, tmp);
	is_int(rc, 3, "bench --baseline-db of a database without 3 bench records: exit 3");
	like(out, "0 bench records stored; the gate needs 3", "says so");
	ok(!strstr(out, "| pp8 |"), "before anything is measured");
	free(out);
}

/* The messages of db add and db show say what is wrong with the argument. */
static void t_arg_messages(void)
{
	char *out = NULL;
	int rc = cli_run(&out, "db add %s/r1/results.json --db %s/merilo.db", tmp, tmp);
	is_int(rc, 0, "db add RUN/results.json: taken as its folder (as compare and leaderboard take it)");
	like(out, "already recorded: ", "the same run as the folder r1");
	free(out);
	CLI_EXPECT(3, "r1/run.json: a file, not a run folder (give the folder that holds results.json",
		   "db add of another file says it is a file", "db add %s/r1/run.json --db %s/merilo.db", tmp, tmp);
	CLI_EXPECT(3, "a run id prefix needs at least 4 hex digits", "db show of a 3-digit prefix says why",
		   "db show 0b5 --db %s/merilo.db", tmp);
}

/* A database that cannot be created is an output not written, exit 4 (it was exit
 * 3, as bad input); run --db finds it before the run (it ran to the end first,
 * then said its results were kept). */
static void t_unwritable(void)
{
	CLI_EXPECT(4, "/proc/merilo-x.db: cannot create the database", "db add --db /proc/merilo-x.db: exit 4",
		   "db add %s/r1 --db /proc/merilo-x.db", tmp);
	char *out = NULL, path[400];
	int rc = cli_run(&out, "run --model %s/m.gguf --suite tasks/suites/demo.json --limit 1 --threads 2 --boot 200 "
			       "--quiet --out %s/r4 --db /proc/merilo-x.db", tmp, tmp);
	is_int(rc, 4, "run --db /proc/merilo-x.db: exit 4");
	like(out, "/proc/merilo-x.db: cannot create the database", "the message names the database");
	is_int((int)cli_count_lines(out), 1, "one error line");
	free(out);
	ok(cli_sh(NULL, "test -e %s/r4", tmp) != 0, "... before the run: no run folder (it ran to the end first)");
	CLI_EXPECT(4, "/proc/merilo-x.db: cannot create the database", "bench --db /proc/merilo-x.db: exit 4, before measuring",
		   "bench -m %s/m.gguf -p 4 -n 2 -r 1 --db /proc/merilo-x.db", tmp);
	/* a database in a folder that does not exist yet: the folders are made, as every command's */
	rc = cli_run(NULL, "db add %s/r1 --db %s/new/dir/h.db --quiet", tmp, tmp);
	is_int(rc, 0, "db add --db new/dir/h.db: exit 0");
	snprintf(path, sizeof path, "%s/new/dir/h.db", tmp);
	ok(cli_file_size(path) > 0, "new/dir/h.db is made");
}

/* A small disk (a tmpfs in the test's own mount namespace; skipped where none can
 * be mounted): db add into a new database on a disk that fills is exit 4 saying so,
 * leaves no half-made database and no DB.new-* files, and works once there is room
 * (before: exit 3 "reading: disk I/O error", then "database disk image is malformed"
 * forever, at every size from 104 to 160 KiB). Then the same database on the tmpfs
 * remounted read-only: every reader reads it (before: exit 3 "reading: unable to
 * open database file"), a writer is exit 4 naming it. */
static void t_small_and_read_only_disk(void)
{
	static const int sizes_kib[] = { 104, 128, 160 };
	char mnt[400], opts[32], why[256], *out = NULL, *files = NULL;
	snprintf(mnt, sizeof mnt, "%s/disk", tmp);
	if (mkdir(mnt, 0700) != 0) {
		test_skip("cannot make the mount point");
		return;
	}
	for (size_t i = 0; i < sizeof sizes_kib / sizeof sizes_kib[0]; i++) {
		snprintf(opts, sizeof opts, "size=%dk", sizes_kib[i]);
		if (cli_mount_tmpfs(mnt, opts, why, sizeof why) != 0) {
			char reason[320];
			snprintf(reason, sizeof reason, "no small disk to try: %s", why);
			test_skip(reason);
			return;
		}
		int rc = cli_run(&out, "db add %s/r1 --db %s/h.db", tmp, mnt);
		diag("%d KiB: %s", sizes_kib[i], out ? out : "");
		is_int(rc, 4, "db add into a new database on a full disk: exit 4");
		like(out, "/disk/h.db", "naming the database");
		like(out, "full", "saying the disk is full");
		is_int((int)cli_count_lines(out), 1, "in one line");
		free(out);
		cli_sh(&files, "ls %s", mnt);
		ok(files && !strstr(files, ".new-"), "no DB.new-* file left");
		free(files);
		ok(cli_sh(NULL, "test ! -e %s/h.db || sqlite3 %s/h.db 'PRAGMA integrity_check' 2>/dev/null | grep -qx ok || "
				"! command -v sqlite3 >/dev/null", mnt, mnt) == 0, "no malformed database at the path");
		ok(mount(NULL, mnt, NULL, MS_REMOUNT, "size=10m") == 0, "room made");
		CLI_EXPECT(0, "added ", "db add works once there is room", "db add %s/r1 %s/r2 --db %s/h.db", tmp, tmp, mnt);
		if (i + 1 < sizeof sizes_kib / sizeof sizes_kib[0])
			umount2(mnt, MNT_DETACH);
	}
	char *by_folder = NULL, *by_db = NULL, path[512];
	CLI_EXPECT(0, "baseline main", "db baseline set", "db baseline set main %s/r1 --db %s/h.db", tmp, mnt);
	ok(cli_remount_ro(mnt) == 0, "the disk remounted read-only");
	CLI_EXPECT(0, "2 runs in", "db list on a read-only filesystem", "db list --db %s/h.db", mnt);
	snprintf(path, sizeof path, "%s/r1/results.json", tmp);
	char *file = cli_slurp(path);
	is_int(cli_run(&out, "db show r1 --db %s/h.db", mnt), 0, "db show: exit 0");
	ok(file && out && !strcmp(out, file), "results.json byte for byte");
	free(out), free(file);
	int rc_f = cli_run(&by_folder, "compare %s/r1 %s/r2", tmp, tmp);
	int rc_d = cli_run(&by_db, "compare --baseline main %s/r2 --db %s/h.db", tmp, mnt);
	is_int(rc_d, rc_f, "compare --baseline: the exit code of comparing the folders");
	ok(by_folder && by_db && !strcmp(by_folder, by_db), "the same output");
	free(by_folder), free(by_db);
	CLI_EXPECT(0, "1 group of comparable runs", "leaderboard --db", "leaderboard --db %s/h.db", mnt);
	CLI_EXPECT(4, "/disk/h.db: cannot write the database: Read-only file system", "a writer: exit 4 naming it",
		   "db baseline set other %s/r2 --db %s/h.db", tmp, mnt);
	umount2(mnt, MNT_DETACH);
}

static void t_help(void)
{
	CLI_EXPECT(0, "usage: merilo db add RUN_DIR", "db add --help", "db add --help");
	CLI_EXPECT(0, "usage: merilo db list", "db list --help", "db list --help");
	CLI_EXPECT(0, "  --json ", "db list --help names --json", "db list --help");
	CLI_EXPECT(0, "usage: merilo db show RUN", "db show --help", "db show --help");
	CLI_EXPECT(0, "usage: merilo db baseline set NAME RUN", "db baseline --help", "db baseline --help");
	CLI_EXPECT(0, "merilo db show RUN", "db --help", "db --help");
	CLI_EXPECT(0, "--baseline NAME", "compare --help names --baseline", "compare --help");
	CLI_EXPECT(0, "--db PATH", "leaderboard --help names --db", "leaderboard --help");
	CLI_EXPECT(0, "--db PATH", "run --help names --db", "run --help");
	CLI_EXPECT(0, "--db PATH", "bench --help names --db", "bench --help");
}

int main(void)
{
	if (!cli_merilo()) {
		skip_all("MERILO is not set to an executable merilo (run via make test)");
		return 0;
	}
	if (!cli_tmpdir(tmp, sizeof tmp, "hrn-db")) {
		skip_all("cannot make a temporary folder");
		return 0;
	}
	TEST(t_help(), "every db subcommand and each --db option has --help");
	if (make_runs()) {
		ok(0, "two small runs");
		cli_rmtree(tmp);
		return done_testing();
	}
	TEST(t_add(), "run --db and db add record runs beside them, once");
	TEST(t_show(), "db show prints results.json byte for byte");
	TEST(t_compare_baseline(), "compare --baseline equals comparing the folders, without the base folder");
	TEST(t_list_json(), "db list --json: the table's fields as one JSON document");
	TEST(t_leaderboard(), "leaderboard --db equals the leaderboard of the folders");
	TEST(t_killed_add(), "a db add SIGKILLed inside its transaction leaves the database as it was");
	TEST(t_concurrent_writers(), "three db add at once into a new database all succeed (busy timeout)");
	TEST(t_bench_history(), "bench --db stores records; bench --baseline-db gates against the last N");
	TEST(t_bench_confirm(), "bench --baseline-db measures a worse test again before failing it (--confirm)");
	TEST(t_bad_input(), "bad databases and run folders: one line naming them, exit 3");
	TEST(t_not_a_database(), "a file that is not a merilo database: refused by readers and writers, left as it was");
	TEST(t_bench_checks_first(), "bench checks --baseline-db and --db before measuring");
	TEST(t_arg_messages(), "db add RUN/results.json is taken; db add FILE and a short prefix say what is wrong");
	TEST(t_unwritable(), "a database that cannot be created: exit 4, found before run and bench do their work");
	TEST(t_small_and_read_only_disk(), "a full disk: exit 4, no half-made database; a read-only one: readers read it");
	cli_rmtree(tmp);
	return done_testing();
}
