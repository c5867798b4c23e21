/* util.c — exit-code mapping, error printing, build description, and small
 * checks several commands share (the tasks of --lang, distinct run folders,
 * units scored without a prediction). */
#include "harness/hrn.h"
#include "common/fileio.h"
#include "tasks/task.h"
#include "records/results.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <stdio.h>

bool hrn_is_gguf(const char *path)
{
	FILE *f = mrl_fopen_read(path);
	char magic[4] = { 0 };
	bool yes = f && fread(magic, 1, 4, f) == 4 && !memcmp(magic, "GGUF", 4);
	if (f)
		fclose(f);
	return yes;
}

bool hrn_is_folder(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

int hrn_exit_for(int mrl_code)
{
	switch (mrl_code) {
	case MRL_OK: return HRN_EXIT_OK;
	case MRL_EINPUT:
	case MRL_EIO:
	case MRL_EUNSUPPORTED: return HRN_EXIT_INPUT;
	default: return HRN_EXIT_RUNTIME;
	}
}

int hrn_report(const struct mrl_err *err)
{
	/* a failure whose callee returned a code without mrl_err_set (an allocation that failed
	 * before a message could be made) is still a failure: exit 4, never 0 */
	const int unset = err->code == MRL_OK;
	fprintf(stderr, "merilo: %s\n",
		err->msg[0] ? err->msg : unset ? "a step failed without a message (most likely out of memory)" : "unknown error");
	return unset ? HRN_EXIT_RUNTIME : hrn_exit_for(err->code);
}

void hrn_print_model_warnings(const struct eng_model *m)
{
	for (size_t i = 0; m && i < eng_model_n_warnings(m); i++)
		fprintf(stderr, "merilo: warning: %s\n", eng_model_warning(m, i));
}

int hrn_usage_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "merilo %s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry 'merilo %s --help'.\n", cmd);
	return HRN_EXIT_USAGE;
}

const char *hrn_build_compiler(void)
{
#if defined(__clang__)
	return "clang " __clang_version__;
#elif defined(__GNUC__)
	return "gcc " __VERSION__;
#else
	return "unknown";
#endif
}

const char *hrn_build_commit(void)
{
	return MRL_GIT_COMMIT;
}

const char *hrn_build_options(void)
{
	return "cflags=" MRL_CFLAGS
#if MRL_HAVE_CUDA
	       " CUDA=yes"
#else
	       " CUDA=no"
#endif
#if MRL_HAVE_PAPI
	       " PAPI=yes"
#else
	       " PAPI=no"
#endif
#if MRL_HAVE_MPI
	       " MPI=yes";
#else
	       " MPI=no";
#endif
}

int hrn_lock_file(const char *path, int *fd_out)
{
	*fd_out = -1;
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int e = errno;
		if (e != EWOULDBLOCK) {
			close(fd);
			errno = e;
			return -1;
		}
		/* the holder writes its pid right after locking: give it a moment */
		char buf[32] = "";
		long pid = 0;
		for (int tries = 0; tries < 50 && pid <= 0; tries++) {
			ssize_t n = pread(fd, buf, sizeof buf - 1, 0);
			buf[n > 0 ? n : 0] = '\0';
			pid = strtol(buf, NULL, 10);
			if (pid <= 0)
				usleep(10000);
		}
		close(fd);
		return pid > 0 && pid <= INT32_MAX ? (int)pid : INT32_MAX;
	}
	char buf[32];
	int n = snprintf(buf, sizeof buf, "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)n, 0) != n) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	*fd_out = fd;
	return 0;
}

int hrn_refuse_run_dir(const char *dir, const char *cmd, const char *how, const char *resume_hint)
{
	static const char *const files[] = { "run.json", "items.jsonl", "results.json" };
	bool has[3];
	char path[4200];
	struct stat sb;
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof path, "%s/%s", dir, files[i]);
		has[i] = stat(path, &sb) == 0;
	}
	if (!has[0] && !has[1] && !has[2])
		return 0;
	if (has[0] && resume_hint)
		fprintf(stderr, "merilo %s: %s already holds a run%s; continue it with %s %s, or choose another %s\n", cmd,
			dir, has[2] ? "" : " (unfinished: no results.json)", resume_hint, dir, how);
	else if (has[2])
		fprintf(stderr, "merilo %s: %s already holds a run (results.json); choose another %s\n", cmd, dir, how);
	else
		fprintf(stderr, "merilo %s: %s holds %s but no results.json (an unfinished run%s); remove the folder, "
				"or choose another %s\n", cmd, dir, has[0] ? "run.json" : "items.jsonl",
			has[0] ? "" : " without its run.json, which nothing can resume", how);
	return HRN_EXIT_USAGE;
}

int hrn_tasks_for_langs(const char *cmd, const struct task_task **tasks, size_t *n_tasks, char *const *langs,
			size_t n_langs, const char *langs_arg, bool named)
{
	size_t kept = 0;
	for (size_t k = 0; k < *n_tasks; k++) {
		bool any = false;
		for (size_t l = 0; l < n_langs && !any; l++)
			any = task_language_index(tasks[k], langs[l]) >= 0;
		if (any) {
			tasks[kept++] = tasks[k];
			continue;
		}
		if (named) {
			char list[512] = "";
			size_t len = 0;
			for (size_t l = 0; l < task_n_languages(tasks[k]) && len < sizeof list; l++)
				len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", l ? ", " : "",
							task_language(tasks[k], l));
			return hrn_usage_error(cmd, "--tasks %s: the task has none of --lang %s (its languages: %s)",
					       task_id(tasks[k]), langs_arg, list);
		}
	}
	*n_tasks = kept;
	return 0;
}

int64_t hrn_results_missing(const struct rec_results *r)
{
	const json_t *x = r->settings.extra, *u;
	int64_t n = 0;
	size_t i;
	if (!json_is_true(json_object_get(x, "missing_counted_as_wrong")))
		return 0;
	json_array_foreach(json_object_get(x, "units"), i, u)
		n += json_integer_value(json_object_get(u, "missing"));
	return n;
}

int hrn_distinct_runs(const char *cmd, const char *const *dirs, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (size_t j = 0; j < i; j++) {
			char a[PATH_MAX], b[PATH_MAX];
			const bool same = realpath(dirs[i], a) && realpath(dirs[j], b) ? !strcmp(a, b) : !strcmp(dirs[i], dirs[j]);
			if (same)
				return hrn_usage_error(cmd, "the run %s is given twice (as '%s' and '%s')", dirs[i], dirs[j],
						       dirs[i]);
		}
	return 0;
}
