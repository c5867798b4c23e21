/* hrn_shard.c — sharded runs (merilo run --shard I/N) and merilo merge (issue 18).
 *
 * On the demo suite (--limit 1) with a small random-weight model (CLI_SYNTH_SMALL): the run split
 * into 1, 2, 3 and 7 shards and merged equals the unsharded run — items.jsonl
 * line by line in the same order, and results.json — except timings, the work
 * counters tokens_computed/tokens_cached (they depend on what the previous unit
 * left in the KV cache), the performance section, threads and the manifest's
 * hosts and times. The 2-shard run uses 2 threads and one shard of 3 is made by
 * an interrupted run and --resume, so the partition is seen not to depend on
 * either. Merge refuses missing, duplicated, unfinished and foreign shards and
 * shards of another N with one line naming them; --shard refuses bad values;
 * --shard auto maps Slurm's array variables, and ci/slurm/'s scripts chain an array
 * and a merge. --mpi without MPI says why.
 * Runs the binary named by $MERILO (set by `make test`). */
#include "tests/tap.h"
#include "tests/cli.h"
#include "tests/run_norm.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

static char tmp[256];

/* A check's name made with printf (tap.h's names are plain strings). */
static char name_buf[512];
#define NAME(...) (snprintf(name_buf, sizeof name_buf, __VA_ARGS__), name_buf)

#define RUN_OPTS "--suite tasks/suites/demo.json --limit 1 --seed 1 --boot 50 --quiet"

/* The same normalised file of two runs is equal. */
static void same_file(const char *a, const char *b, const char *file, int how)
{
	char pa[512], pb[512];
	snprintf(pa, sizeof pa, "%s/%s/%s", tmp, a, file);
	snprintf(pb, sizeof pb, "%s/%s/%s", tmp, b, file);
	char *x = how == 2 ? norm_results(pa) : norm_items(pa, how == 1);
	char *y = how == 2 ? norm_results(pb) : norm_items(pb, how == 1);
	ok(x && y && *x, NAME("%s/%s could be read", b, file));
	ok(x && y && !strcmp(x, y), NAME("%s/%s equals %s's%s", b, file, a, how == 1 ? " (sorted by key)" : how == 0 ? " (in order)" : ""));
	free(x);
	free(y);
}

/* The languages of dir's performance section that have no item (a shard holding none of a
 * language's items had listed it with 0 s and null throughput, without a reason); -1 when
 * results.json cannot be read. */
static int empty_perf_langs(const char *dir)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s/results.json", tmp, dir);
	json_t *j = json_load_file(path, 0, NULL);
	if (!j)
		return -1;
	int n = 0;
	size_t i, k;
	json_t *t, *l;
	json_array_foreach(json_object_get(j, "performance"), i, t)
		json_array_foreach(json_object_get(t, "languages"), k, l)
			n += json_integer_value(json_object_get(l, "n_items")) == 0;
	json_decref(j);
	return n;
}

/* Shards 1..n of n in sN_I (threads as given), merged into mN; compared with full. */
static void test_split(int n)
{
	char dirs[2048] = "", *out = NULL;
	size_t len = 0;
	const int threads = n == 2 ? 2 : 1;
	for (int i = 1; i <= n; i++) {
		if (n == 3 && i == 2) { /* interrupted after 2 items, then resumed */
			is_int(cli_sh(NULL, "MERILO_TEST_STOP_AFTER=2 $MERILO run --model %s/m.gguf " RUN_OPTS
					    " --threads 1 --shard 2/3 --out %s/s3_2", tmp, tmp), 4, "shard 2/3 interrupted");
			is_int(cli_run(NULL, "run --resume %s/s3_2 --quiet", tmp), 0, "shard 2/3 resumed");
		} else {
			is_int(cli_run(NULL, "run --model %s/m.gguf " RUN_OPTS " --threads %d --shard %d/%d --out %s/s%d_%d",
				       tmp, threads, i, n, tmp, n, i), 0, NAME("shard %d/%d ran", i, n));
		}
		len += (size_t)snprintf(dirs + len, sizeof dirs - len, " %s/s%d_%d", tmp, n, i);
	}
	if (n == 7) { /* 7 shards of the demo suite's first items: most hold none of some language's */
		int empty = 0;
		for (int i = 1; i <= n && empty >= 0; i++) {
			char d[32];
			snprintf(d, sizeof d, "s7_%d", i);
			int e = empty_perf_langs(d);
			empty = e < 0 ? -1 : empty + e;
		}
		is_int(empty, 0, "no shard's performance lists a language it scored no item of");
	}
	is_int(cli_run(&out, "merge%s -o %s/m%d", dirs, tmp, n), 0, NAME("%d shard(s) merged", n));
	char name[32];
	snprintf(name, sizeof name, "m%d", n);
	same_file("full", name, "items.jsonl", 1);
	same_file("full", name, "items.jsonl", 0);
	same_file("full", name, "results.json", 2);
	is_int(cli_sh(NULL, "diff -r %s/full/prompts %s/m%d/prompts", tmp, tmp, n), 0, "prompts/ equal the unsharded run's");
	free(out);
}

/* merge's refusals: exit 3 and one line naming the shards. */
static void test_refusals(void)
{
	char *out = NULL;
	is_int(cli_run(&out, "merge %s/s3_1 %s/s3_3 -o %s/bad1", tmp, tmp, tmp), 3, "a missing shard: exit 3");
	like(out, "1 shard of 3 missing: 2 ", "names the missing shard");
	free(out);
	is_int(cli_run(&out, "merge %s/s3_1 %s/s3_2 %s/s3_3 %s/s3_2 -o %s/bad2", tmp, tmp, tmp, tmp, tmp), 3,
	       "a duplicate shard: exit 3");
	like(out, "shard 2/3 is given twice", "says which shard is given twice");
	free(out);
	is_int(cli_run(&out, "merge %s/s2_1 %s/s3_2 %s/s3_3 -o %s/bad3", tmp, tmp, tmp, tmp), 3, "shards of another N: exit 3");
	like(out, "the shards of one run have the same N", "says the N differ");
	free(out);
	is_int(cli_run(&out, "merge %s/s2_1 %s/x2_2 -o %s/bad4", tmp, tmp, tmp), 3, "a shard of another seed: exit 3");
	like(out, "does not belong with", "says it does not belong");
	like(out, "seed", "names the setting that differs");
	free(out);
	is_int(cli_run(&out, "merge %s/full -o %s/bad5", tmp, tmp), 3, "an unsharded run: exit 3");
	like(out, "is not a shard run", "says it is not a shard");
	free(out);
	is_int(cli_sh(NULL, "MERILO_TEST_STOP_AFTER=1 $MERILO run --model %s/m.gguf " RUN_OPTS
			    " --threads 1 --shard 1/2 --out %s/u2_1", tmp, tmp), 4, "an interrupted shard");
	is_int(cli_run(&out, "merge %s/u2_1 %s/s2_2 -o %s/bad6", tmp, tmp, tmp), 3, "an unfinished shard: exit 3");
	like(out, "did not finish", "says it did not finish and how to resume");
	free(out);
	is_int(cli_run(&out, "merge %s/s2_1 %s/s2_2 -o %s/m2", tmp, tmp, tmp), 2, "a folder holding a run: exit 2");
	free(out);
	/* a record of shard 2 in shard 1's items.jsonl: resume moves it out, naming the shard */
	cli_sh(NULL, "cp -r %s/s2_1 %s/r2_1 && rm %s/r2_1/results.json && head -n1 %s/s2_2/items.jsonl >> %s/r2_1/items.jsonl",
	       tmp, tmp, tmp, tmp, tmp);
	is_int(cli_run(&out, "run --resume %s/r2_1 --quiet", tmp), 0, "a shard with a foreign record resumed");
	like(out, "belongs to another shard than 1/2", "the record is named as another shard's");
	free(out);
}

/* --shard values: I/N, auto from Slurm's variables. */
static void test_shard_args(void)
{
	static const char *const bad[] = { "0/3", "4/3", "3", "a/b", "1/0", "1/99999" };
	char *out = NULL;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		is_int(cli_run(&out, "run --model %s/m.gguf " RUN_OPTS " --shard %s --out %s/bad", tmp, bad[i], tmp), 2,
		       NAME("--shard %s: exit 2", bad[i]));
		like(out, "--shard", "the message names --shard");
		free(out);
	}
	is_int(cli_sh(&out, "env -u SLURM_ARRAY_TASK_ID -u SLURM_ARRAY_TASK_COUNT $MERILO run --model %s/m.gguf " RUN_OPTS
			    " --shard auto --out %s/bad", tmp, tmp), 2, "--shard auto outside Slurm: exit 2");
	like(out, "SLURM_ARRAY_TASK_ID", "names the variable");
	free(out);
	/* sbatch --array=0-2: task 1 of 3 is shard 2/3; --array=1-3 (MIN 1): task 3 is shard 3/3 */
	is_int(cli_sh(NULL, "SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=3 $MERILO run --model %s/m.gguf " RUN_OPTS
			    " --threads 1 --shard auto --out %s/a2", tmp, tmp), 0, "--shard auto ran");
	is_int(cli_sh(NULL, "SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_MIN=1 SLURM_ARRAY_TASK_COUNT=3 $MERILO run --model "
			    "%s/m.gguf " RUN_OPTS " --threads 1 --shard auto --out %s/a3", tmp, tmp), 0, "--shard auto (MIN 1) ran");
	is_int(cli_sh(NULL, "grep -q '\"shard\": \"2/3\"' %s/a2/run.json", tmp), 0, "task id 1 of 3 is shard 2/3");
	is_int(cli_sh(NULL, "grep -q '\"shard\": \"3/3\"' %s/a3/run.json", tmp), 0, "task id 3 of 1..3 is shard 3/3");
	same_file("s3_2", "a2", "items.jsonl", 0);
	is_int(cli_sh(NULL, "SLURM_ARRAY_TASK_ID=3 SLURM_ARRAY_TASK_COUNT=3 $MERILO run --model %s/m.gguf " RUN_OPTS
			    " --shard auto --out %s/bad", tmp, tmp), 2, "a task id outside the array: exit 2");
}

/* ci/slurm/: the array script maps the task id to the shard, merge.sh joins them,
 * submit.sh chains the two with afterok (sbatch replaced by a stub that logs). */
static void test_slurm(void)
{
	char *out = NULL;
	for (int id = 0; id < 2; id++)
		is_int(cli_sh(NULL, "SLURM_ARRAY_TASK_ID=%d SLURM_ARRAY_TASK_COUNT=2 SLURM_CPUS_PER_TASK=1 ci/slurm/eval-array.sh "
				    "%s/m.gguf tasks/suites/demo.json %s/sl --limit 1 --seed 1 --boot 50", id, tmp, tmp), 0,
		       NAME("eval-array.sh as array task %d of 2", id));
	is_int(cli_sh(NULL, "ci/slurm/merge.sh %s/sl 2 >/dev/null", tmp), 0, "merge.sh joined the shards");
	same_file("full", "sl", "items.jsonl", 0);
	same_file("full", "sl", "results.json", 2);
	is_int(cli_sh(NULL, "SLURM_ARRAY_TASK_ID=1 SLURM_ARRAY_TASK_COUNT=2 SLURM_CPUS_PER_TASK=1 ci/slurm/eval-array.sh "
			    "%s/m.gguf tasks/suites/demo.json %s/sl --limit 1 --seed 1 --boot 50", tmp, tmp), 0,
	       "a task submitted again resumes its finished shard");
	char stub[512];
	snprintf(stub, sizeof stub, "%s/bin/sbatch", tmp);
	cli_sh(NULL, "mkdir -p %s/bin", tmp);
	cli_write_file(stub, "#!/bin/sh\necho \"sbatch $*\" >> \"$(dirname \"$0\")/log\"\necho 4242\n");
	cli_sh(NULL, "chmod +x %s", stub);
	is_int(cli_sh(&out, "PATH=%s/bin:$PATH ci/slurm/submit.sh 3 m.gguf s.json runs/x --limit 5 && cat %s/bin/log", tmp, tmp),
	       0, "submit.sh ran");
	like(out, "--array=0-2 ", "the array has tasks 0..N-1");
	like(out, "eval-array.sh m.gguf s.json runs/x --limit 5", "the shard jobs get the run's arguments");
	like(out, "--dependency=afterok:4242 ", "the merge waits for the array to succeed");
	like(out, "merge.sh runs/x 3", "and merges N shards");
	free(out);
}

static void test_mpi_absent(void)
{
	char *out = NULL;
	cli_run(&out, "--version");
	if (strstr(out, "MPI=yes")) {
		free(out);
		test_skip("this merilo was built with MPI (tests/hrn_mpi.c tests it)");
		return;
	}
	free(out);
	is_int(cli_run(&out, "run --model %s/m.gguf " RUN_OPTS " --mpi --out %s/bad", tmp, tmp), 2, "--mpi: exit 2");
	like(out, "--mpi is unavailable: this merilo was built without MPI", "says why");
	free(out);
}

int main(void)
{
	if (!cli_merilo())
		skip_all("MERILO does not name the merilo binary (run through make test)");
	if (!cli_tmpdir(tmp, sizeof tmp, "hrn-shard"))
		skip_all("cannot make a temporary folder");
	setenv("MERILO_CACHE_DIR", tmp, 1);
	bool have = !cli_run(NULL, "synth --arch llama " CLI_SYNTH_SMALL " --dtype f16 --seed 1 -o %s/m.gguf", tmp) &&
		    !cli_run(NULL, "run --model %s/m.gguf " RUN_OPTS " --threads 1 --out %s/full", tmp, tmp) &&
		    !cli_run(NULL, "run --model %s/m.gguf " RUN_OPTS " --threads 1 --seed 2 --shard 2/2 --out %s/x2_2", tmp, tmp);
	ok(have, "a tiny model, the unsharded run and a shard with another seed");
	if (have) {
		TEST(test_split(1), "1 shard merged equals the unsharded run");
		TEST(test_split(2), "2 shards (2 threads) merged equal the unsharded run");
		TEST(test_split(3), "3 shards (one interrupted and resumed) merged equal the unsharded run");
		TEST(test_split(7), "7 shards merged equal the unsharded run");
		TEST(test_refusals(), "merge refuses missing, duplicate, foreign, unfinished shards and another N");
		TEST(test_shard_args(), "--shard: bad values, auto from SLURM_ARRAY_TASK_ID/COUNT/MIN");
		TEST(test_slurm(), "ci/slurm: array task -> shard, merge after all, submit chains them");
		TEST(test_mpi_absent(), "--mpi without MPI says it is unavailable and why");
	}
	cli_rmtree(tmp);
	return done_testing();
}
