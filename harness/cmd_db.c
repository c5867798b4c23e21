/* cmd_db.c — `merilo db add|list|show|baseline`: the run history in SQLite
 * (docs/history.md; the library is records/db.h). Runs go in whole and keyed
 * by the sha256 of their results.json, so adding one twice is harmless and
 * says so; `db show` prints the stored results.json as it was; a baseline is
 * a name for a stored run that `merilo compare --baseline NAME` reads without
 * its folder. The default database is merilo.db beside the runs (history.h).
 *
 * MERILO_TEST_DB_PAUSE_MS (tests only): `db add` says so on stderr and sleeps
 * that long inside each run's transaction, so a test can kill it there.
 */
#include "harness/hrn.h"
#include "common/fileio.h"
#include "harness/history.h"
#include "records/db.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

int hrn_db_default_path(const char *run_dir, char out[PATH_MAX], struct mrl_err *err)
{
	char real[PATH_MAX];
	if (!run_dir)
		return (snprintf(out, PATH_MAX, "%s", HRN_DB_DEFAULT_NAME), 0);
	const char *dir = realpath(run_dir, real) ? real : run_dir;
	const char *slash = strrchr(dir, '/');
	int n = !slash ? snprintf(out, PATH_MAX, "%s", HRN_DB_DEFAULT_NAME)
		       : snprintf(out, PATH_MAX, "%.*s/%s", (int)(slash - dir), dir, HRN_DB_DEFAULT_NAME);
	if (n < 0 || n >= PATH_MAX)
		return mrl_err_set(err, MRL_EINPUT, "%s: path too long", run_dir);
	return 0;
}

static void pause_hook(void *arg)
{
	long ms = *(const long *)arg;
	fprintf(stderr, "merilo db add: pausing %ld ms inside the transaction (MERILO_TEST_DB_PAUSE_MS)\n", ms);
	fflush(stderr);
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

int hrn_db_add_runs(const char *db_path, char *const *dirs, size_t n, bool quiet, struct mrl_err *err)
{
	struct rec_db *db = NULL;
	const char *pause = getenv("MERILO_TEST_DB_PAUSE_MS");
	long pause_ms = 0;
	if (pause && hrn_parse_int(pause, 0, 600000, &pause_ms))
		pause_ms = 0;
	char folder[PATH_MAX], real[PATH_MAX], id[REC_DB_ID_LEN + 1];
	int rc = 0;
	for (size_t i = 0; !rc && i < n; i++) /* before the database is made */
		rc = rec_run_folder(dirs[i], folder, sizeof folder, err);
	rc = rc ? rc : mrl_mkdir_parent(db_path, err); /* as every command that writes */
	rc = rc ? rc : rec_db_open(db_path, REC_DB_CREATE, &db, err);
	for (size_t i = 0; !rc && i < n; i++) {
		if ((rc = rec_run_folder(dirs[i], folder, sizeof folder, err)))
			break;
		if (!realpath(folder, real)) {
			rc = mrl_err_set(err, MRL_EIO, "%s: no such run folder", dirs[i]);
			break;
		}
		rc = rec_db_add_run(db, real, pause_ms ? pause_hook : NULL, &pause_ms, id, err);
		if (rc < 0)
			break;
		if (!quiet)
			printf(rc == REC_DB_ITEMS_ADDED ? "added the items of %s to run %.12s in %s (stored before without them)\n"
			       : rc ? "already recorded: %s (run %.12s) in %s; nothing changed\n"
				    : "added %s (run %.12s) to %s\n",
			       dirs[i], id, db_path);
		char items[PATH_MAX + 16];
		struct stat sb;
		snprintf(items, sizeof items, "%s/items.jsonl", real);
		if (stat(items, &sb) != 0 || sb.st_size == 0)
			fprintf(stderr, "merilo db add: warning: %s has no items.jsonl (or an empty one): stored without items, "
				"so compare --baseline cannot pair it; db add the folder again once it has them\n", dirs[i]);
		rc = 0;
	}
	fflush(stdout);
	rec_db_close(db);
	return rc;
}

int hrn_db_load_baseline(const char *db_path, const char *name, unsigned parts, struct rec_run *run,
			 struct mrl_err *err)
{
	struct rec_db *db = NULL;
	char id[REC_DB_ID_LEN + 1];
	memset(run, 0, sizeof *run);
	rec_results_init(&run->results);
	int rc = rec_db_open(db_path, REC_DB_READONLY, &db, err);
	if (!rc && !(rc = rec_db_baseline_get(db, name, id, err)))
		rc = rec_db_load_run(db, id, parts, run, err);
	rec_db_close(db);
	return rc;
}

int hrn_db_add_bench(const char *db_path, const char *label, const char *json_text, bool quiet, struct mrl_err *err)
{
	struct rec_db *db = NULL;
	int64_t row = 0;
	int rc = mrl_mkdir_parent(db_path, err);
	rc = rc ? rc : rec_db_open(db_path, REC_DB_CREATE, &db, err);
	if (!rc)
		rc = rec_db_add_bench(db, json_text, label, &row, err);
	if (!rc && !quiet)
		fprintf(stderr, "merilo bench: record %lld stored in %s%s%s\n", (long long)row, db_path, label ? " as " : "",
			label ? label : "");
	rec_db_close(db);
	return rc;
}

int hrn_db_runs_open(const char *path, struct hrn_db_runs *r, struct mrl_err *err)
{
	memset(r, 0, sizeof *r);
	int rc = rec_db_open(path, REC_DB_READONLY, &r->db, err);
	if (!rc)
		rc = rec_db_list(r->db, NULL, NULL, &r->infos, &r->n, err);
	if (!rc && !r->n)
		rc = mrl_err_set(err, MRL_EINPUT, "%s: no runs stored (merilo db add RUN_DIR...)", path);
	if (!rc && !(r->dirs = calloc(r->n, sizeof *r->dirs)))
		rc = mrl_err_set(err, MRL_ENOMEM, "out of memory");
	for (size_t i = 0; !rc && i < r->n; i++)
		r->dirs[i] = r->infos[i].dir;
	if (rc)
		hrn_db_runs_close(r);
	return rc;
}

int hrn_db_runs_load(struct hrn_db_runs *r, size_t i, unsigned parts, struct rec_run *run, struct mrl_err *err)
{
	return rec_db_load_run(r->db, r->infos[i].id, parts, run, err);
}

void hrn_db_runs_close(struct hrn_db_runs *r)
{
	rec_db_run_infos_free(r->infos, r->n);
	free(r->dirs);
	rec_db_close(r->db);
	memset(r, 0, sizeof *r);
}

/* ------------------------------------------------------------ subcommands */

static void usage_add(FILE *out, const struct mrl_option *opts)
{
	fprintf(out, "usage: merilo db add RUN_DIR... [--db PATH] [--quiet]\n"
		"Record runs (folders written by 'merilo run', or their results.json) in the history database:\n"
		"results.json as it is, run.json, every item record, the manifest, settings, aggregates, and\n"
		"each item's verdicts and log-likelihoods. One transaction per run; a run already there (same\n"
		"results.json sha256) is left as it is and said so. Default database: merilo.db in the folder\n"
		"that holds the first run (runs/a -> runs/merilo.db); it is created when missing. An existing\n"
		"file that is not a merilo database (an empty file too) is refused and left as it is.\n");
	hrn_print_options(out, opts, 16);
	fprintf(out, "exit codes: 0 recorded (or already there), 2 usage error, 3 a missing or bad run folder or\n"
		"            database (not SQLite, corrupt, newer schema), 4 the database cannot be written\n");
}

static void usage_list(FILE *out, const struct mrl_option *opts)
{
	fprintf(out, "usage: merilo db list [--model M] [--suite S] [--db PATH] [--json]\n"
		"List the stored runs, oldest first: run id (first 12 hex digits), when added, model, suite,\n"
		"items, the folder it was added from, and the baselines that name it. --json prints the same\n"
		"fields as one JSON document (the whole run id; docs/history.md).\n"
		"Default database: ./merilo.db.\n");
	hrn_print_options(out, opts, 16);
	fprintf(out, "exit codes: 0 listed, 2 usage error, 3 a missing or bad database\n");
}

static void usage_show(FILE *out, const struct mrl_option *opts)
{
	fprintf(out, "usage: merilo db show RUN [--db PATH]\n"
		"Print a stored run's results.json, byte for byte as it was added. RUN is a run id or a unique\n"
		"prefix of one (4+ hex digits), or the folder it was added from (its path or its name).\n"
		"Default database: ./merilo.db.\n");
	hrn_print_options(out, opts, 16);
	fprintf(out, "exit codes: 0 printed, 2 usage error, 3 no such run, or a missing or bad database\n");
}

static void usage_baseline(FILE *out, const struct mrl_option *opts)
{
	fprintf(out, "usage: merilo db baseline set NAME RUN [--db PATH]\n"
		"Name a stored run (RUN as for 'db show') as baseline NAME, replacing what NAME named; then\n"
		"'merilo compare --baseline NAME CAND_RUN' compares against it without its folder.\n"
		"Default database: ./merilo.db.\n");
	hrn_print_options(out, opts, 16);
	fprintf(out, "exit codes: 0 set, 2 usage error, 3 no such run, or a missing or bad database\n");
}

static int db_add(int argc, char **argv)
{
	const char *db_path = NULL;
	bool quiet = false;
	const struct mrl_option opts[] = {
		OPT_STRING(0, "db", &db_path, "PATH", "the database (default: merilo.db beside the first run)"),
		OPT_BOOL('q', "quiet", &quiet, "no line per run"),
		OPT_END(),
	};
	int n_args, ret = hrn_options("db add", opts, argc, argv, &n_args, usage_add);
	if (ret != HRN_OPTS_GO)
		return ret;
	if (!n_args)
		return hrn_usage_error("db add", "expected at least one run folder");
	char def[PATH_MAX], first[PATH_MAX];
	struct mrl_err err = { 0 };
	/* beside the first run: runs/a/results.json -> runs/merilo.db, as for runs/a */
	if (!db_path && !rec_run_folder(argv[0], first, sizeof first, &err) && !hrn_db_default_path(first, def, &err))
		db_path = def;
	if ((db_path && hrn_db_add_runs(db_path, argv, (size_t)n_args, quiet, &err)) || !db_path)
		return hrn_report(&err);
	return HRN_EXIT_OK;
}

/* A string member, or null where the database holds none. */
static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* db list --json: the table's fields, one object per run, in one document on stdout. */
static int print_runs_json(const struct rec_db_run_info *runs, size_t n, const char *db_path, struct mrl_err *err)
{
	json_t *doc = json_object(), *arr = json_array();
	json_object_set_new(doc, "database", rec_json_string(db_path));
	json_object_set_new(doc, "runs", arr);
	for (size_t i = 0; i < n; i++) {
		json_t *r = json_object(), *names = json_array();
		json_object_set_new(r, "id", json_string(runs[i].id));
		json_object_set_new(r, "added_utc", str_or_null(runs[i].added_utc));
		json_object_set_new(r, "model", str_or_null(runs[i].model_name));
		json_object_set_new(r, "suite", str_or_null(runs[i].suite_name));
		json_object_set_new(r, "items", json_integer(runs[i].n_items));
		json_object_set_new(r, "folder", str_or_null(runs[i].dir));
		/* the names, comma-separated in runs[i].baselines, become an array */
		for (const char *p = runs[i].baselines; p && *p;) {
			size_t len = strcspn(p, ",");
			json_array_append_new(names, json_stringn(p, len));
			p += len + (p[len] == ',');
		}
		json_object_set_new(r, "baselines", names);
		json_array_append_new(arr, r);
	}
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(doc);
	if (!text)
		return mrl_err_set(err, MRL_ENOMEM, "db list: out of memory");
	printf("%s\n", text);
	free(text);
	return 0;
}

static int db_list(int argc, char **argv)
{
	const char *db_path = HRN_DB_DEFAULT_NAME, *model = NULL, *suite = NULL;
	bool as_json = false;
	const struct mrl_option opts[] = {
		OPT_STRING(0, "model", &model, "M", "only runs whose model name or file contains M"),
		OPT_STRING(0, "suite", &suite, "S", "only runs of suite S (its name)"),
		OPT_STRING(0, "db", &db_path, "PATH", "the database (default ./merilo.db)"),
		OPT_BOOL(0, "json", &as_json, "one JSON document on stdout: database, and per run id, added_utc,\n"
			 "model, suite, items, folder, baselines"),
		OPT_END(),
	};
	int n_args, ret = hrn_options("db list", opts, argc, argv, &n_args, usage_list);
	if (ret != HRN_OPTS_GO)
		return ret;
	if (n_args)
		return hrn_usage_error("db list", "unexpected argument '%s'", argv[0]);
	struct mrl_err err = { 0 };
	struct rec_db *db = NULL;
	struct rec_db_run_info *runs = NULL;
	size_t n = 0;
	int rc = rec_db_open(db_path, REC_DB_READONLY, &db, &err);
	if (!rc)
		rc = rec_db_list(db, model, suite, &runs, &n, &err);
	if (!rc && as_json) {
		rc = print_runs_json(runs, n, db_path, &err);
	} else if (!rc) {
		printf("%-12s  %-20s  %-28s  %-16s  %6s  %s\n", "run", "added (UTC)", "model", "suite", "items", "folder");
		for (size_t i = 0; i < n; i++)
			printf("%-12.12s  %-20s  %-28s  %-16s  %6lld  %s%s%s%s\n", runs[i].id,
			       runs[i].added_utc ? runs[i].added_utc : "-", runs[i].model_name ? runs[i].model_name : "-",
			       runs[i].suite_name ? runs[i].suite_name : "-", (long long)runs[i].n_items,
			       runs[i].dir ? runs[i].dir : "-", runs[i].baselines ? "  (baseline " : "",
			       runs[i].baselines ? runs[i].baselines : "", runs[i].baselines ? ")" : "");
		printf("%zu run%s in %s\n", n, n == 1 ? "" : "s", db_path);
	}
	rec_db_run_infos_free(runs, n);
	rec_db_close(db);
	return rc ? hrn_report(&err) : HRN_EXIT_OK;
}

static int db_show(int argc, char **argv)
{
	const char *db_path = HRN_DB_DEFAULT_NAME;
	const struct mrl_option opts[] = {
		OPT_STRING(0, "db", &db_path, "PATH", "the database (default ./merilo.db)"),
		OPT_END(),
	};
	int n_args, ret = hrn_options("db show", opts, argc, argv, &n_args, usage_show);
	if (ret != HRN_OPTS_GO)
		return ret;
	if (n_args != 1)
		return hrn_usage_error("db show", "expected one run (a run id, or the folder it was added from)");
	struct mrl_err err = { 0 };
	struct rec_db *db = NULL;
	char id[REC_DB_ID_LEN + 1], *text = NULL;
	int rc = rec_db_open(db_path, REC_DB_READONLY, &db, &err);
	if (!rc && !(rc = rec_db_resolve(db, argv[0], id, &err)))
		rc = rec_db_results_text(db, id, &text, &err);
	if (!rc) {
		fputs(text, stdout);
		fflush(stdout);
	}
	free(text);
	rec_db_close(db);
	return rc ? hrn_report(&err) : HRN_EXIT_OK;
}

static int db_baseline(int argc, char **argv)
{
	const char *db_path = HRN_DB_DEFAULT_NAME;
	const struct mrl_option opts[] = {
		OPT_STRING(0, "db", &db_path, "PATH", "the database (default ./merilo.db)"),
		OPT_END(),
	};
	int n_args, ret = hrn_options("db baseline", opts, argc, argv, &n_args, usage_baseline);
	if (ret != HRN_OPTS_GO)
		return ret;
	if (n_args < 1 || strcmp(argv[0], "set"))
		return hrn_usage_error("db baseline", "expected 'set NAME RUN'");
	if (n_args != 3)
		return hrn_usage_error("db baseline", "expected 'set NAME RUN', got %d argument%s after 'set'", n_args - 1,
				       n_args == 2 ? "" : "s");
	if (!*argv[1] || strspn(argv[1], " \t") == strlen(argv[1]))
		return hrn_usage_error("db baseline", "the baseline NAME is empty");
	struct mrl_err err = { 0 };
	struct rec_db *db = NULL;
	char id[REC_DB_ID_LEN + 1];
	int rc = rec_db_open(db_path, 0, &db, &err);
	if (!rc && !(rc = rec_db_resolve(db, argv[2], id, &err)))
		rc = rec_db_baseline_set(db, argv[1], id, &err);
	if (!rc)
		printf("baseline %s = run %.12s in %s\n", argv[1], id, db_path);
	rec_db_close(db);
	return rc ? hrn_report(&err) : HRN_EXIT_OK;
}

static void usage(FILE *out)
{
	fprintf(out, "usage: merilo db add RUN_DIR... [--db PATH]\n"
		"       merilo db list [--model M] [--suite S] [--db PATH]\n"
		"       merilo db show RUN [--db PATH]\n"
		"       merilo db baseline set NAME RUN [--db PATH]\n"
		"The run history: runs (and bench records) in one SQLite database (docs/history.md).\n"
		"'merilo db <subcommand> --help' describes each. Related: 'merilo compare --baseline NAME',\n"
		"'merilo leaderboard --db PATH', 'merilo run --db PATH', 'merilo bench --db PATH'.\n");
}

int hrn_cmd_db(int argc, char **argv)
{
	static const struct {
		const char *name;
		int (*fn)(int argc, char **argv);
	} subs[] = { { "add", db_add }, { "list", db_list }, { "show", db_show }, { "baseline", db_baseline } };
	if (argc < 2) {
		usage(stderr);
		return HRN_EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return HRN_EXIT_OK;
	}
	for (size_t i = 0; i < sizeof subs / sizeof subs[0]; i++)
		if (!strcmp(argv[1], subs[i].name))
			return subs[i].fn(argc - 1, argv + 1);
	return hrn_usage_error("db", "'%s' is not a db subcommand (add, list, show, baseline)", argv[1]);
}
