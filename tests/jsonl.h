/* jsonl.h — a JSON Lines file (items.jsonl) as one JSON array, for the CLI tests that
 * read a run's records. Header-only; include after tests/cli.h. */
#ifndef MRL_TESTS_JSONL_H
#define MRL_TESTS_JSONL_H

#include <jansson.h>

#include "tests/cli.h"

/* The objects of the file at path, one a line, as an array (a new reference; empty
 * where the file cannot be read). */
static inline json_t *load_jsonl(const char *path)
{
	char *text = cli_slurp(path), *save = NULL;
	json_t *arr = json_array();
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save))
		json_array_append_new(arr, json_loads(l, 0, NULL));
	free(text);
	return arr;
}

#endif
