/* cmd_info.c — `merilo info FILE`: a GGUF model or a JSON suite. A file is a
 * model when its first four bytes are "GGUF" or its name ends in ".gguf": an
 * empty, cut or damaged model is then described as a broken GGUF (what is wrong
 * with it), not parsed as JSON. A folder is a model too (an HF checkpoint). */
#include "harness/hrn.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include <jansson.h>

#include "tasks/task.h"

static bool gguf_name(const char *path)
{
	size_t n = strlen(path);
	return n >= 5 && !strcasecmp(path + n - 5, ".gguf");
}

static void usage(FILE *out, const struct mrl_option *opts)
{
	fprintf(out, "usage: merilo info SUITE.json [--tasks] [--json]\n"
		     "       merilo info MODEL.gguf|HF_FOLDER [--lora ADAPTER] [--verbose] [--json]\n"
		     "Describe a suite (tasks, languages, item counts, pairing coverage;\n"
		     "--tasks: only the task ids with their type and languages, the names\n"
		     "`merilo run --tasks` and `--lang` accept)\n"
		     "or a model (architecture, parameters, dtypes, tokenizer). A file whose\n"
		     "name ends in .gguf or that starts with \"GGUF\" is taken as a model.\n");
	hrn_print_options(out, opts, 15);
	fprintf(out, "exit codes: 0 ok, 2 usage error, 3 invalid or unreadable file\n");
}

static bool is_model(const char *path)
{
	return gguf_name(path) || hrn_is_folder(path) || hrn_is_gguf(path); /* a folder: an HF checkpoint */
}

/* `info SUITE --tasks`: one line per task (id, type, languages), or with --json
 * an array of {id, type, languages}. Returns an exit code. */
static int info_suite_tasks(const char *path, bool as_json)
{
	struct task_suite *s = NULL;
	struct mrl_err err = {0};
	if (task_suite_load(path, &s, NULL, &err))
		return hrn_report(&err);
	json_t *arr = json_array();
	for (size_t i = 0; i < task_suite_n_tasks(s); i++) {
		const struct task_task *t = task_suite_task(s, i);
		json_t *langs = json_array();
		if (!as_json)
			printf("%-20s %-16s", task_id(t), task_type_name(task_type(t)));
		for (size_t l = 0; l < task_n_languages(t); l++) {
			json_array_append_new(langs, json_string(task_language(t, l)));
			if (!as_json)
				printf("%s%s", l ? "," : " ", task_language(t, l));
		}
		if (!as_json)
			printf("\n");
		json_array_append_new(arr, json_pack("{s:s, s:s, s:o}", "id", task_id(t), "type",
						     task_type_name(task_type(t)), "languages", langs));
	}
	if (as_json) {
		char *text = json_dumps(arr, JSON_INDENT(2));
		if (text)
			printf("%s\n", text);
		free(text);
	}
	json_decref(arr);
	task_suite_free(s);
	return HRN_EXIT_OK;
}

int hrn_cmd_info(int argc, char **argv)
{
	bool as_json = false, verbose = false, tasks_only = false;
	const char *lora = NULL;
	const struct mrl_option opts[] = {
		OPT_BOOL(0, "tasks", &tasks_only, "a suite: list its tasks (id, type, languages) only"),
		OPT_BOOL(0, "json", &as_json, "print the same as a JSON object (a suite or a model)"),
		OPT_BOOL('v', "verbose", &verbose, "a model: every metadata entry and every tensor"),
		OPT_STRING_F(0, "lora", &lora, "DIR", HRN_LORA_HELP, MRL_OPT_NONEMPTY),
		OPT_END(),
	};
	int n_args, rc = hrn_options("info", opts, argc, argv, &n_args, usage);
	if (rc != HRN_OPTS_GO)
		return rc;
	if (!n_args)
		return hrn_usage_error("info", "expected a suite (.json) or model (.gguf) file");
	if (n_args > 1)
		return hrn_usage_error("info", "one file at a time ('%s' and '%s')", argv[0], argv[1]);
	if (is_model(argv[0])) {
		if (tasks_only)
			return hrn_usage_error("info", "--tasks is for a suite; %s is a model", argv[0]);
		return hrn_info_model(argv[0], lora, verbose, as_json);
	}
	if (lora)
		return hrn_usage_error("info", "--lora is for a model; %s is a suite", argv[0]);
	if (verbose)
		return hrn_usage_error("info", "--verbose is for a model; %s is a suite", argv[0]);
	return tasks_only ? info_suite_tasks(argv[0], as_json) : hrn_info_suite(argv[0], as_json);
}
