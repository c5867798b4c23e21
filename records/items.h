/* items.h — reading a whole items.jsonl (strict, or lenient for --resume). */
#ifndef MRL_REC_ITEMS_H
#define MRL_REC_ITEMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "records/item.h"

#define REC_ITEMS_MAX_LINE_BYTES ((size_t)64 << 20) /* reader's cap for one items.jsonl line */

/* An items.jsonl file as read. */
struct rec_items {
	struct rec_item *items;  /* n, in file order */
	size_t n;
	bool truncated_tail;     /* the last line had no newline and did not parse: a run killed mid-write */
	size_t tail_line;        /* its line number (1-based) when truncated_tail */
	size_t tail_bytes;       /* its length in bytes */
	uint64_t valid_bytes;    /* bytes of complete, valid lines (where an append may resume) */
	struct rec_rejected_line *rejected; /* lines left out (lenient reading, plan checks), in file order */
	size_t n_rejected;
};

/* A line of items.jsonl that was not taken: its 1-based number and why. */
struct rec_rejected_line {
	size_t line;
	char *why;
};

/* Record line `line` as rejected with a printf-formatted reason. 0 or MRL_ENOMEM. */
int rec_items_reject(struct rec_items *items, size_t line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Read all of an items.jsonl. A malformed line (other than a truncated last
 * line, which is reported in out->truncated_tail) is MRL_EINPUT naming
 * "path:line" and the field; an unknown schema_version is MRL_EUNSUPPORTED.
 * out is zeroed first; release it even on failure. A missing file is MRL_EIO. */
int rec_items_read(const char *path, struct rec_items *out, struct mrl_err *err);

/* The same, but a malformed line (not JSON, or not an item record) does not fail
 * the read: it is left out and listed in out->rejected with the reason. For a
 * run that repairs its own items.jsonl (merilo run --resume). */
int rec_items_read_lenient(const char *path, struct rec_items *out, struct mrl_err *err);

/* Free everything out owns and zero it. */
void rec_items_release(struct rec_items *items);

#endif
