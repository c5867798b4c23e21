/* item_writer.h — appending items.jsonl in fsync'ed batches of whole lines. */
#ifndef MRL_REC_ITEM_WRITER_H
#define MRL_REC_ITEM_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "records/item.h"

/* The item writer: buffers lines in memory and writes + fsyncs them every
 * flush_every_items items or flush_every_ns nanoseconds (checked when an item
 * is added; there is no background thread), on rec_item_writer_flush and on
 * close. A failed flush is rolled back with ftruncate so that the file only
 * ever holds whole lines. */
struct rec_item_writer;

struct rec_item_writer_opts {
	size_t flush_every_items;  /* 0 -> 64 */
	int64_t flush_every_ns;    /* 0 -> 5 s; negative -> only by count */
	bool truncate;             /* start a new file instead of appending */
	/* Called before buffered lines are written (may be NULL): a nonzero return
	 * (with err set) drops the buffered lines unwritten and is returned by the
	 * flush. For checks that the lines are still valid, e.g. the model file. */
	int (*check)(void *arg, struct mrl_err *err);
	void *check_arg;
};

/* Open path for appending (created if absent; emptied when opts->truncate).
 * opts may be NULL (defaults). An existing file whose last line is not
 * newline-terminated (a run killed mid-write) has that partial line cut off;
 * *dropped_tail_bytes (may be NULL) says how many bytes were dropped.
 * On success *out is the handle (owned; rec_item_writer_close frees it). */
int rec_item_writer_open(const char *path, const struct rec_item_writer_opts *opts,
			 struct rec_item_writer **out, size_t *dropped_tail_bytes, struct mrl_err *err);

/* Serialize it into the buffer; flushes when a threshold is reached.
 * Returns 0 or an error from the flush (MRL_EIO names the path and cause). */
int rec_item_writer_add(struct rec_item_writer *w, const struct rec_item *it, struct mrl_err *err);

/* Write buffered lines and fsync. Returns 0 or MRL_EIO; on failure the lines
 * stay buffered and the file is cut back to its last whole line. */
int rec_item_writer_flush(struct rec_item_writer *w, struct mrl_err *err);

/* Items added so far, and items written (flushed) so far. */
size_t rec_item_writer_n_added(const struct rec_item_writer *w);
size_t rec_item_writer_n_flushed(const struct rec_item_writer *w);
/* Items dropped unwritten because opts->check failed. */
size_t rec_item_writer_n_dropped(const struct rec_item_writer *w);

/* Flush, fsync, close and free w (always freed, even on error; NULL is fine). */
int rec_item_writer_close(struct rec_item_writer *w, struct mrl_err *err);

#endif
