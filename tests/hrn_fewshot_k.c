/* hrn_fewshot_k.c — few-shot k that a suite sets per task is the same setting as
 * an equal --fewshot (records/comparable.h). Three small real runs of run-mini's
 * task mc_fs (the suite gives it k = 2) on a `merilo synth` model: without
 * --fewshot, with --fewshot 2 and with --fewshot 1. results.json records the global
 * k as given (null, 2, 1) and each task's effective k (2, 2, 1); compare's gate
 * finds the first two comparable and the third not (exit 3 naming fewshot), and
 * the leaderboard ranks the first two in one group.
 * Runs the binary named by $MERILO (set by `make test`). */
#include "tests/tap.h"
#include "tests/cli.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

static char tmp[256];

static int make_runs(void)
{
	static const char *const runs[][2] = { { "suite", "" }, { "fs2", "--fewshot 2" }, { "fs1", "--fewshot 1" } };
	if (cli_run(NULL, "synth --preset tiny -o %s/tiny.gguf", tmp))
		return -1;
	for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++)
		if (cli_run(NULL, "run --model %s/tiny.gguf --suite tests/data/run-mini.json --tasks mc_fs --limit 3 %s "
			    "--threads 2 --boot 100 --quiet --out %s/%s", tmp, runs[i][1], tmp, runs[i][0]))
			return -1;
	return 0;
}

/* settings.fewshot_k (-1: null) and settings.fewshot.mc_fs.k of run name. */
static void recorded_k(const char *name, long long *global, long long *task)
{
	char path[600];
	snprintf(path, sizeof path, "%s/%s/results.json", tmp, name);
	json_t *r = json_load_file(path, 0, NULL);
	const json_t *st = json_object_get(r, "settings");
	const json_t *g = json_object_get(st, "fewshot_k");
	const json_t *fs = json_object_get(st, "fewshot");
	*global = json_is_integer(g) ? json_integer_value(g) : -1;
	*task = json_is_integer(json_object_get(json_object_get(fs, "mc_fs"), "k"))
			? json_integer_value(json_object_get(json_object_get(fs, "mc_fs"), "k"))
			: -100;
	json_decref(r);
}

static void t_recorded(void)
{
	long long g, k;
	recorded_k("suite", &g, &k);
	is_int(g, -1, "no --fewshot: settings.fewshot_k is null (the global k as given)");
	is_int(k, 2, "no --fewshot: settings.fewshot.mc_fs.k is the suite's 2");
	recorded_k("fs2", &g, &k);
	is_int(g, 2, "--fewshot 2: settings.fewshot_k is 2");
	is_int(k, 2, "--fewshot 2: settings.fewshot.mc_fs.k is 2");
	recorded_k("fs1", &g, &k);
	is_int(g, 1, "--fewshot 1: settings.fewshot_k is 1");
	is_int(k, 1, "--fewshot 1: settings.fewshot.mc_fs.k is 1");
}

static void t_compare(void)
{
	char *out = NULL;
	int rc = cli_run(&out, "compare %s/suite %s/fs2 --boot 200", tmp, tmp);
	is_int(rc, 0, "the suite's k = 2 against --fewshot 2: comparable, the gate passes (exit 0)");
	ok(out && !strstr(out, "NOT COMPARABLE") && !strstr(out, "differ in"), "no setting reported as different");
	if (rc)
		diag("%s", out ? out : "");
	free(out);
	CLI_EXPECT(3, "NOT COMPARABLE: the runs differ in score-changing settings: fewshot (base 2, candidate 1)",
		   "the suite's k = 2 against --fewshot 1: not comparable, naming fewshot",
		   "compare %s/suite %s/fs1 --boot 200", tmp, tmp);
}

static void t_leaderboard(void)
{
	char *out = NULL;
	int rc = cli_run(&out, "leaderboard %s/suite %s/fs2 %s/fs1", tmp, tmp, tmp);
	is_int(rc, 0, "leaderboard of the three runs: exit 0");
	like(out, "2 groups of comparable runs", "the suite's k = 2 and --fewshot 2 form one group, --fewshot 1 another");
	like(out, "few-shot 2 (seed 7)", "the group heading names the effective k and the suite's seed");
	free(out);
}

int main(void)
{
	if (!cli_merilo())
		skip_all("MERILO does not name the merilo binary (run through make test)");
	if (!cli_tmpdir(tmp, sizeof tmp, "hrn-fewshot-k"))
		skip_all("cannot make a temporary folder");
	setenv("MERILO_CACHE_DIR", tmp, 1);
	int made = make_runs() == 0;
	ok(made, "a synth model and three small runs made");
	if (made) {
		TEST(t_recorded(), "results.json: the global k as given, each task's effective k");
		TEST(t_compare(), "compare: a suite's per-task k equals an explicit --fewshot of the same k");
		TEST(t_leaderboard(), "leaderboard: grouped by the effective k");
	}
	cli_rmtree(tmp);
	return done_testing();
}
