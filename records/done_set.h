/* done_set.h — the (task, item_id, language) keys already in items.jsonl. */
#ifndef MRL_REC_DONE_SET_H
#define MRL_REC_DONE_SET_H

#include <stdbool.h>
#include <stddef.h>

#include "records/items.h"

/* The set of (task, item_id, language) already present: for --resume. */
struct rec_done_set;

/* Build the set from items (strings copied). Returns NULL when out of memory.
 * Free with rec_done_set_free. */
struct rec_done_set *rec_done_set_new(const struct rec_items *items);

/* Whether (task, item_id, language) is in the set. */
bool rec_done_set_has(const struct rec_done_set *set, const char *task, const char *item_id,
		      const char *language);

/* Number of distinct entries. */
size_t rec_done_set_count(const struct rec_done_set *set);

/* Add one key (copied). Returns 0 or MRL_ENOMEM. */
int rec_done_set_add(struct rec_done_set *set, const char *task, const char *item_id, const char *language);

void rec_done_set_free(struct rec_done_set *set);

#endif
