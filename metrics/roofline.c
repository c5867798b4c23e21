/* roofline.c — this host's ceilings: memory read bandwidth and peak FLOP rate.
 *
 * Decode of a language model is bound by how fast weights stream from memory,
 * prefill by how fast the cores multiply; `merilo bench --roofline` divides the
 * engine's achieved rates by these two measured ceilings. Both are measured the
 * way STREAM-like and peak-FLOPS micro-benchmarks do: a persistent team of
 * threads, a barrier before and after each timed run (thread 0 reads the clock
 * at both barriers), several runs, the best one reported (the least disturbed
 * by other work on a shared machine) next to the median.
 *
 *  - Bandwidth: each thread sums its slice of a buffer much larger than the
 *    last-level cache, with vector loads and independent accumulators so that
 *    the loads, not the adds, are the limit, in two patterns taken in turn: one
 *    stream, and 8 streams side by side with a software prefetch; the faster
 *    pattern is the ceiling (one stream a thread understated a VM's by a quarter,
 *    so decode looked closer to the ceiling than it was). The slice is first
 *    touched (written) by the thread that later reads it.
 *  - FLOPs: each thread runs 12 independent FMA chains a = a * b + c in vector
 *    registers (latency 4 x 2 ports needs >= 8 chains in flight); no memory.
 *
 * The kernels are compiled for AVX-512 and AVX2+FMA with target attributes and
 * chosen at run time (__builtin_cpu_supports), so the figure is the machine's
 * and not the build flags' (the ASan build has no -march=native). Elsewhere a
 * portable scalar kernel is used, and `kernel` says so.
 */
#include "metrics/met.h"

#include "common/sort.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define ROOF_X86 1
#else
#define ROOF_X86 0
#endif

enum roof_isa { ISA_GENERIC, ISA_AVX2, ISA_AVX512 };

static enum roof_isa detect_isa(void)
{
#if ROOF_X86
	__builtin_cpu_init();
	if (__builtin_cpu_supports("avx512f"))
		return ISA_AVX512;
	if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
		return ISA_AVX2;
#endif
	return ISA_GENERIC;
}

/* ---------------------------------------------------------------- kernels */

/* Sum of n bytes (n a multiple of 128, p 64-byte aligned) as 64-bit words. */
static uint64_t read_generic(const void *p, size_t n)
{
	const uint64_t *w = p;
	uint64_t a0 = 0, a1 = 0, a2 = 0, a3 = 0;
	for (size_t i = 0; i < n / 8; i += 4) {
		a0 += w[i];
		a1 += w[i + 1];
		a2 += w[i + 2];
		a3 += w[i + 3];
	}
	return a0 + a1 + a2 + a3;
}

#if ROOF_X86
__attribute__((target("avx2"))) static uint64_t read_avx2(const void *p, size_t n)
{
	const __m256i *v = p;
	__m256i a0 = _mm256_setzero_si256(), a1 = a0, a2 = a0, a3 = a0;
	for (size_t i = 0; i < n / 32; i += 4) {
		a0 = _mm256_add_epi64(a0, _mm256_load_si256(v + i));
		a1 = _mm256_add_epi64(a1, _mm256_load_si256(v + i + 1));
		a2 = _mm256_add_epi64(a2, _mm256_load_si256(v + i + 2));
		a3 = _mm256_add_epi64(a3, _mm256_load_si256(v + i + 3));
	}
	__m256i s = _mm256_add_epi64(_mm256_add_epi64(a0, a1), _mm256_add_epi64(a2, a3));
	uint64_t lane[4];
	_mm256_storeu_si256((__m256i *)lane, s);
	return lane[0] + lane[1] + lane[2] + lane[3];
}

/* The same sum over 8 streams read side by side (the slice cut in 8 parts, 64 bytes
 * of each in turn), each prefetched 1 KiB ahead: the hardware prefetcher follows
 * several streams at once, so one core keeps more reads in flight than with one
 * stream. (On a 2-vCPU Ice Lake VM, 2 threads: one stream each 18-20 GB/s, 8 streams
 * with the prefetch 25-27 GB/s.) n a multiple of 512. */
#define READ_STREAMS 8
#define READ_AHEAD 1024
__attribute__((target("avx2"))) static uint64_t read_streams_avx2(const void *p, size_t n)
{
	const size_t per = n / READ_STREAMS;
	const char *c = p;
	__m256i a0 = _mm256_setzero_si256(), a1 = a0;
	for (size_t i = 0; i < per; i += 64)
		for (int s = 0; s < READ_STREAMS; s++) {
			const char *q = c + (size_t)s * per + i;
			_mm_prefetch(q + READ_AHEAD, _MM_HINT_T0); /* past the end: harmless, never faults */
			a0 = _mm256_add_epi64(a0, _mm256_load_si256((const __m256i *)q));
			a1 = _mm256_add_epi64(a1, _mm256_load_si256((const __m256i *)(q + 32)));
		}
	uint64_t lane[4];
	_mm256_storeu_si256((__m256i *)lane, _mm256_add_epi64(a0, a1));
	return lane[0] + lane[1] + lane[2] + lane[3];
}

#define FMA_CHAINS(OP) OP(0) OP(1) OP(2) OP(3) OP(4) OP(5) OP(6) OP(7) OP(8) OP(9) OP(10) OP(11)

/* iters x 12 chains x 16 lanes x 2 FLOPs. Returns a value derived from every chain. */
__attribute__((target("avx512f"))) static float fma_avx512(uint64_t iters)
{
	const __m512 b = _mm512_set1_ps(0.9999f), c = _mm512_set1_ps(1e-4f);
#define DECL(k) __m512 a##k = _mm512_set1_ps(1.0f + 0.01f * (k));
	FMA_CHAINS(DECL)
#undef DECL
	for (uint64_t i = 0; i < iters; i++) {
#define STEP(k) a##k = _mm512_fmadd_ps(a##k, b, c);
		FMA_CHAINS(STEP)
#undef STEP
	}
	__m512 s = _mm512_setzero_ps();
#define SUM(k) s = _mm512_add_ps(s, a##k);
	FMA_CHAINS(SUM)
#undef SUM
	return _mm512_reduce_add_ps(s);
}

/* iters x 12 chains x 8 lanes x 2 FLOPs. */
__attribute__((target("avx2,fma"))) static float fma_avx2(uint64_t iters)
{
	const __m256 b = _mm256_set1_ps(0.9999f), c = _mm256_set1_ps(1e-4f);
#define DECL(k) __m256 a##k = _mm256_set1_ps(1.0f + 0.01f * (k));
	FMA_CHAINS(DECL)
#undef DECL
	for (uint64_t i = 0; i < iters; i++) {
#define STEP(k) a##k = _mm256_fmadd_ps(a##k, b, c);
		FMA_CHAINS(STEP)
#undef STEP
	}
	__m256 s = _mm256_setzero_ps();
#define SUM(k) s = _mm256_add_ps(s, a##k);
	FMA_CHAINS(SUM)
#undef SUM
	float lane[8];
	_mm256_storeu_ps(lane, s);
	return lane[0] + lane[1] + lane[2] + lane[3] + lane[4] + lane[5] + lane[6] + lane[7];
}
#endif

/* iters x 12 chains x 8 lanes x 2 FLOPs (a multiply and an add, not fused). */
static float fma_generic(uint64_t iters)
{
	float a[12][8];
	for (int k = 0; k < 12; k++)
		for (int l = 0; l < 8; l++)
			a[k][l] = 1.0f + 0.01f * (float)k;
	const float b = 0.9999f, c = 1e-4f;
	for (uint64_t i = 0; i < iters; i++)
		for (int k = 0; k < 12; k++)
			for (int l = 0; l < 8; l++)
				a[k][l] = a[k][l] * b + c;
	float s = 0;
	for (int k = 0; k < 12; k++)
		for (int l = 0; l < 8; l++)
			s += a[k][l];
	return s;
}

static double flops_per_iter(enum roof_isa isa)
{
	return 12.0 * (isa == ISA_AVX512 ? 16.0 : 8.0) * 2.0;
}

static const char *flops_kernel_name(enum roof_isa isa)
{
	switch (isa) {
	case ISA_AVX512: return "avx512f fma f32 (16 lanes x 12 chains, 2 FLOPs per lane per FMA)";
	case ISA_AVX2: return "avx2 fma f32 (8 lanes x 12 chains, 2 FLOPs per lane per FMA)";
	default: return "portable C f32 multiply-add (8 x 12 chains; not the vector peak)";
	}
}

/* ------------------------------------------------------------ the team */

enum roof_job { JOB_TOUCH, JOB_READ, JOB_READ_STREAMS, JOB_FMA, JOB_QUIT };

struct roof_team;

struct roof_worker {
	struct roof_team *team;
	pthread_t tid;
	int index;
	unsigned char *slice;
	size_t slice_bytes;
	uint64_t sink; /* results kept so that the work is not optimised away */
	float fsink;
};

struct roof_team {
	pthread_barrier_t start, done;
	pthread_mutex_t gate_mu;   /* workers wait at the gate until every thread exists */
	pthread_cond_t gate_cv;
	int gate;                  /* 0 wait, 1 go, -1 abort (a thread could not be created) */
	enum roof_job job;
	enum roof_isa isa;
	uint64_t iters;
	struct roof_worker *w;
	int n;
	uint64_t t0, t1; /* written by worker 0 between the barriers */
};

static void run_job(struct roof_worker *w)
{
	struct roof_team *t = w->team;
	switch (t->job) {
	case JOB_TOUCH:
		memset(w->slice, 1 + w->index % 255, w->slice_bytes);
		break;
	case JOB_READ:
	case JOB_READ_STREAMS: /* (only asked for on vector machines) */
#if ROOF_X86
		if (t->isa != ISA_GENERIC) {
			w->sink += t->job == JOB_READ_STREAMS ? read_streams_avx2(w->slice, w->slice_bytes)
							      : read_avx2(w->slice, w->slice_bytes);
			break;
		}
#endif
		w->sink += read_generic(w->slice, w->slice_bytes);
		break;
	case JOB_FMA:
#if ROOF_X86
		if (t->isa == ISA_AVX512) {
			w->fsink += fma_avx512(t->iters);
			break;
		}
		if (t->isa == ISA_AVX2) {
			w->fsink += fma_avx2(t->iters);
			break;
		}
#endif
		w->fsink += fma_generic(t->iters);
		break;
	case JOB_QUIT:
		break;
	}
}

/* One job on every worker between two barriers; worker 0 stamps the time. */
static void team_step(struct roof_worker *w)
{
	struct roof_team *t = w->team;
	pthread_barrier_wait(&t->start);
	if (w->index == 0)
		t->t0 = met_now_ns();
	run_job(w);
	pthread_barrier_wait(&t->done);
	if (w->index == 0)
		t->t1 = met_now_ns();
}

static void *worker_main(void *arg)
{
	struct roof_worker *w = arg;
	struct roof_team *t = w->team;
	pthread_mutex_lock(&t->gate_mu);
	while (t->gate == 0)
		pthread_cond_wait(&t->gate_cv, &t->gate_mu);
	int gate = t->gate;
	pthread_mutex_unlock(&t->gate_mu);
	if (gate < 0)
		return NULL;
	for (;;) {
		team_step(w);
		if (w->team->job == JOB_QUIT)
			return NULL;
		/* a third barrier so that worker 0's t1 and the next job are set before anyone
		 * re-enters the start barrier */
		pthread_barrier_wait(&w->team->start);
	}
}

/* The calling thread is worker 0; workers 1..n-1 are threads. They wait at a
 * gate until all exist, so that a failed pthread_create leaves no thread
 * blocked in a barrier that can never fill. On failure everything is undone. */
static int team_open(struct roof_team *t, int n, struct mrl_err *err)
{
	memset(t, 0, sizeof *t);
	t->n = n;
	t->isa = detect_isa();
	t->w = calloc((size_t)n, sizeof *t->w);
	if (!t->w)
		return mrl_err_set(err, MRL_ENOMEM, "roofline: out of memory for %d workers", n);
	if (pthread_barrier_init(&t->start, NULL, (unsigned)n) || pthread_barrier_init(&t->done, NULL, (unsigned)n)) {
		free(t->w);
		t->w = NULL;
		return mrl_err_set(err, MRL_ERUNTIME, "roofline: pthread_barrier_init failed");
	}
	pthread_mutex_init(&t->gate_mu, NULL);
	pthread_cond_init(&t->gate_cv, NULL);
	for (int i = 0; i < n; i++) {
		t->w[i].team = t;
		t->w[i].index = i;
	}
	int created = 1;
	while (created < n && !pthread_create(&t->w[created].tid, NULL, worker_main, &t->w[created]))
		created++;
	pthread_mutex_lock(&t->gate_mu);
	t->gate = created == n ? 1 : -1;
	pthread_cond_broadcast(&t->gate_cv);
	pthread_mutex_unlock(&t->gate_mu);
	if (created == n)
		return 0;
	for (int i = 1; i < created; i++)
		pthread_join(t->w[i].tid, NULL);
	pthread_barrier_destroy(&t->start);
	pthread_barrier_destroy(&t->done);
	pthread_mutex_destroy(&t->gate_mu);
	pthread_cond_destroy(&t->gate_cv);
	free(t->w);
	t->w = NULL;
	return mrl_err_set(err, MRL_ERUNTIME, "roofline: cannot create worker thread %d of %d", created, n);
}

/* Run one job on the team; returns the elapsed ns of the timed region. */
static uint64_t team_run(struct roof_team *t, enum roof_job job)
{
	t->job = job;
	team_step(&t->w[0]);
	uint64_t ns = t->t1 - t->t0;
	if (job != JOB_QUIT)
		pthread_barrier_wait(&t->start);
	return ns;
}

/* Stop and join the workers of an opened team and free it. */
static void team_close(struct roof_team *t)
{
	if (!t->w)
		return;
	team_run(t, JOB_QUIT);
	for (int i = 1; i < t->n; i++)
		pthread_join(t->w[i].tid, NULL);
	pthread_barrier_destroy(&t->start);
	pthread_barrier_destroy(&t->done);
	pthread_mutex_destroy(&t->gate_mu);
	pthread_cond_destroy(&t->gate_cv);
	free(t->w);
	t->w = NULL;
}

/* A timed region's seconds (at least 1 ns, so that a rate is finite). */
static double ns_seconds(uint64_t ns)
{
	return (double)(ns ? ns : 1) * 1e-9;
}

static void best_and_median(const double *v, int n, double *best, double *median)
{
	double s[MET_ROOFLINE_MAX_RUNS];
	memcpy(s, v, (size_t)n * sizeof *s);
	qsort(s, (size_t)n, sizeof *s, mrl_cmp_double);
	*best = s[n - 1];
	*median = met_percentile_sorted(s, (size_t)n, 50.0);
}

static int check_common(int n_threads, int n_runs, struct mrl_err *err)
{
	if (n_threads < 1 || n_threads > 1024)
		return mrl_err_set(err, MRL_EINPUT, "roofline: n_threads %d not in 1..1024", n_threads);
	if (n_runs < 1 || n_runs > MET_ROOFLINE_MAX_RUNS)
		return mrl_err_set(err, MRL_EINPUT, "roofline: n_runs %d not in 1..%d", n_runs, MET_ROOFLINE_MAX_RUNS);
	return 0;
}

int met_roofline_read_bandwidth(size_t buffer_bytes, int n_threads, int n_runs, struct met_roofline_bw *out,
				struct mrl_err *err)
{
	memset(out, 0, sizeof *out);
	int rc = check_common(n_threads, n_runs, err);
	if (rc)
		return rc;
	if (buffer_bytes < ((size_t)1 << 20) || buffer_bytes > ((size_t)1 << 40))
		return mrl_err_set(err, MRL_EINPUT, "roofline: buffer of %zu bytes not in 1 MiB..1 TiB", buffer_bytes);
	/* slices are multiples of 4 KiB (so of the 128 bytes a kernel step reads) */
	size_t slice = buffer_bytes / (size_t)n_threads / 4096 * 4096;
	if (slice == 0)
		return mrl_err_set(err, MRL_EINPUT, "roofline: buffer of %zu bytes too small for %d threads", buffer_bytes,
				   n_threads);
	unsigned char *buf = aligned_alloc(4096, slice * (size_t)n_threads);
	if (!buf)
		return mrl_err_set(err, MRL_ENOMEM, "roofline: cannot allocate a %zu-byte buffer", slice * (size_t)n_threads);
	struct roof_team t;
	rc = team_open(&t, n_threads, err);
	if (rc) {
		free(buf);
		return rc;
	}
	for (int i = 0; i < n_threads; i++) {
		t.w[i].slice = buf + (size_t)i * slice;
		t.w[i].slice_bytes = slice;
	}
	team_run(&t, JOB_TOUCH);
	team_run(&t, JOB_READ); /* warm-up: TLB, page tables, frequency */
	/* Both read patterns, alternately; the figure is the faster pattern's (the
	 * ceiling is what the memory can deliver to a read pattern that asks well, not
	 * what one simple loop gets), its runs kept, the other's best noted. */
	const bool streams = detect_isa() != ISA_GENERIC;
	const double bytes = (double)(slice * (size_t)n_threads);
	double one[MET_ROOFLINE_MAX_RUNS], many[MET_ROOFLINE_MAX_RUNS];
	for (int r = 0; r < n_runs; r++) {
		one[r] = bytes / ns_seconds(team_run(&t, JOB_READ));
		many[r] = streams ? bytes / ns_seconds(team_run(&t, JOB_READ_STREAMS)) : 0;
	}
	uint64_t sink = 0;
	for (int i = 0; i < n_threads; i++)
		sink += t.w[i].sink;
	team_close(&t);
	free(buf);
	out->n_runs = n_runs;
	out->n_threads = n_threads;
	out->buffer_bytes = slice * (size_t)n_threads;
	double best_one, med_one, best_many = 0, med_many = 0;
	best_and_median(one, n_runs, &best_one, &med_one);
	if (streams)
		best_and_median(many, n_runs, &best_many, &med_many);
	const bool take_many = streams && best_many > best_one;
	memcpy(out->run_bytes_per_s, take_many ? many : one, (size_t)n_runs * sizeof one[0]);
	out->best_bytes_per_s = take_many ? best_many : best_one;
	out->median_bytes_per_s = take_many ? med_many : med_one;
	out->other_best_bytes_per_s = streams ? (take_many ? best_one : best_many) : NAN;
	out->kernel = !streams ? "portable C 64-bit loads, 4 accumulators, one stream a thread" :
		      take_many ? MET_ROOFLINE_BW_METHOD ": 8 streams a thread, prefetched 1 KiB ahead" :
				  MET_ROOFLINE_BW_METHOD ": one stream a thread, 4 accumulators";
	volatile uint64_t keep = sink; /* the reads must not be optimised away */
	(void)keep;
	return 0;
}

int met_roofline_peak_flops(int n_threads, int n_runs, double seconds_per_run, struct met_roofline_flops *out,
			    struct mrl_err *err)
{
	memset(out, 0, sizeof *out);
	int rc = check_common(n_threads, n_runs, err);
	if (rc)
		return rc;
	if (!(seconds_per_run >= 0.001 && seconds_per_run <= 60))
		return mrl_err_set(err, MRL_EINPUT, "roofline: seconds_per_run %g not in 0.001..60", seconds_per_run);
	struct roof_team t;
	rc = team_open(&t, n_threads, err);
	if (rc)
		return rc;
	/* calibrate: grow the iteration count until a run takes >= 1/8 of the target */
	uint64_t iters = 1000;
	uint64_t ns = 0;
	for (;;) {
		t.iters = iters;
		ns = team_run(&t, JOB_FMA);
		if ((double)ns * 1e-9 >= seconds_per_run / 8 || iters > ((uint64_t)1 << 40))
			break;
		iters *= 4;
	}
	double scale = seconds_per_run / ns_seconds(ns);
	if (scale > 1)
		t.iters = (uint64_t)((double)iters * scale);
	const double per_thread = (double)t.iters * flops_per_iter(t.isa);
	for (int r = 0; r < n_runs; r++) {
		ns = team_run(&t, JOB_FMA);
		out->run_flops_per_s[r] = per_thread * n_threads / ns_seconds(ns);
	}
	float fsink = 0;
	for (int i = 0; i < n_threads; i++)
		fsink += t.w[i].fsink;
	out->kernel = flops_kernel_name(t.isa);
	team_close(&t);
	out->n_runs = n_runs;
	out->n_threads = n_threads;
	out->seconds_per_run = seconds_per_run;
	best_and_median(out->run_flops_per_s, n_runs, &out->best_flops_per_s, &out->median_flops_per_s);
	volatile float keep = fsink;
	(void)keep;
	return 0;
}
