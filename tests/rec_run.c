/* rec_run.c — the one loader of a run folder (records/run.h): the parts asked
 * for are read through their readers and nothing else is; a folder or its
 * results.json both name the run; items.jsonl can be required, optional or read
 * leniently; run.json is read as JSON; errors name the file.
 */
#include "records/item_writer.h"
#include "records/run.h"
#include "tests/cli.h"
#include "tests/tap.h"

#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>
#include <stdlib.h>
#include <string.h>

static char dir[256];

/* A run folder: results.json with one aggregate, items.jsonl with two items, run.json. */
static int make_run(const char *d, bool with_items)
{
	char path[512];
	struct mrl_err err = { 0 };
	struct rec_results r;
	rec_results_init(&r);
	struct rec_aggregate *a = rec_results_add_aggregate(&r, "copa", "hr", 2);
	int rc = !a || rec_aggregate_add_metric(a, "acc", 0.5, 0.1, 0.3, 0.7, 0.95, "wilson");
	snprintf(path, sizeof path, "%s/results.json", d);
	rc = rc || rec_results_write(path, &r, &err);
	rec_results_release(&r);
	snprintf(path, sizeof path, "%s/run.json", d);
	rc = rc || cli_write_file(path, "{\"options\": {\"model\": \"m.gguf\"}}\n");
	if (!with_items)
		return rc;
	struct rec_item_writer *w = NULL;
	snprintf(path, sizeof path, "%s/items.jsonl", d);
	rc = rc || rec_item_writer_open(path, NULL, &w, NULL, &err);
	for (int i = 0; !rc && i < 2; i++) {
		struct rec_item it;
		char id[16];
		snprintf(id, sizeof id, "%d", i);
		rc = rec_item_init(&it, "copa", id, "hr") || rec_item_writer_add(w, &it, &err);
		rec_item_release(&it);
	}
	return rec_item_writer_close(w, &err) || rc;
}

static void t_folder(void)
{
	struct rec_run run;
	struct mrl_err err = { 0 };
	is_int(rec_run_load(dir, REC_RUN_RESULTS | REC_RUN_ITEMS | REC_RUN_JSON, &run, &err), 0, "a whole run loads");
	is_int((int)run.results.n_aggregates, 1, "results.json");
	is_int((int)run.items.n, 2, "items.jsonl");
	ok(run.have_items, "have_items says so");
	ok(json_is_object(run.run_json), "run.json");
	is_str(run.dir, dir, "the folder");
	rec_run_release(&run);
	ok(run.run_json == NULL && run.items.n == 0, "release zeroes");
}

static void t_only_what_is_asked(void)
{
	struct rec_run run;
	struct mrl_err err = { 0 };
	is_int(rec_run_load(dir, REC_RUN_RESULTS, &run, &err), 0, "results alone");
	ok(!run.have_items && run.items.n == 0 && !run.run_json, "items and run.json are not read");
	rec_run_release(&run);
}

static void t_results_file(void)
{
	char path[512];
	struct rec_run run;
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/results.json", dir);
	is_int(rec_run_load(path, REC_RUN_RESULTS | REC_RUN_ITEMS, &run, &err), 0, "a run named by its results.json");
	is_str(run.dir, dir, "the folder is the file's");
	is_int((int)run.items.n, 2, "items come from that folder");
	rec_run_release(&run);
}

static void t_items_absent(const char *bare)
{
	struct rec_run run;
	struct mrl_err err = { 0 };
	is_int(rec_run_load(bare, REC_RUN_RESULTS | REC_RUN_ITEMS_IF_PRESENT, &run, &err), 0,
	       "optional items.jsonl absent: fine");
	ok(!run.have_items, "have_items is false");
	rec_run_release(&run);
	is_int(rec_run_load(bare, REC_RUN_RESULTS | REC_RUN_ITEMS, &run, &err), MRL_EIO, "required: refused");
	like(err.msg, "items.jsonl", "naming the file");
	rec_run_release(&run);
}

static void t_lenient(const char *bad)
{
	char path[512];
	struct rec_run run;
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/items.jsonl", bad);
	cli_write_file(path, "not json\n");
	is_int(rec_run_load(bad, REC_RUN_ITEMS, &run, &err), MRL_EINPUT, "a bad line fails a strict read");
	like(err.msg, "items.jsonl:1", "naming the file and line");
	rec_run_release(&run);
	is_int(rec_run_load(bad, REC_RUN_ITEMS | REC_RUN_ITEMS_LENIENT, &run, &err), 0, "a lenient read goes on");
	is_int((int)run.items.n_rejected, 1, "listing the line it left out");
	rec_run_release(&run);
}

static void t_bad_run_json(const char *bad)
{
	char path[512];
	struct rec_run run;
	struct mrl_err err = { 0 };
	snprintf(path, sizeof path, "%s/run.json", bad);
	cli_write_file(path, "{\"options\": \n");
	is_int(rec_run_load(bad, REC_RUN_JSON, &run, &err), MRL_EINPUT, "a broken run.json is refused");
	like(err.msg, "run.json: ", "naming it");
	ok(run.run_json == NULL, "nothing is handed out");
	rec_run_release(&run);
}

static void t_missing_folder(void)
{
	struct rec_run run;
	struct mrl_err err = { 0 };
	is_int(rec_run_load("/nonexistent/run", REC_RUN_RESULTS, &run, &err), MRL_EIO, "no folder: an I/O error");
	like(err.msg, "/nonexistent/run/results.json", "naming the file looked for");
	rec_run_release(&run);
	/* run.json of a missing folder (merilo run --resume missing/): it said "missing//run.json:
	 * unable to open missing//run.json: No such file or directory (line -1)" */
	is_int(rec_run_load("/nonexistent/run/", REC_RUN_JSON, &run, &err), MRL_EIO, "no run.json: an I/O error");
	is_str(err.msg, "/nonexistent/run/run.json: cannot open: No such file or directory",
	       "naming the file once, with no line number");
	rec_run_release(&run);
}

/* A writer reopened on a resumed run's items.jsonl that cannot write (a file-size
 * limit at the file's size stands for a full disk): the message counts the lines
 * the file keeps, the earlier session's included (it said "0 item(s)"). */
static void t_full_after_resume(void)
{
	char path[512];
	snprintf(path, sizeof path, "%s/items.jsonl", dir);
	struct mrl_err err = { 0 };
	struct rec_item_writer *w = NULL;
	struct rlimit was, lim;
	if (getrlimit(RLIMIT_FSIZE, &was)) {
		skip("getrlimit failed", "the full-disk message");
		return;
	}
	ok(rec_item_writer_open(path, NULL, &w, NULL, &err) == 0, "reopened on the run's 2 items");
	lim = was;
	lim.rlim_cur = (rlim_t)cli_file_size(path); /* no byte more */
	void (*old)(int) = signal(SIGXFSZ, SIG_IGN);
	setrlimit(RLIMIT_FSIZE, &lim);
	struct rec_item it;
	int rc = rec_item_init(&it, "copa", "2", "hr") || rec_item_writer_add(w, &it, &err) ||
		 rec_item_writer_flush(w, &err);
	rec_item_release(&it);
	setrlimit(RLIMIT_FSIZE, &was);
	signal(SIGXFSZ, old);
	ok(rc != 0, "the flush fails");
	like(err.msg, "the file keeps the 2 item(s) written before", "the message counts the 2 lines of the earlier session");
	ok(rec_item_writer_close(w, &err) == 0, "with room again, closing writes the buffered line");
	is_int((long long)cli_file_lines(path), 3, "3 whole lines then");
}

int main(void)
{
	char bare[300], bad[300];
	if (!cli_tmpdir(dir, sizeof dir, "rec-run")) {
		skip_all("cannot make a temporary folder");
		return 0;
	}
	snprintf(bare, sizeof bare, "%s/bare", dir);
	snprintf(bad, sizeof bad, "%s/bad", dir);
	if (mkdir(bare, 0700) || mkdir(bad, 0700) || make_run(dir, true) || make_run(bare, false) || make_run(bad, false)) {
		ok(0, "the test runs are written");
		cli_rmtree(dir);
		return done_testing();
	}
	TEST(t_folder(), "a run folder loads results.json, items.jsonl and run.json");
	TEST(t_only_what_is_asked(), "only the parts asked for are read");
	TEST(t_results_file(), "a run can be named by its results.json");
	TEST(t_items_absent(bare), "items.jsonl: optional or required");
	TEST(t_lenient(bad), "items.jsonl: strict or lenient");
	TEST(t_bad_run_json(bad), "a run.json that does not parse is refused, naming it");
	TEST(t_missing_folder(), "a missing run names the file it looked for");
	TEST(t_full_after_resume(), "a full disk after a resume: the message counts the lines kept");
	cli_rmtree(dir);
	return done_testing();
}
