/* record_json.h — JSON writing helpers shared by merilo's records (and by any
 * harness writer of one): doubles, counts and strings the way results.json and
 * items.jsonl write them, and string lists. Reading goes through the typed
 * getters of common/json.h.
 */
#ifndef MRL_REC_RECORD_JSON_H
#define MRL_REC_RECORD_JSON_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* A double as JSON: a real, null for NaN, "inf"/"-inf" for infinities (new reference). */
json_t *rec_json_real(double v);

/* A string as JSON: null for NULL; bytes that are not valid UTF-8 (e.g. a
 * generation cut inside a character) are replaced by U+FFFD (new reference). */
json_t *rec_json_string(const char *s);

/* An integer as JSON, null when v < 0 (for counts and seeds where -1 = unset). */
json_t *rec_json_count(int64_t v);

/* Append a copy of s to the string list *list of *n entries. Returns 0 or MRL_ENOMEM. */
int rec_strlist_add(char ***list, size_t *n, const char *s);

#endif
