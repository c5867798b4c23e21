/* item_writer.c — appending items.jsonl in fsync'ed batches of whole lines,
 * so that a killed run keeps what it computed: lines are buffered and written
 * every n items or t nanoseconds, a failed write is cut back with ftruncate,
 * and a partial last line left by an earlier kill is cut off on open.
 */
#include "records/rec_int.h"

#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------- item writer */

struct rec_item_writer {
	int fd;
	char *path;
	char *buf;              /* whole lines waiting to be written */
	size_t len, cap;
	size_t n_buffered, n_added, n_flushed;
	size_t n_before; /* whole lines in the file when it was opened (a resumed run's) */
	size_t every_items;
	int64_t every_ns;
	int64_t last_flush_ns;  /* CLOCK_MONOTONIC */
	off_t file_size;        /* bytes of whole lines on disk */
	int (*check)(void *arg, struct mrl_err *err);
	void *check_arg;
	size_t n_dropped;       /* items dropped because check failed */
};

static int64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Cut a partial last line (no '\n') off the file; returns bytes dropped or -1. */
static off_t cut_partial_tail(int fd, off_t size)
{
	char chunk[4096];
	off_t end = size;
	while (end > 0) {
		size_t n = end < (off_t)sizeof chunk ? (size_t)end : sizeof chunk;
		if (pread(fd, chunk, n, end - (off_t)n) != (ssize_t)n)
			return -1;
		for (size_t i = n; i > 0; i--)
			if (chunk[i - 1] == '\n') {
				off_t keep = end - (off_t)n + (off_t)i;
				if (keep == size)
					return 0;
				return ftruncate(fd, keep) ? -1 : size - keep;
			}
		end -= (off_t)n;
	}
	return ftruncate(fd, 0) ? -1 : size;
}

/* The newlines in the first size bytes of fd (whole lines: the partial tail is cut). */
static size_t count_lines(int fd, off_t size)
{
	char buf[1 << 16];
	size_t n = 0;
	for (off_t at = 0; at < size;) {
		const ssize_t got = pread(fd, buf, size - at < (off_t)sizeof buf ? (size_t)(size - at) : sizeof buf, at);
		if (got <= 0)
			break;
		for (ssize_t i = 0; i < got; i++)
			n += buf[i] == '\n';
		at += got;
	}
	return n;
}

int rec_item_writer_open(const char *path, const struct rec_item_writer_opts *opts,
			 struct rec_item_writer **out, size_t *dropped_tail_bytes, struct mrl_err *err)
{
	char why[160];
	int rc = 0;
	*out = NULL;
	if (dropped_tail_bytes)
		*dropped_tail_bytes = 0;
	struct rec_item_writer *w = calloc(1, sizeof *w);
	if (!w || !(w->path = strdup(path))) {
		free(w);
		return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
	}
	w->every_items = opts && opts->flush_every_items ? opts->flush_every_items : 64;
	w->every_ns = opts && opts->flush_every_ns ? opts->flush_every_ns : 5000000000LL;
	w->last_flush_ns = monotonic_ns();
	w->check = opts ? opts->check : NULL;
	w->check_arg = opts ? opts->check_arg : NULL;
	int flags = O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC | (opts && opts->truncate ? O_TRUNC : 0);
	w->fd = open(path, flags, 0644);
	if (w->fd < 0) {
		rc = mrl_err_set(err, MRL_EWRITE, "%s: cannot open for appending: %s", path,
				 mrl_io_strerror(errno, why, sizeof why));
		goto out;
	}
	struct stat st;
	if (fstat(w->fd, &st)) {
		rc = mrl_err_set(err, MRL_EWRITE, "%s: cannot stat: %s", path, mrl_io_strerror(errno, why, sizeof why));
		goto out;
	}
	off_t dropped = cut_partial_tail(w->fd, st.st_size);
	if (dropped < 0) {
		rc = mrl_err_set(err, MRL_EWRITE, "%s: cannot cut off a partial last line: %s", path,
				 mrl_io_strerror(errno, why, sizeof why));
		goto out;
	}
	w->file_size = st.st_size - dropped;
	w->n_before = count_lines(w->fd, w->file_size);
	if (dropped_tail_bytes)
		*dropped_tail_bytes = (size_t)dropped;
	/* the file's directory entry must survive a crash too */
	if ((dropped && fsync(w->fd)) || (rc = mrl_fsync_parent_dir(path, err))) {
		if (!rc)
			rc = mrl_err_set(err, MRL_EWRITE, "%s: fsync failed: %s", path, mrl_io_strerror(errno, why, sizeof why));
		goto out;
	}
out:
	if (rc) {
		if (w->fd >= 0)
			close(w->fd);
		free(w->path);
		free(w);
		return rc;
	}
	*out = w;
	return 0;
}

int rec_item_writer_flush(struct rec_item_writer *w, struct mrl_err *err)
{
	char why[160];
	size_t done = 0;
	w->last_flush_ns = monotonic_ns();
	if (!w->len)
		return 0;
	int rc = w->check ? w->check(w->check_arg, err) : 0;
	if (rc) {
		/* computed under a condition that no longer holds: never written */
		w->n_dropped += w->n_buffered;
		w->len = 0;
		w->n_buffered = 0;
		return rc;
	}
	while (done < w->len) {
		ssize_t n = write(w->fd, w->buf + done, w->len - done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			goto fail;
		done += (size_t)n;
	}
	if (fsync(w->fd))
		goto fail;
	w->file_size += (off_t)w->len;
	w->len = 0;
	w->n_flushed += w->n_buffered;
	w->n_buffered = 0;
	return 0;
fail:;
	int saved = errno;
	/* keep only whole lines on disk; the lines stay buffered for a retry */
	if (ftruncate(w->fd, w->file_size) == 0)
		fsync(w->fd);
	return mrl_err_set(err, MRL_EWRITE, "%s: cannot write %zu buffered item(s): %s; the file keeps the %zu item(s) written before",
			   w->path, w->n_buffered, mrl_io_strerror(saved, why, sizeof why), w->n_before + w->n_flushed);
}

int rec_item_writer_add(struct rec_item_writer *w, const struct rec_item *it, struct mrl_err *err)
{
	json_t *j = rec_item_to_json(it);
	char *line = j ? json_dumps(j, DUMP_FLAGS_COMPACT) : NULL;
	json_decref(j);
	if (!line)
		return mrl_err_set(err, MRL_ENOMEM, "%s: cannot serialize item %s/%s/%s (out of memory, or a metric or timing without a name)",
				   w->path, it->task ? it->task : "?", it->item_id ? it->item_id : "?",
				   it->language ? it->language : "?");
	size_t n = strlen(line);
	if (w->len + n + 1 > w->cap) {
		size_t new_cap = w->cap ? w->cap : 65536;
		while (new_cap < w->len + n + 1)
			new_cap *= 2;
		char *grown = realloc(w->buf, new_cap);
		if (!grown) {
			free(line);
			return mrl_err_set(err, MRL_ENOMEM, "%s: out of memory buffering items", w->path);
		}
		w->buf = grown;
		w->cap = new_cap;
	}
	memcpy(w->buf + w->len, line, n);
	w->buf[w->len + n] = '\n';
	w->len += n + 1;
	free(line);
	w->n_buffered++;
	w->n_added++;
	if (w->n_buffered >= w->every_items ||
	    (w->every_ns > 0 && monotonic_ns() - w->last_flush_ns >= w->every_ns))
		return rec_item_writer_flush(w, err);
	return 0;
}

size_t rec_item_writer_n_added(const struct rec_item_writer *w) { return w->n_added; }
size_t rec_item_writer_n_flushed(const struct rec_item_writer *w) { return w->n_flushed; }
size_t rec_item_writer_n_dropped(const struct rec_item_writer *w) { return w->n_dropped; }

int rec_item_writer_close(struct rec_item_writer *w, struct mrl_err *err)
{
	char why[160];
	if (!w)
		return 0;
	int rc = rec_item_writer_flush(w, err);
	if (close(w->fd) && !rc)
		rc = mrl_err_set(err, MRL_EWRITE, "%s: close failed: %s", w->path, mrl_io_strerror(errno, why, sizeof why));
	free(w->buf);
	free(w->path);
	free(w);
	return rc;
}
