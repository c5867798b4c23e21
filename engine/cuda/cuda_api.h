/* cuda_api.h — the plain-C boundary between the engine and libmerilo-cuda.so.
 *
 * The CUDA backend is a separately built shared object, loaded with dlopen
 * only when a model is opened with ENG_BACKEND_CUDA (engine/backend.c), so the
 * merilo binary starts and runs on machines with no GPU, driver or CUDA
 * runtime. The object exports one C function, ENG_CUDA_ENTRY, that hands out
 * a static table: the struct eng_ops the forward pass calls, plus device,
 * weight-upload and timing functions. This header includes no CUDA header;
 * both sides (C in engine/, C++/CUDA in engine/cuda/) compile it.
 *
 * Errors cross the boundary as a negative MRL_E* code and a one-line message
 * written into a caller's buffer ("engine/cuda/matmul.cu:212: cublasGemmEx:
 * CUBLAS_STATUS_EXECUTION_FAILED"); nothing here aborts or prints.
 *
 * Device layout of weights (what tensor_upload makes):
 *   F32, F16, BF16: the GGUF rows as they are (row-major, ne1 rows of ne0).
 *   Q8_0, Q4_0: repacked so that every 16-byte load is aligned: first the
 *     quants of all blocks (Q8_0: 32 int8 per block; Q4_0: 16 bytes of nibbles,
 *     low nibbles = elements 0..15), row after row, then the block scales as
 *     f16, row after row. GGUF's 34- and 18-byte blocks cannot be read with
 *     aligned 128-bit loads.
 */
#ifndef MRL_ENG_CUDA_API_H
#define MRL_ENG_CUDA_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "engine/eng_int.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ENG_CUDA_ABI 4 /* 4: struct eng_ops kv_move, struct eng_kv n_pad and head_dim */
#define ENG_CUDA_ENTRY "merilo_cuda_backend"
#define ENG_CUDA_LIBNAME "libmerilo-cuda.so"

struct eng_cuda_api {
	uint32_t abi;              /* ENG_CUDA_ABI */
	const struct eng_ops *ops; /* the operations, with the device-memory members set */

	/* Select CUDA device 0 (or $MERILO_CUDA_DEVICE) and describe it into desc
	 * ("NVIDIA H100 80GB HBM3, sm_90, 132 SMs, 79.1 GiB, driver 13.0").
	 * *dev is the backend's device handle, freed by device_close. Returns 0, or
	 * MRL_ERUNTIME with msg naming why (no device, no driver, too old a driver). */
	int (*device_open)(void **dev, char *desc, size_t desc_size, char *msg, size_t msg_size);
	void (*device_close)(void *dev);

	/* Copy one weight tensor (src: host memory, GGUF layout) to device memory:
	 * *dst becomes a copy of *src whose data is the device copy (layout above).
	 * Free it with tensor_free. 0, MRL_ENOMEM or MRL_ERUNTIME with msg. */
	int (*tensor_upload)(void *dev, struct eng_tensor *dst, const struct eng_tensor *src, char *msg,
			     size_t msg_size);
	void (*tensor_free)(void *dev, struct eng_tensor *t);

	/* Scoring on the device: for each of n_rows rows of n_vocab logits at
	 * dev_logits (device memory), log p(targets[i]) (max-subtracted, exp summed
	 * in double, as the CPU's row_logprobs in score.c) and whether targets[i] is the
	 * first argmax. targets, logprob and is_greedy are host arrays of n_rows.
	 * Errors become sticky on ex (see ops->status). */
	void (*logsoftmax_gather)(struct eng_exec *ex, const float *dev_logits, int n_rows, int n_vocab,
				  const int32_t *targets, double *logprob, bool *is_greedy);
};

/* The exported entry point: *out = the static table when abi matches; else -1. */
typedef int (*eng_cuda_entry_fn)(uint32_t abi, const struct eng_cuda_api **out);

#ifdef __cplusplus
}
#endif

#endif
