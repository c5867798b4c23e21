/* run.h — loading a run folder as `merilo run` left it: results.json,
 * items.jsonl and run.json (the options and hashes a --resume checks against).
 * compare, report, leaderboard and run --resume all load runs through
 * rec_run_load, each asking for the parts it needs.
 */
#ifndef MRL_REC_RUN_H
#define MRL_REC_RUN_H

#include <jansson.h>
#include <limits.h>
#include <stdbool.h>

#include "common/err.h"
#include "records/items.h"
#include "records/results.h"

/* The parts of a run to load (or'ed). */
enum rec_run_part {
	REC_RUN_RESULTS = 1 << 0,          /* results.json (strict) */
	REC_RUN_ITEMS = 1 << 1,            /* items.jsonl (strict; absent is an error) */
	REC_RUN_ITEMS_IF_PRESENT = 1 << 2, /* items.jsonl when the file exists (have_items says) */
	REC_RUN_ITEMS_LENIENT = 1 << 3,    /* with an items part: bad lines are left out and listed */
	REC_RUN_JSON = 1 << 4,             /* run.json, as a JSON object */
	REC_RUN_BENCH = 1 << 5,            /* the bench record's text (bench.json, else bench.jsonl), when there is one */
};

/* A loaded run. Parts not asked for stay empty (results initialised, items zeroed). */
struct rec_run {
	char dir[PATH_MAX];          /* the run folder */
	char results_path[PATH_MAX]; /* dir/results.json, or the file given */
	char items_path[PATH_MAX];   /* dir/items.jsonl */
	char json_path[PATH_MAX];    /* dir/run.json */
	struct rec_results results;
	struct rec_items items;
	bool have_items;             /* items were read (always so with REC_RUN_ITEMS) */
	json_t *run_json;            /* REC_RUN_JSON: owned reference */
	char *bench_text;            /* REC_RUN_BENCH: the bench record as written (malloc'd), NULL when none */
	size_t bench_len;
	char bench_path[PATH_MAX];   /* where it was read (dir/bench.json, dir/bench.jsonl or DB: run ID) */
};

/* Load the parts of the run at arg (a run folder, or its results.json) into
 * *run (initialised first; release it with rec_run_release even on failure).
 * Errors are those of the readers (rec_results_read, rec_items_read, ...),
 * naming the file; a path too long is MRL_EINPUT naming arg; run.json that
 * cannot be opened is MRL_EIO "PATH: cannot open: REASON", one that is not
 * valid JSON MRL_EINPUT "PATH: WHAT (line N)". */
int rec_run_load(const char *arg, unsigned parts, struct rec_run *run, struct mrl_err *err);

#define REC_RUN_BENCH_MAX_BYTES ((size_t)256 << 20) /* a bench record's cap, as the bench reader's */

/* The run folder arg names: arg itself when it is a folder, or the folder of arg when
 * it is a file named results.json (compare, leaderboard, merge, report and db add take
 * either). Any other file is MRL_EINPUT ("a file, not a run folder"), a missing path
 * MRL_EIO ("no such run folder"). */
int rec_run_folder(const char *arg, char *folder, size_t size, struct mrl_err *err);

/* The bench record of the run folder dir (bench.json, else bench.jsonl) into
 * run->bench_text / bench_len / bench_path; none leaves bench_text NULL. 0, or the
 * reader's error naming the file. */
int rec_run_read_bench(const char *dir, struct rec_run *run, struct mrl_err *err);

/* Free everything run owns and zero it. */
void rec_run_release(struct rec_run *run);

#endif
