/* run_mpi.c — `merilo run --mpi`: one shard per MPI rank, merged on rank 0.
 *
 * Under `mpirun -np N merilo run --mpi --out DIR ...` rank r runs shard r+1 of N
 * as an ordinary `merilo run --shard r+1/N --out DIR/shards/<r+1>-of-<N>` (or
 * --resume of that folder when it exists), with the CPUs of its host split among
 * the ranks on that host unless --threads is given. The ranks then exchange their
 * exit codes and last error lines; when all succeeded rank 0 merges the shards
 * into DIR (cmd_merge.c), otherwise every rank fails naming the ranks that
 * failed. The shard folders stay: `mpirun ... merilo run --mpi --resume DIR`
 * reruns only what is missing. Without Open MPI at build time, --mpi says so.
 */
#include "harness/shard.h"

#include <string.h>

#include "harness/hrn.h"

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
int hrn_run_mpi(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	return hrn_usage_error("run", "--mpi is unavailable: this merilo was built without MPI (mpi.h of Open MPI was "
				      "not found at build time; install libopenmpi-dev and rebuild)");
}
#endif
