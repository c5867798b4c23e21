/* cli.h — the plumbing the CLI tests (tests/hrn_*.c) share: run the merilo binary
 * named by $MERILO, or any shell line, and capture its output and exit code; make
 * and remove a temporary folder; read, write and measure whole files; mount a
 * tmpfs (a small or read-only disk) in a mount namespace of the test's own.
 *
 * Header-only (static inline), include after tests/tap.h. Output is captured with
 * stderr merged into stdout, since the checks look for messages on either. These
 * are test helpers: a file that cannot be read gives NULL or -1, never an abort. */
#ifndef MRL_CLI_H
#define MRL_CLI_H

#include "tests/tap.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* `merilo synth` options for the smallest model the run-loop tests need: the tiny
 * preset cut to 1 layer of dim 32 (2 query heads sharing 1 KV head, ffn 64), the
 * same code paths (GQA, every task type, generation to its token limit) at a
 * fifth of the tiny model's time per run, which tells under ASan. */
#define CLI_SYNTH_SMALL "--preset tiny --layers 1 --dim 32 --heads 2 --kv-heads 1 --ffn 64"

/* The merilo binary under test ($MERILO), or NULL where it is unset or not
 * executable (the caller skips). Also sets ASAN_OPTIONS=intercept_tls_get_addr=0
 * where unset, for every merilo the test starts: an ASan merilo dlopens libpapi,
 * and GCC 12's LeakSanitizer then misreads glibc 2.36's dynamic TLS at exit unless
 * __tls_get_addr is left alone (leaks are still found). A plain build ignores it. */
static inline const char *cli_merilo(void)
{
	const char *merilo = getenv("MERILO");
	if (!merilo || access(merilo, X_OK))
		return NULL;
	if (!getenv("ASAN_OPTIONS"))
		setenv("ASAN_OPTIONS", "intercept_tls_get_addr=0", 1);
	return merilo;
}

/* All of f up to EOF as a NUL-terminated string (malloc'd, caller frees); NULL on a read error. */
static inline char *cli_read_stream(FILE *f)
{
	size_t cap = 1 << 16, n = 0, got;
	char *buf = malloc(cap);
	while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (n + 1 == cap) {
			char *grown = realloc(buf, cap *= 2);
			if (!grown)
				free(buf);
			buf = grown;
		}
	}
	if (buf && ferror(f)) {
		free(buf);
		return NULL;
	}
	if (buf)
		buf[n] = '\0';
	return buf;
}

/* Run the shell line cmd with stderr merged; returns its exit code (-1 where it did
 * not exit normally). Its output goes to *out (malloc'd, caller frees), or is
 * dropped where out is NULL. cmd runs in a group whose stderr is merged, so a
 * redirection inside cmd (`2>/dev/null`) still holds. */
static inline int cli_capture(char **out, const char *cmd)
{
	char *line = NULL;
	if (asprintf(&line, "{ %s\n} 2>&1", cmd) < 0)
		line = NULL;
	FILE *p = line ? popen(line, "r") : NULL;
	char *text = p ? cli_read_stream(p) : NULL;
	int status = p ? pclose(p) : -1;
	free(line);
	if (!text)
		text = strdup("");
	if (out)
		*out = text;
	else
		free(text);
	return status != -1 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* cli_capture() of a printf-formatted shell line. */
static inline __attribute__((format(printf, 2, 3))) int cli_sh(char **out, const char *fmt, ...)
{
	char *cmd = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&cmd, fmt, ap);
	va_end(ap);
	int rc = cli_capture(out, n < 0 ? "false" : cmd);
	if (n >= 0)
		free(cmd);
	return rc;
}

/* cli_capture() of "'$MERILO' ARGS", ARGS printf-formatted. */
static inline __attribute__((format(printf, 2, 3))) int cli_run(char **out, const char *fmt, ...)
{
	char *args = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&args, fmt, ap);
	va_end(ap);
	const char *merilo = getenv("MERILO");
	int rc = n < 0 ? cli_capture(out, "false") : cli_sh(out, "'%s' %s", merilo ? merilo : "false", args);
	if (n >= 0)
		free(args);
	return rc;
}

/* Run merilo, then check its exit code and that its output contains needle: two
 * checks, named "NAME: exit code" and "NAME: output". */
#define CLI_EXPECT(code, needle, name, ...) do { \
	char *out_; \
	int rc_ = cli_run(&out_, __VA_ARGS__); \
	is_int(rc_, code, name ": exit code"); \
	like(out_, needle, name ": output"); \
	free(out_); \
} while (0)

/* Make a fresh folder "/tmp/merilo-NAME-XXXXXX" in buf; returns buf, or NULL where it cannot. */
static inline char *cli_tmpdir(char *buf, size_t size, const char *name)
{
	if ((size_t)snprintf(buf, size, "/tmp/merilo-%s-XXXXXX", name) >= size)
		return NULL;
	return mkdtemp(buf);
}

/* Remove the folder dir and everything in it; a failure is only a diagnostic. */
static inline void cli_rmtree(const char *dir)
{
	char *cmd = NULL;
	if (asprintf(&cmd, "rm -rf '%s'", dir) < 0 || system(cmd) != 0)
		diag("could not remove %s", dir);
	if (cmd)
		free(cmd);
}

/* Write text to the /proc file path (uid_map and friends); 0 or -1. */
static inline int cli_write_proc(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), rc = -1;
	if (fd >= 0) {
		rc = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
		close(fd);
	}
	return rc;
}

/* Mount a tmpfs with mount options opts (e.g. "size=128k") on the folder mnt, in a
 * mount namespace of this process's own: so no root-owned mount is left behind (the
 * namespace goes with the process and the commands it runs) and nothing is seen
 * outside. As root, unshare(CLONE_NEWNS); else a user namespace that maps this user
 * to root inside it. 0, or -1 with the reason in why (a container without the
 * privilege and without user namespaces): the caller skips. Remount it read-only
 * with cli_remount_ro; umount2(mnt, MNT_DETACH) before removing the folder. */
static inline int cli_mount_tmpfs(const char *mnt, const char *opts, char *why, size_t size)
{
	static int unshared; /* once per process */
	char map[64];
	const uid_t uid = getuid();
	const gid_t gid = getgid();
	if (!unshared && unshare(uid == 0 ? CLONE_NEWNS : CLONE_NEWUSER | CLONE_NEWNS) != 0) {
		snprintf(why, size, "cannot make a mount namespace: %s", strerror(errno));
		return -1;
	}
	if (!unshared && uid != 0) {
		snprintf(map, sizeof map, "0 %u 1", (unsigned)uid);
		int rc = cli_write_proc("/proc/self/setgroups", "deny") || cli_write_proc("/proc/self/uid_map", map);
		snprintf(map, sizeof map, "0 %u 1", (unsigned)gid);
		if (rc || cli_write_proc("/proc/self/gid_map", map)) {
			snprintf(why, size, "cannot map this user in a user namespace: %s", strerror(errno));
			return -1;
		}
	}
	/* never propagate a mount to the namespace it came from */
	if (!unshared && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0) {
		snprintf(why, size, "cannot make the mounts private: %s", strerror(errno));
		return -1;
	}
	unshared = 1;
	if (mount("tmpfs", mnt, "tmpfs", 0, opts) != 0) {
		snprintf(why, size, "cannot mount a tmpfs: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* Remount the tmpfs cli_mount_tmpfs mounted on mnt read-only; 0 or -1. */
static inline int cli_remount_ro(const char *mnt)
{
	return mount(NULL, mnt, NULL, MS_REMOUNT | MS_RDONLY, NULL);
}

/* The whole file at path as a NUL-terminated string (malloc'd, caller frees); NULL where it cannot be read. */
static inline char *cli_slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return NULL;
	char *text = cli_read_stream(f);
	fclose(f);
	return text;
}

/* Write text to path, replacing it; 0 or -1. */
static inline int cli_write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	int bad = fputs(text, f) < 0;
	return fclose(f) || bad ? -1 : 0;
}

/* The size in bytes of the regular file at path; -1 where there is none. */
static inline long cli_file_size(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) ? (long)st.st_size : -1;
}

/* The number of lines of text that contain needle (0 for NULL text). */
static inline size_t cli_lines_with(const char *text, const char *needle)
{
	size_t n = 0;
	for (const char *p = text; p && *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		char *line = strndup(p, len);
		n += line && strstr(line, needle);
		free(line);
		p = end ? end + 1 : NULL;
	}
	return n;
}

/* The number of newlines in text (0 for NULL). */
static inline size_t cli_count_lines(const char *text)
{
	size_t n = 0;
	for (; text && *text; text++)
		n += *text == '\n';
	return n;
}

/* The number of lines in the file at path (0 where it cannot be read). */
static inline size_t cli_file_lines(const char *path)
{
	char *text = cli_slurp(path);
	size_t n = cli_count_lines(text);
	free(text);
	return n;
}

/* Equal strings, or both NULL. */
static inline int cli_same_str(const char *a, const char *b)
{
	return a && b ? !strcmp(a, b) : a == b;
}

/* A pinned host for the commands a test runs: the SHA-256 cache in cache_dir, and no energy
 * source, NVML or CUDA library (with no_papi, no PAPI either), whatever this machine has, so
 * that records' null reasons are the same everywhere. */
static inline void cli_pin_host(const char *cache_dir, bool no_papi)
{
	setenv("MERILO_CACHE_DIR", cache_dir, 1);
	setenv("MERILO_POWERCAP_ROOT", "/nonexistent-powercap", 1);
	setenv("MERILO_PERF_POWER_ROOT", "/nonexistent-power-pmu", 1);
	setenv("MERILO_NVML_LIB", "/nonexistent/libnvidia-ml.so.1", 1);
	setenv("MERILO_CUDA_LIB", "/nonexistent/libmerilo-cuda.so", 1);
	if (no_papi)
		setenv("MERILO_PAPI_LIB", "/nonexistent/libpapi.so", 1);
}

#endif
