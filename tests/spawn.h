/* spawn.h — child processes in tests: start `merilo run` in the background and
 * watch it (tests/hrn_run.c, hrn_integrity.c), or run a function of the test in a
 * child that reports through a pipe (spawn_fn: for code that changes the process,
 * such as its affinity, uid or a fake /proc, or that must be killed mid-way).
 *
 * Header-only (static inline), include after tests/cli.h. The child gets
 * MERILO_TEST_SLOW_MS (merilo sleeps that long per scored unit, so a test can act
 * mid-run) and, from spawn_run_paused, MERILO_TEST_PAUSE_AT (merilo stops itself
 * with SIGSTOP once that many units are scored: a test acts on a stopped run,
 * with no race against the clock, then sends SIGCONT); its output goes to files,
 * never to the test's TAP stream. */
#ifndef MRL_SPAWN_H
#define MRL_SPAWN_H

#include "tests/cli.h"

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* Start "MERILO run ARGS..." (args NULL-terminated, 29 at most) with
 * MERILO_TEST_SLOW_MS=slow_ms and, where pause_at > 0, MERILO_TEST_PAUSE_AT.
 * Its stdout goes to out_log (NULL: /dev/null), its stderr to err_log (NULL:
 * merged into stdout). Returns the child's pid (-1 where fork failed). */
static inline pid_t spawn_run_paused(const char *merilo, const char *out_log, const char *err_log, int slow_ms,
				     int pause_at, const char *const *args)
{
	pid_t pid = fork();
	if (pid == 0) {
		char ms[16], at[16];
		snprintf(ms, sizeof ms, "%d", slow_ms);
		setenv("MERILO_TEST_SLOW_MS", ms, 1);
		snprintf(at, sizeof at, "%d", pause_at);
		if (pause_at > 0)
			setenv("MERILO_TEST_PAUSE_AT", at, 1);
		if (!freopen(out_log ? out_log : "/dev/null", "w", stdout))
			_exit(127);
		if (err_log ? !freopen(err_log, "w", stderr) : dup2(fileno(stdout), 2) < 0)
			_exit(127);
		const char *argv[32] = { merilo, "run" };
		size_t k = 2;
		for (; args[k - 2] && k < 31; k++)
			argv[k] = args[k - 2];
		argv[k] = NULL;
		execv(merilo, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

static inline pid_t spawn_run(const char *merilo, const char *out_log, const char *err_log, int slow_ms,
			      const char *const *args)
{
	return spawn_run_paused(merilo, out_log, err_log, slow_ms, 0, args);
}

/* Reap pid: its exit code, or -1 where it did not exit normally (then the signal
 * that ended it is in *sig, else *sig is 0). sig may be NULL. */
static inline int spawn_wait(pid_t pid, int *sig)
{
	int st = 0, dummy;
	if (!sig)
		sig = &dummy;
	*sig = 0;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	if (WIFSIGNALED(st))
		*sig = WTERMSIG(st);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static inline void spawn_sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	nanosleep(&ts, NULL);
}

/* Wait (120 s at most) until pid has stopped itself (MERILO_TEST_PAUSE_AT): true;
 * false where it ended first (left unreaped, for spawn_wait) or on the timeout. */
static inline bool spawn_wait_stopped(pid_t pid)
{
	for (int i = 0; i < 12000; i++) {
		siginfo_t si = { 0 };
		if (waitid(P_PID, (id_t)pid, &si, WEXITED | WSTOPPED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
			return si.si_code == CLD_STOPPED;
		spawn_sleep_ms(10);
	}
	return false;
}

/* Wait (30 s at most) until the file at path exists and is not empty; false on a timeout. */
static inline bool spawn_wait_nonempty(const char *path)
{
	for (int i = 0; i < 3000; i++) {
		if (cli_file_size(path) > 0)
			return true;
		spawn_sleep_ms(10);
	}
	return false;
}

/* Start "MERILO ARGS..." (args NULL-terminated, the command first, 30 at most)
 * with the test's environment; stdout to out_log (NULL: /dev/null), stderr to
 * err_log (NULL: merged into stdout). The child's pid (-1 where fork failed). */
static inline pid_t spawn_merilo(const char *merilo, const char *out_log, const char *err_log,
				 const char *const *args)
{
	fflush(stdout);
	pid_t pid = fork();
	if (pid == 0) {
		if (!freopen(out_log ? out_log : "/dev/null", "w", stdout))
			_exit(127);
		if (err_log ? !freopen(err_log, "w", stderr) : dup2(fileno(stdout), 2) < 0)
			_exit(127);
		const char *argv[32] = { merilo };
		size_t k = 1;
		for (; args[k - 1] && k < 31; k++)
			argv[k] = args[k - 1];
		argv[k] = NULL;
		execv(merilo, (char *const *)argv);
		_exit(127);
	}
	return pid;
}

/* Wait (60 s at most) until the file at path contains needle; false on a timeout
 * or where pid (> 0) ended first (left unreaped, for spawn_wait). */
static inline bool spawn_wait_text(const char *path, const char *needle, pid_t pid)
{
	for (int i = 0; i < 6000; i++) {
		char *text = cli_slurp(path);
		const bool found = text && strstr(text, needle);
		free(text);
		if (found)
			return true;
		siginfo_t si = { 0 };
		if (pid > 0 && waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) == 0 && si.si_pid == pid)
			return false;
		spawn_sleep_ms(10);
	}
	return false;
}

/* Run fn(fd, arg) in a forked child, which writes its findings to fd and exits
 * (fn may _exit itself; otherwise the child exits 0). Returns what it wrote, at
 * most size - 1 bytes NUL-terminated in buf; *status (may be NULL) gets the
 * waitpid status. On a failed pipe or fork buf says so and *status is -1. */
static inline const char *spawn_fn(void (*fn)(int fd, void *arg), void *arg, char *buf, size_t size, int *status)
{
	int p[2], dummy;
	if (!status)
		status = &dummy;
	*status = -1;
	snprintf(buf, size, "%s", "pipe failed");
	if (pipe(p))
		return buf;
	fflush(stdout); /* or the child's exit would print the test's buffered TAP lines again */
	pid_t pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		snprintf(buf, size, "%s", "fork failed");
		return buf;
	}
	if (pid == 0) {
		close(p[0]);
		fn(p[1], arg);
		_exit(0);
	}
	close(p[1]);
	size_t got = 0;
	char drain[512];
	for (ssize_t n; (n = got + 1 < size ? read(p[0], buf + got, size - 1 - got) : read(p[0], drain, sizeof drain)) > 0;)
		got += got + 1 < size ? (size_t)n : 0; /* past size - 1 bytes: read on and drop, so the child never blocks */
	buf[got] = '\0';
	close(p[0]);
	waitpid(pid, status, 0);
	return buf;
}

#endif
