/* parallel.h — work spread over threads: how many CPUs this process may use (the default
 * thread count of the engine, of compare's rows and of the aggregation's pieces), and a
 * parallel loop over independent jobs whose outcome does not depend on the threads.
 */
#ifndef MRL_PARALLEL_H
#define MRL_PARALLEL_H

#include <stddef.h>

#include "common/err.h"

/* The CPUs in this process's affinity mask (so taskset and container CPU sets are
 * honoured), else the online CPUs; 1 where neither can be read, at most 1024. */
int mrl_cpus(void);

/* The most threads mrl_parallel_for starts. */
#define MRL_PARALLEL_MAX_THREADS 64

/* Run job(i, arg, err) for every i in [0, n) on up to n_threads threads (0: mrl_cpus();
 * at most one a job and MRL_PARALLEL_MAX_THREADS; the calling thread is one of them; a
 * thread that cannot start leaves its jobs to the others). Jobs are taken in index order
 * by whichever thread is free, so each must depend on i and arg alone. done(i, arg), where
 * not NULL, is called after each job that succeeded, one call at a time. Every job runs
 * even after one fails. Returns 0, or the code the failing job of lowest index returned,
 * with the message it set in *err: the same error on any number of threads. */
int mrl_parallel_for(size_t n, size_t n_threads, int (*job)(size_t i, void *arg, struct mrl_err *err),
		     void (*done)(size_t i, void *arg), void *arg, struct mrl_err *err);

#endif
