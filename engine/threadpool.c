/* threadpool.c — a small fork-join pool of pthreads, one per context.
 *
 * eng_pool_run cuts [0, n) into chunks that the threads (the caller is thread
 * 0) claim from a shared counter, big ones first and small ones last (guided, see
 * run_chunks), and returns when all are done. Claiming rather
 * than a fixed range per thread matters on a shared machine: when one core is
 * busy with another process, the other thread takes over its chunks instead of
 * waiting for it. Work items are independent and each is computed by exactly one
 * thread in a fixed order, so the result does not depend on the number of
 * threads or on which thread ran which chunk. Workers spin briefly on a generation
 * counter before sleeping on a condition variable: the forward pass issues many
 * short jobs per token, and a sleep/wake per job would dominate small models.
 * Pinned (--affinity), thread i runs on one CPU of the caller's affinity mask, the
 * i-th mod its size; the scheduler then cannot move a thread away from the cache
 * it warmed, nor put two of them on one core while another idles.
 */
#include "engine/eng_int.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define SPIN_ITERS 2000

struct eng_pool_worker {
	struct eng_pool *pool;
	int idx;
};

struct eng_pool {
	int n_threads;
	pthread_t *threads;
	struct eng_pool_worker *workers;
	int n_started;
	bool pinned;              /* the caller's mask was changed; restored from caller_mask */
	cpu_set_t caller_mask;
	pthread_mutex_t mu;
	pthread_cond_t cv_work;
	atomic_uint_fast64_t gen;   /* bumped for every job (and at shutdown) */
	atomic_int n_pending;       /* workers that have not finished the current job */
	atomic_bool quit;
	/* the current job (written before gen is bumped) */
	eng_task_fn fn;
	void *arg;
	int64_t n;
	int64_t chunk;              /* the least chunk a claim takes */
	atomic_int_fast64_t next; /* first item not yet claimed */
};

/* Guided chunks: a claim takes 1/(2 x threads) of what is left, so the first chunks
 * are big (few claims) and the last small, down to the job's least chunk: a thread
 * that finishes early then waits for at most a small chunk of the other's, where
 * equal chunks of an eighth of a decode step's matrix product left it idle for up to
 * an eighth. The least chunk: 1/(LEAST_PER_THREAD x threads) of the items, and no
 * less than LEAST_ROWS where the job has 4 x LEAST_ROWS items or more (a claim costs
 * a compare-and-swap; a decode call restarts its prefetch), a multiple of 8 where it
 * is more than 8 (the matmul kernels work in tiles of up to 8 rows). tests/eng_threads.c
 * checks the sequence for 768 items on 2 threads. */
#define LEAST_PER_THREAD 16
#define LEAST_ROWS 16

static int64_t round8(int64_t k)
{
	return k > 8 ? (k + 7) / 8 * 8 : k;
}

static void run_chunks(struct eng_pool *p, int idx)
{
	int64_t begin = atomic_load_explicit(&p->next, memory_order_relaxed), size;
	for (;;) {
		do {
			if (begin >= p->n)
				return;
			size = round8((p->n - begin) / (2 * (int64_t)p->n_threads));
			if (size < p->chunk)
				size = p->chunk;
		} while (!atomic_compare_exchange_weak_explicit(&p->next, &begin, begin + size, memory_order_relaxed,
								memory_order_relaxed));
		const int64_t end = begin + size < p->n ? begin + size : p->n;
		p->fn(p->arg, begin, end, idx);
		begin = atomic_load_explicit(&p->next, memory_order_relaxed);
	}
}

static void *worker_main(void *arg)
{
	struct eng_pool_worker *w = arg;
	struct eng_pool *p = w->pool;
	uint_fast64_t seen = 0;
	for (;;) {
		uint_fast64_t g;
		int spins = 0;
		while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen && spins < SPIN_ITERS) {
			spins++;
#if defined(__x86_64__) || defined(__i386__)
			__builtin_ia32_pause();
#endif
		}
		if (g == seen) {
			pthread_mutex_lock(&p->mu);
			while ((g = atomic_load_explicit(&p->gen, memory_order_acquire)) == seen)
				pthread_cond_wait(&p->cv_work, &p->mu);
			pthread_mutex_unlock(&p->mu);
		}
		seen = g;
		if (atomic_load_explicit(&p->quit, memory_order_acquire))
			return NULL;
		run_chunks(p, w->idx);
		atomic_fetch_sub_explicit(&p->n_pending, 1, memory_order_acq_rel);
	}
}

/* The CPUs of mask in order, into cpus (CPU_SETSIZE entries); their number. */
static int mask_cpus(const cpu_set_t *mask, int *cpus)
{
	int k = 0;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, mask))
			cpus[k++] = c;
	return k;
}

/* Thread idx's one-CPU mask: the (idx mod k)-th of the k CPUs. */
static void pin_mask(cpu_set_t *set, const int *cpus, int k, int idx)
{
	CPU_ZERO(set);
	CPU_SET(cpus[idx % k], set);
}

/* Pinning: the caller's CPUs into cpus / *n_cpus, the caller onto the first of them
 * (its mask kept in p to be restored), attr ready for the workers' masks. */
static int pin_setup(struct eng_pool *p, int *cpus, int *n_cpus, pthread_attr_t *attr, struct mrl_err *err)
{
	if (pthread_getaffinity_np(pthread_self(), sizeof p->caller_mask, &p->caller_mask) ||
	    (*n_cpus = mask_cpus(&p->caller_mask, cpus)) == 0)
		return mrl_err_set(err, MRL_ERUNTIME, "thread pool: cannot read this thread's CPU affinity");
	cpu_set_t one;
	pin_mask(&one, cpus, *n_cpus, 0);
	if (pthread_setaffinity_np(pthread_self(), sizeof one, &one))
		return mrl_err_set(err, MRL_ERUNTIME, "thread pool: cannot pin the calling thread to CPU %d", cpus[0]);
	p->pinned = true;
	if (pthread_attr_init(attr)) {
		pthread_setaffinity_np(pthread_self(), sizeof p->caller_mask, &p->caller_mask);
		p->pinned = false;
		return mrl_err_set(err, MRL_ERUNTIME, "thread pool: cannot set up pinned threads");
	}
	return 0;
}

int eng_pool_new(struct eng_pool **out, int n_threads, bool pin, struct mrl_err *err)
{
	*out = NULL;
	if (n_threads < 1)
		n_threads = 1;
	struct eng_pool *p = calloc(1, sizeof *p);
	if (!p)
		return mrl_err_set(err, MRL_ENOMEM, "thread pool: out of memory");
	p->n_threads = n_threads;
	int cpus[CPU_SETSIZE], n_cpus = 0, rc;
	pthread_attr_t attr, *pattr = NULL;
	if (pin) {
		if ((rc = pin_setup(p, cpus, &n_cpus, &attr, err))) {
			free(p);
			return rc;
		}
		pattr = &attr;
	}
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv_work, NULL);
	atomic_init(&p->gen, 0);
	atomic_init(&p->n_pending, 0);
	atomic_init(&p->quit, false);
	atomic_init(&p->next, 0);
	if (n_threads > 1) {
		p->threads = calloc((size_t)n_threads - 1, sizeof *p->threads);
		p->workers = calloc((size_t)n_threads - 1, sizeof *p->workers);
		if (!p->threads || !p->workers) {
			if (pattr)
				pthread_attr_destroy(pattr);
			eng_pool_free(p);
			return mrl_err_set(err, MRL_ENOMEM, "thread pool: out of memory");
		}
		for (int i = 0; i < n_threads - 1; i++) {
			p->workers[i].pool = p;
			p->workers[i].idx = i + 1;
			if (pattr) { /* created on its CPU: it never runs elsewhere */
				cpu_set_t one;
				pin_mask(&one, cpus, n_cpus, i + 1);
				pthread_attr_setaffinity_np(pattr, sizeof one, &one);
			}
			const int e = pthread_create(&p->threads[i], pattr, worker_main, &p->workers[i]);
			if (e) {
				if (pattr)
					pthread_attr_destroy(pattr);
				eng_pool_free(p);
				/* EAGAIN: no memory for its stack (a ulimit -v) or a limit on threads */
				return mrl_err_set(err, MRL_ERUNTIME, "thread pool: cannot start thread %d of %d: %s%s", i + 2,
						   n_threads, strerror(e),
						   e == EAGAIN ? " (too little memory for its stack, or too many threads; "
								 "fewer threads: --threads)" : "");
			}
			p->n_started++;
		}
	}
	if (pattr)
		pthread_attr_destroy(pattr);
	*out = p;
	return 0;
}

void eng_pool_free(struct eng_pool *p)
{
	if (!p)
		return;
	if (p->n_started) {
		pthread_mutex_lock(&p->mu);
		atomic_store_explicit(&p->quit, true, memory_order_release);
		atomic_fetch_add_explicit(&p->gen, 1, memory_order_acq_rel);
		pthread_cond_broadcast(&p->cv_work);
		pthread_mutex_unlock(&p->mu);
		for (int i = 0; i < p->n_started; i++)
			pthread_join(p->threads[i], NULL);
	}
	if (p->pinned)
		pthread_setaffinity_np(pthread_self(), sizeof p->caller_mask, &p->caller_mask);
	pthread_cond_destroy(&p->cv_work);
	pthread_mutex_destroy(&p->mu);
	free(p->threads);
	free(p->workers);
	free(p);
}

int eng_pool_n_threads(const struct eng_pool *p)
{
	return p ? p->n_threads : 1;
}

void eng_pool_run(struct eng_pool *p, eng_task_fn fn, void *arg, int64_t n)
{
	if (n <= 0)
		return;
	if (p->n_threads == 1 || n == 1) {
		fn(arg, 0, n, 0);
		return;
	}
	p->fn = fn;
	p->arg = arg;
	p->n = n;
	/* the least chunk (run_chunks) */
	int64_t least = round8((n + (int64_t)p->n_threads * LEAST_PER_THREAD - 1) / ((int64_t)p->n_threads * LEAST_PER_THREAD));
	p->chunk = least < LEAST_ROWS && n >= 4 * LEAST_ROWS ? LEAST_ROWS : least;
	atomic_store_explicit(&p->next, 0, memory_order_relaxed);
	atomic_store_explicit(&p->n_pending, p->n_threads - 1, memory_order_release);
	pthread_mutex_lock(&p->mu);
	atomic_fetch_add_explicit(&p->gen, 1, memory_order_acq_rel);
	pthread_cond_broadcast(&p->cv_work);
	pthread_mutex_unlock(&p->mu);
	run_chunks(p, 0);
	int spins = 0;
	while (atomic_load_explicit(&p->n_pending, memory_order_acquire) > 0) {
		if (++spins > SPIN_ITERS)
			sched_yield();
#if defined(__x86_64__) || defined(__i386__)
		else
			__builtin_ia32_pause();
#endif
	}
}
