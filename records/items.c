/* items.c — reading a whole items.jsonl. A line that does not parse is an
 * error naming "path:line" and the field, except an unterminated last line: the
 * trace of a run killed mid-write, reported in truncated_tail, not fatal. The
 * lenient reader (for a run that repairs its own file on --resume) leaves bad
 * lines out and lists them with the reason instead.
 */
#include "records/rec_int.h"

#include "common/fileio.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rec_items_release(struct rec_items *items)
{
	for (size_t i = 0; i < items->n; i++)
		rec_item_release(&items->items[i]);
	free(items->items);
	for (size_t i = 0; i < items->n_rejected; i++)
		free(items->rejected[i].why);
	free(items->rejected);
	memset(items, 0, sizeof *items);
}

/* Read one line (without its '\n') into *buf; returns its length, sets
 * *terminated when it ended with '\n'; -1 at EOF; -2 when it exceeds max. */
static long long read_line(FILE *f, char **buf, size_t *cap, size_t max, bool *terminated)
{
	size_t len = 0;
	int c;
	*terminated = false;
	if (!*buf) {
		if (!(*buf = malloc(4096)))
			return -3;
		*cap = 4096;
	}
	while ((c = getc_unlocked(f)) != EOF) {
		if (c == '\n') {
			*terminated = true;
			break;
		}
		if (len >= max)
			return -2;
		if (len + 1 >= *cap) {
			char *grown = realloc(*buf, *cap * 2);
			if (!grown)
				return -3;
			*buf = grown;
			*cap *= 2;
		}
		(*buf)[len++] = (char)c;
	}
	if (c == EOF && len == 0)
		return -1;
	(*buf)[len] = '\0';
	return (long long)len;
}

static int items_read(const char *path, struct rec_items *out, bool lenient, struct mrl_err *err)
{
	char *line = NULL, where[4200], why[160];
	size_t cap = 0, n_cap = 0;
	int rc = 0;
	memset(out, 0, sizeof *out);
	FILE *f = mrl_fopen_read(path);
	if (!f)
		return mrl_err_set(err, MRL_EIO, "%s: cannot open: %s", path, mrl_io_strerror(errno, why, sizeof why));
	for (size_t line_no = 1;; line_no++) {
		bool terminated;
		long long len = read_line(f, &line, &cap, REC_ITEMS_MAX_LINE_BYTES, &terminated);
		if (len == -1)
			break;
		if (len == -2) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s:%zu: line longer than the limit of %zu bytes", path, line_no,
					 REC_ITEMS_MAX_LINE_BYTES);
			goto out;
		}
		if (len == -3) {
			rc = mrl_err_set(err, MRL_ENOMEM, "%s:%zu: out of memory", path, line_no);
			goto out;
		}
		if (!terminated) {
			/* the writer ends every line with '\n': this one is a write cut short */
			out->truncated_tail = true;
			out->tail_line = line_no;
			out->tail_bytes = (size_t)len;
			break;
		}
		snprintf(where, sizeof where, "%s:%zu", path, line_no);
		if (len == 0) {
			if (lenient) {
				if ((rc = rec_items_reject(out, line_no, "an empty line")))
					goto nomem;
				continue;
			}
			rc = mrl_err_set(err, MRL_EINPUT, "%s: empty line", where);
			goto out;
		}
		json_error_t jerr;
		json_t *j = json_loadb(line, (size_t)len, JSON_REJECT_DUPLICATES, &jerr);
		if (!j) {
			if (lenient) {
				if ((rc = rec_items_reject(out, line_no, "column %d: not valid JSON: %s", jerr.column, jerr.text)))
					goto nomem;
				continue;
			}
			rc = mrl_err_set(err, MRL_EINPUT, "%s: column %d: not valid JSON: %s", where, jerr.column, jerr.text);
			goto out;
		}
		if (out->n == n_cap) {
			size_t new_cap = n_cap ? 2 * n_cap : 64;
			struct rec_item *grown = realloc(out->items, new_cap * sizeof *grown);
			if (!grown) {
				json_decref(j);
				rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", where);
				goto out;
			}
			out->items = grown;
			n_cap = new_cap;
		}
		struct mrl_err item_err = { 0 };
		rc = rec_item_from_json(j, &out->items[out->n], where, &item_err);
		json_decref(j);
		if (rc) {
			rec_item_release(&out->items[out->n]);
			if (lenient && rc == MRL_EINPUT) {
				/* the message starts with "path:line: "; keep what follows */
				const char *why = item_err.msg, *tail = strstr(why, where);
				why = tail ? tail + strlen(where) + (tail[strlen(where)] == ':' ? 1 : 0) : why;
				while (*why == ' ')
					why++;
				if ((rc = rec_items_reject(out, line_no, "%s", why)))
					goto nomem;
				continue;
			}
			*err = item_err;
			goto out;
		}
		out->items[out->n].line = line_no;
		out->n++;
		out->valid_bytes += (uint64_t)len + 1;
	}
	if (ferror(f))
		rc = mrl_err_set(err, MRL_EIO, "%s: read error: %s", path, mrl_io_strerror(errno, why, sizeof why));
	goto out;
nomem:
	rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
out:
	free(line);
	fclose(f);
	return rc;
}

int rec_items_read(const char *path, struct rec_items *out, struct mrl_err *err)
{
	return items_read(path, out, false, err);
}

int rec_items_read_lenient(const char *path, struct rec_items *out, struct mrl_err *err)
{
	return items_read(path, out, true, err);
}

int rec_items_reject(struct rec_items *items, size_t line, const char *fmt, ...)
{
	struct rec_rejected_line *grown = realloc(items->rejected, (items->n_rejected + 1) * sizeof *grown);
	if (!grown)
		return MRL_ENOMEM;
	items->rejected = grown;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&grown[items->n_rejected].why, fmt, ap);
	va_end(ap);
	if (n < 0)
		return MRL_ENOMEM;
	grown[items->n_rejected++].line = line;
	return 0;
}
