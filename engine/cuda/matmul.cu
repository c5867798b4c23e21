/* matmul.cu — weight-matrix products on the GPU: own matrix-vector kernels
 * for batch-1 decode, cuBLAS for everything with more than one token.
 *
 * Decode (n_tok == 1) is memory-bound: every weight byte is read once per
 * token, so the kernels are built for bandwidth. One warp per output row,
 * four rows per 128-thread block; each lane issues aligned 16-byte loads
 * (8 f16/bf16, 4 f32, 16 Q8_0 quants, or one whole Q4_0 block of nibbles)
 * that are contiguous across the warp, several in flight (unrolled), and the
 * row's partial sums meet in a warp-shuffle reduction. The activation vector
 * (a few KB) stays in L1/L2.
 *
 * Numerics follow the CPU backend's activation paths (docs/engine.md):
 *   F16 weights dot the activation rounded to f16 (products exact in f32; the CPU
 *   does this for GGUF files only, HF folders keep f32 activations there: not yet here);
 *   BF16 and F32 weights dot the f32 activation;
 *   Q8_0 / Q4_0 weights dot the activation quantized to Q8_0 exactly as
 *   eng_quantize_row_q8_0 does, with integer block dots (dp4a) and
 *   sumf += sumi * (d_w * d_x) per block, as ggml does.
 *
 * Prefill and batched scoring (n_tok > 1) go through cublasGemmEx with FP32
 * accumulation (CUBLAS_COMPUTE_32F): F16 weights as they are with the
 * activations rounded to f16 (the CPU's rounding), BF16 weights with bf16
 * activations, F32 with f32 activations in pedantic mode (no TF32, so the F32
 * comparison with the CPU holds at 2e-3). Q8_0/Q4_0 weights are dequantized
 * to f16 per use into one scratch matrix and multiplied with f16 activations:
 * keeping an f16 copy of every quantized matrix would take 3.6x (Q4_0) or
 * 1.9x (Q8_0) the device memory of the model, while the per-use dequantization
 * costs one read of the quantized matrix and one f16 write+read per 64-token
 * micro-batch, small next to the GEMM itself.
 */
#include "engine/cuda/cuda_int.h"

#include <stdio.h>

#define FULL_MASK 0xffffffffu
#define MMV_WARPS 4

static __device__ __forceinline__ float warp_sum(float v)
{
#pragma unroll
	for (int o = 16; o > 0; o >>= 1)
		v += __shfl_xor_sync(FULL_MASK, v, o);
	return v;
}

static unsigned grid_for(size_t n, unsigned block)
{
	size_t g = (n + block - 1) / block;
	return (unsigned)(g > 65535u * 16u ? 65535u * 16u : (g ? g : 1));
}

/* ---- activation conversions ---- */

static __global__ void k_to_f16(const float *x, __half *y, size_t n)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
		y[i] = __float2half_rn(x[i]);
}

static __global__ void k_to_bf16(const float *x, __nv_bfloat16 *y, size_t n)
{
	for (size_t i = blockIdx.x * (size_t)blockDim.x + threadIdx.x; i < n; i += (size_t)gridDim.x * blockDim.x)
		y[i] = __float2bfloat16_rn(x[i]);
}

/* One warp per 32-element block, as eng_quantize_row_q8_0: d = amax / 127,
 * q = roundf(x * (1 / d)), d stored as f16. */
static __global__ void k_quantize_q8(const float *x, int8_t *qs, __half *qd, size_t n_blocks)
{
	const size_t b = (blockIdx.x * (size_t)blockDim.x + threadIdx.x) / 32;
	const int lane = threadIdx.x % 32;
	if (b >= n_blocks)
		return; /* whole warps leave together: blockDim is a multiple of 32 */
	const float v = x[b * CU_QK + lane];
	float amax = fabsf(v);
#pragma unroll
	for (int o = 16; o > 0; o >>= 1)
		amax = fmaxf(amax, __shfl_xor_sync(FULL_MASK, amax, o));
	const float d = amax / 127.0f;
	const float id = d != 0.0f ? 1.0f / d : 0.0f;
	const float r = roundf(v * id);
	qs[b * CU_QK + lane] = (int8_t)(r >= -127.0f && r <= 127.0f ? r : 0.0f);
	if (lane == 0)
		qd[b] = __float2half_rn(d);
}

/* ---- matrix-vector kernels: warp per row ---- */

static __global__ void k_mmv_f32(const float *w, int64_t ne0, int64_t ne1, const float *x, float *out)
{
	const int64_t r = (int64_t)blockIdx.x * MMV_WARPS + threadIdx.x / 32;
	const int lane = threadIdx.x % 32;
	if (r >= ne1)
		return;
	const float *row = w + r * ne0;
	float s = 0.0f;
	if (ne0 % 4 == 0) {
		const float4 *r4 = (const float4 *)row, *x4 = (const float4 *)x;
#pragma unroll 4
		for (int64_t i = lane; i < ne0 / 4; i += 32) {
			const float4 a = r4[i], b = x4[i];
			s += a.x * b.x + a.y * b.y + a.z * b.z + a.w * b.w;
		}
	} else {
		for (int64_t i = lane; i < ne0; i += 32)
			s += row[i] * x[i];
	}
	s = warp_sum(s);
	if (lane == 0)
		out[r] = s;
}

/* x: the activation rounded to f16 (the CPU's f16_act path). */
static __global__ void k_mmv_f16(const __half *w, int64_t ne0, int64_t ne1, const __half *x, float *out)
{
	const int64_t r = (int64_t)blockIdx.x * MMV_WARPS + threadIdx.x / 32;
	const int lane = threadIdx.x % 32;
	if (r >= ne1)
		return;
	const __half *row = w + r * ne0;
	float s = 0.0f;
	if (ne0 % 8 == 0) {
		const uint4 *r8 = (const uint4 *)row, *x8 = (const uint4 *)x;
#pragma unroll 4
		for (int64_t i = lane; i < ne0 / 8; i += 32) {
			const uint4 a = r8[i], b = x8[i];
			const __half2 *ah = (const __half2 *)&a, *bh = (const __half2 *)&b;
#pragma unroll
			for (int k = 0; k < 4; k++) {
				const float2 af = __half22float2(ah[k]), bf = __half22float2(bh[k]);
				s += af.x * bf.x + af.y * bf.y;
			}
		}
	} else {
		for (int64_t i = lane; i < ne0; i += 32)
			s += __half2float(row[i]) * __half2float(x[i]);
	}
	s = warp_sum(s);
	if (lane == 0)
		out[r] = s;
}

static __device__ __forceinline__ float bf16_lo(uint32_t v)
{
	return __uint_as_float(v << 16);
}

static __device__ __forceinline__ float bf16_hi(uint32_t v)
{
	return __uint_as_float(v & 0xffff0000u);
}

static __global__ void k_mmv_bf16(const uint16_t *w, int64_t ne0, int64_t ne1, const float *x, float *out)
{
	const int64_t r = (int64_t)blockIdx.x * MMV_WARPS + threadIdx.x / 32;
	const int lane = threadIdx.x % 32;
	if (r >= ne1)
		return;
	const uint16_t *row = w + r * ne0;
	float s = 0.0f;
	if (ne0 % 8 == 0) {
		const uint4 *r8 = (const uint4 *)row;
		const float4 *x4 = (const float4 *)x;
#pragma unroll 4
		for (int64_t i = lane; i < ne0 / 8; i += 32) {
			const uint4 a = r8[i];
			const float4 b0 = x4[2 * i], b1 = x4[2 * i + 1];
			s += bf16_lo(a.x) * b0.x + bf16_hi(a.x) * b0.y + bf16_lo(a.y) * b0.z + bf16_hi(a.y) * b0.w +
			     bf16_lo(a.z) * b1.x + bf16_hi(a.z) * b1.y + bf16_lo(a.w) * b1.z + bf16_hi(a.w) * b1.w;
		}
	} else {
		for (int64_t i = lane; i < ne0; i += 32)
			s += __uint_as_float((uint32_t)row[i] << 16) * x[i];
	}
	s = warp_sum(s);
	if (lane == 0)
		out[r] = s;
}

/* Q8_0 weights (repacked: quants, then f16 scales) . Q8_0 activation.
 * A lane takes half a block (16 quants = one 16-byte load); lanes 2i and
 * 2i+1 hold the two halves of one block and add their integer sums. */
static __global__ void k_mmv_q8_0(const int8_t *w, int64_t ne0, int64_t ne1, const int8_t *xq, const __half *xd,
				  float *out)
{
	const int64_t r = (int64_t)blockIdx.x * MMV_WARPS + threadIdx.x / 32;
	const int lane = threadIdx.x % 32;
	if (r >= ne1)
		return;
	const int64_t nb = ne0 / CU_QK;
	const __half *wd = (const __half *)(w + (size_t)(ne1 * nb * CU_QK)) + r * nb;
	const int4 *wq = (const int4 *)(w + r * ne0);
	const int4 *xq4 = (const int4 *)xq;
	float s = 0.0f;
#pragma unroll 4
	for (int64_t u0 = 0; u0 < 2 * nb; u0 += 32) {
		const int64_t u = u0 + lane;
		int sumi = 0;
		if (u < 2 * nb) {
			const int4 a = wq[u], b = xq4[u];
			sumi = __dp4a(a.x, b.x, sumi);
			sumi = __dp4a(a.y, b.y, sumi);
			sumi = __dp4a(a.z, b.z, sumi);
			sumi = __dp4a(a.w, b.w, sumi);
		}
		sumi += __shfl_xor_sync(FULL_MASK, sumi, 1);
		if (u < 2 * nb && (lane & 1) == 0) {
			const int64_t b = u / 2;
			s += (float)sumi * (__half2float(wd[b]) * __half2float(xd[b]));
		}
	}
	s = warp_sum(s);
	if (lane == 0)
		out[r] = s;
}

/* Q4_0 weights (repacked: 16 bytes of nibbles per block, then f16 scales) .
 * Q8_0 activation. A lane takes one block: low nibbles pair with the
 * activation's quants 0..15, high nibbles with 16..31; the -8 offset is
 * taken out once per block through the sum of the activation's quants. */
static __global__ void k_mmv_q4_0(const uint8_t *w, int64_t ne0, int64_t ne1, const int8_t *xq, const __half *xd,
				  float *out)
{
	const int64_t r = (int64_t)blockIdx.x * MMV_WARPS + threadIdx.x / 32;
	const int lane = threadIdx.x % 32;
	if (r >= ne1)
		return;
	const int64_t nb = ne0 / CU_QK;
	const __half *wd = (const __half *)(w + (size_t)(ne1 * nb * 16)) + r * nb;
	const int4 *wq = (const int4 *)(w + r * nb * 16);
	const int4 *xq4 = (const int4 *)xq;
	float s = 0.0f;
#pragma unroll 4
	for (int64_t b = lane; b < nb; b += 32) {
		const int4 a = wq[b], lo = xq4[2 * b], hi = xq4[2 * b + 1];
		const int aw[4] = { a.x, a.y, a.z, a.w }, lw[4] = { lo.x, lo.y, lo.z, lo.w },
			  hw[4] = { hi.x, hi.y, hi.z, hi.w };
		int sumi = 0, sumx = 0;
#pragma unroll
		for (int k = 0; k < 4; k++) {
			sumi = __dp4a(aw[k] & 0x0f0f0f0f, lw[k], sumi);
			sumi = __dp4a((aw[k] >> 4) & 0x0f0f0f0f, hw[k], sumi);
			sumx = __dp4a(0x01010101, lw[k], sumx);
			sumx = __dp4a(0x01010101, hw[k], sumx);
		}
		sumi -= 8 * sumx;
		s += (float)sumi * (__half2float(wd[b]) * __half2float(xd[b]));
	}
	s = warp_sum(s);
	if (lane == 0)
		out[r] = s;
}

/* ---- dequantization for cuBLAS ---- */

static __global__ void k_dequant_f16(const void *w, int type, int64_t ne0, int64_t ne1, __half *y)
{
	const int64_t nb = ne0 / CU_QK, n = ne0 * ne1;
	for (int64_t i = blockIdx.x * (int64_t)blockDim.x + threadIdx.x; i < n; i += (int64_t)gridDim.x * blockDim.x) {
		const int64_t r = i / ne0, j = i % ne0, b = j / CU_QK, k = j % CU_QK;
		float v;
		if (type == CU_T_Q8_0) {
			const __half *d = (const __half *)((const char *)w + (size_t)(ne1 * nb * CU_QK));
			v = (float)((const int8_t *)w)[i] * __half2float(d[r * nb + b]);
		} else {
			const __half *d = (const __half *)((const char *)w + (size_t)(ne1 * nb * 16));
			const uint8_t byte = ((const uint8_t *)w)[(r * nb + b) * 16 + (k & 15)];
			v = (float)((k < 16 ? (byte & 0x0f) : (byte >> 4)) - 8) * __half2float(d[r * nb + b]);
		}
		y[i] = __float2half_rn(v);
	}
}

/* ---- dispatch ---- */

static void matvec(cu_exec *st, const eng_tensor *w, const float *x, float *out)
{
	const int64_t ne0 = (int64_t)w->ne0, ne1 = (int64_t)w->ne1;
	const unsigned blocks = (unsigned)((ne1 + MMV_WARPS - 1) / MMV_WARPS), threads = 32 * MMV_WARPS;
	switch (w->type) {
	case CU_T_F32:
		k_mmv_f32<<<blocks, threads, 0, st->stream>>>((const float *)w->data, ne0, ne1, x, out);
		break;
	case CU_T_F16:
		k_to_f16<<<grid_for((size_t)ne0, 256), 256, 0, st->stream>>>(x, (__half *)st->xh, (size_t)ne0);
		k_mmv_f16<<<blocks, threads, 0, st->stream>>>((const __half *)w->data, ne0, ne1, (const __half *)st->xh,
							      out);
		break;
	case CU_T_BF16:
		k_mmv_bf16<<<blocks, threads, 0, st->stream>>>((const uint16_t *)w->data, ne0, ne1, x, out);
		break;
	case CU_T_Q8_0:
	case CU_T_Q4_0: {
		const size_t nblk = (size_t)ne0 / CU_QK;
		k_quantize_q8<<<grid_for(nblk * 32, 256), 256, 0, st->stream>>>(x, st->xq, st->xqd, nblk);
		if (w->type == CU_T_Q8_0)
			k_mmv_q8_0<<<blocks, threads, 0, st->stream>>>((const int8_t *)w->data, ne0, ne1, st->xq, st->xqd,
								       out);
		else
			k_mmv_q4_0<<<blocks, threads, 0, st->stream>>>((const uint8_t *)w->data, ne0, ne1, st->xq, st->xqd,
								       out);
		break;
	}
	default:
		if (!st->err.code) {
			st->err.code = MRL_EUNSUPPORTED;
			snprintf(st->err.msg, sizeof st->err.msg, "%s:%d: matmul: weight type %u has no CUDA kernel",
				 __FILE__, __LINE__, (unsigned)w->type);
		}
		return;
	}
	CU_LAUNCHED(&st->err);
}

/* out (n_tok rows, stride out_stride) = x (n_tok rows of ne0) . W^T, column-major
 * for cuBLAS: C[ne1 x n_tok] = op(A)=W^T[ne1 x ne0] * B=x[ne0 x n_tok]. */
static void gemm(cu_exec *st, const eng_tensor *w, const float *x, int n_tok, float *out, size_t out_stride)
{
	const int m = (int)w->ne1, n = n_tok, k = (int)w->ne0;
	const size_t nx = (size_t)n_tok * w->ne0;
	const float alpha = 1.0f, beta = 0.0f;
	const void *A = w->data, *B = x;
	cudaDataType_t at, bt;
	cublasComputeType_t ct = CUBLAS_COMPUTE_32F;
	switch (w->type) {
	case CU_T_F32:
		at = bt = CUDA_R_32F;
		ct = CUBLAS_COMPUTE_32F_PEDANTIC; /* no TF32: F32 models compare with the CPU at 2e-3 */
		break;
	case CU_T_F16:
		at = bt = CUDA_R_16F;
		k_to_f16<<<grid_for(nx, 256), 256, 0, st->stream>>>(x, (__half *)st->xh, nx);
		B = st->xh;
		break;
	case CU_T_BF16:
		at = bt = CUDA_R_16BF;
		k_to_bf16<<<grid_for(nx, 256), 256, 0, st->stream>>>(x, (__nv_bfloat16 *)st->xh, nx);
		B = st->xh;
		break;
	case CU_T_Q8_0:
	case CU_T_Q4_0:
		if (!st->wdeq || w->ne0 * w->ne1 > st->sz.max_qweight) {
			if (!st->err.code) {
				st->err.code = MRL_ERUNTIME;
				snprintf(st->err.msg, sizeof st->err.msg, "%s:%d: matmul: no dequantization scratch for a "
					 "%llu x %llu matrix", __FILE__, __LINE__, (unsigned long long)w->ne1,
					 (unsigned long long)w->ne0);
			}
			return;
		}
		at = bt = CUDA_R_16F;
		k_dequant_f16<<<grid_for(w->ne0 * w->ne1, 256), 256, 0, st->stream>>>(w->data, (int)w->type,
									       (int64_t)w->ne0, (int64_t)w->ne1, st->wdeq);
		k_to_f16<<<grid_for(nx, 256), 256, 0, st->stream>>>(x, (__half *)st->xh, nx);
		A = st->wdeq;
		B = st->xh;
		break;
	default:
		if (!st->err.code) {
			st->err.code = MRL_EUNSUPPORTED;
			snprintf(st->err.msg, sizeof st->err.msg, "%s:%d: matmul: weight type %u has no CUDA kernel",
				 __FILE__, __LINE__, (unsigned)w->type);
		}
		return;
	}
	if (!CU_LAUNCHED(&st->err))
		return;
	CU_CHECK(&st->err, cublasGemmEx(st->blas, CUBLAS_OP_T, CUBLAS_OP_N, m, n, k, &alpha, A, at, k, B, bt, k, &beta,
					out, CUDA_R_32F, (int)out_stride, ct, CUBLAS_GEMM_DEFAULT));
}

void cu_matmul(cu_exec *st, const eng_tensor *w, const float *x, int n_tok, float *out, size_t out_stride)
{
	if (n_tok <= 0)
		return;
	if (n_tok == 1)
		matvec(st, w, x, out);
	else
		gemm(st, w, x, n_tok, out, out_stride);
}
