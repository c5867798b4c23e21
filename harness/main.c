/* main.c — merilo's entry point: global options and the command table.
 *
 * Like git's git.c: one table of subcommands, each in its own file
 * (harness/cmd_<name>.c). Keep this file short.
 */
#include "harness/hrn.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "common/fileio.h"

struct hrn_command {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct hrn_command commands[] = {
	{ "validate",   hrn_cmd_validate,   "check a suite file and report every problem" },
	{ "info",       hrn_cmd_info,       "describe a suite (JSON) or a model (GGUF)" },
	{ "import",     hrn_cmd_import,     "convert an outside benchmark (COPA, Belebele, Global-MMLU, MMLU-ProX, INCLUDE, ...) into a suite" },
	{ "tokenize",   hrn_cmd_tokenize,   "print the token ids (or pieces) of a text" },
	{ "generate",   hrn_cmd_generate,   "greedy generation from a prompt" },
	{ "perplexity", hrn_cmd_perplexity, "perplexity of a text file (llama.cpp's method)" },
	{ "synth",      hrn_cmd_synth,      "write a random-weight GGUF model of a given shape (speed, not quality)" },
	{ "run",        hrn_cmd_run,        "evaluate a model on a suite" },
	{ "merge",      hrn_cmd_merge,      "join the shards of a run (run --shard I/N) into one run folder" },
	{ "score",      hrn_cmd_score,      "turn predictions made elsewhere (API models) into a run folder" },
	{ "compare",    hrn_cmd_compare,    "compare two runs item by item; exit 1 on a gated regression (CI gate)" },
	{ "leaderboard", hrn_cmd_leaderboard, "a leaderboard of runs (HTML, markdown, CSV)" },
	{ "report",     hrn_cmd_report,     "HTML and markdown report of runs, with gnuplot plots" },
	{ "bench", hrn_cmd_bench, "measure prefill/decode speed, latency, energy (like llama-bench)" },
	{ "db",         hrn_cmd_db,         "the run history in SQLite: add, list, show runs; name baselines" },
};

static void print_help(FILE *out)
{
	fprintf(out,
		"usage: merilo <command> [options]\n"
		"       merilo --help | --version\n"
		"\n"
		"merilo evaluates and benchmarks language models on bilingual suites\n"
		"(English and Serbian/Croatian/Bosnian/Montenegrin), with its own engine.\n"
		"\n"
		"commands:\n");
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		fprintf(out, "  %-12s %s\n", commands[i].name, commands[i].summary);
	fprintf(out,
		"\n"
		"'merilo <command> --help' describes a command.\n"
		"\n"
		"exit codes: 0 success, 1 a verdict failed (regression found), 2 usage error,\n"
		"            3 bad input (missing, malformed or corrupt file), 4 runtime failure\n");
}

static void print_version(void)
{
	printf("merilo %s\ncommit: %s\ncompiler: %s\nbuild: %s\n", MRL_VERSION,
	       hrn_build_commit(), hrn_build_compiler(), hrn_build_options());
}

/* A command's exit code, or 4 where its standard output could not be written
 * (> /dev/full, a full disk under `> out.json`): a command that succeeded must
 * not exit 0 with its output lost. A reader that went away (EPIPE) is not a
 * failure of ours. */
static int stdout_checked(int rc)
{
	errno = 0;
	if (fflush(stdout) == 0 && !ferror(stdout))
		return rc;
	if (rc || errno == EPIPE)
		return rc;
	char why[128];
	fprintf(stderr, "merilo: standard output: %s\n",
		errno ? mrl_io_strerror(errno, why, sizeof why) : "a write failed (disk full, or the reader closed it)");
	return HRN_EXIT_RUNTIME;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		print_help(stderr);
		return HRN_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		print_help(stdout);
		return stdout_checked(HRN_EXIT_OK);
	}
	if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
		print_version();
		return stdout_checked(HRN_EXIT_OK);
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(cmd, commands[i].name))
			return stdout_checked(commands[i].fn(argc - 1, argv + 1));
	fprintf(stderr, "merilo: '%s' is not a merilo command; see 'merilo --help'\n", cmd);
	return HRN_EXIT_USAGE;
}
