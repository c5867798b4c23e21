/* run.c — one loader for a run folder (run.h): the folder's file names, then
 * each part asked for through its own reader, so that every command that
 * reads runs gets the same checks and the same messages.
 */
#include "records/run.h"

#include "common/fileio.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The folder of arg: arg itself, or the folder holding arg when it is a file. */
static int run_dir(const char *arg, char *dir, size_t size, bool *is_file)
{
	struct stat sb;
	*is_file = stat(arg, &sb) == 0 && S_ISREG(sb.st_mode);
	if (!*is_file)
		return (size_t)snprintf(dir, size, "%s", arg) >= size ? -1 : 0;
	const char *slash = strrchr(arg, '/');
	if (!slash)
		return (size_t)snprintf(dir, size, ".") >= size ? -1 : 0;
	return (size_t)snprintf(dir, size, "%.*s", (int)(slash - arg), arg) >= size ? -1 : 0;
}

int rec_run_folder(const char *arg, char *folder, size_t size, struct mrl_err *err)
{
	struct stat sb;
	if (stat(arg, &sb) != 0)
		return mrl_err_set(err, MRL_EIO, "%s: no such run folder", arg);
	const char *slash = strrchr(arg, '/'), *base = slash ? slash + 1 : arg;
	if (!S_ISDIR(sb.st_mode) && (!S_ISREG(sb.st_mode) || strcmp(base, "results.json")))
		return mrl_err_set(err, MRL_EINPUT, "%s: a file, not a run folder (give the folder that holds "
				   "results.json, or its results.json)", arg);
	const int len = S_ISDIR(sb.st_mode) ? snprintf(folder, size, "%s", arg)
			: !slash		? snprintf(folder, size, ".")
						: snprintf(folder, size, "%.*s", slash == arg ? 1 : (int)(slash - arg), arg);
	if (len < 0 || (size_t)len >= size)
		return mrl_err_set(err, MRL_EINPUT, "%s: path too long", arg);
	return 0;
}

static int run_paths(const char *arg, struct rec_run *run)
{
	bool is_file;
	size_t size = sizeof run->dir;
	if (run_dir(arg, run->dir, size, &is_file))
		return -1;
	size_t n = strlen(run->dir);
	const char *sep = n && run->dir[n - 1] == '/' ? "" : "/"; /* "runs/a/" + "run.json", without "//" */
	if ((size_t)snprintf(run->results_path, size, "%s%s%s", is_file ? arg : run->dir, is_file ? "" : sep,
			     is_file ? "" : "results.json") >= size ||
	    (size_t)snprintf(run->items_path, size, "%s%sitems.jsonl", run->dir, sep) >= size ||
	    (size_t)snprintf(run->json_path, size, "%s%srun.json", run->dir, sep) >= size)
		return -1;
	return 0;
}

/* run.json as a JSON value; a file that cannot be opened is MRL_EIO, one that does
 * not parse MRL_EINPUT with its line where the parser knows one. */
static int load_run_json(struct rec_run *run, struct mrl_err *err)
{
	FILE *f = mrl_fopen_read(run->json_path);
	if (!f)
		return mrl_err_set(err, MRL_EIO, "%s: cannot open: %s", run->json_path, strerror(errno));
	json_error_t je;
	run->run_json = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	fclose(f);
	if (run->run_json)
		return 0;
	if (je.line > 0)
		return mrl_err_set(err, MRL_EINPUT, "%s: %s (line %d)", run->json_path, je.text, je.line);
	return mrl_err_set(err, MRL_EINPUT, "%s: %s", run->json_path, je.text);
}

static int load_items(struct rec_run *run, unsigned parts, struct mrl_err *err)
{
	struct stat sb;
	if (!(parts & (REC_RUN_ITEMS | REC_RUN_ITEMS_IF_PRESENT)))
		return 0;
	if (!(parts & REC_RUN_ITEMS) && stat(run->items_path, &sb) != 0)
		return 0;
	run->have_items = true;
	if (parts & REC_RUN_ITEMS_LENIENT)
		return rec_items_read_lenient(run->items_path, &run->items, err);
	return rec_items_read(run->items_path, &run->items, err);
}

int rec_run_load(const char *arg, unsigned parts, struct rec_run *run, struct mrl_err *err)
{
	memset(run, 0, sizeof *run);
	rec_results_init(&run->results);
	if (run_paths(arg, run))
		return mrl_err_set(err, MRL_EINPUT, "%s: path too long", arg);
	int rc = 0;
	if ((parts & REC_RUN_RESULTS) && (rc = rec_results_read(run->results_path, &run->results, err)))
		return rc;
	if ((rc = load_items(run, parts, err)))
		return rc;
	if ((parts & REC_RUN_JSON) && (rc = load_run_json(run, err)))
		return rc;
	if (parts & REC_RUN_BENCH)
		return rec_run_read_bench(run->dir, run, err);
	return 0;
}

int rec_run_read_bench(const char *dir, struct rec_run *run, struct mrl_err *err)
{
	struct stat sb;
	const size_t n = strlen(dir);
	const char *sep = n && dir[n - 1] == '/' ? "" : "/";
	for (int k = 0; k < 2; k++) {
		if ((size_t)snprintf(run->bench_path, sizeof run->bench_path, "%s%s%s", dir, sep,
				     k ? "bench.jsonl" : "bench.json") >= sizeof run->bench_path)
			return mrl_err_set(err, MRL_EINPUT, "%s: path too long", dir);
		if (stat(run->bench_path, &sb) == 0)
			return mrl_read_file(run->bench_path, REC_RUN_BENCH_MAX_BYTES, &run->bench_text, &run->bench_len, err);
	}
	run->bench_path[0] = '\0';
	return 0;
}

void rec_run_release(struct rec_run *run)
{
	rec_results_release(&run->results);
	rec_items_release(&run->items);
	json_decref(run->run_json);
	free(run->bench_text);
	memset(run, 0, sizeof *run);
}
