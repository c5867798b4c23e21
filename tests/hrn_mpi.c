/* hrn_mpi.c — `mpirun -np 2 merilo run --mpi` (issue 18), on one machine.
 *
 * Two ranks (mpirun --allow-run-as-root --oversubscribe) on the demo suite
 * (--limit 1) with a small random-weight model (CLI_SYNTH_SMALL) write the run the single process
 * writes (items.jsonl in order and results.json, timings and hosts aside; the
 * same normalisation as tests/hrn_shard.c: tests/run_norm.h), and with --quiet
 * prints only its one closing line, no tables. A --fewshot past the suite's
 * examples fails every rank before its shard folder exists, without --resume
 * advice. A rank that fails (interrupted
 * after 2 items through MERILO_TEST_STOP_AFTER) fails the run naming its rank
 * and its error; a rank killed with SIGKILL mid-run takes the job down; in both
 * cases `--mpi --resume` finishes only what is missing and the result again
 * equals the single-process run. SKIPs where mpirun is absent or merilo was
 * built without MPI. Runs the binary named by $MERILO (set by `make test`). */
#include "tests/tap.h"
#include "tests/cli.h"
#include "tests/run_norm.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static char tmp[256];

#define RUN_OPTS "--suite tasks/suites/demo.json --limit 1 --seed 1 --boot 50 --quiet"
/* Open MPI's own allocations are not ours to leak-check under ASan */
#define MPIRUN "ASAN_OPTIONS=intercept_tls_get_addr=0:detect_leaks=0 mpirun --allow-run-as-root --oversubscribe -np 2"

static char name_buf[512];
#define NAME(...) (snprintf(name_buf, sizeof name_buf, __VA_ARGS__), name_buf)

/* run dir equals the single-process run. */
static void same_as_full(const char *dir)
{
	static const char *const files[] = { "items.jsonl", "results.json" };
	for (int k = 0; k < 2; k++) {
		char pa[512], pb[512];
		snprintf(pa, sizeof pa, "%s/full/%s", tmp, files[k]);
		snprintf(pb, sizeof pb, "%s/%s/%s", tmp, dir, files[k]);
		char *x = k ? norm_results(pa) : norm_items(pa, false);
		char *y = k ? norm_results(pb) : norm_items(pb, false);
		ok(x && y && *x && !strcmp(x, y), NAME("%s/%s equals the single-process run's", dir, files[k]));
		free(x);
		free(y);
	}
}

static void test_two_ranks(void)
{
	char *out = NULL;
	is_int(cli_sh(&out, MPIRUN " $MERILO run --mpi --model %s/m.gguf " RUN_OPTS " --threads 1 --out %s/mpi", tmp, tmp),
	       0, "mpirun -np 2 merilo run --mpi");
	char closing[600];
	snprintf(closing, sizeof closing, "merilo run: merged 2 shards into %s/mpi/; results: %s/mpi/results.json\n", tmp,
		 tmp);
	like(out, closing, "--quiet: the closing line says what was merged and where the results are");
	ok(out && !strstr(out, "language") && !strstr(out, "paired gaps") && !strstr(out, "units) into"),
	   "--quiet: no result tables, no summary (as run --quiet without --mpi)");
	free(out);
	same_as_full("mpi");
	is_int(cli_sh(NULL, "test -f %s/mpi/shards/1-of-2/results.json && test -f %s/mpi/shards/2-of-2/results.json", tmp,
		      tmp), 0, "each rank left its shard run in DIR/shards/");
	is_int(cli_sh(NULL, "grep -q '\"shards\"' %s/mpi/results.json", tmp), 0, "the manifest lists the shards");
}

/* Options the suite cannot carry out fail every rank before its shard folder
 * exists; no --mpi --resume advice, which would fail the same way. */
static void test_refused_options(void)
{
	char *out = NULL;
	int rc = cli_sh(&out, MPIRUN " $MERILO run --mpi --model %s/m.gguf " RUN_OPTS " --fewshot 64 --threads 1 "
			      "--out %s/mfs", tmp, tmp);
	ok(rc != 0, "--fewshot 64 on the demo suite fails the run");
	like(out, "failed with exit 2", "the ranks' usage error is named");
	like(out, "--fewshot 64: task 'commonsense' (en)", "with its message");
	like(out, "a --mpi --resume would stop at the same error (exit 2)", "a resume is not advised");
	ok(out && !strstr(out, "rerun only what is missing"), "no --mpi --resume command");
	free(out);
	is_int(cli_sh(NULL, "test -e %s/mfs/shards/1-of-2 || test -e %s/mfs/shards/2-of-2", tmp, tmp), 1,
	       "no shard run folder was made");
}

static void test_failing_rank(void)
{
	char *out = NULL;
	int rc = cli_sh(&out, MPIRUN " sh -c 'if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then export MERILO_TEST_STOP_AFTER=2; "
			      "fi; exec $MERILO run --mpi --model %s/m.gguf " RUN_OPTS " --threads 1 --out %s/mf'", tmp, tmp);
	ok(rc != 0, "a failing rank fails the run");
	like(out, "rank 1 (shard 2/2) failed with exit 4", "the message names the rank and its exit code");
	like(out, "interrupted", "and its error");
	like(out, "--mpi --resume", "and how to resume");
	free(out);
	is_int(cli_sh(NULL, "test -f %s/mf/shards/1-of-2/results.json", tmp), 0, "rank 0's finished shard stayed");
	cli_sh(NULL, "cp %s/mf/shards/1-of-2/items.jsonl %s/mf-1.jsonl", tmp, tmp);
	is_int(cli_sh(&out, MPIRUN " $MERILO run --mpi --resume %s/mf", tmp), 0, "--mpi --resume finished the run");
	free(out);
	is_int(cli_sh(NULL, "cmp -s %s/mf/shards/1-of-2/items.jsonl %s/mf-1.jsonl", tmp, tmp), 0,
	       "the finished shard's items.jsonl is untouched (nothing scored again)");
	same_as_full("mf");
}

static void test_killed_rank(void)
{
	char *out = NULL;
	/* rank 1 scores slowly (200 ms per item: the writer's 2 s flush comes by item 11),
	 * stops itself after 12 of its 14 items (MERILO_TEST_PAUSE_AT) and is SIGKILLed
	 * while stopped: mid-run with records on disk, however loaded the machine */
	int rc = cli_sh(&out, MPIRUN " sh -c 'if [ \"$OMPI_COMM_WORLD_RANK\" = 1 ]; then export MERILO_TEST_SLOW_MS=200 "
			      "MERILO_TEST_PAUSE_AT=12; (i=0; while ! grep -q \"^State:.*T\" /proc/$$/status && [ $i -lt 600 ]; "
			      "do sleep 0.2; i=$((i+1)); done; kill -9 $$) & fi; exec $MERILO run --mpi --model %s/m.gguf " RUN_OPTS
			      " --threads 1 --out %s/mk'", tmp, tmp);
	ok(rc != 0, "a killed rank fails the job");
	free(out);
	is_int(cli_sh(NULL, "test -f %s/mk/shards/2-of-2/run.json", tmp), 0, "the killed rank's shard is on disk");
	char mk_items[600];
	snprintf(mk_items, sizeof mk_items, "%s/mk/shards/2-of-2/items.jsonl", tmp);
	size_t n_mk = cli_file_lines(mk_items);
	ok(n_mk >= 1 && n_mk < 14, "its items.jsonl holds the flushed records of a run killed mid-way");
	diag("killed with %zu of 14 records on disk", n_mk);
	is_int(cli_sh(&out, MPIRUN " $MERILO run --mpi --resume %s/mk", tmp), 0, "--mpi --resume finished the run");
	free(out);
	same_as_full("mk");
}

int main(void)
{
	char *out = NULL;
	if (!cli_merilo())
		skip_all("MERILO does not name the merilo binary (run through make test)");
	if (cli_sh(NULL, "command -v mpirun >/dev/null"))
		skip_all("mpirun not found (apt-get install openmpi-bin libopenmpi-dev, then rebuild)");
	cli_run(&out, "--version");
	bool built = out && strstr(out, "MPI=yes");
	free(out);
	if (!built)
		skip_all("this merilo was built without MPI (libopenmpi-dev absent at build time)");
	if (!cli_tmpdir(tmp, sizeof tmp, "hrn-mpi"))
		skip_all("cannot make a temporary folder");
	setenv("MERILO_CACHE_DIR", tmp, 1);
	bool have = !cli_run(NULL, "synth --arch llama " CLI_SYNTH_SMALL " --dtype f16 --seed 1 -o %s/m.gguf", tmp) &&
		    !cli_run(NULL, "run --model %s/m.gguf " RUN_OPTS " --threads 1 --out %s/full", tmp, tmp);
	ok(have, "a tiny model and the single-process run");
	if (have) {
		TEST(test_two_ranks(), "2 ranks write the single-process run");
		TEST(test_refused_options(), "options the suite cannot carry out: no shard folder, no resume advice");
		TEST(test_failing_rank(), "a failing rank names itself; --resume reruns only what is missing");
		TEST(test_killed_rank(), "a rank killed mid-run leaves resumable shards");
	}
	cli_rmtree(tmp);
	return done_testing();
}
