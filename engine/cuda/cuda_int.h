/* cuda_int.h — declarations shared by the .cu files of the CUDA backend.
 *
 * The only header of merilo that includes CUDA headers; nothing outside
 * engine/cuda/ sees it. It holds the error macro every CUDA and cuBLAS call
 * goes through (CU_CHECK: a failure becomes MRL_ERUNTIME with file, line, the
 * call and the library's message, never abort()), the per-context state, and
 * the launchers of the kernels (kernels.cu, matmul.cu) that backend.cu's op
 * table calls.
 */
#ifndef MRL_ENG_CUDA_INT_H
#define MRL_ENG_CUDA_INT_H

#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include "engine/cuda/cuda_api.h"

/* ggml type ids (engine/types.h, which is C-only) */
enum { CU_T_F32 = 0, CU_T_F16 = 1, CU_T_Q4_0 = 2, CU_T_Q8_0 = 8, CU_T_BF16 = 30 };
#define CU_QK 32              /* elements per Q8_0 / Q4_0 block */
#define CU_MAX_HEAD_DIM 256   /* attention kernels keep head_dim / 32 values per lane */

/* The first error on a context (or of one call), kept until reported. */
struct cu_err {
	int code;                 /* 0 or a negative MRL_E* */
	char msg[480];
};

/* Record a failed CUDA / cuBLAS call into e (the first failure wins).
 * Returns true when the call succeeded. */
bool cu_check(cu_err *e, cudaError_t r, const char *call, const char *file, int line);
bool cu_check(cu_err *e, cublasStatus_t r, const char *call, const char *file, int line);
/* The one macro every CUDA and cuBLAS call goes through. */
#define CU_CHECK(e, call) cu_check((e), (call), #call, __FILE__, __LINE__)
/* After a kernel launch: launch-configuration errors surface here. */
#define CU_LAUNCHED(e) cu_check((e), cudaGetLastError(), "kernel launch", __FILE__, __LINE__)

/* Per-context state (struct eng_exec.dev). */
struct cu_exec {
	cu_err err;
	int device;
	cudaStream_t stream;
	cublasHandle_t blas;
	eng_exec_sizes sz;
	int32_t *ids;             /* n_ubatch token ids */
	void *xh;                 /* n_ubatch * max_in f16 or bf16 activations (GEMM, f16 matvec) */
	int8_t *xq;               /* n_ubatch * max_in Q8_0 quants of the activations */
	__half *xqd;              /* their block scales, n_ubatch * max_in / 32 */
	__half *wdeq;             /* max_qweight: a quantized matrix dequantized for cuBLAS */
	int32_t *targets;         /* n_ubatch: log-softmax gather */
	double *lp;               /* n_ubatch */
	int *greedy;              /* n_ubatch */
	/* positions and cache rows of a multi-sequence micro-batch (n_ubatch each): the
	 * device copies, and host copies of what they hold (n_pos / n_base valid
	 * entries, -1: unknown), so the arrays go over once per micro-batch, not per layer */
	uint32_t *pos, *base, *pos_h, *base_h;
	int n_pos, n_base;
	cudaEvent_t ev[ENG_PHASE_COUNT][2]; /* begin/end per phase; NULL until made */
	bool pending[ENG_PHASE_COUNT];     /* end recorded, not yet read */
	double ms[ENG_PHASE_COUNT];
	uint64_t calls[ENG_PHASE_COUNT];
};

static inline cu_exec *cu_state(eng_exec *ex)
{
	return (cu_exec *)ex->dev;
}

/* Bytes of a device tensor (same as its GGUF size: repacking keeps the size). */
size_t cu_tensor_bytes(const eng_tensor *t);

/* ---- kernels.cu ---- */
void cu_get_rows(cu_exec *st, const eng_tensor *w, const int32_t *dev_ids, int n, float *out);
void cu_rmsnorm(cu_exec *st, const float *x, const float *weight, int n_tok, int dim, float eps, float *out);
/* dev_pos (device, n_tok entries) NULL: row t has position pos0 + t; else dev_pos[t]. */
void cu_rope(cu_exec *st, float *x, int n_tok, int n_head, int head_dim, int n_rot, uint32_t pos0,
	     const uint32_t *dev_pos, float theta_scale, int neox);
void cu_kv_store(cu_exec *st, __half *k_cache, __half *v_cache, size_t off, size_t n, const float *k,
		 const float *v);
/* Row t of k and v at cache row dev_base[t] + dev_pos[t]. */
void cu_kv_store_pos(cu_exec *st, __half *k_cache, __half *v_cache, int kv_dim, int n_tok, const uint32_t *dev_pos,
		     const uint32_t *dev_base, const float *k, const float *v);
/* dev_pos NULL: n_tok queries at positions pos0.. over rows 0..; else query t over
 * rows dev_base[t] .. dev_base[t] + dev_pos[t]. */
void cu_attention(cu_exec *st, const __half *k_cache, const __half *v_cache, const float *q, int n_tok,
		  uint32_t pos0, const uint32_t *dev_pos, const uint32_t *dev_base, int n_head, int n_head_kv,
		  int head_dim, int kv_dim, float *out);
/* Raise the dynamic shared-memory limit of the prefill attention kernel for head_dim. */
bool cu_attention_setup(cu_exec *st, int head_dim);
void cu_swiglu(cu_exec *st, float *gate, const float *up, size_t n);
void cu_add(cu_exec *st, float *x, const float *y, size_t n);
void cu_add_row(cu_exec *st, float *x, const float *b, int n_tok, int dim);
void cu_logsoftmax_gather(cu_exec *st, const float *logits, int n_rows, int n_vocab, const int32_t *dev_targets,
			  double *dev_lp, int *dev_greedy);

/* ---- matmul.cu ---- */
void cu_matmul(cu_exec *st, const eng_tensor *w, const float *x, int n_tok, float *out, size_t out_stride);

#endif
