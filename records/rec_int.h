/* rec_int.h — declarations shared by the files of records/ and nobody else:
 * the JSON helpers behind every record's writer and reader, and the
 * "performance" section that results.c delegates to perf.c.
 */
#ifndef MRL_REC_INT_H
#define MRL_REC_INT_H

#include "common/json.h"
#include "records/done_set.h"
#include "records/item.h"
#include "records/item_writer.h"
#include "records/items.h"
#include "records/manifest.h"
#include "records/record_json.h"
#include "records/results.h"

#define DUMP_FLAGS_COMPACT (JSON_COMPACT | JSON_REAL_PRECISION(17))
#define DUMP_FLAGS_PRETTY (JSON_INDENT(2) | JSON_REAL_PRECISION(17))

/* json_object_set_new that reports failure (including a NULL value) as 1. */
int rec_put(json_t *obj, const char *key, json_t *v);

/* A copy of s, or NULL for NULL; sets *oom when the copy fails. */
char *rec_dup_or_null(const char *s, bool *oom);

/* A string list as a JSON array (new reference) or NULL; and its release. */
json_t *rec_strlist_to_json(char *const *list, size_t n);
void rec_strlist_free(char **list, size_t n);

/* Check o's "schema_version" (o at JSON pointer path) against want:
 * MRL_EINPUT when missing or not an integer, MRL_EUNSUPPORTED for another version. */
int rec_check_schema_version(const json_t *o, int want, const char *where, const char *path, struct mrl_err *err);

/* results.json's "performance" (perf.c): release r->perf, write it, read the array into r. */
void rec_perf_release(struct rec_results *r);
json_t *rec_perf_to_json(const struct rec_perf_task *perf, size_t n);
int rec_perf_from_json(const json_t *arr, struct rec_results *r, const char *where, struct mrl_err *err);

#endif
