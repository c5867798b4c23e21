/* parallel.c — the CPUs this process may use, and a parallel loop over independent jobs
 * (common/parallel.h).
 */
#include "common/parallel.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <unistd.h>

int mrl_cpus(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	long c = sysconf(_SC_NPROCESSORS_ONLN);
	return c > 0 && c <= 1024 ? (int)c : 1;
}

struct par {
	size_t n;
	int (*job)(size_t i, void *arg, struct mrl_err *err);
	void (*done)(size_t i, void *arg);
	void *arg;
	atomic_size_t next;
	pthread_mutex_t mu; /* guards done and the failure below */
	size_t failed;      /* the failing job of lowest index so far; n = none */
	int rc;             /* its code */
	struct mrl_err err; /* its message */
};

static void *worker(void *arg)
{
	struct par *p = arg;
	struct mrl_err e = { 0 };
	for (size_t i; (i = atomic_fetch_add(&p->next, 1)) < p->n;) {
		const int rc = p->job(i, p->arg, &e);
		pthread_mutex_lock(&p->mu);
		if (rc && i < p->failed) {
			p->failed = i;
			p->rc = rc;
			p->err = e;
		}
		if (!rc && p->done)
			p->done(i, p->arg);
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

int mrl_parallel_for(size_t n, size_t n_threads, int (*job)(size_t i, void *arg, struct mrl_err *err),
		     void (*done)(size_t i, void *arg), void *arg, struct mrl_err *err)
{
	struct par p = { .n = n, .job = job, .done = done, .arg = arg, .failed = n };
	size_t want = n_threads ? n_threads : (size_t)mrl_cpus();
	want = want < n ? want : n;
	want = want < MRL_PARALLEL_MAX_THREADS ? want : MRL_PARALLEL_MAX_THREADS;
	atomic_init(&p.next, 0);
	pthread_mutex_init(&p.mu, NULL);
	pthread_t th[MRL_PARALLEL_MAX_THREADS];
	size_t started = 0;
	while (started + 1 < want && pthread_create(&th[started], NULL, worker, &p) == 0)
		started++;
	worker(&p);
	for (size_t t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	pthread_mutex_destroy(&p.mu);
	if (p.failed == n)
		return 0;
	*err = p.err;
	err->code = p.rc;
	return p.rc;
}
