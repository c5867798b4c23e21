/* run_mpi.c — `merilo run --mpi`: one shard per MPI rank, merged on rank 0.
 *
 * Under `mpirun -np N merilo run --mpi --out DIR ...` rank r runs shard r+1 of N
 * as an ordinary `merilo run --shard r+1/N --out DIR/shards/<r+1>-of-<N>` (or
 * --resume of that folder when it exists), with the CPUs of its host split among
 * the ranks on that host (no more than it is bound to) unless --threads is given. The ranks then exchange their
 * exit codes and last error lines; when all succeeded rank 0 merges the shards
 * into DIR (cmd_merge.c), otherwise every rank fails naming the ranks that
 * failed. The shard folders stay: `mpirun ... merilo run --mpi --resume DIR`
 * reruns only what is missing. With -q rank 0 prints one closing line instead of
 * the merged summary, as run -q does. Without Open MPI at build time, --mpi says so.
 */
#include "harness/shard.h"

#include <string.h>

#include "harness/hrn.h"
#include "harness/manifest.h"

bool hrn_run_wants_mpi(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return false;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return false;
		if (!strcmp(argv[i], "--mpi"))
			return true;
	}
	return false;
}

#if !MRL_HAVE_MPI
int hrn_run_mpi(int argc, char **argv, int (*run)(int argc, char **argv))
{
	(void)argc;
	(void)argv;
	(void)run;
	return hrn_usage_error("run", "--mpi is unavailable: this merilo was built without MPI (mpi.h of Open MPI was "
				      "not found at build time; install libopenmpi-dev and rebuild)");
}
#else
#include <errno.h>
#include <fcntl.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/fileio.h"

#define MPI_ERR_LINE 512 /* bytes of a rank's last error line sent to rank 0 */

/* What --mpi needs from run's command line. */
struct mpi_args {
	const char *dir;     /* --out or --resume */
	bool resume, threads_given;
	bool quiet;          /* -q: rank 0 prints one closing line, not the summary */
	const char *bad;     /* an option --mpi excludes */
};

/* The value of option name at argv[*i] ("--name V" or "--name=V"), advancing *i. */
static const char *opt_value(int argc, char **argv, int *i, const char *name)
{
	size_t n = strlen(name);
	if (!strncmp(argv[*i], name, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (!strcmp(argv[*i], name) && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

static void scan_args(int argc, char **argv, struct mpi_args *a)
{
	*a = (struct mpi_args){ 0 };
	for (int i = 1; i < argc; i++) {
		const char *v;
		if ((v = opt_value(argc, argv, &i, "--out")) || (v = opt_value(argc, argv, &i, "-o")))
			a->dir = v;
		else if ((v = opt_value(argc, argv, &i, "--resume")))
			a->dir = v, a->resume = true;
		else if (!strcmp(argv[i], "-q") || !strcmp(argv[i], "--quiet"))
			a->quiet = true;
		else if (!strncmp(argv[i], "--threads", 9))
			a->threads_given = true;
		else if (!strncmp(argv[i], "--shard", 7))
			a->bad = "--shard";
	}
}

/* run's command line for this rank's shard: --mpi dropped, --out/--resume pointed at
 * the shard folder, --shard I/N and --quiet added, --threads when not given. The
 * array is owned by the caller, its strings are borrowed. */
static char **shard_argv(int argc, char **argv, const char *shard_dir, bool resume_shard, const char *shard,
			 const char *threads, int *out_argc)
{
	char **v = calloc((size_t)argc + 8, sizeof *v);
	int n = 0;
	if (!v)
		return NULL;
	for (int i = 0; i < argc; i++) {
		const char *val;
		if (i && !strcmp(argv[i], "--mpi"))
			continue;
		if (i && ((val = opt_value(argc, argv, &i, "--out")) || (val = opt_value(argc, argv, &i, "-o")) ||
			  (val = opt_value(argc, argv, &i, "--resume")))) {
			v[n++] = resume_shard ? "--resume" : "--out";
			v[n++] = (char *)shard_dir;
			continue;
		}
		v[n++] = argv[i];
	}
	v[n++] = "--shard";
	v[n++] = (char *)shard;
	v[n++] = "--quiet";
	if (threads) {
		v[n++] = "--threads";
		v[n++] = (char *)threads;
	}
	*out_argc = n;
	return v;
}

/* Threads for this rank: the host's CPUs split equally among its ranks, and no
 * more than the CPUs mpirun bound the rank to (one with --bind-to core). */
static int rank_threads(MPI_Comm node)
{
	int local_size = 1;
	MPI_Comm_size(node, &local_size);
	long online = sysconf(_SC_NPROCESSORS_ONLN);
	long share = online > 0 ? online / local_size : 1;
	int mine = eng_default_threads();
	if (share < mine)
		mine = (int)share;
	return mine > 0 ? mine : 1;
}

/* The rank's error: the first line of its log (this session's) that merilo printed
 * as a message, not a warning, into line. */
static void error_line(const char *path, char *line, size_t size)
{
	struct mrl_err err = { 0 };
	char *text = NULL, *save = NULL;
	snprintf(line, size, "(no message in its log)");
	if (mrl_read_file(path, 1 << 20, &text, NULL, &err))
		return;
	for (char *l = strtok_r(text, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
		if (!strncmp(l, "merilo", 6) && !strstr(l, "warning:")) {
			snprintf(line, size, "%s", l);
			break;
		}
	free(text);
}

/* Run this rank's shard with stdout and stderr in log (this session's only). Returns its exit code. */
static int run_shard_logged(int (*run)(int, char **), int argc, char **argv, const char *log)
{
	fflush(stdout);
	fflush(stderr);
	int saved_out = dup(STDOUT_FILENO), saved_err = dup(STDERR_FILENO);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0 || saved_out < 0 || saved_err < 0) {
		fprintf(stderr, "merilo: %s: cannot open the rank's log: %s\n", log, strerror(errno));
		return HRN_EXIT_RUNTIME;
	}
	dup2(fd, STDOUT_FILENO);
	dup2(fd, STDERR_FILENO);
	close(fd);
	int rc = run(argc, argv);
	fflush(stdout);
	fflush(stderr);
	dup2(saved_out, STDOUT_FILENO);
	dup2(saved_err, STDERR_FILENO);
	close(saved_out);
	close(saved_err);
	return rc;
}

/* Wait for every rank without spinning: Open MPI polls while a blocking collective
 * waits, and a rank that finished its shard first would take a core from the ranks
 * still scoring on its host. */
static void sleeping_barrier(void)
{
	MPI_Request req;
	int done = 0;
	const struct timespec tick = { 0, 20 * 1000 * 1000 }; /* 20 ms */
	MPI_Ibarrier(MPI_COMM_WORLD, &req);
	while (MPI_Test(&req, &done, MPI_STATUS_IGNORE) == MPI_SUCCESS && !done)
		nanosleep(&tick, NULL);
}

/* Every rank's exit code and last error line to rank 0; rank 0 says which failed.
 * Returns the number of ranks that failed (the same on every rank). */
static int gather_failures(int rank, int size, int rc, const char *log, const char *dir)
{
	char line[MPI_ERR_LINE] = "", host[MPI_MAX_PROCESSOR_NAME] = "?";
	int host_len = 0, n_failed = 0, fixed_cause = 0;
	int *codes = rank == 0 ? calloc((size_t)size, sizeof *codes) : NULL;
	char *lines = rank == 0 ? calloc((size_t)size, MPI_ERR_LINE) : NULL;
	MPI_Get_processor_name(host, &host_len);
	if (rc) {
		char tail[MPI_ERR_LINE - 64];
		error_line(log, tail, sizeof tail);
		snprintf(line, sizeof line, "on %.40s: %s", host, tail);
	}
	sleeping_barrier();
	MPI_Gather(&rc, 1, MPI_INT, codes, 1, MPI_INT, 0, MPI_COMM_WORLD);
	MPI_Gather(line, MPI_ERR_LINE, MPI_CHAR, lines, MPI_ERR_LINE, MPI_CHAR, 0, MPI_COMM_WORLD);
	for (int r = 0; rank == 0 && codes && lines && r < size; r++)
		if (codes[r]) {
			n_failed++;
			/* a usage error or bad input: the same options, suite and model fail again */
			if (codes[r] == HRN_EXIT_USAGE || codes[r] == HRN_EXIT_INPUT)
				fixed_cause = codes[r];
			fprintf(stderr, "merilo run: rank %d (shard %d/%d) failed with exit %d %s (log: %s/shards/%d-of-%d.log)\n",
				r, r + 1, size, codes[r], lines + (size_t)r * MPI_ERR_LINE, dir, r + 1, size);
		}
	if (rank == 0 && n_failed && fixed_cause)
		fprintf(stderr, "merilo run: the finished shards stay in %s/shards/; a --mpi --resume would stop at the "
				"same error (exit %d)\n", dir, fixed_cause);
	else if (rank == 0 && n_failed)
		fprintf(stderr, "merilo run: the finished shards stay in %s/shards/; rerun only what is missing with: "
				"mpirun -np %d merilo run --mpi --resume %s\n", dir, size, dir);
	free(codes);
	free(lines);
	MPI_Bcast(&n_failed, 1, MPI_INT, 0, MPI_COMM_WORLD);
	return n_failed;
}

/* This rank's shard: folder, log, then the run. Returns its exit code. */
static int rank_shard(int (*run)(int, char **), int argc, char **argv, const struct mpi_args *a, int rank, int size,
		      MPI_Comm node)
{
	char shards[4096], shard_dir[4200], log[4300], shard[32], threads[16], json[4300];
	struct mrl_err err = { 0 };
	snprintf(shards, sizeof shards, "%s/shards", a->dir);
	snprintf(shard_dir, sizeof shard_dir, "%s/%d-of-%d", shards, rank + 1, size);
	snprintf(log, sizeof log, "%s.log", shard_dir);
	snprintf(json, sizeof json, "%s/run.json", shard_dir);
	snprintf(shard, sizeof shard, "%d/%d", rank + 1, size);
	snprintf(threads, sizeof threads, "%d", rank_threads(node));
	struct stat sb;
	if (mrl_mkdir_p(shards, &err)) {
		fprintf(stderr, "merilo run: rank %d: %s\n", rank, err.msg);
		return HRN_EXIT_RUNTIME;
	}
	const bool resume_shard = a->resume && stat(json, &sb) == 0;
	if (a->resume && !resume_shard) {
		FILE *f = fopen(log, "w");
		if (f) {
			fprintf(f, "merilo run: %s: no shard %d/%d to resume (was the run made with %d rank%s?)\n", shard_dir,
				rank + 1, size, size, size == 1 ? "" : "s");
			fclose(f);
		}
		return HRN_EXIT_INPUT;
	}
	int n_args = 0;
	char **v = shard_argv(argc, argv, shard_dir, resume_shard, shard, a->threads_given ? NULL : threads, &n_args);
	int rc = v ? run_shard_logged(run, n_args, v, log) : HRN_EXIT_RUNTIME;
	free(v);
	return rc;
}

int hrn_run_mpi(int argc, char **argv, int (*run)(int argc, char **argv))
{
	struct mpi_args a;
	scan_args(argc, argv, &a);
	if (a.bad)
		return hrn_usage_error("run", "--mpi and %s exclude each other (each rank runs the shard of its rank)", a.bad);
	if (!a.dir)
		return hrn_usage_error("run", "--mpi needs --out DIR (or --resume DIR): the shards go to DIR/shards/");
	int rank = 0, size = 1, ret;
	json_t *invocation = NULL;
	MPI_Comm node;
	if (MPI_Init(NULL, NULL) != MPI_SUCCESS) {
		fprintf(stderr, "merilo run: --mpi: MPI_Init failed (start merilo with mpirun)\n");
		return HRN_EXIT_RUNTIME;
	}
	MPI_Comm_rank(MPI_COMM_WORLD, &rank);
	MPI_Comm_size(MPI_COMM_WORLD, &size);
	MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank, MPI_INFO_NULL, &node);
	if (size > HRN_SHARD_MAX) {
		if (rank == 0)
			fprintf(stderr, "merilo run: --mpi: %d ranks, at most %d\n", size, HRN_SHARD_MAX);
		ret = HRN_EXIT_USAGE;
		goto out;
	}
	char log[4300];
	snprintf(log, sizeof log, "%s/shards/%d-of-%d.log", a.dir, rank + 1, size);
	invocation = hrn_invocation_json(argc, argv); /* the merged run's: `run --mpi ...` */
	int rc = rank_shard(run, argc, argv, &a, rank, size, node);
	if (gather_failures(rank, size, rc, log, a.dir)) {
		ret = rc ? rc : HRN_EXIT_RUNTIME;
		goto out;
	}
	ret = 0;
	if (rank == 0) {
		char **dirs = calloc((size_t)size, sizeof *dirs);
		for (int r = 0; dirs && r < size; r++)
			if (asprintf(&dirs[r], "%s/shards/%d-of-%d", a.dir, r + 1, size) < 0)
				dirs[r] = NULL, ret = HRN_EXIT_RUNTIME;
		if (!dirs)
			ret = HRN_EXIT_RUNTIME;
		if (!ret)
			ret = hrn_merge_runs((const char *const *)dirs, (size_t)size, a.dir, NULL, a.quiet, true, invocation);
		if (!ret && a.quiet)
			printf("merilo run: merged %d shards into %s/; results: %s/results.json\n", size, a.dir, a.dir);
		for (int r = 0; dirs && r < size; r++)
			free(dirs[r]);
		free(dirs);
	}
	MPI_Bcast(&ret, 1, MPI_INT, 0, MPI_COMM_WORLD);
out:
	json_decref(invocation);
	MPI_Comm_free(&node);
	MPI_Finalize();
	return ret;
}
#endif
