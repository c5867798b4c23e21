/* run_norm.h — a run's records without what differs between two sessions that
 * computed the same thing, so that a sharded, merged, MPI or resumed run can be
 * compared byte for byte with the single-process run: items.jsonl without
 * timings and the KV-cache work counters (tokens_computed/tokens_cached depend on
 * what the previous unit left in the cache), results.json without the
 * performance section, the model's load time, threads and the manifest's hosts,
 * times, shard list and command lines (argv, resumed_argv: the folders differ). Shared by tests/hrn_shard.c and tests/hrn_mpi.c.
 * Header-only (static inline functions), include after tests/cli.h.
 */
#ifndef MERILO_TESTS_RUN_NORM_H
#define MERILO_TESTS_RUN_NORM_H

#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "tests/cli.h"

static inline int strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* items.jsonl without the per-session fields, one compact sorted-key line per
 * record, in file order (sorted: the lines sorted too). Owned; NULL on error. */
static inline char *norm_items(const char *path, bool sorted)
{
	char *text = cli_slurp(path), *save = NULL;
	char **lines = NULL;
	size_t n = 0, total = 1;
	for (char *l = text ? strtok_r(text, "\n", &save) : NULL; l; l = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(l, 0, NULL);
		json_object_del(j, "timings_ns");
		json_object_del(j, "tokens_computed");
		json_object_del(j, "tokens_cached");
		char **grown = realloc(lines, (n + 1) * sizeof *lines);
		if (!grown)
			break;
		lines = grown;
		lines[n] = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17)) : strdup("(bad line)");
		total += strlen(lines[n]) + 1;
		n++;
		json_decref(j);
	}
	if (sorted && n)
		qsort(lines, n, sizeof *lines, strcmp_ptr);
	char *out = text ? calloc(total, 1) : NULL;
	for (size_t i = 0; i < n; i++) {
		if (out) {
			strcat(out, lines[i]);
			strcat(out, "\n");
		}
		free(lines[i]);
	}
	free(lines);
	free(text);
	return out;
}

/* results.json without performance, the model's load time, threads and the manifest's hosts, times
 * and command lines (compact, sorted keys). Owned; NULL on error. */
static inline char *norm_results(const char *path)
{
	json_t *j = json_load_file(path, 0, NULL);
	json_t *m = json_object_get(j, "manifest");
	json_object_del(j, "performance");
	json_object_del(json_object_get(j, "model"), "load_s"); /* a timing, where recorded */
	json_object_del(json_object_get(j, "settings"), "threads");
	json_object_del(json_object_get(m, "settings"), "threads");
	static const char *const drop[] = { "host", "started_utc", "ended_utc", "shards", "argv", "resumed_argv" };
	for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++)
		json_object_del(m, drop[i]);
	char *out = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(17)) : NULL;
	json_decref(j);
	return out;
}

#endif
