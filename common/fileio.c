/* fileio.c — see fileio.h. Atomic replace = temp + fsync + rename + fsync(dir).
 *
 * The temporary file is "<dir>/.<name>.tmp.<pid>.<ns>.<n>", in the same
 * directory so that rename() is atomic (same filesystem). Only after the data
 * is on disk (fsync) is it renamed over the target; a failed write (disk full)
 * therefore removes the temporary and leaves the old file exactly as it was.
 */
#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *mrl_io_strerror(int errnum, char *buf, size_t buf_size)
{
	if (errnum == ENOSPC)
		snprintf(buf, buf_size, "disk full (%s)", strerror(errnum));
	else if (errnum == EDQUOT)
		snprintf(buf, buf_size, "disk quota exceeded (%s)", strerror(errnum));
	else if (errnum == EFBIG)
		snprintf(buf, buf_size, "file size limit reached (%s)", strerror(errnum));
	else
		snprintf(buf, buf_size, "%s", strerror(errnum));
	return buf;
}

int mrl_mkdir_p(const char *dir, struct mrl_err *err)
{
	char buf[PATH_MAX];
	if (!dir[0])
		return mrl_err_set(err, MRL_EWRITE, "cannot create a folder with an empty name");
	if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf)
		return mrl_err_set(err, MRL_EWRITE, "%.64s...: cannot create folder: path too long", dir);
	for (char *p = buf + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			if (mkdir(buf, 0755) && errno != EEXIST)
				return mrl_err_set(err, MRL_EWRITE, "%s: cannot create folder: %s", buf, strerror(errno));
			*p = '/';
		}
	if (mkdir(buf, 0755) && errno != EEXIST)
		return mrl_err_set(err, MRL_EWRITE, "%s: cannot create folder: %s", buf, strerror(errno));
	struct stat st;
	if (stat(buf, &st) || !S_ISDIR(st.st_mode))
		return mrl_err_set(err, MRL_EWRITE, "%s: not a folder", buf);
	return 0;
}

int mrl_mkdir_parent(const char *path, struct mrl_err *err)
{
	const char *slash = strrchr(path, '/');
	if (!slash || slash == path)
		return 0;
	char buf[PATH_MAX];
	size_t n = (size_t)(slash - path);
	if (n >= sizeof buf)
		return mrl_err_set(err, MRL_EWRITE, "%.64s...: cannot create folder: path too long", path);
	memcpy(buf, path, n);
	buf[n] = '\0';
	return mrl_mkdir_p(buf, err);
}

/* Split path into its directory ("." when none) in dir (size PATH_MAX). */
static int dir_of(const char *path, char *dir, size_t dir_size)
{
	const char *slash = strrchr(path, '/');
	if (!slash) {
		snprintf(dir, dir_size, ".");
		return 0;
	}
	size_t n = (size_t)(slash - path);
	if (n == 0)
		n = 1; /* "/name" -> "/" */
	if (n >= dir_size)
		return -1;
	memcpy(dir, path, n);
	dir[n] = '\0';
	return 0;
}

int mrl_open_read(const char *path)
{
	const int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return -1;
	const int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0) {
		const int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

FILE *mrl_fopen_read(const char *path)
{
	const int fd = mrl_open_read(path);
	FILE *f = fd >= 0 ? fdopen(fd, "rb") : NULL;
	if (fd >= 0 && !f) {
		const int e = errno;
		close(fd);
		errno = e;
	}
	return f;
}

int mrl_check_writable(const char *path, const char *what, struct mrl_err *err)
{
	int rc = mrl_mkdir_parent(path, err);
	if (rc)
		return rc;
	struct stat sb;
	if (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode))
		return mrl_err_set(err, MRL_EWRITE, "%s: is a folder (a file name is wanted)", path);
	char dir[PATH_MAX], probe[PATH_MAX + 32];
	if (dir_of(path, dir, sizeof dir))
		return mrl_err_set(err, MRL_EWRITE, "%.64s...: path too long", path);
	snprintf(probe, sizeof probe, "%s/.merilo-probe-XXXXXX", dir);
	/* a file made and removed: access() says yes to root where none can be made (/proc) */
	const int fd = mkstemp(probe);
	if (fd < 0) {
		char why[128];
		return mrl_err_set(err, MRL_EWRITE, "%s: %s: %s", path, what, mrl_io_strerror(errno, why, sizeof why));
	}
	close(fd);
	unlink(probe);
	return 0;
}

int mrl_fsync_parent_dir(const char *path, struct mrl_err *err)
{
	char dir[PATH_MAX], why[160];
	if (dir_of(path, dir, sizeof dir))
		return mrl_err_set(err, MRL_EWRITE, "%s: path too long", path);
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return mrl_err_set(err, MRL_EWRITE, "%s: cannot open directory to sync it: %s", dir,
				   mrl_io_strerror(errno, why, sizeof why));
	int rc = 0;
	/* some filesystems refuse fsync on directories (EINVAL); nothing to sync there */
	if (fsync(fd) && errno != EINVAL && errno != EROFS)
		rc = mrl_err_set(err, MRL_EWRITE, "%s: cannot sync directory: %s", dir,
				 mrl_io_strerror(errno, why, sizeof why));
	close(fd);
	return rc;
}

int mrl_write_file_atomic(const char *path, const void *data, size_t len, struct mrl_err *err)
{
	char dir[PATH_MAX], tmp[PATH_MAX], why[160];
	int rc = 0, fd = -1;
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	if (!*base)
		return mrl_err_set(err, MRL_EWRITE, "%s: not a file name", path);
	if (dir_of(path, dir, sizeof dir))
		return mrl_err_set(err, MRL_EWRITE, "%s: path too long", path);
	/* O_EXCL with a name from pid and clock (not mkstemp, whose mode 0600 we would have
	 * to widen by reading the umask, a process-global); the umask applies to 0644 */
	for (int attempt = 0; fd < 0 && attempt < 100; attempt++) {
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		if ((size_t)snprintf(tmp, sizeof tmp, "%s/.%s.tmp.%ld.%ld.%d", dir, base, (long)getpid(),
				     (long)now.tv_nsec, attempt) >= sizeof tmp)
			return mrl_err_set(err, MRL_EWRITE, "%s: path too long", path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		if (fd < 0 && errno != EEXIST)
			break;
	}
	if (fd < 0) {
		rc = mrl_err_set(err, MRL_EWRITE, "%s: cannot create a temporary file in %s: %s", path, dir,
				 mrl_io_strerror(errno, why, sizeof why));
		tmp[0] = '\0';
		goto out;
	}
	const char *p = data;
	size_t left = len;
	while (left) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = mrl_err_set(err, MRL_EWRITE, "%s: write failed after %zu of %zu bytes: %s; the old file is unchanged",
					 path, len - left, len, mrl_io_strerror(errno, why, sizeof why));
			goto out;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fsync(fd)) {
		rc = mrl_err_set(err, MRL_EWRITE, "%s: fsync failed: %s; the old file is unchanged", path,
				 mrl_io_strerror(errno, why, sizeof why));
		goto out;
	}
	if (close(fd)) {
		fd = -1;
		rc = mrl_err_set(err, MRL_EWRITE, "%s: close failed: %s; the old file is unchanged", path,
				 mrl_io_strerror(errno, why, sizeof why));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path)) {
		rc = mrl_err_set(err, MRL_EWRITE, "%s: cannot rename %s over it: %s; the old file is unchanged", path,
				 tmp, mrl_io_strerror(errno, why, sizeof why));
		goto out;
	}
	tmp[0] = '\0'; /* now the target: nothing to remove */
	rc = mrl_fsync_parent_dir(path, err);
out:
	if (fd >= 0)
		close(fd);
	if (rc && tmp[0])
		unlink(tmp);
	return rc;
}

int mrl_read_file(const char *path, size_t max_bytes, char **data_out, size_t *len_out,
		  struct mrl_err *err)
{
	char why[160];
	int rc = 0;
	char *buf = NULL;
	size_t len = 0, cap = 0;
	*data_out = NULL;
	if (len_out)
		*len_out = 0;
	int fd = mrl_open_read(path);
	if (fd < 0)
		return mrl_err_set(err, MRL_EIO, "%s: cannot open: %s", path, mrl_io_strerror(errno, why, sizeof why));
	struct stat st;
	if (fstat(fd, &st)) {
		rc = mrl_err_set(err, MRL_EIO, "%s: cannot stat: %s", path, mrl_io_strerror(errno, why, sizeof why));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		rc = mrl_err_set(err, MRL_EIO, "%s: is a directory, not a file", path);
		goto out;
	}
	/* st_size is only a hint: /proc files report 0, and files may grow while read */
	if (S_ISREG(st.st_mode) && (uint64_t)st.st_size > max_bytes) {
		rc = mrl_err_set(err, MRL_EINPUT, "%s: file is %lld bytes, more than the limit of %zu bytes", path,
				 (long long)st.st_size, max_bytes);
		goto out;
	}
	cap = S_ISREG(st.st_mode) && st.st_size > 0 ? (size_t)st.st_size + 1 : 4096;
	for (;;) {
		if (len + 1 >= cap) {
			/* room for max_bytes, the NUL and one byte to see that the file is longer
			 * (max_bytes near SIZE_MAX: no cap, and no wrap-around) */
			size_t new_cap = cap * 2, most = max_bytes > SIZE_MAX - 2 ? SIZE_MAX : max_bytes + 2;
			if (new_cap > most || new_cap < cap)
				new_cap = most;
			if (new_cap <= cap) {
				rc = mrl_err_set(err, MRL_EINPUT, "%s: file holds more than the limit of %zu bytes", path,
						 max_bytes);
				goto out;
			}
			cap = new_cap;
			char *grown = realloc(buf, cap);
			if (!grown) {
				rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory reading %zu bytes", path, cap);
				goto out;
			}
			buf = grown;
		} else if (!buf) {
			buf = malloc(cap);
			if (!buf) {
				rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory reading %zu bytes", path, cap);
				goto out;
			}
		}
		ssize_t n = read(fd, buf + len, cap - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = mrl_err_set(err, MRL_EIO, "%s: read error at byte %zu: %s", path, len,
					 mrl_io_strerror(errno, why, sizeof why));
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max_bytes) {
			rc = mrl_err_set(err, MRL_EINPUT, "%s: file holds more than the limit of %zu bytes", path,
					 max_bytes);
			goto out;
		}
	}
	if (!buf && !(buf = malloc(1))) {
		rc = mrl_err_set(err, MRL_ENOMEM, "%s: out of memory", path);
		goto out;
	}
	buf[len] = '\0';
	*data_out = buf;
	buf = NULL;
	if (len_out)
		*len_out = len;
out:
	free(buf);
	close(fd);
	return rc;
}
