/* fileio.h — whole-file I/O that never leaves a half-written file behind.
 *
 * mrl_write_file_atomic() writes a temporary file in the target's directory,
 * fsyncs it, renames it over the target and fsyncs the directory: a reader (or
 * a crash) sees either the old file or the complete new one, never a mixture.
 * On any failure the temporary file is removed and the old file is untouched.
 * mrl_read_file() reads a whole file (regular or /proc) up to a size cap, so
 * that a hostile or mistaken path cannot make us allocate without bound.
 * Errors name the path and say what happened in words ("disk full").
 */
#ifndef MRL_FILEIO_H
#define MRL_FILEIO_H

#include <stddef.h>
#include <stdio.h>

#include "common/err.h"

/* Replace path's contents with len bytes of data, atomically (see above).
 * The new file gets mode 0644 (less the umask). Returns 0, or MRL_EIO with err
 * naming the path, the step (create, write, fsync, rename) and the cause;
 * ENOSPC/EDQUOT are reported as "disk full" / "disk quota exceeded". */
int mrl_write_file_atomic(const char *path, const void *data, size_t len, struct mrl_err *err);

/* Read all of path into a new NUL-terminated buffer (*data_out, owned by the
 * caller, free() it; *len_out excludes the NUL and may be NULL). Fails with
 * MRL_EINPUT when the file holds more than max_bytes, MRL_EIO when it cannot be
 * opened or read, MRL_ENOMEM. On failure *data_out is NULL. */
int mrl_read_file(const char *path, size_t max_bytes, char **data_out, size_t *len_out,
		  struct mrl_err *err);

/* fsync the directory that holds path (so that a rename or a new file in it
 * survives a crash). Returns 0 or MRL_EIO with err naming the directory. */
int mrl_fsync_parent_dir(const char *path, struct mrl_err *err);

/* Create the folder dir and any missing parents (mode 0755, less the umask),
 * as `mkdir -p` does; folders that exist already are fine. Returns 0, or
 * MRL_EWRITE with err naming the part that could not be made ("a/b: cannot
 * create folder: Permission denied"), or saying "not a folder" when dir exists
 * as a file, or that the path is too long (PATH_MAX). */
int mrl_mkdir_p(const char *dir, struct mrl_err *err);

/* Create the missing folders above the file path (mrl_mkdir_p of its
 * directory; nothing for a name without '/', or one directly under "/"), so
 * that every command that writes a file makes its output's folders the same
 * way. Same errors as mrl_mkdir_p. */
int mrl_mkdir_parent(const char *path, struct mrl_err *err);

/* Before a long computation whose result goes to the file path: make its
 * missing folders (mrl_mkdir_parent), refuse a path that is a folder, and make
 * and remove a file beside it, so that an output that cannot be written is
 * found before the work, not after it. Returns 0, or MRL_EWRITE naming path and
 * what could not be done ("PATH: " what ": Read-only file system", what e.g.
 * "cannot write here"; "PATH: is a folder"). A disk that fills up later is still
 * found when the file is written. */
int mrl_check_writable(const char *path, const char *what, struct mrl_err *err);

/* open(path, O_RDONLY | O_CLOEXEC) that does not wait on a FIFO without a
 * writer: opened non-blocking, then switched back to blocking reads, so a FIFO
 * with no writer reads as empty at once (it hung in open()) and one with a
 * writer (`<(...)`) reads as before. The descriptor, or -1 with errno. */
int mrl_open_read(const char *path);

/* fopen(path, "rb") through mrl_open_read; NULL with errno. */
FILE *mrl_fopen_read(const char *path);

/* A short description of an I/O errno for messages: "disk full (No space left
 * on device)" for ENOSPC, strerror() otherwise. Returns a pointer into buf. */
const char *mrl_io_strerror(int errnum, char *buf, size_t buf_size);

#endif
