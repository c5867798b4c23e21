/* eng_threads.c — results do not depend on the number of threads.
 *
 * Every output element is computed by exactly one thread with a fixed
 * summation order, so logits must be bit-identical (memcmp) for 1, 2 and 3
 * threads: a 40-token prefill with all logits, then 8 single-token decode steps.
 * Run on every weight type of the fixture models (each has its own kernels).
 * And the default thread count follows the CPUs the process may use (taskset,
 * container CPU sets), not the machine's online CPUs. Pinned threads (--affinity):
 * each on one CPU of the mask, the caller's mask restored afterwards, the same bits.
 * The pool runs every item exactly once, in guided chunks (big first, small last).
 */
#include "tests/tap.h"

#include <dirent.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "engine/eng.h"
#include "engine/eng_int.h"

#define N_PREFILL 40
#define N_STEPS 8

/* Logits of the prefill (all rows) followed by the decode steps. */
static float *run(const char *path, int n_threads, bool pin, size_t *n_floats, uint32_t *n_vocab)
{
	struct mrl_err err = { 0 };
	struct eng_model *m = NULL;
	struct eng_ctx *c = NULL;
	struct eng_open_opts o = { .n_threads = n_threads, .pin_threads = pin };
	float *out = NULL;
	if (eng_model_open(&m, path, &o, &err) || eng_ctx_new(&c, m, 128, &err)) {
		diag("%s", err.msg);
		goto done;
	}
	struct eng_model_desc d;
	eng_model_describe(m, &d);
	*n_vocab = d.n_vocab;
	*n_floats = (size_t)(N_PREFILL + N_STEPS) * d.n_vocab;
	out = calloc(*n_floats, sizeof *out);
	int32_t toks[N_PREFILL];
	for (int i = 0; i < N_PREFILL; i++)
		toks[i] = i == 0 ? 1 : (int32_t)((i * 7919u + 13u) % d.n_vocab);
	if (eng_decode(c, toks, N_PREFILL, out, true, &err)) {
		diag("%s", err.msg);
		free(out);
		out = NULL;
		goto done;
	}
	for (int s = 0; s < N_STEPS; s++) {
		int32_t t = (int32_t)((s * 104729u + 5u) % d.n_vocab);
		if (eng_decode(c, &t, 1, out + (size_t)(N_PREFILL + s) * d.n_vocab, false, &err)) {
			diag("%s", err.msg);
			free(out);
			out = NULL;
			goto done;
		}
	}
done:
	eng_ctx_free(c);
	eng_model_close(m);
	return out;
}

/* In a child pinned to one CPU, the default thread count is 1. */
static void check_default_threads(void)
{
	cpu_set_t all;
	ok(sched_getaffinity(0, sizeof all, &all) == 0 && eng_default_threads() == CPU_COUNT(&all),
	   "default threads = the CPUs in this process's affinity mask");
	pid_t pid = fork();
	if (pid == 0) {
		cpu_set_t one;
		CPU_ZERO(&one);
		for (int c = 0; c < CPU_SETSIZE; c++)
			if (CPU_ISSET(c, &all)) {
				CPU_SET(c, &one);
				break;
			}
		_exit(sched_setaffinity(0, sizeof one, &one) ? 2 : eng_default_threads() == 1 ? 0 : 1);
	}
	int st = 0;
	waitpid(pid, &st, 0);
	ok(WIFEXITED(st) && WEXITSTATUS(st) == 0, "pinned to one CPU (as taskset -c 0), the default is 1 thread");
}

/* This process's thread ids into tids (at most max); their number. */
static int list_tids(pid_t *tids, int max)
{
	int n = 0;
	DIR *d = opendir("/proc/self/task");
	for (struct dirent *e; d && (e = readdir(d));)
		if (atoi(e->d_name) > 0 && n < max)
			tids[n++] = (pid_t)atoi(e->d_name);
	if (d)
		closedir(d);
	return n;
}

/* A pinned pool of 3: the caller and each worker on one CPU of the caller's mask
 * (the i-th mod its size, so on a machine of any size), the caller's mask back
 * after eng_pool_free. Workers are the threads that were not there before. */
static void check_pinned_pool(void)
{
	pid_t old[64], cur[64];
	const int n_old = list_tids(old, 64);
	cpu_set_t before, now;
	int cpus[CPU_SETSIZE], k = 0;
	pthread_getaffinity_np(pthread_self(), sizeof before, &before);
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &before))
			cpus[k++] = c;
	struct eng_pool *p = NULL;
	struct mrl_err err = { 0 };
	if (!ok(k > 0 && eng_pool_new(&p, 3, true, &err) == 0, "a pinned pool of 3 threads starts")) {
		diag("%s", err.msg);
		return;
	}
	pthread_getaffinity_np(pthread_self(), sizeof now, &now);
	ok(CPU_COUNT(&now) == 1 && CPU_ISSET(cpus[0], &now), "pinned: the calling thread runs on the mask's first CPU only");
	/* the workers' CPUs must be {cpus[1 % k], cpus[2 % k]} as a multiset (with k = 2,
	 * unpinned workers would inherit the caller's one CPU and show cpus[0] twice) */
	int workers = 0, right = 0, want[2] = { cpus[1 % k], cpus[2 % k] }, used[2] = { 0, 0 };
	const int n_cur = list_tids(cur, 64);
	for (int i = 0; i < n_cur; i++) {
		int known = 0;
		for (int j = 0; j < n_old; j++)
			known |= cur[i] == old[j];
		if (known)
			continue;
		cpu_set_t m;
		workers++;
		if (sched_getaffinity(cur[i], sizeof m, &m) || CPU_COUNT(&m) != 1)
			continue;
		for (int w = 0; w < 2; w++)
			if (!used[w] && CPU_ISSET(want[w], &m)) {
				used[w] = 1;
				right++;
				break;
			}
	}
	is_int(workers, 2, "pinned: the pool started 2 worker threads");
	is_int(right, 2, "pinned: each worker runs on one CPU, the 2nd and 3rd of the mask (mod its size)");
	eng_pool_free(p);
	pthread_getaffinity_np(pthread_self(), sizeof now, &now);
	ok(CPU_EQUAL(&now, &before), "pinned: the calling thread's mask is restored when the pool is freed");
}

/* ---- the pool's guided chunks (threadpool.c run_chunks) ---- */

#define CHUNK_LOG_MAX 4096

struct chunk_log {
	pthread_mutex_t mu;
	int n;
	int64_t begin[CHUNK_LOG_MAX], end[CHUNK_LOG_MAX];
	_Atomic int *visits;
};

static void log_chunk(void *arg, int64_t begin, int64_t end, int tid)
{
	(void)tid;
	struct chunk_log *l = arg;
	for (int64_t i = begin; i < end; i++)
		l->visits[i]++;
	pthread_mutex_lock(&l->mu);
	if (l->n < CHUNK_LOG_MAX) {
		l->begin[l->n] = begin;
		l->end[l->n] = end;
		l->n++;
	}
	pthread_mutex_unlock(&l->mu);
}

static int cmp_i64(const void *a, const void *b)
{
	const int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* Every item exactly once for many sizes and thread counts; and the chunk sizes of a
 * 768-row product on 2 threads are the documented guided sequence, whichever thread
 * claims which: a quarter of what is left (rounded up to 8) down to the least chunk,
 * 768 / 32 = 24, so a thread that finishes first waits for at most 24 rows (equal
 * chunks of n / 8 = 96 rows made it wait for up to 96). */
static void check_guided_chunks(void)
{
	static const int64_t sizes[] = { 1, 2, 3, 7, 8, 9, 63, 64, 65, 100, 768, 2048, 2049, 32000 };
	int bad = 0;
	for (int nt = 2; nt <= 4; nt++) {
		struct eng_pool *p = NULL;
		struct mrl_err err = { 0 };
		char name[64];
		snprintf(name, sizeof name, "a pool of %d threads starts", nt);
		if (!ok(eng_pool_new(&p, nt, false, &err) == 0, name)) {
			diag("%s", err.msg);
			return;
		}
		for (size_t k = 0; k < sizeof sizes / sizeof sizes[0]; k++) {
			static struct chunk_log l;
			pthread_mutex_init(&l.mu, NULL);
			l.n = 0;
			l.visits = calloc((size_t)sizes[k], sizeof *l.visits);
			eng_pool_run(p, log_chunk, &l, sizes[k]);
			for (int64_t i = 0; i < sizes[k]; i++)
				bad += l.visits[i] != 1;
			if (nt == 2 && sizes[k] == 768) {
				qsort(l.begin, (size_t)l.n, sizeof l.begin[0], cmp_i64);
				char got[512] = "", *w = got;
				for (int i = 0; i < l.n && i < 64; i++) {
					const int64_t len = (i + 1 < l.n ? l.begin[i + 1] : 768) - l.begin[i];
					w += snprintf(w, (size_t)(got + sizeof got - w), "%s%lld", i ? "," : "", (long long)len);
				}
				is_str(got, "192,144,112,80,64,48,32,24,24,24,24",
				       "768 items on 2 threads: guided chunks, big first, the last ones 24");
			}
			free(l.visits);
			pthread_mutex_destroy(&l.mu);
		}
		eng_pool_free(p);
	}
	is_int(bad, 0, "every item of 1..32000 runs exactly once on 2, 3 and 4 threads");
}

/* A thread that cannot start (no memory for its stack under a ulimit -v) is an error
 * saying why and what to do, where it said only "cannot start thread 2 of 2". In a child
 * whose address space is capped 1 MiB above what it maps: an 8 MiB stack cannot fit. */
static void check_thread_start_failure(void)
{
	if (TAP_ASAN) { /* the sanitizer's shadow memory and its pthread_create do not mix with RLIMIT_AS */
		skip("AddressSanitizer build", "a thread that cannot start names the reason");
		return;
	}
	int fds[2];
	if (pipe(fds) != 0) {
		skip("no pipe", "a thread that cannot start names the reason");
		return;
	}
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		struct mrl_err err = { 0 };
		struct eng_pool *p = NULL;
		long pages = 0;
		FILE *f = fopen("/proc/self/statm", "r");
		if (f && fscanf(f, "%ld", &pages) == 1) {
			const rlim_t cap = (rlim_t)pages * (rlim_t)sysconf(_SC_PAGESIZE) + ((rlim_t)1 << 20);
			struct rlimit rl = { cap, cap };
			if (setrlimit(RLIMIT_AS, &rl) == 0) {
				const int rc = eng_pool_new(&p, 2, false, &err);
				dprintf(fds[1], "%d %s", rc, err.msg);
				if (!rc)
					eng_pool_free(p);
			}
		}
		_exit(0);
	}
	close(fds[1]);
	char buf[600] = "";
	size_t len = 0;
	ssize_t n;
	while (len + 1 < sizeof buf && (n = read(fds[0], buf + len, sizeof buf - 1 - len)) > 0)
		len += (size_t)n;
	buf[len] = '\0';
	close(fds[0]);
	waitpid(pid, NULL, 0);
	if (!strncmp(buf, "0 ", 2)) { /* a stack under 1 MiB (ulimit -s) fits in the cap */
		skip("the pool started under the cap (a thread stack under 1 MiB?)", "a thread that cannot start names the reason");
		return;
	}
	char want[64];
	snprintf(want, sizeof want, "%d ", MRL_ERUNTIME);
	ok(!strncmp(buf, want, strlen(want)), "a pool whose second thread cannot start: MRL_ERUNTIME");
	like(buf, "cannot start thread 2 of 2: Resource temporarily unavailable (too little memory for its stack",
	     "... the message says why and what to do (fewer threads)");
}

int main(void)
{
	check_thread_start_failure(); /* first: glibc keeps the stacks of ended threads for reuse */
	check_default_threads();
	check_pinned_pool();
	check_guided_chunks();
	const char *fx = fixtures_dir();
	if (!fx) {
		skip("fixtures absent: ../shared/fixtures", "logits bit-identical for 1, 2 and 3 threads");
		return done_testing();
	}
	static const char *const models[] = { "tiny-llama-ff192-f32", "tiny-llama-ff192-f16",
					      "tiny-llama-ff192-q8_0", "tiny-llama-ff192-q4_0" };
	for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
		char path[1024], name[256];
		snprintf(path, sizeof path, "%s/models/%s.gguf", fx, models[i]);
		size_t n1 = 0, n2 = 0, n3 = 0;
		uint32_t nv = 0;
		float *l1 = run(path, 1, false, &n1, &nv), *l2 = run(path, 2, false, &n2, &nv),
		      *l3 = run(path, 3, false, &n3, &nv), *lp = run(path, 3, true, &n3, &nv);
		snprintf(name, sizeof name, "%s: runs with 1, 2 and 3 threads", models[i]);
		if (ok(l1 && l2 && l3, name)) {
			size_t pre = (size_t)N_PREFILL * nv * sizeof(float);
			snprintf(name, sizeof name, "%s: prefill logits bit-identical for 1 and 2 threads", models[i]);
			ok(!memcmp(l1, l2, pre), name);
			snprintf(name, sizeof name, "%s: prefill logits bit-identical for 1 and 3 threads", models[i]);
			ok(!memcmp(l1, l3, pre), name);
			snprintf(name, sizeof name, "%s: decode logits bit-identical for 1, 2 and 3 threads", models[i]);
			ok(!memcmp((char *)l1 + pre, (char *)l2 + pre, n1 * sizeof(float) - pre) &&
			   !memcmp((char *)l1 + pre, (char *)l3 + pre, n1 * sizeof(float) - pre), name);
			float s = 0;
			for (size_t k = 0; k < n1; k++)
				s += l1[k] * l1[k];
			snprintf(name, sizeof name, "%s: 3 pinned threads (--affinity): the logits of 1 thread", models[i]);
			ok(lp && !memcmp(l1, lp, n1 * sizeof(float)), name);
			snprintf(name, sizeof name, "%s: logits are not all zero", models[i]);
			ok(s > 0, name);
		}
		free(l1);
		free(l2);
		free(l3);
		free(lp);
	}
	return done_testing();
}
