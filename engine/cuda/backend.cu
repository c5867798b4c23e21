/* backend.cu — the CUDA backend's op table, device, contexts and weight upload,
 * and the one exported C entry point (merilo_cuda_backend).
 *
 * The forward pass (engine/forward.c) calls these ops exactly as it calls the
 * CPU's; the activations and the KV cache it passes are device pointers
 * (allocated through ops->alloc), weights are the device copies made once by
 * tensor_upload, token ids arrive as a host array (copied in by get_rows)
 * and logits leave through ops->download: no other host<->device traffic per
 * token. Every op is queued on the context's stream; an error is kept on the
 * context (the first wins, later ops are skipped) and returned by
 * ops->status, which eng_forward calls after every micro-batch.
 *
 * Nothing here is process-global and mutable: state lives in cu_exec (one
 * per context: stream, cuBLAS handle, scratch, events) and in the device
 * handle, so two models or contexts can live in one process.
 */
#include "engine/cuda/cuda_int.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- errors ---- */

static const char *blas_status_name(cublasStatus_t r)
{
	switch (r) {
	case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
	case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
	case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
	case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
	case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
	case CUBLAS_STATUS_MAPPING_ERROR: return "CUBLAS_STATUS_MAPPING_ERROR";
	case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
	case CUBLAS_STATUS_INTERNAL_ERROR: return "CUBLAS_STATUS_INTERNAL_ERROR";
	case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
	case CUBLAS_STATUS_LICENSE_ERROR: return "CUBLAS_STATUS_LICENSE_ERROR";
	default: return "CUBLAS_STATUS_UNKNOWN";
	}
}

/* "engine/cuda/x.cu:12: cudaMalloc(&p, n): out of memory" — the call's text cut at 120 chars */
static void put_err(cu_err *e, int code, const char *call, const char *file, int line, const char *why)
{
	if (!e || e->code)
		return;
	e->code = code;
	snprintf(e->msg, sizeof e->msg, "%s:%d: %.120s: %s", file, line, call, why);
}

bool cu_check(cu_err *e, cudaError_t r, const char *call, const char *file, int line)
{
	if (r == cudaSuccess)
		return true;
	put_err(e, r == cudaErrorMemoryAllocation ? MRL_ENOMEM : MRL_ERUNTIME, call, file, line, cudaGetErrorString(r));
	return false;
}

bool cu_check(cu_err *e, cublasStatus_t r, const char *call, const char *file, int line)
{
	if (r == CUBLAS_STATUS_SUCCESS)
		return true;
	put_err(e, r == CUBLAS_STATUS_ALLOC_FAILED ? MRL_ENOMEM : MRL_ERUNTIME, call, file, line, blas_status_name(r));
	return false;
}

static int give_err(const cu_err *e, char *msg, size_t msg_size)
{
	if (msg && msg_size)
		snprintf(msg, msg_size, "%s", e->msg);
	return e->code;
}

/* ---- device ---- */

struct cu_device {
	int device;
};

static int dev_open(void **out, char *desc, size_t desc_size, char *msg, size_t msg_size)
{
	*out = NULL;
	cu_err e = {};
	int n = 0, dev = 0, drv = 0, rt = 0;
	/* Name what was found instead of the runtime's one string for both "no
	 * driver" and "driver too old". cudaDriverGetVersion and
	 * cudaRuntimeGetVersion need no device: drv is 0 where no driver loads. */
	cudaError_t r = cudaGetDeviceCount(&n);
	if (r == cudaErrorInsufficientDriver || r == cudaErrorNoDevice || (r == cudaSuccess && n == 0)) {
		(void)cudaGetLastError(); /* reset the runtime's last error */
		if (cudaDriverGetVersion(&drv) != cudaSuccess)
			drv = 0;
		if (cudaRuntimeGetVersion(&rt) != cudaSuccess)
			rt = 0;
		const char *vis = getenv("CUDA_VISIBLE_DEVICES");
		if (drv == 0)
			snprintf(msg, msg_size, "no NVIDIA driver found (libcuda.so.1 absent or not loadable)");
		else if (r == cudaErrorInsufficientDriver)
			snprintf(msg, msg_size, "NVIDIA driver too old: it supports CUDA %d.%d, this build's runtime needs "
				 "CUDA %d.%d or newer (update the driver)", drv / 1000, (drv % 1000) / 10, rt / 1000,
				 (rt % 1000) / 10);
		else
			snprintf(msg, msg_size, "NVIDIA driver found (CUDA %d.%d) but no CUDA device is visible%s%s%s", drv / 1000,
				 (drv % 1000) / 10, vis ? " (CUDA_VISIBLE_DEVICES=" : "", vis ? vis : "", vis ? ")" : "");
		return MRL_ERUNTIME;
	}
	if (!cu_check(&e, r, "cudaGetDeviceCount(&n)", __FILE__, __LINE__))
		return give_err(&e, msg, msg_size);
	const char *env = getenv("MERILO_CUDA_DEVICE");
	if (env && *env) {
		char *end;
		long v = strtol(env, &end, 10);
		if (*end || v < 0 || v >= n) {
			snprintf(msg, msg_size, "MERILO_CUDA_DEVICE=%s is not a device number in 0..%d", env, n - 1);
			return MRL_ERUNTIME;
		}
		dev = (int)v;
	}
	cudaDeviceProp p;
	if (!CU_CHECK(&e, cudaSetDevice(dev)) || !CU_CHECK(&e, cudaGetDeviceProperties(&p, dev)) ||
	    !CU_CHECK(&e, cudaDriverGetVersion(&drv)) || !CU_CHECK(&e, cudaRuntimeGetVersion(&rt)))
		return give_err(&e, msg, msg_size);
	if (p.major < 9) {
		/* built for sm_90 (+ compute_90 PTX, which older chips cannot run) */
		snprintf(msg, msg_size, "device %d (%s) has compute capability %d.%d; this build needs 9.0 or newer", dev,
			 p.name, p.major, p.minor);
		return MRL_ERUNTIME;
	}
	cu_device *d = (cu_device *)calloc(1, sizeof *d);
	if (!d) {
		snprintf(msg, msg_size, "out of memory");
		return MRL_ENOMEM;
	}
	d->device = dev;
	snprintf(desc, desc_size, "%s, sm_%d%d, %d SMs, %.1f GiB, driver %d.%d, runtime %d.%d", p.name, p.major, p.minor,
		 p.multiProcessorCount, (double)p.totalGlobalMem / (1024.0 * 1024.0 * 1024.0), drv / 1000,
		 (drv % 1000) / 10, rt / 1000, (rt % 1000) / 10);
	*out = d;
	return 0;
}

static void dev_close(void *dev)
{
	free(dev);
}

size_t cu_tensor_bytes(const eng_tensor *t)
{
	return (size_t)(t->row_bytes * t->ne1);
}

/* GGUF blocks -> quants of all blocks, then all scales (cuda_api.h). */
static void repack(const eng_tensor *t, unsigned char *dst)
{
	const size_t n_blocks = (size_t)(t->ne0 / CU_QK * t->ne1);
	const size_t qbytes = t->type == CU_T_Q8_0 ? 32 : 16, bbytes = qbytes + 2;
	const unsigned char *src = (const unsigned char *)t->data;
	unsigned char *q = dst, *d = dst + n_blocks * qbytes;
	for (size_t b = 0; b < n_blocks; b++) {
		memcpy(d + 2 * b, src + b * bbytes, 2);
		memcpy(q + b * qbytes, src + b * bbytes + 2, qbytes);
	}
}

static int tensor_upload(void *devp, eng_tensor *dst, const eng_tensor *src, char *msg, size_t msg_size)
{
	cu_device *dev = (cu_device *)devp;
	cu_err e = {};
	*dst = *src;
	dst->data = NULL;
	switch (src->type) {
	case CU_T_F32: case CU_T_F16: case CU_T_BF16: case CU_T_Q8_0: case CU_T_Q4_0: break;
	default:
		snprintf(msg, msg_size, "weight type %u has no CUDA kernels", (unsigned)src->type);
		return MRL_EUNSUPPORTED;
	}
	if ((src->type == CU_T_Q8_0 || src->type == CU_T_Q4_0) && src->ne0 % CU_QK) {
		snprintf(msg, msg_size, "quantized rows of %llu elements are not whole blocks",
			 (unsigned long long)src->ne0);
		return MRL_EINPUT;
	}
	const size_t bytes = cu_tensor_bytes(src);
	void *p = NULL;
	unsigned char *staging = NULL;
	const void *from = src->data;
	if (!CU_CHECK(&e, cudaSetDevice(dev->device)) || !CU_CHECK(&e, cudaMalloc(&p, bytes ? bytes : 1)))
		goto fail;
	if (src->type == CU_T_Q8_0 || src->type == CU_T_Q4_0) {
		if (!(staging = (unsigned char *)malloc(bytes ? bytes : 1))) {
			snprintf(msg, msg_size, "out of host memory repacking %zu bytes", bytes);
			cudaFree(p);
			return MRL_ENOMEM;
		}
		repack(src, staging);
		from = staging;
	}
	if (!CU_CHECK(&e, cudaMemcpy(p, from, bytes, cudaMemcpyHostToDevice)))
		goto fail;
	free(staging);
	dst->data = p;
	return 0;
fail:
	free(staging);
	if (p)
		cudaFree(p);
	return give_err(&e, msg, msg_size);
}

static void tensor_free(void *dev, eng_tensor *t)
{
	(void)dev;
	if (t->data)
		cudaFree((void *)t->data);
	t->data = NULL;
}

/* ---- contexts ---- */

static void exec_release(eng_exec *ex)
{
	cu_exec *st = cu_state(ex);
	if (!st)
		return;
	if (st->stream)
		cudaStreamSynchronize(st->stream);
	void *bufs[] = { st->ids, st->xh, st->xq, st->xqd, st->wdeq, st->targets, st->lp, st->greedy, st->pos, st->base };
	for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
		if (bufs[i])
			cudaFree(bufs[i]);
	for (int p = 0; p < ENG_PHASE_COUNT; p++)
		for (int k = 0; k < 2; k++)
			if (st->ev[p][k])
				cudaEventDestroy(st->ev[p][k]);
	if (st->blas)
		cublasDestroy(st->blas);
	if (st->stream)
		cudaStreamDestroy(st->stream);
	free(st->pos_h);
	free(st->base_h);
	free(st);
	ex->dev = NULL;
}

static int exec_init(eng_exec *ex, const eng_exec_sizes *sz, char *msg, size_t msg_size)
{
	cu_exec *st = (cu_exec *)calloc(1, sizeof *st);
	if (!st) {
		snprintf(msg, msg_size, "out of memory");
		return MRL_ENOMEM;
	}
	ex->dev = st;
	ex->kv_f16 = true;
	st->sz = *sz;
	if (sz->head_dim > CU_MAX_HEAD_DIM || sz->head_dim == 0) {
		snprintf(msg, msg_size, "head size %u is outside the attention kernels' 1..%d", sz->head_dim,
			 CU_MAX_HEAD_DIM);
		exec_release(ex);
		return MRL_EUNSUPPORTED;
	}
	cu_err *e = &st->err;
	const size_t ub = sz->n_ubatch, in = (size_t)sz->max_in;
	bool ok = CU_CHECK(e, cudaGetDevice(&st->device)) &&
		  CU_CHECK(e, cudaStreamCreateWithFlags(&st->stream, cudaStreamNonBlocking)) &&
		  CU_CHECK(e, cublasCreate(&st->blas)) && CU_CHECK(e, cublasSetStream(st->blas, st->stream)) &&
		  CU_CHECK(e, cudaMalloc((void **)&st->ids, ub * sizeof(int32_t))) &&
		  CU_CHECK(e, cudaMalloc(&st->xh, ub * in * 2)) &&
		  CU_CHECK(e, cudaMalloc((void **)&st->xq, ub * in)) &&
		  CU_CHECK(e, cudaMalloc((void **)&st->xqd, (ub * in / CU_QK + 1) * sizeof(__half))) &&
		  CU_CHECK(e, cudaMalloc((void **)&st->targets, ub * sizeof(int32_t))) &&
		  CU_CHECK(e, cudaMalloc((void **)&st->lp, ub * sizeof(double))) &&
		  CU_CHECK(e, cudaMalloc((void **)&st->greedy, ub * sizeof(int))) &&
		  CU_CHECK(e, cudaMalloc((void **)&st->pos, ub * sizeof(uint32_t))) &&
		  CU_CHECK(e, cudaMalloc((void **)&st->base, ub * sizeof(uint32_t)));
	st->pos_h = (uint32_t *)malloc(ub * sizeof(uint32_t));
	st->base_h = (uint32_t *)malloc(ub * sizeof(uint32_t));
	st->n_pos = st->n_base = -1;
	if (ok && (!st->pos_h || !st->base_h)) {
		snprintf(msg, msg_size, "out of memory");
		exec_release(ex);
		return MRL_ENOMEM;
	}
	if (ok && sz->max_qweight)
		ok = CU_CHECK(e, cudaMalloc((void **)&st->wdeq, (size_t)sz->max_qweight * sizeof(__half)));
	for (int p = 0; ok && p < ENG_PHASE_COUNT; p++)
		ok = CU_CHECK(e, cudaEventCreate(&st->ev[p][0])) && CU_CHECK(e, cudaEventCreate(&st->ev[p][1]));
	if (ok)
		ok = cu_attention_setup(st, (int)sz->head_dim);
	if (!ok) {
		int rc = give_err(e, msg, msg_size);
		exec_release(ex); /* frees whatever was made (NULL members are skipped) */
		return rc;
	}
	return 0;
}

static void *dev_alloc(eng_exec *ex, size_t bytes)
{
	cu_exec *st = cu_state(ex);
	void *p = NULL;
	if (st->err.code)
		return NULL;
	if (!CU_CHECK(&st->err, cudaMalloc(&p, bytes ? bytes : 1)))
		return NULL;
	if (!CU_CHECK(&st->err, cudaMemsetAsync(p, 0, bytes, st->stream))) {
		cudaFree(p);
		return NULL;
	}
	return p;
}

static void dev_free(eng_exec *ex, void *p)
{
	(void)ex;
	if (p)
		cudaFree(p);
}

static void dev_upload(eng_exec *ex, void *dev, const void *host, size_t bytes)
{
	cu_exec *st = cu_state(ex);
	if (!st->err.code && bytes)
		CU_CHECK(&st->err, cudaMemcpyAsync(dev, host, bytes, cudaMemcpyHostToDevice, st->stream));
}

static void dev_download(eng_exec *ex, void *host, const void *dev, size_t bytes)
{
	cu_exec *st = cu_state(ex);
	if (!st->err.code && bytes)
		CU_CHECK(&st->err, cudaMemcpyAsync(host, dev, bytes, cudaMemcpyDeviceToHost, st->stream)) &&
			CU_CHECK(&st->err, cudaStreamSynchronize(st->stream));
}

static void collect_events(cu_exec *st)
{
	for (int p = 0; p < ENG_PHASE_COUNT; p++) {
		if (!st->pending[p])
			continue;
		float ms = 0.0f;
		if (CU_CHECK(&st->err, cudaEventElapsedTime(&ms, st->ev[p][0], st->ev[p][1]))) {
			st->ms[p] += ms;
			st->calls[p]++;
		}
		st->pending[p] = false;
	}
}

static int dev_status(eng_exec *ex, char *msg, size_t msg_size)
{
	cu_exec *st = cu_state(ex);
	if (!st->err.code && CU_CHECK(&st->err, cudaStreamSynchronize(st->stream)))
		collect_events(st);
	return give_err(&st->err, msg, msg_size);
}

static void phase_mark(eng_exec *ex, eng_phase phase, bool end)
{
	cu_exec *st = cu_state(ex);
	if (st->err.code || phase < 0 || phase >= ENG_PHASE_COUNT)
		return;
	if (CU_CHECK(&st->err, cudaEventRecord(st->ev[phase][end ? 1 : 0], st->stream)) && end)
		st->pending[phase] = true;
}

static void phase_times(eng_exec *ex, double ms[ENG_PHASE_COUNT], uint64_t calls[ENG_PHASE_COUNT])
{
	cu_exec *st = cu_state(ex);
	if (!st->err.code && CU_CHECK(&st->err, cudaStreamSynchronize(st->stream)))
		collect_events(st);
	for (int p = 0; p < ENG_PHASE_COUNT; p++) {
		ms[p] = st->ms[p];
		calls[p] = st->calls[p];
	}
}

/* ---- the operations ---- */

#define SKIP_IF_FAILED(st) \
	do { \
		if ((st)->err.code) \
			return; \
	} while (0)

static void op_matmul(eng_exec *ex, const eng_tensor *w, const float *x, int n_tok, float *out, size_t out_stride)
{
	cu_exec *st = cu_state(ex);
	SKIP_IF_FAILED(st);
	cu_matmul(st, w, x, n_tok, out, out_stride);
}

static void op_get_rows(eng_exec *ex, const eng_tensor *w, const int32_t *ids, int n, float *out)
{
	cu_exec *st = cu_state(ex);
	SKIP_IF_FAILED(st);
	/* token ids are the only per-token input: n_ubatch at a time */
	for (int done = 0; done < n;) {
		int nb = n - done < (int)st->sz.n_ubatch ? n - done : (int)st->sz.n_ubatch;
		if (!CU_CHECK(&st->err, cudaMemcpyAsync(st->ids, ids + done, (size_t)nb * sizeof *ids,
							cudaMemcpyHostToDevice, st->stream)))
			return;
		cu_get_rows(st, w, st->ids, nb, out + (size_t)done * w->ne0);
		/* the ids buffer is reused: the copy above is from pageable memory and
		 * completes before returning, but the kernel must read it first */
		if (done + nb < n && !CU_CHECK(&st->err, cudaStreamSynchronize(st->stream)))
			return;
		done += nb;
	}
}

static void op_rmsnorm(eng_exec *ex, const float *x, const float *weight, int n_tok, int dim, float eps, float *out)
{
	cu_exec *st = cu_state(ex);
	SKIP_IF_FAILED(st);
	cu_rmsnorm(st, x, weight, n_tok, dim, eps, out);
}

/* Models with rope factors or rope scaling are refused at eng_backend_open: r->kind and
 * r->freq_base are all the kernel reads. */
static void op_rope(eng_exec *ex, float *x, int n_tok, int n_head, int head_dim, int n_rot, uint32_t pos0,
		    const eng_rope *r)
{
	cu_exec *st = cu_state(ex);
	SKIP_IF_FAILED(st);
	if (r->kind == ENG_ROPE_NONE)
		return;
	/* on the host, with the CPU's powf: both backends start from the same float */
	const float theta_scale = powf(r->freq_base, -2.0f / (float)n_rot);
	cu_rope(st, x, n_tok, n_head, head_dim, n_rot, pos0, NULL, theta_scale, r->kind == ENG_ROPE_NEOX);
}

static void op_kv_store(eng_exec *ex, eng_kv *kv, int il, uint32_t pos0, int n_tok, const float *k, const float *v)
{
	cu_exec *st = cu_state(ex);
	SKIP_IF_FAILED(st);
	const size_t off = (size_t)pos0 * kv->n_embd_kv, n = (size_t)n_tok * kv->n_embd_kv;
	cu_kv_store(st, (__half *)kv->k[il], (__half *)kv->v[il], off, n, k, v);
}

static void op_attention(eng_exec *ex, const eng_kv *kv, int il, const float *q, int n_tok, uint32_t pos0,
			 int n_head, int n_head_kv, int head_dim, uint32_t window, float *out)
{
	(void)window; /* models with a window are refused at eng_backend_open */
	cu_exec *st = cu_state(ex);
	SKIP_IF_FAILED(st);
	cu_attention(st, (const __half *)kv->k[il], (const __half *)kv->v[il], q, n_tok, pos0, NULL, NULL, n_head, n_head_kv,
		     head_dim, (int)kv->n_embd_kv, out);
}

/* ---- several sequences in one micro-batch ---- */

/* The device array dev = host[0..n), copied only when it holds something else:
 * the forward pass hands every layer the same positions and rows, so they go
 * over once per micro-batch. shadow/n_shadow: what dev holds. NULL after an error. */
static const uint32_t *put_u32(cu_exec *st, uint32_t *dev, uint32_t *shadow, int *n_shadow, const uint32_t *host,
			       int n)
{
	if (n > (int)st->sz.n_ubatch) {
		put_err(&st->err, MRL_EINPUT, "positions", __FILE__, __LINE__, "more tokens than a micro-batch");
		return NULL;
	}
	if (*n_shadow == n && !memcmp(shadow, host, (size_t)n * sizeof *host))
		return dev;
	memcpy(shadow, host, (size_t)n * sizeof *host);
	*n_shadow = -1;
	/* pageable source: staged before the call returns, so shadow may change after it */
	if (!CU_CHECK(&st->err, cudaMemcpyAsync(dev, shadow, (size_t)n * sizeof *host, cudaMemcpyHostToDevice,
						st->stream)))
		return NULL;
	*n_shadow = n;
	return dev;
}

/* Both device arrays of a micro-batch's placement (positions, cache rows); false after an error. */
static bool put_place(cu_exec *st, const uint32_t *pos, const uint32_t *base, int n, const uint32_t **dpos,
		      const uint32_t **dbase)
{
	*dpos = put_u32(st, st->pos, st->pos_h, &st->n_pos, pos, n);
	*dbase = *dpos ? put_u32(st, st->base, st->base_h, &st->n_base, base, n) : NULL;
	return *dbase != NULL;
}

static void op_rope_pos(eng_exec *ex, float *x, int n_tok, int n_head, int head_dim, int n_rot, const uint32_t *pos,
			const eng_rope *r)
{
	cu_exec *st = cu_state(ex);
	SKIP_IF_FAILED(st);
	if (r->kind == ENG_ROPE_NONE || n_tok <= 0)
		return;
	const uint32_t *dpos = put_u32(st, st->pos, st->pos_h, &st->n_pos, pos, n_tok);
	if (!dpos)
		return;
	const float theta_scale = powf(r->freq_base, -2.0f / (float)n_rot);
	cu_rope(st, x, n_tok, n_head, head_dim, n_rot, 0, dpos, theta_scale, r->kind == ENG_ROPE_NEOX);
}

static void op_kv_store_pos(eng_exec *ex, eng_kv *kv, int il, const uint32_t *pos, const uint32_t *base, int n_tok,
			    const float *k, const float *v)
{
	cu_exec *st = cu_state(ex);
	SKIP_IF_FAILED(st);
	if (n_tok <= 0)
		return;
	const uint32_t *dpos, *dbase;
	if (put_place(st, pos, base, n_tok, &dpos, &dbase))
		cu_kv_store_pos(st, (__half *)kv->k[il], (__half *)kv->v[il], (int)kv->n_embd_kv, n_tok, dpos, dbase, k, v);
}

static void op_attention_pos(eng_exec *ex, const eng_kv *kv, int il, const float *q, int n_tok, const uint32_t *pos,
			     const uint32_t *base, int n_head, int n_head_kv, int head_dim, uint32_t window, float *out)
{
	(void)window; /* models with a window are refused at eng_backend_open */
	cu_exec *st = cu_state(ex);
	SKIP_IF_FAILED(st);
	if (n_tok <= 0)
		return;
	const uint32_t *dpos, *dbase;
	if (put_place(st, pos, base, n_tok, &dpos, &dbase))
		cu_attention(st, (const __half *)kv->k[il], (const __half *)kv->v[il], q, n_tok, 0, dpos, dbase, n_head,
			     n_head_kv, head_dim, (int)kv->n_embd_kv, out);
}

/* memmove on the device (cache rows between slots). Overlapping ranges go in
 * pieces no longer than the distance between them, in memmove's direction, so
 * each piece reads bytes not yet overwritten. */
static void op_copy(eng_exec *ex, void *dst, const void *src, size_t bytes)
{
	cu_exec *st = cu_state(ex);
	SKIP_IF_FAILED(st);
	char *d = (char *)dst;
	const char *s = (const char *)src;
	if (!bytes || d == s)
		return;
	const size_t gap = d > s ? (size_t)(d - s) : (size_t)(s - d);
	const size_t piece = gap < bytes ? gap : bytes;
	if (d < s) {
		for (size_t o = 0; o < bytes; o += piece)
			if (!CU_CHECK(&st->err, cudaMemcpyAsync(d + o, s + o, bytes - o < piece ? bytes - o : piece,
								cudaMemcpyDeviceToDevice, st->stream)))
				return;
	} else {
		for (size_t end = bytes; end > 0;) {
			const size_t n = end < piece ? end : piece;
			end -= n;
			if (!CU_CHECK(&st->err, cudaMemcpyAsync(d + end, s + end, n, cudaMemcpyDeviceToDevice, st->stream)))
				return;
		}
	}
}

static void op_swiglu(eng_exec *ex, float *gate, const float *up, size_t n)
{
	cu_exec *st = cu_state(ex);
	SKIP_IF_FAILED(st);
	cu_swiglu(st, gate, up, n);
}

static void op_add(eng_exec *ex, float *x, const float *y, size_t n)
{
	cu_exec *st = cu_state(ex);
	SKIP_IF_FAILED(st);
	cu_add(st, x, y, n);
}

static void op_add_row(eng_exec *ex, float *x, const float *b, int n_tok, int dim)
{
	cu_exec *st = cu_state(ex);
	SKIP_IF_FAILED(st);
	cu_add_row(st, x, b, n_tok, dim);
}

static void logsoftmax_gather(eng_exec *ex, const float *dev_logits, int n_rows, int n_vocab, const int32_t *targets,
			      double *logprob, bool *is_greedy)
{
	cu_exec *st = cu_state(ex);
	int greedy[256];
	for (int done = 0; done < n_rows && !st->err.code;) {
		int nb = n_rows - done;
		if (nb > (int)st->sz.n_ubatch)
			nb = (int)st->sz.n_ubatch;
		if (nb > 256)
			nb = 256;
		if (!CU_CHECK(&st->err, cudaMemcpyAsync(st->targets, targets + done, (size_t)nb * sizeof *targets,
							cudaMemcpyHostToDevice, st->stream)))
			return;
		cu_logsoftmax_gather(st, dev_logits + (size_t)done * n_vocab, nb, n_vocab, st->targets, st->lp,
				     st->greedy);
		if (!CU_CHECK(&st->err, cudaMemcpyAsync(logprob + done, st->lp, (size_t)nb * sizeof(double),
							cudaMemcpyDeviceToHost, st->stream)) ||
		    !CU_CHECK(&st->err, cudaMemcpyAsync(greedy, st->greedy, (size_t)nb * sizeof(int),
							cudaMemcpyDeviceToHost, st->stream)) ||
		    !CU_CHECK(&st->err, cudaStreamSynchronize(st->stream)))
			return;
		for (int i = 0; i < nb; i++)
			is_greedy[done + i] = greedy[i] != 0;
		done += nb;
	}
}

/* In the declaration order of struct eng_ops (C++17 has no designated initializers). */
static const eng_ops cuda_ops = {
	"cuda",
	op_matmul,
	op_get_rows,
	op_rmsnorm,
	op_rope,
	op_kv_store,
	op_attention,
	op_swiglu,
	op_add,
	op_add_row,
	exec_init,
	exec_release,
	dev_alloc,
	dev_free,
	dev_upload,
	dev_download,
	dev_status,
	phase_mark,
	phase_times,
	/* no LayerNorm, GELU, scale or soft cap: eng_backend_open refuses the
	 * architectures that need them (GPT-2, Gemma 2), and any it was not checked on */
	NULL,
	NULL,
	NULL,
	NULL,
	op_rope_pos,
	op_kv_store_pos,
	op_attention_pos,
	op_copy,
	NULL, /* kv_move: the device cache is rows, op_copy moves them */
};

static const eng_cuda_api cuda_api = {
	ENG_CUDA_ABI, &cuda_ops, dev_open, dev_close, tensor_upload, tensor_free, logsoftmax_gather,
};

extern "C" __attribute__((visibility("default"))) int merilo_cuda_backend(uint32_t abi, const eng_cuda_api **out)
{
	if (abi != ENG_CUDA_ABI)
		return -1;
	*out = &cuda_api;
	return 0;
}
