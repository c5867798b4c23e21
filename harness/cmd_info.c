/* cmd_info.c — `merilo info FILE`: a GGUF model or a JSON suite. A file is a
 * model when its first four bytes are "GGUF" or its name ends in ".gguf": an
 * empty, cut or damaged model is then described as a broken GGUF (what is wrong
 * with it), not parsed as JSON. A folder is a model too (an HF checkpoint). */
#include "harness/hrn.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

static bool gguf_name(const char *path)
{
	size_t n = strlen(path);
	return n >= 5 && !strcasecmp(path + n - 5, ".gguf");
}

static const char *first_positional(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (argv[i][0] != '-')
			return argv[i];
	return NULL;
}

int hrn_cmd_info(int argc, char **argv)
{
	const char *path = first_positional(argc, argv);
	if (!path) {
		for (int i = 1; i < argc; i++)
			if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
				printf("usage: merilo info SUITE.json [--json]\n"
				       "       merilo info MODEL.gguf|HF_FOLDER [--verbose]\n"
				       "Describe a suite (tasks, languages, item counts, pairing coverage)\n"
				       "or a model (architecture, parameters, dtypes, tokenizer). A file whose\n"
				       "name ends in .gguf or that starts with \"GGUF\" is taken as a model.\n");
				return HRN_EXIT_OK;
			}
		return hrn_usage_error("info", "expected a suite (.json) or model (.gguf) file");
	}
	struct stat st;
	if (gguf_name(path) || (stat(path, &st) == 0 && S_ISDIR(st.st_mode))) /* a folder: an HF checkpoint */
		return hrn_info_model(argc, argv);
	char magic[4] = {0};
	FILE *f = fopen(path, "rb");
	if (f) {
		size_t n = fread(magic, 1, 4, f);
		fclose(f);
		if (n == 4 && !memcmp(magic, "GGUF", 4))
			return hrn_info_model(argc, argv);
	}
	return hrn_info_suite(argc, argv);
}
