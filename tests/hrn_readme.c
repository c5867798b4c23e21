/* hrn_readme.c — the README's shell snippets run as written, and every command
 * that writes a file creates the missing folders above it.
 *
 * A snippet to run sits in README.md between `<!-- test: NAME -->` and
 * `<!-- /test -->`, as one ```sh block. The test copies it verbatim into a fresh
 * folder that holds what the snippet assumes (./merilo, a model, a suite, a
 * baseline run, all made here from `merilo synth` and a tiny COPA file) and runs
 * it with `sh -e`: a snippet that stops working fails here, so the README and the
 * binary cannot drift. Runs the binary named by $MERILO (set by `make test`). */
#include "tests/tap.h"
#include "tests/cli.h"

static char tmp[256];

#define ROW(idx, label, q) "{\"premise\":\"P" #idx ".\",\"choice1\":\"A\",\"choice2\":\"B\",\"question\":\"" q "\",\"label\":" #label ",\"idx\":" #idx "}\n"

/* The ```sh block between the markers of snippet name in text (malloc'd), or NULL. */
static char *snippet(const char *text, const char *name)
{
	char open[100];
	snprintf(open, sizeof open, "<!-- test: %s -->", name);
	const char *at = strstr(text, open), *end = at ? strstr(at, "<!-- /test -->") : NULL;
	const char *code = at ? strstr(at, "```sh\n") : NULL;
	if (!code || code > end)
		return NULL;
	code += strlen("```sh\n");
	const char *stop = strstr(code, "```");
	if (!stop || stop > end)
		return NULL;
	return strndup(code, (size_t)(stop - code));
}

/* What the README's examples assume in the current folder: ./merilo, a model
 * (candidate.gguf), a suite (copa.json). 0 when all are there. */
static int make_workspace(const char *merilo)
{
	char path[400];
	snprintf(path, sizeof path, "%s/test-hr.jsonl", tmp);
	cli_write_file(path, ROW(0, 0, "cause") ROW(1, 1, "effect") ROW(2, 0, "cause") ROW(3, 1, "effect"));
	return cli_sh(NULL, "cd '%s' && ln -s '%s' merilo && ./merilo synth --preset tiny --seed 1 -o candidate.gguf "
			    "&& ./merilo import copa --lang hr=test-hr.jsonl -o copa.json", tmp, merilo);
}

/* README "CI gate": with a baseline run of the same model, the snippet runs to
 * the end in a folder where ci-out/ does not exist yet. */
static void t_ci_gate(void)
{
	char *readme = cli_slurp("README.md"), *code = readme ? snippet(readme, "ci-gate") : NULL;
	if (!ok(code != NULL, "README.md has the ci-gate snippet between its markers")) {
		free(readme);
		return;
	}
	char path[400], *out = NULL;
	snprintf(path, sizeof path, "%s/ci-gate.sh", tmp);
	cli_write_file(path, code);
	int rc = cli_sh(&out, "cd '%s' && ./merilo run --model candidate.gguf --suite copa.json --seed 1 "
			      "--out runs/baseline --quiet", tmp);
	is_int(rc, 0, "the baseline run");
	if (rc)
		diag("%s", out);
	free(out);
	rc = cli_sh(&out, "cd '%s' && sh -e ci-gate.sh", tmp);
	is_int(rc, 0, "the snippet runs with sh -e in a fresh folder");
	if (rc)
		diag("%s", out);
	free(out);
	snprintf(path, sizeof path, "%s/ci-out/compare.md", tmp);
	ok(cli_file_size(path) > 0, "ci-out/compare.md is written");
	free(code);
	free(readme);
}

/* compare --out PREFIX: the folders of the prefix are created. */
static void t_compare_parents(void)
{
	char path[400];
	int rc = cli_sh(NULL, "cd '%s' && ./merilo compare runs/baseline runs/baseline --out new/deeper/cmp", tmp);
	is_int(rc, 0, "compare --out new/deeper/cmp: exit 0");
	snprintf(path, sizeof path, "%s/new/deeper/cmp.json", tmp);
	ok(cli_file_size(path) > 0, "new/deeper/cmp.json is written");
}

/* bench --out FILE: the folders above FILE are created. */
static void t_bench_parents(void)
{
	char path[400], *out = NULL;
	int rc = cli_sh(&out, "cd '%s' && ./merilo bench --model candidate.gguf --prompt 8 --gen 4 --reps 1 --warmup 0 "
			      "--format json --out b1/b2/bench.json", tmp);
	is_int(rc, 0, "bench --out b1/b2/bench.json: exit 0");
	if (rc)
		diag("%s", out);
	free(out);
	snprintf(path, sizeof path, "%s/b1/b2/bench.json", tmp);
	ok(cli_file_size(path) > 0, "b1/b2/bench.json is written");
}

/* `./merilo ARGS -o DIR1/DIR2/FILE` run in tmp exits 0 and writes FILE, its folders made. */
static void check_parents(const char *args, const char *file)
{
	char path[400], *out = NULL;
	int rc = cli_sh(&out, "cd '%s' && ./merilo %s -o %s", tmp, args, file);
	char name[200];
	snprintf(name, sizeof name, "%s -o %s: exit 0", args, file);
	is_int(rc, 0, name);
	if (rc)
		diag("%s", out);
	free(out);
	snprintf(path, sizeof path, "%s/%s", tmp, file);
	snprintf(name, sizeof name, "%s is written", file);
	ok(cli_file_size(path) > 0, name);
}

/* import -o FILE: the folders above FILE are created. */
static void t_import_parents(void)
{
	check_parents("import copa --lang hr=test-hr.jsonl", "s1/s2/copa.json");
}

/* synth -o FILE: the folders above FILE are created (it said "cannot create a
 * temporary file next to it: No such file or directory", exit 4); a bad shape is
 * refused before any folder is made. */
static void t_synth_parents(void)
{
	char path[400];
	check_parents("synth --preset tiny", "m1/m2/model.gguf");
	int rc = cli_sh(NULL, "cd '%s' && ./merilo synth --preset tiny --dim 63 -o n1/model.gguf", tmp);
	snprintf(path, sizeof path, "%s/n1", tmp);
	ok(rc == 2 && access(path, F_OK) != 0, "synth --dim 63 -o n1/model.gguf: exit 2, no folder made");
}

int main(void)
{
	const char *merilo = cli_merilo();
	if (!merilo)
		skip_all("MERILO is not set to an executable merilo");
	if (access("README.md", R_OK))
		skip_all("README.md not found (run from the repository root)");
	char abs[4096];
	if (merilo[0] != '/' && getcwd(abs, sizeof abs - 300)) {
		strcat(abs, "/");
		strcat(abs, merilo);
		merilo = abs;
	}
	if (!cli_tmpdir(tmp, sizeof tmp, "readme"))
		skip_all("cannot make a temporary folder");
	if (!ok(make_workspace(merilo) == 0, "a model and a suite made with merilo synth and import")) {
		cli_rmtree(tmp);
		return done_testing();
	}
	TEST(t_ci_gate(), "README CI gate snippet runs in a fresh folder");
	TEST(t_compare_parents(), "compare --out creates the folders of its prefix");
	TEST(t_bench_parents(), "bench --out creates the folders above its file");
	TEST(t_import_parents(), "import -o creates the folders above its file");
	TEST(t_synth_parents(), "synth -o creates the folders above its file");
	cli_rmtree(tmp);
	return done_testing();
}
