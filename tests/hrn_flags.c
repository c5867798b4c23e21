/* hrn_flags.c — one flag vocabulary for every command (docs/cli.md): -o/--out is
 * where output goes, --format the output's format, --seed defaults to 1234; the
 * old spellings (bench -o FORMAT aside, which now means the file) still parse;
 * --affinity is one flag of the four computing commands.
 * Runs the binary named by $MERILO (set by `make test`). */
#include "tests/tap.h"
#include "tests/cli.h"

#include <string.h>
#include <unistd.h>

/* `merilo CMD --help` must show LINE (a substring of one option line). */
static void help_has(const char *cmd, const char *line, const char *what)
{
	char *out = NULL;
	int rc = cli_run(&out, "%s --help", cmd);
	is_int(rc, 0, "--help: exit 0");
	char name[160];
	snprintf(name, sizeof name, "%s --help: %s", cmd, what);
	like(out ? out : "", line, name);
	free(out);
}

static void help_lacks(const char *cmd, const char *line, const char *what)
{
	char *out = NULL;
	cli_run(&out, "%s --help", cmd);
	char name[160];
	snprintf(name, sizeof name, "%s --help: %s", cmd, what);
	ok(out && !strstr(out, line), name);
	if (out && strstr(out, line))
		diag("found '%s'", line);
	free(out);
}

static void output_flags(void)
{
	const char *writers[] = { "run", "compare", "bench", "synth", "import", "report", "leaderboard", "score" };
	for (size_t i = 0; i < sizeof writers / sizeof writers[0]; i++)
		help_has(writers[i], "-o, --out", "-o, --out names the output");
	help_lacks("synth", "--output", "the old --output is hidden");
	help_lacks("import", "--output", "the old --output is hidden");
	help_lacks("report", "  --format", "report's image formats are --image-format");
	help_has("report", "--image-format LIST", "--image-format listed");
	help_lacks("score", "  --format", "score's input format is --predictions-format");
	help_has("score", "--predictions-format F", "--predictions-format listed");
	help_lacks("bench", "-o, --format", "bench: -o is not --format");
}

/* docs/cli.md: every --help gives usage, options and exit codes (generate and synth had none) */
static void exit_codes(void)
{
	const char *cmds[] = { "validate", "info", "import", "tokenize", "generate", "perplexity", "synth", "run",
			       "merge", "score", "compare", "leaderboard", "report", "bench", "db list", "db add",
			       "db show", "db baseline set" };
	for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
		help_has(cmds[i], "xit codes: 0 ", "says its exit codes"); /* "Exit codes:" in run and merge */
}

static void seeds(void)
{
	const char *seeded[] = { "run", "compare", "bench", "score" };
	for (size_t i = 0; i < sizeof seeded / sizeof seeded[0]; i++)
		help_has(seeded[i], "1234", "the one default seed, 1234");
}

static void aliases(void)
{
	char tmp[] = "/tmp/merilo-flags-XXXXXX";
	if (!mkdtemp(tmp)) {
		ok(0, "mkdtemp");
		return;
	}
	CLI_EXPECT(0, "wrote", "synth --output (the old name) still writes", "synth --preset tiny --dtype f32 --output %s/a.gguf",
		   tmp);
	CLI_EXPECT(0, "llama", "and the file is a model", "info %s/a.gguf", tmp);
	CLI_EXPECT(2, "unknown dtype 'q4_k'", "synth --dtype q4_k: a bad value is a usage error, exit 2",
		   "synth --preset tiny --dtype q4_k -o %s/b.gguf", tmp);
	CLI_EXPECT(2, "unknown preset", "synth --preset huge: exit 2", "synth --preset huge -o %s/b.gguf", tmp);
	/* shape values that do not fit together are command-line values too (they exited 3) */
	CLI_EXPECT(2, "dim 63 is not an even multiple of heads 8", "synth --dim 63: exit 2",
		   "synth --preset tiny --dim 63 -o %s/b.gguf", tmp);
	CLI_EXPECT(2, "heads 3", "synth --heads 3: exit 2", "synth --preset tiny --heads 3 -o %s/b.gguf", tmp);
	CLI_EXPECT(2, "not a multiple of kv-heads 3", "synth --kv-heads 3: exit 2",
		   "synth --preset tiny --kv-heads 3 -o %s/b.gguf", tmp);
	CLI_EXPECT(2, "q4_0 needs dim and ffn to be multiples of 32", "synth --dtype q4_0 --dim 48: exit 2",
		   "synth --preset tiny --dtype q4_0 --dim 48 --heads 4 --kv-heads 2 -o %s/b.gguf", tmp);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (system(cmd))
		diag("cannot remove %s", tmp);
}

/* --affinity: listed by the four commands that compute; the same generated ids with
 * and without it (pinning moves threads, never the bits); bench records it. */
static void affinity(void)
{
	const char *computing[] = { "run", "perplexity", "generate", "bench" };
	for (size_t i = 0; i < sizeof computing / sizeof computing[0]; i++)
		help_has(computing[i], "--affinity", "--affinity listed");
	char tmp[] = "/tmp/merilo-affinity-XXXXXX";
	if (!mkdtemp(tmp)) {
		ok(0, "mkdtemp");
		return;
	}
	CLI_EXPECT(0, "wrote", "a tiny model", "synth --preset tiny --dtype q8_0 -o %s/m.gguf", tmp);
	char *plain = NULL, *pinned = NULL;
	int rc1 = cli_run(&plain, "generate --model %s/m.gguf --prompt Zdravo -n 8 --ids --threads 2 2>/dev/null", tmp);
	int rc2 = cli_run(&pinned, "generate --model %s/m.gguf --prompt Zdravo -n 8 --ids --threads 2 --affinity 2>/dev/null",
			  tmp);
	ok(rc1 == 0 && rc2 == 0 && plain && pinned && *plain && !strcmp(plain, pinned),
	   "generate --affinity: the ids of the run without it");
	if (plain && pinned && strcmp(plain, pinned))
		diag("without: %s\nwith: %s", plain, pinned);
	free(plain);
	free(pinned);
	CLI_EXPECT(0, "\"affinity\": true", "bench --affinity: recorded in the settings",
		   "bench --model %s/m.gguf -p 8 -n 2 -r 1 --warmup 0 -t 2 --affinity --energy-window 0 --format json 2>/dev/null",
		   tmp);
	char cmd[200];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
	if (system(cmd))
		diag("cannot remove %s", tmp);
}

/* Every command that takes --model says it takes an HF folder as well as a GGUF file
 * (bench refused folders while its help said "M"; run's help said "GGUF model"). */
static void model_flags(void)
{
	const char *takers[] = { "run", "perplexity", "generate", "bench", "tokenize" };
	for (size_t i = 0; i < sizeof takers / sizeof takers[0]; i++) {
		help_has(takers[i], "an HF folder", "--model takes a GGUF file or an HF folder");
		help_has(takers[i], "-m, --model", "-m is --model (bench alone had it)");
	}
}

int main(void)
{
	if (!cli_merilo())
		skip_all("MERILO does not name the merilo binary (run through make test)");
	TEST(output_flags(), "-o/--out everywhere, --format only for the output's format");
	TEST(seeds(), "one default seed");
	TEST(exit_codes(), "every command's --help says its exit codes");
	TEST(aliases(), "old spellings still parse; bad values exit 2");
	TEST(affinity(), "--affinity pins threads, not results");
	TEST(model_flags(), "--model: a GGUF file or an HF folder");
	return done_testing();
}
